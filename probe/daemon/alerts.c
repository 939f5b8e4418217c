/*
 * alerts: endpoint notifications. When an endpoint's health says a notification is due,
 * the alert of its new severity is raised (one of another severity resolved first), or
 * the open one resolved when it recovered. The open alerts are kept here, whatever sinks
 * are configured, so the state file persists them and a restart re-announces them with
 * their original start; a resolved alert stays until no sink still has to deliver it.
 * Every change goes to every sink in d->sinks.
 */
#include "daemon/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/sink.h"
#include "core/bbuf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exporters/metrics.h"
#include "exporters/snmp_agent.h"
#include "exporters/statefile.h"

struct alert_entry {
	char endpoint[300];
	enum endpoint_kind kind;
	enum result_class severity;
	int64_t starts_at;
	bool resolved;
	int64_t ends_at;
	char *summary, *description, *reason, *transactions;
	struct alert_entry *next;
};

static void entry_view(const struct alert_entry *en, struct alert *a, bool restored)
{
	memset(a, 0, sizeof *a);
	a->endpoint = en->endpoint;
	a->kind = en->kind;
	a->severity = en->severity;
	a->starts_at = en->starts_at;
	a->resolved = en->resolved;
	a->ends_at = en->ends_at;
	a->restored = restored;
	a->summary = en->summary != NULL ? en->summary : "";
	a->description = en->description != NULL ? en->description : "";
	a->reason = en->reason != NULL ? en->reason : "";
	a->transactions = en->transactions != NULL ? en->transactions : "";
}

static void entry_set_text(struct alert_entry *en, const char *summary, const char *description,
                           const char *reason, const char *transactions)
{
	free(en->summary);
	free(en->description);
	free(en->reason);
	free(en->transactions);
	en->summary = xstrdup(summary != NULL ? summary : "");
	en->description = xstrdup(description != NULL ? description : "");
	en->reason = xstrdup(reason != NULL ? reason : "");
	en->transactions = xstrdup(transactions != NULL ? transactions : "");
}

static void entry_free(struct alert_entry *en)
{
	free(en->summary);
	free(en->description);
	free(en->reason);
	free(en->transactions);
	free(en);
}

/* The open alert of (endpoint, kind, severity); a new one when there is none. */
static struct alert_entry *entry_get(struct daemon *d, const char *endpoint,
                                     enum endpoint_kind kind, enum result_class severity)
{
	struct alert_entry *en;

	for (en = d->alerts; en != NULL; en = en->next)
		if (!en->resolved && en->kind == kind && en->severity == severity &&
		    strcmp(en->endpoint, endpoint) == 0)
			return en;
	en = xcalloc(1, sizeof *en);
	snprintf(en->endpoint, sizeof en->endpoint, "%s", endpoint);
	en->kind = kind;
	en->severity = severity;
	en->next = d->alerts;
	d->alerts = en;
	return en;
}

/*
 * The open alert of (endpoint, kind, severity) to raise or update. A new one supersedes
 * the resolved ones of that identity a sink still delivers: a sink keeps one alert per
 * identity (Alertmanager re-opens the label set), so they are dropped, never persisted
 * next to the open one.
 */
static struct alert_entry *entry_raise(struct daemon *d, const char *endpoint,
                                       enum endpoint_kind kind, enum result_class severity)
{
	struct alert_entry **pp = &d->alerts;

	while (*pp != NULL) {
		struct alert_entry *en = *pp;
		if (en->kind == kind && en->severity == severity &&
		    strcmp(en->endpoint, endpoint) == 0) {
			if (!en->resolved)
				return en;
			*pp = en->next;
			entry_free(en);
		} else {
			pp = &en->next;
		}
	}
	return entry_get(d, endpoint, kind, severity);
}

static void notify_raise(struct daemon *d, const struct alert_entry *en, bool restored)
{
	struct alert a;

	entry_view(en, &a, restored);
	for (size_t i = 0; i < d->n_sinks; i++)
		if (d->sinks[i]->ops->raise != NULL)
			d->sinks[i]->ops->raise(d->sinks[i], &a);
}

