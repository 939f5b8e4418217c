/*
 * fuzz_caps: GetCACaps bodies through scep_caps_parse, the rendering and the
 * algorithm choice (both must always name an algorithm).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transactions/scep/scep_caps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned caps = scep_caps_parse((const char *)data, size);
	char buf[256], tiny[8];

	scep_caps_string(caps, buf, sizeof buf);
	scep_caps_string(caps, tiny, sizeof tiny);
	if (strlen(buf) >= sizeof buf || strlen(tiny) >= sizeof tiny)
		abort();
	if (scep_caps_cipher_name(caps) == NULL || scep_caps_digest_name(caps) == NULL)
		abort();
	/* SCEPStandard always implies AES, POSTPKIOperation and SHA-256 */
	if ((caps & SCEP_CAP_SCEP_STANDARD) &&
	    (caps & (SCEP_CAP_AES | SCEP_CAP_POST_PKI_OPERATION | SCEP_CAP_SHA256)) !=
	        (SCEP_CAP_AES | SCEP_CAP_POST_PKI_OPERATION | SCEP_CAP_SHA256))
		abort();
	return 0;
}
