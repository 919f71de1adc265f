/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Private seam between store_writer.c (queue, writer thread, group commit)
 * and store_lmdb.c (the only file that knows LMDB). No LMDB type appears
 * here either: the environment is the opaque struct store_env.
 */
#ifndef CD_STORE_INT_H
#define CD_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct store_env;

struct store {
	struct store_env *st_env;
	unsigned	 st_max_batch;

	/* The queue of submitted jobs, guarded by st_lock. */
	pthread_mutex_t	 st_lock;
	pthread_cond_t	 st_cond;	/**< the writer waits for jobs */
	struct store_job *st_head;
	struct store_job *st_tail;
	bool		 st_stopping;	/**< store_close() has begun */
	bool		 st_running;	/**< the writer thread exists */
	pthread_t	 st_thread;

	atomic_bool	 st_full;	/**< last commit found no space */
	atomic_uint_fast64_t st_commits;
	atomic_uint_fast64_t st_jobs;
	atomic_uint_fast64_t st_failures;
};

/**
 * Create the directory, open the environment and every named database and
 * check or write the format record. *out is freed with store_lmdb_close().
 */
int store_lmdb_open(struct store_env **out, const struct store_options *opt);
/** Close the environment; no transaction may be active. NULL is a no-op. */
void store_lmdb_close(struct store_env *env);

/**
 * Begin the write transaction (writer thread only; one at a time). The
 * returned txn is owned by env and ended by store_lmdb_commit() or
 * store_lmdb_abort(). Handles MDB_MAP_RESIZED and MDB_READERS_FULL.
 */
int store_lmdb_write_begin(struct store_env *env, struct store_txn **out);
/**
 * Commit the write transaction unless an operation in it failed (its
 * sticky error is then returned and the transaction aborted). CD_EOK,
 * CD_EMAPFULL (grow and retry), CD_EDISKFULL, CD_ETOOBIG, CD_ESTORE.
 * The transaction has ended either way.
 */
int store_lmdb_commit(struct store_txn *txn);
/** Abort the write transaction. */
void store_lmdb_abort(struct store_txn *txn);
/** The sticky error of a transaction: the first failure that left LMDB's
 * transaction unusable (CD_EMAPFULL among others), or CD_EOK. */
int store_lmdb_txn_err(const struct store_txn *txn);

/**
 * Double the map size, capped at the maximum, behind the growth gate (no
 * transaction of this process may be active in the calling thread).
 * CD_EOK, or CD_EMAPFULL when the map is already at its maximum.
 */
int store_lmdb_grow(struct store_env *env);
/** Clear reader slots left by dead processes or threads (mdb_reader_check). */
void store_lmdb_reader_check(struct store_env *env);
/** Fill the size figures of *out (counters are left alone). */
int store_lmdb_stats(struct store_env *env, struct store_stats *out);

#endif
