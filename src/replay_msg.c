/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "err.h"
#include "replay.h"
#include "soap.h"

/*
 * Envelopes as the Windows WinRM client writes them: one line, no XML
 * declaration, the header order and attributes of the captures in
 * tests/data/wef (enumerate.utf8.xml, heartbeat.utf8.xml, events.xml,
 * end.xml, subscription-end.xml). They are built as UTF-8 text; the caller
 * converts them to UTF-16LE with a BOM before sending.
 */

#define NS_S	"http://www.w3.org/2003/05/soap-envelope"
#define NS_A	"http://schemas.xmlsoap.org/ws/2004/08/addressing"
#define NS_N	"http://schemas.xmlsoap.org/ws/2004/09/enumeration"
#define NS_E	"http://schemas.xmlsoap.org/ws/2004/08/eventing"
#define NS_W	"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
#define NS_P	"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
#define NS_B	"http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"
#define NS_M	"http://schemas.microsoft.com/wbem/wsman/1/machineid"
#define ANON	"http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
#define WSMAN	"http://schemas.dmtf.org/wbem/wsman/1/wsman/"

/* A buffer writer with a sticky error, so builders check once at the end. */
struct msgw {
	struct buf *b;
	int	 rc;
};

static void	msgw_puts(struct msgw *, const char *);
static void	msgw_putn(struct msgw *, const char *, size_t);
static void	msgw_esc(struct msgw *, const char *);
static void	msgw_head(struct msgw *, const struct replay_hdr *,
		    const char *, const char *, const char *, const char *);
static void	msgw_refs(struct msgw *, const struct replay_ref *, size_t);

static void
msgw_putn(struct msgw *w, const char *s, size_t n)
{
	if (w->rc == CD_EOK)
		w->rc = buf_append(w->b, s, n);
}

static void
msgw_puts(struct msgw *w, const char *s)
{
	msgw_putn(w, s, strlen(s));
}

/* Escape text or attribute values. */
static void
msgw_esc(struct msgw *w, const char *s)
{
	if (w->rc == CD_EOK)
		w->rc = soap_xml_escape(w->b, s);
}

/* Reference properties come back as headers with their namespace declared
 * on the element itself, as Windows does for e:Identifier. */
static void
msgw_refs(struct msgw *w, const struct replay_ref *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *pfx = "";

		if (r[i].ns != NULL)
			pfx = strcmp(r[i].ns, NS_E) == 0 ? "e:" : "r:";
		msgw_puts(w, "<");
		msgw_puts(w, pfx);
		msgw_puts(w, r[i].name);
		if (r[i].ns != NULL) {
			msgw_puts(w, pfx[0] == 'e' ? " xmlns:e=\"" : " xmlns:r=\"");
			msgw_esc(w, r[i].ns);
			msgw_puts(w, "\"");
		}
		msgw_puts(w, ">");
		msgw_esc(w, r[i].value != NULL ? r[i].value : "");
		msgw_puts(w, "</");
		msgw_puts(w, pfx);
		msgw_puts(w, r[i].name);
		msgw_puts(w, ">");
	}
}

/*
 * The common request header up to and including OperationTimeout, then
 * the echoed reference children: To, (ResourceURI for Enumerate),
 * MachineID, ReplyTo, Action, MaxEnvelopeSize, MessageID, Locale,
 * DataLocale, SessionId, OperationID, SequenceId, OperationTimeout
 * (enumerate.utf8.xml, heartbeat.utf8.xml).
 */
