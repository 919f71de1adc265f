/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "be.h"
#include "dns.h"
#include "err.h"
#include "event.h"
#include "hosts.h"
#include "indexer.h"
#include "ingest.h"
#include "log.h"
#include "lolbas.h"
#include "spool.h"
#include "store.h"
#include "thread.h"

#define INDEXER_META_CURSOR	"index_cursor"

/* One observation waiting: what ingest_dns_apply() needs, owned. */
struct indexer_item {
	uint64_t	 seq;		/* its spool record */
	int64_t		 now_ms;
	char		*host;
	char		*source;
	char		*subscription;
	bool		 alert_regdom;
	struct dns_obs	 dns;
	struct event	*ev;		/* a LOLBAS candidate's event, or NULL */
};

struct indexer {
	struct store		*st;
	struct lolbas		*lolbas;
	bool			 alert_regdom;	/* for observations read back */
	/* items is appended by the writer thread (indexer_take) and trimmed
	 * by the thread whose index job committed; mu guards both. An index
	 * job's apply() reads items[0..job_n) without it: only the writer
	 * thread appends, and nothing trims while a job runs. */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cond;
	struct indexer_item	*items;
	size_t			 n, cap;
	atomic_uint_fast64_t	 npending;
	atomic_uint_fast64_t	 pending_max;
	size_t			 job_n;		/* items the running job indexes */
	pthread_t		 thread;
	bool			 running;
	bool			 stop;
};

static void
indexer_item_clear(struct indexer_item *it)
{
	free(it->host);
	free(it->source);
	free(it->subscription);
	dns_obs_clear(&it->dns);
	event_free(it->ev);
	memset(it, 0, sizeof(*it));
}

/* Room for one more item; the caller holds mu (or is alone). */
static struct indexer_item *
indexer_slot(struct indexer *ix)
{
	if (ix->n == ix->cap) {
		size_t ncap = ix->cap ? ix->cap * 2 : 1024;
		struct indexer_item *p = realloc(ix->items, ncap * sizeof(*p));
		if (p == NULL)
			return NULL;
		ix->items = p;
		ix->cap = ncap;
	}
	struct indexer_item *it = &ix->items[ix->n];
	memset(it, 0, sizeof(*it));
	return it;
}

/*
 * Fill a slot whose dns is set: its strings are copied, and the event
 * (*ev) moves into it when the LOLBAS check will want it. -ENOMEM leaves
 * the caller to clear the slot.
 */
static int
indexer_item_fill(struct indexer *ix, struct indexer_item *it, uint64_t seq,
    int64_t now_ms, const char *host, const char *source, const char *subscription,
    bool alert_regdom, struct event **ev)
{
	it->seq = seq;
	it->now_ms = now_ms;
	it->alert_regdom = alert_regdom;
	it->host = strdup(host);
	it->source = strdup(source);
	it->subscription = strdup(subscription);
	if (it->host == NULL || it->source == NULL || it->subscription == NULL)
		return -ENOMEM;
	if (ix->lolbas != NULL && lolbas_is_listed(ix->lolbas, it->dns.image)) {
		/* It may wait as long as the index is behind: off its slab
		 * chunk, so that it pins nothing else (event.h). */
		if (event_keep(ev) != CD_EOK)
			return -ENOMEM;
		it->ev = *ev;
		*ev = NULL;
	}
	return CD_EOK;
}

static int
indexer_cursor_get(struct store_txn *txn, uint64_t *out, bool *found)
{
	int rc = store_get_be64(txn, STORE_DBI_META, INDEXER_META_CURSOR,
	    sizeof(INDEXER_META_CURSOR) - 1, out);

	*found = rc == CD_EOK;
	return rc == CD_ENOTFOUND ? CD_EOK : rc;
}

static int
indexer_cursor_put(struct store_txn *txn, uint64_t seq)
{
	uint8_t v[8];

	be64_put(v, seq);
	return store_put(txn, STORE_DBI_META, INDEXER_META_CURSOR,
	    sizeof(INDEXER_META_CURSOR) - 1, v, sizeof(v));
}

