/*
 * list_names: the names the registry knows, one per line, for the documentation checks
 * (tests/integration/test_ops_files.sh): "type NAME" for every transaction type and
 * "step NAME" for every step a type can record (the keys of warn.latency).
 */
#include <stdio.h>

#include "transactions/txn_type.h"

int main(void)
{
	for (size_t i = 0; txn_types[i] != NULL; i++) {
		printf("type %s\n", txn_types[i]->name);
		for (const char *const *s = txn_types[i]->steps; *s != NULL; s++)
			printf("step %s\n", *s);
	}
	return 0;
}
