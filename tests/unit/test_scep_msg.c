/*
 * test_scep_msg: SCEP messages and CA handling on real OpenSSL objects (pki, scep_msg,
 * scep_ca). Keys and certificates are made here: an RSA-2048 CA, RSA and EC P-256
 * clients, RA certificates. CertReps are built here the way a SCEP server builds them
 * (CMS SignedData over an EnvelopedData holding a degenerate SignedData).
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
#include <strings.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"
#include "pki/scep_ca.h"
#include "pki/scep_msg.h"

#define OID_MESSAGE_TYPE "2.16.840.1.113733.1.9.2"
#define OID_PKI_STATUS "2.16.840.1.113733.1.9.3"
#define OID_FAIL_INFO "2.16.840.1.113733.1.9.4"
#define OID_SENDER_NONCE "2.16.840.1.113733.1.9.5"
#define OID_RECIPIENT_NONCE "2.16.840.1.113733.1.9.6"
#define OID_TRANSACTION_ID "2.16.840.1.113733.1.9.7"
#define OID_FAIL_INFO_TEXT "1.3.6.1.5.5.7.24.1"

#define DAY 86400L

/* Made once for the whole group (RSA keygen is slow under ASan). */
static struct {
	EVP_PKEY *ca_key;     /* RSA-2048 */
	X509 *ca;             /* self-signed, CA:TRUE */
	EVP_PKEY *client_rsa; /* RSA-2048 */
	EVP_PKEY *client_ec;  /* P-256 */
	EVP_PKEY *other_key;  /* P-256: impostors, foreign CAs */
	EVP_PKEY *ra_key;     /* P-256: RA certificates */
	X509 *other_ca;       /* a CA that is not ours */
} fx;

/* ---- helpers: keys, certificates, CMS structures ---------------------------------- */

static EVP_PKEY *gen_rsa(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);

	assert_non_null(k);
	return k;
}

static EVP_PKEY *gen_ec(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	return k;
}

static void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext;

	if (value == NULL)
		return;
	ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for pub named subject, signed by signer_key as issuer (NULL: self-
 * signed), valid from now+nb to now+na seconds, with optional basicConstraints and
 * keyUsage extension values.
 */
static X509 *mk_cert(const char *subject, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *signer_key,
                     long nb, long na, const char *bc, const char *ku)
{
	static long serial = 1000;
	X509 *x = X509_new();
	X509_NAME *name = pki_name_parse(subject);
	X509V3_CTX ctx;

	assert_non_null(x);
	assert_non_null(name);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), nb));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), na));
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(
	    X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name), 1);
	assert_int_equal(X509_set_pubkey(x, pub), 1);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	add_ext(x, &ctx, NID_basic_constraints, bc);
	add_ext(x, &ctx, NID_key_usage, ku);
	assert_true(X509_sign(x, signer_key, EVP_sha256()) > 0);
	X509_NAME_free(name);
	return x;
}

/* A CA certificate signed by our CA, for an EE key (RA or issued cert). */
static X509 *mk_ee(const char *subject, EVP_PKEY *pub, const char *ku)
{
	return mk_cert(subject, pub, fx.ca, fx.ca_key, -DAY, 365 * DAY, "critical,CA:FALSE", ku);
}

static unsigned char *to_der_x509(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	assert_true(n > 0);
	*len = (size_t)n;
	return der;
}

/* A degenerate (certificates-only) PKCS#7 SignedData, as GetCACert and CertRep carry. */
static unsigned char *degenerate_der(X509 *const *certs, int n, size_t *len)
{
	PKCS7 *p7 = PKCS7_new();
	unsigned char *der = NULL;
	int dl;

	assert_non_null(p7);
	assert_int_equal(PKCS7_set_type(p7, NID_pkcs7_signed), 1);
	assert_int_equal(PKCS7_content_new(p7, NID_pkcs7_data), 1);
	for (int i = 0; i < n; i++)
		assert_int_equal(PKCS7_add_certificate(p7, certs[i]), 1);
	dl = i2d_PKCS7(p7, &der);
	assert_true(dl > 0);
	PKCS7_free(p7);
	*len = (size_t)dl;
	return der;
}

/* EnvelopedData of content to rcpt with cipher. DER (OPENSSL_free). */
static unsigned char *envelope_der(const unsigned char *content, size_t clen, X509 *rcpt,
                                   const EVP_CIPHER *cipher, size_t *len)
{
	STACK_OF(X509) *r = sk_X509_new_null();
	BIO *in = BIO_new_mem_buf(content, (int)clen);
	CMS_ContentInfo *env;
	unsigned char *der = NULL;
	int n;

	sk_X509_push(r, rcpt);
	env = CMS_encrypt(r, in, cipher, CMS_BINARY);
	assert_non_null(env);
	n = i2d_CMS_ContentInfo(env, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	CMS_ContentInfo_free(env);
	BIO_free(in);
	sk_X509_free(r);
	return der;
}

/* The pkcsPKIEnvelope of a SUCCESS CertRep: the issued certificates, encrypted to rcpt. */
static unsigned char *success_envelope(X509 *const *issued, int n, X509 *rcpt,
                                       const EVP_CIPHER *cipher, size_t *len)
{
	size_t dlen;
	unsigned char *deg = degenerate_der(issued, n, &dlen);
	unsigned char *env = envelope_der(deg, dlen, rcpt, cipher, len);

	OPENSSL_free(deg);
	return env;
}

struct certrep_spec {
	X509 *signer;
	EVP_PKEY *key;
	const EVP_MD *md;
	bool nocerts; /* leave the signer certificate out of the message */
	const char *message_type, *pki_status, *fail_info, *fail_info_text, *transaction_id;
	const unsigned char *sender_nonce, *recipient_nonce;
	size_t recipient_nonce_len;
	const unsigned char *content; /* the envelope; NULL for FAILURE/PENDING */
	size_t content_len;
};

static void add_attr(CMS_SignerInfo *si, const char *oid, int type, const void *data, int len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);

	assert_non_null(obj);
	/* an explicit length: with -1 OpenSSL reads data as an ASN1_STRING *, not bytes */
	if (len < 0)
		len = (int)strlen(data);
	assert_int_equal(CMS_signed_add1_attr_by_OBJ(si, obj, type, data, len), 1);
	ASN1_OBJECT_free(obj);
}

/* A CertRep the way a SCEP server signs one. DER (OPENSSL_free). */
static unsigned char *certrep_build(const struct certrep_spec *s, size_t *len)
{
	unsigned int flags = CMS_BINARY | CMS_NOSMIMECAP | (s->nocerts ? CMS_NOCERTS : 0);
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
	CMS_SignerInfo *si;
	BIO *in;
	unsigned char *der = NULL;
	int n;

	assert_non_null(cms);
	si = CMS_add1_signer(cms, s->signer, s->key, s->md, flags);
	assert_non_null(si);
	if (s->message_type != NULL)
		add_attr(si, OID_MESSAGE_TYPE, V_ASN1_PRINTABLESTRING, s->message_type, -1);
	if (s->pki_status != NULL)
		add_attr(si, OID_PKI_STATUS, V_ASN1_PRINTABLESTRING, s->pki_status, -1);
	if (s->fail_info != NULL)
		add_attr(si, OID_FAIL_INFO, V_ASN1_PRINTABLESTRING, s->fail_info, -1);
	if (s->fail_info_text != NULL)
		add_attr(si, OID_FAIL_INFO_TEXT, V_ASN1_UTF8STRING, s->fail_info_text, -1);
	if (s->transaction_id != NULL)
		add_attr(si, OID_TRANSACTION_ID, V_ASN1_PRINTABLESTRING, s->transaction_id, -1);
	if (s->sender_nonce != NULL)
		add_attr(si, OID_SENDER_NONCE, V_ASN1_OCTET_STRING, s->sender_nonce,
		         SCEP_NONCE_LEN);
	if (s->recipient_nonce != NULL)
		add_attr(si, OID_RECIPIENT_NONCE, V_ASN1_OCTET_STRING, s->recipient_nonce,
		         (int)s->recipient_nonce_len);
	in = BIO_new_mem_buf(s->content != NULL ? (const void *)s->content : "",
	                     (int)s->content_len);
	assert_int_equal(CMS_final(cms, in, NULL, CMS_BINARY), 1);
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	return der;
}

static const unsigned char test_sender_nonce[SCEP_NONCE_LEN] = "server-nonce-16";
static const unsigned char test_recipient_nonce[SCEP_NONCE_LEN] = "client-nonce-16";
static const char test_tid[] = "5F3C2A9B0E7D4C1A8B6E2F0D9C3A7B1E4D8C2F6A0B9E3D7C1F5A8B2E6D0C4A9B";

/* A SUCCESS spec signed by our CA; caller sets content. */
static struct certrep_spec success_spec(void)
{
	struct certrep_spec s = {
	    .signer = fx.ca,
	    .key = fx.ca_key,
	    .md = EVP_sha256(),
	    .message_type = "3",
	    .pki_status = "0",
	    .transaction_id = test_tid,
	    .sender_nonce = test_sender_nonce,
	    .recipient_nonce = test_recipient_nonce,
	    .recipient_nonce_len = SCEP_NONCE_LEN,
	};
	return s;
}

static STACK_OF(X509) *stack_of(X509 *a, X509 *b)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	if (a != NULL)
		sk_X509_push(sk, a);
	if (b != NULL)
		sk_X509_push(sk, b);
	return sk;
}

static unsigned char *find_bytes(unsigned char *hay, size_t n, const unsigned char *needle,
                                 size_t m)
{
	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

static bool contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* ---- fixtures ------------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	if (pki_init() != 0)
		return -1;
	fx.ca_key = gen_rsa();
	fx.ca = mk_cert("CN=Test SCEP CA,O=Certprobe Test,C=DE", fx.ca_key, NULL, fx.ca_key, -DAY,
	                3650 * DAY, "critical,CA:TRUE", "critical,keyCertSign,cRLSign");
	fx.client_rsa = gen_rsa();
	fx.client_ec = gen_ec();
	fx.other_key = gen_ec();
	fx.ra_key = gen_ec();
	fx.other_ca = mk_cert("CN=Impostor CA,O=Elsewhere", fx.other_key, NULL, fx.other_key, -DAY,
	                      3650 * DAY, "critical,CA:TRUE", "critical,keyCertSign,cRLSign");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	X509_free(fx.other_ca);
	EVP_PKEY_free(fx.ra_key);
	EVP_PKEY_free(fx.other_key);
	EVP_PKEY_free(fx.client_ec);
	EVP_PKEY_free(fx.client_rsa);
	X509_free(fx.ca);
	EVP_PKEY_free(fx.ca_key);
	pki_cleanup();
	return 0;
}

/* ---- pki_name_parse ----------------------------------------------------------------- */

static const char *entry_value(const X509_NAME *n, int i, char *buf, size_t len)
{
	const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));

	snprintf(buf, len, "%.*s", ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
	return buf;
}

static void test_name_parse_good(void **state)
{
	X509_NAME *n;
	char buf[256];

	(void)state;
	n = pki_name_parse("CN=probe");
	assert_non_null(n);
	assert_int_equal(X509_NAME_entry_count(n), 1);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, 0))),
	                 NID_commonName);
	assert_string_equal(entry_value(n, 0, buf, sizeof buf), "probe");
	X509_NAME_free(n);

	n = pki_name_parse("CN=scep-probe.example.net,OU=Monitoring,O=Example Org,C=DE");
	assert_non_null(n);
	assert_int_equal(X509_NAME_entry_count(n), 4);
	assert_string_equal(entry_value(n, 0, buf, sizeof buf), "scep-probe.example.net");
	assert_string_equal(entry_value(n, 2, buf, sizeof buf), "Example Org");
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, 3))),
	                 NID_countryName);
	pki_name_string(n, buf, sizeof buf);
	assert_string_equal(buf, "C=DE,O=Example Org,OU=Monitoring,CN=scep-probe.example.net");
	X509_NAME_free(n);

	/* spaces after commas are skipped; "\," escapes a comma */
	n = pki_name_parse("CN=Doe\\, John, O=Example");
	assert_non_null(n);
	assert_int_equal(X509_NAME_entry_count(n), 2);
	assert_string_equal(entry_value(n, 0, buf, sizeof buf), "Doe, John");
	assert_string_equal(entry_value(n, 1, buf, sizeof buf), "Example");
	X509_NAME_free(n);

	/* long names, UTF-8 values, OIDs as attribute types */
	n = pki_name_parse("CN=M\xc3\xbcller,2.5.4.5=0042,emailAddress=ops@example.net");
	assert_non_null(n);
	assert_int_equal(X509_NAME_entry_count(n), 3);
	assert_string_equal(entry_value(n, 0, buf, sizeof buf), "M\xc3\xbcller");
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, 1))),
	                 NID_serialNumber);
	X509_NAME_free(n);
}

