/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "err.h"
#include "log.h"
#include "replay.h"
#include "soap.h"

/*
 * The client side of parsing: what a Windows host reads from the collector.
 * Elements are matched by namespace URI and local name, never by prefix
 * (the collector may choose any prefixes, wef-protocol.md section 0).
 */

#define NS_S	"http://www.w3.org/2003/05/soap-envelope"
#define NS_A	"http://schemas.xmlsoap.org/ws/2004/08/addressing"
#define NS_N	"http://schemas.xmlsoap.org/ws/2004/09/enumeration"
#define NS_E	"http://schemas.xmlsoap.org/ws/2004/08/eventing"
#define NS_W	"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
#define NS_SUB	"http://schemas.microsoft.com/wbem/wsman/1/subscription"
#define EARLIEST "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest"

/* Untrusted input: no network, no entities, no DTD, errors not printed. */
#define PARSE_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static bool	is(const xmlNode *, const char *, const char *);
static xmlNode	*child(const xmlNode *, const char *, const char *);
static char	*text(const xmlNode *);
static int	parse_refs(const xmlNode *, struct replay_ref **, size_t *);
static int	parse_bookmark(const xmlNode *, struct replay_sub *);
static int	parse_query(const xmlNode *, struct replay_sub *);
static int	parse_subscription(const xmlNode *, struct replay_sub *);
static uint64_t	duration_ms(const char *);
static xmlDoc	*read_doc(const char *, size_t);
static bool	header_is(const xmlNode *, const char *, const char *,
		    const char *);

static bool
is(const xmlNode *n, const char *ns, const char *name)
{
	if (n == NULL || n->type != XML_ELEMENT_NODE ||
	    strcmp((const char *)n->name, name) != 0)
		return false;
	if (ns == NULL)
		return n->ns == NULL || n->ns->href == NULL;
	return n->ns != NULL && n->ns->href != NULL &&
	    strcmp((const char *)n->ns->href, ns) == 0;
}

static xmlNode *
child(const xmlNode *n, const char *ns, const char *name)
{
	if (n == NULL)
		return NULL;
	for (xmlNode *c = n->children; c != NULL; c = c->next)
		if (is(c, ns, name))
			return c;
	return NULL;
}

/* The trimmed text content of an element, malloc'ed; NULL on -ENOMEM. */
static char *
text(const xmlNode *n)
{
	xmlChar *t = xmlNodeGetContent(n);
	const char *s, *e;
	char *r;

	if (t == NULL)
		return strdup("");
	s = (const char *)t;
	s += strspn(s, " \t\r\n");
	e = s + strlen(s);
	while (e > s && strchr(" \t\r\n", e[-1]) != NULL)
		e--;
	r = strndup(s, (size_t)(e - s));
	xmlFree(t);
	return r;
}

/* xs:duration as Windows writes it (PT3600.000S, PT15M, P1DT2H). */
static uint64_t
duration_ms(const char *s)
{
	double total = 0;
	bool in_time = false;
	char *end;

	if (*s++ != 'P')
		return 0;
	while (*s != '\0') {
		if (*s == 'T') {
			in_time = true;
			s++;
			continue;
		}
		double v = strtod(s, &end);
		if (end == s)
			return 0;
		switch (*end) {
		case 'D': total += v * 86400; break;
		case 'H': total += v * 3600; break;
		case 'M': total += in_time ? v * 60 : v * 30 * 86400; break;
		case 'S': total += v; break;
		case 'Y': total += v * 365 * 86400; break;
		default: return 0;
		}
		s = end + 1;
	}
	return (uint64_t)(total * 1000 + 0.5);
}

static int
parse_refs(const xmlNode *addr_parent, struct replay_ref **out, size_t *n)
{
	const xmlNode *rp;

	*out = NULL;
	*n = 0;
	/* Windows WEC uses ReferenceProperties, openwec ReferenceParameters;
	 * the client echoes the children of either. */
	rp = child(addr_parent, NS_A, "ReferenceProperties");
	if (rp == NULL)
		rp = child(addr_parent, NS_A, "ReferenceParameters");
	if (rp == NULL)
		return CD_EOK;
	for (xmlNode *c = rp->children; c != NULL; c = c->next) {
		struct replay_ref *v, *r;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if ((v = realloc(*out, (*n + 1) * sizeof(*v))) == NULL)
			return -ENOMEM;
		*out = v;
		r = &v[(*n)++];
		r->ns = c->ns != NULL && c->ns->href != NULL ?
		    strdup((const char *)c->ns->href) : NULL;
		r->name = strdup((const char *)c->name);
		r->value = text(c);
		if (r->name == NULL || r->value == NULL ||
		    (c->ns != NULL && c->ns->href != NULL && r->ns == NULL))
			return -ENOMEM;
	}
	return CD_EOK;
}