static void
msgw_head(struct msgw *w, const struct replay_hdr *h, const char *nsdecl,
    const char *resource, const char *action, const char *timeout)
{
	msgw_puts(w, "<s:Envelope xmlns:s=\"" NS_S "\" xmlns:a=\"" NS_A "\"");
	msgw_puts(w, nsdecl);
	msgw_puts(w, "><s:Header><a:To>");
	msgw_esc(w, h->to);
	msgw_puts(w, "</a:To>");
	if (resource != NULL)
		msgw_puts(w, resource);
	msgw_puts(w, "<m:MachineID xmlns:m=\"" NS_M "\" "
	    "s:mustUnderstand=\"false\">");
	msgw_esc(w, h->machine_id);
	msgw_puts(w, "</m:MachineID><a:ReplyTo><a:Address "
	    "s:mustUnderstand=\"true\">" ANON "</a:Address></a:ReplyTo>"
	    "<a:Action s:mustUnderstand=\"true\">");
	msgw_puts(w, action);
	msgw_puts(w, "</a:Action><w:MaxEnvelopeSize s:mustUnderstand=\"true\">"
	    "512000</w:MaxEnvelopeSize><a:MessageID>");
	msgw_puts(w, h->message_id);
	msgw_puts(w, "</a:MessageID><w:Locale xml:lang=\"en-US\" "
	    "s:mustUnderstand=\"false\" /><p:DataLocale xml:lang=\"en-US\" "
	    "s:mustUnderstand=\"false\" /><p:SessionId "
	    "s:mustUnderstand=\"false\">");
	msgw_puts(w, h->session_id);
	msgw_puts(w, "</p:SessionId><p:OperationID s:mustUnderstand=\"false\">");
	msgw_puts(w, h->operation_id);
	msgw_puts(w, "</p:OperationID><p:SequenceId s:mustUnderstand=\"false\">"
	    "1</p:SequenceId><w:OperationTimeout>");
	msgw_puts(w, timeout);
	msgw_puts(w, "</w:OperationTimeout>");
	msgw_refs(w, h->refs, h->nrefs);
}

int
replay_msg_enumerate(struct buf *out, const struct replay_hdr *h)
{
	struct msgw w = { out, CD_EOK };

	msgw_head(&w, h, " xmlns:n=\"" NS_N "\" xmlns:w=\"" NS_W
	    "\" xmlns:p=\"" NS_P "\" xmlns:b=\"" NS_B "\"",
	    "<w:ResourceURI s:mustUnderstand=\"true\">"
	    "http://schemas.microsoft.com/wbem/wsman/1/SubscriptionManager/"
	    "Subscription</w:ResourceURI>",
	    "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate",
	    "PT60.000S");
	msgw_puts(&w, "</s:Header><s:Body><n:Enumerate>"
	    "<w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements>"
	    "</n:Enumerate></s:Body></s:Envelope>");
	return w.rc;
}

int
replay_msg_end(struct buf *out, const struct replay_hdr *h)
{
	struct msgw w = { out, CD_EOK };

	/* end.xml: To is anonymous, OperationID is the Enumerate's. */
	msgw_puts(&w, "<s:Envelope xmlns:s=\"" NS_S "\" xmlns:a=\"" NS_A
	    "\" xmlns:w=\"" NS_W "\" xmlns:p=\"" NS_P "\"><s:Header>"
	    "<a:To>" ANON "</a:To><w:ResourceURI s:mustUnderstand=\"true\">"
	    "http://schemas.microsoft.com/wbem/wsman/1/wsman/FullDuplex"
	    "</w:ResourceURI><a:Action s:mustUnderstand=\"true\">"
	    "http://schemas.microsoft.com/wbem/wsman/1/wsman/End</a:Action>"
	    "<a:MessageID>");
	msgw_puts(&w, h->message_id);
	msgw_puts(&w, "</a:MessageID><p:OperationID>");
	msgw_puts(&w, h->operation_id);
	msgw_puts(&w, "</p:OperationID></s:Header><s:Body></s:Body>"
	    "</s:Envelope>");
	return w.rc;
}

int
replay_msg_heartbeat(struct buf *out, const struct replay_hdr *h)
{
	struct msgw w = { out, CD_EOK };

	msgw_head(&w, h, " xmlns:e=\"" NS_E "\" xmlns:w=\"" NS_W
	    "\" xmlns:p=\"" NS_P "\"", NULL, WSMAN "Heartbeat", "PT60.000S");
	msgw_puts(&w, "<w:AckRequested/></s:Header><s:Body><w:Events>"
	    "</w:Events></s:Body></s:Envelope>");
	return w.rc;
}

