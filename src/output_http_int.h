/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared between the http output's two files: output_http.c (settings,
 * libcurl, the send loop) and output_http_body.c (request bodies and the
 * reading of replies). Not for other modules.
 */
#ifndef CD_OUTPUT_HTTP_INT_H
#define CD_OUTPUT_HTTP_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "output.h"

#define HTTP_TIMEOUT_DEFAULT	30
#define HTTP_BATCH_BYTES_DEFAULT (1024 * 1024)
#define HTTP_BATCH_BYTES_MIN	1024
#define HTTP_BATCH_BYTES_MAX	(256 * 1024 * 1024)
/* A _bulk reply is about 200 bytes per item; this is far above any batch. */
#define HTTP_RESPONSE_MAX	(64 * 1024 * 1024)

enum output_http_mode {
	OUTPUT_HTTP_HEC,
	OUTPUT_HTTP_ELASTIC,
};

struct output_http {
	char			*name;
	char			*url;
	enum output_http_mode	 mode;
	char			*index;
	struct curl_slist	*headers;	/* configured and fixed headers */
	bool			 gzip;
	char			*ca_file;
	bool			 insecure;
	long			 timeout_s;
	size_t			 batch_bytes;
	CURL			*curl;		/* kept between sends for keep-alive */
	struct buf		 body;
	struct buf		 resp;
	unsigned char		*zbody;
	size_t			 zcap;
	bool			 failing;
	char			 errbuf[CURL_ERROR_SIZE];
};

/** Log a destination failure: warning on the first, debug while failing. */
void output_http_fail(struct output_http *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * Build s->body from msgs[0..n): HEC envelopes or _bulk action and
 * document lines, as many as fit in s->batch_bytes (at least one).
 * *count gets how many went in. CD_EOK, -ENOMEM, or the JSON writer's error.
 */
int output_http_body_build(struct output_http *s, const struct output_msg *msgs,
    size_t n, size_t *count);

/**
 * gzip s->body into s->zbody (grown as needed); *out and *outlen point
 * into it, valid until the next call. CD_EOK or -ENOMEM.
 */
int output_http_body_gzip(struct output_http *s, const void **out, size_t *outlen);

/** Log that the destination refused m for good (it is passed over). */
void output_http_body_reject(struct output_http *s, const struct output_msg *m,
    long status, const char *why);

/**
 * Read a HEC error reply in s->resp: true, with *bad, when it names an
 * invalid event (HTTP 400 with "invalid-event-number"). why gets the
 * reply text for the log.
 */
bool output_http_body_hec_bad_event(struct output_http *s, long status, size_t *bad,
    char *why, size_t whylen);

/**
 * Read the _bulk reply in s->resp for msgs[0..k): *ok gets the leading
 * run of items that are done (created, already there with 409, or
 * rejected for good with 400: those are logged with their seq and set
 * *rejected). CD_EOK, or CD_EPARSE when the reply is not a bulk reply.
 */
int output_http_body_bulk_items(struct output_http *s, const struct output_msg *msgs,
    size_t k, size_t *ok, bool *rejected);

#endif
