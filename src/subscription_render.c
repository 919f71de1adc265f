/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * subscription_render(): one <m:Subscription> item of an EnumerateResponse,
 * shaped like the one a Windows Event Collector sends (wef-protocol.md §1.4,
 * the captured enumerate-response.xml), with collectord's choices: no
 * Compression option (we accept plain bodies only if we never ask for SLDC),
 * EndTo = NotifyTo = base_url/wsman/subscriptions/<id>, e:Identifier = id.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "buf.h"
#include "err.h"
#include "subscription.h"

#define NS_S	"http://www.w3.org/2003/05/soap-envelope"
#define NS_A	"http://schemas.xmlsoap.org/ws/2004/08/addressing"
#define NS_E	"http://schemas.xmlsoap.org/ws/2004/08/eventing"
#define NS_N	"http://schemas.xmlsoap.org/ws/2004/09/enumeration"
#define NS_W	"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
#define NS_P	"http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
#define NS_M	"http://schemas.microsoft.com/wbem/wsman/1/subscription"
#define NS_C	"http://schemas.xmlsoap.org/ws/2002/12/policy"
#define NS_AUTH	"http://schemas.microsoft.com/wbem/wsman/1/authentication"
#define NS_XSI	"http://www.w3.org/2001/XMLSchema-instance"
#define ANONYMOUS "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
#define PROFILE	"http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/"
#define BOOKMARK_EARLIEST "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest"
#define MAX_ENVELOPE	512000

/* Output with a sticky error: after the first failure nothing is appended,
 * so a half-written element can never look complete. */
struct render {
	struct buf	*b;
	int		 rc;
};

