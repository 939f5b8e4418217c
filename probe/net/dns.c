/*
 * dns: c-ares on libevent (see dns.h). c-ares tells us which sockets it wants watched
 * through its socket-state callback; we keep one persistent event per socket and one
 * timer per channel for its retransmissions. Results are copied and delivered from a
 * zero-delay timer, never from inside the query call, so a caller always holds a valid
 * handle until its callback runs or it cancels.
 */
#define _DEFAULT_SOURCE 1

#include "net/dns.h"

#include <arpa/inet.h>
#include <ares.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/xalloc.h"

#define DNS_TIMEOUT_MS 1500
#define DNS_TRIES 2

struct dns_sock {
	ares_socket_t fd;
	struct event *ev;
	struct dns_sock *next;
};

struct dns_channel {
	struct dns *owner;
	char *resolver; /* NULL: system configuration */
	ares_channel ch;
	struct event *timer;
	struct dns_sock *socks;
	struct dns_channel *next;
};

enum dns_query_state { Q_PENDING, Q_DELIVERING, Q_CANCELLED };

struct dns_query {
	struct dns *owner;
	struct dns_channel *chan;
	enum dns_query_state state;
	bool is_srv;
	int family;
	dns_srv_cb *srv_cb;
	dns_addr_cb *addr_cb;
	void *arg;
	struct event *deliver;
	enum dns_status status;
	char why[128];
	struct dns_srv srv[DNS_MAX_SRV];
	struct dns_addr addrs[DNS_MAX_ADDRS];
	size_t n;
	struct dns_query *prev, *next; /* every live query of the owner */
};

struct dns {
	struct event_base *base;
	struct dns_channel *chans;
	struct dns_query *queries;
	bool destroying;
};

int dns_global_init(void)
{
	return ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS ? 0 : -1;
}

void dns_global_cleanup(void)
{
	ares_library_cleanup();
}

const char *dns_status_name(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_TIMEOUT:
		return "no answer";
	case DNS_SERVFAIL:
		return "servfail";
	default:
		return "error";
	}
}

static enum dns_status map_status(int st)
{
	switch (st) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
	case ARES_ENONAME:
		return DNS_NXDOMAIN;
	case ARES_ETIMEOUT:
	case ARES_ECONNREFUSED:
		return DNS_TIMEOUT;
	case ARES_ESERVFAIL:
	case ARES_EREFUSED:
		return DNS_SERVFAIL;
	default:
		return DNS_ERROR;
	}
}

/* ---- the loop glue ---- */

static void chan_rearm(struct dns_channel *c)
{
	struct timeval tv, *t;

	t = ares_timeout(c->ch, NULL, &tv);
	if (t == NULL)
		evtimer_del(c->timer);
	else
		evtimer_add(c->timer, t);
}

static void chan_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_channel *c = arg;

	(void)fd;
	(void)what;
	ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	chan_rearm(c);
}

static void chan_on_io(evutil_socket_t fd, short what, void *arg)
{
	struct dns_channel *c = arg;

	ares_process_fd(c->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	                (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	chan_rearm(c);
}

static void chan_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_channel *c = data;
	struct dns_sock **pp, *s;

	for (pp = &c->socks; *pp != NULL && (*pp)->fd != fd; pp = &(*pp)->next)
		;
	s = *pp;
	if (!readable && !writable) {
		if (s != NULL) {
			*pp = s->next;
			event_free(s->ev);
			free(s);
		}
		return;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->fd = fd;
		s->next = c->socks;
		c->socks = s;
	} else {
		event_free(s->ev);
	}
	s->ev = event_new(c->owner->base, fd,
	                  EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0),
	                  chan_on_io, c);
	event_add(s->ev, NULL);
}

static struct dns_channel *chan_get(struct dns *d, const char *resolver, const char **why)
{
	struct ares_options opts;
	struct dns_channel *c;
	int optmask, rc;

	for (c = d->chans; c != NULL; c = c->next) {
		if ((c->resolver == NULL && resolver == NULL) ||
		    (c->resolver != NULL && resolver != NULL && strcmp(c->resolver, resolver) == 0))
			return c;
	}
	c = xcalloc(1, sizeof *c);
	c->owner = d;
	memset(&opts, 0, sizeof opts);
	opts.sock_state_cb = chan_sock_state;
	opts.sock_state_cb_data = c;
	opts.timeout = DNS_TIMEOUT_MS;
	opts.tries = DNS_TRIES;
	optmask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	if (resolver != NULL) {
		/* an explicit resolver answers for everything: no /etc/hosts, no search list */
		opts.lookups = (char *)"b";
		opts.ndomains = 0;
		opts.domains = NULL;
		optmask |= ARES_OPT_LOOKUPS | ARES_OPT_DOMAINS;
	}
	rc = ares_init_options(&c->ch, &opts, optmask);
	if (rc != ARES_SUCCESS) {
		*why = ares_strerror(rc);
		free(c);
		return NULL;
	}
	if (resolver != NULL) {
		rc = ares_set_servers_ports_csv(c->ch, resolver);
		if (rc != ARES_SUCCESS) {
			*why = "bad resolver address";
			ares_destroy(c->ch);
			free(c);
			return NULL;
		}
		c->resolver = xstrdup(resolver);
	}
	c->timer = evtimer_new(d->base, chan_on_timer, c);
	c->next = d->chans;
	d->chans = c;
	return c;
}

struct dns *dns_new(struct event_base *base)
{
	struct dns *d = xcalloc(1, sizeof *d);

	d->base = base;
	return d;
}

static void query_unlink_free(struct dns_query *q)
{
	struct dns *d = q->owner;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		d->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	if (q->deliver != NULL)
		event_free(q->deliver);
	free(q);
}

