/*
 * persist: the daemon's state file. Each target's record is serialised when its result
 * changes and cached; a flush joins the cached records, the endpoints and the alerts
 * into one document for the writer thread (statefile.c), which does the disk work off
 * the loop. Restore reads the file at start and gives every transaction whose name, type
 * and endpoint are unchanged its health, counters, last result and recent history back.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/bbuf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exporters/statefile.h"

#define STATE_WRITE_MS 5000 /* dirty state reaches the disk within this */
/* Records made on the loop per flush for targets that never ran (at most this many). */
#define STATE_FRESH_PER_FLUSH 64

/*
 * A record: immutable text with a reference count in front, so that a flush hands the
 * writer thread pointers (each with a reference) instead of joining 23 MB on the loop.
 */
struct persist_rec {
	atomic_uint refs;
	char text[];
};

static struct persist_rec *rec_of(char *text)
{
	return (struct persist_rec *)(void *)(text - offsetof(struct persist_rec, text));
}

/* json (malloced) as a record with one reference; *len its length. */
static char *rec_adopt(char *json, size_t *len)
{
	size_t n = strlen(json);
	struct persist_rec *r = xmalloc(sizeof *r + n + 1);

	atomic_init(&r->refs, 1);
	memcpy(r->text, json, n + 1);
	free(json);
	*len = n;
	return r->text;
}

void persist_record_unref(char *record)
{
	struct persist_rec *r;

	if (record == NULL)
		return;
	r = rec_of(record);
	if (atomic_fetch_sub(&r->refs, 1) == 1)
		free(r);
}

/* The persisted view of t; r is its result just in (NULL: none, or not at hand). */
static void target_view(const struct target *t, const struct txn_result *r, struct sf_txn *v)
{
	memset(v, 0, sizeof *v);
	v->name = t->conf->name;
	v->type = t->g->rows[t->index].type;
	v->endpoint = t->ep->key;
	v->endpoint_kind = endpoint_kind_name(t->ep->kind);
	v->interval_ms = t->conf->interval_ms;
	v->health = t->health;
	v->have_last = r != NULL;
	if (r != NULL)
		v->last = *r;
	v->last_run = (int64_t)t->last_wall;
	v->last_success = (int64_t)t->last_success;
	memcpy(v->runs, t->runs, sizeof v->runs);
	v->history = t->history;
}

void persist_record(struct target *t, const struct txn_result *r)
{
	struct sf_txn *view;

	persist_record_unref(t->record);
	t->record = NULL;
	t->record_len = 0;
	if (r == NULL)
		return;
	view = xcalloc(1, sizeof *view);
	target_view(t, r, view);
	t->record = rec_adopt(statefile_txn_json(view), &t->record_len);
	free(view);
}

/*
 * Hand the writer thread the document: the cached records by reference (one pointer and
 * one reference each: 10,000 transactions in well under a millisecond), the endpoints
 * and alerts as text. The writer joins and writes it.
 */
void persist_flush(struct daemon *d)
{
	struct gen *g = d->g;
	struct statefile_parts *p;
	struct bbuf b;
	unsigned fresh = 0;
	bool more = false;

	if (d->writer == NULL)
		return;
	d->state_dirty = false;
	p = xcalloc(1, sizeof *p);
	p->release = persist_record_unref;
	p->items = xcalloc(g->n + 1, sizeof *p->items);
	p->lens = xcalloc(g->n + 1, sizeof *p->lens);
	for (size_t i = 0; i < g->n; i++) {
		struct target *t = &g->targets[i];
		if (t->record == NULL) {
			struct sf_txn v;
			/*
			 * A target that never ran has nothing a restart needs yet; after a start
			 * with 10,000 of them a flush makes 64 records (about 1 ms), not all.
			 */
			if (!t->have_last && fresh >= STATE_FRESH_PER_FLUSH) {
				more = true;
				continue;
			}
			fresh++;
			target_view(t, NULL, &v);
			t->record = rec_adopt(statefile_txn_json(&v), &t->record_len);
		}
		atomic_fetch_add(&rec_of(t->record)->refs, 1);
		p->items[p->n] = t->record;
		p->lens[p->n] = t->record_len;
		p->n++;
	}
	bbuf_init(&b, SIZE_MAX);
	statefile_doc_open(&b, d->cfgpath);
	p->head = (char *)b.data;
	p->head_len = b.len;
	bbuf_init(&b, SIZE_MAX);
	bbuf_reserve(&b, 4096 + 1024 * g->n_eps);
	/* one record per line (statefile_load_some reads one out of 10,000 so) */
	bbuf_append(&b, "\n", 1);
	statefile_doc_section(&b, "endpoints");
	for (struct endpoint *e = g->endpoints; e != NULL; e = e->next) {
		struct sf_endpoint v = {e->key, endpoint_kind_name(e->kind), e->health};
		char *rec = statefile_endpoint_json(&v);
		bbuf_appendf(&b, "\n%s%s", e != g->endpoints ? "," : "", rec);
		free(rec);
	}
	bbuf_append(&b, "\n", 1);
	statefile_doc_section(&b, "alerts");
	alerts_prune(d);
	alerts_persist(d, &b);
	bbuf_append(&b, "\n", 1);
	statefile_doc_section(&b, "passive");
	passive_persist(d, &b);
	statefile_doc_close(&b);
	if (b.toobig || p->head == NULL) {
		log_err("state: the document does not fit in memory; not written");
		bbuf_free(&b);
		statefile_parts_free(p);
		return;
	}
	p->tail = (char *)b.data;
	p->tail_len = b.len;
	statefile_writer_submit_parts(d->writer, p); /* the writer frees it */
	if (more)
		d->state_dirty = true; /* the rest at the next flush */
}

