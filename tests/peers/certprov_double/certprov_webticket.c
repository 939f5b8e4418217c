/*
 * certprov_webticket - the device's first legs against the double: the root chain (anonymous
 * HTTP), CertProv and Web Ticket /mex, and IssueToken with phone/extension + PIN or a
 * UsernameToken password, answering with a SAML-ish ticket and the proof key (P_SHA1 of
 * both entropies). See README.md "The wire"; shared state in certprov_double.h.
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

static void uuid(char *out, size_t cap)
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof r) != 1)
		die("RAND_bytes");
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, cap, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
	         r[13], r[14], r[15]);
}

/* WS-Trust CK/PSHA1: P_SHA1(secret, seed) as TLS 1.0 P_hash, first OUTLEN bytes */
static void p_sha1(const unsigned char *secret, size_t slen, const unsigned char *seed,
                   size_t seedlen, unsigned char *out, size_t outlen)
{
	unsigned char a[20], buf[20 + 256], h[20];
	unsigned int l = 0;
	size_t done = 0;

	if (seedlen > 256)
		seedlen = 256;
	HMAC(EVP_sha1(), secret, (int)slen, seed, seedlen, a, &l); /* A(1) */
	while (done < outlen) {
		size_t n;
		memcpy(buf, a, 20);
		memcpy(buf + 20, seed, seedlen);
		HMAC(EVP_sha1(), secret, (int)slen, buf, 20 + seedlen, h, &l);
		n = outlen - done < 20 ? outlen - done : 20;
		memcpy(out + done, h, n);
		done += n;
		HMAC(EVP_sha1(), secret, (int)slen, a, 20, h, &l); /* A(i+1) */
		memcpy(a, h, 20);
	}
	OPENSSL_cleanse(buf, sizeof buf);
	OPENSSL_cleanse(h, sizeof h);
	OPENSSL_cleanse(a, sizeof a);
}

/* IssueToken failures: the fault and X-Ms-diagnostics with the same id and reason */
static void wt_fail(struct rq *q, int code, unsigned id, const char *fc_prefix, const char *fc_ns,
                    const char *fc_name, const char *reason, const char *why)
{
	char f[80];

	G.n.issue_failed++;
	snprintf(f, sizeof f, "%s:%s", fc_prefix, fc_name);
	xmsdiag(q, id, reason, f);
	snprintf(q->note, sizeof q->note, "%u (%s)", id, why);
	fault(q, code, fc_prefix, fc_ns, fc_name, reason, id);
}

static bool eq_plain_or_b64(const char *sent, const char *want, bool *was_b64)
{
	unsigned char *d;
	size_t n = 0;
	bool r;

	*was_b64 = false;
	if (sent == NULL || want == NULL)
		return false;
	if (strcmp(sent, want) == 0)
		return true;
	d = soap_b64_decode(sent, strlen(sent), &n);
	r = d != NULL && n == strlen(want) && memcmp(d, want, n) == 0;
	if (d != NULL)
		OPENSSL_cleanse(d, n);
	free(d);
	*was_b64 = r;
	return r;
}

static bool phone_matches(const struct user *u, const char *s, const char **kind)
{
	if (u->phone != NULL) {
		const char *p = u->phone[0] == '+' ? u->phone + 1 : u->phone;
		if (strcmp(s, u->phone) == 0 || strcmp(s, p) == 0 ||
		    (strncasecmp(s, "tel:", 4) == 0 && strcmp(s + 4, u->phone) == 0)) {
			*kind = "phone";
			return true;
		}
	}
	if (u->ext != NULL && strcmp(s, u->ext) == 0) {
		*kind = "ext";
		return true;
	}
	return false;
}

static bool sip_matches(const struct user *u, const char *s)
{
	return strcasecmp(s, u->sip) == 0 ||
	       (strncasecmp(u->sip, "sip:", 4) == 0 && strcasecmp(s, u->sip + 4) == 0);
}

/* the user a Username names (as sent, else base64-decoded), searching from FROM; *PIN:
 * by phone/ext */
static struct user *user_find(const char *username, struct user *from, bool *pin, bool *b64,
                              const char **kind)
{
	unsigned char *d = NULL;
	size_t n = 0;
	struct user *found = NULL;

	*b64 = false;
	*kind = "";
	if (username == NULL)
		return NULL;
	for (int pass = 0; pass < 2 && found == NULL; pass++) {
		const char *s = username;
		if (pass == 1) {
			d = soap_b64_decode(username, strlen(username), &n);
			if (d == NULL || strlen((char *)d) != n)
				break;
			s = (const char *)d;
		}
		for (struct user *u = from; u != NULL && found == NULL; u = u->next) {
			if (phone_matches(u, s, kind)) {
				*pin = true;
				found = u;
			} else if (sip_matches(u, s)) {
				*pin = false;
				found = u;
			}
		}
		*b64 = found != NULL && pass == 1;
	}
	free(d);
	return found;
}

