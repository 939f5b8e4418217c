/*
 * test_alertmanager: the Alertmanager v2 sink (alert/alertmanager). The JSON body read
 * back with jansson (RFC 3339 times, endsAt only when resolved, optional fields left
 * out), label validation, fire/update/resolve bookkeeping through am_sink_foreach with
 * order-insensitive identity, the resolve cap, and delivery against an in-process
 * evhttp stand-in scripted per request (retry after 503, drop after 400, batches of 256,
 * a change made while a POST is in flight, resend, one URL down).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "alert/alertmanager.h"
#include "core/clock.h"
#include "net/http_client.h"

#define T_START 1795341600 /* 2026-11-22T10:00:00Z */
#define T_END 1795341900   /* 2026-11-22T10:05:00Z */
#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

struct rig {
	struct event_base *base;
	struct http_client *http;
	struct am_sink *sink;
};

static void rig_open(struct rig *r, const char *const *urls, size_t n, uint64_t resend_ms)
{
	struct am_sink_conf c = {
	    .urls = urls,
	    .n_urls = n,
	    .resend_interval_ms = resend_ms,
	    .timeout_ms = 2000,
	    .generator_url = "http://probe.example:9793/",
	};

	r->base = event_base_new();
	assert_non_null(r->base);
	r->http = http_client_new(r->base);
	assert_non_null(r->http);
	r->sink = am_sink_new(r->base, r->http, &c);
	assert_non_null(r->sink);
}

static void rig_close(struct rig *r)
{
	am_sink_free(r->sink);
	http_client_free(r->http);
	event_base_free(r->base);
}

/* What am_sink_foreach showed, as one line per alert:
 * "A|k=v,k=v|k=v|starts|ends" (A active, R resolved). */
struct seen {
	char lines[16][512];
	size_t n;
	size_t total;
};

static void kv_line(char *buf, size_t len, const struct am_kv *kv, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", i ? "," : "",
		                         kv[i].name, kv[i].value);
}

static void collect(const struct am_alert_view *a, void *arg)
{
	struct seen *s = arg;
	char labels[200], ann[200];

	s->total++;
	if (s->n >= N_ELEMS(s->lines))
		return;
	kv_line(labels, sizeof labels, a->labels, a->n_labels);
	kv_line(ann, sizeof ann, a->annotations, a->n_ann);
	snprintf(s->lines[s->n++], sizeof s->lines[0], "%c|%s|%s|%lld|%lld",
	         a->resolved ? 'R' : 'A', labels, ann, (long long)a->starts_at,
	         (long long)(a->resolved ? a->ends_at : 0));
}

static struct seen visit(const struct am_sink *s)
{
	struct seen v;

	memset(&v, 0, sizeof v);
	am_sink_foreach(s, collect, &v);
	return v;
}

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (j == NULL)
		fail_msg("not JSON (%s): %s", err.text, text);
	return j;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* ---- rendering ---- */

static void test_render_fields(void **state)
{
	const struct am_kv l1[] = {
	    {"alertname", "CertprobeRegistrarDown"}, {"severity", "critical"}, {"target", "pool1"}};
	const struct am_kv a1[] = {{"summary", "registrar pool1: OK -> CRITICAL"},
	                           {"runbook_url", "https://wiki/rb"}};
	const struct am_kv l2[] = {{"alertname", "CertprobeEnrollFailed"}};
	struct am_alert_view v[2] = {
	    {.labels = l1, .n_labels = 3, .annotations = a1, .n_ann = 2, .starts_at = T_START},
	    {.labels = l2, .n_labels = 1, .starts_at = T_START, .resolved = true, .ends_at = T_END},
	};
	char *text;
	json_t *j, *o;

	(void)state;
	text = am_render(v, 2, "http://probe.example:9793/");
	j = parse(text);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 2);

	o = json_array_get(j, 0);
	assert_string_equal(jstr(json_object_get(o, "labels"), "alertname"),
	                    "CertprobeRegistrarDown");
	assert_string_equal(jstr(json_object_get(o, "labels"), "severity"), "critical");
	assert_string_equal(jstr(json_object_get(o, "labels"), "target"), "pool1");
	assert_int_equal(json_object_size(json_object_get(o, "labels")), 3);
	assert_string_equal(jstr(json_object_get(o, "annotations"), "summary"),
	                    "registrar pool1: OK -> CRITICAL");
	assert_string_equal(jstr(json_object_get(o, "annotations"), "runbook_url"),
	                    "https://wiki/rb");
	assert_string_equal(jstr(o, "startsAt"), "2026-11-22T10:00:00Z");
	/* firing: no endsAt, Alertmanager applies resolve_timeout */
	assert_null(json_object_get(o, "endsAt"));
	assert_string_equal(jstr(o, "generatorURL"), "http://probe.example:9793/");

	o = json_array_get(j, 1);
	assert_string_equal(jstr(json_object_get(o, "labels"), "alertname"),
	                    "CertprobeEnrollFailed");
	assert_null(json_object_get(o, "annotations"));
	assert_string_equal(jstr(o, "startsAt"), "2026-11-22T10:00:00Z");
	assert_string_equal(jstr(o, "endsAt"), "2026-11-22T10:05:00Z");
	json_decref(j);
	free(text);
}

