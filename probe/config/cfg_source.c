/*
 * cfg_source: the configuration text, its line table and its errors (contract in
 * cfg_source.h). Positions follow libyaml: lines break on LF, CR, CRLF, NEL, LS and PS,
 * columns count characters. Printing never lets a control character or a masked byte
 * through, and cuts long lines to a window around the caret.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include "config/cfg_source.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/xalloc.h"

#define MASK_TEXT "********"
#define ECHO_MAX 240 /* longest echoed source line, in bytes */

struct cfg_error {
	unsigned line; /* 1-based; 0: not tied to a position */
	unsigned col;
	size_t index; /* libyaml character index of the position, or SIZE_MAX */
	size_t seq;   /* discovery order, keeps the sort stable */
	bool warning; /* printed with "warning: "; does not fail the load */
	char *msg;
	char *hint;
};

struct bad_byte {
	size_t off;
	uint32_t cp; /* UINT32_MAX: invalid UTF-8 */
	unsigned char byte;
};

void *cfg_source_grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 8;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	*cap = n;
	return xrealloc(p, n * size);
}

/* Length of the line break at i, or 0. libyaml breaks on LF, CR, CRLF, NEL, LS, PS. */
static size_t break_len(const unsigned char *t, size_t len, size_t i)
{
	if (t[i] == '\r')
		return i + 1 < len && t[i + 1] == '\n' ? 2 : 1;
	if (t[i] == '\n')
		return 1;
	if (t[i] == 0xc2 && i + 1 < len && t[i + 1] == 0x85)
		return 2;
	if (t[i] == 0xe2 && i + 2 < len && t[i + 1] == 0x80 &&
	    (t[i + 2] == 0xa8 || t[i + 2] == 0xa9))
		return 3;
	return 0;
}

size_t cfg_source_offset(const struct cfg_source *src, size_t line, size_t col)
{
	size_t i, end;

	if (line >= src->nlines)
		return src->len;
	i = src->line_start[line];
	end = src->line_stop[line];
	while (col > 0 && i < end) {
		i += text_utf8_lead_len(src->text[i]);
		col--;
	}
	return i < end ? i : end;
}

size_t cfg_source_mark_offset(const struct cfg_source *src, size_t index, size_t line, size_t col)
{
	if (src->char_byte != NULL && index <= src->nchars)
		return src->char_byte[index];
	return cfg_source_offset(src, line, col);
}

void cfg_source_index_chars(struct cfg_source *src)
{
	size_t n = 0;

	if (src->text == NULL || src->char_byte != NULL)
		return;
	src->char_byte = xmalloc((src->len + 1) * sizeof *src->char_byte);
	for (size_t i = 0; i < src->len; i += text_utf8_lead_len(src->text[i]))
		src->char_byte[n++] = i;
	src->char_byte[n] = src->len;
	src->nchars = n;
}

