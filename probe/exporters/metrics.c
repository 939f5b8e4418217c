/*
 * metrics: the metric table and the Prometheus/OpenMetrics text renderer (see
 * metrics.h). The renderer writes every family contiguously, one HELP/TYPE per
 * family, and formats numbers itself from integers (no printf, no floating point), so
 * 10,000 transactions render in a few tens of milliseconds.
 */
#include "exporters/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/xalloc.h"

/* ---- label vocabularies ---- */

static const char *const result_labels[] = {
    [RESULT_OK] = "ok",
    [RESULT_WARNING] = "warning",
    [RESULT_CRITICAL] = "critical",
    [RESULT_UNKNOWN] = "unknown",
};
_Static_assert(sizeof result_labels / sizeof result_labels[0] == RESULT_UNKNOWN + 1,
               "result_labels must cover every enum result_class");

static const char *const cert_role_labels[] = {
    [CERT_ROLE_ISSUED] = "issued",
    [CERT_ROLE_CLIENT] = "client",
    [CERT_ROLE_SERVER] = "server",
    [CERT_ROLE_CA] = "ca",
};
_Static_assert(sizeof cert_role_labels / sizeof cert_role_labels[0] == CERT_ROLE_COUNT,
               "cert_role_labels must cover every enum cert_role");

static const char *const endpoint_kind_labels[] = {
    [ENDPOINT_KIND_REGISTRAR] = "registrar",
    [ENDPOINT_KIND_WEB_SERVICE] = "web_service",
};
_Static_assert(sizeof endpoint_kind_labels / sizeof endpoint_kind_labels[0] == ENDPOINT_KIND_COUNT,
               "endpoint_kind_labels must cover every enum endpoint_kind");

/*
 * Scheduling lag: a run queued behind the per-endpoint limit can wait for minutes, a
 * healthy loop starts runs within a millisecond.
 */
const uint64_t metrics_histogram_bounds_us[SNAPSHOT_HISTOGRAM_BOUNDS] = {
    1000, 5000, 25000, 100000, 250000, 1000000, 5000000, 15000000, 60000000, 300000000,
};

/* An out-of-range class reads as UNKNOWN, as result_class_name() does. */
static enum result_class result_clamp(enum result_class r)
{
	return (unsigned)r > RESULT_UNKNOWN ? RESULT_UNKNOWN : r;
}

const char *metrics_result_label(enum result_class r)
{
	return result_labels[result_clamp(r)];
}

const char *metrics_cert_role_label(enum cert_role r)
{
	return (unsigned)r < CERT_ROLE_COUNT ? cert_role_labels[r] : NULL;
}

const char *metrics_endpoint_kind_label(enum endpoint_kind k)
{
	return (unsigned)k < ENDPOINT_KIND_COUNT ? endpoint_kind_labels[k] : NULL;
}

void metrics_histogram_observe(struct snapshot_histogram *h, uint64_t us)
{
	size_t i = 0;

	while (i < SNAPSHOT_HISTOGRAM_BOUNDS && us > metrics_histogram_bounds_us[i])
		i++;
	h->counts[i]++;
	h->sum_us += us;
}

void metrics_txn_set_result(struct snapshot_txn *row, const struct txn_result *r)
{
	size_t n = r->n_steps < TXN_MAX_STEPS ? r->n_steps : TXN_MAX_STEPS;

	row->have_result = true;
	row->type = r->type;
	row->protocol = r->protocol;
	row->status = r->status;
	row->result = r->result;
	row->duration_us = r->duration_us;
	for (size_t i = 0; i < n; i++) {
		row->steps[i].name = r->steps[i].name;
		row->steps[i].duration_us = r->steps[i].duration_us;
	}
	row->n_steps = n;
}

/* ---- getters: one per family, each reads one row ---- */

static void set_uint(struct metric_sample *out, uint64_t v)
{
	out->value.kind = METRIC_VALUE_UINT;
	out->value.u = v;
}

static void set_int(struct metric_sample *out, int64_t v)
{
	out->value.kind = METRIC_VALUE_INT;
	out->value.i = v;
}

static void set_micro(struct metric_sample *out, uint64_t v)
{
	out->value.kind = METRIC_VALUE_MICRO;
	out->value.u = v;
}

static size_t series_result_classes(const void *row)
{
	(void)row;
	return RESULT_UNKNOWN + 1;
}