/*
 * Resolve the open alert (endpoint, kind, severity) at ends_at and tell every sink. The
 * caller prunes once it is done (alerts_prune() asks the sinks about every alert: once
 * per resolve of a batch is quadratic).
 */
static void resolve(struct daemon *d, const char *endpoint, enum endpoint_kind kind,
                    enum result_class severity, int64_t ends_at)
{
	struct alert_entry *en = entry_get(d, endpoint, kind, severity);
	struct alert a;

	if (en->starts_at > 0 && ends_at < en->starts_at)
		ends_at = en->starts_at;
	en->resolved = true;
	en->ends_at = ends_at;
	entry_view(en, &a, false);
	for (size_t i = 0; i < d->n_sinks; i++)
		if (d->sinks[i]->ops->resolve != NULL)
			d->sinks[i]->ops->resolve(d->sinks[i], &a);
}

void alerts_reannounce(struct daemon *d, struct alert_sink *s)
{
	struct alert a;

	if (s->ops->raise == NULL)
		return;
	for (const struct alert_entry *en = d->alerts; en != NULL; en = en->next) {
		if (en->resolved)
			continue;
		entry_view(en, &a, true);
		s->ops->raise(s, &a);
	}
}

/* FNV-1a: which certificate was told, without keeping its fingerprint's text */
static uint64_t text_hash(const char *s, int64_t salt)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)salt;

	for (; s != NULL && *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void alerts_cert_expiry(struct daemon *d, struct target *t)
{
	const struct snapshot_txn *row = &t->g->rows[t->index];
	int64_t now = (int64_t)time(NULL);
	uint64_t window = (uint64_t)t->conf->warn.expiry_days * 86400u;
	uint64_t sent, dropped;
	bool connected;

	if (d->snmp == NULL)
		return;
	/*
	 * Told once per certificate, so only when it can be delivered: with the master away
	 * (at start-up before the subagent has registered, or while snmpd restarts) the
	 * notification would be dropped and never repeated; the next run after the
	 * subagent registers tells it instead.
	 */
	snmp_agent_stats(d->snmp, &connected, &sent, &dropped);
	if (!connected)
		return;
	for (unsigned r = 0; r < CERT_ROLE_COUNT; r++) {
		const struct snapshot_cert *c = &row->certs[r];
		uint64_t fp;
		uint8_t level;

		if (!c->present || c->not_after == 0)
			continue;
		level = c->not_after <= now                                     ? 2
		        : window > 0 && (uint64_t)(c->not_after - now) < window ? 1
		                                                                : 0;
		fp = text_hash(c->fingerprint, c->not_after);
		if (fp != t->cert_told_fp[r]) { /* another certificate: nothing told yet */
			t->cert_told_fp[r] = fp;
			t->cert_told[r] = 0;
		}
		if (level <= t->cert_told[r])
			continue;
		t->cert_told[r] = level;
		log_info("%s: the %s certificate (%s) %s; SNMP notified", t->conf->name,
		         metrics_cert_role_label((enum cert_role)r),
		         c->subject != NULL ? c->subject : "?",
		         level == 2 ? "has expired" : "expires within warn.expiry_days");
		snmp_agent_cert_event(d->snmp, t->conf->name, r, c->subject, c->not_after,
		                      level == 2);
	}
}

void alerts_add_sink(struct daemon *d, struct alert_sink *s)
{
	if (d->n_sinks == DAEMON_MAX_SINKS) {
		log_err("alerts: more than %d sinks; %s left out", DAEMON_MAX_SINKS, s->ops->name);
		alert_sink_free(s);
		return;
	}
	d->sinks[d->n_sinks++] = s;
}

void alerts_free(struct daemon *d)
{
	while (d->alerts != NULL) {
		struct alert_entry *en = d->alerts;
		d->alerts = en->next;
		entry_free(en);
	}
	for (size_t i = 0; i < d->n_sinks; i++)
		alert_sink_free(d->sinks[i]);
	d->n_sinks = 0;
}

void alerts_prune(struct daemon *d)
{
	struct alert_entry **pp = &d->alerts;

	while (*pp != NULL) {
		struct alert_entry *en = *pp;
		bool pending = false;
		struct alert a;

		if (en->resolved) {
			entry_view(en, &a, false);
			for (size_t i = 0; i < d->n_sinks && !pending; i++)
				pending = d->sinks[i]->ops->pending != NULL &&
				          d->sinks[i]->ops->pending(d->sinks[i], &a);
		}
		if (en->resolved && !pending) {
			*pp = en->next;
			entry_free(en);
		} else {
			pp = &en->next;
		}
	}
}

/*
 * Endpoint e's notification is due: raise the alert of its new severity (resolving one
 * of another severity first), or resolve what is open when it recovered.
 */
static void endpoint_alert(struct daemon *d, struct endpoint *e)
{
	enum result_class now_sev = e->health.state;
	char summary[400], description[1200], members[600];
	int64_t now = (int64_t)time(NULL), since;
	size_t nm = 0, n_failing = 0;
	const struct txn_status_info *si;
	struct alert_entry *en;

	if (alert_severity_name(now_sev) == NULL)
		now_sev = RESULT_OK;
	if (e->alert != RESULT_OK &&
	    (now_sev == RESULT_OK ||
	     strcmp(alert_severity_name(e->alert), alert_severity_name(now_sev)) != 0)) {
		resolve(d, e->key, e->kind, e->alert, now);
		alerts_prune(d);
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
		if (t->health.hard_state == RESULT_OK || t->health.state_type != HEALTH_HARD ||
		    !health_judges_endpoint(&t->health))
			continue;
		n_failing++;
		if (nm < sizeof members)
			nm += (size_t)snprintf(members + nm, sizeof members - nm, "%s%s",
			                       nm ? ", " : "", t->conf->name);
		if (description[0] == '\0' && t->have_last) {
			const struct txn_status_info *ri = txn_status_info(t->last_reason);
			snprintf(description, sizeof description, "%s: %s%s%s. %s", t->conf->name,
			         ri->description, t->last_detail[0] ? ": " : "", t->last_detail,
			         ri->action);
		}
	}
	snprintf(summary, sizeof summary, "%s %s is %s: %s (%zu of %zu transactions)",
	         e->kind == ENDPOINT_KIND_REGISTRAR ? "Registrar" : "Web service", e->key,
	         result_class_name(now_sev), si->description, n_failing, e->n_members);
	if (description[0] == '\0')
		snprintf(description, sizeof description, "%s", si->action);
	/* a severity's alert is one alert: an update keeps the entry and its start */
	en = entry_raise(d, e->key, e->kind,
	                 now_sev == RESULT_CRITICAL ? RESULT_CRITICAL : RESULT_WARNING);
	en->starts_at = since;
	entry_set_text(en, summary, description, si->code, members);
	notify_raise(d, en, false);
	e->alert = en->severity;
	e->alert_since = since;
}

void alerts_log_change(const char *kind, const char *name, const struct health *h,
                       const struct health_change *c)
{
	char line[400];

	health_change_describe(line, sizeof line, kind, name, h, c);
	if (c->notify)
		log_warn("%s", line);
	else
		log_info("%s", line);
}

void alerts_endpoint_update(struct daemon *d, struct endpoint *e)
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
	if (e->g->eps[e->index].failing != e->health.members_failing) {
		e->g->eps[e->index].failing = e->health.members_failing;
		routes_row_changed(d, SIZE_MAX);
	}
	if (!(c.state_changed || c.notify || c.flap_started || c.flap_stopped))
		return;
	e->g->eps[e->index].state = e->health.state;
	e->g->eps[e->index].since = (int64_t)e->health.last_change;
	routes_row_changed(d, SIZE_MAX);
	if (c.state_changed)
		passive_endpoint_changed(d, e);
	health_endpoint_change_describe(line, sizeof line, endpoint_kind_name(e->kind), e->key,
	                                &e->health, &c);
	if (c.notify) {
		log_warn("%s", line);
		endpoint_alert(d, e);
		persist_schedule(d, true);
	} else {
		log_info("%s", line);
	}
}

