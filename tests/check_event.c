/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "harness.h"
#include "slab.h"
#include "timeparse.h"

static struct event *
parse_file(const char *rel)
{
	size_t len;
	char *x = harness_read_data(rel, &len);
	struct event *ev = NULL;

	ck_assert_int_eq(event_parse(x, len, &ev), CD_EOK);
	ck_assert_ptr_nonnull(ev);
	/* The raw text is always kept byte for byte. */
	ck_assert_uint_eq(ev->raw_len, len);
	ck_assert_mem_eq(ev->raw, x, len);
	free(x);
	return ev;
}

static struct event *
parse_str(const char *x)
{
	struct event *ev = NULL;

	ck_assert_int_eq(event_parse(x, strlen(x), &ev), CD_EOK);
	ck_assert_ptr_nonnull(ev);
	return ev;
}

/* Values read off each file by hand (and its .openwec-*.json where given). */
static const struct {
	const char *file;
	uint32_t eid;
	uint64_t rid;		/* 0: no EventRecordID */
	const char *computer;
	const char *channel;
} files[] = {
	{ "1003-win10-7603.xml", 1003, 7603, "win10.windomain.local", "Application" },
	{ "1003-wks10001-403.xml", 1003, 403, "WKS10001", "Application" },
	{ "1100-win10-114371.xml", 1100, 114371, "win10.windomain.local", "Security" },
	{ "111-win10-norecordid.xml", 111, 0, "win10.windomain.local", NULL },
	{ "142-win10-149161.xml", 142, 149161, "win10.windomain.local", "Microsoft-Windows-WinRM/Operational" },
	{ "161-win10-149160.xml", 161, 149160, "win10.windomain.local", "Microsoft-Windows-WinRM/Operational" },
	{ "161-win10-149166.xml", 161, 149166, "win10.windomain.local", "Microsoft-Windows-WinRM/Operational" },
	{ "208-win10-149162.xml", 208, 149162, "win10.windomain.local", "Microsoft-Windows-WinRM/Operational" },
	{ "328-wks10001-20.xml", 328, 20, "WKS10001", "Microsoft-Windows-AppXDeployment/Operational" },
	{ "4624-win10-72207.xml", 4624, 72207, "win10.windomain.local", "Security" },
	{ "4624-wks10001-1446.xml", 4624, 1446, "WKS10001", "Security" },
	{ "4625-wks10001-1444.xml", 4625, 1444, "WKS10001", "Security" },
	{ "4688-win10-114689.xml", 4688, 114689, "win10.windomain.local", "Security" },
	{ "4688-win10-72206.xml", 4688, 72206, "win10.windomain.local", "Security" },
	{ "4689-win10-94071.xml", 4689, 94071, "win10.windomain.local", "Security" },
	{ "5719-win10-9466.xml", 5719, 9466, "win10.windomain.local", "System" },
	{ "6013-win10-9427.xml", 6013, 9427, "win10.windomain.local", "System" },
	{ "8002-wks10001-4974.xml", 8002, 4974, "WKS10001", "Microsoft-Windows-Store/Operational" },
	{ "8198-wks10001-405.xml", 8198, 405, "WKS10001", "Application" },
};

START_TEST(test_all_files)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "wef/events/%s", files[_i].file);
	struct event *ev = parse_file(rel);
	ck_assert_msg(!ev->malformed, "%s: %s", rel, ev->error);
	ck_assert_ptr_null(ev->error);
	ck_assert(ev->has_event_id);
	ck_assert_uint_eq(ev->event_id, files[_i].eid);
	ck_assert_int_eq(ev->has_record_id, files[_i].rid != 0);
	ck_assert_uint_eq(ev->record_id, files[_i].rid);
	ck_assert_str_eq(ev->computer, files[_i].computer);
	if (files[_i].channel == NULL)
		ck_assert_ptr_null(ev->channel);
	else
		ck_assert_str_eq(ev->channel, files[_i].channel);
	ck_assert_ptr_nonnull(ev->provider);
	ck_assert_ptr_nonnull(ev->time_created);
	ck_assert_int_gt(ev->time_created_ms, 1600000000000LL);
	event_free(ev);
}
END_TEST

