/*
 * check_clientauth: the monitoring plugin that logs on to a SIP registrar once, as a
 * device does: mutual TLS verified against a device-like trust store, SIP REGISTER with
 * the client certificate (then un-REGISTER), or OPTIONS. Configured from its options
 * alone or from a certprobe configuration (-c FILE -T NAME); run by the runner that
 * `certprobe run` uses (plugin_run.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_common.h"
#include "plugin_run.h"

#define PROG "check_clientauth"
#define PREFIX "CERTPROBE CLIENTAUTH"

static const char usage_short[] =
    "Usage: check_clientauth -H HOST [-p PORT] --sip-uri URI --trust-store FILE\n"
    "         [--cert FILE --key FILE] [--tls-name NAME] [--method register|options]\n"
    "         [--tls-max-version 1.2|1.3] [--family ipv4|ipv6] [--auth mtls|tls-dsk]\n"
    "         [-n NAME]\n"
    "         [-w RANGE] [-c RANGE] [--step-warn STEP=RANGE] [--step-crit STEP=RANGE]\n"
    "         [--days-warn RANGE] [--days-crit RANGE] [-t SECONDS] [-v]\n"
    "       check_clientauth --domain DOMAIN [--resolver IP[:PORT]] --sip-uri URI ...\n"
    "       check_clientauth --config FILE [-T NAME] [-s DIR] [thresholds] [-t] [-v]\n"
    "       check_clientauth -h | -V\n";

static void help(void)
{
	printf("%s (certprobe %s)\n\n", PROG, CERTPROBE_VERSION);
	fputs("Logs on to a SIP registrar once with a client certificate, as a device does,\n"
	      "and reports every step: connect, TLS handshake (server chain verified against\n"
	      "a device-like trust store), REGISTER and un-REGISTER (or OPTIONS).\n\n",
	      stdout);
	fputs(usage_short, stdout);
	fputs(
	    "\nOptions:\n"
	    " -h, --help        Print this help and exit (3).\n"
	    " -V, --version     Print the version and exit (3).\n"
	    " -H, --hostname HOST\n"
	    "    The registrar's host name or address.\n"
	    " -p, --port PORT   Its TLS port (default 5061).\n"
	    " --domain DOMAIN   Find the registrar by DNS instead (SRV _sipinternaltls._tcp,\n"
	    "                   _sip._tls, ..., then the A-record fallbacks), as Lync/Skype\n"
	    "                   for Business devices do; --resolver IP[:PORT] asks that server.\n"
	    " --sip-uri URI     The identity to register (sip:user@domain); required.\n"
	    " --cert FILE, --key FILE\n"
	    "    The client certificate (PEM, leaf first) and its key. Without them no\n"
	    "    certificate is sent (to check that the registrar refuses such devices).\n"
	    " --trust-store FILE\n"
	    "    The roots a device ships with (PEM); required.\n"
	    " --tls-name NAME   The name the server certificate must carry (default HOST).\n"
	    " --tls-max-version 1.2|1.3, --family ipv4|ipv6\n"
	    " --method register|options\n"
	    "    REGISTER then un-REGISTER (default), or an OPTIONS ping.\n"
	    " --auth mtls|tls-dsk\n"
	    "    Mutual TLS on the connection (default), or Lync/Skype TLS-DSK inside SIP\n"
	    "    (challenge, tunnelled handshake, signed REGISTER; needs --cert).\n"
	    " -n, --name NAME   The name in the output (default clientauth).\n"
	    " --config FILE, -T, --transaction NAME\n"
	    "    Run the client-auth transaction NAME of a certprobe configuration instead\n"
	    "    (the only one when -T is absent). A certificate: {from: ENROLLMENT} is read\n"
	    "    from the configuration's state directory, or -s DIR.\n"
	    " -s, --state-dir DIR\n"
	    " -w, --warning RANGE, -c, --critical RANGE\n"
	    "    Thresholds on the total time, in seconds.\n"
	    " --step-warn STEP=RANGE, --step-crit STEP=RANGE\n"
	    "    Thresholds on one step in seconds (steps: certificate, discover, connect,\n"
	    "    tls_handshake, challenge, dsk_handshake, register, unregister, options);\n"
	    "    repeatable.\n"
	    " --days-warn RANGE, --days-crit RANGE\n"
	    "    Thresholds on the days left of the client and server certificates\n"
	    "    (default --days-warn 30:).\n"
	    " -t, --timeout SECONDS\n"
	    "    Bound the whole run (default 10): the run's deadline ends 0.3 s before, a\n"
	    "    hard alarm() at SECONDS; either is CRITICAL.\n"
	    " -v, --verbose     Once: step details; twice: certificate subjects, TLS\n"
	    "                   version, SIP status; three times: a wire trace on stderr.\n"
	    "\n"
	    "Ranges: [@]start:end (10, 10:, ~:10, 10:20, @10:20); outside alerts, inside with @.\n"
	    "Exit status: 0 OK, 1 WARNING, 2 CRITICAL (network, TLS and SIP failures, a\n"
	    "certificate the registrar rejects), 3 UNKNOWN (usage, the probe's own failure).\n"
	    "Perfdata: each step's time and the total (s), client_cert_days, server_cert_days.\n"
	    "No key, password or challenge is ever printed.\n"
	    "\n"
	    "Example:\n"
	    "  check_clientauth -H pool1.example.com --sip-uri sip:alice@example.com \\\n"
	    "      --cert alice.pem --key alice.key --trust-store device-roots.pem \\\n"
	    "      --step-warn tls_handshake=0.5 --days-warn 30: --days-crit 14:\n"
	    "See certprobe(1) and certprobe.yaml(5).\n",
	    stdout);
	exit(PLUGIN_UNKNOWN);
}

enum {
	OPT_SIP_URI = 256,
	OPT_CERT,
	OPT_KEY,
	OPT_TRUST,
	OPT_TLS_NAME,
	OPT_METHOD,
	OPT_TLS_MAX,
	OPT_FAMILY,
	OPT_DOMAIN,
	OPT_RESOLVER,
	OPT_CONFIG,
	OPT_STEP_WARN,
	OPT_STEP_CRIT,
	OPT_DAYS_WARN,
	OPT_DAYS_CRIT,
	OPT_AUTH,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"hostname", required_argument, NULL, 'H'},
	    {"port", required_argument, NULL, 'p'},
	    {"sip-uri", required_argument, NULL, OPT_SIP_URI},
	    {"cert", required_argument, NULL, OPT_CERT},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"trust-store", required_argument, NULL, OPT_TRUST},
	    {"tls-name", required_argument, NULL, OPT_TLS_NAME},
	    {"method", required_argument, NULL, OPT_METHOD},
	    {"auth", required_argument, NULL, OPT_AUTH},
	    {"tls-max-version", required_argument, NULL, OPT_TLS_MAX},
	    {"family", required_argument, NULL, OPT_FAMILY},
	    {"domain", required_argument, NULL, OPT_DOMAIN},
	    {"resolver", required_argument, NULL, OPT_RESOLVER},
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
	const char *host = NULL, *port = "5061", *uri = NULL, *cert = NULL, *key = NULL;
	const char *trust = NULL, *tls_name = NULL, *method = NULL, *tls_max = NULL, *auth = NULL;
	const char *family = NULL, *domain = NULL, *resolver = NULL, *name = "clientauth";
	struct plugin_run pr;
	struct bbuf *y = &pr.yaml;
	int ch;

	plugin_setup(PROG);
	plugin_run_init(&pr, PROG, "client-auth", usage_short);
	while ((ch = getopt_long(argc, argv, "hVH:p:n:T:s:w:c:t:v", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			help();
			break;
		case 'V':
			plugin_print_version(PROG);
			break;
		case 'H':
			host = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case OPT_SIP_URI:
			uri = optarg;
			break;
		case OPT_CERT:
			cert = optarg;
			break;
		case OPT_KEY:
			key = optarg;
			break;
		case OPT_TRUST:
			trust = optarg;
			break;
		case OPT_TLS_NAME:
			tls_name = optarg;
			break;
		case OPT_METHOD:
			method = optarg;
			break;
		case OPT_AUTH:
			auth = optarg;
			break;
		case OPT_TLS_MAX:
			tls_max = optarg;
			break;
		case OPT_FAMILY:
			family = optarg;
			break;
		case OPT_DOMAIN:
			domain = optarg;
			break;
		case OPT_RESOLVER:
			resolver = optarg;
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
	pr.keep_cfg_state_dir = true;
	if (pr.cfgpath == NULL) {
		char *abs;
		if (pr.name != NULL)
			plugin_usage_error(PREFIX, usage_short, "-T NAME needs --config FILE");
		if ((host == NULL) == (domain == NULL))
			plugin_usage_error(PREFIX, usage_short, "give -H HOST or --domain DOMAIN");
		if (uri == NULL || trust == NULL)
			plugin_usage_error(PREFIX, usage_short,
			                   "--sip-uri and --trust-store are required");
		if ((cert == NULL) != (key == NULL))
			plugin_usage_error(PREFIX, usage_short, "--cert and --key go together");
		bbuf_appendf(y, "transactions:\n");
		plugin_yaml_str(y, 2, "- name", name);
		plugin_yaml_raw(y, 4, "type", "client-auth");
		bbuf_appendf(y, "    registrar:\n");
		if (host != NULL) {
			plugin_yaml_str(y, 6, "host", host);
			plugin_yaml_raw(y, 6, "port", port);
		} else {
			plugin_yaml_raw(y, 6, "discover", "dns");
			plugin_yaml_str(y, 6, "domain", domain);
			if (resolver != NULL)
				plugin_yaml_str(y, 6, "resolver", resolver);
		}
		if (tls_name != NULL)
			plugin_yaml_str(y, 6, "tls_name", tls_name);
		if (tls_max != NULL)
			plugin_yaml_str(y, 6, "tls_max_version", tls_max);
		if (family != NULL)
			plugin_yaml_str(y, 6, "family", family);
		plugin_yaml_str(y, 4, "sip_uri", uri);
		if (cert != NULL) {
			bbuf_appendf(y, "    certificate:\n");
			abs = plugin_abs_path(cert);
			plugin_yaml_str(y, 6, "cert", abs);
			free(abs);
			abs = plugin_abs_path(key);
			plugin_yaml_str(y, 6, "key", abs);
			free(abs);
		}
		abs = plugin_abs_path(trust);
		plugin_yaml_str(y, 4, "trust_store", abs);
		free(abs);
		if (method != NULL)
			plugin_yaml_str(y, 4, "method", method);
		if (auth != NULL)
			plugin_yaml_str(y, 4, "auth", auth);
		/* expiry is judged by --days-warn/--days-crit here */
		plugin_yaml_raw(y, 4, "warn", "{expiry_days: 0}");
	}
	return plugin_run_main(&pr);
}
