/*
 * coredump: keep keys and secrets out of core dumps. certprobed and certprobe hold
 * private keys, challenge passwords and NDES credentials in memory; at start both mark
 * themselves not dumpable (no core file, no ptrace or /proc/PID/mem by the same user)
 * unless CERTPROBE_ALLOW_CORE=1 asks for cores while debugging.
 */
#ifndef CERTPROBE_COREDUMP_H
#define CERTPROBE_COREDUMP_H

#include <stdbool.h>

#define COREDUMP_ALLOW_ENV "CERTPROBE_ALLOW_CORE"

/*
 * Unless the environment has CERTPROBE_ALLOW_CORE=1: prctl(PR_SET_DUMPABLE, 0) and a
 * core size limit of 0 (best effort: a seccomp filter may refuse setrlimit). With it,
 * nothing changes and a warning is logged. 0, or -1 when the process could not be made
 * undumpable (logged; callers stop rather than run with secrets a core would show).
 */
int coredump_restrict(void);

/* Whether the process is dumpable now (PR_GET_DUMPABLE); for tests and diagnostics. */
bool coredump_dumpable(void);

#endif
