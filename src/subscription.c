/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <openssl/evp.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "subscription.h"

#define SUB_NS	"http://schemas.microsoft.com/2006/03/windows/events/subscription"
#define SUB_CD_NS	"urn:collectord:subscription"

/* The built-in subscription, written exactly like etc/subscriptions.d/sysmon.xml
 * so both give the same id and Version (a test holds them together). */
static const char subscription_builtin_xml[] =
    "<Subscription xmlns=\"" SUB_NS "\">"
    "<SubscriptionId>Sysmon</SubscriptionId>"
    "<SubscriptionType>SourceInitiated</SubscriptionType>"
    "<Description>Built-in: every Sysmon event</Description>"
    "<Enabled>true</Enabled>"
    "<Uri>http://schemas.microsoft.com/wbem/wsman/1/windows/EventLog</Uri>"
    "<ConfigurationMode>MinLatency</ConfigurationMode>"
    "<Delivery Mode=\"Push\"><Batching><MaxLatencyTime>30000</MaxLatencyTime>"
    "</Batching><PushSettings><Heartbeat Interval=\"3600000\"/></PushSettings>"
    "</Delivery>"
    "<Query><![CDATA[<QueryList><Query Id=\"0\">"
    "<Select Path=\"Microsoft-Windows-Sysmon/Operational\">*</Select>"
    "</Query></QueryList>]]></Query>"
    "<ReadExistingEvents>false</ReadExistingEvents>"
    "<TransportName>HTTP</TransportName>"
    "<ContentFormat>Events</ContentFormat>"
    "<Locale Language=\"en-US\"/>"
    "</Subscription>";

/* Elements that may appear at most once; index = bit in `seen`. */
static const char *const subscription_single[] = {
	"SubscriptionId", "SubscriptionType", "Description", "Enabled", "Uri",
	"ConfigurationMode", "Delivery", "Expires", "Query",
	"ReadExistingEvents", "TransportName", "TransportPort", "ContentFormat",
	"Locale", "LogFile", "PublisherName", "AllowedSourceNonDomainComputers",
	"AllowedSourceDomainComputers",
};
#define SUBSCRIPTION_QUERY	8	/* index of "Query" above */

static int subscription_from_doc(xmlDoc *, const char *, struct buf *,
    struct subscription **);

static bool
subscription_is(xmlNode *n, const char *ns, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    strcmp((const char *)n->ns->href, ns) == 0 &&
	    (name == NULL || strcmp((const char *)n->name, name) == 0);
}

static bool
subscription_is_guid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	}
	return s[36] == '\0';
}

/* Upper-case GUID text of 16 bytes, marked as an RFC 9562 version 8
 * (implementation-defined) UUID since it is a hash, not random. */
static void
subscription_guid(const unsigned char *b, bool hash, char out[37])
{
	unsigned char u[16];

	memcpy(u, b, 16);
	u[6] = (u[6] & 0x0f) | (hash ? 0x80 : 0x40);
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
	    "%02X%02X%02X%02X%02X%02X", u[0], u[1], u[2], u[3], u[4], u[5],
	    u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* A length-prefixed field, so no two parameter lists hash alike. */
static void
subscription_hash_field(EVP_MD_CTX *md, const char *tag, const char *v)
{
	char hdr[64];
	size_t n = v != NULL ? strlen(v) : 0;

	snprintf(hdr, sizeof(hdr), "%s:%zu%c", tag, n, v != NULL ? '=' : '-');
	EVP_DigestUpdate(md, hdr, strlen(hdr));
	if (n > 0)
		EVP_DigestUpdate(md, v, n);
}

static void
subscription_hash_u32(EVP_MD_CTX *md, const char *tag, uint32_t v)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", (unsigned)v);
	subscription_hash_field(md, tag, num);
}

static void
subscription_hash_end(EVP_MD_CTX *md, char out[SUBSCRIPTION_VERSION_LEN])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	char g[37];

	EVP_DigestFinal_ex(md, d, &dlen);
	subscription_guid(d, true, g);
	snprintf(out, SUBSCRIPTION_VERSION_LEN, "uuid:%s", g);
}

/* Version: every parameter the client sees in the rendered Subscribe. The
 * mode enters only through the values it yields, the bookmark never. */