static void test_name_parse_bad(void **state)
{
	static const char *const bad[] = {
	    "",            /* nothing */
	    "CN",          /* no '=' */
	    "=probe",      /* no attribute type */
	    "CN=",         /* no value */
	    "CN=a,,O=b",   /* empty component */
	    "CN=a,O",      /* second component without '=' */
	    "XYZZY=probe", /* unknown attribute type */
	    "C=Germany",   /* countryName must be two letters */
	    " CN=probe",   /* leading space is part of the type */
	};
	char longname[700];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		X509_NAME *n = pki_name_parse(bad[i]);
		if (n != NULL) {
			X509_NAME_free(n);
			fail_msg("pki_name_parse accepted '%s'", bad[i]);
		}
	}
	/* a component longer than the parser's buffer is refused, not truncated */
	memcpy(longname, "CN=", 3);
	memset(longname + 3, 'a', sizeof longname - 4);
	longname[sizeof longname - 1] = '\0';
	assert_null(pki_name_parse(longname));
	assert_int_equal(ERR_peek_error(), 0); /* errors do not linger in the queue */
}

/* ---- CSR, self-signed signer, transactionID --------------------------------------- */

static void check_csr(EVP_PKEY *key, const char *challenge)
{
	X509_NAME *subject = pki_name_parse("CN=probe.example.net,O=Example");
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	X509_REQ *req;
	int idx;

	assert_non_null(subject);
	assert_int_equal(scep_csr_build(key, subject, challenge, EVP_sha256(), &der, &len), 0);
	assert_non_null(der);
	assert_true(len > 0);
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(req);
	assert_int_equal((size_t)(p - der), len);
	assert_int_equal(X509_REQ_verify(req, key), 1);
	assert_int_equal(X509_NAME_cmp(X509_REQ_get_subject_name(req), subject), 0);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key), 1);
	assert_int_equal(X509_REQ_get_signature_nid(req), EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA
	                                                      ? NID_sha256WithRSAEncryption
	                                                      : NID_ecdsa_with_SHA256);
	idx = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1);
	if (challenge == NULL) {
		assert_true(idx < 0);
	} else {
		X509_ATTRIBUTE *attr;
		ASN1_TYPE *t;
		assert_true(idx >= 0);
		attr = X509_REQ_get_attr(req, idx);
		assert_non_null(attr);
		assert_int_equal(X509_ATTRIBUTE_count(attr), 1);
		t = X509_ATTRIBUTE_get0_type(attr, 0);
		assert_non_null(t);
		assert_int_equal(ASN1_STRING_length(t->value.asn1_string), (int)strlen(challenge));
		assert_memory_equal(ASN1_STRING_get0_data(t->value.asn1_string), challenge,
		                    strlen(challenge));
	}
	X509_REQ_free(req);
	OPENSSL_free(der);
	X509_NAME_free(subject);
}

static void test_csr_build(void **state)
{
	(void)state;
	check_csr(fx.client_ec, "0123456789ABCDEF");
	check_csr(fx.client_rsa, "0123456789ABCDEF");
	check_csr(fx.client_ec, NULL);
	check_csr(fx.client_rsa, "p\xc3\xa4ss word!"); /* UTF-8 challenge */
}

static void check_selfsigned(EVP_PKEY *key, unsigned long want_ku)
{
	X509_NAME *subject = pki_name_parse("CN=probe,O=Example");
	X509 *x = scep_selfsigned_build(key, subject, EVP_sha256());
	long nb, left;

	assert_non_null(x);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), subject), 0);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), subject), 0);
	assert_true(pki_cert_is_self_signed(x));
	assert_false(pki_cert_is_ca(x));
	assert_int_equal(X509_verify(x, key), 1);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
	assert_true(X509_get_extension_flags(x) & EXFLAG_KUSAGE);
	assert_true(pki_cert_has_ku(x, want_ku));
	assert_false(pki_cert_has_ku(x, KU_KEY_CERT_SIGN));
	assert_int_equal(X509_get_version(x), 2);
	/* notBefore 10 minutes back for CAs with skewed clocks, valid for about a week */
	left = pki_cert_seconds_left(x, &nb);
	assert_true(nb <= -590 && nb >= -620);
	assert_true(left > 7 * DAY - 60 && left <= 7 * DAY);
	/* a positive, non-zero serial */
	{
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		assert_false(BN_is_negative(bn));
		assert_false(BN_is_zero(bn));
		BN_free(bn);
	}
	X509_free(x);
	X509_NAME_free(subject);
}

static void test_selfsigned_build(void **state)
{
	(void)state;
	check_selfsigned(fx.client_rsa, KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	check_selfsigned(fx.client_ec, KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT);
}

static void test_transaction_id(void **state)
{
	char a[65], b[65], c[65], want[65];
	unsigned char *spki = NULL, md[32];
	int n;

	(void)state;
	scep_transaction_id(fx.client_ec, a, sizeof a);
	scep_transaction_id(fx.client_ec, b, sizeof b);
	scep_transaction_id(fx.client_rsa, c, sizeof c);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strlen(c), 64);
	for (size_t i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789ABCDEFabcdef", a[i]));
	assert_string_equal(a, b); /* stable for a key */
	assert_string_not_equal(a, c);
	/* SHA-256 over the SubjectPublicKeyInfo */
	n = i2d_PUBKEY(fx.client_ec, &spki);
	assert_true(n > 0);
	SHA256(spki, (size_t)n, md);
	OPENSSL_free(spki);
	for (int i = 0; i < 32; i++)
		snprintf(want + 2 * i, 3, "%02X", md[i]);
	assert_true(strcasecmp(a, want) == 0);
	/* never past a short buffer */
	memset(b, 'z', sizeof b);
	scep_transaction_id(fx.client_ec, b, 10);
	assert_true(strlen(b) < 10);
	assert_memory_equal(b, a, strlen(b));
}

/* ---- request build ---------------------------------------------------------------- */

static const ASN1_STRING *signed_attr(CMS_SignerInfo *si, const char *oid, int type)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	const ASN1_STRING *s = CMS_signed_get0_data_by_OBJ(si, obj, -3, type);

	ASN1_OBJECT_free(obj);
	return s;
}

/*
 * Take a request apart as the CA would: verify its signature, read its attributes,
 * decrypt the envelope with the CA key. Returns the decrypted content (malloced).
 */
static unsigned char *open_request(const unsigned char *der, size_t len, X509 *signer,
                                   const char *want_type, const char *tid,
                                   const unsigned char nonce[SCEP_NONCE_LEN], int want_cipher,
                                   int want_md, size_t *clen)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len), *env;
	STACK_OF(CMS_SignerInfo) *sis;
	STACK_OF(X509) *certs;
	CMS_SignerInfo *si;
	X509_ALGOR *dig;
	BIO *content = BIO_new(BIO_s_mem()), *plain = BIO_new(BIO_s_mem());
	const ASN1_STRING *s;
	char *data;
	long n;
	unsigned char *out;

	assert_non_null(cms);
	assert_int_equal((size_t)(p - der), len);
	assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_signed);
	sis = CMS_get0_SignerInfos(cms);
	assert_int_equal(sk_CMS_SignerInfo_num(sis), 1);
	si = sk_CMS_SignerInfo_value(sis, 0);
	assert_int_equal(CMS_SignerInfo_cert_cmp(si, signer), 0);
	/* the signer's certificate travels with the request (the CA has no other copy) */
	certs = CMS_get1_certs(cms);
	assert_non_null(certs);
	assert_int_equal(sk_X509_num(certs), 1);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), signer), 0);
	sk_X509_pop_free(certs, X509_free);
	assert_int_equal(
	    CMS_verify(cms, NULL, NULL, NULL, content, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY), 1);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	assert_int_equal(OBJ_obj2nid(dig->algorithm), want_md);

	s = signed_attr(si, OID_MESSAGE_TYPE, V_ASN1_PRINTABLESTRING);
	assert_non_null(s);
	assert_int_equal(ASN1_STRING_length(s), (int)strlen(want_type));
	assert_memory_equal(ASN1_STRING_get0_data(s), want_type, strlen(want_type));
	s = signed_attr(si, OID_TRANSACTION_ID, V_ASN1_PRINTABLESTRING);
	assert_non_null(s);
	assert_int_equal(ASN1_STRING_length(s), (int)strlen(tid));
	assert_memory_equal(ASN1_STRING_get0_data(s), tid, strlen(tid));
	s = signed_attr(si, OID_SENDER_NONCE, V_ASN1_OCTET_STRING);
	assert_non_null(s);
	assert_int_equal(ASN1_STRING_length(s), SCEP_NONCE_LEN);
	assert_memory_equal(ASN1_STRING_get0_data(s), nonce, SCEP_NONCE_LEN);
	/* a request carries neither a pkiStatus nor a recipientNonce */
	assert_null(signed_attr(si, OID_PKI_STATUS, V_ASN1_PRINTABLESTRING));
	assert_null(signed_attr(si, OID_RECIPIENT_NONCE, V_ASN1_OCTET_STRING));

	/* the signed content is the pkcsPKIEnvelope, to exactly one recipient */
	n = BIO_get_mem_data(content, &data);
	assert_true(n > 0);
	assert_int_equal(scep_envelope_cipher_nid((const unsigned char *)data, (size_t)n),
	                 want_cipher);
	p = (const unsigned char *)data;
	env = d2i_CMS_ContentInfo(NULL, &p, n);
	assert_non_null(env);
	assert_int_equal(OBJ_obj2nid(CMS_get0_type(env)), NID_pkcs7_enveloped);
	assert_int_equal(sk_CMS_RecipientInfo_num(CMS_get0_RecipientInfos(env)), 1);
	assert_int_equal(CMS_decrypt(env, fx.ca_key, fx.ca, NULL, plain, CMS_BINARY), 1);
	n = BIO_get_mem_data(plain, &data);
	assert_true(n > 0);
	out = malloc((size_t)n);
	assert_non_null(out);
	memcpy(out, data, (size_t)n);
	*clen = (size_t)n;
	CMS_ContentInfo_free(env);
	BIO_free(plain);
	BIO_free(content);
	CMS_ContentInfo_free(cms);
	return out;
}

