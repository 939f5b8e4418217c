/*
 * scep_faultd - a fault-injecting SCEP (RFC 8894) responder used as a test
 * peer for certprobe's SCEP client.
 *
 * It is an independent implementation (OpenSSL CMS + libevent evhttp) and
 * shares no code with the probe. The first path segment of every URL selects
 * a "mode" (success, ra, pending-2, fail-3, badnonce, stall, ...); see
 * tests/peers/README.md for what each mode sends.
 *
 *   scep_faultd -p PORT -d DIR [-c CHALLENGE] [-v]
 *
 * Single-threaded and non-blocking: slow/stall replies are driven by timers
 * and connection-close callbacks, the 4 MiB "oversized" body is streamed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MAX_BODY (1024 * 1024)
#define OVERSIZE_TOTAL ((size_t)4 * 1024 * 1024)
#define OVERSIZE_CHUNK ((size_t)64 * 1024)
#define IIS_MAX_QUERY 2048
#define MAX_TXN 256
#define MAX_OTP 64
#define OTP_VALIDITY 3600
#define OTP_CACHE 5
#define DAY 86400L

/* ------------------------------------------------------------------ */
/* global state                                                         */

struct pki {
	X509 *ca;
	EVP_PKEY *ca_key;
	X509 *ra_sign;
	EVP_PKEY *ra_sign_key;
	X509 *ra_enc;
	EVP_PKEY *ra_enc_key;
	X509 *rogue;
	EVP_PKEY *rogue_key;
	X509 *expired_ca;
	EVP_PKEY *expired_ca_key;
	X509 *next_ca;
	EVP_PKEY *next_ca_key;
	EVP_PKEY *other_key; /* public key used by "wrongkey" */
};

struct txn {
	char *tid;
	int polls;
	X509_REQ *csr;
	unsigned long seq;
};

struct otp {
	char pw[17];
	time_t expires;
	int used;
};

struct stats {
	unsigned long requests;
	unsigned long pkiop_get;
	unsigned long pkiop_post;
	unsigned long certpolls;
	unsigned long otp_issued;
	unsigned long otp_used;
	size_t last_query_len;
	size_t last_body_len;
	int last_recipients;
	char last_cipher[48];
	char last_digest[48];
	int last_challenge_ok; /* -1 = no PKCSReq/RenewalReq seen yet */
	int last_message_type; /* -1 = none */
	char last_tid[256];
	char last_status[8];
	char last_failinfo[40];
	char last_method[8];
	char last_content_type[96];
	int last_query_plus;
};

struct pend; /* deferred/streamed replies */

static struct {
	struct event_base *base;
	struct evhttp *http;
	const char *challenge;
	int verbose;
	struct pki pki;
	struct stats st;
	struct txn txn[MAX_TXN];
	unsigned long txn_seq;
	struct otp otp[MAX_OTP];
	struct pend *pend_head;
	ASN1_OBJECT *oid_msgtype, *oid_status, *oid_failinfo, *oid_snonce, *oid_rnonce, *oid_tid,
	    *oid_failtext;
	unsigned char zeros[OVERSIZE_CHUNK];
} G;

static void vlog(const char *fmt, ...)
{
	va_list ap;
	if (!G.verbose)
		return;
	va_start(ap, fmt);
	fputs("scep_faultd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void die(const char *what)
{
	fprintf(stderr, "scep_faultd: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void stats_reset(void)
{
	memset(&G.st, 0, sizeof G.st);
	G.st.last_challenge_ok = -1;
	G.st.last_message_type = -1;
}

/* ------------------------------------------------------------------ */
/* modes                                                                */

enum mkind {
	M_SUCCESS,
	M_RA,
	M_GETONLY,
	M_IIS,
	M_PENDING,
	M_PENDING_FOREVER,
	M_FAIL,
	M_BADNONCE,
	M_BADTID,
	M_BADTYPE,
	M_NONONCE,
	M_UNSIGNED,
	M_WRONGSIGNER,
	M_GARBAGE,
	M_TRUNCATED,
	M_OVERSIZED,
	M_OVERSIZED_CL,
	M_WRONGCT,
	M_HTTP500,
	M_STALL,
	M_SLOW,
	M_NOCAPS,
	M_DES,
	M_CAPS,
	M_EXPIREDCA,
	M_NOISSUED,
	M_WRONGKEY,
	M_EXPIREDISSUED,
	M_NEXTCA,
	M_BIGHEADER,
	M_MANYHEADERS
};

struct mode {
	enum mkind kind;
	long n;
	char arg[512];
	char name[64];
};

static const char CAPS_SUCCESS[] = "POSTPKIOperation\nSHA-256\nAES\nSCEPStandard\nRenewal\n";
static const char CAPS_NEXTCA[] =
    "POSTPKIOperation\nSHA-256\nAES\nSCEPStandard\nRenewal\nGetNextCACert\n";
static const char CAPS_NDES[] =
    "POSTPKIOperation\r\nRenewal\r\nSHA-512\r\nSHA-256\r\nSHA-1\r\nDES3\r\n";
static const char CAPS_GETONLY[] = "SHA-256\nAES\n";

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;
	if (!*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_mode(const char *seg, struct mode *m)
{
	static const struct {
		const char *name;
		enum mkind k;
	} plain[] = {
	    {"success", M_SUCCESS},
	    {"ra", M_RA},
	    {"getonly", M_GETONLY},
	    {"iis", M_IIS},
	    {"pending-forever", M_PENDING_FOREVER},
	    {"badnonce", M_BADNONCE},
	    {"badtid", M_BADTID},
	    {"badtype", M_BADTYPE},
	    {"nononce", M_NONONCE},
	    {"unsigned", M_UNSIGNED},
	    {"wrongsigner", M_WRONGSIGNER},
	    {"garbage", M_GARBAGE},
	    {"truncated", M_TRUNCATED},
	    {"oversized", M_OVERSIZED},
	    {"oversized-cl", M_OVERSIZED_CL},
	    {"wrongct", M_WRONGCT},
	    {"http500", M_HTTP500},
	    {"stall", M_STALL},
	    {"nocaps", M_NOCAPS},
	    {"des", M_DES},
	    {"expiredca", M_EXPIREDCA},
	    {"noissued", M_NOISSUED},
	    {"wrongkey", M_WRONGKEY},
	    {"expiredissued", M_EXPIREDISSUED},
	    {"nextca", M_NEXTCA},
	    {"bigheader", M_BIGHEADER},
	    {"manyheaders", M_MANYHEADERS},
	};
	size_t i;
	memset(m, 0, sizeof *m);
	if (strlen(seg) >= sizeof m->name + sizeof m->arg - 8)
		return -1;
	snprintf(m->name, sizeof m->name, "%s", seg);
	for (i = 0; i < sizeof plain / sizeof plain[0]; i++)
		if (strcmp(seg, plain[i].name) == 0) {
			m->kind = plain[i].k;
			return 0;
		}
	if (strncmp(seg, "pending-", 8) == 0) {
		m->kind = M_PENDING;
		return parse_long(seg + 8, 0, 100000, &m->n);
	}
	if (strncmp(seg, "slow-", 5) == 0) {
		m->kind = M_SLOW;
		return parse_long(seg + 5, 0, 3600, &m->n);
	}
	if (strncmp(seg, "fail-", 5) == 0) {
		const char *k = seg + 5;
		size_t j, len = strlen(k);
		if (len == 0 || len > 16)
			return -1;
		for (j = 0; j < len; j++)
			if (!((k[j] >= '0' && k[j] <= '9') || (k[j] >= 'a' && k[j] <= 'z') ||
			      (k[j] >= 'A' && k[j] <= 'Z')))
				return -1;
		m->kind = M_FAIL;
		snprintf(m->arg, sizeof m->arg, "%s", k);
		return 0;
	}
	if (strncmp(seg, "caps-", 5) == 0) {
		m->kind = M_CAPS;
		snprintf(m->arg, sizeof m->arg, "%s", seg + 5);
		return 0;
	}
	return -1;
}

/* case-insensitive membership test in a comma-separated caps list */
static int caps_has(const char *list, const char *word)
{
	size_t wl = strlen(word);
	const char *p = list;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == wl && strncasecmp(p, word, wl) == 0)
			return 1;
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

/* reply cipher and digest for a mode (req_md_nid: digest the client used) */
static void mode_algs(const struct mode *m, int req_md_nid, const EVP_CIPHER **cipher,
                      const EVP_MD **md)
{
	*cipher = EVP_aes_128_cbc();
	*md = EVP_sha256();
	switch (m->kind) {
	case M_RA:
		*cipher = EVP_des_ede3_cbc();
		*md = req_md_nid == NID_sha1 ? EVP_sha1() : EVP_sha256();
		break;
	case M_NOCAPS:
		*cipher = EVP_des_ede3_cbc();
		*md = EVP_sha1();
		break;
	case M_DES:
		*cipher = EVP_des_cbc();
		*md = EVP_sha1();
		break;
	case M_CAPS: {
		int std = caps_has(m->arg, "SCEPStandard");
		if (!std && !caps_has(m->arg, "AES"))
			*cipher = EVP_des_ede3_cbc();
		if (!std && !caps_has(m->arg, "SHA-256"))
			*md = caps_has(m->arg, "SHA-512") ? EVP_sha512() : EVP_sha1();
		break;
	}
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

static void hex_encode(const unsigned char *in, size_t n, char *out, int upper)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
	const char *d = upper ? up : lo;
	size_t i;
	for (i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX decoding only ('+' stays '+'); returns malloc'd string or NULL */
static char *pct_decode(const char *s, size_t len, size_t *outlen)
{
	char *out = malloc(len + 1);
	size_t i, o = 0;
	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			int h, l;
			if (i + 2 >= len) {
				free(out);
				return NULL;
			}
			h = hexval((unsigned char)s[i + 1]);
			l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0) {
				free(out);
				return NULL;
			}
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return out;
}

static int b64val(int c)
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

/* strict standard base64 (CR/LF ignored, padding optional); NULL if bad */
static unsigned char *b64_decode(const char *s, size_t len, size_t *outlen)
{
	unsigned char *out = malloc(len / 4 * 3 + 3);
	uint32_t acc = 0;
	size_t i, o = 0;
	int nq = 0, pad = 0;
	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i], v;
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad)
			goto bad; /* data after padding */
		v = b64val(c);
		if (v < 0)
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		if (++nq == 4) {
			out[o++] = (unsigned char)(acc >> 16);
			out[o++] = (unsigned char)(acc >> 8);
			out[o++] = (unsigned char)acc;
			acc = 0;
			nq = 0;
		}
	}
	if (nq == 1 || pad > 2 || (pad && nq + pad != 4))
		goto bad;
	if (nq == 2) {
		out[o++] = (unsigned char)(acc >> 4);
	} else if (nq == 3) {
		out[o++] = (unsigned char)(acc >> 10);
		out[o++] = (unsigned char)(acc >> 2);
	}
	if (o == 0)
		goto bad;
	*outlen = o;
	return out;
bad:
	free(out);
	return NULL;
}

/* find key in a raw query string; returns pointer to raw value + length */
static const char *query_param(const char *q, const char *key, size_t *vlen)
{
	size_t kl = strlen(key);
	const char *p = q;
	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t l = amp ? (size_t)(amp - p) : strlen(p);
		if (l >= kl + 1 && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			*vlen = l - kl - 1;
			return p + kl + 1;
		}
		if (l == kl && strncmp(p, key, kl) == 0) {
			*vlen = 0;
			return p + kl;
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

static void json_str(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			evbuffer_add_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			evbuffer_add_printf(b, "\\u%04x", c);
		else
			evbuffer_add(b, s, 1);
	}
	evbuffer_add(b, "\"", 1);
}

static void copy_printable(char *dst, size_t dsz, const unsigned char *src, size_t n)
{
	size_t i;
	if (n >= dsz)
		n = dsz - 1;
	for (i = 0; i < n; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[n] = '\0';
}

/* ------------------------------------------------------------------ */
/* PKI: generation / loading                                            */

static EVP_PKEY *gen_rsa(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	if (!k)
		die("RSA key generation failed");
	return k;
}

static X509_NAME *cn_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	if (!n || !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
	                                      -1, 0))
		die("X509_NAME");
	return n;
}

static int add_ext(X509 *issuer, X509 *subj, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int ok;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, subj, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex)
		return -1;
	ok = X509_add_ext(subj, ex, -1);
	X509_EXTENSION_free(ex);
	return ok ? 0 : -1;
}

static int set_random_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn;
	ASN1_INTEGER *ai;
	int ok;
	if (RAND_bytes(b, sizeof b) != 1)
		return -1;
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x40); /* positive, 16 bytes */
	bn = BN_bin2bn(b, sizeof b, NULL);
	ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	ok = ai && X509_set_serialNumber(x, ai);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return ok ? 0 : -1;
}

/*
 * Make a certificate. issuer == NULL means self-signed (signed by pub's key
 * which must then be the private key). Extensions: any NULL is omitted.
 */
static X509 *make_cert(const X509_NAME *subject, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key,
                       long nb, long na, const char *bc, const char *ku, const char *eku,
                       X509_EXTENSION *san)
{
	X509 *x = X509_new();
	X509 *iss;
	if (!x || !X509_set_version(x, 2) || set_random_serial(x) != 0 ||
	    !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), nb) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), na) || !X509_set_pubkey(x, pub))
		goto err;
	iss = issuer ? issuer : x;
	if (bc && add_ext(iss, x, NID_basic_constraints, bc) != 0)
		goto err;
	if (ku && add_ext(iss, x, NID_key_usage, ku) != 0)
		goto err;
	if (eku && add_ext(iss, x, NID_ext_key_usage, eku) != 0)
		goto err;
	if (san && !X509_add_ext(x, san, -1))
		goto err;
	if (add_ext(iss, x, NID_subject_key_identifier, "hash") != 0)
		goto err;
	if (add_ext(iss, x, NID_authority_key_identifier, "keyid:always") != 0)
		goto err;
	if (!X509_sign(x, issuer_key, EVP_sha256()))
		goto err;
	return x;
