/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The REST API's front: routing, authentication, query parameters, cursors
 * and error bodies. The index endpoints are in api_index.c, stats, metrics
 * and health in api_stats.c.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "api.h"
#include "api_int.h"
#include "dns.h"
#include "err.h"
#include "index.h"
#include "json.h"
#include "log.h"
#include "store.h"
#include "timeparse.h"

static const struct {
	const char	*name;
	unsigned	 bit;
} api_param_names[] = {
	{ "limit", P_LIMIT },
	{ "cursor", P_CURSOR },
	{ "first_seen_after", P_AFTER },
	{ "first_seen_before", P_BEFORE },
	{ "suffix", P_SUFFIX },
	{ "max_hosts", P_MAXHOSTS },
};


void
api_response_init(struct api_response *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 500;
	buf_init(&r->body, API_BODY_MAX);
	r->content_type = API_CTYPE_JSON;
}

void
api_response_free(struct api_response *r)
{
	buf_free(&r->body);
}

void
api_error(struct api_response *r, int status, const char *fmt, ...)
{
	char reason[512];
	struct jsonw j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	buf_reset(&r->body);
	r->status = status;
	r->content_type = API_CTYPE_JSON;
	jsonw_init(&j, &r->body);
	jsonw_object_begin(&j);
	jsonw_kstring(&j, "error", reason);
	jsonw_object_end(&j);
	if (jsonw_finish(&j) != CD_EOK)
		buf_reset(&r->body);
	else
		buf_puts(&r->body, "\n");
}

void
api_send_json(struct api_response *r, struct jsonw *j)
{
	int rc = jsonw_finish(j);

	if (rc != CD_EOK) {
		log_err("api", "response not written: %s", cd_strerror(rc));
		api_error(r, 500, "response not written: %s", cd_strerror(rc));
		return;
	}
	buf_puts(&r->body, "\n");
	r->status = 200;
	r->content_type = API_CTYPE_JSON;
}

/* A failure of the index or registry read: 404, 400 or 500 as it says. */
void
api_store_error(struct api_response *r, int rc, const char *what)
{
	if (rc == CD_ENOTFOUND)
		api_error(r, 404, "%s not found", what);
	else if (rc == -EINVAL)
		api_error(r, 400, "invalid cursor");
	else if (rc == CD_EPARSE)
		api_error(r, 400, "invalid %s", what);
	else {
		log_err("api", "%s: %s", what, cd_strerror(rc));
		api_error(r, 500, "store: %s", cd_strerror(rc));
	}
}

int
api_cursor_encode(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	size_t len = (n + 2) / 3 * 4;

	if (outlen < len + 1)
		return CD_ETOOBIG;
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	/* base64url (RFC 4648 section 5), unpadded: safe in a query string. */
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	return CD_EOK;
}

int
api_cursor_decode(const char *s, uint8_t *out, size_t outmax, size_t *outlen)
{
	char tmp[API_CURSOR_TEXT_MAX + 4];
	unsigned char dec[sizeof(tmp)];
	size_t n = strlen(s), pad;
	int len;

	if (n == 0 || n % 4 == 1 || n > API_CURSOR_TEXT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!isalnum((unsigned char)c))
			return -EINVAL;
		tmp[i] = c;
	}
	pad = (4 - n % 4) % 4;
	memset(tmp + n, '=', pad);
	len = EVP_DecodeBlock(dec, (unsigned char *)tmp, (int)(n + pad));
	if (len < 0 || (size_t)len < pad || (size_t)len - pad > outmax)
		return -EINVAL;
	*outlen = (size_t)len - pad;
	memcpy(out, dec, *outlen);
	return CD_EOK;
}

/* Strictly decimal, no sign, no spaces, no overflow. */
static bool
api_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

/*
 * Check the query arguments against what the route accepts and parse them.
 * Returns false after writing a 400: an unknown or repeated parameter is an
 * error rather than ignored, so a typo never silently widens a hunt.
 */
