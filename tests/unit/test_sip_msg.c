/*
 * test_sip_msg: SIP request building (exact bytes, injection refused) and response parsing
 * as a registrar would answer over TLS: Kamailio and Lync/Skype style responses, stream
 * framing (keep-alives, back-to-back, every prefix incomplete) and the size caps.
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
#include "net/sip_msg.h"

#define CRLF "\r\n"

static const char resp_kamailio_200[] =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TLS 127.0.0.1:55555;branch=z9hG4bK123;rport=41234;received=127.0.0.1\r\n"
    "From: <sip:alice@registrar.rig.test>;tag=1\r\n"
    "To: <sip:alice@registrar.rig.test>;tag=abc\r\n"
    "Call-ID: 1@rig.test\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Contact: <sip:alice@127.0.0.1:55555;transport=tls>;expires=120\r\n"
    "Server: kamailio (5.6.3 (x86_64/linux))\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static const char resp_403_warning[] =
    "SIP/2.0 403 Forbidden\r\n"
    "Via: SIP/2.0/TLS 127.0.0.1:55555;branch=z9hG4bK124;rport=41234\r\n"
    "From: <sip:alice@rig.test>;tag=1\r\n"
    "To: <sip:alice@rig.test>;tag=srv403\r\n"
    "Call-ID: 2@rig.test\r\n"
    "CSeq: 2 REGISTER\r\n"
    "Warning: 399 registrar.rig.test \"Account disabled, see admin\", 399 other \"second\"\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static const char resp_403_ms_diag[] =
    "SIP/2.0 403 Forbidden\r\n"
    "Via: SIP/2.0/TLS 192.0.2.10:50123;branch=z9hG4bK7f3a;received=198.51.100.7;ms-received-port="
    "50123;ms-received-cid=1A2B00\r\n"
    "From: \"Alice\" <sip:alice@contoso.com>;tag=9e2c;epid=01010101\r\n"
    "To: <sip:alice@contoso.com>;tag=B3A1C0DE\r\n"
    "Call-ID: 5c2d@192.0.2.10\r\n"
    "CSeq: 3 REGISTER\r\n"
    "ms-diagnostics-public: 1000;reason=\"Final handling\"\r\n"
    "ms-diagnostics: 1000;reason=\"Final handling of the transaction failed\";source=\"pool."
    "contoso.com\"\r\n"
    "Server: RTC/7.0\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static const char resp_401_lync[] =
    "SIP/2.0 401 Unauthorized\r\n"
    "Via: SIP/2.0/TLS 192.0.2.10:50123;branch=z9hG4bK7f3b;ms-received-port=50123\r\n"
    "From: <sip:alice@contoso.com>;tag=9e2d\r\n"
    "To: <sip:alice@contoso.com>;tag=C0FFEE\r\n"
    "Call-ID: 5c2e@192.0.2.10\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Date: Tue, 04 Jun 2024 10:00:00 GMT\r\n"
    "WWW-Authenticate: NTLM realm=\"SIP Communications Service\", targetname=\"pool.contoso.com\""
    ", version=4\r\n"
    "WWW-Authenticate: Kerberos realm=\"SIP Communications Service\", targetname=\"sip/pool.contoso"
    ".com\", version=4\r\n"
    "WWW-Authenticate: TLS-DSK realm=\"SIP Communications Service\", targetname=\"pool.contoso."
    "com\", version=4, sts-uri=\"https://pool.contoso.com:443/CertProv/CertProvisioningService."
    "svc\"\r\n"
    "Server: RTC/7.0\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static const char resp_301[] =
    "SIP/2.0 301 Moved Permanently\r\n"
    "Via: SIP/2.0/TLS 127.0.0.1:55555;branch=z9hG4bK301\r\n"
    "From: <sip:alice@rig.test>;tag=1\r\n"
    "To: <sip:alice@rig.test>;tag=mv\r\n"
    "Call-ID: 3@rig.test\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Contact: \"Pool, Two <2>\" <sip:alice@pool2.rig.test;transport=tls>;q=0.5;EXPIRES=30, "
    "<sip:alice@pool3.rig.test>\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static const char resp_503[] = "SIP/2.0 503 Service Unavailable\r\n"
                               "Via: SIP/2.0/TLS 127.0.0.1:55555;branch=z9hG4bK503\r\n"
                               "Call-ID: 4@rig.test\r\n"
                               "CSeq: 1 OPTIONS\r\n"
                               "Retry-After: 120 (maintenance);duration=3600\r\n"
                               "Content-Length: 0\r\n"
                               "\r\n";

static const char resp_compact[] = "SIP/2.0 200 OK\r\n"
                                   "v: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bKc1, SIP/2.0/TLS "
                                   "10.0.0.2;branch=z9hG4bKc2\r\n"
                                   "f: <sip:a@b>;tag=f1\r\n"
                                   "t: sip:a@b;tag=t1\r\n"
                                   "i: c1@b\r\n"
                                   "CSeq: 9 OPTIONS\r\n"
                                   "m: sip:a@10.0.0.1:5061;expires=60\r\n"
                                   "L: 0\r\n"
                                   "\r\n";

static const char resp_folded[] = "SIP/2.0 200 OK\r\n"
                                  "Via: SIP/2.0/TLS 10.0.0.1:5061\r\n"
                                  " ;branch=z9hG4bKfold\r\n"
                                  "Server: long\r\n"
                                  "\tserver   name\r\n"
                                  "Contact:\r\n"
                                  "  <sip:a@h>\r\n"
                                  "  ;expires=15\r\n"
                                  "Content-Length:\r\n"
                                  " 0\r\n"
                                  "\r\n";

static const char resp_body[] = "SIP/2.0 200 OK\r\n"
                                "CSeq: 5 OPTIONS\r\n"
                                "Content-Type: text/plain\r\n"
                                "Content-Length: 5\r\n"
                                "\r\n"
                                "hello";

/* Parses exactly n bytes from a heap copy, so ASan sees any read past the end. */
static enum sip_parse_ret parse_n(const void *s, size_t n, struct sip_response *r, size_t *consumed,
                                  char *err, size_t errlen)
{
	unsigned char *copy = malloc(n > 0 ? n : 1);
	enum sip_parse_ret rc;

	assert_non_null(copy);
	memcpy(copy, s, n);
	rc = sip_response_parse(copy, n, r, consumed, err, errlen);
	free(copy);
	return rc;
}

static enum sip_parse_ret parse(const char *s, struct sip_response *r, size_t *consumed, char *err)
{
	return parse_n(s, strlen(s), r, consumed, err, 128);
}

