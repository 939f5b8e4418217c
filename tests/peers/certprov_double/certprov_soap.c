/*
 * certprov_soap - request parsing for the CertProv + Web Ticket double (see the header).
 * Elements are matched by namespace URI + local name, never by prefix; the signature's
 * canonical forms are libxml2's exclusive c14n over the received document, so whatever
 * serialization a client chose verifies when it signed the canonical form.
 */
#include "certprov_soap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>

#include <openssl/evp.h>

static void quiet_errors(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

void soap_init(void)
{
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, quiet_errors);
}

void soap_cleanup(void)
{
	xmlCleanupParser();
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

unsigned char *soap_b64_decode(const char *in, size_t len, size_t *outlen)
{
	unsigned char *out = malloc(len / 4 * 3 + 4);
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	bool pad = false;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad = true;
			continue;
		}
		v = b64_val(c);
		if (v < 0 || pad) /* a character outside the alphabet, or data after '=' */
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (bits >= 6) /* one lone sextet: not base64 */
		goto bad;
	out[n] = 0;
	*outlen = n;
	return out;
bad:
	free(out);
	return NULL;
}

static bool is(const xmlNode *n, const char *ns, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
	       strcmp((const char *)n->ns->href, ns) == 0 &&
	       strcmp((const char *)n->name, name) == 0;
}

static xmlNode *child(const xmlNode *parent, const char *ns, const char *name)
{
	if (parent == NULL)
		return NULL;
	for (xmlNode *c = parent->children; c != NULL; c = c->next)
		if (is(c, ns, name))
			return c;
	return NULL;
}

/* the first descendant element NS:NAME of PARENT in document order (depth is capped by
 * the parse, so the recursion is bounded) */
static xmlNode *descendant(const xmlNode *parent, const char *ns, const char *name)
{
	if (parent == NULL)
		return NULL;
	for (xmlNode *c = parent->children; c != NULL; c = c->next) {
		xmlNode *d;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is(c, ns, name))
			return c;
		d = descendant(c, ns, name);
		if (d != NULL)
			return d;
	}
	return NULL;
}

static char *trimmed(const char *s)
{
	size_t n;
	char *r;

	if (s == NULL)
		return NULL;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strlen(s);
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	r = malloc(n + 1);
	if (r == NULL)
		return NULL;
	memcpy(r, s, n);
	r[n] = 0;
	return r;
}

static char *text(const xmlNode *n)
{
	xmlChar *c;
	char *r;

	if (n == NULL)
		return NULL;
	c = xmlNodeGetContent(n);
	r = trimmed((const char *)c);
	xmlFree(c);
	return r;
}

static char *attr(const xmlNode *n, const char *name)
{
	xmlChar *c;
	char *r;

	if (n == NULL)
		return NULL;
	c = xmlGetProp(n, (const xmlChar *)name); /* any namespace (wsu:Id or Id) */
	r = trimmed((const char *)c);
	xmlFree(c);
	return r;
}

static int depth_ok(const xmlNode *n, int depth)
{
	if (depth > SOAP_MAX_DEPTH)
		return 0;
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !depth_ok(c, depth + 1))
			return 0;
	return 1;
}

