/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include "buf.h"
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
 *
 * The parse is SAX, not a tree: the profile of the daemon under load
 * showed libxml2's tree building and freeing (one malloc per node, per
 * text, per attribute) as the largest part of event_parse(), which runs
 * once per event in the HTTP threads and again in every output. The
 * callbacks below pick the fields straight from the parser's buffers. The
 * input
 * is UTF-8 already (wsman decoded it), so no encoding conversion is
 * asked for (XML_PARSE_IGNORE_ENC; a declared encoding is ignored as
 * before, when "UTF-8" was forced).
 */
#define EVENT_XML_OPTS	(XML_PARSE_NONET | XML_PARSE_NOERROR | \
			    XML_PARSE_NOWARNING | XML_PARSE_NOCDATA | \
			    XML_PARSE_IGNORE_ENC)

/* A parser context is reused per thread; renewed now and then so that its
 * name dictionary cannot grow without bound on hostile input. */
#define EVENT_CTXT_USES	4096

/* Where the SAX callbacks are within the event. */
enum event_sect {
	EVENT_SECT_NONE,	/* outside, or a section that is skipped */
	EVENT_SECT_SYSTEM,
	EVENT_SECT_DATA,	/* EventData */
	EVENT_SECT_LEAVES	/* UserData and other bodies */
};

/* The System child whose text is being collected. */
enum event_sys {
	EVENT_SYS_NONE,
	EVENT_SYS_EVENTID,
	EVENT_SYS_VERSION,
	EVENT_SYS_LEVEL,
	EVENT_SYS_TASK,
	EVENT_SYS_OPCODE,
	EVENT_SYS_KEYWORDS,
	EVENT_SYS_RECORDID,
	EVENT_SYS_CHANNEL,
	EVENT_SYS_COMPUTER
};

struct event_sax {
	struct event	*ev;
	int		 rc;		/* first failure (-ENOMEM) */
	bool		 doctype;	/* a DTD was seen */
	bool		 bad_root;
	unsigned	 depth;		/* of the current element; root 1 */
	enum event_sect	 sect;
	size_t		 cap;		/* of ev->data */
	size_t		 pos;		/* Data elements seen in EventData */
	/* Text collection: the element at cap_depth and its descendants. */
	unsigned	 cap_depth;	/* 0: not collecting */
	enum event_sys	 cap_sys;	/* a System child, or a field */
	char		*cap_name;	/* field name (owned), for fields */
	struct buf	 text;
};

static pthread_key_t event_ctxt_key;
static pthread_once_t event_ctxt_once = PTHREAD_ONCE_INIT;
static _Thread_local unsigned event_ctxt_uses;

static void	event_ctxt_free(void *);
static void	event_ctxt_key_init(void);
static xmlParserCtxtPtr event_ctxt_get(void);
static char	*event_alloc(struct event *, size_t);
static char	*event_strndup(struct event *, const char *, size_t);
static int	event_set_error(struct event *, const char *, const char *);
static const char *event_attr(struct event_sax *, int, const xmlChar **,
		    const char *, size_t *);
static char	*event_attr_dup(struct event_sax *, int, const xmlChar **,
		    const char *);
static bool	event_u64_str(const char *, uint64_t, uint64_t *);
static bool	event_attr_u32(struct event_sax *, int, const xmlChar **,
		    const char *, uint32_t *);
static void	event_collect(struct event_sax *, enum event_sys,
		    char *);
static void	event_add_field(struct event_sax *, char *, char *);
static void	event_system_start(struct event_sax *, const char *, int,
		    const xmlChar **);
static void	event_system_end(struct event_sax *, char *);
static void	event_sax_start(void *, const xmlChar *, const xmlChar *,
		    const xmlChar *, int, const xmlChar **, int, int,
		    const xmlChar **);
static void	event_commit(struct event_sax *);
static void	event_sax_end(void *, const xmlChar *, const xmlChar *,
		    const xmlChar *);
static void	event_sax_text(void *, const xmlChar *, int);
static void	event_sax_subset(void *, const xmlChar *, const xmlChar *,
		    const xmlChar *);
static int	event_run(struct event *, const char *, size_t, int, char **);
static void	event_clear_fields(struct event *);
static void	event_free_fields(struct event *);

static void
event_ctxt_free(void *p)
{
	xmlFreeParserCtxt(p);
}

static void
event_ctxt_key_init(void)
{
	(void)pthread_key_create(&event_ctxt_key, event_ctxt_free);
}

