/*
 * certprobed: the probe daemon. One event loop runs every configured transaction on
 * its schedule (start times spread, a concurrency limit per endpoint, a client-auth
 * waits for the first run of the enrollment whose certificate it uses), hands each
 * result to the health module, logs state changes, pushes endpoint alerts to
 * Alertmanager, keeps its state in a file that survives restarts, and serves
 * Prometheus /metrics and blackbox-style /probe. Init and cleanup order live here;
 * nothing here blocks the loop (the state file is written by its own thread).
 *
 * A configuration is one "generation": its targets (one per transaction), endpoints
 * and the rows the exporters read. SIGHUP builds a new generation from the new file
 * and carries the state of every transaction whose name, type and endpoint are
 * unchanged; an invalid file leaves the running generation alone.
 */
#define _DEFAULT_SOURCE 1
#define _XOPEN_SOURCE 700 /* strptime */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

#include "alert/alertmanager.h"
#include "config/config.h"
#include "core/bbuf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exporters/metrics.h"
#include "exporters/snapshot.h"
#include "exporters/statefile.h"
#include "exporters/web.h"
#include "health/health.h"
#include "net/dns.h"
#include "net/http_client.h"
#include "net/tls_conn.h"
#include "pki/keypool.h"
#include "pki/pki.h"
#include "transactions/report.h"
#include "transactions/runner.h"
#include "transactions/txn_type.h"

#define EXIT_USAGE 3
#define STALL_TICK_MS 100
#define METRICS_MAX (64 * 1024 * 1024)
#define STATE_WRITE_MS 5000  /* dirty state reaches the disk within this */
#define PROBE_MAX_IN_FLIGHT 64
#define PROBE_DEFAULT_TIMEOUT_MS 10000 /* /probe without a scrape timeout header */

struct daemon;
struct gen;

/* A registrar or web service several transactions may hit. */
struct endpoint {
	struct gen *g;
	size_t index; /* in gen.eps */
	char key[300];
	const char *kind; /* "registrar" or "web_service" */
	unsigned running;
	struct target *wait_head, *wait_tail;
	struct health_endpoint health;
	struct target **members; /* the transactions that hit it */
	size_t n_members, cap_members;
	enum result_class alert; /* severity of the alert we hold open; RESULT_OK = none */
	int64_t alert_since;
	struct endpoint *next;
};

struct target {
	struct gen *g;
	size_t index; /* in gen.rows */
	const struct txn_conf *conf;
	struct endpoint *ep;
	struct event *timer;
	struct event *reap;
	uint64_t due_us;   /* when this run was due (monotonic) */
	uint64_t start_us; /* when it actually started */
	bool running, queued, ran_once;
	struct txn *run;
	bool have_last;                   /* a result exists (this run or restored) */
	enum txn_status last_reason;      /* what explains its result class */
	char last_detail[TXN_DETAIL_LEN]; /* and its detail, for alerts */
	time_t last_wall;
	time_t last_success;
	uint64_t runs[RESULT_UNKNOWN + 1];
	struct health health;
	struct target *after;   /* waits for this enrollment's first run */
	struct target *ep_next; /* endpoint wait queue */
	char *record;           /* state-file record (with the last result); NULL = to be made */
	size_t record_len;
};

/* Everything one configuration builds. */
struct gen {
	struct daemon *d;
	struct config *cfg;
	struct target *targets;
	size_t n;
	struct endpoint *endpoints;
	size_t n_eps;
	struct snapshot_txn *rows;     /* one per target, same order: what /metrics reads */
	struct snapshot_endpoint *eps; /* one per endpoint */
};

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

struct daemon {
	struct event_base *base;
	struct gen *g;
	const char *cfgpath;
	char *state_dir;
	char *state_path;
	struct am_sink *am;
	struct statefile_writer *writer;
	struct txn_env env;
	struct health_conf hconf;
	struct web *web;
	struct event *sig_term, *sig_int, *sig_hup, *stall_timer, *state_timer, *state_now;
	bool state_dirty;
	uint64_t state_failures_seen; /* writer failures already logged */
	uint64_t stall_expect_us;
	uint64_t max_stall_us;
	struct snapshot_histogram lag;
	uint64_t in_flight;
	time_t started;
	time_t reload_ts;
	bool reload_ok;
	struct probe_req *probes;
	unsigned n_probes;
};

static void target_start(struct target *t);
static void state_schedule(struct daemon *d, bool now);

/* ---- endpoints ---- */

static struct endpoint *endpoint_get(struct gen *g, const struct txn_conf *c)
{
	char key[300];
	enum endpoint_kind kind;
	struct endpoint *e;

	txn_conf_type(c)->endpoint(c, key, sizeof key, &kind);
	for (e = g->endpoints; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0 && strcmp(e->kind, endpoint_kind_name(kind)) == 0)
			return e;
	e = xcalloc(1, sizeof *e);
	e->g = g;
	snprintf(e->key, sizeof e->key, "%s", key);
	e->kind = endpoint_kind_name(kind);
	health_endpoint_init(&e->health);
	e->next = g->endpoints;
	g->endpoints = e;
	g->n_eps++;
	return e;
}