START_TEST(test_system_fields)
{
	struct event *ev = parse_file("wef/events/4688-win10-114689.xml");

	ck_assert_str_eq(ev->provider, "Microsoft-Windows-Security-Auditing");
	ck_assert_str_eq(ev->provider_guid,
	    "{54849625-5478-4994-a5ba-3e3b0328c30d}");
	ck_assert_uint_eq(ev->version, 2);
	ck_assert_uint_eq(ev->level, 0);
	ck_assert_uint_eq(ev->task, 13312);
	ck_assert_uint_eq(ev->opcode, 0);
	ck_assert_str_eq(ev->keywords, "0x8020000000000000");
	ck_assert_str_eq(ev->time_created, "2022-12-14T16:06:51.0643605Z");
	ck_assert_int_eq(ev->time_created_ms, 1671034011064LL);
	ck_assert_uint_eq(ev->process_id, 4);
	ck_assert_uint_eq(ev->thread_id, 196);
	ck_assert_ptr_null(ev->user_sid);
	/* EventData as in 4688-win10-114689.openwec-json.json. */
	ck_assert_str_eq(event_data(ev, "NewProcessId"), "0x3a8");
	ck_assert_str_eq(event_data(ev, "NewProcessName"),
	    "C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe");
	ck_assert_str_eq(event_data(ev, "CommandLine"), "");
	ck_assert_str_eq(event_data(ev, "MandatoryLabel"), "S-1-16-16384");
	ck_assert_str_eq(event_data(ev, "SubjectUserName"), "WIN10$");
	ck_assert_ptr_null(event_data(ev, "NoSuchField"));
	ck_assert_str_eq(ev->data[0].name, "SubjectUserSid");
	ck_assert_uint_eq(ev->ndata, 15);
	event_free(ev);

	ev = parse_file("wef/events/142-win10-149161.xml");
	ck_assert_str_eq(ev->user_sid, "S-1-5-18");
	ck_assert_str_eq(ev->provider, "Microsoft-Windows-WinRM");
	event_free(ev);
}
END_TEST

START_TEST(test_eventdata_shapes)
{
	struct event *ev;

	/* Unnamed Data: Data1, Data2; Binary by its name (5719 json). */
	ev = parse_file("wef/events/5719-win10-9466.xml");
	ck_assert_str_eq(ev->provider, "NETLOGON");
	ck_assert_ptr_null(ev->provider_guid);
	ck_assert_uint_eq(ev->level, 2);
	ck_assert_uint_eq(ev->ndata, 3);
	ck_assert_str_eq(event_data(ev, "Data1"), "WINDOMAIN");
	ck_assert_str_eq(event_data(ev, "Data2"), "%%1311");
	ck_assert_str_eq(event_data(ev, "Binary"), "5E0000C0");
	event_free(ev);

	/* Line breaks inside an unnamed Data are kept. */
	ev = parse_file("wef/events/1003-win10-7603.xml");
	ck_assert_str_eq(event_data(ev, "Data1"),
	    "55c92734-d682-4d71-983e-d6ec3f16059f");
	ck_assert(strncmp(event_data(ev, "Data2"),
	    "\n1: 3f4c0546-36c6-46a8-a37f-be13cdd0cf25, 1, 1 [", 47) == 0);
	event_free(ev);

	/* Significant trailing space; &#13;&#10; decoded. */
	ev = parse_file("wef/events/4624-wks10001-1446.xml");
	ck_assert_str_eq(event_data(ev, "LogonProcessName"), "User32 ");
	event_free(ev);

	/* A Data name with a space. */
	ev = parse_file("wef/events/8002-wks10001-4974.xml");
	ck_assert_str_eq(event_data(ev, "Line Number"), "80");
	event_free(ev);

	/* UserData: leaf elements by local name. */
	ev = parse_file("wef/events/1100-win10-114371.xml");
	ck_assert_uint_eq(ev->ndata, 1);
	ck_assert_str_eq(ev->data[0].name, "ServiceShutdown");
	ck_assert_str_eq(ev->data[0].value, "");
	ck_assert_ptr_null(ev->user_sid);
	event_free(ev);

	/* The forwarder's bookmark event: no EventRecordID, 3-digit time. */
	ev = parse_file("wef/events/111-win10-norecordid.xml");
	ck_assert(!ev->has_record_id);
	ck_assert_str_eq(ev->provider, "Microsoft-Windows-EventForwarder");
	ck_assert_int_eq(ev->time_created_ms, 1676366063175LL);
	ck_assert_str_eq(event_data(ev, "SubscriptionId"), "");
	event_free(ev);
}
END_TEST

