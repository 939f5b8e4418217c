/*
 * web: the metrics listener (see web.h). evhttp does the HTTP; this file adds what sits
 * in front of the handler: the bind address rules, an OpenSSL bufferevent per accepted
 * connection when TLS is on (context swappable on reload), and basic auth checked in
 * constant time against a digest of user:pass, so the password itself is not kept.
 * Descriptors: the listening socket is our own evconnlistener, paused (not spun) when
 * accept runs out of descriptors; every accepted connection gets a record that caps how
 * many are open, keeps a reserve of descriptors for the transactions, and holds a
 * deadline for a whole request that bytes trickling in do not extend.
 */
#include "exporters/web.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/clock.h"
#include "core/errbuf.h"
#include "core/fileload.h"
#include "core/log.h"
#include "core/xalloc.h"

#define WEB_TIMEOUT_S 10
#define WEB_REQUEST_DEADLINE_S 10 /* a whole request, from accept or the previous answer */
#define WEB_CONNECTIONS_MAX 256
#define WEB_ACCEPTS_PER_TURN 32
/* libevent's default is 128: a flood that fills it makes a SYN wait for its 1 s retry */
#define WEB_LISTEN_BACKLOG 1024
#define WEB_FD_RESERVE_MIN 16   /* descriptors left to the transactions, at the least */
#define WEB_ACCEPT_PAUSE_MS 500 /* after accept found no descriptor */
#define WEB_ACCEPT_LOG_S 60     /* one line about it per minute, with a count */
#define WEB_HEADERS_MAX (8 * 1024)
#define WEB_BODY_MAX 1024       /* GET and HEAD only: nothing legitimate carries a body */
#define WEB_AUTH_TOKEN_MAX 1024 /* base64 of user:pass; the header as a whole is capped above */
#define WEB_METHODS_SERVED (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)
#define WEB_METHODS_REFUSED                                                                        \
	(EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |               \
	 EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH)
#define WEB_HEALTHY_PATH "/-/healthy"
#define WEB_REALM "Basic realm=\"certprobe\""

/*
 * One accepted connection. evhttp owns the connection and its descriptor and tells us
 * nothing when it closes them, so a record names its socket by number and inode and
 * finds out that it is gone by fstat (web_conn_alive); it never touches evhttp's objects
 * after the first turn of the loop.
 */
enum web_conn_phase {
	WEB_CONN_NEW,     /* accepted this turn: the descriptor is not known yet */
	WEB_CONN_WAITING, /* waiting for a whole request: the deadline is armed */
	WEB_CONN_SERVING, /* a request is being answered: no deadline */
};

struct web_conn {
	struct web *w;
	enum web_conn_phase phase;
	bool refuse;             /* over the cap: closed as soon as its descriptor is known */
	struct bufferevent *bev; /* WEB_CONN_NEW only: where the descriptor will be */
	int fd;                  /* -1 until known */
	dev_t dev; /* of the socket's inode: fd may be reused after evhttp closes it */
	ino_t ino;
	struct event *timer;    /* the first turn (active at once), then the deadline */
	uint64_t waiting_since; /* WEB_CONN_WAITING: when it began to wait (monotonic us) */
	struct web_conn *next;
};

struct web {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct evconnlistener *lev; /* owned by http once bound */
	struct event *resume;       /* re-enables accept after a pause */
	bool paused;                /* accept paused for want of descriptors */
	bool cap_paused;            /* accept paused until an over-cap connection is refused */
	bool burst_paused;          /* accept paused for the rest of this turn (a burst) */
	unsigned turn_accepts;      /* connections accepted since the last first-turn timer */
	struct web_conn *conns;
	unsigned n_conns;   /* records in conns, including ones whose socket is already gone */
	unsigned max_conns; /* the cap on open connections */
	int fd_high;        /* a connection on a descriptor at or above this one is refused */
	struct web_stats stats;
	uint64_t accept_logged_us; /* the last line about a failed accept (monotonic); 0 = none */
	uint64_t accept_unlogged;  /* pauses since that line */
	struct web *next;          /* in web_all */
	SSL_CTX *ssl;              /* NULL = plain HTTP; new connections take whatever is here */
	char *listen;
	bool loopback;
	bool auth;
	unsigned char cred[32]; /* SHA-256 of "user:pass"; wiped when replaced or freed */
	web_handler *handler;
	void *arg;
};

