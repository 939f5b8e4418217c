/*
 * certprov_double - a Lync / Skype for Business CertProv + Web Ticket test service, the
 * peer of certprobe's `type: phone-bootstrap`. An independent implementation (OpenSSL 3 +
 * libevent evhttp + libxml2; shares no code with probe/) written from
 * ../shared/design/lync-certprov.md §3-§5, §9, §12: the anonymous HTTP root chain, /mex
 * metadata, IssueToken by phone/extension + PIN or UsernameToken (proof key P_SHA1),
 * GetAndPublishCert with the HMAC-SHA1 web-ticket signature verified, certificates issued
 * by an "OCS Signing CA" and published as --published-dir/<user>@<host>.pem.
 *
 *   certprov_double -p HTTPS_PORT [-a HTTP_PORT] -c CHAIN -k KEY --chain ROOT_CHAIN
 *       --ocs-cert CERT --ocs-key KEY --published-dir DIR [-x PORT:CHAIN:KEY]...
 *       [-u USER]... [-U FILE] [-m MODE] [--ticket-lifetime S] [--cert-hours H]
 *       [--max-pin-attempts N] [-n NAME] [-v]
 *
 * The wire and the failure knobs (modes) are the contract in README.md here.
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
	M_SLOW, /* slow-N */
	M_COUNT,
};

static const char *const mode_names[M_COUNT] = {
    [M_NONE] = "",
    [M_OK] = "ok",
    [M_ANONDOWN] = "anondown",
    [M_MEX404] = "mex404",
    [M_MEXNOPOLICY] = "mexnopolicy",
    [M_NOPIN] = "nopin",
    [M_PINMISMATCH] = "pinmismatch",
    [M_PINLOCK] = "pinlock",
    [M_NOTSIP] = "notsip",
    [M_WT503] = "wt503",
    [M_WTSTALL] = "wtstall",
    [M_WTGARBAGE] = "wtgarbage",
    [M_SHORTTICKET] = "shortticket",
    [M_TICKETREJECT] = "ticketreject",
    [M_DATASTORE] = "datastore",
    [M_SOAPFAULT] = "soapfault",
    [M_HTTP500] = "http500",
    [M_CP503] = "cp503",
    [M_CPSTALL] = "cpstall",
    [M_GARBAGE] = "garbage",
    [M_OVERSIZED] = "oversized",
    [M_DEEP] = "deep",
    [M_SHORTCERT] = "shortcert",
    [M_WRONGENTITY] = "wrongentity",
    [M_WRONGKEY] = "wrongkey",
    [M_BADDER] = "badder",
    [M_SLOW] = "slow",
};

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

static struct {
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
} G = {.ticket_lifetime = 28800, .cert_hours = 4320, .name = "pool1.example.com"};

