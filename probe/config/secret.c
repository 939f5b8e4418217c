/*
 * secret: run-time resolution of configured secrets (contract in secret.h). A secret
 * file is read with a cap, only its first line is used, and every buffer that held the
 * secret is wiped before it is freed.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include "config/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/errbuf.h"
#include "core/fileload.h"
#include "core/xalloc.h"

#define SECRET_MAX_BYTES 4096
#define SECRET_FILE_MAX_BYTES (64 * 1024) /* the first line is used; the file is bounded */

static int secret_read_file(const char *path, char **out, char *err, size_t errlen)
{
	struct fileload_fail f;
	char *buf = NULL, why[160];
	size_t len = 0, line;
	const char *nl;
	int rc = -1;

	/* a regular file of bounded size, opened O_NONBLOCK: a FIFO here never waits */
	if (fileload_read(path, SECRET_FILE_MAX_BYTES, &buf, &len, &f) == -1) {
		errbuf_set(err, errlen, "cannot read secret file %s: %s", path,
		           f.why == FILELOAD_UNREADABLE
		               ? strerror(f.err)
		               : fileload_describe(&f, SECRET_FILE_MAX_BYTES, why, sizeof why));
		return -1;
	}
	nl = memchr(buf, '\n', len);
	line = nl != NULL ? (size_t)(nl - buf) : len;
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	if (line > SECRET_MAX_BYTES) {
		errbuf_set(err, errlen, "secret file %s: first line longer than %d bytes", path,
		           SECRET_MAX_BYTES);
		goto out;
	}
	if (line == 0) {
		errbuf_set(err, errlen, "secret file %s is empty", path);
		goto out;
	}
	if (memchr(buf, '\0', line) != NULL) {
		errbuf_set(err, errlen, "secret file %s contains a NUL byte", path);
		goto out;
	}
	*out = xstrndup(buf, line);
	rc = 0;
out:
	explicit_bzero(buf, len);
	free(buf);
	return rc;
}

int secret_resolve(const struct secret_ref *ref, char **out, char *err, size_t errlen)
{
	const char *v;
	int rc = -1;

	if (out == NULL)
		goto out;
	*out = NULL;
	if (ref == NULL) {
		errbuf_set(err, errlen, "no secret configured");
		goto out;
	}
	switch (ref->source) {
	case SECRET_VALUE:
		if (ref->value == NULL || ref->value[0] == '\0') {
			errbuf_set(err, errlen, "the inline secret is empty");
			goto out;
		}
		*out = xstrdup(ref->value);
		rc = 0;
		break;
	case SECRET_FILE:
		if (ref->path == NULL) {
			errbuf_set(err, errlen, "no secret file configured");
			goto out;
		}
		rc = secret_read_file(ref->path, out, err, errlen);
		break;
	case SECRET_ENV:
		if (ref->env == NULL) {
			errbuf_set(err, errlen, "no environment variable configured");
			goto out;
		}
		v = getenv(ref->env);
		if (v == NULL) {
			errbuf_set(err, errlen, "environment variable %s is not set", ref->env);
			goto out;
		}
		if (v[0] == '\0') {
			errbuf_set(err, errlen, "environment variable %s is empty", ref->env);
			goto out;
		}
		*out = xstrdup(v);
		rc = 0;
		break;
	default:
		errbuf_set(err, errlen, "no secret configured");
		break;
	}
out:
	return rc;
}

void secret_wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void secret_ref_clear(struct secret_ref *ref)
{
	if (ref == NULL)
		return;
	secret_wipe_free(ref->value);
	free(ref->path);
	free(ref->env);
	memset(ref, 0, sizeof *ref);
}
