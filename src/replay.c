/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * collectord-replay: replay event files as Windows hosts over WEF.
 *
 * Each simulated host does what the Windows WinRM client does: Enumerate
 * and End on the subscription-manager URL (one connection, then closed),
 * then for every subscription whose query names a channel of its events:
 * a keep-alive connection to NotifyTo, an optional Heartbeat, Events
 * batches with a bookmark each, waiting for the Ack of each before the
 * next, and optionally SubscriptionEnd + End. Hosts are spread over a
 * bounded number of worker threads; a worker advances its hosts in turn,
 * one request each, so a thousand hosts keep a thousand connections open
 * with only a few dozen threads.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "replay.h"
#include "soap.h"
#include "utf16.h"

#define SRC "replay"

struct opts {
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

struct counters {
	uint64_t events, batches, acks, heartbeats, retries, errors, skipped;
	uint64_t subs;
};

enum phase { PH_ENUM, PH_SUB, PH_BATCH, PH_SUB_END, PH_DONE };

struct host {
	char	*name;			/**< MachineID */
	const struct replay_stream *stream;
	bool	 rewrite;		/**< synthesised: splice name/seq ids */
	char	 session[SOAP_MESSAGE_ID_SIZE];
	enum phase phase;
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

struct worker {
	pthread_t tid;
	const struct opts *o;
	struct host **hosts;
	size_t	 nhosts;
	struct counters c;
	double	*lat;			/**< Ack latencies in ms */
	size_t	 nlat, caplat;
	struct buf xml, wire, text;
	struct replay_resp resp;
	const struct replay_event **batch;
};

static struct timespec t_start;
static _Atomic uint64_t scheduled;	/* events reserved under --rate */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static double
now_ms(void)
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

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: collectord-replay --url http://HOST:PORT/PATH [options] FILE...\n"
	    "  --hosts N                 simulate N hosts (default 1), each sending every\n"
	    "                            event with Computer PREFIXi.DOMAIN and RecordIds 1,2,...\n"
	    "  --host-prefix P           (default \"win\"); --host-domain D (default example.com)\n"
	    "  --machine-id-from-events  one host per System/Computer, with its own events\n"
	    "  --batch N                 events per Events message (default 100)\n"
	    "  --heartbeat               send a Heartbeat before the first batch\n"
	    "  --end                     finish with SubscriptionEnd and End\n"
	    "  --rate EVENTS/S           pace all hosts together (default: as fast as acked)\n"
	    "  --connections-per-host K  keep-alive connections per delivery, used in turn\n"
	    "  --threads N               worker threads (default min(hosts, 64))\n"
	    "  --max-retries N           per request (default 8); --retry-ms MS first backoff\n"
	    "  --timeout-ms MS           per connect/send/receive (default 60000)\n"
	    "  --print-bookmark          print the bookmark of each Enumerate and the last\n"
	    "                            acked one per (host, subscription)\n"
	    "  --enumerate-only          Enumerate and End only (with --print-bookmark)\n");
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "hosts", required_argument, NULL, 'n' },
		{ "host-prefix", required_argument, NULL, 'p' },
		{ "host-domain", required_argument, NULL, 'd' },
		{ "batch", required_argument, NULL, 'b' },
		{ "heartbeat", no_argument, NULL, 'H' },
		{ "end", no_argument, NULL, 'E' },
		{ "rate", required_argument, NULL, 'r' },
		{ "connections-per-host", required_argument, NULL, 'k' },
		{ "machine-id-from-events", no_argument, NULL, 'm' },
		{ "print-bookmark", no_argument, NULL, 'P' },
		{ "enumerate-only", no_argument, NULL, 'O' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-retries", required_argument, NULL, 'R' },
		{ "retry-ms", required_argument, NULL, 'w' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	*o = (struct opts){ .hosts = 1, .host_prefix = "win",
	    .host_domain = "example.com", .batch = 100, .conns = 1,
	    .max_retries = 8, .retry_ms = 200, .timeout_ms = 60000 };
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'u': o->url = optarg; break;
		case 'n': o->hosts = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p': o->host_prefix = optarg; break;
		case 'd': o->host_domain = optarg; break;
		case 'b': o->batch = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'H': o->heartbeat = true; break;
		case 'E': o->end = true; break;
		case 'r': o->rate = strtod(optarg, NULL); break;
		case 'k': o->conns = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'm': o->from_events = true; break;
		case 'P': o->print_bookmark = true; break;
		case 'O': o->enumerate_only = true; break;
		case 't': o->threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'R': o->max_retries = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'w': o->retry_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'T': o->timeout_ms = atoi(optarg); break;
		case 'h': usage(stdout); exit(0);
		default: return CD_ECONFIG;
		}
	}
	if (o->url == NULL || o->hosts == 0 || o->batch == 0 ||
	    o->conns == 0 || (optind >= argc && !o->enumerate_only))
		return CD_ECONFIG;
	return CD_EOK;
}

