/*
 * cfg_source: the text of one configuration being loaded, split into lines the way
 * libyaml counts them, and the errors found in it. Errors are collected with their
 * position and printed all at once, sorted, as "file:line:col: message" with the source
 * line echoed (secrets masked) and a caret (netplan's yaml_error). Config-internal.
 */
#ifndef CERTPROBE_CFG_SOURCE_H
#define CERTPROBE_CFG_SOURCE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Byte range [start, end) of the source that must never be echoed. */
struct cfg_span {
	size_t start;
	size_t end;
};

struct cfg_error;

struct cfg_source {
	const char *name; /* for messages; borrowed, must outlive the source */
	/* the input without a UTF-8 BOM, bad bytes replaced by '?', NUL-terminated */
	unsigned char *text;
	size_t len;
	size_t *line_start; /* byte offset of each line */
	size_t *line_stop;  /* byte offset of each line's break (or the end) */
	size_t nlines;
	size_t *char_byte; /* byte offset of each character (libyaml's mark.index) */
	size_t nchars;
	struct cfg_error *errors;
	size_t nerrors; /* recorded: at most CFG_SOURCE_MAX_ERRORS */
	size_t errors_cap;
	size_t dropped;             /* errors past the cap: counted, not recorded */
	struct cfg_error *warnings; /* printed like errors, but the load succeeds; capped
	                               like them, without a count */
	size_t nwarnings;
	size_t warnings_cap;
};

/*
 * A file with 40,000 mistakes must not cost seconds and 120,000 lines of log: the first
 * CFG_SOURCE_MAX_ERRORS are kept and shown, the rest counted ("and N more").
 */
#define CFG_SOURCE_MAX_ERRORS 50

/*
 * Copy buf into src (name borrowed for messages) with every byte libyaml would refuse
 * replaced by '?', so the parser reads on and reports more than the first problem; each
 * refused byte run becomes an error of its own (at most one per line). Returns 0, or -1
 * after an error when the input cannot be read at all (UTF-16). Free with
 * cfg_source_free() either way.
 */
int cfg_source_init(struct cfg_source *src, const char *name, const unsigned char *buf, size_t len);

/* Wipe the text, free the tables and the errors; src is zeroed. */
void cfg_source_free(struct cfg_source *src);

/*
 * Record an error at a 1-based line and column (0, 0: not tied to a position) and, when
 * known, libyaml's character index of the position (else SIZE_MAX). hint may be NULL.
 * Copies everything.
 */
void cfg_source_verror(struct cfg_source *src, unsigned line, unsigned col, size_t index,
                       const char *hint, const char *fmt, va_list ap);
void cfg_source_error(struct cfg_source *src, unsigned line, unsigned col, const char *hint,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Record a warning the same way: printed with the errors (or alone) as
 * "file:line:col: warning: message", but it does not fail the load.
 */
void cfg_source_vwarning(struct cfg_source *src, unsigned line, unsigned col, size_t index,
                         const char *hint, const char *fmt, va_list ap);

/* Strict loading: every warning recorded so far becomes an error. */
void cfg_source_warnings_to_errors(struct cfg_source *src);

/* Byte offset of a 0-based line and column (in characters), clamped to the line. */
size_t cfg_source_offset(const struct cfg_source *src, size_t line, size_t col);

/*
 * Byte offset of a libyaml mark (character index, 0-based line and column): through the
 * character table once cfg_source_index_chars() built it, else from line and column.
 */
size_t cfg_source_mark_offset(const struct cfg_source *src, size_t index, size_t line, size_t col);

/* 1-based line and column of a byte offset. */
void cfg_source_position(const struct cfg_source *src, size_t off, unsigned *line, unsigned *col);

/* Build the character index to byte offset table (needed only to print errors). */
void cfg_source_index_chars(struct cfg_source *src);

/*
 * Print every error and warning to out, sorted by position (then discovery order): the
 * message ("warning: " first for a warning), the source line with every byte inside
 * masks (sorted, disjoint) replaced by ********, a caret line, then an optional
 * "  hint: ..." line. Call cfg_source_index_chars() first.
 */
void cfg_source_report(struct cfg_source *src, FILE *out, const struct cfg_span *masks,
                       size_t nmasks);

/* Grow an array of size-byte elements to hold need of them (doubling); never fails. */
void *cfg_source_grow(void *p, size_t *cap, size_t need, size_t size);

#endif
