/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup.h"
#include "err.h"
#include "harness.h"

#define MIN	(60 * 1000LL)

struct got {
	size_t	 n;
	char	 name[8][64];
	char	 image[8][64];
	int64_t	 first[8], last[8];
	uint64_t count[8];
};

static void
collect(const struct dedup_summary *s, void *arg)
{
	struct got *g = arg;

	ck_assert_uint_lt(g->n, 8);
	snprintf(g->name[g->n], 64, "%s", s->query_name ? s->query_name : "");
	snprintf(g->image[g->n], 64, "%s", s->image ? s->image : "(null)");
	g->first[g->n] = s->first;
	g->last[g->n] = s->last;
	g->count[g->n] = s->count;
	g->n++;
}

static struct dns_obs
obs(const char *name, const char *image, uint32_t status, int64_t t)
{
	struct dns_obs o;

	memset(&o, 0, sizeof(o));
	o.name = (char *)name;
	o.image = (char *)image;
	o.status = status;
	o.time_ms = t;
	return o;
}

START_TEST(test_window)
{
	struct dedup *d;
	struct dedup_counters c;
	struct got g = { 0 };
	struct dns_obs o;
	const char *wer = "C:\\Windows\\System32\\wermgr.exe";

	ck_assert_int_eq(dedup_new(&d, NULL), CD_EOK);
	o = obs("umwatson.events.data.microsoft.com", wer, 9502, 1000);
	ck_assert_int_eq(dedup_check(d, "it01", &o), DEDUP_FORWARD);
	o.time_ms = 1000 + 5 * MIN;
	ck_assert_int_eq(dedup_check(d, "it01", &o), DEDUP_FOLD);
	/* Image case does not split the key; the status does. */
	o.image = "C:\\Windows\\system32\\WERMGR.EXE";
	o.time_ms = 1000 + 14 * MIN;
	ck_assert_int_eq(dedup_check(d, "it01", &o), DEDUP_FOLD);
	o.status = 0;
	ck_assert_int_eq(dedup_check(d, "it01", &o), DEDUP_FORWARD);
	/* Another host is another key. */
	o.status = 9502;
	ck_assert_int_eq(dedup_check(d, "mkt01", &o), DEDUP_FORWARD);

	/* Nothing has closed yet at 15 min - 1 ms after the first window. */
	ck_assert_int_eq(dedup_expire(d, 1000 + 15 * MIN - 1, collect, &g), 0);
	ck_assert_int_eq(dedup_expire(d, 1000 + 15 * MIN, collect, &g), 1);
	ck_assert_uint_eq(g.n, 1);
	ck_assert_str_eq(g.name[0], "umwatson.events.data.microsoft.com");
	ck_assert_str_eq(g.image[0], wer);
	ck_assert_int_eq(g.first[0], 1000);
	ck_assert_int_eq(g.last[0], 1000 + 14 * MIN);
	ck_assert_uint_eq(g.count[0], 3);
	/* The key's window is gone: the next event opens a new one. */
	o.time_ms = 1000 + 16 * MIN;
	ck_assert_int_eq(dedup_check(d, "it01", &o), DEDUP_FORWARD);
	/* Windows without repeats close silently. */
	ck_assert_int_eq(dedup_expire(d, 1000 + 60 * MIN, collect, &g), 0);
	dedup_get_counters(d, &c);
	ck_assert_uint_eq(c.forwarded, 4);
	ck_assert_uint_eq(c.folded, 2);
	ck_assert_uint_eq(c.summaries, 1);
	ck_assert_uint_eq(c.entries, 0);
	dedup_free(d);
	dedup_free(NULL);
}
END_TEST

START_TEST(test_roll_and_late)
{
	struct dedup_options opt = { 0 };
	struct dedup *d;
	struct got g = { 0 };
	struct dns_obs o;

	opt.window_ms = 60 * 1000;
	opt.on_evict = collect;
	opt.on_evict_arg = &g;
	ck_assert_int_eq(dedup_new(&d, &opt), CD_EOK);
	o = obs("a.example", "x.exe", 0, 100000);
	ck_assert_int_eq(dedup_check(d, "h", &o), DEDUP_FORWARD);
	/* A late event from before the window start still belongs to it. */
	o.time_ms = 90000;
	ck_assert_int_eq(dedup_check(d, "h", &o), DEDUP_FOLD);
	/* Past the window end: a new window, the old one's summary at once. */
	o.time_ms = 160000;
	ck_assert_int_eq(dedup_check(d, "h", &o), DEDUP_FORWARD);
	ck_assert_uint_eq(g.n, 1);
	ck_assert_int_eq(g.first[0], 90000);
	ck_assert_int_eq(g.last[0], 100000);
	ck_assert_uint_eq(g.count[0], 2);
	dedup_free(d);
}
END_TEST

