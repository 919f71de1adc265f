/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "harness.h"
#include "subscription.h"

#define BASE_URL "http://wec.example.com:5985"
#define BOOKMARK "<BookmarkList><Bookmark Channel=\"Microsoft-Windows-Sysmon/Operational\" " \
	"RecordId=\"149140\" IsCurrent=\"true\"/></BookmarkList>"

static char *tmpdir;

static void
setup(void)
{
	char path[4096];
	const char *top = getenv("top_srcdir");

	snprintf(path, sizeof(path), "%s/schemas", top ? top : ".");
	ck_assert_int_eq(conf_set_schema_dir(path), CD_EOK);
	tmpdir = harness_mkdtemp();
}

static void
teardown(void)
{
	harness_rmdir_rf(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

static char *
src_path(const char *rel)
{
	char *p;
	const char *top = getenv("top_srcdir");

	ck_assert_int_ge(asprintf(&p, "%s/%s", top ? top : ".", rel), 0);
	return p;
}

static char *
read_src(const char *rel)
{
	char *path = src_path(rel);
	char *data = harness_read_file(path, NULL);

	ck_assert_ptr_nonnull(data);
	free(path);
	return data;
}

/* Replace the first occurrence of from (which must exist) by to. */
static char *
replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *r;

	ck_assert_msg(at != NULL, "\"%s\" not in template", from);
	ck_assert_int_ge(asprintf(&r, "%.*s%s%s", (int)(at - s), s, to,
	    at + strlen(from)), 0);
	return r;
}

/* Write text as a file in tmpdir, load it, return the subscription. */
static struct subscription *
load_text(const char *text)
{
	static unsigned seq;
	char path[4096];
	struct subscription *sub = NULL;
	char *err = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/s%u.xml", tmpdir, seq++);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	ck_assert_msg(subscription_load_file(path, &sub, &err) == CD_EOK,
	    "load: %s", err ? err : "?");
	return sub;
}

START_TEST(test_examples)
{
	char *dir = src_path("etc/subscriptions.d");
	struct subscription_set *set;
	const struct subscription *sec, *sys;
	char *err = NULL;

	ck_assert_int_eq(subscription_load_dir(dir, &set, &err), CD_EOK);
	ck_assert_ptr_null(err);
	ck_assert_uint_eq(set->n, 2);
	sec = set->subs[0];	/* sorted by file name */
	sys = set->subs[1];
	ck_assert_str_eq(sec->name, "Security");
	ck_assert_int_eq(sec->mode, SUBSCRIPTION_MODE_CUSTOM);
	ck_assert_uint_eq(sec->max_items, 500);
	ck_assert_uint_eq(sec->max_latency_ms, 60000);
	ck_assert_uint_eq(sec->heartbeat_ms, 900000);
	ck_assert_str_eq(sec->content_format, "RenderedText");
	ck_assert_str_eq(sec->transport, "HTTP");
	ck_assert_str_eq(sec->locale, "en-US");
	ck_assert(sec->enabled);
	ck_assert(!sec->read_existing);
	ck_assert_ptr_nonnull(strstr(sec->query_xml, "<QueryList>"));
	ck_assert_ptr_nonnull(strstr(sec->query_xml, "<Suppress Path=\"Security\">"));
	ck_assert_str_eq(sec->allowed_domain_sddl, "O:NSG:BAD:P(A;;GA;;;DC)(A;;GA;;;DD)S:");
	ck_assert_str_eq(sys->name, "Sysmon");
	ck_assert_int_eq(sys->mode, SUBSCRIPTION_MODE_MIN_LATENCY);
	ck_assert_uint_eq(sys->max_items, 0);
	ck_assert_uint_eq(sys->max_latency_ms, 30000);
	ck_assert_uint_eq(sys->heartbeat_ms, 3600000);
	ck_assert_str_eq(sys->content_format, "Raw");	/* wecutil "Events" */
	ck_assert_ptr_nonnull(strstr(sys->query_xml,
	    "Path=\"Microsoft-Windows-Sysmon/Operational\""));
	ck_assert_uint_eq(strlen(sys->id), 36);
	ck_assert_int_eq(strncmp(sys->version, "uuid:", 5), 0);
	ck_assert_uint_eq(strlen(sys->version), 41);
	ck_assert_str_ne(sys->id, sec->id);
	ck_assert_str_ne(sys->version, sec->version);

	ck_assert_ptr_eq(subscription_set_find(set, "sysmon"), sys);
	ck_assert_ptr_eq(subscription_set_find(set, sec->id), sec);
	ck_assert_ptr_null(subscription_set_find(set, "Application"));
	subscription_set_free(set);
	subscription_set_free(NULL);
	free(dir);
}
END_TEST

