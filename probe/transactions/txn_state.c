/* txn_state: where transactions keep their files under state_dir (see txn_state.h). */
#include "transactions/txn_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

void txn_state_dir(const char *state_dir, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%s", state_dir, TXN_STATE_SUBDIR, name);
}

bool txn_state_migrate(const char *state_dir, const char *name)
{
	char old[600], sub[600], dir[700];
	struct stat st;
	int rc;

	snprintf(old, sizeof old, "%s/%s", state_dir, name);
	rc = lstat(old, &st);
	if (rc == -1 || !S_ISDIR(st.st_mode))
		return false;
	txn_state_dir(state_dir, name, dir, sizeof dir);
	rc = lstat(dir, &st);
	if (rc == 0 || errno != ENOENT)
		return false;
	snprintf(sub, sizeof sub, "%s/%s", state_dir, TXN_STATE_SUBDIR);
	rc = mkdir(sub, 0700);
	if (rc == -1 && errno != EEXIST) {
		log_warn_errno("state: cannot create %s to move %s", sub, old);
		return false;
	}
	rc = rename(old, dir);
	if (rc == -1) {
		log_warn_errno("state: cannot move %s (the old layout) to %s", old, dir);
		return false;
	}
	log_info("state: moved %s (the old layout) to %s", old, dir);
	return true;
}

/* "certprobed (pid N)" from the holder's "PID WHO" line; "another process" without one. */
static void lock_holder(int fd, char *buf, size_t len)
{
	char line[96], *end;
	ssize_t n = pread(fd, line, sizeof line - 1, 0);
	long pid;

	snprintf(buf, len, "another process");
	if (n <= 0)
		return;
	line[n] = '\0';
	errno = 0;
	pid = strtol(line, &end, 10);
	if (errno != 0 || end == line || pid <= 0 || *end != ' ')
		return;
	end++;
	end[strcspn(end, "\n")] = '\0';
	snprintf(buf, len, "%s (pid %ld)", end[0] != '\0' ? end : "another process", pid);
}

enum txn_state_lock_status txn_state_lock(const char *state_dir, const char *who, int *fd,
                                          char *err, size_t errlen)
{
	char path[600], line[96];
	ssize_t n;
	int lfd, rc;

	*fd = -1;
	snprintf(path, sizeof path, "%s/%s", state_dir, TXN_STATE_LOCK);
	lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd == -1) {
		snprintf(err, errlen, "cannot open the lock %s: %s", path, strerror(errno));
		return TXN_STATE_LOCK_UNAVAILABLE;
	}
	rc = flock(lfd, LOCK_EX | LOCK_NB);
	if (rc == -1) {
		int e = errno;
		char holder[96];
		if (e != EWOULDBLOCK) {
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
			close(lfd);
			return TXN_STATE_LOCK_UNAVAILABLE;
		}
		lock_holder(lfd, holder, sizeof holder);
		snprintf(err, errlen, "state directory %s is in use by %s", state_dir, holder);
		close(lfd);
		return TXN_STATE_LOCK_BUSY;
	}
	/* "PID WHO\n": what a second process names in its message */
	n = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), who);
	rc = ftruncate(lfd, 0);
	if (rc == 0 && pwrite(lfd, line, (size_t)n, 0) != n)
		rc = -1;
	if (rc == -1)
		log_warn_errno("state: cannot write our pid into %s", path);
	*fd = lfd;
	return TXN_STATE_LOCKED;
}
