/*
 * snmp_agent: the AgentX subagent thread (see snmp_agent.h), the one door to net-snmp.
 * The thread runs net-snmp's select loop (snmp_select_info2 → poll → snmp_read2 /
 * snmp_timeout → run_alarms) with an eventfd in the poll set; the probe loop posts
 * messages to a mutex-protected list and writes the eventfd. One registration covers
 * certprobeObjects; its handler answers GET and GETNEXT from an snmp_view (snmp_columns.c)
 * of the latest snapshot. Library timeout 1 s and no retries (snmp.md: a hung master
 * otherwise stalls the thread for 13 s); ping interval set after init_agent(), which
 * resets it.
 */
#define _XOPEN_SOURCE 700 /* fd_set.fds_bits, which net-snmp's large_fd_set macros use */
#include "exporters/snmp_agent.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_callbacks.h>
#include <net-snmp/library/large_fd_set.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "exporters/snmp_columns.h"

#define QUEUE_MAX 10000 /* notifications waiting for the thread; more are dropped */
#define APP_NAME "certprobed"

enum msg_kind { MSG_ENDPOINT, MSG_TXN, MSG_CERT };

struct msg {
	enum msg_kind kind;
	struct snmp_endpoint_event ep; /* strings point into text */
	char *name, *detail, *text;
	enum result_class previous, state;
	enum txn_status reason;
	unsigned role;     /* MSG_CERT: enum cert_role */
	int64_t not_after; /* MSG_CERT */
	bool expired;      /* MSG_CERT: certprobeCertificateExpired, else ...Expiring */
	struct msg *next;
};

struct snmp_agent {
	char *agentx, *persist_dir; /* agentx: the thread's once it runs */
	uint64_t ping_interval_ms;  /* the thread's once it runs */
	char *conf_agentx;          /* the loop's: what it last configured */
	uint64_t conf_ping_ms;
	atomic_bool notifications;
	pthread_t thread;
	int efd;
	pthread_mutex_t mu;
	struct msg *head, *tail;  /* mu */
	size_t queued;            /* mu */
	struct snapshot *pending; /* mu: the next snapshot */
	bool stop;                /* mu */
	char *new_agentx;         /* mu: a reload's master, NULL = none pending */
	uint64_t new_ping_ms;     /* mu: with new_agentx */
	/* the thread's own */
	netsnmp_session *session; /* the AgentX session while registered */
	struct snmp_view *view;
	uint32_t sequence;
	atomic_bool reannounce; /* set on (re)connecting, taken by the loop */
	/* read by the loop */
	atomic_bool connected;
	atomic_uint_fast64_t sent, dropped;
};

