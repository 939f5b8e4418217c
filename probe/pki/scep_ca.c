/* scep_ca: GetCACert replies, RA selection, chain and validity checks (see scep_ca.h). */
#include "pki/scep_ca.h"

#include <stdio.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"

#define SCEP_CA_WARN_DAYS 30

void scep_ca_clear(struct scep_ca *ca)
{
	sk_X509_pop_free(ca->certs, X509_free);
	sk_X509_free(ca->signers);
	memset(ca, 0, sizeof *ca);
}

void scep_ca_dup(const struct scep_ca *src, struct scep_ca *dst)
{
	*dst = *src;
	dst->certs = src->certs != NULL ? X509_chain_up_ref(src->certs) : NULL;
	dst->signers = src->signers != NULL ? sk_X509_dup(src->signers) : NULL;
}

static STACK_OF(X509) *scep_ca_decode(const unsigned char *body, size_t len)
{
	const unsigned char *p = body;
	STACK_OF(X509) *certs = NULL;
	X509 *one;
	CMS_ContentInfo *cms;

	one = d2i_X509(NULL, &p, (long)len);
	if (one != NULL && (size_t)(p - body) == len) {
		certs = sk_X509_new_null();
		sk_X509_push(certs, one);
		return certs;
	}
	X509_free(one);
	p = body;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (cms != NULL && OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed)
		certs = CMS_get1_certs(cms);
	CMS_ContentInfo_free(cms);
	if (certs != NULL)
		return certs;
	if (len > 27 && memcmp(body, "-----BEGIN CERTIFICATE-----", 27) == 0) {
		BIO *b = BIO_new_mem_buf(body, (int)len);
		certs = sk_X509_new_null();
		while ((one = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
			sk_X509_push(certs, one);
		BIO_free(b);
		if (sk_X509_num(certs) == 0) {
			sk_X509_free(certs);
			certs = NULL;
		}
	}
	return certs;
}

/*
 * The CA that issued the non-CA certificates; else the lowest CA of the chain (one
 * that issued no other CA here: NDES publishes its issuing intermediate with the root);
 * else the first certificate.
 */
static X509 *scep_ca_pick_issuer(STACK_OF(X509) *certs)
{
	X509 *lowest = NULL;

	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		bool issued_a_ca = false;
		if (!pki_cert_is_ca(c))
			continue;
		for (int j = 0; j < sk_X509_num(certs); j++) {
			X509 *e = sk_X509_value(certs, j);
			if (e == c || X509_check_issued(c, e) != X509_V_OK)
				continue;
			if (!pki_cert_is_ca(e))
				return c;
			issued_a_ca = true;
		}
		if (lowest == NULL && !issued_a_ca)
			lowest = c;
	}
	if (lowest != NULL)
		return lowest;
	return sk_X509_num(certs) > 0 ? sk_X509_value(certs, 0) : NULL;
}

static X509 *scep_ca_pick_ee(STACK_OF(X509) *certs, unsigned long ku, unsigned long fallback_ku)
{
	X509 *fallback = NULL;

	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		if (pki_cert_is_ca(c))
			continue;
		if ((X509_get_extension_flags(c) & EXFLAG_KUSAGE) && pki_cert_has_ku(c, ku))
			return c;
		if (fallback == NULL && fallback_ku != 0 &&
		    (X509_get_extension_flags(c) & EXFLAG_KUSAGE) &&
		    pki_cert_has_ku(c, fallback_ku))
			fallback = c;
	}
	return fallback;
}

