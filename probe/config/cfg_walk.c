/*
 * cfg_walk: the table walker and the generic value parsers (contract in cfg_walk.h and
 * cfg_loader.h). A walk checks each pair of a mapping against {key, kind, handler}
 * tables: unknown keys get a "did you mean" by edit distance, duplicates name the first
 * line, wrong node kinds and bad scalars are reported before any handler sees them.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include "config/cfg_loader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config/secret.h"
#include "core/host.h"
#include "core/xalloc.h"

/* ---- nodes and errors ---- */

const char *cfg_walk_scalar(const struct cfg_node *node)
{
	const yaml_node_t *n = cfg_yaml_const(node);

	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return "";
	return (const char *)n->data.scalar.value;
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool scalar_is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return n->data.scalar.length == 0;
	return n->data.scalar.length == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	       strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *cfg_walk_node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return scalar_is_null(n) ? "an empty value" : "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static const char *kind_name(enum cfg_node_kind k)
{
	switch (k) {
	case CFG_SCALAR:
		return "a scalar";
	case CFG_LIST:
		return "a list";
	case CFG_MAPPING:
		return "a mapping";
	default:
		return "nothing";
	}
}

static bool kind_matches(enum cfg_node_kind k, const yaml_node_t *n)
{
	switch (k) {
	case CFG_ANY:
		return true;
	case CFG_SCALAR:
		return n->type == YAML_SCALAR_NODE;
	case CFG_LIST:
		return n->type == YAML_SEQUENCE_NODE;
	case CFG_MAPPING:
		return n->type == YAML_MAPPING_NODE;
	}
	return false;
}

yaml_node_t *cfg_walk_doc_node(struct cfg_loader *ld, int index)
{
	return yaml_document_get_node(&ld->doc, index);
}

void *cfg_walk_field(void *obj, const struct cfg_key *key)
{
	return (char *)obj + key->offset;
}

static void error_vmark(struct cfg_loader *ld, const yaml_mark_t *mark, const char *hint,
                        const char *fmt, va_list ap)
{
	cfg_source_verror(&ld->src, (unsigned)mark->line + 1, (unsigned)mark->column + 1,
	                  mark->index, hint, fmt, ap);
}

void cfg_walk_error_mark(struct cfg_loader *ld, const yaml_mark_t *mark, const char *hint,
                         const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vmark(ld, mark, hint, fmt, ap);
	va_end(ap);
}

void cfg_walk_error(struct cfg_loader *ld, const struct cfg_node *node, const char *hint,
                    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vmark(ld, &cfg_yaml_const(node)->start_mark, hint, fmt, ap);
	va_end(ap);
}

void cfg_walk_warning(struct cfg_loader *ld, const struct cfg_node *node, const char *hint,
                      const char *fmt, ...)
{
	const yaml_mark_t *mark = &cfg_yaml_const(node)->start_mark;
	va_list ap;

	va_start(ap, fmt);
	cfg_source_vwarning(&ld->src, (unsigned)mark->line + 1, (unsigned)mark->column + 1,
	                    mark->index, hint, fmt, ap);
	va_end(ap);
}

void cfg_walk_error_in(struct cfg_loader *ld, const struct cfg_node *node, size_t off,
                       const char *hint, const char *fmt, ...)
{
	const yaml_node_t *n = cfg_yaml_const(node);
	yaml_mark_t mark = n->start_mark;
	va_list ap;

	if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    n->start_mark.line == n->end_mark.line) {
		size_t chars = 0;
		for (size_t i = 0; i < off && i < n->data.scalar.length; i++)
			if ((n->data.scalar.value[i] & 0xc0) != 0x80)
				chars++;
		mark.column += chars;
		mark.index += chars;
	}
	va_start(ap, fmt);
	error_vmark(ld, &mark, hint, fmt, ap);
	va_end(ap);
}

