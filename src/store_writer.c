/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The store's single writer thread. Submitters append jobs to a queue; the
 * writer takes whatever is queued (up to max_batch_jobs), applies all of it
 * in one write transaction and commits once, so one fsync covers every job
 * in the group. It never waits to fill a batch: while one commit is in
 * flight new jobs pile up and form the next group by themselves, so the
 * group grows with the load and a lone job is committed at once.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "store_int.h"

#define STORE_WRITER_BATCH	256
/* How often stale reader slots (from crashed processes or threads that
 * vanished inside a read transaction) are cleared. */
#define STORE_WRITER_CHECK_COMMITS	1000
#define STORE_WRITER_CHECK_SECS		60

struct store_run_ctx {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	bool		 done;
	int		 rc;
	int		(*apply)(struct store_txn *, void *);
	void		*arg;
};

static void	*store_writer_main(void *);
static void	 store_writer_batch(struct store *, struct store_job *,
		    size_t);
static int	 store_writer_txn(struct store *, struct store_job *, size_t,
		    bool *);
static void	 store_writer_finish(struct store *, struct store_job *,
		    int);
static int	 store_writer_run_apply(struct store_txn *, void *);
static void	 store_writer_run_done(int, void *);

int
store_open(struct store **out, const struct store_options *opt)
{
	struct store *st;
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -ENOMEM;
	st->st_max_batch = opt != NULL && opt->max_batch_jobs ?
	    opt->max_batch_jobs : STORE_WRITER_BATCH;
	pthread_mutex_init(&st->st_lock, NULL);
	/* The idle wait is timed for the periodic reader check; a monotonic
	 * clock keeps it immune to wall-clock jumps. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->st_cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&st->st_full, false);
	atomic_init(&st->st_commits, 0);
	atomic_init(&st->st_jobs, 0);
	atomic_init(&st->st_failures, 0);

	if ((rc = store_lmdb_open(&st->st_env, opt)) != CD_EOK)
		goto fail;
	if ((rc = pthread_create(&st->st_thread, NULL, store_writer_main,
	    st)) != 0) {
		log_err("store", "cannot start the writer thread");
		rc = -rc;
		goto fail;
	}
	st->st_running = true;
	*out = st;
	return CD_EOK;
fail:
	store_close(st);
	return rc;
}

void
store_drain(struct store *st)
{
	if (st == NULL)
		return;
	pthread_mutex_lock(&st->st_lock);
	st->st_stopping = true;
	pthread_cond_signal(&st->st_cond);
	pthread_mutex_unlock(&st->st_lock);
	/* The writer drains the queue before it exits, so every accepted job
	 * has had its done() call when the join returns. */
	if (st->st_running)
		pthread_join(st->st_thread, NULL);
	st->st_running = false;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	store_drain(st);
	store_lmdb_close(st->st_env);
	pthread_cond_destroy(&st->st_cond);
	pthread_mutex_destroy(&st->st_lock);
	free(st);
}

int
store_submit(struct store *st, struct store_job *job)
{
	if (st == NULL || job == NULL || job->apply == NULL)
		return -EINVAL;
	job->next = NULL;
	pthread_mutex_lock(&st->st_lock);
	if (st->st_stopping) {
		pthread_mutex_unlock(&st->st_lock);
		return CD_ESHUTDOWN;
	}
	if (st->st_tail != NULL)
		st->st_tail->next = job;
	else
		st->st_head = job;
	st->st_tail = job;
	pthread_cond_signal(&st->st_cond);
	pthread_mutex_unlock(&st->st_lock);
	return CD_EOK;
}

static int
store_writer_run_apply(struct store_txn *txn, void *arg)
{
	struct store_run_ctx *ctx = arg;

	return ctx->apply(txn, ctx->arg);
}

/* The waiter owns ctx on its stack: once done is set under the lock and
 * the lock released, the writer never touches ctx again. */
static void
store_writer_run_done(int rc, void *arg)
{
	struct store_run_ctx *ctx = arg;

	pthread_mutex_lock(&ctx->lock);
	ctx->rc = rc;
	ctx->done = true;
	pthread_cond_signal(&ctx->cond);
	pthread_mutex_unlock(&ctx->lock);
}

int
store_run(struct store *st, int (*apply)(struct store_txn *, void *),
    void *arg)
{
	struct store_run_ctx ctx = { .apply = apply, .arg = arg };
	struct store_job job = {
		.apply = store_writer_run_apply,
		.done = store_writer_run_done,
		.arg = &ctx,
	};
	int rc;

	if (st == NULL || apply == NULL)
		return -EINVAL;
	/* The writer would wait for itself. */
	if (st->st_running && pthread_equal(pthread_self(), st->st_thread))
		return -EDEADLK;
	pthread_mutex_init(&ctx.lock, NULL);
	pthread_cond_init(&ctx.cond, NULL);
	if ((rc = store_submit(st, &job)) == CD_EOK) {
		pthread_mutex_lock(&ctx.lock);
		while (!ctx.done)
			pthread_cond_wait(&ctx.cond, &ctx.lock);
		rc = ctx.rc;
		pthread_mutex_unlock(&ctx.lock);
	}
	pthread_cond_destroy(&ctx.cond);
	pthread_mutex_destroy(&ctx.lock);
	return rc;
}

