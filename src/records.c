/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "be.h"
#include "err.h"
#include "log.h"
#include "records.h"
#include "store.h"
#include "varint.h"

/*
 * The first interval whose hi is >= id (e->n when none): id is claimed when
 * that interval's lo is <= id. In-order delivery extends the last interval,
 * so that case is answered without searching.
 */
static size_t
records_find(const struct records_ent *e, uint64_t id)
{
	size_t lo = 0, hi = e->n;

	if (e->n > 0 && id > e->iv[e->n - 1].hi)
		return e->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->iv[mid].hi < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool
records_covered(const struct records_ent *e, size_t i, uint64_t id)
{
	return i < e->n && e->iv[i].lo <= id;
}

/* Room for one more interval: the array grows as gaps appear, so the usual
 * single interval costs no more than a few bytes. */
static int
records_reserve(struct records_ent *e)
{
	if (e->n < e->cap)
		return CD_EOK;
	size_t ncap = e->cap ? e->cap * 2 : 4;
	if (ncap > RECORDS_MAX_INTERVALS + 1)
		ncap = RECORDS_MAX_INTERVALS + 1;
	struct records_ival *p = realloc(e->iv, ncap * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	e->iv = p;
	e->cap = ncap;
	return CD_EOK;
}

/* Keep to the cap: forget the lowest intervals. */
static void
records_trim(struct records_ent *e)
{
	if (e->n <= RECORDS_MAX_INTERVALS)
		return;
	size_t drop = e->n - RECORDS_MAX_INTERVALS;
	memmove(&e->iv[0], &e->iv[drop], RECORDS_MAX_INTERVALS * sizeof(e->iv[0]));
	e->n = RECORDS_MAX_INTERVALS;
}

/*
 * Add id, not covered, at position i (as records_find() gave it): extend a
 * neighbour, join two, or insert [id, id]. Over the cap the lowest
 * interval is forgotten (records.h says why not merged).
 */
static int
records_insert(struct records_ent *e, size_t i, uint64_t id)
{
	/* iv[i - 1].hi < id < iv[i].lo, so neither + 1 overflows. */
	bool left = i > 0 && e->iv[i - 1].hi + 1 == id;
	bool right = i < e->n && id + 1 == e->iv[i].lo;
	int rc;

	e->dirty = true;
	if (left && right) {
		e->iv[i - 1].hi = e->iv[i].hi;
		memmove(&e->iv[i], &e->iv[i + 1], (e->n - i - 1) * sizeof(e->iv[0]));
		e->n--;
		return CD_EOK;
	}
	if (left) {
		e->iv[i - 1].hi = id;
		return CD_EOK;
	}
	if (right) {
		e->iv[i].lo = id;
		return CD_EOK;
	}
	if ((rc = records_reserve(e)) != CD_EOK)
		return rc;
	memmove(&e->iv[i + 1], &e->iv[i], (e->n - i) * sizeof(e->iv[0]));
	e->iv[i].lo = e->iv[i].hi = id;
	e->n++;
	records_trim(e);
	return CD_EOK;
}

/* Claim id in memory only: 1 new, 0 already claimed, or -ENOMEM. */
static int
records_claim_mem(struct records_ent *e, uint64_t id)
{
	size_t i = records_find(e, id);
	int rc;

	if (records_covered(e, i, id))
		return 0;
	rc = records_insert(e, i, id);
	return rc == CD_EOK ? 1 : rc;
}

static int
records_decode(struct records_ent *e, const struct store_val *v)
{
	const uint8_t *p = v->data, *end = p + v->len;
	uint64_t prev_hi = 0;
	int rc;

	if (v->len < 1 || p[0] != RECORDS_VERSION)
		return CD_ECORRUPT;
	for (p++; p < end;) {
		uint64_t gap, len, lo;
		size_t a, b;

		if ((a = varint_get(p, end, &gap)) == 0 ||
		    (b = varint_get(p + a, end, &len)) == 0)
			return CD_ECORRUPT;
		p += a + b;
		if (e->n == 0) {
			lo = gap;
		} else {
			/* Intervals are ascending and never adjacent. */
			if (prev_hi > UINT64_MAX - 2 || gap > UINT64_MAX - 2 - prev_hi)
				return CD_ECORRUPT;
			lo = prev_hi + 2 + gap;
		}
		if (len > UINT64_MAX - lo)
			return CD_ECORRUPT;
		if ((rc = records_reserve(e)) != CD_EOK)
			return rc;
		e->iv[e->n].lo = lo;
		e->iv[e->n].hi = prev_hi = lo + len;
		e->n++;
		/* A value is never longer than the cap; keep to it anyway. */
		if (e->n > RECORDS_MAX_INTERVALS) {
			records_trim(e);
			e->dirty = true;
		}
	}
	return CD_EOK;
}

static int
records_write(struct store_txn *txn, const struct records_ent *e)
{
	size_t len = 1;
	uint64_t prev_hi = 0;
	uint8_t *p;
	void *slot;
	int rc;

	for (size_t i = 0; i < e->n; i++) {
		uint64_t gap = i == 0 ? e->iv[i].lo : e->iv[i].lo - prev_hi - 2;
		len += varint_len(gap) +
		    varint_len(e->iv[i].hi - e->iv[i].lo);
		prev_hi = e->iv[i].hi;
	}
	rc = store_put_reserve(txn, STORE_DBI_RECORDS, e->key, e->klen, len, &slot);
	if (rc != CD_EOK)
		return rc;
	p = slot;
	*p++ = RECORDS_VERSION;
	for (size_t i = 0; i < e->n; i++) {
		uint64_t gap = i == 0 ? e->iv[i].lo : e->iv[i].lo - e->iv[i - 1].hi - 2;
		p += varint_put(p, gap);
		p += varint_put(p, e->iv[i].hi - e->iv[i].lo);
	}
	return CD_EOK;
}

/* Whether k is an old per-record key of the pair whose key is e->key. */
static bool
records_is_legacy(const struct records_ent *e, const struct store_val *k)
{
	return k->len == e->klen + 8 && memcmp(k->data, e->key, e->klen) == 0;
}

/*
 * Read e's value (e->key set) and fold up to RECORDS_FOLD_MAX of the old
 * per-record entries after it, lowest first, deleting them. *folded gets
 * their number. Old entries beyond that set e->legacy.
 */
static int
records_load(struct store_txn *txn, struct records_ent *e, size_t *folded)
{
	struct store_iter *it = NULL;
	struct store_val k, v;
	int rc;

	*folded = 0;
	e->n = 0;
	e->legacy = e->dirty = false;
	if ((rc = store_iter_open(txn, STORE_DBI_RECORDS, &it)) != CD_EOK)
		return rc;
	rc = store_iter_seek(it, e->key, e->klen);
	if (rc == CD_EOK) {
		store_iter_get(it, &k, &v);
		if (k.len == e->klen && memcmp(k.data, e->key, e->klen) == 0) {
			if ((rc = records_decode(e, &v)) == CD_ECORRUPT) {
				/* Refusing the pair would refuse its host's
				 * batches for good (Windows resends a refused
				 * batch forever); start it anew instead: at
				 * worst a re-delivered old record is counted
				 * twice, and no event is lost. */
				log_err("records", "host=%s channel=%s: "
				    "unreadable de-duplication record (%zu bytes, "
				    "version %u) replaced by a new one; records "
				    "re-delivered from before are stored again",
				    (const char *)e->key,
				    (const char *)e->key + e->hlen + 1, v.len,
				    v.len > 0 ? *(const uint8_t *)v.data : 0);
				e->n = 0;
				e->dirty = true;
				rc = CD_EOK;
			}
			if (rc != CD_EOK)
				goto out;
			rc = store_iter_next(it);
		}
	}
	for (; rc == CD_EOK; rc = store_iter_next(it)) {
		store_iter_get(it, &k, &v);
		if (!records_is_legacy(e, &k))
			break;
		if (*folded == RECORDS_FOLD_MAX) {
			e->legacy = true;
			break;
		}
		if ((rc = records_claim_mem(e, be64_get(
		    (const uint8_t *)k.data + e->klen))) < 0)
			goto out;
		if ((rc = store_iter_del(it)) != CD_EOK)
			goto out;
		e->dirty = true;
		(*folded)++;
	}
	if (rc == CD_ENOTFOUND)
		rc = CD_EOK;
out:
	store_iter_close(it);
	return rc;
}

void
records_batch_init(struct records_batch *rb)
{
	rb->n = 0;
	rb->last = 0;
}

static bool
records_match(const struct records_ent *e, const char *host, size_t lh,
    const char *channel, size_t lc)
{
	return e->hlen == lh && e->klen == lh + lc + 2 &&
	    memcmp(e->key, host, lh) == 0 &&
	    memcmp(e->key + lh + 1, channel, lc) == 0;
}

int
records_batch_claim(struct store_txn *txn, struct records_batch *rb,
    const char *host, const char *channel, uint64_t record_id)
{
	size_t lh = strlen(host), lc = strlen(channel), folded, i;
	struct records_ent *e = NULL;
	int rc;

	if (lh + lc + 2 + 8 > STORE_KEY_MAX)
		return 1;	/* absurd names: keep the event, skip the check */
	/* A batch is mostly one (host, channel): the last one used is first. */
	if (rb->n > 0 && records_match(&rb->ent[rb->last], host, lh, channel, lc))
		e = &rb->ent[rb->last];
	for (i = 0; e == NULL && i < rb->n; i++)
		if (records_match(&rb->ent[i], host, lh, channel, lc)) {
			e = &rb->ent[i];
			rb->last = i;
		}
	if (e == NULL) {
		/* Writing back early changes nothing: the store is then read
		 * again at the pair's next claim. */
		if (rb->n == RECORDS_BATCH_MAX &&
		    (rc = records_batch_flush(txn, rb)) != CD_EOK)
			return rc;
		e = &rb->ent[rb->n];
		memcpy(e->key, host, lh + 1);
		memcpy(e->key + lh + 1, channel, lc + 1);
		e->hlen = lh;
		e->klen = lh + lc + 2;
		e->iv = NULL;
		e->n = e->cap = 0;
		if ((rc = records_load(txn, e, &folded)) != CD_EOK) {
			/* Not held: a flush must never write it back. */
			free(e->iv);
			e->iv = NULL;
			return rc;
		}
		rb->last = rb->n++;
	}
	i = records_find(e, record_id);
	if (records_covered(e, i, record_id))
		return 0;
	if (e->legacy) {
		/* Old entries not folded yet are the highest ones. */
		uint8_t key[STORE_KEY_MAX];
		struct store_val v;

		memcpy(key, e->key, e->klen);
		be64_put(key + e->klen, record_id);
		rc = store_get(txn, STORE_DBI_RECORDS, key, e->klen + 8, &v);
		if (rc == CD_EOK)
			return 0;
		if (rc != CD_ENOTFOUND)
			return rc;
	}
	rc = records_insert(e, i, record_id);
	return rc == CD_EOK ? 1 : rc;
}

int
records_batch_flush(struct store_txn *txn, struct records_batch *rb)
{
	int rc = CD_EOK;

	for (size_t i = 0; i < rb->n && rc == CD_EOK; i++)
		if (rb->ent[i].dirty)
			rc = records_write(txn, &rb->ent[i]);
	records_batch_clear(rb);
	return rc;
}

void
records_batch_clear(struct records_batch *rb)
{
	for (size_t i = 0; i < rb->n; i++) {
		free(rb->ent[i].iv);
		rb->ent[i].iv = NULL;
	}
	rb->n = 0;
	rb->last = 0;
}

void
records_migration_init(struct records_migration *m)
{
	memset(m, 0, sizeof(*m));
}

/* The length of the (host, channel) prefix of k, or 0 when k has not two
 * NUL-terminated fields. */
static size_t
records_pair_len(const struct store_val *k)
{
	const uint8_t *p = k->data, *a, *b;

	if ((a = memchr(p, '\0', k->len)) == NULL)
		return 0;
	if ((b = memchr(a + 1, '\0', k->len - (size_t)(a + 1 - p))) == NULL)
		return 0;
	return (size_t)(b + 1 - p);
}

int
records_migrate(struct store_txn *txn, struct records_migration *m)
{
	struct store_iter *it = NULL;
	struct records_batch rb;
	struct records_ent *e;
	struct store_val k, v;
	size_t pl = 0, scanned = 0, folded = 0;
	int rc;

	if (m->done)
		return CD_EOK;
	if ((rc = store_iter_open(txn, STORE_DBI_RECORDS, &it)) != CD_EOK)
		return rc;
	for (rc = store_iter_seek(it, m->pos, m->pos_len); rc == CD_EOK;
	    rc = store_iter_next(it)) {
		store_iter_get(it, &k, &v);
		pl = records_pair_len(&k);
		if (pl > 0 && k.len == pl + 8)
			break;		/* an old entry: fold its pair */
		pl = 0;
		if (++scanned == RECORDS_FOLD_MAX) {
			/* Enough for one transaction: resume here. */
			memcpy(m->pos, k.data, k.len);
			m->pos_len = k.len;
			store_iter_close(it);
			return CD_EOK;
		}
	}
	if (rc == CD_ENOTFOUND) {
		store_iter_close(it);
		m->done = true;
		return CD_EOK;
	}
	if (rc != CD_EOK) {
		store_iter_close(it);
		return rc;
	}
	/* Another cursor is about to delete: copy the key and close this one. */
	records_batch_init(&rb);
	e = &rb.ent[0];
	memcpy(e->key, k.data, pl);
	e->klen = pl;
	e->hlen = strlen((const char *)e->key);
	e->iv = NULL;
	e->n = e->cap = 0;
	rb.n = 1;
	store_iter_close(it);
	rc = records_load(txn, e, &folded);
	if (rc == CD_EOK) {
		rc = records_batch_flush(txn, &rb);
	} else {
		records_batch_clear(&rb);
	}
	if (rc != CD_EOK)
		return rc;
	m->folded += folded;
	/* Resume at this pair: it may have more old entries. */
	memcpy(m->pos, e->key, pl);
	m->pos_len = pl;
	return CD_EOK;
}
