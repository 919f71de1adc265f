/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"
#include "harness.h"

static void
setup(void)
{
	char path[4096];
	const char *top = getenv("top_srcdir");

	snprintf(path, sizeof(path), "%s/schemas", top ? top : ".");
	ck_assert_int_eq(conf_set_schema_dir(path), CD_EOK);
}

static char *
src_path(const char *rel)
{
	char *p;
	const char *top = getenv("top_srcdir");

	ck_assert_int_ge(asprintf(&p, "%s/%s", top ? top : ".", rel), 0);
	return p;
}

/* Load a bad file from tests/data/conf and return its error text. */
static char *
load_bad(const char *name, int want_rc)
{
	char path[4096];
	struct cd_conf *c = (void *)1;
	char *err = NULL;

	snprintf(path, sizeof(path), "%s", harness_data_path(name));
	ck_assert_int_eq(conf_load(path, &c, &err), want_rc);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(err);
	return err;
}

/* The error text holds "<file>:<line>: " and the given words. */
static void
assert_err_at(const char *err, const char *file, int line, const char *word)
{
	char want[4200];

	snprintf(want, sizeof(want), "%s:%d: ", harness_data_path(file), line);
	ck_assert_msg(strstr(err, want) != NULL, "want \"%s\" in \"%s\"", want, err);
	if (word != NULL)
		ck_assert_msg(strstr(err, word) != NULL, "want \"%s\" in \"%s\"",
		    word, err);
}

START_TEST(test_defaults)
{
	struct cd_conf *c;
	char *err = NULL;

	ck_assert_int_eq(conf_defaults(&c), CD_EOK);
	ck_assert_uint_eq(c->listen.n, 1);
	ck_assert_str_eq(c->listen.v[0], "5985");
	ck_assert_uint_eq(c->tls_listen.n, 0);
	ck_assert_uint_eq(c->api_listen.n, 1);
	ck_assert_str_eq(c->api_listen.v[0], "127.0.0.1:8080");
	ck_assert_str_eq(c->data_dir, LOCALSTATEDIR "/lib/collectord");
	ck_assert_str_eq(c->subscriptions_dir, SYSCONFDIR "/collectord/subscriptions.d");
	ck_assert_int_eq(c->auth, CONF_AUTH_KERBEROS);
	ck_assert_ptr_null(c->keytab);
	ck_assert_ptr_null(c->advertise);
	ck_assert_ptr_null(c->user);
	ck_assert(!c->allow_root);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
	ck_assert_uint_eq(c->limits.max_body_bytes, 2u << 20);
	ck_assert_uint_eq(c->limits.max_decompressed_bytes, 16u << 20);
	ck_assert_uint_eq(c->limits.max_events_per_batch, 10000);
	ck_assert_uint_eq(c->limits.max_xml_depth, 64);
	ck_assert_uint_eq(c->limits.max_connections, 10000);
	ck_assert_uint_eq(c->limits.max_connections_per_ip, 64);
	ck_assert_uint_eq(c->limits.connection_timeout_s, 300);
	ck_assert_uint_eq(c->store.map_max_bytes, (uint64_t)64 << 30);
	ck_assert(!c->store.nosync);
	ck_assert_uint_eq(c->dns.dedup_window_s, 900);
	ck_assert_uint_eq(c->dns.dedup_key.n, 4);
	ck_assert_str_eq(c->dns.dedup_key.v[0], "host");
	ck_assert_str_eq(c->dns.dedup_key.v[3], "query_status");
	ck_assert_uint_eq(c->dns.dedup_max_entries, 1000000);
	ck_assert_uint_eq(c->dns.retention_days, 0);
	ck_assert_ptr_null(c->api.tokens_file);
	ck_assert_uint_eq(c->relays.n, 0);
	ck_assert_uint_eq(c->noutputs, 0);
	ck_assert_int_eq(conf_check(c, &err), CD_EOK);
	ck_assert_ptr_null(err);
	conf_free(c);
	conf_free(NULL);
}
END_TEST

