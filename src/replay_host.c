/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One simulated host's conversation, as the Windows WinRM client has it:
 * Enumerate + End on the subscription-manager URL (one connection, closed
 * afterwards); then per subscription whose query names a channel of the
 * host's events: keep-alive connection(s) to NotifyTo, an optional
 * Heartbeat, Events batches each waiting for its Ack, and optionally
 * SubscriptionEnd + End. A worker advances its hosts in turn, one request
 * each, so many hosts share few threads while all keep their connections.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "replay.h"
#include "soap.h"
#include "utf16.h"

#define SRC "replay"

static void	sleep_ms(double);
static int	post(struct replay_worker *, struct replay_http *, const char *);
static int	exchange(struct replay_worker *, struct replay_host *,
		    struct replay_http *, const char *, const char *, double *);
static int	record_latency(struct replay_worker *, double);
static void	print_bookmark(const char *, const struct replay_host *,
		    const struct replay_sub *, const struct replay_bookmark *);
static int	host_enumerate(struct replay_worker *, struct replay_host *);
static bool	host_has_channel(const struct replay_host *,
		    const struct replay_sub *);
static void	host_close_delivery(struct replay_host *, unsigned);
static int	host_sub_start(struct replay_worker *, struct replay_host *);
static size_t	host_next_batch(struct replay_worker *, struct replay_host *);
static int	host_send_batch(struct replay_worker *, struct replay_host *,
		    size_t);
static int	host_sub_end(struct replay_worker *, struct replay_host *);
static void	host_step(struct replay_worker *, struct replay_host *);

static struct timespec t_start;
static _Atomic uint64_t scheduled;	/* events reserved under --rate */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

void
replay_host_clock_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &t_start);
}

double
replay_host_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)(ts.tv_sec - t_start.tv_sec) * 1e3 +
	    (double)(ts.tv_nsec - t_start.tv_nsec) / 1e6;
}

static void
sleep_ms(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1e3);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1e3) * 1e6);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * One request: UTF-8 envelope -> UTF-16LE with BOM -> POST; a body in the
 * reply is converted back to UTF-8 into w->text.
 */
static int
post(struct replay_worker *w, struct replay_http *c, const char *path)
{
	const char *cs;
	int rc;

	buf_reset(&w->wire);
	rc = utf8_to_utf16le_bom((const char *)w->xml.data, w->xml.len,
	    &w->wire);
	if (rc != CD_EOK)
		return rc;
	if ((rc = replay_http_post(c, path, w->wire.data, w->wire.len,
	    &w->resp)) != CD_EOK)
		return rc;
	buf_reset(&w->text);
	if (w->resp.body.len == 0)
		return CD_EOK;
	cs = strcasestr(w->resp.ctype, "charset=");
	return utf16_to_utf8(w->resp.body.data, w->resp.body.len,
	    cs != NULL ? cs + 8 : NULL, 0, &w->text);
}

/*
 * Send what w->xml holds until it is answered as expected, retrying after
 * a doubling backoff on transport errors, non-2xx statuses and bad Acks.
 * ack_id: the MessageID an Ack must relate to, or NULL when any 200/204 is
 * fine (End). Returns CD_EOK, or the last error once retries are spent.
 */
