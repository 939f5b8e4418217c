/*
 * nagios_sink: the Nagios command-file sink (see nagios_sink.h). The FIFO stays open
 * between writes; EPIPE (Nagios went away) closes it and the next attempt reopens.
 * One failure class at a time is logged: the first of an outage as a warning, its end
 * as info, the attempts between at debug level, so a stopped Nagios costs two lines.
 */
#define _DEFAULT_SOURCE 1
#include "alert/nagios_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "alert/passive_queue.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"

#define NAGIOS_BACKOFF_MIN_MS 500
#define NAGIOS_BACKOFF_MAX_MS 30000
#define NAGIOS_NAME_MAX 512

struct nagios_sink {
	struct alert_sink base;
	char *path, *host, *service, *endpoint_service, *probe;
	bool host_check;
	int fd;
	struct passive_queue *queue;
	struct event *timer;      /* retry */
	struct event *host_timer; /* host_check */
	uint64_t backoff_ms, backoff_max_ms, retry_at_ms;
	unsigned failures;
	int failing; /* the enum passive_fail of the outage under way; -1 = none */
	struct passive_stats stats;
};

/* ---- pure ---- */

/* Append s to buf[*j..max) with newlines as "\n" and other control characters as spaces. */
static void put_text(char *buf, size_t *j, size_t max, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n') {
			if (*j + 2 > max)
				return;
			buf[(*j)++] = '\\';
			buf[(*j)++] = 'n';
		} else {
			if (*j + 1 > max)
				return;
			buf[(*j)++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
		}
	}
}

/* The escaped length of s[0..n). */
static size_t text_len(const char *s, size_t n)
{
	size_t l = 0;

	for (size_t i = 0; i < n && s[i] != '\0'; i++)
		l += s[i] == '\n' ? 2 : 1;
	return l;
}

size_t nagios_format(char *buf, const struct sink_result *r, const char *host, const char *service,
                     int64_t ts)
{
	const char *out = r->output != NULL ? r->output : "";
	const char *perf = r->perfdata != NULL ? r->perfdata : "";
	const char *nl = strchr(out, '\n');
	size_t first = nl != NULL ? (size_t)(nl - out) : strlen(out);
	size_t rest = nl != NULL ? strlen(nl) : 0; /* with its leading newline */
	size_t max = NAGIOS_LINE_MAX - 1, j, room; /* the final newline */
	int n;

	if (service != NULL)
		n = snprintf(buf, NAGIOS_LINE_MAX, "[%lld] PROCESS_SERVICE_CHECK_RESULT;%s;%s;%d;",
		             (long long)ts, host, service, r->state);
	else
		n = snprintf(buf, NAGIOS_LINE_MAX, "[%lld] PROCESS_HOST_CHECK_RESULT;%s;%d;",
		             (long long)ts, host, r->state);
	j = n < 0 ? 0 : (size_t)n < max ? (size_t)n : max;
	room = max - j;
	/* what fits: all; else no long text; else the perfdata cut too; else the line cut */
	if (text_len(out, first) + text_len(nl != NULL ? nl : "", rest) +
	        (perf[0] ? 1 + strlen(perf) : 0) >
	    room)
		rest = 0;
	put_text(buf, &j, max, out, first);
	if (rest > 0)
		put_text(buf, &j, max, nl, rest);
	if (perf[0] != '\0' && j + 2 <= max) {
		buf[j++] = '|';
		/* a cut item would be garbage: keep whole items only */
		for (const char *p = perf; *p != '\0';) {
			const char *sp = strchr(p, ' ');
			size_t l = sp != NULL ? (size_t)(sp - p) : strlen(p);
			if (j + l + 1 > max)
				break;
			if (p != perf)
				buf[j++] = ' ';
			put_text(buf, &j, max, p, l);
			p += l;
			while (*p == ' ')
				p++;
		}
		if (buf[j - 1] == '|')
			j--;
	}
	buf[j++] = '\n';
	buf[j] = '\0';
	return j;
}

/* ---- delivery ---- */

static void sink_flush(struct nagios_sink *s);

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sink_flush(arg);
}

static void sink_close(struct nagios_sink *s)
{
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
}

