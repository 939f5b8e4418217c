/*
 * txn_type: the interface every transaction type implements (curl's Curl_handler,
 * Unbound's module_func_block). The daemon, `certprobe run`, /probe, the state file,
 * the metrics and the plugins reach a transaction only through these ops and the one
 * opaque handle below; none of them names a type. A new type is one folder under
 * transactions/ with a `const struct txn_type` and one line in registry.c.
 */
#ifndef CERTPROBE_TXN_TYPE_H
#define CERTPROBE_TXN_TYPE_H

#include <stdbool.h>
#include <stddef.h>

#include "transactions/transaction.h"

struct event_base;
struct http_client;
struct keypool;
struct dns;
struct tls_ctx_cache;
struct offload;
struct txn_conf;
struct config;
struct cfg_key;
struct cfg_loader;
struct cfg_found;

/*
 * What a transaction may use; one per process (the daemon, a `certprobe run`, a plugin,
 * a benchmark), shared by every transaction of every type. Borrowed by transactions,
 * which must not outlive it.
 */
struct txn_env {
	struct event_base *base;
	struct http_client *http;  /* HTTP(S) through libcurl's multi API */
	struct keypool *keys;      /* keys generated off the loop */
	struct dns *dns;           /* c-ares lookups on the loop */
	struct tls_ctx_cache *tls; /* client TLS contexts, loaded once (off the loop) */
	struct offload *files;     /* the worker that reads configured files */
	const char *state_dir;     /* per-transaction files (issued certificates, keys) */
};

/* The end of a run: result is valid during the call only. Called exactly once. */
typedef void txn_done_cb(const struct txn_result *result, void *arg);

/* What kind of endpoint a transaction hits; the alert and the metrics say which. */
enum endpoint_kind { ENDPOINT_KIND_REGISTRAR, ENDPOINT_KIND_WEB_SERVICE, ENDPOINT_KIND_COUNT };

struct txn_type {
	const char *name; /* the config's `type:` ("enrollment"); also the `type` label */
	/*
	 * The protocol it speaks for this configuration ("scep", "sip-register"): a static
	 * string, the same for the life of conf. The one source of the `protocol` label
	 * and of a result's protocol.
	 */
	const char *(*protocol)(const struct txn_conf *conf);
	/*
	 * The endpoint conf hits: its key ("host:port", a SIP domain) written to key (at
	 * most len bytes, NUL-terminated) and its kind. Transactions with equal (key, kind)
	 * share an endpoint: its concurrency limit, health and alert.
	 */
	void (*endpoint)(const struct txn_conf *conf, char *key, size_t len,
	                 enum endpoint_kind *kind);
	/*
	 * The name of the transaction whose first run must end before conf's first run
	 * (a client-auth using an enrollment's certificate); NULL when none. NULL-able op.
	 */
	const char *(*depends_on)(const struct txn_conf *conf);
	/* A short description of what it probes, for reports ("sip:a@b at host:5061"). */
	void (*describe)(const struct txn_conf *conf, char *buf, size_t len);

	/*
	 * Start one run now. conf and env must outlive it; cb is called exactly once, from
	 * the loop and never from inside start, unless the run is freed first. Returns the
	 * type's own run state, which only free() receives.
	 */
	void *(*start)(const struct txn_env *env, const struct txn_conf *conf, txn_done_cb *cb,
	               void *arg);
	/* Cancel anything in flight without calling back, and free. NULL-safe. */
	void (*free)(void *run);

	/* The step names it can record (txn_step_begin), NULL-terminated: warn.latency keys. */
	const char *const *steps;

	/*
	 * ---- configuration: what config/ calls while loading (see config/cfg_walk.h) ----
	 * keys, conf_new and conf_free are required; conf_check may be NULL.
	 */

	/*
	 * The keys of a transaction of this type besides the common ones (name, type,
	 * interval, timeout, warn; never one of those), ending with {NULL}, at most
	 * CFG_KEYS_MAX: the handlers write into the spec. Secrets are flagged CFG_SECRET
	 * here (or in a sub table), which is all the masker goes by. A key of another
	 * type's table is reported as not applying to this one.
	 */
	const struct cfg_key *keys;
	/*
	 * A new spec (the type's own configuration struct that keys describes) holding what
	 * an absent key means; never NULL. The txn_conf owns it (conf->spec).
	 */
	void *(*conf_new)(void);
	/* Free a spec from conf_new, wiping any secret it holds. NULL-safe. */
	void (*conf_free)(void *spec);
	/*
	 * Once the whole file is walked and cfg holds every transaction and the defaults:
	 * fill what conf inherits, and check what needs several keys or other
	 * transactions, reporting through cfg_walk_error(). found is what the walk of keys
	 * found in conf's mapping (valid during the call). Also called when keys of this
	 * type turn up in a transaction of another or unknown type, with a view of that
	 * transaction whose type and spec are this type's (a scratch spec, freed after), so
	 * their values get the same checks. NULL-able op.
	 */
	void (*conf_check)(struct cfg_loader *ld, const struct config *cfg, struct txn_conf *conf,
	                   const struct cfg_found *found);
	/*
	 * A run of this type leaves its issued certificate and key in the transaction's
	 * state directory, for transactions that depend on it (depends_on) to use.
	 */
	bool issues_certificate;
	/*
	 * A run of this type records the registrar it was given or discovered in its state
	 * directory (TXN_STATE_REGISTRAR), for a client-auth's registrar: {from: NAME}.
	 */
	bool records_registrar;
	/*
	 * With records_registrar: the registrar conf is configured with, "host:port", into
	 * buf (len bytes); "" when it is only known once a run discovered it. NULL-able op.
	 */
	void (*configured_registrar)(const struct txn_conf *conf, char *buf, size_t len);
};

/* ---- the registry (registry.c) ---- */

/* Every type, NULL-terminated, in the order help texts list them. */
extern const struct txn_type *const txn_types[];

/* The type named name; NULL when there is none. */
const struct txn_type *txn_type_find(const char *name);

/* The type of a configured transaction (conf->type). */
const struct txn_type *txn_conf_type(const struct txn_conf *conf);

/* The transaction conf waits for (its type's depends_on op); NULL when none. */
const char *txn_conf_depends_on(const struct txn_conf *conf);

/* "registrar", "web_service": the `kind` label and state-file word. */
const char *endpoint_kind_name(enum endpoint_kind kind);
/* The inverse; -1 when s names no kind. */
int endpoint_kind_parse(const char *s, enum endpoint_kind *kind);

/* ---- one run, whatever its type ---- */

struct txn;

/* Start conf's run through its type's ops (see start above); never NULL. */
struct txn *txn_start(const struct txn_env *env, const struct txn_conf *conf, txn_done_cb *cb,
                      void *arg);
/* Cancel without calling back, and free. NULL-safe. */
void txn_free(struct txn *t);

/*
 * Set up a result for conf's run: name, target description, type and protocol from
 * the ops, so every result of a type carries the same identity as its metrics row.
 */
void txn_result_init_for(struct txn_result *r, const struct txn_conf *conf);

#endif
