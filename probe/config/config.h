/*
 * config: the YAML configuration, loaded through libyaml by a table-driven walker
 * (cfg_walk.h); each transaction type brings its own key table through its ops
 * (txn_type.h). Only the config folder includes yaml.h. Every error is reported as
 * file:line:col with the offending line and a caret; all errors are collected before
 * the load gives up.
 */
#ifndef CERTPROBE_CONFIG_H
#define CERTPROBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/secret.h"

struct txn_type;

/* SCEP PENDING polling: defaults.pending, and the enrollment type's own pending key. */
struct pending_conf {
	uint64_t poll_interval_ms; /* default 30 s */
	uint64_t max_wait_ms;      /* default 10 min */
};

/* Thresholds that turn a working result into WARNING (defaults.warn, per-transaction warn). */
struct step_latency {
	char *step;  /* a step name ("tls_handshake", "pkioperation", ...) */
	uint64_t ms; /* a step slower than this is a WARNING finding (step_slow) */
};

struct warn_conf {
	unsigned expiry_days;       /* certificates (issued, client, server, CA) expiring within
	                               this many days are WARNING; default 30; 0 = never */
	uint64_t latency_ms;        /* any step slower than this; 0 = no threshold */
	struct step_latency *steps; /* per-step thresholds, override latency_ms */
	size_t n_steps;
};

/*
 * One configured transaction: what every type has, and the type's own configuration
 * (spec), which the type's ops read (scep_conf.h, clientauth_conf.h, ...).
 */
struct txn_conf {
	char *name;                  /* unique, [A-Za-z0-9_.-]{1,64} */
	const struct txn_type *type; /* from `type:` through txn_type_find() */
	void *spec;                  /* the type's struct, from type->conf_new(); owned */
	struct warn_conf warn;       /* inherits defaults.warn key by key */
	uint64_t interval_ms;        /* from defaults when absent */
	uint64_t timeout_ms;         /* overall deadline of one run; from defaults when absent */
	unsigned line;               /* 1-based line of the transaction in the file */
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
	char *trust_store; /* CA bundle for https URLs; NULL = system */
};

/* alerting.icinga2: passive results to the Icinga 2 API (alert/icinga2_sink.h). */
struct icinga2_conf {
	char *url;  /* the API's base URL; NULL = not configured */
	char *host; /* name templates (alert/passive.h); defaults in cfg_daemon.c */
	char *service;
	char *endpoint_service;
	bool endpoints;     /* push the endpoints too; default true */
	char *check_source; /* NULL = the probe's host name */
	char *username;     /* basic auth; NULL = none */
	struct secret_ref password;
	char *client_cert; /* PEM; with client_key */
	char *client_key;
	char *trust_store;   /* CA bundle the API's certificate must chain to */
	uint64_t refresh_ms; /* every object again this often; default 60 s */
	uint64_t ttl_ms;     /* default 3 x refresh */
	uint64_t timeout_ms; /* per POST; default 10 s */
};

/* alerting.nagios: passive results into the external command file (alert/nagios_sink.h). */
struct nagios_conf {
	char *command_file; /* NULL = not configured */
	char *host;
	char *service;
	char *endpoint_service;
	bool endpoints;      /* default true */
	bool host_check;     /* PROCESS_HOST_CHECK_RESULT every refresh; default true */
	uint64_t refresh_ms; /* default 60 s */
};

/* probe.snmp: the AgentX subagent (exporters/snmp_agent.h). */
struct snmp_conf {
	bool enabled;              /* the section is present and enable is not false */
	char *agentx;              /* "unix:/path", "/path" or "tcp:host:port"; default
	                              unix:/var/agentx/master */
	uint64_t ping_interval_ms; /* AgentX ping and reconnect interval; default 15 s */
	bool notifications;        /* send notifications; default true */
};

/* probe.shard: run only the transactions whose shard is index (config/shard.h). */
struct shard_conf {
	unsigned index;
	unsigned count; /* 0 = not sharded */
};

struct config {
	char *path;
	char *state_dir; /* default /var/lib/certprobe */
	char *listen;    /* daemon: metrics listener "host:port", default 127.0.0.1:9793 */
	unsigned max_per_endpoint; /* daemon: concurrent transactions per endpoint, default 2 */
	unsigned max_attempts; /* daemon: consecutive failures before a state is hard, default 3 */
	bool syslog;           /* daemon: also log to syslog (facility daemon) */
	unsigned history; /* daemon: results kept per transaction (probe.history), default 20 */
	struct snmp_conf snmp;
	struct shard_conf shard;
	struct listener_conf web;
	struct alertmanager_conf alertmanager;
	struct icinga2_conf icinga2;
	struct nagios_conf nagios;
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

/*
 * Strict loading (--strict), for every load from then on: a warning (a secret file that
 * group or other can read) is an error and fails the load. Otherwise warnings are
 * printed to errout the way errors are, "file:line:col: warning: message", and the
 * load succeeds. Call once, before the first load.
 */
void config_set_strict(bool strict);

/* NULL-safe. Inline secrets are wiped before being freed. */
void config_free(struct config *cfg);
/* One transaction taken off its list (shard.c). */
void config_free_txn(struct txn_conf *t);

/* Find a transaction by name; NULL if absent. */
struct txn_conf *config_find_txn(const struct config *cfg, const char *name);

/* Parse "15m", "30s", "500ms", "1h30m", "2d"; returns 0 and ms, or -1. */
int config_parse_duration(const char *s, uint64_t *ms);

/*
 * Call cb for every configuration key the loader knows, the daemon's and every
 * registered type's, with whether it holds a secret (for documentation checks; a key
 * in several tables is visited once per table).
 */
typedef void config_key_cb(const char *key, bool secret, void *arg);
void config_visit_keys(config_key_cb *cb, void *arg);

#endif