/* Every string field must be NUL-terminated within its array. */
static void assert_terminated(const struct sip_response *r)
{
	assert_true(memchr(r->reason, '\0', sizeof r->reason) != NULL);
	assert_true(memchr(r->warning, '\0', sizeof r->warning) != NULL);
	assert_true(memchr(r->ms_diagnostics, '\0', sizeof r->ms_diagnostics) != NULL);
	assert_true(memchr(r->contact_uri, '\0', sizeof r->contact_uri) != NULL);
	assert_true(memchr(r->call_id, '\0', sizeof r->call_id) != NULL);
	assert_true(memchr(r->cseq_method, '\0', sizeof r->cseq_method) != NULL);
	assert_true(memchr(r->via_branch, '\0', sizeof r->via_branch) != NULL);
	assert_true(memchr(r->from_tag, '\0', sizeof r->from_tag) != NULL);
	assert_true(memchr(r->to_tag, '\0', sizeof r->to_tag) != NULL);
	assert_true(memchr(r->server, '\0', sizeof r->server) != NULL);
	assert_true(memchr(r->www_authenticate, '\0', sizeof r->www_authenticate) != NULL);
}

/* Expects ERROR (or TOOBIG) and an err that contains want. */
static void expect_fail(const char *s, size_t n, enum sip_parse_ret want_rc, const char *want)
{
	struct sip_response r;
	size_t consumed = 99;
	char err[128];

	assert_int_equal(parse_n(s, n, &r, &consumed, err, sizeof err), want_rc);
	assert_int_equal(consumed, 0);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	assert_terminated(&r);
}

/* for a string literal: its length without the NUL */
#define EXPECT_FAIL(lit, want_rc, want) expect_fail((lit), sizeof(lit) - 1, (want_rc), (want))

static struct sip_request_params register_params(void)
{
	struct sip_request_params p = {
	    .method = "REGISTER",
	    .request_uri = "sip:rig.test",
	    .from_uri = "sip:alice@rig.test",
	    .to_uri = "sip:alice@rig.test",
	    .contact_uri = "sip:alice@127.0.0.1:5061;transport=tls",
	    .expires = 3600,
	    .call_id = "0123abcd@certprobe",
	    .from_tag = "f00d",
	    .branch = "z9hG4bK5e1f",
	    .cseq = 1,
	    .via_host = "127.0.0.1",
	    .via_port = 5061,
	    .user_agent = "certprobe/0.1",
	};
	return p;
}

static void test_build_register(void **state)
{
	struct sip_request_params p = register_params();
	struct bbuf b;
	static const char want[] = "REGISTER sip:rig.test SIP/2.0\r\n"
	                           "Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK5e1f;rport\r\n"
	                           "Max-Forwards: 70\r\n"
	                           "From: <sip:alice@rig.test>;tag=f00d\r\n"
	                           "To: <sip:alice@rig.test>\r\n"
	                           "Call-ID: 0123abcd@certprobe\r\n"
	                           "CSeq: 1 REGISTER\r\n"
	                           "Contact: <sip:alice@127.0.0.1:5061;transport=tls>\r\n"
	                           "Expires: 3600\r\n"
	                           "User-Agent: certprobe/0.1\r\n"
	                           "Content-Length: 0\r\n"
	                           "\r\n";

	(void)state;
	bbuf_init(&b, 4096);
	assert_int_equal(sip_request_build(&b, &p), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);

	/* un-REGISTER of the same binding: Expires: 0, next CSeq; appended after the first */
	p.expires = 0;
	p.cseq = 2;
	assert_int_equal(sip_request_build(&b, &p), 0);
	assert_non_null(strstr((char *)b.data + strlen(want), "\r\nCSeq: 2 REGISTER\r\n"));
	assert_non_null(strstr((char *)b.data + strlen(want), "\r\nExpires: 0\r\n"));
	bbuf_free(&b);
}

static void test_build_options_without_contact(void **state)
{
	struct sip_request_params p = register_params();
	struct bbuf b;
	static const char want[] = "OPTIONS sip:rig.test SIP/2.0\r\n"
	                           "Via: SIP/2.0/TLS 127.0.0.1;branch=z9hG4bKopt1;rport\r\n"
	                           "Max-Forwards: 70\r\n"
	                           "From: <sip:alice@rig.test>;tag=f00d\r\n"
	                           "To: <sip:rig.test>\r\n"
	                           "Call-ID: 0123abcd@certprobe\r\n"
	                           "CSeq: 7 OPTIONS\r\n"
	                           "Content-Length: 0\r\n"
	                           "\r\n";

	(void)state;
	p.method = "OPTIONS";
	p.to_uri = "sip:rig.test";
	p.contact_uri = NULL;
	p.expires = -1;
	p.user_agent = NULL;
	p.branch = "z9hG4bKopt1";
	p.cseq = 7;
	p.via_port = 0;
	bbuf_init(&b, 4096);
	assert_int_equal(sip_request_build(&b, &p), 0);
	assert_string_equal((char *)b.data, want);
	bbuf_free(&b);
}

static void test_build_to_defaults_to_from(void **state)
{
	struct sip_request_params p = register_params();
	struct bbuf b;

	(void)state;
	p.to_uri = NULL;
	bbuf_init(&b, 4096);
	assert_int_equal(sip_request_build(&b, &p), 0);
	assert_non_null(strstr((char *)b.data, "\r\nTo: <sip:alice@rig.test>\r\n"));
	bbuf_free(&b);
}

/* TLS-DSK: an Authorization header before Content-Length; no line break may ride in it */
static void test_build_authorization(void **state)
{
	struct sip_request_params p = register_params();
	struct bbuf b;

	(void)state;
	p.authorization = "TLS-DSK qop=\"auth\", realm=\"SIP Communications Service\", "
	                  "targetname=\"fe1\", gssapi-data=\"FgMB\", version=4";
	bbuf_init(&b, 4096);
	assert_int_equal(sip_request_build(&b, &p), 0);
	assert_non_null(strstr(
	    (char *)b.data, "\r\nUser-Agent: certprobe/0.1\r\nAuthorization: TLS-DSK qop=\"auth\", "
	                    "realm=\"SIP Communications Service\", targetname=\"fe1\", "
	                    "gssapi-data=\"FgMB\", version=4\r\nContent-Length: 0\r\n\r\n"));
	bbuf_reset(&b);
	p.authorization = "TLS-DSK x\r\nX-Evil: 1";
	assert_int_equal(sip_request_build(&b, &p), -1);
	p.authorization = "";
	assert_int_equal(sip_request_build(&b, &p), -1);
	bbuf_free(&b);
}

