/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "harness.h"
#include "store_key.h"

static int
cmp_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
sign(int v)
{
	return (v > 0) - (v < 0);
}

START_TEST(test_u64_order)
{
	/* Edge values plus a pseudo-random spread; memcmp order of the keys
	 * must equal numeric order for every pair. */
	uint64_t v[64] = { 0, 1, 255, 256, 65535, 65536, UINT32_MAX,
	    (uint64_t)UINT32_MAX + 1, UINT64_MAX - 1, UINT64_MAX };
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 10; i < 64; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[i] = x >> (i % 40);
	}
	for (size_t i = 0; i < 64; i++) {
		for (size_t j = 0; j < 64; j++) {
			struct store_key a, b;

			store_key_init(&a);
			store_key_init(&b);
			store_key_put_u64(&a, v[i]);
			store_key_put_u64(&b, v[j]);
			ck_assert_uint_eq(a.len, 8);
			int want = v[i] < v[j] ? -1 : v[i] > v[j];
			ck_assert_int_eq(sign(memcmp(a.buf, b.buf, 8)), want);
		}
	}
}
END_TEST

START_TEST(test_widths_and_reader)
{
	struct store_key k;
	struct store_key_reader r;
	static const uint8_t want[] = { 0xab, 0x12, 0x34, 0xde, 0xad, 0xbe,
	    0xef, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 'h', 'o',
	    's', 't', 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 'x',
	    'y' };
	size_t n;

	store_key_init(&k);
	store_key_put_u8(&k, 0xab);
	store_key_put_u16(&k, 0x1234);
	store_key_put_u32(&k, 0xdeadbeef);
	store_key_put_u64(&k, 0x0102030405060708ULL);
	store_key_put_str(&k, "host");
	store_key_put_i64(&k, -2);
	store_key_put_bytes(&k, "xy", 2);
	ck_assert_int_eq(store_key_err(&k), CD_EOK);
	ck_assert_uint_eq(k.len, sizeof(want));
	ck_assert_mem_eq(k.buf, want, sizeof(want));

	store_key_reader_init(&r, k.buf, k.len);
	ck_assert_uint_eq(store_key_get_u8(&r), 0xab);
	ck_assert_uint_eq(store_key_get_u16(&r), 0x1234);
	ck_assert_uint_eq(store_key_get_u32(&r), 0xdeadbeef);
	ck_assert_uint_eq(store_key_get_u64(&r), 0x0102030405060708ULL);
	ck_assert_str_eq(store_key_get_str(&r, &n), "host");
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(store_key_get_i64(&r), -2);
	ck_assert_mem_eq(store_key_get_bytes(&r, 2), "xy", 2);
	ck_assert(store_key_reader_done(&r));
	/* Reading past the end is sticky. */
	ck_assert_uint_eq(store_key_get_u32(&r), 0);
	ck_assert_int_eq(store_key_reader_err(&r), CD_EPARSE);
	ck_assert_ptr_null(store_key_get_str(&r, NULL));
	ck_assert(!store_key_reader_done(&r));

	/* A string without a terminator is a parse error. */
	store_key_reader_init(&r, "abc", 3);
	ck_assert_ptr_null(store_key_get_str(&r, NULL));
	ck_assert_int_eq(store_key_reader_err(&r), CD_EPARSE);
}
END_TEST

START_TEST(test_i64_order)
{
	int64_t v[] = { INT64_MIN, INT64_MIN + 1, -86400000, -1, 0, 1,
	    1575510842478, INT64_MAX - 1, INT64_MAX };
	size_t n = sizeof(v) / sizeof(v[0]);

	for (size_t i = 0; i + 1 < n; i++) {
		struct store_key a, b;
		struct store_key_reader r;

		store_key_init(&a);
		store_key_init(&b);
		store_key_put_i64(&a, v[i]);
		store_key_put_i64(&b, v[i + 1]);
		ck_assert_int_lt(memcmp(a.buf, b.buf, 8), 0);
		store_key_reader_init(&r, a.buf, a.len);
		ck_assert_int_eq(store_key_get_i64(&r), v[i]);
	}
}
END_TEST

