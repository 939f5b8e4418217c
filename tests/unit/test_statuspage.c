/*
 * test_statuspage: the status page's renderer (exporters/statuspage/) over a fixed
 * snapshot and clock. Golden HTML for "/" and /txn/NAME (tests/unit/golden/; rewrite
 * them with CERTPROBE_GOLDEN_UPDATE=1 after a deliberate change and read the diff),
 * the title's counts, the filters, certificate colouring within the warning window,
 * the step trace of a failure, and that a transaction name, endpoint, reason detail or
 * step detail carrying markup renders as text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bbuf.h"
#include "exporters/statuspage/statuspage.h"
#include "health/history.h"

#define NOW 1780000000 /* 2026-05-28T20:26:40Z */

struct fixture {
	struct snapshot s;
	struct snapshot_txn txns[3];
	struct snapshot_endpoint eps[2];
	struct statuspage_endpoint_extra epx[2];
	struct statuspage_txn_extra txx[3];
	struct history *h[3];
	struct txn_result last; /* logon's failed run */
	const char *sinks[2];
};

static void hist_add(struct history *h, int64_t end, enum result_class r, enum txn_status st,
                     uint64_t us)
{
	struct history_entry e;

	memset(&e, 0, sizeof e);
	e.end = end;
	e.result = (uint8_t)r;
	e.status = (uint16_t)st;
	e.duration_us = us;
	e.n_steps = 2;
	e.steps[0].name = "tls_handshake";
	e.steps[0].duration_us = (uint32_t)(us / 2);
	e.steps[1].name = "register";
	e.steps[1].duration_us = (uint32_t)(us / 2);
	history_add(h, &e);
}

/*
 * enroll: OK, its issued certificate 20 days from expiry (warning window 30);
 * logon: CRITICAL (HARD), registrar rejected it, with a step trace; fresh: no result yet.
 */