void h_rootchain(struct rq *q)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(q->req));
	struct evbuffer *b;

	q->op = "rootchain";
	G.n.rootchain++;
	if (evhttp_request_get_command(q->req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(q->req) != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(q->req), "Allow", "GET, HEAD");
		reply_text(q, 405, "method not allowed");
		return;
	}
	if (q->eff.k == M_ANONDOWN) {
		snprintf(q->note, sizeof q->note, "knob anondown");
		reply(q, 503, NULL, NULL);
		return;
	}
	b = evbuffer_new();
	if (query != NULL && strstr(query, "format=pem") != NULL) {
		evbuffer_add(b, G.chain_pem, G.chain_pem_len);
		snprintf(q->note, sizeof q->note, "chain (PEM)");
		reply(q, 200, "application/x-pem-file", b);
		return;
	}
	evbuffer_add(b, G.chain_p7, (size_t)G.chain_p7_len);
	snprintf(q->note, sizeof q->note, "chain (PKCS#7, %d bytes)", G.chain_p7_len);
	reply(q, 200, "application/pkcs7-mime", b);
}

void h_cp_mex(struct rq *q)
{
	const char *tokens = q->eff.k == M_BEARER ? "Signed" : "Endorsing";
	struct evbuffer *b;

	q->op = "mex";
	G.n.mex++;
	if (q->eff.k == M_MEX404) {
		snprintf(q->note, sizeof q->note, "knob mex404");
		reply_text(q, 404, "not found");
		return;
	}
	b = evbuffer_new();
	evbuffer_add_printf(
	    b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
	       "<wsdl:definitions name=\"CertProvisioningService\" "
	       "targetNamespace=\"" NS_CP "\" xmlns:tns=\"" NS_CP "\" "
	       "xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" "
	       "xmlns:wsp=\"http://schemas.xmlsoap.org/ws/2004/09/policy\" "
	       "xmlns:wsu=\"" NS_WSU "\" "
	       "xmlns:sp=\"http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702\" "
	       "xmlns:wsa=\"" NS_WSA "\" xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\">");
	if (q->eff.k != M_MEXNOPOLICY)
		evbuffer_add_printf(
		    b,
		    "<wsp:Policy wsu:Id=\"CertProvisioningServiceWebTicketProof_SHA1_policy\">"
		    "<wsp:ExactlyOne><wsp:All><sp:TransportBinding><wsp:Policy><sp:TransportToken>"
		    "<wsp:Policy><sp:HttpsToken/></wsp:Policy></sp:TransportToken></wsp:Policy>"
		    "</sp:TransportBinding><sp:%sSupportingTokens><wsp:Policy>"
		    "<sp:IssuedToken sp:IncludeToken=\"http://docs.oasis-open.org/ws-sx/"
		    "ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient\">"
		    "<sp:Issuer><wsa:Address>https://%s%s/WebTicket/WebTicketService.svc"
		    "</wsa:Address></sp:Issuer><sp:RequestSecurityTokenTemplate>"
		    "<t:TokenType xmlns:t=\"" NS_WST "\">" SAML_TOKEN "</t:TokenType>"
		    "<t:KeyType xmlns:t=\"" NS_WST "\">" NS_WST "/SymmetricKey</t:KeyType>"
		    "</sp:RequestSecurityTokenTemplate><wsp:Policy><sp:RequireInternalReference/>"
		    "</wsp:Policy></sp:IssuedToken></wsp:Policy></sp:%sSupportingTokens>"
		    "</wsp:All></wsp:ExactlyOne></wsp:Policy>",
		    tokens, q->host, q->prefix, tokens);
	evbuffer_add_printf(
	    b,
	    "<wsdl:portType name=\"ICertProvisioningService\"><wsdl:operation "
	    "name=\"GetAndPublishCert\"><wsdl:input wsaw:Action=\"" ACTION_GAPC "\" "
	    "xmlns:wsaw=\"http://www.w3.org/2006/05/addressing/wsdl\"/></wsdl:operation>"
	    "</wsdl:portType>"
	    "<wsdl:binding name=\"CertProvisioningServiceWebTicketProof_SHA1\" "
	    "type=\"tns:ICertProvisioningService\">%s<soap:binding "
	    "transport=\"http://schemas.xmlsoap.org/soap/http\"/></wsdl:binding>"
	    "<wsdl:service name=\"CertProvisioningService\">"
	    "<wsdl:port name=\"CertProvisioningServiceWebTicketProof_SHA1\" "
	    "binding=\"tns:CertProvisioningServiceWebTicketProof_SHA1\">"
	    "<soap:address location=\"https://%s%s/CertProv/CertProvisioningService.svc/"
	    "WebTicket_Proof_SHA1\"/></wsdl:port></wsdl:service></wsdl:definitions>",
	    q->eff.k == M_MEXNOPOLICY
	        ? ""
	        : "<wsp:PolicyReference "
	          "URI=\"#CertProvisioningServiceWebTicketProof_SHA1_policy\"/>",
	    q->host, q->prefix);
	snprintf(q->note, sizeof q->note, "%s",
	         q->eff.k == M_MEXNOPOLICY ? "knob mexnopolicy" : "wsdl");
	reply(q, 200, "text/xml; charset=utf-8", b);
}

