/*
 * test_sipae_auth: the TLS-DSK text formats: a Lync 2013 401 challenge (the three schemes of
 * the public capture in lync-certprov.md §6.1), Authentication-Info, the parser's refusals,
 * the header finder over a raw response, the gssapi-data record splitter, base64, and the
 * signature buffer of §6.3 in both versions, for a request and a response.
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

#include "core/bbuf.h"
#include "transactions/clientauth/sipae_auth.h"

static const char lync_401[] =
    "SIP/2.0 401 Unauthorized\r\n"
    "Date: Fri, 04 Dec 2026 10:00:00 GMT\r\n"
    "WWW-Authenticate: NTLM realm=\"SIP Communications Service\", "
    "targetname=\"fe1.example.com\", version=4\r\n"
    "WWW-Authenticate: Kerberos realm=\"SIP Communications Service\", "
    "targetname=\"sip/fe1.example.com\", version=4\r\n"
    "WWW-Authenticate: TLS-DSK realm=\"SIP Communications Service\", "
    "targetname=\"fe1.example.com\", version=4,\r\n"
    " sts-uri=\"https://pool.example.com:443/CertProv/CertProvisioningService.svc\"\r\n"
    "From: <sip:alice@example.com>;tag=abc\r\n"
    "To: <sip:alice@example.com>;tag=srv1\r\n"
    "Call-ID: c1\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Content-Length: 0\r\n"
    "\r\n"
    "WWW-Authenticate: Basic not-a-header\r\n";

static void test_header_next_and_challenge(void **state)
{
	const char *v;
	size_t vlen, pos = 0, n = 0;
	struct sipae_params p;
	char err[160];

	(void)state;
	while (
	    sipae_header_next(lync_401, strlen(lync_401), "WWW-Authenticate", 0, &pos, &v, &vlen)) {
		assert_int_equal(sipae_params_parse(v, vlen, &p, err, sizeof err), 0);
		n++;
		if (n == 1) {
			assert_string_equal(p.scheme, "NTLM");
			assert_int_equal(p.version, 4);
		}
	}
	/* the body's look-alike is not a header */
	assert_int_equal(n, 3);
	assert_string_equal(p.scheme, "TLS-DSK");
	assert_string_equal(p.realm, "SIP Communications Service");
	assert_string_equal(p.targetname, "fe1.example.com");
	assert_int_equal(p.version, 4);
	assert_string_equal(p.sts_uri,
	                    "https://pool.example.com:443/CertProv/CertProvisioningService.svc");
	assert_null(p.gssapi);
	pos = 0;
	assert_true(sipae_header_next(lync_401, strlen(lync_401), "to", 't', &pos, &v, &vlen));
	assert_int_equal(vlen, strlen("<sip:alice@example.com>;tag=srv1"));
	pos = 0;
	assert_false(sipae_header_next(lync_401, strlen(lync_401), "Authentication-Info", 0, &pos,
	                               &v, &vlen));
}

static void test_auth_info_and_gssapi(void **state)
{
	static const char ai[] =
	    "TLS-DSK qop=\"auth\", opaque=\"ABCD0123\", srand=\"3A7B1C2D\", "
	    "snum=\"1\", rspauth=\"0123456789abcdef0123456789abcdef01234567\", "
	    "targetname=\"fe1.example.com\", realm=\"SIP Communications "
	    "Service\", version=4";
	static const char ch[] = "tls-dsk OPAQUE=\"x\\\"y\", gssapi-data=\"FgMBAAE=\", Foo=bar";
	struct sipae_params p;
	char err[160];

	(void)state;
	assert_int_equal(sipae_params_parse(ai, strlen(ai), &p, err, sizeof err), 0);
	assert_string_equal(p.qop, "auth");
	assert_string_equal(p.opaque, "ABCD0123");
	assert_string_equal(p.srand, "3A7B1C2D");
	assert_string_equal(p.snum, "1");
	assert_string_equal(p.rspauth, "0123456789abcdef0123456789abcdef01234567");
	assert_int_equal(p.version, 4);
	assert_int_equal(sipae_params_parse(ch, strlen(ch), &p, err, sizeof err), 0);
	assert_string_equal(p.scheme, "tls-dsk");
	assert_string_equal(p.opaque, "x\"y");
	assert_non_null(p.gssapi);
	assert_int_equal(p.gssapi_len, 8);
	assert_memory_equal(p.gssapi, "FgMBAAE=", 8);
}

static void test_params_refused(void **state)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "TLS-DSK realm",
	    "TLS-DSK realm=\"unterminated",
	    "TLS-DSK version=x4",
	    "TLS-DSK version=12345",
	    "TLS-DSK realm=\"a\", realm=\"b\"",
	    "TLS-DSK opaque=\"0123456789012345678901234567890123456789012345678901234567890123"
	    "456789012345678901234567890123456789012345678901234567890123456789\"",
	    "TLS-DSK =x",
	    "\"TLS-DSK\" realm=x",
	};
	struct sipae_params p;
	char err[160];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (sipae_params_parse(bad[i], strlen(bad[i]), &p, err, sizeof err) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_true(err[0] != '\0');
	}
}