START_TEST(test_builtin)
{
	struct subscription_set *set;
	struct subscription *b;
	char *path = src_path("etc/subscriptions.d/sysmon.xml");
	struct subscription *file;
	char *err = NULL;

	/* An empty directory (other files ignored) means the built-in one. */
	char junk[4096];
	snprintf(junk, sizeof(junk), "%s/README.txt", tmpdir);
	FILE *f = fopen(junk, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(subscription_load_dir(tmpdir, &set, &err), CD_EOK);
	ck_assert_uint_eq(set->n, 1);
	b = set->subs[0];
	ck_assert_str_eq(b->name, "Sysmon");
	ck_assert_str_eq(b->content_format, "Raw");
	ck_assert_int_eq(b->mode, SUBSCRIPTION_MODE_MIN_LATENCY);
	ck_assert_ptr_null(b->file);
	ck_assert_ptr_nonnull(strstr(b->query_xml,
	    "<Select Path=\"Microsoft-Windows-Sysmon/Operational\">*</Select>"));

	/* Moving from the built-in to the shipped file changes nothing a
	 * client sees, so no client re-subscribes. */
	ck_assert_int_eq(subscription_load_file(path, &file, &err), CD_EOK);
	ck_assert_str_eq(b->id, file->id);
	ck_assert_str_eq(b->version, file->version);
	subscription_free(file);
	subscription_set_free(set);
	free(path);

	ck_assert_int_eq(subscription_load_dir("/nonexistent/subs.d", &set, &err),
	    -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/subs.d"));
	free(err);
}
END_TEST

START_TEST(test_version)
{
	char *t = read_src("etc/subscriptions.d/sysmon.xml");
	struct subscription *base, *again, *s;
	char *v;

	base = load_text(t);
	again = load_text(t);
	ck_assert_str_eq(base->version, again->version);
	ck_assert_str_eq(base->id, again->id);
	subscription_free(again);

	/* Not visible to clients: the version stays. */
	static const char *const same[][2] = {
		{ "<Description>Built-in: every Sysmon event</Description>",
		  "<Description>changed</Description>" },
		{ "<Enabled>true</Enabled>", "<Enabled>false</Enabled>" },
		{ "<LogFile>ForwardedEvents</LogFile>", "<LogFile>Other</LogFile>" },
		/* MinLatency ignores the file's numbers (§6). */
		{ "Interval=\"3600000\"", "Interval=\"5000\"" },
		/* Custom with exactly the MinLatency values. */
		{ "<ConfigurationMode>MinLatency</ConfigurationMode>",
		  "<ConfigurationMode>Custom</ConfigurationMode>" },
		{ "<ContentFormat>Events</ContentFormat>",
		  "<ContentFormat>Raw</ContentFormat>" },
		{ "<TransportName>HTTP</TransportName>",
		  "<TransportName>http</TransportName>" },
		{ "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "" },
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		v = replace(t, same[i][0], same[i][1]);
		s = load_text(v);
		ck_assert_msg(strcmp(s->version, base->version) == 0,
		    "version changed by %s", same[i][1]);
		subscription_free(s);
		free(v);
	}

	/* Visible to clients: the version changes. */
	static const char *const differ[][2] = {
		{ "<ConfigurationMode>MinLatency</ConfigurationMode>",
		  "<ConfigurationMode>Normal</ConfigurationMode>" },
		{ "<ConfigurationMode>MinLatency</ConfigurationMode>",
		  "<ConfigurationMode>MinBandwidth</ConfigurationMode>" },
		{ "<Select Path=\"Microsoft-Windows-Sysmon/Operational\">*</Select>",
		  "<Select Path=\"Microsoft-Windows-Sysmon/Operational\">*[System[EventID=22]]</Select>" },
		{ "<ContentFormat>Events</ContentFormat>",
		  "<ContentFormat>RenderedText</ContentFormat>" },
		{ "<ReadExistingEvents>false</ReadExistingEvents>",
		  "<ReadExistingEvents>true</ReadExistingEvents>" },
		{ "<Locale Language=\"en-US\"/>", "<Locale Language=\"de-DE\"/>" },
		{ "<TransportName>HTTP</TransportName>",
		  "<TransportName>HTTPS</TransportName>" },
		{ "<SubscriptionId>Sysmon</SubscriptionId>",
		  "<SubscriptionId>Sysmon2</SubscriptionId>" },
	};
	for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
		v = replace(t, differ[i][0], differ[i][1]);
		s = load_text(v);
		ck_assert_msg(strcmp(s->version, base->version) != 0,
		    "version unchanged by %s", differ[i][1]);
		subscription_free(s);
		free(v);
	}

	/* Custom: each of the file's delivery numbers counts. */
	char *custom = replace(t, "<ConfigurationMode>MinLatency</ConfigurationMode>",
	    "<ConfigurationMode>Custom</ConfigurationMode>");
	static const char *const nums[][2] = {
		{ "Interval=\"3600000\"", "Interval=\"60000\"" },
		{ "<MaxLatencyTime>30000</MaxLatencyTime>",
		  "<MaxLatencyTime>1000</MaxLatencyTime>" },
		{ "<MaxLatencyTime>30000</MaxLatencyTime>",
		  "<MaxLatencyTime>30000</MaxLatencyTime><MaxItems>7</MaxItems>" },
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		v = replace(custom, nums[i][0], nums[i][1]);
		s = load_text(v);
		ck_assert_msg(strcmp(s->version, base->version) != 0,
		    "version unchanged by %s", nums[i][1]);
		if (i == 2)
			ck_assert_uint_eq(s->max_items, 7);
		if (i == 0)
			ck_assert_uint_eq(s->heartbeat_ms, 60000);
		subscription_free(s);
		free(v);
	}

	/* An explicit id is used as written and changes the version. */
	v = replace(t, "<SubscriptionId>", "<cd:Identifier xmlns:cd=\"urn:collectord:subscription\">"
	    "b6bdbb59-fb07-4ee5-841f-ebec9d67cdd4</cd:Identifier><SubscriptionId>");
	s = load_text(v);
	ck_assert_str_eq(s->id, "b6bdbb59-fb07-4ee5-841f-ebec9d67cdd4");
	ck_assert_str_ne(s->version, base->version);
	subscription_free(s);
	free(v);

	free(custom);
	subscription_free(base);
	free(t);
}
END_TEST

START_TEST(test_bad)
{
	struct subscription_set *set = (void *)1;
	char *dir = src_path("tests/data/conf/subs-bad");
	char *err = NULL;

	ck_assert_int_eq(subscription_load_dir(dir, &set, &err), CD_ECONFIG);
	ck_assert_ptr_null(set);
	/* Every file is reported, each with its line. */
	ck_assert_msg(strstr(err, "subs-bad/bad-pull.xml:5: Delivery Mode \"Pull\"") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "subs-bad/bad-query.xml:5: Query is not well-formed") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "subs-bad/bad-unknown.xml:5: ") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "HeartbeatInterval") != NULL, "%s", err);
	free(err);
	free(dir);

	dir = src_path("tests/data/conf/subs-dup");
	ck_assert_int_eq(subscription_load_dir(dir, &set, &err), CD_ECONFIG);
	ck_assert_msg(strstr(err, "subs-dup/c.xml:3: subscription id") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "subs-dup/d.xml:2: subscription name \"SAME\"") != NULL, "%s", err);
	free(err);
	free(dir);

	char *t = read_src("etc/subscriptions.d/sysmon.xml");
	static const char *const bad[][3] = {
		{ "<Query>", "<Description>x</Description><Query>", "Description given twice" },
		{ "Microsoft-Windows-Sysmon/Operational\">*</Select></Query></QueryList>",
		  "x\">*</Select></Query></QueryList><QueryList/>", "not well-formed" },
		{ "<QueryList><Query Id=\"0\"><Select Path=\"Microsoft-Windows-Sysmon/Operational\">*</Select></Query></QueryList>",
		  "<QueryList/>", "no <Query>" },
		{ "<QueryList>", "<QueryList xmlns=\"urn:x\">", "exactly one <QueryList>" },
		{ "<SubscriptionId>Sysmon</SubscriptionId>", "", "missing <SubscriptionId>" },
		{ "SourceInitiated", "CollectorInitiated", "not supported" },
		{ "<SubscriptionId>", "<cd:Identifier xmlns:cd=\"urn:collectord:subscription\">nope"
		  "</cd:Identifier><SubscriptionId>", "not a GUID" },
		{ "<Enabled>true</Enabled>", "<Enabled>yes</Enabled>", "Enabled" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[4096];
		char *v = replace(t, bad[i][0], bad[i][1]);
		struct subscription *s = (void *)1;
		FILE *f;

		snprintf(path, sizeof(path), "%s/bad%zu.xml", tmpdir, i);
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		fputs(v, f);
		fclose(f);
		ck_assert_int_eq(subscription_load_file(path, &s, &err), CD_ECONFIG);
		ck_assert_ptr_null(s);
		ck_assert_msg(strstr(err, bad[i][2]) != NULL, "want %s in %s",
		    bad[i][2], err);
		ck_assert_msg(strstr(err, path) == err, "no file in %s", err);
		free(err);
		free(v);
	}
	free(t);
}
END_TEST

