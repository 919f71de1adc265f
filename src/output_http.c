/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The http output: batched POSTs to Splunk's HTTP Event Collector or to
 * Elasticsearch's _bulk API, through libcurl (HTTP/1.1 keep-alive, TLS with
 * OpenSSL, timeouts), bodies gzip-compressed with zlib.
 *
 * Splunk (mode hec): POST /services/collector/event with one JSON envelope
 * per record, stacked (siem-testing.md section 3). The /event endpoint is
 * used rather than /raw because each envelope carries its own source,
 * sourcetype, host and time: a batch mixing channels and hosts is one
 * request, where /raw takes them once per request as query parameters. A
 * raw-format event goes as the "event" string with sourcetype
 * XmlWinEventLog and source XmlWinEventLog:<Channel>, the pair Splunk's
 * Sysmon add-on expects (ecs-sysmon.md section 11); json/ecs records go as
 * an "event" object with sourcetype _json.
 *
 * Elasticsearch (mode elastic): POST .../_bulk, NDJSON, a {"create":...}
 * action line per document (data streams accept only create). HTTP 200
 * may still carry per-item failures, so the reply's items are read in
 * order.
 *
 * Confirmation: 2xx is confirmed, anything else is retried later. A record
 * the destination rejects permanently (HEC 400 with invalid-event-number,
 * a bulk item with status 400) would block the output forever if retried,
 * so it is logged at error level with its spool seq and passed over; send()
 * then reports an error so the output counts it. A 429 or 5xx item ends the
 * confirmed run: it and everything after it are sent again.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "output.h"
#include "output_http_int.h"
#include "output_kv.h"
#include "output_sinks.h"

static int	output_http_create(const struct conf_output *, void **, char **);
static int	output_http_send(void *, const struct output_msg *, size_t, size_t *);
static void	output_http_reopen(void *);
static void	output_http_destroy(void *);

const struct output_sink_ops output_http_ops = {
	.type = "http",
	.create = output_http_create,
	.send = output_http_send,
	.reopen = output_http_reopen,
	.destroy = output_http_destroy,
};

static pthread_once_t output_http_once = PTHREAD_ONCE_INIT;
static CURLcode output_http_global_rc;

