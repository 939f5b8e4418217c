/*
 * check_certprobe: the monitoring plugin that reads what certprobed knows. It loads the
 * daemon's state file (statefile_load, the reader `certprobe status` uses) and reports
 * one transaction (-T) or one endpoint (-E) as plugin output, judging freshness; it
 * never runs a transaction, so it answers in milliseconds. --list and --discovery print
 * the transactions and endpoints (plain, or Zabbix low-level discovery JSON).
 * Flow after monitoring-plugins' check_users.c: options, the state, the output, exit.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/xalloc.h"
#include "exporters/plugin_report.h"
#include "exporters/statefile.h"
#include "plugin_common.h"

#define PROG "check_certprobe"
#define PREFIX "CERTPROBE"
#define DEFAULT_STATE_DIR "/var/lib/certprobe"
#define DEFAULT_INTERVAL_MS (15 * 60 * 1000) /* defaults.interval, for older state files */
/* the daemon writes a change within 5 s (persist.c): a fresh run may reach the file late */
#define STATE_WRITE_SLACK_S 10

static const char usage_short[] =
    "Usage: check_certprobe [-s DIR | --state FILE] (-T NAME | -E NAME)\n"
    "         [--max-age DUR] [--stale-critical] [-w RANGE] [-c RANGE]\n"
    "         [--step-warn STEP=RANGE] [--step-crit STEP=RANGE]\n"
    "         [--days-warn RANGE] [--days-crit RANGE] [-t SECONDS] [-v]\n"
    "       check_certprobe [-s DIR | --state FILE] --list | --discovery[=WHAT]\n"
    "       check_certprobe -h | -V\n";

static void help(void)
{
	printf("%s (certprobe %s)\n\n", PROG, CERTPROBE_VERSION);
	fputs("Reports what the certprobe daemon (certprobed) knows about one synthetic\n"
	      "transaction or one endpoint (a SIP registrar, a SCEP web service), from the\n"
	      "daemon's state file. It never runs a transaction itself and answers in\n"
	      "milliseconds; check_enrollment and check_clientauth run one.\n\n",
	      stdout);
	fputs(usage_short, stdout);
	fputs("\nOptions:\n"
	      " -h, --help\n"
	      "    Print this help and exit (3).\n"
	      " -V, --version\n"
	      "    Print the version and exit (3).\n"
	      " -s, --state-dir DIR\n"
	      "    The daemon's probe.state_dir (default " DEFAULT_STATE_DIR "); the file\n"
	      "    read is DIR/" STATEFILE_NAME ".\n"
	      " --state FILE\n"
	      "    Read this state file instead.\n"
	      " -T, --transaction NAME\n"
	      "    Report the transaction NAME: its HARD state (the daemon already debounces;\n"
	      "    use max_check_attempts 1), its last run's steps, findings and certificates.\n"
	      " -E, --endpoint NAME\n"
	      "    Report the endpoint NAME (\"host:port\" of a registrar or web service, as\n"
	      "    --list prints it): the worst HARD state of its transactions.\n"
	      " --max-age DUR\n"
	      "    A transaction whose last run is older than DUR (e.g. 45m, 1h) is stale:\n"
	      "    UNKNOWN. Default 3 x the transaction's interval (endpoints: of their\n"
	      "    shortest) + 10 s (the daemon writes its state within 5 s of a run).\n"
	      " --stale-critical\n"
	      "    Stale is CRITICAL instead of UNKNOWN.\n"
	      " -w, --warning RANGE\n"
	      " -c, --critical RANGE\n"
	      "    Thresholds on the last run's total time, in seconds (e.g. -w 2 -c 5).\n"
	      " --step-warn STEP=RANGE\n"
	      " --step-crit STEP=RANGE\n"
	      "    Thresholds on one step's time in seconds (e.g. tls_handshake=0.5);\n"
	      "    repeatable.\n"
	      " --days-warn RANGE\n"
	      " --days-crit RANGE\n"
	      "    Thresholds on the days left of the certificates of the last run (issued,\n"
	      "    client, server), e.g. --days-warn 30: --days-crit 14:.\n"
	      " --list\n"
	      "    Print one line per transaction (transaction NAME TYPE ENDPOINT) and per\n"
	      "    endpoint (endpoint NAME KIND), exit 0.\n"
	      " --discovery[=transactions|endpoints]\n"
	      "    Print them as Zabbix low-level discovery JSON, an array of objects with\n"
	      "    {#OBJECT} (transaction or endpoint), {#NAME}, {#TYPE}, {#ENDPOINT},\n"
	      "    {#KIND}; exit 0.\n"
	      " -t, --timeout SECONDS\n"
	      "    Give up after SECONDS (default 10): UNKNOWN.\n"
	      " -v, --verbose\n"
	      "    Once: step details and the reasons of an endpoint's transactions; twice:\n"
	      "    the last run's facts (certificate subjects, TLS version, SIP status).\n"
	      "\n"
	      "Ranges ([@]start:end; start defaults to 0, ~ is minus infinity, an empty end\n"
	      "is infinity): a value outside start..end alerts, or inside with @:\n"
	      "  10 (< 0 or > 10), 10: (< 10), ~:10 (> 10), 10:20, @10:20 (10 to 20).\n"
	      "\n"
	      "Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (stale or unreadable state,\n"
	      "no such transaction or endpoint, a usage error, --help, --version).\n"
	      "Perfdata: every step's time and the total (s), the certificates' days left\n"
	      "(issued_cert_days, client_cert_days, server_cert_days); for an endpoint,\n"
	      "members and members_failing.\n"
	      "\n"
	      "Examples:\n"
	      "  check_certprobe -T pool1-logon --days-warn 30: --days-crit 14:\n"
	      "  check_certprobe -E pool1.example.com:5061\n"
	      "  check_certprobe --discovery\n"
	      "\n"
	      "The state file holds no secret; the plugin prints none. The user running it\n"
	      "must be able to read the state directory (group certprobe).\n"
	      "See certprobe(1) and certprobed(8).\n",
	      stdout);
	exit(PLUGIN_UNKNOWN);
}

