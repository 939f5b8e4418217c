/*
 * dhcp_cmd: `certprobe dhcp-discover --interface IF [--server ADDR] ...`: one discovery
 * through dhcp_client on a loop of its own, printed like a transaction report (text, or
 * one JSON object with -j). For operators checking a DHCP set-up, and for the tests.
 */
#include "transactions/certprov/dhcp_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config/config.h"
#include "transactions/certprov/dhcp_client.h"
#include "transactions/report.h"

#define EXIT_USAGE 3

static const char dhcp_cmd_usage[] =
    "Usage: certprobe dhcp-discover -i IF [-s ADDR] [--timeout DUR] [--retries N]\n"
    "                               [--port auto|68|ephemeral] [--mode auto|inform|discover]\n"
    "                               [--vendor-class STR] [--server-port N] [-j]\n"
    "Sends what a Lync phone sends to find Web Services and its Registrar: a DHCPINFORM\n"
    "(a DHCPDISCOVER when IF has no IPv4 address; never followed by a REQUEST) with vendor\n"
    "class MS-UC-Client asking for options 43 and 120, and decodes the answer: the\n"
    "Certificate Provisioning Service URL, the registrar FQDN, the answering server and\n"
    "the raw options, or the classified fault.\n"
    "  -i, --interface IF     the interface to send on (required)\n"
    "  -s, --server ADDR      unicast to this DHCP server (default: broadcast)\n"
    "      --timeout DUR      per attempt (default 4s)\n"
    "      --retries N        attempts after the first (default 2)\n"
    "      --port MODE        client port: auto (68, else an ephemeral port for an INFORM:\n"
    "                         needs a server answering to the source port, as dnsmasq),\n"
    "                         68, or ephemeral (default auto)\n"
    "      --mode MODE        auto, inform or discover (default auto)\n"
    "      --vendor-class STR option 60 (default MS-UC-Client)\n"
    "      --server-port N    the server's port (default 67)\n"
    "  -j, --json             print one JSON object\n"
    "Exit status: 0 discovered, 2 failed (no answer, or a bad answer), 3 usage or the\n"
    "probe's own trouble (socket, interface).\n";

struct cmd_state {
	bool json;
	int exit_code;
	struct event_base *base;
};

static void print_text(const struct dhcp_discover_result *r)
{
	const struct txn_status_info *st = txn_status_info(r->status);

	printf("Target      : %s\n", r->certprov_url[0] ? r->certprov_url : "");
	printf("TargetFqdn  : %s\n", r->registrar);
	printf("Result      : %s\n", r->status == TXN_OK ? "Success" : "Failure");
	printf("State       : %s\n", result_class_name(st->result));
	printf("Latency     : %.1f ms\n", (double)r->elapsed_us / 1000.0);
	if (r->status == TXN_OK) {
		printf("Error       :\nDiagnosis   :\n");
	} else {
		printf("Error       : %s: %s%s%s\n", st->code, st->description,
		       r->detail[0] ? " — " : "", r->detail);
		printf("Diagnosis   : %s\n", st->action);
	}
	printf("Details     :\n");
	printf("  %-16s %s\n", "message", r->message);
	printf("  %-16s %s\n", "local", r->local);
	printf("  %-16s %s\n", "server", r->server);
	printf("  %-16s %u sent, %u answered\n", "attempts", r->attempts, r->answers);
	if (r->answers > 0)
		printf("  %-16s %.3f ms\n", "answer_time", (double)r->answer_us / 1000.0);
	printf("  %-16s %s\n", "option_43", r->opt43_hex);
	printf("  %-16s %s\n", "option_120", r->opt120_hex);
	printf("  %-16s %s\n", "ntp_servers", r->ntp_servers);
	printf("  %-16s %s\n", "vendor_class", r->vendor_class);
	printf("  %-16s %s\n", "options", r->options_hex);
}

