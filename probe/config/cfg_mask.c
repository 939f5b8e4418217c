/*
 * cfg_mask: secret masking over libyaml's token stream (contract in cfg_mask.h). Each
 * open mapping or list carries the tables its keys are looked up in; a key's entry says
 * whether its value is a secret (CFG_SECRET), a holder of one (its sub table has a
 * secret key), or neither. Anchors are remembered so an alias in a secret place masks
 * the text it points to. Scalars are wiped from the token buffers as they pass.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include "config/cfg_mask.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/cfg_loader.h"
#include "config/cfg_walk.h"
#include "core/xalloc.h"
#include "transactions/txn_type.h"

enum mask_class { MASK_NONE = 0, MASK_HOLDER, MASK_ALL };

/* The tables a mapping's keys are looked up in: tabs[first, first + n); n == 0: none. */
struct mask_ctx {
	size_t first;
	size_t n;
	bool holder; /* one of the tables has a secret key */
};

struct mask_frame {
	enum mask_class cls;
	bool mapping;
	struct mask_ctx ctx; /* a mapping: its keys; a list: its items' */
	bool indentless;     /* a "- item" list without its own indentation is open here */
	enum mask_class indentless_cls;
	struct mask_ctx indentless_ctx;
	long anchor; /* anchor whose node ends with this frame, or -1 */
	long indentless_anchor;
};

struct anchor_span {
	char *name;
	size_t start;
	size_t end;
	bool closed;
};

/* Every table reachable from the root, and the keys found in them, for judging by name. */
struct mask_schema {
	const struct cfg_key **visited;
	size_t nvisited, visited_cap;
	const char **secret; /* names of CFG_SECRET keys */
	size_t nsecret, secret_cap;
	const struct cfg_key **holders; /* keys whose sub table holds a secret */
	size_t nholders, holders_cap;
};

struct mask_scan {
	const struct cfg_source *src;
	struct mask_schema schema;
	struct cfg_span *masks;
	size_t nmasks, masks_cap;
	const struct cfg_key **tabs; /* every context's tables, appended as they are met */
	size_t ntabs, tabs_cap;
	struct mask_frame *stack;
	size_t depth, stack_cap;
	struct anchor_span *anchors;
	size_t nanchors, anchors_cap;
	struct mask_ctx root;
	char key[32]; /* last mapping key; longer keys never match a table's */
	bool in_key;
	bool pending; /* the next node is the value of key */
	enum mask_class pending_cls;
	struct mask_ctx pending_ctx;
	long pending_anchor;
	size_t last_end;
};

static bool holds_secret(const struct cfg_key *keys)
{
	for (const struct cfg_key *f = keys; f->key != NULL; f++)
		if (f->flags & CFG_SECRET)
			return true;
	return false;
}

/* ---- the schema ---- */

static void schema_visit(struct mask_schema *s, const struct cfg_key *keys)
{
	if (keys == NULL)
		return;
	for (size_t i = 0; i < s->nvisited; i++)
		if (s->visited[i] == keys)
			return;
	s->visited =
	    cfg_source_grow(s->visited, &s->visited_cap, s->nvisited + 1, sizeof *s->visited);
	s->visited[s->nvisited++] = keys;
	for (const struct cfg_key *f = keys; f->key != NULL; f++) {
		if (f->flags & CFG_SECRET) {
			s->secret = cfg_source_grow(s->secret, &s->secret_cap, s->nsecret + 1,
			                            sizeof *s->secret);
			s->secret[s->nsecret++] = f->key;
		}
		if (f->sub != NULL && holds_secret(f->sub)) {
			s->holders = cfg_source_grow(s->holders, &s->holders_cap, s->nholders + 1,
			                             sizeof *s->holders);
			s->holders[s->nholders++] = f;
		}
		schema_visit(s, f->sub);
		if (f->flags & CFG_TYPED)
			for (size_t t = 0; txn_types[t] != NULL; t++)
				schema_visit(s, txn_types[t]->keys);
	}
}

static bool schema_secret(const struct mask_schema *s, const char *k)
{
	for (size_t i = 0; i < s->nsecret; i++)
		if (strcmp(s->secret[i], k) == 0)
			return true;
	return false;
}

/* ---- contexts ---- */

static void ctx_add(struct mask_scan *ms, struct mask_ctx *c, const struct cfg_key *keys)
{
	if (keys == NULL)
		return;
	ms->tabs = cfg_source_grow(ms->tabs, &ms->tabs_cap, ms->ntabs + 1, sizeof *ms->tabs);
	ms->tabs[ms->ntabs++] = keys;
	c->n++;
	if (holds_secret(keys))
		c->holder = true;
}

static struct mask_ctx ctx_begin(const struct mask_scan *ms)
{
	struct mask_ctx c = {ms->ntabs, 0, false};

