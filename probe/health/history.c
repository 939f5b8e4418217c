/*
 * history: the per-transaction ring of recent results (see history.h). The entries live
 * in one reference-counted block shared by a history and its copies: a copy costs a
 * small allocation instead of cap entries (a status page or an SNMP push at 10,000
 * transactions copied 33 MB on the loop), and whoever adds to a shared block first
 * gives itself a private one (copy on write). Copies are made on the loop thread, so a
 * block whose count reads 1 has no other holder and may be written in place.
 */
#include "health/history.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

struct history_block {
	atomic_uint refs;
	struct history_entry e[]; /* cap + 1 */
};

struct history {
	struct history_block *block;
	size_t cap, count, head; /* head: the slot the next entry goes to */
	uint32_t next_index;     /* the index the next entry gets */
};

static struct history_block *block_new(size_t cap)
{
	struct history_block *b = xcalloc(1, sizeof *b + (cap + 1) * sizeof b->e[0]);

	atomic_init(&b->refs, 1);
	return b;
}

static void block_unref(struct history_block *b)
{
	if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
		free(b);
}

/* Give h a block of its own before it writes (another holder still reads the old one). */
static void make_private(struct history *h)
{
	struct history_block *b;

	if (atomic_load_explicit(&h->block->refs, memory_order_acquire) == 1)
		return;
	b = block_new(h->cap);
	memcpy(b->e, h->block->e, h->cap * sizeof b->e[0]);
	block_unref(h->block);
	h->block = b;
}

struct history *history_new(size_t cap)
{
	struct history *h = xcalloc(1, sizeof *h);

	if (cap > HISTORY_MAX_CAPACITY)
		cap = HISTORY_MAX_CAPACITY;
	h->cap = cap;
	h->block = block_new(cap);
	h->next_index = 1;
	return h;
}

void history_free(struct history *h)
{
	if (h == NULL)
		return;
	block_unref(h->block);
	free(h);
}

void history_add(struct history *h, const struct history_entry *e)
{
	struct history_entry *slot;

	if (h == NULL || h->cap == 0)
		return;
	make_private(h);
	slot = &h->block->e[h->head];
	*slot = *e;
	slot->index = h->next_index;
	h->next_index = h->next_index == UINT32_MAX ? 1 : h->next_index + 1;
	h->head = (h->head + 1) % h->cap;
	if (h->count < h->cap)
		h->count++;
}

void history_entry_from_result(struct history_entry *e, const struct txn_result *r, int64_t end,
                               int32_t protocol_code)
{
	size_t n = r->n_steps < TXN_MAX_STEPS ? r->n_steps : TXN_MAX_STEPS;

	memset(e, 0, sizeof *e);
	e->end = end;
	e->duration_us = r->duration_us;
	e->status = (uint16_t)txn_result_reason(r, NULL);
	e->result = (uint8_t)r->result;
	e->protocol_code = protocol_code;
	for (size_t i = 0; i < n; i++) {
		const char *name = r->steps[i].name;
		uint64_t us = r->steps[i].duration_us;
		size_t j;

		if (name == NULL)
			continue;
		for (j = 0; j < e->n_steps && strcmp(e->steps[j].name, name) != 0; j++)
			;
		if (j == e->n_steps) {
			if (e->n_steps == HISTORY_MAX_STEPS)
				continue;
			e->steps[e->n_steps++].name = name;
		}
		us += e->steps[j].duration_us;
		e->steps[j].duration_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	}
}

size_t history_count(const struct history *h)
{
	return h != NULL ? h->count : 0;
}

size_t history_capacity(const struct history *h)
{
	return h != NULL ? h->cap : 0;
}

const struct history_entry *history_get(const struct history *h, size_t i)
{
	if (h == NULL || i >= h->count)
		return NULL;
	/* the oldest sits at head once the ring is full, at 0 before */
	return &h->block->e[(h->head + h->cap - h->count + i) % h->cap];
}

struct history *history_copy(const struct history *h)
{
	struct history *c;

	if (h == NULL)
		return NULL;
	c = xcalloc(1, sizeof *c);
	*c = *h;
	atomic_fetch_add_explicit(&h->block->refs, 1, memory_order_relaxed);
	return c;
}

void history_resize(struct history *h, size_t cap)
{
	struct history_block *b;
	size_t keep;

	if (h == NULL)
		return;
	if (cap > HISTORY_MAX_CAPACITY)
		cap = HISTORY_MAX_CAPACITY;
	if (cap == h->cap)
		return;
	b = block_new(cap);
	keep = h->count < cap ? h->count : cap;
	for (size_t i = 0; i < keep; i++)
		b->e[i] = *history_get(h, h->count - keep + i);
	block_unref(h->block);
	h->block = b;
	h->cap = cap;
	h->count = keep;
	h->head = cap > 0 ? keep % cap : 0;
}
