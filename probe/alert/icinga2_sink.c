/*
 * icinga2_sink: the Icinga 2 passive-result sink (see icinga2_sink.h). Up to
 * ICINGA2_IN_FLIGHT POSTs at a time take the oldest queued results; a failure that
 * retrying can cure (Icinga down, a TLS or credential problem, a 5xx) keeps the result
 * queued and holds every POST back for a backoff that doubles up to a minute (or the
 * refresh interval), so an outage costs one attempt per backoff, not one per result.
 * The filter names host and service through filter_vars: no quoting of names in the
 * filter expression.
 */
#include "alert/icinga2_sink.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "alert/passive_queue.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/http_client.h"

#define ICINGA2_IN_FLIGHT 4
#define ICINGA2_BACKOFF_MIN_MS 1000
#define ICINGA2_BACKOFF_MAX_MS 60000
#define ICINGA2_RESPONSE_MAX (64 * 1024)
#define ICINGA2_API_PATH "/v1/actions/process-check-result"
#define ICINGA2_NAME_MAX 512
#define ICINGA2_REJECT_LOG_MS 60000 /* at most one rejected-result warning this often */

struct icinga2_slot {
	struct icinga2_sink *sink;
	struct http_request *req;
	struct passive_item *item;
	uint64_t version;
	char object[2 * ICINGA2_NAME_MAX + 2]; /* "host!service", for log lines */
};

struct icinga2_sink {
	struct alert_sink base;
	struct event_base *evbase;
	struct http_client *http;
	char *post_url, *log_url;
	char *host, *service, *endpoint_service, *check_source, *probe;
	char *username, *password, *client_cert, *client_key, *trust_store;
	uint64_t ttl_s, timeout_ms, backoff_max_ms;
	struct passive_queue *queue;
	struct icinga2_slot slots[ICINGA2_IN_FLIGHT];
	struct event *timer;
	uint64_t backoff_ms, retry_at_ms;
	unsigned failures; /* failed POSTs in a row */
	uint64_t last_reject_log_ms;
	unsigned rejects_unlogged;
	struct passive_stats stats;
};

/* ---- pure parts ---- */

/* Icinga's words for a log line: printable ASCII only. */
static void printable(char *buf, size_t len, const char *s, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && s[i] != '\0' && j + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
	}
	if (len > 0)
		buf[j] = '\0';
}

enum icinga2_verdict icinga2_response_parse(long status, const char *body, size_t len, char *detail,
                                            size_t dlen)
{
	json_t *root = NULL, *results, *v;
	json_error_t jerr;
	enum icinga2_verdict verdict;
	const char *text = NULL;
	size_t i;

	if (dlen > 0)
		detail[0] = '\0';
	if (body != NULL && len > 0)
		root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	/* Icinga's own message: "status" of the error object, or of the first result */
	if (json_is_object(root)) {
		results = json_object_get(root, "results");
		v = json_is_array(results) && json_array_size(results) > 0
		        ? json_object_get(json_array_get(results, 0), "status")
		        : json_object_get(root, "status");
		if (json_is_string(v))
			text = json_string_value(v);
	}
	if (text != NULL)
		printable(detail, dlen, text, strlen(text));
	else if (dlen > 0)
		snprintf(detail, dlen, "HTTP %ld", status);
	if (status == 401 || status == 403) {
		verdict = ICINGA2_AUTH;
	} else if (status >= 500 || status == 429 || status < 200) {
		verdict = ICINGA2_RETRY;
	} else if (status >= 300) {
		verdict = ICINGA2_REJECTED; /* 404 no such object, 400 a bad request */
	} else if (!json_is_object(root) || !json_is_array(json_object_get(root, "results"))) {
		verdict = ICINGA2_RETRY; /* a 200 that is not Icinga's answer */
		if (dlen > 0)
			snprintf(detail, dlen, "HTTP %ld without a results array", status);
	} else {
		results = json_object_get(root, "results");
		verdict = json_array_size(results) > 0 ? ICINGA2_TAKEN : ICINGA2_REJECTED;
		json_array_foreach(results, i, v)
		{
			json_t *code = json_object_get(v, "code");
			if (!json_is_number(code) || json_number_value(code) < 200 ||
			    json_number_value(code) >= 300) {
				verdict = ICINGA2_REJECTED;
				break;
			}
		}
	}
	json_decref(root);
	return verdict;
}

