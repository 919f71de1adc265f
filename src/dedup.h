/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Dedup of Sysmon DNS events on their way to the SIEM (the index still sees
 * every event). Events with the same key - (host, Image, QueryName,
 * QueryStatus) by default - fall into fixed windows by event time: the first
 * event of a window is forwarded, the rest are folded, and when a window that
 * had repeats closes one summary (key, first, last, count) is emitted.
 *
 * State lives in memory, bounded by max_entries; when full the oldest window
 * is evicted first (its summary emitted when it had repeats). Losing the
 * state (restart) can forward a duplicate, never lose one. All functions are
 * thread-safe (one mutex per dedup).
 */
#ifndef CD_DEDUP_H
#define CD_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"

/** Key fields (bit set). */
enum dedup_field {
	DEDUP_F_HOST	= 1 << 0,
	DEDUP_F_IMAGE	= 1 << 1,	/**< Image, compared case-insensitively */
	DEDUP_F_NAME	= 1 << 2,	/**< normalised QueryName */
	DEDUP_F_STATUS	= 1 << 3,	/**< QueryStatus */
	DEDUP_F_PROCESS_GUID = 1 << 4,
	DEDUP_F_USER	= 1 << 5,
	DEDUP_F_RESULTS	= 1 << 6,	/**< the parsed answers (a new answer set forwards) */
};

#define DEDUP_FIELDS_DEFAULT (DEDUP_F_HOST | DEDUP_F_IMAGE | DEDUP_F_NAME | DEDUP_F_STATUS)
#define DEDUP_WINDOW_DEFAULT_MS	(900 * 1000)
#define DEDUP_MAX_ENTRIES_DEFAULT 65536

/** A closed window that had repeats. All pointers are borrowed for the
 * duration of the callback; fields outside the key are NULL / 0. */
struct dedup_summary {
	unsigned	 fields;	/**< the key fields (enum dedup_field) */
	const char	*host;
	const char	*image;
	const char	*query_name;
	uint32_t	 query_status;
	const char	*process_guid;
	const char	*user;
	int64_t		 first;		/**< smallest UtcTime in the window, ms */
	int64_t		 last;		/**< largest */
	uint64_t	 count;		/**< events in the window, the forwarded one included */
};

/** Called for each summary; see dedup_options.on_evict for the locking rule. */
typedef void (*dedup_emit_fn)(const struct dedup_summary *s, void *arg);

struct dedup_options {
	unsigned	 fields;	/**< 0: DEDUP_FIELDS_DEFAULT */
	int64_t		 window_ms;	/**< 0: DEDUP_WINDOW_DEFAULT_MS */
	size_t		 max_entries;	/**< 0: DEDUP_MAX_ENTRIES_DEFAULT */
	/** Summaries of windows closed inside dedup_check() (a later event
	 * of the key opened a new window, or the oldest window was evicted).
	 * NULL drops them. Called with the dedup's lock held: it must not
	 * call back into this dedup. */
	dedup_emit_fn	 on_evict;
	void		*on_evict_arg;
};

enum dedup_verdict {
	DEDUP_FORWARD,	/**< first of its window: send it */
	DEDUP_FOLD,	/**< a repeat: counted into the window's summary */
};

struct dedup_counters {
	uint64_t forwarded;
	uint64_t folded;
	uint64_t summaries;	/**< summaries emitted */
	uint64_t evicted;	/**< windows dropped early for lack of room */
	size_t	 entries;	/**< open windows now */
};

struct dedup;

/** Create a dedup (opt NULL: defaults). CD_EOK, -EINVAL, -ENOMEM. */
int dedup_new(struct dedup **out, const struct dedup_options *opt);

/** Free it without emitting anything; NULL is a no-op. */
void dedup_free(struct dedup *d);

/**
 * Parse a comma-separated field list ("host,image,query_name,query_status,
 * process_guid,user,query_results") into a bit set. CD_EOK or CD_ECONFIG.
 */
int dedup_fields_parse(const char *list, unsigned *out);

/**
 * Decide for one event of host. An event whose UtcTime lies within
 * [start - window, start + window) of its key's open window is folded
 * (first/last widen to include it); otherwise the old window closes (summary
 * through on_evict when it had repeats) and a new one starts with this event.
 */
enum dedup_verdict dedup_check(struct dedup *d, const char *host,
    const struct dns_obs *obs);

/**
 * Close every window whose end (start + window) is <= now_ms, calling emit
 * (may be NULL) for each one that had repeats; emit runs without the lock
 * held. Returns the number of summaries emitted, or -ENOMEM.
 */
int dedup_expire(struct dedup *d, int64_t now_ms, dedup_emit_fn emit, void *arg);

/** Snapshot of the counters. */
void dedup_get_counters(struct dedup *d, struct dedup_counters *out);

#endif
