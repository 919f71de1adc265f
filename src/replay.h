/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * collectord-replay: plays files of event XML (one <Event> per line) as one
 * or more Windows hosts against a collector, over the WEF protocol exactly
 * as the Windows WinRM client speaks it (wef-protocol.md section 1):
 * Enumerate + End on the subscription-manager URL, then Heartbeat, Events
 * batches with bookmarks and SubscriptionEnd on each subscription's NotifyTo.
 *
 * The modules below are shared by the program (replay.c) and its unit tests:
 *   replay_src.c   event files -> templates with Channel/Computer/RecordId
 *   replay_msg.c   envelopes (UTF-8) out, bookmarks, URLs
 *   replay_parse.c EnumerateResponse and Ack (UTF-8) in, with libxml2
 *   replay_http.c  a minimal HTTP/1.1 keep-alive client over POSIX sockets
 *   replay_host.c  the per-host conversation, run by worker threads
 * Nothing here is used by the daemon.
 */
#ifndef CD_REPLAY_H
#define CD_REPLAY_H

#include <stdbool.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "soap.h"

/** An http:// URL split for connecting. All strings owned by the struct. */
struct replay_url {
	char	*host;		/**< host as written (brackets removed) */
	char	*port;		/**< "5985" when absent */
	char	*path;		/**< "/..." ("/" when absent) */
	char	*hostport;	/**< the Host header value: host[:port] as written */
};

/**
 * Parse "http://host[:port]/path" (scheme compared case-insensitively, as
 * Windows WEC writes "HTTP://"). CD_EUNSUPPORTED for https, CD_EPARSE for
 * anything else malformed, -ENOMEM. Free with replay_url_free().
 */
int replay_url_parse(const char *url, struct replay_url *out);
/** Release the strings; the struct may be reused. */
void replay_url_free(struct replay_url *u);

/* ---- HTTP (replay_http.c) ---- */

/** A keep-alive connection to one host:port, (re)connected on demand. */
struct replay_http;

/** One response. body is reset by each replay_http_post(). */
struct replay_resp {
	int	 status;	/**< HTTP status code */
	char	 ctype[128];	/**< Content-Type value ("" when absent) */
	struct buf body;	/**< the body, de-chunked; init with buf_init */
};

/**
 * A connection object for host:port; nothing is connected yet. hostport is
 * the Host header. timeout_ms bounds connect, each send and each receive.
 * Free with replay_http_free().
 */
int replay_http_new(struct replay_http **out, const char *host,
    const char *port, const char *hostport, int timeout_ms);
/**
 * POST body to path as the WinRM client does (Connection: Keep-Alive,
 * Content-Type application/soap+xml;charset=UTF-16, User-Agent "Microsoft
 * WinRM Client", Content-Length, Host) and read the response into *resp.
 * A kept-alive connection the server closed meanwhile is reopened once.
 * CD_EOK with any HTTP status; -errno / CD_EPARSE / CD_ETOOBIG on transport
 * errors (the connection is then closed). Not thread-safe per object.
 */
int replay_http_post(struct replay_http *c, const char *path,
    const void *body, size_t len, struct replay_resp *resp);
/** Close the connection (it reopens on the next post). */
void replay_http_close(struct replay_http *c);
/** Close and free; NULL is a no-op. */
void replay_http_free(struct replay_http *c);

/* ---- events (replay_src.c) ---- */

/** One event line as read from a file, with what the client needs to know. */
struct replay_event {
	const char *xml;	/**< the event XML (UTF-8), borrowed from its set */
	size_t	 len;
	size_t	 comp_off;	/**< offset and length of System/Computer's text */
	size_t	 comp_len;
	size_t	 rid_off;	/**< offset and length of EventRecordID's text */
	size_t	 rid_len;
	const char *channel;	/**< System/Channel (interned in the set) */
	const char *computer;	/**< System/Computer as written (interned) */
	uint64_t record_id;	/**< EventRecordID as written */
	uint64_t seq_id;	/**< 1-based position among the set's events of
				     this channel: the RecordId used when hosts are
				     synthesised (--hosts) */
};

/** All events of the input files, in file order. */
struct replay_set {
	struct replay_event *ev;
	size_t	 n;
	char	**strings;	/**< interned channel and computer names */
	size_t	 nstrings;
	char	**files;	/**< file contents the events point into */
	size_t	 nfiles;
};

/**
 * Read the files (one event per line, blank lines ignored) into a new set.
 * Each line is parsed with libxml2 for Channel, Computer and EventRecordID;
 * a line without them is CD_EPARSE (with the file and line logged).
 * The caller frees *out with replay_set_free(). -errno on I/O errors.
 */
