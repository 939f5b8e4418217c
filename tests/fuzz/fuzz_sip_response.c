/*
 * fuzz_sip_response: bytes from a hostile registrar through sip_response_parse, once as a
 * whole stream (parse while OK, advancing by consumed) and once fed in growing pieces as
 * a reader would, checking the framing and the fixed-size fields after every call.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/sip_msg.h"

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

static void check(const struct sip_response *r, enum sip_parse_ret rc, size_t consumed, size_t size,
                  const char *err, size_t errlen)
{
	if (consumed > size || memchr(err, '\0', errlen) == NULL)
		abort();
	if (!TERMINATED(r->reason) || !TERMINATED(r->warning) || !TERMINATED(r->ms_diagnostics) ||
	    !TERMINATED(r->contact_uri) || !TERMINATED(r->call_id) || !TERMINATED(r->cseq_method) ||
	    !TERMINATED(r->via_branch) || !TERMINATED(r->from_tag) || !TERMINATED(r->to_tag) ||
	    !TERMINATED(r->server) || !TERMINATED(r->www_authenticate))
		abort();
	switch (rc) {
	case SIP_PARSE_OK:
		if (r->code < 100 || r->code > 699 || consumed == 0)
			abort();
		if (r->content_length > SIP_MAX_BODY || r->n_headers > SIP_MAX_HEADERS)
			abort();
		if (r->body_offset + r->content_length != consumed)
			abort();
		if (r->body_offset > consumed || r->body_offset < 8)
			abort();
		if (r->contact_expires < -1 || r->expires < -1 || r->retry_after < -1)
			abort();
		break;
	case SIP_PARSE_INCOMPLETE:
		break;
	case SIP_PARSE_ERROR:
	case SIP_PARSE_TOOBIG:
		if (consumed != 0 || err[0] == '\0')
			abort();
		break;
	default:
		abort();
	}
}

/* Parse back-to-back responses until something else than OK; the offset reached. */
static size_t parse_stream(const uint8_t *data, size_t size, enum sip_parse_ret *last)
{
	struct sip_response r;
	size_t off = 0;
	char err[96];

	for (;;) {
		size_t consumed;
		enum sip_parse_ret rc =
		    sip_response_parse(data + off, size - off, &r, &consumed, err, sizeof err);
		check(&r, rc, consumed, size - off, err, sizeof err);
		*last = rc;
		if (rc == SIP_PARSE_INCOMPLETE)
			off += consumed;
		if (rc != SIP_PARSE_OK)
			return off;
		off += consumed;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_response r;
	enum sip_parse_ret whole_rc, rc = SIP_PARSE_INCOMPLETE;
	size_t whole_off, off = 0, avail = 0, step;
	unsigned char *copy;
	char err[96];

	/* exact-size heap copy: any read past size is caught by ASan */
	copy = malloc(size > 0 ? size : 1);
	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	whole_off = parse_stream(copy, size, &whole_rc);

	/* a reader's view: the bytes arrive in pieces; each attempt sees what has arrived so far.
	 * The piece size comes from the first byte, so splits move around with the input; at
	 * most about 256 pieces keep large inputs fast. */
	step = size > 0 ? (size_t)(copy[0] % 23) + 1 : 1;
	if (step < size / 256)
		step = size / 256;
	while (avail < size) {
		size_t consumed;
		avail = avail + step < size ? avail + step : size;
		for (;;) {
			rc = sip_response_parse(copy + off, avail - off, &r, &consumed, err,
			                        sizeof err);
			check(&r, rc, consumed, avail - off, err, sizeof err);
			off += consumed;
			if (rc != SIP_PARSE_OK)
				break;
		}
		if (rc == SIP_PARSE_ERROR || rc == SIP_PARSE_TOOBIG)
			break;
	}
	/* splitting must not change the outcome: same responses, same verdict, at the same place
	 * but for keep-alives, which the piecewise reader may already have dropped */
	if (rc != whole_rc || off < whole_off)
		abort();
	for (size_t i = whole_off; i < off; i++)
		if (copy[i] != '\r' && copy[i] != '\n')
			abort();
	free(copy);
	return 0;
}
