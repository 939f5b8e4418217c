/*
 * clientauth_int: what the client-auth transaction's files share (clientauth_txn.c, the
 * step machine and the TLS/SIP steps; clientauth_discover.c, discovery and resolution).
 * Not for use outside this folder.
 */
#ifndef CERTPROBE_CLIENTAUTH_INT_H
#define CERTPROBE_CLIENTAUTH_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/util.h>

#include "core/bbuf.h"
#include "net/dns.h"
#include "net/sip_msg.h"
#include "net/tls_conn.h"
#include "transactions/clientauth/clientauth_conf.h"
#include "transactions/clientauth/clientauth_txn.h"

#define CA_MAX_REDIRECTS 3
#define CA_N_SRV 4      /* SRV names a device asks (clientauth_discover.c) */
#define CA_N_FALLBACK 4 /* A-record fallbacks */

enum ca_state {
	CA_CERT,
	CA_REGISTRAR_FROM, /* reading what registrar.from's phone-bootstrap recorded */
	CA_DISCOVER,
	CA_FALLBACK,
	CA_RESOLVE,
	CA_CONNECT,
	CA_HANDSHAKE,
	CA_REQUEST,
	CA_UNREGISTER,
	CA_DONE,
};

struct ca_lookup {
	struct clientauth_txn *t;
	struct dns_query *q;
	enum dns_status status;
	struct dns_srv first; /* SRV: best record */
	size_t n;
	struct dns_addr addr; /* fallback: first address */
};

struct ca_registrar_job;

struct clientauth_txn {
	struct txn_env env;
	const struct txn_conf *conf;
	const struct clientauth_conf *spec; /* conf->spec */
	txn_done_cb *cb;
	void *arg;
	struct txn_result result;
	struct event *timer;
	struct event *kick; /* resumes the machine from the loop */
	enum ca_state state;
	bool waiting; /* a step is waiting for a callback */
	size_t step;

	struct tls_ctx *tls;
	bool ctx_pending; /* the certificate step waits for the file loader */
	struct tls_cert_facts client;
	bool has_client;

	struct ca_lookup lookups[CA_N_SRV > CA_N_FALLBACK ? CA_N_SRV : CA_N_FALLBACK];
	unsigned pending_lookups;

	struct ca_registrar_job *reg_job;  /* registrar.from's file, read on env->files */
	struct ca_registrar_job *reg_done; /* back from the worker, for the step to take */

	char host[256]; /* where to connect */
	unsigned port;
	char verify_name[256]; /* what the server certificate must name */
	struct dns_query *resolve_q;
	struct dns_addr addr;
	bool have_addr;
	unsigned redirects;

	struct tls_conn *conn;
	bool conn_failed;
	bool conn_eof;

	/* SIP */
	char user[128];
	char domain[256];
	char call_id[48];
	char from_tag[24];
	char contact[320];
	unsigned cseq;
	bool have_response;
	struct sip_response resp;
	bool bad_response;
	char bad_why[160];
	bool unreg_sent;

	/* auth: tls-dsk (clientauth_dsk.c); NULL / empty for mtls */
	struct ca_dsk *dsk;
	struct bbuf raw; /* the raw bytes of the last final response */
};

/* Fail the run with st (the first failure wins); returns STEP_DONE. */
enum step_ret ca_fail(struct clientauth_txn *t, enum txn_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A callback brought what a waiting step needed: resume the machine from the loop. */
void ca_resume(struct clientauth_txn *t);
/* End the run: close steps, apply thresholds, call back once. */
void ca_finish(struct clientauth_txn *t);
void ca_addr_string(const struct dns_addr *a, char *buf, size_t len);

/* Send a request; authorization: the Authorization value or NULL. 0 or -1. */
int ca_send_request(struct clientauth_txn *t, const char *method, int expires,
                    const char *authorization);
/* The status of a SIP refusal (401 → unauthorized or tls_dsk_required, 403, 404, ...). */
enum txn_status ca_sip_status(const struct sip_response *r);

/* The TLS-DSK steps (clientauth_dsk.c), for auth: tls-dsk. */
/* After the TLS handshake: the first REGISTER (the "challenge" step). */
enum step_ret ca_dsk_start(struct clientauth_txn *t);
/* A final response (not a redirect) arrived for a TLS-DSK step; text describes it. */
enum step_ret ca_dsk_response(struct clientauth_txn *t, const char *text);
/* The signed Authorization value for the next request, or NULL without an SA; valid until
 * the next call. */
const char *ca_dsk_authorization(struct clientauth_txn *t, const char *method, int expires);
/* The un-REGISTER's 2xx: its rspauth verified (TXN_OK without an SA), else why. */
enum txn_status ca_dsk_unregister_check(struct clientauth_txn *t, char *why, size_t wlen);
/* The deadline hit a TLS-DSK step: fail the run with what was waited for. */
void ca_dsk_deadline(struct clientauth_txn *t, double secs);
void ca_dsk_free(struct clientauth_txn *t); /* NULL-safe, idempotent */

/* The discovery and resolution steps (clientauth_discover.c). */
enum step_ret ca_discover_start(struct clientauth_txn *t);
enum step_ret ca_discover_done(struct clientauth_txn *t);
enum step_ret ca_fallback_done(struct clientauth_txn *t);
enum step_ret ca_resolve(struct clientauth_txn *t);

#endif
