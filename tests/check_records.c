/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "harness.h"
#include "records.h"
#include "store.h"

/* One write job: claims of (host, channel, id), each one's result kept. */
struct claim {
	const char	*host;
	const char	*chan;
	uint64_t	 id;
	int		 rc;
};

struct job {
	struct claim	*c;
	size_t		 n;
};

static int
apply_claims(struct store_txn *txn, void *arg)
{
	struct job *j = arg;
	struct records_batch rb;
	int rc = CD_EOK;

	records_batch_init(&rb);
	for (size_t i = 0; i < j->n; i++) {
		j->c[i].rc = records_batch_claim(txn, &rb, j->c[i].host,
		    j->c[i].chan, j->c[i].id);
		if (j->c[i].rc < 0) {
			rc = j->c[i].rc;
			break;
		}
	}
	if (rc == CD_EOK)
		rc = records_batch_flush(txn, &rb);
	records_batch_clear(&rb);
	return rc;
}

/* Claim ids[0..n) of (host, chan) in one job; returns how many were new. */
static size_t
claim_ids(const char *host, const char *chan, const uint64_t *ids, size_t n)
{
	struct job j = { calloc(n, sizeof(struct claim)), n };
	size_t fresh = 0;

	ck_assert(j.c != NULL);
	for (size_t i = 0; i < n; i++)
		j.c[i] = (struct claim){ host, chan, ids[i], -1 };
	ck_assert_int_eq(store_run(harness_store, apply_claims, &j), CD_EOK);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_ge(j.c[i].rc, 0);
		fresh += (size_t)j.c[i].rc;
	}
	free(j.c);
	return fresh;
}

/* 1 new, 0 duplicate, or the error, for one claim in its own job. */
static int
claim1(const char *host, const char *chan, uint64_t id)
{
	struct claim c = { host, chan, id, -1 };
	struct job j = { &c, 1 };
	int rc = store_run(harness_store, apply_claims, &j);

	return rc == CD_EOK ? c.rc : rc;
}

static uint64_t *
range(uint64_t lo, uint64_t step, size_t n)
{
	uint64_t *v = calloc(n, sizeof(*v));

	ck_assert(v != NULL);
	for (size_t i = 0; i < n; i++)
		v[i] = lo + i * step;
	return v;
}

static uint64_t
entries(void)
{
	return harness_store_count(STORE_DBI_RECORDS);
}

/* Length of the stored value of (host, chan); 0 when absent. */
static size_t
value_len(const char *host, const char *chan)
{
	uint8_t key[STORE_KEY_MAX];
	size_t lh = strlen(host) + 1, lc = strlen(chan) + 1, len = 0;
	struct store_txn *txn;
	struct store_val v;

	memcpy(key, host, lh);
	memcpy(key + lh, chan, lc);
	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	if (store_get(txn, STORE_DBI_RECORDS, key, lh + lc, &v) == CD_EOK)
		len = v.len;
	store_read_end(txn);
	return len;
}

START_TEST(test_in_order)
{
	uint64_t *ids = range(1000, 1, 5000);

	ck_assert_uint_eq(claim_ids("ws1", "Security", ids, 2500), 2500);
	ck_assert_uint_eq(claim_ids("ws1", "Security", ids + 2500, 2500), 2500);
	/* One entry, one interval: version, varint 1000 (2 bytes), 4999 (2). */
	ck_assert_uint_eq(entries(), 1);
	ck_assert_uint_eq(value_len("ws1", "Security"), 5);
	/* The whole run re-delivered: every one a duplicate. */
	ck_assert_uint_eq(claim_ids("ws1", "Security", ids, 5000), 0);
	ck_assert_int_eq(claim1("ws1", "Security", 999), 1);
	ck_assert_int_eq(claim1("ws1", "Security", 6000), 1);
	ck_assert_int_eq(claim1("ws1", "Security", 6000), 0);
	free(ids);
}
END_TEST

