/*
 * certprobe: the one-shot command line. check-config validates a configuration;
 * run executes transactions once on the event loop and prints a report per
 * transaction (Test-CsPhoneBootstrap style) or JSON. Init and cleanup order live here.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "core/coredump.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exporters/status_cmd.h"
#include "config/shard.h"
#include "transactions/certprov/dhcp_cmd.h"
#include "transactions/report.h"
#include "transactions/runner.h"
#include "transactions/txn_state.h"

#define EXIT_USAGE 3

static void usage(FILE *out)
{
	fputs(
	    "Usage: certprobe run -c FILE [-j] [-v] [-s DIR] [NAME...]\n"
	    "       certprobe check-config [--strict] [--shard i/n | n] FILE\n"
	    "       certprobe status [-c FILE | -s DIR | --state FILE] [--json]\n"
	    "                        [--max-age DURATION] [NAME]\n"
	    "       certprobe dhcp-discover -i IF [-s ADDR] [--timeout DUR] [--retries N] [-j]\n"
	    "       certprobe --help | --version\n"
	    "\n"
	    "Runs the synthetic transactions a device runs once, and reports each one:\n"
	    "Target, Result, Latency, Error, Diagnosis, then every step with its timing.\n"
	    "  enrollment    get a certificate (SCEP against NDES/Intune-style services and\n"
	    "                generic SCEP CAs)\n"
	    "  client-auth   log on to a SIP registrar with it (mutual TLS + REGISTER, then\n"
	    "                un-REGISTER; or OPTIONS)\n"
	    "A client-auth transaction whose certificate comes from an enrollment\n"
	    "(certificate: {from: NAME}) runs after that enrollment when both are run.\n"
	    "\n"
	    "Commands:\n"
	    "  run            run the configured transactions once (all, or those NAMEd)\n"
	    "  check-config   load and validate FILE; print every error as file:line:col\n"
	    "  status         show what certprobed knows: every transaction's state, last\n"
	    "                 run and reason, the endpoints and open alerts; with NAME, that\n"
	    "                 transaction's health and the report of its last run. Reads\n"
	    "                 STATE_DIR/certprobed.state.json (from -c FILE's probe.state_dir,\n"
	    "                 -s DIR, --state FILE, or /var/lib/certprobe)\n"
	    "  dhcp-discover  send the DHCPINFORM a Lync phone sends (vendor class\n"
	    "                 MS-UC-Client, options 43 and 120) on IF and print the CertProv\n"
	    "                 URL and registrar it gets, or the fault (--help for options)\n"
	    "\n"
	    "Options for run:\n"
	    "  -c, --config FILE     configuration file (YAML); required\n"
	    "  -j, --json            print a JSON array of results instead of text\n"
	    "  -v, --verbose         add a wire-level trace on stderr (credentials redacted)\n"
	    "  -s, --state-dir DIR   keep issued certificates and keys here instead of the\n"
	    "                        configured probe.state_dir\n"
	    "\n"
	    "Options for check-config:\n"
	    "      --strict          treat warnings as errors: a secret file (a {file: ...}\n"
	    "                        secret, certificate.key, probe.web.tls_key) that group\n"
	    "                        or other can read fails the check (exit 1) instead of\n"
	    "                        a warning on stderr (exit 0)\n"
	    "      --shard i/n       also list the transactions shard i of n runs (as\n"
	    "                        probe.shard {index: i, count: n} and Prometheus's\n"
	    "                        hashmod with modulus n pick them); --shard n lists\n"
	    "                        every transaction with its shard. A configuration\n"
	    "                        with probe.shard lists its own shard\n"
	    "\n"
	    "Options for status:\n"
	    "  -j, --json            print the stored JSON (one transaction's record with NAME)\n"
	    "      --max-age DUR     UNKNOWN (3) when the state file is older than DUR (e.g. 5m)\n"
	    "\n"
	    "Exit status (monitoring-plugins convention; for status, the worst HARD state\n"
	    "shown):\n"
	    "  0  every transaction OK\n"
	    "  1  at least one WARNING (e.g. the CA answered with single DES, or a\n"
	    "     certificate expires within warn.expiry_days, default 30)\n"
	    "  2  at least one CRITICAL (the transaction failed)\n"
	    "  3  UNKNOWN: configuration or usage error, or the probe could not judge\n"
	    "\n"
	    "Secrets (challenge passwords, NDES credentials, keys) never appear in any output,\n"
	    "nor in a core file: certprobe makes itself undumpable at start unless the\n"
	    "environment has CERTPROBE_ALLOW_CORE=1 (for debugging).\n"
	    "See certprobe(1), and certprobe.yaml(5) for the configuration keys.\n",
	    out);
}

/* Selected on the command line (no names selects all). */
static bool cli_wanted(const struct txn_conf *tc, int nnames, char **names)
{
	if (nnames == 0)
		return true;
	for (int i = 0; i < nnames; i++)
		if (strcmp(names[i], tc->name) == 0)
			return true;
	return false;
}

