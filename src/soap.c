/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>
#include <openssl/rand.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "soap.h"

/*
 * Untrusted input: no network, no entity substitution (no XML_PARSE_NOENT),
 * no DTD loading or validation, no XML_PARSE_HUGE (libxml2 then keeps its
 * own limits on depth and text node size), and no error output. CDATA
 * sections stay CDATA nodes: they delimit the event text exactly.
 * The input is UTF-8 already: XML_PARSE_IGNORE_ENC and no encoding name
 * skip libxml2's UTF-8 to UTF-8 input conversion (xmlCharEncInput in the
 * profile) that naming "UTF-8" cost; a declared encoding (Windows
 * declares UTF-16) is ignored either way.
 */
#define SOAP_XML_OPTS	(XML_PARSE_NONET | XML_PARSE_NOERROR | \
			    XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC)

static pthread_once_t soap_once = PTHREAD_ONCE_INIT;
static _Thread_local char soap_errbuf[256];
static _Thread_local bool soap_compacted;

/*
 * One CDATA section of the envelope as soap_compact() found it: where its
 * text is in the original, and where the emptied section ends in the
 * compacted copy (the parser's position when it reports the section).
 */
struct soap_cdata {
	size_t	 off;		/* text offset in the original */
	size_t	 len;		/* text length, "]]>" excluded */
	size_t	 nl;		/* '\n' bytes in the text */
	size_t	 end;		/* offset past "]]>" in the compacted copy */
	bool	 cr;		/* the text holds '\r' (to normalise) */
};

/* The compacted envelope and its sections, for one soap_parse(). */
struct soap_scan {
	const char		*src;	/* the original envelope */
	const char		*text;	/* what libxml2 parses */
	size_t			 tlen;
	char			*owned;	/* text, when it is a copy */
	struct soap_cdata	*sec;
	size_t			 nsec;
	size_t			 cap;
	size_t			 next;	/* the next section libxml2 reports */
	bool			 desync; /* libxml2 saw other sections */
};

/* The scan of the parse running in this thread, for soap_cdata_block(). */
static _Thread_local struct soap_scan *soap_cur_scan;

struct soap_ctx {
	struct soap_msg		*msg;
	struct soap_limits	 lim;
	size_t			 nodes;
	size_t			 cap_headers;
	size_t			 cap_events;
};

static void	soap_once_init(void);
static void	soap_xml_silent(void *, xmlErrorPtr);
static int	soap_fail(int, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static bool	soap_is(const xmlNode *, const char *, const char *);
static bool	soap_ws(char);
static char	*soap_trimmed(const char *);
static int	soap_text(const xmlNode *, bool, char **);
static int	soap_dump(xmlNode *, char **, size_t *);
static int	soap_count(struct soap_ctx *, const xmlNode *, unsigned);
static int	soap_header(struct soap_ctx *, xmlNode *);
static int	soap_add_header(struct soap_ctx *, const xmlNode *);
static int	soap_events(struct soap_ctx *, xmlNode *);
static int	soap_event(struct soap_ctx *, xmlNode *);
static int	soap_sub_end(struct soap_ctx *, const xmlNode *);
static int	soap_reply_head(struct buf *, const char *, const char *);
static size_t	soap_utf8_char(const unsigned char *, size_t);
static bool	soap_cdata_end(const char *, size_t, struct soap_cdata *);
static bool	soap_compact(struct soap_scan *, const char *, size_t);
static void	soap_scan_free(struct soap_scan *);
static void	soap_cdata_block(void *, const xmlChar *, int);
static int	soap_read(const char *, size_t, bool, xmlDocPtr *);
static int	soap_parse_with(const char *, size_t,
		    const struct soap_limits *, bool, struct soap_msg **);

static void
soap_once_init(void)
{
	xmlInitParser();
}

void
soap_init(void)
{
	pthread_once(&soap_once, soap_once_init);
	xmlSetStructuredErrorFunc(NULL, soap_xml_silent);
}

void
soap_cleanup(void)
{
	event_thread_cleanup();
	xmlCleanupParser();
}

/* libxml2's per-thread error hook: errors are read from the context. */
static void
soap_xml_silent(void *arg, xmlErrorPtr e)
{
}

static int
soap_fail(int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(soap_errbuf, sizeof(soap_errbuf), fmt, ap);
	va_end(ap);
	size_t n = strlen(soap_errbuf);
	while (n > 0 && soap_ws(soap_errbuf[n - 1]))
		soap_errbuf[--n] = '\0';
	return rc;
}

const char *
soap_last_error(void)
{
	return soap_errbuf;
}

bool
soap_xml_has_doctype(const char *p, size_t n)
{
	size_t i = 0;

	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < n) {
		if (soap_ws(p[i])) {
			i++;
			continue;
		}
		if (p[i] != '<' || i + 1 >= n)
			return false;
		if (p[i + 1] == '?') {
			const char *e = memmem(p + i, n - i, "?>", 2);
			if (e == NULL)
				return false;
			i = (size_t)(e - p) + 2;
		} else if (n - i >= 4 && memcmp(p + i, "<!--", 4) == 0) {
			const char *e = memmem(p + i + 4, n - i - 4, "-->", 3);
			if (e == NULL)
				return false;
			i = (size_t)(e - p) + 3;
		} else
			return p[i + 1] == '!';
	}
	return false;
}