static void assert_refused(const struct sip_request_params *p)
{
	struct bbuf b;

	bbuf_init(&b, 4096);
	assert_int_equal(bbuf_append(&b, "x", 1), 0);
	assert_int_equal(sip_request_build(&b, p), -1);
	assert_int_equal(b.len, 1); /* nothing appended */
	assert_string_equal((char *)b.data, "x");
	bbuf_free(&b);
}

static void test_build_injection_refused(void **state)
{
	struct sip_request_params p;

	(void)state;
	p = register_params();
	p.from_uri = "sip:alice@rig.test>\r\nX-Evil: 1\r\nFrom: <sip:x@y";
	assert_refused(&p);
	p = register_params();
	p.call_id = "abc\r\nContact: <sip:evil@x>";
	assert_refused(&p);
	p = register_params();
	p.call_id = "abc\ndef";
	assert_refused(&p);
	p = register_params();
	p.from_tag = "t\rx";
	assert_refused(&p);
	p = register_params();
	p.user_agent = "certprobe\r\n\r\nINVITE";
	assert_refused(&p);
	p = register_params();
	p.contact_uri = "sip:a@b\n";
	assert_refused(&p);
	p = register_params();
	p.request_uri = "sip:rig.test SIP/2.0\r\n";
	assert_refused(&p);
	p = register_params();
	p.via_host = "127.0.0.1\r\nX: y";
	assert_refused(&p);
	p = register_params();
	p.branch = "z9hG4bK\t1";
	assert_refused(&p);
	/* white space would split the request line or a token */
	p = register_params();
	p.request_uri = "sip:rig.test extra";
	assert_refused(&p);
	p = register_params();
	p.call_id = "a b";
	assert_refused(&p);
	/* '>' would close the name-addr early */
	p = register_params();
	p.to_uri = "sip:a@b>;tag=forged";
	assert_refused(&p);
	p = register_params();
	p.method = "REGISTER sip:x";
	assert_refused(&p);
}

static void test_build_missing_and_range(void **state)
{
	struct sip_request_params p;
	struct bbuf b;

	(void)state;
	p = register_params();
	p.method = NULL;
	assert_refused(&p);
	p = register_params();
	p.call_id = NULL;
	assert_refused(&p);
	p = register_params();
	p.from_tag = "";
	assert_refused(&p);
	p = register_params();
	p.branch = NULL;
	assert_refused(&p);
	p = register_params();
	p.via_host = NULL;
	assert_refused(&p);
	p = register_params();
	p.request_uri = "";
	assert_refused(&p);
	p = register_params();
	p.from_uri = NULL;
	p.to_uri = NULL;
	assert_refused(&p);
	p = register_params();
	p.via_port = 65536;
	assert_refused(&p);
	p = register_params();
	p.cseq = 0x80000000u;
	assert_refused(&p);
	/* "Contact: *" is only allowed with Expires: 0 */
	p = register_params();
	p.contact_uri = "*";
	assert_refused(&p);
	assert_int_equal(sip_request_build(NULL, &p), -1);

	/* the cap: refused whole, marked too big */
	p = register_params();
	bbuf_init(&b, 100);
	assert_int_equal(sip_request_build(&b, &p), -1);
	assert_int_equal(b.len, 0);
	assert_true(b.toobig);
	bbuf_free(&b);
}

static void test_build_branch_cookie_and_star(void **state)
{
	struct sip_request_params p = register_params();
	struct bbuf b;

	(void)state;
	bbuf_init(&b, 4096);
	p.branch = "abc123";
	assert_int_equal(sip_request_build(&b, &p), 0);
	assert_non_null(strstr((char *)b.data, ";branch=z9hG4bKabc123;rport\r\n"));

	/* the cookie is case-sensitive: a look-alike still gets one */
	bbuf_reset(&b);
	p.branch = "Z9HG4BKabc";
	assert_int_equal(sip_request_build(&b, &p), 0);
	assert_non_null(strstr((char *)b.data, ";branch=z9hG4bKZ9HG4BKabc;"));

	/* an IPv6 sent-by is bracketed; "Contact: *" removes every binding */
	bbuf_reset(&b);
	p.branch = "z9hG4bKx";
	p.via_host = "2001:db8::1";
	p.contact_uri = "*";
	p.expires = 0;
	assert_int_equal(sip_request_build(&b, &p), 0);
	assert_non_null(
	    strstr((char *)b.data, "Via: SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bKx;"));
	assert_non_null(strstr((char *)b.data, "\r\nContact: *\r\nExpires: 0\r\n"));
	bbuf_free(&b);
}

