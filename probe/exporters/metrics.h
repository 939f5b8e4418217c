/*
 * metrics: the one metric table. Each exported field is declared once (name, help,
 * type, unit, SNMP column, getter); the Prometheus renderer (prometheus.h), and later
 * the SNMP tables, iterate that table over the same snapshot. Pure: no I/O, no clock,
 * no global state.
 */
#ifndef CERTPROBE_METRICS_H
#define CERTPROBE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bbuf.h"
#include "exporters/snapshot.h"

enum metric_type {
	METRIC_GAUGE,
	METRIC_COUNTER,   /* samples are <name>_total */
	METRIC_INFO,      /* samples are <name>_info, value 1 */
	METRIC_HISTOGRAM, /* samples are <name>_bucket/_sum/_count */
};

enum metric_unit {
	METRIC_UNIT_NONE,
	METRIC_UNIT_SECONDS, /* the family name ends in _seconds */
};

/* Which rows of the snapshot a family iterates, and so which common labels it carries. */
enum metric_scope {
	METRIC_SCOPE_TXN,      /* snapshot_txn: transaction, type, protocol, endpoint */
	METRIC_SCOPE_ENDPOINT, /* snapshot_endpoint: endpoint, kind */
	METRIC_SCOPE_SELF,     /* snapshot_self: no common labels, one row */
	METRIC_SCOPE_PROBE,    /* snapshot.probe: the /probe answer, no common labels */
};

enum metric_value_kind {
	METRIC_VALUE_UINT,      /* u */
	METRIC_VALUE_INT,       /* i (timestamps) */
	METRIC_VALUE_MICRO,     /* u, in millionths of the unit (microseconds for seconds) */
	METRIC_VALUE_HISTOGRAM, /* hist */
	METRIC_VALUE_STRING,    /* s: only snmp_only rows (Prometheus has no string values) */
};

/*
 * The SNMP tables of CERTPROBE-MIB a row's column belongs to (snmp_columns.h lays them
 * out). A family of scope TXN goes to the result table unless it says otherwise; one
 * with series (certificates by role, steps) goes to the table whose rows are its series.
 */
enum metric_snmp_table {
	METRIC_SNMP_NONE,
	METRIC_SNMP_DAEMON,   /* scope SELF: scalars */
	METRIC_SNMP_TXN,      /* scope TXN: the configuration as the probe sees it */
	METRIC_SNMP_RESULT,   /* scope TXN: the latest run and the health */
	METRIC_SNMP_STEP,     /* scope TXN, series = step slot */
	METRIC_SNMP_HISTORY,  /* history rows (columns in snmp_columns.c, not here) */
	METRIC_SNMP_CERT,     /* scope TXN, series = enum cert_role */
	METRIC_SNMP_ENDPOINT, /* scope ENDPOINT */
	METRIC_SNMP_TABLE_COUNT
};

/* How the SNMP tables encode a value (snmp_columns.c); the MIB's SYNTAX says the same. */
enum metric_snmp_syntax {
	METRIC_SNMP_AUTO,        /* UINT: Gauge32 (COUNTER: Counter64), INT: Integer32 */
	METRIC_SNMP_ENUM,        /* u + 1: SNMP enumerations start at 1 (result class, reason) */
	METRIC_SNMP_TRUTH,       /* u: 1 true(1), 0 false(2) */
	METRIC_SNMP_DATE,        /* i Unix seconds as DateAndTime (UTC); 0: no instance */
	METRIC_SNMP_MICROS,      /* MICRO as Unsigned32 microseconds, saturating */
	METRIC_SNMP_MILLIS,      /* MICRO as Unsigned32 milliseconds, saturating */
	METRIC_SNMP_STRING,      /* s as an OCTET STRING, at most 255 octets */
	METRIC_SNMP_FINGERPRINT, /* s "sha256:<hex>" as SnmpTLSFingerprint (algorithm 4) */
	METRIC_SNMP_SECONDS_TO,  /* i Unix seconds: Integer32 seconds from the GET to it */
};

struct metric_value {
	enum metric_value_kind kind;
	union {
		uint64_t u;
		int64_t i;
		const struct snapshot_histogram *hist;
		const char *s;
	};
};

#define METRIC_MAX_LABELS 3

/* One series of a family for one row: the values of the family's own labels and the value. */
struct metric_sample {
	const char *label_values[METRIC_MAX_LABELS]; /* in the order of metric_def.labels */
	struct metric_value value;
};

/*
 * Series i of a row (row points at the scope's struct). Returns false when that series
 * does not exist for this row (no result yet, no certificate of that role, a repeated
 * step name), true with *out filled otherwise.
 */
typedef bool metric_get_fn(const void *row, size_t i, struct metric_sample *out);
/* How many series indexes to ask a row for. */
typedef size_t metric_series_fn(const void *row);

struct metric_def {
	const char *name; /* family name, as OpenMetrics spells it: no _total or _info */
	const char *help; /* one line; no backslash, double quote or newline */
	enum metric_type type;
	enum metric_unit unit;
	enum metric_scope scope;
	const char *labels[METRIC_MAX_LABELS]; /* the family's own labels; unused slots NULL */
	metric_series_fn *series;              /* NULL: one series per row */
	metric_get_fn *get;
	/* SNMP (CERTPROBE-MIB): the same getter feeds the MIB's column */
	unsigned snmp_column;              /* column (or scalar) number; 0 = not in the MIB */
	const char *snmp_name;             /* the MIB's descriptor of that column */
	enum metric_snmp_table snmp_table; /* NONE: the scope's default (see above) */
	enum metric_snmp_syntax snmp_syntax;
	bool snmp_only; /* no Prometheus family: a string, or a value Prometheus has as labels */
};

/* The table, in exposition order (families grouped by scope); *n gets its length. */
const struct metric_def *metrics_table(size_t *n);

/* Rows of a scope in s, and row i of it (NULL when i is out of range). */
size_t metrics_rows(const struct snapshot *s, enum metric_scope scope);
const void *metrics_row(const struct snapshot *s, enum metric_scope scope, size_t i);

/* Lower-case label value of a result class ("ok", "warning", ...); out of range = "unknown". */
const char *metrics_result_label(enum result_class r);
const char *metrics_cert_role_label(enum cert_role r);         /* "issued", ...; NULL if bad */
const char *metrics_endpoint_kind_label(enum endpoint_kind k); /* "registrar", ...; NULL if bad */

/* Histogram bucket bounds in microseconds, SNAPSHOT_HISTOGRAM_BOUNDS of them, ascending. */
extern const uint64_t metrics_histogram_bounds_us[SNAPSHOT_HISTOGRAM_BOUNDS];

/* Count one observation of us microseconds into h. */
void metrics_histogram_observe(struct snapshot_histogram *h, uint64_t us);

/*
 * Fill the last-run fields of row from a finished result: have_result, status, result,
 * duration and steps (step names point into r's static strings). Leaves identity (name,
 * type, protocol, endpoint: the generation's, from the type's ops), timestamps,
 * certificates, health and runs alone.
 */
void metrics_txn_set_result(struct snapshot_txn *row, const struct txn_result *r);

#endif
