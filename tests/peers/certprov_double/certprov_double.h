/*
 * certprov_double - the CertProv + Web Ticket test double's shared declarations: the modes
 * (failure knobs), users, web tickets, listeners, the request being answered and the
 * process state, and the functions the three files share:
 *   certprov_double.c     set-up, routing, replies (now, slow, stalled), faults, /stats
 *   certprov_webticket.c  root chain, /mex, IssueToken (PIN, UsernameToken, P_SHA1)
 *   certprov_enroll.c     GetAndPublishCert: web-ticket signature, CSR, issue, publish
 * A test peer only (tests/peers/): it shares no code with probe/.
 */
#ifndef CERTPROV_DOUBLE_H
#define CERTPROV_DOUBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "certprov_soap.h"

#define MAX_LISTENERS 8
#define MAX_TICKETS 4096
#define PROOF_KEY_LEN 32
#define ACTION_ISSUE "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"
#define ACTION_ISSUE_FINAL "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal"
#define ACTION_GAPC "http://schemas.microsoft.com/OCS/AuthWebServices/GetAndPublishCert"
#define X509_PROFILE                                                                               \
	"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0"
#define B64_ENCODING NS_WSSE "#base64binary"
#define SAML_TOKEN "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1"
#define CP_PATH "/certprov/certprovisioningservice.svc"
#define WT_PATH "/webticket/webticketservice.svc"
#define REASON_NOTOKEN "No valid security token."

enum mode_kind {
	M_NONE, /* not set at this level */
	M_OK,
	M_ANONDOWN,
	M_MEX404,
	M_MEXNOPOLICY,
	M_NOPIN,
	M_PINMISMATCH,
	M_PINLOCK,
	M_NOTSIP,
	M_WT503,
	M_WTSTALL,
	M_WTGARBAGE,
	M_SHORTTICKET,
	M_TICKETREJECT,
	M_DATASTORE,
	M_SOAPFAULT,
	M_HTTP500,
	M_CP503,
	M_CPSTALL,
	M_GARBAGE,
	M_OVERSIZED,
	M_DEEP,
	M_SHORTCERT,
	M_WRONGENTITY,
	M_WRONGKEY,
	M_BADDER,
	M_BEARER, /* /mex offers a bearer ticket (SignedSupportingTokens): no signature needed */
	M_SLOW,   /* slow-N */
	M_COUNT,
};
/* "ok", "anondown", ... by enum mode_kind ("" for M_NONE, "slow" for slow-N) */
extern const char *const mode_names[M_COUNT];

struct mode {
	enum mode_kind k;
	unsigned ms; /* M_SLOW */
};

struct user {
	char *phone, *ext, *pin, *sip, *password;
	struct mode mode;
	unsigned bad_pins;
	bool locked;
	struct user *next;
};

struct ticket {
	char id[64];
	struct user *u;
	unsigned char key[PROOF_KEY_LEN];
	time_t expires;
	struct ticket *next;
};

struct listener {
	struct evhttp *http;
	SSL_CTX *ctx; /* NULL: plain HTTP */
	unsigned port;
};

/* one request being answered */
struct rq {
	struct evhttp_request *req;
	struct listener *lis;
	struct mode pmode; /* from the /k-MODE prefix */
	struct mode eff;   /* what applies (path > user > -m) */
	char prefix[40];
	char host[160];
	char path[512]; /* lower case, prefix and query removed */
	const char *op;
	char who[128]; /* user for the log: sip URI or phone number, never a secret */
	char note[200];
	const char *body;
	size_t blen;
};

