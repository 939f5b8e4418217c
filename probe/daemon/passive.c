/*
 * passive: the daemon's side of passive results. Every transaction's last result is
 * kept as check_certprobe prints it (plugin_report.c over the same persisted view the
 * plugin reads), so Icinga 2 and Nagios show the same text either way. A HARD state
 * change (of a transaction or an endpoint) and a transaction's first run go to every
 * sink that takes results; each such sink's refresh timer hands it every object again,
 * which also lets a ttl or a freshness check notice a probe that went silent. The
 * changes a sink has not delivered are written to the state file and handed back
 * after a restart.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "alert/sink.h"
#include "core/bbuf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exporters/plugin_report.h"
#include "exporters/statefile.h"

/* check_certprobe's freshness is the monitoring system's business here: never stale */
#define PASSIVE_NEVER_STALE (INT64_MAX / 4)

/* o's text without the perfdata into *text, the perfdata into *perf (both malloced). */
static void split_render(struct plugin_output *o, char **text, char **perf)
{
	char *buf = xmalloc(PLUGIN_OUTPUT_MAX + 1);

	*perf = xstrndup(o->perf, o->perf_len);
	o->perf_len = 0;
	o->perf[0] = '\0';
	plugin_output_render(o, buf, PLUGIN_OUTPUT_MAX + 1);
	*text = buf;
}

static void txn_view(const struct target *t, const struct txn_result *r, struct sf_txn *v)
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
}

/* t's result as a sink_result; state and text from r (NULL: the kept text, or health). */
static int txn_render(struct target *t, const struct txn_result *r, char **text, char **perf)
{
	struct plugin_output *o = xcalloc(1, sizeof *o);
	struct plugin_report_opts ro;
	char prefix[48];
	int state;

	memset(&ro, 0, sizeof ro);
	ro.now = (int64_t)time(NULL);
	plugin_report_prefix(prefix, sizeof prefix, t->g->rows[t->index].type);
	plugin_output_init(o, prefix);
	if (r != NULL) {
		struct sf_txn *v = xcalloc(1, sizeof *v);
		txn_view(t, r, v);
		plugin_report_stored_txn(o, v, &ro, PASSIVE_NEVER_STALE, false);
		free(v);
	} else {
		plugin_report_health(o, t->conf->name, &t->health, t->last_reason, t->last_detail);
	}
	state = (int)o->state;
	split_render(o, text, perf);
	free(o);
	return state;
}

static void hand_txn(struct daemon *d, struct alert_sink *only, struct target *t, bool changed)
{
	struct sink_result sr;
	char *text = NULL, *perf = NULL;
	int state;

	if (!t->have_last)
		return;
	if (t->passive_text == NULL)
		/* restored or carried without its text: the health says enough */
		state = txn_render(t, NULL, &text, &perf);
	else
		state = t->passive_state;
	memset(&sr, 0, sizeof sr);
	sr.object = SINK_OBJECT_TRANSACTION;
	sr.name = t->conf->name;
	sr.type = t->g->rows[t->index].type;
	sr.endpoint = t->ep->key;
	sr.kind = t->ep->kind;
	sr.state = state;
	sr.changed = changed;
	sr.when = (int64_t)t->last_wall;
	sr.output = text != NULL ? text : t->passive_text;
	sr.perfdata = perf != NULL ? perf : t->passive_perf;
	for (size_t i = 0; i < d->n_sinks; i++) {
		struct alert_sink *s = d->sinks[i];
		if (s->ops->result != NULL && (only == NULL || only == s))
			s->ops->result(s, &sr);
	}
	free(text);
	free(perf);
}

/*
 * The members e's output lists: at most PLUGIN_SUBCHECKS_MAX (the output keeps no more),
 * the failing ones first, into d's scratch views. Only what the endpoint's report reads
 * is set (a view is 18 kB; its last result is never read with have_last false), so an
 * endpoint of 10,000 transactions costs no more than one of 48. Returns their count;
 * *newest gets the newest run of all members.
 */
