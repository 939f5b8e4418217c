/*
 * test_statefile: a document built from records and the envelope functions loads back
 * with what went in; a result's type and protocol are kept as written (no whitelist: a
 * protocol added tomorrow is restored as itself, not as "scep").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