/*
 * Every listener, for the accept error callback: libevent hands it the evhttp as its
 * argument, not ours. One daemon has one listener; the unit tests a few.
 */
static struct web *web_all;

/* ---- listen address ---- */

/*
 * "a.b.c.d:port", "[v6]:port" or "localhost:port" into a numeric host for evhttp. Names
 * are refused: resolving one would block, and a name that resolves to several
 * addresses would be bound on the first only.
 */
static int web_parse_listen(const char *listen, char *host, size_t hostlen, ev_uint16_t *port,
                            bool *loopback, char *err, size_t errlen)
{
	const char *h, *p, *end;
	size_t n;
	unsigned long v = 0;
	struct in_addr a4;
	struct in6_addr a6;

	if (listen == NULL || listen[0] == '\0') {
		errbuf_set(err, errlen, "no listen address");
		return -1;
	}
	if (listen[0] == '[') {
		h = listen + 1;
		end = strchr(h, ']');
		if (end == NULL || end[1] != ':')
			goto bad;
		p = end + 2;
	} else {
		h = listen;
		end = strrchr(listen, ':');
		if (end == NULL)
			goto bad;
		p = end + 1;
	}
	n = (size_t)(end - h);
	if (n == 0 || n >= hostlen)
		goto bad;
	if (listen[0] != '[' && memchr(h, ':', n) != NULL) {
		errbuf_set(err, errlen, "bad listen address '%s' (write IPv6 as [addr]:port)",
		           listen);
		return -1;
	}
	if (*p == '\0')
		goto bad;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			goto bad;
	}
	if (v == 0)
		goto bad;
	*port = (ev_uint16_t)v;
	memcpy(host, h, n);
	host[n] = '\0';
	if (listen[0] == '[') {
		if (inet_pton(AF_INET6, host, &a6) != 1)
			goto bad;
		*loopback = IN6_IS_ADDR_LOOPBACK(&a6);
		return 0;
	}
	if (strcasecmp(host, "localhost") == 0) {
		snprintf(host, hostlen, "127.0.0.1");
		*loopback = true;
		return 0;
	}
	if (inet_pton(AF_INET, host, &a4) != 1) {
		errbuf_set(err, errlen,
		           "bad listen address '%s' (host must be an IPv4 address, [IPv6] or "
		           "localhost)",
		           listen);
		return -1;
	}
	*loopback = (ntohl(a4.s_addr) >> 24) == 127;
	return 0;
bad:
	errbuf_set(err, errlen, "bad listen address '%s' (host:port, e.g. 127.0.0.1:9793)", listen);
	return -1;
}

/* ---- TLS ---- */

/* The first error queued is the cause ("No such file or directory", "no start line"). */
static const char *web_ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (e == 0)
		snprintf(buf, len, "unknown OpenSSL error");
	else if (ERR_SYSTEM_ERROR(e))
		snprintf(buf, len, "%s", strerror(ERR_GET_REASON(e)));
	else if (r != NULL)
		snprintf(buf, len, "%s", r);
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* OpenSSL checks a key against the certificate already loaded as it loads it. */
static bool web_ssl_is_mismatch(void)
{
	unsigned long e = ERR_peek_last_error();

	return ERR_GET_LIB(e) == ERR_LIB_X509 && (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
	                                          ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH);
}

