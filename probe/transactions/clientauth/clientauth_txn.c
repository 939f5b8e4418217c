/*
 * clientauth_txn: the client-auth step machine (see clientauth_txn.h).
 *
 *   certificate → [discover: SRV in device order | A fallbacks] → resolve → connect →
 *   tls_handshake → register|options (→ 301: resolve … again, at most 3 times) →
 *   unregister → done
 *
 * Steps are functions returning STEP_CONTINUE / STEP_WAIT / STEP_DONE (HAProxy
 * tcpcheck); I/O callbacks record what happened and call txn_run() again. The one
 * deadline timer covers the whole run.
 */
#define _DEFAULT_SOURCE 1

#include "transactions/clientauth/clientauth_txn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/cfg_walk.h"
#include "core/fileload.h"
#include "core/log.h"
#include "core/offload.h"
#include "core/xalloc.h"
#include "net/dns.h"
#include "net/sip_msg.h"
#include "net/tls_conn.h"
#include "pki/pki.h"
#include "transactions/clientauth/clientauth_conf.h"
#include "transactions/thresholds.h"
#include "transactions/txn_state.h"

#define CA_MAX_REDIRECTS 3

#include "transactions/clientauth/clientauth_int.h"

static void txn_run(struct clientauth_txn *t);

/* ---- helpers ---- */

static void ca_token(char *buf, size_t n)
{
	unsigned char rnd[32];

	if ((n + 1) / 2 > sizeof rnd || pki_random(rnd, (n + 1) / 2) == -1)
		memset(rnd, 0x5a, sizeof rnd);
	sip_hex_token(buf, n, rnd, (n + 1) / 2);
}

static void ca_kick(struct clientauth_txn *t)
{
	event_active(t->kick, EV_TIMEOUT, 0);
}

void ca_resume(struct clientauth_txn *t)
{
	t->waiting = false;
	txn_run(t);
}

/* sip:user@domain[:port][;params] → user, domain */
static void split_sip_uri(const char *uri, char *user, size_t ulen, char *domain, size_t dlen)
{
	const char *p = strchr(uri, ':') + 1, *at = strchr(p, '@'), *end;

	snprintf(user, ulen, "%.*s", (int)(at - p), p);
	end = at + 1 + strcspn(at + 1, ":;?>");
	snprintf(domain, dlen, "%.*s", (int)(end - at - 1), at + 1);
}

/*
 * Expiring soon: within warn.expiry_days (default 30), or within the last third of the lifetime for
 * short-lived certificates (a 1-day lab certificate is not "expiring" all day long).
 */
static bool expiring_soon(const struct tls_cert_facts *f, unsigned days)
{
	long lifetime = f->seconds_left - f->not_before_in;
	long warn = (long)days * 86400L;

	if (lifetime > 0 && lifetime / 3 < warn)
		warn = lifetime / 3;
	return f->seconds_left >= 0 && f->seconds_left < warn;
}

void ca_finish(struct clientauth_txn *t)
{
	const struct tls_peer_info *pi = t->conn != NULL ? tls_conn_peer(t->conn) : NULL;

	if (t->state == CA_DONE)
		return;
	t->state = CA_DONE;
	evtimer_del(t->timer);
	for (size_t i = 0; i < sizeof t->lookups / sizeof t->lookups[0]; i++) {
		dns_cancel(t->lookups[i].q);
		t->lookups[i].q = NULL;
	}
	dns_cancel(t->resolve_q);
	t->resolve_q = NULL;
	if (pi != NULL && pi->have_leaf && t->result.status == TXN_OK &&
	    expiring_soon(&pi->leaf, t->conf->warn.expiry_days))
		txn_result_finding(&t->result, TXN_TLS_CERT_EXPIRING,
		                   "the registrar certificate '%s' expires %s (in %ld days)",
		                   pi->leaf.subject, pi->leaf.not_after,
		                   pi->leaf.seconds_left / 86400);
	if (t->has_client && t->result.status == TXN_OK &&
	    expiring_soon(&t->client, t->conf->warn.expiry_days))
		txn_result_finding(&t->result, TXN_CLIENT_CERT_EXPIRING,
		                   "the client certificate '%s' expires %s (in %ld days)",
		                   t->client.subject, t->client.not_after,
		                   t->client.seconds_left / 86400);
	tls_conn_close(t->conn); /* close_notify: the registrar sees a clean logoff */
	t->conn = NULL;
	txn_result_finish(&t->result);
	txn_apply_latency(&t->result, &t->conf->warn);
	t->cb(&t->result, t->arg);
}

enum step_ret ca_fail(struct clientauth_txn *t, enum txn_status st, const char *fmt, ...)
{
	char detail[TXN_DETAIL_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	txn_step_end(&t->result, t->step, st, "%s", detail);
	txn_result_fail(&t->result, st, "%s", detail);
	return STEP_DONE;
}

/* ---- certificate ---- */

/* The loader has read the files: the certificate step asks again. */
static void on_ctx_loaded(void *arg)
{
	ca_resume(arg);
}

static enum step_ret step_cert(struct clientauth_txn *t)
{
	const struct client_cert_conf *cc = &t->spec->certificate;
	struct tls_ctx_params p = {.trust_store = t->spec->trust_store};
	char cert[1024], key[1024], err[TXN_DETAIL_LEN];
	enum txn_status st = TXN_PROBE_INTERNAL;

