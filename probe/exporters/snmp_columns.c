/*
 * snmp_columns: CERTPROBE-MIB over a snapshot (see snmp_columns.h). A view keeps, per
 * table, its columns (from the metric table) and its rows as (row, sub) references in
 * OID order, so GETNEXT is a binary search and a walk of n rows costs O(n log n).
 */
#include "exporters/snmp_columns.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/xalloc.h"

#define MAX_COLUMNS 32

/* One row of a table: the snapshot row (txn or endpoint) and its sub-index (series). */
struct rowref {
	uint32_t row;
	uint32_t sub; /* step slot, history entry position, certificate role; 0 otherwise */
};

struct table {
	const struct metric_def *cols[MAX_COLUMNS + 1]; /* by column number; NULL = none */
	unsigned colnums[MAX_COLUMNS];                  /* the used ones, ascending */
	size_t n_cols;
	struct rowref *rows;
	size_t n_rows;
};

struct snmp_view {
	struct snapshot *s;
	struct table t[METRIC_SNMP_TABLE_COUNT];
	/* the history table's entries, per row: pointers into the copy's rings */
	const struct history_entry **hist;
};

static const uint32_t root[] = {SNMP_COLUMNS_ROOT};

static const char *const entry_names[METRIC_SNMP_TABLE_COUNT] = {
    [METRIC_SNMP_DAEMON] = "certprobeDaemon",          [METRIC_SNMP_TXN] = "certprobeTxnEntry",
    [METRIC_SNMP_RESULT] = "certprobeResultEntry",     [METRIC_SNMP_STEP] = "certprobeStepEntry",
    [METRIC_SNMP_HISTORY] = "certprobeHistoryEntry",   [METRIC_SNMP_CERT] = "certprobeCertEntry",
    [METRIC_SNMP_ENDPOINT] = "certprobeEndpointEntry",
};

const char *snmp_columns_entry_name(enum metric_snmp_table t)
{
	return (unsigned)t < METRIC_SNMP_TABLE_COUNT && entry_names[t] != NULL ? entry_names[t]
	                                                                       : "?";
}

enum metric_snmp_table snmp_columns_table_of(const struct metric_def *d)
{
	if (d->snmp_table != METRIC_SNMP_NONE)
		return d->snmp_table;
	switch (d->scope) {
	case METRIC_SCOPE_SELF:
		return METRIC_SNMP_DAEMON;
	case METRIC_SCOPE_TXN:
		return METRIC_SNMP_RESULT;
	case METRIC_SCOPE_ENDPOINT:
		return METRIC_SNMP_ENDPOINT;
	case METRIC_SCOPE_PROBE:
		break;
	}
	return METRIC_SNMP_NONE;
}

int snmp_columns_reason_label(enum txn_status s, char *buf, size_t len)
{
	const char *code;
	size_t n = 0;
	bool up = false;

	if ((unsigned)s >= TXN_STATUS_COUNT ||
	    (s != TXN_PROBE_INTERNAL && txn_status_info(s) == txn_status_info(TXN_PROBE_INTERNAL)))
		return -1;
	/* snake_case to lowerCamelCase: SMIv2 labels have no underscore */
	for (code = txn_status_code(s); *code != '\0' && n + 1 < len; code++) {
		if (*code == '_') {
			up = true;
			continue;
		}
		buf[n++] = up && *code >= 'a' && *code <= 'z' ? (char)(*code - 'a' + 'A') : *code;
		up = false;
	}
	buf[n] = '\0';
	return 0;
}

size_t snmp_columns_date(uint8_t *out, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	gmtime_r(&tt, &tm);
	out[0] = (uint8_t)((tm.tm_year + 1900) >> 8);
	out[1] = (uint8_t)((tm.tm_year + 1900) & 0xff);
	out[2] = (uint8_t)(tm.tm_mon + 1);
	out[3] = (uint8_t)tm.tm_mday;
	out[4] = (uint8_t)tm.tm_hour;
	out[5] = (uint8_t)tm.tm_min;
	out[6] = (uint8_t)(tm.tm_sec > 59 ? 59 : tm.tm_sec);
	out[7] = 0;
	out[8] = '+';
	out[9] = 0;
	out[10] = 0;
	return 11;
}

