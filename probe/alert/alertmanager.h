/*
 * alertmanager: the Alertmanager API v2 alert sink. Alerts are identified by their
 * label set; active ones are posted at once and re-posted every resend interval so
 * Alertmanager's resolve_timeout never ends them, resolves are posted with endsAt until
 * every URL took them. Delivery is asynchronous through net/http_client, batched per
 * URL, with exponential backoff while a URL fails. Nothing here blocks.
 */
#ifndef CERTPROBE_ALERTMANAGER_H
#define CERTPROBE_ALERTMANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http_client;
struct am_sink;

struct am_kv {
	const char *name;
	const char *value;
};

struct am_sink_conf {
	/* Alertmanager base URLs ("http://127.0.0.1:9093"); POST goes to <url>/api/v2/alerts.
	 * Each alert goes to every URL (Alertmanager HA: send to all). http or https; a
	 * user:password@ in a URL is sent as basic auth and redacted in logs. */
	const char *const *urls;
	size_t n_urls;
	uint64_t resend_interval_ms; /* re-post active alerts this often; 0 = 60000 */
	uint64_t timeout_ms;         /* per POST; 0 = 10000 */
	const char *generator_url; /* optional, every alert's generatorURL ("http://host:9793/") */
	const char *trust_store;   /* CA bundle for https URLs; NULL = system bundle */
};

struct am_stats {
	uint64_t posts_ok;     /* POSTs answered 2xx */
	uint64_t posts_failed; /* transport errors, non-2xx (rejected batches included) */
	uint64_t alerts_active;
	uint64_t alerts_pending_resolve; /* resolved, endsAt not yet delivered to every URL */
	int64_t last_success;            /* unix seconds of the last 2xx; 0 = never */
};

/* Batch cap per POST, and cap of resolves waiting for delivery (the oldest is dropped). */
#define AM_BATCH_MAX 256
#define AM_MAX_PENDING_RESOLVES 10000

/*
 * New sink posting through http (which must outlive the sink) on base. conf and every
 * string it points to are copied. Returns NULL (after log_warn) when a URL is not
 * http:// or https://. With n_urls == 0 the sink keeps its bookkeeping but posts nothing.
 */
struct am_sink *am_sink_new(struct event_base *base, struct http_client *http,
                            const struct am_sink_conf *conf);

/* Cancels requests in flight and frees everything. Call it before http_client_free().
 * NULL-safe. */
void am_sink_free(struct am_sink *s);

/*
 * Fire or update the alert identified by its label set (order-insensitive; labels with
 * an empty value are left out, as Alertmanager does). Label and annotation names must
 * match [a-zA-Z_][a-zA-Z0-9_]*, values must be UTF-8, at least one label must remain and
 * no name may repeat; otherwise the call is rejected with a log_warn and changes nothing.
 * starts_at is unix seconds (0 = unknown: startsAt omitted, Alertmanager uses receive
 * time). A new, changed (annotations, starts_at) or resolved-then-refired alert is
 * posted on the next loop turn, batched with others fired in the same turn; every active
 * alert is re-posted every resend interval. All strings are copied.
 */
void am_sink_fire(struct am_sink *s, const struct am_kv *labels, size_t n_labels,
                  const struct am_kv *annotations, size_t n_ann, int64_t starts_at);

/*
 * Resolve: post the alert with endsAt = ends_at (unix seconds; 0 = now; never before its
 * startsAt) and its last annotations until one POST per URL succeeded, then forget it.
 * Resolving an unknown label set still posts (without annotations or startsAt): the
 * daemon may resolve an alert restored from disk. Resolving an alert already resolved
 * changes nothing. Past AM_MAX_PENDING_RESOLVES pending resolves the oldest is dropped
 * with a log_warn. Labels are validated as in am_sink_fire().
 */
void am_sink_resolve(struct am_sink *s, const struct am_kv *labels, size_t n_labels,
                     int64_t ends_at);

/* One alert as the sink holds it; every pointer is owned by the sink and valid only
 * during the callback. Labels are sorted by name. */
struct am_alert_view {
	const struct am_kv *labels;
	size_t n_labels;
	const struct am_kv *annotations;
	size_t n_ann;
	int64_t starts_at; /* 0 = unknown */
	bool resolved;
	int64_t ends_at; /* when resolved */
};

typedef void am_visit_cb(const struct am_alert_view *a, void *arg);

/* For persistence: visit every alert the sink holds, active ones first, then resolved
 * ones whose endsAt has not been delivered to every URL yet. cb must not call the sink. */
void am_sink_foreach(const struct am_sink *s, am_visit_cb *cb, void *arg);

void am_sink_stats(const struct am_sink *s, struct am_stats *out);
/* True when the sink holds the alert of this label set (active, or a resolve to deliver). */
bool am_sink_holds(const struct am_sink *s, const struct am_kv *labels, size_t n_labels);

/* True when nothing is waiting to be posted or in flight (e.g. to drain before exit). */
bool am_sink_idle(const struct am_sink *s);

/* True when name matches [a-zA-Z_][a-zA-Z0-9_]* (Alertmanager's label name rule). */
bool am_label_name_valid(const char *name);

/*
 * Pure: the JSON array body of POST /api/v2/alerts for these alerts: labels,
 * annotations (when any), startsAt (when non-zero), endsAt (only when resolved) as
 * RFC 3339 UTC, generatorURL (when not NULL or ""). Pairs whose name or value is not
 * valid UTF-8 are left out. Returns a malloced NUL-terminated string; never NULL.
 */
char *am_render(const struct am_alert_view *alerts, size_t n, const char *generator_url);

#endif
