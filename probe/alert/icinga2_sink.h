/*
 * icinga2_sink: passive results to the Icinga 2 API (POST /v1/actions/process-check-result),
 * behind the alert-sink interface (sink.h): one service per transaction and, optionally,
 * per endpoint, named by templates (passive.h) so that both probes of an HA pair feed
 * the same service. Each result carries exit_status, plugin_output (check_certprobe's
 * text), performance_data, check_source and a ttl, so that a silent probe turns the
 * service UNKNOWN. Results wait in a coalescing queue (passive_queue.h) and go out
 * through net/http_client, a few at a time, retried with exponential backoff while
 * Icinga 2 is down or refuses the credentials; nothing here blocks.
 */
#ifndef CERTPROBE_ICINGA2_SINK_H
#define CERTPROBE_ICINGA2_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/passive.h"
#include "alert/sink.h"

struct event_base;
struct http_client;

struct icinga2_sink_conf {
	const char *url;              /* the API's base, "https://icinga.example.com:5665" */
	const char *host;             /* template of the host name */
	const char *service;          /* template of a transaction's service name */
	const char *endpoint_service; /* template of an endpoint's service; NULL = not pushed */
	const char *check_source;     /* NULL or "" = probe */
	const char *probe;            /* this probe's host name ({probe}) */
	const char *username;         /* basic auth; NULL = none */
	const char *password;         /* copied; never logged */
	const char *client_cert;      /* PEM; NULL = none */
	const char *client_key;
	const char *trust_store; /* CA bundle Icinga's certificate must chain to; NULL = system */
	uint64_t ttl_ms;         /* the results' ttl */
	uint64_t timeout_ms;     /* per POST */
	uint64_t refresh_ms;     /* how often the daemon hands every object again */
};

/*
 * A sink posting through http (which must outlive it) on base. conf and its strings are
 * copied. NULL after a log_warn when the URL is not http(s).
 */
struct alert_sink *icinga2_sink_new(struct event_base *base, struct http_client *http,
                                    const struct icinga2_sink_conf *conf);

/* The sink's counters (s from icinga2_sink_new). */
void icinga2_sink_stats(const struct alert_sink *s, struct passive_stats *out);

/* True when nothing waits or is in flight. */
bool icinga2_sink_idle(const struct alert_sink *s);

/* ---- pure parts, for tests and the fuzzer ---- */

/* What an answer of process-check-result means. */
enum icinga2_verdict {
	ICINGA2_TAKEN,    /* 200, and every result's code 200 */
	ICINGA2_REJECTED, /* no such object, a bad request: retrying will not help */
	ICINGA2_AUTH,     /* 401/403: retried (credentials or permissions may be fixed) */
	ICINGA2_RETRY,    /* 5xx, an unreadable answer: retried */
};

/*
 * Judge an answer: HTTP status and body (len bytes, not NUL-terminated). detail gets a
 * printable summary of Icinga's own words ("No objects found.") for the log.
 */
enum icinga2_verdict icinga2_response_parse(long status, const char *body, size_t len, char *detail,
                                            size_t dlen);

/*
 * The JSON body for one result: host and service names (not templates), the check
 * source, ttl seconds. Returns a malloced string; never NULL.
 */
char *icinga2_render(const struct sink_result *r, const char *host, const char *service,
                     const char *check_source, uint64_t ttl_s);

#endif
