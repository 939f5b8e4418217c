/* sip_msg: SIP request building and response parsing (see sip_msg.h). */
#include "net/sip_msg.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define SIP_BRANCH_COOKIE "z9hG4bK"
#define SIP_VERSION_SP "SIP/2.0 "

/* ---- characters ---- */

static bool sip_is_ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool sip_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool sip_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* RFC 3261 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" */
static bool sip_is_token(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || sip_is_digit(c))
		return true;
	return c != '\0' && strchr("-.!%*_+`'~", c) != NULL;
}

static unsigned char sip_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive comparison of n bytes; locale-independent. */
static bool sip_caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sip_lower((unsigned char)a[i]) != sip_lower((unsigned char)b[i]))
			return false;
	return true;
}

/* ---- building ---- */

enum sip_field_kind {
	SIP_FIELD_TEXT,  /* free text: no control characters */
	SIP_FIELD_TOKEN, /* also no white space */
	SIP_FIELD_URI,   /* also none of < > " (they would end the name-addr early) */
};

/* Every control character is refused, not only CR and LF: a peer's parser may treat a bare
 * CR or a NUL as a line end, and a value we send has no business holding either. */
static bool sip_field_ok(const char *s, enum sip_field_kind kind)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (sip_is_ctl(c))
			return false;
		if (kind != SIP_FIELD_TEXT && c == ' ')
			return false;
		if (kind == SIP_FIELD_URI && (c == '<' || c == '>' || c == '"'))
			return false;
	}
	return true;
}

static bool sip_method_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!sip_is_token((unsigned char)*s))
			return false;
	return true;
}

/* Appends each string up to the NULL sentinel; a refused append leaves b->toobig set. */
static void sip_put(struct bbuf *b, ...) __attribute__((sentinel));
static void sip_put(struct bbuf *b, ...)
{
	va_list ap;

	va_start(ap, b);
	for (;;) {
		const char *s = va_arg(ap, const char *);
		if (s == NULL)
			break;
		bbuf_append(b, s, strlen(s));
	}
	va_end(ap);
}

int sip_request_build(struct bbuf *out, const struct sip_request_params *p)
{
	struct bbuf tmp;
	char port[16] = "", cseq[16], expires[16];
	const char *to, *cookie, *lb = "", *rb = "";
	bool star;
	int rc = -1;

	if (out == NULL || p == NULL)
		return -1;
	to = p->to_uri != NULL ? p->to_uri : p->from_uri;
	if (!sip_method_ok(p->method) || !sip_field_ok(p->request_uri, SIP_FIELD_URI) ||
	    !sip_field_ok(p->from_uri, SIP_FIELD_URI) || !sip_field_ok(to, SIP_FIELD_URI) ||
	    !sip_field_ok(p->call_id, SIP_FIELD_TOKEN) ||
	    !sip_field_ok(p->from_tag, SIP_FIELD_TOKEN) ||
	    !sip_field_ok(p->branch, SIP_FIELD_TOKEN) ||
	    !sip_field_ok(p->via_host, SIP_FIELD_TOKEN))
		return -1;
	if (p->contact_uri != NULL && !sip_field_ok(p->contact_uri, SIP_FIELD_URI))
		return -1;
	if (p->user_agent != NULL && !sip_field_ok(p->user_agent, SIP_FIELD_TEXT))
		return -1;
	if (p->authorization != NULL && !sip_field_ok(p->authorization, SIP_FIELD_TEXT))
		return -1;
	if (p->cseq > 0x7fffffffu || p->via_port > 65535)
		return -1;
	/* "Contact: *" removes every binding and is only valid with Expires: 0 (RFC 3261 10.2.2) */
	star = p->contact_uri != NULL && strcmp(p->contact_uri, "*") == 0;
	if (star && p->expires != 0)
		return -1;

	cookie = strncmp(p->branch, SIP_BRANCH_COOKIE, strlen(SIP_BRANCH_COOKIE)) == 0
	             ? ""
	             : SIP_BRANCH_COOKIE;
	if (strchr(p->via_host, ':') != NULL && p->via_host[0] != '[') {
		lb = "[";
		rb = "]";
	}
	if (p->via_port != 0)
		snprintf(port, sizeof port, ":%u", p->via_port);
	snprintf(cseq, sizeof cseq, "%u", p->cseq);
	snprintf(expires, sizeof expires, "%d", p->expires);

	/* built aside so that a refused request leaves out as it was */
	bbuf_init(&tmp, out->max - out->len);
	sip_put(&tmp, p->method, " ", p->request_uri, " SIP/2.0\r\n", NULL);
	sip_put(&tmp, "Via: SIP/2.0/TLS ", lb, p->via_host, rb, port, ";branch=", cookie, p->branch,
	        ";rport\r\n", NULL);
	sip_put(&tmp, "Max-Forwards: 70\r\n", NULL);
	sip_put(&tmp, "From: <", p->from_uri, ">;tag=", p->from_tag, "\r\n", NULL);
	sip_put(&tmp, "To: <", to, ">\r\n", NULL);
	sip_put(&tmp, "Call-ID: ", p->call_id, "\r\n", NULL);
	sip_put(&tmp, "CSeq: ", cseq, " ", p->method, "\r\n", NULL);
	if (star)
		sip_put(&tmp, "Contact: *\r\n", NULL);
	else if (p->contact_uri != NULL)
		sip_put(&tmp, "Contact: <", p->contact_uri, ">\r\n", NULL);
	if (p->expires >= 0)
		sip_put(&tmp, "Expires: ", expires, "\r\n", NULL);
	if (p->user_agent != NULL)
		sip_put(&tmp, "User-Agent: ", p->user_agent, "\r\n", NULL);
	if (p->authorization != NULL)
		sip_put(&tmp, "Authorization: ", p->authorization, "\r\n", NULL);
	sip_put(&tmp, "Content-Length: 0\r\n\r\n", NULL);
	if (tmp.toobig)
		goto out;
	rc = bbuf_append(out, tmp.data, tmp.len);
out:
	if (tmp.toobig)
		out->toobig = true;
	bbuf_free(&tmp);
	return rc;
}