err:
	X509_free(x);
	return NULL;
}

static X509 *make_named(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, long nb,
                        long na, const char *bc, const char *ku)
{
	X509_NAME *n = cn_name(cn);
	X509 *x =
	    make_cert(n, key, issuer, issuer_key ? issuer_key : key, nb, na, bc, ku, NULL, NULL);
	X509_NAME_free(n);
	if (!x)
		die("certificate generation failed");
	return x;
}

static void path_join(char *out, size_t sz, const char *dir, const char *name)
{
	snprintf(out, sz, "%s/%s", dir, name);
}

static void write_file(const char *dir, const char *name, const void *data, size_t len, mode_t perm)
{
	char p[4096];
	int fd;
	const unsigned char *d = data;
	path_join(p, sizeof p, dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, perm);
	if (fd < 0)
		die("cannot write into -d DIR");
	(void)fchmod(fd, perm);
	while (len > 0) {
		ssize_t w = write(fd, d, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write failed");
		}
		d += w;
		len -= (size_t)w;
	}
	close(fd);
}

static void write_cert(const char *dir, const char *name, X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	if (!b || !PEM_write_bio_X509(b, x))
		die("PEM encode");
	len = BIO_get_mem_data(b, &data);
	write_file(dir, name, data, (size_t)len, 0644);
	BIO_free(b);
}

