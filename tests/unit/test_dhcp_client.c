/*
 * test_dhcp_client: the exchange on a real loop against a scripted DHCP server on
 * 127.0.0.1 (an ephemeral port; the client on lo from an ephemeral port, as an
 * unprivileged probe sends): the request it sends, retries per attempt timeout, no
 * answer, answers for another xid and DHCPNAKs ignored, a failing answer then a good
 * one within the grace, a failing one alone, set-up failures reported from the loop
 * (never inside start), and cancel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "transactions/certprov/dhcp_client.h"
#include "transactions/transaction.h"

enum action {
	ACT_DROP,
	ACT_GOOD,
	ACT_NO43,     /* an ACK without option 43 */
	ACT_120_IP,   /* option 120 with encoding 1 */
	ACT_NOISE,    /* a NAK and an ACK for another xid, then a good ACK */
	ACT_BAD_GOOD, /* an ACK without 43 now, a good one from "another server" 50 ms later */
};

struct fake {
	struct event_base *base;
	int fd;
	struct event *ev, *later;
	uint16_t port;
	const enum action *script;
	size_t nscript, requests;
	uint8_t last_req[1500];
	size_t last_len;
	struct sockaddr_in peer;
	uint8_t pending[1500];
	size_t pending_len;

	bool called, in_start;
	bool called_in_start;
	enum txn_status status;
	char detail[512], url[1100], fqdn[300], server[64], message[32], opt120[64];
	unsigned attempts, answers;
	uint64_t elapsed_us;
};

static const uint8_t opt43[] = {
    1,   12,  'M', 'S', '-', 'U', 'C', '-', 'C', 'l', 'i', 'e', 'n', 't', 2,   5,   'h',
    't', 't', 'p', 's', 3,   16,  'p', 'o', 'o', 'l', '.', 'e', 'x', 'a', 'm', 'p', 'l',
    'e', '.', 'c', 'o', 'm', 4,   3,   '4', '4', '3', 5,   37,  '/', 'C', 'e', 'r', 't',
    'P', 'r', 'o', 'v', '/', 'C', 'e', 'r', 't', 'P', 'r', 'o', 'v', 'i', 's', 'i', 'o',
    'n', 'i', 'n', 'g', 'S', 'e', 'r', 'v', 'i', 'c', 'e', '.', 's', 'v', 'c'};
static const uint8_t opt120[] = {0,   3,   's', 'i', 'p', 7,   'e', 'x', 'a',
                                 'm', 'p', 'l', 'e', 3,   'c', 'o', 'm', 0};
static const uint8_t opt120_ip[] = {1, 10, 9, 9, 9};

/* An answer to the last request: type, xid delta, with 43, which 120. */
static size_t make_answer(struct fake *f, uint8_t *out, uint8_t type, uint32_t xid_delta,
                          bool with43, const uint8_t *v120, size_t n120)
{
	uint32_t xid;
	size_t n = 240;

	memset(out, 0, 240);
	out[0] = 2;
	out[1] = 1;
	out[2] = 6;
	memcpy(&xid, f->last_req + 4, 4);
	xid = htonl(ntohl(xid) + xid_delta);
	memcpy(out + 4, &xid, 4);
	memcpy(out + 28, f->last_req + 28, 16);
	memcpy(out + 236, "\x63\x82\x53\x63", 4);
	out[n++] = 53;
	out[n++] = 1;
	out[n++] = type;
	out[n++] = 54;
	out[n++] = 4;
	memcpy(out + n, "\x0a\x09\x09\x09", 4); /* server id 10.9.9.9, not the source */
	n += 4;
	out[n++] = 42; /* NTP servers */
	out[n++] = 8;
	memcpy(out + n, "\x0a\x09\x09\x01\x0a\x09\x09\x02", 8);
	n += 8;
	if (with43) {
		out[n++] = 43;
		out[n++] = sizeof opt43;
		memcpy(out + n, opt43, sizeof opt43);
		n += sizeof opt43;
	}
	if (v120 != NULL) {
		out[n++] = 120;
		out[n++] = (uint8_t)n120;
		memcpy(out + n, v120, n120);
		n += n120;
	}
	out[n++] = 255;
	return n;
}

static void reply(struct fake *f, const uint8_t *p, size_t n)
{
	assert_int_equal(sendto(f->fd, p, n, 0, (struct sockaddr *)&f->peer, sizeof f->peer),
	                 (ssize_t)n);
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;

	(void)fd;
	(void)what;
	reply(f, f->pending, f->pending_len);
}