static int
parse_bookmark(const xmlNode *bm, struct replay_sub *sub)
{
	const xmlNode *list = child(bm, NULL, "BookmarkList");
	int rc = CD_EOK;
	size_t current = SIZE_MAX;

	sub->has_bookmark = true;
	if (list == NULL) {
		char *t = text(bm);

		if (t == NULL)
			return -ENOMEM;
		sub->bookmark.earliest = strcmp(t, EARLIEST) == 0;
		free(t);
		return CD_EOK;
	}
	for (xmlNode *c = list->children; c != NULL && rc == CD_EOK;
	    c = c->next) {
		xmlChar *ch, *rid, *cur;

		if (!is(c, NULL, "Bookmark"))
			continue;
		ch = xmlGetProp(c, (const xmlChar *)"Channel");
		rid = xmlGetProp(c, (const xmlChar *)"RecordId");
		cur = xmlGetProp(c, (const xmlChar *)"IsCurrent");
		if (ch != NULL && rid != NULL) {
			rc = replay_bookmark_set(&sub->bookmark,
			    (const char *)ch,
			    strtoull((const char *)rid, NULL, 10));
			if (cur != NULL &&
			    strcasecmp((const char *)cur, "true") == 0)
				current = sub->bookmark.current;
		}
		xmlFree(ch);
		xmlFree(rid);
		xmlFree(cur);
	}
	if (current != SIZE_MAX)
		sub->bookmark.current = current;
	return rc;
}

static int
add_channel(struct replay_sub *sub, const xmlChar *path)
{
	char **v;

	for (size_t i = 0; i < sub->nchannels; i++)
		if (strcasecmp(sub->channels[i], (const char *)path) == 0)
			return CD_EOK;
	v = realloc(sub->channels, (sub->nchannels + 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	sub->channels = v;
	if ((v[sub->nchannels] = strdup((const char *)path)) == NULL)
		return -ENOMEM;
	sub->nchannels++;
	return CD_EOK;
}

/* Channels of a QueryList: Query/@Path and each Select/@Path (Suppress
 * only narrows a channel, it never adds one). */
static int
parse_query(const xmlNode *filter, struct replay_sub *sub)
{
	const xmlNode *ql = child(filter, NULL, "QueryList");
	int rc = CD_EOK;

	if (ql == NULL)
		return CD_EOK;
	for (xmlNode *q = ql->children; q != NULL && rc == CD_EOK; q = q->next) {
		if (!is(q, NULL, "Query"))
			continue;
		xmlChar *p = xmlGetProp(q, (const xmlChar *)"Path");
		if (p != NULL)
			rc = add_channel(sub, p);
		xmlFree(p);
		for (xmlNode *s = q->children; s != NULL && rc == CD_EOK;
		    s = s->next) {
			if (!is(s, NULL, "Select"))
				continue;
			p = xmlGetProp(s, (const xmlChar *)"Path");
			if (p != NULL)
				rc = add_channel(sub, p);
			xmlFree(p);
		}
	}
	return rc;
}

static int
parse_subscription(const xmlNode *s, struct replay_sub *sub)
{
	const xmlNode *env, *hdr, *subscribe, *endto, *delivery, *notify, *n;
	int rc = -ENOMEM;

	if ((n = child(s, NS_SUB, "Version")) != NULL &&
	    (sub->version = text(n)) == NULL)
		goto fail;
	env = child(s, NS_S, "Envelope");
	hdr = child(env, NS_S, "Header");
	subscribe = child(child(env, NS_S, "Body"), NS_E, "Subscribe");
	delivery = child(subscribe, NS_E, "Delivery");
	notify = child(delivery, NS_E, "NotifyTo");
	rc = CD_EPARSE;
	if (notify == NULL || (n = child(notify, NS_A, "Address")) == NULL)
		goto fail;
	rc = -ENOMEM;
	if ((sub->notify_to = text(n)) == NULL)
		goto fail;
	if ((rc = parse_refs(notify, &sub->refs, &sub->nrefs)) != CD_EOK)
		goto fail;
	endto = child(subscribe, NS_E, "EndTo");
	n = child(endto, NS_A, "Address");
	rc = -ENOMEM;
	if ((sub->end_to = n != NULL ? text(n) : strdup(sub->notify_to)) == NULL)
		goto fail;
	if ((rc = parse_refs(endto != NULL ? endto : notify, &sub->end_refs,
	    &sub->nend_refs)) != CD_EOK)
		goto fail;
	for (xmlNode *o = child(child(hdr, NS_W, "OptionSet"), NS_W, "Option") ;
	    o != NULL; o = o->next) {
		xmlChar *name;

		if (!is(o, NS_W, "Option"))
			continue;
		name = xmlGetProp(o, (const xmlChar *)"Name");
		if (name != NULL && strcmp((const char *)name, "CDATA") == 0)
			sub->cdata = true;
		if (name != NULL && sub->name == NULL &&
		    strcmp((const char *)name, "SubscriptionName") == 0 &&
		    (sub->name = text(o)) == NULL) {
			xmlFree(name);
			rc = -ENOMEM;
			goto fail;
		}
		xmlFree(name);
	}
	rc = -ENOMEM;
	if ((n = child(delivery, NS_W, "MaxElements")) != NULL) {
		char *t = text(n);
		if (t == NULL)
			goto fail;
		sub->max_elements = (uint32_t)strtoul(t, NULL, 10);
		free(t);
	}
	if ((n = child(delivery, NS_W, "MaxEnvelopeSize")) != NULL) {
		char *t = text(n);
		if (t == NULL)
			goto fail;
		sub->max_envelope = (uint32_t)strtoul(t, NULL, 10);
		free(t);
	}
	if ((n = child(delivery, NS_W, "MaxTime")) != NULL) {
		char *t = text(n);
		if (t == NULL)
			goto fail;
		sub->max_time_ms = duration_ms(t);
		free(t);
	}
	if ((n = child(delivery, NS_W, "Heartbeats")) != NULL) {
		char *t = text(n);
		if (t == NULL)
			goto fail;
		sub->heartbeat_ms = duration_ms(t);
		free(t);
	}
	if ((rc = parse_query(child(subscribe, NS_W, "Filter"), sub)) != CD_EOK)
		goto fail;
	if ((n = child(subscribe, NS_W, "Bookmark")) != NULL &&
	    (rc = parse_bookmark(n, sub)) != CD_EOK)
		goto fail;
	return CD_EOK;
fail:
	return rc;
}

static xmlDoc *
read_doc(const char *xml, size_t len)
{
	if (len > INT32_MAX)
		return NULL;
	return xmlReadMemory(xml, (int)len, NULL, "UTF-8", PARSE_OPTS);
}

/* True when header element ns:name exists and its text equals want. */
static bool
header_is(const xmlNode *hdr, const char *ns, const char *name,
    const char *want)
{
	const xmlNode *n = child(hdr, ns, name);
	xmlChar *t;
	bool ok;

	if (n == NULL)
		return false;
	t = xmlNodeGetContent(n);
	ok = t != NULL && strcmp((const char *)t, want) == 0;
	xmlFree(t);
	return ok;
}

int
replay_msg_parse_enumerate_response(const char *xml, size_t len,
    const char *relates_to, struct replay_sub **subs, size_t *nsubs)
{
	xmlDoc *doc = NULL;
	const xmlNode *root, *hdr, *items;
	struct replay_sub *v = NULL;
	size_t n = 0;
	int rc = CD_EPARSE;

	*subs = NULL;
	*nsubs = 0;
	if ((doc = read_doc(xml, len)) == NULL)
		goto fail;
	root = xmlDocGetRootElement(doc);
	if (!is(root, NS_S, "Envelope"))
		goto fail;
	hdr = child(root, NS_S, "Header");
	if (relates_to != NULL && !header_is(hdr, NS_A, "RelatesTo", relates_to))
		goto fail;
	if (!header_is(hdr, NS_A, "Action",
	    "http://schemas.xmlsoap.org/ws/2004/09/enumeration/"
	    "EnumerateResponse"))
		goto fail;
	items = child(child(child(root, NS_S, "Body"), NS_N,
	    "EnumerateResponse"), NS_W, "Items");
	for (xmlNode *c = items != NULL ? items->children : NULL; c != NULL;
	    c = c->next) {
		struct replay_sub *nv;

		if (!is(c, NS_SUB, "Subscription"))
			continue;
		if ((nv = realloc(v, (n + 1) * sizeof(*nv))) == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		v = nv;
		memset(&v[n], 0, sizeof(v[n]));
		n++;
		if ((rc = parse_subscription(c, &v[n - 1])) != CD_EOK)
			goto fail;
	}
	xmlFreeDoc(doc);
	*subs = v;
	*nsubs = n;
	return CD_EOK;
fail:
	xmlFreeDoc(doc);
	replay_subs_free(v, n);
	return rc;
}

static void
refs_free(struct replay_ref *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].ns);
		free(r[i].name);
		free(r[i].value);
	}
	free(r);
}

