/*
 * test_runner: runner_run() ends whatever the dependencies of the transactions it is
 * given: a transaction waiting in a dependency cycle cannot start, and fails with
 * probe_internal instead of keeping the loop running for ever.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "transactions/runner.h"

static struct txn_env env;

static int setup(void **state)
{
	struct runner_opts ro = {.state_dir = "/nonexistent", .key_workers = 1};
	char err[256];

	(void)state;
	alarm(20); /* a runner that never returns fails the test instead of hanging it */
	assert_int_equal(runner_env_open(&env, &ro, err, sizeof err), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	runner_env_close(&env);
	alarm(0);
	return 0;
}

/* A test-only type whose transactions depend on the one named by their spec. */
static const char *cyc_protocol(const struct txn_conf *conf)
{
	(void)conf;
	return "test";
}

static const char *cyc_depends_on(const struct txn_conf *conf)
{
	return conf->spec;
}

static void cyc_describe(const struct txn_conf *conf, char *buf, size_t len)
{
	snprintf(buf, len, "%s", conf->name);
}

static void *cyc_start(const struct txn_env *e, const struct txn_conf *conf, txn_done_cb *cb,
                       void *arg)
{
	(void)e;
	(void)conf;
	(void)cb;
	(void)arg;
	fail_msg("a transaction in a cycle was started");
	return NULL;
}

static void cyc_free(void *run)
{
	(void)run;
}

static const char *const cyc_steps[] = {NULL};

static const struct txn_type cyc_type = {
    .name = "cycle",
    .protocol = cyc_protocol,
    .depends_on = cyc_depends_on,
    .describe = cyc_describe,
    .start = cyc_start,
    .free = cyc_free,
    .steps = cyc_steps,
};

/* Two transactions, each waiting for the other's first run. */
static void test_cycle(void **state)
{
	struct txn_conf a, b;
	const struct txn_conf *confs[2] = {&a, &b};
	struct txn_result results[2];

	(void)state;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	a.name = "a";
	a.type = &cyc_type;
	a.spec = "b";
	b = a;
	b.name = "b";
	b.spec = "a";
	memset(results, 0, sizeof results);
	assert_int_equal(runner_run(&env, confs, 2, results), RESULT_UNKNOWN);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(results[i].name, confs[i]->name);
		assert_int_equal(results[i].status, TXN_PROBE_INTERNAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_cycle, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
