/*
 * xalloc: allocation that never returns NULL. Running out of memory is fatal for a
 * probe (chrony Malloc, relayd fatal): every call site stays free of OOM handling.
 */
#ifndef CERTPROBE_XALLOC_H
#define CERTPROBE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* malloced, formatted string */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
