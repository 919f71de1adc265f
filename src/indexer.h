/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The DNS index, applied after the Ack.
 *
 * A batch is acknowledged once its events are in the spool; its Sysmon DNS
 * queries are indexed a moment later (every INDEXER_INTERVAL_MS) by one
 * write job for everything acknowledged since. Indexing inside each batch's
 * own transaction dirtied a few random index pages per DNS query in every
 * group commit, and every Ack waited for those writes: one job every
 * 200 ms touches each hot page once (the disk's write operations at 20,000
 * events/s fell from about 12,000 to 6,700 per second) and no Ack waits for
 * it. Queries are answered from the index, so an event is visible to the
 * API about INDEXER_INTERVAL_MS after its Ack (stats: dns.index_pending).
 *
 * Nothing is lost in between: the observations waiting in memory are
 * spool records flagged SPOOL_F_DNS. The index job writes, in the same
 * transaction, the last spool seq it indexed ("index_cursor" in meta); at
 * start-up indexer_new() reads the spool after it again, and spool pruning
 * never passes the oldest observation still waiting (indexer_prune_floor).
 */
#ifndef CD_INDEXER_H
#define CD_INDEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ingest_batch;
struct lolbas;
struct store;

#define INDEXER_INTERVAL_MS	200
/* Observations per index transaction: bounds one job's time on the writer
 * after a backlog (a restart, a burst above what the index keeps up with).
 * A larger backlog takes a quarter of it per job, up to INDEXER_JOB_BIG
 * (indexer_job_size()). */
#define INDEXER_JOB_MAX		5000
#define INDEXER_JOB_BIG		25000
/* DNS queries waiting (about 500 bytes each in memory) past which new
 * batches are refused with 503 until the index catches up. */
#define INDEXER_PENDING_MAX	100000

struct indexer;

/**
 * Read the index cursor (setting it to the spool's head on a store that
 * has none: everything before was indexed with its batch) and take every
 * DNS observation spooled after it. Runs before the writer has other work;
 * lb (borrowed, may be NULL) does the LOLBAS checks of DNS queries;
 * alert_regdom is dns/alert-registered-domain for the observations read
 * back from the spool (a batch carries its own).
 */
int indexer_new(struct indexer **out, struct store *st, struct lolbas *lb,
    bool alert_regdom);

/** Start the thread that submits the index jobs. */
int indexer_start(struct indexer *ix);

/**
 * Stop the thread and index what is still waiting (the store must still be
 * open and no batch may arrive any more). The counters stay readable until
 * indexer_free(). NULL is a no-op.
 */
void indexer_stop(struct indexer *ix);
/** indexer_stop() if not done yet, then free. NULL is a no-op. */
void indexer_free(struct indexer *ix);

/**
 * Take the DNS observations of a committed batch (called from its done()
 * on the writer thread, before the Ack): their strings are copied, and a
 * LOLBAS candidate's event is moved out of the batch.
 */
void indexer_take(struct indexer *ix, struct ingest_batch *b);

/**
 * The highest spool seq that may be pruned: everything below the oldest
 * observation waiting (UINT64_MAX when none). Writer thread only, inside a
 * job, so that every committed batch has been taken.
 */
uint64_t indexer_prune_floor(void *ix);

/** Observations acknowledged but not yet in the index. Any thread. */
uint64_t indexer_pending(struct indexer *ix);

/** Whether more than the bound (INDEXER_PENDING_MAX unless set) wait:
 * new batches are then refused until the index catches up. Any thread. */
bool indexer_full(struct indexer *ix);
/** Set that bound (store/index-pending-max; 0 restores the default). */
void indexer_set_pending_max(struct indexer *ix, uint64_t max);
/** That bound. Any thread. */
uint64_t indexer_pending_max(struct indexer *ix);

/** How many of n waiting observations one index job takes. */
size_t indexer_job_size(size_t n);

/** Index everything waiting now, from any thread but the writer's. */
int indexer_flush(struct indexer *ix);

#endif
