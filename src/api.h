/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The REST API (interface.md, "REST API"): plain functions from a request
 * (method, decoded path, query arguments, Authorization header) to a
 * response (status, JSON or text body), so they are testable without a
 * socket. The listener calls api_handle() for every request on the API
 * listener: /api/v1/..., /metrics and /healthz.
 *
 * Authentication: when ctx->tokens is set, every /api/ request and /metrics
 * need "Authorization: Bearer <token>" (RFC 6750) with a token from the
 * tokens file; otherwise 401 with WWW-Authenticate: Bearer. /healthz never
 * needs a token: load balancers and service managers probe it, and it tells
 * nothing but up or down.
 *
 * Reads use short read-only store transactions and copy what they need, so
 * api_handle() never blocks the writer. Thread-safe as long as the stats
 * callbacks are.
 */
#ifndef CD_API_H
#define CD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "evcache.h"

struct store;
struct cd_conf;
struct api_tokens;

/** Query arguments api_handle() looks at; the listener drops any more. */
#define API_MAX_ARGS		32
/** Outputs reported in the stats. */
#define API_OUTPUTS_MAX		32
/** Cap on a response body. */
#define API_BODY_MAX		(64u << 20)

/** One output's delivery state, for /api/v1/stats and /metrics. */
struct api_output_stats {
	char	 name[64];	/**< the output's name (its cursor key) */
	uint64_t backlog;	/**< spool entries not yet delivered (lag) */
	uint64_t delivered;	/**< records delivered since start */
	uint64_t errors;	/**< delivery failures since start */
	uint64_t cache_hits;	/**< events taken parsed from ingest (evcache.h) */
	uint64_t cache_misses;	/**< events the output parsed itself */
};

/** Counters since start, filled by the daemon's stats callback. */
struct api_stats {
	uint64_t events_received;	/**< events in Events POSTs */
	uint64_t events_acked;		/**< events in batches acknowledged */
	uint64_t events_rejected;	/**< events in batches refused (503, 4xx) */
	uint64_t dns_events;		/**< Sysmon DNS queries received (new records) */
	uint64_t dns_index_pending;	/**< acknowledged, not yet in the index (indexer.h) */
	uint64_t dns_forwarded;		/**< DNS events passed to the SIEM stream */
	uint64_t dns_folded;		/**< DNS events folded by dedup */
	uint64_t dns_summaries;		/**< dedup summary records emitted */
	bool	 listeners_up;		/**< every configured listener runs */
	/* The WEF endpoint (requests that got past authentication). */
	uint64_t wef_requests;		/**< bodies decoded and parsed */
	uint64_t wef_enumerates;
	uint64_t wef_heartbeats;
	uint64_t wef_batches_acked;
	uint64_t wef_batches_refused;	/**< 503: not durable or spool full */
	uint64_t wef_bad_requests;	/**< 400/404/413 and SOAP faults */
	uint64_t events_duplicate;	/**< re-delivered records, not counted again */
	uint64_t events_malformed;	/**< kept raw, flagged */
	uint64_t events_foreign;	/**< Computer is not the source: not indexed */
	struct api_output_stats outputs[API_OUTPUTS_MAX];
	size_t	 noutputs;
	bool	 have_cache;		/**< the parsed-event cache is on */
	struct evcache_stats cache;	/**< its figures, then */
};

/** One active subscription, as /api/v1/subscriptions shows it. Borrowed. */
struct api_subscription {
	const char	*id;		/**< SubscriptionId */
	const char	*name;		/**< file or display name */
	const char	*version;	/**< the Version sent to clients */
	bool		 enabled;
	uint64_t	 sources;	/**< sources that enumerated it */
};

/** Called once per subscription; the pointers are valid during the call. */
typedef void api_subscription_fn(void *fnarg, const struct api_subscription *s);

/**
 * Where the API gets the daemon's live figures. Either callback may be
 * NULL: the stats are then zero (listeners down), the subscriptions list
 * empty. Both are called on listener threads, concurrently.
 */
struct api_source {
	void	*arg;
	/** Fill *out (zeroed by the caller). */
	void	(*stats)(void *arg, struct api_stats *out);
	/** Call fn(fnarg, s) for each active subscription, in a stable order. */
	void	(*subscriptions)(void *arg, api_subscription_fn *fn, void *fnarg);
};

/** Everything a request needs. Owned by the daemon; borrowed by the API. */
struct api_ctx {
	struct store		*store;	/**< NULL: every store-backed endpoint answers 503 */
	const struct cd_conf	*conf;	/**< may be NULL (tests) */
	const struct api_tokens	*tokens; /**< NULL: no token required */
	struct api_source	 source;
	int64_t			 now_ms; /**< "now" for relative ages; 0: the clock (tests fix it) */
};

/** One query argument, as the HTTP library decoded it. Borrowed. */
struct api_arg {
	const char	*key;
	const char	*value;	/**< "" for "?key" without a value */
};

/** A request. All strings are borrowed for the duration of api_handle(). */
struct api_request {
	const char	*method;	/**< "GET", "HEAD", ... */
	const char	*path;		/**< URL-decoded path without the query */
	const char	*authorization;	/**< the Authorization header, or NULL */
	struct api_arg	 args[API_MAX_ARGS];
	size_t		 nargs;
};

/** A response, owned by the caller; api_response_free() releases it. */
struct api_response {
	int		 status;	/**< HTTP status */
	struct buf	 body;		/**< JSON (or Prometheus text for /metrics) */
	const char	*content_type;	/**< static string */
	const char	*www_authenticate; /**< static string for 401, else NULL */
	const char	*allow;		/**< static string for 405 ("GET, HEAD"), else NULL */
};

/** Initialise an empty response (status 500, body capped at API_BODY_MAX). */
void api_response_init(struct api_response *r);
/** Release the body. */
void api_response_free(struct api_response *r);

/**
 * Answer one request: fills resp (initialised by api_response_init). Never
 * fails: errors become 4xx/5xx with {"error": "reason"}. 404 for an unknown
 * path, 405 for a method other than GET/HEAD (the body is written for HEAD
 * too; the HTTP layer drops it), 400 for bad parameters, 401 without a valid
 * token, 503 when the store is unavailable.
 */
void api_handle(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *resp);

/**
 * Load bearer tokens from a file: one token a line (RFC 6750 b64token
 * characters), blank lines and lines starting with '#' ignored, surrounding
 * whitespace trimmed. Only SHA-256 digests of the tokens are kept. Returns
 * CD_EOK and *out (free with apiauth_free()), -errno when unreadable,
 * CD_ECONFIG for an invalid line or a file without tokens (logged with the
 * line number, never the token).
 */
int apiauth_load(const char *path, struct api_tokens **out);

/** Free the tokens; NULL is a no-op. */
void apiauth_free(struct api_tokens *t);

/** Number of tokens loaded. */
size_t apiauth_count(const struct api_tokens *t);

/**
 * Check an Authorization header value against the tokens in constant time
 * (digests compared with CRYPTO_memcmp, every token tried). CD_EOK when it
 * is "Bearer <token>" (scheme case-insensitive) with a known token, -ENOENT
 * when the header is absent or not a Bearer credential, CD_EAUTH for an
 * unknown token. Thread-safe.
 */
int apiauth_check(const struct api_tokens *t, const char *authorization);

/**
 * True when a listen address ("ADDR:PORT", "[V6]:PORT") is a loopback one
 * (127.0.0.0/8, ::1, "localhost"). The daemon refuses an API listener on
 * any other address without a tokens file (issue 5).
 */
bool apiauth_loopback(const char *listen);

#endif