const char *cfg_walk_clip(const char *s, char *buf, size_t size)
{
	size_t n = strlen(s);

	if (n < size) {
		memcpy(buf, s, n + 1);
		return buf;
	}
	n = size - 4;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(buf, s, n);
	memcpy(buf + n, "...", 4);
	return buf;
}

void cfg_walk_format_duration(uint64_t ms, char *buf, size_t size)
{
	if (ms != 0 && ms % CFG_MS_DAY == 0)
		snprintf(buf, size, "%llud", (unsigned long long)(ms / CFG_MS_DAY));
	else if (ms != 0 && ms % CFG_MS_HOUR == 0)
		snprintf(buf, size, "%lluh", (unsigned long long)(ms / CFG_MS_HOUR));
	else if (ms != 0 && ms % CFG_MS_MINUTE == 0)
		snprintf(buf, size, "%llum", (unsigned long long)(ms / CFG_MS_MINUTE));
	else if (ms != 0 && ms % CFG_MS_SECOND == 0)
		snprintf(buf, size, "%llus", (unsigned long long)(ms / CFG_MS_SECOND));
	else
		snprintf(buf, size, "%llums", (unsigned long long)ms);
}

/* ---- unknown keys ---- */

/* Optimal string alignment distance, case-insensitive; large for long strings. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[33][33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			char ca = (char)(a[i - 1] | 0x20), cb = (char)(b[j - 1] | 0x20);
			size_t cost = ca == cb ? 0 : 1;
			size_t v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && (a[i - 1] | 0x20) == (b[j - 2] | 0x20) &&
			    (a[i - 2] | 0x20) == (b[j - 1] | 0x20) && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* Whether an earlier table of the walk already has a key named k. */
static bool key_seen(const struct cfg_walk_table *tables, size_t t, const char *k)
{
	for (size_t u = 0; u < t; u++) {
		if (tables[u].foreign)
			continue;
		for (const struct cfg_key *f = tables[u].keys; f->key != NULL; f++)
			if (strcmp(f->key, k) == 0)
				return true;
	}
	return false;
}

static void unknown_key(struct cfg_loader *ld, yaml_node_t *key,
                        const struct cfg_walk_table *tables, size_t ntables, const char *where,
                        bool secret)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, n = 0;
	char valid[256], kbuf[64];
	const char *hint = NULL;

	valid[0] = '\0';
	for (size_t t = 0; t < ntables; t++) {
		if (tables[t].foreign)
			continue;
		for (const struct cfg_key *f = tables[t].keys; f->key != NULL; f++) {
			size_t d = edit_distance(scalar(key), f->key);
			if (key_seen(tables, t, f->key))
				continue;
			if (d < best_d && d <= (strlen(f->key) >= 6 ? 2u : 1u)) {
				best_d = d;
				best = f->key;
			}
			n += (size_t)snprintf(valid + n, n < sizeof valid ? sizeof valid - n : 0,
			                      "%s%s", n ? ", " : "valid keys: ", f->key);
			if (n >= sizeof valid)
				n = sizeof valid - 1;
		}
	}
	if (strcmp(scalar(key), "<<") == 0)
		hint = "YAML merge keys (<<) are not supported";
	else if (best == NULL)
		hint = valid;
	if (secret) {
		/* a stray key inside a secret mapping may itself be the secret */
		if (best != NULL)
			cfg_walk_error_mark(ld, &key->start_mark, hint,
			                    "unknown key %s; did you mean '%s'?", where, best);
		else
			cfg_walk_error_mark(ld, &key->start_mark, hint, "unknown key %s", where);
		return;
	}
	cfg_walk_clip(scalar(key), kbuf, sizeof kbuf);
	if (best != NULL)
		cfg_walk_error_mark(ld, &key->start_mark, hint,
		                    "unknown key '%s' %s; did you mean '%s'?", kbuf, where, best);
	else
		cfg_walk_error_mark(ld, &key->start_mark, hint, "unknown key '%s' %s", kbuf, where);
}

void cfg_walk_unknown_key(struct cfg_loader *ld, yaml_node_t *key, const struct cfg_key *keys,
                          const char *where, bool secret)
{
	struct cfg_walk_table t = {.keys = keys};

	unknown_key(ld, key, &t, 1, where, secret);
}

