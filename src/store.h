/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The store: one LMDB environment in the data directory. This header is the
 * only storage API the rest of collectord sees; no LMDB type appears here.
 *
 * Writes happen on one writer thread only. A module that wants to change the
 * store fills a struct store_job and submits it; the writer applies many
 * queued jobs inside one write transaction (group commit: one fsync for all
 * of them) and then calls each job's done() with the outcome. A job's apply()
 * may run more than once (the writer retries after growing the map, and
 * re-runs jobs one by one to isolate a failing one), so apply() must only
 * change the store through the transaction, never memory that outlives it;
 * anything learnt inside apply() that must survive goes into the job's own
 * arg and is reset at the start of apply().
 *
 * Readers use short read-only transactions (store_read_begin/end), never held
 * across a blocking call, store_run() included: growing the map waits for
 * every open transaction to end. For the same reason a thread holds at most
 * one read transaction, and apply() opens none (it has the write one).
 *
 * Keys are byte strings compared with memcmp: build them big-endian with
 * store_key.h so byte order is logical order. Values begin with a one-byte
 * format version owned by the module that writes them.
 */
#ifndef CD_STORE_H
#define CD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The named databases, all opened once at store_open(). Append new ones at
 * the end, before STORE_DBI_COUNT; the names are persistent. */
enum store_dbi {
	STORE_DBI_META,		/**< "meta": format version, counters */
	STORE_DBI_BOOKMARKS,	/**< "bookmarks": (source, subscription) -> BookmarkList XML */
	STORE_DBI_SOURCES,	/**< "sources": (source, subscription) -> registry record */
	STORE_DBI_HOSTS,	/**< "hosts": host -> first/last seen, counters */
	STORE_DBI_RECORDS,	/**< "records": (host, channel) -> claimed EventRecordID intervals (records.h); de-duplicates re-deliveries */
	STORE_DBI_SPOOL,	/**< "spool": seq -> stored event for the outputs */
	STORE_DBI_CURSORS,	/**< "cursors": output name -> last delivered seq */
	STORE_DBI_DNS_DOMAIN,	/**< "dns_domain": reversed domain -> aggregate */
	STORE_DBI_DNS_HOSTDOM,	/**< "dns_hostdom": (host, reversed domain) -> aggregate */
	STORE_DBI_DNS_REGDOM,	/**< "dns_regdom": reversed registered domain -> aggregate */
	STORE_DBI_DNS_FIRST,	/**< "dns_first": (first_seen, domain) -> nothing; fleet-wide "new since" */
	STORE_DBI_DNS_HOSTFIRST, /**< "dns_hostfirst": (host, first_seen, domain) -> nothing */
	STORE_DBI_DNS_IP,	/**< "dns_ip": (address, domain) -> first/last seen */
	STORE_DBI_PROCS,	/**< "procs": (host, ProcessGuid) -> process creation record (lolbas.c) */
	STORE_DBI_COUNT
};

struct store;
struct store_txn;
struct store_iter;

/** Options for store_open(). */
struct store_options {
	const char	*dir;		/**< data directory, created if missing */
	size_t		 map_initial;	/**< initial map size in bytes (0: 64 MiB) */
	size_t		 map_max;	/**< growth limit in bytes (0: 64 GiB) */
	bool		 nosync;	/**< no fsync at commit: fast and UNSAFE, for benchmarks only */
	unsigned	 max_batch_jobs; /**< jobs per group commit (0: 256) */
};

/** A borrowed byte string: valid until its transaction ends. */
struct store_val {
	const void	*data;
	size_t		 len;
};

/**
 * Open (or create) the environment, open every named database, check or
 * write the format-version record, and start the writer thread.
 * Returns CD_EOK and *out, or CD_ECORRUPT (other format), CD_ESTORE, -errno.
 */
int store_open(struct store **out, const struct store_options *opt);

/**
 * Stop accepting jobs, let the writer finish every queued job (each gets its
 * done() call) and stop the writer. Reads still work until store_close().
 * Once is enough; NULL is a no-op.
 */
void store_drain(struct store *st);

/**
 * store_drain(), then close the environment. NULL is a no-op.
 */
void store_close(struct store *st);

/** A unit of work for the writer thread. The submitter owns the memory and
 * must keep it alive until done() has been called. */
struct store_job {
	/** Called on the writer thread inside the write transaction; returns
	 * CD_EOK or an error, which aborts the job. May be called more than once. */
	int	(*apply)(struct store_txn *txn, void *arg);
	/** Called once on the writer thread after the commit (rc == CD_EOK:
	 * durable) or on failure (CD_EDISKFULL, CD_EMAPFULL, CD_ESHUTDOWN, or
	 * apply()'s own error). May free the job. */
	void	(*done)(int rc, void *arg);
	void	*arg;
	struct store_job *next;	/**< private to the store */
};

