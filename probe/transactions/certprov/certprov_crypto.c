/* certprov_crypto: proof key, signatures, base64, CSR and certificate checks (see .h). */
#include "transactions/certprov/certprov_crypto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"
#include "pki/tls_diag.h"

void certprov_hmac_sha1(const unsigned char *key, size_t key_len, const void *data, size_t len,
                        unsigned char out[20])
{
	unsigned int n = 20;

	HMAC(EVP_sha1(), key, (int)key_len, data, len, out, &n);
}

void certprov_sha1(const void *data, size_t len, unsigned char out[20])
{
	EVP_Digest(data, len, out, NULL, EVP_sha1(), NULL);
}

/* RFC 2246 §5: A(0) = seed, A(i) = HMAC(secret, A(i-1)); out = HMAC(secret, A(i) + seed)... */
void certprov_psha1(const unsigned char *secret, size_t secret_len, const unsigned char *seed,
                    size_t seed_len, unsigned char *out, size_t out_len)
{
	unsigned char a[20], block[20];
	unsigned char *buf = malloc(20 + seed_len);
	size_t done = 0;

	if (buf == NULL)
		abort();
	certprov_hmac_sha1(secret, secret_len, seed, seed_len, a);
	while (done < out_len) {
		size_t n = out_len - done < 20 ? out_len - done : 20;
		memcpy(buf, a, 20);
		memcpy(buf + 20, seed, seed_len);
		certprov_hmac_sha1(secret, secret_len, buf, 20 + seed_len, block);
		memcpy(out + done, block, n);
		done += n;
		certprov_hmac_sha1(secret, secret_len, a, 20, a);
	}
	OPENSSL_cleanse(block, sizeof block);
	OPENSSL_cleanse(a, sizeof a);
	free(buf);
}

int certprov_base64(const unsigned char *p, size_t n, size_t wrap, struct bbuf *out)
{
	size_t len = 4 * ((n + 2) / 3);
	char *b = malloc(len + 1);
	int rc = 0;

	if (b == NULL)
		abort();
	EVP_EncodeBlock((unsigned char *)b, p, (int)n);
	if (wrap == 0) {
		rc = bbuf_append(out, b, len);
	} else {
		for (size_t i = 0; i < len && rc == 0; i += wrap) {
			size_t k = len - i < wrap ? len - i : wrap;
			if (i > 0)
				rc = bbuf_append(out, "\r\n", 2);
			if (rc == 0)
				rc = bbuf_append(out, b + i, k);
		}
	}
	free(b);
	return rc;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int certprov_base64_decode(const char *in, size_t n, struct bbuf *out)
{
	unsigned acc = 0;
	int bits = 0;
	size_t pad = 0, chars = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			chars++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad > 0)
			return -1;
		chars++;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			unsigned char byte = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
			if (bbuf_append(out, &byte, 1) == -1)
				return -1;
		}
	}
	if (chars % 4 != 0 || pad > 2)
		return -1;
	return 0;
}

static void uuid_format(const unsigned char b[16], char *buf, size_t len, bool upper)
{
	snprintf(buf, len,
	         upper ? "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X"
	               : "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

void certprov_device_id(const char *seed, char *buf, size_t len)
{
	unsigned char h[20];
	char id[40];

	certprov_sha1(seed, strlen(seed), h);
	h[6] = (unsigned char)((h[6] & 0x0f) | 0x50); /* name-based (version 5, SHA-1) */
	h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
	uuid_format(h, id, sizeof id, true);
	snprintf(buf, len, "{%s}", id);
}

int certprov_uuid(char *buf, size_t len)
{
	unsigned char b[16];

	if (pki_random(b, sizeof b) == -1)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	uuid_format(b, buf, len, false);
	return 0;
}

int certprov_csr_base64(EVP_PKEY *key, const char *entity, struct bbuf *out)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	int n, rc = -1;

	if (req == NULL || name == NULL)
		goto out;
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)entity, -1,
	                               -1, 0) != 1)
		goto out;
	if (X509_REQ_set_version(req, 0) != 1 || X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 || X509_REQ_sign(req, key, EVP_sha256()) <= 0)
		goto out;
	n = i2d_X509_REQ(req, &der);
	if (n <= 0)
		goto out;
	rc = certprov_base64(der, (size_t)n, 76, out);