/* ---- walking ---- */

int cfg_walk_scalar_check(struct cfg_loader *ld, yaml_node_t *node, const char *key)
{
	const unsigned char *s = node->data.scalar.value;

	if (scalar_is_null(node)) {
		cfg_walk_error_mark(ld, &node->start_mark, NULL, "empty value for '%s'", key);
		return -1;
	}
	for (size_t i = 0; i < node->data.scalar.length; i++) {
		if (s[i] == '\n') {
			cfg_walk_error_mark(
			    ld, &node->start_mark,
			    "use a plain or quoted value, or |- to drop the final line break",
			    "line break in the value of '%s'", key);
			return -1;
		}
		if (s[i] < 0x20 || s[i] == 0x7f) {
			cfg_walk_error_mark(ld, &node->start_mark, NULL,
			                    "control character in the value of '%s'", key);
			return -1;
		}
	}
	return 0;
}

static bool holds_secret(const struct cfg_key *keys)
{
	for (const struct cfg_key *f = keys; f->key != NULL; f++)
		if (f->flags & CFG_SECRET)
			return true;
	return false;
}

static const struct cfg_key *lookup(const struct cfg_key *keys, const yaml_node_t *key, size_t *i)
{
	/* cfg_found holds CFG_KEYS_MAX entries: a longer table's tail is never matched */
	for (*i = 0; *i < CFG_KEYS_MAX && keys[*i].key != NULL; (*i)++)
		if (strlen(keys[*i].key) == key->data.scalar.length &&
		    strcmp(keys[*i].key, scalar(key)) == 0)
			return &keys[*i];
	return NULL;
}

/* Find key in the tables, own ones first: the entry, its table (*t) and index (*i). */
static const struct cfg_key *find(const struct cfg_walk_table *tables, size_t n,
                                  const yaml_node_t *key, size_t *t, size_t *i)
{
	for (int pass = 0; pass < 2; pass++)
		for (*t = 0; *t < n; (*t)++) {
			const struct cfg_key *f;
			if (tables[*t].foreign != (pass == 1))
				continue;
			f = lookup(tables[*t].keys, key, i);
			if (f != NULL)
				return f;
		}
	return NULL;
}

void cfg_walk_tables(struct cfg_loader *ld, struct cfg_node *mapping, struct cfg_walk_table *tables,
                     size_t n, const char *where, const char *foreign)
{
	yaml_node_t *node = cfg_yaml(mapping);
	bool secret = false;

	for (size_t t = 0; t < n; t++) {
		memset(tables[t].found, 0, sizeof *tables[t].found);
		if (!tables[t].foreign && holds_secret(tables[t].keys))
			secret = true;
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key = yaml_document_get_node(&ld->doc, p->key);
		yaml_node_t *value = yaml_document_get_node(&ld->doc, p->value);
		bool check_kind = true, run = true;
		const struct cfg_key *f;
		struct cfg_found *found;
		size_t t, i;
		int rc;

		if (key == NULL || value == NULL)
			continue;
		if (key->type != YAML_SCALAR_NODE) {
			cfg_walk_error_mark(ld, &key->start_mark, NULL,
			                    "expected a scalar key %s, found %s", where,
			                    cfg_walk_node_kind(key));
			continue;
		}
		f = find(tables, n, key, &t, &i);
		if (f == NULL) {
			unknown_key(ld, key, tables, n, where, secret);
			continue;
		}
		found = tables[t].found;
		if (found->value[i] != NULL) {
			cfg_walk_error_mark(ld, &key->start_mark, NULL,
			                    "duplicate key '%s' (first at line %zu)", f->key,
			                    cfg_yaml(found->key[i])->start_mark.line + 1);
			continue;
		}
		found->key[i] = cfg_node(key);
		found->value[i] = cfg_node(value);
		if (tables[t].foreign)
			cfg_walk_error_mark(ld, &key->start_mark, NULL, "'%s' does not apply to %s",
			                    f->key, foreign != NULL ? foreign : "this transaction");
		/* the same key in two own tables means two things: neither parse applies */
		for (size_t u = t + 1; u < n && !tables[t].foreign; u++) {
			const struct cfg_key *g;
			size_t j;
			if (tables[u].foreign)
				continue;
			g = lookup(tables[u].keys, key, &j);
			if (g != NULL && g->kind != f->kind)
				check_kind = false;
			if (g != NULL && g->handler != f->handler)
				run = false;
		}
		if (!check_kind)
			continue;
		if (!kind_matches(f->kind, value)) {
			cfg_walk_error_mark(ld, &value->start_mark, NULL,
			                    "expected %s for '%s', found %s", kind_name(f->kind),
			                    f->key, cfg_walk_node_kind(value));
			continue;
		}
		if (value->type == YAML_SCALAR_NODE) {
			rc = cfg_walk_scalar_check(ld, value, f->key);
			if (rc == -1)
				continue;
		}
		if (run)
			f->handler(ld, cfg_node(value), tables[t].obj, f);
	}
}