static const oid snmptrap_oid0[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
static const uint32_t root[] = {SNMP_COLUMNS_ROOT};

/* ---- the handler: GET and GETNEXT from the view ---- */

static void set_value(netsnmp_variable_list *var, const struct snmp_value *v)
{
	long l;
	u_long u;
	struct counter64 c;

	switch (v->type) {
	case SNMP_VALUE_INTEGER:
		l = (long)v->i;
		snmp_set_var_typed_value(var, ASN_INTEGER, &l, sizeof l);
		break;
	case SNMP_VALUE_GAUGE:
		u = (u_long)v->u;
		snmp_set_var_typed_value(var, ASN_GAUGE, &u, sizeof u);
		break;
	case SNMP_VALUE_COUNTER64:
		c.high = (u_long)(v->u >> 32);
		c.low = (u_long)(v->u & 0xffffffffu);
		snmp_set_var_typed_value(var, ASN_COUNTER64, &c, sizeof c);
		break;
	case SNMP_VALUE_OCTETS:
		snmp_set_var_typed_value(var, ASN_OCTET_STR, v->octets, v->len);
		break;
	}
}

/*
 * The one agent (net-snmp is initialised once per process). Not the handler's myvoid:
 * snmp_shutdown() frees a handler's myvoid.
 */
static struct snmp_agent *the_agent;

static int handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
                   netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
	struct snmp_agent *a = the_agent;
	int64_t now = (int64_t)time(NULL);

	(void)h;
	(void)reg;
	for (netsnmp_request_info *r = requests; r != NULL; r = r->next) {
		netsnmp_variable_list *var = r->requestvb;
		uint32_t in[SNMP_OID_MAX], next[SNMP_OID_MAX];
		size_t n = var->name_length < SNMP_OID_MAX ? var->name_length : SNMP_OID_MAX, nn;
		struct snmp_value v;
		bool big = false;

		if (r->processed)
			continue;
		for (size_t i = 0; i < n; i++) {
			big = big || var->name[i] > UINT32_MAX;
			in[i] = var->name[i] > UINT32_MAX ? UINT32_MAX : (uint32_t)var->name[i];
		}
		switch (reqinfo->mode) {
		case MODE_GET:
			if (a->view == NULL || big || snmp_view_get(a->view, in, n, now, &v) == -1)
				netsnmp_set_request_error(reqinfo, r, SNMP_NOSUCHINSTANCE);
			else
				set_value(var, &v);
			break;
		case MODE_GETNEXT:
			if (a->view != NULL &&
			    snmp_view_next(a->view, in, n, now, next, &nn, &v) == 0) {
				oid o[SNMP_OID_MAX];
				for (size_t i = 0; i < nn; i++)
					o[i] = next[i];
				snmp_set_var_objid(var, o, nn);
				set_value(var, &v);
			}
			/* nothing set: past our last instance, the agent moves on */
			break;
		default:
			netsnmp_set_request_error(reqinfo, r, SNMP_ERR_NOTWRITABLE);
			break;
		}
	}
	return SNMP_ERR_NOERROR;
}

/* ---- notifications ---- */

static void add_oid_var(netsnmp_variable_list **vl, const uint32_t *o, size_t n, u_char type,
                        const void *val, size_t len)
{
	oid name[SNMP_OID_MAX];

	for (size_t i = 0; i < n; i++)
		name[i] = o[i];
	snmp_varlist_add_variable(vl, name, n, type, val, len);
}

/* certprobeNotifObjects.col.0 */
static void add_notif_int(netsnmp_variable_list **vl, unsigned col, u_char type, long v)
{
	uint32_t o[SNMP_OID_MAX];
	size_t n = SNMP_COLUMNS_ROOT_LEN;

	memcpy(o, root, sizeof root);
	o[n++] = SNMP_COLUMNS_OBJECTS;
	o[n++] = SNMP_COLUMNS_NOTIF_OBJECTS;
	o[n++] = col;
	o[n++] = 0;
	add_oid_var(vl, o, n, type, &v, sizeof v);
}

static void add_notif_text(netsnmp_variable_list **vl, unsigned col, const char *s)
{
	uint32_t o[SNMP_OID_MAX];
	size_t n = SNMP_COLUMNS_ROOT_LEN, len = strlen(s);

	memcpy(o, root, sizeof root);
	o[n++] = SNMP_COLUMNS_OBJECTS;
	o[n++] = SNMP_COLUMNS_NOTIF_OBJECTS;
	o[n++] = col;
	o[n++] = 0;
	add_oid_var(vl, o, n, ASN_OCTET_STR, s, len > 255 ? 255 : len);
}

/* The column's instance with the value the current view has (or fallback). */
static void add_column(struct snmp_agent *a, netsnmp_variable_list **vl, enum metric_snmp_table t,
                       unsigned col, const uint32_t *idx, size_t ni, long fallback)
{
	uint32_t o[SNMP_OID_MAX];
	size_t n = snmp_columns_oid(o, t, col, idx, ni);
	struct snmp_value v;

	if (n == 0)
		return;
	if (a->view != NULL && snmp_view_get(a->view, o, n, (int64_t)time(NULL), &v) == 0) {
		if (v.type == SNMP_VALUE_OCTETS) {
			add_oid_var(vl, o, n, ASN_OCTET_STR, v.octets, v.len);
		} else if (v.type == SNMP_VALUE_INTEGER) {
			long l = (long)v.i;
			add_oid_var(vl, o, n, ASN_INTEGER, &l, sizeof l);
		} else {
			u_long u = (u_long)v.u;
			add_oid_var(vl, o, n, ASN_GAUGE, &u, sizeof u);
		}
		return;
	}
	add_oid_var(vl, o, n, ASN_INTEGER, &fallback, sizeof fallback);
}

