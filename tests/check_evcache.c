/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "evcache.h"
#include "event.h"
#include "format.h"
#include "harness.h"
#include "slab.h"
#include "spool.h"

/* A small event whose EventRecordID is n, so a hit can be checked. */
static struct event *
mkevent(uint64_t n)
{
	char xml[512];
	struct event *ev = NULL;
	int len = snprintf(xml, sizeof(xml),
	    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
	    "<System><Provider Name='P'/><EventID>%u</EventID>"
	    "<EventRecordID>%llu</EventRecordID><Channel>C</Channel>"
	    "<Computer>h%llu.example</Computer></System>"
	    "<EventData><Data Name='N'>v%llu</Data></EventData></Event>",
	    (unsigned)(n % 65536), (unsigned long long)n, (unsigned long long)n,
	    (unsigned long long)n);

	ck_assert_int_eq(event_parse(xml, (size_t)len, &ev), CD_EOK);
	ck_assert(!ev->malformed);
	return ev;
}

static void
check_hit(struct evcache *c, uint64_t seq)
{
	struct evcache_entry *ref = NULL;
	const struct event *ev = evcache_get(c, seq, &ref);

	ck_assert_msg(ev != NULL, "seq %llu missing", (unsigned long long)seq);
	ck_assert_ptr_nonnull(ref);
	ck_assert_uint_eq(ev->record_id, seq);
	evcache_release(c, ref);
}

static void
check_miss(struct evcache *c, uint64_t seq)
{
	struct evcache_entry *ref = (struct evcache_entry *)&ref;

	ck_assert_ptr_null(evcache_get(c, seq, &ref));
	ck_assert_ptr_null(ref);
}

START_TEST(test_put_get)
{
	struct evcache *c;
	struct evcache_stats s;

	ck_assert_int_eq(evcache_new(&c, 0, 10), -EINVAL);
	ck_assert_int_eq(evcache_new(&c, 1 << 20, 0), -EINVAL);
	ck_assert_int_eq(evcache_new(&c, 1 << 20, 100), CD_EOK);
	/* Disabled until an output is there: the caller keeps the event. */
	struct event *ev = mkevent(1);
	ck_assert(!evcache_put(c, 1, ev));
	event_free(ev);
	evcache_set_enabled(c, true);
	/* Gaps (alerts, duplicates) between the seqs. */
	for (uint64_t seq = 1; seq <= 40; seq += (seq % 3) + 1)
		ck_assert(evcache_put(c, seq, mkevent(seq)));
	for (uint64_t seq = 1; seq <= 40; seq += (seq % 3) + 1)
		check_hit(c, seq);
	check_miss(c, 0);
	check_miss(c, 2);	/* a gap */
	check_miss(c, 41);
	check_miss(c, UINT64_MAX);
	/* Not above the newest: refused, the caller keeps it. */
	ev = mkevent(5);
	ck_assert(!evcache_put(c, 5, ev));
	event_free(ev);
	evcache_stats_get(c, &s);
	ck_assert_uint_gt(s.hits, 0);
	ck_assert_uint_eq(s.misses, 4);
	ck_assert_uint_eq(s.refused, 2);
	ck_assert_uint_eq(s.entries, s.puts);
	ck_assert_uint_gt(s.bytes, 0);
	/* Everything is freed with the cache (LeakSanitizer checks). */
	evcache_free(c);
	evcache_free(NULL);
	evcache_reap(NULL);
	evcache_trim(NULL, 1, 1);
	evcache_set_enabled(NULL, true);
	ck_assert(!evcache_put(NULL, 1, NULL));
}
END_TEST