static void check_pkcsreq(EVP_PKEY *key, const char *cipher, int cipher_nid)
{
	X509_NAME *subject = pki_name_parse("CN=probe.example.net,O=Example");
	X509 *signer = scep_selfsigned_build(key, subject, EVP_sha256());
	unsigned char *csr = NULL, *der = NULL, *plain;
	unsigned char nonce[SCEP_NONCE_LEN], zero[SCEP_NONCE_LEN] = {0};
	size_t csr_len = 0, len = 0, plen;
	char tid[65], err[256] = "";
	EVP_CIPHER *c = EVP_CIPHER_fetch(pki_legacy_libctx(), cipher, NULL);
	struct scep_request req = {0};

	assert_non_null(c);
	assert_non_null(signer);
	assert_int_equal(
	    scep_csr_build(key, subject, "0123456789ABCDEF", EVP_sha256(), &csr, &csr_len), 0);
	scep_transaction_id(key, tid, sizeof tid);
	req.type = SCEP_MSG_PKCSREQ;
	req.key = key;
	req.signer = signer;
	req.csr_der = csr;
	req.csr_len = csr_len;
	req.recipient = fx.ca;
	req.cipher = c;
	req.md = EVP_sha256();
	req.transaction_id = tid;
	memset(nonce, 0, sizeof nonce);
	assert_int_equal(scep_request_build(&req, nonce, &der, &len, err, sizeof err), 0);
	assert_string_equal(err, "");
	assert_memory_not_equal(nonce, zero, SCEP_NONCE_LEN); /* a fresh nonce was written */
	plain = open_request(der, len, signer, "19", tid, nonce, cipher_nid, NID_sha256, &plen);
	/* the CA gets our CSR back, byte for byte */
	assert_int_equal(plen, csr_len);
	assert_memory_equal(plain, csr, csr_len);
	free(plain);

	/* a second request has a different nonce */
	{
		unsigned char nonce2[SCEP_NONCE_LEN], *der2 = NULL;
		size_t len2 = 0;
		assert_int_equal(scep_request_build(&req, nonce2, &der2, &len2, err, sizeof err),
		                 0);
		assert_memory_not_equal(nonce, nonce2, SCEP_NONCE_LEN);
		OPENSSL_free(der2);
	}
	OPENSSL_free(der);
	OPENSSL_free(csr);
	EVP_CIPHER_free(c);
	X509_free(signer);
	X509_NAME_free(subject);
}

static void test_request_build_pkcsreq(void **state)
{
	(void)state;
	check_pkcsreq(fx.client_ec, "AES-128-CBC", NID_aes_128_cbc); /* EC signs */
	check_pkcsreq(fx.client_rsa, "AES-128-CBC", NID_aes_128_cbc);
	check_pkcsreq(fx.client_rsa, "DES-EDE3-CBC", NID_des_ede3_cbc);
}

static void test_request_build_certpoll(void **state)
{
	X509_NAME *subject = pki_name_parse("CN=probe.example.net,O=Example");
	X509 *signer = scep_selfsigned_build(fx.client_ec, subject, EVP_sha1());
	unsigned char nonce[SCEP_NONCE_LEN], *der = NULL, *plain;
	const unsigned char *p;
	size_t len = 0, plen;
	char tid[65], err[256] = "";
	struct scep_request req = {0};
	X509_NAME *issuer = NULL, *subj = NULL;
	long olen;
	int tag, cls, r;

	(void)state;
	scep_transaction_id(fx.client_ec, tid, sizeof tid);
	req.type = SCEP_MSG_CERTPOLL;
	req.key = fx.client_ec;
	req.signer = signer;
	req.ca = fx.ca;
	req.subject = subject;
	req.recipient = fx.ca;
	req.cipher = EVP_aes_128_cbc();
	req.md = EVP_sha1();
	req.transaction_id = tid;
	assert_int_equal(scep_request_build(&req, nonce, &der, &len, err, sizeof err), 0);
	plain = open_request(der, len, signer, "20", tid, nonce, NID_aes_128_cbc, NID_sha1, &plen);
	/* IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name } */
	p = plain;
	r = ASN1_get_object(&p, &olen, &tag, &cls, (long)plen);
	assert_false(r & 0x80);
	assert_int_equal(tag, V_ASN1_SEQUENCE);
	assert_int_equal((size_t)(p - plain) + (size_t)olen, plen);
	assert_non_null(d2i_X509_NAME(&issuer, &p, (long)(plen - (size_t)(p - plain))));
	assert_non_null(d2i_X509_NAME(&subj, &p, (long)(plen - (size_t)(p - plain))));
	assert_int_equal((size_t)(p - plain), plen);
	assert_int_equal(X509_NAME_cmp(issuer, X509_get_subject_name(fx.ca)), 0);
	assert_int_equal(X509_NAME_cmp(subj, subject), 0);
	X509_NAME_free(issuer);
	X509_NAME_free(subj);
	free(plain);
	OPENSSL_free(der);
	X509_free(signer);
	X509_NAME_free(subject);
}

static void test_request_build_renewal(void **state)
{
	X509_NAME *subject = pki_name_parse("CN=probe.example.net");
	X509 *current = mk_ee("CN=probe.example.net", fx.client_rsa,
	                      "critical,digitalSignature,keyEncipherment");
	unsigned char nonce[SCEP_NONCE_LEN], *der = NULL, *csr = NULL, *plain;
	size_t len = 0, csr_len = 0, plen;
	char tid[65], err[256] = "";
	struct scep_request req = {0};

	(void)state;
	assert_int_equal(scep_csr_build(fx.client_rsa, subject, NULL, EVP_sha256(), &csr, &csr_len),
	                 0);
	scep_transaction_id(fx.client_rsa, tid, sizeof tid);
	req.type = SCEP_MSG_RENEWALREQ;
	req.key = fx.client_rsa;
	req.signer = current; /* renewal is signed with the current certificate */
	req.csr_der = csr;
	req.csr_len = csr_len;
	req.recipient = fx.ca;
	req.cipher = EVP_aes_128_cbc();
	req.md = EVP_sha256();
	req.transaction_id = tid;
	assert_int_equal(scep_request_build(&req, nonce, &der, &len, err, sizeof err), 0);
	plain =
	    open_request(der, len, current, "17", tid, nonce, NID_aes_128_cbc, NID_sha256, &plen);
	assert_int_equal(plen, csr_len);
	assert_memory_equal(plain, csr, csr_len);
	free(plain);
	OPENSSL_free(der);
	OPENSSL_free(csr);
	X509_free(current);
	X509_NAME_free(subject);
}

static void test_request_build_errors(void **state)
{
	X509_NAME *subject = pki_name_parse("CN=probe");
	X509 *signer = scep_selfsigned_build(fx.client_ec, subject, EVP_sha256());
	unsigned char nonce[SCEP_NONCE_LEN], *der = NULL, *csr = NULL;
	size_t len = 0, csr_len = 0;
	char tid[65], err[256] = "";
	struct scep_request req = {0};

	(void)state;
	assert_int_equal(scep_csr_build(fx.client_ec, subject, NULL, EVP_sha256(), &csr, &csr_len),
	                 0);
	scep_transaction_id(fx.client_ec, tid, sizeof tid);
	req.type = SCEP_MSG_PKCSREQ;
	req.key = fx.client_ec;
	req.signer = signer;
	req.csr_der = csr;
	req.csr_len = csr_len;
	req.cipher = EVP_aes_128_cbc();
	req.md = EVP_sha256();
	req.transaction_id = tid;
	/* a recipient whose key cannot take an envelope (Ed25519) */
	{
		EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		X509 *edc;
		assert_non_null(ed);
		edc = mk_ee("CN=Ed25519 RA", ed, "critical,keyEncipherment");
		req.recipient = edc;
		assert_int_equal(scep_request_build(&req, nonce, &der, &len, err, sizeof err), -1);
		assert_null(der);
		assert_true(contains(err, "encrypt"));
		X509_free(edc);
		EVP_PKEY_free(ed);
	}
	assert_int_equal(ERR_peek_error(), 0);
	/* a signer key that does not match the signer certificate */
	req.recipient = fx.ca;
	req.key = fx.other_key;
	err[0] = '\0';
	assert_int_equal(scep_request_build(&req, nonce, &der, &len, err, sizeof err), -1);
	assert_null(der);
	assert_true(contains(err, "pkiMessage"));
	assert_int_equal(ERR_peek_error(), 0);
	OPENSSL_free(csr);
	X509_free(signer);
	X509_NAME_free(subject);
}

/* ---- envelope cipher --------------------------------------------------------------- */

static void check_cipher_nid(const char *name, int want)
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(pki_legacy_libctx(), name, NULL);
	unsigned char *der;
	size_t len;

	if (c == NULL)
		fail_msg("cipher %s not available (legacy provider loaded by pki_init?)", name);
	der = envelope_der((const unsigned char *)"hello", 5, fx.ca, c, &len);
	assert_int_equal(scep_envelope_cipher_nid(der, len), want);
	/* every strict prefix is unreadable, never a crash or a read past len */
	for (size_t n = 0; n < len; n++)
		assert_int_equal(scep_envelope_cipher_nid(der, n), NID_undef);
	OPENSSL_free(der);
	EVP_CIPHER_free(c);
}

static void test_envelope_cipher_nid(void **state)
{
	(void)state;
	check_cipher_nid("AES-128-CBC", NID_aes_128_cbc);
	check_cipher_nid("AES-256-CBC", NID_aes_256_cbc);
	check_cipher_nid("DES-EDE3-CBC", NID_des_ede3_cbc);
	check_cipher_nid("DES-CBC", NID_des_cbc);
}

static void test_envelope_cipher_nid_ber(void **state)
{
	/* streamed (indefinite-length BER) output, as some CAs send it */
	STACK_OF(X509) *r = stack_of(fx.ca, NULL);
	BIO *in = BIO_new_mem_buf("hello", 5), *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *env = CMS_encrypt(r, in, EVP_des_ede3_cbc(), CMS_BINARY | CMS_STREAM);
	char *data;
	long n;

	(void)state;
	assert_non_null(env);
	assert_int_equal(i2d_CMS_bio_stream(out, env, in, CMS_BINARY | CMS_STREAM), 1);
	n = BIO_get_mem_data(out, &data);
	assert_true(n > 2);
	assert_int_equal((unsigned char)data[1], 0x80); /* really indefinite length */
	assert_int_equal(scep_envelope_cipher_nid((const unsigned char *)data, (size_t)n),
	                 NID_des_ede3_cbc);
	CMS_ContentInfo_free(env);
	BIO_free(out);
	BIO_free(in);
	sk_X509_free(r);
}

static void test_envelope_cipher_nid_garbage(void **state)
{
	unsigned char junk[512];
	size_t dlen;
	unsigned char *deg = degenerate_der(&fx.ca, 1, &dlen);
	static const unsigned char tiny[] = {0x30, 0x80, 0x06, 0x00, 0xa0, 0x80, 0x30, 0x80};

	(void)state;
	assert_int_equal(scep_envelope_cipher_nid((const unsigned char *)"", 0), NID_undef);
	assert_int_equal(scep_envelope_cipher_nid((const unsigned char *)"garbage", 7), NID_undef);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(RAND_bytes(junk, sizeof junk), 1);
		junk[0] = 0x30; /* at least start like a SEQUENCE */
		(void)scep_envelope_cipher_nid(junk, sizeof junk);
	}
	assert_int_equal(scep_envelope_cipher_nid(tiny, sizeof tiny), NID_undef);
	/* a SignedData is not an EnvelopedData */
	assert_int_equal(scep_envelope_cipher_nid(deg, dlen), NID_undef);
	OPENSSL_free(deg);
}

/* ---- CertRep parse and decrypt ------------------------------------------------------- */

