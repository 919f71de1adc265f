/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "buf.h"
#include "err.h"
#include "harness.h"
#include "zwriter.h"

START_TEST(test_codec_names)
{
	enum zwriter_codec c = ZWRITER_GZIP;

	ck_assert_int_eq(zwriter_codec_parse("zstd", &c), CD_EOK);
	ck_assert_int_eq(c, ZWRITER_ZSTD);
	ck_assert_int_eq(zwriter_codec_parse("gzip", &c), CD_EOK);
	ck_assert_int_eq(c, ZWRITER_GZIP);
	ck_assert_int_eq(zwriter_codec_parse("true", &c), CD_EOK);
	ck_assert_int_eq(c, ZWRITER_ZSTD);	/* the default */
	ck_assert_int_eq(zwriter_codec_parse("false", &c), CD_EOK);
	ck_assert_int_eq(c, ZWRITER_NONE);
	ck_assert_int_eq(zwriter_codec_parse("none", &c), CD_EOK);
	ck_assert_int_eq(c, ZWRITER_NONE);
	c = ZWRITER_GZIP;
	ck_assert_int_eq(zwriter_codec_parse("zlib", &c), -EINVAL);
	ck_assert_int_eq(zwriter_codec_parse("", &c), -EINVAL);
	ck_assert_int_eq(c, ZWRITER_GZIP);	/* untouched */
	ck_assert_str_eq(zwriter_suffix(ZWRITER_ZSTD), ".zst");
	ck_assert_str_eq(zwriter_suffix(ZWRITER_GZIP), ".gz");
	ck_assert_str_eq(zwriter_suffix(ZWRITER_NONE), "");

	struct zwriter *z = (struct zwriter *)&c;
	ck_assert_int_eq(zwriter_open(&z, 1, ZWRITER_NONE), -EINVAL);
	ck_assert_ptr_null(z);
	ck_assert_int_eq(zwriter_close(NULL), CD_EOK);
}
END_TEST

/* The decompressed content of path, by the codec's own library. */
static void
unpack(const char *path, enum zwriter_codec codec, struct buf *out)
{
	char chunk[8192];

	if (codec == ZWRITER_GZIP) {
		gzFile gz = gzopen(path, "rb");
		int n;
		ck_assert_ptr_nonnull(gz);
		ck_assert(gzdirect(gz) == 0);	/* really gzip */
		while ((n = gzread(gz, chunk, sizeof(chunk))) > 0)
			buf_append(out, chunk, (size_t)n);
		ck_assert_int_eq(n, 0);
		gzclose(gz);
		return;
	}
	size_t len = 0;
	char *data = harness_read_file(path, &len);
	ck_assert_ptr_nonnull(data);
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	ZSTD_inBuffer in = { data, len, 0 };
	size_t left = 1;
	while (in.pos < in.size) {
		ZSTD_outBuffer o = { chunk, sizeof(chunk), 0 };
		left = ZSTD_decompressStream(dc, &o, &in);
		ck_assert_msg(!ZSTD_isError(left), "%s", ZSTD_getErrorName(left));
		buf_append(out, chunk, o.pos);
	}
	ck_assert_uint_eq(left, 0);	/* the frame ends, checksum checked */
	ZSTD_freeDCtx(dc);
	free(data);
}

/*
 * Each codec: lines written in pieces of every size (none, one byte, more
 * than the writer's output buffer at once) come back exactly.
 */
START_TEST(test_round_trip)
{
	const enum zwriter_codec codec = _i == 0 ? ZWRITER_ZSTD : ZWRITER_GZIP;
	char *dir = harness_mkdtemp(), path[4096];
	struct buf in, out;
	struct zwriter *z;
	unsigned x = 12345;

	buf_init(&in, 0);
	buf_init(&out, 0);
	for (int i = 0; i < 20000; i++) {
		x = x * 1103515245 + 12345;
		buf_printf(&in, "{\"seq\":%d,\"host\":\"ws%05u.example\",\"v\":%u}\n",
		    i, (x >> 8) % 300, x);
	}
	snprintf(path, sizeof(path), "%s/f%s", dir, zwriter_suffix(codec));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(zwriter_open(&z, fd, codec), CD_EOK);
	ck_assert_int_eq(zwriter_write(z, in.data, 0), CD_EOK);
	ck_assert_int_eq(zwriter_write(z, in.data, 1), CD_EOK);
	size_t at = 1, step = 1;
	while (at < in.len) {
		size_t n = in.len - at < step ? in.len - at : step;
		ck_assert_int_eq(zwriter_write(z, in.data + at, n), CD_EOK);
		at += n;
		step = step * 7 + 3;
	}
	ck_assert_int_eq(zwriter_close(z), CD_EOK);
	ck_assert_int_eq(close(fd), 0);	/* the writer left it open */
	unpack(path, codec, &out);
	ck_assert_uint_eq(out.len, in.len);
	ck_assert_int_eq(memcmp(out.data, in.data, in.len), 0);
	buf_free(&in);
	buf_free(&out);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

/* A full disk: the error comes back (from a write or at the end), and the
 * writer is freed all the same (LSan in the sanitizer build). */
START_TEST(test_write_error)
{
	const enum zwriter_codec codec = _i == 0 ? ZWRITER_ZSTD : ZWRITER_GZIP;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	struct zwriter *z;
	char line[4096];
	int rc = CD_EOK;

	ck_assert_int_ge(fd, 0);
	memset(line, 'a', sizeof(line));
	ck_assert_int_eq(zwriter_open(&z, fd, codec), CD_EOK);
	for (int i = 0; i < 4 && rc == CD_EOK; i++)
		rc = zwriter_write(z, line, sizeof(line));
	int crc = zwriter_close(z);
	ck_assert_int_eq(rc == CD_EOK ? crc : rc, -ENOSPC);
	close(fd);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("zwriter");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_codec_names);
	tcase_add_loop_test(tc, test_round_trip, 0, 2);	/* zstd, gzip */
	tcase_add_loop_test(tc, test_write_error, 0, 2);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
