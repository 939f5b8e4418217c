/*
 * health: SOFT/HARD state, flap detection and notification bookkeeping for transactions
 * and endpoints, following Nagios Core (base/checks.c, base/flapping.c) so that Nagios,
 * Icinga and Prometheus users see the behaviour they know. See health.h for the API.
 */
#include "health/health.h"

#include <stdio.h>
#include <string.h>

/* Nagios Core weights: oldest transition 0.75, newest 1.25, linear in between. */
#define FLAP_WEIGHT_OLDEST 0.75
#define FLAP_WEIGHT_NEWEST 1.25
#define FLAP_TRANSITIONS (HEALTH_HISTORY_LEN - 1)

void health_conf_defaults(struct health_conf *c)
{
	c->max_attempts = 3;
	c->flap_low = 20.0;
	c->flap_high = 30.0;
	c->flap_detection = true;
}

const char *health_state_type_name(enum health_state_type t)
{
	switch (t) {
	case HEALTH_SOFT:
		return "SOFT";
	case HEALTH_HARD:
		return "HARD";
	}
	return "?";
}

/* A result class we do not know is the probe's problem, not the target's. */
static enum result_class result_clamp(enum result_class r)
{
	if ((unsigned)r > RESULT_UNKNOWN)
		return RESULT_UNKNOWN;
	return r;
}

/*
 * Severity for endpoints: UNKNOWN says "the probe could not tell", which must not
 * outrank a CRITICAL another transaction saw, nor raise a registrar to CRITICAL.
 */
static int endpoint_rank(enum result_class r)
{
	switch (r) {
	case RESULT_OK:
		return 0;
	case RESULT_WARNING:
		return 1;
	case RESULT_UNKNOWN:
		return 2;
	case RESULT_CRITICAL:
		return 3;
	}
	return 2;
}

static void flap_reset(struct health_flap *f)
{
	memset(f, 0, sizeof(*f));
}

/* Weight of transition x, 1 (oldest) .. FLAP_TRANSITIONS (newest). */
static double flap_weight(unsigned x)
{
	double step = (FLAP_WEIGHT_NEWEST - FLAP_WEIGHT_OLDEST) / (double)(FLAP_TRANSITIONS - 1);

	return FLAP_WEIGHT_OLDEST + (double)(x - 1) * step;
}

/*
 * Weighted percent state change. Transitions are weighted by their distance from the
 * newest one, which always weighs FLAP_WEIGHT_NEWEST, and the sum is always divided by
 * the full 20 transitions. A short history therefore reads like a full one padded with
 * its first state: no phantom change at start, and a young target needs as many real
 * changes as an old one to count as flapping.
 */
static double flap_percent(const struct health_flap *f)
{
	unsigned oldest = (f->next + HEALTH_HISTORY_LEN - f->count) % HEALTH_HISTORY_LEN;
	double sum = 0.0;

	for (unsigned i = 1; i < f->count; i++) {
		uint8_t before = f->history[(oldest + i - 1) % HEALTH_HISTORY_LEN];
		uint8_t after = f->history[(oldest + i) % HEALTH_HISTORY_LEN];

		if (before != after)
			sum += flap_weight(FLAP_TRANSITIONS - (f->count - 1 - i));
	}
	return sum * 100.0 / (double)FLAP_TRANSITIONS;
}

/*
 * Record state s (when `record`) and re-evaluate flapping. Thresholds are inclusive as
 * in Nagios: start at >= high, stop at <= low, keep the flag in between. With fewer
 * than two states there is no transition yet, so nothing is decided.
 */
static void flap_update(struct health_flap *f, const struct health_conf *c, enum result_class s,
                        bool record, struct health_change *out)
{
	if (!c->flap_detection) {
		/* a stale flag would suppress notifications forever */
		if (f->flapping)
			out->flap_stopped = true;
		flap_reset(f);
		return;
	}
	if (!record)
		return;

	f->history[f->next] = (uint8_t)s;
	f->next = (uint8_t)((f->next + 1) % HEALTH_HISTORY_LEN);
	if (f->count < HEALTH_HISTORY_LEN)
		f->count++;
	f->percent = flap_percent(f);
	if (f->count < 2)
		return;

	if (!f->flapping && f->percent >= c->flap_high) {
		f->flapping = true;
		out->flap_started = true;
	} else if (f->flapping && f->percent <= c->flap_low) {
		f->flapping = false;
		out->flap_stopped = true;
	}
}

