/*
 * tls_conn: non-blocking OpenSSL client on libevent (see tls_conn.h). One event per
 * connection, re-armed for whatever OpenSSL wants next (read or write). Callbacks are
 * the last thing a handler does, so the owner may close the connection inside one.
 */
#define _DEFAULT_SOURCE 1

#include "net/tls_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "pki/pki.h"
#include "pki/tls_diag.h"

#define TLS_INPUT_MAX (96 * 1024)
#define TLS_OUTPUT_MAX (64 * 1024)

/* ---- connections ---- */

enum conn_state { C_CONNECTING, C_HANDSHAKE, C_OPEN, C_DEAD };

struct tls_conn {
	struct event_base *base;
	int fd;
	SSL *ssl;
	struct event *ev;           /* persistent, for the events in armed */
	short armed;                /* EV_READ / EV_WRITE ev waits for; 0 = not added */
	struct event *defer;        /* deferred EOF / error delivery */
	struct tls_leaf_memo *memo; /* the context's last verified server chain */
	enum conn_state state;
	tls_conn_cb *cb;
	void *arg;
	struct bbuf in;
	struct bbuf out;
	size_t out_off;
	bool eof_pending;
	bool handshake_done;
	enum txn_status err_status;
	char err_detail[TXN_DETAIL_LEN];
	char verify_name[256];
	struct tls_peer_info peer;
};

static int conn_index = -1;

const char *tls_alert_name(int alert)
{
	/* OpenSSL 3.0 has no text for the TLS 1.3 additions */
	switch (alert) {
	case 109:
		return "missing extension";
	case 116:
		return "certificate required";
	case 120:
		return "no application protocol";
	default:
		return SSL_alert_desc_string_long(alert);
	}
}

static void conn_on_io(evutil_socket_t fd, short what, void *arg);

/* Wait for what; the event stays added (persistent) while that does not change. */
static void conn_arm(struct tls_conn *c, short what)
{
	if (what == c->armed)
		return;
	event_del(c->ev);
	event_assign(c->ev, c->base, c->fd, what | EV_PERSIST, conn_on_io, c);
	event_add(c->ev, NULL);
	c->armed = what;
}

static void conn_disarm(struct tls_conn *c)
{
	event_del(c->ev);
	c->armed = 0;
}

/*
 * With read-ahead OpenSSL may hold bytes read from the socket that no socket event will
 * announce again: run the read now when it does.
 */
static void conn_kick_pending(struct tls_conn *c)
{
	if (c->state == C_OPEN && !c->eof_pending && SSL_has_pending(c->ssl))
		event_active(c->ev, EV_READ, 0);
}

