/*
 * clientauth_dsk: the TLS-DSK steps of the client-auth transaction (auth: tls-dsk), after
 * the TCP TLS handshake (clientauth_txn.c):
 *
 *   challenge      REGISTER without credentials → 401 offering TLS-DSK (sts-uri, version)
 *   dsk_handshake  REGISTER gssapi-data=ClientHello → 401 server flight → REGISTER client
 *                  flight → 401 CCS+Finished: the security association; keys from the
 *                  RFC 5705 exporter (tlsdsk.c)
 *   register       REGISTER signed (crand/cnum/response) → 200 with rspauth verified
 *   unregister     signed, in clientauth_txn.c through ca_dsk_authorization()
 *
 * Each step reads the raw response kept by take_response() (gssapi-data is far larger
 * than sip_response keeps). No secret (keys, signatures' keys) reaches a fact or a log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "net/tls_conn.h"
#include "pki/pki.h"
#include "transactions/clientauth/clientauth_int.h"
#include "transactions/clientauth/sipae_auth.h"
#include "transactions/clientauth/tlsdsk.h"

#define DSK_SA_MAX (8 * 3600) /* MS-SIPAE: an SA lives at most 8 h ... */
#define DSK_SA_MARGIN 300     /* ... and is renewed at least 5 min before it ends */
#define DSK_MAX_ROUNDS 4      /* handshake legs before we call it a loop */

enum dsk_phase { DSK_CHALLENGE, DSK_HANDSHAKE, DSK_REGISTER };

struct ca_dsk {
	enum dsk_phase phase;
	struct tlsdsk *tls;
	struct tlsdsk_keys keys;
	bool sa;
	char realm[128];
	char targetname[256];
	char opaque[128];
	char sts_uri[512];
	int version;
	unsigned cnum;
	unsigned rounds;
	char auth[24576]; /* the Authorization value of the next request */
};

static void dsk_drop_tls(struct ca_dsk *d)
{
	tlsdsk_free(d->tls);
	d->tls = NULL;
	memset(&d->keys, 0, sizeof d->keys);
	d->sa = false;
}

void ca_dsk_free(struct clientauth_txn *t)
{
	if (t->dsk == NULL)
		return;
	dsk_drop_tls(t->dsk);
	free(t->dsk);
	t->dsk = NULL;
}

/* The raw response without leading keep-alive line ends. */
static const char *raw_response(struct clientauth_txn *t, size_t *len)
{
	const char *p = (const char *)t->raw.data;
	size_t n = t->raw.len;

	while (n > 0 && (*p == '\r' || *p == '\n')) {
		p++;
		n--;
	}
	*len = n;
	return p != NULL ? p : "";
}

/* A value we copy back into our quoted Authorization must not end the quoting. */
static bool quotable(const char *s)
{
	return strpbrk(s, "\"\\") == NULL;
}

/*
 * The TLS-DSK challenge among the WWW-Authenticate fields: 1 found, 0 none, -1 none and a
 * field did not parse (err says which). A malformed field of another scheme does not hide
 * a good TLS-DSK one.
 */
static int find_tls_dsk(struct clientauth_txn *t, struct sipae_params *p, char *schemes,
                        size_t slen, char *err, size_t errlen)
{
	size_t len, pos = 0, vlen, used = 0;
	const char *msg = raw_response(t, &len), *v;
	int found = 0;
	bool bad = false;

	schemes[0] = '\0';
	while (sipae_header_next(msg, len, "WWW-Authenticate", 0, &pos, &v, &vlen)) {
		struct sipae_params q;
		char why[160];
		if (sipae_params_parse(v, vlen, &q, why, sizeof why) == -1) {
			if (!bad)
				snprintf(err, errlen, "%s", why);
			bad = true;
			continue;
		}
		if (used < slen) {
			int n = snprintf(schemes + used, slen - used, "%s%s", used > 0 ? ", " : "",
			                 q.scheme);
			if (n > 0)
				used += (size_t)n;
		}
		if (!found && strcasecmp(q.scheme, "TLS-DSK") == 0) {
			*p = q;
			found = 1;
		}
	}
	return found == 0 && bad ? -1 : found;
}