static int
subscription_compute_version(struct subscription *sub)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return CD_ECRYPTO;
	}
	subscription_hash_field(md, "v", "collectord subscription 1");
	subscription_hash_field(md, "id", sub->id);
	subscription_hash_field(md, "name", sub->name);
	subscription_hash_u32(md, "max_items", sub->max_items);
	subscription_hash_u32(md, "max_latency_ms", sub->max_latency_ms);
	subscription_hash_u32(md, "heartbeat_ms", sub->heartbeat_ms);
	subscription_hash_field(md, "query", sub->query_xml);
	subscription_hash_u32(md, "read_existing", sub->read_existing);
	subscription_hash_field(md, "transport", sub->transport);
	subscription_hash_field(md, "content_format", sub->content_format);
	subscription_hash_field(md, "locale", sub->locale);
	subscription_hash_end(md, sub->version);
	EVP_MD_CTX_free(md);
	return CD_EOK;
}

void
subscription_wire_version(const struct subscription *sub,
    const struct subscription_render_ctx *ctx, char out[SUBSCRIPTION_VERSION_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		/* Cannot happen with a working libcrypto; stay stable anyway. */
		snprintf(out, SUBSCRIPTION_VERSION_LEN, "%s", sub->version);
		EVP_MD_CTX_free(md);
		return;
	}
	subscription_hash_field(md, "version", sub->version);
	subscription_hash_field(md, "base_url", ctx->base_url);
	subscription_hash_field(md, "auth", ctx->auth == CONF_AUTH_TLS ?
	    "https/mutual" : "http/spnego-kerberos");
	if (ctx->auth == CONF_AUTH_TLS)
		for (size_t i = 0; i < ctx->nthumbprints; i++)
			subscription_hash_field(md, "issuer", ctx->thumbprints[i]);
	subscription_hash_end(md, out);
	EVP_MD_CTX_free(md);
}

void
subscription_free(struct subscription *sub)
{
	if (sub == NULL)
		return;
	free(sub->id);
	free(sub->name);
	free(sub->description);
	free(sub->uri);
	free(sub->query_xml);
	free(sub->transport);
	free(sub->content_format);
	free(sub->locale);
	free(sub->log_file);
	free(sub->publisher);
	free(sub->allowed_domain_sddl);
	conf_strv_clear(&sub->issuer_cas);
	conf_strv_clear(&sub->sources);
	free(sub->file);
	free(sub);
}

struct subscription_qerr {
	char	msg[256];
};

static void
subscription_query_error(void *arg, xmlErrorPtr e)
{
	struct subscription_qerr *q = arg;

	if (q->msg[0] == '\0' && e != NULL && e->level != XML_ERR_WARNING) {
		snprintf(q->msg, sizeof(q->msg), "%s", e->message ? e->message : "?");
		q->msg[strcspn(q->msg, "\n")] = '\0';
	}
}

/* The Query text must be one well-formed <QueryList> (no namespace, no DTD);
 * it is kept serialised by libxml2 so it can go into the Filter as is. */