/* ---- OIDs and indexes ---- */

static size_t put_string(uint32_t *out, const char *s)
{
	size_t n = strlen(s);

	out[0] = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		out[1 + i] = (unsigned char)s[i];
	return n + 1;
}

size_t snmp_columns_index_txn(uint32_t *out, const char *name, uint32_t sub)
{
	size_t n;

	if (name == NULL || strlen(name) > SNMP_TXN_NAME_MAX || name[0] == '\0')
		return 0;
	n = put_string(out, name);
	if (sub != 0)
		out[n++] = sub;
	return n;
}

size_t snmp_columns_index_endpoint(uint32_t *out, enum endpoint_kind kind, const char *name)
{
	if (name == NULL || strlen(name) > SNMP_ENDPOINT_NAME_MAX || name[0] == '\0')
		return 0;
	out[0] = (uint32_t)kind + 1;
	return 1 + put_string(out + 1, name);
}

/* The table's prefix: root.1.1 for the scalars, root.1.T.1 (the entry) for a table. */
static size_t table_prefix(uint32_t *out, enum metric_snmp_table t)
{
	size_t n = SNMP_COLUMNS_ROOT_LEN;

	memcpy(out, root, sizeof root);
	out[n++] = SNMP_COLUMNS_OBJECTS;
	out[n++] = (uint32_t)t;
	if (t != METRIC_SNMP_DAEMON)
		out[n++] = 1;
	return n;
}

size_t snmp_columns_oid(uint32_t *out, enum metric_snmp_table t, unsigned column,
                        const uint32_t *index, size_t index_len)
{
	size_t n = table_prefix(out, t);

	if (n + 1 + index_len > SNMP_OID_MAX)
		return 0;
	out[n++] = column;
	memcpy(out + n, index, index_len * sizeof *index);
	return n + index_len;
}

/* Index of row r of table t into out (SNMP_OID_MAX); 0 when the row has none. */
static size_t row_index(const struct snmp_view *v, enum metric_snmp_table t, const struct rowref *r,
                        uint32_t *out)
{
	const struct snapshot *s = v->s;

	switch (t) {
	case METRIC_SNMP_DAEMON:
		out[0] = 0;
		return 1;
	case METRIC_SNMP_TXN:
	case METRIC_SNMP_RESULT:
		return snmp_columns_index_txn(out, s->txns[r->row].name, 0);
	case METRIC_SNMP_STEP:
	case METRIC_SNMP_CERT:
		return snmp_columns_index_txn(out, s->txns[r->row].name, r->sub + 1);
	case METRIC_SNMP_HISTORY:
		return snmp_columns_index_txn(out, s->txns[r->row].name, v->hist[r->sub]->index);
	case METRIC_SNMP_ENDPOINT:
		return snmp_columns_index_endpoint(out, s->endpoints[r->row].kind,
		                                   s->endpoints[r->row].name);
	default:
		return 0;
	}
}

static int oid_cmp(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	size_t n = na < nb ? na : nb;

	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return na < nb ? -1 : na > nb ? 1 : 0;
}

/* ---- building a view ---- */

static int txn_name_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	/* the index is length-prefixed: shorter names sort first */
	if (la != lb)
		return la < lb ? -1 : 1;
	return memcmp(a, b, la);
}

static const struct snapshot *sort_snap; /* qsort has no argument; views are built on one thread */

static int txn_order(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;

	return txn_name_cmp(sort_snap->txns[*x].name, sort_snap->txns[*y].name);
}

static int endpoint_order(const void *a, const void *b)
{
	const struct snapshot_endpoint *x = &sort_snap->endpoints[*(const uint32_t *)a];
	const struct snapshot_endpoint *y = &sort_snap->endpoints[*(const uint32_t *)b];

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return txn_name_cmp(x->name, y->name);
}