static void print_json(const struct dhcp_discover_result *r)
{
	const struct txn_status_info *st = txn_status_info(r->status);
	const char *keys[] = {"certprov_url", "registrar",   "server",      "message",
	                      "local",        "detail",      "option_43",   "option_120",
	                      "options",      "ntp_servers", "vendor_class"};
	const char *vals[] = {r->certprov_url, r->registrar,   r->server,      r->message,
	                      r->local,        r->detail,      r->opt43_hex,   r->opt120_hex,
	                      r->options_hex,  r->ntp_servers, r->vendor_class};

	printf("{\"status\":\"%s\",\"result\":\"%s\",\"number\":%d", st->code,
	       result_class_name(st->result), (int)r->status);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		printf(",\"%s\":", keys[i]);
		report_json_string(stdout, vals[i]);
	}
	printf(",\"error\":");
	report_json_string(stdout, r->status == TXN_OK ? "" : st->description);
	printf(",\"diagnosis\":");
	report_json_string(stdout, r->status == TXN_OK ? "" : st->action);
	printf(
	    ",\"attempts\":%u,\"answers\":%u,\"latency_seconds\":%.6f,\"answer_seconds\":%.6f}\n",
	    r->attempts, r->answers, (double)r->elapsed_us / 1e6, (double)r->answer_us / 1e6);
}

static void on_done(const struct dhcp_discover_result *r, void *arg)
{
	struct cmd_state *s = arg;

	if (s->json)
		print_json(r);
	else
		print_text(r);
	s->exit_code = (int)txn_status_result(r->status);
	event_base_loopbreak(s->base);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	*out = strtoul(s, &end, 10);
	return *end != '\0' || *out > max ? -1 : 0;
}

int dhcp_cmd_main(int argc, char **argv)
{
	enum { OPT_TIMEOUT = 256, OPT_RETRIES, OPT_PORT, OPT_MODE, OPT_VCLASS, OPT_SPORT };
	static const struct option lopts[] = {
	    {"interface", required_argument, NULL, 'i'},
	    {"server", required_argument, NULL, 's'},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"retries", required_argument, NULL, OPT_RETRIES},
	    {"port", required_argument, NULL, OPT_PORT},
	    {"mode", required_argument, NULL, OPT_MODE},
	    {"vendor-class", required_argument, NULL, OPT_VCLASS},
	    {"server-port", required_argument, NULL, OPT_SPORT},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct dhcp_discover_opts o = {.timeout_ms = 4000, .retries = 2};
	struct cmd_state s = {.exit_code = EXIT_USAGE};
	unsigned long v;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "i:s:jh", lopts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			o.interface = optarg;
			break;
		case 's':
			o.server = optarg;
			break;
		case 'j':
			s.json = true;
			break;
		case 'h':
			fputs(dhcp_cmd_usage, stdout);
			return 0;
		case OPT_TIMEOUT:
			if (config_parse_duration(optarg, &o.timeout_ms) == -1 || o.timeout_ms == 0)
				goto usage;
			break;
		case OPT_RETRIES:
			if (parse_uint(optarg, 20, &v) == -1)
				goto usage;
			o.retries = (unsigned)v;
			break;
		case OPT_SPORT:
			if (parse_uint(optarg, 65535, &v) == -1 || v == 0)
				goto usage;
			o.server_port = (uint16_t)v;
			break;
		case OPT_PORT:
			if (strcmp(optarg, "auto") == 0)
				o.port = DHCP_PORT_AUTO;
			else if (strcmp(optarg, "68") == 0)
				o.port = DHCP_PORT_68;
			else if (strcmp(optarg, "ephemeral") == 0)
				o.port = DHCP_PORT_EPHEMERAL;
			else
				goto usage;
			break;
		case OPT_MODE:
			if (strcmp(optarg, "auto") == 0)
				o.mode = DHCP_MODE_AUTO;
			else if (strcmp(optarg, "inform") == 0)
				o.mode = DHCP_MODE_INFORM;
			else if (strcmp(optarg, "discover") == 0)
				o.mode = DHCP_MODE_DISCOVER;
			else
				goto usage;
			break;
		case OPT_VCLASS:
			if (strlen(optarg) == 0 || strlen(optarg) > 255)
				goto usage;
			o.vendor_class = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (o.interface == NULL || optind != argc)
		goto usage;
	s.base = event_base_new();
	if (s.base == NULL) {
		fprintf(stderr, "certprobe dhcp-discover: cannot create an event loop\n");
		return EXIT_USAGE;
	}
	dhcp_discover_start(s.base, &o, on_done, &s);
	event_base_dispatch(s.base);
	event_base_free(s.base);
	return s.exit_code;
usage:
	fputs(dhcp_cmd_usage, stderr);
	return EXIT_USAGE;
}
