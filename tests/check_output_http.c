/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The http output against tests/fake_siem.py (a fake Splunk HEC and
 * Elasticsearch _bulk receiver on 127.0.0.1 that checks the formats),
 * driven directly through output_http_ops with real Sysmon events.
 */
#include "config.h"

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "event.h"
#include "harness.h"
#include "json.h"
#include "output.h"
#include "output_sinks.h"

#define DATA_FILE	"sysmon/purplesharp_ad_playbook_i.xml"
#define TOKEN		"test-token"

struct fake {
	pid_t	 pid;
	int	 port;
};

struct corpus {
	struct event	**ev;
	struct output_msg *msgs;
	char		**docs;		/* JSON documents for _bulk */
	size_t		 n;
	char		*text;
};

static void
fake_start_tls(struct fake *f, const char *cert, const char *key)
{
	const char *top = getenv("top_srcdir");
	char script[4096], line[32];
	int p[2];

	snprintf(script, sizeof(script), "%s/tests/fake_siem.py", top ? top : "..");
	ck_assert_int_eq(pipe(p), 0);
	f->pid = fork();
	ck_assert_int_ge(f->pid, 0);
	if (f->pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		if (cert != NULL)
			execlp("python3", "python3", script, "--token", TOKEN, "--tls",
			    cert, key, (char *)NULL);
		else
			execlp("python3", "python3", script, "--token", TOKEN, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	FILE *fp = fdopen(p[0], "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	fclose(fp);
	f->port = atoi(line);
	ck_assert_int_gt(f->port, 0);
}

static void
fake_start(struct fake *f)
{
	fake_start_tls(f, NULL, NULL);
}

static void
fake_stop(struct fake *f)
{
	kill(f->pid, SIGTERM);
	waitpid(f->pid, NULL, 0);
}

static size_t
fake_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	buf_append(arg, p, size * nmemb);
	return size * nmemb;
}

/* GET or POST one /_fake/ endpoint; returns the parsed reply. */
static json_t *
fake_call_ca(struct fake *f, const char *path, const char *post, const char *ca)
{
	CURL *c = curl_easy_init();
	char url[256];
	struct buf b;
	long status = 0;

	buf_init(&b, 0);
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", ca ? "https" : "http",
	    f->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (ca != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fake_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (post != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	ck_assert_int_eq(status, 200);
	curl_easy_cleanup(c);
	json_t *j = json_loadb((char *)b.data, b.len, 0, NULL);
	ck_assert_ptr_nonnull(j);
	buf_free(&b);
	return j;
}

static json_t *
fake_call(struct fake *f, const char *path, const char *post)
{
	return fake_call_ca(f, path, post, NULL);
}

static json_t *
fake_call_tls(struct fake *f, const char *path, const char *ca)
{
	return fake_call_ca(f, path, NULL, ca);
}

static void
fake_fault(struct fake *f, const char *fault)
{
	json_decref(fake_call(f, "/_fake/fault", fault));
}

static size_t
state_count(json_t *st, const char *what)
{
	json_t *v = json_object_get(st, what);

	return json_is_array(v) ? json_array_size(v) : (size_t)json_integer_value(v);
}

/* The real events of DATA_FILE (the first max), as raw messages. */
static void
corpus_load(struct corpus *c, size_t max)
{
	size_t len;
	char *line, *save = NULL;

	memset(c, 0, sizeof(*c));
	c->text = harness_read_data(DATA_FILE, &len);
	c->ev = calloc(max, sizeof(*c->ev));
	c->msgs = calloc(max, sizeof(*c->msgs));
	c->docs = calloc(max, sizeof(*c->docs));
	for (line = strtok_r(c->text, "\n", &save); line != NULL && c->n < max;
	    line = strtok_r(NULL, "\n", &save)) {
		struct event *ev;
		ck_assert_int_eq(event_parse(line, strlen(line), &ev), CD_EOK);
		ck_assert(!ev->malformed);
		struct output_msg *m = &c->msgs[c->n];
		harness_event_msg(m, 1000 + c->n, line, strlen(line), ev);

		struct buf b;
		struct jsonw j;
		buf_init(&b, 0);
		jsonw_init(&j, &b);
		jsonw_object_begin(&j);
		jsonw_kuint(&j, "seq", m->seq);
		jsonw_ktime(&j, "@timestamp", m->time_ms);
		jsonw_kstring(&j, "host", ev->computer);
		jsonw_kuint(&j, "event_id", ev->event_id);
		jsonw_kstring(&j, "message", line);
		jsonw_object_end(&j);
		ck_assert_int_eq(jsonw_finish(&j), CD_EOK);
		c->docs[c->n] = (char *)buf_steal(&b, &len);
		c->ev[c->n++] = ev;
	}
	ck_assert_uint_eq(c->n, max);
}

/* Switch the messages to their JSON documents (for _bulk). */
static void
corpus_json(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++) {
		c->msgs[i].data = c->docs[i];
		c->msgs[i].len = strlen(c->docs[i]);
		c->msgs[i].format = "json";
	}
}

static void
corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++) {
		event_free(c->ev[i]);
		free(c->docs[i]);
	}
	free(c->ev);
	free(c->docs);
	free(c->msgs);
	free(c->text);
}

/* An <output type="http"> from key/value pairs (NULL-terminated). */
static void *
sink_new(const char *name, const char *const *kv)
{
	struct conf_kv kvs[32];
	struct conf_output co = { .name = (char *)name, .type = "http", .kv = kvs,
	    .line = 1 };
	void *sink = NULL;
	char *err = NULL;

	for (; kv[2 * co.nkv] != NULL; co.nkv++) {
		kvs[co.nkv].key = (char *)kv[2 * co.nkv];
		kvs[co.nkv].value = (char *)kv[2 * co.nkv + 1];
		kvs[co.nkv].line = 10 + (unsigned)co.nkv;
	}
	int rc = output_http_ops.create(&co, &sink, &err);
	if (rc != CD_EOK)
		ck_abort_msg("create: %s", err ? err : cd_strerror(rc));
	return sink;
}

/* The create() error text for a bad configuration. */
static char *
sink_bad(const char *const *kv)
{
	struct conf_kv kvs[32];
	struct conf_output co = { .name = "bad", .type = "http", .kv = kvs, .line = 1 };
	void *sink = NULL;
	char *err = NULL;

	for (; kv[2 * co.nkv] != NULL; co.nkv++) {
		kvs[co.nkv].key = (char *)kv[2 * co.nkv];
		kvs[co.nkv].value = (char *)kv[2 * co.nkv + 1];
		kvs[co.nkv].line = 10 + (unsigned)co.nkv;
	}
	ck_assert_int_eq(output_http_ops.create(&co, &sink, &err), CD_ECONFIG);
	ck_assert_ptr_null(sink);
	ck_assert_ptr_nonnull(err);
	return err;
}

/* What the output thread does: send until all are confirmed. */
static size_t
deliver_all(void *sink, const struct output_msg *msgs, size_t n, int *failures)
{
	size_t done = 0;

	*failures = 0;
	for (int tries = 0; done < n && tries < 20; tries++) {
		size_t got = 0;
		int rc = output_http_ops.send(sink, msgs + done, n - done, &got);
		ck_assert_uint_le(got, n - done);
		done += got;
		if (rc != CD_EOK)
			(*failures)++;
	}
	return done;
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

START_TEST(test_hec_format)
{
	struct fake f;
	struct corpus c;
	char url[64];

	fake_start(&f);
	corpus_load(&c, 163);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	/* A small batch cap: the 163 events (about 230 kB) need several POSTs. */
	const char *kv[] = { "format", "raw", "url", url, "token", TOKEN,
	    "index", "wineventlog", "batch_bytes", "65536", NULL };
	void *sink = sink_new("splunk", kv);
	size_t got = 0;
	ck_assert_int_eq(output_http_ops.send(sink, c.msgs, c.n, &got), CD_EOK);
	ck_assert_uint_eq(got, c.n);

	json_t *st = fake_call(&f, "/_fake/state", NULL);
	ck_assert_uint_eq(state_count(st, "errors"), 0);
	ck_assert_uint_eq(state_count(st, "hec"), c.n);
	ck_assert_uint_ge(state_count(st, "requests"), 4);
	ck_assert_uint_eq(state_count(st, "gzip"), state_count(st, "requests"));
	json_t *hec = json_object_get(st, "hec");
	for (size_t i = 0; i < c.n; i++) {
		json_t *e = json_array_get(hec, i);
		ck_assert_str_eq(jstr(e, "event"), c.msgs[i].data);
		ck_assert_str_eq(jstr(e, "sourcetype"), "XmlWinEventLog");
		ck_assert_str_eq(jstr(e, "source"),
		    "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational");
		ck_assert_str_eq(jstr(e, "host"), c.ev[i]->computer);
		ck_assert_str_eq(jstr(e, "index"), "wineventlog");
		double t = json_number_value(json_object_get(e, "time"));
		ck_assert_double_eq_tol(t, (double)c.ev[i]->time_created_ms / 1000, 0.0005);
	}
	json_decref(st);
	output_http_ops.destroy(sink);
	corpus_free(&c);
	fake_stop(&f);
}
END_TEST

START_TEST(test_hec_5xx_then_ok)
{
	struct fake f;
	struct corpus c;
	char url[96];
	int failures;

	fake_start(&f);
	corpus_load(&c, 50);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/collector/event", f.port);
	const char *kv[] = { "url", url, "token", TOKEN, "gzip", "false", NULL };
	void *sink = sink_new("splunk", kv);
	for (size_t i = 0; i < c.n; i++)
		c.msgs[i].format = "raw";

	fake_fault(&f, "{\"status\": 500}");
	fake_fault(&f, "{\"status\": 503, \"hec_code\": 9}");
	size_t got = 99;
	ck_assert_int_ne(output_http_ops.send(sink, c.msgs, c.n, &got), CD_EOK);
	ck_assert_uint_eq(got, 0);
	ck_assert_uint_eq(deliver_all(sink, c.msgs, c.n, &failures), c.n);
	ck_assert_int_eq(failures, 1);	/* the 503 */

	json_t *st = fake_call(&f, "/_fake/state", NULL);
	ck_assert_uint_eq(state_count(st, "errors"), 0);
	ck_assert_uint_eq(state_count(st, "gzip"), 0);
	ck_assert_uint_eq(state_count(st, "requests"), 3);
	ck_assert_uint_eq(state_count(st, "hec"), c.n);	/* each once, in order */
	for (size_t i = 0; i < c.n; i++)
		ck_assert_str_eq(jstr(json_array_get(json_object_get(st, "hec"), i),
		    "event"), c.msgs[i].data);
	json_decref(st);
	output_http_ops.destroy(sink);
	corpus_free(&c);
	fake_stop(&f);
}
END_TEST

/* Every message arrived at least once (duplicates allowed). */
static void
assert_all_arrived(json_t *hec, const struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++) {
		bool found = false;
		for (size_t j = 0; j < json_array_size(hec) && !found; j++)
			found = strcmp(jstr(json_array_get(hec, j), "event"),
			    c->msgs[i].data) == 0;
		ck_assert_msg(found, "message %zu missing", i);
	}
}

START_TEST(test_hec_timeout_and_drops)
{
	struct fake f;
	struct corpus c;
	char url[64];
	int failures;

	fake_start(&f);
	corpus_load(&c, 30);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f.port);
	const char *kv[] = { "url", url, "token", TOKEN, "timeout", "1", NULL };
	void *sink = sink_new("splunk", kv);

	/* The reply comes after the client gave up: a failure, retried. */
	fake_fault(&f, "{\"delay\": 2.5}");
	size_t got = 99;
	ck_assert_int_eq(output_http_ops.send(sink, c.msgs, c.n, &got), -ETIMEDOUT);
	ck_assert_uint_eq(got, 0);
	/* Dropped connections, before and after storing. */
	fake_fault(&f, "{\"close_before\": true}");
	fake_fault(&f, "{\"close_after\": true}");
	ck_assert_uint_eq(deliver_all(sink, c.msgs, c.n, &failures), c.n);
	ck_assert_int_eq(failures, 2);
	sleep(2);	/* the delayed request stores its copy too */

	json_t *st = fake_call(&f, "/_fake/state", NULL);
	ck_assert_uint_eq(state_count(st, "errors"), 0);
	/* delayed copy + close_after copy + the confirmed one */
	ck_assert_uint_eq(state_count(st, "hec"), 3 * c.n);
	assert_all_arrived(json_object_get(st, "hec"), &c);
	json_decref(st);
	output_http_ops.destroy(sink);
	corpus_free(&c);
	fake_stop(&f);
}
END_TEST

