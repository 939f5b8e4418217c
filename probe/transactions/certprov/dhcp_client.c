/*
 * dhcp_client: one MS-UC-Client discovery on the loop: find the interface's address and
 * MAC, open a UDP socket bound to it, send, retry per attempt, match answers by xid and
 * chaddr, decode them (dhcp_opts) and call back once.
 */
#include "transactions/certprov/dhcp_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "transactions/certprov/dhcp_opts.h"
#include "transactions/transaction.h"

#define DEFAULT_TIMEOUT_MS 4000
#define DEFAULT_GRACE_MS 300
#define HEX_MAX (2 * DHCP_PACKET_MAX + 1)

struct dhcp_discover {
	struct event_base *base;
	dhcp_discover_cb *cb;
	void *arg;
	char *interface, *server, *vendor_class;
	uint16_t server_port;
	uint64_t timeout_ms, grace_ms;
	struct deadline budget; /* at_ms 0: none */
	unsigned retries;
	enum dhcp_client_port port_mode;
	enum dhcp_discover_mode mode;

	int fd;
	struct event *rd, *timer;
	struct dhcp_request req;
	struct sockaddr_in dst;
	char local[96];
	uint64_t start_us, sent_us;
	unsigned attempts, answers, ignored, naks;
	bool in_grace; /* a failing answer is held; waiting for a better one */
	bool failed;   /* set up failed: the timer delivers status/detail */

	/* the answer reported (the first failing one until a good one comes) */
	bool have_answer;
	struct dhcp_found found;
	char answer_server[INET_ADDRSTRLEN];
	uint64_t answer_elapsed_us, answer_us;
	char options_hex[HEX_MAX], opt43_hex[HEX_MAX], opt120_hex[HEX_MAX];
	char ntp[4 * 16 + 1], vclass[4 * 64 + 1];

	enum txn_status status;
	char detail[DHCP_DETAIL_MAX + 128];
	uint8_t pkt[DHCP_PACKET_MAX + 1];
	struct dhcp_reply reply;
};

/* errno as a cause in our words (strerror stays in the log layer) */
static const char *errno_cause(int e)
{
	switch (e) {
	case EACCES:
		return "permission denied (port 68 needs root or CAP_NET_BIND_SERVICE)";
	case EPERM:
		return "not permitted (needs root or CAP_NET_RAW)";
	case EADDRINUSE:
		return "address in use (another DHCP client holds port 68)";
	case ENODEV:
		return "no such interface";
	case ENETUNREACH:
	case EHOSTUNREACH:
		return "network unreachable (no route through the interface)";
	case ENETDOWN:
		return "interface down";
	case EMFILE:
	case ENFILE:
		return "out of file descriptors";
	default:
		return "socket error";
	}
}

static const char *message_name(enum dhcp_message_type t)
{
	return t == DHCP_MSG_DISCOVER ? "DHCPDISCOVER" : "DHCPINFORM";
}

static void finish(struct dhcp_discover *d)
{
	struct dhcp_discover_result r = {0};

	r.status = d->status;
	r.detail = d->detail;
	r.certprov_url = d->have_answer ? d->found.certprov_url : "";
	r.registrar = d->have_answer ? d->found.registrar : "";
	r.server = d->have_answer ? d->answer_server : "";
	r.message = message_name(d->req.type);
	r.local = d->local;
	r.options_hex = d->have_answer ? d->options_hex : "";
	r.opt43_hex = d->have_answer ? d->opt43_hex : "";
	r.opt120_hex = d->have_answer ? d->opt120_hex : "";
	r.ntp_servers = d->have_answer ? d->ntp : "";
	r.vendor_class = d->have_answer ? d->vclass : "";
	r.attempts = d->attempts;
	r.answers = d->answers;
	r.elapsed_us = d->have_answer ? d->answer_elapsed_us : clock_now_us() - d->start_us;
	r.answer_us = d->have_answer ? d->answer_us : 0;
	if (d->rd != NULL)
		event_del(d->rd);
	event_del(d->timer);
	d->cb(&r, d->arg);
	dhcp_discover_cancel(d);
}

static void arm(struct dhcp_discover *d, uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
	                     .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(d->timer, &tv);
}

/*
 * A timer may fire a millisecond before the budget's end as clock_now_ms() sees it: an
 * attempt with less than this left could not be answered, so the budget counts as spent.
 */