static int
subscription_parse_query(struct subscription *sub, const char *text,
    const char *file, long line, struct buf *errs)
{
	struct subscription_qerr q = { "" };
	xmlDoc *doc = NULL;
	xmlBuffer *xb = NULL;
	xmlNode *root;
	bool has_query = false;
	int rc = CD_ECONFIG;

	xmlSetStructuredErrorFunc(&q, subscription_query_error);
	doc = xmlReadMemory(text, (int)strlen(text), NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOWARNING);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (doc == NULL) {
		conf_err(errs, file, line, "Query is not well-formed XML: %s",
		    q.msg[0] ? q.msg : "empty");
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (doc->intSubset != NULL || root == NULL || root->ns != NULL ||
	    strcmp((const char *)root->name, "QueryList") != 0) {
		conf_err(errs, file, line,
		    "Query must hold exactly one <QueryList> (no namespace, no DOCTYPE)");
		goto out;
	}
	for (xmlNode *n = root->children; n != NULL; n = n->next)
		has_query = has_query || (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, "Query") == 0);
	if (!has_query) {
		conf_err(errs, file, line, "QueryList has no <Query>");
		goto out;
	}
	if ((xb = xmlBufferCreate()) == NULL || xmlNodeDump(xb, doc, root, 0, 0) < 0 ||
	    (sub->query_xml = strdup((const char *)xmlBufferContent(xb))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = CD_EOK;
out:
	xmlBufferFree(xb);
	xmlFreeDoc(doc);
	return rc;
}

static int
subscription_parse_delivery(struct subscription *sub, xmlNode *d,
    const char *file, struct buf *errs)
{
	xmlChar *mode = xmlGetProp(d, BAD_CAST "Mode");
	int rc = CD_EOK;

	if (mode == NULL || strcmp((const char *)mode, "Push") != 0) {
		conf_err(errs, file, xmlGetLineNo(d), "Delivery Mode \"%s\" is not "
		    "supported: source-initiated subscriptions use Push",
		    mode ? (const char *)mode : "");
		rc = CD_ECONFIG;
	}
	xmlFree(mode);
	for (xmlNode *n = d->children; n != NULL; n = n->next) {
		if (subscription_is(n, SUB_NS, "Batching")) {
			for (xmlNode *b = n->children; b != NULL; b = b->next) {
				char *v;
				if (!subscription_is(b, SUB_NS, NULL))
					continue;
				if ((v = conf_xml_text(b)) == NULL)
					return -ENOMEM;
				if (strcmp((const char *)b->name, "MaxItems") == 0)
					sub->max_items = (uint32_t)strtoul(v, NULL, 10);
				else if (strcmp((const char *)b->name, "MaxLatencyTime") == 0)
					sub->max_latency_ms = (uint32_t)strtoul(v, NULL, 10);
				free(v);
			}
		} else if (subscription_is(n, SUB_NS, "PushSettings")) {
			for (xmlNode *h = n->children; h != NULL; h = h->next) {
				xmlChar *iv;
				if (!subscription_is(h, SUB_NS, "Heartbeat"))
					continue;
				if ((iv = xmlGetProp(h, BAD_CAST "Interval")) != NULL)
					sub->heartbeat_ms = (uint32_t)strtoul(
					    (const char *)iv, NULL, 10);
				xmlFree(iv);
			}
		}
	}
	return rc;
}

static int
subscription_parse_ext(struct subscription *sub, xmlNode *n, const char *file,
    struct buf *errs)
{
	char *v = NULL;
	int rc = CD_EOK;

	if (strcmp((const char *)n->name, "Identifier") == 0) {
		if ((v = conf_xml_text(n)) == NULL)
			return -ENOMEM;
		if (!subscription_is_guid(v)) {
			conf_err(errs, file, xmlGetLineNo(n),
			    "cd:Identifier \"%s\" is not a GUID", v);
			rc = CD_ECONFIG;
		} else {
			free(sub->id);
			sub->id = v;
			v = NULL;
		}
	} else if (strcmp((const char *)n->name, "AllowedSources") == 0) {
		for (xmlNode *s = n->children; s != NULL && rc == CD_EOK; s = s->next) {
			if (!subscription_is(s, SUB_CD_NS, "Source")) {
				if (s->type == XML_ELEMENT_NODE) {
					conf_err(errs, file, xmlGetLineNo(s),
					    "unknown element <%s> in cd:AllowedSources",
					    (const char *)s->name);
					rc = CD_ECONFIG;
				}
				continue;
			}
			free(v);
			if ((v = conf_xml_text(s)) == NULL)
				return -ENOMEM;
			if (*v == '\0') {
				conf_err(errs, file, xmlGetLineNo(s), "empty cd:Source");
				rc = CD_ECONFIG;
			} else {
				rc = conf_strv_add(&sub->sources, v);
			}
		}
	} else {
		conf_err(errs, file, xmlGetLineNo(n),
		    "unknown collectord element <%s>", (const char *)n->name);
		rc = CD_ECONFIG;
	}
	free(v);
	return rc;
}

/* Replace *field with the trimmed text of n. */
static int
subscription_set_text(char **field, xmlNode *n)
{
	char *v = conf_xml_text(n);

	if (v == NULL)
		return -ENOMEM;
	free(*field);
	*field = v;
	return CD_EOK;
}

static int
subscription_parse_child(struct subscription *sub, xmlNode *n,
    const char *file, struct buf *errs, char **query)
{
	const char *name = (const char *)n->name;
	long line = xmlGetLineNo(n);
	char *v = NULL;
	int rc = CD_EOK;

	if (strcmp(name, "Delivery") == 0)
		return subscription_parse_delivery(sub, n, file, errs);
	if (strcmp(name, "Query") == 0)
		return subscription_set_text(query, n);
	if (strcmp(name, "Locale") == 0) {
		xmlChar *lang = xmlGetProp(n, BAD_CAST "Language");
		if (lang != NULL)
			rc = conf_set_str(&sub->locale, (const char *)lang);
		xmlFree(lang);
		return rc;
	}
	if (strcmp(name, "AllowedSourceNonDomainComputers") == 0) {
		for (xmlNode *l = n->children; l != NULL; l = l->next) {
			if (!subscription_is(l, SUB_NS, "AllowedIssuerCAList"))
				continue;
			for (xmlNode *ca = l->children; ca != NULL; ca = ca->next) {
				if (!subscription_is(ca, SUB_NS, "IssuerCA"))
					continue;
				if ((v = conf_xml_text(ca)) == NULL)
					return -ENOMEM;
				rc = conf_strv_add(&sub->issuer_cas, v);
				free(v);
				if (rc != CD_EOK)
					return rc;
			}
		}
		return CD_EOK;
	}
	if ((v = conf_xml_text(n)) == NULL)
		return -ENOMEM;
	if (strcmp(name, "SubscriptionId") == 0) {
		free(sub->name);
		sub->name = v;
		v = NULL;
	} else if (strcmp(name, "SubscriptionType") == 0) {
		if (strcmp(v, "SourceInitiated") != 0) {
			conf_err(errs, file, line, "SubscriptionType %s is not "
			    "supported: collectord serves source-initiated "
			    "subscriptions", v);
			rc = CD_ECONFIG;
		}
	} else if (strcmp(name, "Description") == 0) {
		rc = conf_set_str(&sub->description, v);
	} else if (strcmp(name, "Enabled") == 0) {
		sub->enabled = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
	} else if (strcmp(name, "ReadExistingEvents") == 0) {
		sub->read_existing = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
	} else if (strcmp(name, "Uri") == 0) {
		rc = conf_set_str(&sub->uri, v);
	} else if (strcmp(name, "ConfigurationMode") == 0) {
		if (strcmp(v, "Normal") == 0)
			sub->mode = SUBSCRIPTION_MODE_NORMAL;
		else if (strcmp(v, "MinLatency") == 0)
			sub->mode = SUBSCRIPTION_MODE_MIN_LATENCY;
		else if (strcmp(v, "MinBandwidth") == 0)
			sub->mode = SUBSCRIPTION_MODE_MIN_BANDWIDTH;
		else
			sub->mode = SUBSCRIPTION_MODE_CUSTOM;
	} else if (strcmp(name, "TransportName") == 0) {
		rc = conf_set_str(&sub->transport,
		    strcasecmp(v, "HTTPS") == 0 ? "HTTPS" : "HTTP");
	} else if (strcmp(name, "ContentFormat") == 0) {
		/* wecutil says Events where the wire says Raw. */
		rc = conf_set_str(&sub->content_format,
		    strcmp(v, "RenderedText") == 0 ? "RenderedText" : "Raw");
	} else if (strcmp(name, "LogFile") == 0) {
		rc = conf_set_str(&sub->log_file, v);
	} else if (strcmp(name, "PublisherName") == 0) {
		rc = conf_set_str(&sub->publisher, v);
	} else if (strcmp(name, "AllowedSourceDomainComputers") == 0) {
		rc = conf_set_str(&sub->allowed_domain_sddl, v);
	}
	free(v);
	return rc;
}

/* Delivery values of the Windows configuration modes (wef-protocol.md §6). */
static void
subscription_apply_mode(struct subscription *sub)
{
	switch (sub->mode) {
	case SUBSCRIPTION_MODE_NORMAL:
		sub->max_items = 5;
		sub->max_latency_ms = 900000;
		sub->heartbeat_ms = 900000;
		break;
	case SUBSCRIPTION_MODE_MIN_LATENCY:
		sub->max_items = 0;
		sub->max_latency_ms = 30000;
		sub->heartbeat_ms = 3600000;
		break;
	case SUBSCRIPTION_MODE_MIN_BANDWIDTH:
		sub->max_items = 0;
		sub->max_latency_ms = 21600000;
		sub->heartbeat_ms = 21600000;
		break;
	case SUBSCRIPTION_MODE_CUSTOM:
		break;
	}
}

static int
subscription_from_doc(xmlDoc *doc, const char *file, struct buf *errs,
    struct subscription **out)
{
	struct subscription *sub = NULL;
	xmlNode *root = xmlDocGetRootElement(doc);
	long seen[sizeof(subscription_single) / sizeof(subscription_single[0])];
	char *query = NULL;
	size_t before = errs->len;
	int rc = -ENOMEM, r;

	*out = NULL;
	memset(seen, 0, sizeof(seen));
	if (root == NULL || !subscription_is(root, SUB_NS, "Subscription")) {
		conf_err(errs, file, root ? xmlGetLineNo(root) : 0,
		    "not a subscription (root must be <Subscription xmlns=\"%s\">)",
		    SUB_NS);
		return CD_ECONFIG;
	}
	if ((sub = calloc(1, sizeof(*sub))) == NULL)
		return -ENOMEM;
	sub->line = (unsigned)xmlGetLineNo(root);
	sub->enabled = true;
	sub->mode = SUBSCRIPTION_MODE_NORMAL;
	/* Custom without Batching/Heartbeat: openwec's known-good values. */
	sub->max_latency_ms = 30000;
	sub->heartbeat_ms = 3600000;
	if ((file != NULL && (sub->file = strdup(file)) == NULL) ||
	    (sub->transport = strdup("HTTP")) == NULL ||
	    (sub->content_format = strdup("RenderedText")) == NULL ||
	    (sub->locale = strdup("en-US")) == NULL)
		goto fail;
	for (xmlNode *n = root->children; n != NULL; n = n->next) {
		if (subscription_is(n, SUB_CD_NS, NULL)) {
			r = subscription_parse_ext(sub, n, file, errs);
		} else if (subscription_is(n, SUB_NS, NULL)) {
			for (size_t i = 0; i < sizeof(seen) / sizeof(seen[0]); i++) {
				if (strcmp((const char *)n->name,
				    subscription_single[i]) != 0)
					continue;
				if (seen[i] != 0)
					conf_err(errs, file, xmlGetLineNo(n),
					    "%s given twice (first on line %ld)",
					    subscription_single[i], seen[i]);
				else
					seen[i] = xmlGetLineNo(n);
			}
			r = subscription_parse_child(sub, n, file, errs, &query);
		} else {
			continue;
		}
		if (r == -ENOMEM)
			goto fail;
	}
	if (sub->name == NULL)
		conf_err(errs, file, sub->line, "missing <SubscriptionId>");
	if (query == NULL)
		conf_err(errs, file, sub->line, "missing <Query>");
	else if (subscription_parse_query(sub, query, file,
	    seen[SUBSCRIPTION_QUERY] ? seen[SUBSCRIPTION_QUERY] :
	    (long)sub->line, errs) == -ENOMEM)
		goto fail;
	if (errs->len != before) {
		rc = CD_ECONFIG;
		goto fail;
	}
	subscription_apply_mode(sub);
	if (sub->id == NULL) {
		/* Stable across restarts and collectors: a hash of the name. */
		unsigned char d[EVP_MAX_MD_SIZE];
		unsigned int dlen = 0;
		char g[37];
		char *seed = NULL;

		if (asprintf(&seed, "collectord subscription id\n%s", sub->name) < 0)
			goto fail;
		r = EVP_Digest(seed, strlen(seed), d, &dlen, EVP_sha256(), NULL);
		free(seed);
		if (r != 1) {
			rc = CD_ECRYPTO;
			goto fail;
		}
		subscription_guid(d, true, g);
		if ((sub->id = strdup(g)) == NULL)
			goto fail;
	}
	if ((rc = subscription_compute_version(sub)) != CD_EOK)
		goto fail;
	free(query);
	*out = sub;
	return CD_EOK;
fail:
	free(query);
	subscription_free(sub);
	return rc;
}

int
subscription_builtin(struct subscription **out)
{
	struct buf errs;
	xmlDoc *doc;
	int rc;

	*out = NULL;
	doc = xmlReadMemory(subscription_builtin_xml,
	    (int)sizeof(subscription_builtin_xml) - 1, NULL, NULL, XML_PARSE_NONET);
	if (doc == NULL)
		return -ENOMEM;
	buf_init(&errs, 0);
	rc = subscription_from_doc(doc, NULL, &errs, out);
	buf_free(&errs);
	xmlFreeDoc(doc);
	return rc;
}

int
subscription_load_file(const char *path, struct subscription **out,
    char **errmsg)
{
	struct buf errs;
	xmlDoc *doc = NULL;
	int rc;

	*out = NULL;
	if (errmsg != NULL)
		*errmsg = NULL;
	buf_init(&errs, 64 * 1024);
	if ((rc = conf_xml_read(path, "subscription.xsd", &doc, &errs)) == CD_EOK)
		rc = subscription_from_doc(doc, path, &errs, out);
	if (rc != CD_EOK && errmsg != NULL)
		*errmsg = conf_err_take(&errs);
	xmlFreeDoc(doc);
	buf_free(&errs);
	return rc;
}