static uint64_t sip_splitmix64(uint64_t *state)
{
	uint64_t z;

	*state += 0x9e3779b97f4a7c15ULL;
	z = *state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void sip_hex_token(char *buf, size_t n, const unsigned char *rnd, size_t rndlen)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t seed = 0xcbf29ce484222325ULL, word = 0;
	unsigned have = 0;

	if (rnd == NULL)
		rndlen = 0;
	/* FNV-1a over all of the seed, so the stretched tail depends on every byte */
	for (size_t i = 0; i < rndlen; i++)
		seed = (seed ^ rnd[i]) * 0x100000001b3ULL;
	for (size_t i = 0; i < n; i++) {
		unsigned nibble;
		if (i / 2 < rndlen) {
			nibble = i % 2 == 0 ? rnd[i / 2] >> 4 : rnd[i / 2] & 0xfu;
		} else {
			if (have == 0) {
				word = sip_splitmix64(&seed);
				have = 16;
			}
			nibble = (unsigned)(word & 0xfu);
			word >>= 4;
			have--;
		}
		buf[i] = hex[nibble];
	}
	buf[n] = '\0';
}

/* ---- parsing ---- */

struct sip_parse {
	const unsigned char *p; /* the response, after keep-alives */
	size_t hdr_len;         /* status line + headers + blank line */
	struct sip_response *out;
	char *err;
	size_t errlen;
	char *val;     /* scratch for one unfolded header value, hdr_len + 1 bytes */
	unsigned line; /* line of the header being handled, for messages */
	unsigned n_auth;
	bool seen_cl, seen_via, seen_from, seen_to, seen_call_id, seen_cseq, seen_contact;
	bool seen_expires, seen_warning, seen_ms_diag, seen_ms_public, seen_server, seen_retry;
};

static enum sip_parse_ret sip_fail(struct sip_parse *ps, enum sip_parse_ret ret, const char *fmt,
                                   ...) __attribute__((format(printf, 3, 4)));