/* This thread's parser context, or NULL when none can be made. */
static xmlParserCtxtPtr
event_ctxt_get(void)
{
	xmlParserCtxtPtr ctxt;

	pthread_once(&event_ctxt_once, event_ctxt_key_init);
	ctxt = pthread_getspecific(event_ctxt_key);
	if (ctxt != NULL && ++event_ctxt_uses > EVENT_CTXT_USES) {
		xmlFreeParserCtxt(ctxt);
		ctxt = NULL;
		(void)pthread_setspecific(event_ctxt_key, NULL);
	}
	if (ctxt == NULL) {
		if ((ctxt = xmlNewParserCtxt()) == NULL)
			return NULL;
		if (pthread_setspecific(event_ctxt_key, ctxt) != 0) {
			xmlFreeParserCtxt(ctxt);
			return NULL;
		}
		event_ctxt_uses = 0;
	}
	return ctxt;
}

void
event_thread_cleanup(void)
{
	xmlParserCtxtPtr ctxt;

	pthread_once(&event_ctxt_once, event_ctxt_key_init);
	if ((ctxt = pthread_getspecific(event_ctxt_key)) != NULL) {
		(void)pthread_setspecific(event_ctxt_key, NULL);
		xmlFreeParserCtxt(ctxt);
	}
}

/*
 * Every string of an event is its own allocation: callers may replace a
 * field (free it, store a strdup), as the tests and the rule engine do.
 */
static char *
event_alloc(struct event *ev, size_t n)
{
	(void)ev;
	return malloc(n);
}

