/*
 * runner: what every program that runs transactions shares. runner_env_open() does the
 * process-wide set-up (OpenSSL, libcurl, c-ares, libevent threads) in its one order and
 * builds the environment transactions use; runner_run() runs a set of configured
 * transactions once on that loop, each after the one it depends on (a client-auth
 * after the enrollment whose certificate it uses), as `certprobe run`, the plugins and
 * the benchmarks do. The daemon opens the same environment and schedules runs itself.
 */
#ifndef CERTPROBE_RUNNER_H
#define CERTPROBE_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "transactions/txn_type.h"

struct txn_conf;

struct runner_opts {
	const char *state_dir; /* borrowed; must outlive the environment */
	unsigned key_workers;  /* key pool threads (at least 1) */
	bool trace;            /* wire-level HTTP trace at debug level */
};

/*
 * Initialise the libraries and fill env (a new event base, HTTP client, key pool,
 * resolver and TLS context cache). Returns 0, or -1 with a message in err (nothing is
 * left to close then).
 */
int runner_env_open(struct txn_env *env, const struct runner_opts *opts, char *err, size_t errlen);
/* Free what runner_env_open() built, and the libraries' global state. NULL-safe fields. */
void runner_env_close(struct txn_env *env);

/*
 * Run confs[0..n) once on env's loop until all have ended; results[i] is confs[i]'s
 * result. A transaction whose type names a dependency (depends_on) that is among
 * confs starts when that one ends; others start at once. Returns the worst result
 * class (RESULT_OK for n == 0).
 */
enum result_class runner_run(const struct txn_env *env, const struct txn_conf *const *confs,
                             size_t n, struct txn_result *results);

#endif