static void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vlog(const char *fmt, ...)
{
	va_list ap;

	if (!G.verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "certprov_double: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "certprov_double: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *xcalloc(size_t n, size_t s)
{
	void *p = calloc(n, s);
	if (p == NULL)
		die("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		die("out of memory");
	return p;
}

/* ---- modes ---- */

static int mode_parse(const char *s, size_t n, struct mode *m)
{
	if (n > 5 && strncmp(s, "slow-", 5) == 0) {
		unsigned long v = 0;
		for (size_t i = 5; i < n; i++) {
			if (s[i] < '0' || s[i] > '9' || v > 600000)
				return -1;
			v = v * 10 + (unsigned long)(s[i] - '0');
		}
		if (v > 600000)
			return -1;
		m->k = M_SLOW;
		m->ms = (unsigned)v;
		return 0;
	}
	for (int k = M_OK; k < M_COUNT; k++)
		if (k != M_SLOW && strlen(mode_names[k]) == n &&
		    strncmp(s, mode_names[k], n) == 0) {
			m->k = (enum mode_kind)k;
			m->ms = 0;
			return 0;
		}
	return -1;
}

static const char *mode_str(const struct mode *m, char *buf, size_t cap)
{
	if (m->k == M_SLOW)
		snprintf(buf, cap, "slow-%u", m->ms);
	else
		snprintf(buf, cap, "%s", m->k == M_NONE ? "ok" : mode_names[m->k]);
	return buf;
}

static struct mode mode_pick(const struct rq *q, const struct user *u)
{
	struct mode ok = {M_OK, 0};

	if (q->pmode.k != M_NONE)
		return q->pmode;
	if (u != NULL && u->mode.k != M_NONE)
		return u->mode;
	if (G.mode.k != M_NONE)
		return G.mode;
	return ok;
}

/* ---- small helpers ---- */

static void xml_esc(struct evbuffer *b, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '&':
			evbuffer_add(b, "&amp;", 5);
			break;
		case '<':
			evbuffer_add(b, "&lt;", 4);
			break;
		case '>':
			evbuffer_add(b, "&gt;", 4);
			break;
		case '"':
			evbuffer_add(b, "&quot;", 6);
			break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n' || *s == '\r')
				evbuffer_add(b, s, 1);
		}
	}
}

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

static char *b64_encode(const unsigned char *p, size_t n)
{
	char *out = xcalloc(1, 4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

static void iso_time(time_t t, char *out, size_t cap)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
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

/* ---- replies: now, later (slow-N) or never (stall) ---- */

static void pend_unlink_free(struct pend *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		G.pends = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	if (p->timer != NULL)
		event_free(p->timer);
	if (p->body != NULL)
		evbuffer_free(p->body);
	free(p);
}

static void pend_closecb(struct evhttp_connection *evcon, void *arg)
{
	struct pend *p = arg;

	(void)evcon;
	vlog("%s: the client closed the connection before the reply", p->logline);
	/* libevent detaches (and no longer owns) an unanswered request on EOF */
	if (evhttp_request_get_connection(p->req) == NULL)
		evhttp_request_free(p->req);
	pend_unlink_free(p);
}

static void pend_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pend *p = arg;

	(void)fd;
	(void)what;
	if (p->evcon != NULL)
		evhttp_connection_set_closecb(p->evcon, NULL, NULL);
	evhttp_send_reply(p->req, p->code, NULL, p->body);
	vlog("%s: delayed reply sent", p->logline);
	pend_unlink_free(p);
}

/* answer Q with CODE and BODY (taken over, may be NULL); DELAY_MS < 0: never */
static void reply_at(struct rq *q, int code, const char *ctype, struct evbuffer *body,
                     long delay_ms)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(q->req);
	char m[40], line[200];

	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Server", "Microsoft-IIS/7.5");
	snprintf(line, sizeof line, "%s:%u %s %s%s op=%s user=%s mode=%s",
	         q->lis->ctx ? "https" : "http", q->lis->port,
	         evhttp_request_get_command(q->req) == EVHTTP_REQ_GET ? "GET" : "POST", q->prefix,
	         q->path, q->op, q->who[0] ? q->who : "-", mode_str(&q->eff, m, sizeof m));
	if (delay_ms == 0) {
		evhttp_send_reply(q->req, code, NULL, body);
		vlog("%s -> %d %s", line, code, q->note);
		if (body != NULL)
			evbuffer_free(body);
		return;
	}
	struct pend *p = xcalloc(1, sizeof *p);
	p->req = q->req;
	p->evcon = evhttp_request_get_connection(q->req);
	p->code = code;
	p->body = body;
	snprintf(p->logline, sizeof p->logline, "%s", line);
	p->next = G.pends;
	if (G.pends != NULL)
		G.pends->prev = p;
	G.pends = p;
	if (p->evcon != NULL)
		evhttp_connection_set_closecb(p->evcon, pend_closecb, p);
	if (delay_ms > 0) {
		struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
		p->timer = evtimer_new(G.base, pend_timer_cb, p);
		if (p->timer == NULL)
			die("evtimer_new");
		evtimer_add(p->timer, &tv);
		vlog("%s -> %d %s (in %ld ms)", line, code, q->note, delay_ms);
	} else {
		vlog("%s -> stalled, never answered %s", line, q->note);
	}
}

static void reply(struct rq *q, int code, const char *ctype, struct evbuffer *body)
{
	reply_at(q, code, ctype, body, q->eff.k == M_SLOW ? (long)q->eff.ms : 0);
}

static void reply_text(struct rq *q, int code, const char *text)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "%s\n", text);
	reply(q, code, "text/plain", b);
}

