/*
 * fuzz_certprov: the phone-bootstrap response parsers (lync-certprov.md §4-§5) through
 * the libxml2 door. The first input byte picks the parser (mod 4: /mex metadata, the
 * IssueToken RSTR, the GetAndPublishCert answer, an X-Ms-diagnostics header); the rest
 * is the answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transactions/certprov/certprov_soap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char detail[240];

	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0: {
		struct certprov_mex m;
		certprov_mex_parse(data + 1, size - 1, &m, detail, sizeof detail);
		break;
	}
	case 1: {
		struct certprov_ticket t;
		struct certprov_fault f;
		if (certprov_rstr_parse(data + 1, size - 1, &t, &f, detail, sizeof detail) ==
		        TXN_OK &&
		    strlen(t.token_xml) != t.token_len)
			abort();
		certprov_webticket_status(&f);
		certprov_ticket_clear(&t);
		break;
	}
	case 2: {
		struct certprov_gapc_answer a;
		certprov_gapc_answer_init(&a);
		certprov_gapc_parse(data + 1, size - 1, &a, detail, sizeof detail);
		certprov_gapc_answer_clear(&a);
		break;
	}
	default: {
		/* a header value as http_client hands it over: at most 255 bytes, NUL-terminated */
		char h[256];
		struct certprov_fault f;
		size_t n = size - 1 < sizeof h - 1 ? size - 1 : sizeof h - 1;
		memcpy(h, data + 1, n);
		h[n] = '\0';
		certprov_diagnostics_parse(h, &f);
		break;
	}
	}
	return 0;
}
