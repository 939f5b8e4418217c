/* prometheus: the text expositions of the metric table (see metrics.h). */
#ifndef CERTPROBE_PROMETHEUS_H
#define CERTPROBE_PROMETHEUS_H

#include <stdbool.h>

#include "core/bbuf.h"
#include "exporters/snapshot.h"

/*
 * Append the exposition of s to out: the Prometheus text format 0.0.4, or with
 * openmetrics the OpenMetrics 1.0.0 text format (UNIT lines, info types, counters
 * named without _total, "# EOF" last). Both renderings carry the same series with the
 * same labels. Returns 0, or -1 when out's cap was hit: out then holds a truncated,
 * unusable exposition (answer the scrape with a 5xx). out stays owned by the caller.
 * A snapshot with a probe row renders the /probe families of that row only; one
 * without renders every other family.
 */
int prometheus_render(struct bbuf *out, const struct snapshot *s, bool openmetrics);

#endif