	return c;
}

/* The tables of the value of the keys named k in c; *found and *secret say what k is. */
static struct mask_ctx ctx_lookup(struct mask_scan *ms, struct mask_ctx c, const char *k,
                                  bool *found, bool *secret)
{
	struct mask_ctx sub = ctx_begin(ms);

	*found = false;
	*secret = false;
	for (size_t t = c.first; t < c.first + c.n; t++) {
		for (const struct cfg_key *f = ms->tabs[t]; f->key != NULL; f++) {
			if (strcmp(f->key, k) != 0)
				continue;
			*found = true;
			if (f->flags & CFG_SECRET)
				*secret = true;
			ctx_add(ms, &sub, f->sub);
			if (f->flags & CFG_TYPED)
				for (size_t i = 0; txn_types[i] != NULL; i++)
					ctx_add(ms, &sub, txn_types[i]->keys);
		}
	}
	return sub;
}

/* A key no table of its mapping knows: the holders of that name anywhere. */
static struct mask_ctx ctx_holders(struct mask_scan *ms, const char *k)
{
	struct mask_ctx sub = ctx_begin(ms);

	for (size_t i = 0; i < ms->schema.nholders; i++)
		if (strcmp(ms->schema.holders[i]->key, k) == 0)
			ctx_add(ms, &sub, ms->schema.holders[i]->sub);
	return sub;
}

static bool ctx_knows(const struct mask_scan *ms, struct mask_ctx c, const char *k)
{
	for (size_t t = c.first; t < c.first + c.n; t++)
		for (const struct cfg_key *f = ms->tabs[t]; f->key != NULL; f++)
			if (strcmp(f->key, k) == 0)
				return true;
	return false;
}

/* ---- the scan ---- */

static void mask_add(struct mask_scan *ms, size_t start, size_t end)
{
	if (end <= start)
		return;
	ms->masks = cfg_source_grow(ms->masks, &ms->masks_cap, ms->nmasks + 1, sizeof *ms->masks);
	ms->masks[ms->nmasks].start = start;
	ms->masks[ms->nmasks].end = end;
	ms->nmasks++;
}

static struct mask_frame *mask_top(struct mask_scan *ms)
{
	return ms->depth > 0 ? &ms->stack[ms->depth - 1] : NULL;
}

static enum mask_class mask_key_class(struct mask_scan *ms, const char *k)
{
	struct mask_frame *top = mask_top(ms);

	if (top == NULL)
		return MASK_NONE;
	if (top->cls == MASK_ALL)
		return MASK_ALL;
	/* a stray key in a secret's mapping may itself be the secret */
	if (top->cls == MASK_HOLDER && !ctx_knows(ms, top->ctx, k))
		return MASK_ALL;
	return MASK_NONE;
}

/* The class of the value of ms->key, and the tables of its keys in *ctx. */
static enum mask_class mask_value_class(struct mask_scan *ms, struct mask_ctx *ctx)
{
	struct mask_frame *top = mask_top(ms);
	struct mask_ctx c = top != NULL ? top->ctx : ctx_begin(ms);
	bool found, secret;

	*ctx = ctx_begin(ms);
	if (top != NULL && top->cls == MASK_ALL)
		return MASK_ALL;
	*ctx = ctx_lookup(ms, c, ms->key, &found, &secret);
	if (found && secret)
		return MASK_ALL;
	if (found)
		return ctx->holder ? MASK_HOLDER : MASK_NONE;
	/* a key no table here knows: judge it by what its name means elsewhere */
	if (schema_secret(&ms->schema, ms->key))
		return MASK_ALL;
	*ctx = ctx_holders(ms, ms->key);
	if (ctx->holder)
		return MASK_HOLDER;
	/* and under a secret's mapping, whatever it is may be the secret */
	if (top != NULL && top->cls == MASK_HOLDER)
		return MASK_ALL;
	return MASK_NONE;
}

static enum mask_class mask_take_pending(struct mask_scan *ms, struct mask_ctx *ctx)
{
	struct mask_frame *top = mask_top(ms);

	if (ms->pending) {
		ms->pending = false;
		*ctx = ms->pending_ctx;
		return ms->pending_cls;
	}
	/* the document's node takes the root table, an item of a list the list's item tables */
	if (top == NULL)
		*ctx = ms->root;
	else
		*ctx = !top->mapping ? top->ctx : ctx_begin(ms);
	return top != NULL && top->cls == MASK_ALL ? MASK_ALL : MASK_NONE;
}

static void mask_close_anchor(struct mask_scan *ms, long idx, size_t end)
{
	if (idx < 0 || (size_t)idx >= ms->nanchors)
		return;
	ms->anchors[idx].end = end;
	ms->anchors[idx].closed = true;
}

