/*
 * fileload: the one way the daemon reads a file it is configured with (a trust store, a
 * client certificate or key, a secret, the state file, its own configuration). A path
 * an operator or an attacker controls can name a FIFO, a device or a 1 GiB file: each
 * is opened O_NONBLOCK (open() of a FIFO never waits for a writer), must be a regular
 * file of at most `max` bytes, and is read with that cap even if it grows meanwhile.
 * Each failure is one of three classes that the transactions turn into statuses.
 *
 * These calls block only as long as reading a bounded regular file takes; the daemon
 * makes them on a worker thread (core/offload.h) wherever the loop would wait.
 */
#ifndef CERTPROBE_FILELOAD_H
#define CERTPROBE_FILELOAD_H

#include <stddef.h>

/* Caps by role: PEM trust stores and chains, one key or certificate, state files. */
#define FILELOAD_MAX_PEM_BUNDLE (8u * 1024 * 1024)
#define FILELOAD_MAX_PEM (1024u * 1024)
#define FILELOAD_MAX_STATE (64u * 1024 * 1024)

enum fileload_error {
	FILELOAD_OK,
	FILELOAD_NOT_REGULAR, /* a FIFO, socket, device or directory */
	FILELOAD_TOO_LARGE,   /* over the cap */
	FILELOAD_UNREADABLE,  /* missing, permission denied, EIO, ... (errno kept) */
};

struct fileload_fail {
	enum fileload_error why;
	int err;                 /* errno for FILELOAD_UNREADABLE */
	unsigned kind;           /* st_mode & S_IFMT for FILELOAD_NOT_REGULAR */
	unsigned long long size; /* the size seen, for FILELOAD_TOO_LARGE */
};

struct stat;

/*
 * Check path without reading it (stat: no open, never waits for a FIFO's writer):
 * regular and at most max bytes. 0, or -1 with *f filled. st (may be NULL) receives what
 * stat() said, on success.
 */
int fileload_check(const char *path, size_t max, struct stat *st, struct fileload_fail *f);

/*
 * Read the whole of path into a malloced, NUL-terminated buffer (*out, its length in
 * *len, the NUL not counted). 0, or -1 with *f filled and *out NULL. The caller frees
 * *out (explicit_bzero it first when it may hold a secret).
 */
int fileload_read(const char *path, size_t max, char **out, size_t *len, struct fileload_fail *f);

/*
 * "not a regular file (a FIFO)", "too large (1073741824 bytes; the limit is 1048576)",
 * "unreadable: Permission denied": what went wrong, for a detail line. Returns buf.
 */
const char *fileload_describe(const struct fileload_fail *f, size_t max, char *buf, size_t len);

#endif
