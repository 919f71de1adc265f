/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "harness.h"
#include "sldc.h"
#include "utf16.h"

static void
conv(const char *in, size_t len, const char *label, struct buf *out)
{
	buf_reset(out);
	ck_assert_int_eq(utf16_to_utf8((const uint8_t *)in, len, label, 0, out),
	    CD_EOK);
}

START_TEST(test_captured_messages)
{
	size_t blen, xlen, zlen;
	char *b = harness_read_data("wef/enumerate.utf16le.bin", &blen);
	char *x = harness_read_data("wef/enumerate.utf8.xml", &xlen);
	struct buf out;

	buf_init(&out, 0);
	/* The label says UTF-8 but the BOM wins. */
	conv(b, blen, "UTF-8", &out);
	ck_assert_uint_eq(out.len, xlen);
	ck_assert_mem_eq(out.data, x, xlen);
	free(b);
	free(x);

	/* Heartbeat: SLDC, then UTF-16. */
	char *z = harness_read_data("wef/heartbeat.sldc.bin", &zlen);
	x = harness_read_data("wef/heartbeat.utf8.xml", &xlen);
	struct buf plain;
	buf_init(&plain, 0);
	ck_assert_int_eq(sldc_decode_body((uint8_t *)z, zlen, 0, &plain, NULL),
	    CD_EOK);
	conv((char *)plain.data, plain.len, "UTF-16", &out);
	ck_assert_uint_eq(out.len, xlen);
	ck_assert_mem_eq(out.data, x, xlen);
	buf_free(&plain);
	free(z);
	free(x);
	buf_free(&out);
}
END_TEST

START_TEST(test_detection)
{
	struct buf out;
	size_t bom;

	buf_init(&out, 0);
	ck_assert_int_eq(utf16_detect((const uint8_t *)"\xfe\xff\0<", 4,
	    "UTF-16", &bom), UTF16_ENC_UTF16BE);
	ck_assert_uint_eq(bom, 2);
	ck_assert_int_eq(utf16_detect((const uint8_t *)"\xef\xbb\xbf<", 4,
	    "UTF-16", &bom), UTF16_ENC_UTF8);
	ck_assert_uint_eq(bom, 3);
	ck_assert_int_eq(utf16_detect((const uint8_t *)"<\0a\0", 4, NULL,
	    &bom), UTF16_ENC_UTF16LE);
	ck_assert_uint_eq(bom, 0);
	ck_assert_int_eq(utf16_detect((const uint8_t *)"\0<\0a", 4, NULL,
	    &bom), UTF16_ENC_UTF16BE);
	ck_assert_int_eq(utf16_detect((const uint8_t *)"<a", 2, "UTF-16",
	    &bom), UTF16_ENC_UTF8);
	/* No BOM, no '<': the label decides; UTF-16 means LE. */
	ck_assert_int_eq(utf16_detect((const uint8_t *)"A\0", 2, "\"utf-16\"",
	    &bom), UTF16_ENC_UTF16LE);
	ck_assert_int_eq(utf16_detect((const uint8_t *)"\0A", 2, "UTF-16BE",
	    &bom), UTF16_ENC_UTF16BE);
	ck_assert_int_eq(utf16_detect((const uint8_t *)"A\0", 2, NULL, &bom),
	    UTF16_ENC_UTF8);

	conv("\xfe\xff\0<\0a\0>", 8, NULL, &out);
	ck_assert_str_eq((char *)out.data, "<a>");
	conv("\xef\xbb\xbf<a/>", 7, "UTF-16", &out);
	ck_assert_str_eq((char *)out.data, "<a/>");
	conv("A\0B\0", 4, "UTF-16", &out);
	ck_assert_str_eq((char *)out.data, "AB");
	buf_free(&out);
}
END_TEST

START_TEST(test_surrogates_and_illegal)
{
	struct buf out;

	buf_init(&out, 0);
	/* U+1F600 as a pair; U+00E9. */
	conv("\xff\xfe<\0\x3d\xd8\x00\xde\xe9\x00", 10, NULL, &out);
	ck_assert_str_eq((char *)out.data, "<\xf0\x9f\x98\x80\xc3\xa9");
	/* Lone high surrogate before 'A', lone low surrogate at the end. */
	conv("\xff\xfe\x3d\xd8" "A\0\x00\xde", 8, NULL, &out);
	ck_assert_str_eq((char *)out.data,
	    "\xef\xbf\xbd" "A\xef\xbf\xbd");
	/* High surrogate as the very last unit. */
	conv("\xff\xfe" "A\0\x3d\xd8", 6, NULL, &out);
	ck_assert_str_eq((char *)out.data, "A\xef\xbf\xbd");
	/* U+0005 and U+FFFE are not XML Char; TAB, LF, CR are. */
	conv("\xff\xfe\x05\x00\t\0\n\0\r\0\xfe\xff", 12, NULL, &out);
	ck_assert_str_eq((char *)out.data,
	    "\xef\xbf\xbd\t\n\r\xef\xbf\xbd");
	/* A dangling odd byte. */
	conv("\xff\xfe" "A\0B", 5, NULL, &out);
	ck_assert_str_eq((char *)out.data, "A\xef\xbf\xbd");
	/* NUL is not XML Char either. */
	conv("\xff\xfe\0\0" "B\0", 6, NULL, &out);
	ck_assert_str_eq((char *)out.data, "\xef\xbf\xbd" "B");
	buf_free(&out);
}
END_TEST