static void web_peer_string(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[INET6_ADDRSTRLEN], serv[8];

	snprintf(buf, len, "?");
	if (fd == -1 || getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return;
	if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, serv, sizeof serv,
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

/*
 * Scanners and health checkers that speak plain HTTP or old TLS to the port fail here
 * all day long: debug only, and the error queue is only peeked (libevent drains it).
 */
static void web_tls_info(const SSL *ssl, int where, int ret)
{
	const struct web *w;
	unsigned long e;
	char peer[64], reason[128];

	/* An exit that merely waits for the socket leaves the error queue empty. */
	if ((where & SSL_CB_ACCEPT_EXIT) == 0 || ret > 0 || !log_enabled(LOG_LEVEL_DEBUG))
		return;
	e = ERR_peek_last_error();
	if (e == 0)
		return;
	w = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	ERR_error_string_n(e, reason, sizeof reason);
	web_peer_string(SSL_get_fd(ssl), peer, sizeof peer);
	log_debug("listener %s: TLS handshake with %s failed: %s", w != NULL ? w->listen : "?",
	          peer, reason);
}

static SSL_CTX *web_tls_ctx_new(struct web *w, const char *cert, const char *key, char *err,
                                size_t errlen)
{
	SSL_CTX *ctx = NULL;
	char why[160];

	ERR_clear_error();
	if (cert == NULL || key == NULL) {
		errbuf_set(err, errlen, "TLS needs both a certificate and a key");
		goto fail;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		errbuf_set(err, errlen, "cannot create TLS context: %s",
		           web_ssl_reason(why, sizeof why));
		goto fail;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		errbuf_set(err, errlen, "cannot set TLS 1.2 minimum: %s",
		           web_ssl_reason(why, sizeof why));
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
	                             SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* OpenSSL opens them with fopen(): refuse a FIFO (it would wait for a writer) first */
	for (int i = 0; i < 2; i++) {
		const char *path = i == 0 ? cert : key;
		struct fileload_fail f;
		if (fileload_check(path, FILELOAD_MAX_PEM_BUNDLE, NULL, &f) == -1) {
			errbuf_set(
			    err, errlen, "cannot load TLS %s %s: %s",
			    i == 0 ? "certificate" : "key", path,
			    f.why == FILELOAD_UNREADABLE
			        ? strerror(f.err)
			        : fileload_describe(&f, FILELOAD_MAX_PEM_BUNDLE, why, sizeof why));
			goto fail;
		}
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		errbuf_set(err, errlen, "cannot load TLS certificate %s: %s", cert,
		           web_ssl_reason(why, sizeof why));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		if (web_ssl_is_mismatch())
			errbuf_set(err, errlen, "TLS key %s does not match certificate %s", key,
			           cert);
		else
			errbuf_set(err, errlen, "cannot load TLS key %s: %s", key,
			           web_ssl_reason(why, sizeof why));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		errbuf_set(err, errlen, "TLS key %s does not match certificate %s", key, cert);
		goto fail;
	}
	SSL_CTX_set_app_data(ctx, w);
	SSL_CTX_set_info_callback(ctx, web_tls_info);
	ERR_clear_error();
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

/* Failure is fatal, like any OOM (see web_bev). */
static struct bufferevent *web_tls_bev(struct web *w, struct event_base *base)
{
	SSL *ssl = SSL_new(w->ssl);
	struct bufferevent *bev = NULL;

	if (ssl != NULL)
		bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
		                                     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		log_err("listener %s: cannot set up a TLS connection (out of memory)", w->listen);
		abort();
	}
	/* Scrapers commonly close without close_notify; that is not an error. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

int web_reload_tls(struct web *w, const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if (w->ssl == NULL) {
		errbuf_set(err, errlen, "listener %s was started without TLS", w->listen);
		return -1;
	}
	ctx = web_tls_ctx_new(w, cert, key, err, errlen);
	if (ctx == NULL)
		return -1;
	/* Open connections hold their own reference to the old context. */
	SSL_CTX_free(w->ssl);
	w->ssl = ctx;
	return 0;
}

/* ---- basic auth ---- */

static void web_warn_clear_text(const struct web *w)
{
	if (w->auth && w->ssl == NULL && !w->loopback)
		log_warn("listener %s: basic auth without TLS on a non-loopback address sends "
		         "the password in clear text; configure tls_cert and tls_key",
		         w->listen);
}

static int web_digest(const void *a, size_t alen, const void *b, size_t blen, const void *c,
                      size_t clen, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	int rc = -1;

	if (md == NULL)
		return -1;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	if (EVP_DigestUpdate(md, a, alen) != 1 || EVP_DigestUpdate(md, b, blen) != 1 ||
	    EVP_DigestUpdate(md, c, clen) != 1)
		goto out;
	if (EVP_DigestFinal_ex(md, out, &n) != 1 || n != 32)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

int web_set_auth(struct web *w, const char *username, const char *password, char *err,
                 size_t errlen)
{
	unsigned char cred[32];

	if (username == NULL) {
		w->auth = false;
		OPENSSL_cleanse(w->cred, sizeof w->cred);
		return 0;
	}
	if (strchr(username, ':') != NULL) {
		errbuf_set(err, errlen, "basic auth username must not contain ':'");
		return -1;
	}
	if (password == NULL)
		password = "";
	/* Digested piecewise so that no plaintext "user:pass" copy is ever made. */
	if (web_digest(username, strlen(username), ":", 1, password, strlen(password), cred) ==
	    -1) {
		OPENSSL_cleanse(cred, sizeof cred);
		ERR_clear_error();
		errbuf_set(err, errlen, "cannot digest the basic auth credentials");
		return -1;
	}
	memcpy(w->cred, cred, sizeof cred);
	OPENSSL_cleanse(cred, sizeof cred);
	w->auth = true;
	if (w->sock != NULL)
		web_warn_clear_text(w);
	return 0;
}

/*
 * "Basic <base64(user:pass)>": decoded, digested, and compared digest to digest, so
 * neither the length nor the content of a guess leaks through timing.
 */
static bool web_auth_ok(const struct web *w, struct evhttp_request *req)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	unsigned char plain[WEB_AUTH_TOKEN_MAX / 4 * 3], got[32];
	size_t len;
	int n;
	bool ok;

	if (v == NULL)
		return false;
	while (*v == ' ' || *v == '\t')
		v++;
	if (strncasecmp(v, "Basic", 5) != 0 || (v[5] != ' ' && v[5] != '\t'))
		return false;
	v += 5;
	while (*v == ' ' || *v == '\t')
		v++;
	len = strlen(v);
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 0 || len > WEB_AUTH_TOKEN_MAX || len % 4 != 0)
		return false;
	n = EVP_DecodeBlock(plain, (const unsigned char *)v, (int)len);
	/* EVP_DecodeBlock counts the bytes that padding stands for. */
	if (n >= 0 && v[len - 1] == '=')
		n--;
	if (n >= 0 && v[len - 2] == '=')
		n--;
	if (n < 0 || web_digest(plain, (size_t)n, "", 0, "", 0, got) == -1) {
		OPENSSL_cleanse(plain, sizeof plain);
		ERR_clear_error();
		return false;
	}
	ok = CRYPTO_memcmp(got, w->cred, sizeof got) == 0;
	OPENSSL_cleanse(plain, sizeof plain);
	OPENSSL_cleanse(got, sizeof got);
	return ok;
}

/* Open to probes of the probe: an orchestrator's liveness check carries no credentials. */
static bool web_is_open_path(struct evhttp_request *req)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;

	return path != NULL && strcmp(path, WEB_HEALTHY_PATH) == 0;
}

static void web_deny(struct web *w, struct evhttp_request *req)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evhttp_request_get_output_buffer(req);
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port = 0;

	if (log_enabled(LOG_LEVEL_DEBUG) && conn != NULL) {
		evhttp_connection_get_peer(conn, &addr, &port);
		log_debug("listener %s: 401 for a request from %s:%u", w->listen,
		          addr != NULL ? addr : "?", (unsigned)port);
	}
	evhttp_add_header(out, "WWW-Authenticate", WEB_REALM);
	evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8");
	evbuffer_add_printf(body, "Unauthorized\n");
	evhttp_send_reply(req, 401, "Unauthorized", body);
}

