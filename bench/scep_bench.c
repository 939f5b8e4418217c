/*
 * scep_bench: client CPU per SCEP enrollment. The in-process mode runs one SCEP
 * transaction N times, one after another on one event loop (plus one warm-up run that
 * is not counted), and reports per enrollment the process CPU, the loop thread's CPU
 * and the wall time. --exec runs a whole-process client (micromdm scepclient, the
 * certprobe CLI) N times instead and reports each child's user+sys from wait4().
 * A benchmark, not a test: nothing here judges a timing; failed enrollments are
 * counted and make the exit status 1. See bench/README.md for the method.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <spawn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "bench_run.h"
#include "bench_stats.h"
#include "config/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/http_client.h"
#include "pki/keypool.h"
#include "pki/pki.h"
#include "transactions/txn_type.h"
#include "transactions/transaction.h"

#define BENCH_EXIT_FAILED 1
#define BENCH_EXIT_USAGE 3
#define BENCH_MAX_N 100000

extern char **environ;

/*
 * What one enrollment cost, in microseconds; -1 when not measured. With --exec,
 * run.cpu_us is the child's user+sys and thread_us is not measured; txn_us (the
 * probe's own latency) starts with the key in hand.
 */
struct scep_sample {
	struct bench_sample run;
	double keygen_cpu_us;  /* --fresh: process minus loop thread = the pool worker's keygen */
	double keygen_wall_us; /* --fresh: the worker's own wall time for the key (keygen_ms) */
};

struct bench_opts {
	const char *url;
	const char *state_dir;
	const char *challenge;
	const char *subject;
	unsigned long n;
	bool fresh;
	bool new_conn;
	bool verbose;
	/* --exec */
	bool exec;
	const char *rm_file;
	int ok_exit[4];
	size_t n_ok_exit;
	char **argv;
};

struct bench_loop {
	struct bench_run run; /* the event base, and the last result */
	struct txn_env env;
	const struct txn_conf *tc;
};

/* One table row in ms, and the same figures for the RESULT line (key=value, ms). */
static void bench_report_row(const struct scep_sample *s, size_t n, size_t off, const char *label,
                             const char *key, char *result, size_t rlen)
{
	bench_run_row(s, n, sizeof *s, off, label, key, 3, result, rlen);
}

/* ---------------------------------------------------------------- in-process */

static void *bench_start(void *arg, bench_run_done_fn *done, void *done_arg)
{
	struct bench_loop *loop = arg;

	return txn_start(&loop->env, loop->tc, done, done_arg);
}

static void bench_free(void *txn)
{
	txn_free(txn);
}

/* Run one enrollment to its end and free it; the sample covers start to free. */
static int bench_enroll(struct bench_loop *loop, struct scep_sample *s)
{
	s->keygen_cpu_us = -1;
	s->keygen_wall_us = -1;
	return bench_run_once(&loop->run, &s->run);
}

static bool bench_result_ok(const struct txn_result *r)
{
	return r->status == TXN_OK && (r->result == RESULT_OK || r->result == RESULT_WARNING);
}

static void bench_print_result(const char *what, const struct txn_result *r)
{
	bench_run_print_result(what, r);
	for (size_t i = 0; i < r->n_facts; i++)
		printf("    fact %s: %s\n", r->facts[i].key, r->facts[i].value);
}

static void bench_print_steps(const struct txn_result *r)
{
	for (size_t i = 0; i < r->n_steps; i++)
		printf("    step %-10s %8.3f ms  %s\n", r->steps[i].name,
		       (double)r->steps[i].duration_us / 1e3, r->steps[i].detail);
}

static char *bench_config_text(const struct bench_opts *o, const char *state_dir)
{
	return xasprintf("probe: {state_dir: %s}\n"
	                 "transactions:\n"
	                 "  - name: bench\n"
	                 "    type: enrollment\n"
	                 "    protocol: scep\n"
	                 "    url: %s\n"
	                 "    challenge: {value: \"%s\"}\n"
	                 "    subject: %s\n"
	                 "    key: {type: rsa, bits: 2048, reuse_runs: %s}\n",
	                 state_dir, o->url, o->challenge, o->subject, o->fresh ? "1" : "100000");
}

