/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "be.h"
#include "err.h"
#include "hosts.h"
#include "index.h"
#include "log.h"
#include "store.h"
#include "store_key.h"
#include "varint.h"

/*
 * Tables (keys built with store_key.h, names in reversed-label form):
 *   DNS_DOMAIN     domain                          -> aggregate (with its ids)
 *                  0x01, domain id u32             -> version, regdom id u32, name
 *                  0x00                            -> next domain id
 *   DNS_REGDOM     registered domain               -> aggregate
 *                  0x00                            -> next registered domain id
 *   DNS_HOSTDOM    host id, regdom id, domain id   -> pair aggregate
 *   DNS_FIRST      first_seen i64, domain          -> ""
 *   DNS_HOSTFIRST  host id, first_seen, domain id  -> ""
 *   DNS_IP         family u8, address, domain      -> version, first, last
 * Names never start with a byte below 0x21, so the 0x00/0x01 records sort
 * before every name and no name range scan meets them. Hosts, images,
 * domains and registered domains are u32 ids in the per-pair tables: a pair
 * costs two entries of 12 and 16 key bytes whatever the name's length.
 * Grouping pairs by registered domain makes "has this host asked for
 * anything under it" one prefix seek.
 */

#define INDEX_VERSION		1
/* version, first, eight varints, image count, image ids */
#define INDEX_AGG_MAXLEN	(1 + 8 + 8 * 10 + 1 + 5 * INDEX_IMAGES_MAX)
#define INDEX_K_NEXTID		0x00
#define INDEX_K_DOMID		0x01
#define INDEX_IP_VALLEN		17
/* A suffix query sorts its matches in memory up to this many names, then
 * falls back to scanning the first_seen view (see index_domains_list). */
#define INDEX_SUFFIX_SORT_MAX	50000
#define INDEX_PRUNE_STATE	"index.prune"

enum index_agg_kind {
	INDEX_AGG_FULL,		/* domain and registered domain */
	INDEX_AGG_PAIR,		/* (host, domain): no host fields */
};

/* The decoded value of an aggregate. Host and image ids are the host
 * registry's; id and rid (full aggregates only) the domain's own id and
 * that of its registered domain (for a registered domain: both its id). */
struct index_agg {
	int64_t	 first, last;
	uint64_t count, host_count, first_rec;
	uint32_t first_host, first_image;
	uint32_t id, rid;
	uint8_t	 nimg;
	uint32_t img[INDEX_IMAGES_MAX];
};

static int	 index_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v);
static size_t	 index_agg_encode(const struct index_agg *a, enum index_agg_kind kind,
		    uint8_t *out);
static int	 index_agg_decode(const void *data, size_t len,
		    enum index_agg_kind kind, struct index_agg *a);
static void	 index_agg_add_image(struct index_agg *a, uint32_t iid);
static void	 index_ip_encode(int64_t first, int64_t last, uint8_t out[INDEX_IP_VALLEN]);
static int	 index_ip_decode(const void *data, size_t len, int64_t *first,
		    int64_t *last);

static int	 index_key_domain(struct store_key *k, const char *name);
static void	 index_key_hostdom(struct store_key *k, uint32_t hid, uint32_t rid,
		    uint32_t did);
static int	 index_key_first(struct store_key *k, int64_t t, const char *name);
static void	 index_key_hostfirst(struct store_key *k, uint32_t hid, int64_t t,
		    uint32_t did);
static void	 index_key_domid(struct store_key *k, uint32_t did);
static int	 index_next_id(struct store_txn *txn, enum store_dbi dbi, uint32_t *id);
static int	 index_domid_get(struct store_txn *txn, uint32_t did,
		    char name[DNS_NAME_MAX], uint32_t *rid);
static int	 index_domid_put(struct store_txn *txn, uint32_t did, uint32_t rid,
		    const char *name);
static int	 index_agg_load(struct store_txn *txn, enum store_dbi dbi,
		    const char *name, struct index_agg *a, bool *exists);
static int	 index_agg_store(struct store_txn *txn, enum store_dbi dbi,
		    const char *name, const struct index_agg *a);
static int	 index_earlier(struct store_txn *txn, int64_t t, uint32_t hid,
		    uint64_t rec, const struct index_agg *a, bool *earlier);
static int	 index_agg_merge(struct store_txn *txn, struct index_agg *a,
		    bool exists, uint32_t hid, uint32_t iid,
		    const struct dns_obs *obs, bool new_host);
static int	 index_regdom_host_seen(struct store_txn *txn, uint32_t hid,
		    uint32_t rid, bool *seen);
static int	 index_ip_update(struct store_txn *txn, const struct dns_answer *a,
		    const char *name, int64_t t);
static int	 index_view_move(struct store_txn *txn, enum store_dbi dbi,
		    struct store_key *ko, struct store_key *kn, bool had_old);

static int
index_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	size_t n = varint_get(*pp, end, v);

	if (n == 0)
		return CD_ECORRUPT;
	*pp += n;
	return CD_EOK;
}

/* Varints keep a typical pair value near 20 bytes: last is stored as its
 * distance from first, counts and ids are small numbers. */
static size_t
index_agg_encode(const struct index_agg *a, enum index_agg_kind kind, uint8_t *out)
{
	size_t n = 0, i;

	out[n++] = INDEX_VERSION;
	be64_put(out + n, (uint64_t)a->first);
	n += 8;
	n += varint_put(out + n, (uint64_t)(a->last - a->first));
	n += varint_put(out + n, a->count);
	if (kind == INDEX_AGG_FULL) {
		n += varint_put(out + n, a->host_count);
		n += varint_put(out + n, a->first_host);
		n += varint_put(out + n, a->first_image);
		n += varint_put(out + n, a->first_rec);
		n += varint_put(out + n, a->id);
		n += varint_put(out + n, a->rid);
	}
	out[n++] = a->nimg;
	for (i = 0; i < a->nimg; i++)
		n += varint_put(out + n, a->img[i]);
	return n;
}

