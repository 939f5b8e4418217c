/*
 * test_config: the YAML config loader (config/config). Durations, the example config
 * and its defaults, one error of each kind at the right line:col, all errors collected,
 * secret resolution, and secrets never reaching the error output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "transactions/clientauth/clientauth_conf.h"
#include "transactions/clientauth/clientauth_txn.h"
#include "transactions/scep/scep_conf.h"
#include "transactions/scep/scep_txn.h"
#include "transactions/txn_type.h"

#define SECRET "S3cr3t-Hunter2"

/* One transaction with every required key on lines 1-6; tests append from line 7. */
#define TX                                                                                         \
	"transactions:\n"                                                                          \
	"  - name: t1\n"                                                                           \
	"    type: enrollment\n"                                                                   \
	"    protocol: scep\n"                                                                     \
	"    url: http://127.0.0.1:18080/scep\n"                                                   \
	"    subject: CN=probe\n"

static const char example[] =
    "probe:\n"
    "  state_dir: /var/lib/certprobe            # issued certificates, keys (0600), state\n"
    "defaults:\n"
    "  interval: 15m\n"
    "  timeout: 30s\n"
    "transactions:\n"
    "  - name: ndes-enroll\n"
    "    type: enrollment\n"
    "    protocol: scep\n"
    "    url: http://127.0.0.1:18080/scep\n"
    "    ca_fingerprint: "
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08   # optional pin\n"
    "    challenge: {file: /etc/certprobe/ndes.challenge}\n"
    "    subject: CN=certprobe-synthetic,O=Example\n"
    "    key: {type: rsa, bits: 2048}\n"
    "    trust_store: /etc/certprobe/device-roots.pem\n";

/* The enrollment spec of t. */
static const struct scep_conf *scep(const struct txn_conf *t)
{
	assert_ptr_equal(t->type, &scep_txn_type);
	assert_ptr_equal(txn_conf_type(t), &scep_txn_type);
	return t->spec;
}

/* Load text from a buffer named test.yaml; *out receives everything written to errout. */
static struct config *load_text(const char *yaml, char **out, unsigned *nerrors)
{
	struct config *cfg;
	size_t len = 0;
	FILE *f;

	*out = NULL;
	f = open_memstream(out, &len);
	assert_non_null(f);
	cfg = config_load_buffer("test.yaml", yaml, strlen(yaml), f, nerrors);
	fclose(f);
	return cfg;
}

/* Returns 0 when loading yaml fails with the expected text in the output. */
static int expect_error(const char *yaml, const char *expected)
{
	struct config *cfg;
	unsigned n = 0;
	char *out;
	int rc = 0;

	cfg = load_text(yaml, &out, &n);
	if (cfg != NULL || strstr(out, expected) == NULL || n == 0) {
		print_error("input:\n%s\nexpected: %s\ngot (%u errors):\n%s\n", yaml, expected, n,
		            out);
		rc = -1;
	}
	config_free(cfg);
	free(out);
	return rc;
}

static void test_duration_valid(void **state)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} cases[] = {
	    {"15m", 900000},    {"30s", 30000},    {"500ms", 500},
	    {"1h30m", 5400000}, {"2d", 172800000}, {"0s", 0},
	    {"1m1ms", 60001},   {"1h1h", 7200000}, {"1d2h3m4s5ms", 93784005},
	};
	uint64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ms = 12345;
		assert_int_equal(config_parse_duration(cases[i].s, &ms), 0);
		assert_int_equal(ms, cases[i].ms);
	}
}

static void test_duration_invalid(void **state)
{
	static const char *const cases[] = {
	    "",
	    "15",
	    "-5s",
	    "+5s",
	    "15q",
	    "s",
	    "1.5h",
	    " 5s",
	    "5s ",
	    "5 s",
	    "5S",
	    "m5",
	    "5sm",
	    "1h-1m",
	    "ms",
	    "5msx",
	    "0x10s",
	    "18446744073709551616ms",
	    "18446744073709551615s",
	    "213503982335d",
	};
	uint64_t ms = 7;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (config_parse_duration(cases[i], &ms) != -1)
			fail_msg("'%s' parsed as %llu", cases[i], (unsigned long long)ms);
	}
	assert_int_equal(ms, 7);
	assert_int_equal(config_parse_duration(NULL, &ms), -1);
	/* the largest value that fits */
	assert_int_equal(config_parse_duration("18446744073709551615ms", &ms), 0);
	assert_true(ms == UINT64_MAX);
}

static void test_example_loads(void **state)
{
	static const unsigned char fp[32] = {
	    0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea,
	    0xa0, 0xc5, 0x5a, 0xd0, 0x15, 0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b,
	    0x82, 0x2c, 0xd1, 0x5d, 0x6c, 0x15, 0xb0, 0xf0, 0x0a, 0x08,
	};
	struct config *cfg;
	struct txn_conf *t;
	unsigned n = 99;
	char *out;

	(void)state;
	cfg = load_text(example, &out, &n);
	if (cfg == NULL)
		fail_msg("%s", out);
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
	assert_string_equal(cfg->path, "test.yaml");
	assert_string_equal(cfg->state_dir, "/var/lib/certprobe");
	assert_int_equal(cfg->default_interval_ms, 15 * 60 * 1000);
	assert_int_equal(cfg->default_timeout_ms, 30 * 1000);
	assert_int_equal(cfg->default_pending.poll_interval_ms, 30 * 1000);
	assert_int_equal(cfg->default_pending.max_wait_ms, 10 * 60 * 1000);
	assert_int_equal(cfg->n_txns, 1);

	t = config_find_txn(cfg, "ndes-enroll");
	assert_ptr_equal(t, cfg->txns);
	assert_null(config_find_txn(cfg, "other"));
	assert_null(t->next);
	assert_int_equal(t->line, 7);
	assert_string_equal(t->type->name, "enrollment");
	assert_int_equal(scep(t)->protocol, SCEP_PROTOCOL_SCEP);
	assert_string_equal(scep(t)->url, "http://127.0.0.1:18080/scep");
	assert_true(scep(t)->has_ca_fingerprint);
	assert_memory_equal(scep(t)->ca_fingerprint, fp, 32);
	assert_int_equal(scep(t)->challenge.kind, CHALLENGE_STATIC);
	assert_int_equal(scep(t)->challenge.secret.source, SECRET_FILE);
	assert_string_equal(scep(t)->challenge.secret.path, "/etc/certprobe/ndes.challenge");
	assert_null(scep(t)->challenge.secret.value);
	assert_string_equal(scep(t)->subject, "CN=certprobe-synthetic,O=Example");
	assert_int_equal(scep(t)->key.type, KEY_TYPE_RSA);
	assert_int_equal(scep(t)->key.bits, 2048);
	assert_null(scep(t)->key.curve);
	assert_int_equal(scep(t)->key.reuse_runs, 0);
	assert_string_equal(scep(t)->trust_store, "/etc/certprobe/device-roots.pem");
	assert_null(scep(t)->ca_identifier);
	assert_int_equal(scep(t)->method, SCEP_METHOD_AUTO);
	assert_false(scep(t)->renewal);
	assert_int_equal(t->interval_ms, 15 * 60 * 1000);
	assert_int_equal(t->timeout_ms, 30 * 1000);
	assert_int_equal(scep(t)->pending.poll_interval_ms, 30 * 1000);
	assert_int_equal(scep(t)->pending.max_wait_ms, 10 * 60 * 1000);
	config_free(cfg);
	free(out);
}

