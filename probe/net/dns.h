/*
 * dns: asynchronous DNS (SRV and address lookups) on the event loop, through c-ares.
 * Only dns.c includes ares.h. One c-ares channel per distinct resolver setting is
 * created on first use and kept; queries are cancellable (the callback is then
 * never called) so a transaction can end at its deadline with queries in flight.
 */
#ifndef CERTPROBE_DNS_H
#define CERTPROBE_DNS_H

#include <stddef.h>
#include <sys/socket.h>

struct event_base;
struct dns;
struct dns_query;

enum dns_status {
	DNS_OK = 0,
	DNS_NXDOMAIN, /* the name does not exist, or has no record of that type */
	DNS_TIMEOUT,  /* no server answered (timeout, or the port refused) */
	DNS_SERVFAIL, /* the server failed or refused */
	DNS_ERROR,    /* anything else (bad answer, no servers, out of memory) */
};

#define DNS_MAX_SRV 16
#define DNS_MAX_ADDRS 8

struct dns_srv {
	char target[256];
	unsigned short priority;
	unsigned short weight;
	unsigned short port;
};

struct dns_addr {
	struct sockaddr_storage sa;
	socklen_t len;
};

/* recs sorted by priority, then weight (heaviest first); valid during the call only */
typedef void dns_srv_cb(enum dns_status st, const char *why, const struct dns_srv *recs, size_t n,
                        void *arg);
typedef void dns_addr_cb(enum dns_status st, const char *why, const struct dns_addr *addrs,
                         size_t n, void *arg);

/* 0 or -1 (c-ares library init) */
int dns_global_init(void);
void dns_global_cleanup(void);

struct dns *dns_new(struct event_base *base);
/* Cancels every query (their callbacks are not called). NULL-safe. */
void dns_free(struct dns *d);

/*
 * resolver: "IP" or "IP:port" or "[IPv6]:port", or NULL for /etc/resolv.conf.
 * family: AF_INET or AF_INET6. Return NULL (with *why set) only when the resolver
 * setting cannot be used; otherwise the callback comes later, exactly once, unless
 * dns_cancel() is called first.
 */
struct dns_query *dns_srv(struct dns *d, const char *resolver, const char *name, dns_srv_cb *cb,
                          void *arg, const char **why);
struct dns_query *dns_addr(struct dns *d, const char *resolver, const char *name, int family,
                           dns_addr_cb *cb, void *arg, const char **why);
/* The callback will not be called. NULL-safe. */
void dns_cancel(struct dns_query *q);

const char *dns_status_name(enum dns_status st);

#endif
