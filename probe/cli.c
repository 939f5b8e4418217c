/*
 * certprobe: the one-shot command line. check-config validates a configuration;
 * run executes transactions once on the event loop and prints a report per
 * transaction (Test-CsPhoneBootstrap style) or JSON. Init and cleanup order live here.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "config/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exporters/status_cmd.h"
#include "net/dns.h"
#include "net/http_client.h"
#include "net/tls_conn.h"
#include "pki/keypool.h"
#include "pki/pki.h"
#include "transactions/clientauth/clientauth_txn.h"
#include "transactions/report.h"
#include "transactions/scep/scep_txn.h"

#define EXIT_USAGE 3

static void usage(FILE *out)
{
	fputs(
"Usage: certprobe run -c FILE [-j] [-v] [-s DIR] [NAME...]\n"
"       certprobe check-config FILE\n"
"       certprobe status [-c FILE | -s DIR | --state FILE] [--json]\n"
"                        [--max-age DURATION] [NAME]\n"
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
"\n"
"Options for run:\n"
"  -c, --config FILE     configuration file (YAML); required\n"
"  -j, --json            print a JSON array of results instead of text\n"
"  -v, --verbose         add a wire-level trace on stderr (credentials redacted)\n"
"  -s, --state-dir DIR   keep issued certificates and keys here instead of the\n"
"                        configured probe.state_dir\n"
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
"Secrets (challenge passwords, NDES credentials, keys) never appear in any output.\n"
"See certprobe(1), and certprobe.yaml(5) for the configuration keys.\n", out);
}

struct cli_slot {
	struct cli_run *run;
	const struct txn_conf *conf;
	struct scep_txn *scep;
	struct clientauth_txn *ca;
	struct txn_result result;
	bool started, done;
	struct cli_slot *after; /* a client-auth waiting for this enrollment */
};

struct cli_run {
	struct cli_slot *slots;
	size_t n, done;
	struct event_base *base;
	struct scep_txn_env scep_env;
	struct clientauth_env ca_env;
};

static void cli_start(struct cli_slot *slot);

static void cli_txn_done(const struct txn_result *r, void *arg)
{
	struct cli_slot *slot = arg;
	struct cli_run *run = slot->run;

	slot->result = *r;
	slot->done = true;
	run->done++;
	for (size_t i = 0; i < run->n; i++) {
		struct cli_slot *s = &run->slots[i];
		if (!s->started && s->after == slot)
			cli_start(s);
	}
	if (run->done == run->n)
		event_base_loopexit(run->base, NULL);
}

static void cli_start(struct cli_slot *slot)
{
	struct cli_run *run = slot->run;

	slot->started = true;
	if (slot->conf->type == TXN_TYPE_CLIENT_AUTH)
		slot->ca = clientauth_txn_start(&run->ca_env, slot->conf, cli_txn_done, slot);
	else
		slot->scep = scep_txn_start(&run->scep_env, slot->conf, cli_txn_done, slot);
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

static int cli_check_config(const char *path)
{
	unsigned nerr = 0;
	struct config *cfg = config_load(path, stderr, &nerr);

	if (cfg == NULL)
		return 1;
	printf("%s: OK (%zu transaction%s)\n", path, cfg->n_txns, cfg->n_txns == 1 ? "" : "s");
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
	struct cli_run run = {0};
	struct http_client *http;
	struct keypool *keys;
	struct dns *dns;
	struct tls_ctx_cache *tls;
	unsigned nerr = 0;
	int ch, worst = 0;
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
	if (pki_init() == -1 || http_client_global_init() == -1 || dns_global_init() == -1 ||
	    evthread_use_pthreads() == -1) {
		fprintf(stderr, "certprobe: cannot initialise OpenSSL, libcurl, c-ares or libevent\n");
		config_free(cfg);
		return EXIT_USAGE;
	}
	run.base = event_base_new();
	http = http_client_new(run.base);
	http_client_set_trace(http, verbose);
	keys = keypool_new(run.base, 1);
	dns = dns_new(run.base);
	tls = tls_ctx_cache_new();
	run.scep_env = (struct scep_txn_env){.base = run.base, .http = http, .keys = keys,
	                                     .state_dir = state_dir != NULL ? state_dir
	                                                                    : cfg->state_dir};
	run.ca_env = (struct clientauth_env){.base = run.base, .dns = dns, .tls = tls,
	                                     .state_dir = run.scep_env.state_dir};

	run.slots = xcalloc(cfg->n_txns, sizeof *run.slots);
	for (struct txn_conf *tc = cfg->txns; tc != NULL; tc = tc->next) {
		if (!cli_wanted(tc, argc - optind, argv + optind))
			continue;
		run.slots[n].run = &run;
		run.slots[n].conf = tc;
		n++;
	}
	run.n = n;
	/* a client-auth using an enrollment's certificate waits for it, as a device does */
	for (size_t i = 0; i < run.n; i++) {
		const char *from = run.slots[i].conf->certificate.from;
		for (size_t j = 0; from != NULL && j < run.n; j++)
			if (strcmp(run.slots[j].conf->name, from) == 0)
				run.slots[i].after = &run.slots[j];
	}
	/* every slot exists before the first callback can count completions */
	for (size_t i = 0; i < run.n; i++)
		if (run.slots[i].after == NULL)
			cli_start(&run.slots[i]);
	if (run.n > 0)
		event_base_dispatch(run.base);

	if (json)
		fputc('[', stdout);
	for (size_t i = 0; i < run.n; i++) {
		const struct txn_result *r = &run.slots[i].result;
		if (json) {
			if (i > 0)
				fputc(',', stdout);
			report_json(stdout, r);
		} else {
			if (i > 0)
				fputc('\n', stdout);
			report_text(stdout, r);
		}
		if ((int)r->result > worst)
			worst = (int)r->result;
		scep_txn_free(run.slots[i].scep);
		clientauth_txn_free(run.slots[i].ca);
	}
	if (json)
		fputs("]\n", stdout);
	keypool_free(keys);
	http_client_free(http);
	dns_free(dns);
	tls_ctx_cache_free(tls);
	event_base_free(run.base);
	free(run.slots);
	config_free(cfg);
	dns_global_cleanup();
	http_client_global_cleanup();
	pki_cleanup();
	return worst;
}

int main(int argc, char **argv)
{
	log_init("certprobe", LOG_LEVEL_WARN);
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
	if (strcmp(argv[1], "check-config") == 0) {
		if (argc != 3) {
			fprintf(stderr, "usage: certprobe check-config FILE\n");
			return EXIT_USAGE;
		}
		return cli_check_config(argv[2]);
	}
	if (strcmp(argv[1], "run") == 0)
		return cli_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return status_command(argc - 1, argv + 1);
	fprintf(stderr, "certprobe: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
