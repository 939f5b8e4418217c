/*
 * soap: the one door to libxml2. Parses SOAP and WSDL answers from the network with a
 * size cap, a depth cap, no network access, no DTD (a document with one is refused, so
 * no entity is ever defined, loaded or expanded), and offers the few tree queries the
 * transactions need, by local name (prefixes differ between servers), plus exclusive
 * canonicalisation (exc-c14n) for WS-Security signatures and XML escaping for builders.
 */
#ifndef CERTPROBE_SOAP_H
#define CERTPROBE_SOAP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/bbuf.h"

#define SOAP_MAX_DEPTH 48 /* element nesting; SOAP answers stay under 20 */

struct soap_doc;
struct soap_node; /* an element of a soap_doc, valid while the doc lives */

enum soap_parse_status {
	SOAP_PARSE_OK = 0,
	SOAP_PARSE_TOO_LARGE, /* len > max */
	SOAP_PARSE_TOO_DEEP,  /* nesting past SOAP_MAX_DEPTH */
	SOAP_PARSE_DTD,       /* a DOCTYPE: never in SOAP, refused */
	SOAP_PARSE_MALFORMED, /* not well-formed XML (err says where) */
};

/*
 * Parse data[0..len) (need not be NUL-terminated) into *out (caller frees with
 * soap_doc_free). On failure *out is NULL and err (errlen bytes) says why.
 */
enum soap_parse_status soap_parse(const void *data, size_t len, size_t max, struct soap_doc **out,
                                  char *err, size_t errlen);
void soap_doc_free(struct soap_doc *doc); /* NULL-safe */

const struct soap_node *soap_root(const struct soap_doc *doc);
/* The element's local name (without prefix). */
const char *soap_name(const struct soap_node *n);
/* The first child element named local; NULL when none (or n is NULL). */
const struct soap_node *soap_child(const struct soap_node *n, const char *local);
/* The next sibling element after n named local (NULL: any name); NULL when none. */
const struct soap_node *soap_next(const struct soap_node *n, const char *local);
/* Child steps separated by '/': "Body/Fault/faultstring"; NULL when a step is missing. */
const struct soap_node *soap_path(const struct soap_node *n, const char *path);
/* The first descendant element (depth first, n excluded) named local; NULL when none. */
const struct soap_node *soap_find(const struct soap_node *n, const char *local);
/* Same, also requiring an attribute (local name attr) equal to value. */
const struct soap_node *soap_find_attr(const struct soap_node *n, const char *local,
                                       const char *attr, const char *value);
/*
 * The text content of n, white space trimmed at both ends, into buf (len bytes, always
 * NUL-terminated): its length, or -1 when n is NULL or the text does not fit.
 */
long soap_text(const struct soap_node *n, char *buf, size_t len);
/* Same, into a bbuf (which keeps its cap): 0, or -1 when n is NULL or past the cap. */
int soap_text_bbuf(const struct soap_node *n, struct bbuf *out);
/* The attribute with local name attr into buf as soap_text; -1 when absent or too long. */
long soap_attr(const struct soap_node *n, const char *attr, char *buf, size_t len);

/*
 * The exclusive canonical form (exc-c14n, no comments) of the subtree at n, appended to
 * out: what a WS-Security signature digests, and a self-contained copy of the subtree
 * (every namespace it uses is declared in it). 0, or -1 past out's cap.
 */
int soap_c14n(const struct soap_doc *doc, const struct soap_node *n, struct bbuf *out);
/* Parse xml (a whole document, e.g. one element) and append its exc-c14n form: 0 or -1. */
int soap_c14n_text(const char *xml, size_t len, struct bbuf *out);

/* Append s with &, <, >, " and ' escaped for text and attribute values: 0 or -1 at the cap. */
int soap_escape(struct bbuf *out, const char *s);

/* The libxml2 version this runs with ("20914"), for build info. */
const char *soap_version(void);

#endif
