/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "json.h"

static int jsonw_value_start(struct jsonw *);
static int jsonw_room(struct jsonw *, size_t);
static int jsonw_put(struct jsonw *, const void *, size_t);
static size_t jsonw_utf8_len(const uint8_t *, size_t);
static size_t jsonw_escape(const uint8_t *, size_t, char *);
static int jsonw_quoted(struct jsonw *, const char *, size_t, char, char);
static int jsonw_raw_value(struct jsonw *, const char *, size_t);
static char *jsonw_digits(char *, unsigned, int);

/*
 * Bytes a JSON string takes as they are: printable ASCII but the quote and
 * the backslash. Everything else (control characters, '"', '\\', and any
 * byte >= 0x80, which needs a UTF-8 check) leaves the fast scan.
 */
static const uint8_t jsonw_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x10 */
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x20 '"' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x30 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,	/* 0x50 '\\' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x70 */
	/* 0x80..0xff: zero */
};

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

/*
 * Make room for n more bytes (and the terminator) in the output. Inline
 * when the buffer already has it: buf_append()/buf_reserve() per comma
 * and colon were a fifth of the output thread in the profile. The cap
 * check is the one buf_reserve() makes.
 */
static int
jsonw_room(struct jsonw *j, size_t n)
{
	struct buf *b = j->out;

	if (j->err != CD_EOK)
		return j->err;
	if (n <= b->max - b->len && b->cap - b->len > n)
		return CD_EOK;
	return j->err = buf_reserve(b, n);
}

