/*
 * fuzz_config: the YAML config loader on arbitrary bytes. Errors (with their source
 * echo and secret masking) are written to /dev/null so the reporting path runs too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct config *cfg;
	unsigned nerrors = 0;

	if (devnull == NULL)
		devnull = fopen("/dev/null", "w");
	cfg = config_load_buffer("fuzz.yaml", (const char *)data, size, devnull, &nerrors);
	if (cfg != NULL)
		(void)config_find_txn(cfg, "t1");
	config_free(cfg);
	return 0;
}
