/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Outputs: each configured <output> delivers the durable spool to one
 * destination (a file, syslog, RELP, HTTP, Kafka) with at-least-once
 * semantics. One thread per output reads the spool from the output's own
 * persisted cursor, in order; filters (subscriptions, channels, event IDs,
 * a Sysmon rule file, and for a SIEM the DNS de-duplication); formats each
 * record (raw XML, flat JSON, or ECS); hands a batch to the sink; and
 * advances its cursor only when the sink says the destination confirmed the
 * batch. Spool entries every output has passed are deleted.
 *
 * output.c owns the threads, cursors, filters and formats; a sink
 * (output_file.c, output_syslog.c, ...) only talks to its destination,
 * through struct output_sink_ops.
 */
#ifndef CD_OUTPUT_H
#define CD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf_output;
struct cd_conf;
struct store;
struct api_stats;

/* Settings every output takes (child elements of <output>), handled by
 * output.c; sinks skip them (output_kv_is_common()).
 *   format      raw | json | ecs              (default json)
 *   stream      all | dedup                   (default all: an archive gets every
 *                                              event; dedup: Sysmon DNS repeats folded
 *                                              into summaries, for a SIEM)
 *   subscriptions, channels, event_ids        comma-separated lists; empty: all
 *   rules       a Sysmon configuration file: only events it includes are sent
 *   batch       records per delivery (default 500, 1..100000)
 * Alerts and DNS summaries (JSON records with a "type") go to every output
 * whose format is json or ecs; raw outputs get events only. */
bool output_kv_is_common(const char *key);

/** What a record is, for sinks that put it in a header or a field. */
enum output_kind {
	OUTPUT_KIND_EVENT,	/**< a Windows event */
	OUTPUT_KIND_SUMMARY,	/**< a DNS dedup summary (JSON) */
	OUTPUT_KIND_ALERT,	/**< a first-seen or LOLBAS alert (JSON) */
};

/** One formatted record, borrowed for the duration of send(). */
struct output_msg {
	uint64_t	 seq;		/**< spool sequence number (0 for summaries) */
	enum output_kind kind;
	const char	*data;		/**< the formatted record, no trailing newline */
	size_t		 len;
	const char	*host;		/**< event host (Computer), "" when unknown */
	int64_t		 time_ms;	/**< event time (TimeCreated), else received time */
	const char	*channel;	/**< event channel, "" for non-events */
	const char	*provider;	/**< event provider, "" for non-events */
	uint32_t	 event_id;	/**< 0 for non-events */
	uint32_t	 level;		/**< event Level (1 critical .. 5 verbose, 0 none) */
	const char	*format;	/**< "raw", "json" or "ecs" */
};

/** A destination. Every function is called from the output's own thread only. */
struct output_sink_ops {
	const char *type;	/**< the <output type="..."> it implements */
	/**
	 * Parse and check the output's own settings (every key that is not
	 * common; unknown keys are errors reported as "file:line: reason" in a
	 * malloc'd *errmsg, using conf_kv.line), allocate the sink. Must not
	 * connect yet (called by --check-config too). CD_ECONFIG, -ENOMEM.
	 */
	int	(*create)(const struct conf_output *conf, void **sink, char **errmsg);
	/**
	 * Deliver msgs[0..n) in order. Return CD_EOK when the destination has
	 * confirmed all of them (to the standard the README documents for this
	 * output); otherwise an error, with *delivered = how many leading
	 * messages are confirmed (the rest will be passed again, after a
	 * backoff). Connect or reconnect here as needed. Log each destination
	 * failure once per state change, with the output's name.
	 */
	int	(*send)(void *sink, const struct output_msg *msgs, size_t n,
		    size_t *delivered);
	/** SIGHUP: reopen files / reconnect at the next send. May be NULL. */
	void	(*reopen)(void *sink);
	/** Free the sink (flush nothing: unconfirmed data is resent later). */
	void	(*destroy)(void *sink);
};

/** The sink for a type name, or NULL. */
const struct output_sink_ops *output_sink_find(const char *type);

struct outputs;

/**
 * Check every <output> of the configuration (common settings and the
 * sink's own) without starting anything: for --check-config and reloads.
 * CD_ECONFIG with a malloc'd *errmsg.
 */
int outputs_check(const struct cd_conf *conf, char **errmsg);

/**
 * Create the outputs of the configuration and start their threads. The
 * store must outlive them. CD_ECONFIG with *errmsg, -ENOMEM.
 */
int outputs_start(struct outputs **out, struct store *st,
    const struct cd_conf *conf, char **errmsg);

struct evcache;
/**
 * Take parsed events from ec (borrowed; it must outlive o) instead of
 * parsing every spool record again, trim it as the outputs advance, and
 * enable it when there is an output (o not NULL, at least one output),
 * else disable it. Call after every outputs_start(), and with a NULL o
 * when none could start. Thread-safe against the running outputs.
 */
void outputs_set_evcache(struct outputs *o, struct evcache *ec);
/**
 * Spool pruning never passes floor(arg), called on the writer thread inside
 * the pruning job (the indexer's oldest waiting observation). Set before
 * the first outputs_prune().
 */
void outputs_set_prune_floor(struct outputs *o, uint64_t (*floor)(void *), void *arg);

/** SIGHUP: ask every sink to reopen. */
void outputs_reopen(struct outputs *o);

/**
 * Delete the spool entries every output has passed (all of them when no
 * output is configured), in bounded transactions. The daemon calls it
 * about once a second.
 */
int outputs_prune(struct outputs *o);

/** Stop the threads (within about a second) and free. NULL is a no-op. */
void outputs_stop(struct outputs *o);

/** Add per-output figures (backlog, delivered, errors) and the dedup
 * counters of the dedup-stream outputs to *s. */
void outputs_stats(struct outputs *o, struct api_stats *s);

/**
 * True when the spool holds more undelivered entries than the configured
 * cap: sources then get 503 until the outputs catch up. Thread-safe.
 */
bool outputs_spool_full(struct outputs *o);

#endif
