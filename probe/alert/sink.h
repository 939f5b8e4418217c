/*
 * sink: where endpoint notifications and results go (relayd's hce_notify_done fan-out).
 * The daemon decides when a registrar or web service raises, updates or resolves an
 * alert, keeps the open alerts (and persists them), and hands each change to every sink
 * in its list; a sink only delivers. Sinks of passive results (Icinga 2, Nagios) also
 * take the state of every transaction and endpoint: at each HARD state change and on
 * their periodic refresh. Adding a destination is one file implementing these ops.
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

/* What a passive result is about. */
enum sink_object {
	SINK_OBJECT_TRANSACTION,
	SINK_OBJECT_ENDPOINT,
	SINK_OBJECT_COUNT,
};

/* "transaction", "endpoint"; NULL out of range. */
const char *sink_object_name(enum sink_object o);
/* 0 and *o, or -1. */
int sink_object_parse(const char *s, enum sink_object *o);

/*
 * The state of one transaction or endpoint as the monitoring system's passive check
 * takes it. Every string is borrowed for the call only.
 */
struct sink_result {
	enum sink_object object;
	const char *name;        /* the transaction's name, or the endpoint key */
	const char *type;        /* the transaction's type ("client-auth"); endpoint: its kind */
	const char *endpoint;    /* the transaction's endpoint key; endpoint: its key */
	enum endpoint_kind kind; /* the endpoint's kind */
	int state;               /* plugin state 0-3: the HARD state, as check_certprobe says */
	bool changed;         /* a HARD state change (persisted until delivered); else a refresh */
	int64_t when;         /* Unix seconds of the result it reports */
	const char *output;   /* plugin output: status line, then the long text */
	const char *perfdata; /* monitoring-plugin perfdata; "" for none */
};

struct alert_sink;

/* For alert_sink_ops.foreach_result. */
typedef void sink_result_cb(const char *sink, const struct sink_result *r, void *arg);

struct alert_sink_ops {
	const char *name; /* "alertmanager", "log" */
	/*
	 * A new alert, a changed one (annotations), or one re-announced after a restart.
	 * raise and resolve are NULL in a sink that takes results only.
	 */
	void (*raise)(struct alert_sink *s, const struct alert *a);
	/* The alert of (endpoint, kind, severity) ended at a->ends_at. */
	void (*resolve)(struct alert_sink *s, const struct alert *a);
	/*
	 * True while the sink still has to deliver something about a (a resolve not yet
	 * taken by every Alertmanager): the daemon keeps and persists a resolved alert until
	 * no sink has it pending. NULL: never pending.
	 */
	bool (*pending)(const struct alert_sink *s, const struct alert *a);
	/*
	 * A transaction's or endpoint's state (passive results): the daemon calls it at
	 * every HARD state change (r->changed), at a transaction's first result, and for
	 * every object at each refresh (alert_sink.refresh_ms). The sink queues it (the
	 * latest per object) and delivers without blocking. NULL: the sink takes no results.
	 */
	void (*result)(struct alert_sink *s, const struct sink_result *r);
	/*
	 * Visit the state changes taken but not yet delivered, for the state file (a restart
	 * hands them back through result()). NULL: none are kept.
	 */
	void (*foreach_result)(const struct alert_sink *s, sink_result_cb *cb, void *arg);
	void (*free)(struct alert_sink *s); /* NULL-safe through alert_sink_free() */
};

struct alert_sink {
	const struct alert_sink_ops *ops;
	void *impl;
	/* with ops->result: how often the daemon hands it every object again; 0 = never */
	uint64_t refresh_ms;
};

/* "warning" or "critical": the severity label and state-file word. NULL for others. */
const char *alert_severity_name(enum result_class severity);

/* Calls s->ops->free; NULL-safe. */
void alert_sink_free(struct alert_sink *s);

/* The log sink: one line per raise and resolve (stderr, and syslog when enabled). */
struct alert_sink *log_sink_new(void);

#endif