/* Which status a refusal of the TLS-DSK logon gets. */
static enum txn_status dsk_sip_status(const struct sip_response *r, enum dsk_phase phase)
{
	switch (r->code) {
	case 401:
	case 407:
		return phase == DSK_REGISTER ? TXN_REGISTRAR_DSK_CERT_REJECTED
		                             : TXN_REGISTRAR_DSK_PROTOCOL;
	case 403:
		return TXN_REGISTRAR_DSK_FORBIDDEN;
	case 404:
		return TXN_REGISTRAR_DSK_USER_NOT_ENABLED;
	case 408:
	case 504:
		return TXN_REGISTRAR_DSK_TIMEOUT;
	default:
		return ca_sip_status(r);
	}
}

/* ---- building requests ---- */

static void dsk_handshake_auth(struct ca_dsk *d, const struct bbuf *flight)
{
	struct bbuf b64;
	int n;

	bbuf_init(&b64, sizeof d->auth);
	if (sipae_base64_encode(flight->data, flight->len, &b64) == -1) {
		d->auth[0] = '\0';
		bbuf_free(&b64);
		return;
	}
	n = snprintf(d->auth, sizeof d->auth, "TLS-DSK qop=\"auth\"");
	if (d->opaque[0] != '\0')
		n +=
		    snprintf(d->auth + n, sizeof d->auth - (size_t)n, ", opaque=\"%s\"", d->opaque);
	n += snprintf(d->auth + n, sizeof d->auth - (size_t)n,
	              ", realm=\"%s\", targetname=\"%s\", gssapi-data=\"%s\", version=%d", d->realm,
	              d->targetname, (const char *)b64.data, d->version);
	if ((size_t)n >= sizeof d->auth)
		d->auth[0] = '\0';
	bbuf_free(&b64);
}