static void fixture_init(struct fixture *f)
{
	struct snapshot_txn *t;

	memset(f, 0, sizeof *f);
	for (int i = 0; i < 3; i++)
		f->h[i] = history_new(20);
	for (int i = 0; i < 4; i++)
		hist_add(f->h[0], NOW - 120 + 30 * i, RESULT_OK, TXN_OK,
		         40000 + 5000 * (uint64_t)i);
	hist_add(f->h[1], NOW - 90, RESULT_OK, TXN_OK, 20000);
	hist_add(f->h[1], NOW - 60, RESULT_CRITICAL, TXN_REGISTRAR_AUTH_REJECTED, 12000);
	hist_add(f->h[1], NOW - 30, RESULT_CRITICAL, TXN_REGISTRAR_AUTH_REJECTED, 11000);

	t = &f->txns[0];
	t->name = "demo-enroll";
	t->type = "enrollment";
	t->protocol = "scep";
	t->endpoint = "127.0.0.1:18080";
	t->have_result = true;
	t->status = t->reason = TXN_OK;
	t->result = t->state = RESULT_OK;
	t->hard = true;
	t->duration_us = 55000;
	t->last_run = NOW - 30;
	t->last_success = NOW - 30;
	t->runs[RESULT_OK] = 4;
	t->certs[CERT_ROLE_ISSUED].present = true;
	t->certs[CERT_ROLE_ISSUED].not_after = NOW + 20 * 86400 + 3600;
	t->certs[CERT_ROLE_ISSUED].subject = "CN=demo-device,O=Example";
	t->certs[CERT_ROLE_CA].present = true;
	t->certs[CERT_ROLE_CA].not_after = NOW + 365 * 86400;
	t->history = f->h[0];

	t = &f->txns[1];
	t->name = "demo-logon";
	t->type = "client-auth";
	t->protocol = "sip-register";
	t->endpoint = "sip.example.test";
	t->have_result = true;
	t->status = t->reason = TXN_REGISTRAR_AUTH_REJECTED;
	t->result = t->state = RESULT_CRITICAL;
	t->hard = true;
	t->detail = "SIP 403 Forbidden";
	t->protocol_code = 403;
	t->duration_us = 11000;
	t->last_run = NOW - 30;
	t->last_success = NOW - 90;
	t->runs[RESULT_OK] = 1;
	t->runs[RESULT_CRITICAL] = 2;
	t->consecutive_failures = 2;
	t->certs[CERT_ROLE_SERVER].present = true;
	t->certs[CERT_ROLE_SERVER].not_after = NOW - 86400; /* expired yesterday */
	t->history = f->h[1];

	t = &f->txns[2];
	t->name = "fresh";
	t->type = "enrollment";
	t->protocol = "scep";
	t->endpoint = "127.0.0.1:18080";
	t->state = RESULT_OK;
	t->hard = true;
	t->history = f->h[2];

	f->eps[0] = (struct snapshot_endpoint){.name = "127.0.0.1:18080",
	                                       .kind = ENDPOINT_KIND_WEB_SERVICE,
	                                       .state = RESULT_OK,
	                                       .since = NOW - 3600,
	                                       .members = 2};
	f->eps[1] = (struct snapshot_endpoint){.name = "sip.example.test",
	                                       .kind = ENDPOINT_KIND_REGISTRAR,
	                                       .state = RESULT_CRITICAL,
	                                       .since = NOW - 60,
	                                       .members = 1,
	                                       .failing = 1};
	f->epx[1].alert = RESULT_CRITICAL;
	f->epx[1].alert_since = NOW - 60;
	for (int i = 0; i < 3; i++)
		f->txx[i].expiry_warn_days = 30;
	f->sinks[0] = "log";
	f->sinks[1] = "alertmanager";

	txn_result_init(&f->last, "demo-logon", "sips:sip.example.test", "client-auth",
	                "sip-register");
	f->last.started = NOW - 31;
	{
		size_t k = txn_step_begin(&f->last, "tls_handshake");
		txn_step_end(&f->last, k, TXN_OK, "TLSv1.3");
		f->last.steps[k].duration_us = 6000;
		k = txn_step_begin(&f->last, "register");
		txn_step_end(&f->last, k, TXN_REGISTRAR_AUTH_REJECTED, "SIP 403 Forbidden");
		f->last.steps[k].duration_us = 5000;
	}
	txn_result_fail(&f->last, TXN_REGISTRAR_AUTH_REJECTED, "SIP 403 Forbidden");
	txn_result_finish(&f->last);
	f->last.duration_us = 11000;

	f->s.txns = f->txns;
	f->s.n_txns = 3;
	f->s.endpoints = f->eps;
	f->s.n_endpoints = 2;
	f->s.self.version = "0.1.0";
}

static void fixture_free(struct fixture *f)
{
	for (int i = 0; i < 3; i++)
		history_free(f->h[i]);
}

static const struct txn_result *last_of(void *arg, size_t i)
{
	struct fixture *f = arg;

	return i == 1 ? &f->last : NULL;
}

static void view_init(struct statuspage_view *v, struct fixture *f)
{
	memset(v, 0, sizeof *v);
	v->snap = &f->s;
	v->eps = f->epx;
	v->txns = f->txx;
	v->sinks = f->sinks;
	v->n_sinks = 2;
	v->last = last_of;
	v->last_arg = f;
	v->now = NOW;
	v->filter = STATUSPAGE_ALL;
	v->refresh_s = 30;
}

static char *render_index(struct statuspage_view *v)
{
	struct bbuf b;
	char *out;

	bbuf_init(&b, 1 << 22);
	assert_int_equal(statuspage_render_index(&b, v), 0);
	out = strdup((const char *)b.data);
	bbuf_free(&b);
	return out;
}

/* Compare text with tests/unit/golden/NAME (or rewrite it under CERTPROBE_GOLDEN_UPDATE). */
static void golden(const char *name, const char *text)
{
	const char *src = getenv("CERTPROBE_SRCDIR");
	char path[4096], *want = NULL;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/tests/unit/golden/%s", src != NULL ? src : ".", name);
	if (getenv("CERTPROBE_GOLDEN_UPDATE") != NULL) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
		return;
	}
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot read %s", path);
	want = calloc(1, 1 << 22);
	n = fread(want, 1, (1 << 22) - 1, f);
	fclose(f);
	want[n] = '\0';
	assert_string_equal(text, want);
	free(want);
}

