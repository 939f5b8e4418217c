/*
 * statuspage: the page's two entry points (see statuspage.h): "/" is the frame, the
 * endpoint cards and the transactions; /txn/NAME is the frame, that transaction's
 * entry, its last report and its history.
 */
#include "exporters/statuspage/statuspage.h"

#include <string.h>

#include "core/bbuf.h"
#include "exporters/statuspage/html_escape.h"
#include "exporters/statuspage/statuspage_parts.h"

int statuspage_render_index(struct bbuf *b, const struct statuspage_view *v)
{
	statuspage_frame_open(b, v, "certprobe status");
	statuspage_cards_render(b, v);
	statuspage_rows_render(b, v);
	statuspage_frame_close(b, v);
	return b->toobig ? -1 : 0;
}

int statuspage_render_txn(struct bbuf *b, const struct statuspage_view *v, size_t i,
                          const struct txn_result *last)
{
	const struct snapshot_txn *t = &v->snap->txns[i];
	const char *cls = statuspage_fmt_state_class(t);

	statuspage_frame_open(b, v, t->name);
	bbuf_appendf(b, "<article class=\"txn %s\" data-txn=\"", cls);
	html_escape_append(b, t->name);
	bbuf_appendf(b, "\" data-state=\"%s\">\n<div class=\"head\">",
	             statuspage_fmt_state_word(t));
	statuspage_fmt_badge(b, cls, statuspage_fmt_state_word(t));
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
	if (t->have_result && t->result != RESULT_OK)
		statuspage_rows_failure(b, t, last);
	statuspage_fmt_put(b, "</article>\n");
	statuspage_detail_report(b, last);
	statuspage_detail_history(b, t->history, v->now);
	statuspage_fmt_put(b, "<p><a href=\"/\">All transactions</a></p>\n");
	statuspage_frame_close(b, v);
	return b->toobig ? -1 : 0;
}

long statuspage_find_txn(const struct snapshot *snap, const char *name)
{
	for (size_t i = 0; i < snap->n_txns; i++)
		if (snap->txns[i].name != NULL && strcmp(snap->txns[i].name, name) == 0)
			return (long)i;
	return -1;
}
