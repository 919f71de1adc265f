/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "event.h"
#include "harness.h"
#include "ingest.h"
#include "output.h"
#include "store.h"

const char *const harness_sysmon_files[HARNESS_NSYSMON_FILES] = {
	"sysmon/cmd_wevtutil_modify_security_eventlog_path.xml",
	"sysmon/covenant_dcom_iertutil_dll_hijack.xml",
	"sysmon/covenant_psremoting_grunt.xml",
	"sysmon/lsass_campaign_01.xml",
	"sysmon/lsass_campaign_02.xml",
	"sysmon/lsass_campaign_03.xml",
	"sysmon/lsass_campaign_04.xml",
	"sysmon/purplesharp_ad_playbook_i.xml",
};

char *
harness_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (base == NULL)
		base = "/tmp";
	if (asprintf(&path, "%s/cd-test-XXXXXX", base) < 0)
		ck_abort_msg("asprintf");
	if (mkdtemp(path) == NULL)
		ck_abort_msg("mkdtemp %s", path);
	return path;
}

static int
harness_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

void
harness_rmdir_rf(const char *path)
{
	if (path != NULL)
		nftw(path, harness_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
harness_data_path(const char *rel)
{
	static char path[4096];
	const char *top = getenv("top_srcdir");

	snprintf(path, sizeof(path), "%s/tests/data/%s", top ? top : ".", rel);
	return path;
}

char *
harness_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t n = 0, cap = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			data = realloc(data, cap);
			ck_assert_ptr_nonnull(data);
		}
		size_t r = fread(data + n, 1, cap - n - 1, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	if (data == NULL)
		data = calloc(1, 1);
	data[n] = '\0';
	if (len != NULL)
		*len = n;
	return data;
}

char *
harness_read_data(const char *rel, size_t *len)
{
	char *d = harness_read_file(harness_data_path(rel), len);

	ck_assert_msg(d != NULL, "missing test data %s", harness_data_path(rel));
	return d;
}

struct store *
harness_store_open(char **dirp)
{
	struct store_options opt = { 0 };
	struct store *st = NULL;

	*dirp = harness_mkdtemp();
	opt.dir = *dirp;
	opt.nosync = true;
	ck_assert_int_eq(store_open(&st, &opt), CD_EOK);
	return st;
}

void
harness_store_close(struct store *st, char *dir)
{
	store_close(st);
	harness_rmdir_rf(dir);
	free(dir);
}

struct store *harness_store;
static char *harness_store_dir;

void
harness_store_setup(void)
{
	harness_store = harness_store_open(&harness_store_dir);
}

void
harness_store_teardown(void)
{
	harness_store_close(harness_store, harness_store_dir);
	harness_store = NULL;
	harness_store_dir = NULL;
}

static char *
harness_lower_dup(const char *s)
{
	char *d = strdup(s != NULL ? s : "");

	for (char *p = d; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return d;
}

size_t
harness_ingest_file(struct store *st, const char *rel, int pass,
    struct ingest_batch *(*new_batch)(const char *source, void *arg), void *arg)
{
	char *data = harness_read_data(rel, NULL), *line, *nl;
	struct ingest_batch *b = NULL;
	char source[128];
	size_t k = 0, submitted = 0;

	snprintf(source, sizeof(source), "src-%s", rel + 7);
	for (line = data; *line != '\0'; line = nl + 1, k++) {
		struct event *ev = NULL;

		nl = strchr(line, '\n');
		ck_assert(nl != NULL);
		if (b == NULL)
			b = new_batch(source, arg);
		ck_assert_int_eq(event_parse(line, (size_t)(nl - line), &ev), CD_EOK);
		if (pass == 0 && k % 50 == 7) {
			event_free(ev);
			ck_assert_int_eq(event_parse("<Event><System>", 15, &ev), CD_EOK);
			ck_assert(ev->malformed);
		}
		ck_assert_int_eq(ingest_batch_add(b, ev, harness_lower_dup(ev->computer),
		    k % 11 == 5), CD_EOK);
		if (b->n == 37) {
			ck_assert_int_eq(ingest_submit(st, b), CD_EOK);
			submitted++;
			b = NULL;
		}
	}
	if (b != NULL) {
		ck_assert_int_eq(ingest_submit(st, b), CD_EOK);
		submitted++;
	}
	free(data);
	return submitted;
}

uint64_t
harness_store_count(int dbi)
{
	struct store_txn *txn;
	uint64_t n;

	ck_assert_int_eq(store_read_begin(harness_store, &txn), CD_EOK);
	ck_assert_int_eq(store_count(txn, (enum store_dbi)dbi, &n), CD_EOK);
	store_read_end(txn);
	return n;
}

void
harness_each_event(const char *rel, void (*fn)(struct event *, void *),
    void *arg)
{
	char *data = harness_read_data(rel, NULL), *line, *nl;

	for (line = data; *line != '\0'; line = nl + 1) {
		struct event *ev = NULL;

		nl = strchr(line, '\n');
		ck_assert_msg(nl != NULL, "%s: last line without a newline", rel);
		ck_assert_int_eq(event_parse(line, (size_t)(nl - line), &ev), CD_EOK);
		fn(ev, arg);
		event_free(ev);
	}
	free(data);
}

void
harness_event_msg(struct output_msg *m, uint64_t seq, const char *data,
    size_t len, const struct event *ev)
{
	memset(m, 0, sizeof(*m));
	m->seq = seq;
	m->kind = OUTPUT_KIND_EVENT;
	m->data = data;
	m->len = len;
	m->host = ev->computer != NULL ? ev->computer : "";
	m->time_ms = ev->time_created_ms;
	m->channel = ev->channel != NULL ? ev->channel : "";
	m->provider = ev->provider != NULL ? ev->provider : "";
	m->event_id = ev->event_id;
	m->format = "raw";
}

static int
harness_run_mode(Suite *s, bool nofork)
{
	SRunner *sr = srunner_create(s);
	int failed;

	if (nofork)
		srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
harness_run(Suite *s)
{
	return harness_run_mode(s, false);
}

int
harness_run_nofork(Suite *s)
{
	return harness_run_mode(s, true);
}
