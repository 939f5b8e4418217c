/*
 * cfg_walk: the table-driven walker of the YAML configuration (netplan parse.c), as
 * seen by the tables: the config loader's own and every transaction type's (their
 * txn_type.keys). A table is an array of struct cfg_key ending with {NULL}; each entry
 * names a key, the node kind its value must be, the handler that parses it into a field
 * of the struct the table describes, and its flags. Handlers report problems at a node
 * through cfg_walk_error(), which the loader prints as file:line:col with the line and a
 * caret; values of keys flagged CFG_SECRET (and everything under a mapping whose table
 * holds one) are masked wherever they would be echoed. This header keeps libyaml out of
 * sight: nodes and the loader are opaque, and only config/ includes yaml.h.
 */
#ifndef CERTPROBE_CFG_WALK_H
#define CERTPROBE_CFG_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg_loader; /* one load in progress */
struct cfg_node;   /* a node of the document being loaded; valid during the load only */
struct pending_conf;

/* What a key's value must be; a mismatch is reported before the handler runs. */
enum cfg_node_kind {
	CFG_ANY = 0, /* the handler checks */
	CFG_SCALAR,
	CFG_LIST,
	CFG_MAPPING,
};

/* Bits of cfg_key.flags. */
enum cfg_key_flag {
	CFG_REQUIRED = 1u << 0, /* cfg_walk_required() reports it when absent */
	/*
	 * The value is a secret: never echoed in an error. A mapping whose table has such a
	 * key is a secret holder: its unknown keys and any value of the wrong shape are
	 * masked too, since they may be the secret.
	 */
	CFG_SECRET = 1u << 1,
	/*
	 * A list of transactions: each item takes the keys of sub plus those of every
	 * registered transaction type (txn_types[]). For the masker; the loader's own.
	 */
	CFG_TYPED = 1u << 2,
};

struct cfg_key;

/*
 * Parse node, the value of key, into obj (the struct the table describes; the field is
 * cfg_walk_field(obj, key)). The node already has key->kind, and a scalar is already
 * known to be non-empty and free of control characters and line breaks. Errors go
 * through cfg_walk_error(); a field whose value is bad is left as it was.
 */
typedef void cfg_key_handler(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                             const struct cfg_key *key);

struct cfg_key {
	const char *key; /* NULL ends the table */
	enum cfg_node_kind kind;
	cfg_key_handler *handler;
	size_t offset;  /* of the field in obj */
	unsigned flags; /* enum cfg_key_flag */
	uint64_t min;   /* cfg_walk_uint, cfg_walk_duration: the accepted range */
	uint64_t max;
	const char *hint; /* CFG_REQUIRED: the hint of "missing required key" (may be NULL) */
	/*
	 * The keys of the value (a mapping) or of each item (a list of mappings), for
	 * cfg_walk_section and cfg_walk_secret, and for the masker: set it on every key
	 * whose value is a mapping with known keys.
	 */
	const struct cfg_key *sub;
};

/* The longest table cfg_walk_mapping() takes, terminator excluded. */
#define CFG_KEYS_MAX 24

/* What a walk found: the key and value node of each table entry, NULL when absent. */
struct cfg_found {
	struct cfg_node *key[CFG_KEYS_MAX];
	struct cfg_node *value[CFG_KEYS_MAX];
};

/* A duration field that is absent, or present but invalid (an error was recorded). */
#define CFG_DURATION_UNSET UINT64_MAX

/* ---- walking ---- */

/*
 * Walk a mapping node against keys, writing into obj: unknown keys (with a "did you
 * mean" or the list of valid keys as hint), duplicates and wrong node kinds are errors;
 * each accepted value goes to its handler. where completes the messages ("in registrar").
 * found (required) receives what was present. Required keys are checked by the caller
 * with cfg_walk_required(), once it knows how to name the mapping.
 */
void cfg_walk_mapping(struct cfg_loader *ld, struct cfg_node *node, const struct cfg_key *keys,
                      void *obj, const char *where, struct cfg_found *found);

/*
 * Report each CFG_REQUIRED key of keys absent from found, at node: "<label>: missing
 * required key 'k'" (or without the label when it is NULL), with the key's hint.
 */
void cfg_walk_required(struct cfg_loader *ld, struct cfg_node *node, const struct cfg_key *keys,
                       const struct cfg_found *found, const char *label);

/*
 * Exactly one of the entries idx[0..n) of keys must be present. With none, the error
 * ("<what> needs exactly one of <choices>") points at the mapping; with more, at every
 * key after the first in file order. Returns the index of the first present entry, or -1.
 */
int cfg_walk_exactly_one(struct cfg_loader *ld, struct cfg_node *node, const struct cfg_key *keys,
                         const struct cfg_found *found, const int *idx, size_t n, const char *what,
                         const char *choices);

