/*
 * test_passive: the pure parts of the passive-result sinks. The coalescing queue (latest
 * per object, a change kept through refreshes, an update in flight delivered again, the
 * cap), the name templates, Icinga 2's answers judged (taken, rejected, auth, retry),
 * the process-check-result body read back with jansson (filter_vars, perfdata items
 * split outside quoted labels), and the Nagios command line (escaped newlines, at most
 * PIPE_BUF bytes whatever the output, whole perfdata items only).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/icinga2_sink.h"
#include "alert/nagios_sink.h"
#include "alert/passive.h"
#include "alert/passive_queue.h"

static struct sink_result result(enum sink_object o, const char *name, int state, bool changed,
                                 const char *output)
{
	struct sink_result r = {
	    .object = o,
	    .name = name,
	    .type = "client-auth",
	    .endpoint = "pool1.example.com:5061",
	    .kind = ENDPOINT_KIND_REGISTRAR,
	    .state = state,
	    .changed = changed,
	    .when = 1795341600,
	    .output = output,
	    .perfdata = "'time'=0.02s;;;0 'client_cert_days'=825;30:",
	};
	return r;
}

/* ---- the queue ---- */

static void test_queue_coalesces(void **state)
{
	struct passive_queue *q = passive_queue_new(0);
	struct sink_result a = result(SINK_OBJECT_TRANSACTION, "logon", 2, true, "CRITICAL");
	struct sink_result b = result(SINK_OBJECT_TRANSACTION, "logon", 2, false, "CRITICAL again");
	struct sink_result e = result(SINK_OBJECT_ENDPOINT, "logon", 0, false, "endpoint");
	struct passive_item *it;

	(void)state;
	passive_queue_put(q, &a);
	passive_queue_put(q, &e); /* same name, other object: its own item */
	passive_queue_put(q, &b);
	assert_int_equal(passive_queue_len(q), 2);
	assert_int_equal(passive_queue_coalesced(q), 1);
	it = passive_queue_next(q);
	assert_int_equal(it->r.object, SINK_OBJECT_TRANSACTION); /* kept its place */
	assert_string_equal(it->r.output, "CRITICAL again");
	assert_true(it->r.changed); /* a refresh does not hide the change */
	passive_queue_done(q, it, passive_queue_begin(q, it), true);
	assert_int_equal(passive_queue_len(q), 1);
	assert_int_equal(passive_queue_next(q)->r.object, SINK_OBJECT_ENDPOINT);
	passive_queue_free(q);
}

static void test_queue_in_flight(void **state)
{
	struct passive_queue *q = passive_queue_new(0);
	struct sink_result a = result(SINK_OBJECT_TRANSACTION, "logon", 2, true, "old");
	struct sink_result b = result(SINK_OBJECT_TRANSACTION, "logon", 0, true, "new");
	struct passive_item *it;
	uint64_t v;

	(void)state;
	it = passive_queue_put(q, &a);
	v = passive_queue_begin(q, it);
	assert_null(passive_queue_next(q)); /* in flight: not handed out twice */
	passive_queue_put(q, &b);           /* changed meanwhile */
	passive_queue_done(q, it, v, true);
	it = passive_queue_next(q);
	assert_non_null(it); /* the newer one still goes */
	assert_string_equal(it->r.output, "new");
	v = passive_queue_begin(q, it);
	passive_queue_done(q, it, v, false); /* failed: stays for a retry */
	assert_ptr_equal(passive_queue_next(q), it);
	passive_queue_done(q, it, passive_queue_begin(q, it), true);
	assert_int_equal(passive_queue_len(q), 0);
	passive_queue_free(q);
}

static void count_changed(const struct sink_result *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
}

static void test_queue_cap_and_changes(void **state)
{
	struct passive_queue *q = passive_queue_new(3);
	char name[8];
	int n = 0;

	(void)state;
	for (int i = 0; i < 5; i++) {
		struct sink_result r = result(SINK_OBJECT_TRANSACTION, name, 0, i % 2 == 0, "x");
		snprintf(name, sizeof name, "t%d", i);
		passive_queue_put(q, &r);
	}
	assert_int_equal(passive_queue_len(q), 3);
	assert_int_equal(passive_queue_dropped(q), 2);
	assert_string_equal(passive_queue_next(q)->r.name, "t2"); /* the oldest went */
	passive_queue_foreach_changed(q, count_changed, &n);
	assert_int_equal(n, 2); /* t2 and t4 */
	passive_queue_free(q);
}