START_TEST(test_redelivered_batch)
{
	uint64_t ids[] = { 10, 11, 12, 13, 14, 12, 11, 15 };

	/* Within one batch a repeated id is a duplicate too. */
	ck_assert_uint_eq(claim_ids("ws1", "Sysmon", ids, 8), 6);
	ck_assert_uint_eq(claim_ids("ws1", "Sysmon", ids, 8), 0);
	ck_assert_uint_eq(claim_ids("ws1", "Sysmon", ids + 2, 6), 0);
}
END_TEST

START_TEST(test_out_of_order)
{
	uint64_t ids[] = { 50, 30, 40, 31, 49, 32, 48, 1, 0, UINT64_MAX,
	    UINT64_MAX - 1, 33, 39, 41, 34, 38, 35, 37, 36, 42, 47, 43, 46, 44, 45 };
	size_t n = sizeof(ids) / sizeof(ids[0]);

	ck_assert_uint_eq(claim_ids("h", "c", ids, n), n);
	ck_assert_uint_eq(claim_ids("h", "c", ids, n), 0);
	/* [0, 1] [30, 50] [max - 1, max]: three intervals. */
	ck_assert_int_eq(claim1("h", "c", 2), 1);
	ck_assert_int_eq(claim1("h", "c", 29), 1);
	ck_assert_int_eq(claim1("h", "c", 51), 1);
	ck_assert_int_eq(claim1("h", "c", UINT64_MAX - 2), 1);
	ck_assert_int_eq(claim1("h", "c", 3), 1);
	for (uint64_t id = 30; id <= 50; id++)
		ck_assert_int_eq(claim1("h", "c", id), 0);
	ck_assert_int_eq(claim1("h", "c", UINT64_MAX), 0);
	ck_assert_int_eq(claim1("h", "c", 0), 0);
}
END_TEST

START_TEST(test_gaps)
{
	/* A filtered subscription: every third record. */
	uint64_t *ids = range(100, 3, 200);

	ck_assert_uint_eq(claim_ids("ws2", "Security", ids, 200), 200);
	ck_assert_uint_eq(claim_ids("ws2", "Security", ids, 200), 0);
	/* The records in between were never claimed. */
	ck_assert_int_eq(claim1("ws2", "Security", 101), 1);
	ck_assert_int_eq(claim1("ws2", "Security", 102), 1);
	ck_assert_int_eq(claim1("ws2", "Security", 103), 0);
	ck_assert_int_eq(claim1("ws2", "Security", 100 + 3 * 199 + 1), 1);
	free(ids);
}
END_TEST

START_TEST(test_cap)
{
	/* RECORDS_MAX_INTERVALS + 10 single records with gaps of one: the ten
	 * lowest are forgotten, the gaps stay open. */
	size_t n = RECORDS_MAX_INTERVALS + 10;
	uint64_t *ids = range(10, 2, n);

	ck_assert_uint_eq(claim_ids("ws3", "Application", ids, n / 2), n / 2);
	ck_assert_uint_eq(claim_ids("ws3", "Application", ids + n / 2, n - n / 2),
	    n - n / 2);
	/* The kept ones are duplicates, the forgotten ones pass again. */
	ck_assert_uint_eq(claim_ids("ws3", "Application", ids + 10, n - 10), 0);
	ck_assert_int_eq(claim1("ws3", "Application", 28), 1);
	/* A full list does not keep what is below it: 28 passes again. */
	ck_assert_int_eq(claim1("ws3", "Application", 28), 1);
	ck_assert_int_eq(claim1("ws3", "Application", 30), 0);
	/* A gap filled joins two intervals, which makes room. */
	ck_assert_int_eq(claim1("ws3", "Application", 31), 1);
	ck_assert_int_eq(claim1("ws3", "Application", 31), 0);
	ck_assert_int_eq(claim1("ws3", "Application", 29), 1);
	ck_assert_int_eq(claim1("ws3", "Application", 29), 0);
	ck_assert_int_eq(claim1("ws3", "Application", 28), 1);
	ck_assert_int_eq(claim1("ws3", "Application", 28), 0);
	ck_assert_int_eq(claim1("ws3", "Application", 10 + 2 * (n - 1)), 0);
	ck_assert_int_eq(claim1("ws3", "Application", 10 + 2 * (n - 1) + 1), 1);
	/* The value stays small: one varint pair per interval. */
	ck_assert_uint_le(value_len("ws3", "Application"),
	    1 + 2 * 3 * RECORDS_MAX_INTERVALS);
	free(ids);
}
END_TEST

