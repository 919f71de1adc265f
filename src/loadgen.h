/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * collectord-loadgen: simulates many Windows hosts forwarding Sysmon events
 * over WEF, to measure a collector's throughput and Ack latency. Internal
 * to the program; shared by its files:
 *   loadgen.c       options, threads, reports, the parse-only ceiling
 *   loadgen_mix.c   the event mix modelled on the real Sysmon data
 *   loadgen_body.c  Events request bodies, built in UTF-16LE directly
 *   loadgen_conn.c  the hosts' connections: one epoll loop per thread
 *   loadgen_gss.c   Kerberos as the Windows client does it (initiator)
 */
#ifndef CD_LOADGEN_H
#define CD_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "replay.h"

struct lg_opts {
	const char *url;	/**< subscription manager URL */
	const char *connect;	/**< address dialled (default: the URL's host) */
	unsigned hosts;
	unsigned threads;
	unsigned batch;		/**< events per Events batch */
	double	 rate;		/**< events/s over all hosts; 0: as fast as possible */
	double	 duration;	/**< seconds of measurement after the warm-up */
	double	 warmup;	/**< seconds of load before measuring */
	unsigned batches;	/**< batches per host, then stop (0: --duration) */
	double	 idle;		/**< seconds to hold idle connections (no events) */
	double	 heartbeat;	/**< seconds between heartbeats of idle hosts */
	const char *ready_file;	/**< created once every host is set up */
	const char *prefix;	/**< host name prefix ("ws") */
	const char *domain;	/**< host name domain ("bench.example") */
	const char *keytab;	/**< Kerberos: client keytab; NULL: no auth */
	const char *spn;	/**< Kerberos: service principal (HTTP/<URL host>) */
	unsigned ramp;		/**< hosts setting up at once */
	int	 timeout_ms;
	unsigned max_retries;
	uint64_t seed;
	const char *data_dir;	/**< the Sysmon event files */
	int	 daemon_pid;	/**< report this process's CPU over the window */
};

/* ---- event mix (loadgen_mix.c) ---- */

/** Figures measured from the real data (printed with --show-mix). */
struct lg_mix_stats {
	double	 share_eid1, share_eid3, share_eid22;
	double	 dns_repeat;	/**< P(a DNS event repeats the host's previous one) */
	double	 dns_tail;	/**< P(a DNS event asks a name never seen before) */
	size_t	 head_names;	/**< distinct names in the weighted head */
	double	 top1, top10;	/**< share of the most frequent 1 / 10 names */
};

struct lg_mix;

/** Per-host state of the mix. */
struct lg_mix_host {
	uint64_t rng;
	uint64_t record_id;	/**< last EventRecordID sent */
	int	 last_dns;	/**< template of the previous DNS event, -1: none */
	uint32_t last_name;	/**< its name (index or tail number) */
	bool	 last_tail;
};

/**
 * Load the Sysmon files of dir (every *.xml) and measure the mix. Free with
 * lg_mix_free(). CD_EPARSE / -errno.
 */
int lg_mix_new(struct lg_mix **out, const char *dir);
void lg_mix_free(struct lg_mix *m);
void lg_mix_stats(const struct lg_mix *m, struct lg_mix_stats *out);
/** Seed a host's state. */
void lg_mix_host_init(struct lg_mix_host *h, uint64_t seed);

/**
 * Append n new events of host `computer` to text, one after the other;
 * offs[i]/lens[i] get their positions. Thread-safe (the mix is read-only;
 * the tail counter is atomic).
 */
int lg_mix_events(struct lg_mix *m, struct lg_mix_host *h,
    const char *computer, size_t n, struct buf *text, size_t *offs,
    size_t *lens, uint64_t *ndns);

/**
 * The same n events as lg_mix_events() draws them for the same host state,
 * appended to out already in UTF-16LE and each already framed in its
 * w:Event element as replay_msg_events() frames it: the UTF-16LE pieces
 * of the templates are encoded once by lg_mix_new() and referenced where
 * they lie (m must outlive out's use), and only the EventRecordID digits,
 * the Computer (comp16_len bytes of UTF-16LE already in out's scratch at
 * comp16_off, see lg_mix_utf16()) and new QueryNames are spliced in.
 * Thread-safe as lg_mix_events(). -ENOMEM.
 */
