/*
 * scep_msg: SCEP (RFC 8894) pkiMessages on OpenSSL's CMS API (EC-capable, unlike
 * PKCS7_*): CSR and self-signed signer, PKCSReq/RenewalReq/CertPoll construction,
 * CertRep parsing with strict checks, envelope decryption. Pure functions of their
 * inputs: no I/O, so they are unit-tested and fuzzed directly.
 */
#ifndef CERTPROBE_SCEP_MSG_H
#define CERTPROBE_SCEP_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "transactions/transaction_status.h"

enum scep_message_type {
	SCEP_MSG_CERTREP = 3,
	SCEP_MSG_RENEWALREQ = 17,
	SCEP_MSG_PKCSREQ = 19,
	SCEP_MSG_CERTPOLL = 20,
};

enum scep_pki_status {
	SCEP_PKI_SUCCESS = 0,
	SCEP_PKI_FAILURE = 2,
	SCEP_PKI_PENDING = 3,
};

#define SCEP_NONCE_LEN 16

/* PKCS#10 with a challengePassword attribute when challenge != NULL. malloced DER. */
int scep_csr_build(EVP_PKEY *key, const X509_NAME *subject, const char *challenge, const EVP_MD *md,
                   unsigned char **der, size_t *len);

/* The self-signed signer of a PKCSReq: same subject, KU digitalSignature+keyEncipherment,
 * notBefore 10 minutes back (badTime slack). */
X509 *scep_selfsigned_build(EVP_PKEY *key, const X509_NAME *subject, const EVP_MD *md);

/* transactionID: hex SHA-256 of the public key (as common clients do). out >= 65 bytes. */
void scep_transaction_id(EVP_PKEY *key, char *out, size_t outlen);

struct scep_request {
	enum scep_message_type type;
	EVP_PKEY *key; /* signs the message; decrypts the reply */
	X509 *signer;  /* self-signed (PKCSReq) or the current certificate (RenewalReq) */
	const unsigned char *csr_der; /* PKCSReq/RenewalReq */
	size_t csr_len;
	X509 *ca;                 /* CertPoll: issuer of IssuerAndSubject */
	const X509_NAME *subject; /* CertPoll: subject of IssuerAndSubject */
	X509 *recipient;          /* the one RA/CA encryption certificate */
	const EVP_CIPHER *cipher;
	const EVP_MD *md;
	const char *transaction_id;
};

/* Build a signed, enveloped pkiMessage; a fresh senderNonce is written to nonce.
 * 0, or -1 with a message in err. *der is malloced (OPENSSL_free). */
int scep_request_build(const struct scep_request *req, unsigned char nonce[SCEP_NONCE_LEN],
                       unsigned char **der, size_t *len, char *err, size_t errlen);

struct scep_certrep {
	int message_type; /* -1 when absent */
	bool has_transaction_id;
	char transaction_id[129];
	bool has_recipient_nonce;
	unsigned char recipient_nonce[64];
	size_t recipient_nonce_len;
	int pki_status; /* -1 when absent */
	bool has_fail_info;
	char fail_info[16];
	char fail_info_text[200];
	int digest_nid;          /* signerInfo digest */
	unsigned char *envelope; /* eContent (pkcsPKIEnvelope DER), malloced; NULL if none */
	size_t envelope_len;
};

/*
 * Parse and verify a CertRep: SignedData, at least one signer, signature valid with
 * one of signers (never with certificates the message carries itself). Fills rep
 * (clear it with scep_certrep_clear). Returns TXN_OK or the malformed/unsigned/
 * signature status with a detail. Attribute values are checked by the caller.
 */
enum txn_status scep_certrep_parse(const unsigned char *der, size_t len, STACK_OF(X509) *signers,
                                   struct scep_certrep *rep, char *detail, size_t dlen);
void scep_certrep_clear(struct scep_certrep *rep);

/*
 * Decrypt the envelope with key/cert and return the certificates of the degenerate
 * SignedData inside (*certs, caller frees with sk_X509_pop_free). *cipher_nid is the
 * content-encryption algorithm (NID_undef if it could not be read).
 */
enum txn_status scep_certrep_decrypt(const struct scep_certrep *rep, EVP_PKEY *key, X509 *cert,
                                     STACK_OF(X509) **certs, int *cipher_nid, char *detail,
                                     size_t dlen);

/* contentEncryptionAlgorithm of a DER EnvelopedData ContentInfo; NID_undef if unreadable. */
int scep_envelope_cipher_nid(const unsigned char *der, size_t len);

/* failInfo string → status (unknown codes → TXN_SCEP_FAILURE_OTHER) and its RFC name. */
enum txn_status scep_fail_info_status(const char *fail_info, const char **name);

#endif
