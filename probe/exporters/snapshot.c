/*
 * snapshot: an owned copy of what the exporters read (see snapshot.h). One allocation
 * for the rows and one for their strings, so a copy costs two memcpy-like passes and a
 * reader (a scrape, the SNMP thread) can keep it while the daemon reloads.
 */
#include "exporters/snapshot.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

struct snapshot_owned {
	struct snapshot s;
	atomic_uint refs;
	struct snapshot_txn *txns;
	struct snapshot_endpoint *endpoints;
	char *strings;
};

static size_t str_size(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* Copy s into the arena at *pos; NULL stays NULL. */
static const char *str_put(char *arena, size_t *pos, const char *s)
{
	size_t n = str_size(s);
	char *p;

	if (s == NULL)
		return NULL;
	p = arena + *pos;
	memcpy(p, s, n);
	*pos += n;
	return p;
}

struct snapshot *snapshot_copy(const struct snapshot *from)
{
	return snapshot_copy_flags(from, 0);
}

static size_t txn_strings_size(const struct snapshot_txn *t)
{
	size_t n = str_size(t->name) + str_size(t->type) + str_size(t->protocol) +
	           str_size(t->endpoint) + str_size(t->detail);

	for (size_t r = 0; r < CERT_ROLE_COUNT; r++)
		n += str_size(t->certs[r].subject) + str_size(t->certs[r].issuer) +
		     str_size(t->certs[r].serial) + str_size(t->certs[r].fingerprint);
	return n;
}

struct snapshot *snapshot_copy_flags(const struct snapshot *from, unsigned flags)
{
	struct snapshot_owned *o = xcalloc(1, sizeof *o);
	size_t total = 0, pos = 0;

	o->s = *from;
	atomic_init(&o->refs, 1);
	for (size_t i = 0; i < from->n_txns; i++)
		total += txn_strings_size(&from->txns[i]);
	for (size_t i = 0; i < from->n_endpoints; i++)
		total += str_size(from->endpoints[i].name);
	o->strings = xmalloc(total + 1);
	o->txns = xcalloc(from->n_txns + 1, sizeof *o->txns);
	o->endpoints = xcalloc(from->n_endpoints + 1, sizeof *o->endpoints);
	if (from->n_txns > 0)
		memcpy(o->txns, from->txns, from->n_txns * sizeof *o->txns);
	if (from->n_endpoints > 0)
		memcpy(o->endpoints, from->endpoints, from->n_endpoints * sizeof *o->endpoints);
	/* step names and the self strings are static; the rows' identities are not */
	for (size_t i = 0; i < from->n_txns; i++) {
		struct snapshot_txn *t = &o->txns[i];
		t->name = str_put(o->strings, &pos, t->name);
		t->type = str_put(o->strings, &pos, t->type);
		t->protocol = str_put(o->strings, &pos, t->protocol);
		t->endpoint = str_put(o->strings, &pos, t->endpoint);
		t->detail = str_put(o->strings, &pos, t->detail);
		for (size_t r = 0; r < CERT_ROLE_COUNT; r++) {
			struct snapshot_cert *c = &t->certs[r];
			c->subject = str_put(o->strings, &pos, c->subject);
			c->issuer = str_put(o->strings, &pos, c->issuer);
			c->serial = str_put(o->strings, &pos, c->serial);
			c->fingerprint = str_put(o->strings, &pos, c->fingerprint);
		}
		t->history = (flags & SNAPSHOT_COPY_HISTORY) ? history_copy(t->history) : NULL;
	}
	for (size_t i = 0; i < from->n_endpoints; i++)
		o->endpoints[i].name = str_put(o->strings, &pos, o->endpoints[i].name);
	o->s.txns = o->txns;
	o->s.endpoints = o->endpoints;
	o->s.owned = o;
	return &o->s;
}

struct snapshot *snapshot_ref(struct snapshot *s)
{
	atomic_fetch_add(&s->owned->refs, 1);
	return s;
}

void snapshot_unref(struct snapshot *s)
{
	struct snapshot_owned *o;

	if (s == NULL || s->owned == NULL)
		return;
	o = s->owned;
	if (atomic_fetch_sub(&o->refs, 1) != 1)
		return;
	for (size_t i = 0; i < o->s.n_txns; i++)
		history_free((struct history *)(uintptr_t)o->txns[i].history);
	free(o->txns);
	free(o->endpoints);
	free(o->strings);
	free(o);
}
