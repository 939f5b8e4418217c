/*
 * sipae_auth: TLS-DSK text and record formats (contract in sipae_auth.h). Everything here
 * reads bytes a registrar sent: cursor parsing with explicit ends, every copy bounded, no
 * NUL-terminated assumptions about the input.
 */
#include "transactions/clientauth/sipae_auth.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool caseeq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 3261 token characters */
static bool is_token(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-.!%*_+`'~", c) != NULL;
}

/* ---- parameters ---- */

enum param_id {
	P_REALM,
	P_TARGETNAME,
	P_OPAQUE,
	P_QOP,
	P_STS_URI,
	P_VERSION,
	P_CRAND,
	P_CNUM,
	P_RESPONSE,
	P_SRAND,
	P_SNUM,
	P_RSPAUTH,
	P_GSSAPI,
	P_COUNT,
};

static const char *const param_names[P_COUNT] = {
    [P_REALM] = "realm",        [P_TARGETNAME] = "targetname",
    [P_OPAQUE] = "opaque",      [P_QOP] = "qop",
    [P_STS_URI] = "sts-uri",    [P_VERSION] = "version",
    [P_CRAND] = "crand",        [P_CNUM] = "cnum",
    [P_RESPONSE] = "response",  [P_SRAND] = "srand",
    [P_SNUM] = "snum",          [P_RSPAUTH] = "rspauth",
    [P_GSSAPI] = "gssapi-data",
};

static char *param_field(struct sipae_params *o, enum param_id id, size_t *cap)
{
	switch (id) {
	case P_REALM:
		*cap = sizeof o->realm;
		return o->realm;
	case P_TARGETNAME:
		*cap = sizeof o->targetname;
		return o->targetname;
	case P_OPAQUE:
		*cap = sizeof o->opaque;
		return o->opaque;
	case P_QOP:
		*cap = sizeof o->qop;
		return o->qop;
	case P_STS_URI:
		*cap = sizeof o->sts_uri;
		return o->sts_uri;
	case P_CRAND:
		*cap = sizeof o->crand;
		return o->crand;
	case P_CNUM:
		*cap = sizeof o->cnum;
		return o->cnum;
	case P_RESPONSE:
		*cap = sizeof o->response;
		return o->response;
	case P_SRAND:
		*cap = sizeof o->srand;
		return o->srand;
	case P_SNUM:
		*cap = sizeof o->snum;
		return o->snum;
	case P_RSPAUTH:
		*cap = sizeof o->rspauth;
		return o->rspauth;
	default:
		*cap = 0;
		return NULL;
	}
}

/* Copy a value (quoted: without its quotes, \x read as x); control characters are refused. */
static int copy_value(const char *v, size_t n, bool quoted, char *dst, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (quoted && c == '\\' && i + 1 < n)
			c = v[++i];
		if ((unsigned char)c < 0x20 || c == 0x7f)
			return -1;
		if (o + 1 >= cap)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

int sipae_params_parse(const char *v, size_t len, struct sipae_params *out, char *err,
                       size_t errlen)
{
	bool seen[P_COUNT] = {false};
	size_t i = 0, s;

	memset(out, 0, sizeof *out);
	out->version = -1;
	set_err(err, errlen, "%s", "");
	while (i < len && is_ws(v[i]))
		i++;
	s = i;
	while (i < len && is_token((unsigned char)v[i]))
		i++;
	if (i == s) {
		set_err(err, errlen, "no authentication scheme");
		return -1;
	}
	if (i - s >= sizeof out->scheme) {
		set_err(err, errlen, "scheme longer than %zu", sizeof out->scheme - 1);
		return -1;
	}
	memcpy(out->scheme, v + s, i - s);
	out->scheme[i - s] = '\0';
	if (i < len && !is_ws(v[i])) {
		set_err(err, errlen, "bad character after the scheme");
		return -1;
	}
	for (;;) {
		size_t ns, ne, vs, ve;
		bool quoted = false;
		int id = -1;

		while (i < len && (is_ws(v[i]) || v[i] == ','))
			i++;
		if (i >= len)
			break;
		ns = i;
		while (i < len && is_token((unsigned char)v[i]))
			i++;
		ne = i;
		if (ne == ns) {
			set_err(err, errlen, "bad character at offset %zu", i);
			return -1;
		}
		while (i < len && is_ws(v[i]))
			i++;
		if (i >= len || v[i] != '=') {
			set_err(err, errlen, "parameter '%.*s' without '='",
			        (int)(ne - ns > 40 ? 40 : ne - ns), v + ns);
			return -1;
		}
		i++;
		while (i < len && is_ws(v[i]))
			i++;
		if (i < len && v[i] == '"') {
			quoted = true;
			vs = ++i;
			while (i < len && v[i] != '"') {
				if (v[i] == '\\')
					i++;
				i++;
			}
			if (i >= len) {
				set_err(err, errlen, "unterminated quoted value of '%.*s'",
				        (int)(ne - ns > 40 ? 40 : ne - ns), v + ns);
				return -1;
			}
			ve = i++;
		} else {
			vs = i;
			while (i < len && v[i] != ',' && !is_ws(v[i]))
				i++;
			ve = i;
		}
		for (int k = 0; k < P_COUNT; k++)
			if (caseeq(v + ns, ne - ns, param_names[k]))
				id = k;
		if (id < 0)
			continue; /* unknown parameters are skipped (RFC 2617 auth-param) */
		if (seen[id]) {
			set_err(err, errlen, "duplicate parameter '%s'", param_names[id]);
			return -1;
		}
		seen[id] = true;
		if (id == P_GSSAPI) {
			if (ve - vs > SIPAE_MAX_GSSAPI) {
				set_err(err, errlen, "gssapi-data of %zu characters (over %d)",
				        ve - vs, SIPAE_MAX_GSSAPI);
				return -1;
			}
			out->gssapi = v + vs;
			out->gssapi_len = ve - vs;
		} else if (id == P_VERSION) {
			unsigned long n = 0;
			if (ve == vs || ve - vs > 4) {
				set_err(err, errlen, "bad version");
				return -1;
			}
			for (size_t k = vs; k < ve; k++) {
				if (v[k] < '0' || v[k] > '9') {
					set_err(err, errlen, "bad version");
					return -1;
				}
				n = n * 10 + (unsigned long)(v[k] - '0');
			}
			out->version = (int)n;
		} else {
			size_t cap;
			char *dst = param_field(out, (enum param_id)id, &cap);
			if (copy_value(v + vs, ve - vs, quoted, dst, cap) == -1) {
				set_err(err, errlen,
				        "value of '%s' too long or with control characters",
				        param_names[id]);
				return -1;
			}
		}
	}
	return 0;
}

/* ---- headers of a raw message ---- */

bool sipae_header_next(const char *msg, size_t len, const char *name, char compact, size_t *pos,
                       const char **val, size_t *vlen)
{
	size_t i = *pos, nlen = strlen(name);

	if (i == 0) {
		/* skip the start line */
		while (i < len && msg[i] != '\n')
			i++;
		if (i < len)
			i++;
	}
	while (i < len) {
		size_t ls = i, le, colon, vs, ve;
		/* a field: this line plus continuation lines (starting with SP/HT) */
		while (i < len && msg[i] != '\n')
			i++;
		le = i;
		if (le > ls && msg[le - 1] == '\r')
			le--;
		if (le == ls)
			break; /* the empty line: end of the header section */
		while (i + 1 < len && (msg[i + 1] == ' ' || msg[i + 1] == '\t')) {
			i++;
			while (i < len && msg[i] != '\n')
				i++;
			le = i;
			if (le > ls && msg[le - 1] == '\r')
				le--;
		}
		if (i < len)
			i++;
		colon = ls;
		while (colon < le && msg[colon] != ':')
			colon++;
		if (colon >= le)
			continue;
		ve = colon;
		while (ve > ls && (msg[ve - 1] == ' ' || msg[ve - 1] == '\t'))
			ve--;
		if (!((ve - ls == nlen && caseeq(msg + ls, nlen, name)) ||
		      (compact != 0 && ve - ls == 1 &&
		       lower((unsigned char)msg[ls]) == lower((unsigned char)compact))))
			continue;
		vs = colon + 1;
		while (vs < le && is_ws(msg[vs]))
			vs++;
		ve = le;
		while (ve > vs && is_ws(msg[ve - 1]))
			ve--;
		*val = msg + vs;
		*vlen = ve - vs;
		*pos = i;
		return true;
	}
	*pos = len;
	return false;
}

/* ---- records ---- */

int sipae_records_split(const unsigned char *p, size_t n, struct sipae_record *rec, size_t max,
                        size_t *count, char *err, size_t errlen)
{
	size_t i = 0;

	*count = 0;
	set_err(err, errlen, "%s", "");
	if (n == 0) {
		set_err(err, errlen, "no TLS record");
		return -1;
	}
	while (i < n) {
		size_t flen;
		if (n - i < 5) {
			set_err(err, errlen, "record %zu: %zu bytes, short of a 5-byte header",
			        *count + 1, n - i);
			return -1;
		}
		if (p[i] < 20 || p[i] > 24) {
			set_err(err, errlen, "record %zu: unknown content type %u", *count + 1,
			        p[i]);
			return -1;
		}
		if (p[i + 1] != 3) {
			set_err(err, errlen, "record %zu: version %u.%u is not TLS", *count + 1,
			        p[i + 1], p[i + 2]);
			return -1;
		}
		flen = (size_t)p[i + 3] << 8 | p[i + 4];
		if (flen > 16384 + 2048) {
			set_err(err, errlen, "record %zu: length %zu over 2^14+2048", *count + 1,
			        flen);
			return -1;
		}
		if (flen > n - i - 5) {
			set_err(err, errlen, "record %zu: fragment of %zu bytes, %zu present",
			        *count + 1, flen, n - i - 5);
			return -1;
		}
		if (*count >= max) {
			set_err(err, errlen, "more than %zu records", max);
			return -1;
		}
		rec[*count].type = p[i];
		rec[*count].version = (unsigned)p[i + 1] << 8 | p[i + 2];
		rec[*count].offset = i + 5;
		rec[*count].length = flen;
		(*count)++;
		i += 5 + flen;
	}
	return 0;
}

bool sipae_records_alert(const unsigned char *p, const struct sipae_record *rec, size_t count,
                         int *level, int *desc)
{
	for (size_t i = 0; i < count; i++) {
		if (rec[i].type == 20)
			return false; /* what follows is encrypted */
		if (rec[i].type == 21 && rec[i].length >= 2) {
			*level = p[rec[i].offset];
			*desc = p[rec[i].offset + 1];
			return true;
		}
	}
	return false;
}

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int sipae_base64_decode(const char *in, size_t n, struct bbuf *out)
{
	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		unsigned char o[3];
		size_t keep = 3;
		bool last = i + 4 == n;

		for (int k = 0; k < 4; k++) {
			v[k] = b64_value(in[i + (size_t)k]);
			if (v[k] < 0) {
				if (!(last && in[i + (size_t)k] == '=' && k >= 2))
					return -1;
			}
		}
		if (v[2] < 0 && v[3] >= 0)
			return -1;
		if (v[3] < 0)
			keep = v[2] < 0 ? 1 : 2;
		/* the unused bits must be zero (canonical encoding) */
		if (keep == 1 && (v[1] & 0x0f) != 0)
			return -1;
		if (keep == 2 && (v[2] & 0x03) != 0)
			return -1;
		o[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		o[1] = (unsigned char)((v[1] & 0x0f) << 4 | (v[2] < 0 ? 0 : v[2] >> 2));
		o[2] = (unsigned char)((v[2] < 0 ? 0 : (v[2] & 0x03) << 6) | (v[3] < 0 ? 0 : v[3]));
		if (bbuf_append(out, o, keep) == -1)
			return -1;
	}
	return 0;
}

int sipae_base64_encode(const unsigned char *p, size_t n, struct bbuf *out)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned long w = (unsigned long)p[i] << 16;
		char o[4];
		if (i + 1 < n)
			w |= (unsigned long)p[i + 1] << 8;
		if (i + 2 < n)
			w |= p[i + 2];
		o[0] = b64[w >> 18 & 63];
		o[1] = b64[w >> 12 & 63];
		o[2] = i + 1 < n ? b64[w >> 6 & 63] : '=';
		o[3] = i + 2 < n ? b64[w & 63] : '=';
		if (bbuf_append(out, o, 4) == -1)
			return -1;
	}
	if (n == 0)
		return bbuf_append(out, "", 0);
	return 0;
}

/* ---- signature buffer ---- */

static const char *or_empty(const char *s)
{
	return s != NULL ? s : "";
}

int sipae_sig_buffer(struct bbuf *out, const struct sipae_sig_fields *f, int version)
{
	int rc = bbuf_appendf(out, "<%s><%s><%s><%s><%s><%s><%u><%s><%s><%s>", or_empty(f->scheme),
	                      or_empty(f->rand), or_empty(f->num), or_empty(f->realm),
	                      or_empty(f->targetname), or_empty(f->call_id), f->cseq,
	                      or_empty(f->method), or_empty(f->from_uri), or_empty(f->from_tag));

	if (rc == 0 && version >= 3)
		rc = bbuf_appendf(out, "<%s><%s><%s><%s>", or_empty(f->to_uri), or_empty(f->to_tag),
		                  or_empty(f->pai_sip), or_empty(f->pai_tel));
	else if (rc == 0)
		rc = bbuf_appendf(out, "<%s>", or_empty(f->to_tag));
	if (rc == 0)
		rc = bbuf_appendf(out, "<%s>", or_empty(f->expires));
	if (rc == 0 && f->status != 0)
		rc = bbuf_appendf(out, "<%u>", f->status);
	return rc;
}

int sipae_name_addr(const char *v, size_t len, char *uri, size_t urilen, char *tag, size_t taglen)
{
	size_t us, ue, i;
	const char *lt = memchr(v, '<', len);

	if (lt != NULL) {
		const char *gt = memchr(lt, '>', len - (size_t)(lt - v));
		if (gt == NULL)
			return -1;
		us = (size_t)(lt - v) + 1;
		ue = (size_t)(gt - v);
		i = ue + 1;
	} else {
		us = 0;
		while (us < len && is_ws(v[us]))
			us++;
		ue = us;
		while (ue < len && v[ue] != ';' && !is_ws(v[ue]))
			ue++;
		i = ue;
	}
	if (ue - us >= urilen)
		return -1;
	memcpy(uri, v + us, ue - us);
	uri[ue - us] = '\0';
	tag[0] = '\0';
	while (i < len) {
		if (v[i] == ';' && len - i > 4 && caseeq(v + i + 1, 4, "tag=")) {
			size_t ts = i + 5, te = ts;
			while (te < len && v[te] != ';' && !is_ws(v[te]))
				te++;
			if (te - ts >= taglen)
				return -1;
			memcpy(tag, v + ts, te - ts);
			tag[te - ts] = '\0';
			break;
		}
		i++;
	}
	return 0;
}
