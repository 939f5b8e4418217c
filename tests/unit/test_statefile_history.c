/*
 * test_statefile_history: the history ring in the state file (issue 16). A record
 * written with a ring reads back with the same runs, oldest first (end, duration,
 * status, result, protocol code, steps with interned names); a record without one
 * (an older file) reads with none; a ring entry out of range drops the record with
 * the field named, as every other bad number does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/statefile.h"
#include "health/history.h"

static struct sf_state *parse_record(const char *rec)
{
	char doc[65536], err[256];
	int n =
	    snprintf(doc, sizeof doc,
	             "{\"version\":1,\"transactions\":[%s],\"endpoints\":[],\"alerts\":[]}", rec);

	assert_true(n > 0 && (size_t)n < sizeof doc);
	return statefile_parse("test", doc, (size_t)n, err, sizeof err);
}

static void view_init(struct sf_txn *v, struct history *h)
{
	memset(v, 0, sizeof *v);
	v->name = "logon";
	v->type = "client-auth";
	v->endpoint = "127.0.0.1:5061";
	v->endpoint_kind = "registrar";
	health_init(&v->health);
	v->history = h;
}

static void test_round_trip(void **state)
{
	struct history *h = history_new(5);
	struct history_entry e;
	struct sf_txn v;
	struct sf_state *s;
	char *rec;

	(void)state;
	for (int i = 0; i < 7; i++) { /* 7 into 5: the first two go */
		memset(&e, 0, sizeof e);
		e.end = 1780000000 + i;
		e.duration_us = 1000u * (uint64_t)(i + 1);
		e.result = i == 5 ? RESULT_CRITICAL : RESULT_OK;
		e.status = i == 5 ? TXN_TCP_REFUSED : TXN_OK;
		e.protocol_code = i == 5 ? 0 : 200;
		e.n_steps = 2;
		e.steps[0].name = "connect";
		e.steps[0].duration_us = 100;
		e.steps[1].name = "register";
		e.steps[1].duration_us = 900 + (uint32_t)i;
		history_add(h, &e);
	}
	view_init(&v, h);
	rec = statefile_txn_json(&v);
	/* the oldest kept run, positional */
	assert_non_null(strstr(rec,
	                       "\"history\":[[1780000002,3000,\"ok\",\"OK\",200,\"connect\",100,"
	                       "\"register\",902]"));
	s = parse_record(rec);
	assert_non_null(s);
	assert_int_equal(s->n_txns, 1);
	assert_int_equal(history_count(s->txns[0].history), 5);
	for (size_t i = 0; i < 5; i++) {
		const struct history_entry *a = history_get(h, i),
		                           *b = history_get(s->txns[0].history, i);
		assert_int_equal(a->end, b->end);
		assert_int_equal(a->duration_us, b->duration_us);
		assert_int_equal(a->result, b->result);
		assert_int_equal(a->status, b->status);
		assert_int_equal(a->protocol_code, b->protocol_code);
		assert_int_equal(b->n_steps, 2);
		assert_string_equal(b->steps[1].name, "register");
		assert_ptr_equal(b->steps[1].name, txn_step_name_intern("register")); /* static */
		assert_int_equal(a->steps[1].duration_us, b->steps[1].duration_us);
	}
	assert_int_equal(history_get(s->txns[0].history, 3)->result, RESULT_CRITICAL);
	statefile_state_free(s);
	free(rec);

	/* an empty ring writes nothing and reads as none */
	history_free(h);
	h = history_new(5);
	view_init(&v, h);
	rec = statefile_txn_json(&v);
	assert_null(strstr(rec, "\"history\":[["));
	s = parse_record(rec);
	assert_int_equal(s->n_txns, 1);
	assert_null(s->txns[0].history);
	statefile_state_free(s);
	free(rec);
	history_free(h);
}

static const char head[] =
    "{\"name\":\"x\",\"health\":{\"state\":\"OK\",\"hard_state\":\"OK\",\"last_notified\":\"OK\","
    "\"state_type\":\"HARD\"},";

static void expect_dropped(const char *hist)
{
	char rec[4096];
	struct sf_state *s;

	snprintf(rec, sizeof rec, "%s\"history\":%s}", head, hist);
	s = parse_record(rec);
	assert_non_null(s);
	assert_int_equal(s->n_txns, 0);
	statefile_state_free(s);
}

static void test_bad_entries(void **state)
{
	char rec[4096];
	struct sf_state *s;

	(void)state;
	snprintf(rec, sizeof rec, "%s\"history\":[[5,7,\"ok\",\"OK\",200,\"connect\",3]]}", head);
	s = parse_record(rec);
	assert_int_equal(s->n_txns, 1);
	assert_int_equal(history_count(s->txns[0].history), 1);
	assert_int_equal(history_get(s->txns[0].history, 0)->steps[0].duration_us, 3);
	statefile_state_free(s);

	expect_dropped("{}");
	expect_dropped("[1]");
	expect_dropped("[{\"end\":1}]");
	expect_dropped("[[1,7,\"ok\",\"OK\"]]");            /* too short */
	expect_dropped("[[-1,7,\"ok\",\"OK\",0]]");         /* before 1970 */
	expect_dropped("[[1,7,\"ok\",\"GREEN\",0]]");       /* not a result class */
	expect_dropped("[[1,7,\"ok\",\"OK\",70000]]");      /* not a SIP or HTTP code */
	expect_dropped("[[1,7,\"ok\",\"OK\",0,\"a\"]]");    /* a step without its time */
	expect_dropped("[[1,7,\"ok\",\"OK\",0,\"a\",-4]]"); /* a negative time */
	expect_dropped("[[1,7,\"ok\",\"OK\",0,5,5]]");      /* a step name that is none */
	expect_dropped("[[1,7,\"ok\",\"OK\",0,\"a\",1,\"a\",1,\"a\",1,\"a\",1,\"a\",1,\"a\",1,"
	               "\"a\",1,\"a\",1,\"a\",1]]"); /* 9 steps */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_bad_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