static void test_hex_token(void **state)
{
	static const unsigned char rnd[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
	static const unsigned char rnd2[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xee};
	char buf[41], buf2[41];

	(void)state;
	memset(buf, 'Z', sizeof buf);
	sip_hex_token(buf, 16, rnd, sizeof rnd);
	assert_string_equal(buf, "0123456789abcdef");
	assert_int_equal(buf[17], 'Z'); /* n chars and the NUL, nothing more */

	sip_hex_token(buf, 5, rnd, sizeof rnd);
	assert_string_equal(buf, "01234");

	/* longer than the seed: the seed in hex, then a stretch depending on all of it */
	sip_hex_token(buf, 40, rnd, sizeof rnd);
	sip_hex_token(buf2, 40, rnd2, sizeof rnd2);
	assert_int_equal(strlen(buf), 40);
	assert_memory_equal(buf, "0123456789abcdef", 16);
	assert_true(strspn(buf, "0123456789abcdef") == 40);
	assert_memory_not_equal(buf + 16, buf2 + 16, 24);

	sip_hex_token(buf, 0, rnd, sizeof rnd);
	assert_string_equal(buf, "");
	sip_hex_token(buf, 8, NULL, 0);
	assert_int_equal(strlen(buf), 8);
}

static void test_parse_kamailio_200(void **state)
{
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	assert_int_equal(parse(resp_kamailio_200, &r, &consumed, err), SIP_PARSE_OK);
	assert_string_equal(err, "");
	assert_int_equal(consumed, strlen(resp_kamailio_200));
	assert_int_equal(r.code, 200);
	assert_string_equal(r.reason, "OK");
	assert_string_equal(r.via_branch, "z9hG4bK123");
	assert_string_equal(r.from_tag, "1");
	assert_string_equal(r.to_tag, "abc");
	assert_string_equal(r.call_id, "1@rig.test");
	assert_int_equal(r.cseq, 1);
	assert_string_equal(r.cseq_method, "REGISTER");
	assert_string_equal(r.contact_uri, "sip:alice@127.0.0.1:55555;transport=tls");
	assert_int_equal(r.contact_expires, 120);
	assert_int_equal(r.expires, -1);
	assert_string_equal(r.server, "kamailio (5.6.3 (x86_64/linux))");
	assert_string_equal(r.warning, "");
	assert_string_equal(r.ms_diagnostics, "");
	assert_string_equal(r.www_authenticate, "");
	assert_false(r.tls_dsk_offered);
	assert_int_equal(r.retry_after, -1);
	assert_int_equal(r.content_length, 0);
	assert_int_equal(r.body_offset, strlen(resp_kamailio_200));
	assert_int_equal(r.n_headers, 8);
}

static void test_parse_403_warning(void **state)
{
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	assert_int_equal(parse(resp_403_warning, &r, &consumed, err), SIP_PARSE_OK);
	assert_int_equal(r.code, 403);
	assert_string_equal(r.reason, "Forbidden");
	/* the first warning value only: the comma inside the quotes does not split */
	assert_string_equal(r.warning, "399 registrar.rig.test \"Account disabled, see admin\"");
	assert_string_equal(r.to_tag, "srv403");
}

static void test_parse_403_ms_diagnostics(void **state)
{
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	assert_int_equal(parse(resp_403_ms_diag, &r, &consumed, err), SIP_PARSE_OK);
	assert_int_equal(r.code, 403);
	/* the full ms-diagnostics wins over the public one, whatever the order */
	assert_string_equal(r.ms_diagnostics, "1000;reason=\"Final handling of the transaction "
	                                      "failed\";source=\"pool.contoso.com\"");
	assert_string_equal(r.from_tag, "9e2c");
	assert_string_equal(r.to_tag, "B3A1C0DE");
	assert_string_equal(r.via_branch, "z9hG4bK7f3a");
	assert_string_equal(r.server, "RTC/7.0");

	/* only the public one */
	assert_int_equal(parse("SIP/2.0 403 Forbidden\r\n"
	                       "MS-Diagnostics-Public: 4005;reason=\"Destination URI either not "
	                       "enabled for SIP or does not exist\"\r\n"
	                       "l: 0\r\n\r\n",
	                       &r, &consumed, err),
	                 SIP_PARSE_OK);
	assert_string_equal(r.ms_diagnostics,
	                    "4005;reason=\"Destination URI either not enabled for "
	                    "SIP or does not exist\"");
}

static void test_parse_401_www_authenticate(void **state)
{
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	assert_int_equal(parse(resp_401_lync, &r, &consumed, err), SIP_PARSE_OK);
	assert_int_equal(r.code, 401);
	assert_true(r.tls_dsk_offered);
	assert_int_equal(
	    strncmp(r.www_authenticate, "NTLM realm=\"SIP Communications Service\"", 39), 0);
	assert_non_null(strstr(r.www_authenticate, "version=4 | Kerberos realm="));
	assert_non_null(strstr(r.www_authenticate, "version=4 | TLS-DSK realm="));
	assert_non_null(strstr(r.www_authenticate,
	                       "version=4, sts-uri=\"https://pool.contoso.com:443"
	                       "/CertProv/CertProvisioningService.svc\""));

	/* no TLS-DSK: a scheme merely starting with the letters does not count */
	assert_int_equal(parse("SIP/2.0 401 Unauthorized\r\n"
	                       "WWW-Authenticate: Digest realm=\"rig.test\", nonce=\"abc\"\r\n"
	                       "WWW-Authenticate: TLS-DSKX realm=\"x\"\r\n"
	                       "Content-Length: 0\r\n\r\n",
	                       &r, &consumed, err),
	                 SIP_PARSE_OK);
	assert_false(r.tls_dsk_offered);
	assert_string_equal(r.www_authenticate,
	                    "Digest realm=\"rig.test\", nonce=\"abc\" | TLS-DSKX realm=\"x\"");

	/* the scheme is case-insensitive */
	assert_int_equal(parse("SIP/2.0 401 Unauthorized\r\n"
	                       "www-authenticate: tls-dsk realm=\"x\"\r\n"
	                       "Content-Length: 0\r\n\r\n",
	                       &r, &consumed, err),
	                 SIP_PARSE_OK);
	assert_true(r.tls_dsk_offered);
}

static void test_parse_301_contact(void **state)
{
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	assert_int_equal(parse(resp_301, &r, &consumed, err), SIP_PARSE_OK);
	assert_int_equal(r.code, 301);
	assert_string_equal(r.reason, "Moved Permanently");
	/* commas and '<' '>' inside the quoted display name do not split or open the URI */
	assert_string_equal(r.contact_uri, "sip:alice@pool2.rig.test;transport=tls");
	assert_int_equal(r.contact_expires, 30);
}

static void expect_contact(const char *contact, const char *uri, int expires)
{
	char msg[512];
	struct sip_response r;
	size_t consumed;
	char err[128];

	snprintf(msg, sizeof msg, "SIP/2.0 200 OK\r\nContact: %s\r\nContent-Length: 0\r\n\r\n",
	         contact);
	if (parse(msg, &r, &consumed, err) != SIP_PARSE_OK)
		fail_msg("Contact: %s: %s", contact, err);
	assert_string_equal(r.contact_uri, uri);
	assert_int_equal(r.contact_expires, expires);
}

static void test_parse_contact_forms(void **state)
{
	(void)state;
	expect_contact("<sip:x@h;transport=tls>;expires=120", "sip:x@h;transport=tls", 120);
	expect_contact("\"Name\" <sip:x@h>;q=0.5;expires=30", "sip:x@h", 30);
	expect_contact("Alice Smith <sip:x@h>", "sip:x@h", -1);
	/* bare addr-spec: the params after ';' belong to the header (RFC 3261 20.10) */
	expect_contact("sip:x@h;expires=5", "sip:x@h", 5);
	expect_contact("sip:x@h ; Expires = 7 ;q=1", "sip:x@h", 7);
	expect_contact("*", "*", -1);
	expect_contact("<sip:a@h>;expires=10, <sip:b@h>;expires=20", "sip:a@h", 10);
	expect_contact("<sip:a@h;expires=99>", "sip:a@h;expires=99", -1);
	expect_contact("<sip:a@h>;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-000000000001>\""
	               ";expires=3600",
	               "sip:a@h", 3600);
	/* huge expires is clamped, not wrapped */
	expect_contact("<sip:a@h>;expires=99999999999999999999", "sip:a@h", 2147483647);
	EXPECT_FAIL("SIP/2.0 200 OK\r\nContact: <sip:a@h;expires=1\r\nl: 0\r\n\r\n",
	            SIP_PARSE_ERROR, "line 2: bad Contact");
	EXPECT_FAIL("SIP/2.0 200 OK\r\nContact: <sip:a@h>;expires=soon\r\nl: 0\r\n\r\n",
	            SIP_PARSE_ERROR, "line 2: bad Contact expires");
	EXPECT_FAIL("SIP/2.0 200 OK\r\nContact: <sip:a@h> junk\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: bad Contact parameters");
	EXPECT_FAIL("SIP/2.0 200 OK\r\nm: \"Alice sip:a@h\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: bad Contact");
}

static void test_parse_503_retry_after(void **state)
{
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	assert_int_equal(parse(resp_503, &r, &consumed, err), SIP_PARSE_OK);
	assert_int_equal(r.code, 503);
	assert_string_equal(r.reason, "Service Unavailable");
	assert_int_equal(r.retry_after, 120);
	assert_string_equal(r.cseq_method, "OPTIONS");
	assert_int_equal(parse("SIP/2.0 503 x\r\nRetry-After: 30\r\nExpires: 600\r\nl:0\r\n\r\n",
	                       &r, &consumed, err),
	                 SIP_PARSE_OK);
	assert_int_equal(r.retry_after, 30);
	assert_int_equal(r.expires, 600);
	EXPECT_FAIL("SIP/2.0 503 x\r\nRetry-After: soon\r\nl:0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: bad Retry-After");
	EXPECT_FAIL("SIP/2.0 503 x\r\nRetry-After: 12s\r\nl:0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: bad Retry-After");
	EXPECT_FAIL("SIP/2.0 200 OK\r\nExpires: -1\r\nl:0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: bad Expires");
}

static void test_parse_compact(void **state)
{
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	assert_int_equal(parse(resp_compact, &r, &consumed, err), SIP_PARSE_OK);
	assert_string_equal(r.via_branch, "z9hG4bKc1"); /* the top Via only */
	assert_string_equal(r.from_tag, "f1");
	assert_string_equal(r.to_tag, "t1");
	assert_string_equal(r.call_id, "c1@b");
	assert_int_equal(r.cseq, 9);
	assert_string_equal(r.contact_uri, "sip:a@10.0.0.1:5061");
	assert_int_equal(r.contact_expires, 60);
	assert_int_equal(r.content_length, 0);
	assert_int_equal(consumed, strlen(resp_compact));
}

static void test_parse_folding(void **state)
{
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	assert_int_equal(parse(resp_folded, &r, &consumed, err), SIP_PARSE_OK);
	assert_string_equal(r.via_branch, "z9hG4bKfold");
	assert_string_equal(r.server, "long server   name");
	assert_string_equal(r.contact_uri, "sip:a@h");
	assert_int_equal(r.contact_expires, 15);
	assert_int_equal(r.n_headers, 4);
	EXPECT_FAIL("SIP/2.0 200 OK\r\n folded\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: continuation line without a header");
}

static void test_parse_bare_lf(void **state)
{
	char lf[sizeof resp_kamailio_200];
	struct sip_response r;
	size_t consumed, j = 0;
	char err[128];

	(void)state;
	for (size_t i = 0; resp_kamailio_200[i] != '\0'; i++)
		if (resp_kamailio_200[i] != '\r')
			lf[j++] = resp_kamailio_200[i];
	lf[j] = '\0';
	assert_int_equal(parse(lf, &r, &consumed, err), SIP_PARSE_OK);
	assert_int_equal(consumed, j);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.to_tag, "abc");
	assert_int_equal(r.contact_expires, 120);
	/* mixed line ends */
	assert_int_equal(
	    parse("SIP/2.0 180 Ringing\nCSeq: 1 OPTIONS\r\nl: 0\n\r\n", &r, &consumed, err),
	    SIP_PARSE_OK);
	assert_int_equal(r.code, 180);
	/* a CR that ends no line is refused: other parsers may split there */
	EXPECT_FAIL("SIP/2.0 200 OK\r\nServer: a\rX-Smuggled: 1\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: CR without LF");
}

