/* snmp_sink: endpoint alerts as SNMP notifications through the subagent (see snmp_sink.c). */
#ifndef CERTPROBE_SNMP_SINK_H
#define CERTPROBE_SNMP_SINK_H

#include "alert/sink.h"

struct snmp_agent;

/*
 * A sink posting to *agent (the daemon's pointer, which a reload may replace or set to
 * NULL: then nothing is posted). The sink does not own the agent.
 */
struct alert_sink *snmp_sink_new(struct snmp_agent *const *agent);

#endif
