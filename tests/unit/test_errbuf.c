/*
 * test_errbuf: the caller's error buffer (core/errbuf): formatted and NUL-terminated, cut
 * to its size, and a NULL or empty buffer is left alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/errbuf.h"

static void test_errbuf_set(void **state)
{
	char err[8];

	(void)state;
	errbuf_set(err, sizeof err, "%s %d", "no", 1);
	assert_string_equal(err, "no 1");
	errbuf_set(err, sizeof err, "cannot open %s", "/etc/certprobe.yaml");
	assert_string_equal(err, "cannot ");
	memset(err, 'x', sizeof err);
	errbuf_set(err, 0, "untouched");
	assert_int_equal(err[0], 'x');
	errbuf_set(NULL, 64, "ignored");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_errbuf_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
