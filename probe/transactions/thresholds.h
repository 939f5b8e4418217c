/*
 * thresholds: the warn: settings that turn a working transaction into a WARNING.
 * Certificate expiry is judged where the certificate is read (scep_txn, clientauth_txn,
 * with conf->warn.expiry_days); step latency is judged here, on the finished result,
 * for every transaction type alike.
 */
#ifndef CERTPROBE_THRESHOLDS_H
#define CERTPROBE_THRESHOLDS_H

#include "config/config.h"
#include "transactions/transaction.h"

/*
 * Add one step_slow finding naming every step slower than its threshold (the step's own
 * entry in w->steps, else w->latency_ms; 0 = none) and raise the result class to at
 * least WARNING. Call after txn_result_finish().
 */
void txn_apply_latency(struct txn_result *r, const struct warn_conf *w);

#endif
