/*
 * test_bbuf: the capped network buffer (core/bbuf). Cap is inclusive, a refused append
 * changes nothing but the toobig flag, data stays NUL-terminated, reset keeps memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/bbuf.h"

static void test_bbuf_init_empty(void **state)
{
	struct bbuf b;

	(void)state;
	bbuf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	assert_int_equal(b.max, 100);
	assert_false(b.toobig);
	bbuf_free(&b);
	assert_null(b.data);
	/* free twice is harmless */
	bbuf_free(&b);
}

static void test_bbuf_append_nul_terminated(void **state)
{
	struct bbuf b;

	(void)state;
	bbuf_init(&b, 1024);
	assert_int_equal(bbuf_append(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3);
	assert_non_null(b.data);
	assert_true(b.alloc > b.len);
	assert_int_equal(b.data[3], '\0');
	assert_string_equal((const char *)b.data, "abc");
	assert_int_equal(bbuf_append(&b, "defg", 4), 0);
	assert_int_equal(b.len, 7);
	assert_string_equal((const char *)b.data, "abcdefg");
	bbuf_free(&b);
}

static void test_bbuf_append_zero_bytes(void **state)
{
	struct bbuf b;

	(void)state;
	bbuf_init(&b, 16);
	/* an empty append still leaves a NUL-terminated (empty) string for text parsers */
	assert_int_equal(bbuf_append(&b, NULL, 0), 0);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_int_equal(b.data[0], '\0');
	bbuf_free(&b);
}

static void test_bbuf_embedded_nul(void **state)
{
	struct bbuf b;
	static const unsigned char bin[] = {'a', 0, 'b', 0xff};

	(void)state;
	bbuf_init(&b, 16);
	assert_int_equal(bbuf_append(&b, bin, sizeof bin), 0);
	assert_int_equal(b.len, sizeof bin);
	assert_memory_equal(b.data, bin, sizeof bin);
	assert_int_equal(b.data[sizeof bin], '\0');
	bbuf_free(&b);
}

static void test_bbuf_cap_exact_then_toobig(void **state)
{
	struct bbuf b;

	(void)state;
	bbuf_init(&b, 10);
	assert_int_equal(bbuf_append(&b, "01234", 5), 0);
	assert_int_equal(bbuf_append(&b, "56789", 5), 0); /* exactly the cap */
	assert_int_equal(b.len, 10);
	assert_false(b.toobig);
	assert_int_equal(bbuf_append(&b, "x", 1), -1);
	assert_true(b.toobig);
	assert_int_equal(b.len, 10); /* nothing appended */
	assert_string_equal((const char *)b.data, "0123456789");
	/* a zero-byte append at the cap still succeeds and changes nothing */
	assert_int_equal(bbuf_append(&b, "", 0), 0);
	assert_int_equal(b.len, 10);
	bbuf_free(&b);
}

static void test_bbuf_single_append_over_cap(void **state)
{
	struct bbuf b;
	char big[65];

	(void)state;
	memset(big, 'z', sizeof big);
	bbuf_init(&b, 64);
	assert_int_equal(bbuf_append(&b, big, sizeof big), -1);
	assert_true(b.toobig);
	assert_int_equal(b.len, 0);
	/* a huge length must not wrap the cap arithmetic */
	assert_int_equal(bbuf_append(&b, big, SIZE_MAX), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(bbuf_append(&b, big, 64), 0);
	assert_int_equal(b.len, 64);
	assert_int_equal(bbuf_append(&b, big, SIZE_MAX - 10), -1);
	assert_int_equal(b.len, 64);
	assert_int_equal(b.data[64], '\0');
	bbuf_free(&b);
}

static void test_bbuf_growth(void **state)
{
	struct bbuf b;
	unsigned char chunk[100];

	(void)state;
	for (size_t i = 0; i < sizeof chunk; i++)
		chunk[i] = (unsigned char)i;
	bbuf_init(&b, 64 * 1024);
	for (int i = 0; i < 500; i++)
		assert_int_equal(bbuf_append(&b, chunk, sizeof chunk), 0);
	assert_int_equal(b.len, 50000);
	assert_true(b.alloc > b.len);
	for (size_t i = 0; i < b.len; i++)
		assert_int_equal(b.data[i], (unsigned char)(i % 100));
	assert_int_equal(b.data[b.len], '\0');
	bbuf_free(&b);
}

static void test_bbuf_reset(void **state)
{
	struct bbuf b;
	unsigned char *mem;
	size_t alloc;

	(void)state;
	bbuf_init(&b, 8);
	/* reset before the first append is safe */
	bbuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_null(b.data);
	assert_int_equal(bbuf_append(&b, "12345678", 8), 0);
	assert_int_equal(bbuf_append(&b, "9", 1), -1);
	assert_true(b.toobig);
	mem = b.data;
	alloc = b.alloc;
	bbuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_false(b.toobig);
	assert_ptr_equal(b.data, mem); /* keeps memory */
	assert_int_equal(b.alloc, alloc);
	assert_int_equal(b.max, 8); /* keeps the cap */
	assert_string_equal((const char *)b.data, "");
	assert_int_equal(bbuf_append(&b, "abcdefgh", 8), 0);
	assert_string_equal((const char *)b.data, "abcdefgh");
	assert_int_equal(bbuf_append(&b, "i", 1), -1);
	bbuf_free(&b);
}

static void test_bbuf_reuse_after_free(void **state)
{
	struct bbuf b;

	(void)state;
	bbuf_init(&b, 4);
	assert_int_equal(bbuf_append(&b, "abcd", 4), 0);
	bbuf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	bbuf_init(&b, 2);
	assert_int_equal(bbuf_append(&b, "abc", 3), -1);
	assert_int_equal(bbuf_append(&b, "ab", 2), 0);
	assert_string_equal((const char *)b.data, "ab");
	bbuf_free(&b);
}

static void test_bbuf_zero_cap(void **state)
{
	struct bbuf b;

	(void)state;
	bbuf_init(&b, 0);
	assert_int_equal(bbuf_append(&b, "a", 1), -1);
	assert_true(b.toobig);
	assert_int_equal(b.len, 0);
	bbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bbuf_init_empty),
	    cmocka_unit_test(test_bbuf_append_nul_terminated),
	    cmocka_unit_test(test_bbuf_append_zero_bytes),
	    cmocka_unit_test(test_bbuf_embedded_nul),
	    cmocka_unit_test(test_bbuf_cap_exact_then_toobig),
	    cmocka_unit_test(test_bbuf_single_append_over_cap),
	    cmocka_unit_test(test_bbuf_growth),
	    cmocka_unit_test(test_bbuf_reset),
	    cmocka_unit_test(test_bbuf_reuse_after_free),
	    cmocka_unit_test(test_bbuf_zero_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
