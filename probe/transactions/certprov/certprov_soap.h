/*
 * certprov_soap: the SOAP of a phone bootstrap ([MS-OCAUTHWS], lync-certprov.md §4-§5):
 * builders for the Web Ticket IssueToken request and the CertProv GetAndPublishCert
 * request (with its WS-Security header: timestamp, ticket, HMAC-SHA1 proof-key
 * signature), and parsers for what comes back (/mex metadata, the RSTR, the
 * GetAndPublishCert answer, SOAP faults, X-Ms-diagnostics). The PIN credential's shape
 * is not published: struct certprov_shape makes it data (see the README). Parsers take
 * untrusted bytes; each has a fuzz target.
 */
#ifndef CERTPROBE_CERTPROV_SOAP_H
#define CERTPROBE_CERTPROV_SOAP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/bbuf.h"
#include "transactions/transaction_status.h"

#define CERTPROV_SOAP_MAX (256 * 1024) /* any answer we parse */
#define CERTPROV_ENTROPY_LEN 32
#define CERTPROV_PROOF_KEY_LEN 32

#define CERTPROV_ACTION_ISSUE "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"
#define CERTPROV_ACTION_GAPC "http://schemas.microsoft.com/OCS/AuthWebServices/GetAndPublishCert"

/* The request shape of the web ticket by credential (the [U] part of the wire). */
struct certprov_shape {
	const char *url_suffix;       /* appended to the Web Ticket URL: "/Auth" */
	const char *token_element;    /* "UsernameToken" */
	const char *username_element; /* "Username" */
	const char *password_element; /* "Password" */
	bool base64;                  /* Username and Password values base64-encoded */
	const char *token_type;       /* wst:TokenType asked for */
	bool entropy;                 /* send client entropy (proof key) */
	bool http_auth;               /* NTLM/Negotiate in HTTP instead of a UsernameToken */
};
/* The brief's inference (lync-certprov.md §12): /Auth, UsernameToken, base64, SAML 1.1. */
extern const struct certprov_shape certprov_shape_default;

struct certprov_issue_req {
	const char *to;               /* the Web Ticket URL posted to */
	const char *applies_to;       /* the CertProv auth URL the ticket is for */
	const char *sip_uri;          /* "sip:alice@example.com" */
	const char *username;         /* phone number / extension, or a user name */
	const char *password;         /* PIN or password: never logged */
	const unsigned char *entropy; /* CERTPROV_ENTROPY_LEN bytes, with shape.entropy */
	const char *message_id;       /* "urn:uuid:..." */
	const char *context;          /* RST Context */
	const struct certprov_shape *shape;
};
/* Append the IssueToken envelope to out: 0, or -1 at out's cap. */
int certprov_issue_build(const struct certprov_issue_req *r, struct bbuf *out);

/* A web ticket as the RSTR gave it. */
struct certprov_ticket {
	char *token_xml; /* exc-c14n of the token under RequestedSecurityToken (malloced) */
	size_t token_len;
	char assertion_id[128];
	char created[40], expires[40]; /* Lifetime, as sent */
	time_t expires_at;             /* 0 when Lifetime/Expires is absent or unreadable */
	unsigned char server_entropy[128];
	size_t server_entropy_len; /* 0: a bearer ticket, nothing to sign with */
	bool proof_key_direct;     /* RequestedProofToken: server_entropy is the key itself */
};
void certprov_ticket_clear(struct certprov_ticket *t);

/* A cached ticket is used until this long before it expires (SIPE's margin). */
#define CERTPROV_TICKET_REFRESH_S 60
/* Whether t may still be sent at now: it expires more than CERTPROV_TICKET_REFRESH_S later. */
bool certprov_ticket_usable(const struct certprov_ticket *t, time_t now);

/* What a SOAP fault or X-Ms-diagnostics said. */
struct certprov_fault {
	bool present;
	long error_id; /* OCSDiagnosticsFault ErrorId / X-Ms-diagnostics id; -1 when none */
	char code[96];
	char reason[200];
};

/* "28020;source=\"x\";reason=\"No valid security token.\"" into f (present when an id parses). */
void certprov_diagnostics_parse(const char *header, struct certprov_fault *f);
/* The status a web ticket failure maps to: ids 28000/28029/28020, lockout and PIN words. */
enum txn_status certprov_webticket_status(const struct certprov_fault *f);

/* The two URLs /mex gives. */
struct certprov_mex {
	char webticket_url[512]; /* IssuedToken/Issuer/Address of the WebTicketProof_SHA1 policy */
	char auth_url[512];      /* the CertProvisioningServiceWebTicketProof_SHA1 port address */
	bool bearer;             /* SignedSupportingTokens: no proof-key signature */
};
/* TXN_OK, or TXN_CERTPROV_METADATA_BAD with why in detail. */
enum txn_status certprov_mex_parse(const void *body, size_t len, struct certprov_mex *out,
                                   char *detail, size_t dlen);

/*
 * The IssueToken answer: TXN_OK with t filled; TXN_WEBTICKET_FAULT (or a finer status
 * from the fault's id) with f filled for a SOAP fault; TXN_WEBTICKET_FAULT for an
 * answer without a token. detail says why.
 */
enum txn_status certprov_rstr_parse(const void *body, size_t len, struct certprov_ticket *t,
                                    struct certprov_fault *f, char *detail, size_t dlen);

struct certprov_gapc_req {
	const char *to; /* the CertProv auth URL */
	const struct certprov_ticket *ticket;
	const unsigned char *proof_key; /* CERTPROV_PROOF_KEY_LEN bytes; NULL: bearer */
	const char *device_id;          /* "{GUID}" */
	const char *entity;             /* "alice@example.com" */
	const char *csr_b64;            /* wrapped at 76 with CRLF */
	const char *request_id;
	const char *message_id;
};
/* Append the GetAndPublishCert envelope (signed when proof_key is set): 0 or -1. */
int certprov_gapc_build(const struct certprov_gapc_req *r, struct bbuf *out);

/* The GetAndPublishCert answer. */
struct certprov_gapc_answer {
	struct bbuf cert;  /* DER of the certificate under RequestedSecurityToken; len 0: none */
	struct bbuf chain; /* the PKCS#7 (DER) token beside it; len 0: none */
	bool error_info;   /* an ErrorInfo element */
	char error_text[200];
	char disposition[80];
	struct certprov_fault fault;
};
void certprov_gapc_answer_init(struct certprov_gapc_answer *a);
void certprov_gapc_answer_clear(struct certprov_gapc_answer *a);
/*
 * TXN_OK with a certificate; TXN_CERTPROV_PUBLISH_FAILED or
 * TXN_CERTPROV_REGISTRAR_PROBLEM for an ErrorInfo (data store words, or anything else);
 * TXN_CERTPROV_FAULT for a fault or an answer without a certificate.
 */
enum txn_status certprov_gapc_parse(const void *body, size_t len, struct certprov_gapc_answer *a,
                                    char *detail, size_t dlen);

/* "2026-12-07T22:00:00Z" (fractions allowed) → time_t; 0 when unreadable. */
time_t certprov_time_parse(const char *s);

#endif
