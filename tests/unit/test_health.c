/*
 * test_health: Nagios Core semantics of the health module. SOFT/HARD with max_attempts,
 * soft and hard recoveries, changes between non-OK states, the weighted percent state
 * change on known sequences, flapping suppressing and then releasing notifications,
 * endpoints as worst-of with probe-side UNKNOWN members left out, and the log line text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "health/health.h"

#define T0 1700000000u

static struct health_conf conf_attempts(unsigned max_attempts)
{
	struct health_conf c;

	health_conf_defaults(&c);
	c.max_attempts = max_attempts;
	return c;
}

static void assert_near(double got, double want)
{
	double d = got - want;

	if (d < -1e-9 || d > 1e-9)
		fail_msg("got %.12f, want %.12f", got, want);
}

/* One result with the status a real transaction would report for that class. */
static struct health_change feed(struct health *h, const struct health_conf *c, enum result_class r,
                                 uint64_t now)
{
	static const enum txn_status status_of[] = {
	    [RESULT_OK] = TXN_OK,
	    [RESULT_WARNING] = TXN_TLS_CERT_EXPIRING,
	    [RESULT_CRITICAL] = TXN_REGISTRAR_AUTH_REJECTED,
	    [RESULT_UNKNOWN] = TXN_PROBE_INTERNAL,
	};
	return health_update(h, c, r, status_of[r], now);
}

static void test_defaults_and_init(void **state)
{
	struct health_conf c;
	struct health h;

	(void)state;
	health_conf_defaults(&c);
	assert_int_equal(c.max_attempts, 3);
	assert_near(c.flap_low, 20.0);
	assert_near(c.flap_high, 30.0);
	assert_true(c.flap_detection);

	memset(&h, 0xa5, sizeof(h));
	health_init(&h);
	assert_int_equal(h.state, RESULT_OK);
	assert_int_equal(h.hard_state, RESULT_OK);
	assert_int_equal(h.state_type, HEALTH_HARD);
	assert_int_equal(h.attempt, 1);
	assert_int_equal(h.last_notified, RESULT_OK);
	assert_true(h.notified);
	assert_int_equal(h.flap.count, 0);
	assert_false(h.flap.flapping);
	assert_int_equal(h.last_check, 0);

	assert_string_equal(health_state_type_name(HEALTH_SOFT), "SOFT");
	assert_string_equal(health_state_type_name(HEALTH_HARD), "HARD");
	assert_string_equal(health_state_type_name((enum health_state_type)7), "?");
}

static void test_soft_to_hard_after_three_attempts(void **state)
{
	struct health_conf c = conf_attempts(3);
	struct health h;
	struct health_change ch;

	(void)state;
	health_init(&h);

	ch = feed(&h, &c, RESULT_CRITICAL, T0);
	assert_true(ch.state_changed);
	assert_false(ch.hard_changed);
	assert_false(ch.notify);
	assert_int_equal(ch.type, HEALTH_SOFT);
	assert_int_equal(ch.attempt, 1);
	assert_int_equal(ch.from, RESULT_OK);
	assert_int_equal(ch.to, RESULT_CRITICAL);
	assert_int_equal(h.state_type, HEALTH_SOFT);
	assert_int_equal(h.hard_state, RESULT_OK);
	assert_int_equal(h.last_change, T0);

	ch = feed(&h, &c, RESULT_CRITICAL, T0 + 60);
	assert_false(ch.state_changed);
	assert_false(ch.hard_changed);
	assert_false(ch.notify);
	assert_int_equal(ch.attempt, 2);
	assert_int_equal(h.last_change, T0);

	ch = feed(&h, &c, RESULT_CRITICAL, T0 + 120);
	assert_false(ch.state_changed);
	assert_true(ch.hard_changed);
	assert_true(ch.notify);
	assert_int_equal(ch.type, HEALTH_HARD);
	assert_int_equal(ch.attempt, 3);
	assert_int_equal(ch.from, RESULT_OK);
	assert_int_equal(ch.to, RESULT_CRITICAL);
	assert_int_equal(h.state_type, HEALTH_HARD);
	assert_int_equal(h.hard_state, RESULT_CRITICAL);
	assert_int_equal(h.hard_status, TXN_REGISTRAR_AUTH_REJECTED);
	assert_int_equal(h.last_hard_change, T0 + 120);
	assert_int_equal(h.last_change, T0);
	assert_int_equal(h.last_notified, RESULT_CRITICAL);
	assert_true(h.notified);

	/* staying HARD CRITICAL: no re-notification, attempt stays at max */
	ch = feed(&h, &c, RESULT_CRITICAL, T0 + 180);
	assert_false(ch.state_changed);
	assert_false(ch.hard_changed);
	assert_false(ch.notify);
	assert_int_equal(ch.attempt, 3);
	assert_int_equal(h.last_hard_change, T0 + 120);
}

