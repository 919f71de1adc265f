/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "err.h"
#include "harness.h"
#include "timeparse.h"

/* 2020-10-21T19:08:12.455Z, the example time of interface.md. */
#define T0 1603307292455LL

static int64_t
ok(const char *s)
{
	int64_t ms = 0;

	ck_assert_msg(timeparse_rfc3339(s, &ms) == CD_EOK, "rejected %s", s);
	return ms;
}

START_TEST(test_rfc3339)
{
	ck_assert_int_eq(ok("2020-10-21T19:08:12.455Z"), T0);
	ck_assert_int_eq(ok("2020-10-21t19:08:12.455z"), T0);
	ck_assert_int_eq(ok("2020-10-21 19:08:12.455Z"), T0);
	/* Offsets east and west of UTC name the same instant. */
	ck_assert_int_eq(ok("2020-10-21T21:08:12.455+02:00"), T0);
	ck_assert_int_eq(ok("2020-10-21T13:38:12.455-05:30"), T0);
	ck_assert_int_eq(ok("2020-10-22T00:08:12.455+05:00"), T0);
	ck_assert_int_eq(ok("2020-10-21T19:08:12.455-00:00"), T0);
	/* Fractions: none, short, long (truncated, as Sysmon writes 7). */
	ck_assert_int_eq(ok("2020-10-21T19:08:12Z"), T0 - 455);
	ck_assert_int_eq(ok("2020-10-21T19:08:12.4Z"), T0 - 55);
	ck_assert_int_eq(ok("2020-10-21T19:08:12.4559999Z"), T0);
	/* A bare date is midnight UTC; leap days; the epoch. */
	ck_assert_int_eq(ok("2020-10-21"), 1603238400000LL);
	ck_assert_int_eq(ok("2000-02-29T00:00:00Z"), 951782400000LL);
	ck_assert_int_eq(ok("1970-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(ok("1969-12-31T23:59:59.999Z"), -1);
}
END_TEST

START_TEST(test_rfc3339_garbage)
{
	static const char *bad[] = {
		"", "now", "2020", "2020-10", "2020-10-21T", "2020-10-21T19:08Z",
		"2020-10-21T19:08:12", "2020-10-21T19:08:12.Z",
		"2020-10-21T19:08:12.455", "2020-10-21T19:08:12+0200",
		"2020-10-21T19:08:12+02", "2020-13-01T00:00:00Z",
		"2020-00-01T00:00:00Z", "2019-02-29T00:00:00Z",
		"2020-04-31T00:00:00Z", "2020-10-21T24:00:00Z",
		"2020-10-21T19:60:00Z", "2020-10-21T19:08:61Z",
		"2020-10-21T19:08:12Zjunk", "2020-10-21X19:08:12Z",
		" 2020-10-21T19:08:12Z", "20201021T190812Z", "+2020-10-21",
		"2020-1-21", "2020-10-21T19:08:12+24:00",
	};
	int64_t ms = 77;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(timeparse_rfc3339(bad[i], &ms) == CD_EPARSE,
		    "accepted \"%s\"", bad[i]);
		ck_assert_msg(timeparse(bad[i], T0, &ms) == CD_EPARSE,
		    "timeparse accepted \"%s\"", bad[i]);
	}
	ck_assert_int_eq(timeparse_rfc3339(NULL, &ms), CD_EPARSE);
	ck_assert_int_eq(ms, 77);
}
END_TEST

START_TEST(test_relative)
{
	int64_t ms;

	ck_assert_int_eq(timeparse_age("90s", &ms), CD_EOK);
	ck_assert_int_eq(ms, 90000);
	ck_assert_int_eq(timeparse_age("30m", &ms), CD_EOK);
	ck_assert_int_eq(ms, 30 * 60000);
	ck_assert_int_eq(timeparse_age("2w", &ms), CD_EOK);
	ck_assert_int_eq(ms, 14 * 86400000LL);
	ck_assert_int_eq(timeparse("24h", T0, &ms), CD_EOK);
	ck_assert_int_eq(ms, T0 - 86400000LL);
	ck_assert_int_eq(timeparse("7d", T0, &ms), CD_EOK);
	ck_assert_int_eq(ms, T0 - 7 * 86400000LL);
	ck_assert_int_eq(timeparse("0s", T0, &ms), CD_EOK);
	ck_assert_int_eq(ms, T0);
	/* An absolute time ignores now. */
	ck_assert_int_eq(timeparse("2020-10-21T19:08:12.455Z", 5, &ms), CD_EOK);
	ck_assert_int_eq(ms, T0);

	static const char *bad[] = {
		"h", "24", "24H", "-1h", "+1h", "1.5h", "24h ", " 24h", "1y",
		"1hh", "99999999999999999999s", "9223372036854775807d",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(timeparse(bad[i], T0, &ms) == CD_EPARSE,
		    "accepted \"%s\"", bad[i]);
}
END_TEST

START_TEST(test_now)
{
	int64_t now = timeparse_now_ms();

	/* After 2020 and before 2100: a real clock in milliseconds. */
	ck_assert_int_gt(now, T0);
	ck_assert_int_lt(now, 4102444800000LL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("timeparse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_rfc3339);
	tcase_add_test(tc, test_rfc3339_garbage);
	tcase_add_test(tc, test_relative);
	tcase_add_test(tc, test_now);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
