/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The sinks' shared settings parsing (output_kv.c): the value forms, the
 * error line, and the syslog and RELP outputs' shared settings seen
 * through their real create(), error lines compared in full.
 */
#include "config.h"

#include <check.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "harness.h"
#include "output.h"
#include "output_kv.h"
#include "syslog_fmt.h"

START_TEST(test_values)
{
	unsigned long v = 7;
	unsigned s = 9;
	bool b = false;

	ck_assert_int_eq(output_kv_bool("TRUE", &b), CD_EOK);
	ck_assert(b);
	ck_assert_int_eq(output_kv_bool("no", &b), CD_EOK);
	ck_assert(!b);
	ck_assert_int_eq(output_kv_bool("1", &b), CD_EOK);
	ck_assert(b);
	ck_assert_int_eq(output_kv_bool("0", &b), CD_EOK);
	ck_assert(!b);
	ck_assert_int_eq(output_kv_bool("on", &b), CD_EPARSE);
	ck_assert_int_eq(output_kv_bool("", &b), CD_EPARSE);
	ck_assert(!b);

	ck_assert_int_eq(output_kv_ulong("514", 1, 65535, &v), CD_EOK);
	ck_assert_uint_eq(v, 514);
	ck_assert_int_eq(output_kv_ulong("0", 1, 65535, &v), CD_EPARSE);
	ck_assert_int_eq(output_kv_ulong("65536", 1, 65535, &v), CD_EPARSE);
	ck_assert_int_eq(output_kv_ulong("12x", 1, 65535, &v), CD_EPARSE);
	ck_assert_int_eq(output_kv_ulong(" 12", 1, 65535, &v), CD_EPARSE);
	ck_assert_int_eq(output_kv_ulong("-1", 0, 65535, &v), CD_EPARSE);
	ck_assert_int_eq(output_kv_ulong("", 0, 65535, &v), CD_EPARSE);
	ck_assert_int_eq(output_kv_ulong("99999999999999999999999", 0, ULONG_MAX,
	    &v), CD_EPARSE);
	ck_assert_uint_eq(v, 514);

	ck_assert_int_eq(output_kv_seconds("1", &s), CD_EOK);
	ck_assert_uint_eq(s, 1);
	ck_assert_int_eq(output_kv_seconds("3600", &s), CD_EOK);
	ck_assert_uint_eq(s, 3600);
	ck_assert_int_eq(output_kv_seconds("0", &s), CD_EPARSE);
	ck_assert_int_eq(output_kv_seconds("3601", &s), CD_EPARSE);
	ck_assert_int_eq(output_kv_seconds("10s", &s), CD_EPARSE);
	ck_assert_uint_eq(s, 3600);
}
END_TEST

START_TEST(test_err)
{
	struct conf_output co = { .name = "siem", .type = "syslog", .line = 7 };
	struct buf errs;
	char *msg;

	buf_init(&errs, 0);
	output_kv_err(&errs, &co, 0, "host is required");
	output_kv_err(&errs, &co, 12, "%s: %s", "port", "port must be 1..65535");
	msg = conf_err_take(&errs);
	ck_assert_str_eq(msg, "config:7: output \"siem\": host is required\n"
	    "config:12: output \"siem\": port: port must be 1..65535");
	free(msg);
	buf_free(&errs);
}
END_TEST

