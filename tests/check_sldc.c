/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "harness.h"
#include "sldc.h"

/* A tiny MSB-first bit writer to build hand-made SLDC streams. */
struct bw {
	uint8_t	b[64];
	size_t	n;	/* bits written */
};

static void
bw_put(struct bw *w, unsigned nbits, uint32_t v)
{
	for (unsigned i = nbits; i-- > 0;) {
		if ((v >> i) & 1)
			w->b[w->n >> 3] |= (uint8_t)(0x80 >> (w->n & 7));
		w->n++;
	}
}

static void
bw_ctl(struct bw *w, unsigned code)
{
	bw_put(w, 9, 0x1ff);
	bw_put(w, 4, code);
}

static size_t
bw_len(const struct bw *w)
{
	return (w->n + 7) / 8;
}

START_TEST(test_heartbeat_exact)
{
	size_t zlen, xlen;
	char *z = harness_read_data("wef/heartbeat.sldc.bin", &zlen);
	char *x = harness_read_data("wef/heartbeat.sldc.decompressed.bin",
	    &xlen);
	struct buf out;
	bool comp = false;

	ck_assert_uint_eq(zlen, 1006);
	ck_assert_uint_eq(xlen, 3042);
	buf_init(&out, 0);
	ck_assert_int_eq(sldc_decompress((uint8_t *)z, zlen, 0, &out), CD_EOK);
	ck_assert_uint_eq(out.len, xlen);
	ck_assert_mem_eq(out.data, x, xlen);

	/* The body path accepts it too (BOM, matching length trailer). */
	ck_assert_int_eq(sldc_decode_body((uint8_t *)z, zlen, 512000, &out,
	    &comp), CD_EOK);
	ck_assert(comp);
	ck_assert_uint_eq(out.len, xlen);
	ck_assert_mem_eq(out.data, x, xlen);
	buf_free(&out);
	free(z);
	free(x);
}
END_TEST

START_TEST(test_scheme2_test_string)
{
	size_t zlen, xlen;
	char *z = harness_read_data("wef/sldc-test-string.sldc.bin", &zlen);
	char *x = harness_read_data("wef/sldc-test-string.decompressed.bin",
	    &xlen);
	struct buf out;

	buf_init(&out, 0);
	ck_assert_int_eq(sldc_decompress((uint8_t *)z, zlen, 0, &out), CD_EOK);
	ck_assert_uint_eq(out.len, 11);
	ck_assert_mem_eq(out.data, x, xlen);
	ck_assert_str_eq((char *)out.data, "test string");
	buf_free(&out);
	free(z);
	free(x);
}
END_TEST

START_TEST(test_raw_utf16_labelled_sldc)
{
	size_t len;
	char *raw = harness_read_data("wef/enumerate.utf16le.bin", &len);
	struct buf out;
	bool comp = true;

	buf_init(&out, 0);
	/* FF FE decodes as a control symbol then End-Marker: empty output. */
	ck_assert_int_eq(sldc_decompress((uint8_t *)raw, len, 0, &out),
	    CD_EOK);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_int_eq(sldc_decode_body((uint8_t *)raw, len, 0, &out, &comp),
	    CD_EOK);
	ck_assert(!comp);
	ck_assert_uint_eq(out.len, len);
	ck_assert_mem_eq(out.data, raw, len);

	/* Plain UTF-8 XML labelled SLDC: raw too. */
	const char *x = "<s:Envelope/>";
	ck_assert_int_eq(sldc_decode_body((const uint8_t *)x, strlen(x), 0,
	    &out, &comp), CD_EOK);
	ck_assert(!comp);
	ck_assert_str_eq((char *)out.data, x);
	buf_free(&out);
	free(raw);
}
END_TEST

START_TEST(test_truncated)
{
	size_t zlen;
	char *z = harness_read_data("wef/heartbeat.sldc.bin", &zlen);
	struct buf out;
	bool comp = true;

	buf_init(&out, 0);
	ck_assert_int_eq(sldc_decompress((uint8_t *)z, 500, 0, &out),
	    CD_EPARSE);
	buf_reset(&out);
	ck_assert_int_eq(sldc_decompress((uint8_t *)z, 1, 0, &out), CD_EPARSE);
	buf_reset(&out);
	ck_assert_int_eq(sldc_decompress((uint8_t *)z, 0, 0, &out), CD_EPARSE);
	/* Undecodable as SLDC: the body path hands back the raw bytes. */
	ck_assert_int_eq(sldc_decode_body((uint8_t *)z, 500, 0, &out, &comp),
	    CD_EOK);
	ck_assert(!comp);
	ck_assert_uint_eq(out.len, 500);
	ck_assert_mem_eq(out.data, z, 500);
	buf_free(&out);
	free(z);
}
END_TEST

