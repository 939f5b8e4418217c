/* bbuf: capped byte buffer (see bbuf.h). */
#include "core/bbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

void bbuf_init(struct bbuf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

int bbuf_append(struct bbuf *b, const void *p, size_t n)
{
	size_t need;

	if (n > b->max || b->len > b->max - n) {
		b->toobig = true;
		return -1;
	}
	need = b->len + n + 1;
	if (need > b->alloc) {
		size_t a = b->alloc ? b->alloc : 256;
		while (a < need)
			a *= 2;
		b->data = xrealloc(b->data, a);
		b->alloc = a;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int bbuf_reserve(struct bbuf *b, size_t n)
{
	if (n > b->max || b->len > b->max - n) {
		b->toobig = true;
		return -1;
	}
	if (b->len + n + 1 > b->alloc) {
		b->data = xrealloc(b->data, b->len + n + 1);
		b->alloc = b->len + n + 1;
	}
	return 0;
}

void bbuf_reset(struct bbuf *b)
{
	b->len = 0;
	b->toobig = false;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void bbuf_free(struct bbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->toobig = false;
}

int bbuf_appendf(struct bbuf *b, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof small)
		return bbuf_append(b, small, (size_t)n);
	big = malloc((size_t)n + 1);
	if (big == NULL) {
		b->toobig = true;
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = bbuf_append(b, big, (size_t)n);
	free(big);
	return rc;
}
