/*
 * tls_conn: one non-blocking TLS client connection on the event loop (connect,
 * handshake, send, receive), with what a diagnosis needs recorded on the way: the
 * chain the server sent and the leaf's facts (kept even when verification fails), the
 * first verification error with the certificate it concerns, and any TLS alert the
 * server sent, including TLS 1.3 alerts that arrive after the handshake.
 *
 * TLS contexts come from tls_ctx.h: files are read once, off the loop, and re-read
 * only when they change, so a key is never parsed per connection.
 */
#ifndef CERTPROBE_TLS_CONN_H
#define CERTPROBE_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/bbuf.h"
#include "net/tls_ctx.h"
#include "transactions/transaction.h"

struct event_base;
struct tls_conn;

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