START_TEST(test_interleaved_streams)
{
	/* Two subscriptions with different filters on one channel: A takes
	 * ids 0 mod 10, B ids 5 mod 10 and lags A by its whole run (far more
	 * gaps than the cap). None of B's records may be taken for a
	 * duplicate; a lost Ack's re-delivery of either's last batch is. */
	for (uint64_t k = 0; k < 1000; k += 100) {
		uint64_t *a = range(10 * k, 10, 100);
		ck_assert_uint_eq(claim_ids("dc1", "Security", a, 100), 100);
		free(a);
	}
	for (uint64_t k = 0; k < 1000; k += 100) {
		uint64_t *b = range(10 * k + 5, 10, 100);
		ck_assert_uint_eq(claim_ids("dc1", "Security", b, 100), 100);
		free(b);
	}
	uint64_t *a = range(9000, 10, 100), *b = range(9005, 10, 100);
	ck_assert_uint_eq(claim_ids("dc1", "Security", a, 100), 0);
	ck_assert_uint_eq(claim_ids("dc1", "Security", b, 100), 0);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_hosts_channels)
{
	static const char *const hosts[] = { "a", "b", "c", "d", "e", "f" };
	static const char *const chans[] = { "Security", "System", "" };
	size_t nc = 6 * 3 * 20;
	struct claim *c = calloc(nc, sizeof(*c));
	struct job j = { c, nc };
	size_t k = 0;

	ck_assert(c != NULL);
	/* Interleaved, more pairs than a batch holds (early write-back). */
	for (uint64_t id = 0; id < 20; id++)
		for (size_t h = 0; h < 6; h++)
			for (size_t ch = 0; ch < 3; ch++)
				c[k++] = (struct claim){ hosts[h], chans[ch],
				    id * (h + 1), -1 };
	ck_assert_int_eq(store_run(harness_store, apply_claims, &j), CD_EOK);
	for (k = 0; k < nc; k++)
		ck_assert_int_eq(c[k].rc, 1);
	ck_assert_int_eq(store_run(harness_store, apply_claims, &j), CD_EOK);
	for (k = 0; k < nc; k++)
		ck_assert_int_eq(c[k].rc, 0);
	ck_assert_uint_eq(entries(), 18);
	/* The same id is separate per host and per channel. */
	ck_assert_int_eq(claim1("a", "Security", 20), 1);
	ck_assert_int_eq(claim1("a", "System", 20), 1);
	ck_assert_int_eq(claim1("b", "Security", 20), 0);
	ck_assert_int_eq(claim1("g", "Security", 0), 1);
	/* A host name that looks like host NUL channel cannot collide. */
	ck_assert_int_eq(claim1("aSecurity", "", 0), 1);
	free(c);
}
END_TEST

struct put {
	const void	*key;
	size_t		 klen;
	const void	*val;
	size_t		 vlen;
};

static int
apply_put(struct store_txn *txn, void *arg)
{
	struct put *p = arg;

	return store_put(txn, STORE_DBI_RECORDS, p->key, p->klen, p->val, p->vlen);
}

static void
put_raw(const void *key, size_t klen, const void *val, size_t vlen)
{
	struct put p = { key, klen, val, vlen };

	ck_assert_int_eq(store_run(harness_store, apply_put, &p), CD_EOK);
}

