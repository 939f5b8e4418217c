/*
 * The plugins' output library: the Nagios range parser (every form of the guidelines,
 * and bad input), thresholds, perfdata formatting, worst-wins, and golden renderings of
 * the whole text in every state (status line cut to 79 characters, `|` sanitised, the
 * 8 KiB cap keeping the perfdata).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin_output.h"
#include "plugin_range.h"

static struct plugin_range R(const char *s) {
	struct plugin_range r;

	assert_int_equal(plugin_range_parse(s, &r), 0);
	return r;
}

static void
test_range_forms(void **state)
{
	struct plugin_range r;

	(void)state;
	r = R("10"); /* alert if x < 0 or x > 10 */
	assert_true(plugin_range_alert(&r, -0.5));
	assert_false(plugin_range_alert(&r, 0));
	assert_false(plugin_range_alert(&r, 10));
	assert_true(plugin_range_alert(&r, 10.01));
	r = R("10:"); /* x < 10 */
	assert_true(plugin_range_alert(&r, 9.99));
	assert_false(plugin_range_alert(&r, 10));
	assert_false(plugin_range_alert(&r, 1e9));
	r = R("~:10"); /* x > 10 */
	assert_false(plugin_range_alert(&r, -1e9));
	assert_false(plugin_range_alert(&r, 10));
	assert_true(plugin_range_alert(&r, 11));
	r = R("10:20");
	assert_true(plugin_range_alert(&r, 9));
	assert_false(plugin_range_alert(&r, 10));
	assert_false(plugin_range_alert(&r, 20));
	assert_true(plugin_range_alert(&r, 21));
	r = R("@10:20"); /* 10 <= x <= 20 */
	assert_false(plugin_range_alert(&r, 9));
	assert_true(plugin_range_alert(&r, 10));
	assert_true(plugin_range_alert(&r, 20));
	assert_false(plugin_range_alert(&r, 21));
	r = R("0.5");
	assert_true(plugin_range_alert(&r, 0.51));
	r = R("-5:-1");
	assert_true(plugin_range_alert(&r, 0));
	assert_false(plugin_range_alert(&r, -3));
	r = R("@~:0");
	assert_true(plugin_range_alert(&r, -1));
	assert_false(plugin_range_alert(&r, 0.1));
	r = R("30:");
	assert_string_equal(r.text, "30:");
}

static void test_range_bad(void **state)
{
	static const char *const bad[] = {
	    "",     ":",     "@",     "abc",   "10:x",
	    "x:10", "20:10", "1:2:3", "10 ",   " 10",
	    "nan",  "inf",   "0x10",  "1e999", "@",
	    "~",    "~:",    "10::",  "--1",   "123456789012345678901234567890123456789012345",
	};
	struct plugin_range r;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(plugin_range_parse(bad[i], &r), -1);
		assert_false(r.set);
		assert_false(plugin_range_alert(&r, 1e12));
	}
	assert_int_equal(plugin_range_parse(NULL, &r), -1);
}

static void test_thresholds(void **state)
{
	struct plugin_thresholds t;

	(void)state;
	memset(&t, 0, sizeof t);
	assert_int_equal(plugin_thresholds_check(&t, 1e9), 0);
	t.warn = R("30:");
	t.crit = R("14:");
	assert_int_equal(plugin_thresholds_check(&t, 60), 0);
	assert_int_equal(plugin_thresholds_check(&t, 20), 1);
	assert_int_equal(plugin_thresholds_check(&t, 3), 2);
}

static void test_worst(void **state)
{
	(void)state;
	assert_int_equal(plugin_state_worst(PLUGIN_OK, PLUGIN_UNKNOWN), PLUGIN_UNKNOWN);
	assert_int_equal(plugin_state_worst(PLUGIN_UNKNOWN, PLUGIN_WARNING), PLUGIN_WARNING);
	assert_int_equal(plugin_state_worst(PLUGIN_CRITICAL, PLUGIN_WARNING), PLUGIN_CRITICAL);
	assert_int_equal(plugin_state_worst(PLUGIN_UNKNOWN, PLUGIN_CRITICAL), PLUGIN_CRITICAL);
	assert_string_equal(plugin_state_name(PLUGIN_OK), "OK");
	assert_string_equal(plugin_state_name((enum plugin_state)7), "UNKNOWN");
}

static void test_numbers(void **state)
{
	char b[48];

	(void)state;
	plugin_format_number(b, sizeof b, 0.0125);
	assert_string_equal(b, "0.0125");
	plugin_format_number(b, sizeof b, 30);
	assert_string_equal(b, "30");
	plugin_format_number(b, sizeof b, -1.5);
	assert_string_equal(b, "-1.5");
	plugin_format_number(b, sizeof b, -0.0000001);
	assert_string_equal(b, "0");
}

static void render(const struct plugin_output *o, char *buf, size_t len)
{
	plugin_output_render(o, buf, len);
}

