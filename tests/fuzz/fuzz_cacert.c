/*
 * fuzz_cacert: GetCACert bodies (DER certificate, degenerate PKCS#7, PEM) through
 * scep_ca_parse, then scep_ca_check without a pin and with a pin on the first
 * certificate (the anchor path).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pki/pki.h"
#include "pki/scep_ca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct scep_ca ca;
	char detail[256];
	long expiring;
	unsigned char pin[32];

	if (!ready) {
		if (pki_init() != 0)
			abort();
		ready = true;
	}
	if (scep_ca_parse(data, size, &ca, detail, sizeof detail) == TXN_OK) {
		/* the contract scep_txn relies on */
		if (ca.certs == NULL || ca.ca == NULL || ca.recipient == NULL ||
		    ca.signer == NULL || ca.signers == NULL || sk_X509_num(ca.signers) < 1)
			abort();
		(void)scep_ca_check(&ca, NULL, &expiring, detail, sizeof detail);
		pki_cert_sha256(sk_X509_value(ca.certs, 0), pin);
		(void)scep_ca_check(&ca, pin, &expiring, detail, sizeof detail);
	}
	scep_ca_clear(&ca);
	return 0;
}
