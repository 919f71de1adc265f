/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * collectord-loadgen's body builder: lg_body_events() (UTF-16LE pieces
 * encoded once, spliced per event) must send exactly the bytes of
 * lg_body_events_ref() (UTF-8 text, replay_msg_events(), then the whole
 * envelope through utf8_to_utf16le_bom()), for many hosts, record IDs,
 * batch sizes, bookmarks and headers, on the real Sysmon data and on
 * mutated copies of it. The fast Ack recogniser must never accept what
 * replay_msg_check_ack() refuses. That the daemon accepts the bodies is
 * tests/loadgen_smoke.sh.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <libxml/parser.h>

#include "buf.h"
#include "err.h"
#include "harness.h"
#include "loadgen.h"
#include "replay.h"
#include "soap.h"
#include "utf16.h"

/* Two mixes of the same files: their tail-name counters advance in step
 * when the two builders draw the same events. */
static struct lg_mix *mix_ref, *mix_new;

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
load_mixes(const char *dir)
{
	ck_assert_int_eq(lg_mix_new(&mix_ref, dir), CD_EOK);
	ck_assert_int_eq(lg_mix_new(&mix_new, dir), CD_EOK);
}

static void
free_mixes(void)
{
	lg_mix_free(mix_ref);
	lg_mix_free(mix_new);
	mix_ref = mix_new = NULL;
}

/*
 * Build batches of n events for host state (seed, rid) with both builders,
 * `rounds` batches in a row (the state and bookmark carried over), and
 * compare every body, the DNS counts, the host states and the bookmarks.
 */
/*
 * g's bytes into out as a sender takes them: lg_gather_iov() from offset
 * 0, then on after writes of odd sizes (seed picks them), at most a few
 * iovecs per call as when the socket's buffer is nearly full; and once
 * through lg_gather_flatten(), which must give the same bytes.
 */
static void
gathered_bytes(struct lg_gather *g, struct buf *out, unsigned seed)
{
	struct buf flat;
	size_t off = 0;

	buf_init(&flat, 0);
	ck_assert_int_eq(lg_gather_flatten(g, &flat), CD_EOK);
	ck_assert_uint_eq(flat.len, g->len);
	while (off < g->len) {
		struct iovec iov[7];
		size_t k = lg_gather_iov(g, off, iov, 1 + (off + seed) % 7);
		size_t take = 1 + (off * 31 + seed * 7919) % 9000, got = 0;

		ck_assert_uint_gt(k, 0);
		for (size_t i = 0; i < k && got < take; i++) {
			size_t n = iov[i].iov_len < take - got ? iov[i].iov_len : take - got;
			ck_assert_int_eq(buf_append(out, iov[i].iov_base, n), CD_EOK);
			got += n;
		}
		off += got;
	}
	ck_assert_uint_eq(out->len, flat.len);
	ck_assert_int_eq(memcmp(out->data, flat.data, flat.len), 0);
	buf_free(&flat);
}