static struct endpoint *endpoint_find(struct gen *g, const char *key, const char *kind)
{
	for (struct endpoint *e = g->endpoints; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0 && strcmp(e->kind, kind) == 0)
			return e;
	return NULL;
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

static uint64_t rand64(void)
{
	return ((uint64_t)random() << 31) ^ (uint64_t)random();
}

/*
 * The window first runs are spread over: grows with the number of transactions (about
 * 100 starts per second at most), never longer than the transaction's interval.
 */
static uint64_t spread_window(const struct gen *g, const struct target *t)
{
	uint64_t spread = g->n * 10000ULL, iv = t->conf->interval_ms * 1000;

	if (spread < 1000000)
		spread = 1000000;
	return spread < iv ? spread : iv;
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
	if (e->running >= t->g->cfg->max_per_endpoint) {
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
	while (e->wait_head != NULL && e->running < e->g->cfg->max_per_endpoint) {
		t = e->wait_head;
		e->wait_head = t->ep_next;
		if (e->wait_head == NULL)
			e->wait_tail = NULL;
		t->queued = false;
		target_start(t);
	}
}

/* ---- alerts ---- */

static const char *severity_of(enum result_class c)
{
	switch (c) {
	case RESULT_CRITICAL:
		return "critical";
	case RESULT_WARNING:
	case RESULT_UNKNOWN:
		return "warning";
	default:
		return NULL;
	}
}

/* The identifying labels of endpoint e's alert at severity sev: fills kv, returns count. */
static size_t alert_labels(const struct endpoint *e, enum result_class sev, struct am_kv *kv,
                           size_t cap)
{
	const struct config *cfg = e->g->cfg;
	size_t n = 0;

	kv[n++] = (struct am_kv){"alertname", strcmp(e->kind, "registrar") == 0
	                                          ? "CertprobeRegistrarState"
	                                          : "CertprobeWebServiceState"};
	kv[n++] = (struct am_kv){"endpoint", e->key};
	kv[n++] = (struct am_kv){"kind", e->kind};
	kv[n++] = (struct am_kv){"severity", severity_of(sev)};
	kv[n++] = (struct am_kv){"job", "certprobe"};
	for (size_t i = 0; i < cfg->alertmanager.n_labels && n < cap; i++)
		kv[n++] = (struct am_kv){cfg->alertmanager.labels[i].name,
		                         cfg->alertmanager.labels[i].value};
	return n;
}

/*
 * Endpoint e's notification is due: fire the alert of its new severity (resolving one of
 * another severity first), or resolve what is open when it recovered.
 */
static void endpoint_alert(struct daemon *d, struct endpoint *e)
{
	enum result_class now_sev = e->health.state;
	struct am_kv labels[64], ann[4];
	char summary[400], description[1200], members[600];
	int64_t now = (int64_t)time(NULL), since;
	size_t nl, nm = 0, n_failing = 0;
	const struct txn_status_info *si;

	if (severity_of(now_sev) == NULL)
		now_sev = RESULT_OK;
	if (e->alert != RESULT_OK && (now_sev == RESULT_OK || severity_of(e->alert) !=
	                                                         severity_of(now_sev))) {
		nl = alert_labels(e, e->alert, labels, 64);
		if (d->am != NULL)
			am_sink_resolve(d->am, labels, nl, now);
		e->alert = RESULT_OK;
	}
	if (now_sev == RESULT_OK)
		return;
	since = e->alert != RESULT_OK ? e->alert_since : now;
	si = txn_status_info(e->health.status);
	members[0] = '\0';
	description[0] = '\0';
	for (size_t i = 0; i < e->n_members; i++) {
		const struct target *t = e->members[i];
		if (t->health.hard_state == RESULT_OK || t->health.state_type != HEALTH_HARD)
			continue;
		n_failing++;
		if (nm < sizeof members)
			nm += (size_t)snprintf(members + nm, sizeof members - nm, "%s%s", nm ? ", " : "",
			                       t->conf->name);
		if (description[0] == '\0' && t->have_last) {
			const struct txn_status_info *ri = txn_status_info(t->last_reason);
			snprintf(description, sizeof description, "%s: %s%s%s. %s", t->conf->name,
			         ri->description, t->last_detail[0] ? ": " : "", t->last_detail,
			         ri->action);
		}
	}
	snprintf(summary, sizeof summary, "%s %s is %s: %s (%zu of %zu transactions)",
	         strcmp(e->kind, "registrar") == 0 ? "Registrar" : "Web service", e->key,
	         result_class_name(now_sev), si->description, n_failing, e->n_members);
	if (description[0] == '\0')
		snprintf(description, sizeof description, "%s", si->action);
	ann[0] = (struct am_kv){"summary", summary};
	ann[1] = (struct am_kv){"description", description};
	ann[2] = (struct am_kv){"reason", si->code};
	ann[3] = (struct am_kv){"transactions", members};
	nl = alert_labels(e, now_sev, labels, 64);
	if (d->am != NULL)
		am_sink_fire(d->am, labels, nl, ann, 4, since);
	e->alert = now_sev;
	e->alert_since = since;
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
	e->g->eps[e->index].state = e->health.state;
	health_endpoint_change_describe(line, sizeof line, e->kind, e->key, &e->health, &c);
	if (c.notify) {
		log_warn("%s", line);
		endpoint_alert(d, e);
		state_schedule(d, true);
	} else {
		log_info("%s", line);
	}
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

/*
 * The exporters' view of a target: its health, and the result r when one just arrived
 * (NULL: the row keeps the result it has). Only the row keeps a result's numbers; the
 * target keeps its reason and the state-file record, so 10,000 targets stay small.
 */
static void row_update(struct target *t, const struct txn_result *r)
{
	struct snapshot_txn *row = &t->g->rows[t->index];
	static const struct {
		enum cert_role role;
		const char *fact;
	} certs[] = {
		{CERT_ROLE_ISSUED, "issued_not_after"},
		{CERT_ROLE_CLIENT, "client_not_after"},
		{CERT_ROLE_SERVER, "server_not_after"},
	};

	if (r != NULL) {
		const char *detail;
		metrics_txn_set_result(row, r);
		t->last_reason = txn_result_reason(r, &detail);
		snprintf(t->last_detail, sizeof t->last_detail, "%s", detail);
		for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++) {
			int64_t na = fact_time(r, certs[i].fact);
			if (na != 0) {
				row->certs[certs[i].role].present = true;
				row->certs[certs[i].role].not_after = na;
			}
		}
	}
	if (t->have_last) {
		row->last_run = (int64_t)t->last_wall;
		row->last_success = (int64_t)t->last_success;
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
	txn_free(t->run);
	t->run = NULL;
}

static void target_view(const struct target *t, const struct txn_result *r, struct sf_txn *v);

static void on_result(const struct txn_result *r, void *arg)
{
	struct target *t = arg;
	struct gen *g = t->g;
	struct daemon *d = g->d;
	struct health_change c;
	struct sf_txn *view;
	uint64_t interval_us = t->conf->interval_ms * 1000, next;

	t->have_last = true;
	t->last_wall = time(NULL);
	if (r->result == RESULT_OK || r->result == RESULT_WARNING)
		t->last_success = t->last_wall;
	t->running = false;
	t->runs[r->result]++;
	d->in_flight--;
	event_active(t->reap, EV_TIMEOUT, 0);
	c = health_update(&t->health, &d->hconf, r->result, txn_result_reason(r, NULL),
	                  (uint64_t)t->last_wall);
	row_update(t, r);
	view = xcalloc(1, sizeof *view);
	target_view(t, r, view);
	free(t->record);
	t->record = statefile_txn_json(view);
	t->record_len = strlen(t->record);
	free(view);
	state_schedule(d, false);
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
		for (size_t i = 0; i < g->n; i++)
			if (g->targets[i].after == t && !g->targets[i].running)
				on_due(-1, 0, &g->targets[i]);
	}
	endpoint_release(t->ep);
}

static void target_start(struct target *t)
{
	struct daemon *d = t->g->d;
	uint64_t now = clock_now_us();

	evtimer_del(t->timer);
	metrics_histogram_observe(&d->lag, now > t->due_us ? now - t->due_us : 0);
	t->start_us = now;
	t->running = true;
	t->ep->running++;
	d->in_flight++;
	t->run = txn_start(&d->env, t->conf, on_result, t);
}

/* ---- generations ---- */

static struct gen *gen_new(struct daemon *d, struct config *cfg)
{
	struct gen *g = xcalloc(1, sizeof *g);
	size_t i = 0;

	g->d = d;
	g->cfg = cfg;
	g->n = cfg->n_txns;
	g->targets = xcalloc(g->n + 1, sizeof *g->targets);
	for (const struct txn_conf *tc = cfg->txns; tc != NULL; tc = tc->next, i++) {
		struct target *t = &g->targets[i];
		t->g = g;
		t->index = i;
		t->conf = tc;
		t->ep = endpoint_get(g, tc);
		if (t->ep->n_members == t->ep->cap_members) {
			t->ep->cap_members = t->ep->cap_members ? 2 * t->ep->cap_members : 4;
			t->ep->members = xrealloc(t->ep->members,
			                          t->ep->cap_members * sizeof *t->ep->members);
		}
		t->ep->members[t->ep->n_members++] = t;
		t->timer = evtimer_new(d->base, on_due, t);
		t->reap = evtimer_new(d->base, on_reap, t);
		health_init(&t->health);
	}
	g->rows = xcalloc(g->n + 1, sizeof *g->rows);
	for (i = 0; i < g->n; i++) {
		struct target *t = &g->targets[i];
		g->rows[i].name = t->conf->name;
		g->rows[i].type = txn_conf_type(t->conf)->name;
		g->rows[i].protocol = txn_conf_type(t->conf)->protocol(t->conf);
		g->rows[i].endpoint = t->ep->key;
		g->rows[i].interval_ms = t->conf->interval_ms;
		g->rows[i].hard = true;
	}
	g->eps = xcalloc(g->n_eps + 1, sizeof *g->eps);
	i = 0;
	for (struct endpoint *e = g->endpoints; e != NULL; e = e->next, i++) {
		e->index = i;
		g->eps[i].name = e->key;
		g->eps[i].kind = strcmp(e->kind, "registrar") == 0 ? ENDPOINT_KIND_REGISTRAR
		                                                  : ENDPOINT_KIND_WEB_SERVICE;
		g->eps[i].state = RESULT_OK;
	}
	for (i = 0; i < g->n; i++) {
		const char *from = txn_conf_depends_on(g->targets[i].conf);
		const struct txn_conf *src = from != NULL ? config_find_txn(cfg, from) : NULL;
		/* the config keeps transactions in file order, as targets are */
		if (src != NULL) {
			size_t j = 0;
			for (const struct txn_conf *tc = cfg->txns; tc != src; tc = tc->next)
				j++;
			g->targets[i].after = &g->targets[j];
		}
	}
	return g;
}

/* Stop g's transactions (no callbacks) and free it; the config too when free_cfg. */
static void gen_free(struct gen *g, bool free_cfg)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n; i++) {
		struct target *t = &g->targets[i];
		if (t->running)
			g->d->in_flight--;
		txn_free(t->run);
		event_free(t->timer);
		event_free(t->reap);
		free(t->record);
	}
	while (g->endpoints != NULL) {
		struct endpoint *e = g->endpoints;
		g->endpoints = e->next;
		free(e->members);
		free(e);
	}
	free(g->targets);
	free(g->rows);
	free(g->eps);
	if (free_cfg)
		config_free(g->cfg);
	free(g);
}

