/*
 * statuspage: the operator's HTML page on the daemon's listener ("/" and /txn/NAME),
 * rendered from a snapshot copy the caller owns, so it can run on a worker thread while
 * the loop goes on. Server-rendered HTML5 with inline CSS and SVG, no script and no
 * external asset: endpoint cards (state in colour and word, since when, the failing
 * transactions, the open alert and the sinks it went to), then every transaction (its
 * state, runs, latency, a latency sparkline and a state timeline from the history,
 * certificate expiry, and for a failure the Error, the Diagnosis and the step trace).
 * Every string that came from the configuration or the network is HTML-escaped. The
 * renderer reads; it never starts a transaction.
 */
#ifndef CERTPROBE_STATUSPAGE_H
#define CERTPROBE_STATUSPAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exporters/snapshot.h"
#include "transactions/transaction.h"

struct bbuf;

/* What the daemon knows about an endpoint beyond its snapshot row. */
struct statuspage_endpoint_extra {
	enum result_class alert; /* severity of the open alert; RESULT_OK = none */
	int64_t alert_since;     /* Unix seconds it was raised */
};

/* What the daemon knows about a transaction beyond its snapshot row. */
struct statuspage_txn_extra {
	unsigned expiry_warn_days; /* warn.expiry_days: colour a certificate within it; 0 = never */
};

/*
 * The last full result of transaction i (its step trace, Error and Diagnosis), or NULL
 * when none is at hand. The pointer need only live until the next call.
 */
typedef const struct txn_result *statuspage_last_fn(void *arg, size_t i);

/* Which transactions "/" lists (?state=...). */
enum statuspage_filter {
	STATUSPAGE_ALL,
	STATUSPAGE_OK,       /* state=ok */
	STATUSPAGE_WARNING,  /* state=warning */
	STATUSPAGE_CRITICAL, /* state=critical */
	STATUSPAGE_UNKNOWN,  /* state=unknown */
	STATUSPAGE_PROBLEMS, /* state=problems: anything but OK */
	STATUSPAGE_FILTER_COUNT
};

/*
 * One page's input; every pointer is borrowed for the call. eps has snap->n_endpoints
 * rows and txns snap->n_txns (either may be NULL: no extras). sinks names where alerts
 * go ("log", "alertmanager", "snmp"). now is the wall clock the ages are computed from.
 */
struct statuspage_view {
	const struct snapshot *snap;
	const struct statuspage_endpoint_extra *eps;
	const struct statuspage_txn_extra *txns;
	const char *const *sinks;
	size_t n_sinks;
	statuspage_last_fn *last; /* NULL: no step traces */
	void *last_arg;
	int64_t now;
	enum statuspage_filter filter;
	unsigned refresh_s; /* <meta http-equiv=refresh>; 0 = none */
};

/* The filter a ?state= value names ("critical", ...); 0, or -1 for an unknown one. */
int statuspage_filter_parse(const char *s, enum statuspage_filter *out);
/* The ?state= value of f ("" for STATUSPAGE_ALL). */
const char *statuspage_filter_param(enum statuspage_filter f);
/* Whether f lists transaction row t. */
bool statuspage_filter_passes(enum statuspage_filter f, const struct snapshot_txn *t);

/* Render "/" into b. 0, or -1 when b's cap was reached (b->toobig). */
int statuspage_render_index(struct bbuf *b, const struct statuspage_view *v);

/*
 * Render /txn/NAME for transaction i of v->snap: its row, the last report as
 * `certprobe run` prints it (report_text of last; NULL: "no result yet"), and its
 * history as a table. 0 or -1 as above.
 */
int statuspage_render_txn(struct bbuf *b, const struct statuspage_view *v, size_t i,
                          const struct txn_result *last);

/* The index of the transaction called name in snap, or -1. */
long statuspage_find_txn(const struct snapshot *snap, const char *name);

#endif