START_TEST(test_allows)
{
	char *t = read_src("etc/subscriptions.d/sysmon.xml");
	char *v = replace(t, "<Enabled>", "<cd:AllowedSources xmlns:cd=\"urn:collectord:subscription\">"
	    "<cd:Source>*$@EXAMPLE.COM</cd:Source><cd:Source>web?.dmz.example.com</cd:Source>"
	    "</cd:AllowedSources><Enabled>");
	struct subscription *all = load_text(t), *some = load_text(v);

	ck_assert(subscription_allows(all, "anyone"));
	ck_assert(subscription_allows(some, "WIN10$@example.com"));
	ck_assert(subscription_allows(some, "web1.dmz.example.com"));
	ck_assert(!subscription_allows(some, "web10.dmz.example.com"));
	ck_assert(!subscription_allows(some, "WIN10$@EVIL.COM"));
	ck_assert(!subscription_allows(some, NULL));
	/* Who may receive it is not client-visible. */
	ck_assert_str_eq(all->version, some->version);
	subscription_free(all);
	subscription_free(some);
	free(v);
	free(t);
}
END_TEST

/* Parse a rendered item back; the helpers below query it by XPath. */
static xmlDoc *
parse_item(const struct buf *b)
{
	xmlDoc *doc = xmlReadMemory((const char *)b->data, (int)b->len, NULL,
	    NULL, XML_PARSE_NONET);

	ck_assert_msg(doc != NULL, "not well-formed: %s", (const char *)b->data);
	return doc;
}

