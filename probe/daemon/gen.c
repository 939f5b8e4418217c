/*
 * gen: one configuration's targets, endpoints and exporter rows (see daemon.h), and the
 * carry-over of state from the running generation on reload.
 */
#define _XOPEN_SOURCE 700 /* strptime */
#include "daemon/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "exporters/metrics.h"

static struct endpoint *endpoint_get(struct gen *g, const struct txn_conf *c)
{
	char key[300];
	enum endpoint_kind kind;
	struct endpoint *e;

	txn_conf_type(c)->endpoint(c, key, sizeof key, &kind);
	for (e = g->endpoints; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0 && e->kind == kind)
			return e;
	e = xcalloc(1, sizeof *e);
	e->g = g;
	snprintf(e->key, sizeof e->key, "%s", key);
	e->kind = kind;
	health_endpoint_init(&e->health);
	e->next = g->endpoints;
	g->endpoints = e;
	g->n_eps++;
	return e;
}

struct endpoint *gen_endpoint_find(struct gen *g, const char *key, enum endpoint_kind kind)
{
	for (struct endpoint *e = g->endpoints; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0 && e->kind == kind)
			return e;
	return NULL;
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

/* "403 Forbidden" (sip_status) or "200" (http_status) → the number; 0 when absent */
static int32_t protocol_code(const struct txn_result *r)
{
	static const char *const facts[] = {"sip_status", "http_status"};

	for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++) {
		const char *v = txn_result_get_fact(r, facts[i]);
		char *end;
		long n;

		if (v == NULL)
			continue;
		n = strtol(v, &end, 10);
		if (end != v && n > 0 && n < 1000)
			return (int32_t)n;
	}
	return 0;
}

/* The certificate facts of a result, by role: "<prefix>_subject", ... */
static const struct {
	enum cert_role role;
	const char *prefix;
} cert_facts[] = {
    {CERT_ROLE_ISSUED, "issued"},
    {CERT_ROLE_CLIENT, "client"},
    {CERT_ROLE_SERVER, "server"},
};
static const char *const cert_text_facts[] = {"subject", "issuer", "serial", "fingerprint"};
#define CERT_TEXTS (sizeof cert_text_facts / sizeof cert_text_facts[0])

static const char **cert_text_field(struct snapshot_cert *c, size_t k)
{
	const char **f[CERT_TEXTS] = {&c->subject, &c->issuer, &c->serial, &c->fingerprint};

	return f[k];
}

/*
 * The row's strings from result r, packed into one allocation t owns: the detail, and
 * each certificate's texts where r has them (a certificate r did not see keeps what the
 * last run that saw it said).
 */
static void row_text_update(struct target *t, struct snapshot_txn *row, const struct txn_result *r,
                            const char *detail)
{
	const char *src[1 + CERT_ROLE_COUNT * CERT_TEXTS];
	const char **dst[1 + CERT_ROLE_COUNT * CERT_TEXTS];
	char key[40], *text, *p;
	size_t n = 0, total = 0;

	src[n] = detail != NULL && detail[0] != '\0' ? detail : NULL;
	dst[n++] = &row->detail;
	for (size_t i = 0; i < sizeof cert_facts / sizeof cert_facts[0]; i++) {
		struct snapshot_cert *c = &row->certs[cert_facts[i].role];
		bool seen;
		snprintf(key, sizeof key, "%s_not_after", cert_facts[i].prefix);
		seen = txn_result_get_fact(r, key) != NULL;
		for (size_t k = 0; k < CERT_TEXTS; k++) {
			snprintf(key, sizeof key, "%s_%s", cert_facts[i].prefix,
			         cert_text_facts[k]);
			src[n] = seen ? txn_result_get_fact(r, key) : *cert_text_field(c, k);
			dst[n++] = cert_text_field(c, k);
		}
	}
	for (size_t i = 0; i < n; i++)
		total += src[i] != NULL ? strlen(src[i]) + 1 : 0;
	text = xmalloc(total + 1);
	p = text;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		if (src[i] == NULL) {
			*dst[i] = NULL;
			continue;
		}
		len = strlen(src[i]) + 1;
		memcpy(p, src[i], len);
		*dst[i] = p;
		p += len;
	}
	free(t->row_text); /* after the copy: src may point into it */
	t->row_text = text;
}

