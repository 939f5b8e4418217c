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
/*
 * The registrar a phone-bootstrap was given or discovered, one line "host:port", kept
 * beside its identity for a client-auth's registrar: {from: NAME}.
 */
#define TXN_STATE_REGISTRAR "registrar"
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

enum txn_state_lock_status {
	TXN_STATE_LOCKED,           /* *fd holds the lock */
	TXN_STATE_LOCK_BUSY,        /* another process holds it */
	TXN_STATE_LOCK_UNAVAILABLE, /* the lock file cannot be opened or locked */
};

/*
 * Take the exclusive lock on STATE_DIR/certprobe.lock (flock, never waiting) for as long
 * as *fd stays open, and write "PID WHO" into it. TXN_STATE_LOCKED: *fd is the lock
 * (close it to release). Otherwise *fd is -1 and err says why: for BUSY "state directory
 * X is in use by certprobed (pid N)", the holder read from the file.
 */
enum txn_state_lock_status txn_state_lock(const char *state_dir, const char *who, int *fd,
                                          char *err, size_t errlen);

#endif