static xmlXPathObject *
xp(xmlDoc *doc, const char *expr)
{
	static const char *const ns[][2] = {
		{ "m", "http://schemas.microsoft.com/wbem/wsman/1/subscription" },
		{ "s", "http://www.w3.org/2003/05/soap-envelope" },
		{ "a", "http://schemas.xmlsoap.org/ws/2004/08/addressing" },
		{ "e", "http://schemas.xmlsoap.org/ws/2004/08/eventing" },
		{ "w", "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" },
		{ "p", "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" },
		{ "c", "http://schemas.xmlsoap.org/ws/2002/12/policy" },
		{ "auth", "http://schemas.microsoft.com/wbem/wsman/1/authentication" },
		{ "xsi", "http://www.w3.org/2001/XMLSchema-instance" },
	};
	xmlXPathContext *ctx = xmlXPathNewContext(doc);
	xmlXPathObject *o;

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		xmlXPathRegisterNs(ctx, BAD_CAST ns[i][0], BAD_CAST ns[i][1]);
	o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
	xmlXPathFreeContext(ctx);
	ck_assert_msg(o != NULL, "bad xpath %s", expr);
	return o;
}

static int
xp_count(xmlDoc *doc, const char *expr)
{
	xmlXPathObject *o = xp(doc, expr);
	int n = o->nodesetval ? o->nodesetval->nodeNr : 0;

	xmlXPathFreeObject(o);
	return n;
}

