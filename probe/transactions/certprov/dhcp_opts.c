/*
 * dhcp_opts: build the MS-UC-Client INFORM/DISCOVER and decode the answer's options 43
 * and 120 (lync-certprov.md §1.2, §1.3, §1.6). Everything here reads bytes a DHCP server
 * sent: every length is checked against what is left before it is used.
 */
#include "transactions/certprov/dhcp_opts.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define BOOTP_HEADER_LEN 236 /* op .. file, before the magic cookie */
#define BOOTP_OFF_XID 4
#define BOOTP_OFF_SECS 8
#define BOOTP_OFF_FLAGS 10
#define BOOTP_OFF_CIADDR 12
#define BOOTP_OFF_YIADDR 16
#define BOOTP_OFF_SIADDR 20
#define BOOTP_OFF_CHADDR 28
#define BOOTP_OFF_SNAME 44
#define BOOTP_OFF_FILE 108
#define BOOTP_SNAME_LEN 64
#define BOOTP_FILE_LEN 128

#define OPT_PAD 0
#define OPT_VENDOR 43
#define OPT_OVERLOAD 52
#define OPT_MESSAGE_TYPE 53
#define OPT_SERVER_ID 54
#define OPT_SIP_SERVERS 120
#define OPT_END 255

/* The 90 bytes Cisco IOS keeps of `option 43 hex` (180 hex digits, §1.6). */
#define IOS_OPT43_CUT 90

static const uint8_t dhcp_cookie[4] = {99, 130, 83, 99};

