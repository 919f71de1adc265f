/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "harness.h"
#include "output.h"
#include "output_file.h"
#include "output_sinks.h"

static int64_t fake_now_ms;

static int64_t
fake_now(void)
{
	return fake_now_ms;
}

/* Create a file sink from "key=value" settings; NULL-terminated. */
static int
sink_create(void **sink, char **errmsg, const char *const *settings)
{
	struct conf_kv kv[16];
	struct conf_output co = { .name = (char *)"file1", .type = (char *)"file", .kv = kv,
	    .line = 3 };
	char store[16][512];

	for (; settings[co.nkv] != NULL; co.nkv++) {
		snprintf(store[co.nkv], sizeof(store[co.nkv]), "%s", settings[co.nkv]);
		char *eq = strchr(store[co.nkv], '=');
		ck_assert_ptr_nonnull(eq);
		*eq = '\0';
		kv[co.nkv].key = store[co.nkv];
		kv[co.nkv].value = eq + 1;
		kv[co.nkv].line = 10 + (unsigned)co.nkv;
	}
	return output_file_ops.create(&co, sink, errmsg);
}

static void *
sink_new(const char *dir, const char *extra1, const char *extra2, const char *extra3)
{
	char path[4096];
	const char *s[5] = { path, extra1, extra2, extra3, NULL };
	void *sink = NULL;
	char *err = NULL;

	snprintf(path, sizeof(path), "path=%s/events.log", dir);
	ck_assert_int_eq(sink_create(&sink, &err, s), CD_EOK);
	ck_assert_ptr_null(err);
	return sink;
}

/* Send records "rec-<first>" .. "rec-<first+n-1>" (padded). */
static int
send_range(void *sink, int first, int n, size_t *delivered)
{
	struct output_msg msgs[64];
	char text[64][32];

	ck_assert_int_le(n, 64);
	for (int i = 0; i < n; i++) {
		snprintf(text[i], sizeof(text[i]), "{\"rec\":%05d}", first + i);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].data = text[i];
		msgs[i].len = strlen(text[i]);
		msgs[i].seq = (uint64_t)(first + i);
	}
	return output_file_ops.send(sink, msgs, (size_t)n, delivered);
}

static void
expect_records(struct buf *b, int first, int n)
{
	struct buf want;

	buf_init(&want, 0);
	for (int i = 0; i < n; i++)
		buf_printf(&want, "{\"rec\":%05d}\n", first + i);
	ck_assert_uint_eq(b->len, want.len);
	ck_assert_int_eq(memcmp(b->data, want.data, want.len), 0);
	buf_free(&want);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Names of rotated files in dir (sorted), and their count. */
static size_t
rotated(const char *dir, char names[][256], size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "events.log.", 11) == 0 && n < max)
			snprintf(names[n++], 256, "%.255s", de->d_name);
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	return n;
}

/* Append the zstd file to b: every frame decoded, its checksum checked. */
static void
read_zstd(const char *path, struct buf *b)
{
	char in[4096], out[16384];
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	FILE *fp = fopen(path, "rb");
	size_t n, last = 0;

	ck_assert_ptr_nonnull(dc);
	ck_assert_ptr_nonnull(fp);
	while ((n = fread(in, 1, sizeof(in), fp)) > 0) {
		ZSTD_inBuffer zi = { in, n, 0 };
		while (zi.pos < zi.size) {
			ZSTD_outBuffer zo = { out, sizeof(out), 0 };
			last = ZSTD_decompressStream(dc, &zo, &zi);
			ck_assert_msg(!ZSTD_isError(last), "%s: %s", path,
			    ZSTD_getErrorName(last));
			buf_append(b, out, zo.pos);
		}
	}
	/* 0: the last frame is complete (a cut file is not). */
	ck_assert_uint_eq(last, 0);
	fclose(fp);
	ZSTD_freeDCtx(dc);
}