START_TEST(test_time_fractions)
{
	struct event *ev;

	ev = parse_str("<Event xmlns='http://schemas.microsoft.com/win/2004/"
	    "08/events/event'><System><EventID>1</EventID><TimeCreated "
	    "SystemTime='2023-02-14T09:14:23.175999999Z'/></System></Event>");
	ck_assert(!ev->malformed);
	ck_assert_int_eq(ev->time_created_ms, 1676366063175LL);
	event_free(ev);
	ev = parse_str("<Event><System><TimeCreated SystemTime='2023-02-14T09:"
	    "14:23Z'/><EventID>99999999999</EventID></System></Event>");
	ck_assert_int_eq(ev->time_created_ms, 1676366063000LL);
	/* Out of range for 32 bits: not set. */
	ck_assert(!ev->has_event_id);
	event_free(ev);
	ev = parse_str("<Event><System><TimeCreated SystemTime='yesterday'/>"
	    "</System></Event>");
	ck_assert_str_eq(ev->time_created, "yesterday");
	ck_assert_int_eq(ev->time_created_ms, 0);
	event_free(ev);
}
END_TEST

START_TEST(test_malformed)
{
	struct event *ev;

	/* Cut inside RenderingInfo: flagged, but System and EventData read. */
	ev = parse_file("wef/events/malformed/truncated-4798-recoverable.xml");
	ck_assert(ev->malformed);
	ck_assert_ptr_nonnull(ev->error);
	ck_assert(ev->has_event_id);
	ck_assert_uint_eq(ev->event_id, 4798);
	ck_assert(ev->has_record_id);
	ck_assert_uint_eq(ev->record_id, 980236);
	ck_assert_str_eq(ev->computer, "dvas0004_xps");
	ck_assert_str_eq(ev->channel, "Security");
	ck_assert_str_eq(event_data(ev, "TargetUserName"), "davev");
	event_free(ev);

	ev = parse_file("wef/events/malformed/truncated-4798-no-renderinginfo.xml");
	ck_assert(ev->malformed);
	ck_assert_uint_eq(ev->event_id, 4798);
	event_free(ev);

	ev = parse_file("wef/events/malformed/broken-tag-4798.xml");
	ck_assert(ev->malformed);
	ck_assert_ptr_nonnull(ev->error);
	event_free(ev);

	ev = parse_file("wef/events/malformed/wrong-system-element-4798.xml");
	ck_assert(ev->malformed);
	ck_assert(!ev->has_event_id);
	event_free(ev);

	ev = parse_file("wef/events/malformed/truncated-after-xmlns.xml");
	ck_assert(ev->malformed);
	ck_assert_ptr_nonnull(ev->error);
	ck_assert(!ev->has_event_id);
	ck_assert_ptr_null(ev->computer);
	event_free(ev);

	/* Empty input, other root element. */
	ev = parse_str("");
	ck_assert(ev->malformed);
	ck_assert_uint_eq(ev->raw_len, 0);
	event_free(ev);
	ev = parse_str("<NotAnEvent/>");
	ck_assert(ev->malformed);
	ck_assert_str_eq(ev->error, "root element is not Event");
	event_free(ev);
}
END_TEST

START_TEST(test_doctype_refused)
{
	static const char laughs[] =
	    "<?xml version='1.0'?>\n<!-- x -->\n<!DOCTYPE Event [\n"
	    " <!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
	    " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
	    " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
	    " <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
	    " <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
	    "]>\n<Event><System><Computer>&e;</Computer><EventID>1</EventID>"
	    "</System></Event>";
	struct event *ev = parse_str(laughs);

	ck_assert(ev->malformed);
	ck_assert_str_eq(ev->error, "document type declaration refused");
	ck_assert_ptr_null(ev->computer);
	ck_assert(!ev->has_event_id);
	event_free(ev);

	/* An external entity is never loaded either. */
	ev = parse_str("<!DOCTYPE Event SYSTEM 'file:///etc/passwd'><Event/>");
	ck_assert(ev->malformed);
	event_free(ev);
}
END_TEST

/*
 * What the SAX reader must do as the tree walk did: references decoded in
 * attributes and text, a repeated System element's last value kept, only
 * leaves of UserData, unnamed Data numbered, and a field cut by a
 * truncation or a start tag that recovery drops.
 */
