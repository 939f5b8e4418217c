/* bench_stats: see bench_stats.h. */
#define _POSIX_C_SOURCE 200809L
#include "bench_stats.h"

#include <stdlib.h>
#include <string.h>

double bench_clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

double bench_tv_us(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e6 + (double)tv->tv_usec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Percentile p of sorted v[0..n), interpolated between the closest ranks. */
static double percentile(const double *v, size_t n, double p)
{
	double pos = p * (double)(n - 1);
	size_t i = (size_t)pos;

	return i + 1 >= n ? v[n - 1] : v[i] + (v[i + 1] - v[i]) * (pos - (double)i);
}

bool bench_stats(double *v, size_t n, struct bench_stats *st)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i] >= 0)
			v[m++] = v[i];
	memset(st, 0, sizeof *st);
	if (m == 0)
		return false;
	qsort(v, m, sizeof *v, cmp_double);
	for (size_t i = 0; i < m; i++)
		st->sum += v[i];
	st->mean = st->sum / (double)m;
	st->median = percentile(v, m, 0.5);
	st->p10 = percentile(v, m, 0.1);
	st->p90 = percentile(v, m, 0.9);
	st->min = v[0];
	st->max = v[m - 1];
	return true;
}
