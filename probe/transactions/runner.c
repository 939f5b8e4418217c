/* runner: shared set-up and run-once-in-dependency-order (see runner.h). */
#include "transactions/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "config/config.h"
#include "core/xalloc.h"
#include "net/dns.h"
#include "net/http_client.h"
#include "core/offload.h"
#include "net/tls_conn.h"
#include "pki/keypool.h"
#include "pki/pki.h"

int runner_env_open(struct txn_env *env, const struct runner_opts *opts, char *err, size_t errlen)
{
	memset(env, 0, sizeof *env);
	if (pki_init() == -1 || http_client_global_init() == -1 || dns_global_init() == -1 ||
	    evthread_use_pthreads() == -1) {
		snprintf(err, errlen, "cannot initialise OpenSSL, libcurl, c-ares or libevent");
		return -1;
	}
	env->base = event_base_new();
	if (env->base == NULL) {
		snprintf(err, errlen, "cannot create the event loop");
		dns_global_cleanup();
		http_client_global_cleanup();
		pki_cleanup();
		return -1;
	}
	env->http = http_client_new(env->base);
	http_client_set_trace(env->http, opts->trace);
	env->keys = keypool_new(env->base, opts->key_workers > 0 ? opts->key_workers : 1);
	env->dns = dns_new(env->base);
	env->files = offload_new(env->base, "certprobe-files");
	if (env->files == NULL) {
		snprintf(err, errlen, "cannot start the file loader thread");
		runner_env_close(env);
		return -1;
	}
	env->tls = tls_ctx_cache_new(env->files);
	env->state_dir = opts->state_dir;
	return 0;
}

void runner_env_close(struct txn_env *env)
{
	if (env->base == NULL)
		return;
	keypool_free(env->keys);
	http_client_free(env->http);
	dns_free(env->dns);
	offload_free(env->files); /* first: its jobs point into the TLS cache */
	tls_ctx_cache_free(env->tls);
	event_base_free(env->base);
	memset(env, 0, sizeof *env);
	dns_global_cleanup();
	http_client_global_cleanup();
	pki_cleanup();
}

struct run_slot {
	struct run_set *set;
	const struct txn_conf *conf;
	struct txn *run;
	struct txn_result *result;
	bool started, done;
	struct run_slot *after; /* starts when this one ends */
};

struct run_set {
	const struct txn_env *env;
	struct run_slot *slots;
	size_t n, done;
	size_t n_startable; /* the slots whose chain of dependencies ends in one without */
};

static void slot_start(struct run_slot *slot);

static void slot_done(const struct txn_result *r, void *arg)
{
	struct run_slot *slot = arg;
	struct run_set *set = slot->set;

	*slot->result = *r;
	slot->done = true;
	set->done++;
	for (size_t i = 0; i < set->n; i++)
		if (!set->slots[i].started && set->slots[i].after == slot)
			slot_start(&set->slots[i]);
	if (set->done == set->n_startable)
		event_base_loopexit(set->env->base, NULL);
}

static void slot_start(struct run_slot *slot)
{
	slot->started = true;
	slot->run = txn_start(slot->set->env, slot->conf, slot_done, slot);
}

enum result_class runner_run(const struct txn_env *env, const struct txn_conf *const *confs,
                             size_t n, struct txn_result *results)
{
	struct run_set set = {.env = env, .n = n};
	enum result_class worst = RESULT_OK;

	if (n == 0)
		return RESULT_OK;
	set.slots = xcalloc(n, sizeof *set.slots);
	for (size_t i = 0; i < n; i++) {
		set.slots[i].set = &set;
		set.slots[i].conf = confs[i];
		set.slots[i].result = &results[i];
	}
	for (size_t i = 0; i < n; i++) {
		const char *dep = txn_conf_depends_on(confs[i]);
		for (size_t j = 0; dep != NULL && j < n; j++)
			if (j != i && strcmp(confs[j]->name, dep) == 0)
				set.slots[i].after = &set.slots[j];
	}
	/* a slot in (or behind) a dependency cycle never starts: do not wait for it */
	for (size_t i = 0; i < n; i++) {
		const struct run_slot *slot = &set.slots[i];
		size_t hops = 0;
		while (slot->after != NULL && hops++ < n)
			slot = slot->after;
		if (slot->after == NULL)
			set.n_startable++;
	}
	/* every slot exists before the first callback can count completions */
	for (size_t i = 0; i < n; i++)
		if (set.slots[i].after == NULL)
			slot_start(&set.slots[i]);
	if (set.n_startable > 0)
		event_base_dispatch(env->base);
	for (size_t i = 0; i < n; i++) {
		struct run_slot *slot = &set.slots[i];
		if (!slot->done) {
			/* a dependency cycle: nothing could start it */
			txn_result_init_for(&results[i], slot->conf);
			txn_result_fail(&results[i], TXN_PROBE_INTERNAL,
			                "waits for %s, which never ended", slot->after->conf->name);
			txn_result_finish(&results[i]);
		}
		txn_free(slot->run);
		if (results[i].result > worst)
			worst = results[i].result;
	}
	free(set.slots);
	return worst;
}