static size_t endpoint_members(struct daemon *d, const struct endpoint *e,
                               const struct sf_txn **members, int64_t *newest)
{
	size_t n = 0;

	if (d->passive_scratch == NULL)
		d->passive_scratch = xcalloc(PLUGIN_SUBCHECKS_MAX, sizeof *d->passive_scratch);
	*newest = 0;
	for (int failing = 1; failing >= 0; failing--) {
		for (size_t i = 0; i < e->n_members; i++) {
			const struct target *t = e->members[i];
			struct sf_txn *v;
			if (!t->have_last || (t->health.hard_state != RESULT_OK) != failing)
				continue;
			if ((int64_t)t->last_wall > *newest)
				*newest = (int64_t)t->last_wall;
			if (n == PLUGIN_SUBCHECKS_MAX)
				continue;
			v = &d->passive_scratch[n];
			v->name = t->conf->name;
			v->health = t->health;
			v->have_last = false;
			v->last_run = (int64_t)t->last_wall;
			members[n++] = v;
		}
	}
	return n;
}

static void hand_endpoint(struct daemon *d, struct alert_sink *only, struct endpoint *e,
                          bool changed)
{
	const struct sf_txn *members[PLUGIN_SUBCHECKS_MAX];
	struct plugin_output *o;
	struct plugin_report_opts ro;
	struct sf_endpoint ev = {e->key, endpoint_kind_name(e->kind), e->health};
	struct sink_result sr;
	int64_t newest;
	char *text, *perf;
	size_t n = endpoint_members(d, e, members, &newest);

	if (n == 0)
		return; /* nothing ran against it yet */
	o = xcalloc(1, sizeof *o);
	memset(&ro, 0, sizeof ro);
	ro.now = (int64_t)time(NULL);
	plugin_output_init(o, e->kind == ENDPOINT_KIND_REGISTRAR ? "CERTPROBE REGISTRAR"
	                                                         : "CERTPROBE WEBSERVICE");
	plugin_report_stored_endpoint(o, &ev, members, n, &ro, PASSIVE_NEVER_STALE, false);
	memset(&sr, 0, sizeof sr);
	sr.object = SINK_OBJECT_ENDPOINT;
	sr.name = e->key;
	sr.type = endpoint_kind_name(e->kind);
	sr.endpoint = e->key;
	sr.kind = e->kind;
	sr.state = (int)o->state;
	sr.changed = changed;
	sr.when = newest;
	split_render(o, &text, &perf);
	free(o);
	sr.output = text;
	sr.perfdata = perf;
	for (size_t i = 0; i < d->n_sinks; i++) {
		struct alert_sink *s = d->sinks[i];
		if (s->ops->result != NULL && (only == NULL || only == s))
			s->ops->result(s, &sr);
	}
	free(text);
	free(perf);
}

static bool any_takes_results(const struct daemon *d)
{
	for (size_t i = 0; i < d->n_sinks; i++)
		if (d->sinks[i]->ops->result != NULL)
			return true;
	return false;
}

void passive_txn_result(struct daemon *d, struct target *t, const struct txn_result *r,
                        bool hard_changed)
{
	bool first = !t->ran_once;

	if (!any_takes_results(d))
		return;
	free(t->passive_text);
	free(t->passive_perf);
	t->passive_text = t->passive_perf = NULL;
	t->passive_state = txn_render(t, r, &t->passive_text, &t->passive_perf);
	if (!hard_changed && !first)
		return;
	hand_txn(d, NULL, t, hard_changed);
	if (first)
		hand_endpoint(d, NULL, t->ep, false);
	if (hard_changed)
		persist_schedule(d, true); /* the change is kept until delivered */
}

void passive_endpoint_changed(struct daemon *d, struct endpoint *e)
{
	if (!any_takes_results(d))
		return;
	hand_endpoint(d, NULL, e, true);
	persist_schedule(d, true);
}

/* ---- refresh ---- */

struct passive_refresh {
	struct daemon *d;
	struct alert_sink *sink;
	struct event *ev;
};

static void on_refresh(evutil_socket_t fd, short what, void *arg)
{
	struct passive_refresh *pr = arg;
	struct daemon *d = pr->d;

	(void)fd;
	(void)what;
	if (d->g == NULL || d->stopping)
		return;
	for (size_t i = 0; i < d->g->n; i++)
		hand_txn(d, pr->sink, &d->g->targets[i], false);
	for (struct endpoint *e = d->g->endpoints; e != NULL; e = e->next)
		hand_endpoint(d, pr->sink, e, false);
}

