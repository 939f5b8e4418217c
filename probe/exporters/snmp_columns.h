/*
 * snmp_columns: CERTPROBE-MIB's objects laid over a snapshot, without net-snmp. The
 * columns come from the metric table (each row's snmp_table/snmp_column/snmp_syntax),
 * the history table's from the history ring; this module orders the instances the way
 * SNMP does (OID order), answers GET and GETNEXT on uint32 OIDs and encodes the values.
 * The SNMP thread (snmp_agent.c, the net-snmp door) only converts between its types and
 * these. Pure: no I/O, no global state (the caller passes `now` for seconds-to-expiry).
 */
#ifndef CERTPROBE_SNMP_COLUMNS_H
#define CERTPROBE_SNMP_COLUMNS_H

#include <stddef.h>
#include <stdint.h>

#include "exporters/metrics.h"
#include "exporters/snapshot.h"

/*
 * certprobeMIB's OID: net-snmp's experimental netSnmpPlaypen (1.3.6.1.4.1.8072.9999.9999) until
 * a Private Enterprise Number is assigned. Changing the arc is this line and the MIB's
 * MODULE-IDENTITY line (mibs/README.md); tests/integration/test_mib.sh checks they agree.
 */
#define SNMP_COLUMNS_ROOT 1, 3, 6, 1, 4, 1, 8072, 9999, 9999, 1
#define SNMP_COLUMNS_ROOT_LEN 10

#define SNMP_OID_MAX 128
/* Index bounds of the MIB (SnmpAdminString SIZE): longer names have no rows. */
#define SNMP_TXN_NAME_MAX 64
#define SNMP_ENDPOINT_NAME_MAX 100

/* certprobeMIB.1 (objects) .T: the tables; .8: notification objects; certprobeMIB.0: notifications
 */
#define SNMP_COLUMNS_OBJECTS 1
#define SNMP_COLUMNS_NOTIF_OBJECTS 8

enum snmp_value_type {
	SNMP_VALUE_INTEGER,   /* i: INTEGER, Integer32, enumerations, TruthValue */
	SNMP_VALUE_GAUGE,     /* u: Gauge32, Unsigned32 (one BER tag) */
	SNMP_VALUE_COUNTER64, /* u */
	SNMP_VALUE_OCTETS,    /* octets[0..len) */
};

struct snmp_value {
	enum snmp_value_type type;
	int64_t i;
	uint64_t u;
	size_t len;
	uint8_t octets[256];
};

/* The MIB's SNMP-only history columns (certprobeHistoryEntry), in column order. */
enum snmp_history_column {
	SNMP_HISTORY_TIME = 2,
	SNMP_HISTORY_CLASS = 3,
	SNMP_HISTORY_REASON = 4,
	SNMP_HISTORY_DURATION = 5,
	SNMP_HISTORY_PROTOCOL_CODE = 6,
	SNMP_HISTORY_STEPS = 7,
};

struct snmp_view;

/*
 * An index over snapshot s (a snapshot_copy_flags() copy, with its history for the
 * history table), which the view takes a reference on and drops when freed. Building it
 * sorts the rows: O(n log n). Freed with snmp_view_free() (NULL-safe).
 */
struct snmp_view *snmp_view_new(struct snapshot *s);
void snmp_view_free(struct snmp_view *v);
const struct snapshot *snmp_view_snapshot(const struct snmp_view *v);

/* GET: 0 with *out for an instance that exists, -1 otherwise (noSuchObject/Instance). */
int snmp_view_get(const struct snmp_view *v, const uint32_t *oid, size_t len, int64_t now,
                  struct snmp_value *out);
/*
 * GETNEXT: the first instance after oid (of any length), in OID order: 0 with its OID in
 * next (SNMP_OID_MAX entries), its length in *next_len and its value in *out; -1 when
 * nothing of ours follows.
 */
int snmp_view_next(const struct snmp_view *v, const uint32_t *oid, size_t len, int64_t now,
                   uint32_t *next, size_t *next_len, struct snmp_value *out);

/*
 * The OID of column `column` of table t for the row with that index (a notification's
 * varbind): writes it to out (SNMP_OID_MAX entries) and returns its length, 0 when it
 * does not fit. Indexes: snmp_columns_index_txn() and friends.
 */
size_t snmp_columns_oid(uint32_t *out, enum metric_snmp_table t, unsigned column,
                        const uint32_t *index, size_t index_len);
/* Index of a transaction-named row; sub = 0 for none (result table), else appended. */
size_t snmp_columns_index_txn(uint32_t *out, const char *name, uint32_t sub);
size_t snmp_columns_index_endpoint(uint32_t *out, enum endpoint_kind kind, const char *name);

/* The table a metric row's column belongs to (its snmp_table or its scope's). */
enum metric_snmp_table snmp_columns_table_of(const struct metric_def *d);
/* "certprobeResultEntry", ... for table t (the MIB's entry descriptor). */
const char *snmp_columns_entry_name(enum metric_snmp_table t);

/*
 * The CertprobeReason label of status s ("tlsChainIncomplete" for tls_chain_incomplete;
 * its value in the MIB is s + 1): 0, or -1 for a number with no row (retired, or past
 * the table).
 */
int snmp_columns_reason_label(enum txn_status s, char *buf, size_t len);

/* DateAndTime (UTC, 11 octets) of Unix seconds t into out; returns 11. */
size_t snmp_columns_date(uint8_t *out, int64_t t);

#endif
