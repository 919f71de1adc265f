/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The REST API against a real store filled with the real Sysmon DNS events
 * of tests/data/sysmon through the index (index_apply) and host registry
 * (hosts_update); answers are parsed back with jansson and compared with
 * tests/data/sysmon/expected_dns.json.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "api_int.h"
#include "dns.h"
#include "err.h"
#include "event.h"
#include "harness.h"
#include "hosts.h"
#include "index.h"
#include "store.h"
#include "timeparse.h"

static const char *inputs[] = {
	"cmd_wevtutil_modify_security_eventlog_path.xml",
	"covenant_dcom_iertutil_dll_hijack.xml",
	"covenant_psremoting_grunt.xml",
	"lsass_campaign_01.xml",
	"lsass_campaign_02.xml",
	"lsass_campaign_03.xml",
	"lsass_campaign_04.xml",
	"purplesharp_ad_playbook_i.xml",
};

struct obs_rec {
	char		*host;
	struct dns_obs	 obs;
};

static struct {
	char		*dir;
	struct store	*store;
	json_t		*expected;
	struct obs_rec	*recs;
	size_t		 nrecs;
} fx;

/* Every record in one transaction; apply() may run again, which is fine:
 * the job is all or nothing. */
static int
fill_apply(struct store_txn *txn, void *arg)
{
	int64_t arrival = 1700000000000LL;
	int rc;

	(void)arg;
	for (size_t i = 0; i < fx.nrecs; i++) {
		struct index_effects eff = { 0 };
		struct hosts_delta d = { .events = 1, .dns_queries = 1 };

		if ((rc = index_apply(txn, fx.recs[i].host, &fx.recs[i].obs,
		    &eff)) != CD_EOK)
			return rc;
		d.domains = eff.new_on_host;
		if ((rc = hosts_update(txn, fx.recs[i].host, arrival + (int64_t)i,
		    &d)) != CD_EOK)
			return rc;
	}
	return CD_EOK;
}

static void
load_event(struct event *ev, void *arg)
{
	struct obs_rec r = { 0 };

	(void)arg;
	if (dns_from_event(ev, &r.obs) == CD_EOK) {
		r.host = strdup(ev->computer);
		fx.recs = realloc(fx.recs, (fx.nrecs + 1) * sizeof(*fx.recs));
		ck_assert_ptr_nonnull(fx.recs);
		fx.recs[fx.nrecs++] = r;
	}
}

static void
load_file(const char *name)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "sysmon/%s", name);
	harness_each_event(rel, load_event, NULL);
}

static void
fixture_up(void)
{
	json_error_t jerr;

	fx.store = harness_store_open(&fx.dir);
	/* Files in reverse order: later events arrive first, so first_seen
	 * must move back as earlier ones come in. */
	for (size_t i = sizeof(inputs) / sizeof(inputs[0]); i-- > 0;)
		load_file(inputs[i]);
	ck_assert_uint_eq(fx.nrecs, 380);
	ck_assert_int_eq(store_run(fx.store, fill_apply, NULL), CD_EOK);
	fx.expected = json_load_file(harness_data_path("sysmon/expected_dns.json"),
	    0, &jerr);
	ck_assert_msg(fx.expected != NULL, "expected_dns.json: %s", jerr.text);
}

static void
fixture_down(void)
{
	for (size_t i = 0; i < fx.nrecs; i++) {
		free(fx.recs[i].host);
		dns_obs_clear(&fx.recs[i].obs);
	}
	free(fx.recs);
	harness_store_close(fx.store, fx.dir);
	json_decref(fx.expected);
	memset(&fx, 0, sizeof(fx));
}

/* The live figures a test daemon reports. */
static bool test_listeners_up = true;

static void
test_stats_cb(void *arg, struct api_stats *s)
{
	(void)arg;
	s->events_received = 1000;
	s->events_acked = 990;
	s->events_rejected = 10;
	s->dns_events = 380;
	s->dns_forwarded = 100;
	s->dns_folded = 300;
	s->dns_summaries = 7;
	s->listeners_up = test_listeners_up;
	s->noutputs = 2;
	snprintf(s->outputs[0].name, sizeof(s->outputs[0].name), "siem");
	s->outputs[0].backlog = 42;
	s->outputs[0].errors = 3;
	snprintf(s->outputs[1].name, sizeof(s->outputs[1].name), "we\"ird");
}