#define MIN_ATTEMPT_MS 5

static bool budget_spent(const struct dhcp_discover *d)
{
	return d->budget.at_ms != 0 && deadline_remaining(&d->budget) < MIN_ATTEMPT_MS;
}

/* ms, cut to what is left of the budget */
static uint64_t wait_ms(const struct dhcp_discover *d, uint64_t ms)
{
	uint64_t left;

	if (d->budget.at_ms == 0)
		return ms;
	left = deadline_remaining(&d->budget);
	return left < ms ? left : ms;
}

/* Fail set-up: reported from the loop, never from inside dhcp_discover_start. */
static void setup_failed(struct dhcp_discover *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void setup_failed(struct dhcp_discover *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->detail, sizeof d->detail, fmt, ap);
	va_end(ap);
	d->status = TXN_PROBE_DHCP_SOCKET;
	d->failed = true;
	arm(d, 0);
}

static int send_attempt(struct dhcp_discover *d)
{
	size_t n;
	ssize_t w;

	d->req.secs = (uint16_t)((clock_now_us() - d->start_us) / 1000000);
	n = dhcp_opts_build_request(&d->req, d->pkt, sizeof d->pkt);
	d->sent_us = clock_now_us();
	w = sendto(d->fd, d->pkt, n, 0, (const struct sockaddr *)&d->dst, sizeof d->dst);
	if (w == -1) {
		char to[INET_ADDRSTRLEN];
		int e = errno;
		inet_ntop(AF_INET, &d->dst.sin_addr, to, sizeof to);
		log_debug("dhcp: sendto %s:%u on %s failed (errno %d)", to, ntohs(d->dst.sin_port),
		          d->interface, e);
		setup_failed(d, "cannot send the %s to %s:%u from %s: %s",
		             message_name(d->req.type), to, ntohs(d->dst.sin_port), d->local,
		             errno_cause(e));
		return -1;
	}
	d->attempts++;
	log_debug("dhcp: %s xid %08x #%u sent on %s", message_name(d->req.type),
	          (unsigned)ntohl(d->req.xid), d->attempts, d->interface);
	arm(d, wait_ms(d, d->timeout_ms));
	return 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dhcp_discover *d = arg;
	char to[INET_ADDRSTRLEN];
	int o;

	(void)fd;
	(void)what;
	if (d->failed || d->in_grace) {
		finish(d);
		return;
	}
	if (d->attempts < 1 + d->retries && !budget_spent(d)) {
		send_attempt(d);
		return;
	}
	inet_ntop(AF_INET, &d->dst.sin_addr, to, sizeof to);
	d->status = TXN_DHCP_NO_RESPONSE;
	o = snprintf(d->detail, sizeof d->detail,
	             "no answer to %u %s%s (vendor class %s) sent to %s:%u from %s, %llu ms each",
	             d->attempts, message_name(d->req.type), d->attempts == 1 ? "" : "s",
	             d->vendor_class != NULL ? d->vendor_class : DHCP_VENDOR_CLASS_UC, to,
	             ntohs(d->dst.sin_port), d->local, (unsigned long long)d->timeout_ms);
	if (o > 0 && (size_t)o < sizeof d->detail && d->attempts < 1 + d->retries)
		o += snprintf(d->detail + o, sizeof d->detail - (size_t)o,
		              "; the transaction's deadline left no time for more");
	if (o > 0 && (size_t)o < sizeof d->detail && (d->ignored > 0 || d->naks > 0))
		snprintf(d->detail + o, sizeof d->detail - (size_t)o,
		         " (%u other packets ignored, %u DHCPNAK)", d->ignored, d->naks);
	finish(d);
}

/* Option 42's addresses as "a.b.c.d,..." (whole addresses that fit). */
static void ntp_list(const uint8_t *v, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; v != NULL && i + 4 <= n && o + 17 < outlen; i += 4)
		o += (size_t)snprintf(out + o, outlen - o, "%s%u.%u.%u.%u", o > 0 ? "," : "", v[i],
		                      v[i + 1], v[i + 2], v[i + 3]);
}

/* Untrusted text with anything unprintable as '?'. */
static void printable_copy(const uint8_t *v, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; v != NULL && i < n && o + 1 < outlen; i++)
		out[o++] = v[i] >= 0x20 && v[i] < 0x7f ? (char)v[i] : '?';
	out[o] = '\0';
}

