/*
 * web: the daemon's HTTP listener (/metrics, /-/healthy, ...) on libevent's evhttp,
 * with optional TLS and HTTP basic auth in front of the caller's handler. It owns the
 * socket, the SSL_CTX and the credentials; what is served is the handler's business.
 * Only GET and HEAD, small headers and bodies, 10 s per request. Descriptors are
 * budgeted: open connections are capped (at most 256, and half of what the descriptor
 * limit leaves after a reserve of a quarter for the transactions), a connection beyond
 * that is refused (503 on plain HTTP, then closed), a whole request must arrive within
 * 10 s of the connection opening or of the previous answer however it trickles in, and
 * accept is paused for 500 ms, with one log line a minute, when it runs out of them.
 */
#ifndef CERTPROBE_WEB_H
#define CERTPROBE_WEB_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evhttp_request;
struct web;

struct web_conf {
	const char *listen;   /* "host:port", "[v6]:port" or "localhost:port" (= 127.0.0.1) */
	const char *tls_cert; /* PEM chain, leaf first; NULL = plain HTTP */
	const char *tls_key;  /* PEM private key; required with tls_cert */
	const char *username; /* basic auth; NULL = none. Must not contain ':' */
	const char *password; /* resolved secret (NULL = ""); only a digest of user:pass is kept */
};

/*
 * Called for every request that passed the method and auth checks; it must answer
 * (evhttp_send_reply / evhttp_send_error). Requests without valid credentials never
 * reach it, except GET/HEAD /-/healthy, which is always open.
 */
typedef void web_handler(struct evhttp_request *req, void *arg);

/*
 * Bind conf->listen on base and start serving through h(req, arg). conf and its strings
 * are only read during the call (nothing is kept that points into them). Returns the
 * listener (free with web_free), or NULL with a message in err (never containing the
 * password), e.g. "cannot listen on 127.0.0.1:9793: Address already in use" or
 * "cannot load TLS certificate /x: <reason>". Warns (log_warn) when basic auth is
 * configured without TLS on an address other than loopback.
 */
struct web *web_new(struct event_base *base, const struct web_conf *conf, web_handler *h, void *arg,
                    char *err, size_t errlen);

/* What a listener counted since it started (the certprobe_http_* families). */
struct web_stats {
	uint64_t open;            /* connections open now */
	uint64_t refused;         /* closed at the cap (evicted or refused) or short of fds */
	uint64_t deadline_closed; /* closed because no whole request arrived in time */
	uint64_t accept_paused;   /* times accept failed (EMFILE, ...) and was paused */
};

/*
 * The counts of w into *out (all zero for NULL). Not const: it first forgets the
 * connections closed since the last look. The descriptor budget is computed once, in
 * web_new, from the RLIMIT_NOFILE then in force.
 */
void web_get_stats(struct web *w, struct web_stats *out);

/* Close the listener and every open connection; the credentials digest is wiped. NULL-safe. */
void web_free(struct web *w);

/*
 * Load cert and key into a new TLS context and use it for connections accepted from
 * now on (SIGHUP after a renewal); connections already open keep the old one. Returns
 * 0, or -1 with a message in err and the current context kept (also when w was started
 * without TLS: TLS cannot be switched on or off without a new listener).
 */
int web_reload_tls(struct web *w, const char *cert, const char *key, char *err, size_t errlen);

/*
 * Replace the basic-auth credentials (username NULL = no auth from now on). Returns 0,
 * or -1 with a message in err (username containing ':') and the old credentials kept.
 */
int web_set_auth(struct web *w, const char *username, const char *password, char *err,
                 size_t errlen);

#endif