/* ---- connections ---- */

/* The socket c names is still the one it was accepted on (not closed, not reused). */
static bool web_conn_alive(const struct web_conn *c)
{
	struct stat st;

	if (c->phase == WEB_CONN_NEW)
		return true;
	if (fstat(c->fd, &st) == -1)
		return false;
	return st.st_dev == c->dev && st.st_ino == c->ino;
}

static void web_conn_free(struct web_conn *c)
{
	struct web_conn **pp;

	for (pp = &c->w->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->w->n_conns--;
	event_free(c->timer);
	free(c);
}

/* Forget the connections evhttp has closed since we last looked. */
static void web_conn_reap(struct web *w)
{
	struct web_conn *c, *next;

	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		if (!web_conn_alive(c))
			web_conn_free(c);
	}
}

/*
 * The descriptor stays evhttp's: shut down, the socket reads as ended, and evhttp closes
 * and frees the connection on its next read, which it always has armed while it waits
 * for a request. A refused plain-HTTP client is told why first.
 */
static void web_conn_shutdown(struct web_conn *c, bool refused)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
	                           "Content-Length: 0\r\n\r\n";

	if (refused && c->w->ssl == NULL)
		(void)send(c->fd, busy, sizeof busy - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)shutdown(c->fd, SHUT_RDWR);
}

