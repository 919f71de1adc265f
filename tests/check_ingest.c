/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "err.h"
#include "event.h"
#include "harness.h"
#include "ingest.h"
#include "lolbas.h"
#include "spool.h"
#include "store.h"

/*
 * The writer's per-event work (spool, record claims, DNS index, LOLBAS
 * procs, hosts) must leave the store byte for byte as it did before it was
 * made cheaper: the real Sysmon data is ingested in odd-sized batches (each
 * file twice, so the second pass is all re-deliveries, with foreign and
 * malformed events and heartbeats mixed in), and a digest of every key and
 * value of every database, of every batch's results and of every item's
 * spool seq is compared with the digest the original implementation gave
 * for the same input (STORE_DIGEST below, recorded before the change).
 * The one deliberate change since: "procs" keeps only processes whose
 * Image is on the LOLBAS list (the only ones an alert joins), so the digest
 * takes only those from "procs" (recorded from the writer that still wrote
 * every process creation) and the test checks that no other is stored.
 * And "records" keeps claimed EventRecordID intervals per (host, channel)
 * instead of one entry per record (records.h): recorded after that change,
 * which left every other database, batch result and spool seq as they were
 * (their digest, without "records", was the same before and after).
 */
#define STORE_DIGEST \
	"3c3ef769b40f89cc9aa7e4df6f6448760deed8b4cac93946a8202260362fe5af"

#define MAX_BATCHES	512

struct run {
	struct ingest_batch	*b[MAX_BATCHES];
	size_t			 n;
	int			 rc[MAX_BATCHES];
	uint64_t		 res[MAX_BATCHES][4];
	uint64_t		*seqs[MAX_BATCHES];
	size_t			 nseqs[MAX_BATCHES];
	size_t			 done;
};

static struct run run;

static void
on_done(struct ingest_batch *b, int rc)
{
	size_t i = (size_t)(uintptr_t)b->on_done_arg;

	run.rc[i] = rc;
	run.res[i][0] = b->res_new;
	run.res[i][1] = b->res_dup;
	run.res[i][2] = b->res_dns;
	run.res[i][3] = b->res_alerts;
	run.seqs[i] = calloc(b->n + 1, sizeof(uint64_t));
	for (size_t k = 0; k < b->n; k++)
		run.seqs[i][k] = b->items[k].seq;
	run.nseqs[i] = b->n;
	ingest_batch_free(b);
	run.done++;
}

static struct ingest_batch *
new_batch(enum ingest_kind kind, const char *source, const char *host,
    struct lolbas *lb)
{
	struct ingest_batch *b;

	ck_assert_int_eq(ingest_batch_new(&b, kind), CD_EOK);
	ck_assert_uint_lt(run.n, MAX_BATCHES);
	b->source = strdup(source);
	b->source_host = strdup(host);
	b->subscription = strdup("sub-1");
	b->version = strdup("v1");
	b->now_ms = 1700000000000LL + (int64_t)run.n * 1000;
	b->alert_regdom = run.n % 2 == 0;
	b->lolbas = lb;
	b->on_done = on_done;
	b->on_done_arg = (void *)(uintptr_t)run.n;
	char bm[64];
	snprintf(bm, sizeof(bm), "<BookmarkList n='%zu'/>", run.n);
	b->bookmark = strdup(bm);
	run.b[run.n++] = b;
	return b;
}

static void
submit(struct store *st, struct ingest_batch *b)
{
	ck_assert_int_eq(ingest_submit(st, b), CD_EOK);
}

static struct ingest_batch *
new_events_batch(const char *source, void *arg)
{
	return new_batch(INGEST_EVENTS, source, "ws1.example", arg);
}

/* One file as batches of 37 events (the last one shorter), then a heartbeat. */
static void
ingest_file(struct store *st, struct lolbas *lb, const char *rel, int pass)
{
	char source[128];

	harness_ingest_file(st, rel, pass, new_events_batch, lb);
	snprintf(source, sizeof(source), "src-%s", rel + 7);
	submit(st, new_batch(INGEST_HEARTBEAT, source, "ws1.example", lb));
}

static void
digest_u64(EVP_MD_CTX *md, uint64_t v)
{
	uint8_t be[8];

	for (int i = 7; i >= 0; i--) {
		be[i] = (uint8_t)v;
		v >>= 8;
	}
	EVP_DigestUpdate(md, be, sizeof(be));
}

/* Whether a "procs" value (version byte, then u32 big-endian length and
 * bytes of the Image first) names a binary on the LOLBAS list. */
