/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "err.h"
#include "event.h"
#include "harness.h"
#include "hosts.h"
#include "index.h"
#include "store.h"

/* The interface's time format: RFC 3339 UTC with milliseconds. */
static void
fmt_time(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out + strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm), 12,
	    ".%03dZ", (int)(ms % 1000));
}

/* One batch for the writer: observations of several hosts. */
struct batch {
	struct dns_obs	 obs[64];
	char		 host[64][HOSTS_NAME_MAX];
	size_t		 n;
	size_t		 new_domain, new_on_host, new_regdom;
};

static int
apply_batch(struct store_txn *txn, void *arg)
{
	struct batch *b = arg;
	struct index_effects e;
	struct hosts_delta d;
	size_t i;
	int rc;

	/* apply() may run more than once: results are recomputed each time. */
	b->new_domain = b->new_on_host = b->new_regdom = 0;
	for (i = 0; i < b->n; i++) {
		if ((rc = index_apply(txn, b->host[i], &b->obs[i], &e)) != CD_EOK)
			return rc;
		b->new_domain += e.new_domain;
		b->new_on_host += e.new_on_host;
		b->new_regdom += e.new_regdom;
		memset(&d, 0, sizeof(d));
		d.events = 1;
		d.dns_queries = 1;
		d.domains = e.new_on_host;
		if ((rc = hosts_update(txn, b->host[i], 1000, &d)) != CD_EOK)
			return rc;
	}
	return CD_EOK;
}

static size_t total_new_domain, total_new_on_host, total_new_regdom;

static void
flush(struct batch *b)
{
	size_t i;

	if (b->n == 0)
		return;
	ck_assert_int_eq(store_run(harness_store, apply_batch, b), CD_EOK);
	total_new_domain += b->new_domain;
	total_new_on_host += b->new_on_host;
	total_new_regdom += b->new_regdom;
	for (i = 0; i < b->n; i++)
		dns_obs_clear(&b->obs[i]);
	b->n = 0;
}

/* Record identities seen, as the ingest code keeps them in STORE_DBI_RECORDS. */
static char **seen;
static size_t nseen;

static bool
seen_before(const char *host, const char *channel, uint64_t rec)
{
	char key[512];
	size_t i;

	snprintf(key, sizeof(key), "%s|%s|%llu", host, channel ? channel : "",
	    (unsigned long long)rec);
	for (i = 0; i < nseen; i++)
		if (strcmp(seen[i], key) == 0)
			return true;
	seen = realloc(seen, (nseen + 1) * sizeof(*seen));
	seen[nseen++] = strdup(key);
	return false;
}

static void
feed_event(struct event *ev, void *arg)
{
	struct batch *b = arg;
	char host[HOSTS_NAME_MAX];
	size_t i;

	if (dns_from_event(ev, &b->obs[b->n]) != CD_EOK)
		return;
	ck_assert_ptr_nonnull(ev->computer);
	for (i = 0; ev->computer[i] != '\0' && i + 1 < sizeof(host); i++)
		host[i] = (char)((ev->computer[i] >= 'A' && ev->computer[i] <= 'Z') ?
		    ev->computer[i] - 'A' + 'a' : ev->computer[i]);
	host[i] = '\0';
	if (seen_before(host, ev->channel, ev->record_id)) {
		dns_obs_clear(&b->obs[b->n]);
	} else {
		memcpy(b->host[b->n], host, sizeof(host));
		if (++b->n == 64)
			flush(b);
	}
}

static void
feed_file(const char *rel, struct batch *b)
{
	harness_each_event(rel, feed_event, b);
	flush(b);
}

static json_t *
load_expected(void)
{
	json_error_t err;
	json_t *j = json_load_file(harness_data_path("sysmon/expected_dns.json"), 0, &err);

	ck_assert_msg(j != NULL, "expected_dns.json: %s", err.text);
	return j;
}

