/*
 * test_metrics: the metric table and the Prometheus/OpenMetrics renderer
 * (exporters/metrics). Golden output for a tiny snapshot in both renderings, label
 * escaping, a structural lint (families contiguous, one HELP/TYPE each, no duplicate
 * series, valid label syntax), the output cap, and a timed 10,000-transaction render.
 *
 * `test_metrics --sample [--openmetrics] [--empty]` prints a representative exposition
 * on stdout instead of running the tests; tests/integration/test_metrics_format.sh
 * feeds it to promtool and to the strict OpenMetrics parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bbuf.h"
#include "exporters/metrics.h"
#include "exporters/prometheus.h"
#include "exporters/snapshot.h"

#define BIG_CAP ((size_t)512 * 1024 * 1024)

/* ---- helpers ---- */

static char *render(const struct snapshot *s, bool om)
{
	struct bbuf b;
	char *text;

	bbuf_init(&b, BIG_CAP);
	if (prometheus_render(&b, s, om) == -1)
		fail_msg("metrics_render hit the cap");
	text = strdup(b.data != NULL ? (const char *)b.data : "");
	bbuf_free(&b);
	assert_non_null(text);
	return text;
}

static void set_step(struct snapshot_txn *t, const char *name, uint64_t us)
{
	t->steps[t->n_steps].name = name;
	t->steps[t->n_steps].duration_us = us;
	t->n_steps++;
}

static void set_cert(struct snapshot_txn *t, enum cert_role role, int64_t not_after)
{
	t->certs[role].present = true;
	t->certs[role].not_after = not_after;
}

/* ---- snapshots ---- */

static struct snapshot_txn tiny_txns[2];
static struct snapshot_endpoint tiny_eps[2];

static void tiny_snapshot(struct snapshot *s)
{
	struct snapshot_txn *a = &tiny_txns[0], *b = &tiny_txns[1];

	memset(s, 0, sizeof *s);
	memset(tiny_txns, 0, sizeof tiny_txns);
	memset(tiny_eps, 0, sizeof tiny_eps);

	a->name = "enroll1";
	a->type = "enrollment";
	a->protocol = "scep";
	a->endpoint = "ca.example.net";
	a->have_result = true;
	a->status = TXN_OK;
	a->result = RESULT_WARNING;
	a->duration_us = 1234567;
	a->last_run = 1700000000;
	a->last_success = 1700000000;
	set_step(a, "getcacaps", 10000);
	set_step(a, "request", 500000);
	set_step(a, "poll_request", 250000);
	set_step(a, "poll_request", 250001);
	set_cert(a, CERT_ROLE_ISSUED, 1731536000);
	set_cert(a, CERT_ROLE_CA, 1893456000);
	a->state = RESULT_OK;
	a->hard = true;
	a->runs[RESULT_OK] = 5;
	a->runs[RESULT_WARNING] = 1;

	b->name = "sip1";
	b->type = "client-auth";
	b->protocol = "sip";
	b->endpoint = "reg.example.net:5061";
	b->state = RESULT_UNKNOWN;

	tiny_eps[0].name = "ca.example.net";
	tiny_eps[0].kind = ENDPOINT_KIND_WEB_SERVICE;
	tiny_eps[0].state = RESULT_OK;
	tiny_eps[1].name = "reg.example.net:5061";
	tiny_eps[1].kind = ENDPOINT_KIND_REGISTRAR;
	tiny_eps[1].state = RESULT_UNKNOWN;

	s->txns = tiny_txns;
	s->n_txns = 2;
	s->endpoints = tiny_eps;
	s->n_endpoints = 2;
	s->self.version = "0.1.0";
	s->self.openssl_version = "3.0.19";
	snprintf(s->self.shard_index, sizeof s->self.shard_index, "0");
	snprintf(s->self.shard_count, sizeof s->self.shard_count, "1");
	s->self.start_time = 1699999000;
	s->self.in_flight = 1;
	metrics_histogram_observe(&s->self.lag, 500);
	metrics_histogram_observe(&s->self.lag, 3000);
	metrics_histogram_observe(&s->self.lag, 2000000);
	s->self.max_stall_us = 42100;
	s->self.reload_ok = true;
	s->self.reload_success_time = 1699999000;
	s->self.http_open = 3;
	s->self.http_refused = 7;
	s->self.http_deadline_closed = 2;
	s->self.http_accept_paused = 1;
	s->self.state_write_failures = 2;
	s->self.snmp_notifications = 5;
	s->self.snmp_dropped = 1;
	/* Icinga 2 configured, Nagios not: only icinga2 series */
	s->self.passive_on[SNAPSHOT_PASSIVE_ICINGA2] = true;
	s->self.passive[SNAPSHOT_PASSIVE_ICINGA2].delivered = 7;
	s->self.passive[SNAPSHOT_PASSIVE_ICINGA2].failures[PASSIVE_FAIL_UNREACHABLE] = 3;
	s->self.passive[SNAPSHOT_PASSIVE_ICINGA2].failures[PASSIVE_FAIL_TLS] = 1;
	s->self.passive[SNAPSHOT_PASSIVE_ICINGA2].coalesced = 2;
	s->self.passive[SNAPSHOT_PASSIVE_ICINGA2].queued = 4;
	s->self.passive[SNAPSHOT_PASSIVE_ICINGA2].last_success = 1700000100;
	s->self.snmp_connected = true;
}

static struct snapshot_txn sample_txns[4];
static struct snapshot_endpoint sample_eps[4];

/* What a daemon with a few transactions in different states would export. */
static void sample_snapshot(struct snapshot *s, bool empty)
{
	struct snapshot_txn *t;
	static const char weird[] = "lab \"ca\"\\scep\nline2 \xc3\xa9 \xff";

	memset(s, 0, sizeof *s);
	memset(sample_txns, 0, sizeof sample_txns);
	memset(sample_eps, 0, sizeof sample_eps);
	s->self.version = CERTPROBE_VERSION;
	s->self.openssl_version = "3.0.19";
	snprintf(s->self.shard_index, sizeof s->self.shard_index, "2");
	snprintf(s->self.shard_count, sizeof s->self.shard_count, "3");
	s->self.libcurl_version = "7.88.1";
	s->self.start_time = 1763776800;
	s->self.reload_ok = true;
	s->self.reload_success_time = 1763776800;
	if (empty)
		return;

	t = &sample_txns[0];
	t->name = "enroll-ndes";
	t->type = "enrollment";
	t->protocol = "scep";
	t->endpoint = "ndes.example.net";
	t->have_result = true;
	t->status = TXN_OK;
	t->result = RESULT_OK;
	t->duration_us = 2841377;
	t->last_run = 1763780412;
	t->last_success = 1763780412;
	set_step(t, "getcacaps", 12034);
	set_step(t, "getcacert", 9120);
	set_step(t, "challenge", 40211);
	set_step(t, "request", 1210044);
	set_step(t, "poll_request", 600120);
	set_step(t, "poll_request", 590007);
	set_step(t, "verify", 1820);
	set_step(t, "store", 410);
	set_cert(t, CERT_ROLE_ISSUED, 1795316412);
	set_cert(t, CERT_ROLE_CA, 1921456000);
	t->state = RESULT_OK;
	t->hard = true;
	t->runs[RESULT_OK] = 96;
	t->runs[RESULT_WARNING] = 2;
	t->runs[RESULT_CRITICAL] = 1;

	t = &sample_txns[1];
	t->name = "sip-pool1";
	t->type = "client-auth";
	t->protocol = "sip";
	t->endpoint = "pool1.example.net:5061";
	t->have_result = true;
	t->status = TXN_TLS_CHAIN_INCOMPLETE;
	t->result = RESULT_CRITICAL;
	t->duration_us = 48211;
	t->last_run = 1763780398;
	t->last_success = 1763779798;
	set_step(t, "certificate", 310);
	set_step(t, "discover", 2004);
	set_step(t, "resolve", 801);
	set_step(t, "connect", 1402);
	set_step(t, "tls_handshake", 43694);
	set_cert(t, CERT_ROLE_CLIENT, 1795316412);
	set_cert(t, CERT_ROLE_SERVER, 1771556400);
	set_cert(t, CERT_ROLE_CA, 1921456000);
	t->state = RESULT_CRITICAL;
	t->hard = false;
	t->flapping = true;
	t->runs[RESULT_OK] = 40;
	t->runs[RESULT_CRITICAL] = 7;

	t = &sample_txns[2];
	t->name = "enroll-lab";
	t->type = "enrollment";
	t->protocol = "scep";
	t->endpoint = weird;
	t->have_result = true;
	t->status = TXN_PROBE_SECRET_UNAVAILABLE;
	t->result = RESULT_UNKNOWN;
	t->duration_us = 95;
	t->last_run = 1763780001;
	t->last_success = 0;
	set_step(t, "challenge", 95);
	t->state = RESULT_UNKNOWN;
	t->hard = true;
	t->runs[RESULT_UNKNOWN] = 12;

	t = &sample_txns[3];
	t->name = "sip-pool2";
	t->type = "client-auth";
	t->protocol = "sip";
	t->endpoint = "pool2.example.net:5061";
	t->state = RESULT_OK;
	t->hard = true;

	sample_eps[0] = (struct snapshot_endpoint){
	    .name = "ndes.example.net", .kind = ENDPOINT_KIND_WEB_SERVICE, .state = RESULT_OK};
	sample_eps[1] = (struct snapshot_endpoint){.name = "pool1.example.net:5061",
	                                           .kind = ENDPOINT_KIND_REGISTRAR,
	                                           .state = RESULT_CRITICAL};
	sample_eps[2] = (struct snapshot_endpoint){
	    .name = weird, .kind = ENDPOINT_KIND_WEB_SERVICE, .state = RESULT_UNKNOWN};
	sample_eps[3] = (struct snapshot_endpoint){
	    .name = "pool2.example.net:5061", .kind = ENDPOINT_KIND_REGISTRAR, .state = RESULT_OK};

	s->txns = sample_txns;
	s->n_txns = 4;
	s->endpoints = sample_eps;
	s->n_endpoints = 4;
	s->self.in_flight = 2;
	for (uint64_t i = 0; i < 400; i++)
		metrics_histogram_observe(&s->self.lag, (i * 7919) % 3000 + 20);
	metrics_histogram_observe(&s->self.lag, 180000);
	metrics_histogram_observe(&s->self.lag, 7500000);
	metrics_histogram_observe(&s->self.lag, 400000000);
	s->self.max_stall_us = 18422;
}