static int
indexer_cursor_init_apply(struct store_txn *txn, void *arg)
{
	return indexer_cursor_put(txn, *(uint64_t *)arg);
}

/* A spool record flagged SPOOL_F_DNS, parsed again into a waiting item. */
static int
indexer_recover_one(struct indexer *ix, const struct spool_rec *r)
{
	struct event *ev = NULL;
	struct indexer_item *it;
	int rc;

	if ((it = indexer_slot(ix)) == NULL)
		return -ENOMEM;
	if ((rc = event_parse(r->data, r->data_len, &ev)) != CD_EOK)
		return rc;
	if (dns_from_event(ev, &it->dns) != CD_EOK) {
		/* Flagged when it was taken, so this is not expected; an
		 * observation that no longer reads is dropped, not fatal. */
		log_warn("index", "spool seq %" PRIu64 ": DNS query no longer readable, not indexed",
		    r->seq);
		event_free(ev);
		return CD_EOK;
	}
	/* The setting of the time is not in the record: the current one. */
	if ((rc = indexer_item_fill(ix, it, r->seq, r->received_ms, r->host,
	    r->source, r->subscription, ix->alert_regdom, &ev)) != CD_EOK) {
		indexer_item_clear(it);
		event_free(ev);
		return rc;
	}
	event_free(ev);
	ix->n++;
	return CD_EOK;
}

/* Take every DNS observation spooled after the cursor. */
static int
indexer_recover(struct indexer *ix, struct store_txn *txn, uint64_t cursor)
{
	struct spool_iter it;
	struct spool_rec r;
	int rc;

	if ((rc = spool_iter_open(txn, &it)) != CD_EOK)
		return rc;
	if ((rc = spool_iter_seek(&it, cursor + 1)) != CD_EOK)
		goto out;
	while ((rc = spool_iter_next(&it, &r, NULL)) != CD_ENOTFOUND) {
		if (rc == CD_ECORRUPT)
			continue;	/* the outputs report it */
		if (rc != CD_EOK)
			break;
		if (r.type != SPOOL_EVENT || !(r.flags & SPOOL_F_DNS) ||
		    (r.flags & (SPOOL_F_FOREIGN | SPOOL_F_MALFORMED)))
			continue;
		if ((rc = indexer_recover_one(ix, &r)) != CD_EOK)
			break;
	}
out:
	spool_iter_close(&it);
	return rc == CD_ENOTFOUND ? CD_EOK : rc;
}

int
indexer_new(struct indexer **out, struct store *st, struct lolbas *lb,
    bool alert_regdom)
{
	struct indexer *ix;
	struct store_txn *txn;
	pthread_condattr_t ca;
	uint64_t cursor = 0, next = 1;
	bool found = false;
	int rc;

	*out = NULL;
	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return -ENOMEM;
	ix->st = st;
	ix->lolbas = lb;
	ix->alert_regdom = alert_regdom;
	atomic_store(&ix->pending_max, INDEXER_PENDING_MAX);
	pthread_mutex_init(&ix->mu, NULL);
	/* The thread's timed wait is on the monotonic clock: immune to
	 * clock jumps. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ix->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = store_read_begin(st, &txn)) != CD_EOK)
		goto fail;
	rc = indexer_cursor_get(txn, &cursor, &found);
	if (rc == CD_EOK && !found)
		rc = spool_next_seq(txn, &next);
	if (rc == CD_EOK && found)
		rc = indexer_recover(ix, txn, cursor);
	store_read_end(txn);
	if (rc != CD_EOK)
		goto fail;
	if (!found) {
		/* A store from before the indexer indexed every batch in
		 * its own transaction: start at the spool's head. */
		cursor = next - 1;
		if ((rc = store_run(st, indexer_cursor_init_apply, &cursor)) != CD_EOK)
			goto fail;
	}
	atomic_store(&ix->npending, ix->n);
	if (ix->n > 0)
		log_info("index", "%zu DNS queries acknowledged before the stop are indexed now",
		    ix->n);
	*out = ix;
	return CD_EOK;
