/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The kafka output against librdkafka's mock cluster (three brokers on
 * 127.0.0.1, owned by the test, siem-testing.md section 2), driven directly
 * through output_kafka_ops with real Sysmon events; what arrived is read
 * back with an assign-based consumer.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "event.h"
#include "harness.h"
#include "output.h"
#include "output_sinks.h"

#define DATA_FILE	"sysmon/covenant_psremoting_grunt.xml"
#define TOPIC		"events"
#define PARTITIONS	3

struct cluster {
	rd_kafka_t		*rk;	/* a handle the mock cluster hangs on */
	rd_kafka_mock_cluster_t	*mc;
	const char		*bootstraps;
};

struct corpus {
	struct event	**ev;
	struct output_msg *msgs;
	size_t		 n;
	char		*text;
};

static void
quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
}

static void
cluster_start(struct cluster *c)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[256];

	rd_kafka_conf_set_log_cb(conf, quiet_log);
	c->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	ck_assert_msg(c->rk != NULL, "%s", err);
	c->mc = rd_kafka_mock_cluster_new(c->rk, 3);
	ck_assert_ptr_nonnull(c->mc);
	c->bootstraps = rd_kafka_mock_cluster_bootstraps(c->mc);
	ck_assert_int_eq(rd_kafka_mock_topic_create(c->mc, TOPIC, PARTITIONS, 3),
	    RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void
cluster_stop(struct cluster *c)
{
	rd_kafka_mock_cluster_destroy(c->mc);
	rd_kafka_destroy(c->rk);
}

static void
corpus_load(struct corpus *c, size_t max)
{
	size_t len;
	char *line, *save = NULL;

	memset(c, 0, sizeof(*c));
	c->text = harness_read_data(DATA_FILE, &len);
	c->ev = calloc(max, sizeof(*c->ev));
	c->msgs = calloc(max, sizeof(*c->msgs));
	for (line = strtok_r(c->text, "\n", &save); line != NULL && c->n < max;
	    line = strtok_r(NULL, "\n", &save)) {
		struct event *ev;
		ck_assert_int_eq(event_parse(line, strlen(line), &ev), CD_EOK);
		harness_event_msg(&c->msgs[c->n], c->n + 1, line, strlen(line), ev);
		c->ev[c->n++] = ev;
	}
	ck_assert_uint_eq(c->n, max);
}

static void
corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		event_free(c->ev[i]);
	free(c->ev);
	free(c->msgs);
	free(c->text);
}

static int
sink_create(const char *const *kv, void **sink, char **err)
{
	struct conf_kv kvs[32];
	struct conf_output co = { .name = "kafka", .type = "kafka", .kv = kvs, .line = 1 };

	for (; kv[2 * co.nkv] != NULL; co.nkv++) {
		kvs[co.nkv].key = (char *)kv[2 * co.nkv];
		kvs[co.nkv].value = (char *)kv[2 * co.nkv + 1];
		kvs[co.nkv].line = 10 + (unsigned)co.nkv;
	}
	*sink = NULL;
	*err = NULL;
	return output_kafka_ops.create(&co, sink, err);
}

static void *
sink_new(const struct cluster *cl, const char *timeout, const char *key)
{
	const char *kv[] = { "brokers", cl->bootstraps, "topic", TOPIC,
	    "timeout", timeout, "key", key, "compression", "gzip",
	    /* Reconnect soon after a broker comes back (siem-testing.md). */
	    "property", "reconnect.backoff.max.ms=500",
	    "format", "raw", NULL };
	void *sink;
	char *err;

	int rc = sink_create(kv, &sink, &err);
	if (rc != CD_EOK)
		ck_abort_msg("create: %s", err ? err : cd_strerror(rc));
	return sink;
}

/*
 * Read the whole topic back; counts[i] gets how many times message i
 * arrived (matched by payload), and its key is checked.
 */