	if (!t->ctx_pending)
		t->step = txn_step_begin(&t->result, "certificate");
	t->ctx_pending = false;
	if (cc->from != NULL) {
		char dir[700];
		/* the enrollment may not have run since the layout changed */
		txn_state_migrate(t->env.state_dir, cc->from);
		txn_state_dir(t->env.state_dir, cc->from, dir, sizeof dir);
		/* key and certificate are one file, replaced as one (txn_state.h) */
		snprintf(cert, sizeof cert, "%s/%s", dir, TXN_STATE_IDENTITY);
		snprintf(key, sizeof key, "%s", cert);
		if (access(cert, R_OK) != 0) {
			/* the pair as two files, from before identity.pem: read as a fallback */
			snprintf(cert, sizeof cert, "%s/cert.pem", dir);
			snprintf(key, sizeof key, "%s/cert-key.pem", dir);
		}
		if (access(cert, R_OK) != 0 || access(key, R_OK) != 0)
			return ca_fail(t, TXN_CLIENT_CERT_UNAVAILABLE,
			               "enrollment '%s' has not issued a certificate yet (no "
			               "%s/%s)",
			               cc->from, dir, TXN_STATE_IDENTITY);
		p.cert = cert;
		p.key = key;
	} else if (cc->cert != NULL) {
		p.cert = cc->cert;
		p.key = cc->key;
	}
	p.max_version = t->spec->registrar.tls_max_minor == 2 ? TLS_MAX_1_2 : TLS_MAX_AUTO;
	switch (tls_ctx_acquire(t->env.tls, &p, on_ctx_loaded, t, &t->tls, &t->client, &st, err,
	                        sizeof err)) {
	case TLS_CTX_PENDING:
		t->ctx_pending = true;
		t->waiting = true;
		return STEP_WAIT;
	case TLS_CTX_FAILED:
		return ca_fail(t, st, "%s", err);
	case TLS_CTX_READY:
		break;
	}
	if (p.cert == NULL) {
		txn_step_end(&t->result, t->step, TXN_OK, "none configured");
		return STEP_CONTINUE;
	}
	t->has_client = true;
	txn_result_fact(&t->result, "client_subject", "%s", t->client.subject);
	txn_result_fact(&t->result, "client_issuer", "%s", t->client.issuer);
	txn_result_fact(&t->result, "client_serial", "%s", t->client.serial);
	txn_result_fact(&t->result, "client_not_before", "%s", t->client.not_before);
	txn_result_fact(&t->result, "client_not_after", "%s", t->client.not_after);
	txn_result_fact(&t->result, "client_fingerprint", "%s", t->client.fingerprint);
	if (t->client.seconds_left < 0)
		txn_step_end(&t->result, t->step, TXN_OK, "%s (EXPIRED %s; sending it anyway)",
		             t->client.subject, t->client.not_after);
	else
		txn_step_end(&t->result, t->step, TXN_OK, "%s, valid until %s", t->client.subject,
		             t->client.not_after);
	return STEP_CONTINUE;
}

/* ---- registrar: {from: NAME} ---- */

/* The registrar NAME recorded (TXN_STATE_REGISTRAR), read on the offload worker. */
struct ca_registrar_job {
	struct clientauth_txn *t; /* NULL once the run is freed: done() then only frees it */
	char path[700];
	char *text;
	size_t len;
	int rc;
	struct fileload_fail fail;
};

#define CA_REGISTRAR_FILE_MAX 512

static void registrar_job_work(void *arg)
{
	struct ca_registrar_job *j = arg;

	j->rc = fileload_read(j->path, CA_REGISTRAR_FILE_MAX, &j->text, &j->len, &j->fail);
}

static void registrar_job_discard(void *arg)
{
	struct ca_registrar_job *j = arg;

	free(j->text);
	free(j);
}

/* "host:port" or "[v6]:port" (one line, CR/LF stripped) → t->host, t->port; 0 or -1. */
static int parse_recorded(struct clientauth_txn *t, const char *text, size_t len)
{
	char line[CA_REGISTRAR_FILE_MAX + 1];
	const char *colon, *host = line;
	size_t n = strcspn(text, "\r\n"), hl;
	uint64_t port;

	if (n > len)
		n = len;
	if (n == 0 || n >= sizeof line)
		return -1;
	memcpy(line, text, n);
	line[n] = '\0';
	colon = strrchr(line, ':');
	if (colon == NULL || cfg_walk_parse_uint(colon + 1, 65535, &port) == -1 || port == 0)
		return -1;
	hl = (size_t)(colon - line);
	if (line[0] == '[') {
		if (hl < 3 || line[hl - 1] != ']')
			return -1;
		host = line + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof t->host || memchr(host, ' ', hl) != NULL)
		return -1;
	snprintf(t->host, sizeof t->host, "%.*s", (int)hl, host);
	t->port = (unsigned)port;
	return 0;
}

static enum step_ret registrar_recorded(struct clientauth_txn *t, struct ca_registrar_job *j)
{
	const char *name = t->spec->registrar.from;
	char why[160];

