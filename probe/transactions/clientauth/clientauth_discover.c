/*
 * clientauth_discover: where a client-auth transaction connects. Static {host, port},
 * or DNS: the four SRV names in device order, all asked at once, the first TLS one that
 * answers wins; without one, the A-record fallbacks (KB 2619522). Then the address of
 * the chosen host, in the configured family.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "net/dns.h"
#include "net/sip_msg.h"
#include "net/tls_conn.h"
#include "transactions/clientauth/clientauth_int.h"

/* Device order (lync-certprov.md §2); TLS ones are usable for a certificate logon. */
static const struct {
	const char *prefix;
	bool tls;
} srv_names[] = {
    {"_sipinternaltls._tcp.", true},
    {"_sipinternal._tcp.", false},
    {"_sip._tls.", true},
    {"_sip._tcp.", false},
};
_Static_assert(sizeof srv_names / sizeof srv_names[0] == CA_N_SRV, "CA_N_SRV");

/* A-record fallbacks when no SRV record answers (KB 2619522, as SIPE does). */
static const struct {
	const char *prefix;
	unsigned port;
} a_fallbacks[] = {
    {"sipinternal.", 5061},
    {"sipexternal.", 443},
    {"sip.", 443},
    {"", 5061},
};
_Static_assert(sizeof a_fallbacks / sizeof a_fallbacks[0] == CA_N_FALLBACK, "CA_N_FALLBACK");

static bool is_ip_literal(const char *s, int *family)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, s, buf) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

static int ca_family(const struct clientauth_txn *t)
{
	return t->spec->registrar.family == ADDR_FAMILY_IPV6 ? AF_INET6 : AF_INET;
}

void ca_addr_string(const struct dns_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (a->sa.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&a->sa;
		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
		port = ntohs(s->sin_port);
		snprintf(buf, len, "%s:%u", ip, port);
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&a->sa;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
		port = ntohs(s->sin6_port);
		snprintf(buf, len, "[%s]:%u", ip, port);
	}
}

static void addr_set_port(struct dns_addr *a, unsigned port)
{
	if (a->sa.ss_family == AF_INET)
		((struct sockaddr_in *)&a->sa)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&a->sa)->sin6_port = htons((uint16_t)port);
}

/* "host" without a trailing dot */
static void set_host(char *dst, size_t len, const char *src)
{
	size_t n;

	snprintf(dst, len, "%s", src);
	n = strlen(dst);
	if (n > 1 && dst[n - 1] == '.')
		dst[n - 1] = '\0';
}

/* ---- discovery ---- */

/* One of the parallel discovery lookups answered; the last one resumes the machine. */
static void lookup_done(struct ca_lookup *l, enum dns_status st, const char *why, size_t n)
{
	struct clientauth_txn *t = l->t;

	(void)why; /* the report names the status of every name tried */
	l->q = NULL;
	l->status = st;
	l->n = n;
	if (--t->pending_lookups == 0)
		ca_resume(t);
}

static void on_srv(enum dns_status st, const char *why, const struct dns_srv *recs, size_t n,
                   void *arg)
{
	struct ca_lookup *l = arg;

	if (n > 0)
		l->first = recs[0];
	lookup_done(l, st, why, n);
}

static void on_fallback(enum dns_status st, const char *why, const struct dns_addr *addrs, size_t n,
                        void *arg)
{
	struct ca_lookup *l = arg;

	if (n > 0)
		l->addr = addrs[0];
	lookup_done(l, st, why, n);
}

enum step_ret ca_discover_start(struct clientauth_txn *t)
{
	const struct registrar_conf *rc = &t->spec->registrar;
	const char *why = NULL;
	char name[320];

