/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The parsed-event cache: the struct event an HTTP thread parsed for
 * ingest, kept after the commit under its spool sequence number, so that
 * the outputs need not parse the same XML again. A miss (a restart, an
 * output far behind, a full cache) only means the output parses the spool
 * record as it always could: the cache never decides what is delivered.
 *
 * Cached events are immutable: several output threads may read one at the
 * same time. Entries carry a reference count, so evicting an entry never
 * frees an event a reader still holds. Evicted events are not freed by the
 * thread that evicts them (the store writer, the serial stage in front of
 * every Ack): they wait on a list that evcache_reap() frees, called by the
 * HTTP threads that allocated them and by idle output threads.
 *
 * All functions are thread-safe; one mutex guards the index.
 */
#ifndef CD_EVCACHE_H
#define CD_EVCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event;
struct evcache;
struct evcache_entry;

/** Default bounds (the daemon's, overridable with COLLECTORD_EVCACHE_MB). */
#define EVCACHE_DEFAULT_BYTES	(64u * 1024 * 1024)
#define EVCACHE_DEFAULT_ENTRIES	65536u

/** Counters since evcache_new(), for the stats. */
struct evcache_stats {
	uint64_t hits;		/**< evcache_get() found the event */
	uint64_t misses;	/**< evcache_get() did not */
	uint64_t puts;		/**< events taken by evcache_put() */
	uint64_t refused;	/**< events evcache_put() left to the caller */
	uint64_t refused_lag;	/**< of those: full, every output behind it all */
	uint64_t evicted;	/**< entries dropped for the bounds, not by trim */
	uint64_t moved;		/**< taken after a refusal: moved off their slab chunk */
	uint64_t entries;	/**< entries in the index now */
	uint64_t bytes;		/**< their estimated memory now */
};

/**
 * A new, disabled cache holding at most max_entries events and about
 * max_bytes of their memory (an estimate from the raw XML size). Both must
 * be > 0. -ENOMEM, -EINVAL.
 */
int evcache_new(struct evcache **out, size_t max_bytes, size_t max_entries);

/** Free the cache and every event in it; nobody may use it any more.
 * NULL is a no-op. */
void evcache_free(struct evcache *c);

/**
 * Turn caching on (an output will read the spool) or off (no output: the
 * entries are dropped and evcache_put() refuses everything), for a new set
 * of outputs: the lead evcache_trim() recorded is forgotten. NULL is a
 * no-op.
 */
void evcache_set_enabled(struct evcache *c, bool on);

/**
 * Offer ev, just committed to the spool as seq. Returns true when the
 * cache took ownership of ev (the caller must forget it), false when the
 * caller keeps it: NULL cache, disabled, seq not above the newest entry
 * and every trimmed one, ev larger than the whole budget, or no memory.
 * When full, the oldest entries are evicted to make room (their events
 * are freed later by evcache_reap(), never here), unless every output is
 * behind them all (see evcache_trim()): then ev is refused. Meant for the
 * store writer thread.
 */
bool evcache_put(struct evcache *c, uint64_t seq, struct event *ev);

/**
 * The cached event of seq, or NULL (a miss; NULL cache). On a hit *ref is
 * set and the event stays valid, read-only, until evcache_release(c, *ref).
 */
const struct event *evcache_get(struct evcache *c, uint64_t seq,
    struct evcache_entry **ref);

/** Drop a reference from evcache_get(). NULL ref is a no-op. */
void evcache_release(struct evcache *c, struct evcache_entry *ref);

/**
 * Drop every entry with a seq up to upto (every output has passed it);
 * later evcache_put() calls for such seqs are refused. lead is the seq the
 * most advanced output has passed: while the cache is full and lead is
 * short of its oldest entry, every output lags behind all it holds, and
 * evcache_put() refuses new events rather than evict the ones the outputs
 * will read next. Both only ever rise. NULL is a no-op.
 */
void evcache_trim(struct evcache *c, uint64_t upto, uint64_t lead);

/**
 * Free the events evicted or trimmed so far that nobody holds. Any thread
 * but the store writer; cheap when there is nothing to free. NULL is a
 * no-op.
 */
void evcache_reap(struct evcache *c);

/** The counters. */
void evcache_stats_get(struct evcache *c, struct evcache_stats *out);

#endif