/* string() of an expression, malloc'd. */
static char *
xp_str(xmlDoc *doc, const char *expr)
{
	char full[1024];
	xmlXPathObject *o;
	char *r;

	snprintf(full, sizeof(full), "string(%s)", expr);
	o = xp(doc, full);
	r = strdup((const char *)o->stringval);
	xmlXPathFreeObject(o);
	return r;
}

static void
assert_xp_str(xmlDoc *doc, const char *expr, const char *want)
{
	char *got = xp_str(doc, expr);

	ck_assert_msg(strcmp(got, want) == 0, "%s: got \"%s\", want \"%s\"",
	    expr, got, want);
	free(got);
}

#define SUB "/m:Subscription/s:Envelope/s:Body/e:Subscribe"
#define OPT "/m:Subscription/s:Envelope/s:Header/w:OptionSet/w:Option"

START_TEST(test_render_kerberos)
{
	char *t = read_src("etc/subscriptions.d/security.xml");
	struct subscription *sub = load_text(t);
	struct subscription_render_ctx ctx = {
		.base_url = BASE_URL, .auth = CONF_AUTH_KERBEROS,
	};
	char url[256], version[SUBSCRIPTION_VERSION_LEN];
	char *msgid;
	struct buf b;
	xmlDoc *doc;

	buf_init(&b, 0);
	ck_assert_int_eq(subscription_render(sub, &ctx, &b), CD_EOK);
	doc = parse_item(&b);
	snprintf(url, sizeof(url), BASE_URL "/wsman/subscriptions/%s", sub->id);
	subscription_wire_version(sub, &ctx, version);
	assert_xp_str(doc, "/m:Subscription/m:Version", version);
	assert_xp_str(doc, SUB "/e:EndTo/a:Address", url);
	assert_xp_str(doc, SUB "/e:Delivery/e:NotifyTo/a:Address", url);
	assert_xp_str(doc, SUB "/e:Delivery/e:NotifyTo/a:ReferenceProperties/e:Identifier", sub->id);
	assert_xp_str(doc, SUB "/e:EndTo/a:ReferenceProperties/e:Identifier", sub->id);
	assert_xp_str(doc, SUB "/e:Delivery/@Mode", "http://schemas.dmtf.org/wbem/wsman/1/wsman/Events");
	assert_xp_str(doc, SUB "/e:Delivery/e:NotifyTo/c:Policy/c:ExactlyOne/c:All/auth:Authentication/@Profile",
	    "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/spnego-kerberos");
	ck_assert_int_eq(xp_count(doc, "//auth:ClientCertificate"), 0);
	assert_xp_str(doc, SUB "/e:Delivery/w:Heartbeats", "PT900.000S");
	assert_xp_str(doc, SUB "/e:Delivery/w:MaxTime", "PT60.000S");
	assert_xp_str(doc, SUB "/e:Delivery/w:MaxElements", "500");
	assert_xp_str(doc, SUB "/e:Delivery/w:ConnectionRetry/@Total", "5");
	assert_xp_str(doc, SUB "/e:Delivery/w:ConnectionRetry", "PT60.0S");
	assert_xp_str(doc, SUB "/e:Delivery/w:MaxEnvelopeSize[@Policy='Notify']", "512000");
	assert_xp_str(doc, SUB "/e:Delivery/w:ContentEncoding", "UTF-16");
	assert_xp_str(doc, SUB "/w:Filter/@Dialect", "http://schemas.microsoft.com/win/2004/08/events/eventquery");
	ck_assert_int_eq(xp_count(doc, SUB "/w:Filter/QueryList"), 1);
	ck_assert_int_eq(xp_count(doc, SUB "/w:Filter/QueryList/Query/Select[@Path='Security']"), 2);
	ck_assert_int_eq(xp_count(doc, SUB "/w:Bookmark"), 0);	/* none, not read_existing */
	ck_assert_int_eq(xp_count(doc, SUB "/w:SendBookmarks"), 1);
	assert_xp_str(doc, OPT "[@Name='SubscriptionName']", "Security");
	assert_xp_str(doc, OPT "[@Name='ContentFormat']", "RenderedText");
	assert_xp_str(doc, OPT "[@Name='CDATA']/@xsi:nil", "true");
	assert_xp_str(doc, OPT "[@Name='IgnoreChannelError']/@xsi:nil", "true");
	ck_assert_int_eq(xp_count(doc, OPT "[@Name='Compression']"), 0);
	ck_assert_int_eq(xp_count(doc, OPT "[@Name='ReadExistingEvents']"), 0);
	msgid = xp_str(doc, "/m:Subscription/s:Envelope/s:Header/a:MessageID");
	ck_assert_uint_eq(strlen(msgid), 41);
	ck_assert_int_eq(strncmp(msgid, "uuid:", 5), 0);
	xmlFreeDoc(doc);

	/* Appends, and a fresh MessageID each time; same Version. */
	size_t first = b.len;
	ck_assert_int_eq(subscription_render(sub, &ctx, &b), CD_EOK);
	struct buf second = { b.data + first, b.len - first, 0, 0 };
	doc = parse_item(&second);
	char *msgid2 = xp_str(doc, "/m:Subscription/s:Envelope/s:Header/a:MessageID");
	ck_assert_str_ne(msgid, msgid2);
	assert_xp_str(doc, "/m:Subscription/m:Version", version);
	xmlFreeDoc(doc);
	free(msgid);
	free(msgid2);
	buf_free(&b);
	subscription_free(sub);
	free(t);
}
END_TEST

