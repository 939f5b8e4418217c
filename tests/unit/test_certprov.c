/*
 * test_certprov: the phone-bootstrap pieces that need no network. P_SHA1 and HMAC-SHA1
 * against vectors computed independently (Python's hmac), base64 wrapped at 76 columns
 * with CRLF, the SOAP builders against golden XML (tests/unit/golden/certprov_*.xml) and
 * the WS-Security signature re-verified through exc-c14n, the parsers on the answers of
 * lync-certprov.md and the double's contract (faults, ErrorInfo, the certificate strictly
 * under RequestedSecurityToken), the soap door's refusals, and the issued-certificate and
 * chain checks on certificates made here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "net/soap.h"
#include "transactions/certprov/certprov_crypto.h"
#include "transactions/certprov/certprov_soap.h"

static void hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void test_psha1_vectors(void **state)
{
	unsigned char secret[32], seed[32], out[45];
	char h[100];

	(void)state;
	for (int i = 0; i < 32; i++) {
		secret[i] = (unsigned char)i;
		seed[i] = (unsigned char)(100 + i);
	}
	certprov_psha1(secret, 32, seed, 32, out, 32);
	hex(out, 32, h);
	assert_string_equal(h, "5f2f3bae6385bb76c4c85bd8393fc091b7ac48d8270dd39613328dd67ce8b566");
	/* a length that is not a multiple of 20 */
	certprov_psha1((const unsigned char *)"secret", 6, (const unsigned char *)"seed", 4, out,
	               45);
	hex(out, 45, h);
	assert_string_equal(h, "5d55432bdfe9b93a813acc932adf0f297815d1c83166a983ea042d410665dfa1"
	                       "9268d99774fd6f3fc5433f0465");
}

static void test_hmac_sha1(void **state)
{
	unsigned char mac[20];
	char h[41];
	const char *msg = "The quick brown fox jumps over the lazy dog";

	(void)state;
	certprov_hmac_sha1((const unsigned char *)"key", 3, msg, strlen(msg), mac);
	hex(mac, 20, h);
	assert_string_equal(h, "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9");
}

static void test_base64_wrap(void **state)
{
	unsigned char in[200];
	struct bbuf b, d;
	const char *p, *crlf;
	size_t lines = 0;

	(void)state;
	for (int i = 0; i < 200; i++)
		in[i] = (unsigned char)i;
	bbuf_init(&b, 4096);
	assert_int_equal(certprov_base64(in, sizeof in, 76, &b), 0);
	assert_int_equal(b.len, 268 + 3 * 2); /* 76 + 76 + 76 + 40, three CRLF */
	for (p = (const char *)b.data; (crlf = strstr(p, "\r\n")) != NULL; p = crlf + 2) {
		assert_int_equal(crlf - p, 76);
		lines++;
	}
	assert_int_equal(lines, 3);
	assert_int_equal(strlen(p), 40);
	/* back again, white space and all */
	bbuf_init(&d, 4096);
	assert_int_equal(certprov_base64_decode((const char *)b.data, b.len, &d), 0);
	assert_int_equal(d.len, 200);
	assert_memory_equal(d.data, in, 200);
	bbuf_reset(&d);
	assert_int_equal(certprov_base64_decode("AQ*D", 4, &d), -1);
	assert_int_equal(certprov_base64_decode("AQI", 3, &d), -1);
	assert_int_equal(certprov_base64_decode("AQ==AQ==", 8, &d), -1);
	/* one line when wrap is 0 */
	bbuf_reset(&b);
	assert_int_equal(certprov_base64(in, 3, 0, &b), 0);
	assert_string_equal((const char *)b.data, "AAEC");
	bbuf_free(&b);
	bbuf_free(&d);
}

static void test_device_id_stable(void **state)
{
	char a[48], b[48], c[48];

	(void)state;
	certprov_device_id("lpe-alice alice@example.com", a, sizeof a);
	certprov_device_id("lpe-alice alice@example.com", b, sizeof b);
	certprov_device_id("lpe-bob bob@example.com", c, sizeof c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 38);
	assert_true(a[0] == '{' && a[37] == '}' && a[9] == '-' && a[15] == '5');
}

/* ---------------------------------------------------------------- golden XML */