static bool
soap_is(const xmlNode *n, const char *ns, const char *name)
{
	if (n == NULL || n->type != XML_ELEMENT_NODE ||
	    strcmp((const char *)n->name, name) != 0)
		return false;
	if (ns == NULL)
		return n->ns == NULL;
	return n->ns != NULL && n->ns->href != NULL &&
	    strcmp((const char *)n->ns->href, ns) == 0;
}

/* XML white space (production [3] S). */
static bool
soap_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char *
soap_trimmed(const char *s)
{
	size_t n;

	while (soap_ws(*s))
		s++;
	n = strlen(s);
	while (n > 0 && soap_ws(s[n - 1]))
		n--;
	return strndup(s, n);
}

static int
soap_text(const xmlNode *n, bool trim, char **out)
{
	xmlChar *c = xmlNodeGetContent(n);
	const char *s = c != NULL ? (const char *)c : "";

	free(*out);
	*out = trim ? soap_trimmed(s) : strdup(s);
	xmlFree(c);
	return *out == NULL ? -ENOMEM : CD_EOK;
}

/*
 * Serialise an element on its own. It is copied into a fresh document
 * first so that namespaces declared on its ancestors are declared on the
 * copy (xmlDocCopyNode does that) and the text stands alone.
 */
static int
soap_dump(xmlNode *n, char **out, size_t *outlen)
{
	xmlDocPtr doc = NULL;
	xmlBufferPtr xb = NULL;
	xmlNodePtr copy;
	int rc = -ENOMEM;

	if ((doc = xmlNewDoc((const xmlChar *)"1.0")) == NULL)
		goto out;
	if ((copy = xmlDocCopyNode(n, doc, 1)) == NULL)
		goto out;
	xmlDocSetRootElement(doc, copy);
	if ((xb = xmlBufferCreate()) == NULL)
		goto out;
	if (xmlNodeDump(xb, doc, copy, 0, 0) < 0) {
		rc = CD_EPARSE;
		goto out;
	}
	size_t len = (size_t)xmlBufferLength(xb);
	if ((*out = malloc(len + 1)) == NULL)
		goto out;
	memcpy(*out, xmlBufferContent(xb), len);
	(*out)[len] = '\0';
	if (outlen != NULL)
		*outlen = len;
	rc = CD_EOK;
out:
	xmlBufferFree(xb);
	xmlFreeDoc(doc);
	return rc;
}

static int
soap_count(struct soap_ctx *c, const xmlNode *n, unsigned depth)
{
	for (; n != NULL; n = n->next) {
		if (n->type == XML_ELEMENT_NODE && depth > c->lim.max_depth)
			return soap_fail(CD_ETOOBIG, "elements nested deeper "
			    "than %u", c->lim.max_depth);
		if (++c->nodes > c->lim.max_nodes)
			return soap_fail(CD_ETOOBIG, "more than %zu XML nodes",
			    c->lim.max_nodes);
		if (n->type == XML_ENTITY_REF_NODE ||
		    n->type == XML_ENTITY_DECL || n->type == XML_DTD_NODE)
			return soap_fail(CD_EPARSE, "entity references are "
			    "not accepted");
		if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
			int rc = soap_count(c, n->children, depth + 1);
			if (rc != CD_EOK)
				return rc;
		}
	}
	return CD_EOK;
}