/* Schedule every target: carried ones keep their phase, new ones are spread. */
static void gen_schedule(struct gen *g, const bool *keep_due)
{
	uint64_t now = clock_now_us();

	for (size_t i = 0; i < g->n; i++) {
		struct target *t = &g->targets[i];
		uint64_t window = spread_window(g, t), iv = t->conf->interval_ms * 1000;

		if (keep_due != NULL && keep_due[i] && t->due_us > now && t->due_us <= now + iv) {
			target_arm(t, t->due_us);
			continue;
		}
		if (t->have_last && t->last_wall != 0) {
			/* restored: next run one interval after the last, if that is still ahead */
			time_t wall = time(NULL);
			int64_t ahead = (int64_t)t->last_wall * 1000000 + (int64_t)iv -
			                (int64_t)wall * 1000000;
			if (ahead > 0 && (uint64_t)ahead <= iv) {
				target_arm(t, now + (uint64_t)ahead);
				continue;
			}
		}
		target_arm(t, now + (window > 0 ? rand64() % window : 0));
	}
}

/* ---- state: save ---- */

/* The persisted view of t; r is its result just in (NULL: none, or not at hand). */
static void target_view(const struct target *t, const struct txn_result *r, struct sf_txn *v)
{
	memset(v, 0, sizeof *v);
	v->name = t->conf->name;
	v->type = t->g->rows[t->index].type;
	v->endpoint = t->ep->key;
	v->endpoint_kind = t->ep->kind;
	v->health = t->health;
	v->have_last = r != NULL;
	if (r != NULL)
		v->last = *r;
	v->last_run = (int64_t)t->last_wall;
	v->last_success = (int64_t)t->last_success;
	memcpy(v->runs, t->runs, sizeof v->runs);
}

