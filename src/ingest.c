/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "be.h"
#include "buf.h"
#include "err.h"
#include "event.h"
#include "hosts.h"
#include "index.h"
#include "indexer.h"
#include "ingest.h"
#include "json.h"
#include "log.h"
#include "lolbas.h"
#include "records.h"
#include "spool.h"
#include "store.h"

#define INGEST_SOURCE_VERSION	1
#define INGEST_BOOKMARK_VERSION	1
#define INGEST_KEY_MAX		1024

static int ingest_apply(struct store_txn *, void *);
static void ingest_done(int, void *);

int
ingest_batch_new(struct ingest_batch **out, enum ingest_kind kind)
{
	struct ingest_batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	b->kind = kind;
	b->job.apply = ingest_apply;
	b->job.done = ingest_done;
	b->job.arg = b;
	*out = b;
	return CD_EOK;
}

int
ingest_batch_add(struct ingest_batch *b, struct event *ev, char *host,
    bool foreign)
{
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		struct ingest_item *p = realloc(b->items, ncap * sizeof(*p));
		if (p == NULL) {
			event_free(ev);
			free(host);
			return -ENOMEM;
		}
		b->items = p;
		b->cap = ncap;
	}
	struct ingest_item *it = &b->items[b->n++];
	memset(it, 0, sizeof(*it));
	it->ev = ev;
	it->host = host;
	it->foreign = foreign;
	/* Only the source's own (or a relay's) Sysmon DNS queries are indexed. */
	if (!foreign && !ev->malformed && host[0] != '\0' &&
	    dns_from_event(ev, &it->dns) == CD_EOK)
		it->has_dns = true;
	return CD_EOK;
}

void
ingest_batch_free(struct ingest_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++) {
		event_free(b->items[i].ev);
		free(b->items[i].host);
		if (b->items[i].has_dns)
			dns_obs_clear(&b->items[i].dns);
	}
	free(b->items);
	free(b->source);
	free(b->source_host);
	free(b->subscription);
	free(b->version);
	free(b->bookmark);
	free(b);
}

/* Registry keys: subscription NUL source NUL, so a subscription's sources
 * are one prefix scan. */
static int
ingest_key(uint8_t *key, size_t *klen, const char *subscription, const char *source)
{
	size_t a = strlen(subscription) + 1, b = strlen(source) + 1;

	if (a + b > INGEST_KEY_MAX)
		return CD_ETOOBIG;
	memcpy(key, subscription, a);
	memcpy(key + a, source, b);
	*klen = a + b;
	return CD_EOK;
}

/* Source record: u8 version | i64 first | i64 last | i64 heartbeat |
 * i64 ended | u64 events | version string (to the end). */
static int
ingest_source_decode(const struct store_val *v, struct ingest_source_info *out)
{
	const uint8_t *p = v->data;

	memset(out, 0, sizeof(*out));
	if (v->len < 41 || p[0] != INGEST_SOURCE_VERSION)
		return CD_ECORRUPT;
	out->first_seen = (int64_t)be64_get(p + 1);
	out->last_seen = (int64_t)be64_get(p + 9);
	out->last_heartbeat = (int64_t)be64_get(p + 17);
	out->ended = (int64_t)be64_get(p + 25);
	out->events = be64_get(p + 33);
	size_t vl = v->len - 41;
	if (vl >= sizeof(out->version))
		vl = sizeof(out->version) - 1;
	memcpy(out->version, p + 41, vl);
	out->version[vl] = '\0';
	return CD_EOK;
}

int
ingest_source_get(struct store_txn *txn, const char *source,
    const char *subscription, struct ingest_source_info *out)
{
	uint8_t key[INGEST_KEY_MAX];
	size_t klen;
	struct store_val v;
	int rc;

	if ((rc = ingest_key(key, &klen, subscription, source)) != CD_EOK)
		return rc;
	if ((rc = store_get(txn, STORE_DBI_SOURCES, key, klen, &v)) != CD_EOK)
		return rc;
	return ingest_source_decode(&v, out);
}

int
ingest_source_count(struct store_txn *txn, const char *subscription,
    uint64_t *out)
{
	struct store_iter *it = NULL;
	size_t plen = strlen(subscription) + 1;
	int rc;

	*out = 0;
	if ((rc = store_iter_open(txn, STORE_DBI_SOURCES, &it)) != CD_EOK)
		return rc;
	for (rc = store_iter_seek(it, subscription, plen); rc == CD_EOK;
	    rc = store_iter_next(it)) {
		struct store_val k, v;
		store_iter_get(it, &k, &v);
		if (k.len < plen || memcmp(k.data, subscription, plen) != 0)
			break;
		(*out)++;
	}
	store_iter_close(it);
	return rc == CD_ENOTFOUND || rc == CD_EOK ? CD_EOK : rc;
}