static size_t
consume_all(const struct cluster *cl, const struct corpus *c, unsigned *counts,
    bool keyed)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *parts;
	char err[256];
	int eof = 0;
	size_t total = 0;

	ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", cl->bootstraps,
	    err, sizeof(err)), RD_KAFKA_CONF_OK);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", "check", err, sizeof(err)),
	    RD_KAFKA_CONF_OK);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "enable.partition.eof", "true", err,
	    sizeof(err)), RD_KAFKA_CONF_OK);
	rd_kafka_conf_set_log_cb(conf, quiet_log);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_msg(rk != NULL, "%s", err);
	parts = rd_kafka_topic_partition_list_new(PARTITIONS);
	for (int p = 0; p < PARTITIONS; p++)
		rd_kafka_topic_partition_list_add(parts, TOPIC, p)->offset =
		    RD_KAFKA_OFFSET_BEGINNING;
	ck_assert_int_eq(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(parts);
	memset(counts, 0, c->n * sizeof(*counts));
	for (int idle = 0; eof < PARTITIONS && idle < 100; ) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (m == NULL) {
			idle++;
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			eof++;
		} else {
			ck_assert_msg(m->err == RD_KAFKA_RESP_ERR_NO_ERROR, "consume: %s",
			    rd_kafka_err2str(m->err));
			size_t i;
			for (i = 0; i < c->n; i++)
				if (c->msgs[i].len == m->len &&
				    memcmp(c->msgs[i].data, m->payload, m->len) == 0)
					break;
			ck_assert_msg(i < c->n, "unknown message read back");
			if (keyed) {
				ck_assert_uint_eq(m->key_len, strlen(c->msgs[i].host));
				ck_assert(memcmp(m->key, c->msgs[i].host, m->key_len) == 0);
			} else {
				ck_assert_ptr_null(m->key);
			}
			counts[i]++;
			total++;
		}
		rd_kafka_message_destroy(m);
	}
	ck_assert_int_eq(eof, PARTITIONS);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return total;
}

START_TEST(test_deliver_all)
{
	struct cluster cl;
	struct corpus c;

	cluster_start(&cl);
	corpus_load(&c, 313);
	void *sink = sink_new(&cl, "10", "host");
	size_t got = 0;
	ck_assert_int_eq(output_kafka_ops.send(sink, c.msgs, 200, &got), CD_EOK);
	ck_assert_uint_eq(got, 200);
	ck_assert_int_eq(output_kafka_ops.send(sink, c.msgs + 200, c.n - 200, &got), CD_EOK);
	ck_assert_uint_eq(got, c.n - 200);

	unsigned *counts = calloc(c.n, sizeof(*counts));
	/* No fault: each message exactly once. */
	ck_assert_uint_eq(consume_all(&cl, &c, counts, true), c.n);
	for (size_t i = 0; i < c.n; i++)
		ck_assert_uint_eq(counts[i], 1);
	free(counts);
	output_kafka_ops.destroy(sink);
	corpus_free(&c);
	cluster_stop(&cl);
}
END_TEST

/* Produce errors the idempotent producer retries by itself. */
START_TEST(test_request_errors)
{
	struct cluster cl;
	struct corpus c;

	cluster_start(&cl);
	corpus_load(&c, 100);
	void *sink = sink_new(&cl, "10", "none");
	rd_kafka_mock_push_request_errors(cl.mc, 0 /* Produce */, 4,
	    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
	    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR__TRANSPORT);
	size_t got = 0;
	ck_assert_int_eq(output_kafka_ops.send(sink, c.msgs, c.n, &got), CD_EOK);
	ck_assert_uint_eq(got, c.n);

	unsigned *counts = calloc(c.n, sizeof(*counts));
	ck_assert_uint_ge(consume_all(&cl, &c, counts, false), c.n);
	for (size_t i = 0; i < c.n; i++)
		ck_assert_uint_ge(counts[i], 1);
	free(counts);
	output_kafka_ops.destroy(sink);
	corpus_free(&c);
	cluster_stop(&cl);
}
END_TEST

/*
 * Every broker down: send() fails without claiming anything it has no
 * report for; after recovery, sending the rest (as the output thread does)
 * delivers everything.
 */
