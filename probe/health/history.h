/*
 * history: a bounded ring of a transaction's recent results (end time, result class,
 * status, duration, protocol code, per-step durations), newest replacing oldest. The
 * daemon keeps one per transaction; the snapshot hands a copy to readers (the SNMP
 * history table, a status page). Entries are numbered 1, 2, ... (wrapping to 1 after
 * 0xffffffff, as DISMAN-PING-MIB's pingProbeHistoryIndex does) so a reader can tell new
 * entries from old ones. Plain data: no I/O, no clock, no locking (one writer; readers
 * get a history_copy()).
 */
#ifndef CERTPROBE_HISTORY_H
#define CERTPROBE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "transactions/transaction.h"

/* Largest ring a configuration may ask for (probe.history). */
#define HISTORY_MAX_CAPACITY 1000
/* Steps kept per entry: same-named steps are summed; past this many, the rest are dropped. */
#define HISTORY_MAX_STEPS 8

struct history_step {
	const char *name; /* static step name (txn_step_record.name); NULL = slot unused */
	uint32_t duration_us;
};

struct history_entry {
	uint32_t index;        /* 1..0xffffffff, assigned by history_add() */
	int64_t end;           /* Unix seconds the run ended */
	uint64_t duration_us;  /* the whole run */
	uint16_t status;       /* enum txn_status: the reason of its result class */
	uint8_t result;        /* enum result_class */
	uint8_t n_steps;       /* used slots of steps */
	int32_t protocol_code; /* SIP or HTTP status code of the last answer; 0 = none */
	struct history_step steps[HISTORY_MAX_STEPS];
};

struct history;

/* A ring holding the last cap entries (cap is clamped to HISTORY_MAX_CAPACITY; 0 keeps none). */
struct history *history_new(size_t cap);
/* NULL-safe. */
void history_free(struct history *h);

/* Append e (copied; its index is ignored and assigned); the oldest entry goes when full. */
void history_add(struct history *h, const struct history_entry *e);
/*
 * Fill *e from a finished result: duration, result class, reason (txn_result_reason),
 * steps summed by name. end and protocol_code are the caller's; index is left 0.
 */
void history_entry_from_result(struct history_entry *e, const struct txn_result *r, int64_t end,
                               int32_t protocol_code);

/* Entries held now (<= capacity), and entry i of them, 0 = oldest; NULL past the end. */
size_t history_count(const struct history *h);
size_t history_capacity(const struct history *h);
const struct history_entry *history_get(const struct history *h, size_t i);

/*
 * An independent copy (the caller frees it with history_free); NULL for NULL. Cheap: it
 * shares h's entries until either side adds one (copy on write; the count is atomic,
 * so the copy may be read and freed on another thread). Make copies on the thread
 * that writes h.
 */
struct history *history_copy(const struct history *h);
/*
 * Change h's capacity in place, keeping the newest entries and the numbering (a reload
 * that changed probe.history).
 */
void history_resize(struct history *h, size_t cap);

#endif