static struct evbuffer *envelope_start(void)
{
	struct evbuffer *b = evbuffer_new();
	if (b == NULL)
		die("evbuffer_new");
	evbuffer_add_printf(b, "<s:Envelope xmlns:s=\"" NS_SOAP "\">");
	return b;
}

static void xmsdiag(struct rq *q, unsigned id, const char *reason, const char *fault)
{
	char v[512];

	snprintf(v, sizeof v, "%u;source=\"%s\";reason=\"%s\";fault=\"%s\"", id, G.name, reason,
	         fault);
	evhttp_add_header(evhttp_request_get_output_headers(q->req), "X-Ms-diagnostics", v);
}

/*
 * A SOAP 1.1 fault: faultcode FC_PREFIX:FC_NAME (FC_NS declared unless the prefix is s),
 * faultstring TEXT, and with ERRID an OCSDiagnosticsFault detail (ERRID, TEXT).
 */
static void fault(struct rq *q, int code, const char *fc_prefix, const char *fc_ns,
                  const char *fc_name, const char *text, unsigned errid)
{
	struct evbuffer *b = envelope_start();

	evbuffer_add_printf(b, "<s:Body><s:Fault><faultcode");
	if (fc_ns != NULL)
		evbuffer_add_printf(b, " xmlns:%s=\"%s\"", fc_prefix, fc_ns);
	evbuffer_add_printf(b, ">%s:%s</faultcode><faultstring xml:lang=\"en-US\">", fc_prefix,
	                    fc_name);
	xml_esc(b, text);
	evbuffer_add_printf(b, "</faultstring>");
	if (errid != 0) {
		evbuffer_add_printf(
		    b,
		    "<detail><af:OCSDiagnosticsFault xmlns:af=\"" NS_AF "\">"
		    "<af:Ms-Diagnostics-Fault><af:ErrorId>%u</af:ErrorId><af:Reason>",
		    errid);
		xml_esc(b, text);
		evbuffer_add_printf(
		    b, "</af:Reason></af:Ms-Diagnostics-Fault></af:OCSDiagnosticsFault>"
		       "</detail>");
	}
	evbuffer_add_printf(b, "</s:Fault></s:Body></s:Envelope>");
	if (q->note[0] == 0)
		snprintf(q->note, sizeof q->note, "fault %s%s%u", fc_name, errid ? " " : "", errid);
	reply(q, code, "text/xml; charset=utf-8", b);
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

static void action_fault(struct rq *q, const char *want)
{
	snprintf(q->note, sizeof q->note, "SOAPAction missing or not %s", want);
	fault(
	    q, 500, "a", NS_WSA, "ActionNotSupported",
	    "The message with the given Action cannot be processed at the receiver: the SOAPAction "
	    "header is missing or names another operation.",
	    0);
}

/* SOAP 1.1 over HTTP is text/xml (WCF's basicHttpBinding answers anything else 415) */
static bool content_type_ok(struct rq *q)
{
	const char *v =
	    evhttp_find_header(evhttp_request_get_input_headers(q->req), "Content-Type");

	if (v != NULL && strncasecmp(v, "text/xml", 8) == 0 &&
	    (v[8] == 0 || v[8] == ';' || v[8] == ' '))
		return true;
	snprintf(q->note, sizeof q->note, "Content-Type not text/xml");
	reply_text(q, 415,
	           "Cannot process the message because the content type is not the expected type "
	           "'text/xml; charset=utf-8'.");
	return false;
}

static bool soapaction_is(struct rq *q, const char *want)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(q->req), "SOAPAction");
	size_t n, w = strlen(want);

	if (v == NULL)
		return false;
	n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	return n == w && strncmp(v, want, n) == 0;
}