enum {
	OPT_STATE = 256,
	OPT_MAX_AGE,
	OPT_STALE_CRIT,
	OPT_STEP_WARN,
	OPT_STEP_CRIT,
	OPT_DAYS_WARN,
	OPT_DAYS_CRIT,
	OPT_LIST,
	OPT_DISCOVERY,
};

enum list_mode { LIST_NONE, LIST_PLAIN, LIST_LLD };

static void json_field(const char *key, const char *value, bool last)
{
	char *q = statefile_quote(value);

	printf("\"%s\":%s%s", key, q, last ? "" : ",");
	free(q);
}

static int list(const struct sf_state *s, enum list_mode mode, const char *what)
{
	bool txns = what == NULL || strcmp(what, "transactions") == 0;
	bool eps = what == NULL || strcmp(what, "endpoints") == 0;
	bool first = true;

	if (mode == LIST_PLAIN) {
		for (size_t i = 0; i < s->n_txns; i++)
			printf("transaction %s %s %s\n", s->txns[i].name, s->txns[i].type,
			       s->txns[i].endpoint);
		for (size_t i = 0; i < s->n_endpoints; i++)
			printf("endpoint %s %s\n", s->endpoints[i].name, s->endpoints[i].kind);
		return PLUGIN_OK;
	}
	putchar('[');
	for (size_t i = 0; txns && i < s->n_txns; i++) {
		const struct sf_txn *t = &s->txns[i];
		printf("%s{", first ? "" : ",");
		json_field("{#OBJECT}", "transaction", false);
		json_field("{#NAME}", t->name, false);
		json_field("{#TYPE}", t->type, false);
		json_field("{#ENDPOINT}", t->endpoint, false);
		json_field("{#KIND}", t->endpoint_kind, true);
		putchar('}');
		first = false;
	}
	for (size_t i = 0; eps && i < s->n_endpoints; i++) {
		const struct sf_endpoint *e = &s->endpoints[i];
		printf("%s{", first ? "" : ",");
		json_field("{#OBJECT}", "endpoint", false);
		json_field("{#NAME}", e->name, false);
		json_field("{#TYPE}", "", false);
		json_field("{#ENDPOINT}", e->name, false);
		json_field("{#KIND}", e->kind, true);
		putchar('}');
		first = false;
	}
	puts("]");
	return PLUGIN_OK;
}