/*
 * --shard: "i/n" lists the transactions shard i of n runs; "n" lists every transaction
 * with its shard. A dependant goes with its root (certificate.from), named after it.
 */
static void print_shards(const struct config *cfg, const struct shard_conf *want, bool one)
{
	size_t k = 0;

	for (const struct txn_conf *t = cfg->txns; t != NULL; t = t->next)
		k += !one || shard_of(cfg, t, want->count) == want->index;
	if (one)
		printf("shard %u/%u: %zu of %zu transaction%s\n", want->index, want->count, k,
		       cfg->n_txns, cfg->n_txns == 1 ? "" : "s");
	for (const struct txn_conf *t = cfg->txns; t != NULL; t = t->next) {
		const struct txn_conf *root = shard_root(cfg, t);
		unsigned sh = shard_of(cfg, t, want->count);
		if (one && sh != want->index)
			continue;
		if (!one)
			printf("%u\t", sh);
		if (root != t)
			printf("%s\t(with %s)\n", t->name, root->name);
		else
			printf("%s\n", t->name);
	}
}

/* check-config [--strict] [--shard i/n|n] FILE: 0 when FILE loads, 1 when not, 3 misuse. */
static int cli_check_config(int argc, char **argv)
{
	static const char use[] =
	    "usage: certprobe check-config [--strict] [--shard i/n | n] FILE\n";
	const char *path = NULL, *shard = NULL;
	struct shard_conf want = {0, 0};
	bool strict = false, one = false;
	unsigned nerr = 0;
	struct config *cfg;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--strict") == 0) {
			strict = true;
		} else if (strcmp(argv[i], "--shard") == 0 && i + 1 < argc) {
			shard = argv[++i];
		} else if (strncmp(argv[i], "--shard=", 8) == 0) {
			shard = argv[i] + 8;
		} else if (path == NULL && argv[i][0] != '-') {
			path = argv[i];
		} else {
			fputs(use, stderr);
			return EXIT_USAGE;
		}
	}
	if (path == NULL) {
		fputs(use, stderr);
		return EXIT_USAGE;
	}
	if (shard != NULL) {
		one = strchr(shard, '/') != NULL;
		if (one ? shard_parse(shard, &want) == -1
		        : (shard_parse_count(shard, &want) == -1)) {
			fprintf(stderr,
			        "certprobe check-config: bad --shard '%s' (i/n with 0 <= i < n <= "
			        "%u, or n)\n",
			        shard, SHARD_MAX_COUNT);
			return EXIT_USAGE;
		}
	}
	config_set_strict(strict);
	cfg = config_load(path, stderr, &nerr);
	if (cfg == NULL)
		return 1;
	printf("%s: OK (%zu transaction%s)\n", path, cfg->n_txns, cfg->n_txns == 1 ? "" : "s");
	if (shard == NULL && cfg->shard.count > 0) {
		want = cfg->shard;
		shard = "probe.shard";
		one = true;
	}
	if (shard != NULL)
		print_shards(cfg, &want, one);
	config_free(cfg);
	return 0;
}