enum txn_status scep_ca_parse(const unsigned char *body, size_t len, struct scep_ca *ca,
                              char *detail, size_t dlen)
{
	memset(ca, 0, sizeof *ca);
	if (len == 0) {
		snprintf(detail, dlen, "empty GetCACert response");
		return TXN_SCEP_CACERT_MALFORMED;
	}
	ca->warn_days = SCEP_CA_WARN_DAYS;
	ca->certs = scep_ca_decode(body, len);
	ERR_clear_error();
	if (ca->certs == NULL || sk_X509_num(ca->certs) == 0) {
		snprintf(detail, dlen,
		         "GetCACert returned %zu bytes that are neither a certificate "
		         "nor a PKCS#7 certificate chain",
		         len);
		scep_ca_clear(ca);
		return TXN_SCEP_CACERT_MALFORMED;
	}
	ca->ca = scep_ca_pick_issuer(ca->certs);
	ca->recipient = scep_ca_pick_ee(ca->certs, KU_KEY_ENCIPHERMENT, KU_DATA_ENCIPHERMENT);
	ca->signer = scep_ca_pick_ee(ca->certs, KU_DIGITAL_SIGNATURE, 0);
	if (ca->recipient == NULL || ca->signer == NULL) {
		/* A lone RA without usable KU serves both roles; otherwise the CA does. */
		X509 *ee = NULL;
		int n_ee = 0;
		for (int i = 0; i < sk_X509_num(ca->certs); i++)
			if (!pki_cert_is_ca(sk_X509_value(ca->certs, i))) {
				ee = sk_X509_value(ca->certs, i);
				n_ee++;
			}
		if (ca->recipient == NULL)
			ca->recipient = n_ee == 1 ? ee : ca->ca;
		if (ca->signer == NULL)
			ca->signer = n_ee == 1 ? ee : ca->ca;
	}
	ca->ra_split = ca->recipient != ca->ca || ca->signer != ca->ca;
	ca->signers = sk_X509_new_null();
	sk_X509_push(ca->signers, ca->signer);
	if (ca->signer != ca->ca)
		sk_X509_push(ca->signers, ca->ca);
	return TXN_OK;
}

static X509_STORE *scep_ca_store(const struct scep_ca *ca, X509 *anchor)
{
	X509_STORE *store = X509_STORE_new();

	if (anchor != NULL) {
		X509_STORE_add_cert(store, anchor);
	} else {
		for (int i = 0; i < sk_X509_num(ca->certs); i++)
			if (pki_cert_is_ca(sk_X509_value(ca->certs, i)))
				X509_STORE_add_cert(store, sk_X509_value(ca->certs, i));
	}
	/* The published CA may be an intermediate: trust it without its root. Validity is
	 * checked by the callers with clock-skew slack, so the chain check skips time. */
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
	return store;
}

static int scep_verify_chain(X509_STORE *store, X509 *leaf, STACK_OF(X509) *untrusted, char *detail,
                             size_t dlen, const char *what)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	X509_STORE_CTX_init(ctx, store, leaf, untrusted);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
	ok = X509_verify_cert(ctx);
	if (ok != 1) {
		char name[160];
		pki_name_string(X509_get_subject_name(leaf), name, sizeof name);
		snprintf(detail, dlen, "%s %s: %s", what, name,
		         X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ok == 1 ? 0 : -1;
}

enum txn_status scep_ca_check(struct scep_ca *ca, const unsigned char *pin_sha256,
                              long *expiring_days, char *detail, size_t dlen)
{
	X509 *anchor = NULL;
	X509_STORE *store = NULL;
	enum txn_status st = TXN_OK;
	long min_left = -1;

	*expiring_days = -1;
	if (pin_sha256 != NULL) {
		for (int i = 0; i < sk_X509_num(ca->certs) && anchor == NULL; i++) {
			unsigned char md[32];
			pki_cert_sha256(sk_X509_value(ca->certs, i), md);
			if (memcmp(md, pin_sha256, 32) == 0)
				anchor = sk_X509_value(ca->certs, i);
		}
		if (anchor == NULL) {
			char fp[80];
			pki_cert_fingerprint_string(ca->ca, fp, sizeof fp);
			snprintf(detail, dlen, "the server's CA is %s", fp);
			return TXN_SCEP_CA_PIN_MISMATCH;
		}
		if (pki_cert_is_ca(anchor))
			ca->ca = anchor;
	}
	/* Only end-entity RA certificates are chain-checked below; a CA certificate may
	 * encrypt or sign for us only if it is the CA itself (never another CA in the reply). */
	if (pki_cert_is_ca(ca->recipient) && ca->recipient != ca->ca)
		ca->recipient = ca->ca;
	if (pki_cert_is_ca(ca->signer) && ca->signer != ca->ca)
		ca->signer = ca->ca;
	sk_X509_zero(ca->signers);
	sk_X509_push(ca->signers, ca->signer);
	if (ca->signer != ca->ca)
		sk_X509_push(ca->signers, ca->ca);
	ca->ra_split = ca->recipient != ca->ca || ca->signer != ca->ca;
	for (int i = 0; i < sk_X509_num(ca->certs); i++) {
		X509 *c = sk_X509_value(ca->certs, i);
		long before_in, left = pki_cert_seconds_left(c, &before_in);
		char name[160];
		if (left < 0 || before_in > 300) {
			pki_name_string(X509_get_subject_name(c), name, sizeof name);
			snprintf(detail, dlen, "%s %s", name,
			         left < 0 ? "has expired" : "is not yet valid");
			return TXN_SCEP_CA_EXPIRED;
		}
		if (min_left == -1 || left < min_left)
			min_left = left;
	}
	if (min_left >= 0 && min_left < ca->warn_days * 86400L)
		*expiring_days = min_left / 86400;
	store = scep_ca_store(ca, anchor);
	/* The RA certificates must chain to the CA; CA certificates above the pin are the
	 * chain itself and need no verdict. */
	for (int i = 0; i < sk_X509_num(ca->certs); i++) {
		X509 *c = sk_X509_value(ca->certs, i);
		if (c == anchor || pki_cert_is_ca(c))
			continue;
		if (scep_verify_chain(store, c, ca->certs, detail, dlen, "certificate") == -1) {
			st = TXN_SCEP_RA_CHAIN_INVALID;
			break;
		}
	}
	X509_STORE_free(store);
	return st;
}

static bool scep_name_contains(const X509_NAME *have, const X509_NAME *want)
{
	for (int i = 0; i < X509_NAME_entry_count(want); i++) {
		const X509_NAME_ENTRY *we = X509_NAME_get_entry(want, i);
		const ASN1_STRING *wv = X509_NAME_ENTRY_get_data(we);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(we));
		bool found = false;
		for (int j = -1; !found;) {
			const ASN1_STRING *hv;
			j = X509_NAME_get_index_by_NID(have, nid, j);
			if (j < 0)
				break;
			hv = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(have, j));
			found = ASN1_STRING_length(hv) == ASN1_STRING_length(wv) &&
			        memcmp(ASN1_STRING_get0_data(hv), ASN1_STRING_get0_data(wv),
			               (size_t)ASN1_STRING_length(wv)) == 0;
		}
		if (!found)
			return false;
	}
	return true;
}

