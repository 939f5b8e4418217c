/*
 * health: the state module that "decides" (ARCHITECTURE.md). Each transaction result
 * goes through health_update(), which applies Nagios Core semantics: SOFT/HARD state
 * types with max_attempts, flap detection on a 21-entry history with weighted percent
 * state change, and alerts only on HARD changes that are not suppressed by flapping.
 * Endpoints (a registrar, a web service) combine the HARD states of their transactions.
 * Pure bookkeeping: no I/O, no allocation, no clock (the caller passes `now`).
 */
#ifndef CERTPROBE_HEALTH_H
#define CERTPROBE_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transactions/transaction_status.h"

/* Nagios MAX_STATE_HISTORY_ENTRIES: 21 states give 20 transitions. */
#define HEALTH_HISTORY_LEN 21
/* The largest max_attempts a configuration may set (and a state file may hold). */
#define HEALTH_MAX_ATTEMPTS 100

struct health_conf {
	unsigned max_attempts; /* non-OK results in a row before HARD; 0 is read as 1 */
	double flap_low;       /* flapping stops when percent state change <= this */
	double flap_high;      /* flapping starts when percent state change >= this */
	bool flap_detection;   /* false: no history kept, flapping cleared */
};

/* max_attempts 3, flap_low 20.0, flap_high 30.0, flap_detection on (Nagios Core defaults) */
void health_conf_defaults(struct health_conf *c);

enum health_state_type {
	HEALTH_SOFT,
	HEALTH_HARD,
};

/* "SOFT" or "HARD" ("?" for an out-of-range value) */
const char *health_state_type_name(enum health_state_type t);

/*
 * Flap state shared by transactions and endpoints. The history is a ring of recorded
 * states (enum result_class values), oldest first from `next` once it is full.
 */
struct health_flap {
	uint8_t history[HEALTH_HISTORY_LEN];
	uint8_t next;   /* slot the next state goes into */
	uint8_t count;  /* recorded states, up to HEALTH_HISTORY_LEN */
	double percent; /* weighted percent state change of the history, 0..100 */
	bool flapping;
};

/*
 * Health of one transaction (one target, one transaction kind). Zero it or not,
 * health_init() makes it HARD OK with an empty history and nothing notified.
 * Fields are read by exporters; only health_update() writes them.
 */
struct health {
	enum result_class state;      /* current state, SOFT or HARD */
	enum result_class hard_state; /* last HARD state */
	enum health_state_type state_type;
	unsigned attempt;            /* 1 while OK; 1..max_attempts while non-OK */
	enum txn_status last_status; /* status of the latest result */
	enum txn_status hard_status; /* status of the result that made the current HARD state */

	uint64_t last_check;       /* `now` of the latest result; 0 = never checked */
	uint64_t last_change;      /* current state last changed */
	uint64_t last_hard_change; /* HARD state last changed */

	unsigned consecutive_ok;            /* OK results in a row */
	unsigned consecutive_fail;          /* non-OK results in a row */
	uint64_t total[RESULT_UNKNOWN + 1]; /* results seen, indexed by enum result_class */

	struct health_flap flap;
	enum result_class last_notified; /* state of the last notification sent (OK at start) */
	bool notified;                   /* last_notified == hard_state: nothing is pending */
};

/* What one update did, for logs and alert sinks. */
struct health_change {
	bool state_changed; /* current state differs from before */
	bool hard_changed;  /* HARD state differs from before */
	bool notify;        /* a problem or recovery notification is due now */
	bool flap_started;
	bool flap_stopped;
	enum health_state_type type; /* SOFT for soft states and soft recoveries, else HARD */
	enum result_class from;      /* notify: last notified state; else previous current */
	enum result_class to;        /* notify: HARD state now; else current state now */
	unsigned attempt;            /* attempt after this result (endpoints: 0) */
};

void health_init(struct health *h);

/*
 * Feed one transaction result: r is its result class (an out-of-range value counts as
 * UNKNOWN), st its status, now the caller's wall-clock seconds. Returns what changed.
 * - From HARD OK a non-OK result is SOFT, attempt 1; each further non-OK (of any
 *   non-OK class) counts on; at max_attempts the state of that result becomes HARD.
 * - In a HARD non-OK state another non-OK class is a HARD change at once.
 * - OK after SOFT non-OK is a soft recovery (type SOFT, HARD state stays OK); OK after
 *   HARD non-OK is a HARD recovery at once.
 * - HARD states and soft recoveries (not SOFT problems) go into the flap history.
 * - notify is set whenever not flapping and the HARD state differs from last_notified:
 *   HARD changes, recoveries, and once flapping stops, what it held back.
 */
struct health_change health_update(struct health *h, const struct health_conf *c,
                                   enum result_class r, enum txn_status st, uint64_t now);

/*
 * One log line for change c of transaction h, e.g.
 * "transaction enroll: OK -> CRITICAL (scep_failure_bad_request, HARD, attempt 3)".
 * kind and name may be NULL (printed empty). Returns the length the full line needs,
 * like snprintf; buf is always NUL-terminated when len > 0, truncated if too small.
 */
size_t health_change_describe(char *buf, size_t len, const char *kind, const char *name,
                              const struct health *h, const struct health_change *c);

/*
 * Health of an endpoint that several transactions hit. Its state is the worst HARD
 * state of its members in endpoint order OK < WARNING < CRITICAL. A member whose HARD
 * state is UNKNOWN failed on the probe's side (its state directory, a secret, its key;
 * the target was not judged) and is left out: a failure of the probe never degrades the
 * remote endpoint, nor clears what its other results said. Every endpoint state is HARD
 * (its inputs are), so each change is a hard change, with its own flap detection and
 * notifications.
 */
struct health_endpoint {
	enum result_class state;
	enum txn_status status;   /* hard_status of the first member in the worst state */
	unsigned members;         /* members combined in the latest update (probe-side ones not) */
	unsigned members_failing; /* of those, members whose HARD state is not OK */
	uint64_t last_check;
	uint64_t last_change;
	struct health_flap flap;
	enum result_class last_notified;
	bool notified;
};

/*
 * False when h's HARD state is UNKNOWN: a probe-side failure that says nothing about the
 * endpoint (health_endpoint_update() and the endpoint alert's member list skip it).
 */
bool health_judges_endpoint(const struct health *h);

/* HARD OK, no members, empty history, nothing notified. */
void health_endpoint_init(struct health_endpoint *e);

/*
 * Recompute endpoint e from its n member transactions (non-NULL pointers, owned by the
 * caller). Call it after each member's health_update() (or once per round); every call
 * records one state in the endpoint's flap history. No member that judges the endpoint
 * (n == 0, or every one probe-side UNKNOWN) changes nothing and returns an empty change.
 * change.attempt is always 0.
 */
struct health_change health_endpoint_update(struct health_endpoint *e, const struct health_conf *c,
                                            const struct health *const *members, size_t n,
                                            uint64_t now);

/*
 * Like health_change_describe() for an endpoint, e.g.
 * "registrar pool1: OK -> CRITICAL (registrar_auth_rejected, HARD, 2/5 failing)".
 */
size_t health_endpoint_change_describe(char *buf, size_t len, const char *kind, const char *name,
                                       const struct health_endpoint *e,
                                       const struct health_change *c);

#endif
