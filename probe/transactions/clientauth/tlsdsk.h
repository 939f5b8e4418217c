/*
 * tlsdsk: the client side of the TLS handshake that TLS-DSK ([MS-SIPAE] 3.2.5) carries in
 * SIP gssapi-data, run by OpenSSL over two memory BIOs (no socket: CPU only, so it runs on
 * the loop), and the session keys and message signatures that follow from it. The one
 * SSL_CTX built here is the only place in the probe that allows TLS 1.0 with AES-SHA suites
 * at security level 0, as the protocol requires; every other context keeps the defaults.
 */
#ifndef CERTPROBE_TLSDSK_H
#define CERTPROBE_TLSDSK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/bbuf.h"

#define TLSDSK_KEY_LEN 32
#define TLSDSK_KEY_BLOCK 128

enum tlsdsk_mac { TLSDSK_MAC_SHA1 = 0, TLSDSK_MAC_MD5 };

/* The security association's keys: client signs with client_key, server with server_key. */
struct tlsdsk_keys {
	unsigned char client_key[TLSDSK_KEY_LEN];
	unsigned char server_key[TLSDSK_KEY_LEN];
	enum tlsdsk_mac mac;
};

struct tlsdsk;

/*
 * A handshake that authenticates with the certificate, key and chain of client_ssl_ctx (an
 * SSL_CTX as void *, from tls_ctx_ssl(): the files were loaded there, off the loop) and
 * verifies the server's certificate against that context's trust store. NULL with err when
 * the context has no certificate or OpenSSL fails.
 */
struct tlsdsk *tlsdsk_new(void *client_ssl_ctx, char *err, size_t errlen);
void tlsdsk_free(struct tlsdsk *d); /* NULL-safe */

enum tlsdsk_ret {
	TLSDSK_CONTINUE, /* out holds the next client flight; feed the server's answer */
	TLSDSK_DONE,     /* the handshake completed: tlsdsk_keys() is valid */
	TLSDSK_FAILED,   /* err says why; tlsdsk_alert() names a server alert if one came */
};

/*
 * Feed the server's records in[0..inlen) (nothing for the first call, which yields the
 * ClientHello) and append what the client sends next to out.
 */
enum tlsdsk_ret tlsdsk_step(struct tlsdsk *d, const unsigned char *in, size_t inlen,
                            struct bbuf *out, char *err, size_t errlen);

/* After DONE: the keys from the RFC 5705 exporter, label "client EAP encryption", 128 bytes,
 * no context (equal to the MS-SIPAE PRF): 0, or -1. */
int tlsdsk_keys(const struct tlsdsk *d, struct tlsdsk_keys *k);
/* Split a 128-byte key block: client key = bytes 64..95, server key = 96..127. */
void tlsdsk_keys_from_block(const unsigned char block[TLSDSK_KEY_BLOCK], enum tlsdsk_mac mac,
                            struct tlsdsk_keys *k);

/* The fatal alert the server sent in the tunnel, -1 none; and the one we sent, -1 none. */
int tlsdsk_alert_received(const struct tlsdsk *d);
int tlsdsk_alert_sent(const struct tlsdsk *d);
/* After DONE: "TLSv1 AES128-SHA" into buf; the server certificate's subject. */
void tlsdsk_describe(const struct tlsdsk *d, char *buf, size_t len);

/*
 * HMAC (SHA-1 or MD5 per mac) of p[0..n) with key, as lower-case hex into hex (at least 41
 * bytes). 0 or -1.
 */
int tlsdsk_mac_hex(const unsigned char *key, size_t keylen, enum tlsdsk_mac mac, const void *p,
                   size_t n, char *hex, size_t hexlen);

/* Constant-time comparison of two hex signatures (case-insensitive): true when equal. */
bool tlsdsk_hex_equal(const char *a, const char *b);

#endif
