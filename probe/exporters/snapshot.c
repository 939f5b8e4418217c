/*
 * snapshot: an owned copy of what the exporters read (see snapshot.h). One allocation
 * for the rows, and the rows' strings in reference-counted blocks: a full copy puts every
 * row's strings in one block, snapshot_copy_since() puts each changed row's in a block of
 * its own and shares the block of every unchanged row with the copy before, so a copy at
 * 10,000 rows costs one memcpy of the rows and the strings of the rows that changed. A
 * reader (a scrape, the SNMP thread) can keep a copy while the daemon reloads.
 */
#include "exporters/snapshot.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

/* Strings of one or more rows; one reference per row of any copy that points into it. */
struct row_strings {
	atomic_size_t refs;
	char data[];
};

struct snapshot_owned {
	struct snapshot s;
	atomic_uint refs;
	struct snapshot_txn *txns;
	struct row_strings **blocks; /* per row: the block its strings are in; NULL = none */
	struct snapshot_endpoint *endpoints;
	char *strings; /* the endpoints' names */
};

/*
 * The rows array of the last copy freed, kept for the next copy when it is large (9 MB at
 * 10,000 rows, above the mmap threshold): a fresh one costs a page fault per 4 kB on the
 * loop. One slot; whichever thread frees a copy puts its array there.
 */
#define SPARE_MIN_BYTES (1u << 20)
struct rows_buf {
	size_t bytes; /* usable bytes after the header */
	max_align_t data[];
};
static _Atomic(struct rows_buf *) spare_rows;

static struct snapshot_txn *rows_alloc(size_t n)
{
	size_t bytes = (n + 1) * sizeof(struct snapshot_txn);
	struct rows_buf *b;

	if (bytes >= SPARE_MIN_BYTES) {
		b = atomic_exchange(&spare_rows, NULL);
		if (b != NULL && b->bytes >= bytes && b->bytes - bytes < SPARE_MIN_BYTES)
			return (struct snapshot_txn *)(void *)b->data;
		free(b);
	}
	b = xmalloc(sizeof *b + bytes);
	b->bytes = bytes;
	return (struct snapshot_txn *)(void *)b->data;
}

static void rows_release(struct snapshot_txn *rows)
{
	struct rows_buf *b;

	if (rows == NULL)
		return;
	b = (struct rows_buf *)(void *)((char *)rows - offsetof(struct rows_buf, data));
	if (b->bytes >= SPARE_MIN_BYTES)
		b = atomic_exchange(&spare_rows, b);
	free(b);
}

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

/* Point row t's strings into arena at *pos (they are still the source's). */
static void txn_strings_put(struct snapshot_txn *t, char *arena, size_t *pos)
{
	t->name = str_put(arena, pos, t->name);
	t->type = str_put(arena, pos, t->type);
	t->protocol = str_put(arena, pos, t->protocol);
	t->endpoint = str_put(arena, pos, t->endpoint);
	t->detail = str_put(arena, pos, t->detail);
	for (size_t r = 0; r < CERT_ROLE_COUNT; r++) {
		struct snapshot_cert *c = &t->certs[r];
		c->subject = str_put(arena, pos, c->subject);
		c->issuer = str_put(arena, pos, c->issuer);
		c->serial = str_put(arena, pos, c->serial);
		c->fingerprint = str_put(arena, pos, c->fingerprint);
	}
}

static struct row_strings *block_new(size_t size, size_t refs)
{
	struct row_strings *b = xmalloc(sizeof *b + size + 1);

	atomic_init(&b->refs, refs);
	return b;
}

static void block_unref(struct row_strings *b)
{
	if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1)
		free(b);
}

struct snapshot *snapshot_copy_since(const struct snapshot *from, const struct snapshot *prev,
                                     const uint8_t *changed, unsigned flags)
{
	struct snapshot_owned *o = xcalloc(1, sizeof *o);
	size_t total = 0, pos = 0;
	struct row_strings *shared = NULL;

	if (changed == NULL ||
	    (prev != NULL && (prev->owned == NULL || prev->n_txns != from->n_txns)))
		prev = NULL;
	o->s = *from;
	atomic_init(&o->refs, 1);
	/* not calloc: every row is written below (zeroing 9 MB at 10,000 rows was half a copy) */
	o->txns = rows_alloc(from->n_txns);
	o->blocks = xcalloc(from->n_txns + 1, sizeof *o->blocks);
	o->endpoints = xcalloc(from->n_endpoints + 1, sizeof *o->endpoints);
	/* the rows as prev has them (strings and all), or as from has them (a full copy) */
	if (from->n_txns > 0)
		memcpy(o->txns, prev != NULL ? prev->txns : from->txns,
		       from->n_txns * sizeof *o->txns);
	if (from->n_endpoints > 0)
		memcpy(o->endpoints, from->endpoints, from->n_endpoints * sizeof *o->endpoints);
	/* a full copy: every row's strings in one block, one reference per row */
	if (prev == NULL) {
		for (size_t i = 0; i < from->n_txns; i++)
			total += txn_strings_size(&from->txns[i]);
		if (from->n_txns > 0)
			shared = block_new(total, from->n_txns);
	}
	/* step names and the self strings are static; the rows' identities are not */
	for (size_t i = 0; i < from->n_txns; i++) {
		struct snapshot_txn *t = &o->txns[i];
		if (shared != NULL) {
			txn_strings_put(t, shared->data, &pos);
			o->blocks[i] = shared;
		} else if (!changed[i]) {
			/* the row as the copy before has it, strings and all */
			o->blocks[i] = prev->owned->blocks[i];
			if (o->blocks[i] != NULL)
				atomic_fetch_add(&o->blocks[i]->refs, 1);
		} else {
			size_t p = 0;
			*t = from->txns[i];
			o->blocks[i] = block_new(txn_strings_size(t), 1);
			txn_strings_put(t, o->blocks[i]->data, &p);
		}
		t->history =
		    (flags & SNAPSHOT_COPY_HISTORY) ? history_copy(from->txns[i].history) : NULL;
	}
	total = 0;
	for (size_t i = 0; i < from->n_endpoints; i++)
		total += str_size(from->endpoints[i].name);
	o->strings = xmalloc(total + 1);
	pos = 0;
	for (size_t i = 0; i < from->n_endpoints; i++)
		o->endpoints[i].name = str_put(o->strings, &pos, o->endpoints[i].name);
	o->s.txns = o->txns;
	o->s.endpoints = o->endpoints;
	o->s.owned = o;
	return &o->s;
}

struct snapshot *snapshot_copy_flags(const struct snapshot *from, unsigned flags)
{
	return snapshot_copy_since(from, NULL, NULL, flags);
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
	for (size_t i = 0; i < o->s.n_txns; i++) {
		history_free((struct history *)(uintptr_t)o->txns[i].history);
		block_unref(o->blocks[i]);
	}
	free(o->blocks);
	rows_release(o->txns);
	free(o->endpoints);
	free(o->strings);
	free(o);
}
