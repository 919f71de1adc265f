/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <stdatomic.h>
#include <time.h>

#include "log.h"

/* Set again on reload while every thread logs. */
static _Atomic(enum log_level) log_level = LOG_LEVEL_INFO;
static bool log_syslog;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_vmsg(enum log_level, const char *, const char *, va_list);

void
log_set_level(enum log_level level)
{
	atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

bool
log_level_parse(const char *name, enum log_level *out)
{
	static const struct { const char *n; enum log_level l; } names[] = {
		{ "error", LOG_LEVEL_ERR }, { "warning", LOG_LEVEL_WARN },
		{ "info", LOG_LEVEL_INFO }, { "debug", LOG_LEVEL_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].n) == 0) {
			*out = names[i].l;
			return true;
		}
	}
	return false;
}

void
log_to_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = true;
}

static void
log_vmsg(enum log_level level, const char *src, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		[LOG_LEVEL_ERR] = "error", [LOG_LEVEL_WARN] = "warning",
		[LOG_LEVEL_INFO] = "info", [LOG_LEVEL_DEBUG] = "debug",
	};
	char msg[2048];

	if (level > atomic_load_explicit(&log_level, memory_order_relaxed))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		syslog((int)level, "[%s] %s", src, msg);
		return;
	}

	struct timespec ts;
	struct tm tm;
	char when[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One locked fprintf per line keeps lines from different threads whole. */
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s.%03ldZ %s [%s] %s\n", when, ts.tv_nsec / 1000000,
	    names[level], src, msg);
	pthread_mutex_unlock(&log_lock);
}

void
log_msg(enum log_level level, const char *src, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, src, fmt, ap);
	va_end(ap);
}

void
fatal(const char *src, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERR, src, fmt, ap);
	va_end(ap);
	exit(1);
}