static void render_put(struct render *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
render_put(struct render *r, const char *fmt, ...)
{
	va_list ap;

	if (r->rc != CD_EOK)
		return;
	va_start(ap, fmt);
	r->rc = buf_vprintf(r->b, fmt, ap);
	va_end(ap);
}

/* Text and attribute values, escaped for both contexts. */
static void
render_esc(struct render *r, const char *s)
{
	for (; s != NULL && *s != '\0' && r->rc == CD_EOK; s++) {
		switch (*s) {
		case '&':	r->rc = buf_puts(r->b, "&amp;"); break;
		case '<':	r->rc = buf_puts(r->b, "&lt;"); break;
		case '>':	r->rc = buf_puts(r->b, "&gt;"); break;
		case '"':	r->rc = buf_puts(r->b, "&quot;"); break;
		case '\'':	r->rc = buf_puts(r->b, "&apos;"); break;
		default:	r->rc = buf_append(r->b, s, 1); break;
		}
	}
}

/* xs:duration the way Windows writes it: PT3600.000S. */
static void
render_duration(struct render *r, uint32_t ms)
{
	render_put(r, "PT%u.%03uS", (unsigned)(ms / 1000), (unsigned)(ms % 1000));
}

static int
render_uuid(char out[37])
{
	unsigned char u[16];

	if (RAND_bytes(u, sizeof(u)) != 1)
		return CD_ECRYPTO;
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
	    "%02X%02X%02X%02X%02X%02X", u[0], u[1], u[2], u[3], u[4], u[5],
	    u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	return CD_EOK;
}

static void
render_address(struct render *r, const struct subscription *sub,
    const struct subscription_render_ctx *ctx)
{
	render_put(r, "<a:Address>");
	render_esc(r, ctx->base_url);
	render_put(r, "/wsman/subscriptions/");
	render_esc(r, sub->id);
	render_put(r, "</a:Address><a:ReferenceProperties><e:Identifier>");
	render_esc(r, sub->id);
	render_put(r, "</e:Identifier></a:ReferenceProperties>");
}

/* Kerberos: one spnego-kerberos alternative. TLS: one alternative per
 * issuer CA, as Windows WEC writes it (wef-protocol.md errata 10). */
static void
render_policy(struct render *r, const struct subscription_render_ctx *ctx)
{
	render_put(r, "<c:Policy xmlns:c=\"" NS_C "\" xmlns:auth=\"" NS_AUTH "\">"
	    "<c:ExactlyOne>");
	if (ctx->auth == CONF_AUTH_TLS) {
		for (size_t i = 0; i < ctx->nthumbprints; i++) {
			render_put(r, "<c:All><auth:Authentication Profile=\""
			    PROFILE "https/mutual\"><auth:ClientCertificate>"
			    "<auth:Thumbprint Role=\"issuer\">");
			render_esc(r, ctx->thumbprints[i]);
			render_put(r, "</auth:Thumbprint></auth:ClientCertificate>"
			    "</auth:Authentication></c:All>");
		}
	} else {
		render_put(r, "<c:All><auth:Authentication Profile=\""
		    PROFILE "http/spnego-kerberos\"/></c:All>");
	}
	render_put(r, "</c:ExactlyOne></c:Policy>");
}

static void
render_locale(struct render *r, const struct subscription *sub)
{
	render_put(r, "<w:Locale xml:lang=\"");
	render_esc(r, sub->locale);
	render_put(r, "\" s:mustUnderstand=\"false\"/><p:DataLocale xml:lang=\"");
	render_esc(r, sub->locale);
	render_put(r, "\" s:mustUnderstand=\"false\"/>");
}

int
subscription_render(const struct subscription *sub,
    const struct subscription_render_ctx *ctx, struct buf *out)
{
	struct render r = { out, CD_EOK };
	char version[SUBSCRIPTION_VERSION_LEN], msgid[37], opid[37];
	size_t start = out->len;
	int rc;

	if (ctx->base_url == NULL || *ctx->base_url == '\0' ||
	    (ctx->auth == CONF_AUTH_TLS && ctx->nthumbprints == 0))
		return -EINVAL;
	if ((rc = render_uuid(msgid)) != CD_EOK ||
	    (rc = render_uuid(opid)) != CD_EOK)
		return rc;
	subscription_wire_version(sub, ctx, version);

	render_put(&r, "<m:Subscription xmlns:m=\"" NS_M "\"><m:Version>%s"
	    "</m:Version>", version);
	render_put(&r, "<s:Envelope xmlns:s=\"" NS_S "\" xmlns:a=\"" NS_A
	    "\" xmlns:e=\"" NS_E "\" xmlns:n=\"" NS_N "\" xmlns:w=\"" NS_W
	    "\" xmlns:p=\"" NS_P "\"><s:Header>");
	render_put(&r, "<a:To>" ANONYMOUS "</a:To>"
	    "<w:ResourceURI s:mustUnderstand=\"true\">"
	    "http://schemas.microsoft.com/wbem/wsman/1/windows/EventLog"
	    "</w:ResourceURI><a:ReplyTo><a:Address s:mustUnderstand=\"true\">"
	    ANONYMOUS "</a:Address></a:ReplyTo>"
	    "<a:Action s:mustUnderstand=\"true\">"
	    "http://schemas.xmlsoap.org/ws/2004/08/eventing/Subscribe</a:Action>"
	    "<w:MaxEnvelopeSize s:mustUnderstand=\"true\">%d</w:MaxEnvelopeSize>"
	    "<a:MessageID>uuid:%s</a:MessageID>", MAX_ENVELOPE, msgid);
	render_locale(&r, sub);
	render_put(&r, "<p:OperationID s:mustUnderstand=\"false\">uuid:%s"
	    "</p:OperationID><p:SequenceId s:mustUnderstand=\"false\">1"
	    "</p:SequenceId>", opid);
	/* No Compression option: the client then sends plain bodies. */
	render_put(&r, "<w:OptionSet xmlns:xsi=\"" NS_XSI "\">"
	    "<w:Option Name=\"SubscriptionName\">");
	render_esc(&r, sub->name);
	render_put(&r, "</w:Option><w:Option Name=\"CDATA\" xsi:nil=\"true\"/>"
	    "<w:Option Name=\"ContentFormat\">");
	render_esc(&r, sub->content_format);
	render_put(&r, "</w:Option>"
	    "<w:Option Name=\"IgnoreChannelError\" xsi:nil=\"true\"/>");
	if (sub->read_existing)
		render_put(&r, "<w:Option Name=\"ReadExistingEvents\" "
		    "xsi:nil=\"true\"/>");
	render_put(&r, "</w:OptionSet></s:Header><s:Body><e:Subscribe>");

	render_put(&r, "<e:EndTo>");
	render_address(&r, sub, ctx);
	render_put(&r, "</e:EndTo><e:Delivery Mode=\""
	    "http://schemas.dmtf.org/wbem/wsman/1/wsman/Events\"><w:Heartbeats>");
	render_duration(&r, sub->heartbeat_ms);
	render_put(&r, "</w:Heartbeats><e:NotifyTo>");
	render_address(&r, sub, ctx);
	render_policy(&r, ctx);
	render_put(&r, "</e:NotifyTo>"
	    "<w:ConnectionRetry Total=\"5\">PT60.0S</w:ConnectionRetry>");
	if (sub->max_items > 0)
		render_put(&r, "<w:MaxElements>%u</w:MaxElements>",
		    (unsigned)sub->max_items);
	render_put(&r, "<w:MaxTime>");
	render_duration(&r, sub->max_latency_ms);
	render_put(&r, "</w:MaxTime><w:MaxEnvelopeSize Policy=\"Notify\">%d"
	    "</w:MaxEnvelopeSize>", MAX_ENVELOPE);
	render_locale(&r, sub);
	render_put(&r, "<w:ContentEncoding>UTF-16</w:ContentEncoding>"
	    "</e:Delivery>");

	/* The QueryList goes in inline; it was parsed and re-serialised by
	 * libxml2 at load time, so it is one well-formed element. */
	render_put(&r, "<w:Filter Dialect=\""
	    "http://schemas.microsoft.com/win/2004/08/events/eventquery\">%s"
	    "</w:Filter>", sub->query_xml);
	if (ctx->bookmark != NULL && *ctx->bookmark != '\0')
		render_put(&r, "<w:Bookmark>%s</w:Bookmark>", ctx->bookmark);
	else if (sub->read_existing)
		render_put(&r, "<w:Bookmark>" BOOKMARK_EARLIEST "</w:Bookmark>");
	render_put(&r, "<w:SendBookmarks/></e:Subscribe></s:Body></s:Envelope>"
	    "</m:Subscription>");

	if (r.rc != CD_EOK) {
		/* Leave the buffer as it was: callers render item after item. */
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
	}
	return r.rc;
}
