/*
 * scep_txn: the SCEP enrollment step machine (see scep_txn.h). Each step returns
 * STEP_CONTINUE, STEP_WAIT (an HTTP answer or a poll timer resumes it) or STEP_DONE.
 * Every request's timeout is what is left of the one deadline. Failures are
 * classified where they are found, with the status table's words.
 */
#include "transactions/scep/scep_txn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "core/bbuf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/http_client.h"
#include "pki/keypool.h"
#include "pki/pki.h"
#include "pki/scep_ca.h"
#include "pki/scep_msg.h"
#include "core/offload.h"
#include "transactions/scep/ndes_admin.h"
#include "pki/scep_cache.h"
#include "transactions/scep/scep_caps.h"
#include "transactions/scep/scep_store.h"
#include "transactions/scep/scep_conf.h"
#include "transactions/thresholds.h"
#include "transactions/txn_state.h"

#define SCEP_CAPS_MAX (16 * 1024)
#define SCEP_CACERT_MAX (256 * 1024)
#define SCEP_CERTREP_MAX (256 * 1024)
#define SCEP_NDES_PAGE_MAX (256 * 1024)
#define SCEP_IIS_QUERY_LIMIT 2048
#define SCEP_PEM_MAX (1024 * 1024) /* an identity.pem: a key and a few certificates */

enum scep_step {
	SCEP_STEP_CHALLENGE,
	SCEP_STEP_CHALLENGE_REPLY,
	SCEP_STEP_CAPS,
	SCEP_STEP_CAPS_REPLY,
	SCEP_STEP_CACERT,
	SCEP_STEP_CACERT_REPLY,
	SCEP_STEP_REQUEST,
	SCEP_STEP_CERTREP,
	SCEP_STEP_POLL,
	SCEP_STEP_VERIFY,
	SCEP_STEP_STORE,
};

struct scep_txn {
	struct txn_env env;
	const struct txn_conf *conf;
	const struct scep_conf *spec; /* conf->spec */
	txn_done_cb *cb;
	void *arg;
	struct txn_result result;
	enum scep_step step;
	struct deadline deadline;
	struct event *deadline_ev;
	struct event *poll_ev;
	struct event *begin_ev; /* a reused key: begin from the loop */
	bool pending;           /* a PENDING CertRep moved the deadline to the polling budget */
	unsigned polls;

	/* the HTTP exchange in flight, and its answer */
	struct http_request *http;
	size_t http_step; /* record index */
	const char *http_what;
	long http_status;
	char http_ctype[128];
	char http_charset[32];
	struct bbuf body;
	size_t query_len; /* GET PKIOperation query length */

	/* keys and certificates */
	EVP_PKEY *key; /* the request's key */
	uint64_t key_gen_us;
	bool key_reused;
	unsigned key_runs; /* runs this key has served, this one included */
	EVP_PKEY *old_key; /* renewal: the key of the current certificate */
	X509 *old_cert;
	X509 *signer; /* self-signed, or old_cert for RenewalReq */
	EVP_PKEY *signer_key;
	X509_NAME *subject;
	char *challenge; /* wiped on free */
	unsigned caps;
	bool caps_known;
	struct scep_ca ca;
	char tid[80];
	unsigned char nonce[SCEP_NONCE_LEN];
	enum scep_message_type msg_type;
	const EVP_CIPHER *cipher;
	const EVP_MD *md;
	STACK_OF(X509) *issued_certs;
	X509 *issued;
	char dir[512];                /* state directory of this transaction */
	struct scep_cache *cache;     /* what earlier runs left in memory (loop-owned) */
	struct scep_store_job *store; /* the files being written on the worker, or NULL */
	bool finished;                /* the callback ran */
};

/*
 * The files of one run, written on the worker (env.files) so that no open, fsync or
 * rename runs on the loop. Everything the worker touches is copied in; t is the loop's
 * (NULL once the run is freed: the job is then only freed when it comes back).
 */
struct scep_store_job {
	struct scep_txn *t;
	struct scep_cache *cache; /* updated in done when everything was written */
	EVP_PKEY *key;            /* the key the files now hold (a reference), for the cache */
	unsigned key_runs;
	bool reuse; /* the key is kept for further runs */
	char state_dir[512], dir[512];
	bool mkdir;     /* make the directories first */
	bool drop_old;  /* unlink the old layout's two files */
	char *identity; /* identity.pem: key, certificate, chain (PEM); wiped */
	size_t identity_len;
	char *ca_pem;  /* ca.pem, or NULL: unchanged */
	char *key_pem; /* key.pem, or NULL: unchanged; wiped */
	size_t key_pem_len;
	char runs[32];  /* key-runs, or "": not kept */
	char caps[256]; /* caps, or "": unchanged */
	int err;        /* errno of the first failure, 0 = all written */
};

static void scep_run(struct scep_txn *t);

/* ---------------------------------------------------------------- ending */

static void scep_finish(struct scep_txn *t)
{
	t->finished = true;
	event_del(t->deadline_ev);
	event_del(t->poll_ev);
	http_request_cancel(t->http);
	t->http = NULL;
	txn_result_finish(&t->result);
	txn_apply_latency(&t->result, &t->conf->warn);
	t->cb(&t->result, t->arg);
}

static enum step_ret scep_fail(struct scep_txn *t, size_t step, enum txn_status st,
                               const char *detail)
{
	txn_step_end(&t->result, step, st, "%s", detail != NULL ? detail : "");
	txn_result_fail(&t->result, st, "%s", detail != NULL ? detail : "");
	return STEP_DONE;
}

static void scep_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scep_txn *t = arg;
	char detail[160];

	(void)fd;
	(void)what;
	if (t->pending) {
		snprintf(detail, sizeof detail, "still PENDING after %u poll(s) and %.0f s",
		         t->polls, (double)(clock_now_us() - t->result.start_us) / 1e6);
		txn_result_fail(&t->result, TXN_SCEP_PENDING_TIMEOUT, "%s", detail);
	} else {
		snprintf(detail, sizeof detail, "%s did not complete within the %.1f s deadline",
		         t->http_what != NULL ? t->http_what : "the transaction",
		         (double)t->conf->timeout_ms / 1000.0);
		txn_result_fail(&t->result, TXN_TIMEOUT, "%s", detail);
	}
	for (size_t i = 0; i < t->result.n_steps; i++)
		if (!t->result.steps[i].finished)
			txn_step_end(&t->result, i, t->result.status, "%s", detail);
	scep_finish(t);
}

