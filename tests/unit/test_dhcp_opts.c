/*
 * test_dhcp_opts: the MS-UC-Client request and the decoding of options 43 and 120 with
 * the hex vectors of lync-certprov.md §1.2-1.3 and each malformation of §1.6: the
 * 90-byte IOS cut, length overruns, the wrong vendor class, option 120 as addresses,
 * missing options, and long options split across instances (RFC 3396).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/text.h"
#include "transactions/certprov/dhcp_opts.h"

/* §1.2 (90 bytes) and §1.3, as DHCPUtil computed them */
static const char opt43_vector[] =
    "010C4D532D55432D436C69656E74020568747470730317"
    "7365727665722E6671646E2E636F6D70616E792E636F6D"
    "04033434330525"
    "2F4365727450726F762F4365727450726F766973696F6E696E67536572766963652E737663";
static const char opt120_vector[] = "0006736572766572046671646E07636F6D70616E7903636F6D00";

static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; hex[i] != '\0' && hex[i + 1] != '\0' && n < max; i += 2)
		out[n++] = (uint8_t)(text_hex_digit(hex[i]) << 4 | text_hex_digit(hex[i + 1]));
	return n;
}

/* option 43 from sub-option values (NULL: left out) */
static size_t make43(uint8_t *out, const char *id, const char *scheme, const char *fqdn,
                     const char *port, const char *path)
{
	const char *v[5] = {id, scheme, fqdn, port, path};
	size_t n = 0;

	for (int i = 0; i < 5; i++) {
		if (v[i] == NULL)
			continue;
		out[n++] = (uint8_t)(i + 1);
		out[n++] = (uint8_t)strlen(v[i]);
		memcpy(out + n, v[i], strlen(v[i]));
		n += strlen(v[i]);
	}
	return n;
}

static enum txn_status certprov(const uint8_t *v, size_t n, char *url, char *detail)
{
	return dhcp_opts_decode_certprov(v, n, url, DHCP_URL_MAX, detail, DHCP_DETAIL_MAX);
}

static enum txn_status registrar_hex(const char *hex, char *fqdn, char *detail)
{
	uint8_t v[300];
	size_t n = unhex(hex, v, sizeof v);

	return dhcp_opts_decode_registrar(v, n, fqdn, DHCP_FQDN_MAX, detail, DHCP_DETAIL_MAX);
}

static void test_opt43_vector(void **state)
{
	uint8_t v[300];
	char url[DHCP_URL_MAX], detail[DHCP_DETAIL_MAX];
	size_t n = unhex(opt43_vector, v, sizeof v);

	(void)state;
	assert_int_equal(n, 90); /* exactly the IOS limit, and whole */
	assert_int_equal(certprov(v, n, url, detail), TXN_OK);
	assert_string_equal(
	    url, "https://server.fqdn.company.com:443/CertProv/CertProvisioningService.svc");
}

static void test_opt120_vector(void **state)
{
	char fqdn[DHCP_FQDN_MAX], detail[DHCP_DETAIL_MAX];

	(void)state;
	assert_int_equal(registrar_hex(opt120_vector, fqdn, detail), TXN_OK);
	assert_string_equal(fqdn, "server.fqdn.company.com");
}

static void test_opt43_ios_cut(void **state)
{
	uint8_t v[400];
	char url[DHCP_URL_MAX], detail[DHCP_DETAIL_MAX];
	size_t n = make43(v, "MS-UC-Client", "https", "lyncweb01.pool.emea.contoso.com", "443",
	                  "/CertProv/CertProvisioningService.svc");

	(void)state;
	assert_true(n > 90);
	/* IOS keeps 180 hex digits: sub-option 5 declares 37 bytes, fewer remain */
	assert_int_equal(certprov(v, 90, url, detail), TXN_DHCP_OPT43_TRUNCATED);
	assert_non_null(strstr(detail, "Cisco IOS"));
	assert_non_null(strstr(detail, "sub-option 5"));
	assert_string_equal(url, "");
	/* whole, the same option decodes */
	assert_int_equal(certprov(v, n, url, detail), TXN_OK);
	assert_string_equal(url, "https://lyncweb01.pool.emea.contoso.com:443/CertProv/"
	                         "CertProvisioningService.svc");
}

