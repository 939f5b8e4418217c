/*
 * test_fileload: configured files are read bounded and never waited for (core/fileload):
 * a regular file is read whole; a FIFO (with or without a writer), a directory and
 * /dev/zero are "not a regular file"; a file over the cap is "too large" before any
 * read; a missing one is "unreadable" with its errno. And the worker (core/offload):
 * jobs run off the loop thread, done() comes back on it in order, and offload_free()
 * discards what was not done.
 */
#define _DEFAULT_SOURCE 1
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/fileload.h"
#include "core/offload.h"

static char dir[] = "/tmp/test_fileload.XXXXXX";

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	const char *const names[] = {"a.pem", "fifo", "fifo-with-writer", "huge"};
	char path[128];

	(void)state;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		path_of(path, sizeof path, names[i]);
		unlink(path);
	}
	path_of(path, sizeof path, "dir");
	rmdir(path);
	return rmdir(dir);
}

static void test_regular(void **state)
{
	struct fileload_fail f;
	char path[128], *out;
	size_t len;
	FILE *fp;

	(void)state;
	path_of(path, sizeof path, "a.pem");
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("hello\n", fp);
	fclose(fp);
	assert_int_equal(fileload_read(path, 64, &out, &len, &f), 0);
	assert_int_equal(len, 6);
	assert_string_equal(out, "hello\n");
	free(out);
	assert_int_equal(fileload_check(path, 64, NULL, &f), 0);
	/* exactly at the cap is fine, one byte over is not */
	assert_int_equal(fileload_read(path, 6, &out, &len, &f), 0);
	free(out);
	assert_int_equal(fileload_read(path, 5, &out, &len, &f), -1);
	assert_int_equal(f.why, FILELOAD_TOO_LARGE);
	assert_null(out);
	assert_int_equal(fileload_check(path, 5, NULL, &f), -1);
	assert_int_equal(f.why, FILELOAD_TOO_LARGE);
}

static void test_not_regular(void **state)
{
	const char *const kinds[] = {"fifo", "fifo-with-writer", "dir", "/dev/zero"};
	struct fileload_fail f;
	char path[128], why[160], *out;
	size_t len;
	int wfd = -1;

	(void)state;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (kinds[i][0] == '/') {
			snprintf(path, sizeof path, "%s", kinds[i]);
		} else {
			path_of(path, sizeof path, kinds[i]);
			if (strcmp(kinds[i], "dir") == 0) {
				assert_int_equal(mkdir(path, 0700), 0);
			} else {
				assert_int_equal(mkfifo(path, 0600), 0);
				if (strcmp(kinds[i], "fifo-with-writer") == 0) {
					int rfd = open(path, O_RDONLY | O_NONBLOCK);
					wfd = open(path, O_WRONLY | O_NONBLOCK);
					assert_true(wfd >= 0);
					close(rfd);
				}
			}
		}
		assert_int_equal(fileload_read(path, 1 << 20, &out, &len, &f), -1);
		assert_int_equal(f.why, FILELOAD_NOT_REGULAR);
		assert_int_equal(fileload_check(path, 1 << 20, NULL, &f), -1);
		assert_int_equal(f.why, FILELOAD_NOT_REGULAR);
		fileload_describe(&f, 1 << 20, why, sizeof why);
		assert_non_null(strstr(why, "not a regular file ("));
	}
	if (wfd != -1)
		close(wfd);
}

static void test_missing_and_huge(void **state)
{
	struct fileload_fail f;
	char path[128], why[160], *out;
	size_t len;
	int fd;

	(void)state;
	path_of(path, sizeof path, "none");
	assert_int_equal(fileload_read(path, 64, &out, &len, &f), -1);
	assert_int_equal(f.why, FILELOAD_UNREADABLE);
	assert_int_equal(f.err, ENOENT);
	fileload_describe(&f, 64, why, sizeof why);
	assert_string_equal(why, "unreadable: No such file or directory");
	assert_int_equal(fileload_read(NULL, 64, &out, &len, &f), -1);

	path_of(path, sizeof path, "huge");
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)1 << 30), 0); /* sparse */
	close(fd);
	assert_int_equal(fileload_read(path, FILELOAD_MAX_PEM, &out, &len, &f), -1);
	assert_int_equal(f.why, FILELOAD_TOO_LARGE);
	fileload_describe(&f, FILELOAD_MAX_PEM, why, sizeof why);
	assert_string_equal(why, "too large (1073741824 bytes; the limit is 1048576)");
}

/* ---- offload ---- */

struct job {
	int n;
	pthread_t worked_on;
	int *order;
	size_t *next;
	struct event_base *base;
	int total;
};

static void work(void *arg)
{
	struct job *j = arg;
	j->worked_on = pthread_self();
}

static void done(void *arg)
{
	struct job *j = arg;
	assert_false(pthread_equal(j->worked_on, pthread_self()));
	j->order[(*j->next)++] = j->n;
	if ((int)*j->next == j->total)
		event_base_loopbreak(j->base);
	free(j);
}

static int discarded;
static void discard(void *arg)
{
	discarded++;
	free(arg);
}

static void test_offload(void **state)
{
	struct event_base *base = event_base_new();
	struct offload *o = offload_new(base, "test");
	int order[16];
	size_t next = 0;

	(void)state;
	assert_non_null(o);
	for (int i = 0; i < 16; i++) {
		struct job *j = calloc(1, sizeof *j);
		*j = (struct job){.n = i, .order = order, .next = &next, .base = base, .total = 16};
		offload_submit(o, j, work, done, discard);
	}
	event_base_dispatch(base);
	assert_int_equal(next, 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(order[i], i);
	assert_int_equal(offload_pending(o), 0);
	/* jobs never brought back to the loop are discarded, not done */
	for (int i = 0; i < 4; i++) {
		struct job *j = calloc(1, sizeof *j);
		*j = (struct job){.n = i, .order = order, .next = &next, .base = base, .total = 99};
		offload_submit(o, j, work, done, discard);
	}
	offload_free(o);
	assert_int_equal(discarded, 4);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_regular),
	    cmocka_unit_test(test_not_regular),
	    cmocka_unit_test(test_missing_and_huge),
	    cmocka_unit_test(test_offload),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