static void write_key(const char *dir, const char *name, EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	if (!b || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
		die("PEM encode");
	len = BIO_get_mem_data(b, &data);
	write_file(dir, name, data, (size_t)len, 0600);
	BIO_free(b);
}

static void write_fp(const char *dir, const char *name, X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[8 + 2 * EVP_MAX_MD_SIZE + 1];
	if (!X509_digest(x, EVP_sha256(), md, &mdlen))
		die("digest");
	memcpy(buf, "sha256:", 7);
	hex_encode(md, mdlen, buf + 7, 0);
	write_file(dir, name, buf, strlen(buf), 0644);
}

static X509 *load_cert(const char *dir, const char *name)
{
	char p[4096];
	FILE *f;
	X509 *x;
	path_join(p, sizeof p, dir, name);
	f = fopen(p, "r");
	if (!f)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static EVP_PKEY *load_key(const char *dir, const char *name)
{
	char p[4096];
	FILE *f;
	EVP_PKEY *k;
	path_join(p, sizeof p, dir, name);
	f = fopen(p, "r");
	if (!f)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

static void pki_free(struct pki *k)
{
	X509_free(k->ca);
	EVP_PKEY_free(k->ca_key);
	X509_free(k->ra_sign);
	EVP_PKEY_free(k->ra_sign_key);
	X509_free(k->ra_enc);
	EVP_PKEY_free(k->ra_enc_key);
	X509_free(k->rogue);
	EVP_PKEY_free(k->rogue_key);
	X509_free(k->expired_ca);
	EVP_PKEY_free(k->expired_ca_key);
	X509_free(k->next_ca);
	EVP_PKEY_free(k->next_ca_key);
	EVP_PKEY_free(k->other_key);
	memset(k, 0, sizeof *k);
}

static int pair_ok(X509 *x, EVP_PKEY *k)
{
	return x && k && X509_check_private_key(x, k) == 1;
}

static int pki_load(const char *dir, struct pki *k)
{
	time_t soon = time(NULL) + 2 * DAY;
	k->ca = load_cert(dir, "ca.pem");
	k->ca_key = load_key(dir, "ca.key");
	k->ra_sign = load_cert(dir, "ra-sign.pem");
	k->ra_sign_key = load_key(dir, "ra-sign.key");
	k->ra_enc = load_cert(dir, "ra-enc.pem");
	k->ra_enc_key = load_key(dir, "ra-enc.key");
	k->rogue = load_cert(dir, "rogue.pem");
	k->rogue_key = load_key(dir, "rogue.key");
	k->expired_ca = load_cert(dir, "expired-ca.pem");
	k->expired_ca_key = load_key(dir, "expired-ca.key");
	k->next_ca = load_cert(dir, "next-ca.pem");
	k->next_ca_key = load_key(dir, "next-ca.key");
	k->other_key = load_key(dir, "other.key");
	if (!pair_ok(k->ca, k->ca_key) || !pair_ok(k->ra_sign, k->ra_sign_key) ||
	    !pair_ok(k->ra_enc, k->ra_enc_key) || !pair_ok(k->rogue, k->rogue_key) ||
	    !pair_ok(k->expired_ca, k->expired_ca_key) || !pair_ok(k->next_ca, k->next_ca_key) ||
	    !k->other_key)
		goto bad;
	if (X509_check_issued(k->ca, k->ra_sign) != X509_V_OK ||
	    X509_check_issued(k->ca, k->ra_enc) != X509_V_OK ||
	    X509_verify(k->ra_sign, k->ca_key) != 1 || X509_verify(k->ra_enc, k->ca_key) != 1)
		goto bad;
	if (X509_cmp_time(X509_get0_notAfter(k->ca), &soon) <= 0 ||
	    X509_cmp_time(X509_get0_notAfter(k->ra_sign), &soon) <= 0 ||
	    X509_cmp_time(X509_get0_notAfter(k->ra_enc), &soon) <= 0)
		goto bad;
	return 0;
bad:
	pki_free(k);
	ERR_clear_error();
	return -1;
}

static void pki_generate(const char *dir, struct pki *k)
{
	const long year = 365 * DAY;
	k->ca_key = gen_rsa();
	k->ca = make_named("certprobe-test-ca", k->ca_key, NULL, NULL, -3600, year,
	                   "critical,CA:TRUE", "critical,keyCertSign,cRLSign");
	k->ra_sign_key = gen_rsa();
	k->ra_sign = make_named("certprobe-test-ra-sign", k->ra_sign_key, k->ca, k->ca_key, -3600,
	                        year, "critical,CA:FALSE", "critical,digitalSignature");
	k->ra_enc_key = gen_rsa();
	k->ra_enc = make_named("certprobe-test-ra-enc", k->ra_enc_key, k->ca, k->ca_key, -3600,
	                       year, "critical,CA:FALSE", "critical,keyEncipherment");
	k->rogue_key = gen_rsa();
	k->rogue = make_named("certprobe-test-rogue", k->rogue_key, NULL, NULL, -3600, year,
	                      "critical,CA:TRUE",
	                      "critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign");
	k->expired_ca_key = gen_rsa();
	k->expired_ca =
	    make_named("certprobe-test-ca", k->expired_ca_key, NULL, NULL, -(year + DAY), -DAY,
	               "critical,CA:TRUE", "critical,keyCertSign,cRLSign");
	k->next_ca_key = gen_rsa();
	k->next_ca = make_named("certprobe-test-ca", k->next_ca_key, NULL, NULL, -3600, 2 * year,
	                        "critical,CA:TRUE", "critical,keyCertSign,cRLSign");
	k->other_key = gen_rsa();

	write_cert(dir, "ca.pem", k->ca);
	write_key(dir, "ca.key", k->ca_key);
	write_cert(dir, "ra-sign.pem", k->ra_sign);
	write_key(dir, "ra-sign.key", k->ra_sign_key);
	write_cert(dir, "ra-enc.pem", k->ra_enc);
	write_key(dir, "ra-enc.key", k->ra_enc_key);
	write_cert(dir, "rogue.pem", k->rogue);
	write_key(dir, "rogue.key", k->rogue_key);
	write_cert(dir, "expired-ca.pem", k->expired_ca);
	write_key(dir, "expired-ca.key", k->expired_ca_key);
	write_cert(dir, "next-ca.pem", k->next_ca);
	write_key(dir, "next-ca.key", k->next_ca_key);
	write_key(dir, "other.key", k->other_key);
}

/* ------------------------------------------------------------------ */
/* DER helpers                                                          */

static unsigned char *cms_der(CMS_ContentInfo *cms, int *len)
{
	unsigned char *out = NULL;
	int l = i2d_CMS_ContentInfo(cms, &out);
	if (l <= 0) {
		OPENSSL_free(out);
		return NULL;
	}
	*len = l;
	return out;
}

static unsigned char *cert_der(X509 *x, int *len)
{
	unsigned char *out = NULL;
	int l = i2d_X509(x, &out);
	if (l <= 0)
		return NULL;
	*len = l;
	return out;
}

/*
 * Degenerate certificates-only SignedData (content type data, content absent).
 * Built with the PKCS7 API because its certificate list is encoded in the
 * given order (CMS sorts the SET OF by encoding).
 */
static unsigned char *degenerate_der(X509 *const *certs, int n, int *len)
{
	PKCS7 *p7 = PKCS7_new();
	unsigned char *out = NULL;
	int i, l;
	if (!p7 || !PKCS7_set_type(p7, NID_pkcs7_signed) || !PKCS7_content_new(p7, NID_pkcs7_data))
		goto done;
	ASN1_OCTET_STRING_free(p7->d.sign->contents->d.data);
	p7->d.sign->contents->d.data = NULL;
	for (i = 0; i < n; i++)
		if (!PKCS7_add_certificate(p7, certs[i]))
			goto done;
	l = i2d_PKCS7(p7, &out);
	if (l <= 0) {
		OPENSSL_free(out);
		out = NULL;
	} else {
		*len = l;
	}
done:
	PKCS7_free(p7);
	return out;
}

/* read one TLV header; definite lengths only */
static int der_hdr(const unsigned char **p, long *rem, int *tag, int *cls, long *len)
{
	const unsigned char *q = *p;
	int r = ASN1_get_object(&q, len, tag, cls, *rem);
	if (r & 0x80 || (r & 0x01))
		return -1;
	*rem -= (long)(q - *p);
	*p = q;
	if (*len > *rem)
		return -1;
	return 0;
}

/* Name of the content-encryption algorithm of a (DER) EnvelopedData ContentInfo */
static void env_cipher_name(const unsigned char *der, long dlen, char *out, size_t osz)
{
	const unsigned char *p = der, *start;
	long rem = dlen, len;
	int tag, cls;
	X509_ALGOR *alg = NULL;
	snprintf(out, osz, "unknown");
	/* ContentInfo SEQ, contentType OID, [0] */
	if (der_hdr(&p, &rem, &tag, &cls, &len) || tag != V_ASN1_SEQUENCE)
		return;
	rem = len;
	if (der_hdr(&p, &rem, &tag, &cls, &len) || tag != V_ASN1_OBJECT)
		return;
	p += len, rem -= len;
	if (der_hdr(&p, &rem, &tag, &cls, &len) || cls != V_ASN1_CONTEXT_SPECIFIC)
		return;
	rem = len;
	/* EnvelopedData SEQ, version INTEGER, [originatorInfo], recipientInfos SET */
	if (der_hdr(&p, &rem, &tag, &cls, &len) || tag != V_ASN1_SEQUENCE)
		return;
	rem = len;
	if (der_hdr(&p, &rem, &tag, &cls, &len) || tag != V_ASN1_INTEGER)
		return;
	p += len, rem -= len;
	if (der_hdr(&p, &rem, &tag, &cls, &len))
		return;
	if (cls == V_ASN1_CONTEXT_SPECIFIC) {
		p += len, rem -= len;
		if (der_hdr(&p, &rem, &tag, &cls, &len))
			return;
	}
	if (tag != V_ASN1_SET)
		return;
	p += len, rem -= len;
	/* EncryptedContentInfo SEQ, contentType OID, AlgorithmIdentifier */
	if (der_hdr(&p, &rem, &tag, &cls, &len) || tag != V_ASN1_SEQUENCE)
		return;
	rem = len;
	if (der_hdr(&p, &rem, &tag, &cls, &len) || tag != V_ASN1_OBJECT)
		return;
	p += len, rem -= len;
	start = p;
	if (d2i_X509_ALGOR(&alg, &start, rem) != NULL) {
		const ASN1_OBJECT *obj = NULL;
		int nid;
		X509_ALGOR_get0(&obj, NULL, NULL, alg);
		nid = OBJ_obj2nid(obj);
		if (nid != NID_undef)
			snprintf(out, osz, "%s", OBJ_nid2ln(nid));
		else
			OBJ_obj2txt(out, (int)osz, obj, 1);
		X509_ALGOR_free(alg);
	}
}

/* ------------------------------------------------------------------ */
/* transactions and one-time passwords                                  */

static struct txn *txn_find(const char *tid)
{
	int i;
	for (i = 0; i < MAX_TXN; i++)
		if (G.txn[i].tid && strcmp(G.txn[i].tid, tid) == 0)
			return &G.txn[i];
	return NULL;
}

static struct txn *txn_put(const char *tid, X509_REQ *csr)
{
	struct txn *t = txn_find(tid);
	int i;
	if (!t) {
		t = &G.txn[0];
		for (i = 0; i < MAX_TXN; i++) {
			if (!G.txn[i].tid) {
				t = &G.txn[i];
				break;
			}
			if (G.txn[i].seq < t->seq)
				t = &G.txn[i];
		}
		free(t->tid);
		X509_REQ_free(t->csr);
		memset(t, 0, sizeof *t);
		t->tid = strdup(tid);
		if (!t->tid)
			die("out of memory");
	}
	t->seq = ++G.txn_seq;
	if (csr) {
		X509_REQ *dup = X509_REQ_dup(csr);
		if (dup) {
			X509_REQ_free(t->csr);
			t->csr = dup;
		}
	}
	return t;
}

static int otp_outstanding(void)
{
	time_t now = time(NULL);
	int i, n = 0;
	for (i = 0; i < MAX_OTP; i++)
		if (G.otp[i].pw[0] && !G.otp[i].used && G.otp[i].expires > now)
			n++;
	return n;
}

static const char *otp_issue(void)
{
	time_t now = time(NULL);
	unsigned char r[8];
	int i, slot = 0;
	for (i = 0; i < MAX_OTP; i++) {
		if (!G.otp[i].pw[0] || G.otp[i].used || G.otp[i].expires <= now) {
			slot = i;
			break;
		}
		if (G.otp[i].expires < G.otp[slot].expires)
			slot = i;
	}
	if (RAND_bytes(r, sizeof r) != 1)
		die("RAND_bytes");
	hex_encode(r, sizeof r, G.otp[slot].pw, 1);
	G.otp[slot].expires = now + OTP_VALIDITY;
	G.otp[slot].used = 0;
	G.st.otp_issued++;
	return G.otp[slot].pw;
}

static int otp_consume(const char *pw)
{
	time_t now = time(NULL);
	int i;
	for (i = 0; i < MAX_OTP; i++)
		if (G.otp[i].pw[0] && !G.otp[i].used && G.otp[i].expires > now &&
		    strcmp(G.otp[i].pw, pw) == 0) {
			G.otp[i].used = 1;
			G.st.otp_used++;
			return 1;
		}
	return 0;
}

/* ------------------------------------------------------------------ */
/* SCEP message handling                                                */

struct pkireq {
	unsigned char tid[256];
	int tid_len;
	int has_tid;
	unsigned char nonce[64];
	int nonce_len;
	int has_nonce;
	int msgtype;
	int md_nid;
	X509 *signer;
	X509_REQ *csr;
	char tid_str[256]; /* NUL-terminated (printable) copy for lookups */
};

/* read a string-ish signed attribute; returns length or -1 */
static int get_attr(CMS_SignerInfo *si, const ASN1_OBJECT *obj, unsigned char *out, size_t osz)
{
	int idx = CMS_signed_get_attr_by_OBJ(si, obj, -1), len;
	X509_ATTRIBUTE *a;
	ASN1_TYPE *t;
	if (idx < 0)
		return -1;
	a = CMS_signed_get_attr(si, idx);
	t = a ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
	if (!t)
		return -1;
	switch (ASN1_TYPE_get(t)) {
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_UTF8STRING:
	case V_ASN1_IA5STRING:
	case V_ASN1_T61STRING:
	case V_ASN1_OCTET_STRING:
		break;
	default:
		return -1;
	}
	len = ASN1_STRING_length(t->value.asn1_string);
	if (len < 0 || (size_t)len > osz)
		return -1;
	memcpy(out, ASN1_STRING_get0_data(t->value.asn1_string), (size_t)len);
	return len;
}

static int add_attr(CMS_SignerInfo *si, const ASN1_OBJECT *obj, int type, const void *data, int len)
{
	return CMS_signed_add1_attr_by_OBJ(si, obj, type, data, len) == 1 ? 0 : -1;
}

/* challengePassword of a CSR into out (empty string if absent); -1 if absent */
static int csr_challenge(X509_REQ *csr, char *out, size_t osz)
{
	int idx = X509_REQ_get_attr_by_NID(csr, NID_pkcs9_challengePassword, -1);
	X509_ATTRIBUTE *a;
	ASN1_TYPE *t;
	int len;
	out[0] = '\0';
	if (idx < 0)
		return -1;
	a = X509_REQ_get_attr(csr, idx);
	t = a ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
	if (!t)
		return -1;
	switch (ASN1_TYPE_get(t)) {
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_UTF8STRING:
	case V_ASN1_IA5STRING:
	case V_ASN1_T61STRING:
		break;
	default:
		return -1;
	}
	len = ASN1_STRING_length(t->value.asn1_string);
	if (len < 0 || (size_t)len >= osz)
		return -1;
	memcpy(out, ASN1_STRING_get0_data(t->value.asn1_string), (size_t)len);
	out[len] = '\0';
	return 0;
}

/* issue a certificate for the CSR according to the mode */
static X509 *issue_for(const struct mode *m, X509_REQ *csr)
{
	EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	X509_EXTENSION *san = NULL;
	long nb = -300, na = 365 * DAY; /* a device certificate for a year */
	X509 *x;
	int i;
	for (i = 0; exts && i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) == NID_subject_alt_name)
			san = e;
	}
	if (m->kind == M_WRONGKEY)
		pub = G.pki.other_key;
	if (m->kind == M_EXPIREDISSUED) {
		nb = -2 * DAY;
		na = -DAY;
	}
	x = pub ? make_cert(X509_REQ_get_subject_name(csr), pub, G.pki.ca, G.pki.ca_key, nb, na,
	                    "critical,CA:FALSE", "critical,digitalSignature,keyEncipherment",
	                    "clientAuth", san)
	        : NULL;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return x;
}

/* EnvelopedData (DER) holding a degenerate SignedData with the certs */
static unsigned char *success_envelope(X509 *recipient, X509 *issued, const EVP_CIPHER *cipher,
                                       int *outlen)
{
	STACK_OF(X509) *rcpt = sk_X509_new_null();
	CMS_ContentInfo *env = NULL;
	unsigned char *inner = NULL, *out = NULL;
	int innerlen = 0, n = 0;
	BIO *in = NULL;
	X509 *certs[2];
	if (!rcpt)
		goto done;
	if (issued)
		certs[n++] = issued;
	certs[n++] = G.pki.ca;
	if (!(inner = degenerate_der(certs, n, &innerlen)))
		goto done;
	in = BIO_new_mem_buf(inner, innerlen);
	sk_X509_push(rcpt, recipient);
	env = in ? CMS_encrypt(rcpt, in, cipher, CMS_BINARY) : NULL;
	if (env)
		out = cms_der(env, outlen);
done:
	BIO_free(in);
	OPENSSL_free(inner);
	CMS_ContentInfo_free(env);
	sk_X509_free(rcpt);
	return out;
}

/* the signed CertRep; env may be NULL (FAILURE/PENDING: empty data content) */
static unsigned char *build_certrep(const struct mode *m, const struct pkireq *r,
                                    const char *status, const char *failinfo, const char *failtext,
                                    const unsigned char *env, int envlen, int *outlen)
{
	const EVP_CIPHER *cipher;
	const EVP_MD *md;
	X509 *signer = G.pki.ca;
	EVP_PKEY *key = G.pki.ca_key;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	BIO *data;
	unsigned char nonce[16], *out = NULL;
	const char *mt = m->kind == M_BADTYPE ? "19" : "3";

	mode_algs(m, r->md_nid, &cipher, &md);
	if (m->kind == M_RA) {
		signer = G.pki.ra_sign;
		key = G.pki.ra_sign_key;
	} else if (m->kind == M_WRONGSIGNER) {
		signer = G.pki.rogue;
		key = G.pki.rogue_key;
	}
	data = env ? BIO_new_mem_buf(env, envlen) : BIO_new(BIO_s_mem());
	if (!data)
		return NULL;

	if (m->kind == M_UNSIGNED) {
		/* SignedData without signerInfos, the envelope as its data content */
		PKCS7 *p7 = PKCS7_new();
		int l;
		if (p7 && PKCS7_set_type(p7, NID_pkcs7_signed) &&
		    PKCS7_content_new(p7, NID_pkcs7_data) &&
		    ASN1_OCTET_STRING_set(p7->d.sign->contents->d.data,
		                          env ? env : (const unsigned char *)"",
		                          env ? envlen : 0) &&
		    PKCS7_add_certificate(p7, G.pki.ca) && (l = i2d_PKCS7(p7, &out)) > 0)
			*outlen = l;
		else {
			OPENSSL_free(out);
			out = NULL;
		}
		PKCS7_free(p7);
		goto done;
	}

	cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
	if (!cms)
		goto done;
	si = CMS_add1_signer(cms, signer, key, md, CMS_BINARY | CMS_NOSMIMECAP);
	if (!si)
		goto done;
	if (add_attr(si, G.oid_msgtype, V_ASN1_PRINTABLESTRING, mt, (int)strlen(mt)) ||
	    add_attr(si, G.oid_status, V_ASN1_PRINTABLESTRING, status, (int)strlen(status)))
		goto done;
	if (failinfo &&
	    add_attr(si, G.oid_failinfo, V_ASN1_PRINTABLESTRING, failinfo, (int)strlen(failinfo)))
		goto done;
	if (failtext && *failtext &&
	    add_attr(si, G.oid_failtext, V_ASN1_UTF8STRING, failtext, (int)strlen(failtext)))
		goto done;
	if (r->has_tid) {
		unsigned char tid[256];
		memcpy(tid, r->tid, (size_t)r->tid_len);
		if (m->kind == M_BADTID) {
			if (r->tid_len == 0)
				tid[0] = 'X';
			else
				tid[r->tid_len - 1] = tid[r->tid_len - 1] == 'A' ? 'B' : 'A';
		}
		if (add_attr(si, G.oid_tid, V_ASN1_PRINTABLESTRING, tid,
		             r->tid_len ? r->tid_len : (m->kind == M_BADTID ? 1 : 0)))
			goto done;
	}
	if (RAND_bytes(nonce, sizeof nonce) != 1 ||
	    add_attr(si, G.oid_snonce, V_ASN1_OCTET_STRING, nonce, sizeof nonce))
		goto done;
	if (m->kind == M_BADNONCE) {
		if (RAND_bytes(nonce, sizeof nonce) != 1 ||
		    add_attr(si, G.oid_rnonce, V_ASN1_OCTET_STRING, nonce, sizeof nonce))
			goto done;
	} else if (m->kind != M_NONONCE && r->has_nonce) {
		if (add_attr(si, G.oid_rnonce, V_ASN1_OCTET_STRING, r->nonce, r->nonce_len))
			goto done;
	}
	if (CMS_final(cms, data, NULL, CMS_BINARY) != 1)
		goto done;
	out = cms_der(cms, outlen);
done:
	if (!out)
		ERR_print_errors_fp(stderr);
	BIO_free(data);
	CMS_ContentInfo_free(cms);
	return out;
}

static int renewal_signer_trusted(X509 *signer)
{
	return signer && X509_check_issued(G.pki.ca, signer) == X509_V_OK &&
	       X509_verify(signer, G.pki.ca_key) == 1;
}

/*
 * Process one PKIOperation message (DER). Always produces a CertRep unless an
 * internal error occurs (NULL). note receives a short log description.
 */
static unsigned char *process_pkiop(const struct mode *m, const unsigned char *der, size_t derlen,
                                    int *outlen, char *note, size_t nsz)
{
	struct pkireq r;
	const char *status = "2", *failinfo = "1";
	char failtext[200] = "";
	CMS_ContentInfo *cms = NULL, *env = NULL;
	CMS_SignerInfo *si;
	BIO *content = NULL, *plain = NULL;
	const unsigned char *p;
	unsigned char *out = NULL, *envout = NULL, buf[16];
	int envlen = 0, nrec = 0, n;
	X509_REQ *issue_csr = NULL;
	X509 *issued = NULL;
	const EVP_CIPHER *cipher;
	const EVP_MD *md;
	X509 *dcert = m->kind == M_RA ? G.pki.ra_enc : G.pki.ca;
	EVP_PKEY *dkey = m->kind == M_RA ? G.pki.ra_enc_key : G.pki.ca_key;
	char chal[256];

	memset(&r, 0, sizeof r);
	r.msgtype = -1;
	G.st.last_recipients = 0;
	snprintf(G.st.last_cipher, sizeof G.st.last_cipher, "%s", "");
	snprintf(G.st.last_digest, sizeof G.st.last_digest, "%s", "");
	G.st.last_message_type = -1;
	G.st.last_tid[0] = '\0';

#define FAIL(fi, ...)                                                                              \
	do {                                                                                       \
		status = "2";                                                                      \
		failinfo = (fi);                                                                   \
		snprintf(failtext, sizeof failtext, __VA_ARGS__);                                  \
		goto reply;                                                                        \
	} while (0)

	if (derlen > LONG_MAX)
		FAIL("1", "message too large");
	p = der;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)derlen);
	if (!cms || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
		FAIL("1", "pkiMessage is not a CMS SignedData");
	if (sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) < 1)
		FAIL("1", "pkiMessage has no signerInfo");
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);

	n = get_attr(si, G.oid_tid, r.tid, sizeof r.tid - 1);
	if (n >= 0) {
		r.has_tid = 1;
		r.tid_len = n;
		copy_printable(r.tid_str, sizeof r.tid_str, r.tid, (size_t)n);
		snprintf(G.st.last_tid, sizeof G.st.last_tid, "%s", r.tid_str);
	}
	n = get_attr(si, G.oid_snonce, r.nonce, sizeof r.nonce);
	if (n >= 0) {
		r.has_nonce = 1;
		r.nonce_len = n;
	}
	n = get_attr(si, G.oid_msgtype, buf, sizeof buf - 1);
	if (n > 0) {
		long v;
		buf[n] = '\0';
		if (parse_long((const char *)buf, 0, 1000, &v) == 0)
			r.msgtype = (int)v;
	}
	G.st.last_message_type = r.msgtype;
	{
		X509_ALGOR *dig = NULL;
		const ASN1_OBJECT *obj = NULL;
		CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
		if (dig) {
			X509_ALGOR_get0(&obj, NULL, NULL, dig);
			r.md_nid = OBJ_obj2nid(obj);
			snprintf(G.st.last_digest, sizeof G.st.last_digest, "%s",
			         r.md_nid != NID_undef ? OBJ_nid2ln(r.md_nid) : "unknown");
		}
	}

	content = BIO_new(BIO_s_mem());
	if (!content)
		FAIL("1", "out of memory");
	if (CMS_verify(cms, NULL, NULL, NULL, content, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) !=
	    1) {
		char e[160];
		ERR_error_string_n(ERR_peek_last_error(), e, sizeof e);
		vlog("CMS_verify: %s", e);
		FAIL("1", "pkiMessage signature verification failed");
	}
	{
		STACK_OF(X509) *signers = CMS_get0_signers(cms);
		if (signers && sk_X509_num(signers) > 0) {
			r.signer = sk_X509_value(signers, 0);
			X509_up_ref(r.signer);
		}
		sk_X509_free(signers);
	}
	if (!r.signer)
		FAIL("1", "no signer certificate in pkiMessage");
	if (r.msgtype < 0)
		FAIL("2", "missing or malformed messageType");
	if (!r.has_tid)
		FAIL("2", "missing transactionID");
	if (!r.has_nonce)
		FAIL("2", "missing senderNonce");

	{
		char *edata = NULL;
		long elen = BIO_get_mem_data(content, &edata);
		const unsigned char *q = (const unsigned char *)edata;
		unsigned char *reder;
		int relen;
		env = elen > 0 ? d2i_CMS_ContentInfo(NULL, &q, elen) : NULL;
		if (!env || OBJ_obj2nid(CMS_get0_type(env)) != NID_pkcs7_enveloped)
			FAIL("1", "messageData is not a CMS EnvelopedData");
		nrec = sk_CMS_RecipientInfo_num(CMS_get0_RecipientInfos(env));
		G.st.last_recipients = nrec;
		reder = cms_der(env, &relen);
		if (reder) {
			env_cipher_name(reder, relen, G.st.last_cipher, sizeof G.st.last_cipher);
			OPENSSL_free(reder);
		}
	}
	if (m->kind == M_RA && nrec != 1)
		FAIL("1",
		     "expected exactly one recipientInfo (the RA encryption certificate), got %d",
		     nrec);
	plain = BIO_new(BIO_s_mem());
	if (!plain || CMS_decrypt(env, dkey, dcert, NULL, plain, CMS_BINARY) != 1)
		FAIL("1", "cannot decrypt pkcsPKIEnvelope");

	switch (r.msgtype) {
	case 19:
	case 17: {
		char *pd = NULL;
		long pl = BIO_get_mem_data(plain, &pd);
		const unsigned char *q = (const unsigned char *)pd;
		int chal_present, chal_ok;
		EVP_PKEY *pub;
		r.csr = pl > 0 ? d2i_X509_REQ(NULL, &q, pl) : NULL;
		pub = r.csr ? X509_REQ_get0_pubkey(r.csr) : NULL;
		if (!r.csr || !pub || X509_REQ_verify(r.csr, pub) != 1) {
			G.st.last_challenge_ok = 0;
			if (m->kind == M_FAIL)
				FAIL(m->arg, "fault injected: failInfo %.32s", m->arg);
			FAIL("2", "invalid PKCS#10 request");
		}
		chal_present = csr_challenge(r.csr, chal, sizeof chal) == 0;
		chal_ok = chal_present && otp_consume(chal);
		if (!chal_ok && G.challenge)
			chal_ok = chal_present && strcmp(chal, G.challenge) == 0;
		if (!G.challenge)
			chal_ok = 1;
		if (r.msgtype == 17 && !chal_ok && !chal_present &&
		    renewal_signer_trusted(r.signer))
			chal_ok = 1;
		OPENSSL_cleanse(chal, sizeof chal);
		G.st.last_challenge_ok = chal_ok;
		if (m->kind == M_FAIL)
			FAIL(m->arg, "fault injected: failInfo %.32s", m->arg);
		if (!chal_ok)
			FAIL("2", "challenge password missing or wrong");
		if (m->kind == M_PENDING_FOREVER) {
			txn_put(r.tid_str, r.csr);
			status = "3";
			break;
		}
		if (m->kind == M_PENDING) {
			struct txn *t = txn_find(r.tid_str);
			if (t)
				t->polls++; /* a re-sent PKCSReq counts as a poll */
			t = txn_put(r.tid_str, r.csr);
			if (t->polls < m->n) {
				status = "3";
				break;
			}
		} else {
			txn_put(r.tid_str, r.csr);
		}
		status = "0";
		issue_csr = r.csr;
		break;
	}
	case 20: {
		struct txn *t = txn_find(r.tid_str);
		G.st.certpolls++;
		if (m->kind == M_FAIL)
			FAIL(m->arg, "fault injected: failInfo %.32s", m->arg);
		if (m->kind == M_PENDING_FOREVER) {
			status = "3";
			break;
		}
		if (!t || !t->csr)
			FAIL("4", "unknown transactionID");
		if (m->kind == M_PENDING && ++t->polls < m->n) {
			status = "3";
			break;
		}
		status = "0";
		issue_csr = t->csr;
		break;
	}
	default:
		if (m->kind == M_FAIL)
			FAIL(m->arg, "fault injected: failInfo %.32s", m->arg);
		FAIL("2", "messageType %d not supported", r.msgtype);
	}

	if (strcmp(status, "0") == 0) {
		mode_algs(m, r.md_nid, &cipher, &md);
		if (m->kind != M_NOISSUED) {
			issued = issue_for(m, issue_csr);
			if (!issued)
				FAIL("2", "certificate issuance failed");
		}
		envout = success_envelope(r.signer, issued, cipher, &envlen);
		if (!envout)
			FAIL("1", "cannot encrypt reply to the signer certificate");
	}
	failinfo = NULL;