START_TEST(test_sample_config)
{
	char *path = src_path("etc/collectord.xml");
	struct cd_conf *c, *d;
	char *err = NULL;

	ck_assert_int_eq(conf_load(path, &c, &err), CD_EOK);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(c->path, path);
	/* The sample spells out the defaults; it must agree with the code. */
	ck_assert_int_eq(conf_defaults(&d), CD_EOK);
	ck_assert_str_eq(c->listen.v[0], d->listen.v[0]);
	ck_assert_str_eq(c->api_listen.v[0], d->api_listen.v[0]);
	ck_assert_uint_eq(c->limits.max_body_bytes, d->limits.max_body_bytes);
	ck_assert_uint_eq(c->limits.max_decompressed_bytes, d->limits.max_decompressed_bytes);
	ck_assert_uint_eq(c->limits.max_events_per_batch, d->limits.max_events_per_batch);
	ck_assert_uint_eq(c->limits.max_xml_depth, d->limits.max_xml_depth);
	ck_assert_uint_eq(c->limits.max_connections, d->limits.max_connections);
	ck_assert_uint_eq(c->limits.max_connections_per_ip, d->limits.max_connections_per_ip);
	ck_assert_uint_eq(c->limits.connection_timeout_s, d->limits.connection_timeout_s);
	ck_assert_uint_eq(c->store.map_max_bytes, d->store.map_max_bytes);
	ck_assert_uint_eq(c->dns.dedup_window_s, d->dns.dedup_window_s);
	ck_assert_uint_eq(c->dns.dedup_key.n, d->dns.dedup_key.n);
	for (size_t i = 0; i < d->dns.dedup_key.n; i++)
		ck_assert_str_eq(c->dns.dedup_key.v[i], d->dns.dedup_key.v[i]);
	ck_assert_uint_eq(c->dns.dedup_max_entries, d->dns.dedup_max_entries);
	ck_assert_int_eq(c->auth, d->auth);
	ck_assert_int_eq(conf_check(c, &err), CD_EOK);
	conf_free(c);
	conf_free(d);
	free(path);
}
END_TEST

START_TEST(test_values)
{
	struct cd_conf *c;
	char *err = NULL;

	ck_assert_int_eq(conf_load(harness_data_path("conf/good-values.xml"), &c,
	    &err), CD_EOK);
	ck_assert_uint_eq(c->listen.n, 2);	/* replaces the default 5985 */
	ck_assert_str_eq(c->listen.v[0], "0.0.0.0:5985");
	ck_assert_str_eq(c->listen.v[1], "[::1]:15985");
	ck_assert_str_eq(c->tls_listen.v[0], "5986");
	ck_assert_str_eq(c->api_listen.v[0], "127.0.0.1:9090");
	ck_assert_int_eq(c->auth, CONF_AUTH_TLS);
	ck_assert_uint_eq(c->tls_ca.n, 2);
	ck_assert_str_eq(c->tls_ca.v[1], "/etc/collectord/ca2.pem");
	ck_assert_str_eq(c->advertise, "wec.example.com:5986");
	ck_assert_int_eq(c->log_level, LOG_LEVEL_DEBUG);
	ck_assert_str_eq(c->user, "collectord");
	ck_assert_uint_eq(c->limits.max_connections_per_ip, 8);
	ck_assert_uint_eq(c->limits.max_body_bytes, 1048576);
	ck_assert_uint_eq(c->limits.max_connections, 10000);	/* default kept */
	ck_assert(c->store.nosync);
	ck_assert_uint_eq(c->store.map_max_bytes, 1073741824);
	ck_assert_uint_eq(c->dns.dedup_key.n, 2);
	ck_assert_str_eq(c->dns.dedup_key.v[1], "query_name");
	ck_assert_uint_eq(c->dns.retention_days, 30);
	ck_assert(c->dns.alert_registered_domain);
	ck_assert_str_eq(c->api.tokens_file, "/etc/collectord/tokens");
	ck_assert_str_eq(c->relays.v[0], "WEC-*$@EXAMPLE.COM");
	ck_assert_uint_eq(c->noutputs, 2);
	ck_assert_str_eq(c->outputs[0].name, "siem");
	ck_assert_str_eq(c->outputs[0].type, "syslog");
	ck_assert_uint_eq(c->outputs[0].nkv, 2);
	ck_assert_str_eq(c->outputs[0].kv[0].key, "host");
	ck_assert_str_eq(c->outputs[0].kv[0].value, "siem.example.com");
	ck_assert_str_eq(c->outputs[0].kv[1].key, "port");
	ck_assert_str_eq(c->outputs[0].kv[1].value, "6514");
	ck_assert_uint_eq(c->outputs[0].kv[1].line, 30);
	ck_assert_str_eq(c->outputs[1].kv[0].value, "/tmp/x & y.json");
	ck_assert_int_eq(conf_check(c, &err), CD_EOK);
	ck_assert_ptr_null(err);
	conf_free(c);

	ck_assert_int_eq(conf_load(harness_data_path("conf/good-minimal.xml"), &c,
	    &err), CD_EOK);
	ck_assert_str_eq(c->listen.v[0], "5985");
	conf_free(c);
}
END_TEST