static void test_opt43_overrun(void **state)
{
	uint8_t v[300];
	char url[DHCP_URL_MAX], detail[DHCP_DETAIL_MAX];
	size_t n = unhex(opt43_vector, v, sizeof v);

	(void)state;
	/* sub-option 3 claims 80 bytes */
	v[22] = 0x50;
	assert_int_equal(certprov(v, n - 1, url, detail), TXN_DHCP_OPT43_TRUNCATED);
	assert_non_null(strstr(detail, "sub-option 3 declares 80 bytes"));
	assert_null(strstr(detail, "Cisco"));
	/* a code with no length byte */
	assert_int_equal(certprov(v, 15, url, detail), TXN_DHCP_OPT43_TRUNCATED);
	/* the 90-byte cut exactly at a boundary: sub-option 5 missing */
	n = make43(v, "MS-UC-Client", "https", "server.fqdn.company.com", "443", NULL);
	memset(v + n, 0, 90 - n); /* padding up to 90 */
	assert_int_equal(certprov(v, 90, url, detail), TXN_DHCP_OPT43_TRUNCATED);
	assert_int_equal(certprov(v, n, url, detail), TXN_DHCP_OPT43_MALFORMED);
	assert_non_null(strstr(detail, "sub-option 5 (CertProv path) is missing"));
}

static void test_opt43_wrong_class(void **state)
{
	uint8_t v[300];
	char url[DHCP_URL_MAX], detail[DHCP_DETAIL_MAX];
	size_t n = make43(v, "MSUCClient", "https", "pool.example.com", "443",
	                  "/CertProv/CertProvisioningService.svc");

	(void)state;
	assert_int_equal(certprov(v, n, url, detail), TXN_DHCP_OPT43_MALFORMED);
	assert_non_null(strstr(detail, "'MSUCClient', not MS-UC-Client"));
}

static void test_opt43_bad_values(void **state)
{
	uint8_t v[300];
	char url[DHCP_URL_MAX], detail[DHCP_DETAIL_MAX];
	const char *path = "/CertProv/CertProvisioningService.svc";
	size_t n;

	(void)state;
	n = make43(v, "MS-UC-Client", "ftp", "pool.example.com", "443", path);
	assert_int_equal(certprov(v, n, url, detail), TXN_DHCP_OPT43_MALFORMED);
	assert_non_null(strstr(detail, "scheme"));
	n = make43(v, "MS-UC-Client", "https", "pool example.com", "443", path);
	assert_int_equal(certprov(v, n, url, detail), TXN_DHCP_OPT43_MALFORMED);
	n = make43(v, "MS-UC-Client", "https", "pool.example.com", "44x", path);
	assert_int_equal(certprov(v, n, url, detail), TXN_DHCP_OPT43_MALFORMED);
	n = make43(v, "MS-UC-Client", "https", "pool.example.com", "70000", path);
	assert_int_equal(certprov(v, n, url, detail), TXN_DHCP_OPT43_MALFORMED);
	n = make43(v, "MS-UC-Client", "https", "pool.example.com", "443", "/CertProv/other.svc");
	assert_int_equal(certprov(v, n, url, detail), TXN_DHCP_OPT43_MALFORMED);
	assert_non_null(strstr(detail, "sub-option 5"));
	/* the port as a binary uint16 (0x01bb = 443) */
	n = make43(v, "MS-UC-Client", "https", "pool.example.com", "xx", path);
	v[14 + 7 + 18 + 2] = 0x01;
	v[14 + 7 + 18 + 3] = 0xbb;
	assert_int_equal(certprov(v, n, url, detail), TXN_DHCP_OPT43_MALFORMED);
	assert_non_null(strstr(detail, "binary number 443"));
	/* a repeated sub-option */
	n = make43(v, "MS-UC-Client", "https", "pool.example.com", "443", path);
	n += make43(v + n, NULL, "http", NULL, NULL, NULL);
	assert_int_equal(certprov(v, n, url, detail), TXN_DHCP_OPT43_MALFORMED);
	assert_non_null(strstr(detail, "twice"));
	/* http and another port are fine; unknown sub-options (10: VoiceVLAN) ignored */
	n = make43(v, "MS-UC-Client", "http", "pool.example.com", "8080",
	           "/x/CertProvisioningService.svc");
	v[n++] = 10;
	v[n++] = 2;
	v[n++] = '1';
	v[n++] = '0';
	assert_int_equal(certprov(v, n, url, detail), TXN_OK);
	assert_string_equal(url, "http://pool.example.com:8080/x/CertProvisioningService.svc");
	/* an empty option */
	assert_int_equal(certprov(v, 0, url, detail), TXN_DHCP_OPT43_MALFORMED);
}