static size_t series_cert_roles(const void *row)
{
	(void)row;
	return CERT_ROLE_COUNT;
}

static size_t series_steps(const void *row)
{
	const struct snapshot_txn *t = row;

	return t->n_steps < TXN_MAX_STEPS ? t->n_steps : TXN_MAX_STEPS;
}

static bool get_txn_success(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	if (!t->have_result)
		return false;
	set_uint(out, result_clamp(t->result) <= RESULT_WARNING);
	return true;
}

static bool get_txn_status(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	if (!t->have_result)
		return false;
	out->label_values[0] = txn_status_code(t->status);
	out->label_values[1] = metrics_result_label(t->result);
	set_uint(out, 1);
	return true;
}

static bool get_txn_duration(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	if (!t->have_result)
		return false;
	set_micro(out, t->duration_us);
	return true;
}

/* Repeated step names (a poll that ran five times) are summed into the first one. */
static bool get_txn_step(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;
	const char *name = t->steps[i].name;
	uint64_t sum = 0;
	size_t n = series_steps(row);

	if (!t->have_result || name == NULL)
		return false;
	for (size_t j = 0; j < i; j++)
		if (t->steps[j].name != NULL && strcmp(t->steps[j].name, name) == 0)
			return false;
	for (size_t j = i; j < n; j++)
		if (t->steps[j].name != NULL && strcmp(t->steps[j].name, name) == 0)
			sum += t->steps[j].duration_us;
	out->label_values[0] = name;
	set_micro(out, sum);
	return true;
}

static bool get_txn_interval(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	if (t->interval_ms == 0)
		return false;
	set_micro(out, t->interval_ms * 1000);
	return true;
}

static bool get_txn_last_run(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	if (!t->have_result)
		return false;
	set_int(out, t->last_run);
	return true;
}

static bool get_txn_last_success(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	if (!t->have_result)
		return false;
	set_int(out, t->last_success);
	return true;
}

static bool get_txn_runs(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	out->label_values[0] = result_labels[i];
	set_uint(out, t->runs[i]);
	return true;
}

static bool get_txn_state(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	out->label_values[0] = result_labels[i];
	set_uint(out, result_clamp(t->state) == i);
	return true;
}

static bool get_txn_hard(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	set_uint(out, t->hard);
	return true;
}

static bool get_txn_flapping(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	set_uint(out, t->flapping);
	return true;
}

static bool get_txn_cert(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	if (!t->certs[i].present)
		return false;
	out->label_values[0] = cert_role_labels[i];
	set_int(out, t->certs[i].not_after);
	return true;
}

static bool get_endpoint_state(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_endpoint *e = row;

	out->label_values[0] = result_labels[i];
	set_uint(out, result_clamp(e->state) == i);
	return true;
}

static bool get_build_info(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	out->label_values[0] = s->version;
	out->label_values[1] = s->openssl_version;
	out->label_values[2] = s->libcurl_version;
	set_uint(out, 1);
	return true;
}

static bool get_start_time(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_int(out, s->start_time);
	return true;
}

static bool get_in_flight(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_uint(out, s->in_flight);
	return true;
}

static bool get_lag(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	out->value.kind = METRIC_VALUE_HISTOGRAM;
	out->value.hist = &s->lag;
	return true;
}

static bool get_max_stall(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_micro(out, s->max_stall_us);
	return true;
}

static bool get_reload_ok(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_uint(out, s->reload_ok);
	return true;
}

static bool get_reload_time(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_int(out, s->reload_success_time);
	return true;
}

/* ---- the table ---- */

/*
 * Enum states are one gauge series per state (HAProxy promex), not an OpenMetrics
 * stateset: a stateset's label must be named after the family, so the two renderings
 * would carry different label names and queries would depend on content negotiation.
 * The failure reason sits on an info series of its own, not on _success: a label that
 * changes with every new failure kind would restart the success series (and every
 * alert's `for:`) each time.
 */
