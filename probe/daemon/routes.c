/*
 * routes: certprobed's HTTP listener (exporters/web.c serves, this file answers):
 * /metrics renders a snapshot copy shared by every scrape until the rows change, on a
 * worker thread (31 MB at 10,000 transactions took 30 ms: the loop only copies the rows);
 * /probe?target=NAME[&debug=true] runs one configured transaction now, within the
 * scrape's timeout, and answers with the /probe families of the metric table (or the
 * text report); concurrent /probe of one target share one run (X-Certprobe-Probe-Run
 * names it), and a stop answers them 503 before the loop ends; /-/healthy, /-/ready
 * and the status page (page.c).
 */
#include "daemon/daemon.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "alert/icinga2_sink.h"
#include "alert/nagios_sink.h"
#include "core/bbuf.h"
#include "core/log.h"
#include "core/offload.h"
#include "core/xalloc.h"
#include "exporters/metrics.h"
#include "exporters/prometheus.h"
#include "exporters/snmp_agent.h"
#include "exporters/web.h"
#include "net/http_client.h"
#include "pki/pki.h"
#include "transactions/report.h"

#define METRICS_MAX (64 * 1024 * 1024)
#define PROBE_MAX_IN_FLIGHT 64
#define PROBE_DEFAULT_TIMEOUT_MS 10000 /* /probe without a scrape timeout header */

#define PROBE_MAX_WAITERS 1024 /* clients waiting on /probe runs, all targets */
#define STOP_DRAIN_MS 1500     /* at a stop, how long runs in flight and the 503s may take */
#define PROBE_RUN_HEADER "X-Certprobe-Probe-Run"

struct probe_req;

/* One client waiting for a /probe answer. */
struct probe_waiter {
	struct probe_req *p;
	struct evhttp_request *req; /* NULL once answered or gone */
	bool debug;
	struct probe_waiter *next;
};

/*
 * One /probe run of a configured transaction. The first request for a target starts it;
 * requests for the same target while it runs wait on it and get its answer (a burst of
 * scrapes must not make a CA issue a certificate each), on the first one's deadline.
 */
struct probe_req {
	struct daemon *d;
	const struct txn_conf *tc; /* the configured transaction, for coalescing */
	struct txn_conf conf;      /* tc with the scrape's deadline */
	struct txn *run;
	struct event *reap;
	uint64_t id; /* PROBE_RUN_HEADER: which run answered */
	bool done;   /* answered: a new request starts a new run */
	struct probe_waiter *waiters;
	struct probe_req *next;
};

static void routes_web_stats(struct web *w, struct snapshot_self *self)
{
	struct web_stats ws;

	web_get_stats(w, &ws);
	self->http_open = ws.open;
	self->http_refused = ws.refused;
	self->http_deadline_closed = ws.deadline_closed;
	self->http_accept_paused = ws.accept_paused;
}

/* The daemon's own numbers: they change with every run and cost nothing to copy. */
static void fill_self(struct daemon *d, struct snapshot_self *self)
{
	self->version = CERTPROBE_VERSION;
	self->openssl_version = pki_version();
	self->libcurl_version = http_client_version();
	self->start_time = (int64_t)d->started;
	{
		const struct shard_conf *sh = &d->g->cfg->shard;
		snprintf(self->shard_index, sizeof self->shard_index, "%u", sh->index);
		snprintf(self->shard_count, sizeof self->shard_count, "%u",
		         sh->count > 0 ? sh->count : 1);
	}
	self->in_flight = d->in_flight;
	self->lag = d->lag;
	self->max_stall_us = d->max_stall_us;
	self->reload_ok = d->reload_ok;
	self->reload_success_time = (int64_t)d->reload_ts;
	routes_web_stats(d->web, self);
	self->state_write_failures = d->state_write_failures + d->state_failures_seen;
	self->runs_cancelled = d->runs_cancelled;
	if (d->snmp != NULL)
		snmp_agent_stats(d->snmp, &self->snmp_connected, &self->snmp_notifications,
		                 &self->snmp_dropped);
	if (d->icinga2_sink != NULL) {
		self->passive_on[SNAPSHOT_PASSIVE_ICINGA2] = true;
		icinga2_sink_stats(d->icinga2_sink, &self->passive[SNAPSHOT_PASSIVE_ICINGA2]);
	}
	if (d->nagios_sink != NULL) {
		self->passive_on[SNAPSHOT_PASSIVE_NAGIOS] = true;
		nagios_sink_stats(d->nagios_sink, &self->passive[SNAPSHOT_PASSIVE_NAGIOS]);
	}
}

