/*
 * test_statefile: a document built from records and the envelope functions loads back
 * with what went in; a result's type and protocol are kept as written (no whitelist: a
 * protocol added tomorrow is restored as itself, not as "scep"). Every number read back is
 * checked against its range: a record with one out of range (a flap index of -1 once
 * wrote history[255]) is dropped, the others restored.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bbuf.h"
#include "exporters/statefile.h"

static void write_file(const char *path, const struct bbuf *b)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
	assert_int_equal(fclose(f), 0);
}

static void test_round_trip(void **state)
{
	char path[] = "/tmp/test_statefile.XXXXXX";
	struct sf_txn t;
	struct sf_endpoint e;
	struct sf_kv labels[1] = {{"endpoint", "h1"}};
	struct sf_alert a = {labels, 1, NULL, 0, 1700000000, false, 0};
	struct sf_state *s;
	struct bbuf b;
	char err[256], *rec;
	int fd;

	(void)state;
	memset(&t, 0, sizeof t);
	memset(&e, 0, sizeof e);
	t.name = "pool1-logon";
	t.type = "client-auth";
	t.endpoint = "pool1.example.com:5061";
	t.endpoint_kind = "registrar";
	t.have_last = true;
	txn_result_init(&t.last, "pool1-logon", "sip:a@b", "tomorrow-type", "certprov-soap");
	txn_step_begin(&t.last, "tls_handshake");
	txn_result_finish(&t.last);
	t.last_run = 1700000100;
	t.runs[RESULT_OK] = 7;
	e.name = "pool1.example.com:5061";
	e.kind = "registrar";

	bbuf_init(&b, 1 << 20);
	statefile_doc_open(&b, "/etc/certprobe/certprobe.yaml");
	rec = statefile_txn_json(&t);
	bbuf_append(&b, rec, strlen(rec));
	free(rec);
	statefile_doc_section(&b, "endpoints");
	rec = statefile_endpoint_json(&e);
	bbuf_append(&b, rec, strlen(rec));
	free(rec);
	statefile_doc_section(&b, "alerts");
	rec = statefile_alert_json(&a);
	bbuf_append(&b, rec, strlen(rec));
	free(rec);
	statefile_doc_close(&b);
	fd = mkstemp(path);
	assert_true(fd != -1);
	close(fd);
	write_file(path, &b);
	bbuf_free(&b);

	s = statefile_load(path, err, sizeof err);
	unlink(path);
	assert_non_null(s);
	assert_int_equal(s->version, STATEFILE_VERSION);
	assert_string_equal(s->config, "/etc/certprobe/certprobe.yaml");
	assert_int_equal(s->n_txns, 1);
	assert_string_equal(s->txns[0].name, "pool1-logon");
	assert_true(s->txns[0].have_last);
	assert_string_equal(s->txns[0].last.type, "tomorrow-type");
	assert_string_equal(s->txns[0].last.protocol, "certprov-soap");
	assert_string_equal(s->txns[0].last.steps[0].name, "tls_handshake");
	assert_int_equal(s->txns[0].runs[RESULT_OK], 7);
	assert_int_equal(s->n_endpoints, 1);
	assert_string_equal(s->endpoints[0].kind, "registrar");
	assert_int_equal(s->n_alerts, 1);
	assert_int_equal(s->alerts[0].starts_at, 1700000000);
	statefile_state_free(s);
}

/* ---- one service out of many (statefile_load_some) ---- */

/* A document in the daemon's layout (one record per line) or on one line. */
static void write_layout(const char *path, bool lines)
{
	const char *const names[] = {"a", "b \"quoted\"", "c", "d"};
	const char *const eps[] = {"h1:5061", "h2:5061", "h1:5061", "h3"};
	const char *nl = lines ? "\n" : "";
	struct bbuf b;
	char *rec;

	bbuf_init(&b, 1 << 20);
	statefile_doc_open(&b, "/etc/certprobe/certprobe.yaml");
	for (size_t i = 0; i < 4; i++) {
		struct sf_txn t;
		memset(&t, 0, sizeof t);
		t.name = names[i];
		t.type = "client-auth";
		t.endpoint = eps[i];
		t.endpoint_kind = "registrar";
		t.runs[RESULT_OK] = i + 1;
		rec = statefile_txn_json(&t);
		bbuf_appendf(&b, "%s%s%s", nl, i > 0 ? "," : "", rec);
		free(rec);
	}
	bbuf_appendf(&b, "%s", nl);
	statefile_doc_section(&b, "endpoints");
	for (size_t i = 0; i < 3; i++) {
		struct sf_endpoint e;
		memset(&e, 0, sizeof e);
		e.name = i == 0 ? "h1:5061" : i == 1 ? "h2:5061" : "h3";
		e.kind = "registrar";
		rec = statefile_endpoint_json(&e);
		bbuf_appendf(&b, "%s%s%s", nl, i > 0 ? "," : "", rec);
		free(rec);
	}
	bbuf_appendf(&b, "%s", nl);
	statefile_doc_section(&b, "alerts");
	statefile_doc_close(&b);
	write_file(path, &b);
	bbuf_free(&b);
}

