/*
 * fuzz_html_escape: network-derived text (reason phrases, headers quoted in an Error,
 * certificate subjects) through the status page's escaping, then through a whole page
 * as a transaction's name, endpoint and detail. The escaped text never holds a raw
 * < > " ', a control character other than tab and newline, or a byte sequence that is
 * not UTF-8; every & starts an entity; and the page holds no tag the input brought.
 */
#define _GNU_SOURCE 1 /* memmem */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bbuf.h"
#include "exporters/statuspage/html_escape.h"
#include "exporters/statuspage/statuspage.h"

/* Length of the UTF-8 sequence at p, 0 when invalid (a lenient, independent check). */
static size_t seq_len(const unsigned char *p, size_t n)
{
	size_t len = p[0] < 0x80             ? 1
	             : (p[0] & 0xe0) == 0xc0 ? 2
	             : (p[0] & 0xf0) == 0xe0 ? 3
	             : (p[0] & 0xf8) == 0xf0 ? 4
	                                     : 0;

	if (len == 0 || len > n || (len > 1 && p[0] < 0xc2))
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static void check_escaped(const unsigned char *o, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = seq_len(o + i, n - i);
		if (len == 0)
			abort();
		if (len == 1) {
			unsigned char c = o[i];
			if (c == '<' || c == '>' || c == '"' || c == '\'' || c == 0x7f ||
			    (c < 0x20 && c != '\t' && c != '\n'))
				abort();
			if (c == '&' && memchr(o + i, ';', n - i < 10 ? n - i : 10) == NULL)
				abort();
		}
		i += len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bbuf b;
	char *s = malloc(size + 1);
	struct snapshot_txn row;
	struct snapshot_endpoint ep;
	struct snapshot snap;
	struct statuspage_view v;

	bbuf_init(&b, 16 * size + 64);
	if (html_escape_appendn(&b, (const char *)data, size) == -1)
		abort(); /* 8 bytes per input byte at most */
	check_escaped(b.data != NULL ? b.data : (const unsigned char *)"", b.len);
	bbuf_free(&b);

	/* the same text as what a page shows: the page adds no tag of the input's */
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&row, 0, sizeof row);
	memset(&ep, 0, sizeof ep);
	memset(&snap, 0, sizeof snap);
	memset(&v, 0, sizeof v);
	row.name = row.endpoint = row.detail = s;
	row.type = "client-auth";
	row.protocol = "sip-register";
	row.have_result = true;
	row.result = row.state = RESULT_CRITICAL;
	row.reason = TXN_REGISTRAR_AUTH_REJECTED;
	ep.name = s;
	ep.state = RESULT_CRITICAL;
	snap.txns = &row;
	snap.n_txns = 1;
	snap.endpoints = &ep;
	snap.n_endpoints = 1;
	v.snap = &snap;
	v.now = 1780000000;
	bbuf_init(&b, 1 << 24);
	if (statuspage_render_index(&b, &v) == -1 || statuspage_render_txn(&b, &v, 0, NULL) == -1)
		abort();
	if (memmem(b.data, b.len, "<script", 7) != NULL || memmem(b.data, b.len, "<img", 4) != NULL)
		abort();
	bbuf_free(&b);
	free(s);
	return 0;
}
