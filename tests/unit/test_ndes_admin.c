/*
 * test_ndes_admin: the NDES mscep_admin page. Pages are built from ASCII templates
 * and encoded here as UTF-16LE (with and without BOM, as IIS serves them) or kept
 * as UTF-8; the parser must find the one-time password or name the refusal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "transactions/scep/ndes_admin.h"

#define PAGE_HEAD                                                                                  \
	"<HTML><Head><Meta HTTP-Equiv=\"Content-Type\" Content=\"text/html; charset=Unicode\">"    \
	"<Title>Network Device Enrollment Service</Title></Head><Body BgColor=#FFFFFF>"            \
	"<Font ID=locPageFont Face=\"Arial\"><Table Border=0 CellSpacing=0 CellPadding=4 "         \
	"Width=100% BgColor=#008080><TR><TD><Font ID=locPageTitleFont Face=\"Arial\" Size=-1 "     \
	"Color=#FFFFFF><LocID ID=locMSCertSrv>Network Device Enrollment Service</LocID></Font>"    \
	"</TD></TR></Table><P ID=locPageDesc> Network Device Enrollment Service allows you to "    \
	"obtain certificates for routers or other network devices using the Simple Certificate "   \
	"Enrollment Protocol (SCEP). </P>"
#define PAGE_TAIL "</Font></Body></HTML>\r\n"

static const char page_password[] = PAGE_HEAD
    "<P> To complete certificate enrollment for your network device you will need the "
    "following information: <P> The thumbprint (hash value) for the CA certificate is: "
    "<B> 2A6E5A1D 3F0E4C1B 6C07B9FD 5E2D8F3A </B> <P> The enrollment challenge password "
    "is: <B> 0123456789ABCDEF </B> <P> This password can be used only once and will expire "
    "within 60 minutes. <P> Each enrollment requires a new challenge password. You can "
    "refresh this web page to obtain a new challenge password. </P>" PAGE_TAIL;

static const char page_cache_full[] = PAGE_HEAD
    "<P> The password cache is full. The cache will be cleared as existing passwords expire "
    "or are used. </P>" PAGE_TAIL;

static const char page_no_permission[] =
    PAGE_HEAD "<P> You do not have sufficient permission to enroll with SCEP. Please contact your "
              "system administrator. </P>" PAGE_TAIL;

static const char page_unrelated[] =
    "<!DOCTYPE html><html><head><title>IIS Windows Server</title></head><body>"
    "<div id=\"container\"><a href=\"https://go.microsoft.com/fwlink/?linkid=66138\">"
    "<img src=\"iisstart.png\" alt=\"IIS\" width=\"960\" height=\"600\" /></a></div>"
    "</body></html>\r\n";

/* ASCII → UTF-16LE, optionally with a BOM. malloced; *len set. */
static unsigned char *utf16le(const char *ascii, size_t n, bool bom, size_t *len)
{
	unsigned char *out = malloc(2 * n + 2);
	size_t j = 0;

	assert_non_null(out);
	if (bom) {
		out[j++] = 0xff;
		out[j++] = 0xfe;
	}
	for (size_t i = 0; i < n; i++) {
		out[j++] = (unsigned char)ascii[i];
		out[j++] = 0;
	}
	*len = j;
	return out;
}

static enum txn_status parse16(const char *ascii, bool bom, const char *charset, char *pw,
                               size_t pwlen)
{
	size_t len;
	unsigned char *b = utf16le(ascii, strlen(ascii), bom, &len);
	enum txn_status st = ndes_admin_parse(b, len, charset, pw, pwlen);

	free(b);
	return st;
}

static enum txn_status parse8(const char *s, const char *charset, char *pw, size_t pwlen)
{
	return ndes_admin_parse((const unsigned char *)s, strlen(s), charset, pw, pwlen);
}