static char *
event_strndup(struct event *ev, const char *s, size_t n)
{
	char *p = event_alloc(ev, n + 1);

	if (p != NULL) {
		if (n > 0)	/* s is NULL for an empty collected text */
			memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

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
	if ((ev->error = event_strndup(ev, tmp, n)) == NULL)
		return -ENOMEM;
	return CD_EOK;
}

/*
 * The value of the attribute without namespace with this local name, as
 * SAX2 hands it (5 pointers per attribute: local name, prefix, URI, value,
 * end), or NULL; *len gets its length.
 */
static const char *
event_attr(struct event_sax *st, int nattr, const xmlChar **attrs,
    const char *name, size_t *len)
{
	(void)st;
	for (int i = 0; i < nattr; i++) {
		const xmlChar **a = attrs + i * 5;
		if (a[2] == NULL && strcmp((const char *)a[0], name) == 0) {
			*len = (size_t)(a[4] - a[3]);
			return (const char *)a[3];
		}
	}
	return NULL;
}

/*
 * A copy of the attribute's value, or NULL when absent (or
 * out of memory: st->rc). Without entity substitution libxml2 hands '&'
 * (from &amp; or &#38;) as the text "&#38;", for the tree builder to
 * decode (xmlSAX2AttributeNs); every other reference is already replaced.
 */
static char *
event_attr_dup(struct event_sax *st, int nattr, const xmlChar **attrs,
    const char *name)
{
	size_t len, o = 0;
	const char *v = event_attr(st, nattr, attrs, name, &len);
	char *p;

	if (v == NULL)
		return NULL;
	if ((p = event_alloc(st->ev, len + 1)) == NULL) {
		st->rc = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		p[o++] = v[i];
		if (v[i] == '&' && len - i >= 5 && memcmp(v + i, "&#38;", 5) == 0)
			i += 4;
	}
	p[o] = '\0';
	return p;
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
event_attr_u32(struct event_sax *st, int nattr, const xmlChar **attrs,
    const char *name, uint32_t *out)
{
	char tmp[64];
	size_t len;
	const char *v = event_attr(st, nattr, attrs, name, &len);
	uint64_t u;

	/* A number never needs more; longer text is not one. */
	if (v == NULL || len >= sizeof(tmp))
		return false;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	if (!event_u64_str(tmp, UINT32_MAX, &u))
		return false;
	*out = (uint32_t)u;
	return true;
}

/* Collect the text of the current element and its descendants. */
static void
event_collect(struct event_sax *st, enum event_sys sys, char *name)
{
	free(st->cap_name);
	st->cap_depth = st->depth;
	st->cap_sys = sys;
	st->cap_name = name;
	buf_reset(&st->text);
}

static void
event_add_field(struct event_sax *st, char *name, char *value)
{
	struct event *ev = st->ev;

	if (ev->ndata == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 16;
		struct event_field *p = realloc(ev->data, ncap * sizeof(*p));
		if (p == NULL) {
			free(name);
			free(value);
			st->rc = -ENOMEM;
			return;
		}
		ev->data = p;
		st->cap = ncap;
	}
	ev->data[ev->ndata].name = name;
	ev->data[ev->ndata].value = value;
	ev->ndata++;
}

static void
event_system_start(struct event_sax *st, const char *name, int nattr,
    const xmlChar **attrs)
{
	static const struct {
		const char *name;
		enum event_sys sys;
	} texts[] = {
		{ "EventID", EVENT_SYS_EVENTID },
		{ "Version", EVENT_SYS_VERSION },
		{ "Level", EVENT_SYS_LEVEL },
		{ "Task", EVENT_SYS_TASK },
		{ "Opcode", EVENT_SYS_OPCODE },
		{ "Keywords", EVENT_SYS_KEYWORDS },
		{ "EventRecordID", EVENT_SYS_RECORDID },
		{ "Channel", EVENT_SYS_CHANNEL },
		{ "Computer", EVENT_SYS_COMPUTER },
	};
	struct event *ev = st->ev;
	char *v;

	/* An attribute that is absent keeps an earlier value. */
	if (strcmp(name, "Provider") == 0) {
		if ((v = event_attr_dup(st, nattr, attrs, "Name")) != NULL) {
			free(ev->provider);
			ev->provider = v;
		}
		if ((v = event_attr_dup(st, nattr, attrs, "Guid")) != NULL) {
			free(ev->provider_guid);
			ev->provider_guid = v;
		}
	} else if (strcmp(name, "TimeCreated") == 0) {
		int64_t ms;
		if ((v = event_attr_dup(st, nattr, attrs, "SystemTime")) !=
		    NULL) {
			free(ev->time_created);
			ev->time_created = v;
			if (timeparse_rfc3339(v, &ms) == CD_EOK)
				ev->time_created_ms = ms;
		}
	} else if (strcmp(name, "Execution") == 0) {
		event_attr_u32(st, nattr, attrs, "ProcessID", &ev->process_id);
		event_attr_u32(st, nattr, attrs, "ThreadID", &ev->thread_id);
	} else if (strcmp(name, "Security") == 0) {
		if ((v = event_attr_dup(st, nattr, attrs, "UserID")) != NULL) {
			free(ev->user_sid);
			ev->user_sid = v;
		}
	} else {
		for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
			if (strcmp(name, texts[i].name) == 0) {
				event_collect(st, texts[i].sys, NULL);
				break;
			}
	}
}

/* A System child's text is complete. */
static void
event_system_end(struct event_sax *st, char *text)
{
	struct event *ev = st->ev;
	uint64_t v;

	switch (st->cap_sys) {
	case EVENT_SYS_EVENTID:
		if (event_u64_str(text, UINT32_MAX, &v)) {
			ev->event_id = (uint32_t)v;
			ev->has_event_id = true;
		}
		break;
	case EVENT_SYS_VERSION:
		if (event_u64_str(text, UINT32_MAX, &v))
			ev->version = (uint32_t)v;
		break;
	case EVENT_SYS_LEVEL:
		if (event_u64_str(text, UINT32_MAX, &v))
			ev->level = (uint32_t)v;
		break;
	case EVENT_SYS_TASK:
		if (event_u64_str(text, UINT32_MAX, &v))
			ev->task = (uint32_t)v;
		break;
	case EVENT_SYS_OPCODE:
		if (event_u64_str(text, UINT32_MAX, &v))
			ev->opcode = (uint32_t)v;
		break;
	case EVENT_SYS_RECORDID:
		if (event_u64_str(text, UINT64_MAX, &v)) {
			ev->record_id = v;
			ev->has_record_id = true;
		}
		break;
	case EVENT_SYS_KEYWORDS:
		free(ev->keywords);
		ev->keywords = text;
		return;
	case EVENT_SYS_CHANNEL:
		free(ev->channel);
		ev->channel = text;
		return;
	case EVENT_SYS_COMPUTER:
		free(ev->computer);
		ev->computer = text;
		return;
	case EVENT_SYS_NONE:
		break;
	}
	free(text);
}

static void
event_sax_start(void *ctx, const xmlChar *lname, const xmlChar *prefix,
    const xmlChar *uri, int nns, const xmlChar **ns, int nattr, int ndef,
    const xmlChar **attrs)
{
	struct event_sax *st = ((xmlParserCtxtPtr)ctx)->_private;
	const char *name = (const char *)lname;

	(void)prefix;
	(void)uri;
	(void)nns;
	(void)ns;
	(void)ndef;
	if (st->rc != CD_EOK || st->bad_root)
		return;
	/*
	 * The depth comes from libxml2's own element stack (pushed after
	 * this call): a recovering parse drops a broken start tag from it
	 * without an end callback, and what follows belongs to the parent,
	 * as in the tree libxml2 builds. A field left open that way is
	 * complete now.
	 */
	st->depth = (unsigned)((xmlParserCtxtPtr)ctx)->nameNr + 1;
	if (st->cap_depth != 0 && st->cap_depth >= st->depth)
		event_commit(st);
	if (st->depth == 1) {
		/* Not an event: the rest is only checked to be XML. */
		st->bad_root = strcmp(name, "Event") != 0;
		return;
	}
	if (st->depth == 2) {
		st->pos = 0;
		if (strcmp(name, "System") == 0)
			st->sect = EVENT_SECT_SYSTEM;
		else if (strcmp(name, "EventData") == 0)
			st->sect = EVENT_SECT_DATA;
		else if (strcmp(name, "RenderingInfo") == 0)
			st->sect = EVENT_SECT_NONE;
		else
			st->sect = EVENT_SECT_LEAVES;
		return;
	}
	if (st->sect == EVENT_SECT_LEAVES) {
		/* Only leaves are fields: the parent has a child, so it is
		 * not one; its text so far is dropped (as the tree walk
		 * never read it). */
		if (st->cap_depth != 0 && st->cap_depth == st->depth - 1) {
			st->cap_depth = 0;
			free(st->cap_name);
			st->cap_name = NULL;
		}
		if (st->cap_depth == 0)
			event_collect(st, EVENT_SYS_NONE, NULL);
		if (st->cap_depth == st->depth && (st->cap_name =
		    event_strndup(st->ev, name, strlen(name))) == NULL)
			st->rc = -ENOMEM;
		return;
	}
	if (st->depth != 3)
		return;		/* inside a field: its text is collected */
	if (st->sect == EVENT_SECT_SYSTEM) {
		event_system_start(st, name, nattr, attrs);
	} else if (st->sect == EVENT_SECT_DATA) {
		char *fname;
		if (strcmp(name, "Data") == 0) {
			char tmp[32];
			st->pos++;
			fname = event_attr_dup(st, nattr, attrs, "Name");
			if (fname == NULL && st->rc == CD_EOK) {
				int n = snprintf(tmp, sizeof(tmp), "Data%zu",
				    st->pos);
				fname = event_strndup(st->ev, tmp, (size_t)n);
			}
		} else
			fname = event_strndup(st->ev, name, strlen(name));
		if (fname == NULL)
			st->rc = -ENOMEM;
		else
			event_collect(st, EVENT_SYS_NONE, fname);
	}
}

/* The collected text is complete: a System value or a field. */
static void
event_commit(struct event_sax *st)
{
	char *text = event_strndup(st->ev, (const char *)st->text.data,
	    st->text.len);

	char *name = st->cap_name;

	st->cap_depth = 0;
	st->cap_name = NULL;
	if (text == NULL) {
		free(name);
		st->rc = -ENOMEM;
	} else if (st->sect == EVENT_SECT_SYSTEM) {
		free(name);
		event_system_end(st, text);
	} else
		event_add_field(st, name, text);
}

static void
event_sax_end(void *ctx, const xmlChar *lname, const xmlChar *prefix,
    const xmlChar *uri)
{
	struct event_sax *st = ((xmlParserCtxtPtr)ctx)->_private;

	(void)lname;
	(void)prefix;
	(void)uri;
	if (st->rc != CD_EOK || st->bad_root)
		return;
	/* libxml2 pops its name stack after this call. */
	st->depth = (unsigned)((xmlParserCtxtPtr)ctx)->nameNr;
	if (st->cap_depth != 0 && st->cap_depth >= st->depth)
		event_commit(st);
	if (st->depth == 2)
		st->sect = EVENT_SECT_NONE;
}

static void
event_sax_text(void *ctx, const xmlChar *s, int len)
{
	struct event_sax *st = ((xmlParserCtxtPtr)ctx)->_private;

	if (st->cap_depth == 0 || st->rc != CD_EOK || len <= 0)
		return;
	/* A broken start tag was dropped (see event_sax_start): the text
	 * belongs to the parent, and the field is complete. */
	if ((unsigned)((xmlParserCtxtPtr)ctx)->nameNr < st->cap_depth) {
		event_commit(st);
		return;
	}
	if (buf_append(&st->text, s, (size_t)len) != CD_EOK)
		st->rc = -ENOMEM;
}

static void
event_sax_subset(void *ctx, const xmlChar *name, const xmlChar *eid,
    const xmlChar *sid)
{
	struct event_sax *st = ((xmlParserCtxtPtr)ctx)->_private;

	(void)name;
	(void)eid;
	(void)sid;
	st->doctype = true;
	xmlStopParser(ctx);
}

/*
 * One SAX pass over the event with the safe options (and extra). *err gets
 * libxml2's first error text (or NULL), to be freed. Returns CD_EOK when
 * the XML is well-formed, CD_EPARSE when not, -ENOMEM.
 */
static int
event_run(struct event *ev, const char *xml, size_t len, int extra,
    char **err)
{
	struct event_sax st;
	xmlSAXHandler sax;
	xmlParserCtxtPtr ctxt;
	const char *msg = NULL;
	int rc;

	*err = NULL;
	if (len > INT_MAX) {
		*err = event_strndup(ev, "event too large", 15);
		return *err != NULL ? CD_EPARSE : -ENOMEM;
	}
	if ((ctxt = event_ctxt_get()) == NULL)
		return -ENOMEM;
	memset(&st, 0, sizeof(st));
	st.ev = ev;
	buf_init(&st.text, 0);
	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = event_sax_start;
	sax.endElementNs = event_sax_end;
	sax.characters = event_sax_text;
	sax.ignorableWhitespace = event_sax_text;
	sax.cdataBlock = event_sax_text;
	sax.internalSubset = event_sax_subset;
	/* xmlCtxtUseOptions() edits the handler, so it is set each time. */
	memcpy(ctxt->sax, &sax, sizeof(sax));
	ctxt->_private = &st;
	(void)xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL,
	    EVENT_XML_OPTS | extra);
	/* A recovered parse stops at the damage without closing the open
	 * elements; the text read so far counts, as in a recovered tree. */
	if ((extra & XML_PARSE_RECOVER) && st.cap_depth != 0 && st.rc ==
	    CD_EOK && !st.bad_root)
		event_commit(&st);
	ctxt->_private = NULL;
	free(st.cap_name);
	/* Nothing is built, but keep the context clean if a handler did. */
	if (ctxt->myDoc != NULL) {
		xmlFreeDoc(ctxt->myDoc);
		ctxt->myDoc = NULL;
	}
	buf_free(&st.text);
	if ((rc = st.rc) != CD_EOK)
		return rc;
	if (st.doctype)
		return event_set_error(ev, "document type declaration refused",
		    NULL) == CD_EOK ? CD_EOK : -ENOMEM;
	const xmlError *e = xmlCtxtGetLastError(ctxt);
	if (e != NULL && e->message != NULL)
		msg = e->message;
	else if (!ctxt->wellFormed)
		msg = "not well-formed";
	if (msg != NULL && (*err = event_strndup(ev, msg, strlen(msg))) ==
	    NULL)
		return -ENOMEM;
	if (!ctxt->wellFormed && !(extra & XML_PARSE_RECOVER))
		return CD_EPARSE;
	if (st.bad_root)
		return event_set_error(ev, "root element is not Event",
		    NULL) == CD_EOK ? CD_EOK : -ENOMEM;
	return CD_EOK;
}

/* Forget what a failed pass read, before the recovering one. */
static void
event_clear_fields(struct event *ev)
{
	char *raw = ev->raw, *error = ev->error;
	size_t raw_len = ev->raw_len;

	ev->raw = NULL;
	ev->error = NULL;
	event_free_fields(ev);
	memset(ev, 0, sizeof(*ev));
	ev->raw = raw;
	ev->raw_len = raw_len;
	ev->error = error;
	ev->malformed = true;
}

int
event_parse(const char *xml, size_t len, struct event **out)
{
	struct event *ev;
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
	rc = event_run(ev, xml, len, 0, &err);
	if (rc == CD_EPARSE) {
		if ((rc = event_set_error(ev, "malformed event XML", err)) !=
		    CD_EOK)
			goto fail;
		/* Salvage what a recovering parse can still read. */
		event_clear_fields(ev);
		free(err);
		rc = event_run(ev, xml, len, XML_PARSE_RECOVER, &err);
	}
done:
	if (rc != CD_EOK)
		goto fail;
	free(err);
	*out = ev;
	return CD_EOK;
fail:
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

/* Free every string and the data array, not the struct. */
static void
event_free_fields(struct event *ev)
{
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
}

void
event_free(struct event *ev)
{
	if (ev == NULL)
		return;
	event_free_fields(ev);
	free(ev);
}
