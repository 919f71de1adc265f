/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The kafka output: a librdkafka producer with acks=all and
 * enable.idempotence=true (neither can be overridden). send() produces the
 * batch, then serves delivery reports until every message has one or the
 * timeout passes; the leading run of successful reports is what the output
 * may pass (at-least-once: a message whose report failed, or never came, is
 * produced again by the next send()).
 *
 * Delivery reports carry a tag (send generation, index) rather than a
 * pointer: a report for a message of an earlier, timed-out send may still
 * arrive later, and must not touch the current batch's state.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "output.h"
#include "output_kv.h"
#include "output_sinks.h"
#include "timeparse.h"

#define KAFKA_TIMEOUT_DEFAULT	30
/* Low bits of a delivery tag: the index in the batch; the rest: generation. */
#define KAFKA_IDX_BITS		20
#define KAFKA_IDX_MAX		((size_t)1 << KAFKA_IDX_BITS)

enum output_kafka_state {
	KAFKA_PENDING,
	KAFKA_OK,
	KAFKA_FAILED,
};

struct output_kafka {
	char			*name;
	char			*topic;
	bool			 key_host;
	int			 timeout_ms;
	rd_kafka_conf_t		*conf;		/* template; a copy goes to each producer */
	rd_kafka_t		*rk;		/* created at the first send */
	uintptr_t		 gen;		/* current send generation */
	unsigned char		*state;		/* enum output_kafka_state per message */
	size_t			 nstate;
	size_t			 pending;
	rd_kafka_resp_err_t	 first_err;
	bool			 failing;
};

static int	output_kafka_create(const struct conf_output *, void **, char **);
static int	output_kafka_send(void *, const struct output_msg *, size_t, size_t *);
static void	output_kafka_reopen(void *);
static void	output_kafka_destroy(void *);

const struct output_sink_ops output_kafka_ops = {
	.type = "kafka",
	.create = output_kafka_create,
	.send = output_kafka_send,
	.reopen = output_kafka_reopen,
	.destroy = output_kafka_destroy,
};

/* Called from rd_kafka_poll(), so on the output's thread. */
static void
output_kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct output_kafka *s = opaque;
	uintptr_t tag = (uintptr_t)m->_private;
	size_t idx = tag & (KAFKA_IDX_MAX - 1);

	if ((tag >> KAFKA_IDX_BITS) != (s->gen & (UINTPTR_MAX >> KAFKA_IDX_BITS)) ||
	    idx >= s->nstate || s->state[idx] != KAFKA_PENDING)
		return;	/* a late report from an earlier send */
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		s->state[idx] = KAFKA_OK;
	} else {
		s->state[idx] = KAFKA_FAILED;
		if (s->first_err == RD_KAFKA_RESP_ERR_NO_ERROR)
			s->first_err = m->err;
	}
	s->pending--;
}

static void
output_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct output_kafka *s = opaque;

	if (err == RD_KAFKA_RESP_ERR__FATAL)
		log_err("output", "output=%s kafka: fatal: %s", s->name, reason);
	else
		log_debug("output", "output=%s kafka: %s", s->name, reason);
}

/*
 * librdkafka's own log lines (from its threads; log_msg is thread-safe).
 * Its errors are mostly connection noise while a broker is away; send()
 * reports the failures that matter, so they go to the log at info.
 */
static void
output_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	const struct output_kafka *s = rd_kafka_opaque(rk);

	if (level <= 5)
		log_info("output", "output=%s kafka %s: %s", s->name, fac, buf);
	else
		log_debug("output", "output=%s kafka %s: %s", s->name, fac, buf);
}

static bool
output_kafka_forbidden(const char *name)
{
	static const char *const fixed[] = {
		"acks", "request.required.acks", "enable.idempotence",
		"dr_cb", "dr_msg_cb", "opaque",
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		if (strcmp(name, fixed[i]) == 0)
			return true;
	return false;
}

static int
output_kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value,
    struct buf *errs, const struct conf_output *co, unsigned line)
{
	char err[512];

	if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		output_kv_err(errs, co, line, "kafka property %s: %s", name, err);
		return CD_ECONFIG;
	}
	return CD_EOK;
}