static void test_defaults_and_overrides(void **state)
{
	static const char yaml[] =
	    "defaults:\n"
	    "  interval: 1h30m\n"
	    "  pending: {poll_interval: 10s, max_wait: 2m}\n"
	    "transactions:\n"
	    "  - name: a\n"
	    "    type: enrollment\n"
	    "    protocol: scep\n"
	    "    url: https://[::1]:8443/scep\n"
	    "    subject: 'CN=a\\,b,OU=x,C=DE'\n"
	    "    ca_fingerprint: SHA256:9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:"
	    "4F:1B:2B:0B:82:2C:D1:5D:6C:15:B0:F0:0A:08\n"
	    "    key: {type: ec, reuse_runs: 100000}\n"
	    "    method: post\n"
	    "    renewal: yes\n"
	    "    ca_identifier: RootCA\n"
	    "    pending: {max_wait: 1h}\n"
	    "  - name: b\n"
	    "    type: enrollment\n"
	    "    protocol: scep\n"
	    "    url: http://ca.example\n"
	    "    subject: CN=b\n"
	    "    interval: 1s\n"
	    "    timeout: 1h\n"
	    "    key: {type: ec, curve: P-384}\n"
	    "    challenge: {env: SCEP_CHALLENGE}\n";
	struct config *cfg;
	struct txn_conf *a, *b;
	unsigned n = 0;
	char *out;

	(void)state;
	cfg = load_text(yaml, &out, &n);
	if (cfg == NULL)
		fail_msg("%s", out);
	assert_string_equal(cfg->state_dir, "/var/lib/certprobe");
	assert_int_equal(cfg->n_txns, 2);
	a = config_find_txn(cfg, "a");
	b = config_find_txn(cfg, "b");
	assert_non_null(a);
	assert_ptr_equal(a->next, b);
	assert_int_equal(a->interval_ms, 5400000);
	assert_int_equal(a->timeout_ms, 30000);
	assert_int_equal(scep(a)->pending.poll_interval_ms, 10000);
	assert_int_equal(scep(a)->pending.max_wait_ms, 3600000);
	assert_true(scep(a)->has_ca_fingerprint);
	assert_int_equal(scep(a)->ca_fingerprint[0], 0x9f);
	assert_int_equal(scep(a)->ca_fingerprint[31], 0x08);
	assert_int_equal(scep(a)->key.type, KEY_TYPE_EC);
	assert_string_equal(scep(a)->key.curve, "P-256");
	assert_int_equal(scep(a)->key.bits, 0);
	assert_int_equal(scep(a)->key.reuse_runs, 100000);
	assert_int_equal(scep(a)->method, SCEP_METHOD_POST);
	assert_true(scep(a)->renewal);
	assert_string_equal(scep(a)->ca_identifier, "RootCA");
	assert_string_equal(scep(a)->subject, "CN=a\\,b,OU=x,C=DE");
	assert_int_equal(scep(a)->challenge.kind, CHALLENGE_NONE);
	assert_int_equal(b->interval_ms, 1000);
	assert_int_equal(b->timeout_ms, 3600000);
	assert_int_equal(scep(b)->pending.poll_interval_ms, 10000);
	assert_int_equal(scep(b)->pending.max_wait_ms, 120000);
	assert_string_equal(scep(b)->key.curve, "P-384");
	assert_false(scep(b)->has_ca_fingerprint);
	assert_int_equal(scep(b)->challenge.kind, CHALLENGE_STATIC);
	assert_int_equal(scep(b)->challenge.secret.source, SECRET_ENV);
	assert_string_equal(scep(b)->challenge.secret.env, "SCEP_CHALLENGE");
	config_free(cfg);
	free(out);
}

static void test_ndes_admin_and_inline_buffer(void **state)
{
	static const char yaml[] = TX "    challenge:\n"
	                              "      ndes_admin:\n"
	                              "        url: https://ndes.example/certsrv/mscep_admin/\n"
	                              "        username: CORP\\svc\n"
	                              "        password: {value: \"" SECRET "\"}\n";
	struct config *cfg;
	unsigned n = 0;
	char *out;

	(void)state;
	/* buffers have no file mode: inline secrets are accepted */
	cfg = load_text(yaml, &out, &n);
	if (cfg == NULL)
		fail_msg("%s", out);
	assert_int_equal(scep(cfg->txns)->challenge.kind, CHALLENGE_NDES_ADMIN);
	assert_string_equal(scep(cfg->txns)->challenge.ndes.url,
	                    "https://ndes.example/certsrv/mscep_admin/");
	assert_string_equal(scep(cfg->txns)->challenge.ndes.username, "CORP\\svc");
	assert_int_equal(scep(cfg->txns)->challenge.ndes.password.source, SECRET_VALUE);
	assert_string_equal(scep(cfg->txns)->challenge.ndes.password.value, SECRET);
	config_free(cfg);
	free(out);
}

