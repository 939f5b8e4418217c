/*
 * scep_conf: the enrollment keys (contract in scep_conf.h), walked by the config loader
 * through cfg_walk.h. The challenge's inline value and the NDES password are secrets,
 * flagged as such in their tables so no error echo shows them.
 */
#include "transactions/scep/scep_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg_walk.h"
#include "core/text.h"
#include "core/xalloc.h"

/* ---- value checks ---- */

/* "sha256:" + 64 hex digits, or 32 colon-separated pairs. */
static int parse_fingerprint(const char *s, unsigned char out[32])
{
	size_t n, step;

	if (strncasecmp(s, "sha256:", 7) != 0)
		return -1;
	s += 7;
	n = strlen(s);
	if (n == 64)
		step = 2;
	else if (n == 95)
		step = 3;
	else
		return -1;
	for (size_t i = 0; i < 32; i++) {
		const char *p = s + i * step;
		int hi = text_hex_digit(p[0]), lo = text_hex_digit(p[1]);
		if (hi == -1 || lo == -1)
			return -1;
		if (step == 3 && i < 31 && p[2] != ':')
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Syntax of "ATTR=value,ATTR=value"; on error writes why and the offending offset. */
static int subject_check(const char *s, char *why, size_t whylen, size_t *where)
{
	static const char *const attrs[] = {
	    "CN", "O", "OU", "C", "L", "ST", "DC", "emailAddress", "serialNumber", "UID"};
	const char *p = s;

	for (;;) {
		const char *attr, *eq, *val;
		size_t alen, vlen = 0, letters = 0;
		bool known = false;
		char abuf[40];

		while (*p == ' ')
			p++;
		attr = p;
		eq = p + strcspn(p, "=,");
		if (*eq != '=') {
			*where = (size_t)(attr - s);
			snprintf(why, whylen, "expected ATTR=value");
			return -1;
		}
		alen = (size_t)(eq - attr);
		while (alen > 0 && attr[alen - 1] == ' ')
			alen--;
		for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
			if (strlen(attrs[i]) == alen && strncmp(attrs[i], attr, alen) == 0)
				known = true;
		if (!known) {
			*where = (size_t)(attr - s);
			snprintf(why, whylen,
			         "unknown attribute '%.*s' (use CN, O, OU, C, L, ST, DC, "
			         "emailAddress, serialNumber or UID)",
			         (int)(alen < 32 ? alen : 32), attr);
			return -1;
		}
		snprintf(abuf, sizeof abuf, "%.*s", (int)alen, attr);
		val = p = eq + 1;
		while (*p != '\0' && *p != ',') {
			if (*p == '\\') {
				if (p[1] == '\0') {
					*where = (size_t)(p - s);
					snprintf(why, whylen, "dangling backslash");
					return -1;
				}
				p++;
			}
			if (*p != ' ')
				vlen++;
			if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
				letters++;
			p++;
		}
		if (vlen == 0) {
			*where = (size_t)(attr - s);
			snprintf(why, whylen, "empty value for %s", abuf);
			return -1;
		}
		if (strcmp(abuf, "C") == 0 && (letters != 2 || vlen != 2 || p - val < 2)) {
			*where = (size_t)(val - s);
			snprintf(why, whylen, "C must be a two-letter country code");
			return -1;
		}
		if (*p == '\0')
			return 0;
		p++;
		if (*p == '\0') {
			*where = (size_t)(p - 1 - s);
			snprintf(why, whylen, "trailing comma");
			return -1;
		}
	}
}

/* ---- handlers ---- */

static void handle_protocol(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                            const struct cfg_key *key)
{
	enum scep_protocol *dst = cfg_walk_field(obj, key);
	char buf[80];

	if (strcmp(cfg_walk_scalar(node), "scep") != 0) {
		cfg_walk_error(ld, node, NULL, "unknown protocol '%s' (supported: scep)",
		               cfg_walk_clip(cfg_walk_scalar(node), buf, sizeof buf));
		return;
	}
	*dst = SCEP_PROTOCOL_SCEP;
}

static void handle_fingerprint(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                               const struct cfg_key *key)
{
	struct scep_conf *sc = obj;
	char buf[80];
	int rc;

	(void)key;
	rc = parse_fingerprint(cfg_walk_scalar(node), sc->ca_fingerprint);
	if (rc == -1) {
		cfg_walk_error(ld, node,
		               "openssl x509 -in ca.pem -noout -fingerprint -sha256 prints the hex "
		               "pairs",
		               "bad ca_fingerprint '%s' (expected sha256: and 64 hex digits)",
		               cfg_walk_clip(cfg_walk_scalar(node), buf, sizeof buf));
		return;
	}
	sc->has_ca_fingerprint = true;
}

static void handle_subject(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                           const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node);
	char why[160], buf[80];
	size_t where = 0;
	int rc;

	rc = subject_check(s, why, sizeof why, &where);
	if (rc == -1) {
		/* point into the value at the bad attribute */
		cfg_walk_error_in(ld, node, where, "e.g. CN=device-01,O=Example,C=DE",
		                  "bad subject '%s': %s", cfg_walk_clip(s, buf, sizeof buf), why);
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

static void handle_method(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                          const struct cfg_key *key)
{
	static const struct {
		const char *word;
		enum scep_method method;
	} methods[] = {
	    {"auto", SCEP_METHOD_AUTO}, {"post", SCEP_METHOD_POST}, {"get", SCEP_METHOD_GET}};
	enum scep_method *dst = cfg_walk_field(obj, key);
	const char *s = cfg_walk_scalar(node);
	char buf[80];

	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(s, methods[i].word) == 0) {
			*dst = methods[i].method;
			return;
		}
	cfg_walk_error(ld, node, NULL, "bad method '%s' (use auto, post or get)",
	               cfg_walk_clip(s, buf, sizeof buf));
}

enum ndes_key { NDES_K_URL, NDES_K_USERNAME, NDES_K_PASSWORD };

static const struct cfg_key ndes_keys[] = {
    [NDES_K_URL] = {.key = "url",
                    .kind = CFG_SCALAR,
                    .handler = cfg_walk_url,
                    .offset = offsetof(struct ndes_admin_conf, url),
                    .flags = CFG_REQUIRED},
    [NDES_K_USERNAME] = {.key = "username",
                         .kind = CFG_SCALAR,
                         .handler = cfg_walk_string,
                         .offset = offsetof(struct ndes_admin_conf, username)},
    [NDES_K_PASSWORD] = {.key = "password",
                         .kind = CFG_MAPPING,
                         .handler = cfg_walk_secret,
                         .offset = offsetof(struct ndes_admin_conf, password),
                         .sub = cfg_walk_secret_keys},
    {.key = NULL},
};

static void handle_ndes(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                        const struct cfg_key *key)
{
	struct cfg_found found;

	cfg_walk_mapping(ld, node, ndes_keys, cfg_walk_field(obj, key), "in ndes_admin", &found);
	cfg_walk_required(ld, node, ndes_keys, &found, "ndes_admin");
	if (found.key[NDES_K_USERNAME] != NULL && found.key[NDES_K_PASSWORD] == NULL)
		cfg_walk_error(ld, found.key[NDES_K_USERNAME], NULL,
		               "ndes_admin: 'username' needs a 'password'");
	if (found.key[NDES_K_PASSWORD] != NULL && found.key[NDES_K_USERNAME] == NULL)
		cfg_walk_error(ld, found.key[NDES_K_PASSWORD], NULL,
		               "ndes_admin: 'password' needs a 'username'");
}

enum challenge_key { CHALLENGE_K_VALUE, CHALLENGE_K_FILE, CHALLENGE_K_ENV, CHALLENGE_K_NDES };

static const struct cfg_key challenge_keys[] = {
    [CHALLENGE_K_VALUE] = {.key = "value",
                           .kind = CFG_SCALAR,
                           .handler = cfg_walk_secret_value,
                           .offset = offsetof(struct challenge_conf, secret.value),
                           .flags = CFG_SECRET},
    [CHALLENGE_K_FILE] = {.key = "file",
                          .kind = CFG_SCALAR,
                          .handler = cfg_walk_secret_path,
                          .offset = offsetof(struct challenge_conf, secret.path)},
    [CHALLENGE_K_ENV] = {.key = "env",
                         .kind = CFG_SCALAR,
                         .handler = cfg_walk_env,
                         .offset = offsetof(struct challenge_conf, secret.env)},
    [CHALLENGE_K_NDES] = {.key = "ndes_admin",
                          .kind = CFG_MAPPING,
                          .handler = handle_ndes,
                          .offset = offsetof(struct challenge_conf, ndes),
                          .sub = ndes_keys},
    {.key = NULL},
};

static void handle_challenge(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                             const struct cfg_key *key)
{
	static const int idx[] = {CHALLENGE_K_VALUE, CHALLENGE_K_FILE, CHALLENGE_K_ENV,
	                          CHALLENGE_K_NDES};
	struct challenge_conf *ch = cfg_walk_field(obj, key);
	struct cfg_found found;
	int first;

	cfg_walk_mapping(ld, node, challenge_keys, ch, "in challenge", &found);
	first = cfg_walk_exactly_one(ld, node, challenge_keys, &found, idx, 4, "challenge",
	                             "value, file, env or ndes_admin");
	ch->kind = CHALLENGE_STATIC;
	if (first == CHALLENGE_K_VALUE)
		ch->secret.source = SECRET_VALUE;
	else if (first == CHALLENGE_K_FILE)
		ch->secret.source = SECRET_FILE;
	else if (first == CHALLENGE_K_ENV)
		ch->secret.source = SECRET_ENV;
	else if (first == CHALLENGE_K_NDES)
		ch->kind = CHALLENGE_NDES_ADMIN;
	else
		ch->kind = CHALLENGE_NONE;
}

static void handle_key_type(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                            const struct cfg_key *key)
{
	static const enum key_type v[] = {KEY_TYPE_RSA, KEY_TYPE_EC};
	int i = cfg_walk_choice2(ld, node, "unknown key type", "rsa", "ec");

	if (i >= 0)
		*(enum key_type *)cfg_walk_field(obj, key) = v[i];
}

static void handle_bits(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                        const struct cfg_key *key)
{
	unsigned *dst = cfg_walk_field(obj, key);
	char buf[80];
	uint64_t v = 0;
	int rc;

	/* the allowed sizes depend on the key type, checked in handle_key() */
	rc = cfg_walk_parse_uint(cfg_walk_scalar(node), 65536, &v);
	if (rc == -1) {
		cfg_walk_error(ld, node, NULL, "'bits' must be 2048, 3072 or 4096 (got '%s')",
		               cfg_walk_clip(cfg_walk_scalar(node), buf, sizeof buf));
		return;
	}
	*dst = (unsigned)v;
}

static void handle_curve(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                         const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node);
	char buf[80];

	if (strcmp(s, "P-256") != 0 && strcmp(s, "P-384") != 0) {
		cfg_walk_error(ld, node, NULL, "unsupported curve '%s' (use P-256 or P-384)",
		               cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

enum key_key { KEY_K_TYPE, KEY_K_BITS, KEY_K_CURVE, KEY_K_REUSE };

const struct cfg_key scep_conf_key_keys[] = {
    [KEY_K_TYPE] = {.key = "type",
                    .kind = CFG_SCALAR,
                    .handler = handle_key_type,
                    .offset = offsetof(struct key_conf, type)},
    [KEY_K_BITS] = {.key = "bits",
                    .kind = CFG_SCALAR,
                    .handler = handle_bits,
                    .offset = offsetof(struct key_conf, bits)},
    [KEY_K_CURVE] = {.key = "curve",
                     .kind = CFG_SCALAR,
                     .handler = handle_curve,
                     .offset = offsetof(struct key_conf, curve)},
    [KEY_K_REUSE] = {.key = "reuse_runs",
                     .kind = CFG_SCALAR,
                     .handler = cfg_walk_uint,
                     .offset = offsetof(struct key_conf, reuse_runs),
                     .max = 100000},
    {.key = NULL},
};

void scep_conf_key_handler(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                           const struct cfg_key *key)
{
	struct key_conf *k = cfg_walk_field(obj, key);
	struct cfg_node *type, *bits;
	struct cfg_found found;
	char buf[80];
	bool type_ok;

	cfg_walk_mapping(ld, node, scep_conf_key_keys, k, "in key", &found);
	type = found.value[KEY_K_TYPE];
	/* cfg_walk_scalar() is "" for a node that is not a scalar */
	type_ok = type == NULL || strcmp(cfg_walk_scalar(type), "rsa") == 0 ||
	          strcmp(cfg_walk_scalar(type), "ec") == 0;
	if (type_ok && k->type == KEY_TYPE_EC) {
		if (found.key[KEY_K_BITS] != NULL)
			cfg_walk_error(ld, found.key[KEY_K_BITS], NULL,
			               "'bits' applies to rsa keys; ec keys take 'curve'");
		k->bits = 0;
		if (k->curve == NULL)
			k->curve = xstrdup("P-256");
	} else {
		bits = found.value[KEY_K_BITS];
		if (bits != NULL && k->bits != 2048 && k->bits != 3072 && k->bits != 4096)
			cfg_walk_error(ld, bits, NULL,
			               "'bits' must be 2048, 3072 or 4096 (got '%s')",
			               cfg_walk_clip(cfg_walk_scalar(bits), buf, sizeof buf));
		if (type_ok && found.key[KEY_K_CURVE] != NULL)
			cfg_walk_error(ld, found.key[KEY_K_CURVE], NULL,
			               "'curve' applies to ec keys; rsa keys take 'bits'");
	}
}

/* ---- the table ---- */

enum scep_key {
	SCEP_K_PROTOCOL,
	SCEP_K_URL,
	SCEP_K_FINGERPRINT,
	SCEP_K_CHALLENGE,
	SCEP_K_SUBJECT,
	SCEP_K_KEY,
	SCEP_K_TRUST_STORE,
	SCEP_K_CA_IDENTIFIER,
	SCEP_K_METHOD,
	SCEP_K_RENEWAL,
	SCEP_K_PENDING,
	SCEP_K_COUNT,
};

const struct cfg_key scep_conf_keys[] = {
    [SCEP_K_PROTOCOL] = {.key = "protocol",
                         .kind = CFG_SCALAR,
                         .handler = handle_protocol,
                         .offset = offsetof(struct scep_conf, protocol),
                         .flags = CFG_REQUIRED},
    [SCEP_K_URL] = {.key = "url",
                    .kind = CFG_SCALAR,
                    .handler = cfg_walk_url,
                    .offset = offsetof(struct scep_conf, url),
                    .flags = CFG_REQUIRED},
    [SCEP_K_FINGERPRINT] = {.key = "ca_fingerprint",
                            .kind = CFG_SCALAR,
                            .handler = handle_fingerprint},
    [SCEP_K_CHALLENGE] = {.key = "challenge",
                          .kind = CFG_MAPPING,
                          .handler = handle_challenge,
                          .offset = offsetof(struct scep_conf, challenge),
                          .sub = challenge_keys},
    [SCEP_K_SUBJECT] = {.key = "subject",
                        .kind = CFG_SCALAR,
                        .handler = handle_subject,
                        .offset = offsetof(struct scep_conf, subject),
                        .flags = CFG_REQUIRED},
    [SCEP_K_KEY] = {.key = "key",
                    .kind = CFG_MAPPING,
                    .handler = scep_conf_key_handler,
                    .offset = offsetof(struct scep_conf, key),
                    .sub = scep_conf_key_keys},
    [SCEP_K_TRUST_STORE] = {.key = "trust_store",
                            .kind = CFG_SCALAR,
                            .handler = cfg_walk_path,
                            .offset = offsetof(struct scep_conf, trust_store)},
    [SCEP_K_CA_IDENTIFIER] = {.key = "ca_identifier",
                              .kind = CFG_SCALAR,
                              .handler = cfg_walk_string,
                              .offset = offsetof(struct scep_conf, ca_identifier)},
    [SCEP_K_METHOD] = {.key = "method",
                       .kind = CFG_SCALAR,
                       .handler = handle_method,
                       .offset = offsetof(struct scep_conf, method)},
    [SCEP_K_RENEWAL] = {.key = "renewal",
                        .kind = CFG_SCALAR,
                        .handler = cfg_walk_bool,
                        .offset = offsetof(struct scep_conf, renewal)},
    [SCEP_K_PENDING] = {.key = "pending",
                        .kind = CFG_MAPPING,
                        .handler = cfg_walk_section,
                        .offset = offsetof(struct scep_conf, pending),
                        .sub = cfg_walk_pending_keys},
    [SCEP_K_COUNT] = {.key = NULL},
};
_Static_assert(SCEP_K_COUNT <= CFG_KEYS_MAX, "cfg_found must cover every enrollment key");

void *scep_conf_new(void)
{
	struct scep_conf *sc = xcalloc(1, sizeof *sc);

	sc->key.type = KEY_TYPE_RSA;
	sc->key.bits = 2048;
	sc->pending.poll_interval_ms = CFG_DURATION_UNSET;
	sc->pending.max_wait_ms = CFG_DURATION_UNSET;
	return sc;
}

void scep_conf_free(void *spec)
{
	struct scep_conf *sc = spec;

	if (sc == NULL)
		return;
	free(sc->url);
	secret_ref_clear(&sc->challenge.secret);
	free(sc->challenge.ndes.url);
	free(sc->challenge.ndes.username);
	secret_ref_clear(&sc->challenge.ndes.password);
	free(sc->subject);
	free(sc->key.curve);
	free(sc->trust_store);
	free(sc->ca_identifier);
	free(sc);
}

void scep_conf_check(struct cfg_loader *ld, const struct config *cfg, struct txn_conf *conf,
                     const struct cfg_found *found)
{
	struct scep_conf *sc = conf->spec;

	cfg_walk_pending_finish(ld, &sc->pending, found->value[SCEP_K_PENDING],
	                        &cfg->default_pending, "pending.");
}

/* ---- the identity a configuration gives a run (txn_type ops) ---- */

const char *scep_conf_protocol(const struct txn_conf *conf)
{
	(void)conf;
	return "scep";
}

/* The web service is the URL's authority: "host[:port]". */
void scep_conf_endpoint(const struct txn_conf *conf, char *key, size_t len,
                        enum endpoint_kind *kind)
{
	const struct scep_conf *sc = conf->spec;
	const char *p = strstr(sc->url, "://");
	size_t n;

	p = p != NULL ? p + 3 : sc->url;
	n = strcspn(p, "/?#");
	snprintf(key, len, "%.*s", (int)n, p);
	*kind = ENDPOINT_KIND_WEB_SERVICE;
}

void scep_conf_describe(const struct txn_conf *conf, char *buf, size_t len)
{
	const struct scep_conf *sc = conf->spec;

	snprintf(buf, len, "%s", sc->url);
}
