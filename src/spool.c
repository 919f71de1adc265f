/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "be.h"
#include "err.h"
#include "spool.h"
#include "store.h"

#define SPOOL_VERSION		1	/* one record */
#define SPOOL_PACK_VERSION	2	/* a writer job's records */
#define SPOOL_PACK_HDR		5	/* version, u32 count */
#define SPOOL_META_NEXT		"spool_next"

int
spool_next_seq(struct store_txn *txn, uint64_t *out)
{
	int rc = store_get_be64(txn, STORE_DBI_META, SPOOL_META_NEXT,
	    sizeof(SPOOL_META_NEXT) - 1, out);

	if (rc == CD_ENOTFOUND) {
		*out = 1;
		return CD_EOK;
	}
	return rc;
}

int
spool_writer_begin(struct store_txn *txn, struct spool_writer *w)
{
	int rc = spool_next_seq(txn, &w->next);

	w->start = w->next;
	buf_init(&w->pack, 0);
	return rc;
}

int
spool_writer_append(struct store_txn *txn, struct spool_writer *w,
    struct spool_rec *rec)
{
	const char *src = rec->source ? rec->source : "";
	const char *host = rec->host ? rec->host : "";
	const char *sub = rec->subscription ? rec->subscription : "";
	size_t ls = strlen(src) + 1, lh = strlen(host) + 1, lsub = strlen(sub) + 1;
	size_t len = 11 + ls + lh + lsub + rec->data_len;
	int rc;

	(void)txn;
	if (len > UINT32_MAX || w->next - w->start >= UINT32_MAX)
		return CD_ETOOBIG;
	if (w->pack.len == 0 && (rc = buf_append(&w->pack, "\0\0\0\0\0",
	    SPOOL_PACK_HDR)) != CD_EOK)
		return rc;
	if ((rc = buf_reserve(&w->pack, 4 + len)) != CD_EOK)
		return rc;
	uint8_t *p = w->pack.data + w->pack.len;
	be32_put(p, (uint32_t)len);
	p += 4;
	*p++ = SPOOL_VERSION;
	*p++ = rec->type;
	*p++ = rec->flags;
	be64_put(p, (uint64_t)rec->received_ms);
	p += 8;
	memcpy(p, src, ls); p += ls;
	memcpy(p, host, lh); p += lh;
	memcpy(p, sub, lsub); p += lsub;
	if (rec->data_len > 0)
		memcpy(p, rec->data, rec->data_len);
	w->pack.len += 4 + len;
	rec->seq = w->next++;
	return CD_EOK;
}

int
spool_writer_end(struct store_txn *txn, struct spool_writer *w)
{
	uint8_t key[8], next[8];
	void *val;
	int rc;

	/* Nothing appended: the counter is left as it was (absent on an
	 * empty store), as appending record by record left it. */
	if (w->next == w->start) {
		buf_free(&w->pack);
		return CD_EOK;
	}
	/* One entry for the job's records, keyed by the first seq: a
	 * record no longer takes a page of its own (an event over 2 KB took
	 * a whole 4 KB overflow page), and the sequence only grows, so pages
	 * are filled in append mode. */
	w->pack.data[0] = SPOOL_PACK_VERSION;
	be32_put(w->pack.data + 1, (uint32_t)(w->next - w->start));
	be64_put(key, w->start);
	rc = store_append_reserve(txn, STORE_DBI_SPOOL, key, sizeof(key),
	    w->pack.len, &val);
	if (rc == CD_EOK)
		memcpy(val, w->pack.data, w->pack.len);
	buf_free(&w->pack);
	if (rc != CD_EOK)
		return rc;
	be64_put(next, w->next);
	return store_put(txn, STORE_DBI_META, SPOOL_META_NEXT,
	    sizeof(SPOOL_META_NEXT) - 1, next, sizeof(next));
}

int
spool_writer_expect(struct spool_writer *w, size_t records, size_t bytes)
{
	/* Room for the strings and header of each record too. */
	return buf_reserve(&w->pack, SPOOL_PACK_HDR + bytes + records * 96);
}

void
spool_writer_abandon(struct spool_writer *w)
{
	buf_free(&w->pack);
}

int
spool_append(struct store_txn *txn, struct spool_rec *rec)
{
	struct spool_writer w;
	int rc;

	if ((rc = spool_writer_begin(txn, &w)) == CD_EOK &&
	    (rc = spool_writer_append(txn, &w, rec)) == CD_EOK)
		rc = spool_writer_end(txn, &w);
	else
		spool_writer_abandon(&w);
	return rc;
}

/* One record's bytes (version 1), its seq given. */
static int
spool_decode_one(uint64_t seq, const uint8_t *p, size_t len, struct spool_rec *out)
{
	const uint8_t *end = p + len;
	const char *strs[3];

	if (len < 11 || p[0] != SPOOL_VERSION)
		return CD_ECORRUPT;
	out->seq = seq;
	out->type = p[1];
	out->flags = p[2];
	out->received_ms = (int64_t)be64_get(p + 3);
	p += 11;
	for (int i = 0; i < 3; i++) {
		const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL)
			return CD_ECORRUPT;
		strs[i] = (const char *)p;
		p = nul + 1;
	}
	out->source = strs[0];
	out->host = strs[1];
	out->subscription = strs[2];
	out->data = (const char *)p;
	out->data_len = (size_t)(end - p);
	return CD_EOK;
}

