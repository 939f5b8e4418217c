/* log: leveled diagnostics to stderr; errno preserved across calls (see log.h). */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

static const char *log_prog = "certprobe";
static enum log_level log_current = LOG_LEVEL_WARN;
static int log_to_syslog;

static const char *const log_names[] = {
    [LOG_LEVEL_ERR] = "error",
    [LOG_LEVEL_WARN] = "warning",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

void log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
	log_current = level;
}

void log_syslog(int on)
{
	if (on && !log_to_syslog)
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!on && log_to_syslog)
		closelog();
	log_to_syslog = on;
}

void log_set_level(enum log_level level)
{
	log_current = level;
}

int log_enabled(enum log_level level)
{
	return level <= log_current;
}

static void log_vwrite(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	static const int prio[] = {
	    [LOG_LEVEL_ERR] = LOG_ERR,
	    [LOG_LEVEL_WARN] = LOG_WARNING,
	    [LOG_LEVEL_INFO] = LOG_INFO,
	    [LOG_LEVEL_DEBUG] = LOG_DEBUG,
	};

	if (level > log_current)
		return;
	if (log_to_syslog) {
		char line[1024];
		va_list cp;
		va_copy(cp, ap);
		vsnprintf(line, sizeof line, fmt, cp);
		va_end(cp);
		syslog(prio[level], "%s%s%s", line, suffix != NULL ? ": " : "",
		       suffix != NULL ? suffix : "");
	}
	fprintf(stderr, "%s: %s: ", log_prog, log_names[level]);
	vfprintf(stderr, fmt, ap);
	if (suffix != NULL)
		fprintf(stderr, ": %s", suffix);
	fputc('\n', stderr);
}

#define LOG_BODY(level, suffix)                                                                    \
	do {                                                                                       \
		int saved = errno;                                                                 \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vwrite(level, suffix, fmt, ap);                                                \
		va_end(ap);                                                                        \
		errno = saved;                                                                     \
	} while (0)

void log_err(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERR, NULL);
}

void log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, NULL);
}

void log_warn_errno(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, strerror(errno));
}

void log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL);
}

void log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, NULL);
}
