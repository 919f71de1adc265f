/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The output framework (see output.h). Each output runs one thread:
 *
 *   cursor = persisted position (last spool seq confirmed)
 *   loop: read up to `batch` spool entries after cursor (short read txn,
 *         everything copied) -> filter -> format -> sink send, retried with
 *         backoff until confirmed -> persist the new cursor (writer job)
 *
 * Filtering never loses data: an event an output does not take is still
 * in the index and the spool, and the cursor passes it. The DNS dedup of
 * "stream dedup" outputs lives in memory; after a restart it starts empty,
 * which may forward a repeat again but never drops an event.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "buf.h"
#include "conf.h"
#include "dedup.h"
#include "dns.h"
#include "err.h"
#include "evcache.h"
#include "event.h"
#include "format.h"
#include "json.h"
#include "log.h"
#include "output.h"
#include "output_sinks.h"
#include "rules.h"
#include "spool.h"
#include "store.h"
#include "thread.h"
#include "timeparse.h"

#define OUTPUT_BATCH_DEFAULT	500
#define OUTPUT_BATCH_MAX	100000
#define OUTPUT_IDLE_MS		100
#define OUTPUT_BACKOFF_MIN_MS	250
#define OUTPUT_BACKOFF_MAX_MS	30000
#define OUTPUT_SPOOL_CAP	10000000	/* undelivered entries before 503 */
#define OUTPUT_PRUNE_MAX	5000		/* spool deletions per transaction */

static void output_summary_emit(const struct dedup_summary *, void *);

static const char *const output_common_keys[] = {
	"format", "stream", "subscriptions", "channels", "event_ids", "rules", "batch",
};

/* One record read from the spool, copied out of its transaction. */
struct output_rec {
	struct spool_rec rec;	/* strings point into the batch's text, or
				 * rec.data into cev's raw XML */
	size_t		 off;	/* of the strings in the text, while reading */
	const struct event *cev;	/* the cached parsed event, or NULL */
	struct evcache_entry *ref;	/* its reference, released after the batch */
};

/* What output_read() hands out: the records and the text they point into
 * (one buffer for the batch instead of a malloc per record). */
struct output_batch {
	struct output_rec *recs;
	size_t		 n;
	struct buf	 text;	/* per record: source NUL host NUL subscription
				 * NUL [payload NUL, when not cached] */
	struct evcache	*ec;	/* the cache the references are from */
};

struct output {
	struct outputs		*all;
	char			*name;
	const struct output_sink_ops *ops;
	void			*sink;
	enum format_kind	 format;
	bool			 dedup_stream;
	struct conf_strv	 subscriptions, channels;
	uint32_t		*event_ids;
	size_t			 nevent_ids;
	struct rules		*rules;
	size_t			 batch;
	struct dedup		*dedup;
	int64_t			 dedup_clock;	/* largest event time seen */
	int64_t			 last_activity_ms;

	/* Dedup summaries waiting to go out with the next batch. */
	struct buf		 summaries;	/* JSON records, NUL-separated */
	size_t			 nsummaries;

	pthread_t		 thread;
	bool			 started;
	atomic_uint_fast64_t	 cursor;	/* durable: persisted in the store */
	atomic_uint_fast64_t	 sent;		/* confirmed by the destination */
	/* The cursor's persistence runs as an ordinary writer job, in the next
	 * group commit, while this output goes on reading and delivering:
	 * waiting for that commit (and its fsync) after every batch held each
	 * output to one batch per commit cycle. At most one is in flight. */
	struct store_job	 cj;
	uint64_t		 cj_seq;
	atomic_bool		 cj_busy;
	atomic_uint_fast64_t	 delivered;
	atomic_uint_fast64_t	 errors;
	atomic_uint_fast64_t	 cache_hits;	/* events taken parsed from the cache */
	atomic_uint_fast64_t	 cache_misses;	/* events parsed here */
	bool			 failing;	/* log state changes only */
	atomic_bool		 reopen;
};

struct outputs {
	struct store		*st;
	struct output		**v;
	size_t			 n;
	atomic_bool		 stop;
	atomic_uint_fast64_t	 next_seq;	/* spool's next seq, last seen */
	pthread_mutex_t		 prune_lock;
	uint64_t		 pruned_to;	/* spool entries <= this are gone */
	uint64_t		(*prune_floor)(void *);	/* what else still needs the spool */
	void			*prune_floor_arg;
	uint64_t		 spool_cap;
	_Atomic(struct evcache *) evcache;	/* parsed events from ingest, or NULL */
};

bool
output_kv_is_common(const char *key)
{
	for (size_t i = 0; i < sizeof(output_common_keys) / sizeof(*output_common_keys); i++)
		if (strcmp(key, output_common_keys[i]) == 0)
			return true;
	return false;
}