START_TEST(test_render_tls_bookmarks)
{
	char *t = read_src("etc/subscriptions.d/sysmon.xml");
	char *v = replace(t, "<ReadExistingEvents>false", "<ReadExistingEvents>true");
	char *w = replace(t, "<SubscriptionId>Sysmon", "<SubscriptionId>A&amp;B &lt;x&gt;");
	struct subscription *sub = load_text(t), *rd = load_text(v), *odd = load_text(w);
	const char *thumbs[] = {
		"AABBCCDDEEFF00112233445566778899AABBCCDD",
		"0123456789ABCDEF0123456789ABCDEF01234567",
	};
	struct subscription_render_ctx ctx = {
		.base_url = "https://wec.example.com:5986", .auth = CONF_AUTH_TLS,
		.thumbprints = thumbs, .nthumbprints = 2,
	};
	char v1[SUBSCRIPTION_VERSION_LEN], v2[SUBSCRIPTION_VERSION_LEN];
	struct buf b;
	xmlDoc *doc;

	buf_init(&b, 0);
	ck_assert_int_eq(subscription_render(sub, &ctx, &b), CD_EOK);
	doc = parse_item(&b);
	/* One policy alternative per issuer CA (errata 10). */
	ck_assert_int_eq(xp_count(doc, "//c:ExactlyOne/c:All"), 2);
	assert_xp_str(doc, "//c:All[1]/auth:Authentication/@Profile",
	    "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual");
	assert_xp_str(doc, "//c:All[1]/auth:Authentication/auth:ClientCertificate/auth:Thumbprint[@Role='issuer']", thumbs[0]);
	assert_xp_str(doc, "//c:All[2]/auth:Authentication/auth:ClientCertificate/auth:Thumbprint[@Role='issuer']", thumbs[1]);
	ck_assert_int_eq(xp_count(doc, SUB "/e:Delivery/w:MaxElements"), 0);	/* MinLatency */
	assert_xp_str(doc, SUB "/e:Delivery/w:Heartbeats", "PT3600.000S");
	assert_xp_str(doc, SUB "/e:Delivery/w:MaxTime", "PT30.000S");
	assert_xp_str(doc, OPT "[@Name='ContentFormat']", "Raw");
	ck_assert_int_eq(xp_count(doc, SUB "/w:Bookmark"), 0);
	xmlFreeDoc(doc);

	/* A stored bookmark goes in verbatim, and never moves the Version. */
	subscription_wire_version(sub, &ctx, v1);
	ctx.bookmark = BOOKMARK;
	subscription_wire_version(sub, &ctx, v2);
	ck_assert_str_eq(v1, v2);
	buf_reset(&b);
	ck_assert_int_eq(subscription_render(sub, &ctx, &b), CD_EOK);
	ck_assert_ptr_nonnull(strstr((char *)b.data, "<w:Bookmark>" BOOKMARK "</w:Bookmark>"));
	doc = parse_item(&b);
	assert_xp_str(doc, SUB "/w:Bookmark/BookmarkList/Bookmark/@RecordId", "149140");
	assert_xp_str(doc, "/m:Subscription/m:Version", v1);
	xmlFreeDoc(doc);

	/* ReadExistingEvents without a bookmark: the option and "earliest";
	 * with a stored bookmark, the bookmark wins. */
	ctx.bookmark = NULL;
	buf_reset(&b);
	ck_assert_int_eq(subscription_render(rd, &ctx, &b), CD_EOK);
	doc = parse_item(&b);
	assert_xp_str(doc, SUB "/w:Bookmark",
	    "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest");
	assert_xp_str(doc, OPT "[@Name='ReadExistingEvents']/@xsi:nil", "true");
	xmlFreeDoc(doc);
	ctx.bookmark = BOOKMARK;
	buf_reset(&b);
	ck_assert_int_eq(subscription_render(rd, &ctx, &b), CD_EOK);
	doc = parse_item(&b);
	ck_assert_int_eq(xp_count(doc, SUB "/w:Bookmark/BookmarkList"), 1);
	ck_assert_ptr_null(strstr((char *)b.data, "bookmark/earliest"));
	xmlFreeDoc(doc);

	/* Text is escaped. */
	ctx.base_url = "https://wec.example.com:5986/a&b";
	buf_reset(&b);
	ck_assert_int_eq(subscription_render(odd, &ctx, &b), CD_EOK);
	doc = parse_item(&b);
	assert_xp_str(doc, OPT "[@Name='SubscriptionName']", "A&B <x>");
	char *addr = xp_str(doc, SUB "/e:EndTo/a:Address");
	ck_assert_int_eq(strncmp(addr, "https://wec.example.com:5986/a&b/wsman/subscriptions/", 53), 0);
	free(addr);
	xmlFreeDoc(doc);

	/* What ctx makes visible moves the Version: address, CA. */
	ctx.base_url = "https://wec.example.com:5986";
	subscription_wire_version(sub, &ctx, v1);
	ctx.base_url = "https://wec2.example.com:5986";
	subscription_wire_version(sub, &ctx, v2);
	ck_assert_str_ne(v1, v2);
	ctx.base_url = "https://wec.example.com:5986";
	ctx.nthumbprints = 1;
	subscription_wire_version(sub, &ctx, v2);
	ck_assert_str_ne(v1, v2);

	/* TLS without any issuer cannot be rendered; buffer untouched. */
	ctx.nthumbprints = 0;
	buf_reset(&b);
	ck_assert_int_eq(subscription_render(sub, &ctx, &b), -EINVAL);
	ck_assert_uint_eq(b.len, 0);

	buf_free(&b);
	subscription_free(sub);
	subscription_free(rd);
	subscription_free(odd);
	free(v);
	free(w);
	free(t);
}
END_TEST