/* Keep what the answer in d->reply says, from src. */
static void take_answer(struct dhcp_discover *d, const struct dhcp_found *f,
                        const struct sockaddr_in *src)
{
	const uint8_t *v;
	size_t n;
	struct in_addr a;

	d->found = *f;
	d->have_answer = true;
	a.s_addr = d->reply.has_server_id ? d->reply.server_id : src->sin_addr.s_addr;
	inet_ntop(AF_INET, &a, d->answer_server, sizeof d->answer_server);
	d->answer_elapsed_us = clock_now_us() - d->start_us;
	d->answer_us = clock_now_us() - d->sent_us;
	dhcp_opts_hex(d->pkt + d->reply.options_off, d->reply.options_len, d->options_hex,
	              sizeof d->options_hex);
	v = dhcp_reply_option(&d->reply, 43, &n);
	dhcp_opts_hex(v != NULL ? v : (const uint8_t *)"", n, d->opt43_hex, sizeof d->opt43_hex);
	v = dhcp_reply_option(&d->reply, 120, &n);
	dhcp_opts_hex(v != NULL ? v : (const uint8_t *)"", n, d->opt120_hex, sizeof d->opt120_hex);
	v = dhcp_reply_option(&d->reply, 42, &n);
	ntp_list(v, n, d->ntp, sizeof d->ntp);
	v = dhcp_reply_option(&d->reply, 60, &n);
	printable_copy(v, n, d->vclass, sizeof d->vclass);
	d->status = f->status;
	if (f->status == TXN_OK)
		d->detail[0] = '\0';
	else
		snprintf(d->detail, sizeof d->detail, "%s (answer from %s)", f->detail,
		         d->answer_server);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct dhcp_discover *d = arg;
	int want = d->req.type == DHCP_MSG_DISCOVER ? DHCP_MSG_OFFER : DHCP_MSG_ACK;

	(void)what;
	for (;;) {
		struct sockaddr_in src;
		socklen_t slen = sizeof src;
		struct dhcp_found f;
		char why[96];
		ssize_t n = recvfrom(fd, d->pkt, sizeof d->pkt, 0, (struct sockaddr *)&src, &slen);

		if (n == -1)
			return; /* EAGAIN, or an ICMP error: keep waiting for the timer */
		if ((size_t)n > DHCP_PACKET_MAX ||
		    dhcp_opts_parse_reply(d->pkt, (size_t)n, &d->reply, why, sizeof why) == -1 ||
		    d->reply.xid != d->req.xid || memcmp(d->reply.chaddr, d->req.chaddr, 6) != 0) {
			d->ignored++;
			continue;
		}
		if (d->reply.message_type == DHCP_MSG_NAK) {
			d->naks++;
			continue;
		}
		if (d->reply.message_type != want) {
			d->ignored++;
			continue;
		}
		d->answers++;
		dhcp_opts_decode(&d->reply, &f);
		log_debug("dhcp: answer %u to xid %08x: %s", d->answers,
		          (unsigned)ntohl(d->req.xid), txn_status_code(f.status));
		if (f.status == TXN_OK) {
			take_answer(d, &f, &src);
			finish(d);
			return;
		}
		if (!d->have_answer) {
			/* the first failing answer stands unless a good one comes soon */
			take_answer(d, &f, &src);
			d->in_grace = true;
			event_del(d->timer);
			arm(d, wait_ms(d, d->grace_ms));
		}
	}
}

/* The interface's MAC and first IPv4 address (0 when none); -1 when it does not exist. */
static int interface_lookup(const char *name, uint8_t mac[6], uint32_t *addr)
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	*addr = 0;
	memset(mac, 0, 6);
	if (getifaddrs(&ifs) == -1)
		return -1;
	for (i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_name == NULL || strcmp(i->ifa_name, name) != 0)
			continue;
		found = true;
		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_PACKET) {
			const struct sockaddr_ll *ll =
			    (const struct sockaddr_ll *)(void *)i->ifa_addr;
			if (ll->sll_halen == 6)
				memcpy(mac, ll->sll_addr, 6);
		} else if (i->ifa_addr->sa_family == AF_INET && *addr == 0) {
			const struct sockaddr_in *in =
			    (const struct sockaddr_in *)(void *)i->ifa_addr;
			*addr = in->sin_addr.s_addr;
		}
	}
	freeifaddrs(ifs);
	return found ? 0 : -1;
}