START_TEST(test_syslog_take)
{
	struct output_kv_syslog ks;
	struct conf_kv kv = { .key = "port", .value = "6514", .line = 3 };
	const char *bad = "x";

	output_kv_syslog_init(&ks);
	ck_assert_uint_eq(ks.facility, SYSLOG_FMT_FACILITY_DEFAULT);
	ck_assert_uint_eq(ks.max_message, SYSLOG_FMT_MAX_DEFAULT);
	ck_assert_str_eq(ks.port, "");
	ck_assert_int_eq(output_kv_syslog_take(&ks, &kv, &bad), 1);
	ck_assert_ptr_null(bad);
	ck_assert_str_eq(ks.port, "6514");
	kv.key = "facility";
	kv.value = "daemon";
	ck_assert_int_eq(output_kv_syslog_take(&ks, &kv, &bad), 1);
	ck_assert_uint_eq(ks.facility, 3);
	kv.key = "max_message";
	kv.value = "479";
	ck_assert_int_eq(output_kv_syslog_take(&ks, &kv, &bad), 1);
	ck_assert_str_eq(bad, "max_message must be 480..1048576");
	ck_assert(ks.have_max);
	ck_assert_uint_eq(ks.max_message, SYSLOG_FMT_MAX_DEFAULT);
	/* The last of a repeated setting counts. */
	kv.key = "host";
	kv.value = "a.example";
	ck_assert_int_eq(output_kv_syslog_take(&ks, &kv, &bad), 1);
	kv.value = "b.example";
	ck_assert_int_eq(output_kv_syslog_take(&ks, &kv, &bad), 1);
	ck_assert_ptr_null(bad);
	ck_assert_str_eq(ks.host, "b.example");
	kv.value = "";
	ck_assert_int_eq(output_kv_syslog_take(&ks, &kv, &bad), 1);
	ck_assert_str_eq(bad, "must not be empty");
	/* Not a shared setting: left to the sink. */
	kv.key = "transport";
	kv.value = "tls";
	ck_assert_int_eq(output_kv_syslog_take(&ks, &kv, &bad), 0);
	ck_assert_ptr_null(bad);
	output_kv_syslog_clear(&ks);
	ck_assert_ptr_null(ks.host);
	output_kv_syslog_clear(&ks);
	output_kv_syslog_clear(NULL);
}
END_TEST

/* create() of a sink type with the given settings (key, value pairs,
 * lines 11, 12, ...): the sink's error text, or NULL when it was made. */
static char *
create_errors(const char *type, const char *const *pairs, size_t npairs)
{
	const struct output_sink_ops *ops = output_sink_find(type);
	struct conf_kv kv[16];
	struct conf_output co = { .name = "out1", .type = (char *)type,
	    .kv = kv, .nkv = npairs, .line = 10 };
	void *sink = NULL;
	char *err = NULL;
	int rc;

	ck_assert_ptr_nonnull(ops);
	ck_assert_uint_le(npairs, 16);
	for (size_t i = 0; i < npairs; i++) {
		kv[i].key = (char *)pairs[2 * i];
		kv[i].value = (char *)pairs[2 * i + 1];
		kv[i].line = (unsigned)(11 + i);
	}
	rc = ops->create(&co, &sink, &err);
	if (rc == CD_EOK) {
		ck_assert_ptr_nonnull(sink);
		ck_assert_ptr_null(err);
		ops->destroy(sink);
		return NULL;
	}
	ck_assert_int_eq(rc, CD_ECONFIG);
	ck_assert_ptr_null(sink);
	ck_assert_ptr_nonnull(err);
	return err;
}

START_TEST(test_syslog_create)
{
	static const char *const good[] = {
		"host", "127.0.0.1", "transport", "tls", "ca_file", "/nonexistent",
		"cert_file", "c.pem", "key_file", "k.pem", "format", "json",
		"max_message", "4096", "facility", "local7",
		"connect_timeout", "5", "send_timeout", "3600",
	};
	static const char *const bad[] = {
		"port", "0", "host", "", "facility", "local9",
		"ca_file", "ca.pem", "cert_file", "c.pem", "transport", "sctp",
		"send_timeout", "0", "colour", "blue",
	};
	char *err;

	ck_assert_ptr_null(create_errors("syslog", good, 10));
	err = create_errors("syslog", bad, 8);
	ck_assert_str_eq(err,
	    "config:11: output \"out1\": port: port must be 1..65535\n"
	    "config:12: output \"out1\": host: must not be empty\n"
	    "config:13: output \"out1\": facility: facility must be 0..23 or a "
	    "name (local0, daemon, ...)\n"
	    "config:16: output \"out1\": transport: transport must be tcp, tls "
	    "or udp\n"
	    "config:17: output \"out1\": send_timeout: timeouts are 1..3600 "
	    "seconds\n"
	    "config:18: output \"out1\": colour: unknown setting\n"
	    "config:10: output \"out1\": cert_file and key_file go together\n"
	    "config:10: output \"out1\": ca_file, server_name, cert_file and "
	    "key_file need transport tls");
	free(err);
	err = create_errors("syslog", NULL, 0);
	ck_assert_str_eq(err, "config:10: output \"out1\": host is required");
	free(err);
}
END_TEST