static void test_password_utf16le_no_bom(void **state)
{
	char pw[64];

	(void)state;
	memset(pw, 'x', sizeof pw);
	assert_int_equal(parse16(page_password, false, NULL, pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
	/* the charset from Content-Type agrees */
	assert_int_equal(parse16(page_password, false, "utf-16le", pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
	assert_int_equal(parse16(page_password, false, "UTF-16", pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
	assert_int_equal(parse16(page_password, false, "Unicode", pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
	/* a wrong charset label does not defeat the NUL heuristic */
	assert_int_equal(parse16(page_password, false, "utf-8", pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
}

static void test_password_utf16le_bom(void **state)
{
	char pw[64];

	(void)state;
	assert_int_equal(parse16(page_password, true, NULL, pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
	assert_int_equal(parse16(page_password, true, "utf-16le", pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
}

static void test_password_utf8(void **state)
{
	char pw[64];

	(void)state;
	assert_int_equal(parse8(page_password, NULL, pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
	assert_int_equal(parse8(page_password, "utf-8", pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
}

static void test_password_markup_variants(void **state)
{
	char pw[64];

	(void)state;
	assert_int_equal(
	    parse8("The enrollment challenge password is: <b>A1B2C3D4</b>", NULL, pw, sizeof pw),
	    TXN_OK);
	assert_string_equal(pw, "A1B2C3D4");
	assert_int_equal(parse8("the ENROLLMENT challenge password IS:\r\n\t<B><FONT COLOR=red>"
	                        "deadbeefcafe0001</FONT></B>",
	                        NULL, pw, sizeof pw),
	                 TXN_OK);
	assert_string_equal(pw, "deadbeefcafe0001");
	assert_int_equal(
	    parse8("The enrollment challenge password is:0123456789ABCDEF<P>", NULL, pw, sizeof pw),
	    TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
}

static void test_password_nbsp(void **state)
{
	char pw[64];

	(void)state;
	/* Regression (fixed in 40c447f): entities such as "&nbsp;" between the marker and
	 * the password are skipped like tags, as the parser's comment promises. */
	assert_int_equal(parse8("The enrollment challenge password is:&nbsp;<B>0123456789ABCDEF"
	                        "</B>",
	                        NULL, pw, sizeof pw),
	                 TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
	assert_int_equal(parse8("The enrollment challenge password is: <B>&nbsp;&#32;CAFE0123&nbsp;"
	                        "</B>",
	                        NULL, pw, sizeof pw),
	                 TXN_OK);
	assert_string_equal(pw, "CAFE0123");
	/* a bare '&' is not markup */
	assert_int_equal(
	    parse8("The enrollment challenge password is: & CAFE0123 ", NULL, pw, sizeof pw),
	    TXN_NDES_PAGE_UNRECOGNISED);
}

static void test_cache_full(void **state)
{
	char pw[64];

	(void)state;
	assert_int_equal(parse16(page_cache_full, false, NULL, pw, sizeof pw),
	                 TXN_NDES_PASSWORD_CACHE_FULL);
	assert_string_equal(pw, "");
	assert_int_equal(parse16(page_cache_full, true, NULL, pw, sizeof pw),
	                 TXN_NDES_PASSWORD_CACHE_FULL);
	assert_int_equal(parse8(page_cache_full, NULL, pw, sizeof pw),
	                 TXN_NDES_PASSWORD_CACHE_FULL);
	assert_int_equal(parse8("The password cache is full.", NULL, pw, sizeof pw),
	                 TXN_NDES_PASSWORD_CACHE_FULL);
}

static void test_no_permission(void **state)
{
	char pw[64];

	(void)state;
	assert_int_equal(parse16(page_no_permission, false, NULL, pw, sizeof pw),
	                 TXN_NDES_NO_PERMISSION);
	assert_string_equal(pw, "");
	assert_int_equal(parse16(page_no_permission, true, "utf-16le", pw, sizeof pw),
	                 TXN_NDES_NO_PERMISSION);
	assert_int_equal(parse8(page_no_permission, NULL, pw, sizeof pw), TXN_NDES_NO_PERMISSION);
	assert_int_equal(parse8("You do not have sufficient permission to enroll with SCEP.", NULL,
	                        pw, sizeof pw),
	                 TXN_NDES_NO_PERMISSION);
}

static void test_unrelated_html(void **state)
{
	char pw[64];

	(void)state;
	memset(pw, 'x', sizeof pw);
	assert_int_equal(parse8(page_unrelated, NULL, pw, sizeof pw), TXN_NDES_PAGE_UNRECOGNISED);
	assert_string_equal(pw, "");
	assert_int_equal(parse16(page_unrelated, false, NULL, pw, sizeof pw),
	                 TXN_NDES_PAGE_UNRECOGNISED);
	assert_int_equal(parse16(page_unrelated, true, NULL, pw, sizeof pw),
	                 TXN_NDES_PAGE_UNRECOGNISED);
	/* the marker with no password after it */
	assert_int_equal(
	    parse8("The enrollment challenge password is: <B></B>", NULL, pw, sizeof pw),
	    TXN_NDES_PAGE_UNRECOGNISED);
	/* too short to be a password */
	assert_int_equal(
	    parse8("The enrollment challenge password is: <B>abc</B>", NULL, pw, sizeof pw),
	    TXN_NDES_PAGE_UNRECOGNISED);
	/* a UTF-8 page with non-ASCII text and no marker */
	assert_int_equal(parse8("\xef\xbb\xbf<html>\xc3\xa9t\xc3\xa9</html>", NULL, pw, sizeof pw),
	                 TXN_NDES_PAGE_UNRECOGNISED);
}

static void test_empty_and_tiny(void **state)
{
	char pw[64];
	static const unsigned char one[] = {0xff};
	static const unsigned char bom[] = {0xff, 0xfe};
	static const unsigned char zeros[] = {0, 0, 0, 0, 0, 0, 0, 0, 0};

	(void)state;
	assert_int_equal(ndes_admin_parse((const unsigned char *)"", 0, NULL, pw, sizeof pw),
	                 TXN_NDES_PAGE_UNRECOGNISED);
	assert_int_equal(ndes_admin_parse((const unsigned char *)"", 0, "utf-16le", pw, sizeof pw),
	                 TXN_NDES_PAGE_UNRECOGNISED);
	assert_int_equal(ndes_admin_parse(one, sizeof one, NULL, pw, sizeof pw),
	                 TXN_NDES_PAGE_UNRECOGNISED);
	assert_int_equal(ndes_admin_parse(one, sizeof one, "utf-16le", pw, sizeof pw),
	                 TXN_NDES_PAGE_UNRECOGNISED);
	assert_int_equal(ndes_admin_parse(bom, sizeof bom, NULL, pw, sizeof pw),
	                 TXN_NDES_PAGE_UNRECOGNISED);
	assert_int_equal(ndes_admin_parse(zeros, sizeof zeros, NULL, pw, sizeof pw),
	                 TXN_NDES_PAGE_UNRECOGNISED);
}

static void test_odd_lengths(void **state)
{
	char pw[64];
	size_t len;
	unsigned char *b = utf16le(page_password, strlen(page_password), false, &len);
	unsigned char *odd = malloc(len + 1);

	(void)state;
	assert_non_null(odd);
	memcpy(odd, b, len);
	odd[len] = 'Z'; /* a stray last byte is dropped */
	assert_int_equal(ndes_admin_parse(odd, len + 1, NULL, pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
	assert_int_equal(ndes_admin_parse(odd, len + 1, "utf-16le", pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
	/* every odd length, from the page's start up: never a read past len (ASan) */
	for (size_t n = 1; n < len; n += 2)
		(void)ndes_admin_parse(b, n, NULL, pw, sizeof pw);
	/* shifted by one byte (mis-framed UTF-16): nothing found, nothing crashes */
	assert_int_equal(ndes_admin_parse(b + 1, len - 1, NULL, pw, sizeof pw),
	                 TXN_NDES_PAGE_UNRECOGNISED);
	free(odd);
	free(b);
}

static void test_truncated_before_password(void **state)
{
	char pw[64];
	const char *cut = strstr(page_password, "The enrollment challenge");
	size_t keep;

	(void)state;
	assert_non_null(cut);
	/* cut anywhere before the first password character: never a password */
	keep = (size_t)(strstr(page_password, "0123456789ABCDEF") - page_password);
	for (size_t n = (size_t)(cut - page_password); n <= keep; n++) {
		assert_int_equal(
		    ndes_admin_parse((const unsigned char *)page_password, n, NULL, pw, sizeof pw),
		    TXN_NDES_PAGE_UNRECOGNISED);
		assert_string_equal(pw, "");
	}
}

static void test_truncated_after_password(void **state)
{
	char pw[64];
	size_t n = (size_t)(strstr(page_password, "</B> <P> This password") - page_password);
	size_t len;
	unsigned char *b;

	(void)state;
	/* the page ends after the password's closing whitespace: still complete */
	assert_int_equal(
	    ndes_admin_parse((const unsigned char *)page_password, n, NULL, pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
	b = utf16le(page_password, n, false, &len);
	assert_int_equal(ndes_admin_parse(b, len, NULL, pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
	free(b);
}

static void test_truncated_inside_password(void **state)
{
	char pw[64];
	size_t start = (size_t)(strstr(page_password, "0123456789ABCDEF") - page_password);

	(void)state;
	/* Regression (fixed in 40c447f): a body cut inside the password (connection closed
	 * without Content-Length, or a proxy truncating) used to yield TXN_OK with the first
	 * 4..15 characters as "the password", and the CA then refused the request as
	 * badRequest, blaming the wrong component. The page must show where it ends. */
	for (size_t k = 4; k < 16; k++) {
		enum txn_status st = ndes_admin_parse((const unsigned char *)page_password,
		                                      start + k, NULL, pw, sizeof pw);
		if (st == TXN_OK)
			fail_msg("page cut %zu characters into the password: TXN_OK with '%s'", k,
			         pw);
	}
	/* the same in UTF-16LE, including cuts in the middle of a code unit */
	for (size_t k = 8; k < 32; k++) {
		size_t len;
		unsigned char *b = utf16le(page_password, start + 16, false, &len);
		enum txn_status st = ndes_admin_parse(b, 2 * start + k, NULL, pw, sizeof pw);
		free(b);
		if (st == TXN_OK)
			fail_msg("UTF-16LE page cut %zu bytes into the password: TXN_OK with '%s'",
			         k, pw);
	}
}

static void test_password_buffer_limits(void **state)
{
	char pw[17], small[8];

	(void)state;
	/* exactly room for 16 characters and the NUL */
	assert_int_equal(parse16(page_password, false, NULL, pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "0123456789ABCDEF");
	/* a password that does not fit is refused, not truncated */
	memset(small, 'x', sizeof small);
	assert_int_equal(parse16(page_password, false, NULL, small, sizeof small),
	                 TXN_NDES_PAGE_UNRECOGNISED);
	assert_string_equal(small, "");
	assert_int_equal(parse8(page_password, NULL, small, 1), TXN_NDES_PAGE_UNRECOGNISED);
	assert_string_equal(small, "");
}

static void test_non_ascii_utf16(void **state)
{
	/* UTF-16LE "é" and a CJK code unit around the marker: become '?', parse goes on */
	static const char ascii[] = "X The enrollment challenge password is: <B> CAFE0123 </B> Y";
	size_t len;
	unsigned char *b = utf16le(ascii, strlen(ascii), true, &len);
	char pw[64];

	(void)state;
	b[2] = 0xe9; /* 'X' → U+00E9 */
	b[len - 2] = 0x2d;
	b[len - 1] = 0x4e; /* 'Y' → U+4E2D */
	assert_int_equal(ndes_admin_parse(b, len, NULL, pw, sizeof pw), TXN_OK);
	assert_string_equal(pw, "CAFE0123");
	free(b);
}

static void test_refusal_wins_over_marker(void **state)
{
	char pw[64];

	(void)state;
	/* a refusal text anywhere on the page is the verdict, even next to the marker */
	assert_int_equal(parse8("The enrollment challenge password is: <B>0123456789ABCDEF</B>"
	                        "<P>The password cache is full.",
	                        NULL, pw, sizeof pw),
	                 TXN_NDES_PASSWORD_CACHE_FULL);
	assert_string_equal(pw, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_password_utf16le_no_bom),
	    cmocka_unit_test(test_password_utf16le_bom),
	    cmocka_unit_test(test_password_utf8),
	    cmocka_unit_test(test_password_markup_variants),
	    cmocka_unit_test(test_password_nbsp),
	    cmocka_unit_test(test_cache_full),
	    cmocka_unit_test(test_no_permission),
	    cmocka_unit_test(test_unrelated_html),
	    cmocka_unit_test(test_empty_and_tiny),
	    cmocka_unit_test(test_odd_lengths),
	    cmocka_unit_test(test_truncated_before_password),
	    cmocka_unit_test(test_truncated_after_password),
	    cmocka_unit_test(test_truncated_inside_password),
	    cmocka_unit_test(test_password_buffer_limits),
	    cmocka_unit_test(test_non_ascii_utf16),
	    cmocka_unit_test(test_refusal_wins_over_marker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