static void test_error_format_exact(void **state)
{
	static const char yaml[] = TX "    intervall: 15m\n";
	struct config *cfg;
	unsigned n = 0;
	char *out;

	(void)state;
	cfg = load_text(yaml, &out, &n);
	assert_null(cfg);
	assert_int_equal(n, 1);
	assert_string_equal(out,
	                    "test.yaml:7:5: unknown key 'intervall' in transaction; did you mean "
	                    "'interval'?\n"
	                    "      intervall: 15m\n"
	                    "      ^\n");
	free(out);

	/* the caret points into the value at the bad attribute */
	cfg = load_text("transactions:\n  - name: t1\n    subject: CN=x,C=DEU\n", &out, &n);
	assert_null(cfg);
	assert_non_null(strstr(out, "test.yaml:3:21: bad subject 'CN=x,C=DEU': C must be a "
	                            "two-letter country code\n"
	                            "      subject: CN=x,C=DEU\n"
	                            "                      ^\n"));
	free(out);

	cfg = load_text(TX "    interval: 15\n", &out, &n);
	assert_null(cfg);
	assert_string_equal(out, "test.yaml:7:15: bad duration '15' (use e.g. 30s, 15m, 1h)\n"
	                         "      interval: 15\n"
	                         "                ^\n"
	                         "  hint: add a unit: ms, s, m, h or d\n");
	free(out);
}

