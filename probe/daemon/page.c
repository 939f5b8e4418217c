/*
 * page: the status page's route ("/" and /txn/NAME; exporters/statuspage/ renders).
 * On the loop a request costs a snapshot copy with the history and what the page needs
 * beyond it (open alerts, the sinks, warning windows, the cached state-file records of
 * a few failed transactions for their step traces); the rendering runs on a worker
 * thread (core/offload.h) and its result is handed to evhttp without a copy. The page
 * only reads: nothing here starts a transaction.
 */
#include "daemon/daemon.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "alert/sink.h"
#include "core/bbuf.h"
#include "core/log.h"
#include "core/offload.h"
#include "core/xalloc.h"
#include "exporters/statefile.h"
#include "exporters/statuspage/statuspage.h"

#define PAGE_MAX (64 * 1024 * 1024)
#define PAGE_MAX_TRACES 200 /* failed transactions whose step trace the index shows in full */
#define PAGE_REFRESH_S 30
/* pages rendering or queued at once, past it 503: each holds a copy with the rings (33 MB at
 * 10,000) */
#define PAGE_MAX_JOBS 4

struct page_job {
	struct daemon *d;
	struct evhttp_request *req; /* NULL once the client went away */
	struct snapshot *snap;      /* with the history */
	struct statuspage_endpoint_extra *eps;
	struct statuspage_txn_extra *txns;
	struct persist_rec **records; /* per row: a state-file record (a reference) or NULL */
	const char *sinks[DAEMON_MAX_SINKS];
	size_t n_sinks;
	long txn; /* -1: the index; else the row of /txn/NAME */
	enum statuspage_filter filter;
	int64_t now;
	struct sf_state *parsed; /* the record statuspage_last_fn returned last */
	struct bbuf out;
	int rc;
};

static void job_free(struct page_job *j)
{
	if (j == NULL)
		return;
	if (j->records != NULL)
		for (size_t i = 0; i < j->snap->n_txns; i++)
			persist_record_unref(j->records[i]);
	free(j->records);
	free(j->eps);
	free(j->txns);
	statefile_state_free(j->parsed);
	bbuf_free(&j->out);
	snapshot_unref(j->snap);
	free(j);
}

/* On the worker: the last result of row i, parsed from its cached record. */
static const struct txn_result *job_last(void *arg, size_t i)
{
	struct page_job *j = arg;
	struct bbuf doc;
	char err[256];
	const char *rec;
	size_t len;

	statefile_state_free(j->parsed);
	j->parsed = NULL;
	if (j->records == NULL || j->records[i] == NULL)
		return NULL;
	rec = persist_record_text(j->records[i], &len); /* made here if the writer has not yet */
	bbuf_init(&doc, SIZE_MAX);
	bbuf_appendf(&doc,
	             "{\"version\":%d,\"transactions\":[%.*s],\"endpoints\":[],\"alerts\":[]}",
	             STATEFILE_VERSION, (int)len, rec);
	j->parsed = statefile_parse("record", (const char *)doc.data, doc.len, err, sizeof err);
	bbuf_free(&doc);
	if (j->parsed == NULL || j->parsed->n_txns != 1 || !j->parsed->txns[0].have_last)
		return NULL;
	return &j->parsed->txns[0].last;
}

static void page_work(void *arg)
{
	struct page_job *j = arg;
	struct statuspage_view v = {
	    .snap = j->snap,
	    .eps = j->eps,
	    .txns = j->txns,
	    .sinks = j->sinks,
	    .n_sinks = j->n_sinks,
	    .last = job_last,
	    .last_arg = j,
	    .now = j->now,
	    .filter = j->filter,
	    .refresh_s = PAGE_REFRESH_S,
	};

	bbuf_init(&j->out, PAGE_MAX);
	if (j->txn < 0)
		j->rc = statuspage_render_index(&j->out, &v);
	else
		j->rc =
		    statuspage_render_txn(&j->out, &v, (size_t)j->txn, job_last(j, (size_t)j->txn));
	statefile_state_free(j->parsed);
	j->parsed = NULL;
}

static void free_rendering(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)(uintptr_t)data);
}

static void unhook(struct page_job *j)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(j->req);

	if (conn != NULL)
		evhttp_connection_set_closecb(conn, NULL, NULL);
}

