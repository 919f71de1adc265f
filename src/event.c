/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "slab.h"
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
 * input is UTF-8 already (wsman decoded it), so no encoding conversion is
 * asked for (XML_PARSE_IGNORE_ENC; a declared encoding is ignored as
 * before, when "UTF-8" was forced).
 *
 * Memory: the next profile showed malloc and free (one per string, the
 * field array's growth, libxml2's copy of the input, the text buffer) as
 * a tenth of the threads that parse. While parsing, the strings go into
 * scratch buffers the thread keeps (struct event_tls); the finished event
 * is then one allocation (struct event_block) holding the struct, the
 * field array, the raw text and every string, and event_free() is one
 * free() (plus rule_name, which the rule engine owns separately).
 *
 * That allocation comes from the parsing thread's slab (slab.h): the
 * events of the daemon outlive the request and are freed by other threads
 * (the outputs, through the event cache), and glibc then served their
 * few-KB blocks from its sorted bins: under full load the HTTP threads
 * spent 4.4 us per event more in malloc and free than the same parse run
 * alone. With the slab, full-speed ingest rose 5.5% (BENCHMARKS.md).
 */
#define EVENT_XML_OPTS	(XML_PARSE_NONET | XML_PARSE_NOERROR | \
			    XML_PARSE_NOWARNING | XML_PARSE_NOCDATA | \
			    XML_PARSE_IGNORE_ENC)

/* A parser context is reused per thread; renewed now and then so that its
 * name dictionary cannot grow without bound on hostile input. */
#define EVENT_CTXT_USES	4096

/* A thread's scratch buffers larger than this after a parse are released:
 * one huge event must not pin its size in every thread. */
#define EVENT_SCRATCH_KEEP	((size_t)256 * 1024)

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

/*
 * The element and attribute names the callbacks look for. libxml2 hands
 * every name from the parser context's dictionary, one pointer per
 * distinct name, so they are compared by pointer with these, looked up in
 * the same dictionary once per context (strcmp() over the names was a
 * twentieth of event_parse()). The System children whose text is read
 * are in the order of enum event_sys.
 */
enum event_name {
	EVENT_N_EVENT,
	EVENT_N_SYSTEM,
	EVENT_N_EVENTDATA,
	EVENT_N_RENDERINGINFO,
	EVENT_N_PROVIDER,
	EVENT_N_TIMECREATED,
	EVENT_N_EXECUTION,
	EVENT_N_SECURITY,
	EVENT_N_DATA,
	EVENT_N_EVENTID,	/* first System text, EVENT_SYS_EVENTID */
	EVENT_N_VERSION,
	EVENT_N_LEVEL,
	EVENT_N_TASK,
	EVENT_N_OPCODE,
	EVENT_N_KEYWORDS,
	EVENT_N_RECORDID,
	EVENT_N_CHANNEL,
	EVENT_N_COMPUTER,	/* last System text */
	EVENT_N_A_NAME,		/* attributes */
	EVENT_N_A_GUID,
	EVENT_N_A_SYSTEMTIME,
	EVENT_N_A_PROCESSID,
	EVENT_N_A_THREADID,
	EVENT_N_A_USERID,
	EVENT_N_MAX
};

static const char *const event_names[EVENT_N_MAX] = {
	[EVENT_N_EVENT] = "Event",
	[EVENT_N_SYSTEM] = "System",
	[EVENT_N_EVENTDATA] = "EventData",
	[EVENT_N_RENDERINGINFO] = "RenderingInfo",
	[EVENT_N_PROVIDER] = "Provider",
	[EVENT_N_TIMECREATED] = "TimeCreated",
	[EVENT_N_EXECUTION] = "Execution",
	[EVENT_N_SECURITY] = "Security",
	[EVENT_N_DATA] = "Data",
	[EVENT_N_EVENTID] = "EventID",
	[EVENT_N_VERSION] = "Version",
	[EVENT_N_LEVEL] = "Level",
	[EVENT_N_TASK] = "Task",
	[EVENT_N_OPCODE] = "Opcode",
	[EVENT_N_KEYWORDS] = "Keywords",
	[EVENT_N_RECORDID] = "EventRecordID",
	[EVENT_N_CHANNEL] = "Channel",
	[EVENT_N_COMPUTER] = "Computer",
	[EVENT_N_A_NAME] = "Name",
	[EVENT_N_A_GUID] = "Guid",
	[EVENT_N_A_SYSTEMTIME] = "SystemTime",
	[EVENT_N_A_PROCESSID] = "ProcessID",
	[EVENT_N_A_THREADID] = "ThreadID",
	[EVENT_N_A_USERID] = "UserID",
};

