/* scep_store: an enrollment's state files (see scep_store.h). */
#include "transactions/scep/scep_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
