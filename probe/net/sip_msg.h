/*
 * sip_msg: SIP (RFC 3261) messages for the registrar check over TLS. Builds REGISTER and
 * OPTIONS requests and parses responses read from a stream transport, strictly and with
 * size caps, since the server may be hostile. Pure functions of their inputs: no I/O, so
 * they are unit-tested and fuzzed directly.
 */
#ifndef CERTPROBE_SIP_MSG_H
#define CERTPROBE_SIP_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/bbuf.h"

#define SIP_MAX_HEADER_BYTES 16384 /* start line + headers incl. blank line */
#define SIP_MAX_HEADERS 128
#define SIP_MAX_BODY 65536

struct sip_request_params {
	const char *method;      /* "REGISTER" or "OPTIONS" (any RFC 3261 token) */
	const char *request_uri; /* e.g. "sip:rig.test" */
	const char *from_uri;    /* "sip:alice@rig.test" */
	const char *to_uri;      /* same as from for REGISTER; NULL = from_uri */
	const char *contact_uri; /* "sip:alice@127.0.0.1:5061;transport=tls"; NULL = no Contact;
	                          * "*" (all bindings) is written bare and needs expires == 0 */
	int expires;             /* >= 0: add "Expires: N"; negative: none */
	const char *call_id;
	const char *from_tag;
	const char *branch;     /* must start with "z9hG4bK" (magic cookie); prepended if missing */
	unsigned cseq;          /* < 2^31 (RFC 3261 8.1.1.5) */
	const char *via_host;   /* sent-by host, e.g. "127.0.0.1"; IPv6 is bracketed if needed */
	unsigned via_port;      /* 0 = no port in sent-by */
	const char *user_agent; /* "certprobe/0.x"; NULL = no User-Agent */
	const char *authorization; /* Authorization value (TLS-DSK); NULL = none; text, no CR/LF */
};

/*
 * Appends the full request (CRLF line ends, Max-Forwards: 70, Content-Length: 0) to out:
 * request line, Via (SIP/2.0/TLS host:port;branch=...;rport), Max-Forwards, From (with tag),
 * To, Call-ID, CSeq, [Contact], [Expires], [User-Agent], [Authorization], Content-Length.
 * Returns 0, or -1 when a required field (method, request_uri, from_uri, call_id, from_tag,
 * branch, via_host) is NULL or empty, when any field holds a control character (CR, LF, ...:
 * header injection), when a token field (method, call_id, tag, branch, host) holds white
 * space or a URI holds white space, '<', '>' or '"', when cseq or via_port is out of range,
 * or when out's cap is hit. On -1 nothing is appended to out.
 */
int sip_request_build(struct bbuf *out, const struct sip_request_params *p);

/*
 * Token helper for Call-ID, tags and branches: writes n lower-case hex characters and a
 * NUL, so buf must hold n + 1 bytes. The caller supplies the randomness (RAND_bytes): the
 * first 2 * rndlen characters are rnd in hex; past that the seed material is stretched with
 * a deterministic mixer, which adds no entropy. Pass at least n / 2 bytes for full strength.
 */
void sip_hex_token(char *buf, size_t n, const unsigned char *rnd, size_t rndlen);

/* All strings are NUL-terminated, truncated to their arrays, control characters replaced. */
struct sip_response {
	unsigned code;            /* 100..699 */
	char reason[128];         /* reason phrase, truncated, control chars replaced by '?' */
	char warning[256];        /* first Warning value (e.g. `399 host "text"`), "" if none */
	char ms_diagnostics[256]; /* ms-diagnostics (else -public) value, "" if none */
	char contact_uri[256];    /* URI inside <...> (or bare addr-spec, or "*") of the first
	                           * Contact, "" if none */
	int contact_expires;      /* ;expires= param of the first Contact, -1 if none */
	int expires;              /* Expires header, -1 if none */
	char call_id[128];
	unsigned cseq; /* 0 if no CSeq */
	char cseq_method[16];
	char via_branch[128]; /* branch param of the top Via */
	char from_tag[128];
	char to_tag[128];
	char server[128];           /* Server header, "" if none */
	char www_authenticate[512]; /* all WWW-Authenticate values joined with " | ", truncated */
	bool tls_dsk_offered;       /* a WWW-Authenticate starts with scheme TLS-DSK (any case) */
	int retry_after;            /* seconds, -1 if none */
	size_t content_length;
	size_t body_offset; /* the body is buf[body_offset .. body_offset + content_length) */
	size_t n_headers;   /* header fields (a folded field counts once) */
};

enum sip_parse_ret {
	SIP_PARSE_OK,         /* one complete response parsed; *consumed = bytes used incl. body */
	SIP_PARSE_INCOMPLETE, /* need more bytes (and nothing over the caps yet) */
	SIP_PARSE_ERROR,      /* malformed; err says what, e.g. "line 3: header without colon" */
	SIP_PARSE_TOOBIG, /* header section > SIP_MAX_HEADER_BYTES, > SIP_MAX_HEADERS headers, or
	                   * body > SIP_MAX_BODY */
};

/*
 * Parse the first response in buf[0..len). Leading keep-alives (RFC 5626 "\r\n\r\n" pings and
 * lone CRLFs or LFs) are skipped and counted in *consumed. A request, or anything not starting
 * "SIP/2.0 ", is an error, detected as soon as the first bytes differ.
 * Content-Length (or compact "l") is required (stream transport, RFC 3261 18.3). Header names
 * are case-insensitive; compact forms i, f, t, v, m, l are understood. Folded lines are unfolded;
 * bare LF line ends are accepted, a CR not followed by LF is an error. NUL bytes in the header
 * section, a status code other than 3 digits in 100..699, another version than SIP/2.0, a
 * duplicate, non-numeric or overflowing Content-Length, or an unparsable CSeq, Expires,
 * Retry-After, Contact or Contact expires are errors. Only the first Contact, Via, Warning
 * element is read; line numbers in err count from the status line (line 1).
 *
 * *consumed: on OK the bytes of the response incl. keep-alives and body; on INCOMPLETE the
 * keep-alive bytes the caller may drop already; 0 otherwise. out is reset on every call and
 * meaningful only on OK. err (may be NULL) gets a message on ERROR and TOOBIG, "" otherwise.
 * Never reads past len. A receive buffer never needs more than SIP_MAX_HEADER_BYTES +
 * SIP_MAX_BODY bytes after keep-alives are dropped.
 */
enum sip_parse_ret sip_response_parse(const unsigned char *buf, size_t len,
                                      struct sip_response *out, size_t *consumed, char *err,
                                      size_t errlen);

#endif
