/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * collectord-loadgen: simulates many Windows hosts forwarding Sysmon events
 * over WEF, to measure a collector's throughput and Ack latency. Internal
 * to the program; shared by its files:
 *   loadgen.c       options, threads, reports, the parse-only ceiling
 *   loadgen_mix.c   the event mix modelled on the real Sysmon data
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
/** Write a host's name ("ws00001.bench.example") into out. */
void lg_host_name(const struct lg_opts *o, unsigned i, char *out, size_t len);

#endif
