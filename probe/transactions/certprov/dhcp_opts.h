/*
 * dhcp_opts: the DHCP messages of a Lync Phone Edition's discovery, with no I/O
 * (lync-certprov.md §1). Builds the DHCPINFORM (or DHCPDISCOVER) carrying vendor class
 * MS-UC-Client and a parameter request list with 43 and 120; parses an answer (RFC
 * 3396 long options concatenated, option overload honoured) and decodes option 43
 * sub-options 1-5 into the CertProv URL and option 120 (RFC 3361) into the registrar
 * FQDN, classifying every malformation of §1.6 as a status of the one table.
 * dhcp_client.c puts these bytes on the wire.
 */
#ifndef CERTPROBE_DHCP_OPTS_H
#define CERTPROBE_DHCP_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transactions/transaction_status.h"

#define DHCP_VENDOR_CLASS_UC "MS-UC-Client"
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
/* The largest message we send or accept (we announce it in option 57). */
#define DHCP_PACKET_MAX 1500
/* BOOTP's minimum message (RFC 1542): shorter requests are padded to it. */
#define DHCP_PACKET_MIN 300
/* scheme + "://" + fqdn + ":" + port + path, each at most 255 bytes */
#define DHCP_URL_MAX 1040
#define DHCP_FQDN_MAX 256
#define DHCP_DETAIL_MAX 320

enum dhcp_message_type {
	DHCP_MSG_DISCOVER = 1,
	DHCP_MSG_OFFER = 2,
	DHCP_MSG_ACK = 5,
	DHCP_MSG_NAK = 6,
	DHCP_MSG_INFORM = 8,
};

/* What a request says about us. Addresses are in network byte order. */
struct dhcp_request {
	enum dhcp_message_type type; /* DHCP_MSG_INFORM or DHCP_MSG_DISCOVER */
	uint32_t xid;
	uint16_t secs;   /* seconds since the first attempt */
	uint32_t ciaddr; /* our address (INFORM); 0 for DISCOVER */
	uint8_t chaddr[6];
	bool broadcast; /* ask for a broadcast answer (we have no address yet) */
	/* option 60; NULL sends MS-UC-Client (a test may send another class) */
	const char *vendor_class;
};

/*
 * Write q's message into buf (len bytes): BOOTP header, magic cookie, options 53, 61,
 * 60, 55 (1, 2, 3, 4, 6, 15, 42, 43, 120), 57, end, padded to DHCP_PACKET_MIN. Returns
 * the length written, or 0 when len is too small (DHCP_PACKET_MIN is always enough).
 */
size_t dhcp_opts_build_request(const struct dhcp_request *q, uint8_t *buf, size_t len);

/* One option of a parsed answer: all its instances concatenated (RFC 3396). */
struct dhcp_option_span {
	uint16_t off; /* into dhcp_reply.store */
	uint16_t len;
	uint8_t instances; /* how many times the code appeared (0: absent) */
};

/* A parsed BOOTREPLY. Addresses in network byte order. Self-contained (no pointers). */
struct dhcp_reply {
	uint32_t xid;
	uint8_t chaddr[16];
	uint32_t ciaddr, yiaddr, siaddr;
	int message_type;   /* option 53; -1 when absent */
	uint32_t server_id; /* option 54 */
	bool has_server_id;
	size_t options_off; /* where the options field starts in the packet (after the cookie) */
	size_t options_len; /* its length up to and including the end option */
	struct dhcp_option_span opt[256];
	uint8_t store[DHCP_PACKET_MAX];
	size_t store_len;
};

/*
 * Parse pkt (len bytes) as a DHCP reply into r. Returns 0, or -1 when it is no BOOTREPLY
 * with the DHCP cookie or an option runs past the packet, with why (whylen bytes, may be
 * 0) saying which; such a packet is not an answer and the caller ignores it.
 */
int dhcp_opts_parse_reply(const uint8_t *pkt, size_t len, struct dhcp_reply *r, char *why,
                          size_t whylen);

/* Option code's concatenated value and its length in *len; NULL when absent. */
const uint8_t *dhcp_reply_option(const struct dhcp_reply *r, unsigned code, size_t *len);

/*
 * Option 43 of vendor class MS-UC-Client (v, n bytes): sub-options 1-5 into url
 * ("https://pool.example.com:443/CertProv/CertProvisioningService.svc", urllen bytes).
 * Returns TXN_OK, TXN_DHCP_OPT43_TRUNCATED (a sub-option overruns the option, or the
 * option was cut at 90 bytes) or TXN_DHCP_OPT43_MALFORMED (sub-option 1 is not
 * MS-UC-Client, one of 1-5 is missing or repeated, not ASCII, scheme not http(s), port
 * not decimal text, path not .../CertProvisioningService.svc), with detail saying which.
 */
enum txn_status dhcp_opts_decode_certprov(const uint8_t *v, size_t n, char *url, size_t urllen,
                                          char *detail, size_t dlen);

/*
 * Option 120 (v, n bytes): encoding 0 is a list of DNS names (RFC 1035 labels, with
 * compression pointers counted from the first byte after the encoding byte); the first
 * name goes to fqdn (fqdnlen bytes, no trailing dot). Returns TXN_OK,
 * TXN_DHCP_OPT120_ADDRESSES (encoding 1, IPv4 addresses: useless for a TLS registrar
 * that is name-checked) or TXN_DHCP_OPT120_MALFORMED (another encoding, a label running
 * past the option, a missing terminating 0x00, a bad pointer, a single-label name).
 */
enum txn_status dhcp_opts_decode_registrar(const uint8_t *v, size_t n, char *fqdn, size_t fqdnlen,
                                           char *detail, size_t dlen);

/* What a reply tells a phone. */
struct dhcp_found {
	enum txn_status status; /* TXN_OK, or the first failure (option 43 before 120) */
	char detail[DHCP_DETAIL_MAX];
	char certprov_url[DHCP_URL_MAX]; /* "" unless option 43 decoded */
	char registrar[DHCP_FQDN_MAX];   /* "" unless option 120 decoded */
};

/*
 * Decode r's options 43 and 120 into f. A missing option is TXN_DHCP_OPT43_MISSING
 * (the server did not match vendor class MS-UC-Client) or TXN_DHCP_OPT120_MISSING.
 * Both options are decoded whatever the first one gave, so the report shows both.
 */
enum txn_status dhcp_opts_decode(const struct dhcp_reply *r, struct dhcp_found *f);

/* p (n bytes) as lower-case hex into out (outlen bytes, NUL-terminated, cut to fit). */
void dhcp_opts_hex(const uint8_t *p, size_t n, char *out, size_t outlen);

#endif