static void
test_subs_cb(void *arg, api_subscription_fn *fn, void *fnarg)
{
	struct api_subscription s = { .id = "sysmon", .name = "Sysmon",
	    .version = "3a1b2c3d-0000-4000-8000-000000000001", .enabled = true,
	    .sources = 13 };

	(void)arg;
	fn(fnarg, &s);
}

static struct api_ctx
ctx_make(void)
{
	struct api_ctx c = { 0 };

	test_listeners_up = true;
	c.store = fx.store;
	c.source.stats = test_stats_cb;
	c.source.subscriptions = test_subs_cb;
	/* 2019-12-05T02:00:00Z: shortly after the Shire lab's events. */
	c.now_ms = 1575511200000LL;
	return c;
}

/*
 * Run one request. url is "path?k=v&k=v" with no escaping (the listener
 * hands api_handle() decoded strings). Checks the status and returns the
 * JSON body (caller decrefs), or NULL for a non-JSON body (kept in *text
 * when text is not NULL; caller frees).
 */
static json_t *
call(const struct api_ctx *c, const char *method, const char *url,
    const char *auth, int want, char **text)
{
	struct api_request req = { 0 };
	struct api_response resp;
	char *copy = strdup(url), *q, *save = NULL;
	json_t *j = NULL;
	json_error_t jerr;

	req.method = method;
	req.path = copy;
	req.authorization = auth;
	if ((q = strchr(copy, '?')) != NULL) {
		*q++ = '\0';
		for (char *kv = strtok_r(q, "&", &save); kv != NULL;
		    kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');

			ck_assert_uint_lt(req.nargs, API_MAX_ARGS);
			if (eq != NULL)
				*eq++ = '\0';
			req.args[req.nargs].key = kv;
			req.args[req.nargs++].value = eq != NULL ? eq : "";
		}
	}
	api_response_init(&resp);
	api_handle(c, &req, &resp);
	ck_assert_msg(resp.status == want, "%s %s: status %d, want %d: %s",
	    method, url, resp.status, want,
	    resp.body.data ? (char *)resp.body.data : "");
	if (strncmp(resp.content_type, "application/json", 16) == 0) {
		j = json_loadb((char *)resp.body.data, resp.body.len, 0, &jerr);
		ck_assert_msg(j != NULL, "%s: bad JSON: %s", url, jerr.text);
		/* Errors say why; /healthz says "status" instead. */
		if (want >= 400)
			ck_assert_ptr_nonnull(json_string_value(json_object_get(j,
			    strcmp(copy, "/healthz") == 0 ? "status" : "error")));
	}
	if (text != NULL)
		*text = strdup(resp.body.data ? (char *)resp.body.data : "");
	if (want == 401)
		ck_assert_ptr_nonnull(resp.www_authenticate);
	api_response_free(&resp);
	free(copy);
	return j;
}

static json_t *
get(const struct api_ctx *c, const char *url, int want)
{
	return call(c, "GET", url, NULL, want, NULL);
}

static void
expect_error(const struct api_ctx *c, const char *url, int want,
    const char *reason)
{
	json_t *j = get(c, url, want);

	if (reason != NULL)
		ck_assert_str_eq(json_string_value(json_object_get(j, "error")),
		    reason);
	json_decref(j);
}

#define STR(o, k)	json_string_value(json_object_get((o), (k)))
#define INT(o, k)	json_integer_value(json_object_get((o), (k)))

START_TEST(test_domain_every_name)
{
	struct api_ctx c = ctx_make();
	json_t *names = json_object_get(fx.expected, "names"), *want;
	const char *name;
	char url[512];

	ck_assert_uint_eq(json_object_size(names), 83);
	json_object_foreach(names, name, want) {
		snprintf(url, sizeof(url), "/api/v1/domains/%s", name);
		json_t *d = get(&c, url, 200);

		ck_assert_str_eq(STR(d, "domain"), name);
		ck_assert_str_eq(STR(d, "first_seen"), STR(want, "first_seen"));
		ck_assert_str_eq(STR(d, "last_seen"), STR(want, "last_seen"));
		ck_assert_int_eq(INT(d, "count"), INT(want, "count"));
		ck_assert_int_eq(INT(d, "host_count"), INT(want, "host_count"));
		ck_assert_str_eq(STR(d, "first_host"), STR(want, "first_host"));
		ck_assert_str_eq(STR(d, "first_image"), STR(want, "first_image"));
		ck_assert_ptr_nonnull(STR(d, "registered_domain"));
		json_decref(d);
	}
}
END_TEST

