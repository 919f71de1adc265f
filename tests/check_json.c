/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "harness.h"
#include "json.h"

/* Write one string value and return the document text (static). */
static const char *
one_string(const char *s, size_t n)
{
	static char out[256];
	struct buf b;
	struct jsonw j;

	buf_init(&b, 0);
	jsonw_init(&j, &b);
	jsonw_string_n(&j, s, n);
	ck_assert_int_eq(jsonw_finish(&j), CD_EOK);
	ck_assert_uint_lt(b.len, sizeof(out));
	memcpy(out, b.data, b.len + 1);
	buf_free(&b);
	return out;
}

START_TEST(test_escapes)
{
	ck_assert_str_eq(one_string("a\"b\\c/", 6), "\"a\\\"b\\\\c/\"");
	ck_assert_str_eq(one_string("\n\r\t\b\f", 5), "\"\\n\\r\\t\\b\\f\"");
	ck_assert_str_eq(one_string("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\x7f\"");
	ck_assert_str_eq(one_string("a\0b", 3), "\"a\\u0000b\"");
	/* Valid multi-byte UTF-8 passes through untouched. */
	ck_assert_str_eq(one_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14),
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* U+2028 is escaped for JavaScript consumers. */
	ck_assert_str_eq(one_string("x\xe2\x80\xa8y", 5), "\"x\\u2028y\"");
}
END_TEST

START_TEST(test_invalid_utf8)
{
	/* A lone continuation byte, a truncated sequence, an overlong '/',
	 * a UTF-16 surrogate and a byte above U+10FFFF each become U+FFFD. */
	ck_assert_str_eq(one_string("a\x80z", 3), "\"a\xef\xbf\xbdz\"");
	ck_assert_str_eq(one_string("a\xe2\x82", 3),
	    "\"a\xef\xbf\xbd\xef\xbf\xbd\"");
	ck_assert_str_eq(one_string("\xc0\xaf", 2),
	    "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	ck_assert_str_eq(one_string("\xed\xa0\x80", 3),
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	ck_assert_str_eq(one_string("\xf4\x90\x80\x80", 4),
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	/* Whatever the input, jansson must accept the output as UTF-8. */
	char junk[256];
	for (int i = 0; i < 256; i++)
		junk[i] = (char)i;
	struct buf b;
	struct jsonw j;
	json_error_t jerr;

	buf_init(&b, 0);
	jsonw_init(&j, &b);
	jsonw_string_n(&j, junk, sizeof(junk));
	ck_assert_int_eq(jsonw_finish(&j), CD_EOK);
	json_t *v = json_loadb((char *)b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	ck_assert_msg(v != NULL, "jansson: %s", jerr.text);
	ck_assert_uint_eq(json_string_length(v), 128 + 128 * 3);
	ck_assert_int_eq(memcmp(json_string_value(v), junk, 128), 0);
	json_decref(v);
	buf_free(&b);
}
END_TEST

START_TEST(test_document)
{
	struct buf b;
	struct jsonw j;
	json_error_t jerr;

	buf_init(&b, 0);
	jsonw_init(&j, &b);
	jsonw_object_begin(&j);
	jsonw_kstring(&j, "domain", "example.com");
	jsonw_kint(&j, "neg", -42);
	jsonw_kuint(&j, "big", 9007199254740993ULL);
	jsonw_kbool(&j, "t", true);
	jsonw_knull(&j, "n");
	jsonw_ktime(&j, "when", 1603307292455LL);
	jsonw_key(&j, "list");
	jsonw_array_begin(&j);
	jsonw_int(&j, 1);
	jsonw_object_begin(&j);
	jsonw_object_end(&j);
	jsonw_array_begin(&j);
	jsonw_array_end(&j);
	jsonw_double(&j, 0.25);
	jsonw_double(&j, NAN);
	jsonw_string(&j, NULL);
	jsonw_array_end(&j);
	jsonw_object_end(&j);
	ck_assert_int_eq(jsonw_finish(&j), CD_EOK);
	ck_assert_str_eq((char *)b.data,
	    "{\"domain\":\"example.com\",\"neg\":-42,"
	    "\"big\":9007199254740993,\"t\":true,\"n\":null,"
	    "\"when\":\"2020-10-21T19:08:12.455Z\","
	    "\"list\":[1,{},[],0.25,null,null]}");
	json_t *v = json_loadb((char *)b.data, b.len, 0, &jerr);
	ck_assert_msg(v != NULL, "jansson: %s", jerr.text);
	ck_assert_str_eq(json_string_value(json_object_get(v, "domain")), "example.com");
	ck_assert_uint_eq(json_array_size(json_object_get(v, "list")), 6);
	/* Above 2^53: integers are written exactly, not through a double. */
	ck_assert_int_eq(json_integer_value(json_object_get(v, "big")),
	    9007199254740993LL);
	json_decref(v);
	buf_free(&b);
}
END_TEST

START_TEST(test_nesting_errors)
{
	struct buf b;
	struct jsonw j;

	buf_init(&b, 0);

	/* A value in an object without a key. */
	jsonw_init(&j, &b);
	jsonw_object_begin(&j);
	ck_assert_int_eq(jsonw_int(&j, 1), -EINVAL);
	ck_assert_int_eq(jsonw_finish(&j), -EINVAL);

	/* A key inside an array. */
	buf_reset(&b);
	jsonw_init(&j, &b);
	jsonw_array_begin(&j);
	ck_assert_int_eq(jsonw_key(&j, "k"), -EINVAL);

	/* Mismatched end, and an end with a key still pending. */
	buf_reset(&b);
	jsonw_init(&j, &b);
	jsonw_array_begin(&j);
	ck_assert_int_eq(jsonw_object_end(&j), -EINVAL);
	buf_reset(&b);
	jsonw_init(&j, &b);
	jsonw_object_begin(&j);
	jsonw_key(&j, "k");
	ck_assert_int_eq(jsonw_object_end(&j), -EINVAL);

	/* Two top-level values; an unclosed container; nothing at all. */
	buf_reset(&b);
	jsonw_init(&j, &b);
	jsonw_int(&j, 1);
	ck_assert_int_eq(jsonw_int(&j, 2), -EINVAL);
	buf_reset(&b);
	jsonw_init(&j, &b);
	jsonw_array_begin(&j);
	ck_assert_int_eq(jsonw_finish(&j), -EINVAL);
	jsonw_init(&j, &b);
	ck_assert_int_eq(jsonw_finish(&j), -EINVAL);

	/* The full unsigned range. */
	buf_reset(&b);
	jsonw_init(&j, &b);
	jsonw_uint(&j, UINT64_MAX);
	ck_assert_int_eq(jsonw_finish(&j), CD_EOK);
	ck_assert_str_eq((char *)b.data, "18446744073709551615");

	/* Too deep. */
	buf_reset(&b);
	jsonw_init(&j, &b);
	for (int i = 0; i < JSONW_MAX_DEPTH; i++)
		ck_assert_int_eq(jsonw_array_begin(&j), CD_EOK);
	ck_assert_int_eq(jsonw_array_begin(&j), CD_ETOOBIG);
	/* The error is sticky. */
	ck_assert_int_eq(jsonw_array_end(&j), CD_ETOOBIG);
	buf_free(&b);
}
END_TEST

START_TEST(test_buffer_cap)
{
	struct buf b;
	struct jsonw j;

	buf_init(&b, 8);
	jsonw_init(&j, &b);
	jsonw_string(&j, "0123456789");
	ck_assert_int_eq(jsonw_finish(&j), CD_ETOOBIG);
	buf_free(&b);
}
END_TEST

START_TEST(test_time_format)
{
	char t[JSONW_TIME_LEN];

	ck_assert_int_eq(jsonw_time_format(0, t), CD_EOK);
	ck_assert_str_eq(t, "1970-01-01T00:00:00.000Z");
	ck_assert_int_eq(jsonw_time_format(-1, t), CD_EOK);
	ck_assert_str_eq(t, "1969-12-31T23:59:59.999Z");
	ck_assert_int_eq(jsonw_time_format(951782400000LL + 7, t), CD_EOK);
	ck_assert_str_eq(t, "2000-02-29T00:00:00.007Z");
	ck_assert_int_eq(jsonw_time_format(253402300799999LL, t), CD_EOK);
	ck_assert_str_eq(t, "9999-12-31T23:59:59.999Z");
	ck_assert_int_eq(jsonw_time_format(253402300800000LL, t), -ERANGE);
}
END_TEST


/*
 * The reference for the run-copying escaper in json.c: the rules of
 * json.h applied one byte at a time, with the UTF-8 check written from
 * Unicode's table 3-7 again (not shared with json.c). Appends the quoted
 * string to b.
 */
static size_t
ref_utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		len = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* overlong, surrogate, beyond U+10FFFF */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp > 0x10ffff)
		return 0;
	return len;
}

static void
ref_escape(struct buf *b, const uint8_t *p, size_t n)
{
	char tmp[8];

	ck_assert_int_eq(buf_append(b, "\"", 1), CD_EOK);
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		size_t len = ref_utf8_len(p + i, n - i);

		if (c == '"')
			buf_puts(b, "\\\"");
		else if (c == '\\')
			buf_puts(b, "\\\\");
		else if (c == '\b')
			buf_puts(b, "\\b");
		else if (c == '\f')
			buf_puts(b, "\\f");
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\r')
			buf_puts(b, "\\r");
		else if (c == '\t')
			buf_puts(b, "\\t");
		else if (c < 0x20) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			buf_puts(b, tmp);
		} else if (len == 0) {
			buf_puts(b, "\xef\xbf\xbd");
			len = 1;
		} else if (len == 3 && memcmp(p + i, "\xe2\x80\xa8", 3) == 0)
			buf_puts(b, "\\u2028");
		else if (len == 3 && memcmp(p + i, "\xe2\x80\xa9", 3) == 0)
			buf_puts(b, "\\u2029");
		else
			buf_append(b, p + i, len);
		i += len;
	}
	ck_assert_int_eq(buf_append(b, "\"", 1), CD_EOK);
}