/* n synthetic transactions over n / 100 endpoints; free with big_free() */
struct big {
	struct snapshot s;
	struct snapshot_txn *txns;
	struct snapshot_endpoint *eps;
	char *names;
};

static void big_build(struct big *g, size_t n)
{
	static const char *const steps[] = {"discover",      "resolve",  "connect",
	                                    "tls_handshake", "register", "unregister"};
	size_t neps = n / 100 + 1;

	memset(g, 0, sizeof *g);
	g->txns = calloc(n, sizeof *g->txns);
	g->eps = calloc(neps, sizeof *g->eps);
	g->names = calloc(n + neps, 64);
	assert_true(g->txns != NULL && g->eps != NULL && g->names != NULL);
	for (size_t e = 0; e < neps; e++) {
		char *name = g->names + (n + e) * 64;
		snprintf(name, 64, "registrar-%03zu.pool.example.net:5061", e);
		g->eps[e].name = name;
		g->eps[e].kind = ENDPOINT_KIND_REGISTRAR;
		g->eps[e].state = (enum result_class)(e % 4);
	}
	for (size_t i = 0; i < n; i++) {
		struct snapshot_txn *t = &g->txns[i];
		char *name = g->names + i * 64;

		snprintf(name, 64, "sip-register-%05zu", i);
		t->name = name;
		t->type = "client-auth";
		t->protocol = "sip";
		t->endpoint = g->eps[i / 100].name;
		t->have_result = true;
		t->status = i % 10 == 0 ? TXN_REGISTRAR_AUTH_REJECTED : TXN_OK;
		t->result = i % 10 == 0 ? RESULT_CRITICAL : RESULT_OK;
		t->duration_us = 40000 + i;
		t->last_run = 1763780000 + (int64_t)i;
		t->last_success = 1763780000;
		for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++)
			set_step(t, steps[k], 1000 * (k + 1) + i % 1000);
		set_cert(t, CERT_ROLE_CLIENT, 1795316412);
		set_cert(t, CERT_ROLE_SERVER, 1771556400 + (int64_t)i);
		t->state = t->result;
		t->hard = true;
		t->runs[RESULT_OK] = 1000 + i;
		t->runs[RESULT_CRITICAL] = i % 7;
	}
	g->s.txns = g->txns;
	g->s.n_txns = n;
	g->s.endpoints = g->eps;
	g->s.n_endpoints = neps;
	g->s.self.version = "0.1.0";
	g->s.self.start_time = 1763770000;
	g->s.self.reload_ok = true;
	g->s.self.reload_success_time = 1763770000;
}

static void big_free(struct big *g)
{
	free(g->txns);
	free(g->eps);
	free(g->names);
}

/* ---- a structural lint of an exposition, independent of the renderer ---- */

struct key {
	const char *p;
	size_t n;
};

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->p, y->p, n);

	if (c != 0)
		return c;
	return x->n < y->n ? -1 : x->n > y->n;
}

static bool is_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Labels at p ("{...}"), up to the closing brace; returns the char after it or NULL. */
static const char *lint_labels(const char *p, const char *end, char *err, size_t errlen)
{
	char names[8][64];
	size_t nnames = 0;

	p++; /* '{' */
	for (;;) {
		const char *n0 = p;
		size_t nl;

		while (p < end && is_name_char(*p, p == n0))
			p++;
		nl = (size_t)(p - n0);
		if (nl == 0 || nl >= 64 || p + 1 >= end || p[0] != '=' || p[1] != '"') {
			snprintf(err, errlen, "bad label name at \"%.40s\"", n0);
			return NULL;
		}
		for (size_t k = 0; k < nnames; k++)
			if (strlen(names[k]) == nl && memcmp(names[k], n0, nl) == 0) {
				snprintf(err, errlen, "duplicate label %.*s", (int)nl, n0);
				return NULL;
			}
		if (nnames < 8) {
			memcpy(names[nnames], n0, nl);
			names[nnames++][nl] = '\0';
		}
		p += 2;
		while (p < end && *p != '"') {
			if (*p == '\\') {
				if (p + 1 >= end || (p[1] != '\\' && p[1] != '"' && p[1] != 'n')) {
					snprintf(err, errlen, "bad escape in label value");
					return NULL;
				}
				p++;
			}
			p++;
		}
		if (p >= end) {
			snprintf(err, errlen, "unterminated label value");
			return NULL;
		}
		p++;
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}')
			return p + 1;
		snprintf(err, errlen, "expected , or } after a label");
		return NULL;
	}
}

static bool lint_number(const char *p, size_t n)
{
	size_t i = 0, digits = 0;

	if (n > 0 && p[0] == '-')
		i++;
	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++, digits++;
	if (i < n && p[i] == '.') {
		i++;
		if (i == n)
			return false;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	}
	return digits > 0 && i == n;
}

/*
 * 0 if text is a well-formed exposition: every family introduced once by HELP then
 * TYPE (and UNIT in OpenMetrics), its samples right after it and named for its type,
 * label syntax valid, values plain numbers, no series twice, "# EOF" last in
 * OpenMetrics only. Otherwise -1 with a message in err.
 */
