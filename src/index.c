/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hosts.h"
#include "index.h"
#include "log.h"
#include "store.h"
#include "store_key.h"

/*
 * Tables (all keys built with store_key.h, names in reversed-label form):
 *   DNS_DOMAIN     domain                         -> aggregate
 *   DNS_REGDOM     registered domain              -> aggregate
 *   DNS_HOSTDOM    host id u32, domain            -> pair aggregate
 *   DNS_FIRST      first_seen i64, domain         -> ""
 *   DNS_HOSTFIRST  host id u32, first_seen, domain -> ""
 *   DNS_IP         family u8, address, domain     -> version, first, last
 * Hosts and images are interned to u32 ids in the host registry so the
 * per-pair entries (HOSTDOM and HOSTFIRST) stay small.
 */

#define INDEX_VERSION		1
/* version, first, six varints, image count, image ids */
#define INDEX_AGG_MAXLEN	(1 + 8 + 6 * 10 + 1 + 5 * INDEX_IMAGES_MAX)
#define INDEX_IP_VALLEN		17
/* A suffix query sorts its matches in memory up to this many names, then
 * falls back to scanning the first_seen view (see index_domains_list). */
#define INDEX_SUFFIX_SORT_MAX	50000
#define INDEX_PRUNE_STATE	"index.prune"

enum index_agg_kind {
	INDEX_AGG_FULL,		/* domain and registered domain */
	INDEX_AGG_PAIR,		/* (host, domain): no host fields */
};

/* The decoded value of an aggregate. Ids are the host registry's. */
struct index_agg {
	int64_t	 first, last;
	uint64_t count, host_count, first_rec;
	uint32_t first_host, first_image;
	uint8_t	 nimg;
	uint32_t img[INDEX_IMAGES_MAX];
};

static size_t	 index_put_varint(uint8_t *p, uint64_t v);
static int	 index_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v);
static void	 index_put_be64(uint8_t *p, uint64_t v);
static uint64_t	 index_get_be64(const uint8_t *p);
static size_t	 index_agg_encode(const struct index_agg *a, enum index_agg_kind kind,
		    uint8_t *out);
static int	 index_agg_decode(const void *data, size_t len,
		    enum index_agg_kind kind, struct index_agg *a);
static void	 index_agg_add_image(struct index_agg *a, uint32_t iid);
static void	 index_ip_encode(int64_t first, int64_t last, uint8_t out[INDEX_IP_VALLEN]);
static int	 index_ip_decode(const void *data, size_t len, int64_t *first,
		    int64_t *last);

static int	 index_key_domain(struct store_key *k, const char *name);
static int	 index_key_hostdom(struct store_key *k, uint32_t hid, const char *name);
static int	 index_key_first(struct store_key *k, int64_t t, const char *name);
static int	 index_key_hostfirst(struct store_key *k, uint32_t hid, int64_t t,
		    const char *name);
static int	 index_earlier(struct store_txn *txn, int64_t t, uint32_t hid,
		    uint64_t rec, const struct index_agg *a, bool *earlier);
static int	 index_agg_update(struct store_txn *txn, enum store_dbi dbi,
		    const char *name, uint32_t hid, uint32_t iid,
		    const struct dns_obs *obs, bool new_host, bool *created,
		    int64_t *old_first, int64_t *new_first);
static int	 index_regdom_host_seen(struct store_txn *txn, uint32_t hid,
		    const char *name, const char *regdom, bool *seen);
static int	 index_ip_update(struct store_txn *txn, const struct dns_answer *a,
		    const char *name, int64_t t);

static size_t
index_put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static int
index_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	unsigned shift = 0;

	*v = 0;
	while (p < end && shift < 64) {
		*v |= (uint64_t)(*p & 0x7f) << shift;
		if ((*p++ & 0x80) == 0) {
			*pp = p;
			return CD_EOK;
		}
		shift += 7;
	}
	return CD_ECORRUPT;
}

static void
index_put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
index_get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Varints keep a typical pair value near 20 bytes: last is stored as its
 * distance from first, counts and ids are small numbers. */
static size_t
index_agg_encode(const struct index_agg *a, enum index_agg_kind kind, uint8_t *out)
{
	size_t n = 0, i;

	out[n++] = INDEX_VERSION;
	index_put_be64(out + n, (uint64_t)a->first);
	n += 8;
	n += index_put_varint(out + n, (uint64_t)(a->last - a->first));
	n += index_put_varint(out + n, a->count);
	if (kind == INDEX_AGG_FULL) {
		n += index_put_varint(out + n, a->host_count);
		n += index_put_varint(out + n, a->first_host);
		n += index_put_varint(out + n, a->first_image);
		n += index_put_varint(out + n, a->first_rec);
	}
	out[n++] = a->nimg;
	for (i = 0; i < a->nimg; i++)
		n += index_put_varint(out + n, a->img[i]);
	return n;
}