static const struct metric_def metric_table[] = {
    {
        .name = "certprobe_transaction_success",
        .help = "1 if the last run of the transaction completed (result ok or warning), "
                "0 if it failed (critical or unknown)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_success,
    },
    {
        .name = "certprobe_transaction_status",
        .help = "Status of the last run: reason is the status code that ended it (ok when it "
                "completed), result its result class",
        .type = METRIC_INFO,
        .scope = METRIC_SCOPE_TXN,
        .labels = {"reason", "result"},
        .get = get_txn_status,
    },
    {
        .name = "certprobe_transaction_duration_seconds",
        .help = "Duration of the last run of the transaction",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_duration,
    },
    {
        .name = "certprobe_step_duration_seconds",
        .help = "Duration of each step of the last run of the transaction (repeated steps "
                "summed)",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_TXN,
        .labels = {"step"},
        .series = series_steps,
        .get = get_txn_step,
    },
    {
        .name = "certprobe_transaction_interval_seconds",
        .help = "How often the daemon runs the transaction (its configured interval)",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_interval,
    },
    {
        .name = "certprobe_transaction_last_run_timestamp_seconds",
        .help = "When the last run of the transaction ended, as Unix time",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_last_run,
    },
    {
        .name = "certprobe_transaction_last_success_timestamp_seconds",
        .help = "When the transaction last completed (result ok or warning), as Unix time; "
                "0 if it never has (kept across restarts in the state file)",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_last_success,
    },
    {
        .name = "certprobe_transaction_runs",
        .help = "Completed runs of the transaction by result class (kept across restarts "
                "in the state file)",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_TXN,
        .labels = {"result"},
        .series = series_result_classes,
        .get = get_txn_runs,
    },
    {
        .name = "certprobe_transaction_state",
        .help = "Current health state of the transaction, soft or hard: 1 for the state it "
                "is in, 0 for the others",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .labels = {"state"},
        .series = series_result_classes,
        .get = get_txn_state,
    },
    {
        .name = "certprobe_transaction_state_hard",
        .help = "1 if the current state of the transaction is hard (confirmed by "
                "max_attempts results), 0 if soft",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_hard,
    },
    {
        .name = "certprobe_transaction_flapping",
        .help = "1 if the transaction is flapping (its state changes too often to alert on)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_flapping,
    },
    {
        .name = "certprobe_certificate_not_after_timestamp_seconds",
        .help = "End of validity of the certificates of the transaction by role (issued, "
                "client, server, ca), as Unix time",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_TXN,
        .labels = {"role"},
        .series = series_cert_roles,
        .get = get_txn_cert,
    },
    {
        .name = "certprobe_endpoint_state",
        .help = "Health state of the endpoint (worst hard state of its transactions): 1 for "
                "the state it is in, 0 for the others",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_ENDPOINT,
        .labels = {"state"},
        .series = series_result_classes,
        .get = get_endpoint_state,
    },
    {
        .name = "certprobe_build",
        .help = "Version of certprobe and of the libraries it runs with",
        .type = METRIC_INFO,
        .scope = METRIC_SCOPE_SELF,
        .labels = {"version", "openssl", "libcurl"},
        .get = get_build_info,
    },
    {
        /* the standard name of every client library's process collector */
        .name = "process_start_time_seconds",
        .help = "Start time of the process since the Unix epoch",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_SELF,
        .get = get_start_time,
    },
    {
        .name = "certprobe_transactions_in_flight",
        .help = "Transactions running now",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_SELF,
        .get = get_in_flight,
    },
    {
        .name = "certprobe_scheduler_lag_seconds",
        .help = "How late each run started against its schedule, since the daemon started",
        .type = METRIC_HISTOGRAM,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_SELF,
        .get = get_lag,
    },
    {
        .name = "certprobe_event_loop_max_stall_seconds",
        .help = "Longest time the event loop went without running, over the window the "
                "daemon keeps",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_SELF,
        .get = get_max_stall,
    },
    {
        .name = "certprobe_config_last_reload_successful",
        .help = "1 if the last load or reload of the configuration succeeded",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_SELF,
        .get = get_reload_ok,
    },
    {
        .name = "certprobe_config_last_reload_success_timestamp_seconds",
        .help = "When the configuration was last loaded successfully, as Unix time",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_SELF,
        .get = get_reload_time,
    },
};

const struct metric_def *metrics_table(size_t *n)
{
	*n = sizeof metric_table / sizeof metric_table[0];
	return metric_table;
}

size_t metrics_rows(const struct snapshot *s, enum metric_scope scope)
{
	switch (scope) {
	case METRIC_SCOPE_TXN:
		return s->txns != NULL ? s->n_txns : 0;
	case METRIC_SCOPE_ENDPOINT:
		return s->endpoints != NULL ? s->n_endpoints : 0;
	case METRIC_SCOPE_SELF:
		return 1;
	}
	return 0;
}

