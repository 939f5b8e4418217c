/*
 * tlsdsk_registrar - a Lync/Skype-shaped SIP registrar that authenticates with TLS-DSK
 * ([MS-SIPAE]), the test peer for certprobe's `client-auth` with `auth: tls-dsk`.
 *
 * An independent implementation (OpenSSL + libevent; shares no code with probe/), written
 * from ../shared/design/lync-certprov.md §6: SIP over TLS on 127.0.0.1, the Lync 401 with
 * NTLM, Kerberos and TLS-DSK (sts-uri) challenges, the server side of the TLS handshake
 * tunnelled in gssapi-data over memory BIOs (client certificate required, issued by the
 * --ca "OCS signing" CA), keys from the RFC 5705 exporter, verification of signed requests
 * and signing of responses (Authentication-Info rspauth), and acceptance only of
 * certificates published in --published-dir as <user>@<host>.pem.
 *
 *   tlsdsk_registrar -p PORT [-P HOME_PORT] -c CERT -k KEY --ca FILE --published-dir DIR
 *                    [-m MODE] [-V VERSION] [-v]
 *
 * The failure knob is the mode: -m for every user, or per user by a SIP user part
 * "k-MODE" (sip:k-forbidden@example.com). See README.md in this directory.
 */
#define _GNU_SOURCE 1 /* strcasestr */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MAX_HEADER (64 * 1024)
#define REALM "SIP Communications Service"
#define TARGET "fe1.pool1.example.com"
#define EXPORT_LABEL "client EAP encryption"

enum mode {
	M_OK,
	M_NOTENABLED, /* 404, ms-diagnostics 4005 */
	M_FORBIDDEN,  /* 403, ms-diagnostics */
	M_TIMEOUT,    /* 504 */
	M_STALL,      /* no answer to the signed REGISTER */
	M_BADRSPAUTH, /* a 200 with a wrong rspauth */
	M_NODSK,      /* 401 offering NTLM and Kerberos only */
	M_REDIRECT,   /* 301 to the home pool (-P) */
	M_V3,         /* offer version=3 */
	M_REJECTHS,   /* an unpublished certificate: a plain 401 instead of the final flight */
	M_BADGSSAPI,  /* the server flight replaced by bytes that are no TLS record */
	M_COUNT,
};

static const char *const mode_names[M_COUNT] = {
    [M_OK] = "ok",
    [M_NOTENABLED] = "notenabled",
    [M_FORBIDDEN] = "forbidden",
    [M_TIMEOUT] = "timeout",
    [M_STALL] = "stall",
    [M_BADRSPAUTH] = "badrspauth",
    [M_NODSK] = "nodsk",
    [M_REDIRECT] = "redirect",
    [M_V3] = "v3",
    [M_REJECTHS] = "rejecths",
    [M_BADGSSAPI] = "badgssapi",
};

struct listener {
	struct evconnlistener *l;
	bool home; /* the "home pool": never redirects */
	unsigned port;
};

struct conn {
	struct bufferevent *bev;
	struct listener *lis;
	struct conn *prev, *next;
	char peer[64];
	char to_tag[20];
	/* the security association */
	SSL *tun;
	BIO *tin, *tout;
	char opaque[20];
	bool sa_ready;
	bool sa_rejected; /* the handshake completed but the certificate is not accepted */
	char sa_user[256];
	unsigned char ckey[32], skey[32];
	unsigned snum;
	int version;
};

static struct {
	struct event_base *base;
	SSL_CTX *outer; /* the TCP TLS listener */
	SSL_CTX *inner; /* the tunnelled handshake: TLS 1.0, client certificate required */
	const char *published;
	enum mode mode;
	int version;
	bool verbose;
	unsigned home_port;
	struct conn *conns;
	struct listener lis[2];
} G = {.version = 4};

