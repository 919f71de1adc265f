/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The DNS index: every Sysmon DNS observation of every host, aggregated per
 * domain, per (host, domain) and per registered domain, with first_seen
 * ordered views (fleet-wide and per host) and the answer pivot
 * (address -> names). Semantics are those of interface.md: counts are per
 * distinct record, first/last seen come from UtcTime, a late event with an
 * earlier UtcTime moves first_seen back.
 *
 * Writes (index_apply, index_prune) run inside the store writer's
 * transaction; queries run in a short read transaction and copy everything
 * they return, so results outlive the transaction.
 *
 * Lists are paged with opaque cursors: byte strings of at most
 * INDEX_CURSOR_MAX bytes that the API base64-encodes. A list call with
 * cursor_len 0 starts at the beginning; its result's next_cursor_len is 0
 * when there is nothing more. Paging through a list returns every item once,
 * in order, as long as the index does not change in between (items added or
 * moved meanwhile may be seen twice or not at all, never corrupt the walk).
 *
 * Counting for /api/v1/stats: STORE_DBI_DNS_FIRST holds exactly one entry
 * per domain and STORE_DBI_DNS_HOSTDOM one per (host, domain) pair;
 * STORE_DBI_DNS_DOMAIN and _REGDOM also hold the index's id records.
 */
#ifndef CD_INDEX_H
#define CD_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"

struct store_txn;

/** Distinct images kept per (host, domain) and per domain; later ones are
 * counted in the aggregate but not listed. */
#define INDEX_IMAGES_MAX	8
/** Largest cursor any list function returns. */
#define INDEX_CURSOR_MAX	320
/** Default and maximum page size of the list functions. */
#define INDEX_LIMIT_DEFAULT	100
#define INDEX_LIMIT_MAX		10000

/** What index_apply() learnt, for first-seen alerts. */
struct index_effects {
	bool	new_domain;	/**< the name was never seen fleet-wide */
	bool	new_on_host;	/**< the name was never seen on this host (or its detail was pruned) */
	bool	new_regdom;	/**< the registered domain was never seen fleet-wide */
};

/** Aggregate of one domain or registered domain. Strings are owned. */
struct index_domain {
	char	*domain;	/**< normalised name (or registered domain) */
	char	*registered_domain; /**< its registered domain (itself for index_regdom_get) */
	int64_t	 first_seen;	/**< ms since the epoch, UTC */
	int64_t	 last_seen;
	uint64_t count;		/**< distinct records */
	uint64_t host_count;	/**< distinct hosts */
	char	*first_host;	/**< host of the earliest record (smallest (UtcTime, host, EventRecordID)) */
	char	*first_image;	/**< its Image as written */
	char	*images[INDEX_IMAGES_MAX]; /**< first distinct images seen fleet-wide */
	size_t	 nimages;
};

/** Aggregate of one (host, domain) pair. Strings are owned. */
struct index_hostdom {
	char	*host;
	char	*domain;
	int64_t	 first_seen;
	int64_t	 last_seen;
	uint64_t count;
	char	*images[INDEX_IMAGES_MAX]; /**< distinct Image strings as written, sorted */
	size_t	 nimages;
};

/** One name an address was given for. */
struct index_ip_name {
	char	*domain;
	int64_t	 first_seen;
	int64_t	 last_seen;
};

struct index_domain_list {
	struct index_domain *items;
	size_t	 n;
	uint8_t	 next_cursor[INDEX_CURSOR_MAX];
	size_t	 next_cursor_len;	/**< 0: end of the list */
};

struct index_hostdom_list {
	struct index_hostdom *items;
	size_t	 n;
	uint8_t	 next_cursor[INDEX_CURSOR_MAX];
	size_t	 next_cursor_len;
};

struct index_ip_list {
	struct index_ip_name *items;
	size_t	 n;
	uint8_t	 next_cursor[INDEX_CURSOR_MAX];
	size_t	 next_cursor_len;
};

/** Filters of the first_seen-ordered lists; zero-initialise for "none". */
struct index_filter {
	bool	 has_after;
	int64_t	 first_seen_after;	/**< keep first_seen >= this */
	bool	 has_before;
	int64_t	 first_seen_before;	/**< keep first_seen < this */
	const char *suffix;		/**< normalised name: it and every name under it (domains list only) */
	uint64_t max_hosts;		/**< keep host_count <= this; 0: no limit (domains list only) */
};

