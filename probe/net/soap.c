/*
 * soap: libxml2 behind one door (see soap.h). Untrusted input meets the parser only
 * here: capped before parsing, refused when it carries a DOCTYPE (no entity can then be
 * declared, so none is loaded or expanded), parsed without network access, and checked
 * for nesting depth before any caller walks it.
 */
#include "net/soap.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlversion.h>

struct soap_doc {
	xmlDocPtr doc;
};

/* Nothing is ever fetched: a reference to an external entity or DTD resolves to nothing. */
static xmlParserInputPtr soap_no_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

static void soap_once_init(void)
{
	xmlInitParser();
	xmlSetExternalEntityLoader(soap_no_loader);
}

/* libxml2 would print its errors on stderr; we report them through our statuses. */
static void soap_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void soap_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, soap_once_init);
	/* per thread in libxml2: set on the thread that parses */
	xmlSetGenericErrorFunc(NULL, soap_quiet);
}

static bool soap_has_doctype(const unsigned char *p, size_t len)
{
	static const char tag[] = "<!DOCTYPE";
	size_t n = sizeof tag - 1;

	for (size_t i = 0; i + n <= len; i++)
		if (p[i] == '<' && memcmp(p + i, tag, n) == 0)
			return true;
	return false;
}

/* Deepest element nesting under n, stopping once past limit (iterative). */
static unsigned soap_depth(xmlNodePtr root, unsigned limit)
{
	xmlNodePtr n = root;
	unsigned depth = 1, max = 1;

	while (n != NULL) {
		if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
			n = n->children;
			if (++depth > max)
				max = depth;
			if (max > limit)
				return max;
			continue;
		}
		while (n != NULL && n->next == NULL && n != root) {
			n = n->parent;
			depth--;
		}
		if (n == NULL || n == root)
			break;
		n = n->next;
	}
	return max;
}

enum soap_parse_status soap_parse(const void *data, size_t len, size_t max, struct soap_doc **out,
                                  char *err, size_t errlen)
{
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	enum soap_parse_status st = SOAP_PARSE_OK;

	*out = NULL;
	soap_init();
	if (len > max || len > (size_t)0x7fffffff) {
		snprintf(err, errlen, "%zu bytes, past the %zu-byte cap", len, max);
		return SOAP_PARSE_TOO_LARGE;
	}
	if (soap_has_doctype(data, len)) {
		snprintf(err, errlen, "a DOCTYPE declaration (refused in SOAP)");
		return SOAP_PARSE_DTD;
	}
	ctxt = xmlNewParserCtxt();
	if (ctxt == NULL) {
		snprintf(err, errlen, "out of memory");
		return SOAP_PARSE_MALFORMED;
	}
	doc = xmlCtxtReadMemory(ctxt, data, (int)len, "response.xml", NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || xmlDocGetRootElement(doc) == NULL) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[160] = "no root element";
		if (e != NULL && e->message != NULL) {
			snprintf(msg, sizeof msg, "%s", e->message);
			msg[strcspn(msg, "\n")] = '\0';
		}
		snprintf(err, errlen, "not well-formed XML (line %d: %s)", e != NULL ? e->line : 0,
		         msg);
		st = SOAP_PARSE_MALFORMED;
		goto out;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		snprintf(err, errlen, "a DOCTYPE declaration (refused in SOAP)");
		st = SOAP_PARSE_DTD;
		goto out;
	}
	if (soap_depth(xmlDocGetRootElement(doc), SOAP_MAX_DEPTH) > SOAP_MAX_DEPTH) {
		snprintf(err, errlen, "elements nested deeper than %d", SOAP_MAX_DEPTH);
		st = SOAP_PARSE_TOO_DEEP;
		goto out;
	}
	*out = calloc(1, sizeof **out);
	if (*out == NULL)
		abort();
	(*out)->doc = doc;
	doc = NULL;
out:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return st;
}

void soap_doc_free(struct soap_doc *doc)
{
	if (doc == NULL)
		return;
	xmlFreeDoc(doc->doc);
	free(doc);
}

/* Our opaque node is libxml2's element; the casts stay in this file. */
static xmlNodePtr X(const struct soap_node *n)
{
	return (xmlNodePtr)(uintptr_t)n;
}

static const struct soap_node *N(xmlNodePtr n)
{
	return (const struct soap_node *)n;
}

const struct soap_node *soap_root(const struct soap_doc *doc)
{
	return doc != NULL ? N(xmlDocGetRootElement(doc->doc)) : NULL;
}

const char *soap_name(const struct soap_node *n)
{
	return n != NULL ? (const char *)X(n)->name : "";
}

static bool soap_is(xmlNodePtr n, const char *local)
{
	return n->type == XML_ELEMENT_NODE &&
	       (local == NULL || strcmp((const char *)n->name, local) == 0);
}

const struct soap_node *soap_child(const struct soap_node *n, const char *local)
{
	if (n == NULL)
		return NULL;
	for (xmlNodePtr c = X(n)->children; c != NULL; c = c->next)
		if (soap_is(c, local))
			return N(c);
	return NULL;
}

const struct soap_node *soap_next(const struct soap_node *n, const char *local)
{
	if (n == NULL)
		return NULL;
	for (xmlNodePtr c = X(n)->next; c != NULL; c = c->next)
		if (soap_is(c, local))
			return N(c);
	return NULL;
}