static int64_t max_age_of(uint64_t max_age_ms, uint64_t interval_ms)
{
	if (max_age_ms > 0)
		return (int64_t)(max_age_ms / 1000);
	if (interval_ms == 0)
		interval_ms = DEFAULT_INTERVAL_MS;
	return (int64_t)(3 * interval_ms / 1000) + STATE_WRITE_SLACK_S;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"state-dir", required_argument, NULL, 's'},
	    {"state", required_argument, NULL, OPT_STATE},
	    {"transaction", required_argument, NULL, 'T'},
	    {"endpoint", required_argument, NULL, 'E'},
	    {"max-age", required_argument, NULL, OPT_MAX_AGE},
	    {"stale-critical", no_argument, NULL, OPT_STALE_CRIT},
	    {"warning", required_argument, NULL, 'w'},
	    {"critical", required_argument, NULL, 'c'},
	    {"step-warn", required_argument, NULL, OPT_STEP_WARN},
	    {"step-crit", required_argument, NULL, OPT_STEP_CRIT},
	    {"days-warn", required_argument, NULL, OPT_DAYS_WARN},
	    {"days-crit", required_argument, NULL, OPT_DAYS_CRIT},
	    {"list", no_argument, NULL, OPT_LIST},
	    {"discovery", optional_argument, NULL, OPT_DISCOVERY},
	    {"timeout", required_argument, NULL, 't'},
	    {"verbose", no_argument, NULL, 'v'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = DEFAULT_STATE_DIR, *file = NULL, *txn = NULL, *ep = NULL;
	const char *discover = NULL;
	struct plugin_report_opts ro;
	struct plugin_output *o;
	enum list_mode mode = LIST_NONE;
	uint64_t max_age_ms = 0;
	bool stale_critical = false;
	unsigned timeout = PLUGIN_DEFAULT_TIMEOUT;
	struct sf_state *s;
	char *path, err[512];
	int ch, rc;

	plugin_setup(PROG);
	memset(&ro, 0, sizeof ro);
	while ((ch = getopt_long(argc, argv, "hVs:T:E:w:c:t:v", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			help();
			break;
		case 'V':
			plugin_print_version(PROG);
			break;
		case 's':
			dir = optarg;
			break;
		case OPT_STATE:
			file = optarg;
			break;
		case 'T':
			txn = optarg;
			break;
		case 'E':
			ep = optarg;
			break;
		case OPT_MAX_AGE:
			if (config_parse_duration(optarg, &max_age_ms) == -1 || max_age_ms < 1000)
				plugin_usage_error(PREFIX, usage_short,
				                   "--max-age: '%s' is not a duration (e.g. 45m)",
				                   optarg);
			break;
		case OPT_STALE_CRIT:
			stale_critical = true;
			break;
		case 'w':
			plugin_range_opt(PREFIX, usage_short, "-w", optarg, &ro.total.warn);
			break;
		case 'c':
			plugin_range_opt(PREFIX, usage_short, "-c", optarg, &ro.total.crit);
			break;
		case OPT_STEP_WARN:
		case OPT_STEP_CRIT:
			plugin_step_opt(PREFIX, usage_short, &ro, optarg, ch == OPT_STEP_CRIT);
			break;
		case OPT_DAYS_WARN:
			plugin_range_opt(PREFIX, usage_short, "--days-warn", optarg, &ro.days.warn);
			break;
		case OPT_DAYS_CRIT:
			plugin_range_opt(PREFIX, usage_short, "--days-crit", optarg, &ro.days.crit);
			break;
		case OPT_LIST:
			mode = LIST_PLAIN;
			break;
		case OPT_DISCOVERY:
			mode = LIST_LLD;
			discover = optarg;
			if (discover != NULL && strcmp(discover, "transactions") != 0 &&
			    strcmp(discover, "endpoints") != 0)
				plugin_usage_error(PREFIX, usage_short,
				                   "--discovery=%s: transactions or endpoints",
				                   discover);
			break;
		case 't':
			timeout = plugin_timeout_opt(PREFIX, usage_short, optarg);
			break;
		case 'v':
			ro.verbose++;
			break;
		default:
			plugin_usage_error(PREFIX, usage_short, "bad option");
		}
	}
	if (optind != argc)
		plugin_usage_error(PREFIX, usage_short, "unexpected argument '%s'", argv[optind]);
	if (mode == LIST_NONE && (txn == NULL) == (ep == NULL))
		plugin_usage_error(PREFIX, usage_short, "give -T NAME or -E NAME (or --list)");
	plugin_timeout_arm(PREFIX, timeout, PLUGIN_UNKNOWN);

	path = file != NULL ? xstrdup(file) : xasprintf("%s/%s", dir, STATEFILE_NAME);
	/* one service: only its records are parsed (milliseconds at 10,000 transactions) */
	s = mode != LIST_NONE ? statefile_load(path, err, sizeof err)
	                      : statefile_load_some(path, txn, ep, err, sizeof err);
	if (s == NULL) {
		printf("%s UNKNOWN - cannot read the state: %s%s\n", PREFIX, err,
		       errno == ENOENT ? " (is certprobed running with this state directory?)"
		                       : "");
		free(path);
		return PLUGIN_UNKNOWN;
	}
	free(path);
	if (mode != LIST_NONE) {
		rc = list(s, mode, discover);
		statefile_state_free(s);
		return rc;
	}
	ro.now = (int64_t)time(NULL);
	o = xcalloc(1, sizeof *o);
	if (txn != NULL) {
		const struct sf_txn *t = statefile_find_txn(s, txn);
		char prefix[48];
		if (t == NULL) {
			printf("%s UNKNOWN - no transaction named '%s' in the state (see --list)\n",
			       PREFIX, txn);
			statefile_state_free(s);
			free(o);
			return PLUGIN_UNKNOWN;
		}
		plugin_report_prefix(prefix, sizeof prefix, t->type);
		plugin_output_init(o, prefix);
		plugin_report_stored_txn(o, t, &ro, max_age_of(max_age_ms, t->interval_ms),
		                         stale_critical);
	} else {
		const struct sf_endpoint *e = NULL;
		const struct sf_txn **members = xcalloc(s->n_txns + 1, sizeof *members);
		uint64_t interval = 0;
		size_t n = 0;
		for (size_t i = 0; i < s->n_endpoints && e == NULL; i++)
			if (strcmp(s->endpoints[i].name, ep) == 0)
				e = &s->endpoints[i];
		if (e == NULL) {
			printf("%s UNKNOWN - no endpoint named '%s' in the state (see --list)\n",
			       PREFIX, ep);
			statefile_state_free(s);
			free(members);
			free(o);
			return PLUGIN_UNKNOWN;
		}
		for (size_t i = 0; i < s->n_txns; i++) {
			const struct sf_txn *t = &s->txns[i];
			if (strcmp(t->endpoint, e->name) != 0 ||
			    strcmp(t->endpoint_kind, e->kind) != 0)
				continue;
			members[n++] = t;
			if (t->interval_ms > 0 && (interval == 0 || t->interval_ms < interval))
				interval = t->interval_ms;
		}
		plugin_output_init(o, strcmp(e->kind, "registrar") == 0 ? "CERTPROBE REGISTRAR"
		                                                        : "CERTPROBE WEBSERVICE");
		plugin_report_stored_endpoint(o, e, members, n, &ro,
		                              max_age_of(max_age_ms, interval), stale_critical);
		free(members);
	}
	rc = plugin_output_print(o, stdout);
	free(o);
	statefile_state_free(s);
	return rc;
}
