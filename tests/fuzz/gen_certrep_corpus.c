/*
 * gen_certrep_corpus: writes seed CertReps for fuzz_certrep into a directory, signed
 * by the fixed test identity (certrep_identity.h) that fuzz_certrep.c trusts and
 * decrypts with. Not built
 * by CMake (not named fuzz_*); build and run by hand:
 *
 *   gcc -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -o /tmp/gen_certrep_corpus \
 *       tests/fuzz/gen_certrep_corpus.c $(pkg-config --cflags --libs openssl)
 *   /tmp/gen_certrep_corpus tests/fuzz/corpus/certrep
 *
 * Seeds: SUCCESS (AES-128, 3DES, single DES, SHA-1 signed), FAILURE with failInfo and
 * failInfoText, PENDING, an unsigned SignedData and a bare EnvelopedData.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certrep_identity.h"

#define OID_MESSAGE_TYPE "2.16.840.1.113733.1.9.2"
#define OID_PKI_STATUS "2.16.840.1.113733.1.9.3"
#define OID_FAIL_INFO "2.16.840.1.113733.1.9.4"
#define OID_SENDER_NONCE "2.16.840.1.113733.1.9.5"
#define OID_RECIPIENT_NONCE "2.16.840.1.113733.1.9.6"
#define OID_TRANSACTION_ID "2.16.840.1.113733.1.9.7"
#define OID_FAIL_INFO_TEXT "1.3.6.1.5.5.7.24.1"

static EVP_PKEY *fixed_key;
static X509 *fixed_cert;

static void die(const char *what)
{
	fprintf(stderr, "gen_certrep_corpus: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void write_file(const char *dir, const char *name, const unsigned char *p, size_t n)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die(path);
	printf("%s (%zu bytes)\n", path, n);
}

/* An issued certificate: a fresh P-256 key, signed by the fixed CA. */
static X509 *issued_cert(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	if (k == NULL || x == NULL || n == NULL)
		die("issued key");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_gmtime_adj(X509_getm_notBefore(x), -600);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"fuzz-probe", -1,
	                           -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, X509_get_subject_name(fixed_cert));
	X509_set_pubkey(x, k);
	if (X509_sign(x, fixed_key, EVP_sha256()) <= 0)
		die("sign issued");
	X509_NAME_free(n);
	EVP_PKEY_free(k);
	return x;
}

/* EnvelopedData (to the fixed cert) around a degenerate SignedData of certs. */
static unsigned char *envelope(X509 *issued, const EVP_CIPHER *cipher, int *len)
{
	PKCS7 *p7 = PKCS7_new();
	STACK_OF(X509) *rcpt = sk_X509_new_null();
	unsigned char *deg = NULL, *out = NULL;
	int dlen;
	BIO *in;
	CMS_ContentInfo *env;

	PKCS7_set_type(p7, NID_pkcs7_signed);
	PKCS7_content_new(p7, NID_pkcs7_data);
	PKCS7_add_certificate(p7, issued);
	PKCS7_add_certificate(p7, fixed_cert);
	dlen = i2d_PKCS7(p7, &deg);
	if (dlen <= 0)
		die("degenerate");
	in = BIO_new_mem_buf(deg, dlen);
	sk_X509_push(rcpt, fixed_cert);
	env = CMS_encrypt(rcpt, in, cipher, CMS_BINARY);
	if (env == NULL)
		die("encrypt");
	*len = i2d_CMS_ContentInfo(env, &out);
	if (*len <= 0)
		die("encode envelope");
	CMS_ContentInfo_free(env);
	BIO_free(in);
	sk_X509_free(rcpt);
	OPENSSL_free(deg);
	PKCS7_free(p7);
	return out;
}

static void add_attr(CMS_SignerInfo *si, const char *oid, int type, const void *data, int len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);

	/* explicit length: with -1 OpenSSL would read data as an ASN1_STRING * */
	if (len < 0)
		len = (int)strlen(data);
	if (obj == NULL || CMS_signed_add1_attr_by_OBJ(si, obj, type, data, len) != 1)
		die(oid);
	ASN1_OBJECT_free(obj);
}

