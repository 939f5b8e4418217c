/*
 * bench_stats: clocks and summary statistics shared by the benchmarks.
 */
#ifndef CERTPROBE_BENCH_STATS_H
#define CERTPROBE_BENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/time.h>
#include <time.h>

struct bench_stats {
	double median, mean, p10, p90, min, max, sum;
};

/* clock_gettime(id) in microseconds */
double bench_clock_us(clockid_t id);
double bench_tv_us(const struct timeval *tv);
/* Statistics of the non-negative values in v (reordered in place); false when none. */
bool bench_stats(double *v, size_t n, struct bench_stats *st);

#endif
