/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The simulated hosts of collectord-loadgen: each thread drives its share
 * of the hosts from one epoll loop over non-blocking sockets, so thousands
 * of keep-alive connections cost a few kilobytes each. A host does what the
 * Windows WinRM client does (wef-protocol.md 1.1): Enumerate and End on one
 * connection that it then closes, a Heartbeat on a keep-alive connection to
 * NotifyTo, then Events batches with a bookmark, one at a time, each
 * waiting for its Ack; with Kerberos every connection starts with the
 * pre-emptive authentication leg and every body is wrapped. A refused or
 * lost batch is re-sent after a doubling back-off, as Windows does.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "loadgen.h"
#include "log.h"
#include "soap.h"
#include "utf16.h"

#define SYSMON_CHANNEL	LG_CHANNEL
#define LG_MAX_RESP	(4u << 20)
/* Random bytes for MessageIDs, drawn from OpenSSL this many at a time:
 * one RAND_bytes() call per ID cost more than building a 10-event batch. */
#define LG_RND		1024

enum lg_phase { PH_WAIT, PH_ENUM, PH_END, PH_HB, PH_IDLE, PH_BATCH,
    PH_RETRY, PH_DONE };

struct lg_host {
	unsigned idx;
	char	 name[128];
	char	 session[SOAP_MESSAGE_ID_SIZE];
	enum lg_phase phase;
	int	 fd;
	bool	 want_out;	/**< registered for EPOLLOUT */
	bool	 authing;	/**< the exchange in flight is the auth leg */
	bool	 settled;	/**< set-up finished (well or not) */
	struct lg_gss_cred *cred;
	struct lg_gss_ctx *gss;	/**< of the current connection */
	struct buf out;		/**< the request's head, to write */
	const struct buf *body;	/**< its body, written after out (or NULL) */
	struct lg_gather *gbody; /**< or its body as pieces */
	struct buf wire;	/**< Kerberos: the wrapped body */
	size_t	 out_off;	/**< bytes of out, then body, written */
	struct buf in;		/**< bytes read */
	struct buf plain;	/**< the request (UTF-16LE), kept for re-sends */
	struct lg_gather batch;	/**< an Events request instead, as pieces
				     (empty when the request is plain) */
	const char *path;
	char	 mid[SOAP_MESSAGE_ID_SIZE];
	char	 opid[SOAP_MESSAGE_ID_SIZE];
	double	 t_sent, wake, next_hb;
	unsigned attempts;
	unsigned nbatches;	/**< batches acknowledged */
	size_t	 nev, ndns;
	struct replay_sub *subs;
	size_t	 nsubs;
	const struct replay_sub *sub;
	struct replay_url notify;
	char	*notify_to;
	struct replay_bookmark bm;
	struct lg_mix_host mix;
};

struct lg_thr {
	const struct lg_opts *o;
	struct lg_mix *m;
	struct lg_result *res;
	int	 ep;
	struct lg_host *h;
	unsigned n;
	struct replay_url url;
	struct sockaddr_storage addr;
	socklen_t alen;
	unsigned *q;		/**< ring of idle hosts ready to send */
	size_t	 qhead, qlen;
	unsigned started, settled;
	unsigned done;		/**< hosts that finished (--batches) or gave up */
	double	 rate, next_slot;
	double	 t_count;	/**< counting starts (after the warm-up) */
	bool	 measuring, stopping;
	struct buf xml, tmp;
	struct lg_body body;	/**< the Events body builder */
	struct buf flat;	/**< Kerberos: a batch copied together to wrap */
	struct lg_ack ack;	/**< the collector's Ack, once seen */
	uint8_t	 rnd[LG_RND];	/**< random bytes for MessageIDs */
	size_t	 rnd_off;	/**< the next unused one */
};

static struct timespec lg_t0;
static _Atomic unsigned lg_settled_all;
static _Atomic bool lg_ready_written;
/* The measured window over all threads, in µs of lg_now() plus one (0:
 * not yet): the first thread to start or stop counting sets it. */
static _Atomic uint64_t lg_win_start_us, lg_win_end_us;

static void
lg_window_mark(_Atomic uint64_t *at, double t)
{
	uint64_t zero = 0;

	atomic_compare_exchange_strong(at, &zero, (uint64_t)(t * 1e6) + 1);
}

double
lg_window_start(void)
{
	uint64_t v = atomic_load(&lg_win_start_us);

	return v ? (double)(v - 1) / 1e6 : 0;
}