const struct output_sink_ops *
output_sink_find(const char *type)
{
	static const struct output_sink_ops *const sinks[] = { OUTPUT_SINKS };

	for (size_t i = 0; i < sizeof(sinks) / sizeof(*sinks); i++)
		if (strcmp(sinks[i]->type, type) == 0)
			return sinks[i];
	return NULL;
}

static void
output_sleep_ms(const struct outputs *all, unsigned ms)
{
	/* Sleep in small steps so that a stop request is seen quickly. */
	while (ms > 0 && !atomic_load(&all->stop)) {
		unsigned step = ms < 50 ? ms : 50;
		struct timespec ts = { 0, (long)step * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static int
output_split_list(const char *s, struct conf_strv *out)
{
	const char *p = s;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		const char *b = p, *e = p + n;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > b) {
			char *item = strndup(b, (size_t)(e - b));
			if (item == NULL || conf_strv_add(out, item) != CD_EOK) {
				free(item);
				return -ENOMEM;
			}
			free(item);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return CD_EOK;
}

static void
output_free(struct output *o)
{
	if (o == NULL)
		return;
	if (o->sink != NULL)
		o->ops->destroy(o->sink);
	conf_strv_clear(&o->subscriptions);
	conf_strv_clear(&o->channels);
	free(o->event_ids);
	rules_free(o->rules);
	dedup_free(o->dedup);
	buf_free(&o->summaries);
	free(o->name);
	free(o);
}

/* Build one output from its configuration (no thread, no connection). */
static int
output_new(const struct cd_conf *conf, const struct conf_output *co,
    struct output **out, struct buf *errs)
{
	const char *file = conf->path ? conf->path : "(built-in)";
	struct output *o = calloc(1, sizeof(*o));
	char *err = NULL;
	int rc = CD_EOK;

	if (o == NULL)
		return -ENOMEM;
	buf_init(&o->summaries, 0);
	o->format = FORMAT_JSON;
	o->batch = OUTPUT_BATCH_DEFAULT;
	if ((o->name = strdup(co->name)) == NULL) {
		output_free(o);
		return -ENOMEM;
	}
	o->ops = output_sink_find(co->type);
	if (o->ops == NULL) {
		conf_err(errs, file, co->line, "output \"%s\": type \"%s\" is not available",
		    co->name, co->type);
		output_free(o);
		return CD_ECONFIG;
	}
	for (size_t i = 0; i < co->nkv; i++) {
		const struct conf_kv *kv = &co->kv[i];
		if (strcmp(kv->key, "format") == 0) {
			if (format_parse(kv->value, &o->format) != CD_EOK) {
				conf_err(errs, file, kv->line,
				    "output \"%s\": format must be raw, json or ecs", co->name);
				rc = CD_ECONFIG;
			}
		} else if (strcmp(kv->key, "stream") == 0) {
			if (strcmp(kv->value, "dedup") == 0)
				o->dedup_stream = true;
			else if (strcmp(kv->value, "all") != 0) {
				conf_err(errs, file, kv->line,
				    "output \"%s\": stream must be all or dedup", co->name);
				rc = CD_ECONFIG;
			}
		} else if (strcmp(kv->key, "subscriptions") == 0) {
			rc = rc ? rc : output_split_list(kv->value, &o->subscriptions);
		} else if (strcmp(kv->key, "channels") == 0) {
			rc = rc ? rc : output_split_list(kv->value, &o->channels);
		} else if (strcmp(kv->key, "event_ids") == 0) {
			struct conf_strv ids = { 0 };
			output_split_list(kv->value, &ids);
			o->event_ids = calloc(ids.n ? ids.n : 1, sizeof(*o->event_ids));
			for (size_t j = 0; o->event_ids != NULL && j < ids.n; j++) {
				char *end;
				unsigned long v = strtoul(ids.v[j], &end, 10);
				if (*end != '\0' || v > 65535) {
					conf_err(errs, file, kv->line,
					    "output \"%s\": bad event id \"%s\"", co->name, ids.v[j]);
					rc = CD_ECONFIG;
					break;
				}
				o->event_ids[o->nevent_ids++] = (uint32_t)v;
			}
			conf_strv_clear(&ids);
		} else if (strcmp(kv->key, "rules") == 0) {
			if (rules_load(kv->value, &o->rules, &err) != CD_EOK) {
				conf_err(errs, file, kv->line, "output \"%s\": rules: %s",
				    co->name, err ? err : "cannot load");
				free(err);
				err = NULL;
				rc = CD_ECONFIG;
			}
		} else if (strcmp(kv->key, "batch") == 0) {
			char *end;
			unsigned long v = strtoul(kv->value, &end, 10);
			if (*end != '\0' || v < 1 || v > OUTPUT_BATCH_MAX) {
				conf_err(errs, file, kv->line,
				    "output \"%s\": batch must be 1..%d", co->name, OUTPUT_BATCH_MAX);
				rc = CD_ECONFIG;
			} else {
				o->batch = v;
			}
		}
	}
	if (o->dedup_stream) {
		struct dedup_options dopt = {
			.window_ms = (int64_t)conf->dns.dedup_window_s * 1000,
			.max_entries = conf->dns.dedup_max_entries,
			.on_evict = output_summary_emit,
			.on_evict_arg = o,
		};
		for (size_t i = 0; i < conf->dns.dedup_key.n; i++) {
			unsigned f = 0;
			if (dedup_fields_parse(conf->dns.dedup_key.v[i], &f) == CD_EOK)
				dopt.fields |= f;
		}
		if (dedup_new(&o->dedup, &dopt) != CD_EOK)
			rc = rc ? rc : -ENOMEM;
	}
	if (rc == CD_EOK) {
		rc = o->ops->create(co, &o->sink, &err);
		if (rc != CD_EOK) {
			buf_puts(errs, err ? err : "output: invalid settings");
			if (errs->len > 0 && errs->data[errs->len - 1] != '\n')
				buf_puts(errs, "\n");
			free(err);
		}
	}
	if (rc != CD_EOK) {
		output_free(o);
		return rc;
	}
	*out = o;
	return CD_EOK;
}

int
outputs_check(const struct cd_conf *conf, char **errmsg)
{
	struct buf errs;
	int rc = CD_EOK;

	buf_init(&errs, 0);
	for (size_t i = 0; i < conf->noutputs; i++) {
		struct output *o = NULL;
		int r = output_new(conf, &conf->outputs[i], &o, &errs);
		if (r != CD_EOK)
			rc = r == -ENOMEM ? r : CD_ECONFIG;
		output_free(o);
	}
	*errmsg = rc == CD_EOK ? NULL : conf_err_take(&errs);
	buf_free(&errs);
	return rc;
}

static bool
output_list_has(const struct conf_strv *l, const char *s)
{
	if (l->n == 0)
		return true;
	for (size_t i = 0; i < l->n; i++)
		if (s != NULL && strcasecmp(l->v[i], s) == 0)
			return true;
	return false;
}

static void
output_summary_emit(const struct dedup_summary *s, void *arg)
{
	struct output *o = arg;
	struct buf b;
	struct jsonw j;

	buf_init(&b, 0);
	jsonw_init(&j, &b);
	jsonw_object_begin(&j);
	jsonw_kstring(&j, "type", "dns_summary");
	jsonw_kstring(&j, "host", s->host ? s->host : "");
	if (s->image != NULL)
		jsonw_kstring(&j, "image", s->image);
	if (s->query_name != NULL)
		jsonw_kstring(&j, "query_name", s->query_name);
	jsonw_kuint(&j, "query_status", s->query_status);
	if (s->process_guid != NULL)
		jsonw_kstring(&j, "process_guid", s->process_guid);
	if (s->user != NULL)
		jsonw_kstring(&j, "user", s->user);
	jsonw_ktime(&j, "first", s->first);
	jsonw_ktime(&j, "last", s->last);
	jsonw_kuint(&j, "count", s->count);
	jsonw_object_end(&j);
	if (jsonw_finish(&j) == CD_EOK) {
		buf_append(&o->summaries, b.data, b.len + 1);	/* keep the NUL */
		o->nsummaries++;
	}
	buf_free(&b);
}

/* Release what output_read() handed out. */
static void
output_batch_clear(struct output_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		evcache_release(b->ec, b->recs[i].ref);
	free(b->recs);
	buf_free(&b->text);
	b->recs = NULL;
	b->n = 0;
}

/*
 * Read up to o->batch spool entries after the cursor. An event the cache
 * holds is taken parsed, its payload then borrowed from the cached raw XML
 * (checked to be the spooled bytes) instead of copied.
 */
static int
output_read(struct output *o, struct output_batch *b)
{
	struct evcache *ec = atomic_load(&o->all->evcache);
	struct store_txn *txn = NULL;
	struct spool_iter it = { 0 };
	struct output_rec *recs = NULL;
	uint64_t from = atomic_load(&o->sent) + 1, next = 0;
	size_t cnt = 0;
	int rc;

	b->recs = NULL;
	b->n = 0;
	b->ec = ec;
	buf_init(&b->text, 0);
	if ((rc = store_read_begin(o->all->st, &txn)) != CD_EOK)
		return rc;
	if (spool_next_seq(txn, &next) == CD_EOK)
		atomic_store(&o->all->next_seq, next);
	if ((rc = spool_iter_open(txn, &it)) != CD_EOK)
		goto out;
	recs = calloc(o->batch, sizeof(*recs));
	if (recs == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = spool_iter_seek(&it, from);
	while (rc == CD_EOK && cnt < o->batch) {
		struct spool_rec r;
		struct output_rec *or = &recs[cnt];
		if ((rc = spool_iter_next(&it, &r, NULL)) == CD_ECORRUPT) {
			log_err("output", "output=%s corrupt spool entry skipped", o->name);
			rc = CD_EOK;
			continue;
		}
		if (rc != CD_EOK)
			break;
		if (r.type == SPOOL_EVENT && ec != NULL) {
			or->cev = evcache_get(ec, r.seq, &or->ref);
			if (or->cev != NULL && (or->cev->raw_len != r.data_len ||
			    memcmp(or->cev->raw, r.data, r.data_len) != 0)) {
				log_err("output", "output=%s seq=%" PRIu64 " cached event "
				    "differs from the spool: parsed again", o->name, r.seq);
				evcache_release(ec, or->ref);
				or->ref = NULL;
				or->cev = NULL;
			}
		}
		size_t ls = strlen(r.source) + 1, lh = strlen(r.host) + 1,
		    lu = strlen(r.subscription) + 1;
		or->off = b->text.len;
		if ((rc = buf_append(&b->text, r.source, ls)) != CD_EOK ||
		    (rc = buf_append(&b->text, r.host, lh)) != CD_EOK ||
		    (rc = buf_append(&b->text, r.subscription, lu)) != CD_EOK ||
		    (or->cev == NULL && ((rc = buf_append(&b->text, r.data,
		    r.data_len)) != CD_EOK ||
		    (rc = buf_append(&b->text, "", 1)) != CD_EOK))) {
			evcache_release(ec, or->ref);
			or->ref = NULL;
			break;
		}
		or->rec = r;
		cnt++;
	}
	if (rc == CD_ENOTFOUND || cnt == o->batch)
		rc = CD_EOK;
out:
	spool_iter_close(&it);
	store_read_end(txn);
	b->recs = recs;
	b->n = cnt;
	if (rc != CD_EOK) {
		output_batch_clear(b);
		return rc;
	}
	/* The text is complete: point the records into it. */
	for (size_t i = 0; i < cnt; i++) {
		struct spool_rec *r = &recs[i].rec;
		char *d = (char *)b->text.data + recs[i].off;
		r->source = d;
		d += strlen(d) + 1;
		r->host = d;
		d += strlen(d) + 1;
		r->subscription = d;
		d += strlen(d) + 1;
		r->data = recs[i].cev != NULL ? recs[i].cev->raw : d;
		if (recs[i].cev != NULL)
			atomic_fetch_add(&o->cache_hits, 1);
		else if (r->type == SPOOL_EVENT)
			atomic_fetch_add(&o->cache_misses, 1);
	}
	return CD_EOK;
}

/* What one record becomes for this output: a message, or nothing. */
struct output_item {
	struct buf	 text;
	struct event	*ev;	/* parsed here (a cache miss), owned */
	bool		 keep;
};

static void
output_prepare(struct output *o, const struct output_rec *r, struct output_item *item,
    struct output_msg *msg)
{
	const struct spool_rec *rec = &r->rec;

	memset(msg, 0, sizeof(*msg));
	buf_init(&item->text, 0);
	item->ev = NULL;
	item->keep = false;
	msg->seq = rec->seq;
	msg->host = rec->host;
	msg->time_ms = rec->received_ms;
	msg->channel = "";
	msg->provider = "";
	msg->format = format_name(o->format);

	if (rec->type == SPOOL_ALERT) {
		if (o->format == FORMAT_RAW || !output_list_has(&o->subscriptions, rec->subscription))
			return;
		msg->kind = OUTPUT_KIND_ALERT;
		if (format_record(o->format, rec->data, rec->data_len, rec->received_ms,
		    true, &item->text) != CD_EOK) {
			atomic_fetch_add(&o->errors, 1);
			return;
		}
		item->keep = true;
		return;
	}
	if (rec->type != SPOOL_EVENT || !output_list_has(&o->subscriptions, rec->subscription))
		return;
	/* The cached event is shared with the other outputs: read only. */
	const struct event *ev = r->cev;
	if (ev == NULL) {
		if (event_parse(rec->data, rec->data_len, &item->ev) != CD_EOK)
			return;
		ev = item->ev;
	}
	if (!ev->malformed) {
		if (!output_list_has(&o->channels, ev->channel))
			return;
		if (o->nevent_ids > 0) {
			bool hit = false;
			for (size_t i = 0; i < o->nevent_ids; i++)
				hit = hit || o->event_ids[i] == ev->event_id;
			if (!hit)
				return;
		}
	}
	struct format_meta meta = { .received_ms = rec->received_ms, .output = o->name };
	if (o->rules != NULL && !ev->malformed) {
		const char *rule = NULL;
		if (rules_eval(o->rules, ev, &rule) == RULES_DROP)
			return;
		meta.rule_name = rule;
	}
	if (o->dedup != NULL && (rec->flags & SPOOL_F_DNS) && !ev->malformed) {
		struct dns_obs obs;
		if (dns_from_event(ev, &obs) == CD_EOK) {
			if (obs.time_ms > o->dedup_clock)
				o->dedup_clock = obs.time_ms;
			enum dedup_verdict v = dedup_check(o->dedup, rec->host, &obs);
			dns_obs_clear(&obs);
			if (v == DEDUP_FOLD)
				return;
			meta.dedup_first = true;
		}
	}
	if (format_event(o->format, rec, ev, &meta, &item->text) != CD_EOK) {
		log_err("output", "output=%s seq=%" PRIu64 " cannot format: skipped",
		    o->name, rec->seq);
		atomic_fetch_add(&o->errors, 1);
		return;
	}
	msg->kind = OUTPUT_KIND_EVENT;
	msg->host = ev->computer ? ev->computer : rec->host;
	if (ev->time_created_ms != 0)
		msg->time_ms = ev->time_created_ms;
	msg->channel = ev->channel ? ev->channel : "";
	msg->provider = ev->provider ? ev->provider : "";
	msg->event_id = ev->event_id;
	msg->level = ev->level;
	item->keep = true;
}

/* Hand msgs to the sink until all are confirmed or we are stopping. */
static bool
output_deliver(struct output *o, struct output_msg *msgs, size_t n)
{
	unsigned backoff = OUTPUT_BACKOFF_MIN_MS;
	size_t done = 0;

	while (done < n) {
		size_t got = 0;
		if (atomic_exchange(&o->reopen, false) && o->ops->reopen != NULL)
			o->ops->reopen(o->sink);
		int rc = o->ops->send(o->sink, msgs + done, n - done, &got);
		if (got > n - done)
			got = n - done;
		done += got;
		atomic_fetch_add(&o->delivered, got);
		if (rc == CD_EOK) {
			if (o->failing)
				log_info("output", "output=%s delivering again", o->name);
			o->failing = false;
			break;
		}
		atomic_fetch_add(&o->errors, 1);
		if (!o->failing)
			log_warn("output", "output=%s delivery failed (%s): retrying with backoff",
			    o->name, cd_strerror(rc));
		o->failing = true;
		if (atomic_load(&o->all->stop))
			return false;
		output_sleep_ms(o->all, backoff);
		backoff = backoff * 2 > OUTPUT_BACKOFF_MAX_MS ? OUTPUT_BACKOFF_MAX_MS : backoff * 2;
	}
	return !atomic_load(&o->all->stop) || done == n;
}

struct output_cursor_job {
	const char	*name;
	uint64_t	 seq;
};

static int	output_cursor_async_apply(struct store_txn *, void *);
static void	output_cursor_async_done(int, void *);

static int
output_cursor_apply(struct store_txn *txn, void *arg)
{
	struct output_cursor_job *j = arg;
	uint8_t v[8];

	for (int i = 7; i >= 0; i--)
		v[7 - i] = (uint8_t)(j->seq >> (i * 8));
	return store_put(txn, STORE_DBI_CURSORS, j->name, strlen(j->name), v, sizeof(v));
}

static int
output_cursor_async_apply(struct store_txn *txn, void *arg)
{
	struct output *o = arg;
	struct output_cursor_job j = { o->name, o->cj_seq };

	return output_cursor_apply(txn, &j);
}

/* On the writer thread, once the cursor job's commit is known. */
static void
output_cursor_async_done(int rc, void *arg)
{
	struct output *o = arg;

	if (rc == CD_EOK)
		atomic_store(&o->cursor, o->cj_seq);
	else
		log_err("output", "output=%s cannot persist its cursor: %s",
		    o->name, cd_strerror(rc));
	atomic_store(&o->cj_busy, false);
}

/* Persist what the destination confirmed, unless a job is in flight (the
 * next call after it completes takes the newest position). */
static void
output_cursor_push(struct output *o)
{
	uint64_t sent = atomic_load(&o->sent);

	if (sent <= atomic_load(&o->cursor) || atomic_exchange(&o->cj_busy, true))
		return;
	o->cj_seq = sent;
	o->cj.apply = output_cursor_async_apply;
	o->cj.done = output_cursor_async_done;
	o->cj.arg = o;
	o->cj.next = NULL;
	if (store_submit(o->all->st, &o->cj) != CD_EOK)
		atomic_store(&o->cj_busy, false);
}

/* At the output's end: wait for the job in flight, then persist the last
 * confirmed position synchronously, so a restart resends nothing needlessly. */
static void
output_cursor_final(struct output *o)
{
	while (atomic_load(&o->cj_busy)) {
		struct timespec ts = { 0, 1000000L };
		nanosleep(&ts, NULL);
	}
	uint64_t sent = atomic_load(&o->sent);
	if (sent > atomic_load(&o->cursor)) {
		struct output_cursor_job j = { o->name, sent };
		if (store_run(o->all->st, output_cursor_apply, &j) == CD_EOK)
			atomic_store(&o->cursor, sent);
	}
}

static uint64_t
output_cursor_load(struct store *st, const char *name)
{
	struct store_txn *txn;
	struct store_val v;
	uint64_t seq = 0;

	if (store_read_begin(st, &txn) != CD_EOK)
		return 0;
	if (store_get(txn, STORE_DBI_CURSORS, name, strlen(name), &v) == CD_EOK &&
	    v.len == 8)
		for (int i = 0; i < 8; i++)
			seq = (seq << 8) | ((const uint8_t *)v.data)[i];
	store_read_end(txn);
	return seq;
}

/* Send the summaries of closed dedup windows. */
static void
output_flush_summaries(struct output *o)
{
	if (o->nsummaries == 0)
		return;
	struct output_msg *msgs = calloc(o->nsummaries, sizeof(*msgs));
	if (msgs == NULL)
		return;
	struct buf *texts = calloc(o->nsummaries, sizeof(*texts));
	if (texts == NULL) {
		free(msgs);
		return;
	}
	const char *p = (const char *)o->summaries.data;
	size_t n = 0;
	for (size_t i = 0; i < o->nsummaries; i++) {
		size_t plen = strlen(p);
		buf_init(&texts[n], 0);
		if (o->format == FORMAT_RAW || format_record(o->format, p, plen,
		    timeparse_now_ms(), false, &texts[n]) != CD_EOK) {
			buf_free(&texts[n]);
			p += plen + 1;
			continue;
		}
		msgs[n].kind = OUTPUT_KIND_SUMMARY;
		msgs[n].data = (const char *)texts[n].data;
		msgs[n].len = texts[n].len;
		msgs[n].host = "";
		msgs[n].channel = "";
		msgs[n].provider = "";
		msgs[n].time_ms = timeparse_now_ms();
		msgs[n].format = format_name(o->format);
		p += plen + 1;
		n++;
	}
	if (n > 0)
		output_deliver(o, msgs, n);
	for (size_t i = 0; i < n; i++)
		buf_free(&texts[i]);
	free(texts);
	free(msgs);
	buf_reset(&o->summaries);
	o->nsummaries = 0;
}

/* The cached events every output has passed are of no more use. */
static void
output_cache_trim(struct outputs *all)
{
	struct evcache *ec = atomic_load(&all->evcache);
	uint64_t upto = UINT64_MAX, lead = 0;

	if (ec == NULL)
		return;
	for (size_t i = 0; i < all->n; i++) {
		uint64_t c = atomic_load(&all->v[i]->sent);
		if (c < upto)
			upto = c;
		if (c > lead)
			lead = c;
	}
	evcache_trim(ec, upto, lead);
}

static void *
output_thread(void *arg)
{
	struct output *o = arg;
	struct outputs *all = o->all;

	thread_name("cd-output");
	thread_deferrable_hint();
	o->last_activity_ms = timeparse_now_ms();
	while (!atomic_load(&all->stop)) {
		struct output_batch batch;
		int rc = output_read(o, &batch);
		struct output_rec *recs = batch.recs;
		size_t n = batch.n;
		if (rc != CD_EOK) {
			log_err("output", "output=%s cannot read the spool: %s", o->name,
			    cd_strerror(rc));
			output_sleep_ms(all, 1000);
			continue;
		}
		if (n == 0) {
			output_batch_clear(&batch);
			output_cursor_push(o);
			/* Nobody else frees what the cache dropped while no
			 * source sends (the HTTP threads reap it otherwise). */
			evcache_reap(atomic_load(&all->evcache));
			/* Idle: close dedup windows by the event clock, and all of
			 * them once nothing arrived for a whole window. */
			if (o->dedup != NULL) {
				int64_t idle = timeparse_now_ms() - o->last_activity_ms;
				dedup_expire(o->dedup, idle > 900000 ? INT64_MAX : o->dedup_clock,
				    output_summary_emit, o);
				output_flush_summaries(o);
			}
			output_sleep_ms(all, OUTPUT_IDLE_MS);
			continue;
		}
		o->last_activity_ms = timeparse_now_ms();
		struct output_item *items = calloc(n, sizeof(*items));
		struct output_msg *msgs = calloc(n, sizeof(*msgs));
		size_t nmsg = 0;
		bool ok = items != NULL && msgs != NULL;
		for (size_t i = 0; ok && i < n; i++) {
			output_prepare(o, &recs[i], &items[i], &msgs[nmsg]);
			if (items[i].keep) {
				msgs[nmsg].data = (const char *)items[i].text.data;
				msgs[nmsg].len = items[i].text.len;
				nmsg++;
			}
		}
		if (ok && o->dedup != NULL)
			dedup_expire(o->dedup, o->dedup_clock, output_summary_emit, o);
		if (ok && nmsg > 0)
			ok = output_deliver(o, msgs, nmsg);
		if (ok)
			output_flush_summaries(o);
		if (ok) {
			atomic_store(&o->sent, recs[n - 1].rec.seq);
			output_cursor_push(o);
			output_cache_trim(all);
		}
		for (size_t i = 0; items != NULL && i < n; i++) {
			buf_free(&items[i].text);
			event_free(items[i].ev);
		}
		output_batch_clear(&batch);
		free(items);
		free(msgs);
		if (!ok)
			output_sleep_ms(all, 1000);
	}
	output_cursor_final(o);
	return NULL;
}

/*
 * Delete spool entries every output has passed (all of them when there is
 * no output: the spool exists only for outputs; the index and registries
 * keep their own data). Bounded transactions keep the writer responsive.
 */
struct output_prune_job {
	uint64_t upto;
	uint64_t deleted;
	uint64_t (*floor)(void *);
	void	*floor_arg;
};

static int
output_prune_apply(struct store_txn *txn, void *arg)
{
	struct output_prune_job *j = arg;
	struct store_iter *it = NULL;
	int rc;

	j->deleted = 0;
	/* Read here, on the writer thread: every committed batch's DNS
	 * queries have been handed to the indexer by now. */
	if (j->floor != NULL) {
		uint64_t f = j->floor(j->floor_arg);
		if (j->upto > f)
			j->upto = f;
	}
	if ((rc = store_iter_open(txn, STORE_DBI_SPOOL, &it)) != CD_EOK)
		return rc;
	for (rc = store_iter_seek(it, NULL, 0); rc == CD_EOK && j->deleted < OUTPUT_PRUNE_MAX;) {
		struct store_val k, v;
		uint64_t first = 0, last = 0;
		store_iter_get(it, &k, &v);
		/* An entry goes once every record in it is passed. An
		 * unreadable one goes with what comes before it. */
		if (spool_entry_span(&k, &v, &first, &last) != CD_EOK)
			last = first;
		if (last > j->upto)
			break;
		if ((rc = store_iter_del(it)) != CD_EOK)
			break;
		j->deleted++;
		rc = store_iter_next(it);
	}
	store_iter_close(it);
	return rc == CD_ENOTFOUND || rc == CD_EOK ? CD_EOK : rc;
}

/** Prune what every output passed; called periodically by outputs_prune(). */
int
outputs_prune(struct outputs *all)
{
	uint64_t upto = UINT64_MAX;
	struct store_txn *txn;
	uint64_t next = 0;

	if (all == NULL)
		return CD_EOK;
	for (size_t i = 0; i < all->n; i++) {
		uint64_t c = atomic_load(&all->v[i]->cursor);
		if (c < upto)
			upto = c;
	}
	if (store_read_begin(all->st, &txn) == CD_EOK) {
		if (spool_next_seq(txn, &next) == CD_EOK)
			atomic_store(&all->next_seq, next);
		store_read_end(txn);
	}
	if (upto == UINT64_MAX)
		upto = next > 0 ? next - 1 : 0;
	pthread_mutex_lock(&all->prune_lock);
	int rc = CD_EOK;
	while (upto > all->pruned_to && !atomic_load(&all->stop)) {
		struct output_prune_job j = {
			.upto = upto, .floor = all->prune_floor, .floor_arg = all->prune_floor_arg,
		};
		if ((rc = store_run(all->st, output_prune_apply, &j)) != CD_EOK)
			break;
		if (j.deleted < OUTPUT_PRUNE_MAX) {
			all->pruned_to = j.upto;
			break;
		}
	}
	pthread_mutex_unlock(&all->prune_lock);
	return rc;
}

int
outputs_start(struct outputs **out, struct store *st, const struct cd_conf *conf,
    char **errmsg)
{
	struct outputs *all = calloc(1, sizeof(*all));
	struct buf errs;
	int rc = CD_EOK;

	*errmsg = NULL;
	if (all == NULL)
		return -ENOMEM;
	buf_init(&errs, 0);
	all->st = st;
	all->spool_cap = conf->store.spool_max_entries ? conf->store.spool_max_entries :
	    OUTPUT_SPOOL_CAP;
	pthread_mutex_init(&all->prune_lock, NULL);
	all->v = calloc(conf->noutputs ? conf->noutputs : 1, sizeof(*all->v));
	if (all->v == NULL)
		rc = -ENOMEM;
	for (size_t i = 0; rc == CD_EOK && i < conf->noutputs; i++) {
		struct output *o = NULL;
		rc = output_new(conf, &conf->outputs[i], &o, &errs);
		if (rc != CD_EOK)
			break;
		o->all = all;
		atomic_store(&o->cursor, output_cursor_load(st, o->name));
		atomic_store(&o->sent, atomic_load(&o->cursor));
		all->v[all->n++] = o;
	}
	for (size_t i = 0; rc == CD_EOK && i < all->n; i++) {
		if (pthread_create(&all->v[i]->thread, NULL, output_thread, all->v[i]) != 0)
			rc = -errno;
		else
			all->v[i]->started = true;
		log_info("output", "output=%s (%s, %s%s) starts after spool seq %" PRIu64,
		    all->v[i]->name, all->v[i]->ops->type, format_name(all->v[i]->format),
		    all->v[i]->dedup_stream ? ", dedup" : "",
		    (uint64_t)atomic_load(&all->v[i]->cursor));
	}
	if (rc != CD_EOK) {
		*errmsg = conf_err_take(&errs);
		buf_free(&errs);
		outputs_stop(all);
		return rc;
	}
	buf_free(&errs);
	*out = all;
	return CD_EOK;
}

void
outputs_set_evcache(struct outputs *all, struct evcache *ec)
{
	evcache_set_enabled(ec, all != NULL && all->n > 0);
	if (all != NULL)
		atomic_store(&all->evcache, ec);
}

void
outputs_set_prune_floor(struct outputs *all, uint64_t (*floor)(void *), void *arg)
{
	if (all == NULL)
		return;
	all->prune_floor = floor;
	all->prune_floor_arg = arg;
}

void
outputs_reopen(struct outputs *all)
{
	for (size_t i = 0; all != NULL && i < all->n; i++)
		atomic_store(&all->v[i]->reopen, true);
}

void
outputs_stop(struct outputs *all)
{
	if (all == NULL)
		return;
	atomic_store(&all->stop, true);
	/* Every thread first: a running one reads the others' progress
	 * (output_cache_trim), so none is freed while one still runs. */
	for (size_t i = 0; i < all->n; i++)
		if (all->v[i]->started)
			pthread_join(all->v[i]->thread, NULL);
	for (size_t i = 0; i < all->n; i++)
		output_free(all->v[i]);
	pthread_mutex_destroy(&all->prune_lock);
	free(all->v);
	free(all);
}

void
outputs_stats(struct outputs *all, struct api_stats *s)
{
	struct store_txn *txn;
	uint64_t next = all ? atomic_load(&all->next_seq) : 0;

	/* The spool's head now: records appended since an output last
	 * looked (the indexer's alerts, say) are backlog too. */
	if (all != NULL && store_read_begin(all->st, &txn) == CD_EOK) {
		uint64_t head;
		if (spool_next_seq(txn, &head) == CD_EOK && head > next)
			next = head;
		store_read_end(txn);
	}

	for (size_t i = 0; all != NULL && i < all->n; i++) {
		struct output *o = all->v[i];
		uint64_t c = atomic_load(&o->cursor);
		if (s->noutputs < API_OUTPUTS_MAX) {
			struct api_output_stats *os = &s->outputs[s->noutputs++];
			snprintf(os->name, sizeof(os->name), "%s", o->name);
			os->backlog = next > c + 1 ? next - 1 - c : 0;
			os->delivered = atomic_load(&o->delivered);
			os->errors = atomic_load(&o->errors);
			os->cache_hits = atomic_load(&o->cache_hits);
			os->cache_misses = atomic_load(&o->cache_misses);
		}
		if (o->dedup != NULL) {
			struct dedup_counters dc;
			dedup_get_counters(o->dedup, &dc);
			s->dns_forwarded += dc.forwarded;
			s->dns_folded += dc.folded;
			s->dns_summaries += dc.summaries;
		}
	}
}

bool
outputs_spool_full(struct outputs *all)
{
	uint64_t next, min = UINT64_MAX;

	if (all == NULL || all->n == 0)
		return false;
	/* The spool's head, read now: an output stuck retrying its
	 * destination does not read the spool, so its own view is stale. */
	struct store_txn *txn;
	if (store_read_begin(all->st, &txn) == CD_EOK) {
		if (spool_next_seq(txn, &next) == CD_EOK)
			atomic_store(&all->next_seq, next);
		store_read_end(txn);
	}
	next = atomic_load(&all->next_seq);
	for (size_t i = 0; i < all->n; i++) {
		uint64_t c = atomic_load(&all->v[i]->cursor);
		if (c < min)
			min = c;
	}
	return next > min + 1 && next - 1 - min > all->spool_cap;
}
