/*
 * fuzz_statefile: state-file documents through statefile_load (the daemon's restore and
 * `certprobe status` read what is on disk), then every restored record through what the
 * daemon does with it: a range check of the numbers that index arrays, one health
 * update per transaction and endpoint (flap_update writes history[next]), and the
 * record serialised again.
 */
#define _DEFAULT_SOURCE 1
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "exporters/statefile.h"
#include "health/health.h"

static char path[64];

static void remove_input(void)
{
	unlink(path);
}

static void flap_check(const struct health_flap *f)
{
	if (f->next >= HEALTH_HISTORY_LEN || f->count > HEALTH_HISTORY_LEN)
		abort();
	for (unsigned i = 0; i < f->count; i++)
		if (f->history[i] > RESULT_UNKNOWN)
			abort();
	if (!(f->percent >= 0.0 && f->percent <= 100.0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct health_conf hc;
	struct sf_state *s;
	char err[256];
	FILE *f;

	if (path[0] == '\0') {
		int fd;
		snprintf(path, sizeof path, "/tmp/fuzz_statefile.XXXXXX");
		fd = mkstemp(path);
		if (fd == -1)
			abort();
		close(fd);
		atexit(remove_input);
		log_init("fuzz_statefile", LOG_LEVEL_ERR); /* a dropped record is not news here */
	}
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	s = statefile_load(path, err, sizeof err);
	if (s == NULL)
		return 0;
	health_conf_defaults(&hc);
	for (size_t i = 0; i < s->n_txns; i++) {
		struct sf_txn t = s->txns[i];
		struct health_change c;
		char line[256], *rec;

		flap_check(&t.health.flap);
		if (t.health.attempt > HEALTH_MAX_ATTEMPTS ||
		    (unsigned)t.health.state > RESULT_UNKNOWN ||
		    (unsigned)t.health.hard_state > RESULT_UNKNOWN ||
		    (unsigned)t.health.last_status >= TXN_STATUS_COUNT ||
		    (unsigned)t.health.hard_status >= TXN_STATUS_COUNT || t.last_run < 0 ||
		    t.last_success < 0)
			abort();
		if (t.have_last &&
		    (t.last.n_steps > TXN_MAX_STEPS || t.last.n_findings > TXN_MAX_FINDINGS ||
		     t.last.n_facts > TXN_MAX_FACTS || t.last.started < 0))
			abort();
		c = health_update(&t.health, &hc, RESULT_CRITICAL, TXN_PROBE_INTERNAL, 1);
		health_change_describe(line, sizeof line, "transaction", t.name, &t.health, &c);
		rec = statefile_txn_json(&t);
		free(rec);
	}
	for (size_t i = 0; i < s->n_endpoints; i++) {
		struct sf_endpoint e = s->endpoints[i];
		struct health h;
		const struct health *m[1] = {&h};
		char *rec;

		flap_check(&e.health.flap);
		if (e.health.members_failing > e.health.members)
			abort();
		health_init(&h);
		(void)health_endpoint_update(&e.health, &hc, m, 1, 1);
		rec = statefile_endpoint_json(&e);
		free(rec);
	}
	for (size_t i = 0; i < s->n_alerts; i++)
		if (s->alerts[i].starts_at < 0 || s->alerts[i].ends_at < 0 ||
		    s->alerts[i].n_labels == 0)
			abort();
	statefile_state_free(s);
	return 0;
}
