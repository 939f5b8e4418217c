/*
 * test_html_escape: the status page's escaping (exporters/statuspage/html_escape). The
 * five HTML specials become entities, markup from a name or a reason phrase is text,
 * control characters and bytes that are not UTF-8 (overlong, surrogates, past
 * U+10FFFF, cut short) become U+FFFD, well-formed UTF-8 passes, and the cap holds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/bbuf.h"
#include "exporters/statuspage/html_escape.h"

/* s (n bytes) escaped, as a malloced string */
static char *esc(const char *s, size_t n)
{
	struct bbuf b;
	char *out;

	bbuf_init(&b, 1 << 20);
	assert_int_equal(html_escape_appendn(&b, s, n), 0);
	out = strdup(b.data != NULL ? (const char *)b.data : "");
	bbuf_free(&b);
	return out;
}

static void expect(const char *in, size_t n, const char *want)
{
	char *got = esc(in, n);

	assert_string_equal(got, want);
	free(got);
}

#define EXPECT(lit, want) expect((lit), sizeof(lit) - 1, (want))

static void test_specials(void **state)
{
	(void)state;
	EXPECT("", "");
	EXPECT("plain text 123", "plain text 123");
	EXPECT("a&b<c>d\"e'f", "a&amp;b&lt;c&gt;d&quot;e&#39;f");
	EXPECT("&amp;", "&amp;amp;"); /* already an entity: escaped again, shown as typed */
}

static void test_markup_is_text(void **state)
{
	(void)state;
	EXPECT("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
	EXPECT("SIP/2.0 403 <img src=x onerror=alert(1)>",
	       "SIP/2.0 403 &lt;img src=x onerror=alert(1)&gt;");
	EXPECT("\" onmouseover=\"x", "&quot; onmouseover=&quot;x"); /* cannot leave an attribute */
}

static void test_controls(void **state)
{
	(void)state;
	EXPECT("a\tb\nc", "a\tb\nc"); /* whitespace stays */
	EXPECT("a\rb", "a&#xFFFD;b");
	EXPECT("\x1b[31mred", "&#xFFFD;[31mred");
	EXPECT("x\x7fy", "x&#xFFFD;y");
	expect("a\0b", 3, "a&#xFFFD;b"); /* a NUL inside network text */
}

static void test_utf8(void **state)
{
	(void)state;
	EXPECT("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x94\x92",
	       "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x94\x92");
	EXPECT("\xc0\xaf", "&#xFFFD;&#xFFFD;");                         /* overlong '/' */
	EXPECT("\xe0\x80\xaf", "&#xFFFD;&#xFFFD;&#xFFFD;");             /* overlong, 3 bytes */
	EXPECT("\xed\xa0\x80", "&#xFFFD;&#xFFFD;&#xFFFD;");             /* a surrogate */
	EXPECT("\xf4\x90\x80\x80", "&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;"); /* past U+10FFFF */
	EXPECT("ab\xe2\x86", "ab&#xFFFD;&#xFFFD;");                     /* cut short at the end */
	EXPECT("\xe2<b", "&#xFFFD;&lt;b");                              /* cut short by a special */
	EXPECT("\xff", "&#xFFFD;");
}

static void test_null_and_cap(void **state)
{
	struct bbuf b;

	(void)state;
	bbuf_init(&b, 8);
	assert_int_equal(html_escape_append(&b, NULL), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(html_escape_append(&b, "abc"), 0);
	assert_int_equal(html_escape_append(&b, "<<"), -1); /* 8 bytes more than fit */
	assert_true(b.toobig);
	bbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_specials),     cmocka_unit_test(test_markup_is_text),
	    cmocka_unit_test(test_controls),     cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_null_and_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
