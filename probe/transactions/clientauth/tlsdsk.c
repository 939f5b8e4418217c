/*
 * tlsdsk: the TLS-DSK client handshake over memory BIOs (contract in tlsdsk.h). OpenSSL is
 * allowed here (scripts/check-doors): this is TLS code, confined to this file.
 *
 * Why the legacy settings: [MS-SIPAE] clients (LPE, SIPE) speak TLS 1.0 with RSA key
 * exchange; OpenSSL 3 refuses TLS 1.0 below security level 0 (the handshake dies with
 * internal_error, lync-certprov.md §9), and RC4 needs the legacy provider, so AES-SHA
 * suites only. Extended master secret and encrypt-then-MAC are off because those clients
 * do not offer them (the MS-SIPAE key derivation is over the plain master secret).
 */
#include "transactions/clientauth/tlsdsk.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define TLSDSK_LABEL "client EAP encryption"
#define TLSDSK_CIPHERS "AES128-SHA:AES256-SHA:@SECLEVEL=0"

struct tlsdsk {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *in;  /* what the server sent (we write, SSL reads) */
	BIO *out; /* what we send (SSL writes, we read) */
	int alert_received;
	int alert_sent;
	bool done;
};

static void on_info(const SSL *ssl, int where, int ret)
{
	struct tlsdsk *d = SSL_get_app_data(ssl);

	if (d == NULL || !(where & SSL_CB_ALERT))
		return;
	/* ret: level in the high byte, description in the low byte */
	if ((ret >> 8) != SSL3_AL_FATAL)
		return;
	if ((where & SSL_CB_READ) && d->alert_received < 0)
		d->alert_received = ret & 0xff;
	if ((where & SSL_CB_WRITE) && d->alert_sent < 0)
		d->alert_sent = ret & 0xff;
}

static void ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	snprintf(err, errlen, "%s%s%s", what, buf[0] != '\0' ? ": " : "", buf);
	ERR_clear_error();
}

struct tlsdsk *tlsdsk_new(void *client_ssl_ctx, char *err, size_t errlen)
{
	SSL_CTX *src = client_ssl_ctx;
	X509 *cert = src != NULL ? SSL_CTX_get0_certificate(src) : NULL;
	EVP_PKEY *key = src != NULL ? SSL_CTX_get0_privatekey(src) : NULL;
	STACK_OF(X509) *chain = NULL;
	X509_STORE *store;
	struct tlsdsk *d;

