/*
 * scep_conf: the configuration of an enrollment (SCEP) transaction, the spec of its
 * txn_conf (conf->spec), and the key table the config loader walks for it. The
 * enrollment type's ops (scep_txn.c) hand these to the loader.
 */
#ifndef CERTPROBE_SCEP_CONF_H
#define CERTPROBE_SCEP_CONF_H

#include <stdbool.h>

#include "config/cfg_walk.h"
#include "config/config.h"
#include "transactions/txn_type.h"

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
	enum key_type type;  /* default RSA */
	unsigned bits;       /* RSA: 2048 (default), 3072 or 4096 */
	char *curve;         /* EC: "P-256" (default) or "P-384"; NULL for RSA */
	unsigned reuse_runs; /* 0 or 1: fresh key every run; N: rotate every N runs */
};

enum scep_protocol { SCEP_PROTOCOL_SCEP = 0 };
enum scep_method { SCEP_METHOD_AUTO = 0, SCEP_METHOD_POST, SCEP_METHOD_GET };

struct scep_conf {
	enum scep_protocol protocol; /* "scep" */
	char *url;                   /* http:// or https://, with a host */
	bool has_ca_fingerprint;
	unsigned char ca_fingerprint[32]; /* sha256 over the CA certificate DER */
	struct challenge_conf challenge;
	char *subject; /* "CN=x,O=y" (validated syntactically) */
	struct key_conf key;
	char *trust_store;       /* PEM bundle for https URLs; NULL = system default */
	char *ca_identifier;     /* the message= parameter of GetCACaps/GetCACert; NULL = none */
	enum scep_method method; /* "auto" (default: POST when advertised), "post", "get" */
	bool renewal;            /* RenewalReq with the previous certificate when advertised */
	struct pending_conf pending; /* from defaults.pending when absent */
};

/*
 * The `key:` mapping ({type, bits, curve, reuse_runs}) into a struct key_conf at
 * key->offset, shared with the other types that make a key (one meaning per key name, so
 * a transaction of unknown type still gets it checked).
 */
void scep_conf_key_handler(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                           const struct cfg_key *key);
extern const struct cfg_key scep_conf_key_keys[];

/* The keys of an enrollment transaction (txn_type.keys). */
extern const struct cfg_key scep_conf_keys[];

/* txn_type.conf_new: RSA 2048, method auto, pending from the defaults. */
void *scep_conf_new(void);

/* txn_type.conf_free: NULL-safe; inline secrets are wiped. */
void scep_conf_free(void *spec);

/* txn_type.conf_check: pending inherits defaults.pending, max_wait >= poll_interval. */
void scep_conf_check(struct cfg_loader *ld, const struct config *cfg, struct txn_conf *conf,
                     const struct cfg_found *found);

/* txn_type ops: protocol "scep"; the endpoint is the URL's authority ("host[:port]",
 * a web service); the description is the URL. */
const char *scep_conf_protocol(const struct txn_conf *conf);
void scep_conf_endpoint(const struct txn_conf *conf, char *key, size_t len,
                        enum endpoint_kind *kind);
void scep_conf_describe(const struct txn_conf *conf, char *buf, size_t len);

#endif