static void on_request(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	socklen_t sl = sizeof f->peer;
	ssize_t n =
	    recvfrom(fd, f->last_req, sizeof f->last_req, 0, (struct sockaddr *)&f->peer, &sl);
	enum action a;
	uint8_t out[1500];
	size_t k;

	(void)what;
	if (n <= 0)
		return;
	f->last_len = (size_t)n;
	a = f->requests < f->nscript ? f->script[f->requests] : ACT_DROP;
	f->requests++;
	switch (a) {
	case ACT_DROP:
		break;
	case ACT_GOOD:
		reply(f, out, make_answer(f, out, 5, 0, true, opt120, sizeof opt120));
		break;
	case ACT_NO43:
		reply(f, out, make_answer(f, out, 5, 0, false, opt120, sizeof opt120));
		break;
	case ACT_120_IP:
		reply(f, out, make_answer(f, out, 5, 0, true, opt120_ip, sizeof opt120_ip));
		break;
	case ACT_NOISE:
		reply(f, out, make_answer(f, out, 6, 0, false, NULL, 0));
		reply(f, out, make_answer(f, out, 5, 1, true, opt120, sizeof opt120));
		reply(f, (const uint8_t *)"junk", 4);
		reply(f, out, make_answer(f, out, 5, 0, true, opt120, sizeof opt120));
		break;
	case ACT_BAD_GOOD: {
		struct timeval tv = {0, 50000};
		reply(f, out, make_answer(f, out, 5, 0, false, opt120, sizeof opt120));
		k = make_answer(f, f->pending, 5, 0, true, opt120, sizeof opt120);
		f->pending_len = k;
		evtimer_add(f->later, &tv);
		break;
	}
	}
}

static void fake_open(struct fake *f, struct event_base *base, const enum action *script, size_t n)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;

	memset(f, 0, sizeof *f);
	f->base = base;
	f->script = script;
	f->nscript = n;
	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(f->fd != -1);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(f->fd, (struct sockaddr *)&sa, &sl), 0);
	f->port = ntohs(sa.sin_port);
	f->ev = event_new(base, f->fd, EV_READ | EV_PERSIST, on_request, f);
	f->later = evtimer_new(base, on_later, f);
	event_add(f->ev, NULL);
}

static void fake_close(struct fake *f)
{
	event_free(f->ev);
	event_free(f->later);
	close(f->fd);
}

static void on_done(const struct dhcp_discover_result *r, void *arg)
{
	struct fake *f = arg;

	f->called = true;
	f->called_in_start = f->in_start;
	f->status = r->status;
	snprintf(f->detail, sizeof f->detail, "%s", r->detail);
	snprintf(f->url, sizeof f->url, "%s", r->certprov_url);
	snprintf(f->fqdn, sizeof f->fqdn, "%s", r->registrar);
	snprintf(f->server, sizeof f->server, "%s", r->server);
	snprintf(f->message, sizeof f->message, "%s", r->message);
	snprintf(f->opt120, sizeof f->opt120, "%s", r->opt120_hex);
	f->attempts = r->attempts;
	f->answers = r->answers;
	f->elapsed_us = r->elapsed_us;
	event_base_loopbreak(f->base);
}

/* One discovery against script; the result is in *f. */
static void run(struct fake *f, const enum action *script, size_t n, unsigned retries,
                const char *iface)
{
	struct event_base *base = event_base_new();
	struct dhcp_discover_opts o = {.interface = iface,
	                               .server = "127.0.0.1",
	                               .timeout_ms = 100,
	                               .retries = retries,
	                               /* long enough that a loaded machine still sees the
	                                * better answer 50 ms after the bad one */
	                               .grace_ms = 1000,
	                               .port = DHCP_PORT_EPHEMERAL};
	struct timeval guard = {5, 0};

	fake_open(f, base, script, n);
	o.server_port = f->port;
	f->in_start = true;
	dhcp_discover_start(base, &o, on_done, f);
	f->in_start = false;
	event_base_loopexit(base, &guard);
	event_base_dispatch(base);
	assert_true(f->called);
	assert_false(f->called_in_start);
	fake_close(f);
	event_base_free(base);
}