double
lg_window_end(void)
{
	uint64_t v = atomic_load(&lg_win_end_us);

	return v ? (double)(v - 1) / 1e6 : 0;
}

double
lg_now(void)
{
	struct timespec ts;

	if (lg_t0.tv_sec == 0)
		clock_gettime(CLOCK_MONOTONIC, &lg_t0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)(ts.tv_sec - lg_t0.tv_sec) +
	    (double)(ts.tv_nsec - lg_t0.tv_nsec) / 1e9;
}

void
lg_host_name(const struct lg_opts *o, unsigned i, char *out, size_t len)
{
	snprintf(out, len, "%s%05u.%s", o->prefix, i + 1, o->domain);
}

int
lg_result_add(struct lg_result *r, double ms)
{
	if (r->nlat == r->caplat) {
		size_t cap = r->caplat ? r->caplat * 2 : 4096;
		double *v = realloc(r->lat, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		r->lat = v;
		r->caplat = cap;
	}
	r->lat[r->nlat++] = ms;
	return CD_EOK;
}

static void
lg_close(struct lg_thr *t, struct lg_host *h)
{
	if (h->fd >= 0) {
		epoll_ctl(t->ep, EPOLL_CTL_DEL, h->fd, NULL);
		close(h->fd);
		h->fd = -1;
	}
	lg_gss_ctx_free(h->gss);
	h->gss = NULL;
	buf_reset(&h->in);
	buf_free(&h->out);
	buf_free(&h->wire);
	h->body = NULL;
	h->out_off = 0;
}

static void
lg_settle(struct lg_thr *t, struct lg_host *h, bool ok)
{
	h->settled = true;
	t->settled++;
	if (ok)
		t->res->connected++;
	atomic_fetch_add(&lg_settled_all, 1);
}

/* Done with the request: its pieces' memory stays for the next batch. */
static void
lg_plain_release(struct lg_thr *t, struct lg_host *h)
{
	(void)t;
	buf_reset(&h->plain);
	lg_gather_reset(&h->batch);
}

/* The request is an Events batch, held as pieces (not h->plain). */
static bool
lg_batched(const struct lg_host *h)
{
	return h->batch.n > 0;
}

static void
lg_idle(struct lg_thr *t, struct lg_host *h)
{
	h->phase = PH_IDLE;
	h->attempts = 0;
	lg_plain_release(t, h);
	if (t->o->idle > 0)
		return;		/* held connected, never dispatched */
	t->q[(t->qhead + t->qlen) % t->n] = (unsigned)(h - t->h);
	t->qlen++;
}

/* Queue the HTTP request for h->plain (or the auth leg) on h's connection. */
static int
lg_build(struct lg_thr *t, struct lg_host *h)
{
	const struct lg_opts *o = t->o;
	const char *host = h->path == t->url.path ? t->url.hostport :
	    h->notify.hostport;
	char *tok = NULL;
	int rc;

	buf_free(&h->out);
	buf_free(&h->wire);
	h->body = NULL;
	h->gbody = NULL;
	h->out_off = 0;
	if (o->keytab != NULL && h->gss == NULL) {
		if ((rc = lg_gss_ctx_new(&h->gss, h->cred, o->spn, &tok)) != CD_EOK)
			return rc;
		h->authing = true;
		rc = buf_printf(&h->out, "POST %s HTTP/1.1\r\nConnection: Keep-Alive\r\n"
		    "Content-Type: application/soap+xml;charset=UTF-16\r\n"
		    "Authorization: Kerberos %s\r\n"
		    "User-Agent: Microsoft WinRM Client\r\nContent-Length: 0\r\n"
		    "Host: %s\r\n\r\n", h->path, tok, host);
		free(tok);
		return rc;
	}
	h->authing = false;
	/* The body is written from where it lies (writev), not copied
	 * behind the head. */
	if (o->keytab != NULL) {
		const struct buf *plain = &h->plain;
		/* GSSAPI wraps one buffer: a batch is copied together. */
		if (lg_batched(h)) {
			buf_reset(&t->flat);
			if ((rc = lg_gather_flatten(&h->batch, &t->flat)) != CD_EOK)
				return rc;
			plain = &t->flat;
		}
		if ((rc = lg_gss_wrap(h->gss, plain->data, plain->len,
		    &h->wire)) != CD_EOK)
			return rc;
		h->body = &h->wire;
		return buf_printf(&h->out, "POST %s HTTP/1.1\r\nConnection: Keep-Alive\r\n"
		    "Content-Type: " LG_GSS_CTYPE "\r\n"
		    "User-Agent: Microsoft WinRM Client\r\nContent-Length: %zu\r\n"
		    "Host: %s\r\n\r\n", h->path, h->wire.len, host);
	}
	if (lg_batched(h))
		h->gbody = &h->batch;
	else
		h->body = &h->plain;
	return buf_printf(&h->out, "POST %s HTTP/1.1\r\nConnection: Keep-Alive\r\n"
	    "Content-Type: application/soap+xml;charset=UTF-16\r\n"
	    "User-Agent: Microsoft WinRM Client\r\nContent-Length: %zu\r\n"
	    "Host: %s\r\n\r\n", h->path,
	    lg_batched(h) ? h->batch.len : h->plain.len, host);
}

static int
lg_watch(struct lg_thr *t, struct lg_host *h, bool out, bool add)
{
	struct epoll_event ev = { .events = out ? EPOLLOUT : EPOLLIN,
	    .data.u32 = (uint32_t)(h - t->h) };

	h->want_out = out;
	return epoll_ctl(t->ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, h->fd,
	    &ev) == 0 ? CD_EOK : -errno;
}

/* Send h->plain to h->path, connecting first when needed. */
static int
lg_send(struct lg_thr *t, struct lg_host *h)
{
	const struct sockaddr_storage *sa = &t->addr;
	int rc, one = 1;

	h->t_sent = lg_now();
	buf_reset(&h->in);
	if (h->fd < 0) {
		h->fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (h->fd < 0)
			return -errno;
		setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(h->fd, (const struct sockaddr *)sa, t->alen) != 0 &&
		    errno != EINPROGRESS) {
			rc = -errno;
			close(h->fd);
			h->fd = -1;
			return rc;
		}
		if ((rc = lg_build(t, h)) != CD_EOK)
			return rc;
		return lg_watch(t, h, true, true);
	}
	if ((rc = lg_build(t, h)) != CD_EOK)
		return rc;
	return lg_watch(t, h, true, false);
}