START_TEST(test_missing_file)
{
	struct cd_conf *c;
	char *err = NULL;

	ck_assert_int_eq(conf_load("/nonexistent/collectord.xml", &c, &err), -ENOENT);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/collectord.xml"));
	free(err);
}
END_TEST

START_TEST(test_bad_files)
{
	char *err;

	err = load_bad("conf/bad-unknown-element.xml", CD_ECONFIG);
	assert_err_at(err, "conf/bad-unknown-element.xml", 4, "listne");
	free(err);

	err = load_bad("conf/bad-port.xml", CD_ECONFIG);
	assert_err_at(err, "conf/bad-port.xml", 5, "70000");
	ck_assert_ptr_null(strstr(err, ":3:"));	/* the good listen is fine */
	free(err);

	err = load_bad("conf/bad-type.xml", CD_ECONFIG);
	assert_err_at(err, "conf/bad-type.xml", 5, "lots");
	free(err);

	err = load_bad("conf/bad-auth.xml", CD_ECONFIG);
	assert_err_at(err, "conf/bad-auth.xml", 3, "ntlm");
	free(err);

	err = load_bad("conf/bad-duplicate.xml", CD_ECONFIG);
	assert_err_at(err, "conf/bad-duplicate.xml", 5, "line 3");
	free(err);

	err = load_bad("conf/bad-output.xml", CD_ECONFIG);
	assert_err_at(err, "conf/bad-output.xml", 6, "ftp");
	free(err);

	err = load_bad("conf/bad-notwellformed.xml", CD_ECONFIG);
	assert_err_at(err, "conf/bad-notwellformed.xml", 4, NULL);
	free(err);

	/* No DTD, no entity: the file's contents never come back. */
	err = load_bad("conf/bad-doctype.xml", CD_ECONFIG);
	assert_err_at(err, "conf/bad-doctype.xml", 2, "DOCTYPE");
	ck_assert_ptr_null(strstr(err, "root:"));
	free(err);
}
END_TEST

START_TEST(test_output_duplicate_name)
{
	char path[4096];
	char *dir = harness_mkdtemp();
	FILE *f;
	struct cd_conf *c;
	char *err = NULL;

	snprintf(path, sizeof(path), "%s/c.xml", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("<collectord>\n<outputs>\n<output name=\"a\" type=\"file\"/>\n"
	    "<output name=\"a\" type=\"kafka\"><brokers>k:9092</brokers></output>\n"
	    "</outputs>\n</collectord>\n", f);
	fclose(f);
	ck_assert_int_eq(conf_load(path, &c, &err), CD_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, ":4: output \"a\" defined twice"));
	free(err);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

START_TEST(test_check)
{
	struct cd_conf *c;
	char *err = NULL;

	ck_assert_int_eq(conf_defaults(&c), CD_EOK);
	c->auth = CONF_AUTH_TLS;
	ck_assert_int_eq(conf_check(c, &err), CD_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "tls-listen"));
	ck_assert_ptr_nonnull(strstr(err, "tls-cert"));
	ck_assert_ptr_nonnull(strstr(err, "tls-ca"));
	free(err);
	ck_assert_int_eq(conf_strv_add(&c->tls_listen, "5986"), CD_EOK);
	ck_assert_int_eq(conf_set_str(&c->tls_cert, "/c.pem"), CD_EOK);
	ck_assert_int_eq(conf_set_str(&c->tls_key, "/k.pem"), CD_EOK);
	ck_assert_int_eq(conf_strv_add(&c->tls_ca, "/ca.pem"), CD_EOK);
	ck_assert_int_eq(conf_check(c, &err), CD_EOK);

	/* Command-line overrides go through the same checks. */
	conf_strv_clear(&c->listen);
	ck_assert_int_eq(conf_strv_add(&c->listen, "99999"), CD_EOK);
	ck_assert_int_eq(conf_set_str(&c->advertise, "a b"), CD_EOK);
	ck_assert_int_eq(conf_check(c, &err), CD_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "listen: \"99999\""));
	ck_assert_ptr_nonnull(strstr(err, "advertise"));
	free(err);
	conf_strv_clear(&c->listen);
	conf_strv_clear(&c->tls_listen);
	ck_assert_int_eq(conf_set_str(&c->advertise, NULL), CD_EOK);
	ck_assert_int_eq(conf_check(c, &err), CD_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "no WEF listener"));
	free(err);
	conf_free(c);
}
END_TEST

