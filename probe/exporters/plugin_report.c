/* plugin_report: results and stored state as plugin output (see plugin_report.h). */
#define _XOPEN_SOURCE 700 /* strptime */
#define _DEFAULT_SOURCE 1 /* timegm */
#include "exporters/plugin_report.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exporters/statefile.h"
#include "health/health.h"

void plugin_report_prefix(char *buf, size_t len, const char *type)
{
	size_t n;

	n = (size_t)snprintf(buf, len, "CERTPROBE%s", type != NULL ? " " : "");
	for (const char *p = type; p != NULL && *p != '\0' && n + 1 < len; p++)
		if (isalnum((unsigned char)*p))
			buf[n++] = (char)toupper((unsigned char)*p);
	if (n < len)
		buf[n] = '\0';
}

static enum plugin_state state_of(enum result_class r)
{
	return r <= RESULT_UNKNOWN ? (enum plugin_state)r : PLUGIN_UNKNOWN;
}

static const struct plugin_thresholds *step_thresholds(const struct plugin_report_opts *opts,
                                                       const char *step)
{
	for (size_t i = 0; i < opts->n_steps; i++)
		if (strcmp(opts->steps[i].step, step) == 0)
			return &opts->steps[i].t;
	return NULL;
}

/* "2026-11-22T10:00:00Z" -> Unix seconds; 0 when absent or unreadable */
static int64_t fact_time(const struct txn_result *r, const char *key)
{
	const char *v = txn_result_get_fact(r, key);
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (v == NULL || strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		return 0;
	return (int64_t)timegm(&tm);
}

/* The status line's text: "NAME: what happened (detail)". */
static void summary_of(struct plugin_output *o, const struct txn_result *r)
{
	const char *detail = NULL;
	enum txn_status why = txn_result_reason(r, &detail);
	const struct txn_status_info *si = txn_status_info(why);

	if (why == TXN_OK)
		plugin_output_summary(o, "%s: %s in %.1f ms", r->name, si->description,
		                      (double)r->duration_us / 1000.0);
	else if (detail != NULL && detail[0] != '\0')
		plugin_output_summary(o, "%s: %s (%s)", r->name, si->description, detail);
	else
		plugin_output_summary(o, "%s: %s", r->name, si->description);
}

static void result_body(struct plugin_output *o, const struct txn_result *r,
                        const struct plugin_report_opts *opts)
{
	static const struct {
		const char *fact, *what, *perf;
	} certs[] = {
	    {"issued_not_after", "issued certificate", "issued_cert_days"},
	    {"client_not_after", "client certificate", "client_cert_days"},
	    {"server_not_after", "server certificate", "server_cert_days"},
	};
	const struct txn_status_info *si = txn_status_info(r->status);
	double total = (double)r->duration_us / 1e6;
	char max[32] = "";
	int st;

	for (size_t i = 0; i < r->n_steps; i++) {
		const struct txn_step_record *s = &r->steps[i];
		const struct plugin_thresholds *t = step_thresholds(opts, s->name);
		double secs = (double)s->duration_us / 1e6;
		enum plugin_state ss =
		    s->status == TXN_OK ? PLUGIN_OK : state_of(txn_status_result(s->status));
		if (t != NULL && s->finished)
			ss = plugin_state_worst(
			    ss, (enum plugin_state)plugin_thresholds_check(t, secs));
		if (s->status != TXN_OK)
			plugin_output_sub(o, ss, "%s %.1f ms: %s%s%s", s->name, secs * 1000.0,
			                  txn_status_code(s->status),
			                  opts->verbose >= 1 && s->detail[0] ? ": " : "",
			                  opts->verbose >= 1 ? s->detail : "");
		else if (opts->verbose >= 1 && s->detail[0] != '\0')
			plugin_output_sub(o, ss, "%s %.1f ms: %s", s->name, secs * 1000.0,
			                  s->detail);
		else
			plugin_output_sub(o, ss, "%s %.1f ms", s->name, secs * 1000.0);
		plugin_output_perf(o, s->name, s->finished, secs, "s", t, "0", NULL);
	}
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct txn_status_info *f = txn_status_info(r->findings[i].status);
		plugin_output_sub(o, state_of(f->result), "%s: %s%s%s", f->code, f->description,
		                  r->findings[i].detail[0] ? ": " : "", r->findings[i].detail);
	}
	st = plugin_thresholds_check(&opts->total, total);
	if (st != 0)
		plugin_output_sub(o, (enum plugin_state)st, "total %.1f ms outside %s",
		                  total * 1000.0,
		                  st == 2 ? opts->total.crit.text : opts->total.warn.text);
	if (opts->max_s > 0)
		plugin_format_number(max, sizeof max, opts->max_s);
	plugin_output_perf(o, "time", true, total, "s", &opts->total, "0", max);
	for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++) {
		int64_t na = fact_time(r, certs[i].fact);
		double days;
		if (na == 0)
			continue;
		/* a tenth of a day is what a threshold in days can tell apart */
		days = (double)((na - opts->now) / 8640) / 10.0;
		st = plugin_thresholds_check(&opts->days, days);
		plugin_output_sub(o, (enum plugin_state)st, "%s expires in %.1f days (%s)",
		                  certs[i].what, days, txn_result_get_fact(r, certs[i].fact));
		plugin_output_perf(o, certs[i].perf, true, days, "", &opts->days, NULL, NULL);
	}
	if (r->status != TXN_OK) {
		plugin_output_line(o, "Error: %s: %s%s%s", si->code, si->description,
		                   r->status_detail[0] ? ": " : "", r->status_detail);
		plugin_output_line(o, "Diagnosis: %s", si->action);
	} else if (r->n_findings > 0) {
		const struct txn_status_info *f = txn_status_info(r->findings[0].status);
		plugin_output_line(o, "Diagnosis: %s", f->action);
	}
	if (opts->verbose >= 2)
		for (size_t i = 0; i < r->n_facts; i++)
			plugin_output_line(o, "%s: %s", r->facts[i].key, r->facts[i].value);
}

