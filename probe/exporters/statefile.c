/* statefile: the persisted state document and its writer thread (see statefile.h). */
#define _GNU_SOURCE 1 /* memmem */
#include "exporters/statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/bbuf.h"
#include "core/fileload.h"
#include "core/log.h"
#include "core/xalloc.h"

/* ---- the document around the records ---- */

void statefile_doc_open(struct bbuf *b, const char *config_path)
{
	char *cfg = statefile_quote(config_path);

	bbuf_appendf(b,
	             "{\"version\":%d,\"generator\":\"certprobed %s\",\"written\":%lld,"
	             "\"pid\":%ld,\"config\":%s,\"transactions\":[",
	             STATEFILE_VERSION, CERTPROBE_VERSION, (long long)time(NULL), (long)getpid(),
	             cfg);
	free(cfg);
}

void statefile_doc_section(struct bbuf *b, const char *name)
{
	bbuf_appendf(b, "],\"%s\":[", name);
}

void statefile_doc_close(struct bbuf *b)
{
	bbuf_append(b, "]}", 2);
}

/* ---- enums by name ---- */

static enum txn_status status_parse(const char *s)
{
	for (int i = 0; i < TXN_STATUS_COUNT; i++)
		if (s != NULL && strcmp(s, txn_status_code((enum txn_status)i)) == 0)
			return (enum txn_status)i;
	return TXN_PROBE_INTERNAL;
}

/* ---- writing ---- */

static json_t *flap_json(const struct health_flap *f)
{
	json_t *h = json_array();

	for (unsigned i = 0; i < f->count && i < HEALTH_HISTORY_LEN; i++)
		json_array_append_new(h, json_integer(f->history[i]));
	return json_pack("{s:o, s:i, s:i, s:f, s:b}", "history", h, "next", (int)f->next, "count",
	                 (int)f->count, "percent", f->percent, "flapping", f->flapping);
}

static json_t *health_json(const struct health *h)
{
	json_t *total = json_array();

	for (int i = 0; i <= RESULT_UNKNOWN; i++)
		json_array_append_new(total, json_integer((json_int_t)h->total[i]));
	return json_pack(
	    "{s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:I, s:I, s:i, s:i, s:o, s:o, s:s, s:b}", "state",
	    result_class_name(h->state), "state_type", health_state_type_name(h->state_type),
	    "hard_state", result_class_name(h->hard_state), "attempt", (int)h->attempt,
	    "last_status", txn_status_code(h->last_status), "hard_status",
	    txn_status_code(h->hard_status), "last_check", (json_int_t)h->last_check, "last_change",
	    (json_int_t)h->last_change, "last_hard_change", (json_int_t)h->last_hard_change,
	    "consecutive_ok", (int)h->consecutive_ok, "consecutive_fail", (int)h->consecutive_fail,
	    "total", total, "flap", flap_json(&h->flap), "last_notified",
	    result_class_name(h->last_notified), "notified", h->notified);
}

static json_t *result_json(const struct txn_result *r)
{
	json_t *steps = json_array(), *findings = json_array(), *facts = json_object();

	for (size_t i = 0; i < r->n_steps; i++) {
		const struct txn_step_record *s = &r->steps[i];
		json_array_append_new(steps, json_pack("{s:s, s:I, s:I, s:s, s:b, s:s}", "name",
		                                       s->name ? s->name : "", "start_us",
		                                       (json_int_t)s->start_us, "duration_us",
		                                       (json_int_t)s->duration_us, "status",
		                                       txn_status_code(s->status), "finished",
		                                       s->finished, "detail", s->detail));
	}
	for (size_t i = 0; i < r->n_findings; i++)
		json_array_append_new(findings, json_pack("{s:s, s:s}", "status",
		                                          txn_status_code(r->findings[i].status),
		                                          "detail", r->findings[i].detail));
	for (size_t i = 0; i < r->n_facts; i++)
		json_object_set_new(facts, r->facts[i].key, json_string(r->facts[i].value));
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o}", "result",
	    result_class_name(r->result), "status", txn_status_code(r->status), "status_detail",
	    r->status_detail, "target", r->target, "type", r->type ? r->type : "", "protocol",
	    r->protocol ? r->protocol : "", "started", (json_int_t)r->started, "duration_us",
	    (json_int_t)r->duration_us, "steps", steps, "findings", findings, "facts", facts);
}

/*
 * The ring, oldest first, one flat array per run: [end, us, status, result, code, step,
 * us, step, us, ...]. Positional: 10,000 transactions keep 20 runs each, and every plugin
 * call reads the whole file.
 */