static void conn_fail(struct tls_conn *c, enum txn_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_fail(struct tls_conn *c, enum txn_status st, const char *fmt, ...)
{
	va_list ap;

	if (c->state == C_DEAD)
		return;
	c->state = C_DEAD;
	c->err_status = st;
	va_start(ap, fmt);
	vsnprintf(c->err_detail, sizeof c->err_detail, fmt, ap);
	va_end(ap);
	conn_disarm(c);
}

static void chain_describe(STACK_OF(X509) *sk, struct tls_peer_info *pi)
{
	size_t off = 0;

	pi->chain_len = sk != NULL ? sk_X509_num(sk) : 0;
	pi->chain[0] = '\0';
	for (int i = 0; i < pi->chain_len; i++) {
		X509 *x = sk_X509_value(sk, i);
		char subj[200], iss[200];
		int n;

		pki_name_string(X509_get_subject_name(x), subj, sizeof subj);
		pki_name_string(X509_get_issuer_name(x), iss, sizeof iss);
		n = snprintf(pi->chain + off, sizeof pi->chain - off, "%s%s (issuer %s)",
		             i > 0 ? "; " : "", subj, iss);
		if (n < 0 || (size_t)n >= sizeof pi->chain - off)
			break;
		off += (size_t)n;
	}
}

/* X509_cmp compares the hashes the decode computed: nearly free next to the facts. */
static bool memo_matches(const struct tls_leaf_memo *m, X509 *leaf, STACK_OF(X509) *sent)
{
	STACK_OF(X509) *had;
	int n;

	if (m == NULL || m->leaf == NULL || X509_cmp(m->leaf, leaf) != 0)
		return false;
	had = m->chain;
	n = sent != NULL ? sk_X509_num(sent) : 0;
	if ((had != NULL ? sk_X509_num(had) : 0) != n)
		return false;
	for (int i = 0; i < n; i++)
		if (X509_cmp(sk_X509_value(had, i), sk_X509_value(sent, i)) != 0)
			return false;
	return true;
}

static void memo_store(struct tls_leaf_memo *m, X509 *leaf, STACK_OF(X509) *sent,
                       const struct tls_peer_info *pi)
{
	if (m == NULL)
		return;
	X509_free(m->leaf);
	sk_X509_pop_free(m->chain, X509_free);
	X509_up_ref(leaf);
	m->leaf = leaf;
	m->chain = sent != NULL ? X509_chain_up_ref(sent) : NULL;
	m->facts = pi->leaf;
	m->chain_len = pi->chain_len;
	memcpy(m->chain_text, pi->chain, sizeof m->chain_text);
}

static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_conn *c = ssl != NULL ? SSL_get_ex_data(ssl, conn_index) : NULL;
	struct tls_peer_info *pi;
	X509 *cur;

	if (c == NULL)
		return ok;
	pi = &c->peer;
	if (!pi->have_leaf) {
		X509 *leaf = X509_STORE_CTX_get0_cert(xs);
		STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(xs);
		if (leaf != NULL && memo_matches(c->memo, leaf, sent)) {
			/* the chain of the last handshake: its facts, with the clock read again */
			pi->leaf = c->memo->facts;
			pi->leaf.seconds_left =
			    pki_cert_seconds_left(leaf, &pi->leaf.not_before_in);
			pi->chain_len = c->memo->chain_len;
			memcpy(pi->chain, c->memo->chain_text, sizeof pi->chain);
			pi->have_leaf = true;
		} else {
			if (leaf != NULL) {
				tls_cert_facts_of(leaf, &pi->leaf);
				pi->have_leaf = true;
			}
			chain_describe(sent, pi);
			if (leaf != NULL)
				memo_store(c->memo, leaf, sent, pi);
		}
	}
	if (!ok && pi->verify_error == X509_V_OK) {
		pi->verify_error = X509_STORE_CTX_get_error(xs);
		pi->verify_depth = X509_STORE_CTX_get_error_depth(xs);
		cur = X509_STORE_CTX_get_current_cert(xs);
		if (cur != NULL) {
			pki_name_string(X509_get_subject_name(cur), pi->verify_subject,
			                sizeof pi->verify_subject);
			pki_name_string(X509_get_issuer_name(cur), pi->verify_issuer,
			                sizeof pi->verify_issuer);
		}
	}
	return ok;
}

static void info_cb(const SSL *ssl, int where, int ret)
{
	struct tls_conn *c = SSL_get_ex_data(ssl, conn_index);

	if (c == NULL || !(where & SSL_CB_READ_ALERT))
		return;
	/* ret: level << 8 | description; close_notify is not a rejection */
	if ((ret >> 8) == SSL3_AL_FATAL && c->peer.alert == -1) {
		c->peer.alert = ret & 0xff;
		c->peer.alert_after_handshake = c->handshake_done;
	}
}

/* Why verification failed, in words that name the missing link. */
static void verify_explain(struct tls_conn *c, char *buf, size_t len)
{
	const struct tls_peer_info *pi = &c->peer;
	const char *sent = pi->chain[0] != '\0' ? pi->chain : "nothing";
	long v = pi->verify_error;

	switch (v) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		snprintf(buf, len,
		         "issuer '%s' of '%s' is neither in the chain the server sent (%d "
		         "certificate%s: %s) nor in the trust store",
		         pi->verify_issuer, pi->verify_subject, pi->chain_len,
		         pi->chain_len == 1 ? "" : "s", sent);
		break;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		snprintf(buf, len,
		         "the server sent a self-signed certificate '%s' that is not in "
		         "the trust store",
		         pi->verify_subject);
		break;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		snprintf(buf, len,
		         "the chain the server sent ends in the root '%s', which is not in "
		         "the trust store (sent: %s)",
		         pi->verify_subject, sent);
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		if (pi->verify_depth == 0 && pi->have_leaf)
			snprintf(buf, len, "'%s' expired at %s, %ld days ago by the probe's clock",
			         pi->verify_subject, pi->leaf.not_after,
			         -pi->leaf.seconds_left / 86400);
		else
			snprintf(buf, len, "'%s' (depth %d in the chain) has expired",
			         pi->verify_subject, pi->verify_depth);
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		if (pi->verify_depth == 0 && pi->have_leaf)
			snprintf(buf, len,
			         "'%s' is valid only from %s, %ld s from now by the probe's "
			         "clock: check the clocks of the CA, the server and the probe",
			         pi->verify_subject, pi->leaf.not_before, pi->leaf.not_before_in);
		else
			snprintf(buf, len, "'%s' (depth %d in the chain) is not yet valid",
			         pi->verify_subject, pi->verify_depth);
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		snprintf(buf, len, "the certificate '%s' names [%s], not '%s'", pi->leaf.subject,
		         pi->have_leaf && pi->leaf.names[0] != '\0' ? pi->leaf.names
		                                                    : "no altNames",
		         c->verify_name);
		break;
	default:
		snprintf(buf, len, "%s (depth %d, '%s')", tls_diag_verify_string(v),
		         pi->verify_depth, pi->verify_subject);
		break;
	}
}