START_TEST(test_brokers_down)
{
	struct cluster cl;
	struct corpus c;

	cluster_start(&cl);
	corpus_load(&c, 150);
	void *sink = sink_new(&cl, "2", "host");
	size_t got = 0, done = 0;
	/* Up first, so the producer knows the cluster, then the outage. */
	ck_assert_int_eq(output_kafka_ops.send(sink, c.msgs, 50, &got), CD_EOK);
	done = got;
	for (int b = 1; b <= 3; b++)
		rd_kafka_mock_broker_set_down(cl.mc, b);
	int rc = output_kafka_ops.send(sink, c.msgs + done, c.n - done, &got);
	ck_assert_int_ne(rc, CD_EOK);
	ck_assert_uint_lt(got, c.n - done);
	done += got;
	for (int b = 1; b <= 3; b++)
		rd_kafka_mock_broker_set_up(cl.mc, b);
	for (int tries = 0; done < c.n && tries < 30; tries++) {
		got = 0;
		rc = output_kafka_ops.send(sink, c.msgs + done, c.n - done, &got);
		ck_assert_uint_le(got, c.n - done);
		done += got;
		if (rc != CD_EOK)
			usleep(200 * 1000);
	}
	ck_assert_uint_eq(done, c.n);

	unsigned *counts = calloc(c.n, sizeof(*counts));
	ck_assert_uint_ge(consume_all(&cl, &c, counts, true), c.n);
	for (size_t i = 0; i < c.n; i++)
		ck_assert_msg(counts[i] >= 1, "message %zu missing", i);
	free(counts);
	output_kafka_ops.destroy(sink);
	corpus_free(&c);
	cluster_stop(&cl);
}
END_TEST

START_TEST(test_config_errors)
{
	void *sink;
	char *err;

	const char *missing[] = { "key", "ip", "colour", "red", NULL };
	ck_assert_int_eq(sink_create(missing, &sink, &err), CD_ECONFIG);
	ck_assert_ptr_null(sink);
	ck_assert_ptr_nonnull(strstr(err, "config:10: output \"kafka\": key must be host or none"));
	ck_assert_ptr_nonnull(strstr(err, "config:11: output \"kafka\": unknown setting \"colour\""));
	ck_assert_ptr_nonnull(strstr(err, "topic is required"));
	ck_assert_ptr_nonnull(strstr(err, "brokers is required"));
	free(err);

	const char *props[] = { "brokers", "127.0.0.1:9", "topic", "t",
	    "property", "acks=1", "property", "no.such.property=1",
	    "property", "novalue", "compression", "rar", "timeout", "0", NULL };
	ck_assert_int_eq(sink_create(props, &sink, &err), CD_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "config:12: output \"kafka\": kafka property acks is fixed"));
	ck_assert_ptr_nonnull(strstr(err, "config:13: output \"kafka\": kafka property no.such.property"));
	ck_assert_ptr_nonnull(strstr(err, "config:14: output \"kafka\": property must be name=value"));
	ck_assert_ptr_nonnull(strstr(err, "config:15: output \"kafka\": kafka property compression.codec"));
	ck_assert_ptr_nonnull(strstr(err, "config:16: output \"kafka\": timeout must be"));
	free(err);

	/* create() must not connect: a closed port is fine here. */
	const char *good[] = { "brokers", "127.0.0.1:9", "topic", "t", "batch", "10",
	    "property", "linger.ms=5", NULL };
	ck_assert_int_eq(sink_create(good, &sink, &err), CD_EOK);
	ck_assert_ptr_nonnull(sink);
	output_kafka_ops.destroy(sink);
	output_kafka_ops.destroy(NULL);
	ck_assert_ptr_eq(output_sink_find("kafka"), &output_kafka_ops);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("output_kafka");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_deliver_all);
	tcase_add_test(tc, test_request_errors);
	tcase_add_test(tc, test_brokers_down);
	tcase_add_test(tc, test_config_errors);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