/* The value of key in a mapping node (its first occurrence); NULL when absent or node is
 * NULL or not a mapping. */
struct cfg_node *cfg_walk_child(struct cfg_loader *ld, struct cfg_node *node, const char *key);

/* ---- nodes and errors ---- */

/* The text of a scalar node (NUL-terminated; "" for other nodes). Valid during the load. */
const char *cfg_walk_scalar(const struct cfg_node *node);

/* The field of obj that key describes. */
void *cfg_walk_field(void *obj, const struct cfg_key *key);

/* Record an error at node's start (hint may be NULL). Never echoes a secret: see above. */
void cfg_walk_error(struct cfg_loader *ld, const struct cfg_node *node, const char *hint,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Record a warning there: printed like an error, but the load goes on to succeed. */
void cfg_walk_warning(struct cfg_loader *ld, const struct cfg_node *node, const char *hint,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * The same at byte offset off inside a scalar's text, when the text maps one to one
 * onto its line (a plain scalar on one line); at the node's start otherwise.
 */
void cfg_walk_error_in(struct cfg_loader *ld, const struct cfg_node *node, size_t off,
                       const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* s for a message, into buf (size bytes), cut at a character boundary with "..." when long. */
const char *cfg_walk_clip(const char *s, char *buf, size_t size);

/*
 * A scalar that must be one of two words: 0 for a, 1 for b, or -1 after
 * "<what> '<value>' (use <a> or <b>)".
 */
int cfg_walk_choice2(struct cfg_loader *ld, struct cfg_node *node, const char *what, const char *a,
                     const char *b);

/* ---- value parsers ---- */

/* A decimal number without sign or spaces, at most max: 0 and *out, or -1. */
int cfg_walk_parse_uint(const char *s, uint64_t max, uint64_t *out);

/*
 * http(s)://host[:port][/...] without spaces or credentials, the host as host_problem()
 * (HOST_URL) takes it: NULL, or why not (a static string, or buf when the reason names
 * the host; size 160 holds any).
 */
const char *cfg_walk_url_problem(const char *s, char *buf, size_t size);

/* ---- handlers (cfg_key_handler) ---- */

/* char *: a copy of the text. */
void cfg_walk_string(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                     const struct cfg_key *key);
/* char *: an absolute path. */
void cfg_walk_path(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                   const struct cfg_key *key);
/*
 * char *: an absolute path to a file that holds a secret (a {file: ...} secret, a private
 * key). A regular file that group or other can read is a warning (an error when the load
 * is strict, config_set_strict()), at the node, naming the mode.
 */
void cfg_walk_secret_path(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                          const struct cfg_key *key);
/* char *: an http(s) URL (cfg_walk_url_problem). */
void cfg_walk_url(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                  const struct cfg_key *key);
/* uint64_t milliseconds: a duration ("1h30m") within [key->min, key->max]. */
void cfg_walk_duration(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                       const struct cfg_key *key);
/* bool: true, false, yes or no. */
void cfg_walk_bool(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                   const struct cfg_key *key);
/* unsigned: a number within [key->min, key->max]. */
void cfg_walk_uint(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                   const struct cfg_key *key);
/* char *: an environment variable name. */
void cfg_walk_env(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                  const struct cfg_key *key);
/*
 * char *: an inline secret (flag the key CFG_SECRET). Refused in a file that group or
 * other may read.
 */
void cfg_walk_secret_value(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                           const struct cfg_key *key);
/*
 * struct secret_ref: {value | file | env}, exactly one. key->sub must be
 * cfg_walk_secret_keys.
 */
void cfg_walk_secret(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                     const struct cfg_key *key);
extern const struct cfg_key cfg_walk_secret_keys[];
/*
 * A mapping with the keys of key->sub, into the struct at key->offset of obj: "in <key>"
 * in its messages, and its required keys reported as "<key>: missing required key".
 */
void cfg_walk_section(struct cfg_loader *ld, struct cfg_node *node, void *obj,
                      const struct cfg_key *key);

/*
 * The keys of struct pending_conf (SCEP PENDING polling), for a cfg_walk_section key:
 * poll_interval and max_wait. Fields not given stay CFG_DURATION_UNSET until
 * cfg_walk_pending_finish().
 */
extern const struct cfg_key cfg_walk_pending_keys[];

/*
 * Once the file is walked: fill the fields of p that node (the pending mapping, or NULL
 * when absent) did not give from inherit, then check that max_wait is not shorter than
 * poll_interval, naming the keys "<prefix>max_wait".
 */
void cfg_walk_pending_finish(struct cfg_loader *ld, struct pending_conf *p, struct cfg_node *node,
                             const struct pending_conf *inherit, const char *prefix);

#endif
