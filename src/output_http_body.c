/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The http output's request bodies and the reading of replies: Splunk HEC
 * envelopes and Elasticsearch _bulk NDJSON (siem-testing.md section 3),
 * gzip with zlib, HEC error replies and _bulk item statuses with jansson.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "output.h"
#include "output_http_int.h"

static int	output_http_body_jstr(struct buf *, const char *);
static int	output_http_body_hec_one(struct output_http *, const struct output_msg *,
		    struct buf *);
static int	output_http_body_bulk_one(struct output_http *, const struct output_msg *,
		    struct buf *);

/* A JSON string value (escaped by the project's writer). */
static int
output_http_body_jstr(struct buf *b, const char *str)
{
	struct jsonw j;

	jsonw_init(&j, b);
	jsonw_string(&j, str);
	return jsonw_finish(&j);
}

/* One HEC envelope (siem-testing.md section 3), newline-terminated. */
static int
output_http_body_hec_one(struct output_http *s, const struct output_msg *m, struct buf *b)
{
	bool raw = m->kind == OUTPUT_KIND_EVENT && m->format != NULL &&
	    strcmp(m->format, "raw") == 0;
	int rc = CD_EOK;

	buf_puts(b, "{");
	if (m->time_ms > 0)
		buf_printf(b, "\"time\":%" PRId64 ".%03d,", m->time_ms / 1000,
		    (int)(m->time_ms % 1000));
	if (m->host != NULL && m->host[0] != '\0') {
		buf_puts(b, "\"host\":");
		rc = rc ? rc : output_http_body_jstr(b, m->host);
		buf_puts(b, ",");
	}
	buf_puts(b, "\"source\":");
	if (raw) {
		buf_puts(b, "\"XmlWinEventLog:");
		size_t before = b->len;
		rc = rc ? rc : output_http_body_jstr(b, m->channel ? m->channel : "");
		/* Splice the escaped channel into the "XmlWinEventLog:" string. */
		if (rc == CD_EOK && b->len >= before + 2) {
			memmove(b->data + before, b->data + before + 1, b->len - before - 1);
			b->len--;
			b->data[b->len] = '\0';
		}
		buf_puts(b, ",\"sourcetype\":\"XmlWinEventLog\",");
	} else {
		const char *src = m->kind == OUTPUT_KIND_SUMMARY ? "collectord:summary" :
		    m->kind == OUTPUT_KIND_ALERT ? "collectord:alert" : "collectord";
		buf_printf(b, "\"%s\",\"sourcetype\":\"_json\",", src);
	}
	if (s->index != NULL) {
		buf_puts(b, "\"index\":");
		rc = rc ? rc : output_http_body_jstr(b, s->index);
		buf_puts(b, ",");
	}
	buf_puts(b, "\"event\":");
	if (raw) {
		struct jsonw j;
		jsonw_init(&j, b);
		jsonw_string_n(&j, m->data, m->len);
		rc = rc ? rc : jsonw_finish(&j);
	} else {
		buf_append(b, m->data, m->len);	/* already a JSON object */
	}
	return rc ? rc : buf_puts(b, "}\n");
}

static int
output_http_body_bulk_one(struct output_http *s, const struct output_msg *m, struct buf *b)
{
	int rc = CD_EOK;

	if (s->index != NULL) {
		buf_puts(b, "{\"create\":{\"_index\":");
		rc = output_http_body_jstr(b, s->index);
		buf_puts(b, "}}\n");
	} else {
		buf_puts(b, "{\"create\":{}}\n");
	}
	buf_append(b, m->data, m->len);
	return rc ? rc : buf_puts(b, "\n");
}

/*
 * Build the body from msgs[0..n): as many as fit in batch_bytes, at least
 * one. *count gets how many went in.
 */
int
output_http_body_build(struct output_http *s, const struct output_msg *msgs, size_t n,
    size_t *count)
{
	size_t k;
	int rc = CD_EOK;

	buf_reset(&s->body);
	for (k = 0; k < n; k++) {
		size_t before = s->body.len;
		rc = s->mode == OUTPUT_HTTP_HEC ?
		    output_http_body_hec_one(s, &msgs[k], &s->body) :
		    output_http_body_bulk_one(s, &msgs[k], &s->body);
		if (rc != CD_EOK)
			return rc;
		if (k > 0 && s->body.len > s->batch_bytes) {
			s->body.len = before;
			s->body.data[before] = '\0';
			break;
		}
	}
	*count = k;
	return CD_EOK;
}