/* The host is done: its request will not be sent again. */
static void
lg_give_up(struct lg_thr *t, struct lg_host *h)
{
	lg_close(t, h);
	h->authing = false;
	if (!h->settled)
		lg_settle(t, h, false);
	h->phase = PH_DONE;
	t->done++;
	lg_plain_release(t, h);
}

/* A failed exchange: close, and re-send after a back-off, or give up. */
static void
lg_fail(struct lg_thr *t, struct lg_host *h, const char *why)
{
	const struct lg_opts *o = t->o;
	enum lg_phase was = h->phase;
	double backoff;

	if (h->attempts >= o->max_retries || t->stopping) {
		t->res->errors++;
		log_warn("loadgen", "%s: giving up: %s", h->name, why);
		lg_give_up(t, h);
		return;
	}
	lg_close(t, h);
	h->authing = false;
	log_debug("loadgen", "%s: retry: %s", h->name, why);
	t->res->retries++;
	h->attempts++;
	backoff = 0.05 * (double)(1u << (h->attempts < 7 ? h->attempts : 7));
	/* Enumeration starts over; deliveries re-send the same request. */
	if (was == PH_BATCH || was == PH_RETRY)
		h->phase = PH_RETRY;
	else if (was == PH_END || was == PH_ENUM)
		h->phase = PH_ENUM;
	else
		h->phase = was;
	h->wake = -(lg_now() + backoff);	/* negative: see lg_timers() */
}

/* A new MessageID, a random (version 4) UUID written as
 * soap_new_message_id() writes one. */
static int
lg_new_id(struct lg_thr *t, char out[SOAP_MESSAGE_ID_SIZE])
{
	static const char hex[] = "0123456789ABCDEF";
	char *o = out;
	uint8_t *u;

	if (t->rnd_off + 16 > sizeof(t->rnd)) {
		if (RAND_bytes(t->rnd, sizeof(t->rnd)) != 1)
			return CD_ECRYPTO;
		t->rnd_off = 0;
	}
	u = t->rnd + t->rnd_off;
	t->rnd_off += 16;
	/* RFC 4122 version 4 (random) and variant bits. */
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	memcpy(o, "uuid:", 5);
	o += 5;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[u[i] >> 4];
		*o++ = hex[u[i] & 15];
	}
	*o = '\0';
	return CD_EOK;
}

