/*
 * cfg_daemon: the keys of the configuration outside the transactions: probe: (state
 * directory, listener), defaults: (schedule, thresholds, PENDING polling) and alerting:,
 * with their defaults. The warn: thresholds are shared with every transaction.
 * Config-internal.
 */
#ifndef CERTPROBE_CFG_DAEMON_H
#define CERTPROBE_CFG_DAEMON_H

#include "config/cfg_walk.h"
#include "config/config.h"

/* The keys of probe:, defaults: and alerting: (for cfg_walk_section keys at the top). */
extern const struct cfg_key cfg_daemon_probe_keys[];
extern const struct cfg_key cfg_daemon_defaults_keys[];
extern const struct cfg_key cfg_daemon_alerting_keys[];

/* The keys of a warn: mapping (into struct warn_conf), defaults' and transactions'. */
extern const struct cfg_key cfg_daemon_warn_keys[];

/* Mark every daemon value of cfg unset, before the walk. */
void cfg_daemon_init(struct config *cfg);

/* Mark w unset: what it does not give, it inherits (cfg_daemon_warn_inherit). */
void cfg_daemon_warn_init(struct warn_conf *w);

/* After the walk: the defaults of everything not given, and the checks of defaults:. */
void cfg_daemon_finish(struct cfg_loader *ld, struct config *cfg);

/* Fill what w left unset from d, key by key (copies d's step list). */
void cfg_daemon_warn_inherit(struct warn_conf *w, const struct warn_conf *d);

/* Free what w holds; w itself is the caller's. */
void cfg_daemon_warn_clear(struct warn_conf *w);

/* Free every daemon value of cfg (not its transactions, not cfg itself). */
void cfg_daemon_free(struct config *cfg);

#endif
