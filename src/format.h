/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Event formats for the outputs: the raw XML as received, a flat JSON
 * object with stable field names (docs/formats.md), or an Elastic Common
 * Schema document as Elastic's own Sysmon integration produces it.
 */
#ifndef CD_FORMAT_H
#define CD_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

struct buf;
struct event;
struct spool_rec;

enum format_kind {
	FORMAT_RAW,
	FORMAT_JSON,
	FORMAT_ECS,
};

/** What the output knows about an event beyond the spool record. */
struct format_meta {
	int64_t		 received_ms;	/**< when the collector received it */
	const char	*rule_name;	/**< Sysmon RuleName from the output's rule file, or NULL */
	bool		 dedup_first;	/**< a dedup-stream output forwarded this as the
					  first of its window; repeats come as a summary */
	const char	*output;	/**< the output's name, or NULL (json: collector.output) */
};

/** "raw", "json", "ecs" -> kind. CD_EOK or CD_EPARSE. */
int format_parse(const char *name, enum format_kind *out);
/** The name of a kind (static string). */
const char *format_name(enum format_kind f);

/**
 * Append one event, formatted, to out (no trailing newline). rec is the
 * spool record (metadata and raw XML), ev its parsed form (possibly
 * malformed: raw and json then carry the raw text and a flag). CD_EOK,
 * -ENOMEM, CD_ETOOBIG from the buffer.
 */
int format_event(enum format_kind f, const struct spool_rec *rec,
    const struct event *ev, const struct format_meta *meta, struct buf *out);

/**
 * Append one non-event record (a first-seen or LOLBAS alert, a DNS dedup
 * summary: a JSON object with a "type" member, json[0..len)) formatted for
 * f: json passes it through unchanged; ecs wraps it as
 * {"@timestamp", "event": {"kind": "alert" (alert true) or "metric",
 * "created", "ingested", "dataset": "collectord.<type>"}, "collectord":
 * <the record>} (docs/formats.md). time_ms: when the collector made it.
 * raw has no form for these: CD_EUNSUPPORTED. CD_EPARSE when json is not
 * an object with a string "type"; -ENOMEM, CD_ETOOBIG.
 */
int format_record(enum format_kind f, const char *json, size_t len,
    int64_t time_ms, bool alert, struct buf *out);

/**
 * The ECS document of one event (format_ecs.c; format_event() calls it for
 * FORMAT_ECS). Same contract as format_event().
 */
int format_ecs_event(const struct spool_rec *rec, const struct event *ev,
    const struct format_meta *meta, struct buf *out);

#endif