static void
feed_all(void)
{
	/* Out of order, and one file delivered twice (a re-sent batch). */
	static const char *files[] = {
		"sysmon/purplesharp_ad_playbook_i.xml",
		"sysmon/lsass_campaign_04.xml",
		"sysmon/covenant_psremoting_grunt.xml",
		"sysmon/lsass_campaign_01.xml",
		"sysmon/cmd_wevtutil_modify_security_eventlog_path.xml",
		"sysmon/lsass_campaign_03.xml",
		"sysmon/covenant_dcom_iertutil_dll_hijack.xml",
		"sysmon/lsass_campaign_02.xml",
		"sysmon/lsass_campaign_04.xml",
	};
	struct batch *b = calloc(1, sizeof(*b));
	size_t i;

	total_new_domain = total_new_on_host = total_new_regdom = 0;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		feed_file(files[i], b);
	free(b);
	for (i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	seen = NULL;
	nseen = 0;
}

static void
check_images(json_t *want, char *const *got, size_t n)
{
	size_t i;

	ck_assert_uint_eq(json_array_size(want), n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(json_string_value(json_array_get(want, i)), got[i]);
}

/* THE DATA TEST: the index reproduces expected_dns.json exactly. */
START_TEST(test_expected_dns)
{
	json_t *exp = load_expected(), *names, *hosts, *v, *hv, *pv;
	const char *name, *host;
	struct store_txn *txn;
	struct index_domain d;
	struct index_hostdom hd;
	struct index_hostdom_list hl;
	struct hosts_info hi;
	char t[32];

	feed_all();
	names = json_object_get(exp, "names");
	hosts = json_object_get(exp, "hosts");
	ck_assert_uint_eq(total_new_domain, json_object_size(names));
	ck_assert_uint_eq(total_new_domain, 83);
	ck_assert_uint_eq(total_new_on_host, 139);
	ck_assert_uint_gt(total_new_regdom, 0);
	ck_assert_uint_lt(total_new_regdom, 83);

	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	json_object_foreach(names, name, v) {
		ck_assert_int_eq(index_domain_get(txn, name, &d), CD_EOK);
		fmt_time(d.first_seen, t);
		ck_assert_str_eq(t, json_string_value(json_object_get(v, "first_seen")));
		fmt_time(d.last_seen, t);
		ck_assert_str_eq(t, json_string_value(json_object_get(v, "last_seen")));
		ck_assert_uint_eq(d.count, json_integer_value(json_object_get(v, "count")));
		ck_assert_uint_eq(d.host_count,
		    json_integer_value(json_object_get(v, "host_count")));
		ck_assert_str_eq(d.first_host,
		    json_string_value(json_object_get(v, "first_host")));
		ck_assert_str_eq(d.first_image,
		    json_string_value(json_object_get(v, "first_image")));
		index_domain_clear(&d);

		/* The hosts of the domain, one small page at a time. */
		uint8_t cur[INDEX_CURSOR_MAX];
		size_t curlen = 0, nh = 0;
		do {
			ck_assert_int_eq(index_domain_hosts(txn, name, cur, curlen, 2, &hl), CD_EOK);
			for (size_t i = 0; i < hl.n; i++) {
				json_t *hp = json_object_get(json_object_get(hosts,
				    hl.items[i].host), name);

				ck_assert_ptr_nonnull(hp);
				ck_assert_uint_eq(hl.items[i].count,
				    json_integer_value(json_object_get(hp, "count")));
				nh++;
			}
			memcpy(cur, hl.next_cursor, hl.next_cursor_len);
			curlen = hl.next_cursor_len;
			index_hostdom_list_free(&hl);
		} while (curlen > 0);
		ck_assert_uint_eq(nh, json_integer_value(json_object_get(v, "host_count")));
	}
	ck_assert_int_eq(index_domain_get(txn, "never.example", &d), CD_ENOTFOUND);

	json_object_foreach(hosts, host, hv) {
		json_object_foreach(hv, name, pv) {
			ck_assert_int_eq(index_hostdom_get(txn, host, name, &hd), CD_EOK);
			fmt_time(hd.first_seen, t);
			ck_assert_str_eq(t, json_string_value(json_object_get(pv, "first_seen")));
			fmt_time(hd.last_seen, t);
			ck_assert_str_eq(t, json_string_value(json_object_get(pv, "last_seen")));
			ck_assert_uint_eq(hd.count,
			    json_integer_value(json_object_get(pv, "count")));
			check_images(json_object_get(pv, "images"), hd.images, hd.nimages);
			index_hostdom_clear(&hd);
		}
		v = json_object_get(json_object_get(exp, "host_totals"), host);
		ck_assert_int_eq(hosts_get(txn, host, &hi), CD_EOK);
		ck_assert_uint_eq(hi.dns_queries,
		    json_integer_value(json_object_get(v, "dns_queries")));
		ck_assert_uint_eq(hi.domains, json_integer_value(json_object_get(v, "domains")));
	}
	store_read_end(txn);
	json_decref(exp);
}
END_TEST

/* Paging the fleet-wide and per-host views returns every item once, in
 * (first_seen, name) order, with filters applied. */
START_TEST(test_lists)
{
	json_t *exp = load_expected(), *names, *hosts, *v, *hv;
	const char *name, *host;
	struct store_txn *txn;
	struct index_domain_list dl;
	struct index_hostdom_list hl;
	struct index_filter f;
	uint8_t cur[INDEX_CURSOR_MAX];
	size_t curlen, n, want;
	int64_t prev_t, after, before;
	char prev_n[DNS_NAME_MAX], t[32];

	feed_all();
	names = json_object_get(exp, "names");
	hosts = json_object_get(exp, "hosts");
	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);

	/* Window: 2020-10-01 <= first_seen < 2023-01-01, plus max_hosts 1. */
	ck_assert_int_eq(dns_parse_utctime("2020-10-01 00:00:00.000", &after), CD_EOK);
	ck_assert_int_eq(dns_parse_utctime("2023-01-01 00:00:00.000", &before), CD_EOK);
	for (int pass = 0; pass < 4; pass++) {
		memset(&f, 0, sizeof(f));
		if (pass >= 1) {
			f.has_after = f.has_before = true;
			f.first_seen_after = after;
			f.first_seen_before = before;
		}
		if (pass == 2)
			f.max_hosts = 1;
		if (pass == 3) {
			f.has_after = f.has_before = false;
			f.suffix = "Theshire.Local.";
		}
		want = 0;
		json_object_foreach(names, name, v) {
			const char *fs = json_string_value(json_object_get(v, "first_seen"));

			fmt_time(after, t);
			if (pass >= 1 && pass < 3 && strcmp(fs, t) < 0)
				continue;
			fmt_time(before, t);
			if (pass >= 1 && pass < 3 && strcmp(fs, t) >= 0)
				continue;
			if (pass == 2 && json_integer_value(json_object_get(v, "host_count")) > 1)
				continue;
			if (pass == 3 && strcmp(name, "theshire.local") != 0 &&
			    (strlen(name) < 15 ||
			    strcmp(name + strlen(name) - 15, ".theshire.local") != 0))
				continue;
			want++;
		}
		curlen = 0;
		n = 0;
		prev_t = INT64_MIN;
		prev_n[0] = '\0';
		do {
			ck_assert_int_eq(index_domains_list(txn, &f, cur, curlen, 5, &dl), CD_EOK);
			ck_assert_uint_le(dl.n, 5);
			for (size_t i = 0; i < dl.n; i++) {
				ck_assert(dl.items[i].first_seen > prev_t ||
				    (dl.items[i].first_seen == prev_t &&
				    strcmp(dl.items[i].domain, prev_n) != 0));
				ck_assert(dl.items[i].first_seen >= prev_t);
				prev_t = dl.items[i].first_seen;
				snprintf(prev_n, sizeof(prev_n), "%s", dl.items[i].domain);
				v = json_object_get(names, dl.items[i].domain);
				ck_assert_ptr_nonnull(v);
				fmt_time(dl.items[i].first_seen, t);
				ck_assert_str_eq(t, json_string_value(json_object_get(v, "first_seen")));
				n++;
			}
			memcpy(cur, dl.next_cursor, dl.next_cursor_len);
			curlen = dl.next_cursor_len;
			index_domain_list_free(&dl);
		} while (curlen > 0);
		ck_assert_msg(n == want, "pass %d: %zu listed, %zu expected", pass, n, want);
	}

	json_object_foreach(hosts, host, hv) {
		curlen = 0;
		n = 0;
		prev_t = INT64_MIN;
		do {
			ck_assert_int_eq(index_host_domains(txn, host, NULL, cur, curlen, 3, &hl), CD_EOK);
			for (size_t i = 0; i < hl.n; i++) {
				ck_assert_ptr_nonnull(json_object_get(hv, hl.items[i].domain));
				ck_assert(hl.items[i].first_seen >= prev_t);
				prev_t = hl.items[i].first_seen;
				n++;
			}
			memcpy(cur, hl.next_cursor, hl.next_cursor_len);
			curlen = hl.next_cursor_len;
			index_hostdom_list_free(&hl);
		} while (curlen > 0);
		ck_assert_uint_eq(n, json_object_size(hv));
	}
	ck_assert_int_eq(index_host_domains(txn, "nohost", NULL, NULL, 0, 0, &hl), CD_ENOTFOUND);
	ck_assert_int_eq(index_domains_list(txn, NULL, (const uint8_t *)"bad", 3, 0, &dl), -EINVAL);
	ck_assert_int_eq(index_domains_list(txn, NULL, NULL, 0, INDEX_LIMIT_MAX + 1, &dl), -EINVAL);
	store_read_end(txn);
	json_decref(exp);
}
END_TEST

START_TEST(test_ip_and_regdom)
{
	struct store_txn *txn;
	struct index_ip_list il;
	struct index_domain d;
	bool found = false;

	feed_all();
	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	/* HFDC01.shire.com answered ::ffff:172.18.39.5 (unmapped in the index). */
	ck_assert_int_eq(index_ip(txn, "::ffff:172.18.39.5", NULL, 0, 0, &il), CD_EOK);
	for (size_t i = 0; i < il.n; i++)
		if (strcmp(il.items[i].domain, "hfdc01.shire.com") == 0) {
			found = true;
			ck_assert_int_le(il.items[i].first_seen, il.items[i].last_seen);
		}
	ck_assert(found);
	index_ip_list_free(&il);
	ck_assert_int_eq(index_ip(txn, "172.18.39.5", NULL, 0, 0, &il), CD_EOK);
	ck_assert_uint_gt(il.n, 0);
	index_ip_list_free(&il);
	ck_assert_int_eq(index_ip(txn, "203.0.113.9", NULL, 0, 0, &il), CD_EOK);
	ck_assert_uint_eq(il.n, 0);
	ck_assert_int_eq(index_ip(txn, "not-an-ip", NULL, 0, 0, &il), CD_EPARSE);

	/* Registered domain: every *.microsoft.com name rolled up. */
	ck_assert_int_eq(index_regdom_get(txn, "microsoft.com", &d), CD_EOK);
	ck_assert_str_eq(d.registered_domain, "microsoft.com");
	ck_assert_uint_ge(d.count, 76);	/* umwatson.events.data.microsoft.com alone is 20% */
	ck_assert_uint_ge(d.host_count, 4);
	index_domain_clear(&d);
	ck_assert_int_eq(index_regdom_get(txn, "wpad", &d), CD_EOK);
	ck_assert_str_eq(d.domain, "wpad");
	index_domain_clear(&d);
	store_read_end(txn);
}
END_TEST

struct one {
	const char	*host;
	struct dns_obs	 o;
	struct index_effects e;
	int64_t		 prune_before;
	unsigned	 max_deletes, deleted;
};

static int
apply_one(struct store_txn *txn, void *arg)
{
	struct one *a = arg;

	if (a->max_deletes > 0)
		return index_prune(txn, a->prune_before, a->max_deletes, &a->deleted);
	return index_apply(txn, a->host, &a->o, &a->e);
}

static struct index_effects
put(const char *host, const char *name, const char *image, int64_t t, uint64_t rec)
{
	struct one a;
	char rd[DNS_NAME_MAX];

	memset(&a, 0, sizeof(a));
	a.host = host;
	a.o.name = (char *)name;
	dns_registered_domain(name, rd);
	a.o.regdom = rd;
	a.o.image = (char *)image;
	a.o.time_ms = t;
	a.o.record_id = rec;
	ck_assert_int_eq(store_run(harness_store, apply_one, &a), CD_EOK);
	return a.e;
}

static size_t
count_list(struct store_txn *txn, const char *host)
{
	struct index_hostdom_list hl;
	struct index_domain_list dl;
	size_t n;

	if (host != NULL) {
		ck_assert_int_eq(index_host_domains(txn, host, NULL, NULL, 0, 0, &hl), CD_EOK);
		n = hl.n;
		index_hostdom_list_free(&hl);
	} else {
		ck_assert_int_eq(index_domains_list(txn, NULL, NULL, 0, 0, &dl), CD_EOK);
		n = dl.n;
		index_domain_list_free(&dl);
	}
	return n;
}

/* A late record with an earlier time moves first_seen back in every view. */
START_TEST(test_late_event)
{
	struct index_effects e;
	struct store_txn *txn;
	struct index_domain d;
	struct index_domain_list dl;

	e = put("h1", "a.example.com", "x.exe", 5000, 10);
	ck_assert(e.new_domain && e.new_on_host && e.new_regdom);
	e = put("h2", "b.example.com", "y.exe", 6000, 11);
	ck_assert(e.new_domain && e.new_on_host && !e.new_regdom);
	e = put("h1", "a.example.com", "z.exe", 1000, 3);
	ck_assert(!e.new_domain && !e.new_on_host && !e.new_regdom);
	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	ck_assert_int_eq(index_domain_get(txn, "A.Example.COM.", &d), CD_EOK);
	ck_assert_int_eq(d.first_seen, 1000);
	ck_assert_int_eq(d.last_seen, 5000);
	ck_assert_str_eq(d.first_image, "z.exe");
	ck_assert_uint_eq(d.nimages, 2);
	index_domain_clear(&d);
	ck_assert_uint_eq(count_list(txn, NULL), 2);
	ck_assert_uint_eq(count_list(txn, "h1"), 1);
	/* Only names first seen from 2000 on: b, not a any more. */
	struct index_filter f = { .has_after = true, .first_seen_after = 2000 };
	ck_assert_int_eq(index_domains_list(txn, &f, NULL, 0, 0, &dl), CD_EOK);
	ck_assert_uint_eq(dl.n, 1);
	ck_assert_str_eq(dl.items[0].domain, "b.example.com");
	index_domain_list_free(&dl);
	ck_assert_int_eq(index_regdom_get(txn, "example.com", &d), CD_EOK);
	ck_assert_uint_eq(d.host_count, 2);
	ck_assert_uint_eq(d.count, 3);
	ck_assert_int_eq(d.first_seen, 1000);
	index_domain_clear(&d);
	store_read_end(txn);

	/* Same time on two hosts: the smaller host name is the first host. */
	put("zz", "tie.example", "z.exe", 7000, 1);
	put("aa", "tie.example", "a.exe", 7000, 99);
	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	ck_assert_int_eq(index_domain_get(txn, "tie.example", &d), CD_EOK);
	ck_assert_str_eq(d.first_host, "aa");
	ck_assert_str_eq(d.first_image, "a.exe");
	index_domain_clear(&d);
	store_read_end(txn);
}
END_TEST

START_TEST(test_prune)
{
	struct store_txn *txn;
	struct index_domain d;
	struct index_hostdom hd;
	struct one a;
	char name[32];
	unsigned total = 0;
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		put("h1", name, "x.exe", 1000 + i, (uint64_t)i);
	}
	put("h1", "n9.example", "x.exe", 50000, 100);
	put("h2", "n0.example", "x.exe", 60000, 101);
	memset(&a, 0, sizeof(a));
	a.prune_before = 10000;
	a.max_deletes = 4;
	do {
		ck_assert_int_eq(store_run(harness_store, apply_one, &a), CD_EOK);
		total += a.deleted;
	} while (a.deleted == a.max_deletes);
	/* n0..n8 on h1 were old; n9 on h1 and n0 on h2 are not. */
	ck_assert_uint_eq(total, 9);
	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	ck_assert_uint_eq(count_list(txn, "h1"), 1);
	ck_assert_uint_eq(count_list(txn, "h2"), 1);
	ck_assert_int_eq(index_hostdom_get(txn, "h1", "n3.example", &hd), CD_ENOTFOUND);
	ck_assert_int_eq(index_hostdom_get(txn, "h1", "n9.example", &hd), CD_EOK);
	index_hostdom_clear(&hd);
	/* The per-domain aggregate keeps its first_seen. */
	ck_assert_int_eq(index_domain_get(txn, "n3.example", &d), CD_EOK);
	ck_assert_int_eq(d.first_seen, 1003);
	index_domain_clear(&d);
	ck_assert_uint_eq(count_list(txn, NULL), 10);
	store_read_end(txn);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("index");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, harness_store_setup,
	    harness_store_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_expected_dns);
	tcase_add_test(tc, test_lists);
	tcase_add_test(tc, test_ip_and_regdom);
	tcase_add_test(tc, test_late_event);
	tcase_add_test(tc, test_prune);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
