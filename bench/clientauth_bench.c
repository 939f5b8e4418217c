/*
 * clientauth_bench: client CPU per client-auth transaction (new TCP connection, full
 * mutual-TLS handshake, REGISTER/200, un-REGISTER/200, close_notify). The in-process
 * mode runs one client-auth transaction N times, one after another on one event loop
 * (plus one warm-up run that is not counted, which also loads the TLS context), and
 * reports per transaction the process CPU, the loop thread's CPU and the wall time.
 * --s-time runs a whole-process TLS client such as `openssl s_time -new` and divides
 * the child's user+sys from wait4() by the number of connections it reports: the
 * library's floor for the same handshake. A benchmark, not a test: nothing here judges
 * a timing; failed transactions are counted and make the exit status 1.
 * See bench/README.md for the method.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
#include "net/dns.h"
#include "net/tls_conn.h"
#include "pki/pki.h"
#include "transactions/txn_type.h"
#include "transactions/transaction.h"

#define CAB_EXIT_FAILED 1
#define CAB_EXIT_USAGE 3
#define CAB_MAX_N 100000
#define CAB_MAX_OUTPUT (256 * 1024)

extern char **environ;

struct cab_opts {
	unsigned long n;
	const char *registrar; /* HOST:PORT */
	const char *uri;
	const char *trust, *cert, *key;
	bool options;
	bool tls_dsk;       /* auth: tls-dsk (a Lync-style registrar) instead of mutual TLS */
	const char *expect; /* a status code that counts as the intended ending */
	const char *raw;    /* append "cpu thread wall txn" (us) per counted transaction */
	bool verbose;
	bool s_time;
	char **argv;
};

struct cab_loop {
	struct bench_run run; /* the event base, and the last result */
	struct txn_env env;
	const struct txn_conf *tc;
};

/* One table row (ms) for the field at offset off, and its key=value figures in res. */
static void cab_row(const struct bench_sample *s, size_t n, size_t off, const char *label,
                    const char *key, char *res, size_t rlen)
{
	bench_run_row(s, n, sizeof *s, off, label, key, 4, res, rlen);
}

/* ---------------------------------------------------------------- in process */

static void *cab_start(void *arg, bench_run_done_fn *done, void *done_arg)
{
	struct cab_loop *loop = arg;

	return txn_start(&loop->env, loop->tc, done, done_arg);
}

static void cab_free(void *txn)
{
	txn_free(txn);
}

static const struct txn_step_record *cab_step(const struct txn_result *r, const char *name)
{
	for (size_t i = 0; i < r->n_steps; i++)
		if (strcmp(r->steps[i].name, name) == 0)
			return &r->steps[i];
	return NULL;
}

/*
 * The intended ending: with --expect, exactly that status; otherwise TXN_OK with no
 * finding (a finding here would be an un-REGISTER that failed: a binding left behind)
 * and, for REGISTER, an un-REGISTER step that ended OK.
 */
static bool cab_result_ok(const struct cab_opts *o, const struct txn_result *r)
{
	const struct txn_step_record *un;

	if (o->expect != NULL)
		return strcmp(txn_status_code(r->status), o->expect) == 0;
	if (r->status != TXN_OK || r->result != RESULT_OK || r->n_findings > 0)
		return false;
	if (o->options)
		return true;
	un = cab_step(r, "unregister");
	return un != NULL && un->finished && un->status == TXN_OK;
}

static void cab_print_result(const char *what, const struct txn_result *r)
{
	bench_run_print_result(what, r);
	for (size_t i = 0; i < r->n_steps; i++)
		printf("    step %-14s %8.3f ms  %s\n", r->steps[i].name,
		       (double)r->steps[i].duration_us / 1e3, r->steps[i].detail);
}

