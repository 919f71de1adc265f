/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The index endpoints of the REST API: domains, their hosts, the first_seen
 * ordered lists, hosts and the answer pivot. Each one reads in one short
 * transaction (the index and registry copy what they return), ends it, and
 * only then writes the JSON.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "api.h"
#include "api_int.h"
#include "dns.h"
#include "err.h"
#include "hosts.h"
#include "index.h"
#include "json.h"
#include "store.h"

static void
api_images(struct jsonw *j, char *const *images, size_t n)
{
	jsonw_key(j, "images");
	jsonw_array_begin(j);
	for (size_t i = 0; i < n; i++)
		jsonw_string(j, images[i]);
	jsonw_array_end(j);
}

static void
api_domain_json(struct jsonw *j, const struct index_domain *d)
{
	jsonw_object_begin(j);
	jsonw_kstring(j, "domain", d->domain);
	jsonw_kstring(j, "registered_domain", d->registered_domain);
	jsonw_ktime(j, "first_seen", d->first_seen);
	jsonw_ktime(j, "last_seen", d->last_seen);
	jsonw_kuint(j, "count", d->count);
	jsonw_kuint(j, "host_count", d->host_count);
	jsonw_kstring(j, "first_host", d->first_host);
	jsonw_kstring(j, "first_image", d->first_image);
	api_images(j, d->images, d->nimages);
	jsonw_object_end(j);
}

/* A (host, domain) aggregate; key is "host" or "domain", the other side. */
static void
api_hostdom_json(struct jsonw *j, const struct index_hostdom *h, bool by_host)
{
	jsonw_object_begin(j);
	if (by_host)
		jsonw_kstring(j, "host", h->host);
	else
		jsonw_kstring(j, "domain", h->domain);
	jsonw_ktime(j, "first_seen", h->first_seen);
	jsonw_ktime(j, "last_seen", h->last_seen);
	jsonw_kuint(j, "count", h->count);
	api_images(j, h->images, h->nimages);
	jsonw_object_end(j);
}

/*
 * End the read transaction that produced rc; when the read failed, answer
 * the error (404 naming `what` for a missing key) and return false.
 */
static bool
api_index_read_end(struct store_txn *txn, int rc, struct api_response *r,
    const char *what)
{
	store_read_end(txn);
	if (rc == CD_EOK)
		return true;
	api_store_error(r, rc, what);
	return false;
}

/* Open a list answer: { ["name": "value",] "key": [ ... */
static void
api_index_list_begin(struct jsonw *j, struct api_response *r,
    const char *name, const char *value, const char *key)
{
	jsonw_init(j, &r->body);
	jsonw_object_begin(j);
	if (name != NULL)
		jsonw_kstring(j, name, value);
	jsonw_key(j, key);
	jsonw_array_begin(j);
}

/* ... ], "next_cursor": the next page or null } and send it. */
static void
api_index_list_end(struct jsonw *j, struct api_response *r,
    const uint8_t *cursor, size_t cursor_len)
{
	jsonw_array_end(j);
	api_next_cursor(j, cursor, cursor_len);
	jsonw_object_end(j);
	api_send_json(r, j);
}

static void
api_get_domain(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, char **seg, bool regdom)
{
	char name[DNS_NAME_MAX];
	struct index_domain d = { 0 };
	struct store_txn *txn;
	struct jsonw j;
	int rc;

	if (!api_no_params(req, r) || !api_path_domain(seg[0], name, r))
		return;
	if ((txn = api_read_begin(ctx, r)) == NULL)
		return;
	rc = regdom ? index_regdom_get(txn, name, &d) :
	    index_domain_get(txn, name, &d);
	if (!api_index_read_end(txn, rc, r, "domain"))
		return;
	jsonw_init(&j, &r->body);
	api_domain_json(&j, &d);
	api_send_json(r, &j);
	index_domain_clear(&d);
}

void
api_get_domain_hosts(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, char **seg)
{
	char name[DNS_NAME_MAX];
	struct index_hostdom_list l = { 0 };
	struct api_params p;
	struct store_txn *txn;
	struct jsonw j;
	int rc;

	if (!api_params_parse(ctx, req, P_LIMIT | P_CURSOR, &p, r) ||
	    !api_path_domain(seg[0], name, r))
		return;
	if ((txn = api_read_begin(ctx, r)) == NULL)
		return;
	rc = index_domain_hosts(txn, name, p.cursor, p.cursor_len, p.limit, &l);
	if (!api_index_read_end(txn, rc, r, "domain"))
		return;
	api_index_list_begin(&j, r, "domain", name, "hosts");
	for (size_t i = 0; i < l.n; i++)
		api_hostdom_json(&j, &l.items[i], true);
	api_index_list_end(&j, r, l.next_cursor, l.next_cursor_len);
	index_hostdom_list_free(&l);
}