static void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vlog(const char *fmt, ...)
{
	va_list ap;

	if (!G.verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "tlsdsk_registrar: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "tlsdsk_registrar: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* ---- small text helpers ---- */

/* Network text in the log: printable ASCII only, bounded. */
static void safe(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < cap; i++)
		out[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[o] = '\0';
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void rand_hex(char *out, size_t nbytes)
{
	unsigned char r[32];

	RAND_bytes(r, (int)nbytes);
	hex(r, nbytes, out);
}

/* A parsed request: pointers into the connection's copy of the header section. */
struct req {
	char *buf;
	char method[32];
	char *via[16];
	size_t n_via;
	char *from, *to, *call_id, *cseq, *expires, *auth, *contact;
	char from_uri[256], from_tag[128], to_uri[256], to_tag[128];
	unsigned cseq_num;
	char cseq_method[32];
};

static bool hname(const char *line, size_t n, const char *name, char compact)
{
	return (strlen(name) == n && strncasecmp(line, name, n) == 0) ||
	       (compact != 0 && n == 1 && (line[0] | 0x20) == compact);
}

static void name_addr(const char *v, char *uri, size_t ucap, char *tag, size_t tcap)
{
	const char *lt = strchr(v, '<'), *gt, *t;
	size_t n;

	uri[0] = tag[0] = '\0';
	if (lt != NULL && (gt = strchr(lt, '>')) != NULL) {
		n = (size_t)(gt - lt - 1);
		snprintf(uri, ucap, "%.*s", (int)n, lt + 1);
		t = gt;
	} else {
		n = strcspn(v, "; \t");
		snprintf(uri, ucap, "%.*s", (int)n, v);
		t = v + n;
	}
	t = strcasestr(t, ";tag=");
	if (t != NULL)
		snprintf(tag, tcap, "%.*s", (int)strcspn(t + 5, "; \t"), t + 5);
}

/* Parse the header section in r->buf (NUL-terminated, CRLF lines); 0 or -1. */
static int req_parse(struct req *r)
{
	char *line = r->buf, *next, *sp;

	next = strstr(line, "\r\n");
	if (next == NULL)
		return -1;
	*next = '\0';
	sp = strchr(line, ' ');
	if (sp == NULL || (size_t)(sp - line) >= sizeof r->method || strstr(sp, " SIP/2.0") == NULL)
		return -1;
	snprintf(r->method, sizeof r->method, "%.*s", (int)(sp - line), line);
	line = next + 2;
	while (*line != '\0') {
		char *colon, *v;
		size_t n;
		next = strstr(line, "\r\n");
		if (next == NULL)
			break;
		/* unfold continuation lines in place */
		while (next[2] == ' ' || next[2] == '\t') {
			next[0] = next[1] = ' ';
			next = strstr(next + 2, "\r\n");
			if (next == NULL)
				return -1;
		}
		*next = '\0';
		if (line[0] == '\0')
			break;
		colon = strchr(line, ':');
		if (colon == NULL)
			return -1;
		n = (size_t)(colon - line);
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		if (hname(line, n, "Via", 'v')) {
			if (r->n_via < 16)
				r->via[r->n_via++] = v;
		} else if (hname(line, n, "From", 'f'))
			r->from = v;
		else if (hname(line, n, "To", 't'))
			r->to = v;
		else if (hname(line, n, "Call-ID", 'i'))
			r->call_id = v;
		else if (hname(line, n, "CSeq", 0))
			r->cseq = v;
		else if (hname(line, n, "Expires", 0))
			r->expires = v;
		else if (hname(line, n, "Authorization", 0))
			r->auth = v;
		else if (hname(line, n, "Contact", 'm'))
			r->contact = v;
		line = next + 2;
	}
	if (r->from == NULL || r->to == NULL || r->call_id == NULL || r->cseq == NULL ||
	    r->n_via == 0)
		return -1;
	name_addr(r->from, r->from_uri, sizeof r->from_uri, r->from_tag, sizeof r->from_tag);
	name_addr(r->to, r->to_uri, sizeof r->to_uri, r->to_tag, sizeof r->to_tag);
	if (sscanf(r->cseq, "%u %31s", &r->cseq_num, r->cseq_method) != 2)
		return -1;
	return 0;
}

/* The value of auth parameter name in hdr ("name=\"v\"" or name=v): 0, or -1 if absent. */
static int param(const char *hdr, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	const char *p = hdr;

	while ((p = strcasestr(p, name)) != NULL) {
		bool start = p == hdr || p[-1] == ' ' || p[-1] == ',' || p[-1] == '\t';
		const char *v = p + n, *e;
		p += n;
		if (!start || *v != '=')
			continue;
		v++;
		if (*v == '"') {
			e = strchr(++v, '"');
			if (e == NULL)
				return -1;
		} else {
			e = v + strcspn(v, ", \t");
		}
		if ((size_t)(e - v) >= cap)
			return -1;
		memcpy(out, v, (size_t)(e - v));
		out[e - v] = '\0';
		return 0;
	}
	return -1;
}

/* ---- base64 (OpenSSL EVP, no newlines) ---- */

static unsigned char *b64_decode(const char *in, size_t *outlen)
{
	size_t n = strlen(in);
	unsigned char *out = malloc(n / 4 * 3 + 3);
	int len;

	if (out == NULL || n % 4 != 0) {
		free(out);
		return NULL;
	}
	len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	if (len < 0) {
		free(out);
		return NULL;
	}
	if (n >= 1 && in[n - 1] == '=')
		len--;
	if (n >= 2 && in[n - 2] == '=')
		len--;
	*outlen = (size_t)len;
	return out;
}

static char *b64_encode(const unsigned char *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* ---- responses ---- */

static void sign(const unsigned char *key, const char *buf, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	HMAC(EVP_sha1(), key, 32, (const unsigned char *)buf, strlen(buf), md, &mdlen);
	hex(md, mdlen, out);
}

/* Send a response; extra: more header lines (each ending CRLF) or NULL. With an SA, the
 * response carries Authentication-Info signed with the server key. */
static void respond(struct conn *c, const struct req *r, unsigned code, const char *reason,
                    const char *extra)
{
	struct evbuffer *out = evbuffer_new();
	char to[600];

	if (r->to_tag[0] != '\0')
		snprintf(to, sizeof to, "%s", r->to);
	else
		snprintf(to, sizeof to, "%s;tag=%s", r->to, c->to_tag);
	evbuffer_add_printf(out, "SIP/2.0 %u %s\r\n", code, reason);
	for (size_t i = 0; i < r->n_via; i++)
		evbuffer_add_printf(out, "Via: %s\r\n", r->via[i]);
	evbuffer_add_printf(out, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n", r->from, to,
	                    r->call_id, r->cseq);
	if (c->sa_ready && !c->sa_rejected) {
		char srand[17], buf[2048], mac[41];
		rand_hex(srand, 4);
		c->snum++;
		snprintf(buf, sizeof buf,
		         "<TLS-DSK><%s><%u><%s><%s><%s><%u><%s><%s><%s><%s><%s><><><><%u>", srand,
		         c->snum, REALM, TARGET, r->call_id, r->cseq_num, r->cseq_method,
		         r->from_uri, r->from_tag, r->to_uri,
		         r->to_tag[0] != '\0' ? r->to_tag : c->to_tag, code);
		sign(c->skey, buf, mac);
		if (G.mode == M_BADRSPAUTH || strncmp(c->sa_user, "k-badrspauth@", 13) == 0)
			mac[0] = mac[0] == '0' ? '1' : '0';
		evbuffer_add_printf(out,
		                    "Authentication-Info: TLS-DSK qop=\"auth\", opaque=\"%s\", "
		                    "srand=\"%s\", snum=\"%u\", rspauth=\"%s\", targetname=\"%s\", "
		                    "realm=\"%s\", version=%d\r\n",
		                    c->opaque, srand, c->snum, mac, TARGET, REALM, c->version);
	}
	if (extra != NULL)
		evbuffer_add(out, extra, strlen(extra));
	evbuffer_add_printf(out, "Server: RTC/5.0\r\nContent-Length: 0\r\n\r\n");
	/* one write, one TLS record: no Nagle wait between pieces of one response */
	bufferevent_write_buffer(c->bev, out);
	evbuffer_free(out);
	vlog("%s %s %s cseq %u -> %u %s", c->peer, r->method, r->from_uri, r->cseq_num, code,
	     reason);
}

static void challenge(struct conn *c, const struct req *r, bool dsk)
{
	char extra[1024];
	int n;

	n = snprintf(extra, sizeof extra,
	             "WWW-Authenticate: NTLM realm=\"%s\", targetname=\"%s\", version=4\r\n"
	             "WWW-Authenticate: Kerberos realm=\"%s\", targetname=\"sip/%s\", "
	             "version=4\r\n",
	             REALM, TARGET, REALM, TARGET);
	if (dsk)
		snprintf(extra + n, sizeof extra - (size_t)n,
		         "WWW-Authenticate: TLS-DSK realm=\"%s\", targetname=\"%s\", version=%d, "
		         "sts-uri=\"https://pool1.example.com:443/CertProv/"
		         "CertProvisioningService.svc\"\r\n",
		         REALM, TARGET, c->version);
	respond(c, r, 401, "Unauthorized", extra);
}

/* ---- the tunnel ---- */

static void tunnel_free(struct conn *c)
{
	SSL_free(c->tun); /* frees both BIOs */
	c->tun = NULL;
	c->tin = c->tout = NULL;
	c->sa_ready = c->sa_rejected = false;
	OPENSSL_cleanse(c->ckey, sizeof c->ckey);
	OPENSSL_cleanse(c->skey, sizeof c->skey);
	c->snum = 0;
}

/* Is the certificate the tunnel authenticated published for the user in From? */
static bool cert_published(struct conn *c, const struct req *r, char *why, size_t cap)
{
	X509 *peer = SSL_get0_peer_certificate(c->tun), *pub = NULL;
	const char *uri = r->from_uri;
	char cn[256] = "", path[1024];
	FILE *f;
	bool ok;

	if (strncasecmp(uri, "sip:", 4) == 0)
		uri += 4;
	X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
	snprintf(c->sa_user, sizeof c->sa_user, "%s", cn);
	if (strcasecmp(cn, uri) != 0) {
		snprintf(why, cap, "certificate CN '%s' is not the From user", cn);
		return false;
	}
	if (strchr(cn, '/') != NULL || cn[0] == '.') {
		snprintf(why, cap, "bad CN");
		return false;
	}
	snprintf(path, sizeof path, "%s/%s.pem", G.published, cn);
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(why, cap, "no published certificate for %s", cn);
		return false;
	}
	pub = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ok = pub != NULL && X509_cmp(pub, peer) == 0;
	X509_free(pub);
	if (!ok)
		snprintf(why, cap, "the certificate is not the one published for %s", cn);
	return ok;
}

static enum mode user_mode(const char *uri);

/* One handshake leg; answers the request with the server flight (or alert). */
static void tunnel_step(struct conn *c, const struct req *r, const char *gssapi)
{
	unsigned char *in;
	size_t inlen = 0;
	char extra[40000], *b64, why[300] = "";
	unsigned char flight[16384];
	int rc, n;

	in = b64_decode(gssapi, &inlen);
	if (in == NULL) {
		respond(c, r, 400, "Bad gssapi-data", NULL);
		return;
	}
	if (c->tun == NULL) {
		c->tun = SSL_new(G.inner);
		c->tin = BIO_new(BIO_s_mem());
		c->tout = BIO_new(BIO_s_mem());
		BIO_set_mem_eof_return(c->tin, -1);
		SSL_set_bio(c->tun, c->tin, c->tout);
		SSL_set_accept_state(c->tun);
		rand_hex(c->opaque, 4);
		c->version = strncmp(r->from_uri, "sip:k-v3@", 9) == 0 ? 3 : G.version;
	}
	BIO_write(c->tin, in, (int)inlen);
	free(in);
	ERR_clear_error();
	rc = SSL_do_handshake(c->tun);
	n = BIO_read(c->tout, flight, sizeof flight);
	if (rc != 1 && SSL_get_error(c->tun, rc) != SSL_ERROR_WANT_READ) {
		long v = SSL_get_verify_result(c->tun);
		vlog("%s tunnel handshake failed: %s", c->peer,
		     v != X509_V_OK ? X509_verify_cert_error_string(v) : "TLS error");
		ERR_clear_error();
	}
	if (rc == 1) {
		unsigned char km[128];
		SSL_export_keying_material(c->tun, km, sizeof km, EXPORT_LABEL,
		                           strlen(EXPORT_LABEL), NULL, 0, 0);
		memcpy(c->ckey, km + 64, 32);
		memcpy(c->skey, km + 96, 32);
		OPENSSL_cleanse(km, sizeof km);
		c->sa_ready = true;
		if (!cert_published(c, r, why, sizeof why)) {
			c->sa_rejected = true;
			vlog("%s SA established, certificate refused: %s", c->peer, why);
			if (user_mode(r->from_uri) == M_REJECTHS) {
				/* refused at once: a fresh challenge instead of CCS + Finished */
				tunnel_free(c);
				challenge(c, r, true);
				return;
			}
		} else {
			vlog("%s SA established for %s (%s)", c->peer, c->sa_user,
			     SSL_get_cipher_name(c->tun));
		}
	}
	b64 = b64_encode(flight, n > 0 ? (size_t)n : 0);
	snprintf(extra, sizeof extra,
	         "WWW-Authenticate: TLS-DSK opaque=\"%s\", gssapi-data=\"%s\", targetname=\"%s\", "
	         "realm=\"%s\", version=%d\r\n",
	         c->opaque,
	         user_mode(r->from_uri) == M_BADGSSAPI ? "AAAA"
	         : b64 != NULL                         ? b64
	                                               : "",
	         TARGET, REALM, c->version);
	free(b64);
	/* the final 401 carries no Authentication-Info: the SA signs from the next request */
	{
		bool ready = c->sa_ready;
		c->sa_ready = false;
		respond(c, r, 401, "Unauthorized", extra);
		c->sa_ready = ready;
	}
	if (rc != 1 && SSL_get_error(c->tun, rc) != SSL_ERROR_WANT_READ)
		tunnel_free(c);
}

static enum mode user_mode(const char *uri)
{
	if (strncasecmp(uri, "sip:k-", 6) == 0) {
		size_t n = strcspn(uri + 6, "@");
		for (int m = 0; m < M_COUNT; m++)
			if (strlen(mode_names[m]) == n && strncmp(uri + 6, mode_names[m], n) == 0)
				return (enum mode)m;
	}
	return G.mode;
}

/* A signed request on an established SA. */
static void signed_request(struct conn *c, const struct req *r, enum mode m)
{
	char crand[64] = "", cnum[32] = "", resp[200] = "", realm[200] = "", target[300] = "";
	char buf[2048], mac[41], extra[600];

	param(r->auth, "crand", crand, sizeof crand);
	param(r->auth, "cnum", cnum, sizeof cnum);
	param(r->auth, "response", resp, sizeof resp);
	param(r->auth, "realm", realm, sizeof realm);
	param(r->auth, "targetname", target, sizeof target);
	snprintf(buf, sizeof buf, "<TLS-DSK><%s><%s><%s><%s><%s><%u><%s><%s><%s><%s><%s><><><%s>",
	         crand, cnum, realm, target, r->call_id, r->cseq_num, r->method, r->from_uri,
	         r->from_tag, r->to_uri, r->to_tag, r->expires != NULL ? r->expires : "");
	sign(c->ckey, buf, mac);
	if (strcasecmp(mac, resp) != 0) {
		vlog("%s bad request signature", c->peer);
		tunnel_free(c);
		challenge(c, r, true);
		return;
	}
	if (c->sa_rejected) {
		tunnel_free(c);
		challenge(c, r, true);
		return;
	}
	if (r->expires != NULL && strcmp(r->expires, "0") == 0) {
		respond(c, r, 200, "OK", NULL);
		return;
	}
	switch (m) {
	case M_NOTENABLED:
		respond(c, r, 404, "Not Found",
		        "ms-diagnostics: 4005;reason=\"Destination URI either not enabled for SIP "
		        "or does not exist\";source=\"" TARGET "\"\r\n");
		return;
	case M_FORBIDDEN:
		respond(c, r, 403, "Forbidden",
		        "ms-diagnostics: 4141;reason=\"User disabled\";source=\"" TARGET "\"\r\n");
		return;
	case M_TIMEOUT:
		respond(c, r, 504, "Server time-out",
		        "ms-diagnostics: 1008;reason=\"Unable to resolve DNS SRV "
		        "record\";source=\"" TARGET "\"\r\n");
		return;
	case M_STALL:
		vlog("%s stalling the signed %s", c->peer, r->method);
		return;
	case M_REDIRECT:
		if (!c->lis->home && G.home_port != 0) {
			snprintf(extra, sizeof extra,
			         "Contact: <sip:127.0.0.1:%u;transport=tls>\r\n", G.home_port);
			respond(c, r, 301, "Redirect request to Home Server", extra);
			return;
		}
		break;
	default:
		break;
	}
	snprintf(extra, sizeof extra, "Contact: %s;expires=%s\r\n",
	         r->contact != NULL ? r->contact : "<sip:x>",
	         r->expires != NULL ? r->expires : "60");
	respond(c, r, 200, "OK", extra);
}

static void handle(struct conn *c, struct req *r)
{
	enum mode m = user_mode(r->from_uri);
	char gssapi[32768], opaque[64] = "", crand[64];

	if (c->lis->home && m == M_REDIRECT)
		m = M_OK;
	if (strcmp(r->method, "REGISTER") != 0) {
		respond(c, r, 405, "Method Not Allowed", "Allow: REGISTER\r\n");
		return;
	}
	if (c->version == 0)
		c->version = strncmp(r->from_uri, "sip:k-v3@", 9) == 0 ? 3 : G.version;
	if (r->auth == NULL || strncasecmp(r->auth, "TLS-DSK", 7) != 0) {
		challenge(c, r, m != M_NODSK);
		return;
	}
	if (m == M_NODSK) {
		challenge(c, r, false);
		return;
	}
	param(r->auth, "opaque", opaque, sizeof opaque);
	if (c->sa_ready && param(r->auth, "crand", crand, sizeof crand) == 0) {
		if (strcmp(opaque, c->opaque) != 0) {
			tunnel_free(c);
			challenge(c, r, true);
			return;
		}
		signed_request(c, r, m);
		return;
	}
	if (param(r->auth, "gssapi-data", gssapi, sizeof gssapi) == 0) {
		if (c->tun != NULL && (c->sa_ready || strcmp(opaque, c->opaque) != 0))
			tunnel_free(c); /* a new handshake */
		tunnel_step(c, r, gssapi);
		return;
	}
	challenge(c, r, true);
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		G.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	tunnel_free(c);
	bufferevent_free(c->bev);
	free(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		struct evbuffer_ptr end;
		struct req r;
		size_t hlen;
		char *cl;
		long body = 0;

		/* keep-alive CRLFs */
		while (evbuffer_get_length(in) >= 2) {
			unsigned char two[2];
			evbuffer_copyout(in, two, 2);
			if (two[0] != '\r' || two[1] != '\n')
				break;
			evbuffer_drain(in, 2);
		}
		end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
		if (end.pos < 0) {
			if (evbuffer_get_length(in) > MAX_HEADER) {
				vlog("%s header section too large: closing", c->peer);
				conn_free(c);
			}
			return;
		}
		hlen = (size_t)end.pos + 4;
		memset(&r, 0, sizeof r);
		r.buf = malloc(hlen + 1);
		if (r.buf == NULL)
			die("out of memory");
		evbuffer_remove(in, r.buf, hlen);
		r.buf[hlen] = '\0';
		cl = strcasestr(r.buf, "\nContent-Length:");
		if (cl != NULL)
			body = strtol(cl + 16, NULL, 10);
		if (body > 0)
			evbuffer_drain(in, (size_t)body);
		if (req_parse(&r) == -1) {
			char s[80];
			safe(r.buf, strcspn(r.buf, "\r\n"), s, sizeof s);
			vlog("%s unparsable request '%s': closing", c->peer, s);
			free(r.buf);
			conn_free(c);
			return;
		}
		handle(c, &r);
		free(r.buf);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		vlog("%s closed", c->peer);
		conn_free(c);
	}
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	struct listener *lis = arg;
	struct conn *c = calloc(1, sizeof *c);
	SSL *ssl = SSL_new(G.outer);
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;

	int one = 1;

	(void)l;
	(void)len;
	if (c == NULL || ssl == NULL)
		die("out of memory");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->lis = lis;
	snprintf(c->peer, sizeof c->peer, "%s:%u%s", inet_ntoa(sin->sin_addr), ntohs(sin->sin_port),
	         lis->home ? " (home)" : "");
	rand_hex(c->to_tag, 6);
	c->bev = bufferevent_openssl_socket_new(G.base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                        BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		die("bufferevent_openssl_socket_new");
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = G.conns;
	if (G.conns != NULL)
		G.conns->prev = c;
	G.conns = c;
}

static void listen_on(struct listener *lis, unsigned port, bool home)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lis->home = home;
	lis->port = port;
	lis->l = evconnlistener_new_bind(G.base, on_accept, lis,
	                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
	                                 (struct sockaddr *)&sin, sizeof sin);
	if (lis->l == NULL)
		die("cannot listen on 127.0.0.1:%u: %s", port, strerror(errno));
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
	fprintf(stderr, "usage: tlsdsk_registrar -p PORT [-P HOME_PORT] -c CERT -k KEY --ca FILE "
	                "--published-dir DIR [-m MODE] [-V 3|4] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *ca = NULL;
	unsigned port = 0;
	struct event *sigterm, *sigint;

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
			port = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "-P") == 0)
			G.home_port = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "-c") == 0)
			cert = v;
		else if (strcmp(a, "-k") == 0)
			key = v;
		else if (strcmp(a, "--ca") == 0)
			ca = v;
		else if (strcmp(a, "--published-dir") == 0)
			G.published = v;
		else if (strcmp(a, "-V") == 0)
			G.version = (int)strtol(v, NULL, 10);
		else if (strcmp(a, "-m") == 0) {
			int m;
			for (m = 0; m < M_COUNT; m++)
				if (strcmp(v, mode_names[m]) == 0)
					break;
			if (m == M_COUNT)
				usage();
			G.mode = (enum mode)m;
		} else
			usage();
	}
	if (port == 0 || cert == NULL || key == NULL || ca == NULL || G.published == NULL)
		usage();
	signal(SIGPIPE, SIG_IGN);

	G.outer = SSL_CTX_new(TLS_server_method());
	G.inner = SSL_CTX_new(TLS_server_method());
	if (G.outer == NULL || G.inner == NULL)
		die("SSL_CTX_new");
	if (SSL_CTX_use_certificate_chain_file(G.outer, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(G.outer, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_certificate_chain_file(G.inner, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(G.inner, key, SSL_FILETYPE_PEM) != 1)
		die("cannot load %s / %s", cert, key);
	/* the tunnel: TLS 1.0 with AES-SHA at security level 0, as MS-SIPAE clients speak */
	SSL_CTX_set_security_level(G.inner, 0);
	SSL_CTX_set_min_proto_version(G.inner, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(G.inner, TLS1_VERSION);
	if (SSL_CTX_set_cipher_list(G.inner, "AES128-SHA:AES256-SHA:@SECLEVEL=0") != 1)
		die("no AES-SHA suites");
	SSL_CTX_set_options(G.inner, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(G.inner, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_load_verify_locations(G.inner, ca, NULL) != 1)
		die("cannot load the OCS signing CA %s", ca);
	SSL_CTX_set_verify(G.inner, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);

	G.base = event_base_new();
	if (G.base == NULL)
		die("event_base_new");
	listen_on(&G.lis[0], port, false);
	if (G.home_port != 0)
		listen_on(&G.lis[1], G.home_port, true);
	sigterm = evsignal_new(G.base, SIGTERM, on_signal, NULL);
	sigint = evsignal_new(G.base, SIGINT, on_signal, NULL);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) != 0 ||
	    evsignal_add(sigint, NULL) != 0)
		die("signal setup failed");
	printf("ready\n");
	fflush(stdout);
	event_base_dispatch(G.base);

	while (G.conns != NULL)
		conn_free(G.conns);
	for (int i = 0; i < 2; i++)
		if (G.lis[i].l != NULL)
			evconnlistener_free(G.lis[i].l);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(G.base);
	SSL_CTX_free(G.outer);
	SSL_CTX_free(G.inner);
	return 0;
}