/* Perfdata items, split at spaces outside single-quoted labels. */
static json_t *perf_array(const char *perf)
{
	json_t *a = json_array();
	const char *p = perf;

	while (p != NULL && *p != '\0') {
		const char *start;
		bool quoted = false;

		while (*p == ' ')
			p++;
		start = p;
		while (*p != '\0' && (quoted || *p != ' ')) {
			if (*p == '\'')
				quoted = !quoted;
			p++;
		}
		if (p > start) {
			json_t *item = json_stringn(start, (size_t)(p - start));
			if (item != NULL)
				json_array_append_new(a, item);
		}
	}
	return a;
}

char *icinga2_render(const struct sink_result *r, const char *host, const char *service,
                     const char *check_source, uint64_t ttl_s)
{
	json_t *o = json_object(), *vars = json_object(), *s;
	char *out;

	json_object_set_new(vars, "h", json_string(host));
	json_object_set_new(vars, "s", json_string(service));
	json_object_set_new(o, "type", json_string("Service"));
	json_object_set_new(o, "filter", json_string("host.name==h && service.name==s"));
	json_object_set_new(o, "filter_vars", vars);
	json_object_set_new(o, "exit_status", json_integer(r->state));
	/* jansson refuses what is not UTF-8: such an output is sent as a placeholder */
	s = json_string(r->output != NULL ? r->output : "");
	json_object_set_new(o, "plugin_output", s != NULL ? s : json_string("(output not UTF-8)"));
	json_object_set_new(o, "performance_data", perf_array(r->perfdata));
	s = json_string(check_source);
	if (s != NULL)
		json_object_set_new(o, "check_source", s);
	json_object_set_new(o, "ttl", json_integer((json_int_t)ttl_s));
	if (r->when > 0) {
		json_object_set_new(o, "execution_start", json_integer((json_int_t)r->when));
		json_object_set_new(o, "execution_end", json_integer((json_int_t)r->when));
	}
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (out == NULL) {
		log_err("icinga2: out of memory rendering a result");
		abort();
	}
	return out;
}

/* ---- delivery ---- */

static void sink_pump(struct icinga2_sink *s);

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sink_pump(arg);
}

static enum passive_fail fail_of_transport(enum txn_status st)
{
	const char *code = txn_status_code(st);

	if (strncmp(code, "tls_", 4) == 0)
		return PASSIVE_FAIL_TLS;
	switch (st) {
	case TXN_TCP_REFUSED:
	case TXN_TCP_UNREACHABLE:
	case TXN_TIMEOUT:
	case TXN_DNS_NO_ANSWER:
	case TXN_TCP_ERROR:
		return PASSIVE_FAIL_UNREACHABLE;
	default:
		return PASSIVE_FAIL_ERROR;
	}
}

/* A failure retrying may cure: the result stays queued, every POST waits out a backoff. */
static void sink_backoff(struct icinga2_sink *s, struct icinga2_slot *slot, enum passive_fail why,
                         const char *detail)
{
	uint64_t now = clock_now_ms();

	s->stats.failures[why]++;
	if (s->retry_at_ms > now)
		return; /* another POST of the same round failed: one backoff step per round */
	s->failures++;
	s->backoff_ms = s->backoff_ms == 0 ? ICINGA2_BACKOFF_MIN_MS : s->backoff_ms * 2;
	if (s->backoff_ms > s->backoff_max_ms)
		s->backoff_ms = s->backoff_max_ms;
	s->retry_at_ms = now + s->backoff_ms;
	if (s->failures == 1)
		log_warn("icinga2 %s: result for %s not delivered (%s: %s); %zu queued, retrying "
		         "with backoff",
		         s->log_url, slot->object, passive_fail_name(why), detail,
		         passive_queue_len(s->queue));
	else
		log_debug("icinga2 %s: not delivered again (%s: %s), attempt %u, next in %llu ms",
		          s->log_url, passive_fail_name(why), detail, s->failures,
		          (unsigned long long)s->backoff_ms);
}