static int
soap_add_header(struct soap_ctx *c, const xmlNode *n)
{
	struct soap_msg *m = c->msg;

	if (m->nheaders == c->cap_headers) {
		size_t ncap = c->cap_headers ? c->cap_headers * 2 : 4;
		struct soap_header *p = realloc(m->headers,
		    ncap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		m->headers = p;
		c->cap_headers = ncap;
	}
	struct soap_header *h = &m->headers[m->nheaders];
	memset(h, 0, sizeof(*h));
	m->nheaders++;
	if (n->ns != NULL && n->ns->href != NULL &&
	    (h->ns = strdup((const char *)n->ns->href)) == NULL)
		return -ENOMEM;
	if ((h->name = strdup((const char *)n->name)) == NULL)
		return -ENOMEM;
	return soap_text(n, true, &h->value);
}

static int
soap_header(struct soap_ctx *c, xmlNode *hdr)
{
	/* Standard headers that are read, or known and deliberately ignored. */
	static const struct {
		const char *ns, *name;
	} ignored[] = {
		{ SOAP_NS_ADDRESSING, "ReplyTo" },
		{ SOAP_NS_ADDRESSING, "FaultTo" },
		{ SOAP_NS_ADDRESSING, "From" },
		{ SOAP_NS_WSMAN, "Locale" },
		{ SOAP_NS_WSMAN, "OperationTimeout" },
		{ SOAP_NS_WSMAN, "OptionSet" },
		{ SOAP_NS_WSMAN, "SelectorSet" },
		{ SOAP_NS_WSMV, "DataLocale" },
		{ SOAP_NS_WSMV, "SequenceId" },
	};
	struct soap_msg *m = c->msg;
	int rc = CD_EOK;

	for (xmlNode *n = hdr->children; n != NULL && rc == CD_EOK;
	    n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (soap_is(n, SOAP_NS_ADDRESSING, "Action"))
			rc = soap_text(n, true, &m->action);
		else if (soap_is(n, SOAP_NS_ADDRESSING, "MessageID"))
			rc = soap_text(n, false, &m->message_id);
		else if (soap_is(n, SOAP_NS_ADDRESSING, "RelatesTo"))
			rc = soap_text(n, false, &m->relates_to);
		else if (soap_is(n, SOAP_NS_ADDRESSING, "To"))
			rc = soap_text(n, true, &m->to);
		else if (soap_is(n, SOAP_NS_MACHINEID, "MachineID"))
			rc = soap_text(n, true, &m->machine_id);
		else if (soap_is(n, SOAP_NS_WSMAN, "ResourceURI"))
			rc = soap_text(n, true, &m->resource_uri);
		else if (soap_is(n, SOAP_NS_WSMV, "OperationID"))
			rc = soap_text(n, true, &m->operation_id);
		else if (soap_is(n, SOAP_NS_WSMV, "SessionId"))
			rc = soap_text(n, true, &m->session_id);
		else if (soap_is(n, SOAP_NS_EVENTING, "Identifier"))
			rc = soap_text(n, true, &m->identifier);
		else if (soap_is(n, SOAP_NS_WSMAN, "AckRequested"))
			m->ack_requested = true;
		else if (soap_is(n, SOAP_NS_WSMAN, "MaxEnvelopeSize")) {
			xmlChar *t = xmlNodeGetContent(n);
			char *end;
			errno = 0;
			unsigned long long v = t != NULL ?
			    strtoull((const char *)t, &end, 10) : 0;
			if (t == NULL || errno != 0 || end == (char *)t)
				rc = soap_fail(CD_EPARSE,
				    "bad MaxEnvelopeSize");
			else
				m->max_envelope_size = v;
			xmlFree(t);
		} else if (soap_is(n, SOAP_NS_WSMAN, "Bookmark")) {
			/* Opaque: kept verbatim (5.1); may be absent. */
			for (xmlNode *b = n->children; b != NULL; b = b->next)
				if (soap_is(b, NULL, "BookmarkList")) {
					free(m->bookmark);
					m->bookmark = NULL;
					rc = soap_dump(b, &m->bookmark, NULL);
					break;
				}
		} else {
			bool skip = false;
			for (size_t i = 0; i < sizeof(ignored) /
			    sizeof(ignored[0]); i++)
				if (soap_is(n, ignored[i].ns, ignored[i].name))
					skip = true;
			if (!skip)
				rc = soap_add_header(c, n);
		}
	}
	return rc;
}

/*
 * With the CDATA option the event is the CDATA text, taken exactly; without
 * it the client embeds an <Event> element, serialised here; plain
 * (escaped) text is the last resort.
 */
static int
soap_event(struct soap_ctx *c, xmlNode *we)
{
	struct soap_msg *m = c->msg;
	struct buf b;
	xmlNode *elem = NULL;
	bool cdata = false;
	int rc = CD_EOK;

	if (m->nevents >= c->lim.max_events)
		return soap_fail(CD_ETOOBIG, "more than %zu events",
		    c->lim.max_events);
	if (m->nevents == c->cap_events) {
		size_t ncap = c->cap_events ? c->cap_events * 2 : 16;
		struct soap_event *p = realloc(m->events, ncap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		m->events = p;
		c->cap_events = ncap;
	}
	struct soap_event *ev = &m->events[m->nevents];
	ev->xml = NULL;
	ev->len = 0;
	m->nevents++;

	buf_init(&b, 0);
	/*
	 * The usual case, one CDATA section: its text is taken from the
	 * tree rather than copied (malloc and memmove of every event were
	 * in the profile). libxml2 allocated it with xmlMalloc (malloc:
	 * xmlMemSetup is never called) unless it is the node's inline
	 * storage or a dictionary string.
	 */
	xmlNode *only = we->children;
	if (only != NULL && only->next == NULL &&
	    only->type == XML_CDATA_SECTION_NODE && only->content != NULL &&
	    only->content != (xmlChar *)&only->properties &&
	    (we->doc == NULL || we->doc->dict == NULL ||
	    !xmlDictOwns(we->doc->dict, only->content))) {
		ev->xml = (char *)only->content;
		ev->len = strlen(ev->xml);
		only->content = NULL;
		return CD_EOK;
	}
	for (xmlNode *n = we->children; n != NULL && rc == CD_EOK;
	    n = n->next) {
		if (n->type == XML_CDATA_SECTION_NODE) {
			cdata = true;
			if (n->content != NULL)
				rc = buf_puts(&b, (const char *)n->content);
		} else if (n->type == XML_ELEMENT_NODE && elem == NULL)
			elem = n;
	}
	if (rc != CD_EOK)
		goto out;
	if (cdata) {
		/* An empty CDATA section still yields an (empty) string. */
		if ((rc = buf_reserve(&b, 0)) != CD_EOK)
			goto out;
		b.data[b.len] = '\0';
		ev->xml = (char *)buf_steal(&b, &ev->len);
	} else if (elem != NULL) {
		rc = soap_dump(elem, &ev->xml, &ev->len);
	} else {
		rc = soap_text(we, true, &ev->xml);
		if (rc == CD_EOK)
			ev->len = strlen(ev->xml);
	}
out:
	buf_free(&b);
	return rc;
}

static int
soap_events(struct soap_ctx *c, xmlNode *evs)
{
	int rc = CD_EOK;

	c->msg->has_events = true;
	for (xmlNode *n = evs->children; n != NULL && rc == CD_EOK;
	    n = n->next)
		if (soap_is(n, SOAP_NS_WSMAN, "Event"))
			rc = soap_event(c, n);
	return rc;
}

static int
soap_sub_end(struct soap_ctx *c, const xmlNode *se)
{
	struct soap_msg *m = c->msg;
	int rc = CD_EOK;

	for (const xmlNode *n = se->children; n != NULL && rc == CD_EOK;
	    n = n->next) {
		if (soap_is(n, SOAP_NS_EVENTING, "Status"))
			rc = soap_text(n, true, &m->end_status);
		else if (soap_is(n, SOAP_NS_WSMANFAULT, "WSManFault")) {
			xmlChar *code = xmlGetNoNsProp(n,
			    (const xmlChar *)"Code");
			if (code != NULL) {
				free(m->fault_code);
				m->fault_code = strdup((const char *)code);
				xmlFree(code);
				if (m->fault_code == NULL)
					return -ENOMEM;
			}
			rc = soap_text(n, true, &m->fault_text);
		}
	}
	return rc;
}

/*
 * The length of the UTF-8 sequence at p[0..n) when it is well-formed
 * (shortest form, no surrogate) and encodes a character XML 1.0 allows
 * (production [2] Char); 0 otherwise. For bytes >= 0x80 only.
 */
static size_t
soap_utf8_char(const unsigned char *p, size_t n)
{
	uint32_t v;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		v = (uint32_t)(p[0] & 0x0f) << 12 |
		    (uint32_t)(p[1] & 0x3f) << 6 | (uint32_t)(p[2] & 0x3f);
		if (v < 0x800 || (v >= 0xd800 && v <= 0xdfff) ||
		    v == 0xfffe || v == 0xffff)
			return 0;
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 ||
		    (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		v = (uint32_t)(p[0] & 0x07) << 18 |
		    (uint32_t)(p[1] & 0x3f) << 12 |
		    (uint32_t)(p[2] & 0x3f) << 6 | (uint32_t)(p[3] & 0x3f);
		return v >= 0x10000 && v <= 0x10ffff ? 4 : 0;
	}
	return 0;
}

/*
 * Find the end of a CDATA section's text p[0..n) (the first "]]>", as
 * libxml2 ends it) and check on the way that every character is one
 * libxml2 accepts there without an error. Fills sec's len, nl and cr.
 * False when there is no "]]>" or a character libxml2 would refuse (a
 * control character, U+FFFE, a malformed or over-long sequence): the
 * careful parse then produces today's error, word for word.
 */
static bool
soap_cdata_end(const char *text, size_t n, struct soap_cdata *sec)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t k = 0, m;

	sec->nl = 0;
	sec->cr = false;
	while (k < n) {
		/*
		 * Eight bytes at a time while none is >= 0x80, < 0x20 or
		 * ']' (the "has a byte less than" and "has a zero byte"
		 * word tests): the bulk of an event is plain ASCII.
		 */
		while (n - k >= 8) {
			uint64_t w, lo, br;
			memcpy(&w, p + k, sizeof(w));
			lo = (w - 0x2020202020202020ULL) & ~w;
			br = w ^ 0x5d5d5d5d5d5d5d5dULL;
			br = (br - 0x0101010101010101ULL) & ~br;
			if (((w | lo | br) & 0x8080808080808080ULL) != 0)
				break;
			k += 8;
		}
		if (k >= n)
			break;
		unsigned char c = p[k];
		if (c >= 0x20 && c < 0x80 && c != ']') {
			k++;
			continue;
		}
		switch (c) {
		case ']':
			if (n - k >= 3 && p[k + 1] == ']' && p[k + 2] == '>') {
				sec->len = k;
				return true;
			}
			k++;
			break;
		case '\n':
			sec->nl++;
			k++;
			break;
		case '\r':
			sec->cr = true;
			k++;
			break;
		case '\t':
			k++;
			break;
		default:
			if (c < 0x80 || (m = soap_utf8_char(p + k, n - k)) == 0)
				return false;
			k += m;
		}
	}
	return false;
}

/*
 * Libxml2 reads a CDATA section one character at a time through
 * xmlCurrentChar() and copies it into a growing buffer: for an Events
 * message, whose bulk is the events' CDATA, that was about a quarter of
 * the whole parse. The events are parsed again by event_parse(), so here
 * libxml2 gets a copy of the envelope in which every CDATA section is
 * emptied (only its '\n' bytes stay, so line numbers do not move), and
 * soap_cdata_block() hands the tree builder the original text instead.
 *
 * The scanner follows where XML lets "<![CDATA[" start: in content, not
 * inside a comment, a processing instruction or a tag (whose attribute
 * values may hold '>'). It need not be right on malformed input: the
 * parse of the copy checks that libxml2 reported exactly these sections
 * at exactly these places, and anything else (or any parse error) falls
 * back to the careful parse of the original. False here means the same.
 * Sections totalling XML_MAX_TEXT_LENGTH or more also take the careful
 * path, so libxml2's text size limit applies as before.
 */
static bool
soap_compact(struct soap_scan *s, const char *p, size_t n)
{
	size_t i = 0, total = 0;

	memset(s, 0, sizeof(*s));
	s->src = p;
	s->text = p;
	s->tlen = n;
	while (i < n) {
		const char *lt = memchr(p + i, '<', n - i), *e;
		size_t rest;

		if (lt == NULL)
			break;
		i = (size_t)(lt - p);
		rest = n - i;
		if (rest >= 9 && memcmp(lt, "<![CDATA[", 9) == 0) {
			struct soap_cdata sec = { .off = i + 9 };
			if (!soap_cdata_end(p + sec.off, n - sec.off, &sec))
				return false;
			total += sec.len;
			if (total >= XML_MAX_TEXT_LENGTH)
				return false;
			if (s->nsec == s->cap) {
				size_t ncap = s->cap ? s->cap * 2 : 64;
				struct soap_cdata *q = realloc(s->sec,
				    ncap * sizeof(*q));
				if (q == NULL)
					return false;
				s->sec = q;
				s->cap = ncap;
			}
			s->sec[s->nsec++] = sec;
			i = sec.off + sec.len + 3;
		} else if (rest >= 4 && memcmp(lt, "<!--", 4) == 0) {
			if ((e = memmem(lt + 4, rest - 4, "-->", 3)) == NULL)
				return false;
			i = (size_t)(e - p) + 3;
		} else if (rest >= 2 && lt[1] == '?') {
			if ((e = memmem(lt + 2, rest - 2, "?>", 2)) == NULL)
				return false;
			i = (size_t)(e - p) + 2;
		} else if (rest >= 2 && lt[1] == '!') {
			/* A DOCTYPE or worse: never in an envelope. */
			return false;
		} else {
			/* A start or end tag: '>' ends it outside quotes. */
			for (i++; i < n && p[i] != '>'; i++) {
				if (p[i] != '"' && p[i] != '\'')
					continue;
				if ((e = memchr(p + i + 1, p[i], n - i - 1)) ==
				    NULL)
					return false;
				i = (size_t)(e - p);
			}
			if (i >= n)
				return false;
			i++;
		}
	}
	if (s->nsec == 0)
		return true;

	/* Each section shrinks to its '\n' bytes: the copy is no longer. */
	char *o = s->owned = malloc(n);
	size_t from = 0;

	if (o == NULL)
		return false;
	for (size_t k = 0; k < s->nsec; k++) {
		struct soap_cdata *sec = &s->sec[k];
		memcpy(o, p + from, sec->off - from);
		o += sec->off - from;
		memset(o, '\n', sec->nl);
		o += sec->nl;
		memcpy(o, "]]>", 3);
		o += 3;
		sec->end = (size_t)(o - s->owned);
		from = sec->off + sec->len + 3;
	}
	memcpy(o, p + from, n - from);
	o += n - from;
	s->text = s->owned;
	s->tlen = (size_t)(o - s->owned);
	return true;
}

static void
soap_scan_free(struct soap_scan *s)
{
	free(s->owned);
	free(s->sec);
	memset(s, 0, sizeof(*s));
}

/*
 * The parser's cdataBlock handler: the tree gets the section's original
 * text, end-of-line normalised as libxml2 does it (CR LF and lone CR
 * become LF, XML 1.0 section 2.11). A section reported anywhere but where
 * soap_compact() put one marks the scan out of step, and the careful
 * parse takes over.
 */
static void
soap_cdata_block(void *ctx, const xmlChar *value, int len)
{
	xmlParserCtxtPtr pctx = ctx;
	struct soap_scan *s = soap_cur_scan;
	const struct soap_cdata *sec;
	size_t at;

	if (s == NULL || s->desync) {
		xmlSAX2CDataBlock(ctx, value, len);
		return;
	}
	at = (size_t)pctx->input->consumed +
	    (size_t)(pctx->input->cur - pctx->input->base);
	sec = s->next < s->nsec ? &s->sec[s->next] : NULL;
	if (sec == NULL || sec->end != at || (size_t)len != sec->nl) {
		s->desync = true;
		xmlSAX2CDataBlock(ctx, value, len);
		return;
	}
	s->next++;
	const xmlChar *text = (const xmlChar *)s->src + sec->off;
	if (!sec->cr) {
		xmlSAX2CDataBlock(ctx, text, (int)sec->len);
		return;
	}
	xmlChar *norm = malloc(sec->len + 1);
	size_t n = 0;
	if (norm == NULL) {
		s->desync = true;
		return;
	}
	for (size_t k = 0; k < sec->len; k++) {
		if (text[k] != '\r')
			norm[n++] = text[k];
		else {
			norm[n++] = '\n';
			if (k + 1 < sec->len && text[k + 1] == '\n')
				k++;
		}
	}
	xmlSAX2CDataBlock(ctx, norm, (int)n);
	free(norm);
}

/*
 * Parse the envelope into *docp, through the compacted copy when compact
 * is set and it applies, else (or when that parse fails in any way) as
 * libxml2 reads the original. CD_EOK, CD_EPARSE (soap_fail() set), -ENOMEM.
 */
static int
soap_read(const char *utf8, size_t len, bool compact, xmlDocPtr *docp)
{
	struct soap_scan s = { 0 };
	xmlParserCtxtPtr pctx = NULL;
	xmlDocPtr doc = NULL;
	int rc = CD_EOK;

	*docp = NULL;
	soap_compacted = false;
	if (compact && soap_compact(&s, utf8, len)) {
		if ((pctx = xmlNewParserCtxt()) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		pctx->sax->cdataBlock = soap_cdata_block;
		soap_cur_scan = &s;
		doc = xmlCtxtReadMemory(pctx, s.text, (int)s.tlen, NULL, NULL,
		    SOAP_XML_OPTS);
		soap_cur_scan = NULL;
		if (doc != NULL && pctx->wellFormed && !s.desync &&
		    s.next == s.nsec) {
			soap_compacted = true;
			*docp = doc;
			goto out;
		}
		xmlFreeDoc(doc);
		xmlFreeParserCtxt(pctx);
		pctx = NULL;
	}
	if ((pctx = xmlNewParserCtxt()) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	doc = xmlCtxtReadMemory(pctx, utf8, (int)len, NULL, NULL,
	    SOAP_XML_OPTS);
	if (doc == NULL || !pctx->wellFormed) {
		const xmlError *e = xmlCtxtGetLastError(pctx);
		rc = soap_fail(CD_EPARSE, "malformed envelope: %s",
		    e != NULL && e->message ? e->message : "not well-formed");
		xmlFreeDoc(doc);
		goto out;
	}
	*docp = doc;
out:
	soap_scan_free(&s);
	xmlFreeParserCtxt(pctx);
	return rc;
}

int
soap_parse(const char *utf8, size_t len, const struct soap_limits *lim,
    struct soap_msg **out)
{
	return soap_parse_with(utf8, len, lim, true, out);
}

int
soap_parse_careful(const char *utf8, size_t len,
    const struct soap_limits *lim, struct soap_msg **out)
{
	return soap_parse_with(utf8, len, lim, false, out);
}

bool
soap_last_parse_compacted(void)
{
	return soap_compacted;
}

static int
soap_parse_with(const char *utf8, size_t len, const struct soap_limits *lim,
    bool compact, struct soap_msg **out)
{
	struct soap_ctx c;
	xmlDocPtr doc = NULL;
	xmlNode *root, *hdr = NULL, *body = NULL;
	int rc;

	*out = NULL;
	soap_errbuf[0] = '\0';
	soap_compacted = false;
	soap_init();
	memset(&c, 0, sizeof(c));
	if (lim != NULL)
		c.lim = *lim;
	if (c.lim.max_events == 0)
		c.lim.max_events = SOAP_DEFAULT_MAX_EVENTS;
	if (c.lim.max_nodes == 0)
		c.lim.max_nodes = SOAP_DEFAULT_MAX_NODES;
	if (c.lim.max_depth == 0)
		c.lim.max_depth = SOAP_DEFAULT_MAX_DEPTH;

	if (len > INT_MAX) {
		rc = soap_fail(CD_ETOOBIG, "envelope too large");
		goto fail;
	}
	if (soap_xml_has_doctype(utf8, len)) {
		rc = soap_fail(CD_EPARSE, "document type declaration refused");
		goto fail;
	}
	if ((rc = soap_read(utf8, len, compact, &doc)) != CD_EOK)
		goto fail;
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		rc = soap_fail(CD_EPARSE, "document type declaration refused");
		goto fail;
	}
	root = xmlDocGetRootElement(doc);
	if (!soap_is(root, SOAP_NS_ENVELOPE, "Envelope")) {
		rc = soap_fail(CD_EPARSE, "root element is not a SOAP 1.2 "
		    "Envelope");
		goto fail;
	}
	if ((rc = soap_count(&c, root, 1)) != CD_EOK)
		goto fail;
	if ((c.msg = calloc(1, sizeof(*c.msg))) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (xmlNode *n = root->children; n != NULL; n = n->next) {
		if (soap_is(n, SOAP_NS_ENVELOPE, "Header") && hdr == NULL)
			hdr = n;
		else if (soap_is(n, SOAP_NS_ENVELOPE, "Body") && body == NULL)
			body = n;
	}
	if (hdr != NULL && (rc = soap_header(&c, hdr)) != CD_EOK)
		goto fail;
	if (c.msg->action == NULL || c.msg->action[0] == '\0') {
		rc = soap_fail(CD_EPARSE, "no a:Action header");
		goto fail;
	}
	if (c.msg->message_id == NULL || c.msg->message_id[0] == '\0') {
		rc = soap_fail(CD_EPARSE, "no a:MessageID header");
		goto fail;
	}
	for (xmlNode *n = body != NULL ? body->children : NULL; n != NULL;
	    n = n->next) {
		if (soap_is(n, SOAP_NS_WSMAN, "Events"))
			rc = soap_events(&c, n);
		else if (soap_is(n, SOAP_NS_EVENTING, "SubscriptionEnd"))
			rc = soap_sub_end(&c, n);
		if (rc != CD_EOK)
			goto fail;
	}
	xmlFreeDoc(doc);
	*out = c.msg;
	return CD_EOK;
fail:
	if (rc == -ENOMEM && soap_errbuf[0] == '\0')
		soap_fail(rc, "out of memory");
	soap_msg_free(c.msg);
	xmlFreeDoc(doc);
	return rc;
}

void
soap_msg_free(struct soap_msg *m)
{
	if (m == NULL)
		return;
	free(m->action);
	free(m->message_id);
	free(m->relates_to);
	free(m->to);
	free(m->machine_id);
	free(m->resource_uri);
	free(m->operation_id);
	free(m->session_id);
	free(m->identifier);
	free(m->bookmark);
	for (size_t i = 0; i < m->nheaders; i++) {
		free(m->headers[i].ns);
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	for (size_t i = 0; i < m->nevents; i++)
		free(m->events[i].xml);
	free(m->events);
	free(m->end_status);
	free(m->fault_code);
	free(m->fault_text);
	free(m);
}

int
soap_new_message_id(char out[SOAP_MESSAGE_ID_SIZE])
{
	uint8_t u[16];

	if (RAND_bytes(u, sizeof(u)) != 1)
		return CD_ECRYPTO;
	/* RFC 4122 version 4 (random) and variant bits. */
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	snprintf(out, SOAP_MESSAGE_ID_SIZE, "uuid:%02X%02X%02X%02X-%02X%02X-"
	    "%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", u[0], u[1], u[2],
	    u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
	    u[13], u[14], u[15]);
	return CD_EOK;
}

int
soap_xml_escape(struct buf *b, const char *s)
{
	const char *run = s;
	int rc = CD_EOK;

	for (; *s != '\0' && rc == CD_EOK; s++) {
		const char *rep;
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		default: continue;
		}
		if ((rc = buf_append(b, run, (size_t)(s - run))) == CD_EOK)
			rc = buf_puts(b, rep);
		run = s + 1;
	}
	if (rc == CD_EOK)
		rc = buf_append(b, run, (size_t)(s - run));
	return rc;
}

/* Envelope start and the header every reply carries (§1.8). */
static int
soap_reply_head(struct buf *out, const char *action, const char *relates_to)
{
	char mid[SOAP_MESSAGE_ID_SIZE];
	int rc;

	if ((rc = soap_new_message_id(mid)) != CD_EOK)
		return rc;
	rc = buf_printf(out, "<s:Envelope xml:lang=\"en-US\" "
	    "xmlns:s=\"" SOAP_NS_ENVELOPE "\" "
	    "xmlns:a=\"" SOAP_NS_ADDRESSING "\" "
	    "xmlns:e=\"" SOAP_NS_EVENTING "\" "
	    "xmlns:n=\"" SOAP_NS_ENUMERATION "\" "
	    "xmlns:w=\"" SOAP_NS_WSMAN "\">"
	    "<s:Header><a:Action>%s</a:Action>"
	    "<a:MessageID>%s</a:MessageID>"
	    "<a:To>" SOAP_ADDRESS_ANONYMOUS "</a:To>", action, mid);
	if (rc == CD_EOK && relates_to != NULL) {
		if ((rc = buf_puts(out, "<a:RelatesTo>")) == CD_EOK &&
		    (rc = soap_xml_escape(out, relates_to)) == CD_EOK)
			rc = buf_puts(out, "</a:RelatesTo>");
	}
	if (rc == CD_EOK)
		rc = buf_puts(out, "</s:Header>");
	return rc;
}

int
soap_build_ack(const char *relates_to, struct buf *out)
{
	int rc;

	if ((rc = soap_reply_head(out, SOAP_ACTION_ACK, relates_to)) != CD_EOK)
		return rc;
	return buf_puts(out, "<s:Body/></s:Envelope>");
}

int
soap_build_fault(const char *relates_to, const char *code,
    const char *subcode_qname, const char *reason, struct buf *out)
{
	int rc;

	if ((rc = soap_reply_head(out, SOAP_ACTION_FAULT, relates_to)) !=
	    CD_EOK)
		return rc;
	if ((rc = buf_puts(out, "<s:Body><s:Fault><s:Code><s:Value>")) !=
	    CD_EOK || (rc = soap_xml_escape(out, code)) != CD_EOK ||
	    (rc = buf_puts(out, "</s:Value>")) != CD_EOK)
		return rc;
	if (subcode_qname != NULL &&
	    ((rc = buf_puts(out, "<s:Subcode><s:Value>")) != CD_EOK ||
	    (rc = soap_xml_escape(out, subcode_qname)) != CD_EOK ||
	    (rc = buf_puts(out, "</s:Value></s:Subcode>")) != CD_EOK))
		return rc;
	rc = buf_puts(out, "</s:Code><s:Reason><s:Text xml:lang=\"en-US\">");
	if (rc != CD_EOK || (rc = soap_xml_escape(out, reason != NULL ?
	    reason : "")) != CD_EOK)
		return rc;
	return buf_puts(out, "</s:Text></s:Reason></s:Fault></s:Body>"
	    "</s:Envelope>");
}
