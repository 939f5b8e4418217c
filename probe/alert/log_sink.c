/* log_sink: endpoint alerts as log lines (see sink.h). */
#include <stdlib.h>
#include <string.h>

#include "alert/sink.h"
#include "core/log.h"
#include "core/xalloc.h"

const char *alert_severity_name(enum result_class severity)
{
	switch (severity) {
	case RESULT_CRITICAL:
		return "critical";
	case RESULT_WARNING:
	case RESULT_UNKNOWN:
		return "warning";
	default:
		return NULL;
	}
}

void alert_sink_free(struct alert_sink *s)
{
	if (s != NULL)
		s->ops->free(s);
}

static void log_sink_raise(struct alert_sink *s, const struct alert *a)
{
	(void)s;
	if (a->restored)
		log_info("alert %s (restored): %s", alert_severity_name(a->severity), a->summary);
	else
		log_warn("alert %s: %s. %s", alert_severity_name(a->severity), a->summary,
		         a->description);
}

static void log_sink_resolve(struct alert_sink *s, const struct alert *a)
{
	(void)s;
	log_info("alert %s resolved: %s %s", alert_severity_name(a->severity),
	         endpoint_kind_name(a->kind), a->endpoint);
}

static void log_sink_free(struct alert_sink *s)
{
	free(s);
}

static const struct alert_sink_ops log_sink_ops = {
    .name = "log",
    .raise = log_sink_raise,
    .resolve = log_sink_resolve,
    .free = log_sink_free,
};

struct alert_sink *log_sink_new(void)
{
	struct alert_sink *s = xcalloc(1, sizeof *s);

	s->ops = &log_sink_ops;
	return s;
}

const char *sink_object_name(enum sink_object o)
{
	switch (o) {
	case SINK_OBJECT_TRANSACTION:
		return "transaction";
	case SINK_OBJECT_ENDPOINT:
		return "endpoint";
	default:
		return NULL;
	}
}

int sink_object_parse(const char *s, enum sink_object *o)
{
	for (int i = 0; i < SINK_OBJECT_COUNT; i++) {
		if (s != NULL && strcmp(s, sink_object_name((enum sink_object)i)) == 0) {
			*o = (enum sink_object)i;
			return 0;
		}
	}
	return -1;
}