void cfg_walk_mapping(struct cfg_loader *ld, struct cfg_node *node, const struct cfg_key *keys,
                      void *obj, const char *where, struct cfg_found *found)
{
	struct cfg_walk_table t = {.keys = keys, .obj = obj, .found = found};

	cfg_walk_tables(ld, node, &t, 1, where, NULL);
}

void cfg_walk_required(struct cfg_loader *ld, struct cfg_node *node, const struct cfg_key *keys,
                       const struct cfg_found *found, const char *label)
{
	for (size_t i = 0; keys[i].key != NULL; i++) {
		if (!(keys[i].flags & CFG_REQUIRED) || found->key[i] != NULL)
			continue;
		if (label != NULL)
			cfg_walk_error(ld, node, keys[i].hint, "%s: missing required key '%s'",
			               label, keys[i].key);
		else
			cfg_walk_error(ld, node, keys[i].hint, "missing required key '%s'",
			               keys[i].key);
	}
}

static size_t node_index(const struct cfg_node *n)
{
	return cfg_yaml_const(n)->start_mark.index;
}

int cfg_walk_exactly_one(struct cfg_loader *ld, struct cfg_node *node, const struct cfg_key *keys,
                         const struct cfg_found *found, const int *idx, size_t n, const char *what,
                         const char *choices)
{
	int first = -1;

	for (size_t k = 0; k < n; k++) {
		struct cfg_node *key = found->key[idx[k]];
		if (key == NULL)
			continue;
		if (first == -1 || node_index(key) < node_index(found->key[first]))
			first = idx[k];
	}
	if (first == -1) {
		cfg_walk_error(ld, node, NULL, "%s needs exactly one of %s", what, choices);
		return -1;
	}
	for (size_t k = 0; k < n; k++) {
		struct cfg_node *key = found->key[idx[k]];
		if (key == NULL || idx[k] == first)
			continue;
		cfg_walk_error(ld, key, NULL, "%s has both '%s' and '%s'; use exactly one of %s",
		               what, keys[first].key, keys[idx[k]].key, choices);
	}
	return first;
}

struct cfg_node *cfg_walk_child(struct cfg_loader *ld, struct cfg_node *mapping, const char *k)
{
	yaml_node_t *node = cfg_yaml(mapping);

	if (node == NULL || node->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key = yaml_document_get_node(&ld->doc, p->key);
		yaml_node_t *value = yaml_document_get_node(&ld->doc, p->value);
		if (key != NULL && value != NULL && key->type == YAML_SCALAR_NODE &&
		    strlen(k) == key->data.scalar.length && strcmp(k, scalar(key)) == 0)
			return cfg_node(value);
	}
	return NULL;
}