static int
index_agg_decode(const void *data, size_t len, enum index_agg_kind kind,
    struct index_agg *a)
{
	const uint8_t *p = data, *end = p + len;
	uint64_t v[8];
	size_t i, nv = kind == INDEX_AGG_FULL ? 8 : 2;

	memset(a, 0, sizeof(*a));
	if (len < 10 || p[0] != INDEX_VERSION)
		return CD_ECORRUPT;
	a->first = (int64_t)be64_get(p + 1);
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
		a->id = (uint32_t)v[6];
		a->rid = (uint32_t)v[7];
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
	be64_put(out + 1, (uint64_t)first);
	be64_put(out + 9, (uint64_t)last);
}

static int
index_ip_decode(const void *data, size_t len, int64_t *first, int64_t *last)
{
	const uint8_t *p = data;

	if (len < INDEX_IP_VALLEN || p[0] != INDEX_VERSION)
		return CD_ECORRUPT;
	*first = (int64_t)be64_get(p + 1);
	*last = (int64_t)be64_get(p + 9);
	return CD_EOK;
}

static int
index_key_domain(struct store_key *k, const char *name)
{
	store_key_init(k);
	store_key_put_domain(k, name);
	return store_key_err(k);
}

static void
index_key_hostdom(struct store_key *k, uint32_t hid, uint32_t rid, uint32_t did)
{
	store_key_init(k);
	store_key_put_u32(k, hid);
	store_key_put_u32(k, rid);
	store_key_put_u32(k, did);
}

static int
index_key_first(struct store_key *k, int64_t t, const char *name)
{
	store_key_init(k);
	store_key_put_i64(k, t);
	store_key_put_domain(k, name);
	return store_key_err(k);
}

static void
index_key_hostfirst(struct store_key *k, uint32_t hid, int64_t t, uint32_t did)
{
	store_key_init(k);
	store_key_put_u32(k, hid);
	store_key_put_i64(k, t);
	store_key_put_u32(k, did);
}

static void
index_key_domid(struct store_key *k, uint32_t did)
{
	store_key_init(k);
	store_key_put_u8(k, INDEX_K_DOMID);
	store_key_put_u32(k, did);
}

/* Ids start at 1; the counter lives at the one-byte key 0x00 of the DBI. */
static int
index_next_id(struct store_txn *txn, enum store_dbi dbi, uint32_t *id)
{
	uint8_t key = INDEX_K_NEXTID, val[4];
	struct store_val v;
	uint32_t next = 1;
	int rc;

	rc = store_get(txn, dbi, &key, 1, &v);
	if (rc == CD_EOK) {
		const uint8_t *p = v.data;

		if (v.len != 4)
			return CD_ECORRUPT;
		next = be32_get(p);
	} else if (rc != CD_ENOTFOUND) {
		return rc;
	}
	if (next == UINT32_MAX)
		return CD_ETOOBIG;
	*id = next++;
	be32_put(val, next);
	return store_put(txn, dbi, &key, 1, val, sizeof(val));
}

/* The name and registered-domain id of a domain id. */
static int
index_domid_get(struct store_txn *txn, uint32_t did, char name[DNS_NAME_MAX],
    uint32_t *rid)
{
	struct store_key k;
	struct store_val v;
	const uint8_t *p;
	int rc;

	index_key_domid(&k, did);
	if ((rc = store_get(txn, STORE_DBI_DNS_DOMAIN, k.buf, k.len, &v)) != CD_EOK)
		return rc == CD_ENOTFOUND ? CD_ECORRUPT : rc;
	p = v.data;
	if (v.len < 6 || v.len - 5 >= DNS_NAME_MAX || p[0] != INDEX_VERSION)
		return CD_ECORRUPT;
	*rid = be32_get(p + 1);
	memcpy(name, p + 5, v.len - 5);
	name[v.len - 5] = '\0';
	return CD_EOK;
}

static int
index_domid_put(struct store_txn *txn, uint32_t did, uint32_t rid,
    const char *name)
{
	uint8_t val[5 + DNS_NAME_MAX];
	struct store_key k;
	size_t len = strlen(name);

	if (len >= DNS_NAME_MAX)
		return -EINVAL;
	val[0] = INDEX_VERSION;
	be32_put(val + 1, rid);
	memcpy(val + 5, name, len);
	index_key_domid(&k, did);
	return store_put(txn, STORE_DBI_DNS_DOMAIN, k.buf, k.len, val, 5 + len);
}

/* Read a full aggregate; *exists false (and a zeroed *a) when absent. */
static int
index_agg_load(struct store_txn *txn, enum store_dbi dbi, const char *name,
    struct index_agg *a, bool *exists)
{
	struct store_key k;
	struct store_val v;
	int rc;

	memset(a, 0, sizeof(*a));
	*exists = false;
	if (index_key_domain(&k, name) != CD_EOK)
		return CD_EPARSE;
	rc = store_get(txn, dbi, k.buf, k.len, &v);
	if (rc == CD_ENOTFOUND)
		return CD_EOK;
	if (rc != CD_EOK)
		return rc;
	*exists = true;
	return index_agg_decode(v.data, v.len, INDEX_AGG_FULL, a);
}