static int lint_exposition(const char *text, bool om, char *err, size_t errlen)
{
	char fams[64][96], cur[96] = "", type[16] = "";
	size_t nfams = 0, nkeys = 0, akeys = 1024;
	struct key *keys = malloc(akeys * sizeof *keys);
	bool eof = false;
	const char *p = text;
	int rc = -1;

	assert_non_null(keys);
	err[0] = '\0';
	while (*p != '\0') {
		const char *eol = strchr(p, '\n'), *sp;
		size_t len;

		if (eol == NULL) {
			snprintf(err, errlen, "last line has no newline");
			goto out;
		}
		len = (size_t)(eol - p);
		if (eof) {
			snprintf(err, errlen, "line after # EOF");
			goto out;
		}
		if (len == 0) {
			snprintf(err, errlen, "blank line");
			goto out;
		}
		if (p[0] == '#') {
			char kw[8], name[96], rest[512];

			if (len == 5 && memcmp(p, "# EOF", 5) == 0) {
				if (!om) {
					snprintf(err, errlen, "# EOF in 0.0.4");
					goto out;
				}
				eof = true;
				p = eol + 1;
				continue;
			}
			if (sscanf(p, "# %7s %95s %511[^\n]", kw, name, rest) != 3) {
				snprintf(err, errlen, "bad comment line %.60s", p);
				goto out;
			}
			if (strcmp(kw, "HELP") == 0) {
				for (size_t f = 0; f < nfams; f++)
					if (strcmp(fams[f], name) == 0) {
						snprintf(err, errlen, "family %s appears twice",
						         name);
						goto out;
					}
				assert_true(nfams < 64);
				snprintf(fams[nfams++], sizeof fams[0], "%s", name);
				snprintf(cur, sizeof cur, "%s", name);
				type[0] = '\0';
			} else if (strcmp(kw, "TYPE") == 0) {
				if (strcmp(name, cur) != 0 || type[0] != '\0') {
					snprintf(err, errlen, "TYPE %s not right after its HELP",
					         name);
					goto out;
				}
				snprintf(type, sizeof type, "%s", rest);
			} else if (strcmp(kw, "UNIT") == 0) {
				char want[128];
				snprintf(want, sizeof want, "_%s", rest);
				if (!om || strcmp(name, cur) != 0 || type[0] == '\0' ||
				    !ends_with(name, strlen(name), want)) {
					snprintf(err, errlen, "bad UNIT line for %s", name);
					goto out;
				}
			} else {
				snprintf(err, errlen, "unknown comment %s", kw);
				goto out;
			}
			p = eol + 1;
			continue;
		}

		/* a sample */
		{
			const char *n0 = p, *q = p;
			size_t nl, cl = strlen(cur);
			const char *suffix;
			bool ok = false;

			while (q < eol && is_name_char(*q, q == n0))
				q++;
			nl = (size_t)(q - n0);
			if (type[0] == '\0' || nl < cl || memcmp(n0, cur, cl) != 0) {
				snprintf(err, errlen, "sample %.*s outside its family (current %s)",
				         (int)nl, n0, cur);
				goto out;
			}
			suffix = n0 + cl;
			nl -= cl;
			if (strcmp(type, "gauge") == 0 || strcmp(type, "counter") == 0)
				ok = nl == 0;
			if (om && strcmp(type, "counter") == 0)
				ok = nl == 6 && memcmp(suffix, "_total", 6) == 0;
			if (!om && strcmp(type, "counter") == 0)
				ok = nl == 0 && ends_with(cur, cl, "_total");
			if (strcmp(type, "info") == 0)
				ok = om && nl == 5 && memcmp(suffix, "_info", 5) == 0;
			if (strcmp(type, "histogram") == 0)
				ok = (nl == 7 && memcmp(suffix, "_bucket", 7) == 0) ||
				     (nl == 4 && memcmp(suffix, "_sum", 4) == 0) ||
				     (nl == 6 && memcmp(suffix, "_count", 6) == 0);
			if (!ok) {
				snprintf(err, errlen, "sample %.60s does not fit type %s", n0,
				         type);
				goto out;
			}
			if (q < eol && *q == '{') {
				q = lint_labels(q, eol, err, errlen);
				if (q == NULL)
					goto out;
			}
			if (q >= eol || *q != ' ') {
				snprintf(err, errlen, "no value in %.60s", n0);
				goto out;
			}
			sp = q;
			if (!lint_number(sp + 1, (size_t)(eol - sp - 1)) &&
			    !(eol - sp - 1 == 4 && memcmp(sp + 1, "+Inf", 4) == 0)) {
				snprintf(err, errlen, "bad value in %.60s", n0);
				goto out;
			}
			if (nkeys == akeys) {
				akeys *= 2;
				keys = realloc(keys, akeys * sizeof *keys);
				assert_non_null(keys);
			}
			keys[nkeys].p = n0;
			keys[nkeys].n = (size_t)(sp - n0);
			nkeys++;
		}
		p = eol + 1;
	}
	if (om && !eof) {
		snprintf(err, errlen, "no # EOF");
		goto out;
	}
	qsort(keys, nkeys, sizeof *keys, key_cmp);
	for (size_t i = 1; i < nkeys; i++)
		if (key_cmp(&keys[i - 1], &keys[i]) == 0) {
			snprintf(err, errlen, "duplicate series %.*s", (int)keys[i].n, keys[i].p);
			goto out;
		}
	rc = 0;
out:
	free(keys);
	return rc;
}

static void assert_lint(const char *text, bool om)
{
	char err[256];

	if (lint_exposition(text, om, err, sizeof err) == -1)
		fail_msg("%s exposition: %s", om ? "OpenMetrics" : "0.0.4", err);
}