/* ---- service-down style knobs shared by the operations ---- */

/* true when mode M answered Q already */
static bool down_knob(struct rq *q, enum mode_kind k503, enum mode_kind kstall,
                      enum mode_kind kgarbage)
{
	if (q->eff.k == k503) {
		snprintf(q->note, sizeof q->note, "knob %s", mode_names[k503]);
		reply(q, 503, NULL, NULL);
		return true;
	}
	if (q->eff.k == kstall) {
		snprintf(q->note, sizeof q->note, "knob %s", mode_names[kstall]);
		reply_at(q, 200, "text/xml; charset=utf-8", NULL, -1);
		return true;
	}
	if (q->eff.k == kgarbage) {
		struct evbuffer *b = evbuffer_new();
		evbuffer_add_printf(b, "\x01\x02 this is not XML <<<< &&& \xff\xfe\n");
		snprintf(q->note, sizeof q->note, "knob %s", mode_names[kgarbage]);
		reply(q, 200, "text/xml; charset=utf-8", b);
		return true;
	}
	return false;
}

/* ---- users and tickets ---- */

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

static void tickets_prune(time_t now)
{
	struct ticket **pp = &G.tickets;

	while (*pp != NULL) {
		struct ticket *t = *pp;
		/* keep expired ones an hour, to tell "expired" from "unknown" */
		if (t->expires + 3600 < now || G.ntickets > MAX_TICKETS) {
			*pp = t->next;
			OPENSSL_cleanse(t->key, sizeof t->key);
			free(t);
			G.ntickets--;
		} else {
			pp = &t->next;
		}
	}
}

static struct ticket *ticket_find(const char *id)
{
	for (struct ticket *t = G.tickets; id != NULL && t != NULL; t = t->next)
		if (strcmp(t->id, id) == 0)
			return t;
	return NULL;
}

/* ---- the root chain (anonymous HTTP, and GET on the HTTPS service URL) ---- */

static void h_rootchain(struct rq *q)
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

/* ---- /mex ---- */

static void h_cp_mex(struct rq *q)
{
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
		    "</sp:TransportBinding><sp:EndorsingSupportingTokens><wsp:Policy>"
		    "<sp:IssuedToken sp:IncludeToken=\"http://docs.oasis-open.org/ws-sx/"
		    "ws-securitypolicy/200702/IncludeToken/AlwaysToRecipient\">"
		    "<sp:Issuer><wsa:Address>https://%s%s/WebTicket/WebTicketService.svc"
		    "</wsa:Address></sp:Issuer><sp:RequestSecurityTokenTemplate>"
		    "<t:TokenType xmlns:t=\"" NS_WST "\">" SAML_TOKEN "</t:TokenType>"
		    "<t:KeyType xmlns:t=\"" NS_WST "\">" NS_WST "/SymmetricKey</t:KeyType>"
		    "</sp:RequestSecurityTokenTemplate><wsp:Policy><sp:RequireInternalReference/>"
		    "</wsp:Policy></sp:IssuedToken></wsp:Policy></sp:EndorsingSupportingTokens>"
		    "</wsp:All></wsp:ExactlyOne></wsp:Policy>",
		    q->host, q->prefix);
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

static void h_wt_mex(struct rq *q)
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

/* ---- IssueToken ---- */

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

static const char *const REASON_NOTOKEN = "No valid security token.";

static void h_issue(struct rq *q, const char *port)
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

/* ---- GetAndPublishCert ---- */

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

static unsigned char *p7_of(STACK_OF(X509) *certs, int *len)
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

static void h_gapc(struct rq *q)
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

static void h_negotiate(struct rq *q)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(q->req);

	q->op = "IssueToken";
	evhttp_add_header(h, "WWW-Authenticate", "Negotiate");
	evhttp_add_header(h, "WWW-Authenticate", "NTLM");
	snprintf(q->note, sizeof q->note, "Negotiate/NTLM not implemented");
	reply_text(q, 401, "unauthorized");
}

