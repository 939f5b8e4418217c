/*
 * certprobed: the probe daemon. One event loop runs every configured transaction on
 * its schedule (start times spread, a concurrency limit per endpoint, a client-auth
 * waits for the first run of the enrollment whose certificate it uses), hands each
 * result to the health module, logs state changes and serves Prometheus /metrics.
 * Init and cleanup order live here; nothing here blocks the loop.
 */
#define _DEFAULT_SOURCE 1
#define _XOPEN_SOURCE 700 /* strptime */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <curl/curlver.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include "config/config.h"
#include "core/bbuf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exporters/metrics.h"
#include "exporters/snapshot.h"
#include "health/health.h"
#include "net/dns.h"
#include "net/http_client.h"
#include "net/tls_conn.h"
#include "pki/keypool.h"
#include "pki/pki.h"
#include "transactions/clientauth/clientauth_txn.h"
#include "transactions/scep/scep_txn.h"

#define EXIT_USAGE 3
#define STALL_TICK_MS 100
#define LAG_RING 4096
#define METRICS_MAX (64 * 1024 * 1024)

struct daemon;

/* A registrar or web service several transactions may hit. */
struct endpoint {
	size_t index; /* in daemon.eps */
	char key[300];
	const char *kind; /* "registrar" or "web_service" */
	unsigned running;
	struct target *wait_head, *wait_tail;
	struct health_endpoint health;
	struct target **members; /* the transactions that hit it */
	size_t n_members, cap_members;
	struct endpoint *next;
};

struct target {
	struct daemon *d;
	size_t index; /* in daemon.rows */
	const struct txn_conf *conf;
	struct endpoint *ep;
	struct event *timer;
	struct event *reap;
	uint64_t due_us;   /* when this run was due (monotonic) */
	uint64_t start_us; /* when it actually started */
	bool running, queued, ran_once;
	struct scep_txn *scep;
	struct clientauth_txn *ca;
	struct txn_result last;
	bool have_last;
	time_t last_wall;
	uint64_t runs[4];
	struct health health;
	struct target *after;   /* waits for this enrollment's first run */
	struct target *ep_next; /* endpoint wait queue */
};

struct daemon {
	struct event_base *base;
	struct config *cfg;
	const char *cfgpath;
	struct http_client *http;
	struct keypool *keys;
	struct dns *dns;
	struct tls_ctx_cache *tls;
	struct scep_txn_env scep_env;
	struct clientauth_env ca_env;
	struct health_conf hconf;
	struct target *targets;
	size_t n;
	struct endpoint *endpoints;
	struct evhttp *httpd;
	struct event *sig_term, *sig_int, *sig_hup, *stall_timer;
	uint64_t stall_expect_us;
	uint64_t max_stall_us;
	struct snapshot_txn *rows;      /* one per target, same order: what /metrics reads */
	struct snapshot_endpoint *eps; /* one per endpoint */
	size_t n_eps;
	struct snapshot_histogram lag;
	uint64_t in_flight;
	time_t started;
	time_t reload_ts;
	bool reload_ok;
};

static void target_start(struct target *t);

/* ---- endpoints ---- */

static void endpoint_key(const struct txn_conf *c, char *buf, size_t len, const char **kind)
{
	if (c->type == TXN_TYPE_CLIENT_AUTH) {
		*kind = "registrar";
		if (c->registrar.discover == REGISTRAR_DNS)
			snprintf(buf, len, "%s", c->registrar.domain);
		else
			snprintf(buf, len, "%s:%u", c->registrar.host, c->registrar.port);
		return;
	}
	*kind = "web_service";
	{
		const char *p = strstr(c->url, "://");
		size_t n;
		p = p != NULL ? p + 3 : c->url;
		n = strcspn(p, "/?#");
		snprintf(buf, len, "%.*s", (int)n, p);
	}
}

static struct endpoint *endpoint_get(struct daemon *d, const struct txn_conf *c)
{
	char key[300];
	const char *kind;
	struct endpoint *e;

	endpoint_key(c, key, sizeof key, &kind);
	for (e = d->endpoints; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0 && strcmp(e->kind, kind) == 0)
			return e;
	e = xcalloc(1, sizeof *e);
	snprintf(e->key, sizeof e->key, "%s", key);
	e->kind = kind;
	health_endpoint_init(&e->health);
	e->next = d->endpoints;
	d->endpoints = e;
	return e;
}

/* ---- scheduling ---- */

static void target_arm(struct target *t, uint64_t due_us)
{
	uint64_t now = clock_now_us();
	uint64_t delay = due_us > now ? due_us - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(delay / 1000000),
	                     .tv_usec = (suseconds_t)(delay % 1000000)};

	t->due_us = due_us;
	evtimer_add(t->timer, &tv);
}