static void test_certrep_success_round_trip(void **state)
{
	X509_NAME *subject = pki_name_parse("CN=probe.example.net,O=Example");
	X509 *me = scep_selfsigned_build(fx.client_rsa, subject, EVP_sha256());
	X509 *issued = mk_ee("CN=probe.example.net,O=Example", fx.client_rsa,
	                     "critical,digitalSignature,keyEncipherment");
	X509 *issued_pair[2] = {issued, fx.ca};
	struct certrep_spec s = success_spec();
	struct scep_certrep rep;
	STACK_OF(X509) *signers = stack_of(fx.ca, NULL), *certs = NULL;
	unsigned char *env, *der;
	size_t envlen, len;
	char detail[256] = "";
	int cipher_nid = -5;

	(void)state;
	env = success_envelope(issued_pair, 2, me, EVP_aes_128_cbc(), &envlen);
	s.content = env;
	s.content_len = envlen;
	der = certrep_build(&s, &len);

	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_OK);
	assert_int_equal(rep.message_type, SCEP_MSG_CERTREP);
	assert_int_equal(rep.pki_status, SCEP_PKI_SUCCESS);
	assert_true(rep.has_transaction_id);
	assert_string_equal(rep.transaction_id, test_tid);
	assert_true(rep.has_recipient_nonce);
	assert_int_equal(rep.recipient_nonce_len, SCEP_NONCE_LEN);
	assert_memory_equal(rep.recipient_nonce, test_recipient_nonce, SCEP_NONCE_LEN);
	assert_false(rep.has_fail_info);
	assert_string_equal(rep.fail_info_text, "");
	assert_int_equal(rep.digest_nid, NID_sha256);
	assert_non_null(rep.envelope);
	assert_int_equal(rep.envelope_len, envlen);
	assert_memory_equal(rep.envelope, env, envlen);

	assert_int_equal(scep_certrep_decrypt(&rep, fx.client_rsa, me, &certs, &cipher_nid, detail,
	                                      sizeof detail),
	                 TXN_OK);
	assert_int_equal(cipher_nid, NID_aes_128_cbc);
	assert_non_null(certs);
	assert_int_equal(sk_X509_num(certs), 2);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), issued), 0);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 1), fx.ca), 0);
	sk_X509_pop_free(certs, X509_free);

	/* the same message verifies when the signers stack holds an RA and the CA */
	{
		X509 *ra = mk_ee("CN=RA sign", fx.ra_key, "critical,digitalSignature");
		STACK_OF(X509) *both = stack_of(ra, fx.ca);
		scep_certrep_clear(&rep);
		assert_int_equal(scep_certrep_parse(der, len, both, &rep, detail, sizeof detail),
		                 TXN_OK);
		sk_X509_free(both);
		X509_free(ra);
	}
	scep_certrep_clear(&rep);
	assert_null(rep.envelope);
	assert_int_equal(rep.message_type, -1);
	assert_int_equal(rep.pki_status, -1);
	scep_certrep_clear(&rep); /* twice is harmless */
	OPENSSL_free(der);
	OPENSSL_free(env);
	sk_X509_free(signers);
	X509_free(issued);
	X509_free(me);
	X509_NAME_free(subject);
}

/* SUCCESS for an EC key: the envelope uses key agreement, the signer is an RA. */
static void test_certrep_success_ec_ra(void **state)
{
	X509_NAME *subject = pki_name_parse("CN=ec-probe");
	X509 *me = scep_selfsigned_build(fx.client_ec, subject, EVP_sha256());
	X509 *issued = mk_ee("CN=ec-probe", fx.client_ec, "critical,digitalSignature");
	X509 *ra = mk_ee("CN=RA sign", fx.ra_key, "critical,digitalSignature");
	struct certrep_spec s = success_spec();
	struct scep_certrep rep;
	STACK_OF(X509) *signers = stack_of(ra, fx.ca), *certs = NULL;
	unsigned char *env, *der;
	size_t envlen, len;
	char detail[256] = "";
	int cipher_nid;

	(void)state;
	env = success_envelope(&issued, 1, me, EVP_aes_256_cbc(), &envlen);
	s.signer = ra;
	s.key = fx.ra_key;
	s.md = EVP_sha512();
	s.nocerts = true;
	s.content = env;
	s.content_len = envlen;
	der = certrep_build(&s, &len);
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_OK);
	assert_int_equal(rep.digest_nid, NID_sha512);
	assert_int_equal(scep_certrep_decrypt(&rep, fx.client_ec, me, &certs, &cipher_nid, detail,
	                                      sizeof detail),
	                 TXN_OK);
	assert_int_equal(cipher_nid, NID_aes_256_cbc);
	assert_int_equal(sk_X509_num(certs), 1);
	assert_int_equal(X509_cmp(sk_X509_value(certs, 0), issued), 0);
	sk_X509_pop_free(certs, X509_free);
	scep_certrep_clear(&rep);
	OPENSSL_free(der);
	OPENSSL_free(env);
	sk_X509_free(signers);
	X509_free(ra);
	X509_free(issued);
	X509_free(me);
	X509_NAME_free(subject);
}

/* Legacy ciphers and digests are read and reported (needs the legacy provider). */
static void test_certrep_legacy_algorithms(void **state)
{
	static const struct {
		const char *cipher;
		int nid;
	} ciphers[] = {{"DES-CBC", NID_des_cbc}, {"DES-EDE3-CBC", NID_des_ede3_cbc}};
	X509_NAME *subject = pki_name_parse("CN=probe");
	X509 *me = scep_selfsigned_build(fx.client_rsa, subject, EVP_sha256());
	X509 *issued = mk_ee("CN=probe", fx.client_rsa, NULL);
	STACK_OF(X509) *signers = stack_of(fx.ca, NULL);

	(void)state;
	for (size_t i = 0; i < sizeof ciphers / sizeof ciphers[0]; i++) {
		EVP_CIPHER *c = EVP_CIPHER_fetch(pki_legacy_libctx(), ciphers[i].cipher, NULL);
		struct certrep_spec s = success_spec();
		struct scep_certrep rep;
		STACK_OF(X509) *certs = NULL;
		unsigned char *env, *der;
		size_t envlen, len;
		char detail[256];
		int cipher_nid;

		assert_non_null(c);
		env = success_envelope(&issued, 1, me, c, &envlen);
		s.md = EVP_sha1();
		s.content = env;
		s.content_len = envlen;
		der = certrep_build(&s, &len);
		assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
		                 TXN_OK);
		assert_int_equal(rep.digest_nid, NID_sha1);
		assert_int_equal(scep_certrep_decrypt(&rep, fx.client_rsa, me, &certs, &cipher_nid,
		                                      detail, sizeof detail),
		                 TXN_OK);
		assert_int_equal(cipher_nid, ciphers[i].nid);
		assert_int_equal(sk_X509_num(certs), 1);
		sk_X509_pop_free(certs, X509_free);
		scep_certrep_clear(&rep);
		OPENSSL_free(der);
		OPENSSL_free(env);
		EVP_CIPHER_free(c);
	}
	sk_X509_free(signers);
	X509_free(issued);
	X509_free(me);
	X509_NAME_free(subject);
}

static void test_certrep_failure(void **state)
{
	struct certrep_spec s = success_spec();
	struct scep_certrep rep;
	STACK_OF(X509) *signers = stack_of(fx.ca, NULL), *certs = (STACK_OF(X509) *)1;
	unsigned char *der;
	size_t len;
	char detail[256];
	int cipher_nid = 42;
	const char *name = NULL;

	(void)state;
	s.pki_status = "2";
	s.fail_info = "2";
	s.fail_info_text = "The challenge password is not valid\n(used or expired)";
	der = certrep_build(&s, &len);
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_OK);
	assert_int_equal(rep.message_type, SCEP_MSG_CERTREP);
	assert_int_equal(rep.pki_status, SCEP_PKI_FAILURE);
	assert_true(rep.has_fail_info);
	assert_string_equal(rep.fail_info, "2");
	/* control characters are neutralised for the report */
	assert_string_equal(rep.fail_info_text,
	                    "The challenge password is not valid?(used or expired)");
	assert_null(rep.envelope);
	assert_int_equal(rep.envelope_len, 0);
	assert_int_equal(scep_fail_info_status(rep.fail_info, &name), TXN_SCEP_FAILURE_BAD_REQUEST);
	assert_string_equal(name, "badRequest");
	/* nothing to decrypt */
	assert_int_equal(scep_certrep_decrypt(&rep, fx.client_rsa, NULL, &certs, &cipher_nid,
	                                      detail, sizeof detail),
	                 TXN_SCEP_CERTREP_MALFORMED);
	assert_null(certs);
	assert_int_equal(cipher_nid, NID_undef);
	scep_certrep_clear(&rep);
	OPENSSL_free(der);
	sk_X509_free(signers);
}

static void test_certrep_pending(void **state)
{
	struct certrep_spec s = success_spec();
	struct scep_certrep rep;
	STACK_OF(X509) *signers = stack_of(fx.ca, NULL);
	unsigned char *der;
	size_t len;
	char detail[256];

	(void)state;
	s.pki_status = "3";
	der = certrep_build(&s, &len);
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_OK);
	assert_int_equal(rep.pki_status, SCEP_PKI_PENDING);
	assert_false(rep.has_fail_info);
	assert_null(rep.envelope);
	assert_string_equal(rep.transaction_id, test_tid);
	scep_certrep_clear(&rep);
	OPENSSL_free(der);
	sk_X509_free(signers);
}

static void test_certrep_attribute_edge_cases(void **state)
{
	struct certrep_spec s = success_spec();
	struct scep_certrep rep;
	STACK_OF(X509) *signers = stack_of(fx.ca, NULL);
	unsigned char *der, long_nonce[65];
	char long_tid[200], detail[256];
	size_t len;

	(void)state;
	/* all SCEP attributes absent */
	s.message_type = NULL;
	s.pki_status = NULL;
	s.transaction_id = NULL;
	s.sender_nonce = NULL;
	s.recipient_nonce = NULL;
	der = certrep_build(&s, &len);
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_OK);
	assert_int_equal(rep.message_type, -1);
	assert_int_equal(rep.pki_status, -1);
	assert_false(rep.has_transaction_id);
	assert_false(rep.has_recipient_nonce);
	assert_false(rep.has_fail_info);
	scep_certrep_clear(&rep);
	OPENSSL_free(der);

	/* non-numeric and over-long numbers, an over-long transactionID and nonce */
	s = success_spec();
	s.message_type = "three";
	s.pki_status = "00000";
	memset(long_tid, 'A', sizeof long_tid - 1);
	long_tid[sizeof long_tid - 1] = '\0';
	s.transaction_id = long_tid;
	memset(long_nonce, 7, sizeof long_nonce);
	s.recipient_nonce = long_nonce;
	s.recipient_nonce_len = sizeof long_nonce;
	der = certrep_build(&s, &len);
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_OK);
	assert_true(rep.message_type != SCEP_MSG_CERTREP && rep.message_type < 0);
	assert_true(rep.pki_status != SCEP_PKI_SUCCESS && rep.pki_status < 0);
	assert_true(rep.has_transaction_id);
	assert_string_equal(rep.transaction_id, ""); /* cannot match any real ID */
	assert_false(rep.has_recipient_nonce);
	scep_certrep_clear(&rep);
	OPENSSL_free(der);

	/* a 64-byte recipientNonce fits; the caller compares lengths */
	s = success_spec();
	s.recipient_nonce_len = 8;
	der = certrep_build(&s, &len);
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_OK);
	assert_true(rep.has_recipient_nonce);
	assert_int_equal(rep.recipient_nonce_len, 8);
	scep_certrep_clear(&rep);
	OPENSSL_free(der);
	sk_X509_free(signers);
}

static void test_certrep_signer_unknown(void **state)
{
	struct certrep_spec s = success_spec();
	struct scep_certrep rep;
	STACK_OF(X509) *signers = stack_of(fx.ca, NULL);
	X509 *ra = mk_ee("CN=RA sign", fx.ra_key, "critical,digitalSignature");
	STACK_OF(X509) *ra_only = stack_of(ra, NULL);
	unsigned char *der;
	size_t len;
	char detail[256] = "";

	(void)state;
	/* signed by an impostor that ships its own certificate in the message */
	s.signer = fx.other_ca;
	s.key = fx.other_key;
	der = certrep_build(&s, &len);
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_SCEP_CERTREP_SIGNATURE);
	assert_true(contains(detail, "not the CA/RA"));
	assert_null(rep.envelope);
	scep_certrep_clear(&rep);
	OPENSSL_free(der);

	/* signed by our CA, but we were told only the RA signs */
	s = success_spec();
	der = certrep_build(&s, &len);
	assert_int_equal(scep_certrep_parse(der, len, ra_only, &rep, detail, sizeof detail),
	                 TXN_SCEP_CERTREP_SIGNATURE);
	scep_certrep_clear(&rep);
	/* an empty signers stack trusts nobody */
	{
		STACK_OF(X509) *none = sk_X509_new_null();
		assert_int_equal(scep_certrep_parse(der, len, none, &rep, detail, sizeof detail),
		                 TXN_SCEP_CERTREP_SIGNATURE);
		scep_certrep_clear(&rep);
		sk_X509_free(none);
	}
	OPENSSL_free(der);
	assert_int_equal(ERR_peek_error(), 0);
	sk_X509_free(ra_only);
	X509_free(ra);
	sk_X509_free(signers);
}

