/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * kafka_mock TOPIC: librdkafka's mock cluster (three brokers on 127.0.0.1)
 * for tests that run collectord as its own process (siem-testing.md
 * section 2). Prints the bootstrap list, then takes one command a line on
 * stdin and answers "OK" (or the records and "END"):
 *   down | up    take every broker down / bring it back
 *   dump         print every record of TOPIC, one a line, then END
 *   quit         exit (the cluster goes with the process)
 */
#include "config.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARTITIONS	3
#define BROKERS		3

static void	kafka_mock_quiet(const rd_kafka_t *, int, const char *, const char *);
static int	kafka_mock_dump(const char *, const char *);

static void
kafka_mock_quiet(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
}

/* Read the topic from the start with an assign-based consumer. */
static int
kafka_mock_dump(const char *bootstraps, const char *topic)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_t *rk;
	char err[256];
	int eof = 0, idle = 0;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "group.id", "kafka_mock", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err))) {
		fprintf(stderr, "kafka_mock: %s\n", err);
		return -1;
	}
	rd_kafka_conf_set_log_cb(conf, kafka_mock_quiet);
	if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "kafka_mock: %s\n", err);
		return -1;
	}
	parts = rd_kafka_topic_partition_list_new(PARTITIONS);
	for (int p = 0; p < PARTITIONS; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
		    RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	while (eof < PARTITIONS && idle < 100) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		if (m == NULL) {
			idle++;
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
			eof++;
		else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
			printf("%.*s\n", (int)m->len, (const char *)m->payload);
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return eof == PARTITIONS ? 0 : -1;
}

int
main(int argc, char **argv)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_t *rk;
	char err[256], line[64];

	if (argc != 2) {
		fprintf(stderr, "usage: kafka_mock TOPIC\n");
		return 2;
	}
	rd_kafka_conf_set_log_cb(conf, kafka_mock_quiet);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL ||
	    (mc = rd_kafka_mock_cluster_new(rk, BROKERS)) == NULL) {
		fprintf(stderr, "kafka_mock: cannot start the mock cluster\n");
		return 1;
	}
	rd_kafka_mock_topic_create(mc, argv[1], PARTITIONS, BROKERS);
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (strcmp(line, "down\n") == 0 || strcmp(line, "up\n") == 0) {
			for (int b = 1; b <= BROKERS; b++) {
				if (line[0] == 'd')
					rd_kafka_mock_broker_set_down(mc, b);
				else
					rd_kafka_mock_broker_set_up(mc, b);
			}
			printf("OK\n");
		} else if (strcmp(line, "dump\n") == 0) {
			if (kafka_mock_dump(rd_kafka_mock_cluster_bootstraps(mc), argv[1]) != 0)
				printf("ERROR\n");
			printf("END\n");
		} else if (strcmp(line, "quit\n") == 0) {
			break;
		} else {
			printf("ERROR unknown command\n");
		}
		fflush(stdout);
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
