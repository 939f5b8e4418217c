/*
 * persist: the daemon's state file. Each target's record is captured when its result
 * changes (an immutable view: the result's used steps, findings and facts, a copy of the
 * history ring) and serialised once, lazily, by the thread that first needs its text:
 * the writer thread at the next flush, or the status page's worker. A flush hands the
 * writer the records by reference with the endpoints and the alerts as text; it joins
 * them into one document and does the disk work off the loop. Restore reads the file at start and
 * gives every transaction whose name, type and endpoint are unchanged its health, counters, last
 * result and recent history back.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <pthread.h>
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
 * A record: an immutable view of one target, and its JSON text once made. The loop
 * makes the view (a few kB of copies, no JSON); the first persist_record_text() makes the
 * text and drops the view. References let a flush hand the writer thread pointers
 * instead of joining 23 MB on the loop.
 */
struct persist_rec {
	atomic_uint refs;
	_Atomic(char *) text; /* NULL until made; then len holds its length */
	size_t len;
	/* the view, until the text is made */
	/*
	 * Its strings in one block (a reload may free the config's; a restored record's
	 * point into the loaded file): name, endpoint, type, endpoint kind, the result's
	 * type and protocol (NULL when the result has none).
	 */
	char *names;
	const char *str[6];
	uint64_t interval_ms;
	struct health health;
	int64_t last_run, last_success;
	uint64_t runs[RESULT_UNKNOWN + 1];
	struct history *hist; /* owned copy of the ring; NULL = none */
	unsigned char *res;   /* the result compacted (res_pack); NULL = no last result */
	size_t n_steps, n_findings, n_facts;
};

/* One mutex for making texts: the writer makes nearly all, the page worker a few. */
static pthread_mutex_t text_mu = PTHREAD_MUTEX_INITIALIZER;

#define RES_HEAD offsetof(struct txn_result, steps)

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* The fixed head and the used steps, findings and facts of r, in one allocation. */
static void res_pack(struct persist_rec *rec, const struct txn_result *r)
{
	size_t ns = min_size(r->n_steps, TXN_MAX_STEPS),
	       nf = min_size(r->n_findings, TXN_MAX_FINDINGS);
	size_t nk = min_size(r->n_facts, TXN_MAX_FACTS), off = RES_HEAD;
	size_t size = RES_HEAD + ns * sizeof r->steps[0] + nf * sizeof r->findings[0] +
	              nk * sizeof r->facts[0];

	rec->res = xmalloc(size);
	memcpy(rec->res, r, RES_HEAD);
	memcpy(rec->res + off, r->steps, ns * sizeof r->steps[0]);
	off += ns * sizeof r->steps[0];
	memcpy(rec->res + off, r->findings, nf * sizeof r->findings[0]);
	off += nf * sizeof r->findings[0];
	memcpy(rec->res + off, r->facts, nk * sizeof r->facts[0]);
	rec->n_steps = ns;
	rec->n_findings = nf;
	rec->n_facts = nk;
}

static void res_unpack(const struct persist_rec *rec, struct txn_result *r)
{
	size_t off = RES_HEAD;

	memcpy(r, rec->res, RES_HEAD);
	memcpy(r->steps, rec->res + off, rec->n_steps * sizeof r->steps[0]);
	off += rec->n_steps * sizeof r->steps[0];
	r->n_steps = rec->n_steps;
	memcpy(r->findings, rec->res + off, rec->n_findings * sizeof r->findings[0]);
	off += rec->n_findings * sizeof r->findings[0];
	r->n_findings = rec->n_findings;
	memcpy(r->facts, rec->res + off, rec->n_facts * sizeof r->facts[0]);
	r->n_facts = rec->n_facts;
}