START_TEST(test_relp_create)
{
	static const char *const good[] = {
		"host", "collector.example", "port", "20514", "window", "2",
		"tls", "on", "server_name", "rsyslog.example", "timeout", "1",
	};
	static const char *const bad[] = {
		"host", "h", "window", "1", "tls", "yes", "server_name", "s",
		"timeout", "3601", "max_message", "big",
	};
	char *err;

	ck_assert_ptr_null(create_errors("relp", good, 6));
	err = create_errors("relp", bad, 6);
	ck_assert_str_eq(err,
	    "config:12: output \"out1\": window: window must be 2..10000\n"
	    "config:13: output \"out1\": tls: tls must be on or off\n"
	    "config:15: output \"out1\": timeout: timeouts are 1..3600 seconds\n"
	    "config:16: output \"out1\": max_message: max_message must be "
	    "480..1048576\n"
	    "config:10: output \"out1\": ca_file, server_name, cert_file and "
	    "key_file need tls on");
	free(err);
}
END_TEST

START_TEST(test_file_http_kafka_create)
{
	static const char *const file_bad[] = {
		"path", "/tmp/x/", "compress", "maybe", "keep", "100001",
		"mode", "0800", "rotate_seconds", "-1",
	};
	static const char *const file_good[] = {
		"path", "/nonexistent/out.log", "compress", "No", "keep", "0",
		"mode", "0600", "rotate_bytes", "18446744073709551615",
	};
	static const char *const http_bad[] = {
		"url", "https://h:8088", "mode", "hec", "token", "t",
		"gzip", "maybe", "timeout", "0", "batch_bytes", "x",
	};
	static const char *const kafka_bad[] = {
		"brokers", "127.0.0.1:9092", "topic", "t", "timeout", "3601",
	};
	char *err;

	ck_assert_ptr_null(create_errors("file", file_good, 5));
	err = create_errors("file", file_bad, 5);
	ck_assert_str_eq(err,
	    "config:11: output \"out1\": path must name a file\n"
	    "config:12: output \"out1\": compress must be zstd, gzip, true (zstd) or false\n"
	    "config:13: output \"out1\": keep must be 0..100000\n"
	    "config:14: output \"out1\": mode must be octal, like 0640\n"
	    "config:15: output \"out1\": rotate_seconds must be a number of "
	    "seconds");
	free(err);
	err = create_errors("http", http_bad, 6);
	ck_assert_ptr_nonnull(strstr(err,
	    "config:14: output \"out1\": gzip must be true or false\n"
	    "config:15: output \"out1\": timeout must be 1..3600 seconds\n"
	    "config:16: output \"out1\": batch_bytes must be "));
	free(err);
	err = create_errors("kafka", kafka_bad, 3);
	ck_assert_str_eq(err,
	    "config:13: output \"out1\": timeout must be 1..3600 seconds");
	free(err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("output_kv");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_err);
	tcase_add_test(tc, test_syslog_take);
	tcase_add_test(tc, test_syslog_create);
	tcase_add_test(tc, test_relp_create);
	tcase_add_test(tc, test_file_http_kafka_create);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
