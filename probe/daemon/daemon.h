/*
 * daemon: the shared types of certprobed's modules. A configuration is one generation
 * (struct gen): its targets (one per transaction), endpoints and the rows the exporters
 * read. The modules, in the order a result flows through them:
 *   gen.c      generations, endpoints, rows, carry-over on reload
 *   sched.c    schedule (spread, per-endpoint queue, dependencies), start, results
 *   alerts.c   endpoint health -> the open alerts (kept here) -> every alert sink
 *   passive.c  transaction and endpoint states -> the passive-result sinks (changes,
 *              refresh), and their undelivered changes in the state file
 *   persist.c  the state file: records, flush, restore
 *   routes.c   the HTTP listener: /metrics, /probe, health
 *   page.c     the status page on it: "/" and /txn/NAME
 * main.c owns struct daemon's life: init and finalise order, signals, reload.
 */
#ifndef CERTPROBE_DAEMON_H
#define CERTPROBE_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/util.h>

#include "config/config.h"
#include "exporters/snapshot.h"
#include "health/health.h"
#include "transactions/txn_type.h"

#define DAEMON_MAX_SINKS 8

struct alert_entry;
struct alert_sink;
struct bbuf;
struct event;
struct evhttp_request;
struct passive_refresh;
struct probe_req;
struct sf_state;
struct sf_txn;
struct snmp_agent;
struct statefile_writer;
struct web;

/*
 * A configuration and the runs still using it: the generation holds one reference, and
 * every run started with one of its txn_confs another, so a run carried over a reload
 * finishes on the configuration it started with.
 */
struct cfg_hold {
	struct config *cfg;
	unsigned refs;
};

/* What a run's done callback receives: the target it reports to, which a reload moves. */
struct run_ctx {
	struct target *t;
	struct cfg_hold *hold; /* the configuration of the run's txn_conf */
};

/* A registrar or web service several transactions may hit. */
struct endpoint {
	struct gen *g;
	size_t index; /* in gen.eps */
	char key[300];
	enum endpoint_kind kind;
	unsigned running;
	struct target *wait_head, *wait_tail;
	struct health_endpoint health;
	struct target **members; /* the transactions that hit it */
	size_t n_members, cap_members;
	enum result_class alert; /* severity of the alert we hold open; RESULT_OK = none */
	int64_t alert_since;
	struct endpoint *next;
};

struct target {
	struct gen *g;
	size_t index; /* in gen.rows */
	const struct txn_conf *conf;
	const struct txn_type *type;
	struct endpoint *ep;
	struct event *timer;
	struct event *reap;
	uint64_t due_us;   /* when this run was due (monotonic) */
	uint64_t start_us; /* when it actually started */
	bool running, queued, ran_once;
	struct txn *run;
	struct run_ctx *ctx;              /* with run */
	bool have_last;                   /* a result exists (this run or restored) */
	enum txn_status last_reason;      /* what explains its result class */
	char last_detail[TXN_DETAIL_LEN]; /* and its detail, for alerts */
	time_t last_wall;
	time_t last_success;
	uint64_t runs[RESULT_UNKNOWN + 1];
	struct health health;
	struct target *after;   /* waits for this target's first run */
	struct target *ep_next; /* endpoint wait queue */
	struct persist_rec
	    *record;             /* state-file record (with the last result); NULL = to be made */
	char *row_text;          /* the strings the row points at (detail, certificates); owned */
	struct history *history; /* recent results (probe.history of them); owned */
	/* certificate notifications sent, per role: which certificate (a hash of its
	 * fingerprint) and how far (1 expiring, 2 expired), once each per daemon start */
	uint64_t cert_told_fp[CERT_ROLE_COUNT];
	uint8_t cert_told[CERT_ROLE_COUNT];
	/* passive.c: the last result as check_certprobe prints it (text, perfdata); owned */
	char *passive_text;
	char *passive_perf;
	int passive_state; /* the plugin state of that text */
};

/* Everything one configuration builds. */
struct gen {
	struct daemon *d;
	struct config *cfg; /* hold->cfg */
	struct cfg_hold *hold;
	struct target *targets;
	size_t n;
	struct endpoint *endpoints;
	size_t n_eps;
	struct snapshot_txn *rows;     /* one per target, same order: what /metrics reads */
	uint8_t *rows_changed;         /* per row: changed since daemon.snap was made */
	struct snapshot_endpoint *eps; /* one per endpoint */
};

/* How a run starts: txn_start, or a test's fake (the scheduler's unit tests). */
typedef struct txn *daemon_start_fn(const struct txn_env *env, const struct txn_conf *conf,
                                    txn_done_cb *cb, void *arg);
typedef void daemon_free_fn(struct txn *t);