/* Append the (possibly compressed) file to b. */
static void
read_any(const char *dir, const char *name, struct buf *b)
{
	char path[4096], chunk[4096];
	int n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (strlen(name) > 4 && strcmp(name + strlen(name) - 4, ".zst") == 0) {
		read_zstd(path, b);
		return;
	}
	gzFile gz = gzopen(path, "rb");	/* reads plain files too */
	ck_assert_ptr_nonnull(gz);
	while ((n = gzread(gz, chunk, sizeof(chunk))) > 0)
		buf_append(b, chunk, (size_t)n);
	ck_assert_int_ge(n, 0);
	gzclose(gz);
}

/* The file starts with the magic number of gzip (RFC 1952) or of a
 * zstd frame (RFC 8878), as its name says. */
static bool
is_compressed(const char *dir, const char *name)
{
	char path[4096];
	unsigned char m[4] = { 0 };
	size_t nl = strlen(name);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "rb");
	ck_assert_ptr_nonnull(fp);
	size_t n = fread(m, 1, 4, fp);
	fclose(fp);
	if (nl > 3 && strcmp(name + nl - 3, ".gz") == 0)
		return n >= 2 && m[0] == 0x1f && m[1] == 0x8b;
	if (nl > 4 && strcmp(name + nl - 4, ".zst") == 0)
		return n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f &&
		    m[3] == 0xfd;
	return false;
}