void plugin_report_result(struct plugin_output *o, const struct txn_result *r,
                          const struct plugin_report_opts *opts)
{
	plugin_output_raise(o, state_of(r->result));
	summary_of(o, r);
	result_body(o, r, opts);
}

static void ago(char *buf, size_t len, int64_t secs)
{
	if (secs < 120)
		snprintf(buf, len, "%lld s", (long long)secs);
	else if (secs < 7200)
		snprintf(buf, len, "%lld min", (long long)(secs / 60));
	else
		snprintf(buf, len, "%lld h", (long long)(secs / 3600));
}

/* Stale: true with the summary set and the state forced. */
static bool stale(struct plugin_output *o, const char *what, int64_t last_run, int64_t now,
                  int64_t max_age_s, bool stale_critical)
{
	char a[32], m[32];

	if (last_run > 0 && now - last_run <= max_age_s)
		return false;
	o->state = stale_critical ? PLUGIN_CRITICAL : PLUGIN_UNKNOWN;
	ago(m, sizeof m, max_age_s);
	if (last_run <= 0) {
		plugin_output_summary(o, "%s: not run yet (is certprobed running?)", what);
	} else {
		ago(a, sizeof a, now - last_run);
		plugin_output_summary(o, "%s: last run %s ago, over %s: is certprobed running?",
		                      what, a, m);
	}
	return true;
}

static void health_sub(struct plugin_output *o, const struct health *h)
{
	if (h->state_type == HEALTH_SOFT && h->state != RESULT_OK)
		plugin_output_sub(o, PLUGIN_OK, "daemon: %s SOFT, attempt %u (hard state %s)%s",
		                  result_class_name(h->state), h->attempt,
		                  result_class_name(h->hard_state),
		                  h->flap.flapping ? ", flapping" : "");
	else
		plugin_output_sub(o, PLUGIN_OK, "daemon: %s HARD%s",
		                  result_class_name(h->hard_state),
		                  h->flap.flapping ? ", flapping" : "");
}

/*
 * The trend from the daemon's history ring: one subcheck line, and (history_perf) an
 * "ok_ratio" perfdata, the percent of the recent runs that were OK, so a plugin shows
 * whether a failure is new or has been coming and going.
 */
static void history_sub(struct plugin_output *o, const struct history *h, int64_t now)
{
	size_t n = history_count(h);
	unsigned counts[RESULT_UNKNOWN + 1] = {0};
	const struct history_entry *last_bad = NULL, *first;
	char span[32], when[32], parts[128];
	size_t off = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct history_entry *e = history_get(h, i);
		if (e->result <= RESULT_UNKNOWN)
			counts[e->result]++;
		if (e->result != RESULT_OK)
			last_bad = e;
	}
	first = history_get(h, 0);
	ago(span, sizeof span, now - first->end > 0 ? now - first->end : 0);
	parts[0] = '\0';
	for (int r = RESULT_OK; r <= RESULT_UNKNOWN; r++) {
		int w;
		if (counts[r] == 0)
			continue;
		w = snprintf(parts + off, sizeof parts - off, "%s%u %s", off ? ", " : "", counts[r],
		             result_class_name((enum result_class)r));
		if (w < 0 || (size_t)w >= sizeof parts - off)
			break;
		off += (size_t)w;
	}
	if (last_bad != NULL) {
		ago(when, sizeof when, now - last_bad->end > 0 ? now - last_bad->end : 0);
		plugin_output_sub(o, PLUGIN_OK,
		                  "recent: %zu runs in %s: %s; last failure %s ago (%s)", n, span,
		                  parts, when, txn_status_code((enum txn_status)last_bad->status));
	} else {
		plugin_output_sub(o, PLUGIN_OK, "recent: %zu runs in %s: %s", n, span, parts);
	}
}