static void
compare_batches(const char *computer, uint64_t seed, uint64_t rid, size_t n,
    unsigned rounds, const struct replay_hdr *hd, bool other_channel)
{
	struct lg_body b1, b2;
	struct lg_mix_host h1, h2;
	struct replay_bookmark bm1 = { 0 }, bm2 = { 0 };
	struct buf o1, o2, s1, s2;
	struct lg_gather g;

	lg_gather_init(&g);
	ck_assert_int_eq(lg_body_init(&b1, n), CD_EOK);
	ck_assert_int_eq(lg_body_init(&b2, n), CD_EOK);
	buf_init(&o1, 0);
	buf_init(&o2, 0);
	buf_init(&s1, 0);
	buf_init(&s2, 0);
	lg_mix_host_init(&h1, seed);
	h1.record_id = rid;
	h2 = h1;
	if (other_channel) {
		/* A bookmark that already holds another channel. */
		ck_assert_int_eq(replay_bookmark_set(&bm1, "Security", 7), CD_EOK);
		ck_assert_int_eq(replay_bookmark_set(&bm2, "Security", 7), CD_EOK);
	}
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t d1 = 0, d2 = 0;

		buf_reset(&o1);
		buf_reset(&o2);
		lg_gather_reset(&g);
		ck_assert_int_eq(lg_body_events_ref(&b1, mix_ref, &h1, computer,
		    n, &bm1, hd, &o1, &d1), CD_EOK);
		ck_assert_int_eq(lg_body_events(&b2, mix_new, &h2, computer, n,
		    &bm2, hd, &g, &d2), CD_EOK);
		ck_assert_uint_eq(g.len, o1.len);
		/* The bytes sent are the pieces' iovecs, from any offset a
		 * short write leaves. */
		gathered_bytes(&g, &o2, r);
		ck_assert_uint_eq(o1.len, o2.len);
		ck_assert_msg(memcmp(o1.data, o2.data, o1.len) == 0,
		    "bodies differ: %s seed %llu rid %llu n %zu round %u",
		    computer, (unsigned long long)seed,
		    (unsigned long long)rid, n, r);
		ck_assert_uint_eq(d1, d2);
		ck_assert_uint_eq(h1.record_id, h2.record_id);
		ck_assert_uint_eq(h1.rng, h2.rng);
		ck_assert_int_eq(h1.last_dns, h2.last_dns);
		ck_assert_uint_eq(h1.last_name, h2.last_name);
		buf_reset(&s1);
		buf_reset(&s2);
		ck_assert_int_eq(replay_bookmark_summary(&bm1, &s1), CD_EOK);
		ck_assert_int_eq(replay_bookmark_summary(&bm2, &s2), CD_EOK);
		ck_assert_str_eq((const char *)s1.data, (const char *)s2.data);
	}
	lg_gather_free(&g);
	buf_free(&o1);
	buf_free(&o2);
	buf_free(&s1);
	buf_free(&s2);
	replay_bookmark_free(&bm1);
	replay_bookmark_free(&bm2);
	lg_body_free(&b1);
	lg_body_free(&b2);
}

static const struct replay_ref refs[] = {
	{ "http://schemas.xmlsoap.org/ws/2004/08/eventing", "Identifier",
	    "219C5353-5F3D-4CD7-A644-F6B69E57C1C1" },
	{ NULL, "Other", "a&b<c>" },
};

static void
hdr(struct replay_hdr *hd, const char *machine, bool with_refs)
{
	memset(hd, 0, sizeof(*hd));
	hd->to = "http://127.0.0.1:5985/wsman/subscriptions/B6BD/1?a=1&b=2";
	hd->machine_id = machine;
	hd->message_id = "uuid:1FE15160-9BB5-4CAB-B200-CDCC83F77FCB";
	hd->session_id = "uuid:C7F39CB2-8FFD-4DA3-A111-CDB303EEA098";
	hd->operation_id = "uuid:31652DEB-C9E8-45D6-B3E8-90AC64D48422";
	if (with_refs) {
		hd->refs = refs;
		hd->nrefs = 2;
	}
}

START_TEST(test_body_identical)
{
	static const size_t sizes[] = { 1, 2, 10, 100, 230 };
	static const uint64_t rids[] = { 0, 8, 98, 999, 123456789,
	    4294967290ULL, 18446744073709551000ULL };
	struct replay_hdr hd;
	char name[128];

	load_mixes(harness_data_path("sysmon"));
	for (unsigned i = 0; i < 40; i++) {
		size_t n = sizes[i % 5];
		/* As lg_host_name() names the hosts. */
		snprintf(name, sizeof(name), "ws%05u.bench.example", i * 37 + 1);
		hdr(&hd, name, i % 3 == 0);
		compare_batches(name, 1 + i, rids[i % 7], n, 3, &hd, i % 4 == 1);
	}
	free_mixes();
}
END_TEST

/* Host names lg_host_name() could produce from odd --prefix/--domain:
 * non-ASCII, XML specials (not escaped by either builder), invalid UTF-8. */
START_TEST(test_body_odd_names)
{
	static const char *const names[] = {
		"", "x", "ws00001.b\xc3\xa9nch.example", "\xe6\x97\xa5\xe6\x9c\xac",
		"\xf0\x9f\x98\x80host", "a&b<c>'\"", "bad\xff\xfe", "cut\xe6\x97",
		"\xc0\xaf\xed\xa0\x80z", "\x80\x80\x80",
	};
	struct replay_hdr hd;

	load_mixes(harness_data_path("sysmon"));
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		hdr(&hd, "ws00001.bench.example", i % 2 == 0);
		compare_batches(names[i], 100 + i, i * 1000, 10 + i, 2, &hd,
		    false);
	}
	free_mixes();
}
END_TEST

/*
 * The same on mutated copies of the data: characters of one to four UTF-8
 * bytes spliced into the event text (outside the markup), so that the
 * template pieces hold multi-byte characters right next to the places
 * where the builders splice.
 */
