/*
 * test_text: hex digits and UTF-8 sequences (core/text): the decoder takes exactly the
 * well-formed sequences (no overlongs, surrogates or code points past U+10FFFF) and never
 * reads past a NUL; the lead-byte length steps one character without judging it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/text.h"

static void test_hex_digit(void **state)
{
	(void)state;
	assert_int_equal(text_hex_digit('0'), 0);
	assert_int_equal(text_hex_digit('9'), 9);
	assert_int_equal(text_hex_digit('a'), 10);
	assert_int_equal(text_hex_digit('F'), 15);
	assert_int_equal(text_hex_digit('g'), -1);
	assert_int_equal(text_hex_digit(':'), -1);
	assert_int_equal(text_hex_digit('\0'), -1);
}

static void test_utf8_lead_len(void **state)
{
	(void)state;
	assert_int_equal(text_utf8_lead_len('a'), 1);
	assert_int_equal(text_utf8_lead_len(0x80), 1); /* a stray continuation byte */
	assert_int_equal(text_utf8_lead_len(0xc3), 2);
	assert_int_equal(text_utf8_lead_len(0xe2), 3);
	assert_int_equal(text_utf8_lead_len(0xf0), 4);
	assert_int_equal(text_utf8_lead_len(0xff), 4);
}

static void test_utf8_decode(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		uint32_t cp;
	} good[] = {
	    {"a", 1, 'a'},
	    {"\xc3\xa4", 2, 0xe4},
	    {"\xe2\x82\xac", 3, 0x20ac},
	    {"\xf0\x9f\x98\x80", 4, 0x1f600},
	    {"\xf4\x8f\xbf\xbf", 4, 0x10ffff},
	    {"\xed\x9f\xbf", 3, 0xd7ff},
	};
	static const char *const bad[] = {
	    "\x80",             /* continuation byte */
	    "\xc0\xaf",         /* overlong */
	    "\xe0\x80\xaf",     /* overlong */
	    "\xed\xa0\x80",     /* surrogate */
	    "\xf4\x90\x80\x80", /* past U+10FFFF */
	    "\xf5\x80\x80\x80", /* no such lead byte */
	    "\xe2\x82",         /* cut short by the NUL */
	    "\xc3",
	};
	const unsigned char nul[] = {0};
	uint32_t cp;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		cp = 0;
		assert_int_equal(text_utf8_decode((const unsigned char *)good[i].s, &cp),
		                 good[i].len);
		assert_int_equal(cp, good[i].cp);
		assert_int_equal(text_utf8_decode((const unsigned char *)good[i].s, NULL),
		                 good[i].len);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(text_utf8_decode((const unsigned char *)bad[i], &cp), 0);
	assert_int_equal(text_utf8_decode(nul, &cp), 1);
	assert_int_equal(cp, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hex_digit),
	    cmocka_unit_test(test_utf8_lead_len),
	    cmocka_unit_test(test_utf8_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
