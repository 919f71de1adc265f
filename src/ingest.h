/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What one delivery (an Events batch, a Heartbeat, a SubscriptionEnd)
 * changes in the store, as one writer job: record identities (so a
 * re-delivered record counts once), the spool, the DNS index, the host and
 * source registries, and the bookmark, all in one transaction, so an acked
 * batch is complete and a crashed one left no trace.
 */
#ifndef CD_INGEST_H
#define CD_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "store.h"

struct event;
struct hosts_batch;
struct indexer;
struct lolbas;
struct spool_writer;

enum ingest_kind {
	INGEST_EVENTS,
	INGEST_HEARTBEAT,
	INGEST_END,		/**< SubscriptionEnd: the source stopped this subscription */
};

/** One received event and what was decided about it before the commit. */
struct ingest_item {
	struct event	*ev;		/**< owned */
	char		*host;		/**< lower-cased Computer, owned; "" when absent */
	bool		 foreign;	/**< Computer is not the source's host: not indexed */
	bool		 has_dns;	/**< dns holds a Sysmon DNS observation */
	struct dns_obs	 dns;
	uint64_t	 seq;		/**< its spool seq after apply(), 0: not spooled (duplicate) */
};

/** A job for the writer. Everything is owned by the batch (ingest_batch_free). */
struct ingest_batch {
	struct store_job  job;
	enum ingest_kind  kind;
	char		 *source;	/**< source identity (principal, CN, or MachineID) */
	char		 *source_host;	/**< its host name, lower case */
	char		 *subscription;	/**< subscription id */
	char		 *version;	/**< subscription version the source runs */
	char		 *bookmark;	/**< new BookmarkList XML, or NULL: keep the stored one */
	int64_t		  now_ms;	/**< arrival time */
	bool		  alert_regdom;	/**< also alert on new registered domains */
	struct lolbas	 *lolbas;	/**< LOLBAS detection (borrowed), or NULL */
	/** Indexes the batch's DNS observations after the Ack (borrowed), or
	 * NULL: they are indexed in the batch's own transaction. */
	struct indexer	 *indexer;
	struct ingest_item *items;
	size_t		  n;
	size_t		  cap;

	/* Results of the last apply(); reset at its start. */
	uint64_t	  res_new;	/**< records stored */
	uint64_t	  res_dup;	/**< re-delivered records skipped */
	uint64_t	  res_dns;	/**< DNS observations indexed */
	uint64_t	  res_alerts;	/**< first-seen alerts spooled */

	/** Called once from the writer thread with the commit's outcome. */
	void		(*on_done)(struct ingest_batch *b, int rc);
	void		 *on_done_arg;
};

/** A new empty batch. -ENOMEM. */
int ingest_batch_new(struct ingest_batch **out, enum ingest_kind kind);
/** Append an item (takes ownership of ev and host even on failure). */
int ingest_batch_add(struct ingest_batch *b, struct event *ev, char *host,
    bool foreign);
void ingest_batch_free(struct ingest_batch *b);

/** Submit the batch to the store; on_done runs after the commit. */
int ingest_submit(struct store *st, struct ingest_batch *b);

/** One DNS observation to index, with what its alerts name. Borrowed. */
struct ingest_dns {
	const char		*host;		/**< lower-cased Computer */
	const struct dns_obs	*dns;		/**< NULL for a LOLBAS check alone (ingest.c) */
	const struct event	*ev;		/**< for the LOLBAS check, or NULL */
	const char		*source;
	const char		*subscription;
	int64_t			 now_ms;	/**< arrival time */
	bool			 alert_regdom;
	struct lolbas		*lolbas;	/**< LOLBAS detection, or NULL */
};

/**
 * Index one observation inside a write job: the DNS index, its first-seen
 * alerts and the LOLBAS check of its process (spooled through sw), the
 * host's DNS counters (through hb). *alerts counts the alerts spooled.
 */
int ingest_dns_apply(struct store_txn *txn, struct spool_writer *sw,
    struct hosts_batch *hb, const struct ingest_dns *d, uint64_t *alerts);

/** The stored bookmark of (source, subscription) as a new string, or NULL. */
int ingest_bookmark_get(struct store_txn *txn, const char *source,
    const char *subscription, char **out);

/** The source registry record of (source, subscription). */
struct ingest_source_info {
	int64_t  first_seen;
	int64_t  last_seen;
	int64_t  last_heartbeat;
	int64_t  ended;		/**< last SubscriptionEnd, 0: none since the last delivery */
	uint64_t events;
	char	 version[64];	/**< subscription version last delivered under */
};
int ingest_source_get(struct store_txn *txn, const char *source,
    const char *subscription, struct ingest_source_info *out);

/** Number of distinct sources that delivered to a subscription. */
int ingest_source_count(struct store_txn *txn, const char *subscription,
    uint64_t *out);

#endif