static void scep_arm_deadline(struct scep_txn *t)
{
	uint64_t ms = deadline_remaining(&t->deadline);
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
	                     .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	event_add(t->deadline_ev, &tv);
}

/* ---------------------------------------------------------------- HTTP */

static void scep_http_done(struct http_response *resp, void *arg)
{
	struct scep_txn *t = arg;

	t->http = NULL;
	t->http_status = resp->status;
	if (resp->status > 0) /* the last answer's code: the SNMP result table's protocol code */
		txn_result_fact(&t->result, "http_status", "%ld", resp->status);
	snprintf(t->http_ctype, sizeof t->http_ctype, "%s", resp->content_type);
	snprintf(t->http_charset, sizeof t->http_charset, "%s", resp->charset);
	bbuf_free(&t->body);
	t->body = resp->body; /* take the buffer */
	bbuf_init(&resp->body, 0);
	if (resp->error != TXN_OK) {
		const char *what = t->http_what;
		if (resp->error == TXN_TIMEOUT)
			txn_result_fail(&t->result, TXN_TIMEOUT,
			                "%s did not complete within the deadline", what);
		else
			txn_result_fail(&t->result, resp->error, "%s: %s", what,
			                resp->error_detail);
		txn_step_end(&t->result, t->http_step, resp->error, "%s", resp->error_detail);
		scep_finish(t);
		return;
	}
	{
		char tls[48] = "";
		if (resp->tls_us > 0)
			snprintf(tls, sizeof tls, ", tls %.1f ms", (double)resp->tls_us / 1000.0);
		if (resp->reused_connection)
			txn_step_end(&t->result, t->http_step, TXN_OK,
			             "HTTP %ld, %zu bytes; first byte %.1f ms (reused connection)",
			             resp->status, t->body.len,
			             (double)resp->first_byte_us / 1000.0);
		else
			txn_step_end(&t->result, t->http_step, TXN_OK,
			             "HTTP %ld, %zu bytes; dns %.1f ms, connect %.1f ms%s, first "
			             "byte %.1f ms",
			             resp->status, t->body.len, (double)resp->dns_us / 1000.0,
			             (double)resp->connect_us / 1000.0, tls,
			             (double)resp->first_byte_us / 1000.0);
	}
	scep_run(t);
}

static void scep_http_start(struct scep_txn *t, const char *step_name, const char *what,
                            const struct http_request_opts *o_in)
{
	struct http_request_opts o = *o_in;

	o.timeout_ms = deadline_remaining(&t->deadline);
	if (o.timeout_ms == 0)
		o.timeout_ms = 1;
	if (o.trust_store == NULL)
		o.trust_store = t->spec->trust_store;
	t->http_what = what;
	t->http_step = txn_step_begin(&t->result, step_name);
	log_debug("%s: %s %s", t->conf->name, what, o.post ? "POST" : "GET");
	t->http = http_client_start(t->env.http, &o, scep_http_done, t);
}

/* HTTP status → status; 200 is TXN_OK. */
static enum txn_status scep_http_status(const struct scep_txn *t, bool get_pkiop)
{
	long s = t->http_status;

	if (s == 200)
		return TXN_OK;
	if (s == 404 && get_pkiop &&
	    (t->query_len > SCEP_IIS_QUERY_LIMIT ||
	     (t->body.data != NULL && strstr((const char *)t->body.data, "404.15") != NULL)))
		return TXN_HTTP_QUERY_TOO_LONG;
	if (s == 404)
		return TXN_HTTP_NOT_FOUND;
	if (s == 405 || s == 501)
		return TXN_HTTP_METHOD_REJECTED;
	if (s == 401 || s == 403 || s == 407)
		return TXN_HTTP_AUTH_REJECTED;
	if (s >= 500 && s <= 599)
		return TXN_HTTP_SERVER_ERROR;
	return TXN_HTTP_STATUS;
}

static char *scep_op_url(const struct scep_txn *t, const char *op, const char *message)
{
	const char *url = t->spec->url;
	const char *sep = strchr(url, '?') != NULL ? "&" : "?";
	char *esc, *u;

	if (message == NULL)
		return xasprintf("%s%soperation=%s", url, sep, op);
	esc = http_query_escape(message);
	u = xasprintf("%s%soperation=%s&message=%s", url, sep, op, esc);
	free(esc);
	return u;
}

/* ---------------------------------------------------------------- steps */

static enum step_ret scep_step_challenge(struct scep_txn *t)
{
	const struct challenge_conf *c = &t->spec->challenge;
	char err[200];
	size_t i;

	if (c->kind == CHALLENGE_NONE) {
		t->step = SCEP_STEP_CAPS;
		return STEP_CONTINUE;
	}
	if (c->kind == CHALLENGE_STATIC) {
		i = txn_step_begin(&t->result, "challenge");
		if (secret_resolve(&c->secret, &t->challenge, err, sizeof err) == -1)
			return scep_fail(t, i, TXN_PROBE_SECRET_UNAVAILABLE, err);
		txn_step_end(&t->result, i, TXN_OK, "static challenge read");
		t->step = SCEP_STEP_CAPS;
		return STEP_CONTINUE;
	}
	{
		struct http_request_opts o = {.url = c->ndes.url,
		                              .max_body = SCEP_NDES_PAGE_MAX,
		                              .auth = HTTP_AUTH_WINDOWS,
		                              .username = c->ndes.username};
		char *password = NULL;
		if (c->ndes.password.source != SECRET_NONE &&
		    secret_resolve(&c->ndes.password, &password, err, sizeof err) == -1) {
			i = txn_step_begin(&t->result, "ndes_admin");
			return scep_fail(t, i, TXN_PROBE_SECRET_UNAVAILABLE, err);
		}
		o.password = password;
		if (c->ndes.username == NULL)
			o.auth = HTTP_AUTH_NONE;
		scep_http_start(t, "ndes_admin", "the NDES mscep_admin page", &o);
		secret_wipe_free(password);
		t->step = SCEP_STEP_CHALLENGE_REPLY;
		return STEP_WAIT;
	}
}

static enum step_ret scep_step_challenge_reply(struct scep_txn *t)
{
	enum txn_status st = scep_http_status(t, false);
	char pw[128];
	char detail[120];

