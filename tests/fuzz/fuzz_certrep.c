/*
 * fuzz_certrep: the CertRep parser (scep_certrep_parse) with a fixed signer, then the
 * envelope (scep_certrep_decrypt) when the signature holds, and the envelope cipher
 * reader on the raw input. The seeds in corpus/certrep/ are signed by the fixed key
 * of certrep_identity.h (made by gen_certrep_corpus.c), so mutations start from
 * verifiable messages.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "pki/pki.h"
#include "pki/scep_msg.h"

#include "certrep_identity.h"

static EVP_PKEY *fixed_key;
static X509 *fixed_cert;
static STACK_OF(X509) *fixed_signers;

static void fuzz_init(void)
{
	if (pki_init() != 0 || certrep_identity_load(&fixed_key, &fixed_cert) == -1)
		abort();
	fixed_signers = sk_X509_new_null();
	sk_X509_push(fixed_signers, fixed_cert);
}

static void fuzz_decrypt(const struct scep_certrep *rep)
{
	STACK_OF(X509) *certs = NULL;
	char detail[256];
	int cipher_nid;

	if (scep_certrep_decrypt(rep, fixed_key, fixed_cert, &certs, &cipher_nid, detail,
	                         sizeof detail) == TXN_OK &&
	    certs == NULL)
		abort(); /* TXN_OK promises a stack */
	sk_X509_pop_free(certs, X509_free);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct scep_certrep rep;
	char detail[256];

	if (!ready) {
		fuzz_init();
		ready = true;
	}
	(void)scep_envelope_cipher_nid(data, size);

	if (scep_certrep_parse(data, size, fixed_signers, &rep, detail, sizeof detail) == TXN_OK &&
	    rep.envelope != NULL)
		fuzz_decrypt(&rep);
	scep_certrep_clear(&rep);

	/* The signature stops most mutations before the envelope; feed the raw input to the
	 * envelope reader too, so EnvelopedData parsing is fuzzed on its own. */
	if (size > 0) {
		struct scep_certrep raw;
		memset(&raw, 0, sizeof raw); /* scep_certrep_clear frees: start from zero */
		raw.envelope = (unsigned char *)OPENSSL_memdup(data, size);
		raw.envelope_len = size;
		fuzz_decrypt(&raw);
		scep_certrep_clear(&raw);
	}
	return 0;
}
