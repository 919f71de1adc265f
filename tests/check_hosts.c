/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "harness.h"
#include "hosts.h"
#include "store.h"

struct upd {
	const char		*host;
	int64_t			 now;
	struct hosts_delta	 d;
};

static int
apply_update(struct store_txn *txn, void *arg)
{
	struct upd *u = arg;

	return hosts_update(txn, u->host, u->now, &u->d);
}

static void
update(const char *host, int64_t now, uint64_t events, uint64_t dns,
    uint64_t domains, bool hb)
{
	struct upd u = { host, now, { events, dns, domains, hb } };

	ck_assert_int_eq(store_run(harness_store, apply_update, &u), CD_EOK);
}

START_TEST(test_update_get)
{
	struct store_txn *txn;
	struct hosts_info hi;
	uint32_t id1, id2;

	update("WS5.TheShire.local", 5000, 10, 4, 3, false);
	update("ws5.theshire.local", 3000, 1, 0, 0, true);
	update("ws5.theshire.local", 9000, 2, 1, 1, false);
	update("dc01", 7000, 1, 1, 1, false);
	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	ck_assert_int_eq(hosts_get(txn, "WS5.theshire.local", &hi), CD_EOK);
	ck_assert_str_eq(hi.host, "ws5.theshire.local");
	ck_assert_int_eq(hi.first_seen, 3000);
	ck_assert_int_eq(hi.last_seen, 9000);
	ck_assert_int_eq(hi.last_heartbeat, 3000);
	ck_assert_uint_eq(hi.events, 13);
	ck_assert_uint_eq(hi.dns_queries, 5);
	ck_assert_uint_eq(hi.domains, 4);
	ck_assert_int_eq(hosts_get(txn, "nope", &hi), CD_ENOTFOUND);
	ck_assert_int_eq(hosts_id(txn, "ws5.theshire.local", false, &id1), CD_EOK);
	ck_assert_int_eq(hosts_id(txn, "DC01", false, &id2), CD_EOK);
	ck_assert_uint_ne(id1, id2);
	ck_assert_uint_ne(id1, 0);
	char name[HOSTS_NAME_MAX];
	ck_assert_int_eq(hosts_name(txn, id2, name), CD_EOK);
	ck_assert_str_eq(name, "dc01");
	ck_assert_int_eq(hosts_name(txn, 999, name), CD_ENOTFOUND);
	store_read_end(txn);
}
END_TEST

/* Paging through the registry gives every host once, in name order. */
START_TEST(test_list_paging)
{
	struct store_txn *txn;
	struct hosts_list l;
	uint8_t cur[HOSTS_CURSOR_MAX];
	size_t curlen = 0, seen = 0;
	char host[32], prev[HOSTS_NAME_MAX] = "";
	int i;

	for (i = 0; i < 25; i++) {
		snprintf(host, sizeof(host), "host%02d.example", (i * 7) % 25);
		update(host, 1000 + i, 1, 0, 0, false);
	}
	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	do {
		ck_assert_int_eq(hosts_list(txn, cur, curlen, 4, &l), CD_EOK);
		for (size_t j = 0; j < l.n; j++) {
			ck_assert_str_gt(l.items[j].host, prev);
			snprintf(prev, sizeof(prev), "%s", l.items[j].host);
			seen++;
		}
		memcpy(cur, l.next_cursor, l.next_cursor_len);
		curlen = l.next_cursor_len;
		hosts_list_free(&l);
	} while (curlen > 0);
	ck_assert_uint_eq(seen, 25);
	ck_assert_str_eq(prev, "host24.example");
	ck_assert_int_eq(hosts_list(txn, NULL, 0, 20000, &l), -EINVAL);
	store_read_end(txn);
}
END_TEST

struct img {
	const char	*image;
	uint32_t	 id;
};

static int
apply_image(struct store_txn *txn, void *arg)
{
	struct img *m = arg;

	return hosts_image_id(txn, m->image, true, &m->id);
}

START_TEST(test_images)
{
	struct img a = { "C:\\Windows\\System32\\svchost.exe", 0 };
	struct img b = { "C:\\Windows\\system32\\svchost.exe", 0 };
	struct img a2 = { "C:\\Windows\\System32\\svchost.exe", 0 };
	struct store_txn *txn;
	char *s;

	ck_assert_int_eq(store_run(harness_store, apply_image, &a), CD_EOK);
	ck_assert_int_eq(store_run(harness_store, apply_image, &b), CD_EOK);
	ck_assert_int_eq(store_run(harness_store, apply_image, &a2), CD_EOK);
	/* Images are kept as written: case makes another id. */
	ck_assert_uint_ne(a.id, b.id);
	ck_assert_uint_eq(a.id, a2.id);
	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	ck_assert_int_eq(hosts_image_name(txn, b.id, &s), CD_EOK);
	ck_assert_str_eq(s, b.image);
	free(s);
	store_read_end(txn);
}
END_TEST