struct pend {
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct event *timer; /* NULL: stalled, never answered */
	int code;
	struct evbuffer *body;
	char logline[200];
	struct pend *prev, *next;
};
struct globals {
	struct event_base *base;
	struct listener lis[MAX_LISTENERS];
	int nlis;
	struct user *users;
	struct ticket *tickets;
	unsigned ntickets;
	X509 *ocs_cert;
	EVP_PKEY *ocs_key;
	unsigned char *chain_p7; /* DER PKCS#7 of --chain */
	int chain_p7_len;
	char *chain_pem;
	size_t chain_pem_len;
	const char *published;
	const char *name;
	const char *bind; /* -b: the address every listener binds (127.0.0.1) */
	struct mode mode;
	long ticket_lifetime;
	long cert_hours;
	unsigned max_pin;
	bool verbose;
	struct pend *pends;
	struct {
		unsigned long requests, mex, wt_mex, rootchain, issue_ok, issue_failed,
		    certs_issued, ticket_rejected, errorinfo;
	} n;
	struct {
		char port[16], credential[16], phone_or_ext[8], user[128];
		bool username_b64, password_b64, client_entropy, soapaction, valid;
	} li;
	struct {
		char device_id[80], entity[128], line_breaks[8], user[128];
		unsigned max_line;
		bool wsa_ok, valid;
	} lc;
};
extern struct globals G;

/* ---- certprov_double.c ---- */

/* -v logging, one line; never a secret */
void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* a fatal set-up error: prints and exits 1 */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* out of memory is fatal */
void *xcalloc(size_t n, size_t s);
char *xstrdup(const char *s);
/* the mode for Q: its /k-MODE prefix, else U's mode (U may be NULL), else -m, else ok */
struct mode mode_pick(const struct rq *q, const struct user *u);
const char *mode_str(const struct mode *m, char *buf, size_t cap);
void xml_esc(struct evbuffer *b, const char *s);
/* one line of standard base64, malloced */
char *b64_encode(const unsigned char *p, size_t n);
/* YYYY-MM-DDThh:mm:ss.000Z */
void iso_time(time_t t, char *out, size_t cap);
/* REPLY_AT takes over BODY (NULL: empty) and answers Q now (DELAY_MS 0), DELAY_MS later
 * or never (< 0: stalled until the client or the process goes); it logs the answer with
 * Q->note. REPLY delays by the slow-N knob. */
void reply_at(struct rq *q, int code, const char *ctype, struct evbuffer *body, long delay_ms);
void reply(struct rq *q, int code, const char *ctype, struct evbuffer *body);
void reply_text(struct rq *q, int code, const char *text);
/* a new buffer holding "<s:Envelope xmlns:s=...>" */
struct evbuffer *envelope_start(void);
/* X-Ms-diagnostics: ID;source="NAME";reason="REASON";fault="FAULT" */
void xmsdiag(struct rq *q, unsigned id, const char *reason, const char *fault);
/* a SOAP 1.1 fault FC_PREFIX:FC_NAME (FC_NS declared unless NULL) with faultstring TEXT and,
 * with ERRID, an OCSDiagnosticsFault detail (ErrorId ERRID, Reason TEXT) */
void fault(struct rq *q, int code, const char *fc_prefix, const char *fc_ns, const char *fc_name,
           const char *text, unsigned errid);
/* 500 a:ActionNotSupported */
void action_fault(struct rq *q, const char *want);
/* true for a text/xml POST; otherwise Q is answered 415 */
bool content_type_ok(struct rq *q);
/* the SOAPAction header (quotes optional) is WANT */
bool soapaction_is(struct rq *q, const char *want);
/* when Q's mode is K503 (503, empty), KSTALL (never answered) or KGARBAGE (200, not XML):
 * answers Q and returns true */
bool down_knob(struct rq *q, enum mode_kind k503, enum mode_kind kstall, enum mode_kind kgarbage);
/* drop tickets expired for an hour (and the oldest past MAX_TICKETS) */
void tickets_prune(time_t now);
/* the ticket with AssertionID ID, or NULL */
struct ticket *ticket_find(const char *id);

/* ---- certprov_webticket.c: each answers Q ---- */
void h_rootchain(struct rq *q);
void h_cp_mex(struct rq *q);
void h_wt_mex(struct rq *q);
void h_issue(struct rq *q, const char *port);
void h_negotiate(struct rq *q);

/* ---- certprov_enroll.c ---- */
/* a DER degenerate PKCS#7 of CERTS (OPENSSL_malloc'ed, *LEN bytes) */
unsigned char *p7_of(STACK_OF(X509) *certs, int *len);
/* GetAndPublishCert (a GET: the root chain); answers Q */
void h_gapc(struct rq *q);

#endif
