/* plugin_range: the Nagios range syntax (see plugin_range.h). */
#include "plugin_range.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A whole finite number from s[0..len), no sign games beyond strtod's; 0 or -1. */
static int parse_number(const char *s, size_t len, double *out)
{
	char buf[PLUGIN_RANGE_TEXT], *end;

	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strspn(buf, "+-.0123456789eE") != len)
		return -1; /* no "inf", "nan", hex or spaces */
	errno = 0;
	*out = strtod(buf, &end);
	if (errno != 0 || *end != '\0' || end == buf || !isfinite(*out))
		return -1;
	return 0;
}

int plugin_range_parse(const char *s, struct plugin_range *r)
{
	const char *p = s, *colon;
	struct plugin_range tmp;

	memset(r, 0, sizeof *r);
	if (s == NULL || *s == '\0' || strlen(s) >= sizeof r->text)
		return -1;
	memset(&tmp, 0, sizeof tmp);
	if (*p == '@') {
		tmp.inside = true;
		p++;
	}
	colon = strchr(p, ':');
	if (colon == NULL) {
		/* "10": 0..10 */
		if (parse_number(p, strlen(p), &tmp.end) == -1)
			return -1;
	} else {
		size_t slen = (size_t)(colon - p);
		const char *e = colon + 1;
		if (strchr(e, ':') != NULL)
			return -1;
		if (slen == 1 && *p == '~')
			tmp.start_inf = true;
		else if (slen > 0 && parse_number(p, slen, &tmp.start) == -1)
			return -1;
		if (*e == '\0')
			tmp.end_inf = true;
		else if (parse_number(e, strlen(e), &tmp.end) == -1)
			return -1;
		if ((slen == 0 || tmp.start_inf) && tmp.end_inf)
			return -1; /* ":" and "~:" say nothing */
	}
	if (!tmp.start_inf && !tmp.end_inf && tmp.start > tmp.end)
		return -1;
	tmp.set = true;
	snprintf(tmp.text, sizeof tmp.text, "%s", s);
	*r = tmp;
	return 0;
}

bool plugin_range_alert(const struct plugin_range *r, double v)
{
	bool in;

	if (!r->set)
		return false;
	in = (r->start_inf || v >= r->start) && (r->end_inf || v <= r->end);
	return r->inside ? in : !in;
}

int plugin_thresholds_check(const struct plugin_thresholds *t, double v)
{
	if (plugin_range_alert(&t->crit, v))
		return 2;
	if (plugin_range_alert(&t->warn, v))
		return 1;
	return 0;
}
