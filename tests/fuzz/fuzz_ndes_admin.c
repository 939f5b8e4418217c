/*
 * fuzz_ndes_admin: the NDES mscep_admin page through ndes_admin_parse. The first input
 * byte chooses the HTTP charset (bit 0: NULL or "utf-16le") and the password buffer
 * size (bits 1-7: 1..128 bytes); the rest is the page.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transactions/scep/ndes_admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *pw;
	size_t pwlen;
	const char *charset;
	enum txn_status st;

	if (size == 0)
		return 0;
	charset = (data[0] & 1) ? "utf-16le" : NULL;
	pwlen = 1 + (size_t)(data[0] >> 1);
	/* exactly pwlen bytes on the heap, so ASan sees any write past the buffer */
	pw = malloc(pwlen);
	if (pw == NULL)
		abort();
	st = ndes_admin_parse(data + 1, size - 1, charset, pw, pwlen);
	if (strnlen(pw, pwlen) == pwlen)
		abort(); /* always terminated */
	if (st == TXN_OK && strlen(pw) < 4)
		abort(); /* a password has at least 4 characters */
	if (st != TXN_OK && st != TXN_NDES_PASSWORD_CACHE_FULL && st != TXN_NDES_NO_PERMISSION &&
	    st != TXN_NDES_PAGE_UNRECOGNISED)
		abort();
	free(pw);
	return 0;
}
