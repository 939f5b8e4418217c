/*
 * bench_run: the in-process measuring loop of the benchmarks. Runs one transaction
 * to its end on an event loop and measures it (process CPU, loop-thread CPU, wall,
 * the probe's own latency), and prints the per-field statistics table. It knows no
 * transaction type: the benchmark passes the functions that start and free one.
 */
#ifndef CERTPROBE_BENCH_RUN_H
#define CERTPROBE_BENCH_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "transactions/transaction.h"

struct event_base;

/* Called once when the transaction ends; the result is valid during the call. */
typedef void bench_run_done_fn(const struct txn_result *result, void *arg);
/* Starts one transaction that ends with done(result, done_arg); arg is the
 * benchmark's (environment and configuration). Returns what free_txn frees. */
typedef void *bench_run_start_fn(void *arg, bench_run_done_fn *done, void *done_arg);
typedef void bench_run_free_fn(void *txn);

struct bench_run {
	struct event_base *base;
	bench_run_start_fn *start;
	bench_run_free_fn *free_txn;
	void *arg;                /* passed to start */
	bool done;                /* the last run called back */
	struct txn_result result; /* the last run's result (a copy) */
};

/* What one run cost, in microseconds; -1 when not measured. */
struct bench_sample {
	double cpu_us;    /* process CPU (all threads) */
	double thread_us; /* loop thread CPU: CLOCK_THREAD_CPUTIME_ID */
	double wall_us;   /* start to freed, CLOCK_MONOTONIC */
	double txn_us;    /* the probe's own latency (txn_result.duration_us) */
};

/* Runs one transaction from start to free and fills *s. Returns 0, or -1 when the
 * loop ended without the transaction's callback (then s->txn_us is -1). */
int bench_run_once(struct bench_run *run, struct bench_sample *s);

/* "  WHAT: CLASS (status: detail)" and one line per finding. */
void bench_run_print_result(const char *what, const struct txn_result *r);

/* The statistics table: its header, then one row (ms) per field. A row takes the
 * double at byte offset off in each of the n samples, stride bytes apart (negative
 * values are not measured), and appends " KEY_med=… KEY_mean=… KEY_p10=… KEY_p90=…"
 * (ms, prec decimals) to the NUL-terminated res of size rlen. No row when no sample
 * has the field. */
void bench_run_head(const char *what);
void bench_run_row(const void *samples, size_t n, size_t stride, size_t off, const char *label,
                   const char *key, int prec, char *res, size_t rlen);

#endif
