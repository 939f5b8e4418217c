/*
 * certprov_enroll - GetAndPublishCert against the double: WS-Addressing, the web ticket and
 * its HMAC-SHA1 signature over the exc-c14n timestamp, the PKCS#10 (self-signature, CN =
 * Entity, key size), the certificate from the OCS Signing CA, and its publication as
 * --published-dir/<user>@<host>.pem. See README.md "The wire"; state in certprov_double.h.
 */
#define _GNU_SOURCE 1 /* strcasestr, timegm */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certprov_double.h"

/* a JSON string body: printable ASCII, quotes and backslashes dropped */
static void json_safe(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; s != NULL && *s && n + 1 < cap; s++)
		if ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f && *s != '"' &&
		    *s != '\\')
			out[n++] = *s;
	out[n] = 0;
}

/* YYYY-MM-DDThh:mm:ss[.fff]Z -> time_t; -1 when it is not that */
static time_t iso_parse(const char *s)
{
	struct tm tm;
	const char *e;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof tm);
	e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (e == NULL)
		return -1;
	if (*e == '.')
		for (e++; *e >= '0' && *e <= '9'; e++)
			;
	if (strcmp(e, "Z") != 0)
		return -1;
	return timegm(&tm);
}

static void ticket_rejected(struct rq *q, const char *reason, const char *why)
{
	G.n.ticket_rejected++;
	xmsdiag(q, 28020, reason, "wsse:InvalidSecurityToken");
	snprintf(q->note, sizeof q->note, "401 ticket rejected (%s)", why);
	fault(q, 401, "wsse", NS_WSSE, "InvalidSecurityToken", reason, 28020);
}

static void error_info(struct rq *q, const char *code, const char *desc)
{
	struct evbuffer *b = envelope_start();

	G.n.errorinfo++;
	evbuffer_add_printf(b,
	                    "<s:Body><GetAndPublishCertResponse xmlns=\"" NS_CP "\"><ErrorInfo>"
	                    "<Code>%s</Code><Description>",
	                    code);
	xml_esc(b, desc);
	evbuffer_add_printf(b, "</Description></ErrorInfo></GetAndPublishCertResponse></s:Body>"
	                       "</s:Envelope>");
	snprintf(q->note, sizeof q->note, "ErrorInfo %s", code);
	reply(q, 200, "text/xml; charset=utf-8", b);
}

/* the raw PKCS#10 text in BODY (an XML parser turns CRLF into LF, so look at the bytes):
 * its longest line and what breaks its lines (none, crlf, lf, mixed) */
static void csr_layout(const char *body, size_t len)
{
	const char *p = memmem(body, len, "#PKCS10", 7), *end;
	unsigned line = 0, crlf = 0, lf = 0;

	G.lc.max_line = 0;
	snprintf(G.lc.line_breaks, sizeof G.lc.line_breaks, "none");
	if (p == NULL)
		return;
	p = memchr(p, '>', len - (size_t)(p - body));
	end = p != NULL ? memchr(p, '<', len - (size_t)(p - body)) : NULL;
	if (p == NULL || end == NULL)
		return;
	for (p++; p < end; p++) {
		if (p + 1 < end && p[0] == '\r' && p[1] == '\n') {
			crlf++;
			p++;
			line = 0;
		} else if ((size_t)(end - p) >= 6 && strncmp(p, "&#13;\n", 6) == 0) {
			crlf++;
			p += 5;
			line = 0;
		} else if (*p == '\n' || *p == '\r') {
			lf++;
			line = 0;
		} else if (*p != ' ' && *p != '\t' && ++line > G.lc.max_line) {
			G.lc.max_line = line;
		}
	}
	if (crlf > 0 || lf > 0)
		snprintf(G.lc.line_breaks, sizeof G.lc.line_breaks, "%s",
		         lf == 0     ? "crlf"
		         : crlf == 0 ? "lf"
		                     : "mixed");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int rc;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ex = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	if (ex == NULL)
		return -1;
	rc = X509_add_ext(cert, ex, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ex);
	return rc;
}