static void mask_alias(struct mask_scan *ms, const char *name)
{
	size_t i = ms->nanchors;

	while (i > 0) {
		i--;
		if (strcmp(ms->anchors[i].name, name) == 0) {
			if (ms->anchors[i].closed)
				mask_add(ms, ms->anchors[i].start, ms->anchors[i].end);
			return;
		}
	}
}

static void mask_end_indentless(struct mask_scan *ms, struct mask_frame *f)
{
	if (f == NULL || !f->indentless)
		return;
	mask_close_anchor(ms, f->indentless_anchor, ms->last_end);
	f->indentless = false;
	f->indentless_anchor = -1;
}

static void mask_push(struct mask_scan *ms, enum mask_class cls, bool mapping, struct mask_ctx ctx)
{
	struct mask_frame *f;

	ms->stack = cfg_source_grow(ms->stack, &ms->stack_cap, ms->depth + 1, sizeof *ms->stack);
	f = &ms->stack[ms->depth++];
	memset(f, 0, sizeof *f);
	f->cls = cls;
	f->mapping = mapping;
	f->ctx = ctx;
	f->anchor = ms->pending_anchor;
	f->indentless_anchor = -1;
	ms->pending_anchor = -1;
}

/* A node that starts here: as a key (no tables) or as the pending value. */
static enum mask_class mask_node_class(struct mask_scan *ms, struct mask_ctx *ctx)
{
	enum mask_class cls;

	if (ms->in_key) {
		*ctx = ctx_begin(ms);
		cls = mask_key_class(ms, "");
	} else {
		cls = mask_take_pending(ms, ctx);
	}
	ms->in_key = false;
	return cls;
}

static void mask_token(struct mask_scan *ms, yaml_token_t *t)
{
	const struct cfg_source *src = ms->src;
	struct mask_frame *top = mask_top(ms);
	size_t start = cfg_source_mark_offset(src, t->start_mark.index, t->start_mark.line,
	                                      t->start_mark.column);
	size_t end =
	    cfg_source_mark_offset(src, t->end_mark.index, t->end_mark.line, t->end_mark.column);
	struct mask_ctx ctx;
	enum mask_class cls;

	switch (t->type) {
	case YAML_KEY_TOKEN:
		mask_end_indentless(ms, top);
		ms->pending = false;
		ms->in_key = true;
		ms->key[0] = '\0';
		break;
	case YAML_VALUE_TOKEN:
		ms->in_key = false;
		ms->pending = true;
		ms->pending_cls = mask_value_class(ms, &ms->pending_ctx);
		break;
	case YAML_SCALAR_TOKEN:
		if (ms->in_key || (!ms->pending && top != NULL && top->mapping)) {
			size_t n = t->data.scalar.length;
			if (n >= sizeof ms->key || memchr(t->data.scalar.value, '\0', n) != NULL)
				n = 0;
			memcpy(ms->key, t->data.scalar.value, n);
			ms->key[n] = '\0';
			cls = mask_key_class(ms, ms->key);
			ms->in_key = false;
		} else {
			cls = mask_take_pending(ms, &ctx);
		}
		if (cls != MASK_NONE)
			mask_add(ms, start, end);
		mask_close_anchor(ms, ms->pending_anchor, end);
		ms->pending_anchor = -1;
		break;
	case YAML_ALIAS_TOKEN:
		cls = mask_node_class(ms, &ctx);
		if (cls != MASK_NONE)
			mask_alias(ms, (const char *)t->data.alias.value);
		break;
	case YAML_ANCHOR_TOKEN:
		ms->anchors = cfg_source_grow(ms->anchors, &ms->anchors_cap, ms->nanchors + 1,
		                              sizeof *ms->anchors);
		ms->anchors[ms->nanchors].name = xstrdup((const char *)t->data.anchor.value);
		ms->anchors[ms->nanchors].start = start;
		ms->anchors[ms->nanchors].end = end;
		ms->anchors[ms->nanchors].closed = false;
		ms->pending_anchor = (long)ms->nanchors++;
		break;
	case YAML_BLOCK_MAPPING_START_TOKEN:
	case YAML_FLOW_MAPPING_START_TOKEN:
		cls = mask_node_class(ms, &ctx);
		mask_push(ms, cls, true, ctx);
		break;
	case YAML_BLOCK_SEQUENCE_START_TOKEN:
	case YAML_FLOW_SEQUENCE_START_TOKEN:
		cls = mask_node_class(ms, &ctx);
		mask_push(ms, cls == MASK_NONE ? MASK_NONE : MASK_ALL, false, ctx);
		break;
	case YAML_BLOCK_END_TOKEN:
	case YAML_FLOW_MAPPING_END_TOKEN:
	case YAML_FLOW_SEQUENCE_END_TOKEN:
		if (top != NULL) {
			mask_end_indentless(ms, top);
			mask_close_anchor(ms, top->anchor, end);
			ms->depth--;
		}
		ms->pending = false;
		ms->in_key = false;
		break;
	case YAML_BLOCK_ENTRY_TOKEN:
		if (top != NULL && top->mapping) {
			if (ms->pending) {
				top->indentless = true;
				top->indentless_cls =
				    ms->pending_cls == MASK_NONE ? MASK_NONE : MASK_ALL;
				top->indentless_ctx = ms->pending_ctx;
				top->indentless_anchor = ms->pending_anchor;
				ms->pending_anchor = -1;
			}
			if (top->indentless) {
				ms->pending = true;
				ms->pending_cls = top->indentless_cls;
				ms->pending_ctx = top->indentless_ctx;
			}
		}
		break;
	case YAML_FLOW_ENTRY_TOKEN:
		ms->pending = false;
		ms->in_key = false;
		break;
	default:
		break;
	}
	ms->last_end = end;
}

