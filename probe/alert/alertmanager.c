/*
 * alertmanager: the Alertmanager API v2 sink (see alertmanager.h). Alerts live in a
 * hash keyed by their sorted label set and in one of two ordered lists, active or
 * resolved (oldest resolve first, so the cap drops the oldest). Each URL is a target
 * with at most one POST in flight, a per-alert "due" flag, a backoff and a resend
 * clock, all driven by one timer. An alert's version changes with its content, so a
 * change made while a POST is in flight is posted again instead of being marked done.
 */
#include "alert/alertmanager.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/http_client.h"

#define AM_DEFAULT_RESEND_MS 60000
#define AM_DEFAULT_TIMEOUT_MS 10000
#define AM_BACKOFF_MIN_MS 1000
#define AM_BACKOFF_MAX_MS 60000
#define AM_HASH_BUCKETS 4096
#define AM_RESPONSE_MAX (64 * 1024)
#define AM_API_PATH "/api/v2/alerts"

struct am_alert {
	struct am_kv *labels; /* sorted by name; strings in label_store */
	size_t n_labels;
	char *label_store;
	struct am_kv *ann; /* sorted by name; strings in ann_store */
	size_t n_ann;
	char *ann_store;
	uint64_t hash;
	int64_t starts_at;
	int64_t ends_at;
	bool resolved;
	uint64_t version; /* bumped by every change that must be posted */
	bool *due;        /* per target: must be posted there */
	size_t n_due;
	struct am_alert *prev, *next; /* in sink->active or sink->resolved */
	struct am_alert *hnext;       /* hash chain */
};

struct am_list {
	struct am_alert *head, *tail;
	size_t n;
};

/* What a POST in flight carries; alert is NULLed if the alert is freed meanwhile. */
struct am_batch_entry {
	struct am_alert *alert;
	uint64_t version;
};

struct am_target {
	struct am_sink *sink;
	size_t index;
	char *post_url; /* may carry user:password@: never logged */
	char *log_url;  /* userinfo redacted */
	struct event *timer;
	struct http_request *req;
	struct am_batch_entry batch[AM_BATCH_MAX];
	size_t n_batch;
	size_t n_due;            /* alerts due here */
	uint64_t backoff_ms;     /* 0 while healthy */
	uint64_t retry_at_ms;    /* monotonic; no POST before */
	uint64_t next_resend_ms; /* monotonic; every active alert becomes due then */
	unsigned failures;       /* failed POSTs in a row */
};

struct am_sink {
	struct event_base *base;
	struct http_client *http;
	struct am_target *targets;
	size_t n_targets;
	uint64_t resend_ms;
	uint64_t timeout_ms;
	uint64_t backoff_max_ms;
	char *generator_url; /* NULL: none */
	char *trust_store;   /* NULL: system bundle */
	struct am_alert *buckets[AM_HASH_BUCKETS];
	struct am_list active;
	struct am_list resolved;
	uint64_t posts_ok, posts_failed;
	int64_t last_success;
};

/* ---- validation ---- */