fail:
	log_err("index", "cannot read the index cursor and the spool: %s", cd_strerror(rc));
	indexer_free(ix);
	return rc;
}

void
indexer_take(struct indexer *ix, struct ingest_batch *b)
{
	size_t lost = 0;

	pthread_mutex_lock(&ix->mu);
	for (size_t i = 0; i < b->n; i++) {
		struct ingest_item *src = &b->items[i];
		struct indexer_item *it;
		if (!src->has_dns || src->seq == 0)
			continue;
		if ((it = indexer_slot(ix)) == NULL) {
			lost++;
			continue;
		}
		/* The observation moves: the batch has no further use for it.
		 * Foreign events are never taken (has_dns is false for them). */
		it->dns = src->dns;
		memset(&src->dns, 0, sizeof(src->dns));
		src->has_dns = false;
		if (indexer_item_fill(ix, it, src->seq, b->now_ms, src->host,
		    b->source, b->subscription, b->alert_regdom, &src->ev) != CD_EOK) {
			indexer_item_clear(it);
			lost++;
			continue;
		}
		ix->n++;
	}
	atomic_store(&ix->npending, ix->n);
	pthread_mutex_unlock(&ix->mu);
	/* Memory ran out: those records are in the spool, and the next start
	 * indexes them (they are after the cursor). */
	if (lost > 0)
		log_err("index", "out of memory: %zu DNS queries indexed only after a restart",
		    lost);
}

uint64_t
indexer_prune_floor(void *arg)
{
	struct indexer *ix = arg;
	uint64_t floor = UINT64_MAX;

	if (ix == NULL)
		return floor;
	pthread_mutex_lock(&ix->mu);
	if (ix->n > 0)
		floor = ix->items[0].seq - 1;
	pthread_mutex_unlock(&ix->mu);
	return floor;
}

uint64_t
indexer_pending(struct indexer *ix)
{
	return ix != NULL ? atomic_load(&ix->npending) : 0;
}

bool
indexer_full(struct indexer *ix)
{
	return ix != NULL && atomic_load(&ix->npending) > atomic_load(&ix->pending_max);
}

uint64_t
indexer_pending_max(struct indexer *ix)
{
	return ix != NULL ? atomic_load(&ix->pending_max) : 0;
}

void
indexer_set_pending_max(struct indexer *ix, uint64_t max)
{
	atomic_store(&ix->pending_max, max ? max : INDEXER_PENDING_MAX);
}

/*
 * How many of n waiting observations one job takes. Each job waits for the
 * group commit it is part of, and with 1,000 hosts sending as fast as they
 * can a group commit took about 250 ms: at 5,000 a job the index kept pace
 * with about 12,000 queries per second, fell 100,000 behind and the gate
 * refused batches. A larger backlog takes a quarter of it per job (about
 * 5 µs of the writer per observation: 125 ms at INDEXER_JOB_BIG), so that
 * the index catches up instead.
 */
size_t
indexer_job_size(size_t n)
{
	size_t m = n / 4;

	if (m < INDEXER_JOB_MAX)
		m = INDEXER_JOB_MAX;
	if (m > INDEXER_JOB_BIG)
		m = INDEXER_JOB_BIG;
	return n < m ? n : m;
}

static int
indexer_apply(struct store_txn *txn, void *arg)
{
	struct indexer *ix = arg;
	struct spool_writer sw;
	struct hosts_batch hb;
	uint64_t alerts = 0;
	int rc;

	pthread_mutex_lock(&ix->mu);
	ix->job_n = indexer_job_size(ix->n);
	pthread_mutex_unlock(&ix->mu);
	if (ix->job_n == 0)
		return CD_EOK;
	hosts_batch_init(&hb);
	rc = spool_writer_begin(txn, &sw);
	for (size_t i = 0; i < ix->job_n && rc == CD_EOK; i++) {
		struct indexer_item *it = &ix->items[i];
		struct ingest_dns d = {
			.host = it->host, .dns = &it->dns, .ev = it->ev,
			.source = it->source, .subscription = it->subscription,
			.now_ms = it->now_ms, .alert_regdom = it->alert_regdom,
			.lolbas = ix->lolbas,
		};
		rc = ingest_dns_apply(txn, &sw, &hb, &d, &alerts);
	}
	if (rc == CD_EOK)
		rc = hosts_batch_flush(txn, &hb);
	if (rc == CD_EOK)
		rc = spool_writer_end(txn, &sw);
	else
		spool_writer_abandon(&sw);
	if (rc == CD_EOK)
		rc = indexer_cursor_put(txn, ix->items[ix->job_n - 1].seq);
	return rc;
}

