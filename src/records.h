/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Record identity (STORE_DBI_RECORDS): which EventRecordIDs of a (host,
 * channel) were already stored, so that a re-delivered event is neither
 * spooled nor counted again (design.md "Rules").
 *
 * One entry per (host, channel), so the database grows with the number of
 * event sources, not with the number of events:
 *
 *   key:   host NUL channel NUL
 *   value: u8 version (1), then each claimed interval [lo, hi] in ascending
 *          order as two unsigned LEB128 varints: the gap before it (lo for
 *          the first interval, lo - previous hi - 2 for the others, which
 *          are never adjacent) and its length less one (hi - lo).
 *
 * On a Windows host EventRecordIDs are per-channel and increasing, and a
 * WEF subscription delivers them in order, so a full subscription keeps one
 * interval: a value of about 10 bytes whatever the number of events. A
 * filtered subscription (an XPath that takes some Event IDs only) leaves
 * gaps, one interval each. The list is capped at RECORDS_MAX_INTERVALS by
 * forgetting the lowest (oldest) interval. The consequence: a record of a
 * forgotten interval, re-delivered, is taken for new and stored (and
 * counted) a second time. WEF re-delivers the records after the last
 * acknowledged bookmark (a lost Ack), which are the newest intervals, so
 * only a client re-reading a filtered channel from far back (a subscription
 * re-created without its bookmark) is affected. The cap does not instead
 * merge the two lowest intervals (claiming the gap between them), because
 * that loses events in normal operation: two subscriptions with different
 * filters on one channel (common: Security split by Event ID) deliver
 * interleaved EventRecordIDs independently, and when one lags the other by
 * more than RECORDS_MAX_INTERVALS of its gaps (minutes, with "Normal"
 * delivery batching up to 15 minutes), the lagging one's records fall into
 * merged gaps and would be dropped as duplicates. A duplicate passed on is
 * the lesser failure for a security collector than an event lost.
 *
 * Stores written before this format hold one entry per record: key host
 * NUL channel NUL u64 EventRecordID (big-endian), 8 bytes longer than the
 * (host, channel) key, which sorts right before them. Those still count:
 * when a batch first uses a (host, channel) its old entries are folded into
 * the interval list and deleted (at most RECORDS_FOLD_MAX per load); while
 * some remain, an identity the list does not hold is also looked up under
 * its old key. records_migrate() folds those of every (host, channel) in
 * bounded steps, for sources that no longer send.
 *
 * All functions run in the store writer's transaction (apply()).
 */
#ifndef CD_RECORDS_H
#define CD_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_key.h"

struct store_txn;

/** Format version byte of a (host, channel) value. */
#define RECORDS_VERSION		1
/** Intervals kept per (host, channel); over it the lowest is forgotten. */
#define RECORDS_MAX_INTERVALS	256
/** (host, channel) pairs held by a struct records_batch before it writes back. */
#define RECORDS_BATCH_MAX	8
/** Old per-record entries folded (and deleted) per load or migration step. */
#define RECORDS_FOLD_MAX	4096

/** One claimed interval of EventRecordIDs, both ends included. */
struct records_ival {
	uint64_t lo, hi;
};

/** A (host, channel) in memory; private to records.c. */
struct records_ent {
	uint8_t		 key[STORE_KEY_MAX];
	size_t		 klen;
	size_t		 hlen;		/**< strlen(host) */
	struct records_ival *iv;	/**< n sorted, disjoint, non-adjacent */
	size_t		 n, cap;
	bool		 legacy;	/**< old per-record entries remain */
	bool		 dirty;
};

/**
 * The claims of one write job: each (host, channel) value is read at its
 * first claim, changed in memory, and written once by records_batch_flush()
 * (or earlier when more than RECORDS_BATCH_MAX pairs are held), so a claim
 * is an in-memory check. Flush before the job's apply() returns: the next
 * job of the group commit reads the store. A claim that fails leaves the
 * batch to be discarded with records_batch_clear(), as the job then aborts.
 */
struct records_batch {
	struct records_ent ent[RECORDS_BATCH_MAX];
	size_t		 n;
	size_t		 last;		/**< the entry used last: tried first */
};

/** An empty batch (no store access, no allocation). */
void records_batch_init(struct records_batch *rb);

/**
 * Claim (host, channel, record_id). Returns 1 when the identity is new (it
 * is now claimed), 0 when it was claimed before (a duplicate), or an error:
 * -ENOMEM or a store error. A value this code cannot read (another version
 * included) is logged and replaced by a new list, never a reason to refuse
 * events: a refused batch is resent by Windows forever. host must not be
 * empty; channel may be. A pair whose key would exceed STORE_KEY_MAX is not
 * tracked: every claim returns 1, as the earlier code did for absurd names.
 */
int records_batch_claim(struct store_txn *txn, struct records_batch *rb,
    const char *host, const char *channel, uint64_t record_id);

/** Write every changed pair and empty rb (always, also on error). CD_EOK or
 * a store error. */
int records_batch_flush(struct store_txn *txn, struct records_batch *rb);

/** Empty rb without writing anything, freeing its memory. */
void records_batch_clear(struct records_batch *rb);

/** Position of records_migrate() across its transactions. */
struct records_migration {
	uint8_t	 pos[STORE_KEY_MAX];	/**< next key to look at */
	size_t	 pos_len;
	bool	 done;			/**< no old entries remain */
	uint64_t folded;		/**< old entries folded and deleted so far */
};

/** Start a migration at the beginning of the database. */
void records_migration_init(struct records_migration *m);

/**
 * One bounded step of the migration of old per-record entries: looks at
 * no more than RECORDS_FOLD_MAX keys and folds no more than RECORDS_FOLD_MAX
 * old entries, in txn (a write transaction), then returns CD_EOK with m
 * updated; call again, in a new transaction, until m->done. Running it
 * beside ingestion is safe: both fold the same way.
 */
int records_migrate(struct store_txn *txn, struct records_migration *m);

#endif
