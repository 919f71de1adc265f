/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "harness.h"
#include "store.h"
#include "store_key.h"

struct put_arg {
	enum store_dbi	 dbi;
	uint64_t	 key;
	const void	*val;
	size_t		 vlen;
};

static int
apply_put(struct store_txn *txn, void *arg)
{
	struct put_arg *p = arg;
	struct store_key k;

	store_key_init(&k);
	store_key_put_u64(&k, p->key);
	return store_put(txn, p->dbi, k.buf, k.len, p->val, p->vlen);
}

static int
run_put(struct store *st, enum store_dbi dbi, uint64_t key, const void *val,
    size_t vlen)
{
	struct put_arg p = { dbi, key, val, vlen };

	return store_run(st, apply_put, &p);
}

/* Value bytes derived from the key, so every read can be checked. */
static void
fill_value(uint8_t *v, size_t n, uint64_t key)
{
	uint64_t x = key * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[i] = (uint8_t)x;
	}
}

static int
get_u64(struct store_txn *txn, enum store_dbi dbi, uint64_t key,
    struct store_val *v)
{
	struct store_key k;

	store_key_init(&k);
	store_key_put_u64(&k, key);
	return store_get(txn, dbi, k.buf, k.len, v);
}

static uint64_t
key_u64(const struct store_val *k)
{
	struct store_key_reader r;

	store_key_reader_init(&r, k->data, k->len);
	return store_key_get_u64(&r);
}

static struct store *
open_dir_sync(const char *dir, size_t map_initial, bool nosync)
{
	struct store_options o = { .dir = dir, .map_initial = map_initial,
	    .nosync = nosync };
	struct store *st = NULL;

	ck_assert_int_eq(store_open(&st, &o), CD_EOK);
	return st;
}

static struct store *
open_dir(const char *dir, size_t map_initial)
{
	return open_dir_sync(dir, map_initial, false);
}

static int
apply_iter_del_odd(struct store_txn *txn, void *arg)
{
	struct store_iter *it;
	struct store_val k;
	int rc, *deleted = arg;

	*deleted = 0;
	if ((rc = store_iter_open(txn, STORE_DBI_SPOOL, &it)) != CD_EOK)
		return rc;
	for (rc = store_iter_seek(it, NULL, 0); rc == CD_EOK;
	    rc = store_iter_next(it)) {
		store_iter_get(it, &k, NULL);
		if (key_u64(&k) % 2 == 1) {
			if ((rc = store_iter_del(it)) != CD_EOK)
				break;
			(*deleted)++;
		}
	}
	store_iter_close(it);
	return rc == CD_ENOTFOUND ? CD_EOK : rc;
}

/* Delete key 20 through a cursor; the neighbours must be 10 and 30. */
static int
apply_del_then_prev(struct store_txn *txn, void *arg)
{
	struct store_iter *it;
	struct store_key k;
	struct store_val kv;
	uint64_t *got = arg;
	int rc;

	store_key_init(&k);
	store_key_put_u64(&k, 20);
	if ((rc = store_iter_open(txn, STORE_DBI_SPOOL, &it)) != CD_EOK)
		return rc;
	if ((rc = store_iter_seek(it, k.buf, k.len)) == CD_EOK &&
	    (rc = store_iter_del(it)) == CD_EOK &&
	    (rc = store_iter_prev(it)) == CD_EOK) {
		store_iter_get(it, &kv, NULL);
		got[0] = key_u64(&kv);
		if ((rc = store_iter_next(it)) == CD_EOK) {
			store_iter_get(it, &kv, NULL);
			got[1] = key_u64(&kv);
		}
	}
	store_iter_close(it);
	return rc;
}