struct alert_collect {
	struct bbuf *b;
	bool first;
};

static void collect_alert(const struct am_alert_view *a, void *arg)
{
	struct alert_collect *ac = arg;
	struct sf_kv labels[64], ann[16];
	struct sf_alert sa;
	char *rec;

	memset(&sa, 0, sizeof sa);
	for (size_t i = 0; i < a->n_labels && i < 64; i++)
		labels[sa.n_labels++] = (struct sf_kv){a->labels[i].name, a->labels[i].value};
	for (size_t i = 0; i < a->n_ann && i < 16; i++)
		ann[sa.n_annotations++] = (struct sf_kv){a->annotations[i].name,
		                                         a->annotations[i].value};
	sa.labels = labels;
	sa.annotations = ann;
	sa.starts_at = a->starts_at;
	sa.resolved = a->resolved;
	sa.ends_at = a->ends_at;
	rec = statefile_alert_json(&sa);
	bbuf_appendf(ac->b, "%s%s", ac->first ? "" : ",", rec);
	ac->first = false;
	free(rec);
}

/* Join the records into one document and hand it to the writer thread. */
static void state_flush(struct daemon *d)
{
	struct gen *g = d->g;
	struct bbuf b;
	struct alert_collect ac;
	char *cfg_json;
	size_t total = 0;

	if (d->writer == NULL)
		return;
	d->state_dirty = false;
	/*
	 * The records are cached; joining them is a sized memcpy (10,000 transactions: about
	 * 23 MB in a few ms). The writer thread does the disk work.
	 */
	for (size_t i = 0; i < g->n; i++) {
		struct target *t = &g->targets[i];
		if (t->record == NULL) {
			struct sf_txn v;
			target_view(t, NULL, &v);
			t->record = statefile_txn_json(&v);
			t->record_len = strlen(t->record);
		}
		total += t->record_len + 1;
	}
	bbuf_init(&b, SIZE_MAX);
	bbuf_reserve(&b, total + 4096 + 1024 * g->n_eps);
	cfg_json = statefile_quote(d->cfgpath);
	bbuf_appendf(&b, "{\"version\":%d,\"generator\":\"certprobed %s\",\"written\":%lld,"
	                 "\"pid\":%ld,\"config\":%s,\"transactions\":[",
	             STATEFILE_VERSION, CERTPROBE_VERSION, (long long)time(NULL), (long)getpid(),
	             cfg_json);
	free(cfg_json);
	for (size_t i = 0; i < g->n; i++) {
		if (i > 0)
			bbuf_append(&b, ",", 1);
		bbuf_append(&b, g->targets[i].record, g->targets[i].record_len);
	}
	bbuf_appendf(&b, "],\"endpoints\":[");
	for (struct endpoint *e = g->endpoints; e != NULL; e = e->next) {
		struct sf_endpoint v = {e->key, e->kind, e->health};
		char *rec = statefile_endpoint_json(&v);
		bbuf_appendf(&b, "%s%s", e != g->endpoints ? "," : "", rec);
		free(rec);
	}
	bbuf_appendf(&b, "],\"alerts\":[");
	ac.b = &b;
	ac.first = true;
	if (d->am != NULL)
		am_sink_foreach(d->am, collect_alert, &ac);
	bbuf_appendf(&b, "]}");
	if (b.toobig) {
		log_err("state: the document does not fit in memory; not written");
		bbuf_free(&b);
		return;
	}
	statefile_writer_submit(d->writer, (char *)b.data, b.len); /* the writer frees it */
}

