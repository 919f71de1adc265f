/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "err.h"
#include "event.h"
#include "soap.h"
#include "timeparse.h"

/*
 * Events arrive as untrusted text. They are parsed with libxml2 without
 * network access, entity substitution or DTD loading (XML_PARSE_HUGE off
 * keeps libxml2's own depth and size limits), and a document type
 * declaration is refused outright. Errors are collected from the parser
 * context, never printed.
 */
#define EVENT_XML_OPTS	(XML_PARSE_NONET | XML_PARSE_NOERROR | \
			    XML_PARSE_NOWARNING | XML_PARSE_NOCDATA)

static int	event_set_error(struct event *, const char *, const char *);
static xmlDocPtr event_read(const char *, size_t, int, char **);
static bool	event_is(const xmlNode *, const char *);
static int	event_text(const xmlNode *, char **);
static int	event_attr(const xmlNode *, const char *, char **);
static bool	event_u64_str(const char *, uint64_t, uint64_t *);
static bool	event_u64(const xmlNode *, uint64_t, uint64_t *);
static bool	event_attr_u32(const xmlNode *, const char *, uint32_t *);
static int	event_add_field(struct event *, size_t *, const char *,
		    const xmlNode *);
static int	event_system(struct event *, const xmlNode *);
static int	event_eventdata(struct event *, const xmlNode *, size_t *);
static int	event_leaves(struct event *, const xmlNode *, size_t *);
static int	event_extract(struct event *, const xmlNode *);

static int
event_set_error(struct event *ev, const char *what, const char *detail)
{
	char tmp[512];

	ev->malformed = true;
	if (ev->error != NULL)
		return CD_EOK;	/* keep the first reason */
	snprintf(tmp, sizeof(tmp), "%s%s%s", what, detail ? ": " : "",
	    detail ? detail : "");
	/* libxml2 messages end with a newline. */
	size_t n = strlen(tmp);
	while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == ' '))
		tmp[--n] = '\0';
	if ((ev->error = strdup(tmp)) == NULL)
		return -ENOMEM;
	return CD_EOK;
}

/*
 * Parse with the safe options; *err gets libxml2's first error text (or
 * NULL) and must be freed. Returns NULL when nothing usable was parsed.
 */
static xmlDocPtr
event_read(const char *xml, size_t len, int extra, char **err)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;

	*err = NULL;
	if (len > INT_MAX) {
		*err = strdup("event too large");
		return NULL;
	}
	if ((ctxt = xmlNewParserCtxt()) == NULL)
		return NULL;
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, "UTF-8",
	    EVENT_XML_OPTS | extra);
	const xmlError *e = xmlCtxtGetLastError(ctxt);
	if (e != NULL && e->message != NULL)
		*err = strdup(e->message);
	else if (doc == NULL || !ctxt->wellFormed)
		*err = strdup("not well-formed");
	if (doc != NULL && !ctxt->wellFormed && !(extra & XML_PARSE_RECOVER)) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

/*
 * Element with this local name. Names are compared without namespace:
 * the event XML uses one default namespace, and UserData children bring
 * their own, which differs per provider.
 */
static bool
event_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0;
}

static int
event_text(const xmlNode *n, char **out)
{
	xmlChar *c = xmlNodeGetContent(n);
	char *s;

	s = strdup(c != NULL ? (const char *)c : "");
	xmlFree(c);
	if (s == NULL)
		return -ENOMEM;
	free(*out);
	*out = s;
	return CD_EOK;
}

static int
event_attr(const xmlNode *n, const char *name, char **out)
{
	xmlChar *c = xmlGetNoNsProp(n, (const xmlChar *)name);

	if (c == NULL)
		return CD_EOK;
	free(*out);
	*out = strdup((const char *)c);
	xmlFree(c);
	return *out == NULL ? -ENOMEM : CD_EOK;
}

