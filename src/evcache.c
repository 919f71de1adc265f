/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The parsed-event cache (see evcache.h). The index is a ring of entry
 * pointers in ascending seq order: the store writer commits in spool order,
 * so a put only ever appends, eviction takes the oldest from the head, and
 * a lookup finds its slot by arithmetic (seqs are distinct integers, so the
 * entry of seq sits at most seq - first slots from the head) with a binary
 * search when alerts or duplicates left gaps.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "evcache.h"

struct evcache_entry {
	uint64_t		 seq;
	struct event		*ev;
	size_t			 bytes;
	unsigned		 refs;	/* under lock: 1 while indexed, +1 per reader */
	struct evcache_entry	*next;	/* on the dead list */
};

struct evcache {
	pthread_mutex_t		 lock;
	struct evcache_entry	**ring;
	size_t			 cap;
	size_t			 head;	/* slot of the oldest entry */
	size_t			 n;
	size_t			 max_bytes;
	size_t			 bytes;	/* estimate over the indexed entries */
	size_t			 dead_bytes;
	uint64_t		 trimmed;	/* seqs up to this are refused */
	uint64_t		 lead;		/* the most advanced output's seq */
	bool			 after_refusal;	/* the last put was refused for lag */
	bool			 enabled;
	/* Unreferenced entries out of the index, for evcache_reap(). */
	struct evcache_entry	*dead;
	atomic_bool		 has_dead;
	uint64_t		 hits, misses, puts, refused, refused_lag, evicted;
	uint64_t		 moved;		/* events taken off their slab chunk */
};

static size_t	evcache_event_bytes(const struct event *);
static void	evcache_unlink_oldest(struct evcache *);
static void	evcache_unref(struct evcache *, struct evcache_entry *);
static void	evcache_entries_free(struct evcache_entry *);

int
evcache_new(struct evcache **out, size_t max_bytes, size_t max_entries)
{
	struct evcache *c;

	*out = NULL;
	if (max_bytes == 0 || max_entries == 0)
		return -EINVAL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	if ((c->ring = calloc(max_entries, sizeof(*c->ring))) == NULL) {
		free(c);
		return -ENOMEM;
	}
	c->cap = max_entries;
	c->max_bytes = max_bytes;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return CD_EOK;
}

void
evcache_free(struct evcache *c)
{
	if (c == NULL)
		return;
	while (c->n > 0)
		evcache_unlink_oldest(c);
	evcache_entries_free(c->dead);
	pthread_mutex_destroy(&c->lock);
	free(c->ring);
	free(c);
}

/*
 * What an event costs in memory: its block (struct, fields, raw XML and
 * strings in one allocation) and the entry. The estimate this replaced
 * (twice the raw XML, and allocator overhead per string from before the
 * events were one block) counted about 5.3 KB per event of the test mix:
 * the 64 MB budget then held about 12,500 events where it has room for
 * about 20,000.
 */
static size_t
evcache_event_bytes(const struct event *ev)
{
	return sizeof(struct evcache_entry) + event_mem(ev);
}

static void
evcache_entries_free(struct evcache_entry *e)
{
	struct evcache_entry *next;

	for (; e != NULL; e = next) {
		next = e->next;
		event_free(e->ev);
		free(e);
	}
}

/* Drop one reference (lock held); the last one puts the entry on the dead
 * list, freed outside the lock by evcache_reap(). */
static void
evcache_unref(struct evcache *c, struct evcache_entry *e)
{
	if (--e->refs > 0)
		return;
	e->next = c->dead;
	c->dead = e;
	c->dead_bytes += e->bytes;
	atomic_store_explicit(&c->has_dead, true, memory_order_relaxed);
}

/* Remove the oldest entry from the index (lock held, n > 0). */
static void
evcache_unlink_oldest(struct evcache *c)
{
	struct evcache_entry *e = c->ring[c->head];

	c->ring[c->head] = NULL;
	c->head = (c->head + 1) % c->cap;
	c->n--;
	c->bytes -= e->bytes;
	evcache_unref(c, e);
}

void
evcache_set_enabled(struct evcache *c, bool on)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->enabled = on;
	/* A new set of outputs (a reload): how far the most advanced one
	 * is, is learned again from their next trim. */
	c->lead = 0;
	while (!on && c->n > 0)
		evcache_unlink_oldest(c);
	pthread_mutex_unlock(&c->lock);
}