static void h_stats(struct rq *q, bool reset)
{
	struct evbuffer *b = evbuffer_new();
	unsigned locked = 0, pending = 0;

	q->op = "stats";
	if (reset) {
		memset(&G.n, 0, sizeof G.n);
		memset(&G.li, 0, sizeof G.li);
		memset(&G.lc, 0, sizeof G.lc);
		evbuffer_add_printf(b, "ok\n");
		reply(q, 200, "text/plain", b);
		return;
	}
	for (struct user *u = G.users; u != NULL; u = u->next)
		locked += u->locked;
	for (struct pend *p = G.pends; p != NULL; p = p->next)
		pending++;
	evbuffer_add_printf(b,
	                    "{\"requests\":%lu,\"mex\":%lu,\"wt_mex\":%lu,\"rootchain\":%lu,"
	                    "\"issue_ok\":%lu,\"issue_failed\":%lu,\"certs_issued\":%lu,"
	                    "\"ticket_rejected\":%lu,\"errorinfo\":%lu,\"locked_users\":%u,"
	                    "\"pending_replies\":%u,\"last_issue\":",
	                    G.n.requests, G.n.mex, G.n.wt_mex, G.n.rootchain, G.n.issue_ok,
	                    G.n.issue_failed, G.n.certs_issued, G.n.ticket_rejected, G.n.errorinfo,
	                    locked, pending);
	if (G.li.valid)
		evbuffer_add_printf(
		    b,
		    "{\"port\":\"%s\",\"credential\":\"%s\",\"phone_or_ext\":\"%s\","
		    "\"username_base64\":%s,\"password_base64\":%s,"
		    "\"client_entropy\":%s,\"soapaction\":%s,\"user\":\"%s\"}",
		    G.li.port, G.li.credential, G.li.phone_or_ext,
		    G.li.username_b64 ? "true" : "false", G.li.password_b64 ? "true" : "false",
		    G.li.client_entropy ? "true" : "false", G.li.soapaction ? "true" : "false",
		    G.li.user);
	else
		evbuffer_add_printf(b, "null");
	evbuffer_add_printf(b, ",\"last_cert\":");
	if (G.lc.valid)
		evbuffer_add_printf(b,
		                    "{\"device_id\":\"%s\",\"entity\":\"%s\",\"csr_max_line\":%u,"
		                    "\"csr_line_breaks\":\"%s\",\"wsa_ok\":%s,\"user\":\"%s\"}",
		                    G.lc.device_id, G.lc.entity, G.lc.max_line, G.lc.line_breaks,
		                    G.lc.wsa_ok ? "true" : "false", G.lc.user);
	else
		evbuffer_add_printf(b, "null");
	evbuffer_add_printf(b, "}\n");
	reply(q, 200, "application/json", b);
}

/* ---- routing ---- */

