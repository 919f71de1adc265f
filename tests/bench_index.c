/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Benchmark of the DNS index (not a test): fill an index with at least a
 * million (host, domain) pairs, then time point lookups and "new since T"
 * scans. Build with `make bench-index`, run
 *   tests/bench_index [DIR] [HOSTS] [NAMES_PER_HOST]
 * (default: a fresh directory under /tmp, 1000 hosts x 1000 names).
 *
 * Shape (sysmon.md section 5): each host queries 400 names every host asks
 * for (Microsoft/CDN infrastructure) and 600 from a tail of 100,000 names
 * shared by a few hosts each; about 20 images. Every pair gets one event
 * and a tenth of them a second, later one.
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "err.h"
#include "hosts.h"
#include "index.h"
#include "store.h"

#define BENCH_COMMON	400
#define BENCH_TAIL	100000
#define BENCH_BATCH	20000
#define BENCH_T0	1700000000000LL

struct bench_batch {
	unsigned	 hosts, per_host;
	unsigned	 from, to;	/* pair numbers */
	int		 pass;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Process CPU time (all threads): the box may be shared, wall time is not
 * the whole story. */
static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
bench_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
bench_name(unsigned h, unsigned j, char *out, size_t len)
{
	unsigned idx = (h * 37u * 600u + j) % BENCH_TAIL;

	if (j < BENCH_COMMON)
		snprintf(out, len, "svc%u.events.data.microsoft.com", j);
	else
		snprintf(out, len, "cdn%u.edge%u.example-%u.net", idx, idx % 97,
		    idx / 1000);
}

static int
bench_apply(struct store_txn *txn, void *arg)
{
	const struct bench_batch *b = arg;
	char host[64], name[DNS_NAME_MAX], rd[DNS_NAME_MAX], image[64];
	struct dns_obs o;
	unsigned p;
	int rc;

	for (p = b->from; p < b->to; p++) {
		unsigned h = p / b->per_host, j = p % b->per_host;

		if (b->pass == 1 && p % 10 != 0)
			continue;
		snprintf(host, sizeof(host), "ws%05u.corp.example.com", h);
		bench_name(h, j, name, sizeof(name));
		dns_registered_domain(name, rd);
		snprintf(image, sizeof(image), "C:\\Program Files\\App%u\\app.exe", (h + j) % 20);
		memset(&o, 0, sizeof(o));
		o.name = name;
		o.regdom = rd;
		o.image = image;
		o.time_ms = BENCH_T0 + (int64_t)j * 60000 + h + (b->pass ? 86400000 : 0);
		o.record_id = (uint64_t)p * 2 + (uint64_t)b->pass;
		if ((rc = index_apply(txn, host, &o, NULL)) != CD_EOK)
			return rc;
	}
	return CD_EOK;
}

int
main(int argc, char **argv)
{
	struct store_options opt = { 0 };
	struct store_stats ss;
	struct store *st = NULL;
	struct store_txn *txn;
	struct bench_batch b;
	char tmpl[] = "/tmp/bench_index.XXXXXX", host[64], name[DNS_NAME_MAX];
	const char *dir = argc > 1 ? argv[1] : NULL;
	unsigned hosts = argc > 2 ? (unsigned)atoi(argv[2]) : 1000;
	unsigned per = argc > 3 ? (unsigned)atoi(argv[3]) : 1000;
	unsigned pairs = hosts * per, i, found = 0;
	uint64_t listed = 0;
	double t, c;
	bool made = false;
	int rc;

	if (dir == NULL || *dir == '\0') {
		if ((dir = mkdtemp(tmpl)) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		made = true;
	}
	opt.dir = dir;
	opt.nosync = true;
	opt.map_initial = (size_t)1 << 30;
	if ((rc = store_open(&st, &opt)) != CD_EOK) {
		fprintf(stderr, "store_open: %s\n", cd_strerror(rc));
		return 1;
	}
	printf("index bench: %u hosts x %u names = %u pairs in %s\n", hosts, per, pairs, dir);

	b.hosts = hosts;
	b.per_host = per;
	for (b.pass = 0; b.pass < 2; b.pass++) {
		t = now_s();
		c = cpu_s();
		for (b.from = 0; b.from < pairs; b.from += BENCH_BATCH) {
			b.to = b.from + BENCH_BATCH < pairs ? b.from + BENCH_BATCH : pairs;
			if ((rc = store_run(st, bench_apply, &b)) != CD_EOK) {
				fprintf(stderr, "apply: %s\n", cd_strerror(rc));
				return 1;
			}
		}
		t = now_s() - t;
		c = cpu_s() - c;
		printf("pass %d: %u records indexed in %.1f s, %.1f s CPU (%.0f records/s "
		    "per CPU second)\n", b.pass, b.pass ? pairs / 10 : pairs, t, c,
		    (b.pass ? pairs / 10 : pairs) / c);
	}
	store_stats(st, &ss);
	printf("LMDB in use: %.1f MiB, %.1f bytes per pair; entries: domain %llu, "
	    "hostdom %llu, regdom %llu, first %llu, hostfirst %llu\n",
	    ss.used_bytes / 1048576.0, (double)ss.used_bytes / pairs,
	    (unsigned long long)ss.entries[STORE_DBI_DNS_DOMAIN],
	    (unsigned long long)ss.entries[STORE_DBI_DNS_HOSTDOM],
	    (unsigned long long)ss.entries[STORE_DBI_DNS_REGDOM],
	    (unsigned long long)ss.entries[STORE_DBI_DNS_FIRST],
	    (unsigned long long)ss.entries[STORE_DBI_DNS_HOSTFIRST]);

	/* Point lookups: one read transaction per 1000, as the API would batch
	 * nothing but keeps transactions short. */
	srand(42);
	t = now_s();
	c = cpu_s();
	for (i = 0; i < 100000; i++) {
		struct index_domain d;
		struct index_hostdom hd;
		unsigned h = (unsigned)rand() % hosts, j = (unsigned)rand() % per;

		if (i % 1000 == 0 && (rc = store_read_begin(st, &txn)) != CD_EOK)
			return 1;
		snprintf(host, sizeof(host), "ws%05u.corp.example.com", h);
		bench_name(h, j, name, sizeof(name));
		if (index_domain_get(txn, name, &d) == CD_EOK)
			found++;
		index_domain_clear(&d);
		if (index_hostdom_get(txn, host, name, &hd) == CD_EOK)
			found++;
		index_hostdom_clear(&hd);
		if (i % 1000 == 999)
			store_read_end(txn);
	}
	t = now_s() - t;
	c = cpu_s() - c;
	printf("lookups: 100000 x (domain_get + hostdom_get) in %.2f s, %.1f us CPU per "
	    "pair of lookups (%u found)\n", t, c * 1e6 / 100000, found);

	/* New since T, fleet-wide: the last hour of first_seen, 100 per page. */
	t = now_s();
	for (i = 0; i < 100; i++) {
		struct index_filter f = { 0 };
		struct index_domain_list dl;

		/* The common names first seen from minute 300 on, then tail. */
		f.has_after = true;
		f.first_seen_after = BENCH_T0 + (int64_t)(per * 3 / 10) * 60000;
		store_read_begin(st, &txn);
		if (index_domains_list(txn, &f, NULL, 0, 100, &dl) != CD_EOK)
			return 1;
		listed += dl.n;
		index_domain_list_free(&dl);
		store_read_end(txn);
	}
	t = now_s() - t;
	printf("new since T (fleet): 100 pages of up to 100 in %.3f s, %.2f ms per page "
	    "(%llu items)\n", t, t * 1e3 / 100, (unsigned long long)listed);

	/* New since T, one host, and the full per-host list paged through. */
	listed = 0;
	t = now_s();
	for (i = 0; i < 100; i++) {
		struct index_filter f = { 0 };
		struct index_hostdom_list hl;

		f.has_after = true;
		f.first_seen_after = BENCH_T0 + (int64_t)(per - 60) * 60000;
		snprintf(host, sizeof(host), "ws%05u.corp.example.com", (unsigned)rand() % hosts);
		store_read_begin(st, &txn);
		if (index_host_domains(txn, host, &f, NULL, 0, 100, &hl) != CD_EOK)
			return 1;
		listed += hl.n;
		index_hostdom_list_free(&hl);
		store_read_end(txn);
	}
	t = now_s() - t;
	printf("new since T (host): 100 queries in %.3f s, %.2f ms each (%llu items)\n",
	    t, t * 1e3 / 100, (unsigned long long)listed);

	/* Suffix query over a registered domain with 1,000 names. */
	t = now_s();
	{
		struct index_filter f = { 0 };
		struct index_domain_list dl;

		f.suffix = "example-7.net";
		store_read_begin(st, &txn);
		if (index_domains_list(txn, &f, NULL, 0, 100, &dl) != CD_EOK)
			return 1;
		listed = dl.n;
		index_domain_list_free(&dl);
		store_read_end(txn);
	}
	t = now_s() - t;
	printf("suffix example-7.net: first page (%llu) in %.2f ms\n",
	    (unsigned long long)listed, t * 1e3);

	/* Hosts of a name every host asked for: one lookup per host. */
	t = now_s();
	{
		struct index_hostdom_list hl;

		store_read_begin(st, &txn);
		if (index_domain_hosts(txn, "svc1.events.data.microsoft.com", NULL, 0,
		    100, &hl) != CD_EOK)
			return 1;
		listed = hl.n;
		index_hostdom_list_free(&hl);
		store_read_end(txn);
	}
	t = now_s() - t;
	printf("domain hosts (common name): first page (%llu) in %.2f ms\n",
	    (unsigned long long)listed, t * 1e3);
	store_close(st);
	if (made)
		nftw(dir, bench_rm, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