bool am_label_name_valid(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return false;
	for (size_t i = 0; name[i] != '\0'; i++) {
		char c = name[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
		if (!alpha && (i == 0 || c < '0' || c > '9'))
			return false;
	}
	return true;
}

/* Go's utf8.ValidString, which Alertmanager applies: no overlongs, surrogates or
 * code points past U+10FFFF. */
static bool am_utf8_valid(const char *str)
{
	const unsigned char *p = (const unsigned char *)str;

	while (*p != '\0') {
		unsigned c = *p, cp, min;
		size_t len;

		if (c < 0x80) {
			p++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			len = 2;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			min = 0x10000;
		} else {
			return false;
		}
		cp = c & (0x7fu >> len); /* the payload bits of the lead byte */
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += len;
	}
	return true;
}

/* A caller's name, made printable for a log line (it failed validation). */
static void am_printable(char *buf, size_t len, const char *s)
{
	size_t j = 0;

	for (size_t i = 0; s != NULL && s[i] != '\0' && j + 1 < len; i++)
		buf[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	buf[j] = '\0';
}

static int am_kv_cmp(const void *x, const void *y)
{
	const struct am_kv *a = x, *b = y;

	return strcmp(a->name, b->name);
}

/*
 * Check pairs the way Alertmanager's Validate() does and sort them by name into *out
 * (malloced, pointing at the caller's strings; the caller frees it). Labels with an
 * empty value are left out (Alertmanager's removeEmptyLabels). 0, or -1 after log_warn.
 */
static int am_normalize(const char *what, const struct am_kv *in, size_t n, bool labels,
                        struct am_kv **out, size_t *n_out)
{
	struct am_kv *kv = xcalloc(n > 0 ? n : 1, sizeof *kv);
	char shown[80];
	size_t m = 0;

	if (n > 0 && in == NULL) {
		log_warn("alertmanager: %zu %ss without an array, alert rejected", n, what);
		goto bad;
	}
	for (size_t i = 0; i < n; i++) {
		if (!am_label_name_valid(in[i].name)) {
			am_printable(shown, sizeof shown, in[i].name);
			log_warn("alertmanager: invalid %s name \"%s\" (must match "
			         "[a-zA-Z_][a-zA-Z0-9_]*), alert rejected",
			         what, shown);
			goto bad;
		}
		if (in[i].value == NULL || !am_utf8_valid(in[i].value)) {
			log_warn("alertmanager: the value of %s %s is missing or not UTF-8, alert "
			         "rejected",
			         what, in[i].name);
			goto bad;
		}
		if (labels && in[i].value[0] == '\0')
			continue;
		kv[m++] = in[i];
	}
	if (m > 1)
		qsort(kv, m, sizeof *kv, am_kv_cmp);
	for (size_t i = 1; i < m; i++) {
		if (strcmp(kv[i - 1].name, kv[i].name) == 0) {
			log_warn("alertmanager: %s %s given twice, alert rejected", what,
			         kv[i].name);
			goto bad;
		}
	}
	if (labels && m == 0) {
		log_warn("alertmanager: no label with a value, alert rejected");
		goto bad;
	}
	*out = kv;
	*n_out = m;
	return 0;
bad:
	free(kv);
	return -1;
}

/* ---- alert bookkeeping ---- */

/* Copy pairs into one string block: *kv points into *store; both malloced. */
static void am_kv_store(const struct am_kv *in, size_t n, struct am_kv **kv, char **store)
{
	size_t total = 1;
	char *p;

	for (size_t i = 0; i < n; i++)
		total += strlen(in[i].name) + strlen(in[i].value) + 2;
	*store = p = xmalloc(total);
	*kv = n > 0 ? xcalloc(n, sizeof **kv) : NULL;
	for (size_t i = 0; i < n; i++) {
		size_t ln = strlen(in[i].name) + 1, lv = strlen(in[i].value) + 1;
		memcpy(p, in[i].name, ln);
		(*kv)[i].name = p;
		p += ln;
		memcpy(p, in[i].value, lv);
		(*kv)[i].value = p;
		p += lv;
	}
}

static bool am_kv_equal(const struct am_kv *a, size_t na, const struct am_kv *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) != 0 || strcmp(a[i].value, b[i].value) != 0)
			return false;
	return true;
}

/* FNV-1a over the sorted pairs, each string with its NUL. */
static uint64_t am_hash(const struct am_kv *kv, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		const char *parts[2] = {kv[i].name, kv[i].value};
		for (size_t k = 0; k < 2; k++) {
			const unsigned char *p = (const unsigned char *)parts[k];
			do {
				h ^= *p;
				h *= 1099511628211ull;
			} while (*p++ != '\0');
		}
	}
	return h;
}

static struct am_alert *am_find(const struct am_sink *s, const struct am_kv *kv, size_t n,
                                uint64_t hash)
{
	struct am_alert *a = s->buckets[hash % AM_HASH_BUCKETS];

	while (a != NULL && (a->hash != hash || !am_kv_equal(a->labels, a->n_labels, kv, n)))
		a = a->hnext;
	return a;
}

static void am_list_append(struct am_list *l, struct am_alert *a)
{
	a->next = NULL;
	a->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = a;
	else
		l->head = a;
	l->tail = a;
	l->n++;
}

static void am_list_remove(struct am_list *l, struct am_alert *a)
{
	if (a->prev != NULL)
		a->prev->next = a->next;
	else
		l->head = a->next;
	if (a->next != NULL)
		a->next->prev = a->prev;
	else
		l->tail = a->prev;
	a->prev = a->next = NULL;
	l->n--;
}