bool
api_params_parse(const struct api_ctx *ctx, const struct api_request *req,
    unsigned allowed, struct api_params *p, struct api_response *r)
{
	int64_t now = ctx->now_ms != 0 ? ctx->now_ms : timeparse_now_ms();
	unsigned seen = 0;
	uint64_t v;

	memset(p, 0, sizeof(*p));
	p->limit = INDEX_LIMIT_DEFAULT;
	for (size_t i = 0; i < req->nargs; i++) {
		const char *key = req->args[i].key, *val = req->args[i].value;
		unsigned bit = 0;

		for (size_t k = 0; k < sizeof(api_param_names) /
		    sizeof(api_param_names[0]); k++)
			if (strcmp(key, api_param_names[k].name) == 0)
				bit = api_param_names[k].bit;
		if ((bit & allowed) == 0) {
			api_error(r, 400, "unknown parameter: %s", key);
			return false;
		}
		if (seen & bit) {
			api_error(r, 400, "parameter given twice: %s", key);
			return false;
		}
		seen |= bit;
		switch (bit) {
		case P_LIMIT:
			if (!api_parse_u64(val, &v) || v < 1 || v > INDEX_LIMIT_MAX) {
				api_error(r, 400, "limit must be 1..%d", INDEX_LIMIT_MAX);
				return false;
			}
			p->limit = (size_t)v;
			break;
		case P_CURSOR:
			if (api_cursor_decode(val, p->cursor, sizeof(p->cursor),
			    &p->cursor_len) != CD_EOK) {
				api_error(r, 400, "invalid cursor");
				return false;
			}
			break;
		case P_AFTER:
		case P_BEFORE:
			if (timeparse(val, now, bit == P_AFTER ?
			    &p->filter.first_seen_after :
			    &p->filter.first_seen_before) != CD_EOK) {
				api_error(r, 400, "%s: not an RFC 3339 time or an "
				    "age such as 30m, 24h, 7d", key);
				return false;
			}
			if (bit == P_AFTER)
				p->filter.has_after = true;
			else
				p->filter.has_before = true;
			break;
		case P_SUFFIX:
			if (dns_name_normalise(val, p->suffix) != CD_EOK) {
				api_error(r, 400, "suffix: not a domain name");
				return false;
			}
			p->filter.suffix = p->suffix;
			break;
		case P_MAXHOSTS:
			if (!api_parse_u64(val, &v) || v < 1) {
				api_error(r, 400, "max_hosts must be a number >= 1");
				return false;
			}
			p->filter.max_hosts = v;
			break;
		}
	}
	return true;
}

bool
api_no_params(const struct api_request *req, struct api_response *r)
{
	if (req->nargs > 0) {
		api_error(r, 400, "unknown parameter: %s", req->args[0].key);
		return false;
	}
	return true;
}

void
api_next_cursor(struct jsonw *j, const uint8_t *c, size_t n)
{
	char text[API_CURSOR_TEXT_MAX + 1];

	jsonw_key(j, "next_cursor");
	if (n == 0 || api_cursor_encode(c, n, text, sizeof(text)) != CD_EOK)
		jsonw_null(j);
	else
		jsonw_string(j, text);
}
struct store_txn *
api_read_begin(const struct api_ctx *ctx, struct api_response *r)
{
	struct store_txn *txn = NULL;
	int rc;

	if (ctx->store == NULL) {
		api_error(r, 503, "store not available");
		return NULL;
	}
	if ((rc = store_read_begin(ctx->store, &txn)) != CD_EOK) {
		log_err("api", "read transaction: %s", cd_strerror(rc));
		api_error(r, 500, "store: %s", cd_strerror(rc));
		return NULL;
	}
	return txn;
}

/* A domain name from the path, normalised; false after a 400. */
bool
api_path_domain(const char *seg, char out[DNS_NAME_MAX], struct api_response *r)
{
	if (dns_name_normalise(seg, out) != CD_EOK) {
		api_error(r, 400, "not a domain name");
		return false;
	}
	return true;
}

static void
api_get_subscriptions(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, char **seg)
{
	(void)seg;
	if (api_no_params(req, r))
		api_subscriptions(ctx, r);
}

static void
api_get_stats(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, char **seg)
{
	(void)seg;
	if (api_no_params(req, r))
		api_stats_json(ctx, r);
}

