/*
 * bbuf: a growable byte buffer with a hard cap, for anything filled from the network
 * (curl dynbuf). Appending past the cap fails and leaves the buffer marked too big.
 * The data is always NUL-terminated (not counted in len) for text parsers.
 */
#ifndef CERTPROBE_BBUF_H
#define CERTPROBE_BBUF_H

#include <stdbool.h>
#include <stddef.h>

struct bbuf {
	unsigned char *data; /* malloced, NULL until the first append */
	size_t len;
	size_t alloc;
	size_t max;  /* cap in bytes */
	bool toobig; /* an append was refused */
};

void bbuf_init(struct bbuf *b, size_t max);
/* 0, or -1 when len + n would pass the cap (nothing appended, toobig set) */
int bbuf_append(struct bbuf *b, const void *p, size_t n);
/* Make room for n more bytes now (one allocation instead of doublings); 0 or -1. */
int bbuf_reserve(struct bbuf *b, size_t n);
/* printf-style append; 0 or -1 as bbuf_append */
int bbuf_appendf(struct bbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bbuf_reset(struct bbuf *b); /* len = 0, keeps memory and cap */
void bbuf_free(struct bbuf *b);  /* frees data; the struct may be reused after bbuf_init */

#endif
