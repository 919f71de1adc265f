/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "buf.h"
#include "conf.h"
#include "err.h"

enum conf_type {
	CONF_T_STR,	/* char *, replaced */
	CONF_T_STRV,	/* struct conf_strv, the file's list replaces the default */
	CONF_T_U32,
	CONF_T_U64,
	CONF_T_BOOL,
	CONF_T_AUTH,
	CONF_T_LOGLEVEL,
	CONF_T_LISTEN,	/* struct conf_strv of "[ADDR:]PORT", port checked */
};

/* One row per setting: the element path in the file and where it lands.
 * Group elements (limits, store, ...) are walked by prefix. */
static const struct conf_item {
	const char	*path;
	enum conf_type	 type;
	size_t		 off;
} conf_items[] = {
	{ "listen", CONF_T_LISTEN, offsetof(struct cd_conf, listen) },
	{ "tls-listen", CONF_T_LISTEN, offsetof(struct cd_conf, tls_listen) },
	{ "api-listen", CONF_T_LISTEN, offsetof(struct cd_conf, api_listen) },
	{ "data-dir", CONF_T_STR, offsetof(struct cd_conf, data_dir) },
	{ "subscriptions", CONF_T_STR, offsetof(struct cd_conf, subscriptions_dir) },
	{ "auth", CONF_T_AUTH, offsetof(struct cd_conf, auth) },
	{ "keytab", CONF_T_STR, offsetof(struct cd_conf, keytab) },
	{ "tls-cert", CONF_T_STR, offsetof(struct cd_conf, tls_cert) },
	{ "tls-key", CONF_T_STR, offsetof(struct cd_conf, tls_key) },
	{ "tls-ca", CONF_T_STRV, offsetof(struct cd_conf, tls_ca) },
	{ "advertise", CONF_T_STR, offsetof(struct cd_conf, advertise) },
	{ "log-level", CONF_T_LOGLEVEL, offsetof(struct cd_conf, log_level) },
	{ "user", CONF_T_STR, offsetof(struct cd_conf, user) },
	{ "allow-root", CONF_T_BOOL, offsetof(struct cd_conf, allow_root) },
	{ "limits/max-body-bytes", CONF_T_U64, offsetof(struct cd_conf, limits.max_body_bytes) },
	{ "limits/max-decompressed-bytes", CONF_T_U64, offsetof(struct cd_conf, limits.max_decompressed_bytes) },
	{ "limits/max-events-per-batch", CONF_T_U32, offsetof(struct cd_conf, limits.max_events_per_batch) },
	{ "limits/max-xml-depth", CONF_T_U32, offsetof(struct cd_conf, limits.max_xml_depth) },
	{ "limits/max-xml-nodes", CONF_T_U32, offsetof(struct cd_conf, limits.max_xml_nodes) },
	{ "limits/max-connections", CONF_T_U32, offsetof(struct cd_conf, limits.max_connections) },
	{ "limits/max-connections-per-ip", CONF_T_U32, offsetof(struct cd_conf, limits.max_connections_per_ip) },
	{ "limits/connection-timeout", CONF_T_U32, offsetof(struct cd_conf, limits.connection_timeout_s) },
	{ "limits/max-header-bytes", CONF_T_U32, offsetof(struct cd_conf, limits.max_header_bytes) },
	{ "limits/request-timeout", CONF_T_U32, offsetof(struct cd_conf, limits.request_timeout_s) },
	{ "store/map-max-bytes", CONF_T_U64, offsetof(struct cd_conf, store.map_max_bytes) },
	{ "store/nosync", CONF_T_BOOL, offsetof(struct cd_conf, store.nosync) },
	{ "store/spool-max-entries", CONF_T_U64, offsetof(struct cd_conf, store.spool_max_entries) },
	{ "store/index-pending-max", CONF_T_U64, offsetof(struct cd_conf, store.index_pending_max) },
	{ "dns/dedup-window", CONF_T_U32, offsetof(struct cd_conf, dns.dedup_window_s) },
	{ "dns/dedup-key/field", CONF_T_STRV, offsetof(struct cd_conf, dns.dedup_key) },
	{ "dns/dedup-max-entries", CONF_T_U64, offsetof(struct cd_conf, dns.dedup_max_entries) },
	{ "dns/retention-days", CONF_T_U32, offsetof(struct cd_conf, dns.retention_days) },
	{ "dns/alert-registered-domain", CONF_T_BOOL, offsetof(struct cd_conf, dns.alert_registered_domain) },
	{ "api/tokens-file", CONF_T_STR, offsetof(struct cd_conf, api.tokens_file) },
	{ "relays/relay", CONF_T_STRV, offsetof(struct cd_conf, relays) },
};
#define CONF_NITEMS	(sizeof(conf_items) / sizeof(conf_items[0]))

