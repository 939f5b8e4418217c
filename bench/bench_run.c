/* bench_run: see bench_run.h. */
#include "bench_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "bench_stats.h"
#include "core/xalloc.h"

static void bench_run_done(const struct txn_result *r, void *arg)
{
	struct bench_run *run = arg;

	run->result = *r;
	run->done = true;
	event_base_loopbreak(run->base);
}

int bench_run_once(struct bench_run *run, struct bench_sample *s)
{
	void *txn;
	double w0, t0, c0;
	int rc = 0;

	run->done = false;
	w0 = bench_clock_us(CLOCK_MONOTONIC);
	t0 = bench_clock_us(CLOCK_THREAD_CPUTIME_ID);
	c0 = bench_clock_us(CLOCK_PROCESS_CPUTIME_ID);
	txn = run->start(run->arg, bench_run_done, run);
	while (!run->done) {
		/* a persistent event (the key pool's) keeps dispatch going until loopbreak */
		if (event_base_dispatch(run->base) != 0 && !run->done) {
			rc = -1;
			break;
		}
	}
	run->free_txn(txn);
	s->cpu_us = bench_clock_us(CLOCK_PROCESS_CPUTIME_ID) - c0;
	s->thread_us = bench_clock_us(CLOCK_THREAD_CPUTIME_ID) - t0;
	s->wall_us = bench_clock_us(CLOCK_MONOTONIC) - w0;
	s->txn_us = rc == 0 ? (double)run->result.duration_us : -1;
	return rc;
}

void bench_run_print_result(const char *what, const struct txn_result *r)
{
	printf("  %s: %s", what, result_class_name(r->result));
	if (r->status != TXN_OK)
		printf(" (%s: %s)", txn_status_code(r->status), r->status_detail);
	putchar('\n');
	for (size_t i = 0; i < r->n_findings; i++)
		printf("    finding %s: %s\n", txn_status_code(r->findings[i].status),
		       r->findings[i].detail);
}

void bench_run_head(const char *what)
{
	printf("  %-34s %8s %8s %8s %8s %8s %8s\n", what, "median", "mean", "p10", "p90", "min",
	       "max");
}

void bench_run_row(const void *samples, size_t n, size_t stride, size_t off, const char *label,
                   const char *key, int prec, char *res, size_t rlen)
{
	double *v = xcalloc(n > 0 ? n : 1, sizeof *v);
	struct bench_stats st;
	size_t used = strlen(res);

	for (size_t i = 0; i < n; i++)
		memcpy(&v[i], (const char *)samples + i * stride + off, sizeof v[i]);
	if (bench_stats(v, n, &st)) {
		printf("  %-34s %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f\n", label, st.median / 1e3,
		       st.mean / 1e3, st.p10 / 1e3, st.p90 / 1e3, st.min / 1e3, st.max / 1e3);
		if (used < rlen)
			snprintf(res + used, rlen - used,
			         " %s_med=%.*f %s_mean=%.*f %s_p10=%.*f %s_p90=%.*f", key, prec,
			         st.median / 1e3, key, prec, st.mean / 1e3, key, prec, st.p10 / 1e3,
			         key, prec, st.p90 / 1e3);
	}
	free(v);
}