static int bind_port(int fd, uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	return bind(fd, (const struct sockaddr *)&sa, sizeof sa);
}

/* Socket, options, bind; 0 or -1 after setup_failed(). */
static int open_socket(struct dhcp_discover *d)
{
	int one = 1, e;
	struct sockaddr_in me;
	socklen_t mlen = sizeof me;
	const char *note = "";
	char ip[INET_ADDRSTRLEN];
	struct in_addr ci = {.s_addr = d->req.ciaddr};

	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd == -1) {
		setup_failed(d, "cannot open a UDP socket: %s", errno_cause(errno));
		return -1;
	}
	/*
	 * No SO_REUSEADDR: beside a DHCP client holding port 68 (dhclient, networkd) the
	 * kernel would hand our answers to its socket or its answers to ours; an INFORM then
	 * goes from an ephemeral port instead, and says so.
	 */
	if (setsockopt(d->fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) == -1) {
		setup_failed(d, "cannot set up the UDP socket: %s", errno_cause(errno));
		return -1;
	}
	if (setsockopt(d->fd, SOL_SOCKET, SO_BINDTODEVICE, d->interface,
	               (socklen_t)strlen(d->interface)) == -1) {
		e = errno;
		setup_failed(d, "cannot bind the DHCP socket to interface %s: %s", d->interface,
		             errno_cause(e));
		return -1;
	}
	if (d->port_mode == DHCP_PORT_EPHEMERAL) {
		if (bind_port(d->fd, 0) == -1) {
			setup_failed(d, "cannot bind a UDP port on %s: %s", d->interface,
			             errno_cause(errno));
			return -1;
		}
	} else if (bind_port(d->fd, DHCP_CLIENT_PORT) == -1) {
		e = errno;
		/* an OFFER to our broadcast DISCOVER goes to port 68 and nowhere else */
		if (d->port_mode == DHCP_PORT_68 || d->req.type == DHCP_MSG_DISCOVER ||
		    (e != EACCES && e != EADDRINUSE) || bind_port(d->fd, 0) == -1) {
			setup_failed(d, "cannot bind UDP port %d on %s for the %s: %s",
			             DHCP_CLIENT_PORT, d->interface, message_name(d->req.type),
			             errno_cause(e));
			return -1;
		}
		note = e == EACCES ? " (68 not permitted)" : " (68 in use)";
	}
	if (getsockname(d->fd, (struct sockaddr *)&me, &mlen) == -1)
		me.sin_port = 0;
	inet_ntop(AF_INET, &ci, ip, sizeof ip);
	snprintf(d->local, sizeof d->local, "%s:%u%s on %s", ip, ntohs(me.sin_port), note,
	         d->interface);
	return 0;
}

static uint32_t new_xid(void)
{
	uint32_t x;

	if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x)
		x = (uint32_t)clock_now_us() ^ (uint32_t)getpid() << 16;
	return x;
}