	if (st != TXN_OK) {
		snprintf(detail, sizeof detail, "the mscep_admin page answered HTTP %ld",
		         t->http_status);
		return scep_fail(t, t->http_step, st, detail);
	}
	st = ndes_admin_parse(t->body.data, t->body.len, t->http_charset, pw, sizeof pw);
	if (st != TXN_OK)
		return scep_fail(t, t->http_step, st, NULL);
	t->challenge = xstrdup(pw);
	explicit_bzero(pw, sizeof pw);
	txn_result_fact(&t->result, "challenge", "one-time password from the NDES admin page");
	t->step = SCEP_STEP_CAPS;
	return STEP_CONTINUE;
}

static enum step_ret scep_step_caps(struct scep_txn *t)
{
	char *url = scep_op_url(t, "GetCACaps", t->spec->ca_identifier);
	struct http_request_opts o = {.url = url, .max_body = SCEP_CAPS_MAX};

	scep_http_start(t, "getcacaps", "GetCACaps", &o);
	free(url);
	t->step = SCEP_STEP_CAPS_REPLY;
	return STEP_WAIT;
}

static enum step_ret scep_step_caps_reply(struct scep_txn *t)
{
	char caps[256];
	const char *body = (const char *)t->body.data;
	struct scep_cache *c = t->cache;

	if (t->http_status != 200 || t->body.len == 0 || (body != NULL && body[0] == '<')) {
		/* RFC: no capabilities. Fall back to 3DES/SHA-1 and say so. */
		t->caps = 0;
		txn_result_finding(&t->result, TXN_SCEP_CAPS_MISSING,
		                   "GetCACaps answered HTTP %ld, %zu bytes", t->http_status,
		                   t->body.len);
	} else {
		t->caps = scep_caps_parse(body, t->body.len);
		t->caps_known = true;
	}
	scep_caps_string(t->caps, caps, sizeof caps);
	txn_result_fact(&t->result, "caps", "%s", caps);
	if (!c->caps_read) {
		/* once after a start; from then on the file holds what we last stored */
		if (scep_store_read(t->dir, "caps", c->caps, sizeof c->caps) == -1)
			c->caps[0] = '\0';
		c->caps_read = true;
	}
	if (t->caps_known && c->caps[0] != '\0' && strcmp(c->caps, caps) != 0)
		txn_result_finding(&t->result, TXN_SCEP_CAPS_CHANGED, "was %s, now %s", c->caps,
		                   caps);
	t->step = SCEP_STEP_CACERT;
	return STEP_CONTINUE;
}

static enum step_ret scep_step_cacert(struct scep_txn *t)
{
	char *url = scep_op_url(t, "GetCACert", t->spec->ca_identifier);
	struct http_request_opts o = {.url = url, .max_body = SCEP_CACERT_MAX};

	scep_http_start(t, "getcacert", "GetCACert", &o);
	free(url);
	t->step = SCEP_STEP_CACERT_REPLY;
	return STEP_WAIT;
}

static enum step_ret scep_step_cacert_reply(struct scep_txn *t)
{
	enum txn_status st = scep_http_status(t, false);
	char detail[TXN_DETAIL_LEN], name[160], fp[80];
	long expiring;

	if (st != TXN_OK) {
		snprintf(detail, sizeof detail, "GetCACert answered HTTP %ld", t->http_status);
		return scep_fail(t, t->http_step, st, detail);
	}
	if (t->cache->ca_body != NULL && t->cache->ca_body_len == t->body.len &&
	    memcmp(t->cache->ca_body, t->body.data, t->body.len) == 0) {
		/* the bytes of the last run: its parse, not another one */
		scep_ca_dup(&t->cache->ca, &t->ca);
	} else {
		scep_cache_forget_ca(t->cache);
		st = scep_ca_parse(t->body.data, t->body.len, &t->ca, detail, sizeof detail);
		if (st != TXN_OK)
			return scep_fail(t, t->http_step, st, detail);
		t->cache->ca_body = xmalloc(t->body.len > 0 ? t->body.len : 1);
		memcpy(t->cache->ca_body, t->body.data, t->body.len);
		t->cache->ca_body_len = t->body.len;
		scep_ca_dup(&t->ca, &t->cache->ca);
	}
	t->ca.warn_days = (long)t->conf->warn.expiry_days;
	st = scep_ca_check(&t->ca, t->spec->has_ca_fingerprint ? t->spec->ca_fingerprint : NULL,
	                   &expiring, detail, sizeof detail);
	if (st != TXN_OK)
		return scep_fail(t, t->http_step, st, detail);
	if (expiring >= 0)
		txn_result_finding(&t->result, TXN_SCEP_CA_EXPIRING,
		                   "a CA/RA certificate expires in %ld day(s)", expiring);
	pki_name_string(X509_get_subject_name(t->ca.ca), name, sizeof name);
	pki_cert_fingerprint_string(t->ca.ca, fp, sizeof fp);
	txn_result_fact(&t->result, "ca", "%s (%s)", name, fp);
	if (t->ca.ra_split) {
		char sign[120], enc[120];
		pki_name_string(X509_get_subject_name(t->ca.signer), sign, sizeof sign);
		pki_name_string(X509_get_subject_name(t->ca.recipient), enc, sizeof enc);
		txn_result_fact(&t->result, "ra", "signing %s; encryption %s", sign, enc);
	}
	t->step = SCEP_STEP_REQUEST;
	return STEP_CONTINUE;
}

/* Renewal applies when configured, advertised, and a previous certificate exists. */
static void scep_pick_message(struct scep_txn *t)
{
	char path[600];

	t->msg_type = SCEP_MSG_PKCSREQ;
	if (!t->spec->renewal)
		return;
	scep_store_path(t->dir, TXN_STATE_IDENTITY, path, sizeof path);
	t->old_cert = pki_cert_load(path);
	t->old_key = pki_key_load(path);
	if (t->old_cert == NULL && t->old_key == NULL) {
		/* the pair as two files, from before identity.pem */
		scep_store_path(t->dir, "cert.pem", path, sizeof path);
		t->old_cert = pki_cert_load(path);
		scep_store_path(t->dir, "cert-key.pem", path, sizeof path);
		t->old_key = pki_key_load(path);
	}
	if (t->old_cert == NULL || t->old_key == NULL ||
	    pki_cert_seconds_left(t->old_cert, NULL) <= 0) {
		txn_result_fact(&t->result, "renewal", "no valid previous certificate: PKCSReq");
		return;
	}
	if (!(t->caps & SCEP_CAP_RENEWAL)) {
		txn_result_finding(&t->result, TXN_SCEP_RENEWAL_UNSUPPORTED, NULL);
		return;
	}
	t->msg_type = SCEP_MSG_RENEWALREQ;
}

