/*
 * cfg_loader: what the config folder's modules share about one load in progress: the
 * loader itself, the casts between the opaque struct cfg_node and libyaml's nodes, and
 * the walker's entry points that need libyaml types. Config-internal: only the .c files
 * of config/ include this header (and with it yaml.h); types see cfg_walk.h only.
 */
#ifndef CERTPROBE_CFG_LOADER_H
#define CERTPROBE_CFG_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <yaml.h>

#include "config/cfg_source.h"
#include "config/cfg_walk.h"
#include "config/config.h"

#define CFG_MS_SECOND 1000ULL
#define CFG_MS_MINUTE (60 * CFG_MS_SECOND)
#define CFG_MS_HOUR (60 * CFG_MS_MINUTE)
#define CFG_MS_DAY (24 * CFG_MS_HOUR)

/*
 * The deepest flow nesting ('[', '{') any pass over a configuration accepts. libyaml's
 * scanner holds back every token while a simple key is possible and checks all open
 * levels per token, so '[' * 100,000 costs it a minute before a single event or token
 * comes out; it must be stopped while it scans.
 */
#define CFG_MAX_FLOW_DEPTH 64

/*
 * Input for a libyaml parser that hands the text over 64 bytes at a time and fails the
 * read (a reader error) once the scanner is more than CFG_MAX_FLOW_DEPTH flow levels
 * deep; too_deep then tells that error from others. Set up with cfg_yaml_input().
 */
struct cfg_yaml_input {
	const yaml_parser_t *parser;
	const unsigned char *p;
	size_t left;
	bool too_deep;
};
void cfg_yaml_input(yaml_parser_t *parser, struct cfg_yaml_input *in, const unsigned char *text,
                    size_t len);

struct cfg_txn_state; /* config.c's bookkeeping of one transaction */

struct cfg_loader {
	const char *name; /* for messages */
	struct cfg_source src;
	yaml_document_t doc;
	struct config *cfg;
	struct txn_conf **tail;
	bool check_mode; /* a real file: refuse inline secrets when group/other can read */
	mode_t mode;
	struct cfg_txn_state *txns;
	size_t ntxns;
	size_t txns_cap;
	size_t *names;    /* open-addressing set of txns indexes + 1 (0 = empty) */
	size_t names_cap; /* a power of two, at most half full */
	size_t names_used;
	struct cfg_node *def_pending; /* defaults.pending, when given */
};

static inline yaml_node_t *cfg_yaml(struct cfg_node *n)
{
	return (yaml_node_t *)(void *)n;
}

static inline const yaml_node_t *cfg_yaml_const(const struct cfg_node *n)
{
	return (const yaml_node_t *)(const void *)n;
}

static inline struct cfg_node *cfg_node(yaml_node_t *n)
{
	return (struct cfg_node *)(void *)n;
}

/* One table of a walk: its keys, where its handlers write, and what was found. */
struct cfg_walk_table {
	const struct cfg_key *keys;
	void *obj;
	struct cfg_found *found; /* zeroed by the walk */
	/*
	 * The keys of another kind of the same mapping (another transaction type's): one
	 * found only here is reported as "'k' does not apply to <foreign>", and still
	 * parsed into obj, so its value is checked too.
	 */
	bool foreign;
};

/*
 * Walk a mapping against several tables at once (a transaction: the common keys and its
 * type's). A key is looked up in the tables that are not foreign, in order, then in the
 * foreign ones. A key of several non-foreign tables with different handlers (the same
 * key of two types, when the type is unknown) is only checked for its node kind.
 * Unknown keys are reported with the keys of the non-foreign tables as candidates;
 * foreign names the mapping for keys of foreign tables ("a client-auth transaction").
 */
void cfg_walk_tables(struct cfg_loader *ld, struct cfg_node *node, struct cfg_walk_table *tables,
                     size_t n, const char *where, const char *foreign);

/* An error at a libyaml mark. */
void cfg_walk_error_mark(struct cfg_loader *ld, const yaml_mark_t *mark, const char *hint,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "a scalar", "an empty value", "a list", "a mapping": for "found %s" messages. */
const char *cfg_walk_node_kind(const yaml_node_t *n);

/* The node of a pair's key or value in the loader's document; NULL when there is none. */
yaml_node_t *cfg_walk_doc_node(struct cfg_loader *ld, int index);

/*
 * Empty values, NULs, control characters and line breaks are refused for every scalar
 * value: 0, or -1 after an error naming key.
 */
int cfg_walk_scalar_check(struct cfg_loader *ld, yaml_node_t *node, const char *key);

/*
 * "unknown key 'k' <where>", with a "did you mean" among keys or the valid keys as hint.
 * secret: the mapping holds a secret, so the key itself is not echoed.
 */
void cfg_walk_unknown_key(struct cfg_loader *ld, yaml_node_t *key, const struct cfg_key *keys,
                          const char *where, bool secret);

/* ms as the shortest duration text that says it exactly ("90s" is "90s", "2h"). */
void cfg_walk_format_duration(uint64_t ms, char *buf, size_t size);

#endif