static json_t *history_json(const struct history *h)
{
	json_t *a = json_array();

	for (size_t i = 0; i < history_count(h); i++) {
		const struct history_entry *e = history_get(h, i);
		json_t *run = json_pack(
		    "[I, I, s, s, i]", (json_int_t)e->end, (json_int_t)e->duration_us,
		    txn_status_code((enum txn_status)e->status),
		    result_class_name((enum result_class)e->result), (int)e->protocol_code);
		for (size_t k = 0; run != NULL && k < e->n_steps && k < HISTORY_MAX_STEPS; k++) {
			json_array_append_new(run, json_string(e->steps[k].name));
			json_array_append_new(run,
			                      json_integer((json_int_t)e->steps[k].duration_us));
		}
		json_array_append_new(a, run);
	}
	return a;
}

static char *dump(json_t *j)
{
	char *s =
	    j != NULL ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	if (s == NULL)
		return xstrdup("null");
	return s;
}

char *statefile_quote(const char *s)
{
	return dump(json_string(s != NULL ? s : ""));
}

char *statefile_txn_json(const struct sf_txn *t)
{
	json_t *runs = json_pack("{s:I, s:I, s:I, s:I}", "ok", (json_int_t)t->runs[RESULT_OK],
	                         "warning", (json_int_t)t->runs[RESULT_WARNING], "critical",
	                         (json_int_t)t->runs[RESULT_CRITICAL], "unknown",
	                         (json_int_t)t->runs[RESULT_UNKNOWN]);

	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:I, s:I, s:o}", "name", t->name,
	                      "type", t->type, "endpoint", t->endpoint, "endpoint_kind",
	                      t->endpoint_kind, "interval_ms", (json_int_t)t->interval_ms, "health",
	                      health_json(&t->health), "runs", runs, "last_run",
	                      (json_int_t)t->last_run, "last_success", (json_int_t)t->last_success,
	                      "last", t->have_last ? result_json(&t->last) : json_null());

	/* last in the record: a reader scanning for the head of a record never reaches it */
	if (o != NULL && history_count(t->history) > 0)
		json_object_set_new(o, "history", history_json(t->history));
	return dump(o);
}

char *statefile_endpoint_json(const struct sf_endpoint *e)
{
	const struct health_endpoint *h = &e->health;

	return dump(json_pack(
	    "{s:s, s:s, s:{s:s, s:s, s:i, s:i, s:I, s:I, s:o, s:s, s:b}}", "name", e->name, "kind",
	    e->kind, "health", "state", result_class_name(h->state), "status",
	    txn_status_code(h->status), "members", (int)h->members, "members_failing",
	    (int)h->members_failing, "last_check", (json_int_t)h->last_check, "last_change",
	    (json_int_t)h->last_change, "flap", flap_json(&h->flap), "last_notified",
	    result_class_name(h->last_notified), "notified", h->notified));
}

char *statefile_alert_json(const struct sf_alert *a)
{
	json_t *labels = json_object(), *ann = json_object();

	for (size_t i = 0; i < a->n_labels; i++)
		json_object_set_new(labels, a->labels[i].name, json_string(a->labels[i].value));
	for (size_t i = 0; i < a->n_annotations; i++)
		json_object_set_new(ann, a->annotations[i].name,
		                    json_string(a->annotations[i].value));
	return dump(json_pack("{s:o, s:o, s:I, s:b, s:I}", "labels", labels, "annotations", ann,
	                      "starts_at", (json_int_t)a->starts_at, "resolved", a->resolved,
	                      "ends_at", (json_int_t)a->ends_at));
}

/* ---- the writer thread ---- */

struct statefile_writer {
	char *path, *tmp, *dir;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *pending; /* next document, owned */
	size_t pending_len;
	struct statefile_parts *pending_parts; /* or the next document in pieces */
	bool stop;
	uint64_t failures;
	char last_error[256];
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* tmp + fsync + rename + fsync(dir): after a crash the old or the new file, whole. */
static int write_atomic(struct statefile_writer *w, const char *doc, size_t len, char *err,
                        size_t errlen)
{
	int fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);

	if (fd == -1) {
		snprintf(err, errlen, "cannot create %s: %s", w->tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, doc, len) == -1 || write_all(fd, "\n", 1) == -1 || fsync(fd) == -1) {
		snprintf(err, errlen, "cannot write %s: %s", w->tmp, strerror(errno));
		close(fd);
		unlink(w->tmp);
		return -1;
	}
	close(fd);
	if (rename(w->tmp, w->path) == -1) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", w->tmp, w->path,
		         strerror(errno));
		unlink(w->tmp);
		return -1;
	}
	fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd != -1) {
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}

void statefile_parts_free(struct statefile_parts *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		p->release(p->items[i]);
	free(p->items);
	free(p->head);
	free(p->tail);
	free(p);
}

