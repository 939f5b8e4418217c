/*
 * test_tlsdsk: the TLS-DSK client handshake over memory BIOs against an OpenSSL server that
 * requires a client certificate (as the registrar double does), and the key derivation:
 * the RFC 5705 exporter keys must equal the MS-SIPAE PRF computed here by hand
 * (TLS 1.0 PRF = P_MD5 xor P_SHA1 over the master secret, "client EAP encryption",
 * client_random || server_random; client key 64..95, server key 96..127) and the server's
 * own export; HMAC against the RFC 2202 vectors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/bbuf.h"
#include "transactions/clientauth/tlsdsk.h"

static EVP_PKEY *key;
static X509 *cert; /* self-signed: the server's and the client's, and the only root */

static int setup(void **state)
{
	X509_NAME *n;

	(void)state;
	key = EVP_RSA_gen(2048);
	cert = X509_new();
	if (key == NULL || cert == NULL)
		return -1;
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, key);
	n = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	                           (const unsigned char *)"alice@example.com", -1, -1, 0);
	X509_set_issuer_name(cert, n);
	return X509_sign(cert, key, EVP_sha256()) > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	X509_free(cert);
	EVP_PKEY_free(key);
	return 0;
}

static SSL_CTX *ctx_with_cert(const SSL_METHOD *m)
{
	SSL_CTX *c = SSL_CTX_new(m);

	assert_non_null(c);
	SSL_CTX_set_security_level(c, 0);
	assert_int_equal(SSL_CTX_use_certificate(c, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(c, key), 1);
	X509_STORE_add_cert(SSL_CTX_get_cert_store(c), cert);
	return c;
}

/* TLS 1.0 P_hash */
static void p_hash(const EVP_MD *md, const unsigned char *sec, size_t seclen,
                   const unsigned char *seed, size_t seedlen, unsigned char *out, size_t outlen)
{
	unsigned char a[EVP_MAX_MD_SIZE], buf[EVP_MAX_MD_SIZE + 256], h[EVP_MAX_MD_SIZE];
	unsigned int alen, hlen;
	size_t done = 0;

	HMAC(md, sec, (int)seclen, seed, seedlen, a, &alen);
	while (done < outlen) {
		memcpy(buf, a, alen);
		memcpy(buf + alen, seed, seedlen);
		HMAC(md, sec, (int)seclen, buf, alen + seedlen, h, &hlen);
		for (unsigned int i = 0; i < hlen && done < outlen; i++)
			out[done++] = h[i];
		HMAC(md, sec, (int)seclen, a, alen, a, &alen);
	}
}

static void prf10(const unsigned char *sec, size_t seclen, const char *label,
                  const unsigned char *seed, size_t seedlen, unsigned char *out, size_t outlen)
{
	unsigned char s[256], m[128], x[128];
	size_t half = (seclen + 1) / 2, ll = strlen(label);

	memcpy(s, label, ll);
	memcpy(s + ll, seed, seedlen);
	p_hash(EVP_md5(), sec, half, s, ll + seedlen, m, outlen);
	p_hash(EVP_sha1(), sec + seclen - half, half, s, ll + seedlen, x, outlen);
	for (size_t i = 0; i < outlen; i++)
		out[i] = m[i] ^ x[i];
}

static void test_handshake_and_keys(void **state)
{
	SSL_CTX *cctx = ctx_with_cert(TLS_client_method());
	SSL_CTX *sctx = ctx_with_cert(TLS_server_method());
	SSL *s;
	BIO *sin = BIO_new(BIO_s_mem()), *sout = BIO_new(BIO_s_mem());
	struct tlsdsk *d;
	struct tlsdsk_keys k;
	struct bbuf flight;
	char err[200], desc[300];
	enum tlsdsk_ret r;
	unsigned char server_block[128], manual[128], master[48], seed[64];
	size_t mlen;
	int rounds = 0;

	(void)state;
	SSL_CTX_set_min_proto_version(sctx, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(sctx, TLS1_VERSION);
	SSL_CTX_set_cipher_list(sctx, "AES128-SHA:AES256-SHA:@SECLEVEL=0");
	SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	s = SSL_new(sctx);
	BIO_set_mem_eof_return(sin, -1);
	SSL_set_bio(s, sin, sout);
	SSL_set_accept_state(s);

	d = tlsdsk_new(cctx, err, sizeof err);
	assert_non_null(d);
	bbuf_init(&flight, 65536);
	r = tlsdsk_step(d, NULL, 0, &flight, err, sizeof err);
	assert_int_equal(r, TLSDSK_CONTINUE);
	assert_true(flight.len > 0);
	assert_int_equal(flight.data[0], 22); /* a handshake record: ClientHello */
	while (r == TLSDSK_CONTINUE && rounds++ < 5) {
		char buf[16384];
		int n;
		BIO_write(sin, flight.data, (int)flight.len);
		bbuf_reset(&flight);
		SSL_do_handshake(s);
		n = BIO_read(sout, buf, sizeof buf);
		assert_true(n > 0);
		r = tlsdsk_step(d, (unsigned char *)buf, (size_t)n, &flight, err, sizeof err);
		if (r == TLSDSK_FAILED)
			fail_msg("handshake: %s", err);
	}
	assert_int_equal(r, TLSDSK_DONE);
	assert_int_equal(rounds,
	                 2); /* ClientHello / server flight / client flight / CCS+Finished */
	assert_int_equal(SSL_is_init_finished(s), 1);
	assert_string_equal(SSL_get_version(s), "TLSv1");
	/* no extended master secret: the key derivation is over the plain master secret */
	assert_int_equal(SSL_get_extms_support(s), 0);
	tlsdsk_describe(d, desc, sizeof desc);
	assert_non_null(strstr(desc, "TLSv1 AES"));

	assert_int_equal(tlsdsk_keys(d, &k), 0);
	assert_int_equal(k.mac, TLSDSK_MAC_SHA1);
	assert_int_equal(SSL_export_keying_material(s, server_block, 128, "client EAP encryption",
	                                            21, NULL, 0, 0),
	                 1);
	assert_memory_equal(k.client_key, server_block + 64, 32);
	assert_memory_equal(k.server_key, server_block + 96, 32);
	/* the shortcut of lync-certprov.md §6.2: the exporter is the MS-SIPAE PRF */
	mlen = SSL_SESSION_get_master_key(SSL_get_session(s), master, sizeof master);
	assert_int_equal(mlen, 48);
	SSL_get_client_random(s, seed, 32);
	SSL_get_server_random(s, seed + 32, 32);
	prf10(master, mlen, "client EAP encryption", seed, 64, manual, 128);
	assert_memory_equal(manual, server_block, 128);

	bbuf_free(&flight);
	tlsdsk_free(d);
	SSL_free(s);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}

static void test_server_alert(void **state)
{
	SSL_CTX *cctx = ctx_with_cert(TLS_client_method());
	struct tlsdsk *d = tlsdsk_new(cctx, (char[200]){0}, 200);
	static const unsigned char alert[] = {21, 3, 1, 0, 2, 2, 40}; /* handshake_failure */
	struct bbuf out;
	char err[200];

	(void)state;
	assert_non_null(d);
	bbuf_init(&out, 65536);
	assert_int_equal(tlsdsk_step(d, NULL, 0, &out, err, sizeof err), TLSDSK_CONTINUE);
	bbuf_reset(&out);
	assert_int_equal(tlsdsk_step(d, alert, sizeof alert, &out, err, sizeof err), TLSDSK_FAILED);
	assert_int_equal(tlsdsk_alert_received(d), 40);
	assert_true(err[0] != '\0');
	bbuf_free(&out);
	tlsdsk_free(d);
	SSL_CTX_free(cctx);
}

static void test_no_certificate(void **state)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	char err[200];

	(void)state;
	assert_null(tlsdsk_new(c, err, sizeof err));
	assert_non_null(strstr(err, "certificate"));
	SSL_CTX_free(c);
}

static void test_mac_vectors(void **state)
{
	unsigned char k[32], block[128];
	struct tlsdsk_keys keys;
	char hex[41];

	(void)state;
	/* RFC 2202 test case 1 (HMAC-SHA-1) and 2 (HMAC-MD5) */
	memset(k, 0x0b, 20);
	assert_int_equal(tlsdsk_mac_hex(k, 20, TLSDSK_MAC_SHA1, "Hi There", 8, hex, sizeof hex), 0);
	assert_string_equal(hex, "b617318655057264e28bc0b6fb378c8ef146be00");
	assert_int_equal(tlsdsk_mac_hex((const unsigned char *)"Jefe", 4, TLSDSK_MAC_MD5,
	                                "what do ya want for nothing?", 28, hex, sizeof hex),
	                 0);
	assert_string_equal(hex, "750c783e6ab0b503eaa86e310a5db738");
	assert_int_equal(tlsdsk_mac_hex(k, 20, TLSDSK_MAC_SHA1, "x", 1, hex, 40), -1);
	for (int i = 0; i < 128; i++)
		block[i] = (unsigned char)i;
	tlsdsk_keys_from_block(block, TLSDSK_MAC_SHA1, &keys);
	assert_int_equal(keys.client_key[0], 64);
	assert_int_equal(keys.client_key[31], 95);
	assert_int_equal(keys.server_key[0], 96);
	assert_int_equal(keys.server_key[31], 127);
	assert_true(tlsdsk_hex_equal("ABCdef", "abcDEF"));
	assert_false(tlsdsk_hex_equal("abcdef", "abcdee"));
	assert_false(tlsdsk_hex_equal("abc", "abcd"));
	assert_false(tlsdsk_hex_equal("", ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handshake_and_keys),
	    cmocka_unit_test(test_server_alert),
	    cmocka_unit_test(test_no_certificate),
	    cmocka_unit_test(test_mac_vectors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
