/*
 * statuspage_filter: which transactions "/" lists (?state=ok, warning, critical,
 * unknown, problems; none = all). A transaction without a result yet is only in "all".
 */
#include "exporters/statuspage/statuspage.h"

#include <string.h>

static const char *const params[STATUSPAGE_FILTER_COUNT] = {
    [STATUSPAGE_ALL] = "",
    [STATUSPAGE_OK] = "ok",
    [STATUSPAGE_WARNING] = "warning",
    [STATUSPAGE_CRITICAL] = "critical",
    [STATUSPAGE_UNKNOWN] = "unknown",
    [STATUSPAGE_PROBLEMS] = "problems",
};

int statuspage_filter_parse(const char *s, enum statuspage_filter *out)
{
	for (unsigned f = 0; f < STATUSPAGE_FILTER_COUNT; f++)
		if (strcmp(s, params[f]) == 0) {
			*out = (enum statuspage_filter)f;
			return 0;
		}
	return -1;
}

const char *statuspage_filter_param(enum statuspage_filter f)
{
	return (unsigned)f < STATUSPAGE_FILTER_COUNT ? params[f] : "";
}

bool statuspage_filter_passes(enum statuspage_filter f, const struct snapshot_txn *t)
{
	if (f == STATUSPAGE_ALL)
		return true;
	if (!t->have_result)
		return false;
	switch (f) {
	case STATUSPAGE_PROBLEMS:
		return t->state != RESULT_OK;
	case STATUSPAGE_OK:
		return t->state == RESULT_OK;
	case STATUSPAGE_WARNING:
		return t->state == RESULT_WARNING;
	case STATUSPAGE_CRITICAL:
		return t->state == RESULT_CRITICAL;
	case STATUSPAGE_UNKNOWN:
		return t->state == RESULT_UNKNOWN;
	case STATUSPAGE_ALL:
	case STATUSPAGE_FILTER_COUNT:
		break;
	}
	return true;
}
