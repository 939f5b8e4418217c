/*
 * fuzz_certprov_request: bytes from a hostile client through the CertProv double's
 * request parsers (tests/peers/certprov_double/certprov_soap.c, included here: the double
 * is no part of certprobe_core), as an IssueToken and as a GetAndPublishCert, checking
 * that what they return is consistent and NUL-terminated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../peers/certprov_double/certprov_soap.c"

static void str_ok(const char *s)
{
	if (s != NULL && strlen(s) > SOAP_MAX_BODY)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct soap_issue i;
	struct soap_gapc g;
	size_t n = 0;
	unsigned char *d;

	if (!inited) {
		soap_init();
		inited = 1;
	}
	if (soap_issue_parse((const char *)data, size, &i) == 0) {
		str_ok(i.username);
		str_ok(i.password);
		str_ok(i.applies_to);
		if ((i.entropy == NULL) != (i.entropy_len == 0))
			abort();
	}
	soap_issue_free(&i);
	if (soap_gapc_parse((const char *)data, size, &g) == 0) {
		str_ok(g.assertion_id);
		str_ok(g.entity);
		str_ok(g.csr_b64);
		if (g.signed_info != NULL && g.signed_info[g.signed_info_len] != 0)
			abort();
		if (g.ts_digest_ok && !g.has_timestamp)
			abort();
	}
	soap_gapc_free(&g);
	d = soap_b64_decode((const char *)data, size, &n);
	if (d != NULL && (n > size || d[n] != 0))
		abort();
	free(d);
	return 0;
}