struct daemon {
	struct event_base *base;
	struct gen *g;
	const char *cfgpath;
	char *state_dir;
	char *state_path;
	struct txn_env env;
	daemon_start_fn *start;
	daemon_free_fn *free_run;
	struct health_conf hconf;
	/* alerts.c */
	struct alert_sink *sinks[DAEMON_MAX_SINKS];
	struct alert_sink *am_sink;      /* the Alertmanager one among them, or NULL */
	struct alert_sink *icinga2_sink; /* the passive-result ones among them, or NULL */
	struct alert_sink *nagios_sink;
	struct passive_refresh *passive_refresh[DAEMON_MAX_SINKS]; /* passive.c: per sink */
	struct sf_txn *passive_scratch; /* passive.c: member views of an endpoint's output */
	size_t n_sinks;
	struct alert_entry *alerts; /* open alerts, and resolved ones a sink still delivers */
	/* persist.c */
	struct statefile_writer *writer;
	struct event *state_timer, *state_now;
	bool state_dirty;
	uint64_t state_failures_seen; /* writer failures already logged */
	/* the SNMP subagent (exporters/snmp_agent.h); NULL when probe.snmp is off */
	struct snmp_agent *snmp;
	struct alert_sink *snmp_sink; /* among sinks: re-announces after a reconnect */
	struct event *snmp_push; /* hands the subagent a fresh snapshot, at most once a second */
	bool snmp_dirty;         /* the rows changed since the last one */
	unsigned snmp_ticks;     /* ticks since the last one (the daemon's own numbers age) */
	/* routes.c */
	struct web *web;
	struct probe_req *probes;  /* /probe runs in flight, each with its waiting clients */
	unsigned n_probes;         /* runs */
	unsigned n_probe_waiters;  /* clients waiting on them */
	uint64_t probe_runs;       /* /probe runs started: X-Certprobe-Probe-Run */
	bool stopping;             /* routes_stop: no run starts, new /probe are refused */
	unsigned probe_draining;   /* 503s of a stop still going out */
	struct event *drain_timer; /* ends the loop if they take too long */
	struct snapshot *snap;     /* the copy readers share; NULL = make one at the next read */
	bool snap_stale;           /* rows changed since snap was made (g->rows_changed) */
	struct event *sig_term, *sig_int, *sig_hup;
	/* loop health */
	struct event *stall_timer;
	uint64_t stall_expect_us;
	uint64_t max_stall_us;
	struct snapshot_histogram lag;
	uint64_t in_flight;
	uint64_t state_write_failures; /* runs that could not store their files in state_dir */
	uint64_t runs_cancelled;       /* runs in flight a reload cancelled (gen.c) */
	time_t started;
	time_t reload_ts;
	bool reload_ok;
	/* main.c: a reload is read and parsed on this worker, applied on the loop */
	struct offload *loader;
	bool reloading;    /* a load is on the worker */
	bool reload_again; /* a SIGHUP came meanwhile: load once more after it */
	/* page.c: the status page renders on this worker (made at the first page) */
	struct offload *page_worker;
	unsigned page_jobs; /* pages queued or rendering */
	/* routes.c: /metrics renders on this worker from the shared snapshot copy */
	struct offload *metrics_worker;
	unsigned metrics_jobs; /* scrapes queued or rendering */
};

/* ---- gen.c ---- */

/* A generation for cfg (owned by it from now on); nothing is scheduled yet. */
struct gen *gen_new(struct daemon *d, struct config *cfg);
/*
 * Stop g's runs (no callbacks) and free it; its config too when free_cfg, once no run
 * carried into another generation uses it. NULL-safe.
 */
void gen_free(struct gen *g, bool free_cfg);
/* Drop a reference on a configuration; the last frees it. */
void gen_hold_unref(struct cfg_hold *h);
struct endpoint *gen_endpoint_find(struct gen *g, const char *key, enum endpoint_kind kind);
/*
 * Carry old's state into g for every transaction whose name, type and endpoint are
 * unchanged; keep_due[i] (g->n entries) tells whether target i keeps its phase. A run in
 * flight is carried too: its result reaches the heir, on the configuration it started
 * with (a registrar is not left with a REGISTER and no un-REGISTER).
 */
void gen_carry(struct gen *g, struct gen *old, bool *keep_due);
/* Refresh t's exporter row: health always, the result's numbers when r != NULL. */
void gen_row_update(struct target *t, const struct txn_result *r);

/* ---- sched.c ---- */

/* Arm every target of g: carried ones (keep_due, may be NULL) keep their phase. */
void sched_gen(struct gen *g, const bool *keep_due);
/* t is due now: start it, queue it behind its endpoint's limit, or let it wait. */
void sched_due(struct target *t);
/* The result of a run (the transaction's done callback; ctx is its struct run_ctx). */
void sched_result(const struct txn_result *r, void *ctx);
/* The libevent callbacks of a target's timer (due) and reap (free the finished run). */
void sched_on_timer(evutil_socket_t fd, short what, void *target);
void sched_on_reap(evutil_socket_t fd, short what, void *target);
/* The stall detector's tick, every SCHED_STALL_TICK_MS. */
void sched_stall_tick(struct daemon *d);
#define SCHED_STALL_TICK_MS 100

/* ---- alerts.c ---- */

