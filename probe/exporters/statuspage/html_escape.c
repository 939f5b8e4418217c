/*
 * html_escape: entity-escaping for the status page (see html_escape.h). Runs of plain
 * bytes are appended in one call, so escaping a long clean string costs one copy.
 */
#include "exporters/statuspage/html_escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/bbuf.h"

#define REPLACEMENT "&#xFFFD;"

/*
 * The length of the well-formed UTF-8 sequence at p (at most n bytes left), or 0 when
 * it is not one: overlong forms, surrogates and code points past U+10FFFF are refused
 * as RFC 3629 says.
 */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The entity for byte c, or NULL when c is shown as it is. */
static const char *entity(unsigned char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	case '\t':
	case '\n':
		return NULL;
	default:
		return c < 0x20 || c == 0x7f ? REPLACEMENT : NULL;
	}
}

int html_escape_appendn(struct bbuf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t plain = 0, i = 0;
	int rc = 0;

	while (i < n && rc == 0) {
		const char *ent = NULL;
		size_t len = utf8_len(p + i, n - i);

		if (len == 0)
			ent = REPLACEMENT;
		else if (len == 1)
			ent = entity(p[i]);
		if (ent == NULL) {
			i += len;
			plain += len;
			continue;
		}
		if (plain > 0)
			rc = bbuf_append(b, p + i - plain, plain);
		plain = 0;
		if (rc == 0)
			rc = bbuf_append(b, ent, strlen(ent));
		i += len == 0 ? 1 : len;
	}
	if (rc == 0 && plain > 0)
		rc = bbuf_append(b, p + i - plain, plain);
	return rc;
}

int html_escape_append(struct bbuf *b, const char *s)
{
	if (s == NULL)
		return 0;
	return html_escape_appendn(b, s, strlen(s));
}