static void *
store_writer_main(void *arg)
{
	struct store *st = arg;
	struct timespec now, last_check;
	uint64_t commits_at_check = 0;

	/* Named so its CPU can be told apart in top -H, perf and
	 * /proc/PID/task: it is the serial stage in front of every Ack. */
	pthread_setname_np(pthread_self(), "cd-store");
	clock_gettime(CLOCK_MONOTONIC, &last_check);
	pthread_mutex_lock(&st->st_lock);
	for (;;) {
		struct store_job *batch, *last;
		size_t n;

		while (st->st_head == NULL && !st->st_stopping) {
			struct timespec until = last_check;

			until.tv_sec += STORE_WRITER_CHECK_SECS;
			if (pthread_cond_timedwait(&st->st_cond, &st->st_lock,
			    &until) == ETIMEDOUT)
				break;
		}
		if (st->st_head != NULL) {
			/* Take what is queued now, up to one batch. */
			batch = last = st->st_head;
			for (n = 1; n < st->st_max_batch && last->next != NULL;
			    n++)
				last = last->next;
			st->st_head = last->next;
			if (st->st_head == NULL)
				st->st_tail = NULL;
			last->next = NULL;
			pthread_mutex_unlock(&st->st_lock);
			store_writer_batch(st, batch, n);
		} else if (st->st_stopping)
			break;
		else
			pthread_mutex_unlock(&st->st_lock);

		clock_gettime(CLOCK_MONOTONIC, &now);
		uint64_t commits = atomic_load(&st->st_commits);
		if (commits - commits_at_check >= STORE_WRITER_CHECK_COMMITS ||
		    now.tv_sec - last_check.tv_sec >= STORE_WRITER_CHECK_SECS) {
			store_lmdb_reader_check(st->st_env);
			commits_at_check = commits;
			last_check = now;
		}
		pthread_mutex_lock(&st->st_lock);
	}
	pthread_mutex_unlock(&st->st_lock);
	return NULL;
}

/*
 * Apply n jobs (a NULL-terminated list starting at first) in one write
 * transaction and commit it. The map grows and the whole group is retried
 * as often as needed. Returns the outcome for every job in the group;
 * *own is set when the failure belongs to one job's apply() rather than to
 * the group (the caller then isolates the failing job).
 */
static int
store_writer_txn(struct store *st, struct store_job *first, size_t n,
    bool *own)
{
	struct store_txn *txn;
	int rc;

	*own = false;
	for (;;) {
		struct store_job *j = first;
		size_t i;

		if ((rc = store_lmdb_write_begin(st->st_env, &txn)) != CD_EOK)
			return rc;
		for (i = 0; i < n; i++, j = j->next) {
			rc = j->apply(txn, j->arg);
			/* An apply() may ignore a store error; the sticky
			 * one still decides, map full above all. */
			int sticky = store_lmdb_txn_err(txn);

			if (sticky == CD_EMAPFULL) {
				rc = CD_EMAPFULL;
				break;
			}
			if (rc == CD_EOK)
				rc = sticky;
			if (rc != CD_EOK) {
				*own = true;
				break;
			}
		}
		if (i < n)
			store_lmdb_abort(txn);
		else
			rc = store_lmdb_commit(txn);
		if (rc == CD_EOK) {
			atomic_fetch_add(&st->st_commits, 1);
			atomic_store(&st->st_full, false);
			return CD_EOK;
		}
		if (rc == CD_EDISKFULL) {
			atomic_store(&st->st_full, true);
			return rc;
		}
		if (rc != CD_EMAPFULL || store_lmdb_grow(st->st_env) != CD_EOK)
			return rc;
	}
}

static void
store_writer_batch(struct store *st, struct store_job *batch, size_t n)
{
	struct store_job *j, *next;
	bool own;
	int rc;

	rc = store_writer_txn(st, batch, n, &own);
	/* One job's own error must not fail the others; neither may a group
	 * too large for one transaction or for the map at its maximum, where
	 * single jobs may still fit. Re-run them one per transaction. A full
	 * disk is everybody's problem: no retry, the next queue comes next. */
	if (n > 1 && (own || rc == CD_EMAPFULL || rc == CD_ETOOBIG)) {
		for (j = batch; j != NULL; j = next) {
			next = j->next;
			j->next = NULL;
			rc = store_writer_txn(st, j, 1, &own);
			store_writer_finish(st, j, rc);
		}
		return;
	}
	for (j = batch; j != NULL; j = next) {
		next = j->next;
		store_writer_finish(st, j, rc);
	}
}

/* Count and report one job's outcome; done() may free the job. */
static void
store_writer_finish(struct store *st, struct store_job *job, int rc)
{
	if (rc == CD_EOK)
		atomic_fetch_add(&st->st_jobs, 1);
	else
		atomic_fetch_add(&st->st_failures, 1);
	if (job->done != NULL)
		job->done(rc, job->arg);
}

int
store_stats(struct store *st, struct store_stats *out)
{
	int rc;

	if (st == NULL || out == NULL)
		return -EINVAL;
	if ((rc = store_lmdb_stats(st->st_env, out)) != CD_EOK)
		return rc;
	out->commits = atomic_load(&st->st_commits);
	out->jobs = atomic_load(&st->st_jobs);
	out->failures = atomic_load(&st->st_failures);
	return CD_EOK;
}

bool
store_is_full(struct store *st)
{
	return st != NULL && atomic_load(&st->st_full);
}