static void test_good_answer(void **state)
{
	static const enum action s[] = {ACT_GOOD};
	struct fake f;
	const uint8_t *p;
	bool vc = false, prl43 = false, prl120 = false;

	(void)state;
	run(&f, s, 1, 2, "lo");
	assert_int_equal(f.status, TXN_OK);
	assert_string_equal(f.url,
	                    "https://pool.example.com:443/CertProv/CertProvisioningService.svc");
	assert_string_equal(f.fqdn, "sip.example.com");
	assert_string_equal(f.server, "10.9.9.9"); /* option 54 over the source address */
	assert_string_equal(f.message, "DHCPINFORM");
	assert_string_equal(f.opt120, "0003736970076578616d706c6503636f6d00");
	assert_int_equal(f.attempts, 1);
	assert_int_equal(f.answers, 1);
	/* what the server got: an INFORM from 127.0.0.1 with MS-UC-Client, asking 43 and 120 */
	assert_int_equal(f.last_req[0], 1);
	assert_memory_equal(f.last_req + 12, "\x7f\x00\x00\x01", 4);
	for (p = f.last_req + 240; p < f.last_req + f.last_len && *p != 255; p += 2 + p[1]) {
		if (p[0] == 53)
			assert_int_equal(p[2], 8);
		if (p[0] == 60)
			vc = p[1] == 12 && memcmp(p + 2, "MS-UC-Client", 12) == 0;
		if (p[0] == 55)
			for (unsigned i = 0; i < p[1]; i++) {
				prl43 |= p[2 + i] == 43;
				prl120 |= p[2 + i] == 120;
			}
	}
	assert_true(vc && prl43 && prl120);
}

static void test_retries(void **state)
{
	static const enum action s[] = {ACT_DROP, ACT_DROP, ACT_GOOD};
	struct fake f;

	(void)state;
	run(&f, s, 3, 2, "lo");
	assert_int_equal(f.status, TXN_OK);
	assert_int_equal(f.attempts, 3);
	assert_int_equal(f.requests, 3);
	assert_true(f.elapsed_us >= 190000); /* libevent timers may fire up to a few ms early */
}

static void test_no_answer(void **state)
{
	static const enum action s[] = {ACT_DROP};
	struct fake f;

	(void)state;
	run(&f, s, 1, 1, "lo");
	assert_int_equal(f.status, TXN_DHCP_NO_RESPONSE);
	assert_int_equal(f.attempts, 2);
	assert_int_equal(f.requests, 2);
	assert_int_equal(f.answers, 0);
	assert_true(f.elapsed_us >= 190000); /* libevent timers may fire up to a few ms early */
	assert_non_null(strstr(f.detail, "no answer to 2 DHCPINFORMs"));
	assert_string_equal(f.server, "");
}

static void test_budget(void **state)
{
	static const enum action s[] = {ACT_DROP};
	struct event_base *base = event_base_new();
	struct dhcp_discover_opts o = {.interface = "lo",
	                               .server = "127.0.0.1",
	                               .timeout_ms = 100,
	                               .retries = 10,
	                               .budget_ms = 250,
	                               .port = DHCP_PORT_EPHEMERAL};
	struct fake f;

	(void)state;
	fake_open(&f, base, s, 1);
	o.server_port = f.port;
	dhcp_discover_start(base, &o, on_done, &f);
	event_base_dispatch(base);
	assert_int_equal(f.status, TXN_DHCP_NO_RESPONSE);
	/* 0, 100, 200 ms, the third waiting 50 ms (2 when the loop is late), never 11 */
	assert_true(f.attempts >= 2 && f.attempts <= 3);
	assert_true(f.elapsed_us >= 240000 && f.elapsed_us < 1000000);
	assert_non_null(strstr(f.detail, "deadline"));
	fake_close(&f);
	event_base_free(base);
}

static struct event_base *facts_base;

static void capture_facts(const struct dhcp_discover_result *r, void *arg)
{
	struct txn_result *tr = arg;

	dhcp_discover_result_facts(r, tr);
	event_base_loopbreak(facts_base);
}

