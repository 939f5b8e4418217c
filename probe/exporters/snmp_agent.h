/*
 * snmp_agent: certprobed's AgentX subagent serving CERTPROBE-MIB (mibs/), on its own
 * thread. net-snmp is not thread-safe and its AgentX open, ping and close are
 * synchronous (a hung snmpd blocks them for seconds), so one thread owns every net-snmp
 * call and the probe loop only posts to it: snapshot copies (the tables), notifications
 * (from the SNMP alert sink and the transaction hook). Posting never blocks: it takes a
 * mutex held for a list operation and writes an eventfd. This file and snmp_agent.c's
 * caller see no net-snmp type; only snmp_agent.c includes net-snmp (scripts/check-doors).
 */
#ifndef CERTPROBE_SNMP_AGENT_H
#define CERTPROBE_SNMP_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "exporters/snapshot.h"
#include "transactions/transaction_status.h"
#include "transactions/txn_type.h"

struct snmp_agent_conf {
	const char *agentx;        /* the master: "unix:/path", "/path", "tcp:host:port" */
	uint64_t ping_interval_ms; /* AgentX ping and reconnect interval (whole seconds, >= 1) */
	bool notifications;        /* false: raise nothing (counted neither sent nor dropped) */
	const char *persist_dir;   /* net-snmp's persistent directory (STATE_DIR/snmp) */
};

struct snmp_agent;

/* Copies c and starts the thread; it connects in the background (retrying every ping
 * interval while the master is away). NULL when the thread cannot start. */
struct snmp_agent *snmp_agent_start(const struct snmp_agent_conf *c);
/* Stop the thread (it unregisters from the master) and free a. NULL-safe. */
void snmp_agent_stop(struct snmp_agent *a);

/*
 * Apply a reloaded configuration: the notification switch at once; a changed master or
 * ping interval by ending the session, so that the subagent reconnects to the new
 * master after one ping interval (net-snmp cannot be initialised twice in a process,
 * but reopens its session with the new settings). Returns a.
 */
struct snmp_agent *snmp_agent_configure(struct snmp_agent *a, const struct snmp_agent_conf *c);

/*
 * Hand the thread the snapshot the tables answer from (a snapshot_copy_flags() copy
 * with SNAPSHOT_COPY_HISTORY; the reference is taken over). A snapshot the thread has
 * not picked up yet is replaced.
 */
void snmp_agent_publish(struct snmp_agent *a, struct snapshot *s);

/* An endpoint notification (strings copied): a raise, a clear, or a re-announcement. */
struct snmp_endpoint_event {
	const char *endpoint;
	enum endpoint_kind kind;
	enum result_class state;    /* the state now (RESULT_OK for a clear) */
	enum result_class previous; /* the state before */
	enum result_class severity; /* RESULT_WARNING or RESULT_CRITICAL; RESULT_OK = clear */
	bool reannounced;           /* a current state told again, not a change */
	const char *text;           /* one line for people */
};
void snmp_agent_endpoint_event(struct snmp_agent *a, const struct snmp_endpoint_event *e);

/* A transaction's hard state changed (strings copied). */
void snmp_agent_txn_event(struct snmp_agent *a, const char *name, enum result_class previous,
                          enum result_class state, enum txn_status reason, const char *detail);

/*
 * A certificate of transaction name (role: enum cert_role) expires within its warning
 * window, or (expired) has expired: certprobeCertificateExpiring / ...Expired, with the
 * certificate table's subject, notAfter and seconds to expiry (strings copied).
 */
void snmp_agent_cert_event(struct snmp_agent *a, const char *name, unsigned role,
                           const char *subject, int64_t not_after, bool expired);

/*
 * True once after each (re)registration with the master: the caller re-announces the
 * open problems (a master that was away lost what was sent meanwhile).
 */
bool snmp_agent_take_reannounce(struct snmp_agent *a);

/* What the exporters show: registered now, notifications sent and dropped. */
void snmp_agent_stats(const struct snmp_agent *a, bool *connected, uint64_t *sent,
                      uint64_t *dropped);

#endif