/* parse BODY; the SOAP Header (may be NULL) and Body out; NULL when it is no SOAP 1.1 */
static xmlDoc *envelope(const char *body, size_t len, xmlNode **header, xmlNode **sbody)
{
	xmlDoc *doc;
	xmlNode *root;

	if (len > SOAP_MAX_BODY || len > INT32_MAX)
		return NULL;
	/* XML_PARSE_NONET: no network; entities are never substituted (no XML_PARSE_NOENT),
	 * and a document with a DTD is refused below */
	doc = xmlReadMemory(body, (int)len, "request.xml", NULL,
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		return NULL;
	root = xmlDocGetRootElement(doc);
	if (doc->intSubset != NULL || doc->extSubset != NULL || root == NULL ||
	    !is(root, NS_SOAP, "Envelope") || xmlChildElementCount(root) > 2 ||
	    depth_ok(root, 1) == 0)
		goto bad;
	*header = child(root, NS_SOAP, "Header");
	*sbody = child(root, NS_SOAP, "Body");
	if (*sbody == NULL)
		goto bad;
	return doc;
bad:
	xmlFreeDoc(doc);
	return NULL;
}

static void addressing(xmlNode *header, char **action, char **msgid, char **to)
{
	*action = text(child(header, NS_WSA, "Action"));
	*msgid = text(child(header, NS_WSA, "MessageID"));
	*to = text(child(header, NS_WSA, "To"));
}

int soap_issue_parse(const char *body, size_t len, struct soap_issue *out)
{
	xmlNode *header = NULL, *sbody = NULL, *sec, *tok, *rst, *ent;
	xmlDoc *doc;

	memset(out, 0, sizeof *out);
	doc = envelope(body, len, &header, &sbody);
	if (doc == NULL)
		return -1;
	addressing(header, &out->wsa_action, &out->wsa_msgid, &out->wsa_to);
	sec = child(header, NS_WSSE, "Security");
	tok = child(sec, NS_WSSE, "UsernameToken");
	if (tok != NULL) {
		out->has_token = true;
		out->username = text(child(tok, NS_WSSE, "Username"));
		out->password = text(child(tok, NS_WSSE, "Password"));
	}
	rst = child(sbody, NS_WST, "RequestSecurityToken");
	if (rst != NULL) {
		xmlNode *applies;
		out->has_rst = true;
		out->context = attr(rst, "Context");
		applies = descendant(rst, NS_WSA, "Address");
		out->applies_to = text(applies);
		ent = child(child(rst, NS_WST, "Entropy"), NS_WST, "BinarySecret");
		if (ent != NULL) {
			char *b64 = text(ent);
			if (b64 != NULL)
				out->entropy = soap_b64_decode(b64, strlen(b64), &out->entropy_len);
			out->entropy_bad = out->entropy == NULL || out->entropy_len == 0;
			if (out->entropy_bad) {
				free(out->entropy);
				out->entropy = NULL;
				out->entropy_len = 0;
			}
			free(b64);
		}
	}
	xmlFreeDoc(doc);
	return 0;
}

void soap_issue_free(struct soap_issue *r)
{
	free(r->wsa_action);
	free(r->wsa_msgid);
	free(r->wsa_to);
	free(r->username);
	free(r->password);
	free(r->context);
	free(r->applies_to);
	free(r->entropy);
	memset(r, 0, sizeof *r);
}

/* c14n visibility: NODE (an element, attribute or namespace node) lies in ROOT's subtree */
static int in_subtree(void *root, xmlNode *node, xmlNode *parent)
{
	xmlNode *n = node;

	if (node == NULL || node->type == XML_NAMESPACE_DECL || node->type == XML_ATTRIBUTE_NODE)
		n = parent;
	for (; n != NULL; n = n->parent)
		if (n == root)
			return 1;
	return 0;
}

/* exclusive c14n 1.0 without comments of the subtree at NODE; malloced */
static unsigned char *c14n(xmlDoc *doc, xmlNode *node, size_t *len)
{
	xmlOutputBuffer *buf = xmlAllocOutputBuffer(NULL);
	unsigned char *r = NULL;
	int rc;

	if (buf == NULL)
		return NULL;
	rc = xmlC14NExecute(doc, in_subtree, node, XML_C14N_EXCLUSIVE_1_0, NULL, 0, buf);
	if (rc >= 0) {
		size_t n = xmlOutputBufferGetSize(buf);
		r = malloc(n + 1);
		if (r != NULL) {
			if (n > 0)
				memcpy(r, xmlOutputBufferGetContent(buf), n);
			r[n] = 0;
			*len = n;
		}
	}
	xmlOutputBufferClose(buf);
	return r;
}

static unsigned char *b64_of(const xmlNode *n, size_t *len)
{
	char *t = text(n);
	unsigned char *r = NULL;

	if (t != NULL)
		r = soap_b64_decode(t, strlen(t), len);
	free(t);
	return r;
}

int soap_gapc_parse(const char *body, size_t len, struct soap_gapc *out)
{
	xmlNode *header = NULL, *sbody = NULL, *sec, *ts, *sig, *si, *ref, *gapc, *bst;
	xmlDoc *doc;

	memset(out, 0, sizeof *out);
	doc = envelope(body, len, &header, &sbody);
	if (doc == NULL)
		return -1;
	addressing(header, &out->wsa_action, &out->wsa_msgid, &out->wsa_to);
	sec = child(header, NS_WSSE, "Security");
	out->has_security = sec != NULL;
	if (sec != NULL) {
		xmlNode *keyid =
		    descendant(child(sec, NS_DS, "Signature"), NS_WSSE, "KeyIdentifier");
		out->assertion_id = text(keyid);
		if (out->assertion_id == NULL || out->assertion_id[0] == 0) {
			free(out->assertion_id);
			out->assertion_id = attr(child(sec, NS_SAML, "Assertion"), "AssertionID");
		}
		ts = child(sec, NS_WSU, "Timestamp");
		if (ts != NULL) {
			size_t n = 0;
			unsigned char *canon = c14n(doc, ts, &n);
			out->has_timestamp = true;
			out->ts_id = attr(ts, "Id");
			out->ts_expires = text(child(ts, NS_WSU, "Expires"));
			if (canon != NULL) {
				unsigned int dl = 0;
				out->ts_digest_ok = EVP_Digest(canon, n, out->ts_digest, &dl,
				                               EVP_sha1(), NULL) == 1 &&
				                    dl == sizeof out->ts_digest;
			}
			free(canon);
		}
		sig = child(sec, NS_DS, "Signature");
		si = child(sig, NS_DS, "SignedInfo");
		if (sig != NULL && si != NULL) {
			out->has_signature = true;
			ref = child(si, NS_DS, "Reference");
			out->ref_uri = attr(ref, "URI");
			out->digest_value =
			    b64_of(child(ref, NS_DS, "DigestValue"), &out->digest_len);
			out->signed_info = c14n(doc, si, &out->signed_info_len);
			out->signature_value =
			    b64_of(child(sig, NS_DS, "SignatureValue"), &out->signature_len);
		}
	}
	gapc = child(sbody, NS_CP, "GetAndPublishCert");
	if (gapc != NULL) {
		out->has_gapc = true;
		out->device_id = attr(gapc, "DeviceId");
		out->entity = attr(gapc, "Entity");
		bst = descendant(gapc, NS_WSSE, "BinarySecurityToken");
		if (bst != NULL) {
			char *vt = attr(bst, "ValueType");
			size_t vl = vt != NULL ? strlen(vt) : 0;
			if (vl >= 7 && strcmp(vt + vl - 7, "#PKCS10") == 0) {
				xmlChar *c =
				    xmlNodeGetContent(bst); /* untrimmed: line breaks matter */
				out->csr_b64 = c != NULL ? strdup((const char *)c) : NULL;
				xmlFree(c);
			}
			free(vt);
		}
	}
	xmlFreeDoc(doc);
	return 0;
}

void soap_gapc_free(struct soap_gapc *r)
{
	free(r->wsa_action);
	free(r->wsa_msgid);
	free(r->wsa_to);
	free(r->assertion_id);
	free(r->ts_id);
	free(r->ts_expires);
	free(r->ref_uri);
	free(r->digest_value);
	free(r->signed_info);
	free(r->signature_value);
	free(r->device_id);
	free(r->entity);
	free(r->csr_b64);
	memset(r, 0, sizeof *r);
}