static void on_state_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	char err[256];
	uint64_t f;

	(void)fd;
	(void)what;
	if (d->state_dirty)
		state_flush(d);
	if (d->writer != NULL && (f = statefile_writer_failures(d->writer, err, sizeof err)) !=
	                             d->state_failures_seen) {
		d->state_failures_seen = f;
		log_err("state: %s", err);
	}
}

/* Mark the state dirty; now: write on the next loop turn (an alert changed). */
static void state_schedule(struct daemon *d, bool now)
{
	d->state_dirty = true;
	if (now)
		event_active(d->state_now, EV_TIMEOUT, 0);
}

/* ---- state: restore ---- */

static void restore_alerts(struct daemon *d, const struct sf_state *s)
{
	for (size_t i = 0; i < s->n_alerts; i++) {
		const struct sf_alert *a = &s->alerts[i];
		struct am_kv labels[64], ann[16];
		size_t nl = 0, na = 0;
		const char *ep = NULL, *kind = NULL, *sev = NULL;
		struct endpoint *e;

		for (size_t k = 0; k < a->n_labels && nl < 64; k++) {
			labels[nl++] = (struct am_kv){a->labels[k].name, a->labels[k].value};
			if (strcmp(a->labels[k].name, "endpoint") == 0)
				ep = a->labels[k].value;
			else if (strcmp(a->labels[k].name, "kind") == 0)
				kind = a->labels[k].value;
			else if (strcmp(a->labels[k].name, "severity") == 0)
				sev = a->labels[k].value;
		}
		for (size_t k = 0; k < a->n_annotations && na < 16; k++)
			ann[na++] = (struct am_kv){a->annotations[k].name, a->annotations[k].value};
		if (a->resolved) {
			if (d->am != NULL)
				am_sink_resolve(d->am, labels, nl, a->ends_at);
			continue;
		}
		e = ep != NULL && kind != NULL ? endpoint_find(d->g, ep, kind) : NULL;
		if (e == NULL || sev == NULL) {
			/* its endpoint is no longer configured: nothing will ever resolve it */
			if (d->am != NULL)
				am_sink_resolve(d->am, labels, nl, (int64_t)time(NULL));
			log_info("alert for %s %s resolved: no longer configured",
			         kind ? kind : "?", ep ? ep : "?");
			continue;
		}
		if (d->am != NULL)
			am_sink_fire(d->am, labels, nl, ann, na, a->starts_at);
		e->alert = strcmp(sev, "critical") == 0 ? RESULT_CRITICAL : RESULT_WARNING;
		e->alert_since = a->starts_at;
	}
}