static void test_facts(void **state)
{
	static const enum action s[] = {ACT_GOOD};
	struct event_base *base = event_base_new();
	struct dhcp_discover_opts o = {
	    .interface = "lo", .server = "127.0.0.1", .port = DHCP_PORT_EPHEMERAL};
	struct txn_result *tr = test_calloc(1, sizeof *tr);
	struct fake f;

	(void)state;
	txn_result_init(tr, "t", "dhcp", "phone-bootstrap", "dhcp");
	fake_open(&f, base, s, 1);
	o.server_port = f.port;
	facts_base = base;
	dhcp_discover_start(base, &o, capture_facts, tr);
	event_base_dispatch(base);
	assert_string_equal(txn_result_get_fact(tr, "dhcp_server"), "10.9.9.9");
	assert_string_equal(txn_result_get_fact(tr, "registrar"), "sip.example.com");
	assert_string_equal(txn_result_get_fact(tr, "certprov_url"),
	                    "https://pool.example.com:443/CertProv/CertProvisioningService.svc");
	assert_string_equal(txn_result_get_fact(tr, "dhcp_option_120"),
	                    "0003736970076578616d706c6503636f6d00");
	assert_string_equal(txn_result_get_fact(tr, "dhcp_attempts"), "1 sent, 1 answered");
	assert_string_equal(txn_result_get_fact(tr, "dhcp_ntp_servers"), "10.9.9.1,10.9.9.2");
	assert_null(txn_result_get_fact(tr, "dhcp_vendor_class"));
	assert_non_null(txn_result_get_fact(tr, "dhcp_option_43"));
	fake_close(&f);
	event_base_free(base);
	test_free(tr);
}

static void test_noise_ignored(void **state)
{
	static const enum action s[] = {ACT_NOISE};
	struct fake f;

	(void)state;
	run(&f, s, 1, 0, "lo");
	assert_int_equal(f.status, TXN_OK);
	assert_int_equal(f.answers, 1); /* the NAK, the other xid and the junk did not count */
}

static void test_better_answer_in_grace(void **state)
{
	static const enum action s[] = {ACT_BAD_GOOD};
	struct fake f;

	(void)state;
	run(&f, s, 1, 0, "lo");
	assert_int_equal(f.status, TXN_OK);
	assert_int_equal(f.answers, 2);
	assert_string_equal(f.url,
	                    "https://pool.example.com:443/CertProv/CertProvisioningService.svc");
}

static void test_bad_answer(void **state)
{
	static const enum action no43[] = {ACT_NO43}, ip[] = {ACT_120_IP};
	struct fake f;

	(void)state;
	run(&f, no43, 1, 2, "lo");
	assert_int_equal(f.status, TXN_DHCP_OPT43_MISSING);
	assert_int_equal(f.attempts, 1); /* a server answered: no retry */
	assert_non_null(strstr(f.detail, "answer from 10.9.9.9"));
	assert_string_equal(f.fqdn, "sip.example.com");
	run(&f, ip, 1, 2, "lo");
	assert_int_equal(f.status, TXN_DHCP_OPT120_ADDRESSES);
	assert_string_equal(f.opt120, "010a090909");
	assert_non_null(strstr(f.detail, "10.9.9.9"));
}

static void test_setup_failure_async(void **state)
{
	static const enum action s[] = {ACT_GOOD};
	struct fake f;

	(void)state;
	run(&f, s, 1, 0, "nosuchif0");
	assert_int_equal(f.status, TXN_PROBE_DHCP_SOCKET);
	assert_non_null(strstr(f.detail, "nosuchif0"));
	assert_int_equal(f.requests, 0);
	run(&f, s, 1, 0, "");
	assert_int_equal(f.status, TXN_PROBE_DHCP_SOCKET);
}

static void test_cancel(void **state)
{
	static const enum action s[] = {ACT_GOOD};
	struct event_base *base = event_base_new();
	struct dhcp_discover_opts o = {.interface = "lo",
	                               .server = "127.0.0.1",
	                               .timeout_ms = 50,
	                               .port = DHCP_PORT_EPHEMERAL};
	struct dhcp_discover *d;
	struct timeval t = {0, 200000};
	struct fake f;

	(void)state;
	fake_open(&f, base, s, 1);
	o.server_port = f.port;
	d = dhcp_discover_start(base, &o, on_done, &f);
	dhcp_discover_cancel(d);
	dhcp_discover_cancel(NULL);
	event_base_loopexit(base, &t);
	event_base_dispatch(base);
	assert_false(f.called);
	/* a set-up failure cancelled before its deferred callback */
	o.interface = "nosuchif0";
	d = dhcp_discover_start(base, &o, on_done, &f);
	dhcp_discover_cancel(d);
	event_base_loopexit(base, &t);
	event_base_dispatch(base);
	assert_false(f.called);
	fake_close(&f);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_answer),
	    cmocka_unit_test(test_retries),
	    cmocka_unit_test(test_no_answer),
	    cmocka_unit_test(test_budget),
	    cmocka_unit_test(test_facts),
	    cmocka_unit_test(test_noise_ignored),
	    cmocka_unit_test(test_better_answer_in_grace),
	    cmocka_unit_test(test_bad_answer),
	    cmocka_unit_test(test_setup_failure_async),
	    cmocka_unit_test(test_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
