/*
 * statuspage_cards: one card per endpoint (registrar, web service), as SCOM's console
 * shows its watchers: the state in colour and word, since when, the transactions that
 * fail against it, and the open alert with the sinks it went to.
 */
#include "exporters/statuspage/statuspage_parts.h"

#include <stdlib.h>
#include <string.h>

#include "core/bbuf.h"
#include "core/xalloc.h"
#include "exporters/statuspage/html_escape.h"

#define CARD_MAX_NAMES 10 /* failing transactions named on a card; the rest are counted */

/* A failing transaction, sorted by the endpoint it hits (then configuration order). */
struct failing {
	const char *endpoint;
	size_t i;
};

static int by_endpoint(const void *a, const void *b)
{
	const struct failing *x = a, *y = b;
	int c = strcmp(x->endpoint, y->endpoint);

	if (c != 0)
		return c;
	return x->i < y->i ? -1 : 1;
}

/* The first entry of fail[0..n) whose endpoint is name (n when none). */
static size_t lower_bound(const struct failing *fail, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(fail[mid].endpoint, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool endpoint_passes(const struct statuspage_view *v, enum result_class st)
{
	struct snapshot_txn probe;

	memset(&probe, 0, sizeof probe);
	probe.have_result = true;
	probe.state = st;
	return statuspage_filter_passes(v->filter, &probe);
}

static void card(struct bbuf *b, const struct statuspage_view *v, size_t ei,
                 const struct failing *fail, size_t n_fail)
{
	const struct snapshot_endpoint *e = &v->snap->endpoints[ei];
	const struct snapshot_txn *rows = v->snap->txns;
	const char *name = e->name != NULL ? e->name : "";
	size_t first = lower_bound(fail, n_fail, name), shown = 0, k;

	bbuf_appendf(b, "<article class=\"card %s\" data-endpoint=\"",
	             statuspage_fmt_class(e->state));
	html_escape_append(b, name);
	bbuf_appendf(b, "\" data-state=\"%s\">\n<div class=\"head\"><h3>",
	             result_class_name(e->state));
	html_escape_append(b, name);
	statuspage_fmt_put(b, "</h3>");
	statuspage_fmt_badge(b, statuspage_fmt_class(e->state), result_class_name(e->state));
	bbuf_appendf(b, "<span class=\"tag\">%s</span></div>\n<dl>\n<dt>Since</dt><dd>",
	             e->kind == ENDPOINT_KIND_REGISTRAR ? "registrar" : "web service");
	statuspage_fmt_time(b, e->since, v->now);
	bbuf_appendf(b, "</dd>\n<dt>Transactions</dt><dd>%u, %u failing</dd>\n", e->members,
	             e->failing);
	statuspage_fmt_put(b, "<dt>Failing</dt><dd class=\"failing\">");
	for (k = first; k < n_fail; k++) {
		const struct snapshot_txn *t = &rows[fail[k].i];
		if (strcmp(fail[k].endpoint, name) != 0)
			break;
		if (shown == CARD_MAX_NAMES)
			continue;
		bbuf_appendf(b, "%s<a href=\"/txn/", shown > 0 ? ", " : "");
		statuspage_fmt_url_segment(b, t->name);
		statuspage_fmt_put(b, "\">");
		html_escape_append(b, t->name);
		bbuf_appendf(b, "</a> <span class=\"muted\">%s</span>",
		             result_class_name(t->state));
		shown++;
	}
	if (k - first > shown)
		bbuf_appendf(b, " and %zu more", k - first - shown);
	if (k == first)
		statuspage_fmt_put(b, "none");
	statuspage_fmt_put(b, "</dd>\n<dt>Alert</dt><dd class=\"alert\">");
	if (v->eps != NULL && v->eps[ei].alert != RESULT_OK) {
		bbuf_appendf(b, "%s open since ", result_class_name(v->eps[ei].alert));
		statuspage_fmt_time(b, v->eps[ei].alert_since, v->now);
		statuspage_fmt_put(b, ", sent to ");
		for (size_t s = 0; s < v->n_sinks; s++) {
			bbuf_append(b, s > 0 ? ", " : "", s > 0 ? 2 : 0);
			html_escape_append(b, v->sinks[s]);
		}
		if (v->n_sinks == 0)
			statuspage_fmt_put(b, "no sink");
	} else {
		statuspage_fmt_put(b, "none");
	}
	statuspage_fmt_put(b, "</dd>\n</dl>\n</article>\n");
}

void statuspage_cards_render(struct bbuf *b, const struct statuspage_view *v)
{
	const struct snapshot *s = v->snap;
	struct failing *fail = xcalloc(s->n_txns + 1, sizeof *fail);
	size_t n_fail = 0, shown = 0;

	for (size_t i = 0; i < s->n_txns; i++)
		if (s->txns[i].have_result && s->txns[i].state != RESULT_OK) {
			fail[n_fail].endpoint =
			    s->txns[i].endpoint != NULL ? s->txns[i].endpoint : "";
			fail[n_fail++].i = i;
		}
	if (n_fail > 1)
		qsort(fail, n_fail, sizeof *fail, by_endpoint);
	bbuf_appendf(b, "<h2>Endpoints</h2>\n<section class=\"cards\" id=\"endpoints\">\n");
	for (size_t i = 0; i < s->n_endpoints; i++) {
		if (!endpoint_passes(v, s->endpoints[i].state))
			continue;
		card(b, v, i, fail, n_fail);
		shown++;
	}
	if (shown == 0)
		bbuf_appendf(b, "<p class=\"muted\">No endpoint %s.</p>\n",
		             s->n_endpoints == 0 ? "configured" : "in this state");
	statuspage_fmt_put(b, "</section>\n");
	free(fail);
}
