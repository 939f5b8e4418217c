/*
 * prometheus: the Prometheus text format 0.0.4 and OpenMetrics 1.0.0 renderings of the
 * metric table over a snapshot (see prometheus.h). Every family is written contiguously,
 * one HELP/TYPE per family, and numbers are formatted from integers (no printf, no
 * floating point), so 10,000 transactions render in a few tens of milliseconds.
 */
#include "exporters/prometheus.h"

#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "core/xalloc.h"
#include "exporters/metrics.h"

/* ---- output: a staging buffer in front of the capped bbuf ---- */

#define STAGE_SIZE (32 * 1024)

struct writer {
	struct bbuf *out;
	bool failed; /* the cap was hit; everything after is dropped */
	size_t len;
	char buf[STAGE_SIZE];
};

static void w_flush(struct writer *w)
{
	if (w->len > 0 && !w->failed && bbuf_append(w->out, w->buf, w->len) == -1)
		w->failed = true;
	w->len = 0;
}

static void w_put(struct writer *w, const char *p, size_t n)
{
	if (n > STAGE_SIZE - w->len) {
		w_flush(w);
		if (n > STAGE_SIZE) {
			if (!w->failed && bbuf_append(w->out, p, n) == -1)
				w->failed = true;
			return;
		}
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void w_str(struct writer *w, const char *s)
{
	w_put(w, s, strlen(s));
}

static void w_char(struct writer *w, char c)
{
	if (w->len == STAGE_SIZE)
		w_flush(w);
	w->buf[w->len++] = c;
}

/*
 * A label value: backslash, double quote and newline escaped (both formats), and any
 * byte that is not valid UTF-8 replaced by U+FFFD, because Prometheus rejects the whole
 * scrape over one invalid label value.
 */
static void w_label_value(struct writer *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run;
	size_t n;

	if (s == NULL)
		return;
	run = p;
	while (*p != '\0') {
		if (*p < 0x80 && *p != '\\' && *p != '"' && *p != '\n') {
			p++;
			continue;
		}
		w_put(w, (const char *)run, (size_t)(p - run));
		if (*p == '\\') {
			w_put(w, "\\\\", 2);
			p++;
		} else if (*p == '"') {
			w_put(w, "\\\"", 2);
			p++;
		} else if (*p == '\n') {
			w_put(w, "\\n", 2);
			p++;
		} else {
			n = text_utf8_decode(p, NULL);
			if (n == 0) {
				w_put(w, "\xef\xbf\xbd", 3);
				p++;
			} else {
				w_put(w, (const char *)p, n);
				p += n;
			}
		}
		run = p;
	}
	w_put(w, (const char *)run, (size_t)(p - run));
}

/* name="value" */
static void w_label_pair(struct writer *w, const char *name, const char *value)
{
	w_str(w, name);
	w_put(w, "=\"", 2);
	w_label_value(w, value);
	w_char(w, '"');
}

/* The pair, opening the label set with "{" if it is the first one. */
static void w_label(struct writer *w, bool *first, const char *name, const char *value)
{
	w_char(w, *first ? '{' : ',');
	*first = false;
	w_label_pair(w, name, value);
}

static size_t fmt_u64(char *buf, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

static void w_u64(struct writer *w, uint64_t v)
{
	char buf[20];

	w_put(w, buf, fmt_u64(buf, v));
}

static void w_i64(struct writer *w, int64_t v)
{
	if (v < 0) {
		w_char(w, '-');
		w_u64(w, (uint64_t)0 - (uint64_t)v);
	} else {
		w_u64(w, (uint64_t)v);
	}
}

/* v millionths as a decimal: 1500000 -> "1.5", 42 -> "0.000042", 0 -> "0"; buf >= 28 */
static size_t fmt_micro(char *buf, uint64_t v)
{
	size_t n = fmt_u64(buf, v / 1000000);
	uint64_t frac = v % 1000000;

	if (frac != 0) {
		buf[n++] = '.';
		for (uint64_t d = 100000; frac != 0; d /= 10) {
			buf[n++] = (char)('0' + frac / d);
			frac %= d;
		}
	}
	return n;
}

static void w_micro(struct writer *w, uint64_t v)
{
	char buf[32];

	w_put(w, buf, fmt_micro(buf, v));
}

static void w_value(struct writer *w, const struct metric_value *v)
{
	switch (v->kind) {
	case METRIC_VALUE_UINT:
		w_u64(w, v->u);
		break;
	case METRIC_VALUE_INT:
		w_i64(w, v->i);
		break;
	case METRIC_VALUE_MICRO:
		w_micro(w, v->u);
		break;
	case METRIC_VALUE_HISTOGRAM:
	case METRIC_VALUE_STRING:
		/* not reached: histograms are written by w_histogram(), strings are SNMP only */
		w_char(w, '0');
		break;
	}
}

/* ---- common labels: escaped once per row, reused by every family ---- */

struct prefixes {
	char *text;  /* all rows' label lists back to back, e.g. `transaction="a",type="b"` */
	size_t *off; /* row i is text[off[i] .. off[i + 1]) */
};

/* The common labels of row i, comma-separated, without braces. */
static void prefix_row(struct writer *w, const struct snapshot *s, enum metric_scope scope,
                       size_t i)
{
	if (scope == METRIC_SCOPE_TXN) {
		const struct snapshot_txn *t = &s->txns[i];
		w_label_pair(w, "transaction", t->name);
		w_label_pair(w, ",type", t->type);
		w_label_pair(w, ",protocol", t->protocol);
		w_label_pair(w, ",endpoint", t->endpoint);
	} else if (scope == METRIC_SCOPE_ENDPOINT) {
		const struct snapshot_endpoint *e = &s->endpoints[i];
		w_label_pair(w, "endpoint", e->name);
		w_label_pair(w, ",kind", metrics_endpoint_kind_label(e->kind));
	}
}

/*
 * Build the label lists of every row of a scope. Writes through a writer into a
 * private bbuf, capped like the output: if the labels alone do not fit, neither will
 * the exposition. Returns -1 when the cap was hit.
 */
static int prefixes_build(struct prefixes *p, const struct snapshot *s, enum metric_scope scope,
                          size_t max, struct writer *w)
{
	struct bbuf text;
	size_t n = metrics_rows(s, scope);

	memset(p, 0, sizeof *p);
	bbuf_init(&text, max);
	w->out = &text;
	w->failed = false;
	w->len = 0;
	p->off = xcalloc(n + 1, sizeof *p->off);
	for (size_t i = 0; i < n && !w->failed; i++) {
		p->off[i] = text.len + w->len;
		prefix_row(w, s, scope, i);
	}
	w_flush(w);
	p->off[n] = text.len;
	p->text = (char *)text.data;
	return w->failed ? -1 : 0;
}

static void prefixes_free(struct prefixes *p)
{
	free(p->text);
	free(p->off);
	p->text = NULL;
	p->off = NULL;
}

/* ---- families ---- */

struct render {
	struct writer *w;
	bool om;
	const struct metric_def *def;
	const char *prefix; /* common labels of the current row, without braces */
	size_t prefix_len;
};

static const char *sample_suffix(const struct metric_def *d)
{
	if (d->type == METRIC_COUNTER)
		return "_total";
	if (d->type == METRIC_INFO)
		return "_info";
	return "";
}

static void w_header(struct render *r)
{
	const struct metric_def *d = r->def;
	/* 0.0.4 has no counter or info families: its metadata names the sample */
	const char *name_suffix = r->om ? "" : sample_suffix(d);
	const char *type;

	switch (d->type) {
	case METRIC_COUNTER:
		type = "counter";
		break;
	case METRIC_INFO:
		type = r->om ? "info" : "gauge";
		break;
	case METRIC_HISTOGRAM:
		type = "histogram";
		break;
	case METRIC_GAUGE:
	default:
		type = "gauge";
		break;
	}
	w_put(r->w, "# HELP ", 7);
	w_str(r->w, d->name);
	w_str(r->w, name_suffix);
	w_char(r->w, ' ');
	w_str(r->w, d->help);
	w_put(r->w, "\n# TYPE ", 8);
	w_str(r->w, d->name);
	w_str(r->w, name_suffix);
	w_char(r->w, ' ');
	w_str(r->w, type);
	w_char(r->w, '\n');
	if (r->om && d->unit == METRIC_UNIT_SECONDS) {
		w_put(r->w, "# UNIT ", 7);
		w_str(r->w, d->name);
		w_put(r->w, " seconds\n", 9);
	}
}

/* Name, then every label: the row's, the family's own, then an optional extra (le). */
static void w_series(struct render *r, const char *suffix, const struct metric_sample *smp,
                     const char *extra_name, const char *extra_value)
{
	struct writer *w = r->w;
	bool first = true;

	w_str(w, r->def->name);
	w_str(w, suffix);
	if (r->prefix_len > 0) {
		w_char(w, '{');
		w_put(w, r->prefix, r->prefix_len);
		first = false;
	}
	for (size_t k = 0; k < METRIC_MAX_LABELS && r->def->labels[k] != NULL; k++)
		w_label(w, &first, r->def->labels[k], smp->label_values[k]);
	if (extra_name != NULL)
		w_label(w, &first, extra_name, extra_value);
	if (!first)
		w_char(w, '}');
	w_char(w, ' ');
}

static void w_histogram(struct render *r, const struct metric_sample *smp)
{
	const struct snapshot_histogram *h = smp->value.hist;
	uint64_t cum = 0;
	char le[32];

	for (size_t b = 0; b <= SNAPSHOT_HISTOGRAM_BOUNDS; b++) {
		cum += h->counts[b];
		if (b < SNAPSHOT_HISTOGRAM_BOUNDS) {
			/* the same text in both renderings, so le values match */
			le[fmt_micro(le, metrics_histogram_bounds_us[b])] = '\0';
			w_series(r, "_bucket", smp, "le", le);
		} else {
			w_series(r, "_bucket", smp, "le", "+Inf");
		}
		w_u64(r->w, cum);
		w_char(r->w, '\n');
	}
	w_series(r, "_sum", smp, NULL, NULL);
	w_micro(r->w, h->sum_us);
	w_char(r->w, '\n');
	w_series(r, "_count", smp, NULL, NULL);
	w_u64(r->w, cum);
	w_char(r->w, '\n');
}

static void render_family(struct render *r, const struct snapshot *s, const struct prefixes *p)
{
	const struct metric_def *d = r->def;
	size_t rows = metrics_rows(s, d->scope);
	const char *suffix = sample_suffix(d);

	w_header(r);
	for (size_t row = 0; row < rows && !r->w->failed; row++) {
		const void *rp = metrics_row(s, d->scope, row);
		size_t n = d->series != NULL ? d->series(rp) : 1;

		if (p != NULL) {
			r->prefix = p->text + p->off[row];
			r->prefix_len = p->off[row + 1] - p->off[row];
		} else {
			r->prefix = "";
			r->prefix_len = 0;
		}
		for (size_t i = 0; i < n; i++) {
			struct metric_sample smp;

			memset(&smp, 0, sizeof smp);
			if (!d->get(rp, i, &smp))
				continue;
			if (smp.value.kind == METRIC_VALUE_HISTOGRAM) {
				w_histogram(r, &smp);
				continue;
			}
			w_series(r, suffix, &smp, NULL, NULL);
			w_value(r->w, &smp.value);
			w_char(r->w, '\n');
		}
	}
}

int prometheus_render(struct bbuf *out, const struct snapshot *s, bool openmetrics)
{
	struct writer *w = xmalloc(sizeof *w);
	struct prefixes txn, ep;
	struct render r;
	size_t n;
	const struct metric_def *table = metrics_table(&n);
	int rc = -1;

	memset(&txn, 0, sizeof txn);
	memset(&ep, 0, sizeof ep);
	if (prefixes_build(&txn, s, METRIC_SCOPE_TXN, out->max, w) == -1 ||
	    prefixes_build(&ep, s, METRIC_SCOPE_ENDPOINT, out->max, w) == -1)
		goto out;

	w->out = out;
	w->failed = false;
	w->len = 0;
	memset(&r, 0, sizeof r);
	r.w = w;
	r.om = openmetrics;
	for (size_t f = 0; f < n && !w->failed; f++) {
		const struct prefixes *p = NULL;

		/* a /probe answer is its own families alone; /metrics has every other */
		if ((table[f].scope == METRIC_SCOPE_PROBE) != (s->probe != NULL) ||
		    table[f].snmp_only)
			continue;
		if (table[f].scope == METRIC_SCOPE_TXN)
			p = &txn;
		else if (table[f].scope == METRIC_SCOPE_ENDPOINT)
			p = &ep;
		r.def = &table[f];
		render_family(&r, s, p);
	}
	if (openmetrics)
		w_put(w, "# EOF\n", 6);
	w_flush(w);
	if (!w->failed)
		rc = 0;
out:
	prefixes_free(&txn);
	prefixes_free(&ep);
	free(w);
	return rc;
}