/* The whole document in one exactly sized buffer (malloced). */
static char *parts_join(const struct statefile_parts *p, size_t *len)
{
	size_t total = p->head_len + p->tail_len + 1, off = 0;
	const char **texts = xcalloc(p->n + 1, sizeof *texts);
	size_t *lens = xcalloc(p->n + 1, sizeof *lens);
	char *doc;

	/* the items' texts, made here (on the writer thread) where not made yet */
	for (size_t i = 0; i < p->n; i++) {
		texts[i] = p->text(p->items[i], &lens[i]);
		total += lens[i] + 2;
	}
	doc = xmalloc(total);
	memcpy(doc, p->head, p->head_len);
	off = p->head_len;
	for (size_t i = 0; i < p->n; i++) {
		memcpy(doc + off, i > 0 ? "\n," : "\n", i > 0 ? 2 : 1);
		off += i > 0 ? 2 : 1;
		memcpy(doc + off, texts[i], lens[i]);
		off += lens[i];
	}
	free(texts);
	free(lens);
	memcpy(doc + off, p->tail, p->tail_len);
	off += p->tail_len;
	doc[off] = '\0';
	*len = off;
	return doc;
}

static void *writer_main(void *arg)
{
	struct statefile_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		char *doc;
		size_t len;
		char err[256];
		int rc;

		struct statefile_parts *parts;

		while (w->pending == NULL && w->pending_parts == NULL && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->pending == NULL && w->pending_parts == NULL)
			break; /* stop, nothing left to write */
		doc = w->pending;
		len = w->pending_len;
		parts = w->pending_parts;
		w->pending = NULL;
		w->pending_parts = NULL;
		pthread_mutex_unlock(&w->mu);
		if (parts != NULL) {
			doc = parts_join(parts, &len);
			statefile_parts_free(parts);
		}
		rc = write_atomic(w, doc, len, err, sizeof err);
		free(doc);
		pthread_mutex_lock(&w->mu);
		if (rc == -1) {
			w->failures++;
			snprintf(w->last_error, sizeof w->last_error, "%s", err);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct statefile_writer *statefile_writer_new(const char *path, char *err, size_t errlen)
{
	struct statefile_writer *w = xcalloc(1, sizeof *w);
	char *copy = xstrdup(path);

	w->path = xstrdup(path);
	w->tmp = xasprintf("%s.tmp", path);
	w->dir = xstrdup(dirname(copy));
	free(copy);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		snprintf(err, errlen, "cannot start the state writer thread");
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w->path);
		free(w->tmp);
		free(w->dir);
		free(w);
		return NULL;
	}
	return w;
}

void statefile_writer_submit_parts(struct statefile_writer *w, struct statefile_parts *p)
{
	struct statefile_parts *old;
	char *old_doc;

	pthread_mutex_lock(&w->mu);
	old = w->pending_parts;
	old_doc = w->pending;
	w->pending = NULL;
	w->pending_parts = p;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	statefile_parts_free(old); /* latest wins */
	free(old_doc);
}

void statefile_writer_submit(struct statefile_writer *w, char *doc, size_t len)
{
	pthread_mutex_lock(&w->mu);
	free(w->pending);
	statefile_parts_free(w->pending_parts);
	w->pending_parts = NULL;
	w->pending = doc;
	w->pending_len = len;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void statefile_writer_free(struct statefile_writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->pending);
	statefile_parts_free(w->pending_parts);
	free(w->path);
	free(w->tmp);
	free(w->dir);
	free(w);
}

uint64_t statefile_writer_failures(struct statefile_writer *w, char *err, size_t errlen)
{
	uint64_t n;

	pthread_mutex_lock(&w->mu);
	n = w->failures;
	snprintf(err, errlen, "%s", w->last_error);
	pthread_mutex_unlock(&w->mu);
	return n;
}

/* ---- reading ---- */

/*
 * Nothing read back is trusted: the file may be truncated, edited or from a broken
 * build, and its numbers index arrays (a flap "next" of -1 once became history[255]).
 * Every number is checked against its range; the first failure of a record is kept in
 * a check, the record is dropped with a log line naming the field, the rest restored.
 */
struct sf_check {
	const char *where; /* the object being read: "health.flap", "last.steps[]" */
	char why[160];     /* the first failure; "" while none */
};