void
api_get_domains(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, char **seg)
{
	struct index_domain_list l = { 0 };
	struct api_params p;
	struct store_txn *txn;
	struct jsonw j;
	int rc;

	(void)seg;
	if (!api_params_parse(ctx, req, P_LIMIT | P_CURSOR | P_AFTER |
	    P_BEFORE | P_SUFFIX | P_MAXHOSTS, &p, r))
		return;
	if ((txn = api_read_begin(ctx, r)) == NULL)
		return;
	rc = index_domains_list(txn, &p.filter, p.cursor, p.cursor_len,
	    p.limit, &l);
	if (!api_index_read_end(txn, rc, r, "domain"))
		return;
	api_index_list_begin(&j, r, NULL, NULL, "domains");
	for (size_t i = 0; i < l.n; i++)
		api_domain_json(&j, &l.items[i]);
	api_index_list_end(&j, r, l.next_cursor, l.next_cursor_len);
	index_domain_list_free(&l);
}

void
api_get_hosts(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, char **seg)
{
	struct hosts_list l = { 0 };
	struct api_params p;
	struct store_txn *txn;
	struct jsonw j;
	int rc;

	(void)seg;
	if (!api_params_parse(ctx, req, P_LIMIT | P_CURSOR, &p, r))
		return;
	if ((txn = api_read_begin(ctx, r)) == NULL)
		return;
	rc = hosts_list(txn, p.cursor, p.cursor_len, p.limit, &l);
	if (!api_index_read_end(txn, rc, r, "host"))
		return;
	api_index_list_begin(&j, r, NULL, NULL, "hosts");
	for (size_t i = 0; i < l.n; i++) {
		const struct hosts_info *h = &l.items[i];

		jsonw_object_begin(&j);
		jsonw_kstring(&j, "host", h->host);
		jsonw_ktime(&j, "first_seen", h->first_seen);
		jsonw_ktime(&j, "last_seen", h->last_seen);
		if (h->last_heartbeat != 0)
			jsonw_ktime(&j, "last_heartbeat", h->last_heartbeat);
		else
			jsonw_knull(&j, "last_heartbeat");
		jsonw_kuint(&j, "events", h->events);
		jsonw_kuint(&j, "dns_queries", h->dns_queries);
		jsonw_kuint(&j, "domains", h->domains);
		jsonw_object_end(&j);
	}
	api_index_list_end(&j, r, l.next_cursor, l.next_cursor_len);
	hosts_list_free(&l);
}

void
api_get_host_domains(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, char **seg)
{
	char host[HOSTS_NAME_MAX];
	struct index_hostdom_list l = { 0 };
	struct api_params p;
	struct store_txn *txn;
	struct jsonw j;
	size_t n = strlen(seg[0]);
	int rc;

	if (!api_params_parse(ctx, req, P_LIMIT | P_CURSOR | P_AFTER | P_BEFORE,
	    &p, r))
		return;
	if (n >= sizeof(host)) {
		api_error(r, 400, "host name too long");
		return;
	}
	/* Hosts are keyed lower-cased (design.md, "Identities"). */
	for (size_t i = 0; i <= n; i++)
		host[i] = (char)tolower((unsigned char)seg[0][i]);
	if ((txn = api_read_begin(ctx, r)) == NULL)
		return;
	rc = index_host_domains(txn, host, &p.filter, p.cursor, p.cursor_len,
	    p.limit, &l);
	if (!api_index_read_end(txn, rc, r, "host"))
		return;
	api_index_list_begin(&j, r, "host", host, "domains");
	for (size_t i = 0; i < l.n; i++)
		api_hostdom_json(&j, &l.items[i], false);
	api_index_list_end(&j, r, l.next_cursor, l.next_cursor_len);
	index_hostdom_list_free(&l);
}

void
api_get_ip(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, char **seg)
{
	char text[DNS_ADDR_STRLEN];
	uint8_t addr[16];
	struct index_ip_list l = { 0 };
	struct api_params p;
	struct store_txn *txn;
	struct jsonw j;
	int family, rc;

	if (!api_params_parse(ctx, req, P_LIMIT | P_CURSOR, &p, r))
		return;
	if (dns_addr_parse(seg[0], &family, addr) != CD_EOK) {
		api_error(r, 400, "not an IP address");
		return;
	}
	dns_addr_format(family, addr, text);
	if ((txn = api_read_begin(ctx, r)) == NULL)
		return;
	rc = index_ip(txn, text, p.cursor, p.cursor_len, p.limit, &l);
	if (!api_index_read_end(txn, rc, r, "address"))
		return;
	api_index_list_begin(&j, r, "address", text, "domains");
	for (size_t i = 0; i < l.n; i++) {
		jsonw_object_begin(&j);
		jsonw_kstring(&j, "domain", l.items[i].domain);
		jsonw_ktime(&j, "first_seen", l.items[i].first_seen);
		jsonw_ktime(&j, "last_seen", l.items[i].last_seen);
		jsonw_object_end(&j);
	}
	api_index_list_end(&j, r, l.next_cursor, l.next_cursor_len);
	index_ip_list_free(&l);
}

void
api_get_domain_only(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, char **seg)
{
	api_get_domain(ctx, req, r, seg, false);
}

void
api_get_regdom(const struct api_ctx *ctx, const struct api_request *req,
    struct api_response *r, char **seg)
{
	api_get_domain(ctx, req, r, seg, true);
}