	if (j->rc == -1 && j->fail.why == FILELOAD_UNREADABLE && j->fail.err == ENOENT)
		return ca_fail(t, TXN_REGISTRAR_NOT_DISCOVERED,
		               "registrar not yet discovered by %s (no %s yet)", name, j->path);
	if (j->rc == -1)
		return ca_fail(t, TXN_PROBE_FILE_UNREADABLE, "%s: %s", j->path,
		               fileload_describe(&j->fail, CA_REGISTRAR_FILE_MAX, why, sizeof why));
	if (parse_recorded(t, j->text, j->len) == -1)
		return ca_fail(t, TXN_REGISTRAR_NOT_DISCOVERED,
		               "registrar not yet discovered by %s (%s holds no host:port)", name,
		               j->path);
	snprintf(t->verify_name, sizeof t->verify_name, "%s",
	         t->spec->registrar.tls_name != NULL ? t->spec->registrar.tls_name : t->host);
	txn_step_end(&t->result, t->step, TXN_OK, "%s:%u, as %s recorded it", t->host, t->port,
	             name);
	/* then the certificate, as for any registrar; the host is known */
	t->state = CA_CERT;
	return STEP_CONTINUE;
}

static void registrar_job_done(void *arg)
{
	struct ca_registrar_job *j = arg;
	struct clientauth_txn *t = j->t;

	if (t == NULL || t->state != CA_REGISTRAR_FROM) {
		registrar_job_discard(j);
		return;
	}
	t->reg_done = j; /* the CA_REGISTRAR_FROM step takes it */
	ca_resume(t);
}

/* Read what registrar.from's phone-bootstrap recorded, off the loop. */
static enum step_ret step_registrar_from(struct clientauth_txn *t)
{
	struct ca_registrar_job *j = xcalloc(1, sizeof *j);
	char dir[600];
	enum step_ret r;

	t->step = txn_step_begin(&t->result, "registrar");
	txn_state_dir(t->env.state_dir, t->spec->registrar.from, dir, sizeof dir);
	snprintf(j->path, sizeof j->path, "%s/%s", dir, TXN_STATE_REGISTRAR);
	if (t->env.files == NULL) {
		/* no worker (a test's env): read here */
		registrar_job_work(j);
		r = registrar_recorded(t, j);
		registrar_job_discard(j);
		return r;
	}
	j->t = t;
	t->reg_job = j;
	t->waiting = true;
	offload_submit(t->env.files, j, registrar_job_work, registrar_job_done,
	               registrar_job_discard);
	return STEP_WAIT;
}

static void on_conn(struct tls_conn *c, enum tls_event ev, void *arg);

static enum step_ret step_connect(struct clientauth_txn *t)
{
	char astr[80];

	ca_addr_string(&t->addr, astr, sizeof astr);
	txn_result_fact(&t->result, "registrar", "%s:%u", t->host, t->port);
	txn_result_fact(&t->result, "address", "%s", astr);
	t->step = txn_step_begin(&t->result, "connect");
	t->conn_failed = t->conn_eof = false;
	t->have_response = t->bad_response = false;
	t->conn = tls_conn_start(t->env.base, t->tls, (const struct sockaddr *)&t->addr.sa,
	                         t->addr.len, t->verify_name, on_conn, t);
	t->waiting = true;
	return STEP_WAIT;
}

static void record_peer(struct clientauth_txn *t)
{
	const struct tls_peer_info *pi = tls_conn_peer(t->conn);

	if (!pi->have_leaf)
		return;
	txn_result_fact(&t->result, "server_subject", "%s", pi->leaf.subject);
	txn_result_fact(&t->result, "server_issuer", "%s", pi->leaf.issuer);
	txn_result_fact(&t->result, "server_serial", "%s", pi->leaf.serial);
	txn_result_fact(&t->result, "server_not_before", "%s", pi->leaf.not_before);
	txn_result_fact(&t->result, "server_not_after", "%s", pi->leaf.not_after);
	txn_result_fact(&t->result, "server_fingerprint", "%s", pi->leaf.fingerprint);
	if (pi->leaf.names[0] != '\0')
		txn_result_fact(&t->result, "server_names", "%s", pi->leaf.names);
	txn_result_fact(&t->result, "server_chain", "%d sent: %s", pi->chain_len, pi->chain);
}

/* The connection failed: which step it hurts and how. */
static enum step_ret conn_error(struct clientauth_txn *t)
{
	char detail[TXN_DETAIL_LEN];
	enum txn_status st = tls_conn_error(t->conn, detail, sizeof detail);