static int check_fail(struct sf_check *ck, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Keep the first failure as "where.key what"; always -1. */
static int check_fail(struct sf_check *ck, const char *key, const char *fmt, ...)
{
	char what[96];
	va_list ap;

	if (ck->why[0] != '\0')
		return -1;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(ck->why, sizeof ck->why, "%s%s%s %s", ck->where,
	         ck->where[0] != '\0' && key[0] != '\0' ? "." : "", key, what);
	return -1;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

/* o[key], an integer in min..max; a missing key reads as 0 when 0 is in range. */
static int jrange(struct sf_check *ck, json_t *o, const char *key, long long min, long long max,
                  long long *out)
{
	json_t *v = json_object_get(o, key);
	long long n;

	*out = 0;
	if (v == NULL) {
		if (min > 0 || max < 0)
			return check_fail(ck, key, "is missing");
		return 0;
	}
	if (!json_is_integer(v))
		return check_fail(ck, key, "is not an integer");
	n = (long long)json_integer_value(v);
	if (n < min || n > max)
		return check_fail(ck, key, "%lld is not in %lld..%lld", n, min, max);
	*out = n;
	return 0;
}

/* The unsigned and time fields, each read through jrange into its own type. */
static int jtime(struct sf_check *ck, json_t *o, const char *key, int64_t *out)
{
	long long n;
	int rc = jrange(ck, o, key, 0, INT64_MAX, &n);

	*out = (int64_t)n;
	return rc;
}

static int jcount(struct sf_check *ck, json_t *o, const char *key, uint64_t *out)
{
	long long n;
	int rc = jrange(ck, o, key, 0, INT64_MAX, &n);

	*out = (uint64_t)n;
	return rc;
}

static int juint(struct sf_check *ck, json_t *o, const char *key, unsigned max, unsigned *out)
{
	long long n;
	int rc = jrange(ck, o, key, 0, (long long)max, &n);

	*out = (unsigned)n;
	return rc;
}

/* o[key] true or false; missing is false. */
static int jbool(struct sf_check *ck, json_t *o, const char *key, bool *out)
{
	json_t *v = json_object_get(o, key);

	*out = json_is_true(v);
	if (v != NULL && !json_is_boolean(v))
		return check_fail(ck, key, "is not true or false");
	return 0;
}

/* An array of at most max entries, or missing (NULL). -1 for anything else. */
static int jarray(struct sf_check *ck, json_t *o, const char *key, size_t max, json_t **out)
{
	json_t *v = json_object_get(o, key);

	*out = v;
	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return check_fail(ck, key, "is not an array");
	if (json_array_size(v) > max)
		return check_fail(ck, key, "has %zu entries, at most %zu", json_array_size(v), max);
	return 0;
}

static int jclass(struct sf_check *ck, json_t *o, const char *key, enum result_class *out)
{
	if (result_class_parse(jstr(o, key), out) == -1)
		return check_fail(ck, key, "is not a result class");
	return 0;
}

static int flap_load(struct sf_check *ck, json_t *o, struct health_flap *f)
{
	const char *outer = ck->where;
	json_t *h, *v;
	long long n;
	size_t i;
	int rc = 0;

	memset(f, 0, sizeof *f);
	if (o == NULL)
		return 0;
	ck->where = outer[0] != '\0' ? "health.flap" : "flap";
	if (!json_is_object(o)) {
		rc = check_fail(ck, "", "is not an object");
		goto out;
	}
	rc = jarray(ck, o, "history", HEALTH_HISTORY_LEN, &h);
	if (rc == -1)
		goto out;
	json_array_foreach(h, i, v)
	{
		n = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
		if (n < RESULT_OK || n > RESULT_UNKNOWN) {
			rc = check_fail(ck, "history[]", "entry is not a result class 0..%d",
			                (int)RESULT_UNKNOWN);
			goto out;
		}
		f->history[i] = (uint8_t)n;
	}
	rc = jrange(ck, o, "next", 0, HEALTH_HISTORY_LEN - 1, &n);
	if (rc == -1)
		goto out;
	f->next = (uint8_t)n;
	rc = jrange(ck, o, "count", 0, HEALTH_HISTORY_LEN, &n);
	if (rc == -1)
		goto out;
	if ((size_t)n != json_array_size(h)) {
		rc = check_fail(ck, "count", "%lld is not the history's length %zu", n,
		                json_array_size(h));
		goto out;
	}
	f->count = (uint8_t)n;
	v = json_object_get(o, "percent");
	f->percent = json_number_value(v);
	if ((v != NULL && !json_is_number(v)) || !(f->percent >= 0.0 && f->percent <= 100.0)) {
		rc = check_fail(ck, "percent", "is not a number in 0..100");
		goto out;
	}
	rc = jbool(ck, o, "flapping", &f->flapping);
out:
	ck->where = outer;
	return rc;
}

static int health_load(struct sf_check *ck, json_t *o, struct health *h)
{
	json_t *total, *v;
	const char *type;
	long long n;
	size_t i;

	health_init(h);
	ck->where = "health";
	if (!json_is_object(o))
		return check_fail(ck, "", "is not an object");
	if (jclass(ck, o, "state", &h->state) == -1 ||
	    jclass(ck, o, "hard_state", &h->hard_state) == -1 ||
	    jclass(ck, o, "last_notified", &h->last_notified) == -1)
		return -1;
	type = jstr(o, "state_type");
	if (strcmp(type, "SOFT") == 0)
		h->state_type = HEALTH_SOFT;
	else if (strcmp(type, "HARD") == 0)
		h->state_type = HEALTH_HARD;
	else
		return check_fail(ck, "state_type", "is not SOFT or HARD");
	/* unknown status codes (a newer build's) read as probe_internal: a name, not an index */
	h->last_status = status_parse(jstr(o, "last_status"));
	h->hard_status = status_parse(jstr(o, "hard_status"));
	if (juint(ck, o, "attempt", HEALTH_MAX_ATTEMPTS, &h->attempt) == -1 ||
	    jcount(ck, o, "last_check", &h->last_check) == -1 ||
	    jcount(ck, o, "last_change", &h->last_change) == -1 ||
	    jcount(ck, o, "last_hard_change", &h->last_hard_change) == -1 ||
	    juint(ck, o, "consecutive_ok", UINT_MAX, &h->consecutive_ok) == -1 ||
	    juint(ck, o, "consecutive_fail", UINT_MAX, &h->consecutive_fail) == -1 ||
	    jarray(ck, o, "total", RESULT_UNKNOWN + 1, &total) == -1)
		return -1;
	json_array_foreach(total, i, v)
	{
		n = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
		if (n < 0)
			return check_fail(ck, "total[]", "entry is not a count");
		h->total[i] = (uint64_t)n;
	}
	if (flap_load(ck, json_object_get(o, "flap"), &h->flap) == -1 ||
	    jbool(ck, o, "notified", &h->notified) == -1)
		return -1;
	return 0;
}

static int result_load(struct sf_check *ck, json_t *o, const char *name, struct txn_result *r)
{
	json_t *a, *v, *facts;
	const char *key;
	int64_t started;
	size_t i;

	ck->where = "last";
	if (!json_is_object(o))
		return check_fail(ck, "", "is not an object");
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	snprintf(r->target, sizeof r->target, "%s", jstr(o, "target"));
	r->type = jstr(o, "type"); /* owned by the state, as every other string */
	r->protocol = jstr(o, "protocol");
	if (jtime(ck, o, "started", &started) == -1 ||
	    jcount(ck, o, "duration_us", &r->duration_us) == -1 ||
	    jclass(ck, o, "result", &r->result) == -1 ||
	    jarray(ck, o, "steps", TXN_MAX_STEPS, &a) == -1)
		return -1;
	r->started = (time_t)started;
	r->status = status_parse(jstr(o, "status"));
	snprintf(r->status_detail, sizeof r->status_detail, "%s", jstr(o, "status_detail"));
	ck->where = "last.steps[]";
	json_array_foreach(a, i, v)
	{
		struct txn_step_record *s = &r->steps[r->n_steps++];
		s->name = txn_step_name_intern(jstr(v, "name"));
		if (jcount(ck, v, "start_us", &s->start_us) == -1 ||
		    jcount(ck, v, "duration_us", &s->duration_us) == -1 ||
		    jbool(ck, v, "finished", &s->finished) == -1)
			return -1;
		s->status = status_parse(jstr(v, "status"));
		snprintf(s->detail, sizeof s->detail, "%s", jstr(v, "detail"));
	}
	ck->where = "last";
	if (jarray(ck, o, "findings", TXN_MAX_FINDINGS, &a) == -1)
		return -1;
	json_array_foreach(a, i, v)
	{
		r->findings[r->n_findings].status = status_parse(jstr(v, "status"));
		snprintf(r->findings[r->n_findings].detail, TXN_DETAIL_LEN, "%s",
		         jstr(v, "detail"));
		r->n_findings++;
	}
	facts = json_object_get(o, "facts");
	if (json_object_size(facts) > TXN_MAX_FACTS)
		return check_fail(ck, "facts", "has %zu entries, at most %d",
		                  json_object_size(facts), TXN_MAX_FACTS);
	json_object_foreach(facts, key, v)
	{
		snprintf(r->facts[r->n_facts].key, sizeof r->facts[0].key, "%s", key);
		snprintf(r->facts[r->n_facts].value, TXN_DETAIL_LEN, "%s",
		         json_string_value(v) != NULL ? json_string_value(v) : "");
		r->n_facts++;
	}
	return 0;
}

/* v[i], an integer in min..max. */
static int jat(struct sf_check *ck, json_t *v, size_t i, long long min, long long max,
               long long *out)
{
	json_t *n = json_array_get(v, i);

	if (!json_is_integer(n))
		return check_fail(ck, "", "[%zu] is not an integer", i);
	*out = (long long)json_integer_value(n);
	if (*out < min || *out > max)
		return check_fail(ck, "", "[%zu] %lld is not in %lld..%lld", i, *out, min, max);
	return 0;
}

/* The persisted ring (see history_json) into a new history; NULL when there is none. */
static int history_load(struct sf_check *ck, json_t *o, struct history **out)
{
	json_t *a, *v;
	size_t i;

	*out = NULL;
	ck->where = "";
	if (jarray(ck, o, "history", HISTORY_MAX_CAPACITY, &a) == -1)
		return -1;
	if (a == NULL || json_array_size(a) == 0)
		return 0;
	*out = history_new(json_array_size(a));
	ck->where = "history[]";
	json_array_foreach(a, i, v)
	{
		struct history_entry e;
		enum result_class rc;
		long long end, us, code, step_us;
		size_t n = json_array_size(v);
		memset(&e, 0, sizeof e);
		if (!json_is_array(v) || n < 5 || (n - 5) % 2 != 0 || n > 5 + 2 * HISTORY_MAX_STEPS)
			return check_fail(ck, "",
			                  "is not [end, us, status, result, code, steps...]");
		if (jat(ck, v, 0, 0, INT64_MAX, &end) == -1 ||
		    jat(ck, v, 1, 0, INT64_MAX, &us) == -1 || jat(ck, v, 4, 0, 999, &code) == -1)
			return -1;
		if (result_class_parse(json_string_value(json_array_get(v, 3)) != NULL
		                           ? json_string_value(json_array_get(v, 3))
		                           : "",
		                       &rc) == -1)
			return check_fail(ck, "", "[3] is not a result class");
		e.end = (int64_t)end;
		e.duration_us = (uint64_t)us;
		e.status = (uint16_t)status_parse(json_string_value(json_array_get(v, 2)));
		e.result = (uint8_t)rc;
		e.protocol_code = (int32_t)code;
		for (size_t k = 5; k < n; k += 2) {
			const char *name = json_string_value(json_array_get(v, k));
			if (name == NULL)
				return check_fail(ck, "", "[%zu] is not a step name", k);
			if (jat(ck, v, k + 1, 0, UINT32_MAX, &step_us) == -1)
				return -1;
			e.steps[e.n_steps].name = txn_step_name_intern(name);
			e.steps[e.n_steps++].duration_us = (uint32_t)step_us;
		}
		history_add(*out, &e);
	}
	ck->where = "";
	return 0;
}

static int txn_load(struct sf_check *ck, json_t *o, struct sf_txn *t)
{
	json_t *runs = json_object_get(o, "runs"), *last = json_object_get(o, "last");
	int64_t iv = 0;

	memset(t, 0, sizeof *t);
	ck->where = "";
	t->name = jstr(o, "name");
	t->type = jstr(o, "type");
	t->endpoint = jstr(o, "endpoint");
	t->endpoint_kind = jstr(o, "endpoint_kind");
	if (t->name[0] == '\0')
		return check_fail(ck, "name", "is missing");
	if (health_load(ck, json_object_get(o, "health"), &t->health) == -1)
		return -1;
	ck->where = "runs";
	if (jcount(ck, runs, "ok", &t->runs[RESULT_OK]) == -1 ||
	    jcount(ck, runs, "warning", &t->runs[RESULT_WARNING]) == -1 ||
	    jcount(ck, runs, "critical", &t->runs[RESULT_CRITICAL]) == -1 ||
	    jcount(ck, runs, "unknown", &t->runs[RESULT_UNKNOWN]) == -1)
		return -1;
	ck->where = "";
	if (jtime(ck, o, "last_run", &t->last_run) == -1 ||
	    jtime(ck, o, "last_success", &t->last_success) == -1)
		return -1;
	if (json_object_get(o, "interval_ms") != NULL && jtime(ck, o, "interval_ms", &iv) == -1)
		return -1;
	t->interval_ms = (uint64_t)iv;
	if (last != NULL && !json_is_null(last)) {
		if (result_load(ck, last, t->name, &t->last) == -1)
			return -1;
		t->have_last = true;
	}
	if (history_load(ck, o, &t->history) == -1) {
		history_free(t->history);
		t->history = NULL;
		return -1;
	}
	return 0;
}

static int endpoint_load(struct sf_check *ck, json_t *o, struct sf_endpoint *e)
{
	json_t *h = json_object_get(o, "health");

	memset(e, 0, sizeof *e);
	health_endpoint_init(&e->health);
	ck->where = "";
	e->name = jstr(o, "name");
	e->kind = jstr(o, "kind");
	if (e->name[0] == '\0')
		return check_fail(ck, "name", "is missing");
	ck->where = "health";
	if (!json_is_object(h))
		return check_fail(ck, "", "is not an object");
	if (jclass(ck, h, "state", &e->health.state) == -1 ||
	    jclass(ck, h, "last_notified", &e->health.last_notified) == -1 ||
	    juint(ck, h, "members", UINT_MAX, &e->health.members) == -1 ||
	    juint(ck, h, "members_failing", e->health.members, &e->health.members_failing) == -1 ||
	    jcount(ck, h, "last_check", &e->health.last_check) == -1 ||
	    jcount(ck, h, "last_change", &e->health.last_change) == -1 ||
	    flap_load(ck, json_object_get(h, "flap"), &e->health.flap) == -1 ||
	    jbool(ck, h, "notified", &e->health.notified) == -1)
		return -1;
	e->health.status = status_parse(jstr(h, "status"));
	return 0;
}

static void log_dropped(const char *path, const char *section, size_t i, json_t *o,
                        const struct sf_check *ck)
{
	const char *name = json_string_value(json_object_get(o, "name"));

	log_warn("state: %s: %s[%zu]%s%s%s: %s; record dropped", path, section, i,
	         name != NULL ? " (" : "", name != NULL ? name : "", name != NULL ? ")" : "",
	         ck->why);
}

static struct sf_kv *kv_load(json_t *o, size_t *n)
{
	struct sf_kv *kv = xcalloc(json_object_size(o) + 1, sizeof *kv);
	const char *key;
	json_t *v;

	*n = 0;
	json_object_foreach(o, key, v)
	{
		if (!json_is_string(v))
			continue;
		kv[*n].name = key;
		kv[*n].value = json_string_value(v);
		(*n)++;
	}
	return kv;
}

struct sf_priv {
	json_t *root;
};

/* The whole file (bounded, regular: an attacker with write access to the state directory
 * may leave a FIFO here), or NULL with err and errno set. */
static char *read_state(const char *path, size_t *len, char *err, size_t errlen)
{
	struct fileload_fail ff;
	char *text, why[160];

	if (fileload_read(path, FILELOAD_MAX_STATE, &text, len, &ff) == -1) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		         fileload_describe(&ff, FILELOAD_MAX_STATE, why, sizeof why));
		errno = ff.why == FILELOAD_UNREADABLE ? ff.err : EINVAL;
		return NULL;
	}
	return text;
}

