/*
 * list_names: the names the registry knows, one per line, for the documentation checks
 * (tests/integration/test_ops_files.sh): "type NAME" for every transaction type and
 * "step NAME" for every step a type can record (the keys of warn.latency), and
 * "key NAME" for every configuration key (the daemon's and every type's).
 */
#include <stdio.h>

#include "config/config.h"
#include "transactions/txn_type.h"

static void print_key(const char *key, bool secret, void *arg)
{
	(void)secret;
	(void)arg;
	printf("key %s\n", key);
}

int main(void)
{
	for (size_t i = 0; txn_types[i] != NULL; i++) {
		printf("type %s\n", txn_types[i]->name);
		for (const char *const *s = txn_types[i]->steps; *s != NULL; s++)
			printf("step %s\n", *s);
	}
	config_visit_keys(print_key, NULL);
	return 0;
}