int replay_set_load(char *const *paths, size_t npaths, struct replay_set **out);
/** Free a set; NULL is a no-op. */
void replay_set_free(struct replay_set *set);

/** The events one simulated host sends, in the order it sends them. */
struct replay_stream {
	const struct replay_event **ev;
	size_t	 n;
};

/**
 * One stream per distinct Computer (compared case-insensitively), events in
 * record order per host: file order, stably re-sorted by RecordId when two
 * files of one host go backwards (Windows reads its log in record order).
 * *out gets n streams (n = number of hosts); their names are the
 * interned Computer strings (streams[i].ev[0]->computer). Free each stream's
 * ev and the array with replay_streams_free().
 */
int replay_set_by_computer(const struct replay_set *set,
    struct replay_stream **out, size_t *n);
/** Free n streams from replay_set_by_computer(). */
void replay_streams_free(struct replay_stream *s, size_t n);

/* ---- bookmarks (replay_msg.c) ---- */

/** One channel's position. */
struct replay_mark {
	char	*channel;
	uint64_t record_id;
};

/** A BookmarkList as Windows builds it: one mark per channel seen. */
struct replay_bookmark {
	struct replay_mark *marks;
	size_t	 n;
	size_t	 current;	/**< index of the IsCurrent mark (if n > 0) */
	bool	 earliest;	/**< the reserved bookmark/earliest URI */
};

/** Record that channel has advanced to rid and is now current. -ENOMEM. */
int replay_bookmark_set(struct replay_bookmark *bm, const char *channel,
    uint64_t rid);
/** The mark of a channel (case-insensitive) or NULL. */
const struct replay_mark *replay_bookmark_find(const struct replay_bookmark *bm,
    const char *channel);
/** Append "<BookmarkList>...</BookmarkList>" (nothing when empty). */
int replay_bookmark_render(const struct replay_bookmark *bm, struct buf *out);
/** Append "channel=rid[*],..." (sorted by channel; "*" marks IsCurrent),
 * "earliest" or "none": a stable form for comparing bookmarks. */
int replay_bookmark_summary(const struct replay_bookmark *bm, struct buf *out);
/** Deep copy. -ENOMEM. */
int replay_bookmark_copy(struct replay_bookmark *dst,
    const struct replay_bookmark *src);
/** Release the marks; the bookmark is empty afterwards. */
void replay_bookmark_free(struct replay_bookmark *bm);

/* ---- messages (replay_msg.c) ---- */

/** One ReferenceProperties/ReferenceParameters child, echoed as a header. */
struct replay_ref {
	char	*ns;		/**< namespace URI or NULL */
	char	*name;		/**< local name */
	char	*value;		/**< text content */
};

/** One subscription of an EnumerateResponse. Owns every string. */
struct replay_sub {
	char	*version;	/**< sub:Version text */
	char	*name;		/**< the SubscriptionName option or NULL */
	char	*notify_to;	/**< NotifyTo address */
	char	*end_to;	/**< EndTo address (NotifyTo when absent) */
	struct replay_ref *refs;	/**< NotifyTo reference children */
	size_t	 nrefs;
	struct replay_ref *end_refs;	/**< EndTo reference children */
	size_t	 nend_refs;
	char	**channels;	/**< Query/@Path and Select/@Path values */
	size_t	 nchannels;
	struct replay_bookmark bookmark; /**< the bookmark handed out, or empty */
	bool	 has_bookmark;	/**< a w:Bookmark element was present */
	uint32_t max_elements;	/**< 0 when absent */
	uint64_t max_time_ms;	/**< 0 when absent */
	uint32_t max_envelope;	/**< Delivery MaxEnvelopeSize, 0 when absent */
	uint64_t heartbeat_ms;	/**< 0 when absent */
	bool	 cdata;		/**< the CDATA option is set */
};

/**
 * Parse an EnumerateResponse (UTF-8) with libxml2, by namespace URI and
 * local name. relates_to, when not NULL, must equal a:RelatesTo exactly
 * (else CD_EPARSE). *subs gets a new array of *nsubs subscriptions (NULL
 * and 0 for an empty list); free with replay_subs_free().
 */
int replay_msg_parse_enumerate_response(const char *xml, size_t len,
    const char *relates_to, struct replay_sub **subs, size_t *nsubs);
/** Free n subscriptions and the array; NULL is a no-op. */
void replay_subs_free(struct replay_sub *subs, size_t n);
/** True when the subscription's query names this channel. */
bool replay_sub_wants(const struct replay_sub *sub, const char *channel);