static bool
proc_listed(const struct lolbas *lb, const struct store_val *v)
{
	const unsigned char *p = v->data;
	char image[1024];
	uint32_t n;

	if (v->len < 5)
		return false;
	n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
	if (n == UINT32_MAX || n >= sizeof(image) || n > v->len - 5)
		return false;
	memcpy(image, p + 5, n);
	image[n] = '\0';
	return lolbas_is_listed(lb, image);
}

START_TEST(test_store_digest)
{
	struct store_options opt = { 0 };
	struct store *st = NULL;
	struct store_txn *txn;
	struct lolbas *lb = NULL;
	char path[4096], hex[65];
	const char *top = getenv("top_srcdir");
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dlen;
	uint64_t entries[STORE_DBI_COUNT] = { 0 }, unlisted = 0;
	char *dir;

	memset(&run, 0, sizeof(run));
	snprintf(path, sizeof(path), "%s/data/lolbas.txt", top ? top : "..");
	ck_assert_int_eq(lolbas_load(path, &lb), CD_EOK);
	st = harness_store_open(&dir);
	for (int pass = 0; pass < 2; pass++)
		for (size_t f = 0; f < HARNESS_NSYSMON_FILES; f++)
			ingest_file(st, lb, harness_sysmon_files[f], pass);
	store_close(st);
	ck_assert_uint_eq(run.done, run.n);

	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ck_assert(md != NULL);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t i = 0; i < run.n; i++) {
		ck_assert_int_eq(run.rc[i], CD_EOK);
		for (int r = 0; r < 4; r++)
			digest_u64(md, run.res[i][r]);
		for (size_t k = 0; k < run.nseqs[i]; k++)
			digest_u64(md, run.seqs[i][k]);
		free(run.seqs[i]);
	}
	opt.dir = dir;
	opt.nosync = true;
	ck_assert_int_eq(store_open(&st, &opt), CD_EOK);
	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	for (int dbi = 0; dbi < STORE_DBI_COUNT; dbi++) {
		struct store_iter *it;
		int rc;

		EVP_DigestUpdate(md, store_dbi_name(dbi), strlen(store_dbi_name(dbi)) + 1);
		if (dbi == STORE_DBI_SPOOL) {
			/* Record by record, each as the entry it was before the
			 * packs (spool.h): key, then the record's bytes. */
			struct spool_iter si;
			struct spool_rec r;
			struct store_val raw;
			uint8_t key[8];

			ck_assert_int_eq(spool_iter_open(txn, &si), CD_EOK);
			ck_assert_int_eq(spool_iter_seek(&si, 0), CD_EOK);
			while ((rc = spool_iter_next(&si, &r, &raw)) == CD_EOK) {
				for (int i = 7; i >= 0; i--)
					key[7 - i] = (uint8_t)(r.seq >> (i * 8));
				digest_u64(md, sizeof(key));
				EVP_DigestUpdate(md, key, sizeof(key));
				digest_u64(md, raw.len);
				EVP_DigestUpdate(md, raw.data, raw.len);
				entries[dbi]++;
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
			if (dbi == STORE_DBI_PROCS && !proc_listed(lb, &v)) {
				unlisted++;
				continue;
			}
			digest_u64(md, k.len);
			EVP_DigestUpdate(md, k.data, k.len);
			digest_u64(md, v.len);
			EVP_DigestUpdate(md, v.data, v.len);
			entries[dbi]++;
		}
		ck_assert_int_eq(rc, CD_ENOTFOUND);
		store_iter_close(it);
	}
	store_read_end(txn);
	EVP_DigestFinal_ex(md, d, &dlen);
	EVP_MD_CTX_free(md);
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	ck_assert_str_eq(hex, STORE_DIGEST);
	/* Only processes a LOLBAS alert can join are remembered. */
	ck_assert_uint_eq(unlisted, 0);
	/* The data exercises every part of the writer. */
	ck_assert_uint_gt(entries[STORE_DBI_SPOOL], 2000);
	/* One per (host, channel), not per record. */
	ck_assert_uint_gt(entries[STORE_DBI_RECORDS], 0);
	ck_assert_uint_lt(entries[STORE_DBI_RECORDS], 100);
	ck_assert_uint_gt(entries[STORE_DBI_PROCS], 50);
	ck_assert_uint_gt(entries[STORE_DBI_HOSTS], 10);
	ck_assert_uint_gt(entries[STORE_DBI_DNS_HOSTDOM], 10);
	harness_store_close(st, dir);
	lolbas_free(lb);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ingest");
	TCase *tc = tcase_create("digest");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_store_digest);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