static void test_max_attempts_one_is_hard_at_once(void **state)
{
	struct health_conf c = conf_attempts(1);
	struct health h;
	struct health_change ch;

	(void)state;
	health_init(&h);
	ch = feed(&h, &c, RESULT_CRITICAL, T0);
	assert_true(ch.state_changed);
	assert_true(ch.hard_changed);
	assert_true(ch.notify);
	assert_int_equal(ch.type, HEALTH_HARD);
	assert_int_equal(ch.attempt, 1);
	assert_int_equal(h.state_type, HEALTH_HARD);

	/* 0 is read as 1 rather than "never HARD" */
	c.max_attempts = 0;
	health_init(&h);
	ch = feed(&h, &c, RESULT_WARNING, T0);
	assert_true(ch.notify);
	assert_int_equal(h.hard_state, RESULT_WARNING);
	assert_int_equal(h.attempt, 1);
}

static void test_soft_recovery_does_not_notify(void **state)
{
	struct health_conf c = conf_attempts(3);
	struct health h;
	struct health_change ch;

	(void)state;
	health_init(&h);
	feed(&h, &c, RESULT_CRITICAL, T0);
	feed(&h, &c, RESULT_CRITICAL, T0 + 60);
	ch = feed(&h, &c, RESULT_OK, T0 + 120);
	assert_true(ch.state_changed);
	assert_false(ch.hard_changed);
	assert_false(ch.notify);
	assert_int_equal(ch.type, HEALTH_SOFT);
	assert_int_equal(ch.from, RESULT_CRITICAL);
	assert_int_equal(ch.to, RESULT_OK);
	assert_int_equal(h.state, RESULT_OK);
	assert_int_equal(h.state_type, HEALTH_HARD);
	assert_int_equal(h.attempt, 1);
	assert_int_equal(h.last_notified, RESULT_OK);
	assert_int_equal(h.last_hard_change, 0);
	/* SOFT problems are not recorded for flap detection, the soft recovery is */
	assert_int_equal(h.flap.count, 1);

	/* the next problem starts counting from 1 again */
	ch = feed(&h, &c, RESULT_CRITICAL, T0 + 180);
	assert_int_equal(ch.attempt, 1);
	assert_int_equal(ch.type, HEALTH_SOFT);
}

static void test_hard_recovery_notifies(void **state)
{
	struct health_conf c = conf_attempts(3);
	struct health h;
	struct health_change ch;

	(void)state;
	health_init(&h);
	for (unsigned i = 0; i < 3; i++)
		feed(&h, &c, RESULT_CRITICAL, T0 + 60 * i);
	ch = feed(&h, &c, RESULT_OK, T0 + 600);
	assert_true(ch.state_changed);
	assert_true(ch.hard_changed);
	assert_true(ch.notify);
	assert_int_equal(ch.type, HEALTH_HARD);
	assert_int_equal(ch.from, RESULT_CRITICAL);
	assert_int_equal(ch.to, RESULT_OK);
	assert_int_equal(ch.attempt, 1);
	assert_int_equal(h.hard_state, RESULT_OK);
	assert_int_equal(h.hard_status, TXN_OK);
	assert_int_equal(h.last_hard_change, T0 + 600);
	assert_int_equal(h.last_notified, RESULT_OK);

	ch = feed(&h, &c, RESULT_OK, T0 + 660);
	assert_false(ch.state_changed);
	assert_false(ch.notify);
}