static void web_accept_resume(struct web *w)
{
	if (!w->paused && !w->cap_paused && !w->burst_paused)
		evconnlistener_enable(w->lev);
}

static void web_conn_arm(struct web_conn *c)
{
	struct timeval tv = {.tv_sec = WEB_REQUEST_DEADLINE_S, .tv_usec = 0};

	c->phase = WEB_CONN_WAITING;
	c->waiting_since = clock_now_us();
	evtimer_add(c->timer, &tv);
}

/* The first turn after accept (the descriptor is known now), then the deadline. */
static void web_conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct web_conn *c = arg;
	struct web *w = c->w;
	struct stat st;

	(void)fd;
	(void)what;
	if (c->phase != WEB_CONN_NEW) {
		if (c->phase == WEB_CONN_WAITING && web_conn_alive(c)) {
			w->stats.deadline_closed++;
			log_debug("listener %s: no whole request within %d s, closing", w->listen,
			          WEB_REQUEST_DEADLINE_S);
			web_conn_shutdown(c, false);
		}
		web_conn_free(c);
		return;
	}
	w->turn_accepts = 0; /* a new turn of the loop */
	if (w->burst_paused) {
		w->burst_paused = false;
		web_accept_resume(w);
	}
	c->fd = bufferevent_getfd(c->bev);
	bufferevent_decref(c->bev);
	c->bev = NULL;
	if (c->fd == -1 || fstat(c->fd, &st) == -1) {
		web_conn_free(c); /* evhttp failed to set the connection up */
	} else if (c->refuse || c->fd >= w->fd_high) {
		w->stats.refused++;
		log_debug("listener %s: connection refused (%s)", w->listen,
		          c->refuse ? "too many connections" : "descriptors kept for transactions");
		web_conn_shutdown(c, true);
		web_conn_free(c);
	} else {
		c->dev = st.st_dev;
		c->ino = st.st_ino;
		web_conn_arm(c);
		return;
	}
	if (w->cap_paused) {
		w->cap_paused = false;
		web_accept_resume(w);
	}
}

/*
 * At the cap, the connection that has waited longest for a whole request makes room for
 * the new one (closed as a deadline would close it, counted as refused): 500 clients
 * that trickle or say nothing cannot keep an operator's /-/healthy, or a scrape, out.
 * Connections being answered are never chosen; when every one is, the new one is
 * refused.
 */
