/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/*
 * Differential check of utf16_to_utf8() (one-pass UTF-16LE decoder)
 * against utf16_to_utf8_careful(), the per-character reference: same
 * return code and the same bytes appended, also when the call stops with
 * CD_ETOOBIG. Both start from a buffer holding the same prefix (appending
 * must not assume an empty buffer) and with the same hard cap bmax.
 * Returns the careful path's output length past the prefix.
 */
static size_t
diff_one(const uint8_t *in, size_t len, const char *label, size_t max_out,
    size_t bmax, const char *prefix, const char *what)
{
	struct buf a, b;
	size_t plen = prefix != NULL ? strlen(prefix) : 0, n;
	int ra, rb;

	buf_init(&a, bmax);
	buf_init(&b, bmax);
	if (plen > 0) {
		ck_assert_int_eq(buf_append(&a, prefix, plen), CD_EOK);
		ck_assert_int_eq(buf_append(&b, prefix, plen), CD_EOK);
	}
	ra = utf16_to_utf8(in, len, label, max_out, &a);
	rb = utf16_to_utf8_careful(in, len, label, max_out, &b);
	ck_assert_msg(ra == rb, "%s: rc %d, careful %d (len %zu, max_out %zu, "
	    "bmax %zu)", what, ra, rb, len, max_out, bmax);
	ck_assert_msg(a.len == b.len, "%s: %zu bytes, careful %zu (len %zu, "
	    "max_out %zu, bmax %zu)", what, a.len, b.len, len, max_out, bmax);
	if (a.len > 0)
		ck_assert_msg(memcmp(a.data, b.data, a.len) == 0,
		    "%s: output differs (len %zu, max_out %zu)", what, len,
		    max_out);
	/* The fast path keeps the buffer a C string. */
	if (a.data != NULL)
		ck_assert_uint_eq(a.data[a.len], 0);
	n = b.len - plen;
	buf_free(&a);
	buf_free(&b);
	return n;
}

/* Both paths on in, and on in cut short by max_out and by the buffer's cap
 * at and around every interesting length. */
static void
diff_edges(const uint8_t *in, size_t len, const char *label, const char *what)
{
	size_t full = diff_one(in, len, label, 0, 0, NULL, what);
	static const size_t back[] = { 0, 1, 2, 3, 4 };
	/* Each cut costs two whole conversions: fewer on big files (the
	 * Sysmon sets), which take seconds under the sanitizers. */
	bool big = full > 65536;

	diff_one(in, len, label, 0, 0, "pre<", what);
	for (size_t i = 0; i < sizeof(back) / sizeof(back[0]); i++) {
		if (back[i] >= full)
			break;
		if (big && back[i] != 1 && back[i] != 3)
			continue;
		diff_one(in, len, label, full - back[i], 0, NULL, what);
		if (big && back[i] != 1)
			continue;
		diff_one(in, len, label, 0, full - back[i], NULL, what);
		diff_one(in, len, label, 0, full - back[i] + 4, "pre<", what);
	}
	if (full > 1) {
		diff_one(in, len, label, full / 2, 0, NULL, what);
		diff_one(in, len, label, 1, 0, NULL, what);
	}
	diff_one(in, len, label, full + 1, 0, NULL, what);
}

static size_t diff_files;

/* Every file under tests/data as it is, and converted to UTF-16LE with and
 * without BOM (the Sysmon events, the WEF captures in UTF-8, the JSON). */
static int
diff_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct buf wide;
	size_t len;
	char *data;

	(void)st;
	(void)ftw;
	if (type != FTW_F)
		return 0;
	data = harness_read_file(path, &len);
	ck_assert_msg(data != NULL, "cannot read %s", path);
	diff_edges((const uint8_t *)data, len, "UTF-16", path);
	buf_init(&wide, 0);
	ck_assert_int_eq(utf8_to_utf16le_bom(data, len, &wide), CD_EOK);
	diff_edges(wide.data, wide.len, NULL, path);
	diff_edges(wide.data + 2, wide.len - 2, "UTF-16", path);
	buf_free(&wide);
	free(data);
	diff_files++;
	return 0;
}

START_TEST(test_diff_test_data)
{
	size_t n;
	char *b = harness_read_data("wef/reconstructed/events.utf16le.bin",
	    &n);
	struct buf out;

	/* The real Events batch: the fast path gives the careful result. */
	buf_init(&out, 0);
	ck_assert_int_eq(utf16_to_utf8((const uint8_t *)b, n, "UTF-16", 0,
	    &out), CD_EOK);
	ck_assert_uint_gt(out.len, n / 3);
	buf_free(&out);
	free(b);

	diff_files = 0;
	ck_assert_int_eq(nftw(harness_data_path("."), diff_file, 16,
	    FTW_PHYS), 0);
	/* All of tests/data was walked (about 120 files today). */
	ck_assert_uint_ge(diff_files, 100);
}
END_TEST