/* Where a load is: the file, the errors so far and which settings were seen. */
struct conf_parse {
	struct cd_conf	*conf;
	const char	*file;
	struct buf	*errs;
	long		 seen[CONF_NITEMS];	/* line of the first occurrence */
};

static int conf_walk(struct conf_parse *, xmlNode *, const char *);
static int conf_set_item(struct conf_parse *, size_t, xmlNode *);
static int conf_parse_outputs(struct conf_parse *, xmlNode *);

int
conf_strv_add(struct conf_strv *sv, const char *s)
{
	char **v, *copy;

	if ((copy = strdup(s)) == NULL)
		return -ENOMEM;
	if ((v = realloc(sv->v, (sv->n + 1) * sizeof(*v))) == NULL) {
		free(copy);
		return -ENOMEM;
	}
	v[sv->n++] = copy;
	sv->v = v;
	return CD_EOK;
}

void
conf_strv_clear(struct conf_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

int
conf_set_str(char **field, const char *s)
{
	char *copy = NULL;

	if (s != NULL && (copy = strdup(s)) == NULL)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return CD_EOK;
}

bool
conf_auth_parse(const char *s, enum conf_auth *out)
{
	static const char *const names[] = { "kerberos", "tls", "none" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum conf_auth)i;
			return true;
		}
	}
	return false;
}

const char *
conf_auth_name(enum conf_auth auth)
{
	switch (auth) {
	case CONF_AUTH_KERBEROS:	return "kerberos";
	case CONF_AUTH_TLS:		return "tls";
	case CONF_AUTH_NONE:		return "none";
	}
	return "unknown";
}

int
conf_parse_hostport(const char *s, char **host, unsigned *port)
{
	const char *h = NULL, *p = NULL, *colon;
	size_t hlen = 0;

	*host = NULL;
	*port = 0;
	if (s == NULL || *s == '\0')
		return CD_ECONFIG;
	if (strspn(s, "0123456789") == strlen(s)) {
		p = s;
	} else if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (end == NULL || end == s + 1)
			return CD_ECONFIG;
		h = s + 1;
		hlen = (size_t)(end - h);
		if (end[1] == ':')
			p = end + 2;
		else if (end[1] != '\0')
			return CD_ECONFIG;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		h = s;
		hlen = (size_t)(colon - s);
		p = colon + 1;
	} else {
		/* A bare name, or a bare IPv6 address (several colons). */
		h = s;
		hlen = strlen(s);
	}
	if (p != NULL) {
		char *end;
		unsigned long v;

		if (*p < '0' || *p > '9')
			return CD_ECONFIG;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (*end != '\0' || errno != 0 || v < 1 || v > 65535)
			return CD_ECONFIG;
		*port = (unsigned)v;
	}
	if (h != NULL && hlen > 0) {
		if (strcspn(h, " \t\r\n/[]") < hlen)
			return CD_ECONFIG;
		if ((*host = strndup(h, hlen)) == NULL)
			return -ENOMEM;
	}
	return CD_EOK;
}

