/*
 * sipae_auth: the text and record formats of TLS-DSK ([MS-SIPAE]) as it travels in SIP:
 * the WWW-Authenticate / Authentication-Info parameter parser, a header finder over a raw
 * response (gssapi-data is far larger than the fixed fields of sip_msg.h keep), the
 * gssapi-data TLS record splitter, strict base64, and the signature buffer of §6.3 of the
 * brief (lync-certprov.md). Pure functions of their inputs: no I/O, no OpenSSL, so they are
 * unit-tested and fuzzed directly (tests/fuzz/fuzz_sipae_auth.c).
 */
#ifndef CERTPROBE_SIPAE_AUTH_H
#define CERTPROBE_SIPAE_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/bbuf.h"

#define SIPAE_MAX_GSSAPI 65536 /* base64 characters of one gssapi-data */
#define SIPAE_MAX_RECORDS 32   /* TLS records in one gssapi-data */

/*
 * One challenge or answer: `SCHEME param=value, param="quoted", ...`. Every string is
 * NUL-terminated; a parameter that is absent reads "" (version: -1). A value longer than
 * its array is an error, never silently cut: a truncated opaque or rspauth would only fail
 * later and less clearly.
 */
struct sipae_params {
	char scheme[16]; /* "TLS-DSK", "NTLM", "Kerberos" (as sent) */
	char realm[128];
	char targetname[256];
	char opaque[128];
	char qop[16];
	char sts_uri[512];
	int version; /* -1 if absent */
	char crand[32];
	char cnum[16];
	char response[132];
	char srand[32];
	char snum[16];
	char rspauth[132];
	const char *gssapi; /* base64 inside the input (not NUL-terminated); NULL if absent */
	size_t gssapi_len;
};

/*
 * Parse one header value v[0..len) (no CR/LF except folding, which reads as white space).
 * Parameter names are case-insensitive; unknown ones are skipped; a quoted value may hold
 * \-escapes. 0, or -1 with err (may be NULL) saying what is wrong: no scheme, a parameter
 * without '=', an unterminated quote, a value over its field, a bad version, a duplicate
 * known parameter, gssapi-data over SIPAE_MAX_GSSAPI. Never reads past len.
 */
int sipae_params_parse(const char *v, size_t len, struct sipae_params *out, char *err,
                       size_t errlen);

/*
 * The next header field named name (case-insensitive; compact, a one-letter alias or 0) in
 * the header section of the raw response msg[0..len) (start line skipped, ends at the first
 * empty line or at len). Start with *pos = 0; each call moves it past the field returned.
 * val and vlen: the value without the leading and trailing white space, folded lines included
 * as they are. Returns true when one was found.
 */
bool sipae_header_next(const char *msg, size_t len, const char *name, char compact, size_t *pos,
                       const char **val, size_t *vlen);

/* One TLS record of a gssapi-data blob. */
struct sipae_record {
	unsigned char type; /* 20 change_cipher_spec, 21 alert, 22 handshake, 23 application */
	unsigned version;   /* e.g. 0x0301 */
	size_t offset;      /* of the fragment (after the 5-byte header) */
	size_t length;      /* of the fragment */
};

/*
 * Split p[0..n) into TLS records. 0 with *count records (at most max), or -1 with err: a
 * short header, a fragment past the end, a length over 2^14 + 2048, an unknown content type,
 * a version byte other than 3, more than max records, or no record at all.
 */
int sipae_records_split(const unsigned char *p, size_t n, struct sipae_record *rec, size_t max,
                        size_t *count, char *err, size_t errlen);

/*
 * The first alert among the records that came before any change_cipher_spec (a plaintext
 * alert: after CCS it is encrypted and only OpenSSL can read it): its level and description
 * in level and desc. Returns true when there is one.
 */
bool sipae_records_alert(const unsigned char *p, const struct sipae_record *rec, size_t count,
                         int *level, int *desc);

/* Strict base64 (RFC 4648 alphabet, '=' padding required, no white space): 0 or -1. Appends to
 * out; -1 also when out's cap is hit. */
int sipae_base64_decode(const char *in, size_t n, struct bbuf *out);
/* Appends the base64 of p[0..n) to out (NUL-terminated by bbuf): 0 or -1 at out's cap. */
int sipae_base64_encode(const unsigned char *p, size_t n, struct bbuf *out);

/* What a signature covers ([MS-SIPAE] 3.2.5.2 / SIPE sipe-sign.c). NULL reads as "". */
struct sipae_sig_fields {
	const char *scheme; /* "TLS-DSK" */
	const char *rand;   /* crand for requests, srand for responses */
	const char *num;    /* cnum / snum */
	const char *realm;
	const char *targetname;
	const char *call_id;
	unsigned cseq;
	const char *method; /* the request's method (a response: its CSeq method) */
	const char *from_uri;
	const char *from_tag;
	const char *to_uri;
	const char *to_tag;
	const char *pai_sip; /* P-Asserted-Identity sip: URI */
	const char *pai_tel; /* P-Asserted-Identity tel: URI */
	const char *expires; /* Expires header value as sent */
	unsigned status;     /* response code; 0 for a request */
};

/*
 * Appends the signature buffer to out: `<scheme><rand><num><realm><targetname><call-id>
 * <cseq><method><from-uri><from-tag>` then, for version >= 3, `<to-uri><to-tag><pai-sip>
 * <pai-tel>`, for version < 3 only `<to-tag>`, then `<expires>` and `<status>` for a
 * response. 0, or -1 when out's cap is hit.
 */
int sipae_sig_buffer(struct bbuf *out, const struct sipae_sig_fields *f, int version);

/*
 * The URI and tag of a From/To header value: `"Name" <uri>;tag=x;...` or `uri;tag=x`. 0, or
 * -1 when a field does not fit or the angle bracket is not closed.
 */
int sipae_name_addr(const char *v, size_t len, char *uri, size_t urilen, char *tag, size_t taglen);

#endif