static int
lg_hdr(struct lg_thr *t, struct lg_host *h, struct replay_hdr *hd,
    const char *to)
{
	int rc;

	memset(hd, 0, sizeof(*hd));
	if ((rc = lg_new_id(t, h->mid)) != CD_EOK)
		return rc;
	hd->to = to;
	hd->machine_id = h->name;
	hd->message_id = h->mid;
	hd->session_id = h->session;
	hd->operation_id = h->opid;
	if (h->sub != NULL) {
		hd->refs = h->sub->refs;
		hd->nrefs = h->sub->nrefs;
	}
	return CD_EOK;
}

static int
lg_plain(struct lg_thr *t, struct lg_host *h)
{
	lg_gather_reset(&h->batch);
	buf_reset(&h->plain);
	return utf8_to_utf16le_bom((const char *)t->xml.data, t->xml.len,
	    &h->plain);
}

static int
lg_start_enum(struct lg_thr *t, struct lg_host *h)
{
	struct replay_hdr hd;
	int rc;

	h->sub = NULL;
	h->path = t->url.path;
	if ((rc = lg_new_id(t, h->opid)) != CD_EOK ||
	    (rc = lg_hdr(t, h, &hd, t->o->url)) != CD_EOK)
		return rc;
	buf_reset(&t->xml);
	if ((rc = replay_msg_enumerate(&t->xml, &hd)) != CD_EOK ||
	    (rc = lg_plain(t, h)) != CD_EOK)
		return rc;
	h->phase = PH_ENUM;
	return lg_send(t, h);
}

static int
lg_start_hb(struct lg_thr *t, struct lg_host *h)
{
	struct replay_hdr hd;
	int rc;

	if ((rc = lg_new_id(t, h->opid)) != CD_EOK ||
	    (rc = lg_hdr(t, h, &hd, h->notify_to)) != CD_EOK)
		return rc;
	buf_reset(&t->xml);
	if ((rc = replay_msg_heartbeat(&t->xml, &hd)) != CD_EOK ||
	    (rc = lg_plain(t, h)) != CD_EOK)
		return rc;
	h->path = h->notify.path;
	h->phase = PH_HB;
	return lg_send(t, h);
}

static int
lg_start_batch(struct lg_thr *t, struct lg_host *h)
{
	struct replay_hdr hd;
	uint64_t ndns = 0;
	size_t n = t->o->batch;
	int rc;

	if (h->sub->max_elements != 0 && h->sub->max_elements < n)
		n = h->sub->max_elements;
	if ((rc = lg_new_id(t, h->opid)) != CD_EOK ||
	    (rc = lg_hdr(t, h, &hd, h->notify_to)) != CD_EOK)
		return rc;
	/* Held, as pieces, until its Ack (a re-send sends it again). */
	lg_gather_reset(&h->batch);
	if ((rc = lg_body_events(&t->body, t->m, &h->mix, h->name, n, &h->bm,
	    &hd, &h->batch, &ndns)) != CD_EOK)
		return rc;
	h->nev = n;
	h->ndns = ndns;
	h->phase = PH_BATCH;
	return lg_send(t, h);
}

/* The first subscription that collects the Sysmon channel. */
static int
lg_choose_sub(struct lg_host *h)
{
	for (size_t i = 0; i < h->nsubs; i++)
		if (replay_sub_wants(&h->subs[i], SYSMON_CHANNEL)) {
			h->sub = &h->subs[i];
			free(h->notify_to);
			if ((h->notify_to = strdup(h->sub->notify_to)) == NULL)
				return -ENOMEM;
			/* Windows writes "http://" in a:To whatever the case. */
			memcpy(h->notify_to, "http", 4);
			/* Resume after the bookmark the collector handed out,
			 * as Windows does: a second run against the same store
			 * sends new records, not re-deliveries. */
			replay_bookmark_free(&h->bm);
			const struct replay_mark *mk = replay_bookmark_find(
			    &h->sub->bookmark, SYSMON_CHANNEL);
			if (mk != NULL && mk->record_id > h->mix.record_id)
				h->mix.record_id = mk->record_id;
			int rc = replay_bookmark_copy(&h->bm, &h->sub->bookmark);
			if (rc != CD_EOK)
				return rc;
			replay_url_free(&h->notify);
			return replay_url_parse(h->sub->notify_to, &h->notify);
		}
	return CD_ENOTFOUND;
}

/* A complete reply arrived for h; text holds its UTF-8 body. ack: the
 * caller has already checked whether it is the Ack (1 or 0), -1 not. */