START_TEST(test_references_and_recovery)
{
	struct event *ev;

	ev = parse_str("<Event><System><Provider Name='a&amp;b&#38;c&lt;&#x41;'/>"
	    "<Computer>x&amp;y<![CDATA[<z>]]></Computer><Computer>second"
	    "</Computer><Security UserID=''/></System><UserData><A><B>1</B>t"
	    "<C/></A><D>q</D></UserData><EventData><Data>1</Data>"
	    "<Data Name='&amp;#38;'>2</Data></EventData></Event>");
	ck_assert(!ev->malformed);
	ck_assert_str_eq(ev->provider, "a&b&c<A");
	ck_assert_str_eq(ev->computer, "second");
	ck_assert_str_eq(ev->user_sid, "");
	ck_assert_uint_eq(ev->ndata, 5);
	ck_assert_str_eq(ev->data[0].name, "B");
	ck_assert_str_eq(ev->data[1].name, "C");
	ck_assert_str_eq(ev->data[1].value, "");
	ck_assert_str_eq(ev->data[2].name, "D");
	ck_assert_str_eq(event_data(ev, "Data1"), "1");
	ck_assert_str_eq(event_data(ev, "&#38;"), "2");
	event_free(ev);

	ev = parse_str("<Event><System><Computer>a&amp;b</Computer></System>"
	    "<EventData><Data Name='a'>one</Data><Data Name='b'>tw");
	ck_assert(ev->malformed);
	ck_assert_str_eq(ev->computer, "a&b");
	ck_assert_str_eq(event_data(ev, "a"), "one");
	ck_assert_str_eq(event_data(ev, "b"), "tw");
	event_free(ev);

	/* Recovery drops the broken start tag: the text after it belongs to
	 * EventData, so the field stays empty, and its end tag then closes
	 * EventData (the rest is extra content). */
	ev = parse_str("<Event><EventData><Data Name=''x'>v</Data>"
	    "<Data Name='n'>w</Data></EventData></Event>");
	ck_assert(ev->malformed);
	ck_assert_uint_eq(ev->ndata, 1);
	ck_assert_str_eq(event_data(ev, ""), "");
	ck_assert_ptr_null(event_data(ev, "n"));
	event_free(ev);

	/* Many parses on one thread reuse and renew the parser context. */
	for (int i = 0; i < 5000; i++) {
		ev = parse_str(i % 2 ? "<Event><System><EventID>7</EventID>"
		    "</System></Event>" : "<Event><System><EventID>7");
		ck_assert_uint_eq(ev->event_id, 7);
		ck_assert(ev->malformed == !(i % 2));
		event_free(ev);
	}
}
END_TEST

START_TEST(test_sysmon_line)
{
	size_t len;
	char *all = harness_read_data("sysmon/covenant_psremoting_grunt.xml",
	    &len);
	char *line = strstr(all, "<EventID>22</EventID>");
	ck_assert_ptr_nonnull(line);
	while (line > all && line[-1] != '\n')
		line--;
	char *end = strchr(line, '\n');
	ck_assert_ptr_nonnull(end);

	struct event *ev = NULL;
	ck_assert_int_eq(event_parse(line, (size_t)(end - line), &ev), CD_EOK);
	ck_assert(!ev->malformed);
	/* The first EID 22 line of that file, read by hand. */
	ck_assert_uint_eq(ev->event_id, 22);
	ck_assert_uint_eq(ev->record_id, 144187);
	ck_assert_str_eq(ev->computer, "ACCT001.shire.com");
	ck_assert_str_eq(ev->channel, "Microsoft-Windows-Sysmon/Operational");
	ck_assert_str_eq(ev->provider_guid,
	    "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}");
	ck_assert_str_eq(ev->user_sid, "S-1-5-18");
	ck_assert_int_eq(ev->time_created_ms, 1575510842000LL);
	ck_assert_str_eq(event_data(ev, "RuleName"), "");
	ck_assert_str_eq(event_data(ev, "UtcTime"), "2019-12-05 01:54:00.464");
	ck_assert_str_eq(event_data(ev, "QueryName"),
	    "v10.events.data.microsoft.com");
	ck_assert_str_eq(event_data(ev, "QueryStatus"), "0");
	ck_assert_str_eq(event_data(ev, "ProcessId"), "2784");
	ck_assert_str_eq(event_data(ev, "Image"),
	    "C:\\Windows\\System32\\svchost.exe");
	ck_assert(strncmp(event_data(ev, "QueryResults"), "type:  5 v10.", 13)
	    == 0);
	event_free(ev);
	event_free(NULL);
	free(all);
}
END_TEST

/*
 * An independent reading of an event: libxml2's tree (xmlReadMemory, with
 * recovery when asked) and XPath, for comparing with event_parse()'s SAX
 * reader field by field. The last System element of a name counts, as in
 * event_parse().
 */
#define XP_EV	"/*[local-name()='Event']"
#define XP_SYS	XP_EV "/*[local-name()='System']"

