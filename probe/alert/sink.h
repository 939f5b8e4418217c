/*
 * sink: where endpoint notifications go (relayd's hce_notify_done fan-out). The daemon
 * decides when a registrar or web service raises, updates or resolves an alert, keeps
 * the open alerts (and persists them), and hands each change to every sink in its list;
 * a sink only delivers. Adding a destination is one file implementing these ops.
 */
#ifndef CERTPROBE_ALERT_SINK_H
#define CERTPROBE_ALERT_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "transactions/transaction_status.h"
#include "transactions/txn_type.h"

/* One endpoint's notification. Every string is borrowed for the call only. */
struct alert {
	const char *endpoint; /* the endpoint key ("host:port", a SIP domain) */
	enum endpoint_kind kind;
	enum result_class severity; /* RESULT_WARNING or RESULT_CRITICAL */
	int64_t starts_at;          /* Unix seconds the problem began */
	bool resolved;
	int64_t ends_at;          /* Unix seconds, when resolved */
	bool restored;            /* re-announced after a restart, not a new change */
	const char *summary;      /* one line for people */
	const char *description;  /* the first failing transaction's diagnosis and action */
	const char *reason;       /* the status code that explains it */
	const char *transactions; /* the failing transactions, comma-separated */
};

struct alert_sink;

struct alert_sink_ops {
	const char *name; /* "alertmanager", "log" */
	/* A new alert, a changed one (annotations), or one re-announced after a restart. */
	void (*raise)(struct alert_sink *s, const struct alert *a);
	/* The alert of (endpoint, kind, severity) ended at a->ends_at. */
	void (*resolve)(struct alert_sink *s, const struct alert *a);
	/*
	 * True while the sink still has to deliver something about a (a resolve not yet
	 * taken by every Alertmanager): the daemon keeps and persists a resolved alert until
	 * no sink has it pending. NULL: never pending.
	 */
	bool (*pending)(const struct alert_sink *s, const struct alert *a);
	void (*free)(struct alert_sink *s); /* NULL-safe through alert_sink_free() */
};

struct alert_sink {
	const struct alert_sink_ops *ops;
	void *impl;
};

/* "warning" or "critical": the severity label and state-file word. NULL for others. */
const char *alert_severity_name(enum result_class severity);

/* Calls s->ops->free; NULL-safe. */
void alert_sink_free(struct alert_sink *s);

/* The log sink: one line per raise and resolve (stderr, and syslog when enabled). */
struct alert_sink *log_sink_new(void);

#endif