static int
jsonw_put(struct jsonw *j, const void *p, size_t n)
{
	struct buf *b = j->out;

	if (jsonw_room(j, n) != CD_EOK)
		return j->err;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return CD_EOK;
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

/*
 * The escaped form of the byte or sequence p[0..len) that cannot be copied
 * as it is, into out (at most 6 bytes); returns its length. len is 3 for
 * U+2028/U+2029 and 1 otherwise (a character to escape or a byte that does
 * not start a well-formed UTF-8 sequence).
 */
static size_t
jsonw_escape(const uint8_t *p, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t c = p[0];

	/* U+2028/U+2029 are valid JSON but end lines in JavaScript. */
	if (len == 3) {
		memcpy(out, p[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
		return 6;
	}
	out[0] = '\\';
	switch (c) {
	case '"': out[1] = '"'; return 2;
	case '\\': out[1] = '\\'; return 2;
	case '\b': out[1] = 'b'; return 2;
	case '\f': out[1] = 'f'; return 2;
	case '\n': out[1] = 'n'; return 2;
	case '\r': out[1] = 'r'; return 2;
	case '\t': out[1] = 't'; return 2;
	}
	if (c < 0x20) {
		memcpy(out, "\\u00", 4);
		out[4] = hex[c >> 4];
		out[5] = hex[c & 0xf];
		return 6;
	}
	memcpy(out, "\xef\xbf\xbd", 3);	/* U+FFFD for a bad byte */
	return 3;
}

/*
 * True when none of the 8 bytes in w needs a look: no byte >= 0x80, none
 * below 0x20, no '"' and no '\\'. The usual word-at-a-time tests (any byte
 * zero: (x - 0x01..) & ~x & 0x80..; any byte below n <= 0x80:
 * (x - n..) & ~x & 0x80..) are exact as yes/no answers for the word.
 */
static inline bool
jsonw_plain8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	return ((w | ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) |
	    ((b - ones) & ~b)) & high) == 0;
}

/*
 * Append lead (unless 0), s[0..n) quoted and escaped, and trail (unless
 * 0), so that a member name goes out as ,"name": in one step.
 *
 * Runs of bytes that need no rewriting (printable ASCII, well-formed
 * UTF-8 but U+2028/U+2029) are found eight bytes at a time, then with a
 * table, and copied with one memcpy each straight into the buffer. Every
 * input byte gives at least one output byte, so one reservation covers a
 * string without escapes; an escape re-checks the room for itself, the
 * rest of the input and what follows, which never asks for more than the
 * final text takes (the buffer's cap fails exactly when it did byte by
 * byte).
 */
static int
jsonw_quoted(struct jsonw *j, const char *s, size_t n, char lead, char trail)
{
	const uint8_t *p = (const uint8_t *)s;
	struct buf *b = j->out;
	size_t i = 0, run = 0, len, elen, tail = 1 + (trail != '\0');
	uint8_t *o;
	uint64_t w;
	char esc[8];

	if (jsonw_room(j, (lead != '\0') + 1 + n + tail) != CD_EOK)
		return j->err;
	o = b->data + b->len;
	if (lead != '\0')
		*o++ = (uint8_t)lead;
	*o++ = '"';
	for (;;) {
		while (n - i >= 8) {
			memcpy(&w, p + i, 8);
			if (!jsonw_plain8(w))
				break;
			i += 8;
		}
		while (i < n && jsonw_plain[p[i]])
			i++;
		if (i == n)
			break;
		len = 1;
		if (p[i] >= 0x80) {
			len = jsonw_utf8_len(p + i, n - i);
			if (len > 1 && !(len == 3 && p[i] == 0xe2 && p[i + 1] == 0x80 &&
			    (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))) {
				i += len;
				continue;
			}
			if (len == 0)
				len = 1;
		}
		memcpy(o, p + run, i - run);
		o += i - run;
		elen = jsonw_escape(p + i, len, esc);
		i += len;
		run = i;
		b->len = (size_t)(o - b->data);
		if (jsonw_room(j, elen + (n - i) + tail) != CD_EOK) {
			b->data[b->len] = '\0';
			return j->err;
		}
		o = b->data + b->len;
		memcpy(o, esc, elen);
		o += elen;
	}
	memcpy(o, p + run, n - run);
	o += n - run;
	*o++ = '"';
	if (trail != '\0')
		*o++ = (uint8_t)trail;
	b->len = (size_t)(o - b->data);
	*o = '\0';
	return CD_EOK;
}

int
jsonw_string_n(struct jsonw *j, const char *s, size_t n)
{
	if (s == NULL)
		return jsonw_null(j);
	if (jsonw_value_start(j) != CD_EOK)
		return j->err;
	if (jsonw_quoted(j, s, n, '\0', '\0') != CD_EOK)
		return j->err;
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
	bool comma = j->nonempty[j->depth - 1];
	j->nonempty[j->depth - 1] = true;
	if (key != NULL) {
		/* The comma, the quoted name and the colon in one go. */
		if (jsonw_quoted(j, key, strlen(key), comma ? ',' : '\0', ':') != CD_EOK)
			return j->err;
		j->have_key = true;
		return CD_EOK;
	}
	/* A NULL name comes out as null, as it always has. */
	if (comma)
		jsonw_put(j, ",", 1);
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
jsonw_raw_value(struct jsonw *j, const char *text, size_t len)
{
	if (jsonw_value_start(j) != CD_EOK)
		return j->err;
	jsonw_put(j, text, len);
	return jsonw_value_end(j);
}

/* Decimal digits by hand: snprintf's vfprintf was about 5% of the
 * formatting cost, for a handful of integers per event. */
size_t
jsonw_uint_format(uint64_t v, char out[JSONW_UINT_LEN])
{
	char tmp[JSONW_UINT_LEN], *e = tmp + sizeof(tmp), *d = e;
	size_t n;

	do {
		*--d = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	n = (size_t)(e - d);
	memcpy(out, d, n);
	out[n] = '\0';
	return n;
}

int
jsonw_int(struct jsonw *j, int64_t v)
{
	char tmp[JSONW_UINT_LEN + 1];
	/* The magnitude in unsigned arithmetic: INT64_MIN has no positive. */
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = jsonw_uint_format(u, tmp + 1);

	if (v >= 0)
		return jsonw_raw_value(j, tmp + 1, n);
	tmp[0] = '-';
	return jsonw_raw_value(j, tmp, n + 1);
}

int
jsonw_uint(struct jsonw *j, uint64_t v)
{
	char tmp[JSONW_UINT_LEN];

	return jsonw_raw_value(j, tmp, jsonw_uint_format(v, tmp));
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
	return jsonw_raw_value(j, tmp, strlen(tmp));
}

int
jsonw_bool(struct jsonw *j, bool v)
{
	return v ? jsonw_raw_value(j, "true", 4) : jsonw_raw_value(j, "false", 5);
}

int
jsonw_null(struct jsonw *j)
{
	return jsonw_raw_value(j, "null", 4);
}

/* width decimal digits of v, zero-padded, at o; returns the end. */
static char *
jsonw_digits(char *o, unsigned v, int width)
{
	for (int k = width - 1; k >= 0; k--) {
		o[k] = (char)('0' + v % 10);
		v /= 10;
	}
	return o + width;
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
	/* "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" without snprintf (vfprintf
	 * showed in the output thread's profile: two or three times per
	 * event). The range check
	 * above keeps the year in 0..9999; gmtime_r() keeps the rest in
	 * range, which the check below makes sure of. */
	if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 ||
	    tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 ||
	    tm.tm_sec > 60)
		return -ERANGE;
	char *o = out;
	o = jsonw_digits(o, (unsigned)(tm.tm_year + 1900), 4);
	*o++ = '-';
	o = jsonw_digits(o, (unsigned)(tm.tm_mon + 1), 2);
	*o++ = '-';
	o = jsonw_digits(o, (unsigned)tm.tm_mday, 2);
	*o++ = 'T';
	o = jsonw_digits(o, (unsigned)tm.tm_hour, 2);
	*o++ = ':';
	o = jsonw_digits(o, (unsigned)tm.tm_min, 2);
	*o++ = ':';
	o = jsonw_digits(o, (unsigned)tm.tm_sec, 2);
	*o++ = '.';
	o = jsonw_digits(o, (unsigned)frac, 3);
	*o++ = 'Z';
	*o = '\0';
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
	return jsonw_string_n(j, tmp, JSONW_TIME_STRLEN);
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