/* hosts_batch_update() + flush against hosts_update() one by one, with the
 * DNS index's hosts_id(create) calls in between (they hand out ids), over
 * more hosts than a batch holds: the hosts database must end identical. */
struct diff_ops {
	bool	 batch;
	unsigned seed;
};

static int
apply_ops(struct store_txn *txn, void *arg)
{
	struct diff_ops *o = arg;
	struct hosts_batch hb;
	unsigned seed = o->seed;
	int rc = CD_EOK;

	hosts_batch_init(&hb);
	for (int i = 0; i < 400 && rc == CD_EOK; i++) {
		char host[32];
		uint32_t id;
		unsigned r = (unsigned)rand_r(&seed);
		struct hosts_delta d = { r % 3, r % 2, (r >> 3) % 2, (r >> 5) % 7 == 0 };
		int64_t now = 1000 + (int64_t)(r >> 8) % 50;

		snprintf(host, sizeof(host), "%sHost%u.example",
		    (r >> 12) % 2 ? "" : "w", (r >> 13) % 13);
		if ((r >> 17) % 4 == 0)
			rc = hosts_id(txn, host, true, &id);
		else if (o->batch)
			rc = hosts_batch_update(txn, &hb, host, now, &d);
		else
			rc = hosts_update(txn, host, now, &d);
	}
	if (rc == CD_EOK && o->batch)
		rc = hosts_batch_flush(txn, &hb);
	/* Errors as hosts_update(): a name too long. */
	if (rc == CD_EOK) {
		char longname[HOSTS_NAME_MAX + 8];
		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		ck_assert_int_eq(hosts_batch_update(txn, &hb, longname, 1, NULL), -EINVAL);
	}
	return rc;
}

static char *
dump_hosts(struct store *st, size_t *len)
{
	struct store_txn *txn;
	struct store_iter *it;
	char *out = NULL;
	size_t n = 0;
	int rc;

	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	ck_assert_int_eq(store_iter_open(txn, STORE_DBI_HOSTS, &it), CD_EOK);
	for (rc = store_iter_seek(it, NULL, 0); rc == CD_EOK; rc = store_iter_next(it)) {
		struct store_val k, v;

		store_iter_get(it, &k, &v);
		out = realloc(out, n + k.len + v.len + 16);
		ck_assert(out != NULL);
		memcpy(out + n, &k.len, sizeof(k.len));
		n += sizeof(k.len);
		memcpy(out + n, k.data, k.len);
		n += k.len;
		memcpy(out + n, &v.len, sizeof(v.len));
		n += sizeof(v.len);
		memcpy(out + n, v.data, v.len);
		n += v.len;
	}
	store_iter_close(it);
	store_read_end(txn);
	*len = n;
	return out;
}

START_TEST(test_batch_differential)
{
	for (unsigned seed = 1; seed <= 20; seed++) {
		char *da, *db, *pa, *pb;
		size_t la, lb;
		struct store *a = harness_store_open(&da), *b = harness_store_open(&db);
		struct diff_ops oa = { false, seed }, ob = { true, seed };

		/* Two jobs each, so the second starts from stored records. */
		for (int j = 0; j < 2; j++) {
			ck_assert_int_eq(store_run(a, apply_ops, &oa), CD_EOK);
			ck_assert_int_eq(store_run(b, apply_ops, &ob), CD_EOK);
			oa.seed += 1000;
			ob.seed += 1000;
		}
		pa = dump_hosts(a, &la);
		pb = dump_hosts(b, &lb);
		ck_assert_uint_gt(la, 0);
		ck_assert_uint_eq(la, lb);
		ck_assert(memcmp(pa, pb, la) == 0);
		free(pa);
		free(pb);
		harness_store_close(a, da);
		harness_store_close(b, db);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("hosts");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, harness_store_setup,
	    harness_store_teardown);
	tcase_add_test(tc, test_update_get);
	tcase_add_test(tc, test_list_paging);
	tcase_add_test(tc, test_images);
	tcase_add_test(tc, test_batch_differential);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