int
conf_defaults(struct cd_conf **out)
{
	static const char *const dedup[] = {
		"host", "image", "query_name", "query_status",
	};
	struct cd_conf *c;
	int rc = -ENOMEM;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	if (conf_strv_add(&c->listen, "5985") != CD_EOK ||
	    conf_strv_add(&c->api_listen, "127.0.0.1:8080") != CD_EOK ||
	    (c->data_dir = strdup(LOCALSTATEDIR "/lib/collectord")) == NULL ||
	    (c->subscriptions_dir =
	    strdup(SYSCONFDIR "/collectord/subscriptions.d")) == NULL)
		goto fail;
	for (size_t i = 0; i < sizeof(dedup) / sizeof(dedup[0]); i++)
		if (conf_strv_add(&c->dns.dedup_key, dedup[i]) != CD_EOK)
			goto fail;
	c->auth = CONF_AUTH_KERBEROS;
	c->log_level = LOG_LEVEL_INFO;
	c->allow_root = false;
	c->limits.max_body_bytes = 2u * 1024 * 1024;
	c->limits.max_decompressed_bytes = 16u * 1024 * 1024;
	c->limits.max_events_per_batch = 10000;
	c->limits.max_xml_depth = 64;
	/* soap.h's SOAP_DEFAULT_MAX_NODES: a 16 MiB envelope of real events
	 * holds well under a million nodes. */
	c->limits.max_xml_nodes = 4000000;
	c->limits.max_connections = 10000;
	c->limits.max_connections_per_ip = 64;
	c->limits.connection_timeout_s = 300;
	/* libmicrohttpd (0.9.75) zero-fills each connection's whole pool, so
	 * this is the resident cost of every kept-alive host: 128 KiB made 1,000
	 * idle hosts cost 130 MB, 32 KiB costs 35 MB (BENCHMARKS.md). Windows'
	 * own collector (HTTP.sys) accepts 16384 bytes of request line and
	 * headers by default (MaxRequestBytes, MaxFieldLength; Microsoft KB
	 * 820129), so 32 KiB takes any Kerberos token a default WEC takes.
	 * Sites whose tokens approach MaxTokenSize (48000 bytes, 64000 in
	 * base64) raise it, as they would raise HTTP.sys's limits. */
	c->limits.max_header_bytes = 32768;
	c->limits.request_timeout_s = 120;
	c->store.map_max_bytes = (uint64_t)64 << 30;
	c->store.nosync = false;
	c->store.spool_max_entries = 10000000;
	c->store.index_pending_max = 100000;	/* INDEXER_PENDING_MAX */
	c->dns.dedup_window_s = 900;
	c->dns.dedup_max_entries = 1000000;
	c->dns.retention_days = 0;
	c->dns.alert_registered_domain = false;
	*out = c;
	return CD_EOK;
fail:
	conf_free(c);
	return rc;
}

void
conf_free(struct cd_conf *c)
{
	if (c == NULL)
		return;
	free(c->path);
	conf_strv_clear(&c->listen);
	conf_strv_clear(&c->tls_listen);
	conf_strv_clear(&c->api_listen);
	free(c->data_dir);
	free(c->subscriptions_dir);
	free(c->keytab);
	free(c->tls_cert);
	free(c->tls_key);
	conf_strv_clear(&c->tls_ca);
	free(c->advertise);
	free(c->user);
	conf_strv_clear(&c->dns.dedup_key);
	free(c->api.tokens_file);
	conf_strv_clear(&c->relays);
	for (size_t i = 0; i < c->noutputs; i++) {
		struct conf_output *o = &c->outputs[i];
		free(o->name);
		free(o->type);
		for (size_t j = 0; j < o->nkv; j++) {
			free(o->kv[j].key);
			free(o->kv[j].value);
		}
		free(o->kv);
	}
	free(c->outputs);
	free(c);
}

