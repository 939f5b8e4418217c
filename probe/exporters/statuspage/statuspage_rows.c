/*
 * statuspage_rows: one entry per transaction: its state (hard or soft, flapping), last
 * run and last success, latency now, the sparkline and timeline of its history,
 * certificate expiry coloured within its warning window, and for a failure the Error,
 * the Diagnosis in the status table's words and the step trace of the last run.
 */
#include "exporters/statuspage/statuspage_parts.h"

#include <string.h>

#include "core/bbuf.h"
#include "exporters/statuspage/html_escape.h"

#define ROW_MAX_RUNS 50 /* runs the index's charts show; /txn/NAME shows them all */

static const char *const cert_role_name[CERT_ROLE_COUNT] = {
    [CERT_ROLE_ISSUED] = "issued",
    [CERT_ROLE_CLIENT] = "client",
    [CERT_ROLE_SERVER] = "server",
    [CERT_ROLE_CA] = "CA",
};

static void certs(struct bbuf *b, const struct statuspage_view *v, size_t i)
{
	const struct snapshot_txn *t = &v->snap->txns[i];
	unsigned warn_days = v->txns != NULL ? v->txns[i].expiry_warn_days : 0;
	bool any = false;

	for (size_t r = 0; r < CERT_ROLE_COUNT; r++) {
		const struct snapshot_cert *c = &t->certs[r];
		int64_t left;
		const char *cls = "";
		if (!c->present)
			continue;
		if (!any)
			statuspage_fmt_put(b, "<dt>Certificates</dt><dd class=\"certs\">");
		/* whole days left, rounded down; an expired one in whole days since, rounded up */
		left = (c->not_after - v->now) / 86400;
		if (c->not_after <= v->now)
			cls = " exp-crit";
		else if (warn_days > 0 && left < (int64_t)warn_days)
			cls = " exp-warn";
		bbuf_appendf(b, "%s<span class=\"cert%s\" data-role=\"%s\">%s: ", any ? "<br>" : "",
		             cls, cert_role_name[r], cert_role_name[r]);
		if (c->not_after <= v->now)
			bbuf_appendf(b, "expired %lld d ago",
			             (long long)((v->now - c->not_after + 86399) / 86400));
		else
			bbuf_appendf(b, "%lld d left%s", (long long)left,
			             cls[0] != '\0' ? " (within the warning window)" : "");
		statuspage_fmt_put(b, "</span>");
		if (c->subject != NULL) {
			statuspage_fmt_put(b, " <span class=\"muted\">");
			html_escape_append(b, c->subject);
			statuspage_fmt_put(b, "</span>");
		}
		any = true;
	}
	if (any)
		statuspage_fmt_put(b, "</dd>\n");
}

void statuspage_rows_facts(struct bbuf *b, const struct statuspage_view *v, size_t i)
{
	const struct snapshot_txn *t = &v->snap->txns[i];

	statuspage_fmt_put(b, "<dl>\n<dt>Last run</dt><dd>");
	statuspage_fmt_time(b, t->have_result ? t->last_run : 0, v->now);
	statuspage_fmt_put(b, "</dd>\n<dt>Last success</dt><dd>");
	statuspage_fmt_time(b, t->last_success, v->now);
	statuspage_fmt_put(b, "</dd>\n<dt>Latency</dt><dd>");
	if (t->have_result) {
		statuspage_fmt_ms(b, t->duration_us);
		bbuf_appendf(b, " <span class=\"muted\">(last run %s)</span>",
		             result_class_name(t->result));
	} else {
		statuspage_fmt_put(b, "no result yet");
	}
	bbuf_appendf(b,
	             "</dd>\n<dt>Runs</dt><dd>%llu ok, %llu warning, %llu critical, %llu unknown; "
	             "%u in a row not OK</dd>\n",
	             (unsigned long long)t->runs[RESULT_OK],
	             (unsigned long long)t->runs[RESULT_WARNING],
	             (unsigned long long)t->runs[RESULT_CRITICAL],
	             (unsigned long long)t->runs[RESULT_UNKNOWN], t->consecutive_failures);
	certs(b, v, i);
	statuspage_fmt_put(b, "</dl>\n");
}