static void restore(struct daemon *d)
{
	char err[512];
	struct sf_state *s = statefile_load(d->state_path, err, sizeof err);
	size_t n_txn = 0;

	if (s == NULL) {
		if (errno != ENOENT) {
			char bad[PATH_MAX];
			snprintf(bad, sizeof bad, "%s.bad", d->state_path);
			log_err("state: %s; starting afresh (kept as %s)", err, bad);
			(void)rename(d->state_path, bad);
		}
		return;
	}
	for (size_t i = 0; i < d->g->n; i++) {
		struct target *t = &d->g->targets[i];
		/* same position first: a file written by this configuration lists it in order */
		const struct sf_txn *r = i < s->n_txns && strcmp(s->txns[i].name, t->conf->name) == 0
		                             ? &s->txns[i]
		                             : statefile_find_txn(s, t->conf->name);
		if (r == NULL || strcmp(r->type, d->g->rows[i].type) != 0 ||
		    strcmp(r->endpoint, t->ep->key) != 0)
			continue; /* new, or changed what it probes: starts afresh */
		t->health = r->health;
		t->have_last = r->have_last;
		t->last_wall = (time_t)r->last_run;
		t->last_success = (time_t)r->last_success;
		memcpy(t->runs, r->runs, sizeof t->runs);
		t->ran_once = r->have_last;
		row_update(t, r->have_last ? &r->last : NULL);
		t->record = statefile_txn_json(r);
		t->record_len = strlen(t->record);
		n_txn++;
	}
	for (size_t i = 0; i < s->n_endpoints; i++) {
		struct endpoint *e = endpoint_find(d->g, s->endpoints[i].name, s->endpoints[i].kind);
		if (e == NULL)
			continue;
		e->health = s->endpoints[i].health;
		d->g->eps[e->index].state = e->health.state;
	}
	restore_alerts(d, s);
	log_info("state: restored %zu of %zu transactions and %zu alert%s from %s", n_txn,
	         d->g->n, s->n_alerts, s->n_alerts == 1 ? "" : "s", d->state_path);
	statefile_state_free(s);
}

/* ---- reload ---- */

/* Carry the state of old's transactions into g where name, type and endpoint match. */
static void gen_carry(struct gen *g, struct gen *old, bool *keep_due)
{
	for (size_t i = 0; i < g->n; i++) {
		struct target *t = &g->targets[i];
		struct target *o = NULL;
		/* same position first (an unchanged file), else search: O(n) per moved one */
		if (i < old->n && strcmp(old->targets[i].conf->name, t->conf->name) == 0) {
			o = &old->targets[i];
		} else {
			const struct txn_conf *oc = config_find_txn(old->cfg, t->conf->name);
			for (size_t j = 0; oc != NULL && j < old->n; j++)
				if (old->targets[j].conf == oc)
					o = &old->targets[j];
		}
		if (o == NULL || strcmp(old->rows[o->index].type, g->rows[i].type) != 0 ||
		    strcmp(o->ep->key, t->ep->key) != 0)
			continue;
		t->health = o->health;
		t->have_last = o->have_last;
		t->last_reason = o->last_reason;
		memcpy(t->last_detail, o->last_detail, sizeof t->last_detail);
		t->record = o->record; /* the record names the same transaction and endpoint */
		t->record_len = o->record_len;
		o->record = NULL;
		{
			/* the row's result and certificates; identity fields stay the new ones */
			struct snapshot_txn keep = g->rows[i];
			g->rows[i] = old->rows[o->index];
			g->rows[i].name = keep.name;
			g->rows[i].type = keep.type;
			g->rows[i].protocol = keep.protocol;
			g->rows[i].endpoint = keep.endpoint;
			g->rows[i].interval_ms = keep.interval_ms;
		}
		t->last_wall = o->last_wall;
		t->last_success = o->last_success;
		memcpy(t->runs, o->runs, sizeof t->runs);
		t->ran_once = o->ran_once;
		t->due_us = o->due_us;
		keep_due[i] = !o->running && !o->queued;
		row_update(t, NULL);
	}
	for (struct endpoint *e = g->endpoints; e != NULL; e = e->next) {
		struct endpoint *o = endpoint_find(old, e->key, e->kind);
		if (o == NULL)
			continue;
		e->health = o->health;
		e->alert = o->alert;
		e->alert_since = o->alert_since;
		g->eps[e->index].state = e->health.state;
	}
}