static int
index_agg_decode(const void *data, size_t len, enum index_agg_kind kind,
    struct index_agg *a)
{
	const uint8_t *p = data, *end = p + len;
	uint64_t v[6];
	size_t i, nv = kind == INDEX_AGG_FULL ? 6 : 2;

	memset(a, 0, sizeof(*a));
	if (len < 10 || p[0] != INDEX_VERSION)
		return CD_ECORRUPT;
	a->first = (int64_t)index_get_be64(p + 1);
	p += 9;
	for (i = 0; i < nv; i++)
		if (index_get_varint(&p, end, &v[i]) != CD_EOK)
			return CD_ECORRUPT;
	a->last = a->first + (int64_t)v[0];
	a->count = v[1];
	if (kind == INDEX_AGG_FULL) {
		a->host_count = v[2];
		a->first_host = (uint32_t)v[3];
		a->first_image = (uint32_t)v[4];
		a->first_rec = v[5];
	}
	if (p >= end || *p > INDEX_IMAGES_MAX)
		return CD_ECORRUPT;
	a->nimg = *p++;
	for (i = 0; i < a->nimg; i++) {
		if (index_get_varint(&p, end, &v[0]) != CD_EOK)
			return CD_ECORRUPT;
		a->img[i] = (uint32_t)v[0];
	}
	return CD_EOK;
}

/* Images are listed once each, the first INDEX_IMAGES_MAX distinct ones. */
static void
index_agg_add_image(struct index_agg *a, uint32_t iid)
{
	size_t i;

	if (iid == 0)
		return;
	for (i = 0; i < a->nimg; i++)
		if (a->img[i] == iid)
			return;
	if (a->nimg < INDEX_IMAGES_MAX)
		a->img[a->nimg++] = iid;
}

static void
index_ip_encode(int64_t first, int64_t last, uint8_t out[INDEX_IP_VALLEN])
{
	out[0] = INDEX_VERSION;
	index_put_be64(out + 1, (uint64_t)first);
	index_put_be64(out + 9, (uint64_t)last);
}

static int
index_ip_decode(const void *data, size_t len, int64_t *first, int64_t *last)
{
	const uint8_t *p = data;

	if (len < INDEX_IP_VALLEN || p[0] != INDEX_VERSION)
		return CD_ECORRUPT;
	*first = (int64_t)index_get_be64(p + 1);
	*last = (int64_t)index_get_be64(p + 9);
	return CD_EOK;
}

static int
index_key_domain(struct store_key *k, const char *name)
{
	store_key_init(k);
	store_key_put_domain(k, name);
	return store_key_err(k);
}

static int
index_key_hostdom(struct store_key *k, uint32_t hid, const char *name)
{
	store_key_init(k);
	store_key_put_u32(k, hid);
	store_key_put_domain(k, name);
	return store_key_err(k);
}

static int
index_key_first(struct store_key *k, int64_t t, const char *name)
{
	store_key_init(k);
	store_key_put_i64(k, t);
	store_key_put_domain(k, name);
	return store_key_err(k);
}

static int
index_key_hostfirst(struct store_key *k, uint32_t hid, int64_t t,
    const char *name)
{
	store_key_init(k);
	store_key_put_u32(k, hid);
	store_key_put_i64(k, t);
	store_key_put_domain(k, name);
	return store_key_err(k);
}

/* Whether (t, host, rec) sorts before the aggregate's first record: the
 * order that decides first_host/first_image (expected_dns.json's rule). */
static int
index_earlier(struct store_txn *txn, int64_t t, uint32_t hid, uint64_t rec,
    const struct index_agg *a, bool *earlier)
{
	char h1[HOSTS_NAME_MAX], h2[HOSTS_NAME_MAX];
	int rc, c;

	*earlier = t < a->first;
	if (t != a->first)
		return CD_EOK;
	if (hid == a->first_host) {
		*earlier = rec < a->first_rec;
		return CD_EOK;
	}
	if ((rc = hosts_name(txn, hid, h1)) != CD_EOK ||
	    (rc = hosts_name(txn, a->first_host, h2)) != CD_EOK)
		return rc;
	c = strcmp(h1, h2);
	*earlier = c < 0 || (c == 0 && rec < a->first_rec);
	return CD_EOK;
}