static void test_records(void **state)
{
	/* handshake (4 bytes), then a fatal unknown_ca alert, then CCS */
	static const unsigned char r[] = {22, 3, 1, 0, 4,  1,  2, 3, 4, 21, 3,
	                                  1,  0, 2, 2, 48, 20, 3, 1, 0, 1,  1};
	struct sipae_record rec[4];
	size_t n;
	int level, desc;
	char err[160];

	(void)state;
	assert_int_equal(sipae_records_split(r, sizeof r, rec, 4, &n, err, sizeof err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(rec[0].type, 22);
	assert_int_equal(rec[0].version, 0x0301);
	assert_int_equal(rec[0].offset, 5);
	assert_int_equal(rec[0].length, 4);
	assert_true(sipae_records_alert(r, rec, n, &level, &desc));
	assert_int_equal(level, 2);
	assert_int_equal(desc, 48);
	/* truncated, unknown type, too many */
	assert_int_equal(sipae_records_split(r, 8, rec, 4, &n, err, sizeof err), -1);
	assert_int_equal(sipae_records_split(r, 3, rec, 4, &n, err, sizeof err), -1);
	assert_int_equal(sipae_records_split((const unsigned char *)"\x63\x03\x01\x00\x00", 5, rec,
	                                     4, &n, err, sizeof err),
	                 -1);
	assert_int_equal(sipae_records_split(r, sizeof r, rec, 2, &n, err, sizeof err), -1);
	assert_int_equal(sipae_records_split(r, 0, rec, 4, &n, err, sizeof err), -1);
	/* an alert after CCS is encrypted: not reported */
	assert_int_equal(sipae_records_split(r + 16, sizeof r - 16, rec, 4, &n, err, sizeof err),
	                 0);
	assert_false(sipae_records_alert(r + 16, rec, n, &level, &desc));
}

static void test_base64(void **state)
{
	static const char *const bad[] = {"A", "AB=C", "====", "AB==CD==", "A B=", "AB*=", "AR=="};
	struct bbuf b;

	(void)state;
	bbuf_init(&b, 64);
	assert_int_equal(sipae_base64_encode((const unsigned char *)"foobar", 6, &b), 0);
	assert_string_equal((char *)b.data, "Zm9vYmFy");
	bbuf_reset(&b);
	assert_int_equal(sipae_base64_encode((const unsigned char *)"fooba", 5, &b), 0);
	assert_string_equal((char *)b.data, "Zm9vYmE=");
	bbuf_reset(&b);
	assert_int_equal(sipae_base64_decode("Zm9vYg==", 8, &b), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "foob", 4);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		bbuf_reset(&b);
		if (sipae_base64_decode(bad[i], strlen(bad[i]), &b) != -1)
			fail_msg("accepted '%s'", bad[i]);
	}
	bbuf_free(&b);
}

/* The buffer of lync-certprov.md §6.3 / [MS-SIPAE] 3.2.5.2, item by item. */
static void test_sig_buffer(void **state)
{
	struct sipae_sig_fields f = {
	    .scheme = "TLS-DSK",
	    .rand = "3a7b1c2d",
	    .num = "1",
	    .realm = "SIP Communications Service",
	    .targetname = "fe1.example.com",
	    .call_id = "c1",
	    .cseq = 4,
	    .method = "REGISTER",
	    .from_uri = "sip:alice@example.com",
	    .from_tag = "abc",
	    .to_uri = "sip:alice@example.com",
	    .to_tag = NULL,
	    .expires = "60",
	};
	struct bbuf b;

	(void)state;
	bbuf_init(&b, 1024);
	assert_int_equal(sipae_sig_buffer(&b, &f, 4), 0);
	assert_string_equal((char *)b.data,
	                    "<TLS-DSK><3a7b1c2d><1><SIP Communications Service><fe1.example.com>"
	                    "<c1><4><REGISTER><sip:alice@example.com><abc><sip:alice@example.com>"
	                    "<><><><60>");
	/* version 2 drops the To URI and the P-Asserted-Identity items */
	bbuf_reset(&b);
	f.status = 200;
	f.to_tag = "srv1";
	f.pai_sip = "sip:alice@example.com";
	assert_int_equal(sipae_sig_buffer(&b, &f, 2), 0);
	assert_string_equal((char *)b.data,
	                    "<TLS-DSK><3a7b1c2d><1><SIP Communications Service><fe1.example.com>"
	                    "<c1><4><REGISTER><sip:alice@example.com><abc><srv1><60><200>");
	bbuf_reset(&b);
	assert_int_equal(sipae_sig_buffer(&b, &f, 3), 0);
	assert_string_equal((char *)b.data,
	                    "<TLS-DSK><3a7b1c2d><1><SIP Communications Service><fe1.example.com>"
	                    "<c1><4><REGISTER><sip:alice@example.com><abc><sip:alice@example.com>"
	                    "<srv1><sip:alice@example.com><><60><200>");
	bbuf_free(&b);
}

static void test_name_addr(void **state)
{
	char uri[64], tag[16];
	static const char a[] = "\"Alice\" <sip:alice@example.com>;tag=abc;x=y";
	static const char b[] = "sip:bob@example.com;tag=9";

	(void)state;
	assert_int_equal(sipae_name_addr(a, strlen(a), uri, sizeof uri, tag, sizeof tag), 0);
	assert_string_equal(uri, "sip:alice@example.com");
	assert_string_equal(tag, "abc");
	assert_int_equal(sipae_name_addr(b, strlen(b), uri, sizeof uri, tag, sizeof tag), 0);
	assert_string_equal(uri, "sip:bob@example.com");
	assert_string_equal(tag, "9");
	assert_int_equal(sipae_name_addr("<sip:x", 6, uri, sizeof uri, tag, sizeof tag), -1);
	assert_int_equal(sipae_name_addr(a, strlen(a), uri, 4, tag, sizeof tag), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_next_and_challenge),
	    cmocka_unit_test(test_auth_info_and_gssapi),
	    cmocka_unit_test(test_params_refused),
	    cmocka_unit_test(test_records),
	    cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_sig_buffer),
	    cmocka_unit_test(test_name_addr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