void
replay_subs_free(struct replay_sub *subs, size_t n)
{
	if (subs == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		struct replay_sub *s = &subs[i];

		free(s->version);
		free(s->name);
		free(s->notify_to);
		free(s->end_to);
		refs_free(s->refs, s->nrefs);
		refs_free(s->end_refs, s->nend_refs);
		for (size_t j = 0; j < s->nchannels; j++)
			free(s->channels[j]);
		free(s->channels);
		replay_bookmark_free(&s->bookmark);
	}
	free(subs);
}

bool
replay_sub_wants(const struct replay_sub *sub, const char *channel)
{
	for (size_t i = 0; i < sub->nchannels; i++)
		if (strcasecmp(sub->channels[i], channel) == 0)
			return true;
	return false;
}

int
replay_msg_check_ack(const char *xml, size_t len, const char *message_id)
{
	struct soap_msg *m = NULL;
	int rc;

	if ((rc = soap_parse(xml, len, NULL, &m)) != CD_EOK)
		return rc == -ENOMEM ? rc : CD_EPARSE;
	rc = strcmp(m->action, SOAP_ACTION_ACK) == 0 &&
	    m->relates_to != NULL && strcmp(m->relates_to, message_id) == 0 ?
	    CD_EOK : CD_EPARSE;
	soap_msg_free(m);
	return rc;
}
