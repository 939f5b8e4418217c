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

#include "certprov_double.h"

const char *const mode_names[M_COUNT] = {
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
    [M_BEARER] = "bearer",
    [M_SLOW] = "slow",
};

struct globals G = {
    .ticket_lifetime = 28800, .cert_hours = 4320, .name = "pool1.example.com", .bind = "127.0.0.1"};

void vlog(const char *fmt, ...)
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

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "certprov_double: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

void *xcalloc(size_t n, size_t s)
{
	void *p = calloc(n, s);
	if (p == NULL)
		die("out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		die("out of memory");
	return p;
}

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

const char *mode_str(const struct mode *m, char *buf, size_t cap)
{
	if (m->k == M_SLOW)
		snprintf(buf, cap, "slow-%u", m->ms);
	else
		snprintf(buf, cap, "%s", m->k == M_NONE ? "ok" : mode_names[m->k]);
	return buf;
}

struct mode mode_pick(const struct rq *q, const struct user *u)
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

void xml_esc(struct evbuffer *b, const char *s)
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

char *b64_encode(const unsigned char *p, size_t n)
{
	char *out = xcalloc(1, 4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

void iso_time(time_t t, char *out, size_t cap)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

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

static const char *method_name(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_POST:
		return "POST";
	default:
		return "OTHER";
	}
}

/* answer Q with CODE and BODY (taken over, may be NULL); DELAY_MS < 0: never */
void reply_at(struct rq *q, int code, const char *ctype, struct evbuffer *body, long delay_ms)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(q->req);
	char m[40], line[200];

	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Server", "Microsoft-IIS/7.5");
	snprintf(line, sizeof line, "%s:%u %s %s%s op=%s user=%s mode=%s",
	         q->lis->ctx ? "https" : "http", q->lis->port, method_name(q->req), q->prefix,
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

void reply(struct rq *q, int code, const char *ctype, struct evbuffer *body)
{
	reply_at(q, code, ctype, body, q->eff.k == M_SLOW ? (long)q->eff.ms : 0);
}

void reply_text(struct rq *q, int code, const char *text)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "%s\n", text);
	reply(q, code, "text/plain", b);
}

struct evbuffer *envelope_start(void)
{
	struct evbuffer *b = evbuffer_new();
	if (b == NULL)
		die("evbuffer_new");
	evbuffer_add_printf(b, "<s:Envelope xmlns:s=\"" NS_SOAP "\">");
	return b;
}

void xmsdiag(struct rq *q, unsigned id, const char *reason, const char *fault)
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
void fault(struct rq *q, int code, const char *fc_prefix, const char *fc_ns, const char *fc_name,
           const char *text, unsigned errid)
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

void action_fault(struct rq *q, const char *want)
{
	snprintf(q->note, sizeof q->note, "SOAPAction missing or not %s", want);
	fault(
	    q, 500, "a", NS_WSA, "ActionNotSupported",
	    "The message with the given Action cannot be processed at the receiver: the SOAPAction "
	    "header is missing or names another operation.",
	    0);
}

/* SOAP 1.1 over HTTP is text/xml (WCF's basicHttpBinding answers anything else 415) */
bool content_type_ok(struct rq *q)
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

bool soapaction_is(struct rq *q, const char *want)
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

/* true when mode M answered Q already */
bool down_knob(struct rq *q, enum mode_kind k503, enum mode_kind kstall, enum mode_kind kgarbage)
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

void tickets_prune(time_t now)
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

struct ticket *ticket_find(const char *id)
{
	for (struct ticket *t = G.tickets; id != NULL && t != NULL; t = t->next)
		if (strcmp(t->id, id) == 0)
			return t;
	return NULL;
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
		snprintf(q->host, sizeof q->host, "%s:%u", G.bind, q->lis->port);
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
	if (evhttp_bind_socket_with_handle(l->http, G.bind, (ev_uint16_t)port) == NULL)
		die("cannot listen on %s:%u: %s", G.bind, port, strerror(errno));
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
	                "[-b ADDR] [-v]\n");
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
		else if (strcmp(a, "-b") == 0)
			G.bind = v;
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