/* A write that cannot happen now: count, log the outage's first, back off. */
static void sink_fail(struct nagios_sink *s, enum passive_fail why, int err)
{
	uint64_t now = clock_now_ms();
	struct timeval tv;

	s->stats.failures[why]++;
	s->failures++;
	if (why == PASSIVE_FAIL_FULL) {
		s->backoff_ms = NAGIOS_BACKOFF_MIN_MS; /* Nagios is reading: soon */
	} else {
		s->backoff_ms = s->backoff_ms == 0 ? NAGIOS_BACKOFF_MIN_MS : s->backoff_ms * 2;
		if (s->backoff_ms > s->backoff_max_ms)
			s->backoff_ms = s->backoff_max_ms;
	}
	s->retry_at_ms = now + s->backoff_ms;
	if (s->failing != (int)why) {
		errno = err;
		log_warn_errno("nagios %s: %s (%s); %zu results queued, retrying", s->path,
		               why == PASSIVE_FAIL_NO_FILE     ? "no command file"
		               : why == PASSIVE_FAIL_NO_READER ? "nobody reads the command file"
		               : why == PASSIVE_FAIL_FULL      ? "the command file is full"
		                                               : "cannot write the command file",
		               passive_fail_name(why), passive_queue_len(s->queue));
		s->failing = (int)why;
	} else {
		log_debug("nagios %s: still %s, attempt %u", s->path, passive_fail_name(why),
		          s->failures);
	}
	tv.tv_sec = (time_t)(s->backoff_ms / 1000);
	tv.tv_usec = (suseconds_t)((s->backoff_ms % 1000) * 1000);
	evtimer_add(s->timer, &tv);
}

