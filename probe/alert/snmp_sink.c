/*
 * snmp_sink: endpoint alerts as SNMP notifications (see sink.h): a raise becomes
 * certprobeEndpointStateChange with its severity, a resolve certprobeEndpointStateClear,
 * a restored alert (after a restart) a re-announcement. The sink only posts to the
 * subagent thread (snmp_agent.h), which numbers and sends them; it never touches
 * net-snmp. It keeps the last state it told per endpoint, for the previous-state varbind.
 */
#include "alert/snmp_sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "exporters/snmp_agent.h"

struct told {
	char endpoint[300];
	enum endpoint_kind kind;
	enum result_class state;
	struct told *next;
};

struct snmp_sink {
	struct snmp_agent *const *agent;
	struct told *told;
};

static struct told *told_get(struct snmp_sink *ss, const struct alert *a)
{
	struct told *t;

	for (t = ss->told; t != NULL; t = t->next)
		if (t->kind == a->kind && strcmp(t->endpoint, a->endpoint) == 0)
			return t;
	t = xcalloc(1, sizeof *t);
	snprintf(t->endpoint, sizeof t->endpoint, "%s", a->endpoint);
	t->kind = a->kind;
	t->state = RESULT_OK;
	t->next = ss->told;
	ss->told = t;
	return t;
}

static void snmp_sink_raise(struct alert_sink *s, const struct alert *a)
{
	struct snmp_sink *ss = s->impl;
	struct told *t = told_get(ss, a);
	struct snmp_endpoint_event ev = {
	    .endpoint = a->endpoint,
	    .kind = a->kind,
	    .state = a->severity,
	    .previous = a->restored ? a->severity : t->state,
	    .severity = a->severity,
	    .reannounced = a->restored,
	    .text = a->summary,
	};

	t->state = a->severity;
	if (*ss->agent != NULL)
		snmp_agent_endpoint_event(*ss->agent, &ev);
}

static void snmp_sink_resolve(struct alert_sink *s, const struct alert *a)
{
	struct snmp_sink *ss = s->impl;
	struct told *t = told_get(ss, a);
	char text[400];
	struct snmp_endpoint_event ev = {
	    .endpoint = a->endpoint,
	    .kind = a->kind,
	    .state = RESULT_OK,
	    .previous = a->severity,
	    .severity = RESULT_OK,
	    .text = text,
	};

	snprintf(text, sizeof text, "%s %s: %s alert resolved", endpoint_kind_name(a->kind),
	         a->endpoint, alert_severity_name(a->severity));
	t->state = RESULT_OK;
	if (*ss->agent != NULL)
		snmp_agent_endpoint_event(*ss->agent, &ev);
}

static void snmp_sink_free(struct alert_sink *s)
{
	struct snmp_sink *ss = s->impl;

	while (ss->told != NULL) {
		struct told *t = ss->told;
		ss->told = t->next;
		free(t);
	}
	free(ss);
	free(s);
}

static const struct alert_sink_ops snmp_sink_ops = {
    .name = "snmp",
    .raise = snmp_sink_raise,
    .resolve = snmp_sink_resolve,
    .free = snmp_sink_free,
};

struct alert_sink *snmp_sink_new(struct snmp_agent *const *agent)
{
	struct alert_sink *s = xcalloc(1, sizeof *s);
	struct snmp_sink *ss = xcalloc(1, sizeof *ss);

	ss->agent = agent;
	s->ops = &snmp_sink_ops;
	s->impl = ss;
	return s;
}