void h_wt_mex(struct rq *q)
{
	struct evbuffer *b;
	static const char *const ports[][2] = {
	    {"WebTicketServiceAuth", "Auth"},
	    {"WebTicketServicePin", "Pin"},
	    {"WebTicketServiceWinNegotiate", "WinNegotiate"},
	};

	q->op = "wt-mex";
	G.n.wt_mex++;
	if (q->eff.k == M_MEX404) {
		snprintf(q->note, sizeof q->note, "knob mex404");
		reply_text(q, 404, "not found");
		return;
	}
	b = evbuffer_new();
	evbuffer_add_printf(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
	                       "<wsdl:definitions name=\"WebTicketService\" "
	                       "targetNamespace=\"" NS_AF "\" "
	                       "xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" "
	                       "xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\">"
	                       "<wsdl:service name=\"WebTicketService\">");
	for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
		if (i == 1 && q->eff.k == M_NOPIN)
			continue;
		evbuffer_add_printf(b,
		                    "<wsdl:port name=\"%s\" binding=\"tns:%s\"><soap:address "
		                    "location=\"https://%s%s/WebTicket/WebTicketService.svc/%s\"/>"
		                    "</wsdl:port>",
		                    ports[i][0], ports[i][0], q->host, q->prefix, ports[i][1]);
	}
	evbuffer_add_printf(b, "</wsdl:service></wsdl:definitions>");
	snprintf(q->note, sizeof q->note, "%s", q->eff.k == M_NOPIN ? "knob nopin" : "wsdl");
	reply(q, 200, "text/xml; charset=utf-8", b);
}

