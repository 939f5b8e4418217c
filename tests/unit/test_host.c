/*
 * test_host: the one host validator (core/host) that URLs and the registrar keys share:
 * RFC 1123 names, dotted quads of exactly four parts, IPv6 bare or in brackets by
 * syntax, and everything else refused with a reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/host.h"

static const char *check(const char *s, enum host_syntax syntax)
{
	return host_problem(s, strlen(s), syntax);
}

static void test_names(void **state)
{
	static const char *good[] = {
	    "localhost",
	    "a",
	    "example.com",
	    "example.com.",
	    "ndes-1.corp.example",
	    "A-B.c",
	    "xn--bcher-kva.example",
	    "1.2.3.4a",
	    "4a",
	    "123abc.example",
	    "a.b1",
	};
	static const char *bad[] = {
	    "a\"b",       "a_b.example",
	    "a b",        "-a.example",
	    "a-.example", "a..b",
	    ".a",         ".",
	    "a.1",        "example.123",
	    "a/b",        "a%2eb",
	    "a@b",        "\xc3\xa9.example",
	};
	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_null(check(good[i], HOST_BARE));
		assert_null(check(good[i], HOST_URL));
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_non_null(check(bad[i], HOST_BARE));
		assert_non_null(check(bad[i], HOST_URL));
	}
	assert_string_equal(check("a\"b", HOST_URL),
	                    "has a character other than letters, digits, '-' and '.'");
	assert_string_equal(check("-a", HOST_BARE), "has a label starting with '-'");
	assert_string_equal(check("a-", HOST_BARE), "has a label ending with '-'");
	assert_string_equal(check("a..b", HOST_BARE), "has an empty label");
	assert_string_equal(check("", HOST_BARE), "is empty");
}

static void test_lengths(void **state)
{
	char label[80], name[300];

	(void)state;
	memset(label, 'a', 63);
	label[63] = '\0';
	assert_null(check(label, HOST_BARE));
	label[63] = 'a';
	label[64] = '\0';
	assert_string_equal(check(label, HOST_BARE), "has a label longer than 63 characters");

	/* 4 x 63 + 3 dots = 255; cut to 253 and 254 */
	memset(name, 'a', sizeof name);
	for (size_t i = 63; i < 255; i += 64)
		name[i] = '.';
	name[253] = '\0';
	assert_null(check(name, HOST_BARE));
	name[253] = '.'; /* 253 and the root's dot */
	name[254] = '\0';
	assert_null(check(name, HOST_BARE));
	name[253] = 'a';
	assert_string_equal(check(name, HOST_BARE), "is longer than 253 characters");
}

static void test_ipv4(void **state)
{
	static const char *good[] = {"1.2.3.4", "0.0.0.0", "255.255.255.255", "127.0.0.1",
	                             "10.0.10.100"};
	static const char *bad[] = {"1.2.3.4.5", "1.2.3",      "1",        "256.1.1.1",
	                            "1.2.3.999", "01.2.3.4",   "1.2.3.4.", "1..3.4",
	                            ".1.2.3.4",  "1.2.3.4444", "1.2.3.-4", "4294967295"};
	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_null(check(good[i], HOST_BARE));
		assert_null(check(good[i], HOST_URL));
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_non_null(check(bad[i], HOST_BARE));
		assert_non_null(check(bad[i], HOST_URL));
	}
	assert_string_equal(check("1.2.3.4.5", HOST_URL),
	                    "is not a valid IPv4 address (four numbers from 0 to 255)");
}

static void test_ipv6(void **state)
{
	(void)state;
	assert_null(check("[::1]", HOST_URL));
	assert_null(check("[2001:db8::10]", HOST_URL));
	assert_null(check("[::ffff:1.2.3.4]", HOST_URL));
	assert_non_null(check("::1", HOST_URL)); /* unbracketed in a URL */
	assert_non_null(check("[::1", HOST_URL));
	assert_non_null(check("[]", HOST_URL));
	assert_non_null(check("[1.2.3.4]", HOST_URL));
	assert_non_null(check("[::1%eth0]", HOST_URL));
	assert_non_null(check("[fe80::g]", HOST_URL));

	assert_null(check("::1", HOST_BARE));
	assert_null(check("2001:db8::10", HOST_BARE));
	assert_non_null(check("[::1]", HOST_BARE));
	assert_non_null(check("2001:db8:::10", HOST_BARE));
	assert_non_null(check("1:2:3:4:5:6:7:8:9", HOST_BARE));
}

static void test_not_terminated(void **state)
{
	const char *s = "example.com/scep";
	const char *u = "1.2.3.4:80";

	(void)state;
	/* only len bytes are the host; a NUL inside is refused */
	assert_null(host_problem(s, 11, HOST_URL));
	assert_non_null(host_problem(s, 12, HOST_URL));
	assert_null(host_problem(u, 7, HOST_URL));
	assert_string_equal(host_problem("a\0b", 3, HOST_BARE), "has a NUL byte");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),          cmocka_unit_test(test_lengths),
	    cmocka_unit_test(test_ipv4),           cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_not_terminated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