static void put32(uint8_t *p, uint32_t v_net)
{
	memcpy(p, &v_net, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

size_t dhcp_opts_build_request(const struct dhcp_request *q, uint8_t *buf, size_t len)
{
	static const uint8_t prl[] = {1, 2, 3, 4, 6, 15, 42, OPT_VENDOR, OPT_SIP_SERVERS};
	const char *vc = q->vendor_class != NULL ? q->vendor_class : DHCP_VENDOR_CLASS_UC;
	size_t vclen = strlen(vc), n;

	if (vclen > 255)
		vclen = 255;
	/* header + cookie + 53 + 61 + 60 + 55 + 57 + end */
	n = BOOTP_HEADER_LEN + 4 + 3 + 9 + 2 + vclen + 2 + sizeof prl + 4 + 1;
	if (len < n || len < DHCP_PACKET_MIN)
		return 0;
	memset(buf, 0, len < DHCP_PACKET_MAX ? len : DHCP_PACKET_MAX);
	buf[0] = 1; /* BOOTREQUEST */
	buf[1] = 1; /* Ethernet */
	buf[2] = 6;
	put32(buf + BOOTP_OFF_XID, q->xid);
	buf[BOOTP_OFF_SECS] = (uint8_t)(q->secs >> 8);
	buf[BOOTP_OFF_SECS + 1] = (uint8_t)q->secs;
	if (q->broadcast)
		buf[BOOTP_OFF_FLAGS] = 0x80;
	put32(buf + BOOTP_OFF_CIADDR, q->ciaddr);
	memcpy(buf + BOOTP_OFF_CHADDR, q->chaddr, 6);
	n = BOOTP_HEADER_LEN;
	memcpy(buf + n, dhcp_cookie, 4);
	n += 4;
	buf[n++] = OPT_MESSAGE_TYPE;
	buf[n++] = 1;
	buf[n++] = (uint8_t)q->type;
	buf[n++] = 61; /* client identifier: hardware type + address, as Windows clients send */
	buf[n++] = 7;
	buf[n++] = 1;
	memcpy(buf + n, q->chaddr, 6);
	n += 6;
	buf[n++] = 60;
	buf[n++] = (uint8_t)vclen;
	memcpy(buf + n, vc, vclen);
	n += vclen;
	buf[n++] = 55;
	buf[n++] = sizeof prl;
	memcpy(buf + n, prl, sizeof prl);
	n += sizeof prl;
	buf[n++] = 57; /* maximum message size: room for long options 43 and 120 */
	buf[n++] = 2;
	buf[n++] = DHCP_PACKET_MAX >> 8;
	buf[n++] = DHCP_PACKET_MAX & 0xff;
	buf[n++] = OPT_END;
	return n < DHCP_PACKET_MIN ? DHCP_PACKET_MIN : n;
}

static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* One instance of an option found in one of the option areas. */
struct opt_instance {
	uint8_t code;
	uint8_t len;
	const uint8_t *value;
};

#define MAX_INSTANCES (DHCP_PACKET_MAX / 2)

/*
 * Walk one option area (len bytes), appending every instance to inst. Returns 0, or -1
 * when an option's length runs past the area. *overload gets option 52's value.
 */
static int walk_area(const uint8_t *p, size_t len, struct opt_instance *inst, size_t *ninst,
                     int *overload, size_t *used, char *why, size_t whylen)
{
	size_t i = 0;

	while (i < len) {
		uint8_t code = p[i];
		if (code == OPT_PAD) {
			i++;
			continue;
		}
		if (code == OPT_END) {
			i++;
			break;
		}
		if (i + 1 >= len || i + 2 + (size_t)p[i + 1] > len) {
			say(why, whylen, "option %u at offset %zu runs past the end of the options",
			    code, i);
			return -1;
		}
		if (*ninst == MAX_INSTANCES) {
			say(why, whylen, "too many options");
			return -1;
		}
		inst[*ninst].code = code;
		inst[*ninst].len = p[i + 1];
		inst[*ninst].value = p + i + 2;
		(*ninst)++;
		if (code == OPT_OVERLOAD && p[i + 1] == 1 && overload != NULL)
			*overload = p[i + 2];
		i += 2 + (size_t)p[i + 1];
	}
	if (used != NULL)
		*used = i;
	return 0;
}

int dhcp_opts_parse_reply(const uint8_t *pkt, size_t len, struct dhcp_reply *r, char *why,
                          size_t whylen)
{
	struct opt_instance in[MAX_INSTANCES];
	size_t ninst = 0, used = 0;
	int overload = 0;

	memset(r, 0, offsetof(struct dhcp_reply, store));
	r->store_len = 0;
	r->message_type = -1;
	if (len < BOOTP_HEADER_LEN + 4 || len > 65535) {
		say(why, whylen, "%zu bytes: not a DHCP message", len);
		return -1;
	}
	if (pkt[0] != 2) {
		say(why, whylen, "op %u: not a BOOTREPLY", pkt[0]);
		return -1;
	}
	if (memcmp(pkt + BOOTP_HEADER_LEN, dhcp_cookie, 4) != 0) {
		say(why, whylen, "no DHCP magic cookie");
		return -1;
	}
	r->xid = get32(pkt + BOOTP_OFF_XID);
	r->ciaddr = get32(pkt + BOOTP_OFF_CIADDR);
	r->yiaddr = get32(pkt + BOOTP_OFF_YIADDR);
	r->siaddr = get32(pkt + BOOTP_OFF_SIADDR);
	memcpy(r->chaddr, pkt + BOOTP_OFF_CHADDR, sizeof r->chaddr);
	r->options_off = BOOTP_HEADER_LEN + 4;
	/* RFC 3396 order: the options field, then file, then sname (option 52) */
	if (walk_area(pkt + r->options_off, len - r->options_off, in, &ninst, &overload, &used, why,
	              whylen) == -1)
		return -1;
	r->options_len = used;
	if ((overload & 1) && walk_area(pkt + BOOTP_OFF_FILE, BOOTP_FILE_LEN, in, &ninst, NULL,
	                                NULL, why, whylen) == -1)
		return -1;
	if ((overload & 2) && walk_area(pkt + BOOTP_OFF_SNAME, BOOTP_SNAME_LEN, in, &ninst, NULL,
	                                NULL, why, whylen) == -1)
		return -1;
	/* concatenate each code's instances in the order they came */
	for (size_t i = 0; i < ninst; i++) {
		struct dhcp_option_span *s = &r->opt[in[i].code];
		if (s->instances > 0)
			continue; /* appended with its first instance */
		s->off = (uint16_t)r->store_len;
		for (size_t j = i; j < ninst; j++) {
			if (in[j].code != in[i].code)
				continue;
			if (r->store_len + in[j].len > sizeof r->store) {
				say(why, whylen, "options larger than %d bytes", DHCP_PACKET_MAX);
				return -1;
			}
			memcpy(r->store + r->store_len, in[j].value, in[j].len);
			r->store_len += in[j].len;
			if (s->instances < 255)
				s->instances++;
		}
		s->len = (uint16_t)(r->store_len - s->off);
	}
	if (r->opt[OPT_MESSAGE_TYPE].instances > 0 && r->opt[OPT_MESSAGE_TYPE].len == 1)
		r->message_type = r->store[r->opt[OPT_MESSAGE_TYPE].off];
	if (r->opt[OPT_SERVER_ID].instances > 0 && r->opt[OPT_SERVER_ID].len == 4) {
		r->server_id = get32(r->store + r->opt[OPT_SERVER_ID].off);
		r->has_server_id = true;
	}
	return 0;
}

const uint8_t *dhcp_reply_option(const struct dhcp_reply *r, unsigned code, size_t *len)
{
	if (code > 255 || r->opt[code].instances == 0) {
		*len = 0;
		return NULL;
	}
	*len = r->opt[code].len;
	return r->store + r->opt[code].off;
}

/* ---- option 43: sub-options 1-5 (§1.2) ---- */

static const char *const subopt_name[6] = {
    NULL, "UC identifier", "URL scheme", "web server FQDN", "web server port", "CertProv path",
};

static bool printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return false;
	return true;
}

static bool hostname_chars(const uint8_t *p, size_t n)
{
	if (n == 0 || p[0] == '.' || p[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return false;
		if (c == '.' && i + 1 < n && p[i + 1] == '.')
			return false;
	}
	return true;
}

static bool ends_with_ci(const uint8_t *p, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && strncasecmp((const char *)p + n - k, suffix, k) == 0;
}

/* A short, printable rendering of untrusted bytes for a detail line. */
static void quote(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < outlen; i++) {
		if (o + 8 >= outlen || i == 40) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '\'') {
			out[o++] = (char)p[i];
		} else {
			snprintf(out + o, outlen - o, "\\x%02x", p[i]);
			o += 4;
		}
	}
	if (outlen > 0)
		out[o < outlen ? o : outlen - 1] = '\0';
}