static void issue_reply(struct rq *q, const struct soap_issue *r, struct user *u, bool pin)
{
	unsigned char sent[PROOF_KEY_LEN], key[PROOF_KEY_LEN];
	char created[40], expires[40], id[64], u_[40];
	struct evbuffer *b = envelope_start();
	struct ticket *t;
	time_t now = time(NULL);
	long life = q->eff.k == M_SHORTTICKET ? 90 : G.ticket_lifetime;

	if (RAND_bytes(sent, sizeof sent) != 1)
		die("RAND_bytes");
	if (r->entropy != NULL)
		p_sha1(r->entropy, r->entropy_len, sent, sizeof sent, key, sizeof key);
	else
		memcpy(key, sent, sizeof key);
	uuid(u_, sizeof u_);
	snprintf(id, sizeof id, "SamlSecurityToken-%s", u_);
	iso_time(now, created, sizeof created);
	iso_time(now + life, expires, sizeof expires);
	tickets_prune(now);
	t = xcalloc(1, sizeof *t);
	snprintf(t->id, sizeof t->id, "%s", id);
	t->u = u;
	memcpy(t->key, key, sizeof key);
	t->expires = now + life;
	t->next = G.tickets;
	G.tickets = t;
	G.ntickets++;

	evbuffer_add_printf(b,
	                    "<s:Header><a:Action xmlns:a=\"" NS_WSA "\" s:mustUnderstand=\"1\">"
	                    "" ACTION_ISSUE_FINAL "</a:Action></s:Header><s:Body>"
	                    "<wst:RequestSecurityTokenResponseCollection xmlns:wst=\"" NS_WST "\">"
	                    "<wst:RequestSecurityTokenResponse");
	if (r->context != NULL) {
		evbuffer_add_printf(b, " Context=\"");
		xml_esc(b, r->context);
		evbuffer_add_printf(b, "\"");
	}
	evbuffer_add_printf(
	    b,
	    "><wst:TokenType>" SAML_TOKEN "</wst:TokenType><wst:RequestedSecurityToken>"
	    "<saml:Assertion xmlns:saml=\"" NS_SAML "\" MajorVersion=\"1\" MinorVersion=\"1\" "
	    "AssertionID=\"%s\" Issuer=\"URI:https://%s%s/WebTicket/WebTicketService.svc\" "
	    "IssueInstant=\"%s\"><saml:Conditions NotBefore=\"%s\" NotOnOrAfter=\"%s\">"
	    "<saml:AudienceRestrictionCondition><saml:Audience>",
	    id, q->host, q->prefix, created, created, expires);
	if (r->applies_to != NULL)
		xml_esc(b, r->applies_to);
	else
		evbuffer_add_printf(b,
		                    "https://%s%s/CertProv/CertProvisioningService.svc/"
		                    "WebTicket_Proof_SHA1",
		                    q->host, q->prefix);
	evbuffer_add_printf(b,
	                    "</saml:Audience></saml:AudienceRestrictionCondition></saml:Conditions>"
	                    "<saml:AuthenticationStatement AuthenticationMethod=\"" NS_AF ":%s\" "
	                    "AuthenticationInstant=\"%s\"><saml:Subject><saml:NameIdentifier "
	                    "Format=\"" NS_AF ":sip\">",
	                    pin ? "pin" : "password", created);
	xml_esc(b, u->sip);
	evbuffer_add_printf(b,
	                    "</saml:NameIdentifier><saml:SubjectConfirmation>"
	                    "<saml:ConfirmationMethod>urn:oasis:names:tc:SAML:1.0:cm:holder-of-key"
	                    "</saml:ConfirmationMethod></saml:SubjectConfirmation></saml:Subject>"
	                    "</saml:AuthenticationStatement></saml:Assertion>"
	                    "</wst:RequestedSecurityToken>");
	if (r->entropy != NULL) {
		char *e = b64_encode(sent, sizeof sent);
		evbuffer_add_printf(b,
		                    "<wst:RequestedProofToken><wst:ComputedKey>" NS_WST "/CK/PSHA1"
		                    "</wst:ComputedKey></wst:RequestedProofToken><wst:Entropy>"
		                    "<wst:BinarySecret Type=\"" NS_WST
		                    "/Nonce\">%s</wst:BinarySecret>"
		                    "</wst:Entropy>",
		                    e);
		free(e);
	} else {
		char *k = b64_encode(key, sizeof key);
		evbuffer_add_printf(
		    b,
		    "<wst:RequestedProofToken><wst:BinarySecret>%s</wst:BinarySecret>"
		    "</wst:RequestedProofToken>",
		    k);
		OPENSSL_cleanse(k, strlen(k));
		free(k);
	}
	evbuffer_add_printf(b,
	                    "<wst:Lifetime><wsu:Created xmlns:wsu=\"" NS_WSU "\">%s</wsu:Created>"
	                    "<wsu:Expires xmlns:wsu=\"" NS_WSU "\">%s</wsu:Expires></wst:Lifetime>"
	                    "<wst:KeySize>256</wst:KeySize></wst:RequestSecurityTokenResponse>"
	                    "</wst:RequestSecurityTokenResponseCollection></s:Body></s:Envelope>",
	                    created, expires);
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(sent, sizeof sent);
	G.n.issue_ok++;
	snprintf(q->note, sizeof q->note, "ticket issued (%s, %ld s%s)", pin ? "pin" : "password",
	         life, r->entropy != NULL ? ", computed key" : ", key in the proof token");
	reply(q, 200, "text/xml; charset=utf-8", b);
}

