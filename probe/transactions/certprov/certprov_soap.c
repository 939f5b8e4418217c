/*
 * certprov_soap: SOAP builders and parsers of a phone bootstrap (see .h). Builders write
 * text with every value escaped; the signed parts are canonicalised through the soap
 * door before they are digested, so what we sign is what a verifier's exc-c14n sees.
 */
#define _GNU_SOURCE /* strcasestr, strptime */
#include "transactions/certprov/certprov_soap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "net/soap.h"
#include "transactions/certprov/certprov_crypto.h"

#define NS_S "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_WSA "http://www.w3.org/2005/08/addressing"
#define NS_WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define NS_WSU "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define NS_WST "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
#define NS_WSP "http://schemas.xmlsoap.org/ws/2004/09/policy"
#define NS_AUTH "http://schemas.xmlsoap.org/ws/2006/12/authorization"
#define NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define ANONYMOUS NS_WSA "/anonymous"

const struct certprov_shape certprov_shape_default = {
    .url_suffix = "/Auth",
    .token_element = "UsernameToken",
    .username_element = "Username",
    .password_element = "Password",
    .base64 = true,
    .token_type = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1",
    .entropy = true,
};

/* ---------------------------------------------------------------- builders */

/* Append the pieces in order: plain strings, and escaped values after each NULL marker. */
static int put(struct bbuf *b, const char *s)
{
	return bbuf_append(b, s, strlen(s));
}

static int put_esc(struct bbuf *b, const char *s)
{
	return soap_escape(b, s != NULL ? s : "");
}

/* A credential value, base64 when the shape says so, escaped either way. */
static int put_cred(struct bbuf *b, const char *v, bool base64)
{
	struct bbuf tmp;
	int rc;

	if (!base64)
		return put_esc(b, v);
	bbuf_init(&tmp, 4096);
	rc = certprov_base64((const unsigned char *)v, strlen(v), 0, &tmp);
	if (rc == 0)
		rc = put_esc(b, tmp.data != NULL ? (const char *)tmp.data : "");
	if (tmp.data != NULL)
		memset(tmp.data, 0, tmp.alloc);
	bbuf_free(&tmp);
	return rc;
}

static int put_header_start(struct bbuf *b, const char *action, const char *message_id,
                            const char *to, bool security)
{
	int rc = 0;

	rc |=
	    put(b, "<s:Envelope xmlns:s=\"" NS_S "\" xmlns:wsa=\"" NS_WSA "\" xmlns:wsse=\"" NS_WSSE
	           "\" xmlns:wsu=\"" NS_WSU "\"><s:Header><wsa:Action s:mustUnderstand=\"1\">");
	rc |= put_esc(b, action);
	rc |= put(b, "</wsa:Action><wsa:MessageID>");
	rc |= put_esc(b, message_id);
	rc |= put(b, "</wsa:MessageID><wsa:ReplyTo><wsa:Address>" ANONYMOUS
	             "</wsa:Address></wsa:ReplyTo><wsa:To s:mustUnderstand=\"1\">");
	rc |= put_esc(b, to);
	rc |= put(b, "</wsa:To>");
	if (security)
		rc |= put(b, "<wsse:Security s:mustUnderstand=\"1\">");
	return rc == 0 ? 0 : -1;
}

