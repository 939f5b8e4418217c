/*
 * errbuf: the caller-supplied error buffer of functions that return -1 "with a message
 * in err" (secret_resolve, the web listener). One formatter so every such function
 * treats a NULL or empty buffer the same way.
 */
#ifndef CERTPROBE_ERRBUF_H
#define CERTPROBE_ERRBUF_H

#include <stddef.h>

/*
 * Format a message into err (at most errlen bytes, NUL-terminated, cut when longer).
 * Does nothing when err is NULL or errlen is 0, so callers may pass either.
 */
void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