static int
conf_set_item(struct conf_parse *cp, size_t idx, xmlNode *n)
{
	const struct conf_item *it = &conf_items[idx];
	void *field = (char *)cp->conf + it->off;
	long line = xmlGetLineNo(n);
	bool first = cp->seen[idx] == 0;
	char *v = NULL, *host = NULL;
	unsigned port;
	int rc = CD_EOK;

	if (!first && it->type != CONF_T_STRV && it->type != CONF_T_LISTEN) {
		conf_err(cp->errs, cp->file, line,
		    "%s given twice (first on line %ld)", it->path, cp->seen[idx]);
		return CD_ECONFIG;
	}
	if (first)
		cp->seen[idx] = line;
	if ((v = conf_xml_text(n)) == NULL)
		return -ENOMEM;
	/* The schema has checked the lexical form of every value. */
	switch (it->type) {
	case CONF_T_STR:
		free(*(char **)field);
		*(char **)field = v;
		v = NULL;
		break;
	case CONF_T_LISTEN:
		rc = conf_parse_hostport(v, &host, &port);
		if (rc == CD_ECONFIG || (rc == CD_EOK && port == 0)) {
			conf_err(cp->errs, cp->file, line,
			    "%s: \"%s\" is not [ADDR:]PORT with a port in 1..65535",
			    it->path, v);
			rc = CD_ECONFIG;
			break;
		}
		if (rc != CD_EOK)
			break;
		/* FALLTHROUGH */
	case CONF_T_STRV:
		/* The file's list replaces the built-in one. */
		if (first)
			conf_strv_clear(field);
		rc = conf_strv_add(field, v);
		break;
	case CONF_T_U32:
	case CONF_T_U64: {
		char *end;
		errno = 0;
		unsigned long long u = strtoull(v, &end, 10);
		if (errno != 0 || *end != '\0' ||
		    (it->type == CONF_T_U32 && u > UINT32_MAX)) {
			conf_err(cp->errs, cp->file, line, "%s: bad number \"%s\"",
			    it->path, v);
			rc = CD_ECONFIG;
		} else if (it->type == CONF_T_U32) {
			*(uint32_t *)field = (uint32_t)u;
		} else {
			*(uint64_t *)field = (uint64_t)u;
		}
		break;
	}
	case CONF_T_BOOL:
		*(bool *)field = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
		break;
	case CONF_T_AUTH:
		if (!conf_auth_parse(v, field)) {
			conf_err(cp->errs, cp->file, line, "unknown auth \"%s\"", v);
			rc = CD_ECONFIG;
		}
		break;
	case CONF_T_LOGLEVEL:
		if (!log_level_parse(v, field)) {
			conf_err(cp->errs, cp->file, line, "unknown log level \"%s\"", v);
			rc = CD_ECONFIG;
		}
		break;
	}
	free(host);
	free(v);
	return rc;
}