static void test_load_some(void **state)
{
	char path[] = "/tmp/test_statefile.XXXXXX";
	struct sf_state *s;
	char err[256];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd != -1);
	close(fd);
	for (int lines = 1; lines >= 0; lines--) {
		write_layout(path, lines);
		s = statefile_load_some(path, "b \"quoted\"", NULL, err, sizeof err);
		assert_non_null(s);
		assert_non_null(statefile_find_txn(s, "b \"quoted\""));
		assert_int_equal(statefile_find_txn(s, "b \"quoted\"")->runs[RESULT_OK], 2);
		/* the one-line layout is read whole */
		assert_int_equal(s->n_txns, lines ? 1 : 4);
		statefile_state_free(s);
		s = statefile_load_some(path, NULL, "h1:5061", err, sizeof err);
		assert_non_null(s);
		assert_int_equal(s->n_txns, lines ? 2 : 4);
		assert_non_null(statefile_find_txn(s, "a"));
		assert_non_null(statefile_find_txn(s, "c"));
		assert_int_equal(s->n_endpoints, lines ? 1 : 3);
		assert_string_equal(s->endpoints[0].name, "h1:5061");
		statefile_state_free(s);
		s = statefile_load_some(path, "none", NULL, err, sizeof err);
		assert_non_null(s);
		assert_null(statefile_find_txn(s, "none"));
		statefile_state_free(s);
	}
	unlink(path);
}

/* ---- out-of-range numbers ---- */

/* rec with the first `from` replaced by `to` (which must be there); malloced */
static char *replaced(const char *rec, const char *from, const char *to)
{
	const char *at = strstr(rec, from);
	size_t n;
	char *out;

	if (at == NULL)
		fail_msg("'%s' is not in %s", from, rec);
	n = strlen(rec) - strlen(from) + strlen(to) + 1;
	out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(at - rec), rec, to, at + strlen(from));
	return out;
}

enum which { IN_NONE, IN_TXN, IN_ENDPOINT, IN_ALERT };

struct bad_case {
	enum which in;
	const char *from, *to;
};

#define FLAP0 "\"flap\":{\"history\":[],\"next\":0,\"count\":0,\"percent\":0.0,\"flapping\":false}"
#define FLAP(h, n, c, p)                                                                           \
	"\"flap\":{\"history\":[" h "],\"next\":" n ",\"count\":" c ",\"percent\":" p              \
	",\"flapping\":false}"
#define H22 "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0"