/* Number, and send or count as dropped (a master that is away loses a trap silently). */
static void send_notification(struct snmp_agent *a, netsnmp_variable_list *vl)
{
	if (atomic_load(&a->connected)) {
		send_v2trap(vl);
		atomic_fetch_add(&a->sent, 1);
	} else {
		atomic_fetch_add(&a->dropped, 1);
	}
	snmp_free_varbind(vl);
}

static long severity_value(enum result_class sev)
{
	return sev == RESULT_CRITICAL ? 3 : sev == RESULT_OK ? 1 : 2;
}

static void notify_endpoint(struct snmp_agent *a, const struct snmp_endpoint_event *e)
{
	netsnmp_variable_list *vl = NULL;
	uint32_t trap[SNMP_OID_MAX], idx[SNMP_OID_MAX];
	size_t ni = snmp_columns_index_endpoint(idx, e->kind, e->endpoint);
	oid to[SNMP_OID_MAX];

	if (ni == 0)
		return;
	memcpy(trap, root, sizeof root);
	trap[SNMP_COLUMNS_ROOT_LEN] = 0;
	trap[SNMP_COLUMNS_ROOT_LEN + 1] = e->severity == RESULT_OK ? 2 : 1;
	for (size_t i = 0; i < SNMP_COLUMNS_ROOT_LEN + 2; i++)
		to[i] = trap[i];
	a->sequence++;
	snmp_varlist_add_variable(&vl, snmptrap_oid0, OID_LENGTH(snmptrap_oid0), ASN_OBJECT_ID, to,
	                          (SNMP_COLUMNS_ROOT_LEN + 2) * sizeof(oid));
	{
		long st = (long)e->state + 1;
		uint32_t o[SNMP_OID_MAX];
		size_t n = snmp_columns_oid(o, METRIC_SNMP_ENDPOINT, 3, idx, ni);
		add_oid_var(&vl, o, n, ASN_INTEGER, &st, sizeof st);
	}
	add_column(a, &vl, METRIC_SNMP_ENDPOINT, 6, idx, ni, 0);
	add_notif_int(&vl, 2, ASN_INTEGER, (long)e->previous + 1);
	add_notif_int(&vl, 3, ASN_INTEGER, severity_value(e->severity));
	add_notif_int(&vl, 1, ASN_UNSIGNED, (long)a->sequence);
	add_notif_text(&vl, 4, e->text != NULL ? e->text : "");
	add_notif_int(&vl, 5, ASN_INTEGER, e->reannounced ? 1 : 2);
	send_notification(a, vl);
}

static void notify_txn(struct snmp_agent *a, const struct msg *m)
{
	netsnmp_variable_list *vl = NULL;
	uint32_t idx[SNMP_OID_MAX], o[SNMP_OID_MAX];
	size_t ni = snmp_columns_index_txn(idx, m->name, 0), n;
	oid to[SNMP_OID_MAX];
	long st = (long)m->state + 1, rs = (long)m->reason + 1;
	size_t dl = strlen(m->detail);

	if (ni == 0)
		return;
	for (size_t i = 0; i < SNMP_COLUMNS_ROOT_LEN; i++)
		to[i] = root[i];
	to[SNMP_COLUMNS_ROOT_LEN] = 0;
	to[SNMP_COLUMNS_ROOT_LEN + 1] = 3;
	a->sequence++;
	snmp_varlist_add_variable(&vl, snmptrap_oid0, OID_LENGTH(snmptrap_oid0), ASN_OBJECT_ID, to,
	                          (SNMP_COLUMNS_ROOT_LEN + 2) * sizeof(oid));
	n = snmp_columns_oid(o, METRIC_SNMP_RESULT, 1, idx, ni);
	add_oid_var(&vl, o, n, ASN_INTEGER, &st, sizeof st);
	n = snmp_columns_oid(o, METRIC_SNMP_RESULT, 6, idx, ni);
	add_oid_var(&vl, o, n, ASN_INTEGER, &rs, sizeof rs);
	n = snmp_columns_oid(o, METRIC_SNMP_RESULT, 8, idx, ni);
	add_oid_var(&vl, o, n, ASN_OCTET_STR, m->detail, dl > 255 ? 255 : dl);
	add_notif_int(&vl, 2, ASN_INTEGER, (long)m->previous + 1);
	add_notif_int(&vl, 3, ASN_INTEGER,
	              severity_value(m->state == RESULT_UNKNOWN ? RESULT_WARNING : m->state));
	add_notif_int(&vl, 1, ASN_UNSIGNED, (long)a->sequence);
	send_notification(a, vl);
}

