/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "harness.h"
#include "syslog_fmt.h"

/* 2023-08-16T04:53:48.554Z */
#define T0 1692161628554LL

static struct output_msg
msg_event(const char *data)
{
	struct output_msg m = {
		.seq = 42, .kind = OUTPUT_KIND_EVENT, .data = data,
		.len = strlen(data), .host = "MKT01.pandalab.com", .time_ms = T0,
		.channel = "Microsoft-Windows-Sysmon/Operational",
		.provider = "Microsoft-Windows-Sysmon", .event_id = 1,
		.format = "json",
	};
	return m;
}

/* True when s[0..len) is well-formed UTF-8 (no check of overlongs). */
static bool
utf8_ok(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = s[i] < 0x80 ? 1 : s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 :
		    s[i] >= 0xC0 ? 2 : 0;
		if (n == 0 || i + n > len)
			return false;
		for (size_t j = 1; j < n; j++)
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
		i += n;
	}
	return true;
}

START_TEST(test_message_exact)
{
	struct buf b;
	struct output_msg m = msg_event("{\"EventID\":1}");
	bool cut = true;

	buf_init(&b, 0);
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 16, 6, 65536, &cut), CD_EOK);
	ck_assert(!cut);
	ck_assert_str_eq((char *)b.data,
	    "<134>1 2023-08-16T04:53:48.554Z MKT01.pandalab.com collectord - 1 "
	    "[collectord@32473 seq=\"42\" channel=\"Microsoft-Windows-Sysmon/Operational\"] "
	    "{\"EventID\":1}");
	/* Appends, and a second message does not disturb the first. */
	m.kind = OUTPUT_KIND_ALERT;
	m.seq = 0;
	m.channel = "";
	m.time_ms = 0;
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 3, 4, 65536, NULL), CD_EOK);
	ck_assert(strstr((char *)b.data, "{\"EventID\":1}<28>1 1970-01-01T00:00:00.000Z "
	    "MKT01.pandalab.com collectord - alert [collectord@32473] {") != NULL);
	buf_free(&b);
}
END_TEST

START_TEST(test_summary_and_times)
{
	struct buf b;
	struct output_msg m = msg_event("{}");

	buf_init(&b, 0);
	m.kind = OUTPUT_KIND_SUMMARY;
	m.time_ms = -1;	/* 1969-12-31T23:59:59.999 */
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 23, 7, 480, NULL), CD_EOK);
	ck_assert_str_eq((char *)b.data, "<191>1 1969-12-31T23:59:59.999Z "
	    "MKT01.pandalab.com collectord - summary [collectord@32473 seq=\"42\" "
	    "channel=\"Microsoft-Windows-Sysmon/Operational\"] {}");
	buf_reset(&b);
	m.time_ms = T0 + 446;	/* the milliseconds carry into the seconds */
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 16, 6, 480, NULL), CD_EOK);
	ck_assert(strncmp((char *)b.data, "<134>1 2023-08-16T04:53:49.000Z ", 32) == 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_severity)
{
	ck_assert_uint_eq(syslog_fmt_severity(OUTPUT_KIND_EVENT, 1), 2);
	ck_assert_uint_eq(syslog_fmt_severity(OUTPUT_KIND_EVENT, 2), 3);
	ck_assert_uint_eq(syslog_fmt_severity(OUTPUT_KIND_EVENT, 3), 4);
	ck_assert_uint_eq(syslog_fmt_severity(OUTPUT_KIND_EVENT, 4), 6);
	ck_assert_uint_eq(syslog_fmt_severity(OUTPUT_KIND_EVENT, 0), 6);
	ck_assert_uint_eq(syslog_fmt_severity(OUTPUT_KIND_EVENT, 5), 7);
	ck_assert_uint_eq(syslog_fmt_severity(OUTPUT_KIND_EVENT, 99), 6);
	ck_assert_uint_eq(syslog_fmt_severity(OUTPUT_KIND_ALERT, 1), 4);
	ck_assert_uint_eq(syslog_fmt_severity(OUTPUT_KIND_SUMMARY, 1), 6);
}
END_TEST

START_TEST(test_facility)
{
	unsigned f = 99;

	ck_assert_int_eq(syslog_fmt_facility_parse("local0", &f), CD_EOK);
	ck_assert_uint_eq(f, 16);
	ck_assert_int_eq(syslog_fmt_facility_parse("LOCAL7", &f), CD_EOK);
	ck_assert_uint_eq(f, 23);
	ck_assert_int_eq(syslog_fmt_facility_parse("daemon", &f), CD_EOK);
	ck_assert_uint_eq(f, 3);
	ck_assert_int_eq(syslog_fmt_facility_parse("0", &f), CD_EOK);
	ck_assert_uint_eq(f, 0);
	ck_assert_int_eq(syslog_fmt_facility_parse("23", &f), CD_EOK);
	ck_assert_uint_eq(f, 23);
	ck_assert_int_eq(syslog_fmt_facility_parse("24", &f), CD_EPARSE);
	ck_assert_int_eq(syslog_fmt_facility_parse("local8", &f), CD_EPARSE);
	ck_assert_int_eq(syslog_fmt_facility_parse("", &f), CD_EPARSE);
	ck_assert_int_eq(syslog_fmt_facility_parse("-1", &f), CD_EPARSE);
	ck_assert_uint_eq(f, 23);
}
END_TEST

