/*
 * certprov_txn: the phone-bootstrap step machine (see certprov_txn.h). Each step
 * returns STEP_CONTINUE, STEP_WAIT (an HTTP answer resumes it) or STEP_DONE; every
 * request's timeout is what is left of the one deadline. Failures are classified where
 * they are found, in the seed's words (the status table's rows 96-112).
 */
#include "transactions/certprov/certprov_txn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/bbuf.h"
#include "core/clock.h"
#include "core/fileload.h"
#include "core/log.h"
#include "core/offload.h"
#include "core/xalloc.h"
#include "net/http_client.h"
#include "pki/keypool.h"
#include "pki/pki.h"
#include "transactions/certprov/certprov_conf.h"
#include "transactions/certprov/certprov_crypto.h"
#include "transactions/certprov/certprov_soap.h"
#include "transactions/certprov/dhcp_client.h"
#include "transactions/scep/scep_store.h"
#include "transactions/thresholds.h"
#include "transactions/txn_state.h"

#define CP_ROOT_CHAIN_MAX (256 * 1024)
#define CP_PAGE_MAX (64 * 1024)
#define CP_MIN_VALIDITY_S 3600 /* an issued certificate must serve at least this long */
#define CP_DIAG_HEADER "X-Ms-diagnostics"
#define CP_DHCP_MARGIN_MS 50 /* the discovery ends this much before the deadline */

enum cp_step {
	CP_STEP_DISCOVER,
	CP_STEP_DISCOVER_REPLY, /* DHCP: the discovery's callback resumes the machine */
	CP_STEP_ROOT_CHAIN,
	CP_STEP_ROOT_CHAIN_REPLY,
	CP_STEP_TLS_VERIFY,
	CP_STEP_TLS_VERIFY_REPLY,
	CP_STEP_TLS_DIAG_REPLY,
	CP_STEP_MEX_REPLY,
	CP_STEP_WEB_TICKET,
	CP_STEP_WEB_TICKET_REPLY,
	CP_STEP_CSR,
	CP_STEP_GAPC,
	CP_STEP_GAPC_REPLY,
	CP_STEP_VERIFY,
	CP_STEP_STORE,
};

/* ---------------------------------------------------------------- ticket cache */

/*
 * Web tickets outlive a run: a device keeps its ticket until it expires. One entry per
 * (transaction, Web Ticket URL, user), on the loop thread only.
 */
struct cp_cached_ticket {
	char key[1200];
	struct certprov_ticket ticket;
	unsigned char proof_key[CERTPROV_PROOF_KEY_LEN];
	bool have_proof;
	struct cp_cached_ticket *next;
};

static struct cp_cached_ticket *cp_tickets;