static enum sip_parse_ret sip_fail(struct sip_parse *ps, enum sip_parse_ret ret, const char *fmt,
                                   ...)
{
	va_list ap;

	if (ps->err != NULL && ps->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(ps->err, ps->errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* Where to cut s (longer than cut) so that no UTF-8 character is split: s[cut] is the first
 * byte dropped; if it continues a character, that character's lead byte goes too. */
static size_t sip_utf8_cut(const char *s, size_t cut)
{
	size_t k = cut;

	while (k > 0 && cut - k < 3 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	if (k < cut && ((unsigned char)s[k] & 0xc0) == 0xc0)
		return k;
	return cut;
}

/*
 * Appends src[0..n) to the string in dst (an array of size bytes), control characters
 * replaced by '?', truncated to fit: a cut value still prints as UTF-8.
 */
static void sip_append(char *dst, size_t size, const char *src, size_t n)
{
	size_t j = strnlen(dst, size - 1);

	if (n > size - 1 - j)
		n = sip_utf8_cut(src, size - 1 - j);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[j++] = sip_is_ctl(c) ? '?' : (char)c;
	}
	dst[j] = '\0';
}

static void sip_copy(char *dst, size_t size, const char *src, size_t n)
{
	dst[0] = '\0';
	sip_append(dst, size, src, n);
}

/* delta-seconds: 1*DIGIT, clamped at INT_MAX. 0, or -1 if not a number. */
static int sip_delta(const char *s, size_t n, int *out)
{
	long v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!sip_is_digit((unsigned char)s[i]))
			return -1;
		if (v < INT_MAX)
			v = v * 10 + (s[i] - '0');
		if (v > INT_MAX)
			v = INT_MAX;
	}
	*out = (int)v;
	return 0;
}

/*
 * Length of the first element of a comma-separated header value: commas inside a quoted
 * string or inside <...> do not split. -1 (and *len = strlen) if a quote or '<' is not closed.
 */
static int sip_element(const char *s, size_t *len)
{
	bool quote = false, angle = false;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		if (quote) {
			if (c == '\\' && s[i + 1] != '\0')
				i++;
			else if (c == '"')
				quote = false;
		} else if (angle) {
			if (c == '>')
				angle = false;
		} else if (c == '"') {
			quote = true;
		} else if (c == '<') {
			angle = true;
		} else if (c == ',') {
			break;
		}
	}
	*len = i;
	while (*len > 0 && sip_is_ws((unsigned char)s[*len - 1]))
		(*len)--;
	return quote || angle ? -1 : 0;
}

static size_t sip_skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && sip_is_ws((unsigned char)s[i]))
		i++;
	return i;
}

/*
 * Finds parameter name in a list ";a=b ;c;d="x y"" held in s[0..n). Returns 1 with the value
 * (empty for a flag) if found, 0 if not, -1 if the list is malformed anywhere.
 */
static int sip_param(const char *s, size_t n, const char *name, const char **val, size_t *vlen)
{
	size_t i = 0, want = strlen(name);
	int found = 0;

	for (;;) {
		size_t ns, nl, vs, vl = 0;

		i = sip_skip_ws(s, i, n);
		if (i == n)
			return found;
		if (s[i] != ';')
			return -1;
		i = sip_skip_ws(s, i + 1, n);
		ns = i;
		while (i < n && sip_is_token((unsigned char)s[i]))
			i++;
		nl = i - ns;
		if (nl == 0)
			return -1;
		i = sip_skip_ws(s, i, n);
		vs = i;
		if (i < n && s[i] == '=') {
			i = sip_skip_ws(s, i + 1, n);
			vs = i;
			if (i < n && s[i] == '"') {
				for (i++; i < n && s[i] != '"'; i++)
					if (s[i] == '\\' && i + 1 < n)
						i++;
				if (i == n)
					return -1;
				i++;
			} else {
				while (i < n && s[i] != ';' && !sip_is_ws((unsigned char)s[i]))
					i++;
			}
			vl = i - vs;
			if (vl == 0)
				return -1;
		}
		if (!found && nl == want && sip_caseeq(s + ns, name, nl)) {
			*val = s + vs;
			*vlen = vl;
			found = 1;
		}
	}
}