START_TEST(test_hec_bad_token)
{
	struct fake f;
	struct corpus c;
	char url[64];

	fake_start(&f);
	corpus_load(&c, 5);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	const char *kv[] = { "url", url, "token", "wrong", NULL };
	void *sink = sink_new("splunk", kv);
	size_t got = 99;
	ck_assert_int_eq(output_http_ops.send(sink, c.msgs, c.n, &got), -EIO);
	ck_assert_uint_eq(got, 0);
	json_t *st = fake_call(&f, "/_fake/state", NULL);
	ck_assert_uint_eq(state_count(st, "hec"), 0);
	json_decref(st);
	output_http_ops.destroy(sink);
	corpus_free(&c);
	fake_stop(&f);
}
END_TEST

/* A record HEC rejects (400 with invalid-event-number) is skipped, not
 * retried forever; the records before and after it arrive once. */
START_TEST(test_hec_poison)
{
	struct fake f;
	struct corpus c;
	char url[64];

	fake_start(&f);
	corpus_load(&c, 10);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	const char *kv[] = { "url", url, "token", TOKEN, NULL };
	void *sink = sink_new("splunk", kv);
	c.msgs[4].channel = "Wrong/Channel";	/* source no longer matches the XML */
	size_t got = 0;
	ck_assert_int_eq(output_http_ops.send(sink, c.msgs, c.n, &got), CD_EPARSE);
	ck_assert_uint_eq(got, c.n);

	json_t *st = fake_call(&f, "/_fake/state", NULL);
	json_t *hec = json_object_get(st, "hec");
	ck_assert_uint_eq(json_array_size(hec), c.n - 1);
	for (size_t i = 0, j = 0; i < c.n; i++) {
		if (i == 4)
			continue;
		ck_assert_str_eq(jstr(json_array_get(hec, j++), "event"), c.msgs[i].data);
	}
	json_decref(st);
	output_http_ops.destroy(sink);
	corpus_free(&c);
	fake_stop(&f);
}
END_TEST

