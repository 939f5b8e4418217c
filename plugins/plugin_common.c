/* plugin_common: shared plugin options and set-up (see plugin_common.h). */
#include "plugin_common.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/coredump.h"
#include "core/log.h"

static char timeout_msg[200];
static size_t timeout_len;
static int timeout_state;

static void on_alarm(int sig)
{
	ssize_t w;

	(void)sig;
	w = write(STDOUT_FILENO, timeout_msg, timeout_len);
	(void)w;
	_exit(timeout_state);
}

void plugin_setup(const char *prog)
{
	log_init(prog, LOG_LEVEL_ERR);
	/* a plugin never leaves a core with a key or a challenge in it */
	if (coredump_restrict() == -1)
		exit(PLUGIN_UNKNOWN);
	signal(SIGPIPE, SIG_IGN);
}

void plugin_timeout_arm(const char *prefix, unsigned seconds, enum plugin_state state)
{
	struct sigaction sa;
	int n;

	n = snprintf(timeout_msg, sizeof timeout_msg, "%s %s - plugin timed out after %u s\n",
	             prefix, plugin_state_name(state), seconds);
	timeout_len = n > 0 && (size_t)n < sizeof timeout_msg ? (size_t)n : 0;
	timeout_state = (int)state;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}

void plugin_usage_error(const char *prefix, const char *usage, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	printf("%s UNKNOWN - %s\n%s", prefix, msg, usage);
	exit(PLUGIN_UNKNOWN);
}

void plugin_range_opt(const char *prefix, const char *usage, const char *opt, const char *arg,
                      struct plugin_range *r)
{
	if (plugin_range_parse(arg, r) == -1)
		plugin_usage_error(prefix, usage, "%s: '%s' is not a range ([@]start:end)", opt,
		                   arg);
}

void plugin_step_opt(const char *prefix, const char *usage, struct plugin_report_opts *opts,
                     const char *arg, bool crit)
{
	const char *eq = strchr(arg, '=');
	const char *opt = crit ? "--step-crit" : "--step-warn";
	struct plugin_report_step *s = NULL;
	size_t len;

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof s->step)
		plugin_usage_error(prefix, usage, "%s: '%s' is not STEP=RANGE", opt, arg);
	len = (size_t)(eq - arg);
	for (size_t i = 0; i < opts->n_steps; i++)
		if (strlen(opts->steps[i].step) == len &&
		    strncmp(opts->steps[i].step, arg, len) == 0)
			s = &opts->steps[i];
	if (s == NULL) {
		if (opts->n_steps == PLUGIN_REPORT_STEPS_MAX)
			plugin_usage_error(prefix, usage, "%s: at most %d steps", opt,
			                   PLUGIN_REPORT_STEPS_MAX);
		s = &opts->steps[opts->n_steps++];
		memcpy(s->step, arg, len);
		s->step[len] = '\0';
	}
	plugin_range_opt(prefix, usage, opt, eq + 1, crit ? &s->t.crit : &s->t.warn);
}

unsigned plugin_timeout_opt(const char *prefix, const char *usage, const char *arg)
{
	unsigned long v = 0;
	char *end = NULL;

	errno = 0;
	if (arg[0] >= '0' && arg[0] <= '9')
		v = strtoul(arg, &end, 10);
	if (end == NULL || *end != '\0' || errno != 0 || v < 1 || v > 3600)
		plugin_usage_error(prefix, usage, "-t: '%s' is not a number of seconds (1-3600)",
		                   arg);
	return (unsigned)v;
}

void plugin_print_version(const char *prog)
{
	printf("%s (certprobe %s)\n", prog, CERTPROBE_VERSION);
	exit(PLUGIN_UNKNOWN);
}