/* The text without comment lines: the samples alone. */
static char *samples_only(const char *text)
{
	char *out = malloc(strlen(text) + 1), *o = out;
	const char *p = text;

	assert_non_null(out);
	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t n = eol != NULL ? (size_t)(eol - p + 1) : strlen(p);
		if (p[0] != '#') {
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	*o = '\0';
	return out;
}

/* ---- golden output ---- */

static const char tiny_prom[] =
    "# HELP certprobe_transaction_success 1 if the last run of the transaction completed "
    "(result ok or warning), 0 if it failed (critical or unknown)\n"
    "# TYPE certprobe_transaction_success gauge\n"
    "certprobe_transaction_success{transaction=\"enroll1\",type=\"enrollment\",protocol=\"scep\","
    "endpoint=\"ca.example.net\"} 1\n"
    "# HELP certprobe_transaction_status_info Status of the last run: reason is the status "
    "code that ended it (ok when it completed), result its result class\n"
    "# TYPE certprobe_transaction_status_info gauge\n"
    "certprobe_transaction_status_info{transaction=\"enroll1\",type=\"enrollment\","
    "protocol=\"scep\",endpoint=\"ca.example.net\",reason=\"ok\",result=\"warning\"} 1\n"
    "# HELP certprobe_transaction_duration_seconds Duration of the last run of the "
    "transaction\n"
    "# TYPE certprobe_transaction_duration_seconds gauge\n"
    "certprobe_transaction_duration_seconds{transaction=\"enroll1\",type=\"enrollment\","
    "protocol=\"scep\",endpoint=\"ca.example.net\"} 1.234567\n"
    "# HELP certprobe_step_duration_seconds Duration of each step of the last run of the "
    "transaction (repeated steps summed)\n"
    "# TYPE certprobe_step_duration_seconds gauge\n"
    "certprobe_step_duration_seconds{transaction=\"enroll1\",type=\"enrollment\","
    "protocol=\"scep\",endpoint=\"ca.example.net\",step=\"getcacaps\"} 0.01\n"
    "certprobe_step_duration_seconds{transaction=\"enroll1\",type=\"enrollment\","
    "protocol=\"scep\",endpoint=\"ca.example.net\",step=\"request\"} 0.5\n"
    "certprobe_step_duration_seconds{transaction=\"enroll1\",type=\"enrollment\","
    "protocol=\"scep\",endpoint=\"ca.example.net\",step=\"poll_request\"} 0.500001\n"
    "# HELP certprobe_transaction_interval_seconds How often the daemon runs the "
    "transaction (its configured interval)\n"
    "# TYPE certprobe_transaction_interval_seconds gauge\n"
    "# HELP certprobe_transaction_last_run_timestamp_seconds When the last run of the "
    "transaction ended, as Unix time\n"
    "# TYPE certprobe_transaction_last_run_timestamp_seconds gauge\n"
    "certprobe_transaction_last_run_timestamp_seconds{transaction=\"enroll1\","
    "type=\"enrollment\",protocol=\"scep\",endpoint=\"ca.example.net\"} 1700000000\n"
    "# HELP certprobe_transaction_last_success_timestamp_seconds When the transaction last "
    "completed (result ok or warning), as Unix time; 0 if it never has (kept across "
    "restarts in the state file)\n"
    "# TYPE certprobe_transaction_last_success_timestamp_seconds gauge\n"
    "certprobe_transaction_last_success_timestamp_seconds{transaction=\"enroll1\","
    "type=\"enrollment\",protocol=\"scep\",endpoint=\"ca.example.net\"} 1700000000\n"
    "# HELP certprobe_transaction_runs_total Completed runs of the transaction by result "
    "class (kept across restarts in the state file)\n"
    "# TYPE certprobe_transaction_runs_total counter\n"
    "certprobe_transaction_runs_total{transaction=\"enroll1\",type=\"enrollment\","
    "protocol=\"scep\",endpoint=\"ca.example.net\",result=\"ok\"} 5\n"
    "certprobe_transaction_runs_total{transaction=\"enroll1\",type=\"enrollment\","
    "protocol=\"scep\",endpoint=\"ca.example.net\",result=\"warning\"} 1\n"
    "certprobe_transaction_runs_total{transaction=\"enroll1\",type=\"enrollment\","
    "protocol=\"scep\",endpoint=\"ca.example.net\",result=\"critical\"} 0\n"
    "certprobe_transaction_runs_total{transaction=\"enroll1\",type=\"enrollment\","
    "protocol=\"scep\",endpoint=\"ca.example.net\",result=\"unknown\"} 0\n"
    "certprobe_transaction_runs_total{transaction=\"sip1\",type=\"client-auth\","
    "protocol=\"sip\",endpoint=\"reg.example.net:5061\",result=\"ok\"} 0\n"
    "certprobe_transaction_runs_total{transaction=\"sip1\",type=\"client-auth\","
    "protocol=\"sip\",endpoint=\"reg.example.net:5061\",result=\"warning\"} 0\n"
    "certprobe_transaction_runs_total{transaction=\"sip1\",type=\"client-auth\","
    "protocol=\"sip\",endpoint=\"reg.example.net:5061\",result=\"critical\"} 0\n"
    "certprobe_transaction_runs_total{transaction=\"sip1\",type=\"client-auth\","
    "protocol=\"sip\",endpoint=\"reg.example.net:5061\",result=\"unknown\"} 0\n"
    "# HELP certprobe_transaction_state Current health state of the transaction, soft or "
    "hard: 1 for the state it is in, 0 for the others\n"
    "# TYPE certprobe_transaction_state gauge\n"
    "certprobe_transaction_state{transaction=\"enroll1\",type=\"enrollment\",protocol=\"scep\","
    "endpoint=\"ca.example.net\",state=\"ok\"} 1\n"
    "certprobe_transaction_state{transaction=\"enroll1\",type=\"enrollment\",protocol=\"scep\","
    "endpoint=\"ca.example.net\",state=\"warning\"} 0\n"
    "certprobe_transaction_state{transaction=\"enroll1\",type=\"enrollment\",protocol=\"scep\","
    "endpoint=\"ca.example.net\",state=\"critical\"} 0\n"
    "certprobe_transaction_state{transaction=\"enroll1\",type=\"enrollment\",protocol=\"scep\","
    "endpoint=\"ca.example.net\",state=\"unknown\"} 0\n"
    "certprobe_transaction_state{transaction=\"sip1\",type=\"client-auth\",protocol=\"sip\","
    "endpoint=\"reg.example.net:5061\",state=\"ok\"} 0\n"
    "certprobe_transaction_state{transaction=\"sip1\",type=\"client-auth\",protocol=\"sip\","
    "endpoint=\"reg.example.net:5061\",state=\"warning\"} 0\n"
    "certprobe_transaction_state{transaction=\"sip1\",type=\"client-auth\",protocol=\"sip\","
    "endpoint=\"reg.example.net:5061\",state=\"critical\"} 0\n"
    "certprobe_transaction_state{transaction=\"sip1\",type=\"client-auth\",protocol=\"sip\","
    "endpoint=\"reg.example.net:5061\",state=\"unknown\"} 1\n"
    "# HELP certprobe_transaction_state_hard 1 if the current state of the transaction is "
    "hard (confirmed by max_attempts results), 0 if soft\n"
    "# TYPE certprobe_transaction_state_hard gauge\n"
    "certprobe_transaction_state_hard{transaction=\"enroll1\",type=\"enrollment\","
    "protocol=\"scep\",endpoint=\"ca.example.net\"} 1\n"
    "certprobe_transaction_state_hard{transaction=\"sip1\",type=\"client-auth\","
    "protocol=\"sip\",endpoint=\"reg.example.net:5061\"} 0\n"
    "# HELP certprobe_transaction_flapping 1 if the transaction is flapping (its state "
    "changes too often to alert on)\n"
    "# TYPE certprobe_transaction_flapping gauge\n"
    "certprobe_transaction_flapping{transaction=\"enroll1\",type=\"enrollment\","
    "protocol=\"scep\",endpoint=\"ca.example.net\"} 0\n"
    "certprobe_transaction_flapping{transaction=\"sip1\",type=\"client-auth\","
    "protocol=\"sip\",endpoint=\"reg.example.net:5061\"} 0\n"
    "# HELP certprobe_certificate_not_after_timestamp_seconds End of validity of the "
    "certificates of the transaction by role (issued, client, server, ca), as Unix time\n"
    "# TYPE certprobe_certificate_not_after_timestamp_seconds gauge\n"
    "certprobe_certificate_not_after_timestamp_seconds{transaction=\"enroll1\","
    "type=\"enrollment\",protocol=\"scep\",endpoint=\"ca.example.net\",role=\"issued\"} "
    "1731536000\n"
    "certprobe_certificate_not_after_timestamp_seconds{transaction=\"enroll1\","
    "type=\"enrollment\",protocol=\"scep\",endpoint=\"ca.example.net\",role=\"ca\"} "
    "1893456000\n"
    "# HELP certprobe_endpoint_state Health state of the endpoint (worst hard state of its "
    "transactions): 1 for the state it is in, 0 for the others\n"
    "# TYPE certprobe_endpoint_state gauge\n"
    "certprobe_endpoint_state{endpoint=\"ca.example.net\",kind=\"web_service\",state=\"ok\"} 1\n"
    "certprobe_endpoint_state{endpoint=\"ca.example.net\",kind=\"web_service\","
    "state=\"warning\"} 0\n"
    "certprobe_endpoint_state{endpoint=\"ca.example.net\",kind=\"web_service\","
    "state=\"critical\"} 0\n"
    "certprobe_endpoint_state{endpoint=\"ca.example.net\",kind=\"web_service\","
    "state=\"unknown\"} 0\n"
    "certprobe_endpoint_state{endpoint=\"reg.example.net:5061\",kind=\"registrar\","
    "state=\"ok\"} 0\n"
    "certprobe_endpoint_state{endpoint=\"reg.example.net:5061\",kind=\"registrar\","
    "state=\"warning\"} 0\n"
    "certprobe_endpoint_state{endpoint=\"reg.example.net:5061\",kind=\"registrar\","
    "state=\"critical\"} 0\n"
    "certprobe_endpoint_state{endpoint=\"reg.example.net:5061\",kind=\"registrar\","
    "state=\"unknown\"} 1\n"
    "# HELP certprobe_build_info Version of certprobe and of the libraries it runs with\n"
    "# TYPE certprobe_build_info gauge\n"
    "certprobe_build_info{version=\"0.1.0\",openssl=\"3.0.19\",libcurl=\"\"} 1\n"
    "# HELP certprobe_shard_info Which shard of probe.shard this daemon is: it runs the "
    "transactions whose hashmod (Prometheus's, over the dependency root's name) modulo count "
    "is index\n"
    "# TYPE certprobe_shard_info gauge\n"
    "certprobe_shard_info{index=\"0\",count=\"1\"} 1\n"
    "# HELP process_start_time_seconds Start time of the process since the Unix epoch\n"
    "# TYPE process_start_time_seconds gauge\n"
    "process_start_time_seconds 1699999000\n"
    "# HELP certprobe_transactions_in_flight Transactions running now\n"
    "# TYPE certprobe_transactions_in_flight gauge\n"
    "certprobe_transactions_in_flight 1\n"
    "# HELP certprobe_scheduler_lag_seconds How late each run started against its schedule, "
    "since the daemon started\n"
    "# TYPE certprobe_scheduler_lag_seconds histogram\n"
    "certprobe_scheduler_lag_seconds_bucket{le=\"0.001\"} 1\n"
    "certprobe_scheduler_lag_seconds_bucket{le=\"0.005\"} 2\n"
    "certprobe_scheduler_lag_seconds_bucket{le=\"0.025\"} 2\n"
    "certprobe_scheduler_lag_seconds_bucket{le=\"0.1\"} 2\n"
    "certprobe_scheduler_lag_seconds_bucket{le=\"0.25\"} 2\n"
    "certprobe_scheduler_lag_seconds_bucket{le=\"1\"} 2\n"
    "certprobe_scheduler_lag_seconds_bucket{le=\"5\"} 3\n"
    "certprobe_scheduler_lag_seconds_bucket{le=\"15\"} 3\n"
    "certprobe_scheduler_lag_seconds_bucket{le=\"60\"} 3\n"
    "certprobe_scheduler_lag_seconds_bucket{le=\"300\"} 3\n"
    "certprobe_scheduler_lag_seconds_bucket{le=\"+Inf\"} 3\n"
    "certprobe_scheduler_lag_seconds_sum 2.0035\n"
    "certprobe_scheduler_lag_seconds_count 3\n"
    "# HELP certprobe_event_loop_max_stall_seconds Longest time the event loop went without "
    "running, over the window the daemon keeps\n"
    "# TYPE certprobe_event_loop_max_stall_seconds gauge\n"
    "certprobe_event_loop_max_stall_seconds 0.0421\n"
    "# HELP certprobe_config_last_reload_successful 1 if the last load or reload of the "
    "configuration succeeded\n"
    "# TYPE certprobe_config_last_reload_successful gauge\n"
    "certprobe_config_last_reload_successful 1\n"
    "# HELP certprobe_config_last_reload_success_timestamp_seconds When the configuration "
    "was last loaded successfully, as Unix time\n"
    "# TYPE certprobe_config_last_reload_success_timestamp_seconds gauge\n"
    "certprobe_config_last_reload_success_timestamp_seconds 1699999000\n"
    "# HELP certprobe_http_connections_open Connections open on the HTTP listener\n"
    "# TYPE certprobe_http_connections_open gauge\n"
    "certprobe_http_connections_open 3\n"
    "# HELP certprobe_http_connections_refused_total Connections the HTTP listener closed at "
    "once: at its connection cap (the one that waited longest for a request, or the new "
    "one), or on a descriptor kept for transactions\n"
    "# TYPE certprobe_http_connections_refused_total counter\n"
    "certprobe_http_connections_refused_total 7\n"
    "# HELP certprobe_http_request_deadline_closed_total Connections the HTTP listener closed "
    "because no whole request arrived within its deadline\n"
    "# TYPE certprobe_http_request_deadline_closed_total counter\n"
    "certprobe_http_request_deadline_closed_total 2\n"
    "# HELP certprobe_http_accept_paused_total Times accepting on the HTTP listener failed "
    "(out of descriptors) and was paused\n"
    "# TYPE certprobe_http_accept_paused_total counter\n"
    "certprobe_http_accept_paused_total 1\n"
    "# HELP certprobe_state_write_failures_total Writes to the state directory that failed "
    "(an issued certificate and key, the state file): the probe's own disk, not a remote "
    "endpoint\n"
    "# TYPE certprobe_state_write_failures_total counter\n"
    "certprobe_state_write_failures_total 2\n"
    "# HELP certprobe_snmp_notifications_total SNMP notifications the subagent handed to the "
    "AgentX master\n"
    "# TYPE certprobe_snmp_notifications_total counter\n"
    "certprobe_snmp_notifications_total 5\n"
    "# HELP certprobe_snmp_notifications_dropped_total SNMP notifications dropped because no "
    "AgentX master was connected (or the queue to the subagent was full)\n"
    "# TYPE certprobe_snmp_notifications_dropped_total counter\n"
    "certprobe_snmp_notifications_dropped_total 1\n"
    "# HELP certprobe_snmp_agentx_connected 1 if the SNMP subagent is registered with the "
    "AgentX master\n"
    "# TYPE certprobe_snmp_agentx_connected gauge\n"
    "certprobe_snmp_agentx_connected 1\n"
    "# HELP certprobe_reload_cancelled_runs_total Runs in flight that a reload cancelled "
    "because their transaction was removed or changed what it probes (an unchanged one "
    "finishes into the new configuration)\n"
    "# TYPE certprobe_reload_cancelled_runs_total counter\n"
    "certprobe_reload_cancelled_runs_total 0\n"
    "# HELP certprobe_passive_results_total Passive results the monitoring system took (Icinga 2 "
    "API answers, lines written to the Nagios command file)\n"
    "# TYPE certprobe_passive_results_total counter\n"
    "certprobe_passive_results_total{sink=\"icinga2\"} 7\n"
    "# HELP certprobe_passive_failures_total Passive-result deliveries that failed, by reason (the "
    "result stays queued and is retried, except rejected ones)\n"
    "# TYPE certprobe_passive_failures_total counter\n"
    "certprobe_passive_failures_total{sink=\"icinga2\",reason=\"unreachable\"} 3\n"
    "certprobe_passive_failures_total{sink=\"icinga2\",reason=\"tls\"} 1\n"
    "certprobe_passive_failures_total{sink=\"icinga2\",reason=\"auth\"} 0\n"
    "certprobe_passive_failures_total{sink=\"icinga2\",reason=\"rejected\"} 0\n"
    "certprobe_passive_failures_total{sink=\"icinga2\",reason=\"server\"} 0\n"
    "certprobe_passive_failures_total{sink=\"icinga2\",reason=\"error\"} 0\n"
    "# HELP certprobe_passive_coalesced_total Passive results replaced by a newer one of the same "
    "object before delivery\n"
    "# TYPE certprobe_passive_coalesced_total counter\n"
    "certprobe_passive_coalesced_total{sink=\"icinga2\"} 2\n"
    "# HELP certprobe_passive_dropped_total Passive results dropped: rejected by the monitoring "
    "system (no such object) or past the queue's cap\n"
    "# TYPE certprobe_passive_dropped_total counter\n"
    "certprobe_passive_dropped_total{sink=\"icinga2\"} 0\n"
    "# HELP certprobe_passive_queued Passive results waiting for delivery (the latest per object)\n"
    "# TYPE certprobe_passive_queued gauge\n"
    "certprobe_passive_queued{sink=\"icinga2\"} 4\n"
    "# HELP certprobe_passive_last_success_timestamp_seconds When the monitoring system last took "
    "a passive result (Unix seconds)\n"
    "# TYPE certprobe_passive_last_success_timestamp_seconds gauge\n"
    "certprobe_passive_last_success_timestamp_seconds{sink=\"icinga2\"} 1700000100\n";

/*
 * The OpenMetrics rendering differs only in metadata: family names without _total and
 * _info, info types, UNIT lines, and "# EOF". Spelled out in full for the families that
 * differ; the samples are checked against tiny_prom by test_same_series.
 */
static const char *const tiny_om_metadata[] = {
    "# HELP certprobe_transaction_success 1 if the last run of the transaction completed "
    "(result ok or warning), 0 if it failed (critical or unknown)\n"
    "# TYPE certprobe_transaction_success gauge\n",
    "# HELP certprobe_transaction_status Status of the last run: reason is the status code "
    "that ended it (ok when it completed), result its result class\n"
    "# TYPE certprobe_transaction_status info\n"
    "certprobe_transaction_status_info{",
    "# HELP certprobe_transaction_duration_seconds Duration of the last run of the "
    "transaction\n"
    "# TYPE certprobe_transaction_duration_seconds gauge\n"
    "# UNIT certprobe_transaction_duration_seconds seconds\n"
    "certprobe_transaction_duration_seconds{",
    "# TYPE certprobe_step_duration_seconds gauge\n"
    "# UNIT certprobe_step_duration_seconds seconds\n",
    "# TYPE certprobe_transaction_last_run_timestamp_seconds gauge\n"
    "# UNIT certprobe_transaction_last_run_timestamp_seconds seconds\n",
    "# HELP certprobe_transaction_runs Completed runs of the transaction by result class "
    "(kept across restarts in the state file)\n"
    "# TYPE certprobe_transaction_runs counter\n"
    "certprobe_transaction_runs_total{",
    "# TYPE certprobe_transaction_state gauge\n"
    "certprobe_transaction_state{",
    "# TYPE certprobe_certificate_not_after_timestamp_seconds gauge\n"
    "# UNIT certprobe_certificate_not_after_timestamp_seconds seconds\n",
    "# HELP certprobe_build Version of certprobe and of the libraries it runs with\n"
    "# TYPE certprobe_build info\n"
    "certprobe_build_info{version=\"0.1.0\",openssl=\"3.0.19\",libcurl=\"\"} 1\n",
    "# TYPE process_start_time_seconds gauge\n"
    "# UNIT process_start_time_seconds seconds\n"
    "process_start_time_seconds 1699999000\n",
    "# TYPE certprobe_scheduler_lag_seconds histogram\n"
    "# UNIT certprobe_scheduler_lag_seconds seconds\n"
    "certprobe_scheduler_lag_seconds_bucket{le=\"0.001\"} 1\n",
    "# UNIT certprobe_config_last_reload_success_timestamp_seconds seconds\n"
    "certprobe_config_last_reload_success_timestamp_seconds 1699999000\n"
    "# HELP certprobe_http_connections_open Connections open on the HTTP listener\n"
    "# TYPE certprobe_http_connections_open gauge\n"
    "certprobe_http_connections_open 3\n",
    "# TYPE certprobe_http_connections_refused counter\n"
    "certprobe_http_connections_refused_total 7\n",
    "# TYPE certprobe_http_request_deadline_closed counter\n"
    "certprobe_http_request_deadline_closed_total 2\n",
    "# TYPE certprobe_http_accept_paused counter\n"
    "certprobe_http_accept_paused_total 1\n",
    "# TYPE certprobe_state_write_failures counter\n"
    "certprobe_state_write_failures_total 2\n",
    "# TYPE certprobe_snmp_notifications counter\n"
    "certprobe_snmp_notifications_total 5\n",
    "# TYPE certprobe_snmp_agentx_connected gauge\n"
    "certprobe_snmp_agentx_connected 1\n",
    "# TYPE certprobe_reload_cancelled_runs counter\n"
    "certprobe_reload_cancelled_runs_total 0\n",
    "# TYPE certprobe_passive_results counter\n"
    "certprobe_passive_results_total{sink=\"icinga2\"} 7\n",
    "# TYPE certprobe_passive_last_success_timestamp_seconds gauge\n"
    "# UNIT certprobe_passive_last_success_timestamp_seconds seconds\n"
    "certprobe_passive_last_success_timestamp_seconds{sink=\"icinga2\"} 1700000100\n"
    "# EOF\n",
};

static void test_tiny_golden_prom(void **state)
{
	struct snapshot s;
	char *text;

	(void)state;
	tiny_snapshot(&s);
	text = render(&s, false);
	assert_string_equal(text, tiny_prom);
	free(text);
}

static void test_tiny_golden_openmetrics(void **state)
{
	struct snapshot s;
	char *text;
	size_t n = sizeof tiny_om_metadata / sizeof tiny_om_metadata[0];

	(void)state;
	tiny_snapshot(&s);
	text = render(&s, true);
	for (size_t i = 0; i < n; i++)
		if (strstr(text, tiny_om_metadata[i]) == NULL)
			fail_msg("OpenMetrics output lacks:\n%s\n--- output:\n%s",
			         tiny_om_metadata[i], text);
	/* nothing 0.0.4-only leaks into OpenMetrics */
	assert_null(strstr(text, "# TYPE certprobe_transaction_runs_total"));
	assert_null(strstr(text, "# HELP certprobe_build_info"));
	assert_null(strstr(text, " untyped"));
	/* # EOF once, at the very end */
	assert_ptr_equal(strstr(text, "# EOF\n"), text + strlen(text) - 6);
	free(text);
}

static void test_same_series(void **state)
{
	struct snapshot s;
	char *prom, *om, *a, *b;

	(void)state;
	for (int which = 0; which < 2; which++) {
		if (which == 0)
			tiny_snapshot(&s);
		else
			sample_snapshot(&s, false);
		prom = render(&s, false);
		om = render(&s, true);
		a = samples_only(prom);
		b = samples_only(om);
		assert_string_equal(a, b);
		free(a);
		free(b);
		free(prom);
		free(om);
	}
}

static void test_lint_renderings(void **state)
{
	struct snapshot s;

	(void)state;
	for (int which = 0; which < 3; which++) {
		if (which == 0)
			tiny_snapshot(&s);
		else
			sample_snapshot(&s, which == 2);
		for (int om = 0; om < 2; om++) {
			char *text = render(&s, om);
			assert_lint(text, om);
			free(text);
		}
	}
}

/* The lint itself must catch what it claims to catch. */
static void test_lint_catches(void **state)
{
	static const struct {
		const char *text;
		bool om;
	} bad[] = {
	    {"# HELP a_x h\n# TYPE a_x gauge\na_x 1\na_x 2\n", false}, /* dup */
	    {"# HELP a h\n# TYPE a gauge\na 1\n# HELP b h\n# TYPE b gauge\nb 1\n"
	     "# HELP a h\n# TYPE a gauge\n",
	     false}, /* twice */
	    {"# HELP a h\n# TYPE a gauge\na 1\n# HELP b h\n# TYPE b gauge\na 2\n", false},
	    {"# HELP a h\n# TYPE a gauge\na{x=\"\\t\"} 1\n", false}, /* escape */
	    {"# HELP a h\n# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n", false},
	    {"# HELP a h\n# TYPE a gauge\na 1\n", true}, /* no EOF */
	    {"# HELP a h\n# TYPE a gauge\na 1\n# EOF\n", false},
	    {"# HELP a h\n# TYPE a counter\na 1\n# EOF\n", true},
	    {"# HELP a h\n# TYPE a gauge\n\na 1\n", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[256];
		if (lint_exposition(bad[i].text, bad[i].om, err, sizeof err) != -1)
			fail_msg("lint accepted bad case %zu", i);
	}
}

static void test_escaping(void **state)
{
	struct snapshot s;
	struct snapshot_txn t;
	struct snapshot_endpoint e;
	char *text;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&t, 0, sizeof t);
	memset(&e, 0, sizeof e);
	/* backslash, quote, newline; valid UTF-8 kept; a stray byte, a truncated sequence, an
	 * overlong form and a surrogate become U+FFFD */
	t.name = "a\\b\"c\nd \xc3\xa9\xe2\x82\xac \xff|\xe2\x82|\xc0\xaf|\xed\xa0\x80";
	t.type = NULL; /* reads as "" */
	t.protocol = "scep";
	t.endpoint = "\"";
	s.txns = &t;
	s.n_txns = 1;
	e.name = "x\\";
	e.kind = ENDPOINT_KIND_REGISTRAR;
	s.endpoints = &e;
	s.n_endpoints = 1;
	s.self.version = "1\n2";
	for (int om = 0; om < 2; om++) {
		text = render(&s, om);
		assert_non_null(
		    strstr(text, "certprobe_transaction_state_hard{transaction=\"a\\\\b\\\"c\\nd "
		                 "\xc3\xa9\xe2\x82\xac \xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
		                 "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\","
		                 "type=\"\",protocol=\"scep\",endpoint=\"\\\"\"} 0\n"));
		assert_non_null(
		    strstr(text, "{endpoint=\"x\\\\\",kind=\"registrar\",state=\"ok\"} 1\n"));
		assert_non_null(strstr(text, "{version=\"1\\n2\",openssl=\"\",libcurl=\"\"} 1\n"));
		assert_lint(text, om);
		free(text);
	}
}

static void test_absent_and_odd_rows(void **state)
{
	struct snapshot s;
	struct snapshot_txn t[2];
	char *text;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(t, 0, sizeof t);
	t[0].name = "never";
	/* no result: no success, duration, steps, timestamps, status; state and runs exist */
	t[0].steps[0].name = "ignored";
	t[0].n_steps = 1;
	set_cert(&t[0], CERT_ROLE_ISSUED, 1795316412); /* known from the state directory */
	t[1].name = "odd";
	t[1].have_result = true;
	t[1].status = (enum txn_status)9999;
	t[1].result = (enum result_class)77;
	t[1].state = (enum result_class) - 1;
	t[1].n_steps = TXN_MAX_STEPS + 5; /* clamped */
	t[1].steps[0].name = "a";
	t[1].steps[1].name = NULL; /* skipped */
	t[1].steps[2].name = "a";
	t[1].steps[0].duration_us = 1;
	t[1].steps[2].duration_us = 2;
	t[1].steps[TXN_MAX_STEPS - 1].name = "last";
	s.txns = t;
	s.n_txns = 2;
	text = render(&s, false);
	assert_lint(text, false);
	assert_null(strstr(text, "certprobe_transaction_success{transaction=\"never\""));
	assert_null(strstr(text, "certprobe_transaction_status_info{transaction=\"never\""));
	assert_null(strstr(text, "certprobe_transaction_duration_seconds{transaction=\"never\""));
	assert_null(strstr(text, "_last_run_timestamp_seconds{transaction=\"never\""));
	assert_null(strstr(text, "_last_success_timestamp_seconds{transaction=\"never\""));
	assert_null(strstr(text, "\"ignored\""));
	assert_non_null(strstr(text, "certprobe_transaction_runs_total{transaction=\"never\","
	                             "type=\"\",protocol=\"\",endpoint=\"\",result=\"ok\"} 0\n"));
	assert_non_null(strstr(text, "certprobe_transaction_state_hard{transaction=\"never\""));
	assert_non_null(strstr(text, "{transaction=\"never\",type=\"\",protocol=\"\",endpoint=\"\","
	                             "role=\"issued\"} 1795316412\n"));
	/* out-of-range values read as unknown / probe_internal, never as a missing state */
	assert_non_null(strstr(text, "{transaction=\"odd\",type=\"\",protocol=\"\",endpoint=\"\","
	                             "reason=\"probe_internal\",result=\"unknown\"} 1\n"));
	assert_non_null(strstr(text, "certprobe_transaction_success{transaction=\"odd\",type=\"\","
	                             "protocol=\"\",endpoint=\"\"} 0\n"));
	assert_non_null(strstr(text, "endpoint=\"\",state=\"unknown\"} 1\n"));
	assert_non_null(strstr(text, "step=\"a\"} 0.000003\n"));
	assert_non_null(strstr(text, "step=\"last\"} 0\n"));
	free(text);
}

static void test_empty_snapshot(void **state)
{
	struct snapshot s;
	char *text;

	(void)state;
	memset(&s, 0, sizeof s);
	s.n_txns = 5; /* with a NULL array: no rows */
	for (int om = 0; om < 2; om++) {
		text = render(&s, om);
		assert_lint(text, om);
		assert_null(strstr(text, "transaction="));
		assert_non_null(strstr(text, "certprobe_transactions_in_flight 0\n"));
		free(text);
	}
}

static void test_cap(void **state)
{
	struct snapshot s;
	struct bbuf b;
	size_t full;

	(void)state;
	tiny_snapshot(&s);
	bbuf_init(&b, BIG_CAP);
	assert_int_equal(prometheus_render(&b, &s, true), 0);
	full = b.len;
	bbuf_free(&b);

	bbuf_init(&b, full);
	assert_int_equal(prometheus_render(&b, &s, true), 0);
	assert_int_equal(b.len, full);
	bbuf_free(&b);

	bbuf_init(&b, full - 1);
	assert_int_equal(prometheus_render(&b, &s, true), -1);
	bbuf_free(&b);

	bbuf_init(&b, 10);
	assert_int_equal(prometheus_render(&b, &s, false), -1);
	bbuf_free(&b);

	/* the row labels alone exceed the cap */
	bbuf_init(&b, 40);
	assert_int_equal(prometheus_render(&b, &s, false), -1);
	bbuf_free(&b);

	/* appends after what the caller already holds */
	bbuf_init(&b, BIG_CAP);
	assert_int_equal(bbuf_append(&b, "x", 1), 0);
	assert_int_equal(prometheus_render(&b, &s, true), 0);
	assert_int_equal(b.len, full + 1);
	assert_int_equal(b.data[0], 'x');
	bbuf_free(&b);
}

static bool snake(const char *s)
{
	if (s == NULL || s[0] < 'a' || s[0] > 'z')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static void test_table(void **state)
{
	size_t n;
	const struct metric_def *t = metrics_table(&n);
	static const char *const reserved[] = {"le",       "quantile", "transaction", "type",
	                                       "protocol", "endpoint", "kind"};

	(void)state;
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		const char *name = t[i].name;
		size_t len = strlen(name);

		/* /probe answers with blackbox_exporter's probe_ names besides ours */
		if (!snake(name) ||
		    (strncmp(name, "certprobe_", 10) != 0 && strncmp(name, "process_", 8) != 0 &&
		     !(t[i].scope == METRIC_SCOPE_PROBE && strncmp(name, "probe_", 6) == 0)))
			fail_msg("bad family name %s", name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(t[j].name, name) == 0)
				fail_msg("family %s declared twice", name);
		if (t[i].help == NULL || t[i].help[0] == '\0' ||
		    strpbrk(t[i].help, "\\\"\n") != NULL)
			fail_msg("%s: help must be one plain line", name);
		if ((t[i].unit == METRIC_UNIT_SECONDS) != ends_with(name, len, "_seconds"))
			fail_msg("%s: unit seconds iff the name ends in _seconds", name);
		if (ends_with(name, len, "_total") || ends_with(name, len, "_info") ||
		    ends_with(name, len, "_count") || ends_with(name, len, "_sum") ||
		    ends_with(name, len, "_bucket") || ends_with(name, len, "_created"))
			fail_msg("%s: family names carry no sample suffix", name);
		if (t[i].type == METRIC_INFO && t[i].unit != METRIC_UNIT_NONE)
			fail_msg("%s: info metrics have no unit", name);
		if (t[i].type == METRIC_HISTOGRAM && t[i].scope != METRIC_SCOPE_SELF)
			fail_msg("%s: histograms are only rendered for self", name);
		if (t[i].get == NULL)
			fail_msg("%s: no getter", name);
		for (size_t k = 0; k < METRIC_MAX_LABELS && t[i].labels[k] != NULL; k++) {
			if (!snake(t[i].labels[k]))
				fail_msg("%s: bad label name %s", name, t[i].labels[k]);
			for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; r++)
				if (strcmp(t[i].labels[k], reserved[r]) == 0)
					fail_msg("%s: label %s is reserved or common", name,
					         t[i].labels[k]);
			/* own labels fill the slots from the start */
			if (k > 0 && t[i].labels[k - 1] == NULL)
				fail_msg("%s: hole in labels", name);
		}
		if (i > 0 && t[i].scope < t[i - 1].scope)
			fail_msg("%s: families are grouped by scope", name);
	}
}