static void test_golden_index(void **state)
{
	struct fixture f;
	struct statuspage_view v;
	char *out;

	(void)state;
	fixture_init(&f);
	view_init(&v, &f);
	out = render_index(&v);
	golden("statuspage_index.html", out);
	free(out);
	fixture_free(&f);
}

static void test_golden_txn(void **state)
{
	struct fixture f;
	struct statuspage_view v;
	struct bbuf b;

	(void)state;
	fixture_init(&f);
	view_init(&v, &f);
	bbuf_init(&b, 1 << 22);
	assert_int_equal(statuspage_render_txn(&b, &v, 1, &f.last), 0);
	golden("statuspage_txn.html", (const char *)b.data);
	bbuf_reset(&b);
	/* no result yet */
	assert_int_equal(statuspage_render_txn(&b, &v, 2, NULL), 0);
	assert_non_null(strstr((const char *)b.data, "No result yet."));
	assert_non_null(strstr((const char *)b.data, "data-state=\"PENDING\""));
	bbuf_free(&b);
	fixture_free(&f);
}

static void test_title_and_cards(void **state)
{
	struct fixture f;
	struct statuspage_view v;
	char *out;

	(void)state;
	fixture_init(&f);
	view_init(&v, &f);
	out = render_index(&v);
	assert_non_null(strstr(
	    out, "<title>1 CRITICAL, 0 WARNING, 0 UNKNOWN, 1 OK, 1 PENDING - certprobe status"));
	/* colour and word, since when, what fails, the alert and where it went */
	assert_non_null(
	    strstr(out, "<article class=\"card s-critical\" data-endpoint=\"sip.example.test\" "
	                "data-state=\"CRITICAL\">"));
	assert_non_null(strstr(out, "<span class=\"badge s-critical\">CRITICAL</span>"
	                            "<span class=\"tag\">registrar</span>"));
	assert_non_null(strstr(out, "<a href=\"/txn/demo-logon\">demo-logon</a>"));
	assert_non_null(strstr(out, ", sent to log, alertmanager</dd>"));
	/* the Error and the Diagnosis in the status table's words, the failing step */
	assert_non_null(strstr(out, "<dd class=\"error\">registrar_auth_rejected: "));
	assert_non_null(strstr(out, " — SIP 403 Forbidden</dd>"));
	assert_non_null(strstr(out,
	                       "<li class=\"bad\">register 5.0 ms FAILED registrar_auth_rejected: "
	                       "SIP 403 Forbidden</li>"));
	/* certificates: within the window, expired, and far away */
	assert_non_null(
	    strstr(out, "<span class=\"cert exp-warn\" data-role=\"issued\">issued: 20 d left"));
	assert_non_null(strstr(
	    out, "<span class=\"cert exp-crit\" data-role=\"server\">server: expired 1 d ago"));
	assert_non_null(strstr(out, "<span class=\"cert\" data-role=\"CA\">CA: 365 d left</span>"));
	/* one bar per run, a sparkline */
	assert_non_null(strstr(out, "<rect class=\"s-critical\" x=\"12\" y=\"0\""));
	assert_non_null(strstr(out, "<svg class=\"spark\""));
	free(out);
	fixture_free(&f);
}

