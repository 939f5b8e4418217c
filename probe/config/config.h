/*
 * config: the YAML configuration, loaded through libyaml by a table-driven walker.
 * Only config.c includes yaml.h. Every error is reported as file:line:col with the
 * offending line and a caret; all errors are collected before the load gives up.
 */
#ifndef CERTPROBE_CONFIG_H
#define CERTPROBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Where a secret comes from. Only SECRET_VALUE holds the secret itself. */
enum secret_source {
	SECRET_NONE = 0,
	SECRET_VALUE, /* {value: "..."} inline */
	SECRET_FILE,  /* {file: /path}: first line of the file, trailing CR/LF stripped */
	SECRET_ENV,   /* {env: NAME} */
};

struct secret_ref {
	enum secret_source source;
	char *value; /* SECRET_VALUE: the secret (wiped on free) */
	char *path;  /* SECRET_FILE */
	char *env;   /* SECRET_ENV */
};

enum challenge_kind {
	CHALLENGE_NONE = 0, /* no challenge key: CSR carries no challengePassword */
	CHALLENGE_STATIC,   /* {value|file|env} */
	CHALLENGE_NDES_ADMIN,
};

struct ndes_admin_conf {
	char *url;      /* http(s) URL of the mscep_admin page */
	char *username; /* may be NULL (no auth) */
	struct secret_ref password;
};

struct challenge_conf {
	enum challenge_kind kind;
	struct secret_ref secret;    /* CHALLENGE_STATIC */
	struct ndes_admin_conf ndes; /* CHALLENGE_NDES_ADMIN */
};

enum key_type { KEY_TYPE_RSA = 0, KEY_TYPE_EC };

struct key_conf {
	enum key_type type; /* default RSA */
	unsigned bits;      /* RSA: 2048 (default), 3072 or 4096 */
	char *curve;        /* EC: "P-256" (default) or "P-384"; NULL for RSA */
	unsigned reuse_runs; /* 0 or 1: fresh key every run; N: rotate every N runs */
};

struct pending_conf {
	uint64_t poll_interval_ms; /* default 30 s */
	uint64_t max_wait_ms;      /* default 10 min */
};

enum txn_type_id { TXN_TYPE_ENROLLMENT = 0, TXN_TYPE_CLIENT_AUTH };
enum txn_protocol { TXN_PROTOCOL_SCEP = 0 };
enum scep_method { SCEP_METHOD_AUTO = 0, SCEP_METHOD_POST, SCEP_METHOD_GET };
enum sip_method { SIP_METHOD_REGISTER = 0, SIP_METHOD_OPTIONS };

/* How a client-auth transaction finds its registrar. */
enum registrar_discovery {
	REGISTRAR_STATIC = 0, /* {host, port} */
	REGISTRAR_DNS,        /* {discover: dns, domain}: SRV in device order, then A fallbacks */
};

enum addr_family { ADDR_FAMILY_IPV4 = 0, ADDR_FAMILY_IPV6 };

struct registrar_conf {
	enum registrar_discovery discover;
	char *host;        /* STATIC: name or IP literal */
	unsigned port;     /* STATIC: default 5061 */
	char *domain;      /* DNS: the SIP domain */
	char *resolver;    /* DNS server "IP" or "IP:port" for every lookup of this
	                      transaction; NULL = /etc/resolv.conf */
	char *tls_name;    /* name the server certificate must carry; NULL = host / SRV target */
	enum addr_family family; /* address family to connect over (default ipv4) */
	unsigned tls_max_minor;  /* tls_max_version: 0 = newest (1.3), 2 = "1.2", 3 = "1.3" */
};

/* The client certificate of a client-auth transaction. All NULL: none is sent. */
struct client_cert_conf {
	char *from; /* name of an enrollment transaction: its latest issued certificate */
	char *cert; /* PEM file (leaf, then any intermediates) */
	char *key;  /* PEM file */
};

/* Thresholds that turn a working result into WARNING (defaults.warn, per-transaction warn). */
struct step_latency {
	char *step;  /* a step name ("tls_handshake", "pkioperation", ...) */
	uint64_t ms; /* a step slower than this is a WARNING finding (step_slow) */
};

struct warn_conf {
	unsigned expiry_days; /* certificates (issued, client, server, CA) expiring within
	                         this many days are WARNING; default 30; 0 = never */
	uint64_t latency_ms;  /* any step slower than this; 0 = no threshold */
	struct step_latency *steps; /* per-step thresholds, override latency_ms */
	size_t n_steps;
};

