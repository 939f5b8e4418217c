/*
 * fileload: bounded, non-blocking reads of configured files (contract in fileload.h).
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include "core/fileload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/xalloc.h"

static void fail(struct fileload_fail *f, enum fileload_error why, int err, unsigned kind,
                 unsigned long long size)
{
	f->why = why;
	f->err = err;
	f->kind = kind;
	f->size = size;
}

static int check_stat(const struct stat *st, size_t max, struct fileload_fail *f)
{
	if (!S_ISREG(st->st_mode)) {
		fail(f, FILELOAD_NOT_REGULAR, 0, (unsigned)(st->st_mode & S_IFMT), 0);
		return -1;
	}
	if ((unsigned long long)st->st_size > max) {
		fail(f, FILELOAD_TOO_LARGE, 0, 0, (unsigned long long)st->st_size);
		return -1;
	}
	return 0;
}

int fileload_check(const char *path, size_t max, struct stat *out, struct fileload_fail *f)
{
	struct stat st;

	fail(f, FILELOAD_OK, 0, 0, 0);
	if (path == NULL) {
		fail(f, FILELOAD_UNREADABLE, ENOENT, 0, 0);
		return -1;
	}
	if (stat(path, &st) == -1) {
		fail(f, FILELOAD_UNREADABLE, errno, 0, 0);
		return -1;
	}
	if (check_stat(&st, max, f) == -1)
		return -1;
	if (out != NULL)
		*out = st;
	return 0;
}

int fileload_read(const char *path, size_t max, char **out, size_t *len, struct fileload_fail *f)
{
	struct stat st;
	char *buf = NULL;
	size_t have = 0, cap;
	int fd;

	*out = NULL;
	*len = 0;
	fail(f, FILELOAD_OK, 0, 0, 0);
	if (path == NULL) {
		fail(f, FILELOAD_UNREADABLE, ENOENT, 0, 0);
		return -1;
	}
	/* O_NONBLOCK: a FIFO opens at once (and fails the regular-file check below) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		fail(f, FILELOAD_UNREADABLE, errno, 0, 0);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		fail(f, FILELOAD_UNREADABLE, errno, 0, 0);
		goto bad;
	}
	if (check_stat(&st, max, f) == -1)
		goto bad;
	/* the size may change while we read: read at most max + 1 bytes to notice */
	cap = (size_t)st.st_size + 1;
	if (cap > max + 1)
		cap = max + 1;
	buf = xmalloc(cap + 1);
	for (;;) {
		ssize_t n;
		if (have == cap) {
			if (have > max) {
				fail(f, FILELOAD_TOO_LARGE, 0, 0, (unsigned long long)have);
				goto bad;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		n = read(fd, buf + have, cap - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fail(f, FILELOAD_UNREADABLE, errno, 0, 0);
			goto bad;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	if (have > max) {
		fail(f, FILELOAD_TOO_LARGE, 0, 0, (unsigned long long)have);
		goto bad;
	}
	close(fd);
	buf[have] = '\0';
	*out = buf;
	*len = have;
	return 0;
bad:
	if (buf != NULL) {
		explicit_bzero(buf, have);
		free(buf);
	}
	close(fd);
	return -1;
}

static const char *kind_name(unsigned kind)
{
	switch (kind) {
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFDIR:
		return "a directory";
	default:
		return "not a plain file";
	}
}

const char *fileload_describe(const struct fileload_fail *f, size_t max, char *buf, size_t len)
{
	switch (f->why) {
	case FILELOAD_OK:
		snprintf(buf, len, "readable");
		break;
	case FILELOAD_NOT_REGULAR:
		snprintf(buf, len, "not a regular file (%s)", kind_name(f->kind));
		break;
	case FILELOAD_TOO_LARGE:
		snprintf(buf, len, "too large (%llu bytes; the limit is %zu)", f->size, max);
		break;
	case FILELOAD_UNREADABLE:
	default:
		snprintf(buf, len, "unreadable: %s", strerror(f->err));
		break;
	}
	return buf;
}
