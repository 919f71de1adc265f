/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Logging. Until log_to_syslog() is called everything goes to stderr with a
 * timestamp; afterwards to syslog (the journal under systemd). Each message
 * carries a short source tag ("store", "http", "auth", ...). Thread-safe.
 */
#ifndef CD_LOG_H
#define CD_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARN = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/** Messages above this level are dropped; default LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);
/** Parse "error", "warning", "info", "debug"; false when unknown. */
bool log_level_parse(const char *name, enum log_level *out);
/** From now on write to syslog with the given identity. */
void log_to_syslog(const char *ident);

void log_msg(enum log_level level, const char *src, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(src, ...)   log_msg(LOG_LEVEL_ERR, (src), __VA_ARGS__)
#define log_warn(src, ...)  log_msg(LOG_LEVEL_WARN, (src), __VA_ARGS__)
#define log_info(src, ...)  log_msg(LOG_LEVEL_INFO, (src), __VA_ARGS__)
#define log_debug(src, ...) log_msg(LOG_LEVEL_DEBUG, (src), __VA_ARGS__)

/** Log at ERR and exit(1). Start-up failures and broken invariants only. */
void fatal(const char *src, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#endif