START_TEST(test_evict_count_bytes)
{
	struct evcache *c;
	struct evcache_stats s;

	ck_assert_int_eq(evcache_new(&c, 1 << 20, 4), CD_EOK);
	evcache_set_enabled(c, true);
	/* Eviction is for an output that keeps up: one is at the head. */
	evcache_trim(c, 0, UINT64_MAX);
	for (uint64_t seq = 1; seq <= 10; seq++)
		ck_assert(evcache_put(c, seq, mkevent(seq)));
	for (uint64_t seq = 1; seq <= 6; seq++)
		check_miss(c, seq);
	for (uint64_t seq = 7; seq <= 10; seq++)
		check_hit(c, seq);
	evcache_stats_get(c, &s);
	ck_assert_uint_eq(s.evicted, 6);
	ck_assert_uint_eq(s.entries, 4);
	evcache_reap(c);
	evcache_free(c);

	/* By bytes: room for about two of these events. An event counts
	 * what it holds (event_mem()) and its entry (under 128 bytes). */
	struct event *ev = mkevent(1);
	const size_t mem = event_mem(ev), one = mem + 128;
	ck_assert_uint_gt(mem, ev->raw_len);
	ck_assert_int_eq(evcache_new(&c, 2 * one, 1000), CD_EOK);
	evcache_set_enabled(c, true);
	evcache_trim(c, 0, UINT64_MAX);
	ck_assert(evcache_put(c, 1, ev));
	evcache_stats_get(c, &s);
	ck_assert_uint_gt(s.bytes, mem);
	ck_assert_uint_lt(s.bytes, one);
	for (uint64_t seq = 2; seq <= 10; seq++) {
		ck_assert(evcache_put(c, seq, mkevent(seq)));
		evcache_reap(c);
	}
	evcache_stats_get(c, &s);
	ck_assert_uint_ge(s.entries, 1);
	ck_assert_uint_le(s.entries, 2);
	ck_assert_uint_le(s.bytes, 2 * one);
	check_hit(c, 10);
	check_miss(c, 1);
	evcache_free(c);

	/* Nobody reaps: once the dropped events pass the budget, puts are
	 * refused rather than letting them pile up. */
	ck_assert_int_eq(evcache_new(&c, 4 * one, 1), CD_EOK);
	evcache_set_enabled(c, true);
	evcache_trim(c, 0, UINT64_MAX);
	uint64_t seq = 1;
	for (;; seq++) {
		struct event *e = mkevent(seq);
		if (!evcache_put(c, seq, e)) {
			event_free(e);
			break;
		}
	}
	ck_assert_uint_gt(seq, 3);
	ck_assert_uint_lt(seq, 10);
	evcache_reap(c);
	ck_assert(evcache_put(c, seq + 1, mkevent(seq + 1)));
	evcache_free(c);

	/* An event larger than the whole budget is left to the caller. */
	ck_assert_int_eq(evcache_new(&c, 64, 10), CD_EOK);
	evcache_set_enabled(c, true);
	ev = mkevent(1);
	ck_assert(!evcache_put(c, 1, ev));
	event_free(ev);
	evcache_free(c);
}
END_TEST

/*
 * Every output behind all the cache holds (one output lagging, or all):
 * a full cache keeps the events they will read next and refuses new ones,
 * instead of evicting the oldest, which an output that lags by more than
 * the cache would never have hit. Once an output passes the oldest entry,
 * eviction resumes.
 */