out:
	OPENSSL_free(der);
	X509_NAME_free(name);
	X509_REQ_free(req);
	ERR_clear_error();
	return rc;
}

static STACK_OF(X509) *chain_from_p7(PKCS7 *p7)
{
	STACK_OF(X509) *certs = NULL, *copy;

	if (p7 == NULL)
		return NULL;
	if (PKCS7_type_is_signed(p7) && p7->d.sign != NULL)
		certs = p7->d.sign->cert;
	else if (PKCS7_type_is_signedAndEnveloped(p7) && p7->d.signed_and_enveloped != NULL)
		certs = p7->d.signed_and_enveloped->cert;
	if (certs == NULL || sk_X509_num(certs) == 0) {
		PKCS7_free(p7);
		return NULL;
	}
	copy = X509_chain_up_ref(certs);
	PKCS7_free(p7);
	return copy;
}

STACK_OF(X509) *certprov_chain_parse(const unsigned char *p, size_t n)
{
	const unsigned char *q = p;
	STACK_OF(X509) *chain = NULL;
	BIO *bio;
	X509 *x;

	if (p == NULL || n == 0 || n > 1024 * 1024)
		return NULL;
	chain = chain_from_p7(d2i_PKCS7(NULL, &q, (long)n));
	if (chain != NULL)
		goto out;
	bio = BIO_new_mem_buf(p, (int)n);
	chain = chain_from_p7(PEM_read_bio_PKCS7(bio, NULL, NULL, NULL));
	BIO_free(bio);
	if (chain != NULL)
		goto out;
	bio = BIO_new_mem_buf(p, (int)n);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (chain == NULL)
			chain = sk_X509_new_null();
		sk_X509_push(chain, x);
	}
	BIO_free(bio);
	if (chain != NULL)
		goto out;
	q = p;
	x = d2i_X509(NULL, &q, (long)n);
	if (x != NULL) {
		chain = sk_X509_new_null();
		sk_X509_push(chain, x);
	}
out:
	ERR_clear_error();
	return chain;
}

void certprov_chain_free(STACK_OF(X509) *chain)
{
	sk_X509_pop_free(chain, X509_free);
}

int certprov_chain_count(const STACK_OF(X509) *chain)
{
	return chain != NULL ? sk_X509_num(chain) : 0;
}

int certprov_chain_pem(const STACK_OF(X509) *chain, struct bbuf *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc = 0;

	for (int i = 0; i < certprov_chain_count(chain) && rc == 0; i++)
		if (PEM_write_bio_X509(bio, sk_X509_value(chain, i)) != 1)
			rc = -1;
	len = BIO_get_mem_data(bio, &data);
	if (rc == 0 && len > 0)
		rc = bbuf_append(out, data, (size_t)len);
	BIO_free(bio);
	return rc;
}

static void name_short(const X509_NAME *name, char *buf, size_t len)
{
	pki_name_string(name, buf, len);
}

