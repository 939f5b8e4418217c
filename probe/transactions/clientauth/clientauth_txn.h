/*
 * clientauth_txn: the client-auth transaction, what a device does after enrollment:
 * find the registrar (static, or DNS SRV in device order with A-record fallbacks),
 * connect, mutual-TLS handshake verified against a device-like trust store, SIP
 * REGISTER (or OPTIONS) with the certificate's identity, follow a redirect to the home
 * pool, then un-REGISTER so no binding is left behind. One deadline covers it all; it
 * ends with exactly one callback.
 */
#ifndef CERTPROBE_CLIENTAUTH_TXN_H
#define CERTPROBE_CLIENTAUTH_TXN_H

#include "config/config.h"
#include "transactions/transaction.h"

struct event_base;
struct dns;
struct tls_ctx_cache;
struct clientauth_txn;

struct clientauth_env {
	struct event_base *base;
	struct dns *dns;
	struct tls_ctx_cache *tls;
	const char *state_dir; /* where enrollment transactions keep their certificates */
};

typedef void clientauth_txn_done_cb(const struct txn_result *result, void *arg);

/* Starts at once. conf must outlive the transaction. */
struct clientauth_txn *clientauth_txn_start(const struct clientauth_env *env,
                                            const struct txn_conf *conf,
                                            clientauth_txn_done_cb *cb, void *arg);
/* Cancels anything in flight without calling back. NULL-safe. */
void clientauth_txn_free(struct clientauth_txn *t);

#endif
