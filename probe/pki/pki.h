/*
 * pki: OpenSSL set-up and small certificate helpers shared by the SCEP code.
 * pki_init loads the "default" provider into the process's default library context,
 * and "default" + "legacy" into a second context used only to decrypt single-DES SCEP
 * replies (micromdm scepserver, old NDES must stay readable: we report them rather
 * than fail on them), so that nothing else pays for the legacy provider's look-ups.
 */
#ifndef CERTPROBE_PKI_H
#define CERTPROBE_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* 0, or -1 when a provider could not be loaded (the legacy one is optional: a warning). */
int pki_init(void);
void pki_cleanup(void);
/* The library context holding the legacy provider (after pki_init); NULL without it. */
OSSL_LIB_CTX *pki_legacy_libctx(void);
/*
 * A digest ("SHA256") or cipher ("AES-128-CBC") by name, fetched once by pki_init for
 * the names SCEP uses (others are looked up); NULL when unknown. Valid until
 * pki_cleanup; thread-safe.
 */
const EVP_MD *pki_md(const char *name);
const EVP_CIPHER *pki_cipher(const char *name);

/* "CN=a,O=b" → X509_NAME (caller frees), NULL on syntax error. "\," escapes a comma. */
X509_NAME *pki_name_parse(const char *subject);
/* One-line RFC 2253 rendering into buf. */
void pki_name_string(const X509_NAME *name, char *buf, size_t len);

/* MD5 of data (for Prometheus's hashmod, never for security); 0 or -1. */
int pki_md5(const void *data, size_t len, unsigned char out[16]);

/* SHA-256 over the DER of cert. */
void pki_cert_sha256(X509 *cert, unsigned char out[32]);
/* "sha256:<hex>" */
void pki_cert_fingerprint_string(X509 *cert, char *buf, size_t len);

bool pki_cert_is_ca(X509 *cert);
bool pki_cert_is_self_signed(X509 *cert);
/* X509v3 keyUsage bits present (KU_* flags); missing extension → all allowed */
bool pki_cert_has_ku(X509 *cert, unsigned long ku);
/* "2026-11-22T10:00:00Z" ("?" when unreadable) */
void pki_time_string(const ASN1_TIME *t, char *buf, size_t len);
/* seconds until notAfter (negative when expired); notbefore_in: seconds until notBefore */
long pki_cert_seconds_left(X509 *cert, long *notbefore_in);

/* Load / save PEM. save writes key files 0600 via a temp file + rename. 0 or -1. */
EVP_PKEY *pki_key_load(const char *path);
int pki_key_save(const char *path, EVP_PKEY *key);
X509 *pki_cert_load(const char *path);
int pki_cert_save(const char *path, X509 *cert);
/*
 * Save key, then cert, then the certificates of chain (may be NULL) as one PEM file
 * (0600, temporary file, fsync, one rename): a reader sees the old pair or the new one,
 * never a certificate with another key. 0, or -1 (errno set) with path unchanged.
 */
int pki_identity_save(const char *path, EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain);
/*
 * The same PEM text in memory (*pem malloc'd, NUL-terminated, *len bytes), so that it can
 * be written off the loop (scep_store_write_file on a worker). It holds the private key:
 * the caller wipes it (explicit_bzero) before freeing. 0, or -1.
 */
int pki_identity_pem(EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain, char **pem, size_t *len);

/* The last OpenSSL error as text (and clear the queue); buf returned. */
const char *pki_last_error(char *buf, size_t len);

/* The OpenSSL version string ("3.0.17"), for build info. */
const char *pki_version(void);

/* len bytes from the CSPRNG into buf: 0, or -1 when it cannot deliver. */
int pki_random(unsigned char *buf, size_t len);

#endif