/* name-addr or addr-spec (RFC 3261 20.10): the URI and what follows it (header params). */
struct sip_addr {
	const char *uri;
	size_t uri_len;
	const char *params;
	size_t params_len;
};

static int sip_addr_split(const char *s, size_t n, struct sip_addr *a)
{
	size_t i = sip_skip_ws(s, 0, n), lt;
	bool quote = false;

	/* a '<' before any ';' (outside the display name's quotes) means name-addr */
	for (lt = i; lt < n; lt++) {
		if (quote) {
			if (s[lt] == '\\' && lt + 1 < n)
				lt++;
			else if (s[lt] == '"')
				quote = false;
		} else if (s[lt] == '"') {
			quote = true;
		} else if (s[lt] == '<' || s[lt] == ';') {
			break;
		}
	}
	if (quote)
		return -1;
	if (lt < n && s[lt] == '<') {
		const char *gt = memchr(s + lt + 1, '>', n - lt - 1);
		if (gt == NULL)
			return -1;
		a->uri = s + lt + 1;
		a->uri_len = (size_t)(gt - a->uri);
		a->params = gt + 1;
		a->params_len = n - (size_t)(a->params - s);
	} else {
		/* bare addr-spec: everything after the first ';' belongs to the header */
		size_t e = i;
		while (e < n && s[e] != ';' && !sip_is_ws((unsigned char)s[e]) && s[e] != '"')
			e++;
		a->uri = s + i;
		a->uri_len = e - i;
		a->params = s + e;
		a->params_len = n - e;
	}
	return a->uri_len == 0 ? -1 : 0;
}

/* The tag of a From or To value. */
static enum sip_parse_ret sip_tag(struct sip_parse *ps, const char *v, const char *hname, char *tag,
                                  size_t tagsize)
{
	struct sip_addr a;
	const char *t;
	size_t n, tl;
	int rc;

	if (sip_element(v, &n) == -1 || sip_addr_split(v, n, &a) == -1)
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad %s address", ps->line, hname);
	rc = sip_param(a.params, a.params_len, "tag", &t, &tl);
	if (rc == -1)
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad %s parameters", ps->line, hname);
	if (rc == 1)
		sip_copy(tag, tagsize, t, tl);
	return SIP_PARSE_OK;
}

static enum sip_parse_ret sip_hdr_from(struct sip_parse *ps, const char *v)
{
	if (ps->seen_from)
		return SIP_PARSE_OK;
	ps->seen_from = true;
	return sip_tag(ps, v, "From", ps->out->from_tag, sizeof ps->out->from_tag);
}

static enum sip_parse_ret sip_hdr_to(struct sip_parse *ps, const char *v)
{
	if (ps->seen_to)
		return SIP_PARSE_OK;
	ps->seen_to = true;
	return sip_tag(ps, v, "To", ps->out->to_tag, sizeof ps->out->to_tag);
}

static enum sip_parse_ret sip_hdr_via(struct sip_parse *ps, const char *v)
{
	const char *semi, *b;
	size_t n, bl;
	int rc;

	if (ps->seen_via)
		return SIP_PARSE_OK;
	ps->seen_via = true;
	/* only the top Via: the first element of the first Via field */
	if (sip_element(v, &n) == -1 || n == 0)
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad Via", ps->line);
	semi = memchr(v, ';', n);
	if (semi == NULL)
		return SIP_PARSE_OK;
	rc = sip_param(semi, n - (size_t)(semi - v), "branch", &b, &bl);
	if (rc == -1)
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad Via parameters", ps->line);
	if (rc == 1)
		sip_copy(ps->out->via_branch, sizeof ps->out->via_branch, b, bl);
	return SIP_PARSE_OK;
}

static enum sip_parse_ret sip_hdr_contact(struct sip_parse *ps, const char *v)
{
	struct sip_response *out = ps->out;
	struct sip_addr a;
	const char *e;
	size_t n, el;
	int rc;