static void page_done(void *arg)
{
	struct page_job *j = arg;
	struct evbuffer *body;
	struct evkeyvalq *out;

	j->d->page_jobs--;
	if (j->req == NULL) {
		job_free(j);
		return;
	}
	unhook(j);
	if (j->rc == -1) {
		evhttp_send_error(j->req, HTTP_INTERNAL, "status page too large");
		job_free(j);
		return;
	}
	body = evhttp_request_get_output_buffer(j->req);
	out = evhttp_request_get_output_headers(j->req);
	evhttp_add_header(out, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	/* no script, no outside asset: were anything left unescaped, it could not run */
	evhttp_add_header(out, "Content-Security-Policy",
	                  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
	                  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
	if (evbuffer_add_reference(body, j->out.data, j->out.len, free_rendering, NULL) == 0)
		j->out.data = NULL;
	else
		evbuffer_add(body, j->out.data, j->out.len);
	evhttp_send_reply(j->req, HTTP_OK, "OK", body);
	job_free(j);
}

static void page_discard(void *arg)
{
	struct page_job *j = arg;

	j->d->page_jobs--;
	if (j->req != NULL)
		unhook(j);
	job_free(j);
}

static void on_conn_close(struct evhttp_connection *conn, void *arg)
{
	struct page_job *j = arg;

	(void)conn;
	j->req = NULL; /* evhttp frees the request; the rendering is dropped when done */
}

/* The extras of the page, copied: the worker must not read what the loop changes. */
static void job_fill(struct page_job *j, struct daemon *d)
{
	struct gen *g = d->g;
	size_t traces = 0;

	j->eps = xcalloc(g->n_eps + 1, sizeof *j->eps);
	for (struct endpoint *e = g->endpoints; e != NULL; e = e->next) {
		j->eps[e->index].alert = e->alert;
		j->eps[e->index].alert_since = e->alert_since;
	}
	j->txns = xcalloc(g->n + 1, sizeof *j->txns);
	j->records = xcalloc(g->n + 1, sizeof *j->records);
	for (size_t i = 0; i < g->n; i++) {
		const struct target *t = &g->targets[i];
		const struct snapshot_txn *row = &j->snap->txns[i];
		bool wanted = j->txn < 0 ? row->have_result && row->result != RESULT_OK &&
		                               statuspage_filter_passes(j->filter, row) &&
		                               traces < PAGE_MAX_TRACES
		                         : (long)i == j->txn;
		j->txns[i].expiry_warn_days = t->conf->warn.expiry_days;
		if (wanted && t->record != NULL) {
			j->records[i] = persist_record_ref(t->record);
			traces++;
		}
	}
	for (size_t i = 0; i < d->n_sinks; i++)
		j->sinks[j->n_sinks++] = d->sinks[i]->ops->name;
}

/* The ?state= filter of the index; 0, or -1 with why for the 400. */
static int parse_filter(struct evhttp_request *req, enum statuspage_filter *f, const char **why)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq q;
	const char *state;
	int rc = 0;

	*f = STATUSPAGE_ALL;
	if (query == NULL || query[0] == '\0')
		return 0;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query, &q) == -1) {
		*why = "malformed query";
		return -1;
	}
	state = evhttp_find_header(&q, "state");
	if (state != NULL && statuspage_filter_parse(state, f) == -1) {
		*why = "unknown state: use ok, warning, critical, unknown or problems";
		rc = -1;
	}
	evhttp_clear_headers(&q);
	return rc;
}

/* The row /txn/NAME names, or -1 (not a transaction, or a name no config allows). */
static long find_txn(struct daemon *d, const char *enc)
{
	size_t len = 0;
	char *name = evhttp_uridecode(enc, 0, &len);
	long i = -1;

	if (name == NULL)
		return -1;
	if (strlen(name) == len && len > 0) {
		struct snapshot s;
		memset(&s, 0, sizeof s);
		s.txns = d->g->rows;
		s.n_txns = d->g->n;
		i = statuspage_find_txn(&s, name);
	}
	free(name);
	return i;
}

bool page_route(struct daemon *d, struct evhttp_request *req, const char *path)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	enum statuspage_filter filter = STATUSPAGE_ALL;
	const char *why = NULL;
	struct page_job *j;
	long txn = -1;

	if (strcmp(path, "/") == 0) {
		if (parse_filter(req, &filter, &why) == -1) {
			evhttp_send_error(req, HTTP_BADREQUEST, why);
			return true;
		}
	} else if (strncmp(path, "/txn/", 5) == 0) {
		txn = find_txn(d, path + 5);
		if (txn < 0) {
			evhttp_send_error(req, HTTP_NOTFOUND, "no such transaction");
			return true;
		}
	} else {
		return false;
	}
	if (d->page_worker == NULL)
		d->page_worker = offload_new(d->base, "certprobe-page");
	if (d->page_worker == NULL || d->page_jobs >= PAGE_MAX_JOBS) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "status page busy");
		return true;
	}
	j = xcalloc(1, sizeof *j);
	j->d = d;
	j->req = req;
	j->txn = txn;
	j->filter = filter;
	j->now = (int64_t)time(NULL);
	j->snap = routes_snapshot(d, SNAPSHOT_COPY_HISTORY);
	job_fill(j, d);
	if (conn != NULL)
		evhttp_connection_set_closecb(conn, on_conn_close, j);
	d->page_jobs++;
	offload_submit(d->page_worker, j, page_work, page_done, page_discard);
	return true;
}

void page_free(struct daemon *d)
{
	offload_free(d->page_worker); /* a page rendering is waited for, queued ones dropped */
	d->page_worker = NULL;
}