START_TEST(test_body_mutated)
{
	static const char *const ins[] = { "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80", "&amp;", "x" };
	const char *files[] = { "sysmon/covenant_psremoting_grunt.xml",
	    "sysmon/purplesharp_ad_playbook_i.xml" };
	char *dir = harness_mkdtemp(), path[4096];
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	struct replay_hdr hd;

	for (size_t f = 0; f < 2; f++) {
		size_t len;
		char *in = harness_read_data(files[f], &len);
		FILE *out;

		snprintf(path, sizeof(path), "%s/m%zu.xml", dir, f);
		ck_assert_ptr_nonnull(out = fopen(path, "w"));
		/* Text of Data elements (after "'>" up to the next '<')
		 * gets insertions, 1 time in 4 per position: at its start,
		 * inside and at its end, never inside a reference or a
		 * character. */
		bool in_data = false, in_ref = false;
		for (size_t i = 0; i < len; i++) {
			if (in[i] == '<')
				in_data = false;
			if (in_data && !in_ref &&
			    ((uint8_t)in[i] & 0xc0) != 0x80 && rnd(&s) % 4 == 0)
				fputs(ins[rnd(&s) % 5], out);
			fputc(in[i], out);
			if (in[i] == '>' && i > 0 && in[i - 1] == '\'')
				in_data = true;
			/* Not inside an entity or character reference. */
			if (in[i] == '&')
				in_ref = true;
			else if (in[i] == ';')
				in_ref = false;
		}
		fclose(out);
		free(in);
	}
	load_mixes(dir);
	for (unsigned i = 0; i < 20; i++) {
		hdr(&hd, "ws00003.bench.example", i % 2 == 1);
		compare_batches("ws00003.bench.example", 7 + i, i * 77,
		    i % 2 ? 100 : 23, 3, &hd, i % 3 == 0);
	}
	free_mixes();
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

/* lg_mix_utf16() against utf8_to_utf16le_bom() on random bytes, mostly
 * ASCII with runs of UTF-8 lead and continuation bytes. */
START_TEST(test_utf16_random)
{
	static const uint8_t pool[] = { 'a', '<', 0, 0x7f, 0x80, 0xbf, 0xc2,
	    0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0,
	    0x9f, 0x8f, 0x90 };
	uint64_t s = 12345;
	struct buf a, b;
	char in[64];

	buf_init(&a, 0);
	buf_init(&b, 0);
	for (unsigned k = 0; k < 100000; k++) {
		size_t n = rnd(&s) % sizeof(in);

		for (size_t i = 0; i < n; i++)
			in[i] = (char)(rnd(&s) % 3 == 0 ? 'a' + rnd(&s) % 26 :
			    pool[rnd(&s) % sizeof(pool)]);
		buf_reset(&a);
		buf_reset(&b);
		ck_assert_int_eq(buf_puts(&a, "pre"), CD_EOK);
		ck_assert_int_eq(utf8_to_utf16le_bom(in, n, &a), CD_EOK);
		ck_assert_int_eq(buf_puts(&b, "pre\xff\xfe"), CD_EOK);
		ck_assert_int_eq(lg_mix_utf16(in, n, &b), CD_EOK);
		ck_assert_uint_eq(a.len, b.len);
		ck_assert(memcmp(a.data, b.data, a.len) == 0);
		ck_assert_uint_eq(b.data[b.len], 0);
	}
	buf_free(&a);
	buf_free(&b);
}
END_TEST

static bool
full_ack(const struct buf *u16, const char *mid)
{
	struct buf u8;
	bool ok;

	buf_init(&u8, 0);
	ck_assert_int_eq(utf16_to_utf8(u16->data, u16->len, "UTF-16", 0, &u8),
	    CD_EOK);
	ok = replay_msg_check_ack((const char *)u8.data, u8.len, mid) == CD_EOK;
	buf_free(&u8);
	return ok;
}

static void
to16(const char *s, size_t n, struct buf *out)
{
	buf_reset(out);
	ck_assert_int_eq(utf8_to_utf16le_bom(s, n, out), CD_EOK);
}

/* The capture's Ack and the daemon's own Ack, learnt, then mutations of
 * them: the cheap match says yes to the same Ack with a new MessageID,
 * and never where the full check says no. */
START_TEST(test_ack_fast)
{
	const char *mid = "uuid:31652DEB-C9E8-45D6-B3E8-90AC64D48422";
	const char *other = "uuid:31652DEB-C9E8-45D6-B3E8-90AC64D48423";
	size_t len;
	char *cap = harness_read_data("wef/ack-events.xml", &len);
	struct buf own, own2, u16, u8, mut, fault;
	struct lg_ack a;
	uint64_t s = 777;
	unsigned fast_yes = 0;

	buf_init(&own, 0);
	buf_init(&own2, 0);
	buf_init(&u16, 0);
	buf_init(&u8, 0);
	buf_init(&mut, 0);
	buf_init(&fault, 0);
	ck_assert_int_eq(soap_build_ack(mid, &own), CD_EOK);
	ck_assert_int_eq(soap_build_ack(mid, &own2), CD_EOK);
	ck_assert_int_eq(soap_build_fault(mid, "s:Receiver",
	    "w:InternalError", "busy", &fault), CD_EOK);

	const char *acks[2] = { cap, (const char *)own.data };
	size_t lens[2] = { len, own.len };
	for (int k = 0; k < 2; k++) {
		lg_ack_init(&a);
		to16(acks[k], lens[k], &u16);
		ck_assert(!lg_ack_match(&a, u16.data, u16.len, mid));
		ck_assert(full_ack(&u16, mid));
		buf_reset(&u8);
		ck_assert_int_eq(utf16_to_utf8(u16.data, u16.len, "UTF-16", 0,
		    &u8), CD_EOK);
		/* Not learnt from a reply to another message. */
		ck_assert_int_ne(lg_ack_learn(&a, u16.data, u16.len,
		    (const char *)u8.data, u8.len, other), CD_EOK);
		ck_assert(!a.ok);
		ck_assert_int_eq(lg_ack_learn(&a, u16.data, u16.len,
		    (const char *)u8.data, u8.len, mid), CD_EOK);
		ck_assert(lg_ack_match(&a, u16.data, u16.len, mid));
		ck_assert(!lg_ack_match(&a, u16.data, u16.len, other));
		ck_assert(!lg_ack_match(&a, u16.data + 2, u16.len - 2, mid));
		ck_assert(!lg_ack_match(&a, u16.data, u16.len - 1, mid));
		/* A new Ack of the daemon: another MessageID, same shape. */
		to16((const char *)own2.data, own2.len, &mut);
		ck_assert(lg_ack_match(&a, mut.data, mut.len, mid) == (k == 1));
		to16((const char *)fault.data, fault.len, &mut);
		ck_assert(!lg_ack_match(&a, mut.data, mut.len, mid));
		ck_assert(!full_ack(&mut, mid));
		for (unsigned i = 0; i < 30000; i++) {
			char *m = malloc(lens[k] + 8);
			size_t ml = lens[k], at;

			memcpy(m, acks[k], ml);
			/* One to three byte edits: replace (often by a hex
			 * digit), delete, insert. */
			for (unsigned e = 0, ne = 1 + rnd(&s) % 3; e < ne; e++) {
				at = rnd(&s) % ml;
				switch (rnd(&s) % 3) {
				case 0:
					m[at] = "<>/:aAx \"'&-0F9c"[rnd(&s) % 16];
					break;
				case 1:
					memmove(m + at, m + at + 1, ml - at - 1);
					ml--;
					break;
				default:
					memmove(m + at + 1, m + at, ml - at);
					m[at] = "<>/: 0"[rnd(&s) % 6];
					ml++;
					break;
				}
			}
			to16(m, ml, &mut);
			if (lg_ack_match(&a, mut.data, mut.len, mid)) {
				fast_yes++;
				ck_assert_msg(full_ack(&mut, mid),
				    "cheap match accepted what the full check "
				    "refuses: %.*s", (int)ml, m);
			}
			free(m);
		}
		lg_ack_free(&a);
	}
	/* Some edits change only the MessageID's hex digits. */
	ck_assert_uint_gt(fast_yes, 50);
	buf_free(&own);
	buf_free(&own2);
	buf_free(&u16);
	buf_free(&u8);
	buf_free(&mut);
	buf_free(&fault);
	free(cap);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("loadgen");
	TCase *tc = tcase_create("core");

	xmlInitParser();
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_body_identical);
	tcase_add_test(tc, test_body_odd_names);
	tcase_add_test(tc, test_body_mutated);
	tcase_add_test(tc, test_utf16_random);
	tcase_add_test(tc, test_ack_fast);
	suite_add_tcase(s, tc);
	int rc = harness_run(s);
	xmlCleanupParser();
	return rc;
}