int
replay_msg_events(struct buf *out, const struct replay_hdr *h,
    const char *bookmark, const struct replay_event *const *ev, size_t n,
    const char *computer)
{
	struct msgw w = { out, CD_EOK };
	char rid[24];

	msgw_head(&w, h, " xmlns:e=\"" NS_E "\" xmlns:w=\"" NS_W
	    "\" xmlns:p=\"" NS_P "\"", NULL, WSMAN "Events", "PT60.000S");
	if (bookmark != NULL && bookmark[0] != '\0') {
		msgw_puts(&w, "<w:Bookmark>");
		msgw_puts(&w, bookmark);
		msgw_puts(&w, "</w:Bookmark>");
	}
	msgw_puts(&w, "<w:AckRequested/></s:Header><s:Body><w:Events>");
	for (size_t i = 0; i < n && w.rc == CD_EOK; i++) {
		const struct replay_event *e = ev[i];

		msgw_puts(&w, "<w:Event Action=\"" WSMAN "Event\"><![CDATA[");
		if (computer == NULL) {
			msgw_putn(&w, e->xml, e->len);
		} else {
			/* Synthesised host: splice its name and sequence
			 * number into the template; offsets are ordered
			 * because EventRecordID precedes Computer. */
			snprintf(rid, sizeof(rid), "%llu",
			    (unsigned long long)e->seq_id);
			msgw_putn(&w, e->xml, e->rid_off);
			msgw_puts(&w, rid);
			msgw_putn(&w, e->xml + e->rid_off + e->rid_len,
			    e->comp_off - e->rid_off - e->rid_len);
			msgw_esc(&w, computer);
			msgw_putn(&w, e->xml + e->comp_off + e->comp_len,
			    e->len - e->comp_off - e->comp_len);
		}
		msgw_puts(&w, "]]></w:Event>");
	}
	msgw_puts(&w, "</w:Events></s:Body></s:Envelope>");
	return w.rc;
}

int
replay_msg_subscription_end(struct buf *out, const struct replay_hdr *h)
{
	struct msgw w = { out, CD_EOK };

	msgw_head(&w, h, " xmlns:e=\"" NS_E "\" xmlns:w=\"" NS_W
	    "\" xmlns:p=\"" NS_P "\"", NULL,
	    "http://schemas.xmlsoap.org/ws/2004/08/eventing/SubscriptionEnd",
	    "PT0.500S");
	msgw_puts(&w, "<w:AckRequested/></s:Header><s:Body><e:SubscriptionEnd>"
	    "<e:SubscriptionManager><a:Address>");
	msgw_esc(&w, h->to);
	msgw_puts(&w, "</a:Address><a:ReferenceProperties>");
	msgw_refs(&w, h->refs, h->nrefs);
	msgw_puts(&w, "</a:ReferenceProperties></e:SubscriptionManager>"
	    "<e:Status>http://schemas.xmlsoap.org/ws/2004/08/eventing/"
	    "SourceShuttingDown</e:Status></e:SubscriptionEnd></s:Body>"
	    "</s:Envelope>");
	return w.rc;
}

