/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * collectord-loadgen: load generator and benchmark client for a WEF
 * collector. It simulates N Windows hosts (loadgen_conn.c) sending a Sysmon
 * event mix modelled on real data (loadgen_mix.c), optionally over Kerberos
 * (loadgen_gss.c), at a fixed rate or as fast as possible, and prints one
 * "key=value" line: throughput, Ack latency percentiles, errors, retries.
 * --parse-only measures instead the ceiling of collectord's own decoding
 * and parsing over the same batches, without HTTP or store; --api also
 * times domain lookups through the REST API while the load runs.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "event.h"
#include "loadgen.h"
#include "log.h"
#include "soap.h"
#include "utf16.h"

#ifndef LG_DATA_DIR
#define LG_DATA_DIR "tests/data/sysmon"
#endif

static const char *api_url;
static bool parse_careful;	/* --decode-careful: utf16_to_utf8_careful() */
static unsigned api_rate = 50;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: collectord-loadgen [options] URL\n"
	    "  URL                     the subscription manager, e.g.\n"
	    "                          http://127.0.0.1:5985/wsman/SubscriptionManager/WEC\n"
	    "  --hosts N               simulated Windows hosts (default 1000)\n"
	    "  --batch N               events per Events batch (default 100; Windows: 10..230)\n"
	    "  --rate R                events/s over all hosts (default 0: as fast as possible)\n"
	    "  --duration S            seconds of measurement after the warm-up (default 10)\n"
	    "  --batches N             each host sends N batches, then the run ends\n"
	    "                          (instead of --duration; counts are then exact)\n"
	    "  --warmup S              seconds of load after set-up before measuring (default 0)\n"
	    "  --threads N             epoll threads (default 1)\n"
	    "  --idle S                only connect, heartbeat and hold the connections S seconds\n"
	    "  --heartbeat S           heartbeat interval of idle hosts (default 0: none)\n"
	    "  --ready-file PATH       created once every host is set up\n"
	    "  --connect ADDR          address to dial (default: the URL's host)\n"
	    "  --prefix P --domain D   host names P00001.D (default ws, bench.example)\n"
	    "  --kerberos KEYTAB       authenticate each host as P00001$ (upper case) from\n"
	    "                          KEYTAB and encrypt every message, as Windows does\n"
	    "  --spn NAME              service principal (default HTTP/<URL host>)\n"
	    "  --ramp N                hosts setting up at once (default 200)\n"
	    "  --retries N             re-sends of one request before giving up (default 20)\n"
	    "  --timeout-ms MS         (unused by epoll mode; kept for symmetry) \n"
	    "  --data DIR              Sysmon event files (default " LG_DATA_DIR ")\n"
	    "  --seed N                random seed (default 1)\n"
	    "  --api URL               also look up domains at URL (http://127.0.0.1:8080)\n"
	    "  --api-rate N            lookups per second (default 50)\n"
	    "  --parse-only            time collectord's decode + SOAP + event parsing of\n"
	    "                          the same batches, no HTTP, no store (uses --threads)\n"
	    "  --decode-careful        parse-only: decode with utf16_to_utf8_careful(), as\n"
	    "                          collectord did before its iconv fast path\n"
	    "  --daemon-pid PID        also report that process's CPU seconds over the\n"
	    "                          measured window, and events per CPU-second of it\n"
	    "  --show-mix              print the figures measured from the data and exit\n");
}

enum { OPT_HOSTS = 256, OPT_BATCH, OPT_WARMUP, OPT_BATCHES, OPT_RATE, OPT_DURATION, OPT_THREADS,
    OPT_IDLE, OPT_HB, OPT_READY, OPT_CONNECT, OPT_PREFIX, OPT_DOMAIN,
    OPT_KRB, OPT_SPN, OPT_RAMP, OPT_RETRIES, OPT_TIMEOUT, OPT_DATA,
    OPT_SEED, OPT_API, OPT_API_RATE, OPT_PARSE, OPT_MIX, OPT_CAREFUL, OPT_PID, OPT_HELP };