/* A new alert (in no list yet) with a copy of the sorted labels, hashed in. */
static struct am_alert *am_alert_new(struct am_sink *s, const struct am_kv *labels, size_t n,
                                     uint64_t hash)
{
	struct am_alert *a = xcalloc(1, sizeof *a);

	am_kv_store(labels, n, &a->labels, &a->label_store);
	a->n_labels = n;
	am_kv_store(NULL, 0, &a->ann, &a->ann_store);
	a->hash = hash;
	a->due = xcalloc(s->n_targets > 0 ? s->n_targets : 1, sizeof *a->due);
	a->hnext = s->buckets[hash % AM_HASH_BUCKETS];
	s->buckets[hash % AM_HASH_BUCKETS] = a;
	return a;
}

static void am_alert_release(struct am_alert *a)
{
	free(a->labels);
	free(a->label_store);
	free(a->ann);
	free(a->ann_store);
	free(a->due);
	free(a);
}

static void am_set_due(struct am_sink *s, struct am_alert *a, size_t i, bool due)
{
	if (a->due[i] == due)
		return;
	a->due[i] = due;
	if (due) {
		a->n_due++;
		s->targets[i].n_due++;
	} else {
		a->n_due--;
		s->targets[i].n_due--;
	}
}

/* Forget a: out of its list, the hash, every target's count and batch. */
static void am_alert_free(struct am_sink *s, struct am_alert *a)
{
	struct am_alert **pp = &s->buckets[a->hash % AM_HASH_BUCKETS];

	while (*pp != a)
		pp = &(*pp)->hnext;
	*pp = a->hnext;
	am_list_remove(a->resolved ? &s->resolved : &s->active, a);
	for (size_t i = 0; i < s->n_targets; i++) {
		struct am_target *t = &s->targets[i];
		am_set_due(s, a, i, false);
		for (size_t k = 0; k < t->n_batch; k++)
			if (t->batch[k].alert == a)
				t->batch[k].alert = NULL;
	}
	am_alert_release(a);
}

/* {alertname="x",target="y"} for log lines, truncated to the buffer. */
static void am_alert_describe(const struct am_alert *a, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < a->n_labels && used + 1 < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s=\"%s\"", i ? "," : "{",
		                 a->labels[i].name, a->labels[i].value);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (used + 1 < len)
		snprintf(buf + used, len - used, "}");
}

static struct am_alert_view am_view(const struct am_alert *a)
{
	struct am_alert_view v = {
	    .labels = a->labels,
	    .n_labels = a->n_labels,
	    .annotations = a->ann,
	    .n_ann = a->n_ann,
	    .starts_at = a->starts_at,
	    .resolved = a->resolved,
	    .ends_at = a->ends_at,
	};
	return v;
}

/* ---- rendering ---- */

static void am_rfc3339(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

/* jansson refuses (NULL value, -1) what is not UTF-8: such pairs are left out. */
static json_t *am_render_pairs(const struct am_kv *kv, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++) {
		if (kv[i].name == NULL || kv[i].value == NULL)
			continue;
		json_object_set_new(o, kv[i].name, json_string(kv[i].value));
	}
	return o;
}

char *am_render(const struct am_alert_view *alerts, size_t n, const char *generator_url)
{
	json_t *arr = json_array();
	char ts[40];
	char *out;

	for (size_t i = 0; i < n; i++) {
		const struct am_alert_view *v = &alerts[i];
		json_t *o = json_object();

		json_object_set_new(o, "labels", am_render_pairs(v->labels, v->n_labels));
		if (v->n_ann > 0)
			json_object_set_new(o, "annotations",
			                    am_render_pairs(v->annotations, v->n_ann));
		if (v->starts_at != 0) {
			am_rfc3339(v->starts_at, ts, sizeof ts);
			json_object_set_new(o, "startsAt", json_string(ts));
		}
		if (v->resolved) {
			am_rfc3339(v->ends_at, ts, sizeof ts);
			json_object_set_new(o, "endsAt", json_string(ts));
		}
		if (generator_url != NULL && generator_url[0] != '\0')
			json_object_set_new(o, "generatorURL", json_string(generator_url));
		json_array_append_new(arr, o);
	}
	out = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (out == NULL) {
		log_err("alertmanager: out of memory rendering %zu alerts", n);
		abort();
	}
	return out;
}

/* ---- delivery ---- */

static void am_target_post(struct am_target *t);

/* Arm t's timer for its next step; a POST in flight reschedules when it ends. */
static void am_target_schedule(struct am_target *t)
{
	struct am_sink *s = t->sink;
	uint64_t now = clock_now_ms(), at, delay;
	struct timeval tv;

	if (t->req != NULL) {
		evtimer_del(t->timer);
		return;
	}
	if (t->n_due > 0) {
		at = t->retry_at_ms > now ? t->retry_at_ms : now;
	} else if (s->active.n > 0) {
		at = t->next_resend_ms;
	} else {
		evtimer_del(t->timer);
		return;
	}
	delay = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)((delay % 1000) * 1000);
	evtimer_add(t->timer, &tv);
}

