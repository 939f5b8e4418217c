/*
 * statuspage_parts: what the status page's files share (not for other modules). Every
 * function appends to b; past b's cap bbuf refuses quietly, so the page's entry points
 * test b->toobig once at the end.
 */
#ifndef CERTPROBE_STATUSPAGE_PARTS_H
#define CERTPROBE_STATUSPAGE_PARTS_H

#include "exporters/statuspage/statuspage.h"

struct bbuf;
struct history;

/* ---- statuspage_fmt.c: small pieces ---- */

/* The state word a transaction row shows: "OK" ..., or "PENDING" before its first result. */
const char *statuspage_fmt_state_word(const struct snapshot_txn *t);
/* The CSS class for that word: "s-ok", "s-warning", "s-critical", "s-unknown", "s-pending". */
const char *statuspage_fmt_state_class(const struct snapshot_txn *t);
const char *statuspage_fmt_class(enum result_class r);
/* <span class="badge s-x">WORD</span> */
void statuspage_fmt_badge(struct bbuf *b, const char *cls, const char *word);
/* "2026-12-04 20:58:01Z (42 s ago)" in a <time>; "never" for 0. */
void statuspage_fmt_time(struct bbuf *b, int64_t t, int64_t now);
/* Append the C string s as it is (literal markup, never data). */
void statuspage_fmt_put(struct bbuf *b, const char *s);
/* "12.3 ms" */
void statuspage_fmt_ms(struct bbuf *b, uint64_t us);
/* s percent-encoded for a URL path segment, then HTML-escaped (an href value). */
void statuspage_fmt_url_segment(struct bbuf *b, const char *s);
/* The Error line of status st with its detail: "code: description — detail". */
void statuspage_fmt_error(struct bbuf *b, enum txn_status st, const char *detail);

/* ---- statuspage_frame.c: the document around the content ---- */

/* <!doctype html> ... <body><header>: the title carries the count of each state. */
void statuspage_frame_open(struct bbuf *b, const struct statuspage_view *v, const char *heading);
void statuspage_frame_close(struct bbuf *b, const struct statuspage_view *v);

/* ---- statuspage_cards.c: one card per endpoint ---- */
void statuspage_cards_render(struct bbuf *b, const struct statuspage_view *v);

/* ---- statuspage_rows.c: one entry per transaction ---- */
void statuspage_rows_render(struct bbuf *b, const struct statuspage_view *v);
/* The facts of one transaction (state, runs, latency, certificates), shared with /txn. */
void statuspage_rows_facts(struct bbuf *b, const struct statuspage_view *v, size_t i);
/* Error, Diagnosis and the step trace of a failed last run. */
void statuspage_rows_failure(struct bbuf *b, const struct snapshot_txn *t,
                             const struct txn_result *last);

/* ---- statuspage_svg.c: inline SVG from the history ---- */
/* A polyline of the last max runs' durations, oldest left; nothing for an empty history. */
void statuspage_svg_sparkline(struct bbuf *b, const struct history *h, size_t max);
/* One bar per run (the last max) coloured by result class, each with a <title>. */
void statuspage_svg_timeline(struct bbuf *b, const struct history *h, size_t max);

/* ---- statuspage_detail.c: /txn/NAME ---- */
/* The last report as `certprobe run` prints it, in a <pre>. */
void statuspage_detail_report(struct bbuf *b, const struct txn_result *last);
/* The history, newest first, as a table. */
void statuspage_detail_history(struct bbuf *b, const struct history *h, int64_t now);

#endif