START_TEST(test_append)
{
	char *dir = harness_mkdtemp();
	void *sink = sink_new(dir, NULL, NULL, NULL);
	struct buf b;
	size_t got = 99;

	ck_assert_int_eq(send_range(sink, 0, 3, &got), CD_EOK);
	ck_assert_uint_eq(got, 3);
	ck_assert_int_eq(send_range(sink, 3, 2, &got), CD_EOK);
	ck_assert_uint_eq(got, 2);
	buf_init(&b, 0);
	read_any(dir, "events.log", &b);
	expect_records(&b, 0, 5);
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/events.log", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0640);	/* the default mode */
	buf_free(&b);
	output_file_ops.destroy(sink);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

/* Every record ends up in exactly one file, in order, none over the size. */
START_TEST(test_rotate_size)
{
	char *dir = harness_mkdtemp();
	/* 14 bytes per line: 7 records per 100-byte file. */
	void *sink = sink_new(dir, "rotate_bytes=100", "keep=0", NULL);
	char names[256][256];
	struct buf all;
	size_t got;

	output_file_set_clock(NULL);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(send_range(sink, i * 10, 10, &got), CD_EOK);
		ck_assert_uint_eq(got, 10);
	}
	output_file_settle(sink);
	size_t n = rotated(dir, names, 256);
	ck_assert_uint_eq(n, 7);	/* 50 records, 7 per file: 7 full + 1 current */
	buf_init(&all, 0);
	for (size_t i = 0; i < n; i++) {
		size_t before = all.len;
		/* zstd, the default. */
		ck_assert_msg(strstr(names[i], ".zst") != NULL, "%s not compressed", names[i]);
		ck_assert(is_compressed(dir, names[i]));
		read_any(dir, names[i], &all);
		ck_assert_uint_le(all.len - before, 100);
		ck_assert_uint_eq(all.len - before, 98);
	}
	read_any(dir, "events.log", &all);
	expect_records(&all, 0, 50);
	buf_free(&all);
	output_file_ops.destroy(sink);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

START_TEST(test_rotate_age)
{
	char *dir = harness_mkdtemp();
	char names[256][256];
	struct buf b;
	size_t got;

	fake_now_ms = 1700000000000LL;	/* 2023-11-14T22:13:20Z */
	output_file_set_clock(fake_now);
	void *sink = sink_new(dir, "rotate_seconds=3600", "compress=gzip", NULL);
	ck_assert_int_eq(send_range(sink, 0, 2, &got), CD_EOK);
	fake_now_ms += 3599 * 1000;
	ck_assert_int_eq(send_range(sink, 2, 1, &got), CD_EOK);
	output_file_settle(sink);
	ck_assert_uint_eq(rotated(dir, names, 256), 0);
	fake_now_ms += 1000;
	ck_assert_int_eq(send_range(sink, 3, 2, &got), CD_EOK);
	ck_assert_uint_eq(got, 2);
	output_file_settle(sink);
	ck_assert_uint_eq(rotated(dir, names, 256), 1);
	ck_assert_str_eq(names[0], "events.log.20231114T231320.000Z.gz");
	ck_assert(is_compressed(dir, names[0]));
	buf_init(&b, 0);
	read_any(dir, names[0], &b);
	expect_records(&b, 0, 3);
	buf_reset(&b);
	read_any(dir, "events.log", &b);
	expect_records(&b, 3, 2);
	output_file_ops.destroy(sink);
	output_file_set_clock(NULL);
	buf_free(&b);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

START_TEST(test_keep)
{
	char *dir = harness_mkdtemp();
	void *sink = sink_new(dir, "rotate_bytes=30", "keep=3", "compress=false");
	char names[256][256];
	struct buf b;
	size_t got;

	/* Two 14-byte records per file: 20 records make 9 rotated files. */
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(send_range(sink, i, 1, &got), CD_EOK);
	ck_assert_uint_eq(rotated(dir, names, 256), 3);
	buf_init(&b, 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_ptr_null(strstr(names[i], ".gz"));
		ck_assert_ptr_null(strstr(names[i], ".zst"));
		ck_assert(!is_compressed(dir, names[i]));
		read_any(dir, names[i], &b);
	}
	read_any(dir, "events.log", &b);
	expect_records(&b, 12, 8);	/* the newest three rotated files and the current */
	buf_free(&b);
	output_file_ops.destroy(sink);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

/*
 * Rotated files of 20 MB: their compression writes in paced steps and the
 * uncompressed file is removed a step at a time (both past one step's
 * size here), with each codec. Every record must be in the compressed
 * files, in order, and no uncompressed rotated file may be left behind.
 */
static void
big_record(char *out, size_t len, unsigned i)
{
	uint32_t x = 2166136261u ^ i;

	/* Pseudo-random letters, so the compressed file stays large. */
	int head = snprintf(out, len, "{\"big\":%06u,\"pad\":\"", i);
	for (size_t k = (size_t)head; k + 3 < len; k++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		out[k] = (char)('a' + x % 26);
	}
	memcpy(out + len - 3, "\"}", 3);
}

START_TEST(test_rotate_large)
{
	enum { REC = 65536, PER = 16, BATCHES = 42 };
	static const char *const codec[] = { "compress=zstd", "compress=gzip" };
	static const char *const suffix[] = { ".zst", ".gz" };
	char *dir = harness_mkdtemp();
	void *sink = sink_new(dir, "rotate_bytes=20000000", "keep=5", codec[_i]);
	char names[16][256];
	char *text = malloc((size_t)PER * REC);
	struct output_msg msgs[PER];
	struct buf all;
	size_t got;

	ck_assert_ptr_nonnull(text);
	/* 42 * 16 records of 64 KiB: 44 MB, so two rotations. */
	for (unsigned b = 0; b < BATCHES; b++) {
		for (unsigned i = 0; i < PER; i++) {
			big_record(text + (size_t)i * REC, REC, b * PER + i);
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].data = text + (size_t)i * REC;
			msgs[i].len = REC - 1;
			msgs[i].seq = b * PER + i;
		}
		ck_assert_int_eq(output_file_ops.send(sink, msgs, PER, &got), CD_EOK);
		ck_assert_uint_eq(got, PER);
	}
	output_file_settle(sink);
	size_t n = rotated(dir, names, 16);
	ck_assert_uint_eq(n, 2);
	buf_init(&all, 0);
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(strstr(names[i], suffix[_i]) != NULL, "%s left uncompressed",
		    names[i]);
		ck_assert(is_compressed(dir, names[i]));
		read_any(dir, names[i], &all);
	}
	read_any(dir, "events.log", &all);
	/* Every record once, in order. */
	ck_assert_uint_eq(all.len, (size_t)BATCHES * PER * REC);
	for (unsigned i = 0; i < BATCHES * PER; i++) {
		big_record(text, REC, i);
		text[REC - 1] = '\n';
		ck_assert_int_eq(memcmp((const char *)all.data + (size_t)i * REC, text, REC), 0);
	}
	buf_free(&all);
	free(text);
	output_file_ops.destroy(sink);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

/*
 * A rotated file left uncompressed (compression stopped by a shutdown, or
 * still running at the next rotation) is compressed by the next run, oldest
 * first, with its content intact.
 */
START_TEST(test_leftover_compressed)
{
	char *dir = harness_mkdtemp();
	char names[16][256], path[4096];
	struct buf b;
	size_t got;

	snprintf(path, sizeof(path), "%s/events.log.20231114T231320.000Z", dir);
	FILE *fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("{\"rec\":00000}\n{\"rec\":00001}\n", fp);
	fclose(fp);
	void *sink = sink_new(dir, "rotate_bytes=30", NULL, NULL);
	/* Two 14-byte records per file: the fifth rotates the second file. */
	for (int i = 2; i < 7; i++)
		ck_assert_int_eq(send_range(sink, i, 1, &got), CD_EOK);
	output_file_settle(sink);
	ck_assert_uint_eq(rotated(dir, names, 16), 3);
	buf_init(&b, 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(strstr(names[i], ".zst") != NULL, "%s left uncompressed", names[i]);
		ck_assert(is_compressed(dir, names[i]));
		read_any(dir, names[i], &b);
	}
	ck_assert_str_eq(names[0], "events.log.20231114T231320.000Z.zst");
	read_any(dir, "events.log", &b);
	expect_records(&b, 0, 7);
	buf_free(&b);
	output_file_ops.destroy(sink);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

/*
 * A site switches codecs (gzip before, zstd now): the .gz files of the
 * earlier run are neither compressed again nor forgotten; keep counts the
 * rotated files of both suffixes, newest first, and every kept record is
 * still there.
 */
START_TEST(test_codec_switch)
{
	char *dir = harness_mkdtemp();
	char names[16][256];
	struct buf b;
	size_t got;

	fake_now_ms = 1700000000000LL;
	output_file_set_clock(fake_now);
	/* Two 14-byte records per file: records 0-1 and 2-3 rotated. */
	void *sink = sink_new(dir, "rotate_bytes=30", "compress=gzip", NULL);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(send_range(sink, i, 1, &got), CD_EOK);
	output_file_settle(sink);
	output_file_ops.destroy(sink);
	ck_assert_uint_eq(rotated(dir, names, 16), 2);
	ck_assert_ptr_nonnull(strstr(names[1], ".gz"));

	fake_now_ms += 60000;
	sink = sink_new(dir, "rotate_bytes=30", "keep=3", NULL);
	/* 4-5 and 6-7 rotated (zstd), 8 in the current file. */
	for (int i = 5; i < 9; i++)
		ck_assert_int_eq(send_range(sink, i, 1, &got), CD_EOK);
	output_file_settle(sink);
	ck_assert_uint_eq(rotated(dir, names, 16), 3);
	ck_assert_str_eq(names[0], "events.log.20231114T221320.001Z.gz");
	ck_assert_str_eq(names[1], "events.log.20231114T221420.000Z.zst");
	ck_assert_str_eq(names[2], "events.log.20231114T221420.001Z.zst");
	buf_init(&b, 0);
	for (int i = 0; i < 3; i++) {
		ck_assert(is_compressed(dir, names[i]));
		read_any(dir, names[i], &b);
	}
	read_any(dir, "events.log", &b);
	expect_records(&b, 2, 7);	/* the oldest file went by keep */
	buf_free(&b);
	output_file_ops.destroy(sink);
	output_file_set_clock(NULL);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

/* logrotate moves the file away, then SIGHUP: a new file at the path. */
START_TEST(test_reopen)
{
	char *dir = harness_mkdtemp();
	void *sink = sink_new(dir, NULL, NULL, NULL);
	char from[4096], to[4096];
	struct buf b;
	size_t got;

	ck_assert_int_eq(send_range(sink, 0, 2, &got), CD_EOK);
	snprintf(from, sizeof(from), "%s/events.log", dir);
	snprintf(to, sizeof(to), "%s/moved.log", dir);
	ck_assert_int_eq(rename(from, to), 0);
	ck_assert_int_eq(send_range(sink, 2, 1, &got), CD_EOK);	/* still the old file */
	output_file_ops.reopen(sink);
	ck_assert_int_eq(send_range(sink, 3, 2, &got), CD_EOK);
	buf_init(&b, 0);
	read_any(dir, "moved.log", &b);
	expect_records(&b, 0, 3);
	buf_reset(&b);
	read_any(dir, "events.log", &b);
	expect_records(&b, 3, 2);
	buf_free(&b);
	output_file_ops.destroy(sink);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

START_TEST(test_unwritable)
{
	char *dir = harness_mkdtemp();
	char path[4096], sub[4096];
	const char *s[2] = { path, NULL };
	void *sink = NULL;
	char *err = NULL;
	size_t got = 99;

	/* A directory that does not exist. */
	snprintf(path, sizeof(path), "path=%s/missing/events.log", dir);
	ck_assert_int_eq(sink_create(&sink, &err, s), CD_EOK);
	ck_assert_int_eq(send_range(sink, 0, 2, &got), -ENOENT);
	ck_assert_uint_eq(got, 0);
	output_file_ops.destroy(sink);
	/* The path is a directory. */
	snprintf(sub, sizeof(sub), "%.4000s/adir", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "path=%.4000s", sub);
	ck_assert_int_eq(sink_create(&sink, &err, s), CD_EOK);
	ck_assert_int_eq(send_range(sink, 0, 2, &got), -EISDIR);
	ck_assert_uint_eq(got, 0);
	/* Once it can be written, the same sink delivers. */
	ck_assert_int_eq(rmdir(sub), 0);
	ck_assert_int_eq(send_range(sink, 0, 2, &got), CD_EOK);
	ck_assert_uint_eq(got, 2);
	output_file_ops.destroy(sink);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

/* A write cut short (here by the file size limit): the torn record is
 * removed, and the records before it are reported delivered. */
START_TEST(test_partial_write)
{
	char *dir = harness_mkdtemp();
	void *sink = sink_new(dir, NULL, NULL, NULL);
	struct rlimit rl = { 50, 50 };
	struct buf b;
	size_t got = 99;

	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	ck_assert_int_eq(send_range(sink, 0, 5, &got), -EFBIG);
	ck_assert_uint_eq(got, 3);	/* 3 * 14 = 42 bytes fit, the 4th is torn */
	buf_init(&b, 0);
	read_any(dir, "events.log", &b);
	expect_records(&b, 0, 3);
	buf_free(&b);
	output_file_ops.destroy(sink);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

START_TEST(test_config)
{
	void *sink = NULL;
	char *err = NULL;
	const char *none[] = { "compress=true", NULL };
	const char *bad[] = { "path=/tmp/x", "compress=maybe", "colour=blue", "mode=999", NULL };
	const char *common[] = { "path=/tmp/x", "format=ecs", "batch=10", NULL };

	ck_assert_int_eq(sink_create(&sink, &err, none), CD_ECONFIG);
	ck_assert_ptr_null(sink);
	ck_assert_ptr_nonnull(strstr(err, "path is required"));
	ck_assert_ptr_nonnull(strstr(err, ":3:"));
	free(err);
	err = NULL;
	ck_assert_int_eq(sink_create(&sink, &err, bad), CD_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, ":11: output \"file1\": compress"));
	ck_assert_ptr_nonnull(strstr(err, ":12: output \"file1\": unknown setting \"colour\""));
	ck_assert_ptr_nonnull(strstr(err, ":13: output \"file1\": mode"));
	free(err);
	err = NULL;
	/* Settings every output takes are not the sink's business. */
	ck_assert_int_eq(sink_create(&sink, &err, common), CD_EOK);
	ck_assert_ptr_null(err);
	output_file_ops.destroy(sink);
	output_file_ops.destroy(NULL);
	ck_assert_ptr_eq(output_sink_find("file"), &output_file_ops);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("output_file");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_append);
	tcase_add_test(tc, test_rotate_size);
	tcase_add_test(tc, test_rotate_age);
	tcase_add_test(tc, test_keep);
	tcase_add_loop_test(tc, test_rotate_large, 0, 2);	/* zstd, gzip */
	tcase_add_test(tc, test_leftover_compressed);
	tcase_add_test(tc, test_codec_switch);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_unwritable);
	tcase_add_test(tc, test_partial_write);
	tcase_add_test(tc, test_config);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