int
ingest_bookmark_get(struct store_txn *txn, const char *source,
    const char *subscription, char **out)
{
	uint8_t key[INGEST_KEY_MAX];
	size_t klen;
	struct store_val v;
	int rc;

	*out = NULL;
	if ((rc = ingest_key(key, &klen, subscription, source)) != CD_EOK)
		return rc;
	rc = store_get(txn, STORE_DBI_BOOKMARKS, key, klen, &v);
	if (rc == CD_ENOTFOUND)
		return CD_EOK;
	if (rc != CD_EOK)
		return rc;
	if (v.len < 1 || ((const uint8_t *)v.data)[0] != INGEST_BOOKMARK_VERSION)
		return CD_ECORRUPT;
	*out = strndup((const char *)v.data + 1, v.len - 1);
	return *out != NULL ? CD_EOK : -ENOMEM;
}

static int
ingest_source_update(struct store_txn *txn, struct ingest_batch *b)
{
	uint8_t key[INGEST_KEY_MAX], val[41 + 64];
	struct ingest_source_info si;
	struct store_val v;
	size_t klen;
	int rc;

	if ((rc = ingest_key(key, &klen, b->subscription, b->source)) != CD_EOK)
		return rc;
	rc = store_get(txn, STORE_DBI_SOURCES, key, klen, &v);
	if (rc == CD_ENOTFOUND) {
		memset(&si, 0, sizeof(si));
		si.first_seen = b->now_ms;
	} else if (rc != CD_EOK) {
		return rc;
	} else if (ingest_source_decode(&v, &si) != CD_EOK) {
		/* Unreadable registry entries are replaced, not fatal. */
		memset(&si, 0, sizeof(si));
		si.first_seen = b->now_ms;
	}
	si.last_seen = b->now_ms;
	switch (b->kind) {
	case INGEST_HEARTBEAT:
		si.last_heartbeat = b->now_ms;
		si.ended = 0;
		break;
	case INGEST_END:
		si.ended = b->now_ms;
		break;
	case INGEST_EVENTS:
		si.events += b->res_new;
		si.ended = 0;
		break;
	}
	if (b->version != NULL)
		snprintf(si.version, sizeof(si.version), "%s", b->version);
	val[0] = INGEST_SOURCE_VERSION;
	be64_put(val + 1, (uint64_t)si.first_seen);
	be64_put(val + 9, (uint64_t)si.last_seen);
	be64_put(val + 17, (uint64_t)si.last_heartbeat);
	be64_put(val + 25, (uint64_t)si.ended);
	be64_put(val + 33, si.events);
	size_t vl = strlen(si.version);
	memcpy(val + 41, si.version, vl);
	return store_put(txn, STORE_DBI_SOURCES, key, klen, val, 41 + vl);
}

/*
 * Record identity (host, channel, EventRecordID): a re-delivered record is
 * found in the batch's claimed intervals (records.h) and neither spooled nor
 * counted again. Returns 1 when new, 0 for a duplicate, or an error.
 */
static int
ingest_record_claim(struct store_txn *txn, struct records_batch *rb,
    const struct ingest_item *it)
{
	return records_batch_claim(txn, rb, it->host,
	    it->ev->channel ? it->ev->channel : "", it->ev->record_id);
}

/* Spool an alert (a JSON object) about d's host, source and subscription. */
static int
ingest_spool_alert(struct store_txn *txn, struct spool_writer *sw,
    const struct ingest_dns *d, const struct buf *json)
{
	struct spool_rec rec = {
		.type = SPOOL_ALERT,
		.received_ms = d->now_ms,
		.source = d->source,
		.host = d->host,
		.subscription = d->subscription,
		.data = (const char *)json->data,
		.data_len = json->len,
	};

	return spool_writer_append(txn, sw, &rec);
}

static int
ingest_alert(struct store_txn *txn, struct spool_writer *sw,
    const struct ingest_dns *d, const char *kind, const char *name)
{
	struct buf out;
	struct jsonw json;
	int rc;

	buf_init(&out, 0);
	jsonw_init(&json, &out);
	jsonw_object_begin(&json);
	jsonw_kstring(&json, "type", "dns_first_seen");
	jsonw_kstring(&json, "scope", kind);
	jsonw_kstring(&json, "domain", name);
	jsonw_kstring(&json, "registered_domain", d->dns->regdom);
	jsonw_kstring(&json, "host", d->host);
	jsonw_kstring(&json, "image", d->dns->image);
	jsonw_ktime(&json, "utc_time", d->dns->time_ms);
	jsonw_kuint(&json, "query_status", d->dns->status);
	jsonw_kstring(&json, "source", d->source);
	jsonw_object_end(&json);
	rc = jsonw_finish(&json);
	if (rc == CD_EOK)
		rc = ingest_spool_alert(txn, sw, d, &out);
	buf_free(&out);
	return rc;
}