static void on_due(evutil_socket_t fd, short what, void *arg)
{
	struct target *t = arg;
	struct endpoint *e = t->ep;

	(void)fd;
	(void)what;
	if (t->running || t->queued)
		return;
	if (t->after != NULL && !t->after->ran_once)
		return; /* the enrollment's completion starts us */
	if (e->running >= t->d->cfg->max_per_endpoint) {
		t->queued = true;
		t->ep_next = NULL;
		if (e->wait_tail != NULL)
			e->wait_tail->ep_next = t;
		else
			e->wait_head = t;
		e->wait_tail = t;
		return;
	}
	target_start(t);
}

static void endpoint_release(struct endpoint *e)
{
	struct target *t;

	e->running--;
	while (e->wait_head != NULL && e->running < e->wait_head->d->cfg->max_per_endpoint) {
		t = e->wait_head;
		e->wait_head = t->ep_next;
		if (e->wait_head == NULL)
			e->wait_tail = NULL;
		t->queued = false;
		target_start(t);
	}
}

/* ---- results ---- */

static void log_change(const char *kind, const char *name, const struct health *h,
                       const struct health_change *c)
{
	char line[400];

	health_change_describe(line, sizeof line, kind, name, h, c);
	if (c->notify)
		log_warn("%s", line);
	else
		log_info("%s", line);
}

static void endpoint_update(struct daemon *d, struct endpoint *e)
{
	const struct health **members = xcalloc(e->n_members + 1, sizeof *members);
	struct health_change c;
	char line[400];
	size_t n = 0;

	for (size_t i = 0; i < e->n_members; i++)
		if (e->members[i]->have_last)
			members[n++] = &e->members[i]->health;
	c = health_endpoint_update(&e->health, &d->hconf, members, n, (uint64_t)time(NULL));
	free(members);
	if (!(c.state_changed || c.notify || c.flap_started || c.flap_stopped))
		return;
	d->eps[e->index].state = e->health.state;
	health_endpoint_change_describe(line, sizeof line, e->kind, e->key, &e->health, &c);
	if (c.notify)
		log_warn("%s", line);
	else
		log_info("%s", line);
}

/* "2026-11-22T10:00:00Z" → Unix seconds; 0 when absent or unreadable */
static int64_t fact_time(const struct txn_result *r, const char *key)
{
	const char *v = txn_result_get_fact(r, key);
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (v == NULL || strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		return 0;
	return (int64_t)timegm(&tm);
}

/* The exporters' view of a target after a run. */
static void row_update(struct target *t, const struct txn_result *r)
{
	struct snapshot_txn *row = &t->d->rows[t->index];
	static const struct {
		enum cert_role role;
		const char *fact;
	} certs[] = {
		{CERT_ROLE_ISSUED, "issued_not_after"},
		{CERT_ROLE_CLIENT, "client_not_after"},
		{CERT_ROLE_SERVER, "server_not_after"},
	};

	metrics_txn_set_result(row, r);
	row->last_run = (int64_t)t->last_wall;
	if (r->result == RESULT_OK || r->result == RESULT_WARNING)
		row->last_success = (int64_t)t->last_wall;
	for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++) {
		int64_t na = fact_time(r, certs[i].fact);
		if (na != 0) {
			row->certs[certs[i].role].present = true;
			row->certs[certs[i].role].not_after = na;
		}
	}
	row->state = t->health.state;
	row->hard = t->health.state_type == HEALTH_HARD;
	row->flapping = t->health.flap.flapping;
	memcpy(row->runs, t->runs, sizeof row->runs);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct target *t = arg;

	(void)fd;
	(void)what;
	scep_txn_free(t->scep);
	clientauth_txn_free(t->ca);
	t->scep = NULL;
	t->ca = NULL;
}

static void on_result(const struct txn_result *r, void *arg)
{
	struct target *t = arg;
	struct daemon *d = t->d;
	struct health_change c;
	uint64_t interval_us = t->conf->interval_ms * 1000, next;

	t->last = *r;
	t->have_last = true;
	t->last_wall = time(NULL);
	t->running = false;
	t->runs[r->result]++;
	d->in_flight--;
	event_active(t->reap, EV_TIMEOUT, 0);
	c = health_update(&t->health, &d->hconf, r->result, r->status, (uint64_t)t->last_wall);
	row_update(t, r);
	log_debug("%s: %s %s (%.1f ms)", t->conf->name, result_class_name(r->result),
	          txn_status_code(r->status), (double)r->duration_us / 1000.0);
	if (c.state_changed || c.notify || c.flap_started || c.flap_stopped)
		log_change("transaction", t->conf->name, &t->health, &c);
	endpoint_update(d, t->ep);

	/* keep the cadence of the schedule; never run back to back after a slow run */
	next = t->due_us + interval_us;
	if (next < clock_now_us())
		next = clock_now_us() + interval_us / 10;
	target_arm(t, next);

	if (!t->ran_once) {
		t->ran_once = true;
		for (size_t i = 0; i < d->n; i++)
			if (d->targets[i].after == t && !d->targets[i].running)
				on_due(-1, 0, &d->targets[i]);
	}
	endpoint_release(t->ep);
}