/* A fatal alert from the server: which statement about our certificate it makes. */
static enum txn_status alert_status(const struct tls_conn *c)
{
	switch (c->peer.alert) {
	case SSL_AD_CERTIFICATE_REQUIRED:
		return c->peer.client_cert_sent ? TXN_CLIENT_CERT_REJECTED
		                                : TXN_CLIENT_CERT_REQUIRED;
	case SSL_AD_HANDSHAKE_FAILURE:
		/* TLS 1.2 servers say this when a required certificate is missing */
		return c->peer.client_cert_sent ? TXN_TLS_HANDSHAKE : TXN_CLIENT_CERT_REQUIRED;
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_ACCESS_DENIED:
		return TXN_CLIENT_CERT_REJECTED;
	case SSL_AD_CERTIFICATE_EXPIRED:
		return TXN_CLIENT_CERT_EXPIRED;
	case SSL_AD_UNKNOWN_CA:
		return TXN_CLIENT_CERT_UNTRUSTED;
	default:
		return TXN_TLS_HANDSHAKE;
	}
}

/* An SSL_ERROR_SSL / SYSCALL during handshake or I/O: classify and fail. */
static void conn_ssl_failed(struct tls_conn *c, int sslerr, int ret)
{
	char ebuf[200];
	const char *phase = c->handshake_done ? "after the handshake" : "during the handshake";

	if (!c->handshake_done && c->peer.verify_error != X509_V_OK) {
		char why[TXN_DETAIL_LEN];
		verify_explain(c, why, sizeof why);
		ERR_clear_error();
		conn_fail(c, tls_diag_verify_status(c->peer.verify_error), "%s", why);
		return;
	}
	if (c->peer.alert != -1) {
		ERR_clear_error();
		conn_fail(c, alert_status(c), "the server sent TLS alert %d (%s) %s", c->peer.alert,
		          tls_alert_name(c->peer.alert), phase);
		return;
	}
	if (sslerr == SSL_ERROR_SYSCALL || sslerr == SSL_ERROR_ZERO_RETURN) {
		int e = errno;
		ERR_clear_error();
		if (ret == 0 || e == 0 || sslerr == SSL_ERROR_ZERO_RETURN)
			conn_fail(c, c->handshake_done ? TXN_REGISTRAR_CLOSED : TXN_TLS_HANDSHAKE,
			          "the server closed the connection %s", phase);
		else
			conn_fail(c, TXN_TCP_ERROR, "connection error %s: %s", phase, strerror(e));
		return;
	}
	conn_fail(c, TXN_TLS_HANDSHAKE, "TLS failed %s: %s", phase,
	          pki_last_error(ebuf, sizeof ebuf));
}

static void conn_deliver_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct tls_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->state == C_DEAD)
		c->cb(c, TLS_EV_ERROR, c->arg);
	else if (c->eof_pending)
		c->cb(c, TLS_EV_EOF, c->arg);
}

static void conn_flush(struct tls_conn *c)
{
	while (c->out_off < c->out.len) {
		size_t n = c->out.len - c->out_off;
		int r, e;

		ERR_clear_error();
		r = SSL_write(c->ssl, c->out.data + c->out_off,
		              (int)(n > INT32_MAX ? INT32_MAX : n));
		if (r > 0) {
			c->out_off += (size_t)r;
			continue;
		}
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
			return;
		conn_ssl_failed(c, e, r);
		return;
	}
	bbuf_reset(&c->out);
	c->out_off = 0;
}