START_TEST(test_hostport)
{
	char *h;
	unsigned p;

	ck_assert_int_eq(conf_parse_hostport("5985", &h, &p), CD_EOK);
	ck_assert_ptr_null(h);
	ck_assert_uint_eq(p, 5985);
	ck_assert_int_eq(conf_parse_hostport("127.0.0.1:8080", &h, &p), CD_EOK);
	ck_assert_str_eq(h, "127.0.0.1");
	ck_assert_uint_eq(p, 8080);
	free(h);
	ck_assert_int_eq(conf_parse_hostport("[::1]:5986", &h, &p), CD_EOK);
	ck_assert_str_eq(h, "::1");
	ck_assert_uint_eq(p, 5986);
	free(h);
	ck_assert_int_eq(conf_parse_hostport("wec.example.com", &h, &p), CD_EOK);
	ck_assert_str_eq(h, "wec.example.com");
	ck_assert_uint_eq(p, 0);
	free(h);
	ck_assert_int_eq(conf_parse_hostport("fe80::1", &h, &p), CD_EOK);
	ck_assert_str_eq(h, "fe80::1");
	ck_assert_uint_eq(p, 0);
	free(h);
	ck_assert_int_eq(conf_parse_hostport(":5985", &h, &p), CD_EOK);
	ck_assert_ptr_null(h);
	ck_assert_uint_eq(p, 5985);
	ck_assert_int_eq(conf_parse_hostport("0", &h, &p), CD_ECONFIG);
	ck_assert_int_eq(conf_parse_hostport("65536", &h, &p), CD_ECONFIG);
	ck_assert_int_eq(conf_parse_hostport("host:", &h, &p), CD_ECONFIG);
	ck_assert_int_eq(conf_parse_hostport("host:12x", &h, &p), CD_ECONFIG);
	ck_assert_int_eq(conf_parse_hostport("[::1", &h, &p), CD_ECONFIG);
	ck_assert_int_eq(conf_parse_hostport("[::1]x", &h, &p), CD_ECONFIG);
	ck_assert_int_eq(conf_parse_hostport("", &h, &p), CD_ECONFIG);
	ck_assert_int_eq(conf_parse_hostport("a/b:1", &h, &p), CD_ECONFIG);
}
END_TEST

START_TEST(test_auth_names)
{
	enum conf_auth a;

	ck_assert(conf_auth_parse("tls", &a));
	ck_assert_int_eq(a, CONF_AUTH_TLS);
	ck_assert(conf_auth_parse("none", &a));
	ck_assert_int_eq(a, CONF_AUTH_NONE);
	ck_assert(!conf_auth_parse("Kerberos", &a));
	ck_assert_str_eq(conf_auth_name(CONF_AUTH_KERBEROS), "kerberos");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_sample_config);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_bad_files);
	tcase_add_test(tc, test_output_duplicate_name);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_hostport);
	tcase_add_test(tc, test_auth_names);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
