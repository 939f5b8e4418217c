/*
 * config: load and validate the YAML configuration (contract in config.h). libyaml
 * builds a document that {key, node kind, handler} tables walk (cfg_walk.h): the top
 * level and the daemon's keys (cfg_daemon.c), the keys every transaction has (here), and
 * each transaction type's own table, from its ops (txn_type.h). Every problem becomes a
 * positioned error (cfg_source.c); all are collected, sorted and printed with the source
 * line and a caret, with secret values masked (cfg_mask.c).
 *
 * Accepted document (each type's table documents its own keys). Unknown keys are
 * errors, and so is a key of another transaction type. "dur" is a duration: one or more
 * <integer><unit> with unit ms, s, m, h or d (500ms, 30s, 15m, 1h30m, 2d). Paths must be
 * absolute. Booleans are true, false, yes or no. Empty values are errors.
 *
 *   probe:                         optional mapping (cfg_daemon.c)
 *   defaults:                      optional mapping, inherited by every transaction
 *     interval: dur                default 15m; 1s .. 30d
 *     timeout: dur                 default 30s; > 0 and at most 1h
 *     pending: {poll_interval: dur, max_wait: dur}   SCEP PENDING polling, 30s and 10m
 *     warn: {expiry_days: N, latency: dur | {STEP: dur, ...}}
 *   alerting:                      optional mapping (cfg_daemon.c)
 *   transactions:                  required, a non-empty list of mappings:
 *     - name: NAME                 required, unique, 1-64 of A-Z a-z 0-9 _ . -, no leading .
 *       type: TYPE                 required; a registered type (txn_types[])
 *       interval: dur              default defaults.interval, same range
 *       timeout: dur               default defaults.timeout, same range
 *       warn: {...}                key by key from defaults.warn
 *       ...                        the keys of TYPE (txn_type.keys)
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/cfg_daemon.h"
#include "config/cfg_loader.h"
#include "config/cfg_mask.h"
#include "core/xalloc.h"
#include "transactions/txn_type.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
/*
 * Limits that keep a hostile or broken file cheap: libyaml's scanner costs grow with the
 * square of the flow depth (100,000 '[' took 63 s) and its composer looks aliases up in a
 * list (30,000 anchors: 8 s). A real configuration nests 6 deep and uses a few anchors.
 */
#define CONFIG_MAX_DEPTH CFG_MAX_FLOW_DEPTH
#define CONFIG_MAX_ANCHORS 1000
#define CONFIG_MAX_ALIASES 50000 /* five per transaction at 10,000 */

/* A type's keys as found in a transaction, kept for the type's conf_check. */
struct cfg_txn_part {
	const struct txn_type *type;
	void *spec;   /* the transaction's own, or a scratch one (another type's keys) */
	bool scratch; /* spec is the loader's, freed after its check */
	struct cfg_found found;
};

/* Per-transaction bookkeeping while loading: where things were, for later checks. */
struct cfg_txn_state {
	struct txn_conf *txn;
	yaml_node_t *name;
	const char *label; /* a valid name, even a duplicate one, for messages */
	yaml_node_t *interval;
	yaml_node_t *timeout;
	struct cfg_txn_part *parts; /* its type's keys, then any other type's that were found */
	size_t nparts;
};

/* ---- the keys every transaction has ---- */