_Static_assert(EVENT_N_COMPUTER - EVENT_N_EVENTID ==
    EVENT_SYS_COMPUTER - EVENT_SYS_EVENTID, "System texts in order");

/* The string members of struct event, as slots of struct event_draft. */
enum event_str {
	EVENT_STR_PROVIDER,
	EVENT_STR_GUID,
	EVENT_STR_KEYWORDS,
	EVENT_STR_TIME,
	EVENT_STR_CHANNEL,
	EVENT_STR_COMPUTER,
	EVENT_STR_USER_SID,
	EVENT_STR_ERROR,
	EVENT_STR_MAX
};

/* A field while parsing: where its name and value are in the strings. */
struct event_foff {
	size_t	 name;
	size_t	 value;
};

/* What a thread keeps from one parse to the next. */
struct event_tls {
	xmlParserCtxtPtr ctxt;
	unsigned	 uses;		/* parses with this ctxt */
	const xmlChar	*names[EVENT_N_MAX];	/* in ctxt->dict */
	struct buf	 in;		/* the input, NUL-terminated */
	struct buf	 text;		/* the text being collected */
	struct buf	 strs;		/* the event's strings, back to back,
					 * each NUL-terminated */
	struct event_foff *fields;
	size_t		 fcap;
	struct slab	 slab;		/* where events are made (slab.h) */
};

/*
 * The event being parsed: numbers and flags in ev (its pointers unused),
 * strings as offsets into tls->strs, which may move while it grows.
 */
struct event_draft {
	struct event	 ev;
	struct event_tls *tls;
	size_t		 str[EVENT_STR_MAX];	/* offset + 1; 0: NULL */
	size_t		 ndata;			/* in tls->fields */
};

/* A string event_set() stored: one allocation each, freed with the event. */
struct event_extra {
	struct event_extra *next;
	char		 s[];
};

/*
 * A parsed event: this struct, then the field array, the raw text and the
 * strings, in one allocation.
 */
struct event_block {
	struct event	 ev;		/* first: event_free() casts back */
	struct event_extra *extra;
	struct slab_chunk *owner;	/* for slab_free() */
	size_t		 size;		/* of the whole block */
	alignas(struct event_field) char rest[];
};

struct event_sax {
	struct event_draft *d;
	int		 rc;		/* first failure (-ENOMEM) */
	bool		 doctype;	/* a DTD was seen */
	bool		 bad_root;
	unsigned	 depth;		/* of the current element; root 1 */
	enum event_sect	 sect;
	size_t		 pos;		/* Data elements seen in EventData */
	/* Text collection: the element at cap_depth and its descendants. */
	unsigned	 cap_depth;	/* 0: not collecting */
	enum event_sys	 cap_sys;	/* a System child, or a field */
	size_t		 cap_name;	/* field name (offset + 1), for fields */
};

static pthread_key_t event_tls_key;
static pthread_once_t event_tls_once = PTHREAD_ONCE_INIT;

static void	event_tls_free(void *);
static void	event_tls_key_init(void);
static struct event_tls *event_tls_get(void);
static void	event_tls_trim(struct event_tls *);
static size_t	event_str_add(struct event_draft *, const char *, size_t);
static const char *event_str(const struct event_draft *, size_t);
static int	event_set_error(struct event_draft *, const char *,
		    const char *);
static const char *event_attr(int, const xmlChar **, const xmlChar *,
		    size_t *);
static size_t	event_attr_dup(struct event_sax *, int, const xmlChar **,
		    enum event_name);
static bool	event_u64_str(const char *, uint64_t, uint64_t *);
static bool	event_attr_u32(struct event_sax *, int, const xmlChar **,
		    enum event_name, uint32_t *);
static void	event_collect(struct event_sax *, enum event_sys, size_t);
static void	event_add_field(struct event_sax *, size_t, size_t);
static void	event_system_start(struct event_sax *, const xmlChar *,
		    int, const xmlChar **);
static void	event_system_end(struct event_sax *);
static void	event_sax_start(void *, const xmlChar *, const xmlChar *,
		    const xmlChar *, int, const xmlChar **, int, int,
		    const xmlChar **);
static void	event_commit(struct event_sax *);
static void	event_sax_end(void *, const xmlChar *, const xmlChar *,
		    const xmlChar *);