/**
 * Queue a job. CD_EOK, or CD_ESHUTDOWN once store_close() has begun (done()
 * is then not called). Thread-safe.
 */
int store_submit(struct store *st, struct store_job *job);

/**
 * Run apply(txn, arg) on the writer thread and wait for its commit.
 * Returns the outcome done() would see. Not callable from the writer thread.
 */
int store_run(struct store *st, int (*apply)(struct store_txn *, void *), void *arg);

/** Begin a read-only transaction. Keep it short. */
int store_read_begin(struct store *st, struct store_txn **out);
/** End a read-only transaction; values read through it become invalid. */
void store_read_end(struct store_txn *txn);

/** Look a key up. CD_EOK with *val, CD_ENOTFOUND, or CD_ESTORE. */
int store_get(struct store_txn *txn, enum store_dbi dbi,
    const void *key, size_t klen, struct store_val *val);
/** A value holding one big-endian u64: CD_EOK with *out, CD_ENOTFOUND,
 * CD_ECORRUPT when it is not 8 bytes, or CD_ESTORE. */
int store_get_be64(struct store_txn *txn, enum store_dbi dbi,
    const void *key, size_t klen, uint64_t *out);
/** Insert or replace (write transactions only). */
int store_put(struct store_txn *txn, enum store_dbi dbi,
    const void *key, size_t klen, const void *val, size_t vlen);
/**
 * Insert or replace with a value of vlen bytes that the caller writes
 * into *out (valid until the next store call in this transaction), so
 * that a value built for the store is not copied twice (MDB_RESERVE).
 * Not for databases with sorted duplicates. CD_EOK or as store_put().
 */
int store_put_reserve(struct store_txn *txn, enum store_dbi dbi,
    const void *key, size_t klen, size_t vlen, void **out);
/**
 * store_put_reserve() for a key that sorts after every key in dbi, such as
 * the spool's sequence numbers: LMDB's append mode then fills each page
 * instead of splitting it in the middle, so appended records take about
 * half the pages (and half the bytes written at each commit). A key that
 * does not sort last is inserted or replaced as by store_put_reserve().
 */
int store_append_reserve(struct store_txn *txn, enum store_dbi dbi,
    const void *key, size_t klen, size_t vlen, void **out);
/** Delete a key; CD_ENOTFOUND when absent (write transactions only). */
int store_del(struct store_txn *txn, enum store_dbi dbi,
    const void *key, size_t klen);
/** Number of entries in a database. */
int store_count(struct store_txn *txn, enum store_dbi dbi, uint64_t *out);

/** Open a cursor in txn; closed by store_iter_close() before the txn ends. */
int store_iter_open(struct store_txn *txn, enum store_dbi dbi, struct store_iter **out);
/** Position at the first key >= key (klen 0: the first key). CD_ENOTFOUND past the end. */
int store_iter_seek(struct store_iter *it, const void *key, size_t klen);
/** Position at the last key. CD_ENOTFOUND when empty. */
int store_iter_last(struct store_iter *it);
/** Move forward / backward. CD_ENOTFOUND at the end. */
int store_iter_next(struct store_iter *it);
int store_iter_prev(struct store_iter *it);
/** The current key and value (borrowed until the txn ends). */
void store_iter_get(struct store_iter *it, struct store_val *key, struct store_val *val);
/** Delete the current entry (write transactions only); the cursor stays valid:
 * store_iter_next() moves to the entry that followed the deleted one,
 * store_iter_prev() to the one before it. */
int store_iter_del(struct store_iter *it);
void store_iter_close(struct store_iter *it);

/** Size figures for /api/v1/stats. */
struct store_stats {
	uint64_t map_size;	/**< bytes mapped */
	uint64_t used_bytes;	/**< pages in use times page size */
	uint64_t page_size;
	uint64_t entries[STORE_DBI_COUNT];
	uint64_t commits;	/**< write transactions committed since open */
	uint64_t jobs;		/**< jobs committed since open */
	uint64_t failures;	/**< jobs that failed */
};
int store_stats(struct store *st, struct store_stats *out);

/** Name of a database, as stored in LMDB. */
const char *store_dbi_name(enum store_dbi dbi);

/** True when the last commit failed for lack of space and no later one has
 * succeeded: /healthz reports 503 and the listener refuses batches early. */
bool store_is_full(struct store *st);

#endif