void certprov_chain_describe(const STACK_OF(X509) *chain, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < certprov_chain_count(chain) && used + 1 < len; i++) {
		X509 *x = sk_X509_value(chain, i);
		char s[120], is[120];
		int w;
		name_short(X509_get_subject_name(x), s, sizeof s);
		name_short(X509_get_issuer_name(x), is, sizeof is);
		w = snprintf(buf + used, len - used, "%s%s (issuer %s)", i ? "; " : "", s, is);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* A store of every certificate in the PEM text (roots and intermediates alike). */
static X509_STORE *store_from_pem(const char *pem, size_t len, STACK_OF(X509) **certs)
{
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *all = certprov_chain_parse((const unsigned char *)pem, len);

	for (int i = 0; i < certprov_chain_count(all); i++)
		X509_STORE_add_cert(store, sk_X509_value(all, i));
	*certs = all;
	ERR_clear_error();
	return store;
}

enum txn_status certprov_chain_diagnose(const STACK_OF(X509) *sent, const char *trust_pem,
                                        size_t trust_len, char *buf, size_t len)
{
	STACK_OF(X509) *trusted = NULL;
	X509_STORE *store;
	X509_STORE_CTX *ctx;
	X509 *leaf, *top;
	char leafs[120], missing[120];
	enum txn_status st = TXN_OK;
	int err = X509_V_OK, n = certprov_chain_count(sent);

	buf[0] = '\0';
	if (n == 0) {
		snprintf(buf, len, "the server sent no certificate");
		return TXN_CERTPROV_WEBSVC_UNTRUSTED;
	}
	leaf = sk_X509_value(sent, 0);
	store = store_from_pem(trust_pem, trust_len, &trusted);
	ctx = X509_STORE_CTX_new();
	X509_STORE_CTX_init(ctx, store, leaf, (STACK_OF(X509) *)(uintptr_t)sent);
	if (X509_verify_cert(ctx) != 1)
		err = X509_STORE_CTX_get_error(ctx);
	{
		STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(ctx);
		top = built != NULL && sk_X509_num(built) > 0
		          ? sk_X509_value(built, sk_X509_num(built) - 1)
		          : leaf;
	}
	name_short(X509_get_subject_name(leaf), leafs, sizeof leafs);
	name_short(X509_get_issuer_name(top), missing, sizeof missing);
	switch (err) {
	case X509_V_OK:
		snprintf(buf, len, "the chain %s verifies against the device trust store", leafs);
		st = TXN_OK;
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		if (top == leaf || !pki_cert_is_ca(top)) {
			/* no issuer for the server's own certificate: an intermediate is missing */
			snprintf(
			    buf, len,
			    "the server sent %d certificate%s (%s); the missing link is %s, in "
			    "neither the server's chain, the downloaded root chain nor the "
			    "device trust store",
			    n, n == 1 ? "" : "s", leafs, missing);
			st = TXN_CERTPROV_WEBSVC_CHAIN_INCOMPLETE;
		} else {
			/* the path reaches a CA whose issuer (the root) the device does not have */
			char ca[120];
			name_short(X509_get_subject_name(top), ca, sizeof ca);
			snprintf(buf, len,
			         "%s chains to %s, issued by %s: not a root the device ships with "
			         "(trust_store)",
			         leafs, ca, missing);
			st = TXN_CERTPROV_WEBSVC_UNTRUSTED;
		}
		break;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_CERT_UNTRUSTED: {
		char root[120];
		name_short(X509_get_subject_name(top), root, sizeof root);
		snprintf(buf, len,
		         "%s chains to %s, a root the device does not ship with and the root "
		         "chain download did not provide",
		         leafs, root);
		st = TXN_CERTPROV_WEBSVC_UNTRUSTED;
		break;
	}
	default:
		snprintf(buf, len, "%s: %s", leafs, X509_verify_cert_error_string(err));
		st = tls_diag_verify_status(err);
		break;
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	certprov_chain_free(trusted);
	ERR_clear_error();
	return st;
}

/* entity (user@domain) in the CN or a SAN (URI sip:..., e-mail, DNS), "sip:" optional. */
static bool cert_names_entity(X509 *x, const char *entity)
{
	GENERAL_NAMES *sans;
	char cn[256];
	bool found = false;

	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) >
	    0) {
		const char *c = strncasecmp(cn, "sip:", 4) == 0 ? cn + 4 : cn;
		if (strcasecmp(c, entity) == 0)
			return true;
	}
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans) && !found; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		const ASN1_IA5STRING *s = NULL;
		if (g->type == GEN_URI)
			s = g->d.uniformResourceIdentifier;
		else if (g->type == GEN_EMAIL)
			s = g->d.rfc822Name;
		if (s != NULL) {
			const char *v = (const char *)ASN1_STRING_get0_data(s);
			int l = ASN1_STRING_length(s);
			if (l > 4 && strncasecmp(v, "sip:", 4) == 0) {
				v += 4;
				l -= 4;
			}
			found =
			    (size_t)l == strlen(entity) && strncasecmp(v, entity, (size_t)l) == 0;
		}
	}
	GENERAL_NAMES_free(sans);
	return found;
}

