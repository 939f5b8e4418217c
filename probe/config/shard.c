/* shard: Prometheus's hashmod over the dependency root (contract in shard.h). */
#include "config/shard.h"

#include <stdlib.h>
#include <string.h>

#include "config/cfg_daemon.h"
#include "pki/pki.h"
#include "transactions/txn_type.h"

uint64_t shard_hashmod(const char *s, uint64_t mod)
{
	unsigned char md[16];
	uint64_t v = 0;

	if (pki_md5(s, strlen(s), md) == -1)
		abort(); /* MD5 is in every OpenSSL default provider */
	for (int i = 8; i < 16; i++)
		v = v << 8 | md[i];
	return v % mod;
}

const struct txn_conf *shard_root(const struct config *cfg, const struct txn_conf *tc)
{
	/* the loader refuses cycles; the bound only keeps a broken table from looping */
	for (size_t hops = 0; hops <= cfg->n_txns; hops++) {
		const char *from = txn_conf_depends_on(tc);
		const struct txn_conf *up = from != NULL ? config_find_txn(cfg, from) : NULL;
		if (up == NULL || up == tc)
			break;
		tc = up;
	}
	return tc;
}

unsigned shard_of(const struct config *cfg, const struct txn_conf *tc, unsigned count)
{
	return (unsigned)shard_hashmod(shard_root(cfg, tc)->name, count);
}

void shard_apply(struct config *cfg)
{
	struct txn_conf **link = &cfg->txns, *t;
	bool *keep;
	size_t i = 0;

	if (cfg->shard.count == 0)
		return;
	/* decided on the whole list first: a root may be dropped before its dependants */
	keep = calloc(cfg->n_txns + 1, sizeof *keep);
	if (keep == NULL)
		abort();
	for (t = cfg->txns; t != NULL; t = t->next)
		keep[i++] = shard_of(cfg, t, cfg->shard.count) == cfg->shard.index;
	i = 0;
	while ((t = *link) != NULL) {
		if (keep[i++]) {
			link = &t->next;
			continue;
		}
		*link = t->next;
		cfg->n_txns--;
		t->next = NULL;
		config_free_txn(t);
	}
	free(keep);
}

int shard_parse(const char *s, struct shard_conf *out)
{
	char *end;
	unsigned long i, n;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	i = strtoul(s, &end, 10);
	if (*end != '/' || end[1] < '0' || end[1] > '9')
		return -1;
	n = strtoul(end + 1, &end, 10);
	if (*end != '\0' || n == 0 || n > SHARD_MAX_COUNT || i >= n)
		return -1;
	out->index = (unsigned)i;
	out->count = (unsigned)n;
	return 0;
}

int shard_parse_count(const char *s, struct shard_conf *out)
{
	char *end;
	unsigned long n;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	n = strtoul(s, &end, 10);
	if (*end != '\0' || n == 0 || n > SHARD_MAX_COUNT)
		return -1;
	out->index = 0;
	out->count = (unsigned)n;
	return 0;
}
