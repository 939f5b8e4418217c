/*
 * scep_msg: building and reading SCEP pkiMessages with CMS (see scep_msg.h).
 * Strictness lives here: a CertRep must be signed by a certificate we were given
 * out of band (GetCACert), never by one it carries itself.
 */
#include "pki/scep_msg.h"

#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"

#define OID_MESSAGE_TYPE "2.16.840.1.113733.1.9.2"
#define OID_PKI_STATUS "2.16.840.1.113733.1.9.3"
#define OID_FAIL_INFO "2.16.840.1.113733.1.9.4"
#define OID_SENDER_NONCE "2.16.840.1.113733.1.9.5"
#define OID_RECIPIENT_NONCE "2.16.840.1.113733.1.9.6"
#define OID_TRANSACTION_ID "2.16.840.1.113733.1.9.7"
#define OID_FAIL_INFO_TEXT "1.3.6.1.5.5.7.24.1"

static ASN1_OBJECT *scep_oid(const char *txt)
{
	return OBJ_txt2obj(txt, 1);
}

int scep_csr_build(EVP_PKEY *key, const X509_NAME *subject, const char *challenge, const EVP_MD *md,
                   unsigned char **der, size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	unsigned char *p = NULL;
	int n, rc = -1;

	if (req == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    X509_REQ_set_subject_name(req, subject) != 1 || X509_REQ_set_pubkey(req, key) != 1)
		goto out;
	if (challenge != NULL &&
	    X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword, MBSTRING_UTF8,
	                              (const unsigned char *)challenge, -1) != 1)
		goto out;
	if (X509_REQ_sign(req, key, md) <= 0)
		goto out;
	n = i2d_X509_REQ(req, &p);
	if (n <= 0)
		goto out;
	*der = p;
	*len = (size_t)n;
	rc = 0;
out:
	X509_REQ_free(req);
	return rc;
}

X509 *scep_selfsigned_build(EVP_PKEY *key, const X509_NAME *subject, const EVP_MD *md)
{
	X509 *x = X509_new();
	X509_EXTENSION *ext = NULL;
	X509V3_CTX ctx;
	unsigned char serial[8];
	BIGNUM *bn = NULL;

	if (x == NULL || X509_set_version(x, 2) != 1)
		goto bad;
	if (RAND_bytes(serial, sizeof serial) != 1)
		goto bad;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof serial, NULL);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto bad;
	if (X509_gmtime_adj(X509_getm_notBefore(x), -600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400) == NULL)
		goto bad;
	if (X509_set_subject_name(x, subject) != 1 || X509_set_issuer_name(x, subject) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		goto bad;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage,
	                          EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA
	                              ? "critical,digitalSignature,keyEncipherment"
	                              : "critical,digitalSignature,keyAgreement");
	if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
		goto bad;
	X509_EXTENSION_free(ext);
	ext = NULL;
	if (X509_sign(x, key, md) <= 0)
		goto bad;
	BN_free(bn);
	return x;
bad:
	X509_EXTENSION_free(ext);
	BN_free(bn);
	X509_free(x);
	return NULL;
}

void scep_transaction_id(EVP_PKEY *key, char *out, size_t outlen)
{
	unsigned char *spki = NULL, md[32];
	int n = i2d_PUBKEY(key, &spki);
	size_t off = 0;

	out[0] = '\0';
	if (n <= 0)
		return;
	SHA256(spki, (size_t)n, md);
	OPENSSL_free(spki);
	for (int i = 0; i < 32 && off + 3 <= outlen; i++)
		off += (size_t)snprintf(out + off, outlen - off, "%02X", md[i]);
}

/* IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name } */
static int scep_issuer_and_subject(X509 *ca, const X509_NAME *subject, unsigned char **der,
                                   size_t *len)
{
	unsigned char *a = NULL, *b = NULL, *out, *p;
	int na = i2d_X509_NAME(X509_get_subject_name(ca), &a);
	int nb = i2d_X509_NAME(subject, &b);
	int total, n;

	if (na <= 0 || nb <= 0) {
		OPENSSL_free(a);
		OPENSSL_free(b);
		return -1;
	}
	total = ASN1_object_size(1, na + nb, V_ASN1_SEQUENCE);
	out = OPENSSL_malloc((size_t)total);
	if (out == NULL)
		abort();
	p = out;
	ASN1_put_object(&p, 1, na + nb, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	memcpy(p, a, (size_t)na);
	memcpy(p + na, b, (size_t)nb);
	n = (int)(p - out) + na + nb;
	OPENSSL_free(a);
	OPENSSL_free(b);
	*der = out;
	*len = (size_t)n;
	return 0;
}

static int scep_add_string_attr(CMS_SignerInfo *si, const char *oid, int type, const void *data,
                                int len)
{
	ASN1_OBJECT *obj = scep_oid(oid);
	int rc;

	/* len -1 would make OpenSSL read data as an ASN1_STRING *, not as bytes */
	if (len < 0)
		len = (int)strlen(data);
	rc = CMS_signed_add1_attr_by_OBJ(si, obj, type, data, len);

	ASN1_OBJECT_free(obj);
	return rc == 1 ? 0 : -1;
}

int scep_request_build(const struct scep_request *req, unsigned char nonce[SCEP_NONCE_LEN],
                       unsigned char **der, size_t *len, char *err, size_t errlen)
{
	STACK_OF(X509) *rcpt = sk_X509_new_null();
	CMS_ContentInfo *env = NULL, *sd = NULL;
	CMS_SignerInfo *si;
	BIO *in = NULL, *envbio = NULL;
	unsigned char *msg = NULL, *envder = NULL, *out = NULL;
	size_t msglen = 0;
	char type[8], ebuf[160];
	int envlen, n, rc = -1;

	if (req->type == SCEP_MSG_CERTPOLL) {
		if (scep_issuer_and_subject(req->ca, req->subject, &msg, &msglen) == -1) {
			snprintf(err, errlen, "cannot encode IssuerAndSubject");
			goto out;
		}
		in = BIO_new_mem_buf(msg, (int)msglen);
	} else {
		in = BIO_new_mem_buf(req->csr_der, (int)req->csr_len);
	}
	/* pkcsPKIEnvelope: to exactly one recipient (NDES rejects more). */
	sk_X509_push(rcpt, req->recipient);
	env = CMS_encrypt(rcpt, in, req->cipher, CMS_BINARY);
	if (env == NULL) {
		snprintf(err, errlen, "cannot encrypt to the RA certificate: %s",
		         pki_last_error(ebuf, sizeof ebuf));
		goto out;
	}
	envlen = i2d_CMS_ContentInfo(env, &envder);
	if (envlen <= 0)
		goto fail_ssl;

	sd = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
	if (sd == NULL)
		goto fail_ssl;
	si = CMS_add1_signer(sd, req->signer, req->key, req->md, CMS_BINARY | CMS_NOSMIMECAP);
	if (si == NULL)
		goto fail_ssl;
	if (RAND_bytes(nonce, SCEP_NONCE_LEN) != 1)
		goto fail_ssl;
	snprintf(type, sizeof type, "%d", (int)req->type);
	if (scep_add_string_attr(si, OID_TRANSACTION_ID, V_ASN1_PRINTABLESTRING,
	                         req->transaction_id, -1) == -1 ||
	    scep_add_string_attr(si, OID_MESSAGE_TYPE, V_ASN1_PRINTABLESTRING, type, -1) == -1 ||
	    scep_add_string_attr(si, OID_SENDER_NONCE, V_ASN1_OCTET_STRING, nonce,
	                         SCEP_NONCE_LEN) == -1)
		goto fail_ssl;
	envbio = BIO_new_mem_buf(envder, envlen);
	if (CMS_final(sd, envbio, NULL, CMS_BINARY) != 1)
		goto fail_ssl;
	n = i2d_CMS_ContentInfo(sd, &out);
	if (n <= 0)
		goto fail_ssl;
	*der = out;
	*len = (size_t)n;
	rc = 0;
	goto out;
fail_ssl:
	snprintf(err, errlen, "cannot build the pkiMessage: %s", pki_last_error(ebuf, sizeof ebuf));
out:
	BIO_free(envbio);
	CMS_ContentInfo_free(sd);
	CMS_ContentInfo_free(env);
	OPENSSL_free(envder);
	OPENSSL_free(msg);
	BIO_free(in);
	sk_X509_free(rcpt);
	return rc;
}

/* A string attribute of any string type; NULL when absent. */
static const ASN1_STRING *scep_attr_string(CMS_SignerInfo *si, const char *oid, int *type)
{
	ASN1_OBJECT *obj = scep_oid(oid);
	int idx = CMS_signed_get_attr_by_OBJ(si, obj, -1);
	X509_ATTRIBUTE *attr;
	ASN1_TYPE *t;

	ASN1_OBJECT_free(obj);
	if (idx < 0)
		return NULL;
	attr = CMS_signed_get_attr(si, idx);
	if (attr == NULL || X509_ATTRIBUTE_count(attr) < 1)
		return NULL;
	t = X509_ATTRIBUTE_get0_type(attr, 0);
	if (t == NULL)
		return NULL;
	switch (t->type) {
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_UTF8STRING:
	case V_ASN1_IA5STRING:
	case V_ASN1_OCTET_STRING:
	case V_ASN1_T61STRING:
		*type = t->type;
		return t->value.asn1_string;
	default:
		return NULL;
	}
}

static void scep_copy_text(char *dst, size_t dstlen, const ASN1_STRING *s)
{
	int n = ASN1_STRING_length(s);
	const unsigned char *d = ASN1_STRING_get0_data(s);
	size_t j = 0;

	for (int i = 0; i < n && j + 1 < dstlen; i++)
		dst[j++] = (d[i] >= 0x20 && d[i] < 0x7f) ? (char)d[i] : '?';
	dst[j] = '\0';
}

static int scep_small_int(const ASN1_STRING *s)
{
	int n = ASN1_STRING_length(s), v = 0;
	const unsigned char *d = ASN1_STRING_get0_data(s);

	if (n < 1 || n > 4)
		return -2;
	for (int i = 0; i < n; i++) {
		if (d[i] < '0' || d[i] > '9')
			return -2;
		v = v * 10 + (d[i] - '0');
	}
	return v;
}

void scep_certrep_clear(struct scep_certrep *rep)
{
	OPENSSL_free(rep->envelope);
	memset(rep, 0, sizeof *rep);
	rep->message_type = -1;
	rep->pki_status = -1;
}

enum txn_status scep_certrep_parse(const unsigned char *der, size_t len, STACK_OF(X509) *signers,
                                   struct scep_certrep *rep, char *detail, size_t dlen)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(CMS_SignerInfo) *sis;
	CMS_SignerInfo *si;
	BIO *out = NULL, *dcont = NULL;
	X509_ALGOR *digalg = NULL;
	const ASN1_STRING *s;
	enum txn_status st = TXN_SCEP_CERTREP_MALFORMED;
	char ebuf[160];
	int type;

	memset(rep, 0, sizeof *rep);
	rep->message_type = -1;
	rep->pki_status = -1;
	if (len == 0 || len > 16 * 1024 * 1024) {
		snprintf(detail, dlen, "empty or absurdly large message (%zu bytes)", len);
		goto out;
	}
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms == NULL) {
		snprintf(detail, dlen, "not a CMS message (%zu bytes): %s", len,
		         pki_last_error(ebuf, sizeof ebuf));
		goto out;
	}
	if ((size_t)(p - der) != len) {
		snprintf(detail, dlen, "%zu bytes of trailing data after the CMS message",
		         len - (size_t)(p - der));
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		snprintf(detail, dlen, "CMS content type %s, expected signedData",
		         OBJ_nid2sn(OBJ_obj2nid(CMS_get0_type(cms))));
		goto out;
	}
	sis = CMS_get0_SignerInfos(cms);
	if (sis == NULL || sk_CMS_SignerInfo_num(sis) == 0) {
		st = TXN_SCEP_CERTREP_UNSIGNED;
		snprintf(detail, dlen, "the SignedData has no signerInfo");
		goto out;
	}
	si = sk_CMS_SignerInfo_value(sis, 0);
	out = BIO_new(BIO_s_mem());
	if (CMS_is_detached(cms))
		dcont = BIO_new_mem_buf("", 0);
	/* Signer certificates only from what GetCACert gave us (CMS_NOINTERN). */
	if (CMS_verify(cms, signers, NULL, dcont, out,
	               CMS_NO_SIGNER_CERT_VERIFY | CMS_NOINTERN | CMS_BINARY) != 1) {
		unsigned long e = ERR_peek_last_error();
		st = TXN_SCEP_CERTREP_SIGNATURE;
		if (ERR_GET_REASON(e) == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND)
			snprintf(detail, dlen, "signed by a certificate that is not the CA/RA's");
		else
			snprintf(detail, dlen, "%s", pki_last_error(ebuf, sizeof ebuf));
		goto out;
	}
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &digalg, NULL);
	rep->digest_nid = digalg != NULL ? OBJ_obj2nid(digalg->algorithm) : NID_undef;

	s = scep_attr_string(si, OID_MESSAGE_TYPE, &type);
	if (s != NULL)
		rep->message_type = scep_small_int(s);
	s = scep_attr_string(si, OID_PKI_STATUS, &type);
	if (s != NULL)
		rep->pki_status = scep_small_int(s);
	s = scep_attr_string(si, OID_TRANSACTION_ID, &type);
	if (s != NULL) {
		rep->has_transaction_id = true;
		scep_copy_text(rep->transaction_id, sizeof rep->transaction_id, s);
		if ((size_t)ASN1_STRING_length(s) >= sizeof rep->transaction_id)
			rep->transaction_id[0] = '\0'; /* too long: cannot match */
	}
	s = scep_attr_string(si, OID_RECIPIENT_NONCE, &type);
	if (s != NULL && (size_t)ASN1_STRING_length(s) <= sizeof rep->recipient_nonce) {
		rep->has_recipient_nonce = true;
		rep->recipient_nonce_len = (size_t)ASN1_STRING_length(s);
		memcpy(rep->recipient_nonce, ASN1_STRING_get0_data(s), rep->recipient_nonce_len);
	}
	s = scep_attr_string(si, OID_FAIL_INFO, &type);
	if (s != NULL) {
		rep->has_fail_info = true;
		scep_copy_text(rep->fail_info, sizeof rep->fail_info, s);
	}
	s = scep_attr_string(si, OID_FAIL_INFO_TEXT, &type);
	if (s != NULL)
		scep_copy_text(rep->fail_info_text, sizeof rep->fail_info_text, s);

	{
		char *data;
		long n = BIO_get_mem_data(out, &data);
		if (n > 0) {
			rep->envelope = OPENSSL_malloc((size_t)n);
			if (rep->envelope == NULL)
				abort();
			memcpy(rep->envelope, data, (size_t)n);
			rep->envelope_len = (size_t)n;
		}
	}
	st = TXN_OK;
