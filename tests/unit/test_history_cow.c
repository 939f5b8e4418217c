/*
 * test_history_cow: history copies share their entries until either side adds one (the
 * status page and the SNMP subagent copy 10,000 rings a request). A copy keeps what it
 * saw while the original goes on, the original keeps its own while a copy is written,
 * and copies read and freed on another thread while the loop adds stay intact (run
 * under ASan in the test build).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "health/history.h"

static void add(struct history *h, int64_t end)
{
	struct history_entry e;

	memset(&e, 0, sizeof e);
	e.end = end;
	e.result = RESULT_OK;
	history_add(h, &e);
}

static void test_copy_then_write_both_ways(void **state)
{
	struct history *h = history_new(3), *c, *c2;

	(void)state;
	add(h, 1);
	add(h, 2);
	c = history_copy(h);
	c2 = history_copy(h);
	add(h, 3);
	add(h, 4); /* the original writes: its copies still see 1, 2 */
	assert_int_equal(history_count(c), 2);
	assert_int_equal(history_get(c, 1)->end, 2);
	assert_int_equal(history_get(h, 2)->end, 4);
	add(c, 9); /* a copy writes: the other copy and the original do not see it */
	assert_int_equal(history_get(c, 2)->end, 9);
	assert_int_equal(history_count(c2), 2);
	assert_int_equal(history_get(h, 0)->end, 2);
	history_free(h); /* the copies outlive the original */
	assert_int_equal(history_get(c2, 0)->end, 1);
	history_resize(c2, 1);
	assert_int_equal(history_get(c2, 0)->end, 2);
	history_free(c);
	history_free(c2);
}

struct reader {
	struct history *copy;
	int64_t first, n;
	atomic_bool ok;
};

static void *read_copy(void *arg)
{
	struct reader *r = arg;
	bool ok = true;

	for (int pass = 0; pass < 200; pass++)
		for (size_t i = 0; i < history_count(r->copy); i++)
			ok = ok && history_get(r->copy, i)->end == r->first + (int64_t)i;
	history_free(r->copy);
	atomic_store(&r->ok, ok);
	return NULL;
}

static void test_copies_on_another_thread(void **state)
{
	struct history *h = history_new(8);
	struct reader r[16];
	pthread_t th[16];
	int64_t end = 0;

	(void)state;
	for (int i = 0; i < 8; i++)
		add(h, end++);
	for (int k = 0; k < 16; k++) {
		r[k].copy = history_copy(h); /* on the "loop" thread, as routes_snapshot does */
		r[k].first = end - 8;
		atomic_init(&r[k].ok, false);
		assert_int_equal(pthread_create(&th[k], NULL, read_copy, &r[k]), 0);
		for (int i = 0; i < 5; i++)
			add(h, end++);
	}
	for (int k = 0; k < 16; k++) {
		pthread_join(th[k], NULL);
		assert_true(atomic_load(&r[k].ok));
	}
	assert_int_equal(history_get(h, 7)->end, end - 1);
	history_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_copy_then_write_both_ways),
	    cmocka_unit_test(test_copies_on_another_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