/* Update the aggregate of a domain or registered domain. */
static int
index_agg_update(struct store_txn *txn, enum store_dbi dbi, const char *name,
    uint32_t hid, uint32_t iid, const struct dns_obs *obs, bool new_host,
    bool *created, int64_t *old_first, int64_t *new_first)
{
	uint8_t buf[INDEX_AGG_MAXLEN];
	struct index_agg a;
	struct store_key k;
	struct store_val v;
	bool earlier;
	size_t len;
	int rc;

	if ((rc = index_key_domain(&k, name)) != CD_EOK)
		return rc;
	rc = store_get(txn, dbi, k.buf, k.len, &v);
	if (rc == CD_ENOTFOUND) {
		*created = true;
		memset(&a, 0, sizeof(a));
		a.first = a.last = obs->time_ms;
		a.count = 1;
		a.host_count = 1;
		a.first_host = hid;
		a.first_image = iid;
		a.first_rec = obs->record_id;
		index_agg_add_image(&a, iid);
		*old_first = *new_first = a.first;
		goto put;
	}
	if (rc != CD_EOK)
		return rc;
	*created = false;
	if ((rc = index_agg_decode(v.data, v.len, INDEX_AGG_FULL, &a)) != CD_EOK)
		return rc;
	*old_first = a.first;
	if ((rc = index_earlier(txn, obs->time_ms, hid, obs->record_id, &a,
	    &earlier)) != CD_EOK)
		return rc;
	if (earlier) {
		a.first = obs->time_ms;
		a.first_host = hid;
		a.first_image = iid;
		a.first_rec = obs->record_id;
	}
	if (obs->time_ms > a.last)
		a.last = obs->time_ms;
	a.count++;
	if (new_host)
		a.host_count++;
	index_agg_add_image(&a, iid);
	*new_first = a.first;
put:
	len = index_agg_encode(&a, INDEX_AGG_FULL, buf);
	return store_put(txn, dbi, k.buf, k.len, buf, len);
}

/* Has this host asked for regdom or any name under it (before this record)?
 * Host-major pair keys make that two lookups: the exact key and the first
 * key of the "regdom." subtree. */
static int
index_regdom_host_seen(struct store_txn *txn, uint32_t hid, const char *name,
    const char *regdom, bool *seen)
{
	struct store_iter *it = NULL;
	struct store_key k;
	struct store_val key, val;
	int rc;

	*seen = false;
	if (strcmp(name, regdom) != 0) {
		if ((rc = index_key_hostdom(&k, hid, regdom)) != CD_EOK)
			return rc;
		rc = store_get(txn, STORE_DBI_DNS_HOSTDOM, k.buf, k.len, &val);
		if (rc == CD_EOK) {
			*seen = true;
			return CD_EOK;
		}
		if (rc != CD_ENOTFOUND)
			return rc;
	}
	store_key_init(&k);
	store_key_put_u32(&k, hid);
	store_key_put_domain_prefix(&k, regdom);
	if ((rc = store_key_err(&k)) != CD_EOK)
		return rc;
	if ((rc = store_iter_open(txn, STORE_DBI_DNS_HOSTDOM, &it)) != CD_EOK)
		return rc;
	rc = store_iter_seek(it, k.buf, k.len);
	if (rc == CD_EOK) {
		store_iter_get(it, &key, &val);
		*seen = store_key_has_prefix(&key, k.buf, k.len);
	} else if (rc == CD_ENOTFOUND) {
		rc = CD_EOK;
	}
	store_iter_close(it);
	return rc;
}

static int
index_ip_update(struct store_txn *txn, const struct dns_answer *a,
    const char *name, int64_t t)
{
	uint8_t val[INDEX_IP_VALLEN];
	struct store_key k;
	struct store_val v;
	int64_t first = t, last = t;
	int rc;

	store_key_init(&k);
	store_key_put_u8(&k, a->family == AF_INET ? 4 : 6);
	store_key_put_bytes(&k, a->addr, a->family == AF_INET ? 4 : 16);
	store_key_put_domain(&k, name);
	if ((rc = store_key_err(&k)) != CD_EOK)
		return rc;
	rc = store_get(txn, STORE_DBI_DNS_IP, k.buf, k.len, &v);
	if (rc == CD_EOK) {
		if ((rc = index_ip_decode(v.data, v.len, &first, &last)) != CD_EOK)
			return rc;
		if (t < first)
			first = t;
		if (t > last)
			last = t;
	} else if (rc != CD_ENOTFOUND) {
		return rc;
	}
	index_ip_encode(first, last, val);
	return store_put(txn, STORE_DBI_DNS_IP, k.buf, k.len, val, sizeof(val));
}