static void host_of(struct rq *q)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(q->req), "Host");
	bool ok = h != NULL && h[0] != 0 && strlen(h) < sizeof q->host;

	for (const char *p = h; ok && *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == ':' ||
		      *p == '[' || *p == ']'))
			ok = false;
	if (ok)
		snprintf(q->host, sizeof q->host, "%s", h);
	else
		snprintf(q->host, sizeof q->host, "127.0.0.1:%u", q->lis->port);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct rq q;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char m[40];
	size_t n;

	memset(&q, 0, sizeof q);
	q.req = req;
	q.lis = arg;
	q.op = "-";
	host_of(&q);
	if (path == NULL)
		path = "/";
	if (strncasecmp(path, "/k-", 3) == 0) {
		const char *e = strchr(path + 3, '/');
		size_t ml = e != NULL ? (size_t)(e - path - 3) : strlen(path + 3);
		if (mode_parse(path + 3, ml, &q.pmode) == -1) {
			snprintf(q.path, sizeof q.path, "%.500s", path);
			snprintf(q.note, sizeof q.note, "unknown mode");
			reply_text(&q, 404, "unknown mode");
			return;
		}
		snprintf(q.prefix, sizeof q.prefix, "/k-%s", mode_str(&q.pmode, m, sizeof m));
		path = e != NULL ? e : "/";
	}
	n = strlen(path);
	if (n >= sizeof q.path)
		n = sizeof q.path - 1;
	for (size_t i = 0; i < n; i++)
		q.path[i] = (char)((path[i] >= 'A' && path[i] <= 'Z') ? path[i] + 32 : path[i]);
	while (n > 1 && q.path[n - 1] == '/') /* a trailing slash is the same resource */
		q.path[--n] = 0;
	q.eff = mode_pick(&q, NULL);
	q.blen = evbuffer_get_length(in);
	q.body = q.blen > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	if (strcmp(q.path, "/stats") == 0 || strcmp(q.path, "/stats/reset") == 0) {
		h_stats(&q, q.path[6] != 0);
		return;
	}
	G.n.requests++;
	if (q.lis->ctx == NULL) { /* the anonymous listener serves the root chain only */
		if (strcmp(q.path, CP_PATH) == 0)
			h_rootchain(&q);
		else
			reply_text(&q, 404, "not found");
		return;
	}
	if (strcmp(q.path, CP_PATH) == 0 || strcmp(q.path, CP_PATH "/webticket_proof_sha1") == 0)
		h_gapc(&q);
	else if (strcmp(q.path, CP_PATH "/mex") == 0)
		h_cp_mex(&q);
	else if (strcmp(q.path, WT_PATH "/mex") == 0)
		h_wt_mex(&q);
	else if (strcmp(q.path, WT_PATH "/pin") == 0)
		h_issue(&q, "pin");
	else if (strcmp(q.path, WT_PATH "/auth") == 0)
		h_issue(&q, "auth");
	else if (strcmp(q.path, WT_PATH) == 0)
		h_issue(&q, "base");
	else if (strcmp(q.path, WT_PATH "/winnegotiate") == 0)
		h_negotiate(&q);
	else
		reply_text(&q, 404, "not found");
}

/* ---- set-up ---- */

static struct bufferevent *bevcb(struct event_base *base, void *arg)
{
	struct listener *l = arg;
	SSL *ssl = SSL_new(l->ctx);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                      BEV_OPT_CLOSE_ON_FREE);
}

