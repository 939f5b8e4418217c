/*
 * sched: when each target runs. First runs are spread over a window that grows with
 * the number of transactions; then each keeps its cadence. At most max_per_endpoint
 * run against one endpoint at once (the rest wait in its FIFO queue); a target that
 * depends on another (a client-auth on its enrollment's certificate) waits for that
 * one's first run. A finished run's result goes to health, the rows, the state record
 * and the endpoint's alerts, in that order.
 */
#include "daemon/daemon.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "exporters/metrics.h"
#include "exporters/snmp_agent.h"

static void target_arm(struct target *t, uint64_t due_us)
{
	uint64_t now = clock_now_us();
	uint64_t delay = due_us > now ? due_us - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(delay / 1000000),
	                     .tv_usec = (suseconds_t)(delay % 1000000)};

	t->due_us = due_us;
	evtimer_add(t->timer, &tv);
}

static uint64_t rand64(void)
{
	return ((uint64_t)random() << 31) ^ (uint64_t)random();
}

/*
 * The window first runs are spread over: grows with the number of transactions (about
 * 100 starts per second at most), never longer than the transaction's interval.
 */
static uint64_t spread_window(const struct gen *g, const struct target *t)
{
	uint64_t spread = g->n * 10000ULL, iv = t->conf->interval_ms * 1000;

	if (spread < 1000000)
		spread = 1000000;
	return spread < iv ? spread : iv;
}

static void target_start(struct target *t)
{
	struct daemon *d = t->g->d;
	uint64_t now = clock_now_us();

	evtimer_del(t->timer);
	if (t->run != NULL) /* the last run's reap has not come round yet */
		sched_on_reap(-1, 0, t);
	metrics_histogram_observe(&d->lag, now > t->due_us ? now - t->due_us : 0);
	t->start_us = now;
	t->running = true;
	t->ep->running++;
	d->in_flight++;
	t->ctx = xcalloc(1, sizeof *t->ctx);
	t->ctx->t = t;
	t->ctx->hold = t->g->hold;
	t->g->hold->refs++;
	t->run = d->start(&d->env, t->conf, sched_result, t->ctx);
}

void sched_due(struct target *t)
{
	struct endpoint *e = t->ep;

	if (t->running || t->queued || t->g->d->stopping)
		return;
	if (t->after != NULL && !t->after->ran_once)
		return; /* the enrollment's completion starts us */
	if (e->running >= t->g->cfg->max_per_endpoint) {
		t->queued = true;
		t->ep_next = NULL;
		if (e->wait_tail != NULL)
			e->wait_tail->ep_next = t;
		else
			e->wait_head = t;
		e->wait_tail = t;
		return;
	}
	target_start(t);
}

static void endpoint_release(struct endpoint *e)
{
	struct target *t;

	e->running--;
	while (e->wait_head != NULL && e->running < e->g->cfg->max_per_endpoint &&
	       !e->g->d->stopping) {
		t = e->wait_head;
		e->wait_head = t->ep_next;
		if (e->wait_head == NULL)
			e->wait_tail = NULL;
		t->queued = false;
		target_start(t);
	}
}

void sched_on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct target *t = arg;

	(void)fd;
	(void)what;
	t->g->d->free_run(t->run);
	t->run = NULL;
	if (t->ctx != NULL) {
		gen_hold_unref(t->ctx->hold);
		free(t->ctx);
		t->ctx = NULL;
	}
}

void sched_result(const struct txn_result *r, void *arg)
{
	struct run_ctx *ctx = arg;
	struct target *t = ctx->t;
	struct gen *g = t->g;
	struct daemon *d = g->d;
	struct health_change c;
	uint64_t interval_us = t->conf->interval_ms * 1000, next;
	const char *detail;

	t->have_last = true;
	t->last_wall = time(NULL);
	if (r->result == RESULT_OK || r->result == RESULT_WARNING)
		t->last_success = t->last_wall;
	t->running = false;
	t->runs[r->result]++;
	d->in_flight--;
	event_active(t->reap, EV_TIMEOUT, 0);
	c = health_update(&t->health, &d->hconf, r->result, txn_result_reason(r, &detail),
	                  (uint64_t)t->last_wall);
	if (txn_result_reason(r, NULL) == TXN_PROBE_STATE_WRITE) {
		/* the probe's own disk: its own signal, never the endpoint's */
		d->state_write_failures++;
		log_err("%s: cannot write the state directory (%s); the endpoint is not judged",
		        t->conf->name, detail);
	}
	gen_row_update(t, r);
	routes_row_changed(d, t->index);
	persist_record(t, r);
	persist_schedule(d, false);
	log_debug("%s: %s %s (%.1f ms)", t->conf->name, result_class_name(r->result),
	          txn_status_code(r->status), (double)r->duration_us / 1000.0);
	if (c.state_changed || c.notify || c.flap_started || c.flap_stopped)
		alerts_log_change("transaction", t->conf->name, &t->health, &c);
	if (c.notify && d->snmp != NULL)
		snmp_agent_txn_event(d->snmp, t->conf->name, c.from, c.to, t->last_reason,
		                     t->last_detail);
	alerts_endpoint_update(d, t->ep);
	alerts_cert_expiry(d, t);
	passive_txn_result(d, t, r, c.hard_changed);

	/* keep the cadence of the schedule; never run back to back after a slow run */
	next = t->due_us + interval_us;
	if (next < clock_now_us())
		next = clock_now_us() + interval_us / 10;
	target_arm(t, next);

	if (!t->ran_once) {
		t->ran_once = true;
		for (size_t i = 0; i < g->n; i++)
			if (g->targets[i].after == t && !g->targets[i].running)
				sched_due(&g->targets[i]);
	}
	endpoint_release(t->ep);
	/* a stop waits for the runs in flight (routes_stop): the last one ends the loop */
	if (d->stopping && d->in_flight == 0 && d->probe_draining == 0)
		event_base_loopexit(d->base, NULL);
}

/* Schedule every target: carried ones keep their phase, new ones are spread. */
void sched_gen(struct gen *g, const bool *keep_due)
{
	uint64_t now = clock_now_us();

	for (size_t i = 0; i < g->n; i++) {
		struct target *t = &g->targets[i];
		uint64_t window = spread_window(g, t), iv = t->conf->interval_ms * 1000;

		if (keep_due != NULL && keep_due[i] && t->due_us > now && t->due_us <= now + iv) {
			target_arm(t, t->due_us);
			continue;
		}
		if (t->have_last && t->last_wall != 0) {
			/* restored: next run one interval after the last, if that is still ahead */
			time_t wall = time(NULL);
			int64_t ahead =
			    (int64_t)t->last_wall * 1000000 + (int64_t)iv - (int64_t)wall * 1000000;
			if (ahead > 0 && (uint64_t)ahead <= iv) {
				target_arm(t, now + (uint64_t)ahead);
				continue;
			}
		}
		target_arm(t, now + (window > 0 ? rand64() % window : 0));
	}
}

void sched_stall_tick(struct daemon *d)
{
	uint64_t now = clock_now_us();

	if (d->stall_expect_us != 0 && now > d->stall_expect_us &&
	    now - d->stall_expect_us > d->max_stall_us)
		d->max_stall_us = now - d->stall_expect_us;
	d->stall_expect_us = now + SCHED_STALL_TICK_MS * 1000;
}

void sched_on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sched_due(arg);
}