static void test_vocabularies(void **state)
{
	(void)state;
	assert_string_equal(metrics_result_label(RESULT_OK), "ok");
	assert_string_equal(metrics_result_label(RESULT_WARNING), "warning");
	assert_string_equal(metrics_result_label(RESULT_CRITICAL), "critical");
	assert_string_equal(metrics_result_label(RESULT_UNKNOWN), "unknown");
	assert_string_equal(metrics_result_label((enum result_class)42), "unknown");
	assert_string_equal(metrics_cert_role_label(CERT_ROLE_ISSUED), "issued");
	assert_string_equal(metrics_cert_role_label(CERT_ROLE_CLIENT), "client");
	assert_string_equal(metrics_cert_role_label(CERT_ROLE_SERVER), "server");
	assert_string_equal(metrics_cert_role_label(CERT_ROLE_CA), "ca");
	assert_null(metrics_cert_role_label(CERT_ROLE_COUNT));
	assert_string_equal(metrics_endpoint_kind_label(ENDPOINT_KIND_REGISTRAR), "registrar");
	assert_string_equal(metrics_endpoint_kind_label(ENDPOINT_KIND_WEB_SERVICE), "web_service");
	assert_null(metrics_endpoint_kind_label(ENDPOINT_KIND_COUNT));
}