int
replay_bookmark_set(struct replay_bookmark *bm, const char *channel,
    uint64_t rid)
{
	struct replay_mark *m;

	bm->earliest = false;
	for (size_t i = 0; i < bm->n; i++) {
		if (strcasecmp(bm->marks[i].channel, channel) == 0) {
			bm->marks[i].record_id = rid;
			bm->current = i;
			return CD_EOK;
		}
	}
	m = realloc(bm->marks, (bm->n + 1) * sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	bm->marks = m;
	if ((m[bm->n].channel = strdup(channel)) == NULL)
		return -ENOMEM;
	m[bm->n].record_id = rid;
	bm->current = bm->n++;
	return CD_EOK;
}

const struct replay_mark *
replay_bookmark_find(const struct replay_bookmark *bm, const char *channel)
{
	for (size_t i = 0; i < bm->n; i++)
		if (strcasecmp(bm->marks[i].channel, channel) == 0)
			return &bm->marks[i];
	return NULL;
}

int
replay_bookmark_render(const struct replay_bookmark *bm, struct buf *out)
{
	struct msgw w = { out, CD_EOK };

	if (bm->n == 0)
		return CD_EOK;
	msgw_puts(&w, "<BookmarkList>");
	for (size_t i = 0; i < bm->n; i++) {
		char rid[24];

		snprintf(rid, sizeof(rid), "%llu",
		    (unsigned long long)bm->marks[i].record_id);
		msgw_puts(&w, "<Bookmark Channel=\"");
		msgw_esc(&w, bm->marks[i].channel);
		msgw_puts(&w, "\" RecordId=\"");
		msgw_puts(&w, rid);
		msgw_puts(&w, i == bm->current ? "\" IsCurrent=\"true\"/>" :
		    "\"/>");
	}
	msgw_puts(&w, "</BookmarkList>");
	return w.rc;
}

static int
replay_bookmark_cmp(const void *a, const void *b)
{
	const struct replay_mark *const *x = a, *const *y = b;

	return strcasecmp((*x)->channel, (*y)->channel);
}

int
replay_bookmark_summary(const struct replay_bookmark *bm, struct buf *out)
{
	const struct replay_mark **v = NULL;
	int rc = CD_EOK;

	if (bm->earliest)
		return buf_puts(out, "earliest");
	if (bm->n == 0)
		return buf_puts(out, "none");
	if ((v = calloc(bm->n, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < bm->n; i++)
		v[i] = &bm->marks[i];
	qsort(v, bm->n, sizeof(*v), replay_bookmark_cmp);
	for (size_t i = 0; i < bm->n && rc == CD_EOK; i++)
		rc = buf_printf(out, "%s%s=%llu%s", i ? "," : "", v[i]->channel,
		    (unsigned long long)v[i]->record_id,
		    v[i] == &bm->marks[bm->current] ? "*" : "");
	free(v);
	return rc;
}

int
replay_bookmark_copy(struct replay_bookmark *dst,
    const struct replay_bookmark *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->earliest = src->earliest;
	for (size_t i = 0; i < src->n; i++) {
		if (replay_bookmark_set(dst, src->marks[i].channel,
		    src->marks[i].record_id) != CD_EOK) {
			replay_bookmark_free(dst);
			return -ENOMEM;
		}
	}
	dst->current = src->current;
	return CD_EOK;
}

void
replay_bookmark_free(struct replay_bookmark *bm)
{
	for (size_t i = 0; i < bm->n; i++)
		free(bm->marks[i].channel);
	free(bm->marks);
	memset(bm, 0, sizeof(*bm));
}

int
replay_url_parse(const char *url, struct replay_url *out)
{
	const char *p, *hs, *he, *ps = NULL, *path;
	int rc = CD_EPARSE;

	memset(out, 0, sizeof(*out));
	if (strncasecmp(url, "https://", 8) == 0)
		return CD_EUNSUPPORTED;
	if (strncasecmp(url, "http://", 7) != 0)
		return CD_EPARSE;
	p = url + 7;
	path = p + strcspn(p, "/?#");
	hs = p;
	if (*hs == '[') {
		he = memchr(hs, ']', (size_t)(path - hs));
		if (he == NULL)
			goto fail;
		hs++;
		if (he[1] == ':')
			ps = he + 2;
	} else {
		he = memchr(hs, ':', (size_t)(path - hs));
		if (he != NULL)
			ps = he + 1;
		else
			he = path;
	}
	if (he == hs || (ps != NULL && ps == path))
		goto fail;
	rc = -ENOMEM;
	out->host = strndup(hs, (size_t)(he - hs));
	out->port = ps != NULL ? strndup(ps, (size_t)(path - ps)) :
	    strdup("5985");
	out->path = strdup(*path == '/' ? path : "/");
	out->hostport = strndup(p, (size_t)(path - p));
	if (out->host == NULL || out->port == NULL || out->path == NULL ||
	    out->hostport == NULL)
		goto fail;
	if (strspn(out->port, "0123456789") != strlen(out->port)) {
		rc = CD_EPARSE;
		goto fail;
	}
	return CD_EOK;
fail:
	replay_url_free(out);
	return rc;
}

void
replay_url_free(struct replay_url *u)
{
	free(u->host);
	free(u->port);
	free(u->path);
	free(u->hostport);
	memset(u, 0, sizeof(*u));
}