/*
 * What is made from the key (signer, CSR, transactionID) is kept with the reused key in
 * the cache, for the subject it was made for; a fresh key's is made per run.
 */
static bool scep_made_for_key(struct scep_txn *t)
{
	struct scep_cache *c = t->cache;

	if (!t->key_reused || c->key != t->key)
		return false;
	if (c->subject == NULL || strcmp(c->subject, t->spec->subject) != 0) {
		X509_free(c->signer);
		c->signer = NULL;
		OPENSSL_free(c->csr);
		c->csr = NULL;
		free(c->subject);
		c->subject = xstrdup(t->spec->subject);
	}
	return true;
}

/* The validity scep_selfsigned_build gives is 7 days: remake a day-old one. */
#define SCEP_SIGNER_MAX_AGE (24 * 3600)

/* The self-signed signer for t's key (a new reference); NULL when it cannot be built. */
static X509 *scep_signer(struct scep_txn *t)
{
	struct scep_cache *c = t->cache;
	time_t now = time(NULL);
	X509 *x;

	if (!scep_made_for_key(t))
		return scep_selfsigned_build(t->key, t->subject, t->md);
	if (c->signer != NULL && c->signer_md == EVP_MD_get_type(t->md) &&
	    now - c->signer_made < SCEP_SIGNER_MAX_AGE && now >= c->signer_made) {
		X509_up_ref(c->signer);
		return c->signer;
	}
	x = scep_selfsigned_build(t->key, t->subject, t->md);
	if (x == NULL)
		return NULL;
	X509_free(c->signer);
	X509_up_ref(x);
	c->signer = x;
	c->signer_made = now;
	c->signer_md = EVP_MD_get_type(t->md);
	return x;
}

/* The CSR for t's key and challenge into *der (OPENSSL_malloc'd); 0 or -1. */
static int scep_csr(struct scep_txn *t, unsigned char **der, size_t *len)
{
	struct scep_cache *c = t->cache;
	unsigned char digest[32] = {0};
	bool cacheable = scep_made_for_key(t);

	if (t->challenge != NULL)
		SHA256((const unsigned char *)t->challenge, strlen(t->challenge), digest);
	if (cacheable && c->csr != NULL && c->csr_md == EVP_MD_get_type(t->md) &&
	    c->csr_has_challenge == (t->challenge != NULL) &&
	    CRYPTO_memcmp(c->csr_challenge, digest, sizeof digest) == 0) {
		*der = OPENSSL_memdup(c->csr, c->csr_len);
		*len = c->csr_len;
		return *der != NULL ? 0 : -1;
	}
	if (scep_csr_build(t->key, t->subject, t->challenge, t->md, der, len) == -1)
		return -1;
	if (cacheable) {
		OPENSSL_free(c->csr);
		c->csr = OPENSSL_memdup(*der, *len);
		c->csr_len = c->csr != NULL ? *len : 0;
		c->csr_md = EVP_MD_get_type(t->md);
		c->csr_has_challenge = t->challenge != NULL;
		memcpy(c->csr_challenge, digest, sizeof digest);
	}
	return 0;
}

static enum step_ret scep_build_and_send(struct scep_txn *t, size_t step)
{
	struct scep_request req = {0};
	unsigned char *csr = NULL, *der = NULL;
	size_t csr_len = 0, der_len = 0;
	char err[200];
	bool post;
	struct http_request_opts o = {.max_body = SCEP_CERTREP_MAX};
	char *url = NULL;

	req.type = t->msg_type;
	req.key = t->signer_key;
	req.signer = t->signer;
	req.recipient = t->ca.recipient;
	req.cipher = t->cipher;
	req.md = t->md;
	req.transaction_id = t->tid;
	if (t->msg_type == SCEP_MSG_CERTPOLL) {
		req.ca = t->ca.ca;
		req.subject = t->subject;
	} else {
		if (scep_csr(t, &csr, &csr_len) == -1)
			return scep_fail(t, step, TXN_PROBE_INTERNAL, "cannot build the CSR");
		req.csr_der = csr;
		req.csr_len = csr_len;
	}
	if (scep_request_build(&req, t->nonce, &der, &der_len, err, sizeof err) == -1) {
		OPENSSL_free(csr);
		return scep_fail(t, step, TXN_PROBE_INTERNAL, err);
	}
	OPENSSL_free(csr);
	txn_step_end(&t->result, step, TXN_OK, "%s, %zu bytes",
	             t->msg_type == SCEP_MSG_CERTPOLL     ? "CertPoll"
	             : t->msg_type == SCEP_MSG_RENEWALREQ ? "RenewalReq"
	                                                  : "PKCSReq",
	             der_len);
	txn_result_fact(&t->result, "request_bytes", "%zu", der_len);

	post = t->spec->method == SCEP_METHOD_POST ||
	       (t->spec->method == SCEP_METHOD_AUTO && (t->caps & SCEP_CAP_POST_PKI_OPERATION));
	if (post) {
		url = scep_op_url(t, "PKIOperation", NULL);
		o.post = true;
		o.body = der;
		o.body_len = der_len;
		o.content_type = "application/x-pki-message";
		t->query_len = 0;
	} else {
		int b64len = 4 * (((int)der_len + 2) / 3);
		char *b64 = xmalloc((size_t)b64len + 1);
		const char *q;
		EVP_EncodeBlock((unsigned char *)b64, der, (int)der_len);
		url = scep_op_url(t, "PKIOperation", b64);
		free(b64);
		q = strchr(url, '?');
		t->query_len = q != NULL ? strlen(q + 1) : 0;
		if (t->query_len > SCEP_IIS_QUERY_LIMIT)
			txn_result_finding(&t->result, TXN_SCEP_GET_TOO_LONG,
			                   "%zu-byte query string", t->query_len);
	}
	o.url = url;
	txn_result_fact(&t->result, "method", "%s", post ? "POST" : "GET");
	scep_http_start(t, t->msg_type == SCEP_MSG_CERTPOLL ? "certpoll" : "pkioperation",
	                t->msg_type == SCEP_MSG_CERTPOLL ? "CertPoll" : "PKIOperation", &o);
	free(url);
	OPENSSL_free(der);
	t->step = SCEP_STEP_CERTREP;
	return STEP_WAIT;
}

