/*
 * html_escape: text for an HTML page. Every configured or network-derived string the
 * status page shows goes through here, in element content and in quoted attribute
 * values alike: & < > " ' become entities, control characters (a reason phrase with a
 * NUL or an escape sequence) and bytes that are not UTF-8 become U+FFFD, so a name or
 * a server's reason with "<script>" is shown as text and never runs.
 */
#ifndef CERTPROBE_HTML_ESCAPE_H
#define CERTPROBE_HTML_ESCAPE_H

#include <stddef.h>

struct bbuf;

/* Append the n bytes at s, escaped, to b. 0, or -1 when b's cap refused it (b->toobig). */
int html_escape_appendn(struct bbuf *b, const char *s, size_t n);
/* The same for a C string; NULL appends nothing. */
int html_escape_append(struct bbuf *b, const char *s);

#endif