/* The string value of the last node expr selects; NULL when none. */
static char *
xp_str(xmlXPathContextPtr xc, const char *expr)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, xc);
	char *r = NULL;

	ck_assert_ptr_nonnull(o);
	if (o->nodesetval != NULL && o->nodesetval->nodeNr > 0) {
		xmlChar *v = xmlXPathCastNodeToString(
		    o->nodesetval->nodeTab[o->nodesetval->nodeNr - 1]);
		r = strdup((const char *)v);
		xmlFree(v);
	}
	xmlXPathFreeObject(o);
	return r;
}

static void
xp_check_str(xmlXPathContextPtr xc, const char *expr, const char *got,
    const char *what, size_t idx)
{
	char *want = xp_str(xc, expr);

	if (want == NULL)
		ck_assert_msg(got == NULL, "event %zu %s: got '%s', want none",
		    idx, what, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, want) == 0,
		    "event %zu %s: got '%s', want '%s'", idx, what,
		    got ? got : "(null)", want);
	free(want);
}

/* A System number as event_parse() reads it: decimal text only. */
static bool
xp_number(xmlXPathContextPtr xc, const char *expr, uint64_t max,
    uint64_t *out)
{
	char *s = xp_str(xc, expr), *end;
	bool ok = false;

	if (s != NULL && s[0] >= '0' && s[0] <= '9') {
		unsigned long long v = strtoull(s, &end, 10);
		ok = *end == '\0' && v <= max;
		*out = v;
	}
	free(s);
	return ok;
}

static void
xp_compare(const struct event *ev, const char *xml, size_t len, bool recover,
    size_t idx)
{
	static const struct {
		const char *expr;
		size_t off;	/* of the uint32_t in struct event */
	} nums[] = {
		{ XP_SYS "/*[local-name()='Version']", offsetof(struct event,
		    version) },
		{ XP_SYS "/*[local-name()='Level']", offsetof(struct event,
		    level) },
		{ XP_SYS "/*[local-name()='Task']", offsetof(struct event,
		    task) },
		{ XP_SYS "/*[local-name()='Opcode']", offsetof(struct event,
		    opcode) },
		{ XP_SYS "/*[local-name()='Execution']/@ProcessID",
		    offsetof(struct event, process_id) },
		{ XP_SYS "/*[local-name()='Execution']/@ThreadID",
		    offsetof(struct event, thread_id) },
	};
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	    XML_PARSE_NOCDATA | (recover ? XML_PARSE_RECOVER : 0));
	xmlXPathContextPtr xc;
	xmlXPathObjectPtr o;
	uint64_t v;
	int64_t ms;

	if (!recover) {
		ck_assert_ptr_nonnull(doc);
		ck_assert_msg(!ev->malformed, "event %zu: %s", idx, ev->error);
	}
	if (doc == NULL) {
		/* Nothing recovered: nothing read. */
		ck_assert(ev->malformed);
		ck_assert_ptr_null(ev->computer);
		ck_assert_uint_eq(ev->ndata, 0);
		return;
	}
	ck_assert_ptr_nonnull(xc = xmlXPathNewContext(doc));
	xp_check_str(xc, XP_SYS "/*[local-name()='Provider']/@Name",
	    ev->provider, "provider", idx);
	xp_check_str(xc, XP_SYS "/*[local-name()='Provider']/@Guid",
	    ev->provider_guid, "guid", idx);
	xp_check_str(xc, XP_SYS "/*[local-name()='Keywords']", ev->keywords,
	    "keywords", idx);
	xp_check_str(xc, XP_SYS "/*[local-name()='TimeCreated']/@SystemTime",
	    ev->time_created, "time", idx);
	xp_check_str(xc, XP_SYS "/*[local-name()='Channel']", ev->channel,
	    "channel", idx);
	xp_check_str(xc, XP_SYS "/*[local-name()='Computer']", ev->computer,
	    "computer", idx);
	xp_check_str(xc, XP_SYS "/*[local-name()='Security']/@UserID",
	    ev->user_sid, "user", idx);
	ck_assert_int_eq(xp_number(xc, XP_SYS "/*[local-name()='EventID']",
	    UINT32_MAX, &v), ev->has_event_id);
	if (ev->has_event_id)
		ck_assert_uint_eq(ev->event_id, v);
	ck_assert_int_eq(xp_number(xc, XP_SYS
	    "/*[local-name()='EventRecordID']", UINT64_MAX, &v),
	    ev->has_record_id);
	if (ev->has_record_id)
		ck_assert_uint_eq(ev->record_id, v);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		uint32_t got;
		memcpy(&got, (const char *)ev + nums[i].off, sizeof(got));
		if (!xp_number(xc, nums[i].expr, UINT32_MAX, &v))
			v = 0;
		ck_assert_msg(got == v, "event %zu %s: %" PRIu32 " != %"
		    PRIu64, idx, nums[i].expr, got, v);
	}
	if (ev->time_created == NULL ||
	    timeparse_rfc3339(ev->time_created, &ms) != CD_EOK)
		ms = 0;
	ck_assert_int_eq(ev->time_created_ms, ms);

	/* EventData: every child in order, Data by its Name or position. */
	o = xmlXPathEvalExpression((const xmlChar *)XP_EV
	    "/*[local-name()='EventData']/*", xc);
	ck_assert_ptr_nonnull(o);
	size_t n = o->nodesetval != NULL ? (size_t)o->nodesetval->nodeNr : 0;
	size_t pos = 0;
	ck_assert_msg(ev->ndata == n, "event %zu: %zu fields, want %zu", idx,
	    ev->ndata, n);
	for (size_t i = 0; i < n; i++) {
		xmlNodePtr node = o->nodesetval->nodeTab[i];
		xmlChar *name = NULL, *val = xmlNodeGetContent(node);
		char tmp[32];
		const char *want = (const char *)node->name;
		if (strcmp(want, "Data") == 0) {
			pos++;
			if ((name = xmlGetNoNsProp(node,
			    (const xmlChar *)"Name")) != NULL)
				want = (const char *)name;
			else {
				snprintf(tmp, sizeof(tmp), "Data%zu", pos);
				want = tmp;
			}
		}
		ck_assert_str_eq(ev->data[i].name, want);
		ck_assert_str_eq(ev->data[i].value, val ? (const char *)val :
		    "");
		xmlFree(name);
		xmlFree(val);
	}
	if (n == 0)
		ck_assert_ptr_null(ev->data);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(xc);
	xmlFreeDoc(doc);
}