static void test_histogram_observe(void **state)
{
	struct snapshot_histogram h;

	(void)state;
	memset(&h, 0, sizeof h);
	for (size_t b = 1; b < SNAPSHOT_HISTOGRAM_BOUNDS; b++)
		assert_true(metrics_histogram_bounds_us[b] > metrics_histogram_bounds_us[b - 1]);
	metrics_histogram_observe(&h, 0);
	metrics_histogram_observe(&h, 1000); /* le is inclusive */
	metrics_histogram_observe(&h, 1001);
	metrics_histogram_observe(&h, 300000000);
	metrics_histogram_observe(&h, 300000001);
	assert_int_equal(h.counts[0], 2);
	assert_int_equal(h.counts[1], 1);
	assert_int_equal(h.counts[SNAPSHOT_HISTOGRAM_BOUNDS - 1], 1);
	assert_int_equal(h.counts[SNAPSHOT_HISTOGRAM_BOUNDS], 1);
	assert_int_equal(h.sum_us, 600002002);
}

static void test_rows(void **state)
{
	struct snapshot s;

	(void)state;
	tiny_snapshot(&s);
	assert_int_equal(metrics_rows(&s, METRIC_SCOPE_TXN), 2);
	assert_int_equal(metrics_rows(&s, METRIC_SCOPE_ENDPOINT), 2);
	assert_int_equal(metrics_rows(&s, METRIC_SCOPE_SELF), 1);
	assert_ptr_equal(metrics_row(&s, METRIC_SCOPE_TXN, 1), &s.txns[1]);
	assert_ptr_equal(metrics_row(&s, METRIC_SCOPE_ENDPOINT, 0), &s.endpoints[0]);
	assert_ptr_equal(metrics_row(&s, METRIC_SCOPE_SELF, 0), &s.self);
	assert_null(metrics_row(&s, METRIC_SCOPE_TXN, 2));
	assert_null(metrics_row(&s, METRIC_SCOPE_SELF, 1));
}

