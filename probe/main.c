/*
 * certprobed: the probe daemon. One event loop runs every configured transaction on
 * its schedule (start times spread, a concurrency limit per endpoint, a client-auth
 * waits for the first run of the enrollment whose certificate it uses), hands each
 * result to the health module, logs state changes, pushes endpoint alerts to
 * Alertmanager, keeps its state in a file that survives restarts, and serves
 * Prometheus /metrics and blackbox-style /probe. Init and cleanup order live here;
 * nothing here blocks the loop (the state file is written by its own thread).
 *
 * A configuration is one "generation" (daemon/gen.c). SIGHUP builds a new generation
 * from the new file and carries the state of every transaction whose name, type and
 * endpoint are unchanged; an invalid file leaves the running generation alone. The
 * work is in daemon/ (see daemon.h); this file owns the init and finalise order.
 */
#define _DEFAULT_SOURCE 1

#include <errno.h>
#include <getopt.h>
#ifdef HAVE_MALLOPT
#include <malloc.h>
#endif
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "alert/alertmanager_sink.h"
#include "alert/icinga2_sink.h"
#include "alert/nagios_sink.h"
#include "alert/sink.h"
#include "alert/snmp_sink.h"
#include "config/config.h"
#include "config/shard.h"
#include "core/coredump.h"
#include "core/log.h"
#include "core/offload.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "exporters/snmp_agent.h"
#include "exporters/statefile.h"
#include "transactions/runner.h"
#include "transactions/txn_state.h"
#include "transactions/txn_type.h"

#define EXIT_USAGE 3

/* ---- alert sinks ---- */

static void am_static_labels(const struct config *cfg, struct am_kv *kv, size_t cap, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < cfg->alertmanager.n_labels && *n < cap; i++)
		kv[(*n)++] = (struct am_kv){cfg->alertmanager.labels[i].name,
		                            cfg->alertmanager.labels[i].value};
}

/* The configured sinks besides the log: Alertmanager when it has URLs. */
static int daemon_sinks_open(struct daemon *d, const struct config *cfg)
{
	char gen_url[300];
	struct am_kv labels[64];
	size_t nl;
	struct am_sink *am;
	struct am_sink_conf ac = {
	    .urls = (const char *const *)cfg->alertmanager.urls,
	    .n_urls = cfg->alertmanager.n_urls,
	    .resend_interval_ms = cfg->alertmanager.resend_interval_ms,
	    .timeout_ms = cfg->alertmanager.timeout_ms,
	    .generator_url = gen_url,
	    .trust_store = cfg->alertmanager.trust_store,
	};

	if (cfg->alertmanager.n_urls == 0)
		return 0;
	snprintf(gen_url, sizeof gen_url, "%s://%s/", cfg->web.tls_cert ? "https" : "http",
	         cfg->listen);
	am = am_sink_new(d->base, d->env.http, &ac);
	if (am == NULL)
		return -1;
	am_static_labels(cfg, labels, 64, &nl);
	d->am_sink = alertmanager_sink_new(am, labels, nl);
	{
		char host[256] = "";
		if (gethostname(host, sizeof host - 1) == 0)
			alertmanager_sink_set_probe(d->am_sink, host);
	}
	alerts_add_sink(d, d->am_sink);
	return 0;
}

