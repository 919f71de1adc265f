/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The WS-Management / WEF message handler: decodes a request body that the
 * listener has already authenticated (and decrypted), dispatches on the
 * Action, and produces the reply. Events batches complete asynchronously:
 * the Ack is produced only after the store has committed the batch.
 */
#ifndef CD_WSMAN_H
#define CD_WSMAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct wsman;
struct store;
struct cd_conf;
struct subscription_set;

/** One request as the listener hands it over. Everything is borrowed for
 * the duration of wsman_handle() only, except what the reply owns. */
struct wsman_request {
	const char	*path;		/**< URL path */
	const char	*host_header;	/**< Host: header, or NULL */
	const char	*content_type;	/**< of the plaintext (after decryption) */
	const char	*content_encoding; /**< "SLDC" or NULL */
	const char	*source;	/**< authenticated identity: principal, CN; NULL with --auth none */
	const char	*peer;		/**< client address, for logs */
	bool		 tls;		/**< arrived over HTTPS */
	const uint8_t	*body;
	size_t		 len;
};

/** The reply. body holds the bytes to send (UTF-16LE with BOM for SOAP);
 * owned by the reply, released with wsman_reply_free(). */
struct wsman_reply {
	int		 status;	/**< HTTP status */
	struct buf	 body;
	const char	*content_type;	/**< static string, or NULL for none */
};

void wsman_reply_init(struct wsman_reply *rep);
void wsman_reply_free(struct wsman_reply *rep);

/** Counters for the API and /metrics (monotonic since start). */
struct wsman_stats {
	uint64_t requests;
	uint64_t enumerates;
	uint64_t heartbeats;
	uint64_t batches_acked;
	uint64_t batches_refused;	/**< 503: not durable, client retries */
	uint64_t events_received;
	uint64_t events_acked;
	uint64_t events_duplicate;	/**< re-delivered records, not counted again */
	uint64_t events_malformed;
	uint64_t events_foreign;	/**< Computer is not the source's host */
	uint64_t dns_events;
	uint64_t bad_requests;		/**< 400/413/faults */
};

/**
 * Create the handler. Borrows st, conf and subs (the caller keeps them
 * alive; wsman_set_config() swaps them on reload).
 */
int wsman_new(struct wsman **out, struct store *st, const struct cd_conf *conf,
    const struct subscription_set *subs);
void wsman_free(struct wsman *w);
/** Swap configuration and subscriptions (SIGHUP). Thread-safe. */
void wsman_set_config(struct wsman *w, const struct cd_conf *conf,
    const struct subscription_set *subs);

typedef void (*wsman_done_fn)(void *arg);

/**
 * Handle one request. Returns 0 when rep is complete, or 1 when the reply
 * will be completed later: then done(arg) is called exactly once (from the
 * store's writer thread) after rep has been filled in.
 */
int wsman_handle(struct wsman *w, const struct wsman_request *req,
    struct wsman_reply *rep, wsman_done_fn done, void *arg);

struct indexer;
struct lolbas;
/** DNS queries are indexed after the Ack by ix (indexer.h); NULL: with their batch. */
void wsman_set_indexer(struct wsman *w, struct indexer *ix);
/** Enable LOLBAS alerts (borrowed; set once at start-up). */
void wsman_set_lolbas(struct wsman *w, struct lolbas *lb);

struct evcache;
/**
 * Hand the parsed events of every committed Events batch to ec (borrowed,
 * must outlive w; set once at start-up, before the listeners), so the
 * outputs need not parse them again; request threads free what it evicted
 * (evcache_reap()).
 */
void wsman_set_evcache(struct wsman *w, struct evcache *ec);

/**
 * A gate asked before every Events batch: when full(arg, why, whylen) is
 * true (the spool is at its cap because an output lags, or the DNS index
 * is behind), it has put the reason in why, and the batch gets 503 without
 * Ack, so the source keeps its events and retries later. Set once at
 * start-up. The log says when refusing starts (with the reason) and when it
 * ends (with the count), not once per batch: under backpressure every
 * source retries, hundreds of batches a second.
 */
void wsman_set_gate(struct wsman *w,
    bool (*full)(void *arg, char *why, size_t whylen), void *arg);

/**
 * Stop submitting to the store: from now on deliveries get 503 (the client
 * keeps its events and retries). Returns once no thread is still
 * submitting, so the store can then be closed safely.
 */
void wsman_shutdown(struct wsman *w);

/** Number of sources that delivered to a subscription (for the API). */
int wsman_source_count(struct wsman *w, const char *subscription, uint64_t *out);

void wsman_stats_get(struct wsman *w, struct wsman_stats *out);

#endif
