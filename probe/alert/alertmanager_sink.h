/* alertmanager_sink: am_sink as an alert sink (see sink.h and alertmanager.h). */
#ifndef CERTPROBE_ALERTMANAGER_SINK_H
#define CERTPROBE_ALERTMANAGER_SINK_H

#include <stddef.h>

#include "alert/alertmanager.h"
#include "alert/sink.h"

/*
 * A sink delivering through am, which it takes over (freed with the sink). labels are
 * the configured static labels added to every alert (copied).
 */
struct alert_sink *alertmanager_sink_new(struct am_sink *am, const struct am_kv *labels,
                                         size_t n_labels);
/* Replace the static labels (a reload); alerts raised from now on carry them. */
void alertmanager_sink_set_labels(struct alert_sink *sink, const struct am_kv *labels,
                                  size_t n_labels);

/*
 * The "probe" annotation of every alert raised from now on (the host name): an
 * annotation, so that the two probes of an HA pair raise alerts with the same labels,
 * which a clustered Alertmanager notifies once. NULL or "" = none.
 */
void alertmanager_sink_set_probe(struct alert_sink *sink, const char *probe);

#endif