/*
 * Escape s[0..n) with jsonw into a buffer that already holds a prefix of
 * pre bytes and is capped at max (0: none), and check the result against
 * the reference: the same bytes, or CD_ETOOBIG exactly when the reference
 * string would not fit under the cap.
 */
static void
diff_one(const char *s, size_t n, size_t pre, size_t max)
{
	struct buf want, got;
	struct jsonw j;
	int rc;

	buf_init(&want, 0);
	ref_escape(&want, (const uint8_t *)s, n);
	buf_init(&got, max);
	for (size_t i = 0; i < pre; i++)
		ck_assert_int_eq(buf_append(&got, "[", 1), CD_EOK);
	jsonw_init(&j, &got);
	rc = jsonw_string_n(&j, s, n);
	if (max != 0 && pre + want.len > max) {
		ck_assert_int_eq(rc, CD_ETOOBIG);
	} else {
		ck_assert_int_eq(rc, CD_EOK);
		ck_assert_int_eq(jsonw_finish(&j), CD_EOK);
		ck_assert_uint_eq(got.len, pre + want.len);
		if (memcmp(got.data + pre, want.data, want.len) != 0)
			ck_abort_msg("escaper differs from the reference on %zu bytes:"
			    "\n got %s\nwant %s", n, (char *)got.data + pre,
			    (char *)want.data);
	}
	/* The buffer stays NUL-terminated, whatever happened. */
	if (got.data != NULL)
		ck_assert_int_eq(got.data[got.len], '\0');
	buf_free(&want);
	buf_free(&got);
}