void cfg_source_position(const struct cfg_source *src, size_t off, unsigned *line, unsigned *col)
{
	size_t lo = 0, hi = src->nlines, i;
	unsigned c = 1;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (src->line_start[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	for (i = src->line_start[lo]; i < off && i < src->len;
	     i += text_utf8_lead_len(src->text[i]))
		c++;
	*line = (unsigned)lo + 1;
	*col = c;
}

/* ---- errors ---- */

/* Append one message to errors or warnings; seq counts both, so the sort keeps their order. */
static void record(struct cfg_source *src, bool warning, unsigned line, unsigned col, size_t index,
                   const char *hint, const char *fmt, va_list ap)
{
	struct cfg_error **arr = warning ? &src->warnings : &src->errors;
	size_t *count = warning ? &src->nwarnings : &src->nerrors;
	size_t *cap = warning ? &src->warnings_cap : &src->errors_cap;
	struct cfg_error *e;
	char small[256];
	va_list aq;
	int n;

	if (*count >= CFG_SOURCE_MAX_ERRORS) {
		if (!warning)
			src->dropped++;
		return;
	}
	*arr = cfg_source_grow(*arr, cap, *count + 1, sizeof **arr);
	e = &(*arr)[*count];
	va_copy(aq, ap);
	n = vsnprintf(small, sizeof small, fmt, aq);
	va_end(aq);
	if (n < 0) {
		small[0] = '\0';
		n = 0;
	}
	if ((size_t)n < sizeof small) {
		e->msg = xstrdup(small);
	} else {
		e->msg = xmalloc((size_t)n + 1);
		vsnprintf(e->msg, (size_t)n + 1, fmt, ap);
	}
	e->hint = hint != NULL ? xstrdup(hint) : NULL;
	e->line = line;
	e->col = col;
	e->index = index;
	e->seq = src->nerrors + src->nwarnings;
	e->warning = warning;
	(*count)++;
}

void cfg_source_verror(struct cfg_source *src, unsigned line, unsigned col, size_t index,
                       const char *hint, const char *fmt, va_list ap)
{
	record(src, false, line, col, index, hint, fmt, ap);
}

void cfg_source_vwarning(struct cfg_source *src, unsigned line, unsigned col, size_t index,
                         const char *hint, const char *fmt, va_list ap)
{
	record(src, true, line, col, index, hint, fmt, ap);
}

void cfg_source_warnings_to_errors(struct cfg_source *src)
{
	for (size_t i = 0; i < src->nwarnings; i++) {
		if (src->nerrors >= CFG_SOURCE_MAX_ERRORS) {
			src->dropped++;
			free(src->warnings[i].msg);
			free(src->warnings[i].hint);
			continue;
		}
		src->errors = cfg_source_grow(src->errors, &src->errors_cap, src->nerrors + 1,
		                              sizeof *src->errors);
		src->errors[src->nerrors] = src->warnings[i];
		src->errors[src->nerrors].warning = false;
		src->nerrors++;
	}
	free(src->warnings);
	src->warnings = NULL;
	src->nwarnings = 0;
	src->warnings_cap = 0;
}

void cfg_source_error(struct cfg_source *src, unsigned line, unsigned col, const char *hint,
                      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_source_verror(src, line, col, SIZE_MAX, hint, fmt, ap);
	va_end(ap);
}

/* ---- input: encoding checks and the line table ---- */

/* The characters libyaml's reader accepts. */
static bool allowed_char(uint32_t cp)
{
	return cp == 0x09 || cp == 0x0a || cp == 0x0d || (cp >= 0x20 && cp <= 0x7e) || cp == 0x85 ||
	       (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
	       (cp >= 0x10000 && cp <= 0x10ffff);
}

int cfg_source_init(struct cfg_source *src, const char *name, const unsigned char *buf, size_t len)
{
	struct bad_byte *bad = NULL;
	size_t nbad = 0, bad_cap = 0, lines_cap = 1, i;
	unsigned last_line = 0;
	int rc = -1;

	memset(src, 0, sizeof *src);
	src->name = name;
	if (len >= 2 &&
	    ((buf[0] == 0xff && buf[1] == 0xfe) || (buf[0] == 0xfe && buf[1] == 0xff))) {
		cfg_source_error(src, 0, 0, "save the file as UTF-8", "UTF-16 is not supported");
		goto out;
	}
	if (len >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf) {
		buf += 3;
		len -= 3;
	}
	src->text = xmalloc(len + 1);
	memcpy(src->text, buf, len);
	src->text[len] = '\0';
	src->len = len;
	for (i = 0; i < len;) {
		uint32_t cp = 0;
		/* text[len] is NUL: the decoder never reads past the copy */
		size_t n = text_utf8_decode(src->text + i, &cp);
		if (n > 0 && allowed_char(cp)) {
			i += n;
			continue;
		}
		bad = cfg_source_grow(bad, &bad_cap, nbad + 1, sizeof *bad);
		bad[nbad].off = i;
		bad[nbad].cp = n > 0 ? cp : UINT32_MAX;
		bad[nbad].byte = src->text[i];
		nbad++;
		if (n == 0)
			n = 1;
		memset(src->text + i, '?', n);
		i += n;
	}
	src->line_start = xmalloc(sizeof *src->line_start);
	src->line_stop = xmalloc(sizeof *src->line_stop);
	src->line_start[0] = 0;
	src->nlines = 1;
	for (i = 0; i < len;) {
		size_t b = break_len(src->text, len, i);
		if (b == 0) {
			i += text_utf8_lead_len(src->text[i]);
			continue;
		}
		src->line_stop[src->nlines - 1] = i;
		i += b;
		if (src->nlines + 1 > lines_cap) {
			/* both tables grow together, by doubling: never a realloc per line */
			src->line_start = cfg_source_grow(src->line_start, &lines_cap,
			                                  src->nlines + 1, sizeof *src->line_start);
			src->line_stop =
			    xrealloc(src->line_stop, lines_cap * sizeof *src->line_stop);
		}
		src->line_start[src->nlines++] = i;
	}
	src->line_stop[src->nlines - 1] = len;
	for (i = 0; i < nbad; i++) {
		unsigned line, col;
		cfg_source_position(src, bad[i].off, &line, &col);
		if (line == last_line)
			continue;
		last_line = line;
		if (bad[i].cp == UINT32_MAX)
			cfg_source_error(src, line, col, "the file must be UTF-8",
			                 "invalid UTF-8 byte 0x%02X", bad[i].byte);
		else
			cfg_source_error(src, line, col, NULL,
			                 "control character U+%04X is not allowed",
			                 (unsigned)bad[i].cp);
	}
	rc = 0;
out:
	free(bad);
	return rc;
}

void cfg_source_free(struct cfg_source *src)
{
	if (src->text != NULL)
		explicit_bzero(src->text, src->len);
	free(src->text);
	free(src->line_start);
	free(src->line_stop);
	free(src->char_byte);
	for (size_t i = 0; i < src->nerrors; i++) {
		free(src->errors[i].msg);
		free(src->errors[i].hint);
	}
	free(src->errors);
	for (size_t i = 0; i < src->nwarnings; i++) {
		free(src->warnings[i].msg);
		free(src->warnings[i].hint);
	}
	free(src->warnings);
	memset(src, 0, sizeof *src);
}

/* ---- printing ---- */

static void put_sanitized(FILE *out, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

/* First mask that ends after offset i (masks are sorted and disjoint). */
static size_t mask_search(const struct cfg_span *masks, size_t nmasks, size_t i)
{
	size_t lo = 0, hi = nmasks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (masks[mid].end <= i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Echo the source line with two leading spaces and secrets masked, then the caret line.
 * Long lines are cut to a window around the caret.
 */
static void print_source_line(const struct cfg_source *src, FILE *out, const struct cfg_error *e,
                              const struct cfg_span *masks, size_t nmasks)
{
	size_t ls, le, target, i, m, plen = 0, caret = 0;
	unsigned line = e->line;
	bool placed = false;
	char *prefix;

	if (line == 0 || line > src->nlines || src->text == NULL)
		return;
	ls = src->line_start[line - 1];
	le = src->line_stop[line - 1];
	if (src->char_byte != NULL && e->index <= src->nchars)
		target = src->char_byte[e->index];
	else
		target = cfg_source_offset(src, line - 1, e->col > 0 ? e->col - 1 : 0);
	if (target < ls || target > le)
		target = le;
	if (le - ls > ECHO_MAX) {
		size_t ws = target > ls + ECHO_MAX / 2 ? target - ECHO_MAX / 2 : ls;
		while (ws > ls && (src->text[ws] & 0xc0) == 0x80)
			ws--;
		if (ws + ECHO_MAX < le) {
			le = ws + ECHO_MAX;
			while (le > ws && (src->text[le] & 0xc0) == 0x80)
				le--;
		}
		ls = ws;
	}
	prefix = xmalloc((le - ls) * sizeof MASK_TEXT + 8);
	fputs("  ", out);
	if (ls != src->line_start[line - 1]) {
		fputs("...", out);
		memcpy(prefix, "   ", 3);
		plen = 3;
	}
	i = ls;
	m = mask_search(masks, nmasks, i);
	while (i < le) {
		size_t next;

		if (m < nmasks && masks[m].start <= i) {
			next = masks[m].end < le ? masks[m].end : le;
			m++;
			if (!placed && target < next) {
				caret = plen;
				placed = true;
			}
			fputs(MASK_TEXT, out);
			memset(prefix + plen, ' ', sizeof MASK_TEXT - 1);
			plen += sizeof MASK_TEXT - 1;
			i = next;
			continue;
		}
		next = i + text_utf8_lead_len(src->text[i]);
		if (next > le)
			next = le;
		if (!placed && target < next) {
			caret = plen;
			placed = true;
		}
		fwrite(src->text + i, 1, next - i, out);
		prefix[plen++] = src->text[i] == '\t' ? '\t' : ' ';
		i = next;
	}
	if (le != src->line_stop[line - 1])
		fputs("...", out);
	if (!placed)
		caret = plen;
	fputs("\n  ", out);
	fwrite(prefix, 1, caret, out);
	fputs("^\n", out);
	free(prefix);
}

static int error_cmp(const void *a, const void *b)
{
	const struct cfg_error *x = *(const struct cfg_error *const *)a;
	const struct cfg_error *y = *(const struct cfg_error *const *)b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void cfg_source_report(struct cfg_source *src, FILE *out, const struct cfg_span *masks,
                       size_t nmasks)
{
	const struct cfg_error **all;
	size_t n = 0;

	if (out == NULL || src->nerrors + src->nwarnings == 0)
		return;
	all = xcalloc(src->nerrors + src->nwarnings, sizeof *all);
	for (size_t i = 0; i < src->nerrors; i++)
		all[n++] = &src->errors[i];
	for (size_t i = 0; i < src->nwarnings; i++)
		all[n++] = &src->warnings[i];
	qsort(all, n, sizeof *all, error_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct cfg_error *e = all[i];
		if (e->line == 0)
			fprintf(out, "%s: ", src->name);
		else
			fprintf(out, "%s:%u:%u: ", src->name, e->line, e->col);
		if (e->warning)
			fputs("warning: ", out);
		put_sanitized(out, e->msg);
		fputc('\n', out);
		print_source_line(src, out, e, masks, nmasks);
		if (e->hint != NULL) {
			fputs("  hint: ", out);
			put_sanitized(out, e->hint);
			fputc('\n', out);
		}
	}
	free(all);
	if (src->dropped > 0)
		fprintf(out, "%s: %zu more error%s not shown (the first %d are)\n", src->name,
		        src->dropped, src->dropped == 1 ? "" : "s", CFG_SOURCE_MAX_ERRORS);
	fflush(out);
}