static void target_start(struct target *t)
{
	struct daemon *d = t->d;
	uint64_t now = clock_now_us();

	evtimer_del(t->timer);
	metrics_histogram_observe(&d->lag, now > t->due_us ? now - t->due_us : 0);
	t->start_us = now;
	t->running = true;
	t->ep->running++;
	d->in_flight++;
	if (t->conf->type == TXN_TYPE_CLIENT_AUTH)
		t->ca = clientauth_txn_start(&d->ca_env, t->conf, on_result, t);
	else
		t->scep = scep_txn_start(&d->scep_env, t->conf, on_result, t);
}

/* ---- loop health ---- */

static void on_stall_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t now = clock_now_us();

	(void)fd;
	(void)what;
	if (d->stall_expect_us != 0 && now > d->stall_expect_us &&
	    now - d->stall_expect_us > d->max_stall_us)
		d->max_stall_us = now - d->stall_expect_us;
	d->stall_expect_us = now + STALL_TICK_MS * 1000;
}

/* ---- /metrics ---- */

static void fill_snapshot(const struct daemon *d, struct snapshot *s)
{
	memset(s, 0, sizeof *s);
	s->txns = d->rows;
	s->n_txns = d->n;
	s->endpoints = d->eps;
	s->n_endpoints = d->n_eps;
	s->self.version = CERTPROBE_VERSION;
	s->self.openssl_version = OpenSSL_version(OPENSSL_VERSION_STRING);
	s->self.libcurl_version = LIBCURL_VERSION;
	s->self.start_time = (int64_t)d->started;
	s->self.in_flight = d->in_flight;
	s->self.lag = d->lag;
	s->self.max_stall_us = d->max_stall_us;
	s->self.reload_ok = d->reload_ok;
	s->self.reload_success_time = (int64_t)d->reload_ts;
}

static void on_http(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *body = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	if (strcmp(uri, "/metrics") == 0 || strncmp(uri, "/metrics?", 9) == 0) {
		const char *accept = evhttp_find_header(evhttp_request_get_input_headers(req),
		                                        "Accept");
		bool om = accept != NULL && strstr(accept, "application/openmetrics-text") != NULL;
		struct snapshot s;
		struct bbuf b;

		fill_snapshot(d, &s);
		bbuf_init(&b, METRICS_MAX);
		if (metrics_render(&b, &s, om) == -1) {
			evhttp_send_error(req, HTTP_INTERNAL, "metrics too large");
		} else {
			evhttp_add_header(out, "Content-Type",
			                  om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
			                     : "text/plain; version=0.0.4; charset=utf-8");
			evbuffer_add(body, b.data, b.len);
			evhttp_send_reply(req, HTTP_OK, "OK", body);
		}
		bbuf_free(&b);
		return;
	}
	if (strcmp(uri, "/-/healthy") == 0) {
		evbuffer_add_printf(body, "OK\n");
		evhttp_send_reply(req, HTTP_OK, "OK", body);
		return;
	}
	if (strcmp(uri, "/") == 0) {
		evhttp_add_header(out, "Content-Type", "text/html; charset=utf-8");
		evbuffer_add_printf(body, "<html><head><title>certprobed</title></head><body>"
		                          "<h1>certprobed %s</h1><p><a href=\"/metrics\">Metrics</a></p>"
		                          "</body></html>\n",
		                    CERTPROBE_VERSION);
		evhttp_send_reply(req, HTTP_OK, "OK", body);
		return;
	}
	evhttp_send_error(req, HTTP_NOTFOUND, NULL);
}