	if (cert == NULL || key == NULL) {
		snprintf(err, errlen, "no client certificate and key loaded for TLS-DSK");
		return NULL;
	}
	d = OPENSSL_zalloc(sizeof *d);
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->alert_received = d->alert_sent = -1;
	d->ctx = SSL_CTX_new(TLS_client_method());
	if (d->ctx == NULL) {
		ssl_err(err, errlen, "SSL_CTX_new");
		goto fail;
	}
	SSL_CTX_set_security_level(d->ctx, 0);
	if (SSL_CTX_set_min_proto_version(d->ctx, TLS1_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(d->ctx, TLS1_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(d->ctx, TLSDSK_CIPHERS) != 1) {
		ssl_err(err, errlen, "TLS 1.0 with AES-SHA suites is not available");
		goto fail;
	}
	SSL_CTX_set_options(d->ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
	                                SSL_OP_NO_EXTENDED_MASTER_SECRET |
	                                SSL_OP_NO_ENCRYPT_THEN_MAC);
	SSL_CTX_set_session_cache_mode(d->ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate(d->ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(d->ctx, key) != 1) {
		ssl_err(err, errlen, "the client certificate does not load for TLS-DSK");
		goto fail;
	}
	if (SSL_CTX_get0_chain_certs(src, &chain) == 1 && chain != NULL)
		for (int i = 0; i < sk_X509_num(chain); i++)
			SSL_CTX_add1_chain_cert(d->ctx, sk_X509_value(chain, i));
	store = SSL_CTX_get_cert_store(src);
	if (store != NULL)
		SSL_CTX_set1_cert_store(d->ctx, store);
	SSL_CTX_set_verify(d->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_info_callback(d->ctx, on_info);
	d->ssl = SSL_new(d->ctx);
	d->in = BIO_new(BIO_s_mem());
	d->out = BIO_new(BIO_s_mem());
	if (d->ssl == NULL || d->in == NULL || d->out == NULL) {
		BIO_free(d->in);
		BIO_free(d->out);
		d->in = d->out = NULL;
		ssl_err(err, errlen, "SSL_new");
		goto fail;
	}
	/* an exhausted input BIO means "wait for the next SIP answer", not EOF */
	BIO_set_mem_eof_return(d->in, -1);
	SSL_set_bio(d->ssl, d->in, d->out);
	SSL_set_app_data(d->ssl, d);
	SSL_set_connect_state(d->ssl);
	return d;
fail:
	tlsdsk_free(d);
	return NULL;
}

void tlsdsk_free(struct tlsdsk *d)
{
	if (d == NULL)
		return;
	SSL_free(d->ssl); /* frees both BIOs */
	SSL_CTX_free(d->ctx);
	OPENSSL_free(d);
}

static int drain(struct tlsdsk *d, struct bbuf *out)
{
	char buf[4096];
	int n;

	while ((n = BIO_read(d->out, buf, sizeof buf)) > 0)
		if (bbuf_append(out, buf, (size_t)n) == -1)
			return -1;
	return 0;
}

enum tlsdsk_ret tlsdsk_step(struct tlsdsk *d, const unsigned char *in, size_t inlen,
                            struct bbuf *out, char *err, size_t errlen)
{
	int rc, e;

	err[0] = '\0';
	if (d->done) {
		snprintf(err, errlen, "the handshake is already complete");
		return TLSDSK_FAILED;
	}
	if (inlen > 0 && BIO_write(d->in, in, (int)inlen) != (int)inlen) {
		snprintf(err, errlen, "cannot buffer %zu bytes of server records", inlen);
		return TLSDSK_FAILED;
	}
	ERR_clear_error();
	rc = SSL_do_handshake(d->ssl);
	if (drain(d, out) == -1) {
		snprintf(err, errlen, "our handshake flight is too large");
		return TLSDSK_FAILED;
	}
	if (rc == 1) {
		d->done = true;
		return TLSDSK_DONE;
	}
	e = SSL_get_error(d->ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return TLSDSK_CONTINUE;
	if (SSL_get_verify_result(d->ssl) != X509_V_OK) {
		snprintf(err, errlen, "the registrar's tunnelled certificate does not verify: %s",
		         X509_verify_cert_error_string(SSL_get_verify_result(d->ssl)));
		ERR_clear_error();
		return TLSDSK_FAILED;
	}
	ssl_err(err, errlen, "the tunnelled TLS handshake failed");
	return TLSDSK_FAILED;
}

void tlsdsk_keys_from_block(const unsigned char block[TLSDSK_KEY_BLOCK], enum tlsdsk_mac mac,
                            struct tlsdsk_keys *k)
{
	memcpy(k->client_key, block + 64, TLSDSK_KEY_LEN);
	memcpy(k->server_key, block + 96, TLSDSK_KEY_LEN);
	k->mac = mac;
}

int tlsdsk_keys(const struct tlsdsk *d, struct tlsdsk_keys *k)
{
	unsigned char block[TLSDSK_KEY_BLOCK];
	const SSL_CIPHER *c;
	enum tlsdsk_mac mac = TLSDSK_MAC_SHA1;

	if (!d->done)
		return -1;
	if (SSL_export_keying_material(d->ssl, block, sizeof block, TLSDSK_LABEL,
	                               strlen(TLSDSK_LABEL), NULL, 0, 0) != 1)
		return -1;
	c = SSL_get_current_cipher(d->ssl);
	if (c != NULL && SSL_CIPHER_get_digest_nid(c) == NID_md5)
		mac = TLSDSK_MAC_MD5;
	tlsdsk_keys_from_block(block, mac, k);
	OPENSSL_cleanse(block, sizeof block);
	return 0;
}

int tlsdsk_alert_received(const struct tlsdsk *d)
{
	return d->alert_received;
}

int tlsdsk_alert_sent(const struct tlsdsk *d)
{
	return d->alert_sent;
}

void tlsdsk_describe(const struct tlsdsk *d, char *buf, size_t len)
{
	X509 *peer = SSL_get0_peer_certificate(d->ssl);
	char subj[256] = "?";

	if (peer != NULL)
		X509_NAME_oneline(X509_get_subject_name(peer), subj, sizeof subj);
	snprintf(buf, len, "%s %s, registrar %s", SSL_get_version(d->ssl),
	         SSL_get_cipher_name(d->ssl), subj);
}

int tlsdsk_mac_hex(const unsigned char *key, size_t keylen, enum tlsdsk_mac mac, const void *p,
                   size_t n, char *hex, size_t hexlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (HMAC(mac == TLSDSK_MAC_MD5 ? EVP_md5() : EVP_sha1(), key, (int)keylen, p, n, md,
	         &mdlen) == NULL)
		return -1;
	if (hexlen < (size_t)mdlen * 2 + 1)
		return -1;
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

bool tlsdsk_hex_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char diff = 0;

	if (na != nb || na == 0)
		return false;
	for (size_t i = 0; i < na; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		diff |= (unsigned char)(x ^ y);
	}
	return diff == 0;
}
