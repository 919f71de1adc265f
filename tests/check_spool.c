/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "be.h"
#include "err.h"
#include "harness.h"
#include "spool.h"
#include "store.h"

/* The spool's entries: one per writer job (a pack of records), records
 * found by number inside them, entries of one record from older stores
 * read alike, and an unreadable entry skipped without losing the others. */

struct job {
	int	 n;		/* records to append */
	int	 data_len;	/* bytes of data each */
	uint64_t first;		/* seq of the first, after the run */
};

static int
job_apply(struct store_txn *txn, void *arg)
{
	struct job *j = arg;
	struct spool_writer w;
	char data[5000];
	int rc;

	if ((rc = spool_writer_begin(txn, &w)) != CD_EOK)
		return rc;
	for (int i = 0; i < j->n && rc == CD_EOK; i++) {
		struct spool_rec r = {
			.type = i % 2 ? SPOOL_ALERT : SPOOL_EVENT,
			.flags = (uint8_t)i,
			.received_ms = 1000 + i,
			.source = "src", .host = "h.example", .subscription = "sub",
		};
		memset(data, 'a' + i % 26, sizeof(data));
		snprintf(data, sizeof(data), "rec %d", i);
		r.data = data;
		r.data_len = (size_t)j->data_len;
		rc = spool_writer_append(txn, &w, &r);
		if (i == 0)
			j->first = r.seq;
	}
	if (rc == CD_EOK)
		return spool_writer_end(txn, &w);
	spool_writer_abandon(&w);
	return rc;
}

static uint64_t
append(int n, int data_len)
{
	struct job j = { n, data_len, 0 };

	ck_assert_int_eq(store_run(harness_store, job_apply, &j), CD_EOK);
	return j.first;
}

/* Read every record from seq on; returns how many, checks they are
 * consecutive from seq and carry what job_apply wrote. */
static int
read_from(uint64_t seq, uint64_t *last)
{
	struct store_txn *txn;
	struct spool_iter it;
	struct spool_rec r;
	int n = 0, rc;

	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	ck_assert_int_eq(spool_iter_open(txn, &it), CD_EOK);
	ck_assert_int_eq(spool_iter_seek(&it, seq), CD_EOK);
	while ((rc = spool_iter_next(&it, &r, NULL)) == CD_EOK) {
		ck_assert_uint_eq(r.seq, (seq > 0 ? seq : 1) + (uint64_t)n);
		ck_assert_str_eq(r.host, "h.example");
		ck_assert_str_eq(r.source, "src");
		ck_assert_str_eq(r.subscription, "sub");
		ck_assert(r.data_len >= 5 && memcmp(r.data, "rec ", 4) == 0);
		*last = r.seq;
		n++;
	}
	ck_assert_int_eq(rc, CD_ENOTFOUND);
	spool_iter_close(&it);
	store_read_end(txn);
	return n;
}

static uint64_t
entries(void)
{
	return harness_store_count(STORE_DBI_SPOOL);
}

START_TEST(test_pack_per_job)
{
	uint64_t last = 0;

	ck_assert_uint_eq(append(100, 1600), 1);
	ck_assert_uint_eq(append(3, 3000), 101);
	ck_assert_uint_eq(append(1, 10), 104);
	/* Three jobs, three entries, 104 records. */
	ck_assert_uint_eq(entries(), 3);
	ck_assert_int_eq(read_from(1, &last), 104);
	ck_assert_uint_eq(last, 104);
	/* From inside a pack, at a pack's start, past the end. */
	ck_assert_int_eq(read_from(57, &last), 48);
	ck_assert_int_eq(read_from(101, &last), 4);
	ck_assert_int_eq(read_from(103, &last), 2);
	ck_assert_int_eq(read_from(104, &last), 1);
	ck_assert_int_eq(read_from(105, &last), 0);
	ck_assert_int_eq(read_from(0, &last), 104);
}
END_TEST

START_TEST(test_empty_job_writes_nothing)
{
	uint64_t last = 0;

	append(0, 0);
	ck_assert_uint_eq(entries(), 0);
	ck_assert_int_eq(read_from(1, &last), 0);
	ck_assert_uint_eq(append(2, 10), 1);
}
END_TEST

/* An entry as stores before the packs wrote it: one record, its own key. */
static int
put_single_apply(struct store_txn *txn, void *arg)
{
	uint64_t seq = *(uint64_t *)arg;
	uint8_t key[8], val[64], *p = val, next[8];

	be64_put(key, seq);
	*p++ = 1;		/* version 1 */
	*p++ = SPOOL_EVENT;
	*p++ = 0;
	be64_put(p, 77);
	p += 8;
	memcpy(p, "src\0h.example\0sub\0rec old", 26);
	p += 26;
	be64_put(next, seq + 1);
	int rc = store_put(txn, STORE_DBI_SPOOL, key, sizeof(key), val, (size_t)(p - val));
	if (rc == CD_EOK)
		rc = store_put(txn, STORE_DBI_META, "spool_next", 10, next, sizeof(next));
	return rc;
}