START_TEST(test_lagging_outputs)
{
	struct evcache *c;
	struct evcache_stats s;

	ck_assert_int_eq(evcache_new(&c, 1 << 20, 4), CD_EOK);
	evcache_set_enabled(c, true);
	evcache_trim(c, 2, 2);	/* the outputs have passed seq 2 */
	for (uint64_t seq = 3; seq <= 6; seq++)
		ck_assert(evcache_put(c, seq, mkevent(seq)));
	for (uint64_t seq = 7; seq <= 10; seq++) {
		struct event *e = mkevent(seq);
		ck_assert(!evcache_put(c, seq, e));
		event_free(e);
	}
	for (uint64_t seq = 3; seq <= 6; seq++)
		check_hit(c, seq);
	evcache_stats_get(c, &s);
	ck_assert_uint_eq(s.refused_lag, 4);
	ck_assert_uint_eq(s.refused, 4);
	ck_assert_uint_eq(s.evicted, 0);

	/* The slowest output reads 3 and 4: room for two more. 11 comes
	 * right after refused ones, whose memory went back: it moves off
	 * its slab chunk instead of keeping the chunk alone (slab.h). 12
	 * follows 11, which was taken: it stays where it was made. */
	evcache_trim(c, 4, 4);
	struct event *e11 = mkevent(11), *e12 = mkevent(12);
	ck_assert(evcache_put(c, 11, e11));
	ck_assert(evcache_put(c, 12, e12));
	evcache_stats_get(c, &s);
	ck_assert_uint_eq(s.moved, 1);
	struct evcache_entry *r11 = NULL, *r12 = NULL;
	const struct event *g11 = evcache_get(c, 11, &r11);
	const struct event *g12 = evcache_get(c, 12, &r12);
	ck_assert(g11 != NULL && g12 != NULL);
	if (!SLAB_PLAIN)
		ck_assert(g11 != e11);
	ck_assert(g12 == e12);
	ck_assert_uint_eq(g11->record_id, 11);
	ck_assert_str_eq(g11->computer, "h11.example");
	ck_assert_str_eq(event_data(g11, "N"), "v11");
	evcache_release(c, r11);
	evcache_release(c, r12);
	struct event *e13 = mkevent(13);
	ck_assert(!evcache_put(c, 13, e13));
	event_free(e13);

	/* Another output passes the oldest entry (5): it reads near the
	 * head, so the oldest go again to make room for new events. */
	evcache_trim(c, 4, 12);
	ck_assert(evcache_put(c, 14, mkevent(14)));
	check_miss(c, 5);
	check_hit(c, 6);
	check_hit(c, 14);
	evcache_stats_get(c, &s);
	ck_assert_uint_eq(s.evicted, 1);
	ck_assert_uint_eq(s.refused_lag, 5);
	ck_assert_uint_eq(s.moved, 2);

	/* A reload's new outputs: the lead is learned again. */
	evcache_set_enabled(c, true);
	struct event *e15 = mkevent(15);
	ck_assert(!evcache_put(c, 15, e15));
	event_free(e15);
	check_hit(c, 14);
	evcache_trim(c, 4, 14);
	ck_assert(evcache_put(c, 16, mkevent(16)));
	check_miss(c, 6);
	evcache_reap(c);
	evcache_free(c);
}
END_TEST

START_TEST(test_refcount)
{
	struct evcache *c;
	struct evcache_entry *ref = NULL, *ref2 = NULL;

	ck_assert_int_eq(evcache_new(&c, 1 << 20, 2), CD_EOK);
	evcache_set_enabled(c, true);
	evcache_trim(c, 0, UINT64_MAX);
	ck_assert(evcache_put(c, 1, mkevent(1)));
	const struct event *ev = evcache_get(c, 1, &ref);
	const struct event *ev2 = evcache_get(c, 1, &ref2);
	ck_assert_ptr_eq(ev, ev2);
	/* Evicted (count 2) and reaped while held: still readable. */
	ck_assert(evcache_put(c, 2, mkevent(2)));
	ck_assert(evcache_put(c, 3, mkevent(3)));
	check_miss(c, 1);
	evcache_reap(c);
	ck_assert_uint_eq(ev->record_id, 1);
	ck_assert_str_eq(event_data(ev, "N"), "v1");
	evcache_release(c, ref);
	evcache_reap(c);
	ck_assert_str_eq(ev2->computer, "h1.example");
	/* The last reference puts it on the dead list; reap frees it (ASan
	 * would see a use after free above, LSan a leak otherwise). */
	evcache_release(c, ref2);
	evcache_release(c, NULL);
	evcache_reap(c);

	/* Trim: entries up to the seq go, later puts up to it are refused. */
	ck_assert(evcache_put(c, 10, mkevent(10)));
	ev = evcache_get(c, 10, &ref);
	evcache_trim(c, 10, UINT64_MAX);
	check_miss(c, 10);
	check_miss(c, 3);
	struct event *e9 = mkevent(9), *e10 = mkevent(10);
	ck_assert(!evcache_put(c, 9, e9));
	ck_assert(!evcache_put(c, 10, e10));
	event_free(e9);
	event_free(e10);
	ck_assert(evcache_put(c, 11, mkevent(11)));
	ck_assert_uint_eq(ev->record_id, 10);
	evcache_release(c, ref);
	/* Disabled: everything dropped, puts refused. */
	ev = evcache_get(c, 11, &ref);
	evcache_set_enabled(c, false);
	check_miss(c, 11);
	ck_assert_uint_eq(ev->record_id, 11);
	evcache_release(c, ref);
	struct event *e12 = mkevent(12);
	ck_assert(!evcache_put(c, 12, e12));
	event_free(e12);
	evcache_free(c);	/* frees the dead list without a reap */
}
END_TEST

