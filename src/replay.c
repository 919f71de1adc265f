/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * collectord-replay: replay event files as Windows hosts over WEF.
 * This file: options, the host list, threads and the summary line; the
 * conversation itself is in replay_host.c.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "err.h"
#include "log.h"
#include "replay.h"
#include "soap.h"

#define SRC "replay"

static void	usage(FILE *);
static int	parse_opts(int, char **, struct replay_opts *);
static int	cmp_double(const void *, const void *);
static double	percentile(const double *, size_t, double);

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
parse_opts(int argc, char **argv, struct replay_opts *o)
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

	*o = (struct replay_opts){ .hosts = 1, .host_prefix = "win",
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
	struct replay_opts o;
	struct replay_set *set = NULL;
	struct replay_stream *streams = NULL, all = { 0 };
	size_t nstreams = 0, nhosts = 0, nw = 0;
	struct replay_host *hosts = NULL;
	struct replay_worker *ws = NULL;
	struct replay_counters tot = { 0 };
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
	replay_host_clock_start();
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
		struct replay_host *h = &hosts[i];

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
		struct replay_worker *w = &ws[i];

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
		if (pthread_create(&ws[i].tid, NULL, replay_host_worker, &ws[i]) != 0)
			fatal(SRC, "pthread_create failed");
	for (size_t i = 0; i < nw; i++)
		pthread_join(ws[i].tid, NULL);
	elapsed = replay_host_now_ms() / 1e3;

	for (size_t i = 0; i < nw; i++)
		nlat += ws[i].nlat;
	if ((lat = calloc(nlat + 1, sizeof(*lat))) == NULL)
		goto out;
	nlat = 0;
	for (size_t i = 0; i < nw; i++) {
		struct replay_counters *c = &ws[i].c;

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
