/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hosts.h"
#include "store.h"
#include "store_key.h"

#define HOSTS_VERSION	1
/* version, id, first, last, heartbeat, events, dns_queries, domains */
#define HOSTS_REC_LEN	(1 + 4 + 8 * 3 + 8 * 3)

#define HOSTS_K_HOST	'h'
#define HOSTS_K_HOSTID	'H'
#define HOSTS_K_IMAGE	'm'
#define HOSTS_K_IMAGEID	'M'
#define HOSTS_K_COUNTER	'c'
#define HOSTS_K_STATE	'x'

static int	 hosts_norm(const char *host, char out[HOSTS_NAME_MAX]);
static void	 hosts_be_put(uint8_t *p, uint64_t v, int n);
static uint64_t	 hosts_be_get(const uint8_t *p, int n);
static int	 hosts_rec_decode(const struct store_val *v, struct hosts_info *hi);
static void	 hosts_rec_encode(const struct hosts_info *hi, uint8_t out[HOSTS_REC_LEN]);
static int	 hosts_key(struct store_key *k, uint8_t type, const char *name);
static int	 hosts_next_id(struct store_txn *txn, uint8_t kind, uint32_t *id);
static int	 hosts_get_rec(struct store_txn *txn, const char *norm,
		    struct hosts_info *out);
static int	 hosts_put_rec(struct store_txn *txn, const struct hosts_info *hi);
static int	 hosts_create(struct store_txn *txn, const char *norm,
		    struct hosts_info *out);

/* Host names are keyed lower-cased: Computer is written in mixed case. */
static int
hosts_norm(const char *host, char out[HOSTS_NAME_MAX])
{
	size_t i, len;

	if (host == NULL || (len = strlen(host)) == 0 || len >= HOSTS_NAME_MAX)
		return -EINVAL;
	for (i = 0; i <= len; i++)
		out[i] = (host[i] >= 'A' && host[i] <= 'Z') ?
		    (char)(host[i] - 'A' + 'a') : host[i];
	return CD_EOK;
}

static void
hosts_be_put(uint8_t *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
hosts_be_get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

static int
hosts_rec_decode(const struct store_val *v, struct hosts_info *hi)
{
	const uint8_t *p = v->data;

	if (v->len < HOSTS_REC_LEN || p[0] != HOSTS_VERSION)
		return CD_ECORRUPT;
	hi->id = (uint32_t)hosts_be_get(p + 1, 4);
	hi->first_seen = (int64_t)hosts_be_get(p + 5, 8);
	hi->last_seen = (int64_t)hosts_be_get(p + 13, 8);
	hi->last_heartbeat = (int64_t)hosts_be_get(p + 21, 8);
	hi->events = hosts_be_get(p + 29, 8);
	hi->dns_queries = hosts_be_get(p + 37, 8);
	hi->domains = hosts_be_get(p + 45, 8);
	return CD_EOK;
}

static void
hosts_rec_encode(const struct hosts_info *hi, uint8_t out[HOSTS_REC_LEN])
{
	out[0] = HOSTS_VERSION;
	hosts_be_put(out + 1, hi->id, 4);
	hosts_be_put(out + 5, (uint64_t)hi->first_seen, 8);
	hosts_be_put(out + 13, (uint64_t)hi->last_seen, 8);
	hosts_be_put(out + 21, (uint64_t)hi->last_heartbeat, 8);
	hosts_be_put(out + 29, hi->events, 8);
	hosts_be_put(out + 37, hi->dns_queries, 8);
	hosts_be_put(out + 45, hi->domains, 8);
}

/* The key TYPE | name of a record keyed by a string (host, image, state). */
static int
hosts_key(struct store_key *k, uint8_t type, const char *name)
{
	store_key_init(k);
	store_key_put_u8(k, type);
	store_key_put_str(k, name);
	return store_key_err(k);
}

/* Ids start at 1 so 0 can mean "none" in the index's values. */
static int
hosts_next_id(struct store_txn *txn, uint8_t kind, uint32_t *id)
{
	uint8_t key[2] = { HOSTS_K_COUNTER, kind }, val[4];
	struct store_val v;
	uint32_t next = 1;
	int rc;

	rc = store_get(txn, STORE_DBI_HOSTS, key, sizeof(key), &v);
	if (rc == CD_EOK) {
		if (v.len != 4)
			return CD_ECORRUPT;
		next = (uint32_t)hosts_be_get(v.data, 4);
	} else if (rc != CD_ENOTFOUND) {
		return rc;
	}
	if (next == UINT32_MAX)
		return CD_ETOOBIG;
	hosts_be_put(val, next + 1, 4);
	rc = store_put(txn, STORE_DBI_HOSTS, key, sizeof(key), val, sizeof(val));
	if (rc == CD_EOK)
		*id = next;
	return rc;
}

static int
hosts_get_rec(struct store_txn *txn, const char *norm, struct hosts_info *out)
{
	struct store_key k;
	struct store_val v;
	int rc;

	if ((rc = hosts_key(&k, HOSTS_K_HOST, norm)) != CD_EOK)
		return rc;
	if ((rc = store_get(txn, STORE_DBI_HOSTS, k.buf, k.len, &v)) != CD_EOK)
		return rc;
	memset(out, 0, sizeof(*out));
	snprintf(out->host, sizeof(out->host), "%s", norm);
	return hosts_rec_decode(&v, out);
}

static int
hosts_put_rec(struct store_txn *txn, const struct hosts_info *hi)
{
	uint8_t rec[HOSTS_REC_LEN];
	struct store_key k;
	int rc;

	if ((rc = hosts_key(&k, HOSTS_K_HOST, hi->host)) != CD_EOK)
		return rc;
	hosts_rec_encode(hi, rec);
	return store_put(txn, STORE_DBI_HOSTS, k.buf, k.len, rec, sizeof(rec));
}

static int
hosts_create(struct store_txn *txn, const char *norm, struct hosts_info *out)
{
	uint8_t key[5];
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->host, sizeof(out->host), "%s", norm);
	if ((rc = hosts_next_id(txn, HOSTS_K_HOST, &out->id)) != CD_EOK)
		return rc;
	key[0] = HOSTS_K_HOSTID;
	hosts_be_put(key + 1, out->id, 4);
	rc = store_put(txn, STORE_DBI_HOSTS, key, sizeof(key), norm, strlen(norm));
	if (rc != CD_EOK)
		return rc;
	return hosts_put_rec(txn, out);
}

