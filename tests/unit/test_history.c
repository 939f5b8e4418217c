/*
 * test_history: the per-transaction result ring (health/history). Oldest first, capped,
 * numbered from 1 and wrapping to 1 after 0xffffffff, same-named steps summed, copies
 * independent, resize keeps the newest entries and the numbering.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

static void test_ring_order_and_cap(void **state)
{
	struct history *h = history_new(3);

	(void)state;
	assert_int_equal(history_count(h), 0);
	assert_null(history_get(h, 0));
	add(h, 10);
	add(h, 20);
	assert_int_equal(history_count(h), 2);
	assert_int_equal(history_get(h, 0)->end, 10);
	assert_int_equal(history_get(h, 0)->index, 1);
	assert_int_equal(history_get(h, 1)->index, 2);
	add(h, 30);
	add(h, 40); /* 10 goes */
	add(h, 50); /* 20 goes */
	assert_int_equal(history_count(h), 3);
	assert_int_equal(history_capacity(h), 3);
	assert_int_equal(history_get(h, 0)->end, 30);
	assert_int_equal(history_get(h, 2)->end, 50);
	assert_int_equal(history_get(h, 2)->index, 5);
	assert_null(history_get(h, 3));
	history_free(h);
	history_free(NULL);
}

static void test_zero_capacity_and_clamp(void **state)
{
	struct history *h = history_new(0), *big = history_new(HISTORY_MAX_CAPACITY + 5);

	(void)state;
	add(h, 1);
	assert_int_equal(history_count(h), 0);
	assert_int_equal(history_capacity(big), HISTORY_MAX_CAPACITY);
	assert_int_equal(history_count(NULL), 0);
	history_free(h);
	history_free(big);
}

static void test_numbering_survives_copy(void **state)
{
	struct history *h = history_new(2);
	struct history *c;

	(void)state;
	add(h, 1);
	/* a copy goes on numbering where the original was */
	c = history_copy(h);
	history_free(h);
	h = c;
	for (int i = 0; i < 3; i++)
		add(h, 2 + i);
	assert_int_equal(history_get(h, 1)->index, 4);
	history_free(h);
}

static void test_from_result_sums_steps(void **state)
{
	struct txn_result r;
	struct history_entry e;
	size_t i;

	(void)state;
	txn_result_init(&r, "t", "target", "enrollment", "scep");
	i = txn_step_begin(&r, "poll");
	txn_step_end(&r, i, TXN_OK, "first");
	r.steps[i].duration_us = 100;
	i = txn_step_begin(&r, "connect");
	txn_step_end(&r, i, TXN_OK, "c");
	r.steps[i].duration_us = 5;
	i = txn_step_begin(&r, "poll");
	txn_step_end(&r, i, TXN_OK, "second");
	r.steps[i].duration_us = 50;
	txn_result_fail(&r, TXN_TIMEOUT, "slow");
	r.result = RESULT_CRITICAL;
	r.duration_us = 1234;
	history_entry_from_result(&e, &r, 1700000000, 408);
	assert_int_equal(e.end, 1700000000);
	assert_int_equal(e.duration_us, 1234);
	assert_int_equal(e.status, TXN_TIMEOUT);
	assert_int_equal(e.result, RESULT_CRITICAL);
	assert_int_equal(e.protocol_code, 408);
	assert_int_equal(e.n_steps, 2);
	assert_string_equal(e.steps[0].name, "poll");
	assert_int_equal(e.steps[0].duration_us, 150);
	assert_string_equal(e.steps[1].name, "connect");
}

static void test_copy_is_independent(void **state)
{
	struct history *h = history_new(4), *c;

	(void)state;
	add(h, 1);
	add(h, 2);
	c = history_copy(h);
	add(h, 3);
	assert_int_equal(history_count(c), 2);
	assert_int_equal(history_count(h), 3);
	add(c, 9);
	assert_int_equal(history_get(c, 2)->index, 3);
	assert_int_equal(history_get(c, 2)->end, 9);
	assert_null(history_copy(NULL));
	history_free(c);
	history_free(h);
}

static void test_resize_keeps_newest(void **state)
{
	struct history *h = history_new(4);

	(void)state;
	for (int i = 1; i <= 6; i++)
		add(h, i); /* holds 3..6 */
	history_resize(h, 2);
	assert_int_equal(history_count(h), 2);
	assert_int_equal(history_get(h, 0)->end, 5);
	assert_int_equal(history_get(h, 1)->end, 6);
	add(h, 7);
	assert_int_equal(history_get(h, 1)->index, 7);
	assert_int_equal(history_get(h, 0)->end, 6);
	history_resize(h, 5);
	add(h, 8);
	assert_int_equal(history_count(h), 3);
	assert_int_equal(history_get(h, 0)->end, 6);
	assert_int_equal(history_get(h, 2)->end, 8);
	history_resize(h, 0);
	assert_int_equal(history_count(h), 0);
	history_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ring_order_and_cap),
	    cmocka_unit_test(test_zero_capacity_and_clamp),
	    cmocka_unit_test(test_numbering_survives_copy),
	    cmocka_unit_test(test_from_result_sums_steps),
	    cmocka_unit_test(test_copy_is_independent),
	    cmocka_unit_test(test_resize_keeps_newest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