enum txn_status dhcp_opts_decode_certprov(const uint8_t *v, size_t n, char *url, size_t urllen,
                                          char *detail, size_t dlen)
{
	const uint8_t *val[6] = {NULL};
	size_t vlen[6] = {0};
	bool cut = n == IOS_OPT43_CUT; /* the tell-tale length of the IOS cut */
	const char *cut_note = cut ? "; option 43 is exactly 90 bytes: the Cisco IOS cut of "
	                             "`option 43 hex` at 180 hex digits"
	                           : "";
	char q[200];
	size_t i = 0;
	unsigned port = 0;

	if (urllen > 0)
		url[0] = '\0';
	say(detail, dlen, "%s", "");
	while (i < n) {
		uint8_t code = v[i];
		if (code == OPT_PAD) {
			i++;
			continue;
		}
		if (code == OPT_END)
			break;
		if (i + 1 >= n) {
			say(detail, dlen,
			    "sub-option %u at byte %zu has no length byte: option 43 ends after "
			    "%zu "
			    "bytes%s",
			    code, i, n, cut_note);
			return TXN_DHCP_OPT43_TRUNCATED;
		}
		if (i + 2 + (size_t)v[i + 1] > n) {
			say(detail, dlen,
			    "sub-option %u declares %u bytes but only %zu remain of option 43's "
			    "%zu%s",
			    code, v[i + 1], n - i - 2, n, cut_note);
			return TXN_DHCP_OPT43_TRUNCATED;
		}
		if (code >= 1 && code <= 5) {
			if (val[code] != NULL) {
				say(detail, dlen, "sub-option %u (%s) appears twice", code,
				    subopt_name[code]);
				return TXN_DHCP_OPT43_MALFORMED;
			}
			val[code] = v + i + 2;
			vlen[code] = v[i + 1];
		}
		i += 2 + (size_t)v[i + 1];
	}
	for (unsigned c = 1; c <= 5; c++) {
		if (val[c] == NULL) {
			say(detail, dlen,
			    "sub-option %u (%s) is missing from option 43 (%zu bytes)%s", c,
			    subopt_name[c], n, cut_note);
			return cut ? TXN_DHCP_OPT43_TRUNCATED : TXN_DHCP_OPT43_MALFORMED;
		}
		if (vlen[c] == 0 || !printable(val[c], vlen[c])) {
			quote(val[c], vlen[c], q, sizeof q);
			if (c == 4 && vlen[c] == 2)
				say(detail, dlen,
				    "sub-option 4 (web server port) is the binary number %u: the "
				    "port "
				    "must be ASCII text (\"443\")",
				    (unsigned)val[c][0] << 8 | val[c][1]);
			else
				say(detail, dlen, "sub-option %u (%s) is not ASCII text: '%s'", c,
				    subopt_name[c], q);
			return TXN_DHCP_OPT43_MALFORMED;
		}
	}
	if (vlen[1] != strlen(DHCP_VENDOR_CLASS_UC) ||
	    memcmp(val[1], DHCP_VENDOR_CLASS_UC, vlen[1]) != 0) {
		quote(val[1], vlen[1], q, sizeof q);
		say(detail, dlen,
		    "sub-option 1 (UC identifier) is '%s', not MS-UC-Client: the options are those "
		    "of another vendor class",
		    q);
		return TXN_DHCP_OPT43_MALFORMED;
	}
	if (!((vlen[2] == 5 && strncasecmp((const char *)val[2], "https", 5) == 0) ||
	      (vlen[2] == 4 && strncasecmp((const char *)val[2], "http", 4) == 0))) {
		quote(val[2], vlen[2], q, sizeof q);
		say(detail, dlen, "sub-option 2 (URL scheme) is '%s', not https or http", q);
		return TXN_DHCP_OPT43_MALFORMED;
	}
	if (!hostname_chars(val[3], vlen[3])) {
		quote(val[3], vlen[3], q, sizeof q);
		say(detail, dlen, "sub-option 3 (web server FQDN) '%s' is not a host name", q);
		return TXN_DHCP_OPT43_MALFORMED;
	}
	for (size_t k = 0; k < vlen[4]; k++)
		port = val[4][k] >= '0' && val[4][k] <= '9' && port <= 65535
		           ? port * 10 + (unsigned)(val[4][k] - '0')
		           : 70000;
	if (vlen[4] > 5 || port == 0 || port > 65535) {
		quote(val[4], vlen[4], q, sizeof q);
		say(detail, dlen,
		    "sub-option 4 (web server port) '%s' is not a port in decimal text", q);
		return TXN_DHCP_OPT43_MALFORMED;
	}
	if (val[5][0] != '/' || !ends_with_ci(val[5], vlen[5], "/CertProvisioningService.svc")) {
		quote(val[5], vlen[5], q, sizeof q);
		say(detail, dlen,
		    "sub-option 5 (CertProv path) '%s' is not /.../CertProvisioningService.svc%s",
		    q, cut_note);
		return cut ? TXN_DHCP_OPT43_TRUNCATED : TXN_DHCP_OPT43_MALFORMED;
	}
	snprintf(url, urllen, "%.*s://%.*s:%u%.*s", (int)vlen[2], (const char *)val[2],
	         (int)vlen[3], (const char *)val[3], port, (int)vlen[5], (const char *)val[5]);
	return TXN_OK;
}