static void
lg_reply(struct lg_thr *t, struct lg_host *h, int status, const char *text,
    size_t len, int ack)
{
	char why[96];
	int rc = CD_EOK;

	switch (h->phase) {
	case PH_ENUM:
		if (status != 200)
			break;
		replay_subs_free(h->subs, h->nsubs);
		h->subs = NULL;
		h->nsubs = 0;
		if ((rc = replay_msg_parse_enumerate_response(text, len, h->mid,
		    &h->subs, &h->nsubs)) != CD_EOK ||
		    (rc = lg_choose_sub(h)) != CD_EOK) {
			snprintf(why, sizeof(why), "EnumerateResponse: %s",
			    cd_strerror(rc));
			lg_fail(t, h, why);
			return;
		}
		struct replay_hdr hd;
		if ((rc = lg_hdr(t, h, &hd, t->o->url)) == CD_EOK) {
			buf_reset(&t->xml);
			rc = replay_msg_end(&t->xml, &hd);
		}
		if (rc == CD_EOK && (rc = lg_plain(t, h)) == CD_EOK) {
			h->phase = PH_END;
			rc = lg_send(t, h);
		}
		if (rc != CD_EOK)
			lg_fail(t, h, cd_strerror(rc));
		return;
	case PH_END:
		if (status != 200 && status != 204)
			break;
		/* Windows closes the enumeration connection. */
		lg_close(t, h);
		h->attempts = 0;
		if ((rc = lg_start_hb(t, h)) != CD_EOK)
			lg_fail(t, h, cd_strerror(rc));
		return;
	case PH_HB:
	case PH_BATCH:
		if (status != 200)
			break;
		if (ack < 0)
			ack = replay_msg_check_ack(text, len, h->mid) == CD_EOK;
		if (!ack) {
			lg_fail(t, h, "reply is not the Ack");
			return;
		}
		if (h->phase == PH_HB) {
			t->res->heartbeats++;
			if (!h->settled)
				lg_settle(t, h, true);
			h->next_hb = lg_now() + t->o->heartbeat;
		} else {
			/* Batches drained after the end count for latency
			 * only, not for throughput. */
			double now = lg_now();
			if (!t->stopping && now >= t->t_count) {
				t->res->events += h->nev;
				t->res->dns_events += h->ndns;
				t->res->batches++;
			}
			if (t->o->batches != 0 && ++h->nbatches >= t->o->batches) {
				/* --batches: this host is done. */
				h->phase = PH_DONE;
				h->attempts = 0;
				lg_plain_release(t, h);
				t->done++;
				if (h->t_sent >= t->t_count)
					lg_result_add(t->res, (now - h->t_sent) * 1e3);
				return;
			}
			/* Latency of batches sent after the warm-up. */
			if (h->t_sent >= t->t_count)
				lg_result_add(t->res, (now - h->t_sent) * 1e3);
		}
		lg_idle(t, h);
		return;
	default:
		return;
	}
	/* Refused (the collector's backpressure) after the run stopped: a
	 * Windows host would send it again later; the run is over, so it is
	 * counted apart, not as an error of the collector. */
	if (status == 503 && t->stopping) {
		t->res->refused_end++;
		lg_give_up(t, h);
		return;
	}
	snprintf(why, sizeof(why), "HTTP %d", status);
	lg_fail(t, h, why);
}