/*
 * The same text as a member name (up to the first NUL): written as
 * {"a":1,<name>:2} with the name escaped as the reference does, into a
 * buffer capped at max (0: none): CD_ETOOBIG exactly when it is too long.
 */
static void
diff_key(const char *s, size_t n, size_t max)
{
	struct buf want, got;
	struct jsonw j;
	char *key = strndup(s, n);

	ck_assert_ptr_nonnull(key);
	buf_init(&want, 0);
	buf_puts(&want, "{\"a\":1,");
	ref_escape(&want, (const uint8_t *)key, strlen(key));
	buf_puts(&want, ":2}");
	buf_init(&got, max);
	jsonw_init(&j, &got);
	jsonw_object_begin(&j);
	jsonw_kint(&j, "a", 1);
	jsonw_kint(&j, key, 2);
	jsonw_object_end(&j);
	if (max != 0 && want.len > max) {
		ck_assert_int_eq(jsonw_finish(&j), CD_ETOOBIG);
	} else {
		ck_assert_int_eq(jsonw_finish(&j), CD_EOK);
		ck_assert_uint_eq(got.len, want.len);
		ck_assert_int_eq(memcmp(got.data, want.data, want.len), 0);
	}
	if (got.data != NULL)
		ck_assert_int_eq(got.data[got.len], '\0');
	buf_free(&want);
	buf_free(&got);
	free(key);
}

