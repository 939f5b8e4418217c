/*
 * config: load and validate the YAML configuration (contract in config.h). libyaml
 * builds a document which {key, node type, handler} tables walk (netplan parse.c).
 * Every problem becomes a positioned error; all are collected, sorted and printed with
 * the source line and a caret, with secret values masked. Only this file includes yaml.h.
 *
 * Accepted document. Unknown keys are errors. "dur" is a duration: one or more
 * <integer><unit> with unit ms, s, m, h or d (500ms, 30s, 15m, 1h30m, 2d). Paths must
 * be absolute. Booleans are true, false, yes or no. Empty values are errors.
 *
 *   probe:                         optional mapping
 *     state_dir: /abs/path         default /var/lib/certprobe
 *   defaults:                      optional mapping, inherited by every transaction
 *     interval: dur                default 15m; 1s .. 30d
 *     timeout: dur                 default 30s; > 0 and at most 1h
 *     pending:                     SCEP PENDING polling
 *       poll_interval: dur         default 30s; > 0 and at most 1d
 *       max_wait: dur              default 10m; at most 30d, not shorter than poll_interval
 *   transactions:                  required, a non-empty list of mappings:
 *     - name: NAME                 required, unique, 1-64 of A-Z a-z 0-9 _ . -
 *       type: enrollment           required
 *       protocol: scep             required
 *       url: URL                   required; http:// or https://, a host, no spaces or
 *                                  credentials, optional :port (1-65535)
 *       ca_fingerprint: PIN        optional; sha256: then 64 hex digits, or 32
 *                                  colon-separated hex pairs (sha256:9F:86:...)
 *       challenge:                 optional (no challengePassword); exactly one key:
 *         value: "..."             inline; refused when the file is group/other accessible
 *         file: /abs/path          first line of the file, read at run time
 *         env: NAME                environment variable, read at run time
 *         ndes_admin:              one-time password from the NDES mscep_admin page
 *           url: URL               required, as above
 *           username: DOMAIN\user  optional; requires password
 *           password:              exactly one of value / file / env, as for challenge;
 *                                  requires username
 *       subject: DN                required; comma-separated ATTR=value, ATTR one of CN
 *                                  O OU C L ST DC emailAddress serialNumber UID, value
 *                                  non-empty, C two letters, "\," escapes a comma
 *       key:                       optional mapping
 *         type: rsa | ec           default rsa
 *         bits: 2048 | 3072 | 4096 rsa only, default 2048 (0 for ec)
 *         curve: P-256 | P-384     ec only, default P-256
 *         reuse_runs: N            0 .. 100000, default 0 (fresh key every run)
 *       trust_store: /abs/path     optional PEM bundle for https; default: the platform CA bundle
 *       ca_identifier: STRING      optional message= parameter of GetCACaps/GetCACert
 *       method: auto | post | get  default auto
 *       renewal: bool              default false
 *       interval: dur              default defaults.interval, same range
 *       timeout: dur               default defaults.timeout, same range
 *       pending:                   {poll_interval: dur, max_wait: dur}; each defaults to
 *                                  defaults.pending, same ranges
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <yaml.h>

#include "alert/alertmanager.h"
#include "core/xalloc.h"
#include "transactions/transaction.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define SECRET_MAX_BYTES 4096
#define MS_SECOND 1000ULL
#define MS_MINUTE (60 * MS_SECOND)
#define MS_HOUR (60 * MS_MINUTE)
#define MS_DAY (24 * MS_HOUR)
/* A duration field that is absent, or present but invalid (an error was recorded). */
#define DURATION_UNSET UINT64_MAX
#define FIELDS_MAX 24
#define MASK_TEXT "********"
#define ECHO_MAX 240 /* longest echoed source line, in bytes */

/* ---- the source text, split into lines the way libyaml counts them ---- */

struct source {
	/* the input without a UTF-8 BOM, bad bytes replaced by '?', NUL-terminated */
	unsigned char *text;
	size_t len;
	size_t *line_start; /* byte offset of each line */
	size_t *line_stop;  /* byte offset of each line's break (or the end) */
	size_t nlines;
	size_t *char_byte; /* byte offset of each character (libyaml's mark.index) */
	size_t nchars;
};

struct cfg_error {
	unsigned line; /* 1-based; 0: not tied to a position */
	unsigned col;
	size_t index; /* libyaml character index of the position, or SIZE_MAX */
	size_t seq;   /* discovery order, keeps the sort stable */
	char *msg;
	char *hint;
};

/* Byte range [start, end) of the source that must never be echoed. */
struct span {
	size_t start;
	size_t end;
};

/* Per-transaction bookkeeping while loading: where things were, for later checks. */
struct txn_state {
	struct txn_conf *txn;
	yaml_node_t *node;
	yaml_node_t *name;
	const char *label; /* a valid name, even a duplicate one, for messages */
	yaml_node_t *interval;
	yaml_node_t *timeout;
	yaml_node_t *poll;
	yaml_node_t *max_wait;
	yaml_node_t *cert_from; /* client-auth certificate.from, checked once all are loaded */
};

struct loader {
	const char *name;
	struct source src;
	yaml_document_t doc;
	struct config *cfg;
	struct txn_conf **tail;
	bool check_mode; /* a real file: refuse inline secrets when group/other can read */
	mode_t mode;
	struct cfg_error *errors;
	size_t nerrors;
	size_t errors_cap;
	struct span *masks;
	size_t nmasks;
	size_t masks_cap;
	struct txn_state *txns;
	size_t ntxns;
	size_t txns_cap;
	size_t *names;     /* open-addressing set of txns indexes + 1 (0 = empty) */
	size_t names_cap;  /* a power of two, at most half full */
	size_t names_used;
	yaml_node_t *def_poll;
	yaml_node_t *def_max_wait;
};

struct field;
typedef void field_handler(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f);

/* One accepted key: the node type it needs, its handler, where it writes, its range. */
struct field {
	const char *key;
	yaml_node_type_t type;
	field_handler *handler;
	size_t offset;
	bool required;
	uint64_t min;
	uint64_t max;
};

/* What walk_mapping() found: key and value node per field index (NULL if absent). */
struct walk_result {
	yaml_node_t *key[FIELDS_MAX];
	yaml_node_t *value[FIELDS_MAX];
};

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 8;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	*cap = n;
	return xrealloc(p, n * size);
}

