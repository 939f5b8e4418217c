/*
 * certprov_conf: the phone-bootstrap keys (contract in certprov_conf.h), walked by the
 * config loader through cfg_walk.h. The PIN and the password are secrets ({value | file
 * | env}, the value flagged CFG_SECRET in cfg_walk_secret_keys), so no error echoes them.
 */
#include "transactions/certprov/certprov_conf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "transactions/scep/scep_conf.h"

/* ---- discover ---- */

enum discover_key { DISC_K_URL, DISC_K_REGISTRAR, DISC_K_COUNT };

static const struct cfg_key discover_keys[] = {
    [DISC_K_URL] = {.key = "certprov_url",
                    .kind = CFG_SCALAR,
                    .handler = cfg_walk_url,
                    .offset = offsetof(struct certprov_conf, certprov_url),
                    .flags = CFG_REQUIRED,
                    .hint = "e.g. https://pool.example.com/CertProv/CertProvisioningService.svc"},
    [DISC_K_REGISTRAR] = {.key = "registrar",
                          .kind = CFG_SCALAR,
                          .handler = cfg_walk_string,
                          .offset = offsetof(struct certprov_conf, registrar),
                          .flags = CFG_REQUIRED,
                          .hint = "the Registrar (pool) FQDN, e.g. pool.example.com"},
    [DISC_K_COUNT] = {.key = NULL},
};