static void test_opt120_addresses(void **state)
{
	char fqdn[DHCP_FQDN_MAX], detail[DHCP_DETAIL_MAX];

	(void)state;
	assert_int_equal(registrar_hex("010AC80001", fqdn, detail), TXN_DHCP_OPT120_ADDRESSES);
	assert_non_null(strstr(detail, "10.200.0.1"));
	assert_string_equal(fqdn, "");
	assert_int_equal(registrar_hex("010AC800010AC80002", fqdn, detail),
	                 TXN_DHCP_OPT120_ADDRESSES);
	assert_non_null(strstr(detail, "10.200.0.1,10.200.0.2"));
}

static void test_opt120_malformed(void **state)
{
	char fqdn[DHCP_FQDN_MAX], detail[DHCP_DETAIL_MAX];

	(void)state;
	/* no trailing 0x00 */
	assert_int_equal(
	    registrar_hex("0006736572766572046671646E07636F6D70616E7903636F6D", fqdn, detail),
	    TXN_DHCP_OPT120_MALFORMED);
	assert_non_null(strstr(detail, "terminating 0x00"));
	/* a label running past the option */
	assert_int_equal(registrar_hex("00207365727665", fqdn, detail), TXN_DHCP_OPT120_MALFORMED);
	/* encoding 2, empty, encoding byte only, single label, label type 0x40 */
	assert_int_equal(registrar_hex("02037369700000", fqdn, detail), TXN_DHCP_OPT120_MALFORMED);
	assert_int_equal(registrar_hex("", fqdn, detail), TXN_DHCP_OPT120_MALFORMED);
	assert_int_equal(registrar_hex("00", fqdn, detail), TXN_DHCP_OPT120_MALFORMED);
	assert_int_equal(registrar_hex("000373697000", fqdn, detail), TXN_DHCP_OPT120_MALFORMED);
	assert_non_null(strstr(detail, "fully qualified"));
	assert_int_equal(registrar_hex("0041", fqdn, detail), TXN_DHCP_OPT120_MALFORMED);
	/* a pointer to itself or forward loops */
	assert_int_equal(registrar_hex("0003736970C000", fqdn, detail), TXN_DHCP_OPT120_MALFORMED);
	assert_int_equal(registrar_hex("00C000", fqdn, detail), TXN_DHCP_OPT120_MALFORMED);
	/* a label cut short */
	assert_int_equal(registrar_hex("000373697007657861" /* cut */, fqdn, detail),
	                 TXN_DHCP_OPT120_MALFORMED);
}

static void test_opt120_compression(void **state)
{
	char fqdn[DHCP_FQDN_MAX], detail[DHCP_DETAIL_MAX];

	(void)state;
	/* sip.example.test, then pool + pointer to "example.test" (offset 4 of the list) */
	assert_int_equal(
	    registrar_hex("0003736970076578616D706C6504746573740004706F6F6CC004", fqdn, detail),
	    TXN_OK);
	assert_string_equal(fqdn, "sip.example.test");
}

/* A BOOTREPLY with the given options area (after the cookie). */
static size_t make_reply(uint8_t *pkt, uint32_t xid, const uint8_t *opts, size_t optlen)
{
	static const uint8_t cookie[4] = {99, 130, 83, 99};

	memset(pkt, 0, 240);
	pkt[0] = 2;
	pkt[1] = 1;
	pkt[2] = 6;
	memcpy(pkt + 4, &xid, 4);
	memcpy(pkt + 236, cookie, 4);
	memcpy(pkt + 240, opts, optlen);
	return 240 + optlen;
}

static size_t put_opt(uint8_t *o, uint8_t code, const uint8_t *v, size_t n)
{
	o[0] = code;
	o[1] = (uint8_t)n;
	memcpy(o + 2, v, n);
	return n + 2;
}

