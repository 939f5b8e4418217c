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
#include "core/xalloc.h"

#define SECRET_MAX_BYTES 4096

static int secret_read_file(const char *path, char **out, char *err, size_t errlen)
{
	char buf[SECRET_MAX_BYTES + 2];
	size_t len = 0, line;
	const char *nl;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		errbuf_set(err, errlen, "cannot open secret file %s: %s", path, strerror(errno));
		goto out;
	}
	while (len < sizeof buf) {
		ssize_t n = read(fd, buf + len, sizeof buf - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			errbuf_set(err, errlen, "cannot read secret file %s: %s", path,
			           strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	nl = memchr(buf, '\n', len);
	if (nl == NULL && len == sizeof buf) {
		errbuf_set(err, errlen, "secret file %s: first line longer than %d bytes", path,
		           SECRET_MAX_BYTES);
		goto out;
	}
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
	explicit_bzero(buf, sizeof buf);
	if (fd != -1)
		close(fd);
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