	record_peer(t);
	if (t->state == CA_UNREGISTER) {
		txn_step_end(&t->result, t->step, TXN_REGISTRAR_UNREGISTER_FAILED, "%s", detail);
		txn_result_finding(&t->result, TXN_REGISTRAR_UNREGISTER_FAILED, "%s", detail);
		return STEP_DONE;
	}
	if (st == TXN_CLIENT_CERT_EXPIRED && t->has_client && t->client.seconds_left < 0) {
		size_t n = strlen(detail);
		snprintf(detail + n, sizeof detail - n, "; our certificate expired %s",
		         t->client.not_after);
	}
	return ca_fail(t, st, "%s", detail);
}

/* ---- SIP ---- */

int ca_send_request(struct clientauth_txn *t, const char *method, int expires,
                    const char *authorization)
{
	const struct tls_peer_info *pi = tls_conn_peer(t->conn);
	char ruri[300], branch[24], ua[48];
	struct sip_request_params p;
	struct bbuf out;
	int rc;

	snprintf(ruri, sizeof ruri, "sip:%s", t->domain);
	ca_token(branch, 16);
	snprintf(ua, sizeof ua, "certprobe/%s", CERTPROBE_VERSION);
	if (t->contact[0] == '\0')
		snprintf(t->contact, sizeof t->contact, "sip:%s@%s%s%s:%u;transport=tls", t->user,
		         strchr(pi->local_ip, ':') ? "[" : "", pi->local_ip,
		         strchr(pi->local_ip, ':') ? "]" : "", pi->local_port);
	memset(&p, 0, sizeof p);
	p.method = method;
	p.request_uri = ruri;
	p.from_uri = t->spec->sip_uri;
	p.to_uri = t->spec->sip_uri;
	p.contact_uri = strcmp(method, "REGISTER") == 0 ? t->contact : NULL;
	p.expires = expires;
	p.call_id = t->call_id;
	p.from_tag = t->from_tag;
	p.branch = branch;
	p.cseq = ++t->cseq;
	p.via_host = pi->local_ip;
	p.via_port = pi->local_port;
	p.user_agent = ua;
	p.authorization = authorization;
	bbuf_init(&out, 32768);
	rc = sip_request_build(&out, &p);
	if (rc == 0) {
		/* a TLS-DSK request holds signatures and handshake records: its first line only */
		if (authorization != NULL)
			log_debug("sip: > %.*s (TLS-DSK)",
			          (int)strcspn((const char *)out.data, "\r"),
			          (const char *)out.data);
		else
			log_debug("sip: > %s", (const char *)out.data);
		rc = tls_conn_send(t->conn, out.data, out.len);
	}
	bbuf_free(&out);
	return rc;
}

/* Parse what arrived; true when a final response for our CSeq is in t->resp. */
static bool take_response(struct clientauth_txn *t)
{
	struct bbuf *in = tls_conn_input(t->conn);

	for (;;) {
		struct sip_response r;
		size_t used = 0;
		char err[160] = "";
		enum sip_parse_ret ret =
		    sip_response_parse(in->data, in->len, &r, &used, err, sizeof err);

		if (ret == SIP_PARSE_INCOMPLETE) {
			if (used > 0) {
				memmove(in->data, in->data + used, in->len - used);
				in->len -= used;
			}
			return false;
		}
		if (ret != SIP_PARSE_OK) {
			t->bad_response = true;
			snprintf(t->bad_why, sizeof t->bad_why, "%s%s",
			         ret == SIP_PARSE_TOOBIG ? "response too large: " : "", err);
			return true;
		}
		if (t->spec->auth == CLIENTAUTH_AUTH_TLS_DSK && r.code >= 200) {
			bbuf_reset(&t->raw);
			bbuf_append(&t->raw, in->data, used);
		}
		memmove(in->data, in->data + used, in->len - used);
		in->len -= used;
		log_debug("sip: < %u %s", r.code, r.reason);
		if (strcmp(r.call_id, t->call_id) != 0 || r.cseq != t->cseq) {
			t->bad_response = true;
			snprintf(
			    t->bad_why, sizeof t->bad_why,
			    "a response for another request (Call-ID %.40s, CSeq %u; sent CSeq %u)",
			    r.call_id, r.cseq, t->cseq);
			return true;
		}
		if (r.code < 200)
			continue; /* provisional */
		t->resp = r;
		t->have_response = true;
		return true;
	}
}

static void on_conn(struct tls_conn *c, enum tls_event ev, void *arg)
{
	struct clientauth_txn *t = arg;

	(void)c;
	switch (ev) {
	case TLS_EV_CONNECTED:
		txn_step_end(&t->result, t->step, TXN_OK, "TCP connected from %s:%u",
		             tls_conn_peer(c)->local_ip, tls_conn_peer(c)->local_port);
		t->state = CA_HANDSHAKE;
		t->step = txn_step_begin(&t->result, "tls_handshake");
		return;
	case TLS_EV_HANDSHAKE_DONE:
		t->state = CA_REQUEST;
		ca_resume(t);
		return;
	case TLS_EV_DATA:
		if ((t->state == CA_REQUEST || t->state == CA_UNREGISTER) && t->waiting &&
		    take_response(t))
			ca_resume(t);
		return;
	case TLS_EV_EOF:
		t->conn_eof = true;
		if (t->waiting)
			ca_resume(t);
		return;
	case TLS_EV_ERROR:
		t->conn_failed = true;
		if (t->waiting)
			ca_resume(t);
		return;
	}
}

static enum step_ret step_handshake_done(struct clientauth_txn *t)
{
	const struct tls_peer_info *pi = tls_conn_peer(t->conn);

