/*
 * tls_conn: one non-blocking TLS client connection on the event loop (connect,
 * handshake, send, receive), with what a diagnosis needs recorded on the way: the
 * chain the server sent and the leaf's facts (kept even when verification fails), the
 * first verification error with the certificate it concerns, and any TLS alert the
 * server sent, including TLS 1.3 alerts that arrive after the handshake.
 *
 * TLS contexts come from a cache keyed by trust store and client certificate: files
 * are read once and re-read only when they change, so a key is never parsed per
 * connection. Only tls_conn.c and pki/ include OpenSSL.
 */
#ifndef CERTPROBE_TLS_CONN_H
#define CERTPROBE_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/bbuf.h"
#include "transactions/transaction.h"

struct event_base;
struct tls_ctx;
struct tls_ctx_cache;
struct tls_conn;

struct tls_ctx_cache *tls_ctx_cache_new(void);
void tls_ctx_cache_free(struct tls_ctx_cache *cache); /* NULL-safe */

enum tls_max_version { TLS_MAX_AUTO = 0, TLS_MAX_1_2, TLS_MAX_1_3 };

struct tls_ctx_params {
	const char *trust_store; /* PEM file of roots; required */
	const char *cert;        /* client certificate chain PEM, or NULL */
	const char *key;         /* its key PEM, or NULL */
	enum tls_max_version max_version;
};

/* Facts of a certificate for the report. */
struct tls_cert_facts {
	char subject[256];
	char issuer[256];
	char serial[80];
	char not_before[32]; /* "2026-11-22T10:00:00Z" */
	char not_after[32];
	char fingerprint[80]; /* "sha256:<hex>" */
	char names[256];      /* subjectAltName DNS names and IPs, comma-separated */
	long seconds_left;    /* until notAfter; negative when expired */
	long not_before_in;   /* seconds until notBefore; > 0 when not yet valid */
};

/*
 * A context for params, loaded on first use and reloaded when one of its files
 * changed. On failure returns NULL with *st (TXN_CLIENT_CERT_UNAVAILABLE for the
 * client certificate or key, TXN_PROBE_INTERNAL for the trust store) and a message.
 * client (may be NULL) receives the client certificate's facts.
 */
struct tls_ctx *tls_ctx_get(struct tls_ctx_cache *cache, const struct tls_ctx_params *params,
                            struct tls_cert_facts *client, enum txn_status *st, char *err,
                            size_t errlen);

enum tls_event {
	TLS_EV_CONNECTED,      /* TCP connected */
	TLS_EV_HANDSHAKE_DONE, /* handshake complete and the server chain verified */
	TLS_EV_DATA,           /* new bytes in tls_conn_input() */
	TLS_EV_EOF,            /* the server closed the connection */
	TLS_EV_ERROR,          /* failed: see tls_conn_error() */
};

typedef void tls_conn_cb(struct tls_conn *c, enum tls_event ev, void *arg);

struct tls_peer_info {
	bool have_leaf;
	struct tls_cert_facts leaf;
	int chain_len;     /* certificates the server sent */
	char chain[600];   /* what it sent, leaf first: "CN=a (issuer CN=b); CN=b (...)" */
	long verify_error; /* X509_V_OK (0) or the first error */
	int verify_depth;
	char verify_subject[256]; /* the certificate the error concerns */
	char verify_issuer[256];
	int alert; /* fatal TLS alert received from the server, -1 none */
	bool alert_after_handshake;
	bool client_cert_sent; /* a client certificate was configured */
	char version[16];
	char cipher[64];
	char local_ip[48];
	unsigned local_port;
};

/*
 * Connect to sa and handshake; verify_name is the name (or IP literal) the server
 * certificate must carry and the SNI (when a DNS name). Events arrive through cb;
 * even an immediate failure is delivered from the loop, never from inside this call.
 */
struct tls_conn *tls_conn_start(struct event_base *base, struct tls_ctx *ctx,
                                const struct sockaddr *sa, socklen_t salen, const char *verify_name,
                                tls_conn_cb *cb, void *arg);

/* Queue bytes for sending (after the handshake). 0 or -1. */
int tls_conn_send(struct tls_conn *c, const void *p, size_t n);
/* Received application bytes; the caller consumes (bbuf_reset or shifts) as it parses. */
struct bbuf *tls_conn_input(struct tls_conn *c);
const struct tls_peer_info *tls_conn_peer(const struct tls_conn *c);
/* After TLS_EV_ERROR: the classified status and a detail sentence. */
enum txn_status tls_conn_error(const struct tls_conn *c, char *detail, size_t len);
/* Send close_notify when the handshake was done (best effort, never blocks), close, free. */
void tls_conn_close(struct tls_conn *c);

/* "certificate required" etc. for an alert description */
const char *tls_alert_name(int alert);

#endif
