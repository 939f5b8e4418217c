/*
 * statuspage_bench: what the status page costs (issue 16). Builds a snapshot of N
 * transactions (a tenth failing, each with a full history ring and a cached state-file
 * record), then measures, R times each:
 *   loop    the part on the event loop: the snapshot copy with the history rings
 *           (routes_snapshot(d, SNAPSHOT_COPY_HISTORY)), what a page request pays there;
 *   render  the part on the worker: "/" rendered, the failed transactions' step traces
 *           parsed from their records as page.c does (at most 200);
 * and prints the history's memory (heap bytes the N rings take, mallinfo2) and the bytes
 * the rings add to the state file. Figures only: nothing is judged here.
 *   statuspage_bench [-n N] [-r R] [-H CAP]
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_stats.h"
#include "core/bbuf.h"
#include "core/xalloc.h"
#include "exporters/snapshot.h"
#include "exporters/statefile.h"
#include "exporters/statuspage/statuspage.h"
#include "health/history.h"

#define MAX_TRACES 200 /* as page.c */

struct bench {
	size_t n;
	struct snapshot s;
	struct snapshot_txn *rows;
	struct snapshot_endpoint *eps;
	struct history **hist;
	char **records; /* the failed ones' */
	char (*names)[32];
	struct sf_state *parsed;
};

static const struct txn_result *last_of(void *arg, size_t i)
{
	struct bench *b = arg;
	struct bbuf doc;
	char err[256];

	statefile_state_free(b->parsed);
	b->parsed = NULL;
	if (b->records[i] == NULL)
		return NULL;
	bbuf_init(&doc, SIZE_MAX);
	bbuf_appendf(&doc, "{\"version\":1,\"transactions\":[%s],\"endpoints\":[],\"alerts\":[]}",
	             b->records[i]);
	b->parsed = statefile_parse("bench", (const char *)doc.data, doc.len, err, sizeof err);
	bbuf_free(&doc);
	return b->parsed != NULL && b->parsed->n_txns == 1 ? &b->parsed->txns[0].last : NULL;
}

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void build(struct bench *b, size_t n, size_t cap, size_t *hist_bytes, size_t *file_bytes)
{
	size_t before, n_eps = n / 10 + 1, traces = 0;
	struct txn_result r;

	memset(b, 0, sizeof *b);
	b->n = n;
	b->rows = xcalloc(n, sizeof *b->rows);
	b->eps = xcalloc(n_eps, sizeof *b->eps);
	b->hist = xcalloc(n, sizeof *b->hist);
	b->records = xcalloc(n, sizeof *b->records);
	b->names = xcalloc(n + n_eps, sizeof *b->names);
	before = heap_used();
	for (size_t i = 0; i < n; i++)
		b->hist[i] = history_new(cap);
	for (size_t i = 0; i < n; i++) {
		bool bad = i % 10 == 3;
		txn_result_init(&r, "t", "sips:registrar.example.test", "client-auth",
		                "sip-register");
		r.started = 1780000000;
		for (const char *st = "connect"; st != NULL;
		     st = strcmp(st, "connect") == 0         ? "tls_handshake"
		          : strcmp(st, "tls_handshake") == 0 ? "register"
		                                             : NULL) {
			size_t k = txn_step_begin(&r, st);
			txn_step_end(
			    &r, k,
			    bad && strcmp(st, "register") == 0 ? TXN_REGISTRAR_AUTH_REJECTED
			                                       : TXN_OK,
			    "%s", bad && strcmp(st, "register") == 0 ? "SIP 403 Forbidden" : "");
			r.steps[k].duration_us = 1000 + 37 * i % 900;
		}
		if (bad)
			txn_result_fail(&r, TXN_REGISTRAR_AUTH_REJECTED, "SIP 403 Forbidden");
		txn_result_finish(&r);
		r.duration_us = 3000 + 53 * i % 5000;
		for (size_t k = 0; k < cap; k++) {
			struct history_entry e;
			history_entry_from_result(&e, &r, 1780000000 + 30 * (int64_t)k,
			                          bad ? 403 : 200);
			e.duration_us += 97 * k % 2000;
			history_add(b->hist[i], &e);
		}
		snprintf(b->names[i], sizeof b->names[i], "txn-%05zu", i);
		b->rows[i] = (struct snapshot_txn){
		    .name = b->names[i],
		    .type = "client-auth",
		    .protocol = "sip-register",
		    .endpoint = b->names[n + i % n_eps],
		    .have_result = true,
		    .status = bad ? TXN_REGISTRAR_AUTH_REJECTED : TXN_OK,
		    .reason = bad ? TXN_REGISTRAR_AUTH_REJECTED : TXN_OK,
		    .result = bad ? RESULT_CRITICAL : RESULT_OK,
		    .state = bad ? RESULT_CRITICAL : RESULT_OK,
		    .hard = true,
		    .detail = bad ? "SIP 403 Forbidden" : NULL,
		    .duration_us = r.duration_us,
		    .last_run = 1780000000 + 30 * (int64_t)cap,
		    .last_success = 1780000000,
		    .history = b->hist[i],
		};
		b->rows[i].runs[b->rows[i].result] = cap;
		b->rows[i].certs[CERT_ROLE_CLIENT].present = true;
		b->rows[i].certs[CERT_ROLE_CLIENT].not_after =
		    1780000000 + 86400 * (int64_t)(i % 400);
		if (bad && traces++ < MAX_TRACES) {
			struct sf_txn v = {.name = b->names[i],
			                   .type = "client-auth",
			                   .endpoint = b->rows[i].endpoint,
			                   .endpoint_kind = "registrar",
			                   .have_last = true,
			                   .last = r};
			health_init(&v.health);
			b->records[i] = statefile_txn_json(&v);
		}
	}
	*hist_bytes = heap_used() - before;
	{
		struct sf_txn v = {.name = "x",
		                   .type = "client-auth",
		                   .endpoint = "e",
		                   .endpoint_kind = "registrar",
		                   .have_last = true,
		                   .last = r};
		char *without, *with;
		health_init(&v.health);
		without = statefile_txn_json(&v);
		v.history = b->hist[0];
		with = statefile_txn_json(&v);
		*file_bytes = strlen(with) - strlen(without);
		free(without);
		free(with);
	}
	for (size_t i = 0; i < n_eps; i++) {
		snprintf(b->names[n + i], sizeof b->names[n + i], "registrar-%zu.example.test:5061",
		         i);
		b->eps[i] = (struct snapshot_endpoint){.name = b->names[n + i],
		                                       .kind = ENDPOINT_KIND_REGISTRAR,
		                                       .state = RESULT_CRITICAL,
		                                       .since = 1780000000,
		                                       .members = 10,
		                                       .failing = 1};
	}
	b->s.txns = b->rows;
	b->s.n_txns = n;
	b->s.endpoints = b->eps;
	b->s.n_endpoints = n_eps;
	b->s.self.version = CERTPROBE_VERSION;
}

