/*
 * shard: which of several certprobed shards runs a transaction. The function is
 * Prometheus's hashmod relabelling (MD5 of the value, its last 8 bytes big-endian,
 * modulo the count) over the name of the transaction's dependency root, so a sharded
 * Prometheus can pair its shards with the probe's, and a transaction always runs on
 * the shard of the one whose certificate it uses (certificate.from).
 */
#ifndef CERTPROBE_SHARD_H
#define CERTPROBE_SHARD_H

#include <stdint.h>

#include "config/config.h"

/* The largest probe.shard.count (and --shard's n). */
#define SHARD_MAX_COUNT 1000u

/* Prometheus's hashmod of s modulo mod (mod > 0). */
uint64_t shard_hashmod(const char *s, uint64_t mod);

/* The transaction whose name decides tc's shard: the end of its depends_on chain. */
const struct txn_conf *shard_root(const struct config *cfg, const struct txn_conf *tc);

/* tc's shard out of count (count > 0). */
unsigned shard_of(const struct config *cfg, const struct txn_conf *tc, unsigned count);

/*
 * Keep only cfg's transactions of shard cfg->shard.index (nothing happens when the
 * configuration is not sharded). The daemon calls it on every load; the commands that
 * run named transactions (certprobe run, the plugins) do not.
 */
void shard_apply(struct config *cfg);

/* "i/n" with 0 <= i < n <= SHARD_MAX_COUNT: 0 and the numbers, else -1. */
int shard_parse(const char *s, struct shard_conf *out);
/* "n" with 0 < n <= SHARD_MAX_COUNT into out->count (index 0): 0, else -1. */
int shard_parse_count(const char *s, struct shard_conf *out);

#endif
