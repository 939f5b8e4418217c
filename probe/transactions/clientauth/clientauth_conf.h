/*
 * clientauth_conf: the configuration of a client-auth transaction, the spec of its
 * txn_conf (conf->spec), and the key table the config loader walks for it. The
 * client-auth type's ops (clientauth_txn.c) hand these to the loader.
 */
#ifndef CERTPROBE_CLIENTAUTH_CONF_H
#define CERTPROBE_CLIENTAUTH_CONF_H

#include "config/cfg_walk.h"
#include "config/config.h"

enum sip_method { SIP_METHOD_REGISTER = 0, SIP_METHOD_OPTIONS };

/* How a client-auth transaction finds its registrar. */
enum registrar_discovery {
	REGISTRAR_STATIC = 0, /* {host, port} */
	REGISTRAR_DNS,        /* {discover: dns, domain}: SRV in device order, then A fallbacks */
	REGISTRAR_FROM,       /* {from: NAME}: what the phone-bootstrap NAME recorded */
};

enum addr_family { ADDR_FAMILY_IPV4 = 0, ADDR_FAMILY_IPV6 };

/* How the certificate logs on (auth:). */
enum clientauth_auth {
	CLIENTAUTH_AUTH_MTLS = 0, /* mutual TLS on the connection (generic registrars) */
	CLIENTAUTH_AUTH_TLS_DSK,  /* TLS-DSK inside SIP (Lync/Skype, MS-SIPAE; clientauth_dsk.c) */
};

struct registrar_conf {
	enum registrar_discovery discover;
	char *host;     /* STATIC: name or IP literal */
	unsigned port;  /* STATIC: default 5061 */
	char *domain;   /* DNS: the SIP domain */
	char *resolver; /* DNS server "IP" or "IP:port" for every lookup of this
	                   transaction; NULL = /etc/resolv.conf */
	char *tls_name; /* name the server certificate must carry; NULL = host / SRV target */
	enum addr_family family; /* address family to connect over (default ipv4) */
	unsigned tls_max_minor;  /* tls_max_version: 0 = newest (1.3), 2 = "1.2", 3 = "1.3" */
	char *from;              /* FROM: the phone-bootstrap whose recorded registrar is used */
	char *from_configured;   /* FROM: "host:port" NAME is configured with; NULL when it
	                            discovers it (the endpoint key then names NAME) */
};

/* The client certificate of a client-auth transaction. All NULL: none is sent. */
struct client_cert_conf {
	char *from; /* name of an enrollment transaction: its latest issued certificate */
	char *cert; /* PEM file (leaf, then any intermediates) */
	char *key;  /* PEM file */
};

struct clientauth_conf {
	struct registrar_conf registrar;
	char *sip_uri; /* "sip:user@domain" */
	struct client_cert_conf certificate;
	char *trust_store;          /* the device's roots (PEM); required */
	enum sip_method sip_method; /* method: register (default) or options */
	unsigned expires;           /* Expires of the REGISTER, default 60 s */
	enum clientauth_auth auth;  /* auth: mtls (default) or tls-dsk */
};

/* The keys of a client-auth transaction (txn_type.keys). */
extern const struct cfg_key clientauth_conf_keys[];

/* txn_type.conf_new: REGISTER with Expires 60. */
void *clientauth_conf_new(void);

/* txn_type.conf_free: NULL-safe. */
void clientauth_conf_free(void *spec);

/*
 * txn_type.conf_check: certificate.from must name a transaction whose type issues
 * certificates (an enrollment), registrar.from one that records its registrar (a
 * phone-bootstrap), and both the same one when both are given; auth: tls-dsk needs a
 * certificate and method register.
 */
void clientauth_conf_check(struct cfg_loader *ld, const struct config *cfg, struct txn_conf *conf,
                           const struct cfg_found *found);

#endif