#undef FAIL
reply:
	if (strcmp(status, "2") != 0)
		failinfo = NULL;
	snprintf(G.st.last_status, sizeof G.st.last_status, "%s", status);
	snprintf(G.st.last_failinfo, sizeof G.st.last_failinfo, "%.32s", failinfo ? failinfo : "");
	snprintf(note, nsz,
	         "msgType=%d tid=%.40s digest=%s cipher=%s recipients=%d -> pkiStatus=%s%s%s%s%s",
	         r.msgtype, r.tid_str, G.st.last_digest, G.st.last_cipher, nrec, status,
	         failinfo ? " failInfo=" : "", failinfo ? failinfo : "", failtext[0] ? " " : "",
	         failtext);
	out = build_certrep(m, &r, status, failinfo,
	                    m->kind == M_FAIL || failtext[0] ? failtext : NULL, envout, envlen,
	                    outlen);
	if (envout && !out)
		ERR_print_errors_fp(stderr);
	ERR_clear_error();
	OPENSSL_free(envout);
	X509_free(issued);
	X509_free(r.signer);
	X509_REQ_free(r.csr);
	BIO_free(content);
	BIO_free(plain);
	CMS_ContentInfo_free(cms);
	CMS_ContentInfo_free(env);
	return out;
}

/* ------------------------------------------------------------------ */
/* HTTP plumbing                                                        */