static int
index_agg_store(struct store_txn *txn, enum store_dbi dbi, const char *name,
    const struct index_agg *a)
{
	uint8_t buf[INDEX_AGG_MAXLEN];
	struct store_key k;
	size_t len;
	int rc;

	if ((rc = index_key_domain(&k, name)) != CD_EOK)
		return rc;
	len = index_agg_encode(a, INDEX_AGG_FULL, buf);
	return store_put(txn, dbi, k.buf, k.len, buf, len);
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

/* Fold one record into a domain or registered-domain aggregate. */
static int
index_agg_merge(struct store_txn *txn, struct index_agg *a, bool exists,
    uint32_t hid, uint32_t iid, const struct dns_obs *obs, bool new_host)
{
	bool earlier;
	int rc;

	if (!exists) {
		a->first = a->last = obs->time_ms;
		a->count = 1;
		a->host_count = 1;
		a->first_host = hid;
		a->first_image = iid;
		a->first_rec = obs->record_id;
		index_agg_add_image(a, iid);
		return CD_EOK;
	}
	if ((rc = index_earlier(txn, obs->time_ms, hid, obs->record_id, a,
	    &earlier)) != CD_EOK)
		return rc;
	if (earlier) {
		a->first = obs->time_ms;
		a->first_host = hid;
		a->first_image = iid;
		a->first_rec = obs->record_id;
	}
	if (obs->time_ms > a->last)
		a->last = obs->time_ms;
	a->count++;
	if (new_host)
		a->host_count++;
	index_agg_add_image(a, iid);
	return CD_EOK;
}

/* Has this host asked for any name of registered domain rid before? */
static int
index_regdom_host_seen(struct store_txn *txn, uint32_t hid, uint32_t rid,
    bool *seen)
{
	struct store_iter *it = NULL;
	struct store_key k;
	struct store_val key, val;
	int rc;

	*seen = false;
	store_key_init(&k);
	store_key_put_u32(&k, hid);
	store_key_put_u32(&k, rid);
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

/* Move a first_seen view entry from old to new (old < 0 means none). */
static int
index_view_move(struct store_txn *txn, enum store_dbi dbi, struct store_key *ko,
    struct store_key *kn, bool had_old)
{
	int rc;

	if (had_old) {
		rc = store_del(txn, dbi, ko->buf, ko->len);
		if (rc != CD_EOK && rc != CD_ENOTFOUND)
			return rc;
	}
	return store_put(txn, dbi, kn->buf, kn->len, "", 0);
}

int
index_apply(struct store_txn *txn, const char *host, const struct dns_obs *obs,
    struct index_effects *eff)
{
	uint8_t buf[INDEX_AGG_MAXLEN];
	struct index_effects e = { false, false, false };
	struct index_agg dom, rd, pair;
	struct store_key k, ko, kn;
	struct store_val v;
	uint32_t hid, iid = 0;
	int64_t old_first, t = obs->time_ms;
	bool dom_exists, rd_exists, new_pair, regdom_seen = true;
	size_t i, len;
	int rc;

	if (eff != NULL)
		*eff = e;
	/* A name the key builder refuses cannot be indexed; dropping that one
	 * observation is better than failing the whole batch for it. */
	if (index_key_domain(&k, obs->name) != CD_EOK ||
	    index_key_domain(&k, obs->regdom) != CD_EOK) {
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

	if ((rc = index_agg_load(txn, STORE_DBI_DNS_DOMAIN, obs->name, &dom,
	    &dom_exists)) != CD_EOK ||
	    (rc = index_agg_load(txn, STORE_DBI_DNS_REGDOM, obs->regdom, &rd,
	    &rd_exists)) != CD_EOK)
		return rc;
	if (!rd_exists) {
		if ((rc = index_next_id(txn, STORE_DBI_DNS_REGDOM, &rd.id)) != CD_EOK)
			return rc;
		rd.rid = rd.id;
	}
	if (!dom_exists) {
		if ((rc = index_next_id(txn, STORE_DBI_DNS_DOMAIN, &dom.id)) != CD_EOK)
			return rc;
		dom.rid = rd.id;
		if ((rc = index_domid_put(txn, dom.id, dom.rid, obs->name)) != CD_EOK)
			return rc;
	}

	/* The (host, domain) pair and the per-host first_seen view. */
	index_key_hostdom(&k, hid, dom.rid, dom.id);
	rc = store_get(txn, STORE_DBI_DNS_HOSTDOM, k.buf, k.len, &v);
	if (rc != CD_EOK && rc != CD_ENOTFOUND)
		return rc;
	new_pair = rc == CD_ENOTFOUND;
	if (new_pair) {
		if ((rc = index_regdom_host_seen(txn, hid, dom.rid, &regdom_seen)) != CD_EOK)
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
	/* A late record with an earlier time moves the view entry. */
	if (new_pair || pair.first != old_first) {
		index_key_hostfirst(&ko, hid, old_first, dom.id);
		index_key_hostfirst(&kn, hid, pair.first, dom.id);
		if ((rc = index_view_move(txn, STORE_DBI_DNS_HOSTFIRST, &ko, &kn,
		    !new_pair)) != CD_EOK)
			return rc;
	}
	e.new_on_host = new_pair;

	/* The domain and the fleet-wide view. */
	old_first = dom.first;
	if ((rc = index_agg_merge(txn, &dom, dom_exists, hid, iid, obs, new_pair)) != CD_EOK ||
	    (rc = index_agg_store(txn, STORE_DBI_DNS_DOMAIN, obs->name, &dom)) != CD_EOK)
		return rc;
	if (!dom_exists || dom.first != old_first) {
		if ((rc = index_key_first(&ko, old_first, obs->name)) != CD_EOK ||
		    (rc = index_key_first(&kn, dom.first, obs->name)) != CD_EOK ||
		    (rc = index_view_move(txn, STORE_DBI_DNS_FIRST, &ko, &kn,
		    dom_exists)) != CD_EOK)
			return rc;
	}
	e.new_domain = !dom_exists;

	if ((rc = index_agg_merge(txn, &rd, rd_exists, hid, iid, obs, !regdom_seen)) != CD_EOK ||
	    (rc = index_agg_store(txn, STORE_DBI_DNS_REGDOM, obs->regdom, &rd)) != CD_EOK)
		return rc;
	e.new_regdom = !rd_exists;

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

/* Turn a reversed key name back into the name. */
static int
index_name_from_rev(const char *rev, char out[DNS_NAME_MAX])
{
	if (strlen(rev) >= DNS_NAME_MAX)
		return CD_ECORRUPT;
	dns_name_reverse(rev, out);
	return CD_EOK;
}

static int
index_images_fill(struct store_txn *txn, const struct index_agg *a,
    char **images, size_t *n, bool sorted)
{
	size_t i, j;
	int rc;

	*n = 0;
	for (i = 0; i < a->nimg; i++) {
		rc = hosts_image_name(txn, a->img[i], &images[*n]);
		if (rc == CD_ENOTFOUND)
			continue;
		if (rc != CD_EOK)
			return rc;
		(*n)++;
	}
	/* Insertion sort: at most INDEX_IMAGES_MAX strings. */
	for (i = 1; sorted && i < *n; i++) {
		char *s = images[i];

		for (j = i; j > 0 && strcmp(images[j - 1], s) > 0; j--)
			images[j] = images[j - 1];
		images[j] = s;
	}
	return CD_EOK;
}

static int
index_domain_fill(struct store_txn *txn, const char *name, bool is_regdom,
    const struct index_agg *a, struct index_domain *out)
{
	char rd[DNS_NAME_MAX], host[HOSTS_NAME_MAX];
	int rc = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (is_regdom)
		snprintf(rd, sizeof(rd), "%s", name);
	else
		dns_registered_domain(name, rd);
	out->first_seen = a->first;
	out->last_seen = a->last;
	out->count = a->count;
	out->host_count = a->host_count;
	if ((out->domain = strdup(name)) == NULL ||
	    (out->registered_domain = strdup(rd)) == NULL)
		goto fail;
	rc = hosts_name(txn, a->first_host, host);
	if (rc == CD_EOK && (out->first_host = strdup(host)) == NULL)
		rc = -ENOMEM;
	if (rc != CD_EOK && rc != CD_ENOTFOUND)
		goto fail;
	rc = hosts_image_name(txn, a->first_image, &out->first_image);
	if (rc != CD_EOK && rc != CD_ENOTFOUND)
		goto fail;
	if ((rc = index_images_fill(txn, a, out->images, &out->nimages, false)) != CD_EOK)
		goto fail;
	return CD_EOK;
fail:
	index_domain_clear(out);
	return rc;
}

static int
index_agg_get(struct store_txn *txn, enum store_dbi dbi, const char *name,
    bool is_regdom, struct index_domain *out)
{
	char norm[DNS_NAME_MAX];
	struct index_agg a;
	struct store_key k;
	struct store_val v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (dns_name_normalise(name, norm) != CD_EOK)
		return CD_EPARSE;
	if (index_key_domain(&k, norm) != CD_EOK)
		return CD_EPARSE;
	if ((rc = store_get(txn, dbi, k.buf, k.len, &v)) != CD_EOK)
		return rc;
	if ((rc = index_agg_decode(v.data, v.len, INDEX_AGG_FULL, &a)) != CD_EOK)
		return rc;
	return index_domain_fill(txn, norm, is_regdom, &a, out);
}

int
index_domain_get(struct store_txn *txn, const char *name, struct index_domain *out)
{
	return index_agg_get(txn, STORE_DBI_DNS_DOMAIN, name, false, out);
}

int
index_regdom_get(struct store_txn *txn, const char *name, struct index_domain *out)
{
	return index_agg_get(txn, STORE_DBI_DNS_REGDOM, name, true, out);
}

/* Look a pair up by its ids; fills out when found. */
static int
index_pair_fill(struct store_txn *txn, uint32_t hid, uint32_t rid, uint32_t did,
    const char *host, const char *norm, struct index_hostdom *out)
{
	struct index_agg a;
	struct store_key k;
	struct store_val v;
	int rc;

	memset(out, 0, sizeof(*out));
	index_key_hostdom(&k, hid, rid, did);
	if ((rc = store_get(txn, STORE_DBI_DNS_HOSTDOM, k.buf, k.len, &v)) != CD_EOK)
		return rc;
	if ((rc = index_agg_decode(v.data, v.len, INDEX_AGG_PAIR, &a)) != CD_EOK)
		return rc;
	out->first_seen = a.first;
	out->last_seen = a.last;
	out->count = a.count;
	rc = -ENOMEM;
	if ((out->host = strdup(host)) == NULL || (out->domain = strdup(norm)) == NULL)
		goto fail;
	if ((rc = index_images_fill(txn, &a, out->images, &out->nimages, true)) != CD_EOK)
		goto fail;
	return CD_EOK;
fail:
	index_hostdom_clear(out);
	return rc;
}

int
index_hostdom_get(struct store_txn *txn, const char *host, const char *name,
    struct index_hostdom *out)
{
	char norm[DNS_NAME_MAX], hname[HOSTS_NAME_MAX];
	struct index_agg dom;
	uint32_t hid;
	bool exists;
	int rc;

	memset(out, 0, sizeof(*out));
	if (dns_name_normalise(name, norm) != CD_EOK)
		return CD_EPARSE;
	if ((rc = index_agg_load(txn, STORE_DBI_DNS_DOMAIN, norm, &dom, &exists)) != CD_EOK)
		return rc;
	if (!exists)
		return CD_ENOTFOUND;
	if ((rc = hosts_id(txn, host, false, &hid)) != CD_EOK)
		return rc;
	if ((rc = hosts_name(txn, hid, hname)) != CD_EOK)
		return rc;
	return index_pair_fill(txn, hid, dom.rid, dom.id, hname, norm, out);
}

static int
index_limit(size_t *limit)
{
	if (*limit == 0)
		*limit = INDEX_LIMIT_DEFAULT;
	return *limit > INDEX_LIMIT_MAX ? -EINVAL : CD_EOK;
}

/* Grow a list's item array to hold one more. */
static int
index_grow(void **items, size_t n, size_t *cap, size_t size)
{
	void *p;

	if (n < *cap)
		return CD_EOK;
	*cap = *cap == 0 ? 16 : *cap * 2;
	if ((p = realloc(*items, *cap * size)) == NULL)
		return -ENOMEM;
	*items = p;
	return CD_EOK;
}

int
index_domain_hosts(struct store_txn *txn, const char *name,
    const uint8_t *cursor, size_t cursor_len, size_t limit,
    struct index_hostdom_list *out)
{
	char norm[DNS_NAME_MAX];
	struct index_agg dom;
	struct hosts_list hl;
	struct index_hostdom hd;
	size_t cap = 0, i;
	uint64_t found = 0;
	bool more = true, resumed = cursor_len > 0, exists;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&hl, 0, sizeof(hl));
	if (index_limit(&limit) != CD_EOK || cursor_len >= HOSTS_CURSOR_MAX)
		return -EINVAL;
	if (dns_name_normalise(name, norm) != CD_EOK)
		return CD_EPARSE;
	if ((rc = index_agg_load(txn, STORE_DBI_DNS_DOMAIN, norm, &dom, &exists)) != CD_EOK)
		return rc;
	if (!exists)
		return CD_ENOTFOUND;
	/*
	 * Pair keys are host-major (that keeps "new on this host" and the
	 * registered-domain host test cheap), so the hosts of a domain are one
	 * lookup per known host, walked in host-name order. The cursor is the
	 * last host returned. Without a cursor the walk ends once host_count
	 * hosts were found.
	 */
	while (more && out->n < limit) {
		rc = hosts_list(txn, cursor, cursor_len, 1000, &hl);
		if (rc != CD_EOK)
			goto fail;
		more = hl.next_cursor_len > 0;
		for (i = 0; i < hl.n; i++) {
			rc = index_pair_fill(txn, hl.items[i].id, dom.rid, dom.id,
			    hl.items[i].host, norm, &hd);
			if (rc == CD_ENOTFOUND)
				continue;
			if (rc != CD_EOK)
				goto fail;
			if (out->n == limit) {
				index_hostdom_clear(&hd);
				more = true;
				break;
			}
			if ((rc = index_grow((void **)&out->items, out->n, &cap,
			    sizeof(*out->items))) != CD_EOK) {
				index_hostdom_clear(&hd);
				goto fail;
			}
			out->items[out->n++] = hd;
			found++;
		}
		if (out->n == limit && i < hl.n)
			more = true;
		else if (!resumed && found >= dom.host_count)
			more = false;
		/* Continue the host walk after the last host of this page. */
		if (more && out->n < limit) {
			memcpy(out->next_cursor, hl.next_cursor, hl.next_cursor_len);
			out->next_cursor_len = hl.next_cursor_len;
			cursor = out->next_cursor;
			cursor_len = out->next_cursor_len;
		}
		hosts_list_free(&hl);
	}
	out->next_cursor_len = 0;
	if (more && out->n > 0) {
		const char *h = out->items[out->n - 1].host;

		out->next_cursor_len = strlen(h);
		memcpy(out->next_cursor, h, out->next_cursor_len);
	}
	return CD_EOK;
fail:
	hosts_list_free(&hl);
	index_hostdom_list_free(out);
	return rc;
}

/* A first_seen cursor: i64 first_seen then the reversed name with its NUL,
 * the tail of a DNS_FIRST / DNS_HOSTFIRST key. */
static int
index_cursor_check(const uint8_t *cursor, size_t len)
{
	if (len == 0)
		return CD_EOK;
	if (cursor == NULL || len < 10 || len > INDEX_CURSOR_MAX ||
	    cursor[len - 1] != '\0' || memchr(cursor + 8, '\0', len - 9) != NULL)
		return -EINVAL;
	return CD_EOK;
}

/* Does the reversed name rev lie at or under the reversed suffix? */
static bool
index_rev_under(const char *rev, const char *rsuf, size_t rsuflen)
{
	return strncmp(rev, rsuf, rsuflen) == 0 &&
	    (rev[rsuflen] == '\0' || rev[rsuflen] == '.');
}

/* memcmp order of two byte strings, as the store sorts keys. */
static int
index_keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

struct index_cand {
	int64_t	 first;
	char	 rev[DNS_NAME_MAX];
};

static int
index_cand_cmp(const void *a, const void *b)
{
	const struct index_cand *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return strcmp(x->rev, y->rev);
}

/* Append the domain (first_seen t, reversed name rev) to the list unless a
 * filter drops it; *added tells which. */
static int
index_list_add(struct store_txn *txn, const struct index_filter *f,
    const char *rev, struct index_domain_list *out, size_t *cap, bool *added)
{
	char name[DNS_NAME_MAX];
	struct index_domain d;
	int rc;

	*added = false;
	if ((rc = index_name_from_rev(rev, name)) != CD_EOK)
		return rc;
	if ((rc = index_domain_get(txn, name, &d)) != CD_EOK)
		return rc == CD_ENOTFOUND ? CD_ECORRUPT : rc;
	if (f != NULL && f->max_hosts > 0 && d.host_count > f->max_hosts) {
		index_domain_clear(&d);
		return CD_EOK;
	}
	if ((rc = index_grow((void **)&out->items, out->n, cap, sizeof(*out->items))) != CD_EOK) {
		index_domain_clear(&d);
		return rc;
	}
	out->items[out->n++] = d;
	*added = true;
	return CD_EOK;
}

static void
index_set_cursor(uint8_t *dst, size_t *dlen, int64_t first, const char *rev)
{
	struct store_key k;

	store_key_init(&k);
	store_key_put_i64(&k, first);
	store_key_put_str(&k, rev);
	memcpy(dst, k.buf, k.len);
	*dlen = k.len;
}

/* Scan the reversed-label range of the suffix; CD_ETOOBIG when it holds more
 * than INDEX_SUFFIX_SORT_MAX names. */
static int
index_suffix_collect(struct store_txn *txn, const struct index_filter *f,
    const char *rsuf, const uint8_t *cursor, size_t cursor_len,
    struct index_cand **cands, size_t *ncand)
{
	struct store_iter *it = NULL;
	struct store_val key, val;
	struct store_key k, ck;
	struct index_agg a;
	size_t cap = 0, scanned = 0, rlen = strlen(rsuf);
	int rc;

	*cands = NULL;
	*ncand = 0;
	store_key_init(&k);
	store_key_put_bytes(&k, rsuf, rlen);
	if ((rc = store_key_err(&k)) != CD_EOK)
		return rc;
	if ((rc = store_iter_open(txn, STORE_DBI_DNS_DOMAIN, &it)) != CD_EOK)
		return rc;
	/* Keys from "rsuf\0" through "rsuf.\xff...": the name, then its subtree
	 * ('.' sorts after '-' so "rsuf-x" keys in between are filtered). */
	for (rc = store_iter_seek(it, k.buf, k.len); rc == CD_EOK;
	    rc = store_iter_next(it)) {
		struct index_cand *c;
		const char *rev;

		store_iter_get(it, &key, &val);
		if (!store_key_has_prefix(&key, k.buf, k.len))
			break;
		rev = key.data;
		if (((const char *)key.data)[key.len - 1] != '\0' ||
		    !index_rev_under(rev, rsuf, rlen))
			continue;
		if (++scanned > INDEX_SUFFIX_SORT_MAX) {
			rc = CD_ETOOBIG;
			goto out;
		}
		if ((rc = index_agg_decode(val.data, val.len, INDEX_AGG_FULL, &a)) != CD_EOK)
			goto out;
		if ((f->has_after && a.first < f->first_seen_after) ||
		    (f->has_before && a.first >= f->first_seen_before))
			continue;
		if (cursor_len > 0) {
			index_set_cursor(ck.buf, &ck.len, a.first, rev);
			if (index_keycmp(ck.buf, ck.len, cursor, cursor_len) <= 0)
				continue;
		}
		if ((rc = index_grow((void **)cands, *ncand, &cap, sizeof(**cands))) != CD_EOK)
			goto out;
		c = &(*cands)[(*ncand)++];
		c->first = a.first;
		snprintf(c->rev, sizeof(c->rev), "%s", rev);
	}
	if (rc == CD_ENOTFOUND)
		rc = CD_EOK;
out:
	store_iter_close(it);
	if (rc != CD_EOK) {
		free(*cands);
		*cands = NULL;
		*ncand = 0;
	}
	return rc;
}

/* Walk DNS_FIRST (prefix empty) or one host's DNS_HOSTFIRST (prefix the
 * host id) in first_seen order from the cursor or the window start, calling
 * visit for each entry in the window until it says stop. */
static int
index_first_walk(struct store_txn *txn, enum store_dbi dbi,
    const uint8_t *prefix, size_t plen, const struct index_filter *f,
    const uint8_t *cursor, size_t cursor_len,
    int (*visit)(void *arg, int64_t first, const uint8_t *rest, size_t restlen,
    bool *stop), void *arg)
{
	struct store_iter *it = NULL;
	struct store_val key, val;
	struct store_key k;
	bool stop = false;
	int rc;

	store_key_init(&k);
	store_key_put_bytes(&k, prefix, plen);
	if (cursor_len > 0)
		store_key_put_bytes(&k, cursor, cursor_len);
	else if (f != NULL && f->has_after)
		store_key_put_i64(&k, f->first_seen_after);
	if ((rc = store_key_err(&k)) != CD_EOK)
		return rc;
	if ((rc = store_iter_open(txn, dbi, &it)) != CD_EOK)
		return rc;
	for (rc = store_iter_seek(it, k.buf, k.len); rc == CD_EOK && !stop;
	    rc = store_iter_next(it)) {
		struct store_key_reader r;
		int64_t first;

		store_iter_get(it, &key, &val);
		if (!store_key_has_prefix(&key, prefix, plen))
			break;
		/* The cursor is the last item returned: resume after it. */
		if (cursor_len > 0 && key.len == k.len &&
		    memcmp(key.data, k.buf, k.len) == 0)
			continue;
		if (key.len < plen + 9) {
			rc = CD_ECORRUPT;
			break;
		}
		store_key_reader_init(&r, (const uint8_t *)key.data + plen, 8);
		first = store_key_get_i64(&r);
		if (f != NULL && f->has_before && first >= f->first_seen_before)
			break;
		if ((rc = visit(arg, first, (const uint8_t *)key.data + plen + 8,
		    key.len - plen - 8, &stop)) != CD_EOK)
			break;
	}
	if (rc == CD_ENOTFOUND)
		rc = CD_EOK;
	store_iter_close(it);
	return rc;
}

struct index_dl_ctx {
	struct store_txn	*txn;
	const struct index_filter *f;
	struct index_domain_list *out;
	size_t			 cap, limit;
	char			 rsuf[DNS_NAME_MAX];
	size_t			 rsuflen;	/* 0: no suffix filter */
};

static int
index_dl_visit(void *arg, int64_t first, const uint8_t *rest, size_t restlen,
    bool *stop)
{
	struct index_dl_ctx *c = arg;
	const char *rev = (const char *)rest;
	bool added;
	int rc;

	if (restlen < 2 || rest[restlen - 1] != '\0' ||
	    memchr(rest, '\0', restlen - 1) != NULL)
		return CD_ECORRUPT;
	if (c->out->n == c->limit) {
		/* One more item exists: the page gets a cursor. */
		struct index_domain *last = &c->out->items[c->out->n - 1];
		char lrev[DNS_NAME_MAX];

		dns_name_reverse(last->domain, lrev);
		index_set_cursor(c->out->next_cursor, &c->out->next_cursor_len,
		    last->first_seen, lrev);
		*stop = true;
		return CD_EOK;
	}
	if (c->rsuflen > 0 && !index_rev_under(rev, c->rsuf, c->rsuflen))
		return CD_EOK;
	rc = index_list_add(c->txn, c->f, rev, c->out, &c->cap, &added);
	(void)first;
	return rc;
}

int
index_domains_list(struct store_txn *txn, const struct index_filter *f,
    const uint8_t *cursor, size_t cursor_len, size_t limit,
    struct index_domain_list *out)
{
	static const struct index_filter none;
	struct index_dl_ctx c;
	struct index_cand *cands = NULL;
	size_t ncand = 0, i;
	char norm[DNS_NAME_MAX];
	int rc;

	memset(out, 0, sizeof(*out));
	if (f == NULL)
		f = &none;
	if (index_limit(&limit) != CD_EOK || index_cursor_check(cursor, cursor_len) != CD_EOK)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.txn = txn;
	c.f = f;
	c.out = out;
	c.limit = limit;
	if (f->suffix != NULL) {
		if (dns_name_normalise(f->suffix, norm) != CD_EOK)
			return -EINVAL;
		dns_name_reverse(norm, c.rsuf);
		c.rsuflen = strlen(c.rsuf);
		rc = index_suffix_collect(txn, f, c.rsuf, cursor, cursor_len,
		    &cands, &ncand);
		if (rc == CD_EOK) {
			/* Few enough names: sort them by (first_seen, name),
			 * the order of the first_seen view, so cursors from
			 * either path mean the same position. */
			if (ncand > 0)	/* qsort(NULL, 0) is undefined */
				qsort(cands, ncand, sizeof(*cands), index_cand_cmp);
			for (i = 0; i < ncand && rc == CD_EOK; i++) {
				bool stop = false;

				rc = index_dl_visit(&c, cands[i].first,
				    (const uint8_t *)cands[i].rev,
				    strlen(cands[i].rev) + 1, &stop);
				if (stop)
					break;
			}
			free(cands);
			goto out;
		}
		if (rc != CD_ETOOBIG)
			goto out;
	}
	rc = index_first_walk(txn, STORE_DBI_DNS_FIRST, NULL, 0, f, cursor,
	    cursor_len, index_dl_visit, &c);
out:
	if (rc != CD_EOK)
		index_domain_list_free(out);
	return rc;
}

struct index_hd_ctx {
	struct store_txn	*txn;
	uint32_t		 hid;
	const char		*host;
	struct index_hostdom_list *out;
	size_t			 cap, limit;
	uint32_t		 last_did;
};

/* A per-host cursor is the tail of a DNS_HOSTFIRST key: first_seen, domain id. */
static int
index_hd_visit(void *arg, int64_t first, const uint8_t *rest, size_t restlen,
    bool *stop)
{
	struct index_hd_ctx *c = arg;
	char name[DNS_NAME_MAX];
	struct index_hostdom hd;
	struct store_key k;
	uint32_t did, rid;
	int rc;

	(void)first;
	if (restlen != 4)
		return CD_ECORRUPT;
	if (c->out->n == c->limit) {
		store_key_init(&k);
		store_key_put_i64(&k, c->out->items[c->out->n - 1].first_seen);
		store_key_put_u32(&k, c->last_did);
		memcpy(c->out->next_cursor, k.buf, k.len);
		c->out->next_cursor_len = k.len;
		*stop = true;
		return CD_EOK;
	}
	did = be32_get(rest);
	if ((rc = index_domid_get(c->txn, did, name, &rid)) != CD_EOK)
		return rc;
	rc = index_pair_fill(c->txn, c->hid, rid, did, c->host, name, &hd);
	if (rc != CD_EOK)
		return rc == CD_ENOTFOUND ? CD_ECORRUPT : rc;
	if ((rc = index_grow((void **)&c->out->items, c->out->n, &c->cap,
	    sizeof(*c->out->items))) != CD_EOK) {
		index_hostdom_clear(&hd);
		return rc;
	}
	c->out->items[c->out->n++] = hd;
	c->last_did = did;
	return CD_EOK;
}

int
index_host_domains(struct store_txn *txn, const char *host,
    const struct index_filter *f, const uint8_t *cursor, size_t cursor_len,
    size_t limit, struct index_hostdom_list *out)
{
	char hname[HOSTS_NAME_MAX];
	struct index_hd_ctx c;
	struct store_key p;
	int rc;

	memset(out, 0, sizeof(*out));
	if (index_limit(&limit) != CD_EOK || (cursor_len != 0 && cursor_len != 12))
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	if ((rc = hosts_id(txn, host, false, &c.hid)) != CD_EOK)
		return rc;
	if ((rc = hosts_name(txn, c.hid, hname)) != CD_EOK)
		return rc;
	c.txn = txn;
	c.host = hname;
	c.out = out;
	c.limit = limit;
	store_key_init(&p);
	store_key_put_u32(&p, c.hid);
	rc = index_first_walk(txn, STORE_DBI_DNS_HOSTFIRST, p.buf, p.len, f,
	    cursor, cursor_len, index_hd_visit, &c);
	if (rc != CD_EOK)
		index_hostdom_list_free(out);
	return rc;
}

int
index_ip(struct store_txn *txn, const char *address, const uint8_t *cursor,
    size_t cursor_len, size_t limit, struct index_ip_list *out)
{
	struct store_iter *it = NULL;
	struct store_val key, val;
	struct store_key k;
	uint8_t addr[16];
	size_t plen, cap = 0;
	int family, rc;

	memset(out, 0, sizeof(*out));
	if (index_limit(&limit) != CD_EOK || cursor_len >= INDEX_CURSOR_MAX ||
	    (cursor_len > 0 && (cursor[cursor_len - 1] != '\0' ||
	    memchr(cursor, '\0', cursor_len - 1) != NULL)))
		return -EINVAL;
	if (address == NULL || dns_addr_parse(address, &family, addr) != CD_EOK)
		return CD_EPARSE;
	store_key_init(&k);
	store_key_put_u8(&k, family == AF_INET ? 4 : 6);
	store_key_put_bytes(&k, addr, family == AF_INET ? 4 : 16);
	plen = k.len;
	if (cursor_len > 0)
		store_key_put_bytes(&k, cursor, cursor_len);
	if ((rc = store_key_err(&k)) != CD_EOK)
		return -EINVAL;
	if ((rc = store_iter_open(txn, STORE_DBI_DNS_IP, &it)) != CD_EOK)
		return rc;
	for (rc = store_iter_seek(it, k.buf, k.len); rc == CD_EOK;
	    rc = store_iter_next(it)) {
		struct index_ip_name *n;
		char name[DNS_NAME_MAX];
		const char *rev;

		store_iter_get(it, &key, &val);
		if (!store_key_has_prefix(&key, k.buf, plen))
			break;
		if (cursor_len > 0 && key.len == k.len &&
		    memcmp(key.data, k.buf, k.len) == 0)
			continue;
		rev = (const char *)key.data + plen;
		if (((const char *)key.data)[key.len - 1] != '\0' ||
		    index_name_from_rev(rev, name) != CD_EOK) {
			rc = CD_ECORRUPT;
			break;
		}
		if (out->n == limit) {
			const struct index_ip_name *last = &out->items[out->n - 1];
			char lrev[DNS_NAME_MAX];

			dns_name_reverse(last->domain, lrev);
			out->next_cursor_len = strlen(lrev) + 1;
			memcpy(out->next_cursor, lrev, out->next_cursor_len);
			break;
		}
		if ((rc = index_grow((void **)&out->items, out->n, &cap,
		    sizeof(*out->items))) != CD_EOK)
			break;
		n = &out->items[out->n];
		memset(n, 0, sizeof(*n));
		if ((rc = index_ip_decode(val.data, val.len, &n->first_seen,
		    &n->last_seen)) != CD_EOK)
			break;
		if ((n->domain = strdup(name)) == NULL) {
			rc = -ENOMEM;
			break;
		}
		out->n++;
	}
	if (rc == CD_ENOTFOUND)
		rc = CD_EOK;
	store_iter_close(it);
	if (rc != CD_EOK)
		index_ip_list_free(out);
	return rc;
}

/*
 * Retention works through DNS_HOSTDOM and then DNS_IP in key order, from the
 * position saved by the previous call (in the host registry's state), so
 * successive bounded batches make progress instead of rescanning the start.
 * Reaching the end of both tables resets the position.
 */
int
index_prune(struct store_txn *txn, int64_t older_than_ms, unsigned max_deletes,
    unsigned *deleted)
{
	uint8_t pos[1 + STORE_KEY_MAX];
	struct store_iter *it = NULL;
	struct store_val key, val;
	struct store_key k;
	struct index_agg a;
	size_t poslen = 0;
	enum store_dbi dbi;
	int rc;

	*deleted = 0;
	rc = hosts_state_get(txn, INDEX_PRUNE_STATE, pos, sizeof(pos), &poslen);
	if (rc == CD_ENOTFOUND || (rc == CD_EOK && (poslen == 0 || pos[0] > 1)))
		poslen = 0, pos[0] = 0, rc = CD_EOK;
	if (rc != CD_EOK)
		return rc;
	for (; pos[0] <= 1; pos[0]++, poslen = 1) {
		dbi = pos[0] == 0 ? STORE_DBI_DNS_HOSTDOM : STORE_DBI_DNS_IP;
		if ((rc = store_iter_open(txn, dbi, &it)) != CD_EOK)
			return rc;
		rc = store_iter_seek(it, pos + 1, poslen > 0 ? poslen - 1 : 0);
		while (rc == CD_EOK) {
			int64_t first, last;
			bool old;

			store_iter_get(it, &key, &val);
			if (*deleted >= max_deletes) {
				/* Out of budget: remember where to go on. */
				if (key.len > STORE_KEY_MAX) {
					rc = CD_ECORRUPT;
					break;
				}
				memcpy(pos + 1, key.data, key.len);
				poslen = key.len + 1;
				store_iter_close(it);
				return hosts_state_put(txn, INDEX_PRUNE_STATE, pos, poslen);
			}
			if (dbi == STORE_DBI_DNS_HOSTDOM) {
				if ((rc = index_agg_decode(val.data, val.len,
				    INDEX_AGG_PAIR, &a)) != CD_EOK)
					break;
				first = a.first;
				last = a.last;
			} else if ((rc = index_ip_decode(val.data, val.len, &first,
			    &last)) != CD_EOK) {
				break;
			}
			old = last < older_than_ms;
			if (old && dbi == STORE_DBI_DNS_HOSTDOM) {
				/* The per-host view entry goes with the pair:
				 * (host id, first_seen, domain id). */
				struct store_key_reader r;
				uint32_t hid, did;

				store_key_reader_init(&r, key.data, key.len);
				hid = store_key_get_u32(&r);
				(void)store_key_get_u32(&r);
				did = store_key_get_u32(&r);
				if (!store_key_reader_done(&r)) {
					rc = CD_ECORRUPT;
					break;
				}
				index_key_hostfirst(&k, hid, first, did);
				rc = store_del(txn, STORE_DBI_DNS_HOSTFIRST, k.buf, k.len);
				if (rc != CD_EOK && rc != CD_ENOTFOUND)
					break;
			}
			if (old) {
				if ((rc = store_iter_del(it)) != CD_EOK)
					break;
				(*deleted)++;
			}
			/* After a delete, next is the entry that followed. */
			rc = store_iter_next(it);
		}
		store_iter_close(it);
		it = NULL;
		if (rc != CD_ENOTFOUND)
			return rc;
	}
	return hosts_state_put(txn, INDEX_PRUNE_STATE, NULL, 0);
}

void
index_domain_clear(struct index_domain *d)
{
	size_t i;

	if (d == NULL)
		return;
	free(d->domain);
	free(d->registered_domain);
	free(d->first_host);
	free(d->first_image);
	for (i = 0; i < d->nimages; i++)
		free(d->images[i]);
	memset(d, 0, sizeof(*d));
}

void
index_hostdom_clear(struct index_hostdom *h)
{
	size_t i;

	if (h == NULL)
		return;
	free(h->host);
	free(h->domain);
	for (i = 0; i < h->nimages; i++)
		free(h->images[i]);
	memset(h, 0, sizeof(*h));
}

void
index_domain_list_free(struct index_domain_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		index_domain_clear(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

void
index_hostdom_list_free(struct index_hostdom_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		index_hostdom_clear(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

void
index_ip_list_free(struct index_ip_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->items[i].domain);
	free(l->items);
	memset(l, 0, sizeof(*l));
}