static int bench_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int bench_inprocess(const struct bench_opts *o)
{
	struct bench_loop loop = {0};
	struct scep_sample warm, *samples = NULL;
	struct config *cfg = NULL;
	struct http_client *http = NULL;
	struct keypool *keys = NULL;
	char tmpdir[] = "/tmp/scep_bench.XXXXXX";
	const char *state_dir = o->state_dir;
	char *text = NULL, result[1024];
	unsigned nerr = 0;
	size_t failed = 0, warnings = 0, wrong_key = 0, used;
	struct rusage ru0, ru1;
	double cpu0, cpu_total, user_total, sys_total;
	bool inited = false;
	int rc = BENCH_EXIT_USAGE;

	if (state_dir == NULL) {
		if (mkdtemp(tmpdir) == NULL) {
			log_warn_errno("mkdtemp %s", tmpdir);
			return BENCH_EXIT_USAGE;
		}
		state_dir = tmpdir;
	}
	text = bench_config_text(o, state_dir);
	cfg = config_load_buffer("scep_bench", text, strlen(text), stderr, &nerr);
	if (cfg == NULL)
		goto out;
	if (pki_init() == -1 || http_client_global_init() == -1 || evthread_use_pthreads() == -1) {
		fprintf(stderr, "scep_bench: cannot initialise OpenSSL, libcurl or libevent\n");
		goto out;
	}
	inited = true;
	loop.run = (struct bench_run){
	    .base = event_base_new(), .start = bench_start, .free_txn = bench_free, .arg = &loop};
	http = http_client_new(loop.run.base);
	/*
	 * Depth 0: the pool keeps no stock, so its worker makes exactly one key per
	 * --fresh enrollment, while that enrollment waits for it, and is idle while the
	 * enrollment runs. The loop thread's CPU is then the transaction path alone, and
	 * process minus loop thread is the key generation.
	 */
	keys = keypool_new(loop.run.base, 0);
	loop.env = (struct txn_env){
	    .base = loop.run.base, .http = http, .keys = keys, .state_dir = cfg->state_dir};
	loop.tc = cfg->txns;
	samples = xcalloc(o->n, sizeof *samples);

	printf("scep_bench: %lu enrollments, %s key, against %s (1 warm-up run not counted)\n",
	       o->n, o->fresh ? "fresh RSA-2048" : "reused RSA-2048", o->url);
	printf("  state: %s/bench\n", state_dir);
	rc = BENCH_EXIT_FAILED;
	if (bench_enroll(&loop, &warm) == -1 || !bench_result_ok(&loop.run.result)) {
		bench_print_result("warm-up run failed", &loop.run.result);
		bench_print_steps(&loop.run.result);
		goto out;
	}
	bench_print_result("warm-up run", &loop.run.result);
	bench_print_steps(&loop.run.result);

	getrusage(RUSAGE_SELF, &ru0);
	cpu0 = bench_clock_us(CLOCK_PROCESS_CPUTIME_ID);
	for (size_t i = 0; i < o->n; i++) {
		struct scep_sample *s = &samples[i];
		const char *kf, *gf;
		if (o->new_conn) {
			/* outside the timed window: only the connection set-up is counted */
			http_client_free(http);
			http = http_client_new(loop.run.base);
			loop.env.http = http;
		}
		if (bench_enroll(&loop, s) == -1 || !bench_result_ok(&loop.run.result)) {
			if (failed++ < 3)
				bench_print_result("enrollment failed", &loop.run.result);
			continue;
		}
		if (loop.run.result.result == RESULT_WARNING)
			warnings++;
		kf = txn_result_get_fact(&loop.run.result, "key");
		if (kf == NULL || strstr(kf, o->fresh ? "fresh" : "reused") == NULL)
			wrong_key++;
		gf = txn_result_get_fact(&loop.run.result, "keygen_ms");
		if (o->fresh) {
			s->keygen_cpu_us = s->run.cpu_us - s->run.thread_us;
			if (gf != NULL)
				s->keygen_wall_us = strtod(gf, NULL) * 1e3;
		}
		if (o->verbose) {
			printf(
			    "  run %zu: cpu %.3f ms, thread %.3f ms, wall %.3f ms, txn %.3f ms\n",
			    i + 1, s->run.cpu_us / 1e3, s->run.thread_us / 1e3,
			    s->run.wall_us / 1e3, s->run.txn_us / 1e3);
			bench_print_steps(&loop.run.result);
		}
	}
	cpu_total = bench_clock_us(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	getrusage(RUSAGE_SELF, &ru1);
	user_total = bench_tv_us(&ru1.ru_utime) - bench_tv_us(&ru0.ru_utime);
	sys_total = bench_tv_us(&ru1.ru_stime) - bench_tv_us(&ru0.ru_stime);

	printf("  %lu enrollments: %zu OK or WARNING (%zu WARNING), %zu failed%s\n", o->n,
	       o->n - failed, warnings, failed,
	       wrong_key > 0 ? "; some did not use the expected key kind" : "");
	bench_run_head("per enrollment, ms");
	snprintf(result, sizeof result, "RESULT mode=%s n=%lu failed=%zu warnings=%zu wrongkey=%zu",
	         o->fresh ? "fresh" : "reused", o->n, failed, warnings, wrong_key);
	bench_report_row(samples, o->n, offsetof(struct scep_sample, run.cpu_us),
	                 o->fresh ? "process CPU (incl. keygen)" : "process CPU", "cpu", result,
	                 sizeof result);
	bench_report_row(samples, o->n, offsetof(struct scep_sample, run.thread_us),
	                 "loop-thread CPU (transaction path)", "thread", result, sizeof result);
	bench_report_row(samples, o->n, offsetof(struct scep_sample, keygen_cpu_us),
	                 "keygen CPU (pool worker)", "keygen", result, sizeof result);
	bench_report_row(samples, o->n, offsetof(struct scep_sample, keygen_wall_us),
	                 "keygen wall (worker's gen_us)", "keygenwall", result, sizeof result);
	bench_report_row(samples, o->n, offsetof(struct scep_sample, run.wall_us),
	                 o->fresh ? "wall (incl. waiting for the key)" : "wall", "wall", result,
	                 sizeof result);
	bench_report_row(samples, o->n, offsetof(struct scep_sample, run.txn_us),
	                 "probe latency (txn duration)", "txn", result, sizeof result);
	printf("  process CPU over the %lu counted runs: %.3f s (user %.3f s, system %.3f s)\n",
	       o->n, cpu_total / 1e6, user_total / 1e6, sys_total / 1e6);
	used = strlen(result);
	snprintf(result + used, sizeof result - used, " user_mean=%.3f sys_mean=%.3f",
	         user_total / 1e3 / (double)o->n, sys_total / 1e3 / (double)o->n);
	puts(result);
	fflush(stdout);
	if (failed == 0 && wrong_key == 0)
		rc = 0;
out:
	free(samples);
	keypool_free(keys);
	http_client_free(http);
	if (loop.run.base != NULL)
		event_base_free(loop.run.base);
	config_free(cfg);
	if (text != NULL) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	if (inited) {
		http_client_global_cleanup();
		pki_cleanup();
	}
	if (o->state_dir == NULL && nftw(tmpdir, bench_rm_entry, 16, FTW_DEPTH | FTW_PHYS) == -1)
		log_warn_errno("cannot remove %s", tmpdir);
	return rc;
}

/* ---------------------------------------------------------------- --exec */

static bool bench_exit_ok(const struct bench_opts *o, int status)
{
	if (!WIFEXITED(status))
		return false;
	for (size_t i = 0; i < o->n_ok_exit; i++)
		if (WEXITSTATUS(status) == o->ok_exit[i])
			return true;
	return false;
}

/*
 * One child run; its own user+sys from wait4(), the system part also in *sys_us (the
 * kernel splits a total into user and system by tick samples: only sums mean much).
 * -1 when it could not be started.
 */
static int bench_exec_once(const struct bench_opts *o, struct scep_sample *s, int *status,
                           double *sys_us)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	double w0;
	pid_t pid;
	int err;

	if (o->rm_file != NULL && unlink(o->rm_file) == -1 && errno != ENOENT) {
		log_warn_errno("unlink %s", o->rm_file);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	if (!o->verbose) {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	}
	w0 = bench_clock_us(CLOCK_MONOTONIC);
	err = posix_spawnp(&pid, o->argv[0], &fa, NULL, o->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err != 0) {
		errno = err;
		log_warn_errno("cannot run %s", o->argv[0]);
		return -1;
	}
	while (wait4(pid, status, 0, &ru) == -1) {
		if (errno != EINTR) {
			log_warn_errno("wait4");
			return -1;
		}
	}
	s->run.wall_us = bench_clock_us(CLOCK_MONOTONIC) - w0;
	s->run.cpu_us = bench_tv_us(&ru.ru_utime) + bench_tv_us(&ru.ru_stime);
	s->run.thread_us = s->run.txn_us = s->keygen_cpu_us = s->keygen_wall_us = -1;
	*sys_us = bench_tv_us(&ru.ru_stime);
	return 0;
}

static int bench_exec(const struct bench_opts *o)
{
	struct scep_sample warm, *samples = xcalloc(o->n, sizeof *samples);
	char result[512];
	double sys_run = 0, sys_us = 0, cpu_total = 0;
	size_t failed = 0, used;
	int status = 0;

	printf("scep_bench --exec: %lu runs of %s (1 warm-up run not counted)\n", o->n, o->argv[0]);
	if (bench_exec_once(o, &warm, &status, &sys_run) == -1 || !bench_exit_ok(o, status) ||
	    (o->rm_file != NULL && access(o->rm_file, F_OK) == -1)) {
		printf("  warm-up run failed (wait status 0x%x); run it by hand with -v\n",
		       (unsigned)status);
		free(samples);
		return BENCH_EXIT_FAILED;
	}
	for (size_t i = 0; i < o->n; i++) {
		struct scep_sample *s = &samples[i];
		if (bench_exec_once(o, s, &status, &sys_run) == -1 || !bench_exit_ok(o, status) ||
		    (o->rm_file != NULL && access(o->rm_file, F_OK) == -1)) {
			failed++;
			s->run.cpu_us = s->run.thread_us = s->run.wall_us = -1;
			continue;
		}
		cpu_total += s->run.cpu_us;
		sys_us += sys_run;
		if (o->verbose)
			printf("  run %zu: cpu %.3f ms, wall %.3f ms\n", i + 1, s->run.cpu_us / 1e3,
			       s->run.wall_us / 1e3);
	}
	printf("  %lu runs: %zu failed\n", o->n, failed);
	bench_run_head("per enrollment, ms");
	snprintf(result, sizeof result, "RESULT mode=exec n=%lu failed=%zu", o->n, failed);
	bench_report_row(samples, o->n, offsetof(struct scep_sample, run.cpu_us),
	                 "child user+sys CPU", "cpu", result, sizeof result);
	bench_report_row(samples, o->n, offsetof(struct scep_sample, run.wall_us), "wall", "wall",
	                 result, sizeof result);
	printf("  children's CPU over the %zu good runs: %.3f s (user %.3f s, system %.3f s)\n",
	       o->n - failed, cpu_total / 1e6, (cpu_total - sys_us) / 1e6, sys_us / 1e6);
	used = strlen(result);
	if (failed < o->n)
		snprintf(result + used, sizeof result - used, " user_mean=%.3f sys_mean=%.3f",
		         (cpu_total - sys_us) / 1e3 / (double)(o->n - failed),
		         sys_us / 1e3 / (double)(o->n - failed));
	puts(result);
	fflush(stdout);
	free(samples);
	return failed == 0 ? 0 : BENCH_EXIT_FAILED;
}

/* ---------------------------------------------------------------- main */

static void bench_usage(FILE *out)
{
	fputs("Usage: scep_bench -u URL [-n N] [--fresh] [-s STATEDIR] [-c CHALLENGE]\n"
	      "                  [--new-connection] [-v]\n"
	      "       scep_bench --exec [-n N] [--rm FILE] [--ok-exit 0,1] [-v] -- CMD [ARG...]\n"
	      "\n"
	      "In process: N SCEP enrollments one after another on one event loop, after one\n"
	      "warm-up run. Default: the transaction reuses its RSA-2048 key (made once, kept\n"
	      "in STATEDIR); --fresh: a new key from the key pool's worker thread every run,\n"
	      "its CPU reported apart. STATEDIR defaults to a temporary directory, removed.\n"
	      "--new-connection: a new HTTP client (so a new TCP connection) per enrollment,\n"
	      "made outside the timed window. -v: every run with its steps.\n"
	      "--exec: run CMD N times (+1 warm-up), each child's user+sys CPU from wait4();\n"
	      "--rm FILE is deleted before each run and must exist after it.\n"
	      "Prints a table (ms) and one 'RESULT key=value ...' line. Exit 0, 1 when any\n"
	      "enrollment failed, 3 on usage errors.\n",
	      out);
}

static int bench_parse_ok_exit(struct bench_opts *o, const char *s)
{
	char *end;

	o->n_ok_exit = 0;
	for (;;) {
		unsigned long v;
		errno = 0;
		v = strtoul(s, &end, 10);
		if (end == s || errno != 0 || v > 255 || o->n_ok_exit == 4)
			return -1;
		o->ok_exit[o->n_ok_exit++] = (int)v;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"n", required_argument, NULL, 'n'},
	    {"fresh", no_argument, NULL, 'f'},
	    {"state-dir", required_argument, NULL, 's'},
	    {"challenge", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"exec", no_argument, NULL, 'x'},
	    {"rm", required_argument, NULL, 'r'},
	    {"ok-exit", required_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {"new-connection", no_argument, NULL, 'N'},
	    {NULL, 0, NULL, 0},
	};
	struct bench_opts o = {.n = 100,
	                       .challenge = "secret",
	                       .subject = "CN=certprobe-bench,O=Example",
	                       .n_ok_exit = 1};
	char *end;
	int ch;

	log_init("scep_bench", LOG_LEVEL_WARN);
	while ((ch = getopt_long(argc, argv, "+u:n:fs:c:vxr:k:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			o.url = optarg;
			break;
		case 'n':
			errno = 0;
			o.n = strtoul(optarg, &end, 10);
			if (end == optarg || *end != '\0' || errno != 0 || o.n == 0 ||
			    o.n > BENCH_MAX_N) {
				fprintf(stderr, "scep_bench: -n wants 1..%d\n", BENCH_MAX_N);
				return BENCH_EXIT_USAGE;
			}
			break;
		case 'f':
			o.fresh = true;
			break;
		case 's':
			o.state_dir = optarg;
			break;
		case 'c':
			o.challenge = optarg;
			break;
		case 'N':
			o.new_conn = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'x':
			o.exec = true;
			break;
		case 'r':
			o.rm_file = optarg;
			break;
		case 'k':
			if (bench_parse_ok_exit(&o, optarg) == -1) {
				fprintf(stderr, "scep_bench: --ok-exit wants a list like 0,1\n");
				return BENCH_EXIT_USAGE;
			}
			break;
		case 'h':
			bench_usage(stdout);
			return 0;
		default:
			bench_usage(stderr);
			return BENCH_EXIT_USAGE;
		}
	}
	if (o.exec) {
		if (optind >= argc) {
			fprintf(stderr, "scep_bench: --exec wants a command after --\n");
			return BENCH_EXIT_USAGE;
		}
		o.argv = argv + optind;
		return bench_exec(&o);
	}
	if (o.url == NULL || optind != argc) {
		bench_usage(stderr);
		return BENCH_EXIT_USAGE;
	}
	if (o.state_dir != NULL && o.state_dir[0] != '/') {
		fprintf(stderr, "scep_bench: -s wants an absolute path\n");
		return BENCH_EXIT_USAGE;
	}
	if (strpbrk(o.challenge, "\"\\\n") != NULL || strpbrk(o.url, " \n") != NULL) {
		fprintf(stderr, "scep_bench: the challenge or URL cannot go into YAML as given\n");
		return BENCH_EXIT_USAGE;
	}
	return bench_inprocess(&o);
}