/* Call fn on every event (line) of every file in tests/data/sysmon. */
static size_t
each_sysmon(void (*fn)(const char *, size_t, size_t))
{
	char dir[4096];
	struct dirent *de;
	DIR *d;
	size_t idx = 0;

	snprintf(dir, sizeof(dir), "%s", harness_data_path("sysmon"));
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name), len;
		char rel[512], *all, *line, *end;
		if (nl < 5 || strcmp(de->d_name + nl - 4, ".xml") != 0)
			continue;
		snprintf(rel, sizeof(rel), "sysmon/%s", de->d_name);
		all = harness_read_data(rel, &len);
		for (line = all; line < all + len; line = end + 1) {
			if ((end = memchr(line, '\n', (size_t)(all + len -
			    line))) == NULL)
				end = all + len;
			if (end > line && strncmp(line, "<Event", 6) == 0)
				fn(line, (size_t)(end - line), idx++);
		}
		free(all);
	}
	closedir(d);
	return idx;
}

static void
sysmon_whole(const char *x, size_t len, size_t idx)
{
	struct event *ev = NULL;

	ck_assert_int_eq(event_parse(x, len, &ev), CD_EOK);
	ck_assert_uint_eq(ev->raw_len, len);
	ck_assert_mem_eq(ev->raw, x, len);
	ck_assert_int_eq(ev->raw[len], '\0');
	ck_assert_ptr_null(ev->error);
	ck_assert_ptr_null(ev->rule_name);
	xp_compare(ev, x, len, false, idx);
	event_free(ev);
}

/* Every Sysmon event: the fields are what libxml2's tree and XPath say. */
START_TEST(test_sysmon_xpath)
{
	ck_assert_uint_ge(each_sysmon(sysmon_whole), 2421);
}
END_TEST