static size_t utf8_len(unsigned char c)
{
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/* Length of the line break at i, or 0. libyaml breaks on LF, CR, CRLF, NEL, LS, PS. */
static size_t break_len(const unsigned char *t, size_t len, size_t i)
{
	if (t[i] == '\r')
		return i + 1 < len && t[i + 1] == '\n' ? 2 : 1;
	if (t[i] == '\n')
		return 1;
	if (t[i] == 0xc2 && i + 1 < len && t[i + 1] == 0x85)
		return 2;
	if (t[i] == 0xe2 && i + 2 < len && t[i + 1] == 0x80 &&
	    (t[i + 2] == 0xa8 || t[i + 2] == 0xa9))
		return 3;
	return 0;
}

static size_t line_end(const struct source *src, size_t line)
{
	return src->line_stop[line];
}

/* Byte offset of a 0-based line and column (in characters). */
static size_t source_offset(const struct source *src, size_t line, size_t col)
{
	size_t i, end;

	if (line >= src->nlines)
		return src->len;
	i = src->line_start[line];
	end = line_end(src, line);
	while (col > 0 && i < end) {
		i += utf8_len(src->text[i]);
		col--;
	}
	return i < end ? i : end;
}

static size_t mark_offset(const struct source *src, const yaml_mark_t *m)
{
	if (src->char_byte != NULL && m->index <= src->nchars)
		return src->char_byte[m->index];
	return source_offset(src, m->line, m->column);
}

/* The character index to byte offset table, built only when errors are printed. */
static void source_index_chars(struct source *src)
{
	size_t n = 0;

	src->char_byte = xmalloc((src->len + 1) * sizeof *src->char_byte);
	for (size_t i = 0; i < src->len; i += utf8_len(src->text[i]))
		src->char_byte[n++] = i;
	src->char_byte[n] = src->len;
	src->nchars = n;
}

/* 1-based line and column of a byte offset. */
static void source_position(const struct source *src, size_t off, unsigned *line, unsigned *col)
{
	size_t lo = 0, hi = src->nlines, i;
	unsigned c = 1;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (src->line_start[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	for (i = src->line_start[lo]; i < off && i < src->len; i += utf8_len(src->text[i]))
		c++;
	*line = (unsigned)lo + 1;
	*col = c;
}

/* ---- errors ---- */

static void error_vadd(struct loader *ld, unsigned line, unsigned col, size_t index,
                       const char *hint, const char *fmt, va_list ap)
{
	struct cfg_error *e;
	char small[256];
	va_list aq;
	int n;

	ld->errors = grow(ld->errors, &ld->errors_cap, ld->nerrors + 1, sizeof *ld->errors);
	e = &ld->errors[ld->nerrors];
	va_copy(aq, ap);
	n = vsnprintf(small, sizeof small, fmt, aq);
	va_end(aq);
	if (n < 0) {
		small[0] = '\0';
		n = 0;
	}
	if ((size_t)n < sizeof small) {
		e->msg = xstrdup(small);
	} else {
		e->msg = xmalloc((size_t)n + 1);
		vsnprintf(e->msg, (size_t)n + 1, fmt, ap);
	}
	e->hint = hint != NULL ? xstrdup(hint) : NULL;
	e->line = line;
	e->col = col;
	e->index = index;
	e->seq = ld->nerrors;
	ld->nerrors++;
}

static void error_pos(struct loader *ld, unsigned line, unsigned col, const char *hint,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void error_pos(struct loader *ld, unsigned line, unsigned col, const char *hint,
                      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vadd(ld, line, col, SIZE_MAX, hint, fmt, ap);
	va_end(ap);
}

static void error_at(struct loader *ld, const yaml_mark_t *mark, const char *hint, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));
static void error_at(struct loader *ld, const yaml_mark_t *mark, const char *hint, const char *fmt,
                     ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vadd(ld, (unsigned)mark->line + 1, (unsigned)mark->column + 1, mark->index, hint, fmt,
	           ap);
	va_end(ap);
}

/* Copy user text for a message, cut at a character boundary when long. */
static const char *clip(const char *s, char *buf, size_t size)
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

static void format_duration(uint64_t ms, char *buf, size_t size)
{
	if (ms != 0 && ms % MS_DAY == 0)
		snprintf(buf, size, "%llud", (unsigned long long)(ms / MS_DAY));
	else if (ms != 0 && ms % MS_HOUR == 0)
		snprintf(buf, size, "%lluh", (unsigned long long)(ms / MS_HOUR));
	else if (ms != 0 && ms % MS_MINUTE == 0)
		snprintf(buf, size, "%llum", (unsigned long long)(ms / MS_MINUTE));
	else if (ms != 0 && ms % MS_SECOND == 0)
		snprintf(buf, size, "%llus", (unsigned long long)(ms / MS_SECOND));
	else
		snprintf(buf, size, "%llums", (unsigned long long)ms);
}

/* ---- secret masking: a token pass that finds every byte range holding a secret ---- */

enum mask_class { MASK_NONE = 0, MASK_HOLDER, MASK_ALL };

struct mask_frame {
	enum mask_class cls;
	bool mapping;
	bool indentless; /* a "- item" list without its own indentation is open here */
	enum mask_class indentless_cls;
	long anchor; /* anchor whose node ends with this frame, or -1 */
	long indentless_anchor;
};

struct anchor_span {
	char *name;
	size_t start;
	size_t end;
	bool closed;
};

struct mask_scan {
	struct loader *ld;
	struct mask_frame *stack;
	size_t depth;
	size_t stack_cap;
	struct anchor_span *anchors;
	size_t nanchors;
	size_t anchors_cap;
	char key[32]; /* last mapping key; longer keys never match a secret key */
	bool in_key;
	bool pending; /* the next node is the value of key */
	enum mask_class pending_cls;
	long pending_anchor;
	size_t last_end;
};

static void mask_add(struct loader *ld, size_t start, size_t end)
{
	if (end <= start)
		return;
	ld->masks = grow(ld->masks, &ld->masks_cap, ld->nmasks + 1, sizeof *ld->masks);
	ld->masks[ld->nmasks].start = start;
	ld->masks[ld->nmasks].end = end;
	ld->nmasks++;
}

/* Keys whose mapping holds a secret, and the keys inside one that do not. */
static bool holder_key(const char *k)
{
	return strcmp(k, "challenge") == 0 || strcmp(k, "password") == 0;
}

static bool holder_safe_key(const char *k)
{
	return strcmp(k, "file") == 0 || strcmp(k, "env") == 0 || strcmp(k, "ndes_admin") == 0;
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
	if (top->cls == MASK_HOLDER && !holder_safe_key(k) && strcmp(k, "value") != 0)
		return MASK_ALL;
	return MASK_NONE;
}

static enum mask_class mask_value_class(struct mask_scan *ms)
{
	struct mask_frame *top = mask_top(ms);

	if (top != NULL && top->cls == MASK_ALL)
		return MASK_ALL;
	if (strcmp(ms->key, "value") == 0)
		return MASK_ALL;
	if (holder_key(ms->key))
		return MASK_HOLDER;
	if (top != NULL && top->cls == MASK_HOLDER && !holder_safe_key(ms->key))
		return MASK_ALL;
	return MASK_NONE;
}

static enum mask_class mask_take_pending(struct mask_scan *ms)
{
	struct mask_frame *top = mask_top(ms);

	if (ms->pending) {
		ms->pending = false;
		return ms->pending_cls;
	}
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
				mask_add(ms->ld, ms->anchors[i].start, ms->anchors[i].end);
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

static void mask_push(struct mask_scan *ms, enum mask_class cls, bool mapping)
{
	struct mask_frame *f;

	ms->stack = grow(ms->stack, &ms->stack_cap, ms->depth + 1, sizeof *ms->stack);
	f = &ms->stack[ms->depth++];
	memset(f, 0, sizeof *f);
	f->cls = cls;
	f->mapping = mapping;
	f->anchor = ms->pending_anchor;
	f->indentless_anchor = -1;
	ms->pending_anchor = -1;
}

static void mask_token(struct mask_scan *ms, yaml_token_t *t)
{
	struct source *src = &ms->ld->src;
	struct mask_frame *top = mask_top(ms);
	size_t start = mark_offset(src, &t->start_mark);
	size_t end = mark_offset(src, &t->end_mark);
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
		ms->pending_cls = mask_value_class(ms);
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
			cls = mask_take_pending(ms);
		}
		if (cls != MASK_NONE)
			mask_add(ms->ld, start, end);
		mask_close_anchor(ms, ms->pending_anchor, end);
		ms->pending_anchor = -1;
		break;
	case YAML_ALIAS_TOKEN:
		cls = ms->in_key ? mask_key_class(ms, "") : mask_take_pending(ms);
		ms->in_key = false;
		if (cls != MASK_NONE)
			mask_alias(ms, (const char *)t->data.alias.value);
		break;
	case YAML_ANCHOR_TOKEN:
		ms->anchors =
		    grow(ms->anchors, &ms->anchors_cap, ms->nanchors + 1, sizeof *ms->anchors);
		ms->anchors[ms->nanchors].name = xstrdup((const char *)t->data.anchor.value);
		ms->anchors[ms->nanchors].start = start;
		ms->anchors[ms->nanchors].end = end;
		ms->anchors[ms->nanchors].closed = false;
		ms->pending_anchor = (long)ms->nanchors++;
		break;
	case YAML_BLOCK_MAPPING_START_TOKEN:
	case YAML_FLOW_MAPPING_START_TOKEN:
		cls = ms->in_key ? mask_key_class(ms, "") : mask_take_pending(ms);
		ms->in_key = false;
		mask_push(ms, cls, true);
		break;
	case YAML_BLOCK_SEQUENCE_START_TOKEN:
	case YAML_FLOW_SEQUENCE_START_TOKEN:
		cls = ms->in_key ? mask_key_class(ms, "") : mask_take_pending(ms);
		ms->in_key = false;
		mask_push(ms, cls == MASK_NONE ? MASK_NONE : MASK_ALL, false);
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
				top->indentless_anchor = ms->pending_anchor;
				ms->pending_anchor = -1;
			}
			if (top->indentless) {
				ms->pending = true;
				ms->pending_cls = top->indentless_cls;
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

/*
 * After a scanner error, the rest of the input was never tokenised: mask all of it when
 * the error happened inside a secret, otherwise everything from the first secret key.
 */
static void mask_after_failure(struct mask_scan *ms)
{
	static const char *const keys[] = {"value", "challenge", "password"};
	struct source *src = &ms->ld->src;
	size_t from = src->len;
	bool secret = ms->pending && ms->pending_cls != MASK_NONE;

	for (size_t i = 0; i < ms->depth; i++)
		if (ms->stack[i].cls != MASK_NONE)
			secret = true;
	if (secret) {
		from = ms->last_end;
		while (from < src->len && (src->text[from] == ' ' || src->text[from] == '\t'))
			from++;
		mask_add(ms->ld, from, src->len);
		return;
	}
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		const char *p = strstr((const char *)src->text + ms->last_end, keys[k]);
		if (p != NULL && (size_t)(p - (const char *)src->text) < from)
			from = (size_t)(p - (const char *)src->text);
	}
	mask_add(ms->ld, from, src->len);
}

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

/* Sort the masks and join overlapping ones, so lookups can walk them in order. */
static void merge_masks(struct loader *ld)
{
	size_t out = 0;

	if (ld->nmasks == 0)
		return;
	qsort(ld->masks, ld->nmasks, sizeof *ld->masks, span_cmp);
	for (size_t i = 1; i < ld->nmasks; i++) {
		if (ld->masks[i].start <= ld->masks[out].end) {
			if (ld->masks[i].end > ld->masks[out].end)
				ld->masks[out].end = ld->masks[i].end;
		} else {
			ld->masks[++out] = ld->masks[i];
		}
	}
	ld->nmasks = out + 1;
}

static void compute_masks(struct loader *ld)
{
	struct mask_scan ms;
	yaml_parser_t parser;
	yaml_token_t token;
	bool done = false;

	memset(&ms, 0, sizeof ms);
	ms.ld = ld;
	ms.pending_anchor = -1;
	if (!yaml_parser_initialize(&parser)) {
		mask_add(ld, 0, ld->src.len);
		return;
	}
	yaml_parser_set_input_string(&parser, ld->src.text, ld->src.len);
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
	for (size_t i = 0; i < ms.nanchors; i++)
		free(ms.anchors[i].name);
	free(ms.anchors);
	free(ms.stack);
	merge_masks(ld);
}

/* ---- printing ---- */

static void put_sanitized(FILE *out, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

/* First mask that ends after offset i (masks are sorted and disjoint). */
static size_t mask_search(const struct loader *ld, size_t i)
{
	size_t lo = 0, hi = ld->nmasks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ld->masks[mid].end <= i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Echo the source line with two leading spaces and secrets masked, then the caret line.
 * Long lines are cut to a window around the caret.
 */
static void print_source_line(const struct loader *ld, FILE *out, const struct cfg_error *e)
{
	const struct source *src = &ld->src;
	size_t ls, le, target, i, m, plen = 0, caret = 0;
	unsigned line = e->line;
	bool placed = false;
	char *prefix;

	if (line == 0 || line > src->nlines || src->text == NULL)
		return;
	ls = src->line_start[line - 1];
	le = line_end(src, line - 1);
	if (src->char_byte != NULL && e->index <= src->nchars)
		target = src->char_byte[e->index];
	else
		target = source_offset(src, line - 1, e->col > 0 ? e->col - 1 : 0);
	if (target < ls || target > le)
		target = le;
	if (le - ls > ECHO_MAX) {
		size_t ws = target > ls + ECHO_MAX / 2 ? target - ECHO_MAX / 2 : ls;
		while (ws > ls && (src->text[ws] & 0xc0) == 0x80)
			ws--;
		if (ws + ECHO_MAX < le) {
			le = ws + ECHO_MAX;
			while (le > ws && (src->text[le] & 0xc0) == 0x80)
				le--;
		}
		ls = ws;
	}
	prefix = xmalloc((le - ls) * sizeof MASK_TEXT + 8);
	fputs("  ", out);
	if (ls != src->line_start[line - 1]) {
		fputs("...", out);
		memcpy(prefix, "   ", 3);
		plen = 3;
	}
	i = ls;
	m = mask_search(ld, i);
	while (i < le) {
		size_t next;

		if (m < ld->nmasks && ld->masks[m].start <= i) {
			next = ld->masks[m].end < le ? ld->masks[m].end : le;
			m++;
			if (!placed && target < next) {
				caret = plen;
				placed = true;
			}
			fputs(MASK_TEXT, out);
			memset(prefix + plen, ' ', sizeof MASK_TEXT - 1);
			plen += sizeof MASK_TEXT - 1;
			i = next;
			continue;
		}
		next = i + utf8_len(src->text[i]);
		if (next > le)
			next = le;
		if (!placed && target < next) {
			caret = plen;
			placed = true;
		}
		fwrite(src->text + i, 1, next - i, out);
		prefix[plen++] = src->text[i] == '\t' ? '\t' : ' ';
		i = next;
	}
	if (le != line_end(src, line - 1))
		fputs("...", out);
	if (!placed)
		caret = plen;
	fputs("\n  ", out);
	fwrite(prefix, 1, caret, out);
	fputs("^\n", out);
	free(prefix);
}

static int error_cmp(const void *a, const void *b)
{
	const struct cfg_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void report_errors(struct loader *ld, FILE *out)
{
	if (out == NULL || ld->nerrors == 0)
		return;
	if (ld->src.text != NULL) {
		source_index_chars(&ld->src);
		compute_masks(ld);
	}
	qsort(ld->errors, ld->nerrors, sizeof *ld->errors, error_cmp);
	for (size_t i = 0; i < ld->nerrors; i++) {
		const struct cfg_error *e = &ld->errors[i];
		if (e->line == 0) {
			fprintf(out, "%s: ", ld->name);
		} else {
			fprintf(out, "%s:%u:%u: ", ld->name, e->line, e->col);
		}
		put_sanitized(out, e->msg);
		fputc('\n', out);
		print_source_line(ld, out, e);
		if (e->hint != NULL) {
			fputs("  hint: ", out);
			put_sanitized(out, e->hint);
			fputc('\n', out);
		}
	}
	fflush(out);
}

/* ---- input: encoding checks and the line table ---- */

static size_t utf8_decode(const unsigned char *t, size_t len, size_t i, uint32_t *cp)
{
	unsigned char c = t[i];
	size_t n, k;
	uint32_t v;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (i + n > len)
		return 0;
	for (k = 1; k < n; k++) {
		unsigned char b = t[i + k];
		if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf))
			return 0;
		v = (v << 6) | (b & 0x3f);
	}
	*cp = v;
	return n;
}

/* The characters libyaml's reader accepts. */
static bool allowed_char(uint32_t cp)
{
	return cp == 0x09 || cp == 0x0a || cp == 0x0d || (cp >= 0x20 && cp <= 0x7e) || cp == 0x85 ||
	       (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
	       (cp >= 0x10000 && cp <= 0x10ffff);
}

struct bad_byte {
	size_t off;
	uint32_t cp; /* UINT32_MAX: invalid UTF-8 */
	unsigned char byte;
};

/*
 * Copy the input into ld->src with every byte libyaml would refuse replaced by '?', so
 * the parser reads on and reports more than the first problem; each refused byte run
 * becomes an error of its own (at most one per line).
 */
static int source_init(struct loader *ld, const unsigned char *buf, size_t len)
{
	struct source *src = &ld->src;
	struct bad_byte *bad = NULL;
	size_t nbad = 0, bad_cap = 0, lines_cap = 1, i;
	unsigned last_line = 0;
	int rc = -1;

	if (len >= 2 &&
	    ((buf[0] == 0xff && buf[1] == 0xfe) || (buf[0] == 0xfe && buf[1] == 0xff))) {
		error_pos(ld, 0, 0, "save the file as UTF-8", "UTF-16 is not supported");
		goto out;
	}
	if (len >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf) {
		buf += 3;
		len -= 3;
	}
	src->text = xmalloc(len + 1);
	memcpy(src->text, buf, len);
	src->text[len] = '\0';
	src->len = len;
	for (i = 0; i < len;) {
		uint32_t cp = 0;
		size_t n = utf8_decode(src->text, len, i, &cp);
		if (n > 0 && allowed_char(cp)) {
			i += n;
			continue;
		}
		bad = grow(bad, &bad_cap, nbad + 1, sizeof *bad);
		bad[nbad].off = i;
		bad[nbad].cp = n > 0 ? cp : UINT32_MAX;
		bad[nbad].byte = src->text[i];
		nbad++;
		if (n == 0)
			n = 1;
		memset(src->text + i, '?', n);
		i += n;
	}
	src->line_start = xmalloc(sizeof *src->line_start);
	src->line_stop = xmalloc(sizeof *src->line_stop);
	src->line_start[0] = 0;
	src->nlines = 1;
	for (i = 0; i < len;) {
		size_t b = break_len(src->text, len, i);
		if (b == 0) {
			i += utf8_len(src->text[i]);
			continue;
		}
		src->line_stop[src->nlines - 1] = i;
		i += b;
		src->line_start =
		    grow(src->line_start, &lines_cap, src->nlines + 1, sizeof *src->line_start);
		src->line_stop = xrealloc(src->line_stop, lines_cap * sizeof *src->line_stop);
		src->line_start[src->nlines++] = i;
	}
	src->line_stop[src->nlines - 1] = len;
	for (i = 0; i < nbad; i++) {
		unsigned line, col;
		source_position(src, bad[i].off, &line, &col);
		if (line == last_line)
			continue;
		last_line = line;
		if (bad[i].cp == UINT32_MAX)
			error_pos(ld, line, col, "the file must be UTF-8",
			          "invalid UTF-8 byte 0x%02X", bad[i].byte);
		else
			error_pos(ld, line, col, NULL, "control character U+%04X is not allowed",
			          (unsigned)bad[i].cp);
	}
	rc = 0;
out:
	free(bad);
	return rc;
}

static void source_free(struct source *src)
{
	if (src->text != NULL)
		explicit_bzero(src->text, src->len);
	free(src->text);
	free(src->line_start);
	free(src->line_stop);
	free(src->char_byte);
	memset(src, 0, sizeof *src);
}

/* ---- node helpers ---- */

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

static const char *node_kind(const yaml_node_t *n)
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

static const char *type_kind(yaml_node_type_t t)
{
	switch (t) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static void *field_ptr(void *obj, const struct field *f)
{
	return (char *)obj + f->offset;
}

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

static void unknown_key(struct loader *ld, yaml_node_t *key, const struct field *fields,
                        const char *where, bool secret)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, n = 0;
	char valid[256], kbuf[64];
	const char *hint = NULL;

	valid[0] = '\0';
	for (const struct field *f = fields; f->key != NULL; f++) {
		size_t d = edit_distance(scalar(key), f->key);
		if (d < best_d && d <= (strlen(f->key) >= 6 ? 2u : 1u)) {
			best_d = d;
			best = f->key;
		}
		n += (size_t)snprintf(valid + n, n < sizeof valid ? sizeof valid - n : 0, "%s%s",
		                      n ? ", " : "valid keys: ", f->key);
		if (n >= sizeof valid)
			n = sizeof valid - 1;
	}
	if (strcmp(scalar(key), "<<") == 0)
		hint = "YAML merge keys (<<) are not supported";
	else if (best == NULL)
		hint = valid;
	if (secret) {
		/* a stray key inside a secret mapping may itself be the secret */
		if (best != NULL)
			error_at(ld, &key->start_mark, hint, "unknown key %s; did you mean '%s'?",
			         where, best);
		else
			error_at(ld, &key->start_mark, hint, "unknown key %s", where);
		return;
	}
	clip(scalar(key), kbuf, sizeof kbuf);
	if (best != NULL)
		error_at(ld, &key->start_mark, hint, "unknown key '%s' %s; did you mean '%s'?",
		         kbuf, where, best);
	else
		error_at(ld, &key->start_mark, hint, "unknown key '%s' %s", kbuf, where);
}

/* Empty values, NULs and control characters are refused for every scalar field. */
static int scalar_check(struct loader *ld, yaml_node_t *node, const char *key)
{
	const unsigned char *s = node->data.scalar.value;

	if (scalar_is_null(node)) {
		error_at(ld, &node->start_mark, NULL, "empty value for '%s'", key);
		return -1;
	}
	for (size_t i = 0; i < node->data.scalar.length; i++) {
		if (s[i] == '\n') {
			error_at(ld, &node->start_mark,
			         "use a plain or quoted value, or |- to drop the final line break",
			         "line break in the value of '%s'", key);
			return -1;
		}
		if (s[i] < 0x20 || s[i] == 0x7f) {
			error_at(ld, &node->start_mark, NULL,
			         "control character in the value of '%s'", key);
			return -1;
		}
	}
	return 0;
}

/*
 * Walk a mapping against a field table: unknown keys, duplicates and wrong node types
 * are errors; each accepted value goes to its handler. Required keys are checked by the
 * caller (check_required) once it knows how to name the mapping.
 */
static void walk_mapping(struct loader *ld, yaml_node_t *node, const struct field *fields,
                         void *obj, const char *where, bool secret, struct walk_result *res)
{
	memset(res, 0, sizeof *res);
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key = yaml_document_get_node(&ld->doc, p->key);
		yaml_node_t *value = yaml_document_get_node(&ld->doc, p->value);
		const struct field *f = NULL;
		size_t i;
		int rc;

		if (key == NULL || value == NULL)
			continue;
		if (key->type != YAML_SCALAR_NODE) {
			error_at(ld, &key->start_mark, NULL, "expected a scalar key %s, found %s",
			         where, node_kind(key));
			continue;
		}
		for (i = 0; fields[i].key != NULL; i++) {
			if (strlen(fields[i].key) == key->data.scalar.length &&
			    strcmp(fields[i].key, scalar(key)) == 0) {
				f = &fields[i];
				break;
			}
		}
		if (f == NULL) {
			unknown_key(ld, key, fields, where, secret);
			continue;
		}
		if (res->value[i] != NULL) {
			error_at(ld, &key->start_mark, NULL,
			         "duplicate key '%s' (first at line %zu)", f->key,
			         res->key[i]->start_mark.line + 1);
			continue;
		}
		res->key[i] = key;
		res->value[i] = value;
		if (f->type != YAML_NO_NODE && value->type != f->type) {
			error_at(ld, &value->start_mark, NULL, "expected %s for '%s', found %s",
			         type_kind(f->type), f->key, node_kind(value));
			continue;
		}
		if (value->type == YAML_SCALAR_NODE) {
			rc = scalar_check(ld, value, f->key);
			if (rc == -1)
				continue;
		}
		f->handler(ld, value, obj, f);
	}
}

static void check_required(struct loader *ld, yaml_node_t *node, const struct field *fields,
                           const struct walk_result *res, const char *label)
{
	for (size_t i = 0; fields[i].key != NULL; i++) {
		if (!fields[i].required || res->key[i] != NULL)
			continue;
		if (label != NULL)
			error_at(ld, &node->start_mark, NULL, "%s: missing required key '%s'",
			         label, fields[i].key);
		else
			error_at(ld, &node->start_mark, NULL, "missing required key '%s'",
			         fields[i].key);
	}
}

/*
 * Exactly one of the fields in idx[] must be present. With none, the error points at
 * the mapping; with more, at every key after the first in file order. Returns the index
 * of the first present field, or -1.
 */
static int exactly_one(struct loader *ld, yaml_node_t *node, const struct walk_result *res,
                       const struct field *fields, const int *idx, size_t n, const char *what,
                       const char *choices)
{
	int first = -1;

	for (size_t k = 0; k < n; k++) {
		yaml_node_t *key = res->key[idx[k]];
		if (key == NULL)
			continue;
		if (first == -1 || key->start_mark.index < res->key[first]->start_mark.index)
			first = idx[k];
	}
	if (first == -1) {
		error_at(ld, &node->start_mark, NULL, "%s needs exactly one of %s", what, choices);
		return -1;
	}
	for (size_t k = 0; k < n; k++) {
		yaml_node_t *key = res->key[idx[k]];
		if (key == NULL || idx[k] == first)
			continue;
		error_at(ld, &key->start_mark, NULL,
		         "%s has both '%s' and '%s'; use exactly one of %s", what,
		         fields[first].key, fields[idx[k]].key, choices);
	}
	return first;
}

/* ---- value parsers ---- */

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
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

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static bool valid_env_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* http(s)://host[:port][/...]; returns NULL or why not. */
static const char *url_problem(const char *s)
{
	const char *rest, *auth_end, *host_end, *port;
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
	} else {
		host_end = memchr(rest, ':', (size_t)(auth_end - rest));
		if (host_end == NULL)
			host_end = auth_end;
		if (host_end == rest)
			return "has no host";
		port = host_end;
	}
	if (port != auth_end) {
		char digits[8];
		size_t n = (size_t)(auth_end - port - 1);
		if (n == 0 || n >= sizeof digits)
			return "has a bad port";
		memcpy(digits, port + 1, n);
		digits[n] = '\0';
		if (parse_uint(digits, 65535, &v) == -1 || v == 0)
			return "has a bad port";
	}
	return NULL;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

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
		int hi = hex_value(p[0]), lo = hex_value(p[1]);
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

static void handle_string(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	char **dst = field_ptr(obj, f);

	(void)ld;
	*dst = xstrdup(scalar(node));
}

static void handle_path(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	char buf[80];

	if (scalar(node)[0] != '/') {
		error_at(ld, &node->start_mark, NULL, "'%s' must be an absolute path (got '%s')",
		         f->key, clip(scalar(node), buf, sizeof buf));
		return;
	}
	handle_string(ld, node, obj, f);
}

static void handle_url(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	const char *why = url_problem(scalar(node));
	char buf[80];

	if (why != NULL) {
		error_at(ld, &node->start_mark, NULL, "bad URL '%s': %s",
		         clip(scalar(node), buf, sizeof buf), why);
		return;
	}
	handle_string(ld, node, obj, f);
}

static void handle_duration(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	uint64_t *dst = field_ptr(obj, f);
	const char *s = scalar(node);
	char buf[80], lim[32];
	uint64_t ms;
	int rc;

	rc = config_parse_duration(s, &ms);
	if (rc == -1) {
		bool digits = strspn(s, "0123456789") == strlen(s);
		error_at(ld, &node->start_mark, digits ? "add a unit: ms, s, m, h or d" : NULL,
		         "bad duration '%s' (use e.g. 30s, 15m, 1h)", clip(s, buf, sizeof buf));
		return;
	}
	if (ms < f->min) {
		format_duration(f->min, lim, sizeof lim);
		if (f->min == 1)
			error_at(ld, &node->start_mark, NULL, "'%s' must be greater than 0",
			         f->key);
		else
			error_at(ld, &node->start_mark, NULL, "'%s' must be at least %s", f->key,
			         lim);
		return;
	}
	if (ms > f->max) {
		format_duration(f->max, lim, sizeof lim);
		error_at(ld, &node->start_mark, NULL, "'%s' must be at most %s", f->key, lim);
		return;
	}
	*dst = ms;
}

static void handle_bool(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	bool *dst = field_ptr(obj, f);
	const char *s = scalar(node);
	char buf[80];

	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
		*dst = true;
	else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
		*dst = false;
	else
		error_at(ld, &node->start_mark, NULL,
		         "bad boolean '%s' for '%s' (use true or false)", clip(s, buf, sizeof buf),
		         f->key);
}

static void handle_uint(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	unsigned *dst = field_ptr(obj, f);
	char buf[80];
	uint64_t v;
	int rc;

	rc = parse_uint(scalar(node), UINT64_MAX, &v);
	if (rc == -1 || v < f->min || v > f->max) {
		error_at(ld, &node->start_mark, NULL,
		         "'%s' must be a number from %llu to %llu (got '%s')", f->key,
		         (unsigned long long)f->min, (unsigned long long)f->max,
		         clip(scalar(node), buf, sizeof buf));
		return;
	}
	*dst = (unsigned)v;
}

static void handle_env(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	char buf[80];

	if (!valid_env_name(scalar(node))) {
		error_at(ld, &node->start_mark,
		         "use letters, digits and _, not starting with a digit",
		         "bad environment variable name '%s'", clip(scalar(node), buf, sizeof buf));
		return;
	}
	handle_string(ld, node, obj, f);
}

static void handle_secret_value(struct loader *ld, yaml_node_t *node, void *obj,
                                const struct field *f)
{
	char **dst = field_ptr(obj, f);
	char *hint;

	*dst = xstrdup(scalar(node));
	if (!ld->check_mode || (ld->mode & 077) == 0)
		return;
	hint = xasprintf("chmod 600 %s, or use {file: ...} or {env: ...}", ld->name);
	error_at(ld, &node->start_mark, hint,
	         "inline secret in a file readable by group/other (mode %04o)",
	         (unsigned)(ld->mode & 07777));
	free(hint);
}

enum secret_field { SECRET_F_VALUE, SECRET_F_FILE, SECRET_F_ENV };

static const struct field secret_fields[] = {
    [SECRET_F_VALUE] = {"value", YAML_SCALAR_NODE, handle_secret_value,
                        offsetof(struct secret_ref, value), false, 0, 0},
    [SECRET_F_FILE] = {"file", YAML_SCALAR_NODE, handle_path, offsetof(struct secret_ref, path),
                       false, 0, 0},
    [SECRET_F_ENV] = {"env", YAML_SCALAR_NODE, handle_env, offsetof(struct secret_ref, env), false,
                      0, 0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_password(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	static const int idx[] = {SECRET_F_VALUE, SECRET_F_FILE, SECRET_F_ENV};
	struct secret_ref *ref = field_ptr(obj, f);
	struct walk_result res;
	int first;

	walk_mapping(ld, node, secret_fields, ref, "in password", true, &res);
	first =
	    exactly_one(ld, node, &res, secret_fields, idx, 3, "password", "value, file or env");
	if (first == SECRET_F_VALUE)
		ref->source = SECRET_VALUE;
	else if (first == SECRET_F_FILE)
		ref->source = SECRET_FILE;
	else if (first == SECRET_F_ENV)
		ref->source = SECRET_ENV;
}

enum ndes_field { NDES_F_URL, NDES_F_USERNAME, NDES_F_PASSWORD };

static const struct field ndes_fields[] = {
    [NDES_F_URL] = {"url", YAML_SCALAR_NODE, handle_url, offsetof(struct ndes_admin_conf, url),
                    true, 0, 0},
    [NDES_F_USERNAME] = {"username", YAML_SCALAR_NODE, handle_string,
                         offsetof(struct ndes_admin_conf, username), false, 0, 0},
    [NDES_F_PASSWORD] = {"password", YAML_MAPPING_NODE, handle_password,
                         offsetof(struct ndes_admin_conf, password), false, 0, 0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_ndes(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	struct walk_result res;

	walk_mapping(ld, node, ndes_fields, field_ptr(obj, f), "in ndes_admin", false, &res);
	check_required(ld, node, ndes_fields, &res, "ndes_admin");
	if (res.key[NDES_F_USERNAME] != NULL && res.key[NDES_F_PASSWORD] == NULL)
		error_at(ld, &res.key[NDES_F_USERNAME]->start_mark, NULL,
		         "ndes_admin: 'username' needs a 'password'");
	if (res.key[NDES_F_PASSWORD] != NULL && res.key[NDES_F_USERNAME] == NULL)
		error_at(ld, &res.key[NDES_F_PASSWORD]->start_mark, NULL,
		         "ndes_admin: 'password' needs a 'username'");
}

enum challenge_field { CHALLENGE_F_VALUE, CHALLENGE_F_FILE, CHALLENGE_F_ENV, CHALLENGE_F_NDES };

static const struct field challenge_fields[] = {
    [CHALLENGE_F_VALUE] = {"value", YAML_SCALAR_NODE, handle_secret_value,
                           offsetof(struct challenge_conf, secret.value), false, 0, 0},
    [CHALLENGE_F_FILE] = {"file", YAML_SCALAR_NODE, handle_path,
                          offsetof(struct challenge_conf, secret.path), false, 0, 0},
    [CHALLENGE_F_ENV] = {"env", YAML_SCALAR_NODE, handle_env,
                         offsetof(struct challenge_conf, secret.env), false, 0, 0},
    [CHALLENGE_F_NDES] = {"ndes_admin", YAML_MAPPING_NODE, handle_ndes,
                          offsetof(struct challenge_conf, ndes), false, 0, 0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_challenge(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	static const int idx[] = {CHALLENGE_F_VALUE, CHALLENGE_F_FILE, CHALLENGE_F_ENV,
	                          CHALLENGE_F_NDES};
	struct challenge_conf *ch = field_ptr(obj, f);
	struct walk_result res;
	int first;

	walk_mapping(ld, node, challenge_fields, ch, "in challenge", true, &res);
	first = exactly_one(ld, node, &res, challenge_fields, idx, 4, "challenge",
	                    "value, file, env or ndes_admin");
	ch->kind = CHALLENGE_STATIC;
	if (first == CHALLENGE_F_VALUE)
		ch->secret.source = SECRET_VALUE;
	else if (first == CHALLENGE_F_FILE)
		ch->secret.source = SECRET_FILE;
	else if (first == CHALLENGE_F_ENV)
		ch->secret.source = SECRET_ENV;
	else if (first == CHALLENGE_F_NDES)
		ch->kind = CHALLENGE_NDES_ADMIN;
	else
		ch->kind = CHALLENGE_NONE;
}

/*
 * A scalar that must be one of two words: the index of the one it is, or -1 after
 * "<what> '<value>' (use <a> or <b>)".
 */
static int choice2(struct loader *ld, yaml_node_t *node, const char *what, const char *a,
                   const char *b)
{
	char buf[80];

	if (strcmp(scalar(node), a) == 0)
		return 0;
	if (strcmp(scalar(node), b) == 0)
		return 1;
	error_at(ld, &node->start_mark, NULL, "%s '%s' (use %s or %s)", what,
	         clip(scalar(node), buf, sizeof buf), a, b);
	return -1;
}

static void handle_key_type(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	static const enum key_type v[] = {KEY_TYPE_RSA, KEY_TYPE_EC};
	int i = choice2(ld, node, "unknown key type", "rsa", "ec");

	if (i >= 0)
		*(enum key_type *)field_ptr(obj, f) = v[i];
}

static void handle_bits(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	unsigned *dst = field_ptr(obj, f);
	char buf[80];
	uint64_t v = 0;
	int rc;

	/* the allowed sizes depend on the key type, checked in handle_key() */
	rc = parse_uint(scalar(node), 65536, &v);
	if (rc == -1) {
		error_at(ld, &node->start_mark, NULL,
		         "'bits' must be 2048, 3072 or 4096 (got '%s')",
		         clip(scalar(node), buf, sizeof buf));
		return;
	}
	*dst = (unsigned)v;
}

static void handle_curve(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	char buf[80];

	if (strcmp(scalar(node), "P-256") != 0 && strcmp(scalar(node), "P-384") != 0) {
		error_at(ld, &node->start_mark, NULL, "unsupported curve '%s' (use P-256 or P-384)",
		         clip(scalar(node), buf, sizeof buf));
		return;
	}
	handle_string(ld, node, obj, f);
}

enum key_field { KEY_F_TYPE, KEY_F_BITS, KEY_F_CURVE, KEY_F_REUSE };

static const struct field key_fields[] = {
    [KEY_F_TYPE] = {"type", YAML_SCALAR_NODE, handle_key_type, offsetof(struct key_conf, type),
                    false, 0, 0},
    [KEY_F_BITS] = {"bits", YAML_SCALAR_NODE, handle_bits, offsetof(struct key_conf, bits), false,
                    0, 0},
    [KEY_F_CURVE] = {"curve", YAML_SCALAR_NODE, handle_curve, offsetof(struct key_conf, curve),
                     false, 0, 0},
    [KEY_F_REUSE] = {"reuse_runs", YAML_SCALAR_NODE, handle_uint,
                     offsetof(struct key_conf, reuse_runs), false, 0, 100000},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_key(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	struct key_conf *key = field_ptr(obj, f);
	struct walk_result res;
	yaml_node_t *type, *bits;
	char buf[80];
	bool type_ok;

	walk_mapping(ld, node, key_fields, key, "in key", false, &res);
	type = res.value[KEY_F_TYPE];
	type_ok =
	    type == NULL || (type->type == YAML_SCALAR_NODE &&
	                     (strcmp(scalar(type), "rsa") == 0 || strcmp(scalar(type), "ec") == 0));
	if (type_ok && key->type == KEY_TYPE_EC) {
		if (res.key[KEY_F_BITS] != NULL)
			error_at(ld, &res.key[KEY_F_BITS]->start_mark, NULL,
			         "'bits' applies to rsa keys; ec keys take 'curve'");
		key->bits = 0;
		if (key->curve == NULL)
			key->curve = xstrdup("P-256");
	} else {
		bits = res.value[KEY_F_BITS];
		if (bits != NULL && key->bits != 2048 && key->bits != 3072 && key->bits != 4096)
			error_at(ld, &bits->start_mark, NULL,
			         "'bits' must be 2048, 3072 or 4096 (got '%s')",
			         clip(scalar(bits), buf, sizeof buf));
		if (type_ok && res.key[KEY_F_CURVE] != NULL)
			error_at(ld, &res.key[KEY_F_CURVE]->start_mark, NULL,
			         "'curve' applies to ec keys; rsa keys take 'bits'");
	}
}

enum pending_field { PENDING_F_POLL, PENDING_F_MAX_WAIT };

static const struct field pending_fields[] = {
    [PENDING_F_POLL] = {"poll_interval", YAML_SCALAR_NODE, handle_duration,
                        offsetof(struct pending_conf, poll_interval_ms), false, 1, MS_DAY},
    [PENDING_F_MAX_WAIT] = {"max_wait", YAML_SCALAR_NODE, handle_duration,
                            offsetof(struct pending_conf, max_wait_ms), false, 1, 30 * MS_DAY},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_txn_pending(struct loader *ld, yaml_node_t *node, void *obj,
                               const struct field *f)
{
	struct txn_state *st = &ld->txns[ld->ntxns - 1];
	struct walk_result res;

	walk_mapping(ld, node, pending_fields, field_ptr(obj, f), "in pending", false, &res);
	st->poll = res.value[PENDING_F_POLL];
	st->max_wait = res.value[PENDING_F_MAX_WAIT];
}

static void handle_default_pending(struct loader *ld, yaml_node_t *node, void *obj,
                                   const struct field *f)
{
	struct walk_result res;

	walk_mapping(ld, node, pending_fields, field_ptr(obj, f), "in defaults.pending", false,
	             &res);
	ld->def_poll = res.value[PENDING_F_POLL];
	ld->def_max_wait = res.value[PENDING_F_MAX_WAIT];
}

/* FNV-1a */
static size_t name_hash(const char *s)
{
	size_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of name s in ld->names: where it is, or the empty slot it would take. */
static size_t name_slot(struct loader *ld, const char *s)
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

static void handle_name(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	struct txn_state *st = &ld->txns[ld->ntxns - 1];
	const char *s = scalar(node);
	char buf[80];

	if (!valid_name(s)) {
		error_at(ld, &node->start_mark, NULL,
		         "bad transaction name '%s' (use 1-64 of A-Z a-z 0-9 _ . -)",
		         clip(s, buf, sizeof buf));
		return;
	}
	st->label = s;
	{
		size_t i = name_slot(ld, s);
		if (ld->names[i] != 0) {
			const struct txn_state *o = &ld->txns[ld->names[i] - 1];
			error_at(ld, &node->start_mark, NULL,
			         "duplicate transaction name '%s' (first at line %zu)", s,
			         o->name->start_mark.line + 1);
			return;
		}
		ld->names[i] = ld->ntxns; /* this transaction's index + 1 */
		ld->names_used++;
	}
	st->name = node;
	handle_string(ld, node, obj, f);
}

static void handle_txn_type(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	enum txn_type_id *dst = field_ptr(obj, f);
	char buf[80];

	if (strcmp(scalar(node), "enrollment") == 0) {
		*dst = TXN_TYPE_ENROLLMENT;
	} else if (strcmp(scalar(node), "client-auth") == 0) {
		*dst = TXN_TYPE_CLIENT_AUTH;
	} else {
		error_at(ld, &node->start_mark, NULL,
		         "unknown transaction type '%s' (supported: enrollment, client-auth)",
		         clip(scalar(node), buf, sizeof buf));
	}
}

static void handle_protocol(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	enum txn_protocol *dst = field_ptr(obj, f);
	char buf[80];

	if (strcmp(scalar(node), "scep") != 0) {
		error_at(ld, &node->start_mark, NULL, "unknown protocol '%s' (supported: scep)",
		         clip(scalar(node), buf, sizeof buf));
		return;
	}
	*dst = TXN_PROTOCOL_SCEP;
}

static void handle_fingerprint(struct loader *ld, yaml_node_t *node, void *obj,
                               const struct field *f)
{
	struct txn_conf *txn = obj;
	char buf[80];
	int rc;

	(void)f;
	rc = parse_fingerprint(scalar(node), txn->ca_fingerprint);
	if (rc == -1) {
		error_at(ld, &node->start_mark,
		         "openssl x509 -in ca.pem -noout -fingerprint -sha256 prints the hex pairs",
		         "bad ca_fingerprint '%s' (expected sha256: and 64 hex digits)",
		         clip(scalar(node), buf, sizeof buf));
		return;
	}
	txn->has_ca_fingerprint = true;
}

static void handle_subject(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	char why[160], buf[80];
	yaml_mark_t mark = node->start_mark;
	size_t where = 0;
	int rc;

	rc = subject_check(scalar(node), why, sizeof why, &where);
	if (rc == -1) {
		/* point into the value when the text maps one-to-one onto the line */
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    node->start_mark.line == node->end_mark.line) {
			size_t chars = 0;
			for (size_t i = 0; i < where; i++)
				if (((unsigned char)scalar(node)[i] & 0xc0) != 0x80)
					chars++;
			mark.column += chars;
			mark.index += chars;
		}
		error_at(ld, &mark, "e.g. CN=device-01,O=Example,C=DE", "bad subject '%s': %s",
		         clip(scalar(node), buf, sizeof buf), why);
		return;
	}
	handle_string(ld, node, obj, f);
}

/* 'method' means different things per type; load_txn parses it once the type is known. */
static void handle_method(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	(void)ld;
	(void)node;
	(void)obj;
	(void)f;
}

static void parse_method(struct loader *ld, yaml_node_t *node, struct txn_conf *txn)
{
	const char *s = scalar(node);
	char buf[80];

	if (txn->type == TXN_TYPE_CLIENT_AUTH) {
		if (strcmp(s, "register") == 0)
			txn->sip_method = SIP_METHOD_REGISTER;
		else if (strcmp(s, "options") == 0)
			txn->sip_method = SIP_METHOD_OPTIONS;
		else
			error_at(ld, &node->start_mark, NULL,
			         "bad method '%s' for client-auth (use register or options)",
			         clip(s, buf, sizeof buf));
		return;
	}
	if (strcmp(s, "auto") == 0)
		txn->method = SCEP_METHOD_AUTO;
	else if (strcmp(s, "post") == 0)
		txn->method = SCEP_METHOD_POST;
	else if (strcmp(s, "get") == 0)
		txn->method = SCEP_METHOD_GET;
	else
		error_at(ld, &node->start_mark, NULL, "bad method '%s' (use auto, post or get)",
		         clip(s, buf, sizeof buf));
}

/* ---- client-auth: registrar, sip_uri, certificate ---- */

static bool valid_host(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	if (strchr(s, ':') != NULL) /* IPv6 literal */
		return strspn(s, "0123456789abcdefABCDEF:.") == n;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._") == n &&
	       s[0] != '.' && s[0] != '-';
}

static void handle_host(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	char buf[80];

	if (!valid_host(scalar(node))) {
		error_at(ld, &node->start_mark, NULL,
		         "bad host name '%s' for '%s' (a DNS name or an IP address)",
		         clip(scalar(node), buf, sizeof buf), f->key);
		return;
	}
	handle_string(ld, node, obj, f);
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
	if (port != NULL && (parse_uint(port, 65535, &v) == -1 || v == 0))
		return false;
	return true;
}

static void handle_resolver(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	char buf[80];

	if (!valid_resolver(scalar(node))) {
		error_at(ld, &node->start_mark, "e.g. 127.0.0.1, 10.0.0.53:5353 or [::1]:53",
		         "bad resolver '%s' (an IP address with an optional port)",
		         clip(scalar(node), buf, sizeof buf));
		return;
	}
	handle_string(ld, node, obj, f);
}

static void handle_discover(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	static const enum registrar_discovery v[] = {REGISTRAR_STATIC, REGISTRAR_DNS};
	int i = choice2(ld, node, "bad discover", "static", "dns");

	if (i >= 0)
		*(enum registrar_discovery *)field_ptr(obj, f) = v[i];
}

static void handle_family(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	static const enum addr_family v[] = {ADDR_FAMILY_IPV4, ADDR_FAMILY_IPV6};
	int i = choice2(ld, node, "bad family", "ipv4", "ipv6");

	if (i >= 0)
		*(enum addr_family *)field_ptr(obj, f) = v[i];
}

static void handle_tls_max(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	int i = choice2(ld, node, "bad tls_max_version", "1.2", "1.3");

	if (i >= 0)
		*(unsigned *)field_ptr(obj, f) = (unsigned)i + 2;
}

enum registrar_field {
	REG_F_DISCOVER,
	REG_F_HOST,
	REG_F_PORT,
	REG_F_DOMAIN,
	REG_F_RESOLVER,
	REG_F_TLS_NAME,
	REG_F_FAMILY,
	REG_F_TLS_MAX,
};

static const struct field registrar_fields[] = {
    [REG_F_DISCOVER] = {"discover", YAML_SCALAR_NODE, handle_discover,
                        offsetof(struct registrar_conf, discover), false, 0, 0},
    [REG_F_HOST] = {"host", YAML_SCALAR_NODE, handle_host, offsetof(struct registrar_conf, host),
                    false, 0, 0},
    [REG_F_PORT] = {"port", YAML_SCALAR_NODE, handle_uint, offsetof(struct registrar_conf, port),
                    false, 1, 65535},
    [REG_F_DOMAIN] = {"domain", YAML_SCALAR_NODE, handle_host,
                      offsetof(struct registrar_conf, domain), false, 0, 0},
    [REG_F_RESOLVER] = {"resolver", YAML_SCALAR_NODE, handle_resolver,
                        offsetof(struct registrar_conf, resolver), false, 0, 0},
    [REG_F_TLS_NAME] = {"tls_name", YAML_SCALAR_NODE, handle_host,
                        offsetof(struct registrar_conf, tls_name), false, 0, 0},
    [REG_F_FAMILY] = {"family", YAML_SCALAR_NODE, handle_family,
                      offsetof(struct registrar_conf, family), false, 0, 0},
    [REG_F_TLS_MAX] = {"tls_max_version", YAML_SCALAR_NODE, handle_tls_max,
                       offsetof(struct registrar_conf, tls_max_minor), false, 0, 0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_registrar(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	struct registrar_conf *reg = field_ptr(obj, f);
	struct walk_result res;

	walk_mapping(ld, node, registrar_fields, reg, "in registrar", false, &res);
	if (reg->discover == REGISTRAR_DNS) {
		if (res.key[REG_F_DOMAIN] == NULL)
			error_at(ld, &node->start_mark, NULL,
			         "registrar: 'discover: dns' needs 'domain' (the SIP domain)");
		for (int i = REG_F_HOST; i <= REG_F_PORT; i++)
			if (res.key[i] != NULL)
				error_at(ld, &res.key[i]->start_mark, NULL,
				         "registrar: '%s' applies to a static registrar; "
				         "'discover: dns' finds host and port in DNS",
				         registrar_fields[i].key);
	} else {
		if (res.key[REG_F_HOST] == NULL)
			error_at(ld, &node->start_mark,
			         "e.g. registrar: {host: pool1.example.com, port: 5061} or "
			         "{discover: dns, domain: example.com}",
			         "registrar: missing required key 'host'");
		if (res.key[REG_F_DOMAIN] != NULL)
			error_at(ld, &res.key[REG_F_DOMAIN]->start_mark, NULL,
			         "registrar: 'domain' applies to 'discover: dns'");
		if (res.key[REG_F_PORT] == NULL)
			reg->port = 5061;
	}
}

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

static void handle_sip_uri(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	const char *why = sip_uri_problem(scalar(node));
	char buf[80];

	if (why != NULL) {
		error_at(ld, &node->start_mark, "e.g. sip:alice@example.com", "bad sip_uri '%s': %s",
		         clip(scalar(node), buf, sizeof buf), why);
		return;
	}
	handle_string(ld, node, obj, f);
}

enum cert_field { CERT_F_FROM, CERT_F_CERT, CERT_F_KEY };

static const struct field cert_fields[] = {
    [CERT_F_FROM] = {"from", YAML_SCALAR_NODE, handle_string,
                     offsetof(struct client_cert_conf, from), false, 0, 0},
    [CERT_F_CERT] = {"cert", YAML_SCALAR_NODE, handle_path,
                     offsetof(struct client_cert_conf, cert), false, 0, 0},
    [CERT_F_KEY] = {"key", YAML_SCALAR_NODE, handle_path, offsetof(struct client_cert_conf, key),
                    false, 0, 0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_certificate(struct loader *ld, yaml_node_t *node, void *obj,
                               const struct field *f)
{
	static const int idx[] = {CERT_F_FROM, CERT_F_CERT};
	struct client_cert_conf *cc = field_ptr(obj, f);
	struct walk_result res;
	int first;

	walk_mapping(ld, node, cert_fields, cc, "in certificate", false, &res);
	first = exactly_one(ld, node, &res, cert_fields, idx, 2, "certificate",
	                    "from (an enrollment transaction) or cert + key (files)");
	if (first == CERT_F_FROM) {
		ld->txns[ld->ntxns - 1].cert_from = res.value[CERT_F_FROM];
		if (res.key[CERT_F_KEY] != NULL)
			error_at(ld, &res.key[CERT_F_KEY]->start_mark, NULL,
			         "certificate: 'key' goes with 'cert'; 'from' uses the "
			         "enrollment's own key");
	} else if (first == CERT_F_CERT && res.key[CERT_F_KEY] == NULL) {
		error_at(ld, &node->start_mark, NULL, "certificate: 'cert' needs a 'key'");
	}
}


/* ---- warn: thresholds ---- */


static void handle_step_latency(struct loader *ld, yaml_node_t *node, struct warn_conf *w)
{
	static const struct field dur = {"latency", YAML_SCALAR_NODE, handle_duration,
	                                 offsetof(struct step_latency, ms), false, 1, MS_HOUR};
	yaml_node_pair_t *p;

	if (node->data.mapping.pairs.start == node->data.mapping.pairs.top) {
		error_at(ld, &node->start_mark, "e.g. latency: {tls_handshake: 500ms}",
		         "'latency' mapping is empty");
		return;
	}
	/* the keys of latency: every step name (transaction.c's list), as a table for hints */
	struct field step_fields[TXN_STEP_NAMES + 1];

	memset(step_fields, 0, sizeof step_fields);
	for (size_t k = 0; k < TXN_STEP_NAMES; k++) {
		step_fields[k].key = txn_step_names[k];
		step_fields[k].type = YAML_SCALAR_NODE;
	}
	w->latency_ms = 0;
	for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *key = yaml_document_get_node(&ld->doc, p->key);
		yaml_node_t *value = yaml_document_get_node(&ld->doc, p->value);
		struct step_latency sl = {NULL, 0};
		size_t i;

		if (key == NULL || value == NULL)
			continue;
		if (key->type != YAML_SCALAR_NODE || value->type != YAML_SCALAR_NODE) {
			error_at(ld, &key->start_mark, NULL,
			         "expected 'step: duration' pairs in latency, found %s",
			         node_kind(key->type != YAML_SCALAR_NODE ? key : value));
			continue;
		}
		for (i = 0; step_fields[i].key != NULL; i++)
			if (strcmp(step_fields[i].key, scalar(key)) == 0)
				break;
		if (step_fields[i].key == NULL) {
			unknown_key(ld, key, step_fields, "in latency (not a step name)", false);
			continue;
		}
		for (size_t k = 0; k < w->n_steps; k++)
			if (strcmp(w->steps[k].step, step_fields[i].key) == 0)
				error_at(ld, &key->start_mark, NULL, "duplicate step '%s' in latency",
				         step_fields[i].key);
		if (scalar_check(ld, value, scalar(key)) == -1)
			continue;
		sl.ms = DURATION_UNSET;
		handle_duration(ld, value, &sl, &dur);
		if (sl.ms == DURATION_UNSET)
			continue;
		sl.step = xstrdup(step_fields[i].key);
		w->steps = xrealloc(w->steps, (w->n_steps + 1) * sizeof *w->steps);
		w->steps[w->n_steps++] = sl;
	}
}

/* latency: a duration (every step) or a mapping of step name to duration */
static void handle_latency(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	static const struct field dur = {"latency", YAML_SCALAR_NODE, handle_duration,
	                                 offsetof(struct warn_conf, latency_ms), false, 1, MS_HOUR};
	struct warn_conf *w = obj;

	(void)f;
	if (node->type == YAML_SCALAR_NODE) {
		if (scalar_check(ld, node, "latency") == 0)
			handle_duration(ld, node, w, &dur);
	} else if (node->type == YAML_MAPPING_NODE) {
		handle_step_latency(ld, node, w);
	} else {
		error_at(ld, &node->start_mark, "e.g. latency: 2s, or latency: {tls_handshake: 500ms}",
		         "expected a duration or a mapping of step: duration for 'latency', found %s",
		         node_kind(node));
	}
}

static const struct field warn_fields[] = {
    {"expiry_days", YAML_SCALAR_NODE, handle_uint, offsetof(struct warn_conf, expiry_days), false,
     0, 3650},
    {"latency", YAML_NO_NODE, handle_latency, 0, false, 0, 0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_warn(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	struct walk_result res;

	walk_mapping(ld, node, warn_fields, field_ptr(obj, f), "in warn", false, &res);
}

static void warn_inherit(struct warn_conf *w, const struct warn_conf *d)
{
	if (w->expiry_days == UINT_MAX)
		w->expiry_days = d->expiry_days;
	if (w->latency_ms == DURATION_UNSET && w->steps == NULL) {
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

static void warn_clear(struct warn_conf *w)
{
	for (size_t i = 0; i < w->n_steps; i++)
		free(w->steps[i].step);
	free(w->steps);
}

enum txn_field {
	TXN_F_NAME,
	TXN_F_TYPE,
	TXN_F_PROTOCOL,
	TXN_F_URL,
	TXN_F_FINGERPRINT,
	TXN_F_CHALLENGE,
	TXN_F_SUBJECT,
	TXN_F_KEY,
	TXN_F_TRUST_STORE,
	TXN_F_CA_IDENTIFIER,
	TXN_F_METHOD,
	TXN_F_RENEWAL,
	TXN_F_INTERVAL,
	TXN_F_TIMEOUT,
	TXN_F_PENDING,
	TXN_F_REGISTRAR,
	TXN_F_SIP_URI,
	TXN_F_CERTIFICATE,
	TXN_F_EXPIRES,
	TXN_F_WARN,
};

static const struct field txn_fields[] = {
    [TXN_F_NAME] = {"name", YAML_SCALAR_NODE, handle_name, offsetof(struct txn_conf, name), true, 0,
                    0},
    [TXN_F_TYPE] = {"type", YAML_SCALAR_NODE, handle_txn_type, offsetof(struct txn_conf, type),
                    true, 0, 0},
    [TXN_F_PROTOCOL] = {"protocol", YAML_SCALAR_NODE, handle_protocol,
                        offsetof(struct txn_conf, protocol), false, 0, 0},
    [TXN_F_URL] = {"url", YAML_SCALAR_NODE, handle_url, offsetof(struct txn_conf, url), false, 0,
                   0},
    [TXN_F_FINGERPRINT] = {"ca_fingerprint", YAML_SCALAR_NODE, handle_fingerprint, 0, false, 0, 0},
    [TXN_F_CHALLENGE] = {"challenge", YAML_MAPPING_NODE, handle_challenge,
                         offsetof(struct txn_conf, challenge), false, 0, 0},
    [TXN_F_SUBJECT] = {"subject", YAML_SCALAR_NODE, handle_subject,
                       offsetof(struct txn_conf, subject), false, 0, 0},
    [TXN_F_KEY] = {"key", YAML_MAPPING_NODE, handle_key, offsetof(struct txn_conf, key), false, 0,
                   0},
    [TXN_F_TRUST_STORE] = {"trust_store", YAML_SCALAR_NODE, handle_path,
                           offsetof(struct txn_conf, trust_store), false, 0, 0},
    [TXN_F_CA_IDENTIFIER] = {"ca_identifier", YAML_SCALAR_NODE, handle_string,
                             offsetof(struct txn_conf, ca_identifier), false, 0, 0},
    [TXN_F_METHOD] = {"method", YAML_SCALAR_NODE, handle_method, offsetof(struct txn_conf, method),
                      false, 0, 0},
    [TXN_F_RENEWAL] = {"renewal", YAML_SCALAR_NODE, handle_bool, offsetof(struct txn_conf, renewal),
                       false, 0, 0},
    [TXN_F_INTERVAL] = {"interval", YAML_SCALAR_NODE, handle_duration,
                        offsetof(struct txn_conf, interval_ms), false, MS_SECOND, 30 * MS_DAY},
    [TXN_F_TIMEOUT] = {"timeout", YAML_SCALAR_NODE, handle_duration,
                       offsetof(struct txn_conf, timeout_ms), false, 1, MS_HOUR},
    [TXN_F_PENDING] = {"pending", YAML_MAPPING_NODE, handle_txn_pending,
                       offsetof(struct txn_conf, pending), false, 0, 0},
    [TXN_F_REGISTRAR] = {"registrar", YAML_MAPPING_NODE, handle_registrar,
                         offsetof(struct txn_conf, registrar), false, 0, 0},
    [TXN_F_SIP_URI] = {"sip_uri", YAML_SCALAR_NODE, handle_sip_uri,
                       offsetof(struct txn_conf, sip_uri), false, 0, 0},
    [TXN_F_CERTIFICATE] = {"certificate", YAML_MAPPING_NODE, handle_certificate,
                           offsetof(struct txn_conf, certificate), false, 0, 0},
    [TXN_F_EXPIRES] = {"expires", YAML_SCALAR_NODE, handle_uint, offsetof(struct txn_conf, expires),
                       false, 1, 86400},
    [TXN_F_WARN] = {"warn", YAML_MAPPING_NODE, handle_warn, offsetof(struct txn_conf, warn), false,
                    0, 0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};
_Static_assert(sizeof txn_fields / sizeof txn_fields[0] <= FIELDS_MAX,
               "walk_result must cover every transaction key");

/* Which keys each transaction type needs and accepts (the table lists the union). */
static const int enrollment_required[] = {TXN_F_PROTOCOL, TXN_F_URL, TXN_F_SUBJECT};
static const int enrollment_only[] = {TXN_F_PROTOCOL, TXN_F_URL,      TXN_F_FINGERPRINT,
                                      TXN_F_CHALLENGE, TXN_F_SUBJECT, TXN_F_KEY,
                                      TXN_F_CA_IDENTIFIER, TXN_F_RENEWAL, TXN_F_PENDING};
static const int client_auth_required[] = {TXN_F_REGISTRAR, TXN_F_SIP_URI, TXN_F_TRUST_STORE};
static const int client_auth_only[] = {TXN_F_REGISTRAR, TXN_F_SIP_URI, TXN_F_CERTIFICATE,
                                       TXN_F_EXPIRES};

static void check_type_keys(struct loader *ld, yaml_node_t *node, struct txn_conf *txn,
                            const struct walk_result *res, const char *label)
{
	const yaml_node_t *type = res->value[TXN_F_TYPE];
	const int *req, *other;
	size_t nreq, nother;
	const char *tname;

	if (type == NULL || type->type != YAML_SCALAR_NODE)
		return;
	if (strcmp(scalar(type), "enrollment") == 0) {
		req = enrollment_required;
		nreq = sizeof enrollment_required / sizeof *req;
		other = client_auth_only;
		nother = sizeof client_auth_only / sizeof *other;
		tname = "an enrollment";
	} else if (strcmp(scalar(type), "client-auth") == 0) {
		req = client_auth_required;
		nreq = sizeof client_auth_required / sizeof *req;
		other = enrollment_only;
		nother = sizeof enrollment_only / sizeof *other;
		tname = "a client-auth";
		if (res->key[TXN_F_EXPIRES] == NULL)
			txn->expires = 60;
	} else {
		return;
	}
	for (size_t i = 0; i < nreq; i++) {
		if (res->key[req[i]] != NULL)
			continue;
		if (req[i] == TXN_F_TRUST_STORE)
			error_at(ld, &node->start_mark,
			         "the roots a device ships with, as one PEM file; the system store is "
			         "never used for client-auth",
			         "%s: missing required key 'trust_store'", label);
		else
			error_at(ld, &node->start_mark, NULL, "%s: missing required key '%s'", label,
			         txn_fields[req[i]].key);
	}
	for (size_t i = 0; i < nother; i++)
		if (res->key[other[i]] != NULL)
			error_at(ld, &res->key[other[i]]->start_mark, NULL,
			         "'%s' does not apply to %s transaction", txn_fields[other[i]].key,
			         tname);
	if (res->value[TXN_F_METHOD] != NULL && res->value[TXN_F_METHOD]->type == YAML_SCALAR_NODE)
		parse_method(ld, res->value[TXN_F_METHOD], txn);
}

static void load_txn(struct loader *ld, yaml_node_t *node, size_t index)
{
	struct txn_conf *txn = xcalloc(1, sizeof *txn);
	struct txn_state *st;
	struct walk_result res;
	char label[96];

	txn->key.type = KEY_TYPE_RSA;
	txn->key.bits = 2048;
	txn->interval_ms = DURATION_UNSET;
	txn->timeout_ms = DURATION_UNSET;
	txn->pending.poll_interval_ms = DURATION_UNSET;
	txn->pending.max_wait_ms = DURATION_UNSET;
	txn->warn.expiry_days = UINT_MAX;
	txn->warn.latency_ms = DURATION_UNSET;
	txn->line = (unsigned)node->start_mark.line + 1;
	*ld->tail = txn;
	ld->tail = &txn->next;
	ld->cfg->n_txns++;

	ld->txns = grow(ld->txns, &ld->txns_cap, ld->ntxns + 1, sizeof *ld->txns);
	st = &ld->txns[ld->ntxns++];
	memset(st, 0, sizeof *st);
	st->txn = txn;
	st->node = node;

	walk_mapping(ld, node, txn_fields, txn, "in transaction", false, &res);
	st = &ld->txns[ld->ntxns - 1];
	st->interval = res.value[TXN_F_INTERVAL];
	st->timeout = res.value[TXN_F_TIMEOUT];
	if (st->label != NULL)
		snprintf(label, sizeof label, "transaction '%s'", st->label);
	else
		snprintf(label, sizeof label, "transaction #%zu", index + 1);
	check_required(ld, node, txn_fields, &res, label);
	check_type_keys(ld, node, txn, &res, label);
}

static void handle_transactions(struct loader *ld, yaml_node_t *node, void *obj,
                                const struct field *f)
{
	yaml_node_item_t *it;

	(void)obj;
	(void)f;
	if (node->data.sequence.items.start == node->data.sequence.items.top) {
		error_at(ld, &node->start_mark,
		         "add at least one transaction under 'transactions:'",
		         "'transactions' is empty");
		return;
	}
	for (it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&ld->doc, *it);
		size_t index = (size_t)(it - node->data.sequence.items.start);

		if (item == NULL)
			continue;
		if (item->type != YAML_MAPPING_NODE) {
			error_at(ld, &item->start_mark, NULL,
			         "expected a mapping for each transaction, found %s",
			         node_kind(item));
			continue;
		}
		load_txn(ld, item, index);
	}
}

/* "host:port" with a numeric port; host an IP literal or name ("[v6]:port" for IPv6) */
static void handle_listen(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	const char *s = scalar(node), *colon = strrchr(s, ':');
	char buf[80];
	uint64_t v;

	char host[64];
	unsigned char addr[16];
	size_t n = colon != NULL ? (size_t)(colon - s) : 0;
	bool ok;

	if (colon == NULL || colon == s || parse_uint(colon + 1, 65535, &v) == -1 || v == 0) {
		error_at(ld, &node->start_mark, "e.g. listen: \"127.0.0.1:9793\"",
		         "bad listen address '%s' (host:port)", clip(s, buf, sizeof buf));
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
		error_at(ld, &node->start_mark,
		         "use an IPv4 address, [IPv6] or localhost, e.g. \"0.0.0.0:9793\"",
		         "bad listen host in '%s'", clip(s, buf, sizeof buf));
		return;
	}
	handle_string(ld, node, obj, f);
}

/* Basic auth joins user and password with ':' (RFC 7617), so a user name cannot hold one. */
static void handle_basic_user(struct loader *ld, yaml_node_t *node, void *obj,
                              const struct field *f)
{
	if (strchr(scalar(node), ':') != NULL) {
		error_at(ld, &node->start_mark, NULL, "basic_auth: a username cannot contain ':'");
		return;
	}
	handle_string(ld, node, obj, f);
}

enum basic_field { BASIC_F_USERNAME, BASIC_F_PASSWORD };

static const struct field basic_fields[] = {
    [BASIC_F_USERNAME] = {"username", YAML_SCALAR_NODE, handle_basic_user,
                          offsetof(struct listener_conf, username), true, 0, 0},
    [BASIC_F_PASSWORD] = {"password", YAML_MAPPING_NODE, handle_password,
                          offsetof(struct listener_conf, password), true, 0, 0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_basic_auth(struct loader *ld, yaml_node_t *node, void *obj,
                              const struct field *f)
{
	struct walk_result res;

	(void)f;
	walk_mapping(ld, node, basic_fields, obj, "in basic_auth", false, &res);
	check_required(ld, node, basic_fields, &res, "basic_auth");
}

enum web_field { WEB_F_TLS_CERT, WEB_F_TLS_KEY, WEB_F_BASIC_AUTH };

static const struct field web_fields[] = {
    [WEB_F_TLS_CERT] = {"tls_cert", YAML_SCALAR_NODE, handle_path,
                        offsetof(struct listener_conf, tls_cert), false, 0, 0},
    [WEB_F_TLS_KEY] = {"tls_key", YAML_SCALAR_NODE, handle_path,
                       offsetof(struct listener_conf, tls_key), false, 0, 0},
    [WEB_F_BASIC_AUTH] = {"basic_auth", YAML_MAPPING_NODE, handle_basic_auth, 0, false, 0, 0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_web(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	struct walk_result res;

	walk_mapping(ld, node, web_fields, field_ptr(obj, f), "in web", false, &res);
	if (res.key[WEB_F_TLS_CERT] != NULL && res.key[WEB_F_TLS_KEY] == NULL)
		error_at(ld, &res.key[WEB_F_TLS_CERT]->start_mark, NULL,
		         "web: 'tls_cert' needs a 'tls_key'");
	if (res.key[WEB_F_TLS_KEY] != NULL && res.key[WEB_F_TLS_CERT] == NULL)
		error_at(ld, &res.key[WEB_F_TLS_KEY]->start_mark, NULL,
		         "web: 'tls_key' needs a 'tls_cert'");
}

enum probe_field {
	PROBE_F_STATE_DIR,
	PROBE_F_LISTEN,
	PROBE_F_MAX_PER_ENDPOINT,
	PROBE_F_SYSLOG,
	PROBE_F_WEB,
};

static const struct field probe_fields[] = {
    [PROBE_F_STATE_DIR] = {"state_dir", YAML_SCALAR_NODE, handle_path,
                           offsetof(struct config, state_dir), false, 0, 0},
    [PROBE_F_LISTEN] = {"listen", YAML_SCALAR_NODE, handle_listen, offsetof(struct config, listen),
                        false, 0, 0},
    [PROBE_F_MAX_PER_ENDPOINT] = {"max_per_endpoint", YAML_SCALAR_NODE, handle_uint,
                                  offsetof(struct config, max_per_endpoint), false, 1, 1000},
    [PROBE_F_SYSLOG] = {"syslog", YAML_SCALAR_NODE, handle_bool, offsetof(struct config, syslog),
                        false, 0, 0},
    [PROBE_F_WEB] = {"web", YAML_MAPPING_NODE, handle_web, offsetof(struct config, web), false, 0,
                     0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_probe(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	struct walk_result res;

	(void)f;
	walk_mapping(ld, node, probe_fields, obj, "in probe", false, &res);
}

enum defaults_field {
	DEFAULTS_F_INTERVAL,
	DEFAULTS_F_TIMEOUT,
	DEFAULTS_F_PENDING,
	DEFAULTS_F_MAX_ATTEMPTS,
	DEFAULTS_F_WARN,
};

static const struct field defaults_fields[] = {
    [DEFAULTS_F_INTERVAL] = {"interval", YAML_SCALAR_NODE, handle_duration,
                             offsetof(struct config, default_interval_ms), false, MS_SECOND,
                             30 * MS_DAY},
    [DEFAULTS_F_TIMEOUT] = {"timeout", YAML_SCALAR_NODE, handle_duration,
                            offsetof(struct config, default_timeout_ms), false, 1, MS_HOUR},
    [DEFAULTS_F_PENDING] = {"pending", YAML_MAPPING_NODE, handle_default_pending,
                            offsetof(struct config, default_pending), false, 0, 0},
    [DEFAULTS_F_MAX_ATTEMPTS] = {"max_attempts", YAML_SCALAR_NODE, handle_uint,
                                 offsetof(struct config, max_attempts), false, 1, 100},
    [DEFAULTS_F_WARN] = {"warn", YAML_MAPPING_NODE, handle_warn,
                         offsetof(struct config, default_warn), false, 0, 0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_defaults(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	struct walk_result res;

	(void)f;
	walk_mapping(ld, node, defaults_fields, obj, "in defaults", false, &res);
}

/* Prometheus label names; the ones certprobe sets itself are reserved. */
static bool valid_label_name(const char *s)
{
	static const char *const reserved[] = {"alertname", "endpoint", "kind", "severity", "job",
	                                       NULL};

	if (!am_label_name_valid(s) || strncmp(s, "__", 2) == 0)
		return false;
	for (size_t i = 0; reserved[i] != NULL; i++)
		if (strcmp(s, reserved[i]) == 0)
			return false;
	return strlen(s) <= 64;
}

static void handle_am_labels(struct loader *ld, yaml_node_t *node, void *obj,
                             const struct field *f)
{
	struct alertmanager_conf *am = obj;

	(void)f;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key = yaml_document_get_node(&ld->doc, p->key);
		yaml_node_t *value = yaml_document_get_node(&ld->doc, p->value);
		char buf[80];

		if (key == NULL || value == NULL)
			continue;
		if (key->type != YAML_SCALAR_NODE || value->type != YAML_SCALAR_NODE) {
			error_at(ld, &key->start_mark, NULL,
			         "expected 'name: value' pairs in labels, found %s",
			         node_kind(key->type != YAML_SCALAR_NODE ? key : value));
			continue;
		}
		if (!valid_label_name(scalar(key))) {
			error_at(ld, &key->start_mark,
			         "letters, digits and _, not starting with a digit or __; alertname, "
			         "endpoint, kind, severity and job are set by certprobe",
			         "bad label name '%s'", clip(scalar(key), buf, sizeof buf));
			continue;
		}
		if (scalar_check(ld, value, scalar(key)) == -1)
			continue;
		for (size_t i = 0; i < am->n_labels; i++)
			if (strcmp(am->labels[i].name, scalar(key)) == 0)
				error_at(ld, &key->start_mark, NULL, "duplicate label '%s'",
				         am->labels[i].name);
		am->labels = xrealloc(am->labels, (am->n_labels + 1) * sizeof *am->labels);
		am->labels[am->n_labels].name = xstrdup(scalar(key));
		am->labels[am->n_labels].value = xstrdup(scalar(value));
		am->n_labels++;
	}
}

static void handle_am_urls(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	struct alertmanager_conf *am = obj;

	(void)f;
	if (node->data.sequence.items.start == node->data.sequence.items.top) {
		error_at(ld, &node->start_mark, "e.g. urls: [\"http://127.0.0.1:9093\"]",
		         "'urls' is empty");
		return;
	}
	for (yaml_node_item_t *it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&ld->doc, *it);
		const char *why;
		char buf[80];

		if (item == NULL)
			continue;
		if (item->type != YAML_SCALAR_NODE) {
			error_at(ld, &item->start_mark, NULL, "expected a URL in urls, found %s",
			         node_kind(item));
			continue;
		}
		if (scalar_check(ld, item, "urls") == -1)
			continue;
		why = url_problem(scalar(item));
		if (why != NULL) {
			error_at(ld, &item->start_mark, NULL, "bad URL '%s': %s",
			         clip(scalar(item), buf, sizeof buf), why);
			continue;
		}
		am->urls = xrealloc(am->urls, (am->n_urls + 1) * sizeof *am->urls);
		am->urls[am->n_urls++] = xstrdup(scalar(item));
	}
}

enum am_field { AM_F_URLS, AM_F_RESEND, AM_F_TIMEOUT, AM_F_LABELS, AM_F_TRUST_STORE };

static const struct field am_fields[] = {
    [AM_F_URLS] = {"urls", YAML_SEQUENCE_NODE, handle_am_urls, 0, true, 0, 0},
    [AM_F_RESEND] = {"resend_interval", YAML_SCALAR_NODE, handle_duration,
                     offsetof(struct alertmanager_conf, resend_interval_ms), false,
                     5 * MS_SECOND, MS_HOUR},
    [AM_F_TIMEOUT] = {"timeout", YAML_SCALAR_NODE, handle_duration,
                      offsetof(struct alertmanager_conf, timeout_ms), false, 1, 5 * MS_MINUTE},
    [AM_F_LABELS] = {"labels", YAML_MAPPING_NODE, handle_am_labels, 0, false, 0, 0},
    [AM_F_TRUST_STORE] = {"trust_store", YAML_SCALAR_NODE, handle_path,
                          offsetof(struct alertmanager_conf, trust_store), false, 0, 0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_alertmanager(struct loader *ld, yaml_node_t *node, void *obj,
                                const struct field *f)
{
	struct walk_result res;

	(void)f;
	walk_mapping(ld, node, am_fields, &((struct config *)obj)->alertmanager,
	             "in alertmanager", false, &res);
	check_required(ld, node, am_fields, &res, "alertmanager");
}

static const struct field alerting_fields[] = {
    {"alertmanager", YAML_MAPPING_NODE, handle_alertmanager, 0, false, 0, 0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

static void handle_alerting(struct loader *ld, yaml_node_t *node, void *obj, const struct field *f)
{
	struct walk_result res;

	(void)f;
	walk_mapping(ld, node, alerting_fields, obj, "in alerting", false, &res);
}

enum root_field { ROOT_F_PROBE, ROOT_F_DEFAULTS, ROOT_F_ALERTING, ROOT_F_TRANSACTIONS };

static const struct field root_fields[] = {
    [ROOT_F_PROBE] = {"probe", YAML_MAPPING_NODE, handle_probe, 0, false, 0, 0},
    [ROOT_F_DEFAULTS] = {"defaults", YAML_MAPPING_NODE, handle_defaults, 0, false, 0, 0},
    [ROOT_F_ALERTING] = {"alerting", YAML_MAPPING_NODE, handle_alerting, 0, false, 0, 0},
    [ROOT_F_TRANSACTIONS] = {"transactions", YAML_SEQUENCE_NODE, handle_transactions, 0, true, 0,
                             0},
    {NULL, YAML_NO_NODE, NULL, 0, false, 0, 0},
};

/* ---- the load ---- */

static void check_pending(struct loader *ld, const struct pending_conf *p, yaml_node_t *poll,
                          yaml_node_t *max_wait, const char *prefix)
{
	char a[32], b[32];
	yaml_node_t *at = max_wait != NULL ? max_wait : poll;

	if (at == NULL || p->poll_interval_ms == DURATION_UNSET ||
	    p->max_wait_ms == DURATION_UNSET || p->max_wait_ms >= p->poll_interval_ms)
		return;
	format_duration(p->max_wait_ms, a, sizeof a);
	format_duration(p->poll_interval_ms, b, sizeof b);
	error_at(ld, &at->start_mark, NULL, "%smax_wait (%s) is shorter than %spoll_interval (%s)",
	         prefix, a, prefix, b);
}

/* Fill inherited values and run the checks that need the whole document. */
static void finish(struct loader *ld)
{
	struct config *cfg = ld->cfg;
	struct pending_conf *dp = &cfg->default_pending;

	if (cfg->state_dir == NULL)
		cfg->state_dir = xstrdup("/var/lib/certprobe");
	if (cfg->listen == NULL)
		cfg->listen = xstrdup("127.0.0.1:9793");
	if (cfg->max_per_endpoint == 0)
		cfg->max_per_endpoint = 2;
	if (cfg->max_attempts == 0)
		cfg->max_attempts = 3;
	if (cfg->default_interval_ms == DURATION_UNSET)
		cfg->default_interval_ms = 15 * MS_MINUTE;
	if (cfg->default_timeout_ms == DURATION_UNSET)
		cfg->default_timeout_ms = 30 * MS_SECOND;
	if (dp->poll_interval_ms == DURATION_UNSET && ld->def_poll == NULL)
		dp->poll_interval_ms = 30 * MS_SECOND;
	if (dp->max_wait_ms == DURATION_UNSET && ld->def_max_wait == NULL)
		dp->max_wait_ms = 10 * MS_MINUTE;
	check_pending(ld, dp, ld->def_poll, ld->def_max_wait, "defaults.pending.");
	if (cfg->default_warn.expiry_days == UINT_MAX)
		cfg->default_warn.expiry_days = 30;
	if (cfg->default_warn.latency_ms == DURATION_UNSET)
		cfg->default_warn.latency_ms = 0;
	if (cfg->alertmanager.resend_interval_ms == DURATION_UNSET)
		cfg->alertmanager.resend_interval_ms = MS_MINUTE;
	if (cfg->alertmanager.timeout_ms == DURATION_UNSET)
		cfg->alertmanager.timeout_ms = 10 * MS_SECOND;

	for (size_t i = 0; i < ld->ntxns; i++) {
		struct txn_state *st = &ld->txns[i];
		struct txn_conf *t = st->txn;

		if (t->interval_ms == DURATION_UNSET && st->interval == NULL)
			t->interval_ms = cfg->default_interval_ms;
		if (t->timeout_ms == DURATION_UNSET && st->timeout == NULL)
			t->timeout_ms = cfg->default_timeout_ms;
		if (t->pending.poll_interval_ms == DURATION_UNSET && st->poll == NULL)
			t->pending.poll_interval_ms = dp->poll_interval_ms;
		if (t->pending.max_wait_ms == DURATION_UNSET && st->max_wait == NULL)
			t->pending.max_wait_ms = dp->max_wait_ms;
		check_pending(ld, &t->pending, st->poll, st->max_wait, "pending.");
		warn_inherit(&t->warn, &cfg->default_warn);
		if (st->cert_from != NULL) {
			const struct txn_conf *src = config_find_txn(cfg, t->certificate.from);
			char buf[80];
			if (src == NULL)
				error_at(ld, &st->cert_from->start_mark, NULL,
				         "certificate.from: no transaction named '%s'",
				         clip(scalar(st->cert_from), buf, sizeof buf));
			else if (src->type != TXN_TYPE_ENROLLMENT)
				error_at(ld, &st->cert_from->start_mark, NULL,
				         "certificate.from: '%s' is not an enrollment transaction",
				         src->name);
		}
	}
}

static void syntax_error(struct loader *ld, const yaml_parser_t *parser)
{
	unsigned line, col;
	const char *hint = NULL;
	char hbuf[96];
	size_t off;

	if (parser->error == YAML_MEMORY_ERROR) {
		error_pos(ld, 0, 0, NULL, "out of memory while parsing");
		return;
	}
	if (parser->error == YAML_READER_ERROR) {
		source_position(&ld->src, parser->problem_offset, &line, &col);
	} else {
		line = (unsigned)parser->problem_mark.line + 1;
		col = (unsigned)parser->problem_mark.column + 1;
	}
	off = source_offset(&ld->src, line - 1, col - 1);
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
		error_pos(ld, line, col, hint, "YAML syntax error: %s (%s at line %zu)",
		          parser->problem ? parser->problem : "unknown", parser->context,
		          parser->context_mark.line + 1);
	else
		error_pos(ld, line, col, hint, "YAML syntax error: %s",
		          parser->problem ? parser->problem : "unknown");
}

static void document_wipe_delete(yaml_document_t *doc)
{
	for (yaml_node_t *n = doc->nodes.start; n != NULL && n < doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE && n->data.scalar.value != NULL)
			explicit_bzero(n->data.scalar.value, n->data.scalar.length);
	yaml_document_delete(doc);
}

static void walk_document(struct loader *ld)
{
	yaml_node_t *root = yaml_document_get_root_node(&ld->doc);
	struct walk_result res;

	if (root == NULL) {
		error_pos(ld, 1, 1, "see the example configuration",
		          "empty configuration; expected a mapping with a 'transactions' list");
		return;
	}
	if (root->type != YAML_MAPPING_NODE) {
		error_at(ld, &root->start_mark, NULL,
		         "expected a mapping at the top level, found %s", node_kind(root));
		return;
	}
	walk_mapping(ld, root, root_fields, ld->cfg, "at the top level", false, &res);
	check_required(ld, root, root_fields, &res, NULL);
}

static struct config *load(const char *name, const unsigned char *buf, size_t len, FILE *errout,
                           unsigned *nerrors, bool check_mode, mode_t mode)
{
	struct loader ld;
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
	ld.cfg->default_interval_ms = DURATION_UNSET;
	ld.cfg->default_timeout_ms = DURATION_UNSET;
	ld.cfg->default_pending.poll_interval_ms = DURATION_UNSET;
	ld.cfg->default_pending.max_wait_ms = DURATION_UNSET;
	ld.cfg->default_warn.expiry_days = UINT_MAX;
	ld.cfg->default_warn.latency_ms = DURATION_UNSET;
	ld.cfg->alertmanager.resend_interval_ms = DURATION_UNSET;
	ld.cfg->alertmanager.timeout_ms = DURATION_UNSET;
	ld.tail = &ld.cfg->txns;

	rc = source_init(&ld, buf, len);
	if (rc == -1)
		goto out;
	if (!yaml_parser_initialize(&parser)) {
		error_pos(&ld, 0, 0, NULL, "cannot initialise the YAML parser");
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
			error_at(&ld, &next.start_mark, NULL,
			         "only one YAML document is allowed per file");
		document_wipe_delete(&next);
	}
	finish(&ld);
out:
	if (have_doc)
		document_wipe_delete(&ld.doc);
	if (have_parser) {
		if (parser.buffer.start != NULL)
			explicit_bzero(parser.buffer.start,
			               (size_t)(parser.buffer.end - parser.buffer.start));
		if (parser.raw_buffer.start != NULL)
			explicit_bzero(parser.raw_buffer.start,
			               (size_t)(parser.raw_buffer.end - parser.raw_buffer.start));
		yaml_parser_delete(&parser);
	}
	if (nerrors != NULL)
		*nerrors = (unsigned)ld.nerrors;
	if (ld.nerrors == 0) {
		cfg = ld.cfg;
		ld.cfg = NULL;
	} else {
		report_errors(&ld, errout);
	}
	config_free(ld.cfg);
	for (size_t i = 0; i < ld.nerrors; i++) {
		free(ld.errors[i].msg);
		free(ld.errors[i].hint);
	}
	free(ld.errors);
	free(ld.masks);
	free(ld.txns);
	free(ld.names);
	source_free(&ld.src);
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

static void secret_ref_clear(struct secret_ref *ref)
{
	secret_wipe_free(ref->value);
	free(ref->path);
	free(ref->env);
	memset(ref, 0, sizeof *ref);
}

void config_free(struct config *cfg)
{
	struct txn_conf *t, *next;

	if (cfg == NULL)
		return;
	for (t = cfg->txns; t != NULL; t = next) {
		next = t->next;
		free(t->name);
		free(t->url);
		secret_ref_clear(&t->challenge.secret);
		free(t->challenge.ndes.url);
		free(t->challenge.ndes.username);
		secret_ref_clear(&t->challenge.ndes.password);
		free(t->subject);
		free(t->key.curve);
		free(t->trust_store);
		free(t->ca_identifier);
		free(t->registrar.host);
		free(t->registrar.domain);
		free(t->registrar.resolver);
		free(t->registrar.tls_name);
		free(t->sip_uri);
		free(t->certificate.from);
		free(t->certificate.cert);
		free(t->certificate.key);
		warn_clear(&t->warn);
		free(t);
	}
	free(cfg->path);
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
	warn_clear(&cfg->default_warn);
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

/* ---- secrets at run time ---- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int secret_read_file(const char *path, char **out, char *err, size_t errlen)
{
	char buf[SECRET_MAX_BYTES + 2];
	size_t len = 0, line;
	const char *nl;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		set_err(err, errlen, "cannot open secret file %s: %s", path, strerror(errno));
		goto out;
	}
	while (len < sizeof buf) {
		ssize_t n = read(fd, buf + len, sizeof buf - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			set_err(err, errlen, "cannot read secret file %s: %s", path,
			        strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	nl = memchr(buf, '\n', len);
	if (nl == NULL && len == sizeof buf) {
		set_err(err, errlen, "secret file %s: first line longer than %d bytes", path,
		        SECRET_MAX_BYTES);
		goto out;
	}
	line = nl != NULL ? (size_t)(nl - buf) : len;
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	if (line > SECRET_MAX_BYTES) {
		set_err(err, errlen, "secret file %s: first line longer than %d bytes", path,
		        SECRET_MAX_BYTES);
		goto out;
	}
	if (line == 0) {
		set_err(err, errlen, "secret file %s is empty", path);
		goto out;
	}
	if (memchr(buf, '\0', line) != NULL) {
		set_err(err, errlen, "secret file %s contains a NUL byte", path);
		goto out;
	}
	*out = xstrndup(buf, line);
	rc = 0;
out:
	explicit_bzero(buf, sizeof buf);
	if (fd != -1)
		close(fd);
	return rc;
}

int secret_resolve(const struct secret_ref *ref, char **out, char *err, size_t errlen)
{
	const char *v;
	int rc = -1;

	if (out == NULL)
		goto out;
	*out = NULL;
	if (ref == NULL) {
		set_err(err, errlen, "no secret configured");
		goto out;
	}
	switch (ref->source) {
	case SECRET_VALUE:
		if (ref->value == NULL || ref->value[0] == '\0') {
			set_err(err, errlen, "the inline secret is empty");
			goto out;
		}
		*out = xstrdup(ref->value);
		rc = 0;
		break;
	case SECRET_FILE:
		if (ref->path == NULL) {
			set_err(err, errlen, "no secret file configured");
			goto out;
		}
		rc = secret_read_file(ref->path, out, err, errlen);
		break;
	case SECRET_ENV:
		if (ref->env == NULL) {
			set_err(err, errlen, "no environment variable configured");
			goto out;
		}
		v = getenv(ref->env);
		if (v == NULL) {
			set_err(err, errlen, "environment variable %s is not set", ref->env);
			goto out;
		}
		if (v[0] == '\0') {
			set_err(err, errlen, "environment variable %s is empty", ref->env);
			goto out;
		}
		*out = xstrdup(v);
		rc = 0;
		break;
	default:
		set_err(err, errlen, "no secret configured");
		break;
	}
out:
	return rc;
}

void secret_wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
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
			unit = MS_SECOND;
			p++;
		} else if (*p == 'm') {
			unit = MS_MINUTE;
			p++;
		} else if (*p == 'h') {
			unit = MS_HOUR;
			p++;
		} else if (*p == 'd') {
			unit = MS_DAY;
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
