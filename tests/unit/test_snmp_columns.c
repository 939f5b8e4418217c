/*
 * test_snmp_columns: CERTPROBE-MIB over a snapshot without net-snmp. A GETNEXT walk from
 * the root visits instances in strictly increasing OID order, each answers GET with the
 * same value, rows sort by length-prefixed name, sparse cells (no result yet) have no
 * instance, values are encoded as the metric table's snmp_syntax says.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "exporters/snmp_columns.h"

static const uint32_t root[] = {SNMP_COLUMNS_ROOT};

static int cmp(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	size_t n = na < nb ? na : nb;

	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return na < nb ? -1 : na > nb ? 1 : 0;
}

static struct snapshot *sample(struct history **hist)
{
	static struct snapshot_txn txns[2];
	static struct snapshot_endpoint eps[1];
	struct snapshot s;
	struct history_entry e;

	memset(txns, 0, sizeof txns);
	memset(&s, 0, sizeof s);
	*hist = history_new(3);
	memset(&e, 0, sizeof e);
	e.end = 1700000000;
	e.result = RESULT_CRITICAL;
	e.status = TXN_TIMEOUT;
	history_add(*hist, &e);
	history_add(*hist, &e);
	/* "zz" sorts before "abc": the index is length-prefixed */
	txns[0] = (struct snapshot_txn){.name = "abc",
	                                .type = "enrollment",
	                                .protocol = "scep",
	                                .endpoint = "ca:80",
	                                .interval_ms = 2000,
	                                .have_result = true,
	                                .status = TXN_TIMEOUT,
	                                .reason = TXN_TIMEOUT,
	                                .result = RESULT_CRITICAL,
	                                .duration_us = 1500,
	                                .last_run = 1700000000,
	                                .detail = "no answer",
	                                .history = *hist};
	txns[0].steps[0] = (struct snapshot_step){"connect", 10};
	txns[0].n_steps = 1;
	txns[0].certs[CERT_ROLE_SERVER] = (struct snapshot_cert){.present = true,
	                                                         .not_after = 1700086400,
	                                                         .fingerprint = "sha256:00ff",
	                                                         .subject = "CN=x"};
	txns[0].runs[RESULT_OK] = 3;
	txns[0].runs[RESULT_CRITICAL] = 2;
	txns[1] = (struct snapshot_txn){.name = "zz",
	                                .type = "client-auth",
	                                .protocol = "sip-register",
	                                .endpoint = "reg:5061"};
	eps[0] = (struct snapshot_endpoint){.name = "reg:5061",
	                                    .kind = ENDPOINT_KIND_REGISTRAR,
	                                    .state = RESULT_WARNING,
	                                    .members = 1};
	s.txns = txns;
	s.n_txns = 2;
	s.endpoints = eps;
	s.n_endpoints = 1;
	s.self.version = "9.9";
	return snapshot_copy_flags(&s, SNAPSHOT_COPY_HISTORY);
}

static void test_walk_order(void **state)
{
	struct history *h;
	struct snapshot *s = sample(&h);
	struct snmp_view *v = snmp_view_new(s);
	uint32_t cur[SNMP_OID_MAX], next[SNMP_OID_MAX];
	size_t n = SNMP_COLUMNS_ROOT_LEN, nn, steps = 0;
	struct snmp_value val, got;
	bool saw_hist = false, saw_zz_result = false;

	(void)state;
	snapshot_unref(s); /* the view keeps its own reference */
	memcpy(cur, root, sizeof root);
	while (snmp_view_next(v, cur, n, 1700000000, next, &nn, &val) == 0) {
		assert_true(cmp(next, nn, cur, n) > 0);
		assert_int_equal(snmp_view_get(v, next, nn, 1700000000, &got), 0);
		assert_int_equal(got.type, val.type);
		assert_true(got.i == val.i && got.u == val.u && got.len == val.len);
		if (nn > SNMP_COLUMNS_ROOT_LEN + 2 && next[SNMP_COLUMNS_ROOT_LEN + 1] == 5)
			saw_hist = true;
		/* zz has no result: only its state columns (1..3, 13..15) exist */
		if (next[SNMP_COLUMNS_ROOT_LEN + 1] == 3 && next[SNMP_COLUMNS_ROOT_LEN + 4] == 2) {
			saw_zz_result = true;
			assert_true(next[SNMP_COLUMNS_ROOT_LEN + 3] <= 3 ||
			            (next[SNMP_COLUMNS_ROOT_LEN + 3] >= 13 &&
			             next[SNMP_COLUMNS_ROOT_LEN + 3] <= 15));
		}
		memcpy(cur, next, nn * sizeof *next);
		n = nn;
		steps++;
		assert_true(steps < 1000);
	}
	assert_true(steps > 40);
	assert_true(saw_hist);
	assert_true(saw_zz_result);
	snmp_view_free(v);
	history_free(h);
}