static struct sf_state *parse_state(const char *path, const char *text, size_t len, char *err,
                                    size_t errlen);

struct sf_state *statefile_load(const char *path, char *err, size_t errlen)
{
	struct sf_state *s;
	size_t len;
	char *text = read_state(path, &len, err, errlen);

	if (text == NULL)
		return NULL;
	s = parse_state(path, text, len, err, errlen);
	free(text);
	return s;
}

/* The records of an alert-shaped section ("alerts", "passive") into *out (*n of them). */
static void records_load(struct sf_check *ck, const char *path, json_t *root, const char *section,
                         struct sf_alert **out, size_t *n)
{
	json_t *a = json_object_get(root, section), *v;
	size_t i;

	*out = xcalloc(json_array_size(a) + 1, sizeof **out);
	*n = 0;
	json_array_foreach(a, i, v)
	{
		struct sf_alert *al = &(*out)[*n];
		ck->why[0] = '\0';
		ck->where = "";
		al->labels = kv_load(json_object_get(v, "labels"), &al->n_labels);
		al->annotations = kv_load(json_object_get(v, "annotations"), &al->n_annotations);
		if (jtime(ck, v, "starts_at", &al->starts_at) == -1 ||
		    jbool(ck, v, "resolved", &al->resolved) == -1 ||
		    jtime(ck, v, "ends_at", &al->ends_at) == -1 || al->n_labels == 0) {
			if (ck->why[0] != '\0')
				log_dropped(path, section, i, v, ck);
			free(al->labels);
			free(al->annotations);
			continue;
		}
		(*n)++;
	}
}