static size_t first_of(const struct mask_scan *ms, const char *name, size_t from)
{
	const char *text = (const char *)ms->src->text;
	const char *p = strstr(text + ms->last_end, name);

	if (p != NULL && (size_t)(p - text) < from)
		return (size_t)(p - text);
	return from;
}

/*
 * After a scanner error, the rest of the input was never tokenised: mask all of it when
 * the error happened inside a secret, otherwise everything from the first name of a
 * key that is, or holds, a secret.
 */
static void mask_after_failure(struct mask_scan *ms)
{
	const struct cfg_source *src = ms->src;
	size_t from = src->len;
	bool secret = ms->pending && ms->pending_cls != MASK_NONE;

	for (size_t i = 0; i < ms->depth; i++)
		if (ms->stack[i].cls != MASK_NONE)
			secret = true;
	if (secret) {
		from = ms->last_end;
		while (from < src->len && (src->text[from] == ' ' || src->text[from] == '\t'))
			from++;
		mask_add(ms, from, src->len);
		return;
	}
	for (size_t k = 0; k < ms->schema.nsecret; k++)
		from = first_of(ms, ms->schema.secret[k], from);
	for (size_t k = 0; k < ms->schema.nholders; k++)
		from = first_of(ms, ms->schema.holders[k]->key, from);
	mask_add(ms, from, src->len);
}

static int span_cmp(const void *a, const void *b)
{
	const struct cfg_span *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

/* Sort the masks and join overlapping ones, so lookups can walk them in order. */
static void merge_masks(struct mask_scan *ms)
{
	size_t out = 0;

	if (ms->nmasks == 0)
		return;
	qsort(ms->masks, ms->nmasks, sizeof *ms->masks, span_cmp);
	for (size_t i = 1; i < ms->nmasks; i++) {
		if (ms->masks[i].start <= ms->masks[out].end) {
			if (ms->masks[i].end > ms->masks[out].end)
				ms->masks[out].end = ms->masks[i].end;
		} else {
			ms->masks[++out] = ms->masks[i];
		}
	}
	ms->nmasks = out + 1;
}

void cfg_mask_compute(const struct cfg_source *src, const struct cfg_key *root,
                      struct cfg_span **masks, size_t *nmasks)
{
	struct mask_scan ms;
	struct cfg_yaml_input in;
	yaml_parser_t parser;
	yaml_token_t token;
	bool done = false;

	memset(&ms, 0, sizeof ms);
	ms.src = src;
	ms.pending_anchor = -1;
	schema_visit(&ms.schema, root);
	ms.root = ctx_begin(&ms);
	ctx_add(&ms, &ms.root, root);
	if (src->text == NULL)
		goto out;
	if (!yaml_parser_initialize(&parser)) {
		mask_add(&ms, 0, src->len);
		goto out;
	}
	cfg_yaml_input(&parser, &in, src->text, src->len); /* a scan of '[' * 100,000 stops */
	while (!done) {
		if (!yaml_parser_scan(&parser, &token)) {
			mask_after_failure(&ms);
			break;
		}
		mask_token(&ms, &token);
		done = token.type == YAML_STREAM_END_TOKEN;
		if (token.type == YAML_SCALAR_TOKEN)
			explicit_bzero(token.data.scalar.value, token.data.scalar.length);
		yaml_token_delete(&token);
	}
	if (parser.buffer.start != NULL)
		explicit_bzero(parser.buffer.start,
		               (size_t)(parser.buffer.end - parser.buffer.start));
	yaml_parser_delete(&parser);
out:
	for (size_t i = 0; i < ms.nanchors; i++)
		free(ms.anchors[i].name);
	free(ms.anchors);
	free(ms.stack);
	free(ms.tabs);
	free(ms.schema.visited);
	free(ms.schema.secret);
	free(ms.schema.holders);
	merge_masks(&ms);
	*masks = ms.masks;
	*nmasks = ms.nmasks;
}