/* a certificate for KEY, CN=ENTITY, by the OCS Signing CA; NULL on failure */
static X509 *issue_cert(EVP_PKEY *key, const char *entity, long seconds)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIGNUM *bn = BN_new();
	char san[300];

	if (c == NULL || n == NULL || bn == NULL)
		goto bad;
	snprintf(san, sizeof san, "URI:sip:%s", entity);
	if (X509_set_version(c, 2) != 1 ||
	    BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) == NULL ||
	    X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	                               (const unsigned char *)entity, -1, -1, 0) != 1 ||
	    X509_set_subject_name(c, n) != 1 ||
	    X509_set_issuer_name(c, X509_get_subject_name(G.ocs_cert)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(c), -300) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(c), seconds) == NULL ||
	    X509_set_pubkey(c, key) != 1 ||
	    add_ext(c, G.ocs_cert, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    add_ext(c, G.ocs_cert, NID_key_usage, "critical,digitalSignature,keyEncipherment") ==
	        -1 ||
	    add_ext(c, G.ocs_cert, NID_ext_key_usage, "clientAuth") == -1 ||
	    add_ext(c, G.ocs_cert, NID_subject_alt_name, san) == -1 ||
	    add_ext(c, G.ocs_cert, NID_subject_key_identifier, "hash") == -1 ||
	    add_ext(c, G.ocs_cert, NID_authority_key_identifier, "keyid") == -1 ||
	    X509_sign(c, G.ocs_key, EVP_sha256()) == 0)
		goto bad;
	X509_NAME_free(n);
	BN_free(bn);
	return c;
bad:
	X509_free(c);
	X509_NAME_free(n);
	BN_free(bn);
	return NULL;
}

/* write CERT to --published-dir/ENTITY.pem (atomically); -1 on failure */
static int publish(X509 *cert, const char *entity)
{
	char path[1024], tmp[1040];
	FILE *f;
	int rc;

	for (const char *p = entity; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x21)
			return -1;
	if (entity[0] == '.' || entity[0] == 0)
		return -1;
	snprintf(path, sizeof path, "%s/%s.pem", G.published, entity);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	rc = PEM_write_X509(f, cert) == 1 ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) == -1)
		rc = -1;
	if (rc == -1)
		unlink(tmp);
	return rc;
}

unsigned char *p7_of(STACK_OF(X509) *certs, int *len)
{
	PKCS7 *p7 = PKCS7_new();
	unsigned char *der = NULL;

	if (p7 == NULL || PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    PKCS7_content_new(p7, NID_pkcs7_data) != 1)
		die("PKCS7");
	for (int i = 0; i < sk_X509_num(certs); i++)
		if (PKCS7_add_certificate(p7, sk_X509_value(certs, i)) != 1)
			die("PKCS7_add_certificate");
	*len = i2d_PKCS7(p7, &der);
	if (*len <= 0)
		die("i2d_PKCS7");
	PKCS7_free(p7);
	return der;
}

static char *der_b64(X509 *c)
{
	unsigned char *der = NULL;
	int n = i2d_X509(c, &der);
	char *r;

	if (n <= 0)
		die("i2d_X509");
	r = b64_encode(der, (size_t)n);
	OPENSSL_free(der);
	return r;
}