void h_issue(struct rq *q, const char *port)
{
	struct soap_issue r;
	struct user *u;
	bool pin = false, ub64 = false, pb64 = false, ok;
	const char *kind = "";

	q->op = "IssueToken";
	if (down_knob(q, M_WT503, M_WTSTALL, M_WTGARBAGE))
		return;
	if (evhttp_request_get_command(q->req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(q->req), "Allow", "POST");
		reply_text(q, 405, "method not allowed");
		return;
	}
	memset(&G.li, 0, sizeof G.li);
	G.li.valid = true;
	snprintf(G.li.port, sizeof G.li.port, "%s", port);
	if (!content_type_ok(q)) {
		G.n.issue_failed++;
		return;
	}
	G.li.soapaction = soapaction_is(q, ACTION_ISSUE);
	if (!G.li.soapaction) {
		G.n.issue_failed++;
		action_fault(q, "RST/Issue");
		return;
	}
	if (soap_issue_parse(q->body, q->blen, &r) == -1 || !r.has_rst) {
		G.n.issue_failed++;
		snprintf(q->note, sizeof q->note, "not a SOAP RequestSecurityToken");
		fault(q, 400, "s", NULL, "Client",
		      "The request is not a WS-Trust RequestSecurityToken.", 0);
		soap_issue_free(&r);
		return;
	}
	G.li.client_entropy = r.entropy != NULL;
	if (!r.has_token || r.username == NULL || r.password == NULL) {
		wt_fail(q, 400, 28020, "wsse", NS_WSSE, "FailedAuthentication", REASON_NOTOKEN,
		        "no UsernameToken");
		soap_issue_free(&r);
		return;
	}
	u = user_find(r.username, G.users, &pin, &ub64, &kind);
	G.li.username_b64 = ub64;
	snprintf(G.li.phone_or_ext, sizeof G.li.phone_or_ext, "%s", pin ? kind : "");
	if (u == NULL) {
		wt_fail(q, 400, 28020, "wsse", NS_WSSE, "FailedAuthentication", REASON_NOTOKEN,
		        "unknown user");
		soap_issue_free(&r);
		return;
	}
	snprintf(q->who, sizeof q->who, "%s", u->sip);
	snprintf(G.li.user, sizeof G.li.user, "%s", u->sip);
	snprintf(G.li.credential, sizeof G.li.credential, "%s", pin ? "pin" : "password");
	q->eff = mode_pick(q, u);
	if (down_knob(q, M_WT503, M_WTSTALL, M_WTGARBAGE))
		goto out;
	if (q->eff.k == M_NOTSIP) {
		wt_fail(q, 403, 28000, "af", NS_AF, "UserNotSipEnabled", "User is not SIP enabled.",
		        "knob notsip");
		goto out;
	}
	if (pin) {
		if (q->eff.k == M_NOPIN) {
			wt_fail(q, 400, 28029, "af", NS_AF, "AuthenticationTypeNotAllowed",
			        "Authentication type not allowed.", "knob nopin");
			goto out;
		}
		if (q->eff.k == M_PINLOCK || u->locked) {
			wt_fail(
			    q, 400, 28020, "wsse", NS_WSSE, "FailedAuthentication",
			    "The user account is locked out: too many failed PIN logon attempts.",
			    u->locked ? "PIN locked" : "knob pinlock");
			goto out;
		}
		ok = eq_plain_or_b64(r.password, u->pin, &pb64);
		/* two users may share a number: the PIN tells them apart (§4.3) */
		for (struct user *v = u; !ok && v != NULL;) {
			bool vpin = false, vb64;
			const char *vkind;
			v = user_find(r.username, v->next, &vpin, &vb64, &vkind);
			if (v != NULL && vpin && !v->locked &&
			    eq_plain_or_b64(r.password, v->pin, &pb64)) {
				u = v;
				ok = true;
				snprintf(q->who, sizeof q->who, "%s", u->sip);
				snprintf(G.li.user, sizeof G.li.user, "%s", u->sip);
			}
		}
		G.li.password_b64 = pb64;
		if (!ok || q->eff.k == M_PINMISMATCH) {
			if (!ok && G.max_pin > 0 && ++u->bad_pins >= G.max_pin)
				u->locked = true;
			wt_fail(q, 400, 28020, "wsse", NS_WSSE, "FailedAuthentication",
			        REASON_NOTOKEN, ok ? "knob pinmismatch" : "PIN mismatch");
			goto out;
		}
		u->bad_pins = 0;
	} else {
		ok = strcmp(port, "pin") != 0 && u->password != NULL &&
		     eq_plain_or_b64(r.password, u->password, &pb64);
		G.li.password_b64 = pb64;
		if (!ok) {
			wt_fail(q, 400, 28020, "wsse", NS_WSSE, "FailedAuthentication",
			        REASON_NOTOKEN, "password mismatch");
			goto out;
		}
	}
	if (r.entropy_bad) {
		wt_fail(q, 400, 28020, "wsse", NS_WSSE, "FailedAuthentication", REASON_NOTOKEN,
		        "client entropy not base64");
		goto out;
	}
	issue_reply(q, &r, u, pin);
out:
	soap_issue_free(&r);
}

void h_negotiate(struct rq *q)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(q->req);

	q->op = "IssueToken";
	evhttp_add_header(h, "WWW-Authenticate", "Negotiate");
	evhttp_add_header(h, "WWW-Authenticate", "NTLM");
	snprintf(q->note, sizeof q->note, "Negotiate/NTLM not implemented");
	reply_text(q, 401, "unauthorized");
}
