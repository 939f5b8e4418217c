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
#include <unistd.h>

#include <event2/event.h>

#include "alert/sink.h"
#include "config/config.h"
#include "core/bbuf.h"
#include "core/clock.h"
#include "daemon/daemon.h"
#include "exporters/statefile.h"

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

/* Like finish(), with a WARNING finding recorded before the failure (as a run finds one). */
static void finish_with_finding(int i, enum txn_status finding, enum txn_status status)
{
	struct txn_result r;

	assert_true(i >= 0);
	txn_result_init_for(&r, runs[i].conf);
	txn_result_finding(&r, finding, "SHA1");
	txn_result_fail(&r, status, "STATE/txn/a: Read-only file system");
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

static struct note notes[256];
static size_t n_notes;

static void rec(const struct alert *a, bool resolve)
{
	struct note *n;

	assert_true(n_notes < 256);
	n = &notes[n_notes++];
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

/* true: the sink still has every resolve to deliver (an Alertmanager that is down) */
static bool rec_holding;
static size_t n_pending_calls;

static bool rec_pending(const struct alert_sink *s, const struct alert *a)
{
	(void)s;
	(void)a;
	n_pending_calls++;
	return rec_holding;
}

static void rec_free(struct alert_sink *s)
{
	free(s);
}

static const struct alert_sink_ops rec_ops = {
    .name = "record",
    .raise = rec_raise,
    .resolve = rec_resolve,
    .pending = rec_pending,
    .free = rec_free,
};

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
	rec_holding = false;
	n_pending_calls = 0;
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

#define ENROLL(name, host)                                                                         \
	"  - name: " name "\n    type: enrollment\n    protocol: scep\n"                           \
	"    url: http://" host "/scep\n    subject: CN=x\n"
#define LOGON(name, from)                                                                          \
	"  - name: " name                                                                          \
	"\n    type: client-auth\n    registrar: {host: 127.0.0.1, port: 5061}\n"                  \
	"    sip_uri: sip:a@example.com\n    trust_store: /dev/null\n"                             \
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
	g = gen_new(&d,
	            load("transactions:\n" ENROLL("c", "h3") ENROLL("b", "h9") ENROLL("a", "h1")));
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

/*
 * A reload while a run is in flight: the run is not cancelled (its REGISTER would be
 * left without an un-REGISTER), its result reaches the heir, and the configuration it
 * started with lives until it ends (ASan sees a use after free otherwise).
 */
static void test_reload_in_flight(void **state)
{
	struct gen *old, *g;
	bool keep_due[2] = {false, false};
	int run;

	(void)state;
	d.g = gen_new(&d, load("transactions:\n" ENROLL("a", "h1") ENROLL("gone", "h2")));
	sched_gen(d.g, NULL);
	sched_due(target("a"));
	sched_due(target("gone"));
	run = run_of("a");
	assert_int_equal(d.in_flight, 2);
	old = d.g;
	g = gen_new(&d, load("transactions:\n" ENROLL("a", "h1") ENROLL("new", "h3")));
	gen_carry(g, old, keep_due);
	d.g = g;
	gen_free(old, true);
	assert_false(runs[run].freed);           /* carried */
	assert_true(runs[run_of("gone")].freed); /* removed: cancelled */
	assert_int_equal(d.in_flight, 1);
	assert_true(g->targets[0].running);
	assert_int_equal(g->targets[0].ep->running, 1);
	sched_gen(g, keep_due);
	finish(run, TXN_OK); /* reads the old configuration's txn_conf */
	assert_false(g->targets[0].running);
	assert_int_equal(g->targets[0].runs[RESULT_OK], 1);
	assert_int_equal(g->targets[0].ep->running, 0);
	assert_int_equal(d.in_flight, 0);
	sched_on_reap(-1, 0, &g->targets[0]);
	assert_true(runs[run].freed);
}

/* A stop starts nothing more and ends the loop with the last run in flight. */
static void test_stop_drains(void **state)
{
	struct target *a, *b;

	(void)state;
	d.g = gen_new(&d, load("transactions:\n" ENROLL("a", "h1") ENROLL("b", "h2")));
	sched_gen(d.g, NULL);
	a = target("a");
	b = target("b");
	sched_due(a);
	d.stopping = true;
	sched_due(b);
	assert_false(b->running);
	assert_int_equal(n_runs, 1);
	assert_false(event_base_got_exit(d.base));
	finish(run_of("a"), TXN_OK);
	assert_int_equal(a->runs[RESULT_OK], 1); /* its result counted */
	event_base_loop(d.base, EVLOOP_NONBLOCK);
	assert_true(event_base_got_exit(d.base));
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

/*
 * The probe cannot write its state directory: the run is UNKNOWN probe_state_write (not
 * hidden by the CA's weak-digest finding), the web service's health and alert are left
 * as the CA's own results made them, and the failure is counted for the probe itself.
 */
static void test_probe_state_write(void **state)
{
	struct target *a;

	(void)state;
	d.hconf.max_attempts = 2;
	d.g = gen_new(&d, load("transactions:\n" ENROLL("a", "h1")));
	sched_gen(d.g, NULL);
	a = target("a");
	for (int i = 0; i < 3; i++) {
		sched_due(a);
		finish_with_finding(run_of("a"), TXN_SCEP_WEAK_DIGEST, TXN_PROBE_STATE_WRITE);
	}
	assert_int_equal(a->health.hard_state, RESULT_UNKNOWN);
	assert_int_equal(a->health.hard_status, TXN_PROBE_STATE_WRITE);
	assert_int_equal(a->last_reason, TXN_PROBE_STATE_WRITE);
	assert_int_equal(a->ep->health.state, RESULT_OK);
	assert_int_equal(n_notes, 0);
	assert_int_equal(d.state_write_failures, 3);

	/* a CA failure raises its alert; the probe's own failure after it neither clears nor
	 * re-raises it */
	for (int i = 0; i < 2; i++) {
		sched_due(a);
		finish(run_of("a"), TXN_SCEP_FAILURE_BAD_REQUEST);
	}
	assert_int_equal(n_notes, 1);
	assert_int_equal(a->ep->alert, RESULT_CRITICAL);
	for (int i = 0; i < 2; i++) {
		sched_due(a);
		finish(run_of("a"), TXN_PROBE_STATE_WRITE);
	}
	assert_int_equal(a->health.hard_state, RESULT_UNKNOWN);
	assert_int_equal(a->ep->health.state, RESULT_CRITICAL);
	assert_int_equal(a->ep->alert, RESULT_CRITICAL);
	assert_int_equal(n_notes, 1);
	assert_int_equal(d.state_write_failures, 5);
}

/* The alerts of d as a state file would keep them, read back. */
static struct sf_state *alerts_roundtrip(void)
{
	char path[] = "/tmp/test_sched.XXXXXX", err[256];
	struct sf_state *s;
	struct bbuf b;
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	bbuf_init(&b, SIZE_MAX);
	statefile_doc_open(&b, "test.yaml");
	statefile_doc_section(&b, "endpoints");
	statefile_doc_section(&b, "alerts");
	alerts_persist(&d, &b);
	statefile_doc_close(&b);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
	fclose(f);
	bbuf_free(&b);
	s = statefile_load(path, err, sizeof err);
	unlink(path);
	assert_non_null(s);
	return s;
}

/* A restart: the same configuration, a fresh recording sink, the alerts of state s. */
static void restart(const char *config, const struct sf_state *s)
{
	struct alert_sink *sink = calloc(1, sizeof *sink);

	gen_free(d.g, true);
	alerts_free(&d);
	sink->ops = &rec_ops;
	alerts_add_sink(&d, sink);
	n_notes = 0;
	d.g = gen_new(&d, load(config));
	alerts_restore(&d, s);
}

/*
 * An endpoint fails again before a sink delivered the resolve of its last alert: the
 * raise supersedes the pending resolve (one alert per endpoint and severity), and a
 * restart re-announces the open alert instead of resolving it.
 */
static void test_alert_reraised_before_resolve_delivered(void **state)
{
	static const char config[] = "transactions:\n" ENROLL("a", "h1");
	struct sf_state *s;
	struct target *a;

	(void)state;
	d.hconf.max_attempts = 1;
	d.hconf.flap_detection = false;
	rec_holding = true;
	d.g = gen_new(&d, load(config));
	sched_gen(d.g, NULL);
	a = target("a");
	sched_due(a);
	finish(run_of("a"), TXN_SCEP_FAILURE_BAD_REQUEST); /* raise */
	sched_due(a);
	finish(run_of("a"), TXN_OK); /* resolve, still to deliver */
	sched_due(a);
	finish(run_of("a"), TXN_SCEP_FAILURE_BAD_REQUEST); /* raise again */
	assert_int_equal(n_notes, 3);
	assert_false(notes[2].resolve);
	assert_int_equal(a->ep->alert, RESULT_CRITICAL);

	s = alerts_roundtrip();
	assert_int_equal(s->n_alerts, 1); /* the open alert; the resolve it superseded is gone */
	restart(config, s);
	statefile_state_free(s);
	assert_int_equal(n_notes, 1);
	assert_false(notes[0].resolve);
	assert_true(notes[0].restored);
	assert_int_equal(notes[0].severity, RESULT_CRITICAL);
	assert_int_equal(target("a")->ep->alert, RESULT_CRITICAL);
	s = alerts_roundtrip();
	assert_int_equal(s->n_alerts, 1);
	assert_false(s->alerts[0].resolved);
	statefile_state_free(s);
}

/*
 * A state file with an open alert and, after it, the undelivered resolve of an earlier
 * alert of the same endpoint and severity (as files written before the fix hold them):
 * the open one is re-announced and stays open; the resolve it superseded is dropped.
 */
static void test_restore_open_and_superseded_resolve(void **state)
{
	struct sf_kv labels[] = {{"alertname", "CertprobeWebServiceState"},
	                         {"endpoint", "h1"},
	                         {"kind", "web_service"},
	                         {"severity", "critical"},
	                         {"job", "certprobe"}};
	struct sf_kv ann[] = {{"summary", "Web service h1 is CRITICAL"}};
	struct sf_alert alerts[] = {
	    {labels, 5, ann, 1, 2000, false, 0}, /* open, the newest */
	    {labels, 5, ann, 1, 1000, true, 1500},
	};
	struct sf_state s;

	(void)state;
	memset(&s, 0, sizeof s);
	s.alerts = alerts;
	s.n_alerts = 2;
	rec_holding = true;
	d.g = gen_new(&d, load("transactions:\n" ENROLL("a", "h1")));
	alerts_restore(&d, &s);
	for (size_t i = 0; i < n_notes; i++)
		assert_false(notes[i].resolve && notes[i].severity == RESULT_CRITICAL);
	assert_int_equal(n_notes, 1);
	assert_true(notes[0].restored);
	assert_int_equal(notes[0].starts_at, 2000);
	assert_int_equal(target("a")->ep->alert, RESULT_CRITICAL);
	assert_int_equal(target("a")->ep->alert_since, 2000);
}

/*
 * Restoring many undelivered resolves, and a reload that drops many endpoints with
 * open alerts, ask the sinks about each alert a bounded number of times, not once per
 * alert per resolve (quadratic: thousands of them stalled the start and the loop).
 */
#define MANY 60
static void test_alerts_batch_linear(void **state)
{
	struct sf_kv labels[MANY][3];
	struct sf_alert alerts[MANY];
	char names[MANY][16], text[8192];
	struct sf_state s;
	struct gen *g;
	bool keep_due[MANY + 1];
	size_t n = 0;

	(void)state;
	memset(&s, 0, sizeof s);
	for (size_t i = 0; i < MANY; i++) {
		snprintf(names[i], sizeof names[i], "h%zu", i);
		labels[i][0] = (struct sf_kv){"endpoint", names[i]};
		labels[i][1] = (struct sf_kv){"kind", "web_service"};
		labels[i][2] = (struct sf_kv){"severity", "critical"};
		alerts[i] = (struct sf_alert){labels[i], 3, NULL, 0, 1000, i % 2 == 0, 2000};
	}
	s.alerts = alerts;
	s.n_alerts = MANY;
	rec_holding = true;
	n += (size_t)snprintf(text + n, sizeof text - n, "transactions:\n");
	for (size_t i = 0; i < MANY; i++)
		n += (size_t)snprintf(text + n, sizeof text - n,
		                      "  - name: t%zu\n    type: enrollment\n    protocol: scep\n"
		                      "    url: http://h%zu/scep\n    subject: CN=x\n",
		                      i, i);
	d.g = gen_new(&d, load(text));
	alerts_restore(&d, &s); /* MANY / 2 resolves to deliver, MANY / 2 open alerts */
	assert_true(n_pending_calls <= 2 * MANY);
	n_pending_calls = 0;
	g = gen_new(&d, load("transactions:\n" ENROLL("a", "elsewhere")));
	gen_carry(g, d.g, keep_due);
	alerts_reload(&d, g); /* MANY / 2 endpoints gone with their open alerts */
	assert_true(n_pending_calls <= 2 * MANY);
	gen_free(d.g, true);
	d.g = g;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_spread, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cadence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_endpoint_queue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dependency, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload_carry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload_in_flight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_drains, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alerts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_state_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alert_reraised_before_resolve_delivered, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_restore_open_and_superseded_resolve, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_alerts_batch_linear, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