static void	event_sax_text(void *, const xmlChar *, int);
static void	event_sax_subset(void *, const xmlChar *, const xmlChar *,
		    const xmlChar *);
static int	event_read(xmlParserCtxtPtr, const char *, int, int);
static int	event_run(struct event_draft *, const char *, size_t, int,
		    const char **);
static void	event_clear_fields(struct event_draft *);
static int	event_build(struct event_draft *, const char *, size_t,
		    struct event **);

static void
event_tls_free(void *p)
{
	struct event_tls *t = p;

	if (t == NULL)
		return;
	xmlFreeParserCtxt(t->ctxt);
	buf_free(&t->in);
	buf_free(&t->text);
	buf_free(&t->strs);
	free(t->fields);
	slab_drop(&t->slab);
	free(t);
}

static void
event_tls_key_init(void)
{
	(void)pthread_key_create(&event_tls_key, event_tls_free);
}

/* This thread's parser state with a usable context, or NULL (-ENOMEM). */
static struct event_tls *
event_tls_get(void)
{
	struct event_tls *t;

	pthread_once(&event_tls_once, event_tls_key_init);
	if ((t = pthread_getspecific(event_tls_key)) == NULL) {
		if ((t = calloc(1, sizeof(*t))) == NULL)
			return NULL;
		buf_init(&t->in, 0);
		buf_init(&t->text, 0);
		buf_init(&t->strs, 0);
		if (pthread_setspecific(event_tls_key, t) != 0) {
			free(t);
			return NULL;
		}
	}
	if (t->ctxt != NULL && ++t->uses > EVENT_CTXT_USES) {
		xmlFreeParserCtxt(t->ctxt);
		t->ctxt = NULL;
	}
	if (t->ctxt == NULL) {
		if ((t->ctxt = xmlNewParserCtxt()) == NULL)
			return NULL;
		t->uses = 0;
		for (int i = 0; i < EVENT_N_MAX; i++)
			if ((t->names[i] = xmlDictLookup(t->ctxt->dict,
			    (const xmlChar *)event_names[i], -1)) == NULL) {
				xmlFreeParserCtxt(t->ctxt);
				t->ctxt = NULL;
				return NULL;
			}
	}
	return t;
}

/* After a parse: give back what an unusually large event made grow. */
static void
event_tls_trim(struct event_tls *t)
{
	if (t->in.cap > EVENT_SCRATCH_KEEP)
		buf_free(&t->in);
	if (t->text.cap > EVENT_SCRATCH_KEEP)
		buf_free(&t->text);
	if (t->strs.cap > EVENT_SCRATCH_KEEP)
		buf_free(&t->strs);
	if (t->fcap * sizeof(*t->fields) > EVENT_SCRATCH_KEEP) {
		free(t->fields);
		t->fields = NULL;
		t->fcap = 0;
	}
}

void
event_thread_cleanup(void)
{
	struct event_tls *t;

	pthread_once(&event_tls_once, event_tls_key_init);
	if ((t = pthread_getspecific(event_tls_key)) != NULL) {
		(void)pthread_setspecific(event_tls_key, NULL);
		event_tls_free(t);
	}
}

/* Store s[0..n) as a string of the event: its offset + 1, 0 on -ENOMEM. */
static size_t
event_str_add(struct event_draft *d, const char *s, size_t n)
{
	struct buf *b = &d->tls->strs;
	size_t off = b->len;

	if (buf_reserve(b, n + 1) != CD_EOK)
		return 0;
	if (n > 0)	/* s is NULL for an empty collected text */
		memcpy(b->data + off, s, n);
	b->data[off + n] = '\0';
	b->len = off + n + 1;
	b->data[b->len] = '\0';	/* buf's own terminator */
	return off + 1;
}

/* The string at offset + 1 (valid until the strings grow), or NULL. */
static const char *
event_str(const struct event_draft *d, size_t ref)
{
	return ref == 0 ? NULL : (const char *)d->tls->strs.data + ref - 1;
}

static int
event_set_error(struct event_draft *d, const char *what, const char *detail)
{
	char tmp[512];

	d->ev.malformed = true;
	if (d->str[EVENT_STR_ERROR] != 0)
		return CD_EOK;	/* keep the first reason */
	snprintf(tmp, sizeof(tmp), "%s%s%s", what, detail ? ": " : "",
	    detail ? detail : "");
	/* libxml2 messages end with a newline. */
	size_t n = strlen(tmp);
	while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == ' '))
		tmp[--n] = '\0';
	if ((d->str[EVENT_STR_ERROR] = event_str_add(d, tmp, n)) == 0)
		return -ENOMEM;
	return CD_EOK;
}