out:
	ERR_clear_error();
	BIO_free(dcont);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return st;
}

/* Skip one DER/BER element at *p (definite length only). 0 or -1. */
static int der_skip(const unsigned char **p, long *left)
{
	const unsigned char *q = *p;
	long len;
	int tag, cls, r;

	r = ASN1_get_object(&q, &len, &tag, &cls, *left);
	if ((r & 0x80) || (r & 0x21) == 0x21)
		return -1; /* error, or indefinite length */
	if (len > *left - (q - *p))
		return -1;
	q += len;
	*left -= q - *p;
	*p = q;
	return 0;
}

/* Enter a constructed element at *p. 0 or -1. */
static int der_enter(const unsigned char **p, long *left, int want_tag, int want_cls)
{
	const unsigned char *q = *p;
	long len;
	int tag, cls, r;

	r = ASN1_get_object(&q, &len, &tag, &cls, *left);
	if ((r & 0x80) || !(r & V_ASN1_CONSTRUCTED) || tag != want_tag || cls != want_cls)
		return -1;
	*left -= q - *p;
	*p = q;
	if (!(r & 1) && len < *left)
		*left = len; /* definite: stay inside it */
	return 0;
}

static int der_peek_tag(const unsigned char *p, long left, int *tag, int *cls)
{
	long len;
	const unsigned char *q = p;
	int r = ASN1_get_object(&q, &len, tag, cls, left);

	return (r & 0x80) ? -1 : 0;
}