static char *slurp(const char *name, size_t *len)
{
	const char *src = getenv("CERTPROBE_SRCDIR");
	char path[4096], *buf = calloc(1, 1 << 20);
	FILE *f;

	snprintf(path, sizeof path, "%s/tests/unit/golden/%s", src != NULL ? src : ".", name);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot read %s", path);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

static void golden(const char *name, const char *text)
{
	const char *src = getenv("CERTPROBE_SRCDIR");
	char path[4096], *want;
	size_t n;
	FILE *f;

	if (getenv("CERTPROBE_GOLDEN_UPDATE") != NULL) {
		snprintf(path, sizeof path, "%s/tests/unit/golden/%s", src != NULL ? src : ".",
		         name);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
		return;
	}
	want = slurp(name, &n);
	assert_string_equal(text, want);
	free(want);
}

static const unsigned char entropy[CERTPROV_ENTROPY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};

static void test_issue_build_golden(void **state)
{
	struct certprov_issue_req r = {
	    .to = "https://pool.example.com/WebTicket/WebTicketService.svc/Auth",
	    .applies_to = "https://pool.example.com/CertProv/CertProvisioningService.svc/"
	                  "WebTicket_Proof_SHA1",
	    .sip_uri = "sip:alice@example.com",
	    .username = "+14255550100",
	    .password = "5678",
	    .entropy = entropy,
	    .message_id = "urn:uuid:6f1b9c1e-2b7c-4d2e-9a55-2f3c4b5d6e7f",
	    .context = "5b2ab5a2-0c4c-4e4b-8a61-0bd7d3e4b0c1",
	};
	struct certprov_shape raw = certprov_shape_default;
	struct soap_doc *doc = NULL;
	struct bbuf b;
	char err[160], user[64];

	(void)state;
	bbuf_init(&b, 1 << 20);
	assert_int_equal(certprov_issue_build(&r, &b), 0);
	golden("certprov_issue.xml", (const char *)b.data);
	assert_int_equal(soap_parse(b.data, b.len, 1 << 20, &doc, err, sizeof err), SOAP_PARSE_OK);
	soap_text(soap_find(soap_root(doc), "Username"), user, sizeof user);
	assert_string_equal(user, "KzE0MjU1NTUwMTAw"); /* base64 "+14255550100" */
	soap_doc_free(doc);
	/* the shape is data: other element names, plain values, no entropy */
	raw.base64 = false;
	raw.entropy = false;
	raw.username_element = "PhoneNumber";
	raw.password_element = "Pin";
	r.shape = &raw;
	bbuf_reset(&b);
	assert_int_equal(certprov_issue_build(&r, &b), 0);
	assert_non_null(
	    strstr((const char *)b.data, "<wsse:PhoneNumber>+14255550100</wsse:PhoneNumber>"));
	assert_non_null(strstr((const char *)b.data, ">5678</wsse:Pin>"));
	assert_null(strstr((const char *)b.data, "Entropy"));
	/* values are escaped */
	r.sip_uri = "sip:a<b>&\"c@example.com";
	bbuf_reset(&b);
	assert_int_equal(certprov_issue_build(&r, &b), 0);
	assert_non_null(strstr((const char *)b.data, "sip:a&lt;b&gt;&amp;&quot;c@example.com"));
	bbuf_free(&b);
}

/* Re-verify the WS-Security signature of a built request the way the service does. */
static void verify_signature(const struct soap_doc *doc, const unsigned char *key)
{
	const struct soap_node *sec = soap_find(soap_root(doc), "Security");
	const struct soap_node *ts = soap_child(sec, "Timestamp");
	const struct soap_node *sig = soap_child(sec, "Signature");
	struct bbuf c, want;
	unsigned char md[20], mac[20];
	char b64[64];

	assert_non_null(ts);
	assert_non_null(sig);
	bbuf_init(&c, 1 << 20);
	bbuf_init(&want, 256);
	assert_int_equal(soap_c14n(doc, ts, &c), 0);
	certprov_sha1(c.data, c.len, md);
	assert_int_equal(certprov_base64(md, 20, 0, &want), 0);
	soap_text(soap_find(sig, "DigestValue"), b64, sizeof b64);
	assert_string_equal(b64, (const char *)want.data);
	bbuf_reset(&c);
	bbuf_reset(&want);
	assert_int_equal(soap_c14n(doc, soap_child(sig, "SignedInfo"), &c), 0);
	certprov_hmac_sha1(key, CERTPROV_PROOF_KEY_LEN, c.data, c.len, mac);
	assert_int_equal(certprov_base64(mac, 20, 0, &want), 0);
	soap_text(soap_child(sig, "SignatureValue"), b64, sizeof b64);
	assert_string_equal(b64, (const char *)want.data);
	bbuf_free(&c);
	bbuf_free(&want);
}

static void test_gapc_build_golden_and_signed(void **state)
{
	struct certprov_ticket t = {0};
	unsigned char key[CERTPROV_PROOF_KEY_LEN];
	struct certprov_gapc_req r = {0};
	struct soap_doc *doc = NULL;
	struct bbuf b;
	char err[160], csr[200];

	(void)state;
	memset(key, 7, sizeof key);
	t.token_xml = "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:assertion\" "
	              "AssertionID=\"SamlSecurityToken-1\"></saml:Assertion>";
	snprintf(t.assertion_id, sizeof t.assertion_id, "SamlSecurityToken-1");
	snprintf(t.created, sizeof t.created, "2026-12-07T23:10:00.000Z");
	snprintf(t.expires, sizeof t.expires, "2026-12-08T07:10:00.000Z");
	r.to = "https://pool.example.com/CertProv/CertProvisioningService.svc/WebTicket_Proof_SHA1";
	r.ticket = &t;
	r.proof_key = key;
	r.device_id = "{8D5E2C1A-3F4B-4C6D-9E8F-0A1B2C3D4E5F}";
	r.entity = "alice@example.com";
	r.csr_b64 = "MIIC\r\nAAAA";
	r.request_id = "0d8d8e1c-1111-4222-8333-444455556666";
	r.message_id = "urn:uuid:11111111-2222-4333-8444-555555555555";
	bbuf_init(&b, 1 << 20);
	assert_int_equal(certprov_gapc_build(&r, &b), 0);
	golden("certprov_gapc.xml", (const char *)b.data);
	assert_int_equal(soap_parse(b.data, b.len, 1 << 20, &doc, err, sizeof err), SOAP_PARSE_OK);
	verify_signature(doc, key);
	soap_text(soap_find(soap_root(doc), "BinarySecurityToken"), csr, sizeof csr);
	assert_string_equal(csr, "MIIC\nAAAA"); /* an XML reader sees LF... */
	assert_non_null(strstr((const char *)b.data, ">MIIC\r\nAAAA<")); /* ...the wire has CRLF */
	soap_doc_free(doc);
	/* a bearer ticket: timestamp and token, no signature */
	r.proof_key = NULL;
	bbuf_reset(&b);
	assert_int_equal(certprov_gapc_build(&r, &b), 0);
	assert_null(strstr((const char *)b.data, "SignatureValue"));
	assert_non_null(strstr((const char *)b.data, "AssertionID=\"SamlSecurityToken-1\""));
	bbuf_free(&b);
}

/* ---------------------------------------------------------------- parsers */

static const char mex[] =
    "<wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" "
    "xmlns:wsp=\"http://schemas.xmlsoap.org/ws/2004/09/policy\" "
    "xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/"
    "oasis-200401-wss-wssecurity-utility-1.0.xsd\" "
    "xmlns:sp=\"http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702\" "
    "xmlns:wsa=\"http://www.w3.org/2005/08/addressing\" "
    "xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\">"
    "<wsp:Policy wsu:Id=\"Other_policy\"><sp:IssuedToken><sp:Issuer><wsa:Address>"
    "https://wrong/</wsa:Address></sp:Issuer></sp:IssuedToken></wsp:Policy>"
    "<wsp:Policy wsu:Id=\"CertProvisioningServiceWebTicketProof_SHA1_policy\"><wsp:ExactlyOne>"
    "<wsp:All><sp:EndorsingSupportingTokens><wsp:Policy><sp:IssuedToken><sp:Issuer>"
    "<wsa:Address> https://pool/WebTicket/WebTicketService.svc </wsa:Address></sp:Issuer>"
    "</sp:IssuedToken></wsp:Policy></sp:EndorsingSupportingTokens></wsp:All></wsp:ExactlyOne>"
    "</wsp:Policy><wsdl:service name=\"CertProvisioningService\">"
    "<wsdl:port name=\"CertProvisioningServiceWebTicketProof_SHA1\">"
    "<soap:address location=\"https://pool/CertProv/CertProvisioningService.svc/"
    "WebTicket_Proof_SHA1\"/></wsdl:port></wsdl:service></wsdl:definitions>";

static void test_mex_parse(void **state)
{
	struct certprov_mex m;
	char detail[240];
	char *bad;

	(void)state;
	assert_int_equal(certprov_mex_parse(mex, strlen(mex), &m, detail, sizeof detail), TXN_OK);
	assert_string_equal(m.webticket_url, "https://pool/WebTicket/WebTicketService.svc");
	assert_string_equal(
	    m.auth_url, "https://pool/CertProv/CertProvisioningService.svc/WebTicket_Proof_SHA1");
	assert_false(m.bearer);
	bad = strdup(mex);
	memcpy(strstr(bad, "CertProvisioningServiceWebTicketProof_SHA1_policy"), "X", 1);
	assert_int_equal(certprov_mex_parse(bad, strlen(bad), &m, detail, sizeof detail),
	                 TXN_CERTPROV_METADATA_BAD);
	assert_non_null(strstr(detail, "WebTicketProof_SHA1_policy"));
	free(bad);
	assert_int_equal(certprov_mex_parse("Not Found", 9, &m, detail, sizeof detail),
	                 TXN_CERTPROV_METADATA_BAD);
}

#define ENV_S "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
#define ENV_E "</s:Body></s:Envelope>"
#define WST "xmlns:wst=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\""

static const char rstr[] =
    ENV_S "<wst:RequestSecurityTokenResponseCollection " WST
          "><wst:RequestSecurityTokenResponse Context=\"c\"><wst:RequestedSecurityToken>"
          "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:assertion\" "
          "AssertionID=\"SamlSecurityToken-0f8e\" Issuer=\"URI:x\"><saml:Conditions "
          "NotBefore=\"a\"/></saml:Assertion></wst:RequestedSecurityToken>"
          "<wst:Entropy><wst:BinarySecret>AQIDBA==</wst:BinarySecret></wst:Entropy>"
          "<wst:Lifetime><wsu:Created "
          "xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/"
          "oasis-200401-wss-wssecurity-utility-1.0.xsd\">2026-12-07T23:10:00.000Z</wsu:Created>"
          "<wsu:Expires "
          "xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/"
          "oasis-200401-wss-wssecurity-utility-1.0.xsd\">2026-12-08T07:10:00.000Z</wsu:Expires></"
          "wst:Lifetime>"
          "</wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection>" ENV_E;

static void test_rstr_parse(void **state)
{
	struct certprov_ticket t;
	struct certprov_fault f;
	char detail[240];

	(void)state;
	assert_int_equal(certprov_rstr_parse(rstr, strlen(rstr), &t, &f, detail, sizeof detail),
	                 TXN_OK);
	assert_string_equal(t.assertion_id, "SamlSecurityToken-0f8e");
	assert_string_equal(t.created, "2026-12-07T23:10:00.000Z");
	assert_int_equal(t.expires_at, certprov_time_parse("2026-12-08T07:10:00Z"));
	assert_int_equal(t.server_entropy_len, 4);
	assert_false(t.proof_key_direct);
	/* the token keeps its namespace: it is sent back as it came */
	assert_non_null(
	    strstr(t.token_xml, "xmlns:saml=\"urn:oasis:names:tc:SAML:1.0:assertion\""));
	assert_non_null(strstr(t.token_xml, "<saml:Conditions NotBefore=\"a\"></saml:Conditions>"));
	/* cached until 60 s before it expires */
	assert_true(certprov_ticket_usable(&t, t.expires_at - 61));
	assert_false(certprov_ticket_usable(&t, t.expires_at - 60));
	assert_false(certprov_ticket_usable(&t, t.expires_at + 1));
	certprov_ticket_clear(&t);
}

static enum txn_status fault_status(const char *id, const char *reason)
{
	char body[2048], detail[240];
	struct certprov_ticket t;
	struct certprov_fault f;
	enum txn_status st;

	snprintf(body, sizeof body,
	         ENV_S
	         "<s:Fault><faultcode>wsse:FailedAuthentication</faultcode><faultstring>%s"
	         "</faultstring><detail><af:OCSDiagnosticsFault xmlns:af=\"urn:component:"
	         "Microsoft.Rtc.WebAuthentication.2010\"><af:Ms-Diagnostics-Fault><af:ErrorId>"
	         "%s</af:ErrorId><af:Reason>%s</af:Reason></af:Ms-Diagnostics-Fault>"
	         "</af:OCSDiagnosticsFault></detail></s:Fault>" ENV_E,
	         reason, id, reason);
	st = certprov_rstr_parse(body, strlen(body), &t, &f, detail, sizeof detail);
	assert_true(f.present);
	assert_non_null(strstr(detail, reason));
	return st;
}

static void test_webticket_faults(void **state)
{
	struct certprov_fault f;

	(void)state;
	assert_int_equal(fault_status("28020", "No valid security token."),
	                 TXN_WEBTICKET_PIN_REJECTED);
	assert_int_equal(fault_status("28020",
	                              "The user account is locked out: too many failed PIN "
	                              "logon attempts."),
	                 TXN_WEBTICKET_USER_LOCKED);
	assert_int_equal(fault_status("28029", "Authentication type not allowed."),
	                 TXN_WEBTICKET_PIN_DISABLED);
	assert_int_equal(fault_status("28000", "User is not SIP enabled."),
	                 TXN_WEBTICKET_USER_NOT_ENABLED);
	assert_int_equal(fault_status("28001", "An internal error occurred."), TXN_WEBTICKET_FAULT);
	certprov_diagnostics_parse(
	    "28020;source=\"pool1.example.com\";reason=\"No valid security token.\";fault=\"af:x\"",
	    &f);
	assert_true(f.present);
	assert_int_equal(f.error_id, 28020);
	assert_string_equal(f.reason, "No valid security token.");
	assert_string_equal(f.code, "af:x");
	certprov_diagnostics_parse("", &f);
	assert_false(f.present);
	certprov_diagnostics_parse("garbage", &f);
	assert_false(f.present);
}

#define GAPC_S                                                                                     \
	ENV_S "<GetAndPublishCertResponse "                                                        \
	      "xmlns=\"http://schemas.microsoft.com/OCS/AuthWebServices/\">"
#define GAPC_E "</GetAndPublishCertResponse>" ENV_E
#define BST "<BinarySecurityToken xmlns=\"x\" ValueType=\"http://x#"

static enum txn_status gapc(const char *body, struct certprov_gapc_answer *a, char *detail)
{
	certprov_gapc_answer_clear(a);
	certprov_gapc_answer_init(a);
	return certprov_gapc_parse(body, strlen(body), a, detail, 240);
}

static void test_gapc_parse(void **state)
{
	struct certprov_gapc_answer a;
	char detail[240];

	(void)state;
	certprov_gapc_answer_init(&a);
	/* the chain beside, the certificate strictly under RequestedSecurityToken */
	assert_int_equal(gapc(GAPC_S
	                      "<RequestSecurityTokenResponse " WST "><DispositionMessage>Issued"
	                      "</DispositionMessage>" BST "PKCS7\">BAUG</BinarySecurityToken>"
	                      "<RequestedSecurityToken>" BST "X509v3\">AQ\r\nID"
	                      "</BinarySecurityToken></RequestedSecurityToken>"
	                      "</RequestSecurityTokenResponse>" GAPC_E,
	                      &a, detail),
	                 TXN_OK);
	assert_int_equal(a.cert.len, 3);
	assert_memory_equal(a.cert.data, "\x01\x02\x03", 3);
	assert_int_equal(a.chain.len, 3);
	assert_string_equal(a.disposition, "Issued");
	/* a token outside RequestedSecurityToken is not the certificate */
	assert_int_equal(gapc(GAPC_S "<RequestSecurityTokenResponse>" BST "X509v3\">AQID"
	                             "</BinarySecurityToken></RequestSecurityTokenResponse>" GAPC_E,
	                      &a, detail),
	                 TXN_CERTPROV_FAULT);
	assert_int_equal(a.cert.len, 0);
	/* ErrorInfo: the seed's data store unavailable, anything else the registrar's */
	assert_int_equal(gapc(GAPC_S "<ErrorInfo><Code>DataStoreUnavailable</Code><Description>The "
	                             "user services\n data store is unavailable.</Description>"
	                             "</ErrorInfo>" GAPC_E,
	                      &a, detail),
	                 TXN_CERTPROV_PUBLISH_FAILED);
	assert_true(a.error_info);
	assert_string_equal(a.error_text,
	                    "DataStoreUnavailable The user services data store is unavailable.");
	assert_int_equal(
	    gapc(GAPC_S "<ErrorInfo><Code>RegistrarError</Code></ErrorInfo>" GAPC_E, &a, detail),
	    TXN_CERTPROV_REGISTRAR_PROBLEM);
	assert_int_equal(gapc(ENV_S
	                      "<s:Fault><faultcode>s:Server</faultcode><faultstring>An internal "
	                      "error occurred.</faultstring></s:Fault>" ENV_E,
	                      &a, detail),
	                 TXN_CERTPROV_FAULT);
	assert_true(a.fault.present);
	assert_int_equal(gapc("<html>oops</html>", &a, detail), TXN_CERTPROV_FAULT);
	assert_int_equal(gapc("not xml", &a, detail), TXN_CERTPROV_FAULT);
	certprov_gapc_answer_clear(&a);
}

static void test_soap_door_refuses(void **state)
{
	struct soap_doc *doc = NULL;
	char err[160], *deep;
	size_t n = 0;
	const char *dtd = "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>";
	const char *ext = "<!DOCTYPE a SYSTEM \"http://127.0.0.1:1/x.dtd\"><a/>";

	(void)state;
	assert_int_equal(soap_parse(dtd, strlen(dtd), 4096, &doc, err, sizeof err), SOAP_PARSE_DTD);
	assert_null(doc);
	assert_int_equal(soap_parse(ext, strlen(ext), 4096, &doc, err, sizeof err), SOAP_PARSE_DTD);
	assert_int_equal(soap_parse("<a>", 3, 4096, &doc, err, sizeof err), SOAP_PARSE_MALFORMED);
	assert_int_equal(soap_parse("<a/>", 4, 3, &doc, err, sizeof err), SOAP_PARSE_TOO_LARGE);
	deep = malloc(100 * 7 + 1);
	for (int i = 0; i < 100; i++, n += 3)
		memcpy(deep + n, "<a>", 3);
	for (int i = 0; i < 100; i++, n += 4)
		memcpy(deep + n, "</a>", 4);
	assert_int_equal(soap_parse(deep, n, 1 << 20, &doc, err, sizeof err), SOAP_PARSE_TOO_DEEP);
	assert_null(doc);
	free(deep);
	assert_int_equal(soap_parse("<a><b x='1'>t</b></a>", 21, 4096, &doc, err, sizeof err),
	                 SOAP_PARSE_OK);
	soap_doc_free(doc);
}

/* ---------------------------------------------------------------- certificates */

static EVP_PKEY *rsa_key(void)
{
	return EVP_RSA_gen(2048);
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, long secs,
                       bool ca)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), rand());
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), secs);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                           (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer)
	                                       : X509_get_subject_name(x));
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
	                        ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256());
	return x;
}

