/*
 * test_sched: the daemon's scheduler, per-endpoint queue, dependency ordering, reload
 * carry-over and alert routing, without sockets and on a controllable clock. Real
 * configurations are loaded from text; runs are fakes (daemon.start) that the test ends
 * by handing a result to sched_result(), and alerts go to a recording sink.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "alert/sink.h"
#include "config/config.h"
#include "core/clock.h"
#include "daemon/daemon.h"

#define T0 1000000000000ull /* fake monotonic microseconds */
#define MAX_RUNS 32

/* ---- fake runs ---- */

struct fake_run {
	const struct txn_conf *conf;
	txn_done_cb *cb;
	void *arg;
	bool freed;
};

static struct fake_run runs[MAX_RUNS];
static size_t n_runs;

static struct txn *fake_start(const struct txn_env *env, const struct txn_conf *conf,
                              txn_done_cb *cb, void *arg)
{
	(void)env;
	assert_true(n_runs < MAX_RUNS);
	runs[n_runs] = (struct fake_run){conf, cb, arg, false};
	return (struct txn *)&runs[n_runs++];
}

static void fake_free(struct txn *t)
{
	if (t != NULL)
		((struct fake_run *)t)->freed = true;
}

/* The index of the latest run of name, or -1. */
static int run_of(const char *name)
{
	for (size_t i = n_runs; i-- > 0;)
		if (strcmp(runs[i].conf->name, name) == 0)
			return (int)i;
	return -1;
}

static void finish(int i, enum txn_status status)
{
	struct txn_result r;

	assert_true(i >= 0);
	txn_result_init_for(&r, runs[i].conf);
	txn_result_fail(&r, status, NULL);
	txn_result_finish(&r);
	runs[i].cb(&r, runs[i].arg);
}

/* ---- a recording sink ---- */

struct note {
	bool resolve, restored;
	char endpoint[64];
	enum result_class severity;
	int64_t starts_at;
};

static struct note notes[16];
static size_t n_notes;

static void rec(const struct alert *a, bool resolve)
{
	struct note *n = &notes[n_notes++];

	assert_true(n_notes <= 16);
	n->resolve = resolve;
	n->restored = a->restored;
	snprintf(n->endpoint, sizeof n->endpoint, "%s", a->endpoint);
	n->severity = a->severity;
	n->starts_at = a->starts_at;
}

static void rec_raise(struct alert_sink *s, const struct alert *a)
{
	(void)s;
	rec(a, false);
}

static void rec_resolve(struct alert_sink *s, const struct alert *a)
{
	(void)s;
	rec(a, true);
}

static void rec_free(struct alert_sink *s)
{
	free(s);
}

static const struct alert_sink_ops rec_ops = {"record", rec_raise, rec_resolve, NULL, rec_free};

/* ---- a daemon without a loop ---- */

static struct daemon d;

static struct config *load(const char *text)
{
	unsigned nerr = 0;
	struct config *cfg = config_load_buffer("test.yaml", text, strlen(text), stderr, &nerr);

	assert_non_null(cfg);
	return cfg;
}