int
index_apply(struct store_txn *txn, const char *host, const struct dns_obs *obs,
    struct index_effects *eff)
{
	uint8_t buf[INDEX_AGG_MAXLEN];
	struct index_effects e = { false, false, false };
	struct store_key k, kf;
	struct store_val v;
	struct index_agg pair;
	uint32_t hid, iid = 0;
	int64_t old_first, new_first, t = obs->time_ms;
	bool created, new_pair, regdom_seen = true;
	size_t i, len;
	int rc;

	if (eff != NULL)
		*eff = e;
	/* A name the key builder refuses cannot be indexed; dropping that one
	 * observation is better than failing the whole batch for it. */
	if (index_key_hostdom(&k, 0, obs->name) != CD_EOK ||
	    index_key_domain(&kf, obs->regdom) != CD_EOK) {
		log_debug("index", "not indexing name \"%s\"", obs->name);
		return CD_EOK;
	}
	if ((rc = hosts_id(txn, host, true, &hid)) != CD_EOK)
		return rc;
	rc = hosts_image_id(txn, obs->image, true, &iid);
	if (rc == CD_ETOOBIG)
		iid = 0;	/* a path longer than a key: listed as unknown */
	else if (rc != CD_EOK)
		return rc;

	if ((rc = index_key_hostdom(&k, hid, obs->name)) != CD_EOK)
		return rc;
	rc = store_get(txn, STORE_DBI_DNS_HOSTDOM, k.buf, k.len, &v);
	if (rc != CD_EOK && rc != CD_ENOTFOUND)
		return rc;
	new_pair = rc == CD_ENOTFOUND;
	if (new_pair) {
		rc = index_regdom_host_seen(txn, hid, obs->name, obs->regdom,
		    &regdom_seen);
		if (rc != CD_EOK)
			return rc;
		memset(&pair, 0, sizeof(pair));
		pair.first = pair.last = t;
		pair.count = 1;
		index_agg_add_image(&pair, iid);
		old_first = t;
	} else {
		if ((rc = index_agg_decode(v.data, v.len, INDEX_AGG_PAIR, &pair)) != CD_EOK)
			return rc;
		old_first = pair.first;
		if (t < pair.first)
			pair.first = t;
		if (t > pair.last)
			pair.last = t;
		pair.count++;
		index_agg_add_image(&pair, iid);
	}
	len = index_agg_encode(&pair, INDEX_AGG_PAIR, buf);
	if ((rc = store_put(txn, STORE_DBI_DNS_HOSTDOM, k.buf, k.len, buf, len)) != CD_EOK)
		return rc;
	/* The per-host view: a late record with an earlier time moves the key. */
	if (!new_pair && pair.first != old_first) {
		if ((rc = index_key_hostfirst(&kf, hid, old_first, obs->name)) != CD_EOK)
			return rc;
		rc = store_del(txn, STORE_DBI_DNS_HOSTFIRST, kf.buf, kf.len);
		if (rc != CD_EOK && rc != CD_ENOTFOUND)
			return rc;
	}
	if (new_pair || pair.first != old_first) {
		if ((rc = index_key_hostfirst(&kf, hid, pair.first, obs->name)) != CD_EOK)
			return rc;
		if ((rc = store_put(txn, STORE_DBI_DNS_HOSTFIRST, kf.buf, kf.len,
		    "", 0)) != CD_EOK)
			return rc;
	}
	e.new_on_host = new_pair;

	rc = index_agg_update(txn, STORE_DBI_DNS_DOMAIN, obs->name, hid, iid,
	    obs, new_pair, &created, &old_first, &new_first);
	if (rc != CD_EOK)
		return rc;
	e.new_domain = created;
	if (!created && new_first != old_first) {
		if ((rc = index_key_first(&kf, old_first, obs->name)) != CD_EOK)
			return rc;
		rc = store_del(txn, STORE_DBI_DNS_FIRST, kf.buf, kf.len);
		if (rc != CD_EOK && rc != CD_ENOTFOUND)
			return rc;
	}
	if (created || new_first != old_first) {
		if ((rc = index_key_first(&kf, new_first, obs->name)) != CD_EOK)
			return rc;
		if ((rc = store_put(txn, STORE_DBI_DNS_FIRST, kf.buf, kf.len,
		    "", 0)) != CD_EOK)
			return rc;
	}

	rc = index_agg_update(txn, STORE_DBI_DNS_REGDOM, obs->regdom, hid, iid,
	    obs, !regdom_seen, &created, &old_first, &new_first);
	if (rc != CD_EOK)
		return rc;
	e.new_regdom = created;

	for (i = 0; i < obs->nanswers; i++) {
		if (!obs->answers[i].is_addr)
			continue;
		if ((rc = index_ip_update(txn, &obs->answers[i], obs->name, t)) != CD_EOK)
			return rc;
	}
	if (eff != NULL)
		*eff = e;
	return CD_EOK;
}
