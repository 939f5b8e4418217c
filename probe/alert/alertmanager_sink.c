/*
 * alertmanager_sink: the Alertmanager sink behind the alert-sink interface. Maps an
 * endpoint alert to Alertmanager's labels (alertname by kind, endpoint, kind, severity,
 * job and the configured static labels) and annotations, and hands it to am_sink.
 */
#include "alert/alertmanager_sink.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/xalloc.h"

#define LABELS_MAX 64

struct alertmanager_sink {
	struct alert_sink base;
	struct am_sink *am;
	struct am_kv *static_labels; /* strings owned: name and value xstrdup'ed */
	size_t n_static;
	char *probe; /* the "probe" annotation: which host raised it; NULL = none */
};

static void static_labels_clear(struct alertmanager_sink *s)
{
	for (size_t i = 0; i < s->n_static; i++) {
		free((char *)(uintptr_t)s->static_labels[i].name);
		free((char *)(uintptr_t)s->static_labels[i].value);
	}
	free(s->static_labels);
	s->static_labels = NULL;
	s->n_static = 0;
}

/* The identifying labels of a: fills kv (LABELS_MAX slots), returns their count. */
static size_t am_labels(const struct alertmanager_sink *s, const struct alert *a, struct am_kv *kv)
{
	size_t n = 0;

	kv[n++] = (struct am_kv){"alertname", a->kind == ENDPOINT_KIND_REGISTRAR
	                                          ? "CertprobeRegistrarState"
	                                          : "CertprobeWebServiceState"};
	kv[n++] = (struct am_kv){"endpoint", a->endpoint};
	kv[n++] = (struct am_kv){"kind", endpoint_kind_name(a->kind)};
	kv[n++] = (struct am_kv){"severity", alert_severity_name(a->severity)};
	kv[n++] = (struct am_kv){"job", "certprobe"};
	for (size_t i = 0; i < s->n_static && n < LABELS_MAX; i++)
		kv[n++] = s->static_labels[i];
	return n;
}

static void am_raise(struct alert_sink *base, const struct alert *a)
{
	struct alertmanager_sink *s = base->impl;
	struct am_kv labels[LABELS_MAX], ann[5];
	size_t nl = am_labels(s, a, labels), na = 4;

	ann[0] = (struct am_kv){"summary", a->summary};
	ann[1] = (struct am_kv){"description", a->description};
	ann[2] = (struct am_kv){"reason", a->reason};
	ann[3] = (struct am_kv){"transactions", a->transactions};
	/* an annotation, never a label: the two probes of an HA pair raise one alert */
	if (s->probe != NULL)
		ann[na++] = (struct am_kv){"probe", s->probe};
	am_sink_fire(s->am, labels, nl, ann, na, a->starts_at);
}

static void am_resolve(struct alert_sink *base, const struct alert *a)
{
	struct alertmanager_sink *s = base->impl;
	struct am_kv labels[LABELS_MAX];
	size_t nl = am_labels(s, a, labels);

	am_sink_resolve(s->am, labels, nl, a->ends_at);
}

static bool am_pending(const struct alert_sink *base, const struct alert *a)
{
	const struct alertmanager_sink *s = base->impl;
	struct am_kv labels[LABELS_MAX];
	size_t nl = am_labels(s, a, labels);

	return am_sink_holds(s->am, labels, nl);
}

static void am_free(struct alert_sink *base)
{
	struct alertmanager_sink *s = base->impl;

	am_sink_free(s->am);
	static_labels_clear(s);
	free(s->probe);
	free(s);
}

static const struct alert_sink_ops alertmanager_sink_ops = {
    .name = "alertmanager",
    .raise = am_raise,
    .resolve = am_resolve,
    .pending = am_pending,
    .free = am_free,
};

void alertmanager_sink_set_labels(struct alert_sink *sink, const struct am_kv *labels,
                                  size_t n_labels)
{
	struct alertmanager_sink *s = sink->impl;

	static_labels_clear(s);
	s->static_labels = xcalloc(n_labels + 1, sizeof *s->static_labels);
	for (size_t i = 0; i < n_labels; i++)
		s->static_labels[i] =
		    (struct am_kv){xstrdup(labels[i].name), xstrdup(labels[i].value)};
	s->n_static = n_labels;
}

void alertmanager_sink_set_probe(struct alert_sink *sink, const char *probe)
{
	struct alertmanager_sink *s = sink->impl;

	free(s->probe);
	s->probe = probe != NULL && probe[0] != '\0' ? xstrdup(probe) : NULL;
}

struct alert_sink *alertmanager_sink_new(struct am_sink *am, const struct am_kv *labels,
                                         size_t n_labels)
{
	struct alertmanager_sink *s = xcalloc(1, sizeof *s);

	s->base.ops = &alertmanager_sink_ops;
	s->base.impl = s;
	s->am = am;
	alertmanager_sink_set_labels(&s->base, labels, n_labels);
	return &s->base;
}