static void rows_view(struct daemon *d, struct snapshot *s)
{
	memset(s, 0, sizeof *s);
	s->txns = d->g->rows;
	s->n_txns = d->g->n;
	s->endpoints = d->g->eps;
	s->n_endpoints = d->g->n_eps;
}

/* The snapshot readers share: a copy of the rows, made again only after they changed. */
static struct snapshot *current_snapshot(struct daemon *d)
{
	struct snapshot s;

	rows_view(d, &s);
	if (d->snap == NULL || d->snap_stale) {
		/* the rows that changed copied again, the others shared with the copy before */
		struct snapshot *prev = d->snap;
		d->snap =
		    snapshot_copy_since(&s, prev, prev != NULL ? d->g->rows_changed : NULL, 0);
		snapshot_unref(prev);
		memset(d->g->rows_changed, 0, d->g->n);
		d->snap_stale = false;
	}
	fill_self(d, &d->snap->self);
	return snapshot_ref(d->snap);
}

struct snapshot *routes_snapshot(struct daemon *d, unsigned flags)
{
	struct snapshot s, *c;

	rows_view(d, &s);
	c = snapshot_copy_flags(&s, flags);
	fill_self(d, &c->self);
	return c;
}

static void free_rendering(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)(uintptr_t)data);
}

/* Scrapes waiting for the worker or rendering; more are answered 503. */
#define METRICS_MAX_JOBS 8

/* One scrape rendered off the loop. */
struct metrics_job {
	struct daemon *d;
	struct evhttp_request *req; /* NULL once the client went away */
	struct snapshot *ref;       /* keeps the rows alive (shared, immutable) */
	struct snapshot view;       /* *ref with the daemon's numbers as of the request */
	bool om;
	struct bbuf out;
	int rc;
};

static void metrics_job_free(struct metrics_job *j)
{
	bbuf_free(&j->out);
	snapshot_unref(j->ref);
	free(j);
}

static void metrics_unhook(struct metrics_job *j)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(j->req);

	if (conn != NULL)
		evhttp_connection_set_closecb(conn, NULL, NULL);
}

static void metrics_work(void *arg)
{
	struct metrics_job *j = arg;

	bbuf_init(&j->out, METRICS_MAX);
	j->rc = prometheus_render(&j->out, &j->view, j->om);
}

static void metrics_done(void *arg)
{
	struct metrics_job *j = arg;
	struct evbuffer *body;

	j->d->metrics_jobs--;
	if (j->req == NULL) {
		metrics_job_free(j);
		return;
	}
	metrics_unhook(j);
	if (j->rc == -1) {
		evhttp_send_error(j->req, HTTP_INTERNAL, "metrics too large");
		metrics_job_free(j);
		return;
	}
	body = evhttp_request_get_output_buffer(j->req);
	evhttp_add_header(evhttp_request_get_output_headers(j->req), "Content-Type",
	                  j->om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
	                        : "text/plain; version=0.0.4; charset=utf-8");
	/* hand the rendering over instead of copying it (31 MB at 10,000 transactions) */
	if (evbuffer_add_reference(body, j->out.data, j->out.len, free_rendering, NULL) == 0)
		j->out.data = NULL;
	else
		evbuffer_add(body, j->out.data, j->out.len);
	evhttp_send_reply(j->req, HTTP_OK, "OK", body);
	metrics_job_free(j);
}

static void metrics_discard(void *arg)
{
	struct metrics_job *j = arg;

	j->d->metrics_jobs--;
	if (j->req != NULL)
		metrics_unhook(j);
	metrics_job_free(j);
}

static void metrics_conn_close(struct evhttp_connection *conn, void *arg)
{
	struct metrics_job *j = arg;

	(void)conn;
	j->req = NULL; /* evhttp frees the request; the rendering is dropped when done */
}

static void serve_metrics(struct daemon *d, struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	const char *accept = evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");
	struct metrics_job *j;

	if (d->metrics_worker == NULL)
		d->metrics_worker = offload_new(d->base, "certprobe-metrics");
	if (d->metrics_worker == NULL || d->metrics_jobs >= METRICS_MAX_JOBS) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "metrics busy");
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->d = d;
	j->req = req;
	j->om = accept != NULL && strstr(accept, "application/openmetrics-text") != NULL;
	j->ref = current_snapshot(d);
	/* the shared copy's own numbers change with the next scrape: the job keeps its own */
	j->view = *j->ref;
	if (conn != NULL)
		evhttp_connection_set_closecb(conn, metrics_conn_close, j);
	d->metrics_jobs++;
	offload_submit(d->metrics_worker, j, metrics_work, metrics_done, metrics_discard);
}