struct rq {
	struct evhttp_request *req;
	const char *method;
	char path[256];
	char op[40];
	size_t qlen;
	char note[512];
};

static void log_reply(const struct rq *q, int code, size_t len, const char *extra)
{
	vlog("%s %s op=%s qlen=%zu -> %d (%zu bytes)%s%s%s%s", q->method, q->path,
	     q->op[0] ? q->op : "-", q->qlen, code, len, q->note[0] ? " " : "", q->note,
	     extra ? " " : "", extra ? extra : "");
}

static void reply(struct rq *q, int code, const char *ctype, const void *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	if (ctype)
		evhttp_add_header(evhttp_request_get_output_headers(q->req), "Content-Type", ctype);
	if (b && len)
		evbuffer_add(b, body, len);
	evhttp_send_reply(q->req, code, NULL, b);
	evbuffer_free(b);
	log_reply(q, code, len, NULL);
}

static void reply_text(struct rq *q, int code, const char *text)
{
	reply(q, code, "text/plain", text, strlen(text));
}

/* ---- deferred (slow / stall) and streamed (oversized) replies ---- */

enum pkind { P_DEFER, P_STREAM };

struct pend {
	enum pkind kind;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct event *timer;
	struct event *poll; /* watches for the client closing (deferred replies) */
	int code;
	char ctype[64];
	unsigned char *body;
	size_t len;
	size_t sent;
	size_t total;
	struct pend *prev, *next;
	char logline[160];
};

static void pend_unlink_free(struct pend *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		G.pend_head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	if (p->timer)
		event_free(p->timer);
	if (p->poll)
		event_free(p->poll);
	free(p->body);
	free(p);
}

/* connection went away (client closed, error, or shutdown) */
static void pend_closecb(struct evhttp_connection *evcon, void *arg)
{
	struct pend *p = arg;
	(void)evcon;
	vlog("%s: connection closed by peer before reply completed (%zu bytes sent)", p->logline,
	     p->sent);
	/* libevent detaches (and no longer owns) an unanswered request on EOF */
	if (evhttp_request_get_connection(p->req) == NULL)
		evhttp_request_free(p->req);
	pend_unlink_free(p);
}

static struct pend *pend_new(struct rq *q, enum pkind kind)
{
	struct pend *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->kind = kind;
	p->req = q->req;
	p->evcon = evhttp_request_get_connection(q->req);
	snprintf(p->logline, sizeof p->logline, "%.8s %.140s", q->method, q->path);
	p->next = G.pend_head;
	if (G.pend_head)
		G.pend_head->prev = p;
	G.pend_head = p;
	if (p->evcon)
		evhttp_connection_set_closecb(p->evcon, pend_closecb, p);
	return p;
}

static void pend_detach_conn(struct pend *p)
{
	if (p->evcon)
		evhttp_connection_set_closecb(p->evcon, NULL, NULL);
}

static void defer_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pend *p = arg;
	struct evbuffer *b = evbuffer_new();
	(void)fd;
	(void)what;
	pend_detach_conn(p);
	evhttp_add_header(evhttp_request_get_output_headers(p->req), "Content-Type", p->ctype);
	if (b && p->len)
		evbuffer_add(b, p->body, p->len);
	evhttp_send_reply(p->req, p->code, NULL, b);
	evbuffer_free(b);
	vlog("%s: delayed reply sent -> %d (%zu bytes)", p->logline, p->code, p->len);
	pend_unlink_free(p);
}

/*
 * libevent 2.1 does not read from a connection whose request is still
 * unanswered, so a client that gives up is only noticed here: peek at the
 * socket; EOF or a hard error means the client is gone.
 */