/* YAML for one client-auth transaction; NULL when a value cannot be quoted as given. */
static char *cab_config_text(const struct cab_opts *o, const char *state_dir)
{
	const char *vals[] = {state_dir, o->registrar, o->uri, o->trust, o->cert, o->key};
	const char *colon = strrchr(o->registrar, ':');
	char *end;
	unsigned long port;

	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
		if (strpbrk(vals[i], "\"\\\n\r") != NULL)
			return NULL;
	if (colon == NULL || colon == o->registrar)
		return NULL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port == 0 || port > 65535)
		return NULL;
	return xasprintf("probe: {state_dir: \"%s\"}\n"
	                 "transactions:\n"
	                 "  - name: bench\n"
	                 "    type: client-auth\n"
	                 "    auth: %s\n"
	                 "    registrar: {host: \"%.*s\", port: %lu}\n"
	                 "    sip_uri: \"%s\"\n"
	                 "    trust_store: \"%s\"\n"
	                 "    certificate: {cert: \"%s\", key: \"%s\"}\n"
	                 "    method: %s\n"
	                 "    timeout: 10s\n",
	                 state_dir, o->tls_dsk ? "tls-dsk" : "mtls", (int)(colon - o->registrar),
	                 o->registrar, port, o->uri, o->trust, o->cert, o->key,
	                 o->options ? "options" : "register");
}

