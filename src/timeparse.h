/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Times given by users (API parameters, collectorctl options): RFC 3339
 * date-times with any offset and optional fractions, or relative ages such
 * as "30m", "24h", "7d", meaning that long before now. Results are
 * milliseconds since the epoch, UTC. Pure functions, thread-safe.
 */
#ifndef CD_TIMEPARSE_H
#define CD_TIMEPARSE_H

#include <stdint.h>

/**
 * Parse an RFC 3339 date-time ("2020-10-21T19:08:12.455Z",
 * "2020-10-21t21:08:12+02:00", "2020-10-21 19:08:12.4551234Z"; 'T' or a
 * space between date and time, 'Z' or ±HH:MM required, fractions of any
 * length truncated to ms, second 60 accepted as a leap second) or a bare
 * date ("2020-10-21", midnight UTC). CD_EOK and *out_ms, or CD_EPARSE.
 */
int timeparse_rfc3339(const char *s, int64_t *out_ms);

/**
 * Parse a relative age: a positive decimal count followed by one unit,
 * s (seconds), m (minutes), h (hours), d (days) or w (weeks). CD_EOK and the
 * age in *out_ms, or CD_EPARSE (also on overflow).
 */
int timeparse_age(const char *s, int64_t *out_ms);

/**
 * Either form: an age is taken back from now_ms. CD_EOK and *out_ms, or
 * CD_EPARSE.
 */
int timeparse(const char *s, int64_t now_ms, int64_t *out_ms);

/** The current time in ms since the epoch (CLOCK_REALTIME). */
int64_t timeparse_now_ms(void);
/** A time in ms for measuring intervals (CLOCK_MONOTONIC): never steps. */
int64_t timeparse_mono_ms(void);

#endif