static void
sysmon_cut(const char *x, size_t len, size_t idx)
{
	struct event *ev = NULL;
	char *m;

	if (idx % 121 != 0)
		return;
	/* Every truncation: flagged, raw kept, what was read so far is
	 * what the recovering tree holds. */
	for (size_t cut = 0; cut < len; cut += 1 + cut % 11) {
		ck_assert_int_eq(event_parse(x, cut, &ev), CD_EOK);
		ck_assert_msg(ev->malformed, "event %zu cut %zu", idx, cut);
		ck_assert_ptr_nonnull(ev->error);
		ck_assert_uint_eq(ev->raw_len, cut);
		ck_assert_mem_eq(ev->raw, x, cut);
		xp_compare(ev, x, cut, true, idx);
		event_free(ev);
	}
	/* A byte replaced by one that breaks the XML (or not): never a
	 * failure, raw kept, every field a string. */
	ck_assert_ptr_nonnull(m = malloc(len));
	for (size_t i = 0; i < len; i += 1 + i % 29) {
		static const char bad[] = { '<', '&', '\0', '\xff', '>', '"',
		    '\'', '/' };
		memcpy(m, x, len);
		m[i] = bad[i % sizeof(bad)];
		ck_assert_int_eq(event_parse(m, len, &ev), CD_EOK);
		ck_assert_uint_eq(ev->raw_len, len);
		ck_assert_mem_eq(ev->raw, m, len);
		ck_assert(ev->malformed == (ev->error != NULL));
		for (size_t j = 0; j < ev->ndata; j++) {
			ck_assert_ptr_nonnull(ev->data[j].name);
			ck_assert_ptr_nonnull(ev->data[j].value);
		}
		if (!ev->malformed)
			xp_compare(ev, m, len, false, idx);
		event_free(ev);
	}
	free(m);
}

START_TEST(test_sysmon_truncated)
{
	each_sysmon(sysmon_cut);
}
END_TEST

/*
 * The strings live in the event's one block: event_set() replaces one,
 * rule_name stays the rule engine's to free and replace, and event_free()
 * frees all of it (the sanitizer build's leak check proves it).
 */
START_TEST(test_event_set)
{
	struct event *ev = parse_file("wef/events/4688-win10-114689.xml");
	char *old = ev->computer;

	ck_assert_int_eq(event_set(ev, &ev->computer, "OTHER.example.org"),
	    CD_EOK);
	ck_assert_str_eq(ev->computer, "OTHER.example.org");
	ck_assert_str_eq(old, "win10.windomain.local");	/* still valid */
	ck_assert_int_eq(event_set(ev, &ev->data[0].value, "x"), CD_EOK);
	ck_assert_int_eq(event_set(ev, &ev->data[0].value, "y"), CD_EOK);
	ck_assert_str_eq(event_data(ev, "SubjectUserSid"), "y");
	ck_assert_int_eq(event_set(ev, &ev->channel, NULL), CD_EOK);
	ck_assert_ptr_null(ev->channel);
	ck_assert_int_eq(event_set(ev, &ev->rule_name, "r1"), CD_EOK);
	ck_assert_int_eq(event_set(ev, &ev->rule_name, "r2"), CD_EOK);
	ck_assert_str_eq(ev->rule_name, "r2");
	/* As rules_apply() does it. */
	free(ev->rule_name);
	ck_assert_ptr_nonnull(ev->rule_name = strdup("r3"));
	ck_assert_str_eq(ev->raw + ev->raw_len - 8, "</Event>");
	event_free(ev);

	/* No fields: no array. */
	ev = parse_str("<Event><System><EventID>1</EventID></System></Event>");
	ck_assert_uint_eq(ev->ndata, 0);
	ck_assert_ptr_null(ev->data);
	event_free(ev);
}
END_TEST

/*
 * event_keep() takes an event off its slab chunk: once the chunk is
 * recycled and written over by other events, the kept event still reads
 * every field as parsed, and what event_set() gave it stays.
 */
START_TEST(test_event_keep)
{
	struct event *ev = parse_file("wef/events/4688-win10-114689.xml");
	struct event *ref = parse_file("wef/events/4688-win10-114689.xml");
	struct event *orig = ev;
	char *raw = ev->raw;

	ck_assert_int_eq(event_set(ev, &ev->keywords, "0x1"), CD_EOK);
	ck_assert_int_eq(event_set(ev, &ev->rule_name, "r"), CD_EOK);
	ck_assert_int_eq(event_keep(&ev), CD_EOK);
	if (!SLAB_PLAIN) {
		ck_assert_ptr_ne(ev, orig);
		ck_assert_ptr_ne(ev->raw, raw);
	}
	ck_assert_int_eq(event_keep(&ev), CD_EOK);	/* already its own */
	/* The chunk goes back to the pool with this thread's slab, then
	 * other events fill it. */
	event_free(ref);
	event_thread_cleanup();
	for (int i = 0; i < 200; i++)
		event_free(parse_str("<Event><System><Provider Name='XXXXXXXXXXXXXXXX'/>"
		    "<EventID>9</EventID><Computer>YYYYYYYYYYYYYYYYYYYYYYYYYYY</Computer>"
		    "</System><EventData><Data Name='ZZZZZZZZZZZZZZ'>WWWWWWWWWWWWWWW"
		    "</Data></EventData></Event>"));
	ck_assert_str_eq(ev->provider, "Microsoft-Windows-Security-Auditing");
	ck_assert_str_eq(ev->computer, "win10.windomain.local");
	ck_assert_str_eq(ev->channel, "Security");
	ck_assert_str_eq(ev->keywords, "0x1");
	ck_assert_str_eq(ev->rule_name, "r");
	ck_assert_uint_eq(ev->event_id, 4688);
	ck_assert_str_eq(event_data(ev, "NewProcessName"),
	    "C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe");
	ck_assert_str_eq(ev->raw + ev->raw_len - 8, "</Event>");
	ck_assert_int_eq(strncmp(ev->raw, "<Event", 6), 0);
	event_free(ev);
}
END_TEST