static void defer_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pend *p = arg;
	struct bufferevent *bev = p->evcon ? evhttp_connection_get_bufferevent(p->evcon) : NULL;
	evutil_socket_t sock = bev ? bufferevent_getfd(bev) : -1;
	struct evhttp_connection *evcon = p->evcon;
	char c;
	ssize_t r;
	(void)fd;
	(void)what;
	if (sock < 0)
		return;
	r = recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
		return;
	vlog("%s: client closed the connection before the reply was sent", p->logline);
	pend_detach_conn(p);
	pend_unlink_free(p);
	evhttp_connection_free(evcon); /* also frees the unanswered request */
}

/* delay_s < 0: never answer (stall) */
static void reply_deferred(struct rq *q, int code, const char *ctype, const unsigned char *body,
                           size_t len, long delay_s)
{
	struct pend *p = pend_new(q, P_DEFER);
	if (!p) {
		reply_text(q, 500, "out of memory");
		return;
	}
	p->code = code;
	snprintf(p->ctype, sizeof p->ctype, "%s", ctype);
	if (len) {
		p->body = malloc(len);
		if (p->body)
			memcpy(p->body, body, len);
		p->len = p->body ? len : 0;
	}
	if (p->evcon) {
		struct timeval ptv;
		ptv.tv_sec = 0;
		ptv.tv_usec = 250000;
		p->poll = event_new(G.base, -1, EV_PERSIST, defer_poll_cb, p);
		if (p->poll)
			event_add(p->poll, &ptv);
	}
	if (delay_s >= 0) {
		struct timeval tv;
		tv.tv_sec = delay_s;
		tv.tv_usec = 0;
		event_base_update_cache_time(G.base);
		p->timer = evtimer_new(G.base, defer_timer_cb, p);
		if (p->timer)
			evtimer_add(p->timer, &tv);
		log_reply(q, code, len, "(deferred)");
	} else {
		log_reply(q, 0, 0, "(stalled: never answered)");
	}
}

static void stream_next(struct evhttp_connection *evcon, void *arg);

static void stream_send_chunk(struct pend *p)
{
	struct evbuffer *b;
	size_t n = p->total - p->sent;
	if (n == 0) {
		pend_detach_conn(p);
		evhttp_send_reply_end(p->req);
		vlog("%s: streamed %zu bytes", p->logline, p->sent);
		pend_unlink_free(p);
		return;
	}
	if (n > OVERSIZE_CHUNK)
		n = OVERSIZE_CHUNK;
	b = evbuffer_new();
	if (!b)
		die("out of memory");
	if (p->sent == 0 && p->body) {
		/* first bytes: a DER SEQUENCE header announcing the whole size */
		evbuffer_add(b, p->body, p->len);
		evbuffer_add_reference(b, G.zeros, n - p->len, NULL, NULL);
	} else {
		evbuffer_add_reference(b, G.zeros, n, NULL, NULL);
	}
	p->sent += n;
	evhttp_send_reply_chunk_with_cb(p->req, b, stream_next, p);
	evbuffer_free(b);
}

static void stream_next(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	stream_send_chunk(arg);
}

static void reply_oversized(struct rq *q, int with_cl)
{
	struct pend *p = pend_new(q, P_STREAM);
	struct evkeyvalq *h = evhttp_request_get_output_headers(q->req);
	size_t body_len;
	unsigned char hdr[6];
	if (!p) {
		reply_text(q, 500, "out of memory");
		return;
	}
	p->total = OVERSIZE_TOTAL;
	body_len = OVERSIZE_TOTAL - 6;
	hdr[0] = 0x30;
	hdr[1] = 0x84;
	hdr[2] = (unsigned char)(body_len >> 24);
	hdr[3] = (unsigned char)(body_len >> 16);
	hdr[4] = (unsigned char)(body_len >> 8);
	hdr[5] = (unsigned char)body_len;
	p->body = malloc(sizeof hdr);
	if (p->body) {
		memcpy(p->body, hdr, sizeof hdr);
		p->len = sizeof hdr;
	}
	evhttp_add_header(h, "Content-Type", "application/x-pki-message");
	if (with_cl) {
		char cl[32];
		snprintf(cl, sizeof cl, "%zu", OVERSIZE_TOTAL);
		evhttp_add_header(h, "Content-Length", cl);
	}
	evhttp_send_reply_start(q->req, 200, NULL);
	log_reply(q, 200, OVERSIZE_TOTAL, with_cl ? "(streaming, Content-Length)" : "(streaming)");
	stream_send_chunk(p);
}

/* ---- pages ---- */

static void send_utf16(struct rq *q, int code, const char *ascii)
{
	size_t n = strlen(ascii), i;
	unsigned char *u = malloc(2 * n + 1);
	if (!u) {
		reply_text(q, 500, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		u[2 * i] = (unsigned char)ascii[i];
		u[2 * i + 1] = 0;
	}
	reply(q, code, "text/html; charset=utf-16le", u, 2 * n);
	free(u);
}

#define NDES_HEAD                                                                                  \
	"<HTML><Head><Meta HTTP-Equiv=\"Content-Type\" Content=\"text/html; "                      \
	"charset=UTF-16\"><Title>Network Device Enrollment Service</Title></Head>"                 \
	"<Body BgColor=#FFFFFF><Font ID=locPageFont Face=\"Arial\"><Table Border=0 "               \
	"CellSpacing=0 CellPadding=4 Width=100% BgColor=#008080><TR><TD><Font "                    \
	"ID=locPageTitleFont Face=\"Arial\" Size=-1 Color=#FFFFFF><LocID "                         \
	"ID=locMSCertSrv>Network Device Enrollment Service</LocID></Font></TD></TR>"               \
	"</Table><P ID=locPageTitle> Network Device Enrollment Service allows you to "             \
	"obtain certificates for routers or other network devices using the Simple "               \
	"Certificate Enrollment Protocol (SCEP). </P>"
#define NDES_TAIL                                                                                  \
	" <P ID=locPageDesc> For more information see  <A "                                        \
	"HREF=http://go.microsoft.com/fwlink/?LinkId=67852>Using Network Device "                  \
	"Enrollment Service </A>. </P></Font></Body></HTML>"

static void ndes_page_full(struct rq *q)
{
	send_utf16(
	    q, 200,
	    NDES_HEAD
	    "<P> The password cache is full. <P> Network Device Enrollment Service "
	    "stores unused password for later use. By default, passwords are stored "
	    "for 60 minutes.<P>Use one of the existing passwords. If you cannot use "
	    "an existing password: <UL> <LI> Wait until one or more existing passwords "
	    "expire (by default passwords expire 60 minutes after they are created). "
	    "</LI> <LI> Restart Internet Information Services (IIS). </LI> <LI> "
	    "Configure the service to cache more than 5 passwords. </LI> </UL> </P>" NDES_TAIL);
}

static void handle_admin(struct rq *q, const char *variant)
{
	snprintf(q->op, sizeof q->op, "mscep_admin");
	if (strcmp(variant, "auth") == 0) {
		struct evkeyvalq *h = evhttp_request_get_output_headers(q->req);
		static const char body[] =
		    "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"\"http://www.w3.org/TR/"
		    "html4/strict.dtd\">\r\n<HTML><HEAD><TITLE>Not Authorized</TITLE>\r\n"
		    "<META HTTP-EQUIV=\"Content-Type\" Content=\"text/html; charset=us-ascii\">"
		    "</HEAD>\r\n<BODY><h2>Not Authorized</h2>\r\n<hr><p>HTTP Error 401. The "
		    "requested resource requires user authentication.</p>\r\n</BODY></HTML>\r\n";
		evhttp_add_header(h, "WWW-Authenticate", "Negotiate");
		evhttp_add_header(h, "WWW-Authenticate", "NTLM");
		evhttp_add_header(h, "Server", "Microsoft-IIS/10.0");
		reply(q, 401, "text/html; charset=us-ascii", body, strlen(body));
		return;
	}
	if (strcmp(variant, "full") == 0) {
		ndes_page_full(q);
		return;
	}
	if (strcmp(variant, "denied") == 0) {
		send_utf16(
		    q, 200,
		    NDES_HEAD
		    "<P> You do not have sufficient permission to enroll with SCEP. If you "
		    "require continued access, please contact your administrator. </P>" NDES_TAIL);
		return;
	}
	if (strcmp(variant, "ok") == 0 || strcmp(variant, "ok5") == 0) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		char hex[2 * EVP_MAX_MD_SIZE + 1], thumb[64], page[4096];
		const char *pw;
		if (strcmp(variant, "ok5") == 0 && otp_outstanding() >= OTP_CACHE) {
			ndes_page_full(q);
			return;
		}
		if (!X509_digest(G.pki.ca, EVP_md5(), md, &mdlen) || mdlen != 16) {
			reply_text(q, 500, "digest failed");
			return;
		}
		hex_encode(md, mdlen, hex, 1);
		snprintf(thumb, sizeof thumb, "%.8s %.8s %.8s %.8s", hex, hex + 8, hex + 16,
		         hex + 24);
		pw = otp_issue();
		snprintf(
		    page, sizeof page,
		    "%s<P> To complete certificate enrollment for your network device you will "
		    "need the following information: <P> The thumbprint (hash value) for the "
		    "CA certificate is: <B> %s </B> <P> The enrollment challenge password "
		    "is: <B> %s </B> <P> This password can be used only once and will expire "
		    "within 60 minutes. <P> Each enrollment requires a new challenge "
		    "password. You can refresh this web page to obtain a new challenge "
		    "password. </P>%s",
		    NDES_HEAD, thumb, pw, NDES_TAIL);
		send_utf16(q, 200, page);
		OPENSSL_cleanse(page, sizeof page);
		return;
	}
	reply_text(q, 404, "unknown mscep_admin variant");
}