static void web_conn_evict(struct web *w)
{
	struct web_conn *oldest = NULL;

	for (struct web_conn *c = w->conns; c != NULL; c = c->next)
		if (c->phase == WEB_CONN_WAITING &&
		    (oldest == NULL || c->waiting_since < oldest->waiting_since))
			oldest = c;
	if (oldest == NULL)
		return;
	if (!web_conn_alive(oldest)) {
		web_conn_free(oldest); /* gone already: room made */
		return;
	}
	w->stats.refused++;
	log_debug("listener %s: at the connection cap; closing the longest-waiting connection",
	          w->listen);
	web_conn_shutdown(oldest, true);
	web_conn_free(oldest);
}

/*
 * evhttp asks for a bufferevent per accepted connection, before it sets the descriptor:
 * the connection's record learns that in the first turn of the loop. Returning NULL would
 * make evhttp fall back to a plain socket on the TLS port, so failure is fatal.
 */
static struct bufferevent *web_bev(struct event_base *base, void *arg)
{
	struct web *w = arg;
	struct bufferevent *bev;
	struct web_conn *c;

	if (w->ssl != NULL)
		bev = web_tls_bev(w, base);
	else
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	c = xcalloc(1, sizeof *c);
	c->timer = evtimer_new(base, web_conn_on_timer, c);
	if (bev == NULL || c->timer == NULL) {
		log_err("listener %s: cannot set up a connection (out of memory)", w->listen);
		abort();
	}
	/* at the cap only: finding the closed ones costs an fstat per connection */
	if (w->n_conns >= w->max_conns)
		web_conn_reap(w);
	if (w->n_conns >= w->max_conns)
		web_conn_evict(w);
	c->w = w;
	c->fd = -1;
	/* held until the first turn: evhttp frees it at once when it cannot set up (OOM) */
	bufferevent_incref(bev);
	c->bev = bev;
	c->phase = WEB_CONN_NEW;
	c->refuse = w->n_conns >= w->max_conns;
	c->next = w->conns;
	w->conns = c;
	w->n_conns++;
	/* one refusal per turn: a burst must not take every descriptor before the first goes */
	if (c->refuse) {
		w->cap_paused = true;
		evconnlistener_disable(w->lev);
	}
	/* and a bounded number of accepts per turn: 1,000 waiting connections are taken over
	 * several turns, each short, instead of in one callback that holds the loop */
	if (++w->turn_accepts >= WEB_ACCEPTS_PER_TURN && !w->burst_paused) {
		w->burst_paused = true;
		evconnlistener_disable(w->lev);
	}
	event_active(c->timer, EV_TIMEOUT, 1);
	return bev;
}

/* The record of req's connection, or NULL (none: every accepted connection has one). */
static struct web_conn *web_conn_find(struct web *w, struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn != NULL ? evhttp_connection_get_bufferevent(conn) : NULL;
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
	struct web_conn *c;
	struct stat st;

	if (fd == -1 || fstat(fd, &st) == -1)
		return NULL;
	for (c = w->conns; c != NULL; c = c->next)
		if (c->phase != WEB_CONN_NEW && c->fd == fd && c->dev == st.st_dev &&
		    c->ino == st.st_ino)
			return c;
	return NULL;
}

/* Answered: the next request on a kept-alive connection gets a deadline of its own. */
static void web_on_complete(struct evhttp_request *req, void *arg)
{
	struct web_conn *c = web_conn_find(arg, req);

	if (c != NULL && c->phase == WEB_CONN_SERVING)
		web_conn_arm(c);
}

static void web_on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct web *w = arg;

	(void)fd;
	(void)what;
	w->paused = false;
	web_accept_resume(w);
}

