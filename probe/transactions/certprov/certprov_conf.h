/*
 * certprov_conf: the configuration of a phone-bootstrap transaction (Lync/Skype
 * Test-CsPhoneBootstrap), the spec of its txn_conf (conf->spec), and the key table the
 * config loader walks for it. The web ticket's request shape is data here (web_ticket:),
 * because the PIN wire form is not published (lync-certprov.md §12).
 */
#ifndef CERTPROBE_CERTPROV_CONF_H
#define CERTPROBE_CERTPROV_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "config/cfg_walk.h"
#include "config/config.h"
#include "config/secret.h"
#include "transactions/certprov/certprov_soap.h"
#include "transactions/scep/scep_conf.h"
#include "transactions/txn_type.h"

enum certprov_discover {
	CERTPROV_DISCOVER_STATIC = 0, /* discover: {certprov_url, registrar} */
	CERTPROV_DISCOVER_DHCP,       /* discover: dhcp (dhcp_discover_start, dhcp: below) */
};

/* dhcp: {interface, server, timeout, retries}, for discover: dhcp. */
struct certprov_dhcp_conf {
	char *interface;     /* NULL: the default route's interface, else the first one up */
	char *server;        /* an IPv4 address to unicast the INFORM to; NULL: broadcast */
	uint64_t timeout_ms; /* per attempt; 4 s */
	unsigned retries;    /* attempts after the first; 2 */
};

enum certprov_root_chain {
	CERTPROV_ROOT_CHAIN_AUTO = 0, /* GET the http:// form of certprov_url (the anonymous URL) */
	CERTPROV_ROOT_CHAIN_URL,      /* GET root_chain_url */
	CERTPROV_ROOT_CHAIN_OFF,      /* the device already holds it: trust_store alone */
};

struct certprov_web_ticket_conf {
	char *url_suffix; /* NULL: certprov_shape_default's */
	char *token_element;
	char *username_element;
	char *password_element;
	char *token_type;
	bool base64;
	bool entropy;
	bool windows; /* auth: windows: NTLM/Negotiate in HTTP (username + password) */
};

struct certprov_conf {
	enum certprov_discover discover;
	char *certprov_url; /* https://pool/CertProv/CertProvisioningService.svc */
	char *registrar;    /* the Registrar FQDN (TargetFqdn) */
	char *phone;        /* phone number or extension (PIN credential) */
	struct secret_ref pin;
	char *username; /* or a UsernameToken user (with password) */
	struct secret_ref password;
	char *sip_uri;       /* sip:alice@example.com */
	char *trust_store;   /* the roots the phone ships with (PEM) */
	char *issuer_ca;     /* optional: the OCS signing CA the issued certificate must chain to */
	struct key_conf key; /* RSA 2048 default (the enrollment's key: table) */
	enum certprov_root_chain root_chain;
	char *root_chain_url;
	char *connect_to; /* every host of the run is reached at this address (tests, labs) */
	struct certprov_web_ticket_conf web_ticket;
	struct certprov_dhcp_conf dhcp;
};

/* The keys of a phone-bootstrap transaction (txn_type.keys). */
extern const struct cfg_key certprov_conf_keys[];

void *certprov_conf_new(void);
void certprov_conf_free(void *spec);
void certprov_conf_check(struct cfg_loader *ld, const struct config *cfg, struct txn_conf *conf,
                         const struct cfg_found *found);

/* The request shape conf asks for (defaults filled in). */
void certprov_conf_shape(const struct certprov_conf *cc, struct certprov_shape *out);
/* "alice@example.com": sip_uri without "sip:" into buf. */
void certprov_conf_entity(const struct certprov_conf *cc, char *buf, size_t len);

/*
 * txn_type ops: protocol "certprov"; the endpoint is the CertProv URL's authority (a web
 * service), "dhcp:IF" under discover: dhcp (the URL is known only once a run has
 * discovered it); the description is the CertProv URL, or "DHCP discovery on IF".
 */
const char *certprov_conf_protocol(const struct txn_conf *conf);
void certprov_conf_endpoint(const struct txn_conf *conf, char *key, size_t len,
                            enum endpoint_kind *kind);
void certprov_conf_describe(const struct txn_conf *conf, char *buf, size_t len);

#endif