static void test_errors_with_position(void **state)
{
	static const struct {
		const char *yaml;
		const char *expected;
	} cases[] = {
	    /* unknown keys, with and without a suggestion */
	    {TX "    intervall: 15m\n",
	     "test.yaml:7:5: unknown key 'intervall' in transaction; did you mean 'interval'?"},
	    {TX "    frobnicate: 1\n", "test.yaml:7:5: unknown key 'frobnicate' in transaction\n"},
	    {"transaction:\n  - name: x\n",
	     "test.yaml:1:1: unknown key 'transaction' at the top level; did you mean "
	     "'transactions'?"},
	    {"probe: {statedir: /x}\n" TX,
	     "test.yaml:1:9: unknown key 'statedir' in probe; did you mean 'state_dir'?"},
	    /* node types */
	    {TX "    key: rsa\n", "test.yaml:7:10: expected a mapping for 'key', found a scalar"},
	    {TX "    method: [get]\n",
	     "test.yaml:7:13: expected a scalar for 'method', found a list"},
	    {"transactions: {a: 1}\n",
	     "test.yaml:1:15: expected a list for 'transactions', found a mapping"},
	    {"transactions:\n  - just-a-string\n",
	     "test.yaml:2:5: expected a mapping for each transaction, found a scalar"},
	    {TX "    pending:\n",
	     "test.yaml:7:13: expected a mapping for 'pending', found an empty"},
	    {TX "    url2:\n", "test.yaml:7:5: unknown key 'url2'"},
	    {"- 1\n", "test.yaml:1:1: expected a mapping at the top level, found a list"},
	    /* required keys */
	    {"transactions:\n  - name: t1\n    type: enrollment\n    protocol: scep\n"
	     "    subject: CN=x\n",
	     "test.yaml:2:5: transaction 't1': missing required key 'url'"},
	    {"transactions:\n  - type: enrollment\n",
	     "test.yaml:2:5: transaction #1: missing required key 'name'"},
	    {"probe: {}\n", "test.yaml:1:1: missing required key 'transactions'"},
	    {"", "test.yaml:1:1: empty configuration"},
	    {"transactions: []\n", "test.yaml:1:15: 'transactions' is empty"},
	    /* duplicates */
	    {TX "    subject: CN=x\n", "test.yaml:7:5: duplicate key 'subject' (first at line 6)"},
	    {TX "  - name: t1\n",
	     "test.yaml:7:11: duplicate transaction name 't1' (first at line 2)"},
	    /* durations and ranges */
	    {TX "    interval: 15q\n",
	     "test.yaml:7:15: bad duration '15q' (use e.g. 30s, 15m, 1h)"},
	    {TX "    timeout: 2h\n", "test.yaml:7:14: 'timeout' must be at most 1h"},
	    {TX "    timeout: 0ms\n", "test.yaml:7:14: 'timeout' must be greater than 0"},
	    {TX "    interval: 999ms\n", "test.yaml:7:15: 'interval' must be at least 1s"},
	    {"defaults: {interval: 0s}\n" TX, "test.yaml:1:22: 'interval' must be at least 1s"},
	    {TX "    pending: {poll_interval: 0s}\n",
	     "test.yaml:7:30: 'poll_interval' must be greater than 0"},
	    {TX "    pending: {poll_interval: 1m, max_wait: 59s}\n",
	     "test.yaml:7:44: pending.max_wait (59s) is shorter than pending.poll_interval (1m)"},
	    {TX "    pending: {poll_interval: 11m}\n",
	     "test.yaml:7:30: pending.max_wait (10m) is shorter than pending.poll_interval (11m)"},
	    {"defaults:\n  pending:\n    max_wait: 10s\n" TX,
	     "test.yaml:3:15: defaults.pending.max_wait (10s) is shorter than "
	     "defaults.pending.poll_interval (30s)"},
	    /* URLs */
	    {TX "    challenge: {ndes_admin: {url: ftp://x/}}\n",
	     "test.yaml:7:35: bad URL 'ftp://x/': must start with http:// or https://"},
	    {"transactions:\n  - name: t1\n    url: https:///scep\n",
	     "test.yaml:3:10: bad URL 'https:///scep': has no host"},
	    {"transactions:\n  - name: t1\n    url: 'http://a b/'\n",
	     "test.yaml:3:10: bad URL 'http://a b/': must not contain spaces"},
	    {"transactions:\n  - name: t1\n    url: http://host:0/\n",
	     "test.yaml:3:10: bad URL 'http://host:0/': has a bad port"},
	    {"transactions:\n  - name: t1\n    url: http://u:p@host/\n",
	     "test.yaml:3:10: bad URL 'http://u:p@host/': must not contain credentials"},
	    /* paths */
	    {"probe:\n  state_dir: var/lib\n" TX,
	     "test.yaml:2:14: 'state_dir' must be an absolute path (got 'var/lib')"},
	    {TX "    trust_store: roots.pem\n",
	     "test.yaml:7:18: 'trust_store' must be an absolute path (got 'roots.pem')"},
	    {TX "    challenge: {file: ./c}\n",
	     "test.yaml:7:23: 'file' must be an absolute path (got './c')"},
	    {TX "    challenge: {ndes_admin: {url: http://a/, username: u, password: {file: p}}}\n",
	     "test.yaml:7:76: 'file' must be an absolute path (got 'p')"},
	    /* fingerprint */
	    {TX "    ca_fingerprint: 9f86d081\n",
	     "test.yaml:7:21: bad ca_fingerprint '9f86d081' (expected sha256: and 64 hex digits)"},
	    {TX "    ca_fingerprint: "
	        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g\n",
	     "test.yaml:7:21: bad ca_fingerprint"},
	    {TX "    ca_fingerprint: sha256:9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:"
	        "4F:1B:2B:0B:82:2C:D1:5D:6C:15:B0:F0:0A-08\n",
	     "test.yaml:7:21: bad ca_fingerprint"},
	    /* subject */
	    {"transactions:\n  - name: t1\n    subject: CN=x,C=DEU\n",
	     "test.yaml:3:21: bad subject 'CN=x,C=DEU': C must be a two-letter country code"},
	    {"transactions:\n  - name: t1\n    subject: CN=x,Email=a@b\n",
	     "test.yaml:3:19: bad subject 'CN=x,Email=a@b': unknown attribute 'Email'"},
	    {"transactions:\n  - name: t1\n    subject: CN=x,O=\n",
	     "test.yaml:3:19: bad subject 'CN=x,O=': empty value for O"},
	    {"transactions:\n  - name: t1\n    subject: CN=x,\n",
	     "test.yaml:3:18: bad subject 'CN=x,': trailing comma"},
	    {"transactions:\n  - name: t1\n    subject: probe\n",
	     "test.yaml:3:14: bad subject 'probe': expected ATTR=value"},
	    /* key */
	    {TX "    key: {type: dsa}\n", "test.yaml:7:17: unknown key type 'dsa' (use rsa or ec)"},
	    {TX "    key: {type: ec, bits: 2048}\n",
	     "test.yaml:7:21: 'bits' applies to rsa keys; ec keys take 'curve'"},
	    {TX "    key: {bits: 1024}\n",
	     "test.yaml:7:17: 'bits' must be 2048, 3072 or 4096 (got '1024')"},
	    {TX "    key: {bits: big}\n",
	     "test.yaml:7:17: 'bits' must be 2048, 3072 or 4096 (got 'big')"},
	    {TX "    key: {type: ec, curve: P-521}\n",
	     "test.yaml:7:28: unsupported curve 'P-521' (use P-256 or P-384)"},
	    {TX "    key: {curve: P-256}\n",
	     "test.yaml:7:11: 'curve' applies to ec keys; rsa keys take 'bits'"},
	    {TX "    key: {reuse_runs: 100001}\n",
	     "test.yaml:7:23: 'reuse_runs' must be a number from 0 to 100000 (got '100001')"},
	    {TX "    key: {reuse_runs: -1}\n",
	     "test.yaml:7:23: 'reuse_runs' must be a number from 0 to 100000 (got '-1')"},
	    /* other scalars */
	    {TX "    renewal: maybe\n",
	     "test.yaml:7:14: bad boolean 'maybe' for 'renewal' (use true or false)"},
	    {TX "    method: put\n", "test.yaml:7:13: bad method 'put' (use auto, post or get)"},
	    {"transactions:\n  - name: a b\n",
	     "test.yaml:2:11: bad transaction name 'a b' (use 1-64 of A-Z a-z 0-9 _ . -)"},
	    {"transactions:\n  - type: renewal\n",
	     "test.yaml:2:11: unknown transaction type 'renewal' (supported: enrollment, "
	     "client-auth, phone-bootstrap)"},
	    {"transactions:\n  - protocol: est\n",
	     "test.yaml:2:15: unknown protocol 'est' (supported: scep)"},
	    {TX "    challenge: {env: 9X}\n", "test.yaml:7:22: bad environment variable name '9X'"},
	    {TX "    ca_identifier: \"a\\tb\"\n",
	     "test.yaml:7:20: control character in the value of 'ca_identifier'"},
	    /* challenge shapes */
	    {TX "    challenge: {file: /a, env: B}\n",
	     "test.yaml:7:27: challenge has both 'file' and 'env'; use exactly one of value, "
	     "file, env or ndes_admin"},
	    {TX "    challenge: {}\n",
	     "test.yaml:7:16: challenge needs exactly one of value, file, env or ndes_admin"},
	    {TX "    challenge: {ndes_admin: {username: u, password: {env: P}}}\n",
	     "test.yaml:7:29: ndes_admin: missing required key 'url'"},
	    {TX "    challenge: {ndes_admin: {url: http://a/, username: u}}\n",
	     "test.yaml:7:46: ndes_admin: 'username' needs a 'password'"},
	    {TX "    challenge: {ndes_admin: {url: http://a/, password: {env: P}}}\n",
	     "test.yaml:7:46: ndes_admin: 'password' needs a 'username'"},
	    {TX "    challenge: {ndes_admin: {url: http://a/, username: u, password: {}}}\n",
	     "test.yaml:7:69: password needs exactly one of value, file or env"},
	    /* YAML syntax */
	    {"transactions:\n  - name: t1\n\ttype: enrollment\n",
	     "test.yaml:3:1: YAML syntax error: found a tab character that violates indentation"},
	    {"transactions:\n  - name: t1\n    type: enrollment\n   protocol: scep\n",
	     "test.yaml:4:4: YAML syntax error: did not find expected '-' indicator"},
	    {"transactions: [a, b\n", "test.yaml:2:1: YAML syntax error: did not find expected"},
	    {TX "---\n" TX, "test.yaml:7:1: only one YAML document is allowed per file"},
	    {"transactions: *nope\n", "test.yaml:1:15: YAML syntax error: found undefined alias"},
	    {"a: \x01\n", "test.yaml:1:4: control character U+0001 is not allowed"},
	    {"a: \xc3\x28\n", "test.yaml:1:4: invalid UTF-8 byte 0xC3"},
	    {"\xff\xfet", "test.yaml: UTF-16 is not supported\n  hint: save the file as UTF-8\n"},
	};
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (expect_error(cases[i].yaml, cases[i].expected) == -1)
			failed++;
	assert_int_equal(failed, 0);
}