static void test_warning_to_critical_while_hard_notifies(void **state)
{
	struct health_conf c = conf_attempts(3);
	struct health h;
	struct health_change ch;

	(void)state;
	health_init(&h);
	for (unsigned i = 0; i < 3; i++)
		ch = feed(&h, &c, RESULT_WARNING, T0 + i);
	assert_true(ch.notify);
	assert_int_equal(h.hard_state, RESULT_WARNING);
	assert_int_equal(h.hard_status, TXN_TLS_CERT_EXPIRING);

	ch = feed(&h, &c, RESULT_CRITICAL, T0 + 10);
	assert_true(ch.state_changed);
	assert_true(ch.hard_changed);
	assert_true(ch.notify);
	assert_int_equal(ch.type, HEALTH_HARD);
	assert_int_equal(ch.from, RESULT_WARNING);
	assert_int_equal(ch.to, RESULT_CRITICAL);
	assert_int_equal(ch.attempt, 3);
	assert_int_equal(h.hard_status, TXN_REGISTRAR_AUTH_REJECTED);
	assert_int_equal(h.last_hard_change, T0 + 10);

	ch = feed(&h, &c, RESULT_WARNING, T0 + 20);
	assert_true(ch.notify);
	assert_int_equal(ch.from, RESULT_CRITICAL);
	assert_int_equal(ch.to, RESULT_WARNING);
}

static void test_change_while_soft_keeps_counting(void **state)
{
	struct health_conf c = conf_attempts(3);
	struct health h;
	struct health_change ch;

	(void)state;
	health_init(&h);
	feed(&h, &c, RESULT_WARNING, T0);
	ch = feed(&h, &c, RESULT_CRITICAL, T0 + 60);
	assert_true(ch.state_changed);
	assert_false(ch.hard_changed);
	assert_false(ch.notify);
	assert_int_equal(ch.type, HEALTH_SOFT);
	assert_int_equal(ch.attempt, 2);
	assert_int_equal(ch.from, RESULT_WARNING);
	assert_int_equal(ch.to, RESULT_CRITICAL);
	assert_int_equal(h.last_change, T0 + 60);

	/* the third non-OK makes the state of that result HARD */
	ch = feed(&h, &c, RESULT_WARNING, T0 + 120);
	assert_true(ch.hard_changed);
	assert_true(ch.notify);
	assert_int_equal(ch.attempt, 3);
	assert_int_equal(ch.from, RESULT_OK);
	assert_int_equal(ch.to, RESULT_WARNING);
	assert_int_equal(h.hard_state, RESULT_WARNING);
}

static void test_unknown_handling(void **state)
{
	struct health_conf c = conf_attempts(3);
	struct health h;
	struct health_change ch;

	(void)state;
	health_init(&h);
	/* UNKNOWN is a problem state like any other and counts attempts */
	feed(&h, &c, RESULT_CRITICAL, T0);
	feed(&h, &c, RESULT_UNKNOWN, T0 + 1);
	ch = feed(&h, &c, RESULT_UNKNOWN, T0 + 2);
	assert_true(ch.notify);
	assert_int_equal(ch.to, RESULT_UNKNOWN);
	assert_int_equal(h.hard_status, TXN_PROBE_INTERNAL);

	/* an out-of-range result class counts as UNKNOWN, not as OK */
	ch = health_update(&h, &c, (enum result_class)9, TXN_PROBE_INTERNAL, T0 + 3);
	assert_false(ch.state_changed);
	assert_false(ch.notify);
	assert_int_equal(h.state, RESULT_UNKNOWN);
	assert_int_equal(h.total[RESULT_UNKNOWN], 3);

	ch = feed(&h, &c, RESULT_CRITICAL, T0 + 4);
	assert_true(ch.hard_changed);
	assert_true(ch.notify);
	assert_int_equal(ch.from, RESULT_UNKNOWN);
	assert_int_equal(ch.to, RESULT_CRITICAL);
}