static struct sf_state *parse_state(const char *path, const char *text, size_t len, char *err,
                                    size_t errlen)
{
	struct sf_state *s;
	json_error_t je;
	json_t *root, *a, *v;
	struct sf_check ck = {"", ""};
	long long n;
	size_t i;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		snprintf(err, errlen, "%s:%d:%d: not a state file: %s", path, je.line, je.column,
		         je.text);
		errno = EINVAL;
		return NULL;
	}
	if (json_integer_value(json_object_get(root, "version")) != STATEFILE_VERSION) {
		snprintf(err, errlen,
		         "%s: state file version %lld, this certprobe reads version %d", path,
		         (long long)json_integer_value(json_object_get(root, "version")),
		         STATEFILE_VERSION);
		json_decref(root);
		errno = EINVAL;
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->priv = root;
	s->version = STATEFILE_VERSION;
	if (jtime(&ck, root, "written", &s->written) == -1 ||
	    jrange(&ck, root, "pid", 0, INT_MAX, &n) == -1) {
		log_warn("state: %s: %s; read as unknown", path, ck.why);
		ck.why[0] = '\0';
		s->written = 0;
		n = 0;
	}
	s->pid = (long)n;
	s->generator = jstr(root, "generator");
	s->config = jstr(root, "config");
	a = json_object_get(root, "transactions");
	s->txns = xcalloc(json_array_size(a) + 1, sizeof *s->txns);
	json_array_foreach(a, i, v)
	{
		ck.why[0] = '\0';
		if (txn_load(&ck, v, &s->txns[s->n_txns]) == 0)
			s->n_txns++;
		else
			log_dropped(path, "transactions", i, v, &ck);
	}
	a = json_object_get(root, "endpoints");
	s->endpoints = xcalloc(json_array_size(a) + 1, sizeof *s->endpoints);
	json_array_foreach(a, i, v)
	{
		ck.why[0] = '\0';
		if (endpoint_load(&ck, v, &s->endpoints[s->n_endpoints]) == 0)
			s->n_endpoints++;
		else
			log_dropped(path, "endpoints", i, v, &ck);
	}
	records_load(&ck, path, root, "alerts", &s->alerts, &s->n_alerts);
	records_load(&ck, path, root, "passive", &s->passive, &s->n_passive);
	return s;
}