static void test_parse_keepalives(void **state)
{
	char buf[1024];
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	snprintf(buf, sizeof buf, "\r\n\r\n\r\n\n%s", resp_kamailio_200);
	assert_int_equal(parse(buf, &r, &consumed, err), SIP_PARSE_OK);
	assert_int_equal(consumed, strlen(buf));
	assert_int_equal(r.body_offset, strlen(buf));
	assert_int_equal(r.code, 200);

	/* only keep-alives: incomplete, but the caller may drop them */
	assert_int_equal(parse("\r\n\r\n", &r, &consumed, err), SIP_PARSE_INCOMPLETE);
	assert_int_equal(consumed, 4);
	assert_int_equal(parse("\r\n\r\n\r", &r, &consumed, err), SIP_PARSE_INCOMPLETE);
	assert_int_equal(consumed, 4);
	assert_int_equal(parse("\r\nSIP/2.0 2", &r, &consumed, err), SIP_PARSE_INCOMPLETE);
	assert_int_equal(consumed, 2);
	assert_int_equal(parse_n("", 0, &r, &consumed, err, sizeof err), SIP_PARSE_INCOMPLETE);
	assert_int_equal(consumed, 0);
	EXPECT_FAIL("\r\rSIP/2.0 200 OK\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "not a SIP/2.0 status line");
}

static void test_parse_back_to_back(void **state)
{
	char buf[2048];
	struct sip_response r;
	size_t consumed, len, off;
	char err[128];

	(void)state;
	snprintf(buf, sizeof buf, "%s\r\n\r\n%s%s", resp_body, resp_503, resp_kamailio_200);
	len = strlen(buf);
	assert_int_equal(parse_n(buf, len, &r, &consumed, err, sizeof err), SIP_PARSE_OK);
	assert_int_equal(r.code, 200);
	assert_int_equal(consumed, strlen(resp_body));
	off = consumed;
	assert_int_equal(parse_n(buf + off, len - off, &r, &consumed, err, sizeof err),
	                 SIP_PARSE_OK);
	assert_int_equal(r.code, 503);
	assert_int_equal(consumed, 4 + strlen(resp_503));
	off += consumed;
	assert_int_equal(parse_n(buf + off, len - off, &r, &consumed, err, sizeof err),
	                 SIP_PARSE_OK);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.to_tag, "abc");
	off += consumed;
	assert_int_equal(off, len);
}

