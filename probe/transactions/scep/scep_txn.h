/*
 * scep_txn: the SCEP enrollment transaction as a resumable step machine with one
 * overall deadline: challenge → GetCACaps → GetCACert → request → PKIOperation →
 * CertRep (→ CertPoll …) → verify → store. It reaches the network only through
 * http_client and keys only through keypool; it ends with exactly one callback.
 */
#ifndef CERTPROBE_SCEP_TXN_H
#define CERTPROBE_SCEP_TXN_H

#include "config/config.h"
#include "transactions/txn_type.h"

/*
 * The enrollment type (SCEP): its ops are the only way in (registry.c lists it).
 * Start needs env->base, http, keys and state_dir.
 */
extern const struct txn_type scep_txn_type;

#endif