static enum step_ret scep_step_request(struct scep_txn *t)
{
	size_t i = txn_step_begin(&t->result, "request");
	const char *cname = scep_caps_cipher_name(t->caps);
	const char *dname = scep_caps_digest_name(t->caps);

	t->cipher = pki_cipher(cname);
	t->md = pki_md(dname);
	if (t->cipher == NULL || t->md == NULL)
		return scep_fail(t, i, TXN_PROBE_INTERNAL, "cipher or digest unavailable");
	scep_pick_message(t);
	if (t->msg_type == SCEP_MSG_RENEWALREQ) {
		t->signer = t->old_cert;
		X509_up_ref(t->signer);
		t->signer_key = t->old_key;
	} else {
		t->signer = scep_signer(t);
		if (t->signer == NULL)
			return scep_fail(t, i, TXN_PROBE_INTERNAL,
			                 "cannot build the self-signed signer");
		t->signer_key = t->key;
	}
	if (scep_made_for_key(t)) {
		if (t->cache->tid[0] == '\0')
			scep_transaction_id(t->key, t->cache->tid, sizeof t->cache->tid);
		snprintf(t->tid, sizeof t->tid, "%s", t->cache->tid);
	} else {
		scep_transaction_id(t->key, t->tid, sizeof t->tid);
	}
	txn_result_fact(&t->result, "transaction_id", "%s", t->tid);
	txn_result_fact(&t->result, "request_alg", "%s + %s", cname, dname);
	return scep_build_and_send(t, i);
}

static void scep_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scep_txn *t = arg;

	(void)fd;
	(void)what;
	t->step = SCEP_STEP_POLL;
	scep_run(t);
}

static enum step_ret scep_step_certrep(struct scep_txn *t)
{
	size_t i = t->http_step;
	enum txn_status st = scep_http_status(t, t->query_len > 0);
	struct scep_certrep rep;
	char detail[TXN_DETAIL_LEN];
	const char *name;
	enum step_ret ret = STEP_DONE;

	if (st != TXN_OK) {
		snprintf(detail, sizeof detail, "PKIOperation answered HTTP %ld%s", t->http_status,
		         st == TXN_HTTP_QUERY_TOO_LONG ? " to a long GET" : "");
		return scep_fail(t, i, st, detail);
	}
	if (strcmp(t->http_ctype, "application/x-pki-message") != 0) {
		snprintf(detail, sizeof detail, "Content-Type '%s'", t->http_ctype);
		return scep_fail(t, i, TXN_SCEP_CERTREP_CONTENT_TYPE, detail);
	}
	st = scep_certrep_parse(t->body.data, t->body.len, t->ca.signers, &rep, detail,
	                        sizeof detail);
	if (st != TXN_OK) {
		scep_certrep_clear(&rep);
		return scep_fail(t, i, st, detail);
	}
	if (rep.message_type != SCEP_MSG_CERTREP) {
		snprintf(detail, sizeof detail, "messageType %d, expected 3 (CertRep)",
		         rep.message_type);
		st = TXN_SCEP_MESSAGE_TYPE_MISMATCH;
	} else if (!rep.has_transaction_id || strcmp(rep.transaction_id, t->tid) != 0) {
		snprintf(detail, sizeof detail, "got '%.64s', sent '%.64s'",
		         rep.has_transaction_id ? rep.transaction_id : "(none)", t->tid);
		st = TXN_SCEP_TRANSACTION_ID_MISMATCH;
	} else if (!rep.has_recipient_nonce || rep.recipient_nonce_len != SCEP_NONCE_LEN ||
	           memcmp(rep.recipient_nonce, t->nonce, SCEP_NONCE_LEN) != 0) {
		snprintf(detail, sizeof detail, "%s",
		         rep.has_recipient_nonce ? "recipientNonce differs from our senderNonce"
		                                 : "no recipientNonce");
		st = TXN_SCEP_RECIPIENT_NONCE_MISMATCH;
	}
	if (st != TXN_OK)
		goto fail;
	txn_result_fact(&t->result, "reply_digest", "%s", OBJ_nid2sn(rep.digest_nid));
	if (rep.digest_nid == NID_sha1 || rep.digest_nid == NID_md5)
		txn_result_finding(&t->result, TXN_SCEP_WEAK_DIGEST, "%s",
		                   OBJ_nid2sn(rep.digest_nid));

	switch (rep.pki_status) {
	case SCEP_PKI_SUCCESS: {
		int cipher_nid;
		st = scep_certrep_decrypt(&rep, t->signer_key, t->signer, &t->issued_certs,
		                          &cipher_nid, detail, sizeof detail);
		if (cipher_nid != NID_undef)
			txn_result_fact(&t->result, "reply_cipher", "%s", OBJ_nid2sn(cipher_nid));
		if (cipher_nid == NID_des_cbc)
			txn_result_finding(&t->result, TXN_SCEP_WEAK_CIPHER, "DES-CBC");
		if (st != TXN_OK)
			goto fail;
		txn_step_end(&t->result, i, TXN_OK, "CertRep SUCCESS");
		t->step = SCEP_STEP_VERIFY;
		ret = STEP_CONTINUE;
		break;
	}
	case SCEP_PKI_FAILURE:
		st = scep_fail_info_status(rep.has_fail_info ? rep.fail_info : "", &name);
		snprintf(detail, sizeof detail, "CertRep FAILURE, failInfo %s (%s)%s%s",
		         rep.has_fail_info ? rep.fail_info : "absent", name,
		         rep.fail_info_text[0] ? ": " : "", rep.fail_info_text);
		goto fail;
	case SCEP_PKI_PENDING: {
		uint64_t wait = t->spec->pending.poll_interval_ms, left;
		struct timeval tv;
		if (!t->pending) {
			/* From here the polling budget is the deadline. */
			t->pending = true;
			deadline_set(&t->deadline, t->spec->pending.max_wait_ms);
			scep_arm_deadline(t);
		}
		txn_step_end(&t->result, i, TXN_OK, "CertRep PENDING");
		txn_result_finding(&t->result, TXN_SCEP_PENDING,
		                   "the CA answered PENDING; polling every %llu s",
		                   (unsigned long long)(wait / 1000));
		left = deadline_remaining(&t->deadline);
		if (wait > left)
			wait = left;
		tv.tv_sec = (time_t)(wait / 1000);
		tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
		event_add(t->poll_ev, &tv);
		ret = STEP_WAIT;
		break;
	}
	default:
		snprintf(detail, sizeof detail, "pkiStatus %d is not SUCCESS, FAILURE or PENDING",
		         rep.pki_status);
		st = TXN_SCEP_CERTREP_MALFORMED;
		goto fail;
	}
	scep_certrep_clear(&rep);
	return ret;
fail:
	scep_certrep_clear(&rep);
	return scep_fail(t, i, st, detail);
}