enum txn_status certprov_issued_check(const unsigned char *der, size_t n, EVP_PKEY *key,
                                      const char *entity, long min_seconds,
                                      const STACK_OF(X509) *published, const char *ca_pem,
                                      size_t ca_len, struct certprov_issued *out,
                                      bool *chain_checked, char *detail, size_t dlen)
{
	const unsigned char *q = der;
	X509 *x = d2i_X509(NULL, &q, (long)n);
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *ca_certs = NULL, *inter = NULL;
	long left, nb_in = 0;
	char name[160];
	enum txn_status st = TXN_CERTPROV_CERT_INVALID;

	memset(out, 0, sizeof *out);
	*chain_checked = false;
	detail[0] = '\0';
	if (x == NULL || q != der + n) {
		snprintf(detail, dlen,
		         "the token under RequestedSecurityToken is not one DER "
		         "X.509 certificate");
		goto out;
	}
	pki_name_string(X509_get_subject_name(x), name, sizeof name);
	if (X509_check_private_key(x, key) != 1) {
		snprintf(detail, dlen, "%s is not for the key of our request", name);
		goto out;
	}
	if (!cert_names_entity(x, entity)) {
		snprintf(detail, dlen, "%s does not name the entity %s", name, entity);
		goto out;
	}
	left = pki_cert_seconds_left(x, &nb_in);
	if (nb_in > 300) {
		snprintf(detail, dlen, "%s is valid only from %ld s from now (clock skew?)", name,
		         nb_in);
		goto out;
	}
	if (left < min_seconds) {
		snprintf(detail, dlen, "%s is valid for %ld s, less than %ld s", name, left,
		         min_seconds);
		goto out;
	}
	/* roots from the configured CA and from what the service published; the rest helps */
	store = X509_STORE_new();
	inter = sk_X509_new_null();
	if (ca_pem != NULL && ca_len > 0)
		ca_certs = certprov_chain_parse((const unsigned char *)ca_pem, ca_len);
	for (int i = 0; i < certprov_chain_count(ca_certs); i++)
		X509_STORE_add_cert(store, sk_X509_value(ca_certs, i));
	for (int i = 0; i < certprov_chain_count(published); i++) {
		X509 *c = sk_X509_value(published, i);
		if (X509_cmp(c, x) == 0)
			continue;
		/* what the service published beside it is the chain it vouches for */
		X509_STORE_add_cert(store, c);
		if (!pki_cert_is_self_signed(c) && sk_X509_push(inter, c) > 0)
			X509_up_ref(c);
	}
	if (certprov_chain_count(ca_certs) > 0 || certprov_chain_count(published) > 0) {
		ctx = X509_STORE_CTX_new();
		X509_STORE_CTX_init(ctx, store, x, NULL);
		/* an issuing CA given as the trust anchor need not be a self-signed root */
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
		*chain_checked = true;
		if (X509_verify_cert(ctx) != 1) {
			int e = X509_STORE_CTX_get_error(ctx);
			char is[160];
			pki_name_string(X509_get_issuer_name(x), is, sizeof is);
			snprintf(detail, dlen,
			         "%s (issuer %s) does not chain to the published chain "
			         "or the configured CA: %s",
			         name, is, X509_verify_cert_error_string(e));
			goto out;
		}
	}
	out->cert = x;
	x = NULL;
	out->chain = inter;
	inter = NULL;
	out->seconds_left = left;
	st = TXN_OK;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	certprov_chain_free(ca_certs);
	certprov_chain_free(inter);
	X509_free(x);
	ERR_clear_error();
	return st;
}

void certprov_issued_clear(struct certprov_issued *i)
{
	if (i == NULL)
		return;
	X509_free(i->cert);
	i->cert = NULL;
	certprov_chain_free(i->chain);
	i->chain = NULL;
}
