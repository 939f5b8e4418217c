/* ndes_admin: the mscep_admin page (see ndes_admin.h). */
#define _GNU_SOURCE
#include "transactions/scep/ndes_admin.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"

/* UTF-16LE is detected by a BOM, the charset, or NULs in odd positions. */
static bool ndes_is_utf16le(const unsigned char *b, size_t len, const char *charset)
{
	size_t zeros = 0, n = len < 64 ? len : 64;

	if (len >= 2 && b[0] == 0xff && b[1] == 0xfe)
		return true;
	if (charset != NULL &&
	    (strcasecmp(charset, "utf-16le") == 0 || strcasecmp(charset, "utf-16") == 0 ||
	     strcasecmp(charset, "unicode") == 0))
		return true;
	for (size_t i = 1; i < n; i += 2)
		if (b[i] == 0)
			zeros++;
	return n >= 8 && zeros * 4 >= n;
}

/* ASCII view of the page: UTF-16LE code units above 0x7f become '?'. malloced. */
static char *ndes_ascii(const unsigned char *b, size_t len, const char *charset)
{
	char *out = xmalloc(len + 1);
	size_t j = 0;

	if (ndes_is_utf16le(b, len, charset)) {
		size_t i = (len >= 2 && b[0] == 0xff && b[1] == 0xfe) ? 2 : 0;
		for (; i + 1 < len; i += 2) {
			unsigned u = b[i] | (unsigned)b[i + 1] << 8;
			out[j++] = u == 0 ? ' ' : (u < 0x80 ? (char)u : '?');
		}
	} else {
		for (size_t i = 0; i < len; i++)
			out[j++] = b[i] == 0 ? ' ' : (char)b[i];
	}
	out[j] = '\0';
	return out;
}

enum txn_status ndes_admin_parse(const unsigned char *body, size_t len, const char *charset,
                                 char *pw, size_t pwlen)
{
	static const char marker[] = "enrollment challenge password is";
	char *text = ndes_ascii(body, len, charset);
	enum txn_status st = TXN_NDES_PAGE_UNRECOGNISED;
	char *p;
	size_t n = 0;

	pw[0] = '\0';
	if (strcasestr(text, "password cache is full") != NULL) {
		st = TXN_NDES_PASSWORD_CACHE_FULL;
		goto out;
	}
	if (strcasestr(text, "do not have sufficient permission") != NULL) {
		st = TXN_NDES_NO_PERMISSION;
		goto out;
	}
	p = strcasestr(text, marker);
	if (p == NULL)
		goto out;
	p += sizeof marker - 1;
	/* skip ':' and markup (<B>, <b>, &nbsp;) up to the first password character */
	while (*p != '\0') {
		if (*p == '<') {
			while (*p != '\0' && *p != '>')
				p++;
			if (*p == '>')
				p++;
		} else if (*p == '&' && strchr(p, ';') != NULL && strchr(p, ';') - p <= 8) {
			p = strchr(p, ';') + 1;
		} else if (*p == ':' || isspace((unsigned char)*p)) {
			p++;
		} else {
			break;
		}
	}
	while (isalnum((unsigned char)p[n]) && n + 1 < pwlen)
		n++;
	/* a page cut inside the password must not yield a shorter password */
	if (n < 4 || p[n] == '\0' || isalnum((unsigned char)p[n]))
		goto out;
	memcpy(pw, p, n);
	pw[n] = '\0';
	st = TXN_OK;
out:
	explicit_bzero(text, strlen(text));
	free(text);
	return st;
}
