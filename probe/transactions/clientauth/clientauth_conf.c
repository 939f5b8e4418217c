/*
 * clientauth_conf: the client-auth keys (contract in clientauth_conf.h), walked by the
 * config loader through cfg_walk.h: the registrar (static or discovered in DNS), the SIP
 * identity, the client certificate and the device's trust store.
 */
#include "transactions/clientauth/clientauth_conf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_walk.h"
#include "core/host.h"
#include "core/xalloc.h"
#include "transactions/txn_type.h"

/* ---- registrar ---- */

static void handle_host(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                        const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node), *why;
	char buf[80];

	why = host_problem(s, strlen(s), HOST_BARE);
	if (why != NULL) {
		cfg_walk_error(ld, node, "a DNS name, an IPv4 address or an IPv6 address",
		               "bad host name '%s' for '%s': the host %s",
		               cfg_walk_clip(s, buf, sizeof buf), key->key, why);
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

/* "IP" or "IP:port" or "[IPv6]:port" */
static bool valid_resolver(const char *s)
{
	char host[64];
	const char *port = NULL;
	unsigned char addr[16];
	uint64_t v;
	size_t n;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || (size_t)(end - s - 1) >= sizeof host)
			return false;
		n = (size_t)(end - s - 1);
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (end[1] != '\0' && end[1] != ':')
			return false;
		port = end[1] == ':' ? end + 2 : NULL;
		if (inet_pton(AF_INET6, host, addr) != 1)
			return false;
	} else if (strchr(s, ':') != NULL && strchr(s, ':') != strrchr(s, ':')) {
		return inet_pton(AF_INET6, s, addr) == 1;
	} else {
		n = strcspn(s, ":");
		if (n >= sizeof host)
			return false;
		memcpy(host, s, n);
		host[n] = '\0';
		port = s[n] == ':' ? s + n + 1 : NULL;
		if (inet_pton(AF_INET, host, addr) != 1)
			return false;
	}
	if (port != NULL && (cfg_walk_parse_uint(port, 65535, &v) == -1 || v == 0))
		return false;
	return true;
}

