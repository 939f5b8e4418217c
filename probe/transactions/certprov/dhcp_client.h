/*
 * dhcp_client: the DHCP exchange of a Lync phone's discovery on the event loop
 * (lync-certprov.md §1.1): a DHCPINFORM with vendor class MS-UC-Client (a DHCPDISCOVER
 * when the interface has no IPv4 address) from a UDP socket bound to the interface,
 * unicast to a configured server or broadcast, retried per attempt timeout, the answer
 * matched by xid and decoded by dhcp_opts. Independent of any transaction's
 * configuration: a caller fills dhcp_discover_opts and gets one callback.
 *
 * Ports: the client port 68 needs root or CAP_NET_BIND_SERVICE. Without it (auto mode,
 * INFORM only) the socket takes an ephemeral port: RFC 2131 servers answer an INFORM
 * to ciaddr port 68 and the answer is then lost, but dnsmasq (and servers that answer
 * to the source port) reach us; a DISCOVER's broadcast OFFER goes to port 68 only.
 * SO_BINDTODEVICE needs CAP_NET_RAW before Linux 5.7 and nothing since.
 */
#ifndef CERTPROBE_DHCP_CLIENT_H
#define CERTPROBE_DHCP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transactions/transaction_status.h"

struct event_base;
struct dhcp_discover;

enum dhcp_client_port {
	DHCP_PORT_AUTO = 0,  /* 68, else (INFORM) an ephemeral port */
	DHCP_PORT_68,        /* 68 or fail */
	DHCP_PORT_EPHEMERAL, /* always an ephemeral port (INFORM only) */
};

enum dhcp_discover_mode {
	DHCP_MODE_AUTO = 0, /* INFORM when the interface has an IPv4 address, else DISCOVER */
	DHCP_MODE_INFORM,
	DHCP_MODE_DISCOVER, /* never followed by a REQUEST: the probe takes no lease */
};

struct dhcp_discover_opts {
	const char *interface; /* required: the interface to send on (SO_BINDTODEVICE) */
	const char *server;    /* an IPv4 address to unicast to; NULL broadcasts */
	uint16_t server_port;  /* 0: 67 */
	uint64_t timeout_ms;   /* per attempt; 0: 4000 */
	unsigned retries;      /* attempts after the first */
	/*
	 * After an answer that does not decode, how long to wait for a better one from
	 * another server (a phone takes the first answer that carries the FQDNs); 0: 300.
	 */
	uint64_t grace_ms;
	/*
	 * The whole discovery's budget (what is left of the transaction's deadline); 0: none.
	 * Each wait is cut to what is left of it, and no attempt starts after it.
	 */
	uint64_t budget_ms;
	enum dhcp_client_port port;
	enum dhcp_discover_mode mode;
	const char *vendor_class; /* option 60; NULL: MS-UC-Client */
};

/* The outcome; every string is valid during the callback only and never NULL. */
struct dhcp_discover_result {
	/*
	 * TXN_OK, TXN_DHCP_NO_RESPONSE, TXN_DHCP_OPT43_* / TXN_DHCP_OPT120_* (the answer
	 * used), or TXN_PROBE_DHCP_SOCKET (the probe could not send).
	 */
	enum txn_status status;
	const char *detail;       /* what failed; "" on success */
	const char *certprov_url; /* "https://pool:443/CertProv/CertProvisioningService.svc" */
	const char *registrar;    /* option 120's first FQDN */
	const char *server;       /* the answering server: option 54, else the source address */
	const char *message;      /* "DHCPINFORM" or "DHCPDISCOVER" */
	const char *local;        /* "10.200.0.2:68 on vB" (where we sent from) */
	const char *options_hex;  /* the answer's options field, hex ("" without an answer) */
	const char *opt43_hex;    /* option 43 (concatenated), hex; "" when absent */
	const char *opt120_hex;   /* option 120, hex; "" when absent */
	/*
	 * Option 42 (NTP servers, "10.0.0.1,10.0.0.2"): a phone needs a right clock to check
	 * certificates (§1.4); "" when absent.
	 */
	const char *ntp_servers;
	const char *vendor_class; /* option 60 echoed by the server, printable; "" when absent */
	unsigned attempts;        /* messages sent */
	unsigned answers;         /* answers to our xid received */
	uint64_t elapsed_us;      /* start to the answer used (or to giving up) */
	uint64_t answer_us;       /* the last send to the answer used; 0 without one */
};

typedef void dhcp_discover_cb(const struct dhcp_discover_result *result, void *arg);

/*
 * Start a discovery on base now. opts is copied (its strings too). cb is called exactly
 * once from the loop, never from inside this call, unless dhcp_discover_cancel() comes
 * first; the handle is freed when cb returns (do not cancel it after). A failure to set
 * up the socket is reported through cb as TXN_PROBE_DHCP_SOCKET. Never NULL.
 */
struct dhcp_discover *dhcp_discover_start(struct event_base *base,
                                          const struct dhcp_discover_opts *opts,
                                          dhcp_discover_cb *cb, void *arg);

/* Stop d without calling back, and free it. NULL-safe; not after its callback. */
void dhcp_discover_cancel(struct dhcp_discover *d);

/*
 * The interface a phone on this host would send from when none is configured: the one
 * of the IPv4 default route (/proc/net/route), else the first interface that is up, not
 * loopback and has an IPv4 address, else the first that is up and not loopback (a
 * DHCPDISCOVER then). Writes its name to buf (IFNAMSIZ holds any) and how it was chosen
 * to *why (a static string). 0, or -1 when there is none.
 */
int dhcp_default_interface(char *buf, size_t len, const char **why);

struct txn_result;

/*
 * Put r into a transaction's report as facts: dhcp_server, dhcp_message, dhcp_local,
 * dhcp_attempts, dhcp_ntp_servers, certprov_url, registrar, dhcp_option_43, dhcp_option_120 (hex,
 * cut to a fact's length), each only when it has a value.
 */
void dhcp_discover_result_facts(const struct dhcp_discover_result *r, struct txn_result *tr);

#endif
