/*
 * routes: certprobed's HTTP listener (exporters/web.c serves, this file answers):
 * /metrics renders a snapshot copy shared by every scrape until the rows change;
 * /probe?target=NAME[&debug=true] runs one configured transaction now, within the
 * scrape's timeout, and answers with the /probe families of the metric table (or the
 * text report); /-/healthy, /-/ready and an index page.
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

#include "core/bbuf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exporters/metrics.h"
#include "exporters/prometheus.h"
#include "exporters/web.h"
#include "net/http_client.h"
#include "pki/pki.h"
#include "transactions/report.h"

#define METRICS_MAX (64 * 1024 * 1024)
#define PROBE_MAX_IN_FLIGHT 64
#define PROBE_DEFAULT_TIMEOUT_MS 10000 /* /probe without a scrape timeout header */

/* One /probe request in flight. */
struct probe_req {
	struct daemon *d;
	struct evhttp_request *req;
	struct txn_conf conf; /* the configured transaction with the scrape's deadline */
	struct txn *run;
	struct event *reap;
	bool debug;
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

/* The snapshot readers share: a copy of the rows, made again only after they changed. */
static struct snapshot *current_snapshot(struct daemon *d)
{
	struct snapshot s;

	memset(&s, 0, sizeof s);
	s.txns = d->g->rows;
	s.n_txns = d->g->n;
	s.endpoints = d->g->eps;
	s.n_endpoints = d->g->n_eps;
	if (d->snap == NULL)
		d->snap = snapshot_copy(&s);
	/* the daemon's own numbers change with every run and cost nothing to copy */
	d->snap->self.version = CERTPROBE_VERSION;
	d->snap->self.openssl_version = pki_version();
	d->snap->self.libcurl_version = http_client_version();
	d->snap->self.start_time = (int64_t)d->started;
	d->snap->self.in_flight = d->in_flight;
	d->snap->self.lag = d->lag;
	d->snap->self.max_stall_us = d->max_stall_us;
	d->snap->self.reload_ok = d->reload_ok;
	d->snap->self.reload_success_time = (int64_t)d->reload_ts;
	routes_web_stats(d->web, &d->snap->self);
	d->snap->self.state_write_failures = d->state_write_failures + d->state_failures_seen;
	return snapshot_ref(d->snap);
}

static void free_rendering(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)(uintptr_t)data);
}

