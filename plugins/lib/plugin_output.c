/* plugin_output: the plugin text, monitoring-plugins 3 layout (see plugin_output.h). */
#include "plugin_output.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *plugin_state_name(enum plugin_state s)
{
	switch (s) {
	case PLUGIN_OK:
		return "OK";
	case PLUGIN_WARNING:
		return "WARNING";
	case PLUGIN_CRITICAL:
		return "CRITICAL";
	default:
		return "UNKNOWN";
	}
}

static int state_rank(enum plugin_state s)
{
	switch (s) {
	case PLUGIN_OK:
		return 0;
	case PLUGIN_UNKNOWN:
		return 1;
	case PLUGIN_WARNING:
		return 2;
	case PLUGIN_CRITICAL:
		return 3;
	}
	return 1;
}

enum plugin_state plugin_state_worst(enum plugin_state a, enum plugin_state b)
{
	return state_rank(a) >= state_rank(b) ? a : b;
}

/* `|` starts perfdata and a line break a new line: neither may come from a text. */
static void sanitise(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '|')
			*s = '/';
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
	}
}

static void vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
	vsnprintf(buf, len, fmt, ap);
	sanitise(buf);
}

void plugin_output_init(struct plugin_output *o, const char *prefix)
{
	memset(o, 0, sizeof *o);
	snprintf(o->prefix, sizeof o->prefix, "%s", prefix);
	sanitise(o->prefix);
	o->state = PLUGIN_OK;
}

void plugin_output_summary(struct plugin_output *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat(o->summary, sizeof o->summary, fmt, ap);
	va_end(ap);
}

void plugin_output_raise(struct plugin_output *o, enum plugin_state s)
{
	o->state = plugin_state_worst(o->state, s);
}

void plugin_output_sub(struct plugin_output *o, enum plugin_state s, const char *fmt, ...)
{
	va_list ap;

	plugin_output_raise(o, s);
	if (o->n_subs == PLUGIN_SUBCHECKS_MAX)
		return;
	o->subs[o->n_subs].state = s;
	va_start(ap, fmt);
	vformat(o->subs[o->n_subs].text, sizeof o->subs[o->n_subs].text, fmt, ap);
	va_end(ap);
	o->n_subs++;
}

void plugin_output_line(struct plugin_output *o, const char *fmt, ...)
{
	va_list ap;

	if (o->n_lines == PLUGIN_LINES_MAX)
		return;
	va_start(ap, fmt);
	vformat(o->lines[o->n_lines], sizeof o->lines[o->n_lines], fmt, ap);
	va_end(ap);
	o->n_lines++;
}

void plugin_format_number(char *buf, size_t len, double v)
{
	char *dot, *end;

	snprintf(buf, len, "%.6f", v);
	dot = strchr(buf, '.');
	if (dot == NULL)
		return;
	end = buf + strlen(buf) - 1;
	while (end > dot && *end == '0')
		*end-- = '\0';
	if (end == dot)
		*end = '\0';
	if (strcmp(buf, "-0") == 0)
		snprintf(buf, len, "0");
}

void plugin_output_perf(struct plugin_output *o, const char *label, bool known, double value,
                        const char *uom, const struct plugin_thresholds *t, const char *min,
                        const char *max)
{
	char item[400], lab[128], num[48];
	size_t n = 0, need;
	int w;

	for (const char *p = label; *p != '\0' && n + 2 < sizeof lab; p++) {
		if (*p == '\'') {
			lab[n++] = '\'';
			lab[n++] = '\'';
		} else {
			lab[n++] = (*p == '=' || (unsigned char)*p < 0x20 || *p == '|') ? '_' : *p;
		}
	}
	lab[n] = '\0';
	if (known)
		plugin_format_number(num, sizeof num, value);
	else
		snprintf(num, sizeof num, "U");
	w = snprintf(item, sizeof item, "'%s'=%s%s;%s;%s;%s;%s", lab, num,
	             known && uom != NULL ? uom : "", t != NULL && t->warn.set ? t->warn.text : "",
	             t != NULL && t->crit.set ? t->crit.text : "", min != NULL ? min : "",
	             max != NULL ? max : "");
	if (w < 0 || (size_t)w >= sizeof item) {
		o->perf_cut = true;
		return;
	}
	/* trailing empty fields may be dropped (guidelines) */
	while (w > 0 && item[w - 1] == ';')
		item[--w] = '\0';
	need = (size_t)w + (o->perf_len > 0 ? 1 : 0);
	if (o->perf_len + need >= sizeof o->perf) {
		o->perf_cut = true;
		return;
	}
	if (o->perf_len > 0)
		o->perf[o->perf_len++] = ' ';
	memcpy(o->perf + o->perf_len, item, (size_t)w + 1);
	o->perf_len += (size_t)w;
}

/* Append s to buf (capacity cap, at *n), cutting it; the NUL always fits. */
static void put(char *buf, size_t cap, size_t *n, const char *s)
{
	size_t l = strlen(s);

	if (*n + 1 >= cap)
		return;
	if (l > cap - 1 - *n)
		l = cap - 1 - *n;
	memcpy(buf + *n, s, l);
	*n += l;
	buf[*n] = '\0';
}

size_t plugin_output_render(const struct plugin_output *o, char *buf, size_t len)
{
	char line[PLUGIN_TEXT_MAX + 32];
	size_t cap = len < PLUGIN_OUTPUT_MAX ? len : PLUGIN_OUTPUT_MAX, n = 0, reserve, total;
	size_t cut = 0;
	int w;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	/* the status line: cut to PLUGIN_STATUS_LINE_MAX with "..." */
	w = snprintf(line, sizeof line, "%s%s%s%s%s", o->prefix, o->prefix[0] ? " " : "",
	             plugin_state_name(o->state), o->summary[0] ? " - " : "", o->summary);
	if (w > PLUGIN_STATUS_LINE_MAX)
		memcpy(line + PLUGIN_STATUS_LINE_MAX - 3, "...", 4);
	put(buf, cap, &n, line);
	/* the perfdata must fit whatever the long text does */
	reserve = o->perf_len > 0 ? o->perf_len + 3 : 0;
	total = o->n_subs + o->n_lines;
	for (size_t i = 0; i < total; i++) {
		if (i < o->n_subs)
			snprintf(line, sizeof line, "\n\\_[%s] %s",
			         plugin_state_name(o->subs[i].state), o->subs[i].text);
		else
			snprintf(line, sizeof line, "\n%s", o->lines[i - o->n_subs]);
		if (n + strlen(line) + reserve + 40 >= cap) {
			cut = total - i;
			break;
		}
		put(buf, cap, &n, line);
	}
	if (cut > 0) {
		snprintf(line, sizeof line, "\n(%zu more line%s cut: output limit)", cut,
		         cut == 1 ? "" : "s");
		put(buf, cap, &n, line);
	}
	if (o->perf_len > 0) {
		put(buf, cap, &n, " | ");
		put(buf, cap, &n, o->perf);
	}
	return n;
}

int plugin_output_print(const struct plugin_output *o, FILE *out)
{
	char buf[PLUGIN_OUTPUT_MAX + 1];

	plugin_output_render(o, buf, sizeof buf);
	fputs(buf, out);
	fputc('\n', out);
	fflush(out);
	return (int)o->state;
}