static void test_render_optional_and_escaping(void **state)
{
	const struct am_kv l[] = {{"alertname", "quote\" back\\slash\nnewline \xc3\xa9"},
	                          {"bad", "\xff\xfe"}};
	struct am_alert_view v = {.labels = l, .n_labels = 2, .resolved = true, .ends_at = T_END};
	char *text;
	json_t *j, *o;

	(void)state;
	text = am_render(NULL, 0, NULL);
	assert_string_equal(text, "[]");
	free(text);

	text = am_render(&v, 1, "");
	j = parse(text);
	o = json_array_get(j, 0);
	assert_string_equal(jstr(json_object_get(o, "labels"), "alertname"),
	                    "quote\" back\\slash\nnewline \xc3\xa9");
	assert_null(json_object_get(json_object_get(o, "labels"), "bad")); /* not UTF-8: left out */
	assert_null(json_object_get(o, "startsAt"));                       /* unknown start */
	assert_null(json_object_get(o, "generatorURL"));
	assert_string_equal(jstr(o, "endsAt"), "2026-11-22T10:05:00Z");
	json_decref(j);
	free(text);
}

/* ---- validation ---- */

static void test_label_name_valid(void **state)
{
	(void)state;
	assert_true(am_label_name_valid("alertname"));
	assert_true(am_label_name_valid("_x9"));
	assert_true(am_label_name_valid("A_b_C"));
	assert_false(am_label_name_valid(""));
	assert_false(am_label_name_valid(NULL));
	assert_false(am_label_name_valid("9lives"));
	assert_false(am_label_name_valid("bad-name"));
	assert_false(am_label_name_valid("dotted.name"));
	assert_false(am_label_name_valid("caf\xc3\xa9"));
}

static void test_fire_rejects_invalid(void **state)
{
	const char *urls[] = {"http://127.0.0.1:1"};
	const struct am_kv bad_name[] = {{"alertname", "x"}, {"bad-name", "y"}};
	const struct am_kv bad_utf8[] = {{"alertname", "x\xc0\xaf"}};     /* overlong '/' */
	const struct am_kv surrogate[] = {{"alertname", "\xed\xa0\x80"}}; /* U+D800 */
	const struct am_kv truncated[] = {{"alertname", "\xe2\x82"}};     /* cut sequence */
	const struct am_kv twice[] = {{"alertname", "x"}, {"alertname", "y"}};
	const struct am_kv all_empty[] = {{"alertname", ""}};
	const struct am_kv null_value[] = {{"alertname", NULL}};
	const struct am_kv good[] = {{"alertname", "x"}};
	const struct am_kv bad_ann[] = {{"summary text", "s"}};
	const struct am_kv bad_ann_value[] = {{"summary", "\x80"}};
	struct rig r;
	struct am_stats st;

	(void)state;
	rig_open(&r, urls, 1, 0);
	am_sink_fire(r.sink, bad_name, 2, NULL, 0, T_START);
	am_sink_fire(r.sink, bad_utf8, 1, NULL, 0, T_START);
	am_sink_fire(r.sink, surrogate, 1, NULL, 0, T_START);
	am_sink_fire(r.sink, truncated, 1, NULL, 0, T_START);
	am_sink_fire(r.sink, twice, 2, NULL, 0, T_START);
	am_sink_fire(r.sink, all_empty, 1, NULL, 0, T_START);
	am_sink_fire(r.sink, null_value, 1, NULL, 0, T_START);
	am_sink_fire(r.sink, NULL, 0, NULL, 0, T_START);
	am_sink_fire(r.sink, good, 1, bad_ann, 1, T_START);
	am_sink_fire(r.sink, good, 1, bad_ann_value, 1, T_START);
	am_sink_resolve(r.sink, bad_name, 2, T_END);
	assert_int_equal(visit(r.sink).total, 0);
	am_sink_stats(r.sink, &st);
	assert_int_equal(st.alerts_active, 0);
	assert_int_equal(st.alerts_pending_resolve, 0);
	assert_true(am_sink_idle(r.sink));
	rig_close(&r);
}

