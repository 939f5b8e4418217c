/*
 * passive: what the passive-result sinks (icinga2_sink.c, nagios_sink.c) share: the
 * name templates of the objects they feed ({name}, {type}, {endpoint}, {kind},
 * {probe}), the classes of delivery failures they count, and their counters, which the
 * daemon puts in the snapshot (certprobe_passive_* families).
 */
#ifndef CERTPROBE_PASSIVE_H
#define CERTPROBE_PASSIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/sink.h"

/* Why a delivery failed: the "reason" label of certprobe_passive_failures_total. */
enum passive_fail {
	PASSIVE_FAIL_UNREACHABLE, /* Icinga 2 refused, timed out, not resolvable */
	PASSIVE_FAIL_TLS,         /* its certificate did not verify, or the handshake failed */
	PASSIVE_FAIL_AUTH,        /* 401/403: user, password, certificate or permissions */
	PASSIVE_FAIL_REJECTED,    /* the result was refused (no such object): dropped */
	PASSIVE_FAIL_SERVER,      /* a 5xx or an answer we cannot read */
	PASSIVE_FAIL_NO_FILE,     /* the command file does not exist (Nagios not running) */
	PASSIVE_FAIL_NO_READER,   /* a FIFO nobody reads (ENXIO) */
	PASSIVE_FAIL_FULL,        /* the FIFO is full (EAGAIN) */
	PASSIVE_FAIL_ERROR,       /* anything else (not a FIFO, EPIPE, EACCES, ...) */
	PASSIVE_FAIL_COUNT
};

/* "unreachable", "tls", ...; NULL out of range. */
const char *passive_fail_name(enum passive_fail f);

/* A sink's counters, read by the daemon for the snapshot. */
struct passive_stats {
	uint64_t delivered;                    /* results taken by the peer */
	uint64_t failures[PASSIVE_FAIL_COUNT]; /* delivery attempts that failed */
	uint64_t coalesced;                    /* replaced by a newer one before delivery */
	uint64_t dropped;                      /* rejected by the peer, or past the queue cap */
	uint64_t queued;                       /* waiting now */
	int64_t last_success;                  /* Unix seconds; 0 = never */
};

/* The placeholders a template may use, for messages: "{name} {type} {endpoint} {kind} {probe}". */
extern const char passive_template_fields[];

/*
 * NULL when tmpl only uses known placeholders and has balanced braces; else why not (a
 * static string).
 */
const char *passive_template_problem(const char *tmpl);

/*
 * tmpl with its placeholders filled from r (probe: the probe's host name) into buf (len
 * bytes, cut at the end). Returns buf.
 */
char *passive_template_expand(const char *tmpl, const struct sink_result *r, const char *probe,
                              char *buf, size_t len);

#endif