/*
 * The exporters' view of a target: its health, and the result r when one just arrived
 * (NULL: the row keeps the result it has). Only the row keeps a result's numbers; the
 * target keeps its reason and the state-file record, so 10,000 targets stay small.
 */
void gen_row_update(struct target *t, const struct txn_result *r)
{
	struct snapshot_txn *row = &t->g->rows[t->index];

	t->g->rows_changed[t->index] = 1;
	if (r != NULL) {
		const char *detail;
		struct history_entry he;
		metrics_txn_set_result(row, r);
		t->last_reason = txn_result_reason(r, &detail);
		snprintf(t->last_detail, sizeof t->last_detail, "%s", detail);
		row->reason = t->last_reason;
		row->protocol_code = protocol_code(r);
		for (size_t i = 0; i < sizeof cert_facts / sizeof cert_facts[0]; i++) {
			char key[40];
			int64_t na, nb;
			snprintf(key, sizeof key, "%s_not_after", cert_facts[i].prefix);
			na = fact_time(r, key);
			snprintf(key, sizeof key, "%s_not_before", cert_facts[i].prefix);
			nb = fact_time(r, key);
			if (na != 0) {
				row->certs[cert_facts[i].role].present = true;
				row->certs[cert_facts[i].role].not_after = na;
				row->certs[cert_facts[i].role].not_before = nb;
			}
		}
		row_text_update(t, row, r, detail);
		history_entry_from_result(&he, r, (int64_t)t->last_wall, row->protocol_code);
		history_add(t->history, &he);
	}
	if (t->have_last) {
		row->last_run = (int64_t)t->last_wall;
		row->last_success = (int64_t)t->last_success;
	}
	row->state = t->health.state;
	row->hard = t->health.state_type == HEALTH_HARD;
	row->flapping = t->health.flap.flapping;
	row->consecutive_failures = t->health.consecutive_fail;
	row->history = t->history;
	memcpy(row->runs, t->runs, sizeof row->runs);
}

struct gen *gen_new(struct daemon *d, struct config *cfg)
{
	struct gen *g = xcalloc(1, sizeof *g);
	size_t i = 0;