	if (ps->seen_contact)
		return SIP_PARSE_OK;
	ps->seen_contact = true;
	if (sip_element(v, &n) == -1 || n == 0)
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad Contact", ps->line);
	if (n == 1 && v[0] == '*') {
		sip_copy(out->contact_uri, sizeof out->contact_uri, "*", 1);
		return SIP_PARSE_OK;
	}
	if (sip_addr_split(v, n, &a) == -1)
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad Contact address", ps->line);
	sip_copy(out->contact_uri, sizeof out->contact_uri, a.uri, a.uri_len);
	rc = sip_param(a.params, a.params_len, "expires", &e, &el);
	if (rc == -1)
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad Contact parameters", ps->line);
	if (rc == 1 && sip_delta(e, el, &out->contact_expires) == -1)
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad Contact expires", ps->line);
	return SIP_PARSE_OK;
}

static enum sip_parse_ret sip_hdr_call_id(struct sip_parse *ps, const char *v)
{
	if (ps->seen_call_id)
		return SIP_PARSE_OK;
	ps->seen_call_id = true;
	sip_copy(ps->out->call_id, sizeof ps->out->call_id, v, strlen(v));
	return SIP_PARSE_OK;
}

/* CSeq = 1*DIGIT LWS Method, the number below 2^31 (RFC 3261 8.1.1.5) */
static enum sip_parse_ret sip_hdr_cseq(struct sip_parse *ps, const char *v)
{
	unsigned long num = 0;
	size_t i = 0, m;

	if (ps->seen_cseq)
		return SIP_PARSE_OK;
	ps->seen_cseq = true;
	for (; sip_is_digit((unsigned char)v[i]); i++) {
		num = num * 10 + (unsigned long)(v[i] - '0');
		if (num > 0x7fffffffUL)
			return sip_fail(ps, SIP_PARSE_ERROR, "line %u: CSeq number too large",
			                ps->line);
	}
	if (i == 0 || !sip_is_ws((unsigned char)v[i]))
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad CSeq", ps->line);
	i = sip_skip_ws(v, i, strlen(v));
	for (m = i; sip_is_token((unsigned char)v[m]); m++)
		;
	if (m == i || v[m] != '\0')
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad CSeq method", ps->line);
	ps->out->cseq = (unsigned)num;
	sip_copy(ps->out->cseq_method, sizeof ps->out->cseq_method, v + i, m - i);
	return SIP_PARSE_OK;
}

static enum sip_parse_ret sip_hdr_content_length(struct sip_parse *ps, const char *v)
{
	size_t num = 0, i;

	/* two lengths are a framing ambiguity (request smuggling): never pick one */
	if (ps->seen_cl)
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: duplicate Content-Length", ps->line);
	ps->seen_cl = true;
	for (i = 0; v[i] != '\0'; i++) {
		unsigned d;
		if (!sip_is_digit((unsigned char)v[i]))
			return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad Content-Length",
			                ps->line);
		d = (unsigned)(v[i] - '0');
		if (num > (SIZE_MAX - d) / 10)
			return sip_fail(ps, SIP_PARSE_ERROR, "line %u: Content-Length overflows",
			                ps->line);
		num = num * 10 + d;
	}
	if (i == 0)
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: empty Content-Length", ps->line);
	ps->out->content_length = num;
	return SIP_PARSE_OK;
}

static enum sip_parse_ret sip_hdr_expires(struct sip_parse *ps, const char *v)
{
	if (ps->seen_expires)
		return SIP_PARSE_OK;
	ps->seen_expires = true;
	if (sip_delta(v, strlen(v), &ps->out->expires) == -1)
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad Expires", ps->line);
	return SIP_PARSE_OK;
}

/* Retry-After = delta-seconds [ comment ] *( SEMI retry-param ) */
static enum sip_parse_ret sip_hdr_retry_after(struct sip_parse *ps, const char *v)
{
	size_t d = 0;

	if (ps->seen_retry)
		return SIP_PARSE_OK;
	ps->seen_retry = true;
	while (sip_is_digit((unsigned char)v[d]))
		d++;
	if (sip_delta(v, d, &ps->out->retry_after) == -1 ||
	    (v[d] != '\0' && !sip_is_ws((unsigned char)v[d]) && v[d] != '(' && v[d] != ';')) {
		ps->out->retry_after = -1;
		return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad Retry-After", ps->line);
	}
	return SIP_PARSE_OK;
}

