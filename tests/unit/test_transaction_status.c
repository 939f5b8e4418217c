/*
 * test_transaction_status: the status table is complete and well-formed. Every row
 * has a code, description and action; codes are unique snake_case (they become metric
 * labels and SNMP enum names); out-of-range values fall back to probe_internal. The
 * golden list pins each status number to its code: numbers are SNMP enumerations and
 * stored state, so an entry is never changed or removed, only appended.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "transactions/transaction_status.h"

/*
 * Every status number and its code, as released. Never edit or delete a line: a new
 * status adds one at the end; a retired one moves its number to retired[] below.
 */
static const struct golden_status {
	unsigned number;
	const char *code;
} golden[] = {
    {0, "ok"},
    {1, "probe_internal"},
    {2, "probe_secret_unavailable"},
    {3, "probe_key_failed"},
    {4, "probe_state_write"},
    {5, "timeout"},
    {6, "dns_no_answer"},
    {7, "tcp_refused"},
    {8, "tcp_unreachable"},
    {9, "tcp_error"},
    {10, "tls_handshake"},
    {11, "tls_chain_incomplete"},
    {12, "tls_untrusted_root"},
    {13, "tls_cert_expired"},
    {14, "tls_cert_not_yet_valid"},
    {15, "tls_name_mismatch"},
    {16, "tls_verify_failed"},
    {17, "http_protocol"},
    {18, "http_not_found"},
    {19, "http_query_too_long"},
    {20, "http_method_rejected"},
    {21, "http_auth_rejected"},
    {22, "http_server_error"},
    {23, "http_status"},
    {24, "response_too_large"},
    {25, "response_truncated"},
    {26, "ndes_password_cache_full"},
    {27, "ndes_no_permission"},
    {28, "ndes_page_unrecognised"},
    {29, "scep_caps_missing"},
    {30, "scep_caps_changed"},
    {31, "scep_cacert_malformed"},
    {32, "scep_ca_pin_mismatch"},
    {33, "scep_ca_expired"},
    {34, "scep_ca_expiring"},
    {35, "scep_ra_chain_invalid"},
    {36, "scep_get_too_long"},
    {37, "scep_renewal_unsupported"},
    {38, "scep_certrep_content_type"},
    {39, "scep_certrep_malformed"},
    {40, "scep_certrep_unsigned"},
    {41, "scep_certrep_signature"},
    {42, "scep_message_type_mismatch"},
    {43, "scep_transaction_id_mismatch"},
    {44, "scep_recipient_nonce_mismatch"},
    {45, "scep_decrypt_failed"},
    {46, "scep_weak_cipher"},
    {47, "scep_weak_digest"},
    {48, "scep_failure_bad_alg"},
    {49, "scep_failure_bad_message_check"},
    {50, "scep_failure_bad_request"},
    {51, "scep_failure_bad_time"},
    {52, "scep_failure_bad_cert_id"},
    {53, "scep_failure_other"},
    {54, "scep_pending_timeout"},
    {55, "scep_pending"},
    {56, "scep_issued_missing"},
    {57, "scep_issued_key_mismatch"},
    {58, "scep_issued_untrusted"},
    {59, "scep_issued_validity"},
    {60, "scep_issued_subject_mismatch"},
    {61, "scep_issued_expiring"},
    {62, "discovery_no_record"},
    {63, "client_cert_unavailable"},
    {64, "client_cert_required"},
    {65, "client_cert_rejected"},
    {66, "client_cert_expired"},
    {67, "client_cert_untrusted"},
    {68, "client_cert_expiring"},
    {69, "tls_self_signed"},
    {70, "tls_cert_expiring"},
    {71, "registrar_closed"},
    {72, "registrar_protocol"},
    {73, "registrar_redirect"},
    {74, "registrar_unauthorized"},
    {75, "registrar_tls_dsk_required"},
    {76, "registrar_auth_rejected"},
    {77, "registrar_user_not_found"},
    {78, "registrar_request_timeout"},
    {79, "registrar_user_unavailable"},
    {80, "registrar_unavailable"},
    {81, "registrar_server_timeout"},
    {82, "registrar_status"},
    {83, "registrar_unregister_failed"},
    {84, "step_slow"},
    {85, "probe_file_not_regular"},
    {86, "probe_file_too_large"},
    {87, "probe_file_unreadable"},
    {88, "dhcp_no_response"},
    {89, "dhcp_opt43_missing"},
    {90, "dhcp_opt43_truncated"},
    {91, "dhcp_opt43_malformed"},
    {92, "dhcp_opt120_missing"},
    {93, "dhcp_opt120_addresses"},
    {94, "dhcp_opt120_malformed"},
    {95, "probe_dhcp_socket"},
    {96, "certprov_unreachable"},
    {97, "certprov_root_chain_failed"},
    {98, "certprov_websvc_untrusted"},
    {99, "certprov_websvc_chain_incomplete"},
    {100, "certprov_metadata_bad"},
    {101, "webticket_no_response"},
    {102, "webticket_pin_rejected"},
    {103, "webticket_pin_disabled"},
    {104, "webticket_user_locked"},
    {105, "webticket_user_not_enabled"},
    {106, "webticket_fault"},
    {107, "certprov_publish_failed"},
    {108, "certprov_ticket_rejected"},
    {109, "certprov_service_down"},
    {110, "certprov_fault"},
    {111, "certprov_cert_invalid"},
    {112, "certprov_registrar_problem"},
    {113, "registrar_no_tls_dsk"},
    {114, "registrar_dsk_cert_rejected"},
    {115, "registrar_dsk_tls_alert"},
    {116, "registrar_dsk_forbidden"},
    {117, "registrar_dsk_user_not_enabled"},
    {118, "registrar_dsk_timeout"},
    {119, "registrar_dsk_bad_rspauth"},
    {120, "registrar_dsk_protocol"},
    {121, "registrar_not_discovered"},
};