/* FNV-1a */
static size_t name_hash(const char *s)
{
	size_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of name s in ld->names: where it is, or the empty slot it would take. */
static size_t name_slot(struct cfg_loader *ld, const char *s)
{
	size_t i;

	if (2 * (ld->names_used + 1) > ld->names_cap) {
		size_t old_cap = ld->names_cap, *old = ld->names;
		ld->names_cap = old_cap ? 2 * old_cap : 64;
		ld->names = xcalloc(ld->names_cap, sizeof *ld->names);
		for (size_t k = 0; k < old_cap; k++) {
			if (old[k] == 0)
				continue;
			i = name_hash(ld->txns[old[k] - 1].txn->name) & (ld->names_cap - 1);
			while (ld->names[i] != 0)
				i = (i + 1) & (ld->names_cap - 1);
			ld->names[i] = old[k];
		}
		free(old);
	}
	i = name_hash(s) & (ld->names_cap - 1);
	while (ld->names[i] != 0 && strcmp(ld->txns[ld->names[i] - 1].txn->name, s) != 0)
		i = (i + 1) & (ld->names_cap - 1);
	return i;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static void handle_name(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                        const struct cfg_key *key)
{
	struct cfg_txn_state *st = &ld->txns[ld->ntxns - 1];
	const char *s = cfg_walk_scalar(node);
	char buf[80];
	size_t i;

	if (!valid_name(s)) {
		cfg_walk_error(ld, node, NULL,
		               "bad transaction name '%s' (use 1-64 of A-Z a-z 0-9 _ . -)",
		               cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	if (s[0] == '.') {
		/* the name is a directory under state_dir: ".." would write into its parent */
		cfg_walk_error(ld, node, NULL,
		               "bad transaction name '%s' (it must not start with '.')",
		               cfg_walk_clip(s, buf, sizeof buf));
		return;
	}
	st->label = s;
	i = name_slot(ld, s);
	if (ld->names[i] != 0) {
		const struct cfg_txn_state *o = &ld->txns[ld->names[i] - 1];
		cfg_walk_error(ld, node, NULL,
		               "duplicate transaction name '%s' (first at line %zu)", s,
		               o->name->start_mark.line + 1);
		return;
	}
	ld->names[i] = ld->ntxns; /* this transaction's index + 1 */
	ld->names_used++;
	st->name = cfg_yaml(node);
	cfg_walk_string(ld, node, obj, key);
}

static void handle_type(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                        const struct cfg_key *key)
{
	const struct txn_type **dst = cfg_walk_field(obj, key);
	const struct txn_type *type = txn_type_find(cfg_walk_scalar(node));
	char buf[80], names[160];
	size_t n = 0;

	if (type != NULL) {
		*dst = type;
		return;
	}
	names[0] = '\0';
	for (size_t i = 0; txn_types[i] != NULL && n < sizeof names; i++)
		n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "",
		                      txn_types[i]->name);
	cfg_walk_error(ld, node, NULL, "unknown transaction type '%s' (supported: %s)",
	               cfg_walk_clip(cfg_walk_scalar(node), buf, sizeof buf), names);
}

enum txn_key { TXN_K_NAME, TXN_K_TYPE, TXN_K_INTERVAL, TXN_K_TIMEOUT, TXN_K_WARN };

static const struct cfg_key txn_keys[] = {
    [TXN_K_NAME] = {.key = "name",
                    .kind = CFG_SCALAR,
                    .handler = handle_name,
                    .offset = offsetof(struct txn_conf, name),
                    .flags = CFG_REQUIRED},
    [TXN_K_TYPE] = {.key = "type",
                    .kind = CFG_SCALAR,
                    .handler = handle_type,
                    .offset = offsetof(struct txn_conf, type),
                    .flags = CFG_REQUIRED},
    [TXN_K_INTERVAL] = {.key = "interval",
                        .kind = CFG_SCALAR,
                        .handler = cfg_walk_duration,
                        .offset = offsetof(struct txn_conf, interval_ms),
                        .min = CFG_MS_SECOND,
                        .max = 30 * CFG_MS_DAY},
    [TXN_K_TIMEOUT] = {.key = "timeout",
                       .kind = CFG_SCALAR,
                       .handler = cfg_walk_duration,
                       .offset = offsetof(struct txn_conf, timeout_ms),
                       .min = 1,
                       .max = CFG_MS_HOUR},
    [TXN_K_WARN] = {.key = "warn",
                    .kind = CFG_MAPPING,
                    .handler = cfg_walk_section,
                    .offset = offsetof(struct txn_conf, warn),
                    .sub = cfg_daemon_warn_keys},
    {.key = NULL},
};

static bool found_any(const struct cfg_found *found)
{
	for (size_t i = 0; i < CFG_KEYS_MAX; i++)
		if (found->key[i] != NULL)
			return true;
	return false;
}

/* The type a transaction mapping names (its first 'type' key), before the walk. */
static const struct txn_type *txn_type_of(struct cfg_loader *ld, yaml_node_t *node)
{
	struct cfg_node *type = cfg_walk_child(ld, cfg_node(node), "type");

	return type != NULL ? txn_type_find(cfg_walk_scalar(type)) : NULL;
}

/*
 * Walk one transaction: the common keys, and those of its type into a new spec. The
 * other types' keys are walked into scratch specs, so their values are checked too:
 * with a known type they are reported as not applying; with an unknown one they are
 * the type's keys as far as one can tell. finish() runs each type's conf_check on what
 * was found of its keys.
 */
static void load_txn(struct cfg_loader *ld, yaml_node_t *node, size_t index)
{
	struct txn_conf *txn = xcalloc(1, sizeof *txn);
	const struct txn_type *type = txn_type_of(ld, node);
	const struct txn_type **owner; /* of each table; NULL: the common keys */
	struct cfg_walk_table *tables;
	struct cfg_found *found;
	struct cfg_txn_state *st;
	char label[96], foreign[96] = "";
	size_t ntypes = 0, n = 1, own = 0;

	txn->interval_ms = CFG_DURATION_UNSET;
	txn->timeout_ms = CFG_DURATION_UNSET;
	cfg_daemon_warn_init(&txn->warn);
	txn->line = (unsigned)node->start_mark.line + 1;
	txn->type = type;
	*ld->tail = txn;
	ld->tail = &txn->next;
	ld->cfg->n_txns++;

	ld->txns = cfg_source_grow(ld->txns, &ld->txns_cap, ld->ntxns + 1, sizeof *ld->txns);
	st = &ld->txns[ld->ntxns++];
	memset(st, 0, sizeof *st);
	st->txn = txn;

	while (txn_types[ntypes] != NULL)
		ntypes++;
	owner = xcalloc(ntypes + 1, sizeof *owner);
	tables = xcalloc(ntypes + 1, sizeof *tables);
	found = xcalloc(ntypes + 1, sizeof *found);
	tables[0] = (struct cfg_walk_table){txn_keys, txn, &found[0], false};
	if (type != NULL) {
		txn->spec = type->conf_new();
		own = n;
		owner[n] = type;
		tables[n] = (struct cfg_walk_table){type->keys, txn->spec, &found[n], false};
		n++;
		snprintf(foreign, sizeof foreign, "%s %s transaction",
		         strchr("aeiou", type->name[0]) != NULL ? "an" : "a", type->name);
	}
	for (size_t i = 0; i < ntypes; i++) {
		if (txn_types[i] == type)
			continue;
		owner[n] = txn_types[i];
		tables[n] = (struct cfg_walk_table){txn_types[i]->keys, txn_types[i]->conf_new(),
		                                    &found[n], type != NULL};
		n++;
	}
	cfg_walk_tables(ld, cfg_node(node), tables, n, "in transaction", foreign);

	st->interval = cfg_yaml(found[0].value[TXN_K_INTERVAL]);
	st->timeout = cfg_yaml(found[0].value[TXN_K_TIMEOUT]);
	if (st->label != NULL)
		snprintf(label, sizeof label, "transaction '%s'", st->label);
	else
		snprintf(label, sizeof label, "transaction #%zu", index + 1);
	cfg_walk_required(ld, cfg_node(node), txn_keys, &found[0], label);
	if (type != NULL)
		cfg_walk_required(ld, cfg_node(node), type->keys, &found[own], label);
	/* another type's keys get that type's checks too, as their values do */
	st->parts = xcalloc(n, sizeof *st->parts);
	for (size_t t = 1; t < n; t++) {
		if (owner[t]->conf_check != NULL && (t == own || found_any(&found[t]))) {
			struct cfg_txn_part *part = &st->parts[st->nparts++];
			part->type = owner[t];
			part->spec = tables[t].obj;
			part->scratch = t != own;
			part->found = found[t];
		} else if (t != own) {
			owner[t]->conf_free(tables[t].obj);
		}
	}
	free(found);
	free(tables);
	free(owner);
}

static void handle_transactions(struct cfg_loader *ld, struct cfg_node *list, void *obj,
                                const struct cfg_key *key)
{
	yaml_node_t *node = cfg_yaml(list);

	(void)obj;
	(void)key;
	if (node->data.sequence.items.start == node->data.sequence.items.top) {
		cfg_walk_error(ld, list, "add at least one transaction under 'transactions:'",
		               "'transactions' is empty");
		return;
	}
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&ld->doc, *it);
		size_t index = (size_t)(it - node->data.sequence.items.start);

		if (item == NULL)
			continue;
		if (item->type != YAML_MAPPING_NODE) {
			cfg_walk_error_mark(ld, &item->start_mark, NULL,
			                    "expected a mapping for each transaction, found %s",
			                    cfg_walk_node_kind(item));
			continue;
		}
		load_txn(ld, item, index);
	}
}

enum root_key { ROOT_K_PROBE, ROOT_K_DEFAULTS, ROOT_K_ALERTING, ROOT_K_TRANSACTIONS };

/* The top level; its sub tables reach every key, which is how the masker finds secrets. */
static const struct cfg_key root_keys[] = {
    [ROOT_K_PROBE] = {.key = "probe",
                      .kind = CFG_MAPPING,
                      .handler = cfg_walk_section,
                      .sub = cfg_daemon_probe_keys},
    [ROOT_K_DEFAULTS] = {.key = "defaults",
                         .kind = CFG_MAPPING,
                         .handler = cfg_walk_section,
                         .sub = cfg_daemon_defaults_keys},
    [ROOT_K_ALERTING] = {.key = "alerting",
                         .kind = CFG_MAPPING,
                         .handler = cfg_walk_section,
                         .sub = cfg_daemon_alerting_keys},
    [ROOT_K_TRANSACTIONS] = {.key = "transactions",
                             .kind = CFG_LIST,
                             .handler = handle_transactions,
                             .flags = CFG_REQUIRED | CFG_TYPED,
                             .sub = txn_keys},
    {.key = NULL},
};

/* ---- the load ---- */

/* Fill inherited values and run the checks that need the whole document. */
static void finish(struct cfg_loader *ld)
{
	struct config *cfg = ld->cfg;

	cfg_daemon_finish(ld, cfg);
	for (size_t i = 0; i < ld->ntxns; i++) {
		struct cfg_txn_state *st = &ld->txns[i];
		struct txn_conf *t = st->txn;

		if (t->interval_ms == CFG_DURATION_UNSET && st->interval == NULL)
			t->interval_ms = cfg->default_interval_ms;
		if (t->timeout_ms == CFG_DURATION_UNSET && st->timeout == NULL)
			t->timeout_ms = cfg->default_timeout_ms;
		cfg_daemon_warn_inherit(&t->warn, &cfg->default_warn);
		for (size_t k = 0; k < st->nparts; k++) {
			struct cfg_txn_part *part = &st->parts[k];
			struct txn_conf view = *t;

			if (!part->scratch) {
				part->type->conf_check(ld, cfg, t, &part->found);
				continue;
			}
			view.type = part->type;
			view.spec = part->spec;
			part->type->conf_check(ld, cfg, &view, &part->found);
			part->type->conf_free(part->spec);
			part->spec = NULL;
		}
	}
}

static void syntax_error(struct cfg_loader *ld, const yaml_parser_t *parser)
{
	unsigned line, col;
	const char *hint = NULL;
	char hbuf[96];
	size_t off;

	if (parser->error == YAML_MEMORY_ERROR) {
		cfg_source_error(&ld->src, 0, 0, NULL, "out of memory while parsing");
		return;
	}
	if (parser->error == YAML_READER_ERROR) {
		cfg_source_position(&ld->src, parser->problem_offset, &line, &col);
	} else {
		line = (unsigned)parser->problem_mark.line + 1;
		col = (unsigned)parser->problem_mark.column + 1;
	}
	off = cfg_source_offset(&ld->src, line - 1, col - 1);
	if (off < ld->src.len && ld->src.text[off] == '\t') {
		hint = "indent with spaces; YAML does not allow tabs here";
	} else if (parser->context != NULL && strstr(parser->context, "quoted scalar") != NULL) {
		snprintf(hbuf, sizeof hbuf, "the quoted string opened at line %zu is never closed",
		         parser->context_mark.line + 1);
		hint = hbuf;
	} else if (parser->problem != NULL && (strstr(parser->problem, "expected key") != NULL ||
	                                       strstr(parser->problem, "expected ':'") != NULL)) {
		hint = "check the indentation of this line and the one above";
	}
	if (parser->context != NULL)
		cfg_source_error(&ld->src, line, col, hint,
		                 "YAML syntax error: %s (%s at line %zu)",
		                 parser->problem ? parser->problem : "unknown", parser->context,
		                 parser->context_mark.line + 1);
	else
		cfg_source_error(&ld->src, line, col, hint, "YAML syntax error: %s",
		                 parser->problem ? parser->problem : "unknown");
}

static void document_wipe_delete(yaml_document_t *doc)
{
	for (yaml_node_t *n = doc->nodes.start; n != NULL && n < doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE && n->data.scalar.value != NULL)
			explicit_bzero(n->data.scalar.value, n->data.scalar.length);
	yaml_document_delete(doc);
}

static void walk_document(struct cfg_loader *ld)
{
	yaml_node_t *root = yaml_document_get_root_node(&ld->doc);
	struct cfg_found found;

	if (root == NULL) {
		cfg_source_error(&ld->src, 1, 1, "see the example configuration",
		                 "empty configuration; expected a mapping with a 'transactions' "
		                 "list");
		return;
	}
	if (root->type != YAML_MAPPING_NODE) {
		cfg_walk_error_mark(ld, &root->start_mark, NULL,
		                    "expected a mapping at the top level, found %s",
		                    cfg_walk_node_kind(root));
		return;
	}
	cfg_walk_mapping(ld, cfg_node(root), root_keys, ld->cfg, "at the top level", &found);
	cfg_walk_required(ld, cfg_node(root), root_keys, &found, NULL);
}

/* Set once, before the first load, by the command line (--strict). */
static bool config_strict;

void config_set_strict(bool strict)
{
	config_strict = strict;
}

static void report(struct cfg_loader *ld, FILE *errout)
{
	struct cfg_span *masks = NULL;
	size_t nmasks = 0;

	if (errout == NULL || ld->src.nerrors + ld->src.nwarnings == 0)
		return;
	cfg_source_index_chars(&ld->src);
	cfg_mask_compute(&ld->src, root_keys, &masks, &nmasks);
	cfg_source_report(&ld->src, errout, masks, nmasks);
	free(masks);
}

static void parser_wipe_delete(yaml_parser_t *parser)
{
	if (parser->buffer.start != NULL)
		explicit_bzero(parser->buffer.start,
		               (size_t)(parser->buffer.end - parser->buffer.start));
	if (parser->raw_buffer.start != NULL)
		explicit_bzero(parser->raw_buffer.start,
		               (size_t)(parser->raw_buffer.end - parser->raw_buffer.start));
	yaml_parser_delete(parser);
}

/*
 * One pass over the events before the document is composed: false, with an error at the
 * place, when the file nests deeper than CONFIG_MAX_DEPTH or has more anchors or aliases
 * than allowed. A syntax error ends the pass quietly: the load reports it.
 */
static bool within_limits(struct cfg_loader *ld)
{
	size_t depth = 0, anchors = 0, aliases = 0;
	struct cfg_yaml_input in;
	yaml_parser_t parser;
	yaml_event_t ev;
	bool ok = true, end = false;

	if (!yaml_parser_initialize(&parser))
		return true; /* the load reports it */
	cfg_yaml_input(&parser, &in, ld->src.text, ld->src.len);
	while (ok && !end) {
		const yaml_char_t *anchor = NULL;
		if (!yaml_parser_parse(&parser, &ev)) {
			if (in.too_deep) {
				cfg_walk_error_mark(ld, &parser.mark, NULL,
				                    "nested deeper than %d levels",
				                    CONFIG_MAX_DEPTH);
				ok = false;
			}
			break;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
			anchor = ev.data.sequence_start.anchor;
			goto open;
		case YAML_MAPPING_START_EVENT:
			anchor = ev.data.mapping_start.anchor;
		open:
			if (++depth > CONFIG_MAX_DEPTH) {
				cfg_walk_error_mark(ld, &ev.start_mark, NULL,
				                    "nested deeper than %d levels",
				                    CONFIG_MAX_DEPTH);
				ok = false;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			/* scalars may be secrets: wiped like the document's */
			if (ev.data.scalar.value != NULL)
				explicit_bzero(ev.data.scalar.value, ev.data.scalar.length);
			break;
		case YAML_ALIAS_EVENT:
			if (++aliases > CONFIG_MAX_ALIASES) {
				cfg_walk_error_mark(ld, &ev.start_mark, NULL,
				                    "more than %d aliases", CONFIG_MAX_ALIASES);
				ok = false;
			}
			break;
		case YAML_STREAM_END_EVENT:
			end = true;
			break;
		default:
			break;
		}
		if (ok && anchor != NULL && ++anchors > CONFIG_MAX_ANCHORS) {
			cfg_walk_error_mark(ld, &ev.start_mark, NULL, "more than %d anchors",
			                    CONFIG_MAX_ANCHORS);
			ok = false;
		}
		yaml_event_delete(&ev);
	}
	parser_wipe_delete(&parser);
	return ok;
}

static struct config *load(const char *name, const unsigned char *buf, size_t len, FILE *errout,
                           unsigned *nerrors, bool check_mode, mode_t mode)
{
	struct cfg_loader ld;
	struct config *cfg = NULL;
	yaml_parser_t parser;
	yaml_document_t next;
	bool have_parser = false, have_doc = false;
	int rc;

	memset(&ld, 0, sizeof ld);
	ld.name = name != NULL ? name : "(config)";
	ld.check_mode = check_mode;
	ld.mode = mode;
	ld.cfg = xcalloc(1, sizeof *ld.cfg);
	ld.cfg->path = xstrdup(ld.name);
	cfg_daemon_init(ld.cfg);
	ld.tail = &ld.cfg->txns;

	rc = cfg_source_init(&ld.src, ld.name, buf, len);
	if (rc == -1 || !within_limits(&ld))
		goto out;
	if (!yaml_parser_initialize(&parser)) {
		cfg_source_error(&ld.src, 0, 0, NULL, "cannot initialise the YAML parser");
		goto out;
	}
	have_parser = true;
	yaml_parser_set_input_string(&parser, ld.src.text, ld.src.len);
	if (!yaml_parser_load(&parser, &ld.doc)) {
		syntax_error(&ld, &parser);
		goto out;
	}
	have_doc = true;
	walk_document(&ld);
	if (!yaml_parser_load(&parser, &next)) {
		syntax_error(&ld, &parser);
	} else {
		if (yaml_document_get_root_node(&next) != NULL)
			cfg_walk_error_mark(&ld, &next.start_mark, NULL,
			                    "only one YAML document is allowed per file");
		document_wipe_delete(&next);
	}
	finish(&ld);
out:
	if (have_doc)
		document_wipe_delete(&ld.doc);
	if (have_parser)
		parser_wipe_delete(&parser);
	if (config_strict)
		cfg_source_warnings_to_errors(&ld.src);
	if (nerrors != NULL)
		*nerrors = (unsigned)(ld.src.nerrors + ld.src.dropped);
	if (ld.src.nerrors == 0) {
		cfg = ld.cfg;
		ld.cfg = NULL;
	}
	report(&ld, errout);
	config_free(ld.cfg);
	for (size_t i = 0; i < ld.ntxns; i++) {
		for (size_t k = 0; k < ld.txns[i].nparts; k++)
			if (ld.txns[i].parts[k].scratch)
				ld.txns[i].parts[k].type->conf_free(ld.txns[i].parts[k].spec);
		free(ld.txns[i].parts);
	}
	free(ld.txns);
	free(ld.names);
	cfg_source_free(&ld.src);
	return cfg;
}

struct config *config_load_buffer(const char *name, const char *buf, size_t len, FILE *errout,
                                  unsigned *nerrors)
{
	return load(name, (const unsigned char *)(buf != NULL ? buf : ""), buf != NULL ? len : 0,
	            errout, nerrors, false, 0);
}

struct config *config_load(const char *path, FILE *errout, unsigned *nerrors)
{
	struct config *cfg = NULL;
	unsigned char *buf = NULL;
	struct stat st;
	size_t len = 0;
	int fd, rc;

	if (nerrors != NULL)
		*nerrors = 1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		if (errout != NULL)
			fprintf(errout, "%s: cannot open: %s\n", path, strerror(errno));
		goto out;
	}
	rc = fstat(fd, &st);
	if (rc == -1 || !S_ISREG(st.st_mode)) {
		if (errout != NULL)
			fprintf(errout, "%s: not a regular file\n", path);
		goto out;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		if (errout != NULL)
			fprintf(errout, "%s: too large (over %d bytes)\n", path, CONFIG_MAX_BYTES);
		goto out;
	}
	buf = xmalloc(CONFIG_MAX_BYTES + 1);
	for (;;) {
		ssize_t n = read(fd, buf + len, CONFIG_MAX_BYTES + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			if (errout != NULL)
				fprintf(errout, "%s: cannot read: %s\n", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_MAX_BYTES) {
			if (errout != NULL)
				fprintf(errout, "%s: too large (over %d bytes)\n", path,
				        CONFIG_MAX_BYTES);
			goto out;
		}
	}
	cfg = load(path, buf, len, errout, nerrors, true, st.st_mode);
out:
	if (errout != NULL)
		fflush(errout);
	if (buf != NULL)
		explicit_bzero(buf, len);
	free(buf);
	if (fd != -1)
		close(fd);
	return cfg;
}

void config_free_txn(struct txn_conf *t)
{
	free(t->name);
	cfg_daemon_warn_clear(&t->warn);
	if (t->type != NULL)
		t->type->conf_free(t->spec);
	free(t);
}

void config_free(struct config *cfg)
{
	struct txn_conf *t, *next;

	if (cfg == NULL)
		return;
	for (t = cfg->txns; t != NULL; t = next) {
		next = t->next;
		config_free_txn(t);
	}
	free(cfg->path);
	cfg_daemon_free(cfg);
	free(cfg);
}

struct txn_conf *config_find_txn(const struct config *cfg, const char *name)
{
	if (cfg == NULL || name == NULL)
		return NULL;
	for (struct txn_conf *t = cfg->txns; t != NULL; t = t->next)
		if (t->name != NULL && strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

/* ---- durations ---- */

int config_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t total = 0;
	const char *p = s;
	int rc = -1;

	if (s == NULL || ms == NULL || *s == '\0')
		goto out;
	while (*p != '\0') {
		uint64_t n = 0, unit;
		size_t digits = 0;

		while (*p >= '0' && *p <= '9') {
			unsigned d = (unsigned)(*p - '0');
			if (n > (UINT64_MAX - d) / 10)
				goto out;
			n = n * 10 + d;
			p++;
			digits++;
		}
		if (digits == 0)
			goto out;
		if (p[0] == 'm' && p[1] == 's') {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = CFG_MS_SECOND;
			p++;
		} else if (*p == 'm') {
			unit = CFG_MS_MINUTE;
			p++;
		} else if (*p == 'h') {
			unit = CFG_MS_HOUR;
			p++;
		} else if (*p == 'd') {
			unit = CFG_MS_DAY;
			p++;
		} else {
			goto out;
		}
		if (n > UINT64_MAX / unit)
			goto out;
		n *= unit;
		if (total > UINT64_MAX - n)
			goto out;
		total += n;
	}
	*ms = total;
	rc = 0;
out:
	return rc;
}

/* Every key of table and its sub-tables, depth first (the tables are a small tree). */
static void visit_keys(const struct cfg_key *table, unsigned depth, config_key_cb *cb, void *arg)
{
	for (size_t i = 0; depth < 8 && table != NULL && table[i].key != NULL; i++) {
		cb(table[i].key, (table[i].flags & CFG_SECRET) != 0, arg);
		visit_keys(table[i].sub, depth + 1, cb, arg);
	}
}

void config_visit_keys(config_key_cb *cb, void *arg)
{
	visit_keys(root_keys, 0, cb, arg);
	for (size_t i = 0; txn_types[i] != NULL; i++)
		visit_keys(txn_types[i]->keys, 1, cb, arg);
}