static void test_reply_split_long_option(void **state)
{
	uint8_t opt43[600], opts[1200], pkt[1500], v120[64];
	char fqdn[200], path[200];
	struct dhcp_reply *r = test_malloc(sizeof *r);
	struct dhcp_found f;
	size_t n43, n120, o = 0, cut;
	uint8_t ack = DHCP_MSG_ACK;
	uint8_t sid[4] = {10, 200, 0, 1};

	(void)state;
	memset(fqdn, 'a', 120);
	memcpy(fqdn + 120, ".example.com", 13);
	memset(path, 'p', 150);
	memcpy(path, "/", 1);
	memcpy(path + 150, "/CertProvisioningService.svc", 29);
	n43 = make43(opt43, "MS-UC-Client", "https", fqdn, "443", path);
	assert_true(n43 > 255);
	n120 = unhex(opt120_vector, v120, sizeof v120);
	o += put_opt(opts + o, 53, &ack, 1);
	o += put_opt(opts + o, 54, sid, 4);
	/* split inside sub-option 3: only the concatenation decodes */
	cut = 200;
	o += put_opt(opts + o, 43, opt43, cut);
	o += put_opt(opts + o, 120, v120, n120);
	o += put_opt(opts + o, 43, opt43 + cut, n43 - cut);
	opts[o++] = 255;
	assert_int_equal(dhcp_opts_parse_reply(pkt, make_reply(pkt, 0x1234, opts, o), r, NULL, 0),
	                 0);
	assert_int_equal(r->message_type, DHCP_MSG_ACK);
	assert_true(r->has_server_id);
	assert_memory_equal(&r->server_id, sid, 4);
	assert_int_equal(r->xid, 0x1234);
	assert_int_equal(r->opt[43].instances, 2);
	assert_int_equal(r->opt[43].len, n43);
	assert_int_equal(r->options_len, o);
	assert_int_equal(dhcp_opts_decode(r, &f), TXN_OK);
	assert_int_equal(strlen(f.certprov_url), 8 + 132 + 4 + 178);
	assert_string_equal(f.registrar, "server.fqdn.company.com");
	test_free(r);
}

static void test_reply_missing_and_overload(void **state)
{
	uint8_t opts[600], pkt[1500], v[300];
	struct dhcp_reply *r = test_malloc(sizeof *r);
	struct dhcp_found f;
	size_t o = 0, n;
	uint8_t ack = DHCP_MSG_ACK, file_only = 1;
	char why[100];

	(void)state;
	o += put_opt(opts + o, 53, &ack, 1);
	opts[o++] = 255;
	assert_int_equal(dhcp_opts_parse_reply(pkt, make_reply(pkt, 7, opts, o), r, NULL, 0), 0);
	assert_int_equal(dhcp_opts_decode(r, &f), TXN_DHCP_OPT43_MISSING);
	assert_non_null(strstr(f.detail, "no option 43"));
	assert_non_null(strstr(f.detail, "no option 120"));

	/* 43 present, 120 missing */
	o = 0;
	o += put_opt(opts + o, 53, &ack, 1);
	n = unhex(opt43_vector, v, sizeof v);
	o += put_opt(opts + o, 43, v, n);
	opts[o++] = 255;
	assert_int_equal(dhcp_opts_parse_reply(pkt, make_reply(pkt, 7, opts, o), r, NULL, 0), 0);
	assert_int_equal(dhcp_opts_decode(r, &f), TXN_DHCP_OPT120_MISSING);
	assert_string_equal(
	    f.certprov_url,
	    "https://server.fqdn.company.com:443/CertProv/CertProvisioningService.svc");

	/* option overload: 120 in the file field (RFC 2132 option 52 = 1) */
	o = 0;
	o += put_opt(opts + o, 53, &ack, 1);
	o += put_opt(opts + o, 52, &file_only, 1);
	o += put_opt(opts + o, 43, v, n);
	opts[o++] = 255;
	n = make_reply(pkt, 7, opts, o);
	{
		uint8_t v120[64];
		size_t k = unhex(opt120_vector, v120, sizeof v120);
		pkt[108] = 120;
		pkt[109] = (uint8_t)k;
		memcpy(pkt + 110, v120, k);
		pkt[110 + k] = 255;
	}
	assert_int_equal(dhcp_opts_parse_reply(pkt, n, r, NULL, 0), 0);
	assert_int_equal(dhcp_opts_decode(r, &f), TXN_OK);
	assert_string_equal(f.registrar, "server.fqdn.company.com");

	/* not replies */
	pkt[0] = 1;
	assert_int_equal(dhcp_opts_parse_reply(pkt, n, r, why, sizeof why), -1);
	assert_non_null(strstr(why, "BOOTREPLY"));
	pkt[0] = 2;
	pkt[237] = 0;
	assert_int_equal(dhcp_opts_parse_reply(pkt, n, r, why, sizeof why), -1);
	assert_int_equal(dhcp_opts_parse_reply(pkt, 100, r, why, sizeof why), -1);
	/* an option running past the packet */
	o = 0;
	opts[o++] = 43;
	opts[o++] = 50;
	opts[o++] = 1;
	assert_int_equal(
	    dhcp_opts_parse_reply(pkt, make_reply(pkt, 7, opts, o), r, why, sizeof why), -1);
	assert_non_null(strstr(why, "option 43"));
	test_free(r);
}