/*
 * The value of the attribute without namespace with this local name, as
 * SAX2 hands it (5 pointers per attribute: local name, prefix, URI, value,
 * end), or NULL; *len gets its length. name is from the context's
 * dictionary, as the attributes' names are.
 */
static const char *
event_attr(int nattr, const xmlChar **attrs, const xmlChar *name,
    size_t *len)
{
	for (int i = 0; i < nattr; i++) {
		const xmlChar **a = attrs + i * 5;
		if (a[2] == NULL && a[0] == name) {
			*len = (size_t)(a[4] - a[3]);
			return (const char *)a[3];
		}
	}
	return NULL;
}

/*
 * The attribute's value stored as a string of the event (offset + 1), or 0
 * when absent (or out of memory: st->rc). Without entity substitution
 * libxml2 hands '&' (from &amp; or &#38;) as the text "&#38;", for the
 * tree builder to decode (xmlSAX2AttributeNs); every other reference is
 * already replaced.
 */
static size_t
event_attr_dup(struct event_sax *st, int nattr, const xmlChar **attrs,
    enum event_name name)
{
	struct buf *b = &st->d->tls->strs;
	size_t len, off, o;
	const char *v = event_attr(nattr, attrs, st->d->tls->names[name], &len);
	char *p;

	if (v == NULL)
		return 0;
	if (buf_reserve(b, len + 1) != CD_EOK) {
		st->rc = -ENOMEM;
		return 0;
	}
	off = b->len;
	p = (char *)b->data + off;
	o = 0;
	for (size_t i = 0; i < len; ) {
		const char *amp = memchr(v + i, '&', len - i);
		size_t n = amp != NULL ? (size_t)(amp - (v + i)) + 1 : len - i;
		memcpy(p + o, v + i, n);
		o += n;
		i += n;
		if (amp != NULL && len - i >= 4 && memcmp(v + i, "#38;", 4) == 0)
			i += 4;
	}
	p[o] = '\0';
	b->len = off + o + 1;
	b->data[b->len] = '\0';	/* buf's own terminator */
	return off + 1;
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
    enum event_name name, uint32_t *out)
{
	char tmp[64];
	size_t len;
	const char *v = event_attr(nattr, attrs, st->d->tls->names[name], &len);
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

/* Collect the text of the current element and its descendants. A name
 * collected before is dropped (it stays unused in the strings). */
static void
event_collect(struct event_sax *st, enum event_sys sys, size_t name)
{
	st->cap_depth = st->depth;
	st->cap_sys = sys;
	st->cap_name = name;
	buf_reset(&st->d->tls->text);
}

static void
event_add_field(struct event_sax *st, size_t name, size_t value)
{
	struct event_draft *d = st->d;
	struct event_tls *t = d->tls;

	if (d->ndata == t->fcap) {
		size_t ncap = t->fcap ? t->fcap * 2 : 32;
		struct event_foff *p = reallocarray(t->fields, ncap,
		    sizeof(*p));
		if (p == NULL) {
			st->rc = -ENOMEM;
			return;
		}
		t->fields = p;
		t->fcap = ncap;
	}
	t->fields[d->ndata].name = name;
	t->fields[d->ndata].value = value;
	d->ndata++;
}

static void
event_system_start(struct event_sax *st, const xmlChar *name, int nattr,
    const xmlChar **attrs)
{
	struct event_draft *d = st->d;
	const xmlChar *const *n = d->tls->names;
	size_t v;

	/* An attribute that is absent keeps an earlier value. */
	if (name == n[EVENT_N_PROVIDER]) {
		if ((v = event_attr_dup(st, nattr, attrs, EVENT_N_A_NAME)) != 0)
			d->str[EVENT_STR_PROVIDER] = v;
		if ((v = event_attr_dup(st, nattr, attrs, EVENT_N_A_GUID)) != 0)
			d->str[EVENT_STR_GUID] = v;
	} else if (name == n[EVENT_N_TIMECREATED]) {
		int64_t ms;
		if ((v = event_attr_dup(st, nattr, attrs,
		    EVENT_N_A_SYSTEMTIME)) != 0) {
			d->str[EVENT_STR_TIME] = v;
			if (timeparse_rfc3339(event_str(d, v), &ms) == CD_EOK)
				d->ev.time_created_ms = ms;
		}
	} else if (name == n[EVENT_N_EXECUTION]) {
		event_attr_u32(st, nattr, attrs, EVENT_N_A_PROCESSID,
		    &d->ev.process_id);
		event_attr_u32(st, nattr, attrs, EVENT_N_A_THREADID,
		    &d->ev.thread_id);
	} else if (name == n[EVENT_N_SECURITY]) {
		if ((v = event_attr_dup(st, nattr, attrs, EVENT_N_A_USERID)) !=
		    0)
			d->str[EVENT_STR_USER_SID] = v;
	} else {
		for (int i = EVENT_N_EVENTID; i <= EVENT_N_COMPUTER; i++)
			if (name == n[i]) {
				event_collect(st, (enum event_sys)
				    (EVENT_SYS_EVENTID + (i - EVENT_N_EVENTID)),
				    0);
				break;
			}
	}
}

/* A System child's text (in tls->text) is complete. */
static void
event_system_end(struct event_sax *st)
{
	struct event_draft *d = st->d;
	struct event *ev = &d->ev;
	const struct buf *tb = &d->tls->text;
	const char *text = tb->data != NULL ? (const char *)tb->data : "";
	enum event_str slot;
	uint64_t v;

	switch (st->cap_sys) {
	case EVENT_SYS_EVENTID:
		if (event_u64_str(text, UINT32_MAX, &v)) {
			ev->event_id = (uint32_t)v;
			ev->has_event_id = true;
		}
		return;
	case EVENT_SYS_VERSION:
		if (event_u64_str(text, UINT32_MAX, &v))
			ev->version = (uint32_t)v;
		return;
	case EVENT_SYS_LEVEL:
		if (event_u64_str(text, UINT32_MAX, &v))
			ev->level = (uint32_t)v;
		return;
	case EVENT_SYS_TASK:
		if (event_u64_str(text, UINT32_MAX, &v))
			ev->task = (uint32_t)v;
		return;
	case EVENT_SYS_OPCODE:
		if (event_u64_str(text, UINT32_MAX, &v))
			ev->opcode = (uint32_t)v;
		return;
	case EVENT_SYS_RECORDID:
		if (event_u64_str(text, UINT64_MAX, &v)) {
			ev->record_id = v;
			ev->has_record_id = true;
		}
		return;
	case EVENT_SYS_KEYWORDS:
		slot = EVENT_STR_KEYWORDS;
		break;
	case EVENT_SYS_CHANNEL:
		slot = EVENT_STR_CHANNEL;
		break;
	case EVENT_SYS_COMPUTER:
		slot = EVENT_STR_COMPUTER;
		break;
	case EVENT_SYS_NONE:
	default:
		return;
	}
	if ((v = event_str_add(d, text, tb->len)) == 0)
		st->rc = -ENOMEM;
	else
		d->str[slot] = (size_t)v;
}

static void
event_sax_start(void *ctx, const xmlChar *lname, const xmlChar *prefix,
    const xmlChar *uri, int nns, const xmlChar **ns, int nattr, int ndef,
    const xmlChar **attrs)
{
	struct event_sax *st = ((xmlParserCtxtPtr)ctx)->_private;
	const char *name = (const char *)lname;
	const xmlChar *const *n;

	(void)prefix;
	(void)uri;
	(void)nns;
	(void)ns;
	(void)ndef;
	if (st->rc != CD_EOK || st->bad_root)
		return;
	n = st->d->tls->names;
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
		st->bad_root = lname != n[EVENT_N_EVENT];
		return;
	}
	if (st->depth == 2) {
		st->pos = 0;
		if (lname == n[EVENT_N_SYSTEM])
			st->sect = EVENT_SECT_SYSTEM;
		else if (lname == n[EVENT_N_EVENTDATA])
			st->sect = EVENT_SECT_DATA;
		else if (lname == n[EVENT_N_RENDERINGINFO])
			st->sect = EVENT_SECT_NONE;
		else
			st->sect = EVENT_SECT_LEAVES;
		return;
	}
	if (st->sect == EVENT_SECT_LEAVES) {
		/* Only leaves are fields: the parent has a child, so it is
		 * not one; its text so far is dropped (as the tree walk
		 * never read it). */
		if (st->cap_depth != 0 && st->cap_depth == st->depth - 1)
			st->cap_depth = 0;
		if (st->cap_depth == 0) {
			event_collect(st, EVENT_SYS_NONE, 0);
			if ((st->cap_name = event_str_add(st->d, name,
			    strlen(name))) == 0)
				st->rc = -ENOMEM;
		}
		return;
	}
	if (st->depth != 3)
		return;		/* inside a field: its text is collected */
	if (st->sect == EVENT_SECT_SYSTEM) {
		event_system_start(st, lname, nattr, attrs);
	} else if (st->sect == EVENT_SECT_DATA) {
		size_t fname;
		if (lname == n[EVENT_N_DATA]) {
			char tmp[32];
			st->pos++;
			fname = event_attr_dup(st, nattr, attrs, EVENT_N_A_NAME);
			if (fname == 0 && st->rc == CD_EOK) {
				int tn = snprintf(tmp, sizeof(tmp), "Data%zu",
				    st->pos);
				fname = event_str_add(st->d, tmp, (size_t)tn);
			}
		} else
			fname = event_str_add(st->d, name, strlen(name));
		if (fname == 0)
			st->rc = -ENOMEM;
		else
			event_collect(st, EVENT_SYS_NONE, fname);
	}
}