/* Read what is there; returns true when new bytes arrived. */
static bool conn_read(struct tls_conn *c)
{
	unsigned char buf[16384];
	bool got = false;

	for (;;) {
		int r, e;

		ERR_clear_error();
		r = SSL_read(c->ssl, buf, sizeof buf);
		if (r > 0) {
			if (bbuf_append(&c->in, buf, (size_t)r) == -1) {
				conn_fail(c, TXN_RESPONSE_TOO_LARGE,
				          "more than %d bytes without a complete message",
				          TLS_INPUT_MAX);
				return got;
			}
			got = true;
			continue;
		}
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return got;
		/* a close without close_notify is still a close (OpenSSL 3 calls it an error) */
		if (c->peer.alert == -1 &&
		    (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0) ||
		     (e == SSL_ERROR_SSL &&
		      ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING))) {
			ERR_clear_error();
			c->eof_pending = true;
			conn_disarm(c);
			return got;
		}
		conn_ssl_failed(c, e, r);
		return got;
	}
}

static void conn_handshake_facts(struct tls_conn *c)
{
	const SSL_CIPHER *ci = SSL_get_current_cipher(c->ssl);

	snprintf(c->peer.version, sizeof c->peer.version, "%s", SSL_get_version(c->ssl));
	snprintf(c->peer.cipher, sizeof c->peer.cipher, "%s",
	         ci != NULL ? SSL_CIPHER_get_name(ci) : "?");
}

static void conn_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct tls_conn *c = arg;
	enum tls_event ev;
	int r, e;

	(void)fd;
	(void)what;
	switch (c->state) {
	case C_CONNECTING: {
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		struct sockaddr_storage ss;
		socklen_t ssl_len = sizeof ss;

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			soerr = errno;
		if (soerr != 0) {
			conn_fail(
			    c,
			    soerr == ECONNREFUSED ? TXN_TCP_REFUSED
			    : (soerr == ENETUNREACH || soerr == EHOSTUNREACH || soerr == ETIMEDOUT)
			        ? TXN_TCP_UNREACHABLE
			        : TXN_TCP_ERROR,
			    "connect: %s", strerror(soerr));
			c->cb(c, TLS_EV_ERROR, c->arg);
			return;
		}
		if (getsockname(c->fd, (struct sockaddr *)&ss, &ssl_len) == 0) {
			if (ss.ss_family == AF_INET) {
				struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
				inet_ntop(AF_INET, &s4->sin_addr, c->peer.local_ip,
				          sizeof c->peer.local_ip);
				c->peer.local_port = ntohs(s4->sin_port);
			} else if (ss.ss_family == AF_INET6) {
				struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
				inet_ntop(AF_INET6, &s6->sin6_addr, c->peer.local_ip,
				          sizeof c->peer.local_ip);
				c->peer.local_port = ntohs(s6->sin6_port);
			}
		}
		c->state = C_HANDSHAKE;
		conn_arm(c, EV_WRITE);
		c->cb(c, TLS_EV_CONNECTED, c->arg);
		return;
	}
	case C_HANDSHAKE:
		ERR_clear_error();
		r = SSL_connect(c->ssl);
		if (r == 1) {
			c->handshake_done = true;
			c->state = C_OPEN;
			conn_handshake_facts(c);
			conn_arm(c, EV_READ);
			conn_kick_pending(c);
			c->cb(c, TLS_EV_HANDSHAKE_DONE, c->arg);
			return;
		}
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ) {
			conn_arm(c, EV_READ);
			return;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			conn_arm(c, EV_WRITE);
			return;
		}
		conn_ssl_failed(c, e, r);
		c->cb(c, TLS_EV_ERROR, c->arg);
		return;
	case C_OPEN: {
		bool got;

		if (c->out.len > c->out_off)
			conn_flush(c);
		got = c->state == C_OPEN ? conn_read(c) : false;
		if (c->state == C_DEAD) {
			if (got) { /* deliver the bytes, then the error */
				event_active(c->defer, EV_TIMEOUT, 0);
				c->cb(c, TLS_EV_DATA, c->arg);
				return;
			}
			c->cb(c, TLS_EV_ERROR, c->arg);
			return;
		}
		if (!c->eof_pending)
			conn_arm(c, EV_READ | (c->out.len > c->out_off ? EV_WRITE : 0));
		if (got) {
			if (c->eof_pending)
				event_active(c->defer, EV_TIMEOUT, 0);
			ev = TLS_EV_DATA;
		} else if (c->eof_pending) {
			ev = TLS_EV_EOF;
		} else {
			return;
		}
		c->cb(c, ev, c->arg);
		return;
	}
	case C_DEAD:
		return;
	}
}