START_TEST(test_domain_normalised_and_errors)
{
	struct api_ctx c = ctx_make();
	json_t *d = get(&c, "/api/v1/domains/OCSP.DigiCert.com.", 200);

	ck_assert_str_eq(STR(d, "domain"), "ocsp.digicert.com");
	ck_assert_str_eq(STR(d, "registered_domain"), "digicert.com");
	json_decref(d);
	/* A trailing slash on the path is harmless. */
	json_decref(get(&c, "/api/v1/domains/ocsp.digicert.com/", 200));
	expect_error(&c, "/api/v1/domains/never.seen.example", 404, NULL);
	expect_error(&c, "/api/v1/domains/bad name", 400, NULL);
	expect_error(&c, "/api/v1/domains/ocsp.digicert.com?limit=5", 400,
	    "unknown parameter: limit");
	expect_error(&c, "/api/v1/domains/never.seen.example/hosts", 404, NULL);
	expect_error(&c, "/api/v1/nothing", 404, "no such resource");
	expect_error(&c, "/api/v2/domains", 404, NULL);
	expect_error(&c, "/", 404, NULL);
	expect_error(&c, "/api/v1/domains/a/b/c", 404, NULL);
	json_decref(call(&c, "POST", "/api/v1/domains", NULL, 405, NULL));
	json_decref(call(&c, "DELETE", "/api/v1/domains/x.com", NULL, 405, NULL));
	json_decref(call(&c, "HEAD", "/api/v1/domains/ocsp.digicert.com", NULL,
	    200, NULL));
	/* Without a store the data endpoints say so. */
	c.store = NULL;
	expect_error(&c, "/api/v1/domains/ocsp.digicert.com", 503, NULL);
}
END_TEST

/* Expected (host -> aggregate) for one name, from the per-host table. */
static json_t *
expected_hosts_of(const char *name)
{
	json_t *out = json_object(), *hosts = json_object_get(fx.expected, "hosts");
	json_t *names;
	const char *host;

	json_object_foreach(hosts, host, names) {
		json_t *agg = json_object_get(names, name);

		if (agg != NULL)
			json_object_set(out, host, agg);
	}
	return out;
}

START_TEST(test_domain_hosts)
{
	struct api_ctx c = ctx_make();
	json_t *names = json_object_get(fx.expected, "names"), *want;
	const char *name;
	char url[512];

	json_object_foreach(names, name, want) {
		json_t *exp = expected_hosts_of(name), *got = json_object();
		const char *cursor = NULL;
		char *cur = NULL;

		/* Pages of two, to walk the cursors. */
		do {
			if (cursor != NULL)
				snprintf(url, sizeof(url),
				    "/api/v1/domains/%s/hosts?limit=2&cursor=%s",
				    name, cursor);
			else
				snprintf(url, sizeof(url),
				    "/api/v1/domains/%s/hosts?limit=2", name);
			json_t *page = get(&c, url, 200), *h;
			size_t i;

			ck_assert_str_eq(STR(page, "domain"), name);
			json_array_foreach(json_object_get(page, "hosts"), i, h) {
				ck_assert_msg(json_object_get(got, STR(h, "host")) == NULL,
				    "%s: host %s twice", name, STR(h, "host"));
				json_object_set(got, STR(h, "host"), h);
			}
			free(cur);
			cursor = STR(page, "next_cursor");
			cur = cursor ? strdup(cursor) : NULL;
			cursor = cur;
			json_decref(page);
		} while (cursor != NULL);
		ck_assert_uint_eq(json_object_size(got), json_object_size(exp));
		ck_assert_int_eq(json_object_size(got), INT(want, "host_count"));
		const char *host;
		json_t *e;
		json_object_foreach(exp, host, e) {
			json_t *g = json_object_get(got, host);

			ck_assert_msg(g != NULL, "%s: host %s missing", name, host);
			ck_assert_int_eq(INT(g, "count"), INT(e, "count"));
			ck_assert_str_eq(STR(g, "first_seen"), STR(e, "first_seen"));
			ck_assert_str_eq(STR(g, "last_seen"), STR(e, "last_seen"));
			ck_assert_msg(json_equal(json_object_get(g, "images"),
			    json_object_get(e, "images")), "%s %s: images", name, host);
		}
		json_decref(exp);
		json_decref(got);
	}
}
END_TEST