/*
 * One rule covers problems, recoveries and the end of flapping: a notification is due
 * whenever we are not flapping and receivers last heard of another state than the HARD
 * one. What flapping suppressed is sent once it stops, unless the state went back to
 * what was last notified; nothing is sent twice.
 */
static void notify_settle(enum result_class hard, const struct health_flap *f,
                          enum result_class *last_notified, bool *notified,
                          struct health_change *out)
{
	if (!f->flapping && hard != *last_notified) {
		out->notify = true;
		out->type = HEALTH_HARD;
		out->from = *last_notified;
		out->to = hard;
		*last_notified = hard;
	}
	*notified = *last_notified == hard;
}

void health_init(struct health *h)
{
	memset(h, 0, sizeof(*h));
	h->state = RESULT_OK;
	h->hard_state = RESULT_OK;
	h->state_type = HEALTH_HARD;
	h->attempt = 1;
	h->last_status = TXN_OK;
	h->hard_status = TXN_OK;
	h->last_notified = RESULT_OK;
	h->notified = true;
}

/* Apply result r to the state machine; returns true for a soft recovery. */
static bool state_step(struct health *h, unsigned max_attempts, enum result_class r,
                       enum txn_status st)
{
	bool soft_recovery = false;

	if (r == RESULT_OK) {
		if (h->state_type == HEALTH_SOFT) {
			soft_recovery = true; /* the HARD state never left OK */
		} else if (h->hard_state != RESULT_OK) {
			h->hard_state = RESULT_OK; /* hard recovery, at once */
			h->hard_status = st;
		}
		h->state = RESULT_OK;
		h->state_type = HEALTH_HARD;
		h->attempt = 1;
		return soft_recovery;
	}

	if (h->state_type == HEALTH_HARD && h->hard_state != RESULT_OK) {
		/* already confirmed: another non-OK state is a HARD change, no retries */
		if (r != h->hard_state) {
			h->hard_state = r;
			h->hard_status = st;
		}
		h->state = r;
		return false;
	}

	/* from HARD OK a problem starts at attempt 1; while SOFT any non-OK counts on */
	h->attempt = h->state_type == HEALTH_SOFT ? h->attempt + 1 : 1;
	h->state = r;
	if (h->attempt >= max_attempts) {
		h->attempt = max_attempts;
		h->state_type = HEALTH_HARD;
		h->hard_state = r;
		h->hard_status = st;
	} else {
		h->state_type = HEALTH_SOFT;
	}
	return false;
}

struct health_change health_update(struct health *h, const struct health_conf *c,
                                   enum result_class r, enum txn_status st, uint64_t now)
{
	struct health_change out = {0};
	unsigned max_attempts = c->max_attempts > 0 ? c->max_attempts : 1;
	enum result_class prev = h->state;
	enum result_class prev_hard = h->hard_state;
	bool soft_recovery;

	r = result_clamp(r);
	h->last_check = now;
	h->last_status = st;
	h->total[r]++;
	if (r == RESULT_OK) {
		h->consecutive_ok++;
		h->consecutive_fail = 0;
	} else {
		h->consecutive_fail++;
		h->consecutive_ok = 0;
	}

	soft_recovery = state_step(h, max_attempts, r, st);

	out.state_changed = h->state != prev;
	out.hard_changed = h->hard_state != prev_hard;
	if (out.state_changed)
		h->last_change = now;
	if (out.hard_changed)
		h->last_hard_change = now;
	out.type = h->state_type == HEALTH_HARD && !soft_recovery ? HEALTH_HARD : HEALTH_SOFT;
	out.attempt = h->attempt;
	out.from = out.hard_changed ? prev_hard : prev;
	out.to = out.hard_changed ? h->hard_state : h->state;