START_TEST(test_corrupt)
{
	static const struct {
		const uint8_t	*v;
		size_t		 len;
	} bad[] = {
		{ (const uint8_t *)"", 0 },			/* empty */
		{ (const uint8_t *)"\x02\x01\x00", 3 },		/* other version */
		{ (const uint8_t *)"\x01\x81", 2 },		/* truncated varint */
		{ (const uint8_t *)"\x01\x05", 2 },		/* lo without length */
		{ (const uint8_t *)"\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02\x00", 12 },
		/* [max - 1, max] then another interval */
		{ (const uint8_t *)"\x01\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01\x01\x00\x00", 14 },
	};

	/* An unreadable value never refuses events (Windows would resend
	 * the batch forever): it is replaced by a new list. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_raw("ws9\0Security", 13, bad[i].v, bad[i].len);
		ck_assert_int_eq(claim1("ws9", "Security", 7), 1);
		ck_assert_int_eq(claim1("ws9", "Security", 7), 0);
		/* Version byte, then [7, 7]: gap 7, length 0. */
		ck_assert_uint_eq(value_len("ws9", "Security"), 3);
	}
	/* Other pairs are unaffected. */
	ck_assert_int_eq(claim1("ws9", "System", 7), 1);
	/* A valid value written by hand: [5, 9] and [20, 20]. */
	put_raw("ws9\0Security", 13, "\x01\x05\x04\x09\x00", 5);
	ck_assert_int_eq(claim1("ws9", "Security", 9), 0);
	ck_assert_int_eq(claim1("ws9", "Security", 20), 0);
	ck_assert_int_eq(claim1("ws9", "Security", 10), 1);
	ck_assert_int_eq(claim1("ws9", "Security", 21), 1);
}
END_TEST

/* Write old-format entries: host NUL chan NUL be64(id) -> be64(seq). */
static void
put_old(const char *host, const char *chan, const uint64_t *ids, size_t n)
{
	uint8_t key[STORE_KEY_MAX], val[8] = { 0 };
	size_t lh = strlen(host) + 1, lc = strlen(chan) + 1;

	memcpy(key, host, lh);
	memcpy(key + lh, chan, lc);
	for (size_t i = 0; i < n; i++) {
		for (int b = 0; b < 8; b++)
			key[lh + lc + b] = (uint8_t)(ids[i] >> (56 - 8 * b));
		val[7] = (uint8_t)i;
		put_raw(key, lh + lc + 8, val, sizeof(val));
	}
}

static int
apply_migrate(struct store_txn *txn, void *arg)
{
	return records_migrate(txn, arg);
}