static void handle_resolver(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                            const struct cfg_key *key)
{
	char buf[80];

	if (!valid_resolver(cfg_walk_scalar(node))) {
		cfg_walk_error(ld, node, "e.g. 127.0.0.1, 10.0.0.53:5353 or [::1]:53",
		               "bad resolver '%s' (an IP address with an optional port)",
		               cfg_walk_clip(cfg_walk_scalar(node), buf, sizeof buf));
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

static void handle_discover(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                            const struct cfg_key *key)
{
	static const enum registrar_discovery v[] = {REGISTRAR_STATIC, REGISTRAR_DNS};
	int i = cfg_walk_choice2(ld, node, "bad discover", "static", "dns");

	if (i >= 0)
		*(enum registrar_discovery *)cfg_walk_field(obj, key) = v[i];
}

static void handle_family(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                          const struct cfg_key *key)
{
	static const enum addr_family v[] = {ADDR_FAMILY_IPV4, ADDR_FAMILY_IPV6};
	int i = cfg_walk_choice2(ld, node, "bad family", "ipv4", "ipv6");

	if (i >= 0)
		*(enum addr_family *)cfg_walk_field(obj, key) = v[i];
}

static void handle_tls_max(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                           const struct cfg_key *key)
{
	int i = cfg_walk_choice2(ld, node, "bad tls_max_version", "1.2", "1.3");

	if (i >= 0)
		*(unsigned *)cfg_walk_field(obj, key) = (unsigned)i + 2;
}

enum registrar_key {
	REG_K_DISCOVER,
	REG_K_HOST,
	REG_K_PORT,
	REG_K_DOMAIN,
	REG_K_RESOLVER,
	REG_K_TLS_NAME,
	REG_K_FAMILY,
	REG_K_TLS_MAX,
	REG_K_FROM,
};

static const struct cfg_key registrar_keys[] = {
    [REG_K_DISCOVER] = {.key = "discover",
                        .kind = CFG_SCALAR,
                        .handler = handle_discover,
                        .offset = offsetof(struct registrar_conf, discover)},
    [REG_K_HOST] = {.key = "host",
                    .kind = CFG_SCALAR,
                    .handler = handle_host,
                    .offset = offsetof(struct registrar_conf, host)},
    [REG_K_PORT] = {.key = "port",
                    .kind = CFG_SCALAR,
                    .handler = cfg_walk_uint,
                    .offset = offsetof(struct registrar_conf, port),
                    .min = 1,
                    .max = 65535},
    [REG_K_DOMAIN] = {.key = "domain",
                      .kind = CFG_SCALAR,
                      .handler = handle_host,
                      .offset = offsetof(struct registrar_conf, domain)},
    [REG_K_RESOLVER] = {.key = "resolver",
                        .kind = CFG_SCALAR,
                        .handler = handle_resolver,
                        .offset = offsetof(struct registrar_conf, resolver)},
    [REG_K_TLS_NAME] = {.key = "tls_name",
                        .kind = CFG_SCALAR,
                        .handler = handle_host,
                        .offset = offsetof(struct registrar_conf, tls_name)},
    [REG_K_FAMILY] = {.key = "family",
                      .kind = CFG_SCALAR,
                      .handler = handle_family,
                      .offset = offsetof(struct registrar_conf, family)},
    [REG_K_TLS_MAX] = {.key = "tls_max_version",
                       .kind = CFG_SCALAR,
                       .handler = handle_tls_max,
                       .offset = offsetof(struct registrar_conf, tls_max_minor)},
    [REG_K_FROM] = {.key = "from",
                    .kind = CFG_SCALAR,
                    .handler = cfg_walk_string,
                    .offset = offsetof(struct registrar_conf, from),
                    .hint = "a phone-bootstrap transaction: the registrar it was given or "
                            "discovered"},
    {.key = NULL},
};

static void handle_registrar(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                             const struct cfg_key *key)
{
	struct registrar_conf *reg = cfg_walk_field(obj, key);
	struct cfg_found found;

	cfg_walk_mapping(ld, node, registrar_keys, reg, "in registrar", &found);
	if (found.key[REG_K_FROM] != NULL) {
		static const int excl[] = {REG_K_DISCOVER, REG_K_HOST, REG_K_PORT, REG_K_DOMAIN};
		for (size_t k = 0; k < sizeof excl / sizeof excl[0]; k++)
			if (found.key[excl[k]] != NULL)
				cfg_walk_error(ld, found.key[excl[k]], NULL,
				               "registrar: '%s' does not go with 'from' (the "
				               "phone-bootstrap's registrar is used)",
				               registrar_keys[excl[k]].key);
		reg->discover = REGISTRAR_FROM;
		reg->port = 5061;
		return;
	}
	free(reg->from);
	reg->from = NULL;
	if (reg->discover == REGISTRAR_DNS) {
		if (found.key[REG_K_DOMAIN] == NULL)
			cfg_walk_error(
			    ld, node, NULL,
			    "registrar: 'discover: dns' needs 'domain' (the SIP domain)");
		for (int i = REG_K_HOST; i <= REG_K_PORT; i++)
			if (found.key[i] != NULL)
				cfg_walk_error(ld, found.key[i], NULL,
				               "registrar: '%s' applies to a static registrar; "
				               "'discover: dns' finds host and port in DNS",
				               registrar_keys[i].key);
	} else {
		if (found.key[REG_K_HOST] == NULL)
			cfg_walk_error(ld, node,
			               "e.g. registrar: {host: pool1.example.com, port: 5061}, "
			               "{discover: dns, domain: example.com} or {from: lpe-alice}",
			               "registrar: missing required key 'host'");
		if (found.key[REG_K_DOMAIN] != NULL)
			cfg_walk_error(ld, found.key[REG_K_DOMAIN], NULL,
			               "registrar: 'domain' applies to 'discover: dns'");
		if (found.key[REG_K_PORT] == NULL)
			reg->port = 5061;
	}
}

/* ---- identity and certificate ---- */

/* sip:user@host[:port][;params] or sips:; no spaces, angle brackets or quotes */
static const char *sip_uri_problem(const char *s)
{
	const char *rest, *at;

	if (strncmp(s, "sip:", 4) == 0)
		rest = s + 4;
	else if (strncmp(s, "sips:", 5) == 0)
		rest = s + 5;
	else
		return "must start with sip: or sips:";
	if (strpbrk(s, " \t<>\"\\") != NULL)
		return "must not contain spaces, quotes or angle brackets";
	at = strchr(rest, '@');
	if (at == NULL || at == rest)
		return "needs a user part (sip:user@domain)";
	if (at[1] == '\0' || at[1] == ';' || at[1] == ':')
		return "needs a domain after '@'";
	return NULL;
}

static void handle_sip_uri(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                           const struct cfg_key *key)
{
	const char *why = sip_uri_problem(cfg_walk_scalar(node));
	char buf[80];

	if (why != NULL) {
		cfg_walk_error(ld, node, "e.g. sip:alice@example.com", "bad sip_uri '%s': %s",
		               cfg_walk_clip(cfg_walk_scalar(node), buf, sizeof buf), why);
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

enum cert_key { CERT_K_FROM, CERT_K_CERT, CERT_K_KEY };

static const struct cfg_key cert_keys[] = {
    [CERT_K_FROM] = {.key = "from",
                     .kind = CFG_SCALAR,
                     .handler = cfg_walk_string,
                     .offset = offsetof(struct client_cert_conf, from)},
    [CERT_K_CERT] = {.key = "cert",
                     .kind = CFG_SCALAR,
                     .handler = cfg_walk_path,
                     .offset = offsetof(struct client_cert_conf, cert)},
    [CERT_K_KEY] = {.key = "key",
                    .kind = CFG_SCALAR,
                    .handler = cfg_walk_secret_path,
                    .offset = offsetof(struct client_cert_conf, key)},
    {.key = NULL},
};

static void handle_certificate(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                               const struct cfg_key *key)
{
	static const int idx[] = {CERT_K_FROM, CERT_K_CERT};
	struct client_cert_conf *cc = cfg_walk_field(obj, key);
	struct cfg_found found;
	int first;

	cfg_walk_mapping(ld, node, cert_keys, cc, "in certificate", &found);
	first = cfg_walk_exactly_one(ld, node, cert_keys, &found, idx, 2, "certificate",
	                             "from (an enrollment transaction) or cert + key (files)");
	if (first == CERT_K_FROM) {
		if (found.key[CERT_K_KEY] != NULL)
			cfg_walk_error(ld, found.key[CERT_K_KEY], NULL,
			               "certificate: 'key' goes with 'cert'; 'from' uses the "
			               "enrollment's own key");
		return;
	}
	/* 'from' is what conf_check follows: only when it is the choice */
	free(cc->from);
	cc->from = NULL;
	if (first == CERT_K_CERT && found.key[CERT_K_KEY] == NULL)
		cfg_walk_error(ld, node, NULL, "certificate: 'cert' needs a 'key'");
}

static void handle_method(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                          const struct cfg_key *key)
{
	enum sip_method *dst = cfg_walk_field(obj, key);
	const char *s = cfg_walk_scalar(node);
	char buf[80];

	if (strcmp(s, "register") == 0)
		*dst = SIP_METHOD_REGISTER;
	else if (strcmp(s, "options") == 0)
		*dst = SIP_METHOD_OPTIONS;
	else
		cfg_walk_error(ld, node, NULL,
		               "bad method '%s' for client-auth (use register or options)",
		               cfg_walk_clip(s, buf, sizeof buf));
}

static void handle_auth(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                        const struct cfg_key *key)
{
	static const enum clientauth_auth v[] = {CLIENTAUTH_AUTH_MTLS, CLIENTAUTH_AUTH_TLS_DSK};
	int i = cfg_walk_choice2(ld, node, "bad auth", "mtls", "tls-dsk");

	if (i >= 0)
		*(enum clientauth_auth *)cfg_walk_field(obj, key) = v[i];
}

/* ---- the table ---- */

enum clientauth_key {
	CA_K_REGISTRAR,
	CA_K_SIP_URI,
	CA_K_CERTIFICATE,
	CA_K_TRUST_STORE,
	CA_K_METHOD,
	CA_K_EXPIRES,
	CA_K_AUTH,
	CA_K_COUNT,
};

const struct cfg_key clientauth_conf_keys[] = {
    [CA_K_REGISTRAR] = {.key = "registrar",
                        .kind = CFG_MAPPING,
                        .handler = handle_registrar,
                        .offset = offsetof(struct clientauth_conf, registrar),
                        .flags = CFG_REQUIRED,
                        .sub = registrar_keys},
    [CA_K_SIP_URI] = {.key = "sip_uri",
                      .kind = CFG_SCALAR,
                      .handler = handle_sip_uri,
                      .offset = offsetof(struct clientauth_conf, sip_uri),
                      .flags = CFG_REQUIRED},
    [CA_K_CERTIFICATE] = {.key = "certificate",
                          .kind = CFG_MAPPING,
                          .handler = handle_certificate,
                          .offset = offsetof(struct clientauth_conf, certificate),
                          .sub = cert_keys},
    [CA_K_TRUST_STORE] = {.key = "trust_store",
                          .kind = CFG_SCALAR,
                          .handler = cfg_walk_path,
                          .offset = offsetof(struct clientauth_conf, trust_store),
                          .flags = CFG_REQUIRED,
                          .hint = "the roots a device ships with, as one PEM file; the "
                                  "system store is never used for client-auth"},
    [CA_K_METHOD] = {.key = "method",
                     .kind = CFG_SCALAR,
                     .handler = handle_method,
                     .offset = offsetof(struct clientauth_conf, sip_method)},
    [CA_K_EXPIRES] = {.key = "expires",
                      .kind = CFG_SCALAR,
                      .handler = cfg_walk_uint,
                      .offset = offsetof(struct clientauth_conf, expires),
                      .min = 1,
                      .max = 86400},
    [CA_K_AUTH] = {.key = "auth",
                   .kind = CFG_SCALAR,
                   .handler = handle_auth,
                   .offset = offsetof(struct clientauth_conf, auth),
                   .hint = "mtls (mutual TLS, the default) or tls-dsk (Lync/Skype TLS-DSK)"},
    [CA_K_COUNT] = {.key = NULL},
};
_Static_assert(CA_K_COUNT <= CFG_KEYS_MAX, "cfg_found must cover every client-auth key");

void *clientauth_conf_new(void)
{
	struct clientauth_conf *cc = xcalloc(1, sizeof *cc);

	cc->sip_method = SIP_METHOD_REGISTER;
	cc->expires = 60;
	return cc;
}

void clientauth_conf_free(void *spec)
{
	struct clientauth_conf *cc = spec;

	if (cc == NULL)
		return;
	free(cc->registrar.host);
	free(cc->registrar.domain);
	free(cc->registrar.resolver);
	free(cc->registrar.tls_name);
	free(cc->registrar.from);
	free(cc->registrar.from_configured);
	free(cc->sip_uri);
	free(cc->certificate.from);
	free(cc->certificate.cert);
	free(cc->certificate.key);
	free(cc->trust_store);
	free(cc);
}

/* registrar.from: a phone-bootstrap, the same as certificate.from when both are given. */
static void check_registrar_from(struct cfg_loader *ld, const struct config *cfg,
                                 struct clientauth_conf *cc, const struct cfg_found *found)
{
	struct cfg_node *from = cfg_walk_child(ld, found->value[CA_K_REGISTRAR], "from");
	const struct txn_conf *src;
	char buf[80], reg[300];

	if (cc->registrar.from == NULL || from == NULL)
		return;
	src = config_find_txn(cfg, cc->registrar.from);
	if (src == NULL) {
		cfg_walk_error(ld, from, NULL, "registrar.from: no transaction named '%s'",
		               cfg_walk_clip(cfg_walk_scalar(from), buf, sizeof buf));
		return;
	}
	if (src->type != NULL && !src->type->records_registrar) {
		cfg_walk_error(ld, from, NULL,
		               "registrar.from: '%s' is not a phone-bootstrap transaction (only "
		               "those record the registrar they were given or discovered)",
		               src->name);
		return;
	}
	if (cc->certificate.from != NULL && strcmp(cc->certificate.from, cc->registrar.from) != 0)
		cfg_walk_error(ld, from, NULL,
		               "registrar.from: '%s' differs from certificate.from '%s'; a "
		               "client-auth follows one transaction",
		               src->name, cc->certificate.from);
	free(cc->registrar.from_configured);
	cc->registrar.from_configured = NULL;
	if (src->type != NULL && src->type->configured_registrar != NULL) {
		src->type->configured_registrar(src, reg, sizeof reg);
		if (reg[0] != '\0')
			cc->registrar.from_configured = xstrdup(reg);
	}
}

void clientauth_conf_check(struct cfg_loader *ld, const struct config *cfg, struct txn_conf *conf,
                           const struct cfg_found *found)
{
	struct clientauth_conf *cc = conf->spec;
	struct cfg_node *from = cfg_walk_child(ld, found->value[CA_K_CERTIFICATE], "from");
	const struct txn_conf *src;
	char buf[80];

	check_registrar_from(ld, cfg, cc, found);
	if (cc->auth == CLIENTAUTH_AUTH_TLS_DSK && found->value[CA_K_AUTH] != NULL) {
		if (found->value[CA_K_CERTIFICATE] == NULL)
			cfg_walk_error(
			    ld, found->value[CA_K_AUTH], NULL,
			    "auth: tls-dsk logs on with a certificate: add 'certificate' "
			    "({from: ...} or {cert, key})");
		if (cc->sip_method != SIP_METHOD_REGISTER)
			cfg_walk_error(
			    ld, found->value[CA_K_METHOD], NULL,
			    "auth: tls-dsk logs on with REGISTER: 'method: options' does not "
			    "apply");
	}
	if (cc->certificate.from == NULL || from == NULL)
		return;
	src = config_find_txn(cfg, cc->certificate.from);
	if (src == NULL)
		cfg_walk_error(ld, from, NULL, "certificate.from: no transaction named '%s'",
		               cfg_walk_clip(cfg_walk_scalar(from), buf, sizeof buf));
	else if (src->type != NULL && !src->type->issues_certificate)
		cfg_walk_error(ld, from, NULL,
		               "certificate.from: '%s' is not an enrollment transaction",
		               src->name);
}