/* A non-Prometheus consumer (SNMP, state file) walks the same table and getters. */
static void test_generic_walk(void **state)
{
	struct snapshot s;
	size_t n, samples = 0;
	const struct metric_def *t = metrics_table(&n);
	bool saw_duration = false;

	(void)state;
	tiny_snapshot(&s);
	for (size_t f = 0; f < n; f++) {
		if (t[f].snmp_only)
			continue; /* no Prometheus family: counted below against the rendering */
		for (size_t r = 0; r < metrics_rows(&s, t[f].scope); r++) {
			const void *row = metrics_row(&s, t[f].scope, r);
			size_t k = t[f].series != NULL ? t[f].series(row) : 1;
			for (size_t i = 0; i < k; i++) {
				struct metric_sample smp;
				memset(&smp, 0, sizeof smp);
				if (!t[f].get(row, i, &smp))
					continue;
				samples++;
				if (strcmp(t[f].name, "certprobe_transaction_duration_seconds") ==
				    0) {
					assert_int_equal(smp.value.kind, METRIC_VALUE_MICRO);
					assert_int_equal(smp.value.u, 1234567);
					saw_duration = true;
				}
			}
		}
	}
	assert_true(saw_duration);
	/* every sample line of the 0.0.4 rendering except histogram expansion (13 lines, 1 get) */
	{
		char *text = render(&s, false);
		char *only = samples_only(text);
		size_t lines = 0;
		for (const char *p = only; *p != '\0'; p++)
			lines += *p == '\n';
		assert_int_equal(lines, samples + 12);
		free(only);
		free(text);
	}
}