static void on_done(struct http_response *resp, void *arg)
{
	struct icinga2_slot *slot = arg;
	struct icinga2_sink *s = slot->sink;
	struct passive_item *it = slot->item;
	char detail[240];
	enum icinga2_verdict v;

	slot->req = NULL;
	slot->item = NULL;
	if (resp->error != TXN_OK) {
		snprintf(detail, sizeof detail, "%s: %s", txn_status_code(resp->error),
		         resp->error_detail);
		sink_backoff(s, slot, fail_of_transport(resp->error), detail);
		passive_queue_done(s->queue, it, slot->version, false);
		sink_pump(s);
		return;
	}
	v = icinga2_response_parse(resp->status, (const char *)resp->body.data, resp->body.len,
	                           detail, sizeof detail);
	switch (v) {
	case ICINGA2_TAKEN:
		s->stats.delivered++;
		s->stats.last_success = (int64_t)time(NULL);
		if (s->failures > 0)
			log_info("icinga2 %s: delivering again after %u failed posts (%zu queued)",
			         s->log_url, s->failures, passive_queue_len(s->queue));
		s->failures = 0;
		s->backoff_ms = 0;
		s->retry_at_ms = 0;
		passive_queue_done(s->queue, it, slot->version, true);
		break;
	case ICINGA2_REJECTED: {
		uint64_t now = clock_now_ms();
		s->stats.failures[PASSIVE_FAIL_REJECTED]++;
		s->stats.dropped++;
		s->rejects_unlogged++;
		if (s->last_reject_log_ms == 0 ||
		    now - s->last_reject_log_ms >= ICINGA2_REJECT_LOG_MS) {
			log_warn("icinga2 %s: HTTP %ld, result for %s rejected and dropped: %s "
			         "(%u rejected since the last such line; is the service defined?)",
			         s->log_url, resp->status, slot->object, detail,
			         s->rejects_unlogged);
			s->last_reject_log_ms = now;
			s->rejects_unlogged = 0;
		}
		passive_queue_done(s->queue, it, slot->version, false);
		if (it->version == slot->version)
			passive_queue_drop(s->queue, it);
		break;
	}
	case ICINGA2_AUTH:
		sink_backoff(s, slot, PASSIVE_FAIL_AUTH, detail);
		passive_queue_done(s->queue, it, slot->version, false);
		break;
	case ICINGA2_RETRY:
		sink_backoff(s, slot, PASSIVE_FAIL_SERVER, detail);
		passive_queue_done(s->queue, it, slot->version, false);
		break;
	}
	sink_pump(s);
}

static void sink_post(struct icinga2_sink *s, struct icinga2_slot *slot, struct passive_item *it)
{
	const struct sink_result *r = &it->r;
	char host[ICINGA2_NAME_MAX], service[ICINGA2_NAME_MAX];
	struct http_request_opts o;
	char *body;

	passive_template_expand(s->host, r, s->probe, host, sizeof host);
	passive_template_expand(r->object == SINK_OBJECT_ENDPOINT ? s->endpoint_service
	                                                          : s->service,
	                        r, s->probe, service, sizeof service);
	snprintf(slot->object, sizeof slot->object, "%s!%s", host, service);
	body = icinga2_render(r, host, service, s->check_source, s->ttl_s);
	memset(&o, 0, sizeof o);
	o.url = s->post_url;
	o.post = true;
	o.body = body;
	o.body_len = strlen(body);
	o.content_type = "application/json";
	o.accept = "application/json";
	o.timeout_ms = s->timeout_ms;
	o.max_body = ICINGA2_RESPONSE_MAX;
	o.trust_store = s->trust_store;
	if (s->username != NULL) {
		o.auth = HTTP_AUTH_BASIC;
		o.username = s->username;
		o.password = s->password;
	}
	o.client_cert = s->client_cert;
	o.client_key = s->client_key;
	slot->item = it;
	slot->version = passive_queue_begin(s->queue, it);
	log_debug("icinga2 %s: %s -> %d", s->log_url, slot->object, r->state);
	slot->req = http_client_start(s->http, &o, on_done, slot);
	free(body);
}

/* Start POSTs for the oldest results while slots are free and no backoff holds them. */
static void sink_pump(struct icinga2_sink *s)
{
	uint64_t now = clock_now_ms();

	if (s->retry_at_ms > now) {
		uint64_t delay = s->retry_at_ms - now;
		struct timeval tv = {.tv_sec = (time_t)(delay / 1000),
		                     .tv_usec = (suseconds_t)((delay % 1000) * 1000)};
		evtimer_add(s->timer, &tv);
		return;
	}
	for (size_t i = 0; i < ICINGA2_IN_FLIGHT; i++) {
		struct passive_item *it;
		if (s->slots[i].req != NULL)
			continue;
		it = passive_queue_next(s->queue);
		if (it == NULL)
			break;
		sink_post(s, &s->slots[i], it);
		/* a failure found before the request started waits for its own callback */
	}
}

/* ---- the sink ---- */

static void sink_result(struct alert_sink *base, const struct sink_result *r)
{
	struct icinga2_sink *s = base->impl;

	if (r->object == SINK_OBJECT_ENDPOINT && s->endpoint_service == NULL)
		return;
	passive_queue_put(s->queue, r);
	sink_pump(s);
}