/* Run one index job and drop what it committed. */
static int
indexer_run(struct indexer *ix)
{
	int rc = store_run(ix->st, indexer_apply, ix);

	if (rc != CD_EOK)
		return rc;
	pthread_mutex_lock(&ix->mu);
	for (size_t i = 0; i < ix->job_n; i++)
		indexer_item_clear(&ix->items[i]);
	memmove(ix->items, ix->items + ix->job_n,
	    (ix->n - ix->job_n) * sizeof(*ix->items));
	ix->n -= ix->job_n;
	ix->job_n = 0;
	atomic_store(&ix->npending, ix->n);
	pthread_mutex_unlock(&ix->mu);
	return CD_EOK;
}

int
indexer_flush(struct indexer *ix)
{
	int rc = CD_EOK;

	while (rc == CD_EOK && indexer_pending(ix) > 0)
		rc = indexer_run(ix);
	return rc;
}

static void *
indexer_thread(void *arg)
{
	struct indexer *ix = arg;
	bool failing = false;

	thread_name("cd-index");
	pthread_mutex_lock(&ix->mu);
	while (!ix->stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		long ms = failing ? 1000 : INDEXER_INTERVAL_MS;
		until.tv_sec += ms / 1000;
		until.tv_nsec += (ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		/* A backlog of more than one job goes on without a pause. */
		if (ix->n < INDEXER_JOB_MAX || failing)
			pthread_cond_timedwait(&ix->cond, &ix->mu, &until);
		if (ix->stop || ix->n == 0)
			continue;
		pthread_mutex_unlock(&ix->mu);
		int rc = indexer_run(ix);
		/* The observations stay queued: a full disk or map is retried,
		 * and a stop indexes them at the next start. */
		if (rc != CD_EOK && !failing)
			log_warn("index", "indexing %" PRIu64 " DNS queries failed, retrying: %s",
			    indexer_pending(ix), cd_strerror(rc));
		else if (rc == CD_EOK && failing)
			log_info("index", "indexing again");
		failing = rc != CD_EOK;
		pthread_mutex_lock(&ix->mu);
	}
	pthread_mutex_unlock(&ix->mu);
	return NULL;
}

int
indexer_start(struct indexer *ix)
{
	if (pthread_create(&ix->thread, NULL, indexer_thread, ix) != 0)
		return -errno;
	ix->running = true;
	return CD_EOK;
}

void
indexer_stop(struct indexer *ix)
{
	if (ix == NULL)
		return;
	if (ix->running) {
		pthread_mutex_lock(&ix->mu);
		ix->stop = true;
		pthread_cond_signal(&ix->cond);
		pthread_mutex_unlock(&ix->mu);
		pthread_join(ix->thread, NULL);
		int rc = indexer_flush(ix);
		if (rc != CD_EOK)
			log_warn("index", "%" PRIu64 " DNS queries are indexed at the next start: %s",
			    indexer_pending(ix), cd_strerror(rc));
		ix->running = false;
	}
}

void
indexer_free(struct indexer *ix)
{
	if (ix == NULL)
		return;
	indexer_stop(ix);
	for (size_t i = 0; i < ix->n; i++)
		indexer_item_clear(&ix->items[i]);
	free(ix->items);
	pthread_cond_destroy(&ix->cond);
	pthread_mutex_destroy(&ix->mu);
	free(ix);
}
