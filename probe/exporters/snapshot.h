/*
 * snapshot: what the exporters read. The daemon fills one of these per scrape (or keeps
 * one up to date) from its transactions, endpoints and loop statistics; the Prometheus
 * renderer, the SNMP tables and the state file only ever read it. Plain data: in the
 * daemon's own view every pointer is the daemon's; readers get a snapshot_copy(),
 * which owns its rows. A NULL string reads as "".
 */
#ifndef CERTPROBE_SNAPSHOT_H
#define CERTPROBE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/passive.h"
#include "health/history.h"
#include "transactions/transaction.h"
#include "transactions/txn_type.h"
#include "transactions/transaction_status.h"

/* Which certificate of a transaction a not-after time belongs to. */
enum cert_role {
	CERT_ROLE_ISSUED, /* the certificate an enrollment obtained */
	CERT_ROLE_CLIENT, /* the certificate a client-auth transaction presented */
	CERT_ROLE_SERVER, /* the leaf the server presented */
	CERT_ROLE_CA,     /* the CA (the earliest-expiring one when several are involved) */
	CERT_ROLE_COUNT
};

struct snapshot_step {
	const char *name; /* snake_case step name ("tls_handshake"); NULL = slot unused */
	uint64_t duration_us;
};

/*
 * Exported whenever present, with or without a result (an issued certificate found in
 * the state directory is known before the first run).
 */
struct snapshot_cert {
	bool present;       /* false: the transaction has no certificate of this role */
	int64_t not_after;  /* Unix seconds */
	int64_t not_before; /* Unix seconds; 0 = not known */
	/* from the last run that saw it (NULL = not known): "CN=...", hex, "sha256:<hex>" */
	const char *subject, *issuer, *serial, *fingerprint;
};

/*
 * One configured transaction. Identity and health fields are always read; the
 * last-run fields only when have_result is true.
 */
struct snapshot_txn {
	const char *name;     /* configured name, unique */
	const char *type;     /* "enrollment", "client-auth" */
	const char *protocol; /* "scep", "sip-register": the type's ops say, never a result */
	const char *endpoint; /* the endpoint it hits: equal to a snapshot_endpoint name */
	uint64_t interval_ms; /* its schedule; 0 = not scheduled (not exported) */
	uint64_t timeout_ms;  /* its overall deadline */

	/* the last completed run */
	bool have_result;
	enum txn_status status;   /* primary status: the `reason` label */
	enum result_class result; /* worst of status and findings */
	uint64_t duration_us;
	int64_t last_run;     /* Unix seconds when it ended */
	int64_t last_success; /* Unix seconds of the last run with result OK or WARNING; 0 = none */
	struct snapshot_step steps[TXN_MAX_STEPS]; /* same-named steps are summed on export */
	size_t n_steps;
	struct snapshot_cert certs[CERT_ROLE_COUNT]; /* indexed by enum cert_role */
	enum txn_status reason; /* what explains the result class (txn_result_reason) */
	const char *detail;     /* the reason's detail ("SIP 403 Forbidden"); NULL = none */
	int32_t protocol_code;  /* SIP or HTTP status code of the last answer; 0 = none */
	/* recent results, oldest first; NULL in a copy made without SNAPSHOT_COPY_HISTORY */
	const struct history *history;

	/* health (the health module decides; this is its current view) */
	enum result_class state; /* current state, SOFT or HARD */
	bool hard;               /* state is HARD */
	bool flapping;
	unsigned consecutive_failures;     /* non-OK results in a row */
	uint64_t runs[RESULT_UNKNOWN + 1]; /* completed runs by result class, since start */
};

/* A registrar or web service that one or more transactions hit. */
struct snapshot_endpoint {
	const char *name; /* "host:port" or SIP domain; what snapshot_txn.endpoint holds */
	enum endpoint_kind kind;
	enum result_class state; /* from the health module */
	int64_t since;           /* Unix seconds the state last changed; 0 = never */
	unsigned members;        /* transactions that hit it */
	unsigned failing;        /* of those, judged and HARD not OK */
};

/* Upper bounds of the histogram buckets, in microseconds (see metrics.c). */
#define SNAPSHOT_HISTOGRAM_BOUNDS 10