static void listen_on(unsigned port, const char *chain, const char *key)
{
	struct listener *l;

	if (G.nlis == MAX_LISTENERS)
		die("too many listeners");
	l = &G.lis[G.nlis++];
	l->port = port;
	l->http = evhttp_new(G.base);
	if (l->http == NULL)
		die("evhttp_new");
	evhttp_set_max_body_size(l->http, SOAP_MAX_BODY);
	evhttp_set_max_headers_size(l->http, 64 * 1024);
	evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(l->http, on_request, l);
	if (chain != NULL) {
		l->ctx = SSL_CTX_new(TLS_server_method());
		if (l->ctx == NULL || SSL_CTX_use_certificate_chain_file(l->ctx, chain) != 1 ||
		    SSL_CTX_use_PrivateKey_file(l->ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(l->ctx) != 1)
			die("cannot load %s / %s", chain, key);
		SSL_CTX_set_min_proto_version(l->ctx, TLS1_2_VERSION);
		evhttp_set_bevcb(l->http, bevcb, l);
	}
	if (evhttp_bind_socket_with_handle(l->http, "127.0.0.1", (ev_uint16_t)port) == NULL)
		die("cannot listen on 127.0.0.1:%u: %s", port, strerror(errno));
}

static char *file_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		die("cannot read %s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		die("cannot read %s", path);
	buf = xcalloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		die("cannot read %s", path);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void load_chain(const char *path)
{
	BIO *bio;
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *c;

	G.chain_pem = file_read(path, &G.chain_pem_len);
	bio = BIO_new_mem_buf(G.chain_pem, (int)G.chain_pem_len);
	while ((c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, c);
	ERR_clear_error();
	BIO_free(bio);
	if (sk_X509_num(sk) == 0)
		die("no certificate in %s", path);
	G.chain_p7 = p7_of(sk, &G.chain_p7_len);
	sk_X509_pop_free(sk, X509_free);
}

static void load_ocs(const char *cert, const char *key)
{
	FILE *f = fopen(cert, "r");

	if (f == NULL || (G.ocs_cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		die("cannot load the OCS signing CA %s", cert);
	fclose(f);
	f = fopen(key, "r");
	if (f == NULL || (G.ocs_key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		die("cannot load the OCS signing key %s", key);
	fclose(f);
	if (X509_check_private_key(G.ocs_cert, G.ocs_key) != 1)
		die("%s does not match %s", key, cert);
}

/* phone=..,ext=..,pin=..,sip=..,password=..,mode=.. */
static void user_add(const char *spec)
{
	struct user *u = xcalloc(1, sizeof *u);
	char *s = xstrdup(spec), *save = NULL;

	for (char *kv = strtok_r(s, ",", &save); kv != NULL; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		char **slot = NULL;
		if (eq == NULL)
			die("user spec %s: %s is not key=value", spec, kv);
		*eq++ = 0;
		if (strcmp(kv, "phone") == 0)
			slot = &u->phone;
		else if (strcmp(kv, "ext") == 0)
			slot = &u->ext;
		else if (strcmp(kv, "pin") == 0)
			slot = &u->pin;
		else if (strcmp(kv, "sip") == 0)
			slot = &u->sip;
		else if (strcmp(kv, "password") == 0)
			slot = &u->password;
		else if (strcmp(kv, "mode") == 0) {
			if (mode_parse(eq, strlen(eq), &u->mode) == -1)
				die("user spec: unknown mode %s", eq);
			continue;
		} else
			die("user spec: unknown key %s", kv);
		free(*slot);
		*slot = xstrdup(eq);
	}
	free(s);
	if (u->sip == NULL)
		die("user spec without sip=");
	if (u->mode.k == M_NONE) { /* sip:k-MODE@host */
		const char *p = strncasecmp(u->sip, "sip:", 4) == 0 ? u->sip + 4 : u->sip;
		const char *at = strchr(p, '@');
		if (strncmp(p, "k-", 2) == 0 && at != NULL)
			(void)mode_parse(p + 2, (size_t)(at - p - 2), &u->mode);
	}
	u->next = G.users;
	G.users = u;
}

static void users_file(const char *path)
{
	size_t len;
	char *buf = file_read(path, &len), *save = NULL;

	for (char *l = strtok_r(buf, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		while (*l == ' ' || *l == '\t')
			l++;
		l[strcspn(l, "\r")] = 0;
		if (*l != 0 && *l != '#')
			user_add(l);
	}
	free(buf);
}

static void user_free(struct user *u)
{
	free(u->phone);
	free(u->ext);
	if (u->pin != NULL)
		OPENSSL_cleanse(u->pin, strlen(u->pin));
	free(u->pin);
	free(u->sip);
	if (u->password != NULL)
		OPENSSL_cleanse(u->password, strlen(u->password));
	free(u->password);
	free(u);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	vlog("signal %d: shutting down", (int)sig);
	event_base_loopexit(G.base, NULL);
}

static void usage(void)
{
	fprintf(stderr, "usage: certprov_double -p HTTPS_PORT [-a HTTP_PORT] -c CHAIN -k KEY "
	                "--chain ROOT_CHAIN --ocs-cert CERT --ocs-key KEY --published-dir DIR "
	                "[-x PORT:CHAIN:KEY]... [-u USER]... [-U FILE] [-m MODE] "
	                "[--ticket-lifetime S] [--cert-hours H] [--max-pin-attempts N] [-n NAME] "
	                "[-v]\n");
	exit(2);
}

static long num(const char *v, long min, long max)
{
	char *end;
	long r;

	errno = 0;
	r = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != 0 || r < min || r > max)
		usage();
	return r;
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *chain = NULL, *ocs_cert = NULL, *ocs_key = NULL;
	const char *extra[MAX_LISTENERS];
	unsigned port = 0, anon = 0;
	int nextra = 0;
	struct event *sigterm, *sigint;
	struct stat st;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-v") == 0) {
			G.verbose = true;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "-p") == 0)
			port = (unsigned)num(v, 1, 65535);
		else if (strcmp(a, "-a") == 0)
			anon = (unsigned)num(v, 1, 65535);
		else if (strcmp(a, "-c") == 0)
			cert = v;
		else if (strcmp(a, "-k") == 0)
			key = v;
		else if (strcmp(a, "--chain") == 0)
			chain = v;
		else if (strcmp(a, "--ocs-cert") == 0)
			ocs_cert = v;
		else if (strcmp(a, "--ocs-key") == 0)
			ocs_key = v;
		else if (strcmp(a, "--published-dir") == 0)
			G.published = v;
		else if (strcmp(a, "-x") == 0 && nextra < MAX_LISTENERS - 2)
			extra[nextra++] = v;
		else if (strcmp(a, "-u") == 0)
			user_add(v);
		else if (strcmp(a, "-U") == 0)
			users_file(v);
		else if (strcmp(a, "-n") == 0)
			G.name = v;
		else if (strcmp(a, "--ticket-lifetime") == 0)
			G.ticket_lifetime = num(v, 1, 86400 * 30);
		else if (strcmp(a, "--cert-hours") == 0)
			G.cert_hours = num(v, 1, 8760 * 10);
		else if (strcmp(a, "--max-pin-attempts") == 0)
			G.max_pin = (unsigned)num(v, 0, 1000);
		else if (strcmp(a, "-m") == 0) {
			if (mode_parse(v, strlen(v), &G.mode) == -1)
				usage();
		} else
			usage();
	}
	if (port == 0 || cert == NULL || key == NULL || chain == NULL || ocs_cert == NULL ||
	    ocs_key == NULL || G.published == NULL)
		usage();
	if (mkdir(G.published, 0700) == -1 && errno != EEXIST)
		die("cannot create %s: %s", G.published, strerror(errno));
	if (stat(G.published, &st) == -1 || !S_ISDIR(st.st_mode))
		die("%s is not a directory", G.published);
	signal(SIGPIPE, SIG_IGN);
	soap_init();
	load_chain(chain);
	load_ocs(ocs_cert, ocs_key);

	G.base = event_base_new();
	if (G.base == NULL)
		die("event_base_new");
	listen_on(port, cert, key);
	if (anon != 0)
		listen_on(anon, NULL, NULL);
	for (int i = 0; i < nextra; i++) {
		char *s = xstrdup(extra[i]), *c1 = strchr(s, ':'),
		     *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			usage();
		*c1++ = 0;
		*c2++ = 0;
		listen_on((unsigned)num(s, 1, 65535), c1, c2);
		free(s);
	}
	sigterm = evsignal_new(G.base, SIGTERM, on_signal, NULL);
	sigint = evsignal_new(G.base, SIGINT, on_signal, NULL);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) != 0 ||
	    evsignal_add(sigint, NULL) != 0)
		die("signal setup failed");
	printf("ready\n");
	fflush(stdout);
	event_base_dispatch(G.base);

	/* stalled and slow replies first: their connections go with evhttp_free */
	while (G.pends != NULL) {
		if (G.pends->evcon != NULL)
			evhttp_connection_set_closecb(G.pends->evcon, NULL, NULL);
		pend_unlink_free(G.pends);
	}
	for (int i = 0; i < G.nlis; i++) {
		evhttp_free(G.lis[i].http);
		SSL_CTX_free(G.lis[i].ctx);
	}
	event_free(sigterm);
	event_free(sigint);
	event_base_free(G.base);
	while (G.users != NULL) {
		struct user *u = G.users;
		G.users = u->next;
		user_free(u);
	}
	while (G.tickets != NULL) {
		struct ticket *t = G.tickets;
		G.tickets = t->next;
		OPENSSL_cleanse(t, sizeof *t);
		free(t);
	}
	X509_free(G.ocs_cert);
	EVP_PKEY_free(G.ocs_key);
	OPENSSL_free(G.chain_p7);
	free(G.chain_pem);
	soap_cleanup();
	return 0;
}