static struct cp_cached_ticket *cp_ticket_find(const char *key)
{
	for (struct cp_cached_ticket *c = cp_tickets; c != NULL; c = c->next)
		if (strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

static void cp_ticket_drop(const char *key)
{
	struct cp_cached_ticket **pp = &cp_tickets;

	while (*pp != NULL && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	if (*pp != NULL) {
		struct cp_cached_ticket *c = *pp;
		*pp = c->next;
		certprov_ticket_clear(&c->ticket);
		explicit_bzero(c->proof_key, sizeof c->proof_key);
		free(c);
	}
}

void certprov_txn_ticket_cache_clear(void)
{
	while (cp_tickets != NULL)
		cp_ticket_drop(cp_tickets->key);
}

/* ---------------------------------------------------------------- the run */

struct cp_txn;

/* The files a run reads (trust_store, issuer_ca), read on the offload worker. */
struct cp_files_job {
	struct cp_txn *t; /* NULL once the run is freed: done() then only frees the job */
	char *path[2];    /* copies: a reload may free the configuration meanwhile */
	char *text[2];
	size_t len[2];
	int rc[2];
	struct fileload_fail fail[2];
};

/*
 * The registrar the run was given or discovered, recorded beside identity.pem
 * (TXN_STATE_REGISTRAR) for a client-auth's registrar: {from: NAME}; written on the
 * offload worker, and only when it differs from what the file holds.
 */
struct cp_registrar_job {
	struct cp_txn *t; /* NULL once the run is freed: done() then only frees the job */
	char state_dir[512];
	char dir[512];
	char *identity; /* identity.pem's text (key, certificate, chain): wiped when freed */
	size_t identity_len;
	const char *failed; /* the file a failed write was for */
	char line[300];     /* "host:port" */
	bool changed;
	int err; /* errno of a failed write; 0 */
};

struct cp_txn {
	struct txn_env env;
	const struct txn_conf *conf;
	const struct certprov_conf *spec;
	txn_done_cb *cb;
	void *arg;
	struct txn_result result;
	enum cp_step step;
	struct deadline deadline;
	struct event *deadline_ev;

	/* where this run goes: configured, or what DHCP discovery found (options 43, 120) */
	char certprov_url[700];     /* the registrar (host[:port]) is registrar[] below */
	struct dhcp_discover *dhcp; /* in flight during CP_STEP_DISCOVER_REPLY */
	size_t discover_step;
	char dhcp_interface[96]; /* "eth0 (the default route's interface)" */

	/* the HTTP exchange in flight, and its answer */
	struct http_request *http;
	size_t http_step;
	const char *http_what;
	long http_status;
	enum txn_status http_error;
	char http_error_detail[200];
	char http_header[256];
	bool http_reused;
	const char *auth_user, *auth_password; /* HTTP NTLM/Negotiate for the next request */
	uint64_t connect_us, tls_us, total_us; /* phase ends of the last exchange */
	struct bbuf body;
	struct bbuf peer_chain;

	EVP_PKEY *key;
	uint64_t key_gen_us;
	char connect_to[80];
	struct bbuf trust; /* PEM: the device trust store, then the downloaded intermediates */
	STACK_OF(X509) *root_chain;
	enum txn_status tls_status; /* what verification said, while the diagnosis runs */
	char tls_detail[200];
	struct certprov_mex mex;
	char webticket_url[700];
	char ticket_key[1200];
	struct cp_cached_ticket *ticket; /* in cp_tickets */
	unsigned char entropy[CERTPROV_ENTROPY_LEN];
	struct certprov_shape shape;
	char entity[256];
	char device_id[48];
	struct bbuf csr;
	struct certprov_gapc_answer answer;
	STACK_OF(X509) *published;
	struct certprov_issued issued;
	char dir[512];
	struct cp_files_job *files_job; /* in flight on env->files */
	char *issuer_ca_pem;            /* issuer_ca's text, when configured */
	size_t issuer_ca_len;
	int files_rc[2];
	struct fileload_fail files_fail[2];
	char *trust_text;
	size_t trust_len;
	char registrar[300];                    /* given or discovered: "host" or "host:port" */
	struct cp_registrar_job *registrar_job; /* in flight on env->files */
	size_t store_step;
	bool finished;
};

static void cp_run(struct cp_txn *t);

static void cp_finish(struct cp_txn *t)
{
	t->finished = true;
	event_del(t->deadline_ev);
	dhcp_discover_cancel(t->dhcp);
	t->dhcp = NULL;
	http_request_cancel(t->http);
	t->http = NULL;
	txn_result_finish(&t->result);
	txn_apply_latency(&t->result, &t->conf->warn);
	t->cb(&t->result, t->arg);
}

static enum step_ret cp_fail(struct cp_txn *t, size_t step, enum txn_status st, const char *fmt,
                             ...) __attribute__((format(printf, 4, 5)));

static enum step_ret cp_fail(struct cp_txn *t, size_t step, enum txn_status st, const char *fmt,
                             ...)
{
	char detail[TXN_DETAIL_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	txn_step_end(&t->result, step, st, "%s", detail);
	txn_result_fail(&t->result, st, "%s", detail);
	return STEP_DONE;
}

/* What the deadline means depends on whom we were waiting for. */
static void cp_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cp_txn *t = arg;
	enum txn_status st = TXN_TIMEOUT;
	char detail[200];

	(void)fd;
	(void)what;
	if (t->step == CP_STEP_WEB_TICKET_REPLY)
		st = TXN_WEBTICKET_NO_RESPONSE;
	else if (t->step == CP_STEP_GAPC_REPLY)
		st = TXN_CERTPROV_SERVICE_DOWN;
	else if (t->step == CP_STEP_ROOT_CHAIN_REPLY)
		st = TXN_CERTPROV_ROOT_CHAIN_FAILED;
	else if (t->step == CP_STEP_DISCOVER_REPLY)
		st = TXN_DHCP_NO_RESPONSE; /* the budget ends with the deadline: no answer in it */
	snprintf(detail, sizeof detail, "%s did not answer within the %.1f s deadline",
	         t->http_what != NULL ? t->http_what : "the transaction",
	         (double)t->conf->timeout_ms / 1000.0);
	txn_result_fail(&t->result, st, "%s", detail);
	for (size_t i = 0; i < t->result.n_steps; i++)
		if (!t->result.steps[i].finished)
			txn_step_end(&t->result, i, st, "%s", detail);
	cp_finish(t);
}

static void cp_http_done(struct http_response *resp, void *arg)
{
	struct cp_txn *t = arg;

	t->http = NULL;
	t->http_status = resp->status;
	t->http_error = resp->error;
	snprintf(t->http_error_detail, sizeof t->http_error_detail, "%s", resp->error_detail);
	snprintf(t->http_header, sizeof t->http_header, "%s", resp->header);
	if (resp->status > 0)
		txn_result_fact(&t->result, "http_status", "%ld", resp->status);
	bbuf_free(&t->body);
	t->body = resp->body;
	bbuf_init(&resp->body, 0);
	bbuf_free(&t->peer_chain);
	t->peer_chain = resp->peer_chain;
	bbuf_init(&resp->peer_chain, 0);
	if (resp->error == TXN_OK)
		txn_step_end(&t->result, t->http_step, TXN_OK, "HTTP %ld, %zu bytes%s",
		             resp->status, t->body.len,
		             resp->reused_connection ? " (reused connection)" : "");
	cp_run(t);
}

/* POST when body is set. trust: the device trust (https); NULL for plain HTTP. */
static void cp_http_start(struct cp_txn *t, const char *step_name, const char *what,
                          const char *url, const struct bbuf *body, const char *action,
                          bool diag_only, bool fresh)
{
	char soapaction[200];
	const char *headers[2] = {NULL, NULL};
	struct http_request_opts o = {.url = url, .max_body = CERTPROV_SOAP_MAX};

	o.timeout_ms = deadline_remaining(&t->deadline);
	if (o.timeout_ms == 0)
		o.timeout_ms = 1;
	if (strncmp(url, "https://", 8) == 0) {
		o.trust_pem = (const char *)t->trust.data;
		o.trust_pem_len = t->trust.len;
	}
	if (t->connect_to[0] != '\0')
		o.connect_to = t->connect_to;
	if (body != NULL) {
		o.post = true;
		o.body = body->data;
		o.body_len = body->len;
		o.content_type = "text/xml; charset=utf-8";
		snprintf(soapaction, sizeof soapaction, "SOAPAction: \"%s\"", action);
		headers[0] = soapaction;
		o.headers = headers;
	}
	o.capture_header = CP_DIAG_HEADER;
	if (t->auth_user != NULL) {
		o.auth = HTTP_AUTH_WINDOWS;
		o.username = t->auth_user;
		o.password = t->auth_password; /* libcurl copies it */
	}
	o.peer_chain_only = diag_only;
	o.fresh_connect = fresh;
	t->http_what = what;
	t->http_status = 0;
	t->http_header[0] = '\0';
	if (step_name != NULL)
		t->http_step = txn_step_begin(&t->result, step_name);
	log_debug("%s: %s %s", t->conf->name, what, body != NULL ? "POST" : "GET");
	t->http = http_client_start(t->env.http, &o, cp_http_done, t);
}

/* A transport failure of the last exchange as "what: detail". */
static bool cp_http_failed(const struct cp_txn *t)
{
	return t->http_error != TXN_OK;
}

/* Close the exchange's step as a success. */
static void cp_http_ok(struct cp_txn *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void cp_http_ok(struct cp_txn *t, const char *fmt, ...)
{
	char extra[TXN_DETAIL_LEN] = "";
	va_list ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(extra, sizeof extra, fmt, ap);
		va_end(ap);
	}
	txn_step_end(&t->result, t->http_step, TXN_OK, "HTTP %ld, %zu bytes%s%s%s", t->http_status,
	             t->body.len, t->http_reused ? " (reused connection)" : "",
	             extra[0] ? "; " : "", extra);
}

static bool cp_is_tls(enum txn_status st)
{
	switch (st) {
	case TXN_TLS_HANDSHAKE:
	case TXN_TLS_CHAIN_INCOMPLETE:
	case TXN_TLS_UNTRUSTED_ROOT:
	case TXN_TLS_CERT_EXPIRED:
	case TXN_TLS_CERT_NOT_YET_VALID:
	case TXN_TLS_NAME_MISMATCH:
	case TXN_TLS_VERIFY_FAILED:
	case TXN_TLS_SELF_SIGNED:
		return true;
	default:
		return false;
	}
}

/* ---------------------------------------------------------------- steps */

/* The http:// form of the CertProv URL, on port 80: CAHandlerInternalAnonUri. */
static void cp_anon_url(const char *https, char *buf, size_t len)
{
	const char *host = https + 8;
	size_t hl = strcspn(host, ":/?#");
	const char *path = host + strcspn(host, "/?#");

	snprintf(buf, len, "http://%.*s%s", (int)hl, host, path);
}

/* The rest of the run goes to url and registrar: the report's Target and TargetFqdn. */
static void cp_discovered(struct cp_txn *t, const char *url, const char *registrar)
{
	snprintf(t->certprov_url, sizeof t->certprov_url, "%s", url);
	snprintf(t->registrar, sizeof t->registrar, "%s", registrar);
	snprintf(t->result.target, sizeof t->result.target, "%s", url);
	txn_result_fact(&t->result, "target_fqdn", "%s", registrar);
	bbuf_init(&t->trust, FILELOAD_MAX_PEM_BUNDLE + CP_ROOT_CHAIN_MAX * 2);
	bbuf_append(&t->trust, t->trust_text, t->trust_len);
	bbuf_append(&t->trust, "\n", 1);
	free(t->trust_text);
	t->trust_text = NULL;
	t->step = CP_STEP_ROOT_CHAIN;
}

/*
 * What the report keeps of a discovery: the answering server and the raw options 43 and
 * 120, and the exchange in one "discover" line. A run's facts are capped
 * (TXN_MAX_FACTS) and the later steps need theirs, so not dhcp_discover_result_facts()'s
 * nine: the URL and FQDN are Target and TargetFqdn already.
 */
static void cp_dhcp_facts(struct cp_txn *t, const struct dhcp_discover_result *r)
{
	char ntp[96] = "";

	if (r->server[0] != '\0')
		txn_result_fact(&t->result, "dhcp_server", "%s", r->server);
	if (r->opt43_hex[0] != '\0')
		txn_result_fact(&t->result, "dhcp_option_43", "%s", r->opt43_hex);
	if (r->opt120_hex[0] != '\0')
		txn_result_fact(&t->result, "dhcp_option_120", "%s", r->opt120_hex);
	if (r->ntp_servers[0] != '\0')
		snprintf(ntp, sizeof ntp, "; NTP (option 42) %s", r->ntp_servers);
	txn_result_fact(&t->result, "discover", "dhcp: %s from %s, %s; %u sent, %u answered%s",
	                r->message, r->local[0] != '\0' ? r->local : "?", t->dhcp_interface,
	                r->attempts, r->answers, ntp);
}

static void cp_dhcp_done(const struct dhcp_discover_result *r, void *arg)
{
	struct cp_txn *t = arg;

	t->dhcp = NULL; /* freed by dhcp_client once we return */
	cp_dhcp_facts(t, r);
	if (r->status != TXN_OK) {
		cp_fail(t, t->discover_step, r->status, "%s", r->detail);
		cp_finish(t);
		return;
	}
	if (strncmp(r->certprov_url, "https://", 8) != 0) {
		/* sub-option 2 "http": the device's CertProv is HTTPS (the loader's rule too) */
		cp_fail(t, t->discover_step, TXN_DHCP_OPT43_MALFORMED,
		        "option 43 gives %s: Web Services answer CertProv over HTTPS (sub-option "
		        "2 must be https)",
		        r->certprov_url);
		cp_finish(t);
		return;
	}
	cp_discovered(t, r->certprov_url, r->registrar);
	txn_step_end(&t->result, t->discover_step, TXN_OK,
	             "CertProv %s, Registrar %s (options 43 and 120 from DHCP server %s in "
	             "%.1f ms)",
	             t->certprov_url, t->registrar, r->server, (double)r->answer_us / 1000.0);
	cp_run(t);
}

/* DHCPINFORM (DISCOVER without an address) as the phone sends it, on the loop. */
static enum step_ret cp_discover_dhcp(struct cp_txn *t)
{
	const struct certprov_dhcp_conf *c = &t->spec->dhcp;
	struct dhcp_discover_opts o = {
	    .server = c->server, .timeout_ms = c->timeout_ms, .retries = c->retries};
	char ifname[32];
	const char *why = "configured";

	if (c->interface != NULL) {
		snprintf(ifname, sizeof ifname, "%s", c->interface);
	} else if (dhcp_default_interface(ifname, sizeof ifname, &why) == -1) {
		return cp_fail(t, t->discover_step, TXN_PROBE_DHCP_SOCKET,
		               "no interface to send DHCP on (none is up besides loopback): set "
		               "dhcp.interface");
	}
	snprintf(t->dhcp_interface, sizeof t->dhcp_interface, "%s (%s)", ifname, why);
	txn_result_fact(&t->result, "discover", "dhcp on %s", t->dhcp_interface);
	o.interface = ifname; /* copied by dhcp_discover_start */
	/*
	 * A little less than what is left: the discovery then reports its own "no answer"
	 * (with the attempts made) just before the transaction's deadline would.
	 */
	o.budget_ms = deadline_remaining(&t->deadline);
	if (o.budget_ms > 2 * CP_DHCP_MARGIN_MS)
		o.budget_ms -= CP_DHCP_MARGIN_MS;
	else if (o.budget_ms == 0)
		o.budget_ms = 1;
	t->http_what = "the DHCP server";
	t->step = CP_STEP_DISCOVER_REPLY;
	t->dhcp = dhcp_discover_start(t->env.base, &o, cp_dhcp_done, t);
	return STEP_WAIT;
}

static enum step_ret cp_step_discover(struct cp_txn *t)
{
	size_t i = txn_step_begin(&t->result, "discover");
	struct fileload_fail f;
	char why[160];

	t->discover_step = i;
	if (t->files_rc[0] == -1) {
		f = t->files_fail[0];
		return cp_fail(t, i,
		               f.why == FILELOAD_NOT_REGULAR ? TXN_PROBE_FILE_NOT_REGULAR
		               : f.why == FILELOAD_TOO_LARGE ? TXN_PROBE_FILE_TOO_LARGE
		                                             : TXN_PROBE_FILE_UNREADABLE,
		               "trust_store %s: %s", t->spec->trust_store,
		               fileload_describe(&f, FILELOAD_MAX_PEM_BUNDLE, why, sizeof why));
	}
	if (t->spec->discover == CERTPROV_DISCOVER_DHCP)
		return cp_discover_dhcp(t);
	txn_result_fact(&t->result, "discover", "static (certprov_url and registrar configured)");
	cp_discovered(t, t->spec->certprov_url, t->spec->registrar);
	txn_step_end(&t->result, i, TXN_OK, "CertProv %s, Registrar %s", t->certprov_url,
	             t->registrar);
	return STEP_CONTINUE;
}

static enum step_ret cp_step_root_chain(struct cp_txn *t)
{
	char url[700];

	if (t->spec->root_chain == CERTPROV_ROOT_CHAIN_OFF) {
		txn_result_fact(&t->result, "root_chain", "off: the device trust store alone");
		t->step = CP_STEP_TLS_VERIFY;
		return STEP_CONTINUE;
	}
	if (t->spec->root_chain == CERTPROV_ROOT_CHAIN_URL)
		snprintf(url, sizeof url, "%s", t->spec->root_chain_url);
	else
		cp_anon_url(t->certprov_url, url, sizeof url);
	txn_result_fact(&t->result, "root_chain_url", "%s", url);
	cp_http_start(t, "root_chain", "the anonymous CertProv URL (root chain)", url, NULL, NULL,
	              false, false);
	t->step = CP_STEP_ROOT_CHAIN_REPLY;
	return STEP_WAIT;
}

static enum step_ret cp_step_root_chain_reply(struct cp_txn *t)
{
	char desc[TXN_DETAIL_LEN];
	int roots = 0, added = 0;

	if (cp_http_failed(t))
		return cp_fail(t, t->http_step, TXN_CERTPROV_ROOT_CHAIN_FAILED, "%s: %s (%s)",
		               t->http_what, txn_status_code(t->http_error), t->http_error_detail);
	if (t->http_status != 200)
		return cp_fail(t, t->http_step, TXN_CERTPROV_ROOT_CHAIN_FAILED,
		               "%s answered HTTP %ld", t->http_what, t->http_status);
	t->root_chain = certprov_chain_parse(t->body.data, t->body.len);
	if (t->root_chain == NULL) {
		txn_result_fact(&t->result, "root_chain",
		                "reachable, no certificates in the answer "
		                "(%zu bytes)",
		                t->body.len);
	} else {
		/* the device trusts the roots it ships with; the chain supplies intermediates */
		STACK_OF(X509) *inter = sk_X509_new_null();
		for (int k = 0; k < sk_X509_num(t->root_chain); k++) {
			X509 *x = sk_X509_value(t->root_chain, k);
			if (pki_cert_is_self_signed(x))
				roots++;
			else if (sk_X509_push(inter, x) > 0)
				added++;
		}
		certprov_chain_pem(inter, &t->trust);
		sk_X509_free(inter);
		certprov_chain_describe(t->root_chain, desc, sizeof desc);
		txn_result_fact(&t->result, "root_chain", "%d certificate(s): %s",
		                sk_X509_num(t->root_chain), desc);
	}
	cp_http_ok(t, "%d certificate(s), %d root(s)", certprov_chain_count(t->root_chain), roots);
	(void)added;
	t->step = CP_STEP_TLS_VERIFY;
	return STEP_CONTINUE;
}

/*
 * tls_verify and mex are one exchange on a fresh connection (the device's first HTTPS to
 * Web Services, verified every run): the handshake is the tls_verify step, the answer
 * the mex step, each with its own time.
 */
static enum step_ret cp_step_tls_verify(struct cp_txn *t)
{
	char url[700];

	snprintf(url, sizeof url, "%s/mex", t->certprov_url);
	cp_http_start(t, "tls_verify", "Web Services over HTTPS (CertProv /mex)", url, NULL, NULL,
	              false, true);
	t->step = CP_STEP_TLS_VERIFY_REPLY;
	return STEP_WAIT;
}

static enum step_ret cp_step_tls_verify_reply(struct cp_txn *t)
{
	enum txn_status st = t->http_error;
	struct txn_step_record *rec;
	char url[700];
	size_t i;

	if (st == TXN_OK) {
		/* any HTTP answer: the device verified the Web Services certificate */
		txn_result_fact(&t->result, "websvc_tls",
		                "verified against the device trust store%s",
		                t->root_chain != NULL ? " and the downloaded chain" : "");
		txn_step_end(&t->result, t->http_step, TXN_OK, "handshake %.1f ms, chain verified",
		             (double)(t->tls_us - t->connect_us) / 1000.0);
		rec = &t->result
		           .steps[t->http_step < TXN_MAX_STEPS ? t->http_step : TXN_MAX_STEPS - 1];
		i = txn_step_begin(&t->result, "mex");
		if (t->tls_us > 0 && t->tls_us < t->total_us) {
			/* the exchange's phases, split where the handshake ended */
			uint64_t start = rec->start_us;
			rec->duration_us = t->tls_us;
			t->result.steps[i].start_us = start + t->tls_us;
		}
		t->http_step = i;
		t->step = CP_STEP_MEX_REPLY;
		return STEP_CONTINUE;
	}
	if (!cp_is_tls(st))
		return cp_fail(t, t->http_step, TXN_CERTPROV_UNREACHABLE, "%s: %s (%s)",
		               t->http_what, txn_status_code(st), t->http_error_detail);
	if (st == TXN_TLS_CERT_EXPIRED || st == TXN_TLS_CERT_NOT_YET_VALID ||
	    st == TXN_TLS_NAME_MISMATCH || st == TXN_TLS_HANDSHAKE)
		return cp_fail(t, t->http_step, st, "cannot verify Web Services certificate: %s",
		               t->http_error_detail);
	/* name the missing link: look at what the server sends, without trusting it */
	t->tls_status = st;
	snprintf(t->tls_detail, sizeof t->tls_detail, "%s", t->http_error_detail);
	snprintf(url, sizeof url, "%s/mex", t->certprov_url);
	cp_http_start(t, NULL, "Web Services' certificate chain", url, NULL, NULL, true, true);
	t->step = CP_STEP_TLS_DIAG_REPLY;
	return STEP_WAIT;
}

static enum step_ret cp_step_tls_diag_reply(struct cp_txn *t)
{
	STACK_OF(X509) *sent = NULL;
	enum txn_status st = TXN_CERTPROV_WEBSVC_UNTRUSTED;
	char why[TXN_DETAIL_LEN];

	if (t->http_error == TXN_OK)
		sent = certprov_chain_parse(t->peer_chain.data, t->peer_chain.len);
	if (sent == NULL) {
		snprintf(why, sizeof why, "%s", t->tls_detail);
		st = t->tls_status == TXN_TLS_CHAIN_INCOMPLETE
		         ? TXN_CERTPROV_WEBSVC_CHAIN_INCOMPLETE
		         : TXN_CERTPROV_WEBSVC_UNTRUSTED;
	} else {
		st = certprov_chain_diagnose(sent, (const char *)t->trust.data, t->trust.len, why,
		                             sizeof why);
		/* verifies here, not in the handshake: keep the handshake's word */
		if (st == TXN_OK)
			st = TXN_CERTPROV_WEBSVC_UNTRUSTED;
	}
	certprov_chain_free(sent);
	return cp_fail(t, t->http_step, st, "%s", why);
}

static enum step_ret cp_step_mex_reply(struct cp_txn *t)
{
	char detail[TXN_DETAIL_LEN];
	enum txn_status st;

	if (t->http_status != 200)
		return cp_fail(t, t->http_step, TXN_CERTPROV_METADATA_BAD, "%s answered HTTP %ld",
		               t->http_what, t->http_status);
	st = certprov_mex_parse(t->body.data, t->body.len, &t->mex, detail, sizeof detail);
	if (st != TXN_OK)
		return cp_fail(t, t->http_step, st, "%s", detail);
	cp_http_ok(t, NULL);
	txn_result_fact(&t->result, "webticket_url", "%s", t->mex.webticket_url);
	txn_result_fact(&t->result, "certprov_auth_url", "%s", t->mex.auth_url);
	t->step = CP_STEP_WEB_TICKET;
	return STEP_CONTINUE;
}

static bool cp_ticket_fresh(const struct cp_cached_ticket *c)
{
	return c != NULL && certprov_ticket_usable(&c->ticket, time(NULL));
}

static enum step_ret cp_step_web_ticket(struct cp_txn *t)
{
	const struct certprov_conf *sc = t->spec;
	const bool pin = sc->phone != NULL;
	struct certprov_issue_req req = {0};
	char *secret = NULL, err[200], msgid[64], ctx[48], uuid[40];
	struct bbuf body;
	size_t i;

	certprov_conf_shape(sc, &t->shape);
	snprintf(t->webticket_url, sizeof t->webticket_url, "%s%s", t->mex.webticket_url,
	         t->shape.url_suffix);
	snprintf(t->ticket_key, sizeof t->ticket_key, "%s\n%s\n%s", t->conf->name, t->webticket_url,
	         pin ? sc->phone : sc->username);
	txn_result_fact(&t->result, "credential", "%s %s (%s)", pin ? "phone" : "user",
	                pin ? sc->phone : sc->username,
	                pin                  ? "PIN"
	                : t->shape.http_auth ? "NTLM/Negotiate"
	                                     : "UsernameToken");
	t->ticket = cp_ticket_find(t->ticket_key);
	if (cp_ticket_fresh(t->ticket)) {
		i = txn_step_begin(&t->result, "web_ticket");
		txn_step_end(&t->result, i, TXN_OK, "cached ticket, expires %s",
		             t->ticket->ticket.expires);
		txn_result_fact(&t->result, "web_ticket", "cached, expires %s",
		                t->ticket->ticket.expires);
		t->step = CP_STEP_CSR;
		return STEP_CONTINUE;
	}
	if (t->ticket != NULL) {
		cp_ticket_drop(t->ticket_key);
		t->ticket = NULL;
	}
	if (secret_resolve(pin ? &sc->pin : &sc->password, &secret, err, sizeof err) == -1) {
		i = txn_step_begin(&t->result, "web_ticket");
		return cp_fail(t, i, TXN_PROBE_SECRET_UNAVAILABLE, "%s: %s",
		               pin ? "pin" : "password", err);
	}
	if (pki_random(t->entropy, sizeof t->entropy) == -1 ||
	    certprov_uuid(uuid, sizeof uuid) == -1 || certprov_uuid(ctx, sizeof ctx) == -1) {
		secret_wipe_free(secret);
		i = txn_step_begin(&t->result, "web_ticket");
		return cp_fail(t, i, TXN_PROBE_INTERNAL, "no random bytes");
	}
	snprintf(msgid, sizeof msgid, "urn:uuid:%s", uuid);
	req.to = t->webticket_url;
	req.applies_to = t->mex.auth_url;
	req.sip_uri = sc->sip_uri;
	req.username = pin ? sc->phone : sc->username;
	req.password = secret;
	req.entropy = t->entropy;
	req.message_id = msgid;
	req.context = ctx;
	req.shape = &t->shape;
	bbuf_init(&body, CERTPROV_SOAP_MAX);
	if (certprov_issue_build(&req, &body) == -1) {
		secret_wipe_free(secret);
		if (body.data != NULL)
			explicit_bzero(body.data, body.alloc);
		bbuf_free(&body);
		i = txn_step_begin(&t->result, "web_ticket");
		return cp_fail(t, i, TXN_PROBE_INTERNAL, "cannot build the IssueToken request");
	}
	if (t->shape.http_auth) {
		t->auth_user = sc->username;
		t->auth_password = secret;
	}
	cp_http_start(t, "web_ticket", "the Web-Ticket service", t->webticket_url, &body,
	              CERTPROV_ACTION_ISSUE, false, false);
	t->auth_user = t->auth_password = NULL;
	secret_wipe_free(secret);
	/* the request holds the credential: the client copied it */
	explicit_bzero(body.data, body.alloc);
	bbuf_free(&body);
	t->step = CP_STEP_WEB_TICKET_REPLY;
	return STEP_WAIT;
}

static void cp_fault_facts(struct cp_txn *t, const struct certprov_fault *f)
{
	if (t->http_header[0] != '\0')
		txn_result_fact(&t->result, "x_ms_diagnostics", "%s", t->http_header);
	if (f->present && f->error_id >= 0)
		txn_result_fact(&t->result, "fault", "ErrorId %ld %s: %s", f->error_id, f->code,
		                f->reason);
	else if (f->present)
		txn_result_fact(&t->result, "fault", "%s: %s", f->code, f->reason);
}

static enum step_ret cp_step_web_ticket_reply(struct cp_txn *t)
{
	struct certprov_ticket ticket;
	struct certprov_fault fault, diag;
	struct cp_cached_ticket *c;
	char detail[TXN_DETAIL_LEN];
	enum txn_status st;

	if (cp_http_failed(t))
		return cp_fail(t, t->http_step,
		               cp_is_tls(t->http_error) ? t->http_error : TXN_WEBTICKET_NO_RESPONSE,
		               "no response received for Web-Ticket service: %s (%s)",
		               txn_status_code(t->http_error), t->http_error_detail);
	certprov_diagnostics_parse(t->http_header, &diag);
	st = certprov_rstr_parse(t->body.data, t->body.len, &ticket, &fault, detail, sizeof detail);
	if (t->http_status == 200 && st == TXN_OK) {
		c = xcalloc(1, sizeof *c);
		snprintf(c->key, sizeof c->key, "%s", t->ticket_key);
		c->ticket = ticket;
		if (ticket.proof_key_direct &&
		    ticket.server_entropy_len >= CERTPROV_PROOF_KEY_LEN) {
			memcpy(c->proof_key, ticket.server_entropy, CERTPROV_PROOF_KEY_LEN);
			c->have_proof = true;
		} else if (!ticket.proof_key_direct && ticket.server_entropy_len > 0 &&
		           t->shape.entropy) {
			certprov_psha1(t->entropy, sizeof t->entropy, ticket.server_entropy,
			               ticket.server_entropy_len, c->proof_key,
			               sizeof c->proof_key);
			c->have_proof = true;
		}
		c->next = cp_tickets;
		cp_tickets = c;
		t->ticket = c;
		cp_http_ok(t, "ticket expires %s", ticket.expires);
		txn_result_fact(&t->result, "web_ticket", "new, expires %s%s", ticket.expires,
		                c->have_proof ? "" : " (bearer: no proof key)");
		t->step = CP_STEP_CSR;
		return STEP_CONTINUE;
	}
	if (!fault.present && diag.present)
		fault = diag;
	cp_fault_facts(t, &fault);
	if (fault.present) {
		st = certprov_webticket_status(&fault);
		if (fault.error_id >= 0)
			return cp_fail(t, t->http_step, st,
			               "could not get web ticket: HTTP %ld, ErrorId %ld: %s",
			               t->http_status, fault.error_id, fault.reason);
		return cp_fail(t, t->http_step, st, "could not get web ticket: HTTP %ld, %s: %s",
		               t->http_status, fault.code, fault.reason);
	}
	if (t->shape.http_auth && (t->http_status == 401 || t->http_status == 403))
		return cp_fail(t, t->http_step, TXN_WEBTICKET_FAULT,
		               "could not get web ticket: HTTP %ld, the Windows (NTLM/Negotiate) "
		               "credentials of %s were refused",
		               t->http_status, t->spec->username);
	if (t->http_status >= 500 || t->body.len == 0)
		return cp_fail(t, t->http_step, TXN_WEBTICKET_NO_RESPONSE,
		               "no response received for Web-Ticket service: HTTP %ld, %zu bytes",
		               t->http_status, t->body.len);
	return cp_fail(t, t->http_step, TXN_WEBTICKET_FAULT, "HTTP %ld: %s", t->http_status,
	               detail);
}

static enum step_ret cp_step_csr(struct cp_txn *t)
{
	size_t i = txn_step_begin(&t->result, "csr");

	bbuf_init(&t->csr, 64 * 1024);
	if (certprov_csr_base64(t->key, t->entity, &t->csr) == -1)
		return cp_fail(t, i, TXN_PROBE_INTERNAL, "cannot build the PKCS#10 request");
	txn_step_end(&t->result, i, TXN_OK, "PKCS#10 CN=%s, RSA %u, %zu base64 characters",
	             t->entity, t->spec->key.bits, t->csr.len);
	t->step = CP_STEP_GAPC;
	return STEP_CONTINUE;
}

static enum step_ret cp_step_gapc(struct cp_txn *t)
{
	struct certprov_gapc_req req = {0};
	char msgid[64], reqid[40], uuid[40];
	struct bbuf body;
	size_t i;

	if (certprov_uuid(uuid, sizeof uuid) == -1 || certprov_uuid(reqid, sizeof reqid) == -1) {
		i = txn_step_begin(&t->result, "get_and_publish_cert");
		return cp_fail(t, i, TXN_PROBE_INTERNAL, "no random bytes");
	}
	snprintf(msgid, sizeof msgid, "urn:uuid:%s", uuid);
	req.to = t->mex.auth_url;
	req.ticket = &t->ticket->ticket;
	req.proof_key = t->ticket->have_proof ? t->ticket->proof_key : NULL;
	req.device_id = t->device_id;
	req.entity = t->entity;
	req.csr_b64 = (const char *)t->csr.data;
	req.request_id = reqid;
	req.message_id = msgid;
	bbuf_init(&body, CERTPROV_SOAP_MAX);
	if (certprov_gapc_build(&req, &body) == -1) {
		bbuf_free(&body);
		i = txn_step_begin(&t->result, "get_and_publish_cert");
		return cp_fail(t, i, TXN_PROBE_INTERNAL,
		               "cannot build the GetAndPublishCert request");
	}
	txn_result_fact(&t->result, "device_id", "%s", t->device_id);
	txn_result_fact(&t->result, "entity", "%s", t->entity);
	cp_http_start(t, "get_and_publish_cert", "CertProv GetAndPublishCert", t->mex.auth_url,
	              &body, CERTPROV_ACTION_GAPC, false, false);
	bbuf_free(&body);
	t->step = CP_STEP_GAPC_REPLY;
	return STEP_WAIT;
}

static enum step_ret cp_step_gapc_reply(struct cp_txn *t)
{
	char detail[TXN_DETAIL_LEN];
	struct certprov_fault diag;
	enum txn_status st;

	if (cp_http_failed(t)) {
		st = t->http_error;
		if (!cp_is_tls(st) && st != TXN_RESPONSE_TOO_LARGE)
			st = TXN_CERTPROV_SERVICE_DOWN;
		return cp_fail(t, t->http_step, st, "%s: %s (%s)", t->http_what,
		               txn_status_code(t->http_error), t->http_error_detail);
	}
	certprov_diagnostics_parse(t->http_header, &diag);
	if (t->http_status == 401 || t->http_status == 403) {
		cp_fault_facts(t, &diag);
		cp_ticket_drop(t->ticket_key); /* the next run asks for a new one */
		t->ticket = NULL;
		return cp_fail(t, t->http_step, TXN_CERTPROV_TICKET_REJECTED,
		               "HTTP %ld, X-Ms-diagnostics: %s", t->http_status,
		               t->http_header[0] ? t->http_header : "(none)");
	}
	st = certprov_gapc_parse(t->body.data, t->body.len, &t->answer, detail, sizeof detail);
	cp_fault_facts(t, &t->answer.fault);
	if (t->answer.error_info)
		txn_result_fact(&t->result, "error_info", "%s", t->answer.error_text);
	if (t->answer.disposition[0] != '\0')
		txn_result_fact(&t->result, "disposition", "%s", t->answer.disposition);
	if (t->http_status >= 500) {
		if (t->answer.fault.present)
			return cp_fail(t, t->http_step, TXN_CERTPROV_FAULT, "HTTP %ld, %s",
			               t->http_status, detail);
		return cp_fail(t, t->http_step, TXN_CERTPROV_SERVICE_DOWN, "HTTP %ld, %zu bytes",
		               t->http_status, t->body.len);
	}
	if (t->http_status != 200)
		return cp_fail(t, t->http_step, TXN_CERTPROV_FAULT, "HTTP %ld%s%s", t->http_status,
		               st != TXN_OK ? ", " : "", st != TXN_OK ? detail : "");
	if (st != TXN_OK)
		return cp_fail(t, t->http_step, st, "%s", detail);
	cp_http_ok(t, "%s", t->answer.disposition);
	t->step = CP_STEP_VERIFY;
	return STEP_CONTINUE;
}

static enum step_ret cp_step_verify(struct cp_txn *t)
{
	size_t i = txn_step_begin(&t->result, "verify");
	char detail[TXN_DETAIL_LEN], more[200];
	bool chain_checked = false;
	struct fileload_fail f;
	enum txn_status st;

	if (t->answer.chain.len > 0)
		t->published = certprov_chain_parse(t->answer.chain.data, t->answer.chain.len);
	if (t->spec->issuer_ca != NULL && t->files_rc[1] == -1) {
		f = t->files_fail[1];
		return cp_fail(t, i, TXN_PROBE_FILE_UNREADABLE, "issuer_ca %s: %s",
		               t->spec->issuer_ca,
		               fileload_describe(&f, FILELOAD_MAX_PEM_BUNDLE, more, sizeof more));
	}
	st = certprov_issued_check(t->answer.cert.data, t->answer.cert.len, t->key, t->entity,
	                           CP_MIN_VALIDITY_S, t->published, t->issuer_ca_pem,
	                           t->issuer_ca_len, &t->issued, &chain_checked, detail,
	                           sizeof detail);
	if (st != TXN_OK)
		return cp_fail(t, i, st, "%s", detail);
	pki_name_string(X509_get_subject_name(t->issued.cert), more, sizeof more);
	txn_result_fact(&t->result, "issued_subject", "%s", more);
	pki_name_string(X509_get_issuer_name(t->issued.cert), more, sizeof more);
	txn_result_fact(&t->result, "issued_issuer", "%s", more);
	pki_cert_fingerprint_string(t->issued.cert, more, sizeof more);
	txn_result_fact(&t->result, "issued_fingerprint", "%s", more);
	pki_time_string(X509_get0_notAfter(t->issued.cert), more, sizeof more);
	txn_result_fact(&t->result, "issued_not_after", "%s", more);
	txn_result_fact(&t->result, "issued_valid_for", "%.1f days",
	                (double)t->issued.seconds_left / 86400.0);
	txn_result_fact(&t->result, "issued_chain", "%s",
	                chain_checked ? "chains to the published chain or issuer_ca"
	                              : "not checked: no PKCS#7 chain published, no issuer_ca");
	txn_step_end(&t->result, i, TXN_OK, "our key, entity %s, valid %.1f days%s", t->entity,
	             (double)t->issued.seconds_left / 86400.0, chain_checked ? ", chains" : "");
	t->step = CP_STEP_STORE;
	return STEP_CONTINUE;
}

/*
 * On the worker: the directory, identity.pem (key + certificate + chain: one file, one
 * rename), then dir/registrar when its line differs (a reader sees old or new).
 */
static void cp_registrar_work(void *arg)
{
	struct cp_registrar_job *j = arg;
	char old[sizeof j->line];

	if (scep_store_mkdir(j->state_dir, j->dir) == -1) {
		j->err = errno != 0 ? errno : EIO;
		j->failed = "";
		return;
	}
	if (scep_store_write_file(j->dir, TXN_STATE_IDENTITY, j->identity, j->identity_len) == -1) {
		j->err = errno != 0 ? errno : EIO;
		j->failed = TXN_STATE_IDENTITY;
		return;
	}
	if (scep_store_read(j->dir, TXN_STATE_REGISTRAR, old, sizeof old) == 0 &&
	    strcmp(old, j->line) == 0)
		return;
	j->changed = true;
	if (scep_store_write(j->dir, TXN_STATE_REGISTRAR, j->line) == -1) {
		j->err = errno != 0 ? errno : EIO;
		j->failed = TXN_STATE_REGISTRAR;
	}
}

static void cp_registrar_job_free(struct cp_registrar_job *j)
{
	if (j->identity != NULL)
		explicit_bzero(j->identity, j->identity_len);
	free(j->identity);
	free(j);
}

static void cp_registrar_discard(void *arg)
{
	cp_registrar_job_free(arg);
}

/* Back on the loop: the store step ends (unless the run ended or went meanwhile). */
static void cp_registrar_done(void *arg)
{
	struct cp_registrar_job *j = arg;
	struct cp_txn *t = j->t;

	if (t != NULL) {
		t->registrar_job = NULL;
		if (!t->finished) {
			if (j->err != 0) {
				cp_fail(t, t->store_step, TXN_PROBE_STATE_WRITE, "%s/%s: %s",
				        t->dir, j->failed, strerror(j->err));
			} else {
				txn_result_fact(&t->result, "registrar_recorded", "%s%s", j->line,
				                j->changed ? "" : " (unchanged)");
				txn_step_end(&t->result, t->store_step, TXN_OK, "%s", t->dir);
			}
			cp_finish(t);
		}
	}
	cp_registrar_job_free(j);
}

/* "host:port" of the registrar the run used: Lync's 5061 unless it names a port. */
static void cp_registrar_line(const char *reg, char *buf, size_t len)
{
	const char *colon = strrchr(reg, ':');

	if (reg[0] == '[' || (colon != NULL && strchr(reg, ':') == colon))
		snprintf(buf, len, "%s", reg);
	else
		snprintf(buf, len, "%s:5061", reg);
}

/* identity.pem and the registrar line, written on the files worker; the run waits. */
static enum step_ret cp_step_store(struct cp_txn *t)
{
	size_t i = txn_step_begin(&t->result, "store");
	struct cp_registrar_job *j = xcalloc(1, sizeof *j);

	if (pki_identity_pem(t->key, t->issued.cert, t->issued.chain, &j->identity,
	                     &j->identity_len) == -1) {
		cp_registrar_job_free(j);
		return cp_fail(t, i, TXN_PROBE_INTERNAL, "cannot encode the identity as PEM");
	}
	j->t = t;
	snprintf(j->state_dir, sizeof j->state_dir, "%s", t->env.state_dir);
	snprintf(j->dir, sizeof j->dir, "%s", t->dir);
	cp_registrar_line(t->registrar, j->line, sizeof j->line);
	t->store_step = i;
	if (t->env.files == NULL) {
		/* no worker (a test's env): write here */
		cp_registrar_work(j);
		j->t = NULL;
		if (j->err != 0) {
			int err = j->err;
			const char *failed = j->failed;
			cp_registrar_job_free(j);
			return cp_fail(t, i, TXN_PROBE_STATE_WRITE, "%s/%s: %s", t->dir, failed,
			               strerror(err));
		}
		txn_result_fact(&t->result, "registrar_recorded", "%s", j->line);
		cp_registrar_job_free(j);
		txn_step_end(&t->result, i, TXN_OK, "%s", t->dir);
		return STEP_DONE;
	}
	t->registrar_job = j;
	offload_submit(t->env.files, j, cp_registrar_work, cp_registrar_done, cp_registrar_discard);
	return STEP_WAIT;
}

static enum step_ret cp_step(struct cp_txn *t)
{
	switch (t->step) {
	case CP_STEP_DISCOVER:
		return cp_step_discover(t);
	case CP_STEP_DISCOVER_REPLY:
		return STEP_WAIT; /* not reached: cp_dhcp_done moves on */
	case CP_STEP_ROOT_CHAIN:
		return cp_step_root_chain(t);
	case CP_STEP_ROOT_CHAIN_REPLY:
		return cp_step_root_chain_reply(t);
	case CP_STEP_TLS_VERIFY:
		return cp_step_tls_verify(t);
	case CP_STEP_TLS_VERIFY_REPLY:
		return cp_step_tls_verify_reply(t);
	case CP_STEP_TLS_DIAG_REPLY:
		return cp_step_tls_diag_reply(t);
	case CP_STEP_MEX_REPLY:
		return cp_step_mex_reply(t);
	case CP_STEP_WEB_TICKET:
		return cp_step_web_ticket(t);
	case CP_STEP_WEB_TICKET_REPLY:
		return cp_step_web_ticket_reply(t);
	case CP_STEP_CSR:
		return cp_step_csr(t);
	case CP_STEP_GAPC:
		return cp_step_gapc(t);
	case CP_STEP_GAPC_REPLY:
		return cp_step_gapc_reply(t);
	case CP_STEP_VERIFY:
		return cp_step_verify(t);
	case CP_STEP_STORE:
		return cp_step_store(t);
	}
	return STEP_DONE;
}

static void cp_run(struct cp_txn *t)
{
	enum step_ret r;

	do
		r = cp_step(t);
	while (r == STEP_CONTINUE);
	if (r == STEP_DONE)
		cp_finish(t);
}

/* ---------------------------------------------------------------- start */

/* On the worker: read the run's files (bounded by fileload's caps). */
static void cp_files_work(void *arg)
{
	struct cp_files_job *j = arg;

	for (int k = 0; k < 2; k++)
		if (j->path[k] != NULL)
			j->rc[k] = fileload_read(j->path[k], FILELOAD_MAX_PEM_BUNDLE, &j->text[k],
			                         &j->len[k], &j->fail[k]);
}

static void cp_files_discard(void *arg)
{
	struct cp_files_job *j = arg;

	free(j->path[0]);
	free(j->path[1]);
	free(j->text[0]);
	free(j->text[1]);
	free(j);
}

static void cp_begin(struct cp_txn *t);

/* Back on the loop: hand the texts to the run (when it still exists) and go on. */
static void cp_files_done(void *arg)
{
	struct cp_files_job *j = arg;
	struct cp_txn *t = j->t;

	if (t == NULL) {
		cp_files_discard(j);
		return;
	}
	t->files_job = NULL;
	t->trust_text = j->text[0];
	t->trust_len = j->len[0];
	t->issuer_ca_pem = j->text[1];
	t->issuer_ca_len = j->len[1];
	memcpy(t->files_rc, j->rc, sizeof t->files_rc);
	memcpy(t->files_fail, j->fail, sizeof t->files_fail);
	j->text[0] = j->text[1] = NULL;
	cp_files_discard(j);
	cp_begin(t);
}

static void cp_begin(struct cp_txn *t)
{
	size_t i;

	txn_result_init_for(&t->result, t->conf);
	deadline_set(&t->deadline, t->conf->timeout_ms);
	{
		uint64_t ms = deadline_remaining(&t->deadline);
		struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
		                     .tv_usec = (suseconds_t)(ms % 1000) * 1000};
		event_add(t->deadline_ev, &tv);
	}
	i = txn_step_begin(&t->result, "key");
	if (t->key == NULL) {
		cp_fail(t, i, TXN_PROBE_KEY_FAILED, "key generation failed");
		cp_finish(t);
		return;
	}
	txn_step_end(&t->result, i, TXN_OK,
	             "fresh RSA %u key from the pool (made off-path in %.1f ms)", t->spec->key.bits,
	             (double)t->key_gen_us / 1000.0);
	txn_result_fact(&t->result, "key", "rsa%u fresh", t->spec->key.bits);
	cp_run(t);
}

static void cp_key_ready(EVP_PKEY *key, uint64_t gen_us, void *arg)
{
	struct cp_txn *t = arg;
	struct cp_files_job *j = xcalloc(1, sizeof *j);

	t->key = key;
	t->key_gen_us = gen_us;
	j->t = t;
	j->path[0] = xstrdup(t->spec->trust_store);
	j->path[1] = t->spec->issuer_ca != NULL ? xstrdup(t->spec->issuer_ca) : NULL;
	if (t->env.files == NULL) {
		/* no worker (a test's env): read here */
		cp_files_work(j);
		cp_files_done(j);
		return;
	}
	t->files_job = j;
	offload_submit(t->env.files, j, cp_files_work, cp_files_done, cp_files_discard);
}

static void cp_configured_registrar(const struct txn_conf *conf, char *buf, size_t len)
{
	const struct certprov_conf *sc = conf->spec;

	if (sc->discover != CERTPROV_DISCOVER_STATIC || sc->registrar == NULL) {
		snprintf(buf, len, "%s", "");
		return;
	}
	cp_registrar_line(sc->registrar, buf, len);
}

static void *cp_txn_start(const struct txn_env *env, const struct txn_conf *conf, txn_done_cb *cb,
                          void *arg)
{
	struct cp_txn *t = xcalloc(1, sizeof *t);
	const struct certprov_conf *sc = conf->spec;
	struct key_spec spec = {.rsa_bits = (int)sc->key.bits};
	char seed[300];

	t->env = *env;
	t->conf = conf;
	t->spec = sc;
	t->cb = cb;
	t->arg = arg;
	bbuf_init(&t->body, 0);
	bbuf_init(&t->peer_chain, 0);
	bbuf_init(&t->trust, 0);
	bbuf_init(&t->csr, 0);
	certprov_gapc_answer_init(&t->answer);
	txn_state_dir(env->state_dir, conf->name, t->dir, sizeof t->dir);
	certprov_conf_entity(sc, t->entity, sizeof t->entity);
	/* stable per transaction: the device's identity does not change between runs */
	snprintf(seed, sizeof seed, "certprobe phone-bootstrap %s %s", conf->name, t->entity);
	certprov_device_id(seed, t->device_id, sizeof t->device_id);
	if (sc->connect_to != NULL)
		snprintf(t->connect_to, sizeof t->connect_to, "::%s:", sc->connect_to);
	t->deadline_ev = evtimer_new(env->base, cp_deadline_cb, t);
	keypool_get(env->keys, &spec, cp_key_ready, t);
	return t;
}

static void cp_txn_free(void *run)
{
	struct cp_txn *t = run;

	if (t == NULL)
		return;
	http_request_cancel(t->http);
	dhcp_discover_cancel(t->dhcp);
	keypool_cancel(t->env.keys, t);
	if (t->files_job != NULL)
		t->files_job->t = NULL; /* the queue owns it: done() frees it */
	if (t->registrar_job != NULL)
		t->registrar_job->t = NULL;
	free(t->trust_text);
	free(t->issuer_ca_pem);
	event_free(t->deadline_ev);
	bbuf_free(&t->body);
	bbuf_free(&t->peer_chain);
	bbuf_free(&t->trust);
	bbuf_free(&t->csr);
	certprov_gapc_answer_clear(&t->answer);
	certprov_chain_free(t->root_chain);
	certprov_chain_free(t->published);
	certprov_issued_clear(&t->issued);
	explicit_bzero(t->entropy, sizeof t->entropy);
	EVP_PKEY_free(t->key);
	free(t);
}

/* ---------------------------------------------------------------- the type */

static const char *const cp_steps[] = {
    "key",    "discover",   "root_chain", "tls_verify",
    "mex",    "web_ticket", "csr",        "get_and_publish_cert",
    "verify", "store",      NULL,
};

const struct txn_type certprov_txn_type = {
    .name = "phone-bootstrap",
    .protocol = certprov_conf_protocol,
    .endpoint = certprov_conf_endpoint,
    .describe = certprov_conf_describe,
    .start = cp_txn_start,
    .free = cp_txn_free,
    .steps = cp_steps,
    .keys = certprov_conf_keys,
    .conf_new = certprov_conf_new,
    .conf_free = certprov_conf_free,
    .conf_check = certprov_conf_check,
    .issues_certificate = true,
    .records_registrar = true,
    .configured_registrar = cp_configured_registrar,
};