static void test_counters_and_times(void **state)
{
	struct health_conf c = conf_attempts(3);
	struct health h;

	(void)state;
	health_init(&h);
	feed(&h, &c, RESULT_OK, T0);
	feed(&h, &c, RESULT_OK, T0 + 1);
	assert_int_equal(h.consecutive_ok, 2);
	assert_int_equal(h.consecutive_fail, 0);
	assert_int_equal(h.last_change, 0); /* still the initial OK */

	feed(&h, &c, RESULT_WARNING, T0 + 2);
	health_update(&h, &c, RESULT_CRITICAL, TXN_TIMEOUT, T0 + 3);
	assert_int_equal(h.consecutive_ok, 0);
	assert_int_equal(h.consecutive_fail, 2);
	assert_int_equal(h.last_status, TXN_TIMEOUT);
	assert_int_equal(h.last_check, T0 + 3);
	assert_int_equal(h.last_change, T0 + 3);

	feed(&h, &c, RESULT_OK, T0 + 4);
	assert_int_equal(h.consecutive_ok, 1);
	assert_int_equal(h.consecutive_fail, 0);
	assert_int_equal(h.total[RESULT_OK], 3);
	assert_int_equal(h.total[RESULT_WARNING], 1);
	assert_int_equal(h.total[RESULT_CRITICAL], 1);
	assert_int_equal(h.total[RESULT_UNKNOWN], 0);
	assert_int_equal(h.last_status, TXN_OK);
}

/* Feed a sequence with max_attempts 1 (every state HARD, so every state recorded). */
static void feed_seq(struct health *h, const char *seq)
{
	struct health_conf c = conf_attempts(1);

	for (size_t i = 0; seq[i] != '\0'; i++)
		feed(h, &c, seq[i] == 'C' ? RESULT_CRITICAL : RESULT_OK, T0 + i);
}

static void test_percent_state_change_values(void **state)
{
	struct health h;

	(void)state;
	/* 21 alternating: all 20 transitions change, weights average 1.0 */
	health_init(&h);
	feed_seq(&h, "COCOCOCOCOCOCOCOCOCOC");
	assert_int_equal(h.flap.count, 21);
	assert_near(h.flap.percent, 100.0);

	/* one change at the newest position: 1.25 / 20 * 100 */
	health_init(&h);
	feed_seq(&h, "OOOOOOOOOOOOOOOOOOOOC");
	assert_near(h.flap.percent, 6.25);

	/* one change at the oldest position: 0.75 / 20 * 100 */
	health_init(&h);
	feed_seq(&h, "COOOOOOOOOOOOOOOOOOOO");
	assert_near(h.flap.percent, 3.75);

	/* ... and it leaves the window with the next result */
	feed_seq(&h, "O");
	assert_near(h.flap.percent, 0.0);

	/* a young history weighs its newest transition 1.25 and still divides by 20 */
	health_init(&h);
	feed_seq(&h, "O");
	assert_near(h.flap.percent, 0.0);
	feed_seq(&h, "C");
	assert_int_equal(h.flap.count, 2);
	assert_near(h.flap.percent, 6.25);

	/* two changes: newest 1.25 plus the one before, 0.75 + 18 * 0.5 / 19 */
	health_init(&h);
	feed_seq(&h, "OCO");
	assert_near(h.flap.percent, (1.25 + 0.75 + 18.0 * 0.5 / 19.0) * 100.0 / 20.0);

	/* the ring wraps: 30 steady results after a storm read 0% */
	health_init(&h);
	feed_seq(&h, "COCOCOCOCOCOOOOOOOOOOOOOOOOOOOOOOOOOOOOO");
	assert_int_equal(h.flap.count, 21);
	assert_near(h.flap.percent, 0.0);
}

