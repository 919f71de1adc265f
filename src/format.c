/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "format.h"
#include "json.h"
#include "spool.h"

static int	format_json_event(const struct spool_rec *, const struct event *,
		    const struct format_meta *, struct buf *);
static void	format_json_collector(struct jsonw *, const struct spool_rec *,
		    const struct event *, const struct format_meta *);
static void	format_json_data(struct jsonw *, const struct event *);
static uint32_t	format_hash(const char *);
static void	format_truncate(struct buf *, size_t);
static int	format_record_type(const char *, size_t, char *, size_t);

static const char *const format_names[] = {
	[FORMAT_RAW] = "raw",
	[FORMAT_JSON] = "json",
	[FORMAT_ECS] = "ecs",
};

int
format_parse(const char *name, enum format_kind *out)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(*format_names); i++) {
		if (name != NULL && strcmp(name, format_names[i]) == 0) {
			*out = (enum format_kind)i;
			return CD_EOK;
		}
	}
	return CD_EPARSE;
}

const char *
format_name(enum format_kind f)
{
	if ((size_t)f >= sizeof(format_names) / sizeof(*format_names))
		return "?";
	return format_names[f];
}

int
format_event(enum format_kind f, const struct spool_rec *rec,
    const struct event *ev, const struct format_meta *meta, struct buf *out)
{
	static const struct format_meta none;

	if (meta == NULL)
		meta = &none;
	switch (f) {
	case FORMAT_RAW:
		/* The bytes as received: what Splunk's Sysmon add-on parses. */
		return buf_append(out, rec->data, rec->data_len);
	case FORMAT_JSON:
		return format_json_event(rec, ev, meta, out);
	case FORMAT_ECS:
		return format_ecs_event(rec, ev, meta, out);
	}
	return -EINVAL;
}

/* FNV-1a (http://www.isthe.com/chongo/tech/comp/fnv/), for name
 * comparisons only. */
static uint32_t
format_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* Drop what a failed document appended to out (kept NUL-terminated). */
static void
format_truncate(struct buf *out, size_t len)
{
	out->len = len;
	if (out->data != NULL)
		out->data[len] = '\0';
}

/*
 * The flat JSON form (docs/formats.md). Names are stable: a field that is
 * absent from the event is left out, never renamed. The document is
 * written straight into out, which is cut back to its old length on
 * failure, so a failure leaves out as it was (a scratch buffer cost a
 * malloc, reallocs and a copy per event).
 */
static int
format_json_event(const struct spool_rec *rec, const struct event *ev,
    const struct format_meta *meta, struct buf *out)
{
	struct jsonw j;
	char ts[JSONW_TIME_LEN];
	size_t start = out->len;
	int rc;

	/* The document is about as long as the event XML: one allocation
	 * instead of a chain of reallocs (buf_reserve in the profile). */
	(void)buf_reserve(out, rec->data_len + 512);
	jsonw_init(&j, out);
	jsonw_object_begin(&j);
	jsonw_kstring(&j, "type", "event");
	if (ev->malformed) {
		jsonw_kbool(&j, "malformed", true);
		if (ev->error != NULL)
			jsonw_kstring(&j, "error", ev->error);
		jsonw_key(&j, "raw");
		jsonw_string_n(&j, rec->data, rec->data_len);
		format_json_collector(&j, rec, ev, meta);
		jsonw_object_end(&j);
		goto out;
	}
	if (ev->provider != NULL)
		jsonw_kstring(&j, "provider", ev->provider);
	if (ev->provider_guid != NULL)
		jsonw_kstring(&j, "provider_guid", ev->provider_guid);
	if (ev->has_event_id)
		jsonw_kuint(&j, "event_id", ev->event_id);
	jsonw_kuint(&j, "version", ev->version);
	jsonw_kuint(&j, "level", ev->level);
	jsonw_kuint(&j, "task", ev->task);
	jsonw_kuint(&j, "opcode", ev->opcode);
	if (ev->keywords != NULL)
		jsonw_kstring(&j, "keywords", ev->keywords);
	/* An unparsable or out-of-range time is left out rather than failing
	 * the whole event (the raw text keeps it). */
	if (ev->time_created_ms != 0 &&
	    jsonw_time_format(ev->time_created_ms, ts) == CD_EOK)
		jsonw_kstring(&j, "time_created", ts);
	if (ev->has_record_id)
		jsonw_kuint(&j, "record_id", ev->record_id);
	jsonw_kuint(&j, "process_id", ev->process_id);
	jsonw_kuint(&j, "thread_id", ev->thread_id);
	if (ev->channel != NULL)
		jsonw_kstring(&j, "channel", ev->channel);
	if (ev->computer != NULL)
		jsonw_kstring(&j, "computer", ev->computer);
	if (ev->user_sid != NULL)
		jsonw_kstring(&j, "user_sid", ev->user_sid);
	format_json_data(&j, ev);
	format_json_collector(&j, rec, ev, meta);
	jsonw_object_end(&j);
out:
	rc = jsonw_finish(&j);
	if (rc != CD_EOK)
		format_truncate(out, start);
	return rc;
}

/*
 * EventData by name. A name written twice (UserData leaves can repeat)
 * would make a JSON object with duplicate members, which readers resolve
 * differently; the later ones get "_2", "_3", ... so nothing is lost.
 */