static enum step_ret scep_step_poll(struct scep_txn *t)
{
	size_t i = txn_step_begin(&t->result, "poll_request");

	if (deadline_expired(&t->deadline))
		return scep_fail(t, i, TXN_SCEP_PENDING_TIMEOUT, "polling budget spent");
	t->polls++;
	txn_result_fact(&t->result, "polls", "%u", t->polls);
	t->msg_type = SCEP_MSG_CERTPOLL;
	return scep_build_and_send(t, i);
}

static enum step_ret scep_step_verify(struct scep_txn *t)
{
	size_t i = txn_step_begin(&t->result, "verify");
	char detail[TXN_DETAIL_LEN], name[200];
	bool subject_ok;
	enum txn_status st;
	long left;

	st = scep_issued_check(t->issued_certs, t->key, &t->ca, t->subject, &t->issued, &subject_ok,
	                       detail, sizeof detail);
	if (st != TXN_OK)
		return scep_fail(t, i, st, detail);
	pki_name_string(X509_get_subject_name(t->issued), name, sizeof name);
	if (!subject_ok)
		txn_result_finding(&t->result, TXN_SCEP_ISSUED_SUBJECT_MISMATCH,
		                   "requested %s, issued %s", t->spec->subject, name);
	left = pki_cert_seconds_left(t->issued, NULL);
	txn_result_fact(&t->result, "issued_subject", "%s", name);
	{
		char more[200];
		pki_name_string(X509_get_issuer_name(t->issued), more, sizeof more);
		txn_result_fact(&t->result, "issued_issuer", "%s", more);
		pki_cert_fingerprint_string(t->issued, more, sizeof more);
		txn_result_fact(&t->result, "issued_fingerprint", "%s", more);
		pki_time_string(X509_get0_notBefore(t->issued), more, sizeof more);
		txn_result_fact(&t->result, "issued_not_before", "%s", more);
	}
	{
		ASN1_INTEGER *sn = X509_get_serialNumber(t->issued);
		BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
		char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
		txn_result_fact(&t->result, "issued_serial", "%s", hex != NULL ? hex : "?");
		OPENSSL_free(hex);
		BN_free(bn);
	}
	txn_result_fact(&t->result, "issued_valid_for", "%.1f days", (double)left / 86400.0);
	{
		char na[32];
		pki_time_string(X509_get0_notAfter(t->issued), na, sizeof na);
		txn_result_fact(&t->result, "issued_not_after", "%s", na);
		if (left >= 0 && left < (long)t->conf->warn.expiry_days * 86400L)
			txn_result_finding(&t->result, TXN_SCEP_ISSUED_EXPIRING,
			                   "the issued certificate expires %s, in %.1f days "
			                   "(warn.expiry_days %u)",
			                   na, (double)left / 86400.0, t->conf->warn.expiry_days);
	}
	txn_step_end(&t->result, i, TXN_OK, "our key, chains to the CA, valid %.1f days",
	             (double)left / 86400.0);
	t->step = SCEP_STEP_STORE;
	return STEP_CONTINUE;
}

/* PEM of key, or of cert, appended to b; 0 or -1. */
static int scep_pem_append(struct bbuf *b, EVP_PKEY *key, X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int rc = -1;

	if (bio == NULL)
		return -1;
	if (key != NULL ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1
	                : PEM_write_bio_X509(bio, cert) != 1)
		goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n > 0)
		rc = bbuf_append(b, data, (size_t)n);
	explicit_bzero(data, n > 0 ? (size_t)n : 0);
out:
	BIO_free(bio);
	return rc;
}

static void scep_store_job_free(struct scep_store_job *j)
{
	if (j == NULL)
		return;
	if (j->identity != NULL)
		explicit_bzero(j->identity, j->identity_len);
	free(j->identity);
	free(j->ca_pem);
	if (j->key_pem != NULL)
		explicit_bzero(j->key_pem, j->key_pem_len);
	free(j->key_pem);
	EVP_PKEY_free(j->key);
	free(j);
}

/* On the worker: the files, in the order a kill between two of them leaves usable. */
static void scep_store_work(void *arg)
{
	struct scep_store_job *j = arg;
	char path[600];

	errno = 0;
	if (j->mkdir && scep_store_mkdir(j->state_dir, j->dir) == -1)
		goto fail;
	/*
	 * The key and its certificate are one file replaced by one rename: a failed write
	 * or a kill between two renames can no longer leave a certificate with another
	 * run's key. The issuing CA goes with them when it is an intermediate.
	 */
	if (scep_store_write_file(j->dir, TXN_STATE_IDENTITY, j->identity, j->identity_len) == -1)
		goto fail;
	if (j->drop_old) {
		/* the two files of the old layout would only mislead a reader now */
		scep_store_path(j->dir, "cert.pem", path, sizeof path);
		unlink(path);
		scep_store_path(j->dir, "cert-key.pem", path, sizeof path);
		unlink(path);
	}
	if (j->ca_pem != NULL &&
	    scep_store_write_file(j->dir, "ca.pem", j->ca_pem, strlen(j->ca_pem)) == -1)
		goto fail;
	if (j->key_pem != NULL &&
	    scep_store_write_file(j->dir, "key.pem", j->key_pem, j->key_pem_len) == -1)
		goto fail;
	if (j->runs[0] != '\0' && scep_store_write(j->dir, "key-runs", j->runs) == -1)
		goto fail;
	if (j->caps[0] != '\0' && scep_store_write(j->dir, "caps", j->caps) == -1)
		goto fail;
	j->err = 0;
	return;
fail:
	j->err = errno != 0 ? errno : EIO;
}