static int cab_inprocess(const struct cab_opts *o)
{
	struct cab_loop loop = {0};
	struct bench_sample warm, *samples = NULL;
	struct config *cfg = NULL;
	struct dns *dns = NULL;
	struct tls_ctx_cache *tls = NULL;
	char state_dir[] = "/tmp/clientauth_bench.XXXXXX";
	char *text = NULL, res[1024];
	FILE *raw = NULL;
	unsigned nerr = 0;
	size_t failed = 0, used;
	struct rusage ru0, ru1;
	double cpu0, cpu_total, user_total, sys_total;
	bool inited = false, have_dir = false;
	int rc = CAB_EXIT_USAGE;

	if (mkdtemp(state_dir) == NULL) {
		log_warn_errno("mkdtemp %s", state_dir);
		return CAB_EXIT_USAGE;
	}
	have_dir = true;
	text = cab_config_text(o, state_dir);
	if (text == NULL) {
		fprintf(stderr, "clientauth_bench: bad -r HOST:PORT, or a value with a quote, "
		                "backslash or line break\n");
		goto out;
	}
	cfg = config_load_buffer("clientauth_bench", text, strlen(text), stderr, &nerr);
	if (cfg == NULL)
		goto out;
	if (o->raw != NULL && (raw = fopen(o->raw, "a")) == NULL) {
		log_warn_errno("cannot open %s", o->raw);
		goto out;
	}
	/* as probe/cli.c does (no libcurl: client-auth does not use it) */
	if (pki_init() == -1 || dns_global_init() == -1 || evthread_use_pthreads() == -1) {
		fprintf(stderr,
		        "clientauth_bench: cannot initialise OpenSSL, c-ares or libevent\n");
		goto out;
	}
	inited = true;
	loop.run = (struct bench_run){
	    .base = event_base_new(), .start = cab_start, .free_txn = cab_free, .arg = &loop};
	dns = dns_new(loop.run.base);
	tls = tls_ctx_cache_new(NULL);
	loop.env = (struct txn_env){
	    .base = loop.run.base, .dns = dns, .tls = tls, .state_dir = cfg->state_dir};
	loop.tc = cfg->txns;
	samples = xcalloc(o->n, sizeof *samples);

	printf("clientauth_bench: %lu %s transactions as %s against %s (1 warm-up run not "
	       "counted)\n",
	       o->n, o->options ? "OPTIONS" : "REGISTER + un-REGISTER", o->uri, o->registrar);
	rc = CAB_EXIT_FAILED;
	if (bench_run_once(&loop.run, &warm) == -1 || !cab_result_ok(o, &loop.run.result)) {
		cab_print_result("warm-up run failed", &loop.run.result);
		goto out;
	}
	cab_print_result("warm-up run (loads the TLS context)", &loop.run.result);
	printf("    warm-up: cpu %.3f ms, wall %.3f ms\n", warm.cpu_us / 1e3, warm.wall_us / 1e3);

	getrusage(RUSAGE_SELF, &ru0);
	cpu0 = bench_clock_us(CLOCK_PROCESS_CPUTIME_ID);
	for (size_t i = 0; i < o->n; i++) {
		struct bench_sample *s = &samples[i];
		if (bench_run_once(&loop.run, s) == -1 || !cab_result_ok(o, &loop.run.result)) {
			if (failed++ < 3)
				cab_print_result("transaction failed", &loop.run.result);
			s->cpu_us = s->thread_us = s->wall_us = s->txn_us = -1;
			continue;
		}
		if (raw != NULL)
			fprintf(raw, "%.1f %.1f %.1f %.1f\n", s->cpu_us, s->thread_us, s->wall_us,
			        s->txn_us);
		if (o->verbose) {
			printf(
			    "  run %zu: cpu %.3f ms, thread %.3f ms, wall %.3f ms, txn %.3f ms\n",
			    i + 1, s->cpu_us / 1e3, s->thread_us / 1e3, s->wall_us / 1e3,
			    s->txn_us / 1e3);
			cab_print_result("result", &loop.run.result);
		}
	}
	cpu_total = bench_clock_us(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	getrusage(RUSAGE_SELF, &ru1);
	user_total = bench_tv_us(&ru1.ru_utime) - bench_tv_us(&ru0.ru_utime);
	sys_total = bench_tv_us(&ru1.ru_stime) - bench_tv_us(&ru0.ru_stime);

	printf("  %lu transactions: %zu as intended, %zu failed\n", o->n, o->n - failed, failed);
	bench_run_head("per transaction, ms");
	snprintf(res, sizeof res, "RESULT mode=%s n=%lu failed=%zu",
	         o->options ? "options" : "register", o->n, failed);
	cab_row(samples, o->n, offsetof(struct bench_sample, cpu_us), "process CPU", "cpu", res,
	        sizeof res);
	cab_row(samples, o->n, offsetof(struct bench_sample, thread_us), "loop-thread CPU",
	        "thread", res, sizeof res);
	cab_row(samples, o->n, offsetof(struct bench_sample, wall_us), "wall", "wall", res,
	        sizeof res);
	cab_row(samples, o->n, offsetof(struct bench_sample, txn_us),
	        "probe latency (txn duration)", "txn", res, sizeof res);
	printf("  process CPU over the %lu counted runs: %.3f s (user %.3f s, system %.3f s)\n",
	       o->n, cpu_total / 1e6, user_total / 1e6, sys_total / 1e6);
	used = strlen(res);
	snprintf(res + used, sizeof res - used, " user_mean=%.4f sys_mean=%.4f",
	         user_total / 1e3 / (double)o->n, sys_total / 1e3 / (double)o->n);
	puts(res);
	rc = failed == 0 ? 0 : CAB_EXIT_FAILED;
out:
	fflush(stdout);
	if (raw != NULL)
		fclose(raw);
	free(samples);
	tls_ctx_cache_free(tls);
	dns_free(dns);
	if (loop.run.base != NULL)
		event_base_free(loop.run.base);
	config_free(cfg);
	free(text);
	if (inited) {
		dns_global_cleanup();
		pki_cleanup();
	}
	if (have_dir && rmdir(state_dir) == -1)
		log_warn_errno("cannot remove %s", state_dir);
	return rc;
}

/* ---------------------------------------------------------------- --s-time */

/* "<count> connections in" as s_time prints it; 0 when absent. */
static unsigned long cab_connections(const char *out)
{
	const char *p = strstr(out, " connections in ");
	const char *q = p;

	if (p == NULL)
		return 0;
	while (q > out && q[-1] >= '0' && q[-1] <= '9')
		q--;
	return q == p ? 0 : strtoul(q, NULL, 10);
}

/*
 * Run the command once with its stdout on a pipe (shown, indented, and searched for the
 * connection count); its user+sys CPU comes from wait4(). -1 when it could not run.
 */
static int cab_spawn(const struct cab_opts *o, double *cpu_us, double *sys_us, double *wall_us,
                     unsigned long *conns, int *status)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	char *out = xcalloc(1, CAB_MAX_OUTPUT + 1);
	size_t len = 0;
	int fds[2], err;
	double w0;
	pid_t pid;

	if (pipe(fds) == -1) {
		log_warn_errno("pipe");
		free(out);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	if (!o->verbose)
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	w0 = bench_clock_us(CLOCK_MONOTONIC);
	err = posix_spawnp(&pid, o->argv[0], &fa, NULL, o->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (err != 0) {
		errno = err;
		log_warn_errno("cannot run %s", o->argv[0]);
		close(fds[0]);
		free(out);
		return -1;
	}
	for (;;) {
		char buf[4096];
		ssize_t r = read(fds[0], buf, sizeof buf);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (len < CAB_MAX_OUTPUT) {
			size_t k =
			    (size_t)r < CAB_MAX_OUTPUT - len ? (size_t)r : CAB_MAX_OUTPUT - len;
			memcpy(out + len, buf, k);
			len += k;
		}
	}
	close(fds[0]);
	while (wait4(pid, status, 0, &ru) == -1) {
		if (errno != EINTR) {
			log_warn_errno("wait4");
			free(out);
			return -1;
		}
	}
	*wall_us = bench_clock_us(CLOCK_MONOTONIC) - w0;
	*cpu_us = bench_tv_us(&ru.ru_utime) + bench_tv_us(&ru.ru_stime);
	*sys_us = bench_tv_us(&ru.ru_stime);
	out[len] = '\0';
	*conns = cab_connections(out);
	/* the summary lines, without s_time's one-asterisk-per-connection progress line */
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		if (line[strspn(line, "*")] != '\0')
			printf("    | %s\n", line);
	free(out);
	return 0;
}

static int cab_s_time(const struct cab_opts *o)
{
	/* per connection: the child's user+sys and wall over its connections */
	struct bench_sample *runs = xcalloc(o->n, sizeof *runs);
	double cpu_all = 0, sys_all = 0, wall_all = 0;
	unsigned long conns_all = 0;
	size_t failed = 0, used;
	char res[512];

	printf("clientauth_bench --s-time: %lu run%s of %s; CPU per connection = the child's "
	       "user+sys / its connections\n",
	       o->n, o->n == 1 ? "" : "s", o->argv[0]);
	for (size_t i = 0; i < o->n; i++) {
		double cpu, sys, wall;
		unsigned long conns = 0;
		int status = 0;

		runs[i].cpu_us = runs[i].wall_us = runs[i].thread_us = runs[i].txn_us = -1;
		if (cab_spawn(o, &cpu, &sys, &wall, &conns, &status) == -1 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0 || conns == 0) {
			printf("  run %zu failed (wait status 0x%x, %lu connections)\n", i + 1,
			       (unsigned)status, conns);
			failed++;
			continue;
		}
		runs[i].cpu_us = cpu / (double)conns;
		runs[i].wall_us = wall / (double)conns;
		cpu_all += cpu;
		sys_all += sys;
		wall_all += wall;
		conns_all += conns;
		printf("  run %zu: %lu connections, child CPU %.3f s (system %.3f s), wall %.3f s: "
		       "%.4f ms CPU per connection\n",
		       i + 1, conns, cpu / 1e6, sys / 1e6, wall / 1e6, runs[i].cpu_us / 1e3);
	}
	bench_run_head("per connection (run means), ms");
	snprintf(res, sizeof res, "RESULT mode=stime runs=%lu failed=%zu conns=%lu", o->n, failed,
	         conns_all);
	cab_row(runs, o->n, offsetof(struct bench_sample, cpu_us), "child user+sys CPU", "runcpu",
	        res, sizeof res);
	cab_row(runs, o->n, offsetof(struct bench_sample, wall_us), "child wall", "runwall", res,
	        sizeof res);
	used = strlen(res);
	if (conns_all > 0) {
		double n = (double)conns_all;
		printf("  all runs: %lu connections, %.4f ms CPU each (user %.4f, system %.4f), "
		       "%.4f ms wall each\n",
		       conns_all, cpu_all / 1e3 / n, (cpu_all - sys_all) / 1e3 / n,
		       sys_all / 1e3 / n, wall_all / 1e3 / n);
		snprintf(res + used, sizeof res - used,
		         " cpu_mean=%.4f user_mean=%.4f sys_mean=%.4f wall_mean=%.4f",
		         cpu_all / 1e3 / n, (cpu_all - sys_all) / 1e3 / n, sys_all / 1e3 / n,
		         wall_all / 1e3 / n);
	}
	puts(res);
	fflush(stdout);
	free(runs);
	return failed == 0 ? 0 : CAB_EXIT_FAILED;
}

/* ---------------------------------------------------------------- main */

static void cab_usage(FILE *f)
{
	fputs("Usage: clientauth_bench -r HOST:PORT (-P PKIDIR | --trust F --cert F --key F)\n"
	      "                        [-u SIP_URI] [-n N] [--options] [--expect CODE]\n"
	      "                        [--raw FILE] [--tls-dsk] [-v]\n"
	      "       clientauth_bench --s-time [-n RUNS] [-v] -- openssl s_time -new ...\n"
	      "\n"
	      "In process: N client-auth transactions (new TCP, full mutual-TLS handshake,\n"
	      "REGISTER, un-REGISTER, close_notify) one after another on one event loop, after\n"
	      "one warm-up run. -P DIR: DIR/trust.pem, DIR/alice.crt, DIR/alice.key; -u\n"
	      "defaults to sip:alice@rig.test. --options: one OPTIONS instead. --expect CODE:\n"
	      "count transactions ending with that status (e.g. registrar_protocol) as good.\n"
	      "--raw FILE: append 'cpu thread wall txn' (us) per counted transaction.\n"
	      "--tls-dsk: auth: tls-dsk (challenge, tunnelled handshake, signed REGISTER).\n"
	      "--s-time: run the command RUNS times (default 1); CPU per connection is the\n"
	      "child's user+sys from wait4() divided by the connections s_time reports.\n"
	      "Prints a table (ms) and one 'RESULT key=value ...' line. Exit 0, 1 when any\n"
	      "transaction or run failed, 3 on usage errors.\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"registrar", required_argument, NULL, 'r'},
	    {"pki", required_argument, NULL, 'P'},
	    {"uri", required_argument, NULL, 'u'},
	    {"trust", required_argument, NULL, 't'},
	    {"cert", required_argument, NULL, 'c'},
	    {"key", required_argument, NULL, 'k'},
	    {"n", required_argument, NULL, 'n'},
	    {"options", no_argument, NULL, 'O'},
	    {"tls-dsk", no_argument, NULL, 'D'},
	    {"expect", required_argument, NULL, 'e'},
	    {"raw", required_argument, NULL, 'R'},
	    {"s-time", no_argument, NULL, 'S'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cab_opts o = {.n = 100, .uri = "sip:alice@rig.test"};
	const char *pki = NULL;
	char *own[3] = {NULL, NULL, NULL};
	bool n_given = false;
	char *end;
	int ch, rc;

	log_init("clientauth_bench", LOG_LEVEL_WARN);
	signal(SIGPIPE, SIG_IGN); /* as probe/cli.c: a peer closing mid-write is an error */
	while ((ch = getopt_long(argc, argv, "+r:P:u:n:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			o.registrar = optarg;
			break;
		case 'P':
			pki = optarg;
			break;
		case 'u':
			o.uri = optarg;
			break;
		case 't':
			o.trust = optarg;
			break;
		case 'c':
			o.cert = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'n':
			errno = 0;
			o.n = strtoul(optarg, &end, 10);
			if (end == optarg || *end != '\0' || errno != 0 || o.n == 0 ||
			    o.n > CAB_MAX_N) {
				fprintf(stderr, "clientauth_bench: -n wants 1..%d\n", CAB_MAX_N);
				return CAB_EXIT_USAGE;
			}
			n_given = true;
			break;
		case 'O':
			o.options = true;
			break;
		case 'D':
			o.tls_dsk = true;
			break;
		case 'e':
			o.expect = optarg;
			break;
		case 'R':
			o.raw = optarg;
			break;
		case 'S':
			o.s_time = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			cab_usage(stdout);
			return 0;
		default:
			cab_usage(stderr);
			return CAB_EXIT_USAGE;
		}
	}
	if (o.s_time) {
		if (!n_given)
			o.n = 1;
		if (optind >= argc) {
			fprintf(stderr, "clientauth_bench: --s-time wants a command after --\n");
			return CAB_EXIT_USAGE;
		}
		o.argv = argv + optind;
		return cab_s_time(&o);
	}
	if (pki != NULL) {
		if (o.trust == NULL)
			o.trust = own[0] = xasprintf("%s/trust.pem", pki);
		if (o.cert == NULL)
			o.cert = own[1] = xasprintf("%s/alice.crt", pki);
		if (o.key == NULL)
			o.key = own[2] = xasprintf("%s/alice.key", pki);
	}
	if (o.registrar == NULL || o.trust == NULL || o.cert == NULL || o.key == NULL ||
	    optind != argc) {
		cab_usage(stderr);
		rc = CAB_EXIT_USAGE;
	} else {
		/* the configuration wants absolute paths */
		const char **files[3] = {&o.trust, &o.cert, &o.key};
		rc = 0;
		for (size_t i = 0; i < 3 && rc == 0; i++) {
			char *abs = realpath(*files[i], NULL);
			if (abs == NULL) {
				log_warn_errno("%s", *files[i]);
				rc = CAB_EXIT_USAGE;
				continue;
			}
			free(own[i]);
			*files[i] = own[i] = abs;
		}
		if (rc == 0)
			rc = cab_inprocess(&o);
	}
	for (size_t i = 0; i < 3; i++)
		free(own[i]);
	return rc;
}
