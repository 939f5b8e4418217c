/*
 * statefile: the daemon's memory across restarts and the interface for other tools
 * (`certprobe status`, plugins). One versioned JSON document in state_dir, replaced
 * atomically (temporary file, fsync, rename, fsync of the directory) by a writer thread,
 * so a kill -9 leaves either the previous or the new file, and the loop never waits on
 * the disk. Each transaction's record is serialised when it changes and cached by the
 * daemon; a write only joins the cached pieces. Only this file and alertmanager.c
 * include jansson.
 *
 * Document (version 1):
 *   {"version":1, "generator":"certprobed 0.1.0", "written":UNIX, "pid":N,
 *    "config":PATH,
 *    "transactions":[{"name", "type", "endpoint", "endpoint_kind", "interval_ms",
 *                     "health":{...},
 *                     "runs":{"ok","warning","critical","unknown"}, "last_run":UNIX,
 *                     "last_success":UNIX, "last":{result...} | null,
 *                     "history":[[end UNIX, duration us, status, result, code,
 *                                 step, us, step, us, ...], ...] (oldest first;
 *                                 absent when empty)}, ...],
 *    "endpoints":[{"name", "kind", "health":{...}}, ...],
 *    "alerts":[{"labels":{...}, "annotations":{...}, "starts_at":UNIX,
 *               "resolved":BOOL, "ends_at":UNIX}, ...],
 *    "passive":[records shaped like the alerts': labels {sink, object, name, type,
 *               endpoint, kind}, annotations {state, output, perfdata}, starts_at = the
 *               result's time; the state changes a passive sink has not delivered]}
 * Unknown keys are ignored on load; a different "version" is refused.
 */
#ifndef CERTPROBE_STATEFILE_H
#define CERTPROBE_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "health/health.h"
#include "health/history.h"
#include "transactions/transaction.h"

#define STATEFILE_VERSION 1
#define STATEFILE_NAME "certprobed.state.json"

/* One transaction as persisted. Strings are borrowed (writing) or owned by the state (loading). */
struct sf_txn {
	const char *name;
	const char *type;          /* "enrollment", "client-auth" */
	const char *endpoint;      /* endpoint key */
	const char *endpoint_kind; /* "registrar", "web_service" */
	uint64_t interval_ms;      /* the configured interval; 0 = not recorded (older files) */
	struct health health;
	bool have_last;
	struct txn_result last;
	int64_t last_run;     /* Unix seconds; 0 = never */
	int64_t last_success; /* Unix seconds; 0 = never */
	uint64_t runs[RESULT_UNKNOWN + 1];
	/*
	 * Recent results, oldest first (probe.history of them): borrowed when writing (NULL
	 * or empty = none written); when loading, owned by the state (NULL in older files).
	 */
	struct history *history;
};

struct sf_endpoint {
	const char *name;
	const char *kind;
	struct health_endpoint health;
};

struct sf_kv {
	const char *name;
	const char *value;
};

/* An alert the Alertmanager sink holds: active, or resolved but not yet delivered. */
struct sf_alert {
	struct sf_kv *labels;
	size_t n_labels;
	struct sf_kv *annotations;
	size_t n_annotations;
	int64_t starts_at;
	bool resolved;
	int64_t ends_at;
};

/* ---- writing ---- */

struct bbuf;

/*
 * The document is built in b as: statefile_doc_open() (the envelope, then the
 * transactions' array is open), records joined with ",", statefile_doc_section(b,
 * "endpoints"), records, statefile_doc_section(b, "alerts"), records,
 * statefile_doc_close().
 */
void statefile_doc_open(struct bbuf *b, const char *config_path);
void statefile_doc_section(struct bbuf *b, const char *name);
void statefile_doc_close(struct bbuf *b);

/* s as a JSON string literal, quotes included; malloced. */
char *statefile_quote(const char *s);