START_TEST(test_basic)
{
	char *dir = harness_mkdtemp();
	char sub[4096];
	struct store *st;
	struct store_txn *txn;
	struct store_iter *it;
	struct store_val k, v;
	struct store_stats ss;
	uint64_t n;
	uint8_t val[100];
	int deleted;

	/* The directory is created (with parents) when missing. */
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	/* Many small commits: without fsync (the benchmark switch) to keep
	 * the test fast; durability is the crash test's business. */
	st = open_dir_sync(sub, 0, true);
	ck_assert_str_eq(store_dbi_name(STORE_DBI_META), "meta");
	ck_assert_str_eq(store_dbi_name(STORE_DBI_DNS_IP), "dns_ip");
	ck_assert_ptr_null(store_dbi_name(STORE_DBI_COUNT));

	/* Insert out of order; the store returns key order. */
	for (uint64_t i = 0; i < 500; i++) {
		uint64_t key = (i * 7919) % 500 * 10;

		fill_value(val, sizeof(val), key);
		ck_assert_int_eq(run_put(st, STORE_DBI_SPOOL, key, val,
		    sizeof(val)), CD_EOK);
	}
	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	ck_assert_int_eq(store_count(txn, STORE_DBI_SPOOL, &n), CD_EOK);
	ck_assert_uint_eq(n, 500);
	ck_assert_int_eq(store_count(txn, STORE_DBI_HOSTS, &n), CD_EOK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(get_u64(txn, STORE_DBI_SPOOL, 1230, &v), CD_EOK);
	fill_value(val, sizeof(val), 1230);
	ck_assert_uint_eq(v.len, sizeof(val));
	ck_assert_mem_eq(v.data, val, sizeof(val));
	ck_assert_int_eq(get_u64(txn, STORE_DBI_SPOOL, 1231, &v),
	    CD_ENOTFOUND);
	ck_assert_int_eq(get_u64(txn, STORE_DBI_HOSTS, 1230, &v),
	    CD_ENOTFOUND);
	/* Writes through a read transaction are refused. */
	ck_assert_int_eq(store_put(txn, STORE_DBI_SPOOL, "k", 1, "v", 1),
	    -EINVAL);
	ck_assert_int_eq(store_del(txn, STORE_DBI_SPOOL, "k", 1), -EINVAL);

	ck_assert_int_eq(store_iter_open(txn, STORE_DBI_SPOOL, &it), CD_EOK);
	uint64_t expect = 0;
	int rc;
	for (rc = store_iter_seek(it, NULL, 0); rc == CD_EOK;
	    rc = store_iter_next(it)) {
		store_iter_get(it, &k, &v);
		ck_assert_uint_eq(key_u64(&k), expect);
		fill_value(val, sizeof(val), expect);
		ck_assert_mem_eq(v.data, val, sizeof(val));
		expect += 10;
	}
	ck_assert_int_eq(rc, CD_ENOTFOUND);
	ck_assert_uint_eq(expect, 5000);
	/* Seek lands on the first key >= the probe. */
	struct store_key probe;
	store_key_init(&probe);
	store_key_put_u64(&probe, 1234);
	ck_assert_int_eq(store_iter_seek(it, probe.buf, probe.len), CD_EOK);
	store_iter_get(it, &k, NULL);
	ck_assert_uint_eq(key_u64(&k), 1240);
	ck_assert_int_eq(store_iter_prev(it), CD_EOK);
	store_iter_get(it, &k, NULL);
	ck_assert_uint_eq(key_u64(&k), 1230);
	ck_assert_int_eq(store_iter_last(it), CD_EOK);
	store_iter_get(it, &k, NULL);
	ck_assert_uint_eq(key_u64(&k), 4990);
	ck_assert_int_eq(store_iter_next(it), CD_ENOTFOUND);
	store_iter_get(it, &k, &v);
	ck_assert_ptr_null(k.data);
	store_key_init(&probe);
	store_key_put_u64(&probe, 4991);
	ck_assert_int_eq(store_iter_seek(it, probe.buf, probe.len),
	    CD_ENOTFOUND);
	ck_assert_int_eq(store_iter_del(it), -EINVAL);
	store_iter_close(it);
	store_read_end(txn);

	/* Delete while iterating in a write transaction. */
	ck_assert_int_eq(store_run(st, apply_iter_del_odd, &deleted), CD_EOK);
	ck_assert_int_eq(deleted, 0);
	for (uint64_t i = 1; i < 400; i += 2)
		ck_assert_int_eq(run_put(st, STORE_DBI_SPOOL, i, "x", 1),
		    CD_EOK);
	ck_assert_int_eq(store_run(st, apply_iter_del_odd, &deleted), CD_EOK);
	ck_assert_int_eq(deleted, 200);
	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	ck_assert_int_eq(store_count(txn, STORE_DBI_SPOOL, &n), CD_EOK);
	ck_assert_uint_eq(n, 500);
	ck_assert_int_eq(store_iter_open(txn, STORE_DBI_SPOOL, &it), CD_EOK);
	n = 0;
	for (rc = store_iter_seek(it, NULL, 0); rc == CD_EOK;
	    rc = store_iter_next(it)) {
		store_iter_get(it, &k, NULL);
		ck_assert_uint_eq(key_u64(&k) % 10, 0);
		n++;
	}
	ck_assert_uint_eq(n, 500);
	store_iter_close(it);
	store_read_end(txn);

	ck_assert_int_eq(store_stats(st, &ss), CD_EOK);
	ck_assert_uint_eq(ss.entries[STORE_DBI_SPOOL], 500);
	uint64_t nb[2] = { 0, 0 };
	ck_assert_int_eq(store_run(st, apply_del_then_prev, nb), CD_EOK);
	ck_assert_uint_eq(nb[0], 10);
	ck_assert_uint_eq(nb[1], 30);
	ck_assert_uint_eq(ss.entries[STORE_DBI_META], 1);
	ck_assert_uint_eq(ss.map_size, (size_t)64 << 20);
	ck_assert_uint_gt(ss.used_bytes, 0);
	ck_assert_uint_ge(ss.page_size, 4096);
	ck_assert_uint_eq(ss.commits, 500 + 200 + 2);
	ck_assert_uint_eq(ss.jobs, 500 + 200 + 2);
	ck_assert_uint_eq(ss.failures, 0);
	ck_assert(!store_is_full(st));
	store_close(st);
	store_close(NULL);

	/* Reopen: the data survived. */
	st = open_dir(sub, 0);
	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	ck_assert_int_eq(get_u64(txn, STORE_DBI_SPOOL, 4990, &v), CD_EOK);
	store_read_end(txn);
	store_close(st);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

static int
apply_set_format(struct store_txn *txn, void *arg)
{
	return store_put(txn, STORE_DBI_META, "format", 6, arg, 4);
}

START_TEST(test_format_mismatch)
{
	char *dir = harness_mkdtemp();
	char path[4096];
	struct store_options o = { .dir = dir };
	struct store *st;
	FILE *f;

	st = open_dir(dir, 0);
	ck_assert_int_eq(store_run(st, apply_set_format, "\0\0\0\2"), CD_EOK);
	store_close(st);
	ck_assert_int_eq(store_open(&st, &o), CD_ECORRUPT);
	ck_assert_ptr_null(st);
	harness_rmdir_rf(dir);

	/* A file that is no LMDB environment at all. */
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 4096; i++)
		fputs("not lmdb ", f);
	fclose(f);
	ck_assert_int_eq(store_open(&st, &o), CD_ECORRUPT);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

#define GROUP_THREADS	4
#define GROUP_JOBS	250

struct group_job {
	struct store_job job;
	struct put_arg	 put;
	int		 rc;
};

static atomic_int group_done;

static int
group_job_apply(struct store_txn *txn, void *arg)
{
	struct group_job *g = arg;

	return apply_put(txn, &g->put);
}

static void
group_job_done(int rc, void *arg)
{
	struct group_job *g = arg;

	g->rc = rc;
	atomic_fetch_add(&group_done, 1);
}

struct group_thread {
	struct store	*st;
	struct group_job *jobs;
	unsigned	 base;
};

static void *
group_submitter(void *arg)
{
	struct group_thread *t = arg;

	for (unsigned i = 0; i < GROUP_JOBS; i++) {
		struct group_job *g = &t->jobs[i];

		g->put = (struct put_arg){ STORE_DBI_RECORDS, t->base + i,
		    &g->put.key, sizeof(g->put.key) };
		g->rc = 1;
		g->job = (struct store_job){ group_job_apply, group_job_done, g,
		    NULL };
		ck_assert_int_eq(store_submit(t->st, &g->job), CD_EOK);
	}
	return NULL;
}

static void
wait_done(atomic_int *counter, int want)
{
	for (int i = 0; atomic_load(counter) < want; i++) {
		ck_assert_msg(i < 60000, "jobs not done: %d of %d",
		    atomic_load(counter), want);
		usleep(1000);
	}
}

START_TEST(test_group_commit)
{
	char *dir = harness_mkdtemp();
	struct store *st = open_dir(dir, 0);
	struct group_job *jobs = calloc(GROUP_THREADS * GROUP_JOBS,
	    sizeof(*jobs));
	struct group_thread t[GROUP_THREADS];
	pthread_t tid[GROUP_THREADS];
	struct store_stats ss;
	struct store_txn *txn;
	struct store_val v;

	atomic_store(&group_done, 0);
	for (int i = 0; i < GROUP_THREADS; i++) {
		t[i] = (struct group_thread){ st, jobs + i * GROUP_JOBS,
		    (unsigned)i * 100000 };
		pthread_create(&tid[i], NULL, group_submitter, &t[i]);
	}
	for (int i = 0; i < GROUP_THREADS; i++)
		pthread_join(tid[i], NULL);
	wait_done(&group_done, GROUP_THREADS * GROUP_JOBS);
	for (int i = 0; i < GROUP_THREADS * GROUP_JOBS; i++)
		ck_assert_int_eq(jobs[i].rc, CD_EOK);
	ck_assert_int_eq(store_stats(st, &ss), CD_EOK);
	ck_assert_uint_eq(ss.jobs, GROUP_THREADS * GROUP_JOBS);
	ck_assert_uint_eq(ss.entries[STORE_DBI_RECORDS],
	    GROUP_THREADS * GROUP_JOBS);
	ck_assert_msg(ss.commits < GROUP_THREADS * GROUP_JOBS,
	    "no group commit: %ju commits", (uintmax_t)ss.commits);
	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	for (int i = 0; i < GROUP_THREADS; i++) {
		for (unsigned j = 0; j < GROUP_JOBS; j++) {
			uint64_t key = (uint64_t)i * 100000 + j;

			ck_assert_int_eq(get_u64(txn, STORE_DBI_RECORDS, key,
			    &v), CD_EOK);
			ck_assert_mem_eq(v.data, &key, sizeof(key));
		}
	}
	store_read_end(txn);
	store_close(st);
	free(jobs);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

/* A job whose apply() blocks the writer until released, so that the jobs
 * submitted meanwhile are taken as one group. */
struct plug {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	bool		 entered;
	bool		 released;
	struct store_job job;
	int		 rc;
	atomic_int	*done;
};

static int
plug_apply(struct store_txn *txn, void *arg)
{
	struct plug *p = arg;

	pthread_mutex_lock(&p->lock);
	p->entered = true;
	pthread_cond_broadcast(&p->cond);
	while (!p->released)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return store_put(txn, STORE_DBI_META, "plug", 4, "1", 1);
}

static void
plug_done(int rc, void *arg)
{
	struct plug *p = arg;

	p->rc = rc;
	atomic_fetch_add(p->done, 1);
}

static void
plug_insert(struct store *st, struct plug *p, atomic_int *done)
{
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->entered = p->released = false;
	p->rc = 1;
	p->done = done;
	p->job = (struct store_job){ plug_apply, plug_done, p, NULL };
	ck_assert_int_eq(store_submit(st, &p->job), CD_EOK);
	pthread_mutex_lock(&p->lock);
	while (!p->entered)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

static void
plug_release(struct plug *p)
{
	pthread_mutex_lock(&p->lock);
	p->released = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void
plug_destroy(struct plug *p)
{
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

static int
apply_put_or_fail(struct store_txn *txn, void *arg)
{
	struct group_job *g = arg;
	int rc = apply_put(txn, &g->put);

	/* The failing job writes first: that write must not survive. */
	if (rc == CD_EOK && g->put.key == 5)
		rc = CD_EPARSE;
	return rc;
}

static atomic_int fail_done;

static void
fail_job_done(int rc, void *arg)
{
	struct group_job *g = arg;

	g->rc = rc;
	atomic_fetch_add(&fail_done, 1);
}

START_TEST(test_failing_apply_isolated)
{
	char *dir = harness_mkdtemp();
	struct store *st = open_dir(dir, 0);
	struct group_job g[10];
	struct plug plug;
	struct store_stats before, after;
	struct store_txn *txn;
	struct store_val v;

	atomic_store(&fail_done, 0);
	plug_insert(st, &plug, &fail_done);
	ck_assert_int_eq(store_stats(st, &before), CD_EOK);
	for (int i = 0; i < 10; i++) {
		g[i].put = (struct put_arg){ STORE_DBI_SPOOL, (uint64_t)i,
		    "v", 1 };
		g[i].rc = 1;
		g[i].job = (struct store_job){ apply_put_or_fail,
		    fail_job_done, &g[i], NULL };
		ck_assert_int_eq(store_submit(st, &g[i].job), CD_EOK);
	}
	plug_release(&plug);
	wait_done(&fail_done, 11);
	ck_assert_int_eq(plug.rc, CD_EOK);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(g[i].rc, i == 5 ? CD_EPARSE : CD_EOK);
	ck_assert_int_eq(store_stats(st, &after), CD_EOK);
	ck_assert_uint_eq(after.failures, 1);
	ck_assert_uint_eq(after.jobs, 10);
	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(get_u64(txn, STORE_DBI_SPOOL, (uint64_t)i,
		    &v), i == 5 ? CD_ENOTFOUND : CD_EOK);
	store_read_end(txn);
	store_close(st);
	plug_destroy(&plug);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

static int
apply_nested_run(struct store_txn *txn, void *arg)
{
	return store_run(arg, apply_set_format, "\0\0\0\1");
}

START_TEST(test_run_from_writer)
{
	char *dir = harness_mkdtemp();
	struct store *st = open_dir(dir, 0);

	ck_assert_int_eq(store_run(st, apply_nested_run, st), -EDEADLK);
	store_close(st);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

struct close_arg {
	struct store	*st;
	atomic_bool	 closed;
};

static void *
closer(void *arg)
{
	struct close_arg *c = arg;

	store_close(c->st);
	atomic_store(&c->closed, true);
	return NULL;
}

START_TEST(test_close_drains)
{
	char *dir = harness_mkdtemp();
	struct store *st = open_dir(dir, 0);
	struct group_job g[50], extra[100];
	struct plug plug;
	struct close_arg c = { .st = st };
	struct store_txn *txn;
	struct store_val v;
	pthread_t tid;
	atomic_int done;
	int rc, accepted = 0;

	atomic_store(&done, 0);
	atomic_store(&group_done, 0);
	plug_insert(st, &plug, &done);
	for (int i = 0; i < 50; i++) {
		g[i].put = (struct put_arg){ STORE_DBI_CURSORS, (uint64_t)i,
		    "c", 1 };
		g[i].rc = 1;
		g[i].job = (struct store_job){ group_job_apply, group_job_done,
		    &g[i], NULL };
		ck_assert_int_eq(store_submit(st, &g[i].job), CD_EOK);
	}
	pthread_create(&tid, NULL, closer, &c);
	/* Once closing has begun, new jobs are refused. Those accepted just
	 * before must be drained like the others. */
	for (;;) {
		struct group_job *e = &extra[accepted];

		ck_assert_int_lt(accepted, 100);
		e->put = (struct put_arg){ STORE_DBI_CURSORS,
		    1000 + (uint64_t)accepted, "c", 1 };
		e->rc = 1;
		e->job = (struct store_job){ group_job_apply, group_job_done, e,
		    NULL };
		if ((rc = store_submit(st, &e->job)) != CD_EOK)
			break;
		accepted++;
		usleep(1000);
	}
	ck_assert_int_eq(rc, CD_ESHUTDOWN);
	ck_assert(!atomic_load(&c.closed));
	/* ...and the queued ones still run once the writer is free. */
	plug_release(&plug);
	pthread_join(tid, NULL);
	ck_assert(atomic_load(&c.closed));
	ck_assert_int_eq(plug.rc, CD_EOK);
	ck_assert_int_eq(atomic_load(&group_done), 50 + accepted);
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(g[i].rc, CD_EOK);
	for (int i = 0; i < accepted; i++)
		ck_assert_int_eq(extra[i].rc, CD_EOK);
	plug_destroy(&plug);

	st = open_dir(dir, 0);
	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(get_u64(txn, STORE_DBI_CURSORS, (uint64_t)i,
		    &v), CD_EOK);
	store_read_end(txn);
	store_close(st);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

#define GROW_VALUE	(32 * 1024)
#define GROW_COUNT	640	/* 20 MiB of values */

struct reader_arg {
	struct store	*st;
	atomic_bool	 stop;
	atomic_int	 reads;
	atomic_int	 bad;
};

/* Reads through growth: every value seen must match its key. */
static void *
grow_reader(void *arg)
{
	struct reader_arg *r = arg;
	uint8_t *want = malloc(GROW_VALUE);

	while (!atomic_load(&r->stop)) {
		struct store_txn *txn;
		struct store_iter *it;
		struct store_val k, v;

		if (store_read_begin(r->st, &txn) != CD_EOK) {
			atomic_fetch_add(&r->bad, 1);
			continue;
		}
		if (store_iter_open(txn, STORE_DBI_SPOOL, &it) == CD_EOK) {
			if (store_iter_last(it) == CD_EOK) {
				store_iter_get(it, &k, &v);
				fill_value(want, GROW_VALUE, key_u64(&k));
				if (v.len != GROW_VALUE ||
				    memcmp(v.data, want, GROW_VALUE) != 0)
					atomic_fetch_add(&r->bad, 1);
			}
			store_iter_close(it);
		}
		store_read_end(txn);
		atomic_fetch_add(&r->reads, 1);
	}
	free(want);
	return NULL;
}

START_TEST(test_map_growth)
{
	char *dir = harness_mkdtemp();
	struct store *st = open_dir(dir, 1 << 20);
	uint8_t *val = malloc(GROW_VALUE);
	struct reader_arg ra = { .st = st };
	struct store_stats ss;
	struct store_txn *txn;
	struct store_val v;
	pthread_t tid[2];

	ck_assert_int_eq(store_stats(st, &ss), CD_EOK);
	ck_assert_uint_eq(ss.map_size, 1 << 20);
	for (int i = 0; i < 2; i++)
		pthread_create(&tid[i], NULL, grow_reader, &ra);
	for (uint64_t i = 0; i < GROW_COUNT; i++) {
		fill_value(val, GROW_VALUE, i);
		ck_assert_int_eq(run_put(st, STORE_DBI_SPOOL, i, val,
		    GROW_VALUE), CD_EOK);
	}
	atomic_store(&ra.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	ck_assert_int_eq(atomic_load(&ra.bad), 0);
	ck_assert_int_gt(atomic_load(&ra.reads), 0);
	ck_assert_int_eq(store_stats(st, &ss), CD_EOK);
	ck_assert_uint_ge(ss.map_size, (size_t)32 << 20);
	ck_assert_uint_eq(ss.failures, 0);
	store_close(st);

	/* Reopened with the small initial size, the map covers the data. */
	st = open_dir(dir, 1 << 20);
	ck_assert_int_eq(store_stats(st, &ss), CD_EOK);
	ck_assert_uint_ge(ss.map_size, (size_t)20 << 20);
	ck_assert_uint_eq(ss.entries[STORE_DBI_SPOOL], GROW_COUNT);
	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	for (uint64_t i = 0; i < GROW_COUNT; i++) {
		ck_assert_int_eq(get_u64(txn, STORE_DBI_SPOOL, i, &v), CD_EOK);
		fill_value(val, GROW_VALUE, i);
		ck_assert_uint_eq(v.len, GROW_VALUE);
		ck_assert_mem_eq(v.data, val, GROW_VALUE);
	}
	store_read_end(txn);
	store_close(st);
	free(val);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

START_TEST(test_map_max)
{
	char *dir = harness_mkdtemp();
	struct store_options o = { .dir = dir, .map_initial = 1 << 20,
	    .map_max = 2 << 20 };
	struct store *st;
	struct store_stats ss;
	uint8_t *val = calloc(1, 256 * 1024);
	int rc = CD_EOK;
	uint64_t i;

	ck_assert_int_eq(store_open(&st, &o), CD_EOK);
	for (i = 0; i < 64 && rc == CD_EOK; i++)
		rc = run_put(st, STORE_DBI_SPOOL, i, val, 256 * 1024);
	ck_assert_int_eq(rc, CD_EMAPFULL);
	ck_assert_uint_gt(i, 2);
	ck_assert_int_eq(store_stats(st, &ss), CD_EOK);
	ck_assert_uint_eq(ss.map_size, 2 << 20);
	/* A full map is not a full disk, and small writes still fit. */
	ck_assert(!store_is_full(st));
	ck_assert_int_eq(run_put(st, STORE_DBI_HOSTS, 1, "h", 1), CD_EOK);
	store_close(st);
	free(val);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

/* Another process grows the map while we have the environment open: our
 * next transaction sees MDB_MAP_RESIZED and must adopt the new size. */
START_TEST(test_map_resized_elsewhere)
{
	char *dir = harness_mkdtemp();
	struct store *st;
	struct store_txn *txn;
	struct store_val v;
	struct store_stats ss;
	uint8_t *val = malloc(100 * 1024);
	int fds[2], status;
	char go;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	/* Fork before opening: LMDB handles must not cross a fork. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[1]);
		if (read(fds[0], &go, 1) != 1)
			_exit(2);
		st = open_dir(dir, 1 << 20);
		for (uint64_t i = 0; i < 40; i++) {
			fill_value(val, 100 * 1024, i);
			if (run_put(st, STORE_DBI_SPOOL, i, val, 100 * 1024) !=
			    CD_EOK)
				_exit(3);
		}
		store_close(st);
		_exit(0);
	}
	close(fds[0]);
	st = open_dir(dir, 1 << 20);
	ck_assert_int_eq(run_put(st, STORE_DBI_HOSTS, 1, "h", 1), CD_EOK);
	/* A read transaction now, so a reset one waits for renewal. */
	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	ck_assert_int_eq(get_u64(txn, STORE_DBI_HOSTS, 1, &v), CD_EOK);
	store_read_end(txn);
	ck_assert_int_eq(write(fds[1], "g", 1), 1);
	close(fds[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	for (uint64_t i = 0; i < 40; i++) {
		ck_assert_int_eq(get_u64(txn, STORE_DBI_SPOOL, i, &v), CD_EOK);
		fill_value(val, 100 * 1024, i);
		ck_assert_mem_eq(v.data, val, 100 * 1024);
	}
	store_read_end(txn);
	ck_assert_int_eq(store_stats(st, &ss), CD_EOK);
	ck_assert_uint_ge(ss.map_size, (size_t)4 << 20);
	ck_assert_int_eq(run_put(st, STORE_DBI_SPOOL, 100, "x", 1), CD_EOK);
	store_close(st);
	free(val);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

/* The reader table is finite: past it, store_read_begin() says busy (after
 * trying to clear stale slots) and recovers once readers end. */
START_TEST(test_readers_full)
{
	char *dir = harness_mkdtemp();
	struct store *st = open_dir(dir, 0);
	struct store_txn *txn[300];
	int n = 0, rc;

	while (n < 300 && (rc = store_read_begin(st, &txn[n])) == CD_EOK)
		n++;
	ck_assert_int_eq(rc, CD_EBUSY);
	ck_assert_int_gt(n, 100);
	ck_assert_int_lt(n, 300);
	/* The writer holds no reader slot: writes go on. */
	ck_assert_int_eq(run_put(st, STORE_DBI_HOSTS, 1, "h", 1), CD_EOK);
	for (int i = 0; i < n; i++)
		store_read_end(txn[i]);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(store_read_begin(st, &txn[i]), CD_EOK);
	for (int i = 0; i < n; i++)
		store_read_end(txn[i]);
	store_close(st);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

static uint64_t
last_seq(struct store *st)
{
	struct store_txn *txn;
	struct store_iter *it;
	struct store_val k;
	uint64_t seq = 0;

	if (store_read_begin(st, &txn) != CD_EOK)
		return UINT64_MAX;
	if (store_iter_open(txn, STORE_DBI_SPOOL, &it) == CD_EOK) {
		if (store_iter_last(it) == CD_EOK) {
			store_iter_get(it, &k, NULL);
			seq = key_u64(&k);
		}
		store_iter_close(it);
	}
	store_read_end(txn);
	return seq;
}

/* The child: write sequence numbers one commit at a time and report each
 * acknowledged one to the parent, until killed. */
static void __attribute__((noreturn))
crash_child(const char *dir, int fd)
{
	struct store_options o = { .dir = dir, .map_initial = 1 << 20 };
	struct store *st;
	uint8_t val[200];

	if (store_open(&st, &o) != CD_EOK)
		_exit(2);
	for (uint64_t seq = last_seq(st) + 1; ; seq++) {
		fill_value(val, sizeof(val), seq);
		if (run_put(st, STORE_DBI_SPOOL, seq, val, sizeof(val)) !=
		    CD_EOK)
			_exit(3);
		if (write(fd, &seq, sizeof(seq)) != sizeof(seq))
			_exit(4);
	}
}

START_TEST(test_crash_reopen)
{
	char *dir = harness_mkdtemp();
	unsigned seed = (unsigned)time(NULL);
	uint64_t total = 0;

	printf("crash test seed %u\n", seed);
	srand(seed);
	for (int iter = 0; iter < 10; iter++) {
		uint64_t acked[65536], seq;
		size_t nacked = 0;
		int fds[2], status;
		pid_t pid;

		ck_assert_int_eq(pipe(fds), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			crash_child(dir, fds[1]);
		}
		close(fds[1]);
		usleep(20000 + (useconds_t)(rand() % 200000));
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFSIGNALED(status) &&
		    WTERMSIG(status) == SIGKILL, "child ended by itself: %d",
		    status);
		while (read(fds[0], &seq, sizeof(seq)) == sizeof(seq))
			if (nacked < 65536)
				acked[nacked++] = seq;
		close(fds[0]);

		struct store_options o = { .dir = dir, .map_initial = 1 << 20 };
		struct store *st = NULL;
		struct store_txn *txn;
		struct store_val v;
		uint8_t val[200];

		ck_assert_int_eq(store_open(&st, &o), CD_EOK);
		ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
		for (size_t i = 0; i < nacked; i++) {
			ck_assert_msg(get_u64(txn, STORE_DBI_SPOOL, acked[i],
			    &v) == CD_EOK, "iteration %d: acked seq %ju lost",
			    iter, (uintmax_t)acked[i]);
			fill_value(val, sizeof(val), acked[i]);
			ck_assert_mem_eq(v.data, val, sizeof(val));
		}
		store_read_end(txn);
		/* The reopened store takes writes again. */
		ck_assert_int_eq(run_put(st, STORE_DBI_CURSORS, 1, "x", 1),
		    CD_EOK);
		store_close(st);
		total += nacked;
	}
	ck_assert_uint_gt(total, 10);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

static int
apply_del_key(struct store_txn *txn, void *arg)
{
	struct store_key k;

	store_key_init(&k);
	store_key_put_u64(&k, *(uint64_t *)arg);
	return store_del(txn, STORE_DBI_SPOOL, k.buf, k.len);
}

/* A real full file system: a 2 MiB tmpfs. Mounting needs privileges; the
 * test is skipped, saying so, where it is not allowed. Assertions come after
 * the unmount so a failure leaves no mount behind. */
START_TEST(test_disk_full)
{
	char *mnt = harness_mkdtemp(), dir[4096];
	struct store_options o = { .dir = dir, .map_initial = 1 << 20,
	    .map_max = 64 << 20 };
	struct store *st = NULL;
	uint8_t val[16384];
	uint64_t n = 0, zero = 0, present = 0;
	int open_rc, rc = CD_EOK, rc_after = -1, reopen_rc = -1;
	bool full = false, full_after = true;

	if (mount("tmpfs", mnt, "tmpfs", 0, "size=2m") != 0) {
		printf("test_disk_full skipped: cannot mount a tmpfs: %s\n",
		    strerror(errno));
		rmdir(mnt);
		free(mnt);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/db", mnt);
	open_rc = store_open(&st, &o);
	if (open_rc == CD_EOK) {
		for (n = 0; n < 1000 && rc == CD_EOK; n++) {
			fill_value(val, sizeof(val), n);
			rc = run_put(st, STORE_DBI_SPOOL, n, val, sizeof(val));
		}
		full = store_is_full(st);
		/* Freeing space lets a later commit succeed. */
		rc_after = store_run(st, apply_del_key, &zero);
		full_after = store_is_full(st);
		store_close(st);
		st = NULL;
		if ((reopen_rc = store_open(&st, &o)) == CD_EOK) {
			struct store_txn *txn;
			struct store_val v;

			if (store_read_begin(st, &txn) == CD_EOK) {
				for (uint64_t i = 1; i + 1 < n; i++)
					if (get_u64(txn, STORE_DBI_SPOOL, i,
					    &v) == CD_EOK)
						present++;
				store_read_end(txn);
			}
			store_close(st);
		}
	}
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
	free(mnt);

	ck_assert_int_eq(open_rc, CD_EOK);
	ck_assert_int_eq(rc, CD_EDISKFULL);
	ck_assert_uint_gt(n, 10);
	ck_assert(full);
	ck_assert_int_eq(rc_after, CD_EOK);
	ck_assert(!full_after);
	ck_assert_int_eq(reopen_rc, CD_EOK);
	/* Every acknowledged write but the deleted first one survived. */
	ck_assert_uint_eq(present, n - 2);
}
END_TEST

/* Records appended in key order (the spool's sequence numbers), written
 * with store_append_reserve() or with store_put_reserve() into a second
 * store: the same contents, fewer pages for the append mode. */
struct reserve_arg {
	bool		 append;
	uint64_t	 first;
	uint64_t	 n;
};

/* Value length of key i: spool-like sizes from 200 to about 3,000 bytes. */
static size_t
reserve_len(uint64_t i)
{
	return 200 + (size_t)((i * 2654435761u) % 2800);
}

static int
apply_reserve(struct store_txn *txn, void *arg)
{
	struct reserve_arg *a = arg;

	for (uint64_t i = a->first; i < a->first + a->n; i++) {
		struct store_key k;
		size_t len = reserve_len(i);
		void *p;
		int rc;

		store_key_init(&k);
		store_key_put_u64(&k, i);
		rc = a->append ?
		    store_append_reserve(txn, STORE_DBI_SPOOL, k.buf, k.len,
		    len, &p) :
		    store_put_reserve(txn, STORE_DBI_SPOOL, k.buf, k.len, len,
		    &p);
		if (rc != CD_EOK)
			return rc;
		fill_value(p, len, i);
	}
	return CD_EOK;
}

START_TEST(test_append_reserve)
{
	char *d1 = NULL, *d2 = NULL;
	struct store *s1 = harness_store_open(&d1), *s2 = harness_store_open(&d2);
	struct store_stats st1, st2;
	struct store_txn *t1, *t2;
	struct store_iter *i1, *i2;
	uint8_t want[4096];
	uint64_t count = 0;
	int r1, r2;

	/* Batches of 50 as the writer groups them, keys 1..4000. */
	for (uint64_t first = 1; first <= 4000; first += 50) {
		struct reserve_arg a1 = { true, first, 50 };
		struct reserve_arg a2 = { false, first, 50 };

		ck_assert_int_eq(store_run(s1, apply_reserve, &a1), CD_EOK);
		ck_assert_int_eq(store_run(s2, apply_reserve, &a2), CD_EOK);
	}
	/* A key that is not past the last one: replaced, as by a put. */
	{
		struct reserve_arg a1 = { true, 10, 5 };
		struct reserve_arg a2 = { false, 10, 5 };

		ck_assert_int_eq(store_run(s1, apply_reserve, &a1), CD_EOK);
		ck_assert_int_eq(store_run(s2, apply_reserve, &a2), CD_EOK);
	}
	ck_assert_int_eq(store_read_begin(s1, &t1), CD_EOK);
	ck_assert_int_eq(store_read_begin(s2, &t2), CD_EOK);
	ck_assert_int_eq(store_iter_open(t1, STORE_DBI_SPOOL, &i1), CD_EOK);
	ck_assert_int_eq(store_iter_open(t2, STORE_DBI_SPOOL, &i2), CD_EOK);
	for (r1 = store_iter_seek(i1, NULL, 0), r2 = store_iter_seek(i2, NULL, 0);
	    r1 == CD_EOK && r2 == CD_EOK;
	    r1 = store_iter_next(i1), r2 = store_iter_next(i2)) {
		struct store_val k1, v1, k2, v2;

		store_iter_get(i1, &k1, &v1);
		store_iter_get(i2, &k2, &v2);
		count++;
		ck_assert_uint_eq(key_u64(&k1), count);
		ck_assert_uint_eq(key_u64(&k2), count);
		fill_value(want, reserve_len(count), count);
		ck_assert_uint_eq(v1.len, reserve_len(count));
		ck_assert_uint_eq(v2.len, v1.len);
		ck_assert(memcmp(v1.data, want, v1.len) == 0);
		ck_assert(memcmp(v2.data, want, v2.len) == 0);
	}
	ck_assert_int_eq(r1, CD_ENOTFOUND);
	ck_assert_int_eq(r2, CD_ENOTFOUND);
	ck_assert_uint_eq(count, 4000);
	store_iter_close(i1);
	store_iter_close(i2);
	store_read_end(t1);
	store_read_end(t2);
	ck_assert_int_eq(store_stats(s1, &st1), CD_EOK);
	ck_assert_int_eq(store_stats(s2, &st2), CD_EOK);
	printf("append mode: %" PRIu64 " bytes in use, ordinary puts: %"
	    PRIu64 "\n", st1.used_bytes, st2.used_bytes);
	ck_assert_uint_lt(st1.used_bytes, st2.used_bytes);
	harness_store_close(s1, d1);
	harness_store_close(s2, d2);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_format_mismatch);
	tcase_add_test(tc, test_group_commit);
	tcase_add_test(tc, test_failing_apply_isolated);
	tcase_add_test(tc, test_run_from_writer);
	tcase_add_test(tc, test_close_drains);
	tcase_add_test(tc, test_map_growth);
	tcase_add_test(tc, test_map_max);
	tcase_add_test(tc, test_map_resized_elsewhere);
	tcase_add_test(tc, test_readers_full);
	tcase_add_test(tc, test_crash_reopen);
	tcase_add_test(tc, test_disk_full);
	tcase_add_test(tc, test_append_reserve);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