static void waiters_free(struct probe_req *p)
{
	while (p->waiters != NULL) {
		struct probe_waiter *w = p->waiters;
		p->waiters = w->next;
		p->d->n_probe_waiters--;
		free(w);
	}
}

static void probe_req_free(struct probe_req *p)
{
	struct probe_req **pp;

	for (pp = &p->d->probes; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	p->d->n_probes--;
	waiters_free(p);
	p->d->free_run(p->run);
	event_free(p->reap);
	free(p);
}

static void on_probe_reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	probe_req_free(arg);
}

static void waiter_unhook(struct probe_waiter *w)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(w->req);

	if (conn != NULL)
		evhttp_connection_set_closecb(conn, NULL, NULL);
}

static void on_probe_conn_close(struct evhttp_connection *conn, void *arg)
{
	struct probe_waiter *w = arg, **pp;
	struct probe_req *p = w->p;

	(void)conn;
	for (pp = &p->waiters; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	p->d->n_probe_waiters--;
	free(w);
	/* the last client went away: no reply to make, stop the transaction */
	if (p->waiters == NULL && !p->done)
		probe_req_free(p);
}

/* The reply is out (or its connection gone): at a stop, the loop may end with the last. */
static void on_drain_reply_done(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;

	(void)req;
	if (d->probe_draining > 0 && --d->probe_draining == 0 && d->in_flight == 0)
		event_base_loopexit(d->base, NULL);
}

static void waiter_error(struct probe_waiter *w, int code, const char *why)
{
	struct daemon *d = w->p->d;

	waiter_unhook(w);
	if (d->stopping) {
		d->probe_draining++;
		evhttp_request_set_on_complete_cb(w->req, on_drain_reply_done, d);
	}
	evhttp_send_error(w->req, code, why);
	w->req = NULL;
}

static void probe_reply(struct probe_waiter *w, const struct txn_result *r)
{
	struct evbuffer *body = evhttp_request_get_output_buffer(w->req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(w->req);
	char id[24];

	waiter_unhook(w);
	snprintf(id, sizeof id, "%llu", (unsigned long long)w->p->id);
	evhttp_add_header(out, PROBE_RUN_HEADER, id);
	if (w->debug) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		if (f != NULL) {
			report_text(f, r);
			fclose(f);
		}
		evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8");
		evbuffer_add(body, text != NULL ? text : "", len);
		free(text);
	} else {
		struct snapshot_txn row;
		struct snapshot s;
		struct bbuf b;
		memset(&row, 0, sizeof row);
		memset(&s, 0, sizeof s);
		metrics_txn_set_result(&row, r);
		s.probe = &row;
		bbuf_init(&b, METRICS_MAX);
		if (prometheus_render(&b, &s, false) == -1) {
			bbuf_free(&b);
			evhttp_send_error(w->req, HTTP_INTERNAL, "probe result too large");
			w->req = NULL;
			return;
		}
		evhttp_add_header(out, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		evbuffer_add(body, b.data, b.len);
		bbuf_free(&b);
	}
	evhttp_send_reply(w->req, HTTP_OK, "OK", body);
	w->req = NULL;
}

static void on_probe_result(const struct txn_result *r, void *arg)
{
	struct probe_req *p = arg;

	p->done = true;
	for (struct probe_waiter *w = p->waiters; w != NULL; w = w->next)
		if (w->req != NULL)
			probe_reply(w, r);
	waiters_free(p);
	event_active(p->reap, EV_TIMEOUT, 0); /* the transaction is freed off its own stack */
}

void routes_cancel_probes(struct daemon *d, const char *why)
{
	while (d->probes != NULL) {
		struct probe_req *p = d->probes;
		for (struct probe_waiter *w = p->waiters; w != NULL; w = w->next)
			if (w->req != NULL)
				waiter_error(w, HTTP_SERVUNAVAIL, why);
		probe_req_free(p);
	}
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	event_base_loopexit(d->base, NULL);
}

void routes_stop(struct daemon *d)
{
	struct timeval tv = {.tv_sec = STOP_DRAIN_MS / 1000,
	                     .tv_usec = (STOP_DRAIN_MS % 1000) * 1000};

	if (d->stopping) { /* a second signal: stop now */
		event_base_loopexit(d->base, NULL);
		return;
	}
	d->stopping = true; /* no run starts from now on (sched.c) */
	routes_cancel_probes(d, "stopping");
	if (d->probe_draining == 0 && d->in_flight == 0) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	/*
	 * Runs in flight finish (a logon that sent its REGISTER also sends the un-REGISTER,
	 * so the registrar keeps no binding and logs no broken pipe); the last result ends
	 * the loop. A client that stops reading or a stalled run must not hold the stop up.
	 */
	if (d->in_flight > 0)
		log_info("stopping: waiting up to %d ms for %llu run%s in flight", STOP_DRAIN_MS,
		         (unsigned long long)d->in_flight, d->in_flight == 1 ? "" : "s");
	d->drain_timer = evtimer_new(d->base, on_drain_timeout, d);
	evtimer_add(d->drain_timer, &tv);
}

/* ---- /probe parameters ---- */

struct probe_params {
	char *target; /* malloced; NULL = not given */
	bool debug;
};

/*
 * One name or value of the query, percent-decoded ('+' is a space) into a malloced
 * string; NULL when it holds a NUL or another control character, which a C string
 * would cut or a log line would carry ("enroll%00junk" once ran "enroll").
 */
static char *param_decode(const char *s, size_t n)
{
	char *raw = xstrndup(s, n), *v;
	size_t len = 0;

	v = evhttp_uridecode(raw, 1, &len);
	free(raw);
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] == 0x7f) {
			free(v);
			return NULL;
		}
	return v;
}