/* ---- option 120: SIP servers (RFC 3361) ---- */

/*
 * One name starting at *pos of the list (v, n bytes) into out (no trailing dot). Follows
 * compression pointers backwards only, so a loop cannot form. Returns 0 or -1 with detail.
 */
static int read_name(const uint8_t *v, size_t n, size_t *pos, char *out, size_t outlen,
                     unsigned *labels, char *detail, size_t dlen)
{
	size_t p = *pos, o = 0, limit = *pos; /* a pointer must point before limit */
	bool jumped = false;
	unsigned hops = 0;

	*labels = 0;
	for (;;) {
		uint8_t l;
		if (p >= n) {
			say(detail, dlen,
			    "the name at byte %zu of option 120 has no terminating 0x00 (%zu "
			    "bytes)",
			    *pos + 1, n + 1);
			return -1;
		}
		l = v[p];
		if (l == 0) {
			if (!jumped)
				*pos = p + 1;
			break;
		}
		if ((l & 0xc0) == 0xc0) {
			size_t to;
			if (p + 1 >= n) {
				say(detail, dlen, "a compression pointer at byte %zu is cut off",
				    p + 1);
				return -1;
			}
			to = ((size_t)(l & 0x3f) << 8) | v[p + 1];
			if (to >= limit || ++hops > 64) {
				say(detail, dlen,
				    "a compression pointer at byte %zu points forward or loops (to "
				    "%zu)",
				    p + 1, to);
				return -1;
			}
			if (!jumped)
				*pos = p + 2;
			jumped = true;
			limit = to;
			p = to;
			continue;
		}
		if ((l & 0xc0) != 0) {
			say(detail, dlen, "label type 0x%02x at byte %zu is not a DNS label", l,
			    p + 1);
			return -1;
		}
		if (p + 1 + l > n) {
			say(detail, dlen,
			    "a label at byte %zu declares %u bytes but only %zu remain in option "
			    "120",
			    p + 1, l, n - p - 1);
			return -1;
		}
		if (!hostname_chars(v + p + 1, l) || memchr(v + p + 1, '.', l) != NULL) {
			char q[200];
			quote(v + p + 1, l, q, sizeof q);
			say(detail, dlen, "label '%s' in option 120 is not a host name label", q);
			return -1;
		}
		if (o + l + 2 > outlen) {
			say(detail, dlen, "the name in option 120 is longer than 255 bytes");
			return -1;
		}
		if (o > 0)
			out[o++] = '.';
		memcpy(out + o, v + p + 1, l);
		o += l;
		(*labels)++;
		p += 1 + (size_t)l;
	}
	out[o] = '\0';
	return 0;
}