static void on_state_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	char err[256];
	uint64_t f;

	(void)fd;
	(void)what;
	if (d->state_dirty)
		persist_flush(d);
	if (d->writer != NULL &&
	    (f = statefile_writer_failures(d->writer, err, sizeof err)) != d->state_failures_seen) {
		d->state_failures_seen = f;
		log_err("state: %s", err);
	}
}

/* Mark the state dirty; now: write on the next loop turn (an alert changed). */
void persist_schedule(struct daemon *d, bool now)
{
	d->state_dirty = true;
	if (now && d->state_now != NULL)
		event_active(d->state_now, EV_TIMEOUT, 0);
}

void persist_restore(struct daemon *d)
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
		const struct sf_txn *r =
		    i < s->n_txns && strcmp(s->txns[i].name, t->conf->name) == 0
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
		gen_row_update(t, r->have_last ? &r->last : NULL);
		/*
		 * The trend survives the restart (the page's timeline, the SNMP history table):
		 * the persisted ring replaces the one entry the row update made of the last run.
		 */
		if (history_count(r->history) > 0) {
			size_t cap = history_capacity(t->history);
			history_resize(t->history, 0);
			history_resize(t->history, cap);
			for (size_t k = 0; k < history_count(r->history); k++)
				history_add(t->history, history_get(r->history, k));
		}
		t->record = rec_adopt(statefile_txn_json(r), &t->record_len);
		passive_txn_restored(d, t, r);
		n_txn++;
	}
	for (size_t i = 0; i < s->n_endpoints; i++) {
		enum endpoint_kind kind;
		struct endpoint *e = NULL;
		if (endpoint_kind_parse(s->endpoints[i].kind, &kind) == 0)
			e = gen_endpoint_find(d->g, s->endpoints[i].name, kind);
		if (e == NULL)
			continue;
		e->health = s->endpoints[i].health;
		d->g->eps[e->index].state = e->health.state;
	}
	alerts_restore(d, s);
	passive_restore(d, s);
	routes_invalidate(d);
	log_info("state: restored %zu of %zu transactions and %zu alert%s from %s", n_txn, d->g->n,
	         s->n_alerts, s->n_alerts == 1 ? "" : "s", d->state_path);
	statefile_state_free(s);
}

void persist_open(struct daemon *d)
{
	char err[512];
	struct timeval sv = {.tv_sec = STATE_WRITE_MS / 1000,
	                     .tv_usec = (STATE_WRITE_MS % 1000) * 1000};

	d->writer = statefile_writer_new(d->state_path, err, sizeof err);
	if (d->writer == NULL)
		log_err("state: %s; running without a state file", err);
	d->state_timer = event_new(d->base, -1, EV_PERSIST, on_state_timer, d);
	d->state_now = event_new(d->base, -1, 0, on_state_timer, d);
	event_add(d->state_timer, &sv);
}

void persist_close(struct daemon *d)
{
	if (d->state_timer != NULL) {
		event_free(d->state_timer);
		event_free(d->state_now);
		d->state_timer = d->state_now = NULL;
	}
	statefile_writer_free(d->writer); /* waits for the last document */
	d->writer = NULL;
}
