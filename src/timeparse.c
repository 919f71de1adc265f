/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "err.h"
#include "timeparse.h"

static bool timeparse_digits(const char **, int, int *);

/* Exactly n decimal digits at *p; advances *p. */
static bool
timeparse_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool
timeparse_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * The grammar is RFC 3339 section 5.6 (date-time), with the relaxations
 * its section 5.6 note allows: lower-case 't'/'z' and a space separator.
 */
int
timeparse_rfc3339(const char *s, int64_t *out_ms)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = s;
	int year, mon, day, hour = 0, min = 0, sec = 0, oh = 0, om = 0;
	int64_t ms = 0, offset = 0;
	struct tm tm = {0};
	time_t t;

	if (s == NULL)
		return CD_EPARSE;
	if (!timeparse_digits(&p, 4, &year) || *p++ != '-' ||
	    !timeparse_digits(&p, 2, &mon) || *p++ != '-' ||
	    !timeparse_digits(&p, 2, &day))
		return CD_EPARSE;
	if (mon < 1 || mon > 12 || day < 1)
		return CD_EPARSE;
	if (day > mdays[mon - 1] + (mon == 2 && timeparse_leap(year)))
		return CD_EPARSE;
	if (*p == '\0')
		goto convert;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return CD_EPARSE;
	p++;
	if (!timeparse_digits(&p, 2, &hour) || *p++ != ':' ||
	    !timeparse_digits(&p, 2, &min) || *p++ != ':' ||
	    !timeparse_digits(&p, 2, &sec))
		return CD_EPARSE;
	if (hour > 23 || min > 59 || sec > 60)
		return CD_EPARSE;
	if (*p == '.') {
		int scale = 100, n = 0;

		p++;
		for (; *p >= '0' && *p <= '9'; p++, n++) {
			ms += (*p - '0') * scale;
			scale /= 10;
		}
		if (n == 0)
			return CD_EPARSE;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;

		if (!timeparse_digits(&p, 2, &oh) || *p++ != ':' ||
		    !timeparse_digits(&p, 2, &om) || oh > 23 || om > 59)
			return CD_EPARSE;
		offset = sign * ((int64_t)oh * 3600 + om * 60);
	} else
		return CD_EPARSE;
	if (*p != '\0')
		return CD_EPARSE;
convert:
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*out_ms = ((int64_t)t - offset) * 1000 + ms;
	return CD_EOK;
}

int
timeparse_age(const char *s, int64_t *out_ms)
{
	const char *p = s;
	int64_t n = 0, unit;

	if (s == NULL || *p < '0' || *p > '9')
		return CD_EPARSE;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (INT64_MAX - 9) / 10)
			return CD_EPARSE;
		n = n * 10 + (*p - '0');
	}
	switch (*p) {
	case 's': unit = 1000; break;
	case 'm': unit = 60 * 1000; break;
	case 'h': unit = 3600 * 1000; break;
	case 'd': unit = 86400 * 1000; break;
	case 'w': unit = 7 * 86400 * 1000; break;
	default: return CD_EPARSE;
	}
	if (p[1] != '\0' || n > INT64_MAX / unit)
		return CD_EPARSE;
	*out_ms = n * unit;
	return CD_EOK;
}

int
timeparse(const char *s, int64_t now_ms, int64_t *out_ms)
{
	int64_t age;

	if (timeparse_rfc3339(s, out_ms) == CD_EOK)
		return CD_EOK;
	if (timeparse_age(s, &age) != CD_EOK ||
	    __builtin_sub_overflow(now_ms, age, out_ms))
		return CD_EPARSE;
	return CD_EOK;
}

static int64_t
timeparse_clock_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
timeparse_now_ms(void)
{
	return timeparse_clock_ms(CLOCK_REALTIME);
}

int64_t
timeparse_mono_ms(void)
{
	return timeparse_clock_ms(CLOCK_MONOTONIC);
}