/* Read (or create) a host's record as hosts_update() begins. */
static int
hosts_load(struct store_txn *txn, const char *norm, struct hosts_info *hi)
{
	int rc = hosts_get_rec(txn, norm, hi);

	if (rc == CD_ENOTFOUND)
		rc = hosts_create(txn, norm, hi);
	return rc;
}

static void
hosts_apply(struct hosts_info *hi, int64_t now_ms, const struct hosts_delta *d)
{
	/* first_seen 0 means "created by the index, nothing received yet". */
	if (hi->first_seen == 0 || now_ms < hi->first_seen)
		hi->first_seen = now_ms;
	if (now_ms > hi->last_seen)
		hi->last_seen = now_ms;
	if (d != NULL) {
		if (d->heartbeat && now_ms > hi->last_heartbeat)
			hi->last_heartbeat = now_ms;
		hi->events += d->events;
		hi->dns_queries += d->dns_queries;
		hi->domains += d->domains;
	}
}

int
hosts_update(struct store_txn *txn, const char *host, int64_t now_ms,
    const struct hosts_delta *d)
{
	char norm[HOSTS_NAME_MAX];
	struct hosts_info hi;
	int rc;

	if ((rc = hosts_norm(host, norm)) != CD_EOK)
		return rc;
	if ((rc = hosts_load(txn, norm, &hi)) != CD_EOK)
		return rc;
	hosts_apply(&hi, now_ms, d);
	return hosts_put_rec(txn, &hi);
}

void
hosts_batch_init(struct hosts_batch *hb)
{
	hb->n = 0;
}