static enum sip_parse_ret sip_hdr_warning(struct sip_parse *ps, const char *v)
{
	size_t n;

	if (ps->seen_warning)
		return SIP_PARSE_OK;
	ps->seen_warning = true;
	/* informational only: an unclosed quote just keeps the whole value */
	sip_element(v, &n);
	sip_copy(ps->out->warning, sizeof ps->out->warning, v, n);
	return SIP_PARSE_OK;
}

static enum sip_parse_ret sip_hdr_ms_diag(struct sip_parse *ps, const char *v)
{
	if (ps->seen_ms_diag)
		return SIP_PARSE_OK;
	ps->seen_ms_diag = true;
	sip_copy(ps->out->ms_diagnostics, sizeof ps->out->ms_diagnostics, v, strlen(v));
	return SIP_PARSE_OK;
}

/* the public variant is a redacted copy: used only when the full one is absent */
static enum sip_parse_ret sip_hdr_ms_public(struct sip_parse *ps, const char *v)
{
	if (ps->seen_ms_diag || ps->seen_ms_public)
		return SIP_PARSE_OK;
	ps->seen_ms_public = true;
	sip_copy(ps->out->ms_diagnostics, sizeof ps->out->ms_diagnostics, v, strlen(v));
	return SIP_PARSE_OK;
}

static enum sip_parse_ret sip_hdr_server(struct sip_parse *ps, const char *v)
{
	if (ps->seen_server)
		return SIP_PARSE_OK;
	ps->seen_server = true;
	sip_copy(ps->out->server, sizeof ps->out->server, v, strlen(v));
	return SIP_PARSE_OK;
}

static enum sip_parse_ret sip_hdr_www_authenticate(struct sip_parse *ps, const char *v)
{
	struct sip_response *out = ps->out;
	static const char dsk[] = "TLS-DSK";
	size_t dl = strlen(dsk);

	if (ps->n_auth++ > 0)
		sip_append(out->www_authenticate, sizeof out->www_authenticate, " | ", 3);
	sip_append(out->www_authenticate, sizeof out->www_authenticate, v, strlen(v));
	if (strlen(v) >= dl && sip_caseeq(v, dsk, dl) &&
	    (v[dl] == '\0' || sip_is_ws((unsigned char)v[dl]) || v[dl] == ','))
		out->tls_dsk_offered = true;
	return SIP_PARSE_OK;
}

struct sip_header_handler {
	const char *name;
	char compact; /* RFC 3261 7.3.3 compact form, 0 if none used here */
	enum sip_parse_ret (*handle)(struct sip_parse *ps, const char *value);
};

static const struct sip_header_handler sip_header_handlers[] = {
    {"Via", 'v', sip_hdr_via},
    {"From", 'f', sip_hdr_from},
    {"To", 't', sip_hdr_to},
    {"Call-ID", 'i', sip_hdr_call_id},
    {"CSeq", 0, sip_hdr_cseq},
    {"Contact", 'm', sip_hdr_contact},
    {"Content-Length", 'l', sip_hdr_content_length},
    {"Expires", 0, sip_hdr_expires},
    {"Retry-After", 0, sip_hdr_retry_after},
    {"Warning", 0, sip_hdr_warning},
    {"ms-diagnostics", 0, sip_hdr_ms_diag},
    {"ms-diagnostics-public", 0, sip_hdr_ms_public},
    {"Server", 0, sip_hdr_server},
    {"WWW-Authenticate", 0, sip_hdr_www_authenticate},
};

static enum sip_parse_ret sip_header(struct sip_parse *ps, const unsigned char *name, size_t nl)
{
	for (size_t i = 0; i < sizeof sip_header_handlers / sizeof sip_header_handlers[0]; i++) {
		const struct sip_header_handler *h = &sip_header_handlers[i];
		bool match;
		if (nl == 1)
			match = h->compact != 0 && sip_lower(name[0]) == (unsigned char)h->compact;
		else
			match =
			    nl == strlen(h->name) && sip_caseeq((const char *)name, h->name, nl);
		if (match)
			return h->handle(ps, ps->val);
	}
	return SIP_PARSE_OK;
}