static void der(X509 *x, unsigned char **p, size_t *n)
{
	int len;

	*p = NULL;
	len = i2d_X509(x, p);
	*n = (size_t)len;
}

static void pem(X509 *x, struct bbuf *out)
{
	STACK_OF(X509) *s = sk_X509_new_null();

	sk_X509_push(s, x);
	certprov_chain_pem(s, out);
	sk_X509_free(s);
}

static void test_issued_and_chain_checks(void **state)
{
	EVP_PKEY *root_k = rsa_key(), *ca_k = rsa_key(), *user_k = rsa_key(), *other_k = rsa_key();
	X509 *root = make_cert(root_k, "Test Root", NULL, NULL, 86400, true);
	X509 *ca = make_cert(ca_k, "OCS Signing CA", root, root_k, 86400, true);
	X509 *good = make_cert(user_k, "alice@example.com", ca, ca_k, 86400 * 180, false);
	X509 *shortc = make_cert(user_k, "alice@example.com", ca, ca_k, 1800, false);
	X509 *mallory = make_cert(user_k, "mallory@example.com", ca, ca_k, 86400, false);
	X509 *otherkey = make_cert(other_k, "alice@example.com", ca, ca_k, 86400, false);
	STACK_OF(X509) *published = sk_X509_new_null(), *sent = sk_X509_new_null();
	struct certprov_issued is;
	struct bbuf trust;
	unsigned char *d;
	size_t n;
	bool checked;
	char detail[240];

	(void)state;
	sk_X509_push(published, ca);
	der(good, &d, &n);
	assert_int_equal(certprov_issued_check(d, n, user_k, "alice@example.com", 3600, published,
	                                       NULL, 0, &is, &checked, detail, sizeof detail),
	                 TXN_OK);
	assert_true(checked); /* the OCS CA published beside it is the anchor */
	assert_int_equal(certprov_chain_count(is.chain), 1);
	certprov_issued_clear(&is);
	OPENSSL_free(d);
	der(shortc, &d, &n);
	assert_int_equal(certprov_issued_check(d, n, user_k, "alice@example.com", 3600, published,
	                                       NULL, 0, &is, &checked, detail, sizeof detail),
	                 TXN_CERTPROV_CERT_INVALID);
	assert_non_null(strstr(detail, "less than 3600 s"));
	OPENSSL_free(d);
	der(mallory, &d, &n);
	assert_int_equal(certprov_issued_check(d, n, user_k, "alice@example.com", 3600, published,
	                                       NULL, 0, &is, &checked, detail, sizeof detail),
	                 TXN_CERTPROV_CERT_INVALID);
	assert_non_null(strstr(detail, "does not name the entity"));
	OPENSSL_free(d);
	der(otherkey, &d, &n);
	assert_int_equal(certprov_issued_check(d, n, user_k, "alice@example.com", 3600, published,
	                                       NULL, 0, &is, &checked, detail, sizeof detail),
	                 TXN_CERTPROV_CERT_INVALID);
	assert_non_null(strstr(detail, "not for the key"));
	/* a chain that does not lead to the published CA */
	OPENSSL_free(d);
	der(good, &d, &n);
	sk_X509_pop(published);
	sk_X509_push(published, root);
	assert_int_equal(certprov_issued_check(d, n, user_k, "alice@example.com", 3600, published,
	                                       NULL, 0, &is, &checked, detail, sizeof detail),
	                 TXN_CERTPROV_CERT_INVALID);
	assert_non_null(strstr(detail, "does not chain"));
	assert_int_equal(certprov_issued_check((const unsigned char *)"xyz", 3, user_k, "a", 3600,
	                                       NULL, NULL, 0, &is, &checked, detail, sizeof detail),
	                 TXN_CERTPROV_CERT_INVALID);
	OPENSSL_free(d);

	/* the server's chain against the device trust: which link is missing */
	bbuf_init(&trust, 1 << 20);
	pem(root, &trust);
	sk_X509_push(sent, good);
	assert_int_equal(certprov_chain_diagnose(sent, (const char *)trust.data, trust.len, detail,
	                                         sizeof detail),
	                 TXN_CERTPROV_WEBSVC_CHAIN_INCOMPLETE);
	assert_non_null(strstr(detail, "missing link is CN=OCS Signing CA"));
	sk_X509_push(sent, ca);
	assert_int_equal(certprov_chain_diagnose(sent, (const char *)trust.data, trust.len, detail,
	                                         sizeof detail),
	                 TXN_OK);
	/* the server sends its whole chain, the device has no root for it */
	sk_X509_pop(sent);
	sk_X509_pop(sent);
	sk_X509_push(sent, good);
	sk_X509_push(sent, ca);
	bbuf_reset(&trust);
	assert_int_equal(certprov_chain_diagnose(sent, "", 0, detail, sizeof detail),
	                 TXN_CERTPROV_WEBSVC_UNTRUSTED);
	assert_non_null(strstr(detail, "CN=Test Root"));
	bbuf_free(&trust);
	sk_X509_free(sent);
	sk_X509_free(published);
	X509_free(root);
	X509_free(ca);
	X509_free(good);
	X509_free(shortc);
	X509_free(mallory);
	X509_free(otherkey);
	EVP_PKEY_free(root_k);
	EVP_PKEY_free(ca_k);
	EVP_PKEY_free(user_k);
	EVP_PKEY_free(other_k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_psha1_vectors),
	    cmocka_unit_test(test_hmac_sha1),
	    cmocka_unit_test(test_base64_wrap),
	    cmocka_unit_test(test_device_id_stable),
	    cmocka_unit_test(test_issue_build_golden),
	    cmocka_unit_test(test_gapc_build_golden_and_signed),
	    cmocka_unit_test(test_mex_parse),
	    cmocka_unit_test(test_rstr_parse),
	    cmocka_unit_test(test_webticket_faults),
	    cmocka_unit_test(test_gapc_parse),
	    cmocka_unit_test(test_soap_door_refuses),
	    cmocka_unit_test(test_issued_and_chain_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