/* Parse h->in; true when a whole response has been handled. */
static bool
lg_parse(struct lg_thr *t, struct lg_host *h)
{
	const char *s = (const char *)h->in.data, *end, *p;
	size_t hlen, clen = 0;
	int status;
	char www[8192] = "";
	bool has_clen = false;

	if (h->in.len < 12 || (end = strstr(s, "\r\n\r\n")) == NULL)
		return false;
	hlen = (size_t)(end - s) + 4;
	if (sscanf(s, "HTTP/1.%*d %d", &status) != 1) {
		lg_fail(t, h, "bad status line");
		return true;
	}
	for (p = strstr(s, "\r\n"); p != NULL && p < end; p = strstr(p + 2, "\r\n")) {
		const char *l = p + 2;
		if (strncasecmp(l, "Content-Length:", 15) == 0) {
			clen = strtoull(l + 15, NULL, 10);
			has_clen = true;
		} else if (strncasecmp(l, "WWW-Authenticate: Kerberos ", 27) == 0) {
			size_t n = strcspn(l + 27, "\r");
			if (n < sizeof(www))
				memcpy(www, l + 27, n), www[n] = '\0';
		} else if (strncasecmp(l, "Transfer-Encoding:", 18) == 0) {
			lg_fail(t, h, "chunked reply");
			return true;
		}
	}
	if (!has_clen && status != 204 && status != 304)
		clen = 0;
	if (h->in.len < hlen + clen)
		return false;
	const uint8_t *body = h->in.data + hlen;
	if (h->authing) {
		if (status != 200 || www[0] == '\0' ||
		    lg_gss_ctx_finish(h->gss, www) != CD_EOK) {
			snprintf(www, sizeof(www), "authentication leg: HTTP %d", status);
			lg_fail(t, h, www);
			return true;
		}
		buf_reset(&h->in);
		int rc = lg_build(t, h);
		if (rc == CD_EOK)
			rc = lg_watch(t, h, true, false);
		if (rc != CD_EOK)
			lg_fail(t, h, cd_strerror(rc));
		return true;
	}
	buf_reset(&t->tmp);
	buf_reset(&t->xml);
	int rc = CD_EOK;
	if (clen > 0 && t->o->keytab != NULL && status == 200) {
		rc = lg_gss_unwrap(h->gss, body, clen, &t->tmp);
		body = t->tmp.data;
		clen = t->tmp.len;
	}
	/* Most replies are the Ack of a batch or heartbeat: recognised
	 * without decoding and parsing them once one has been seen. */
	bool want_ack = status == 200 && (h->phase == PH_BATCH ||
	    h->phase == PH_HB);
	int ack = -1;
	if (rc == CD_EOK && want_ack && lg_ack_match(&t->ack, body, clen,
	    h->mid)) {
		buf_reset(&h->in);
		lg_reply(t, h, status, NULL, 0, 1);
		return true;
	}
	if (rc == CD_EOK && clen > 0)
		rc = utf16_to_utf8(body, clen, "UTF-16", 0, &t->xml);
	const char *text = t->xml.len ? (const char *)t->xml.data : "";
	if (rc == CD_EOK && want_ack) {
		ack = replay_msg_check_ack(text, t->xml.len, h->mid) == CD_EOK;
		if (ack)	/* best effort: a miss only costs speed */
			(void)lg_ack_learn(&t->ack, body, clen, text,
			    t->xml.len, h->mid);
	}
	buf_reset(&h->in);
	if (rc != CD_EOK) {
		lg_fail(t, h, cd_strerror(rc));
		return true;
	}
	lg_reply(t, h, status, text, t->xml.len, ack);
	return true;
}

static void
lg_event(struct lg_thr *t, struct lg_host *h, uint32_t events)
{
	if (h->fd < 0)
		return;
	if (h->want_out) {
		int err = 0;
		socklen_t el = sizeof(err);
		getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err != 0) {
			lg_fail(t, h, strerror(err));
			return;
		}
		size_t blen = h->gbody != NULL ? h->gbody->len :
		    h->body != NULL ? h->body->len : 0;
		while (h->out_off < h->out.len + blen) {
			/* The head, then the body's pieces (IOV_MAX in all). */
			struct iovec iov[1024];
			struct msghdr mh = { .msg_iov = iov };
			size_t off = h->out_off;

			if (off < h->out.len) {
				iov[mh.msg_iovlen].iov_base = h->out.data + off;
				iov[mh.msg_iovlen++].iov_len = h->out.len - off;
				off = h->out.len;
			}
			if (h->gbody != NULL) {
				mh.msg_iovlen += lg_gather_iov(h->gbody,
				    off - h->out.len, iov + mh.msg_iovlen,
				    sizeof(iov) / sizeof(iov[0]) - mh.msg_iovlen);
			} else if (blen > 0) {
				iov[mh.msg_iovlen].iov_base = h->body->data +
				    (off - h->out.len);
				iov[mh.msg_iovlen++].iov_len = blen -
				    (off - h->out.len);
			}
			ssize_t k = sendmsg(h->fd, &mh, MSG_NOSIGNAL);
			if (k < 0 && errno == EAGAIN)
				return;
			if (k < 0) {
				lg_fail(t, h, strerror(errno));
				return;
			}
			h->out_off += (size_t)k;
		}
		buf_free(&h->out);
		buf_free(&h->wire);
		h->body = NULL;
		h->gbody = NULL;
		h->out_off = 0;
		if (lg_watch(t, h, false, false) != CD_EOK)
			lg_fail(t, h, "epoll");
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		if (buf_reserve(&h->in, 65536) != CD_EOK) {
			lg_fail(t, h, "out of memory");
			return;
		}
		ssize_t k = recv(h->fd, h->in.data + h->in.len, 65536, 0);
		if (k < 0 && errno == EAGAIN)
			break;
		if (k <= 0) {
			/* The server closed: a failure only mid-exchange. */
			if (h->phase == PH_IDLE || h->phase == PH_DONE)
				lg_close(t, h);
			else
				lg_fail(t, h, k == 0 ? "connection closed" :
				    strerror(errno));
			return;
		}
		h->in.len += (size_t)k;
		h->in.data[h->in.len] = '\0';
		if (h->in.len > LG_MAX_RESP) {
			lg_fail(t, h, "reply too big");
			return;
		}
	}
	if (h->phase != PH_IDLE && h->phase != PH_DONE)
		lg_parse(t, h);
}

