/*
 * tls_ctx: client TLS contexts, cached by trust store and client certificate. Files are
 * read once and re-read only when one of them changes (device, inode, size, mtime). A
 * (re)load happens on the cache's loader thread (core/offload.h): the trust store, the
 * certificate chain and the key are read with core/fileload.h (regular files of bounded
 * size, opened O_NONBLOCK) and parsed there, so neither a FIFO nor a 1 GiB file named in
 * the configuration can hold the event loop. Only tls_ctx.c, tls_conn.c and pki/
 * include OpenSSL.
 */
#ifndef CERTPROBE_TLS_CTX_H
#define CERTPROBE_TLS_CTX_H

#include <stdbool.h>
#include <stddef.h>

#include "transactions/transaction.h"
#include "transactions/transaction_status.h"

struct offload;
struct tls_ctx;
struct tls_ctx_cache;

/*
 * loader: the worker that reads and parses files; borrowed (free it before the cache:
 * its jobs point into the cache). NULL: load synchronously inside tls_ctx_acquire()
 * (tools and benchmarks without a loop to protect).
 */
struct tls_ctx_cache *tls_ctx_cache_new(struct offload *loader);
void tls_ctx_cache_free(struct tls_ctx_cache *cache); /* NULL-safe */

enum tls_max_version { TLS_MAX_AUTO = 0, TLS_MAX_1_2, TLS_MAX_1_3 };

struct tls_ctx_params {
	const char *trust_store; /* PEM file of roots; required */
	const char *cert;        /* client certificate chain PEM, or NULL */
	const char *key;         /* its key PEM (may be the same file as cert), or NULL */
	enum tls_max_version max_version;
};

/* Facts of a certificate for the report. */
struct tls_cert_facts {
	char subject[256];
	char issuer[256];
	char serial[80];
	char not_before[32]; /* "2026-11-22T10:00:00Z" */
	char not_after[32];
	char fingerprint[80]; /* "sha256:<hex>" */
	char names[256];      /* subjectAltName DNS names and IPs, comma-separated */
	long seconds_left;    /* until notAfter; negative when expired */
	long not_before_in;   /* seconds until notBefore; > 0 when not yet valid */
};

/*
 * The last server chain a connection through one context verified, with the report
 * facts made from it (tls_conn.c fills and reads it on the loop thread): a registrar
 * sends the same chain every time, so the facts are made once, not per handshake.
 */
struct tls_leaf_memo {
	void *leaf;  /* X509 (a reference); NULL: none yet */
	void *chain; /* STACK_OF(X509), the untrusted certificates as sent (references) */
	struct tls_cert_facts facts;
	int chain_len;
	char chain_text[600];
};

enum tls_ctx_ret {
	TLS_CTX_READY,   /* *out is usable now */
	TLS_CTX_PENDING, /* loading: cb(arg) runs on the loop when it ends; ask again then */
	TLS_CTX_FAILED,  /* *st and err say why */
};

typedef void tls_ctx_cb(void *arg);

/*
 * The context for params. READY: *out stays valid until the cache is freed (a reload
 * swaps in a new SSL_CTX; connections hold their own reference) and client (may be NULL)
 * receives the client certificate's facts. FAILED: *st is one of
 * TXN_PROBE_FILE_NOT_REGULAR, TXN_PROBE_FILE_TOO_LARGE, TXN_PROBE_FILE_UNREADABLE (for
 * any of the files), TXN_PROBE_INTERNAL (a trust store without certificates, OpenSSL
 * failures) or TXN_CLIENT_CERT_UNAVAILABLE (a certificate or key that does not parse or
 * match), and err names the file. A failed load is remembered until a file changes.
 * PENDING: cb(arg) runs later on the loop thread, never inside this call, unless
 * tls_ctx_cancel(cache, arg) is called first.
 */
enum tls_ctx_ret tls_ctx_acquire(struct tls_ctx_cache *cache, const struct tls_ctx_params *params,
                                 tls_ctx_cb *cb, void *arg, struct tls_ctx **out,
                                 struct tls_cert_facts *client, enum txn_status *st, char *err,
                                 size_t errlen);

/* Forget every PENDING wait made with arg (call before freeing arg). */
void tls_ctx_cancel(struct tls_ctx_cache *cache, void *arg);

/* A context's SSL_CTX (as void *: the header stays free of OpenSSL) and whether it has a
 * client certificate. */
void *tls_ctx_ssl(const struct tls_ctx *ctx);
bool tls_ctx_has_cert(const struct tls_ctx *ctx);
/* ctx's memo of the last verified server chain (owned by ctx; loop thread only). */
struct tls_leaf_memo *tls_ctx_leaf_memo(struct tls_ctx *ctx);

/* Facts of an X509 (passed as void * for the same reason). */
void tls_cert_facts_of(void *x509, struct tls_cert_facts *f);

#endif
