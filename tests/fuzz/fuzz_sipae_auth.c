/*
 * fuzz_sipae_auth: bytes from a hostile registrar through the TLS-DSK parsers: the input
 * read as a raw SIP response (every WWW-Authenticate and Authentication-Info found by
 * sipae_header_next, parsed by sipae_params_parse, its gssapi-data base64-decoded and split
 * into TLS records), and the input read directly as one header value, as gssapi-data
 * records and as a From/To value; checking bounds and termination after every call.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bbuf.h"
#include "transactions/clientauth/sipae_auth.h"

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

static void check_params(const struct sipae_params *p, const char *base, size_t len)
{
	if (!TERMINATED(p->scheme) || !TERMINATED(p->realm) || !TERMINATED(p->targetname) ||
	    !TERMINATED(p->opaque) || !TERMINATED(p->qop) || !TERMINATED(p->sts_uri) ||
	    !TERMINATED(p->crand) || !TERMINATED(p->cnum) || !TERMINATED(p->response) ||
	    !TERMINATED(p->srand) || !TERMINATED(p->snum) || !TERMINATED(p->rspauth))
		abort();
	if (p->version < -1 || p->version > 9999)
		abort();
	if (p->gssapi != NULL && (p->gssapi < base || p->gssapi + p->gssapi_len > base + len ||
	                          p->gssapi_len > SIPAE_MAX_GSSAPI))
		abort();
}

static void check_records(const unsigned char *p, size_t n)
{
	struct sipae_record rec[SIPAE_MAX_RECORDS];
	size_t count = 0, end = 0;
	char err[160];
	int level, desc;

	if (sipae_records_split(p, n, rec, SIPAE_MAX_RECORDS, &count, err, sizeof err) == 0) {
		if (count == 0 || count > SIPAE_MAX_RECORDS)
			abort();
		for (size_t i = 0; i < count; i++) {
			if (rec[i].offset != end + 5 || rec[i].offset + rec[i].length > n)
				abort();
			end = rec[i].offset + rec[i].length;
		}
		if (end != n)
			abort();
		if (sipae_records_alert(p, rec, count, &level, &desc) &&
		    (level < 0 || level > 255 || desc < 0 || desc > 255))
			abort();
	} else if (memchr(err, '\0', sizeof err) == NULL || err[0] == '\0') {
		abort();
	}
}

static void one_value(const char *v, size_t len)
{
	struct sipae_params p;
	char err[160];

	if (sipae_params_parse(v, len, &p, err, sizeof err) == 0) {
		check_params(&p, v, len);
		if (p.gssapi != NULL) {
			struct bbuf raw;
			bbuf_init(&raw, SIPAE_MAX_GSSAPI);
			if (sipae_base64_decode(p.gssapi, p.gssapi_len, &raw) == 0) {
				if (raw.len > p.gssapi_len)
					abort();
				if (raw.len > 0)
					check_records(raw.data, raw.len);
			}
			bbuf_free(&raw);
		}
	} else if (memchr(err, '\0', sizeof err) == NULL) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"WWW-Authenticate", "Authentication-Info",
	                                    "Proxy-Authenticate"};
	/* a copy of exactly size bytes: ASan catches any read past the end */
	char *buf = malloc(size > 0 ? size : 1);
	char uri[256], tag[128];
	struct bbuf b;

	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		size_t pos = 0, vlen, guard = 0;
		const char *v;
		while (sipae_header_next(buf, size, names[k], 0, &pos, &v, &vlen)) {
			if (v < buf || v + vlen > buf + size || pos > size)
				abort();
			one_value(v, vlen);
			if (++guard > size + 1)
				abort(); /* it must move on */
		}
	}
	one_value(buf, size);
	check_records((const unsigned char *)buf, size);
	if (sipae_name_addr(buf, size, uri, sizeof uri, tag, sizeof tag) == 0 &&
	    (!TERMINATED(uri) || !TERMINATED(tag)))
		abort();
	bbuf_init(&b, 4 * size + 16);
	if (sipae_base64_decode(buf, size, &b) == 0) {
		struct bbuf again;
		bbuf_init(&again, 2 * size + 16);
		/* strict decoding is canonical: encoding gives the input back */
		if (sipae_base64_encode(b.data, b.len, &again) == -1 || again.len != size ||
		    (size > 0 && memcmp(again.data, buf, size) != 0))
			abort();
		bbuf_free(&again);
	}
	bbuf_free(&b);
	free(buf);
	return 0;
}