static void add_row(struct table *t, size_t *cap, uint32_t row, uint32_t sub)
{
	if (t->n_rows == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		t->rows = xrealloc(t->rows, *cap * sizeof *t->rows);
	}
	t->rows[t->n_rows].row = row;
	t->rows[t->n_rows].sub = sub;
	t->n_rows++;
}

static int hist_order(const void *a, const void *b)
{
	const struct history_entry *x = *(const struct history_entry *const *)a;
	const struct history_entry *y = *(const struct history_entry *const *)b;

	return x->index < y->index ? -1 : x->index > y->index ? 1 : 0;
}

static void columns_build(struct snmp_view *v)
{
	size_t n;
	const struct metric_def *defs = metrics_table(&n);
	static const unsigned hist_cols[] = {SNMP_HISTORY_TIME,          SNMP_HISTORY_CLASS,
	                                     SNMP_HISTORY_REASON,        SNMP_HISTORY_DURATION,
	                                     SNMP_HISTORY_PROTOCOL_CODE, SNMP_HISTORY_STEPS};

	for (size_t i = 0; i < n; i++) {
		enum metric_snmp_table t = snmp_columns_table_of(&defs[i]);
		if (defs[i].snmp_column == 0 || defs[i].snmp_column > MAX_COLUMNS ||
		    t == METRIC_SNMP_NONE || t == METRIC_SNMP_HISTORY)
			continue;
		v->t[t].cols[defs[i].snmp_column] = &defs[i];
	}
	for (size_t t = 0; t < METRIC_SNMP_TABLE_COUNT; t++)
		for (unsigned c = 1; c <= MAX_COLUMNS; c++)
			if (v->t[t].cols[c] != NULL)
				v->t[t].colnums[v->t[t].n_cols++] = c;
	for (size_t i = 0; i < sizeof hist_cols / sizeof hist_cols[0]; i++)
		v->t[METRIC_SNMP_HISTORY].colnums[v->t[METRIC_SNMP_HISTORY].n_cols++] =
		    hist_cols[i];
}

struct snmp_view *snmp_view_new(struct snapshot *s)
{
	struct snmp_view *v = xcalloc(1, sizeof *v);
	uint32_t *order = xcalloc(s->n_txns + s->n_endpoints + 1, sizeof *order);
	size_t cap[METRIC_SNMP_TABLE_COUNT] = {0}, n_hist = 0, hcap = 0;

	v->s = snapshot_ref(s);
	columns_build(v);
	add_row(&v->t[METRIC_SNMP_DAEMON], &cap[METRIC_SNMP_DAEMON], 0, 0);

	for (uint32_t i = 0; i < s->n_txns; i++)
		order[i] = i;
	sort_snap = s;
	qsort(order, s->n_txns, sizeof *order, txn_order);
	for (size_t k = 0; k < s->n_txns; k++) {
		uint32_t i = order[k];
		const struct snapshot_txn *t = &s->txns[i];
		size_t steps = t->n_steps < TXN_MAX_STEPS ? t->n_steps : TXN_MAX_STEPS;
		size_t first_hist = n_hist;

		if (t->name == NULL || t->name[0] == '\0' || strlen(t->name) > SNMP_TXN_NAME_MAX)
			continue; /* no SNMP name: longer than the MIB's index allows */
		add_row(&v->t[METRIC_SNMP_TXN], &cap[METRIC_SNMP_TXN], i, 0);
		add_row(&v->t[METRIC_SNMP_RESULT], &cap[METRIC_SNMP_RESULT], i, 0);
		for (uint32_t j = 0; t->have_result && j < steps; j++)
			add_row(&v->t[METRIC_SNMP_STEP], &cap[METRIC_SNMP_STEP], i, j);
		for (uint32_t r = 0; r < CERT_ROLE_COUNT; r++)
			if (t->certs[r].present)
				add_row(&v->t[METRIC_SNMP_CERT], &cap[METRIC_SNMP_CERT], i, r);
		/* history rows in index order (the numbering wraps once in 2^32 runs) */
		for (size_t j = 0; j < history_count(t->history); j++) {
			if (n_hist == hcap) {
				hcap = hcap ? 2 * hcap : 256;
				v->hist = xrealloc(v->hist, hcap * sizeof *v->hist);
			}
			v->hist[n_hist++] = history_get(t->history, j);
		}
		if (n_hist > first_hist)
			qsort(v->hist + first_hist, n_hist - first_hist, sizeof *v->hist,
			      hist_order);
		/* a history row's sub is its entry's position in v->hist */
		for (size_t j = first_hist; j < n_hist; j++)
			add_row(&v->t[METRIC_SNMP_HISTORY], &cap[METRIC_SNMP_HISTORY], i,
			        (uint32_t)j);
	}