struct tls_conn *tls_conn_start(struct event_base *base, struct tls_ctx *ctx,
                                const struct sockaddr *sa, socklen_t salen, const char *verify_name,
                                tls_conn_cb *cb, void *arg)
{
	struct tls_conn *c = xcalloc(1, sizeof *c);
	unsigned char ipbuf[16];
	bool is_ip;
	int one = 1;

	if (conn_index == -1)
		conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	c->base = base;
	c->cb = cb;
	c->arg = arg;
	c->fd = -1;
	c->peer.alert = -1;
	c->peer.client_cert_sent = tls_ctx_has_cert(ctx);
	c->memo = tls_ctx_leaf_memo(ctx);
	snprintf(c->verify_name, sizeof c->verify_name, "%s", verify_name);
	bbuf_init(&c->in, TLS_INPUT_MAX);
	bbuf_init(&c->out, TLS_OUTPUT_MAX);
	c->ev = event_new(base, -1, 0, conn_on_io, c);
	c->defer = evtimer_new(base, conn_deliver_deferred, c);
	c->state = C_CONNECTING;

	c->ssl = SSL_new(tls_ctx_ssl(ctx));
	if (c->ssl == NULL) {
		conn_fail(c, TXN_PROBE_INTERNAL, "SSL_new failed");
		event_active(c->defer, EV_TIMEOUT, 0);
		return c;
	}
	SSL_set_verify(c->ssl, SSL_VERIFY_PEER, verify_cb);
	SSL_set_info_callback(c->ssl, info_cb);
	SSL_set_ex_data(c->ssl, conn_index, c);
	is_ip = inet_pton(AF_INET, verify_name, ipbuf) == 1 ||
	        inet_pton(AF_INET6, verify_name, ipbuf) == 1;
	if (is_ip) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), verify_name);
	} else {
		SSL_set_tlsext_host_name(c->ssl, c->verify_name); /* the macro casts away const */
		SSL_set1_host(c->ssl, verify_name);
	}
	c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		conn_fail(c, TXN_PROBE_INTERNAL, "socket: %s", strerror(errno));
		event_active(c->defer, EV_TIMEOUT, 0);
		return c;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_connect_state(c->ssl);
	if (connect(c->fd, sa, salen) == -1 && errno != EINPROGRESS) {
		int e = errno;
		conn_fail(c,
		          e == ECONNREFUSED                         ? TXN_TCP_REFUSED
		          : (e == ENETUNREACH || e == EHOSTUNREACH) ? TXN_TCP_UNREACHABLE
		                                                    : TXN_TCP_ERROR,
		          "connect: %s", strerror(e));
		event_active(c->defer, EV_TIMEOUT, 0);
		return c;
	}
	conn_arm(c, EV_WRITE);
	return c;
}

int tls_conn_send(struct tls_conn *c, const void *p, size_t n)
{
	if (c->state != C_OPEN || bbuf_append(&c->out, p, n) == -1)
		return -1;
	conn_flush(c);
	if (c->state == C_DEAD) {
		event_active(c->defer, EV_TIMEOUT, 0);
		return 0;
	}
	if (!c->eof_pending) {
		conn_arm(c, EV_READ | (c->out.len > c->out_off ? EV_WRITE : 0));
		conn_kick_pending(c);
	}
	return 0;
}

struct bbuf *tls_conn_input(struct tls_conn *c)
{
	return &c->in;
}

const struct tls_peer_info *tls_conn_peer(const struct tls_conn *c)
{
	return &c->peer;
}

enum txn_status tls_conn_error(const struct tls_conn *c, char *detail, size_t len)
{
	if (detail != NULL)
		snprintf(detail, len, "%s", c->err_detail);
	return c->err_status;
}

void tls_conn_close(struct tls_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		if (c->handshake_done && c->state != C_DEAD) {
			ERR_clear_error();
			(void)SSL_shutdown(
			    c->ssl); /* queues close_notify; we do not wait for theirs */
		}
		ERR_clear_error();
		SSL_free(c->ssl);
	}
	event_free(c->ev); /* before close(): never epoll_ctl a descriptor that may be reused */
	event_free(c->defer);
	if (c->fd != -1)
		close(c->fd);
	bbuf_free(&c->in);
	bbuf_free(&c->out);
	free(c);
}