static void test_new_rejects_bad_urls(void **state)
{
	const char *ftp[] = {"http://127.0.0.1:9093", "ftp://user:secret@host/"};
	struct am_sink_conf c = {.urls = ftp, .n_urls = 2};
	struct event_base *base = event_base_new();

	(void)state;
	assert_null(am_sink_new(base, NULL, &c));
	event_base_free(base);
}

/* ---- bookkeeping ---- */

static void test_fire_update_resolve(void **state)
{
	const char *urls[] = {"http://127.0.0.1:1", "http://127.0.0.1:2/"};
	const struct am_kv l_ab[] = {{"alertname", "Down"}, {"target", "pool1"}, {"zone", ""}};
	const struct am_kv l_ba[] = {{"target", "pool1"}, {"alertname", "Down"}};
	const struct am_kv ann1[] = {{"summary", "first"}};
	const struct am_kv ann2[] = {{"summary", "second"}, {"description", "more"}};
	struct rig r;
	struct seen v;
	struct am_stats st;

	(void)state;
	rig_open(&r, urls, 2, 0);
	assert_true(am_sink_idle(r.sink));
	am_sink_fire(r.sink, l_ab, 3, ann1, 1, T_START);
	assert_false(am_sink_idle(r.sink)); /* due on both URLs, posted on the next loop turn */
	v = visit(r.sink);
	assert_int_equal(v.total, 1);
	assert_string_equal(v.lines[0], "A|alertname=Down,target=pool1|summary=first|1795341600|0");

	/* same identity in another order (the empty label does not count): an update */
	am_sink_fire(r.sink, l_ba, 2, ann2, 2, T_START);
	v = visit(r.sink);
	assert_int_equal(v.total, 1);
	assert_string_equal(
	    v.lines[0],
	    "A|alertname=Down,target=pool1|description=more,summary=second|1795341600|0");
	am_sink_stats(r.sink, &st);
	assert_int_equal(st.alerts_active, 1);
	assert_int_equal(st.alerts_pending_resolve, 0);
	assert_int_equal(st.posts_ok + st.posts_failed, 0);
	assert_int_equal(st.last_success, 0);

	/* resolve keeps the last annotations until delivered */
	am_sink_resolve(r.sink, l_ab, 3, T_END);
	v = visit(r.sink);
	assert_int_equal(v.total, 1);
	assert_string_equal(
	    v.lines[0],
	    "R|alertname=Down,target=pool1|description=more,summary=second|1795341600|1795341900");
	am_sink_stats(r.sink, &st);
	assert_int_equal(st.alerts_active, 0);
	assert_int_equal(st.alerts_pending_resolve, 1);

	/* resolving again changes nothing */
	am_sink_resolve(r.sink, l_ba, 2, T_END + 60);
	v = visit(r.sink);
	assert_string_equal(
	    v.lines[0],
	    "R|alertname=Down,target=pool1|description=more,summary=second|1795341600|1795341900");

	/* firing again reactivates it */
	am_sink_fire(r.sink, l_ba, 2, ann1, 1, T_END + 120);
	v = visit(r.sink);
	assert_int_equal(v.total, 1);
	assert_string_equal(v.lines[0], "A|alertname=Down,target=pool1|summary=first|1795342020|0");
	am_sink_stats(r.sink, &st);
	assert_int_equal(st.alerts_active, 1);
	assert_int_equal(st.alerts_pending_resolve, 0);
	rig_close(&r);
}