static void probes_cancel_all(struct daemon *d, const char *why);
static int web_configure(struct daemon *d, const struct config *cfg, bool first);

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	unsigned nerr = 0;
	struct config *cfg;
	struct gen *g, *old = d->g;
	bool *keep_due;

	(void)sig;
	(void)what;
	cfg = config_load(d->cfgpath, stderr, &nerr);
	if (cfg == NULL) {
		d->reload_ok = false;
		log_err("reload: %s has %u error%s; keeping the running configuration", d->cfgpath,
		        nerr, nerr == 1 ? "" : "s");
		return;
	}
	if (strcmp(cfg->listen, old->cfg->listen) != 0 || strcmp(cfg->state_dir, d->state_dir) != 0)
		log_warn("reload: probe.listen and probe.state_dir take effect at the next restart");
	if (web_configure(d, cfg, false) == -1) {
		d->reload_ok = false;
		log_err("reload: keeping the running configuration");
		config_free(cfg);
		return;
	}
	probes_cancel_all(d, "configuration reloaded");
	g = gen_new(d, cfg);
	keep_due = xcalloc(g->n + 1, sizeof *keep_due);
	gen_carry(g, old, keep_due);
	/* alerts of endpoints that are gone: resolve them */
	for (struct endpoint *e = old->endpoints; e != NULL; e = e->next) {
		if (e->alert != RESULT_OK && endpoint_find(g, e->key, e->kind) == NULL) {
			struct am_kv labels[64];
			size_t nl = alert_labels(e, e->alert, labels, 64);
			if (d->am != NULL)
				am_sink_resolve(d->am, labels, nl, (int64_t)time(NULL));
		}
	}
	d->g = g;
	gen_free(old, true);
	log_syslog(cfg->syslog);
	d->hconf.max_attempts = cfg->max_attempts;
	gen_schedule(g, keep_due);
	free(keep_due);
	d->reload_ok = true;
	d->reload_ts = time(NULL);
	state_schedule(d, true);
	log_info("reload: %s applied, %zu transaction%s", d->cfgpath, g->n, g->n == 1 ? "" : "s");
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
	s->txns = d->g->rows;
	s->n_txns = d->g->n;
	s->endpoints = d->g->eps;
	s->n_endpoints = d->g->n_eps;
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
		/* hand the rendering over instead of copying it (31 MB at 10,000 transactions) */
		if (evbuffer_add_reference(body, b.data, b.len, free_rendering, NULL) == 0)
			b.data = NULL;
		else
			evbuffer_add(body, b.data, b.len);
		evhttp_send_reply(req, HTTP_OK, "OK", body);
	}
	bbuf_free(&b);
}

/* ---- /probe?target=NAME[&debug=true] ---- */