/**
 * Index one new distinct record of host (System/Computer; lower-cased here)
 * inside the writer's transaction. Call it once per record: the caller has
 * already dropped re-delivered records. Updates every table and the host's
 * interned id and image dictionary; fills *eff when eff is not NULL.
 * Returns CD_EOK or a store error (the job then fails as a whole).
 */
int index_apply(struct store_txn *txn, const char *host,
    const struct dns_obs *obs, struct index_effects *eff);

/**
 * The aggregate of a domain (name is normalised here). CD_EOK and *out
 * (free with index_domain_clear()), CD_ENOTFOUND when never seen,
 * CD_EPARSE for an invalid name, CD_ECORRUPT, CD_ESTORE, -ENOMEM.
 */
int index_domain_get(struct store_txn *txn, const char *name,
    struct index_domain *out);

/** The same for a registered domain (the aggregate over all names whose
 * registered domain it is). */
int index_regdom_get(struct store_txn *txn, const char *name,
    struct index_domain *out);

/** The (host, domain) aggregate; CD_ENOTFOUND when the host never asked. */
int index_hostdom_get(struct store_txn *txn, const char *host,
    const char *name, struct index_hostdom *out);

/**
 * The hosts that asked for a domain, ordered by host name, limit per page
 * (0: INDEX_LIMIT_DEFAULT; more than INDEX_LIMIT_MAX: -EINVAL). Costs one
 * pair lookup per known host, because pair keys are host-major.
 * CD_ENOTFOUND when the domain was never seen, -EINVAL for a bad cursor.
 * Free *out with index_hostdom_list_free().
 */
int index_domain_hosts(struct store_txn *txn, const char *name,
    const uint8_t *cursor, size_t cursor_len, size_t limit,
    struct index_hostdom_list *out);

/**
 * Domains ordered by (first_seen, name), filtered by f (NULL: no filter).
 * Time-only queries are a range scan of the fleet-wide first_seen view. A
 * suffix query first scans the reversed-label range of the suffix; when it
 * holds at most a few tens of thousands of names they are sorted by
 * first_seen in memory, otherwise the first_seen view is scanned with the
 * suffix as a filter. Both give the same order, so cursors work across.
 * -EINVAL for a bad cursor, limit or suffix. Free with index_domain_list_free().
 */
int index_domains_list(struct store_txn *txn, const struct index_filter *f,
    const uint8_t *cursor, size_t cursor_len, size_t limit,
    struct index_domain_list *out);

/**
 * The domains of one host ordered by (first_seen, name), with the time
 * window of f (suffix and max_hosts are ignored). CD_ENOTFOUND for a host
 * the index has never seen. Free with index_hostdom_list_free().
 */
int index_host_domains(struct store_txn *txn, const char *host,
    const struct index_filter *f, const uint8_t *cursor, size_t cursor_len,
    size_t limit, struct index_hostdom_list *out);

/**
 * The names an address (IPv4, IPv6, or IPv4-mapped IPv6) was an answer for,
 * with first/last seen, in reversed-label order (names of one registered
 * domain together). Only the query name is recorded, not the CNAME hops. An address never seen gives an
 * empty list; CD_EPARSE for an invalid address. Free with index_ip_list_free().
 */
int index_ip(struct store_txn *txn, const char *address,
    const uint8_t *cursor, size_t cursor_len, size_t limit,
    struct index_ip_list *out);

/**
 * Retention, in the writer's transaction: delete at most max_deletes
 * (host, domain) pairs (with their per-host first_seen entries) and answer
 * entries whose last_seen < older_than_ms. Per-domain and per registered
 * domain aggregates (first_seen included) are kept. *deleted gets the number
 * of entries removed; call again while it equals max_deletes. The scan
 * position is remembered in the store so successive batches do not rescan.
 */
int index_prune(struct store_txn *txn, int64_t older_than_ms,
    unsigned max_deletes, unsigned *deleted);

/** Free the strings of an aggregate and zero it; NULL is a no-op. */
void index_domain_clear(struct index_domain *d);
void index_hostdom_clear(struct index_hostdom *h);
/** Free a list's items and zero it; NULL is a no-op. */
void index_domain_list_free(struct index_domain_list *l);
void index_hostdom_list_free(struct index_hostdom_list *l);
void index_ip_list_free(struct index_ip_list *l);

#endif
