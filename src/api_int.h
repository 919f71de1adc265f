/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared between the API's files (api.c: router, parameters, errors;
 * api_index.c: the index endpoints; api_stats.c: stats, metrics, health and
 * subscriptions). Not for other modules.
 */
#ifndef CD_API_INT_H
#define CD_API_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "index.h"

struct jsonw;
struct store_txn;

#define API_CTYPE_JSON		"application/json; charset=utf-8"
/* Prometheus text exposition format 0.0.4. */
#define API_CTYPE_METRICS	"text/plain; version=0.0.4; charset=utf-8"

/** Replace the body with {"error": reason} and set the status. */
void api_error(struct api_response *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Finish the JSON document written into r->body: 200, or 500 when the
 * writer failed (nesting mistake, body cap). */
void api_send_json(struct api_response *r, struct jsonw *j);

/**
 * Encode cursor bytes as unpadded base64url (RFC 4648 section 5) into out
 * (outlen bytes, terminator included). CD_EOK or CD_ETOOBIG.
 */
int api_cursor_encode(const uint8_t *p, size_t n, char *out, size_t outlen);

/**
 * Decode a cursor written by api_cursor_encode() into out (outmax bytes).
 * CD_EOK and *outlen, or -EINVAL for anything else.
 */
int api_cursor_decode(const char *s, uint8_t *out, size_t outmax, size_t *outlen);

/** GET /api/v1/subscriptions. */
void api_subscriptions(const struct api_ctx *ctx, struct api_response *r);
/** GET /api/v1/stats. */
void api_stats_json(const struct api_ctx *ctx, struct api_response *r);
/** GET /metrics (Prometheus text). */
void api_metrics(const struct api_ctx *ctx, struct api_response *r);
/** GET /healthz. */
void api_healthz(const struct api_ctx *ctx, struct api_response *r);

/* Query parameters a list endpoint may accept (a bit mask per route). */
enum {
	P_LIMIT = 1 << 0,
	P_CURSOR = 1 << 1,
	P_AFTER = 1 << 2,
	P_BEFORE = 1 << 3,
	P_SUFFIX = 1 << 4,
	P_MAXHOSTS = 1 << 5,
};

/* The parsed and validated parameters of one request. */
struct api_params {
	size_t	 limit;
	uint8_t	 cursor[INDEX_CURSOR_MAX];
	size_t	 cursor_len;
	struct index_filter filter;
	char	 suffix[DNS_NAME_MAX];
};

/* Largest base64url text of an INDEX_CURSOR_MAX cursor. */
#define API_CURSOR_TEXT_MAX	((INDEX_CURSOR_MAX + 2) / 3 * 4)

/** The signature of a route handler; seg holds the path's '*' segments. */
typedef void api_handler(const struct api_ctx *ctx,
    const struct api_request *req, struct api_response *r, char **seg);

/* api_index.c */
api_handler api_get_domains, api_get_domain_only, api_get_domain_hosts,
    api_get_regdom, api_get_hosts, api_get_host_domains, api_get_ip;

/**
 * Check the query arguments against the parameters the route accepts
 * (P_* bits) and parse them into *p. False after writing a 400.
 */
bool api_params_parse(const struct api_ctx *ctx, const struct api_request *req,
    unsigned allowed, struct api_params *p, struct api_response *r);
/** False after a 400 when the request has any query argument. */
bool api_no_params(const struct api_request *req, struct api_response *r);
/** Write "next_cursor": the base64url cursor, or null at the end (n 0). */
void api_next_cursor(struct jsonw *j, const uint8_t *c, size_t n);
/** Map an index/registry error to 404 ("<what> not found"), 400 or 500. */
void api_store_error(struct api_response *r, int rc, const char *what);
/** Begin a read transaction, or answer 503/500 and return NULL. */
struct store_txn *api_read_begin(const struct api_ctx *ctx, struct api_response *r);
/** Normalise a domain name from the path; false after a 400. */
bool api_path_domain(const char *seg, char out[DNS_NAME_MAX], struct api_response *r);

#endif