static void probe_req_free(struct probe_req *p)
{
	struct probe_req **pp;

	for (pp = &p->d->probes; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	p->d->n_probes--;
	txn_free(p->run);
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
		char steps[8192];
		size_t n = 0;
		memset(&row, 0, sizeof row);
		metrics_txn_set_result(&row, r);
		steps[0] = '\0';
		for (size_t i = 0; i < r->n_steps && n < sizeof steps; i++)
			n += (size_t)snprintf(steps + n, sizeof steps - n,
			                      "probe_step_duration_seconds{step=\"%s\"} %.6f\n",
			                      r->steps[i].name, (double)r->steps[i].duration_us / 1e6);
		evhttp_add_header(out, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		evbuffer_add_printf(
		    body,
		    "# HELP probe_success Whether the transaction succeeded (OK or WARNING).\n"
		    "# TYPE probe_success gauge\nprobe_success %d\n"
		    "# HELP probe_duration_seconds How long the transaction took.\n"
		    "# TYPE probe_duration_seconds gauge\nprobe_duration_seconds %.6f\n"
		    "# HELP probe_step_duration_seconds How long each step took.\n"
		    "# TYPE probe_step_duration_seconds gauge\n%s"
		    "# HELP certprobe_probe_result Result class: 0 OK, 1 WARNING, 2 CRITICAL, 3 "
		    "UNKNOWN.\n# TYPE certprobe_probe_result gauge\ncertprobe_probe_result %d\n"
		    "# HELP certprobe_probe_status_info The status that ended the transaction.\n"
		    "# TYPE certprobe_probe_status_info gauge\n"
		    "certprobe_probe_status_info{reason=\"%s\",result=\"%s\"} 1\n",
		    r->result == RESULT_OK || r->result == RESULT_WARNING, (double)r->duration_us / 1e6,
		    steps, (int)r->result, txn_status_code(r->status), result_class_name(r->result));
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

static void probes_cancel_all(struct daemon *d, const char *why)
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
		evhttp_send_error(req, HTTP_BADREQUEST, "unknown target: not a configured transaction");
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
	p->run = txn_start(&d->env, &p->conf, on_probe_result, p);
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
		evbuffer_add_printf(body,
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
static int web_configure(struct daemon *d, const struct config *cfg, bool first)
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
			log_warn("reload: switching HTTPS on or off takes effect at the next restart");
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

/* ---- main ---- */

static void usage(FILE *out)
{
	fputs(
"Usage: certprobed -c FILE [-v] [-s DIR]\n"
"       certprobed --help | --version\n"
"\n"
"The certprobe daemon: runs every configured transaction (enrollment, client-auth)\n"
"on its schedule, keeps a health state per transaction and per endpoint\n"
"(registrar, web service) with soft/hard states and flap detection, logs every\n"
"state change (stderr, and syslog with probe.syslog), pushes registrar and web\n"
"service alerts to Alertmanager (alerting.alertmanager), keeps its state in\n"
"STATE_DIR/certprobed.state.json (read by `certprobe status`), and serves\n"
"Prometheus metrics on probe.listen (default http://127.0.0.1:9793/metrics) and\n"
"blackbox-style /probe?target=NAME[&debug=true].\n"
"Runs in the foreground; under systemd use Type=notify.\n"
"\n"
"Options:\n"
"  -c, --config FILE     configuration file (YAML); required\n"
"  -s, --state-dir DIR   override probe.state_dir\n"
"  -v, --verbose         log every result and a wire-level trace (credentials\n"
"                        redacted)\n"
"\n"
"Signals: TERM/INT stop (the state file is written first); HUP reloads the\n"
"configuration: an invalid file is reported and the running one is kept;\n"
"transactions whose name, type and endpoint are unchanged keep their state.\n"
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
	struct config *cfg;
	const char *state_dir = NULL;
	struct runner_opts ro = {0};
	bool verbose = false;
	unsigned nerr = 0;
	char err[512];
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
	cfg = config_load(d.cfgpath, stderr, &nerr);
	if (cfg == NULL)
		return EXIT_USAGE;
	if (verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	log_syslog(cfg->syslog);
	srandom((unsigned)(time(NULL) ^ getpid()));
	d.state_dir = xstrdup(state_dir != NULL ? state_dir : cfg->state_dir);
	d.state_path = xasprintf("%s/%s", d.state_dir, STATEFILE_NAME);
	if (mkdir(d.state_dir, 0750) == -1 && errno != EEXIST) {
		log_err("cannot create state directory %s: %s", d.state_dir, strerror(errno));
		config_free(cfg);
		rc = EXIT_USAGE;
		goto out;
	}
	ro.state_dir = d.state_dir;
	ro.key_workers = 2;
	ro.trace = verbose;
	if (runner_env_open(&d.env, &ro, err, sizeof err) == -1) {
		log_err("%s", err);
		config_free(cfg);
		rc = EXIT_USAGE;
		goto out;
	}
	d.base = d.env.base;
	health_conf_defaults(&d.hconf);
	d.hconf.max_attempts = cfg->max_attempts;
	d.started = time(NULL);
	d.reload_ok = true;
	d.reload_ts = d.started;

	if (web_configure(&d, cfg, true) == -1) {
		config_free(cfg);
		rc = 1;
		goto out;
	}
	if (cfg->alertmanager.n_urls > 0) {
		char gen_url[300];
		struct am_sink_conf ac = {
			.urls = (const char *const *)cfg->alertmanager.urls,
			.n_urls = cfg->alertmanager.n_urls,
			.resend_interval_ms = cfg->alertmanager.resend_interval_ms,
			.timeout_ms = cfg->alertmanager.timeout_ms,
			.generator_url = gen_url,
			.trust_store = cfg->alertmanager.trust_store,
		};
		snprintf(gen_url, sizeof gen_url, "%s://%s/", cfg->web.tls_cert ? "https" : "http",
		         cfg->listen);
		d.am = am_sink_new(d.base, d.env.http, &ac);
		if (d.am == NULL) {
			config_free(cfg);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	d.writer = statefile_writer_new(d.state_path, err, sizeof err);
	if (d.writer == NULL)
		log_err("state: %s; running without a state file", err);
	d.g = gen_new(&d, cfg);
	restore(&d);
	gen_schedule(d.g, NULL);

	d.stall_timer = event_new(d.base, -1, EV_PERSIST, on_stall_tick, &d);
	d.state_timer = event_new(d.base, -1, EV_PERSIST, on_state_timer, &d);
	d.state_now = event_new(d.base, -1, 0, on_state_timer, &d);
	{
		struct timeval tv = {.tv_sec = 0, .tv_usec = STALL_TICK_MS * 1000};
		struct timeval sv = {.tv_sec = STATE_WRITE_MS / 1000,
		                     .tv_usec = (STATE_WRITE_MS % 1000) * 1000};
		event_add(d.stall_timer, &tv);
		event_add(d.state_timer, &sv);
	}
	d.sig_term = evsignal_new(d.base, SIGTERM, on_term, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, on_term, &d);
	d.sig_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	event_add(d.sig_term, NULL);
	event_add(d.sig_int, NULL);
	event_add(d.sig_hup, NULL);
	log_info("started: %zu transaction%s, %s, state %s", d.g->n, d.g->n == 1 ? "" : "s",
	         d.cfgpath, d.state_path);
	state_schedule(&d, true);
	sd_notify_ready();
	event_base_dispatch(d.base);
	state_flush(&d);

out:
	probes_cancel_all(&d, "stopping");
	gen_free(d.g, true);
	statefile_writer_free(d.writer); /* waits for the last document */
	web_free(d.web);
	am_sink_free(d.am);
	if (d.stall_timer != NULL) {
		event_free(d.stall_timer);
		event_free(d.state_timer);
		event_free(d.state_now);
	}
	if (d.sig_term != NULL) {
		event_free(d.sig_term);
		event_free(d.sig_int);
		event_free(d.sig_hup);
	}
	runner_env_close(&d.env);
	free(d.state_dir);
	free(d.state_path);
	log_syslog(0);
	return rc;
}
