/* scep_store: an enrollment's state files (see scep_store.h). */
#include "transactions/scep/scep_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileload.h"
#include "transactions/txn_state.h"

void scep_store_path(const char *dir, const char *file, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", dir, file);
}

int scep_store_read(const char *dir, const char *file, char *buf, size_t len)
{
	struct fileload_fail f;
	char path[600], *text;
	size_t n;

	scep_store_path(dir, file, path, sizeof path);
	if (fileload_read(path, len - 1, &text, &n, &f) == -1)
		return -1;
	memcpy(buf, text, n + 1);
	free(text);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

int scep_store_write(const char *dir, const char *file, const char *text)
{
	char path[600], tmp[640];
	FILE *f;

	scep_store_path(dir, file, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%s\n", text);
	if (fclose(f) != 0 || rename(tmp, path) == -1)
		return -1;
	return 0;
}

int scep_store_write_file(const char *dir, const char *file, const char *data, size_t len)
{
	char path[600], tmp[640];
	int fd, e;
	size_t off = 0;

	scep_store_path(dir, file, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

int scep_store_mkdir(const char *state_dir, const char *dir)
{
	char sub[600];

	snprintf(sub, sizeof sub, "%s/%s", state_dir, TXN_STATE_SUBDIR);
	if (mkdir(state_dir, 0700) == -1 && errno != EEXIST)
		return -1;
	if (mkdir(sub, 0700) == -1 && errno != EEXIST)
		return -1;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}