void statuspage_rows_failure(struct bbuf *b, const struct snapshot_txn *t,
                             const struct txn_result *last)
{
	const struct txn_status_info *si = txn_status_info(t->reason);

	/* a run that worked with a finding (WARNING) has no Error: say what was found */
	bbuf_appendf(b, "<div class=\"failure\">\n<dl>\n<dt>%s</dt><dd class=\"error\">",
	             t->status == TXN_OK ? "Finding" : "Error");
	statuspage_fmt_error(b, t->reason, t->detail);
	statuspage_fmt_put(b, "</dd>\n<dt>Diagnosis</dt><dd class=\"diagnosis\">");
	html_escape_append(b, si->action);
	statuspage_fmt_put(b, "</dd>\n</dl>\n<ol class=\"steps\">\n");
	if (last != NULL) {
		for (size_t k = 0; k < last->n_steps; k++) {
			const struct txn_step_record *s = &last->steps[k];
			bool ok = s->status == TXN_OK;
			bbuf_appendf(b, "<li%s>", ok ? "" : " class=\"bad\"");
			html_escape_append(b, s->name);
			statuspage_fmt_put(b, " ");
			statuspage_fmt_ms(b, s->duration_us);
			if (ok) {
				statuspage_fmt_put(b, " ok");
			} else {
				statuspage_fmt_put(b, " FAILED ");
				html_escape_append(b, txn_status_code(s->status));
				if (s->detail[0] != '\0') {
					statuspage_fmt_put(b, ": ");
					html_escape_append(b, s->detail);
				}
			}
			statuspage_fmt_put(b, "</li>\n");
		}
	} else {
		for (size_t k = 0; k < t->n_steps; k++) {
			statuspage_fmt_put(b, "<li>");
			html_escape_append(b, t->steps[k].name);
			statuspage_fmt_put(b, " ");
			statuspage_fmt_ms(b, t->steps[k].duration_us);
			statuspage_fmt_put(b, "</li>\n");
		}
	}
	statuspage_fmt_put(b, "</ol>\n</div>\n");
}

static void row(struct bbuf *b, const struct statuspage_view *v, size_t i)
{
	const struct snapshot_txn *t = &v->snap->txns[i];
	const char *cls = statuspage_fmt_state_class(t), *word = statuspage_fmt_state_word(t);

	bbuf_appendf(b, "<article class=\"txn %s\" data-txn=\"", cls);
	html_escape_append(b, t->name);
	bbuf_appendf(b, "\" data-state=\"%s\">\n<div class=\"head\"><h3><a href=\"/txn/", word);
	statuspage_fmt_url_segment(b, t->name);
	statuspage_fmt_put(b, "\">");
	html_escape_append(b, t->name);
	statuspage_fmt_put(b, "</a></h3>");
	statuspage_fmt_badge(b, cls, word);
	if (t->have_result)
		bbuf_appendf(b, "<span class=\"tag\">%s</span>", t->hard ? "HARD" : "SOFT");
	if (t->flapping)
		statuspage_fmt_put(b, "<span class=\"tag flapping\">FLAPPING</span>");
	statuspage_fmt_put(b, "<span class=\"meta\">");
	html_escape_append(b, t->type);
	statuspage_fmt_put(b, "/");
	html_escape_append(b, t->protocol);
	statuspage_fmt_put(b, " → ");
	html_escape_append(b, t->endpoint);
	statuspage_fmt_put(b, "</span></div>\n");
	statuspage_rows_facts(b, v, i);
	if (history_count(t->history) > 0) {
		statuspage_fmt_put(b, "<div class=\"charts\">");
		statuspage_svg_sparkline(b, t->history, ROW_MAX_RUNS);
		statuspage_svg_timeline(b, t->history, ROW_MAX_RUNS);
		statuspage_fmt_put(b, "</div>\n");
	}
	if (t->have_result && t->result != RESULT_OK)
		statuspage_rows_failure(b, t, v->last != NULL ? v->last(v->last_arg, i) : NULL);
	statuspage_fmt_put(b, "</article>\n");
}

void statuspage_rows_render(struct bbuf *b, const struct statuspage_view *v)
{
	const struct snapshot *s = v->snap;
	size_t shown = 0;

	statuspage_fmt_put(b, "<h2>Transactions</h2>\n<section id=\"transactions\">\n");
	for (size_t i = 0; i < s->n_txns; i++) {
		if (!statuspage_filter_passes(v->filter, &s->txns[i]))
			continue;
		row(b, v, i);
		shown++;
	}
	if (shown == 0)
		bbuf_appendf(b, "<p class=\"muted\">No transaction %s.</p>\n",
		             s->n_txns == 0 ? "configured" : "in this state");
	statuspage_fmt_put(b, "</section>\n");
}