int cfg_walk_choice2(struct cfg_loader *ld, struct cfg_node *node, const char *what, const char *a,
                     const char *b)
{
	const char *s = cfg_walk_scalar(node);
	char buf[80];

	if (strcmp(s, a) == 0)
		return 0;
	if (strcmp(s, b) == 0)
		return 1;
	cfg_walk_error(ld, node, NULL, "%s '%s' (use %s or %s)", what,
	               cfg_walk_clip(s, buf, sizeof buf), a, b);
	return -1;
}

/* ---- value parsers ---- */

int cfg_walk_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static bool valid_env_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

const char *cfg_walk_url_problem(const char *s, char *buf, size_t size)
{
	const char *rest, *auth_end, *host_end, *port, *why;
	uint64_t v;

	if (strncasecmp(s, "http://", 7) == 0)
		rest = s + 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		rest = s + 8;
	else
		return "must start with http:// or https://";
	if (strpbrk(s, " \t") != NULL)
		return "must not contain spaces";
	auth_end = rest + strcspn(rest, "/?#");
	if (memchr(rest, '@', (size_t)(auth_end - rest)) != NULL)
		return "must not contain credentials";
	if (rest[0] == '[') {
		host_end = memchr(rest, ']', (size_t)(auth_end - rest));
		if (host_end == NULL)
			return "has an unclosed '[' in the host";
		if (host_end == rest + 1)
			return "has no host";
		port = host_end + 1;
		if (port != auth_end && *port != ':')
			return "has junk after the IPv6 address";
		host_end++; /* the brackets are part of the host */
	} else {
		host_end = memchr(rest, ':', (size_t)(auth_end - rest));
		if (host_end == NULL)
			host_end = auth_end;
		if (host_end == rest)
			return "has no host";
		port = host_end;
	}
	why = host_problem(rest, (size_t)(host_end - rest), HOST_URL);
	if (why != NULL) {
		snprintf(buf, size, "the host %s", why);
		return buf;
	}
	if (port != auth_end) {
		char digits[8];
		size_t n = (size_t)(auth_end - port - 1);
		if (n == 0 || n >= sizeof digits)
			return "has a bad port";
		memcpy(digits, port + 1, n);
		digits[n] = '\0';
		if (cfg_walk_parse_uint(digits, 65535, &v) == -1 || v == 0)
			return "has a bad port";
	}
	return NULL;
}

/* ---- handlers ---- */

void cfg_walk_string(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                     const struct cfg_key *key)
{
	char **dst = cfg_walk_field(obj, key);

	(void)ld;
	*dst = xstrdup(cfg_walk_scalar(node));
}