static int cli_run(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
	    {"verbose", no_argument, NULL, 'v'},      {"state-dir", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *cfgpath = NULL, *state_dir = NULL;
	bool json = false, verbose = false;
	struct config *cfg;
	struct txn_env env;
	struct runner_opts ro = {0};
	const struct txn_conf **confs;
	struct txn_result *results;
	char err[256];
	unsigned nerr = 0;
	int ch, worst, lock_fd = -1;
	enum txn_state_lock_status lock;
	size_t n = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:jvs:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 's':
			state_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (cfgpath == NULL) {
		fprintf(stderr, "certprobe run: -c FILE is required\n");
		return EXIT_USAGE;
	}
	cfg = config_load(cfgpath, stderr, &nerr);
	if (cfg == NULL)
		return EXIT_USAGE;
	for (int i = optind; i < argc; i++) {
		if (config_find_txn(cfg, argv[i]) == NULL) {
			fprintf(stderr, "certprobe run: no transaction named '%s' in %s\n", argv[i],
			        cfgpath);
			config_free(cfg);
			return EXIT_USAGE;
		}
	}
	if (verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	ro.state_dir = state_dir != NULL ? state_dir : cfg->state_dir;
	/*
	 * The daemon holds the state directory's lock for its life: a run beside it would
	 * replace the certificates and keys it is using. Refused at once (no waiting: the
	 * daemon never lets go), with who holds it; another directory is -s away.
	 */
	if (mkdir(ro.state_dir, 0700) == -1 && errno != EEXIST)
		lock = TXN_STATE_LOCK_UNAVAILABLE;
	else
		lock = txn_state_lock(ro.state_dir, "certprobe run", &lock_fd, err, sizeof err);
	if (lock == TXN_STATE_LOCK_BUSY) {
		fprintf(stderr, "certprobe run: %s (use -s DIR for another state directory)\n",
		        err);
		config_free(cfg);
		return EXIT_USAGE;
	}
	ro.key_workers = 1;
	ro.trace = verbose;
	if (runner_env_open(&env, &ro, err, sizeof err) == -1) {
		fprintf(stderr, "certprobe: %s\n", err);
		config_free(cfg);
		if (lock_fd != -1)
			close(lock_fd);
		return EXIT_USAGE;
	}
	confs = xcalloc(cfg->n_txns + 1, sizeof *confs);
	results = xcalloc(cfg->n_txns + 1, sizeof *results);
	for (const struct txn_conf *tc = cfg->txns; tc != NULL; tc = tc->next)
		if (cli_wanted(tc, argc - optind, argv + optind))
			confs[n++] = tc;
	worst = (int)runner_run(&env, confs, n, results);

	if (json)
		fputc('[', stdout);
	for (size_t i = 0; i < n; i++) {
		const struct txn_result *r = &results[i];
		if (json) {
			if (i > 0)
				fputc(',', stdout);
			report_json(stdout, r);
		} else {
			if (i > 0)
				fputc('\n', stdout);
			report_text(stdout, r);
		}
	}
	if (json)
		fputs("]\n", stdout);
	free(confs);
	free(results);
	runner_env_close(&env);
	config_free(cfg);
	if (lock_fd != -1)
		close(lock_fd);
	return worst;
}

int main(int argc, char **argv)
{
	log_init("certprobe", LOG_LEVEL_WARN);
	/* before a configuration (inline secrets) or a key is read */
	if (coredump_restrict() == -1)
		return EXIT_USAGE;
	signal(SIGPIPE, SIG_IGN); /* a registrar closing mid-write is an error, not a death */
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("certprobe %s\n", CERTPROBE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "check-config") == 0)
		return cli_check_config(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cli_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return status_command(argc - 1, argv + 1);
	if (strcmp(argv[1], "dhcp-discover") == 0)
		return dhcp_cmd_main(argc - 1, argv + 1);
	fprintf(stderr, "certprobe: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
