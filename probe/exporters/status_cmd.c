/*
 * status_cmd: `certprobe status`, the reader of certprobed's state file. A table of
 * every transaction, endpoint and open alert, or one transaction in full (its health
 * and the report of its last run), or the stored JSON. Exit status is the worst HARD
 * state shown (Nagios codes), 3 when the state cannot be read or is older than
 * --max-age: a plugin or script can rely on it.
 */
#define _DEFAULT_SOURCE 1
#include "exporters/status_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/fileload.h"
#include "core/xalloc.h"
#include "exporters/statefile.h"
#include "transactions/report.h"

#define EXIT_UNKNOWN 3

static void ago(char *buf, size_t len, int64_t when, int64_t now)
{
	int64_t d = now - when;

	if (when <= 0)
		snprintf(buf, len, "never");
	else if (d < 120)
		snprintf(buf, len, "%lld s ago", (long long)d);
	else if (d < 7200)
		snprintf(buf, len, "%lld min ago", (long long)(d / 60));
	else if (d < 172800)
		snprintf(buf, len, "%lld h ago", (long long)(d / 3600));
	else
		snprintf(buf, len, "%lld d ago", (long long)(d / 86400));
}

static void utc(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void health_text(char *buf, size_t len, const struct health *h)
{
	if (h->state_type == HEALTH_SOFT)
		snprintf(buf, len, "%s SOFT %u%s", result_class_name(h->state), h->attempt,
		         h->flap.flapping ? " FLAPPING" : "");
	else
		snprintf(buf, len, "%s HARD%s", result_class_name(h->state),
		         h->flap.flapping ? " FLAPPING" : "");
}

static void print_table(const struct sf_state *s, int64_t now)
{
	char a[32], st[48], lat[32];

	printf("%-24s %-12s %-20s %-12s %-9s %-28s %9s  %s\n", "TRANSACTION", "TYPE", "STATE",
	       "LAST RUN", "RESULT", "REASON", "LATENCY", "ENDPOINT");
	for (size_t i = 0; i < s->n_txns; i++) {
		const struct sf_txn *t = &s->txns[i];
		ago(a, sizeof a, t->last_run, now);
		health_text(st, sizeof st, &t->health);
		if (t->have_last)
			snprintf(lat, sizeof lat, "%.1f ms", (double)t->last.duration_us / 1000.0);
		else
			snprintf(lat, sizeof lat, "-");
		printf("%-24s %-12s %-20s %-12s %-9s %-28s %9s  %s\n", t->name, t->type, st, a,
		       t->have_last ? result_class_name(t->last.result) : "-",
		       t->have_last ? txn_status_code(txn_result_reason(&t->last, NULL)) : "-", lat,
		       t->endpoint);
	}
	printf("\n%-32s %-12s %-9s %-21s %s\n", "ENDPOINT", "KIND", "STATE", "SINCE", "FAILING");
	for (size_t i = 0; i < s->n_endpoints; i++) {
		const struct sf_endpoint *e = &s->endpoints[i];
		utc(a, sizeof a, (int64_t)e->health.last_change);
		printf("%-32s %-12s %-9s %-21s %u/%u%s\n", e->name, e->kind,
		       result_class_name(e->health.state), a, e->health.members_failing,
		       e->health.members, e->health.flap.flapping ? " FLAPPING" : "");
	}
	if (s->n_alerts > 0) {
		printf("\nALERTS\n");
		for (size_t i = 0; i < s->n_alerts; i++) {
			const struct sf_alert *al = &s->alerts[i];
			const char *sev = "", *ep = "", *kind = "";
			for (size_t k = 0; k < al->n_labels; k++) {
				if (strcmp(al->labels[k].name, "severity") == 0)
					sev = al->labels[k].value;
				else if (strcmp(al->labels[k].name, "endpoint") == 0)
					ep = al->labels[k].value;
				else if (strcmp(al->labels[k].name, "kind") == 0)
					kind = al->labels[k].value;
			}
			utc(a, sizeof a, al->starts_at);
			printf("%-9s %s %s since %s%s\n", sev, kind, ep, a,
			       al->resolved ? " (resolved; delivery pending)" : "");
		}
	}
}

/* The recent runs the daemon kept (probe.history), newest first: at most HISTORY_SHOWN. */
#define HISTORY_SHOWN 20

static void print_history(const struct history *h)
{
	size_t n = history_count(h);
	char a[32], code[16];

	if (n == 0)
		return;
	printf("\nRecent runs (%zu kept, newest first):\n", n);
	printf("  %-20s %-9s %-28s %10s  %s\n", "ENDED", "RESULT", "REASON", "LATENCY", "CODE");
	for (size_t k = 0; k < n && k < HISTORY_SHOWN; k++) {
		const struct history_entry *e = history_get(h, n - 1 - k);
		utc(a, sizeof a, e->end);
		if (e->protocol_code > 0)
			snprintf(code, sizeof code, "%d", (int)e->protocol_code);
		else
			snprintf(code, sizeof code, "-");
		printf("  %-20s %-9s %-28s %7.1f ms  %s\n", a,
		       e->result <= RESULT_UNKNOWN ? result_class_name((enum result_class)e->result)
		                                   : "?",
		       txn_status_code((enum txn_status)e->status), (double)e->duration_us / 1000.0,
		       code);
	}
	if (n > HISTORY_SHOWN)
		printf("  ... %zu older (certprobe status --json NAME has them all)\n",
		       n - HISTORY_SHOWN);
}

static void print_one(const struct sf_txn *t, int64_t now)
{
	char a[32], b[32], st[48];
	const struct health *h = &t->health;

	health_text(st, sizeof st, h);
	printf("Transaction : %s (%s)\n", t->name, t->type);
	printf("Endpoint    : %s %s\n", t->endpoint_kind, t->endpoint);
	printf("State       : %s, hard state %s (%s)\n", st, result_class_name(h->hard_state),
	       txn_status_code(h->hard_status));
	utc(a, sizeof a, (int64_t)h->last_change);
	utc(b, sizeof b, (int64_t)h->last_hard_change);
	printf("Changed     : %s (hard: %s)\n", a, b);
	printf("Flapping    : %s (%.1f %% state change)\n", h->flap.flapping ? "yes" : "no",
	       h->flap.percent);
	ago(a, sizeof a, t->last_run, now);
	ago(b, sizeof b, t->last_success, now);
	printf("Last run    : %s; last success %s\n", a, b);
	printf("Runs        : %llu OK, %llu WARNING, %llu CRITICAL, %llu UNKNOWN\n",
	       (unsigned long long)t->runs[RESULT_OK], (unsigned long long)t->runs[RESULT_WARNING],
	       (unsigned long long)t->runs[RESULT_CRITICAL],
	       (unsigned long long)t->runs[RESULT_UNKNOWN]);
	if (t->have_last) {
		printf("\nLast run:\n");
		report_text(stdout, &t->last);
	}
	print_history(t->history);
}

static void status_usage(FILE *out)
{
	fputs("Usage: certprobe status [-c FILE | -s DIR | --state FILE] [--json]\n"
	      "                        [--max-age DURATION] [NAME]\n",
	      out);
}

static int worst_hard(const struct sf_state *s, const char *name)
{
	int worst = 0;

	for (size_t i = 0; i < s->n_txns; i++) {
		int c = (int)s->txns[i].health.hard_state;
		if (name != NULL && strcmp(s->txns[i].name, name) != 0)
			continue;
		if (c > worst)
			worst = c;
	}
	return worst;
}

int status_command(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"state-dir", required_argument, NULL, 's'},
	    {"state", required_argument, NULL, 'f'},
	    {"json", no_argument, NULL, 'j'},
	    {"max-age", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *cfgpath = NULL, *dir = NULL, *file = NULL, *name = NULL;
	char *path = NULL, err[512];
	bool json = false;
	uint64_t max_age_ms = 0;
	struct sf_state *s;
	int64_t now = (int64_t)time(NULL);
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 's':
			dir = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'm':
			if (config_parse_duration(optarg, &max_age_ms) == -1 || max_age_ms == 0) {
				fprintf(stderr, "certprobe status: bad --max-age '%s' (e.g. 5m)\n",
				        optarg);
				return EXIT_UNKNOWN;
			}
			break;
		case 'h':
			status_usage(stdout);
			return 0;
		default:
			status_usage(stderr);
			return EXIT_UNKNOWN;
		}
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind != argc) {
		status_usage(stderr);
		return EXIT_UNKNOWN;
	}
	if (file != NULL) {
		path = xstrdup(file);
	} else if (dir != NULL) {
		path = xasprintf("%s/%s", dir, STATEFILE_NAME);
	} else if (cfgpath != NULL) {
		unsigned nerr = 0;
		struct config *cfg = config_load(cfgpath, stderr, &nerr);
		if (cfg == NULL)
			return EXIT_UNKNOWN;
		path = xasprintf("%s/%s", cfg->state_dir, STATEFILE_NAME);
		config_free(cfg);
	} else {
		path = xasprintf("/var/lib/certprobe/%s", STATEFILE_NAME);
	}
	s = statefile_load(path, err, sizeof err);
	if (s == NULL) {
		printf("UNKNOWN: %s%s\n", err,
		       errno == ENOENT ? " (is certprobed running with this state directory?)"
		                       : "");
		free(path);
		return EXIT_UNKNOWN;
	}
	if (max_age_ms > 0 && (uint64_t)(now - s->written) * 1000 > max_age_ms) {
		char a[32];
		ago(a, sizeof a, s->written, now);
		printf("UNKNOWN: %s was written %s: is certprobed running?\n", path, a);
		statefile_state_free(s);
		free(path);
		return EXIT_UNKNOWN;
	}
	if (name != NULL && statefile_find_txn(s, name) == NULL) {
		printf("UNKNOWN: no transaction named '%s' in %s\n", name, path);
		statefile_state_free(s);
		free(path);
		return EXIT_UNKNOWN;
	}
	rc = worst_hard(s, name);
	if (json) {
		if (name != NULL) {
			char *rec = statefile_txn_json(statefile_find_txn(s, name));
			printf("%s\n", rec);
			free(rec);
		} else {
			/* the file just parsed: bounded, regular (statefile_load checked) */
			struct fileload_fail ff;
			char *text;
			size_t len;
			if (fileload_read(path, FILELOAD_MAX_STATE, &text, &len, &ff) == 0) {
				fwrite(text, 1, len, stdout);
				free(text);
			}
		}
	} else if (name != NULL) {
		print_one(statefile_find_txn(s, name), now);
	} else {
		char a[32], w[32];
		utc(w, sizeof w, s->written);
		ago(a, sizeof a, s->written, now);
		printf("%s: written %s (%s) by %s, pid %ld\n\n", path, w, a, s->generator, s->pid);
		print_table(s, now);
	}
	statefile_state_free(s);
	free(path);
	return rc;
}
