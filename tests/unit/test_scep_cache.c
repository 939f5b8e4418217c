/*
 * test_scep_cache: an enrollment's in-memory state (issue 11): one entry per state
 * directory, a new key drops what was made for the old one, the GetCACert parse is
 * shared by reference, and everything is freed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/pki.h"
#include "pki/scep_cache.h"
#include "pki/scep_msg.h"

static EVP_PKEY *gen_ec(void)
{
	return EVP_EC_gen("P-256");
}

static void test_one_entry_per_dir(void **state)
{
	struct scep_cache *a = scep_cache_get("/s/txn/a"), *b = scep_cache_get("/s/txn/b");

	(void)state;
	assert_non_null(a);
	assert_ptr_not_equal(a, b);
	assert_ptr_equal(scep_cache_get("/s/txn/a"), a);
	assert_string_equal(a->dir, "/s/txn/a");
	assert_false(a->disk_read);
	assert_null(a->key);
	scep_cache_free_all();
}

static void test_new_key_drops_what_was_made(void **state)
{
	struct scep_cache *c = scep_cache_get("/s/txn/k");
	EVP_PKEY *k1 = gen_ec(), *k2 = gen_ec();
	X509_NAME *subject = pki_name_parse("CN=probe");

	(void)state;
	scep_cache_set_key(c, k1, 1, true);
	assert_ptr_equal(c->key, k1);
	c->signer = scep_selfsigned_build(k1, subject, EVP_sha256());
	assert_non_null(c->signer);
	c->csr = OPENSSL_memdup("csr", 3);
	c->csr_len = 3;
	c->subject = strdup("CN=probe");
	snprintf(c->tid, sizeof c->tid, "ABC");
	c->key_pem = strdup("pem");
	c->key_pem_len = 3;
	/* the same key again: only the counters change */
	scep_cache_set_key(c, k1, 2, true);
	assert_non_null(c->signer);
	assert_int_equal(c->key_runs, 2);
	/* another key: the signer, CSR, transactionID and PEM were the old key's */
	scep_cache_set_key(c, k2, 0, false);
	assert_ptr_equal(c->key, k2);
	assert_null(c->signer);
	assert_null(c->csr);
	assert_null(c->subject);
	assert_null(c->key_pem);
	assert_string_equal(c->tid, "");
	assert_false(c->key_saved);
	/* the cache holds its own references */
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	assert_int_equal(EVP_PKEY_get_bits(c->key), 256);
	X509_NAME_free(subject);
	scep_cache_free_all();
}

static void test_forget_ca(void **state)
{
	struct scep_cache *c = scep_cache_get("/s/txn/ca");
	struct scep_ca copy;
	EVP_PKEY *k = gen_ec();
	X509_NAME *subject = pki_name_parse("CN=ca");
	X509 *x = scep_selfsigned_build(k, subject, EVP_sha256());

	(void)state;
	c->ca.certs = sk_X509_new_null();
	sk_X509_push(c->ca.certs, x);
	c->ca.ca = c->ca.recipient = c->ca.signer = x;
	c->ca.signers = sk_X509_new_null();
	sk_X509_push(c->ca.signers, x);
	c->ca_body = malloc(1);
	c->ca_body_len = 1;
	c->ca_saved = true;
	/* a run's copy shares the certificates and outlives the cache's */
	scep_ca_dup(&c->ca, &copy);
	scep_cache_forget_ca(c);
	assert_null(c->ca_body);
	assert_null(c->ca.certs);
	assert_false(c->ca_saved);
	assert_ptr_equal(copy.ca, x);
	assert_int_equal(sk_X509_num(copy.certs), 1);
	assert_int_equal(X509_check_private_key(copy.recipient, k), 1);
	scep_ca_clear(&copy);
	EVP_PKEY_free(k);
	X509_NAME_free(subject);
	scep_cache_free_all();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_entry_per_dir),
	    cmocka_unit_test(test_new_key_drops_what_was_made),
	    cmocka_unit_test(test_forget_ca),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
