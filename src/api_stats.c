/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "api.h"
#include "api_int.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "store.h"

/* The daemon's figures and the store's, read once per request. */
struct api_figures {
	struct api_stats	 s;
	struct store_stats	 st;
	bool			 have_store;	/* st is valid */
	bool			 writable;
};

static void
api_stats_gather(const struct api_ctx *ctx, struct api_figures *f)
{
	memset(f, 0, sizeof(*f));
	if (ctx->source.stats != NULL)
		ctx->source.stats(ctx->source.arg, &f->s);
	if (f->s.noutputs > API_OUTPUTS_MAX)
		f->s.noutputs = API_OUTPUTS_MAX;
	for (size_t i = 0; i < f->s.noutputs; i++)
		f->s.outputs[i].name[sizeof(f->s.outputs[i].name) - 1] = '\0';
	if (ctx->store != NULL) {
		f->have_store = store_stats(ctx->store, &f->st) == CD_EOK;
		/* Writable means the last commit did not fail for lack of
		 * space: the same test the listener uses to refuse batches. */
		f->writable = !store_is_full(ctx->store);
	}
}

/* Share of deduplicated DNS events that were folded, or -1 when none. */
static double
api_dedup_ratio(const struct api_stats *s)
{
	uint64_t total = s->dns_forwarded + s->dns_folded;

	return total == 0 ? -1.0 : (double)s->dns_folded / (double)total;
}

void
api_stats_json(const struct api_ctx *ctx, struct api_response *r)
{
	struct api_figures f;
	struct jsonw j;
	double ratio;

	api_stats_gather(ctx, &f);
	jsonw_init(&j, &r->body);
	jsonw_object_begin(&j);
	jsonw_key(&j, "events");
	jsonw_object_begin(&j);
	jsonw_kuint(&j, "received", f.s.events_received);
	jsonw_kuint(&j, "acked", f.s.events_acked);
	jsonw_kuint(&j, "rejected", f.s.events_rejected);
	jsonw_kuint(&j, "duplicate", f.s.events_duplicate);
	jsonw_kuint(&j, "malformed", f.s.events_malformed);
	jsonw_kuint(&j, "foreign", f.s.events_foreign);
	jsonw_object_end(&j);
	jsonw_key(&j, "wef");
	jsonw_object_begin(&j);
	jsonw_kuint(&j, "requests", f.s.wef_requests);
	jsonw_kuint(&j, "enumerates", f.s.wef_enumerates);
	jsonw_kuint(&j, "heartbeats", f.s.wef_heartbeats);
	jsonw_kuint(&j, "batches_acked", f.s.wef_batches_acked);
	jsonw_kuint(&j, "batches_refused", f.s.wef_batches_refused);
	jsonw_kuint(&j, "bad_requests", f.s.wef_bad_requests);
	jsonw_object_end(&j);
	jsonw_key(&j, "dns");
	jsonw_object_begin(&j);
	jsonw_kuint(&j, "events", f.s.dns_events);
	jsonw_kuint(&j, "index_pending", f.s.dns_index_pending);
	jsonw_kuint(&j, "forwarded", f.s.dns_forwarded);
	jsonw_kuint(&j, "folded", f.s.dns_folded);
	jsonw_kuint(&j, "summaries", f.s.dns_summaries);
	jsonw_key(&j, "dedup_ratio");
	if ((ratio = api_dedup_ratio(&f.s)) < 0)
		jsonw_null(&j);
	else
		jsonw_double(&j, ratio);
	jsonw_object_end(&j);
	jsonw_key(&j, "outputs");
	jsonw_array_begin(&j);
	for (size_t i = 0; i < f.s.noutputs; i++) {
		const struct api_output_stats *o = &f.s.outputs[i];

		jsonw_object_begin(&j);
		jsonw_kstring(&j, "name", o->name);
		jsonw_kuint(&j, "backlog", o->backlog);
		jsonw_kuint(&j, "delivered", o->delivered);
		jsonw_kuint(&j, "errors", o->errors);
		jsonw_kuint(&j, "cache_hits", o->cache_hits);
		jsonw_kuint(&j, "cache_misses", o->cache_misses);
		jsonw_object_end(&j);
	}
	jsonw_array_end(&j);
	jsonw_key(&j, "event_cache");
	if (!f.s.have_cache)
		jsonw_null(&j);
	else {
		jsonw_object_begin(&j);
		jsonw_kuint(&j, "entries", f.s.cache.entries);
		jsonw_kuint(&j, "bytes", f.s.cache.bytes);
		jsonw_kuint(&j, "puts", f.s.cache.puts);
		jsonw_kuint(&j, "refused", f.s.cache.refused);
		jsonw_kuint(&j, "refused_lag", f.s.cache.refused_lag);
		jsonw_kuint(&j, "evicted", f.s.cache.evicted);
		jsonw_object_end(&j);
	}
	jsonw_kbool(&j, "listeners_up", f.s.listeners_up);
	jsonw_key(&j, "store");
	if (!f.have_store)
		jsonw_null(&j);
	else {
		jsonw_object_begin(&j);
		jsonw_kbool(&j, "writable", f.writable);
		jsonw_kuint(&j, "map_size", f.st.map_size);
		jsonw_kuint(&j, "used_bytes", f.st.used_bytes);
		jsonw_kuint(&j, "page_size", f.st.page_size);
		jsonw_kuint(&j, "commits", f.st.commits);
		jsonw_kuint(&j, "jobs", f.st.jobs);
		jsonw_kuint(&j, "failures", f.st.failures);
		jsonw_key(&j, "entries");
		jsonw_object_begin(&j);
		for (int d = 0; d < STORE_DBI_COUNT; d++)
			jsonw_kuint(&j, store_dbi_name((enum store_dbi)d),
			    f.st.entries[d]);
		jsonw_object_end(&j);
		jsonw_object_end(&j);
	}
	jsonw_object_end(&j);
	api_send_json(r, &j);
}

