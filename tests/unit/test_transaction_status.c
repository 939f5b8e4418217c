/*
 * test_transaction_status: the status table is complete and well-formed. Every row
 * has a code, description and action; codes are unique snake_case (they become metric
 * labels and SNMP enum names); out-of-range values fall back to probe_internal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "transactions/transaction_status.h"

static bool is_snake_case(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || s[0] < 'a' || s[0] > 'z' || s[n - 1] == '_')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
		if (c == '_' && s[i + 1] == '_')
			return false;
	}
	return true;
}

static void test_every_row_filled(void **state)
{
	(void)state;
	for (int s = 0; s < TXN_STATUS_COUNT; s++) {
		const struct txn_status_info *info = txn_status_info((enum txn_status)s);
		assert_non_null(info);
		if (info->code == NULL || info->description == NULL || info->action == NULL)
			fail_msg("status %d has an empty row", s);
		if (info->code[0] == '\0' || info->description[0] == '\0' ||
		    info->action[0] == '\0')
			fail_msg("status %d has an empty string in its row", s);
		/* a hole in the table would silently alias probe_internal */
		if (s != TXN_PROBE_INTERNAL && strcmp(info->code, "probe_internal") == 0)
			fail_msg("status %d is missing from the table (reads as probe_internal)",
			         s);
	}
}

static void test_codes_snake_case(void **state)
{
	(void)state;
	for (int s = 0; s < TXN_STATUS_COUNT; s++) {
		const char *code = txn_status_code((enum txn_status)s);
		if (!is_snake_case(code))
			fail_msg("status %d code '%s' is not snake_case [a-z0-9_]", s, code);
	}
}

static void test_codes_unique(void **state)
{
	(void)state;
	for (int a = 0; a < TXN_STATUS_COUNT; a++)
		for (int b = a + 1; b < TXN_STATUS_COUNT; b++)
			if (strcmp(txn_status_code((enum txn_status)a),
			           txn_status_code((enum txn_status)b)) == 0)
				fail_msg("statuses %d and %d share code '%s'", a, b,
				         txn_status_code((enum txn_status)a));
}

static void test_result_class_valid(void **state)
{
	(void)state;
	for (int s = 0; s < TXN_STATUS_COUNT; s++) {
		enum result_class r = txn_status_result((enum txn_status)s);
		assert_true((unsigned)r <= RESULT_UNKNOWN);
		assert_int_equal(r, txn_status_info((enum txn_status)s)->result);
		/* only success may read as OK: a failure must never turn a check green */
		if (s != TXN_OK && r == RESULT_OK)
			fail_msg("failure status %d (%s) has result class OK", s,
			         txn_status_code((enum txn_status)s));
	}
}

static void test_ok_row(void **state)
{
	(void)state;
	assert_int_equal(txn_status_result(TXN_OK), RESULT_OK);
	assert_string_equal(txn_status_code(TXN_OK), "ok");
}

static void test_probe_rows_unknown(void **state)
{
	(void)state;
	/* the probe's own trouble does not blame the target */
	assert_int_equal(txn_status_result(TXN_PROBE_INTERNAL), RESULT_UNKNOWN);
	assert_int_equal(txn_status_result(TXN_PROBE_SECRET_UNAVAILABLE), RESULT_UNKNOWN);
	assert_int_equal(txn_status_result(TXN_PROBE_KEY_FAILED), RESULT_UNKNOWN);
}

static void test_out_of_range(void **state)
{
	const struct txn_status_info *internal = txn_status_info(TXN_PROBE_INTERNAL);
	const unsigned bad[] = {TXN_STATUS_COUNT, TXN_STATUS_COUNT + 1, 1000, 0x7fffffffu,
	                        0xffffffffu};

	(void)state;
	assert_string_equal(internal->code, "probe_internal");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int v = (int)bad[i];
		enum txn_status s;
		memcpy(&s, &v, sizeof s < sizeof v ? sizeof s : sizeof v);
		assert_ptr_equal(txn_status_info(s), internal);
		assert_string_equal(txn_status_code(s), "probe_internal");
		assert_int_equal(txn_status_result(s), RESULT_UNKNOWN);
	}
}

static void test_result_class_names(void **state)
{
	enum result_class r;
	int v = 17;

	(void)state;
	assert_string_equal(result_class_name(RESULT_OK), "OK");
	assert_string_equal(result_class_name(RESULT_WARNING), "WARNING");
	assert_string_equal(result_class_name(RESULT_CRITICAL), "CRITICAL");
	assert_string_equal(result_class_name(RESULT_UNKNOWN), "UNKNOWN");
	memcpy(&r, &v, sizeof r < sizeof v ? sizeof r : sizeof v);
	assert_string_equal(result_class_name(r), "UNKNOWN");
	/* severity order makes "worst wins" a max() */
	assert_true(RESULT_OK < RESULT_WARNING && RESULT_WARNING < RESULT_CRITICAL &&
	            RESULT_CRITICAL < RESULT_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_row_filled), cmocka_unit_test(test_codes_snake_case),
	    cmocka_unit_test(test_codes_unique),     cmocka_unit_test(test_result_class_valid),
	    cmocka_unit_test(test_ok_row),           cmocka_unit_test(test_probe_rows_unknown),
	    cmocka_unit_test(test_out_of_range),     cmocka_unit_test(test_result_class_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