	for (uint32_t i = 0; i < s->n_endpoints; i++)
		order[i] = i;
	qsort(order, s->n_endpoints, sizeof *order, endpoint_order);
	for (size_t k = 0; k < s->n_endpoints; k++) {
		uint32_t buf[SNMP_OID_MAX];
		if (snmp_columns_index_endpoint(buf, s->endpoints[order[k]].kind,
		                                s->endpoints[order[k]].name) == 0)
			continue;
		add_row(&v->t[METRIC_SNMP_ENDPOINT], &cap[METRIC_SNMP_ENDPOINT], order[k], 0);
	}
	sort_snap = NULL;
	free(order);
	return v;
}

void snmp_view_free(struct snmp_view *v)
{
	if (v == NULL)
		return;
	for (size_t t = 0; t < METRIC_SNMP_TABLE_COUNT; t++)
		free(v->t[t].rows);
	free(v->hist);
	snapshot_unref(v->s);
	free(v);
}

const struct snapshot *snmp_view_snapshot(const struct snmp_view *v)
{
	return v->s;
}

/* ---- values ---- */

static void put_octets(struct snmp_value *out, const char *s)
{
	size_t n = strlen(s);

	if (n > sizeof out->octets - 1)
		n = sizeof out->octets - 1;
	out->type = SNMP_VALUE_OCTETS;
	memcpy(out->octets, s, n);
	out->len = n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "sha256:<hex>" as SnmpTLSFingerprint: the IANA hash id (sha1 2, sha256 4), the hash */
static int put_fingerprint(struct snmp_value *out, const char *s)
{
	static const struct {
		const char *prefix;
		uint8_t id;
	} algs[] = {{"sha256:", 4}, {"sha1:", 2}, {"sha384:", 5}, {"sha512:", 6}};
	const char *hex = NULL;
	size_t n = 1;

	for (size_t i = 0; i < sizeof algs / sizeof algs[0] && hex == NULL; i++)
		if (strncmp(s, algs[i].prefix, strlen(algs[i].prefix)) == 0) {
			hex = s + strlen(algs[i].prefix);
			out->octets[0] = algs[i].id;
		}
	if (hex == NULL)
		return -1;
	for (; hex[0] != '\0' && n < sizeof out->octets; hex += 2) {
		if (hex[0] == ':') {
			hex--;
			continue;
		}
		if (hexval(hex[0]) == -1 || hexval(hex[1]) == -1)
			return -1;
		out->octets[n++] = (uint8_t)(hexval(hex[0]) << 4 | hexval(hex[1]));
	}
	out->type = SNMP_VALUE_OCTETS;
	out->len = n;
	return 0;
}

static uint32_t sat32(uint64_t u)
{
	return u > UINT32_MAX ? UINT32_MAX : (uint32_t)u;
}

static int32_t clamp32(int64_t i)
{
	return i > INT32_MAX ? INT32_MAX : i < INT32_MIN ? INT32_MIN : (int32_t)i;
}

/* Encode sample m of def d as d's syntax says; -1 when it has no instance. */
static int encode(const struct metric_def *d, const struct metric_sample *m, int64_t now,
                  struct snmp_value *out)
{
	const struct metric_value *mv = &m->value;

	memset(out, 0, offsetof(struct snmp_value, octets));
	switch (d->snmp_syntax) {
	case METRIC_SNMP_AUTO:
		if (mv->kind == METRIC_VALUE_INT) {
			out->type = SNMP_VALUE_INTEGER;
			out->i = clamp32(mv->i);
		} else if (d->type == METRIC_COUNTER) {
			out->type = SNMP_VALUE_COUNTER64;
			out->u = mv->u;
		} else {
			out->type = SNMP_VALUE_GAUGE;
			out->u = sat32(mv->u);
		}
		return 0;
	case METRIC_SNMP_ENUM:
		out->type = SNMP_VALUE_INTEGER;
		out->i = (int64_t)mv->u + 1;
		return 0;
	case METRIC_SNMP_TRUTH:
		out->type = SNMP_VALUE_INTEGER;
		out->i = mv->u ? 1 : 2;
		return 0;
	case METRIC_SNMP_DATE:
		if (mv->i <= 0)
			return -1;
		out->type = SNMP_VALUE_OCTETS;
		out->len = snmp_columns_date(out->octets, mv->i);
		return 0;
	case METRIC_SNMP_MICROS:
		out->type = SNMP_VALUE_GAUGE;
		out->u = sat32(mv->u);
		return 0;
	case METRIC_SNMP_MILLIS:
		out->type = SNMP_VALUE_GAUGE;
		out->u = sat32(mv->u / 1000);
		return 0;
	case METRIC_SNMP_STRING:
		put_octets(out, mv->kind == METRIC_VALUE_STRING ? mv->s : "");
		return 0;
	case METRIC_SNMP_FINGERPRINT:
		return mv->kind == METRIC_VALUE_STRING ? put_fingerprint(out, mv->s) : -1;
	case METRIC_SNMP_SECONDS_TO:
		out->type = SNMP_VALUE_INTEGER;
		out->i = clamp32(mv->i - now);
		return 0;
	}
	return -1;
}

static int history_value(const struct history_entry *e, unsigned col, struct snmp_value *out)
{
	char steps[256];
	size_t n = 0;

	memset(out, 0, offsetof(struct snmp_value, octets));
	switch (col) {
	case SNMP_HISTORY_TIME:
		if (e->end <= 0)
			return -1;
		out->type = SNMP_VALUE_OCTETS;
		out->len = snmp_columns_date(out->octets, e->end);
		return 0;
	case SNMP_HISTORY_CLASS:
		out->type = SNMP_VALUE_INTEGER;
		out->i = (int64_t)e->result + 1;
		return 0;
	case SNMP_HISTORY_REASON:
		out->type = SNMP_VALUE_INTEGER;
		out->i = (int64_t)e->status + 1;
		return 0;
	case SNMP_HISTORY_DURATION:
		out->type = SNMP_VALUE_GAUGE;
		out->u = sat32(e->duration_us);
		return 0;
	case SNMP_HISTORY_PROTOCOL_CODE:
		out->type = SNMP_VALUE_INTEGER;
		out->i = e->protocol_code;
		return 0;
	case SNMP_HISTORY_STEPS:
		steps[0] = '\0';
		for (size_t i = 0; i < e->n_steps && n < sizeof steps; i++)
			n += (size_t)snprintf(steps + n, sizeof steps - n, "%s%s=%u", i ? " " : "",
			                      e->steps[i].name, e->steps[i].duration_us);
		put_octets(out, steps);
		return 0;
	default:
		return -1;
	}
}

static int cell(const struct snmp_view *v, enum metric_snmp_table t, unsigned col,
                const struct rowref *r, int64_t now, struct snmp_value *out)
{
	const struct metric_def *d;
	struct metric_sample m;
	const void *row;
	size_t series = 0;

	if (t == METRIC_SNMP_HISTORY)
		return history_value(v->hist[r->sub], col, out);
	d = v->t[t].cols[col];
	if (d == NULL)
		return -1;
	switch (t) {
	case METRIC_SNMP_DAEMON:
		row = &v->s->self;
		break;
	case METRIC_SNMP_ENDPOINT:
		row = &v->s->endpoints[r->row];
		break;
	default:
		row = &v->s->txns[r->row];
		series = r->sub;
		break;
	}
	memset(&m, 0, sizeof m);
	if (d->series != NULL && series >= d->series(row))
		return -1;
	if (!d->get(row, series, &m))
		return -1;
	return encode(d, &m, now, out);
}

/* ---- GET and GETNEXT ---- */

/* First row whose index is greater than idx (all of them for an empty idx). */
static size_t upper_bound(const struct snmp_view *v, enum metric_snmp_table t, const uint32_t *idx,
                          size_t n)
{
	const struct table *tb = &v->t[t];
	size_t lo = 0, hi = tb->n_rows;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t buf[SNMP_OID_MAX];
		size_t bn = row_index(v, t, &tb->rows[mid], buf);
		if (oid_cmp(buf, bn, idx, n) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int snmp_view_get(const struct snmp_view *v, const uint32_t *oid, size_t len, int64_t now,
                  struct snmp_value *out)
{
	for (size_t t = METRIC_SNMP_DAEMON; t < METRIC_SNMP_TABLE_COUNT; t++) {
		uint32_t p[SNMP_OID_MAX];
		size_t pn = table_prefix(p, t), k;
		const uint32_t *idx;
		size_t n;

		if (len < pn + 2 || oid_cmp(oid, pn, p, pn) != 0)
			continue;
		idx = oid + pn + 1;
		n = len - pn - 1;
		k = upper_bound(v, t, idx, n);
		if (k == 0)
			return -1;
		{
			uint32_t buf[SNMP_OID_MAX];
			size_t bn = row_index(v, t, &v->t[t].rows[k - 1], buf);
			if (oid_cmp(buf, bn, idx, n) != 0)
				return -1;
		}
		if (oid[pn] > MAX_COLUMNS)
			return -1;
		if (t != METRIC_SNMP_HISTORY && v->t[t].cols[oid[pn]] == NULL)
			return -1;
		return cell(v, t, oid[pn], &v->t[t].rows[k - 1], now, out);
	}
	return -1;
}

int snmp_view_next(const struct snmp_view *v, const uint32_t *oid, size_t len, int64_t now,
                   uint32_t *next, size_t *next_len, struct snmp_value *out)
{
	for (size_t t = METRIC_SNMP_DAEMON; t < METRIC_SNMP_TABLE_COUNT; t++) {
		const struct table *tb = &v->t[t];
		uint32_t p[SNMP_OID_MAX];
		size_t pn = table_prefix(p, t);
		size_t common = len < pn ? len : pn;
		int c = oid_cmp(oid, common, p, common);
		bool inside = c == 0 && len > pn;

		if (c > 0)
			continue; /* oid is past this table */
		for (size_t ci = 0; ci < tb->n_cols; ci++) {
			unsigned col = tb->colnums[ci];
			size_t k = 0;

			if (inside && col < oid[pn])
				continue;
			if (inside && col == oid[pn])
				k = upper_bound(v, (enum metric_snmp_table)t, oid + pn + 1,
				                len - pn - 1);
			for (; k < tb->n_rows; k++) {
				uint32_t idx[SNMP_OID_MAX];
				size_t n;
				if (cell(v, (enum metric_snmp_table)t, col, &tb->rows[k], now,
				         out) == -1)
					continue;
				n = row_index(v, (enum metric_snmp_table)t, &tb->rows[k], idx);
				*next_len =
				    snmp_columns_oid(next, (enum metric_snmp_table)t, col, idx, n);
				if (*next_len == 0)
					continue;
				return 0;
			}
		}
	}
	return -1;
}
