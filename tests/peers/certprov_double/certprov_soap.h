/*
 * certprov_soap - the request side of the CertProv + Web Ticket double: parses the
 * IssueToken and GetAndPublishCert SOAP 1.1 requests a client sends (libxml2, size and
 * depth capped, no DTD, no entities, no network) and canonicalises what the web-ticket
 * signature covers. Used by certprov_double.c and by tests/fuzz/fuzz_certprov_request.c.
 */
#ifndef CERTPROV_SOAP_H
#define CERTPROV_SOAP_H

#include <stdbool.h>
#include <stddef.h>

#define SOAP_MAX_BODY (1024 * 1024)
#define SOAP_MAX_DEPTH 64

#define NS_SOAP "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_WSA "http://www.w3.org/2005/08/addressing"
#define NS_WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define NS_WSU "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define NS_WST "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
#define NS_SAML "urn:oasis:names:tc:SAML:1.0:assertion"
#define NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define NS_CP "http://schemas.microsoft.com/OCS/AuthWebServices/"
#define NS_AF "urn:component:Microsoft.Rtc.WebAuthentication.2010"

/* An IssueToken (WS-Trust RST) request. Strings are malloced, NUL-terminated, trimmed
 * of surrounding whitespace; NULL when absent. */
struct soap_issue {
	char *wsa_action, *wsa_msgid, *wsa_to;
	bool has_rst;   /* Body/RequestSecurityToken */
	bool has_token; /* Header/Security/UsernameToken */
	char *username; /* as sent (may be base64: the caller decides) */
	char *password;
	char *context;          /* RST/@Context */
	char *applies_to;       /* AppliesTo/EndpointReference/Address */
	unsigned char *entropy; /* Entropy/BinarySecret, decoded; NULL when absent */
	size_t entropy_len;
	bool entropy_bad; /* present but not base64 */
};

/* A GetAndPublishCert request, with what its web-ticket signature covers. */
struct soap_gapc {
	char *wsa_action, *wsa_msgid, *wsa_to;
	bool has_security;
	char *assertion_id; /* KeyIdentifier, else Security/Assertion/@AssertionID */
	bool has_timestamp;
	char *ts_id, *ts_expires;
	unsigned char ts_digest[20]; /* SHA-1 of exc-c14n(Timestamp), when has_timestamp */
	bool ts_digest_ok;           /* the c14n succeeded */
	bool has_signature;
	char *ref_uri;               /* SignedInfo/Reference/@URI */
	unsigned char *digest_value; /* Reference/DigestValue, decoded */
	size_t digest_len;
	unsigned char *signed_info; /* exc-c14n(SignedInfo) */
	size_t signed_info_len;
	unsigned char *signature_value; /* SignatureValue, decoded */
	size_t signature_len;
	bool has_gapc; /* Body/GetAndPublishCert */
	char *device_id, *entity;
	char *csr_b64; /* the PKCS#10 BinarySecurityToken text as sent */
};

/*
 * soap_issue_parse / soap_gapc_parse: parse LEN bytes of BODY into OUT (zeroed first).
 * Returns 0 when BODY is a SOAP 1.1 envelope with a Body, -1 otherwise (not XML, a DTD,
 * too deep, too large, another envelope); OUT then holds nothing to free, but calling
 * the matching _free is always safe.
 */
int soap_issue_parse(const char *body, size_t len, struct soap_issue *out);
void soap_issue_free(struct soap_issue *r);
int soap_gapc_parse(const char *body, size_t len, struct soap_gapc *out);
void soap_gapc_free(struct soap_gapc *r);

/* soap_b64_decode: standard base64 of LEN chars of IN, whitespace skipped, padding
 * optional. Returns a malloced buffer (NUL-terminated, *OUTLEN bytes) or NULL. */
unsigned char *soap_b64_decode(const char *in, size_t len, size_t *outlen);

/* soap_init / soap_cleanup: once per process (libxml2 global state). */
void soap_init(void);
void soap_cleanup(void);

#endif
