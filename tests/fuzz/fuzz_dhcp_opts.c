/*
 * fuzz_dhcp_opts: a DHCP answer as it arrives from the network, through
 * dhcp_opts_parse_reply and the option 43/120 decoders (dhcp_opts_decode), and the raw
 * bytes straight through each decoder too. A decoded URL and FQDN must be printable and
 * fit their buffers; a failure must say why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transactions/certprov/dhcp_opts.h"

static void printable_or_abort(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n >= max)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dhcp_reply r;
	struct dhcp_found f;
	char url[DHCP_URL_MAX], fqdn[DHCP_FQDN_MAX], detail[DHCP_DETAIL_MAX], hex[64];

	if (dhcp_opts_parse_reply(data, size, &r, detail, sizeof detail) == 0) {
		if (r.store_len > sizeof r.store || r.options_off + r.options_len > size)
			abort();
		dhcp_opts_decode(&r, &f);
		if (f.status == TXN_OK && (f.certprov_url[0] == '\0' || f.registrar[0] == '\0'))
			abort();
		if (f.status != TXN_OK && f.detail[0] == '\0')
			abort();
		printable_or_abort(f.certprov_url, sizeof f.certprov_url);
		printable_or_abort(f.registrar, sizeof f.registrar);
		printable_or_abort(f.detail, sizeof f.detail);
	}
	if (dhcp_opts_decode_certprov(data, size, url, sizeof url, detail, sizeof detail) != TXN_OK)
		printable_or_abort(detail, sizeof detail);
	printable_or_abort(url, sizeof url);
	if (dhcp_opts_decode_registrar(data, size, fqdn, sizeof fqdn, detail, sizeof detail) !=
	    TXN_OK)
		printable_or_abort(detail, sizeof detail);
	printable_or_abort(fqdn, sizeof fqdn);
	dhcp_opts_hex(data, size, hex, sizeof hex);
	if (strlen(hex) >= sizeof hex)
		abort();
	return 0;
}