/* Open the FIFO if needed: 0, or -1 after sink_fail. */
static int sink_open(struct nagios_sink *s)
{
	struct stat st;
	int err;

	if (s->fd != -1)
		return 0;
	s->fd = open(s->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (s->fd == -1) {
		err = errno;
		sink_fail(s,
		          err == ENOENT  ? PASSIVE_FAIL_NO_FILE
		          : err == ENXIO ? PASSIVE_FAIL_NO_READER
		                         : PASSIVE_FAIL_ERROR,
		          err);
		return -1;
	}
	if (fstat(s->fd, &st) == -1 || !S_ISFIFO(st.st_mode)) {
		/* a regular file would grow for ever and nobody reads it */
		sink_close(s);
		sink_fail(s, PASSIVE_FAIL_ERROR, ENOTSUP);
		return -1;
	}
	return 0;
}

/* Write one line; true when it went out (or can never: dropped), false to retry. */
static bool sink_write(struct nagios_sink *s, const char *line, size_t len)
{
	ssize_t w = write(s->fd, line, len);
	int err = errno;

	if (w == (ssize_t)len)
		return true;
	if (w >= 0) {
		/* a FIFO never writes part of a line of at most PIPE_BUF bytes */
		log_warn("nagios %s: short write (%zd of %zu bytes)", s->path, w, len);
		return true;
	}
	if (err == EAGAIN || err == EWOULDBLOCK) {
		sink_fail(s, PASSIVE_FAIL_FULL, err);
	} else if (err == EPIPE) {
		sink_close(s);
		sink_fail(s, PASSIVE_FAIL_NO_READER, err);
	} else {
		sink_close(s);
		sink_fail(s, PASSIVE_FAIL_ERROR, err);
	}
	return false;
}

static void delivered(struct nagios_sink *s)
{
	s->stats.delivered++;
	s->stats.last_success = (int64_t)time(NULL);
	if (s->failing != -1)
		log_info("nagios %s: writing again after %u failed attempts (%zu queued)", s->path,
		         s->failures, passive_queue_len(s->queue));
	s->failing = -1;
	s->failures = 0;
	s->backoff_ms = 0;
	s->retry_at_ms = 0;
}

/* Write the queued results, oldest first, until the queue is empty or a write fails. */
static void sink_flush(struct nagios_sink *s)
{
	char line[NAGIOS_LINE_MAX + 1], host[NAGIOS_NAME_MAX], service[NAGIOS_NAME_MAX];
	struct passive_item *it;

	if (s->retry_at_ms > clock_now_ms() || passive_queue_len(s->queue) == 0)
		return;
	if (sink_open(s) == -1)
		return;
	while ((it = passive_queue_next(s->queue)) != NULL) {
		const struct sink_result *r = &it->r;
		uint64_t v;
		size_t len;

		passive_template_expand(s->host, r, s->probe, host, sizeof host);
		passive_template_expand(r->object == SINK_OBJECT_ENDPOINT ? s->endpoint_service
		                                                          : s->service,
		                        r, s->probe, service, sizeof service);
		len = nagios_format(line, r, host, service, r->when > 0 ? r->when : time(NULL));
		v = passive_queue_begin(s->queue, it);
		if (!sink_write(s, line, len)) {
			passive_queue_done(s->queue, it, v, false);
			return;
		}
		passive_queue_done(s->queue, it, v, true);
		delivered(s);
	}
}

/* host_check: the probe's host is UP while certprobed runs (and writes). */
static void on_host_timer(evutil_socket_t fd, short what, void *arg)
{
	struct nagios_sink *s = arg;
	struct sink_result r = {
	    .object = SINK_OBJECT_COUNT, /* not an object the queue keeps */
	    .name = "",
	    .state = 0,
	    .when = (int64_t)time(NULL),
	    .perfdata = "",
	};
	char host[NAGIOS_NAME_MAX], out[300], line[NAGIOS_LINE_MAX + 1];
	size_t len;

	(void)fd;
	(void)what;
	snprintf(out, sizeof out, "CERTPROBE OK - certprobed on %s is running", s->probe);
	r.output = out;
	passive_template_expand(s->host, &r, s->probe, host, sizeof host);
	len = nagios_format(line, &r, host, NULL, r.when);
	if (s->retry_at_ms > clock_now_ms() || sink_open(s) == -1)
		return; /* the next tick tries again: a host result is not worth queueing */
	if (sink_write(s, line, len))
		delivered(s);
}

/* ---- the sink ---- */

static void sink_result(struct alert_sink *base, const struct sink_result *r)
{
	struct nagios_sink *s = base->impl;

	if (r->object == SINK_OBJECT_ENDPOINT && s->endpoint_service == NULL)
		return;
	passive_queue_put(s->queue, r);
	sink_flush(s);
}

struct foreach_ctx {
	sink_result_cb *cb;
	void *arg;
};

static void foreach_one(const struct sink_result *r, void *arg)
{
	struct foreach_ctx *c = arg;

	c->cb("nagios", r, c->arg);
}

static void sink_foreach(const struct alert_sink *base, sink_result_cb *cb, void *arg)
{
	const struct nagios_sink *s = base->impl;
	struct foreach_ctx c = {cb, arg};

	passive_queue_foreach_changed(s->queue, foreach_one, &c);
}

static void sink_free(struct alert_sink *base)
{
	struct nagios_sink *s = base->impl;

	sink_close(s);
	event_free(s->timer);
	if (s->host_timer != NULL)
		event_free(s->host_timer);
	passive_queue_free(s->queue);
	free(s->path);
	free(s->host);
	free(s->service);
	free(s->endpoint_service);
	free(s->probe);
	free(s);
}

static const struct alert_sink_ops nagios_sink_ops = {
    .name = "nagios",
    .result = sink_result,
    .foreach_result = sink_foreach,
    .free = sink_free,
};

struct alert_sink *nagios_sink_new(struct event_base *base, const struct nagios_sink_conf *conf)
{
	struct nagios_sink *s = xcalloc(1, sizeof *s);

	s->base.ops = &nagios_sink_ops;
	s->base.impl = s;
	s->base.refresh_ms = conf->refresh_ms;
	s->path = xstrdup(conf->command_file);
	s->host = xstrdup(conf->host);
	s->service = xstrdup(conf->service);
	s->endpoint_service =
	    conf->endpoint_service != NULL ? xstrdup(conf->endpoint_service) : NULL;
	s->probe = xstrdup(conf->probe != NULL ? conf->probe : "");
	s->host_check = conf->host_check;
	s->fd = -1;
	s->failing = -1;
	s->backoff_max_ms = NAGIOS_BACKOFF_MAX_MS;
	if (conf->refresh_ms > 0 && conf->refresh_ms < s->backoff_max_ms)
		s->backoff_max_ms = conf->refresh_ms;
	if (s->backoff_max_ms < NAGIOS_BACKOFF_MIN_MS)
		s->backoff_max_ms = NAGIOS_BACKOFF_MIN_MS;
	s->queue = passive_queue_new(0);
	s->timer = evtimer_new(base, on_timer, s);
	if (s->timer == NULL) {
		log_err("nagios: cannot create a timer");
		abort();
	}
	if (s->host_check && conf->refresh_ms > 0) {
		struct timeval tv = {.tv_sec = (time_t)(conf->refresh_ms / 1000),
		                     .tv_usec = (suseconds_t)((conf->refresh_ms % 1000) * 1000)};
		s->host_timer = event_new(base, -1, EV_PERSIST, on_host_timer, s);
		event_add(s->host_timer, &tv);
		event_active(s->host_timer, EV_TIMEOUT, 0); /* at start too */
	}
	return &s->base;
}

void nagios_sink_stats(const struct alert_sink *base, struct passive_stats *out)
{
	const struct nagios_sink *s = base->impl;

	*out = s->stats;
	out->coalesced = passive_queue_coalesced(s->queue);
	out->dropped += passive_queue_dropped(s->queue);
	out->queued = passive_queue_len(s->queue);
}
