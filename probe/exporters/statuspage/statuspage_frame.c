/*
 * statuspage_frame: the document around the page's content: the head (title with the
 * count of each state, so a browser tab shows it; viewport for a phone; the inline
 * style sheet with a dark variant), the header with the state filters, and the footer.
 */
#include "exporters/statuspage/statuspage_parts.h"

#include <string.h>

#include "core/bbuf.h"
#include "exporters/statuspage/html_escape.h"

/*
 * Colours are never the only signal: every state is also written as a word. The dark
 * theme follows the browser's prefers-color-scheme.
 */
static const char style[] =
    ":root{--bg:#f7f7f8;--fg:#1b1d21;--card:#fff;--line:#d6d8dd;--muted:#5d636e;"
    "--ok:#1a7f37;--warning:#9a6700;--critical:#cf222e;--unknown:#6e40c9;--pending:#6e7781}\n"
    "@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--card:#161b22;"
    "--line:#30363d;--muted:#8d96a0;--ok:#3fb950;--warning:#d29922;--critical:#f85149;"
    "--unknown:#a371f7;--pending:#8d96a0}}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;padding:0 1rem 2rem;background:var(--bg);color:var(--fg);"
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}\n"
    "header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:baseline;padding:.8rem 0}\n"
    "h1{font-size:1.25rem;margin:0}h2{font-size:1.05rem;margin:1.2rem 0 .5rem}\n"
    "h3{font-size:1rem;margin:0;overflow-wrap:anywhere}\n"
    "a{color:inherit}nav a{margin-right:.6rem}nav a.on{font-weight:700}\n"
    ".muted,.meta{color:var(--muted)}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:.8rem}\n"
    ".card,.txn{background:var(--card);border:1px solid var(--line);border-left:.4rem solid "
    "var(--st);border-radius:.4rem;padding:.7rem .9rem}\n"
    ".txn{margin:.6rem 0}\n"
    ".s-ok{--st:var(--ok)}.s-warning{--st:var(--warning)}.s-critical{--st:var(--critical)}"
    ".s-unknown{--st:var(--unknown)}.s-pending{--st:var(--pending)}\n"
    ".badge{display:inline-block;padding:0 .45rem;border-radius:.3rem;background:var(--st);"
    "color:#fff;font-weight:700;font-size:.8rem;letter-spacing:.03em;vertical-align:middle}\n"
    ".tag{display:inline-block;padding:0 .35rem;border:1px solid var(--line);"
    "border-radius:.3rem;font-size:.75rem;color:var(--muted)}\n"
    ".head{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}\n"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.5rem 0}\n"
    "dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}\n"
    ".charts{display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}\n"
    "svg.spark polyline{fill:none;stroke:var(--fg);stroke-width:1.5}\n"
    "svg.timeline .s-ok{fill:var(--ok)}svg.timeline .s-warning{fill:var(--warning)}"
    "svg.timeline .s-critical{fill:var(--critical)}svg.timeline .s-unknown{fill:var(--unknown)}\n"
    ".failure{border-top:1px solid var(--line);margin-top:.5rem;padding-top:.4rem}\n"
    ".exp-warn{color:var(--warning);font-weight:700}.exp-crit{color:var(--critical);"
    "font-weight:700}\n"
    "table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;"
    "padding:.2rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}\n"
    "pre{background:var(--card);border:1px solid var(--line);padding:.6rem;overflow-x:auto;"
    "font-size:.85rem}\n"
    "ol.steps{margin:.3rem 0;padding-left:1.4rem}ol.steps .bad{color:var(--critical);"
    "font-weight:700}\n"
    "footer{margin-top:1.5rem;color:var(--muted);font-size:.85rem}\n";

void statuspage_frame_open(struct bbuf *b, const struct statuspage_view *v, const char *heading)
{
	const struct snapshot *s = v->snap;
	size_t count[RESULT_UNKNOWN + 1] = {0}, pending = 0;

	for (size_t i = 0; i < s->n_txns; i++) {
		if (!s->txns[i].have_result)
			pending++;
		else if ((unsigned)s->txns[i].state <= RESULT_UNKNOWN)
			count[s->txns[i].state]++;
	}
	statuspage_fmt_put(
	    b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
	bbuf_appendf(b, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	                "<meta name=\"color-scheme\" content=\"light dark\">\n");
	if (v->refresh_s > 0)
		bbuf_appendf(b, "<meta http-equiv=\"refresh\" content=\"%u\">\n", v->refresh_s);
	/* problems first: a narrow tab shows them */
	bbuf_appendf(b, "<title>%zu CRITICAL, %zu WARNING, %zu UNKNOWN, %zu OK",
	             count[RESULT_CRITICAL], count[RESULT_WARNING], count[RESULT_UNKNOWN],
	             count[RESULT_OK]);
	if (pending > 0)
		bbuf_appendf(b, ", %zu PENDING", pending);
	statuspage_fmt_put(b, " - ");
	html_escape_append(b, heading);
	bbuf_appendf(b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>", style);
	html_escape_append(b, heading);
	bbuf_appendf(b, "</h1>\n<span class=\"muted\">certprobed %s, as of ",
	             s->self.version != NULL ? s->self.version : "");
	statuspage_fmt_time(b, v->now, v->now);
	statuspage_fmt_put(b, "</span>\n<nav>");
	for (unsigned f = 0; f < STATUSPAGE_FILTER_COUNT; f++) {
		static const unsigned order[] = {STATUSPAGE_ALL,      STATUSPAGE_PROBLEMS,
		                                 STATUSPAGE_CRITICAL, STATUSPAGE_WARNING,
		                                 STATUSPAGE_UNKNOWN,  STATUSPAGE_OK};
		unsigned o = order[f];
		const char *param = statuspage_filter_param((enum statuspage_filter)o);
		bbuf_appendf(b, "<a href=\"/%s%s\"%s>%s</a>", param[0] ? "?state=" : "", param,
		             o == (unsigned)v->filter ? " class=\"on\"" : "",
		             param[0] ? param : "all");
	}
	statuspage_fmt_put(b, "</nav>\n</header>\n");
}

void statuspage_frame_close(struct bbuf *b, const struct statuspage_view *v)
{
	(void)v;
	bbuf_appendf(b,
	             "<footer>Read-only: this page never runs a transaction (that is "
	             "<code>/probe?target=NAME</code>). <a href=\"/metrics\">Metrics</a></footer>\n"
	             "</body>\n</html>\n");
}
