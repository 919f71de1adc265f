/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The durable spool: every accepted event (and every record the collector
 * derives, such as first-seen alerts) in arrival order, written in the same
 * transaction as the batch's bookmark. Outputs read it from their own
 * persisted cursor. Keys are the sequence number (u64 big-endian); values:
 *
 *   u8 version (1) | u8 type | u8 flags | i64 received_ms |
 *   source NUL | host NUL | subscription NUL | data (to the end)
 */
#ifndef CD_SPOOL_H
#define CD_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct store_txn;
struct store_val;

enum spool_type {
	SPOOL_EVENT = 1,	/**< data: the event XML as received */
	SPOOL_ALERT = 2,	/**< data: a JSON object with a "type" field */
};

enum {
	SPOOL_F_MALFORMED = 0x01,	/**< the event XML did not parse */
	SPOOL_F_FOREIGN = 0x02,		/**< Computer is not the source's host */
	SPOOL_F_DNS = 0x04,		/**< a Sysmon DNS query (Event ID 22) */
	SPOOL_F_NORECORD = 0x08,	/**< no EventRecordID (e.g. forwarder Event 111) */
};

/** One record. Strings are borrowed: from the caller for spool_append(),
 * from the transaction for spool_decode(). */
struct spool_rec {
	uint64_t	 seq;		/**< assigned by spool_append() */
	uint8_t		 type;
	uint8_t		 flags;
	int64_t		 received_ms;
	const char	*source;
	const char	*host;
	const char	*subscription;
	const char	*data;
	size_t		 data_len;
};

/** Append a record in a write transaction; sets rec->seq. */
int spool_append(struct store_txn *txn, struct spool_rec *rec);
/**
 * The next sequence number kept by one writer job instead of in the meta
 * database: spool_writer_begin() reads it once, spool_writer_append()
 * appends as spool_append() does, and spool_writer_end() writes it back
 * once, in the same transaction, before the job's apply() returns (other
 * jobs of the group commit, and readers after the commit, read it from the
 * store). Nothing else may append between begin and end.
 */
struct spool_writer {
	uint64_t	 next;	/**< seq of the next append */
	uint64_t	 start;	/**< next at begin: unchanged means nothing to write */
};

/** Read the next sequence number into w. CD_EOK, CD_ECORRUPT, CD_ESTORE. */
int spool_writer_begin(struct store_txn *txn, struct spool_writer *w);
/** Append a record through w; sets rec->seq. */
int spool_writer_append(struct store_txn *txn, struct spool_writer *w,
    struct spool_rec *rec);
/** Write w's next sequence number back (only when something was appended). */
int spool_writer_end(struct store_txn *txn, struct spool_writer *w);

/** Decode a spool entry read with a store iterator (pointers borrow from it). */
int spool_decode(const struct store_val *key, const struct store_val *val,
    struct spool_rec *out);
/** Sequence number the next append will get (1 on an empty store). */
int spool_next_seq(struct store_txn *txn, uint64_t *out);

#endif