/* ---- templates ---- */

static void test_templates(void **state)
{
	struct sink_result r = result(SINK_OBJECT_TRANSACTION, "pool1-logon", 0, false, "");
	char buf[64], tiny[8];

	(void)state;
	assert_null(passive_template_problem("certprobe-passive-{name}"));
	assert_null(passive_template_problem("{kind} {name} {type} {endpoint} {probe}"));
	assert_non_null(passive_template_problem("{}"));
	assert_non_null(passive_template_problem("{nope}"));
	assert_non_null(passive_template_problem("{name"));
	assert_non_null(passive_template_problem("name}"));
	assert_string_equal(
	    passive_template_expand("certprobe-passive-{name}", &r, "probe1", buf, sizeof buf),
	    "certprobe-passive-pool1-logon");
	assert_string_equal(passive_template_expand("{kind} {endpoint} on {probe} ({type})", &r,
	                                            "probe1", buf, sizeof buf),
	                    "registrar pool1.example.com:5061 on probe1 (client-auth)");
	assert_string_equal(passive_template_expand("{name}-{name}", &r, "p", tiny, sizeof tiny),
	                    "pool1-l"); /* cut, terminated */
	assert_string_equal(passive_template_expand("{x} {", &r, "p", buf, sizeof buf), "{x} {");
	assert_string_equal(passive_fail_name(PASSIVE_FAIL_NO_READER), "no_reader");
	assert_null(passive_fail_name(PASSIVE_FAIL_COUNT));
}

/* ---- Icinga 2 ---- */

static enum icinga2_verdict judge(long status, const char *body, char *detail)
{
	return icinga2_response_parse(status, body, body != NULL ? strlen(body) : 0, detail, 200);
}

static void test_icinga2_answers(void **state)
{
	char d[200];

	(void)state;
	assert_int_equal(judge(200,
	                       "{\"results\":[{\"code\":200.0,\"status\":\"Successfully processed "
	                       "check result for object 'h!s'.\"}]}",
	                       d),
	                 ICINGA2_TAKEN);
	assert_string_equal(d, "Successfully processed check result for object 'h!s'.");
	assert_int_equal(judge(404, "{\"error\":404.0,\"status\":\"No objects found.\"}", d),
	                 ICINGA2_REJECTED);
	assert_string_equal(d, "No objects found.");
	assert_int_equal(judge(200, "{\"results\":[]}", d), ICINGA2_REJECTED);
	assert_int_equal(judge(200, "{\"results\":[{\"code\":409.0,\"status\":\"x\"}]}", d),
	                 ICINGA2_REJECTED);
	assert_int_equal(judge(401, "<h1>Unauthorized</h1>", d), ICINGA2_AUTH);
	assert_string_equal(d, "HTTP 401");
	assert_int_equal(judge(403, "{\"error\":403,\"status\":\"No permission\"}", d),
	                 ICINGA2_AUTH);
	assert_int_equal(judge(503, NULL, d), ICINGA2_RETRY);
	assert_int_equal(judge(200, "not json", d), ICINGA2_RETRY);
	assert_int_equal(judge(200, "{\"results\":{}}", d), ICINGA2_RETRY);
	assert_int_equal(judge(200, "{\"results\":[1]}", d), ICINGA2_REJECTED);
	/* control characters in Icinga's words never reach a log line */
	judge(404, "{\"status\":\"a\\nb\\u0007c\"}", d);
	assert_string_equal(d, "a b c");
}

