/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The host registry (STORE_DBI_HOSTS): per host (System/Computer, lower-
 * cased) first/last seen, last heartbeat and counters, as served by
 * /api/v1/hosts. Each host also gets a small integer id the DNS index uses
 * in its keys, and the registry keeps the index's image-name dictionary
 * (image path -> id), so per-pair index values stay small.
 *
 * Key layout inside STORE_DBI_HOSTS (first byte is the record kind):
 *   'h' host            -> host record (version 1)
 *   'H' id (u32 BE)     -> host name
 *   'm' image           -> image id (u32 BE)
 *   'M' id (u32 BE)     -> image
 *   'c' kind            -> next id counter
 *   'x' name            -> small state of other modules (the index's prune position)
 * Writers run in the store writer's transaction; readers copy what they return.
 */
#ifndef CD_HOSTS_H
#define CD_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_txn;

/** Longest host name kept (System/Computer is a DNS or NetBIOS name). */
#define HOSTS_NAME_MAX	256
#define HOSTS_CURSOR_MAX HOSTS_NAME_MAX

/** What one batch (or heartbeat) adds to a host. */
struct hosts_delta {
	uint64_t events;	/**< events received */
	uint64_t dns_queries;	/**< Sysmon DNS queries indexed */
	uint64_t domains;	/**< names new on this host (index_effects.new_on_host) */
	bool	 heartbeat;	/**< a heartbeat arrived at now_ms */
};

/** One host as /api/v1/hosts shows it. */
struct hosts_info {
	char	 host[HOSTS_NAME_MAX];
	uint32_t id;		/**< the index's id of the host */
	int64_t	 first_seen;	/**< ms since the epoch: first batch or heartbeat received */
	int64_t	 last_seen;	/**< last batch or heartbeat received */
	int64_t	 last_heartbeat; /**< 0: never */
	uint64_t events;
	uint64_t dns_queries;
	uint64_t domains;	/**< distinct names the host queried */
};

struct hosts_list {
	struct hosts_info *items;
	size_t	 n;
	uint8_t	 next_cursor[HOSTS_CURSOR_MAX];
	size_t	 next_cursor_len;	/**< 0: end */
};

/**
 * Add a delta to host (lower-cased here) at arrival time now_ms, creating
 * the record (and its id) when new. Write transactions only.
 * Returns CD_EOK, -EINVAL for an empty or too long name, or a store error.
 */
int hosts_update(struct store_txn *txn, const char *host, int64_t now_ms,
    const struct hosts_delta *d);

/** Hosts kept in memory by a struct hosts_batch before it writes back. */
#define HOSTS_BATCH_MAX	8

/**
 * hosts_update() for many events of one write job: a host's record is read
 * (or created, handing out its id) at its first update, as hosts_update()
 * would, then changed in memory, and written once by hosts_batch_flush()
 * (or when more than HOSTS_BATCH_MAX hosts are held). The records left in
 * the store are those the same hosts_update() calls leave. Between updates
 * and the flush the store's host records ('h') may be stale: only their ids
 * (which never change) may be read meanwhile, as the DNS index does.
 */
struct hosts_batch {
	struct hosts_info ent[HOSTS_BATCH_MAX];
	size_t		 n;
};

/** An empty batch (no store access). */
void hosts_batch_init(struct hosts_batch *hb);
/** As hosts_update(), write-back through hb. Same return values. */
int hosts_batch_update(struct store_txn *txn, struct hosts_batch *hb,
    const char *host, int64_t now_ms, const struct hosts_delta *d);
/** Write every held record and empty hb. Call before the job's apply() returns. */
int hosts_batch_flush(struct store_txn *txn, struct hosts_batch *hb);

/** One host. CD_EOK and *out, CD_ENOTFOUND, CD_ECORRUPT, CD_ESTORE. */
int hosts_get(struct store_txn *txn, const char *host, struct hosts_info *out);

/**
 * Hosts ordered by name, limit per page (0: 100, at most 10000, else
 * -EINVAL); cursor as returned in next_cursor (cursor_len 0: the start).
 * Free *out with hosts_list_free().
 */
int hosts_list(struct store_txn *txn, const uint8_t *cursor, size_t cursor_len,
    size_t limit, struct hosts_list *out);

/** Free a list's items and zero it; NULL is a no-op. */
void hosts_list_free(struct hosts_list *l);

/**
 * The id of host (lower-cased here); with create, a new host gets a record
 * with zero counters and the next id (write transactions only). CD_ENOTFOUND
 * without create when unknown.
 */
int hosts_id(struct store_txn *txn, const char *host, bool create, uint32_t *id);

/** The name of a host id; out holds HOSTS_NAME_MAX. CD_ENOTFOUND when unknown. */
int hosts_name(struct store_txn *txn, uint32_t id, char out[HOSTS_NAME_MAX]);

/** Intern an image path (as written) in the dictionary; create as above. */
int hosts_image_id(struct store_txn *txn, const char *image, bool create, uint32_t *id);

/** The image of an id: a new string in *out (caller frees). CD_ENOTFOUND. */
int hosts_image_name(struct store_txn *txn, uint32_t id, char **out);

/** Read a named state blob into buf (cap bytes). CD_ENOTFOUND, CD_ETOOBIG. */
int hosts_state_get(struct store_txn *txn, const char *name, uint8_t *buf,
    size_t cap, size_t *len);

/** Write a named state blob (write txns); data NULL deletes it. */
int hosts_state_put(struct store_txn *txn, const char *name, const void *data,
    size_t len);

#endif
