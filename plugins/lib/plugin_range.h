/*
 * plugin_range: Nagios threshold ranges, the monitoring-plugins guidelines' `[@]start:end`.
 * start defaults to 0, `~` is minus infinity, an empty end is plus infinity; a value
 * alerts when it lies outside start..end (inclusive), or inside it with a leading `@`:
 *   10 (x < 0 or x > 10)   10: (x < 10)   ~:10 (x > 10)   10:20   @10:20 (10 <= x <= 20)
 * No dependency on the rest of certprobe: the plugins, the daemon's passive results and
 * the tests link it alike.
 */
#ifndef CERTPROBE_PLUGIN_RANGE_H
#define CERTPROBE_PLUGIN_RANGE_H

#include <stdbool.h>
#include <stddef.h>

#define PLUGIN_RANGE_TEXT 40

struct plugin_range {
	bool set;       /* false: no threshold (never alerts) */
	bool inside;    /* `@`: alert inside start..end */
	bool start_inf; /* `~` */
	bool end_inf;   /* empty end */
	double start;
	double end;
	char text[PLUGIN_RANGE_TEXT]; /* as given, for perfdata */
};

/*
 * Parse s into r. Returns 0, or -1 when s is not a range (empty, junk, a number that
 * does not parse whole, start > end, longer than PLUGIN_RANGE_TEXT - 1); r is then
 * unset.
 */
int plugin_range_parse(const char *s, struct plugin_range *r);

/* True when v triggers r (false when r is not set). */
bool plugin_range_alert(const struct plugin_range *r, double v);

/* A warning and a critical range. */
struct plugin_thresholds {
	struct plugin_range warn;
	struct plugin_range crit;
};

/* 2 when crit alerts, else 1 when warn alerts, else 0 (Nagios exit codes). */
int plugin_thresholds_check(const struct plugin_thresholds *t, double v);

#endif