static void serve_metrics(struct daemon *d, struct evhttp_request *req)
{
	struct evbuffer *body = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *accept = evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");
	bool om = accept != NULL && strstr(accept, "application/openmetrics-text") != NULL;
	struct snapshot *s = current_snapshot(d);
	struct bbuf b;

	bbuf_init(&b, METRICS_MAX);
	if (prometheus_render(&b, s, om) == -1) {
		evhttp_send_error(req, HTTP_INTERNAL, "metrics too large");
	} else {
		evhttp_add_header(out, "Content-Type",
		                  om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
		                     : "text/plain; version=0.0.4; charset=utf-8");
		/* hand the rendering over instead of copying it (31 MB at 10,000 transactions) */
		if (evbuffer_add_reference(body, b.data, b.len, free_rendering, NULL) == 0)
			b.data = NULL;
		else
			evbuffer_add(body, b.data, b.len);
		evhttp_send_reply(req, HTTP_OK, "OK", body);
	}
	bbuf_free(&b);
	snapshot_unref(s);
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

static void on_probe_conn_close(struct evhttp_connection *conn, void *arg)
{
	struct probe_req *p = arg;

	(void)conn;
	p->req = NULL; /* the client went away: no reply, stop the transaction */
	probe_req_free(p);
}

static void probe_reply(struct probe_req *p, const struct txn_result *r)
{
	struct evbuffer *body = evhttp_request_get_output_buffer(p->req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(p->req);
	struct evhttp_connection *conn = evhttp_request_get_connection(p->req);

	if (conn != NULL)
		evhttp_connection_set_closecb(conn, NULL, NULL);
	if (p->debug) {
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
			evhttp_send_error(p->req, HTTP_INTERNAL, "probe result too large");
			p->req = NULL;
			return;
		}
		evhttp_add_header(out, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		evbuffer_add(body, b.data, b.len);
		bbuf_free(&b);
	}
	evhttp_send_reply(p->req, HTTP_OK, "OK", body);
	p->req = NULL;
}

static void on_probe_result(const struct txn_result *r, void *arg)
{
	struct probe_req *p = arg;

	if (p->req != NULL)
		probe_reply(p, r);
	event_active(p->reap, EV_TIMEOUT, 0); /* the transaction is freed off its own stack */
}

void routes_cancel_probes(struct daemon *d, const char *why)
{
	while (d->probes != NULL) {
		struct probe_req *p = d->probes;
		if (p->req != NULL) {
			struct evhttp_connection *conn = evhttp_request_get_connection(p->req);
			if (conn != NULL)
				evhttp_connection_set_closecb(conn, NULL, NULL);
			evhttp_send_error(p->req, HTTP_SERVUNAVAIL, why);
		}
		probe_req_free(p);
	}
}

static void serve_probe(struct daemon *d, struct evhttp_request *req)
{
	struct evkeyvalq q;
	const char *name, *debug, *hdr;
	const struct txn_conf *tc;
	struct probe_req *p;
	uint64_t timeout_ms = PROBE_DEFAULT_TIMEOUT_MS;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evhttp_connection *conn = evhttp_request_get_connection(req);

	memset(&q, 0, sizeof q); /* an empty list: evhttp_clear_headers() is safe on it */
	if (evhttp_uri_get_query(uri) == NULL ||
	    evhttp_parse_query_str(evhttp_uri_get_query(uri), &q) != 0 ||
	    (name = evhttp_find_header(&q, "target")) == NULL) {
		evhttp_clear_headers(&q);
		evhttp_send_error(req, HTTP_BADREQUEST, "target parameter is missing");
		return;
	}
	tc = config_find_txn(d->g->cfg, name);
	if (tc == NULL) {
		evhttp_clear_headers(&q);
		evhttp_send_error(req, HTTP_BADREQUEST,
		                  "unknown target: not a configured transaction");
		return;
	}
	if (d->n_probes >= PROBE_MAX_IN_FLIGHT) {
		evhttp_clear_headers(&q);
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "too many probes in flight");
		return;
	}
	debug = evhttp_find_header(&q, "debug");
	hdr = evhttp_find_header(evhttp_request_get_input_headers(req),
	                         "X-Prometheus-Scrape-Timeout-Seconds");
	if (hdr != NULL) {
		double s = strtod(hdr, NULL);
		/* leave half a second for the reply, as blackbox_exporter does */
		if (s > 0.6 && s < 86400)
			timeout_ms = (uint64_t)((s - 0.5) * 1000);
	}
	if (tc->timeout_ms < timeout_ms)
		timeout_ms = tc->timeout_ms;
	p = xcalloc(1, sizeof *p);
	p->d = d;
	p->req = req;
	p->conf = *tc;
	p->conf.timeout_ms = timeout_ms;
	p->debug = debug != NULL && strcmp(debug, "true") == 0;
	p->reap = evtimer_new(d->base, on_probe_reap, p);
	p->next = d->probes;
	d->probes = p;
	d->n_probes++;
	evhttp_clear_headers(&q);
	if (conn != NULL)
		evhttp_connection_set_closecb(conn, on_probe_conn_close, p);
	p->run = d->start(&d->env, &p->conf, on_probe_result, p);
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
	} else if (strcmp(path, "/") == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		                  "text/html; charset=utf-8");
		evbuffer_add_printf(
		    body,
		    "<html><head><title>certprobed</title></head><body>"
		    "<h1>certprobed %s</h1><p><a href=\"/metrics\">Metrics</a></p>"
		    "<p>Probe one transaction: /probe?target=NAME[&amp;debug=true]</p>"
		    "</body></html>\n",
		    CERTPROBE_VERSION);
		evhttp_send_reply(req, HTTP_OK, "OK", body);
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
}

void routes_free(struct daemon *d)
{
	routes_cancel_probes(d, "stopping");
	routes_invalidate(d);
	web_free(d->web);
	d->web = NULL;
}