static void test_parse_every_prefix_incomplete(void **state)
{
	static const char *const resps[] = {resp_kamailio_200, resp_403_ms_diag, resp_401_lync,
	                                    resp_folded,       resp_body,        resp_compact};
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	for (size_t k = 0; k < sizeof resps / sizeof resps[0]; k++) {
		char buf[2048];
		size_t len;

		snprintf(buf, sizeof buf, "\r\n\r\n%s", resps[k]);
		len = strlen(buf);
		for (size_t i = 0; i < len; i++) {
			enum sip_parse_ret rc = parse_n(buf, i, &r, &consumed, err, sizeof err);
			if (rc != SIP_PARSE_INCOMPLETE)
				fail_msg("response %zu, prefix %zu: %d (%s)", k, i, rc, err);
			assert_true(consumed <= 4);
			assert_terminated(&r);
		}
		assert_int_equal(parse_n(buf, len, &r, &consumed, err, sizeof err), SIP_PARSE_OK);
		assert_int_equal(consumed, len);
	}
}

static void test_parse_body(void **state)
{
	static const char withnul[] = "SIP/2.0 200 OK\r\nl: 3\r\n\r\na\0b";
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	assert_int_equal(parse(resp_body, &r, &consumed, err), SIP_PARSE_OK);
	assert_int_equal(r.content_length, 5);
	assert_int_equal(consumed, strlen(resp_body));
	assert_int_equal(r.body_offset, strlen(resp_body) - 5);
	assert_memory_equal(resp_body + r.body_offset, "hello", 5);
	/* one byte short */
	assert_int_equal(parse_n(resp_body, strlen(resp_body) - 1, &r, &consumed, err, sizeof err),
	                 SIP_PARSE_INCOMPLETE);
	/* a NUL in the body is data, not an error */
	assert_int_equal(parse_n(withnul, sizeof withnul - 1, &r, &consumed, err, sizeof err),
	                 SIP_PARSE_OK);
	assert_int_equal(consumed, sizeof withnul - 1);
}

static void test_parse_content_length_errors(void **state)
{
	static const char missing[] = "SIP/2.0 200 OK\r\nCSeq: 1 REGISTER\r\n\r\n";
	static const char dup[] = "SIP/2.0 200 OK\r\nContent-Length: 0\r\nl: 0\r\n\r\n";
	static const char overflow[] =
	    "SIP/2.0 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n";
	static const char big[] = "SIP/2.0 200 OK\r\nContent-Length: 65537\r\n\r\n";
	static const char negative[] = "SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n";
	static const char spaced[] = "SIP/2.0 200 OK\r\nContent-Length: 1 2\r\n\r\n";
	static const char empty[] = "SIP/2.0 200 OK\r\nContent-Length:\r\n\r\n";
	static const char max[] = "SIP/2.0 200 OK\r\nContent-Length: 65536\r\n\r\n";
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	expect_fail(missing, strlen(missing), SIP_PARSE_ERROR, "no Content-Length");
	expect_fail(dup, strlen(dup), SIP_PARSE_ERROR, "line 3: duplicate Content-Length");
	expect_fail(overflow, strlen(overflow), SIP_PARSE_ERROR,
	            "line 2: Content-Length overflows");
	expect_fail(big, strlen(big), SIP_PARSE_TOOBIG, "Content-Length 65537 over 65536");
	expect_fail(negative, strlen(negative), SIP_PARSE_ERROR, "line 2: bad Content-Length");
	expect_fail(spaced, strlen(spaced), SIP_PARSE_ERROR, "line 2: bad Content-Length");
	expect_fail(empty, strlen(empty), SIP_PARSE_ERROR, "line 2: empty Content-Length");
	/* at the cap: waits for the body */
	assert_int_equal(parse(max, &r, &consumed, err), SIP_PARSE_INCOMPLETE);
}

/* A response whose header section is exactly want bytes, padded in one X-Pad header. */
static char *padded_response(size_t want)
{
	static const char head[] = "SIP/2.0 200 OK\r\nX-Pad: ";
	static const char tail[] = "\r\nContent-Length: 0\r\n\r\n";
	size_t pad = want - strlen(head) - strlen(tail);
	char *s = malloc(want + 1);

	assert_non_null(s);
	memcpy(s, head, strlen(head));
	memset(s + strlen(head), 'p', pad);
	memcpy(s + strlen(head) + pad, tail, sizeof tail);
	assert_int_equal(strlen(s), want);
	return s;
}

static void test_parse_header_cap(void **state)
{
	struct sip_response r;
	size_t consumed;
	char err[128];
	char *s;

	(void)state;
	s = padded_response(SIP_MAX_HEADER_BYTES);
	assert_int_equal(parse(s, &r, &consumed, err), SIP_PARSE_OK);
	assert_int_equal(consumed, SIP_MAX_HEADER_BYTES);
	free(s);
	s = padded_response(SIP_MAX_HEADER_BYTES + 1);
	expect_fail(s, strlen(s), SIP_PARSE_TOOBIG, "header section over 16384 bytes");
	free(s);
	s = padded_response(17 * 1024);
	expect_fail(s, strlen(s), SIP_PARSE_TOOBIG, "header section over");
	free(s);
}

static void test_parse_endless_headers(void **state)
{
	size_t cap = SIP_MAX_HEADER_BYTES + 64, len;
	char *s = malloc(cap + 3); /* room to shift in a keep-alive */
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	assert_non_null(s);
	len = (size_t)snprintf(s, cap + 1, "SIP/2.0 200 OK\r\n");
	while (len + 8 <= cap) {
		memcpy(s + len, "X-A: b\r\n", 8);
		len += 8;
	}
	/* incomplete below the cap, too big at and past it: never INCOMPLETE forever */
	for (size_t n = SIP_MAX_HEADER_BYTES - 40; n <= len; n++) {
		enum sip_parse_ret want =
		    n < SIP_MAX_HEADER_BYTES ? SIP_PARSE_INCOMPLETE : SIP_PARSE_TOOBIG;
		assert_int_equal(parse_n(s, n, &r, &consumed, err, sizeof err), want);
	}
	/* the same with keep-alives in front: the cap starts after them */
	memmove(s + 2, s, len);
	memcpy(s, "\r\n", 2);
	assert_int_equal(parse_n(s, SIP_MAX_HEADER_BYTES + 1, &r, &consumed, err, sizeof err),
	                 SIP_PARSE_INCOMPLETE);
	assert_int_equal(consumed, 2);
	assert_int_equal(parse_n(s, SIP_MAX_HEADER_BYTES + 2, &r, &consumed, err, sizeof err),
	                 SIP_PARSE_TOOBIG);
	free(s);
}