const char *ca_dsk_authorization(struct clientauth_txn *t, const char *method, int expires)
{
	struct ca_dsk *d = t->dsk;
	unsigned char rnd[4];
	char crand[9], cnum[16], exp[16], mac[41];
	struct sipae_sig_fields f;
	struct bbuf buf;

	if (d == NULL || !d->sa)
		return NULL;
	if (pki_random(rnd, sizeof rnd) == -1)
		return NULL;
	snprintf(crand, sizeof crand, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	snprintf(cnum, sizeof cnum, "%u", ++d->cnum);
	snprintf(exp, sizeof exp, "%d", expires);
	memset(&f, 0, sizeof f);
	f.scheme = "TLS-DSK";
	f.rand = crand;
	f.num = cnum;
	f.realm = d->realm;
	f.targetname = d->targetname;
	f.call_id = t->call_id;
	f.cseq = t->cseq + 1; /* the request about to be sent */
	f.method = method;
	f.from_uri = t->spec->sip_uri;
	f.from_tag = t->from_tag;
	f.to_uri = t->spec->sip_uri;
	f.expires = expires >= 0 ? exp : NULL;
	bbuf_init(&buf, 4096);
	if (sipae_sig_buffer(&buf, &f, d->version) == -1 ||
	    tlsdsk_mac_hex(d->keys.client_key, TLSDSK_KEY_LEN, d->keys.mac, buf.data, buf.len, mac,
	                   sizeof mac) == -1) {
		bbuf_free(&buf);
		return NULL;
	}
	bbuf_free(&buf);
	snprintf(d->auth, sizeof d->auth,
	         "TLS-DSK qop=\"auth\", opaque=\"%s\", realm=\"%s\", targetname=\"%s\", "
	         "crand=\"%s\", cnum=\"%s\", response=\"%s\"",
	         d->opaque, d->realm, d->targetname, crand, cnum, mac);
	return d->auth;
}

/* ---- verifying responses ---- */

/*
 * The response's Authentication-Info, checked with the server key over the response's own
 * fields. TXN_OK, or TXN_REGISTRAR_DSK_BAD_RSPAUTH with why.
 */
static enum txn_status verify_rspauth(struct clientauth_txn *t, char *why, size_t wlen)
{
	struct ca_dsk *d = t->dsk;
	size_t len, pos = 0, vlen;
	const char *msg = raw_response(t, &len), *v;
	char from_uri[256] = "", from_tag[128] = "", to_uri[256] = "", to_tag[128] = "";
	char expires[32] = "", pai_sip[256] = "", pai_tel[256] = "", mac[41], err[160];
	char call_id[256] = "", tmp[32];
	struct sipae_params ai;
	struct sipae_sig_fields f;
	struct bbuf buf;
	int rc;

	if (!sipae_header_next(msg, len, "Authentication-Info", 0, &pos, &v, &vlen)) {
		snprintf(why, wlen, "no Authentication-Info in the %u", t->resp.code);
		return TXN_REGISTRAR_DSK_BAD_RSPAUTH;
	}
	if (sipae_params_parse(v, vlen, &ai, err, sizeof err) == -1) {
		snprintf(why, wlen, "unreadable Authentication-Info: %s", err);
		return TXN_REGISTRAR_DSK_BAD_RSPAUTH;
	}
	if (strcasecmp(ai.scheme, "TLS-DSK") != 0 || ai.rspauth[0] == '\0') {
		snprintf(why, wlen, "Authentication-Info without a TLS-DSK rspauth");
		return TXN_REGISTRAR_DSK_BAD_RSPAUTH;
	}
	pos = 0;
	if (sipae_header_next(msg, len, "From", 'f', &pos, &v, &vlen))
		sipae_name_addr(v, vlen, from_uri, sizeof from_uri, from_tag, sizeof from_tag);
	pos = 0;
	if (sipae_header_next(msg, len, "To", 't', &pos, &v, &vlen))
		sipae_name_addr(v, vlen, to_uri, sizeof to_uri, to_tag, sizeof to_tag);
	pos = 0;
	if (sipae_header_next(msg, len, "Call-ID", 'i', &pos, &v, &vlen) && vlen < sizeof call_id)
		snprintf(call_id, sizeof call_id, "%.*s", (int)vlen, v);
	pos = 0;
	if (sipae_header_next(msg, len, "Expires", 0, &pos, &v, &vlen) && vlen < sizeof expires)
		snprintf(expires, sizeof expires, "%.*s", (int)vlen, v);
	pos = 0;
	while (sipae_header_next(msg, len, "P-Asserted-Identity", 0, &pos, &v, &vlen)) {
		char u[256];
		if (sipae_name_addr(v, vlen, u, sizeof u, tmp, sizeof tmp) == -1)
			continue;
		if (strncasecmp(u, "tel:", 4) == 0)
			snprintf(pai_tel, sizeof pai_tel, "%s", u);
		else
			snprintf(pai_sip, sizeof pai_sip, "%s", u);
	}
	memset(&f, 0, sizeof f);
	f.scheme = "TLS-DSK";
	f.rand = ai.srand;
	f.num = ai.snum;
	f.realm = ai.realm[0] != '\0' ? ai.realm : d->realm;
	f.targetname = ai.targetname[0] != '\0' ? ai.targetname : d->targetname;
	f.call_id = call_id;
	f.cseq = t->resp.cseq;
	f.method = t->resp.cseq_method;
	f.from_uri = from_uri;
	f.from_tag = from_tag;
	f.to_uri = to_uri;
	f.to_tag = to_tag;
	f.pai_sip = pai_sip;
	f.pai_tel = pai_tel;
	f.expires = expires;
	f.status = t->resp.code;
	bbuf_init(&buf, 8192);
	rc = sipae_sig_buffer(&buf, &f, d->version);
	if (rc == 0)
		rc = tlsdsk_mac_hex(d->keys.server_key, TLSDSK_KEY_LEN, d->keys.mac, buf.data,
		                    buf.len, mac, sizeof mac);
	bbuf_free(&buf);
	if (rc == -1) {
		snprintf(why, wlen, "the response's fields are too large to check");
		return TXN_REGISTRAR_DSK_BAD_RSPAUTH;
	}
	if (!tlsdsk_hex_equal(mac, ai.rspauth)) {
		snprintf(why, wlen,
		         "the rspauth of the %u does not verify with the session key (srand %.16s, "
		         "snum %.12s)",
		         t->resp.code, ai.srand, ai.snum);
		return TXN_REGISTRAR_DSK_BAD_RSPAUTH;
	}
	return TXN_OK;
}

/* ---- the steps ---- */

static enum step_ret dsk_send(struct clientauth_txn *t, int expires)
{
	const char *auth = t->dsk->auth[0] != '\0' ? t->dsk->auth : NULL;

	t->have_response = t->bad_response = false;
	if (ca_send_request(t, "REGISTER", expires, auth) == -1)
		return ca_fail(t, TXN_PROBE_INTERNAL, "cannot build or send the TLS-DSK REGISTER");
	t->waiting = true;
	return STEP_WAIT;
}

enum step_ret ca_dsk_start(struct clientauth_txn *t)
{
	if (t->dsk == NULL)
		t->dsk = xcalloc(1, sizeof *t->dsk);
	dsk_drop_tls(t->dsk);
	memset(t->dsk, 0, sizeof *t->dsk);
	t->dsk->phase = DSK_CHALLENGE;
	t->step = txn_step_begin(&t->result, "challenge");
	return dsk_send(t, (int)t->spec->expires);
}

static enum step_ret dsk_challenge_done(struct clientauth_txn *t, const char *text)
{
	struct ca_dsk *d = t->dsk;
	struct sipae_params p;
	struct bbuf flight;
	char schemes[200], err[TXN_DETAIL_LEN];
	enum tlsdsk_ret r;
	int found;

	if (t->resp.code < 300)
		return ca_fail(
		    t, TXN_REGISTRAR_DSK_PROTOCOL,
		    "%s to a REGISTER without credentials: the registrar did not ask for "
		    "TLS-DSK",
		    text);
	if (t->resp.code != 401 && t->resp.code != 407)
		return ca_fail(t, dsk_sip_status(&t->resp, d->phase), "%s", text);
	found = find_tls_dsk(t, &p, schemes, sizeof schemes, err, sizeof err);
	if (found == -1)
		return ca_fail(t, TXN_REGISTRAR_DSK_PROTOCOL,
		               "%s with a malformed WWW-Authenticate: %s", text, err);
	if (found == 0)
		return ca_fail(t, TXN_REGISTRAR_NO_TLS_DSK, "%s offering %s; no TLS-DSK", text,
		               schemes[0] != '\0' ? schemes : "no scheme at all");
	if (p.version != 3 && p.version != 4)
		return ca_fail(
		    t, TXN_REGISTRAR_DSK_PROTOCOL,
		    "%s offering TLS-DSK version %d (this probe speaks versions 3 and 4)", text,
		    p.version);
	if (!quotable(p.realm) || !quotable(p.targetname) || p.realm[0] == '\0' ||
	    p.targetname[0] == '\0')
		return ca_fail(t, TXN_REGISTRAR_DSK_PROTOCOL,
		               "%s offering TLS-DSK without a usable realm and targetname", text);
	snprintf(d->realm, sizeof d->realm, "%s", p.realm);
	snprintf(d->targetname, sizeof d->targetname, "%s", p.targetname);
	snprintf(d->sts_uri, sizeof d->sts_uri, "%s", p.sts_uri);
	d->version = p.version;
	txn_result_fact(&t->result, "tls_dsk_offered", "version %d, targetname %s", p.version,
	                p.targetname);
	if (p.sts_uri[0] != '\0')
		txn_result_fact(&t->result, "sts_uri", "%s", p.sts_uri);
	txn_step_end(&t->result, t->step, TXN_OK, "%s offering %s (TLS-DSK version %d%s%s)", text,
	             schemes, p.version, p.sts_uri[0] != '\0' ? ", sts-uri " : "", p.sts_uri);

	t->step = txn_step_begin(&t->result, "dsk_handshake");
	d->phase = DSK_HANDSHAKE;
	d->tls = tlsdsk_new(tls_ctx_ssl(t->tls), err, sizeof err);
	if (d->tls == NULL)
		return ca_fail(t, TXN_CLIENT_CERT_UNAVAILABLE, "%s", err);
	bbuf_init(&flight, 32768);
	r = tlsdsk_step(d->tls, NULL, 0, &flight, err, sizeof err);
	if (r != TLSDSK_CONTINUE) {
		bbuf_free(&flight);
		return ca_fail(t, TXN_PROBE_INTERNAL, "cannot start the TLS-DSK handshake: %s",
		               err);
	}
	dsk_handshake_auth(d, &flight);
	bbuf_free(&flight);
	return dsk_send(t, (int)t->spec->expires);
}

static enum step_ret dsk_sa_established(struct clientauth_txn *t)
{
	struct ca_dsk *d = t->dsk;
	char desc[300];
	long sa;

	if (tlsdsk_keys(d->tls, &d->keys) == -1)
		return ca_fail(t, TXN_PROBE_INTERNAL, "cannot export the TLS-DSK session keys");
	d->sa = true;
	tlsdsk_describe(d->tls, desc, sizeof desc);
	/* the SA ends at min(certificate notAfter, 8 h), renewed 5 min before: each run makes its
	 * own, so it must at least outlive this run */
	sa = t->client.seconds_left < DSK_SA_MAX ? t->client.seconds_left : DSK_SA_MAX;
	sa -= DSK_SA_MARGIN;
	txn_result_fact(&t->result, "tls_dsk", "%s", desc);
	txn_result_fact(&t->result, "tls_dsk_sa_lifetime", "%ld s", sa > 0 ? sa : 0);
	txn_step_end(&t->result, t->step, TXN_OK,
	             "security association established (%s) in %u round trips", desc, d->rounds);
	if (sa <= 0)
		return ca_fail(
		    t, TXN_CLIENT_CERT_EXPIRED,
		    "the TLS-DSK security association would end at once: the certificate "
		    "expires %s (an SA is renewed 5 min before the certificate ends)",
		    t->client.not_after);
	t->step = txn_step_begin(&t->result, "register");
	d->phase = DSK_REGISTER;
	if (ca_dsk_authorization(t, "REGISTER", (int)t->spec->expires) == NULL)
		return ca_fail(t, TXN_PROBE_INTERNAL, "cannot sign the REGISTER");
	return dsk_send(t, (int)t->spec->expires);
}

static enum step_ret dsk_handshake_done(struct clientauth_txn *t, const char *text)
{
	struct ca_dsk *d = t->dsk;
	struct sipae_params p;
	struct sipae_record rec[SIPAE_MAX_RECORDS];
	struct bbuf raw, flight;
	char schemes[200], err[TXN_DETAIL_LEN];
	size_t nrec;
	int found, level, desc;
	enum tlsdsk_ret r;

	if (t->resp.code != 401 && t->resp.code != 407)
		return ca_fail(t, dsk_sip_status(&t->resp, d->phase),
		               "%s during the TLS-DSK handshake", text);
	found = find_tls_dsk(t, &p, schemes, sizeof schemes, err, sizeof err);
	if (found == -1)
		return ca_fail(t, TXN_REGISTRAR_DSK_PROTOCOL,
		               "%s with a malformed WWW-Authenticate: %s", text, err);
	if ((found == 0 || p.gssapi == NULL) && d->rounds >= 1)
		return ca_fail(
		    t, TXN_REGISTRAR_DSK_CERT_REJECTED,
		    "%s again, without gssapi-data, once our certificate was sent in the "
		    "TLS-DSK handshake: the registrar does not accept the certificate '%s' "
		    "(not published or not trusted)",
		    text, t->client.subject);
	if (found == 0 || p.gssapi == NULL)
		return ca_fail(t, TXN_REGISTRAR_DSK_PROTOCOL,
		               "%s without TLS-DSK gssapi-data in the middle of the handshake (the "
		               "registrar dropped it)",
		               text);
	if (p.opaque[0] == '\0' || !quotable(p.opaque))
		return ca_fail(t, TXN_REGISTRAR_DSK_PROTOCOL, "%s without a usable opaque", text);
	snprintf(d->opaque, sizeof d->opaque, "%s", p.opaque);
	bbuf_init(&raw, SIPAE_MAX_GSSAPI);
	if (sipae_base64_decode(p.gssapi, p.gssapi_len, &raw) == -1) {
		bbuf_free(&raw);
		return ca_fail(t, TXN_REGISTRAR_DSK_PROTOCOL, "%s: gssapi-data is not base64",
		               text);
	}
	if (sipae_records_split(raw.data, raw.len, rec, SIPAE_MAX_RECORDS, &nrec, err,
	                        sizeof err) == -1) {
		bbuf_free(&raw);
		return ca_fail(t, TXN_REGISTRAR_DSK_PROTOCOL, "%s: gssapi-data: %s", text, err);
	}
	if (sipae_records_alert(raw.data, rec, nrec, &level, &desc)) {
		bbuf_free(&raw);
		return ca_fail(t, TXN_REGISTRAR_DSK_TLS_ALERT,
		               "%s carrying TLS alert %d %s (%s) in gssapi-data: the registrar "
		               "refused the certificate in the tunnelled handshake",
		               text, desc, tls_alert_name(desc), level == 2 ? "fatal" : "warning");
	}
	if (++d->rounds > DSK_MAX_ROUNDS) {
		bbuf_free(&raw);
		return ca_fail(t, TXN_REGISTRAR_DSK_PROTOCOL,
		               "the TLS-DSK handshake did not end after %d round trips",
		               DSK_MAX_ROUNDS);
	}
	bbuf_init(&flight, 32768);
	r = tlsdsk_step(d->tls, raw.data, raw.len, &flight, err, sizeof err);
	bbuf_free(&raw);
	if (r == TLSDSK_FAILED) {
		int a = tlsdsk_alert_received(d->tls);
		bbuf_free(&flight);
		if (a >= 0)
			return ca_fail(t, TXN_REGISTRAR_DSK_TLS_ALERT,
			               "TLS alert %d %s from the registrar inside gssapi-data (%s)",
			               a, tls_alert_name(a), err);
		return ca_fail(t, TXN_REGISTRAR_DSK_TLS_ALERT, "%s", err);
	}
	if (r == TLSDSK_DONE) {
		bbuf_free(&flight);
		return dsk_sa_established(t);
	}
	dsk_handshake_auth(d, &flight);
	bbuf_free(&flight);
	if (d->auth[0] == '\0')
		return ca_fail(t, TXN_PROBE_INTERNAL, "our TLS-DSK handshake flight is too large");
	return dsk_send(t, (int)t->spec->expires);
}

static enum step_ret dsk_register_done(struct clientauth_txn *t, const char *text)
{
	struct ca_dsk *d = t->dsk;
	char why[TXN_DETAIL_LEN];
	enum txn_status st;

	if (t->resp.code >= 300) {
		if (t->resp.code == 401 || t->resp.code == 407)
			return ca_fail(
			    t, TXN_REGISTRAR_DSK_CERT_REJECTED,
			    "%s again after the TLS-DSK handshake: the registrar does not "
			    "accept the certificate '%s' (not published or not trusted)",
			    text, t->client.subject);
		return ca_fail(t, dsk_sip_status(&t->resp, d->phase), "%s", text);
	}
	st = verify_rspauth(t, why, sizeof why);
	if (st != TXN_OK)
		return ca_fail(t, st, "%s: %s", text, why);
	if (t->resp.contact_expires >= 0 || t->resp.expires >= 0)
		txn_step_end(
		    &t->result, t->step, TXN_OK, "%s; binding expires in %d s; rspauth verified",
		    text, t->resp.contact_expires >= 0 ? t->resp.contact_expires : t->resp.expires);
	else
		txn_step_end(&t->result, t->step, TXN_OK, "%s; rspauth verified", text);
	t->state = CA_UNREGISTER;
	return STEP_CONTINUE;
}

enum step_ret ca_dsk_response(struct clientauth_txn *t, const char *text)
{
	switch (t->dsk->phase) {
	case DSK_CHALLENGE:
		return dsk_challenge_done(t, text);
	case DSK_HANDSHAKE:
		return dsk_handshake_done(t, text);
	case DSK_REGISTER:
		return dsk_register_done(t, text);
	}
	return STEP_DONE;
}

enum txn_status ca_dsk_unregister_check(struct clientauth_txn *t, char *why, size_t wlen)
{
	if (t->dsk == NULL || !t->dsk->sa)
		return TXN_OK;
	return verify_rspauth(t, why, wlen);
}

void ca_dsk_deadline(struct clientauth_txn *t, double secs)
{
	static const char *const what[] = {
	    [DSK_CHALLENGE] = "the first REGISTER",
	    [DSK_HANDSHAKE] = "a TLS-DSK handshake REGISTER",
	    [DSK_REGISTER] = "the signed REGISTER",
	};

	ca_fail(t, TXN_REGISTRAR_DSK_TIMEOUT,
	        "no SIP answer to %s within %.1f s (the registrar completed TLS but stalled)",
	        what[t->dsk->phase], secs);
}
