/*
 * statuspage_detail: the parts of /txn/NAME beyond the index's entry: the last report
 * exactly as `certprobe run` prints it (report_text, escaped into a <pre>) and the
 * whole history as a table, newest first.
 */
#include "exporters/statuspage/statuspage_parts.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/bbuf.h"
#include "exporters/statuspage/html_escape.h"
#include "health/history.h"
#include "transactions/report.h"

void statuspage_detail_report(struct bbuf *b, const struct txn_result *last)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	statuspage_fmt_put(b, "<h2>Last report</h2>\n");
	if (last == NULL) {
		statuspage_fmt_put(b, "<p class=\"muted\">No result yet.</p>\n");
		return;
	}
	f = open_memstream(&text, &len);
	if (f != NULL) {
		report_text(f, last);
		fclose(f);
	}
	statuspage_fmt_put(b, "<pre class=\"report\">");
	html_escape_appendn(b, text != NULL ? text : "", text != NULL ? len : 0);
	statuspage_fmt_put(b, "</pre>\n");
	free(text);
}

void statuspage_detail_history(struct bbuf *b, const struct history *h, int64_t now)
{
	size_t n = history_count(h);

	bbuf_appendf(b,
	             "<h2>History</h2>\n<p class=\"muted\">The last %zu of at most %zu runs.</p>\n",
	             n, history_capacity(h));
	if (n == 0)
		return;
	statuspage_fmt_put(b, "<div class=\"charts\">");
	statuspage_svg_sparkline(b, h, n);
	statuspage_svg_timeline(b, h, n);
	statuspage_fmt_put(b,
	                   "</div>\n<table class=\"history\">\n<thead><tr><th>#</th><th>Ended</th>"
	                   "<th>State</th><th>Status</th><th>Latency</th><th>Code</th>"
	                   "<th>Steps</th></tr></thead>\n<tbody>\n");
	for (size_t i = n; i-- > 0;) {
		const struct history_entry *e = history_get(h, i);
		enum result_class r = (enum result_class)e->result;
		bbuf_appendf(b, "<tr class=\"%s\"><td>%u</td><td>", statuspage_fmt_class(r),
		             e->index);
		statuspage_fmt_time(b, e->end, now);
		statuspage_fmt_put(b, "</td><td>");
		statuspage_fmt_badge(b, statuspage_fmt_class(r), result_class_name(r));
		statuspage_fmt_put(b, "</td><td>");
		html_escape_append(b, txn_status_code((enum txn_status)e->status));
		statuspage_fmt_put(b, "</td><td>");
		statuspage_fmt_ms(b, e->duration_us);
		if (e->protocol_code != 0)
			bbuf_appendf(b, "</td><td>%d</td><td>", (int)e->protocol_code);
		else
			statuspage_fmt_put(b, "</td><td></td><td>");
		for (size_t k = 0; k < e->n_steps && k < HISTORY_MAX_STEPS; k++) {
			statuspage_fmt_put(b, k > 0 ? ", " : "");
			html_escape_append(b, e->steps[k].name);
			bbuf_appendf(b, " %.1f", (double)e->steps[k].duration_us / 1000.0);
		}
		statuspage_fmt_put(b, "</td></tr>\n");
	}
	statuspage_fmt_put(b, "</tbody>\n</table>\n");
}