static void test_all_errors_collected(void **state)
{
	static const char yaml[] = "probe:\n"
	                           "  state_dir: relative/dir\n"
	                           "defaults:\n"
	                           "  interval: 15\n"
	                           "transactions:\n"
	                           "  - name: first\n"
	                           "    type: enrollment\n"
	                           "    protocol: scep\n"
	                           "    url: http://127.0.0.1:18080/scep\n"
	                           "    subject: CN=probe,C=DEU\n"
	                           "    timout: 30s\n"
	                           "  - name: second\n"
	                           "    type: enrolment\n"
	                           "    protocol: scep\n"
	                           "    subject: CN=probe-2\n";
	static const char *const want[] = {
	    "test.yaml:2:14: 'state_dir' must be an absolute path",
	    "test.yaml:4:13: bad duration '15'",
	    "test.yaml:10:25: bad subject",
	    "test.yaml:11:5: unknown key 'timout' in transaction; did you mean 'timeout'?",
	    "test.yaml:13:11: unknown transaction type 'enrolment'",
	};
	const char *p;
	unsigned n = 0;
	char *out;

	(void)state;
	assert_null(load_text(yaml, &out, &n));
	assert_int_equal(n, 5);
	/* sorted by position */
	p = out;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const char *q = strstr(p, want[i]);
		if (q == NULL)
			fail_msg("missing or out of order: %s\n%s", want[i], out);
		p = q;
	}
	free(out);
}

/*
 * The secret keys of a type's table (flagged CFG_SECRET there) are masked on the echoed
 * line even when the error is about another key of that line; a key of the other type
 * is reported through the other type's table, and masked through it too.
 */
static void test_type_secret_masked_on_caret_line(void **state)
{
	static const struct {
		const char *yaml;
		const char *expected;
	} cases[] = {
	    {TX "    challenge: {value: " SECRET ", bogus: 1}\n",
	     "test.yaml:7:40: unknown key in challenge\n"
	     "      challenge: {value: ********, ********: ********}\n"
	     "                                   ^\n"
	     "  hint: valid keys: value, file, env, ndes_admin\n"},
	    /* a secret two tables down (challenge.ndes_admin.password.value) */
	    {TX "    challenge: {ndes_admin: {url: ftp://x, username: u, password: {value: " SECRET
	        "}}}\n",
	     "test.yaml:7:35: bad URL 'ftp://x': must start with http:// or https://\n"
	     "      challenge: {ndes_admin: {url: ftp://x, username: u, password: {value: "
	     "********}}}\n"
	     "                                    ^\n"},
	    /* the enrollment's secret in a client-auth transaction */
	    {"transactions:\n"
	     "  - name: c1\n"
	     "    type: client-auth\n"
	     "    registrar: {host: a.example}\n"
	     "    sip_uri: sip:a@b\n"
	     "    trust_store: /r.pem\n"
	     "    challenge: {value: " SECRET "}\n",
	     "test.yaml:7:5: 'challenge' does not apply to a client-auth transaction\n"
	     "      challenge: {value: ********}\n"
	     "      ^\n"},
	};
	unsigned n;
	char *out;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_null(load_text(cases[i].yaml, &out, &n));
		assert_string_equal(out, cases[i].expected);
		free(out);
	}
}

/* A client-auth transaction: its spec, its defaults, and what the ops read from it. */
static void test_client_auth_spec(void **state)
{
	static const char yaml[] = TX "  - name: c1\n"
	                              "    type: client-auth\n"
	                              "    registrar: {host: pool1.example.com}\n"
	                              "    sip_uri: sip:alice@example.com\n"
	                              "    certificate: {from: t1}\n"
	                              "    trust_store: /etc/certprobe/roots.pem\n";
	const struct clientauth_conf *cc;
	struct config *cfg;
	struct txn_conf *c;
	unsigned n = 0;
	char *out;

	(void)state;
	cfg = load_text(yaml, &out, &n);
	if (cfg == NULL)
		fail_msg("%s", out);
	c = config_find_txn(cfg, "c1");
	assert_non_null(c);
	assert_ptr_equal(c->type, &clientauth_txn_type);
	assert_ptr_equal(txn_type_find("client-auth"), &clientauth_txn_type);
	cc = c->spec;
	assert_int_equal(cc->registrar.discover, REGISTRAR_STATIC);
	assert_string_equal(cc->registrar.host, "pool1.example.com");
	assert_int_equal(cc->registrar.port, 5061);
	assert_string_equal(cc->sip_uri, "sip:alice@example.com");
	assert_string_equal(cc->certificate.from, "t1");
	assert_string_equal(cc->trust_store, "/etc/certprobe/roots.pem");
	assert_int_equal(cc->sip_method, SIP_METHOD_REGISTER);
	assert_int_equal(cc->expires, 60);
	assert_string_equal(txn_conf_depends_on(c), "t1");
	assert_null(txn_conf_depends_on(cfg->txns));
	assert_string_equal(c->type->protocol(c), "sip-register");
	assert_true(cfg->txns->type->issues_certificate);
	assert_false(c->type->issues_certificate);
	assert_int_equal(c->interval_ms, cfg->default_interval_ms);
	assert_int_equal(c->warn.expiry_days, 30);
	config_free(cfg);
	free(out);
}

/*
 * registrar: {from: NAME}: the phone-bootstrap's registrar; the dependency follows it, and
 * the endpoint is the registrar NAME is configured with (Lync's 5061 unless it names one).
 */