/* Hosts whose back-off ended, and idle hosts due a heartbeat. */
static double
lg_timers(struct lg_thr *t, double now)
{
	double next = now + 0.1;

	for (unsigned i = 0; i < t->n; i++) {
		struct lg_host *h = &t->h[i];
		int rc = CD_EOK;

		if (h->wake < 0) {
			if (-h->wake > now) {
				if (-h->wake < next)
					next = -h->wake;
				continue;
			}
			h->wake = 0;
			if (h->phase == PH_ENUM)
				rc = lg_start_enum(t, h);
			else if (h->phase == PH_RETRY) {
				h->phase = PH_BATCH;
				rc = lg_send(t, h);
			} else
				rc = lg_send(t, h);
			if (rc != CD_EOK)
				lg_fail(t, h, cd_strerror(rc));
		} else if (h->phase == PH_IDLE && t->o->heartbeat > 0 &&
		    t->o->idle > 0 && h->next_hb <= now) {
			h->attempts = 0;
			if ((rc = lg_start_hb(t, h)) != CD_EOK)
				lg_fail(t, h, cd_strerror(rc));
		}
	}
	return next;
}

static int
lg_thr_init(struct lg_thr *t, const struct lg_opts *o, unsigned first)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	size_t b = o->batch;
	int rc;

	if ((rc = replay_url_parse(o->url, &t->url)) != CD_EOK)
		return rc;
	if (getaddrinfo(o->connect ? o->connect : t->url.host, t->url.port,
	    &hints, &ai) != 0 || ai == NULL)
		return CD_ECONFIG;
	memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
	t->alen = ai->ai_addrlen;
	freeaddrinfo(ai);
	if ((t->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -errno;
	t->h = calloc(t->n, sizeof(*t->h));
	t->q = calloc(t->n, sizeof(*t->q));
	if (!t->h || !t->q)
		return -ENOMEM;
	if ((rc = lg_body_init(&t->body, b)) != CD_EOK)
		return rc;
	lg_ack_init(&t->ack);
	buf_init(&t->xml, 0);
	buf_init(&t->tmp, 0);
	buf_init(&t->flat, 0);
	for (unsigned i = 0; i < t->n; i++) {
		struct lg_host *h = &t->h[i];
		h->idx = first + i;
		h->fd = -1;
		lg_host_name(o, h->idx, h->name, sizeof(h->name));
		buf_init(&h->out, 0);
		buf_init(&h->wire, 0);
		buf_init(&h->in, 0);
		buf_init(&h->plain, 0);
		lg_gather_init(&h->batch);
		lg_mix_host_init(&h->mix, o->seed + h->idx);
		if ((rc = soap_new_message_id(h->session)) != CD_EOK)
			return rc;
	}
	return CD_EOK;
}

static void
lg_thr_free(struct lg_thr *t)
{
	for (unsigned i = 0; t->h != NULL && i < t->n; i++) {
		struct lg_host *h = &t->h[i];
		lg_close(t, h);
		buf_free(&h->in);
		buf_free(&h->plain);
		lg_gather_free(&h->batch);
		lg_gss_cred_free(h->cred);
		replay_subs_free(h->subs, h->nsubs);
		replay_url_free(&h->notify);
		replay_bookmark_free(&h->bm);
		free(h->notify_to);
	}
	if (t->ep >= 0)
		close(t->ep);
	free(t->h);
	free(t->q);
	buf_free(&t->flat);
	lg_body_free(&t->body);
	lg_ack_free(&t->ack);
	buf_free(&t->xml);
	buf_free(&t->tmp);
	replay_url_free(&t->url);
}

/* Start set-up of more hosts, at most o->ramp at a time. */
static void
lg_ramp(struct lg_thr *t)
{
	while (t->started < t->n && t->started - t->settled < t->o->ramp) {
		struct lg_host *h = &t->h[t->started++];
		int rc = CD_EOK;

		if (t->o->keytab != NULL) {
			char pr[160];
			size_t k;
			/* The machine account: the short name, upper case, "$". */
			for (k = 0; h->name[k] && h->name[k] != '.' && k < 100; k++)
				pr[k] = (char)(h->name[k] >= 'a' && h->name[k] <= 'z' ?
				    h->name[k] - 32 : h->name[k]);
			pr[k++] = '$';
			pr[k] = '\0';
			rc = lg_gss_cred_new(&h->cred, pr, t->o->keytab);
		}
		if (rc == CD_EOK)
			rc = lg_start_enum(t, h);
		if (rc != CD_EOK) {
			h->attempts = t->o->max_retries;
			h->phase = PH_ENUM;
			lg_fail(t, h, cd_strerror(rc));
		}
	}
}

static void
lg_dispatch(struct lg_thr *t, double now)
{
	while (t->qlen > 0 && !t->stopping) {
		if (t->rate > 0 && now < t->next_slot)
			break;
		struct lg_host *h = &t->h[t->q[t->qhead]];
		t->qhead = (t->qhead + 1) % t->n;
		t->qlen--;
		if (t->rate > 0) {
			/* Do not make up for more than 100 ms of lateness. */
			if (t->next_slot < now - 0.1)
				t->next_slot = now - 0.1;
			t->next_slot += (double)t->o->batch / t->rate;
		}
		int rc = lg_start_batch(t, h);
		if (rc != CD_EOK)
			lg_fail(t, h, cd_strerror(rc));
	}
}

static bool
lg_inflight(const struct lg_thr *t)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->h[i].phase == PH_BATCH || t->h[i].phase == PH_RETRY)
			return true;
	return false;
}