/* Parse decimal text (surrounding white space allowed) up to max. */
static bool
event_u64_str(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	bool any = false;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
		any = true;
	}
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	if (!any || *s != '\0')
		return false;
	*out = v;
	return true;
}

static bool
event_u64(const xmlNode *n, uint64_t max, uint64_t *out)
{
	xmlChar *c = xmlNodeGetContent(n);
	bool ok = c != NULL && event_u64_str((const char *)c, max, out);

	xmlFree(c);
	return ok;
}

static bool
event_attr_u32(const xmlNode *n, const char *name, uint32_t *out)
{
	xmlChar *c = xmlGetNoNsProp(n, (const xmlChar *)name);
	uint64_t v;
	bool ok = c != NULL && event_u64_str((const char *)c, UINT32_MAX, &v);

	xmlFree(c);
	if (ok)
		*out = (uint32_t)v;
	return ok;
}

static int
event_add_field(struct event *ev, size_t *cap, const char *name,
    const xmlNode *n)
{
	if (ev->ndata == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct event_field *p = realloc(ev->data, ncap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		ev->data = p;
		*cap = ncap;
	}
	struct event_field *f = &ev->data[ev->ndata];
	f->name = strdup(name);
	f->value = NULL;
	if (f->name == NULL)
		return -ENOMEM;
	ev->ndata++;
	return event_text(n, &f->value);
}

static int
event_system(struct event *ev, const xmlNode *sys)
{
	uint64_t v;
	int rc = CD_EOK;

	for (const xmlNode *n = sys->children; n != NULL && rc == CD_EOK;
	    n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (event_is(n, "Provider")) {
			rc = event_attr(n, "Name", &ev->provider);
			if (rc == CD_EOK)
				rc = event_attr(n, "Guid", &ev->provider_guid);
		} else if (event_is(n, "EventID")) {
			if (event_u64(n, UINT32_MAX, &v)) {
				ev->event_id = (uint32_t)v;
				ev->has_event_id = true;
			}
		} else if (event_is(n, "Version")) {
			if (event_u64(n, UINT32_MAX, &v))
				ev->version = (uint32_t)v;
		} else if (event_is(n, "Level")) {
			if (event_u64(n, UINT32_MAX, &v))
				ev->level = (uint32_t)v;
		} else if (event_is(n, "Task")) {
			if (event_u64(n, UINT32_MAX, &v))
				ev->task = (uint32_t)v;
		} else if (event_is(n, "Opcode")) {
			if (event_u64(n, UINT32_MAX, &v))
				ev->opcode = (uint32_t)v;
		} else if (event_is(n, "Keywords")) {
			rc = event_text(n, &ev->keywords);
		} else if (event_is(n, "TimeCreated")) {
			rc = event_attr(n, "SystemTime", &ev->time_created);
			int64_t ms;
			if (rc == CD_EOK && ev->time_created != NULL &&
			    timeparse_rfc3339(ev->time_created, &ms) == CD_EOK)
				ev->time_created_ms = ms;
		} else if (event_is(n, "EventRecordID")) {
			if (event_u64(n, UINT64_MAX, &v)) {
				ev->record_id = v;
				ev->has_record_id = true;
			}
		} else if (event_is(n, "Execution")) {
			event_attr_u32(n, "ProcessID", &ev->process_id);
			event_attr_u32(n, "ThreadID", &ev->thread_id);
		} else if (event_is(n, "Channel")) {
			rc = event_text(n, &ev->channel);
		} else if (event_is(n, "Computer")) {
			rc = event_text(n, &ev->computer);
		} else if (event_is(n, "Security")) {
			rc = event_attr(n, "UserID", &ev->user_sid);
		}
	}
	return rc;
}

static int
event_eventdata(struct event *ev, const xmlNode *ed, size_t *cap)
{
	size_t pos = 0;
	int rc = CD_EOK;

	for (const xmlNode *n = ed->children; n != NULL && rc == CD_EOK;
	    n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (event_is(n, "Data")) {
			xmlChar *name = xmlGetNoNsProp(n,
			    (const xmlChar *)"Name");
			char tmp[32];
			pos++;
			if (name == NULL)
				snprintf(tmp, sizeof(tmp), "Data%zu", pos);
			rc = event_add_field(ev, cap,
			    name != NULL ? (const char *)name : tmp, n);
			xmlFree(name);
		} else
			rc = event_add_field(ev, cap, (const char *)n->name, n);
	}
	return rc;
}

/* UserData and other bodies: every leaf element, by local name. */
static int
event_leaves(struct event *ev, const xmlNode *parent, size_t *cap)
{
	int rc = CD_EOK;

	for (const xmlNode *n = parent->children; n != NULL && rc == CD_EOK;
	    n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlFirstElementChild((xmlNode *)n) != NULL)
			rc = event_leaves(ev, n, cap);
		else
			rc = event_add_field(ev, cap, (const char *)n->name, n);
	}
	return rc;
}

