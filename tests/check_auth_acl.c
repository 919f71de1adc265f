/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "err.h"
#include "harness.h"

static void
expect_host(const char *id, const char *want)
{
	char *h;

	ck_assert_int_eq(auth_identity_host(id, &h), CD_EOK);
	ck_assert_str_eq(h, want);
	free(h);
}

START_TEST(test_identity_host)
{
	char *h;

	expect_host("WIN10$@EXAMPLE.COM", "win10");
	/* The capture's client: WIN10$ in WINDOMAIN.LOCAL. */
	expect_host("WIN10$@WINDOMAIN.LOCAL", "win10");
	expect_host("host/Win10.Example.com@EXAMPLE.COM", "win10.example.com");
	expect_host("Win10.Example.com", "win10.example.com");
	expect_host("win10.example.com.", "win10.example.com");
	expect_host("WKS10001", "wks10001");
	ck_assert_int_eq(auth_identity_host("", &h), CD_EPARSE);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(auth_identity_host("$@EXAMPLE.COM", &h), CD_EPARSE);
	ck_assert_int_eq(auth_identity_host("@EXAMPLE.COM", &h), CD_EPARSE);
	ck_assert_int_eq(auth_identity_host("a b", &h), CD_EPARSE);
	ck_assert_int_eq(auth_identity_host("a\\b", &h), CD_EPARSE);
	ck_assert_int_eq(auth_identity_host(NULL, &h), CD_EPARSE);
}
END_TEST

START_TEST(test_matches_computer)
{
	/* Computer as Windows writes it in the captured events. */
	ck_assert(auth_identity_matches_computer("win10", "win10.windomain.local"));
	ck_assert(auth_identity_matches_computer("win10", "WIN10"));
	ck_assert(auth_identity_matches_computer("win10", "Win10.Example.COM"));
	ck_assert(auth_identity_matches_computer("win10.example.com", "WIN10"));
	ck_assert(auth_identity_matches_computer("win10.example.com",
	    "WIN10.EXAMPLE.COM"));
	ck_assert(!auth_identity_matches_computer("win10.example.com",
	    "win10.other.org"));
	ck_assert(!auth_identity_matches_computer("win10", "win11.example.com"));
	ck_assert(!auth_identity_matches_computer("win10", "win100"));
	ck_assert(!auth_identity_matches_computer("win1", "win10.example.com"));
	ck_assert(!auth_identity_matches_computer("win10", ""));
	ck_assert(!auth_identity_matches_computer("win10", NULL));
}
END_TEST

START_TEST(test_acl_match)
{
	static const char *const pats[] = { "WIN1?$@EXAMPLE.COM", "*.lab.example.com" };

	ck_assert(auth_acl_match("WIN*$@EXAMPLE.COM", "win10$@example.com"));
	ck_assert(auth_acl_match("*", "anything"));
	ck_assert(!auth_acl_match("WIN*$@EXAMPLE.COM", "SRV1$@EXAMPLE.COM"));
	ck_assert(auth_acl_match("*.example.com", "WIN10.EXAMPLE.COM"));
	ck_assert(!auth_acl_match("*.example.com", "win10.example.com.evil.org"));
	ck_assert(auth_acl_match("win[0-9][0-9]*", "WIN10.example.com"));
	ck_assert(!auth_acl_match(NULL, "x"));
	ck_assert(auth_acl_match_any(pats, 2, "WIN11$@EXAMPLE.COM"));
	ck_assert(auth_acl_match_any(pats, 2, "pc1.lab.example.com"));
	ck_assert(!auth_acl_match_any(pats, 2, "WIN100$@EXAMPLE.COM"));
	ck_assert(!auth_acl_match_any(pats, 0, "WIN11$@EXAMPLE.COM"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("auth_acl");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_identity_host);
	tcase_add_test(tc, test_matches_computer);
	tcase_add_test(tc, test_acl_match);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
