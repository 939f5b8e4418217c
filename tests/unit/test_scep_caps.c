/*
 * test_scep_caps: GetCACaps parsing (RFC 8894 §3.5.2) and the algorithm choice it
 * drives: line endings, case, whitespace, unknown keywords, SCEPStandard, rendering.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "transactions/scep/scep_caps.h"

static unsigned parse(const char *s)
{
	return scep_caps_parse(s, strlen(s));
}

static void test_caps_lf(void **state)
{
	(void)state;
	assert_int_equal(parse("AES\nPOSTPKIOperation\nSHA-256\n"),
	                 SCEP_CAP_AES | SCEP_CAP_POST_PKI_OPERATION | SCEP_CAP_SHA256);
}

static void test_caps_crlf(void **state)
{
	(void)state;
	assert_int_equal(parse("AES\r\nDES3\r\nGetNextCACert\r\nRenewal\r\nSHA-1\r\n"),
	                 SCEP_CAP_AES | SCEP_CAP_DES3 | SCEP_CAP_GET_NEXT_CA_CERT |
	                     SCEP_CAP_RENEWAL | SCEP_CAP_SHA1);
	/* mixed endings in one body */
	assert_int_equal(parse("SHA-512\r\nSHA-224\nSHA-384\r\nUpdate"),
	                 SCEP_CAP_SHA512 | SCEP_CAP_SHA224 | SCEP_CAP_SHA384 | SCEP_CAP_UPDATE);
}

static void test_caps_case_insensitive(void **state)
{
	(void)state;
	assert_int_equal(parse("aes\npostpkioperation\nsha-256\nRENEWAL\nscepstandard\n"),
	                 SCEP_CAP_AES | SCEP_CAP_POST_PKI_OPERATION | SCEP_CAP_SHA256 |
	                     SCEP_CAP_RENEWAL | SCEP_CAP_SCEP_STANDARD);
	assert_int_equal(parse("PostPKIOperation"), SCEP_CAP_POST_PKI_OPERATION);
}

static void test_caps_no_trailing_newline(void **state)
{
	(void)state;
	assert_int_equal(parse("AES\nSHA-256"), SCEP_CAP_AES | SCEP_CAP_SHA256);
	assert_int_equal(parse("SHA-256"), SCEP_CAP_SHA256);
	assert_int_equal(parse("DES3\r"), SCEP_CAP_DES3);
}

static void test_caps_whitespace(void **state)
{
	(void)state;
	assert_int_equal(parse("  AES \t\r\n\tSHA-256  \n"), SCEP_CAP_AES | SCEP_CAP_SHA256);
	/* blank lines are harmless */
	assert_int_equal(parse("\n\r\n\nDES3\n\n"), SCEP_CAP_DES3);
}

static void test_caps_unknown_lines(void **state)
{
	(void)state;
	assert_int_equal(parse("AES\nFooBar\nSHA-3\nAES256\n<html>\nSHA-256\n"),
	                 SCEP_CAP_AES | SCEP_CAP_SHA256);
	/* keyword only as a whole line, not a prefix or substring */
	assert_int_equal(parse("AESX\nXAES\nSHA-2567\nDES\nSHA\n"), 0);
	assert_int_equal(parse("AES SHA-256\n"), 0);
}

static void test_caps_empty(void **state)
{
	(void)state;
	assert_int_equal(scep_caps_parse("", 0), 0);
	assert_int_equal(scep_caps_parse(NULL, 0), 0);
	assert_int_equal(parse("\n"), 0);
	assert_int_equal(parse("\r\n\r\n"), 0);
}

static void test_caps_length_bound(void **state)
{
	/* only len bytes are read: "AES" is outside the range, not NUL-terminated data */
	static const char body[] = {'D', 'E', 'S', '3', '\n', 'A', 'E', 'S'};

	(void)state;
	assert_int_equal(scep_caps_parse(body, 5), SCEP_CAP_DES3);
	assert_int_equal(scep_caps_parse(body, 7), SCEP_CAP_DES3); /* "AE" */
	assert_int_equal(scep_caps_parse(body, sizeof body), SCEP_CAP_DES3 | SCEP_CAP_AES);
}

static void test_caps_embedded_nul(void **state)
{
	static const char body[] = "AE\0S\nSHA-256\n";

	(void)state;
	assert_int_equal(scep_caps_parse(body, sizeof body - 1), SCEP_CAP_SHA256);
}

static void test_caps_scep_standard(void **state)
{
	unsigned caps = parse("SCEPStandard\n");

	(void)state;
	assert_true(caps & SCEP_CAP_SCEP_STANDARD);
	assert_true(caps & SCEP_CAP_AES);
	assert_true(caps & SCEP_CAP_POST_PKI_OPERATION);
	assert_true(caps & SCEP_CAP_SHA256);
	assert_false(caps & SCEP_CAP_DES3);
	assert_false(caps & SCEP_CAP_SHA1);
	assert_false(caps & SCEP_CAP_RENEWAL);
	assert_string_equal(scep_caps_cipher_name(caps), "AES-128-CBC");
	assert_string_equal(scep_caps_digest_name(caps), "SHA256");
}