static int
event_extract(struct event *ev, const xmlNode *root)
{
	size_t cap = 0;
	int rc = CD_EOK;

	for (const xmlNode *n = root->children; n != NULL && rc == CD_EOK;
	    n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (event_is(n, "System"))
			rc = event_system(ev, n);
		else if (event_is(n, "EventData"))
			rc = event_eventdata(ev, n, &cap);
		else if (!event_is(n, "RenderingInfo"))
			rc = event_leaves(ev, n, &cap);
	}
	return rc;
}

int
event_parse(const char *xml, size_t len, struct event **out)
{
	struct event *ev;
	xmlDocPtr doc = NULL;
	char *err = NULL;
	int rc = -ENOMEM;

	*out = NULL;
	soap_init();
	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return -ENOMEM;
	if ((ev->raw = malloc(len + 1)) == NULL)
		goto fail;
	memcpy(ev->raw, xml, len);
	ev->raw[len] = '\0';
	ev->raw_len = len;

	if (soap_xml_has_doctype(xml, len)) {
		rc = event_set_error(ev, "document type declaration refused",
		    NULL);
		goto done;
	}
	doc = event_read(xml, len, 0, &err);
	if (doc == NULL) {
		if ((rc = event_set_error(ev, "malformed event XML", err)) !=
		    CD_EOK)
			goto fail;
		/* Salvage what a recovering parse can still read. */
		free(err);
		doc = event_read(xml, len, XML_PARSE_RECOVER, &err);
	}
	rc = CD_EOK;
	if (doc == NULL)
		goto done;
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		rc = event_set_error(ev, "document type declaration refused",
		    NULL);
		goto done;
	}
	xmlNode *root = xmlDocGetRootElement(doc);
	if (root == NULL || !event_is(root, "Event")) {
		rc = event_set_error(ev, "root element is not Event", NULL);
		goto done;
	}
	rc = event_extract(ev, root);
done:
	if (rc != CD_EOK)
		goto fail;
	xmlFreeDoc(doc);
	free(err);
	*out = ev;
	return CD_EOK;
fail:
	xmlFreeDoc(doc);
	free(err);
	event_free(ev);
	return rc;
}

const char *
event_data(const struct event *ev, const char *name)
{
	if (ev == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < ev->ndata; i++)
		if (strcmp(ev->data[i].name, name) == 0)
			return ev->data[i].value;
	return NULL;
}

void
event_free(struct event *ev)
{
	if (ev == NULL)
		return;
	for (size_t i = 0; i < ev->ndata; i++) {
		free(ev->data[i].name);
		free(ev->data[i].value);
	}
	free(ev->data);
	free(ev->raw);
	free(ev->error);
	free(ev->provider);
	free(ev->provider_guid);
	free(ev->keywords);
	free(ev->time_created);
	free(ev->channel);
	free(ev->computer);
	free(ev->user_sid);
	free(ev->rule_name);
	free(ev);
}