/* Add a sink (taken over; freed by alerts_free). */
void alerts_add_sink(struct daemon *d, struct alert_sink *s);
void alerts_free(struct daemon *d);
/* Recompute e's health from its members; log, and notify the sinks when it is due. */
void alerts_endpoint_update(struct daemon *d, struct endpoint *e);
/* Log a transaction's health change. */
void alerts_log_change(const char *kind, const char *name, const struct health *h,
                       const struct health_change *c);
/* Resolve the alerts of endpoints that the new generation g no longer has. */
void alerts_reload(struct daemon *d, struct gen *g);
/* Take the alerts of a loaded state file and re-announce them to every sink. */
void alerts_restore(struct daemon *d, const struct sf_state *s);
/* Tell sink s every open alert again, as restored (a sink whose peer came back). */
void alerts_reannounce(struct daemon *d, struct alert_sink *s);
/* After t's run: an SNMP notification for a certificate that entered its warning window
 * (warn.expiry_days) or expired, once per certificate and daemon start. */
void alerts_cert_expiry(struct daemon *d, struct target *t);
/* Forget resolved alerts no sink still delivers. */
void alerts_prune(struct daemon *d);
/* Append the alerts as state-file records, comma-separated, to b. */
void alerts_persist(const struct daemon *d, struct bbuf *b);

/* ---- passive.c ---- */

/*
 * t's run ended with r (its health updated): keep its text for the passive sinks, and
 * hand it to them when its HARD state changed (hard_changed) or this is its first run.
 */
void passive_txn_result(struct daemon *d, struct target *t, const struct txn_result *r,
                        bool hard_changed);
/* t was restored from the state file (v, its record): keep that result's text. */
void passive_txn_restored(struct daemon *d, struct target *t, const struct sf_txn *v);
/* e's state changed: hand it to the passive sinks as a change. */
void passive_endpoint_changed(struct daemon *d, struct endpoint *e);
/* Start a refresh timer for every sink in d->sinks that takes results with a refresh. */
void passive_open(struct daemon *d);
void passive_close(struct daemon *d);
/* Append the undelivered changes as state-file records, comma-separated, to b. */
void passive_persist(const struct daemon *d, struct bbuf *b);
/* Hand the undelivered changes of a loaded state file back to their sinks. */
void passive_restore(struct daemon *d, const struct sf_state *s);

/* ---- persist.c ---- */

/* Start the writer thread and the flush timers; without a writer the daemon runs on. */
void persist_open(struct daemon *d);
/* Write the last document and stop the writer. */
void persist_close(struct daemon *d);
/* Drop a reference on a record (t->record; the writer thread holds others). NULL-safe. */
void persist_record_unref(struct persist_rec *rec);
struct persist_rec *persist_record_ref(struct persist_rec *rec);
/*
 * The record's JSON text, made on first use by whichever thread asks (the writer thread,
 * the page worker; never needed on the loop); valid while a reference is held.
 */
const char *persist_record_text(struct persist_rec *rec, size_t *len);
/* t's record after a new result r (NULL: rebuild it at the next flush). */
void persist_record(struct target *t, const struct txn_result *r);
/* Mark the state dirty; now: write on the next loop turn (an alert changed). */
void persist_schedule(struct daemon *d, bool now);
/* Join the records into one document for the writer thread. */
void persist_flush(struct daemon *d);
/* Restore targets, endpoints and alerts from the state file into d->g. */
void persist_restore(struct daemon *d);

/* ---- routes.c ---- */

/* Start the listener (first) or apply TLS and basic-auth changes (reload). 0 or -1. */
int routes_configure(struct daemon *d, const struct config *cfg, bool first);
/* Answer every client waiting on a /probe with 503 why, and free the runs. */
void routes_cancel_probes(struct daemon *d, const char *why);
/*
 * A stop (SIGTERM): answer every /probe in flight with 503 "stopping", refuse new ones,
 * and end the loop once those replies are written (at most a second later), so a
 * scraper sees why instead of a closed connection.
 */
void routes_stop(struct daemon *d);
/* The rows changed: the next reader gets a new snapshot copy (and the subagent one soon). */
void routes_invalidate(struct daemon *d);
/*
 * Row i of d->g->rows, or an endpoint row (i = SIZE_MAX), changed: the next read copies
 * that row again and shares the others with the copy before.
 */
void routes_row_changed(struct daemon *d, size_t i);
/*
 * A fresh copy of the rows (flags: snapshot_copy_flags) with the daemon's own numbers,
 * not shared with the scrapes: for a reader on another thread (the SNMP subagent).
 */
struct snapshot *routes_snapshot(struct daemon *d, unsigned flags);
void routes_free(struct daemon *d);

/* ---- page.c ---- */

/*
 * Answer req when path is the status page's ("/", /txn/NAME): true, and the reply is
 * sent now (400, 404, 503) or once the worker has rendered it. false: not a page path.
 */
bool page_route(struct daemon *d, struct evhttp_request *req, const char *path);
/* Stop the page worker (a rendering in flight is waited for, queued ones dropped). */
void page_free(struct daemon *d);

#endif