/* CPU seconds (user + system) this process used so far. */
static double
cpu_secs(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* CPU seconds (user + system, all threads) process pid used so far, from
 * /proc/PID/stat; -1 when it cannot be read. */
static double
proc_cpu_secs(int pid)
{
	char path[64], line[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	/* The command name is in parentheses and may hold spaces: the fields
	 * after it start past the last ')'. utime and stime are the 12th and
	 * 13th from there (fields 14 and 15 of proc(5)). */
	if ((p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* ---- domain lookups through the API ---- */

struct api_run {
	pthread_t tid;
	_Atomic bool stop;
	struct lg_result r;
	struct lg_mix *m;
};

static size_t
api_sink(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

static void *
api_main(void *arg)
{
	struct api_run *a = arg;
	struct lg_mix_host mh;
	struct buf text;
	size_t off, len;
	uint64_t ndns;
	CURL *c = curl_easy_init();
	char url[1024];

	buf_init(&text, 0);
	lg_mix_host_init(&mh, 4242);
	if (c == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, api_sink);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	while (!atomic_load(&a->stop)) {
		/* Names as the mix draws them: mostly the head. */
		const char *q, *e;
		buf_reset(&text);
		ndns = 0;
		while (ndns == 0) {
			buf_reset(&text);
			lg_mix_events(a->m, &mh, "api", 1, &text, &off, &len, &ndns);
		}
		q = strstr((const char *)text.data, "<Data Name='QueryName'>");
		if (q == NULL)
			continue;
		q += 23;
		e = strchr(q, '<');
		snprintf(url, sizeof(url), "%s/api/v1/domains/%.*s", api_url,
		    (int)(e - q), q);
		curl_easy_setopt(c, CURLOPT_URL, url);
		double t0 = lg_now();
		CURLcode cc = curl_easy_perform(c);
		double ms = (lg_now() - t0) * 1e3;
		long code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (cc != CURLE_OK || (code != 200 && code != 404))
			a->r.errors++;
		else {
			a->r.events++;
			if (lg_result_add(&a->r, ms) != CD_EOK)
				break;
		}
		double wait = 1.0 / api_rate - (lg_now() - t0);
		if (wait > 0) {
			struct timespec ts = { 0, (long)(wait * 1e9) };
			nanosleep(&ts, NULL);
		}
	}
	curl_easy_cleanup(c);
	buf_free(&text);
	return NULL;
}

/* ---- the parse-only ceiling ---- */

struct parse_run {
	pthread_t tid;
	const struct lg_opts *o;
	struct buf *bodies;
	size_t	 nbodies;
	uint64_t events;
	double	 secs;
	int	 rc;
};

static int
parse_decode(const struct buf *body, struct buf *utf8)
{
	if (parse_careful)
		return utf16_to_utf8_careful(body->data, body->len, "UTF-16", 0, utf8);
	return utf16_to_utf8(body->data, body->len, "UTF-16", 0, utf8);
}

/* What the daemon does to a body before the store (wsman_handle): decode
 * to UTF-8, parse the envelope, parse every event. */
static int
parse_one(const struct buf *body, uint64_t *events)
{
	struct buf utf8;
	struct soap_msg *msg = NULL;
	int rc;

	buf_init(&utf8, 0);
	rc = parse_decode(body, &utf8);
	if (rc == CD_EOK)
		rc = soap_parse((const char *)utf8.data, utf8.len, NULL, &msg);
	for (size_t i = 0; rc == CD_EOK && i < msg->nevents; i++) {
		struct event *ev = NULL;
		rc = event_parse(msg->events[i].xml, msg->events[i].len, &ev);
		if (rc == CD_EOK && ev->malformed)
			rc = CD_EPARSE;
		event_free(ev);
	}
	if (rc == CD_EOK)
		*events += msg->nevents;
	soap_msg_free(msg);
	buf_free(&utf8);
	return rc;
}

static void *
parse_main(void *arg)
{
	struct parse_run *p = arg;
	double t0 = lg_now();

	for (size_t i = 0; p->rc == CD_EOK && lg_now() - t0 < p->o->duration; i++)
		p->rc = parse_one(&p->bodies[i % p->nbodies], &p->events);
	p->secs = lg_now() - t0;
	return NULL;
}

/* Batches as the hosts send them (same mix, same envelope, the same bytes
 * as lg_body_events()), built with the reference builder so that what is
 * timed does not depend on the generator's own fast path. */
static int
parse_build(const struct lg_opts *o, struct lg_mix *m, struct buf *bodies,
    size_t n)
{
	struct lg_body b;
	struct replay_bookmark mark = { 0 };
	char mid[SOAP_MESSAGE_ID_SIZE], name[128];
	int rc;

	if ((rc = lg_body_init(&b, o->batch)) != CD_EOK)
		return rc;
	for (size_t k = 0; k < n; k++) {
		struct lg_mix_host mh;
		struct replay_hdr hd = { .to = o->url, .message_id = mid,
		    .session_id = mid, .operation_id = mid, .machine_id = name };
		uint64_t ndns = 0;

		lg_host_name(o, (unsigned)(k % o->hosts), name, sizeof(name));
		lg_mix_host_init(&mh, o->seed + k);
		buf_init(&bodies[k], 0);
		if ((rc = soap_new_message_id(mid)) != CD_EOK ||
		    (rc = lg_body_events_ref(&b, m, &mh, name, o->batch, &mark,
		    &hd, &bodies[k], &ndns)) != CD_EOK)
			goto out;
	}
	rc = CD_EOK;
out:
	replay_bookmark_free(&mark);
	lg_body_free(&b);
	return rc;
}

static int
parse_only(const struct lg_opts *o, struct lg_mix *m)
{
	size_t n = 64;
	struct buf *bodies = calloc(n, sizeof(*bodies));
	struct parse_run *pr = calloc(o->threads, sizeof(*pr));
	uint64_t events = 0;
	double secs = 0;
	int rc = -ENOMEM;

	if (bodies == NULL || pr == NULL)
		goto out;
	if ((rc = parse_build(o, m, bodies, n)) != CD_EOK)
		goto out;
	double cpu0 = cpu_secs();
	for (unsigned i = 0; i < o->threads; i++) {
		pr[i] = (struct parse_run){ .o = o, .bodies = bodies, .nbodies = n };
		pthread_create(&pr[i].tid, NULL, parse_main, &pr[i]);
	}
	for (unsigned i = 0; i < o->threads; i++) {
		pthread_join(pr[i].tid, NULL);
		events += pr[i].events;
		if (pr[i].secs > secs)
			secs = pr[i].secs;
		if (pr[i].rc != CD_EOK)
			rc = pr[i].rc;
	}
	double cpu = cpu_secs() - cpu0;
	printf("mode=parse-only threads=%u batch=%u events=%llu seconds=%.2f "
	    "events_per_s=%.0f cpu_s=%.2f events_per_cpu_s=%.0f rc=%s\n",
	    o->threads, o->batch, (unsigned long long)events, secs,
	    secs > 0 ? (double)events / secs : 0, cpu,
	    cpu > 0 ? (double)events / cpu : 0, cd_strerror(rc));
out:
	for (size_t i = 0; bodies != NULL && i < n; i++)
		buf_free(&bodies[i]);
	free(bodies);
	free(pr);
	return rc;
}

/* ---- the load ---- */

struct conn_run {
	pthread_t tid;
	const struct lg_opts *o;
	struct lg_mix *m;
	unsigned first, n;
	double	 rate;
	struct lg_result r;
	int	 rc;
};

static _Atomic unsigned conn_finished;

static void *
conn_main(void *arg)
{
	struct conn_run *c = arg;

	c->rc = lg_conn_run(c->o, c->m, c->first, c->n, c->rate, &c->r);
	atomic_fetch_add(&conn_finished, 1);
	return NULL;
}

/* The CPU pid used over the measured window: sampled when the window opens
 * and when it closes, polling every 2 ms while the load threads run (the
 * window is theirs). -1 when either sample is missing. */
static double
window_cpu(int pid, unsigned threads)
{
	const struct timespec tick = { 0, 2000000 };
	double c0 = -1, c1 = -1;

	for (;;) {
		/* Read before the window: a thread marks the end before it
		 * finishes, so a finished run's end is seen below. */
		bool fin = atomic_load(&conn_finished) >= threads;
		double s = lg_window_start(), e = lg_window_end();

		if (c0 < 0 && s > 0 && lg_now() >= s)
			c0 = proc_cpu_secs(pid);
		if (c0 >= 0 && e > 0) {
			c1 = proc_cpu_secs(pid);
			break;
		}
		if (fin)
			break;
		nanosleep(&tick, NULL);
	}
	return c0 >= 0 && c1 >= 0 ? c1 - c0 : -1;
}

static int
run_load(const struct lg_opts *o, struct lg_mix *m)
{
	struct conn_run *cr = calloc(o->threads, sizeof(*cr));
	struct lg_result tot = { 0 };
	struct api_run api = { .m = m };
	double t0 = 1e300, t1 = 0, dcpu = -1;
	int rc = CD_EOK;

	if (cr == NULL)
		return -ENOMEM;
	if (api_url != NULL)
		pthread_create(&api.tid, NULL, api_main, &api);
	for (unsigned i = 0, first = 0; i < o->threads; i++) {
		unsigned n = o->hosts / o->threads + (i < o->hosts % o->threads);
		cr[i] = (struct conn_run){ .o = o, .m = m, .first = first, .n = n,
		    .rate = o->rate / o->threads };
		first += n;
		pthread_create(&cr[i].tid, NULL, conn_main, &cr[i]);
	}
	if (o->daemon_pid > 0 &&
	    (dcpu = window_cpu(o->daemon_pid, o->threads)) < 0)
		log_warn("loadgen", "no CPU figure for process %d over the window",
		    o->daemon_pid);
	for (unsigned i = 0; i < o->threads; i++) {
		struct lg_result *r = &cr[i].r;
		pthread_join(cr[i].tid, NULL);
		if (cr[i].rc != CD_EOK)
			rc = cr[i].rc;
		tot.events += r->events;
		tot.batches += r->batches;
		tot.dns_events += r->dns_events;
		tot.heartbeats += r->heartbeats;
		tot.errors += r->errors;
		tot.retries += r->retries;
		tot.refused_end += r->refused_end;
		tot.connected += r->connected;
		if (r->t_ready > 0 && r->t_ready < t0)
			t0 = r->t_ready;
		if (r->t_end > t1)
			t1 = r->t_end;
		for (size_t k = 0; k < r->nlat; k++)
			lg_result_add(&tot, r->lat[k]);
		free(r->lat);
	}
	if (api_url != NULL) {
		atomic_store(&api.stop, true);
		pthread_join(api.tid, NULL);
	}
	qsort(tot.lat, tot.nlat, sizeof(*tot.lat), cmp_double);
	double secs = t1 > t0 ? t1 - t0 : 0;
	printf("mode=%s hosts=%u connected=%llu batch=%u rate=%.0f seconds=%.2f "
	    "events=%llu dns_events=%llu batches=%llu heartbeats=%llu "
	    "events_per_s=%.0f p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f "
	    "errors=%llu retries=%llu refused_at_end=%llu",
	    o->idle > 0 ? "idle" : o->keytab ? "kerberos" : "http", o->hosts,
	    (unsigned long long)tot.connected, o->batch, o->rate, secs,
	    (unsigned long long)tot.events, (unsigned long long)tot.dns_events,
	    (unsigned long long)tot.batches, (unsigned long long)tot.heartbeats,
	    secs > 0 ? (double)tot.events / secs : 0,
	    pct(tot.lat, tot.nlat, 0.50), pct(tot.lat, tot.nlat, 0.99),
	    pct(tot.lat, tot.nlat, 0.999),
	    tot.nlat ? tot.lat[tot.nlat - 1] : 0,
	    (unsigned long long)tot.errors, (unsigned long long)tot.retries,
	    (unsigned long long)tot.refused_end);
	if (api_url != NULL) {
		qsort(api.r.lat, api.r.nlat, sizeof(*api.r.lat), cmp_double);
		printf(" api_lookups=%llu api_errors=%llu api_p50_ms=%.2f "
		    "api_p99_ms=%.2f", (unsigned long long)api.r.events,
		    (unsigned long long)api.r.errors,
		    pct(api.r.lat, api.r.nlat, 0.50),
		    pct(api.r.lat, api.r.nlat, 0.99));
		free(api.r.lat);
	}
	if (dcpu >= 0)
		printf(" daemon_cpu_s=%.2f events_per_daemon_cpu_s=%.0f", dcpu,
		    dcpu > 0 ? (double)tot.events / dcpu : 0);
	printf(" loadgen_cpu_s=%.2f\n", cpu_secs());
	free(tot.lat);
	free(cr);
	return rc != CD_EOK ? rc : tot.errors ? CD_EBUSY : CD_EOK;
}

static void
raise_nofile(unsigned need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need + 64) {
		rl.rlim_cur = rl.rlim_max < need + 64 ? rl.rlim_max : need + 64;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need + 64)
			log_warn("loadgen", "descriptor limit %llu is below %u hosts",
			    (unsigned long long)rl.rlim_cur, need);
	}
}

static int
parse_opts(int argc, char **argv, struct lg_opts *o, bool *parse, bool *mix)
{
	static const struct option lo[] = {
		{ "hosts", 1, NULL, OPT_HOSTS }, { "batch", 1, NULL, OPT_BATCH },
		{ "rate", 1, NULL, OPT_RATE }, { "duration", 1, NULL, OPT_DURATION },
		{ "warmup", 1, NULL, OPT_WARMUP },
		{ "batches", 1, NULL, OPT_BATCHES },
		{ "threads", 1, NULL, OPT_THREADS }, { "idle", 1, NULL, OPT_IDLE },
		{ "heartbeat", 1, NULL, OPT_HB }, { "ready-file", 1, NULL, OPT_READY },
		{ "connect", 1, NULL, OPT_CONNECT }, { "prefix", 1, NULL, OPT_PREFIX },
		{ "domain", 1, NULL, OPT_DOMAIN }, { "kerberos", 1, NULL, OPT_KRB },
		{ "spn", 1, NULL, OPT_SPN }, { "ramp", 1, NULL, OPT_RAMP },
		{ "retries", 1, NULL, OPT_RETRIES }, { "timeout-ms", 1, NULL, OPT_TIMEOUT },
		{ "data", 1, NULL, OPT_DATA }, { "seed", 1, NULL, OPT_SEED },
		{ "api", 1, NULL, OPT_API }, { "api-rate", 1, NULL, OPT_API_RATE },
		{ "parse-only", 0, NULL, OPT_PARSE }, { "show-mix", 0, NULL, OPT_MIX },
		{ "decode-careful", 0, NULL, OPT_CAREFUL },
		{ "daemon-pid", 1, NULL, OPT_PID },
		{ "help", 0, NULL, OPT_HELP }, { NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case OPT_HOSTS: o->hosts = (unsigned)strtoul(optarg, NULL, 10); break;
		case OPT_BATCH: o->batch = (unsigned)strtoul(optarg, NULL, 10); break;
		case OPT_RATE: o->rate = strtod(optarg, NULL); break;
		case OPT_DURATION: o->duration = strtod(optarg, NULL); break;
		case OPT_WARMUP: o->warmup = strtod(optarg, NULL); break;
		case OPT_BATCHES: o->batches = (unsigned)strtoul(optarg, NULL, 10); break;
		case OPT_THREADS: o->threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case OPT_IDLE: o->idle = strtod(optarg, NULL); break;
		case OPT_HB: o->heartbeat = strtod(optarg, NULL); break;
		case OPT_READY: o->ready_file = optarg; break;
		case OPT_CONNECT: o->connect = optarg; break;
		case OPT_PREFIX: o->prefix = optarg; break;
		case OPT_DOMAIN: o->domain = optarg; break;
		case OPT_KRB: o->keytab = optarg; break;
		case OPT_SPN: o->spn = optarg; break;
		case OPT_RAMP: o->ramp = (unsigned)strtoul(optarg, NULL, 10); break;
		case OPT_RETRIES: o->max_retries = (unsigned)strtoul(optarg, NULL, 10); break;
		case OPT_TIMEOUT: o->timeout_ms = atoi(optarg); break;
		case OPT_DATA: o->data_dir = optarg; break;
		case OPT_SEED: o->seed = strtoull(optarg, NULL, 10); break;
		case OPT_API: api_url = optarg; break;
		case OPT_API_RATE: api_rate = (unsigned)strtoul(optarg, NULL, 10); break;
		case OPT_PARSE: *parse = true; break;
		case OPT_MIX: *mix = true; break;
		case OPT_CAREFUL: parse_careful = true; break;
		case OPT_PID: o->daemon_pid = atoi(optarg); break;
		case OPT_HELP: usage(stdout); exit(0);
		default: return CD_ECONFIG;
		}
	}
	if (optind < argc)
		o->url = argv[optind];
	if (o->hosts == 0 || o->batch == 0 || o->batch > 10000 ||
	    o->threads == 0 || o->ramp == 0 || api_rate == 0 ||
	    (o->url == NULL && !*parse && !*mix))
		return CD_ECONFIG;
	if (o->threads > o->hosts && !*parse)
		o->threads = o->hosts;
	return CD_EOK;
}

int
main(int argc, char **argv)
{
	struct lg_opts o = { .hosts = 1000, .threads = 1, .batch = 100,
	    .duration = 10, .prefix = "ws", .domain = "bench.example",
	    .ramp = 200, .timeout_ms = 30000, .max_retries = 20, .seed = 1,
	    .data_dir = LG_DATA_DIR };
	struct lg_mix *m = NULL;
	struct replay_url u = { 0 };
	char spn[512];
	bool parse = false, mix = false;
	int rc;

	lg_now();
	if (parse_opts(argc, argv, &o, &parse, &mix) != CD_EOK) {
		usage(stderr);
		return 2;
	}
	if (o.url == NULL)
		o.url = "http://127.0.0.1:5985/wsman/SubscriptionManager/WEC";
	soap_init();
	if ((rc = lg_mix_new(&m, o.data_dir)) != CD_EOK) {
		fprintf(stderr, "collectord-loadgen: %s: %s\n", o.data_dir,
		    cd_strerror(rc));
		return 1;
	}
	if (mix) {
		struct lg_mix_stats s;
		lg_mix_stats(m, &s);
		printf("eid1=%.4f eid3=%.4f eid22=%.4f dns_repeat=%.4f "
		    "dns_tail=%.4f head_names=%zu top1=%.4f top10=%.4f\n",
		    s.share_eid1, s.share_eid3, s.share_eid22, s.dns_repeat,
		    s.dns_tail, s.head_names, s.top1, s.top10);
		rc = CD_EOK;
		goto out;
	}
	if (parse) {
		rc = parse_only(&o, m);
		goto out;
	}
	if (o.keytab != NULL && o.spn == NULL) {
		if ((rc = replay_url_parse(o.url, &u)) != CD_EOK)
			goto out;
		snprintf(spn, sizeof(spn), "HTTP/%s", u.host);
		o.spn = spn;
	}
	raise_nofile(o.hosts * 2);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = run_load(&o, m);
	curl_global_cleanup();
out:
	replay_url_free(&u);
	lg_mix_free(m);
	soap_cleanup();
	return rc == CD_EOK ? 0 : 1;
}