static void test_flap_thresholds_inclusive(void **state)
{
	struct health_conf c = conf_attempts(1);
	struct health h;
	struct health_change ch;

	(void)state;
	c.flap_high = 6.25;
	c.flap_low = 3.75;
	health_init(&h);
	ch = feed(&h, &c, RESULT_OK, T0);
	assert_false(ch.flap_started); /* one state, nothing to judge */
	ch = feed(&h, &c, RESULT_CRITICAL, T0 + 1);
	assert_true(ch.flap_started); /* exactly 6.25 >= high */
	assert_false(ch.notify);      /* the change that starts flapping is suppressed */
	assert_true(h.flap.flapping);
	assert_false(h.notified);

	/* OCCCC...: the single change ages to the oldest slot, 3.75 <= low */
	for (unsigned i = 0; i < 18; i++) {
		ch = feed(&h, &c, RESULT_CRITICAL, T0 + 2 + i);
		assert_false(ch.flap_stopped);
	}
	ch = feed(&h, &c, RESULT_CRITICAL, T0 + 20);
	assert_near(h.flap.percent, 3.75);
	assert_true(ch.flap_stopped);
	assert_true(ch.notify);
	assert_int_equal(ch.from, RESULT_OK);
	assert_int_equal(ch.to, RESULT_CRITICAL);
}

/*
 * Alternating OK/CRITICAL at max_attempts 1. Percentages: C 0, O 6.25, C 12.37,
 * O 18.36, C 24.21, O 29.93, C 35.53 (>= 30: flapping), ...
 */
static void test_flapping_suppresses_then_stops_quietly(void **state)
{
	struct health_conf c = conf_attempts(1);
	struct health h;
	struct health_change ch;
	const char *seq = "COCOCOCOCO";
	unsigned notifies = 0;

	(void)state;
	health_init(&h);
	for (unsigned i = 0; seq[i] != '\0'; i++) {
		enum result_class r = seq[i] == 'C' ? RESULT_CRITICAL : RESULT_OK;

		ch = feed(&h, &c, r, T0 + i);
		assert_true(ch.hard_changed);
		if (i < 6) {
			assert_true(ch.notify);
			assert_false(h.flap.flapping);
		} else {
			assert_false(ch.notify);
			assert_true(h.flap.flapping);
		}
		assert_true(ch.flap_started == (i == 6));
		notifies += ch.notify;
	}
	assert_int_equal(notifies, 6);
	/* the last notification told OK; the hard state is OK again: nothing pending */
	assert_int_equal(h.last_notified, RESULT_OK);
	assert_int_equal(h.hard_state, RESULT_OK);
	assert_true(h.notified);

	/* steady OK: flapping stops, but OK was already notified, so no stale alert */
	unsigned stopped_at = 0;
	for (unsigned i = 0; i < 30; i++) {
		ch = feed(&h, &c, RESULT_OK, T0 + 100 + i);
		assert_false(ch.notify);
		assert_false(ch.flap_started);
		if (ch.flap_stopped)
			stopped_at = i + 1;
	}
	assert_int_equal(stopped_at, 16);
	assert_false(h.flap.flapping);
	assert_near(h.flap.percent, 0.0);
}

static void test_flapping_stop_sends_due_notification_once(void **state)
{
	struct health_conf c = conf_attempts(1);
	struct health h;
	struct health_change ch;
	unsigned notifies = 0;

	(void)state;
	health_init(&h);
	feed_seq(&h, "COCOCOCOCO");
	assert_true(h.flap.flapping);
	assert_int_equal(h.last_notified, RESULT_OK);

	/* settles in CRITICAL: suppressed now, due once flapping stops */
	ch = feed(&h, &c, RESULT_CRITICAL, T0 + 100);
	assert_true(ch.hard_changed);
	assert_false(ch.notify);
	assert_false(h.notified);

	for (unsigned i = 1; i < 40; i++) {
		ch = feed(&h, &c, RESULT_CRITICAL, T0 + 100 + i);
		if (ch.notify) {
			notifies++;
			assert_true(ch.flap_stopped);
			assert_int_equal(ch.type, HEALTH_HARD);
			assert_int_equal(ch.from, RESULT_OK);
			assert_int_equal(ch.to, RESULT_CRITICAL);
		}
	}
	assert_int_equal(notifies, 1);
	assert_false(h.flap.flapping);
	assert_int_equal(h.last_notified, RESULT_CRITICAL);
	assert_true(h.notified);

	/* and the recovery after that is an ordinary notification */
	ch = feed(&h, &c, RESULT_OK, T0 + 200);
	assert_true(ch.notify);
	assert_int_equal(ch.from, RESULT_CRITICAL);
}