static void
format_json_data(struct jsonw *j, const struct event *ev)
{
	char name[256];
	/* Names are compared by a hash first: the pairwise strcmp() was 13%
	 * of the output thread in the profile (20-odd fields per event). */
	uint32_t hs[64];
	size_t nh = ev->ndata < 64 ? ev->ndata : 64;

	for (size_t i = 0; i < nh; i++)
		hs[i] = format_hash(ev->data[i].name ? ev->data[i].name : "");
	jsonw_key(j, "event_data");
	jsonw_object_begin(j);
	for (size_t i = 0; i < ev->ndata; i++) {
		const char *n = ev->data[i].name ? ev->data[i].name : "";
		unsigned dup = 1;
		for (size_t k = 0; k < i; k++)
			if ((i >= nh || hs[k] == hs[i]) && ev->data[k].name != NULL &&
			    strcmp(ev->data[k].name, n) == 0)
				dup++;
		if (dup > 1) {
			snprintf(name, sizeof(name), "%s_%u", n, dup);
			n = name;
		}
		jsonw_kstring(j, n, ev->data[i].value ? ev->data[i].value : "");
	}
	jsonw_object_end(j);
}

static void
format_json_collector(struct jsonw *j, const struct spool_rec *rec,
    const struct event *ev, const struct format_meta *meta)
{
	char ts[JSONW_TIME_LEN];
	const char *rule = meta->rule_name ? meta->rule_name : ev->rule_name;

	jsonw_key(j, "collector");
	jsonw_object_begin(j);
	jsonw_kstring(j, "source", rec->source ? rec->source : "");
	jsonw_kstring(j, "host", rec->host ? rec->host : "");
	jsonw_kstring(j, "subscription", rec->subscription ? rec->subscription : "");
	if (meta->output != NULL)
		jsonw_kstring(j, "output", meta->output);
	int64_t rcv = meta->received_ms ? meta->received_ms : rec->received_ms;
	if (jsonw_time_format(rcv, ts) == CD_EOK)
		jsonw_kstring(j, "received", ts);
	jsonw_kuint(j, "seq", rec->seq);
	jsonw_kbool(j, "malformed", ev->malformed || (rec->flags & SPOOL_F_MALFORMED));
	jsonw_kbool(j, "foreign", (rec->flags & SPOOL_F_FOREIGN) != 0);
	if (rule != NULL)
		jsonw_kstring(j, "rule_name", rule);
	if (meta->dedup_first)
		jsonw_kstring(j, "dedup", "first");
	jsonw_object_end(j);
}

/*
 * The value of the top-level "type" member of a JSON object written by
 * the collector (string values without escapes in the name). A small
 * scanner, not a parser: it tracks strings and nesting only so that a
 * "type" inside a nested object is not taken.
 */
static int
format_record_type(const char *s, size_t len, char *type, size_t tsz)
{
	size_t i = 0;
	int depth = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	if (i >= len || s[i] != '{')
		return CD_EPARSE;
	for (; i < len; i++) {
		char c = s[i];
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == '"') {
			size_t b = ++i;
			while (i < len && s[i] != '"')
				i += s[i] == '\\' ? 2 : 1;
			if (i >= len)
				return CD_EPARSE;
			size_t e = i;
			if (depth != 1 || e - b != 4 || memcmp(s + b, "type", 4) != 0)
				continue;
			size_t k = i + 1;
			while (k < len && (s[k] == ' ' || s[k] == ':'))
				k++;
			if (k >= len || s[k] != '"')
				continue;
			size_t vb = ++k;
			while (k < len && s[k] != '"' && s[k] != '\\')
				k++;
			if (k >= len || s[k] != '"' || k - vb >= tsz || k == vb)
				return CD_EPARSE;
			memcpy(type, s + vb, k - vb);
			type[k - vb] = '\0';
			return CD_EOK;
		}
	}
	return CD_EPARSE;
}

int
format_record(enum format_kind f, const char *json, size_t len, int64_t time_ms,
    bool alert, struct buf *out)
{
	char type[64], dataset[80], ts[JSONW_TIME_LEN];
	struct buf tmp;
	struct jsonw j;
	int rc;

	if (f == FORMAT_RAW)
		return CD_EUNSUPPORTED;
	if ((rc = format_record_type(json, len, type, sizeof(type))) != CD_EOK)
		return rc;
	if (f == FORMAT_JSON)
		return buf_append(out, json, len);
	if (jsonw_time_format(time_ms, ts) != CD_EOK)
		return -ERANGE;
	snprintf(dataset, sizeof(dataset), "collectord.%s", type);
	buf_init(&tmp, out->max);
	jsonw_init(&j, &tmp);
	jsonw_object_begin(&j);
	jsonw_kstring(&j, "@timestamp", ts);
	jsonw_key(&j, "ecs");
	jsonw_object_begin(&j);
	jsonw_kstring(&j, "version", "8.0.0");
	jsonw_object_end(&j);
	jsonw_key(&j, "event");
	jsonw_object_begin(&j);
	jsonw_kstring(&j, "created", ts);
	jsonw_kstring(&j, "dataset", dataset);
	jsonw_kstring(&j, "ingested", ts);
	jsonw_kstring(&j, "kind", alert ? "alert" : "metric");
	jsonw_kstring(&j, "module", "collectord");
	jsonw_object_end(&j);
	jsonw_object_end(&j);
	rc = jsonw_finish(&j);
	/* Splice the record in verbatim as "collectord": it is already JSON
	 * written by jsonw, and re-parsing it would need a JSON reader the
	 * daemon does not link. */
	if (rc == CD_EOK && tmp.len > 0) {
		tmp.len--;	/* drop the closing brace */
		if ((rc = buf_puts(&tmp, ",\"collectord\":")) == CD_EOK &&
		    (rc = buf_append(&tmp, json, len)) == CD_EOK &&
		    (rc = buf_puts(&tmp, "}")) == CD_EOK)
			rc = buf_append(out, tmp.data, tmp.len);
	}
	buf_free(&tmp);
	return rc;
}