/* A label value in the exposition format: \, " and newline escaped. */
static void
api_metrics_label(struct buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_append(b, v, 1);
	}
}

static void
api_metric(struct buf *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help,
	    name, type, name, (unsigned long long)v);
}

/* A labelled family: one sample per output. */
static void
api_metric_outputs(struct buf *b, const struct api_stats *s, const char *name,
    const char *type, const char *help, size_t field)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (size_t i = 0; i < s->noutputs; i++) {
		const struct api_output_stats *o = &s->outputs[i];
		uint64_t v;

		memcpy(&v, (const char *)o + field, sizeof(v));
		buf_printf(b, "%s{output=\"", name);
		api_metrics_label(b, o->name);
		buf_printf(b, "\"} %llu\n", (unsigned long long)v);
	}
}

void
api_metrics(const struct api_ctx *ctx, struct api_response *r)
{
	struct buf *b = &r->body;
	struct api_figures f;

	api_stats_gather(ctx, &f);
	buf_reset(b);
	api_metric(b, "collectord_events_received_total", "counter",
	    "Events received in Events batches.", f.s.events_received);
	api_metric(b, "collectord_events_acked_total", "counter",
	    "Events in batches acknowledged after commit.", f.s.events_acked);
	api_metric(b, "collectord_events_rejected_total", "counter",
	    "Events in batches refused.", f.s.events_rejected);
	api_metric(b, "collectord_wef_requests_total", "counter",
	    "WEF requests decoded and parsed (authenticated).", f.s.wef_requests);
	api_metric(b, "collectord_wef_batches_acked_total", "counter",
	    "Events batches acknowledged.", f.s.wef_batches_acked);
	api_metric(b, "collectord_wef_batches_refused_total", "counter",
	    "Events batches refused with 503.", f.s.wef_batches_refused);
	api_metric(b, "collectord_wef_bad_requests_total", "counter",
	    "Malformed or refused WEF requests.", f.s.wef_bad_requests);
	api_metric(b, "collectord_events_duplicate_total", "counter",
	    "Re-delivered records not counted again.", f.s.events_duplicate);
	api_metric(b, "collectord_events_foreign_total", "counter",
	    "Events naming another host than their source.", f.s.events_foreign);
	api_metric(b, "collectord_dns_events_total", "counter",
	    "Sysmon DNS queries received.", f.s.dns_events);
	api_metric(b, "collectord_dns_index_pending", "gauge",
	    "Sysmon DNS queries acknowledged and not yet indexed.", f.s.dns_index_pending);
	api_metric(b, "collectord_dns_forwarded_total", "counter",
	    "DNS events passed to the SIEM stream.", f.s.dns_forwarded);
	api_metric(b, "collectord_dns_folded_total", "counter",
	    "DNS events folded by dedup.", f.s.dns_folded);
	api_metric(b, "collectord_dns_summaries_total", "counter",
	    "Dedup summary records emitted.", f.s.dns_summaries);
	api_metric_outputs(b, &f.s, "collectord_output_backlog", "gauge",
	    "Spool entries not yet delivered by the output.",
	    offsetof(struct api_output_stats, backlog));
	api_metric_outputs(b, &f.s, "collectord_output_delivered_total",
	    "counter", "Records delivered by the output.",
	    offsetof(struct api_output_stats, delivered));
	api_metric_outputs(b, &f.s, "collectord_output_errors_total", "counter",
	    "Delivery failures of the output.",
	    offsetof(struct api_output_stats, errors));
	if (f.s.have_cache) {
		api_metric(b, "collectord_event_cache_entries", "gauge",
		    "Parsed events held for the outputs.", f.s.cache.entries);
		api_metric(b, "collectord_event_cache_bytes", "gauge",
		    "Estimated memory of the parsed events held.", f.s.cache.bytes);
		api_metric(b, "collectord_event_cache_refused_lag_total", "counter",
		    "Parsed events not kept because every output was behind "
		    "all the cache held.", f.s.cache.refused_lag);
	}
	api_metric(b, "collectord_listeners_up", "gauge",
	    "1 when every configured listener runs.", f.s.listeners_up);
	api_metric(b, "collectord_store_writable", "gauge",
	    "1 when the store accepts commits.", f.writable);
	if (f.have_store) {
		api_metric(b, "collectord_store_map_bytes", "gauge",
		    "Bytes mapped by the store.", f.st.map_size);
		api_metric(b, "collectord_store_used_bytes", "gauge",
		    "Bytes of store pages in use.", f.st.used_bytes);
		api_metric(b, "collectord_store_commits_total", "counter",
		    "Write transactions committed.", f.st.commits);
		api_metric(b, "collectord_store_jobs_total", "counter",
		    "Store jobs committed.", f.st.jobs);
		api_metric(b, "collectord_store_job_failures_total", "counter",
		    "Store jobs that failed.", f.st.failures);
		buf_puts(b, "# HELP collectord_store_entries Entries per "
		    "store database.\n# TYPE collectord_store_entries gauge\n");
		for (int d = 0; d < STORE_DBI_COUNT; d++)
			buf_printf(b, "collectord_store_entries{db=\"%s\"} %llu\n",
			    store_dbi_name((enum store_dbi)d),
			    (unsigned long long)f.st.entries[d]);
	}
	/* The body cap is far above this; a failed append shows as a
	 * truncated scrape, which Prometheus reports as an error. */
	r->status = 200;
	r->content_type = API_CTYPE_METRICS;
}