static void test_client_auth_registrar_from(void **state)
{
	static const char yaml[] =
	    "transactions:\n"
	    "  - name: lpe-alice\n"
	    "    type: phone-bootstrap\n"
	    "    discover: {certprov_url: https://pool.example.com/CertProv/"
	    "CertProvisioningService.svc, registrar: pool.example.com}\n"
	    "    phone: \"+14255550100\"\n"
	    "    pin: {value: \"1234\"}\n"
	    "    sip_uri: sip:alice@example.com\n"
	    "    trust_store: /etc/certprobe/roots.pem\n"
	    "  - name: lpe-bob\n"
	    "    type: phone-bootstrap\n"
	    "    discover: {certprov_url: https://pool.example.com/CertProv/"
	    "CertProvisioningService.svc, registrar: \"10.0.0.7:5062\"}\n"
	    "    phone: \"1235\"\n"
	    "    pin: {value: \"1234\"}\n"
	    "    sip_uri: sip:bob@example.com\n"
	    "    trust_store: /etc/certprobe/roots.pem\n"
	    "  - name: c1\n"
	    "    type: client-auth\n"
	    "    auth: tls-dsk\n"
	    "    registrar: {from: lpe-alice}\n"
	    "    sip_uri: sip:alice@example.com\n"
	    "    certificate: {from: lpe-alice}\n"
	    "    trust_store: /etc/certprobe/roots.pem\n"
	    "  - name: c2\n"
	    "    type: client-auth\n"
	    "    registrar: {from: lpe-bob, tls_name: pool.example.com}\n"
	    "    sip_uri: sip:bob@example.com\n"
	    "    certificate: {cert: /etc/certprobe/bob.pem, key: /etc/certprobe/bob.key}\n"
	    "    trust_store: /etc/certprobe/roots.pem\n";
	const struct clientauth_conf *cc;
	enum endpoint_kind kind;
	struct config *cfg;
	struct txn_conf *c;
	unsigned n = 0;
	char *out, key[128], desc[200];

	(void)state;
	cfg = load_text(yaml, &out, &n);
	if (cfg == NULL)
		fail_msg("%s", out);
	c = config_find_txn(cfg, "c1");
	assert_non_null(c);
	cc = c->spec;
	assert_int_equal(cc->registrar.discover, REGISTRAR_FROM);
	assert_string_equal(cc->registrar.from, "lpe-alice");
	assert_string_equal(txn_conf_depends_on(c), "lpe-alice");
	c->type->endpoint(c, key, sizeof key, &kind);
	assert_string_equal(key, "pool.example.com:5061");
	assert_int_equal(kind, ENDPOINT_KIND_REGISTRAR);
	c->type->describe(c, desc, sizeof desc);
	assert_string_equal(desc, "sip:alice@example.com at the registrar lpe-alice recorded");

	c = config_find_txn(cfg, "c2");
	assert_non_null(c);
	cc = c->spec;
	assert_null(cc->certificate.from);
	/* the registrar alone is a dependency too */
	assert_string_equal(txn_conf_depends_on(c), "lpe-bob");
	assert_string_equal(cc->registrar.tls_name, "pool.example.com");
	c->type->endpoint(c, key, sizeof key, &kind);
	assert_string_equal(key, "10.0.0.7:5062");
	assert_true(config_find_txn(cfg, "lpe-bob")->type->records_registrar);
	assert_false(c->type->records_registrar);
	config_free(cfg);
	free(out);
}

/* Inputs with an inline secret and some error; the secret must never be printed. */
static void test_secret_never_echoed(void **state)
{
	static const char *const cases[] = {
	    /* error on the secret's own line */
	    TX "    challenge: {value: " SECRET ", bogus: 1}\n",
	    TX "    challenge: {value: \"" SECRET "\", env: X}\n",
	    TX "    challenge: {value: " SECRET "}\n    challenge: {env: Y}\n",
	    /* wrong shapes that put the secret where the caret points */
	    TX "    challenge: " SECRET "\n",
	    TX "    challenge: [" SECRET "]\n",
	    TX "    challenge:\n      - " SECRET "\n",
	    TX "    challenge: {value: [" SECRET "]}\n",
	    TX "    challenge: {value: {a: " SECRET "}}\n",
	    TX "    challenge:\n      value:\n      - " SECRET "\n",
	    TX "    challenge: {valeu: " SECRET "}\n",
	    TX "    challenge: {" SECRET "}\n",
	    TX "    challenge: {value: \"" SECRET "\\n\"}\n",
	    TX "    challenge:\n      value: |\n        " SECRET "\n",
	    TX "    challenge: {ndes_admin: {url: ftp://x, username: u, password: {value: " SECRET
	       "}}}\n",
	    TX "    challenge: {ndes_admin: {url: http://x/, password: " SECRET "}}\n",
	    /* aliases to a secret defined elsewhere */
	    "x: &s " SECRET "\n" TX "    challenge: {value: *s}\n",
	    "x: &s {value: " SECRET "}\n" TX "    challenge: *s\n",
	    /* YAML syntax errors on or after the secret's line */
	    TX "    challenge: {value: \"" SECRET,
	    TX "    challenge: {value: \"" SECRET "\n",
	    TX "    challenge:\n      value: " SECRET ": x\n",
	    TX "    challenge:\n\tvalue: " SECRET "\n",
	    TX "    challenge: {value: " SECRET "\x01}\n",
	    TX "    challenge: {value: " SECRET "\xff}\n",
	    TX "    url: \"http://x\n    challenge: {value: " SECRET "}",
	    TX "    challenge: {value: '" SECRET "'}\n  - ]\n",
	};
	unsigned n;
	char *out;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct config *cfg = load_text(cases[i], &out, &n);
		if (cfg != NULL || n == 0)
			fail_msg("case %zu loaded:\n%s", i, cases[i]);
		if (strstr(out, "S3cr3t") != NULL || strstr(out, "Hunter") != NULL)
			fail_msg("case %zu leaks the secret:\n%s", i, out);
		free(out);
	}
}

static char *write_temp(const char *text, mode_t mode)
{
	char *path = strdup("/tmp/test_config.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static void test_inline_secret_file_mode(void **state)
{
	static const char yaml[] = TX "    challenge: {value: \"" SECRET "\"}\n";
	struct config *cfg;
	char expected[512];
	size_t len = 0;
	char *path, *out = NULL;
	unsigned n = 0;
	FILE *f;

	(void)state;
	path = write_temp(yaml, 0644);
	f = open_memstream(&out, &len);
	cfg = config_load(path, f, &n);
	fclose(f);
	assert_null(cfg);
	assert_int_equal(n, 1);
	snprintf(expected, sizeof expected,
	         "%s:7:24: inline secret in a file readable by group/other (mode 0644)\n"
	         "      challenge: {value: ********}\n"
	         "                         ^\n"
	         "  hint: chmod 600 %s, or use {file: ...} or {env: ...}\n",
	         path, path);
	assert_string_equal(out, expected);
	free(out);

	/* group-readable only is still refused */
	assert_int_equal(chmod(path, 0640), 0);
	out = NULL;
	f = open_memstream(&out, &len);
	assert_null(config_load(path, f, &n));
	fclose(f);
	assert_non_null(strstr(out, "(mode 0640)"));
	assert_null(strstr(out, SECRET));
	free(out);

	/* owner-only: accepted, the value is kept */
	assert_int_equal(chmod(path, 0600), 0);
	out = NULL;
	f = open_memstream(&out, &len);
	cfg = config_load(path, f, &n);
	fclose(f);
	if (cfg == NULL)
		fail_msg("%s", out);
	assert_int_equal(n, 0);
	assert_string_equal(cfg->path, path);
	assert_int_equal(scep(cfg->txns)->challenge.secret.source, SECRET_VALUE);
	assert_string_equal(scep(cfg->txns)->challenge.secret.value, SECRET);
	config_free(cfg);
	free(out);

	/* a 0644 file with only {file:}/{env:} secrets is fine */
	unlink(path);
	free(path);
	path = write_temp(example, 0644);
	cfg = config_load(path, stderr, &n);
	assert_non_null(cfg);
	config_free(cfg);
	unlink(path);
	free(path);
}

/* A hostile or broken file stays cheap: depth, anchors, aliases and errors are capped. */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1), *p = s;

	assert_non_null(s);
	memcpy(p, head, hl);
	p += hl;
	for (size_t i = 0; i < n; i++, p += ul)
		memcpy(p, unit, ul);
	memcpy(p, tail, tl + 1);
	return s;
}