static void gapc_success(struct rq *q, X509 *cert, bool bad_der)
{
	struct evbuffer *b = envelope_start();
	STACK_OF(X509) *sk = sk_X509_new_null();
	unsigned char *p7;
	char *p7b, *cb;
	int p7len;

	sk_X509_push(sk, cert);
	sk_X509_push(sk, G.ocs_cert);
	p7 = p7_of(sk, &p7len);
	sk_X509_free(sk);
	p7b = b64_encode(p7, (size_t)p7len);
	OPENSSL_free(p7);
	cb =
	    bad_der ? xstrdup("bm90IGEgY2VydGlmaWNhdGU=") /* "not a certificate" */ : der_b64(cert);
	evbuffer_add_printf(
	    b,
	    "<s:Body><GetAndPublishCertResponse xmlns=\"" NS_CP "\">"
	    "<RequestSecurityTokenResponse xmlns=\"" NS_WST "\">"
	    "<TokenType>" X509_PROFILE "#X509v3</TokenType>"
	    "<DispositionMessage "
	    "xmlns=\"http://schemas.microsoft.com/windows/pki/2009/01/enrollment\" "
	    "xml:lang=\"en-US\">Issued</DispositionMessage>"
	    "<BinarySecurityToken xmlns=\"" NS_WSSE "\" ValueType=\"" X509_PROFILE "#PKCS7\" "
	    "EncodingType=\"" B64_ENCODING "\">%s</BinarySecurityToken>"
	    "<RequestedSecurityToken><BinarySecurityToken xmlns=\"" NS_WSSE "\" "
	    "ValueType=\"" X509_PROFILE "#X509v3\" EncodingType=\"" B64_ENCODING "\">%s"
	    "</BinarySecurityToken></RequestedSecurityToken>"
	    "<RequestID xmlns=\"http://schemas.microsoft.com/windows/pki/2009/01/enrollment\" "
	    "xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" i:nil=\"true\"></RequestID>"
	    "</RequestSecurityTokenResponse></GetAndPublishCertResponse></s:Body></s:Envelope>",
	    p7b, cb);
	free(p7b);
	free(cb);
	reply(q, 200, "text/xml; charset=utf-8", b);
}

/* the web ticket and its signature; the ticket or NULL (then Q is answered) */
static struct ticket *gapc_ticket(struct rq *q, const struct soap_gapc *r)
{
	struct ticket *t;
	unsigned char mac[20];
	unsigned int ml = 0;
	time_t now = time(NULL), ts_exp;
	char ref[80];

	if (!r->has_security) {
		ticket_rejected(q, REASON_NOTOKEN, "no wsse:Security");
		return NULL;
	}
	t = ticket_find(r->assertion_id);
	if (t == NULL) {
		ticket_rejected(q, REASON_NOTOKEN, "unknown AssertionID");
		return NULL;
	}
	snprintf(q->who, sizeof q->who, "%s", t->u->sip);
	if (t->expires <= now) {
		ticket_rejected(q, "The web ticket has expired.", "ticket expired");
		return NULL;
	}
	if (q->eff.k == M_BEARER) /* a bearer ticket: holding it is enough */
		return t;
	snprintf(ref, sizeof ref, "#%s", r->ts_id != NULL ? r->ts_id : "");
	if (!r->has_timestamp || !r->has_signature || r->ts_id == NULL || r->ref_uri == NULL ||
	    strcmp(r->ref_uri, ref) != 0 || !r->ts_digest_ok || r->digest_value == NULL ||
	    r->digest_len != 20 || CRYPTO_memcmp(r->digest_value, r->ts_digest, 20) != 0) {
		ticket_rejected(q, "The web ticket signature is not valid.",
		                !r->has_timestamp   ? "no wsu:Timestamp"
		                : !r->has_signature ? "no ds:Signature"
		                                    : "timestamp digest");
		return NULL;
	}
	if (r->signed_info == NULL ||
	    HMAC(EVP_sha1(), t->key, sizeof t->key, r->signed_info, r->signed_info_len, mac, &ml) ==
	        NULL ||
	    r->signature_value == NULL || r->signature_len != 20 ||
	    CRYPTO_memcmp(mac, r->signature_value, 20) != 0) {
		ticket_rejected(q, "The web ticket signature is not valid.", "SignatureValue");
		return NULL;
	}
	ts_exp = iso_parse(r->ts_expires);
	if (ts_exp == -1 || ts_exp + 300 < now) {
		ticket_rejected(q, "The message timestamp has expired.", "timestamp expired");
		return NULL;
	}
	return t;
}