/*
 * Walk a first_seen-ordered list with pages of `limit`; returns the items
 * in order (caller decrefs) and checks each appears once, ordered by
 * first_seen (the order among equal times is the index's business).
 */
static json_t *
walk(const struct api_ctx *c, const char *base, size_t limit)
{
	json_t *all = json_array();
	char url[1024], *cur = NULL;

	do {
		snprintf(url, sizeof(url), "%s%slimit=%zu%s%s", base,
		    strchr(base, '?') ? "&" : "?", limit, cur ? "&cursor=" : "",
		    cur ? cur : "");
		json_t *page = get(c, url, 200), *items, *it;
		size_t i;

		items = json_object_get(page, "domains");
		ck_assert(json_is_array(items));
		ck_assert_uint_le(json_array_size(items), limit);
		json_array_foreach(items, i, it)
			json_array_append(all, it);
		free(cur);
		cur = STR(page, "next_cursor") ? strdup(STR(page, "next_cursor")) : NULL;
		ck_assert_msg(cur != NULL || json_is_null(json_object_get(page,
		    "next_cursor")), "next_cursor must be null at the end");
		json_decref(page);
	} while (cur != NULL);
	json_t *seen = json_object();
	for (size_t i = 0; i < json_array_size(all); i++) {
		json_t *b = json_array_get(all, i);

		ck_assert_msg(json_object_get(seen, STR(b, "domain")) == NULL,
		    "%s: %s twice", base, STR(b, "domain"));
		json_object_set_new(seen, STR(b, "domain"), json_true());
		if (i == 0)
			continue;
		json_t *a = json_array_get(all, i - 1);
		ck_assert_msg(strcmp(STR(a, "first_seen"), STR(b, "first_seen")) <= 0,
		    "%s: %s before %s", base, STR(a, "domain"), STR(b, "domain"));
	}
	json_decref(seen);
	return all;
}

/* Count expected names passing a filter (RFC 3339 strings compare in time
 * order: all are UTC with milliseconds). */
static size_t
expected_count(const char *after, const char *before, const char *suffix,
    long long max_hosts)
{
	json_t *names = json_object_get(fx.expected, "names"), *v;
	const char *name;
	size_t n = 0;

	json_object_foreach(names, name, v) {
		const char *fs = STR(v, "first_seen");
		size_t ln = strlen(name), ls = suffix ? strlen(suffix) : 0;

		if (after && strcmp(fs, after) < 0)
			continue;
		if (before && strcmp(fs, before) >= 0)
			continue;
		if (suffix && !(strcmp(name, suffix) == 0 || (ln > ls &&
		    name[ln - ls - 1] == '.' && strcmp(name + ln - ls, suffix) == 0)))
			continue;
		if (max_hosts > 0 && INT(v, "host_count") > max_hosts)
			continue;
		n++;
	}
	return n;
}

START_TEST(test_domains_list)
{
	struct api_ctx c = ctx_make();
	json_t *all;

	/* Every name once, in first_seen order, whatever the page size. */
	for (size_t limit = 1; limit <= 100; limit = limit * 3 + 4) {
		all = walk(&c, "/api/v1/domains", limit);
		ck_assert_uint_eq(json_array_size(all), 83);
		json_decref(all);
	}
	/* The default page holds them all: no cursor. */
	json_t *page = get(&c, "/api/v1/domains", 200);
	ck_assert_uint_eq(json_array_size(json_object_get(page, "domains")), 83);
	ck_assert(json_is_null(json_object_get(page, "next_cursor")));
	json_decref(page);

	/* Windows, absolute (any offset) and relative to now (02:00Z). */
	all = walk(&c, "/api/v1/domains?first_seen_after=2019-12-05T01:50:00Z"
	    "&first_seen_before=2019-12-05T03:50:00.000+01:00", 5);
	ck_assert_uint_eq(json_array_size(all), expected_count(
	    "2019-12-05T01:50:00.000Z", "2019-12-05T02:50:00.000Z", NULL, 0));
	ck_assert_uint_gt(json_array_size(all), 0);
	json_decref(all);
	all = walk(&c, "/api/v1/domains?first_seen_after=10m", 4);
	ck_assert_uint_eq(json_array_size(all), expected_count(
	    "2019-12-05T01:50:00.000Z", NULL, NULL, 0));
	json_decref(all);
	all = walk(&c, "/api/v1/domains?first_seen_after=2022-01-01T00:00:00Z", 3);
	ck_assert_uint_eq(json_array_size(all), expected_count(
	    "2022-01-01T00:00:00.000Z", NULL, NULL, 0));
	json_decref(all);

	/* Suffix (normalised) and max_hosts. */
	all = walk(&c, "/api/v1/domains?suffix=TheShire.LOCAL.", 2);
	ck_assert_uint_eq(json_array_size(all), expected_count(NULL, NULL,
	    "theshire.local", 0));
	ck_assert_uint_gt(json_array_size(all), 1);
	json_decref(all);
	all = walk(&c, "/api/v1/domains?suffix=microsoft.com&max_hosts=1", 3);
	ck_assert_uint_eq(json_array_size(all), expected_count(NULL, NULL,
	    "microsoft.com", 1));
	json_decref(all);
	all = walk(&c, "/api/v1/domains?max_hosts=1", 10);
	ck_assert_uint_eq(json_array_size(all), expected_count(NULL, NULL, NULL, 1));
	json_decref(all);
}
END_TEST