static void test_parse_limits(void **state)
{
	const char *const deep[] = {"[", "{a: ", "[{b: "};
	char *yaml, *out;
	unsigned n = 0;
	struct config *cfg;
	size_t lines = 0;

	(void)state;
	/* 100,000 levels of flow nesting: stopped while libyaml scans (was 63 s) */
	for (size_t i = 0; i < sizeof deep / sizeof deep[0]; i++) {
		yaml = repeat("transactions: ", deep[i], 100000, "\n");
		assert_int_equal(expect_error(yaml, "nested deeper than 64 levels"), 0);
		free(yaml);
	}
	/* 64 levels in all (the top mapping and 63 lists) pass the parser; the schema then speaks
	 */
	yaml = repeat("x: ", "[", 63, "\n");
	cfg = load_text(yaml, &out, &n);
	assert_null(strstr(out, "nested deeper"));
	config_free(cfg);
	free(out);
	free(yaml);
	/* anchors and aliases */
	{
		size_t cap = 40 * 1100 + 64, off = 0;
		yaml = malloc(cap);
		off += (size_t)snprintf(yaml + off, cap - off, "x:\n");
		for (int i = 0; i < 1100; i++)
			off += (size_t)snprintf(yaml + off, cap - off, "  k%d: &a%d v\n", i, i);
		assert_int_equal(expect_error(yaml, "more than 1000 anchors"), 0);
		free(yaml);
		yaml = repeat("x: &a v\ny:\n", "  - *a\n", 50001, "");
		assert_int_equal(expect_error(yaml, "more than 50000 aliases"), 0);
		free(yaml);
	}
	/* 40,000 errors: all counted, the first 50 shown, and a line that says so */
	yaml =
	    repeat("probe: {state_dir: /tmp/x}\ntransactions:\n  - name: a\n    type: enrollment\n"
	           "    protocol: scep\n    url: http://127.0.0.1:1/scep\n    subject: CN=a\n",
	           "    bogus: 1\n", 40000, "");
	cfg = load_text(yaml, &out, &n);
	assert_null(cfg);
	assert_int_equal(n, 40000);
	assert_non_null(strstr(out, "test.yaml: 39950 more errors not shown (the first 50 are)"));
	for (const char *p = out; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_true(lines < 50 * 4 + 2);
	free(out);
	free(yaml);
}

/*
 * Every key that names a file holding a secret: a {file:} secret (challenge, NDES
 * password, listener password), certificate.key and probe.web.tls_key. Group- or
 * other-readable is a warning at the key, and an error with config_set_strict().
 */
static void test_secret_file_mode(void **state)
{
	static const char fmt[] =
	    "probe:\n"
	    "  web:\n"
	    "    tls_cert: /etc/certprobe/web.crt\n"
	    "    tls_key: %1$s\n"
	    "    basic_auth: {username: prom, password: {file: %1$s}}\n"
	    "transactions:\n"
	    "  - name: t1\n"
	    "    type: enrollment\n"
	    "    protocol: scep\n"
	    "    url: http://127.0.0.1:18080/scep\n"
	    "    subject: CN=probe\n"
	    "    challenge: {file: %1$s}\n"
	    "  - name: t2\n"
	    "    type: enrollment\n"
	    "    protocol: scep\n"
	    "    url: http://127.0.0.1:18080/scep\n"
	    "    subject: CN=probe\n"
	    "    challenge:\n"
	    "      ndes_admin: {url: http://127.0.0.1/certsrv/mscep_admin/, username: u,\n"
	    "                   password: {file: %1$s}}\n"
	    "  - name: a\n"
	    "    type: client-auth\n"
	    "    registrar: {host: 127.0.0.1}\n"
	    "    sip_uri: sip:a@b\n"
	    "    trust_store: /etc/t.pem\n"
	    "    certificate: {cert: /etc/c.pem, key: %1$s}\n";
	static const unsigned lines[] = {4, 5, 12, 20, 26};
	char yaml[2048], want[512];
	char *secret, *path, *out = NULL, *p;
	struct config *cfg;
	size_t len = 0, nlines = sizeof lines / sizeof lines[0];
	unsigned n = 0;
	FILE *f;

	(void)state;
	secret = write_temp(SECRET "\n", 0640);
	snprintf(yaml, sizeof yaml, fmt, secret);
	path = write_temp(yaml, 0600);

	f = open_memstream(&out, &len);
	cfg = config_load(path, f, &n);
	fclose(f);
	if (cfg == NULL)
		fail_msg("%s", out);
	assert_int_equal(n, 0);
	config_free(cfg);
	p = out;
	for (size_t i = 0; i < nlines; i++) {
		snprintf(want, sizeof want, ":%u:", lines[i]);
		p = strstr(p, want);
		if (p == NULL)
			fail_msg("no warning on line %u:\n%s", lines[i], out);
		snprintf(want, sizeof want,
		         "warning: secret file '%s' is readable by group/other (mode 0640)\n",
		         secret);
		assert_ptr_equal(strstr(p, want), strchr(p, ' ') + 1);
		p++;
	}
	snprintf(want, sizeof want, "  hint: chmod 600 %s (owned by the user certprobed runs as)\n",
	         secret);
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, SECRET));
	free(out);

	/* strict: the same five are errors, and the load fails */
	config_set_strict(true);
	out = NULL;
	f = open_memstream(&out, &len);
	cfg = config_load(path, f, &n);
	fclose(f);
	config_set_strict(false);
	assert_null(cfg);
	assert_int_equal(n, nlines);
	snprintf(want, sizeof want,
	         "%s:26:42: secret file '%s' is readable by group/other (mode 0640)\n", path,
	         secret);
	if (strstr(out, "warning:") != NULL || strstr(out, want) == NULL)
		fail_msg("%s", out);
	free(out);

	/* others only, too; owner-only and a missing file say nothing (the run reports it) */
	assert_int_equal(chmod(secret, 0604), 0);
	out = NULL;
	f = open_memstream(&out, &len);
	cfg = config_load(path, f, &n);
	fclose(f);
	assert_non_null(cfg);
	config_free(cfg);
	assert_non_null(strstr(out, "(mode 0604)"));
	free(out);
	assert_int_equal(chmod(secret, 0600), 0);
	for (int round = 0; round < 2; round++) {
		config_set_strict(true);
		out = NULL;
		f = open_memstream(&out, &len);
		cfg = config_load(path, f, &n);
		fclose(f);
		config_set_strict(false);
		if (cfg == NULL)
			fail_msg("%s", out);
		config_free(cfg);
		assert_string_equal(out, "");
		free(out);
		unlink(secret);
	}

	/* a buffer has no files to check */
	cfg = config_load_buffer("test.yaml", yaml, strlen(yaml), stderr, &n);
	assert_non_null(cfg);
	config_free(cfg);
	unlink(path);
	free(path);
	free(secret);
}