static EVP_PKEY *csr_check(struct rq *q, const char *b64, const char *entity)
{
	unsigned char *der;
	const unsigned char *p;
	size_t n = 0;
	X509_REQ *req = NULL;
	EVP_PKEY *key = NULL;
	X509_NAME_ENTRY *e;
	unsigned char *cn = NULL;
	int idx, bits;

	der = b64 != NULL ? soap_b64_decode(b64, strlen(b64), &n) : NULL;
	p = der;
	if (der != NULL)
		req = d2i_X509_REQ(NULL, &p, (long)n);
	free(der);
	if (req == NULL || X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) != 1) {
		error_info(q, "InvalidRequest",
		           "The PKCS#10 request cannot be decoded or its signature "
		           "is not valid.");
		goto out;
	}
	idx = X509_NAME_get_index_by_NID(X509_REQ_get_subject_name(req), NID_commonName, -1);
	e = idx >= 0 ? X509_NAME_get_entry(X509_REQ_get_subject_name(req), idx) : NULL;
	if (e == NULL || ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(e)) < 0 ||
	    strcasecmp((char *)cn, entity) != 0) {
		error_info(q, "EntityMismatch",
		           "The subject CN of the PKCS#10 request is not the "
		           "Entity.");
		goto out;
	}
	bits = EVP_PKEY_get_bits(X509_REQ_get0_pubkey(req));
	if (EVP_PKEY_get_base_id(X509_REQ_get0_pubkey(req)) == EVP_PKEY_RSA &&
	    (bits < 1024 || bits > 4096)) {
		error_info(q, "KeySizeOutOfRange",
		           "The key size of the PKCS#10 request is outside "
		           "1024..4096 bits.");
		goto out;
	}
	key = X509_REQ_get_pubkey(req);
out:
	OPENSSL_free(cn);
	X509_REQ_free(req);
	return key;
}