int main(int argc, char **argv)
{
	size_t n = 1000, reps = 20, cap = 20, hist_bytes, file_bytes, out_bytes = 0;
	double *loop_ms, *render_ms, *plain_ms;
	struct bench_stats ls, rs, ps;
	struct bench b;
	int c;

	while ((c = getopt(argc, argv, "n:r:H:")) != -1) {
		switch (c) {
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			reps = strtoul(optarg, NULL, 10);
			break;
		case 'H':
			cap = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: statuspage_bench [-n N] [-r R] [-H CAP]\n");
			return 2;
		}
	}
	if (n == 0 || reps == 0 || cap == 0 || cap > HISTORY_MAX_CAPACITY) {
		fprintf(stderr, "statuspage_bench: N, R and CAP (1..%d) must be positive\n",
		        HISTORY_MAX_CAPACITY);
		return 2;
	}
	build(&b, n, cap, &hist_bytes, &file_bytes);
	loop_ms = xcalloc(reps, sizeof *loop_ms);
	render_ms = xcalloc(reps, sizeof *render_ms);
	plain_ms = xcalloc(reps, sizeof *plain_ms);
	for (size_t k = 0; k < reps; k++) {
		const char *sinks[] = {"log", "alertmanager"};
		double t0 = bench_clock_us(CLOCK_MONOTONIC), t1, t2;
		struct snapshot *copy = snapshot_copy_flags(&b.s, SNAPSHOT_COPY_HISTORY);
		struct statuspage_view v = {.snap = copy,
		                            .sinks = sinks,
		                            .n_sinks = 2,
		                            .last = last_of,
		                            .last_arg = &b,
		                            .now = 1780000000 + 30 * (int64_t)cap + 5,
		                            .refresh_s = 30};
		struct bbuf out;
		t1 = bench_clock_us(CLOCK_MONOTONIC);
		bbuf_init(&out, 256 * 1024 * 1024);
		if (statuspage_render_index(&out, &v) == -1) {
			fprintf(stderr, "statuspage_bench: page too large\n");
			return 1;
		}
		statefile_state_free(b.parsed);
		b.parsed = NULL;
		t2 = bench_clock_us(CLOCK_MONOTONIC);
		out_bytes = out.len;
		bbuf_free(&out);
		snapshot_unref(copy);
		loop_ms[k] = (t1 - t0) / 1000.0;
		render_ms[k] = (t2 - t1) / 1000.0;
		/* the same copy without the rings (what a /metrics snapshot costs), for scale */
		t0 = bench_clock_us(CLOCK_MONOTONIC);
		copy = snapshot_copy(&b.s);
		plain_ms[k] = (bench_clock_us(CLOCK_MONOTONIC) - t0) / 1000.0;
		snapshot_unref(copy);
	}
	bench_stats(loop_ms, reps, &ls);
	bench_stats(render_ms, reps, &rs);
	bench_stats(plain_ms, reps, &ps);
	printf("statuspage n=%zu history=%zu reps=%zu\n", n, cap, reps);
	printf("  loop (snapshot copy with history)  median %.2f ms  p90 %.2f ms  max %.2f ms\n",
	       ls.median, ls.p90, ls.max);
	printf("  (the copy without history          median %.2f ms  p90 %.2f ms)\n", ps.median,
	       ps.p90);
	printf("  render \"/\" on the worker          median %.2f ms  p90 %.2f ms  max %.2f ms  "
	       "(%zu bytes)\n",
	       rs.median, rs.p90, rs.max, out_bytes);
	printf("  history memory  %zu bytes (%.1f MiB, %zu per transaction; %zu-byte entries)\n",
	       hist_bytes, (double)hist_bytes / (1024.0 * 1024.0), hist_bytes / n,
	       sizeof(struct history_entry));
	printf("  state file      +%zu bytes per transaction for its ring (+%.1f MiB at n=%zu)\n",
	       file_bytes, (double)file_bytes * (double)n / (1024.0 * 1024.0), n);
	for (size_t i = 0; i < n; i++) {
		history_free(b.hist[i]);
		free(b.records[i]);
	}
	free(b.hist);
	free(b.records);
	free(b.rows);
	free(b.eps);
	free(b.names);
	free(loop_ms);
	free(render_ms);
	free(plain_ms);
	return 0;
}