static void test_config_load_missing_file(void **state)
{
	size_t len = 0;
	char *out = NULL;
	unsigned n = 0;
	FILE *f;

	(void)state;
	f = open_memstream(&out, &len);
	assert_null(config_load("/nonexistent/certprobe.yaml", f, &n));
	fclose(f);
	assert_int_equal(n, 1);
	assert_string_equal(
	    out, "/nonexistent/certprobe.yaml: cannot open: No such file or directory\n");
	free(out);
}

static void test_secret_resolve_file(void **state)
{
	struct secret_ref ref = {.source = SECRET_FILE};
	char err[256], *s = NULL, *path, big[5000];

	(void)state;
	path = write_temp(SECRET "\r\nsecond line\n", 0600);
	ref.path = path;
	assert_int_equal(secret_resolve(&ref, &s, err, sizeof err), 0);
	assert_string_equal(s, SECRET);
	secret_wipe_free(s);
	unlink(path);
	free(path);

	/* no trailing newline */
	path = write_temp(SECRET, 0600);
	ref.path = path;
	assert_int_equal(secret_resolve(&ref, &s, err, sizeof err), 0);
	assert_string_equal(s, SECRET);
	secret_wipe_free(s);
	unlink(path);
	free(path);

	/* empty first line */
	path = write_temp("\n" SECRET "\n", 0600);
	ref.path = path;
	s = NULL;
	assert_int_equal(secret_resolve(&ref, &s, err, sizeof err), -1);
	assert_null(s);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "empty"));
	assert_null(strstr(err, SECRET));
	unlink(path);
	free(path);

	/* first line over 4 KiB */
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	path = write_temp(big, 0600);
	ref.path = path;
	assert_int_equal(secret_resolve(&ref, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	assert_null(strstr(err, "xxxx"));
	unlink(path);
	free(path);

	/* exactly 4096 bytes is fine */
	big[4096] = '\n';
	big[4097] = '\0';
	path = write_temp(big, 0600);
	ref.path = path;
	assert_int_equal(secret_resolve(&ref, &s, err, sizeof err), 0);
	assert_int_equal(strlen(s), 4096);
	secret_wipe_free(s);
	unlink(path);
	free(path);

	/* unreadable */
	ref.path = "/nonexistent/challenge";
	assert_int_equal(secret_resolve(&ref, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/challenge"));
}

static void test_secret_resolve_env_and_value(void **state)
{
	struct secret_ref ref = {.source = SECRET_ENV, .env = "CERTPROBE_TEST_SECRET"};
	char err[256], *s = NULL;

	(void)state;
	unsetenv("CERTPROBE_TEST_SECRET");
	assert_int_equal(secret_resolve(&ref, &s, err, sizeof err), -1);
	assert_string_equal(err, "environment variable CERTPROBE_TEST_SECRET is not set");
	setenv("CERTPROBE_TEST_SECRET", "", 1);
	assert_int_equal(secret_resolve(&ref, &s, err, sizeof err), -1);
	assert_string_equal(err, "environment variable CERTPROBE_TEST_SECRET is empty");
	setenv("CERTPROBE_TEST_SECRET", SECRET, 1);
	assert_int_equal(secret_resolve(&ref, &s, err, sizeof err), 0);
	assert_string_equal(s, SECRET);
	secret_wipe_free(s);
	unsetenv("CERTPROBE_TEST_SECRET");

	ref.source = SECRET_VALUE;
	ref.value = SECRET;
	assert_int_equal(secret_resolve(&ref, &s, err, sizeof err), 0);
	assert_string_equal(s, SECRET);
	assert_ptr_not_equal(s, ref.value);
	secret_wipe_free(s);

	ref.source = SECRET_NONE;
	assert_int_equal(secret_resolve(&ref, &s, err, sizeof err), -1);
	assert_null(s);
	/* NULL error buffer is allowed */
	assert_int_equal(secret_resolve(&ref, &s, NULL, 0), -1);

	secret_wipe_free(NULL);
	config_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_valid),
	    cmocka_unit_test(test_duration_invalid),
	    cmocka_unit_test(test_example_loads),
	    cmocka_unit_test(test_defaults_and_overrides),
	    cmocka_unit_test(test_ndes_admin_and_inline_buffer),
	    cmocka_unit_test(test_error_format_exact),
	    cmocka_unit_test(test_errors_with_position),
	    cmocka_unit_test(test_all_errors_collected),
	    cmocka_unit_test(test_secret_never_echoed),
	    cmocka_unit_test(test_type_secret_masked_on_caret_line),
	    cmocka_unit_test(test_client_auth_spec),
	    cmocka_unit_test(test_inline_secret_file_mode),
	    cmocka_unit_test(test_client_auth_registrar_from),
	    cmocka_unit_test(test_parse_limits),
	    cmocka_unit_test(test_secret_file_mode),
	    cmocka_unit_test(test_config_load_missing_file),
	    cmocka_unit_test(test_secret_resolve_file),
	    cmocka_unit_test(test_secret_resolve_env_and_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