/*
 * Parse the raw query of /probe: pairs split at '&', empty ones ignored ("a&&b&"), a
 * pair without '=' has an empty value, unknown names are ignored. 0, or -1 with *why
 * for the 400: a control character, or a second target (which one would we run?).
 */
static int probe_params_parse(const char *query, struct probe_params *pp, const char **why)
{
	const char *cur = query != NULL ? query : "";
	int rc = 0;

	memset(pp, 0, sizeof *pp);
	while (*cur != '\0' && rc == 0) {
		size_t n = strcspn(cur, "&");
		const char *eq = memchr(cur, '=', n);
		size_t nlen = eq != NULL ? (size_t)(eq - cur) : n;
		char *name, *value;

		if (n == 0) {
			cur++;
			continue;
		}
		name = param_decode(cur, nlen);
		value = eq != NULL ? param_decode(eq + 1, n - nlen - 1) : xstrdup("");
		if (name == NULL || value == NULL) {
			*why = "control character in a parameter";
			rc = -1;
		} else if (strcmp(name, "target") == 0 && pp->target != NULL) {
			*why = "target parameter given twice";
			rc = -1;
		} else if (strcmp(name, "target") == 0) {
			pp->target = value;
			value = NULL;
		} else if (strcmp(name, "debug") == 0) {
			pp->debug = strcmp(value, "true") == 0;
		}
		free(name);
		free(value);
		cur += n;
		if (*cur == '&')
			cur++;
	}
	if (rc == -1) {
		free(pp->target);
		pp->target = NULL;
	}
	return rc;
}

/* The scrape's timeout header, less half a second for the reply (as blackbox_exporter). */
static uint64_t probe_timeout_ms(struct evhttp_request *req, const struct txn_conf *tc)
{
	const char *hdr = evhttp_find_header(evhttp_request_get_input_headers(req),
	                                     "X-Prometheus-Scrape-Timeout-Seconds");
	uint64_t timeout_ms = PROBE_DEFAULT_TIMEOUT_MS;

	if (hdr != NULL) {
		char *end;
		double s = strtod(hdr, &end);
		if (end != hdr && *end == '\0' && s > 0.6 && s < 86400)
			timeout_ms = (uint64_t)((s - 0.5) * 1000);
	}
	return tc->timeout_ms < timeout_ms ? tc->timeout_ms : timeout_ms;
}