/* A LOLBAS alert for ev (d names its host, source and subscription), when
 * lolbas_check() finds one. Returns 1 when an alert was spooled, 0 when
 * none, or an error. */
static int
ingest_lolbas_check(struct store_txn *txn, struct spool_writer *sw,
    const struct ingest_dns *d, const struct event *ev, bool new_domain)
{
	struct buf alert;
	int rc;

	buf_init(&alert, 0);
	rc = lolbas_check(d->lolbas, ev, new_domain, &alert);
	if (rc == 1 && (rc = ingest_spool_alert(txn, sw, d, &alert)) == CD_EOK)
		rc = 1;
	buf_free(&alert);
	return rc;
}

/*
 * LOLBAS detection (Sysmon practice, the regsvr32 example): a process
 * creation (Event ID 1) is remembered, in memory and in the store, so that
 * a DNS query (22) or connection (3) by a LOLBAS binary, in this batch or a
 * later one, yields an alert carrying its command line and parent. A DNS
 * query the index takes later (dns_later) is checked there, once the index
 * knows whether its name is new.
 */
static int
ingest_lolbas(struct store_txn *txn, struct spool_writer *sw,
    struct ingest_batch *b, const struct ingest_item *it, bool dns_later)
{
	const struct event *ev = it->ev;
	int rc;

	if (ev->provider == NULL || strcmp(ev->provider, "Microsoft-Windows-Sysmon") != 0)
		return CD_EOK;
	if (ev->event_id == 1)
		return lolbas_observe_put(b->lolbas, txn, ev);
	if ((ev->event_id != 22 && ev->event_id != 3) || dns_later)
		return CD_EOK;
	struct ingest_dns d = {
		.host = it->host, .source = b->source, .subscription = b->subscription,
		.now_ms = b->now_ms, .lolbas = b->lolbas,
	};
	rc = ingest_lolbas_check(txn, sw, &d, ev, false);
	if (rc == 1) {
		b->res_alerts++;
		rc = CD_EOK;
	}
	return rc;
}

int
ingest_dns_apply(struct store_txn *txn, struct spool_writer *sw,
    struct hosts_batch *hb, const struct ingest_dns *d, uint64_t *alerts)
{
	struct index_effects eff = { 0 };
	struct hosts_delta hd = { .dns_queries = 1 };
	int rc;

	if ((rc = index_apply(txn, d->host, d->dns, &eff)) != CD_EOK)
		return rc;
	hd.domains = eff.new_on_host ? 1 : 0;
	if (eff.new_domain && (rc = ingest_alert(txn, sw, d, "fleet", d->dns->name)) == CD_EOK)
		(*alerts)++;
	if (rc == CD_EOK && eff.new_on_host && !eff.new_domain &&
	    (rc = ingest_alert(txn, sw, d, "host", d->dns->name)) == CD_EOK)
		(*alerts)++;
	if (rc == CD_EOK && eff.new_regdom && d->alert_regdom &&
	    (rc = ingest_alert(txn, sw, d, "registered_domain", d->dns->regdom)) == CD_EOK)
		(*alerts)++;
	if (rc == CD_EOK && d->lolbas != NULL && d->ev != NULL) {
		rc = ingest_lolbas_check(txn, sw, d, d->ev, eff.new_domain);
		if (rc == 1) {
			(*alerts)++;
			rc = CD_EOK;
		}
	}
	if (rc == CD_EOK)
		rc = hosts_batch_update(txn, hb, d->host, d->now_ms, &hd);
	return rc;
}

static int
ingest_event(struct store_txn *txn, struct spool_writer *sw,
    struct hosts_batch *hb, struct records_batch *rb, struct ingest_batch *b,
    struct ingest_item *it)
{
	struct spool_rec rec = { 0 };
	struct hosts_delta hd = { 0 };
	int rc;