enum txn_status dhcp_opts_decode_registrar(const uint8_t *v, size_t n, char *fqdn, size_t fqdnlen,
                                           char *detail, size_t dlen)
{
	char name[DHCP_FQDN_MAX];
	unsigned labels = 0;
	size_t pos = 0;

	if (fqdnlen > 0)
		fqdn[0] = '\0';
	say(detail, dlen, "%s", "");
	if (n == 0) {
		say(detail, dlen, "option 120 is empty");
		return TXN_DHCP_OPT120_MALFORMED;
	}
	if (v[0] == 1) {
		char list[80] = "";
		size_t o = 0;
		for (size_t i = 1; i + 4 <= n && o + 17 < sizeof list; i += 4)
			o += (size_t)snprintf(list + o, sizeof list - o, "%s%u.%u.%u.%u",
			                      o > 0 ? "," : "", v[i], v[i + 1], v[i + 2], v[i + 3]);
		say(detail, dlen,
		    "option 120 uses encoding 1 (IPv4 addresses: %s) instead of 0 (FQDN)",
		    (n - 1) % 4 == 0 && n > 1 ? list : "cut");
		return TXN_DHCP_OPT120_ADDRESSES;
	}
	if (v[0] != 0) {
		say(detail, dlen, "option 120 encoding byte is %u (0 = FQDN list, 1 = IPv4)", v[0]);
		return TXN_DHCP_OPT120_MALFORMED;
	}
	if (n == 1) {
		say(detail, dlen, "option 120 has the encoding byte and no name");
		return TXN_DHCP_OPT120_MALFORMED;
	}
	/* the first name is the first logon pool; the rest are only checked */
	for (bool first = true; pos < n - 1; first = false) {
		char *dst = first ? name : NULL;
		char scratch[DHCP_FQDN_MAX];
		if (read_name(v + 1, n - 1, &pos, dst != NULL ? dst : scratch, DHCP_FQDN_MAX,
		              &labels, detail, dlen) == -1)
			return TXN_DHCP_OPT120_MALFORMED;
		if (labels < 2) {
			say(detail, dlen,
			    "option 120 names '%s', not a fully qualified domain name",
			    dst != NULL ? dst : scratch);
			return TXN_DHCP_OPT120_MALFORMED;
		}
		if (dst != NULL)
			snprintf(fqdn, fqdnlen, "%s", name);
	}
	return TXN_OK;
}

enum txn_status dhcp_opts_decode(const struct dhcp_reply *r, struct dhcp_found *f)
{
	char d43[DHCP_DETAIL_MAX] = "", d120[DHCP_DETAIL_MAX] = "";
	enum txn_status s43, s120;
	const uint8_t *v;
	size_t n;

	f->certprov_url[0] = '\0';
	f->registrar[0] = '\0';
	v = dhcp_reply_option(r, OPT_VENDOR, &n);
	if (v == NULL) {
		s43 = TXN_DHCP_OPT43_MISSING;
		snprintf(d43, sizeof d43, "the answer has no option 43 for vendor class %s",
		         DHCP_VENDOR_CLASS_UC);
	} else {
		s43 = dhcp_opts_decode_certprov(v, n, f->certprov_url, sizeof f->certprov_url, d43,
		                                sizeof d43);
	}
	v = dhcp_reply_option(r, OPT_SIP_SERVERS, &n);
	if (v == NULL) {
		s120 = TXN_DHCP_OPT120_MISSING;
		snprintf(d120, sizeof d120, "the answer has no option 120 (SIP servers)");
	} else {
		s120 = dhcp_opts_decode_registrar(v, n, f->registrar, sizeof f->registrar, d120,
		                                  sizeof d120);
	}
	if (s43 != TXN_OK && s120 != TXN_OK)
		snprintf(f->detail, sizeof f->detail, "%s; and %s", d43, d120);
	else
		snprintf(f->detail, sizeof f->detail, "%s", s43 != TXN_OK ? d43 : d120);
	f->status = s43 != TXN_OK ? s43 : s120;
	return f->status;
}

void dhcp_opts_hex(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	if (outlen == 0)
		return;
	for (size_t i = 0; i < n && o + 2 < outlen; i++) {
		out[o++] = digits[p[i] >> 4];
		out[o++] = digits[p[i] & 15];
	}
	out[o] = '\0';
}