START_TEST(test_string_fields_order)
{
	/* (host, seq): a shorter host must sort before a longer one with the
	 * same start whatever the following field holds. */
	struct store_key a, b;

	store_key_init(&a);
	store_key_put_str(&a, "ab");
	store_key_put_u32(&a, UINT32_MAX);
	store_key_init(&b);
	store_key_put_str(&b, "abc");
	store_key_put_u32(&b, 0);
	ck_assert_int_lt(cmp_bytes(a.buf, a.len, b.buf, b.len), 0);

	store_key_init(&a);
	store_key_put_strn(&a, "a\0b", 3);
	ck_assert_int_eq(store_key_err(&a), -EINVAL);
}
END_TEST

START_TEST(test_overflow_sticky)
{
	struct store_key k;
	char big[STORE_KEY_MAX];

	memset(big, 'a', sizeof(big));
	store_key_init(&k);
	store_key_put_bytes(&k, big, STORE_KEY_MAX - 4);
	store_key_put_u32(&k, 7);
	ck_assert_int_eq(store_key_err(&k), CD_EOK);
	ck_assert_uint_eq(k.len, STORE_KEY_MAX);
	store_key_put_u8(&k, 1);
	ck_assert_int_eq(store_key_err(&k), CD_ETOOBIG);
	ck_assert_uint_eq(k.len, STORE_KEY_MAX);
	/* Later puts that would fit do nothing either. */
	store_key_init(&k);
	store_key_put_bytes(&k, big, STORE_KEY_MAX - 1);
	store_key_put_u16(&k, 1);
	store_key_put_u8(&k, 1);
	ck_assert_int_eq(store_key_err(&k), CD_ETOOBIG);
	ck_assert_uint_eq(k.len, STORE_KEY_MAX - 1);
}
END_TEST

START_TEST(test_domain_reverse)
{
	char out[STORE_KEY_DOMAIN_MAX], name[300];
	size_t n;

	ck_assert_int_eq(store_key_domain_reverse("www.example.com", 15, out,
	    sizeof(out), &n), CD_EOK);
	ck_assert_str_eq(out, "com.example.www");
	ck_assert_uint_eq(n, 15);
	ck_assert_int_eq(store_key_domain_reverse("WPAD.", 5, out,
	    sizeof(out), &n), CD_EOK);
	ck_assert_str_eq(out, "wpad");
	ck_assert_int_eq(store_key_domain_reverse("25.32.114.52.in-addr.arpa",
	    25, out, sizeof(out), NULL), CD_EOK);
	ck_assert_str_eq(out, "arpa.in-addr.52.114.32.25");
	/* Its own inverse. */
	ck_assert_int_eq(store_key_domain_reverse("com.example.www", 15, out,
	    sizeof(out), NULL), CD_EOK);
	ck_assert_str_eq(out, "www.example.com");

	ck_assert_int_eq(store_key_domain_reverse("", 0, out, sizeof(out),
	    NULL), -EINVAL);
	ck_assert_int_eq(store_key_domain_reverse(".", 1, out, sizeof(out),
	    NULL), -EINVAL);
	ck_assert_int_eq(store_key_domain_reverse("a..b", 4, out, sizeof(out),
	    NULL), -EINVAL);
	ck_assert_int_eq(store_key_domain_reverse(".a", 2, out, sizeof(out),
	    NULL), -EINVAL);
	ck_assert_int_eq(store_key_domain_reverse("www.example.com", 15, out,
	    10, NULL), CD_ETOOBIG);
	memset(name, 'a', 64);
	strcpy(name + 64, ".com");
	ck_assert_int_eq(store_key_domain_reverse(name, strlen(name), out,
	    sizeof(out), NULL), -EINVAL);
	for (size_t i = 0; i < 254; i += 2) {
		name[i] = 'a';
		name[i + 1] = '.';
	}
	name[254] = 'a';
	ck_assert_int_eq(store_key_domain_reverse(name, 253, out, sizeof(out),
	    &n), CD_EOK);
	ck_assert_uint_eq(n, 253);
	ck_assert_int_eq(store_key_domain_reverse(name, 255, out, sizeof(out),
	    NULL), CD_ETOOBIG);
}
END_TEST

