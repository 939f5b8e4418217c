/*
 * statuspage_fmt: the status page's small pieces (state words and classes, badges,
 * times, durations, links, the Error line), so every part says a thing the same way.
 */
#include "exporters/statuspage/statuspage_parts.h"

#include <string.h>
#include <time.h>

#include "core/bbuf.h"
#include "exporters/statuspage/html_escape.h"

static const char *const state_class[] = {
    [RESULT_OK] = "s-ok",
    [RESULT_WARNING] = "s-warning",
    [RESULT_CRITICAL] = "s-critical",
    [RESULT_UNKNOWN] = "s-unknown",
};

const char *statuspage_fmt_class(enum result_class r)
{
	return (unsigned)r <= RESULT_UNKNOWN ? state_class[r] : "s-unknown";
}

const char *statuspage_fmt_state_word(const struct snapshot_txn *t)
{
	return t->have_result ? result_class_name(t->state) : "PENDING";
}

const char *statuspage_fmt_state_class(const struct snapshot_txn *t)
{
	return t->have_result ? statuspage_fmt_class(t->state) : "s-pending";
}

void statuspage_fmt_badge(struct bbuf *b, const char *cls, const char *word)
{
	bbuf_appendf(b, "<span class=\"badge %s\">%s</span>", cls, word);
}

/* "42 s", "3 min", "5 h", "12 d" */
static void fmt_age(struct bbuf *b, int64_t secs)
{
	if (secs < 120)
		bbuf_appendf(b, "%lld s", (long long)secs);
	else if (secs < 7200)
		bbuf_appendf(b, "%lld min", (long long)(secs / 60));
	else if (secs < 2 * 86400)
		bbuf_appendf(b, "%lld h", (long long)(secs / 3600));
	else
		bbuf_appendf(b, "%lld d", (long long)(secs / 86400));
}

void statuspage_fmt_time(struct bbuf *b, int64_t t, int64_t now)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char iso[32], text[32];

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		bbuf_append(b, "never", 5);
		return;
	}
	strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	strftime(text, sizeof text, "%Y-%m-%d %H:%M:%SZ", &tm);
	bbuf_appendf(b, "<time datetime=\"%s\">%s</time> (", iso, text);
	if (now >= t) {
		fmt_age(b, now - t);
		bbuf_append(b, " ago)", 5);
	} else {
		bbuf_append(b, "in ", 3);
		fmt_age(b, t - now);
		bbuf_append(b, ")", 1);
	}
}

void statuspage_fmt_put(struct bbuf *b, const char *s)
{
	bbuf_append(b, s, strlen(s));
}

void statuspage_fmt_ms(struct bbuf *b, uint64_t us)
{
	bbuf_appendf(b, "%.1f ms", (double)us / 1000.0);
}

void statuspage_fmt_url_segment(struct bbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
			bbuf_append(b, p, 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			bbuf_append(b, e, 3);
		}
	}
}

void statuspage_fmt_error(struct bbuf *b, enum txn_status st, const char *detail)
{
	const struct txn_status_info *si = txn_status_info(st);

	html_escape_append(b, si->code);
	bbuf_append(b, ": ", 2);
	html_escape_append(b, si->description);
	if (detail != NULL && detail[0] != '\0') {
		bbuf_append(b, " — ", strlen(" — "));
		html_escape_append(b, detail);
	}
}