/* certprobeCertificateExpiring (4) or certprobeCertificateExpired (5) */
static void notify_cert(struct snmp_agent *a, const struct msg *m)
{
	netsnmp_variable_list *vl = NULL;
	uint32_t idx[SNMP_OID_MAX], o[SNMP_OID_MAX];
	size_t ni = snmp_columns_index_txn(idx, m->name, m->role + 1), n;
	int64_t left = m->not_after - (int64_t)time(NULL);
	long secs = left > INT32_MAX ? INT32_MAX : left < INT32_MIN ? INT32_MIN : (long)left;
	uint8_t date[11];
	size_t sl = strlen(m->text), dl;
	oid to[SNMP_OID_MAX];

	if (ni == 0)
		return;
	for (size_t i = 0; i < SNMP_COLUMNS_ROOT_LEN; i++)
		to[i] = root[i];
	to[SNMP_COLUMNS_ROOT_LEN] = 0;
	to[SNMP_COLUMNS_ROOT_LEN + 1] = m->expired ? 5 : 4;
	a->sequence++;
	snmp_varlist_add_variable(&vl, snmptrap_oid0, OID_LENGTH(snmptrap_oid0), ASN_OBJECT_ID, to,
	                          (SNMP_COLUMNS_ROOT_LEN + 2) * sizeof(oid));
	n = snmp_columns_oid(o, METRIC_SNMP_CERT, 2, idx, ni);
	add_oid_var(&vl, o, n, ASN_OCTET_STR, m->text, sl > 255 ? 255 : sl);
	dl = snmp_columns_date(date, m->not_after);
	n = snmp_columns_oid(o, METRIC_SNMP_CERT, 6, idx, ni);
	add_oid_var(&vl, o, n, ASN_OCTET_STR, date, dl);
	n = snmp_columns_oid(o, METRIC_SNMP_CERT, 7, idx, ni);
	add_oid_var(&vl, o, n, ASN_INTEGER, &secs, sizeof secs);
	add_notif_int(&vl, 1, ASN_UNSIGNED, (long)a->sequence);
	send_notification(a, vl);
}

/* ---- connection state ---- */

/* Callbacks take no client argument: snmp_shutdown() frees a callback's clientarg. */
static int on_index_start(int major, int minor, void *serverarg, void *clientarg)
{
	struct snmp_agent *a = the_agent;

	(void)major;
	(void)minor;
	(void)clientarg;
	a->session = serverarg; /* net-snmp's main session (subagent_open_master_session) */
	if (!atomic_exchange(&a->connected, true)) {
		log_info("snmp: registered with the AgentX master %s", a->agentx);
		atomic_store(&a->reannounce, true);
	}
	return 0;
}

static int on_index_stop(int major, int minor, void *serverarg, void *clientarg)
{
	struct snmp_agent *a = the_agent;

	(void)major;
	(void)minor;
	(void)serverarg;
	(void)clientarg;
	a->session = NULL;
	if (atomic_exchange(&a->connected, false))
		log_warn("snmp: lost the AgentX master %s; reconnecting every %llu s", a->agentx,
		         (unsigned long long)(a->ping_interval_ms / 1000));
	return 0;
}