void
api_healthz(const struct api_ctx *ctx, struct api_response *r)
{
	struct api_figures f;
	struct jsonw j;
	bool ok;

	api_stats_gather(ctx, &f);
	ok = f.writable && f.s.listeners_up;
	jsonw_init(&j, &r->body);
	jsonw_object_begin(&j);
	jsonw_kstring(&j, "status", ok ? "ok" : "unavailable");
	jsonw_kbool(&j, "store_writable", f.writable);
	jsonw_kbool(&j, "listeners_up", f.s.listeners_up);
	jsonw_object_end(&j);
	api_send_json(r, &j);
	if (!ok)
		r->status = 503;
}

static void
api_subscription_one(void *fnarg, const struct api_subscription *s)
{
	struct jsonw *j = fnarg;

	jsonw_object_begin(j);
	jsonw_kstring(j, "id", s->id);
	jsonw_kstring(j, "name", s->name);
	jsonw_kstring(j, "version", s->version);
	jsonw_kbool(j, "enabled", s->enabled);
	jsonw_kuint(j, "sources", s->sources);
	jsonw_object_end(j);
}

void
api_subscriptions(const struct api_ctx *ctx, struct api_response *r)
{
	struct jsonw j;

	jsonw_init(&j, &r->body);
	jsonw_object_begin(&j);
	jsonw_key(&j, "subscriptions");
	jsonw_array_begin(&j);
	if (ctx->source.subscriptions != NULL)
		ctx->source.subscriptions(ctx->source.arg,
		    api_subscription_one, &j);
	jsonw_array_end(&j);
	jsonw_object_end(&j);
	api_send_json(r, &j);
}