/*
 * One request: UTF-8 envelope -> UTF-16LE with BOM -> POST; a body in the
 * reply is converted back to UTF-8 into w->text.
 */
static int
post(struct worker *w, struct replay_http *c, const char *path)
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
exchange(struct worker *w, struct host *h, struct replay_http *c,
    const char *path, const char *ack_id, double *latency)
{
	double backoff = w->o->retry_ms;
	int rc;

	for (unsigned attempt = 0;; attempt++) {
		double t0 = now_ms();

		rc = post(w, c, path);
		if (rc == CD_EOK && ack_id == NULL &&
		    (w->resp.status == 200 || w->resp.status == 204))
			return CD_EOK;
		if (rc == CD_EOK && ack_id != NULL && w->resp.status == 200) {
			rc = replay_msg_check_ack((const char *)w->text.data,
			    w->text.len, ack_id);
			if (rc == CD_EOK) {
				if (latency != NULL)
					*latency = now_ms() - t0;
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
record_latency(struct worker *w, double ms)
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
print_bookmark(const char *what, const struct host *h,
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
host_enumerate(struct worker *w, struct host *h)
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
host_has_channel(const struct host *h, const struct replay_sub *s)
{
	for (size_t i = 0; i < h->stream->n; i++)
		if (replay_sub_wants(s, h->stream->ev[i]->channel))
			return true;
	return false;
}

static void
host_close_delivery(struct host *h, unsigned nconn)
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
host_sub_start(struct worker *w, struct host *h)
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
host_next_batch(struct worker *w, struct host *h)
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
host_send_batch(struct worker *w, struct host *h, size_t n)
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
		sleep_ms((double)k / w->o->rate * 1e3 - now_ms());
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
host_sub_end(struct worker *w, struct host *h)
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
host_step(struct worker *w, struct host *h)
{
	int rc = CD_EOK;
	size_t n;

	switch (h->phase) {
	case PH_ENUM:
		rc = host_enumerate(w, h);
		h->cur = 0;
		h->phase = w->o->enumerate_only ? PH_DONE : PH_SUB;
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
	case PH_SUB:
		while (h->cur < h->nsubs &&
		    !host_has_channel(h, &h->subs[h->cur]))
			h->cur++;
		if (h->cur == h->nsubs) {
			h->phase = PH_DONE;
			break;
		}
		rc = host_sub_start(w, h);
		h->phase = PH_BATCH;
		break;
	case PH_BATCH:
		if ((n = host_next_batch(w, h)) == 0)
			h->phase = PH_SUB_END;
		else
			rc = host_send_batch(w, h, n);
		break;
	case PH_SUB_END:
		rc = host_sub_end(w, h);
		host_close_delivery(h, w->o->conns);
		h->cur++;
		h->phase = PH_SUB;
		break;
	case PH_DONE:
		break;
	}
	if (rc != CD_EOK) {
		log_err(SRC, "%s: giving up: %s", h->name, cd_strerror(rc));
		w->c.errors++;
		h->failed = true;
		host_close_delivery(h, w->o->conns);
		h->phase = PH_DONE;
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	bool active = true;

	while (active) {
		active = false;
		for (size_t i = 0; i < w->nhosts; i++) {
			if (w->hosts[i]->phase == PH_DONE)
				continue;
			host_step(w, w->hosts[i]);
			active = true;
		}
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values. */
static double
percentile(const double *v, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)ceil(p / 100 * (double)n);
	return v[k == 0 ? 0 : k - 1];
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct replay_set *set = NULL;
	struct replay_stream *streams = NULL, all = { 0 };
	size_t nstreams = 0, nhosts = 0, nw = 0;
	struct host *hosts = NULL;
	struct worker *ws = NULL;
	struct counters tot = { 0 };
	double *lat = NULL, elapsed;
	size_t nlat = 0;
	bool failed = false;
	struct rlimit rl;
	int rc, status = 1;

	if (parse_opts(argc, argv, &o) != CD_EOK) {
		usage(stderr);
		return 2;
	}
	soap_init();
	/* A thousand hosts keep a thousand connections open: lift the soft
	 * descriptor limit to the hard one. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	if (optind < argc &&
	    (rc = replay_set_load(argv + optind, (size_t)(argc - optind),
	    &set)) != CD_EOK)
		goto out;
	if (o.from_events) {
		if (set == NULL ||
		    replay_set_by_computer(set, &streams, &nstreams) != CD_EOK)
			goto out;
		nhosts = nstreams;
	} else {
		nhosts = o.hosts;
		all.n = set != NULL ? set->n : 0;
		if ((all.ev = calloc(all.n + 1, sizeof(*all.ev))) == NULL)
			goto out;
		for (size_t i = 0; i < all.n; i++)
			all.ev[i] = &set->ev[i];
	}
	if (nhosts == 0) {
		log_err(SRC, "no events, no hosts");
		goto out;
	}
	if ((hosts = calloc(nhosts, sizeof(*hosts))) == NULL)
		goto out;
	for (size_t i = 0; i < nhosts; i++) {
		struct host *h = &hosts[i];

		if (o.from_events) {
			h->stream = &streams[i];
			h->name = strdup(streams[i].ev[0]->computer);
		} else {
			h->stream = &all;
			h->rewrite = true;
			if (asprintf(&h->name, "%s%zu.%s", o.host_prefix, i + 1,
			    o.host_domain) < 0)
				h->name = NULL;
		}
		if (h->name == NULL || soap_new_message_id(h->session) != CD_EOK)
			goto out;
	}
	nw = o.threads != 0 ? o.threads : 64;
	if (nw > nhosts)
		nw = nhosts;
	if ((ws = calloc(nw, sizeof(*ws))) == NULL)
		goto out;
	for (size_t i = 0; i < nw; i++) {
		struct worker *w = &ws[i];

		w->o = &o;
		buf_init(&w->xml, 0);
		buf_init(&w->wire, 0);
		buf_init(&w->text, 0);
		buf_init(&w->resp.body, 0);
		w->hosts = calloc(nhosts / nw + 1, sizeof(*w->hosts));
		w->batch = calloc(o.batch, sizeof(*w->batch));
		if (w->hosts == NULL || w->batch == NULL)
			goto out;
		for (size_t k = i; k < nhosts; k += nw)
			w->hosts[w->nhosts++] = &hosts[k];
	}
	for (size_t i = 0; i < nw; i++)
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0)
			fatal(SRC, "pthread_create failed");
	for (size_t i = 0; i < nw; i++)
		pthread_join(ws[i].tid, NULL);
	elapsed = now_ms() / 1e3;

	for (size_t i = 0; i < nw; i++)
		nlat += ws[i].nlat;
	if ((lat = calloc(nlat + 1, sizeof(*lat))) == NULL)
		goto out;
	nlat = 0;
	for (size_t i = 0; i < nw; i++) {
		struct counters *c = &ws[i].c;

		if (ws[i].nlat > 0)
			memcpy(lat + nlat, ws[i].lat, ws[i].nlat * sizeof(*lat));
		nlat += ws[i].nlat;
		tot.events += c->events;
		tot.batches += c->batches;
		tot.acks += c->acks;
		tot.heartbeats += c->heartbeats;
		tot.retries += c->retries;
		tot.errors += c->errors;
		tot.skipped += c->skipped;
		tot.subs += c->subs;
	}
	for (size_t i = 0; i < nhosts; i++)
		failed = failed || hosts[i].failed;
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	printf("replay: hosts=%zu subscriptions=%llu events=%llu batches=%llu "
	    "acks=%llu heartbeats=%llu retries=%llu errors=%llu skipped=%llu "
	    "elapsed=%.3fs events/s=%.1f ack_ms p50=%.2f p99=%.2f "
	    "p99.9=%.2f\n", nhosts, (unsigned long long)tot.subs,
	    (unsigned long long)tot.events, (unsigned long long)tot.batches,
	    (unsigned long long)tot.acks, (unsigned long long)tot.heartbeats,
	    (unsigned long long)tot.retries, (unsigned long long)tot.errors,
	    (unsigned long long)tot.skipped, elapsed,
	    elapsed > 0 ? (double)tot.events / elapsed : 0,
	    percentile(lat, nlat, 50), percentile(lat, nlat, 99),
	    percentile(lat, nlat, 99.9));
	status = !failed && tot.errors == 0 && tot.acks == tot.batches ? 0 : 1;
out:
	for (size_t i = 0; ws != NULL && i < nw; i++) {
		buf_free(&ws[i].xml);
		buf_free(&ws[i].wire);
		buf_free(&ws[i].text);
		buf_free(&ws[i].resp.body);
		free(ws[i].hosts);
		free(ws[i].batch);
		free(ws[i].lat);
	}
	free(ws);
	for (size_t i = 0; hosts != NULL && i < nhosts; i++) {
		free(hosts[i].name);
		replay_subs_free(hosts[i].subs, hosts[i].nsubs);
		replay_bookmark_free(&hosts[i].bm);
	}
	free(hosts);
	free(lat);
	free(all.ev);
	replay_streams_free(streams, nstreams);
	replay_set_free(set);
	soap_cleanup();
	return status;
}