struct txn_conf {
	char *name;                /* unique, [A-Za-z0-9_.-]{1,64} */
	enum txn_type_id type;        /* "enrollment" or "client-auth" */
	enum txn_protocol protocol; /* enrollment: "scep" */
	char *url;                 /* enrollment: http:// or https://, with a host */
	bool has_ca_fingerprint;
	unsigned char ca_fingerprint[32]; /* sha256 over the CA certificate DER */
	struct challenge_conf challenge;
	char *subject;       /* "CN=x,O=y" (validated syntactically) */
	struct key_conf key;
	char *trust_store;   /* PEM bundle: enrollment https URLs (NULL = system default);
	                        client-auth: the device's roots (required) */
	char *ca_identifier; /* the message= parameter of GetCACaps/GetCACert; NULL = none */
	enum scep_method method; /* "auto" (default: POST when advertised), "post", "get" */
	/* client-auth */
	struct registrar_conf registrar;
	char *sip_uri;                   /* "sip:user@domain" */
	struct client_cert_conf certificate;
	enum sip_method sip_method;      /* method: register (default) or options */
	unsigned expires;                /* Expires of the REGISTER, default 60 s */
	struct warn_conf warn; /* inherits defaults.warn key by key */
	bool renewal;        /* RenewalReq with the previous certificate when advertised */
	uint64_t interval_ms; /* from defaults when absent */
	uint64_t timeout_ms;  /* overall deadline of one run; from defaults when absent */
	struct pending_conf pending; /* from defaults when absent */
	unsigned line;       /* 1-based line of the transaction in the file */
	struct txn_conf *next;
};

/* probe.web: optional HTTPS and basic auth on the metrics listener. */
struct listener_conf {
	char *tls_cert; /* PEM chain; NULL = plain HTTP */
	char *tls_key;
	char *username; /* basic auth; NULL = none */
	struct secret_ref password;
};

struct label_conf {
	char *name;
	char *value;
};

/* alerting.alertmanager: push endpoint state changes to Alertmanager v2. */
struct alertmanager_conf {
	char **urls; /* base URLs; none = no push */
	size_t n_urls;
	uint64_t resend_interval_ms; /* default 1 m */
	uint64_t timeout_ms;         /* per POST, default 10 s */
	struct label_conf *labels;   /* static labels added to every alert */
	size_t n_labels;
	char *trust_store;           /* CA bundle for https URLs; NULL = system */
};

struct config {
	char *path;
	char *state_dir;             /* default /var/lib/certprobe */
	char *listen;                /* daemon: metrics listener "host:port", default 127.0.0.1:9793 */
	unsigned max_per_endpoint;   /* daemon: concurrent transactions per endpoint, default 2 */
	unsigned max_attempts;       /* daemon: consecutive failures before a state is hard, default 3 */
	bool syslog;                 /* daemon: also log to syslog (facility daemon) */
	struct listener_conf web;
	struct alertmanager_conf alertmanager;
	struct warn_conf default_warn;
	uint64_t default_interval_ms; /* default 15 min */
	uint64_t default_timeout_ms;  /* default 30 s */
	struct pending_conf default_pending;
	struct txn_conf *txns; /* in file order */
	size_t n_txns;
};

/*
 * Load and validate path. On success returns a config the caller frees with
 * config_free(). On failure returns NULL after writing every error to errout
 * (one "file:line:col: message" line each, then the source line and a caret line,
 * then an optional "  hint: ..." line) and storing their count in *nerrors.
 * Errors that are not tied to a position (cannot open file) are "file: message".
 * The errout text never contains a secret value.
 */
struct config *config_load(const char *path, FILE *errout, unsigned *nerrors);

/* Same, from a buffer; name is used in messages. */
struct config *config_load_buffer(const char *name, const char *buf, size_t len, FILE *errout,
                                  unsigned *nerrors);

/* NULL-safe. Inline secrets are wiped before being freed. */
void config_free(struct config *cfg);

/* Find a transaction by name; NULL if absent. */
struct txn_conf *config_find_txn(const struct config *cfg, const char *name);

/*
 * Resolve a secret at run time into a newly malloced NUL-terminated string (*out,
 * caller frees with secret_wipe_free()). Returns 0, or -1 with a message (never
 * containing the secret) in err.
 */
int secret_resolve(const struct secret_ref *ref, char **out, char *err, size_t errlen);

/* Overwrite then free a secret string; NULL-safe. */
void secret_wipe_free(char *s);

/* Parse "15m", "30s", "500ms", "1h30m", "2d"; returns 0 and ms, or -1. */
int config_parse_duration(const char *s, uint64_t *ms);

#endif
