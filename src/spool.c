/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "be64.h"
#include "err.h"
#include "spool.h"
#include "store.h"

#define SPOOL_VERSION	1
#define SPOOL_META_NEXT	"spool_next"

int
spool_next_seq(struct store_txn *txn, uint64_t *out)
{
	struct store_val v;
	int rc = store_get(txn, STORE_DBI_META, SPOOL_META_NEXT,
	    sizeof(SPOOL_META_NEXT) - 1, &v);

	if (rc == CD_ENOTFOUND) {
		*out = 1;
		return CD_EOK;
	}
	if (rc != CD_EOK)
		return rc;
	if (v.len != 8)
		return CD_ECORRUPT;
	*out = be64_get(v.data);
	return CD_EOK;
}

int
spool_writer_begin(struct store_txn *txn, struct spool_writer *w)
{
	int rc = spool_next_seq(txn, &w->next);

	w->start = w->next;
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
	uint8_t key[8];
	uint64_t seq = w->next;
	int rc;

	/* Written in place in the map: the writer's malloc of every record
	 * (and the malloc_consolidate it set off) was in the profile. The
	 * sequence only grows, so pages are filled in append mode. */
	void *val;
	be64_put(key, seq);
	rc = store_append_reserve(txn, STORE_DBI_SPOOL, key, sizeof(key), len,
	    &val);
	if (rc != CD_EOK)
		return rc;
	uint8_t *p = val;
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
	w->next = seq + 1;
	rec->seq = seq;
	return CD_EOK;
}

int
spool_writer_end(struct store_txn *txn, struct spool_writer *w)
{
	uint8_t next[8];

	/* Nothing appended: the counter is left as it was (absent on an
	 * empty store), as appending record by record left it. */
	if (w->next == w->start)
		return CD_EOK;
	be64_put(next, w->next);
	return store_put(txn, STORE_DBI_META, SPOOL_META_NEXT,
	    sizeof(SPOOL_META_NEXT) - 1, next, sizeof(next));
}

int
spool_append(struct store_txn *txn, struct spool_rec *rec)
{
	struct spool_writer w;
	int rc;

	if ((rc = spool_writer_begin(txn, &w)) == CD_EOK &&
	    (rc = spool_writer_append(txn, &w, rec)) == CD_EOK)
		rc = spool_writer_end(txn, &w);
	return rc;
}

int
spool_decode(const struct store_val *key, const struct store_val *val,
    struct spool_rec *out)
{
	const uint8_t *p = val->data, *end = p + val->len;
	const char *strs[3];

	if (key->len != 8 || val->len < 11 || p[0] != SPOOL_VERSION)
		return CD_ECORRUPT;
	out->seq = be64_get(key->data);
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