static void test_flap_detection_off(void **state)
{
	struct health_conf c = conf_attempts(1);
	struct health h;
	struct health_change ch;

	(void)state;
	health_init(&h);
	feed_seq(&h, "COCOCOCOCOC");
	assert_true(h.flap.flapping);
	assert_int_equal(h.last_notified, RESULT_OK);
	assert_int_equal(h.hard_state, RESULT_CRITICAL);

	/* switching it off clears flapping and releases what it held back */
	c.flap_detection = false;
	ch = feed(&h, &c, RESULT_CRITICAL, T0 + 100);
	assert_true(ch.flap_stopped);
	assert_true(ch.notify);
	assert_int_equal(ch.to, RESULT_CRITICAL);
	assert_int_equal(h.flap.count, 0);

	ch = feed(&h, &c, RESULT_OK, T0 + 101);
	assert_true(ch.notify);
	assert_false(ch.flap_stopped);
	assert_int_equal(h.flap.count, 0);
	assert_near(h.flap.percent, 0.0);
}

static void test_endpoint_worst_of(void **state)
{
	struct health_conf c1 = conf_attempts(1);
	struct health_conf c3 = conf_attempts(3);
	struct health a, b, d;
	const struct health *members[] = {&a, &b, &d};
	struct health_endpoint e;
	struct health_change ch;

	(void)state;
	health_init(&a);
	health_init(&b);
	health_init(&d);
	health_endpoint_init(&e);

	ch = health_endpoint_update(&e, &c3, members, 3, T0);
	assert_false(ch.state_changed);
	assert_false(ch.notify);
	assert_int_equal(e.state, RESULT_OK);
	assert_int_equal(e.members, 3);
	assert_int_equal(e.members_failing, 0);

	/* a SOFT member problem does not reach the endpoint */
	feed(&a, &c3, RESULT_CRITICAL, T0 + 1);
	ch = health_endpoint_update(&e, &c3, members, 3, T0 + 1);
	assert_false(ch.state_changed);
	assert_int_equal(e.state, RESULT_OK);

	/* a probe-side UNKNOWN is the probe's failure: the endpoint is not judged by it */
	feed(&b, &c1, RESULT_UNKNOWN, T0 + 2);
	ch = health_endpoint_update(&e, &c3, members, 3, T0 + 2);
	assert_false(ch.state_changed);
	assert_false(ch.notify);
	assert_int_equal(e.state, RESULT_OK);
	assert_int_equal(e.members, 2);
	assert_int_equal(e.members_failing, 0);

	/* a judged member's WARNING is the endpoint's */
	feed(&d, &c1, RESULT_WARNING, T0 + 3);
	ch = health_endpoint_update(&e, &c3, members, 3, T0 + 3);
	assert_true(ch.state_changed);
	assert_true(ch.notify);
	assert_int_equal(ch.type, HEALTH_HARD);
	assert_int_equal(ch.attempt, 0);
	assert_int_equal(ch.to, RESULT_WARNING);
	assert_int_equal(e.status, TXN_TLS_CERT_EXPIRING);
	assert_int_equal(e.last_change, T0 + 3);
	assert_int_equal(e.members_failing, 1);

	/* CRITICAL outranks WARNING; the status is the critical member's */
	health_update(&a, &c3, RESULT_CRITICAL, TXN_REGISTRAR_UNAVAILABLE, T0 + 4);
	health_update(&a, &c3, RESULT_CRITICAL, TXN_REGISTRAR_UNAVAILABLE, T0 + 5);
	ch = health_endpoint_update(&e, &c3, members, 3, T0 + 5);
	assert_true(ch.notify);
	assert_int_equal(ch.from, RESULT_WARNING);
	assert_int_equal(ch.to, RESULT_CRITICAL);
	assert_int_equal(e.status, TXN_REGISTRAR_UNAVAILABLE);
	assert_int_equal(e.members_failing, 2);

	/* all recover: endpoint recovery notification */
	feed(&a, &c3, RESULT_OK, T0 + 6);
	feed(&b, &c3, RESULT_OK, T0 + 6);
	feed(&d, &c3, RESULT_OK, T0 + 6);
	ch = health_endpoint_update(&e, &c3, members, 3, T0 + 6);
	assert_true(ch.notify);
	assert_int_equal(ch.from, RESULT_CRITICAL);
	assert_int_equal(ch.to, RESULT_OK);
	assert_int_equal(e.status, TXN_OK);
	assert_int_equal(e.members_failing, 0);

	/* no members: nothing to combine, nothing changes */
	ch = health_endpoint_update(&e, &c3, members, 0, T0 + 7);
	assert_false(ch.state_changed);
	assert_false(ch.notify);
	assert_int_equal(e.members, 3);
	assert_int_equal(e.last_check, T0 + 6);
}