	it->seq = 0;	/* apply() may run again after an aborted group */
	if (!it->ev->malformed && it->ev->has_record_id && it->host[0] != '\0') {
		rc = ingest_record_claim(txn, rb, it);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			b->res_dup++;
			return CD_EOK;
		}
	}
	rec.type = SPOOL_EVENT;
	rec.flags = (it->ev->malformed ? SPOOL_F_MALFORMED : 0) |
	    (it->foreign ? SPOOL_F_FOREIGN : 0) |
	    (it->has_dns ? SPOOL_F_DNS : 0) |
	    (it->ev->has_record_id ? 0 : SPOOL_F_NORECORD);
	rec.received_ms = b->now_ms;
	rec.source = b->source;
	rec.host = it->host;
	rec.subscription = b->subscription;
	rec.data = it->ev->raw;
	rec.data_len = it->ev->raw_len;
	if ((rc = spool_writer_append(txn, sw, &rec)) != CD_EOK)
		return rc;
	it->seq = rec.seq;
	b->res_new++;
	hd.events = 1;
	if (it->has_dns) {
		b->res_dns++;
		/* With an indexer the observation is indexed after the Ack,
		 * from the spool record just written (indexer.h). */
		if (b->indexer == NULL) {
			struct ingest_dns d = {
				.host = it->host, .dns = &it->dns, .ev = it->ev,
				.source = b->source, .subscription = b->subscription,
				.now_ms = b->now_ms, .alert_regdom = b->alert_regdom,
				.lolbas = !it->foreign && !it->ev->malformed ? b->lolbas : NULL,
			};
			if ((rc = ingest_dns_apply(txn, sw, hb, &d, &b->res_alerts)) != CD_EOK)
				return rc;
		}
	}
	if (b->lolbas != NULL && !it->foreign && !it->ev->malformed &&
	    (rc = ingest_lolbas(txn, sw, b, it, it->has_dns)) != CD_EOK)
		return rc;
	/* Foreign events are kept and forwarded but not counted for the host
	 * they name: that host did not send them. After the index, which
	 * may have created the host's record (hosts_batch_update). */
	if (!it->foreign && it->host[0] != '\0')
		rc = hosts_batch_update(txn, hb, it->host, b->now_ms, &hd);
	return rc;
}

static int
ingest_apply(struct store_txn *txn, void *arg)
{
	struct ingest_batch *b = arg;
	struct spool_writer sw;
	struct hosts_batch hb;
	struct records_batch rb;
	int rc;

	/* The spool's next seq and the hosts' records stay in memory for the
	 * batch and are written back once, before the next job of the group
	 * commit reads them: the same bytes as record by record. */
	b->res_new = b->res_dup = b->res_dns = b->res_alerts = 0;
	hosts_batch_init(&hb);
	records_batch_init(&rb);
	rc = spool_writer_begin(txn, &sw);
	if (rc == CD_EOK && b->n > 0) {
		size_t bytes = 0;
		for (size_t i = 0; i < b->n; i++)
			bytes += b->items[i].ev->raw_len;
		rc = spool_writer_expect(&sw, b->n, bytes);
	}
	for (size_t i = 0; i < b->n && rc == CD_EOK; i++)
		rc = ingest_event(txn, &sw, &hb, &rb, b, &b->items[i]);
	if (rc == CD_EOK && b->kind == INGEST_HEARTBEAT && b->source_host != NULL) {
		struct hosts_delta hd = { .heartbeat = true };
		rc = hosts_batch_update(txn, &hb, b->source_host, b->now_ms, &hd);
	}
	if (rc == CD_EOK)
		rc = hosts_batch_flush(txn, &hb);
	/* Claimed intervals too, so the group's next job sees them. */
	if (rc == CD_EOK)
		rc = records_batch_flush(txn, &rb);
	records_batch_clear(&rb);
	if (rc == CD_EOK)
		rc = spool_writer_end(txn, &sw);
	else
		spool_writer_abandon(&sw);
	if (rc == CD_EOK && b->bookmark != NULL) {
		uint8_t key[INGEST_KEY_MAX];
		size_t klen, bl = strlen(b->bookmark);
		uint8_t *val = malloc(bl + 1);
		if (val == NULL)
			return -ENOMEM;
		val[0] = INGEST_BOOKMARK_VERSION;
		memcpy(val + 1, b->bookmark, bl);
		rc = ingest_key(key, &klen, b->subscription, b->source);
		if (rc == CD_EOK)
			rc = store_put(txn, STORE_DBI_BOOKMARKS, key, klen, val, bl + 1);
		free(val);
	}
	if (rc == CD_EOK)
		rc = ingest_source_update(txn, b);
	return rc;
}

static void
ingest_done(int rc, void *arg)
{
	struct ingest_batch *b = arg;

	if (rc != CD_EOK)
		log_warn("store", "source=%s batch of %zu events not stored: %s",
		    b->source, b->n, cd_strerror(rc));
	else if (b->indexer != NULL)
		indexer_take(b->indexer, b);
	b->on_done(b, rc);
}

int
ingest_submit(struct store *st, struct ingest_batch *b)
{
	return store_submit(st, &b->job);
}