/* The collected text is complete: a System value or a field. */
static void
event_commit(struct event_sax *st)
{
	const struct buf *tb = &st->d->tls->text;
	size_t name = st->cap_name, value;

	st->cap_depth = 0;
	st->cap_name = 0;
	if (st->sect == EVENT_SECT_SYSTEM) {
		event_system_end(st);
		return;
	}
	if ((value = event_str_add(st->d, (const char *)tb->data, tb->len)) ==
	    0)
		st->rc = -ENOMEM;
	else
		event_add_field(st, name, value);
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
	if (buf_append(&st->d->tls->text, s, (size_t)len) != CD_EOK)
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
 * Parse xml[0..len) with ctxt, as xmlCtxtReadMemory() does, but reading
 * the text in place: xmlCtxtReadMemory() copies it into a new growable
 * buffer (an 8 KiB malloc, a copy and its growth per event). The input
 * stream is then the kind libxml2 makes for a string
 * (xmlNewStringInputStream(), no buffer behind it), so the text must be
 * NUL-terminated at len, as the caller guarantees. (A static input buffer
 * does not work: libxml2 2.9 shrinks it under the parser.) Text with a NUL
 * byte, text libxml2 would convert (a UTF-16/UCS-4/EBCDIC signature in
 * the first 4 bytes, which XML_PARSE_IGNORE_ENC does not stop) and empty
 * text take xmlCtxtReadMemory(). CD_EOK or -ENOMEM.
 */
static int
event_read(xmlParserCtxtPtr ctxt, const char *xml, int len, int opts)
{
	xmlParserInputPtr in;
	xmlCharEncoding enc = XML_CHAR_ENCODING_NONE;

	if (len >= 4)
		enc = xmlDetectCharEncoding((const xmlChar *)xml, 4);
	if (len == 0 || (enc != XML_CHAR_ENCODING_NONE &&
	    enc != XML_CHAR_ENCODING_UTF8) ||
	    memchr(xml, '\0', (size_t)len) != NULL) {
		(void)xmlCtxtReadMemory(ctxt, xml, len, NULL, NULL, opts);
		return CD_EOK;
	}
	xmlCtxtReset(ctxt);
	if ((in = xmlNewInputStream(ctxt)) == NULL)
		return -ENOMEM;
	in->base = in->cur = (const xmlChar *)xml;
	in->length = len;
	in->end = in->base + len;
	(void)inputPush(ctxt, in);	/* the stack is empty after a reset */
	(void)xmlCtxtUseOptions(ctxt, opts);
	(void)xmlParseDocument(ctxt);
	return CD_EOK;
}

/*
 * One SAX pass over the event (xml NUL-terminated at len) with the safe
 * options (and extra). *err gets libxml2's first error text (or NULL),
 * valid until the next pass. Returns CD_EOK when the XML is well-formed,
 * CD_EPARSE when not, -ENOMEM.
 */
static int
event_run(struct event_draft *d, const char *xml, size_t len, int extra,
    const char **err)
{
	struct event_sax st;
	xmlSAXHandler sax;
	xmlParserCtxtPtr ctxt = d->tls->ctxt;
	int rc;

	*err = NULL;
	if (len > INT_MAX) {
		*err = "event too large";
		return CD_EPARSE;
	}
	memset(&st, 0, sizeof(st));
	st.d = d;
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
	rc = event_read(ctxt, xml, (int)len, EVENT_XML_OPTS | extra);
	/* A recovered parse stops at the damage without closing the open
	 * elements; the text read so far counts, as in a recovered tree. */
	if ((extra & XML_PARSE_RECOVER) && st.cap_depth != 0 && st.rc ==
	    CD_EOK && !st.bad_root)
		event_commit(&st);
	ctxt->_private = NULL;
	/* Nothing is built, but keep the context clean if a handler did. */
	if (ctxt->myDoc != NULL) {
		xmlFreeDoc(ctxt->myDoc);
		ctxt->myDoc = NULL;
	}
	if (rc != CD_EOK)
		return rc;
	if ((rc = st.rc) != CD_EOK)
		return rc;
	if (st.doctype)
		return event_set_error(d, "document type declaration refused",
		    NULL) == CD_EOK ? CD_EOK : -ENOMEM;
	const xmlError *e = xmlCtxtGetLastError(ctxt);
	if (e != NULL && e->message != NULL)
		*err = e->message;
	else if (!ctxt->wellFormed)
		*err = "not well-formed";
	if (!ctxt->wellFormed && !(extra & XML_PARSE_RECOVER))
		return CD_EPARSE;
	if (st.bad_root)
		return event_set_error(d, "root element is not Event",
		    NULL) == CD_EOK ? CD_EOK : -ENOMEM;
	return CD_EOK;
}

/* Forget what a failed pass read, before the recovering one. The strings
 * it stored stay unused in the scratch. */
static void
event_clear_fields(struct event_draft *d)
{
	size_t error = d->str[EVENT_STR_ERROR];

	memset(&d->ev, 0, sizeof(d->ev));
	memset(d->str, 0, sizeof(d->str));
	d->str[EVENT_STR_ERROR] = error;
	d->ndata = 0;
	d->ev.malformed = true;
}

/* The event's string members, indexed by EVENT_STR_*. */
static void
event_str_slots(struct event *ev, char **slot[EVENT_STR_MAX])
{
	slot[EVENT_STR_PROVIDER] = &ev->provider;
	slot[EVENT_STR_GUID] = &ev->provider_guid;
	slot[EVENT_STR_KEYWORDS] = &ev->keywords;
	slot[EVENT_STR_TIME] = &ev->time_created;
	slot[EVENT_STR_CHANNEL] = &ev->channel;
	slot[EVENT_STR_COMPUTER] = &ev->computer;
	slot[EVENT_STR_USER_SID] = &ev->user_sid;
	slot[EVENT_STR_ERROR] = &ev->error;
}

/* Make the event: one allocation, laid out as struct event_block says. */
static int
event_build(struct event_draft *d, const char *xml, size_t len,
    struct event **out)
{
	struct event_tls *t = d->tls;
	struct event_block *blk;
	struct slab_chunk *owner;
	struct event *ev;
	size_t arr = d->ndata * sizeof(struct event_field), size;
	char *raw, *strs;
	char **slot[EVENT_STR_MAX];

	if (len > SIZE_MAX / 2 || t->strs.len > SIZE_MAX / 4 ||
	    d->ndata > SIZE_MAX / 4 / sizeof(struct event_field))
		return -ENOMEM;
	size = sizeof(*blk) + arr + len + 1 + t->strs.len;
	if ((blk = slab_alloc(&t->slab, size, &owner)) == NULL)
		return -ENOMEM;
	blk->owner = owner;
	blk->size = size;
	ev = &blk->ev;
	*ev = d->ev;
	blk->extra = NULL;
	raw = blk->rest + arr;
	strs = raw + len + 1;
	if (len > 0)
		memcpy(raw, xml, len);
	raw[len] = '\0';
	ev->raw = raw;
	ev->raw_len = len;
	if (t->strs.len > 0)
		memcpy(strs, t->strs.data, t->strs.len);
	event_str_slots(ev, slot);
	for (int i = 0; i < EVENT_STR_MAX; i++)
		*slot[i] = d->str[i] != 0 ? strs + d->str[i] - 1 : NULL;
	ev->data = NULL;
	ev->ndata = d->ndata;
	if (d->ndata > 0) {
		ev->data = (struct event_field *)(void *)blk->rest;
		for (size_t i = 0; i < d->ndata; i++) {
			ev->data[i].name = strs + t->fields[i].name - 1;
			ev->data[i].value = strs + t->fields[i].value - 1;
		}
	}
	ev->rule_name = NULL;
	*out = ev;
	return CD_EOK;
}

int
event_parse(const char *xml, size_t len, struct event **out)
{
	struct event_draft d;
	struct event_tls *t;
	const char *err = NULL;
	int rc;

	*out = NULL;
	soap_init();
	if ((t = event_tls_get()) == NULL)
		return -ENOMEM;
	memset(&d, 0, sizeof(d));
	d.tls = t;
	buf_reset(&t->strs);
	/* libxml2 reads the text in place, NUL-terminated (event_read). */
	buf_reset(&t->in);
	if (len <= INT_MAX && (rc = buf_append(&t->in, xml, len)) != CD_EOK) {
		rc = -ENOMEM;
		goto done;
	}

	if (soap_xml_has_doctype(xml, len)) {
		rc = event_set_error(&d, "document type declaration refused",
		    NULL);
		goto build;
	}
	rc = event_run(&d, (const char *)t->in.data, len, 0, &err);
	if (rc == CD_EPARSE) {
		if ((rc = event_set_error(&d, "malformed event XML", err)) !=
		    CD_EOK)
			goto done;
		/* Salvage what a recovering parse can still read. */
		event_clear_fields(&d);
		rc = event_run(&d, (const char *)t->in.data, len,
		    XML_PARSE_RECOVER, &err);
	}
build:
	if (rc == CD_EOK)
		rc = event_build(&d, xml, len, out);
done:
	event_tls_trim(t);
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

int
event_set(struct event *ev, char **field, const char *value)
{
	struct event_block *blk = (struct event_block *)ev;
	struct event_extra *x;
	size_t n;

	if (field == &ev->rule_name) {
		char *copy = NULL;
		if (value != NULL && (copy = strdup(value)) == NULL)
			return -ENOMEM;
		free(ev->rule_name);
		ev->rule_name = copy;
		return CD_EOK;
	}
	if (value == NULL) {
		*field = NULL;
		return CD_EOK;
	}
	n = strlen(value);
	if ((x = malloc(sizeof(*x) + n + 1)) == NULL)
		return -ENOMEM;
	memcpy(x->s, value, n + 1);
	x->next = blk->extra;
	blk->extra = x;
	*field = x->s;
	return CD_EOK;
}

/* A pointer into the block at old, moved with it to new. */
static void
event_reloc(char **p, uintptr_t old, size_t size, char *new)
{
	uintptr_t a = (uintptr_t)*p;

	if (*p != NULL && a >= old && a < old + size)
		*p = new + (a - old);
}

int
event_keep(struct event **evp)
{
	struct event_block *blk = (struct event_block *)*evp, *nb;
	uintptr_t old = (uintptr_t)blk;
	struct event *ev;
	char **slot[EVENT_STR_MAX];

	if (blk == NULL || blk->owner == NULL)
		return CD_EOK;
	if ((nb = malloc(blk->size)) == NULL)
		return -ENOMEM;
	memcpy(nb, blk, blk->size);
	nb->owner = NULL;
	ev = &nb->ev;
	event_reloc(&ev->raw, old, blk->size, (char *)nb);
	event_str_slots(ev, slot);
	for (int i = 0; i < EVENT_STR_MAX; i++)
		event_reloc(slot[i], old, blk->size, (char *)nb);
	if (ev->data != NULL) {
		char *d = (char *)ev->data;
		event_reloc(&d, old, blk->size, (char *)nb);
		ev->data = (struct event_field *)(void *)d;
		for (size_t i = 0; i < ev->ndata; i++) {
			event_reloc(&ev->data[i].name, old, blk->size, (char *)nb);
			event_reloc(&ev->data[i].value, old, blk->size, (char *)nb);
		}
	}
	/* rule_name and event_set()'s strings are not in the block: they
	 * move with it as they are. */
	slab_free(blk, blk->owner);
	*evp = ev;
	return CD_EOK;
}

size_t
event_mem(const struct event *ev)
{
	const struct event_block *blk = (const struct event_block *)ev;
	size_t n;

	if (ev == NULL)
		return 0;
	n = blk->size;
	if (ev->rule_name != NULL)
		n += strlen(ev->rule_name) + 1;
	for (const struct event_extra *x = blk->extra; x != NULL; x = x->next)
		n += sizeof(*x) + strlen(x->s) + 1;
	return n;
}

void
event_free(struct event *ev)
{
	struct event_block *blk = (struct event_block *)ev;
	struct event_extra *x, *next;

	if (ev == NULL)
		return;
	free(ev->rule_name);
	for (x = blk->extra; x != NULL; x = next) {
		next = x->next;
		free(x);
	}
	slab_free(blk, blk->owner);
}