/*
 * One writer puts (as the store writer does), readers look up in order and
 * trim (as the outputs do), another thread reaps (as the HTTP threads do).
 * Every hit must be the event of its seq; under the sanitizer build ASan
 * and LSan check the lifetimes.
 */
#define THR_N		20000
#define THR_READERS	2

struct thr {
	struct evcache		*c;
	atomic_uint_fast64_t	 put_upto;
	atomic_bool		 done;
	atomic_uint		 wrong;	/* hits on another seq's event */
	uint64_t		 hits[THR_READERS];
};

struct reader_arg {
	struct thr	*t;
	int		 id;
};

static void *
thr_writer(void *arg)
{
	struct thr *t = arg;

	for (uint64_t seq = 1; seq <= THR_N; seq++) {
		struct event *ev = mkevent(seq);
		if (!evcache_put(t->c, seq, ev))
			event_free(ev);
		atomic_store(&t->put_upto, seq);
	}
	atomic_store(&t->done, true);
	return NULL;
}

static void *
thr_reader(void *arg)
{
	struct reader_arg *ra = arg;
	struct thr *t = ra->t;
	uint64_t seq = 1;

	while (seq <= THR_N) {
		if (seq > atomic_load(&t->put_upto))
			continue;
		struct evcache_entry *ref;
		const struct event *ev = evcache_get(t->c, seq, &ref);
		if (ev != NULL) {
			char want[32];
			snprintf(want, sizeof(want), "v%llu", (unsigned long long)seq);
			if (ev->record_id != seq || event_data(ev, "N") == NULL ||
			    strcmp(event_data(ev, "N"), want) != 0)
				atomic_fetch_add(&t->wrong, 1);
			t->hits[ra->id]++;
			evcache_release(t->c, ref);
		}
		if (seq % 64 == 0 && ra->id == 0)
			evcache_trim(t->c, seq - 32, seq);
		seq++;
	}
	return NULL;
}

static void *
thr_reaper(void *arg)
{
	struct thr *t = arg;

	while (!atomic_load(&t->done))
		evcache_reap(t->c);
	return NULL;
}

START_TEST(test_threads)
{
	struct thr t = { 0 };
	struct reader_arg ra[THR_READERS];
	pthread_t w, r[THR_READERS], rp;
	struct evcache_stats s;

	ck_assert_int_eq(evcache_new(&t.c, 256 * 1024, 512), CD_EOK);
	evcache_set_enabled(t.c, true);
	pthread_create(&rp, NULL, thr_reaper, &t);
	for (int i = 0; i < THR_READERS; i++) {
		ra[i].t = &t;
		ra[i].id = i;
		pthread_create(&r[i], NULL, thr_reader, &ra[i]);
	}
	pthread_create(&w, NULL, thr_writer, &t);
	pthread_join(w, NULL);
	for (int i = 0; i < THR_READERS; i++)
		pthread_join(r[i], NULL);
	pthread_join(rp, NULL);
	evcache_stats_get(t.c, &s);
	ck_assert_uint_eq(atomic_load(&t.wrong), 0);
	ck_assert_uint_eq(s.hits, t.hits[0] + t.hits[1]);
	ck_assert_uint_eq(s.hits + s.misses, 2 * THR_N);
	ck_assert_uint_gt(s.hits, 0);
	evcache_free(t.c);
}
END_TEST

