/*
 * passive_queue: a doubly linked FIFO of items and a hash by (object, name) over it
 * (see passive_queue.h). An item's strings live in one block, replaced on every put.
 */
#include "alert/passive_queue.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"

#define PQ_BUCKETS 4096
#define PQ_DEFAULT_CAP 100000

struct passive_queue {
	struct passive_item *buckets[PQ_BUCKETS];
	struct passive_item *head, *tail;
	size_t n, cap;
	uint64_t coalesced, dropped;
};

static uint64_t pq_hash(enum sink_object o, const char *name)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)o;

	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	return h;
}

static struct passive_item *pq_find(const struct passive_queue *q, enum sink_object o,
                                    const char *name, uint64_t h)
{
	struct passive_item *it = q->buckets[h % PQ_BUCKETS];

	while (it != NULL && (it->hash != h || it->r.object != o || strcmp(it->r.name, name) != 0))
		it = it->hnext;
	return it;
}

/* Copy r's strings into one block for it. */
static void pq_store(struct passive_item *it, const struct sink_result *r)
{
	const char *in[5] = {r->name, r->type, r->endpoint, r->output, r->perfdata};
	const char **out[5] = {&it->r.name, &it->r.type, &it->r.endpoint, &it->r.output,
	                       &it->r.perfdata};
	size_t len[5], total = 0;
	char *p, *old = it->store;

	for (size_t i = 0; i < 5; i++) {
		len[i] = strlen(in[i] != NULL ? in[i] : "") + 1;
		total += len[i];
	}
	it->r = *r;
	p = it->store = xmalloc(total);
	for (size_t i = 0; i < 5; i++) {
		memcpy(p, in[i] != NULL ? in[i] : "", len[i]);
		*out[i] = p;
		p += len[i];
	}
	free(old); /* last: r may point into it */
}

static void pq_unlink(struct passive_queue *q, struct passive_item *it)
{
	struct passive_item **pp = &q->buckets[it->hash % PQ_BUCKETS];

	while (*pp != it)
		pp = &(*pp)->hnext;
	*pp = it->hnext;
	if (it->prev != NULL)
		it->prev->next = it->next;
	else
		q->head = it->next;
	if (it->next != NULL)
		it->next->prev = it->prev;
	else
		q->tail = it->prev;
	q->n--;
}

static void pq_item_free(struct passive_item *it)
{
	free(it->store);
	free(it);
}

struct passive_queue *passive_queue_new(size_t cap)
{
	struct passive_queue *q = xcalloc(1, sizeof *q);

	q->cap = cap > 0 ? cap : PQ_DEFAULT_CAP;
	return q;
}

void passive_queue_free(struct passive_queue *q)
{
	if (q == NULL)
		return;
	while (q->head != NULL) {
		struct passive_item *it = q->head;
		q->head = it->next;
		pq_item_free(it);
	}
	free(q);
}

struct passive_item *passive_queue_put(struct passive_queue *q, const struct sink_result *r)
{
	uint64_t h = pq_hash(r->object, r->name);
	struct passive_item *it = pq_find(q, r->object, r->name, h);

	if (it != NULL) {
		bool changed = it->r.changed || r->changed;
		q->coalesced++;
		pq_store(it, r);
		it->r.changed = changed;
		it->version++;
		return it;
	}
	/* the oldest item not in flight makes room (an in-flight one is freed by its done) */
	if (q->n >= q->cap) {
		struct passive_item *old = q->head;
		while (old != NULL && old->in_flight)
			old = old->next;
		if (old != NULL) {
			log_warn(
			    "passive: more than %zu results waiting, dropping the oldest (%s %s)",
			    q->cap, sink_object_name(old->r.object), old->r.name);
			pq_unlink(q, old);
			pq_item_free(old);
			q->dropped++;
		}
	}
	it = xcalloc(1, sizeof *it);
	pq_store(it, r);
	it->hash = h;
	it->hnext = q->buckets[h % PQ_BUCKETS];
	q->buckets[h % PQ_BUCKETS] = it;
	it->prev = q->tail;
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->n++;
	return it;
}

struct passive_item *passive_queue_next(const struct passive_queue *q)
{
	struct passive_item *it = q->head;

	while (it != NULL && it->in_flight)
		it = it->next;
	return it;
}

uint64_t passive_queue_begin(struct passive_queue *q, struct passive_item *it)
{
	(void)q;
	it->in_flight = true;
	return it->version;
}

void passive_queue_done(struct passive_queue *q, struct passive_item *it, uint64_t version,
                        bool delivered)
{
	it->in_flight = false;
	if (!delivered || it->version != version)
		return;
	pq_unlink(q, it);
	pq_item_free(it);
}

void passive_queue_drop(struct passive_queue *q, struct passive_item *it)
{
	pq_unlink(q, it);
	pq_item_free(it);
}

void passive_queue_foreach_changed(const struct passive_queue *q, passive_queue_cb *cb, void *arg)
{
	for (const struct passive_item *it = q->head; it != NULL; it = it->next)
		if (it->r.changed)
			cb(&it->r, arg);
}

size_t passive_queue_len(const struct passive_queue *q)
{
	return q->n;
}

uint64_t passive_queue_coalesced(const struct passive_queue *q)
{
	return q->coalesced;
}

uint64_t passive_queue_dropped(const struct passive_queue *q)
{
	return q->dropped;
}