static void handle_stats(struct rq *q)
{
	struct evbuffer *b = evbuffer_new();
	size_t len;
	if (!b) {
		reply_text(q, 500, "out of memory");
		return;
	}
	evbuffer_add_printf(b,
	                    "{\"requests\": %lu, \"pkioperation_get\": %lu, "
	                    "\"pkioperation_post\": %lu, \"last_query_len\": %zu, "
	                    "\"last_recipients\": %d, \"last_cipher\": ",
	                    G.st.requests, G.st.pkiop_get, G.st.pkiop_post, G.st.last_query_len,
	                    G.st.last_recipients);
	json_str(b, G.st.last_cipher);
	evbuffer_add_printf(b, ", \"last_digest\": ");
	json_str(b, G.st.last_digest);
	evbuffer_add_printf(b, ", \"certpolls\": %lu, \"last_challenge_ok\": %s", G.st.certpolls,
	                    G.st.last_challenge_ok < 0 ? "null"
	                    : G.st.last_challenge_ok   ? "true"
	                                               : "false");
	evbuffer_add_printf(
	    b, ", \"last_message_type\": %d, \"last_transaction_id\": ", G.st.last_message_type);
	json_str(b, G.st.last_tid);
	evbuffer_add_printf(b, ", \"last_status\": ");
	json_str(b, G.st.last_status);
	evbuffer_add_printf(b, ", \"last_failinfo\": ");
	json_str(b, G.st.last_failinfo);
	evbuffer_add_printf(b, ", \"last_method\": ");
	json_str(b, G.st.last_method);
	evbuffer_add_printf(
	    b, ", \"last_body_len\": %zu, \"last_content_type\": ", G.st.last_body_len);
	json_str(b, G.st.last_content_type);
	{
		int npend = 0;
		struct pend *p;
		for (p = G.pend_head; p; p = p->next)
			npend++;
		evbuffer_add_printf(b,
		                    ", \"last_query_raw_plus\": %s, \"otp_issued\": %lu, "
		                    "\"otp_used\": %lu, \"pending_replies\": %d}\n",
		                    G.st.last_query_plus ? "true" : "false", G.st.otp_issued,
		                    G.st.otp_used, npend);
	}
	len = evbuffer_get_length(b);
	evhttp_add_header(evhttp_request_get_output_headers(q->req), "Cache-Control", "no-store");
	reply(q, 200, "application/json", evbuffer_pullup(b, -1), len);
	evbuffer_free(b);
}

static const char IIS_404_15[] =
    "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
    "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n"
    "<html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n"
    "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"/>\r\n"
    "<title>IIS 10.0 Detailed Error - 404.15 - Not Found</title>\r\n</head>\r\n"
    "<body>\r\n<div id=\"content\">\r\n<div class=\"content-container\">\r\n"
    "  <h3>HTTP Error 404.15 - Not Found</h3>\r\n"
    "  <h4>The request filtering module is configured to deny a request where the "
    "query string is too long.</h4>\r\n</div>\r\n"
    "<div class=\"content-container\">\r\n <fieldset><h4>Most likely causes:</h4>\r\n"
    "  <div id=\"details-left\"><ul><li>Request filtering is configured on the Web "
    "server to deny the request because the query string is too long.</li></ul>"
    "</div>\r\n </fieldset>\r\n</div>\r\n"
    "<div class=\"content-container\">\r\n <fieldset><h4>Things you can try:</h4>\r\n"
    "  <div id=\"details-left\"><ul><li>Verify the configuration/system.webServer/"
    "security/requestFiltering/requestLimits@maxQueryString setting in the "
    "applicationhost.config or web.config file.</li></ul></div>\r\n </fieldset>\r\n"
    "</div>\r\n</div>\r\n</body>\r\n</html>\r\n";

/* ---- SCEP operations ---- */

static void handle_cacert(struct rq *q, const struct mode *m)
{
	unsigned char *der = NULL;
	int len = 0;
	if (m->kind == M_RA) {
		X509 *chain[3];
		chain[0] = G.pki.ra_sign;
		chain[1] = G.pki.ra_enc;
		chain[2] = G.pki.ca;
		der = degenerate_der(chain, 3, &len);
		if (!der) {
			reply_text(q, 500, "internal error");
			return;
		}
		reply(q, 200, "application/x-x509-ca-ra-cert", der, (size_t)len);
	} else {
		der = cert_der(m->kind == M_EXPIREDCA ? G.pki.expired_ca : G.pki.ca, &len);
		if (!der) {
			reply_text(q, 500, "internal error");
			return;
		}
		reply(q, 200, "application/x-x509-ca-cert", der, (size_t)len);
	}
	OPENSSL_free(der);
}

static void handle_nextcacert(struct rq *q, const struct mode *m)
{
	STACK_OF(X509) *certs;
	CMS_ContentInfo *cms = NULL;
	BIO *empty;
	unsigned char *der = NULL;
	int len = 0;
	if (m->kind != M_NEXTCA && !(m->kind == M_CAPS && caps_has(m->arg, "GetNextCACert"))) {
		reply(q, 404, "text/plain", "", 0);
		return;
	}
	certs = sk_X509_new_null();
	empty = BIO_new(BIO_s_mem());
	if (certs && empty) {
		sk_X509_push(certs, G.pki.next_ca);
		cms = CMS_sign(G.pki.ca, G.pki.ca_key, certs, empty,
		               CMS_BINARY | CMS_NOCERTS | CMS_NOSMIMECAP);
	}
	if (cms)
		der = cms_der(cms, &len);
	CMS_ContentInfo_free(cms);
	sk_X509_free(certs);
	BIO_free(empty);
	if (!der) {
		reply_text(q, 500, "internal error");
		return;
	}
	reply(q, 200, "application/x-x509-next-ca-cert", der, (size_t)len);
	OPENSSL_free(der);
}

/*
 * 1 MiB of response headers before a normal reply: one X-Flood line (bigheader, past
 * libcurl's 100 KiB line cap) or 1024 lines of 1 KiB (manyheaders, past any total cap).
 */
#define FLOOD_TOTAL (1024 * 1024)
static void add_header_flood(struct rq *q, int one_line)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(q->req);
	size_t len = one_line ? FLOOD_TOTAL : 1024;
	char *v = malloc(len + 1), name[32];

	if (!v)
		return;
	memset(v, 'a', len);
	v[len] = '\0';
	for (size_t i = 0; i < FLOOD_TOTAL / len; i++) {
		snprintf(name, sizeof name, "X-Flood-%zu", i);
		evhttp_add_header(h, name, v);
	}
	free(v);
}

static void handle_caps(struct rq *q, const struct mode *m)
{
	const char *caps = CAPS_SUCCESS;
	char buf[600];
	switch (m->kind) {
	case M_NOCAPS:
		reply(q, 404, "text/plain", "", 0);
		return;
	case M_RA:
		caps = CAPS_NDES;
		break;
	case M_GETONLY:
	case M_IIS:
		caps = CAPS_GETONLY;
		break;
	case M_NEXTCA:
		caps = CAPS_NEXTCA;
		break;
	case M_BIGHEADER:
	case M_MANYHEADERS:
		add_header_flood(q, m->kind == M_BIGHEADER);
		break;
	case M_CAPS: {
		size_t i, n = strlen(m->arg);
		for (i = 0; i < n && i < sizeof buf - 2; i++)
			buf[i] = m->arg[i] == ',' ? '\n' : m->arg[i];
		if (n)
			buf[i++] = '\n';
		buf[i] = '\0';
		caps = buf;
		break;
	}
	default:
		break;
	}
	reply(q, 200, "text/plain", caps, strlen(caps));
}