static int
output_kafka_create(const struct conf_output *co, void **sink, char **errmsg)
{
	struct output_kafka *s = calloc(1, sizeof(*s));
	const char *brokers = NULL, *compression = NULL;
	unsigned brokers_line = 0, compression_line = 0;
	char tmo[32];
	struct buf errs;
	int rc = CD_EOK;

	*sink = NULL;
	*errmsg = NULL;
	buf_init(&errs, 0);
	if (s == NULL)
		return -ENOMEM;
	s->key_host = true;
	s->timeout_ms = KAFKA_TIMEOUT_DEFAULT * 1000;
	if ((s->name = strdup(co->name)) == NULL || (s->conf = rd_kafka_conf_new()) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < co->nkv; i++) {
		const struct conf_kv *kv = &co->kv[i];
		if (output_kv_is_common(kv->key) || strcmp(kv->key, "property") == 0)
			continue;
		if (strcmp(kv->key, "brokers") == 0) {
			brokers = kv->value;
			brokers_line = kv->line;
		} else if (strcmp(kv->key, "topic") == 0) {
			free(s->topic);
			if ((s->topic = strdup(kv->value)) == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
		} else if (strcmp(kv->key, "key") == 0) {
			if (strcmp(kv->value, "host") == 0)
				s->key_host = true;
			else if (strcmp(kv->value, "none") == 0)
				s->key_host = false;
			else {
				output_kv_err(&errs, co, kv->line, "key must be host or none");
				rc = CD_ECONFIG;
			}
		} else if (strcmp(kv->key, "compression") == 0) {
			compression = kv->value;
			compression_line = kv->line;
		} else if (strcmp(kv->key, "timeout") == 0) {
			unsigned secs;
			if (output_kv_seconds(kv->value, &secs) != CD_EOK) {
				output_kv_err(&errs, co, kv->line,
				    "timeout must be 1..3600 seconds");
				rc = CD_ECONFIG;
			} else
				s->timeout_ms = (int)secs * 1000;
		} else {
			output_kv_err(&errs, co, kv->line,
			    "unknown setting \"%s\" for a kafka output", kv->key);
			rc = CD_ECONFIG;
		}
	}
	if (s->topic == NULL || s->topic[0] == '\0') {
		output_kv_err(&errs, co, 0, "topic is required");
		rc = CD_ECONFIG;
	}
	if (brokers == NULL) {
		output_kv_err(&errs, co, 0, "brokers is required");
		rc = CD_ECONFIG;
	} else if (output_kafka_set(s->conf, "bootstrap.servers", brokers, &errs, co,
	    brokers_line) != CD_EOK)
		rc = CD_ECONFIG;
	/* Fixed: every in-sync replica has the message, once (no duplicates
	 * from producer retries on a real broker). */
	if (output_kafka_set(s->conf, "acks", "all", &errs, co, 0) != CD_EOK ||
	    output_kafka_set(s->conf, "enable.idempotence", "true", &errs, co, 0) != CD_EOK)
		rc = CD_ECONFIG;
	if (compression != NULL && output_kafka_set(s->conf, "compression.codec",
	    compression, &errs, co, compression_line) != CD_EOK)
		rc = CD_ECONFIG;
	/* Reports within the send timeout, unless a property says otherwise. */
	snprintf(tmo, sizeof(tmo), "%d", s->timeout_ms);
	if (output_kafka_set(s->conf, "message.timeout.ms", tmo, &errs, co, 0) != CD_EOK)
		rc = CD_ECONFIG;
	for (size_t i = 0; i < co->nkv; i++) {
		const struct conf_kv *kv = &co->kv[i];
		if (strcmp(kv->key, "property") != 0)
			continue;
		char *eq = strchr(kv->value, '=');
		if (eq == NULL || eq == kv->value) {
			output_kv_err(&errs, co, kv->line, "property must be name=value");
			rc = CD_ECONFIG;
			continue;
		}
		char *pname = strndup(kv->value, (size_t)(eq - kv->value));
		if (pname == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		if (output_kafka_forbidden(pname)) {
			output_kv_err(&errs, co, kv->line,
			    "kafka property %s is fixed by collectord", pname);
			rc = CD_ECONFIG;
		} else if (output_kafka_set(s->conf, pname, eq + 1, &errs, co,
		    kv->line) != CD_EOK)
			rc = CD_ECONFIG;
		free(pname);
	}
	if (rc != CD_EOK)
		goto fail;
	rd_kafka_conf_set_opaque(s->conf, s);
	rd_kafka_conf_set_dr_msg_cb(s->conf, output_kafka_dr_cb);
	rd_kafka_conf_set_error_cb(s->conf, output_kafka_error_cb);
	rd_kafka_conf_set_log_cb(s->conf, output_kafka_log_cb);
	buf_free(&errs);
	*sink = s;
	return CD_EOK;
fail:
	output_kv_errs_end(rc, &errs, errmsg);
	output_kafka_destroy(s);
	return rc;
}

/* Drop the producer; what it still queues is produced again later. */
static void
output_kafka_close(struct output_kafka *s)
{
	if (s->rk == NULL)
		return;
	rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_destroy(s->rk);
	s->rk = NULL;
}

static void
output_kafka_destroy(void *arg)
{
	struct output_kafka *s = arg;

	if (s == NULL)
		return;
	output_kafka_close(s);
	if (s->conf != NULL)
		rd_kafka_conf_destroy(s->conf);
	free(s->state);
	free(s->topic);
	free(s->name);
	free(s);
}

static void
output_kafka_reopen(void *arg)
{
	output_kafka_close(arg);
}

static void
output_kafka_fail(struct output_kafka *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Log a destination failure once per state change. */
static void
output_kafka_fail(struct output_kafka *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!s->failing)
		log_warn("output", "output=%s topic=%s: %s", s->name, s->topic, msg);
	else
		log_debug("output", "output=%s topic=%s: %s", s->name, s->topic, msg);
	s->failing = true;
}

static int
output_kafka_start(struct output_kafka *s)
{
	rd_kafka_conf_t *c;
	char err[512];

	if (s->rk != NULL) {
		if (rd_kafka_fatal_error(s->rk, err, sizeof(err)) == RD_KAFKA_RESP_ERR_NO_ERROR)
			return CD_EOK;
		/* An idempotent producer that hit a fatal error is unusable. */
		log_err("output", "output=%s kafka producer failed (%s): starting a new one",
		    s->name, err);
		output_kafka_close(s);
	}
	if ((c = rd_kafka_conf_dup(s->conf)) == NULL)
		return -ENOMEM;
	s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
	if (s->rk == NULL) {
		rd_kafka_conf_destroy(c);
		output_kafka_fail(s, "cannot create the producer: %s", err);
		return -EIO;
	}
	return CD_EOK;
}

static int
output_kafka_send(void *arg, const struct output_msg *msgs, size_t n, size_t *delivered)
{
	struct output_kafka *s = arg;
	/* A second past message.timeout.ms: the reports of messages that time
	 * out arrive (as failures) before the wait ends. */
	int64_t deadline = timeparse_mono_ms() + s->timeout_ms + 1000;
	size_t m = n < KAFKA_IDX_MAX ? n : KAFKA_IDX_MAX - 1;
	size_t i, ok;
	int rc;

	*delivered = 0;
	if ((rc = output_kafka_start(s)) != CD_EOK)
		return rc;
	if (m > s->nstate) {
		unsigned char *p = realloc(s->state, m);
		if (p == NULL)
			return -ENOMEM;
		s->state = p;
	}
	s->gen++;
	s->nstate = m;
	memset(s->state, KAFKA_PENDING, m);
	s->pending = m;
	s->first_err = RD_KAFKA_RESP_ERR_NO_ERROR;
	for (i = 0; i < m; i++) {
		const struct output_msg *msg = &msgs[i];
		uintptr_t tag = (s->gen << KAFKA_IDX_BITS) | i;
		bool key = s->key_host && msg->host != NULL && msg->host[0] != '\0';
		rd_kafka_resp_err_t err;

		for (;;) {
			err = rd_kafka_producev(s->rk,
			    RD_KAFKA_V_TOPIC(s->topic),
			    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			    RD_KAFKA_V_VALUE((void *)msg->data, msg->len),
			    RD_KAFKA_V_KEY(key ? msg->host : NULL, key ? strlen(msg->host) : 0),
			    RD_KAFKA_V_OPAQUE((void *)tag),
			    RD_KAFKA_V_END);
			if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL ||
			    timeparse_mono_ms() >= deadline)
				break;
			rd_kafka_poll(s->rk, 50);	/* let the queue drain */
		}
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			/* Nothing after it can be in the confirmed run. */
			s->first_err = err;
			for (size_t j = i; j < m; j++)
				s->state[j] = KAFKA_FAILED;
			s->pending -= m - i;
			break;
		}
	}
	while (s->pending > 0) {
		int64_t left = deadline - timeparse_mono_ms();
		if (left <= 0)
			break;
		rd_kafka_poll(s->rk, left < 100 ? (int)left : 100);
	}
	if (s->pending > 0) {
		/* Queued, never sent: drop them, the next send produces them again. */
		rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_NON_BLOCKING);
		rd_kafka_poll(s->rk, 0);
	}
	for (ok = 0; ok < m && s->state[ok] == KAFKA_OK; ok++)
		;
	*delivered = ok;
	if (ok == n) {
		if (s->failing)
			log_info("output", "output=%s topic=%s: delivering again",
			    s->name, s->topic);
		s->failing = false;
		return CD_EOK;
	}
	if (ok < m && s->state[ok] == KAFKA_PENDING) {
		output_kafka_fail(s, "no delivery report for %zu of %zu messages within %d ms",
		    s->pending, m, s->timeout_ms);
		return -ETIMEDOUT;
	}
	if (ok < m)
		output_kafka_fail(s, "delivery failed: %s", rd_kafka_err2str(s->first_err));
	return -EIO;
}