void passive_open(struct daemon *d)
{
	for (size_t i = 0; i < d->n_sinks; i++) {
		struct alert_sink *s = d->sinks[i];
		struct passive_refresh *pr;
		struct timeval tv;

		if (s->ops->result == NULL || s->refresh_ms == 0)
			continue;
		pr = xcalloc(1, sizeof *pr);
		pr->d = d;
		pr->sink = s;
		pr->ev = event_new(d->base, -1, EV_PERSIST, on_refresh, pr);
		tv.tv_sec = (time_t)(s->refresh_ms / 1000);
		tv.tv_usec = (suseconds_t)((s->refresh_ms % 1000) * 1000);
		event_add(pr->ev, &tv);
		d->passive_refresh[i] = pr;
	}
}

void passive_close(struct daemon *d)
{
	free(d->passive_scratch);
	d->passive_scratch = NULL;
	for (size_t i = 0; i < DAEMON_MAX_SINKS; i++) {
		struct passive_refresh *pr = d->passive_refresh[i];
		if (pr == NULL)
			continue;
		event_free(pr->ev);
		free(pr);
		d->passive_refresh[i] = NULL;
	}
}

/* ---- the state file ---- */

struct persist_ctx {
	struct bbuf *b;
	bool first;
};

static void persist_one(const char *sink, const struct sink_result *r, void *arg)
{
	struct persist_ctx *c = arg;
	char state[4];
	struct sf_kv labels[6] = {
	    {"sink", sink},
	    {"object", sink_object_name(r->object)},
	    {"name", r->name},
	    {"type", r->type},
	    {"endpoint", r->endpoint},
	    {"kind", endpoint_kind_name(r->kind)},
	};
	struct sf_kv ann[3] = {
	    {"state", state},
	    {"output", r->output},
	    {"perfdata", r->perfdata},
	};
	struct sf_alert sa = {labels, 6, ann, 3, r->when, false, 0};
	char *rec;

	snprintf(state, sizeof state, "%d", r->state);
	rec = statefile_alert_json(&sa);
	bbuf_appendf(c->b, "%s%s", c->first ? "" : ",", rec);
	c->first = false;
	free(rec);
}

void passive_persist(const struct daemon *d, struct bbuf *b)
{
	struct persist_ctx c = {b, true};

	for (size_t i = 0; i < d->n_sinks; i++)
		if (d->sinks[i]->ops->foreach_result != NULL)
			d->sinks[i]->ops->foreach_result(d->sinks[i], persist_one, &c);
}

static const char *kv_get(const struct sf_kv *kv, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].name, name) == 0)
			return kv[i].value;
	return NULL;
}

void passive_restore(struct daemon *d, const struct sf_state *s)
{
	size_t handed = 0;

	for (size_t k = 0; k < s->n_passive; k++) {
		const struct sf_alert *a = &s->passive[k];
		const char *sink = kv_get(a->labels, a->n_labels, "sink");
		const char *st = kv_get(a->annotations, a->n_annotations, "state");
		struct sink_result r;
		char *end = NULL;
		long state;

		memset(&r, 0, sizeof r);
		errno = 0;
		state = st != NULL ? strtol(st, &end, 10) : -1;
		r.name = kv_get(a->labels, a->n_labels, "name");
		if (sink == NULL || r.name == NULL || end == st || (end != NULL && *end != '\0') ||
		    state < 0 || state > 3 ||
		    sink_object_parse(kv_get(a->labels, a->n_labels, "object"), &r.object) == -1 ||
		    endpoint_kind_parse(kv_get(a->labels, a->n_labels, "kind"), &r.kind) == -1) {
			log_warn(
			    "state: a passive result record without sink, object, name, kind or "
			    "state; dropped");
			continue;
		}
		r.type = kv_get(a->labels, a->n_labels, "type");
		r.endpoint = kv_get(a->labels, a->n_labels, "endpoint");
		r.state = (int)state;
		r.changed = true;
		r.when = a->starts_at;
		r.output = kv_get(a->annotations, a->n_annotations, "output");
		r.perfdata = kv_get(a->annotations, a->n_annotations, "perfdata");
		if (r.output == NULL)
			r.output = "";
		if (r.perfdata == NULL)
			r.perfdata = "";
		for (size_t i = 0; i < d->n_sinks; i++) {
			struct alert_sink *sk = d->sinks[i];
			if (sk->ops->result != NULL && strcmp(sk->ops->name, sink) == 0) {
				sk->ops->result(sk, &r);
				handed++;
			}
		}
	}
	if (s->n_passive > 0)
		log_info("state: %zu undelivered passive result%s handed back to %s sinks", handed,
		         handed == 1 ? "" : "s", handed > 0 ? "their" : "no configured");
}
