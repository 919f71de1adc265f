/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "err.h"
#include "event.h"
#include "harness.h"
#include "indexer.h"
#include "ingest.h"
#include "lolbas.h"
#include "spool.h"
#include "store.h"

/*
 * The indexer (DNS index after the Ack) must leave the store as indexing
 * inside each batch's transaction does: the real Sysmon data is ingested
 * both ways (each file twice, foreign and malformed events mixed in, as in
 * check_ingest), and the two stores are compared: every database but the
 * spool and meta byte for byte, the spool's events in order, and its
 * alerts as a set (the indexer spools a DNS query's alerts after the
 * events acknowledged meanwhile, so their seqs differ).
 */

struct run {
	/* Counted on the writer thread, read on the test's: atomic, so
	 * that seeing every batch done also shows dns and failed. */
	_Atomic size_t done;
	size_t	 dns;		/* observations reported by the batches */
	bool	 failed;
};

static struct run run;

static void
on_done(struct ingest_batch *b, int rc)
{
	if (rc != CD_EOK)
		run.failed = true;
	run.dns += b->res_dns;
	ingest_batch_free(b);
	atomic_fetch_add(&run.done, 1);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static size_t nbatches;

static struct ingest_batch *
new_batch(const char *source, struct lolbas *lb, struct indexer *ix)
{
	struct ingest_batch *b;

	ck_assert_int_eq(ingest_batch_new(&b, INGEST_EVENTS), CD_EOK);
	b->source = strdup(source);
	b->source_host = strdup("ws1.example");
	b->subscription = strdup("sub-1");
	b->version = strdup("v1");
	b->now_ms = 1700000000000LL + (int64_t)nbatches * 1000;
	b->alert_regdom = true;
	b->lolbas = lb;
	b->indexer = ix;
	b->on_done = on_done;
	nbatches++;
	return b;
}

struct batch_arg {
	struct lolbas	*lb;
	struct indexer	*ix;
};

static struct ingest_batch *
new_batch_cb(const char *source, void *arg)
{
	struct batch_arg *a = arg;

	return new_batch(source, a->lb, a->ix);
}

/* Every file of the real data, twice, as batches of 37 events. */
static void
ingest_all(struct store *st, struct lolbas *lb, struct indexer *ix)
{
	struct batch_arg a = { lb, ix };
	size_t submitted = 0;

	run.dns = 0;
	run.failed = false;
	atomic_store(&run.done, 0);
	nbatches = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t f = 0; f < HARNESS_NSYSMON_FILES; f++)
			submitted += harness_ingest_file(st, harness_sysmon_files[f], pass,
			    new_batch_cb, &a);
	/* on_done() runs on the writer thread. */
	while (atomic_load(&run.done) < submitted)
		sleep_ms(10);
	ck_assert(!run.failed);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The digest described at the top; *alerts counts the spooled alerts. */
static void
store_digest(struct store *st, char hex[65], size_t *alerts)
{
	struct store_txn *txn;
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dlen;
	char **al = NULL;
	size_t nal = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	ck_assert(md != NULL);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	for (int dbi = 0; dbi < STORE_DBI_COUNT; dbi++) {
		struct store_iter *it;
		int rc;

		if (dbi == STORE_DBI_META)
			continue;
		EVP_DigestUpdate(md, store_dbi_name(dbi), strlen(store_dbi_name(dbi)) + 1);
		if (dbi == STORE_DBI_SPOOL) {
			struct spool_iter si;
			struct spool_rec r;

			ck_assert_int_eq(spool_iter_open(txn, &si), CD_EOK);
			ck_assert_int_eq(spool_iter_seek(&si, 0), CD_EOK);
			while ((rc = spool_iter_next(&si, &r, NULL)) == CD_EOK) {
				if (r.type == SPOOL_ALERT) {
					al = realloc(al, (nal + 1) * sizeof(*al));
					ck_assert(al != NULL);
					ck_assert(asprintf(&al[nal++], "%s|%s|%lld|%.*s", r.host,
					    r.source, (long long)r.received_ms, (int)r.data_len,
					    r.data) > 0);
					continue;
				}
				EVP_DigestUpdate(md, &r.flags, 1);
				EVP_DigestUpdate(md, r.host, strlen(r.host) + 1);
				EVP_DigestUpdate(md, r.data, r.data_len);
			}
			ck_assert_int_eq(rc, CD_ENOTFOUND);
			spool_iter_close(&si);
			continue;
		}
		ck_assert_int_eq(store_iter_open(txn, dbi, &it), CD_EOK);
		for (rc = store_iter_seek(it, NULL, 0); rc == CD_EOK;
		    rc = store_iter_next(it)) {
			struct store_val k, v;

			store_iter_get(it, &k, &v);
			EVP_DigestUpdate(md, k.data, k.len);
			EVP_DigestUpdate(md, "\n", 1);
			EVP_DigestUpdate(md, v.data, v.len);
			EVP_DigestUpdate(md, "\n", 1);
		}
		ck_assert_int_eq(rc, CD_ENOTFOUND);
		store_iter_close(it);
	}
	store_read_end(txn);
	qsort(al, nal, sizeof(*al), cmp_str);
	for (size_t i = 0; i < nal; i++) {
		EVP_DigestUpdate(md, al[i], strlen(al[i]) + 1);
		free(al[i]);
	}
	free(al);
	*alerts = nal;
	EVP_DigestFinal_ex(md, d, &dlen);
	EVP_MD_CTX_free(md);
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static struct lolbas *
load_lolbas(void)
{
	struct lolbas *lb = NULL;
	char path[4096];
	const char *top = getenv("top_srcdir");

	snprintf(path, sizeof(path), "%s/data/lolbas.txt", top ? top : "..");
	ck_assert_int_eq(lolbas_load(path, &lb), CD_EOK);
	return lb;
}

/* The reference: every batch indexes its own DNS queries. */
static void
reference_digest(struct lolbas *lb, char hex[65], size_t *alerts)
{
	char *dir;
	struct store *st = harness_store_open(&dir);

	ingest_all(st, lb, NULL);
	store_digest(st, hex, alerts);
	harness_store_close(st, dir);
}

/* Count the (host, domain) pairs: 0 means nothing is indexed yet. */
static size_t
pairs(struct store *st)
{
	struct store_txn *txn;
	struct store_iter *it;
	size_t n = 0;
	int rc;

	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	ck_assert_int_eq(store_iter_open(txn, STORE_DBI_DNS_HOSTDOM, &it), CD_EOK);
	for (rc = store_iter_seek(it, NULL, 0); rc == CD_EOK; rc = store_iter_next(it))
		n++;
	store_iter_close(it);
	store_read_end(txn);
	return n;
}

/* A job takes at most INDEXER_JOB_MAX of a small backlog, a quarter of a
 * large one, never more than INDEXER_JOB_BIG, never more than waits. */
START_TEST(test_job_size)
{
	ck_assert_uint_eq(indexer_job_size(0), 0);
	ck_assert_uint_eq(indexer_job_size(100), 100);
	ck_assert_uint_eq(indexer_job_size(INDEXER_JOB_MAX), INDEXER_JOB_MAX);
	ck_assert_uint_eq(indexer_job_size(4 * INDEXER_JOB_MAX), INDEXER_JOB_MAX);
	ck_assert_uint_eq(indexer_job_size(40000), 10000);
	ck_assert_uint_eq(indexer_job_size(100000), INDEXER_JOB_BIG);
	ck_assert_uint_eq(indexer_job_size(1000000), INDEXER_JOB_BIG);
}
END_TEST

START_TEST(test_same_as_inline)
{
	struct lolbas *lb = load_lolbas();
	struct indexer *ix = NULL;
	char ref[65], got[65], *dir;
	size_t ref_alerts, got_alerts;

	reference_digest(lb, ref, &ref_alerts);
	struct store *st = harness_store_open(&dir);
	ck_assert_int_eq(indexer_new(&ix, st, lb, true), CD_EOK);
	indexer_set_pending_max(ix, 100);
	ck_assert(!indexer_full(ix));
	ingest_all(st, lb, ix);
	/* Acknowledged, not indexed yet: the thread was never started. */
	ck_assert_uint_gt(run.dns, 100);
	ck_assert_uint_eq(indexer_pending(ix), run.dns);
	/* More waiting than the bound: new batches would get 503. */
	ck_assert(indexer_full(ix));
	ck_assert_uint_eq(pairs(st), 0);
	/* Spool pruning stops before the oldest one waiting. */
	uint64_t floor = indexer_prune_floor(ix);
	ck_assert_uint_gt(floor, 0);
	ck_assert_uint_lt(floor, UINT64_MAX);
	ck_assert_int_eq(indexer_flush(ix), CD_EOK);
	ck_assert_uint_eq(indexer_pending(ix), 0);
	ck_assert(!indexer_full(ix));
	ck_assert_uint_eq(indexer_prune_floor(ix), UINT64_MAX);
	store_digest(st, got, &got_alerts);
	ck_assert_uint_gt(ref_alerts, 10);
	ck_assert_uint_eq(got_alerts, ref_alerts);
	ck_assert_str_eq(got, ref);
	indexer_free(ix);
	harness_store_close(st, dir);
	lolbas_free(lb);
}
END_TEST

/* Acknowledged but not indexed when the daemon stopped (a crash): the next
 * start reads them back from the spool and the index ends up the same. */
START_TEST(test_recovered_after_restart)
{
	struct lolbas *lb = load_lolbas();
	struct indexer *ix = NULL;
	struct store_options opt = { .nosync = true };
	char ref[65], got[65], *dir;
	size_t ref_alerts, got_alerts;

	reference_digest(lb, ref, &ref_alerts);
	struct store *st = harness_store_open(&dir);
	ck_assert_int_eq(indexer_new(&ix, st, lb, true), CD_EOK);
	ingest_all(st, lb, ix);
	size_t pending = indexer_pending(ix);
	ck_assert_uint_gt(pending, 100);
	/* Never started: freeing drops what waits, as a crash would. */
	indexer_free(ix);
	store_close(st);
	opt.dir = dir;
	ck_assert_int_eq(store_open(&st, &opt), CD_EOK);
	ck_assert_uint_eq(pairs(st), 0);
	ck_assert_int_eq(indexer_new(&ix, st, lb, true), CD_EOK);
	ck_assert_uint_eq(indexer_pending(ix), pending);
	ck_assert_int_eq(indexer_start(ix), CD_EOK);
	/* The thread indexes them by itself. */
	for (int i = 0; i < 500 && indexer_pending(ix) > 0; i++)
		sleep_ms(10);
	ck_assert_uint_eq(indexer_pending(ix), 0);
	indexer_free(ix);
	/* Nothing is read back twice after a clean stop. */
	ck_assert_int_eq(indexer_new(&ix, st, lb, true), CD_EOK);
	ck_assert_uint_eq(indexer_pending(ix), 0);
	indexer_free(ix);
	store_digest(st, got, &got_alerts);
	ck_assert_uint_eq(got_alerts, ref_alerts);
	ck_assert_str_eq(got, ref);
	harness_store_close(st, dir);
	lolbas_free(lb);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("indexer");
	TCase *tc = tcase_create("indexer");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_job_size);
	tcase_add_test(tc, test_same_as_inline);
	tcase_add_test(tc, test_recovered_after_restart);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