static void am_target_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct am_target *t = arg;
	struct am_sink *s = t->sink;
	uint64_t now = clock_now_ms();

	(void)fd;
	(void)what;
	if (now >= t->next_resend_ms) {
		for (struct am_alert *a = s->active.head; a != NULL; a = a->next)
			am_set_due(s, a, t->index, true);
		t->next_resend_ms = now + s->resend_ms;
	}
	if (t->req == NULL && t->n_due > 0 && now >= t->retry_at_ms)
		am_target_post(t);
	am_target_schedule(t);
}

/* The POST ended with a verdict (taken or rejected): what it carried is no longer due
 * here unless it changed meanwhile; resolves delivered everywhere are forgotten. */
static void am_batch_settle(struct am_target *t)
{
	struct am_sink *s = t->sink;

	for (size_t k = 0; k < t->n_batch; k++) {
		struct am_alert *a = t->batch[k].alert;
		if (a == NULL)
			continue;
		if (a->version == t->batch[k].version)
			am_set_due(s, a, t->index, false);
		if (a->resolved && a->n_due == 0)
			am_alert_free(s, a);
	}
	t->n_batch = 0;
}

/* Start of a response body for a log line: printable ASCII only. */
static void am_body_snippet(char *buf, size_t len, const struct bbuf *body)
{
	size_t j = 0;

	for (size_t i = 0; i < body->len && j + 1 < len; i++) {
		unsigned char c = body->data[i];
		buf[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
	}
	buf[j] = '\0';
}

static void am_target_done(struct http_response *resp, void *arg)
{
	struct am_target *t = arg;
	struct am_sink *s = t->sink;
	bool answered = resp->error == TXN_OK;
	char detail[240];

	t->req = NULL;
	if (answered && resp->status >= 200 && resp->status < 300) {
		s->posts_ok++;
		s->last_success = (int64_t)time(NULL);
		if (t->failures > 0)
			log_info("alertmanager %s: delivering again after %u failed posts",
			         t->log_url, t->failures);
		t->failures = 0;
		t->backoff_ms = 0;
		t->retry_at_ms = 0;
		am_batch_settle(t);
	} else if (answered && resp->status >= 400 && resp->status < 500 && resp->status != 429) {
		/* The payload (or our URL or credentials) is wrong: retrying cannot help.
		 * Alertmanager stores the valid alerts of a batch even when it answers 400. */
		s->posts_failed++;
		am_body_snippet(detail, sizeof detail, &resp->body);
		log_warn("alertmanager %s: HTTP %ld, %zu alerts dropped: %s", t->log_url,
		         resp->status, t->n_batch, detail);
		t->failures = 0;
		t->backoff_ms = 0;
		t->retry_at_ms = 0;
		am_batch_settle(t);
	} else {
		s->posts_failed++;
		t->failures++;
		t->backoff_ms = t->backoff_ms == 0 ? AM_BACKOFF_MIN_MS : t->backoff_ms * 2;
		if (t->backoff_ms > s->backoff_max_ms)
			t->backoff_ms = s->backoff_max_ms;
		t->retry_at_ms = clock_now_ms() + t->backoff_ms;
		if (answered)
			snprintf(detail, sizeof detail, "HTTP %ld", resp->status);
		else
			snprintf(detail, sizeof detail, "%s: %s", txn_status_code(resp->error),
			         resp->error_detail);
		if (t->failures == 1)
			log_warn("alertmanager %s: post of %zu alerts failed (%s), retrying with "
			         "backoff",
			         t->log_url, t->n_batch, detail);
		else
			log_debug(
			    "alertmanager %s: post failed again (%s), attempt %u, next in %llu ms",
			    t->log_url, detail, t->failures, (unsigned long long)t->backoff_ms);
		t->n_batch = 0;
	}
	am_target_schedule(t);
}

/* POST what is due here, resolves first (they are what must not be lost). */
static void am_target_post(struct am_target *t)
{
	struct am_sink *s = t->sink;
	struct am_list *lists[2] = {&s->resolved, &s->active};
	struct am_alert_view *views = xcalloc(AM_BATCH_MAX, sizeof *views);
	struct http_request_opts o;
	char *body;

	t->n_batch = 0;
	for (size_t l = 0; l < 2; l++) {
		for (struct am_alert *a = lists[l]->head; a != NULL && t->n_batch < AM_BATCH_MAX;
		     a = a->next) {
			if (!a->due[t->index])
				continue;
			views[t->n_batch] = am_view(a);
			t->batch[t->n_batch].alert = a;
			t->batch[t->n_batch].version = a->version;
			t->n_batch++;
		}
	}
	body = am_render(views, t->n_batch, s->generator_url);
	memset(&o, 0, sizeof o);
	o.url = t->post_url;
	o.post = true;
	o.body = body;
	o.body_len = strlen(body);
	o.content_type = "application/json";
	o.timeout_ms = s->timeout_ms;
	o.max_body = AM_RESPONSE_MAX;
	o.trust_store = s->trust_store;
	log_debug("alertmanager %s: posting %zu alerts", t->log_url, t->n_batch);
	t->req = http_client_start(s->http, &o, am_target_done, t);
	free(body);
	free(views);
}

/* a changed: post it everywhere on the next loop turn (batched with its neighbours). */
static void am_alert_changed(struct am_sink *s, struct am_alert *a)
{
	a->version++;
	for (size_t i = 0; i < s->n_targets; i++) {
		am_set_due(s, a, i, true);
		am_target_schedule(&s->targets[i]);
	}
}

/* ---- the API ---- */

/* "scheme://[redacted]@host/..." when the URL carries userinfo. malloced. */
static char *am_redact_url(const char *url)
{
	const char *auth = strstr(url, "://");
	const char *end, *at = NULL;

	if (auth == NULL)
		return xstrdup(url);
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return xstrdup(url);
	return xasprintf("%.*s[redacted]%s", (int)(auth - url), url, at);
}

struct am_sink *am_sink_new(struct event_base *base, struct http_client *http,
                            const struct am_sink_conf *conf)
{
	struct am_sink *s;
	uint64_t now = clock_now_ms();

	for (size_t i = 0; i < conf->n_urls; i++) {
		const char *u = conf->urls[i];
		if (u == NULL ||
		    (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)) {
			char *shown = am_redact_url(u != NULL ? u : "(null)");
			log_warn("alertmanager: URL %s is not http:// or https://", shown);
			free(shown);
			return NULL;
		}
	}
	s = xcalloc(1, sizeof *s);
	s->base = base;
	s->http = http;
	s->resend_ms =
	    conf->resend_interval_ms > 0 ? conf->resend_interval_ms : AM_DEFAULT_RESEND_MS;
	s->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : AM_DEFAULT_TIMEOUT_MS;
	s->backoff_max_ms = s->resend_ms < AM_BACKOFF_MAX_MS ? s->resend_ms : AM_BACKOFF_MAX_MS;
	if (s->backoff_max_ms < AM_BACKOFF_MIN_MS)
		s->backoff_max_ms = AM_BACKOFF_MIN_MS;
	if (conf->generator_url != NULL && conf->generator_url[0] != '\0')
		s->generator_url = xstrdup(conf->generator_url);
	if (conf->trust_store != NULL)
		s->trust_store = xstrdup(conf->trust_store);
	s->n_targets = conf->n_urls;
	s->targets = xcalloc(s->n_targets > 0 ? s->n_targets : 1, sizeof *s->targets);
	for (size_t i = 0; i < s->n_targets; i++) {
		struct am_target *t = &s->targets[i];
		size_t len = strlen(conf->urls[i]);

		while (len > 0 && conf->urls[i][len - 1] == '/')
			len--;
		t->sink = s;
		t->index = i;
		t->post_url = xasprintf("%.*s%s", (int)len, conf->urls[i], AM_API_PATH);
		t->log_url = am_redact_url(conf->urls[i]);
		t->next_resend_ms = now + s->resend_ms;
		t->timer = evtimer_new(base, am_target_on_timer, t);
		if (t->timer == NULL) {
			log_err("alertmanager: cannot create a timer");
			abort();
		}
	}
	return s;
}

void am_sink_free(struct am_sink *s)
{
	struct am_list *lists[2];

	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_targets; i++) {
		struct am_target *t = &s->targets[i];
		http_request_cancel(t->req);
		t->req = NULL;
		event_free(t->timer);
		free(t->post_url);
		free(t->log_url);
	}
	lists[0] = &s->active;
	lists[1] = &s->resolved;
	for (size_t l = 0; l < 2; l++) {
		struct am_alert *a = lists[l]->head;
		while (a != NULL) {
			struct am_alert *next = a->next;
			am_alert_release(a);
			a = next;
		}
	}
	free(s->targets);
	free(s->generator_url);
	free(s->trust_store);
	free(s);
}