static int on_log(int major, int minor, void *serverarg, void *clientarg)
{
	const struct snmp_log_message *m = serverarg;
	size_t n;

	(void)major;
	(void)minor;
	(void)clientarg;
	if (m == NULL || m->msg == NULL)
		return 0;
	n = strlen(m->msg);
	while (n > 0 && m->msg[n - 1] == '\n')
		n--;
	log_debug("snmp: %.*s", (int)n, m->msg);
	return 0;
}

/* ---- the thread ---- */

static void set_ping_interval(uint64_t ms)
{
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
	                   (int)(ms / 1000 > 0 ? ms / 1000 : 1));
}

/*
 * A reload changed the master or the ping interval. net-snmp cannot be initialised
 * twice, but it reads both again whenever it reopens its session (the path of a master
 * that restarted): set them, and end the session's connection so that net-snmp sees
 * the disconnect, unregisters and reconnects to the new master after one interval.
 */
static void reconfigure(struct snmp_agent *a, char *agentx, uint64_t ping_ms)
{
	netsnmp_transport *t = NULL;

	free(a->agentx);
	a->agentx = agentx;
	a->ping_interval_ms = ping_ms;
	netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, a->agentx);
	set_ping_interval(ping_ms);
	if (a->session != NULL) {
		void *sp = snmp_sess_pointer(a->session);
		t = sp != NULL ? snmp_sess_transport(sp) : NULL;
	}
	if (t != NULL && t->sock >= 0) {
		log_info("snmp: moving to the AgentX master %s (ping every %llu s)", a->agentx,
		         (unsigned long long)(ping_ms / 1000));
		shutdown(t->sock, SHUT_RDWR);
	} else {
		log_info("snmp: the next attempt goes to the AgentX master %s", a->agentx);
	}
}

static void take_messages(struct snmp_agent *a, struct msg **list, struct snapshot **snap,
                          bool *stop)
{
	uint64_t junk, ping_ms = 0;
	char *agentx;

	(void)!read(a->efd, &junk, sizeof junk);
	pthread_mutex_lock(&a->mu);
	*list = a->head;
	a->head = a->tail = NULL;
	a->queued = 0;
	*snap = a->pending;
	a->pending = NULL;
	*stop = a->stop;
	agentx = a->new_agentx;
	a->new_agentx = NULL;
	ping_ms = a->new_ping_ms;
	pthread_mutex_unlock(&a->mu);
	if (agentx != NULL)
		reconfigure(a, agentx, ping_ms);
}

static void msg_free(struct msg *m)
{
	free(m->name);
	free(m->detail);
	free(m->text);
	free(m);
}

static void handle_messages(struct snmp_agent *a, struct msg *list)
{
	while (list != NULL) {
		struct msg *m = list;
		list = m->next;
		if (!atomic_load(&a->notifications))
			; /* switched off since it was posted */
		else if (m->kind == MSG_ENDPOINT)
			notify_endpoint(a, &m->ep);
		else if (m->kind == MSG_CERT)
			notify_cert(a, m);
		else
			notify_txn(a, m);
		msg_free(m);
	}
}