START_TEST(test_bad_parameters)
{
	struct api_ctx c = ctx_make();

	expect_error(&c, "/api/v1/domains?limit=0", 400, "limit must be 1..10000");
	expect_error(&c, "/api/v1/domains?limit=10001", 400, "limit must be 1..10000");
	expect_error(&c, "/api/v1/domains?limit=-1", 400, "limit must be 1..10000");
	expect_error(&c, "/api/v1/domains?limit=12abc", 400, "limit must be 1..10000");
	expect_error(&c, "/api/v1/domains?limit=", 400, "limit must be 1..10000");
	expect_error(&c, "/api/v1/domains?limit=99999999999999999999999", 400,
	    "limit must be 1..10000");
	json_decref(get(&c, "/api/v1/domains?limit=10000", 200));
	expect_error(&c, "/api/v1/domains?cursor=!!!!", 400, "invalid cursor");
	expect_error(&c, "/api/v1/domains?cursor=", 400, "invalid cursor");
	expect_error(&c, "/api/v1/domains?cursor=A", 400, "invalid cursor");
	/* Well-formed base64url, but not a cursor of this list. */
	expect_error(&c, "/api/v1/domains?cursor=AAAA", 400, "invalid cursor");
	expect_error(&c, "/api/v1/hosts/workstation5.theshire.local/domains"
	    "?cursor=AAAA", 400, "invalid cursor");
	expect_error(&c, "/api/v1/domains?first_seen_after=yesterday", 400, NULL);
	expect_error(&c, "/api/v1/domains?first_seen_before=2019-13-01T00:00:00Z",
	    400, NULL);
	expect_error(&c, "/api/v1/domains?first_seen_after=24", 400, NULL);
	expect_error(&c, "/api/v1/domains?colour=blue", 400,
	    "unknown parameter: colour");
	expect_error(&c, "/api/v1/domains?limit=5&limit=6", 400,
	    "parameter given twice: limit");
	expect_error(&c, "/api/v1/domains?suffix=a%20b c", 400, NULL);
	expect_error(&c, "/api/v1/domains?max_hosts=0", 400, NULL);
	expect_error(&c, "/api/v1/domains?max_hosts=x", 400, NULL);
	/* Filters that only the fleet-wide list takes. */
	expect_error(&c, "/api/v1/hosts/workstation5.theshire.local/domains"
	    "?suffix=com", 400, "unknown parameter: suffix");
	expect_error(&c, "/api/v1/hosts?first_seen_after=1h", 400, NULL);
	expect_error(&c, "/api/v1/stats?x=1", 400, NULL);
}
END_TEST

