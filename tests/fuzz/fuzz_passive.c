/*
 * fuzz_passive: what the passive-result sinks take from outside. The first byte picks
 * the HTTP status of an Icinga 2 answer whose body is the rest (icinga2_response_parse:
 * its detail must stay printable and terminated); the rest is also a plugin output and
 * perfdata for icinga2_render (valid JSON or the placeholder) and nagios_format (one
 * line of at most PIPE_BUF bytes, ending in its only newline).
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert/icinga2_sink.h"
#include "alert/nagios_sink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 201, 204, 301, 400, 401, 403, 404, 409, 429, 500, 503};
	struct sink_result r = {.name = "t", .type = "client-auth", .endpoint = "e", .when = 1};
	char detail[240], line[NAGIOS_LINE_MAX + 1], *text, *perf, *body;
	size_t n, half;
	json_t *j;

	if (size == 0)
		return 0;
	icinga2_response_parse(statuses[data[0] % (sizeof statuses / sizeof statuses[0])],
	                       (const char *)data + 1, size - 1, detail, sizeof detail);
	if (strlen(detail) >= sizeof detail)
		abort();
	for (const char *p = detail; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
	half = (size - 1) / 2;
	text = strndup((const char *)data + 1, half);
	perf = strndup((const char *)data + 1 + half, size - 1 - half);
	if (text == NULL || perf == NULL)
		abort();
	r.state = data[0] % 4;
	r.output = text;
	r.perfdata = perf;
	body = icinga2_render(&r, "h", "s", "p", 60);
	j = json_loads(body, 0, NULL);
	if (j == NULL)
		abort();
	json_decref(j);
	free(body);
	n = nagios_format(line, &r, "h", "s", 1);
	if (n > NAGIOS_LINE_MAX || n != strlen(line) || line[n - 1] != '\n' ||
	    memchr(line, '\n', n - 1) != NULL)
		abort();
	free(text);
	free(perf);
	return 0;
}