struct lg_gather;
int lg_mix_events16(struct lg_mix *m, struct lg_mix_host *h,
    size_t comp16_off, size_t comp16_len, size_t n, struct lg_gather *out,
    uint64_t *ndns);

/** Append n bytes of UTF-8 s to out as UTF-16LE without a BOM, encoded as
 * utf8_to_utf16le_bom() encodes. CD_ETOOBIG, -ENOMEM. */
int lg_mix_utf16(const char *s, size_t n, struct buf *out);

/** The channel of the mix's events (every batch's bookmark). */
#define LG_CHANNEL	"Microsoft-Windows-Sysmon/Operational"

/** Where the events of an Events envelope start (replay_msg_events()). */
#define LG_EVENTS_OPEN	"<w:Events>"

/* ---- A body as pieces, for writev (loadgen_gather.c) ---- */

/** A piece: len bytes at p, or at off in the scratch buffer (p NULL). */
struct lg_piece {
	const uint8_t	*p;
	size_t		 off, len;
};

struct lg_gather {
	struct lg_piece	*v;
	size_t		 n, cap;
	size_t		 len;		/**< bytes in all pieces */
	struct buf	 scratch;	/**< what varies, copied */
	size_t		 cur, cur_at;	/**< lg_gather_iov()'s position */
};

struct iovec;
void lg_gather_init(struct lg_gather *g);
/** Empty g, keeping its memory. */
void lg_gather_reset(struct lg_gather *g);
void lg_gather_free(struct lg_gather *g);
/** Append len bytes at p, which must stay as they are while g is used. */
int lg_gather_ref(struct lg_gather *g, const void *p, size_t len);
/** Append a copy of len bytes at p. */
int lg_gather_copy(struct lg_gather *g, const void *p, size_t len);
/** Append ASCII s[0..n) as UTF-16LE (copied). */
int lg_gather_ascii16(struct lg_gather *g, const char *s, size_t n);
/** Append again len scratch bytes from off (copied earlier). */
int lg_gather_again(struct lg_gather *g, size_t off, size_t len);
/** Append every byte of g to out. CD_ETOOBIG, -ENOMEM. */
int lg_gather_flatten(const struct lg_gather *g, struct buf *out);
/** Up to max iovecs of g's bytes from byte offset off; returns how many. */
size_t lg_gather_iov(struct lg_gather *g, size_t off, struct iovec *iov,
    size_t max);

/* ---- Events request bodies (loadgen_body.c) ---- */

/** A body builder's scratch space, one per thread. */
struct lg_body {
	struct buf xml;		/**< UTF-8 envelope */
	struct buf text;	/**< reference builder: UTF-8 events */
	struct buf bm;		/**< rendered BookmarkList */
	size_t	 cap;		/**< events the arrays below hold */
	size_t	*offs, *lens;
	struct replay_event *evs;
	const struct replay_event **evp;
};

/** Ready b for batches of up to n events. Free with lg_body_free(). -ENOMEM. */
int lg_body_init(struct lg_body *b, size_t n);
void lg_body_free(struct lg_body *b);

/**
 * Append to out, as pieces, the UTF-16LE body (BOM first) of an Events
 * batch of n new events of host mh whose Computer is computer: bm advanced
 * to the last EventRecordID (current) in the w:Bookmark, the header of hd.
 * *ndns is incremented per DNS event. Byte for byte (lg_gather_flatten())
 * the body lg_body_events_ref() builds for the same state, at a fraction
 * of the CPU: the events are never built in UTF-8 nor copied whole.
 */
int lg_body_events(struct lg_body *b, struct lg_mix *m,
    struct lg_mix_host *mh, const char *computer, size_t n,
    struct replay_bookmark *bm, const struct replay_hdr *hd,
    struct lg_gather *out, uint64_t *ndns);

/**
 * The same body built the plain way: lg_mix_events() into UTF-8 text,
 * replay_msg_events(), then utf8_to_utf16le_bom() of the whole envelope.
 * The reference of lg_body_events() (tests, --parse-only).
 */
int lg_body_events_ref(struct lg_body *b, struct lg_mix *m,
    struct lg_mix_host *mh, const char *computer, size_t n,
    struct replay_bookmark *bm, const struct replay_hdr *hd,
    struct buf *out, uint64_t *ndns);