/*
 * Every member failing on the probe's side (a full or read-only state directory): the
 * endpoint keeps what its own results said, neither degraded nor cleared.
 */
static void test_endpoint_probe_side(void **state)
{
	struct health_conf c = conf_attempts(1);
	struct health m;
	const struct health *members[] = {&m};
	struct health_endpoint e;
	struct health_change ch;

	(void)state;
	health_init(&m);
	health_endpoint_init(&e);
	health_update(&m, &c, RESULT_OK, TXN_OK, T0);
	health_endpoint_update(&e, &c, members, 1, T0);
	health_update(&m, &c, RESULT_UNKNOWN, TXN_PROBE_STATE_WRITE, T0 + 1);
	assert_false(health_judges_endpoint(&m));
	ch = health_endpoint_update(&e, &c, members, 1, T0 + 1);
	assert_false(ch.state_changed);
	assert_false(ch.notify);
	assert_int_equal(e.state, RESULT_OK);
	assert_int_equal(e.last_check, T0);

	health_update(&m, &c, RESULT_CRITICAL, TXN_SCEP_FAILURE_BAD_REQUEST, T0 + 2);
	ch = health_endpoint_update(&e, &c, members, 1, T0 + 2);
	assert_true(ch.notify);
	assert_int_equal(e.state, RESULT_CRITICAL);
	health_update(&m, &c, RESULT_UNKNOWN, TXN_PROBE_STATE_WRITE, T0 + 3);
	ch = health_endpoint_update(&e, &c, members, 1, T0 + 3);
	assert_false(ch.state_changed);
	assert_false(ch.notify);
	assert_int_equal(e.state, RESULT_CRITICAL);
	assert_int_equal(e.status, TXN_SCEP_FAILURE_BAD_REQUEST);
}

static void test_endpoint_flapping(void **state)
{
	struct health_conf c = conf_attempts(1);
	struct health m;
	const struct health *members[] = {&m};
	struct health_endpoint e;
	struct health_change ch;
	const char *seq = "COCOCOCOCO";

	(void)state;
	health_init(&m);
	health_endpoint_init(&e);
	for (unsigned i = 0; seq[i] != '\0'; i++) {
		feed(&m, &c, seq[i] == 'C' ? RESULT_CRITICAL : RESULT_OK, T0 + i);
		ch = health_endpoint_update(&e, &c, members, 1, T0 + i);
		assert_true(ch.notify == (i < 6));
		assert_true(ch.flap_started == (i == 6));
	}
	assert_true(e.flap.flapping);
	assert_int_equal(e.flap.count, 10);
}