void am_sink_fire(struct am_sink *s, const struct am_kv *labels, size_t n_labels,
                  const struct am_kv *annotations, size_t n_ann, int64_t starts_at)
{
	struct am_kv *lab = NULL, *ann = NULL;
	size_t nl = 0, na = 0;
	struct am_alert *a;
	uint64_t hash;
	bool changed = false;

	if (am_normalize("label", labels, n_labels, true, &lab, &nl) == -1)
		goto out;
	if (am_normalize("annotation", annotations, n_ann, false, &ann, &na) == -1)
		goto out;
	hash = am_hash(lab, nl);
	a = am_find(s, lab, nl, hash);
	if (a == NULL) {
		a = am_alert_new(s, lab, nl, hash);
		am_list_append(&s->active, a);
		changed = true;
	} else if (a->resolved) {
		am_list_remove(&s->resolved, a);
		a->resolved = false;
		a->ends_at = 0;
		am_list_append(&s->active, a);
		changed = true;
	}
	if (!am_kv_equal(a->ann, a->n_ann, ann, na)) {
		free(a->ann);
		free(a->ann_store);
		am_kv_store(ann, na, &a->ann, &a->ann_store);
		a->n_ann = na;
		changed = true;
	}
	if (a->starts_at != starts_at) {
		a->starts_at = starts_at;
		changed = true;
	}
	if (changed)
		am_alert_changed(s, a);
out:
	free(lab);
	free(ann);
}