START_TEST(test_eviction)
{
	struct dedup_options opt = { 0 };
	struct dedup_counters c;
	struct dedup *d;
	struct got g = { 0 };
	struct dns_obs o;
	char name[32];
	int i;

	opt.max_entries = 4;
	opt.on_evict = collect;
	opt.on_evict_arg = &g;
	ck_assert_int_eq(dedup_new(&d, &opt), CD_EOK);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		o = obs(name, "x.exe", 0, 1000 + i);
		ck_assert_int_eq(dedup_check(d, "h", &o), DEDUP_FORWARD);
	}
	/* n0 had a repeat: evicting it emits its summary. */
	o = obs("n0.example", "x.exe", 0, 2000);
	ck_assert_int_eq(dedup_check(d, "h", &o), DEDUP_FOLD);
	o = obs("n4.example", "x.exe", 0, 3000);
	ck_assert_int_eq(dedup_check(d, "h", &o), DEDUP_FORWARD);
	ck_assert_uint_eq(g.n, 1);
	ck_assert_str_eq(g.name[0], "n0.example");
	ck_assert_uint_eq(g.count[0], 2);
	/* n1 is the oldest now and goes silently; n0 is forwarded again. */
	o = obs("n0.example", "x.exe", 0, 4000);
	ck_assert_int_eq(dedup_check(d, "h", &o), DEDUP_FORWARD);
	dedup_get_counters(d, &c);
	ck_assert_uint_eq(c.evicted, 2);
	ck_assert_uint_eq(c.entries, 4);
	ck_assert_uint_eq(g.n, 1);
	o = obs("n1.example", "x.exe", 0, 4000);
	ck_assert_int_eq(dedup_check(d, "h", &o), DEDUP_FORWARD);
	dedup_free(d);
}
END_TEST

START_TEST(test_fields)
{
	struct dedup_options opt = { 0 };
	struct dedup *d;
	struct dns_obs o;
	unsigned f;

	ck_assert_int_eq(dedup_fields_parse("host, query_name", &f), CD_EOK);
	ck_assert_uint_eq(f, DEDUP_F_HOST | DEDUP_F_NAME);
	ck_assert_int_eq(dedup_fields_parse("host,bogus", &f), CD_ECONFIG);
	ck_assert_int_eq(dedup_fields_parse("", &f), CD_ECONFIG);
	ck_assert_int_eq(dedup_fields_parse("host,image,query_name,query_status", &f), CD_EOK);
	ck_assert_uint_eq(f, DEDUP_FIELDS_DEFAULT);

	opt.fields = DEDUP_F_HOST | DEDUP_F_NAME;
	ck_assert_int_eq(dedup_new(&d, &opt), CD_EOK);
	o = obs("a.example", "x.exe", 0, 1000);
	ck_assert_int_eq(dedup_check(d, "h", &o), DEDUP_FORWARD);
	/* Image and status are not in the key now. */
	o = obs("a.example", "y.exe", 9003, 2000);
	ck_assert_int_eq(dedup_check(d, "h", &o), DEDUP_FOLD);
	dedup_free(d);
}
END_TEST

struct thr {
	struct dedup	*d;
	int		 forwarded;
};

static void *
hammer(void *arg)
{
	struct thr *t = arg;
	struct dns_obs o;
	char name[32];
	int i;

	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "n%d.example", i % 100);
		o = obs(name, "x.exe", 0, 1000 + i);
		if (dedup_check(t->d, "h", &o) == DEDUP_FORWARD)
			t->forwarded++;
	}
	return NULL;
}

/* Four threads on 100 keys in one window: exactly 100 forwards in total. */
START_TEST(test_threads)
{
	struct thr t[4];
	pthread_t th[4];
	struct dedup *d;
	struct dedup_counters c;
	int i, sum = 0;

	ck_assert_int_eq(dedup_new(&d, NULL), CD_EOK);
	for (i = 0; i < 4; i++) {
		t[i].d = d;
		t[i].forwarded = 0;
		pthread_create(&th[i], NULL, hammer, &t[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		sum += t[i].forwarded;
	}
	ck_assert_int_eq(sum, 100);
	dedup_get_counters(d, &c);
	ck_assert_uint_eq(c.folded, 80000 - 100);
	dedup_free(d);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dedup");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_roll_and_late);
	tcase_add_test(tc, test_eviction);
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