/*
 * accept failed with something other than "try again" (EMFILE, ENFILE, ENOBUFS): the
 * pending connection keeps the socket readable, so retrying at once would spin. Pause,
 * and say so once a minute with the count of pauses in between.
 */
static void web_on_accept_error(struct evconnlistener *lev, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {.tv_sec = 0, .tv_usec = WEB_ACCEPT_PAUSE_MS * 1000};
	uint64_t now = clock_now_us();
	struct web *w;

	(void)arg; /* the evhttp */
	for (w = web_all; w != NULL && w->lev != lev; w = w->next)
		;
	if (w == NULL)
		return;
	evconnlistener_disable(lev);
	w->paused = true;
	w->stats.accept_paused++;
	evtimer_add(w->resume, &tv);
	if (w->accept_logged_us != 0 && now - w->accept_logged_us < WEB_ACCEPT_LOG_S * 1000000ULL) {
		w->accept_unlogged++;
		return;
	}
	errno = e;
	if (w->accept_unlogged > 0)
		log_warn_errno("listener %s: accept failed, paused for %d ms (%" PRIu64
		               " more pauses in the last %d s)",
		               w->listen, WEB_ACCEPT_PAUSE_MS, w->accept_unlogged,
		               WEB_ACCEPT_LOG_S);
	else
		log_warn_errno("listener %s: accept failed, paused for %d ms", w->listen,
		               WEB_ACCEPT_PAUSE_MS);
	w->accept_logged_us = now;
	w->accept_unlogged = 0;
}

/*
 * How many connections and which descriptors the listener may take: a quarter of the
 * limit (at least WEB_FD_RESERVE_MIN) stays with the transactions, and connections are
 * capped at half of the rest, so idle clients cannot starve the probes.
 */
static void web_fd_budget(struct web *w)
{
	struct rlimit rl;
	rlim_t cur = 1024, reserve, cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		cur = rl.rlim_cur;
	if (cur > INT_MAX)
		cur = INT_MAX;
	reserve = cur / 4 > WEB_FD_RESERVE_MIN ? cur / 4 : WEB_FD_RESERVE_MIN;
	w->fd_high = cur > reserve ? (int)(cur - reserve) : 0;
	cap = cur > reserve ? (cur - reserve) / 2 : 0;
	w->max_conns = cap > WEB_CONNECTIONS_MAX ? WEB_CONNECTIONS_MAX
	               : cap > 0                 ? (unsigned)cap
	                                         : 1;
}

static int web_sockaddr(const char *host, ev_uint16_t port, struct sockaddr_storage *ss,
                        socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof *s4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof *s6;
		return 0;
	}
	return -1;
}

void web_get_stats(struct web *w, struct web_stats *out)
{
	memset(out, 0, sizeof *out);
	if (w == NULL)
		return;
	web_conn_reap(w);
	*out = w->stats;
	out->open = w->n_conns;
}

/* ---- listener ---- */

/* Not evhttp_send_error: it drops the headers set so far, and 405 must carry Allow. */
static void web_refuse_method(struct evhttp_request *req)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evhttp_request_get_output_buffer(req);

	evhttp_add_header(out, "Allow", "GET, HEAD");
	evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8");
	evbuffer_add_printf(body, "Method Not Allowed\n");
	evhttp_send_reply(req, 405, "Method Not Allowed", body);
}

static void web_on_request(struct evhttp_request *req, void *arg)
{
	struct web *w = arg;
	struct web_conn *c = web_conn_find(w, req);

	/* whole: no deadline while it is answered (a /probe may take its scrape timeout) */
	if (c != NULL) {
		c->phase = WEB_CONN_SERVING;
		evtimer_del(c->timer);
	}
	evhttp_request_set_on_complete_cb(req, web_on_complete, w);

	if ((evhttp_request_get_command(req) & WEB_METHODS_SERVED) == 0) {
		web_refuse_method(req);
		return;
	}
	if (w->auth && !web_is_open_path(req) && !web_auth_ok(w, req)) {
		web_deny(w, req);
		return;
	}
	w->handler(req, w->arg);
}