/**
 * Parse a reply (with soap_parse()) expected to be an Ack for message_id:
 * CD_EOK when its Action is the WS-Man Ack and RelatesTo equals message_id
 * byte for byte, CD_EPARSE otherwise (a SOAP fault included), -ENOMEM.
 */
int replay_msg_check_ack(const char *xml, size_t len, const char *message_id);

/** What every request's header carries. Strings borrowed. */
struct replay_hdr {
	const char *to;			/**< a:To: the URL being posted to */
	const char *machine_id;		/**< m:MachineID */
	const char *message_id;		/**< soap_new_message_id() */
	const char *session_id;		/**< p:SessionId, per host */
	const char *operation_id;	/**< p:OperationID */
	const struct replay_ref *refs;	/**< echoed reference children */
	size_t	 nrefs;
};

/** The Enumerate request (wef-protocol.md 1.2), UTF-8, to out. */
int replay_msg_enumerate(struct buf *out, const struct replay_hdr *h);
/** The End (FullDuplex) message (1.5): only MessageID and OperationID. */
int replay_msg_end(struct buf *out, const struct replay_hdr *h);
/** A Heartbeat (1.7). */
int replay_msg_heartbeat(struct buf *out, const struct replay_hdr *h);
/**
 * An Events batch (1.6): the bookmark (already rendered BookmarkList, or
 * NULL for none) in w:Bookmark, then one CDATA w:Event per event. With
 * computer != NULL each event's Computer text is replaced by it and its
 * EventRecordID by seq_id (synthesised hosts).
 */
int replay_msg_events(struct buf *out, const struct replay_hdr *h,
    const char *bookmark, const struct replay_event *const *ev, size_t n,
    const char *computer);
/** A SubscriptionEnd (1.9) with status SourceShuttingDown. end_to is the
 * SubscriptionManager address; refs of h are its reference children. */
int replay_msg_subscription_end(struct buf *out, const struct replay_hdr *h);


/* ---- the program (replay.c, replay_host.c) ---- */

/** Command-line options (see usage() in replay.c). */
struct replay_opts {
	const char *url;
	unsigned hosts;
	const char *host_prefix;
	const char *host_domain;
	unsigned batch;
	bool	 heartbeat;
	bool	 end;
	double	 rate;
	unsigned conns;
	bool	 from_events;
	bool	 print_bookmark;
	bool	 enumerate_only;
	unsigned threads;
	unsigned max_retries;
	unsigned retry_ms;
	int	 timeout_ms;
};

/** What one worker did; summed for the summary line. */
struct replay_counters {
	uint64_t events, batches, acks, heartbeats, retries, errors, skipped;
	uint64_t subs;
};

/** Where a simulated host is in its conversation. */
enum replay_phase {
	REPLAY_PH_ENUM,		/**< Enumerate + End next */
	REPLAY_PH_SUB,		/**< start the next matching subscription */
	REPLAY_PH_BATCH,	/**< send the next Events batch */
	REPLAY_PH_SUB_END,	/**< SubscriptionEnd + End (with --end) */
	REPLAY_PH_DONE,
};

/** One simulated Windows host. Owned by main; driven by one worker. */
struct replay_host {
	char	*name;			/**< MachineID */
	const struct replay_stream *stream;
	bool	 rewrite;		/**< synthesised: splice name/seq ids */
	char	 session[SOAP_MESSAGE_ID_SIZE];
	enum replay_phase phase;
	bool	 failed;
	struct replay_sub *subs;
	size_t	 nsubs;
	size_t	 cur;			/**< subscription being delivered */
	size_t	 pos;			/**< next event of the stream */
	struct replay_bookmark bm;
	struct replay_url notify;
	char	*notify_to;		/**< a:To: NotifyTo, scheme lower-cased */
	struct replay_http **conn;
	size_t	 next_conn;
};

/** A worker thread and the hosts it advances in turn, one request each.
 * Its buffers are reused for every message. */
struct replay_worker {
	pthread_t tid;
	const struct replay_opts *o;
	struct replay_host **hosts;
	size_t	 nhosts;
	struct replay_counters c;
	double	*lat;			/**< Ack latencies in ms */
	size_t	 nlat, caplat;
	struct buf xml, wire, text;
	struct replay_resp resp;
	const struct replay_event **batch;
};

/** Start the clock of replay_host_now_ms(); call once before any worker. */
void replay_host_clock_start(void);
/** Milliseconds since replay_host_clock_start() (monotonic). */
double replay_host_now_ms(void);
/**
 * Thread body: advance every host of the worker (arg, a struct
 * replay_worker) until all are done. Counters and latencies go into the
 * worker; bookmarks are printed to stdout under a lock.
 */
void *replay_host_worker(void *arg);

#endif