void am_sink_resolve(struct am_sink *s, const struct am_kv *labels, size_t n_labels,
                     int64_t ends_at)
{
	struct am_kv *lab = NULL;
	size_t nl = 0;
	struct am_alert *a;
	uint64_t hash;
	char desc[256];

	if (am_normalize("label", labels, n_labels, true, &lab, &nl) == -1)
		goto out;
	if (ends_at <= 0)
		ends_at = (int64_t)time(NULL);
	hash = am_hash(lab, nl);
	a = am_find(s, lab, nl, hash);
	if (a != NULL && a->resolved)
		goto out;
	if (a == NULL)
		a = am_alert_new(s, lab, nl, hash);
	else
		am_list_remove(&s->active, a);
	/* Alertmanager rejects an endsAt before the startsAt */
	if (a->starts_at > 0 && ends_at < a->starts_at)
		ends_at = a->starts_at;
	a->resolved = true;
	a->ends_at = ends_at;
	am_list_append(&s->resolved, a);
	am_alert_changed(s, a);
	if (a->n_due == 0) { /* no URL to deliver to */
		am_alert_free(s, a);
	} else if (s->resolved.n > AM_MAX_PENDING_RESOLVES) {
		am_alert_describe(s->resolved.head, desc, sizeof desc);
		log_warn("alertmanager: more than %d resolves waiting for delivery, dropping the "
		         "oldest %s",
		         AM_MAX_PENDING_RESOLVES, desc);
		am_alert_free(s, s->resolved.head);
	}
out:
	free(lab);
}

void am_sink_foreach(const struct am_sink *s, am_visit_cb *cb, void *arg)
{
	const struct am_list *lists[2] = {&s->active, &s->resolved};

	for (size_t l = 0; l < 2; l++) {
		for (const struct am_alert *a = lists[l]->head; a != NULL; a = a->next) {
			struct am_alert_view v = am_view(a);
			cb(&v, arg);
		}
	}
}

bool am_sink_holds(const struct am_sink *s, const struct am_kv *labels, size_t n_labels)
{
	struct am_kv *lab = NULL;
	size_t nl = 0;
	bool found = false;

	if (am_normalize("label", labels, n_labels, true, &lab, &nl) == 0)
		found = am_find(s, lab, nl, am_hash(lab, nl)) != NULL;
	free(lab);
	return found;
}

void am_sink_stats(const struct am_sink *s, struct am_stats *out)
{
	memset(out, 0, sizeof *out);
	out->posts_ok = s->posts_ok;
	out->posts_failed = s->posts_failed;
	out->alerts_active = s->active.n;
	out->alerts_pending_resolve = s->resolved.n;
	out->last_success = s->last_success;
}

bool am_sink_idle(const struct am_sink *s)
{
	for (size_t i = 0; i < s->n_targets; i++)
		if (s->targets[i].req != NULL || s->targets[i].n_due > 0)
			return false;
	return true;
}