static void test_certrep_tampered(void **state)
{
	X509_NAME *subject = pki_name_parse("CN=probe");
	X509 *me = scep_selfsigned_build(fx.client_rsa, subject, EVP_sha256());
	X509 *issued = mk_ee("CN=probe", fx.client_rsa, NULL);
	struct certrep_spec s = success_spec();
	struct scep_certrep rep;
	STACK_OF(X509) *signers = stack_of(fx.ca, NULL);
	unsigned char *env, *der, *hit;
	size_t envlen, len;
	char detail[256];

	(void)state;
	env = success_envelope(&issued, 1, me, EVP_aes_128_cbc(), &envlen);
	s.content = env;
	s.content_len = envlen;
	der = certrep_build(&s, &len);
	/* flip one byte of ciphertext inside the signed content: the digest no longer matches */
	hit = find_bytes(der, len, env, envlen);
	assert_non_null(hit);
	hit[envlen - 3] ^= 0x01;
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_SCEP_CERTREP_SIGNATURE);
	scep_certrep_clear(&rep);
	hit[envlen - 3] ^= 0x01;
	/* flip one byte of the signature (the last bytes of the message) */
	der[len - 1] ^= 0x01;
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_SCEP_CERTREP_SIGNATURE);
	scep_certrep_clear(&rep);
	der[len - 1] ^= 0x01;
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_OK);
	scep_certrep_clear(&rep);
	OPENSSL_free(der);
	OPENSSL_free(env);
	sk_X509_free(signers);
	X509_free(issued);
	X509_free(me);
	X509_NAME_free(subject);
}

static void test_certrep_unsigned(void **state)
{
	STACK_OF(X509) *signers = stack_of(fx.ca, NULL);
	PKCS7 *p7 = PKCS7_new();
	struct scep_certrep rep;
	unsigned char *der = NULL;
	size_t dlen;
	char detail[256] = "";
	int n;

	(void)state;
	/* a SignedData with content (and the CA certificate) but no signerInfo */
	assert_int_equal(PKCS7_set_type(p7, NID_pkcs7_signed), 1);
	assert_int_equal(PKCS7_content_new(p7, NID_pkcs7_data), 1);
	assert_int_equal(ASN1_OCTET_STRING_set(p7->d.sign->contents->d.data,
	                                       (const unsigned char *)"content", 7),
	                 1);
	assert_int_equal(PKCS7_add_certificate(p7, fx.ca), 1);
	n = i2d_PKCS7(p7, &der);
	assert_true(n > 0);
	assert_int_equal(scep_certrep_parse(der, (size_t)n, signers, &rep, detail, sizeof detail),
	                 TXN_SCEP_CERTREP_UNSIGNED);
	assert_true(strlen(detail) > 0);
	assert_null(rep.envelope);
	scep_certrep_clear(&rep);
	OPENSSL_free(der);
	PKCS7_free(p7);

	/* a degenerate certificates-only PKCS#7 (a GetCACert answer) is no CertRep */
	der = degenerate_der(&fx.ca, 1, &dlen);
	assert_int_equal(scep_certrep_parse(der, dlen, signers, &rep, detail, sizeof detail),
	                 TXN_SCEP_CERTREP_UNSIGNED);
	scep_certrep_clear(&rep);
	OPENSSL_free(der);
	sk_X509_free(signers);
}

static void test_certrep_malformed(void **state)
{
	struct certrep_spec s = success_spec();
	struct scep_certrep rep;
	STACK_OF(X509) *signers = stack_of(fx.ca, NULL);
	unsigned char *der, *longer, *env;
	size_t len, envlen;
	char detail[256];
	static const unsigned char junk[] = "<html><body>Service Unavailable</body></html>";

	(void)state;
	s.pki_status = "3";
	der = certrep_build(&s, &len);

	assert_int_equal(scep_certrep_parse(der, 0, signers, &rep, detail, sizeof detail),
	                 TXN_SCEP_CERTREP_MALFORMED);
	scep_certrep_clear(&rep);
	assert_int_equal(
	    scep_certrep_parse(junk, sizeof junk - 1, signers, &rep, detail, sizeof detail),
	    TXN_SCEP_CERTREP_MALFORMED);
	assert_true(contains(detail, "not a CMS message"));
	scep_certrep_clear(&rep);
	/* every truncation */
	for (size_t n = 1; n < len; n++) {
		enum txn_status st =
		    scep_certrep_parse(der, n, signers, &rep, detail, sizeof detail);
		if (st != TXN_SCEP_CERTREP_MALFORMED)
			fail_msg("CertRep cut to %zu of %zu bytes: status %s", n, len,
			         txn_status_code(st));
		scep_certrep_clear(&rep);
	}
	/* trailing bytes after a valid message */
	longer = malloc(2 * len);
	assert_non_null(longer);
	memcpy(longer, der, len);
	longer[len] = 0;
	assert_int_equal(scep_certrep_parse(longer, len + 1, signers, &rep, detail, sizeof detail),
	                 TXN_SCEP_CERTREP_MALFORMED);
	assert_true(contains(detail, "trailing"));
	scep_certrep_clear(&rep);
	memcpy(longer + len, der, len);
	assert_int_equal(scep_certrep_parse(longer, 2 * len, signers, &rep, detail, sizeof detail),
	                 TXN_SCEP_CERTREP_MALFORMED);
	scep_certrep_clear(&rep);
	free(longer);
	/* a CMS message of the wrong content type (EnvelopedData on top) */
	env = envelope_der((const unsigned char *)"x", 1, fx.ca, EVP_aes_128_cbc(), &envlen);
	assert_int_equal(scep_certrep_parse(env, envlen, signers, &rep, detail, sizeof detail),
	                 TXN_SCEP_CERTREP_MALFORMED);
	assert_true(contains(detail, "expected signedData"));
	scep_certrep_clear(&rep);
	OPENSSL_free(env);
	OPENSSL_free(der);
	assert_int_equal(ERR_peek_error(), 0);
	sk_X509_free(signers);
}

static void test_certrep_decrypt_errors(void **state)
{
	X509_NAME *subject = pki_name_parse("CN=probe");
	X509 *me = scep_selfsigned_build(fx.client_rsa, subject, EVP_sha256());
	X509 *them = scep_selfsigned_build(fx.client_ec, subject, EVP_sha256());
	X509 *issued = mk_ee("CN=probe", fx.client_rsa, NULL);
	STACK_OF(X509) *signers = stack_of(fx.ca, NULL), *certs;
	struct certrep_spec s = success_spec();
	struct scep_certrep rep;
	unsigned char *env, *der;
	size_t envlen, len;
	char detail[256];
	int cipher_nid;

	(void)state;
	/* encrypted to someone else: our key cannot open it */
	env = success_envelope(&issued, 1, them, EVP_aes_128_cbc(), &envlen);
	s.content = env;
	s.content_len = envlen;
	der = certrep_build(&s, &len);
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_OK);
	certs = (STACK_OF(X509) *)1;
	assert_int_equal(scep_certrep_decrypt(&rep, fx.client_rsa, me, &certs, &cipher_nid, detail,
	                                      sizeof detail),
	                 TXN_SCEP_DECRYPT_FAILED);
	assert_null(certs);
	assert_int_equal(cipher_nid, NID_aes_128_cbc); /* still reported */
	assert_true(contains(detail, "cipher"));
	scep_certrep_clear(&rep);
	OPENSSL_free(der);
	OPENSSL_free(env);

	/* signed content that is not an EnvelopedData */
	s.content = (const unsigned char *)"not an envelope";
	s.content_len = 15;
	der = certrep_build(&s, &len);
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_OK);
	assert_int_equal(scep_certrep_decrypt(&rep, fx.client_rsa, me, &certs, &cipher_nid, detail,
	                                      sizeof detail),
	                 TXN_SCEP_CERTREP_MALFORMED);
	assert_null(certs);
	assert_int_equal(cipher_nid, NID_undef);
	scep_certrep_clear(&rep);
	OPENSSL_free(der);

	/* an envelope that decrypts to something other than a degenerate SignedData */
	env = envelope_der((const unsigned char *)"plain text", 10, me, EVP_aes_128_cbc(), &envlen);
	s.content = env;
	s.content_len = envlen;
	der = certrep_build(&s, &len);
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_OK);
	assert_int_equal(scep_certrep_decrypt(&rep, fx.client_rsa, me, &certs, &cipher_nid, detail,
	                                      sizeof detail),
	                 TXN_SCEP_CERTREP_MALFORMED);
	assert_null(certs);
	assert_true(contains(detail, "degenerate"));
	scep_certrep_clear(&rep);
	OPENSSL_free(der);
	OPENSSL_free(env);

	/* a degenerate SignedData without certificates: OK with an empty stack */
	env = success_envelope(NULL, 0, me, EVP_aes_128_cbc(), &envlen);
	s.content = env;
	s.content_len = envlen;
	der = certrep_build(&s, &len);
	assert_int_equal(scep_certrep_parse(der, len, signers, &rep, detail, sizeof detail),
	                 TXN_OK);
	assert_int_equal(scep_certrep_decrypt(&rep, fx.client_rsa, me, &certs, &cipher_nid, detail,
	                                      sizeof detail),
	                 TXN_OK);
	assert_non_null(certs);
	assert_int_equal(sk_X509_num(certs), 0);
	sk_X509_free(certs);
	scep_certrep_clear(&rep);
	OPENSSL_free(der);
	OPENSSL_free(env);
	assert_int_equal(ERR_peek_error(), 0);

	sk_X509_free(signers);
	X509_free(issued);
	X509_free(them);
	X509_free(me);
	X509_NAME_free(subject);
}

static void test_fail_info_status(void **state)
{
	static const struct {
		const char *code, *name;
		enum txn_status st;
	} want[] = {
	    {"0", "badAlg", TXN_SCEP_FAILURE_BAD_ALG},
	    {"1", "badMessageCheck", TXN_SCEP_FAILURE_BAD_MESSAGE_CHECK},
	    {"2", "badRequest", TXN_SCEP_FAILURE_BAD_REQUEST},
	    {"3", "badTime", TXN_SCEP_FAILURE_BAD_TIME},
	    {"4", "badCertId", TXN_SCEP_FAILURE_BAD_CERT_ID},
	};
	const char *name = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		assert_int_equal(scep_fail_info_status(want[i].code, &name), want[i].st);
		assert_string_equal(name, want[i].name);
	}
	assert_int_equal(scep_fail_info_status("25", &name), TXN_SCEP_FAILURE_OTHER);
	assert_non_null(name);
	assert_int_equal(scep_fail_info_status("", &name), TXN_SCEP_FAILURE_OTHER);
	assert_int_equal(scep_fail_info_status("02", &name), TXN_SCEP_FAILURE_OTHER);
	assert_int_equal(scep_fail_info_status("badRequest", &name), TXN_SCEP_FAILURE_OTHER);
}

/* ---- scep_ca: GetCACert ------------------------------------------------------------ */

struct ra_set {
	EVP_PKEY *enc_key;
	X509 *sign, *enc;
};

static void ra_set_make(struct ra_set *r)
{
	r->enc_key = gen_ec();
	r->sign = mk_ee("CN=NDES Enrollment Agent,O=Certprobe Test", fx.ra_key,
	                "critical,digitalSignature");
	r->enc = mk_ee("CN=NDES CEP Encryption,O=Certprobe Test", r->enc_key,
	               "critical,keyEncipherment");
}