struct foreach_ctx {
	sink_result_cb *cb;
	void *arg;
};

static void foreach_one(const struct sink_result *r, void *arg)
{
	struct foreach_ctx *c = arg;

	c->cb("icinga2", r, c->arg);
}

static void sink_foreach(const struct alert_sink *base, sink_result_cb *cb, void *arg)
{
	const struct icinga2_sink *s = base->impl;
	struct foreach_ctx c = {cb, arg};

	passive_queue_foreach_changed(s->queue, foreach_one, &c);
}

static void sink_free(struct alert_sink *base)
{
	struct icinga2_sink *s = base->impl;

	for (size_t i = 0; i < ICINGA2_IN_FLIGHT; i++)
		http_request_cancel(s->slots[i].req);
	event_free(s->timer);
	passive_queue_free(s->queue);
	free(s->post_url);
	free(s->log_url);
	free(s->host);
	free(s->service);
	free(s->endpoint_service);
	free(s->check_source);
	free(s->probe);
	free(s->username);
	if (s->password != NULL) {
		memset(s->password, 0, strlen(s->password));
		free(s->password);
	}
	free(s->client_cert);
	free(s->client_key);
	free(s->trust_store);
	free(s);
}

static const struct alert_sink_ops icinga2_sink_ops = {
    .name = "icinga2",
    .result = sink_result,
    .foreach_result = sink_foreach,
    .free = sink_free,
};

static char *dup_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? xstrdup(s) : NULL;
}

struct alert_sink *icinga2_sink_new(struct event_base *base, struct http_client *http,
                                    const struct icinga2_sink_conf *conf)
{
	struct icinga2_sink *s;
	size_t len;

	if (conf->url == NULL ||
	    (strncmp(conf->url, "http://", 7) != 0 && strncmp(conf->url, "https://", 8) != 0)) {
		log_warn("icinga2: the URL is not http:// or https://");
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->base.ops = &icinga2_sink_ops;
	s->base.impl = s;
	s->base.refresh_ms = conf->refresh_ms;
	s->evbase = base;
	s->http = http;
	len = strlen(conf->url);
	while (len > 0 && conf->url[len - 1] == '/')
		len--;
	s->post_url = xasprintf("%.*s%s", (int)len, conf->url, ICINGA2_API_PATH);
	s->log_url = xasprintf("%.*s", (int)len, conf->url);
	s->host = xstrdup(conf->host);
	s->service = xstrdup(conf->service);
	s->endpoint_service = dup_or_null(conf->endpoint_service);
	s->probe = xstrdup(conf->probe != NULL ? conf->probe : "");
	s->check_source =
	    xstrdup(conf->check_source != NULL && conf->check_source[0] != '\0' ? conf->check_source
	                                                                        : s->probe);
	s->username = dup_or_null(conf->username);
	s->password = dup_or_null(conf->password);
	s->client_cert = dup_or_null(conf->client_cert);
	s->client_key = dup_or_null(conf->client_key);
	s->trust_store = dup_or_null(conf->trust_store);
	s->ttl_s = conf->ttl_ms / 1000 > 0 ? conf->ttl_ms / 1000 : 1;
	s->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 10000;
	s->backoff_max_ms = ICINGA2_BACKOFF_MAX_MS;
	if (conf->refresh_ms > 0 && conf->refresh_ms < s->backoff_max_ms)
		s->backoff_max_ms = conf->refresh_ms;
	if (s->backoff_max_ms < ICINGA2_BACKOFF_MIN_MS)
		s->backoff_max_ms = ICINGA2_BACKOFF_MIN_MS;
	s->queue = passive_queue_new(0);
	for (size_t i = 0; i < ICINGA2_IN_FLIGHT; i++)
		s->slots[i].sink = s;
	s->timer = evtimer_new(base, on_timer, s);
	if (s->timer == NULL) {
		log_err("icinga2: cannot create a timer");
		abort();
	}
	return &s->base;
}

void icinga2_sink_stats(const struct alert_sink *base, struct passive_stats *out)
{
	const struct icinga2_sink *s = base->impl;

	*out = s->stats;
	out->coalesced = passive_queue_coalesced(s->queue);
	out->dropped += passive_queue_dropped(s->queue);
	out->queued = passive_queue_len(s->queue);
}

bool icinga2_sink_idle(const struct alert_sink *base)
{
	const struct icinga2_sink *s = base->impl;

	return passive_queue_len(s->queue) == 0;
}