static int
exchange(struct replay_worker *w, struct replay_host *h, struct replay_http *c,
    const char *path, const char *ack_id, double *latency)
{
	double backoff = w->o->retry_ms;
	int rc;

	for (unsigned attempt = 0;; attempt++) {
		double t0 = replay_host_now_ms();

		rc = post(w, c, path);
		if (rc == CD_EOK && ack_id == NULL &&
		    (w->resp.status == 200 || w->resp.status == 204))
			return CD_EOK;
		if (rc == CD_EOK && ack_id != NULL && w->resp.status == 200) {
			rc = replay_msg_check_ack((const char *)w->text.data,
			    w->text.len, ack_id);
			if (rc == CD_EOK) {
				if (latency != NULL)
					*latency = replay_host_now_ms() - t0;
				return CD_EOK;
			}
			log_warn(SRC, "%s: reply to %s is not its Ack", h->name,
			    ack_id);
		} else if (rc == CD_EOK) {
			log_warn(SRC, "%s: %s answered HTTP %d", h->name, path,
			    w->resp.status);
			rc = CD_EBUSY;
		} else {
			log_warn(SRC, "%s: %s: %s", h->name, path,
			    cd_strerror(rc));
		}
		if (attempt >= w->o->max_retries)
			return rc;
		w->c.retries++;
		sleep_ms(backoff);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
}

static int
record_latency(struct replay_worker *w, double ms)
{
	if (w->nlat == w->caplat) {
		size_t cap = w->caplat ? w->caplat * 2 : 1024;
		double *v = realloc(w->lat, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		w->lat = v;
		w->caplat = cap;
	}
	w->lat[w->nlat++] = ms;
	return CD_EOK;
}

static void
print_bookmark(const char *what, const struct replay_host *h,
    const struct replay_sub *s, const struct replay_bookmark *bm)
{
	struct buf b;

	buf_init(&b, 0);
	if (replay_bookmark_summary(bm, &b) == CD_EOK) {
		pthread_mutex_lock(&out_lock);
		printf("%s %s %s %s\n", what, h->name,
		    s->version != NULL ? s->version : "-", (char *)b.data);
		fflush(stdout);
		pthread_mutex_unlock(&out_lock);
	}
	buf_free(&b);
}

/* Enumerate, then End, on one connection that is closed afterwards. */
static int
host_enumerate(struct replay_worker *w, struct replay_host *h)
{
	struct replay_url u;
	struct replay_http *c = NULL;
	char mid[SOAP_MESSAGE_ID_SIZE], opid[SOAP_MESSAGE_ID_SIZE];
	struct replay_hdr hd = { .to = w->o->url, .machine_id = h->name,
	    .message_id = mid, .session_id = h->session, .operation_id = opid };
	int rc;

	if ((rc = replay_url_parse(w->o->url, &u)) != CD_EOK)
		return rc;
	if ((rc = replay_http_new(&c, u.host, u.port, u.hostport,
	    w->o->timeout_ms)) != CD_EOK)
		goto out;
	if ((rc = soap_new_message_id(mid)) != CD_EOK ||
	    (rc = soap_new_message_id(opid)) != CD_EOK)
		goto out;
	buf_reset(&w->xml);
	if ((rc = replay_msg_enumerate(&w->xml, &hd)) != CD_EOK ||
	    (rc = exchange(w, h, c, u.path, NULL, NULL)) != CD_EOK)
		goto out;
	rc = CD_EPARSE;
	if (w->resp.status != 200)
		goto out;
	rc = replay_msg_parse_enumerate_response((const char *)w->text.data,
	    w->text.len, mid, &h->subs, &h->nsubs);
	if (rc != CD_EOK) {
		log_err(SRC, "%s: bad EnumerateResponse", h->name);
		goto out;
	}
	for (size_t i = 0; i < h->nsubs && w->o->print_bookmark; i++)
		print_bookmark("enumerate-bookmark", h, &h->subs[i],
		    &h->subs[i].bookmark);
	/* End reuses the Enumerate's OperationID (end.xml). */
	if ((rc = soap_new_message_id(mid)) != CD_EOK)
		goto out;
	buf_reset(&w->xml);
	if ((rc = replay_msg_end(&w->xml, &hd)) != CD_EOK)
		goto out;
	rc = exchange(w, h, c, u.path, NULL, NULL);
out:
	replay_http_free(c);
	replay_url_free(&u);
	return rc;
}

static bool
host_has_channel(const struct replay_host *h, const struct replay_sub *s)
{
	for (size_t i = 0; i < h->stream->n; i++)
		if (replay_sub_wants(s, h->stream->ev[i]->channel))
			return true;
	return false;
}

static void
host_close_delivery(struct replay_host *h, unsigned nconn)
{
	for (unsigned i = 0; h->conn != NULL && i < nconn; i++)
		replay_http_free(h->conn[i]);
	free(h->conn);
	h->conn = NULL;
	free(h->notify_to);
	h->notify_to = NULL;
	replay_url_free(&h->notify);
	replay_bookmark_free(&h->bm);
}

/* Set up delivery of subscription h->cur: connections and bookmark. */
static int
host_sub_start(struct replay_worker *w, struct replay_host *h)
{
	const struct replay_sub *s = &h->subs[h->cur];
	char mid[SOAP_MESSAGE_ID_SIZE], opid[SOAP_MESSAGE_ID_SIZE];
	struct replay_hdr hd = { .machine_id = h->name, .message_id = mid,
	    .session_id = h->session, .operation_id = opid, .refs = s->refs,
	    .nrefs = s->nrefs };
	int rc;

	if ((rc = replay_url_parse(s->notify_to, &h->notify)) != CD_EOK) {
		log_err(SRC, "%s: NotifyTo %s: %s", h->name, s->notify_to,
		    cd_strerror(rc));
		return rc;
	}
	/* Windows writes "http://" in a:To whatever case NotifyTo had. */
	if ((h->notify_to = strdup(s->notify_to)) == NULL)
		return -ENOMEM;
	memcpy(h->notify_to, "http", 4);
	if ((h->conn = calloc(w->o->conns, sizeof(*h->conn))) == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < w->o->conns; i++)
		if ((rc = replay_http_new(&h->conn[i], h->notify.host,
		    h->notify.port, h->notify.hostport,
		    w->o->timeout_ms)) != CD_EOK)
			return rc;
	/* Resume after the bookmark the collector handed out, as Windows
	 * does when it (re)creates a subscription. */
	if ((rc = replay_bookmark_copy(&h->bm, &s->bookmark)) != CD_EOK)
		return rc;
	h->pos = 0;
	w->c.subs++;
	if (!w->o->heartbeat)
		return CD_EOK;
	hd.to = h->notify_to;
	if ((rc = soap_new_message_id(mid)) != CD_EOK ||
	    (rc = soap_new_message_id(opid)) != CD_EOK)
		return rc;
	buf_reset(&w->xml);
	if ((rc = replay_msg_heartbeat(&w->xml, &hd)) != CD_EOK)
		return rc;
	if ((rc = exchange(w, h, h->conn[0], h->notify.path, mid,
	    NULL)) != CD_EOK)
		return rc;
	w->c.heartbeats++;
	return CD_EOK;
}

/* Gather the next batch; 0 events means the stream is done. */
static size_t
host_next_batch(struct replay_worker *w, struct replay_host *h)
{
	const struct replay_sub *s = &h->subs[h->cur];
	size_t n = 0, max = w->o->batch, bytes = 4096;

	if (s->max_elements != 0 && s->max_elements < max)
		max = s->max_elements;
	while (h->pos < h->stream->n && n < max) {
		const struct replay_event *e = h->stream->ev[h->pos];
		uint64_t rid = h->rewrite ? e->seq_id : e->record_id;
		const struct replay_mark *m;

		if (!replay_sub_wants(s, e->channel)) {
			h->pos++;
			continue;
		}
		m = replay_bookmark_find(&h->bm, e->channel);
		if (m != NULL && rid <= m->record_id) {
			w->c.skipped++;
			h->pos++;
			continue;
		}
		/* MaxEnvelopeSize is in octets of UTF-16: two per char. */
		if (s->max_envelope != 0 && n > 0 &&
		    (bytes + e->len + 128) * 2 > s->max_envelope)
			break;
		bytes += e->len + 128;
		w->batch[n++] = e;
		h->pos++;
	}
	return n;
}

static int
host_send_batch(struct replay_worker *w, struct replay_host *h, size_t n)
{
	const struct replay_sub *s = &h->subs[h->cur];
	char mid[SOAP_MESSAGE_ID_SIZE], opid[SOAP_MESSAGE_ID_SIZE];
	struct replay_hdr hd = { .to = h->notify_to, .machine_id = h->name,
	    .message_id = mid, .session_id = h->session, .operation_id = opid,
	    .refs = s->refs, .nrefs = s->nrefs };
	struct buf bmx;
	double lat = 0;
	int rc;

	if (w->o->rate > 0) {
		uint64_t k = atomic_fetch_add(&scheduled, n);
		sleep_ms((double)k / w->o->rate * 1e3 - replay_host_now_ms());
	}
	for (size_t i = 0; i < n; i++) {
		const struct replay_event *e = w->batch[i];

		rc = replay_bookmark_set(&h->bm, e->channel,
		    h->rewrite ? e->seq_id : e->record_id);
		if (rc != CD_EOK)
			return rc;
	}
	buf_init(&bmx, 0);
	if ((rc = replay_bookmark_render(&h->bm, &bmx)) != CD_EOK ||
	    (rc = soap_new_message_id(mid)) != CD_EOK ||
	    (rc = soap_new_message_id(opid)) != CD_EOK)
		goto out;
	buf_reset(&w->xml);
	rc = replay_msg_events(&w->xml, &hd, (const char *)bmx.data,
	    w->batch, n, h->rewrite ? h->name : NULL);
	if (rc != CD_EOK)
		goto out;
	w->c.batches++;
	rc = exchange(w, h, h->conn[h->next_conn++ % w->o->conns],
	    h->notify.path, mid, &lat);
	if (rc != CD_EOK)
		goto out;
	w->c.acks++;
	w->c.events += n;
	rc = record_latency(w, lat);
out:
	buf_free(&bmx);
	return rc;
}

static int
host_sub_end(struct replay_worker *w, struct replay_host *h)
{
	const struct replay_sub *s = &h->subs[h->cur];
	struct replay_url u;
	struct replay_http *c = NULL;
	char mid[SOAP_MESSAGE_ID_SIZE], opid[SOAP_MESSAGE_ID_SIZE], *to = NULL;
	struct replay_hdr hd = { .machine_id = h->name, .message_id = mid,
	    .session_id = h->session, .operation_id = opid,
	    .refs = s->end_refs, .nrefs = s->nend_refs };
	int rc;

	if (w->o->print_bookmark)
		print_bookmark("acked-bookmark", h, s, &h->bm);
	if (!w->o->end)
		return CD_EOK;
	if ((rc = replay_url_parse(s->end_to, &u)) != CD_EOK)
		return rc;
	if ((to = strdup(s->end_to)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(to, "http", 4);
	hd.to = to;
	if ((rc = replay_http_new(&c, u.host, u.port, u.hostport,
	    w->o->timeout_ms)) != CD_EOK)
		goto out;
	if ((rc = soap_new_message_id(mid)) != CD_EOK ||
	    (rc = soap_new_message_id(opid)) != CD_EOK)
		goto out;
	buf_reset(&w->xml);
	/* SubscriptionEnd: Ack or an empty 200/204 are both fine (1.9). */
	if ((rc = replay_msg_subscription_end(&w->xml, &hd)) != CD_EOK ||
	    (rc = exchange(w, h, c, u.path, NULL, NULL)) != CD_EOK)
		goto out;
	/* Then End to the delivery URL with the same OperationID (errata 2). */
	if ((rc = soap_new_message_id(mid)) != CD_EOK)
		goto out;
	buf_reset(&w->xml);
	if ((rc = replay_msg_end(&w->xml, &hd)) == CD_EOK)
		rc = exchange(w, h, c, u.path, NULL, NULL);
out:
	free(to);
	replay_http_free(c);
	replay_url_free(&u);
	return rc;
}

/* Advance one host by one request (or one phase change). */
static void
host_step(struct replay_worker *w, struct replay_host *h)
{
	int rc = CD_EOK;
	size_t n;

	switch (h->phase) {
	case REPLAY_PH_ENUM:
		rc = host_enumerate(w, h);
		h->cur = 0;
		h->phase = w->o->enumerate_only ? REPLAY_PH_DONE : REPLAY_PH_SUB;
		if (rc == CD_EOK && !w->o->enumerate_only) {
			bool any = false;

			for (size_t i = 0; i < h->nsubs; i++)
				any = any || host_has_channel(h, &h->subs[i]);
			if (!any) {
				log_err(SRC, "%s: no subscription asks for the "
				    "channels of its events", h->name);
				rc = CD_ENOTFOUND;
			}
		}
		break;
	case REPLAY_PH_SUB:
		while (h->cur < h->nsubs &&
		    !host_has_channel(h, &h->subs[h->cur]))
			h->cur++;
		if (h->cur == h->nsubs) {
			h->phase = REPLAY_PH_DONE;
			break;
		}
		rc = host_sub_start(w, h);
		h->phase = REPLAY_PH_BATCH;
		break;
	case REPLAY_PH_BATCH:
		if ((n = host_next_batch(w, h)) == 0)
			h->phase = REPLAY_PH_SUB_END;
		else
			rc = host_send_batch(w, h, n);
		break;
	case REPLAY_PH_SUB_END:
		rc = host_sub_end(w, h);
		host_close_delivery(h, w->o->conns);
		h->cur++;
		h->phase = REPLAY_PH_SUB;
		break;
	case REPLAY_PH_DONE:
		break;
	}
	if (rc != CD_EOK) {
		log_err(SRC, "%s: giving up: %s", h->name, cd_strerror(rc));
		w->c.errors++;
		h->failed = true;
		host_close_delivery(h, w->o->conns);
		h->phase = REPLAY_PH_DONE;
	}
}

void *
replay_host_worker(void *arg)
{
	struct replay_worker *w = arg;
	bool active = true;

	while (active) {
		active = false;
		for (size_t i = 0; i < w->nhosts; i++) {
			if (w->hosts[i]->phase == REPLAY_PH_DONE)
				continue;
			host_step(w, w->hosts[i]);
			active = true;
		}
	}
	return NULL;
}