int
hosts_batch_update(struct store_txn *txn, struct hosts_batch *hb,
    const char *host, int64_t now_ms, const struct hosts_delta *d)
{
	char norm[HOSTS_NAME_MAX];
	struct hosts_info *hi = NULL;
	int rc;

	if ((rc = hosts_norm(host, norm)) != CD_EOK)
		return rc;
	/* A batch is mostly one host: the last one used is first. */
	for (size_t i = hb->n; i-- > 0;)
		if (strcmp(hb->ent[i].host, norm) == 0) {
			hi = &hb->ent[i];
			break;
		}
	if (hi == NULL) {
		/* Writing back early changes nothing: the store is then read
		 * again at the host's next update. */
		if (hb->n == HOSTS_BATCH_MAX &&
		    (rc = hosts_batch_flush(txn, hb)) != CD_EOK)
			return rc;
		hi = &hb->ent[hb->n];
		if ((rc = hosts_load(txn, norm, hi)) != CD_EOK)
			return rc;
		hb->n++;
	}
	hosts_apply(hi, now_ms, d);
	return CD_EOK;
}

int
hosts_batch_flush(struct store_txn *txn, struct hosts_batch *hb)
{
	int rc = CD_EOK;

	for (size_t i = 0; i < hb->n && rc == CD_EOK; i++)
		rc = hosts_put_rec(txn, &hb->ent[i]);
	hb->n = 0;
	return rc;
}

int
hosts_get(struct store_txn *txn, const char *host, struct hosts_info *out)
{
	char norm[HOSTS_NAME_MAX];
	int rc;

	if ((rc = hosts_norm(host, norm)) != CD_EOK)
		return rc == -EINVAL ? CD_ENOTFOUND : rc;
	return hosts_get_rec(txn, norm, out);
}