/* On the loop: remember what the files now hold, then end the run (unless it ended). */
static void scep_store_done(void *arg)
{
	struct scep_store_job *j = arg;
	struct scep_cache *c = j->cache;
	struct scep_txn *t = j->t;

	if (j->err == 0) {
		c->dir_ready = true;
		if (j->ca_pem != NULL)
			c->ca_saved = true;
		if (j->caps[0] != '\0') {
			snprintf(c->caps, sizeof c->caps, "%s", j->caps);
			c->caps_read = true;
		}
		if (j->reuse && c->key == j->key)
			scep_cache_set_key(c, j->key, j->key_runs, true);
	} else {
		/* read the directory again at the next run, as after a start */
		scep_cache_set_key(c, NULL, 0, false);
		c->disk_read = false;
		c->dir_ready = false;
		c->ca_saved = false;
		c->caps_read = false;
	}
	if (t != NULL) {
		t->store = NULL;
		if (!t->finished) {
			size_t i = t->http_step;
			if (j->err != 0) {
				/* the probe's failure, never the CA's: the primary status, UNKNOWN
				 */
				char detail[200];
				snprintf(detail, sizeof detail, "%s: %s", t->dir, strerror(j->err));
				scep_fail(t, i, TXN_PROBE_STATE_WRITE, detail);
			} else {
				txn_step_end(&t->result, i, TXN_OK, "%s", t->dir);
			}
			scep_finish(t);
		}
	}
	scep_store_job_free(j);
}

static void scep_store_discard(void *arg)
{
	struct scep_store_job *j = arg;

	if (j->t != NULL)
		j->t->store = NULL;
	scep_store_job_free(j);
}

/*
 * The state directory gets what changed: identity.pem (a new certificate every run),
 * key-runs, and only when they differ from what is there the CA, the key and the
 * capabilities; written on the files worker, the run waiting for it without the loop.
 */
static enum step_ret scep_step_store(struct scep_txn *t)
{
	size_t i = txn_step_begin(&t->result, "store");
	struct scep_cache *c = t->cache;
	struct scep_store_job *j = xcalloc(1, sizeof *j);
	bool reuse = t->spec->key.reuse_runs > 1;
	struct bbuf b, kb;
	int rc = 0;

	t->http_step = i;
	j->t = t;
	j->cache = c;
	j->reuse = reuse;
	j->key = t->key;
	EVP_PKEY_up_ref(t->key);
	j->key_runs = t->key_runs;
	snprintf(j->state_dir, sizeof j->state_dir, "%s", t->env.state_dir);
	snprintf(j->dir, sizeof j->dir, "%s", t->dir);
	j->mkdir = !c->dir_ready;
	j->drop_old = !c->dir_ready;

	bbuf_init(&b, SCEP_PEM_MAX);
	bbuf_init(&kb, SCEP_PEM_MAX);
	if (reuse) {
		if (c->key != t->key)
			scep_cache_set_key(c, t->key, 0, false);
		if (c->key_pem == NULL) {
			rc = scep_pem_append(&kb, t->key, NULL);
			if (rc == 0) {
				c->key_pem = xmalloc(kb.len + 1);
				memcpy(c->key_pem, kb.data, kb.len);
				c->key_pem[kb.len] = '\0';
				c->key_pem_len = kb.len;
			}
		}
		if (rc == 0)
			rc = bbuf_append(&b, c->key_pem, c->key_pem_len);
		if (rc == 0 && !c->key_saved) {
			j->key_pem = xmalloc(c->key_pem_len + 1);
			memcpy(j->key_pem, c->key_pem, c->key_pem_len + 1);
			j->key_pem_len = c->key_pem_len;
		}
		snprintf(j->runs, sizeof j->runs, "%u", t->key_runs);
	} else {
		rc = scep_pem_append(&b, t->key, NULL);
	}
	if (rc == 0)
		rc = scep_pem_append(&b, NULL, t->issued);
	if (rc == 0 && !pki_cert_is_self_signed(t->ca.ca))
		rc = scep_pem_append(&b, NULL, t->ca.ca);
	if (rc == 0 && !c->ca_saved) {
		struct bbuf cb;
		bbuf_init(&cb, SCEP_PEM_MAX);
		rc = scep_pem_append(&cb, NULL, t->ca.ca);
		if (rc == 0) {
			j->ca_pem = xmalloc(cb.len + 1);
			memcpy(j->ca_pem, cb.data, cb.len);
			j->ca_pem[cb.len] = '\0';
		}
		bbuf_free(&cb);
	}
	if (t->caps_known) {
		char caps[256];
		scep_caps_string(t->caps, caps, sizeof caps);
		if (!c->caps_read || strcmp(caps, c->caps) != 0)
			snprintf(j->caps, sizeof j->caps, "%s", caps);
	}
	if (kb.data != NULL)
		explicit_bzero(kb.data, kb.len);
	bbuf_free(&kb);
	if (rc == -1) {
		if (b.data != NULL)
			explicit_bzero(b.data, b.len);
		bbuf_free(&b);
		scep_store_job_free(j);
		return scep_fail(t, i, TXN_PROBE_INTERNAL, "cannot encode the identity as PEM");
	}
	j->identity = xmalloc(b.len + 1);
	memcpy(j->identity, b.data, b.len);
	j->identity[b.len] = '\0';
	j->identity_len = b.len;
	explicit_bzero(b.data, b.len);
	bbuf_free(&b);

	if (t->env.files == NULL) {
		/* a process without the worker (a benchmark): in line */
		scep_store_work(j);
		t->store = j;
		scep_store_done(j);
		return STEP_WAIT; /* done finished the run */
	}
	t->store = j;
	offload_submit(t->env.files, j, scep_store_work, scep_store_done, scep_store_discard);
	return STEP_WAIT;
}

static enum step_ret scep_step(struct scep_txn *t)
{
	switch (t->step) {
	case SCEP_STEP_CHALLENGE:
		return scep_step_challenge(t);
	case SCEP_STEP_CHALLENGE_REPLY:
		return scep_step_challenge_reply(t);
	case SCEP_STEP_CAPS:
		return scep_step_caps(t);
	case SCEP_STEP_CAPS_REPLY:
		return scep_step_caps_reply(t);
	case SCEP_STEP_CACERT:
		return scep_step_cacert(t);
	case SCEP_STEP_CACERT_REPLY:
		return scep_step_cacert_reply(t);
	case SCEP_STEP_REQUEST:
		return scep_step_request(t);
	case SCEP_STEP_CERTREP:
		return scep_step_certrep(t);
	case SCEP_STEP_POLL:
		return scep_step_poll(t);
	case SCEP_STEP_VERIFY:
		return scep_step_verify(t);
	case SCEP_STEP_STORE:
		return scep_step_store(t);
	}
	return STEP_DONE;
}

static void scep_run(struct scep_txn *t)
{
	enum step_ret r;

	do
		r = scep_step(t);
	while (r == STEP_CONTINUE);
	if (r == STEP_DONE)
		scep_finish(t);
}