START_TEST(test_host_domains)
{
	struct api_ctx c = ctx_make();
	json_t *hosts = json_object_get(fx.expected, "hosts"), *names;
	const char *host;
	char base[512];

	json_object_foreach(hosts, host, names) {
		char upper[256];
		size_t k;

		/* Host names are case-insensitive in paths. */
		for (k = 0; host[k] != '\0'; k++)
			upper[k] = (char)(host[k] >= 'a' && host[k] <= 'z' ?
			    host[k] - 32 : host[k]);
		upper[k] = '\0';
		snprintf(base, sizeof(base), "/api/v1/hosts/%s/domains", upper);
		json_t *all = walk(&c, base, 3), *d;
		size_t i;

		ck_assert_uint_eq(json_array_size(all), json_object_size(names));
		json_array_foreach(all, i, d) {
			json_t *e = json_object_get(names, STR(d, "domain"));

			ck_assert_msg(e != NULL, "%s: unexpected %s", host,
			    STR(d, "domain"));
			ck_assert_int_eq(INT(d, "count"), INT(e, "count"));
			ck_assert_str_eq(STR(d, "first_seen"), STR(e, "first_seen"));
			ck_assert_str_eq(STR(d, "last_seen"), STR(e, "last_seen"));
		}
		json_decref(all);
		/* The response names the host lower-cased. */
		snprintf(base, sizeof(base), "/api/v1/hosts/%s/domains?limit=1", upper);
		json_t *p = get(&c, base, 200);
		ck_assert_str_eq(STR(p, "host"), host);
		json_decref(p);
	}
	expect_error(&c, "/api/v1/hosts/no-such-host/domains", 404, NULL);
}
END_TEST

START_TEST(test_hosts)
{
	struct api_ctx c = ctx_make();
	json_t *totals = json_object_get(fx.expected, "host_totals");
	json_t *page = get(&c, "/api/v1/hosts", 200), *h;
	size_t i;

	ck_assert_uint_eq(json_array_size(json_object_get(page, "hosts")), 13);
	ck_assert(json_is_null(json_object_get(page, "next_cursor")));
	json_array_foreach(json_object_get(page, "hosts"), i, h) {
		json_t *t = json_object_get(totals, STR(h, "host"));

		ck_assert_msg(t != NULL, "unexpected host %s", STR(h, "host"));
		ck_assert_int_eq(INT(h, "dns_queries"), INT(t, "dns_queries"));
		ck_assert_int_eq(INT(h, "domains"), INT(t, "domains"));
		ck_assert_int_eq(INT(h, "events"), INT(t, "dns_queries"));
		ck_assert(json_is_null(json_object_get(h, "last_heartbeat")));
		ck_assert_ptr_nonnull(STR(h, "first_seen"));
	}
	json_decref(page);
	/* Paged one by one: the same 13, each once. */
	json_t *seen = json_object();
	char url[512], *cur = NULL;
	do {
		snprintf(url, sizeof(url), "/api/v1/hosts?limit=1%s%s",
		    cur ? "&cursor=" : "", cur ? cur : "");
		page = get(&c, url, 200);
		ck_assert_uint_eq(json_array_size(json_object_get(page, "hosts")), 1);
		h = json_array_get(json_object_get(page, "hosts"), 0);
		ck_assert_ptr_null(json_object_get(seen, STR(h, "host")));
		json_object_set_new(seen, STR(h, "host"), json_true());
		free(cur);
		cur = STR(page, "next_cursor") ? strdup(STR(page, "next_cursor")) : NULL;
		json_decref(page);
	} while (cur != NULL);
	ck_assert_uint_eq(json_object_size(seen), 13);
	json_decref(seen);
}
END_TEST

static bool
ip_has(json_t *page, const char *domain)
{
	json_t *d;
	size_t i;

	json_array_foreach(json_object_get(page, "domains"), i, d)
		if (strcmp(STR(d, "domain"), domain) == 0)
			return true;
	return false;
}

START_TEST(test_ips)
{
	struct api_ctx c = ctx_make();
	json_t *p;

	/* Sysmon writes IPv4 answers IPv4-mapped; both spellings find them. */
	p = get(&c, "/api/v1/ips/72.21.91.29", 200);
	ck_assert_str_eq(STR(p, "address"), "72.21.91.29");
	ck_assert(ip_has(p, "ocsp.digicert.com"));
	ck_assert_ptr_nonnull(STR(json_array_get(json_object_get(p, "domains"), 0),
	    "first_seen"));
	json_decref(p);
	p = get(&c, "/api/v1/ips/::ffff:192.168.1.4", 200);
	ck_assert_str_eq(STR(p, "address"), "192.168.1.4");
	ck_assert(ip_has(p, "dc01.pandalab.com"));
	json_decref(p);
	p = get(&c, "/api/v1/ips/10.99.99.99", 200);
	ck_assert_uint_eq(json_array_size(json_object_get(p, "domains")), 0);
	ck_assert(json_is_null(json_object_get(p, "next_cursor")));
	json_decref(p);
	expect_error(&c, "/api/v1/ips/999.1.1.1", 400, NULL);
	expect_error(&c, "/api/v1/ips/dc01.pandalab.com", 400, NULL);
}
END_TEST

