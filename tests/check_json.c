/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
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
	suite_add_tcase(s, tc);
	return harness_run(s);
}