/*
 * A cumulative-since-start histogram of durations. counts[i] holds the observations in
 * bucket i alone (not cumulative): bucket i is (bound[i-1], bound[i]], and the last slot
 * counts what lies above the largest bound. Fill it with metrics_histogram_observe().
 */
struct snapshot_histogram {
	uint64_t counts[SNAPSHOT_HISTOGRAM_BOUNDS + 1];
	uint64_t sum_us;
};

/* The daemon itself. */
/* The passive-result sinks, the "sink" label of the certprobe_passive_* families. */
enum snapshot_passive_sink {
	SNAPSHOT_PASSIVE_ICINGA2,
	SNAPSHOT_PASSIVE_NAGIOS,
	SNAPSHOT_PASSIVE_SINKS
};

struct snapshot_self {
	const char *version;           /* CERTPROBE_VERSION */
	const char *openssl_version;   /* may be NULL */
	const char *libcurl_version;   /* may be NULL */
	int64_t start_time;            /* Unix seconds when the process started */
	char shard_index[12];          /* probe.shard: which shard this is ("0" of "1" when */
	char shard_count[12];          /* not sharded) */
	uint64_t in_flight;            /* transactions running now */
	struct snapshot_histogram lag; /* how late each run started against its schedule */
	uint64_t max_stall_us;         /* longest loop stall the daemon measured (its window) */
	bool reload_ok;                /* the last load or reload of the configuration worked */
	int64_t reload_success_time;   /* Unix seconds of the last successful load; 0 = none */
	/* the HTTP listener (struct web_stats) */
	uint64_t http_open;            /* connections open now */
	uint64_t http_refused;         /* refused: over the cap or short of descriptors */
	uint64_t http_deadline_closed; /* closed: no whole request within the deadline */
	uint64_t http_accept_paused;   /* accept failed (EMFILE, ...) and was paused */
	uint64_t state_write_failures; /* writes to state_dir that failed (store, state file) */
	uint64_t runs_cancelled;       /* runs in flight a reload cancelled (changed or removed) */
	/* the SNMP subagent (snmp_agent.h); all 0 when it is off */
	bool snmp_connected;         /* registered with the AgentX master now */
	uint64_t snmp_notifications; /* notifications handed to the master */
	uint64_t snmp_dropped;       /* notifications dropped: no master, or queue full */
	/* the passive-result sinks (alert/passive.h), by enum snapshot_passive_sink */
	bool passive_on[SNAPSHOT_PASSIVE_SINKS];
	struct passive_stats passive[SNAPSHOT_PASSIVE_SINKS];
};

struct snapshot_owned;

struct snapshot {
	const struct snapshot_txn *txns; /* n_txns rows, in configuration order */
	size_t n_txns;
	const struct snapshot_endpoint *endpoints; /* n_endpoints rows, (name, kind) unique */
	size_t n_endpoints;
	struct snapshot_self self;
	/* /probe: the one transaction run for this scrape; NULL in a /metrics snapshot */
	const struct snapshot_txn *probe;
	struct snapshot_owned *owned; /* set in a copy: its rows and strings */
};

/*
 * A copy of s that owns its rows and their strings (step names and self's strings are
 * static and shared), with one reference. A reader on another thread may keep it while
 * the daemon changes or frees what s pointed at. snapshot_ref() adds a reference,
 * snapshot_unref() drops one and frees the copy with the last (NULL-safe; thread-safe).
 */
struct snapshot *snapshot_copy(const struct snapshot *s);
/* snapshot_copy(), and with SNAPSHOT_COPY_HISTORY each row's history ring too. */
#define SNAPSHOT_COPY_HISTORY 1u
struct snapshot *snapshot_copy_flags(const struct snapshot *s, unsigned flags);
/*
 * snapshot_copy_flags() of s that shares with prev (an earlier copy of the same rows, or
 * NULL) the strings of every row i with changed[i] == 0: such a row is taken as prev has
 * it, so changed[] must name every row that differs since prev was made. A prev with
 * another number of rows, or changed NULL, makes a full copy.
 */
struct snapshot *snapshot_copy_since(const struct snapshot *s, const struct snapshot *prev,
                                     const uint8_t *changed, unsigned flags);
struct snapshot *snapshot_ref(struct snapshot *s);
void snapshot_unref(struct snapshot *s);

#endif