	t->step = txn_step_begin(&t->result, "discover");
	t->pending_lookups = CA_N_SRV;
	for (unsigned i = 0; i < CA_N_SRV; i++) {
		struct ca_lookup *l = &t->lookups[i];
		memset(l, 0, sizeof *l);
		l->t = t;
		snprintf(name, sizeof name, "%s%s", srv_names[i].prefix, rc->domain);
		l->q = dns_srv(t->env.dns, rc->resolver, name, on_srv, l, &why);
		if (l->q == NULL)
			return ca_fail(t, TXN_PROBE_INTERNAL, "resolver %s: %s",
			               rc->resolver != NULL ? rc->resolver : "(system)", why);
	}
	t->waiting = true;
	return STEP_WAIT;
}

/* All SRV answers are in: take the first TLS record in device order. */
enum step_ret ca_discover_done(struct clientauth_txn *t)
{
	const struct registrar_conf *rc = &t->spec->registrar;
	char tried[TXN_DETAIL_LEN] = "", name[320];
	const char *tcp_only = NULL;
	size_t off = 0;
	unsigned failed = 0;

	for (unsigned i = 0; i < CA_N_SRV; i++) {
		const struct ca_lookup *l = &t->lookups[i];
		int n;

		if (l->status == DNS_OK && srv_names[i].tls) {
			set_host(t->host, sizeof t->host, l->first.target);
			t->port = l->first.port;
			snprintf(t->verify_name, sizeof t->verify_name, "%s",
			         rc->tls_name != NULL ? rc->tls_name : t->host);
			txn_result_fact(&t->result, "discovered_by", "%s%s SRV",
			                srv_names[i].prefix, rc->domain);
			txn_step_end(&t->result, t->step, TXN_OK,
			             "%s%s SRV -> %s:%u (priority %u, weight %u; %zu record%s)",
			             srv_names[i].prefix, rc->domain, t->host, t->port,
			             l->first.priority, l->first.weight, l->n,
			             l->n == 1 ? "" : "s");
			t->state = CA_RESOLVE;
			return STEP_CONTINUE;
		}
		if (l->status == DNS_OK && tcp_only == NULL)
			tcp_only = srv_names[i].prefix;
		if (l->status != DNS_OK && l->status != DNS_NXDOMAIN)
			failed++;
		n = snprintf(tried + off, sizeof tried - off, "%s%s%s: %s", off ? ", " : "",
		             srv_names[i].prefix, rc->domain,
		             l->status == DNS_OK ? "TCP only" : dns_status_name(l->status));
		if (n > 0 && (size_t)n < sizeof tried - off)
			off += (size_t)n;
	}
	if (failed == CA_N_SRV) {
		/* the resolver itself failed: say so rather than "no record" */
		return ca_fail(t, TXN_DNS_NO_ANSWER,
		               "the DNS server %s did not answer SRV queries (%s)",
		               rc->resolver != NULL ? rc->resolver : "(system)", tried);
	}
	txn_step_end(&t->result, t->step, TXN_OK, "no TLS SRV record (%s); trying A fallbacks",
	             tried);
	if (tcp_only != NULL)
		txn_result_fact(&t->result, "srv_tcp_only", "%s%s (certificate logon needs TLS)",
		                tcp_only, rc->domain);

	/* A-record fallbacks */
	t->step = txn_step_begin(&t->result, "discover_fallback");
	t->pending_lookups = CA_N_FALLBACK;
	for (unsigned i = 0; i < CA_N_FALLBACK; i++) {
		struct ca_lookup *l = &t->lookups[i];
		const char *why = NULL;
		memset(l, 0, sizeof *l);
		l->t = t;
		snprintf(name, sizeof name, "%s%s", a_fallbacks[i].prefix, rc->domain);
		l->q = dns_addr(t->env.dns, rc->resolver, name, ca_family(t), on_fallback, l, &why);
		if (l->q == NULL)
			return ca_fail(t, TXN_PROBE_INTERNAL, "resolver: %s", why);
	}
	t->state = CA_FALLBACK;
	t->waiting = true;
	return STEP_WAIT;
}