static void handle_discover(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                            const struct cfg_key *key)
{
	struct certprov_conf *cc = obj;
	const char *s = cfg_walk_scalar(node);
	struct cfg_found found;
	char buf[80];

	(void)key;
	if (s[0] != '\0') {
		if (strcmp(s, "dhcp") == 0) {
			cc->discover = CERTPROV_DISCOVER_DHCP;
			return;
		}
		cfg_walk_error(ld, node, "use dhcp or {certprov_url: ..., registrar: ...}",
		               "bad discover '%s'", cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	cc->discover = CERTPROV_DISCOVER_STATIC;
	cfg_walk_mapping(ld, node, discover_keys, cc, "in discover", &found);
	cfg_walk_required(ld, node, discover_keys, &found, "discover");
	if (cc->certprov_url != NULL && strncmp(cc->certprov_url, "https://", 8) != 0)
		cfg_walk_error(ld, found.value[DISC_K_URL],
		               "Web Services answer CertProv over HTTPS",
		               "discover.certprov_url must be an https:// URL");
}

/* ---- dhcp: {interface, server, timeout, retries} ---- */

static void handle_interface(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                             const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node);
	char buf[80];

	/* what the kernel takes as an interface name (IFNAMSIZ 16, no '/', no blank) */
	if (strlen(s) > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
	    strpbrk(s, "/ \t:") != NULL) {
		cfg_walk_error(ld, node, "an interface name of at most 15 characters, e.g. eth0",
		               "bad interface '%s'", cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

static void handle_ipv4(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                        const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node);
	struct in_addr a;
	char buf[80];

	if (inet_pton(AF_INET, s, &a) != 1 || a.s_addr == htonl(INADDR_ANY) ||
	    a.s_addr == htonl(INADDR_BROADCAST)) {
		cfg_walk_error(ld, node,
		               "the DHCP server's IPv4 address, e.g. 10.0.0.1 (leave it out to "
		               "broadcast)",
		               "bad dhcp server '%s'", cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

static const struct cfg_key dhcp_keys[] = {
    {.key = "interface",
     .kind = CFG_SCALAR,
     .handler = handle_interface,
     .offset = offsetof(struct certprov_dhcp_conf, interface)},
    {.key = "server",
     .kind = CFG_SCALAR,
     .handler = handle_ipv4,
     .offset = offsetof(struct certprov_dhcp_conf, server)},
    {.key = "timeout",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_duration,
     .offset = offsetof(struct certprov_dhcp_conf, timeout_ms),
     .min = 100,
     .max = 60 * 1000},
    {.key = "retries",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_uint,
     .offset = offsetof(struct certprov_dhcp_conf, retries),
     .min = 0,
     .max = 10},
    {.key = NULL},
};

/* ---- values ---- */

static void handle_phone(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                         const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node), *p = s;
	char buf[80];

	if (*p == '+')
		p++;
	if (*p == '\0' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 20) {
		cfg_walk_error(ld, node,
		               "an E.164 number (\"+14255550100\") or an extension (\"1234\")",
		               "bad phone '%s'", cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

static void handle_sip_uri(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                           const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node);
	const char *at = strchr(s, '@');
	char buf[80];

	if (strncasecmp(s, "sip:", 4) != 0 || at == NULL || at == s + 4 || at[1] == '\0' ||
	    strpbrk(s, " <>\"") != NULL) {
		cfg_walk_error(ld, node, "e.g. sip:alice@example.com", "bad sip_uri '%s'",
		               cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

static void handle_root_chain(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                              const struct cfg_key *key)
{
	struct certprov_conf *cc = obj;
	const char *s = cfg_walk_scalar(node);
	char buf[80];

	(void)key;
	if (strcmp(s, "auto") == 0) {
		cc->root_chain = CERTPROV_ROOT_CHAIN_AUTO;
	} else if (strcmp(s, "off") == 0 || strcmp(s, "false") == 0) {
		cc->root_chain = CERTPROV_ROOT_CHAIN_OFF;
	} else if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) {
		free(cc->root_chain_url);
		cc->root_chain_url = xstrdup(s);
		cc->root_chain = CERTPROV_ROOT_CHAIN_URL;
	} else {
		cfg_walk_error(ld, node, "auto (the anonymous http:// CertProv URL), off, or a URL",
		               "bad root_chain '%s'", cfg_walk_clip(s, buf, sizeof buf));
	}
}

static void handle_element(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                           const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node);
	char buf[80];
	bool ok = (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_';

	for (const char *p = s; ok && *p != '\0'; p++)
		ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		     (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.';
	if (!ok) {
		cfg_walk_error(ld, node, "an XML local name, e.g. Username",
		               "bad element name '%s'", cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

static void handle_suffix(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                          const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node);
	char buf[80];

	if (s[0] != '/' && strcmp(s, "none") != 0) {
		cfg_walk_error(ld, node, "e.g. /Auth or /Pin, or none", "bad url_suffix '%s'",
		               cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

static void handle_wt_auth(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                           const struct cfg_key *key)
{
	int i = cfg_walk_choice2(ld, node, "bad web_ticket auth", "usernametoken", "windows");

	if (i >= 0)
		*(bool *)cfg_walk_field(obj, key) = i == 1;
}

enum wt_key {
	WT_K_SUFFIX,
	WT_K_TOKEN,
	WT_K_USER,
	WT_K_PASS,
	WT_K_TYPE,
	WT_K_B64,
	WT_K_ENTROPY,
	WT_K_AUTH
};

static const struct cfg_key web_ticket_keys[] = {
    [WT_K_SUFFIX] = {.key = "url_suffix",
                     .kind = CFG_SCALAR,
                     .handler = handle_suffix,
                     .offset = offsetof(struct certprov_web_ticket_conf, url_suffix)},
    [WT_K_TOKEN] = {.key = "token_element",
                    .kind = CFG_SCALAR,
                    .handler = handle_element,
                    .offset = offsetof(struct certprov_web_ticket_conf, token_element)},
    [WT_K_USER] = {.key = "username_element",
                   .kind = CFG_SCALAR,
                   .handler = handle_element,
                   .offset = offsetof(struct certprov_web_ticket_conf, username_element)},
    [WT_K_PASS] = {.key = "password_element",
                   .kind = CFG_SCALAR,
                   .handler = handle_element,
                   .offset = offsetof(struct certprov_web_ticket_conf, password_element)},
    [WT_K_TYPE] = {.key = "token_type",
                   .kind = CFG_SCALAR,
                   .handler = cfg_walk_string,
                   .offset = offsetof(struct certprov_web_ticket_conf, token_type)},
    [WT_K_B64] = {.key = "base64",
                  .kind = CFG_SCALAR,
                  .handler = cfg_walk_bool,
                  .offset = offsetof(struct certprov_web_ticket_conf, base64)},
    [WT_K_ENTROPY] = {.key = "entropy",
                      .kind = CFG_SCALAR,
                      .handler = cfg_walk_bool,
                      .offset = offsetof(struct certprov_web_ticket_conf, entropy)},
    [WT_K_AUTH] = {.key = "auth",
                   .kind = CFG_SCALAR,
                   .handler = handle_wt_auth,
                   .offset = offsetof(struct certprov_web_ticket_conf, windows)},
    {.key = NULL},
};

/* ---- the table ---- */

enum certprov_key {
	CP_K_DISCOVER,
	CP_K_PHONE,
	CP_K_PIN,
	CP_K_USERNAME,
	CP_K_PASSWORD,
	CP_K_SIP_URI,
	CP_K_TRUST_STORE,
	CP_K_ISSUER_CA,
	CP_K_KEY,
	CP_K_ROOT_CHAIN,
	CP_K_CONNECT_TO,
	CP_K_WEB_TICKET,
	CP_K_DHCP,
	CP_K_COUNT,
};

const struct cfg_key certprov_conf_keys[] = {
    [CP_K_DISCOVER] = {.key = "discover",
                       .kind = CFG_ANY,
                       .handler = handle_discover,
                       .flags = CFG_REQUIRED,
                       .hint = "discover: dhcp, or {certprov_url: https://..., registrar: "
                               "pool.example.com}",
                       .sub = discover_keys},
    [CP_K_PHONE] = {.key = "phone",
                    .kind = CFG_SCALAR,
                    .handler = handle_phone,
                    .offset = offsetof(struct certprov_conf, phone)},
    [CP_K_PIN] = {.key = "pin",
                  .kind = CFG_MAPPING,
                  .handler = cfg_walk_secret,
                  .offset = offsetof(struct certprov_conf, pin),
                  .sub = cfg_walk_secret_keys},
    [CP_K_USERNAME] = {.key = "username",
                       .kind = CFG_SCALAR,
                       .handler = cfg_walk_string,
                       .offset = offsetof(struct certprov_conf, username)},
    [CP_K_PASSWORD] = {.key = "password",
                       .kind = CFG_MAPPING,
                       .handler = cfg_walk_secret,
                       .offset = offsetof(struct certprov_conf, password),
                       .sub = cfg_walk_secret_keys},
    [CP_K_SIP_URI] = {.key = "sip_uri",
                      .kind = CFG_SCALAR,
                      .handler = handle_sip_uri,
                      .offset = offsetof(struct certprov_conf, sip_uri),
                      .flags = CFG_REQUIRED,
                      .hint = "the user the number and PIN belong to, e.g. sip:alice@example.com"},
    [CP_K_TRUST_STORE] = {.key = "trust_store",
                          .kind = CFG_SCALAR,
                          .handler = cfg_walk_path,
                          .offset = offsetof(struct certprov_conf, trust_store),
                          .flags = CFG_REQUIRED,
                          .hint = "the roots the phone ships with (PEM)"},
    [CP_K_ISSUER_CA] = {.key = "issuer_ca",
                        .kind = CFG_SCALAR,
                        .handler = cfg_walk_path,
                        .offset = offsetof(struct certprov_conf, issuer_ca)},
    [CP_K_KEY] = {.key = "key",
                  .kind = CFG_MAPPING,
                  .handler = scep_conf_key_handler,
                  .offset = offsetof(struct certprov_conf, key),
                  .sub = scep_conf_key_keys},
    [CP_K_ROOT_CHAIN] = {.key = "root_chain", .kind = CFG_SCALAR, .handler = handle_root_chain},
    [CP_K_CONNECT_TO] = {.key = "connect_to",
                         .kind = CFG_SCALAR,
                         .handler = cfg_walk_string,
                         .offset = offsetof(struct certprov_conf, connect_to)},
    [CP_K_WEB_TICKET] = {.key = "web_ticket",
                         .kind = CFG_MAPPING,
                         .handler = cfg_walk_section,
                         .offset = offsetof(struct certprov_conf, web_ticket),
                         .sub = web_ticket_keys},
    [CP_K_DHCP] = {.key = "dhcp",
                   .kind = CFG_MAPPING,
                   .handler = cfg_walk_section,
                   .offset = offsetof(struct certprov_conf, dhcp),
                   .sub = dhcp_keys},
    [CP_K_COUNT] = {.key = NULL},
};
_Static_assert(CP_K_COUNT <= CFG_KEYS_MAX, "cfg_found must cover every phone-bootstrap key");

void *certprov_conf_new(void)
{
	struct certprov_conf *cc = xcalloc(1, sizeof *cc);

	cc->key.type = KEY_TYPE_RSA;
	cc->key.bits = 2048;
	cc->web_ticket.base64 = certprov_shape_default.base64;
	cc->web_ticket.entropy = certprov_shape_default.entropy;
	cc->dhcp.timeout_ms = 4000; /* a phone's wait (dhcp_client's default) */
	cc->dhcp.retries = 2;
	return cc;
}

void certprov_conf_free(void *spec)
{
	struct certprov_conf *cc = spec;

	if (cc == NULL)
		return;
	free(cc->certprov_url);
	free(cc->registrar);
	free(cc->phone);
	secret_ref_clear(&cc->pin);
	free(cc->username);
	secret_ref_clear(&cc->password);
	free(cc->sip_uri);
	free(cc->trust_store);
	free(cc->issuer_ca);
	free(cc->root_chain_url);
	free(cc->connect_to);
	free(cc->key.curve);
	free(cc->web_ticket.url_suffix);
	free(cc->web_ticket.token_element);
	free(cc->web_ticket.username_element);
	free(cc->web_ticket.password_element);
	free(cc->web_ticket.token_type);
	free(cc->dhcp.interface);
	free(cc->dhcp.server);
	free(cc);
}

void certprov_conf_check(struct cfg_loader *ld, const struct config *cfg, struct txn_conf *conf,
                         const struct cfg_found *found)
{
	struct cfg_node *at =
	    found->key[CP_K_SIP_URI] != NULL ? found->key[CP_K_SIP_URI] : found->key[CP_K_DISCOVER];

	(void)cfg;
	if (at == NULL)
		return; /* required keys are reported by the walk */
	if (found->key[CP_K_DHCP] != NULL &&
	    ((struct certprov_conf *)conf->spec)->discover != CERTPROV_DISCOVER_DHCP)
		cfg_walk_error(ld, found->key[CP_K_DHCP],
		               "configured certprov_url and registrar bypass DHCP: drop dhcp:, or "
		               "say discover: dhcp",
		               "'dhcp' goes with discover: dhcp");
	if (((struct certprov_conf *)conf->spec)->key.type != KEY_TYPE_RSA)
		cfg_walk_error(ld, found->key[CP_K_KEY], "Lync Phone Edition devices use RSA",
		               "a phone-bootstrap key must be rsa");
	if (found->key[CP_K_PHONE] != NULL && found->key[CP_K_USERNAME] != NULL)
		cfg_walk_error(
		    ld, found->key[CP_K_USERNAME], NULL,
		    "give either phone + pin (PIN sign-in) or username + password, not both");
	else if (found->key[CP_K_PHONE] == NULL && found->key[CP_K_USERNAME] == NULL)
		cfg_walk_error(ld, at, "phone: \"+14255550100\" with pin: {file: ...}",
		               "a phone-bootstrap needs phone + pin (or username + password)");
	if (((struct certprov_conf *)conf->spec)->web_ticket.windows &&
	    found->key[CP_K_USERNAME] == NULL)
		cfg_walk_error(ld, found->key[CP_K_WEB_TICKET],
		               "username: DOMAIN\\user with password",
		               "web_ticket auth: windows needs username + password");
	if (found->key[CP_K_PHONE] != NULL && found->key[CP_K_PIN] == NULL)
		cfg_walk_error(ld, found->key[CP_K_PHONE], "pin: {file: /etc/certprobe/alice.pin}",
		               "'phone' needs a 'pin'");
	if (found->key[CP_K_PIN] != NULL && found->key[CP_K_PHONE] == NULL)
		cfg_walk_error(ld, found->key[CP_K_PIN], NULL, "'pin' goes with 'phone'");
	if (found->key[CP_K_USERNAME] != NULL && found->key[CP_K_PASSWORD] == NULL)
		cfg_walk_error(ld, found->key[CP_K_USERNAME], NULL,
		               "'username' needs a 'password'");
	if (found->key[CP_K_PASSWORD] != NULL && found->key[CP_K_USERNAME] == NULL)
		cfg_walk_error(ld, found->key[CP_K_PASSWORD], NULL,
		               "'password' goes with 'username'");
}

void certprov_conf_shape(const struct certprov_conf *cc, struct certprov_shape *out)
{
	const struct certprov_web_ticket_conf *w = &cc->web_ticket;

	*out = certprov_shape_default;
	out->http_auth = w->windows;
	if (w->windows)
		out->url_suffix = "/WinNegotiate"; /* the WebTicketServiceWinNegotiate port */
	if (w->url_suffix != NULL)
		out->url_suffix = strcmp(w->url_suffix, "none") == 0 ? "" : w->url_suffix;
	if (w->token_element != NULL)
		out->token_element = w->token_element;
	if (w->username_element != NULL)
		out->username_element = w->username_element;
	if (w->password_element != NULL)
		out->password_element = w->password_element;
	if (w->token_type != NULL)
		out->token_type = w->token_type;
	out->base64 = w->base64;
	out->entropy = w->entropy;
}

void certprov_conf_entity(const struct certprov_conf *cc, char *buf, size_t len)
{
	const char *s = cc->sip_uri != NULL ? cc->sip_uri : "";

	snprintf(buf, len, "%s", strncasecmp(s, "sip:", 4) == 0 ? s + 4 : s);
}

/* ---- the identity a configuration gives a run (txn_type ops) ---- */

const char *certprov_conf_protocol(const struct txn_conf *conf)
{
	(void)conf;
	return "certprov";
}

void certprov_conf_endpoint(const struct txn_conf *conf, char *key, size_t len,
                            enum endpoint_kind *kind)
{
	const struct certprov_conf *cc = conf->spec;
	const char *url = cc->certprov_url != NULL ? cc->certprov_url : "";
	const char *p = strstr(url, "://");
	size_t n;

	*kind = ENDPOINT_KIND_WEB_SERVICE;
	if (cc->discover == CERTPROV_DISCOVER_DHCP) {
		/* the web service is known only once a run has discovered it */
		snprintf(key, len, "dhcp:%s",
		         cc->dhcp.interface != NULL ? cc->dhcp.interface : "default");
		return;
	}
	p = p != NULL ? p + 3 : url;
	n = strcspn(p, "/?#");
	snprintf(key, len, "%.*s", (int)n, p);
}

void certprov_conf_describe(const struct txn_conf *conf, char *buf, size_t len)
{
	const struct certprov_conf *cc = conf->spec;

	if (cc->discover == CERTPROV_DISCOVER_DHCP)
		snprintf(buf, len, "DHCP discovery on %s",
		         cc->dhcp.interface != NULL ? cc->dhcp.interface : "the default interface");
	else
		snprintf(buf, len, "%s", cc->certprov_url != NULL ? cc->certprov_url : "");
}