static int listen_start(struct daemon *d)
{
	char host[256];
	const char *colon = strrchr(d->cfg->listen, ':');
	unsigned port = (unsigned)strtoul(colon + 1, NULL, 10); /* validated by the loader */
	size_t n = (size_t)(colon - d->cfg->listen);

	if (d->cfg->listen[0] == '[' && n >= 2)
		snprintf(host, sizeof host, "%.*s", (int)(n - 2), d->cfg->listen + 1);
	else
		snprintf(host, sizeof host, "%.*s", (int)n, d->cfg->listen);
	d->httpd = evhttp_new(d->base);
	evhttp_set_allowed_methods(d->httpd, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(d->httpd, 10);
	evhttp_set_gencb(d->httpd, on_http, d);
	if (evhttp_bind_socket(d->httpd, host, (ev_uint16_t)port) != 0) {
		log_err("cannot listen on %s: %s", d->cfg->listen, strerror(errno));
		return -1;
	}
	log_info("metrics on http://%s/metrics", d->cfg->listen);
	return 0;
}

/* ---- systemd ---- */

static void sd_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof sa.sun_path)
		return;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	(void)sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}

/* ---- signals ---- */

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(d->base, NULL);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	unsigned nerr = 0;
	struct config *n;

	(void)sig;
	(void)what;
	/* validate now; applying a new configuration in place comes with state persistence */
	n = config_load(d->cfgpath, stderr, &nerr);
	if (n == NULL) {
		d->reload_ok = false;
		log_err("reload: %s has %u error%s; keeping the running configuration", d->cfgpath,
		        nerr, nerr == 1 ? "" : "s");
		return;
	}
	d->reload_ok = true;
	d->reload_ts = time(NULL);
	log_warn("reload: %s is valid; restart certprobed to apply it", d->cfgpath);
	config_free(n);
}

/* ---- main ---- */

