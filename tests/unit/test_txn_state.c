/*
 * test_txn_state: the layout of state_dir. Per-transaction directories sit under txn/,
 * an old STATE_DIR/NAME/ is moved there once, and the lock names its holder to a second
 * taker (flock conflicts between two open files of one process too, so one process
 * plays both).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "transactions/txn_state.h"

static char root[64];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof root, "/tmp/test_txn_state.XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		execlp("rm", "rm", "-rf", root, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	return 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_dir_under_txn(void **state)
{
	char dir[200], want[200];

	(void)state;
	txn_state_dir("/var/lib/certprobe", "certprobed.state.json", dir, sizeof dir);
	assert_string_equal(dir, "/var/lib/certprobe/txn/certprobed.state.json");
	txn_state_dir(root, "enroll", dir, sizeof dir);
	snprintf(want, sizeof want, "%s/txn/enroll", root);
	assert_string_equal(dir, want);
}

static void test_migrate(void **state)
{
	char old[200], moved[200], file[240];

	(void)state;
	snprintf(old, sizeof old, "%s/enroll", root);
	txn_state_dir(root, "enroll", moved, sizeof moved);
	assert_false(txn_state_migrate(root, "enroll")); /* nothing to move */
	assert_int_equal(mkdir(old, 0700), 0);
	snprintf(file, sizeof file, "%s/cert.pem", old);
	fclose(fopen(file, "w"));
	assert_true(txn_state_migrate(root, "enroll"));
	assert_false(is_dir(old));
	snprintf(file, sizeof file, "%s/cert.pem", moved);
	assert_int_equal(access(file, F_OK), 0);
	/* once moved, a new old-layout directory is left alone: the new one wins */
	assert_int_equal(mkdir(old, 0700), 0);
	assert_false(txn_state_migrate(root, "enroll"));
	assert_true(is_dir(old));
	/* a daemon file of the same name is no directory of the old layout */
	snprintf(file, sizeof file, "%s/certprobed.state.json", root);
	fclose(fopen(file, "w"));
	assert_false(txn_state_migrate(root, "certprobed.state.json"));
}

static void test_lock(void **state)
{
	char err[300], want[200];
	int fd, fd2;

	(void)state;
	assert_int_equal(txn_state_lock(root, "certprobed", &fd, err, sizeof err),
	                 TXN_STATE_LOCKED);
	assert_true(fd >= 0);
	assert_int_equal(txn_state_lock(root, "certprobe run", &fd2, err, sizeof err),
	                 TXN_STATE_LOCK_BUSY);
	assert_int_equal(fd2, -1);
	snprintf(want, sizeof want, "state directory %s is in use by certprobed (pid %ld)", root,
	         (long)getpid());
	assert_string_equal(err, want);
	close(fd);
	assert_int_equal(txn_state_lock(root, "certprobe run", &fd2, err, sizeof err),
	                 TXN_STATE_LOCKED);
	close(fd2);
	assert_int_equal(txn_state_lock("/nonexistent/dir", "certprobed", &fd, err, sizeof err),
	                 TXN_STATE_LOCK_UNAVAILABLE);
	assert_int_equal(fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dir_under_txn),
	    cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