enum step_ret ca_fallback_done(struct clientauth_txn *t)
{
	const struct registrar_conf *rc = &t->spec->registrar;
	char tried[TXN_DETAIL_LEN] = "", astr[80];
	size_t off = 0;

	for (unsigned i = 0; i < CA_N_FALLBACK; i++) {
		const struct ca_lookup *l = &t->lookups[i];
		int n;

		if (l->status == DNS_OK) {
			snprintf(t->host, sizeof t->host, "%s%s", a_fallbacks[i].prefix,
			         rc->domain);
			t->port = a_fallbacks[i].port;
			snprintf(t->verify_name, sizeof t->verify_name, "%s",
			         rc->tls_name != NULL ? rc->tls_name : t->host);
			t->addr = l->addr;
			addr_set_port(&t->addr, t->port);
			t->have_addr = true;
			ca_addr_string(&t->addr, astr, sizeof astr);
			txn_result_fact(&t->result, "discovered_by", "%s A fallback", t->host);
			txn_step_end(&t->result, t->step, TXN_OK, "%s -> %s (A-record fallback)",
			             t->host, astr);
			t->state = CA_CONNECT;
			return STEP_CONTINUE;
		}
		n = snprintf(tried + off, sizeof tried - off, "%s%s%s: %s", off ? ", " : "",
		             a_fallbacks[i].prefix, rc->domain, dns_status_name(l->status));
		if (n > 0 && (size_t)n < sizeof tried - off)
			off += (size_t)n;
	}
	return ca_fail(t, TXN_DISCOVERY_NO_RECORD,
	               "no _sipinternaltls._tcp or _sip._tls SRV record for %s and no fallback "
	               "host resolves (%s)",
	               rc->domain, tried);
}

/* ---- resolve, connect, handshake ---- */

static void on_resolved(enum dns_status st, const char *why, const struct dns_addr *addrs, size_t n,
                        void *arg)
{
	struct clientauth_txn *t = arg;
	char astr[80];

	t->resolve_q = NULL;
	if (t->state == CA_DONE)
		return;
	if (st != DNS_OK || n == 0) {
		ca_fail(t, TXN_DNS_NO_ANSWER, "%s did not resolve: %s (%s)", t->host,
		        dns_status_name(st), why != NULL && why[0] ? why : "no address");
		ca_finish(t);
		return;
	}
	t->addr = addrs[0];
	addr_set_port(&t->addr, t->port);
	t->have_addr = true;
	ca_addr_string(&t->addr, astr, sizeof astr);
	txn_step_end(&t->result, t->step, TXN_OK, "%s -> %s", t->host, astr);
	t->state = CA_CONNECT;
	ca_resume(t);
}

enum step_ret ca_resolve(struct clientauth_txn *t)
{
	int family;

	if (is_ip_literal(t->host, &family)) {
		memset(&t->addr, 0, sizeof t->addr);
		if (family == AF_INET) {
			struct sockaddr_in *s = (struct sockaddr_in *)&t->addr.sa;
			s->sin_family = AF_INET;
			inet_pton(AF_INET, t->host, &s->sin_addr);
			t->addr.len = sizeof *s;
		} else {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&t->addr.sa;
			s->sin6_family = AF_INET6;
			inet_pton(AF_INET6, t->host, &s->sin6_addr);
			t->addr.len = sizeof *s;
		}
		addr_set_port(&t->addr, t->port);
		t->have_addr = true;
		t->state = CA_CONNECT;
		return STEP_CONTINUE;
	}
	{
		const char *why = NULL;
		t->step = txn_step_begin(&t->result, "resolve");
		t->resolve_q = dns_addr(t->env.dns, t->spec->registrar.resolver, t->host,
		                        ca_family(t), on_resolved, t, &why);
		if (t->resolve_q == NULL)
			return ca_fail(t, TXN_PROBE_INTERNAL, "resolver: %s", why);
	}
	t->waiting = true;
	return STEP_WAIT;
}