START_TEST(test_old_entries_read)
{
	uint64_t last = 0;

	for (uint64_t s = 1; s <= 3; s++)
		ck_assert_int_eq(store_run(harness_store, put_single_apply, &s), CD_EOK);
	ck_assert_uint_eq(append(10, 100), 4);
	ck_assert_int_eq(read_from(1, &last), 13);
	ck_assert_int_eq(read_from(2, &last), 12);
	ck_assert_int_eq(read_from(8, &last), 6);
	ck_assert_uint_eq(last, 13);
}
END_TEST

static int
corrupt_apply(struct store_txn *txn, void *arg)
{
	uint8_t key[8], val[9] = { 2, 0, 0, 0, 5, 0, 0, 0, 99 };	/* 5 records claimed, a bad length */

	be64_put(key, *(uint64_t *)arg);
	return store_put(txn, STORE_DBI_SPOOL, key, sizeof(key), val, sizeof(val));
}

START_TEST(test_corrupt_entry_skipped)
{
	struct store_txn *txn;
	struct spool_iter it;
	struct spool_rec r;
	uint64_t seq = 11;
	int good = 0, bad = 0, rc;

	ck_assert_uint_eq(append(10, 100), 1);
	/* Overwrite what seq 11.. would be with garbage, then more records. */
	ck_assert_int_eq(store_run(harness_store, corrupt_apply, &seq), CD_EOK);
	ck_assert_int_eq(store_run(harness_store, put_single_apply, &(uint64_t){ 16 }), CD_EOK);
	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	ck_assert_int_eq(spool_iter_open(txn, &it), CD_EOK);
	ck_assert_int_eq(spool_iter_seek(&it, 1), CD_EOK);
	while ((rc = spool_iter_next(&it, &r, NULL)) != CD_ENOTFOUND) {
		if (rc == CD_ECORRUPT)
			bad++;
		else {
			ck_assert_int_eq(rc, CD_EOK);
			good++;
		}
	}
	spool_iter_close(&it);
	store_read_end(txn);
	ck_assert_int_eq(good, 11);
	ck_assert_int_eq(bad, 1);

	/* Seeking straight to the bad entry: it is reported too (it was
	 * skipped without a word), then the next entry reads. */
	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	ck_assert_int_eq(spool_iter_open(txn, &it), CD_EOK);
	ck_assert_int_eq(spool_iter_seek(&it, 11), CD_EOK);
	ck_assert_int_eq(spool_iter_next(&it, &r, NULL), CD_ECORRUPT);
	ck_assert_int_eq(spool_iter_next(&it, &r, NULL), CD_EOK);
	ck_assert_uint_eq(r.seq, 16);
	ck_assert_int_eq(spool_iter_next(&it, &r, NULL), CD_ENOTFOUND);
	spool_iter_close(&it);
	store_read_end(txn);
}
END_TEST

START_TEST(test_entry_span)
{
	struct store_txn *txn;
	struct store_iter *it;
	uint64_t first, last, spans[3][2];
	int n = 0, rc;

	append(5, 10);
	ck_assert_int_eq(store_run(harness_store, put_single_apply, &(uint64_t){ 6 }), CD_EOK);
	append(2, 10);
	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	ck_assert_int_eq(store_iter_open(txn, STORE_DBI_SPOOL, &it), CD_EOK);
	for (rc = store_iter_seek(it, NULL, 0); rc == CD_EOK; rc = store_iter_next(it)) {
		struct store_val k, v;
		store_iter_get(it, &k, &v);
		ck_assert_int_eq(spool_entry_span(&k, &v, &first, &last), CD_EOK);
		ck_assert_int_lt(n, 3);
		spans[n][0] = first;
		spans[n++][1] = last;
	}
	store_iter_close(it);
	store_read_end(txn);
	ck_assert_int_eq(n, 3);
	ck_assert_uint_eq(spans[0][0], 1);
	ck_assert_uint_eq(spans[0][1], 5);
	ck_assert_uint_eq(spans[1][0], 6);
	ck_assert_uint_eq(spans[1][1], 6);
	ck_assert_uint_eq(spans[2][0], 7);
	ck_assert_uint_eq(spans[2][1], 8);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("spool");

	tcase_add_checked_fixture(tc, harness_store_setup, harness_store_teardown);
	tcase_add_test(tc, test_pack_per_job);
	tcase_add_test(tc, test_empty_job_writes_nothing);
	tcase_add_test(tc, test_old_entries_read);
	tcase_add_test(tc, test_corrupt_entry_skipped);
	tcase_add_test(tc, test_entry_span);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