static void test_golden_ok(void **state)
{
	struct plugin_output *o = calloc(1, sizeof *o);
	struct plugin_thresholds t;
	char buf[PLUGIN_OUTPUT_MAX + 1];

	(void)state;
	memset(&t, 0, sizeof t);
	t.warn = R("0.5");
	plugin_output_init(o, "CERTPROBE CLIENTAUTH");
	plugin_output_summary(o, "pool1-logon: transaction completed in 12.0 ms");
	plugin_output_sub(o, PLUGIN_OK, "tls_handshake 8.0 ms");
	plugin_output_perf(o, "tls_handshake", true, 0.008, "s", &t, "0", NULL);
	plugin_output_perf(o, "time", true, 0.012, "s", NULL, "0", "10");
	render(o, buf, sizeof buf);
	assert_string_equal(
	    buf, "CERTPROBE CLIENTAUTH OK - pool1-logon: transaction completed in 12.0 ms\n"
	         "\\_[OK] tls_handshake 8.0 ms | 'tls_handshake'=0.008s;0.5;;0 "
	         "'time'=0.012s;;;0;10");
	assert_int_equal(o->state, PLUGIN_OK);
	free(o);
}

static void test_golden_states(void **state)
{
	static const struct {
		enum plugin_state sub;
		const char *golden;
	} cases[] = {
	    {PLUGIN_WARNING, "CERTPROBE ENROLLMENT WARNING - enroll: weak\n\\_[WARNING] finding\n"
	                     "Diagnosis: fix it | 'days'=20;30:;14:"},
	    {PLUGIN_CRITICAL,
	     "CERTPROBE ENROLLMENT CRITICAL - enroll: weak\n\\_[CRITICAL] finding\n"
	     "Diagnosis: fix it | 'days'=20;30:;14:"},
	    {PLUGIN_UNKNOWN, "CERTPROBE ENROLLMENT UNKNOWN - enroll: weak\n\\_[UNKNOWN] finding\n"
	                     "Diagnosis: fix it | 'days'=20;30:;14:"},
	};
	struct plugin_thresholds t;
	char buf[PLUGIN_OUTPUT_MAX + 1];

	(void)state;
	memset(&t, 0, sizeof t);
	t.warn = R("30:");
	t.crit = R("14:");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct plugin_output *o = calloc(1, sizeof *o);
		plugin_output_init(o, "CERTPROBE ENROLLMENT");
		plugin_output_summary(o, "enroll: weak");
		plugin_output_sub(o, cases[i].sub, "finding");
		plugin_output_line(o, "Diagnosis: fix it");
		plugin_output_perf(o, "days", true, 20, "", &t, NULL, NULL);
		render(o, buf, sizeof buf);
		assert_string_equal(buf, cases[i].golden);
		assert_int_equal(o->state, cases[i].sub);
		free(o);
	}
}

static void test_sanitise_and_cut(void **state)
{
	struct plugin_output *o = calloc(1, sizeof *o);
	char buf[PLUGIN_OUTPUT_MAX + 1], *nl;

	(void)state;
	plugin_output_init(o, "CERTPROBE");
	plugin_output_summary(
	    o, "a|b\nc %s", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	plugin_output_perf(o, "it's=odd", true, 1, "", NULL, NULL, NULL);
	plugin_output_perf(o, "unknown", false, 0, "s", NULL, NULL, NULL);
	render(o, buf, sizeof buf);
	nl = strchr(buf, '|');
	assert_non_null(nl);
	assert_int_equal(nl - buf, PLUGIN_STATUS_LINE_MAX + 1); /* line, " ", then perfdata */
	assert_memory_equal(buf, "CERTPROBE OK - a/b c xxx", 24);
	assert_memory_equal(buf + PLUGIN_STATUS_LINE_MAX - 3, "... | 'it''s_odd'=1 'unknown'=U",
	                    31);
	free(o);
}

static void test_cap(void **state)
{
	struct plugin_output *o = calloc(1, sizeof *o);
	char buf[PLUGIN_OUTPUT_MAX + 100];
	size_t n;

	(void)state;
	plugin_output_init(o, "CERTPROBE");
	plugin_output_summary(o, "many");
	for (int i = 0; i < 60; i++) {
		char text[PLUGIN_TEXT_MAX];
		memset(text, 'y', sizeof text - 1);
		text[sizeof text - 1] = '\0';
		plugin_output_sub(o, PLUGIN_OK, "%d %s", i, text);
		plugin_output_perf(o, "step", true, i, "s", NULL, "0", NULL);
	}
	n = plugin_output_render(o, buf, sizeof buf);
	assert_true(n < PLUGIN_OUTPUT_MAX);
	assert_non_null(strstr(buf, "more lines cut: output limit)"));
	assert_non_null(strstr(buf, "'step'=59s;;;0")); /* the perfdata survived */
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_range_forms),   cmocka_unit_test(test_range_bad),
	    cmocka_unit_test(test_thresholds),    cmocka_unit_test(test_worst),
	    cmocka_unit_test(test_numbers),       cmocka_unit_test(test_golden_ok),
	    cmocka_unit_test(test_golden_states), cmocka_unit_test(test_sanitise_and_cut),
	    cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
