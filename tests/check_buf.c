/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "harness.h"

START_TEST(test_append_and_cap)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_puts(&b, "hello"), CD_EOK);
	ck_assert_int_eq(buf_printf(&b, "%d", 1234), CD_EOK);
	ck_assert_str_eq((char *)b.data, "hello1234");
	ck_assert_int_eq(buf_puts(&b, "xy"), CD_ETOOBIG);
	ck_assert_uint_eq(b.len, 9);
	ck_assert_int_eq(buf_puts(&b, "z"), CD_EOK);
	ck_assert_uint_eq(b.len, 10);
	buf_free(&b);
}
END_TEST

START_TEST(test_printf_long)
{
	struct buf b;
	char big[1000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 0);
	ck_assert_int_eq(buf_printf(&b, "<%s>", big), CD_EOK);
	ck_assert_uint_eq(b.len, 1001);
	ck_assert_int_eq(b.data[0], '<');
	ck_assert_int_eq(b.data[1000], '>');
	size_t n;
	uint8_t *p = buf_steal(&b, &n);
	ck_assert_uint_eq(n, 1001);
	ck_assert_ptr_null(b.data);
	free(p);
}
END_TEST

START_TEST(test_strerror)
{
	ck_assert_str_eq(cd_strerror(CD_ETOOBIG), "size limit exceeded");
	ck_assert_str_eq(cd_strerror(-2), "No such file or directory");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_append_and_cap);
	tcase_add_test(tc, test_printf_long);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