START_TEST(test_bulk)
{
	struct fake f;
	struct corpus c;
	char url[64], *poison;

	fake_start(&f);
	corpus_load(&c, 20);
	corpus_json(&c);
	/* A document the mapping rejects for good (status 400). */
	poison = strdup("{\"poison\":true}");
	c.msgs[7].data = poison;
	c.msgs[7].len = strlen(poison);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	const char *kv[] = { "mode", "elastic", "url", url, "index", "logs-test",
	    "format", "ecs", NULL };
	void *sink = sink_new("elastic", kv);

	/* Item 12 is refused with 429: 0..11 are done (7 rejected), 12.. resent. */
	fake_fault(&f, "{\"items\": {\"12\": 429}}");
	size_t got = 0;
	ck_assert_int_eq(output_http_ops.send(sink, c.msgs, c.n, &got), CD_EBUSY);
	ck_assert_uint_eq(got, 12);
	/* A whole-request 429. */
	fake_fault(&f, "{\"status\": 429}");
	ck_assert_int_eq(output_http_ops.send(sink, c.msgs + 12, c.n - 12, &got), CD_EBUSY);
	ck_assert_uint_eq(got, 0);
	ck_assert_int_eq(output_http_ops.send(sink, c.msgs + 12, c.n - 12, &got), CD_EOK);
	ck_assert_uint_eq(got, c.n - 12);

	json_t *st = fake_call(&f, "/_fake/state", NULL);
	ck_assert_uint_eq(state_count(st, "errors"), 0);
	ck_assert_uint_eq(state_count(st, "gzip"), 3);
	/* Elasticsearch stores the items after a refused one too: 13..19 come
	 * twice (at least once is the promise), 7 never. */
	json_t *bulk = json_object_get(st, "bulk");
	ck_assert_uint_eq(json_array_size(bulk), (c.n - 2) + (c.n - 12));
	for (size_t i = 0; i < c.n; i++) {
		size_t seen = 0;
		for (size_t j = 0; j < json_array_size(bulk); j++) {
			json_t *d = json_array_get(bulk, j);
			json_t *doc = json_object_get(d, "doc");
			if ((uint64_t)json_integer_value(json_object_get(doc, "seq")) !=
			    c.msgs[i].seq)
				continue;
			ck_assert_str_eq(jstr(d, "index"), "logs-test");
			ck_assert_str_eq(jstr(doc, "message"), c.ev[i]->raw);
			ck_assert_str_eq(jstr(doc, "host"), c.ev[i]->computer);
			seen++;
		}
		ck_assert_uint_eq(seen, i == 7 ? 0 : i > 12 ? 2 : 1);
	}
	for (size_t j = 0; j < json_array_size(bulk); j++)
		ck_assert(!json_is_true(json_object_get(json_object_get(
		    json_array_get(bulk, j), "doc"), "poison")));
	json_decref(st);
	output_http_ops.destroy(sink);
	free(poison);
	corpus_free(&c);
	fake_stop(&f);
}
END_TEST