/* xorshift64*: reproducible random inputs without libc state. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* A random code unit, biased toward ASCII and the boundaries. */
static uint32_t
rnd_unit(uint64_t *s)
{
	static const uint16_t edge[] = { 0x0, 0x9, 0xa, 0xd, 0x1f, 0x20, 0x7f,
	    0x80, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff,
	    0xe000, 0xfffd, 0xfffe, 0xffff, 0xfeff, 0x3c, 0x5c0, 0x3a00 };
	uint32_t r = (uint32_t)(rnd(s) % 100);

	if (r < 60)
		return 0x20 + (uint32_t)(rnd(s) % 0x60);
	if (r < 68)
		return "\t\n\r"[rnd(s) % 3];
	if (r < 72)
		return (uint32_t)(rnd(s) % 0x20);
	if (r < 78)
		return 0x80 + (uint32_t)(rnd(s) % 0x780);
	if (r < 84)
		return (uint32_t)(rnd(s) % 0x10000);
	if (r < 90)
		return 0xd800 + (uint32_t)(rnd(s) % 0x800);
	return edge[rnd(s) % (sizeof(edge) / sizeof(edge[0]))];
}

START_TEST(test_diff_random)
{
	static const char *const labels[] = { "UTF-16", NULL, "UTF-16LE" };
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	size_t n, cap = 4096;
	char *real = harness_read_data("wef/reconstructed/events.utf16le.bin",
	    &n);
	uint8_t *in = malloc(cap + 8);
	struct buf out;

	ck_assert_ptr_nonnull(in);
	buf_init(&out, 0);
	for (unsigned iter = 0; iter < 120000; iter++) {
		size_t len = 0, units, full, max_out = 0, bmax = 0;
		const char *label = labels[iter % 3];

		if (iter % 4 == 3) {
			/* A mutated slice of the real batch. */
			size_t off = (size_t)(rnd(&seed) % n);
			len = (size_t)(rnd(&seed) % 1024);
			if (len > n - off)
				len = n - off;
			memcpy(in, real + off, len);
			for (unsigned k = rnd(&seed) % 6; k > 0 && len > 0; k--)
				in[rnd(&seed) % len] = (uint8_t)rnd(&seed);
		} else {
			if (label == NULL) {
				in[len++] = 0xff;
				in[len++] = 0xfe;
			}
			units = (size_t)(rnd(&seed) %
			    (iter % 50 == 0 ? 2000 : 64));
			for (size_t k = 0; k < units; k++) {
				uint32_t u = rnd_unit(&seed);
				in[len++] = (uint8_t)u;
				in[len++] = (uint8_t)(u >> 8);
			}
			if (rnd(&seed) % 8 == 0)
				in[len++] = (uint8_t)rnd(&seed);
		}
		/* Sometimes without BOM but with '<' first: detected LE. */
		if (label != NULL && len >= 2 && rnd(&seed) % 4 == 0) {
			in[0] = '<';
			in[1] = 0;
		}
		buf_reset(&out);
		ck_assert_int_eq(utf16_to_utf8_careful(in, len, label, 0,
		    &out), CD_EOK);
		full = out.len;
		switch (rnd(&seed) % 4) {
		case 0:
			max_out = full == 0 ? 1 : 1 + (size_t)(rnd(&seed) %
			    (full + 4));
			break;
		case 1:
			bmax = 1 + (size_t)(rnd(&seed) % (full + 4));
			break;
		default:
			break;
		}
		diff_one(in, len, label, max_out, bmax,
		    iter % 7 == 0 ? "x" : NULL, "random");
	}
	buf_free(&out);
	free(in);
	free(real);
}
END_TEST

START_TEST(test_fast_path_edges)
{
	struct buf out;

	buf_init(&out, 0);
	/* ASCII runs of every length around the eight-unit step, with a
	 * control character, a two-byte and a supplementary character at
	 * every position. */
	for (size_t n = 0; n < 36; n++) {
		for (size_t at = 0; at <= n; at++) {
			static const uint16_t odd[] = { 0x1, 0x9, 0x7f, 0x80,
			    0xe9, 0xd83d, 0xdc00, 0xfffe, 0x20ac };
			for (size_t o = 0; o < sizeof(odd) / sizeof(odd[0]);
			    o++) {
				uint8_t in[96];
				size_t len = 0;

				for (size_t k = 0; k <= n; k++) {
					uint16_t u = k == at ? odd[o] :
					    (uint16_t)('a' + k);
					in[len++] = (uint8_t)u;
					in[len++] = (uint8_t)(u >> 8);
					if (k == at && odd[o] == 0xd83d) {
						in[len++] = 0x00;
						in[len++] = 0xde;
					}
				}
				diff_edges(in, len, "UTF-16", "edges");
				in[len++] = 'z';
				diff_edges(in, len, "UTF-16", "edges odd");
			}
		}
	}
	/* Exactly the old fast path's cases: all printable, in one go. */
	conv("\xff\xfe" "a\0b\0c\0d\0e\0f\0g\0h\0i\0", 20, NULL, &out);
	ck_assert_str_eq((char *)out.data, "abcdefghi");
	conv("\xff\xfe", 2, NULL, &out);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_str_eq((char *)out.data, "");
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
	tcase_add_test(tc, test_fast_path_edges);
	tcase_add_test(tc, test_diff_test_data);
	tcase_add_test(tc, test_diff_random);
	/* 120,000 random inputs take seconds under the sanitizers. */
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
