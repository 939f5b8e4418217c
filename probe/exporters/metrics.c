/*
 * metrics: the one metric table, its getters and the label vocabularies (see
 * metrics.h). Renderers (prometheus.c; SNMP next) iterate the table over a snapshot.
 */
#include "exporters/metrics.h"

#include <stdlib.h>
#include <string.h>

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
	/* the registry's words, the same the state file and the alerts use */
	return (unsigned)k < ENDPOINT_KIND_COUNT ? endpoint_kind_name(k) : NULL;
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

static bool get_probe_result(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	if (!t->have_result)
		return false;
	set_uint(out, (uint64_t)result_clamp(t->result));
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

static bool get_shard_info(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	if (s->shard_count[0] == '\0')
		return false; /* not filled in (a snapshot made outside the daemon) */
	out->label_values[0] = s->shard_index;
	out->label_values[1] = s->shard_count;
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

static bool get_http_open(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_uint(out, s->http_open);
	return true;
}

static bool get_http_refused(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_uint(out, s->http_refused);
	return true;
}

static bool get_http_deadline_closed(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_uint(out, s->http_deadline_closed);
	return true;
}

static bool get_http_accept_paused(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_uint(out, s->http_accept_paused);
	return true;
}

static bool get_runs_cancelled(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_uint(out, s->runs_cancelled);
	return true;
}

static bool get_state_write_failures(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_uint(out, s->state_write_failures);
	return true;
}

/* ---- getters of the SNMP-only rows (strings, enums Prometheus has as labels) ---- */

static void set_str(struct metric_sample *out, const char *v)
{
	out->value.kind = METRIC_VALUE_STRING;
	out->value.s = v != NULL ? v : "";
}

static bool get_version(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_str(out, s->version);
	return true;
}

static bool get_snmp_notifications(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_uint(out, s->snmp_notifications);
	return true;
}

static bool get_snmp_dropped(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_uint(out, s->snmp_dropped);
	return true;
}

/* ---- the passive-result sinks: series = sink (x reason) ---- */

static const char *const passive_sink_names[SNAPSHOT_PASSIVE_SINKS] = {"icinga2", "nagios"};

static size_t series_passive(const void *row)
{
	(void)row;
	return SNAPSHOT_PASSIVE_SINKS;
}

static size_t series_passive_reasons(const void *row)
{
	(void)row;
	return SNAPSHOT_PASSIVE_SINKS * PASSIVE_FAIL_COUNT;
}

/* The sink of series i, or NULL when it is not configured. */
static const struct passive_stats *passive_of(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	if (i >= SNAPSHOT_PASSIVE_SINKS || !s->passive_on[i])
		return NULL;
	out->label_values[0] = passive_sink_names[i];
	return &s->passive[i];
}

static bool get_passive_results(const void *row, size_t i, struct metric_sample *out)
{
	const struct passive_stats *p = passive_of(row, i, out);

	if (p == NULL)
		return false;
	set_uint(out, p->delivered);
	return true;
}

static bool get_passive_failures(const void *row, size_t i, struct metric_sample *out)
{
	const struct passive_stats *p = passive_of(row, i / PASSIVE_FAIL_COUNT, out);

	/* the reasons a sink can have: HTTP ones for Icinga 2, the FIFO's for Nagios */
	static const bool applies[SNAPSHOT_PASSIVE_SINKS][PASSIVE_FAIL_COUNT] = {
	    [SNAPSHOT_PASSIVE_ICINGA2] = {[PASSIVE_FAIL_UNREACHABLE] = true,
	                                  [PASSIVE_FAIL_TLS] = true,
	                                  [PASSIVE_FAIL_AUTH] = true,
	                                  [PASSIVE_FAIL_REJECTED] = true,
	                                  [PASSIVE_FAIL_SERVER] = true,
	                                  [PASSIVE_FAIL_ERROR] = true},
	    [SNAPSHOT_PASSIVE_NAGIOS] = {[PASSIVE_FAIL_NO_FILE] = true,
	                                 [PASSIVE_FAIL_NO_READER] = true,
	                                 [PASSIVE_FAIL_FULL] = true,
	                                 [PASSIVE_FAIL_ERROR] = true},
	};

	if (p == NULL || !applies[i / PASSIVE_FAIL_COUNT][i % PASSIVE_FAIL_COUNT])
		return false;
	out->label_values[1] = passive_fail_name((enum passive_fail)(i % PASSIVE_FAIL_COUNT));
	set_uint(out, p->failures[i % PASSIVE_FAIL_COUNT]);
	return true;
}

static bool get_passive_coalesced(const void *row, size_t i, struct metric_sample *out)
{
	const struct passive_stats *p = passive_of(row, i, out);

	if (p == NULL)
		return false;
	set_uint(out, p->coalesced);
	return true;
}

static bool get_passive_dropped(const void *row, size_t i, struct metric_sample *out)
{
	const struct passive_stats *p = passive_of(row, i, out);

	if (p == NULL)
		return false;
	set_uint(out, p->dropped);
	return true;
}

static bool get_passive_queued(const void *row, size_t i, struct metric_sample *out)
{
	const struct passive_stats *p = passive_of(row, i, out);

	if (p == NULL)
		return false;
	set_uint(out, p->queued);
	return true;
}

static bool get_passive_last_success(const void *row, size_t i, struct metric_sample *out)
{
	const struct passive_stats *p = passive_of(row, i, out);

	if (p == NULL || p->last_success == 0)
		return false;
	set_int(out, p->last_success);
	return true;
}

static bool get_snmp_connected(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_self *s = row;

	(void)i;
	set_uint(out, s->snmp_connected);
	return true;
}

static bool get_txn_type(const void *row, size_t i, struct metric_sample *out)
{
	(void)i;
	set_str(out, ((const struct snapshot_txn *)row)->type);
	return true;
}

static bool get_txn_protocol(const void *row, size_t i, struct metric_sample *out)
{
	(void)i;
	set_str(out, ((const struct snapshot_txn *)row)->protocol);
	return true;
}

static bool get_txn_endpoint(const void *row, size_t i, struct metric_sample *out)
{
	(void)i;
	set_str(out, ((const struct snapshot_txn *)row)->endpoint);
	return true;
}

static bool get_txn_timeout(const void *row, size_t i, struct metric_sample *out)
{
	(void)i;
	set_micro(out, ((const struct snapshot_txn *)row)->timeout_ms * 1000);
	return true;
}

static bool get_txn_state_value(const void *row, size_t i, struct metric_sample *out)
{
	(void)i;
	set_uint(out, (uint64_t)result_clamp(((const struct snapshot_txn *)row)->state));
	return true;
}

static bool get_txn_result_class(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	if (!t->have_result)
		return false;
	set_uint(out, (uint64_t)result_clamp(t->result));
	return true;
}

static bool get_txn_status_value(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	if (!t->have_result)
		return false;
	set_uint(out, (uint64_t)t->status);
	return true;
}

static bool get_txn_reason(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	if (!t->have_result)
		return false;
	set_uint(out, (uint64_t)t->reason);
	return true;
}

static bool get_txn_reason_code(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	if (!t->have_result)
		return false;
	set_str(out, txn_status_code(t->reason));
	return true;
}

static bool get_txn_detail(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	if (!t->have_result)
		return false;
	set_str(out, t->detail);
	return true;
}

static bool get_txn_protocol_code(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	if (!t->have_result)
		return false;
	set_int(out, t->protocol_code);
	return true;
}

static bool get_txn_consecutive_failures(const void *row, size_t i, struct metric_sample *out)
{
	(void)i;
	set_uint(out, ((const struct snapshot_txn *)row)->consecutive_failures);
	return true;
}

static bool get_txn_runs_total(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;
	uint64_t n = 0;

	(void)i;
	for (size_t r = 0; r <= RESULT_UNKNOWN; r++)
		n += t->runs[r];
	set_uint(out, n);
	return true;
}

static bool get_txn_failures(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_txn *t = row;

	(void)i;
	set_uint(out, t->runs[RESULT_CRITICAL] + t->runs[RESULT_UNKNOWN]);
	return true;
}

static bool get_step_name(const void *row, size_t i, struct metric_sample *out)
{
	struct metric_sample dup;

	/* a step exists where its duration does (repeated names summed into the first) */
	if (!get_txn_step(row, i, &dup))
		return false;
	set_str(out, dup.label_values[0]);
	return true;
}

/* One text of certificate role i; k: 0 subject, 1 issuer, 2 serial, 3 fingerprint. */
static bool cert_text(const void *row, size_t i, size_t k, struct metric_sample *out)
{
	const struct snapshot_cert *c = &((const struct snapshot_txn *)row)->certs[i];
	const char *v[] = {c->subject, c->issuer, c->serial, c->fingerprint};

	if (!c->present || v[k] == NULL)
		return false;
	set_str(out, v[k]);
	return true;
}

static bool get_cert_subject(const void *row, size_t i, struct metric_sample *out)
{
	return cert_text(row, i, 0, out);
}

static bool get_cert_issuer(const void *row, size_t i, struct metric_sample *out)
{
	return cert_text(row, i, 1, out);
}

static bool get_cert_serial(const void *row, size_t i, struct metric_sample *out)
{
	return cert_text(row, i, 2, out);
}

static bool get_cert_fingerprint(const void *row, size_t i, struct metric_sample *out)
{
	return cert_text(row, i, 3, out);
}

static bool get_cert_not_before(const void *row, size_t i, struct metric_sample *out)
{
	const struct snapshot_cert *c = &((const struct snapshot_txn *)row)->certs[i];

	if (!c->present || c->not_before == 0)
		return false;
	set_int(out, c->not_before);
	return true;
}

static bool get_endpoint_state_value(const void *row, size_t i, struct metric_sample *out)
{
	(void)i;
	set_uint(out, (uint64_t)result_clamp(((const struct snapshot_endpoint *)row)->state));
	return true;
}

static bool get_endpoint_since(const void *row, size_t i, struct metric_sample *out)
{
	(void)i;
	set_int(out, ((const struct snapshot_endpoint *)row)->since);
	return true;
}

static bool get_endpoint_members(const void *row, size_t i, struct metric_sample *out)
{
	(void)i;
	set_uint(out, ((const struct snapshot_endpoint *)row)->members);
	return true;
}

static bool get_endpoint_failing(const void *row, size_t i, struct metric_sample *out)
{
	(void)i;
	set_uint(out, ((const struct snapshot_endpoint *)row)->failing);
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
        .snmp_column = 16,
        .snmp_name = "certprobeResultSuccess",
        .snmp_syntax = METRIC_SNMP_TRUTH,
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
        .snmp_column = 10,
        .snmp_name = "certprobeResultDuration",
        .snmp_syntax = METRIC_SNMP_MICROS,
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
        .snmp_column = 3,
        .snmp_name = "certprobeStepDuration",
        .snmp_table = METRIC_SNMP_STEP,
        .snmp_syntax = METRIC_SNMP_MICROS,
    },
    {
        .name = "certprobe_transaction_interval_seconds",
        .help = "How often the daemon runs the transaction (its configured interval)",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_interval,
        .snmp_column = 5,
        .snmp_name = "certprobeTxnInterval",
        .snmp_table = METRIC_SNMP_TXN,
        .snmp_syntax = METRIC_SNMP_MILLIS,
    },
    {
        .name = "certprobe_transaction_last_run_timestamp_seconds",
        .help = "When the last run of the transaction ended, as Unix time",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_last_run,
        .snmp_column = 11,
        .snmp_name = "certprobeResultLastRun",
        .snmp_syntax = METRIC_SNMP_DATE,
    },
    {
        .name = "certprobe_transaction_last_success_timestamp_seconds",
        .help = "When the transaction last completed (result ok or warning), as Unix time; "
                "0 if it never has (kept across restarts in the state file)",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_last_success,
        .snmp_column = 12,
        .snmp_name = "certprobeResultLastSuccess",
        .snmp_syntax = METRIC_SNMP_DATE,
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
        .snmp_column = 2,
        .snmp_name = "certprobeResultStateHard",
        .snmp_syntax = METRIC_SNMP_TRUTH,
    },
    {
        .name = "certprobe_transaction_flapping",
        .help = "1 if the transaction is flapping (its state changes too often to alert on)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_flapping,
        .snmp_column = 3,
        .snmp_name = "certprobeResultFlapping",
        .snmp_syntax = METRIC_SNMP_TRUTH,
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
        .snmp_column = 6,
        .snmp_name = "certprobeCertNotAfter",
        .snmp_table = METRIC_SNMP_CERT,
        .snmp_syntax = METRIC_SNMP_DATE,
    },
    /* SNMP only: strings, and values Prometheus has as labels or per-state series */
    {
        .name = "certprobe_transaction_type",
        .help = "The transaction's type (SNMP only: a label in Prometheus)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_type,
        .snmp_column = 2,
        .snmp_name = "certprobeTxnType",
        .snmp_table = METRIC_SNMP_TXN,
        .snmp_syntax = METRIC_SNMP_STRING,
        .snmp_only = true,
    },
    {
        .name = "certprobe_transaction_protocol",
        .help = "The protocol it speaks (SNMP only: a label in Prometheus)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_protocol,
        .snmp_column = 3,
        .snmp_name = "certprobeTxnProtocol",
        .snmp_table = METRIC_SNMP_TXN,
        .snmp_syntax = METRIC_SNMP_STRING,
        .snmp_only = true,
    },
    {
        .name = "certprobe_transaction_endpoint",
        .help = "The endpoint it hits (SNMP only: a label in Prometheus)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_endpoint,
        .snmp_column = 4,
        .snmp_name = "certprobeTxnEndpoint",
        .snmp_table = METRIC_SNMP_TXN,
        .snmp_syntax = METRIC_SNMP_STRING,
        .snmp_only = true,
    },
    {
        .name = "certprobe_transaction_timeout_seconds",
        .help = "The overall deadline of one run (SNMP only)",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_timeout,
        .snmp_column = 6,
        .snmp_name = "certprobeTxnTimeout",
        .snmp_table = METRIC_SNMP_TXN,
        .snmp_syntax = METRIC_SNMP_MILLIS,
        .snmp_only = true,
    },
    {
        .name = "certprobe_transaction_state_value",
        .help =
            "Current health state as one value (SNMP only: Prometheus has one series per state)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_state_value,
        .snmp_column = 1,
        .snmp_name = "certprobeResultState",
        .snmp_syntax = METRIC_SNMP_ENUM,
        .snmp_only = true,
    },
    {
        .name = "certprobe_transaction_result_class",
        .help = "Result class of the last run (SNMP only: a label in Prometheus)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_result_class,
        .snmp_column = 4,
        .snmp_name = "certprobeResultClass",
        .snmp_syntax = METRIC_SNMP_ENUM,
        .snmp_only = true,
    },
    {
        .name = "certprobe_transaction_status_value",
        .help = "The status that ended the last run (SNMP only: the reason label in Prometheus)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_status_value,
        .snmp_column = 5,
        .snmp_name = "certprobeResultStatus",
        .snmp_syntax = METRIC_SNMP_ENUM,
        .snmp_only = true,
    },
    {
        .name = "certprobe_transaction_reason",
        .help = "The status that explains the result class of the last run (SNMP only)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_reason,
        .snmp_column = 6,
        .snmp_name = "certprobeResultReason",
        .snmp_syntax = METRIC_SNMP_ENUM,
        .snmp_only = true,
    },
    {
        .name = "certprobe_transaction_reason_code",
        .help = "The short code of that status (SNMP only)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_reason_code,
        .snmp_column = 7,
        .snmp_name = "certprobeResultReasonCode",
        .snmp_syntax = METRIC_SNMP_STRING,
        .snmp_only = true,
    },
    {
        .name = "certprobe_transaction_detail",
        .help = "What went wrong, in detail (SNMP only)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_detail,
        .snmp_column = 8,
        .snmp_name = "certprobeResultDetail",
        .snmp_syntax = METRIC_SNMP_STRING,
        .snmp_only = true,
    },
    {
        .name = "certprobe_transaction_protocol_code",
        .help = "SIP or HTTP status code of the last answer, 0 if none (SNMP only)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_protocol_code,
        .snmp_column = 9,
        .snmp_name = "certprobeResultProtocolCode",
        .snmp_only = true,
    },
    {
        .name = "certprobe_transaction_consecutive_failures",
        .help = "Non-OK results in a row (SNMP only)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_consecutive_failures,
        .snmp_column = 13,
        .snmp_name = "certprobeResultConsecutiveFails",
        .snmp_only = true,
    },
    {
        .name = "certprobe_transaction_runs_all",
        .help = "Completed runs, all result classes (SNMP only: Prometheus sums the runs series)",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_runs_total,
        .snmp_column = 14,
        .snmp_name = "certprobeResultRuns",
        .snmp_only = true,
    },
    {
        .name = "certprobe_transaction_failures",
        .help = "Completed runs that failed, critical or unknown (SNMP only)",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_TXN,
        .get = get_txn_failures,
        .snmp_column = 15,
        .snmp_name = "certprobeResultFailures",
        .snmp_only = true,
    },
    {
        .name = "certprobe_step_name",
        .help = "Name of each step of the last run (SNMP only: a label in Prometheus)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .series = series_steps,
        .get = get_step_name,
        .snmp_column = 2,
        .snmp_name = "certprobeStepName",
        .snmp_table = METRIC_SNMP_STEP,
        .snmp_syntax = METRIC_SNMP_STRING,
        .snmp_only = true,
    },
    {
        .name = "certprobe_certificate_subject",
        .help = "The certificate's subject by role (SNMP only)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .series = series_cert_roles,
        .get = get_cert_subject,
        .snmp_column = 2,
        .snmp_name = "certprobeCertSubject",
        .snmp_table = METRIC_SNMP_CERT,
        .snmp_syntax = METRIC_SNMP_STRING,
        .snmp_only = true,
    },
    {
        .name = "certprobe_certificate_issuer",
        .help = "The certificate's issuer by role (SNMP only)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .series = series_cert_roles,
        .get = get_cert_issuer,
        .snmp_column = 3,
        .snmp_name = "certprobeCertIssuer",
        .snmp_table = METRIC_SNMP_CERT,
        .snmp_syntax = METRIC_SNMP_STRING,
        .snmp_only = true,
    },
    {
        .name = "certprobe_certificate_serial",
        .help = "The certificate's serial by role (SNMP only)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .series = series_cert_roles,
        .get = get_cert_serial,
        .snmp_column = 4,
        .snmp_name = "certprobeCertSerial",
        .snmp_table = METRIC_SNMP_CERT,
        .snmp_syntax = METRIC_SNMP_STRING,
        .snmp_only = true,
    },
    {
        .name = "certprobe_certificate_fingerprint",
        .help = "The certificate's fingerprint by role (SNMP only)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .series = series_cert_roles,
        .get = get_cert_fingerprint,
        .snmp_column = 8,
        .snmp_name = "certprobeCertFingerprint",
        .snmp_table = METRIC_SNMP_CERT,
        .snmp_syntax = METRIC_SNMP_FINGERPRINT,
        .snmp_only = true,
    },
    {
        .name = "certprobe_certificate_not_before_timestamp_seconds",
        .help = "Start of validity of the certificates by role (SNMP only)",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_TXN,
        .series = series_cert_roles,
        .get = get_cert_not_before,
        .snmp_column = 5,
        .snmp_name = "certprobeCertNotBefore",
        .snmp_table = METRIC_SNMP_CERT,
        .snmp_syntax = METRIC_SNMP_DATE,
        .snmp_only = true,
    },
    {
        .name = "certprobe_certificate_expiry",
        .help = "Seconds from now to the end of validity, negative once expired (SNMP only)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_TXN,
        .series = series_cert_roles,
        .get = get_txn_cert,
        .snmp_column = 7,
        .snmp_name = "certprobeCertSecondsToExpiry",
        .snmp_table = METRIC_SNMP_CERT,
        .snmp_syntax = METRIC_SNMP_SECONDS_TO,
        .snmp_only = true,
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
        .name = "certprobe_endpoint_state_value",
        .help = "Health state of the endpoint as one value (SNMP only)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_ENDPOINT,
        .get = get_endpoint_state_value,
        .snmp_column = 3,
        .snmp_name = "certprobeEndpointState",
        .snmp_syntax = METRIC_SNMP_ENUM,
        .snmp_only = true,
    },
    {
        .name = "certprobe_endpoint_state_since_timestamp_seconds",
        .help = "When the endpoint's state last changed (SNMP only)",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_ENDPOINT,
        .get = get_endpoint_since,
        .snmp_column = 4,
        .snmp_name = "certprobeEndpointSince",
        .snmp_syntax = METRIC_SNMP_DATE,
        .snmp_only = true,
    },
    {
        .name = "certprobe_endpoint_transactions",
        .help = "Transactions that hit the endpoint (SNMP only)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_ENDPOINT,
        .get = get_endpoint_members,
        .snmp_column = 5,
        .snmp_name = "certprobeEndpointTransactions",
        .snmp_only = true,
    },
    {
        .name = "certprobe_endpoint_failing_transactions",
        .help = "Of those, the ones judged and hard not OK (SNMP only)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_ENDPOINT,
        .get = get_endpoint_failing,
        .snmp_column = 6,
        .snmp_name = "certprobeEndpointFailing",
        .snmp_only = true,
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
        .name = "certprobe_shard",
        .help = "Which shard of probe.shard this daemon is: it runs the transactions whose "
                "hashmod (Prometheus's, over the dependency root's name) modulo count is index",
        .type = METRIC_INFO,
        .scope = METRIC_SCOPE_SELF,
        .labels = {"index", "count"},
        .get = get_shard_info,
    },
    {
        /* the standard name of every client library's process collector */
        .name = "process_start_time_seconds",
        .help = "Start time of the process since the Unix epoch",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_SELF,
        .get = get_start_time,
        .snmp_column = 2,
        .snmp_name = "certprobeStartTime",
        .snmp_syntax = METRIC_SNMP_DATE,
    },
    {
        .name = "certprobe_transactions_in_flight",
        .help = "Transactions running now",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_SELF,
        .get = get_in_flight,
        .snmp_column = 3,
        .snmp_name = "certprobeTransactionsInFlight",
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
        .snmp_column = 4,
        .snmp_name = "certprobeLoopMaxStall",
        .snmp_syntax = METRIC_SNMP_MICROS,
    },
    {
        .name = "certprobe_config_last_reload_successful",
        .help = "1 if the last load or reload of the configuration succeeded",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_SELF,
        .get = get_reload_ok,
        .snmp_column = 5,
        .snmp_name = "certprobeConfigReloadOk",
        .snmp_syntax = METRIC_SNMP_TRUTH,
    },
    {
        .name = "certprobe_config_last_reload_success_timestamp_seconds",
        .help = "When the configuration was last loaded successfully, as Unix time",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_SELF,
        .get = get_reload_time,
        .snmp_column = 6,
        .snmp_name = "certprobeConfigReloadTime",
        .snmp_syntax = METRIC_SNMP_DATE,
    },
    {
        .name = "certprobe_http_connections_open",
        .help = "Connections open on the HTTP listener",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_SELF,
        .get = get_http_open,
    },
    {
        .name = "certprobe_http_connections_refused",
        .help = "Connections the HTTP listener closed at once: at its connection cap (the "
                "one that waited longest for a request, or the new one), or on a descriptor "
                "kept for transactions",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_SELF,
        .get = get_http_refused,
    },
    {
        .name = "certprobe_http_request_deadline_closed",
        .help = "Connections the HTTP listener closed because no whole request arrived "
                "within its deadline",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_SELF,
        .get = get_http_deadline_closed,
    },
    {
        .name = "certprobe_http_accept_paused",
        .help = "Times accepting on the HTTP listener failed (out of descriptors) and was "
                "paused",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_SELF,
        .get = get_http_accept_paused,
    },
    {
        /* the probe's own disk: a transaction's store or the state file */
        .name = "certprobe_state_write_failures",
        .help = "Writes to the state directory that failed (an issued certificate and key, "
                "the state file): the probe's own disk, not a remote endpoint",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_SELF,
        .get = get_state_write_failures,
        .snmp_column = 7,
        .snmp_name = "certprobeStateWriteFailures",
    },
    {
        .name = "certprobe_snmp_notifications",
        .help = "SNMP notifications the subagent handed to the AgentX master",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_SELF,
        .get = get_snmp_notifications,
        .snmp_column = 8,
        .snmp_name = "certprobeNotificationsSent",
    },
    {
        .name = "certprobe_snmp_notifications_dropped",
        .help = "SNMP notifications dropped because no AgentX master was connected (or the queue "
                "to the subagent was full)",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_SELF,
        .get = get_snmp_dropped,
        .snmp_column = 9,
        .snmp_name = "certprobeNotificationsDropped",
    },
    {
        .name = "certprobe_snmp_agentx_connected",
        .help = "1 if the SNMP subagent is registered with the AgentX master",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_SELF,
        .get = get_snmp_connected,
    },
    {
        .name = "certprobe_version",
        .help = "The version of certprobe (SNMP only: Prometheus has it as a label)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_SELF,
        .get = get_version,
        .snmp_column = 1,
        .snmp_name = "certprobeVersion",
        .snmp_syntax = METRIC_SNMP_STRING,
        .snmp_only = true,
    },
    {
        .name = "certprobe_reload_cancelled_runs",
        .help = "Runs in flight that a reload cancelled because their transaction was removed "
                "or changed what it probes (an unchanged one finishes into the new "
                "configuration)",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_SELF,
        .get = get_runs_cancelled,
    },
    {
        .name = "certprobe_passive_results",
        .help = "Passive results the monitoring system took (Icinga 2 API answers, lines "
                "written to the Nagios command file)",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_SELF,
        .labels = {"sink"},
        .series = series_passive,
        .get = get_passive_results,
    },
    {
        .name = "certprobe_passive_failures",
        .help = "Passive-result deliveries that failed, by reason (the result stays queued "
                "and is retried, except rejected ones)",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_SELF,
        .labels = {"sink", "reason"},
        .series = series_passive_reasons,
        .get = get_passive_failures,
    },
    {
        .name = "certprobe_passive_coalesced",
        .help = "Passive results replaced by a newer one of the same object before delivery",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_SELF,
        .labels = {"sink"},
        .series = series_passive,
        .get = get_passive_coalesced,
    },
    {
        .name = "certprobe_passive_dropped",
        .help = "Passive results dropped: rejected by the monitoring system (no such object) "
                "or past the queue's cap",
        .type = METRIC_COUNTER,
        .scope = METRIC_SCOPE_SELF,
        .labels = {"sink"},
        .series = series_passive,
        .get = get_passive_dropped,
    },
    {
        .name = "certprobe_passive_queued",
        .help = "Passive results waiting for delivery (the latest per object)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_SELF,
        .labels = {"sink"},
        .series = series_passive,
        .get = get_passive_queued,
    },
    {
        .name = "certprobe_passive_last_success_timestamp_seconds",
        .unit = METRIC_UNIT_SECONDS,
        .help = "When the monitoring system last took a passive result (Unix seconds)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_SELF,
        .labels = {"sink"},
        .series = series_passive,
        .get = get_passive_last_success,
    },
    /* /probe?target=NAME: the blackbox_exporter names, then ours */
    {
        .name = "probe_success",
        .help = "Whether the transaction succeeded (result ok or warning)",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_PROBE,
        .get = get_txn_success,
    },
    {
        .name = "probe_duration_seconds",
        .help = "How long the transaction took",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_PROBE,
        .get = get_txn_duration,
    },
    {
        .name = "probe_step_duration_seconds",
        .help = "How long each step took (repeated steps summed)",
        .type = METRIC_GAUGE,
        .unit = METRIC_UNIT_SECONDS,
        .scope = METRIC_SCOPE_PROBE,
        .labels = {"step"},
        .series = series_steps,
        .get = get_txn_step,
    },
    {
        .name = "certprobe_probe_result",
        .help = "Result class: 0 ok, 1 warning, 2 critical, 3 unknown",
        .type = METRIC_GAUGE,
        .scope = METRIC_SCOPE_PROBE,
        .get = get_probe_result,
    },
    {
        .name = "certprobe_probe_status",
        .help = "The status that ended the transaction (ok when it completed) and its result "
                "class",
        .type = METRIC_INFO,
        .scope = METRIC_SCOPE_PROBE,
        .labels = {"reason", "result"},
        .get = get_txn_status,
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
	case METRIC_SCOPE_PROBE:
		return s->probe != NULL ? 1 : 0;
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
	case METRIC_SCOPE_PROBE:
		return s->probe;
	}
	return NULL;
}