static void test_describe_transaction(void **state)
{
	struct health_conf c = conf_attempts(3);
	struct health h;
	struct health_change ch;
	char buf[160];
	size_t n;

	(void)state;
	health_init(&h);
	ch = feed(&h, &c, RESULT_CRITICAL, T0);
	n = health_change_describe(buf, sizeof(buf), "registrar", "pool1", &h, &ch);
	assert_string_equal(buf, "registrar pool1: OK -> CRITICAL (registrar_auth_rejected, SOFT, "
	                         "attempt 1)");
	assert_int_equal(n, strlen(buf));

	feed(&h, &c, RESULT_CRITICAL, T0 + 1);
	ch = feed(&h, &c, RESULT_CRITICAL, T0 + 2);
	health_change_describe(buf, sizeof(buf), "registrar", "pool1", &h, &ch);
	assert_string_equal(buf, "registrar pool1: OK -> CRITICAL (registrar_auth_rejected, HARD, "
	                         "attempt 3)");

	ch = feed(&h, &c, RESULT_OK, T0 + 3);
	health_change_describe(buf, sizeof(buf), "registrar", "pool1", &h, &ch);
	assert_string_equal(buf, "registrar pool1: CRITICAL -> OK (ok, HARD)");

	/* truncation: returns the full length, buffer stays terminated */
	n = health_change_describe(buf, 10, "registrar", "pool1", &h, &ch);
	assert_int_equal(n, strlen("registrar pool1: CRITICAL -> OK (ok, HARD)"));
	assert_string_equal(buf, "registrar");
	assert_int_equal(health_change_describe(NULL, 0, "registrar", "pool1", &h, &ch), n);

	/* NULL kind: just the name */
	health_change_describe(buf, sizeof(buf), NULL, "enroll", &h, &ch);
	assert_string_equal(buf, "enroll: CRITICAL -> OK (ok, HARD)");

	/* flapping shows up in the line */
	c.max_attempts = 1;
	health_init(&h);
	feed_seq(&h, "COCOCO");
	ch = feed(&h, &c, RESULT_CRITICAL, T0 + 50);
	assert_true(ch.flap_started);
	health_change_describe(buf, sizeof(buf), "transaction", "enroll", &h, &ch);
	assert_string_equal(buf, "transaction enroll: OK -> CRITICAL (registrar_auth_rejected, "
	                         "HARD, attempt 1, flapping started 35.5%)");
	ch = feed(&h, &c, RESULT_OK, T0 + 51);
	health_change_describe(buf, sizeof(buf), "transaction", "enroll", &h, &ch);
	assert_string_equal(buf, "transaction enroll: CRITICAL -> OK (ok, HARD, flapping 41.0%)");
}

static void test_describe_endpoint(void **state)
{
	struct health_conf c = conf_attempts(1);
	struct health a, b;
	const struct health *members[] = {&a, &b};
	struct health_endpoint e;
	struct health_change ch;
	char buf[160];

	(void)state;
	health_init(&a);
	health_init(&b);
	health_endpoint_init(&e);
	health_update(&b, &c, RESULT_CRITICAL, TXN_REGISTRAR_AUTH_REJECTED, T0);
	ch = health_endpoint_update(&e, &c, members, 2, T0);
	health_endpoint_change_describe(buf, sizeof(buf), "registrar", "pool1", &e, &ch);
	assert_string_equal(buf, "registrar pool1: OK -> CRITICAL (registrar_auth_rejected, HARD, "
	                         "1/2 failing)");

	health_update(&b, &c, RESULT_OK, TXN_OK, T0 + 1);
	ch = health_endpoint_update(&e, &c, members, 2, T0 + 1);
	health_endpoint_change_describe(buf, sizeof(buf), "registrar", "pool1", &e, &ch);
	assert_string_equal(buf, "registrar pool1: CRITICAL -> OK (ok, HARD, 0/2 failing)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_and_init),
	    cmocka_unit_test(test_soft_to_hard_after_three_attempts),
	    cmocka_unit_test(test_max_attempts_one_is_hard_at_once),
	    cmocka_unit_test(test_soft_recovery_does_not_notify),
	    cmocka_unit_test(test_hard_recovery_notifies),
	    cmocka_unit_test(test_warning_to_critical_while_hard_notifies),
	    cmocka_unit_test(test_change_while_soft_keeps_counting),
	    cmocka_unit_test(test_unknown_handling),
	    cmocka_unit_test(test_counters_and_times),
	    cmocka_unit_test(test_percent_state_change_values),
	    cmocka_unit_test(test_flap_thresholds_inclusive),
	    cmocka_unit_test(test_flapping_suppresses_then_stops_quietly),
	    cmocka_unit_test(test_flapping_stop_sends_due_notification_once),
	    cmocka_unit_test(test_flap_detection_off),
	    cmocka_unit_test(test_endpoint_worst_of),
	    cmocka_unit_test(test_endpoint_probe_side),
	    cmocka_unit_test(test_endpoint_flapping),
	    cmocka_unit_test(test_describe_transaction),
	    cmocka_unit_test(test_describe_endpoint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