static void test_caps_string(void **state)
{
	char buf[256];

	(void)state;
	scep_caps_string(0, buf, sizeof buf);
	assert_string_equal(buf, "none");
	scep_caps_string(SCEP_CAP_AES, buf, sizeof buf);
	assert_string_equal(buf, "AES");
	/* fixed order whatever the order of the flags */
	scep_caps_string(SCEP_CAP_SHA256 | SCEP_CAP_POST_PKI_OPERATION | SCEP_CAP_AES, buf,
	                 sizeof buf);
	assert_string_equal(buf, "AES,POSTPKIOperation,SHA-256");
	scep_caps_string(parse("Update\nSHA-512\nSCEPStandard\nGetNextCACert\n"), buf, sizeof buf);
	assert_string_equal(buf, "AES,GetNextCACert,POSTPKIOperation,SHA-256,SHA-512,SCEPStandard,"
	                         "Update");
	scep_caps_string(0xfffu, buf, sizeof buf);
	assert_string_equal(buf, "AES,DES3,GetNextCACert,POSTPKIOperation,Renewal,SHA-1,SHA-224,"
	                         "SHA-256,SHA-384,SHA-512,SCEPStandard,Update");
	/* flags outside the known set are ignored */
	scep_caps_string(1u << 30, buf, sizeof buf);
	assert_string_equal(buf, "none");
}

static void test_caps_string_round_trip(void **state)
{
	char buf[256], lines[256];
	unsigned caps = SCEP_CAP_DES3 | SCEP_CAP_RENEWAL | SCEP_CAP_SHA1 | SCEP_CAP_SHA384;

	(void)state;
	scep_caps_string(caps, buf, sizeof buf);
	/* the rendering, split on commas, parses back to the same flags */
	for (size_t i = 0; i <= strlen(buf); i++)
		lines[i] = buf[i] == ',' ? '\n' : buf[i];
	assert_int_equal(parse(lines), caps);
}

static void test_caps_string_truncation(void **state)
{
	char buf[16], full[256];

	(void)state;
	scep_caps_string(0xfffu, full, sizeof full);
	memset(buf, 'x', sizeof buf);
	scep_caps_string(0xfffu, buf, sizeof buf);
	/* a short buffer gets a terminated prefix (possibly ending mid-word), never more */
	assert_int_equal(strlen(buf), sizeof buf - 1);
	assert_memory_equal(buf, full, sizeof buf - 1);
	memset(buf, 'x', sizeof buf);
	scep_caps_string(SCEP_CAP_AES, buf, 4);
	assert_string_equal(buf, "AES");
}

static void test_caps_cipher_preference(void **state)
{
	(void)state;
	assert_string_equal(scep_caps_cipher_name(SCEP_CAP_AES | SCEP_CAP_DES3), "AES-128-CBC");
	assert_string_equal(scep_caps_cipher_name(SCEP_CAP_AES), "AES-128-CBC");
	assert_string_equal(scep_caps_cipher_name(SCEP_CAP_DES3), "DES-EDE3-CBC");
	assert_string_equal(scep_caps_cipher_name(0), "DES-EDE3-CBC");
	assert_string_equal(scep_caps_cipher_name(parse("DES3\nAES\n")), "AES-128-CBC");
}

static void test_caps_digest_preference(void **state)
{
	(void)state;
	assert_string_equal(
	    scep_caps_digest_name(SCEP_CAP_SHA1 | SCEP_CAP_SHA256 | SCEP_CAP_SHA512), "SHA256");
	assert_string_equal(scep_caps_digest_name(SCEP_CAP_SHA1 | SCEP_CAP_SHA512), "SHA512");
	assert_string_equal(scep_caps_digest_name(SCEP_CAP_SHA256 | SCEP_CAP_SHA512), "SHA256");
	assert_string_equal(scep_caps_digest_name(SCEP_CAP_SHA1), "SHA1");
	assert_string_equal(scep_caps_digest_name(0), "SHA1");
	/* SHA-224/384 alone are not chosen: fall back to SHA-1 */
	assert_string_equal(scep_caps_digest_name(SCEP_CAP_SHA224 | SCEP_CAP_SHA384), "SHA1");
	assert_string_equal(scep_caps_digest_name(parse("SHA-1\nSHA-512\nSHA-256\n")), "SHA256");
}

static void test_caps_ndes_typical(void **state)
{
	/* what Windows Server 2016+ NDES answers */
	static const char ndes[] = "POSTPKIOperation\r\nRenewal\r\nSHA-256\r\nSHA-1\r\nDES3\r\n";
	unsigned caps = parse(ndes);

	(void)state;
	assert_int_equal(caps, SCEP_CAP_POST_PKI_OPERATION | SCEP_CAP_RENEWAL | SCEP_CAP_SHA256 |
	                           SCEP_CAP_SHA1 | SCEP_CAP_DES3);
	assert_string_equal(scep_caps_cipher_name(caps), "DES-EDE3-CBC");
	assert_string_equal(scep_caps_digest_name(caps), "SHA256");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_caps_lf),
	    cmocka_unit_test(test_caps_crlf),
	    cmocka_unit_test(test_caps_case_insensitive),
	    cmocka_unit_test(test_caps_no_trailing_newline),
	    cmocka_unit_test(test_caps_whitespace),
	    cmocka_unit_test(test_caps_unknown_lines),
	    cmocka_unit_test(test_caps_empty),
	    cmocka_unit_test(test_caps_length_bound),
	    cmocka_unit_test(test_caps_embedded_nul),
	    cmocka_unit_test(test_caps_scep_standard),
	    cmocka_unit_test(test_caps_string),
	    cmocka_unit_test(test_caps_string_round_trip),
	    cmocka_unit_test(test_caps_string_truncation),
	    cmocka_unit_test(test_caps_cipher_preference),
	    cmocka_unit_test(test_caps_digest_preference),
	    cmocka_unit_test(test_caps_ndes_typical),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