static void ra_set_free(struct ra_set *r)
{
	X509_free(r->enc);
	X509_free(r->sign);
	EVP_PKEY_free(r->enc_key);
}

static void test_ca_parse_single_der(void **state)
{
	struct scep_ca ca;
	unsigned char *der;
	size_t len;
	char detail[256];
	long expiring;

	(void)state;
	der = to_der_x509(fx.ca, &len);
	assert_int_equal(scep_ca_parse(der, len, &ca, detail, sizeof detail), TXN_OK);
	assert_int_equal(sk_X509_num(ca.certs), 1);
	assert_int_equal(X509_cmp(ca.ca, fx.ca), 0);
	assert_ptr_equal(ca.recipient, ca.ca);
	assert_ptr_equal(ca.signer, ca.ca);
	assert_false(ca.ra_split);
	assert_int_equal(sk_X509_num(ca.signers), 1);
	assert_ptr_equal(sk_X509_value(ca.signers, 0), ca.ca);
	assert_int_equal(scep_ca_check(&ca, NULL, &expiring, detail, sizeof detail), TXN_OK);
	assert_int_equal(expiring, -1);
	scep_ca_clear(&ca);
	assert_null(ca.certs);
	scep_ca_clear(&ca); /* twice is harmless */
	OPENSSL_free(der);
}

