/*
 * statuspage_svg: the history as inline SVG. The sparkline is one polyline of the
 * runs' durations scaled to the slowest; the timeline is one bar per run coloured by
 * its result class (the class names the colour; the bar's <title> says the state in
 * words, the status and the latency), oldest left, like an uptime bar.
 */
#include "exporters/statuspage/statuspage_parts.h"

#include "core/bbuf.h"
#include "exporters/statuspage/html_escape.h"
#include "health/history.h"

#define SPARK_W 120
#define SPARK_H 28
#define BAR_W 6 /* a bar and its gap, in viewBox units */
#define BAR_H 20

/* The first entry of the last max of h. */
static size_t first_shown(const struct history *h, size_t max)
{
	size_t n = history_count(h);

	return n > max ? n - max : 0;
}

void statuspage_svg_sparkline(struct bbuf *b, const struct history *h, size_t max)
{
	size_t n = history_count(h), from = first_shown(h, max), k = n - from;
	uint64_t top = 0, low = UINT64_MAX;

	if (n == 0)
		return;
	for (size_t i = from; i < n; i++) {
		uint64_t d = history_get(h, i)->duration_us;
		top = d > top ? d : top;
		low = d < low ? d : low;
	}
	bbuf_appendf(
	    b,
	    "<svg class=\"spark\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
	    "aria-label=\"latency of the last %zu runs\"><title>latency of the last %zu "
	    "runs: %.1f to %.1f ms</title><polyline points=\"",
	    SPARK_W, SPARK_H, SPARK_W, SPARK_H, k, k, (double)low / 1000.0, (double)top / 1000.0);
	for (size_t i = from; i < n; i++) {
		uint64_t d = history_get(h, i)->duration_us;
		/* one run: a flat dash across the box */
		double x = k > 1 ? (double)(i - from) * (SPARK_W - 2) / (double)(k - 1) + 1 : 1;
		double y = SPARK_H - 2 - (top > 0 ? (double)d * (SPARK_H - 4) / (double)top : 0);
		bbuf_appendf(b, "%s%.1f,%.1f", i > from ? " " : "", x, y);
		if (k == 1)
			bbuf_appendf(b, " %d,%.1f", SPARK_W - 1, y);
	}
	bbuf_append(b, "\"/></svg>", 9);
}

void statuspage_svg_timeline(struct bbuf *b, const struct history *h, size_t max)
{
	size_t n = history_count(h), from = first_shown(h, max), k = n - from;

	if (n == 0)
		return;
	bbuf_appendf(b,
	             "<svg class=\"timeline\" width=\"%zu\" height=\"%d\" viewBox=\"0 0 %zu %d\" "
	             "role=\"img\" aria-label=\"state of the last %zu runs\">",
	             k * BAR_W, BAR_H, k * BAR_W, BAR_H, k);
	for (size_t i = from; i < n; i++) {
		const struct history_entry *e = history_get(h, i);
		enum result_class r = (enum result_class)e->result;
		bbuf_appendf(
		    b, "<rect class=\"%s\" x=\"%zu\" y=\"0\" width=\"%d\" height=\"%d\"><title>",
		    statuspage_fmt_class(r), (i - from) * BAR_W, BAR_W - 2, BAR_H);
		bbuf_appendf(b, "#%u %s ", e->index, result_class_name(r));
		html_escape_append(b, txn_status_code((enum txn_status)e->status));
		bbuf_append(b, " ", 1);
		statuspage_fmt_ms(b, e->duration_us);
		bbuf_append(b, "</title></rect>", 15);
	}
	bbuf_append(b, "</svg>", 6);
}
