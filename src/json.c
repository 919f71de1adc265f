/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "json.h"

static int jsonw_value_start(struct jsonw *);
static int jsonw_put(struct jsonw *, const void *, size_t);
static size_t jsonw_utf8_len(const uint8_t *, size_t);

void
jsonw_init(struct jsonw *j, struct buf *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

int
jsonw_finish(struct jsonw *j)
{
	if (j->err == CD_EOK && (j->depth != 0 || !j->done))
		j->err = -EINVAL;
	return j->err;
}

static int
jsonw_put(struct jsonw *j, const void *p, size_t n)
{
	if (j->err == CD_EOK)
		j->err = buf_append(j->out, p, n);
	return j->err;
}

/*
 * Called before any value (scalar or container): checks that a value may go
 * here and writes the separating comma inside arrays. Inside objects the
 * comma was written by jsonw_key().
 */
static int
jsonw_value_start(struct jsonw *j)
{
	if (j->err != CD_EOK)
		return j->err;
	if (j->depth == 0) {
		if (j->done)
			return j->err = -EINVAL;
		return CD_EOK;
	}
	if (j->kind[j->depth - 1] == 'o') {
		if (!j->have_key)
			return j->err = -EINVAL;
		j->have_key = false;
		return CD_EOK;
	}
	if (j->nonempty[j->depth - 1])
		jsonw_put(j, ",", 1);
	j->nonempty[j->depth - 1] = true;
	return j->err;
}

/* A scalar was written: at the top level that completes the document. */
static int
jsonw_value_end(struct jsonw *j)
{
	if (j->err == CD_EOK && j->depth == 0)
		j->done = true;
	return j->err;
}

static int
jsonw_open(struct jsonw *j, char kind)
{
	if (jsonw_value_start(j) != CD_EOK)
		return j->err;
	if (j->depth == JSONW_MAX_DEPTH)
		return j->err = CD_ETOOBIG;
	j->kind[j->depth] = kind;
	j->nonempty[j->depth] = false;
	j->depth++;
	return jsonw_put(j, kind == 'o' ? "{" : "[", 1);
}

static int
jsonw_close(struct jsonw *j, char kind)
{
	if (j->err != CD_EOK)
		return j->err;
	if (j->depth == 0 || j->kind[j->depth - 1] != kind || j->have_key)
		return j->err = -EINVAL;
	j->depth--;
	jsonw_put(j, kind == 'o' ? "}" : "]", 1);
	return jsonw_value_end(j);
}

int
jsonw_object_begin(struct jsonw *j)
{
	return jsonw_open(j, 'o');
}

int
jsonw_object_end(struct jsonw *j)
{
	return jsonw_close(j, 'o');
}

int
jsonw_array_begin(struct jsonw *j)
{
	return jsonw_open(j, 'a');
}

int
jsonw_array_end(struct jsonw *j)
{
	return jsonw_close(j, 'a');
}

/*
 * Length of the well-formed UTF-8 sequence at p (Unicode 15, table 3-7:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or 0 when the
 * bytes there are not one.
 */
static size_t
jsonw_utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

int
jsonw_string_n(struct jsonw *j, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, run = 0, len;
	char esc[8];

	if (s == NULL)
		return jsonw_null(j);
	if (jsonw_value_start(j) != CD_EOK)
		return j->err;
	jsonw_put(j, "\"", 1);
	/* Copy runs of plain bytes at once; stop at anything to rewrite. */
	while (i < n && j->err == CD_EOK) {
		uint8_t c = p[i];
		const char *rep = NULL;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		len = c < 0x80 ? 1 : jsonw_utf8_len(p + i, n - i);
		/* U+2028/U+2029 are valid JSON but end lines in JavaScript. */
		if (len == 3 && c == 0xe2 && p[i + 1] == 0x80 &&
		    (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
			rep = p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
		else if (len > 1) {
			i += len;
			run += len;
			continue;
		}
		jsonw_put(j, p + i - run, run);
		run = 0;
		if (rep != NULL) {
			jsonw_put(j, rep, strlen(rep));
			i += 3;
			continue;
		}
		switch (c) {
		case '"': rep = "\\\""; break;
		case '\\': rep = "\\\\"; break;
		case '\b': rep = "\\b"; break;
		case '\f': rep = "\\f"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		case '\t': rep = "\\t"; break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				rep = esc;
			} else
				rep = "\xef\xbf\xbd";	/* U+FFFD for a bad byte */
		}
		jsonw_put(j, rep, strlen(rep));
		i++;
	}
	jsonw_put(j, p + i - run, run);
	jsonw_put(j, "\"", 1);
	return jsonw_value_end(j);
}

int
jsonw_string(struct jsonw *j, const char *s)
{
	return jsonw_string_n(j, s, s != NULL ? strlen(s) : 0);
}

int
jsonw_key(struct jsonw *j, const char *key)
{
	if (j->err != CD_EOK)
		return j->err;
	if (j->depth == 0 || j->kind[j->depth - 1] != 'o' || j->have_key)
		return j->err = -EINVAL;
	if (j->nonempty[j->depth - 1])
		jsonw_put(j, ",", 1);
	j->nonempty[j->depth - 1] = true;
	/* jsonw_string() takes the pending-key flag as if the key were the
	 * member's value; set it again afterwards for the real value. */
	j->have_key = true;
	jsonw_string(j, key);
	if (j->err != CD_EOK)
		return j->err;
	j->have_key = true;
	return jsonw_put(j, ":", 1);
}

static int
jsonw_raw_value(struct jsonw *j, const char *text)
{
	if (jsonw_value_start(j) != CD_EOK)
		return j->err;
	jsonw_put(j, text, strlen(text));
	return jsonw_value_end(j);
}

int
jsonw_int(struct jsonw *j, int64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%" PRId64, v);
	return jsonw_raw_value(j, tmp);
}

int
jsonw_uint(struct jsonw *j, uint64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	return jsonw_raw_value(j, tmp);
}

int
jsonw_double(struct jsonw *j, double v)
{
	char tmp[40];

	if (!isfinite(v))
		return jsonw_null(j);
	snprintf(tmp, sizeof(tmp), "%.17g", v);
	/* Shorter when it round-trips: 0.5 rather than 0.50000000000000000. */
	for (int prec = 1; prec < 17; prec++) {
		char s[40];

		snprintf(s, sizeof(s), "%.*g", prec, v);
		if (strtod(s, NULL) == v) {
			memcpy(tmp, s, sizeof(tmp));
			break;
		}
	}
	return jsonw_raw_value(j, tmp);
}

int
jsonw_bool(struct jsonw *j, bool v)
{
	return jsonw_raw_value(j, v ? "true" : "false");
}

int
jsonw_null(struct jsonw *j)
{
	return jsonw_raw_value(j, "null");
}

int
jsonw_time_format(int64_t ms, char out[JSONW_TIME_LEN])
{
	int64_t secs = ms / 1000, frac = ms % 1000;
	struct tm tm;
	time_t t;

	/* Floor division, so times before 1970 keep a positive fraction. */
	if (frac < 0) {
		frac += 1000;
		secs--;
	}
	/* 0000-01-01 .. 9999-12-31: what four year digits can say. */
	if (secs < -62167219200LL || secs > 253402300799LL)
		return -ERANGE;
	t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL)
		return -ERANGE;
	/* The compiler cannot see the tm ranges: format into ample room. */
	char tmp[96];
	int n = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)frac);
	if (n < 0 || n >= JSONW_TIME_LEN)
		return -ERANGE;
	memcpy(out, tmp, (size_t)n + 1);
	return CD_EOK;
}

int
jsonw_time(struct jsonw *j, int64_t ms)
{
	char tmp[JSONW_TIME_LEN];
	int rc;

	if (j->err != CD_EOK)
		return j->err;
	if ((rc = jsonw_time_format(ms, tmp)) != CD_EOK)
		return j->err = rc;
	return jsonw_string(j, tmp);
}

int
jsonw_kstring(struct jsonw *j, const char *key, const char *s)
{
	jsonw_key(j, key);
	return jsonw_string(j, s);
}

int
jsonw_kint(struct jsonw *j, const char *key, int64_t v)
{
	jsonw_key(j, key);
	return jsonw_int(j, v);
}

int
jsonw_kuint(struct jsonw *j, const char *key, uint64_t v)
{
	jsonw_key(j, key);
	return jsonw_uint(j, v);
}

int
jsonw_kbool(struct jsonw *j, const char *key, bool v)
{
	jsonw_key(j, key);
	return jsonw_bool(j, v);
}

int
jsonw_knull(struct jsonw *j, const char *key)
{
	jsonw_key(j, key);
	return jsonw_null(j);
}

int
jsonw_ktime(struct jsonw *j, const char *key, int64_t ms)
{
	jsonw_key(j, key);
	return jsonw_time(j, ms);
}