const struct soap_node *soap_path(const struct soap_node *n, const char *path)
{
	char step[128];

	while (n != NULL && *path != '\0') {
		size_t len = strcspn(path, "/");
		if (len >= sizeof step)
			return NULL;
		memcpy(step, path, len);
		step[len] = '\0';
		n = soap_child(n, step);
		path += len;
		if (*path == '/')
			path++;
	}
	return n;
}

static bool soap_attr_equals(xmlNodePtr n, const char *attr, const char *value)
{
	for (xmlAttrPtr a = n->properties; a != NULL; a = a->next) {
		xmlChar *v;
		bool eq;
		if (strcmp((const char *)a->name, attr) != 0)
			continue;
		v = xmlNodeGetContent((xmlNodePtr)a);
		eq = v != NULL && strcmp((const char *)v, value) == 0;
		xmlFree(v);
		if (eq)
			return true;
	}
	return false;
}

static const struct soap_node *soap_find_where(const struct soap_node *start, const char *local,
                                               const char *attr, const char *value)
{
	xmlNodePtr root, n;

	if (start == NULL)
		return NULL;
	root = X(start);
	n = root->children;
	while (n != NULL) {
		if (soap_is(n, local) && (attr == NULL || soap_attr_equals(n, attr, value)))
			return N(n);
		if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
			n = n->children;
			continue;
		}
		while (n != NULL && n->next == NULL && n != root)
			n = n->parent;
		if (n == NULL || n == root)
			break;
		n = n->next;
	}
	return NULL;
}

const struct soap_node *soap_find(const struct soap_node *n, const char *local)
{
	return soap_find_where(n, local, NULL, NULL);
}

const struct soap_node *soap_find_attr(const struct soap_node *n, const char *local,
                                       const char *attr, const char *value)
{
	return soap_find_where(n, local, attr, value);
}

/* Trim XML white space from both ends of s (in place); its new length. */
static size_t soap_trim(const char *s, const char **start)
{
	size_t len = strlen(s);

	while (len > 0 && strchr(" \t\r\n", *s) != NULL) {
		s++;
		len--;
	}
	while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
		len--;
	*start = s;
	return len;
}

static long soap_copy_trimmed(xmlChar *v, char *buf, size_t len)
{
	const char *s;
	size_t n;

	if (len > 0)
		buf[0] = '\0';
	if (v == NULL)
		return -1;
	n = soap_trim((const char *)v, &s);
	if (n + 1 > len) {
		xmlFree(v);
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	xmlFree(v);
	return (long)n;
}

long soap_text(const struct soap_node *n, char *buf, size_t len)
{
	if (n == NULL) {
		if (len > 0)
			buf[0] = '\0';
		return -1;
	}
	return soap_copy_trimmed(xmlNodeGetContent(X(n)), buf, len);
}

int soap_text_bbuf(const struct soap_node *n, struct bbuf *out)
{
	xmlChar *v;
	const char *s;
	size_t len;
	int rc;

	if (n == NULL)
		return -1;
	v = xmlNodeGetContent(X(n));
	if (v == NULL)
		return -1;
	len = soap_trim((const char *)v, &s);
	rc = bbuf_append(out, s, len);
	xmlFree(v);
	return rc;
}

long soap_attr(const struct soap_node *n, const char *attr, char *buf, size_t len)
{
	if (len > 0)
		buf[0] = '\0';
	if (n == NULL)
		return -1;
	for (xmlAttrPtr a = X(n)->properties; a != NULL; a = a->next)
		if (strcmp((const char *)a->name, attr) == 0)
			return soap_copy_trimmed(xmlNodeGetContent((xmlNodePtr)a), buf, len);
	return -1;
}

/* exc-c14n visibility: the subtree at root, with its attributes and namespace nodes. */
static int soap_c14n_visible(void *user, xmlNodePtr node, xmlNodePtr parent)
{
	xmlNodePtr root = user;
	xmlNodePtr n = node->type == XML_NAMESPACE_DECL ? parent : node;

	while (n != NULL) {
		if (n == root)
			return 1;
		n = n->parent;
	}
	return 0;
}

int soap_c14n(const struct soap_doc *doc, const struct soap_node *n, struct bbuf *out)
{
	xmlOutputBufferPtr ob;
	int rc;
	size_t len;

	if (doc == NULL || n == NULL)
		return -1;
	soap_init();
	ob = xmlAllocOutputBuffer(NULL);
	if (ob == NULL)
		return -1;
	rc = xmlC14NExecute(doc->doc, soap_c14n_visible, X(n), XML_C14N_EXCLUSIVE_1_0, NULL, 0, ob);
	if (rc < 0) {
		xmlOutputBufferClose(ob);
		return -1;
	}
	len = xmlOutputBufferGetSize(ob);
	rc = bbuf_append(out, xmlOutputBufferGetContent(ob), len);
	xmlOutputBufferClose(ob);
	return rc;
}

int soap_c14n_text(const char *xml, size_t len, struct bbuf *out)
{
	struct soap_doc *doc = NULL;
	char err[160];
	int rc;

	if (soap_parse(xml, len, 1024 * 1024, &doc, err, sizeof err) != SOAP_PARSE_OK)
		return -1;
	rc = soap_c14n(doc, soap_root(doc), out);
	soap_doc_free(doc);
	return rc;
}

int soap_escape(struct bbuf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		const char *rep = NULL;
		int rc;
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		default:
			break;
		}
		rc = rep != NULL ? bbuf_append(out, rep, strlen(rep)) : bbuf_append(out, s, 1);
		if (rc == -1)
			return -1;
	}
	return 0;
}

const char *soap_version(void)
{
	return LIBXML_VERSION_STRING;
}