/*
 * The paths around the in-place read: text libxml2 converts (a UTF-16
 * signature), a NUL byte, a UTF-8 byte order mark, a large event (the
 * thread's scratch grows and is given back), and parses after each.
 */
START_TEST(test_input_paths)
{
	static const char ok[] = "<Event><System><EventID>4</EventID>"
	    "<Computer>c</Computer></System><EventData><Data Name='a'>1"
	    "</Data></EventData></Event>";
	struct event *ev;
	struct buf b;

	ev = parse_str("\xef\xbb\xbf<Event><System><EventID>5</EventID>"
	    "</System></Event>");
	ck_assert(!ev->malformed);
	ck_assert_uint_eq(ev->event_id, 5);
	event_free(ev);

	ck_assert_int_eq(event_parse("<\0E\0v\0", 6, &ev), CD_EOK);
	ck_assert(ev->malformed);
	ck_assert_uint_eq(ev->raw_len, 6);
	ck_assert_mem_eq(ev->raw, "<\0E\0v\0", 6);
	event_free(ev);

	/* A NUL after the root element ends the document for libxml2; one
	 * inside is an error. */
	ck_assert_int_eq(event_parse(ok, sizeof(ok), &ev), CD_EOK);
	ck_assert(!ev->malformed);
	ck_assert_uint_eq(ev->raw_len, sizeof(ok));
	ck_assert_str_eq(event_data(ev, "a"), "1");
	event_free(ev);
	ck_assert_int_eq(event_parse("<Event><System><EventID>4</EventID>"
	    "<Computer>c\0d</Computer></System></Event>", 76, &ev), CD_EOK);
	ck_assert(ev->malformed);
	ck_assert_uint_eq(ev->event_id, 4);
	ck_assert_uint_eq(ev->raw_len, 76);
	ck_assert_int_eq(ev->raw[46], '\0');
	event_free(ev);

	buf_init(&b, 0);
	ck_assert_int_eq(buf_puts(&b, "<Event><System><Computer>"), CD_EOK);
	for (int i = 0; i < 50000; i++)
		ck_assert_int_eq(buf_puts(&b, "&lt;0123456789"), CD_EOK);
	ck_assert_int_eq(buf_puts(&b, "</Computer></System><EventData>"),
	    CD_EOK);
	for (int i = 0; i < 20000; i++)
		ck_assert_int_eq(buf_printf(&b, "<Data Name='n%d'>v%d</Data>",
		    i, i), CD_EOK);
	ck_assert_int_eq(buf_puts(&b, "</EventData></Event>"), CD_EOK);
	ck_assert_int_eq(event_parse((const char *)b.data, b.len, &ev),
	    CD_EOK);
	ck_assert_msg(!ev->malformed, "%s", ev->error);
	ck_assert_uint_eq(strlen(ev->computer), 50000 * 11);
	ck_assert_uint_eq(ev->ndata, 20000);
	ck_assert_str_eq(ev->data[19999].name, "n19999");
	ck_assert_str_eq(event_data(ev, "n12345"), "v12345");
	event_free(ev);
	buf_free(&b);

	ev = parse_str(ok);
	ck_assert(!ev->malformed);
	ck_assert_str_eq(event_data(ev, "a"), "1");
	event_free(ev);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("event");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_all_files, 0,
	    (int)(sizeof(files) / sizeof(files[0])));
	tcase_add_test(tc, test_system_fields);
	tcase_add_test(tc, test_eventdata_shapes);
	tcase_add_test(tc, test_time_fractions);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_doctype_refused);
	tcase_add_test(tc, test_references_and_recovery);
	tcase_add_test(tc, test_sysmon_line);
	tcase_add_test(tc, test_sysmon_xpath);
	tcase_add_test(tc, test_sysmon_truncated);
	tcase_add_test(tc, test_event_set);
	tcase_add_test(tc, test_event_keep);
	tcase_add_test(tc, test_input_paths);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