/* Numbers of retired statuses: no row, never reused. None yet (UINT_MAX: the end). */
static const unsigned retired[] = {UINT_MAX};

static bool is_retired(unsigned n)
{
	for (size_t i = 0; i < sizeof retired / sizeof retired[0]; i++)
		if (retired[i] == n)
			return true;
	return false;
}

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
		if (is_retired((unsigned)s))
			continue;
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
		if (is_retired((unsigned)s))
			continue;
		if (!is_snake_case(code))
			fail_msg("status %d code '%s' is not snake_case [a-z0-9_]", s, code);
	}
}

static void test_codes_unique(void **state)
{
	(void)state;
	for (int a = 0; a < TXN_STATUS_COUNT; a++)
		for (int b = a + 1; b < TXN_STATUS_COUNT; b++)
			if (!is_retired((unsigned)a) && !is_retired((unsigned)b) &&
			    strcmp(txn_status_code((enum txn_status)a),
			           txn_status_code((enum txn_status)b)) == 0)
				fail_msg("statuses %d and %d share code '%s'", a, b,
				         txn_status_code((enum txn_status)a));
}

static void test_golden_numbers(void **state)
{
	size_t n = sizeof golden / sizeof golden[0];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		const struct golden_status *g = &golden[i];
		if (g->number >= TXN_STATUS_COUNT)
			fail_msg("status %u (%s) is not below TXN_STATUS_COUNT %d: append new "
			         "statuses at the end of enum txn_status",
			         g->number, g->code, TXN_STATUS_COUNT);
		if (is_retired(g->number))
			fail_msg("status %u (%s) is both in the golden list and retired", g->number,
			         g->code);
		if (strcmp(txn_status_code((enum txn_status)g->number), g->code) != 0)
			fail_msg("status %u is '%s', released as '%s': numbers and codes never "
			         "change",
			         g->number, txn_status_code((enum txn_status)g->number), g->code);
		for (size_t j = i + 1; j < n; j++) {
			if (golden[j].number == g->number)
				fail_msg("number %u is in the golden list twice", g->number);
			if (strcmp(golden[j].code, g->code) == 0)
				fail_msg("code '%s' is in the golden list twice", g->code);
		}
	}
	for (size_t i = 0; i < sizeof retired / sizeof retired[0]; i++) {
		if (retired[i] == UINT_MAX)
			continue;
		const struct txn_status_info *info = txn_status_info((enum txn_status)retired[i]);
		if (retired[i] < TXN_STATUS_COUNT && info != txn_status_info(TXN_PROBE_INTERNAL))
			fail_msg("retired status %u has a row again: numbers are never reused",
			         retired[i]);
	}
	/* every number below the sentinel is pinned (or retired) */
	for (unsigned s = 0; s < TXN_STATUS_COUNT; s++) {
		bool found = is_retired(s);
		for (size_t i = 0; i < n && !found; i++)
			found = golden[i].number == s;
		if (!found)
			fail_msg("status %u (%s) is not in the golden list: add it at the end", s,
			         txn_status_code((enum txn_status)s));
	}
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
	    cmocka_unit_test(test_golden_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