START_TEST(test_sanitize_utf8)
{
	struct buf out;
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "plain <x>\t\n", "plain <x>\t\n" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "a\x05z", "a\xef\xbf\xbdz" },
		/* overlong '/' */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },
		/* encoded surrogate U+D800 */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		/* truncated sequence: one replacement */
		{ "x\xe2\x82", "x\xef\xbf\xbd" },
		{ "\xe2\x82" "x", "\xef\xbf\xbdx" },
		/* past U+10FFFF */
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		  "\xef\xbf\xbd" },
		/* U+FFFF (EF BF BF) is well-formed UTF-8 but not XML Char */
		{ "\xef\xbf\xbf", "\xef\xbf\xbd" },
	};

	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&out);
		ck_assert_int_eq(utf16_sanitize_utf8(
		    (const uint8_t *)cases[i].in, strlen(cases[i].in), 0, &out),
		    CD_EOK);
		ck_assert_msg(strcmp((char *)out.data, cases[i].want) == 0,
		    "case %zu", i);
	}
	/* Through utf16_to_utf8 as well (no BOM, '<' first). */
	conv("<a>\x05</a>", 8, NULL, &out);
	ck_assert_str_eq((char *)out.data, "<a>\xef\xbf\xbd</a>");
	buf_free(&out);
}
END_TEST

START_TEST(test_caps)
{
	struct buf out;

	buf_init(&out, 0);
	ck_assert_int_eq(utf16_to_utf8((const uint8_t *)"\xff\xfe" "A\0B\0C\0",
	    8, NULL, 2, &out), CD_ETOOBIG);
	buf_reset(&out);
	ck_assert_int_eq(utf16_to_utf8((const uint8_t *)"\xff\xfe" "A\0B\0C\0",
	    8, NULL, 3, &out), CD_EOK);
	ck_assert_str_eq((char *)out.data, "ABC");
	buf_reset(&out);
	ck_assert_int_eq(utf16_sanitize_utf8((const uint8_t *)"abcdef", 6, 5,
	    &out), CD_ETOOBIG);
	buf_free(&out);
}
END_TEST

START_TEST(test_to_utf16le)
{
	struct buf out, back;
	static const uint8_t want[] = { 0xff, 0xfe, '<', 0, 'a', 0, '>', 0,
	    0xe9, 0, 0x3d, 0xd8, 0x00, 0xde, 0xfd, 0xff };

	buf_init(&out, 0);
	ck_assert_int_eq(utf8_to_utf16le_bom("<a>\xc3\xa9\xf0\x9f\x98\x80\xff",
	    10, &out), CD_EOK);
	ck_assert_uint_eq(out.len, sizeof(want));
	ck_assert_mem_eq(out.data, want, sizeof(want));

	/* Round trip of a real batch (tabs and newlines survive). */
	size_t xlen;
	char *x = harness_read_data("wef/events.xml", &xlen);
	buf_reset(&out);
	ck_assert_int_eq(utf8_to_utf16le_bom(x, xlen, &out), CD_EOK);
	buf_init(&back, 0);
	ck_assert_int_eq(utf16_to_utf8(out.data, out.len, "UTF-16", 0, &back),
	    CD_EOK);
	ck_assert_uint_eq(back.len, xlen);
	ck_assert_mem_eq(back.data, x, xlen);
	free(x);
	buf_free(&back);

	/* The buffer cap is honoured. */
	struct buf small;
	buf_init(&small, 5);
	ck_assert_int_eq(utf8_to_utf16le_bom("abc", 3, &small), CD_ETOOBIG);
	buf_free(&small);
	buf_free(&out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("utf16");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_captured_messages);
	tcase_add_test(tc, test_detection);
	tcase_add_test(tc, test_surrogates_and_illegal);
	tcase_add_test(tc, test_sanitize_utf8);
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_to_utf16le);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