/* The passive-result sinks: Icinga 2's API and Nagios's command file, when configured. */
static int daemon_passive_open(struct daemon *d, const struct config *cfg)
{
	char host[256] = "", err[256];
	char *password = NULL;

	if (gethostname(host, sizeof host - 1) == -1)
		snprintf(host, sizeof host, "certprobed");
	if (cfg->icinga2.url != NULL) {
		const struct icinga2_conf *c = &cfg->icinga2;
		struct icinga2_sink_conf ic = {
		    .url = c->url,
		    .host = c->host,
		    .service = c->service,
		    .endpoint_service = c->endpoints ? c->endpoint_service : NULL,
		    .check_source = c->check_source,
		    .probe = host,
		    .username = c->username,
		    .client_cert = c->client_cert,
		    .client_key = c->client_key,
		    .trust_store = c->trust_store,
		    .ttl_ms = c->ttl_ms,
		    .timeout_ms = c->timeout_ms,
		    .refresh_ms = c->refresh_ms,
		};
		if (c->username != NULL &&
		    secret_resolve(&c->password, &password, err, sizeof err) == -1) {
			log_err("alerting.icinga2.password: %s", err);
			return -1;
		}
		ic.password = password;
		d->icinga2_sink = icinga2_sink_new(d->base, d->env.http, &ic);
		secret_wipe_free(password);
		if (d->icinga2_sink == NULL)
			return -1;
		alerts_add_sink(d, d->icinga2_sink);
		log_info("icinga2: passive results to %s, every %llu s and at each state change",
		         c->url, (unsigned long long)(c->refresh_ms / 1000));
	}
	if (cfg->nagios.command_file != NULL) {
		const struct nagios_conf *c = &cfg->nagios;
		struct nagios_sink_conf nc = {
		    .command_file = c->command_file,
		    .host = c->host,
		    .service = c->service,
		    .endpoint_service = c->endpoints ? c->endpoint_service : NULL,
		    .probe = host,
		    .host_check = c->host_check,
		    .refresh_ms = c->refresh_ms,
		};
		d->nagios_sink = nagios_sink_new(d->base, &nc);
		alerts_add_sink(d, d->nagios_sink);
		log_info("nagios: passive results to %s, every %llu s and at each state change",
		         c->command_file, (unsigned long long)(c->refresh_ms / 1000));
	}
	return 0;
}

/* A reload: the static labels apply to alerts raised from now on. */
static void daemon_sinks_relabel(struct daemon *d, const struct config *cfg)
{
	struct am_kv labels[64];
	size_t nl;

	if (d->g != NULL &&
	    (strcmp(cfg->icinga2.url != NULL ? cfg->icinga2.url : "",
	            d->g->cfg->icinga2.url != NULL ? d->g->cfg->icinga2.url : "") != 0 ||
	     strcmp(cfg->nagios.command_file != NULL ? cfg->nagios.command_file : "",
	            d->g->cfg->nagios.command_file != NULL ? d->g->cfg->nagios.command_file : "") !=
	         0))
		log_warn("reload: alerting.icinga2 and alerting.nagios take effect at the next "
		         "restart");
	if (d->am_sink == NULL)
		return;
	am_static_labels(cfg, labels, 64, &nl);
	alertmanager_sink_set_labels(d->am_sink, labels, nl);
}

/* ---- the SNMP subagent ---- */

/* Every second: hand the subagent a fresh snapshot when the rows changed (or every 5 s). */
static void on_snmp_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	if (d->snmp == NULL || d->g == NULL)
		return;
	if (snmp_agent_take_reannounce(d->snmp))
		alerts_reannounce(d, d->snmp_sink);
	if (!d->snmp_dirty && ++d->snmp_ticks < 5)
		return;
	d->snmp_dirty = false;
	d->snmp_ticks = 0;
	snmp_agent_publish(d->snmp, routes_snapshot(d, SNAPSHOT_COPY_HISTORY));
}