struct web *web_new(struct event_base *base, const struct web_conf *conf, web_handler *h, void *arg,
                    char *err, size_t errlen)
{
	struct web *w = xcalloc(1, sizeof *w);
	char host[INET6_ADDRSTRLEN];
	ev_uint16_t port = 0;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;

	w->base = base;
	w->handler = h;
	w->arg = arg;
	w->listen = xstrdup(conf->listen != NULL ? conf->listen : "");
	if (web_parse_listen(conf->listen, host, sizeof host, &port, &w->loopback, err, errlen) ==
	    -1)
		goto fail;
	if (web_set_auth(w, conf->username, conf->password, err, errlen) == -1)
		goto fail;
	if (conf->tls_cert != NULL || conf->tls_key != NULL) {
		w->ssl = web_tls_ctx_new(w, conf->tls_cert, conf->tls_key, err, errlen);
		if (w->ssl == NULL)
			goto fail;
	}
	w->http = evhttp_new(base);
	if (w->http == NULL) {
		errbuf_set(err, errlen, "cannot create the HTTP server for %s", w->listen);
		goto fail;
	}
	/* evhttp answers what it does not allow with 501; let them through to say 405. */
	evhttp_set_allowed_methods(w->http, WEB_METHODS_SERVED | WEB_METHODS_REFUSED);
	evhttp_set_timeout(w->http, WEB_TIMEOUT_S);
	evhttp_set_max_headers_size(w->http, WEB_HEADERS_MAX);
	evhttp_set_max_body_size(w->http, WEB_BODY_MAX);
	evhttp_set_gencb(w->http, web_on_request, w);
	evhttp_set_bevcb(w->http, web_bev, w);
	w->resume = evtimer_new(base, web_on_resume, w);
	if (w->resume == NULL || web_sockaddr(host, port, &ss, &sslen) == -1) {
		errbuf_set(err, errlen, "cannot listen on %s: out of memory", w->listen);
		goto fail;
	}
	w->lev = evconnlistener_new_bind(base, NULL, NULL,
	                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	                                     LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_DISABLED,
	                                 WEB_LISTEN_BACKLOG, (struct sockaddr *)&ss, (int)sslen);
	if (w->lev == NULL) {
		errbuf_set(err, errlen, "cannot listen on %s: %s", w->listen, strerror(errno));
		goto fail;
	}
	w->sock = evhttp_bind_listener(w->http, w->lev);
	if (w->sock == NULL) {
		evconnlistener_free(w->lev);
		w->lev = NULL;
		errbuf_set(err, errlen, "cannot listen on %s: out of memory", w->listen);
		goto fail;
	}
	evconnlistener_set_error_cb(w->lev, web_on_accept_error);
	web_fd_budget(w);
	w->next = web_all;
	web_all = w;
	evconnlistener_enable(w->lev);
	web_warn_clear_text(w);
	log_info("listening on %s://%s%s", w->ssl != NULL ? "https" : "http", w->listen,
	         w->auth ? " (basic auth)" : "");
	return w;
fail:
	web_free(w);
	return NULL;
}

void web_free(struct web *w)
{
	struct web **pp;

	if (w == NULL)
		return;
	for (pp = &web_all; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	if (w->http != NULL)
		evhttp_free(w->http); /* the listener and every connection with it */
	w->http = NULL;
	w->sock = NULL;
	w->lev = NULL;
	while (w->conns != NULL) {
		if (w->conns->bev != NULL)
			bufferevent_decref(w->conns->bev);
		web_conn_free(w->conns);
	}
	if (w->resume != NULL)
		event_free(w->resume); /* not NULL-safe */
	w->resume = NULL;
	SSL_CTX_free(w->ssl);
	w->ssl = NULL;
	OPENSSL_cleanse(w->cred, sizeof w->cred);
	free(w->listen);
	free(w);
}