	g->d = d;
	g->cfg = cfg;
	g->hold = xcalloc(1, sizeof *g->hold);
	g->hold->cfg = cfg;
	g->hold->refs = 1;
	g->n = cfg->n_txns;
	g->targets = xcalloc(g->n + 1, sizeof *g->targets);
	for (const struct txn_conf *tc = cfg->txns; tc != NULL; tc = tc->next, i++) {
		struct target *t = &g->targets[i];
		t->g = g;
		t->index = i;
		t->conf = tc;
		t->type = txn_conf_type(tc);
		t->ep = endpoint_get(g, tc);
		if (t->ep->n_members == t->ep->cap_members) {
			t->ep->cap_members = t->ep->cap_members ? 2 * t->ep->cap_members : 4;
			t->ep->members =
			    xrealloc(t->ep->members, t->ep->cap_members * sizeof *t->ep->members);
		}
		t->ep->members[t->ep->n_members++] = t;
		t->timer = evtimer_new(d->base, sched_on_timer, t);
		t->reap = evtimer_new(d->base, sched_on_reap, t);
		t->history = history_new(cfg->history);
		health_init(&t->health);
	}
	g->rows = xcalloc(g->n + 1, sizeof *g->rows);
	g->rows_changed = xcalloc(g->n + 1, sizeof *g->rows_changed);
	for (i = 0; i < g->n; i++) {
		struct target *t = &g->targets[i];
		g->rows[i].name = t->conf->name;
		g->rows[i].type = t->type->name;
		g->rows[i].protocol = t->type->protocol(t->conf);
		g->rows[i].endpoint = t->ep->key;
		g->rows[i].interval_ms = t->conf->interval_ms;
		g->rows[i].timeout_ms = t->conf->timeout_ms;
		g->rows[i].history = t->history;
		g->rows[i].hard = true;
	}
	g->eps = xcalloc(g->n_eps + 1, sizeof *g->eps);
	i = 0;
	for (struct endpoint *e = g->endpoints; e != NULL; e = e->next, i++) {
		e->index = i;
		g->eps[i].name = e->key;
		g->eps[i].kind = e->kind;
		g->eps[i].state = RESULT_OK;
		g->eps[i].members = (unsigned)e->n_members;
	}
	for (i = 0; i < g->n; i++) {
		const struct target *t = &g->targets[i];
		const char *from = txn_conf_depends_on(t->conf);
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

void gen_hold_unref(struct cfg_hold *h)
{
	if (h == NULL || --h->refs > 0)
		return;
	config_free(h->cfg);
	free(h);
}

/* Stop g's transactions (no callbacks) and free it; the config too when free_cfg. */
void gen_free(struct gen *g, bool free_cfg)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n; i++) {
		struct target *t = &g->targets[i];
		if (t->running) {
			g->d->in_flight--;
			/* a reload carried every run it could (gen_carry): this one's transaction
			 * is gone or probes something else now, so its result would mean nothing */
			if (!g->d->stopping) {
				g->d->runs_cancelled++;
				log_info("reload: the run of '%s' in flight was cancelled (the "
				         "transaction "
				         "was removed or now probes something else)",
				         t->conf->name);
			}
		}
		g->d->free_run(t->run);
		if (t->ctx != NULL) {
			gen_hold_unref(t->ctx->hold);
			free(t->ctx);
		}
		event_free(t->timer);
		event_free(t->reap);
		persist_record_unref(t->record);
		free(t->row_text);
		history_free(t->history);
		free(t->passive_text);
		free(t->passive_perf);
	}
	while (g->endpoints != NULL) {
		struct endpoint *e = g->endpoints;
		g->endpoints = e->next;
		free(e->members);
		free(e);
	}
	free(g->targets);
	free(g->rows);
	free(g->rows_changed);
	free(g->eps);
	if (!free_cfg)
		g->hold->cfg = NULL; /* another owner frees it */
	gen_hold_unref(g->hold);
	free(g);
}

/* Carry the state of old's transactions into g where name, type and endpoint match. */
void gen_carry(struct gen *g, struct gen *old, bool *keep_due)
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
			g->rows[i].timeout_ms = keep.timeout_ms;
		}
		/* the strings the row points at, and the history, move with it */
		free(t->row_text);
		t->row_text = o->row_text;
		o->row_text = NULL;
		history_free(t->history);
		t->history = o->history;
		o->history = NULL;
		free(t->passive_text);
		free(t->passive_perf);
		t->passive_text = o->passive_text;
		t->passive_perf = o->passive_perf;
		o->passive_text = o->passive_perf = NULL;
		t->passive_state = o->passive_state;
		history_resize(t->history, g->cfg->history);
		t->last_wall = o->last_wall;
		t->last_success = o->last_success;
		memcpy(t->cert_told_fp, o->cert_told_fp, sizeof t->cert_told_fp);
		memcpy(t->cert_told, o->cert_told, sizeof t->cert_told);
		memcpy(t->runs, o->runs, sizeof t->runs);
		t->ran_once = o->ran_once;
		t->due_us = o->due_us;
		keep_due[i] = !o->running && !o->queued;
		if (o->running) {
			/* the run goes on for its heir; the old configuration lives until it ends
			 */
			t->run = o->run;
			t->ctx = o->ctx;
			t->ctx->t = t;
			t->running = true;
			t->start_us = o->start_us;
			t->ep->running++;
			o->run = NULL;
			o->ctx = NULL;
			o->running = false;
		}
		gen_row_update(t, NULL);
	}
	for (struct endpoint *e = g->endpoints; e != NULL; e = e->next) {
		struct endpoint *o = gen_endpoint_find(old, e->key, e->kind);
		if (o == NULL)
			continue;
		e->health = o->health;
		e->alert = o->alert;
		e->alert_since = o->alert_since;
		g->eps[e->index].state = e->health.state;
		g->eps[e->index].since = (int64_t)e->health.last_change;
		g->eps[e->index].failing = e->health.members_failing;
	}
}