void alerts_reload(struct daemon *d, struct gen *g)
{
	for (struct endpoint *e = d->g->endpoints; e != NULL; e = e->next)
		if (e->alert != RESULT_OK && gen_endpoint_find(g, e->key, e->kind) == NULL)
			resolve(d, e->key, e->kind, e->alert, (int64_t)time(NULL));
	alerts_prune(d);
}

static const char *kv_get(const struct sf_kv *kv, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].name, name) == 0)
			return kv[i].value;
	return NULL;
}

/* True when d keeps an alert of (endpoint, kind, severity), open or resolved. */
static bool entry_exists(const struct daemon *d, const char *endpoint, enum endpoint_kind kind,
                         enum result_class severity)
{
	for (const struct alert_entry *en = d->alerts; en != NULL; en = en->next)
		if (en->kind == kind && en->severity == severity &&
		    strcmp(en->endpoint, endpoint) == 0)
			return true;
	return false;
}

/*
 * The open alerts first, then the resolves still to deliver: a resolve of an identity
 * that has an open alert was superseded by it (a sink keeps one alert per identity) and
 * is not sent again.
 */
void alerts_restore(struct daemon *d, const struct sf_state *s)
{
	for (size_t k = 0; k < 2 * s->n_alerts; k++) {
		const struct sf_alert *a = &s->alerts[k % s->n_alerts];
		const char *ep = kv_get(a->labels, a->n_labels, "endpoint");
		const char *sev = kv_get(a->labels, a->n_labels, "severity");
		enum endpoint_kind kind;
		enum result_class severity;
		struct alert_entry *en;
		struct endpoint *e;

		if (a->resolved != (k >= s->n_alerts))
			continue; /* open ones in the first pass, resolved ones in the second */
		if (ep == NULL || sev == NULL ||
		    endpoint_kind_parse(kv_get(a->labels, a->n_labels, "kind"), &kind) == -1 ||
		    (strcmp(sev, "critical") != 0 && strcmp(sev, "warning") != 0)) {
			log_warn(
			    "state: an alert record without endpoint, kind or severity; dropped");
			continue;
		}
		severity = strcmp(sev, "critical") == 0 ? RESULT_CRITICAL : RESULT_WARNING;
		if (a->resolved && entry_exists(d, ep, kind, severity))
			continue;
		en = entry_get(d, ep, kind, severity);
		en->starts_at = a->starts_at;
		entry_set_text(en, kv_get(a->annotations, a->n_annotations, "summary"),
		               kv_get(a->annotations, a->n_annotations, "description"),
		               kv_get(a->annotations, a->n_annotations, "reason"),
		               kv_get(a->annotations, a->n_annotations, "transactions"));
		if (a->resolved) {
			resolve(d, ep, kind, severity, a->ends_at);
			continue;
		}
		e = gen_endpoint_find(d->g, ep, kind);
		if (e == NULL) {
			/* its endpoint is no longer configured: nothing will ever resolve it */
			log_info("alert for %s %s resolved: no longer configured",
			         endpoint_kind_name(kind), ep);
			resolve(d, ep, kind, severity, (int64_t)time(NULL));
			continue;
		}
		notify_raise(d, en, true);
		e->alert = severity;
		e->alert_since = a->starts_at;
	}
	alerts_prune(d);
}

void alerts_persist(const struct daemon *d, struct bbuf *b)
{
	bool first = true;

	for (const struct alert_entry *en = d->alerts; en != NULL; en = en->next) {
		struct sf_kv labels[3] = {
		    {"endpoint", en->endpoint},
		    {"kind", endpoint_kind_name(en->kind)},
		    {"severity", alert_severity_name(en->severity)},
		};
		struct sf_kv ann[4] = {
		    {"summary", en->summary},
		    {"description", en->description},
		    {"reason", en->reason},
		    {"transactions", en->transactions},
		};
		struct sf_alert sa = {labels, 3, ann, 4, en->starts_at, en->resolved, en->ends_at};
		char *rec = statefile_alert_json(&sa);
		bbuf_appendf(b, "%s%s", first ? "" : ",", rec);
		first = false;
		free(rec);
	}
}