int
output_http_body_gzip(struct output_http *s, const void **out, size_t *outlen)
{
	z_stream zs;
	int zrc;

	memset(&zs, 0, sizeof(zs));
	/* windowBits 15 + 16: a gzip wrapper (RFC 1952), as Content-Encoding gzip wants. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	size_t bound = deflateBound(&zs, s->body.len);
	if (bound > s->zcap) {
		unsigned char *p = realloc(s->zbody, bound);
		if (p == NULL) {
			deflateEnd(&zs);
			return -ENOMEM;
		}
		s->zbody = p;
		s->zcap = bound;
	}
	zs.next_in = s->body.data;
	zs.avail_in = (uInt)s->body.len;
	zs.next_out = s->zbody;
	zs.avail_out = (uInt)s->zcap;
	zrc = deflate(&zs, Z_FINISH);
	*out = s->zbody;
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return zrc == Z_STREAM_END ? CD_EOK : -ENOMEM;
}

void
output_http_body_reject(struct output_http *s, const struct output_msg *m, long status,
    const char *why)
{
	log_err("output", "output=%s rejected permanently (HTTP %ld: %s): "
	    "seq %" PRIu64 " skipped", s->name, status, why, m->seq);
}

/*
 * Read a HEC error reply. Returns true with *bad set when the reply names
 * an invalid event (a data error: the record itself is at fault).
 */
bool
output_http_body_hec_bad_event(struct output_http *s, long status, size_t *bad,
    char *why, size_t whylen)
{
	json_t *root, *v;
	bool found = false;

	snprintf(why, whylen, "%.200s", s->resp.data ? (char *)s->resp.data : "");
	if (status != 400 || s->resp.data == NULL)
		return false;
	root = json_loadb((const char *)s->resp.data, s->resp.len, 0, NULL);
	if (root == NULL)
		return false;
	v = json_object_get(root, "invalid-event-number");
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*bad = (size_t)json_integer_value(v);
		found = true;
	}
	json_decref(root);
	return found;
}

/*
 * Read a _bulk reply for k documents. *ok gets the leading run of items
 * that are done (created, already there, or rejected for good: those are
 * logged and *rejected is set). CD_EPARSE when the reply is not a bulk
 * reply.
 */
int
output_http_body_bulk_items(struct output_http *s, const struct output_msg *msgs, size_t k,
    size_t *ok, bool *rejected)
{
	json_t *root, *items;
	int rc = CD_EPARSE;

	*ok = 0;
	root = json_loadb((const char *)s->resp.data, s->resp.len, 0, NULL);
	if (root == NULL)
		return CD_EPARSE;
	if (json_is_false(json_object_get(root, "errors"))) {
		*ok = k;
		rc = CD_EOK;
		goto out;
	}
	items = json_object_get(root, "items");
	if (!json_is_array(items) || json_array_size(items) != k)
		goto out;
	for (size_t i = 0; i < k; i++) {
		json_t *it = json_array_get(items, i);
		const char *key;
		json_t *res = NULL;
		json_int_t st;

		if (!json_is_object(it) || json_object_size(it) != 1)
			goto out;
		json_object_foreach(it, key, res)
			break;
		if (!json_is_integer(json_object_get(res, "status")))
			goto out;
		st = json_integer_value(json_object_get(res, "status"));
		/* 409 on create: the document is already there (an earlier try). */
		if ((st >= 200 && st < 300) || st == 409) {
			(*ok)++;
			continue;
		}
		if (st == 400) {
			json_t *e = json_object_get(res, "error");
			const char *type = json_string_value(json_object_get(e, "type"));
			const char *reason = json_string_value(json_object_get(e, "reason"));
			char why[300];
			snprintf(why, sizeof(why), "%s: %.200s", type ? type : "error",
			    reason ? reason : "");
			output_http_body_reject(s, &msgs[i], (long)st, why);
			*rejected = true;
			(*ok)++;
			continue;
		}
		output_http_fail(s, "bulk item %zu (seq %" PRIu64 ") failed with status %"
		    JSON_INTEGER_FORMAT, i, msgs[i].seq, st);
		break;
	}
	rc = CD_EOK;
out:
	json_decref(root);
	return rc;
}
