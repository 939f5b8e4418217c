/* log: leveled diagnostics to stderr; errno preserved across calls (see log.h). */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *log_prog = "certprobe";
static enum log_level log_current = LOG_LEVEL_WARN;

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
	if (level > log_current)
		return;
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