static void test_ca_parse_ra_any_order(void **state)
{
	struct ra_set r;
	static const int order[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
	                                {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};

	(void)state;
	ra_set_make(&r);
	for (int o = 0; o < 6; o++) {
		X509 *all[3] = {r.sign, r.enc, fx.ca}, *certs[3];
		struct scep_ca ca;
		unsigned char *der;
		size_t len;
		char detail[256];
		long expiring;

		for (int i = 0; i < 3; i++)
			certs[i] = all[order[o][i]];
		der = degenerate_der(certs, 3, &len);
		assert_int_equal(scep_ca_parse(der, len, &ca, detail, sizeof detail), TXN_OK);
		assert_int_equal(sk_X509_num(ca.certs), 3);
		assert_int_equal(X509_cmp(ca.ca, fx.ca), 0);
		assert_int_equal(X509_cmp(ca.recipient, r.enc), 0);
		assert_int_equal(X509_cmp(ca.signer, r.sign), 0);
		assert_true(ca.ra_split);
		assert_int_equal(sk_X509_num(ca.signers), 2);
		assert_ptr_equal(sk_X509_value(ca.signers, 0), ca.signer);
		assert_ptr_equal(sk_X509_value(ca.signers, 1), ca.ca);
		assert_int_equal(scep_ca_check(&ca, NULL, &expiring, detail, sizeof detail),
		                 TXN_OK);
		scep_ca_clear(&ca);
		OPENSSL_free(der);
	}
	ra_set_free(&r);
}

static void test_ca_parse_lone_ra(void **state)
{
	/* one RA without keyUsage serves both roles (micromdm, some NDES set-ups) */
	X509 *ra = mk_ee("CN=Lone RA", fx.ra_key, NULL);
	X509 *certs[2] = {fx.ca, ra};
	struct scep_ca ca;
	unsigned char *der;
	size_t len;
	char detail[256];

	(void)state;
	der = degenerate_der(certs, 2, &len);
	assert_int_equal(scep_ca_parse(der, len, &ca, detail, sizeof detail), TXN_OK);
	assert_int_equal(X509_cmp(ca.ca, fx.ca), 0);
	assert_int_equal(X509_cmp(ca.recipient, ra), 0);
	assert_int_equal(X509_cmp(ca.signer, ra), 0);
	assert_true(ca.ra_split);
	scep_ca_clear(&ca);
	OPENSSL_free(der);
	X509_free(ra);
}

static void test_ca_parse_pem(void **state)
{
	struct ra_set r;
	BIO *b = BIO_new(BIO_s_mem());
	struct scep_ca ca;
	char *data, detail[256];
	long n;

	(void)state;
	ra_set_make(&r);
	assert_int_equal(PEM_write_bio_X509(b, fx.ca), 1);
	n = BIO_get_mem_data(b, &data);
	/* a single PEM certificate */
	assert_int_equal(
	    scep_ca_parse((const unsigned char *)data, (size_t)n, &ca, detail, sizeof detail),
	    TXN_OK);
	assert_int_equal(sk_X509_num(ca.certs), 1);
	assert_int_equal(X509_cmp(ca.ca, fx.ca), 0);
	scep_ca_clear(&ca);
	/* a PEM bundle: CA then both RAs */
	assert_int_equal(PEM_write_bio_X509(b, r.enc), 1);
	assert_int_equal(PEM_write_bio_X509(b, r.sign), 1);
	n = BIO_get_mem_data(b, &data);
	assert_int_equal(
	    scep_ca_parse((const unsigned char *)data, (size_t)n, &ca, detail, sizeof detail),
	    TXN_OK);
	assert_int_equal(sk_X509_num(ca.certs), 3);
	assert_int_equal(X509_cmp(ca.ca, fx.ca), 0);
	assert_int_equal(X509_cmp(ca.recipient, r.enc), 0);
	assert_int_equal(X509_cmp(ca.signer, r.sign), 0);
	scep_ca_clear(&ca);
	/* a PEM header over garbage */
	{
		static const char bad[] = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
		                          "-----END CERTIFICATE-----\n";
		assert_int_equal(scep_ca_parse((const unsigned char *)bad, sizeof bad - 1, &ca,
		                               detail, sizeof detail),
		                 TXN_SCEP_CACERT_MALFORMED);
		assert_null(ca.certs);
		scep_ca_clear(&ca);
	}
	BIO_free(b);
	ra_set_free(&r);
}

static void test_ca_parse_garbage(void **state)
{
	struct scep_ca ca;
	unsigned char *der, *longer;
	size_t len;
	char detail[256];
	static const char html[] = "<html><body>404 - File or directory not found.</body></html>";

	(void)state;
	assert_int_equal(scep_ca_parse((const unsigned char *)"", 0, &ca, detail, sizeof detail),
	                 TXN_SCEP_CACERT_MALFORMED);
	assert_true(contains(detail, "empty"));
	scep_ca_clear(&ca);
	assert_int_equal(
	    scep_ca_parse((const unsigned char *)html, sizeof html - 1, &ca, detail, sizeof detail),
	    TXN_SCEP_CACERT_MALFORMED);
	assert_null(ca.certs);
	assert_null(ca.signers);
	scep_ca_clear(&ca);
	/* truncated DER */
	der = to_der_x509(fx.ca, &len);
	for (size_t n = 1; n < len; n += 7) {
		assert_int_equal(scep_ca_parse(der, n, &ca, detail, sizeof detail),
		                 TXN_SCEP_CACERT_MALFORMED);
		scep_ca_clear(&ca);
	}
	/* a DER certificate followed by junk */
	longer = malloc(len + 4);
	assert_non_null(longer);
	memcpy(longer, der, len);
	memcpy(longer + len, "junk", 4);
	assert_int_equal(scep_ca_parse(longer, len + 4, &ca, detail, sizeof detail),
	                 TXN_SCEP_CACERT_MALFORMED);
	scep_ca_clear(&ca);
	free(longer);
	OPENSSL_free(der);
	/* a degenerate PKCS#7 without certificates */
	der = degenerate_der(NULL, 0, &len);
	assert_int_equal(scep_ca_parse(der, len, &ca, detail, sizeof detail),
	                 TXN_SCEP_CACERT_MALFORMED);
	scep_ca_clear(&ca);
	OPENSSL_free(der);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_ca_parse_intermediate_and_root(void **state)
{
	/* An RA-less CA that is an intermediate, published with its root (step-ca with
	 * includeRoot, RFC 8894 §4.2.1.2 chains). The issuing CA is the intermediate. */
	EVP_PKEY *root_key = gen_ec();
	X509 *root = mk_cert("CN=Test Root CA", root_key, NULL, root_key, -DAY, 3650 * DAY,
	                     "critical,CA:TRUE", "critical,keyCertSign,cRLSign");
	X509 *inter = mk_cert("CN=Test SCEP CA,O=Certprobe Test,C=DE", fx.ca_key, root, root_key,
	                      -DAY, 1000 * DAY, "critical,CA:TRUE,pathlen:0",
	                      "critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment");
	X509 *certs[2] = {inter, root};
	struct scep_ca ca;
	unsigned char *der;
	size_t len;
	char detail[256];
	long expiring;

	(void)state;
	der = degenerate_der(certs, 2, &len);
	assert_int_equal(scep_ca_parse(der, len, &ca, detail, sizeof detail), TXN_OK);
	assert_int_equal(scep_ca_check(&ca, NULL, &expiring, detail, sizeof detail), TXN_OK);
	/* Regression test, bug fixed by scep_ca.c in 8ad40c2. Up to 6a8bcf9,
	 * scep_ca_pick_issuer() preferred the self-signed root whenever no end-entity
	 * certificate was present, so ca, recipient and signer all became the root: requests
	 * went to a key the SCEP server does not hold (badMessageCheck) and CertReps signed by
	 * the intermediate failed as scep_certrep_signature. The issuing CA is the one that
	 * issued no other CA here. */
	{
		bool ca_ok = X509_cmp(ca.ca, inter) == 0;
		bool rcpt_ok = X509_cmp(ca.recipient, inter) == 0;
		bool signer_ok = X509_cmp(ca.signer, inter) == 0;
		char got[160];
		pki_name_string(X509_get_subject_name(ca.ca), got, sizeof got);
		scep_ca_clear(&ca);
		OPENSSL_free(der);
		X509_free(inter);
		X509_free(root);
		EVP_PKEY_free(root_key);
		if (!ca_ok || !rcpt_ok || !signer_ok)
			fail_msg("[intermediate, root] without RA: ca is '%s' (ca %d recipient %d "
			         "signer %d are the intermediate)",
			         got, ca_ok, rcpt_ok, signer_ok);
	}
}

/* ---- scep_ca_check ------------------------------------------------------------------- */

static void parse_set(X509 *const *certs, int n, struct scep_ca *ca)
{
	unsigned char *der;
	size_t len;
	char detail[256];

	der = degenerate_der(certs, n, &len);
	assert_int_equal(scep_ca_parse(der, len, ca, detail, sizeof detail), TXN_OK);
	OPENSSL_free(der);
}

static void test_ca_check_pin(void **state)
{
	struct ra_set r;
	struct scep_ca ca;
	unsigned char pin[32], bad[32];
	char detail[256] = "", fp[80];
	long expiring;

	(void)state;
	ra_set_make(&r);
	{
		X509 *certs[3] = {r.sign, r.enc, fx.ca};
		parse_set(certs, 3, &ca);
	}
	pki_cert_sha256(fx.ca, pin);
	assert_int_equal(scep_ca_check(&ca, pin, &expiring, detail, sizeof detail), TXN_OK);
	assert_int_equal(X509_cmp(ca.ca, fx.ca), 0);
	assert_int_equal(expiring, -1);
	memcpy(bad, pin, sizeof bad);
	bad[31] ^= 0x80;
	assert_int_equal(scep_ca_check(&ca, bad, &expiring, detail, sizeof detail),
	                 TXN_SCEP_CA_PIN_MISMATCH);
	/* the detail names the fingerprint the server really has */
	pki_cert_fingerprint_string(fx.ca, fp, sizeof fp);
	assert_int_equal(strlen(fp), 7 + 64);
	assert_true(contains(detail, fp));
	scep_ca_clear(&ca);
	ra_set_free(&r);
}

static void test_ca_check_pin_intermediate(void **state)
{
	/* root → issuing intermediate → RAs, all four published by GetCACert. The pin is
	 * the issuing CA's fingerprint, the one a pin mismatch tells the operator to use. */
	EVP_PKEY *root_key = gen_ec();
	X509 *root = mk_cert("CN=Test Root CA", root_key, NULL, root_key, -DAY, 3650 * DAY,
	                     "critical,CA:TRUE", "critical,keyCertSign,cRLSign");
	X509 *inter =
	    mk_cert("CN=Test SCEP CA,O=Certprobe Test,C=DE", fx.ca_key, root, root_key, -DAY,
	            1000 * DAY, "critical,CA:TRUE,pathlen:0", "critical,keyCertSign,cRLSign");
	struct ra_set r;
	struct scep_ca ca;
	unsigned char pin[32], bad[32];
	char detail[256] = "", fp[80];
	long expiring;

	(void)state;
	ra_set_make(&r); /* issued by fx.ca's key under the same name as inter */
	{
		X509 *certs[4] = {r.sign, r.enc, inter, root};
		parse_set(certs, 4, &ca);
	}
	assert_int_equal(X509_cmp(ca.ca, inter), 0);
	assert_int_equal(scep_ca_check(&ca, NULL, &expiring, detail, sizeof detail), TXN_OK);
	/* a pin on the root works */
	pki_cert_sha256(root, pin);
	assert_int_equal(scep_ca_check(&ca, pin, &expiring, detail, sizeof detail), TXN_OK);
	scep_ca_clear(&ca);
	{
		X509 *certs[4] = {r.sign, r.enc, inter, root};
		parse_set(certs, 4, &ca);
	}
	/* the mismatch message names the intermediate ... */
	memset(bad, 0, sizeof bad);
	assert_int_equal(scep_ca_check(&ca, bad, &expiring, detail, sizeof detail),
	                 TXN_SCEP_CA_PIN_MISMATCH);
	pki_cert_fingerprint_string(inter, fp, sizeof fp);
	assert_true(contains(detail, fp));
	/* ... and pinning it must work. Regression test, bug fixed by scep_ca.c in 8ad40c2:
	 * up to 6a8bcf9 scep_ca_check() built its store from the pinned certificate alone
	 * and verified every other certificate against it, the root included; the
	 * self-signed root cannot chain to the intermediate, so the result was
	 * TXN_SCEP_RA_CHAIN_INVALID ("self-signed certificate"). */
	pki_cert_sha256(inter, pin);
	detail[0] = '\0';
	{
		enum txn_status st = scep_ca_check(&ca, pin, &expiring, detail, sizeof detail);
		scep_ca_clear(&ca);
		ra_set_free(&r);
		X509_free(inter);
		X509_free(root);
		EVP_PKEY_free(root_key);
		if (st != TXN_OK)
			fail_msg("pin on the issuing intermediate refused: %s (%s)",
			         txn_status_code(st), detail);
	}
}

/* Does cert chain to anchor (signatures only), with the GetCACert set as intermediates? */
static bool chains_to(X509 *cert, X509 *anchor, STACK_OF(X509) *untrusted)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	X509_STORE_add_cert(store, anchor);
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
	X509_STORE_CTX_init(ctx, store, cert, untrusted);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
	ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok == 1;
}

static void test_ca_check_pin_foreign_ca(void **state)
{
	/* An answer carrying a foreign CA next to the pinned one (a MITM adding its own CA,
	 * placed first). Whatever scep_ca_check decides, it must never return OK while the
	 * request recipient or a CertRep signer does not chain to the pinned certificate:
	 * that would make the pin decorative.
	 * regression (fixed: pin bypass through a second CA), introduced by scep_ca.c in 8ad40c2
	 * (this test passed on 6a8bcf9): scep_ca_parse() picks ca/recipient/signer/signers before
	 * any pin is known (here the impostor, listed first); scep_ca_check() with the pin only
	 * moves ca->ca to the pinned CA and now skips the chain check of every CA certificate
	 * ("c == anchor || pki_cert_is_ca(c)"), so it returns OK while requests are
	 * encrypted to the impostor and its CertReps verify. 6a8bcf9 failed closed here
	 * (scep_ra_chain_invalid). A fix: after pinning, verify recipient, signer and the
	 * signers stack against the anchor (or re-pick them below the anchor). */
	struct scep_ca ca;
	unsigned char pin[32];
	char detail[256] = "", rcpt[160] = "", bad_signer[160] = "";
	long expiring;
	enum txn_status st;
	bool rcpt_ok, signers_ok = true;

	(void)state;
	{
		X509 *certs[2] = {fx.other_ca, fx.ca};
		parse_set(certs, 2, &ca);
	}
	pki_cert_sha256(fx.ca, pin);
	st = scep_ca_check(&ca, pin, &expiring, detail, sizeof detail);
	rcpt_ok = chains_to(ca.recipient, fx.ca, ca.certs);
	pki_name_string(X509_get_subject_name(ca.recipient), rcpt, sizeof rcpt);
	for (int i = 0; i < sk_X509_num(ca.signers); i++) {
		X509 *c = sk_X509_value(ca.signers, i);
		if (!chains_to(c, fx.ca, ca.certs)) {
			signers_ok = false;
			pki_name_string(X509_get_subject_name(c), bad_signer, sizeof bad_signer);
		}
	}
	scep_ca_clear(&ca);
	if (st == TXN_OK && (!rcpt_ok || !signers_ok))
		fail_msg("pin on our CA passed, but recipient '%s'%s and signer '%s' are not ours",
		         rcpt, rcpt_ok ? " (ok)" : "", bad_signer);
}

static void test_ca_check_expired(void **state)
{
	X509 *expired = mk_cert("CN=Old CA", fx.ca_key, NULL, fx.ca_key, -400 * DAY, -DAY,
	                        "critical,CA:TRUE", "critical,keyCertSign,cRLSign");
	X509 *future = mk_cert("CN=Future CA", fx.ca_key, NULL, fx.ca_key, 2 * DAY, 400 * DAY,
	                       "critical,CA:TRUE", "critical,keyCertSign,cRLSign");
	struct scep_ca ca;
	unsigned char *der;
	size_t len;
	char detail[256] = "";
	long expiring;

	(void)state;
	der = to_der_x509(expired, &len);
	assert_int_equal(scep_ca_parse(der, len, &ca, detail, sizeof detail), TXN_OK);
	assert_int_equal(scep_ca_check(&ca, NULL, &expiring, detail, sizeof detail),
	                 TXN_SCEP_CA_EXPIRED);
	assert_true(contains(detail, "expired"));
	assert_true(contains(detail, "Old CA"));
	scep_ca_clear(&ca);
	OPENSSL_free(der);

	der = to_der_x509(future, &len);
	assert_int_equal(scep_ca_parse(der, len, &ca, detail, sizeof detail), TXN_OK);
	assert_int_equal(scep_ca_check(&ca, NULL, &expiring, detail, sizeof detail),
	                 TXN_SCEP_CA_EXPIRED);
	assert_true(contains(detail, "not yet valid"));
	scep_ca_clear(&ca);
	OPENSSL_free(der);

	/* an expired RA next to a good CA */
	{
		X509 *ra = mk_cert("CN=Old RA", fx.ra_key, fx.ca, fx.ca_key, -400 * DAY, -60,
		                   "critical,CA:FALSE", "critical,digitalSignature");
		X509 *certs[2] = {fx.ca, ra};
		parse_set(certs, 2, &ca);
		assert_int_equal(scep_ca_check(&ca, NULL, &expiring, detail, sizeof detail),
		                 TXN_SCEP_CA_EXPIRED);
		assert_true(contains(detail, "Old RA"));
		scep_ca_clear(&ca);
		X509_free(ra);
	}
	X509_free(future);
	X509_free(expired);
}

static void test_ca_check_clock_skew(void **state)
{
	/* Regression test, bug fixed by scep_ca.c in 8ad40c2. Up to 6a8bcf9,
	 * scep_ca_check() accepted a CA/RA notBefore up to 300 s in the future
	 * ("before_in > 300"), but its chain check (X509_verify_cert at the current time)
	 * then failed with "certificate is not yet valid": a CA whose clock runs two
	 * minutes ahead was reported as scep_ra_chain_invalid. */
	X509 *ca = mk_cert("CN=Fresh CA", fx.ca_key, NULL, fx.ca_key, 120, 3650 * DAY,
	                   "critical,CA:TRUE", "critical,keyCertSign,cRLSign");
	struct scep_ca sca;
	unsigned char *der;
	size_t len;
	char detail[256] = "";
	long expiring;
	enum txn_status st;

	(void)state;
	der = to_der_x509(ca, &len);
	assert_int_equal(scep_ca_parse(der, len, &sca, detail, sizeof detail), TXN_OK);
	st = scep_ca_check(&sca, NULL, &expiring, detail, sizeof detail);
	scep_ca_clear(&sca);
	OPENSSL_free(der);
	X509_free(ca);
	if (st != TXN_OK)
		fail_msg("CA notBefore 2 minutes ahead: %s (%s)", txn_status_code(st), detail);
}

static void test_ca_check_expiring(void **state)
{
	X509 *ra = mk_cert("CN=Short RA", fx.ra_key, fx.ca, fx.ca_key, -DAY, 10 * DAY + 3600,
	                   "critical,CA:FALSE", "critical,digitalSignature,keyEncipherment");
	X509 *certs[2] = {ra, fx.ca};
	struct scep_ca ca;
	char detail[256];
	long expiring;

	(void)state;
	parse_set(certs, 2, &ca);
	assert_int_equal(scep_ca_check(&ca, NULL, &expiring, detail, sizeof detail), TXN_OK);
	assert_int_equal(expiring, 10);
	scep_ca_clear(&ca);
	X509_free(ra);
}

static void test_ca_check_ra_not_from_ca(void **state)
{
	/* an RA issued by a CA GetCACert does not publish */
	X509 *ra = mk_cert("CN=Foreign RA", fx.ra_key, fx.other_ca, fx.other_key, -DAY, 365 * DAY,
	                   "critical,CA:FALSE", "critical,digitalSignature,keyEncipherment");
	X509 *certs[2] = {fx.ca, ra};
	struct scep_ca ca;
	char detail[256] = "";
	long expiring;

	(void)state;
	parse_set(certs, 2, &ca);
	assert_int_equal(scep_ca_check(&ca, NULL, &expiring, detail, sizeof detail),
	                 TXN_SCEP_RA_CHAIN_INVALID);
	assert_true(contains(detail, "Foreign RA"));
	scep_ca_clear(&ca);
	X509_free(ra);

	/* same name as our CA, different key: the signature decides, not the name */
	{
		X509 *fake_ca = mk_cert("CN=Test SCEP CA,O=Certprobe Test,C=DE", fx.other_key, NULL,
		                        fx.other_key, -DAY, 365 * DAY, "critical,CA:TRUE",
		                        "critical,keyCertSign");
		X509 *ra2 = mk_cert("CN=Forged RA", fx.ra_key, fake_ca, fx.other_key, -DAY,
		                    365 * DAY, "critical,CA:FALSE", "critical,digitalSignature");
		X509 *set[2] = {fx.ca, ra2};
		parse_set(set, 2, &ca);
		assert_int_equal(scep_ca_check(&ca, NULL, &expiring, detail, sizeof detail),
		                 TXN_SCEP_RA_CHAIN_INVALID);
		scep_ca_clear(&ca);
		X509_free(ra2);
		X509_free(fake_ca);
	}
	assert_int_equal(ERR_peek_error(), 0);
}

/* ---- scep_issued_check ------------------------------------------------------------- */

static void issued_ca(struct scep_ca *ca)
{
	unsigned char *der;
	size_t len;
	char detail[256];

	der = to_der_x509(fx.ca, &len);
	assert_int_equal(scep_ca_parse(der, len, ca, detail, sizeof detail), TXN_OK);
	OPENSSL_free(der);
}

static void test_issued_ok(void **state)
{
	X509_NAME *want = pki_name_parse("CN=probe.example.net,O=Example");
	X509 *mine =
	    mk_ee("CN=probe.example.net,O=Example", fx.client_ec, "critical,digitalSignature");
	STACK_OF(X509) *certs = stack_of(fx.ca, mine); /* CA first: order does not matter */
	struct scep_ca ca;
	X509 *issued = NULL;
	bool subject_ok = false;
	char detail[256];

	(void)state;
	issued_ca(&ca);
	assert_int_equal(scep_issued_check(certs, fx.client_ec, &ca, want, &issued, &subject_ok,
	                                   detail, sizeof detail),
	                 TXN_OK);
	assert_ptr_equal(issued, mine);
	assert_true(subject_ok);
	X509_free(issued); /* a new reference */
	scep_ca_clear(&ca);
	sk_X509_free(certs);
	X509_free(mine);
	X509_NAME_free(want);
}

static void test_issued_with_ra_split(void **state)
{
	struct ra_set r;
	X509 *certs_ca[3];
	X509_NAME *want = pki_name_parse("CN=probe");
	X509 *mine = mk_ee("CN=probe", fx.client_rsa, NULL);
	STACK_OF(X509) *reply = stack_of(mine, NULL);
	struct scep_ca ca;
	X509 *issued = NULL;
	bool subject_ok;
	char detail[256];

	(void)state;
	ra_set_make(&r);
	certs_ca[0] = r.sign;
	certs_ca[1] = fx.ca;
	certs_ca[2] = r.enc;
	parse_set(certs_ca, 3, &ca);
	assert_int_equal(scep_issued_check(reply, fx.client_rsa, &ca, want, &issued, &subject_ok,
	                                   detail, sizeof detail),
	                 TXN_OK);
	assert_true(subject_ok);
	X509_free(issued);
	scep_ca_clear(&ca);
	ra_set_free(&r);
	sk_X509_free(reply);
	X509_free(mine);
	X509_NAME_free(want);
}

static void test_issued_key_mismatch_and_missing(void **state)
{
	X509_NAME *want = pki_name_parse("CN=probe");
	X509 *theirs = mk_ee("CN=probe", fx.other_key, NULL);
	STACK_OF(X509) *certs = stack_of(theirs, fx.ca), *only_ca = stack_of(fx.ca, NULL);
	STACK_OF(X509) *empty = sk_X509_new_null();
	struct scep_ca ca;
	X509 *issued = (X509 *)1;
	bool subject_ok = true;
	char detail[256];

	(void)state;
	issued_ca(&ca);
	assert_int_equal(scep_issued_check(certs, fx.client_ec, &ca, want, &issued, &subject_ok,
	                                   detail, sizeof detail),
	                 TXN_SCEP_ISSUED_KEY_MISMATCH);
	assert_null(issued);
	assert_false(subject_ok);
	assert_int_equal(scep_issued_check(only_ca, fx.client_ec, &ca, want, &issued, &subject_ok,
	                                   detail, sizeof detail),
	                 TXN_SCEP_ISSUED_MISSING);
	assert_int_equal(scep_issued_check(empty, fx.client_ec, &ca, want, &issued, &subject_ok,
	                                   detail, sizeof detail),
	                 TXN_SCEP_ISSUED_MISSING);
	/* same curve, different key; and an RSA reply for an EC key */
	{
		X509 *rsa = mk_ee("CN=probe", fx.client_rsa, NULL);
		STACK_OF(X509) *other = stack_of(rsa, NULL);
		assert_int_equal(scep_issued_check(other, fx.client_ec, &ca, want, &issued,
		                                   &subject_ok, detail, sizeof detail),
		                 TXN_SCEP_ISSUED_KEY_MISMATCH);
		sk_X509_free(other);
		X509_free(rsa);
	}
	assert_int_equal(ERR_peek_error(), 0);
	scep_ca_clear(&ca);
	sk_X509_free(empty);
	sk_X509_free(only_ca);
	sk_X509_free(certs);
	X509_free(theirs);
	X509_NAME_free(want);
}

static void test_issued_validity(void **state)
{
	X509_NAME *want = pki_name_parse("CN=probe");
	X509 *expired = mk_cert("CN=probe", fx.client_ec, fx.ca, fx.ca_key, -10 * DAY, -DAY,
	                        "critical,CA:FALSE", NULL);
	X509 *future = mk_cert("CN=probe", fx.client_ec, fx.ca, fx.ca_key, DAY, 10 * DAY,
	                       "critical,CA:FALSE", NULL);
	STACK_OF(X509) *a = stack_of(expired, NULL), *b = stack_of(future, NULL);
	struct scep_ca ca;
	X509 *issued = NULL;
	bool subject_ok;
	char detail[256];

	(void)state;
	issued_ca(&ca);
	assert_int_equal(scep_issued_check(a, fx.client_ec, &ca, want, &issued, &subject_ok, detail,
	                                   sizeof detail),
	                 TXN_SCEP_ISSUED_VALIDITY);
	assert_true(contains(detail, "expired"));
	assert_null(issued);
	assert_int_equal(scep_issued_check(b, fx.client_ec, &ca, want, &issued, &subject_ok, detail,
	                                   sizeof detail),
	                 TXN_SCEP_ISSUED_VALIDITY);
	assert_true(contains(detail, "not yet valid"));
	assert_null(issued);
	scep_ca_clear(&ca);
	sk_X509_free(b);
	sk_X509_free(a);
	X509_free(future);
	X509_free(expired);
	X509_NAME_free(want);
}

static void test_issued_clock_skew(void **state)
{
	/* Regression test, bug fixed by scep_ca.c in 8ad40c2. Up to 6a8bcf9,
	 * scep_issued_check() tolerated a notBefore up to 300 s ahead ("before_in > 300"),
	 * but scep_verify_chain() then ran X509_verify_cert() at the current time, which
	 * refused the same certificate as "not yet valid": a CA clock two minutes ahead
	 * yielded scep_issued_untrusted instead of OK. */
	X509_NAME *want = pki_name_parse("CN=probe");
	X509 *skewed = mk_cert("CN=probe", fx.client_ec, fx.ca, fx.ca_key, 120, 10 * DAY,
	                       "critical,CA:FALSE", NULL);
	STACK_OF(X509) *c = stack_of(skewed, NULL);
	struct scep_ca ca;
	X509 *issued = NULL;
	bool subject_ok;
	char detail[256] = "";
	enum txn_status st;

	(void)state;
	issued_ca(&ca);
	st = scep_issued_check(c, fx.client_ec, &ca, want, &issued, &subject_ok, detail,
	                       sizeof detail);
	X509_free(issued);
	scep_ca_clear(&ca);
	sk_X509_free(c);
	X509_free(skewed);
	X509_NAME_free(want);
	if (st != TXN_OK)
		fail_msg("issued notBefore 2 minutes ahead: %s (%s)", txn_status_code(st), detail);
}

static void test_issued_untrusted(void **state)
{
	X509_NAME *want = pki_name_parse("CN=probe");
	X509 *foreign = mk_cert("CN=probe", fx.client_ec, fx.other_ca, fx.other_key, -DAY, 30 * DAY,
	                        "critical,CA:FALSE", NULL);
	STACK_OF(X509) *certs = stack_of(foreign, fx.other_ca);
	struct scep_ca ca;
	X509 *issued = NULL;
	bool subject_ok;
	char detail[256];

	(void)state;
	issued_ca(&ca);
	/* the foreign CA travels in the reply, but only GetCACert's CA is trusted */
	assert_int_equal(scep_issued_check(certs, fx.client_ec, &ca, want, &issued, &subject_ok,
	                                   detail, sizeof detail),
	                 TXN_SCEP_ISSUED_UNTRUSTED);
	assert_null(issued);
	scep_ca_clear(&ca);
	sk_X509_free(certs);
	X509_free(foreign);
	X509_NAME_free(want);
}

static void test_issued_subject(void **state)
{
	static const struct {
		const char *requested, *issued;
		bool ok;
	} cases[] = {
	    {"CN=probe,O=Example", "O=Example,CN=probe", true}, /* reordered */
	    {"CN=probe,O=Example", "CN=probe,O=Example", true},
	    {"CN=probe", "CN=probe,OU=Issued By Policy,O=Example", true}, /* RDNs added */
	    {"CN=probe,OU=Mon,O=Example", "CN=probe,O=Example", false},   /* RDN dropped */
	    {"CN=probe,O=Example", "CN=other,O=Example", false},          /* value changed */
	    {"CN=probe", "CN=PROBE", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		X509_NAME *want = pki_name_parse(cases[i].requested);
		X509 *mine = mk_ee(cases[i].issued, fx.client_ec, NULL);
		STACK_OF(X509) *certs = stack_of(mine, NULL);
		struct scep_ca ca;
		X509 *issued = NULL;
		bool subject_ok = !cases[i].ok;
		char detail[256];

		issued_ca(&ca);
		assert_int_equal(scep_issued_check(certs, fx.client_ec, &ca, want, &issued,
		                                   &subject_ok, detail, sizeof detail),
		                 TXN_OK);
		if (subject_ok != cases[i].ok)
			fail_msg("requested '%s', issued '%s': subject_ok %d", cases[i].requested,
			         cases[i].issued, subject_ok);
		X509_free(issued);
		scep_ca_clear(&ca);
		sk_X509_free(certs);
		X509_free(mine);
		X509_NAME_free(want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_parse_good),
	    cmocka_unit_test(test_name_parse_bad),
	    cmocka_unit_test(test_csr_build),
	    cmocka_unit_test(test_selfsigned_build),
	    cmocka_unit_test(test_transaction_id),
	    cmocka_unit_test(test_request_build_pkcsreq),
	    cmocka_unit_test(test_request_build_certpoll),
	    cmocka_unit_test(test_request_build_renewal),
	    cmocka_unit_test(test_request_build_errors),
	    cmocka_unit_test(test_envelope_cipher_nid),
	    cmocka_unit_test(test_envelope_cipher_nid_ber),
	    cmocka_unit_test(test_envelope_cipher_nid_garbage),
	    cmocka_unit_test(test_certrep_success_round_trip),
	    cmocka_unit_test(test_certrep_success_ec_ra),
	    cmocka_unit_test(test_certrep_legacy_algorithms),
	    cmocka_unit_test(test_certrep_failure),
	    cmocka_unit_test(test_certrep_pending),
	    cmocka_unit_test(test_certrep_attribute_edge_cases),
	    cmocka_unit_test(test_certrep_signer_unknown),
	    cmocka_unit_test(test_certrep_tampered),
	    cmocka_unit_test(test_certrep_unsigned),
	    cmocka_unit_test(test_certrep_malformed),
	    cmocka_unit_test(test_certrep_decrypt_errors),
	    cmocka_unit_test(test_fail_info_status),
	    cmocka_unit_test(test_ca_parse_single_der),
	    cmocka_unit_test(test_ca_parse_ra_any_order),
	    cmocka_unit_test(test_ca_parse_lone_ra),
	    cmocka_unit_test(test_ca_parse_pem),
	    cmocka_unit_test(test_ca_parse_garbage),
	    cmocka_unit_test(test_ca_parse_intermediate_and_root),
	    cmocka_unit_test(test_ca_check_pin),
	    cmocka_unit_test(test_ca_check_pin_intermediate),
	    cmocka_unit_test(test_ca_check_pin_foreign_ca),
	    cmocka_unit_test(test_ca_check_expired),
	    cmocka_unit_test(test_ca_check_clock_skew),
	    cmocka_unit_test(test_ca_check_expiring),
	    cmocka_unit_test(test_ca_check_ra_not_from_ca),
	    cmocka_unit_test(test_issued_ok),
	    cmocka_unit_test(test_issued_with_ra_split),
	    cmocka_unit_test(test_issued_key_mismatch_and_missing),
	    cmocka_unit_test(test_issued_validity),
	    cmocka_unit_test(test_issued_clock_skew),
	    cmocka_unit_test(test_issued_untrusted),
	    cmocka_unit_test(test_issued_subject),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
