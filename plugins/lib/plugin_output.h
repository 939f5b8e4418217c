/*
 * plugin_output: what a monitoring plugin prints, after the Monitoring Plugins
 * guidelines and the layout of monitoring-plugins 3 (lib/output.c): a result tree of
 * subchecks whose worst state is the plugin's, printed as one status line
 *   CERTPROBE CLIENTAUTH CRITICAL - pool1-logon: registrar rejected the certificate
 * (under 80 characters), one line per subcheck (`\_[OK] tls_handshake 8 ms`), free
 * lines (the Diagnosis), and the perfdata after a `|` at the end
 * (`'label'=value[UOM];warn;crit;min;max`). The whole text stays under Nagios's
 * 8 KiB (MAX_PLUGIN_OUTPUT_LENGTH): long lines are cut first, perfdata last. `|` in
 * any text is replaced (it would start perfdata), control characters too.
 * Used by the check_* plugins and by the daemon's passive results alike; it depends
 * on nothing else in certprobe.
 */
#ifndef CERTPROBE_PLUGIN_OUTPUT_H
#define CERTPROBE_PLUGIN_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "plugin_range.h"

/* The states are the exit codes. */
enum plugin_state {
	PLUGIN_OK = 0,
	PLUGIN_WARNING = 1,
	PLUGIN_CRITICAL = 2,
	PLUGIN_UNKNOWN = 3,
};

#define PLUGIN_OUTPUT_MAX 8000 /* below Nagios's 8192, with room for a core's own text */
#define PLUGIN_STATUS_LINE_MAX 79
#define PLUGIN_SUBCHECKS_MAX 48
#define PLUGIN_LINES_MAX 48
#define PLUGIN_TEXT_MAX 400
#define PLUGIN_PERF_MAX 3000

/* "OK", "WARNING", "CRITICAL", "UNKNOWN" ("UNKNOWN" for anything else). */
const char *plugin_state_name(enum plugin_state s);
/* The worse of a and b in monitoring-plugins order: CRITICAL > WARNING > UNKNOWN > OK. */
enum plugin_state plugin_state_worst(enum plugin_state a, enum plugin_state b);

struct plugin_subcheck {
	enum plugin_state state;
	char text[PLUGIN_TEXT_MAX];
};

struct plugin_output {
	char prefix[48];         /* "CERTPROBE CLIENTAUTH" */
	enum plugin_state state; /* worst of the subchecks and plugin_output_raise() */
	char summary[PLUGIN_TEXT_MAX];
	struct plugin_subcheck subs[PLUGIN_SUBCHECKS_MAX];
	size_t n_subs;
	char lines[PLUGIN_LINES_MAX][PLUGIN_TEXT_MAX]; /* free text after the subchecks */
	size_t n_lines;
	char perf[PLUGIN_PERF_MAX];
	size_t perf_len;
	bool perf_cut; /* a perfdata item did not fit */
};

/* Start o: state OK, no summary, nothing else. prefix is copied. */
void plugin_output_init(struct plugin_output *o, const char *prefix);
/* The text after "PREFIX STATE - " (printf format; cut on output). */
void plugin_output_summary(struct plugin_output *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Make o's state at least s (worst wins). */
void plugin_output_raise(struct plugin_output *o, enum plugin_state s);
/* A subcheck line (its state counts: worst wins). Past PLUGIN_SUBCHECKS_MAX: dropped. */
void plugin_output_sub(struct plugin_output *o, enum plugin_state s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A free line after the subchecks (the Diagnosis). Past PLUGIN_LINES_MAX: dropped. */
void plugin_output_line(struct plugin_output *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * One perfdata item: label (quoted, `'` doubled, `=` replaced), value with up to six
 * decimals (trailing zeros dropped), uom ("s", "B", "%", "c", "" ...), the thresholds
 * (NULL or unset ranges leave their field empty), min and max ("" or NULL for none).
 * known false writes "U" for the value.
 */
void plugin_output_perf(struct plugin_output *o, const char *label, bool known, double value,
                        const char *uom, const struct plugin_thresholds *t, const char *min,
                        const char *max);

/*
 * The whole text, NUL-terminated, in buf (len bytes; at most PLUGIN_OUTPUT_MAX are
 * used): status line, subchecks as `\_[STATE] text`, the lines, and `|perfdata` on the
 * last line. Returns its length.
 */
size_t plugin_output_render(const struct plugin_output *o, char *buf, size_t len);

/* Render to out with a final newline; returns o's state (the exit code). */
int plugin_output_print(const struct plugin_output *o, FILE *out);

/* A number as perfdata prints it ("0.0125", "30", "-1.5"). */
void plugin_format_number(char *buf, size_t len, double v);

#endif