/* Start, reconfigure or stop the subagent as probe.snmp says (start and every reload). */
static void daemon_snmp_apply(struct daemon *d, const struct config *cfg)
{
	char *dir;
	struct snmp_agent_conf c = {
	    .agentx = cfg->snmp.agentx,
	    .ping_interval_ms = cfg->snmp.ping_interval_ms,
	    .notifications = cfg->snmp.notifications,
	};

	static bool started; /* net-snmp can be initialised once per process */

	if (!cfg->snmp.enabled) {
		if (d->snmp != NULL)
			log_info("snmp: subagent stopped (probe.snmp is off)");
		snmp_agent_stop(d->snmp);
		d->snmp = NULL;
		return;
	}
	if (d->snmp == NULL && started) {
		log_warn("reload: probe.snmp turned on again takes effect at the next restart");
		return;
	}
	started = true;
	dir = xasprintf("%s/snmp", d->state_dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		log_warn_errno("snmp: cannot create %s", dir);
	c.persist_dir = dir;
	d->snmp = d->snmp == NULL ? snmp_agent_start(&c) : snmp_agent_configure(d->snmp, &c);
	free(dir);
	d->snmp_dirty = true;
	if (d->g != NULL)
		on_snmp_tick(-1, 0, d);
}

/* ---- reload ---- */

/* Apply a configuration loaded off the loop (cfg NULL: it had nerr errors). */
static void reload_apply(struct daemon *d, struct config *cfg, unsigned nerr)
{
	struct gen *g, *old = d->g;
	bool *keep_due;

	if (cfg == NULL) {
		d->reload_ok = false;
		log_err("reload: %s has %u error%s; keeping the running configuration", d->cfgpath,
		        nerr, nerr == 1 ? "" : "s");
		return;
	}
	if (strcmp(cfg->listen, old->cfg->listen) != 0 || strcmp(cfg->state_dir, d->state_dir) != 0)
		log_warn(
		    "reload: probe.listen and probe.state_dir take effect at the next restart");
	if (routes_configure(d, cfg, false) == -1) {
		d->reload_ok = false;
		log_err("reload: keeping the running configuration");
		config_free(cfg);
		return;
	}
	routes_cancel_probes(d, "configuration reloaded");
	g = gen_new(d, cfg);
	keep_due = xcalloc(g->n + 1, sizeof *keep_due);
	gen_carry(g, old, keep_due);
	alerts_reload(d, g); /* alerts of endpoints that are gone: resolved */
	daemon_sinks_relabel(d, cfg);
	d->g = g;
	routes_invalidate(d);
	daemon_snmp_apply(d, cfg);
	gen_free(old, true);
	log_syslog(cfg->syslog);
	d->hconf.max_attempts = cfg->max_attempts;
	sched_gen(g, keep_due);
	free(keep_due);
	d->reload_ok = true;
	d->reload_ts = time(NULL);
	persist_schedule(d, true);
	log_info("reload: %s applied, %zu transaction%s", d->cfgpath, g->n, g->n == 1 ? "" : "s");
}

/*
 * A reload is read and parsed on d->loader (a 1 MiB file with every cap reached still
 * costs a few hundred milliseconds): the loop goes on serving and probing meanwhile,
 * and the new generation is applied on the loop when it is ready.
 */
struct reload_job {
	struct daemon *d;
	char *path;
	struct config *cfg;
	unsigned nerr;
	char *errors; /* what the loader wrote, printed on the loop */
	size_t errors_len;
};

static void reload_work(void *arg)
{
	struct reload_job *j = arg;
	FILE *f = open_memstream(&j->errors, &j->errors_len);

	j->cfg = config_load(j->path, f, &j->nerr);
	if (j->cfg != NULL)
		shard_apply(j->cfg);
	if (f != NULL)
		fclose(f);
}

static void reload_job_free(void *arg)
{
	struct reload_job *j = arg;

	config_free(j->cfg);
	free(j->errors);
	free(j->path);
	free(j);
}

static void reload_start(struct daemon *d);

static void reload_done(void *arg)
{
	struct reload_job *j = arg;
	struct daemon *d = j->d;

	d->reloading = false;
	if (j->errors != NULL && j->errors_len > 0) {
		fwrite(j->errors, 1, j->errors_len, stderr);
		fflush(stderr);
	}
	if (d->stopping) {
		log_info("reload: not applied, the daemon is stopping");
	} else {
		reload_apply(d, j->cfg, j->nerr);
		j->cfg = NULL;
	}
	reload_job_free(j);
	if (d->reload_again && !d->stopping) {
		d->reload_again = false;
		reload_start(d);
	}
}

static void reload_start(struct daemon *d)
{
	struct reload_job *j = xcalloc(1, sizeof *j);

	j->d = d;
	j->path = xstrdup(d->cfgpath);
	d->reloading = true;
	offload_submit(d->loader, j, reload_work, reload_done, reload_job_free);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)sig;
	(void)what;
	if (d->stopping)
		return;
	if (d->reloading) {
		/* one load at a time; the file is read again once this one is applied */
		d->reload_again = true;
		return;
	}
	reload_start(d);
}

/* ---- loop health ---- */

static void on_stall_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sched_stall_tick(arg);
}

/* ---- systemd ---- */

static void sd_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof sa.sun_path)
		return;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	(void)sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}

/* ---- signals ---- */

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	log_info("signal %d: stopping", (int)sig);
	routes_stop(d); /* ends the loop once the /probe in flight have their 503 */
}

/* ---- main ---- */

/*
 * The soft descriptor limit up to the hard one (1024 is a common default, far below
 * what a few hundred transactions and the listener need). The listener budgets its
 * connections from the limit in force when it starts, leaving a reserve to the runs.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want;
	int rc;

	rc = getrlimit(RLIMIT_NOFILE, &rl);
	if (rc == -1 || rl.rlim_cur >= rl.rlim_max)
		return;
	/* an unlimited hard limit still stops at fs.nr_open; 2^20 is its default */
	want = rl.rlim_max > ((rlim_t)1 << 20) ? ((rlim_t)1 << 20) : rl.rlim_max;
	if (want <= rl.rlim_cur)
		return;
	rl.rlim_cur = want;
	rc = setrlimit(RLIMIT_NOFILE, &rl);
	if (rc == -1)
		log_warn_errno("cannot raise the descriptor limit to %ju", (uintmax_t)want);
}