/* A record of v with one reference; it owns copies of everything v points at. */
static struct persist_rec *rec_new(const struct sf_txn *v)
{
	struct persist_rec *rec = xcalloc(1, sizeof *rec);
	const char *src[6] = {v->name,
	                      v->endpoint,
	                      v->type,
	                      v->endpoint_kind,
	                      v->have_last ? v->last.type : NULL,
	                      v->have_last ? v->last.protocol : NULL};
	size_t total = 0, off = 0;

	atomic_init(&rec->refs, 1);
	atomic_init(&rec->text, NULL);
	for (size_t k = 0; k < 6; k++)
		total += src[k] != NULL ? strlen(src[k]) + 1 : 0;
	rec->names = xmalloc(total + 1);
	for (size_t k = 0; k < 6; k++) {
		size_t n;
		if (src[k] == NULL)
			continue;
		n = strlen(src[k]) + 1;
		rec->str[k] = memcpy(rec->names + off, src[k], n);
		off += n;
	}
	rec->interval_ms = v->interval_ms;
	rec->health = v->health;
	rec->last_run = v->last_run;
	rec->last_success = v->last_success;
	memcpy(rec->runs, v->runs, sizeof rec->runs);
	if (v->have_last)
		res_pack(rec, &v->last);
	rec->hist = v->history != NULL ? history_copy(v->history) : NULL;
	return rec;
}

static void rec_view_free(struct persist_rec *rec)
{
	free(rec->names);
	free(rec->res);
	history_free(rec->hist);
	rec->names = NULL;
	rec->res = NULL;
	rec->hist = NULL;
}

const char *persist_record_text(struct persist_rec *rec, size_t *len)
{
	char *text = atomic_load_explicit(&rec->text, memory_order_acquire);

	if (text == NULL) {
		pthread_mutex_lock(&text_mu);
		text = atomic_load_explicit(&rec->text, memory_order_relaxed);
		if (text == NULL) {
			struct sf_txn *v = xcalloc(1, sizeof *v);
			v->name = rec->str[0];
			v->endpoint = rec->str[1];
			v->type = rec->str[2];
			v->endpoint_kind = rec->str[3];
			v->interval_ms = rec->interval_ms;
			v->health = rec->health;
			v->have_last = rec->res != NULL;
			if (rec->res != NULL) {
				res_unpack(rec, &v->last);
				v->last.type = rec->str[4];
				v->last.protocol = rec->str[5];
			}
			v->last_run = rec->last_run;
			v->last_success = rec->last_success;
			memcpy(v->runs, rec->runs, sizeof v->runs);
			v->history = rec->hist;
			text = statefile_txn_json(v);
			free(v);
			rec->len = strlen(text);
			rec_view_free(rec);
			atomic_store_explicit(&rec->text, text, memory_order_release);
		}
		pthread_mutex_unlock(&text_mu);
	}
	*len = rec->len;
	return text;
}

struct persist_rec *persist_record_ref(struct persist_rec *rec)
{
	atomic_fetch_add(&rec->refs, 1);
	return rec;
}

void persist_record_unref(struct persist_rec *rec)
{
	if (rec == NULL || atomic_fetch_sub(&rec->refs, 1) != 1)
		return;
	rec_view_free(rec);
	free(atomic_load(&rec->text));
	free(rec);
}

static void release_item(void *item)
{
	persist_record_unref(item);
}

static const char *item_text(void *item, size_t *len)
{
	return persist_record_text(item, len);
}

/* The persisted view of t; r is its result just in (NULL: none, or not at hand). */
static void target_view(const struct target *t, const struct txn_result *r, struct sf_txn *v)
{
	memset(v, 0, offsetof(struct sf_txn, last)); /* last: only when r (a copy of 17 kB) */
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
	if (r == NULL)
		return;
	view = xmalloc(sizeof *view);
	target_view(t, r, view);
	t->record = rec_new(view);
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
	p->release = release_item;
	p->text = item_text;
	p->items = xcalloc(g->n + 1, sizeof *p->items);
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
			t->record = rec_new(&v);
		}
		p->items[p->n] = persist_record_ref(t->record);
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
		t->record = rec_new(r);
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