static void test_icinga2_render(void **state)
{
	struct sink_result r = result(SINK_OBJECT_TRANSACTION, "pool1-logon", 2, true,
	                              "CERTPROBE CLIENTAUTH CRITICAL - pool1-logon: refused\n"
	                              "\\_[OK] daemon: CRITICAL HARD");
	char *body;
	json_t *j, *perf;
	json_error_t e;

	(void)state;
	r.perfdata = "'time'=0.02s;;;0  'a b'=1;2;3 c=4";
	body = icinga2_render(&r, "certprobe-host", "certprobe-passive-pool1-logon", "probe1", 180);
	j = json_loads(body, 0, &e);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "Service");
	assert_string_equal(json_string_value(json_object_get(j, "filter")),
	                    "host.name==h && service.name==s");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "filter_vars"), "h")),
	    "certprobe-host");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "filter_vars"), "s")),
	    "certprobe-passive-pool1-logon");
	assert_int_equal(json_integer_value(json_object_get(j, "exit_status")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "plugin_output")), r.output);
	assert_string_equal(json_string_value(json_object_get(j, "check_source")), "probe1");
	assert_int_equal(json_integer_value(json_object_get(j, "ttl")), 180);
	assert_int_equal(json_integer_value(json_object_get(j, "execution_end")), 1795341600);
	perf = json_object_get(j, "performance_data");
	assert_int_equal(json_array_size(perf), 3);
	assert_string_equal(json_string_value(json_array_get(perf, 1)), "'a b'=1;2;3");
	assert_string_equal(json_string_value(json_array_get(perf, 2)), "c=4");
	json_decref(j);
	free(body);
	/* not UTF-8: a placeholder, still valid JSON */
	r.output = "bad \xff byte";
	body = icinga2_render(&r, "h", "s", "p", 1);
	j = json_loads(body, 0, &e);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "plugin_output")),
	                    "(output not UTF-8)");
	json_decref(j);
	free(body);
}

/* ---- Nagios ---- */

static void test_nagios_format(void **state)
{
	struct sink_result r = result(SINK_OBJECT_TRANSACTION, "pool1-logon", 2, true,
	                              "CERTPROBE CLIENTAUTH CRITICAL - pool1-logon: refused\n"
	                              "\\_[OK] daemon: CRITICAL HARD\nDiagnosis: start it");
	char buf[NAGIOS_LINE_MAX + 1], big[20000];
	size_t n;

	(void)state;
	n = nagios_format(buf, &r, "certprobe-host", "pool1-logon", 1795341600);
	assert_string_equal(buf, "[1795341600] PROCESS_SERVICE_CHECK_RESULT;certprobe-host;"
	                         "pool1-logon;2;CERTPROBE CLIENTAUTH CRITICAL - pool1-logon: "
	                         "refused\\n\\_[OK] daemon: CRITICAL HARD\\nDiagnosis: start "
	                         "it|'time'=0.02s;;;0 'client_cert_days'=825;30:\n");
	assert_int_equal(n, strlen(buf));
	n = nagios_format(buf, &r, "certprobe-host", NULL, 5);
	assert_non_null(strstr(buf, "[5] PROCESS_HOST_CHECK_RESULT;certprobe-host;2;CERTPROBE"));
	/* a long text is cut first: the status line and the perfdata stay, one write */
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big, "STATUS LINE\n", 12);
	r.output = big;
	n = nagios_format(buf, &r, "h", "s", 1);
	assert_true(n <= NAGIOS_LINE_MAX);
	assert_string_equal(buf,
	                    "[1] PROCESS_SERVICE_CHECK_RESULT;h;s;2;STATUS LINE|'time'=0.02s;;;0 "
	                    "'client_cert_days'=825;30:\n");
	/* a status line longer than everything: cut to fit, still one line */
	memset(big, 'y', sizeof big - 1);
	r.output = big;
	n = nagios_format(buf, &r, "h", "s", 1);
	assert_int_equal(n, NAGIOS_LINE_MAX);
	assert_int_equal(buf[n - 1], '\n');
	assert_null(memchr(buf, '\n', n - 1));
	assert_null(strchr(buf, '|')); /* no room for perfdata: left out, not cut */
	/* control characters become spaces: a line cannot be split or forged */
	r.output = "a\rb\x01;c";
	nagios_format(buf, &r, "h", "s", 1);
	assert_non_null(strstr(buf, ";2;a b ;c|"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_queue_coalesces),       cmocka_unit_test(test_queue_in_flight),
	    cmocka_unit_test(test_queue_cap_and_changes), cmocka_unit_test(test_templates),
	    cmocka_unit_test(test_icinga2_answers),       cmocka_unit_test(test_icinga2_render),
	    cmocka_unit_test(test_nagios_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