int
lg_conn_run(const struct lg_opts *o, struct lg_mix *m, unsigned first,
    unsigned n, double rate, struct lg_result *res)
{
	struct lg_thr t = { .o = o, .m = m, .res = res, .n = n, .ep = -1,
	    .rate = rate, .t_count = 1e300, .rnd_off = LG_RND };
	struct epoll_event evs[256];
	double t_hold = 0, t_drain = 0, t_scan = 0;
	int rc;

	if (n == 0)
		return CD_EOK;
	if ((rc = lg_thr_init(&t, o, first)) != CD_EOK)
		goto out;
	for (;;) {
		double now = lg_now(), next = now + 0.1;

		/* Timers scan every host: at most every 10 ms, so that the
		 * generator leaves the CPU to the collector it measures. */
		if (now >= t_scan) {
			next = lg_timers(&t, now);
			t_scan = now + 0.01;
		} else if (t_scan < next) {
			next = t_scan;
		}

		lg_ramp(&t);
		if (!t.measuring && atomic_load(&lg_settled_all) >= o->hosts) {
			t.measuring = true;
			t.t_count = now + o->warmup;
			res->t_ready = t.t_count;
			lg_window_mark(&lg_win_start_us, t.t_count);
			t.next_slot = now;
			if (o->ready_file != NULL &&
			    !atomic_exchange(&lg_ready_written, true)) {
				FILE *f = fopen(o->ready_file, "w");
				if (f != NULL)
					fclose(f);
			}
			t_hold = t.t_count + (o->idle > 0 ? o->idle : o->duration);
		}
		if (t.measuring && !t.stopping && (o->batches != 0 ?
		    t.done >= t.n : now >= t_hold)) {
			t.stopping = true;
			res->t_end = now;
			lg_window_mark(&lg_win_end_us, now);
			t_drain = now + 30;
		}
		if (t.stopping && (!lg_inflight(&t) || now >= t_drain))
			break;
		if (t.measuring)
			lg_dispatch(&t, now);
		if (t.rate > 0 && t.qlen > 0 && t.next_slot < next)
			next = t.next_slot;
		/* Rounded up: rounded down, the last millisecond before each
		 * slot was a busy loop of zero timeouts (half the generator's
		 * CPU at a fixed rate). A batch up to 1 ms late does not lower
		 * the rate: the slots are kept on an absolute schedule. */
		double wait = next - lg_now();
		int ms = wait > 0 ? (int)ceil(wait * 1e3) : 0;
		int k = epoll_wait(t.ep, evs, 256, ms);
		for (int i = 0; i < k; i++)
			lg_event(&t, &t.h[evs[i].data.u32], evs[i].events);
	}
out:
	lg_thr_free(&t);
	return rc;
}