static const struct bad_case bad_cases[] = {
    {IN_NONE, NULL, NULL},
    /* the flap ring: index, count, entries, percent, types */
    {IN_TXN, FLAP0, FLAP("", "-1", "0", "0.0")},
    {IN_TXN, FLAP0, FLAP("", "21", "0", "0.0")},
    {IN_TXN, FLAP0, FLAP("", "255", "0", "0.0")},
    {IN_TXN, FLAP0, FLAP("", "\"0\"", "0", "0.0")},
    {IN_TXN, FLAP0, FLAP("4", "1", "1", "0.0")},
    {IN_TXN, FLAP0, FLAP("-1", "1", "1", "0.0")},
    {IN_TXN, FLAP0, FLAP("0.5", "1", "1", "0.0")},
    {IN_TXN, FLAP0, FLAP(H22, "0", "21", "0.0")},
    {IN_TXN, FLAP0, FLAP("0", "1", "22", "0.0")},
    {IN_TXN, FLAP0, FLAP("0", "1", "5", "0.0")},
    {IN_TXN, FLAP0, FLAP("", "0", "-1", "0.0")},
    {IN_TXN, FLAP0, FLAP("", "0", "0", "100.5")},
    {IN_TXN, FLAP0, FLAP("", "0", "0", "-0.5")},
    {IN_TXN, FLAP0, FLAP("", "0", "0", "\"50\"")},
    {IN_TXN, FLAP0, "\"flap\":[]"},
    /* the health counters, attempts, enums and timestamps */
    {IN_TXN, "\"attempt\":1", "\"attempt\":-1"},
    {IN_TXN, "\"attempt\":1", "\"attempt\":101"},
    {IN_TXN, "\"attempt\":1", "\"attempt\":4294967297"},
    {IN_TXN, "\"state_type\":\"HARD\"", "\"state_type\":\"MEDIUM\""},
    {IN_TXN, "\"last_check\":0", "\"last_check\":-1"},
    {IN_TXN, "\"last_change\":0", "\"last_change\":-1"},
    {IN_TXN, "\"last_hard_change\":0", "\"last_hard_change\":-1"},
    {IN_TXN, "\"consecutive_ok\":0", "\"consecutive_ok\":-1"},
    {IN_TXN, "\"consecutive_fail\":0", "\"consecutive_fail\":4294967296"},
    {IN_TXN, "\"total\":[0,0,0,0]", "\"total\":[0,-1,0,0]"},
    {IN_TXN, "\"total\":[0,0,0,0]", "\"total\":[0,0,0,0,0]"},
    {IN_TXN, "\"total\":[0,0,0,0]", "\"total\":[0,0,true,0]"},
    /* the record's counts and times */
    {IN_TXN, "\"ok\":0", "\"ok\":-1"},
    {IN_TXN, "\"unknown\":0", "\"unknown\":1.5"},
    {IN_TXN, "\"last_run\":0", "\"last_run\":-1"},
    {IN_TXN, "\"last_success\":0", "\"last_success\":-5"},
    /* the last result */
    {IN_TXN, "\"started\":1700000000", "\"started\":-1"},
    {IN_TXN, "\"duration_us\":7,\"steps\"", "\"duration_us\":-7,\"steps\""},
    {IN_TXN, "\"start_us\":0", "\"start_us\":-1"},
    {IN_TXN, "\"duration_us\":7,\"status\"", "\"duration_us\":-1,\"status\""},
    {IN_TXN, "\"result\":\"OK\"", "\"result\":\"MAYBE\""},
    /* an endpoint */
    {IN_ENDPOINT, FLAP0, FLAP("", "-1", "0", "0.0")},
    {IN_ENDPOINT, FLAP0, FLAP("9", "1", "1", "0.0")},
    {IN_ENDPOINT, FLAP0, FLAP("", "0", "0", "1e9")},
    {IN_ENDPOINT, "\"members\":1", "\"members\":-1"},
    {IN_ENDPOINT, "\"members_failing\":0", "\"members_failing\":2"},
    {IN_ENDPOINT, "\"last_check\":0", "\"last_check\":-1"},
    {IN_ENDPOINT, "\"last_change\":0", "\"last_change\":-1"},
    /* an alert */
    {IN_ALERT, "\"starts_at\":1700000000", "\"starts_at\":-1"},
    {IN_ALERT, "\"ends_at\":0", "\"ends_at\":-1"},
    {IN_ALERT, "\"ends_at\":0", "\"ends_at\":\"never\""},
};

/* Append t's, e's or a's record to b, mutated by c when it is the record c is about. */
static void append_record(struct bbuf *b, char *rec, const struct bad_case *c, enum which in)
{
	char *out = c->in != IN_NONE && c->in == in ? replaced(rec, c->from, c->to) : rec;

	bbuf_append(b, out, strlen(out));
	if (out != rec)
		free(out);
	free(rec);
}