static int
cmp_key(const void *a, const void *b)
{
	const struct store_key *x = a, *y = b;

	return cmp_bytes(x->buf, x->len, y->buf, y->len);
}

static bool
ends_with_label(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	if (n > 0 && name[n - 1] == '.')
		n--;
	return n > s && name[n - s - 1] == '.' &&
	    strncasecmp(name + n - s, suffix, s) == 0;
}

/* Every DNS query name in a real Sysmon recording, reversed and sorted:
 * the subdomains of a name must be exactly one contiguous prefix range. */
START_TEST(test_domain_prefix_scan_real_names)
{
	static const char *const suffixes[] = { "microsoft.com", "com",
	    "in-addr.arpa", "theshire.local", "windowsupdate.com" };
	char *names[4096];
	struct store_key *keys;
	size_t nnames = 0;

	for (size_t f = 0; f < HARNESS_NSYSMON_FILES; f++) {
		char *xml = harness_read_data(harness_sysmon_files[f], NULL);

		for (char *p = xml; (p = strstr(p, "'QueryName'>")) != NULL;) {
			p += strlen("'QueryName'>");
			char *end = strchr(p, '<');

			ck_assert_ptr_nonnull(end);
			if (end > p && nnames < 4096)
				names[nnames++] = strndup(p, (size_t)(end - p));
			p = end;
		}
		free(xml);
	}
	ck_assert_uint_gt(nnames, 300);
	keys = calloc(nnames, sizeof(*keys));
	ck_assert_ptr_nonnull(keys);
	for (size_t i = 0; i < nnames; i++) {
		store_key_init(&keys[i]);
		store_key_put_domain(&keys[i], names[i]);
		ck_assert_int_eq(store_key_err(&keys[i]), CD_EOK);
	}
	qsort(keys, nnames, sizeof(*keys), cmp_key);

	for (size_t s = 0; s < sizeof(suffixes) / sizeof(suffixes[0]); s++) {
		struct store_key pfx, end;
		size_t want = 0, got = 0, first = SIZE_MAX, last = 0;

		for (size_t i = 0; i < nnames; i++)
			if (ends_with_label(names[i], suffixes[s]))
				want++;
		store_key_init(&pfx);
		store_key_put_domain_prefix(&pfx, suffixes[s]);
		end = pfx;
		ck_assert(store_key_successor(&end));
		for (size_t i = 0; i < nnames; i++) {
			struct store_val v = { keys[i].buf, keys[i].len };
			bool in = store_key_has_prefix(&v, pfx.buf, pfx.len);
			bool below = cmp_key(&keys[i], &end) < 0 &&
			    cmp_key(&keys[i], &pfx) >= 0;

			ck_assert(in == below);
			if (in) {
				got++;
				if (first == SIZE_MAX)
					first = i;
				last = i;
			}
		}
		ck_assert_msg(got == want, "%s: %zu in range, %zu by suffix",
		    suffixes[s], got, want);
		if (got > 0)
			ck_assert_uint_eq(last - first + 1, got);
	}
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(keys);
}
END_TEST

START_TEST(test_successor)
{
	struct store_key k;

	store_key_init(&k);
	ck_assert(!store_key_successor(&k));
	store_key_put_bytes(&k, "a\xff\xff", 3);
	ck_assert(store_key_successor(&k));
	ck_assert_uint_eq(k.len, 1);
	ck_assert_int_eq(k.buf[0], 'b');
	store_key_init(&k);
	store_key_put_u16(&k, 0xffff);
	ck_assert(!store_key_successor(&k));
	ck_assert_uint_eq(k.len, 2);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_key");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_u64_order);
	tcase_add_test(tc, test_widths_and_reader);
	tcase_add_test(tc, test_i64_order);
	tcase_add_test(tc, test_string_fields_order);
	tcase_add_test(tc, test_overflow_sticky);
	tcase_add_test(tc, test_domain_reverse);
	tcase_add_test(tc, test_domain_prefix_scan_real_names);
	tcase_add_test(tc, test_successor);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
