/*
 * test_shard: Prometheus's hashmod (MD5, last 8 bytes big-endian, modulo the count) with
 * values computed independently (Python's hashlib), a dependant going with its root, the
 * filter keeping exactly one shard's transactions, and the "i/n" / "n" parsers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "config/shard.h"

static void test_hashmod_vectors(void **state)
{
	(void)state;
	/* the full 64-bit value, then remainders */
	assert_true(shard_hashmod("a", UINT64_MAX) == 3585878926028121697ull);
	assert_true(shard_hashmod("enroll-a", UINT64_MAX) == 11094370806766546727ull);
	assert_int_equal(shard_hashmod("a", 3), 1);
	assert_int_equal(shard_hashmod("alpha", 3), 1);
	assert_int_equal(shard_hashmod("enroll-a", 3), 2);
	assert_int_equal(shard_hashmod("logon-0", 3), 2);
	assert_int_equal(shard_hashmod("logon-0", 1000), 50);
	assert_int_equal(shard_hashmod("", 1000), 958);
	assert_int_equal(shard_hashmod("anything", 1), 0);
}

static const char yaml[] =
    "probe: {shard: {index: 2, count: 3}}\n"
    "transactions:\n"
    "  - {name: enroll-a, type: enrollment, protocol: scep, url: 'http://127.0.0.1:1/scep',\n"
    "     subject: CN=x, challenge: {env: CERTPROBE_TEST_UNSET}}\n"
    "  - {name: logon-b, type: client-auth, registrar: {host: 127.0.0.1, port: 5061},\n"
    "     sip_uri: 'sip:a@example.com', certificate: {from: enroll-a}, trust_store: /dev/null}\n"
    "  - {name: alpha, type: client-auth, registrar: {host: 127.0.0.1, port: 5061},\n"
    "     sip_uri: 'sip:a@example.com', trust_store: /dev/null}\n"
    "  - {name: logon-0, type: client-auth, registrar: {host: 127.0.0.1, port: 5061},\n"
    "     sip_uri: 'sip:a@example.com', trust_store: /dev/null}\n";

static void test_apply_keeps_one_shard(void **state)
{
	unsigned n = 0;
	struct config *cfg;

	(void)state;
	cfg = config_load_buffer("test.yaml", yaml, strlen(yaml), stderr, &n);
	assert_non_null(cfg);
	assert_int_equal(cfg->shard.index, 2);
	assert_int_equal(cfg->shard.count, 3);
	/* logon-b hashes to 0 itself, but goes with its root enroll-a (2) */
	assert_int_equal(shard_hashmod("logon-b", 3), 0);
	assert_string_equal(shard_root(cfg, config_find_txn(cfg, "logon-b"))->name, "enroll-a");
	assert_int_equal(shard_of(cfg, config_find_txn(cfg, "logon-b"), 3), 2);
	shard_apply(cfg);
	assert_int_equal(cfg->n_txns, 3);
	assert_string_equal(cfg->txns->name, "enroll-a");
	assert_string_equal(cfg->txns->next->name, "logon-b");
	assert_string_equal(cfg->txns->next->next->name, "logon-0");
	assert_null(cfg->txns->next->next->next);
	assert_null(config_find_txn(cfg, "alpha"));
	config_free(cfg);
}

static void test_parse(void **state)
{
	struct shard_conf s;

	(void)state;
	assert_int_equal(shard_parse("1/3", &s), 0);
	assert_int_equal(s.index, 1);
	assert_int_equal(s.count, 3);
	assert_int_equal(shard_parse("0/1", &s), 0);
	assert_int_equal(shard_parse("3/3", &s), -1);
	assert_int_equal(shard_parse("1/0", &s), -1);
	assert_int_equal(shard_parse("1/1001", &s), -1);
	assert_int_equal(shard_parse("-1/3", &s), -1);
	assert_int_equal(shard_parse("1/3x", &s), -1);
	assert_int_equal(shard_parse("1/", &s), -1);
	assert_int_equal(shard_parse("3", &s), -1);
	assert_int_equal(shard_parse_count("3", &s), 0);
	assert_int_equal(s.count, 3);
	assert_int_equal(shard_parse_count("0", &s), -1);
	assert_int_equal(shard_parse_count("1/3", &s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hashmod_vectors),
	    cmocka_unit_test(test_apply_keeps_one_shard),
	    cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