/* The JSON text of one record (no trailing newline); malloced. */
char *statefile_txn_json(const struct sf_txn *t);
char *statefile_endpoint_json(const struct sf_endpoint *e);
char *statefile_alert_json(const struct sf_alert *a);

struct statefile_writer;

/* A writer thread for path. NULL with a message in err. */
struct statefile_writer *statefile_writer_new(const char *path, char *err, size_t errlen);
/*
 * Hand over a complete document (malloced; the writer frees it). Written as soon as the
 * thread is free; a document submitted while another waits replaces it (latest wins).
 */
void statefile_writer_submit(struct statefile_writer *w, char *doc, size_t len);
/*
 * A document in pieces, joined on the writer thread so that the loop only collects
 * pointers: head, then each item on a line of its own ("\n" before the first, "\n,"
 * before the others), then tail. head, tail and items are malloced and owned by the
 * document; each item is handed to release (on whichever thread frees the document)
 * instead of being freed. NULL-safe.
 */
struct statefile_parts {
	char *head;
	size_t head_len;
	void **items; /* n records, each read through text() */
	size_t n;
	char *tail;
	size_t tail_len;
	/* item's JSON text and its length; called on the writer thread, may make it */
	const char *(*text)(void *item, size_t *len);
	void (*release)(void *item);
};
void statefile_parts_free(struct statefile_parts *p);
/* statefile_writer_submit() for a document in pieces (p malloced; the writer frees it). */
void statefile_writer_submit_parts(struct statefile_writer *w, struct statefile_parts *p);
/* Waits for the pending document to reach the disk, then stops the thread. NULL-safe. */
void statefile_writer_free(struct statefile_writer *w);
/* Failed writes since start, and the last error ("" if none); for logs and metrics. */
uint64_t statefile_writer_failures(struct statefile_writer *w, char *err, size_t errlen);

/* ---- reading ---- */

struct sf_state {
	int version;
	int64_t written;
	const char *generator;
	const char *config;
	long pid;
	struct sf_txn *txns;
	size_t n_txns;
	struct sf_endpoint *endpoints;
	size_t n_endpoints;
	struct sf_alert *alerts;
	size_t n_alerts;
	struct sf_alert *passive; /* passive results not yet delivered, shaped like alerts */
	size_t n_passive;
	void *priv; /* keeps the strings alive */
};

/*
 * Load path. NULL with a message in err when it is missing (errno ENOENT kept), not
 * JSON, or of another version. Records that do not parse, or hold a number outside its
 * range (a count or time below 0, a flap index past the history, a percent outside
 * 0..100, an attempt past HEALTH_MAX_ATTEMPTS, more steps than TXN_MAX_STEPS, an unknown
 * result class or state type, ...), are dropped with a log_warn naming the field; the
 * others are restored. A bad "written" or "pid" reads as 0 (unknown).
 * Step names of restored results are static strings (txn_step_name_intern); every
 * other string, type and protocol included, points into the state.
 */
struct sf_state *statefile_load(const char *path, char *err, size_t errlen);
/*
 * Like statefile_load, but only the transaction named txn, the endpoint named endpoint
 * and the transactions of that endpoint (either may be NULL) are parsed, and no alert:
 * what a plugin asking about one service needs, in milliseconds at 10,000 transactions
 * (the file is scanned line by line; a file without the daemon's one-record-per-line
 * layout is read whole).
 */
struct sf_state *statefile_load_some(const char *path, const char *txn, const char *endpoint,
                                     char *err, size_t errlen);
/*
 * Parse a document held in memory, as statefile_load does a file (name stands for the
 * path in messages): the status page reads a cached record so, wrapped in a document.
 */
struct sf_state *statefile_parse(const char *name, const char *text, size_t len, char *err,
                                 size_t errlen);
void statefile_state_free(struct sf_state *s);
const struct sf_txn *statefile_find_txn(const struct sf_state *s, const char *name);

#endif