void cfg_walk_path(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                   const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node);
	char buf[80];

	if (s[0] != '/') {
		cfg_walk_error(ld, node, NULL, "'%s' must be an absolute path (got '%s')", key->key,
		               cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

void cfg_walk_secret_path(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                          const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node);
	struct stat st;
	char buf[80], *hint;
	int rc;

	if (s[0] != '/') {
		cfg_walk_path(ld, node, obj, key); /* its error */
		return;
	}
	cfg_walk_string(ld, node, obj, key);
	/*
	 * Only the file as it is now: one missing or unreadable is an error of the run that
	 * reads it. stat() does not open, so a FIFO here cannot block the load.
	 */
	if (!ld->check_mode)
		return;
	rc = stat(s, &st);
	if (rc == -1 || !S_ISREG(st.st_mode) || (st.st_mode & 044) == 0)
		return;
	hint = xasprintf("chmod 600 %s (owned by the user certprobed runs as)", s);
	cfg_walk_warning(ld, node, hint, "secret file '%s' is readable by group/other (mode %04o)",
	                 cfg_walk_clip(s, buf, sizeof buf), (unsigned)(st.st_mode & 07777));
	free(hint);
}

void cfg_walk_url(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                  const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node), *why;
	char buf[80], whybuf[160];

	why = cfg_walk_url_problem(s, whybuf, sizeof whybuf);
	if (why != NULL) {
		cfg_walk_error(ld, node, NULL, "bad URL '%s': %s",
		               cfg_walk_clip(s, buf, sizeof buf), why);
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

void cfg_walk_duration(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                       const struct cfg_key *key)
{
	uint64_t *dst = cfg_walk_field(obj, key);
	const char *s = cfg_walk_scalar(node);
	char buf[80], lim[32];
	uint64_t ms;
	int rc;

	rc = config_parse_duration(s, &ms);
	if (rc == -1) {
		bool digits = strspn(s, "0123456789") == strlen(s);
		cfg_walk_error(ld, node, digits ? "add a unit: ms, s, m, h or d" : NULL,
		               "bad duration '%s' (use e.g. 30s, 15m, 1h)",
		               cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	if (ms < key->min) {
		cfg_walk_format_duration(key->min, lim, sizeof lim);
		if (key->min == 1)
			cfg_walk_error(ld, node, NULL, "'%s' must be greater than 0", key->key);
		else
			cfg_walk_error(ld, node, NULL, "'%s' must be at least %s", key->key, lim);
		return;
	}
	if (ms > key->max) {
		cfg_walk_format_duration(key->max, lim, sizeof lim);
		cfg_walk_error(ld, node, NULL, "'%s' must be at most %s", key->key, lim);
		return;
	}
	*dst = ms;
}

void cfg_walk_bool(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                   const struct cfg_key *key)
{
	bool *dst = cfg_walk_field(obj, key);
	const char *s = cfg_walk_scalar(node);
	char buf[80];

	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
		*dst = true;
	else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
		*dst = false;
	else
		cfg_walk_error(ld, node, NULL, "bad boolean '%s' for '%s' (use true or false)",
		               cfg_walk_clip(s, buf, sizeof buf), key->key);
}

void cfg_walk_uint(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                   const struct cfg_key *key)
{
	unsigned *dst = cfg_walk_field(obj, key);
	const char *s = cfg_walk_scalar(node);
	char buf[80];
	uint64_t v;
	int rc;

	rc = cfg_walk_parse_uint(s, UINT64_MAX, &v);
	if (rc == -1 || v < key->min || v > key->max) {
		cfg_walk_error(ld, node, NULL, "'%s' must be a number from %llu to %llu (got '%s')",
		               key->key, (unsigned long long)key->min, (unsigned long long)key->max,
		               cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	*dst = (unsigned)v;
}

void cfg_walk_env(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                  const struct cfg_key *key)
{
	const char *s = cfg_walk_scalar(node);
	char buf[80];

	if (!valid_env_name(s)) {
		cfg_walk_error(ld, node, "use letters, digits and _, not starting with a digit",
		               "bad environment variable name '%s'",
		               cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	cfg_walk_string(ld, node, obj, key);
}

void cfg_walk_secret_value(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                           const struct cfg_key *key)
{
	char **dst = cfg_walk_field(obj, key);
	char *hint;

	*dst = xstrdup(cfg_walk_scalar(node));
	if (!ld->check_mode || (ld->mode & 077) == 0)
		return;
	hint = xasprintf("chmod 600 %s, or use {file: ...} or {env: ...}", ld->name);
	cfg_walk_error(ld, node, hint,
	               "inline secret in a file readable by group/other (mode %04o)",
	               (unsigned)(ld->mode & 07777));
	free(hint);
}

enum secret_key { SECRET_K_VALUE, SECRET_K_FILE, SECRET_K_ENV };

const struct cfg_key cfg_walk_secret_keys[] = {
    [SECRET_K_VALUE] = {.key = "value",
                        .kind = CFG_SCALAR,
                        .handler = cfg_walk_secret_value,
                        .offset = offsetof(struct secret_ref, value),
                        .flags = CFG_SECRET},
    [SECRET_K_FILE] = {.key = "file",
                       .kind = CFG_SCALAR,
                       .handler = cfg_walk_secret_path,
                       .offset = offsetof(struct secret_ref, path)},
    [SECRET_K_ENV] = {.key = "env",
                      .kind = CFG_SCALAR,
                      .handler = cfg_walk_env,
                      .offset = offsetof(struct secret_ref, env)},
    {.key = NULL},
};

void cfg_walk_secret(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                     const struct cfg_key *key)
{
	static const int idx[] = {SECRET_K_VALUE, SECRET_K_FILE, SECRET_K_ENV};
	static const enum secret_source source[] = {
	    [SECRET_K_VALUE] = SECRET_VALUE,
	    [SECRET_K_FILE] = SECRET_FILE,
	    [SECRET_K_ENV] = SECRET_ENV,
	};
	struct secret_ref *ref = cfg_walk_field(obj, key);
	struct cfg_found found;
	char where[64];
	int first;

	snprintf(where, sizeof where, "in %s", key->key);
	cfg_walk_mapping(ld, node, key->sub, ref, where, &found);
	first = cfg_walk_exactly_one(ld, node, key->sub, &found, idx, 3, key->key,
	                             "value, file or env");
	if (first >= 0)
		ref->source = source[first];
}

void cfg_walk_section(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                      const struct cfg_key *key)
{
	struct cfg_found found;
	char where[64];

	snprintf(where, sizeof where, "in %s", key->key);
	cfg_walk_mapping(ld, node, key->sub, cfg_walk_field(obj, key), where, &found);
	cfg_walk_required(ld, node, key->sub, &found, key->key);
}

const struct cfg_key cfg_walk_pending_keys[] = {
    {.key = "poll_interval",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_duration,
     .offset = offsetof(struct pending_conf, poll_interval_ms),
     .min = 1,
     .max = CFG_MS_DAY},
    {.key = "max_wait",
     .kind = CFG_SCALAR,
     .handler = cfg_walk_duration,
     .offset = offsetof(struct pending_conf, max_wait_ms),
     .min = 1,
     .max = 30 * CFG_MS_DAY},
    {.key = NULL},
};

void cfg_walk_pending_finish(struct cfg_loader *ld, struct pending_conf *p, struct cfg_node *node,
                             const struct pending_conf *inherit, const char *prefix)
{
	struct cfg_node *poll = cfg_walk_child(ld, node, "poll_interval");
	struct cfg_node *max_wait = cfg_walk_child(ld, node, "max_wait");
	struct cfg_node *at = max_wait != NULL ? max_wait : poll;
	char a[32], b[32];

	if (p->poll_interval_ms == CFG_DURATION_UNSET && poll == NULL)
		p->poll_interval_ms = inherit->poll_interval_ms;
	if (p->max_wait_ms == CFG_DURATION_UNSET && max_wait == NULL)
		p->max_wait_ms = inherit->max_wait_ms;
	if (at == NULL || p->poll_interval_ms == CFG_DURATION_UNSET ||
	    p->max_wait_ms == CFG_DURATION_UNSET || p->max_wait_ms >= p->poll_interval_ms)
		return;
	cfg_walk_format_duration(p->max_wait_ms, a, sizeof a);
	cfg_walk_format_duration(p->poll_interval_ms, b, sizeof b);
	cfg_walk_error(ld, at, NULL, "%smax_wait (%s) is shorter than %spoll_interval (%s)", prefix,
	               a, prefix, b);
}

/* ---- limited input ---- */

static int cfg_yaml_read(void *data, unsigned char *buf, size_t size, size_t *size_read)
{
	struct cfg_yaml_input *in = data;
	size_t n = size < 64 ? size : 64;

	if (in->parser->flow_level > CFG_MAX_FLOW_DEPTH) {
		in->too_deep = true;
		return 0;
	}
	if (n > in->left)
		n = in->left;
	memcpy(buf, in->p, n);
	in->p += n;
	in->left -= n;
	*size_read = n;
	return 1;
}

void cfg_yaml_input(yaml_parser_t *parser, struct cfg_yaml_input *in, const unsigned char *text,
                    size_t len)
{
	in->parser = parser;
	in->p = text;
	in->left = len;
	in->too_deep = false;
	yaml_parser_set_input(parser, cfg_yaml_read, in);
}