int certprov_issue_build(const struct certprov_issue_req *r, struct bbuf *out)
{
	const struct certprov_shape *sh = r->shape != NULL ? r->shape : &certprov_shape_default;
	int rc = put_header_start(out, CERTPROV_ACTION_ISSUE, r->message_id, r->to, !sh->http_auth);

	if (sh->http_auth) {
		/* the credential travels in HTTP (NTLM/Negotiate), none in SOAP */
		rc |= put(out, "</s:Header>");
		goto body;
	}
	rc |= put(out, "<wsse:");
	rc |= put(out, sh->token_element);
	rc |= put(out, "><wsse:");
	rc |= put(out, sh->username_element);
	rc |= put(out, ">");
	rc |= put_cred(out, r->username, sh->base64);
	rc |= put(out, "</wsse:");
	rc |= put(out, sh->username_element);
	rc |= put(out, "><wsse:");
	rc |= put(out, sh->password_element);
	rc |= put(out, " Type=\"http://docs.oasis-open.org/wss/2004/01/"
	               "oasis-200401-wss-username-token-profile-1.0#PasswordText\">");
	rc |= put_cred(out, r->password, sh->base64);
	rc |= put(out, "</wsse:");
	rc |= put(out, sh->password_element);
	rc |= put(out, "></wsse:");
	rc |= put(out, sh->token_element);
	rc |= put(out, "></wsse:Security></s:Header>");
body:
	rc |= put(out, "<s:Body><wst:RequestSecurityToken xmlns:wst=\"" NS_WST
	               "\" xmlns:wsp=\"" NS_WSP "\" xmlns:auth=\"" NS_AUTH "\" Context=\"");
	rc |= put_esc(out, r->context);
	rc |= put(out, "\"><wst:TokenType>");
	rc |= put_esc(out, sh->token_type);
	rc |= put(out, "</wst:TokenType><wst:RequestType>http://schemas.xmlsoap.org/ws/2005/02/"
	               "trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference>"
	               "<wsa:Address>");
	rc |= put_esc(out, r->applies_to);
	rc |= put(out, "</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><wst:Claims "
	               "Dialect=\"urn:component:Microsoft.Rtc.WebAuthentication.2010:authclaims\">"
	               "<auth:ClaimType Uri=\"http://schemas.xmlsoap.org/ws/2005/05/identity/"
	               "claims/uri\" Optional=\"false\"><auth:Value>");
	rc |= put_esc(out, r->sip_uri);
	rc |= put(out, "</auth:Value></auth:ClaimType></wst:Claims>");
	if (sh->entropy && r->entropy != NULL) {
		rc |= put(out, "<wst:Entropy><wst:BinarySecret>");
		rc |= certprov_base64(r->entropy, CERTPROV_ENTROPY_LEN, 0, out);
		rc |= put(out, "</wst:BinarySecret></wst:Entropy>");
	}
	rc |= put(out, "<wst:KeyType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/SymmetricKey"
	               "</wst:KeyType></wst:RequestSecurityToken></s:Body></s:Envelope>");
	return rc == 0 ? 0 : -1;
}

/* The timestamp, then the signature over its exc-c14n form (lync-certprov.md §4.4). */
static int put_signed_parts(struct bbuf *out, const struct certprov_gapc_req *r)
{
	struct bbuf ts, c14n, si;
	unsigned char digest[20], mac[20];
	int rc = 0;

	bbuf_init(&ts, 4096);
	bbuf_init(&c14n, 8192);
	bbuf_init(&si, 4096);
	rc |=
	    put(&ts, "<wsu:Timestamp xmlns:wsu=\"" NS_WSU "\" wsu:Id=\"timestamp\"><wsu:Created>");
	rc |= put_esc(&ts, r->ticket->created);
	rc |= put(&ts, "</wsu:Created><wsu:Expires>");
	rc |= put_esc(&ts, r->ticket->expires);
	rc |= put(&ts, "</wsu:Expires></wsu:Timestamp>");
	rc |= put(out, ts.data != NULL ? (const char *)ts.data : "");
	rc |= put(out, r->ticket->token_xml != NULL ? r->ticket->token_xml : "");
	if (r->proof_key == NULL || rc != 0)
		goto out;
	rc |= soap_c14n_text((const char *)ts.data, ts.len, &c14n);
	certprov_sha1(c14n.data, c14n.len, digest);
	rc |=
	    put(&si, "<SignedInfo xmlns=\"" NS_DS "\"><CanonicalizationMethod Algorithm=\"" EXC_C14N
	             "\"></CanonicalizationMethod><SignatureMethod Algorithm=\"" NS_DS
	             "hmac-sha1\"></SignatureMethod><Reference URI=\"#timestamp\"><Transforms>"
	             "<Transform Algorithm=\"" EXC_C14N "\"></Transform></Transforms>"
	             "<DigestMethod Algorithm=\"" NS_DS "sha1\"></DigestMethod><DigestValue>");
	rc |= certprov_base64(digest, sizeof digest, 0, &si);
	rc |= put(&si, "</DigestValue></Reference></SignedInfo>");
	bbuf_reset(&c14n);
	rc |= soap_c14n_text((const char *)si.data, si.len, &c14n);
	if (rc != 0)
		goto out;
	certprov_hmac_sha1(r->proof_key, CERTPROV_PROOF_KEY_LEN, c14n.data, c14n.len, mac);
	rc |= put(out, "<Signature xmlns=\"" NS_DS "\">");
	rc |= bbuf_append(out, c14n.data, c14n.len);
	rc |= put(out, "<SignatureValue>");
	rc |= certprov_base64(mac, sizeof mac, 0, out);
	rc |= put(out, "</SignatureValue><KeyInfo><wsse:SecurityTokenReference><wsse:KeyIdentifier "
	               "ValueType=\"http://docs.oasis-open.org/wss/"
	               "oasis-wss-saml-token-profile-1.0#SAMLAssertionID\">");
	rc |= put_esc(out, r->ticket->assertion_id);
	rc |= put(out, "</wsse:KeyIdentifier></wsse:SecurityTokenReference></KeyInfo></Signature>");
out:
	bbuf_free(&ts);
	bbuf_free(&c14n);
	bbuf_free(&si);
	return rc == 0 ? 0 : -1;
}