const void *metrics_row(const struct snapshot *s, enum metric_scope scope, size_t i)
{
	if (i >= metrics_rows(s, scope))
		return NULL;
	switch (scope) {
	case METRIC_SCOPE_TXN:
		return &s->txns[i];
	case METRIC_SCOPE_ENDPOINT:
		return &s->endpoints[i];
	case METRIC_SCOPE_SELF:
		return &s->self;
	}
	return NULL;
}

/* ---- output: a staging buffer in front of the capped bbuf ---- */

#define STAGE_SIZE (32 * 1024)

struct writer {
	struct bbuf *out;
	bool failed; /* the cap was hit; everything after is dropped */
	size_t len;
	char buf[STAGE_SIZE];
};

static void w_flush(struct writer *w)
{
	if (w->len > 0 && !w->failed && bbuf_append(w->out, w->buf, w->len) == -1)
		w->failed = true;
	w->len = 0;
}

static void w_put(struct writer *w, const char *p, size_t n)
{
	if (n > STAGE_SIZE - w->len) {
		w_flush(w);
		if (n > STAGE_SIZE) {
			if (!w->failed && bbuf_append(w->out, p, n) == -1)
				w->failed = true;
			return;
		}
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void w_str(struct writer *w, const char *s)
{
	w_put(w, s, strlen(s));
}

static void w_char(struct writer *w, char c)
{
	if (w->len == STAGE_SIZE)
		w_flush(w);
	w->buf[w->len++] = c;
}

/*
 * A label value: backslash, double quote and newline escaped (both formats), and any
 * byte that is not valid UTF-8 replaced by U+FFFD, because Prometheus rejects the whole
 * scrape over one invalid label value.
 */
static void w_label_value(struct writer *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run;
	size_t n;

	if (s == NULL)
		return;
	run = p;
	while (*p != '\0') {
		if (*p < 0x80 && *p != '\\' && *p != '"' && *p != '\n') {
			p++;
			continue;
		}
		w_put(w, (const char *)run, (size_t)(p - run));
		if (*p == '\\') {
			w_put(w, "\\\\", 2);
			p++;
		} else if (*p == '"') {
			w_put(w, "\\\"", 2);
			p++;
		} else if (*p == '\n') {
			w_put(w, "\\n", 2);
			p++;
		} else {
			n = text_utf8_decode(p, NULL);
			if (n == 0) {
				w_put(w, "\xef\xbf\xbd", 3);
				p++;
			} else {
				w_put(w, (const char *)p, n);
				p += n;
			}
		}
		run = p;
	}
	w_put(w, (const char *)run, (size_t)(p - run));
}

/* name="value" */
static void w_label_pair(struct writer *w, const char *name, const char *value)
{
	w_str(w, name);
	w_put(w, "=\"", 2);
	w_label_value(w, value);
	w_char(w, '"');
}

/* The pair, opening the label set with "{" if it is the first one. */
static void w_label(struct writer *w, bool *first, const char *name, const char *value)
{
	w_char(w, *first ? '{' : ',');
	*first = false;
	w_label_pair(w, name, value);
}

static size_t fmt_u64(char *buf, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

static void w_u64(struct writer *w, uint64_t v)
{
	char buf[20];

	w_put(w, buf, fmt_u64(buf, v));
}

static void w_i64(struct writer *w, int64_t v)
{
	if (v < 0) {
		w_char(w, '-');
		w_u64(w, (uint64_t)0 - (uint64_t)v);
	} else {
		w_u64(w, (uint64_t)v);
	}
}

/* v millionths as a decimal: 1500000 -> "1.5", 42 -> "0.000042", 0 -> "0"; buf >= 28 */
static size_t fmt_micro(char *buf, uint64_t v)
{
	size_t n = fmt_u64(buf, v / 1000000);
	uint64_t frac = v % 1000000;

	if (frac != 0) {
		buf[n++] = '.';
		for (uint64_t d = 100000; frac != 0; d /= 10) {
			buf[n++] = (char)('0' + frac / d);
			frac %= d;
		}
	}
	return n;
}

static void w_micro(struct writer *w, uint64_t v)
{
	char buf[32];

	w_put(w, buf, fmt_micro(buf, v));
}

static void w_value(struct writer *w, const struct metric_value *v)
{
	switch (v->kind) {
	case METRIC_VALUE_UINT:
		w_u64(w, v->u);
		break;
	case METRIC_VALUE_INT:
		w_i64(w, v->i);
		break;
	case METRIC_VALUE_MICRO:
		w_micro(w, v->u);
		break;
	case METRIC_VALUE_HISTOGRAM:
		w_char(w, '0'); /* not reached: histograms are written by w_histogram() */
		break;
	}
}

/* ---- common labels: escaped once per row, reused by every family ---- */

struct prefixes {
	char *text;  /* all rows' label lists back to back, e.g. `transaction="a",type="b"` */
	size_t *off; /* row i is text[off[i] .. off[i + 1]) */
};

/* The common labels of row i, comma-separated, without braces. */
static void prefix_row(struct writer *w, const struct snapshot *s, enum metric_scope scope,
                       size_t i)
{
	if (scope == METRIC_SCOPE_TXN) {
		const struct snapshot_txn *t = &s->txns[i];
		w_label_pair(w, "transaction", t->name);
		w_label_pair(w, ",type", t->type);
		w_label_pair(w, ",protocol", t->protocol);
		w_label_pair(w, ",endpoint", t->endpoint);
	} else if (scope == METRIC_SCOPE_ENDPOINT) {
		const struct snapshot_endpoint *e = &s->endpoints[i];
		w_label_pair(w, "endpoint", e->name);
		w_label_pair(w, ",kind", metrics_endpoint_kind_label(e->kind));
	}
}

/*
 * Build the label lists of every row of a scope. Writes through a writer into a
 * private bbuf, capped like the output: if the labels alone do not fit, neither will
 * the exposition. Returns -1 when the cap was hit.
 */
static int prefixes_build(struct prefixes *p, const struct snapshot *s, enum metric_scope scope,
                          size_t max, struct writer *w)
{
	struct bbuf text;
	size_t n = metrics_rows(s, scope);

	memset(p, 0, sizeof *p);
	bbuf_init(&text, max);
	w->out = &text;
	w->failed = false;
	w->len = 0;
	p->off = xcalloc(n + 1, sizeof *p->off);
	for (size_t i = 0; i < n && !w->failed; i++) {
		p->off[i] = text.len + w->len;
		prefix_row(w, s, scope, i);
	}
	w_flush(w);
	p->off[n] = text.len;
	p->text = (char *)text.data;
	return w->failed ? -1 : 0;
}

static void prefixes_free(struct prefixes *p)
{
	free(p->text);
	free(p->off);
	p->text = NULL;
	p->off = NULL;
}

/* ---- families ---- */

struct render {
	struct writer *w;
	bool om;
	const struct metric_def *def;
	const char *prefix; /* common labels of the current row, without braces */
	size_t prefix_len;
};

static const char *sample_suffix(const struct metric_def *d)
{
	if (d->type == METRIC_COUNTER)
		return "_total";
	if (d->type == METRIC_INFO)
		return "_info";
	return "";
}

static void w_header(struct render *r)
{
	const struct metric_def *d = r->def;
	/* 0.0.4 has no counter or info families: its metadata names the sample */
	const char *name_suffix = r->om ? "" : sample_suffix(d);
	const char *type;

	switch (d->type) {
	case METRIC_COUNTER:
		type = "counter";
		break;
	case METRIC_INFO:
		type = r->om ? "info" : "gauge";
		break;
	case METRIC_HISTOGRAM:
		type = "histogram";
		break;
	case METRIC_GAUGE:
	default:
		type = "gauge";
		break;
	}
	w_put(r->w, "# HELP ", 7);
	w_str(r->w, d->name);
	w_str(r->w, name_suffix);
	w_char(r->w, ' ');
	w_str(r->w, d->help);
	w_put(r->w, "\n# TYPE ", 8);
	w_str(r->w, d->name);
	w_str(r->w, name_suffix);
	w_char(r->w, ' ');
	w_str(r->w, type);
	w_char(r->w, '\n');
	if (r->om && d->unit == METRIC_UNIT_SECONDS) {
		w_put(r->w, "# UNIT ", 7);
		w_str(r->w, d->name);
		w_put(r->w, " seconds\n", 9);
	}
}

/* Name, then every label: the row's, the family's own, then an optional extra (le). */
static void w_series(struct render *r, const char *suffix, const struct metric_sample *smp,
                     const char *extra_name, const char *extra_value)
{
	struct writer *w = r->w;
	bool first = true;

	w_str(w, r->def->name);
	w_str(w, suffix);
	if (r->prefix_len > 0) {
		w_char(w, '{');
		w_put(w, r->prefix, r->prefix_len);
		first = false;
	}
	for (size_t k = 0; k < METRIC_MAX_LABELS && r->def->labels[k] != NULL; k++)
		w_label(w, &first, r->def->labels[k], smp->label_values[k]);
	if (extra_name != NULL)
		w_label(w, &first, extra_name, extra_value);
	if (!first)
		w_char(w, '}');
	w_char(w, ' ');
}

static void w_histogram(struct render *r, const struct metric_sample *smp)
{
	const struct snapshot_histogram *h = smp->value.hist;
	uint64_t cum = 0;
	char le[32];

	for (size_t b = 0; b <= SNAPSHOT_HISTOGRAM_BOUNDS; b++) {
		cum += h->counts[b];
		if (b < SNAPSHOT_HISTOGRAM_BOUNDS) {
			/* the same text in both renderings, so le values match */
			le[fmt_micro(le, metrics_histogram_bounds_us[b])] = '\0';
			w_series(r, "_bucket", smp, "le", le);
		} else {
			w_series(r, "_bucket", smp, "le", "+Inf");
		}
		w_u64(r->w, cum);
		w_char(r->w, '\n');
	}
	w_series(r, "_sum", smp, NULL, NULL);
	w_micro(r->w, h->sum_us);
	w_char(r->w, '\n');
	w_series(r, "_count", smp, NULL, NULL);
	w_u64(r->w, cum);
	w_char(r->w, '\n');
}

static void render_family(struct render *r, const struct snapshot *s, const struct prefixes *p)
{
	const struct metric_def *d = r->def;
	size_t rows = metrics_rows(s, d->scope);
	const char *suffix = sample_suffix(d);

	w_header(r);
	for (size_t row = 0; row < rows && !r->w->failed; row++) {
		const void *rp = metrics_row(s, d->scope, row);
		size_t n = d->series != NULL ? d->series(rp) : 1;

		if (p != NULL) {
			r->prefix = p->text + p->off[row];
			r->prefix_len = p->off[row + 1] - p->off[row];
		} else {
			r->prefix = "";
			r->prefix_len = 0;
		}
		for (size_t i = 0; i < n; i++) {
			struct metric_sample smp;

			memset(&smp, 0, sizeof smp);
			if (!d->get(rp, i, &smp))
				continue;
			if (smp.value.kind == METRIC_VALUE_HISTOGRAM) {
				w_histogram(r, &smp);
				continue;
			}
			w_series(r, suffix, &smp, NULL, NULL);
			w_value(r->w, &smp.value);
			w_char(r->w, '\n');
		}
	}
}

int metrics_render(struct bbuf *out, const struct snapshot *s, bool openmetrics)
{
	struct writer *w = xmalloc(sizeof *w);
	struct prefixes txn, ep;
	struct render r;
	size_t n;
	const struct metric_def *table = metrics_table(&n);
	int rc = -1;

	memset(&txn, 0, sizeof txn);
	memset(&ep, 0, sizeof ep);
	if (prefixes_build(&txn, s, METRIC_SCOPE_TXN, out->max, w) == -1 ||
	    prefixes_build(&ep, s, METRIC_SCOPE_ENDPOINT, out->max, w) == -1)
		goto out;

	w->out = out;
	w->failed = false;
	w->len = 0;
	memset(&r, 0, sizeof r);
	r.w = w;
	r.om = openmetrics;
	for (size_t f = 0; f < n && !w->failed; f++) {
		const struct prefixes *p = NULL;

		if (table[f].scope == METRIC_SCOPE_TXN)
			p = &txn;
		else if (table[f].scope == METRIC_SCOPE_ENDPOINT)
			p = &ep;
		r.def = &table[f];
		render_family(&r, s, p);
	}
	if (openmetrics)
		w_put(w, "# EOF\n", 6);
	w_flush(w);
	if (!w->failed)
		rc = 0;
out:
	prefixes_free(&txn);
	prefixes_free(&ep);
	free(w);
	return rc;
}
