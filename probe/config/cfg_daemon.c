/*
 * cfg_daemon: probe:, defaults: and alerting: (contract in cfg_daemon.h). The latency
 * thresholds take the step names of the registered transaction types; the alert labels
 * follow Alertmanager's rule, minus the names certprobe sets itself.
 */
#include "config/cfg_daemon.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alertmanager.h"
#include "alert/passive.h"
#include "config/cfg_loader.h"
#include "core/xalloc.h"
#include "health/health.h"
#include "health/history.h"
#include "config/shard.h"
#include "transactions/txn_type.h"

/* ---- probe: ---- */

/* "host:port" with a numeric port; host an IP literal or name ("[v6]:port" for IPv6) */
static void handle_listen(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                          const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node), *colon = strrchr(s, ':');
	size_t n = colon != NULL ? (size_t)(colon - s) : 0;
	unsigned char addr[16];
	char buf[80], host[64];
	uint64_t v;
	bool ok;

	if (colon == NULL || colon == s || cfg_walk_parse_uint(colon + 1, 65535, &v) == -1 ||
	    v == 0) {
		cfg_walk_error(ld, node, "e.g. listen: \"127.0.0.1:9793\"",
		               "bad listen address '%s' (host:port)",
		               cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	/* what the listener binds: an IPv4 literal, [IPv6], or localhost (no name lookups) */
	if (s[0] == '[' && n >= 2 && s[n - 1] == ']' && n - 2 < sizeof host) {
		snprintf(host, sizeof host, "%.*s", (int)(n - 2), s + 1);
		ok = inet_pton(AF_INET6, host, addr) == 1;
	} else {
		snprintf(host, sizeof host, "%.*s", (int)(n < sizeof host ? n : 0), s);
		ok = strcmp(host, "localhost") == 0 || inet_pton(AF_INET, host, addr) == 1;
	}
	if (!ok) {
		cfg_walk_error(ld, node,
		               "use an IPv4 address, [IPv6] or localhost, e.g. \"0.0.0.0:9793\"",
		               "bad listen host in '%s'", cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

/* Basic auth joins user and password with ':' (RFC 7617), so a user name cannot hold one. */
static void handle_basic_user(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                              const struct cfg_key *key)
{
	if (strchr(cfg_walk_scalar(node), ':') != NULL) {
		cfg_walk_error(ld, node, NULL, "basic_auth: a username cannot contain ':'");
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

static const struct cfg_key basic_keys[] = {
    {.key = "username",
     .kind = CFG_SCALAR,
     .handler = handle_basic_user,
     .offset = offsetof(struct listener_conf, username),
     .flags = CFG_REQUIRED},
    {.key = "password",
     .kind = CFG_MAPPING,
     .handler = cfg_walk_secret,
     .offset = offsetof(struct listener_conf, password),
     .flags = CFG_REQUIRED,
     .sub = cfg_walk_secret_keys},
    {.key = NULL},
};

enum web_key { WEB_K_TLS_CERT, WEB_K_TLS_KEY, WEB_K_BASIC_AUTH };

static const struct cfg_key web_keys[] = {
    [WEB_K_TLS_CERT] = {.key = "tls_cert",
                        .kind = CFG_SCALAR,
                        .handler = cfg_walk_path,
                        .offset = offsetof(struct listener_conf, tls_cert)},
    [WEB_K_TLS_KEY] = {.key = "tls_key",
                       .kind = CFG_SCALAR,
                       .handler = cfg_walk_secret_path,
                       .offset = offsetof(struct listener_conf, tls_key)},
    /* basic_auth's keys live in listener_conf itself */
    [WEB_K_BASIC_AUTH] = {.key = "basic_auth",
                          .kind = CFG_MAPPING,
                          .handler = cfg_walk_section,
                          .sub = basic_keys},
    {.key = NULL},
};

static void handle_web(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                       const struct cfg_key *key)
{
	struct cfg_found found;

	cfg_walk_mapping(ld, node, web_keys, cfg_walk_field(obj, key), "in web", &found);
	if (found.key[WEB_K_TLS_CERT] != NULL && found.key[WEB_K_TLS_KEY] == NULL)
		cfg_walk_error(ld, found.key[WEB_K_TLS_CERT], NULL,
		               "web: 'tls_cert' needs a 'tls_key'");
	if (found.key[WEB_K_TLS_KEY] != NULL && found.key[WEB_K_TLS_CERT] == NULL)
		cfg_walk_error(ld, found.key[WEB_K_TLS_KEY], NULL,
		               "web: 'tls_key' needs a 'tls_cert'");
}

/* agentx: where the master listens, in net-snmp's transport syntax */
static void handle_agentx(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                          const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node), *colon;
	char buf[80];
	uint64_t port;

	if (strncmp(s, "unix:/", 6) == 0 || s[0] == '/') {
		cfg_walk_string(ld, node, obj, key);
		return;
	}
	colon = strrchr(s, ':');
	if (strncmp(s, "tcp:", 4) != 0 || colon == NULL || colon == s + 3 || colon[1] == '\0' ||
	    cfg_walk_parse_uint(colon + 1, 65535, &port) == -1 || port == 0) {
		cfg_walk_error(ld, node,
		               "e.g. agentx: unix:/var/agentx/master, or tcp:127.0.0.1:705",
		               "bad agentx address '%s'", cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

static const struct cfg_key snmp_keys[] = {
    {.key = "enable",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_bool,
     .offset = offsetof(struct snmp_conf, enabled)},
    {.key = "agentx",
     .kind = CFG_SCALAR,
     .handler = handle_agentx,
     .offset = offsetof(struct snmp_conf, agentx)},
    {.key = "ping_interval",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_duration,
     .offset = offsetof(struct snmp_conf, ping_interval_ms),
     .min = CFG_MS_SECOND,
     .max = CFG_MS_HOUR},
    {.key = "notifications",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_bool,
     .offset = offsetof(struct snmp_conf, notifications)},
    {.key = NULL},
};

/* The section's presence enables the subagent; `enable: false` keeps it written but off. */
static void handle_snmp(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                        const struct cfg_key *key)
{
	struct snmp_conf *sc = cfg_walk_field(obj, key);
	struct cfg_found found;

	sc->enabled = true;
	cfg_walk_mapping(ld, node, snmp_keys, sc, "in snmp", &found);
}

/* shard: {index, count}, Prometheus hashmod's modulus and this probe's remainder */
enum shard_key { SHARD_K_INDEX, SHARD_K_COUNT };

static const struct cfg_key shard_keys[] = {
    [SHARD_K_INDEX] = {.key = "index",
                       .kind = CFG_SCALAR,
                       .handler = cfg_walk_uint,
                       .offset = offsetof(struct shard_conf, index),
                       .max = SHARD_MAX_COUNT - 1,
                       .flags = CFG_REQUIRED,
                       .hint = "e.g. shard: {index: 0, count: 3}"},
    [SHARD_K_COUNT] = {.key = "count",
                       .kind = CFG_SCALAR,
                       .handler = cfg_walk_uint,
                       .offset = offsetof(struct shard_conf, count),
                       .min = 1,
                       .max = SHARD_MAX_COUNT,
                       .flags = CFG_REQUIRED,
                       .hint = "e.g. shard: {index: 0, count: 3}"},
    {.key = NULL},
};

static void handle_shard(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                         const struct cfg_key *key)
{
	struct shard_conf *sc = cfg_walk_field(obj, key), got = {0, 0};
	struct cfg_found found;

	cfg_walk_mapping(ld, node, shard_keys, &got, "in shard", &found);
	cfg_walk_required(ld, node, shard_keys, &found, "shard");
	if (found.key[SHARD_K_INDEX] == NULL || found.key[SHARD_K_COUNT] == NULL || got.count == 0)
		return;
	if (got.index >= got.count) {
		cfg_walk_error(ld, found.value[SHARD_K_INDEX],
		               "shards are numbered from 0 to count - 1, as Prometheus's "
		               "hashmod remainders are",
		               "shard index %u is not below count %u", got.index, got.count);
		return;
	}
	*sc = got;
}

const struct cfg_key cfg_daemon_probe_keys[] = {
    {.key = "state_dir",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_path,
     .offset = offsetof(struct config, state_dir)},
    {.key = "listen",
     .kind = CFG_SCALAR,
     .handler = handle_listen,
     .offset = offsetof(struct config, listen)},
    {.key = "max_per_endpoint",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_uint,
     .offset = offsetof(struct config, max_per_endpoint),
     .min = 1,
     .max = 1000},
    {.key = "syslog",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_bool,
     .offset = offsetof(struct config, syslog)},
    {.key = "web",
     .kind = CFG_MAPPING,
     .handler = handle_web,
     .offset = offsetof(struct config, web),
     .sub = web_keys},
    {.key = "history",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_uint,
     .offset = offsetof(struct config, history),
     .max = HISTORY_MAX_CAPACITY},
    {.key = "snmp",
     .kind = CFG_MAPPING,
     .handler = handle_snmp,
     .offset = offsetof(struct config, snmp),
     .sub = snmp_keys},
    {.key = "shard",
     .kind = CFG_MAPPING,
     .handler = handle_shard,
     .offset = offsetof(struct config, shard),
     .sub = shard_keys},
    {.key = NULL},
};

/* ---- warn: ---- */

/* The step names of every registered type, each once, as a table for hints; free it. */
static struct cfg_key *step_keys(void)
{
	struct cfg_key *keys;
	size_t n = 0, k = 0;

	for (size_t t = 0; txn_types[t] != NULL; t++)
		for (const char *const *s = txn_types[t]->steps; *s != NULL; s++)
			n++;
	keys = xcalloc(n + 1, sizeof *keys);
	for (size_t t = 0; txn_types[t] != NULL; t++) {
		for (const char *const *s = txn_types[t]->steps; *s != NULL; s++) {
			size_t i;
			for (i = 0; i < k && strcmp(keys[i].key, *s) != 0; i++)
				;
			if (i < k)
				continue;
			keys[k].key = *s;
			keys[k].kind = CFG_SCALAR;
			k++;
		}
	}
	return keys;
}

static void handle_step_latency(struct cfg_loader *ld, yaml_node_t *node, struct warn_conf *w)
{
	static const struct cfg_key dur = {.key = "latency",
	                                   .kind = CFG_SCALAR,
	                                   .handler = cfg_walk_duration,
	                                   .offset = offsetof(struct step_latency, ms),
	                                   .min = 1,
	                                   .max = CFG_MS_HOUR};
	struct cfg_key *steps;

	if (node->data.mapping.pairs.start == node->data.mapping.pairs.top) {
		cfg_walk_error_mark(ld, &node->start_mark, "e.g. latency: {tls_handshake: 500ms}",
		                    "'latency' mapping is empty");
		return;
	}
	steps = step_keys();
	w->latency_ms = 0;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key = cfg_walk_doc_node(ld, p->key);
		yaml_node_t *value = cfg_walk_doc_node(ld, p->value);
		struct step_latency sl = {NULL, 0};
		const char *k;
		size_t i;

		if (key == NULL || value == NULL)
			continue;
		if (key->type != YAML_SCALAR_NODE || value->type != YAML_SCALAR_NODE) {
			cfg_walk_error_mark(
			    ld, &key->start_mark, NULL,
			    "expected 'step: duration' pairs in latency, found %s",
			    cfg_walk_node_kind(key->type != YAML_SCALAR_NODE ? key : value));
			continue;
		}
		k = cfg_walk_scalar(cfg_node(key));
		for (i = 0; steps[i].key != NULL; i++)
			if (strcmp(steps[i].key, k) == 0)
				break;
		if (steps[i].key == NULL) {
			cfg_walk_unknown_key(ld, key, steps, "in latency (not a step name)", false);
			continue;
		}
		for (size_t j = 0; j < w->n_steps; j++)
			if (strcmp(w->steps[j].step, steps[i].key) == 0)
				cfg_walk_error_mark(ld, &key->start_mark, NULL,
				                    "duplicate step '%s' in latency", steps[i].key);
		if (cfg_walk_scalar_check(ld, value, k) == -1)
			continue;
		sl.ms = CFG_DURATION_UNSET;
		cfg_walk_duration(ld, cfg_node(value), &sl, &dur);
		if (sl.ms == CFG_DURATION_UNSET)
			continue;
		sl.step = xstrdup(steps[i].key);
		w->steps = xrealloc(w->steps, (w->n_steps + 1) * sizeof *w->steps);
		w->steps[w->n_steps++] = sl;
	}
	free(steps);
}

/* latency: a duration (every step) or a mapping of step name to duration */
static void handle_latency(struct cfg_loader *ld, struct cfg_node *value, void *obj,
                           const struct cfg_key *key)
{
	static const struct cfg_key dur = {.key = "latency",
	                                   .kind = CFG_SCALAR,
	                                   .handler = cfg_walk_duration,
	                                   .offset = offsetof(struct warn_conf, latency_ms),
	                                   .min = 1,
	                                   .max = CFG_MS_HOUR};
	yaml_node_t *node = cfg_yaml(value);
	struct warn_conf *w = obj;

	(void)key;
	if (node->type == YAML_SCALAR_NODE) {
		if (cfg_walk_scalar_check(ld, node, "latency") == 0)
			cfg_walk_duration(ld, value, w, &dur);
	} else if (node->type == YAML_MAPPING_NODE) {
		handle_step_latency(ld, node, w);
	} else {
		cfg_walk_error(ld, value, "e.g. latency: 2s, or latency: {tls_handshake: 500ms}",
		               "expected a duration or a mapping of step: duration for 'latency', "
		               "found %s",
		               cfg_walk_node_kind(node));
	}
}

const struct cfg_key cfg_daemon_warn_keys[] = {
    {.key = "expiry_days",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_uint,
     .offset = offsetof(struct warn_conf, expiry_days),
     .max = 3650},
    {.key = "latency", .kind = CFG_ANY, .handler = handle_latency},
    {.key = NULL},
};

void cfg_daemon_warn_init(struct warn_conf *w)
{
	w->expiry_days = UINT_MAX;
	w->latency_ms = CFG_DURATION_UNSET;
}

void cfg_daemon_warn_inherit(struct warn_conf *w, const struct warn_conf *d)
{
	if (w->expiry_days == UINT_MAX)
		w->expiry_days = d->expiry_days;
	if (w->latency_ms == CFG_DURATION_UNSET && w->steps == NULL) {
		w->latency_ms = d->latency_ms;
		if (d->n_steps > 0) {
			w->steps = xcalloc(d->n_steps, sizeof *w->steps);
			for (size_t i = 0; i < d->n_steps; i++) {
				w->steps[i].step = xstrdup(d->steps[i].step);
				w->steps[i].ms = d->steps[i].ms;
			}
			w->n_steps = d->n_steps;
		}
	}
}

void cfg_daemon_warn_clear(struct warn_conf *w)
{
	for (size_t i = 0; i < w->n_steps; i++)
		free(w->steps[i].step);
	free(w->steps);
}

/* ---- defaults: ---- */

static void handle_default_pending(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                                   const struct cfg_key *key)
{
	struct cfg_found found;

	cfg_walk_mapping(ld, node, cfg_walk_pending_keys, cfg_walk_field(obj, key),
	                 "in defaults.pending", &found);
	ld->def_pending = node;
}

const struct cfg_key cfg_daemon_defaults_keys[] = {
    {.key = "interval",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_duration,
     .offset = offsetof(struct config, default_interval_ms),
     .min = CFG_MS_SECOND,
     .max = 30 * CFG_MS_DAY},
    {.key = "timeout",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_duration,
     .offset = offsetof(struct config, default_timeout_ms),
     .min = 1,
     .max = CFG_MS_HOUR},
    {.key = "pending",
     .kind = CFG_MAPPING,
     .handler = handle_default_pending,
     .offset = offsetof(struct config, default_pending),
     .sub = cfg_walk_pending_keys},
    {.key = "max_attempts",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_uint,
     .offset = offsetof(struct config, max_attempts),
     .min = 1,
     .max = HEALTH_MAX_ATTEMPTS},
    {.key = "warn",
     .kind = CFG_MAPPING,
     .handler = cfg_walk_section,
     .offset = offsetof(struct config, default_warn),
     .sub = cfg_daemon_warn_keys},
    {.key = NULL},
};

/* ---- alerting: ---- */

/* Prometheus label names; the ones certprobe sets itself are reserved. */
static bool valid_label_name(const char *s)
{
	static const char *const reserved[] = {"alertname", "endpoint", "kind",
	                                       "severity",  "job",      NULL};

	if (!am_label_name_valid(s) || strncmp(s, "__", 2) == 0)
		return false;
	for (size_t i = 0; reserved[i] != NULL; i++)
		if (strcmp(s, reserved[i]) == 0)
			return false;
	return strlen(s) <= 64;
}

static void handle_am_labels(struct cfg_loader *ld, struct cfg_node *mapping, void *obj,
                             const struct cfg_key *k)
{
	struct alertmanager_conf *am = obj;
	yaml_node_t *node = cfg_yaml(mapping);

	(void)k;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key = cfg_walk_doc_node(ld, p->key);
		yaml_node_t *value = cfg_walk_doc_node(ld, p->value);
		const char *name;
		char buf[80];

		if (key == NULL || value == NULL)
			continue;
		if (key->type != YAML_SCALAR_NODE || value->type != YAML_SCALAR_NODE) {
			cfg_walk_error_mark(
			    ld, &key->start_mark, NULL,
			    "expected 'name: value' pairs in labels, found %s",
			    cfg_walk_node_kind(key->type != YAML_SCALAR_NODE ? key : value));
			continue;
		}
		name = cfg_walk_scalar(cfg_node(key));
		if (!valid_label_name(name)) {
			cfg_walk_error_mark(
			    ld, &key->start_mark,
			    "letters, digits and _, not starting with a digit or __; "
			    "alertname, endpoint, kind, severity and job are set by "
			    "certprobe",
			    "bad label name '%s'", cfg_walk_clip(name, buf, sizeof buf));
			continue;
		}
		if (cfg_walk_scalar_check(ld, value, name) == -1)
			continue;
		for (size_t i = 0; i < am->n_labels; i++)
			if (strcmp(am->labels[i].name, name) == 0)
				cfg_walk_error_mark(ld, &key->start_mark, NULL,
				                    "duplicate label '%s'", am->labels[i].name);
		am->labels = xrealloc(am->labels, (am->n_labels + 1) * sizeof *am->labels);
		am->labels[am->n_labels].name = xstrdup(name);
		am->labels[am->n_labels].value = xstrdup(cfg_walk_scalar(cfg_node(value)));
		am->n_labels++;
	}
}

static void handle_am_urls(struct cfg_loader *ld, struct cfg_node *list, void *obj,
                           const struct cfg_key *key)
{
	struct alertmanager_conf *am = obj;
	yaml_node_t *node = cfg_yaml(list);

	(void)key;
	if (node->data.sequence.items.start == node->data.sequence.items.top) {
		cfg_walk_error(ld, list, "e.g. urls: [\"http://127.0.0.1:9093\"]",
		               "'urls' is empty");
		return;
	}
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++) {
		yaml_node_t *item = cfg_walk_doc_node(ld, *it);
		const char *why, *s;
		char buf[80], whybuf[160];

		if (item == NULL)
			continue;
		if (item->type != YAML_SCALAR_NODE) {
			cfg_walk_error_mark(ld, &item->start_mark, NULL,
			                    "expected a URL in urls, found %s",
			                    cfg_walk_node_kind(item));
			continue;
		}
		if (cfg_walk_scalar_check(ld, item, "urls") == -1)
			continue;
		s = cfg_walk_scalar(cfg_node(item));
		why = cfg_walk_url_problem(s, whybuf, sizeof whybuf);
		if (why != NULL) {
			cfg_walk_error_mark(ld, &item->start_mark, NULL, "bad URL '%s': %s",
			                    cfg_walk_clip(s, buf, sizeof buf), why);
			continue;
		}
		am->urls = xrealloc(am->urls, (am->n_urls + 1) * sizeof *am->urls);
		am->urls[am->n_urls++] = xstrdup(s);
	}
}

static const struct cfg_key am_keys[] = {
    {.key = "urls", .kind = CFG_LIST, .handler = handle_am_urls, .flags = CFG_REQUIRED},
    {.key = "resend_interval",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_duration,
     .offset = offsetof(struct alertmanager_conf, resend_interval_ms),
     .min = 5 * CFG_MS_SECOND,
     .max = CFG_MS_HOUR},
    {.key = "timeout",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_duration,
     .offset = offsetof(struct alertmanager_conf, timeout_ms),
     .min = 1,
     .max = 5 * CFG_MS_MINUTE},
    {.key = "labels", .kind = CFG_MAPPING, .handler = handle_am_labels},
    {.key = "trust_store",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_path,
     .offset = offsetof(struct alertmanager_conf, trust_store)},
    {.key = NULL},
};

/* ---- alerting.icinga2 and alerting.nagios: passive results ---- */

/* char *: a name template (alert/passive.h) */
static void handle_template(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                            const struct cfg_key *key)
{
	const char *why = passive_template_problem(cfg_walk_scalar(node));

	if (why != NULL) {
		cfg_walk_error(ld, node, passive_template_fields, "bad name template: %s", why);
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

enum {
	I2_URL,
	I2_HOST,
	I2_SERVICE,
	I2_ENDPOINT_SERVICE,
	I2_ENDPOINTS,
	I2_CHECK_SOURCE,
	I2_USERNAME,
	I2_PASSWORD,
	I2_CLIENT_CERT,
	I2_CLIENT_KEY,
	I2_TRUST_STORE,
	I2_REFRESH,
	I2_TTL,
	I2_TIMEOUT,
};

static const struct cfg_key icinga2_keys[] = {
    [I2_URL] = {.key = "url",
                .kind = CFG_SCALAR,
                .handler = cfg_walk_url,
                .offset = offsetof(struct icinga2_conf, url),
                .flags = CFG_REQUIRED,
                .hint = "e.g. url: \"https://icinga.example.com:5665\""},
    [I2_HOST] = {.key = "host",
                 .kind = CFG_SCALAR,
                 .handler = handle_template,
                 .offset = offsetof(struct icinga2_conf, host)},
    [I2_SERVICE] = {.key = "service",
                    .kind = CFG_SCALAR,
                    .handler = handle_template,
                    .offset = offsetof(struct icinga2_conf, service)},
    [I2_ENDPOINT_SERVICE] = {.key = "endpoint_service",
                             .kind = CFG_SCALAR,
                             .handler = handle_template,
                             .offset = offsetof(struct icinga2_conf, endpoint_service)},
    [I2_ENDPOINTS] = {.key = "endpoints",
                      .kind = CFG_SCALAR,
                      .handler = cfg_walk_bool,
                      .offset = offsetof(struct icinga2_conf, endpoints)},
    [I2_CHECK_SOURCE] = {.key = "check_source",
                         .kind = CFG_SCALAR,
                         .handler = cfg_walk_string,
                         .offset = offsetof(struct icinga2_conf, check_source)},
    [I2_USERNAME] = {.key = "username",
                     .kind = CFG_SCALAR,
                     .handler = handle_basic_user,
                     .offset = offsetof(struct icinga2_conf, username)},
    [I2_PASSWORD] = {.key = "password",
                     .kind = CFG_MAPPING,
                     .handler = cfg_walk_secret,
                     .offset = offsetof(struct icinga2_conf, password),
                     .sub = cfg_walk_secret_keys},
    [I2_CLIENT_CERT] = {.key = "client_cert",
                        .kind = CFG_SCALAR,
                        .handler = cfg_walk_path,
                        .offset = offsetof(struct icinga2_conf, client_cert)},
    [I2_CLIENT_KEY] = {.key = "client_key",
                       .kind = CFG_SCALAR,
                       .handler = cfg_walk_secret_path,
                       .offset = offsetof(struct icinga2_conf, client_key)},
    [I2_TRUST_STORE] = {.key = "trust_store",
                        .kind = CFG_SCALAR,
                        .handler = cfg_walk_path,
                        .offset = offsetof(struct icinga2_conf, trust_store)},
    [I2_REFRESH] = {.key = "refresh",
                    .kind = CFG_SCALAR,
                    .handler = cfg_walk_duration,
                    .offset = offsetof(struct icinga2_conf, refresh_ms),
                    .min = CFG_MS_SECOND,
                    .max = CFG_MS_HOUR},
    [I2_TTL] = {.key = "ttl",
                .kind = CFG_SCALAR,
                .handler = cfg_walk_duration,
                .offset = offsetof(struct icinga2_conf, ttl_ms),
                .min = CFG_MS_SECOND,
                .max = CFG_MS_DAY},
    [I2_TIMEOUT] = {.key = "timeout",
                    .kind = CFG_SCALAR,
                    .handler = cfg_walk_duration,
                    .offset = offsetof(struct icinga2_conf, timeout_ms),
                    .min = 1,
                    .max = 5 * CFG_MS_MINUTE},
    {.key = NULL},
};

static void handle_icinga2(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                           const struct cfg_key *key)
{
	struct icinga2_conf *c = cfg_walk_field(obj, key);
	struct cfg_found f;

	cfg_walk_mapping(ld, node, icinga2_keys, c, "in icinga2", &f);
	cfg_walk_required(ld, node, icinga2_keys, &f, "icinga2");
	if (f.value[I2_PASSWORD] != NULL && f.value[I2_USERNAME] == NULL)
		cfg_walk_error(ld, f.key[I2_PASSWORD], "add username: (an ApiUser's name)",
		               "icinga2: a password needs a username");
	if (f.value[I2_USERNAME] != NULL && f.value[I2_PASSWORD] == NULL)
		cfg_walk_error(ld, f.key[I2_USERNAME],
		               "add password: {file: /path} (or value, env)",
		               "icinga2: a username needs a password");
	if ((f.value[I2_CLIENT_CERT] == NULL) != (f.value[I2_CLIENT_KEY] == NULL))
		cfg_walk_error(ld,
		               f.key[I2_CLIENT_CERT] != NULL ? f.key[I2_CLIENT_CERT]
		                                             : f.key[I2_CLIENT_KEY],
		               NULL, "icinga2: client_cert and client_key go together");
	if (f.value[I2_URL] != NULL && f.value[I2_USERNAME] == NULL &&
	    f.value[I2_CLIENT_CERT] == NULL)
		cfg_walk_error(ld, f.key[I2_URL],
		               "an ApiUser with password (username/password) or client_cn "
		               "(client_cert/client_key)",
		               "icinga2: the API needs credentials");
	if (f.value[I2_URL] != NULL && c->url != NULL && strncmp(c->url, "http://", 7) == 0)
		cfg_walk_error(ld, f.value[I2_URL], "Icinga 2's API listens on https only",
		               "icinga2: the URL must be https://");
}

enum {
	NG_COMMAND_FILE,
	NG_HOST,
	NG_SERVICE,
	NG_ENDPOINT_SERVICE,
	NG_ENDPOINTS,
	NG_HOST_CHECK,
	NG_REFRESH,
};

static const struct cfg_key nagios_keys[] = {
    [NG_COMMAND_FILE] = {.key = "command_file",
                         .kind = CFG_SCALAR,
                         .handler = cfg_walk_path,
                         .offset = offsetof(struct nagios_conf, command_file),
                         .flags = CFG_REQUIRED,
                         .hint = "e.g. command_file: /var/lib/nagios4/rw/nagios.cmd"},
    [NG_HOST] = {.key = "host",
                 .kind = CFG_SCALAR,
                 .handler = handle_template,
                 .offset = offsetof(struct nagios_conf, host)},
    [NG_SERVICE] = {.key = "service",
                    .kind = CFG_SCALAR,
                    .handler = handle_template,
                    .offset = offsetof(struct nagios_conf, service)},
    [NG_ENDPOINT_SERVICE] = {.key = "endpoint_service",
                             .kind = CFG_SCALAR,
                             .handler = handle_template,
                             .offset = offsetof(struct nagios_conf, endpoint_service)},
    [NG_ENDPOINTS] = {.key = "endpoints",
                      .kind = CFG_SCALAR,
                      .handler = cfg_walk_bool,
                      .offset = offsetof(struct nagios_conf, endpoints)},
    [NG_HOST_CHECK] = {.key = "host_check",
                       .kind = CFG_SCALAR,
                       .handler = cfg_walk_bool,
                       .offset = offsetof(struct nagios_conf, host_check)},
    [NG_REFRESH] = {.key = "refresh",
                    .kind = CFG_SCALAR,
                    .handler = cfg_walk_duration,
                    .offset = offsetof(struct nagios_conf, refresh_ms),
                    .min = CFG_MS_SECOND,
                    .max = CFG_MS_HOUR},
    {.key = NULL},
};

const struct cfg_key cfg_daemon_alerting_keys[] = {
    {.key = "alertmanager",
     .kind = CFG_MAPPING,
     .handler = cfg_walk_section,
     .offset = offsetof(struct config, alertmanager),
     .sub = am_keys},
    {.key = "icinga2",
     .kind = CFG_MAPPING,
     .handler = handle_icinga2,
     .offset = offsetof(struct config, icinga2),
     .sub = icinga2_keys},
    {.key = "nagios",
     .kind = CFG_MAPPING,
     .handler = cfg_walk_section,
     .offset = offsetof(struct config, nagios),
     .sub = nagios_keys},
    {.key = NULL},
};

/* ---- defaults of everything ---- */

/* The shipped config/icinga2/ and config/nagios/ objects: both probes of an HA pair
 * name the same ones (no {probe} by default). */
static void cfg_daemon_passive_defaults(struct config *cfg)
{
	struct icinga2_conf *i = &cfg->icinga2;
	struct nagios_conf *n = &cfg->nagios;

	if (i->host == NULL)
		i->host = xstrdup("certprobe-host");
	if (i->service == NULL)
		i->service = xstrdup("certprobe-passive-{name}");
	if (i->endpoint_service == NULL)
		i->endpoint_service = xstrdup("certprobe-passive-endpoint-{name}");
	if (i->refresh_ms == CFG_DURATION_UNSET)
		i->refresh_ms = CFG_MS_MINUTE;
	if (i->ttl_ms == CFG_DURATION_UNSET)
		i->ttl_ms = 3 * i->refresh_ms;
	if (i->timeout_ms == CFG_DURATION_UNSET)
		i->timeout_ms = 10 * CFG_MS_SECOND;
	if (n->host == NULL)
		n->host = xstrdup("certprobe-host");
	if (n->service == NULL)
		n->service = xstrdup("{name}");
	if (n->endpoint_service == NULL)
		n->endpoint_service = xstrdup("{kind} {name}");
	if (n->refresh_ms == CFG_DURATION_UNSET)
		n->refresh_ms = CFG_MS_MINUTE;
}

void cfg_daemon_init(struct config *cfg)
{
	cfg->default_interval_ms = CFG_DURATION_UNSET;
	cfg->default_timeout_ms = CFG_DURATION_UNSET;
	cfg->default_pending.poll_interval_ms = CFG_DURATION_UNSET;
	cfg->default_pending.max_wait_ms = CFG_DURATION_UNSET;
	cfg_daemon_warn_init(&cfg->default_warn);
	cfg->alertmanager.resend_interval_ms = CFG_DURATION_UNSET;
	cfg->alertmanager.timeout_ms = CFG_DURATION_UNSET;
	cfg->icinga2.endpoints = true;
	cfg->icinga2.refresh_ms = CFG_DURATION_UNSET;
	cfg->icinga2.ttl_ms = CFG_DURATION_UNSET;
	cfg->icinga2.timeout_ms = CFG_DURATION_UNSET;
	cfg->nagios.endpoints = true;
	cfg->nagios.host_check = true;
	cfg->nagios.refresh_ms = CFG_DURATION_UNSET;
	cfg->history = UINT_MAX;
	cfg->snmp.ping_interval_ms = CFG_DURATION_UNSET;
	cfg->snmp.notifications = true;
}

void cfg_daemon_finish(struct cfg_loader *ld, struct config *cfg)
{
	static const struct pending_conf pending = {30 * CFG_MS_SECOND, 10 * CFG_MS_MINUTE};

	if (cfg->state_dir == NULL)
		cfg->state_dir = xstrdup("/var/lib/certprobe");
	if (cfg->listen == NULL)
		cfg->listen = xstrdup("127.0.0.1:9793");
	if (cfg->max_per_endpoint == 0)
		cfg->max_per_endpoint = 2;
	if (cfg->max_attempts == 0)
		cfg->max_attempts = 3;
	if (cfg->default_interval_ms == CFG_DURATION_UNSET)
		cfg->default_interval_ms = 15 * CFG_MS_MINUTE;
	if (cfg->default_timeout_ms == CFG_DURATION_UNSET)
		cfg->default_timeout_ms = 30 * CFG_MS_SECOND;
	cfg_walk_pending_finish(ld, &cfg->default_pending, ld->def_pending, &pending,
	                        "defaults.pending.");
	if (cfg->default_warn.expiry_days == UINT_MAX)
		cfg->default_warn.expiry_days = 30;
	if (cfg->default_warn.latency_ms == CFG_DURATION_UNSET)
		cfg->default_warn.latency_ms = 0;
	if (cfg->alertmanager.resend_interval_ms == CFG_DURATION_UNSET)
		cfg->alertmanager.resend_interval_ms = CFG_MS_MINUTE;
	if (cfg->alertmanager.timeout_ms == CFG_DURATION_UNSET)
		cfg->alertmanager.timeout_ms = 10 * CFG_MS_SECOND;
	cfg_daemon_passive_defaults(cfg);
	if (cfg->history == UINT_MAX)
		cfg->history = 20;
	if (cfg->snmp.agentx == NULL)
		cfg->snmp.agentx = xstrdup("unix:/var/agentx/master");
	if (cfg->snmp.ping_interval_ms == CFG_DURATION_UNSET)
		cfg->snmp.ping_interval_ms = 15 * CFG_MS_SECOND;
}

void cfg_daemon_free(struct config *cfg)
{
	free(cfg->state_dir);
	free(cfg->listen);
	free(cfg->web.tls_cert);
	free(cfg->web.tls_key);
	free(cfg->web.username);
	secret_ref_clear(&cfg->web.password);
	for (size_t i = 0; i < cfg->alertmanager.n_urls; i++)
		free(cfg->alertmanager.urls[i]);
	free(cfg->alertmanager.urls);
	for (size_t i = 0; i < cfg->alertmanager.n_labels; i++) {
		free(cfg->alertmanager.labels[i].name);
		free(cfg->alertmanager.labels[i].value);
	}
	free(cfg->alertmanager.labels);
	free(cfg->alertmanager.trust_store);
	free(cfg->icinga2.url);
	free(cfg->icinga2.host);
	free(cfg->icinga2.service);
	free(cfg->icinga2.endpoint_service);
	free(cfg->icinga2.check_source);
	free(cfg->icinga2.username);
	secret_ref_clear(&cfg->icinga2.password);
	free(cfg->icinga2.client_cert);
	free(cfg->icinga2.client_key);
	free(cfg->icinga2.trust_store);
	free(cfg->nagios.command_file);
	free(cfg->nagios.host);
	free(cfg->nagios.service);
	free(cfg->nagios.endpoint_service);
	free(cfg->snmp.agentx);
	cfg_daemon_warn_clear(&cfg->default_warn);
}