	record_peer(t);
	txn_result_fact(&t->result, "tls", "%s %s", pi->version, pi->cipher);
	txn_step_end(&t->result, t->step, TXN_OK, "%s %s; server '%s' verified for %s", pi->version,
	             pi->cipher, pi->leaf.subject, t->verify_name);
	return STEP_CONTINUE;
}

static void response_text(const struct sip_response *r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%u %s", r->code, r->reason);

	if (n > 0 && (size_t)n < len && r->warning[0] != '\0')
		n += snprintf(buf + n, len - (size_t)n, "; Warning: %s", r->warning);
	if (n > 0 && (size_t)n < len && r->ms_diagnostics[0] != '\0')
		n += snprintf(buf + n, len - (size_t)n, "; ms-diagnostics: %s", r->ms_diagnostics);
	if (n > 0 && (size_t)n < len && r->retry_after >= 0)
		snprintf(buf + n, len - (size_t)n, "; Retry-After: %d s", r->retry_after);
}

enum txn_status ca_sip_status(const struct sip_response *r)
{
	switch (r->code) {
	case 401:
	case 407:
		return r->tls_dsk_offered ? TXN_REGISTRAR_TLS_DSK_REQUIRED
		                          : TXN_REGISTRAR_UNAUTHORIZED;
	case 403:
		return TXN_REGISTRAR_AUTH_REJECTED;
	case 404:
		return TXN_REGISTRAR_USER_NOT_FOUND;
	case 408:
		return TXN_REGISTRAR_REQUEST_TIMEOUT;
	case 480:
		return TXN_REGISTRAR_USER_UNAVAILABLE;
	case 503:
		return TXN_REGISTRAR_UNAVAILABLE;
	case 504:
		return TXN_REGISTRAR_SERVER_TIMEOUT;
	default:
		return TXN_REGISTRAR_STATUS;
	}
}

/* 301/302: the Contact names the home pool; go there. */
static enum step_ret follow_redirect(struct clientauth_txn *t, const char *text)
{
	const char *uri = t->resp.contact_uri, *p, *hend;
	char host[256];
	unsigned port = 5061;

	if (++t->redirects > CA_MAX_REDIRECTS)
		return ca_fail(t, TXN_REGISTRAR_REDIRECT, "more than %d redirects (last: %s -> %s)",
		               CA_MAX_REDIRECTS, text, uri);
	if (strncasecmp(uri, "sip:", 4) != 0 && strncasecmp(uri, "sips:", 5) != 0)
		return ca_fail(t, TXN_REGISTRAR_REDIRECT, "%s without a usable sip: Contact ('%s')",
		               text, uri);
	p = strchr(uri, ':') + 1;
	if (strchr(p, '@') != NULL && strchr(p, '@') < p + strcspn(p, ";?"))
		p = strchr(p, '@') + 1;
	if (*p == '[') {
		hend = strchr(p, ']');
		if (hend == NULL)
			return ca_fail(t, TXN_REGISTRAR_REDIRECT, "%s with a bad Contact '%s'",
			               text, uri);
		snprintf(host, sizeof host, "%.*s", (int)(hend - p - 1), p + 1);
		p = hend + 1;
	} else {
		size_t n = strcspn(p, ":;?");
		snprintf(host, sizeof host, "%.*s", (int)n, p);
		p += n;
	}
	if (*p == ':') {
		char *end;
		unsigned long v = strtoul(p + 1, &end, 10);
		if (v == 0 || v > 65535)
			return ca_fail(t, TXN_REGISTRAR_REDIRECT, "%s with a bad port in '%s'",
			               text, uri);
		port = (unsigned)v;
	}
	if (host[0] == '\0')
		return ca_fail(t, TXN_REGISTRAR_REDIRECT, "%s with a bad Contact '%s'", text, uri);
	txn_step_end(&t->result, t->step, TXN_OK, "%s -> %s", text, uri);
	txn_result_fact(&t->result, "redirected_to", "%s", uri);
	tls_conn_close(t->conn);
	t->conn = NULL;
	snprintf(t->host, sizeof t->host, "%s", host);
	t->port = port;
	if (t->spec->registrar.tls_name == NULL)
		snprintf(t->verify_name, sizeof t->verify_name, "%s", host);
	t->contact[0] = '\0';
	t->cseq = 0;
	t->state = CA_RESOLVE;
	return STEP_CONTINUE;
}

static enum step_ret step_request_send(struct clientauth_txn *t)
{
	bool reg = t->spec->sip_method == SIP_METHOD_REGISTER;