/* HTTPS: the server certificate is verified (against ca_file), or not
 * at all with insecure. */
START_TEST(test_https)
{
	struct fake f;
	struct corpus c;
	char cmd[2048], url[64], cert[512], key[512];
	char *dir = harness_mkdtemp();
	size_t got;

	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout %s -out %s -days 2 "
	    "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null",
	    key, cert);
	ck_assert_int_eq(system(cmd), 0);
	fake_start_tls(&f, cert, key);
	corpus_load(&c, 10);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", f.port);

	const char *trusted[] = { "url", url, "token", TOKEN, "ca_file", cert, NULL };
	void *sink = sink_new("splunk", trusted);
	ck_assert_int_eq(output_http_ops.send(sink, c.msgs, c.n, &got), CD_EOK);
	ck_assert_uint_eq(got, c.n);
	output_http_ops.destroy(sink);

	const char *untrusted[] = { "url", url, "token", TOKEN, NULL };
	sink = sink_new("splunk", untrusted);
	ck_assert_int_eq(output_http_ops.send(sink, c.msgs, c.n, &got), -EIO);
	ck_assert_uint_eq(got, 0);
	output_http_ops.destroy(sink);

	const char *insecure[] = { "url", url, "token", TOKEN, "insecure", "true", NULL };
	sink = sink_new("splunk", insecure);
	ck_assert_int_eq(output_http_ops.send(sink, c.msgs, c.n, &got), CD_EOK);
	output_http_ops.destroy(sink);

	json_t *st = fake_call_tls(&f, "/_fake/state", cert);
	ck_assert_uint_eq(state_count(st, "hec"), 2 * c.n);
	ck_assert_uint_eq(state_count(st, "errors"), 0);
	json_decref(st);
	corpus_free(&c);
	fake_stop(&f);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