/*
 * The collector's Ack, recognised cheaply. Nearly every reply is the Ack
 * of a batch, and decoding and parsing each one cost as much as building
 * a small batch. Once the full check (replay_msg_check_ack()) has accepted
 * an Ack, its bytes are kept; a later reply that is the same bytes but for
 * its own MessageID (a new UUID of the same form) and a RelatesTo of
 * exactly the request's MessageID is that Ack again. Anything else goes
 * to the full check.
 */
struct lg_ack {
	struct buf shape;	/**< an accepted Ack, UTF-16LE as received */
	size_t	 mid_off, mid_len;	/**< its own MessageID's text */
	size_t	 rel_off, rel_len;	/**< its RelatesTo's text */
	bool	 ok;		/**< a shape has been learnt */
};

void lg_ack_init(struct lg_ack *a);
/** Release the shape; NULL is a no-op. */
void lg_ack_free(struct lg_ack *a);
/**
 * Learn the shape from an Ack the full check accepted for message_id:
 * body as received (UTF-16LE) and utf8, its decoding. CD_EOK;
 * CD_ENOTFOUND when the two IDs are not each found exactly once in body
 * (nothing learnt, the previous shape stays); CD_EPARSE; -ENOMEM.
 */
int lg_ack_learn(struct lg_ack *a, const uint8_t *body, size_t len,
    const char *utf8, size_t len8, const char *message_id);
/**
 * True when body is the learnt Ack as described above for message_id;
 * false means "not known", never "not an Ack".
 */
bool lg_ack_match(const struct lg_ack *a, const uint8_t *body, size_t len,
    const char *message_id);

/* ---- Kerberos initiator (loadgen_gss.c) ---- */

struct lg_gss_cred;
struct lg_gss_ctx;

/** Credentials of principal from keytab (in a private memory ccache). */
int lg_gss_cred_new(struct lg_gss_cred **out, const char *principal,
    const char *keytab);
void lg_gss_cred_free(struct lg_gss_cred *c);
/**
 * Start a context to spn with the flags Windows asks for. *token gets the
 * base64 AP-REQ for "Authorization: Kerberos ..." (free()).
 */
int lg_gss_ctx_new(struct lg_gss_ctx **out, struct lg_gss_cred *c,
    const char *spn, char **token);
/** Feed the base64 AP-REP of the 200 reply; CD_EOK once established. */
int lg_gss_ctx_finish(struct lg_gss_ctx *ctx, const char *b64);
void lg_gss_ctx_free(struct lg_gss_ctx *ctx);
/** Wrap plain as a multipart/encrypted body (no-tab framing) into out. */
int lg_gss_wrap(struct lg_gss_ctx *ctx, const uint8_t *plain, size_t len,
    struct buf *out);
/** Unwrap a multipart/encrypted reply into out (plaintext). */
int lg_gss_unwrap(struct lg_gss_ctx *ctx, const uint8_t *body, size_t len,
    struct buf *out);

/** The Content-Type of wrapped requests. */
#define LG_GSS_CTYPE "multipart/encrypted;" \
	"protocol=\"application/HTTP-Kerberos-session-encrypted\";" \
	"boundary=\"Encrypted Boundary\""

/* ---- the hosts (loadgen_conn.c) ---- */

struct lg_result {
	uint64_t events, batches, dns_events, heartbeats;
	uint64_t errors, retries, connected;
	uint64_t refused_end;	/**< refused with 503 once the run stopped: not sent again */
	double	*lat;		/**< Ack latencies, ms */
	size_t	 nlat, caplat;
	double	 t_ready;	/**< when every host was set up (s) */
	double	 t_end;		/**< when measurement ended (s) */
};

/**
 * Run hosts [first, first+n) of the run on this thread until the run ends.
 * rate is this thread's share. Fills res.
 */
struct lg_run;
int lg_conn_run(const struct lg_opts *o, struct lg_mix *m, unsigned first,
    unsigned n, double rate, struct lg_result *res);
/** Append one latency (ms) to r->lat. -ENOMEM. */
int lg_result_add(struct lg_result *r, double ms);
/** Monotonic seconds since the program started. */
double lg_now(void);
/** The measured window (lg_now() seconds): when the first thread starts
 * counting after the warm-up and when the first stops; 0 until then. */
double lg_window_start(void);
double lg_window_end(void);
/** Write a host's name ("ws00001.bench.example") into out. */
void lg_host_name(const struct lg_opts *o, unsigned i, char *out, size_t len);

#endif