	t->step = txn_step_begin(&t->result, reg ? "register" : "options");
	if (ca_send_request(t, reg ? "REGISTER" : "OPTIONS", reg ? (int)t->spec->expires : -1,
	                    NULL) == -1)
		return ca_fail(t, TXN_PROBE_INTERNAL, "cannot build or send the SIP request");
	t->waiting = true;
	return STEP_WAIT;
}

/* After REGISTER/OPTIONS: what arrived (or did not). */
static enum step_ret step_request_done(struct clientauth_txn *t)
{
	bool reg = t->spec->sip_method == SIP_METHOD_REGISTER;
	char text[TXN_DETAIL_LEN];

	if (t->bad_response)
		return ca_fail(t, TXN_REGISTRAR_PROTOCOL, "%s", t->bad_why);
	if (!t->have_response) {
		if (t->conn_failed)
			return conn_error(t);
		return ca_fail(t, TXN_REGISTRAR_CLOSED,
		               "the registrar closed the connection without answering the %s",
		               reg ? "REGISTER" : "OPTIONS");
	}
	response_text(&t->resp, text, sizeof text);
	txn_result_fact(&t->result, "sip_status", "%u %s", t->resp.code, t->resp.reason);
	if (t->resp.server[0] != '\0')
		txn_result_fact(&t->result, "sip_server", "%s", t->resp.server);
	if (t->resp.code == 301 || t->resp.code == 302)
		return follow_redirect(t, text);
	if (t->spec->auth == CLIENTAUTH_AUTH_TLS_DSK)
		return ca_dsk_response(t, text);
	if (t->resp.code >= 300) {
		if (t->resp.www_authenticate[0] != '\0')
			txn_result_fact(&t->result, "www_authenticate", "%s",
			                t->resp.www_authenticate);
		return ca_fail(t, ca_sip_status(&t->resp), "%s", text);
	}
	if (!reg) {
		txn_step_end(&t->result, t->step, TXN_OK, "%s", text);
		return STEP_DONE;
	}
	if (t->resp.contact_expires >= 0 || t->resp.expires >= 0)
		txn_step_end(&t->result, t->step, TXN_OK, "%s; binding expires in %d s", text,
		             t->resp.contact_expires >= 0 ? t->resp.contact_expires
		                                          : t->resp.expires);
	else
		txn_step_end(&t->result, t->step, TXN_OK, "%s", text);
	t->state = CA_UNREGISTER;
	return STEP_CONTINUE;
}

static enum step_ret step_unregister_send(struct clientauth_txn *t)
{
	t->step = txn_step_begin(&t->result, "unregister");
	t->have_response = t->bad_response = false;
	t->unreg_sent = true;
	if (ca_send_request(t, "REGISTER", 0, ca_dsk_authorization(t, "REGISTER", 0)) == -1) {
		txn_step_end(&t->result, t->step, TXN_REGISTRAR_UNREGISTER_FAILED,
		             "cannot send the un-REGISTER");
		txn_result_finding(&t->result, TXN_REGISTRAR_UNREGISTER_FAILED,
		                   "cannot send the un-REGISTER");
		return STEP_DONE;
	}
	t->waiting = true;
	return STEP_WAIT;
}

static enum step_ret step_unregister_done(struct clientauth_txn *t)
{
	char text[TXN_DETAIL_LEN];