START_TEST(test_old_format)
{
	/* More old entries than one load folds, with a gap; and a second
	 * pair that is only migrated. */
	size_t n = RECORDS_FOLD_MAX + 1000;
	uint64_t *ids = range(1, 1, n), *more = range(20000, 5, 100);

	put_old("old1", "Security", ids, n);
	put_old("old1", "Security", more, 100);
	put_old("old2", "System", ids, n);
	ck_assert_uint_eq(entries(), 2 * n + 100);
	/* Every old identity is still a duplicate: the first load folded the
	 * lowest RECORDS_FOLD_MAX, n is found under its old key. */
	ck_assert_int_eq(claim1("old1", "Security", (uint64_t)n), 0);
	ck_assert_int_eq(claim1("old1", "Security", 1), 0);
	ck_assert_int_eq(claim1("old1", "Security", 20005), 0);
	ck_assert_uint_eq(claim_ids("old1", "Security", ids, n), 0);
	ck_assert_uint_eq(claim_ids("old1", "Security", more, 100), 0);
	ck_assert_int_eq(claim1("old1", "Security", 20001), 1);
	ck_assert_int_eq(claim1("old1", "Security", (uint64_t)n + 1), 1);
	uint64_t two[] = { (uint64_t)n - 1, (uint64_t)n + 7 };
	ck_assert_uint_eq(claim_ids("old2", "System", two, 2), 1);
	/* old2's use folded at most RECORDS_FOLD_MAX: old entries remain. */
	ck_assert_uint_eq(entries(), 2 + n - RECORDS_FOLD_MAX);

	/* The migration folds the rest, in bounded transactions. */
	struct records_migration m;
	unsigned steps = 0;

	records_migration_init(&m);
	while (!m.done) {
		ck_assert_int_eq(store_run(harness_store,
		    apply_migrate, &m),
		    CD_EOK);
		ck_assert_uint_lt(++steps, 100);
	}
	ck_assert_uint_eq(entries(), 2);
	ck_assert_uint_gt(m.folded, 0);
	ck_assert_uint_eq(claim_ids("old1", "Security", ids, n), 0);
	ck_assert_uint_eq(claim_ids("old1", "Security", more, 100), 0);
	ck_assert_uint_eq(m.folded, n - RECORDS_FOLD_MAX);
	ck_assert_uint_eq(claim_ids("old2", "System", ids, n), 0);
	ck_assert_int_eq(claim1("old2", "System", (uint64_t)n + 1), 1);
	ck_assert_int_eq(claim1("old2", "System", (uint64_t)n + 7), 0);
	/* Done is done: another step changes nothing. */
	ck_assert_int_eq(store_run(harness_store,
	    apply_migrate, &m), CD_EOK);
	free(ids);
	free(more);
}
END_TEST

START_TEST(test_migrate_only)
{
	/* A store with only old entries of many pairs, never claimed again. */
	uint64_t *ids = range(7, 1, 300);
	char host[32];

	for (int h = 0; h < 30; h++) {
		snprintf(host, sizeof(host), "host%02d", h);
		put_old(host, "Security", ids, h * 10);
	}
	struct records_migration m;

	records_migration_init(&m);
	while (!m.done)
		ck_assert_int_eq(store_run(harness_store,
		    apply_migrate, &m),
		    CD_EOK);
	ck_assert_uint_eq(m.folded, 10 * (29 * 30 / 2));
	ck_assert_uint_eq(entries(), 29);
	ck_assert_int_eq(claim1("host29", "Security", 7 + 289), 0);
	ck_assert_int_eq(claim1("host29", "Security", 7 + 290), 1);
	ck_assert_int_eq(claim1("host00", "Security", 7), 1);
	free(ids);
}
END_TEST

START_TEST(test_migrate_corrupt)
{
	uint64_t ids[] = { 3, 4, 5 };
	struct records_migration m;

	/* An unreadable pair with old entries is replaced by a new list
	 * holding those old entries; the pairs after it are migrated too. */
	put_raw("a\0C", 4, "\x07", 1);
	put_old("a", "C", ids, 3);
	put_old("b", "C", ids, 3);
	records_migration_init(&m);
	while (!m.done)
		ck_assert_int_eq(store_run(harness_store, apply_migrate, &m),
		    CD_EOK);
	ck_assert_uint_eq(m.folded, 6);
	ck_assert_uint_eq(entries(), 2);
	ck_assert_int_eq(claim1("a", "C", 3), 0);
	ck_assert_int_eq(claim1("a", "C", 6), 1);
	ck_assert_int_eq(claim1("b", "C", 4), 0);
	ck_assert_int_eq(claim1("b", "C", 6), 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("records");
	TCase *tc = tcase_create("claims");

	tcase_add_checked_fixture(tc, harness_store_setup, harness_store_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_in_order);
	tcase_add_test(tc, test_redelivered_batch);
	tcase_add_test(tc, test_out_of_order);
	tcase_add_test(tc, test_gaps);
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_interleaved_streams);
	tcase_add_test(tc, test_hosts_channels);
	tcase_add_test(tc, test_corrupt);
	tcase_add_test(tc, test_old_format);
	tcase_add_test(tc, test_migrate_only);
	tcase_add_test(tc, test_migrate_corrupt);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