START_TEST(test_stats_metrics_health)
{
	struct api_ctx c = ctx_make();
	char *text = NULL;
	json_t *s = get(&c, "/api/v1/stats", 200);

	ck_assert_int_eq(INT(json_object_get(s, "events"), "received"), 1000);
	ck_assert_int_eq(INT(json_object_get(s, "events"), "rejected"), 10);
	ck_assert_int_eq(INT(json_object_get(s, "dns"), "events"), 380);
	ck_assert(json_real_value(json_object_get(json_object_get(s, "dns"),
	    "dedup_ratio")) == 0.75);
	ck_assert_int_eq(INT(json_array_get(json_object_get(s, "outputs"), 0),
	    "backlog"), 42);
	ck_assert(json_is_true(json_object_get(json_object_get(s, "store"),
	    "writable")));
	ck_assert_int_gt(INT(json_object_get(json_object_get(s, "store"),
	    "entries"), "dns_domain"), 0);
	json_decref(s);

	ck_assert_ptr_null(call(&c, "GET", "/metrics", NULL, 200, &text));
	ck_assert_ptr_nonnull(strstr(text,
	    "# TYPE collectord_events_received_total counter\n"
	    "collectord_events_received_total 1000\n"));
	ck_assert_ptr_nonnull(strstr(text, "\ncollectord_dns_folded_total 300\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "\ncollectord_output_backlog{output=\"siem\"} 42\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "\ncollectord_output_backlog{output=\"we\\\"ird\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\ncollectord_store_writable 1\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "\ncollectord_store_entries{db=\"dns_domain\"} "));
	free(text);

	json_t *h = get(&c, "/healthz", 200);
	ck_assert_str_eq(STR(h, "status"), "ok");
	json_decref(h);
	test_listeners_up = false;
	h = get(&c, "/healthz", 503);
	ck_assert_str_eq(STR(h, "status"), "unavailable");
	ck_assert(json_is_false(json_object_get(h, "listeners_up")));
	json_decref(h);
	test_listeners_up = true;
	c.store = NULL;
	json_decref(get(&c, "/healthz", 503));

	c = ctx_make();
	json_t *subs = get(&c, "/api/v1/subscriptions", 200);
	json_t *one = json_array_get(json_object_get(subs, "subscriptions"), 0);
	ck_assert_str_eq(STR(one, "id"), "sysmon");
	ck_assert_int_eq(INT(one, "sources"), 13);
	ck_assert(json_is_true(json_object_get(one, "enabled")));
	json_decref(subs);
	c.source.subscriptions = NULL;
	c.source.stats = NULL;
	subs = get(&c, "/api/v1/subscriptions", 200);
	ck_assert_uint_eq(json_array_size(json_object_get(subs, "subscriptions")), 0);
	json_decref(subs);
	s = get(&c, "/api/v1/stats", 200);
	ck_assert(json_is_null(json_object_get(json_object_get(s, "dns"),
	    "dedup_ratio")));
	json_decref(s);
}
END_TEST

static char *
write_tokens(const char *text)
{
	char *path;
	FILE *f;

	ck_assert_int_ge(asprintf(&path, "%s/tokens", fx.dir), 0);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
	return path;
}

START_TEST(test_bearer_auth)
{
	struct api_ctx c = ctx_make();
	struct api_tokens *t = NULL;
	char *path = write_tokens("# hunters\n\n  hunter-token-0123456789  \n"
	    "ci.token_ABCDEFGHIJ+/==\r\n");

	ck_assert_int_eq(apiauth_load(path, &t), CD_EOK);
	ck_assert_uint_eq(apiauth_count(t), 2);
	c.tokens = t;
	json_decref(call(&c, "GET", "/api/v1/hosts", NULL, 401, NULL));
	json_decref(call(&c, "GET", "/api/v1/hosts", "Basic dXNlcjpwYXNz", 401, NULL));
	json_decref(call(&c, "GET", "/api/v1/hosts", "Bearer wrong-token-0123456789",
	    401, NULL));
	json_decref(call(&c, "GET", "/api/v1/hosts", "Bearer hunter-token-012345678",
	    401, NULL));
	json_decref(call(&c, "GET", "/api/v1/hosts", "Bearer ", 401, NULL));
	/* Unknown paths under /api/ are hidden behind the token too. */
	json_decref(call(&c, "GET", "/api/v1/secret", NULL, 401, NULL));
	json_decref(call(&c, "GET", "/api/v1/hosts",
	    "Bearer hunter-token-0123456789", 200, NULL));
	json_decref(call(&c, "GET", "/api/v1/hosts",
	    "bearer   ci.token_ABCDEFGHIJ+/==", 200, NULL));
	json_decref(call(&c, "GET", "/api/v1/secret",
	    "Bearer hunter-token-0123456789", 404, NULL));
	/* /metrics needs the token; /healthz never does. */
	json_decref(call(&c, "GET", "/metrics", NULL, 401, NULL));
	char *text = NULL;
	ck_assert_ptr_null(call(&c, "GET", "/metrics",
	    "Bearer hunter-token-0123456789", 200, &text));
	ck_assert_ptr_nonnull(strstr(text, "collectord_events_received_total"));
	free(text);
	json_decref(call(&c, "GET", "/healthz", NULL, 200, NULL));
	apiauth_free(t);
	free(path);

	/* Bad files: a token with a space, no tokens at all, no file. */
	path = write_tokens("good-token-0123456789\nbad token\n");
	ck_assert_int_eq(apiauth_load(path, &t), CD_ECONFIG);
	ck_assert_ptr_null(t);
	free(path);
	path = write_tokens("# only a comment\n\n");
	ck_assert_int_eq(apiauth_load(path, &t), CD_ECONFIG);
	free(path);
	ck_assert_int_eq(apiauth_load("/nonexistent/tokens", &t), -ENOENT);
	apiauth_free(NULL);
}
END_TEST

START_TEST(test_loopback_and_cursor_codec)
{
	ck_assert(apiauth_loopback("127.0.0.1:8080"));
	ck_assert(apiauth_loopback("127.1.2.3:80"));
	ck_assert(apiauth_loopback("[::1]:8080"));
	ck_assert(apiauth_loopback("localhost:8080"));
	ck_assert(!apiauth_loopback("0.0.0.0:8080"));
	ck_assert(!apiauth_loopback("10.0.0.1:8080"));
	ck_assert(!apiauth_loopback("[::]:8080"));
	ck_assert(!apiauth_loopback("8080"));
	ck_assert(!apiauth_loopback(""));

	uint8_t raw[INDEX_CURSOR_MAX], back[INDEX_CURSOR_MAX];
	char text[INDEX_CURSOR_MAX * 2];
	size_t n;

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 37 + 11);
	for (size_t len = 1; len <= sizeof(raw); len += len < 8 ? 1 : 53) {
		ck_assert_int_eq(api_cursor_encode(raw, len, text, sizeof(text)), CD_EOK);
		ck_assert_ptr_null(strpbrk(text, "+/="));
		ck_assert_int_eq(api_cursor_decode(text, back, sizeof(back), &n), CD_EOK);
		ck_assert_uint_eq(n, len);
		ck_assert_int_eq(memcmp(raw, back, len), 0);
	}
	ck_assert_int_eq(api_cursor_decode("ab+c", back, sizeof(back), &n), -EINVAL);
	ck_assert_int_eq(api_cursor_decode("abc=", back, sizeof(back), &n), -EINVAL);
	ck_assert_int_eq(api_cursor_decode("AAAAAAAA", back, 5, &n), -EINVAL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("core");

	/* One store for every test: filling it is the slow part, and the
	 * writer thread would not survive check's fork. */
	tcase_add_unchecked_fixture(tc, fixture_up, fixture_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_domain_every_name);
	tcase_add_test(tc, test_domain_normalised_and_errors);
	tcase_add_test(tc, test_domain_hosts);
	tcase_add_test(tc, test_domains_list);
	tcase_add_test(tc, test_bad_parameters);
	tcase_add_test(tc, test_host_domains);
	tcase_add_test(tc, test_hosts);
	tcase_add_test(tc, test_ips);
	tcase_add_test(tc, test_stats_metrics_health);
	tcase_add_test(tc, test_bearer_auth);
	tcase_add_test(tc, test_loopback_and_cursor_codec);
	suite_add_tcase(s, tc);
	return harness_run_nofork(s);
}