START_TEST(test_trailer_mismatch)
{
	size_t zlen;
	char *z = harness_read_data("wef/heartbeat.sldc.bin", &zlen);
	struct buf out;
	bool comp = true;

	/* e2 0b 00 00 = 3042; claim 3043 instead. */
	ck_assert_int_eq((uint8_t)z[zlen - 4], 0xe2);
	z[zlen - 4] = (char)0xe3;
	buf_init(&out, 0);
	ck_assert_int_eq(sldc_decode_body((uint8_t *)z, zlen, 0, &out, &comp),
	    CD_EOK);
	ck_assert(!comp);
	ck_assert_uint_eq(out.len, zlen);
	/* sldc_decompress itself ignores what follows End-of-Record. */
	buf_reset(&out);
	ck_assert_int_eq(sldc_decompress((uint8_t *)z, zlen, 0, &out), CD_EOK);
	ck_assert_uint_eq(out.len, 3042);
	buf_free(&out);
	free(z);
}
END_TEST

START_TEST(test_caps)
{
	size_t zlen;
	char *z = harness_read_data("wef/heartbeat.sldc.bin", &zlen);
	struct buf out;
	bool comp = true;

	buf_init(&out, 0);
	ck_assert_int_eq(sldc_decompress((uint8_t *)z, zlen, 3041, &out),
	    CD_ETOOBIG);
	buf_reset(&out);
	ck_assert_int_eq(sldc_decompress((uint8_t *)z, zlen, 3042, &out),
	    CD_EOK);
	/* A real compressed body past the cap is refused, not passed raw. */
	ck_assert_int_eq(sldc_decode_body((uint8_t *)z, zlen, 2000, &out,
	    &comp), CD_ETOOBIG);
	ck_assert(!comp);
	buf_free(&out);

	/* The buffer's own cap applies as well. */
	buf_init(&out, 100);
	ck_assert_int_eq(sldc_decompress((uint8_t *)z, zlen, 0, &out),
	    CD_ETOOBIG);
	buf_free(&out);
	free(z);
}
END_TEST

START_TEST(test_handmade_streams)
{
	struct bw w;
	struct buf out;

	/* Scheme 1: literals "abc", then a 2-byte copy from position 0. */
	memset(&w, 0, sizeof(w));
	bw_ctl(&w, 0x5);
	bw_put(&w, 9, 'a');
	bw_put(&w, 9, 'b');
	bw_put(&w, 9, 'c');
	bw_put(&w, 3, 0x4);	/* 1, count class 0x: 2 */
	bw_put(&w, 10, 0);
	/* 1 1110 0001: count 17, from position 1 (overlapping copy). */
	bw_put(&w, 9, 0x1e1);
	bw_put(&w, 10, 1);
	bw_ctl(&w, 0x4);
	buf_init(&out, 0);
	ck_assert_int_eq(sldc_decompress(w.b, bw_len(&w), 0, &out), CD_EOK);
	ck_assert_str_eq((char *)out.data, "abcabbcabbcabbcabbcabb");

	/* Scheme 2 with a 0xff byte (followed by one 0 bit). */
	memset(&w, 0, sizeof(w));
	bw_ctl(&w, 0x6);
	bw_put(&w, 8, 0xff);
	bw_put(&w, 1, 0);
	bw_put(&w, 8, 'A');
	bw_ctl(&w, 0x1);	/* switch to scheme 1, history kept */
	bw_put(&w, 3, 0x4);
	bw_put(&w, 10, 0);
	bw_ctl(&w, 0x4);
	buf_reset(&out);
	ck_assert_int_eq(sldc_decompress(w.b, bw_len(&w), 0, &out), CD_EOK);
	ck_assert_uint_eq(out.len, 4);
	ck_assert_mem_eq(out.data, "\xff" "A\xff" "A", 4);

	/* A copy from history never written is garbage. */
	memset(&w, 0, sizeof(w));
	bw_ctl(&w, 0x5);
	bw_put(&w, 9, 'a');
	bw_put(&w, 3, 0x4);
	bw_put(&w, 10, 5);
	bw_ctl(&w, 0x4);
	buf_reset(&out);
	ck_assert_int_eq(sldc_decompress(w.b, bw_len(&w), 0, &out), CD_EPARSE);

	/* Reserved control code and data before any Reset are errors. */
	memset(&w, 0, sizeof(w));
	bw_ctl(&w, 0x9);
	buf_reset(&out);
	ck_assert_int_eq(sldc_decompress(w.b, bw_len(&w), 0, &out), CD_EPARSE);
	memset(&w, 0, sizeof(w));
	bw_put(&w, 9, 'a');
	bw_ctl(&w, 0x4);
	buf_reset(&out);
	ck_assert_int_eq(sldc_decompress(w.b, bw_len(&w), 0, &out), CD_EPARSE);
	buf_free(&out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sldc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_heartbeat_exact);
	tcase_add_test(tc, test_scheme2_test_string);
	tcase_add_test(tc, test_raw_utf16_labelled_sldc);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_trailer_mismatch);
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_handmade_streams);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