static void serve_probe(struct daemon *d, struct evhttp_request *req)
{
	struct probe_params pp;
	const char *why = NULL;
	const struct txn_conf *tc;
	struct probe_req *p;
	struct probe_waiter *w;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	int rc;

	rc = probe_params_parse(evhttp_uri_get_query(uri), &pp, &why);
	if (rc == -1) {
		evhttp_send_error(req, HTTP_BADREQUEST, why);
		return;
	}
	if (pp.target == NULL || pp.target[0] == '\0') {
		evhttp_send_error(req, HTTP_BADREQUEST, "target parameter is missing");
		goto out;
	}
	tc = config_find_txn(d->g->cfg, pp.target);
	if (tc == NULL) {
		/* a sharded probe knows only its shard's: the target may be another's */
		evhttp_send_error(req, HTTP_BADREQUEST,
		                  d->g->cfg->shard.count > 0
		                      ? "unknown target: not a transaction of this shard"
		                      : "unknown target: not a configured transaction");
		goto out;
	}
	if (d->stopping) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "stopping");
		goto out;
	}
	for (p = d->probes; p != NULL; p = p->next)
		if (p->tc == tc && !p->done)
			break;
	if ((p == NULL && d->n_probes >= PROBE_MAX_IN_FLIGHT) ||
	    d->n_probe_waiters >= PROBE_MAX_WAITERS) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "too many probes in flight");
		goto out;
	}
	w = xcalloc(1, sizeof *w);
	w->req = req;
	w->debug = pp.debug;
	d->n_probe_waiters++;
	if (p != NULL) {
		/* the same target is running: wait for its answer instead of a second run */
		w->p = p;
		w->next = p->waiters;
		p->waiters = w;
		if (conn != NULL)
			evhttp_connection_set_closecb(conn, on_probe_conn_close, w);
		goto out;
	}
	p = xcalloc(1, sizeof *p);
	p->d = d;
	p->tc = tc;
	p->conf = *tc;
	p->conf.timeout_ms = probe_timeout_ms(req, tc);
	p->id = ++d->probe_runs;
	p->reap = evtimer_new(d->base, on_probe_reap, p);
	p->waiters = w;
	w->p = p;
	p->next = d->probes;
	d->probes = p;
	d->n_probes++;
	if (conn != NULL)
		evhttp_connection_set_closecb(conn, on_probe_conn_close, w);
	p->run = d->start(&d->env, &p->conf, on_probe_result, p);
out:
	free(pp.target);
}

static void on_http(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *body = evhttp_request_get_output_buffer(req);

	if (path == NULL)
		path = "";
	if (strcmp(path, "/metrics") == 0) {
		serve_metrics(d, req);
	} else if (strcmp(path, "/probe") == 0) {
		serve_probe(d, req);
	} else if (strcmp(path, "/-/healthy") == 0 || strcmp(path, "/-/ready") == 0) {
		evbuffer_add_printf(body, "OK\n");
		evhttp_send_reply(req, HTTP_OK, "OK", body);
	} else if (page_route(d, req, path)) {
		/* the status page: "/" and /txn/NAME (page.c) */
	} else {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
	}
}

/* Start the listener (first) or apply TLS and basic-auth changes to it (reload). */
int routes_configure(struct daemon *d, const struct config *cfg, bool first)
{
	char *password = NULL, err[512];
	int rc = 0;

	if (cfg->web.username != NULL &&
	    secret_resolve(&cfg->web.password, &password, err, sizeof err) == -1) {
		log_err("probe.web.basic_auth: %s", err);
		return -1;
	}
	if (first) {
		struct web_conf wc = {cfg->listen, cfg->web.tls_cert, cfg->web.tls_key,
		                      cfg->web.username, password};
		d->web = web_new(d->base, &wc, on_http, d, err, sizeof err);
		if (d->web == NULL) {
			log_err("%s", err);
			rc = -1;
		}
	} else {
		if ((cfg->web.tls_cert != NULL) != (d->g->cfg->web.tls_cert != NULL)) {
			log_warn(
			    "reload: switching HTTPS on or off takes effect at the next restart");
		} else if (cfg->web.tls_cert != NULL &&
		           web_reload_tls(d->web, cfg->web.tls_cert, cfg->web.tls_key, err,
		                          sizeof err) == -1) {
			log_err("probe.web: %s", err);
			rc = -1;
		}
		if (rc == 0 &&
		    web_set_auth(d->web, cfg->web.username, password, err, sizeof err) == -1) {
			log_err("probe.web: %s", err);
			rc = -1;
		}
	}
	secret_wipe_free(password);
	return rc;
}

void routes_invalidate(struct daemon *d)
{
	snapshot_unref(d->snap);
	d->snap = NULL;
	d->snmp_dirty = true;
}

void routes_row_changed(struct daemon *d, size_t i)
{
	(void)i; /* gen_row_update() marked the row in g->rows_changed */
	d->snap_stale = true;
	d->snmp_dirty = true;
}

void routes_free(struct daemon *d)
{
	routes_cancel_probes(d, "stopping");
	if (d->drain_timer != NULL) {
		event_free(d->drain_timer);
		d->drain_timer = NULL;
	}
	page_free(d); /* before the listener: a page in flight holds one of its requests */
	offload_free(d->metrics_worker); /* so does a scrape */
	d->metrics_worker = NULL;
	routes_invalidate(d);
	web_free(d->web);
	d->web = NULL;
}
