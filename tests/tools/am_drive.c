/*
 * am_drive: drives the Alertmanager sink (probe/alert/alertmanager) from a script, on
 * a real event loop, for tests/integration/test_alertmanager.sh. Links certprobe_core
 * so the real sink and HTTP client run. Commands come on stdin, one per line, and the
 * loop keeps running (retries, resends) while it waits for the next one:
 *
 *   am_drive -u URL [-u URL...] [-r RESEND_MS] [-t TIMEOUT_MS] [-g GENERATOR_URL] [-v]
 *
 *   fire NAME=VALUE... [+NAME=VALUE...] [@UNIXSECS]  labels, +annotations, startsAt (now)
 *   resolve NAME=VALUE... [@UNIXSECS]                endsAt (default now)
 *   wait MS                                          run the loop MS
 *   drain MS                                         until the sink is idle or MS pass
 *   stats | dump | quit
 *
 * Values are %XX-decoded ("%20" is a space). Every command answers one line on stdout
 * ("ok", "idle"/"busy" for drain, "error ..." for a bad command; dump prints one line
 * per alert then "end"). EOF or quit: exit 0 after freeing everything.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "alert/alertmanager.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/text.h"
#include "net/http_client.h"

#define MAX_URLS 8
#define MAX_TOKENS 64
#define LINE_MAX_LEN 4096

struct drive {
	struct event_base *base;
	struct am_sink *sink;
	struct event *input;
	struct event *timer; /* wait and drain */
	char buf[LINE_MAX_LEN * 4];
	size_t len;
	bool eof;
	bool waiting;  /* a wait or drain holds the next commands back */
	bool draining; /* waiting for idle, not only for time */
	bool quit;
	uint64_t until_ms;
};

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* %XX-decode in place; -1 on a bad escape. */
static int unescape(char *s)
{
	char *out = s;

	for (; *s != '\0'; s++) {
		if (*s == '%') {
			int hi = text_hex_digit(s[1]), lo = hi < 0 ? -1 : text_hex_digit(s[2]);
			if (hi < 0 || lo < 0)
				return -1;
			*out++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
	return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static size_t split(char *line, char **tok, size_t max)
{
	size_t n = 0;

	while (*line != '\0' && n < max) {
		while (*line == ' ' || *line == '\t')
			*line++ = '\0';
		if (*line == '\0')
			break;
		tok[n++] = line;
		while (*line != '\0' && *line != ' ' && *line != '\t')
			line++;
	}
	return n;
}

/* fire/resolve arguments: NAME=VALUE labels, +NAME=VALUE annotations, @time. */
static int parse_alert(char **tok, size_t n, struct am_kv *labels, size_t *nl, struct am_kv *ann,
                       size_t *na, int64_t *at, bool *has_at)
{
	*nl = *na = 0;
	*has_at = false;
	for (size_t i = 0; i < n; i++) {
		char *t = tok[i], *eq;
		bool is_ann = false;

		if (t[0] == '@') {
			if (parse_i64(t + 1, at) == -1)
				return -1;
			*has_at = true;
			continue;
		}
		if (t[0] == '+') {
			is_ann = true;
			t++;
		}
		eq = strchr(t, '=');
		if (eq == NULL)
			return -1;
		*eq = '\0';
		if (unescape(t) == -1 || unescape(eq + 1) == -1)
			return -1;
		if (is_ann)
			ann[(*na)++] = (struct am_kv){t, eq + 1};
		else
			labels[(*nl)++] = (struct am_kv){t, eq + 1};
	}
	return 0;
}

static void print_alert(const struct am_alert_view *a, void *arg)
{
	(void)arg;
	printf("alert %s", a->resolved ? "resolved" : "active");
	for (size_t i = 0; i < a->n_labels; i++)
		printf(" %s=%s", a->labels[i].name, a->labels[i].value);
	for (size_t i = 0; i < a->n_ann; i++)
		printf(" +%s=%s", a->annotations[i].name, a->annotations[i].value);
	printf(" @%lld", (long long)a->starts_at);
	if (a->resolved)
		printf(" ends=%lld", (long long)a->ends_at);
	putchar('\n');
}

static void arm(struct drive *d, uint64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};

	evtimer_add(d->timer, &tv);
}

static void run_command(struct drive *d, char *line)
{
	char *tok[MAX_TOKENS];
	struct am_kv labels[MAX_TOKENS], ann[MAX_TOKENS];
	size_t n = split(line, tok, MAX_TOKENS), nl, na;
	int64_t at = 0, ms;
	bool has_at;
	struct am_stats st;

	if (n == 0 || tok[0][0] == '#')
		return;
	if (strcmp(tok[0], "fire") == 0 || strcmp(tok[0], "resolve") == 0) {
		bool fire = tok[0][0] == 'f';
		if (parse_alert(tok + 1, n - 1, labels, &nl, ann, &na, &at, &has_at) == -1) {
			reply("error bad alert arguments");
			return;
		}
		if (fire)
			am_sink_fire(d->sink, labels, nl, ann, na,
			             has_at ? at : (int64_t)time(NULL));
		else
			am_sink_resolve(d->sink, labels, nl, has_at ? at : 0);
		reply("ok");
	} else if ((strcmp(tok[0], "wait") == 0 || strcmp(tok[0], "drain") == 0) && n == 2 &&
	           parse_i64(tok[1], &ms) == 0 && ms >= 0) {
		d->waiting = true;
		d->draining = tok[0][0] == 'd';
		d->until_ms = clock_now_ms() + (uint64_t)ms;
		arm(d, d->draining ? 0 : (uint64_t)ms);
	} else if (strcmp(tok[0], "stats") == 0) {
		am_sink_stats(d->sink, &st);
		reply("posts_ok=%llu posts_failed=%llu active=%llu pending_resolve=%llu "
		      "last_success=%lld idle=%d",
		      (unsigned long long)st.posts_ok, (unsigned long long)st.posts_failed,
		      (unsigned long long)st.alerts_active,
		      (unsigned long long)st.alerts_pending_resolve, (long long)st.last_success,
		      am_sink_idle(d->sink) ? 1 : 0);
	} else if (strcmp(tok[0], "dump") == 0) {
		am_sink_foreach(d->sink, print_alert, NULL);
		reply("end");
	} else if (strcmp(tok[0], "quit") == 0) {
		d->quit = true;
		event_base_loopbreak(d->base);
	} else {
		reply("error unknown command %s", tok[0]);
	}
}

/* Run buffered commands until one waits or none is complete. */
static void run_commands(struct drive *d)
{
	while (!d->waiting && !d->quit) {
		char *nl = memchr(d->buf, '\n', d->len);
		size_t used;

		if (nl == NULL) {
			if (d->eof && d->len > 0 && d->len < sizeof d->buf) {
				d->buf[d->len] = '\0'; /* a last line without newline */
				d->len = 0;
				run_command(d, d->buf);
				continue;
			}
			break;
		}
		*nl = '\0';
		used = (size_t)(nl - d->buf) + 1;
		run_command(d, d->buf);
		memmove(d->buf, d->buf + used, d->len - used);
		d->len -= used;
	}
	if (d->quit || (d->eof && !d->waiting && d->len == 0))
		event_base_loopbreak(d->base);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct drive *d = arg;
	uint64_t now = clock_now_ms();

	(void)fd;
	(void)what;
	if (d->draining && !am_sink_idle(d->sink) && now < d->until_ms) {
		arm(d, 20);
		return;
	}
	if (d->draining)
		reply("%s", am_sink_idle(d->sink) ? "idle" : "busy");
	else
		reply("ok");
	d->waiting = d->draining = false;
	run_commands(d);
}

static void on_input(evutil_socket_t fd, short what, void *arg)
{
	struct drive *d = arg;
	ssize_t r;

	(void)what;
	if (d->len == sizeof d->buf) {
		fprintf(stderr, "am_drive: command line too long\n");
		exit(2);
	}
	r = read(fd, d->buf + d->len, sizeof d->buf - d->len - 1);
	if (r == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		d->eof = true;
		event_del(d->input);
	} else {
		d->len += (size_t)r;
	}
	run_commands(d);
}

/* stdin that cannot be watched (a file): read it whole, up to the buffer. */
static void read_all(struct drive *d)
{
	ssize_t r;

	do {
		r = read(STDIN_FILENO, d->buf + d->len, sizeof d->buf - d->len - 1);
		if (r > 0)
			d->len += (size_t)r;
	} while (r > 0 || (r == -1 && errno == EINTR));
	d->eof = true;
}

/* First commands run inside the loop, so a script that is already complete can stop it. */
static void on_start(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run_commands(arg);
}

static void usage(void)
{
	fprintf(stderr, "usage: am_drive -u URL [-u URL...] [-r RESEND_MS] [-t TIMEOUT_MS] "
	                "[-g GENERATOR_URL] [-v] < commands\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *urls[MAX_URLS];
	struct am_sink_conf conf = {.urls = urls};
	struct drive d;
	struct http_client *http;
	struct timeval zero = {0, 0};
	struct stat sb;
	int64_t v;
	int c;

	memset(&d, 0, sizeof d);
	log_init("am_drive", LOG_LEVEL_INFO);
	while ((c = getopt(argc, argv, "u:r:t:g:v")) != -1) {
		switch (c) {
		case 'u':
			if (conf.n_urls == MAX_URLS)
				usage();
			urls[conf.n_urls++] = optarg;
			break;
		case 'r':
			if (parse_i64(optarg, &v) == -1 || v <= 0)
				usage();
			conf.resend_interval_ms = (uint64_t)v;
			break;
		case 't':
			if (parse_i64(optarg, &v) == -1 || v <= 0)
				usage();
			conf.timeout_ms = (uint64_t)v;
			break;
		case 'g':
			conf.generator_url = optarg;
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (http_client_global_init() == -1)
		return 1;
	d.base = event_base_new();
	http = http_client_new(d.base);
	if (d.base == NULL || http == NULL)
		return 1;
	d.sink = am_sink_new(d.base, http, &conf);
	if (d.sink == NULL)
		return 2;
	d.timer = evtimer_new(d.base, on_timer, &d);
	d.input = event_new(d.base, STDIN_FILENO, EV_READ | EV_PERSIST, on_input, &d);
	if (fstat(STDIN_FILENO, &sb) == 0 && S_ISREG(sb.st_mode))
		read_all(&d); /* epoll cannot watch a regular file, and it is all there */
	else
		event_add(d.input, NULL);
	event_base_once(d.base, -1, EV_TIMEOUT, on_start, &d, &zero);
	event_base_dispatch(d.base);

	event_free(d.input);
	event_free(d.timer);
	am_sink_free(d.sink);
	http_client_free(http);
	event_base_free(d.base);
	http_client_global_cleanup();
	return 0;
}