START_TEST(test_config_errors)
{
	char *e;

	const char *nourl[] = { "token", "x", NULL };
	e = sink_bad(nourl);
	ck_assert_ptr_nonnull(strstr(e, "url is required"));
	free(e);
	const char *mode[] = { "url", "http://h/", "mode", "splunk", NULL };
	e = sink_bad(mode);
	ck_assert_ptr_nonnull(strstr(e, "config:11: output \"bad\": mode must be hec or elastic"));
	free(e);
	const char *unknown[] = { "url", "http://h/", "token", "x", "colour", "red", NULL };
	e = sink_bad(unknown);
	ck_assert_ptr_nonnull(strstr(e, "config:12: output \"bad\": unknown setting \"colour\""));
	free(e);
	const char *raw[] = { "url", "http://h/", "mode", "elastic", "format", "raw", NULL };
	e = sink_bad(raw);
	ck_assert_ptr_nonnull(strstr(e, "needs format json or ecs"));
	free(e);
	const char *notoken[] = { "url", "http://h/", NULL };
	e = sink_bad(notoken);
	ck_assert_ptr_nonnull(strstr(e, "needs a token"));
	free(e);
	const char *scheme[] = { "url", "ftp://h/", "token", "x", NULL };
	e = sink_bad(scheme);
	ck_assert_ptr_nonnull(strstr(e, "http or https"));
	free(e);
	const char *misc[] = { "url", "http://h/", "token", "x", "header", "novalue",
	    "timeout", "0", "gzip", "maybe", "batch_bytes", "10",
	    "ca_file", "/nonexistent/ca.pem", NULL };
	e = sink_bad(misc);
	ck_assert_ptr_nonnull(strstr(e, "config:12: output \"bad\": header must be"));
	ck_assert_ptr_nonnull(strstr(e, "config:13: output \"bad\": timeout must be"));
	ck_assert_ptr_nonnull(strstr(e, "config:14: output \"bad\": gzip must be"));
	ck_assert_ptr_nonnull(strstr(e, "config:15: output \"bad\": batch_bytes must be"));
	ck_assert_ptr_nonnull(strstr(e, "config:16: output \"bad\": ca_file"));
	free(e);

	const char *good[] = { "url", "https://splunk.example:8088", "token", "x",
	    "header", "X-Extra: 1", "insecure", "true", "batch", "100", NULL };
	void *sink = sink_new("good", good);
	output_http_ops.destroy(sink);
	output_http_ops.destroy(NULL);
	ck_assert_ptr_eq(output_sink_find("http"), &output_http_ops);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("output_http");
	TCase *tc = tcase_create("core");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hec_format);
	tcase_add_test(tc, test_hec_5xx_then_ok);
	tcase_add_test(tc, test_hec_timeout_and_drops);
	tcase_add_test(tc, test_hec_bad_token);
	tcase_add_test(tc, test_hec_poison);
	tcase_add_test(tc, test_bulk);
	tcase_add_test(tc, test_https);
	tcase_add_test(tc, test_config_errors);
	suite_add_tcase(s, tc);
	int rc = harness_run(s);
	curl_global_cleanup();
	return rc;
}