int
hosts_list(struct store_txn *txn, const uint8_t *cursor, size_t cursor_len,
    size_t limit, struct hosts_list *out)
{
	struct store_iter *it = NULL;
	struct store_key k;
	struct store_val key, val;
	size_t cap;
	int rc;

	memset(out, 0, sizeof(*out));
	if (limit == 0)
		limit = 100;
	if (limit > 10000 || cursor_len >= HOSTS_CURSOR_MAX ||
	    (cursor_len > 0 && memchr(cursor, '\0', cursor_len) != NULL))
		return -EINVAL;
	cap = limit < 64 ? limit : 64;
	if ((out->items = calloc(cap, sizeof(*out->items))) == NULL)
		return -ENOMEM;
	store_key_init(&k);
	store_key_put_u8(&k, HOSTS_K_HOST);
	if (cursor_len > 0)
		store_key_put_strn(&k, (const char *)cursor, cursor_len);
	if ((rc = store_key_err(&k)) != CD_EOK)
		goto fail;
	if ((rc = store_iter_open(txn, STORE_DBI_HOSTS, &it)) != CD_EOK)
		goto fail;
	for (rc = store_iter_seek(it, k.buf, k.len); rc == CD_EOK;
	    rc = store_iter_next(it)) {
		struct hosts_info *hi;
		const uint8_t *kp;

		store_iter_get(it, &key, &val);
		kp = key.data;
		if (key.len < 2 || kp[0] != HOSTS_K_HOST)
			break;
		/* The cursor is the last host returned: skip it. */
		if (key.len == k.len && cursor_len > 0 &&
		    memcmp(key.data, k.buf, k.len) == 0)
			continue;
		if (out->n == limit) {
			hi = &out->items[out->n - 1];
			out->next_cursor_len = strlen(hi->host);
			memcpy(out->next_cursor, hi->host, out->next_cursor_len);
			break;
		}
		if (out->n == cap) {
			struct hosts_info *grown;

			cap = cap * 2 < limit ? cap * 2 : limit;
			grown = realloc(out->items, cap * sizeof(*grown));
			if (grown == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
			out->items = grown;
		}
		hi = &out->items[out->n];
		memset(hi, 0, sizeof(*hi));
		if (key.len - 1 > HOSTS_NAME_MAX || kp[key.len - 1] != '\0') {
			rc = CD_ECORRUPT;
			goto fail;
		}
		memcpy(hi->host, kp + 1, key.len - 1);
		if ((rc = hosts_rec_decode(&val, hi)) != CD_EOK)
			goto fail;
		out->n++;
	}
	if (rc != CD_EOK && rc != CD_ENOTFOUND)
		goto fail;
	store_iter_close(it);
	return CD_EOK;
fail:
	store_iter_close(it);
	hosts_list_free(out);
	return rc;
}

void
hosts_list_free(struct hosts_list *l)
{
	if (l == NULL)
		return;
	free(l->items);
	memset(l, 0, sizeof(*l));
}

int
hosts_id(struct store_txn *txn, const char *host, bool create, uint32_t *id)
{
	char norm[HOSTS_NAME_MAX];
	struct hosts_info hi;
	int rc;

	if ((rc = hosts_norm(host, norm)) != CD_EOK)
		return create ? rc : CD_ENOTFOUND;
	rc = hosts_get_rec(txn, norm, &hi);
	if (rc == CD_ENOTFOUND && create)
		rc = hosts_create(txn, norm, &hi);
	if (rc == CD_EOK)
		*id = hi.id;
	return rc;
}

int
hosts_name(struct store_txn *txn, uint32_t id, char out[HOSTS_NAME_MAX])
{
	uint8_t key[5];
	struct store_val v;
	int rc;

	key[0] = HOSTS_K_HOSTID;
	hosts_be_put(key + 1, id, 4);
	if ((rc = store_get(txn, STORE_DBI_HOSTS, key, sizeof(key), &v)) != CD_EOK)
		return rc;
	if (v.len >= HOSTS_NAME_MAX)
		return CD_ECORRUPT;
	memcpy(out, v.data, v.len);
	out[v.len] = '\0';
	return CD_EOK;
}

int
hosts_image_id(struct store_txn *txn, const char *image, bool create, uint32_t *id)
{
	struct store_key k;
	struct store_val v;
	uint8_t ikey[5], val[4];
	int rc;

	if ((rc = hosts_key(&k, HOSTS_K_IMAGE, image != NULL ? image : "")) != CD_EOK)
		return rc;
	rc = store_get(txn, STORE_DBI_HOSTS, k.buf, k.len, &v);
	if (rc == CD_EOK) {
		if (v.len != 4)
			return CD_ECORRUPT;
		*id = (uint32_t)hosts_be_get(v.data, 4);
		return CD_EOK;
	}
	if (rc != CD_ENOTFOUND || !create)
		return rc;
	if ((rc = hosts_next_id(txn, HOSTS_K_IMAGE, id)) != CD_EOK)
		return rc;
	hosts_be_put(val, *id, 4);
	if ((rc = store_put(txn, STORE_DBI_HOSTS, k.buf, k.len, val, 4)) != CD_EOK)
		return rc;
	ikey[0] = HOSTS_K_IMAGEID;
	hosts_be_put(ikey + 1, *id, 4);
	return store_put(txn, STORE_DBI_HOSTS, ikey, sizeof(ikey),
	    image != NULL ? image : "", image != NULL ? strlen(image) : 0);
}

int
hosts_image_name(struct store_txn *txn, uint32_t id, char **out)
{
	uint8_t key[5];
	struct store_val v;
	int rc;

	*out = NULL;
	key[0] = HOSTS_K_IMAGEID;
	hosts_be_put(key + 1, id, 4);
	if ((rc = store_get(txn, STORE_DBI_HOSTS, key, sizeof(key), &v)) != CD_EOK)
		return rc;
	if ((*out = malloc(v.len + 1)) == NULL)
		return -ENOMEM;
	memcpy(*out, v.data, v.len);
	(*out)[v.len] = '\0';
	return CD_EOK;
}

int
hosts_state_get(struct store_txn *txn, const char *name, uint8_t *buf,
    size_t cap, size_t *len)
{
	struct store_key k;
	struct store_val v;
	int rc;

	if ((rc = hosts_key(&k, HOSTS_K_STATE, name)) != CD_EOK)
		return rc;
	if ((rc = store_get(txn, STORE_DBI_HOSTS, k.buf, k.len, &v)) != CD_EOK)
		return rc;
	if (v.len > cap)
		return CD_ETOOBIG;
	memcpy(buf, v.data, v.len);
	*len = v.len;
	return CD_EOK;
}

int
hosts_state_put(struct store_txn *txn, const char *name, const void *data,
    size_t len)
{
	struct store_key k;
	int rc;

	if ((rc = hosts_key(&k, HOSTS_K_STATE, name)) != CD_EOK)
		return rc;
	if (data == NULL) {
		rc = store_del(txn, STORE_DBI_HOSTS, k.buf, k.len);
		return rc == CD_ENOTFOUND ? CD_EOK : rc;
	}
	return store_put(txn, STORE_DBI_HOSTS, k.buf, k.len, data, len);
}