int scep_envelope_cipher_nid(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	long left = (long)len;
	ASN1_OBJECT *obj = NULL;
	int tag, cls, nid;

	if (len == 0 || len > 64 * 1024 * 1024)
		return NID_undef;
	/* ContentInfo { contentType, [0] EnvelopedData { version, [0] originatorInfo OPTIONAL,
	 *   recipientInfos, encryptedContentInfo { contentType, contentEncryptionAlgorithm } } } */
	if (der_enter(&p, &left, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL) == -1 ||
	    der_skip(&p, &left) == -1 || der_enter(&p, &left, 0, V_ASN1_CONTEXT_SPECIFIC) == -1 ||
	    der_enter(&p, &left, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL) == -1 ||
	    der_skip(&p, &left) == -1)
		return NID_undef;
	if (der_peek_tag(p, left, &tag, &cls) == -1)
		return NID_undef;
	if (cls == V_ASN1_CONTEXT_SPECIFIC && tag == 0 && der_skip(&p, &left) == -1)
		return NID_undef;
	if (der_skip(&p, &left) == -1 || /* recipientInfos */
	    der_enter(&p, &left, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL) == -1 ||
	    der_skip(&p, &left) == -1 ||
	    der_enter(&p, &left, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL) == -1)
		return NID_undef;
	if (d2i_ASN1_OBJECT(&obj, &p, left) == NULL)
		return NID_undef;
	nid = OBJ_obj2nid(obj);
	ASN1_OBJECT_free(obj);
	return nid;
}