	if (t->have_response && t->resp.code < 300) {
		char why[TXN_DETAIL_LEN];
		enum txn_status st = ca_dsk_unregister_check(t, why, sizeof why);
		response_text(&t->resp, text, sizeof text);
		if (st != TXN_OK) {
			txn_step_end(&t->result, t->step, st, "%s: %s", text, why);
			txn_result_finding(&t->result, st, "un-REGISTER %s: %s", text, why);
			return STEP_DONE;
		}
		txn_step_end(&t->result, t->step, TXN_OK, "%s; binding removed", text);
		return STEP_DONE;
	}
	if (t->have_response)
		response_text(&t->resp, text, sizeof text);
	else if (t->bad_response)
		snprintf(text, sizeof text, "bad response: %s", t->bad_why);
	else if (t->conn_failed)
		return conn_error(t);
	else
		snprintf(text, sizeof text, "the registrar closed the connection");
	txn_step_end(&t->result, t->step, TXN_REGISTRAR_UNREGISTER_FAILED, "%s", text);
	txn_result_finding(&t->result, TXN_REGISTRAR_UNREGISTER_FAILED,
	                   "un-REGISTER: %s; binding "
	                   "stays for up to %u s",
	                   text, t->spec->expires);
	return STEP_DONE;
}

/* ---- the machine ---- */

static enum step_ret txn_step(struct clientauth_txn *t)
{
	switch (t->state) {
	case CA_CERT: {
		enum step_ret r = step_cert(t);
		if (r != STEP_CONTINUE)
			return r;
		if (t->spec->registrar.discover == REGISTRAR_FROM) {
			t->state = CA_RESOLVE; /* the registrar step set host and port */
			return STEP_CONTINUE;
		}
		if (t->spec->registrar.discover == REGISTRAR_DNS) {
			t->state = CA_DISCOVER;
			return ca_discover_start(t);
		}
		snprintf(t->host, sizeof t->host, "%s", t->spec->registrar.host);
		t->port = t->spec->registrar.port;
		snprintf(t->verify_name, sizeof t->verify_name, "%s",
		         t->spec->registrar.tls_name != NULL ? t->spec->registrar.tls_name
		                                             : t->host);
		t->state = CA_RESOLVE;
		return STEP_CONTINUE;
	}
	case CA_REGISTRAR_FROM: {
		struct ca_registrar_job *j = t->reg_done;
		enum step_ret r;
		if (j == NULL && t->reg_job == NULL)
			return step_registrar_from(t);
		if (j == NULL)
			return STEP_WAIT; /* registrar_job_done() resumes */
		t->reg_done = NULL;
		t->reg_job = NULL;
		r = registrar_recorded(t, j);
		registrar_job_discard(j);
		return r;
	}
	case CA_DISCOVER:
		return ca_discover_done(t);
	case CA_FALLBACK:
		return ca_fallback_done(t);
	case CA_RESOLVE:
		t->have_addr = false;
		return ca_resolve(t);
	case CA_CONNECT:
		if (t->conn == NULL)
			return step_connect(t);
		if (t->conn_failed)
			return conn_error(t);
		return ca_fail(t, TXN_TCP_ERROR, "the connection closed before TLS started");
	case CA_HANDSHAKE:
		/* only reached through an error or EOF before the handshake completed */
		if (t->conn_failed)
			return conn_error(t);
		return ca_fail(t, TXN_TLS_HANDSHAKE,
		               "the server closed the connection during the "
		               "handshake");
	case CA_REQUEST:
		if (t->conn_failed && !t->have_response && t->cseq == 0)
			return conn_error(t);
		if (t->cseq == 0) {
			enum step_ret r = step_handshake_done(t);
			if (r != STEP_CONTINUE)
				return r;
			ca_token(t->call_id, 24);
			ca_token(t->from_tag, 12);
			if (t->spec->auth == CLIENTAUTH_AUTH_TLS_DSK)
				return ca_dsk_start(t);
			return step_request_send(t);
		}
		return step_request_done(t);
	case CA_UNREGISTER:
		if (!t->unreg_sent)
			return step_unregister_send(t);
		return step_unregister_done(t);
	case CA_DONE:
		return STEP_DONE;
	}
	return STEP_DONE;
}

static void txn_run(struct clientauth_txn *t)
{
	enum step_ret r;

	if (t->state == CA_DONE)
		return;
	do {
		r = txn_step(t);
	} while (r == STEP_CONTINUE && t->state != CA_DONE);
	if (r == STEP_DONE)
		ca_finish(t);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	txn_run(arg);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct clientauth_txn *t = arg;
	double secs = (double)t->conf->timeout_ms / 1000.0;

	(void)fd;
	(void)what;
	switch (t->state) {
	case CA_REGISTRAR_FROM:
		ca_fail(t, TXN_PROBE_FILE_UNREADABLE,
		        "the registrar %s recorded was not read within %.1f s (the probe's file "
		        "loader is busy or its disk hangs)",
		        t->spec->registrar.from, secs);
		break;
	case CA_CERT:
		/* the probe's own files: never the registrar's fault */
		ca_fail(t, TXN_PROBE_FILE_UNREADABLE,
		        "the trust store and certificate files were not read within %.1f s (the "
		        "probe's file loader is busy or its disk hangs)",
		        secs);
		break;
	case CA_DISCOVER:
	case CA_FALLBACK:
	case CA_RESOLVE:
		ca_fail(t, TXN_DNS_NO_ANSWER, "DNS did not answer within %.1f s", secs);
		break;
	case CA_CONNECT:
		ca_fail(t, TXN_TCP_UNREACHABLE,
		        "TCP connect to %s:%u did not complete within %.1f s", t->host, t->port,
		        secs);
		break;
	case CA_HANDSHAKE:
		ca_fail(t, TXN_TIMEOUT,
		        "the TLS handshake with %s:%u did not complete within %.1f s "
		        "(the registrar accepted TCP but stalled)",
		        t->host, t->port, secs);
		break;
	case CA_REQUEST:
		if (t->dsk != NULL) {
			ca_dsk_deadline(t, secs);
			break;
		}
		ca_fail(t, TXN_TIMEOUT,
		        "no SIP answer to the %s within %.1f s (the registrar "
		        "completed TLS but stalled)",
		        t->spec->sip_method == SIP_METHOD_REGISTER ? "REGISTER" : "OPTIONS", secs);
		break;
	case CA_UNREGISTER:
		txn_step_end(&t->result, t->step, TXN_REGISTRAR_UNREGISTER_FAILED,
		             "no answer before the deadline");
		txn_result_finding(&t->result, TXN_REGISTRAR_UNREGISTER_FAILED,
		                   "no answer to the un-REGISTER; binding stays for up to %u s",
		                   t->spec->expires);
		break;
	default:
		ca_fail(t, TXN_TIMEOUT, "no result within %.1f s", secs);
		break;
	}
	ca_finish(t);
}

static void *clientauth_txn_start(const struct txn_env *env, const struct txn_conf *conf,
                                  txn_done_cb *cb, void *arg)
{
	struct clientauth_txn *t = xcalloc(1, sizeof *t);
	struct timeval tv;

	t->env = *env;
	t->conf = conf;
	t->spec = conf->spec;
	t->cb = cb;
	t->arg = arg;
	split_sip_uri(t->spec->sip_uri, t->user, sizeof t->user, t->domain, sizeof t->domain);
	bbuf_init(&t->raw, SIP_MAX_HEADER_BYTES + SIP_MAX_BODY + 8);
	txn_result_init_for(&t->result, conf);
	t->timer = evtimer_new(env->base, on_deadline, t);
	t->kick = evtimer_new(env->base, on_kick, t);
	tv.tv_sec = (time_t)(conf->timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(conf->timeout_ms % 1000) * 1000;
	evtimer_add(t->timer, &tv);
	/* registrar: {from: NAME}: what NAME recorded comes first, so that a bootstrap that has
	 * not run yet reads as such rather than as a missing certificate */
	t->state = t->spec->registrar.discover == REGISTRAR_FROM ? CA_REGISTRAR_FROM : CA_CERT;
	ca_kick(t);
	return t;
}

static void clientauth_txn_free(void *run)
{
	struct clientauth_txn *t = run;

	if (t == NULL)
		return;
	for (size_t i = 0; i < sizeof t->lookups / sizeof t->lookups[0]; i++)
		dns_cancel(t->lookups[i].q);
	dns_cancel(t->resolve_q);
	if (t->reg_job != NULL && t->reg_done == NULL)
		t->reg_job->t = NULL; /* the queue owns it: done() frees it */
	if (t->reg_done != NULL)
		registrar_job_discard(t->reg_done);
	tls_ctx_cancel(t->env.tls, t);
	tls_conn_close(t->conn);
	ca_dsk_free(t);
	bbuf_free(&t->raw);
	event_free(t->timer);
	event_free(t->kick);
	free(t);
}

/* ---------------------------------------------------------------- the type */

static const char *clientauth_protocol(const struct txn_conf *conf)
{
	const struct clientauth_conf *cc = conf->spec;

	if (cc->auth == CLIENTAUTH_AUTH_TLS_DSK)
		return "sip-tls-dsk";
	return cc->sip_method == SIP_METHOD_REGISTER ? "sip-register" : "sip-options";
}

/* The registrar: "host:port", or the SIP domain its records are discovered in. */
static void clientauth_endpoint(const struct txn_conf *conf, char *key, size_t len,
                                enum endpoint_kind *kind)
{
	const struct clientauth_conf *cc = conf->spec;

	if (cc->registrar.discover == REGISTRAR_DNS)
		snprintf(key, len, "%s", cc->registrar.domain);
	else if (cc->registrar.discover == REGISTRAR_FROM && cc->registrar.from_configured != NULL)
		snprintf(key, len, "%s", cc->registrar.from_configured);
	else if (cc->registrar.discover == REGISTRAR_FROM)
		snprintf(key, len, "registrar of %s", cc->registrar.from);
	else
		snprintf(key, len, "%s:%u", cc->registrar.host, cc->registrar.port);
	*kind = ENDPOINT_KIND_REGISTRAR;
}

static const char *clientauth_depends_on(const struct txn_conf *conf)
{
	const struct clientauth_conf *cc = conf->spec;

	/* the loader holds registrar.from to certificate.from when both are given */
	return cc->certificate.from != NULL ? cc->certificate.from : cc->registrar.from;
}

static void clientauth_describe(const struct txn_conf *conf, char *buf, size_t len)
{
	const struct clientauth_conf *cc = conf->spec;

	if (cc->registrar.discover == REGISTRAR_DNS)
		snprintf(buf, len, "%s via DNS (%s)", cc->sip_uri, cc->registrar.domain);
	else if (cc->registrar.discover == REGISTRAR_FROM)
		snprintf(buf, len, "%s at the registrar %s recorded", cc->sip_uri,
		         cc->registrar.from);
	else
		snprintf(buf, len, "%s at %s:%u", cc->sip_uri, cc->registrar.host,
		         cc->registrar.port);
}

static const char *const clientauth_steps[] = {
    "certificate", "discover", "discover_fallback", "resolve",   "connect",       "tls_handshake",
    "register",    "options",  "unregister",        "challenge", "dsk_handshake", "registrar",
    NULL,
};

const struct txn_type clientauth_txn_type = {
    .name = "client-auth",
    .protocol = clientauth_protocol,
    .endpoint = clientauth_endpoint,
    .depends_on = clientauth_depends_on,
    .describe = clientauth_describe,
    .start = clientauth_txn_start,
    .free = clientauth_txn_free,
    .steps = clientauth_steps,
    .keys = clientauth_conf_keys,
    .conf_new = clientauth_conf_new,
    .conf_free = clientauth_conf_free,
    .conf_check = clientauth_conf_check,
};
