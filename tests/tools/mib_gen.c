/*
 * mib_gen: what CERTPROBE-MIB must say, printed from the code it describes, so the MIB
 * cannot drift from the tables (scripts/gen-mib writes it in, tests/integration/
 * test_mib.sh fails when they disagree):
 *   mib_gen reasons   the CertprobeReason enumeration, one "label(n)," per status row
 *                     of transaction_status.c (n = status number + 1: SNMP enumerations
 *                     start at 1, TXN_OK = 0 is ok(1))
 *   mib_gen columns   "OBJECT ENTRY COLUMN" for every SNMP column of the metric table
 *   mib_gen root      the OID of certprobeMIB the subagent serves (dotted)
 */
#include <stdio.h>
#include <string.h>

#include "exporters/metrics.h"
#include "exporters/snmp_columns.h"
#include "transactions/transaction_status.h"

static int print_reasons(void)
{
	char label[80];
	size_t last = 0;

	for (size_t s = 0; s < TXN_STATUS_COUNT; s++)
		if (snmp_columns_reason_label((enum txn_status)s, label, sizeof label) == 0)
			last = s;
	for (size_t s = 0; s < TXN_STATUS_COUNT; s++) {
		if (snmp_columns_reason_label((enum txn_status)s, label, sizeof label) == -1)
			continue; /* a retired number: no row, no label */
		printf("                    %s(%zu)%s\n", label, s + 1, s == last ? "" : ",");
	}
	return 0;
}

static int print_columns(void)
{
	size_t n;
	const struct metric_def *t = metrics_table(&n);

	for (size_t i = 0; i < n; i++)
		if (t[i].snmp_column != 0)
			printf("%s %s %u\n", t[i].snmp_name,
			       snmp_columns_entry_name(snmp_columns_table_of(&t[i])),
			       t[i].snmp_column);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "reasons") == 0)
		return print_reasons();
	if (argc == 2 && strcmp(argv[1], "columns") == 0)
		return print_columns();
	if (argc == 2 && strcmp(argv[1], "root") == 0) {
		static const uint32_t root[] = {SNMP_COLUMNS_ROOT};
		for (size_t i = 0; i < SNMP_COLUMNS_ROOT_LEN; i++)
			printf(".%u", root[i]);
		printf("\n");
		return 0;
	}
	fprintf(stderr, "usage: mib_gen reasons|columns|root\n");
	return 2;
}
