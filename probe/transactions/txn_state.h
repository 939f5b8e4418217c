/*
 * txn_state: the layout of probe.state_dir. The daemon's own files (the state file, its
 * temporaries, the lock) sit at the top; each transaction's files sit in
 * STATE_DIR/txn/NAME/, so no transaction name can land on a daemon file. An enrollment's
 * certificate and key are one file there (identity.pem), replaced by one rename, so a
 * reader never sees a certificate with another run's key.
 */
#ifndef CERTPROBE_TXN_STATE_H
#define CERTPROBE_TXN_STATE_H

#include <stdbool.h>
#include <stddef.h>

/* The subdirectory of state_dir that holds the per-transaction directories. */
#define TXN_STATE_SUBDIR "txn"
/* The file holding the private key, then the issued certificate and its CA (PEM). */
#define TXN_STATE_IDENTITY "identity.pem"
/* The lock file in state_dir (see txn_state_lock()). */
#define TXN_STATE_LOCK "certprobe.lock"

/* STATE_DIR/txn/NAME into buf (len bytes, NUL-terminated, truncated if need be). */
void txn_state_dir(const char *state_dir, const char *name, char *buf, size_t len);

/*
 * Move name's directory from the old layout (STATE_DIR/NAME/) to STATE_DIR/txn/NAME/
 * when the old one is a directory and the new one does not exist yet; creates
 * STATE_DIR/txn (0700) for it. Nothing to move, or a move that fails, is not an error
 * here (the run then starts without the old files and says why in the log): returns
 * true when it moved something.
 */
bool txn_state_migrate(const char *state_dir, const char *name);

/*
 * Take the exclusive lock on STATE_DIR/certprobe.lock (flock, never waiting) for the
 * life of the process and write our pid into it. Returns the lock's descriptor (close
 * it to release), or -1 with a message in err: "state directory X is in use by
 * certprobed (pid N)" when another process holds it (its pid read from the file), or
 * why the file could not be opened.
 */
int txn_state_lock(const char *state_dir, const char *who, char *err, size_t errlen);

#endif