static void
diff_event(struct event *ev, void *arg)
{
	size_t *count = arg;

	diff_one(ev->raw, ev->raw_len, 0, 0);
	for (size_t i = 0; i < ev->ndata; i++) {
		if (ev->data[i].name != NULL) {
			diff_one(ev->data[i].name, strlen(ev->data[i].name), 0, 0);
			diff_key(ev->data[i].name, strlen(ev->data[i].name), 0);
		}
		if (ev->data[i].value != NULL)
			diff_one(ev->data[i].value, strlen(ev->data[i].value), 0, 0);
	}
	const char *sys[] = { ev->provider, ev->provider_guid, ev->keywords,
	    ev->time_created, ev->channel, ev->computer, ev->user_sid };
	for (size_t i = 0; i < sizeof(sys) / sizeof(*sys); i++)
		if (sys[i] != NULL)
			diff_one(sys[i], strlen(sys[i]), 0, 0);
	(*count)++;
}

/* Every value of every Sysmon event in tests/data, and the raw XML. */
START_TEST(test_escape_diff_sysmon)
{
	DIR *d = opendir(harness_data_path("sysmon"));
	struct dirent *de;
	size_t count = 0;
	char rel[512];

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".xml") != 0)
			continue;
		snprintf(rel, sizeof(rel), "sysmon/%s", de->d_name);
		harness_each_event(rel, diff_event, &count);
	}
	closedir(d);
	ck_assert_uint_gt(count, 2000);
}
END_TEST

/* xorshift64*: reproducible random input. */
static uint64_t
rnd(uint64_t *st)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return *st * 2685821657736338717ULL;
}

/*
 * Random strings built from the pieces the escaper treats differently:
 * plain ASCII runs, every control character, quote and backslash, valid
 * UTF-8 of each length (with the edges of table 3-7), U+2028/U+2029 and
 * their neighbours, invalid and truncated sequences, surrogates,
 * overlongs, and plain random bytes.
 */
START_TEST(test_escape_diff_random)
{
	static const char *const pieces[] = {
		"a", "Hello, world", "C:", "/", " ", "\"", "\\", "\x7f", "\x1f", "\x00",
		"\xc2\x80", "\xdf\xbf", "\xc3\xa9", "\xe0\xa0\x80", "\xed\x9f\xbf",
		"\xee\x80\x80", "\xef\xbf\xbd", "\xef\xbf\xbf", "\xe2\x80\xa8",
		"\xe2\x80\xa9", "\xe2\x80\xa7", "\xe2\x80\xaa", "\xe2\x82\xac",
		"\xf0\x90\x80\x80", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
		"\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf",
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\xf8", "\xfe", "\xff", "\xe2", "\xe2\x80",
		"\xf0\x9f", "\xf0\x9f\x98", "\xc3",
	};
	static const size_t plen[] = {
		1, 12, 2, 1, 1, 1, 1, 1, 1, 1,
		2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4,
		1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 1, 1, 1, 1, 2, 2, 3, 1,
	};
	_Static_assert(sizeof(pieces) / sizeof(*pieces) == sizeof(plen) / sizeof(*plen),
	    "one length per piece");
	uint64_t st = 0x9e3779b97f4a7c15ULL;
	char s[512];

	for (int iter = 0; iter < 120000; iter++) {
		size_t n = 0, want = rnd(&st) % 64;
		int mode = (int)(rnd(&st) % 4);

		while (n < want) {
			if (mode == 0) {
				/* any byte at all */
				s[n++] = (char)(rnd(&st) & 0xff);
			} else if (mode == 1) {
				/* control characters and the two specials among text */
				uint64_t r = rnd(&st) % 40;
				s[n++] = r < 32 ? (char)r : "\"\\aZ \x7f~x"[r - 32];
			} else {
				size_t k = rnd(&st) % (sizeof(pieces) / sizeof(*pieces));
				memcpy(s + n, pieces[k], plen[k]);
				n += plen[k];
			}
		}
		/* Also a truncated tail, and now and then a capped buffer. */
		if (n > 0 && rnd(&st) % 8 == 0)
			n--;
		diff_one(s, n, 0, 0);
		if (iter % 4 == 0)
			diff_key(s, n, iter % 8 == 0 ? 0 : 8 + rnd(&st) % (2 * n + 16));
		if (iter % 10 == 0) {
			size_t pre = rnd(&st) % 4;
			diff_one(s, n, pre, 1 + pre + rnd(&st) % (2 * n + 8));
		}
	}
	/* Every single byte and every byte pair. */
	for (int a = 0; a < 256; a++) {
		for (int b = 0; b < 256; b++) {
			s[0] = (char)a;
			s[1] = (char)b;
			diff_one(s, 2, 0, 0);
		}
		diff_one(s, 1, 0, 0);
	}
}
END_TEST