static void
api_get_metrics(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, char **seg)
{
	(void)seg;
	(void)req;	/* Prometheus may add its own parameters */
	api_metrics(ctx, r);
}

static void
api_get_healthz(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, char **seg)
{
	(void)seg;
	(void)req;
	api_healthz(ctx, r);
}

#define API_SEGS_MAX	6

/* Path patterns: segments separated by '/', '*' matches one non-empty
 * segment and is passed to the handler. */
static const struct api_route {
	const char	*pattern;
	void		(*fn)(const struct api_ctx *, const struct api_request *,
			    struct api_response *, char **);
} api_routes[] = {
	{ "api/v1/domains", api_get_domains },
	{ "api/v1/domains/*", api_get_domain_only },
	{ "api/v1/domains/*/hosts", api_get_domain_hosts },
	{ "api/v1/registered_domains/*", api_get_regdom },
	{ "api/v1/hosts", api_get_hosts },
	{ "api/v1/hosts/*/domains", api_get_host_domains },
	{ "api/v1/ips/*", api_get_ip },
	{ "api/v1/subscriptions", api_get_subscriptions },
	{ "api/v1/stats", api_get_stats },
	{ "metrics", api_get_metrics },
	{ "healthz", api_get_healthz },
};

/* Split a copy of the path into segments; false when there are too many
 * or one is empty ("//"). */
static bool
api_split(char *path, char **segs, size_t *n)
{
	char *s = path;

	*n = 0;
	while (*s == '/')
		s++;
	if (*s == '\0')
		return true;
	for (;;) {
		char *e = strchr(s, '/');

		if (*n == API_SEGS_MAX || *s == '/' || *s == '\0')
			return false;
		segs[(*n)++] = s;
		if (e == NULL)
			return true;
		*e = '\0';
		s = e + 1;
		if (*s == '\0')
			return true;	/* one trailing slash is harmless */
	}
}

static const struct api_route *
api_match(char **segs, size_t n, char **caps)
{
	for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
		const char *p = api_routes[i].pattern;
		size_t k = 0, ncap = 0;

		while (k < n && *p != '\0') {
			size_t len = strcspn(p, "/");

			if (len == 1 && *p == '*')
				caps[ncap++] = segs[k];
			else if (strlen(segs[k]) != len ||
			    strncmp(segs[k], p, len) != 0)
				break;
			k++;
			p += len;
			if (*p == '/')
				p++;
		}
		if (k == n && *p == '\0')
			return &api_routes[i];
	}
	return NULL;
}

void
api_handle(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *resp)
{
	char path[2048], *segs[API_SEGS_MAX], *caps[API_SEGS_MAX];
	const struct api_route *route = NULL;
	size_t n = 0;
	bool protected;
	int rc;

	if (req->path == NULL || strlen(req->path) >= sizeof(path)) {
		api_error(resp, 404, "no such resource");
		return;
	}
	memcpy(path, req->path, strlen(req->path) + 1);
	protected = strncmp(req->path, "/api/", 5) == 0 ||
	    strcmp(req->path, "/api") == 0 || strcmp(req->path, "/metrics") == 0;
	/* Authenticate before routing, so an anonymous client learns nothing
	 * about which paths exist. */
	if (protected && ctx->tokens != NULL &&
	    (rc = apiauth_check(ctx->tokens, req->authorization)) != CD_EOK) {
		api_error(resp, 401, rc == -ENOENT ? "authentication required" :
		    "invalid token");
		resp->www_authenticate = rc == -ENOENT ?
		    "Bearer realm=\"collectord\"" :
		    "Bearer realm=\"collectord\", error=\"invalid_token\"";
		return;
	}
	if (api_split(path, segs, &n))
		route = api_match(segs, n, caps);
	if (route == NULL) {
		api_error(resp, 404, "no such resource");
		return;
	}
	if (req->method == NULL || (strcmp(req->method, "GET") != 0 &&
	    strcmp(req->method, "HEAD") != 0)) {
		api_error(resp, 405, "method not allowed");
		resp->allow = "GET, HEAD";
		return;
	}
	route->fn(ctx, req, resp, caps);
}
