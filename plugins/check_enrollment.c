/*
 * check_enrollment: the monitoring plugin that enrolls once for a certificate over SCEP
 * (RFC 8894), as NDES/Intune and generic SCEP CAs speak it: capabilities, the CA
 * certificate (pinned or not), PKCSReq with a key from the pool (made off the timed
 * path), the CertRep, and checks of the issued certificate. Configured from its options
 * alone or from a certprobe configuration (-c FILE -T NAME); run by the runner that
 * `certprobe run` uses (plugin_run.c). The issued certificate goes to a private
 * temporary directory, removed after, unless -s DIR.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "plugin_common.h"
#include "plugin_run.h"

#define PROG "check_enrollment"
#define PREFIX "CERTPROBE ENROLLMENT"

static const char usage_short[] =
    "Usage: check_enrollment (-u URL | -H HOST [-p PORT] [-S] [-u PATH])\n"
    "         [--challenge-file FILE] [--subject DN] [--ca-fingerprint sha256:HEX]\n"
    "         [--trust-store FILE] [--key rsa:BITS|ec:CURVE] [--ca-identifier ID]\n"
    "         [--method auto|post|get] [-n NAME] [-s DIR]\n"
    "         [-w RANGE] [-c RANGE] [--step-warn STEP=RANGE] [--step-crit STEP=RANGE]\n"
    "         [--days-warn RANGE] [--days-crit RANGE] [-t SECONDS] [-v]\n"
    "       check_enrollment --config FILE [-T NAME] [-s DIR] [thresholds] [-t] [-v]\n"
    "       check_enrollment -h | -V\n";

static void help(void)
{
	printf("%s (certprobe %s)\n\n", PROG, CERTPROBE_VERSION);
	fputs("Enrolls once for a certificate over SCEP, as a device does, and reports every\n"
	      "step: capabilities, CA certificate, request, answer, and the checks of the\n"
	      "issued certificate (our key, chains to the CA, validity, subject).\n\n",
	      stdout);
	fputs(usage_short, stdout);
	fputs(
	    "\nOptions:\n"
	    " -h, --help        Print this help and exit (3).\n"
	    " -V, --version     Print the version and exit (3).\n"
	    " -u, --url URL     The SCEP URL (http:// or https://), or with -H its path\n"
	    "                   (default /certsrv/mscep/mscep.dll, NDES's).\n"
	    " -H, --hostname HOST, -p, --port PORT, -S, --ssl\n"
	    "    Build the URL from a host, a port (default 80, 443 with -S) and https.\n"
	    " --challenge-file FILE\n"
	    "    The challenge password, read from FILE (never from the command line, which\n"
	    "    other users can see).\n"
	    " --subject DN      The requested subject (default CN=certprobe-synthetic).\n"
	    " --ca-fingerprint sha256:HEX\n"
	    "    Pin the CA certificate; a mismatch is CRITICAL.\n"
	    " --trust-store FILE\n"
	    "    PEM roots for an https URL (default the system bundle).\n"
	    " --key rsa:2048|rsa:3072|rsa:4096|ec:P-256|ec:P-384\n"
	    "    The key to enroll (default rsa:2048), generated off the timed path.\n"
	    " --ca-identifier ID, --method auto|post|get\n"
	    " -n, --name NAME   The name in the output (default enrollment).\n"
	    " --config FILE, -T, --transaction NAME\n"
	    "    Run the enrollment transaction NAME of a certprobe configuration instead\n"
	    "    (the only one when -T is absent).\n"
	    " -s, --state-dir DIR\n"
	    "    Keep the issued certificate and key in DIR/txn/NAME (default: a private\n"
	    "    temporary directory, removed after the run). Not the daemon's directory.\n"
	    " -w, --warning RANGE, -c, --critical RANGE\n"
	    "    Thresholds on the total time, in seconds.\n"
	    " --step-warn STEP=RANGE, --step-crit STEP=RANGE\n"
	    "    Thresholds on one step in seconds (steps: key, challenge, getcacaps,\n"
	    "    getcacert, request, pkioperation, poll, verify, store); repeatable.\n"
	    " --days-warn RANGE, --days-crit RANGE\n"
	    "    Thresholds on the issued certificate's days left (default --days-warn 30:).\n"
	    " -t, --timeout SECONDS\n"
	    "    Bound the whole run (default 10): the run's deadline ends 0.3 s before, a\n"
	    "    hard alarm() at SECONDS; either is CRITICAL.\n"
	    " -v, --verbose     Once: step details; twice: CA, capabilities, algorithms,\n"
	    "                   issued serial; three times: a wire trace on stderr.\n"
	    "\n"
	    "Ranges: [@]start:end (10, 10:, ~:10, 10:20, @10:20); outside alerts, inside with @.\n"
	    "Exit status: 0 OK, 1 WARNING (weak SCEP algorithms, a PENDING answer, a slow\n"
	    "step), 2 CRITICAL (network, TLS, HTTP and SCEP failures, a bad certificate),\n"
	    "3 UNKNOWN (usage, the probe's own failure).\n"
	    "Perfdata: each step's time and the total (s), issued_cert_days.\n"
	    "No key, password or challenge is ever printed.\n"
	    "\n"
	    "Example:\n"
	    "  check_enrollment -H ndes.example.com -S --challenge-file /etc/certprobe/ch \\\n"
	    "      --ca-fingerprint sha256:5d1f... --step-warn pkioperation=2\n"
	    "See certprobe(1) and certprobe.yaml(5).\n",
	    stdout);
	exit(PLUGIN_UNKNOWN);
}

enum {
	OPT_CHALLENGE = 256,
	OPT_SUBJECT,
	OPT_FP,
	OPT_TRUST,
	OPT_KEY,
	OPT_CAID,
	OPT_METHOD,
	OPT_CONFIG,
	OPT_STEP_WARN,
	OPT_STEP_CRIT,
	OPT_DAYS_WARN,
	OPT_DAYS_CRIT,
};

static char *key_yaml(const char *spec)
{
	if (strncmp(spec, "rsa:", 4) == 0 && strspn(spec + 4, "0123456789") == strlen(spec + 4) &&
	    spec[4] != '\0')
		return xasprintf("{type: rsa, bits: %s}", spec + 4);
	if (strcmp(spec, "ec:P-256") == 0 || strcmp(spec, "ec:P-384") == 0)
		return xasprintf("{type: ec, curve: %s}", spec + 3);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"url", required_argument, NULL, 'u'},
	    {"hostname", required_argument, NULL, 'H'},
	    {"port", required_argument, NULL, 'p'},
	    {"ssl", no_argument, NULL, 'S'},
	    {"challenge-file", required_argument, NULL, OPT_CHALLENGE},
	    {"subject", required_argument, NULL, OPT_SUBJECT},
	    {"ca-fingerprint", required_argument, NULL, OPT_FP},
	    {"trust-store", required_argument, NULL, OPT_TRUST},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"ca-identifier", required_argument, NULL, OPT_CAID},
	    {"method", required_argument, NULL, OPT_METHOD},
	    {"name", required_argument, NULL, 'n'},
	    {"config", required_argument, NULL, OPT_CONFIG},
	    {"transaction", required_argument, NULL, 'T'},
	    {"state-dir", required_argument, NULL, 's'},
	    {"warning", required_argument, NULL, 'w'},
	    {"critical", required_argument, NULL, 'c'},
	    {"step-warn", required_argument, NULL, OPT_STEP_WARN},
	    {"step-crit", required_argument, NULL, OPT_STEP_CRIT},
	    {"days-warn", required_argument, NULL, OPT_DAYS_WARN},
	    {"days-crit", required_argument, NULL, OPT_DAYS_CRIT},
	    {"timeout", required_argument, NULL, 't'},
	    {"verbose", no_argument, NULL, 'v'},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *host = NULL, *port = NULL, *challenge = NULL, *fp = NULL;
	const char *subject = "CN=certprobe-synthetic", *trust = NULL, *key = NULL;
	const char *caid = NULL, *method = NULL, *name = "enrollment";
	bool ssl = false;
	struct plugin_run pr;
	struct bbuf *y = &pr.yaml;
	int ch;

	plugin_setup(PROG);
	plugin_run_init(&pr, PROG, "enrollment", usage_short);
	while ((ch = getopt_long(argc, argv, "hVu:H:p:Sn:T:s:w:c:t:v", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			help();
			break;
		case 'V':
			plugin_print_version(PROG);
			break;
		case 'u':
			url = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 'S':
			ssl = true;
			break;
		case OPT_CHALLENGE:
			challenge = optarg;
			break;
		case OPT_SUBJECT:
			subject = optarg;
			break;
		case OPT_FP:
			fp = optarg;
			break;
		case OPT_TRUST:
			trust = optarg;
			break;
		case OPT_KEY:
			key = optarg;
			break;
		case OPT_CAID:
			caid = optarg;
			break;
		case OPT_METHOD:
			method = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case OPT_CONFIG:
			pr.cfgpath = optarg;
			break;
		case 'T':
			pr.name = optarg;
			break;
		case 's':
			pr.state_dir = optarg;
			break;
		case 'w':
			plugin_range_opt(PREFIX, usage_short, "-w", optarg, &pr.ro.total.warn);
			break;
		case 'c':
			plugin_range_opt(PREFIX, usage_short, "-c", optarg, &pr.ro.total.crit);
			break;
		case OPT_STEP_WARN:
		case OPT_STEP_CRIT:
			plugin_step_opt(PREFIX, usage_short, &pr.ro, optarg, ch == OPT_STEP_CRIT);
			break;
		case OPT_DAYS_WARN:
			plugin_range_opt(PREFIX, usage_short, "--days-warn", optarg,
			                 &pr.ro.days.warn);
			break;
		case OPT_DAYS_CRIT:
			plugin_range_opt(PREFIX, usage_short, "--days-crit", optarg,
			                 &pr.ro.days.crit);
			break;
		case 't':
			pr.timeout_s = plugin_timeout_opt(PREFIX, usage_short, optarg);
			break;
		case 'v':
			pr.ro.verbose++;
			break;
		default:
			plugin_usage_error(PREFIX, usage_short, "bad option");
		}
	}
	if (optind != argc)
		plugin_usage_error(PREFIX, usage_short, "unexpected argument '%s'", argv[optind]);
	if (pr.cfgpath == NULL) {
		char *full, *abs;
		if (pr.name != NULL)
			plugin_usage_error(PREFIX, usage_short, "-T NAME needs --config FILE");
		if (host == NULL && (url == NULL || strstr(url, "://") == NULL))
			plugin_usage_error(PREFIX, usage_short, "give -u URL or -H HOST");
		if (host != NULL && url != NULL && strstr(url, "://") != NULL)
			plugin_usage_error(PREFIX, usage_short, "-u is a path with -H");
		if (host != NULL)
			full = xasprintf("%s://%s%s%s%s", ssl ? "https" : "http", host,
			                 port != NULL ? ":" : "", port != NULL ? port : "",
			                 url != NULL ? url : "/certsrv/mscep/mscep.dll");
		else
			full = xstrdup(url);
		bbuf_appendf(y, "transactions:\n");
		plugin_yaml_str(y, 2, "- name", name);
		plugin_yaml_raw(y, 4, "type", "enrollment");
		plugin_yaml_raw(y, 4, "protocol", "scep");
		plugin_yaml_str(y, 4, "url", full);
		free(full);
		plugin_yaml_str(y, 4, "subject", subject);
		if (challenge != NULL) {
			abs = plugin_abs_path(challenge);
			bbuf_appendf(y, "    challenge:\n");
			plugin_yaml_str(y, 6, "file", abs);
			free(abs);
		}
		if (fp != NULL)
			plugin_yaml_str(y, 4, "ca_fingerprint", fp);
		if (trust != NULL) {
			abs = plugin_abs_path(trust);
			plugin_yaml_str(y, 4, "trust_store", abs);
			free(abs);
		}
		if (key != NULL) {
			char *k = key_yaml(key);
			if (k == NULL)
				plugin_usage_error(PREFIX, usage_short,
				                   "--key: '%s' is not rsa:BITS or ec:P-256|P-384",
				                   key);
			plugin_yaml_raw(y, 4, "key", k);
			free(k);
		}
		if (caid != NULL)
			plugin_yaml_str(y, 4, "ca_identifier", caid);
		if (method != NULL)
			plugin_yaml_str(y, 4, "method", method);
		plugin_yaml_raw(y, 4, "warn", "{expiry_days: 0}");
	}
	return plugin_run_main(&pr);
}