static void history_perf(struct plugin_output *o, const struct history *h)
{
	size_t n = history_count(h), ok = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (history_get(h, i)->result == RESULT_OK)
			ok++;
	plugin_output_perf(o, "ok_ratio", true, 100.0 * (double)ok / (double)n, "%", NULL, "0",
	                   "100");
}

void plugin_report_stored_txn(struct plugin_output *o, const struct sf_txn *t,
                              const struct plugin_report_opts *opts, int64_t max_age_s,
                              bool stale_critical)
{
	struct plugin_output body;
	enum plugin_state hard = state_of(t->health.hard_state);

	if (stale(o, t->name, t->last_run, opts->now, max_age_s, stale_critical)) {
		health_sub(o, &t->health);
		o->state = stale_critical ? PLUGIN_CRITICAL : PLUGIN_UNKNOWN;
		return;
	}
	if (!t->have_last) {
		o->state = hard;
		plugin_output_summary(o, "%s: %s (%s)", t->name,
		                      result_class_name(t->health.hard_state),
		                      txn_status_code(t->health.hard_status));
		health_sub(o, &t->health);
		return;
	}
	/* the last result's text and perfdata; the state is the HARD state, thresholds on top */
	plugin_output_init(&body, "");
	result_body(&body, &t->last, opts);
	summary_of(o, &t->last);
	health_sub(o, &t->health);
	history_sub(o, t->history, opts->now);
	for (size_t i = 0; i < body.n_subs; i++)
		plugin_output_sub(
		    o, t->last.result == t->health.hard_state ? body.subs[i].state : PLUGIN_OK,
		    "%s", body.subs[i].text);
	for (size_t i = 0; i < body.n_lines; i++)
		plugin_output_line(o, "%s", body.lines[i]);
	memcpy(o->perf, body.perf, sizeof o->perf);
	o->perf_len = body.perf_len;
	history_perf(o, t->history);
	o->state = hard;
	/* a threshold of the plugin's own (-w, --days-crit) still counts against the last run */
	if (t->last.result == t->health.hard_state)
		o->state = plugin_state_worst(hard, body.state);
}

void plugin_report_stored_endpoint(struct plugin_output *o, const struct sf_endpoint *e,
                                   const struct sf_txn *const *members, size_t n,
                                   const struct plugin_report_opts *opts, int64_t max_age_s,
                                   bool stale_critical)
{
	const struct health_endpoint *h = &e->health;
	const struct txn_status_info *si = txn_status_info(h->status);
	int64_t newest = 0;

	for (size_t i = 0; i < n; i++)
		if (members[i]->last_run > newest)
			newest = members[i]->last_run;
	if (!stale(o, e->name, newest, opts->now, max_age_s, stale_critical)) {
		o->state = state_of(h->state);
		if (h->state == RESULT_OK)
			plugin_output_summary(o, "%s %s: %u of %u transactions OK", e->kind,
			                      e->name, h->members - h->members_failing, h->members);
		else
			plugin_output_summary(o, "%s %s: %s (%u of %u failing)", e->kind, e->name,
			                      si->description, h->members_failing, h->members);
	}
	for (size_t i = 0; i < n; i++) {
		const struct sf_txn *t = members[i];
		const char *detail = "";
		enum txn_status why =
		    t->have_last ? txn_result_reason(&t->last, &detail) : t->health.hard_status;
		plugin_output_sub(o, PLUGIN_OK, "%s: %s HARD (%s%s%s)", t->name,
		                  result_class_name(t->health.hard_state), txn_status_code(why),
		                  opts->verbose >= 1 && detail[0] ? ": " : "",
		                  opts->verbose >= 1 ? detail : "");
	}
	if (h->state != RESULT_OK)
		plugin_output_line(o, "Diagnosis: %s", si->action);
	plugin_output_perf(o, "members", true, (double)h->members, "", NULL, "0", NULL);
	plugin_output_perf(o, "members_failing", true, (double)h->members_failing, "", NULL, "0",
	                   NULL);
}

void plugin_report_health(struct plugin_output *o, const char *name, const struct health *h,
                          enum txn_status reason, const char *detail)
{
	const struct txn_status_info *si =
	    txn_status_info(h->hard_state == RESULT_OK ? TXN_OK : reason);

	o->state = state_of(h->hard_state);
	if (h->hard_state != RESULT_OK && detail != NULL && detail[0] != '\0')
		plugin_output_summary(o, "%s: %s (%s)", name, si->description, detail);
	else
		plugin_output_summary(o, "%s: %s", name, si->description);
	health_sub(o, h);
	if (h->hard_state != RESULT_OK)
		plugin_output_line(o, "Diagnosis: %s", si->action);
}