static void test_resolve_unknown_and_clamp(void **state)
{
	const char *urls[] = {"http://127.0.0.1:1"};
	const struct am_kv restored[] = {{"alertname", "Restored"}};
	const struct am_kv early[] = {{"alertname", "Early"}};
	const struct am_kv now_l[] = {{"alertname", "Now"}};
	struct rig r;
	struct seen v;
	int64_t before = (int64_t)time(NULL), ends;

	(void)state;
	rig_open(&r, urls, 1, 0);
	am_sink_resolve(r.sink, restored, 1, T_END);
	am_sink_fire(r.sink, early, 1, NULL, 0, T_END);
	am_sink_resolve(r.sink, early, 1, T_START); /* before its start: clamped */
	am_sink_fire(r.sink, now_l, 1, NULL, 0, 0);
	am_sink_resolve(r.sink, now_l, 1, 0); /* 0 = now */
	v = visit(r.sink);
	assert_int_equal(v.total, 3);
	assert_string_equal(v.lines[0], "R|alertname=Restored||0|1795341900");
	assert_string_equal(v.lines[1], "R|alertname=Early||1795341900|1795341900");
	assert_int_equal(strncmp(v.lines[2], "R|alertname=Now||0|", 19), 0);
	ends = strtoll(v.lines[2] + 19, NULL, 10);
	assert_true(ends >= before && ends <= (int64_t)time(NULL));
	rig_close(&r);
}

static void test_no_urls(void **state)
{
	const struct am_kv l[] = {{"alertname", "x"}};
	struct rig r;

	(void)state;
	rig_open(&r, NULL, 0, 0);
	am_sink_fire(r.sink, l, 1, NULL, 0, T_START);
	assert_int_equal(visit(r.sink).total, 1);
	assert_true(am_sink_idle(r.sink));
	am_sink_resolve(r.sink, l, 1, T_END); /* nowhere to deliver: forgotten at once */
	assert_int_equal(visit(r.sink).total, 0);
	rig_close(&r);
}

static void test_resolve_cap_drops_oldest(void **state)
{
	const char *urls[] = {"http://127.0.0.1:1"};
	struct rig r;
	struct seen v;
	struct am_stats st;
	char value[32];
	struct am_kv l[2] = {{"alertname", "Many"}, {"n", value}};

	(void)state;
	rig_open(&r, urls, 1, 0);
	for (int i = 0; i <= AM_MAX_PENDING_RESOLVES; i++) {
		snprintf(value, sizeof value, "%d", i);
		am_sink_resolve(r.sink, l, 2, T_END);
	}
	am_sink_stats(r.sink, &st);
	assert_int_equal(st.alerts_pending_resolve, AM_MAX_PENDING_RESOLVES);
	v = visit(r.sink);
	assert_int_equal(v.total, AM_MAX_PENDING_RESOLVES);
	assert_string_equal(v.lines[0], "R|alertname=Many,n=1||0|1795341900"); /* 0 dropped */
	rig_close(&r);
}

/* ---- delivery against a scripted stand-in ---- */

struct fake_am {
	struct evhttp *http;
	int port;
	char url[64];
	int script[8]; /* status per request; 200 past the end */
	size_t n_script;
	size_t requests;
	size_t alerts[32]; /* alerts per request */
	char *last_body;
	bool bad_request_line; /* path or Content-Type not as Alertmanager wants */
	struct am_sink *sink;  /* with on_request: called while the POST is in flight */
	void (*on_request)(struct fake_am *f);
};

static void fake_am_cb(struct evhttp_request *req, void *arg)
{
	struct fake_am *f = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	int status = f->requests < f->n_script ? f->script[f->requests] : 200;
	json_t *j;

	free(f->last_body);
	f->last_body = malloc(len + 1);
	assert_non_null(f->last_body);
	evbuffer_remove(in, f->last_body, len);
	f->last_body[len] = '\0';
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST ||
	    strcmp(evhttp_request_get_uri(req), "/api/v2/alerts") != 0 || ct == NULL ||
	    strcmp(ct, "application/json") != 0)
		f->bad_request_line = true;
	j = parse(f->last_body);
	if (f->requests < N_ELEMS(f->alerts))
		f->alerts[f->requests] = json_array_size(j);
	json_decref(j);
	f->requests++;
	if (f->on_request != NULL)
		f->on_request(f);
	if (status >= 400) {
		struct evbuffer *out = evbuffer_new();
		evbuffer_add_printf(out, "{\"code\":%d,\"message\":\"scripted\"}", status);
		evhttp_send_reply(req, status, "Scripted", out);
		evbuffer_free(out);
	} else {
		evhttp_send_reply(req, status, "OK", NULL);
	}
}