/* ---------------------------------------------------------------- start */

static void scep_begin(struct scep_txn *t)
{
	size_t i;
	const char *ktype = t->spec->key.type == KEY_TYPE_RSA ? "rsa" : "ec";

	txn_result_init_for(&t->result, t->conf);
	deadline_set(&t->deadline, t->conf->timeout_ms);
	scep_arm_deadline(t);
	i = txn_step_begin(&t->result, "key");
	if (t->key == NULL || t->subject == NULL) {
		scep_fail(t, i, t->key == NULL ? TXN_PROBE_KEY_FAILED : TXN_PROBE_INTERNAL,
		          t->key == NULL ? "key generation failed"
		                         : "the subject cannot be encoded");
		scep_finish(t);
		return;
	}
	if (t->key_reused)
		txn_step_end(&t->result, i, TXN_OK, "reused key (run %u of %u)", t->key_runs,
		             t->spec->key.reuse_runs);
	else
		txn_step_end(&t->result, i, TXN_OK,
		             "fresh key from the pool (made off-path in %.1f ms)",
		             (double)t->key_gen_us / 1000.0);
	if (t->spec->key.type == KEY_TYPE_RSA)
		txn_result_fact(&t->result, "key", "%s%u %s", ktype, t->spec->key.bits,
		                t->key_reused ? "reused" : "fresh");
	else
		txn_result_fact(&t->result, "key", "ec %s %s", t->spec->key.curve,
		                t->key_reused ? "reused" : "fresh");
	if (!t->key_reused)
		txn_result_fact(&t->result, "keygen_ms", "%.1f (off the transaction path)",
		                (double)t->key_gen_us / 1000.0);
	scep_run(t);
}

static void scep_key_ready(EVP_PKEY *key, uint64_t gen_us, void *arg)
{
	struct scep_txn *t = arg;

	t->key = key;
	t->key_gen_us = gen_us;
	t->key_runs = 1;
	scep_begin(t);
}

static void scep_begin_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	scep_begin(arg);
}

static void scep_key_spec(const struct key_conf *k, struct key_spec *spec)
{
	memset(spec, 0, sizeof *spec);
	if (k->type == KEY_TYPE_RSA)
		spec->rsa_bits = (int)k->bits;
	else
		spec->ec_nid = k->curve != NULL && strcmp(k->curve, "P-384") == 0
		                   ? NID_secp384r1
		                   : NID_X9_62_prime256v1;
}

static void *scep_txn_start(const struct txn_env *env, const struct txn_conf *conf, txn_done_cb *cb,
                            void *arg)
{
	struct scep_txn *t = xcalloc(1, sizeof *t);
	const struct scep_conf *sc = conf->spec;
	struct key_spec spec;

	t->env = *env;
	t->conf = conf;
	t->spec = sc;
	t->cb = cb;
	t->arg = arg;
	bbuf_init(&t->body, 0);
	txn_state_dir(env->state_dir, conf->name, t->dir, sizeof t->dir);
	t->cache = scep_cache_get(t->dir);
	if (!t->cache->dir_ready)
		txn_state_migrate(env->state_dir, conf->name);
	t->deadline_ev = evtimer_new(env->base, scep_deadline_cb, t);
	t->poll_ev = evtimer_new(env->base, scep_poll_cb, t);
	t->subject = pki_name_parse(sc->subject);
	if (sc->key.reuse_runs > 1) {
		struct scep_cache *c = t->cache;
		if (!c->disk_read) {
			/* once after a start: later runs take the key from memory */
			char runs[32], path[600];
			unsigned n = 0;
			EVP_PKEY *key = NULL;
			if (scep_store_read(t->dir, "key-runs", runs, sizeof runs) == 0)
				n = (unsigned)strtoul(runs, NULL, 10);
			scep_store_path(t->dir, "key.pem", path, sizeof path);
			if (n > 0)
				key = pki_key_load(path);
			if (key != NULL)
				scep_cache_set_key(c, key, n, true);
			EVP_PKEY_free(key);
			c->disk_read = true;
		}
		if (c->key != NULL && c->key_saved && c->key_runs > 0 &&
		    c->key_runs < sc->key.reuse_runs) {
			t->key = c->key;
			EVP_PKEY_up_ref(t->key);
			t->key_reused = true;
			t->key_runs = c->key_runs + 1;
		}
	}
	scep_key_spec(&sc->key, &spec);
	if (t->key_reused) {
		/* keep the loop contract: begin from the loop, not from inside start */
		struct timeval now = {0, 0};
		t->begin_ev = evtimer_new(env->base, scep_begin_cb, t);
		evtimer_add(t->begin_ev, &now);
	} else {
		keypool_get(env->keys, &spec, scep_key_ready, t);
	}
	return t;
}

static void scep_txn_free(void *run)
{
	struct scep_txn *t = run;

	if (t == NULL)
		return;
	http_request_cancel(t->http);
	keypool_cancel(t->env.keys, t);
	if (t->store != NULL)
		t->store->t = NULL; /* the worker's job frees itself when it comes back */
	if (t->begin_ev != NULL)
		event_free(t->begin_ev);
	event_free(t->deadline_ev);
	event_free(t->poll_ev);
	bbuf_free(&t->body);
	EVP_PKEY_free(t->key);
	EVP_PKEY_free(t->old_key);
	X509_free(t->old_cert);
	X509_free(t->signer);
	X509_NAME_free(t->subject);
	secret_wipe_free(t->challenge);
	scep_ca_clear(&t->ca);
	sk_X509_pop_free(t->issued_certs, X509_free);
	X509_free(t->issued);
	free(t);
}

/* ---------------------------------------------------------------- the type */

static const char *const scep_steps[] = {
    "key",      "challenge", "ndes_admin",   "getcacaps", "getcacert", "pkioperation",
    "certpoll", "request",   "poll_request", "verify",    "store",     NULL,
};

const struct txn_type scep_txn_type = {
    .name = "enrollment",
    .protocol = scep_conf_protocol,
    .endpoint = scep_conf_endpoint,
    .describe = scep_conf_describe,
    .start = scep_txn_start,
    .free = scep_txn_free,
    .steps = scep_steps,
    .keys = scep_conf_keys,
    .conf_new = scep_conf_new,
    .conf_free = scep_conf_free,
    .conf_check = scep_conf_check,
    .issues_certificate = true,
};