static void test_build_request(void **state)
{
	uint8_t buf[DHCP_PACKET_MAX], small[100];
	struct dhcp_request q = {.type = DHCP_MSG_INFORM,
	                         .xid = 0xdeadbeef,
	                         .ciaddr = 0x0200c80a,
	                         .chaddr = {2, 0, 0, 0, 0, 1}};
	size_t n = dhcp_opts_build_request(&q, buf, sizeof buf);
	const uint8_t *p = buf + 240;
	bool saw43 = false, saw120 = false, saw60 = false, saw53 = false;

	(void)state;
	assert_int_equal(dhcp_opts_build_request(&q, small, sizeof small), 0);
	assert_int_equal(n, DHCP_PACKET_MIN);
	assert_int_equal(buf[0], 1);
	assert_memory_equal(buf + 4, &q.xid, 4);
	assert_memory_equal(buf + 12, &q.ciaddr, 4);
	assert_int_equal(buf[10], 0); /* no broadcast flag */
	assert_memory_equal(buf + 28, q.chaddr, 6);
	assert_memory_equal(buf + 236, "\x63\x82\x53\x63", 4);
	while (*p != 255) {
		if (p[0] == 53)
			saw53 = p[2] == DHCP_MSG_INFORM;
		if (p[0] == 60)
			saw60 = p[1] == 12 && memcmp(p + 2, "MS-UC-Client", 12) == 0;
		if (p[0] == 55)
			for (unsigned i = 0; i < p[1]; i++) {
				saw43 |= p[2 + i] == 43;
				saw120 |= p[2 + i] == 120;
			}
		p += 2 + p[1];
	}
	assert_true(saw53 && saw60 && saw43 && saw120);
	q.type = DHCP_MSG_DISCOVER;
	q.broadcast = true;
	q.ciaddr = 0;
	q.vendor_class = "CPE-OCPHONE";
	n = dhcp_opts_build_request(&q, buf, sizeof buf);
	assert_int_equal(buf[10], 0x80);
	assert_int_equal(buf[242], DHCP_MSG_DISCOVER);
	for (p = buf + 240; *p != 60 && p < buf + n; p += 2 + p[1])
		;
	assert_memory_equal(p,
	                    "\x3c\x0b"
	                    "CPE-OCPHONE",
	                    13);
}

static void test_hex(void **state)
{
	char out[8];

	(void)state;
	dhcp_opts_hex((const uint8_t *)"\x01\xab\xff\x00", 4, out, sizeof out);
	assert_string_equal(out, "01abff");
	dhcp_opts_hex((const uint8_t *)"\x01\xab", 2, out, sizeof out);
	assert_string_equal(out, "01ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_opt43_vector),
	    cmocka_unit_test(test_opt120_vector),
	    cmocka_unit_test(test_opt43_ios_cut),
	    cmocka_unit_test(test_opt43_overrun),
	    cmocka_unit_test(test_opt43_wrong_class),
	    cmocka_unit_test(test_opt43_bad_values),
	    cmocka_unit_test(test_opt120_addresses),
	    cmocka_unit_test(test_opt120_malformed),
	    cmocka_unit_test(test_opt120_compression),
	    cmocka_unit_test(test_reply_split_long_option),
	    cmocka_unit_test(test_reply_missing_and_overload),
	    cmocka_unit_test(test_build_request),
	    cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