int
spool_entry_span(const struct store_val *key, const struct store_val *val,
    uint64_t *first, uint64_t *last)
{
	const uint8_t *p = val->data;

	if (key->len != 8 || val->len < 1)
		return CD_ECORRUPT;
	*first = *last = be64_get(key->data);
	if (p[0] == SPOOL_VERSION)
		return CD_EOK;
	if (p[0] != SPOOL_PACK_VERSION || val->len < SPOOL_PACK_HDR)
		return CD_ECORRUPT;
	uint32_t n = be32_get(p + 1);
	if (n == 0)
		return CD_ECORRUPT;
	*last = *first + n - 1;
	return CD_EOK;
}

int
spool_iter_open(struct store_txn *txn, struct spool_iter *it)
{
	memset(it, 0, sizeof(*it));
	return store_iter_open(txn, STORE_DBI_SPOOL, &it->it);
}

void
spool_iter_close(struct spool_iter *it)
{
	store_iter_close(it->it);
	it->it = NULL;
}

/* Make the entry under the store iterator the current one. */
static int
spool_iter_load(struct spool_iter *it)
{
	struct store_val k, v;
	uint64_t first, last;

	store_iter_get(it->it, &k, &v);
	it->val = v.data;
	it->len = v.len;
	it->count = 0;
	if (spool_entry_span(&k, &v, &first, &last) != CD_EOK)
		return CD_ECORRUPT;
	it->seq = first;
	it->count = last - first + 1;
	it->off = ((const uint8_t *)v.data)[0] == SPOOL_VERSION ? 0 : SPOOL_PACK_HDR;
	return CD_EOK;
}

int
spool_iter_seek(struct spool_iter *it, uint64_t seq)
{
	uint8_t key[8];
	struct store_val k, v;
	int rc;

	it->want = seq;
	it->state = 0;
	be64_put(key, seq);
	rc = store_iter_seek(it->it, key, sizeof(key));
	if (rc == CD_EOK) {
		store_iter_get(it->it, &k, &v);
		if (k.len == 8 && be64_get(k.data) == seq) {
			if (spool_iter_load(it) != CD_EOK)
				it->state = 3;	/* reported by the first next() */
			return CD_EOK;
		}
	} else if (rc != CD_ENOTFOUND) {
		return rc;
	}
	/* seq may be inside the pack before: step back to it. */
	rc = rc == CD_ENOTFOUND ? store_iter_last(it->it) : store_iter_prev(it->it);
	if (rc == CD_ENOTFOUND) {
		/* Nothing before: the entry found first (if any) is the start. */
		if ((rc = store_iter_seek(it->it, key, sizeof(key))) == CD_ENOTFOUND) {
			it->state = 2;
			return CD_EOK;
		}
		if (rc != CD_EOK)
			return rc;
	} else if (rc != CD_EOK) {
		return rc;
	}
	if (spool_iter_load(it) != CD_EOK)
		it->state = 3;
	return CD_EOK;
}

int
spool_iter_next(struct spool_iter *it, struct spool_rec *out, struct store_val *raw)
{
	int rc;

	for (;;) {
		if (it->state == 2)
			return CD_ENOTFOUND;
		if (it->state == 3) {
			/* The entry seek() landed on is unreadable: said once
			 * (an output logs it), then skipped like any other. */
			it->state = 1;
			return CD_ECORRUPT;
		}
		if (it->state == 1 || it->count == 0) {
			/* The current entry is done (or unreadable): the next. */
			it->state = 0;
			if ((rc = store_iter_next(it->it)) == CD_ENOTFOUND) {
				it->state = 2;
				return CD_ENOTFOUND;
			}
			if (rc != CD_EOK)
				return rc;
			if (spool_iter_load(it) != CD_EOK) {
				it->state = 1;
				return CD_ECORRUPT;
			}
			continue;
		}
		const uint8_t *p = (const uint8_t *)it->val + it->off;
		size_t len;
		if (it->off == 0) {
			len = it->len;	/* a version 1 entry: one record */
		} else {
			size_t left = it->len - it->off;
			if (left < 4 || (len = be32_get(p)) > left - 4) {
				it->state = 1;
				return CD_ECORRUPT;
			}
			p += 4;
			it->off += 4;
		}
		uint64_t seq = it->seq;
		it->off += len;
		it->seq++;
		it->count--;
		if (seq < it->want)
			continue;
		if (spool_decode_one(seq, p, len, out) != CD_EOK) {
			/* One bad record: the rest of its entry cannot be trusted. */
			it->state = 1;
			return CD_ECORRUPT;
		}
		if (raw != NULL) {
			raw->data = p;
			raw->len = len;
		}
		return CD_EOK;
	}
}
