/*
 * web: the metrics listener (see web.h). evhttp does the HTTP; this file adds what sits
 * in front of the handler: the bind address rules, an OpenSSL bufferevent per accepted
 * connection when TLS is on (context swappable on reload), and basic auth checked in
 * constant time against a digest of user:pass, so the password itself is not kept.
 */
#include "exporters/web.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/errbuf.h"
#include "core/log.h"
#include "core/xalloc.h"

#define WEB_TIMEOUT_S 10
#define WEB_HEADERS_MAX (8 * 1024)
#define WEB_BODY_MAX 1024       /* GET and HEAD only: nothing legitimate carries a body */
#define WEB_AUTH_TOKEN_MAX 1024 /* base64 of user:pass; the header as a whole is capped above */
#define WEB_METHODS_SERVED (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)
#define WEB_METHODS_REFUSED                                                                        \
	(EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |               \
	 EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH)
#define WEB_HEALTHY_PATH "/-/healthy"
#define WEB_REALM "Basic realm=\"certprobe\""

struct web {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	SSL_CTX *ssl; /* NULL = plain HTTP; new connections take whatever is here */
	char *listen;
	bool loopback;
	bool auth;
	unsigned char cred[32]; /* SHA-256 of "user:pass"; wiped when replaced or freed */
	web_handler *handler;
	void *arg;
};

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

/*
 * evhttp asks for a bufferevent per accepted connection. Returning NULL would make it
 * fall back to a plain socket on the TLS port, so failure is fatal, like any OOM.
 */
static struct bufferevent *web_tls_bev(struct event_base *base, void *arg)
{
	struct web *w = arg;
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
	if (w->ssl != NULL)
		evhttp_set_bevcb(w->http, web_tls_bev, w);
	w->sock = evhttp_bind_socket_with_handle(w->http, host, port);
	if (w->sock == NULL) {
		errbuf_set(err, errlen, "cannot listen on %s: %s", w->listen, strerror(errno));
		goto fail;
	}
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
	if (w == NULL)
		return;
	if (w->http != NULL)
		evhttp_free(w->http); /* the bound socket and every connection with it */
	w->http = NULL;
	w->sock = NULL;
	SSL_CTX_free(w->ssl);
	w->ssl = NULL;
	OPENSSL_cleanse(w->cred, sizeof w->cred);
	free(w->listen);
	free(w);
}
