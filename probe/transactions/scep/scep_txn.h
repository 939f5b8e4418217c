/*
 * scep_txn: the SCEP enrollment transaction as a resumable step machine with one
 * overall deadline: challenge → GetCACaps → GetCACert → request → PKIOperation →
 * CertRep (→ CertPoll …) → verify → store. It reaches the network only through
 * http_client and keys only through keypool; it ends with exactly one callback.
 */
#ifndef CERTPROBE_SCEP_TXN_H
#define CERTPROBE_SCEP_TXN_H

#include <stdbool.h>

#include "config/config.h"
#include "transactions/transaction.h"

struct event_base;
struct http_client;
struct keypool;
struct scep_txn;

struct scep_txn_env {
	struct event_base *base;
	struct http_client *http;
	struct keypool *keys;
	const char *state_dir; /* issued certificates, keys and state per transaction */
};

/* result is valid during the call only; the transaction may be freed afterwards. */
typedef void scep_txn_done_cb(const struct txn_result *result, void *arg);

/* Starts at once (the clock starts when the key is in hand). conf must outlive it. */
struct scep_txn *scep_txn_start(const struct scep_txn_env *env, const struct txn_conf *conf,
                                scep_txn_done_cb *cb, void *arg);
/* Cancels anything in flight without calling back. NULL-safe. */
void scep_txn_free(struct scep_txn *t);

#endif
