/* plugin_run: one transaction run for a plugin (see plugin_run.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#define _DEFAULT_SOURCE 1 /* mkdtemp */
#include "plugin_run.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exporters/statefile.h"
#include "plugin_common.h"
#include "transactions/runner.h"
#include "transactions/txn_type.h"

/* what the deadline leaves the backstop: the run's own timeout reports first */
#define BACKSTOP_MARGIN_MS 300

void plugin_run_init(struct plugin_run *pr, const char *prog, const char *type, const char *usage)
{
	memset(pr, 0, sizeof *pr);
	pr->prog = prog;
	pr->type = type;
	pr->usage = usage;
	pr->timeout_s = PLUGIN_DEFAULT_TIMEOUT;
	plugin_range_parse("30:", &pr->ro.days.warn);
	bbuf_init(&pr->yaml, 64 * 1024);
}

void plugin_yaml_str(struct bbuf *b, int indent, const char *key, const char *value)
{
	char *q = statefile_quote(value);

	bbuf_appendf(b, "%*s%s: %s\n", indent, "", key, q);
	free(q);
}

void plugin_yaml_raw(struct bbuf *b, int indent, const char *key, const char *value)
{
	bbuf_appendf(b, "%*s%s: %s\n", indent, "", key, value);
}

char *plugin_abs_path(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == -1 ? 0 : 0; /* best effort: a leftover is not the target's fault */
}

/* The configuration's first error line ("FILE:L:C: message"), for the status line. */
static void first_line(const char *text, char *buf, size_t len)
{
	size_t n = strcspn(text, "\n");

	if (n >= len)
		n = len - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
}

static const struct txn_conf *pick(const struct config *cfg, const struct plugin_run *pr, char *why,
                                   size_t len)
{
	const struct txn_conf *found = NULL;

	if (pr->name != NULL) {
		found = config_find_txn(cfg, pr->name);
		if (found == NULL)
			snprintf(why, len, "no transaction named '%s' in %s", pr->name, cfg->path);
		else if (strcmp(txn_conf_type(found)->name, pr->type) != 0) {
			snprintf(why, len, "%s is a %s transaction, not %s", pr->name,
			         txn_conf_type(found)->name, pr->type);
			found = NULL;
		}
		return found;
	}
	for (const struct txn_conf *tc = cfg->txns; tc != NULL; tc = tc->next) {
		if (strcmp(txn_conf_type(tc)->name, pr->type) != 0)
			continue;
		if (found != NULL) {
			snprintf(why, len, "%s has several %s transactions: name one with -T",
			         cfg->path, pr->type);
			return NULL;
		}
		found = tc;
	}
	if (found == NULL)
		snprintf(why, len, "no %s transaction in %s", pr->type, cfg->path);
	return found;
}

int plugin_run_main(struct plugin_run *pr)
{
	char prefix[48], why[400], *errtext = NULL, tmpdir[] = "/tmp/certprobe-plugin.XXXXXX";
	size_t errlen = 0;
	FILE *errout;
	struct config *cfg;
	const struct txn_conf *tc;
	struct txn_conf *conf;
	struct runner_opts opts = {0};
	struct txn_env env;
	struct txn_result *result;
	struct plugin_output *o;
	uint64_t budget_ms;
	unsigned nerr = 0;
	bool temp = false;
	int rc;

	plugin_report_prefix(prefix, sizeof prefix, pr->type);
	plugin_timeout_arm(prefix, pr->timeout_s, PLUGIN_CRITICAL);
	errout = open_memstream(&errtext, &errlen);
	if (errout == NULL)
		plugin_usage_error(prefix, pr->usage, "out of memory");
	if (pr->cfgpath != NULL)
		cfg = config_load(pr->cfgpath, errout, &nerr);
	else
		cfg = config_load_buffer("<command line>", (const char *)pr->yaml.data,
		                         pr->yaml.len, errout, &nerr);
	fclose(errout);
	bbuf_free(&pr->yaml);
	if (cfg == NULL) {
		first_line(errtext != NULL ? errtext : "", why, sizeof why);
		printf("%s UNKNOWN - bad configuration: %s\n", prefix, why);
		free(errtext);
		return PLUGIN_UNKNOWN;
	}
	free(errtext);
	tc = pick(cfg, pr, why, sizeof why);
	if (tc == NULL) {
		printf("%s UNKNOWN - %s\n", prefix, why);
		config_free(cfg);
		return PLUGIN_UNKNOWN;
	}
	/* the run's own deadline ends inside -t, so a timeout reads as the step it hit */
	conf = (struct txn_conf *)(uintptr_t)tc;
	budget_ms = (uint64_t)pr->timeout_s * 1000;
	budget_ms =
	    budget_ms > 2 * BACKSTOP_MARGIN_MS ? budget_ms - BACKSTOP_MARGIN_MS : budget_ms / 2;
	if (conf->timeout_ms == 0 || conf->timeout_ms > budget_ms)
		conf->timeout_ms = budget_ms;
	if (pr->state_dir != NULL) {
		opts.state_dir = pr->state_dir;
	} else if (pr->cfgpath != NULL && pr->keep_cfg_state_dir) {
		opts.state_dir = cfg->state_dir;
	} else {
		if (mkdtemp(tmpdir) == NULL) {
			printf("%s UNKNOWN - cannot make a temporary state directory in /tmp\n",
			       prefix);
			config_free(cfg);
			return PLUGIN_UNKNOWN;
		}
		opts.state_dir = tmpdir;
		temp = true;
	}
	opts.key_workers = 1;
	opts.trace = pr->ro.verbose >= 3;
	if (pr->ro.verbose >= 3)
		log_set_level(LOG_LEVEL_DEBUG);
	if (runner_env_open(&env, &opts, why, sizeof why) == -1) {
		printf("%s UNKNOWN - %s\n", prefix, why);
		config_free(cfg);
		return PLUGIN_UNKNOWN;
	}
	result = xcalloc(1, sizeof *result);
	runner_run(&env, &tc, 1, result);
	alarm(0);
	runner_env_close(&env);
	if (temp)
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

	o = xcalloc(1, sizeof *o);
	plugin_output_init(o, prefix);
	pr->ro.now = (int64_t)time(NULL);
	pr->ro.max_s = (double)pr->timeout_s;
	plugin_report_result(o, result, &pr->ro);
	rc = plugin_output_print(o, stdout);
	free(o);
	free(result);
	config_free(cfg);
	return rc;
}