void h_gapc(struct rq *q)
{
	struct soap_gapc r;
	struct ticket *t;
	const char *ent;
	EVP_PKEY *key;
	X509 *cert;
	char entity[256];
	long secs;

	q->op = "GetAndPublishCert";
	if (down_knob(q, M_CP503, M_CPSTALL, M_NONE))
		return;
	if (evhttp_request_get_command(q->req) != EVHTTP_REQ_POST) {
		h_rootchain(q);
		return;
	}
	memset(&G.lc, 0, sizeof G.lc);
	G.lc.valid = true;
	if (!content_type_ok(q))
		return;
	if (!soapaction_is(q, ACTION_GAPC)) {
		action_fault(q, "GetAndPublishCert");
		return;
	}
	if (soap_gapc_parse(q->body, q->blen, &r) == -1) {
		snprintf(q->note, sizeof q->note, "not SOAP");
		fault(q, 400, "s", NULL, "Client", "The request is not a SOAP 1.1 message.", 0);
		soap_gapc_free(&r);
		return;
	}
	G.lc.wsa_ok = r.wsa_action != NULL && r.wsa_msgid != NULL && r.wsa_to != NULL;
	if (!G.lc.wsa_ok) {
		char why[160];
		snprintf(
		    why, sizeof why,
		    "A required header representing a Message Addressing Property is not present: "
		    "%s",
		    r.wsa_action == NULL  ? "Action"
		    : r.wsa_msgid == NULL ? "MessageID"
		                          : "To");
		snprintf(q->note, sizeof q->note, "WS-Addressing header missing");
		fault(q, 500, "a", NS_WSA, "MessageAddressingHeaderRequired", why, 0);
		goto out;
	}
	t = gapc_ticket(q, &r);
	if (t == NULL)
		goto out;
	snprintf(G.lc.user, sizeof G.lc.user, "%s", t->u->sip);
	json_safe(r.device_id, G.lc.device_id, sizeof G.lc.device_id);
	json_safe(r.entity, G.lc.entity, sizeof G.lc.entity);
	csr_layout(q->body, q->blen);
	q->eff = mode_pick(q, t->u);
	if (down_knob(q, M_CP503, M_CPSTALL, M_GARBAGE))
		goto out;
	switch (q->eff.k) {
	case M_TICKETREJECT:
		ticket_rejected(q, REASON_NOTOKEN, "knob ticketreject");
		goto out;
	case M_DATASTORE:
		error_info(
		    q, "DataStoreUnavailable",
		    "The certificate could not be published: the user services data store of "
		    "the user's home pool is unavailable.");
		goto out;
	case M_SOAPFAULT:
		snprintf(q->note, sizeof q->note, "knob soapfault");
		fault(q, 500, "s", NULL, "Server", "An internal error occurred.", 28001);
		goto out;
	case M_HTTP500:
		snprintf(q->note, sizeof q->note, "knob http500");
		reply_text(q, 500, "internal server error");
		goto out;
	case M_OVERSIZED: {
		struct evbuffer *b = envelope_start();
		static char spaces[65536];
		memset(spaces, ' ', sizeof spaces);
		evbuffer_add_printf(b, "<s:Body>");
		for (int i = 0; i < 64; i++)
			evbuffer_add(b, spaces, sizeof spaces);
		snprintf(q->note, sizeof q->note, "knob oversized (4 MiB)");
		reply(q, 200, "text/xml; charset=utf-8", b);
		goto out;
	}
	case M_DEEP: {
		struct evbuffer *b = envelope_start();
		evbuffer_add_printf(b, "<s:Body>");
		for (int i = 0; i < 10000; i++)
			evbuffer_add(b, "<a>", 3);
		for (int i = 0; i < 10000; i++)
			evbuffer_add(b, "</a>", 4);
		evbuffer_add_printf(b, "</s:Body></s:Envelope>");
		snprintf(q->note, sizeof q->note, "knob deep (10000 levels)");
		reply(q, 200, "text/xml; charset=utf-8", b);
		goto out;
	}
	default:
		break;
	}
	if (!r.has_gapc || r.entity == NULL || r.device_id == NULL || r.csr_b64 == NULL) {
		error_info(q, "InvalidRequest",
		           "GetAndPublishCert needs DeviceId, Entity and a "
		           "PKCS#10 BinarySecurityToken.");
		goto out;
	}
	ent = strncasecmp(t->u->sip, "sip:", 4) == 0 ? t->u->sip + 4 : t->u->sip;
	if (strcasecmp(r.entity, ent) != 0) {
		error_info(q, "EntityMismatch", "The Entity is not the user of the web ticket.");
		goto out;
	}
	snprintf(entity, sizeof entity, "%s", ent);
	key = csr_check(q, r.csr_b64, entity);
	if (key == NULL)
		goto out;
	secs = q->eff.k == M_SHORTCERT ? 1800 : G.cert_hours * 3600;
	cert = issue_cert(q->eff.k == M_WRONGKEY ? G.ocs_key : key,
	                  q->eff.k == M_WRONGENTITY ? "mallory@example.com" : entity, secs);
	EVP_PKEY_free(key);
	if (cert == NULL) {
		error_info(q, "InternalError", "The certificate could not be issued.");
		goto out;
	}
	if (q->eff.k != M_BADDER && publish(cert, entity) == -1) {
		X509_free(cert);
		error_info(q, "DataStoreUnavailable", "The certificate could not be published.");
		goto out;
	}
	G.n.certs_issued++;
	snprintf(q->note, sizeof q->note, "certificate issued%s for %s",
	         q->eff.k == M_BADDER ? " (not DER: knob badder)" : " and published", entity);
	gapc_success(q, cert, q->eff.k == M_BADDER);
	X509_free(cert);
out:
	soap_gapc_free(&r);
}