struct dhcp_discover *dhcp_discover_start(struct event_base *base,
                                          const struct dhcp_discover_opts *opts,
                                          dhcp_discover_cb *cb, void *arg)
{
	struct dhcp_discover *d = xcalloc(1, sizeof *d);
	uint32_t addr = 0;

	d->base = base;
	d->cb = cb;
	d->arg = arg;
	d->fd = -1;
	d->interface = xstrdup(opts->interface != NULL ? opts->interface : "");
	d->server = opts->server != NULL ? xstrdup(opts->server) : NULL;
	d->vendor_class = opts->vendor_class != NULL ? xstrdup(opts->vendor_class) : NULL;
	d->server_port = opts->server_port != 0 ? opts->server_port : DHCP_SERVER_PORT;
	d->timeout_ms = opts->timeout_ms != 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	d->grace_ms = opts->grace_ms != 0 ? opts->grace_ms : DEFAULT_GRACE_MS;
	d->retries = opts->retries;
	d->port_mode = opts->port;
	d->mode = opts->mode;
	d->start_us = clock_now_us();
	if (opts->budget_ms != 0)
		deadline_set(&d->budget, opts->budget_ms);
	d->status = TXN_PROBE_INTERNAL;
	d->rd = NULL;
	d->timer = evtimer_new(base, on_timer, d);
	snprintf(d->local, sizeof d->local, "%s", d->interface);

	d->req.xid = new_xid();
	d->req.vendor_class = d->vendor_class;
	d->req.type = DHCP_MSG_INFORM;
	if (d->interface[0] == '\0' || strlen(d->interface) >= IFNAMSIZ) {
		setup_failed(
		    d, "no interface configured for DHCP discovery (or its name is too long)");
		return d;
	}
	if (interface_lookup(d->interface, d->req.chaddr, &addr) == -1) {
		setup_failed(d, "interface %s: %s", d->interface, errno_cause(ENODEV));
		return d;
	}
	if (d->mode == DHCP_MODE_DISCOVER || (d->mode == DHCP_MODE_AUTO && addr == 0)) {
		d->req.type = DHCP_MSG_DISCOVER;
		d->req.broadcast = true;
	} else if (addr == 0) {
		setup_failed(d, "interface %s has no IPv4 address to send a DHCPINFORM from",
		             d->interface);
		return d;
	} else {
		d->req.ciaddr = addr;
	}
	d->dst.sin_family = AF_INET;
	d->dst.sin_port = htons(d->server_port);
	d->dst.sin_addr.s_addr = htonl(INADDR_BROADCAST);
	if (d->server != NULL && inet_pton(AF_INET, d->server, &d->dst.sin_addr) != 1) {
		setup_failed(d, "DHCP server '%s' is not an IPv4 address", d->server);
		return d;
	}
	if (open_socket(d) == -1)
		return d;
	d->rd = event_new(base, d->fd, EV_READ | EV_PERSIST, on_read, d);
	event_add(d->rd, NULL);
	send_attempt(d);
	return d;
}

void dhcp_discover_cancel(struct dhcp_discover *d)
{
	if (d == NULL)
		return;
	if (d->rd != NULL)
		event_free(d->rd);
	if (d->timer != NULL)
		event_free(d->timer);
	if (d->fd != -1)
		close(d->fd);
	free(d->interface);
	free(d->server);
	free(d->vendor_class);
	free(d);
}

int dhcp_default_interface(char *buf, size_t len, const char **why)
{
	struct ifaddrs *ifa = NULL;
	char line[256], name[IFNAMSIZ + 1], fallback[IFNAMSIZ] = "";
	unsigned long dest, gw, flags;
	FILE *f = fopen("/proc/net/route", "re");
	int found = -1;

	/* a small in-memory file: no reason to leave the loop for it */
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "%16s %lx %lx %lx", name, &dest, &gw, &flags) == 4 && dest == 0 &&
		    (flags & 1) != 0 && strlen(name) < IFNAMSIZ) {
			snprintf(buf, len, "%s", name);
			*why = "the default route's interface";
			found = 0;
			break;
		}
	if (f != NULL)
		fclose(f);
	if (found == 0)
		return 0;
	if (getifaddrs(&ifa) == -1)
		return -1;
	for (struct ifaddrs *i = ifa; i != NULL; i = i->ifa_next) {
		if ((i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0 ||
		    strlen(i->ifa_name) >= IFNAMSIZ)
			continue;
		if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET) {
			snprintf(buf, len, "%s", i->ifa_name);
			*why = "the first interface up with an IPv4 address";
			found = 0;
			break;
		}
		if (fallback[0] == '\0')
			snprintf(fallback, sizeof fallback, "%s", i->ifa_name);
	}
	freeifaddrs(ifa);
	if (found == -1 && fallback[0] != '\0') {
		snprintf(buf, len, "%s", fallback);
		*why = "the first interface up (no IPv4 address: a DHCPDISCOVER)";
		found = 0;
	}
	return found;
}

void dhcp_discover_result_facts(const struct dhcp_discover_result *r, struct txn_result *tr)
{
	const char *keys[] = {"dhcp_server",     "dhcp_message",     "dhcp_local",
	                      "certprov_url",    "registrar",        "dhcp_option_43",
	                      "dhcp_option_120", "dhcp_ntp_servers", "dhcp_vendor_class"};
	const char *vals[] = {r->server,       r->message,     r->local,
	                      r->certprov_url, r->registrar,   r->opt43_hex,
	                      r->opt120_hex,   r->ntp_servers, r->vendor_class};

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (vals[i][0] != '\0')
			txn_result_fact(tr, keys[i], "%s", vals[i]);
	txn_result_fact(tr, "dhcp_attempts", "%u sent, %u answered", r->attempts, r->answers);
}