/*
 * Differential: what an output formats from the cached event (parsed once
 * by ingest) is byte for byte what it formats after parsing the spooled
 * XML again, for every real Sysmon event in tests/data and for truncated
 * and mutated variants of them (malformed events included).
 */
static void
diff_one(struct evcache *c, uint64_t seq, const char *xml, size_t len)
{
	struct event *ingest = NULL, *again = NULL;
	struct evcache_entry *ref;
	static const enum format_kind kinds[] = { FORMAT_RAW, FORMAT_JSON, FORMAT_ECS };

	ck_assert_int_eq(event_parse(xml, len, &ingest), CD_EOK);
	ck_assert(evcache_put(c, seq, ingest));
	const struct event *cached = evcache_get(c, seq, &ref);
	ck_assert_ptr_eq(cached, ingest);
	/* The spool holds ev->raw; the output parses that. */
	struct spool_rec rec = {
		.seq = seq, .type = SPOOL_EVENT, .received_ms = 1700000000000,
		.source = "src", .host = "host", .subscription = "sub",
		.data = cached->raw, .data_len = cached->raw_len,
	};
	ck_assert_uint_eq(cached->raw_len, len);
	ck_assert_int_eq(event_parse(rec.data, rec.data_len, &again), CD_EOK);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) {
		struct format_meta meta = { .received_ms = rec.received_ms, .output = "o" };
		struct buf a, b;
		buf_init(&a, 0);
		buf_init(&b, 0);
		int ra = format_event(kinds[k], &rec, cached, &meta, &a);
		int rb = format_event(kinds[k], &rec, again, &meta, &b);
		ck_assert_int_eq(ra, rb);
		ck_assert_uint_eq(a.len, b.len);
		ck_assert_msg(a.len == 0 || memcmp(a.data, b.data, a.len) == 0,
		    "seq %llu format %d differs", (unsigned long long)seq, (int)kinds[k]);
		buf_free(&a);
		buf_free(&b);
	}
	ck_assert_int_eq(cached->malformed, again->malformed);
	event_free(again);
	evcache_release(c, ref);
	evcache_reap(c);
}

START_TEST(test_differential)
{
	struct evcache *c;
	DIR *d = opendir(harness_data_path("sysmon"));
	struct dirent *de;
	uint64_t seq = 0, nev = 0;
	unsigned rnd = 12345;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(evcache_new(&c, 8 << 20, 256), CD_EOK);
	evcache_set_enabled(c, true);
	evcache_trim(c, 0, UINT64_MAX);	/* an output reads at the head */
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		if (nl < 5 || strcmp(de->d_name + nl - 4, ".xml") != 0)
			continue;
		char rel[512];
		snprintf(rel, sizeof(rel), "sysmon/%s", de->d_name);
		char *data = harness_read_data(rel, NULL);
		for (char *line = data, *end; *line != '\0'; line = end + 1) {
			end = strchr(line, '\n');
			if (end == NULL)
				break;
			size_t len = (size_t)(end - line);
			diff_one(c, ++seq, line, len);
			nev++;
			/* Every 8th: a truncated and a byte-mutated copy. */
			if (nev % 8 != 0 || len < 2)
				continue;
			rnd = rnd * 1103515245 + 12345;
			diff_one(c, ++seq, line, (rnd >> 8) % len);
			char *m = malloc(len);
			memcpy(m, line, len);
			for (int i = 0; i < 3; i++) {
				rnd = rnd * 1103515245 + 12345;
				m[(rnd >> 8) % len] = "<>&'\"x\x01\xc3"[(rnd >> 4) % 8];
			}
			diff_one(c, ++seq, m, len);
			free(m);
		}
		free(data);
	}
	closedir(d);
	ck_assert_uint_ge(nev, 2000);
	evcache_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("evcache");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_put_get);
	tcase_add_test(tc, test_evict_count_bytes);
	tcase_add_test(tc, test_refcount);
	tcase_add_test(tc, test_lagging_outputs);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_differential);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