static void *agent_main(void *arg)
{
	struct snmp_agent *a = arg;
	oid objects[SNMP_COLUMNS_ROOT_LEN + 1];
	netsnmp_handler_registration *reg;
	bool stop = false;

	for (size_t i = 0; i < SNMP_COLUMNS_ROOT_LEN; i++)
		objects[i] = root[i];
	objects[SNMP_COLUMNS_ROOT_LEN] = SNMP_COLUMNS_OBJECTS;
	snmp_enable_calllog();
	snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, on_log, NULL);
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
	netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, a->agentx);
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_NO_CONNECTION_WARNINGS,
	                       1);
	netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_PERSISTENT_DIR, a->persist_dir);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	init_agent(APP_NAME);
	/* after init_agent(), which resets them (snmp.md) */
	set_ping_interval(a->ping_interval_ms);
	netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_TIMEOUT, 1);
	netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_RETRIES, 0);
	snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_START,
	                       on_index_start, NULL);
	snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_STOP, on_index_stop,
	                       NULL);
	reg = netsnmp_create_handler_registration("certprobe", handler, objects,
	                                          SNMP_COLUMNS_ROOT_LEN + 1, HANDLER_CAN_RONLY);
	netsnmp_register_handler(reg);
	init_snmp(APP_NAME);

	while (!stop) {
		netsnmp_large_fd_set fds;
		struct timeval tv = {1, 0};
		struct pollfd pfd[64];
		int n = 0, block = 0, np = 0, rc, timeout;
		struct msg *list;
		struct snapshot *snap;

		netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
		NETSNMP_LARGE_FD_ZERO(&fds);
		snmp_select_info2(&n, &fds, &tv, &block);
		pfd[np].fd = a->efd;
		pfd[np++].events = POLLIN;
		for (int fd = 0; fd < n && np < 64; fd++)
			if (NETSNMP_LARGE_FD_ISSET(fd, &fds)) {
				pfd[np].fd = fd;
				pfd[np++].events = POLLIN;
			}
		timeout = block ? 1000 : (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
		rc = poll(pfd, (nfds_t)np, timeout);
		if (rc > 0) {
			NETSNMP_LARGE_FD_ZERO(&fds);
			for (int i = 1; i < np; i++)
				if (pfd[i].revents != 0)
					NETSNMP_LARGE_FD_SET(pfd[i].fd, &fds);
			if (np > 1)
				snmp_read2(&fds);
		} else if (rc == 0) {
			snmp_timeout();
		}
		netsnmp_large_fd_set_cleanup(&fds);
		run_alarms();
		netsnmp_check_outstanding_agent_requests();

		take_messages(a, &list, &snap, &stop);
		if (snap != NULL) {
			struct snmp_view *v = snmp_view_new(snap);
			snapshot_unref(snap); /* the view holds its own reference */
			snmp_view_free(a->view);
			a->view = v;
		}
		handle_messages(a, list);
	}
	snmp_shutdown(APP_NAME);
	snmp_view_free(a->view);
	a->view = NULL;
	atomic_store(&a->connected, false);
	return NULL;
}

/* ---- the loop's side ---- */

static void post(struct snmp_agent *a, struct msg *m)
{
	uint64_t one = 1;

	pthread_mutex_lock(&a->mu);
	if (a->queued >= QUEUE_MAX) {
		pthread_mutex_unlock(&a->mu);
		atomic_fetch_add(&a->dropped, 1);
		msg_free(m);
		return;
	}
	if (a->tail != NULL)
		a->tail->next = m;
	else
		a->head = m;
	a->tail = m;
	a->queued++;
	pthread_mutex_unlock(&a->mu);
	(void)!write(a->efd, &one, sizeof one);
}

struct snmp_agent *snmp_agent_start(const struct snmp_agent_conf *c)
{
	struct snmp_agent *a = xcalloc(1, sizeof *a);
	int rc;

	a->agentx = xstrdup(c->agentx);
	a->persist_dir = xstrdup(c->persist_dir);
	a->ping_interval_ms = c->ping_interval_ms;
	a->conf_agentx = xstrdup(c->agentx);
	a->conf_ping_ms = c->ping_interval_ms;
	atomic_init(&a->notifications, c->notifications);
	atomic_init(&a->connected, false);
	atomic_init(&a->reannounce, false);
	atomic_init(&a->sent, 0);
	atomic_init(&a->dropped, 0);
	pthread_mutex_init(&a->mu, NULL);
	a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->efd == -1) {
		log_warn_errno("snmp: eventfd");
		goto fail;
	}
	/* the subagent parses no MIB files (it needs none; Debian ships no IETF ones) */
	setenv("MIBS", "", 0);
	the_agent = a;
	rc = pthread_create(&a->thread, NULL, agent_main, a);
	if (rc != 0) {
		errno = rc;
		log_warn_errno("snmp: cannot start the subagent thread");
		goto fail;
	}
	log_info("snmp: subagent for AgentX master %s (ping every %llu s, notifications %s)",
	         a->agentx, (unsigned long long)(a->ping_interval_ms / 1000),
	         c->notifications ? "on" : "off");
	return a;
fail:
	if (a->efd != -1)
		close(a->efd);
	pthread_mutex_destroy(&a->mu);
	free(a->agentx);
	free(a->conf_agentx);
	free(a->new_agentx);
	free(a->persist_dir);
	free(a);
	return NULL;
}