static void test_values(void **state)
{
	struct history *h;
	struct snapshot *s = sample(&h);
	struct snmp_view *v = snmp_view_new(s);
	uint32_t idx[SNMP_OID_MAX], oid[SNMP_OID_MAX];
	size_t ni = snmp_columns_index_txn(idx, "abc", 0), n;
	struct snmp_value val;

	(void)state;
	snapshot_unref(s);
	/* result state: ok(1) (0 + 1) */
	n = snmp_columns_oid(oid, METRIC_SNMP_RESULT, 1, idx, ni);
	assert_int_equal(snmp_view_get(v, oid, n, 0, &val), 0);
	assert_int_equal(val.i, 1);
	/* reason: timeout(6) */
	n = snmp_columns_oid(oid, METRIC_SNMP_RESULT, 6, idx, ni);
	assert_int_equal(snmp_view_get(v, oid, n, 0, &val), 0);
	assert_int_equal(val.i, TXN_TIMEOUT + 1);
	/* runs and failures: Counter64 */
	n = snmp_columns_oid(oid, METRIC_SNMP_RESULT, 14, idx, ni);
	assert_int_equal(snmp_view_get(v, oid, n, 0, &val), 0);
	assert_int_equal(val.type, SNMP_VALUE_COUNTER64);
	assert_int_equal(val.u, 5);
	n = snmp_columns_oid(oid, METRIC_SNMP_RESULT, 15, idx, ni);
	assert_int_equal(snmp_view_get(v, oid, n, 0, &val), 0);
	assert_int_equal(val.u, 2);
	/* detail text */
	n = snmp_columns_oid(oid, METRIC_SNMP_RESULT, 8, idx, ni);
	assert_int_equal(snmp_view_get(v, oid, n, 0, &val), 0);
	assert_int_equal(val.len, 9);
	assert_memory_equal(val.octets, "no answer", 9);
	/* last run: DateAndTime 2023-11-14 22:13:20 UTC */
	n = snmp_columns_oid(oid, METRIC_SNMP_RESULT, 11, idx, ni);
	assert_int_equal(snmp_view_get(v, oid, n, 0, &val), 0);
	assert_int_equal(val.len, 11);
	assert_int_equal(val.octets[0] << 8 | val.octets[1], 2023);
	assert_int_equal(val.octets[4], 22);
	/* last success: never, no instance */
	n = snmp_columns_oid(oid, METRIC_SNMP_RESULT, 12, idx, ni);
	assert_int_equal(snmp_view_get(v, oid, n, 0, &val), -1);
	/* server certificate: fingerprint 04 00 ff, seconds to expiry from `now` */
	ni = snmp_columns_index_txn(idx, "abc", CERT_ROLE_SERVER + 1);
	n = snmp_columns_oid(oid, METRIC_SNMP_CERT, 8, idx, ni);
	assert_int_equal(snmp_view_get(v, oid, n, 0, &val), 0);
	assert_int_equal(val.len, 3);
	assert_int_equal(val.octets[0], 4);
	assert_int_equal(val.octets[2], 0xff);
	n = snmp_columns_oid(oid, METRIC_SNMP_CERT, 7, idx, ni);
	assert_int_equal(snmp_view_get(v, oid, n, 1700000000, &val), 0);
	assert_int_equal(val.i, 86400);
	/* no client certificate: no row */
	ni = snmp_columns_index_txn(idx, "abc", CERT_ROLE_CLIENT + 1);
	n = snmp_columns_oid(oid, METRIC_SNMP_CERT, 2, idx, ni);
	assert_int_equal(snmp_view_get(v, oid, n, 0, &val), -1);
	/* history: entries 1 and 2, class critical(3) */
	ni = snmp_columns_index_txn(idx, "abc", 2);
	n = snmp_columns_oid(oid, METRIC_SNMP_HISTORY, SNMP_HISTORY_CLASS, idx, ni);
	assert_int_equal(snmp_view_get(v, oid, n, 0, &val), 0);
	assert_int_equal(val.i, 3);
	ni = snmp_columns_index_txn(idx, "abc", 3);
	n = snmp_columns_oid(oid, METRIC_SNMP_HISTORY, SNMP_HISTORY_CLASS, idx, ni);
	assert_int_equal(snmp_view_get(v, oid, n, 0, &val), -1);
	/* endpoint: registrar(1) index, warning(2) */
	ni = snmp_columns_index_endpoint(idx, ENDPOINT_KIND_REGISTRAR, "reg:5061");
	assert_int_equal(idx[0], 1);
	n = snmp_columns_oid(oid, METRIC_SNMP_ENDPOINT, 3, idx, ni);
	assert_int_equal(snmp_view_get(v, oid, n, 0, &val), 0);
	assert_int_equal(val.i, 2);
	snmp_view_free(v);
	history_free(h);
}

static void test_reason_labels(void **state)
{
	char buf[80];

	(void)state;
	assert_int_equal(snmp_columns_reason_label(TXN_OK, buf, sizeof buf), 0);
	assert_string_equal(buf, "ok");
	assert_int_equal(snmp_columns_reason_label(TXN_TLS_CHAIN_INCOMPLETE, buf, sizeof buf), 0);
	assert_string_equal(buf, "tlsChainIncomplete");
	assert_int_equal(snmp_columns_reason_label(TXN_STATUS_COUNT, buf, sizeof buf), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_walk_order),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_reason_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