/* Numbers and times written without printf: the same text as printf. */
START_TEST(test_numbers_diff)
{
	static const int64_t edge[] = {
		0, 1, -1, 9, 10, -10, 99, 100, 4294967295LL, 4294967296LL,
		INT64_MAX, INT64_MIN, INT64_MIN + 1, 1000000000000000000LL,
	};
	uint64_t st = 12345;
	char want[64];

	for (size_t i = 0; i < sizeof(edge) / sizeof(*edge) + 20000; i++) {
		int64_t v = i < sizeof(edge) / sizeof(*edge) ? edge[i] :
		    (int64_t)(rnd(&st) >> (rnd(&st) % 64));
		if (i >= sizeof(edge) / sizeof(*edge) && (i & 1))
			v = -v;
		struct buf b;
		struct jsonw j;

		buf_init(&b, 0);
		jsonw_init(&j, &b);
		jsonw_array_begin(&j);
		jsonw_int(&j, v);
		jsonw_uint(&j, (uint64_t)v);
		jsonw_array_end(&j);
		ck_assert_int_eq(jsonw_finish(&j), CD_EOK);
		snprintf(want, sizeof(want), "[%" PRId64 ",%" PRIu64 "]", v, (uint64_t)v);
		ck_assert_str_eq((char *)b.data, want);
		buf_free(&b);

		char u[JSONW_UINT_LEN];
		size_t n = jsonw_uint_format((uint64_t)v, u);
		snprintf(want, sizeof(want), "%" PRIu64, (uint64_t)v);
		ck_assert_str_eq(u, want);
		ck_assert_uint_eq(n, strlen(want));
	}
	char u[JSONW_UINT_LEN];
	ck_assert_uint_eq(jsonw_uint_format(UINT64_MAX, u), 20);
	ck_assert_str_eq(u, "18446744073709551615");

	/* Times across the whole 0000..9999 range against gmtime_r+snprintf. */
	for (int i = 0; i < 20000; i++) {
		int64_t lo = -62167219200000LL, hi = 253402300799999LL;
		int64_t ms = lo + (int64_t)(rnd(&st) % (uint64_t)(hi - lo + 1));
		if (i < 4)
			ms = i == 0 ? lo : i == 1 ? hi : i == 2 ? 0 : -1;
		int64_t secs = ms / 1000, frac = ms % 1000;
		if (frac < 0) {
			frac += 1000;
			secs--;
		}
		time_t t = (time_t)secs;
		struct tm tm;
		char got[JSONW_TIME_LEN], ref[96];

		ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
		snprintf(ref, sizeof(ref), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec, (int)frac);
		ck_assert_int_eq(jsonw_time_format(ms, got), CD_EOK);
		ck_assert_str_eq(got, ref);
		ck_assert_uint_eq(strlen(got), JSONW_TIME_STRLEN);
	}
	char got[JSONW_TIME_LEN];
	ck_assert_int_eq(jsonw_time_format(-62167219200001LL, got), -ERANGE);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_document);
	tcase_add_test(tc, test_nesting_errors);
	tcase_add_test(tc, test_buffer_cap);
	tcase_add_test(tc, test_time_format);
	tcase_add_test(tc, test_escape_diff_sysmon);
	tcase_add_test(tc, test_escape_diff_random);
	tcase_add_test(tc, test_numbers_diff);
	/* The differential tests run a few CPU-seconds (more under the
	 * sanitizers) on a machine shared with other builds. */
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