/* A CertRep signed by the fixed identity. content may be NULL (FAILURE/PENDING). */
static void certrep(const char *dir, const char *name, const EVP_MD *md, const char *status,
                    const char *fail_info, const char *fail_text, const unsigned char *content,
                    int clen)
{
	static const char tid[] =
	    "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
	unsigned char sender[16], recipient[16], *out = NULL;
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
	CMS_SignerInfo *si;
	BIO *in;
	int n;

	if (cms == NULL)
		die("CMS_sign");
	si = CMS_add1_signer(cms, fixed_cert, fixed_key, md, CMS_BINARY | CMS_NOSMIMECAP);
	if (si == NULL)
		die("CMS_add1_signer");
	RAND_bytes(sender, sizeof sender);
	RAND_bytes(recipient, sizeof recipient);
	add_attr(si, OID_MESSAGE_TYPE, V_ASN1_PRINTABLESTRING, "3", -1);
	add_attr(si, OID_PKI_STATUS, V_ASN1_PRINTABLESTRING, status, -1);
	if (fail_info != NULL)
		add_attr(si, OID_FAIL_INFO, V_ASN1_PRINTABLESTRING, fail_info, -1);
	if (fail_text != NULL)
		add_attr(si, OID_FAIL_INFO_TEXT, V_ASN1_UTF8STRING, fail_text, -1);
	add_attr(si, OID_TRANSACTION_ID, V_ASN1_PRINTABLESTRING, tid, -1);
	add_attr(si, OID_SENDER_NONCE, V_ASN1_OCTET_STRING, sender, sizeof sender);
	add_attr(si, OID_RECIPIENT_NONCE, V_ASN1_OCTET_STRING, recipient, sizeof recipient);
	in = BIO_new_mem_buf(content != NULL ? (const void *)content : "", clen);
	if (CMS_final(cms, in, NULL, CMS_BINARY) != 1)
		die("CMS_final");
	n = i2d_CMS_ContentInfo(cms, &out);
	if (n <= 0)
		die("encode CertRep");
	write_file(dir, name, out, (size_t)n);
	OPENSSL_free(out);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
}

/* A SignedData over some content with no signerInfo at all. */
static void unsigned_message(const char *dir)
{
	PKCS7 *p7 = PKCS7_new();
	unsigned char *out = NULL;
	int n;

	PKCS7_set_type(p7, NID_pkcs7_signed);
	PKCS7_content_new(p7, NID_pkcs7_data);
	ASN1_OCTET_STRING_set(p7->d.sign->contents->d.data, (const unsigned char *)"x", 1);
	PKCS7_add_certificate(p7, fixed_cert);
	n = i2d_PKCS7(p7, &out);
	if (n <= 0)
		die("unsigned");
	write_file(dir, "unsigned.der", out, (size_t)n);
	OPENSSL_free(out);
	PKCS7_free(p7);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *file, *cipher, *md;
	} success[] = {
	    {"success_aes128_sha256.der", "AES-128-CBC", "SHA256"},
	    {"success_des3_sha256.der", "DES-EDE3-CBC", "SHA256"},
	    {"success_des_sha1.der", "DES-CBC", "SHA1"},
	};
	X509 *issued;
	unsigned char *env;
	int envlen;

	if (argc != 2) {
		fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
		return 2;
	}
	if (OSSL_PROVIDER_load(NULL, "default") == NULL ||
	    OSSL_PROVIDER_load(NULL, "legacy") == NULL)
		die("providers (single DES needs the legacy provider)");
	if (certrep_identity_load(&fixed_key, &fixed_cert) == -1)
		die("fixed identity");
	issued = issued_cert();

	for (size_t i = 0; i < sizeof success / sizeof success[0]; i++) {
		EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, success[i].cipher, NULL);
		EVP_MD *md = EVP_MD_fetch(NULL, success[i].md, NULL);
		if (c == NULL || md == NULL)
			die(success[i].cipher);
		env = envelope(issued, c, &envlen);
		certrep(argv[1], success[i].file, md, "0", NULL, NULL, env, envlen);
		if (i == 0)
			write_file(argv[1], "envelope_aes128.der", env, (size_t)envlen);
		OPENSSL_free(env);
		EVP_MD_free(md);
		EVP_CIPHER_free(c);
	}
	certrep(argv[1], "failure_badrequest.der", EVP_sha256(), "2", "2",
	        "The challenge password is not valid", NULL, 0);
	certrep(argv[1], "failure_badmessagecheck.der", EVP_sha256(), "2", "1", NULL, NULL, 0);
	certrep(argv[1], "pending.der", EVP_sha256(), "3", NULL, NULL, NULL, 0);
	unsigned_message(argv[1]);

	X509_free(issued);
	X509_free(fixed_cert);
	EVP_PKEY_free(fixed_key);
	return 0;
}
