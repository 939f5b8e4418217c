/*
 * plugin_report: a transaction's result, or the daemon's stored view of a transaction
 * or an endpoint, as monitoring-plugin output (plugins/lib/plugin_output.h): the status
 * line from the status table's row, one subcheck per step, finding and certificate, the
 * Error and Diagnosis lines, and perfdata for every step time, the total and the
 * certificates' days left, judged against Nagios ranges. The check_* plugins and the
 * daemon's passive results (Icinga 2, Nagios) print the same text through it.
 */
#ifndef CERTPROBE_PLUGIN_REPORT_H
#define CERTPROBE_PLUGIN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin_output.h"
#include "transactions/transaction.h"

struct sf_txn;
struct sf_endpoint;
struct health;

#define PLUGIN_REPORT_STEPS_MAX 16

struct plugin_report_step {
	char step[32]; /* a step name ("tls_handshake") */
	struct plugin_thresholds t;
};

struct plugin_report_opts {
	struct plugin_thresholds total; /* the whole run, seconds (-w/-c) */
	struct plugin_thresholds days;  /* certificate days left (--days-warn/--days-crit) */
	struct plugin_report_step steps[PLUGIN_REPORT_STEPS_MAX]; /* --step-warn/--step-crit */
	size_t n_steps;
	int verbose;  /* 0: steps and Diagnosis; 1: step details; 2: facts too */
	int64_t now;  /* Unix seconds, for days left */
	double max_s; /* perfdata max of the total (the timeout); 0 = none */
};

/* "CERTPROBE CLIENTAUTH" for type "client-auth" ("CERTPROBE" for NULL). */
void plugin_report_prefix(char *buf, size_t len, const char *type);

/*
 * The result r of one run into o (initialised by the caller): state is r's class raised
 * by the thresholds; summary "NAME: what happened"; subchecks and perfdata as above.
 */
void plugin_report_result(struct plugin_output *o, const struct txn_result *r,
                          const struct plugin_report_opts *opts);

/*
 * What the daemon stored about t: the state is its HARD state (the daemon debounces;
 * use max_check_attempts 1), the text its last result's (the last run's class and
 * attempt are named when they differ). Stale (last run older than max_age_s, or never):
 * UNKNOWN, or CRITICAL when stale_critical, whatever the state was.
 */
void plugin_report_stored_txn(struct plugin_output *o, const struct sf_txn *t,
                              const struct plugin_report_opts *opts, int64_t max_age_s,
                              bool stale_critical);

/*
 * An endpoint as the daemon stored it, with a subcheck per member transaction of
 * members[0..n) (the transactions whose endpoint it is). Stale as above, judged by the
 * newest last run of its members.
 */
void plugin_report_stored_endpoint(struct plugin_output *o, const struct sf_endpoint *e,
                                   const struct sf_txn *const *members, size_t n,
                                   const struct plugin_report_opts *opts, int64_t max_age_s,
                                   bool stale_critical);

/*
 * A transaction's health without its result (the daemon's passive refresh): its HARD
 * state, and reason and detail (the status explaining the last result).
 */
void plugin_report_health(struct plugin_output *o, const char *name, const struct health *h,
                          enum txn_status reason, const char *detail);

#endif