static void usage(FILE *out)
{
	fputs("Usage: certprobed -c FILE [-v] [-s DIR] [--strict]\n"
	      "       certprobed --help | --version\n"
	      "\n"
	      "The certprobe daemon: runs every configured transaction (enrollment, client-auth, "
	      "phone-bootstrap)\n"
	      "on its schedule, keeps a health state per transaction and per endpoint\n"
	      "(registrar, web service) with soft/hard states and flap detection, logs every\n"
	      "state change (stderr, and syslog with probe.syslog), pushes registrar and web\n"
	      "service alerts to Alertmanager (alerting.alertmanager) and passive results to\n"
	      "Icinga 2 and Nagios (alerting.icinga2, alerting.nagios), keeps its state in\n"
	      "STATE_DIR/certprobed.state.json (read by `certprobe status`), and serves\n"
	      "Prometheus metrics on probe.listen (default http://127.0.0.1:9793/metrics) and\n"
	      "blackbox-style /probe?target=NAME[&debug=true].\n"
	      "Runs in the foreground; under systemd use Type=notify.\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config FILE     configuration file (YAML); required\n"
	      "  -s, --state-dir DIR   override probe.state_dir\n"
	      "  -v, --verbose         log every result and a wire-level trace (credentials\n"
	      "                        redacted)\n"
	      "      --strict          treat configuration warnings as errors, at start and on\n"
	      "                        every reload: a secret file (a {file: ...} secret,\n"
	      "                        certificate.key, probe.web.tls_key) that group or\n"
	      "                        other can read stops the start (exit 3) or fails the\n"
	      "                        reload, instead of a warning in the log\n"
	      "\n"
	      "Environment:\n"
	      "  CERTPROBE_ALLOW_CORE=1  leave the process dumpable (core files, ptrace) for\n"
	      "                        debugging; by default certprobed makes itself\n"
	      "                        undumpable at start, as keys and secrets are in memory\n"
	      "\n"
	      "Signals: TERM/INT stop (the state file is written first); HUP reloads the\n"
	      "configuration: an invalid file is reported and the running one is kept;\n"
	      "transactions whose name, type and endpoint are unchanged keep their state.\n"
	      "Exit status: 0 after a clean stop, 1 on a runtime failure (cannot listen),\n"
	      "3 on a configuration or usage error.\n",
	      out);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"state-dir", required_argument, NULL, 's'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"strict", no_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	struct daemon d;
	struct config *cfg;
	const char *state_dir = NULL;
	struct runner_opts ro = {0};
	bool verbose = false;
	unsigned nerr = 0;
	char err[512];
	int ch, rc = 0, lock_fd = -1;

	memset(&d, 0, sizeof d);
	log_init("certprobed", LOG_LEVEL_INFO);
	/* before the configuration (inline secrets) or a key is read */
	if (coredump_restrict() == -1)
		return 1;
	signal(SIGPIPE, SIG_IGN);
#ifdef HAVE_MALLOPT
	/*
	 * The big buffers (a 31 MB /metrics rendering, a 23 MB state document at 10,000
	 * transactions) are made on worker threads: without a fixed threshold glibc raises it
	 * after the first free and keeps them in the threads' arenas for good (RSS 154 MB);
	 * mapped, they go back to the system when freed.
	 */
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
#endif
	while ((ch = getopt_long(argc, argv, "c:s:vhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.cfgpath = optarg;
			break;
		case 's':
			state_dir = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("certprobed %s\n", CERTPROBE_VERSION);
			return 0;
		case 'S':
			config_set_strict(true);
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (d.cfgpath == NULL || optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cfg = config_load(d.cfgpath, stderr, &nerr);
	if (cfg == NULL)
		return EXIT_USAGE;
	if (cfg->shard.count > 0) {
		size_t all = cfg->n_txns;
		shard_apply(cfg);
		log_info("shard %u of 0..%u: %zu of the %zu configured transactions",
		         cfg->shard.index, cfg->shard.count - 1, cfg->n_txns, all);
	}
	if (verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	log_syslog(cfg->syslog);
	srandom((unsigned)(time(NULL) ^ getpid()));
	d.state_dir = xstrdup(state_dir != NULL ? state_dir : cfg->state_dir);
	d.state_path = xasprintf("%s/%s", d.state_dir, STATEFILE_NAME);
	if (mkdir(d.state_dir, 0750) == -1 && errno != EEXIST) {
		log_err("cannot create state directory %s: %s", d.state_dir, strerror(errno));
		config_free(cfg);
		rc = EXIT_USAGE;
		goto out;
	}
	/* one writer per state directory: a second daemon or a `certprobe run` is refused */
	if (txn_state_lock(d.state_dir, "certprobed", &lock_fd, err, sizeof err) ==
	    TXN_STATE_LOCK_BUSY) {
		log_err("%s", err);
		config_free(cfg);
		rc = EXIT_USAGE;
		goto out;
	}
	if (lock_fd == -1)
		log_warn("%s; running without the lock", err);
	ro.state_dir = d.state_dir;
	ro.key_workers = 2;
	ro.trace = verbose;
	if (runner_env_open(&d.env, &ro, err, sizeof err) == -1) {
		log_err("%s", err);
		config_free(cfg);
		rc = EXIT_USAGE;
		goto out;
	}
	d.base = d.env.base;
	d.loader = offload_new(d.base, "certprobe-reload");
	if (d.loader == NULL) {
		log_err("cannot start the configuration loader thread");
		config_free(cfg);
		rc = 1;
		goto out;
	}
	d.start = txn_start;
	d.free_run = txn_free;
	health_conf_defaults(&d.hconf);
	d.hconf.max_attempts = cfg->max_attempts;
	d.started = time(NULL);
	d.reload_ok = true;
	d.reload_ts = d.started;

	raise_fd_limit();
	if (routes_configure(&d, cfg, true) == -1) {
		config_free(cfg);
		rc = 1;
		goto out;
	}
	alerts_add_sink(&d, log_sink_new());
	d.snmp_sink = snmp_sink_new(&d.snmp);
	alerts_add_sink(&d, d.snmp_sink);
	daemon_snmp_apply(&d, cfg);
	if (daemon_sinks_open(&d, cfg) == -1 || daemon_passive_open(&d, cfg) == -1) {
		config_free(cfg);
		rc = EXIT_USAGE;
		goto out;
	}
	persist_open(&d);
	d.g = gen_new(&d, cfg);
	persist_restore(&d);
	passive_open(&d);
	sched_gen(d.g, NULL);

	d.stall_timer = event_new(d.base, -1, EV_PERSIST, on_stall_tick, &d);
	{
		struct timeval tv = {.tv_sec = 0, .tv_usec = SCHED_STALL_TICK_MS * 1000};
		event_add(d.stall_timer, &tv);
	}
	d.snmp_push = event_new(d.base, -1, EV_PERSIST, on_snmp_tick, &d);
	{
		struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
		event_add(d.snmp_push, &tv);
	}
	d.snmp_dirty = true;
	d.sig_term = evsignal_new(d.base, SIGTERM, on_term, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, on_term, &d);
	d.sig_hup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	event_add(d.sig_term, NULL);
	event_add(d.sig_int, NULL);
	event_add(d.sig_hup, NULL);
	log_info("started: %zu transaction%s, %s, state %s", d.g->n, d.g->n == 1 ? "" : "s",
	         d.cfgpath, d.state_path);
	persist_schedule(&d, true);
	sd_notify_ready();
	event_base_dispatch(d.base);
	persist_flush(&d);

out:
	offload_free(d.loader);  /* a reload still loading is discarded */
	snmp_agent_stop(d.snmp); /* before the master goes: it unregisters */
	d.snmp = NULL;
	if (d.snmp_push != NULL)
		event_free(d.snmp_push);
	routes_free(&d);
	gen_free(d.g, true);
	persist_close(&d);
	passive_close(&d);
	alerts_free(&d);
	if (d.stall_timer != NULL)
		event_free(d.stall_timer);
	if (d.sig_term != NULL) {
		event_free(d.sig_term);
		event_free(d.sig_int);
		event_free(d.sig_hup);
	}
	runner_env_close(&d.env);
	if (lock_fd != -1)
		close(lock_fd);
	free(d.state_dir);
	free(d.state_path);
	log_syslog(0);
	return rc;
}