struct sf_state *statefile_parse(const char *name, const char *text, size_t len, char *err,
                                 size_t errlen)
{
	return parse_state(name, text, len, err, errlen);
}

void statefile_state_free(struct sf_state *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_alerts; i++) {
		free(s->alerts[i].labels);
		free(s->alerts[i].annotations);
	}
	free(s->alerts);
	for (size_t i = 0; i < s->n_passive; i++) {
		free(s->passive[i].labels);
		free(s->passive[i].annotations);
	}
	free(s->passive);
	for (size_t i = 0; i < s->n_txns; i++)
		history_free(s->txns[i].history);
	free(s->txns);
	free(s->endpoints);
	json_decref((json_t *)s->priv);
	free(s);
}

const struct sf_txn *statefile_find_txn(const struct sf_state *s, const char *name)
{
	for (size_t i = 0; s != NULL && i < s->n_txns; i++)
		if (strcmp(s->txns[i].name, name) == 0)
			return &s->txns[i];
	return NULL;
}

/* ---- one transaction or endpoint out of a large file ---- */

/*
 * The daemon writes one record per line: the head (ending in "transactions":[), each
 * transaction, the "endpoints" section line, each endpoint, then the alerts. A line is
 * kept when it is a record of the wanted transaction, of the wanted endpoint, or a
 * transaction of that endpoint; the kept lines make a small document of the same shape.
 */
