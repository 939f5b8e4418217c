/*
 * plugin_common: what the check_* plugins share around the output library: the reserved
 * options' handling (-t with a hard alarm() backstop, -V, usage errors exiting 3),
 * threshold options (`-w RANGE`, `--step-warn STEP=RANGE`), and the process set-up.
 */
#ifndef CERTPROBE_PLUGIN_COMMON_H
#define CERTPROBE_PLUGIN_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "exporters/plugin_report.h"

#define PLUGIN_DEFAULT_TIMEOUT 10

/* Process set-up: log level (warnings and worse, stderr), no core dumps, SIGPIPE ignored. */
void plugin_setup(const char *prog);

/*
 * Arm the backstop: after seconds, print "PREFIX STATE - plugin timed out after N s"
 * (async-signal-safe) and _exit(state). The run's own deadline ends first normally.
 */
void plugin_timeout_arm(const char *prefix, unsigned seconds, enum plugin_state state);

/* Print "PREFIX UNKNOWN - msg" and the short usage to stdout, and exit 3. */
void plugin_usage_error(const char *prefix, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/* Parse a range argument of option opt, or exit through plugin_usage_error(). */
void plugin_range_opt(const char *prefix, const char *usage, const char *opt, const char *arg,
                      struct plugin_range *r);

/* "STEP=RANGE" of --step-warn (crit false) or --step-crit into opts, or exit 3. */
void plugin_step_opt(const char *prefix, const char *usage, struct plugin_report_opts *opts,
                     const char *arg, bool crit);

/* -t SECONDS (1..3600), or exit 3. */
unsigned plugin_timeout_opt(const char *prefix, const char *usage, const char *arg);

/* "PROG (certprobe VERSION)" and exit 3 (guidelines: --version exits UNKNOWN). */
void plugin_print_version(const char *prog) __attribute__((noreturn));

#endif