static void usage(FILE *out)
{
	fputs(
"Usage: certprobed -c FILE [-v] [-s DIR]\n"
"       certprobed --help | --version\n"
"\n"
"The certprobe daemon: runs every configured transaction (enrollment, client-auth)\n"
"on its schedule, keeps a health state per transaction and per endpoint\n"
"(registrar, web service), logs every state change, and serves Prometheus\n"
"metrics on probe.listen (default http://127.0.0.1:9793/metrics).\n"
"Runs in the foreground; under systemd use Type=notify.\n"
"\n"
"Options:\n"
"  -c, --config FILE     configuration file (YAML); required\n"
"  -s, --state-dir DIR   override probe.state_dir\n"
"  -v, --verbose         log every result and a wire-level trace (credentials\n"
"                        redacted)\n"
"\n"
"Signals: TERM/INT stop; HUP validates the configuration file again.\n"
"Exit status: 0 after a clean stop, 1 on a runtime failure (cannot listen),\n"
"3 on a configuration or usage error.\n", out);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"state-dir", required_argument, NULL, 's'},
		{"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	struct daemon d;
	const char *state_dir = NULL;
	bool verbose = false;
	unsigned nerr = 0, i;
	uint64_t now, spread_us;
	int ch, rc = 0;

	memset(&d, 0, sizeof d);
	log_init("certprobed", LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "c:s:vhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.cfgpath = optarg;
			break;
		case 's':
			state_dir = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("certprobed %s\n", CERTPROBE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (d.cfgpath == NULL || optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	d.cfg = config_load(d.cfgpath, stderr, &nerr);
	if (d.cfg == NULL)
		return EXIT_USAGE;
	if (verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	if (pki_init() == -1 || http_client_global_init() == -1 || dns_global_init() == -1 ||
	    evthread_use_pthreads() == -1) {
		log_err("cannot initialise OpenSSL, libcurl, c-ares or libevent");
		config_free(d.cfg);
		return EXIT_USAGE;
	}
	d.base = event_base_new();
	d.http = http_client_new(d.base);
	http_client_set_trace(d.http, verbose);
	d.keys = keypool_new(d.base, 2);
	d.dns = dns_new(d.base);
	d.tls = tls_ctx_cache_new();
	d.scep_env = (struct scep_txn_env){.base = d.base, .http = d.http, .keys = d.keys,
	                                   .state_dir = state_dir != NULL ? state_dir
	                                                                  : d.cfg->state_dir};
	d.ca_env = (struct clientauth_env){.base = d.base, .dns = d.dns, .tls = d.tls,
	                                   .state_dir = d.scep_env.state_dir};
	health_conf_defaults(&d.hconf);
	d.hconf.max_attempts = d.cfg->max_attempts;
	d.started = time(NULL);
	d.reload_ok = true;
	d.reload_ts = d.started;

	if (listen_start(&d) == -1) {
		rc = 1;
		goto out;
	}
	d.n = d.cfg->n_txns;
	d.targets = xcalloc(d.n, sizeof *d.targets);
	i = 0;
	for (const struct txn_conf *tc = d.cfg->txns; tc != NULL; tc = tc->next, i++) {
		struct target *t = &d.targets[i];
		t->d = &d;
		t->conf = tc;
		t->ep = endpoint_get(&d, tc);
		if (t->ep->n_members == t->ep->cap_members) {
			t->ep->cap_members = t->ep->cap_members ? 2 * t->ep->cap_members : 4;
			t->ep->members = xrealloc(t->ep->members,
			                          t->ep->cap_members * sizeof *t->ep->members);
		}
		t->ep->members[t->ep->n_members++] = t;
		t->timer = evtimer_new(d.base, on_due, t);
		t->reap = evtimer_new(d.base, on_reap, t);
		health_init(&t->health);
	}
	d.rows = xcalloc(d.n + 1, sizeof *d.rows);
	for (i = 0; i < d.n; i++) {
		struct target *t = &d.targets[i];
		t->index = i;
		d.rows[i].name = t->conf->name;
		d.rows[i].type = t->conf->type == TXN_TYPE_CLIENT_AUTH ? "client-auth" : "enrollment";
		d.rows[i].protocol = t->conf->type == TXN_TYPE_CLIENT_AUTH ? "sip" : "scep";
		d.rows[i].endpoint = t->ep->key;
		d.rows[i].hard = true;
	}
	for (struct endpoint *e = d.endpoints; e != NULL; e = e->next)
		d.n_eps++;
	d.eps = xcalloc(d.n_eps + 1, sizeof *d.eps);
	i = 0;
	for (struct endpoint *e = d.endpoints; e != NULL; e = e->next, i++) {
		e->index = i;
		d.eps[i].name = e->key;
		d.eps[i].kind = strcmp(e->kind, "registrar") == 0 ? ENDPOINT_KIND_REGISTRAR
		                                                  : ENDPOINT_KIND_WEB_SERVICE;
		d.eps[i].state = RESULT_OK;
	}
	for (i = 0; i < d.n; i++) {
		const char *from = d.targets[i].conf->certificate.from;
		for (size_t j = 0; from != NULL && j < d.n; j++)
			if (strcmp(d.targets[j].conf->name, from) == 0)
				d.targets[i].after = &d.targets[j];
	}
	/*
	 * Spread the first runs over a window that grows with the number of transactions
	 * (about 100 starts per second at most), never longer than a transaction's interval.
	 */
	now = clock_now_us();
	spread_us = d.n * 10000ULL;
	if (spread_us < 1000000)
		spread_us = 1000000;
	for (i = 0; i < d.n; i++) {
		struct target *t = &d.targets[i];
		uint64_t window = spread_us < t->conf->interval_ms * 1000 ? spread_us
		                                                          : t->conf->interval_ms * 1000;
		uint64_t r = ((uint64_t)random() << 31) ^ (uint64_t)random();
		target_arm(t, now + (window > 0 ? r % window : 0));
	}
	d.stall_timer = event_new(d.base, -1, EV_PERSIST, on_stall_tick, &d);
	{
		struct timeval tv = {.tv_sec = 0, .tv_usec = STALL_TICK_MS * 1000};
		event_add(d.stall_timer, &tv);
	}
	d.sig_term = evsignal_new(d.base, SIGTERM, on_term, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, on_term, &d);
	d.sig_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	event_add(d.sig_term, NULL);
	event_add(d.sig_int, NULL);
	event_add(d.sig_hup, NULL);
	log_info("started: %zu transaction%s, %s", d.n, d.n == 1 ? "" : "s", d.cfgpath);
	sd_notify_ready();
	event_base_dispatch(d.base);

out:
	for (i = 0; i < d.n; i++) {
		struct target *t = &d.targets[i];
		scep_txn_free(t->scep);
		clientauth_txn_free(t->ca);
		event_free(t->timer);
		event_free(t->reap);
	}
	free(d.targets);
	free(d.rows);
	free(d.eps);
	while (d.endpoints != NULL) {
		struct endpoint *e = d.endpoints;
		d.endpoints = e->next;
		free(e->members);
		free(e);
	}
	if (d.httpd != NULL)
		evhttp_free(d.httpd);
	if (d.stall_timer != NULL)
		event_free(d.stall_timer);
	if (d.sig_term != NULL) {
		event_free(d.sig_term);
		event_free(d.sig_int);
		event_free(d.sig_hup);
	}
	keypool_free(d.keys);
	http_client_free(d.http);
	dns_free(d.dns);
	tls_ctx_cache_free(d.tls);
	event_base_free(d.base);
	config_free(d.cfg);
	dns_global_cleanup();
	http_client_global_cleanup();
	pki_cleanup();
	return rc;
}