static bool line_is(const char *p, size_t n, const char *lead, size_t ll)
{
	return n >= ll && memcmp(p, lead, ll) == 0;
}

struct sf_state *statefile_load_some(const char *path, const char *txn, const char *endpoint,
                                     char *err, size_t errlen)
{
	char *text, *qt = NULL, *qe = NULL, *lead_t = NULL, *lead_e = NULL, *in_ep = NULL;
	size_t len, ntxn = 0, nep = 0;
	struct sf_state *s = NULL;
	enum { HEAD, TXNS, EPS, REST } where = HEAD;
	struct bbuf out;
	const char *p, *end;

	text = read_state(path, &len, err, errlen);
	if (text == NULL)
		return NULL;
	end = text + len;
	/* a file of the older layout (one line) or an odd one: read it all */
	if (memchr(text, '\n', len < 65536 ? len : 65536) == NULL) {
		s = parse_state(path, text, len, err, errlen);
		free(text);
		return s;
	}
	if (txn != NULL) {
		qt = statefile_quote(txn);
		lead_t = xasprintf("{\"name\":%s,", qt);
	}
	if (endpoint != NULL) {
		qe = statefile_quote(endpoint);
		lead_e = xasprintf("{\"name\":%s,", qe);
		in_ep = xasprintf("\"endpoint\":%s,", qe);
	}
	bbuf_init(&out, len + 64);
	for (p = text; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *line = p;
		p += n + (nl != NULL);
		if (n > 0 && line[0] == ',') { /* the separator leads the record */
			line++;
			n--;
		}
		if (where == HEAD) {
			bbuf_append(&out, line, n);
			where = TXNS;
		} else if (line_is(line, n, "],\"endpoints\":[", 15)) {
			bbuf_append(&out, "],\"endpoints\":[", 15);
			where = EPS;
		} else if (line_is(line, n, "],\"alerts\":[", 12)) {
			where = REST;
		} else if (where == TXNS &&
		           ((lead_t != NULL && line_is(line, n, lead_t, strlen(lead_t))) ||
		            (in_ep != NULL && memmem(line, n, in_ep, strlen(in_ep)) != NULL))) {
			if (ntxn++ > 0)
				bbuf_append(&out, ",", 1);
			bbuf_append(&out, line, n);
		} else if (where == EPS && lead_e != NULL &&
		           line_is(line, n, lead_e, strlen(lead_e))) {
			if (nep++ > 0)
				bbuf_append(&out, ",", 1);
			bbuf_append(&out, line, n);
		}
	}
	if (where == HEAD || where == TXNS) {
		/* not the layout this reader knows: read it all */
		s = parse_state(path, text, len, err, errlen);
	} else {
		if (where == TXNS)
			bbuf_append(&out, "],\"endpoints\":[", 15);
		bbuf_append(&out, "],\"alerts\":[]}", 14);
		s = parse_state(path, (const char *)out.data, out.len, err, errlen);
	}
	bbuf_free(&out);
	free(text);
	free(qt);
	free(qe);
	free(lead_t);
	free(lead_e);
	free(in_ep);
	return s;
}