static int
conf_parse_outputs(struct conf_parse *cp, xmlNode *outputs)
{
	struct cd_conf *c = cp->conf;
	int rc = CD_EOK;

	for (xmlNode *n = outputs->children; n != NULL; n = n->next) {
		struct conf_output *o, *grown;
		xmlChar *name, *type;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		grown = realloc(c->outputs, (c->noutputs + 1) * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		c->outputs = grown;
		o = &c->outputs[c->noutputs++];
		memset(o, 0, sizeof(*o));
		o->line = (unsigned)xmlGetLineNo(n);
		name = xmlGetProp(n, BAD_CAST "name");
		type = xmlGetProp(n, BAD_CAST "type");
		o->name = name ? strdup((char *)name) : NULL;
		o->type = type ? strdup((char *)type) : NULL;
		xmlFree(name);
		xmlFree(type);
		if (o->name == NULL || o->type == NULL)
			return -ENOMEM;
		for (size_t i = 0; i + 1 < c->noutputs; i++) {
			if (strcmp(c->outputs[i].name, o->name) == 0) {
				conf_err(cp->errs, cp->file, o->line,
				    "output \"%s\" defined twice (first on line %u)",
				    o->name, c->outputs[i].line);
				rc = CD_ECONFIG;
			}
		}
		for (xmlNode *s = n->children; s != NULL; s = s->next) {
			struct conf_kv *kv;

			if (s->type != XML_ELEMENT_NODE)
				continue;
			for (xmlNode *k = s->children; k != NULL; k = k->next) {
				if (k->type == XML_ELEMENT_NODE) {
					conf_err(cp->errs, cp->file,
					    xmlGetLineNo(k), "output setting "
					    "<%s> must hold text, not elements",
					    (const char *)s->name);
					rc = CD_ECONFIG;
					break;
				}
			}
			kv = realloc(o->kv, (o->nkv + 1) * sizeof(*kv));
			if (kv == NULL)
				return -ENOMEM;
			o->kv = kv;
			kv = &o->kv[o->nkv++];
			kv->line = (unsigned)xmlGetLineNo(s);
			kv->key = strdup((const char *)s->name);
			kv->value = conf_xml_text(s);
			if (kv->key == NULL || kv->value == NULL)
				return -ENOMEM;
		}
	}
	return rc;
}

/* Walk the children of `parent`, whose path is `prefix` ("" for the root). */
static int
conf_walk(struct conf_parse *cp, xmlNode *parent, const char *prefix)
{
	int rc = CD_EOK, r;

	for (xmlNode *n = parent->children; n != NULL; n = n->next) {
		char path[128];
		size_t plen;
		bool found = false;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    *prefix ? "/" : "", (const char *)n->name);
		if (*prefix == '\0' && strcmp(path, "outputs") == 0) {
			if ((r = conf_parse_outputs(cp, n)) != CD_EOK)
				rc = r;
			continue;
		}
		plen = strlen(path);
		for (size_t i = 0; i < CONF_NITEMS && !found; i++) {
			if (strcmp(conf_items[i].path, path) == 0) {
				found = true;
				if ((r = conf_set_item(cp, i, n)) != CD_EOK)
					rc = r;
			} else if (strncmp(conf_items[i].path, path, plen) == 0 &&
			    conf_items[i].path[plen] == '/') {
				/* A group: its children carry the settings. */
				found = true;
				if ((r = conf_walk(cp, n, path)) != CD_EOK)
					rc = r;
			}
		}
		if (!found) {
			/* The schema should have refused it already. */
			conf_err(cp->errs, cp->file, xmlGetLineNo(n),
			    "unknown setting <%s>", path);
			rc = CD_ECONFIG;
		}
		if (rc == -ENOMEM)
			break;
	}
	return rc;
}