/* Element names (namespace and local name) in document order, skipping
 * w:Option elements, which are compared separately. */
static void
shape(xmlNode *n, struct buf *out)
{
	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)n->name, "Option") != 0)
			buf_printf(out, "{%s}%s\n", n->ns ? (const char *)n->ns->href : "",
			    (const char *)n->name);
		shape(n->children, out);
	}
}

static xmlNode *
find_subscription(xmlNode *n)
{
	for (; n != NULL; n = n->next) {
		xmlNode *r;
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, "Subscription") == 0)
			return n;
		if ((r = find_subscription(n->children)) != NULL)
			return r;
	}
	return NULL;
}

/* Same element structure as the Subscribe a Windows collector sent in the
 * captured EnumerateResponse (same delivery mode, with a bookmark). */
START_TEST(test_render_matches_capture)
{
	char *t = read_src("etc/subscriptions.d/sysmon.xml");
	struct subscription *sub = load_text(t);
	struct subscription_render_ctx ctx = {
		.base_url = "HTTP://srv.windomain.local:5985", .auth = CONF_AUTH_KERBEROS,
		.bookmark = BOOKMARK,
	};
	size_t len;
	char *cap = harness_read_data("conf/enumerate-response.xml", &len);
	xmlDoc *capdoc = xmlReadMemory(cap, (int)len, NULL, NULL, XML_PARSE_NONET), *doc;
	struct buf want, got, b;

	ck_assert_ptr_nonnull(capdoc);
	buf_init(&want, 0);
	buf_init(&got, 0);
	buf_init(&b, 0);
	xmlNode *capsub = find_subscription(xmlDocGetRootElement(capdoc));
	ck_assert_ptr_nonnull(capsub);
	/* Only this item, not its siblings. */
	buf_printf(&want, "{%s}%s\n", (const char *)capsub->ns->href,
	    (const char *)capsub->name);
	shape(capsub->children, &want);
	ck_assert_int_eq(subscription_render(sub, &ctx, &b), CD_EOK);
	doc = parse_item(&b);
	shape(xmlDocGetRootElement(doc), &got);
	ck_assert_str_eq((char *)got.data, (char *)want.data);
	/* Options: the capture's minus Compression, in the same order. */
	ck_assert_int_eq(xp_count(capdoc, "//w:Option"), 5);
	ck_assert_int_eq(xp_count(doc, OPT), 4);
	const char *names[] = { "SubscriptionName", "CDATA", "ContentFormat", "IgnoreChannelError" };
	for (int i = 0; i < 4; i++) {
		char expr[128];
		snprintf(expr, sizeof(expr), OPT "[%d]/@Name", i + 1);
		assert_xp_str(doc, expr, names[i]);
	}
	xmlFreeDoc(doc);
	xmlFreeDoc(capdoc);
	buf_free(&want);
	buf_free(&got);
	buf_free(&b);
	free(cap);
	subscription_free(sub);
	free(t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("subscription");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_examples);
	tcase_add_test(tc, test_builtin);
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_bad);
	tcase_add_test(tc, test_allows);
	tcase_add_test(tc, test_render_kerberos);
	tcase_add_test(tc, test_render_tls_bookmarks);
	tcase_add_test(tc, test_render_matches_capture);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