void snmp_agent_stop(struct snmp_agent *a)
{
	uint64_t one = 1;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_mutex_unlock(&a->mu);
	(void)!write(a->efd, &one, sizeof one);
	pthread_join(a->thread, NULL);
	while (a->head != NULL) {
		struct msg *m = a->head;
		a->head = m->next;
		msg_free(m);
	}
	snapshot_unref(a->pending);
	close(a->efd);
	pthread_mutex_destroy(&a->mu);
	free(a->agentx);
	free(a->conf_agentx);
	free(a->new_agentx);
	free(a->persist_dir);
	free(a);
}

struct snmp_agent *snmp_agent_configure(struct snmp_agent *a, const struct snmp_agent_conf *c)
{
	uint64_t one = 1;

	if (strcmp(a->conf_agentx, c->agentx) != 0 || a->conf_ping_ms != c->ping_interval_ms) {
		log_info("reload: SNMP master %s, ping every %llu s: the subagent reconnects",
		         c->agentx, (unsigned long long)(c->ping_interval_ms / 1000));
		free(a->conf_agentx);
		a->conf_agentx = xstrdup(c->agentx);
		a->conf_ping_ms = c->ping_interval_ms;
		pthread_mutex_lock(&a->mu);
		free(a->new_agentx);
		a->new_agentx = xstrdup(c->agentx);
		a->new_ping_ms = c->ping_interval_ms;
		pthread_mutex_unlock(&a->mu);
		(void)!write(a->efd, &one, sizeof one);
	}
	if (atomic_exchange(&a->notifications, c->notifications) != c->notifications)
		log_info("snmp: notifications %s", c->notifications ? "on" : "off");
	return a;
}

void snmp_agent_publish(struct snmp_agent *a, struct snapshot *s)
{
	struct snapshot *old;
	uint64_t one = 1;

	pthread_mutex_lock(&a->mu);
	old = a->pending;
	a->pending = s;
	pthread_mutex_unlock(&a->mu);
	snapshot_unref(old);
	(void)!write(a->efd, &one, sizeof one);
}

void snmp_agent_endpoint_event(struct snmp_agent *a, const struct snmp_endpoint_event *e)
{
	struct msg *m;

	if (!atomic_load(&a->notifications))
		return;
	m = xcalloc(1, sizeof *m);
	m->kind = MSG_ENDPOINT;
	m->ep = *e;
	m->name = xstrdup(e->endpoint);
	m->text = xstrdup(e->text != NULL ? e->text : "");
	m->ep.endpoint = m->name;
	m->ep.text = m->text;
	post(a, m);
}

void snmp_agent_txn_event(struct snmp_agent *a, const char *name, enum result_class previous,
                          enum result_class state, enum txn_status reason, const char *detail)
{
	struct msg *m;

	if (!atomic_load(&a->notifications))
		return;
	m = xcalloc(1, sizeof *m);
	m->kind = MSG_TXN;
	m->name = xstrdup(name);
	m->detail = xstrdup(detail != NULL ? detail : "");
	m->previous = previous;
	m->state = state;
	m->reason = reason;
	post(a, m);
}

void snmp_agent_cert_event(struct snmp_agent *a, const char *name, unsigned role,
                           const char *subject, int64_t not_after, bool expired)
{
	struct msg *m;

	if (!atomic_load(&a->notifications))
		return;
	m = xcalloc(1, sizeof *m);
	m->kind = MSG_CERT;
	m->name = xstrdup(name);
	m->text = xstrdup(subject != NULL ? subject : "");
	m->role = role;
	m->not_after = not_after;
	m->expired = expired;
	post(a, m);
}

bool snmp_agent_take_reannounce(struct snmp_agent *a)
{
	return atomic_exchange(&a->reannounce, false);
}

void snmp_agent_stats(const struct snmp_agent *a, bool *connected, uint64_t *sent,
                      uint64_t *dropped)
{
	*connected = atomic_load(&a->connected);
	*sent = atomic_load(&a->sent);
	*dropped = atomic_load(&a->dropped);
}