static void test_filters(void **state)
{
	struct fixture f;
	struct statuspage_view v;
	enum statuspage_filter flt;
	char *out;

	(void)state;
	assert_int_equal(statuspage_filter_parse("critical", &flt), 0);
	assert_int_equal(flt, STATUSPAGE_CRITICAL);
	assert_int_equal(statuspage_filter_parse("problems", &flt), 0);
	assert_int_equal(flt, STATUSPAGE_PROBLEMS);
	assert_int_equal(statuspage_filter_parse("Critical", &flt), -1);
	assert_int_equal(statuspage_filter_parse("bogus", &flt), -1);
	fixture_init(&f);
	view_init(&v, &f);
	v.filter = STATUSPAGE_CRITICAL;
	out = render_index(&v);
	assert_non_null(strstr(out, "data-txn=\"demo-logon\""));
	assert_null(strstr(out, "data-txn=\"demo-enroll\""));
	assert_null(strstr(out, "data-txn=\"fresh\""));
	assert_null(strstr(out, "data-endpoint=\"127.0.0.1:18080\""));
	assert_non_null(strstr(out, "<a href=\"/?state=critical\" class=\"on\">critical</a>"));
	/* the title still counts everything */
	assert_non_null(strstr(out, "<title>1 CRITICAL, 0 WARNING, 0 UNKNOWN, 1 OK, 1 PENDING"));
	free(out);
	v.filter = STATUSPAGE_OK;
	out = render_index(&v);
	assert_non_null(strstr(out, "data-txn=\"demo-enroll\""));
	assert_null(strstr(out, "data-txn=\"demo-logon\""));
	free(out);
	v.filter = STATUSPAGE_WARNING;
	out = render_index(&v);
	assert_non_null(strstr(out, "No transaction in this state."));
	free(out);
	assert_int_equal(statuspage_find_txn(&f.s, "fresh"), 2);
	assert_int_equal(statuspage_find_txn(&f.s, "nope"), -1);
	fixture_free(&f);
}

static void test_markup_is_text(void **state)
{
	struct fixture f;
	struct statuspage_view v;
	struct bbuf b;
	char *out;

	(void)state;
	fixture_init(&f);
	view_init(&v, &f);
	f.txns[1].name = "<script>alert('name')</script>";
	f.txns[1].endpoint = "\"><img src=x onerror=alert(1)>";
	f.eps[1].name = "\"><img src=x onerror=alert(1)>";
	f.txns[1].detail = "SIP 403 <script>alert('reason')</script>";
	f.txns[0].certs[CERT_ROLE_ISSUED].subject = "CN=<b>bold</b>";
	snprintf(f.last.steps[1].detail, sizeof f.last.steps[1].detail, "<script>x</script>");
	f.sinks[1] = "<i>sink</i>";
	out = render_index(&v);
	assert_null(strstr(out, "<script"));
	assert_null(strstr(out, "<img"));
	assert_null(strstr(out, "<b>"));
	assert_null(strstr(out, "<i>"));
	assert_non_null(strstr(out, "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;"));
	assert_non_null(
	    strstr(out, "SIP 403 &lt;script&gt;alert(&#39;reason&#39;)&lt;/script&gt;"));
	assert_non_null(
	    strstr(out, "data-endpoint=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\""));
	/* the link's path is percent-encoded */
	assert_non_null(
	    strstr(out, "href=\"/txn/%3Cscript%3Ealert%28%27name%27%29%3C%2Fscript%3E\""));
	free(out);
	bbuf_init(&b, 1 << 22);
	snprintf(f.last.status_detail, sizeof f.last.status_detail, "<script>r</script>");
	assert_int_equal(statuspage_render_txn(&b, &v, 1, &f.last), 0);
	assert_null(strstr((const char *)b.data, "<script"));
	assert_non_null(strstr((const char *)b.data, "&lt;script&gt;r&lt;/script&gt;"));
	bbuf_free(&b);
	fixture_free(&f);
}

static void test_cap(void **state)
{
	struct fixture f;
	struct statuspage_view v;
	struct bbuf b;

	(void)state;
	fixture_init(&f);
	view_init(&v, &f);
	bbuf_init(&b, 1024);
	assert_int_equal(statuspage_render_index(&b, &v), -1);
	assert_true(b.toobig);
	bbuf_free(&b);
	fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_index),    cmocka_unit_test(test_golden_txn),
	    cmocka_unit_test(test_title_and_cards), cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_markup_is_text),  cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
