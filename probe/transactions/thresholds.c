/* thresholds: per-step latency warnings (see thresholds.h). */
#include "transactions/thresholds.h"

#include <stdio.h>
#include <string.h>

static uint64_t step_threshold_ms(const struct warn_conf *w, const char *step)
{
	for (size_t i = 0; i < w->n_steps; i++)
		if (strcmp(w->steps[i].step, step) == 0)
			return w->steps[i].ms;
	return w->latency_ms;
}

void txn_apply_latency(struct txn_result *r, const struct warn_conf *w)
{
	char detail[TXN_DETAIL_LEN];
	size_t n = 0;

	detail[0] = '\0';
	for (size_t i = 0; i < r->n_steps; i++) {
		uint64_t lim = step_threshold_ms(w, r->steps[i].name);
		uint64_t ms = r->steps[i].duration_us / 1000;

		if (lim == 0 || ms <= lim || !r->steps[i].finished)
			continue;
		if (n < sizeof detail)
			n += (size_t)snprintf(detail + n, sizeof detail - n,
			                      "%s%s took %llu ms (warn above %llu ms)",
			                      n > 0 ? "; " : "", r->steps[i].name,
			                      (unsigned long long)ms, (unsigned long long)lim);
	}
	if (n == 0)
		return;
	txn_result_finding(r, TXN_STEP_SLOW, "%s", detail);
	if (r->result < RESULT_WARNING)
		r->result = RESULT_WARNING;
}
