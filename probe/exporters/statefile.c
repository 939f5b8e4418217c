/* statefile: the persisted state document and its writer thread (see statefile.h). */
#define _DEFAULT_SOURCE 1
#include "exporters/statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/bbuf.h"
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

	return dump(json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:o}", "name", t->name,
	                      "type", t->type, "endpoint", t->endpoint, "endpoint_kind",
	                      t->endpoint_kind, "health", health_json(&t->health), "runs", runs,
	                      "last_run", (json_int_t)t->last_run, "last_success",
	                      (json_int_t)t->last_success, "last",
	                      t->have_last ? result_json(&t->last) : json_null()));
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

static void *writer_main(void *arg)
{
	struct statefile_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		char *doc;
		size_t len;
		char err[256];
		int rc;

		while (w->pending == NULL && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->pending == NULL)
			break; /* stop, nothing left to write */
		doc = w->pending;
		len = w->pending_len;
		w->pending = NULL;
		pthread_mutex_unlock(&w->mu);
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

void statefile_writer_submit(struct statefile_writer *w, char *doc, size_t len)
{
	pthread_mutex_lock(&w->mu);
	free(w->pending);
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

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

static int64_t jint(json_t *o, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(o, key));
}

static void flap_load(json_t *o, struct health_flap *f)
{
	json_t *h = json_object_get(o, "history"), *v;
	size_t i;

	memset(f, 0, sizeof *f);
	json_array_foreach(h, i, v)
	{
		if (i >= HEALTH_HISTORY_LEN)
			break;
		f->history[i] = (uint8_t)(json_integer_value(v) & 3);
		f->count = (uint8_t)(i + 1);
	}
	f->next = (uint8_t)(jint(o, "next") % HEALTH_HISTORY_LEN);
	f->percent = json_number_value(json_object_get(o, "percent"));
	f->flapping = json_is_true(json_object_get(o, "flapping"));
}

static int health_load(json_t *o, struct health *h)
{
	json_t *total = json_object_get(o, "total"), *v;
	size_t i;

	health_init(h);
	if (!json_is_object(o) || result_class_parse(jstr(o, "state"), &h->state) == -1 ||
	    result_class_parse(jstr(o, "hard_state"), &h->hard_state) == -1 ||
	    result_class_parse(jstr(o, "last_notified"), &h->last_notified) == -1)
		return -1;
	h->state_type = strcmp(jstr(o, "state_type"), "SOFT") == 0 ? HEALTH_SOFT : HEALTH_HARD;
	h->attempt = (unsigned)jint(o, "attempt");
	h->last_status = status_parse(jstr(o, "last_status"));
	h->hard_status = status_parse(jstr(o, "hard_status"));
	h->last_check = (uint64_t)jint(o, "last_check");
	h->last_change = (uint64_t)jint(o, "last_change");
	h->last_hard_change = (uint64_t)jint(o, "last_hard_change");
	h->consecutive_ok = (unsigned)jint(o, "consecutive_ok");
	h->consecutive_fail = (unsigned)jint(o, "consecutive_fail");
	json_array_foreach(total, i, v)
	{
		if (i > RESULT_UNKNOWN)
			break;
		h->total[i] = (uint64_t)json_integer_value(v);
	}
	flap_load(json_object_get(o, "flap"), &h->flap);
	h->notified = json_is_true(json_object_get(o, "notified"));
	return 0;
}

static int result_load(json_t *o, const char *name, struct txn_result *r)
{
	json_t *a, *v, *facts;
	const char *key;
	size_t i;

	if (!json_is_object(o))
		return -1;
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	snprintf(r->target, sizeof r->target, "%s", jstr(o, "target"));
	r->type = jstr(o, "type"); /* owned by the state, as every other string */
	r->protocol = jstr(o, "protocol");
	r->started = (time_t)jint(o, "started");
	r->duration_us = (uint64_t)jint(o, "duration_us");
	r->status = status_parse(jstr(o, "status"));
	snprintf(r->status_detail, sizeof r->status_detail, "%s", jstr(o, "status_detail"));
	if (result_class_parse(jstr(o, "result"), &r->result) == -1)
		return -1;
	a = json_object_get(o, "steps");
	json_array_foreach(a, i, v)
	{
		struct txn_step_record *s;
		if (r->n_steps == TXN_MAX_STEPS)
			break;
		s = &r->steps[r->n_steps++];
		s->name = txn_step_name_intern(jstr(v, "name"));
		s->start_us = (uint64_t)jint(v, "start_us");
		s->duration_us = (uint64_t)jint(v, "duration_us");
		s->status = status_parse(jstr(v, "status"));
		s->finished = json_is_true(json_object_get(v, "finished"));
		snprintf(s->detail, sizeof s->detail, "%s", jstr(v, "detail"));
	}
	a = json_object_get(o, "findings");
	json_array_foreach(a, i, v)
	{
		if (r->n_findings == TXN_MAX_FINDINGS)
			break;
		r->findings[r->n_findings].status = status_parse(jstr(v, "status"));
		snprintf(r->findings[r->n_findings].detail, TXN_DETAIL_LEN, "%s",
		         jstr(v, "detail"));
		r->n_findings++;
	}
	facts = json_object_get(o, "facts");
	json_object_foreach(facts, key, v)
	{
		if (r->n_facts == TXN_MAX_FACTS)
			break;
		snprintf(r->facts[r->n_facts].key, sizeof r->facts[0].key, "%s", key);
		snprintf(r->facts[r->n_facts].value, TXN_DETAIL_LEN, "%s",
		         json_string_value(v) != NULL ? json_string_value(v) : "");
		r->n_facts++;
	}
	return 0;
}

static int txn_load(json_t *o, struct sf_txn *t)
{
	json_t *runs = json_object_get(o, "runs"), *last = json_object_get(o, "last");

	memset(t, 0, sizeof *t);
	t->name = jstr(o, "name");
	t->type = jstr(o, "type");
	t->endpoint = jstr(o, "endpoint");
	t->endpoint_kind = jstr(o, "endpoint_kind");
	if (t->name[0] == '\0' || health_load(json_object_get(o, "health"), &t->health) == -1)
		return -1;
	t->runs[RESULT_OK] = (uint64_t)jint(runs, "ok");
	t->runs[RESULT_WARNING] = (uint64_t)jint(runs, "warning");
	t->runs[RESULT_CRITICAL] = (uint64_t)jint(runs, "critical");
	t->runs[RESULT_UNKNOWN] = (uint64_t)jint(runs, "unknown");
	t->last_run = jint(o, "last_run");
	t->last_success = jint(o, "last_success");
	t->have_last = json_is_object(last) && result_load(last, t->name, &t->last) == 0;
	return 0;
}

static int endpoint_load(json_t *o, struct sf_endpoint *e)
{
	json_t *h = json_object_get(o, "health");

	memset(e, 0, sizeof *e);
	health_endpoint_init(&e->health);
	e->name = jstr(o, "name");
	e->kind = jstr(o, "kind");
	if (e->name[0] == '\0' || !json_is_object(h) ||
	    result_class_parse(jstr(h, "state"), &e->health.state) == -1 ||
	    result_class_parse(jstr(h, "last_notified"), &e->health.last_notified) == -1)
		return -1;
	e->health.status = status_parse(jstr(h, "status"));
	e->health.members = (unsigned)jint(h, "members");
	e->health.members_failing = (unsigned)jint(h, "members_failing");
	e->health.last_check = (uint64_t)jint(h, "last_check");
	e->health.last_change = (uint64_t)jint(h, "last_change");
	flap_load(json_object_get(h, "flap"), &e->health.flap);
	e->health.notified = json_is_true(json_object_get(h, "notified"));
	return 0;
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

struct sf_state *statefile_load(const char *path, char *err, size_t errlen)
{
	struct sf_state *s;
	json_error_t je;
	json_t *root, *a, *v;
	size_t i;
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	if (root == NULL) {
		snprintf(err, errlen, "%s:%d:%d: not a state file: %s", path, je.line, je.column,
		         je.text);
		errno = EINVAL;
		return NULL;
	}
	if (jint(root, "version") != STATEFILE_VERSION) {
		snprintf(err, errlen,
		         "%s: state file version %lld, this certprobe reads version %d", path,
		         (long long)jint(root, "version"), STATEFILE_VERSION);
		json_decref(root);
		errno = EINVAL;
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->priv = root;
	s->version = STATEFILE_VERSION;
	s->written = jint(root, "written");
	s->generator = jstr(root, "generator");
	s->config = jstr(root, "config");
	s->pid = (long)jint(root, "pid");
	a = json_object_get(root, "transactions");
	s->txns = xcalloc(json_array_size(a) + 1, sizeof *s->txns);
	json_array_foreach(a, i, v) if (txn_load(v, &s->txns[s->n_txns]) == 0) s->n_txns++;
	a = json_object_get(root, "endpoints");
	s->endpoints = xcalloc(json_array_size(a) + 1, sizeof *s->endpoints);
	json_array_foreach(a, i, v) if (endpoint_load(v, &s->endpoints[s->n_endpoints]) == 0)
	    s->n_endpoints++;
	a = json_object_get(root, "alerts");
	s->alerts = xcalloc(json_array_size(a) + 1, sizeof *s->alerts);
	json_array_foreach(a, i, v)
	{
		struct sf_alert *al = &s->alerts[s->n_alerts];
		al->labels = kv_load(json_object_get(v, "labels"), &al->n_labels);
		al->annotations = kv_load(json_object_get(v, "annotations"), &al->n_annotations);
		al->starts_at = jint(v, "starts_at");
		al->resolved = json_is_true(json_object_get(v, "resolved"));
		al->ends_at = jint(v, "ends_at");
		if (al->n_labels == 0) {
			free(al->labels);
			free(al->annotations);
			continue;
		}
		s->n_alerts++;
	}
	return s;
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