static void test_parse_too_many_headers(void **state)
{
	char *s = malloc(8192);
	size_t len;
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	assert_non_null(s);
	len = (size_t)snprintf(s, 8192, "SIP/2.0 200 OK\r\nContent-Length: 0\r\n");
	for (int i = 1; i < SIP_MAX_HEADERS; i++)
		len += (size_t)snprintf(s + len, 8192 - len, "X-H%d: v\r\n", i);
	snprintf(s + len, 8192 - len, "\r\n");
	assert_int_equal(parse(s, &r, &consumed, err), SIP_PARSE_OK);
	assert_int_equal(r.n_headers, SIP_MAX_HEADERS);
	snprintf(s + len, 8192 - len, "X-One-More: v\r\n\r\n");
	expect_fail(s, strlen(s), SIP_PARSE_TOOBIG, "line 130: more than 128 headers");
	free(s);
}

static void test_parse_not_a_response(void **state)
{
	static const char req[] = "REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bKa\r\n"
	                          "Content-Length: 0\r\n\r\n";
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	expect_fail(req, strlen(req), SIP_PARSE_ERROR, "line 1: not a SIP/2.0 status line");
	/* judged on the first bytes, without waiting for more */
	EXPECT_FAIL("REGISTER sip:x SIP/2.0", SIP_PARSE_ERROR, "not a SIP/2.0 status line");
	EXPECT_FAIL("R", SIP_PARSE_ERROR, "not a SIP/2.0 status line");
	EXPECT_FAIL("HTTP/1.1 200 OK\r\n\r\n", SIP_PARSE_ERROR, "not a SIP/2.0 status line");
	EXPECT_FAIL("SIP/3.0 200 OK\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR, "line 1: not SIP/2.0");
	EXPECT_FAIL("SIP/2.0\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR, "line 1: not SIP/2.0");
	EXPECT_FAIL("SIP/2.00 200 OK\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR, "line 1: not SIP/2.0");
	/* the version is case-insensitive (RFC 3261 7.1) */
	assert_int_equal(parse("sip/2.0 200 OK\r\nl: 0\r\n\r\n", &r, &consumed, err), SIP_PARSE_OK);
}

static void test_parse_bad_status(void **state)
{
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	EXPECT_FAIL("SIP/2.0 2000 OK\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 1: status code is not 3 digits");
	EXPECT_FAIL("SIP/2.0 099 x\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 1: status code 099 out of range");
	EXPECT_FAIL("SIP/2.0 20 x\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 1: status code is not 3 digits");
	EXPECT_FAIL("SIP/2.0 700 x\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR, "out of range");
	EXPECT_FAIL("SIP/2.0 2a0 x\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR, "not 3 digits");
	EXPECT_FAIL("SIP/2.0 +20 x\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR, "not 3 digits");
	EXPECT_FAIL("SIP/2.0  200 x\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR, "not 3 digits");
	/* the status line is judged once complete, before the headers are */
	EXPECT_FAIL("SIP/2.0 20 x\r\nVia: inc", SIP_PARSE_ERROR, "not 3 digits");
	/* an empty reason phrase is allowed */
	assert_int_equal(parse("SIP/2.0 699\r\nl: 0\r\n\r\n", &r, &consumed, err), SIP_PARSE_OK);
	assert_int_equal(r.code, 699);
	assert_string_equal(r.reason, "");
	assert_int_equal(parse("SIP/2.0 100 \r\nl: 0\r\n\r\n", &r, &consumed, err), SIP_PARSE_OK);
	assert_int_equal(r.code, 100);
}

static void test_parse_nul_and_bad_lines(void **state)
{
	static const char nul_hdr[] = "SIP/2.0 200 OK\r\nServer: a\0b\r\nl: 0\r\n\r\n";
	static const char nul_status[] = "SIP/2.0 200 O\0K\r\nl: 0\r\n\r\n";

	(void)state;
	expect_fail(nul_hdr, sizeof nul_hdr - 1, SIP_PARSE_ERROR, "line 2: NUL byte");
	expect_fail(nul_status, sizeof nul_status - 1, SIP_PARSE_ERROR, "line 1: NUL byte");
	/* a NUL is refused even before the header section is complete */
	expect_fail(nul_hdr, 30, SIP_PARSE_ERROR, "line 2: NUL byte");
	EXPECT_FAIL("SIP/2.0 200 OK\r\nVia: x\r\nbogus line\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 3: header without colon");
	EXPECT_FAIL("SIP/2.0 200 OK\r\n: x\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: header without name");
	EXPECT_FAIL("SIP/2.0 200 OK\r\nX Y: x\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: bad header name");
	EXPECT_FAIL("SIP/2.0 200 OK\r\nCSeq: x REGISTER\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: bad CSeq");
	EXPECT_FAIL("SIP/2.0 200 OK\r\nCSeq: 1 REGISTER x\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: bad CSeq method");
	EXPECT_FAIL("SIP/2.0 200 OK\r\nCSeq: 2147483648 REGISTER\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: CSeq number too large");
	EXPECT_FAIL("SIP/2.0 200 OK\r\nTo: <sip:a@b;tag=x\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: bad To address");
	EXPECT_FAIL("SIP/2.0 200 OK\r\nf: <sip:a@b>;tag=\r\nl: 0\r\n\r\n", SIP_PARSE_ERROR,
	            "line 2: bad From parameters");
	EXPECT_FAIL("SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS h;branch=\"x\r\nl: 0\r\n\r\n",
	            SIP_PARSE_ERROR, "line 2: bad Via");
	/* the header cap holds when err is NULL too */
	{
		struct sip_response r;
		size_t consumed;
		assert_int_equal(sip_response_parse((const unsigned char *)"SIP/2.0 2000", 12, &r,
		                                    &consumed, NULL, 0),
		                 SIP_PARSE_INCOMPLETE);
		assert_int_equal(
		    sip_response_parse((const unsigned char *)"XIP", 3, &r, &consumed, NULL, 0),
		    SIP_PARSE_ERROR);
	}
}

static void test_parse_reason_sanitized(void **state)
{
	struct sip_response r;
	size_t consumed;
	char err[128];

	(void)state;
	assert_int_equal(parse("SIP/2.0 200 O\x01K\x1b[2J\tX\x7f\r\nServer: a\x02"
	                       "b\tc\r\nl: 0\r\n\r\n",
	                       &r, &consumed, err),
	                 SIP_PARSE_OK);
	assert_string_equal(r.reason, "O?K?[2J?X?");
	assert_string_equal(r.server, "a?b c");
	/* UTF-8 passes through */
	assert_int_equal(parse("SIP/2.0 486 Occup\xc3\xa9\r\nl: 0\r\n\r\n", &r, &consumed, err),
	                 SIP_PARSE_OK);
	assert_string_equal(r.reason, "Occup\xc3\xa9");
}

static void test_parse_long_values_truncated(void **state)
{
	char *s = malloc(SIP_MAX_HEADER_BYTES);
	size_t len = 0;
	struct sip_response r;
	size_t consumed;
	char err[128];
	char a[1001];

	(void)state;
	assert_non_null(s);
	memset(a, 'a', sizeof a - 1);
	a[sizeof a - 1] = '\0';
	/* 126 ASCII then a 2-byte character that would end past the array: cut before it */
	len += (size_t)snprintf(s + len, SIP_MAX_HEADER_BYTES - len,
	                        "SIP/2.0 200 %.126s\xc3\xa9\r\n", a);
	len += (size_t)snprintf(s + len, SIP_MAX_HEADER_BYTES - len, "Server: %s\r\n", a);
	len += (size_t)snprintf(s + len, SIP_MAX_HEADER_BYTES - len, "Call-ID: %s@h\r\n", a);
	len +=
	    (size_t)snprintf(s + len, SIP_MAX_HEADER_BYTES - len, "Warning: 399 h \"%s\"\r\n", a);
	len += (size_t)snprintf(s + len, SIP_MAX_HEADER_BYTES - len, "ms-diagnostics: %s\r\n", a);
	len += (size_t)snprintf(s + len, SIP_MAX_HEADER_BYTES - len, "Contact: <sip:%s@h>\r\n", a);
	len += (size_t)snprintf(s + len, SIP_MAX_HEADER_BYTES - len, "To: <sip:h>;tag=%s\r\n", a);
	len += (size_t)snprintf(s + len, SIP_MAX_HEADER_BYTES - len, "From: <sip:h>;tag=%s\r\n", a);
	len += (size_t)snprintf(s + len, SIP_MAX_HEADER_BYTES - len,
	                        "Via: SIP/2.0/TLS h;branch=z9hG4bK%s\r\n", a);
	len += (size_t)snprintf(s + len, SIP_MAX_HEADER_BYTES - len, "CSeq: 1 %.40s\r\n", a);
	len += (size_t)snprintf(s + len, SIP_MAX_HEADER_BYTES - len, "WWW-Authenticate: %s\r\n", a);
	len += (size_t)snprintf(s + len, SIP_MAX_HEADER_BYTES - len, "WWW-Authenticate: %s\r\n", a);
	len += (size_t)snprintf(s + len, SIP_MAX_HEADER_BYTES - len, "Content-Length: 0\r\n\r\n");
	assert_true(len < SIP_MAX_HEADER_BYTES);
	assert_int_equal(parse(s, &r, &consumed, err), SIP_PARSE_OK);
	assert_terminated(&r);
	assert_int_equal(strlen(r.reason), 126);
	assert_int_equal(strlen(r.server), sizeof r.server - 1);
	assert_int_equal(strlen(r.call_id), sizeof r.call_id - 1);
	assert_int_equal(strlen(r.warning), sizeof r.warning - 1);
	assert_int_equal(strlen(r.ms_diagnostics), sizeof r.ms_diagnostics - 1);
	assert_int_equal(strlen(r.contact_uri), sizeof r.contact_uri - 1);
	assert_int_equal(strlen(r.to_tag), sizeof r.to_tag - 1);
	assert_int_equal(strlen(r.from_tag), sizeof r.from_tag - 1);
	assert_int_equal(strlen(r.via_branch), sizeof r.via_branch - 1);
	assert_int_equal(strlen(r.cseq_method), sizeof r.cseq_method - 1);
	assert_int_equal(strlen(r.www_authenticate), sizeof r.www_authenticate - 1);
	assert_int_equal(strncmp(r.via_branch, "z9hG4bKaaa", 10), 0);
	free(s);
}

static void test_parse_build_roundtrip_is_request(void **state)
{
	struct sip_request_params p = register_params();
	struct sip_response r;
	struct bbuf b;
	size_t consumed;
	char err[128];

	(void)state;
	/* what we send is a request: fed back to the parser (a reflecting server), it is refused */
	bbuf_init(&b, 4096);
	assert_int_equal(sip_request_build(&b, &p), 0);
	assert_int_equal(parse_n(b.data, b.len, &r, &consumed, err, sizeof err), SIP_PARSE_ERROR);
	bbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_register),
	    cmocka_unit_test(test_build_options_without_contact),
	    cmocka_unit_test(test_build_to_defaults_to_from),
	    cmocka_unit_test(test_build_authorization),
	    cmocka_unit_test(test_build_injection_refused),
	    cmocka_unit_test(test_build_missing_and_range),
	    cmocka_unit_test(test_build_branch_cookie_and_star),
	    cmocka_unit_test(test_hex_token),
	    cmocka_unit_test(test_parse_kamailio_200),
	    cmocka_unit_test(test_parse_403_warning),
	    cmocka_unit_test(test_parse_403_ms_diagnostics),
	    cmocka_unit_test(test_parse_401_www_authenticate),
	    cmocka_unit_test(test_parse_301_contact),
	    cmocka_unit_test(test_parse_contact_forms),
	    cmocka_unit_test(test_parse_503_retry_after),
	    cmocka_unit_test(test_parse_compact),
	    cmocka_unit_test(test_parse_folding),
	    cmocka_unit_test(test_parse_bare_lf),
	    cmocka_unit_test(test_parse_keepalives),
	    cmocka_unit_test(test_parse_back_to_back),
	    cmocka_unit_test(test_parse_every_prefix_incomplete),
	    cmocka_unit_test(test_parse_body),
	    cmocka_unit_test(test_parse_content_length_errors),
	    cmocka_unit_test(test_parse_header_cap),
	    cmocka_unit_test(test_parse_endless_headers),
	    cmocka_unit_test(test_parse_too_many_headers),
	    cmocka_unit_test(test_parse_not_a_response),
	    cmocka_unit_test(test_parse_bad_status),
	    cmocka_unit_test(test_parse_nul_and_bad_lines),
	    cmocka_unit_test(test_parse_reason_sanitized),
	    cmocka_unit_test(test_parse_long_values_truncated),
	    cmocka_unit_test(test_parse_build_roundtrip_is_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