static void test_set_result(void **state)
{
	struct txn_result r;
	struct snapshot_txn row;

	(void)state;
	memset(&r, 0, sizeof r);
	memset(&row, 0, sizeof row);
	row.name = "keep";
	row.type = "client-auth";
	row.protocol = "sip-register";
	row.runs[RESULT_OK] = 3;
	/* a result's type and protocol never replace the row's (the label flip of issue 9) */
	r.type = "enrollment";
	r.protocol = "sip";
	r.status = TXN_SCEP_FAILURE_BAD_REQUEST;
	r.result = RESULT_CRITICAL;
	r.duration_us = 777;
	r.n_steps = 2;
	r.steps[0].name = "getcacaps";
	r.steps[0].duration_us = 5;
	r.steps[1].name = "request";
	r.steps[1].duration_us = 700;
	metrics_txn_set_result(&row, &r);
	assert_true(row.have_result);
	assert_string_equal(row.type, "client-auth");
	assert_string_equal(row.protocol, "sip-register");
	assert_int_equal(row.status, TXN_SCEP_FAILURE_BAD_REQUEST);
	assert_int_equal(row.result, RESULT_CRITICAL);
	assert_int_equal(row.duration_us, 777);
	assert_int_equal(row.n_steps, 2);
	assert_string_equal(row.steps[1].name, "request");
	assert_int_equal(row.steps[1].duration_us, 700);
	assert_string_equal(row.name, "keep");
	assert_int_equal(row.runs[RESULT_OK], 3);
	r.n_steps = TXN_MAX_STEPS + 3;
	metrics_txn_set_result(&row, &r);
	assert_int_equal(row.n_steps, TXN_MAX_STEPS);
}

/*
 * /probe renders through the table: a result that polled three times has one certpoll
 * series (Prometheus drops duplicates), and the result label is the lower-case word
 * /metrics uses.
 */
static void test_probe_render(void **state)
{
	struct snapshot_txn row;
	struct txn_result r;
	struct snapshot s;
	struct bbuf b;
	const char *text, *p;
	size_t n = 0;

	(void)state;
	memset(&row, 0, sizeof row);
	memset(&r, 0, sizeof r);
	memset(&s, 0, sizeof s);
	r.status = TXN_OK;
	r.result = RESULT_WARNING;
	r.duration_us = 3000000;
	r.n_steps = 4;
	r.steps[0].name = "pkioperation";
	for (size_t i = 1; i < 4; i++) {
		r.steps[i].name = "certpoll";
		r.steps[i].duration_us = 1000;
	}
	metrics_txn_set_result(&row, &r);
	s.probe = &row;
	bbuf_init(&b, 1 << 20);
	assert_int_equal(prometheus_render(&b, &s, false), 0);
	bbuf_append(&b, "", 1);
	text = (const char *)b.data;
	for (p = text; (p = strstr(p, "probe_step_duration_seconds{step=\"certpoll\"}")) != NULL;
	     p++)
		n++;
	assert_int_equal(n, 1);
	assert_non_null(strstr(text, "probe_step_duration_seconds{step=\"certpoll\"} 0.003\n"));
	assert_non_null(
	    strstr(text, "certprobe_probe_status_info{reason=\"ok\",result=\"warning\"} 1"));
	assert_non_null(strstr(text, "probe_success 1\n"));
	assert_non_null(strstr(text, "certprobe_probe_result 1\n"));
	/* and none of /metrics' families */
	assert_null(strstr(text, "certprobe_transaction_"));
	assert_null(strstr(text, "certprobe_build_info"));
	bbuf_free(&b);
}

/* A snapshot copy owns its rows: the source can be freed (a reload) while it is read. */
static void test_snapshot_copy(void **state)
{
	struct snapshot_txn *rows = calloc(2, sizeof *rows);
	struct snapshot_endpoint *eps = calloc(1, sizeof *eps);
	char *name = strdup("gone-after-reload"), *ep = strdup("h1:443");
	struct snapshot s, *c, *c2;
	struct bbuf b;

	(void)state;
	memset(&s, 0, sizeof s);
	rows[0].name = name;
	rows[0].type = "enrollment";
	rows[0].protocol = "scep";
	rows[0].endpoint = ep;
	rows[0].interval_ms = 60000;
	eps[0].name = ep;
	s.txns = rows;
	s.n_txns = 1;
	s.endpoints = eps;
	s.n_endpoints = 1;
	c = snapshot_copy(&s);
	c2 = snapshot_ref(c);
	memset(name, 'x', strlen(name));
	memset(ep, 'y', strlen(ep));
	free(name);
	free(ep);
	memset(rows, 0xa5, 2 * sizeof *rows);
	free(rows);
	free(eps);
	snapshot_unref(c);
	bbuf_init(&b, 1 << 20);
	assert_int_equal(prometheus_render(&b, c2, false), 0);
	bbuf_append(&b, "", 1);
	assert_non_null(
	    strstr((const char *)b.data,
	           "certprobe_transaction_interval_seconds{transaction=\"gone-after-"
	           "reload\",type=\"enrollment\",protocol=\"scep\",endpoint=\"h1:443\"} 60"));
	bbuf_free(&b);
	snapshot_unref(c2);
	snapshot_unref(NULL);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * 10,000 transactions: time both renderings (printed, not asserted) and lint them. The
 * first run starts from an empty buffer, as a scrape does; the others reuse its memory.
 */
static void test_large_render(void **state)
{
	struct big g;
	struct bbuf b;

	(void)state;
	big_build(&g, 10000);
	for (int om = 0; om < 2; om++) {
		double cold = 0, best = 1e9;
		size_t lines = 0;

		bbuf_init(&b, BIG_CAP);
		for (int run = 0; run < 5; run++) {
			double t0, ms;
			bbuf_reset(&b);
			t0 = now_ms();
			assert_int_equal(prometheus_render(&b, &g.s, om), 0);
			ms = now_ms() - t0;
			if (run == 0)
				cold = ms;
			else if (ms < best)
				best = ms;
		}
		for (size_t i = 0; i < b.len; i++)
			lines += b.data[i] == '\n';
		printf("[ TIMING   ] 10000 transactions, %s: %.1f ms from an empty buffer, %.1f ms "
		       "reusing it; %zu lines, %.1f MB\n",
		       om ? "OpenMetrics" : "0.0.4", cold, best, lines, (double)b.len / 1e6);
		fflush(stdout);
		/* 23 series per transaction; 404 endpoint series, 28 self (no shard set, no
		 * passive sink), 72 HELP/TYPE; 11 UNIT,
		 * EOF (the interval family has no series here: its rows set no interval) */
		assert_int_equal(lines, 10000 * 23 + 404 + 28 + 72 + (om ? 12 : 0));
		assert_lint((const char *)b.data, om);
		bbuf_free(&b);
	}
	big_free(&g);
}

static int sample_main(int argc, char **argv)
{
	struct snapshot s;
	struct bbuf b;
	bool om = false, empty = false;
	int rc = 0;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--openmetrics") == 0) {
			om = true;
		} else if (strcmp(argv[i], "--empty") == 0) {
			empty = true;
		} else {
			fprintf(stderr, "usage: %s --sample [--openmetrics] [--empty]\n", argv[0]);
			return 2;
		}
	}
	sample_snapshot(&s, empty);
	bbuf_init(&b, BIG_CAP);
	if (prometheus_render(&b, &s, om) == -1 || fwrite(b.data, 1, b.len, stdout) != b.len ||
	    fflush(stdout) != 0)
		rc = 1;
	bbuf_free(&b);
	return rc;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tiny_golden_prom),
	    cmocka_unit_test(test_tiny_golden_openmetrics),
	    cmocka_unit_test(test_same_series),
	    cmocka_unit_test(test_lint_renderings),
	    cmocka_unit_test(test_lint_catches),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_absent_and_odd_rows),
	    cmocka_unit_test(test_empty_snapshot),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_vocabularies),
	    cmocka_unit_test(test_histogram_observe),
	    cmocka_unit_test(test_rows),
	    cmocka_unit_test(test_generic_walk),
	    cmocka_unit_test(test_set_result),
	    cmocka_unit_test(test_probe_render),
	    cmocka_unit_test(test_snapshot_copy),
	    cmocka_unit_test(test_large_render),
	};

	if (argc > 1 && strcmp(argv[1], "--sample") == 0)
		return sample_main(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