static void handle_pkiop(struct rq *q, const struct mode *m, const char *query)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(q->req);
	unsigned char *msg = NULL, *rep = NULL;
	size_t msglen = 0;
	int replen = 0;
	const char *ct;

	G.st.last_query_len = q->qlen;
	G.st.last_query_plus = 0;
	if (cmd == EVHTTP_REQ_POST) {
		struct evbuffer *in = evhttp_request_get_input_buffer(q->req);
		snprintf(G.st.last_method, sizeof G.st.last_method, "POST");
		G.st.pkiop_post++;
		ct = evhttp_find_header(evhttp_request_get_input_headers(q->req), "Content-Type");
		snprintf(G.st.last_content_type, sizeof G.st.last_content_type, "%s", ct ? ct : "");
		if (m->kind == M_GETONLY || m->kind == M_IIS ||
		    (m->kind == M_CAPS && !caps_has(m->arg, "POSTPKIOperation") &&
		     !caps_has(m->arg, "SCEPStandard"))) {
			evhttp_add_header(evhttp_request_get_output_headers(q->req), "Allow",
			                  "GET");
			reply_text(q, 405, "PKIOperation via POST is not supported");
			return;
		}
		msglen = evbuffer_get_length(in);
		G.st.last_body_len = msglen;
		if (msglen == 0) {
			reply_text(q, 400, "empty PKIOperation body");
			return;
		}
		msg = malloc(msglen);
		if (!msg) {
			reply_text(q, 500, "out of memory");
			return;
		}
		evbuffer_copyout(in, msg, msglen);
	} else if (cmd == EVHTTP_REQ_GET) {
		size_t vlen = 0, declen = 0;
		const char *v = query_param(query, "message", &vlen);
		char *dec;
		snprintf(G.st.last_method, sizeof G.st.last_method, "GET");
		G.st.last_content_type[0] = '\0';
		G.st.last_body_len = 0;
		G.st.pkiop_get++;
		if (!v || vlen == 0) {
			reply_text(q, 400, "missing message parameter");
			return;
		}
		G.st.last_query_plus = memchr(v, '+', vlen) != NULL;
		dec = pct_decode(v, vlen, &declen);
		if (!dec) {
			reply_text(q, 400, "malformed percent-encoding in message");
			return;
		}
		msg = b64_decode(dec, declen, &msglen);
		free(dec);
		if (!msg) {
			reply_text(q, 400, "malformed base64 in message");
			return;
		}
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(q->req), "Allow", "GET, POST");
		reply_text(q, 405, "method not allowed");
		return;
	}

	rep = process_pkiop(m, msg, msglen, &replen, q->note, sizeof q->note);
	free(msg);
	if (!rep) {
		reply_text(q, 500, "internal error (could not build CertRep)");
		return;
	}
	switch (m->kind) {
	case M_HTTP500:
		reply_text(q, 500, "internal error");
		break;
	case M_GARBAGE: {
		unsigned char junk[3000];
		if (RAND_bytes(junk, sizeof junk) != 1)
			memset(junk, 0xa5, sizeof junk);
		reply(q, 200, "application/x-pki-message", junk, sizeof junk);
		break;
	}
	case M_TRUNCATED:
		reply(q, 200, "application/x-pki-message", rep, (size_t)replen / 2);
		break;
	case M_WRONGCT:
		reply(q, 200, "text/html", rep, (size_t)replen);
		break;
	case M_OVERSIZED:
	case M_OVERSIZED_CL:
		reply_oversized(q, m->kind == M_OVERSIZED_CL);
		break;
	case M_STALL:
		reply_deferred(q, 200, "application/x-pki-message", rep, (size_t)replen, -1);
		break;
	case M_SLOW:
		reply_deferred(q, 200, "application/x-pki-message", rep, (size_t)replen, m->n);
		break;
	default:
		reply(q, 200, "application/x-pki-message", rep, (size_t)replen);
		break;
	}
	OPENSSL_free(rep);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct rq q;
	const char *uri = evhttp_request_get_uri(req);
	const char *qm, *seg, *slash, *opv;
	char first[600], second[64], query[1];
	const char *qs = query;
	struct mode m;
	size_t plen, seglen, oplen = 0;
	char *op;
	(void)arg;

	memset(&q, 0, sizeof q);
	query[0] = '\0';
	q.req = req;
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		q.method = "GET";
		break;
	case EVHTTP_REQ_POST:
		q.method = "POST";
		break;
	case EVHTTP_REQ_HEAD:
		q.method = "HEAD";
		break;
	default:
		q.method = "OTHER";
		break;
	}
	if (!uri) {
		/* libevent reports a failed request (e.g. body over the 1 MiB cap) */
		int code = evhttp_request_get_response_code(req);
		snprintf(q.path, sizeof q.path, "(unparsed)");
		G.st.requests++;
		if (code == HTTP_ENTITYTOOLARGE)
			reply_text(&q, 413, "request body too large");
		else
			reply_text(&q, 400, "bad request");
		return;
	}
	qm = strchr(uri, '?');
	plen = qm ? (size_t)(qm - uri) : strlen(uri);
	snprintf(q.path, sizeof q.path, "%.*s", (int)(plen < 255 ? plen : 255), uri);
	if (qm) {
		qs = qm + 1;
		q.qlen = strlen(qs);
	}

	if (strcmp(q.path, "/stats") == 0) {
		handle_stats(&q);
		return;
	}
	if (strcmp(q.path, "/stats/reset") == 0) {
		stats_reset();
		reply_text(&q, 200, "ok\n");
		return;
	}
	G.st.requests++;

	/* first path segment */
	seg = uri[0] == '/' ? uri + 1 : uri;
	slash = strchr(seg, '/');
	seglen = slash && slash < uri + plen ? (size_t)(slash - seg) : (size_t)(uri + plen - seg);
	if (uri[0] != '/' || seglen == 0 || seglen >= sizeof first) {
		reply_text(&q, 404, "no mode in path");
		return;
	}
	memcpy(first, seg, seglen);
	first[seglen] = '\0';

	if (strcmp(first, "mscep_admin") == 0) {
		size_t l2 = 0;
		if (slash && slash < uri + plen) {
			const char *s2 = slash + 1,
			           *e2 = memchr(s2, '/', (size_t)(uri + plen - s2));
			l2 = e2 ? (size_t)(e2 - s2) : (size_t)(uri + plen - s2);
			if (l2 >= sizeof second)
				l2 = sizeof second - 1;
			memcpy(second, s2, l2);
		}
		second[l2] = '\0';
		handle_admin(&q, second);
		return;
	}
	if (parse_mode(first, &m) != 0) {
		reply_text(&q, 404, "unknown mode");
		return;
	}
	if (m.kind == M_IIS && evhttp_request_get_command(req) == EVHTTP_REQ_GET &&
	    q.qlen > IIS_MAX_QUERY) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Server",
		                  "Microsoft-IIS/10.0");
		size_t ol = 0;
		const char *o = query_param(qs, "operation", &ol);
		if (o && ol == 12 && strncmp(o, "PKIOperation", 12) == 0) {
			G.st.pkiop_get++;
			G.st.last_query_len = q.qlen;
			G.st.last_body_len = 0;
			G.st.last_content_type[0] = '\0';
			snprintf(G.st.last_method, sizeof G.st.last_method, "GET");
			snprintf(q.op, sizeof q.op, "PKIOperation");
		}
		reply(&q, 404, "text/html", IIS_404_15, strlen(IIS_404_15));
		return;
	}
	if (m.kind == M_IIS)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Server",
		                  "Microsoft-IIS/10.0");

	opv = query_param(qs, "operation", &oplen);
	op = opv ? pct_decode(opv, oplen, NULL) : NULL;
	if (!op) {
		reply_text(&q, 400, "missing or malformed operation parameter");
		return;
	}
	snprintf(q.op, sizeof q.op, "%s", op);
	if (strcmp(op, "GetCACaps") == 0)
		handle_caps(&q, &m);
	else if (strcmp(op, "GetCACert") == 0)
		handle_cacert(&q, &m);
	else if (strcmp(op, "GetNextCACert") == 0)
		handle_nextcacert(&q, &m);
	else if (strcmp(op, "PKIOperation") == 0)
		handle_pkiop(&q, &m, qs);
	else
		reply_text(&q, 400, "unknown operation");
	free(op);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	vlog("signal %d: shutting down", (int)sig);
	event_base_loopexit(G.base, NULL);
}

static void usage(void)
{
	fprintf(stderr, "usage: scep_faultd -p PORT -d DIR [-c CHALLENGE] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long port = -1;
	const char *dir = NULL;
	int c, i;
	struct evhttp_bound_socket *bound;
	struct event *sigterm, *sigint;
	OSSL_PROVIDER *legacy, *deflt;

	while ((c = getopt(argc, argv, "p:d:c:vh")) != -1) {
		switch (c) {
		case 'p':
			if (parse_long(optarg, 0, 65535, &port) != 0)
				usage();
			break;
		case 'd':
			dir = optarg;
			break;
		case 'c':
			G.challenge = optarg;
			break;
		case 'v':
			G.verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (port < 0 || !dir || optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	stats_reset();

	legacy = OSSL_PROVIDER_load(NULL, "legacy");
	deflt = OSSL_PROVIDER_load(NULL, "default");
	if (!deflt)
		die("cannot load the OpenSSL default provider");
	if (!legacy)
		fprintf(stderr, "scep_faultd: warning: OpenSSL legacy provider not available "
		                "(single DES will not work)\n");
	G.oid_msgtype = OBJ_txt2obj("2.16.840.1.113733.1.9.2", 1);
	G.oid_status = OBJ_txt2obj("2.16.840.1.113733.1.9.3", 1);
	G.oid_failinfo = OBJ_txt2obj("2.16.840.1.113733.1.9.4", 1);
	G.oid_snonce = OBJ_txt2obj("2.16.840.1.113733.1.9.5", 1);
	G.oid_rnonce = OBJ_txt2obj("2.16.840.1.113733.1.9.6", 1);
	G.oid_tid = OBJ_txt2obj("2.16.840.1.113733.1.9.7", 1);
	G.oid_failtext = OBJ_txt2obj("1.3.6.1.5.5.7.24.1", 1);
	if (!G.oid_msgtype || !G.oid_status || !G.oid_failinfo || !G.oid_snonce || !G.oid_rnonce ||
	    !G.oid_tid || !G.oid_failtext)
		die("OID setup failed");

	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		die("cannot create -d DIR");
	if (pki_load(dir, &G.pki) != 0) {
		fprintf(stderr, "scep_faultd: generating test PKI in %s\n", dir);
		pki_generate(dir, &G.pki);
	} else {
		vlog("loaded test PKI from %s", dir);
	}
	write_fp(dir, "ca.sha256", G.pki.ca);
	write_fp(dir, "expired-ca.sha256", G.pki.expired_ca);
	write_fp(dir, "next-ca.sha256", G.pki.next_ca);
	write_fp(dir, "ra-sign.sha256", G.pki.ra_sign);
	write_fp(dir, "ra-enc.sha256", G.pki.ra_enc);

	{
		/* precise (non-coarse) monotonic clock so slow-S never fires early */
		struct event_config *cfg = event_config_new();
		if (cfg)
			event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
		G.base = cfg ? event_base_new_with_config(cfg) : NULL;
		if (cfg)
			event_config_free(cfg);
	}
	G.http = G.base ? evhttp_new(G.base) : NULL;
	if (!G.http)
		die("libevent setup failed");
	evhttp_set_max_body_size(G.http, MAX_BODY);
	evhttp_set_max_headers_size(G.http, 256 * 1024);
	evhttp_set_timeout(G.http, 3600);
	evhttp_set_flags(G.http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_allowed_methods(G.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                       EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                       EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(G.http, on_request, NULL);
	bound = evhttp_bind_socket_with_handle(G.http, "127.0.0.1", (ev_uint16_t)port);
	if (!bound)
		die("cannot listen on 127.0.0.1:PORT");
	if (port == 0) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof sa;
		if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sa, &sl) ==
		    0)
			printf("port %u\n", (unsigned)ntohs(sa.sin_port));
	}
	sigterm = evsignal_new(G.base, SIGTERM, on_signal, NULL);
	sigint = evsignal_new(G.base, SIGINT, on_signal, NULL);
	if (!sigterm || !sigint || evsignal_add(sigterm, NULL) || evsignal_add(sigint, NULL))
		die("signal setup failed");

	printf("ready\n");
	fflush(stdout);
	event_base_dispatch(G.base);

	/* shutdown: drop our bookkeeping; libevent frees attached requests */
	while (G.pend_head) {
		pend_detach_conn(G.pend_head);
		pend_unlink_free(G.pend_head);
	}
	evhttp_free(G.http);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(G.base);
	for (i = 0; i < MAX_TXN; i++) {
		free(G.txn[i].tid);
		X509_REQ_free(G.txn[i].csr);
	}
	OPENSSL_cleanse(G.otp, sizeof G.otp);
	pki_free(&G.pki);
	ASN1_OBJECT_free(G.oid_msgtype);
	ASN1_OBJECT_free(G.oid_status);
	ASN1_OBJECT_free(G.oid_failinfo);
	ASN1_OBJECT_free(G.oid_snonce);
	ASN1_OBJECT_free(G.oid_rnonce);
	ASN1_OBJECT_free(G.oid_tid);
	ASN1_OBJECT_free(G.oid_failtext);
	OSSL_PROVIDER_unload(legacy);
	OSSL_PROVIDER_unload(deflt);
	vlog("bye");
	return 0;
}