START_TEST(test_hostname_and_sd_escape)
{
	struct buf b;
	struct output_msg m = msg_event("x");
	char host[300];

	buf_init(&b, 0);
	m.host = "bad host\xc3\xa9";
	m.channel = "a\"b\\c]d";
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 16, 6, 65536, NULL), CD_EOK);
	ck_assert(strstr((char *)b.data, " bad_host__ collectord ") != NULL);
	ck_assert(strstr((char *)b.data, "channel=\"a\\\"b\\\\c\\]d\"] x") != NULL);

	buf_reset(&b);
	m.host = "";
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 16, 6, 65536, NULL), CD_EOK);
	ck_assert(strstr((char *)b.data, "Z - collectord - 1 ") != NULL);

	buf_reset(&b);
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	m.host = host;
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 16, 6, 65536, NULL), CD_EOK);
	const char *h = strchr(strchr((char *)b.data, ' ') + 1, ' ') + 1;
	ck_assert_uint_eq(strspn(h, "h"), 255);
	ck_assert_int_eq(h[255], ' ');
	buf_free(&b);
}
END_TEST

START_TEST(test_truncate_utf8)
{
	struct buf b;
	char data[3001];
	bool cut = false;

	/* "é" is two bytes: whatever the cut point, no half character. */
	for (size_t i = 0; i < 3000; i += 2)
		memcpy(data + i, "\xc3\xa9", 2);
	data[3000] = '\0';
	struct output_msg m = msg_event(data);
	buf_init(&b, 0);
	for (size_t max = 600; max < 620; max++) {
		buf_reset(&b);
		ck_assert_int_eq(syslog_fmt_message(&b, &m, 16, 6, max, &cut), CD_EOK);
		ck_assert(cut);
		ck_assert_uint_le(b.len, max);
		ck_assert_uint_ge(b.len, max - 1);
		ck_assert(strstr((char *)b.data, " truncated=\"3000\"] ") != NULL);
		ck_assert(utf8_ok(b.data, b.len));
	}
	/* Exactly at the limit: not cut. */
	buf_reset(&b);
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 16, 6, 65536, &cut), CD_EOK);
	size_t whole = b.len;
	ck_assert(!cut);
	buf_reset(&b);
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 16, 6, whole, &cut), CD_EOK);
	ck_assert(!cut);
	ck_assert_uint_eq(b.len, whole);
	ck_assert(strstr((char *)b.data, "truncated") == NULL);
	buf_free(&b);
}
END_TEST

START_TEST(test_errors)
{
	struct buf b;
	struct output_msg m = msg_event("{\"a\":1}");
	char host[300];

	buf_init(&b, 0);
	buf_puts(&b, "keep");
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 24, 6, 65536, NULL), -EINVAL);
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 16, 8, 65536, NULL), -EINVAL);
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 16, 6, 479, NULL), -EINVAL);
	ck_assert_str_eq((char *)b.data, "keep");
	buf_free(&b);

	/* A header alone over the limit: refused, buffer untouched. */
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	m.host = host;
	m.channel = "Microsoft-Windows-Sysmon/Operational-with-a-very-long-name-"
	    "that-goes-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-"
	    "and-on-and-on-and-on-and-on-and-on-and-on";
	buf_init(&b, 0);
	buf_puts(&b, "keep");
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 16, 6, 480, NULL), CD_ETOOBIG);
	ck_assert_str_eq((char *)b.data, "keep");
	buf_free(&b);

	/* The buffer's own cap. */
	buf_init(&b, 60);
	m = msg_event("{\"a\":1}");
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 16, 6, 65536, NULL), CD_ETOOBIG);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_frame)
{
	struct buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(syslog_fmt_frame(&b, "<134>1 - - - - - x", 18), CD_EOK);
	ck_assert_int_eq(syslog_fmt_frame(&b, "a\nb", 3), CD_EOK);
	ck_assert_uint_eq(b.len, 3 + 18 + 2 + 3);
	ck_assert(memcmp(b.data, "18 <134>1 - - - - - x3 a\nb", b.len) == 0);
	buf_free(&b);
	buf_init(&b, 5);
	ck_assert_int_eq(syslog_fmt_frame(&b, "abcdef", 6), CD_ETOOBIG);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

/* A real Sysmon event: the header comes from its System fields, the MSG
 * is the record byte for byte, multi-line or not. */
START_TEST(test_real_event)
{
	size_t len;
	char *all = harness_read_data("sysmon/lsass_campaign_01.xml", &len);
	char *nl = strchr(all, '\n');
	struct event *ev = NULL;
	struct buf b;

	ck_assert_ptr_nonnull(nl);
	ck_assert_int_eq(event_parse(all, (size_t)(nl - all), &ev), CD_EOK);
	ck_assert(!ev->malformed);
	struct output_msg m;
	harness_event_msg(&m, 7, all, (size_t)(nl - all), ev);
	buf_init(&b, 0);
	ck_assert_int_eq(syslog_fmt_message(&b, &m, 16,
	    syslog_fmt_severity(m.kind, ev->level), 65536, NULL), CD_EOK);
	const char *hdr = "<134>1 2023-08-16T04:53:48.554Z MKT01.pandalab.com collectord - 1 "
	    "[collectord@32473 seq=\"7\" channel=\"Microsoft-Windows-Sysmon/Operational\"] ";
	ck_assert_uint_eq(b.len, strlen(hdr) + m.len);
	ck_assert(memcmp(b.data, hdr, strlen(hdr)) == 0);
	ck_assert(memcmp(b.data + strlen(hdr), all, m.len) == 0);
	buf_free(&b);
	event_free(ev);
	free(all);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("syslog_fmt");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_message_exact);
	tcase_add_test(tc, test_summary_and_times);
	tcase_add_test(tc, test_severity);
	tcase_add_test(tc, test_facility);
	tcase_add_test(tc, test_hostname_and_sd_escape);
	tcase_add_test(tc, test_truncate_utf8);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_frame);
	tcase_add_test(tc, test_real_event);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