void dns_free(struct dns *d)
{
	struct dns_channel *c, *cn;

	if (d == NULL)
		return;
	d->destroying = true;
	for (c = d->chans; c != NULL; c = cn) {
		cn = c->next;
		ares_destroy(c->ch); /* pending queries call back with ARES_EDESTRUCTION */
		while (c->socks != NULL) {
			struct dns_sock *s = c->socks;
			c->socks = s->next;
			event_free(s->ev);
			free(s);
		}
		event_free(c->timer);
		free(c->resolver);
		free(c);
	}
	while (d->queries != NULL)
		query_unlink_free(d->queries);
	free(d);
}

/* ---- queries ---- */

static void query_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	(void)fd;
	(void)what;
	if (q->is_srv)
		q->srv_cb(q->status, q->why, q->srv, q->n, q->arg);
	else
		q->addr_cb(q->status, q->why, q->addrs, q->n, q->arg);
	query_unlink_free(q);
}

/* c-ares is done with q: drop it if cancelled, else hand the copied result to the loop */
static bool query_finished(struct dns_query *q, int status)
{
	if (q->state == Q_CANCELLED || q->owner->destroying || status == ARES_EDESTRUCTION) {
		if (!q->owner->destroying)
			query_unlink_free(q);
		return false;
	}
	q->status = map_status(status);
	if (status != ARES_SUCCESS)
		snprintf(q->why, sizeof q->why, "%s", ares_strerror(status));
	q->state = Q_DELIVERING;
	q->deliver = evtimer_new(q->owner->base, query_deliver, q);
	event_active(q->deliver, EV_TIMEOUT, 0);
	return true;
}

static int srv_cmp(const void *a, const void *b)
{
	const struct dns_srv *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return strcmp(x->target, y->target);
}

static void on_srv(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct ares_srv_reply *reply = NULL;

	(void)timeouts;
	if (status == ARES_SUCCESS) {
		status = ares_parse_srv_reply(abuf, alen, &reply);
		if (status == ARES_SUCCESS && reply == NULL)
			status = ARES_ENODATA;
	}
	if (!query_finished(q, status)) {
		ares_free_data(reply);
		return;
	}
	for (struct ares_srv_reply *r = reply; r != NULL && q->n < DNS_MAX_SRV; r = r->next) {
		struct dns_srv *s = &q->srv[q->n];
		snprintf(s->target, sizeof s->target, "%s", r->host);
		s->priority = r->priority;
		s->weight = r->weight;
		s->port = r->port;
		/* RFC 2782: a target of "." means the service is decidedly not available */
		if (strcmp(s->target, ".") != 0 && s->target[0] != '\0')
			q->n++;
	}
	ares_free_data(reply);
	if (q->n == 0 && q->status == DNS_OK) {
		q->status = DNS_NXDOMAIN;
		snprintf(q->why, sizeof q->why, "only a \".\" target (service not offered)");
	}
	qsort(q->srv, q->n, sizeof *q->srv, srv_cmp);
}

static void on_addr(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct dns_query *q = arg;

	(void)timeouts;
	if (query_finished(q, status) && res != NULL) {
		for (struct ares_addrinfo_node *n = res->nodes; n != NULL && q->n < DNS_MAX_ADDRS;
		     n = n->ai_next) {
			if (n->ai_family != q->family || n->ai_addrlen > sizeof q->addrs[0].sa)
				continue;
			memcpy(&q->addrs[q->n].sa, n->ai_addr, n->ai_addrlen);
			q->addrs[q->n].len = n->ai_addrlen;
			q->n++;
		}
		if (q->n == 0 && q->status == DNS_OK) {
			q->status = DNS_NXDOMAIN;
			snprintf(q->why, sizeof q->why, "no %s address",
			         q->family == AF_INET6 ? "IPv6" : "IPv4");
		}
	}
	if (res != NULL)
		ares_freeaddrinfo(res);
}

static struct dns_query *query_new(struct dns *d, struct dns_channel *c, void *arg)
{
	struct dns_query *q = xcalloc(1, sizeof *q);

	q->owner = d;
	q->chan = c;
	q->arg = arg;
	q->state = Q_PENDING;
	q->next = d->queries;
	if (d->queries != NULL)
		d->queries->prev = q;
	d->queries = q;
	return q;
}

struct dns_query *dns_srv(struct dns *d, const char *resolver, const char *name, dns_srv_cb *cb,
                          void *arg, const char **why)
{
	struct dns_channel *c = chan_get(d, resolver, why);
	struct dns_query *q;

	if (c == NULL)
		return NULL;
	q = query_new(d, c, arg);
	q->is_srv = true;
	q->srv_cb = cb;
	log_debug("dns: SRV %s", name);
	ares_query(c->ch, name, 1 /* C_IN */, 33 /* T_SRV */, on_srv, q);
	chan_rearm(c);
	return q;
}

struct dns_query *dns_addr(struct dns *d, const char *resolver, const char *name, int family,
                           dns_addr_cb *cb, void *arg, const char **why)
{
	struct dns_channel *c = chan_get(d, resolver, why);
	struct ares_addrinfo_hints hints;
	struct dns_query *q;

	if (c == NULL)
		return NULL;
	q = query_new(d, c, arg);
	q->addr_cb = cb;
	q->family = family;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	log_debug("dns: %s %s", family == AF_INET6 ? "AAAA" : "A", name);
	ares_getaddrinfo(c->ch, name, NULL, &hints, on_addr, q);
	chan_rearm(c);
	return q;
}

void dns_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	if (q->state == Q_DELIVERING)
		query_unlink_free(q);
	else
		q->state = Q_CANCELLED; /* freed when c-ares calls back */
}
