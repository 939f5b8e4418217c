/* coredump: the process made undumpable at start (see coredump.h). */
#include "core/coredump.h"

#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "core/log.h"

int coredump_restrict(void)
{
	const char *allow = getenv(COREDUMP_ALLOW_ENV);
	struct rlimit none = {0, 0};
	int rc;

	if (allow != NULL && strcmp(allow, "1") == 0) {
		log_warn("%s=1: core dumps allowed; a core file holds keys and secrets",
		         COREDUMP_ALLOW_ENV);
		return 0;
	}
	rc = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (rc == -1) {
		log_warn_errno("prctl(PR_SET_DUMPABLE, 0)");
		return -1;
	}
	/* PR_SET_DUMPABLE covers it unless fs.suid_dumpable=2; the unit's LimitCORE=0 too */
	(void)setrlimit(RLIMIT_CORE, &none);
	return 0;
}

bool coredump_dumpable(void)
{
	return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1;
}