/* libcurl's global init is not thread-safe in every build; do it once. */
static void
output_http_global_init(void)
{
	output_http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/*
 * Check the URL with libcurl's parser and complete its path: a bare
 * https://host:8088 becomes .../services/collector/event for HEC, and an
 * Elasticsearch URL without _bulk gets /_bulk appended.
 */
static int
output_http_url(struct output_http *s, const char *url, char **why)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *path = NULL, *full = NULL;
	struct buf p;
	int rc = CD_ECONFIG;

	buf_init(&p, 0);
	*why = "is not a valid URL";
	if (u == NULL)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		*why = "must be an http or https URL";
		goto out;
	}
	size_t plen = strlen(path);
	while (plen > 0 && path[plen - 1] == '/')
		plen--;
	buf_append(&p, path, plen);
	if (s->mode == OUTPUT_HTTP_HEC && plen == 0)
		buf_puts(&p, "/services/collector/event");
	else if (s->mode == OUTPUT_HTTP_ELASTIC &&
	    (plen < 5 || memcmp(path + plen - 5, "_bulk", 5) != 0))
		buf_puts(&p, "/_bulk");
	if (p.data == NULL || curl_url_set(u, CURLUPART_PATH, (char *)p.data, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK)
		goto out;
	if ((s->url = strdup(full)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = CD_EOK;
out:
	curl_free(scheme);
	curl_free(path);
	curl_free(full);
	curl_url_cleanup(u);
	buf_free(&p);
	return rc;
}

static int
output_http_header_add(struct output_http *s, const char *h)
{
	struct curl_slist *l = curl_slist_append(s->headers, h);

	if (l == NULL)
		return -ENOMEM;
	s->headers = l;
	return CD_EOK;
}

static int
output_http_create(const struct conf_output *co, void **sink, char **errmsg)
{
	struct output_http *s = calloc(1, sizeof(*s));
	const char *url = NULL, *token = NULL, *format = "json";
	unsigned url_line = 0, format_line = 0;
	struct buf errs, hdr;
	unsigned long v;
	unsigned secs;
	int rc = CD_EOK;

	*sink = NULL;
	*errmsg = NULL;
	buf_init(&errs, 0);
	buf_init(&hdr, 0);
	if (s == NULL)
		return -ENOMEM;
	pthread_once(&output_http_once, output_http_global_init);
	if (output_http_global_rc != CURLE_OK) {
		output_kv_err(&errs, co, 0, "libcurl initialisation failed");
		rc = CD_ECONFIG;
		goto fail;
	}
	s->gzip = true;
	s->timeout_s = HTTP_TIMEOUT_DEFAULT;
	s->batch_bytes = HTTP_BATCH_BYTES_DEFAULT;
	buf_init(&s->body, 0);
	buf_init(&s->resp, HTTP_RESPONSE_MAX);
	if ((s->name = strdup(co->name)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	/* The mode decides how other settings are read: find it first. */
	for (size_t i = 0; i < co->nkv; i++) {
		const struct conf_kv *kv = &co->kv[i];
		if (strcmp(kv->key, "mode") != 0)
			continue;
		if (strcmp(kv->value, "hec") == 0)
			s->mode = OUTPUT_HTTP_HEC;
		else if (strcmp(kv->value, "elastic") == 0)
			s->mode = OUTPUT_HTTP_ELASTIC;
		else {
			output_kv_err(&errs, co, kv->line, "mode must be hec or elastic");
			rc = CD_ECONFIG;
		}
	}
	for (size_t i = 0; i < co->nkv; i++) {
		const struct conf_kv *kv = &co->kv[i];
		if (strcmp(kv->key, "format") == 0) {
			format = kv->value;
			format_line = kv->line;
		}
		if (output_kv_is_common(kv->key) || strcmp(kv->key, "mode") == 0)
			continue;
		if (strcmp(kv->key, "url") == 0) {
			url = kv->value;
			url_line = kv->line;
		} else if (strcmp(kv->key, "token") == 0) {
			token = kv->value;
		} else if (strcmp(kv->key, "header") == 0) {
			const char *colon = strchr(kv->value, ':');
			if (colon == NULL || colon == kv->value ||
			    strpbrk(kv->value, "\r\n") != NULL) {
				output_kv_err(&errs, co, kv->line,
				    "header must be \"Name: value\"");
				rc = CD_ECONFIG;
			} else if (output_http_header_add(s, kv->value) != CD_EOK) {
				rc = -ENOMEM;
				goto fail;
			}
		} else if (strcmp(kv->key, "index") == 0) {
			free(s->index);
			if ((s->index = strdup(kv->value)) == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
		} else if (strcmp(kv->key, "gzip") == 0) {
			if (output_kv_bool(kv->value, &s->gzip) != CD_EOK) {
				output_kv_err(&errs, co, kv->line, "gzip must be true or false");
				rc = CD_ECONFIG;
			}
		} else if (strcmp(kv->key, "insecure") == 0) {
			if (output_kv_bool(kv->value, &s->insecure) != CD_EOK) {
				output_kv_err(&errs, co, kv->line,
				    "insecure must be true or false");
				rc = CD_ECONFIG;
			}
		} else if (strcmp(kv->key, "ca_file") == 0) {
			free(s->ca_file);
			if ((s->ca_file = strdup(kv->value)) == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
			if (access(kv->value, R_OK) != 0) {
				output_kv_err(&errs, co, kv->line, "ca_file %s: %s",
				    kv->value, strerror(errno));
				rc = CD_ECONFIG;
			}
		} else if (strcmp(kv->key, "timeout") == 0) {
			if (output_kv_seconds(kv->value, &secs) != CD_EOK) {
				output_kv_err(&errs, co, kv->line,
				    "timeout must be 1..3600 seconds");
				rc = CD_ECONFIG;
			} else
				s->timeout_s = (long)secs;
		} else if (strcmp(kv->key, "batch_bytes") == 0) {
			if (output_kv_ulong(kv->value, HTTP_BATCH_BYTES_MIN,
			    HTTP_BATCH_BYTES_MAX, &v) != CD_EOK) {
				output_kv_err(&errs, co, kv->line,
				    "batch_bytes must be %d..%d", HTTP_BATCH_BYTES_MIN,
				    HTTP_BATCH_BYTES_MAX);
				rc = CD_ECONFIG;
			} else
				s->batch_bytes = v;
		} else {
			output_kv_err(&errs, co, kv->line,
			    "unknown setting \"%s\" for an http output", kv->key);
			rc = CD_ECONFIG;
		}
	}
	if (url == NULL) {
		output_kv_err(&errs, co, 0, "url is required");
		rc = CD_ECONFIG;
	} else {
		char *why;
		int urc = output_http_url(s, url, &why);
		if (urc == -ENOMEM) {
			rc = urc;
			goto fail;
		}
		if (urc != CD_EOK) {
			output_kv_err(&errs, co, url_line, "url \"%s\" %s", url, why);
			rc = CD_ECONFIG;
		}
	}
	if (s->mode == OUTPUT_HTTP_ELASTIC && strcmp(format, "raw") == 0) {
		output_kv_err(&errs, co, format_line,
		    "mode elastic needs format json or ecs (documents are JSON)");
		rc = CD_ECONFIG;
	}
	if (s->mode == OUTPUT_HTTP_HEC && token == NULL) {
		output_kv_err(&errs, co, 0, "mode hec needs a token");
		rc = CD_ECONFIG;
	}
	if (token != NULL) {
		if (strpbrk(token, "\r\n") != NULL) {
			output_kv_err(&errs, co, 0, "token must be one line");
			rc = CD_ECONFIG;
		}
		buf_printf(&hdr, "Authorization: %s %s",
		    s->mode == OUTPUT_HTTP_HEC ? "Splunk" : "ApiKey", token);
		if (hdr.data == NULL || output_http_header_add(s, (char *)hdr.data) != CD_EOK) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	if (output_http_header_add(s, s->mode == OUTPUT_HTTP_HEC ?
	    "Content-Type: application/json" :
	    "Content-Type: application/x-ndjson") != CD_EOK ||
	    /* No 100-continue round trip: the body follows the headers at once. */
	    output_http_header_add(s, "Expect:") != CD_EOK ||
	    (s->gzip && output_http_header_add(s, "Content-Encoding: gzip") != CD_EOK)) {
		rc = -ENOMEM;
		goto fail;
	}
	if (rc != CD_EOK)
		goto fail;
	buf_free(&hdr);
	buf_free(&errs);
	*sink = s;
	return CD_EOK;
fail:
	output_kv_errs_end(rc, &errs, errmsg);
	buf_free(&hdr);
	output_http_destroy(s);
	return rc;
}

static void
output_http_destroy(void *arg)
{
	struct output_http *s = arg;

	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	curl_slist_free_all(s->headers);
	buf_free(&s->body);
	buf_free(&s->resp);
	free(s->zbody);
	free(s->name);
	free(s->url);
	free(s->index);
	free(s->ca_file);
	free(s);
}

static void
output_http_reopen(void *arg)
{
	struct output_http *s = arg;

	/* A new handle means a new connection (and a fresh DNS lookup). */
	if (s->curl != NULL) {
		curl_easy_cleanup(s->curl);
		s->curl = NULL;
	}
}

/* Log a destination failure once per state change. */
void
output_http_fail(struct output_http *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!s->failing)
		log_warn("output", "output=%s url=%s: %s", s->name, s->url, msg);
	else
		log_debug("output", "output=%s url=%s: %s", s->name, s->url, msg);
	s->failing = true;
}

static size_t
output_http_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;

	if (buf_append(b, ptr, size * nmemb) != CD_EOK)
		return 0;	/* makes curl fail with CURLE_WRITE_ERROR */
	return size * nmemb;
}

static int
output_http_handle(struct output_http *s)
{
	CURL *c;

	if (s->curl != NULL)
		return CD_EOK;
	if ((c = curl_easy_init()) == NULL)
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, s->timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, s->timeout_s < 10 ? s->timeout_s : 10L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, output_http_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s->resp);
	if (s->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
	if (s->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	s->curl = c;
	return CD_EOK;
}

/* POST the body; *status gets the HTTP status (0 on a transport failure). */
static int
output_http_post(struct output_http *s, long *status)
{
	const void *data = s->body.data;
	size_t len = s->body.len;
	CURLcode cc;
	int rc;

	*status = 0;
	if ((rc = output_http_handle(s)) != CD_EOK)
		return rc;
	if (s->gzip && (rc = output_http_body_gzip(s, &data, &len)) != CD_EOK)
		return rc;
	buf_reset(&s->resp);
	s->errbuf[0] = '\0';
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	cc = curl_easy_perform(s->curl);
	if (cc != CURLE_OK) {
		output_http_fail(s, "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc));
		return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, status);
	return CD_EOK;
}

static int
output_http_send(void *arg, const struct output_msg *msgs, size_t n, size_t *delivered)
{
	struct output_http *s = arg;
	size_t done = 0, limit = n;
	bool rejected = false;
	int rc = CD_EOK;

	while (done < n) {
		size_t k, ok = 0;
		long status;

		rc = output_http_body_build(s, msgs + done, limit < n - done ? limit : n - done, &k);
		if (rc != CD_EOK)
			break;
		limit = n;
		if ((rc = output_http_post(s, &status)) != CD_EOK)
			break;
		if (status < 200 || status > 299) {
			char why[256];
			size_t bad;
			if (s->mode == OUTPUT_HTTP_HEC &&
			    output_http_body_hec_bad_event(s, status, &bad, why, sizeof(why)) &&
			    bad < k) {
				if (bad > 0) {
					/* Send the good ones before it again, alone. */
					limit = bad;
					continue;
				}
				output_http_body_reject(s, &msgs[done], status, why);
				rejected = true;
				done++;
				continue;
			}
			output_http_fail(s, "HTTP %ld: %s", status, why);
			rc = status == 429 || status == 503 ? CD_EBUSY : -EIO;
			break;
		}
		if (s->mode == OUTPUT_HTTP_ELASTIC) {
			if (output_http_body_bulk_items(s, msgs + done, k, &ok, &rejected) != CD_EOK) {
				output_http_fail(s, "HTTP %ld with a reply that is not a bulk "
				    "reply", status);
				rc = CD_EPARSE;
				break;
			}
			done += ok;
			if (ok < k) {
				rc = CD_EBUSY;
				break;
			}
		} else {
			done += k;
		}
		if (s->failing)
			log_info("output", "output=%s url=%s: delivering again", s->name, s->url);
		s->failing = false;
	}
	*delivered = done;
	if (rc == CD_EOK && rejected)
		rc = CD_EPARSE;
	return rc;
}
