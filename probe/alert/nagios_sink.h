/*
 * nagios_sink: passive results into the Nagios external command file, behind the
 * alert-sink interface (sink.h): one PROCESS_SERVICE_CHECK_RESULT line per transaction
 * (and endpoint, optionally), named by templates (passive.h), and with host_check a
 * PROCESS_HOST_CHECK_RESULT for the probe's host at every refresh (the probe is alive).
 * The FIFO is opened O_WRONLY|O_NONBLOCK and every line is at most PIPE_BUF bytes, so a
 * write is atomic and never waits: a missing file (ENOENT), a FIFO nobody reads (ENXIO)
 * or a full one (EAGAIN) is counted, logged once per outage, and retried with backoff
 * while the results wait in a coalescing queue (passive_queue.h).
 */
#ifndef CERTPROBE_NAGIOS_SINK_H
#define CERTPROBE_NAGIOS_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/passive.h"
#include "alert/sink.h"

struct event_base;

struct nagios_sink_conf {
	const char *command_file;     /* the FIFO, "/var/lib/nagios4/rw/nagios.cmd" */
	const char *host;             /* template of the host name */
	const char *service;          /* template of a transaction's service description */
	const char *endpoint_service; /* template of an endpoint's; NULL = not written */
	const char *probe;            /* this probe's host name ({probe}) */
	bool host_check;              /* a PROCESS_HOST_CHECK_RESULT every refresh */
	uint64_t refresh_ms;
};

/* A sink writing to conf->command_file (conf and its strings are copied). */
struct alert_sink *nagios_sink_new(struct event_base *base, const struct nagios_sink_conf *conf);

void nagios_sink_stats(const struct alert_sink *s, struct passive_stats *out);

/*
 * Pure: the external command line for r (host and service are names, not templates;
 * service NULL: a PROCESS_HOST_CHECK_RESULT), "[ts] COMMAND;...\n", in buf (at least
 * NAGIOS_LINE_MAX bytes). Newlines in the output become "\n" escapes; the long text,
 * then the perfdata, then the status line are cut to keep the line within
 * NAGIOS_LINE_MAX bytes (PIPE_BUF: one atomic write). Returns its length.
 */
#define NAGIOS_LINE_MAX 4096
size_t nagios_format(char *buf, const struct sink_result *r, const char *host, const char *service,
                     int64_t ts);

#endif
