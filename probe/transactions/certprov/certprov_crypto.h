/*
 * certprov_crypto: the cryptography of a phone bootstrap, behind the OpenSSL door of
 * this folder: the WS-Trust proof key (P_SHA1), HMAC-SHA1 and SHA-1 for the
 * WS-Security signature, base64 (the CSR wrapped at 76 columns with CRLF, as CertProv
 * insists), the PKCS#10 request, the chain the service publishes, and the checks on the
 * certificate it issues. Pure functions over buffers; nothing here touches the network.
 */
#ifndef CERTPROBE_CERTPROV_CRYPTO_H
#define CERTPROBE_CERTPROV_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/bbuf.h"
#include "transactions/transaction_status.h"

struct evp_pkey_st;
struct x509_st;
struct stack_st_X509;

/*
 * P_SHA1(secret, seed) of RFC 2246 §5 (WS-Trust's PSHA1 computed key), out_len bytes
 * into out: the proof key is P_SHA1(client entropy, server entropy), 32 bytes.
 */
void certprov_psha1(const unsigned char *secret, size_t secret_len, const unsigned char *seed,
                    size_t seed_len, unsigned char *out, size_t out_len);
/* HMAC-SHA1 and SHA-1 (20 bytes into out). */
void certprov_hmac_sha1(const unsigned char *key, size_t key_len, const void *data, size_t len,
                        unsigned char out[20]);
void certprov_sha1(const void *data, size_t len, unsigned char out[20]);

/*
 * base64 of p[0..n) appended to out: one line when wrap is 0, else lines of wrap
 * characters separated by CRLF (no CRLF after the last). 0, or -1 at out's cap.
 */
int certprov_base64(const unsigned char *p, size_t n, size_t wrap, struct bbuf *out);
/* Decode base64 that may contain XML white space (CR, LF, tab, space): 0 or -1. */
int certprov_base64_decode(const char *in, size_t n, struct bbuf *out);

/* "{8-4-4-4-12}" upper-case hex from the first 16 bytes of SHA-1(seed): a stable DeviceId. */
void certprov_device_id(const char *seed, char *buf, size_t len);
/* A random "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" (RFC 4122 version 4): 0 or -1. */
int certprov_uuid(char *buf, size_t len);

/*
 * A PKCS#10 request for key with subject CN=entity, signed with SHA-256, as base64 DER
 * wrapped at 76 columns with CRLF, appended to out. 0 or -1.
 */
int certprov_csr_base64(struct evp_pkey_st *key, const char *entity, struct bbuf *out);

/*
 * Certificates found in what the anonymous root-chain download or the PKCS#7 token of a
 * GetAndPublishCert answer carried: PKCS#7 (DER or PEM), PEM certificates, or one DER
 * certificate. A new stack (caller frees with certprov_chain_free), NULL when none.
 */
struct stack_st_X509 *certprov_chain_parse(const unsigned char *p, size_t n);
void certprov_chain_free(struct stack_st_X509 *chain); /* NULL-safe */
int certprov_chain_count(const struct stack_st_X509 *chain);
/* Append the chain as PEM to out: 0 or -1. */
int certprov_chain_pem(const struct stack_st_X509 *chain, struct bbuf *out);
/* "CN=a (issuer CN=b); CN=b (issuer CN=c)" for the report. */
void certprov_chain_describe(const struct stack_st_X509 *chain, char *buf, size_t len);

/*
 * Name the missing link for a server chain: sent is what the server sent (leaf first),
 * trust_pem the device trust store plus the downloaded chain. Writes e.g. "the server
 * sent 1 certificate (CN=web, issued by CN=Pool Intermediate); CN=Pool Intermediate is
 * in neither the device trust store nor the downloaded chain" and returns
 * TXN_CERTPROV_WEBSVC_CHAIN_INCOMPLETE when an intermediate is missing,
 * TXN_CERTPROV_WEBSVC_UNTRUSTED when the path ends at a root the device does not trust,
 * or the TLS status (expiry, ...) when the chain itself is fine.
 */
enum txn_status certprov_chain_diagnose(const struct stack_st_X509 *sent, const char *trust_pem,
                                        size_t trust_len, char *buf, size_t len);

struct certprov_issued {
	struct x509_st *cert;        /* owned; NULL until parsed */
	struct stack_st_X509 *chain; /* owned: intermediates to store with it; may be NULL */
	long seconds_left;
};

/*
 * Check the certificate CertProv returned: DER in der[0..n), for key, naming entity (CN
 * or a SAN, with or without "sip:"), valid for at least min_seconds, chaining to a root
 * of published (the PKCS#7 chain; may be NULL) or of ca_pem (the configured issuer CA
 * bundle; may be NULL). TXN_OK, or TXN_CERTPROV_CERT_INVALID with why in detail. On
 * TXN_OK out holds the certificate and the intermediates (certprov_issued_clear frees).
 * chain_checked says whether a chain could be checked at all.
 */
enum txn_status certprov_issued_check(const unsigned char *der, size_t n, struct evp_pkey_st *key,
                                      const char *entity, long min_seconds,
                                      const struct stack_st_X509 *published, const char *ca_pem,
                                      size_t ca_len, struct certprov_issued *out,
                                      bool *chain_checked, char *detail, size_t dlen);
void certprov_issued_clear(struct certprov_issued *i);

#endif