enum txn_status scep_issued_check(STACK_OF(X509) *certs, EVP_PKEY *key, const struct scep_ca *ca,
                                  const X509_NAME *requested, X509 **issued, bool *subject_ok,
                                  char *detail, size_t dlen)
{
	X509 *mine = NULL;
	int n_ee = 0;
	long before_in, left;
	X509_STORE *store;
	STACK_OF(X509) *untrusted;
	int rc;

	*issued = NULL;
	*subject_ok = false;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		if (!pki_cert_is_ca(c))
			n_ee++;
		if (mine == NULL && EVP_PKEY_eq(X509_get0_pubkey(c), key) == 1)
			mine = c;
	}
	ERR_clear_error();
	if (mine == NULL) {
		snprintf(detail, dlen,
		         "%d certificate(s) in the reply, %d end-entity, none for our key",
		         sk_X509_num(certs), n_ee);
		return n_ee > 0 ? TXN_SCEP_ISSUED_KEY_MISMATCH : TXN_SCEP_ISSUED_MISSING;
	}
	left = pki_cert_seconds_left(mine, &before_in);
	if (left <= 0 || before_in > 300) {
		snprintf(detail, dlen, "issued certificate %s",
		         left <= 0 ? "has already expired" : "is not yet valid");
		return TXN_SCEP_ISSUED_VALIDITY;
	}
	if (ASN1_TIME_compare(X509_get0_notBefore(mine), X509_get0_notAfter(mine)) >= 0) {
		snprintf(detail, dlen, "issued certificate's notAfter is not after its notBefore");
		return TXN_SCEP_ISSUED_VALIDITY;
	}
	store = scep_ca_store(ca, ca->ca);
	untrusted = sk_X509_dup(certs);
	for (int i = 0; i < sk_X509_num(ca->certs); i++)
		sk_X509_push(untrusted, sk_X509_value(ca->certs, i));
	rc = scep_verify_chain(store, mine, untrusted, detail, dlen, "issued certificate");
	sk_X509_free(untrusted);
	X509_STORE_free(store);
	if (rc == -1)
		return TXN_SCEP_ISSUED_UNTRUSTED;
	*subject_ok = scep_name_contains(X509_get_subject_name(mine), requested);
	X509_up_ref(mine);
	*issued = mine;
	return TXN_OK;
}