int certprov_gapc_build(const struct certprov_gapc_req *r, struct bbuf *out)
{
	int rc = put_header_start(out, CERTPROV_ACTION_GAPC, r->message_id, r->to, true);

	rc |= put_signed_parts(out, r);
	rc |=
	    put(out, "</wsse:Security></s:Header><s:Body><GetAndPublishCert "
	             "xmlns=\"http://schemas.microsoft.com/OCS/AuthWebServices/\" "
	             "xmlns:wstep=\"http://schemas.microsoft.com/windows/pki/2009/01/enrollment\" "
	             "DeviceId=\"");
	rc |= put_esc(out, r->device_id);
	rc |= put(out, "\" Entity=\"");
	rc |= put_esc(out, r->entity);
	rc |= put(out, "\"><wst:RequestSecurityToken xmlns:wst=\"" NS_WST
	               "\"><wst:TokenType>http://docs.oasis-open.org/wss/2004/01/"
	               "oasis-200401-wss-x509-token-profile-1.0#X509v3</wst:TokenType>"
	               "<wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue"
	               "</wst:RequestType><wsse:BinarySecurityToken ValueType=\"http://"
	               "schemas.microsoft.com/OCS/AuthWebServices.xsd#PKCS10\" EncodingType=\""
	               "http://docs.oasis-open.org/wss/2004/01/"
	               "oasis-200401-wss-wssecurity-secext-1.0.xsd#Base64Binary\">");
	rc |= put_esc(out, r->csr_b64);
	rc |= put(out, "</wsse:BinarySecurityToken><wstep:RequestID>");
	rc |= put_esc(out, r->request_id);
	rc |= put(out, "</wstep:RequestID></wst:RequestSecurityToken></GetAndPublishCert></s:Body>"
	               "</s:Envelope>");
	return rc == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- parsers */

time_t certprov_time_parse(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return 0;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (*end != 'Z' && *end != '\0')
		return 0;
	return timegm(&tm);
}

/* The words of a reason (lower-cased search), for what ids do not settle. */
static bool has_word(const char *s, const char *w)
{
	return strcasestr(s, w) != NULL;
}

enum txn_status certprov_webticket_status(const struct certprov_fault *f)
{
	if (f->error_id == 28000 || has_word(f->reason, "not SIP enabled") ||
	    has_word(f->reason, "does not exist"))
		return TXN_WEBTICKET_USER_NOT_ENABLED;
	if (has_word(f->reason, "locked"))
		return TXN_WEBTICKET_USER_LOCKED;
	if (f->error_id == 28029 || has_word(f->reason, "not allowed"))
		return TXN_WEBTICKET_PIN_DISABLED;
	if (f->error_id == 28020)
		return TXN_WEBTICKET_PIN_REJECTED;
	/* without an id the words decide; another id is a fault of its own */
	if (f->error_id < 0 && (has_word(f->reason, "No valid") || has_word(f->reason, "PIN") ||
	                        has_word(f->reason, "FailedAuthentication") ||
	                        has_word(f->code, "FailedAuthentication")))
		return TXN_WEBTICKET_PIN_REJECTED;
	return TXN_WEBTICKET_FAULT;
}

static long parse_id(const char *s)
{
	long v = 0;
	int digits = 0;

	while (*s == ' ')
		s++;
	for (; *s >= '0' && *s <= '9' && digits < 9; s++, digits++)
		v = v * 10 + (*s - '0');
	return digits > 0 ? v : -1;
}

/* The quoted value of name= in a X-Ms-diagnostics header. */
static void diag_field(const char *h, const char *name, char *buf, size_t len)
{
	const char *p = h;
	size_t n = strlen(name);

	buf[0] = '\0';
	while ((p = strcasestr(p, name)) != NULL) {
		const char *q = p + n, *end;
		if ((p == h || p[-1] == ';' || p[-1] == ' ') && *q == '=') {
			q++;
			if (*q == '"') {
				q++;
				end = strchr(q, '"');
			} else {
				end = q + strcspn(q, ";");
			}
			if (end == NULL)
				end = q + strlen(q);
			snprintf(buf, len, "%.*s", (int)(end - q), q);
			return;
		}
		p = q;
	}
}

void certprov_diagnostics_parse(const char *header, struct certprov_fault *f)
{
	memset(f, 0, sizeof *f);
	f->error_id = -1;
	if (header == NULL || header[0] == '\0')
		return;
	f->error_id = parse_id(header);
	f->present = f->error_id >= 0;
	diag_field(header, "reason", f->reason, sizeof f->reason);
	diag_field(header, "fault", f->code, sizeof f->code);
}

/* A SOAP 1.1 (or 1.2) Fault under Body, with OCSDiagnosticsFault details when present. */
static bool fault_parse(const struct soap_node *body, struct certprov_fault *f)
{
	const struct soap_node *fault = soap_child(body, "Fault"), *d;
	char buf[200];

	memset(f, 0, sizeof *f);
	f->error_id = -1;
	if (fault == NULL)
		return false;
	f->present = true;
	if (soap_text(soap_child(fault, "faultcode"), f->code, sizeof f->code) < 0)
		soap_text(soap_path(fault, "Code/Value"), f->code, sizeof f->code);
	if (soap_text(soap_child(fault, "faultstring"), f->reason, sizeof f->reason) < 0)
		soap_text(soap_path(fault, "Reason/Text"), f->reason, sizeof f->reason);
	d = soap_find(fault, "OCSDiagnosticsFault");
	if (d == NULL)
		d = soap_find(fault, "Ms-Diagnostics-Fault");
	if (d != NULL) {
		const struct soap_node *id = soap_find(d, "ErrorId"), *rs = soap_find(d, "Reason");
		if (soap_text(id, buf, sizeof buf) >= 0 ||
		    soap_attr(d, "ErrorId", buf, sizeof buf) >= 0)
			f->error_id = parse_id(buf);
		if (soap_text(rs, buf, sizeof buf) > 0 ||
		    soap_attr(d, "Reason", buf, sizeof buf) > 0)
			snprintf(f->reason, sizeof f->reason, "%s", buf);
	}
	return true;
}

static const struct soap_node *soap_body(const struct soap_doc *doc)
{
	const struct soap_node *root = soap_root(doc);

	return strcmp(soap_name(root), "Envelope") == 0 ? soap_child(root, "Body") : NULL;
}

static enum txn_status parse_doc(const void *body, size_t len, struct soap_doc **doc,
                                 enum txn_status bad, char *detail, size_t dlen)
{
	char err[160];

	if (soap_parse(body, len, CERTPROV_SOAP_MAX, doc, err, sizeof err) != SOAP_PARSE_OK) {
		snprintf(detail, dlen, "%s", err);
		return bad;
	}
	return TXN_OK;
}

enum txn_status certprov_mex_parse(const void *body, size_t len, struct certprov_mex *out,
                                   char *detail, size_t dlen)
{
	struct soap_doc *doc = NULL;
	const struct soap_node *pol, *port, *addr;
	enum txn_status st;

	memset(out, 0, sizeof *out);
	st = parse_doc(body, len, &doc, TXN_CERTPROV_METADATA_BAD, detail, dlen);
	if (st != TXN_OK)
		return st;
	st = TXN_CERTPROV_METADATA_BAD;
	pol = soap_find_attr(soap_root(doc), "Policy", "Id",
	                     "CertProvisioningServiceWebTicketProof_SHA1_policy");
	if (pol == NULL) {
		snprintf(detail, dlen,
		         "no policy CertProvisioningServiceWebTicketProof_SHA1_policy");
		goto out;
	}
	addr = soap_find(pol, "EndorsingSupportingTokens");
	if (addr == NULL) {
		addr = soap_find(pol, "SignedSupportingTokens");
		out->bearer = addr != NULL;
	}
	addr = soap_path(soap_find(addr, "IssuedToken"), "Issuer/Address");
	if (soap_text(addr, out->webticket_url, sizeof out->webticket_url) <= 0) {
		snprintf(detail, dlen,
		         "the policy names no IssuedToken/Issuer/Address (Web Ticket URL)");
		goto out;
	}
	port = soap_find_attr(soap_root(doc), "port", "name",
	                      "CertProvisioningServiceWebTicketProof_SHA1");
	if (soap_attr(soap_child(port, "address"), "location", out->auth_url,
	              sizeof out->auth_url) <= 0) {
		snprintf(detail, dlen,
		         "no port CertProvisioningServiceWebTicketProof_SHA1 with an "
		         "address");
		goto out;
	}
	if (strncmp(out->webticket_url, "https://", 8) != 0 ||
	    strncmp(out->auth_url, "https://", 8) != 0) {
		snprintf(detail, dlen,
		         "the Web Ticket URL '%.120s' or CertProv URL '%.120s' is not "
		         "https",
		         out->webticket_url, out->auth_url);
		goto out;
	}
	st = TXN_OK;
out:
	soap_doc_free(doc);
	return st;
}

void certprov_ticket_clear(struct certprov_ticket *t)
{
	if (t == NULL)
		return;
	free(t->token_xml);
	memset(t, 0, sizeof *t);
}

bool certprov_ticket_usable(const struct certprov_ticket *t, time_t now)
{
	return t != NULL && t->expires_at > now + CERTPROV_TICKET_REFRESH_S;
}

enum txn_status certprov_rstr_parse(const void *body, size_t len, struct certprov_ticket *t,
                                    struct certprov_fault *f, char *detail, size_t dlen)
{
	struct soap_doc *doc = NULL;
	const struct soap_node *b, *rstr, *tok, *sec;
	struct bbuf c14n, ent;
	enum txn_status st;
	char b64[256];

	memset(t, 0, sizeof *t);
	memset(f, 0, sizeof *f);
	f->error_id = -1;
	st = parse_doc(body, len, &doc, TXN_WEBTICKET_FAULT, detail, dlen);
	if (st != TXN_OK)
		return st;
	st = TXN_WEBTICKET_FAULT;
	b = soap_body(doc);
	if (b == NULL) {
		snprintf(detail, dlen, "not a SOAP envelope");
		goto out;
	}
	if (fault_parse(b, f)) {
		snprintf(detail, dlen, "SOAP fault %s%s%ld: %s", f->code,
		         f->error_id >= 0 ? ", ErrorId " : "", f->error_id >= 0 ? f->error_id : 0L,
		         f->reason);
		st = certprov_webticket_status(f);
		goto out;
	}
	rstr = soap_find(b, "RequestSecurityTokenResponse");
	tok = soap_child(soap_child(rstr, "RequestedSecurityToken"), NULL);
	if (tok == NULL) {
		snprintf(detail, dlen,
		         "no token under RequestSecurityTokenResponse/"
		         "RequestedSecurityToken");
		goto out;
	}
	if (soap_attr(tok, "AssertionID", t->assertion_id, sizeof t->assertion_id) <= 0 &&
	    soap_attr(tok, "ID", t->assertion_id, sizeof t->assertion_id) <= 0 &&
	    soap_attr(tok, "Id", t->assertion_id, sizeof t->assertion_id) <= 0) {
		snprintf(detail, dlen, "the token (%s) has no AssertionID", soap_name(tok));
		goto out;
	}
	soap_text(soap_path(rstr, "Lifetime/Created"), t->created, sizeof t->created);
	soap_text(soap_path(rstr, "Lifetime/Expires"), t->expires, sizeof t->expires);
	t->expires_at = certprov_time_parse(t->expires);
	if (t->created[0] == '\0' || t->expires_at == 0) {
		snprintf(detail, dlen, "no readable Lifetime (Created '%.40s', Expires '%.40s')",
		         t->created, t->expires);
		goto out;
	}
	sec = soap_find(soap_child(rstr, "Entropy"), "BinarySecret");
	if (sec == NULL) {
		/* no entropy exchange: the proof key itself (WS-Trust RequestedProofToken) */
		sec = soap_find(soap_child(rstr, "RequestedProofToken"), "BinarySecret");
		t->proof_key_direct = sec != NULL;
	}
	bbuf_init(&ent, sizeof t->server_entropy);
	if (sec != NULL && (soap_text(sec, b64, sizeof b64) <= 0 ||
	                    certprov_base64_decode(b64, strlen(b64), &ent) == -1 || ent.len == 0)) {
		bbuf_free(&ent);
		snprintf(detail, dlen,
		         "the server entropy (BinarySecret) is not base64 of at most "
		         "%zu bytes",
		         sizeof t->server_entropy);
		goto out;
	}
	if (ent.len > 0)
		memcpy(t->server_entropy, ent.data, ent.len);
	t->server_entropy_len = ent.len;
	bbuf_free(&ent);
	bbuf_init(&c14n, CERTPROV_SOAP_MAX);
	if (soap_c14n(doc, tok, &c14n) == -1 || c14n.len == 0) {
		bbuf_free(&c14n);
		snprintf(detail, dlen, "the token cannot be canonicalised");
		goto out;
	}
	t->token_xml = (char *)c14n.data; /* NUL-terminated by bbuf */
	t->token_len = c14n.len;
	st = TXN_OK;
out:
	if (st != TXN_OK)
		certprov_ticket_clear(t);
	soap_doc_free(doc);
	return st;
}

void certprov_gapc_answer_init(struct certprov_gapc_answer *a)
{
	memset(a, 0, sizeof *a);
	bbuf_init(&a->cert, 64 * 1024);
	bbuf_init(&a->chain, 128 * 1024);
	a->fault.error_id = -1;
}

void certprov_gapc_answer_clear(struct certprov_gapc_answer *a)
{
	bbuf_free(&a->cert);
	bbuf_free(&a->chain);
}

/* Append s to buf (len bytes) with white space folded to single spaces. */
static void fold_into(const char *s, size_t n, char *buf, size_t len)
{
	size_t j = strlen(buf);
	bool space = j > 0;

	for (size_t i = 0; i < n && j + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = true;
			continue;
		}
		if (c < 0x20)
			c = '?';
		if (space && j > 0 && j + 2 < len)
			buf[j++] = ' ';
		space = false;
		buf[j++] = (char)c;
	}
	buf[j] = '\0';
}

