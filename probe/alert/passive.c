/* passive: templates and failure classes of the passive-result sinks (see passive.h). */
#include "alert/passive.h"

#include <stdio.h>
#include <string.h>

const char passive_template_fields[] = "{name} {type} {endpoint} {kind} {probe}";

static const char *const fail_names[] = {
    [PASSIVE_FAIL_UNREACHABLE] = "unreachable",
    [PASSIVE_FAIL_TLS] = "tls",
    [PASSIVE_FAIL_AUTH] = "auth",
    [PASSIVE_FAIL_REJECTED] = "rejected",
    [PASSIVE_FAIL_SERVER] = "server",
    [PASSIVE_FAIL_NO_FILE] = "no_file",
    [PASSIVE_FAIL_NO_READER] = "no_reader",
    [PASSIVE_FAIL_FULL] = "full",
    [PASSIVE_FAIL_ERROR] = "error",
};
_Static_assert(sizeof fail_names / sizeof fail_names[0] == PASSIVE_FAIL_COUNT,
               "fail_names must cover every enum passive_fail");

const char *passive_fail_name(enum passive_fail f)
{
	return (unsigned)f < PASSIVE_FAIL_COUNT ? fail_names[f] : NULL;
}

static const char *const fields[] = {"name", "type", "endpoint", "kind", "probe", NULL};

/* The index in fields of the placeholder at p (just after '{'), its length in *n; -1. */
static int field_at(const char *p, size_t *n)
{
	for (int i = 0; fields[i] != NULL; i++) {
		size_t l = strlen(fields[i]);
		if (strncmp(p, fields[i], l) == 0 && p[l] == '}') {
			*n = l + 1;
			return i;
		}
	}
	return -1;
}

const char *passive_template_problem(const char *tmpl)
{
	size_t n;

	for (const char *p = tmpl; *p != '\0'; p++) {
		if (*p == '}')
			return "a '}' without its '{'";
		if (*p != '{')
			continue;
		if (field_at(p + 1, &n) == -1)
			return "an unknown placeholder";
		p += n;
	}
	return NULL;
}

char *passive_template_expand(const char *tmpl, const struct sink_result *r, const char *probe,
                              char *buf, size_t len)
{
	size_t j = 0, n;

	if (len == 0)
		return buf;
	for (const char *p = tmpl; *p != '\0' && j + 1 < len; p++) {
		int f = *p == '{' ? field_at(p + 1, &n) : -1;
		const char *v;
		if (f == -1) {
			buf[j++] = *p;
			continue;
		}
		v = f == 0   ? r->name
		    : f == 1 ? r->type
		    : f == 2 ? r->endpoint
		    : f == 3 ? endpoint_kind_name(r->kind)
		             : probe;
		for (; v != NULL && *v != '\0' && j + 1 < len; v++)
			buf[j++] = *v;
		p += n;
	}
	buf[j] = '\0';
	return buf;
}
