/*
 * passive_queue: the results a passive sink (Icinga 2, Nagios) has yet to deliver, the
 * latest per object. A result for an object already queued replaces it (coalesced) and
 * keeps its place; a state change is remembered as one until delivered, even if a
 * refresh replaced its text. Items are handed out oldest first, several may be in
 * flight, and one updated while in flight is delivered again. Bounded: past the cap the
 * oldest item is dropped (counted). Pure bookkeeping: no I/O, no clock.
 */
#ifndef CERTPROBE_PASSIVE_QUEUE_H
#define CERTPROBE_PASSIVE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/sink.h"

struct passive_queue;

/* One queued result: a copy of the sink_result (r's strings point into the item). */
struct passive_item {
	struct sink_result r;
	uint64_t version; /* bumped by every put */
	bool in_flight;
	/* private */
	char *store;
	uint64_t hash;
	struct passive_item *prev, *next, *hnext;
};

/* A queue holding at most cap items (0 = 100000). */
struct passive_queue *passive_queue_new(size_t cap);
/* Frees every item; NULL-safe. */
void passive_queue_free(struct passive_queue *q);

/*
 * Queue r (copied): replaces the queued result of the same object (its changed flag is
 * kept: a change is not lost to a refresh), or appends. Returns the item.
 */
struct passive_item *passive_queue_put(struct passive_queue *q, const struct sink_result *r);

/* The oldest item not in flight, or NULL. */
struct passive_item *passive_queue_next(const struct passive_queue *q);

/* Mark it in flight; returns the version to hand to passive_queue_done(). */
uint64_t passive_queue_begin(struct passive_queue *q, struct passive_item *it);

/*
 * The delivery of it (begun at version) ended. delivered: it leaves the queue, unless a
 * newer result was put meanwhile (then that one is delivered next). Not delivered: it
 * stays where it is for a retry. Either way it is no longer in flight.
 */
void passive_queue_done(struct passive_queue *q, struct passive_item *it, uint64_t version,
                        bool delivered);

/* Take it off the queue and free it (a result the peer rejected). */
void passive_queue_drop(struct passive_queue *q, struct passive_item *it);

/* Visit every queued state change (for the state file). */
typedef void passive_queue_cb(const struct sink_result *r, void *arg);
void passive_queue_foreach_changed(const struct passive_queue *q, passive_queue_cb *cb, void *arg);

size_t passive_queue_len(const struct passive_queue *q);
/* Results replaced by a newer one before delivery, and items dropped at the cap. */
uint64_t passive_queue_coalesced(const struct passive_queue *q);
uint64_t passive_queue_dropped(const struct passive_queue *q);

#endif
