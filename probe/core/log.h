/*
 * log: the one place that writes diagnostics (stderr or syslog). The functions save
 * and restore errno; log_warn_errno appends ": strerror(errno)" itself (relayd log.c),
 * so call sites never format errno. Nothing passed here may contain a secret.
 */
#ifndef CERTPROBE_LOG_H
#define CERTPROBE_LOG_H

enum log_level { LOG_LEVEL_ERR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
/* Also send every line to syslog (facility daemon, tagged with progname and pid). */
void log_syslog(int on);
int log_enabled(enum log_level level);

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