static void fake_am_start(struct fake_am *f, struct event_base *base)
{
	struct evhttp_bound_socket *h;
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;

	memset(f, 0, sizeof *f);
	f->http = evhttp_new(base);
	assert_non_null(f->http);
	h = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0);
	assert_non_null(h);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(h), (struct sockaddr *)&sa, &sl),
	                 0);
	f->port = ntohs(sa.sin_port);
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", f->port);
	evhttp_set_gencb(f->http, fake_am_cb, f);
}

static void fake_am_stop(struct fake_am *f)
{
	if (f->http != NULL)
		evhttp_free(f->http);
	f->http = NULL;
	free(f->last_body);
	f->last_body = NULL;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run the loop until the sink is idle (or, with until_idle false, for ms). */
static void run_loop(struct rig *r, uint64_t ms, bool until_idle)
{
	struct event *ev = event_new(r->base, -1, EV_PERSIST, tick, NULL);
	struct timeval tv = {0, 20000};
	uint64_t end = clock_now_ms() + ms;

	event_add(ev, &tv);
	while (clock_now_ms() < end && !(until_idle && am_sink_idle(r->sink)))
		event_base_loop(r->base, EVLOOP_ONCE);
	event_free(ev);
}

static void test_retry_after_503(void **state)
{
	const struct am_kv fired[] = {{"alertname", "Fired"}};
	const struct am_kv gone[] = {{"alertname", "Gone"}};
	struct fake_am f;
	struct rig r = {0};
	struct am_stats st;
	const char *urls[1];
	struct am_sink_conf c = {.urls = urls, .n_urls = 1, .timeout_ms = 2000};
	uint64_t t0;

	(void)state;
	r.base = event_base_new();
	r.http = http_client_new(r.base);
	fake_am_start(&f, r.base);
	urls[0] = f.url;
	r.sink = am_sink_new(r.base, r.http, &c);
	f.script[0] = 503;
	f.n_script = 1;
	t0 = clock_now_ms();
	am_sink_fire(r.sink, fired, 1, NULL, 0, T_START);
	am_sink_resolve(r.sink, gone, 1, T_END);
	run_loop(&r, 5000, true);
	assert_true(am_sink_idle(r.sink));
	assert_false(f.bad_request_line);
	assert_int_equal(f.requests, 2);
	assert_int_equal(f.alerts[0], 2); /* one batch with both */
	assert_int_equal(f.alerts[1], 2);
	assert_true(clock_now_ms() - t0 >= 900); /* first backoff step: 1 s */
	am_sink_stats(r.sink, &st);
	assert_int_equal(st.posts_failed, 1);
	assert_int_equal(st.posts_ok, 1);
	assert_true(st.last_success > 0);
	assert_int_equal(st.alerts_active, 1);
	assert_int_equal(st.alerts_pending_resolve, 0); /* delivered, forgotten */
	fake_am_stop(&f);
	rig_close(&r);
}

static void test_400_drops_without_retry(void **state)
{
	const struct am_kv l[] = {{"alertname", "Rejected"}};
	struct fake_am f;
	struct rig r = {0};
	struct am_stats st;
	const char *urls[1];
	struct am_sink_conf c = {.urls = urls, .n_urls = 1, .timeout_ms = 2000};

	(void)state;
	r.base = event_base_new();
	r.http = http_client_new(r.base);
	fake_am_start(&f, r.base);
	urls[0] = f.url;
	r.sink = am_sink_new(r.base, r.http, &c);
	f.script[0] = 400;
	f.n_script = 1;
	am_sink_resolve(r.sink, l, 1, T_END);
	run_loop(&r, 3000, true);
	assert_true(am_sink_idle(r.sink));
	run_loop(&r, 300, false); /* and nothing more comes */
	assert_int_equal(f.requests, 1);
	am_sink_stats(r.sink, &st);
	assert_int_equal(st.posts_failed, 1);
	assert_int_equal(st.posts_ok, 0);
	assert_int_equal(st.alerts_pending_resolve, 0); /* dropped after logging */
	fake_am_stop(&f);
	rig_close(&r);
}

static void test_batches_of_256(void **state)
{
	struct fake_am f;
	struct rig r = {0};
	const char *urls[1];
	struct am_sink_conf c = {.urls = urls, .n_urls = 1, .timeout_ms = 2000};
	char value[16];
	struct am_kv l[2] = {{"alertname", "Batch"}, {"n", value}};

	(void)state;
	r.base = event_base_new();
	r.http = http_client_new(r.base);
	fake_am_start(&f, r.base);
	urls[0] = f.url;
	r.sink = am_sink_new(r.base, r.http, &c);
	for (int i = 0; i < 300; i++) {
		snprintf(value, sizeof value, "%d", i);
		am_sink_fire(r.sink, l, 2, NULL, 0, T_START);
	}
	run_loop(&r, 3000, true);
	assert_true(am_sink_idle(r.sink));
	assert_int_equal(f.requests, 2);
	assert_int_equal(f.alerts[0], AM_BATCH_MAX);
	assert_int_equal(f.alerts[1], 300 - AM_BATCH_MAX);
	fake_am_stop(&f);
	rig_close(&r);
}

static void change_in_flight(struct fake_am *f)
{
	const struct am_kv l[] = {{"alertname", "Changing"}};
	const struct am_kv ann[] = {{"summary", "second"}};

	if (f->requests == 1)
		am_sink_fire(f->sink, l, 1, ann, 1, T_START);
}

static void test_change_while_in_flight(void **state)
{
	const struct am_kv l[] = {{"alertname", "Changing"}};
	const struct am_kv ann[] = {{"summary", "first"}};
	struct fake_am f;
	struct rig r = {0};
	const char *urls[1];
	struct am_sink_conf c = {.urls = urls, .n_urls = 1, .timeout_ms = 2000};
	json_t *j;

	(void)state;
	r.base = event_base_new();
	r.http = http_client_new(r.base);
	fake_am_start(&f, r.base);
	urls[0] = f.url;
	r.sink = am_sink_new(r.base, r.http, &c);
	f.sink = r.sink;
	f.on_request = change_in_flight;
	am_sink_fire(r.sink, l, 1, ann, 1, T_START);
	run_loop(&r, 3000, true);
	assert_int_equal(f.requests, 2); /* the 200 for "first" did not settle "second" */
	j = parse(f.last_body);
	assert_string_equal(jstr(json_object_get(json_array_get(j, 0), "annotations"), "summary"),
	                    "second");
	json_decref(j);
	fake_am_stop(&f);
	rig_close(&r);
}

static void test_resend_and_one_url_down(void **state)
{
	const struct am_kv l[] = {{"alertname", "Resent"}};
	struct fake_am up, down;
	struct rig r = {0};
	const char *urls[2];
	struct am_sink_conf c = {
	    .urls = urls, .n_urls = 2, .timeout_ms = 2000, .resend_interval_ms = 300};
	struct am_stats st;

	(void)state;
	r.base = event_base_new();
	r.http = http_client_new(r.base);
	fake_am_start(&up, r.base);
	fake_am_start(&down, r.base);
	urls[0] = up.url;
	urls[1] = down.url;
	fake_am_stop(&down); /* its port now refuses */
	r.sink = am_sink_new(r.base, r.http, &c);
	am_sink_fire(r.sink, l, 1, NULL, 0, T_START);
	run_loop(&r, 1100, false);
	assert_true(up.requests >= 3); /* at once, then every 300 ms */
	assert_true(up.requests <= 5);
	am_sink_stats(r.sink, &st);
	assert_true(st.posts_failed >= 1 && st.posts_failed <= 3); /* 1 s backoff: few tries */
	assert_false(am_sink_idle(r.sink));

	am_sink_resolve(r.sink, l, 1, T_END);
	run_loop(&r, 200, false);
	am_sink_stats(r.sink, &st);
	assert_int_equal(st.alerts_pending_resolve, 1); /* delivered to one URL of two */
	fake_am_stop(&up);
	rig_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_fields),
	    cmocka_unit_test(test_render_optional_and_escaping),
	    cmocka_unit_test(test_label_name_valid),
	    cmocka_unit_test(test_fire_rejects_invalid),
	    cmocka_unit_test(test_new_rejects_bad_urls),
	    cmocka_unit_test(test_fire_update_resolve),
	    cmocka_unit_test(test_resolve_unknown_and_clamp),
	    cmocka_unit_test(test_no_urls),
	    cmocka_unit_test(test_resolve_cap_drops_oldest),
	    cmocka_unit_test(test_retry_after_503),
	    cmocka_unit_test(test_400_drops_without_retry),
	    cmocka_unit_test(test_batches_of_256),
	    cmocka_unit_test(test_change_while_in_flight),
	    cmocka_unit_test(test_resend_and_one_url_down),
	};
	int rc;

	if (http_client_global_init() == -1)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	http_client_global_cleanup();
	return rc;
}