int
conf_load(const char *path, struct cd_conf **out, char **errmsg)
{
	struct conf_parse cp;
	struct cd_conf *c = NULL;
	struct buf errs;
	xmlDoc *doc = NULL;
	int rc;

	*out = NULL;
	if (errmsg != NULL)
		*errmsg = NULL;
	buf_init(&errs, 64 * 1024);
	if ((rc = conf_xml_read(path, "collectord.xsd", &doc, &errs)) != CD_EOK)
		goto out;
	if ((rc = conf_defaults(&c)) != CD_EOK)
		goto out;
	if ((c->path = strdup(path)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memset(&cp, 0, sizeof(cp));
	cp.conf = c;
	cp.file = path;
	cp.errs = &errs;
	if ((rc = conf_walk(&cp, xmlDocGetRootElement(doc), "")) != CD_EOK)
		goto out;
	*out = c;
	c = NULL;
out:
	if (rc == -ENOMEM && errs.len == 0)
		conf_err(&errs, path, 0, "out of memory");
	if (rc != CD_EOK && errmsg != NULL)
		*errmsg = conf_err_take(&errs);
	buf_free(&errs);
	xmlFreeDoc(doc);
	conf_free(c);
	return rc;
}

static void
conf_check_listen(struct buf *errs, const char *what,
    const struct conf_strv *sv, bool need_port)
{
	for (size_t i = 0; i < sv->n; i++) {
		char *host = NULL;
		unsigned port;
		int rc = conf_parse_hostport(sv->v[i], &host, &port);

		if (rc != CD_EOK || (need_port && port == 0))
			conf_err(errs, what, 0, "\"%s\" is not a valid address "
			    "with a port in 1..65535", sv->v[i]);
		free(host);
	}
}

int
conf_check(const struct cd_conf *c, char **errmsg)
{
	static const char *const fields[] = {
		"host", "image", "query_name", "query_status", "query_results",
		"user", "process_guid",
	};
	struct buf errs;
	int rc = CD_EOK;

	if (errmsg != NULL)
		*errmsg = NULL;
	buf_init(&errs, 64 * 1024);
	conf_check_listen(&errs, "listen", &c->listen, true);
	conf_check_listen(&errs, "tls-listen", &c->tls_listen, true);
	conf_check_listen(&errs, "api-listen", &c->api_listen, true);
	if (c->advertise != NULL) {
		char *host = NULL;
		unsigned port;
		if (conf_parse_hostport(c->advertise, &host, &port) != CD_EOK ||
		    host == NULL)
			conf_err(&errs, "advertise", 0,
			    "\"%s\" is not HOST[:PORT]", c->advertise);
		free(host);
	}
	if (c->listen.n == 0 && c->tls_listen.n == 0)
		conf_err(&errs, "listen", 0, "no WEF listener configured");
	if (c->tls_listen.n > 0 && (c->tls_cert == NULL || c->tls_key == NULL))
		conf_err(&errs, "tls-listen", 0, "needs tls-cert and tls-key");
	if (c->auth == CONF_AUTH_TLS) {
		if (c->tls_listen.n == 0)
			conf_err(&errs, "auth", 0, "tls needs a tls-listen address");
		if (c->tls_cert == NULL || c->tls_key == NULL)
			conf_err(&errs, "auth", 0, "tls needs tls-cert and tls-key");
		if (c->tls_ca.n == 0)
			conf_err(&errs, "auth", 0,
			    "tls needs at least one tls-ca (the issuers of "
			    "client certificates)");
	}
	if (c->data_dir == NULL || c->data_dir[0] == '\0')
		conf_err(&errs, "data-dir", 0, "must be set");
	if (c->subscriptions_dir == NULL || c->subscriptions_dir[0] == '\0')
		conf_err(&errs, "subscriptions", 0, "must be set");
	if (c->limits.max_decompressed_bytes < c->limits.max_body_bytes)
		conf_err(&errs, "limits", 0, "max-decompressed-bytes is smaller "
		    "than max-body-bytes");
	if (c->limits.max_header_bytes < 4096)
		conf_err(&errs, "limits", 0, "max-header-bytes must be at least 4096");
	if (c->limits.max_connections_per_ip > c->limits.max_connections)
		conf_err(&errs, "limits", 0, "max-connections-per-ip is larger "
		    "than max-connections");
	if (c->dns.dedup_key.n == 0)
		conf_err(&errs, "dns", 0, "dedup-key needs at least one field");
	for (size_t i = 0; i < c->dns.dedup_key.n; i++) {
		bool ok = false;
		for (size_t j = 0; j < sizeof(fields) / sizeof(fields[0]); j++)
			ok = ok || strcmp(c->dns.dedup_key.v[i], fields[j]) == 0;
		if (!ok)
			conf_err(&errs, "dns", 0, "unknown dedup-key field \"%s\"",
			    c->dns.dedup_key.v[i]);
	}
	if (errs.len > 0) {
		rc = CD_ECONFIG;
		if (errmsg != NULL)
			*errmsg = conf_err_take(&errs);
	}
	buf_free(&errs);
	return rc;
}