	/* Nagios records HARD states and soft recoveries; a SOFT problem is not a flap yet */
	flap_update(&h->flap, c, h->state, h->state_type == HEALTH_HARD, &out);
	notify_settle(h->hard_state, &h->flap, &h->last_notified, &h->notified, &out);
	return out;
}

void health_endpoint_init(struct health_endpoint *e)
{
	memset(e, 0, sizeof(*e));
	e->state = RESULT_OK;
	e->status = TXN_OK;
	e->last_notified = RESULT_OK;
	e->notified = true;
}

bool health_judges_endpoint(const struct health *h)
{
	return result_clamp(h->hard_state) != RESULT_UNKNOWN;
}

struct health_change health_endpoint_update(struct health_endpoint *e, const struct health_conf *c,
                                            const struct health *const *members, size_t n,
                                            uint64_t now)
{
	struct health_change out = {0};
	enum result_class prev = e->state;
	enum result_class worst;
	enum txn_status status;
	unsigned failing = 0, judged = 0;

	out.type = HEALTH_HARD;
	out.from = prev;
	out.to = prev;
	for (size_t i = 0; i < n; i++)
		if (health_judges_endpoint(members[i]))
			judged++;
	if (judged == 0)
		return out;

	worst = RESULT_OK;
	status = TXN_OK;
	for (size_t i = 0; i < n; i++) {
		enum result_class s = result_clamp(members[i]->hard_state);

		if (!health_judges_endpoint(members[i]))
			continue;
		if (s != RESULT_OK)
			failing++;
		if (endpoint_rank(s) > endpoint_rank(worst)) {
			worst = s;
			status = members[i]->hard_status;
		}
	}

	e->state = worst;
	e->status = status;
	e->members = judged;
	e->members_failing = failing;
	e->last_check = now;
	out.state_changed = worst != prev;
	out.hard_changed = out.state_changed;
	out.to = worst;
	if (out.state_changed)
		e->last_change = now;

	flap_update(&e->flap, c, worst, true, &out);
	notify_settle(worst, &e->flap, &e->last_notified, &e->notified, &out);
	return out;
}

/* "<kind> <name>: FROM -> TO (code, TYPE<detail><flap>)" */
static size_t describe(char *buf, size_t len, const char *kind, const char *name,
                       const struct health_change *c, const char *code, const char *detail,
                       const struct health_flap *f)
{
	char flap[48] = "";
	int n;

	if (c->flap_started)
		snprintf(flap, sizeof(flap), ", flapping started %.1f%%", f->percent);
	else if (c->flap_stopped)
		snprintf(flap, sizeof(flap), ", flapping stopped %.1f%%", f->percent);
	else if (f->flapping)
		snprintf(flap, sizeof(flap), ", flapping %.1f%%", f->percent);

	kind = kind != NULL ? kind : "";
	name = name != NULL ? name : "";
	n = snprintf(buf, len, "%s%s%s: %s -> %s (%s, %s%s%s)", kind,
	             kind[0] != '\0' && name[0] != '\0' ? " " : "", name,
	             result_class_name(c->from), result_class_name(c->to), code,
	             health_state_type_name(c->type), detail, flap);
	if (n < 0) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

size_t health_change_describe(char *buf, size_t len, const char *kind, const char *name,
                              const struct health *h, const struct health_change *c)
{
	char detail[32] = "";
	enum txn_status st = c->notify || c->hard_changed ? h->hard_status : h->last_status;

	if (c->to != RESULT_OK)
		snprintf(detail, sizeof(detail), ", attempt %u", c->attempt);
	return describe(buf, len, kind, name, c, txn_status_code(st), detail, &h->flap);
}

size_t health_endpoint_change_describe(char *buf, size_t len, const char *kind, const char *name,
                                       const struct health_endpoint *e,
                                       const struct health_change *c)
{
	char detail[48] = "";

	if (e->members > 0)
		snprintf(detail, sizeof(detail), ", %u/%u failing", e->members_failing, e->members);
	return describe(buf, len, kind, name, c, txn_status_code(e->status), detail, &e->flap);
}
