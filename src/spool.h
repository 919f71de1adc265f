/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The durable spool: every accepted event (and every record the collector
 * derives, such as first-seen alerts) in arrival order, written in the same
 * transaction as the batch's bookmark. Outputs read it from their own
 * persisted cursor. Every record has its own sequence number; the records
 * one writer job appends (a batch's events, an index job's alerts) are one
 * store entry, keyed by the first one's number (u64 big-endian):
 *
 *   u8 version (2) | u32 count | count x (u32 length | record)
 *
 * and a record is
 *
 *   u8 version (1) | u8 type | u8 flags | i64 received_ms |
 *   source NUL | host NUL | subscription NUL | data (to the end)
 *
 * A record alone as an entry (keyed by its own number) is read too: that
 * is how stores before the packs kept every record.
 */
#ifndef CD_SPOOL_H
#define CD_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct store_iter;
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
	struct buf	 pack;	/**< the records appended, written by end() */
};

/** Read the next sequence number into w. CD_EOK, CD_ECORRUPT, CD_ESTORE. */
int spool_writer_begin(struct store_txn *txn, struct spool_writer *w);
/** Append a record through w; sets rec->seq. */
int spool_writer_append(struct store_txn *txn, struct spool_writer *w,
    struct spool_rec *rec);
/** Write the appended records as one entry and w's next sequence number
 * (only when something was appended); frees w's buffer either way. */
int spool_writer_end(struct store_txn *txn, struct spool_writer *w);
/** Make room at once for about this many records and data bytes (a hint). */
int spool_writer_expect(struct spool_writer *w, size_t records, size_t bytes);
/** Free w's buffer without writing (the job failed before end). */
void spool_writer_abandon(struct spool_writer *w);

/** The sequence numbers a store entry holds, from its key and value. */
int spool_entry_span(const struct store_val *key, const struct store_val *val,
    uint64_t *first, uint64_t *last);

/** Records in sequence order, from a read or write transaction. */
struct spool_iter {
	struct store_iter *it;
	const void	*val;	/* the current entry */
	size_t		 len;
	size_t		 off;	/* its next record */
	uint64_t	 seq;	/* that record's number */
	uint64_t	 count;	/* records left in the entry */
	uint64_t	 want;	/* records before this are skipped */
	int		 state;	/* 0 reading, 1 entry unreadable, 2 at the end,
				   3 unreadable and not yet reported */
};

int spool_iter_open(struct store_txn *txn, struct spool_iter *it);
void spool_iter_close(struct spool_iter *it);
/** Position before the first record numbered seq or more. */
int spool_iter_seek(struct spool_iter *it, uint64_t seq);
/**
 * The next record: CD_EOK (pointers borrow from the transaction; raw, if
 * not NULL, gets the record's bytes), CD_ENOTFOUND at the end, CD_ECORRUPT
 * for an unreadable record or entry (the next call goes on after it), or a
 * store error.
 */
int spool_iter_next(struct spool_iter *it, struct spool_rec *out, struct store_val *raw);
/** Sequence number the next append will get (1 on an empty store). */
int spool_next_seq(struct store_txn *txn, uint64_t *out);

#endif