/* Appends one line's part of a value to ps->val: trimmed, joined by one SP, HT as SP. */
static void sip_unfold(struct sip_parse *ps, size_t *vlen, const unsigned char *s, size_t n)
{
	while (n > 0 && sip_is_ws(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && sip_is_ws(s[n - 1]))
		n--;
	if (n == 0)
		return;
	if (*vlen > 0)
		ps->val[(*vlen)++] = ' ';
	for (size_t i = 0; i < n; i++)
		ps->val[(*vlen)++] = s[i] == '\t' ? ' ' : (char)s[i];
	ps->val[*vlen] = '\0';
}

/* Walks the header lines of the complete header section; each field is handled once unfolded. */
static enum sip_parse_ret sip_headers(struct sip_parse *ps)
{
	const unsigned char *p = ps->p, *name = NULL, *colon;
	const unsigned char *nl = memchr(p, '\n', ps->hdr_len);
	size_t pos = (size_t)(nl - p) + 1, name_len = 0, vlen = 0;
	unsigned line = 1;

	for (;;) {
		const unsigned char *ls = p + pos, *le = memchr(ls, '\n', ps->hdr_len - pos);
		size_t n = (size_t)(le - ls);
		enum sip_parse_ret rc;

		if (n > 0 && ls[n - 1] == '\r')
			n--;
		pos = (size_t)(le - p) + 1;
		line++;
		if (n > 0 && sip_is_ws(ls[0])) {
			if (name == NULL)
				return sip_fail(ps, SIP_PARSE_ERROR,
				                "line %u: continuation line without a header",
				                line);
			sip_unfold(ps, &vlen, ls, n);
			continue;
		}
		if (name != NULL) {
			rc = sip_header(ps, name, name_len);
			if (rc != SIP_PARSE_OK)
				return rc;
		}
		if (n == 0)
			return SIP_PARSE_OK;

		colon = memchr(ls, ':', n);
		if (colon == NULL)
			return sip_fail(ps, SIP_PARSE_ERROR, "line %u: header without colon", line);
		if (++ps->out->n_headers > SIP_MAX_HEADERS)
			return sip_fail(ps, SIP_PARSE_TOOBIG, "line %u: more than %d headers", line,
			                SIP_MAX_HEADERS);
		name_len = (size_t)(colon - ls);
		while (name_len > 0 && sip_is_ws(ls[name_len - 1]))
			name_len--;
		if (name_len == 0)
			return sip_fail(ps, SIP_PARSE_ERROR, "line %u: header without name", line);
		for (size_t i = 0; i < name_len; i++)
			if (!sip_is_token(ls[i]))
				return sip_fail(ps, SIP_PARSE_ERROR, "line %u: bad header name",
				                line);
		name = ls;
		ps->line = line;
		vlen = 0;
		ps->val[0] = '\0';
		sip_unfold(ps, &vlen, colon + 1, n - (size_t)(colon + 1 - ls));
	}
}

/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase; the version is already checked. */
static enum sip_parse_ret sip_status_line(struct sip_parse *ps, const unsigned char *s, size_t n)
{
	size_t v = strlen(SIP_VERSION_SP);
	unsigned code;

	if (n < v + 3 || !sip_is_digit(s[v]) || !sip_is_digit(s[v + 1]) ||
	    !sip_is_digit(s[v + 2]) || (n > v + 3 && s[v + 3] != ' '))
		return sip_fail(ps, SIP_PARSE_ERROR, "line 1: status code is not 3 digits");
	code = (unsigned)(s[v] - '0') * 100 + (unsigned)(s[v + 1] - '0') * 10 +
	       (unsigned)(s[v + 2] - '0');
	if (code < 100 || code > 699)
		return sip_fail(ps, SIP_PARSE_ERROR, "line 1: status code %03u out of range", code);
	ps->out->code = code;
	if (n > v + 4)
		sip_copy(ps->out->reason, sizeof ps->out->reason, (const char *)s + v + 4,
		         n - v - 4);
	return SIP_PARSE_OK;
}

/*
 * Finds the end of the header section in p[0..n) (just past the blank line) within the cap.
 * Whatever can already be judged is judged on partial input: the version, the status line
 * once complete, NULs and bare CRs, so a hostile stream fails early instead of filling the
 * buffer.
 */
static enum sip_parse_ret sip_scan(struct sip_parse *ps, const unsigned char *p, size_t n)
{
	size_t vn = strlen(SIP_VERSION_SP),
	       lim = n < SIP_MAX_HEADER_BYTES ? n : SIP_MAX_HEADER_BYTES;
	size_t k = n < vn ? n : vn, ls = 0;
	unsigned line = 1;

	if (!sip_caseeq((const char *)p, SIP_VERSION_SP, k)) {
		if (k >= 4 && sip_caseeq((const char *)p, "SIP/", 4))
			return sip_fail(ps, SIP_PARSE_ERROR, "line 1: not SIP/2.0");
		return sip_fail(ps, SIP_PARSE_ERROR, "line 1: not a SIP/2.0 status line");
	}
	for (size_t i = 0; i < lim; i++) {
		size_t end;

		if (p[i] == '\0')
			return sip_fail(ps, SIP_PARSE_ERROR, "line %u: NUL byte", line);
		if (p[i] == '\r' && i + 1 < n && p[i + 1] != '\n')
			return sip_fail(ps, SIP_PARSE_ERROR, "line %u: CR without LF", line);
		if (p[i] != '\n')
			continue;
		end = i > ls && p[i - 1] == '\r' ? i - 1 : i;
		if (line == 1) {
			enum sip_parse_ret rc = sip_status_line(ps, p, end);
			if (rc != SIP_PARSE_OK)
				return rc;
		} else if (end == ls) {
			ps->hdr_len = i + 1;
			return SIP_PARSE_OK;
		}
		line++;
		ls = i + 1;
	}
	if (n >= SIP_MAX_HEADER_BYTES)
		return sip_fail(ps, SIP_PARSE_TOOBIG, "header section over %d bytes",
		                SIP_MAX_HEADER_BYTES);
	return SIP_PARSE_INCOMPLETE;
}

enum sip_parse_ret sip_response_parse(const unsigned char *buf, size_t len,
                                      struct sip_response *out, size_t *consumed, char *err,
                                      size_t errlen)
{
	struct sip_parse ps;
	size_t skip = 0;
	enum sip_parse_ret rc;

	memset(out, 0, sizeof *out);
	out->contact_expires = -1;
	out->expires = -1;
	out->retry_after = -1;
	*consumed = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&ps, 0, sizeof ps);
	ps.out = out;
	ps.err = err;
	ps.errlen = errlen;

	/* keep-alives: CRLF (RFC 5626 pings are two of them) or bare LF */
	for (;;) {
		if (skip < len && buf[skip] == '\n')
			skip++;
		else if (skip + 1 < len && buf[skip] == '\r' && buf[skip + 1] == '\n')
			skip += 2;
		else
			break;
	}
	if (skip == len || (skip + 1 == len && buf[skip] == '\r')) {
		*consumed = skip;
		return SIP_PARSE_INCOMPLETE;
	}

	ps.p = buf + skip;
	rc = sip_scan(&ps, ps.p, len - skip);
	if (rc == SIP_PARSE_INCOMPLETE)
		*consumed = skip;
	if (rc != SIP_PARSE_OK)
		return rc;

	ps.val = xmalloc(ps.hdr_len + 1);
	rc = sip_headers(&ps);
	free(ps.val);
	ps.val = NULL;
	if (rc != SIP_PARSE_OK)
		return rc;
	if (!ps.seen_cl)
		return sip_fail(&ps, SIP_PARSE_ERROR,
		                "no Content-Length (required on a stream transport)");
	if (out->content_length > SIP_MAX_BODY)
		return sip_fail(&ps, SIP_PARSE_TOOBIG, "Content-Length %zu over %d",
		                out->content_length, SIP_MAX_BODY);
	if (len - skip - ps.hdr_len < out->content_length) {
		*consumed = skip;
		return SIP_PARSE_INCOMPLETE;
	}
	out->body_offset = skip + ps.hdr_len;
	*consumed = skip + ps.hdr_len + out->content_length;
	return SIP_PARSE_OK;
}