static int setup(void **state)
{
	struct alert_sink *s = calloc(1, sizeof *s);

	(void)state;
	memset(&d, 0, sizeof d);
	memset(runs, 0, sizeof runs);
	n_runs = 0;
	n_notes = 0;
	d.base = event_base_new();
	d.env.base = d.base;
	d.start = fake_start;
	d.free_run = fake_free;
	health_conf_defaults(&d.hconf);
	s->ops = &rec_ops;
	alerts_add_sink(&d, s);
	clock_set_fake(T0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	gen_free(d.g, true);
	alerts_free(&d);
	routes_invalidate(&d);
	event_base_free(d.base);
	clock_set_fake(0);
	return 0;
}

static struct target *target(const char *name)
{
	for (size_t i = 0; i < d.g->n; i++)
		if (strcmp(d.g->targets[i].conf->name, name) == 0)
			return &d.g->targets[i];
	fail_msg("no target %s", name);
	return NULL;
}

#define ENROLL(name, host)                                                                    \
	"  - name: " name "\n    type: enrollment\n    protocol: scep\n"                          \
	"    url: http://" host "/scep\n    subject: CN=x\n"
#define LOGON(name, from)                                                                     \
	"  - name: " name "\n    type: client-auth\n    registrar: {host: 127.0.0.1, port: 5061}\n" \
	"    sip_uri: sip:a@example.com\n    trust_store: /dev/null\n"                          \
	"    certificate: {from: " from "}\n"

/* First runs are spread over a second (few transactions), inside the interval. */
static void test_spread(void **state)
{
	(void)state;
	d.g = gen_new(&d, load("defaults: {interval: 15m}\ntransactions:\n" ENROLL("a", "h1")
	                           ENROLL("b", "h2") ENROLL("c", "h3")));
	sched_gen(d.g, NULL);
	for (size_t i = 0; i < d.g->n; i++) {
		assert_true(d.g->targets[i].due_us >= T0);
		assert_true(d.g->targets[i].due_us < T0 + 1000000);
	}
	assert_int_equal(n_runs, 0);
}

/* Runs keep their cadence; a run that ended after its next due time waits a tenth. */
static void test_cadence(void **state)
{
	struct target *a;

	(void)state;
	d.g = gen_new(&d, load("defaults: {interval: 10s}\ntransactions:\n" ENROLL("a", "h1")));
	sched_gen(d.g, NULL);
	a = target("a");
	a->due_us = T0;
	sched_due(a);
	assert_true(a->running);
	clock_set_fake(T0 + 300000);
	finish(run_of("a"), TXN_OK);
	assert_false(a->running);
	assert_int_equal(a->due_us, T0 + 10000000);
	assert_int_equal(a->runs[RESULT_OK], 1);

	clock_set_fake(a->due_us);
	sched_due(a);
	clock_set_fake(T0 + 25000000); /* 5 s past the next due time */
	finish(run_of("a"), TXN_OK);
	assert_int_equal(a->due_us, T0 + 25000000 + 1000000);
}

/* At most max_per_endpoint run against one endpoint; the others wait, first in first out. */
static void test_endpoint_queue(void **state)
{
	struct target *a, *b, *c;

	(void)state;
	d.g = gen_new(&d, load("probe: {max_per_endpoint: 1}\ntransactions:\n" ENROLL("a", "h1")
	                           ENROLL("b", "h1") ENROLL("c", "h1")));
	sched_gen(d.g, NULL);
	a = target("a");
	b = target("b");
	c = target("c");
	assert_ptr_equal(a->ep, b->ep);
	sched_due(a);
	sched_due(c);
	sched_due(b);
	assert_true(a->running);
	assert_true(c->queued);
	assert_true(b->queued);
	assert_int_equal(n_runs, 1);
	finish(run_of("a"), TXN_OK);
	assert_true(c->running);
	assert_true(b->queued);
	finish(run_of("c"), TXN_OK);
	assert_true(b->running);
	assert_int_equal(a->ep->running, 1);
	/* a target due while it runs or waits is not started twice */
	sched_due(b);
	assert_int_equal(n_runs, 3);
}

/* A client-auth using an enrollment's certificate waits for that one's first run. */
static void test_dependency(void **state)
{
	struct target *e, *l;

	(void)state;
	d.g = gen_new(&d, load("transactions:\n" LOGON("logon", "enroll") ENROLL("enroll", "h1")));
	sched_gen(d.g, NULL);
	e = target("enroll");
	l = target("logon");
	assert_ptr_equal(l->after, e);
	sched_due(l);
	assert_false(l->running);
	assert_int_equal(n_runs, 0);
	sched_due(e);
	finish(run_of("enroll"), TXN_SCEP_FAILURE_BAD_REQUEST);
	assert_true(l->running); /* started by the enrollment's end, whatever its result */
	finish(run_of("logon"), TXN_OK);
	/* later runs do not wait */
	sched_due(l);
	assert_true(l->running);
}

/* A reload keeps the state of unchanged transactions; a changed endpoint starts afresh. */
static void test_reload_carry(void **state)
{
	struct gen *old, *g;
	bool keep_due[3] = {false, false, false};

	(void)state;
	d.g = gen_new(&d, load("transactions:\n" ENROLL("a", "h1") ENROLL("b", "h2")));
	sched_gen(d.g, NULL);
	sched_due(target("a"));
	finish(run_of("a"), TXN_SCEP_FAILURE_BAD_REQUEST);
	sched_due(target("b"));
	finish(run_of("b"), TXN_OK);
	old = d.g;
	g = gen_new(&d, load("transactions:\n" ENROLL("c", "h3") ENROLL("b", "h9")
	                         ENROLL("a", "h1")));
	gen_carry(g, old, keep_due);
	assert_int_equal(g->targets[2].runs[RESULT_CRITICAL], 1); /* a: moved, carried */
	assert_true(g->targets[2].have_last);
	assert_true(keep_due[2]);
	assert_int_equal(g->rows[2].status, TXN_SCEP_FAILURE_BAD_REQUEST);
	assert_string_equal(g->rows[2].name, "a");
	assert_false(g->targets[1].have_last); /* b: another endpoint */
	assert_false(keep_due[1]);
	assert_false(g->targets[0].have_last); /* c: new */
	alerts_reload(&d, g);
	d.g = g;
	gen_free(old, true);
	sched_gen(g, keep_due);
	assert_true(g->targets[2].due_us > T0);
}

/* max_attempts failures make the endpoint HARD CRITICAL: one raise; recovery resolves it. */
static void test_alerts(void **state)
{
	struct target *a;

	(void)state;
	d.hconf.max_attempts = 2;
	d.g = gen_new(&d, load("transactions:\n" ENROLL("a", "h1")));
	sched_gen(d.g, NULL);
	a = target("a");
	for (int i = 0; i < 3; i++) {
		sched_due(a);
		finish(run_of("a"), TXN_SCEP_FAILURE_BAD_REQUEST);
	}
	assert_int_equal(n_notes, 1);
	assert_false(notes[0].resolve);
	assert_string_equal(notes[0].endpoint, "h1");
	assert_int_equal(notes[0].severity, RESULT_CRITICAL);
	assert_int_equal(a->ep->alert, RESULT_CRITICAL);
	sched_due(a);
	finish(run_of("a"), TXN_OK);
	assert_int_equal(n_notes, 2);
	assert_true(notes[1].resolve);
	assert_int_equal(notes[1].severity, RESULT_CRITICAL);
	assert_int_equal(a->ep->alert, RESULT_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cadence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoint_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dependency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_carry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alerts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