/* Content ciphers only the legacy provider has. */
static bool scep_cipher_is_legacy(int nid)
{
	return nid == NID_des_cbc || nid == NID_rc2_cbc || nid == NID_rc2_40_cbc ||
	       nid == NID_rc2_64_cbc || nid == NID_bf_cbc || nid == NID_cast5_cbc;
}

enum txn_status scep_certrep_decrypt(const struct scep_certrep *rep, EVP_PKEY *key, X509 *cert,
                                     STACK_OF(X509) **certs, int *cipher_nid, char *detail,
                                     size_t dlen)
{
	const unsigned char *p = rep->envelope;
	CMS_ContentInfo *env = NULL, *inner = NULL;
	BIO *out = NULL;
	char *data, ebuf[160];
	long n;
	enum txn_status st = TXN_SCEP_DECRYPT_FAILED;

	*certs = NULL;
	*cipher_nid = NID_undef;
	if (rep->envelope == NULL || rep->envelope_len == 0) {
		st = TXN_SCEP_CERTREP_MALFORMED;
		snprintf(detail, dlen, "SUCCESS without a pkcsPKIEnvelope");
		goto out;
	}
	*cipher_nid = scep_envelope_cipher_nid(rep->envelope, rep->envelope_len);
	if (scep_cipher_is_legacy(*cipher_nid) && pki_legacy_libctx() != NULL) {
		/* parsed into the legacy context, CMS_decrypt fetches the cipher there */
		env = CMS_ContentInfo_new_ex(pki_legacy_libctx(), NULL);
		if (env != NULL && d2i_CMS_ContentInfo(&env, &p, (long)rep->envelope_len) == NULL) {
			CMS_ContentInfo_free(env);
			env = NULL;
		}
	} else {
		env = d2i_CMS_ContentInfo(NULL, &p, (long)rep->envelope_len);
	}
	if (env == NULL || OBJ_obj2nid(CMS_get0_type(env)) != NID_pkcs7_enveloped) {
		st = TXN_SCEP_CERTREP_MALFORMED;
		snprintf(detail, dlen, "the signed content is not an EnvelopedData");
		goto out;
	}
	out = BIO_new(BIO_s_mem());
	if (CMS_decrypt(env, key, cert, NULL, out, CMS_BINARY) != 1) {
		snprintf(detail, dlen, "%s%s%s", pki_last_error(ebuf, sizeof ebuf),
		         *cipher_nid != NID_undef ? "; cipher " : "",
		         *cipher_nid != NID_undef ? OBJ_nid2sn(*cipher_nid) : "");
		goto out;
	}
	n = BIO_get_mem_data(out, &data);
	p = (const unsigned char *)data;
	inner = n > 0 ? d2i_CMS_ContentInfo(NULL, &p, n) : NULL;
	if (inner == NULL || OBJ_obj2nid(CMS_get0_type(inner)) != NID_pkcs7_signed) {
		st = TXN_SCEP_CERTREP_MALFORMED;
		snprintf(detail, dlen, "the decrypted content is not a degenerate SignedData");
		goto out;
	}
	*certs = CMS_get1_certs(inner);
	if (*certs == NULL)
		*certs = sk_X509_new_null();
	st = TXN_OK;
out:
	ERR_clear_error();
	CMS_ContentInfo_free(inner);
	BIO_free(out);
	CMS_ContentInfo_free(env);
	return st;
}

enum txn_status scep_fail_info_status(const char *fail_info, const char **name)
{
	static const struct {
		const char *code, *name;
		enum txn_status status;
	} map[] = {
	    {"0", "badAlg", TXN_SCEP_FAILURE_BAD_ALG},
	    {"1", "badMessageCheck", TXN_SCEP_FAILURE_BAD_MESSAGE_CHECK},
	    {"2", "badRequest", TXN_SCEP_FAILURE_BAD_REQUEST},
	    {"3", "badTime", TXN_SCEP_FAILURE_BAD_TIME},
	    {"4", "badCertId", TXN_SCEP_FAILURE_BAD_CERT_ID},
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (strcmp(fail_info, map[i].code) == 0) {
			*name = map[i].name;
			return map[i].status;
		}
	}
	*name = "unknown failInfo";
	return TXN_SCEP_FAILURE_OTHER;
}