static void load_case(const struct bad_case *c)
{
	char path[] = "/tmp/test_statefile.XXXXXX";
	struct sf_txn t[2];
	struct sf_endpoint e[2];
	struct sf_kv labels[2][1] = {{{"endpoint", "good-ep"}}, {{"endpoint", "bad-ep"}}};
	struct sf_alert a[2];
	const char *names[2] = {"good", "bad"}, *eps[2] = {"good-ep", "bad-ep"};
	struct sf_state *s;
	struct bbuf b;
	char err[256];
	int fd;

	bbuf_init(&b, 1 << 20);
	statefile_doc_open(&b, "/etc/certprobe/certprobe.yaml");
	for (int i = 0; i < 2; i++) {
		memset(&t[i], 0, sizeof t[i]);
		t[i].name = names[i];
		t[i].type = "enrollment";
		t[i].endpoint = eps[i];
		t[i].endpoint_kind = "web_service";
		health_init(&t[i].health);
		t[i].have_last = true;
		txn_result_init(&t[i].last, names[i], "http://ca/scep", "enrollment", "scep");
		txn_step_begin(&t[i].last, "connect");
		txn_result_finish(&t[i].last);
		t[i].last.started = 1700000000;
		t[i].last.duration_us = 7;
		t[i].last.steps[0].start_us = 0;
		t[i].last.steps[0].duration_us = 7;
		if (i > 0)
			bbuf_append(&b, ",", 1);
		append_record(&b, statefile_txn_json(&t[i]), c, i == 1 ? IN_TXN : IN_NONE);
	}
	statefile_doc_section(&b, "endpoints");
	for (int i = 0; i < 2; i++) {
		memset(&e[i], 0, sizeof e[i]);
		e[i].name = eps[i];
		e[i].kind = "web_service";
		health_endpoint_init(&e[i].health);
		e[i].health.members = 1;
		if (i > 0)
			bbuf_append(&b, ",", 1);
		append_record(&b, statefile_endpoint_json(&e[i]), c,
		              i == 1 ? IN_ENDPOINT : IN_NONE);
	}
	statefile_doc_section(&b, "alerts");
	for (int i = 0; i < 2; i++) {
		a[i] = (struct sf_alert){labels[i], 1, NULL, 0, 1700000000, false, 0};
		if (i > 0)
			bbuf_append(&b, ",", 1);
		append_record(&b, statefile_alert_json(&a[i]), c, i == 1 ? IN_ALERT : IN_NONE);
	}
	statefile_doc_close(&b);
	fd = mkstemp(path);
	assert_true(fd != -1);
	close(fd);
	write_file(path, &b);
	bbuf_free(&b);

	s = statefile_load(path, err, sizeof err);
	unlink(path);
	if (s == NULL)
		fail_msg("%s -> %s: the whole file was refused: %s", c->from, c->to, err);
	if (s->n_txns != (c->in == IN_TXN ? 1u : 2u) ||
	    s->n_endpoints != (c->in == IN_ENDPOINT ? 1u : 2u) ||
	    s->n_alerts != (c->in == IN_ALERT ? 1u : 2u))
		fail_msg("%s -> %s: restored %zu transactions, %zu endpoints, %zu alerts",
		         c->from ? c->from : "(unchanged)", c->to ? c->to : "", s->n_txns,
		         s->n_endpoints, s->n_alerts);
	assert_string_equal(s->txns[0].name, "good");
	assert_string_equal(s->endpoints[0].name, "good-ep");
	assert_string_equal(s->alerts[0].labels[0].value, "good-ep");
	/* what was restored is inside every range health_update() indexes with */
	for (size_t i = 0; i < s->n_txns; i++) {
		assert_true(s->txns[i].health.flap.next < HEALTH_HISTORY_LEN);
		assert_true(s->txns[i].health.flap.count <= HEALTH_HISTORY_LEN);
	}
	statefile_state_free(s);
}

static void test_out_of_range_dropped(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
		load_case(&bad_cases[i]);
}

/* The envelope's numbers are not a record: a bad one reads as unknown (0). */
static void test_envelope_out_of_range(void **state)
{
	char path[] = "/tmp/test_statefile.XXXXXX";
	const char *doc = "{\"version\":1,\"written\":-5,\"pid\":-1,\"config\":\"c\","
	                  "\"transactions\":[],\"endpoints\":[],\"alerts\":[]}";
	struct bbuf b;
	struct sf_state *s;
	char err[256];
	int fd;

	(void)state;
	bbuf_init(&b, 4096);
	bbuf_append(&b, doc, strlen(doc));
	fd = mkstemp(path);
	assert_true(fd != -1);
	close(fd);
	write_file(path, &b);
	bbuf_free(&b);
	s = statefile_load(path, err, sizeof err);
	unlink(path);
	assert_non_null(s);
	assert_int_equal(s->written, 0);
	assert_int_equal(s->pid, 0);
	statefile_state_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_load_some),
	    cmocka_unit_test(test_out_of_range_dropped),
	    cmocka_unit_test(test_envelope_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