/* ErrorInfo's text, each child element's in turn, bounded: kept raw for the report. */
static void error_text(const struct soap_node *n, char *buf, size_t len)
{
	const struct soap_node *c = soap_child(n, NULL);
	struct bbuf t;

	buf[0] = '\0';
	bbuf_init(&t, 16 * 1024);
	if (c == NULL) {
		soap_text_bbuf(n, &t);
		fold_into((const char *)t.data, t.len, buf, len);
	}
	for (; c != NULL; c = soap_next(c, NULL)) {
		bbuf_reset(&t);
		if (soap_text_bbuf(c, &t) == 0)
			fold_into((const char *)t.data, t.len, buf, len);
	}
	bbuf_free(&t);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int token_decode(const struct soap_node *n, struct bbuf *out)
{
	struct bbuf text;
	int rc;

	bbuf_init(&text, 256 * 1024);
	rc = soap_text_bbuf(n, &text);
	if (rc == 0)
		rc = certprov_base64_decode((const char *)text.data, text.len, out);
	bbuf_free(&text);
	return rc;
}

enum txn_status certprov_gapc_parse(const void *body, size_t len, struct certprov_gapc_answer *a,
                                    char *detail, size_t dlen)
{
	struct soap_doc *doc = NULL;
	const struct soap_node *b, *resp, *rstr, *tok, *ei;
	enum txn_status st;
	char vt[200];

	st = parse_doc(body, len, &doc, TXN_CERTPROV_FAULT, detail, dlen);
	if (st != TXN_OK)
		return st;
	st = TXN_CERTPROV_FAULT;
	b = soap_body(doc);
	if (b == NULL) {
		snprintf(detail, dlen, "not a SOAP envelope");
		goto out;
	}
	if (fault_parse(b, &a->fault)) {
		snprintf(detail, dlen, "SOAP fault %s%s%ld: %s", a->fault.code,
		         a->fault.error_id >= 0 ? ", ErrorId " : "",
		         a->fault.error_id >= 0 ? a->fault.error_id : 0L, a->fault.reason);
		goto out;
	}
	resp = soap_child(b, "GetAndPublishCertResponse");
	if (resp == NULL) {
		snprintf(detail, dlen, "no GetAndPublishCertResponse in the Body");
		goto out;
	}
	ei = soap_find(resp, "ErrorInfo");
	rstr = soap_find(resp, "RequestSecurityTokenResponse");
	soap_text(soap_find(rstr, "DispositionMessage"), a->disposition, sizeof a->disposition);
	/* the certificate strictly under RequestedSecurityToken */
	tok = soap_child(soap_child(rstr, "RequestedSecurityToken"), "BinarySecurityToken");
	if (tok != NULL && token_decode(tok, &a->cert) == -1) {
		snprintf(detail, dlen, "the certificate token is not base64");
		goto out;
	}
	/* a PKCS#7 token beside it is the chain */
	for (const struct soap_node *c = soap_child(rstr, "BinarySecurityToken"); c != NULL;
	     c = soap_next(c, "BinarySecurityToken"))
		if (soap_attr(c, "ValueType", vt, sizeof vt) > 0 && ends_with(vt, "#PKCS7")) {
			bbuf_reset(&a->chain);
			if (token_decode(c, &a->chain) == -1)
				bbuf_reset(&a->chain);
			break;
		}
	if (ei != NULL) {
		a->error_info = true;
		error_text(ei, a->error_text, sizeof a->error_text);
	}
	if (a->cert.len > 0) {
		st = TXN_OK;
		goto out;
	}
	if (a->error_info) {
		const char *e = a->error_text;
		snprintf(detail, dlen, "ErrorInfo: %s", e[0] ? e : "(empty)");
		st = has_word(e, "data store") || has_word(e, "datastore") ||
		             has_word(e, "store unavailable") || has_word(e, "User Services")
		         ? TXN_CERTPROV_PUBLISH_FAILED
		         : TXN_CERTPROV_REGISTRAR_PROBLEM;
		goto out;
	}
	snprintf(detail, dlen,
	         "no certificate under RequestSecurityTokenResponse/"
	         "RequestedSecurityToken%s%s",
	         a->disposition[0] ? ", disposition " : "", a->disposition);
out:
	soap_doc_free(doc);
	return st;
}