bool
evcache_put(struct evcache *c, uint64_t seq, struct event *ev)
{
	struct evcache_entry *e;
	size_t bytes;

	if (c == NULL || ev == NULL)
		return false;
	bytes = evcache_event_bytes(ev);
	/* Allocated before taking the lock: readers wait on it. */
	if ((e = malloc(sizeof(*e))) == NULL)
		return false;
	e->seq = seq;
	e->ev = ev;
	e->bytes = bytes;
	e->refs = 1;
	e->next = NULL;
	pthread_mutex_lock(&c->lock);
	/* Seqs must ascend for the index; and while nobody reaps (no HTTP
	 * request, outputs busy) the dead list must not grow without bound. */
	if (!c->enabled || seq <= c->trimmed || bytes > c->max_bytes ||
	    c->dead_bytes > c->max_bytes ||
	    (c->n > 0 && seq <= c->ring[(c->head + c->n - 1) % c->cap]->seq)) {
		c->refused++;
		pthread_mutex_unlock(&c->lock);
		free(e);
		return false;
	}
	/*
	 * Full, and every output is still short of the oldest entry: the
	 * oldest is what they will read first, and the newest the last.
	 * Evicting it for this one would trade a hit soon for a likely miss
	 * (an output that lags by more than the cache would never hit), so
	 * this one is refused and the output parses it from the spool.
	 */
	if (c->n > 0 && (c->n == c->cap || c->bytes + bytes > c->max_bytes) &&
	    c->ring[c->head]->seq > c->lead) {
		c->refused++;
		c->refused_lag++;
		c->after_refusal = true;
		pthread_mutex_unlock(&c->lock);
		free(e);
		return false;
	}
	/*
	 * Taken just after one was refused (a trim made room while the
	 * outputs lag): the events parsed beside it were turned away and
	 * freed, so it would keep their slab chunk (slab.h) alive alone, for
	 * as long as the outputs take to reach it. It moves to memory of its
	 * own; a failure only means it keeps the chunk.
	 */
	if (c->after_refusal) {
		c->after_refusal = false;
		if (event_keep(&e->ev) == CD_EOK)
			c->moved++;
	}
	while (c->n > 0 && (c->n == c->cap || c->bytes + bytes > c->max_bytes)) {
		evcache_unlink_oldest(c);
		c->evicted++;
	}
	c->ring[(c->head + c->n) % c->cap] = e;
	c->n++;
	c->bytes += bytes;
	c->puts++;
	pthread_mutex_unlock(&c->lock);
	return true;
}

const struct event *
evcache_get(struct evcache *c, uint64_t seq, struct evcache_entry **ref)
{
	struct evcache_entry *e = NULL;

	*ref = NULL;
	if (c == NULL)
		return NULL;
	pthread_mutex_lock(&c->lock);
	if (c->n > 0 && seq >= c->ring[c->head]->seq) {
		uint64_t first = c->ring[c->head]->seq;
		/* Distinct ascending seqs: slot i holds a seq >= first + i. */
		size_t lo = 0, hi = seq - first < c->n ? (size_t)(seq - first) + 1 : c->n;
		struct evcache_entry *g = c->ring[(c->head + hi - 1) % c->cap];
		if (g->seq == seq) {
			e = g;
		} else {
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				struct evcache_entry *m = c->ring[(c->head + mid) % c->cap];
				if (m->seq == seq) {
					e = m;
					break;
				}
				if (m->seq < seq)
					lo = mid + 1;
				else
					hi = mid;
			}
		}
	}
	if (e != NULL) {
		e->refs++;
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	*ref = e;
	return e != NULL ? e->ev : NULL;
}

void
evcache_release(struct evcache *c, struct evcache_entry *ref)
{
	if (c == NULL || ref == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	evcache_unref(c, ref);
	pthread_mutex_unlock(&c->lock);
}

void
evcache_trim(struct evcache *c, uint64_t upto, uint64_t lead)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	if (upto > c->trimmed)
		c->trimmed = upto;
	if (lead > c->lead)
		c->lead = lead;
	while (c->n > 0 && c->ring[c->head]->seq <= upto)
		evcache_unlink_oldest(c);
	pthread_mutex_unlock(&c->lock);
}

void
evcache_reap(struct evcache *c)
{
	struct evcache_entry *dead;

	if (c == NULL || !atomic_load_explicit(&c->has_dead, memory_order_relaxed))
		return;
	pthread_mutex_lock(&c->lock);
	dead = c->dead;
	c->dead = NULL;
	c->dead_bytes = 0;
	atomic_store_explicit(&c->has_dead, false, memory_order_relaxed);
	pthread_mutex_unlock(&c->lock);
	evcache_entries_free(dead);
}

void
evcache_stats_get(struct evcache *c, struct evcache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	out->hits = c->hits;
	out->misses = c->misses;
	out->puts = c->puts;
	out->refused = c->refused;
	out->refused_lag = c->refused_lag;
	out->moved = c->moved;
	out->evicted = c->evicted;
	out->entries = c->n;
	out->bytes = c->bytes;
	pthread_mutex_unlock(&c->lock);
}
