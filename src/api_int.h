/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared between the API's files (api.c: router and index endpoints;
 * api_stats.c: stats, metrics, health and subscriptions). Not for other
 * modules.
 */
#ifndef CD_API_INT_H
#define CD_API_INT_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"

struct jsonw;

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

#endif
