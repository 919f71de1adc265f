/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "harness.h"
#include "replay.h"
#include "sldc.h"
#include "soap.h"
#include "utf16.h"

#define EVENTS_MID	"uuid:31652DEB-C9E8-45D6-B3E8-90AC64D48422"
#define WEC_ID		"219C5353-5F3D-4CD7-A644-F6B69E57C1C1"

/* A captured body decoded as the listener decodes it. */
static char *
decode_body(const char *rel, bool sldc, size_t *lenp)
{
	size_t len;
	char *raw = harness_read_data(rel, &len);
	struct buf plain, xml;

	buf_init(&plain, 0);
	buf_init(&xml, 0);
	if (sldc)
		ck_assert_int_eq(sldc_decode_body((uint8_t *)raw, len, 0,
		    &plain, NULL), CD_EOK);
	else
		ck_assert_int_eq(buf_append(&plain, raw, len), CD_EOK);
	ck_assert_int_eq(utf16_to_utf8(plain.data, plain.len, "UTF-16", 0,
	    &xml), CD_EOK);
	buf_free(&plain);
	free(raw);
	return (char *)buf_steal(&xml, lenp);
}

/* Decode a captured body the way the listener does, then parse it. */
static struct soap_msg *
parse_body(const char *rel, bool sldc)
{
	size_t len;
	char *xml = decode_body(rel, sldc, &len);
	struct soap_msg *m = NULL;

	int rc = soap_parse(xml, len, NULL, &m);
	ck_assert_msg(rc == CD_EOK, "%s: %s", rel, soap_last_error());
	free(xml);
	return m;
}

static int
parse_str(const char *s, const struct soap_limits *lim, struct soap_msg **m)
{
	return soap_parse(s, strlen(s), lim, m);
}

START_TEST(test_enumerate)
{
	struct soap_msg *m = parse_body("wef/enumerate.utf16le.bin", false);

	ck_assert_str_eq(m->action, SOAP_ACTION_ENUMERATE);
	ck_assert_str_eq(m->message_id,
	    "uuid:E9802257-6A7D-4C0D-BFA4-E81C7B1C447E");
	ck_assert_str_eq(m->operation_id,
	    "uuid:03A3D1BB-9B16-4847-9F04-C9A8ED38E1E4");
	ck_assert_str_eq(m->machine_id, "win10.windomain.local");
	ck_assert_str_eq(m->to,
	    "http://srv.windomain.local:5985/wsman/SubscriptionManager/WEC");
	ck_assert_str_eq(m->resource_uri, "http://schemas.microsoft.com/wbem/"
	    "wsman/1/SubscriptionManager/Subscription");
	ck_assert_uint_eq(m->max_envelope_size, 512000);
	ck_assert_ptr_null(m->relates_to);
	ck_assert_ptr_null(m->identifier);
	ck_assert_ptr_null(m->bookmark);
	ck_assert(!m->has_events);
	ck_assert(!m->ack_requested);
	/* Only standard headers: nothing to echo. */
	ck_assert_uint_eq(m->nheaders, 0);
	soap_msg_free(m);
}
END_TEST

START_TEST(test_heartbeat)
{
	struct soap_msg *m = parse_body("wef/heartbeat.sldc.bin", true);

	ck_assert_str_eq(m->action, SOAP_ACTION_HEARTBEAT);
	ck_assert_str_eq(m->message_id,
	    "uuid:EEC04F74-A27D-4C3A-AEF5-BC5BF54359BA");
	ck_assert_str_eq(m->to, "http://srv.windomain.local:5985/wsman/"
	    "subscriptions/B6BDBB59-FB07-4EE5-841F-EBEC9D67CDD4/1");
	ck_assert_str_eq(m->identifier, WEC_ID);
	ck_assert(m->ack_requested);
	ck_assert(m->has_events);
	ck_assert_uint_eq(m->nevents, 0);
	ck_assert_ptr_null(m->bookmark);
	soap_msg_free(m);
}
END_TEST

static void
check_batch(struct soap_msg *m)
{
	static const uint32_t eids[21] = { 254, 161, 142, 145, 145, 132, 132,
	    254, 161, 142, 145, 145, 132, 211, 132, 142, 212, 145, 254, 161,
	    142 };

	ck_assert_str_eq(m->action, SOAP_ACTION_EVENTS);
	ck_assert_str_eq(m->message_id, EVENTS_MID);
	ck_assert_str_eq(m->identifier, WEC_ID);
	ck_assert_str_eq(m->machine_id, "win10.windomain.local");
	ck_assert(m->ack_requested);
	ck_assert_uint_eq(m->nevents, 21);
	for (size_t i = 0; i < m->nevents; i++) {
		struct event *ev = NULL;
		ck_assert_uint_eq(strlen(m->events[i].xml), m->events[i].len);
		ck_assert(strncmp(m->events[i].xml, "<Event", 6) == 0);
		ck_assert_int_eq(event_parse(m->events[i].xml,
		    m->events[i].len, &ev), CD_EOK);
		ck_assert_msg(!ev->malformed, "%zu: %s", i, ev->error);
		ck_assert_uint_eq(ev->record_id, 149141 + i);
		ck_assert_uint_eq(ev->event_id, eids[i]);
		ck_assert_str_eq(ev->computer, "win10.windomain.local");
		event_free(ev);
	}
	/* The last one is event 142 of events/, text for text. */
	ck_assert(strstr(m->events[20].xml, "<EventRecordID>149161<") != NULL);
}

START_TEST(test_events_batch)
{
	struct soap_msg *m;

	m = parse_body("wef/reconstructed/events.utf16le.bin", false);
	check_batch(m);
	ck_assert_str_eq(m->bookmark, "<BookmarkList><Bookmark Channel=\""
	    "Microsoft-Windows-WinRM/Operational\" RecordId=\"149161\" "
	    "IsCurrent=\"true\"/></BookmarkList>");
	soap_msg_free(m);

	/* The re-indented publication: same events, white space kept. */
	size_t len;
	char *x = harness_read_data("wef/events.xml", &len);
	ck_assert_int_eq(soap_parse(x, len, NULL, &m), CD_EOK);
	check_batch(m);
	ck_assert_str_eq(m->bookmark, "<BookmarkList>\n\t\t\t\t<Bookmark "
	    "Channel=\"Microsoft-Windows-WinRM/Operational\" RecordId=\"149161\""
	    " IsCurrent=\"true\"/>\n\t\t\t</BookmarkList>");
	/* CDATA content exactly: it begins right after "<![CDATA[". */
	const char *cd = strstr(x, "<![CDATA[") + 9;
	ck_assert(strncmp(m->events[0].xml, cd, m->events[0].len) == 0);
	ck_assert_str_eq(m->events[0].xml + m->events[0].len - 8, "</Event>");
	soap_msg_free(m);
	free(x);
}
END_TEST

START_TEST(test_u0005_sanitised)
{
	size_t len;
	char *x = harness_read_data("wef/events-u0005.xml", &len);
	struct soap_msg *m = NULL;
	struct buf clean;
	struct event *ev = NULL;

	ck_assert_int_eq(soap_parse(x, len, NULL, &m), CD_EPARSE);
	ck_assert_ptr_null(m);
	ck_assert(strstr(soap_last_error(), "malformed envelope") != NULL);

	buf_init(&clean, 0);
	ck_assert_int_eq(utf16_sanitize_utf8((uint8_t *)x, len, 0, &clean),
	    CD_EOK);
	ck_assert_int_eq(soap_parse((char *)clean.data, clean.len, NULL, &m),
	    CD_EOK);
	ck_assert_str_eq(soap_last_error(), "");
	ck_assert_str_eq(m->message_id, EVENTS_MID);
	ck_assert_uint_eq(m->nevents, 1);
	ck_assert_int_eq(event_parse(m->events[0].xml, m->events[0].len, &ev),
	    CD_EOK);
	ck_assert(!ev->malformed);
	ck_assert_str_eq(ev->provider, "Microsoft-Windows-WinRM \xef\xbf\xbd ");
	ck_assert_uint_eq(ev->record_id, 149141);
	event_free(ev);
	soap_msg_free(m);
	buf_free(&clean);
	free(x);
}
END_TEST

static void
check_sub_end(struct soap_msg *m)
{
	ck_assert_str_eq(m->action, SOAP_ACTION_SUBSCRIPTION_END);
	ck_assert_str_eq(m->message_id,
	    "uuid:21DF76D2-A1ED-4333-BEAB-378AFB012DEE");
	/* The header Identifier, not the one in e:SubscriptionManager. */
	ck_assert_str_eq(m->identifier, "0C98CAE1-EDA4-4C92-82D9-A8A20EB518D2");
	ck_assert_str_eq(m->end_status,
	    "http://schemas.xmlsoap.org/ws/2004/08/eventing/SourceCancelling");
	ck_assert_str_eq(m->fault_code, "1717");
	ck_assert_str_eq(m->fault_text,
	    "Windows Event Forward Plugin failed to read events.");
	ck_assert(m->ack_requested);
	ck_assert_str_eq(m->operation_id,
	    "uuid:50485065-8F54-44F2-8525-DBCBE293E317");
}

START_TEST(test_subscription_end_and_end)
{
	size_t len;
	char *x = harness_read_data("wef/subscription-end.xml", &len);
	struct soap_msg *m = NULL;

	ck_assert_int_eq(soap_parse(x, len, NULL, &m), CD_EOK);
	check_sub_end(m);
	soap_msg_free(m);
	free(x);
	/* Labelled SLDC on the wire but not compressed (errata 3). */
	m = parse_body("wef/reconstructed/subscription-end.utf16le.bin", true);
	check_sub_end(m);
	soap_msg_free(m);

	m = parse_body("wef/reconstructed/end.utf16le.bin", true);
	ck_assert_str_eq(m->action, SOAP_ACTION_END);
	ck_assert_str_eq(m->message_id,
	    "uuid:5A622A71-B73A-426E-B1CB-048A6079EB23");
	ck_assert_str_eq(m->resource_uri,
	    "http://schemas.microsoft.com/wbem/wsman/1/wsman/FullDuplex");
	soap_msg_free(m);
	m = parse_body("wef/reconstructed/end-after-subscription-end.utf16le.bin",
	    false);
	ck_assert_str_eq(m->action, SOAP_ACTION_END);
	ck_assert_str_eq(m->message_id,
	    "uuid:3244F96B-8ECA-4A06-90DE-8A1DED23AB1F");
	ck_assert_str_eq(m->operation_id,
	    "uuid:50485065-8F54-44F2-8525-DBCBE293E317");
	soap_msg_free(m);

	/* Windows' own Ack and EnumerateResponse parse too. */
	m = parse_body("wef/reconstructed/ack-events.utf16le.bin", false);
	ck_assert_str_eq(m->action, SOAP_ACTION_ACK);
	ck_assert_str_eq(m->relates_to, EVENTS_MID);
	ck_assert_str_eq(m->to, SOAP_ADDRESS_ANONYMOUS);
	soap_msg_free(m);
	m = parse_body("wef/reconstructed/enumerate-response.utf16le.bin",
	    false);
	ck_assert_str_eq(m->action, SOAP_ACTION_ENUMERATE_RESPONSE);
	ck_assert_str_eq(m->relates_to,
	    "uuid:E9802257-6A7D-4C0D-BFA4-E81C7B1C447E");
	soap_msg_free(m);
}
END_TEST

START_TEST(test_ack_roundtrip)
{
	struct buf b, u16;
	struct soap_msg *m = NULL;
	char mid2[SOAP_MESSAGE_ID_SIZE];

	buf_init(&b, 0);
	ck_assert_int_eq(soap_build_ack(EVENTS_MID, &b), CD_EOK);
	ck_assert(strstr((char *)b.data, "OperationID") == NULL);
	ck_assert(strncmp((char *)b.data, "<s:Envelope", 11) == 0);
	/* As it goes on the wire: UTF-16LE with BOM, then back. */
	buf_init(&u16, 0);
	ck_assert_int_eq(utf8_to_utf16le_bom((char *)b.data, b.len, &u16),
	    CD_EOK);
	buf_reset(&b);
	ck_assert_int_eq(utf16_to_utf8(u16.data, u16.len, NULL, 0, &b),
	    CD_EOK);
	ck_assert_int_eq(soap_parse((char *)b.data, b.len, NULL, &m), CD_EOK);
	ck_assert_str_eq(m->action, SOAP_ACTION_ACK);
	ck_assert_str_eq(m->relates_to, EVENTS_MID);
	ck_assert_str_eq(m->to, SOAP_ADDRESS_ANONYMOUS);
	ck_assert_uint_eq(strlen(m->message_id), 41);
	ck_assert(strncmp(m->message_id, "uuid:", 5) == 0);
	ck_assert_str_ne(m->message_id, EVENTS_MID);
	ck_assert_ptr_null(m->operation_id);
	ck_assert_uint_eq(m->nevents, 0);
	/* Fresh IDs each time, upper case, version 4. */
	ck_assert_int_eq(soap_new_message_id(mid2), CD_EOK);
	ck_assert_str_ne(mid2, m->message_id);
	for (const char *p = mid2 + 5; *p; p++)
		ck_assert(strchr("0123456789ABCDEF-", *p) != NULL);
	ck_assert_int_eq(mid2[19], '4');
	soap_msg_free(m);

	/* RelatesTo survives escaping byte for byte. */
	buf_reset(&b);
	ck_assert_int_eq(soap_build_ack(" odd<&>'\" ", &b), CD_EOK);
	ck_assert_int_eq(soap_parse((char *)b.data, b.len, NULL, &m), CD_EOK);
	ck_assert_str_eq(m->relates_to, " odd<&>'\" ");
	soap_msg_free(m);
	buf_free(&u16);
	buf_free(&b);
}
END_TEST

START_TEST(test_fault)
{
	struct buf b;
	struct soap_msg *m = NULL;

	buf_init(&b, 0);
	ck_assert_int_eq(soap_build_fault(EVENTS_MID, "s:Sender",
	    "w:InvalidMessageInformationHeader", "bad <header> & more", &b),
	    CD_EOK);
	ck_assert(strstr((char *)b.data, "<s:Value>s:Sender</s:Value>") !=
	    NULL);
	ck_assert(strstr((char *)b.data, "<s:Subcode><s:Value>"
	    "w:InvalidMessageInformationHeader</s:Value></s:Subcode>") != NULL);
	ck_assert(strstr((char *)b.data, "bad &lt;header&gt; &amp; more") !=
	    NULL);
	ck_assert_int_eq(soap_parse((char *)b.data, b.len, NULL, &m), CD_EOK);
	ck_assert_str_eq(m->action, SOAP_ACTION_FAULT);
	ck_assert_str_eq(m->relates_to, EVENTS_MID);
	soap_msg_free(m);

	buf_reset(&b);
	ck_assert_int_eq(soap_build_fault(NULL, "s:Receiver", NULL, "busy", &b),
	    CD_EOK);
	ck_assert(strstr((char *)b.data, "RelatesTo") == NULL);
	ck_assert(strstr((char *)b.data, "Subcode") == NULL);
	ck_assert_int_eq(soap_parse((char *)b.data, b.len, NULL, &m), CD_EOK);
	ck_assert_ptr_null(m->relates_to);
	soap_msg_free(m);

	buf_reset(&b);
	ck_assert_int_eq(soap_xml_escape(&b, "a&b<c>d\"e'f"), CD_EOK);
	ck_assert_str_eq((char *)b.data, "a&amp;b&lt;c&gt;d&quot;e&apos;f");
	buf_free(&b);
}
END_TEST

#define ENV_OPEN "<x:Envelope xmlns:x='" SOAP_NS_ENVELOPE "' xmlns:y='" \
	SOAP_NS_ADDRESSING "' xmlns:z='" SOAP_NS_WSMAN "'>"
#define HDR_OK "<y:Action>" SOAP_ACTION_EVENTS "</y:Action>" \
	"<y:MessageID>uuid:1</y:MessageID>"

START_TEST(test_refused)
{
	struct soap_msg *m = (struct soap_msg *)1;

	ck_assert_int_eq(parse_str(ENV_OPEN "<x:Header><y:Action>A</y:Action>"
	    "</x:Header><x:Body/></x:Envelope>", NULL, &m), CD_EPARSE);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(soap_last_error(), "no a:MessageID header");
	ck_assert_int_eq(parse_str(ENV_OPEN "<x:Header><y:MessageID>u"
	    "</y:MessageID></x:Header><x:Body/></x:Envelope>", NULL, &m),
	    CD_EPARSE);
	ck_assert_str_eq(soap_last_error(), "no a:Action header");
	/* Right local names in the wrong namespace do not count. */
	ck_assert_int_eq(parse_str(ENV_OPEN "<x:Header><z:Action>A</z:Action>"
	    "<y:MessageID>u</y:MessageID></x:Header></x:Envelope>", NULL, &m),
	    CD_EPARSE);
	/* SOAP 1.1 envelope namespace. */
	ck_assert_int_eq(parse_str("<s:Envelope xmlns:s='http://schemas."
	    "xmlsoap.org/soap/envelope/'/>", NULL, &m), CD_EPARSE);
	ck_assert_int_eq(parse_str(ENV_OPEN "<x:Header>", NULL, &m),
	    CD_EPARSE);
	ck_assert(strncmp(soap_last_error(), "malformed envelope: ", 20) == 0);
	ck_assert_int_eq(parse_str("", NULL, &m), CD_EPARSE);

	/* Billion laughs: refused before any expansion. */
	static const char laughs[] =
	    "<?xml version='1.0'?><!--c--><!DOCTYPE x:Envelope [\n"
	    " <!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
	    " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
	    " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
	    " <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
	    " <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
	    " <!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
	    " <!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
	    "]>" ENV_OPEN "<x:Header><y:Action>&g;</y:Action>"
	    "<y:MessageID>uuid:1</y:MessageID></x:Header></x:Envelope>";
	ck_assert_int_eq(parse_str(laughs, NULL, &m), CD_EPARSE);
	ck_assert_str_eq(soap_last_error(), "document type declaration refused");
	/* An undeclared entity is a well-formedness error, not expanded. */
	ck_assert_int_eq(parse_str(ENV_OPEN "<x:Header><y:Action>&g;</y:Action>"
	    "<y:MessageID>u</y:MessageID></x:Header></x:Envelope>", NULL, &m),
	    CD_EPARSE);

	/* Depth cap. */
	struct soap_limits lim = { .max_depth = 3 };
	ck_assert_int_eq(parse_str(ENV_OPEN "<x:Header>" HDR_OK "<a><b/></a>"
	    "</x:Header></x:Envelope>", &lim, &m), CD_ETOOBIG);
	ck_assert_int_eq(parse_str(ENV_OPEN "<x:Header>" HDR_OK
	    "</x:Header></x:Envelope>", &lim, &m), CD_EOK);
	soap_msg_free(m);
	lim = (struct soap_limits){ .max_nodes = 4 };
	ck_assert_int_eq(parse_str(ENV_OPEN "<x:Header>" HDR_OK
	    "</x:Header></x:Envelope>", &lim, &m), CD_ETOOBIG);
}
END_TEST

START_TEST(test_event_cap)
{
	struct buf b;
	struct soap_msg *m = NULL;

	buf_init(&b, 0);
	ck_assert_int_eq(buf_puts(&b, ENV_OPEN "<x:Header>" HDR_OK
	    "</x:Header><x:Body><z:Events>"), CD_EOK);
	for (int i = 0; i < 100001; i++)
		ck_assert_int_eq(buf_puts(&b, "<z:Event><![CDATA[<Event/>]]>"
		    "</z:Event>"), CD_EOK);
	ck_assert_int_eq(buf_puts(&b, "</z:Events></x:Body></x:Envelope>"),
	    CD_EOK);
	ck_assert_int_eq(soap_parse((char *)b.data, b.len, NULL, &m),
	    CD_ETOOBIG);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(soap_last_error(), "more than 100000 events");
	struct soap_limits lim = { .max_events = 200000 };
	ck_assert_int_eq(soap_parse((char *)b.data, b.len, &lim, &m), CD_EOK);
	ck_assert_uint_eq(m->nevents, 100001);
	ck_assert_str_eq(m->events[100000].xml, "<Event/>");
	soap_msg_free(m);
	buf_free(&b);
}
END_TEST

START_TEST(test_inline_events_and_extra_headers)
{
	struct soap_msg *m = NULL;
	struct event *ev = NULL;
	static const char doc[] = ENV_OPEN
	    "<x:Header>" HDR_OK
	    "<e:Identifier xmlns:e='" SOAP_NS_EVENTING "'> ID-1 </e:Identifier>"
	    "<Version>uuid:AAA</Version><Revision> 7 </Revision>"
	    "<z:Bookmark>" "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/"
	    "earliest</z:Bookmark>"
	    "</x:Header><x:Body><z:Events>"
	    "<z:Event><Event xmlns='http://schemas.microsoft.com/win/2004/08/"
	    "events/event'><System><EventID>4</EventID></System></Event>"
	    "</z:Event>"
	    "<z:Event xmlns:ev='http://schemas.microsoft.com/win/2004/08/"
	    "events/event'><ev:Event><ev:System><ev:EventID>5</ev:EventID>"
	    "</ev:System></ev:Event></z:Event>"
	    "<z:Event>  &lt;Event&gt;&lt;System&gt;&lt;EventID&gt;6&lt;/EventID"
	    "&gt;&lt;/System&gt;&lt;/Event&gt; </z:Event>"
	    "<z:Event><![CDATA[]]></z:Event>"
	    "</z:Events></x:Body></x:Envelope>";

	ck_assert_int_eq(parse_str(doc, NULL, &m), CD_EOK);
	ck_assert_str_eq(m->identifier, "ID-1");
	/* Not a BookmarkList: no bookmark. */
	ck_assert_ptr_null(m->bookmark);
	ck_assert_uint_eq(m->nheaders, 2);
	ck_assert_ptr_null(m->headers[0].ns);
	ck_assert_str_eq(m->headers[0].name, "Version");
	ck_assert_str_eq(m->headers[0].value, "uuid:AAA");
	ck_assert_str_eq(m->headers[1].name, "Revision");
	ck_assert_str_eq(m->headers[1].value, "7");
	ck_assert_uint_eq(m->nevents, 4);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(event_parse(m->events[i].xml, m->events[i].len,
		    &ev), CD_EOK);
		ck_assert_msg(!ev->malformed, "%zu: %s", i, m->events[i].xml);
		ck_assert_uint_eq(ev->event_id, 4 + i);
		event_free(ev);
	}
	ck_assert_str_eq(m->events[3].xml, "");
	ck_assert_uint_eq(m->events[3].len, 0);
	soap_msg_free(m);
	soap_msg_free(NULL);
}
END_TEST

/* Every captured message parses, with the action its file name says. */
START_TEST(test_every_message)
{
	static const struct {
		const char *file;
		bool sldc;
		const char *action;
	} all[] = {
		{ "wef/enumerate.utf8.xml", false, SOAP_ACTION_ENUMERATE },
		{ "wef/enumerate-response.xml", false,
		  SOAP_ACTION_ENUMERATE_RESPONSE },
		{ "wef/end.xml", false, SOAP_ACTION_END },
		{ "wef/end-after-subscription-end.xml", false, SOAP_ACTION_END },
		{ "wef/heartbeat.utf8.xml", false, SOAP_ACTION_HEARTBEAT },
		{ "wef/ack-heartbeat.xml", false, SOAP_ACTION_ACK },
		{ "wef/ack-events.xml", false, SOAP_ACTION_ACK },
		{ "wef/events.xml", false, SOAP_ACTION_EVENTS },
		{ "wef/subscription-end.xml", false,
		  SOAP_ACTION_SUBSCRIPTION_END },
		{ "wef/reconstructed/ack-events.utf16le.bin", true,
		  SOAP_ACTION_ACK },
		{ "wef/reconstructed/ack-heartbeat.utf16le.bin", true,
		  SOAP_ACTION_ACK },
		{ "wef/reconstructed/end-after-subscription-end.utf16le.bin",
		  true, SOAP_ACTION_END },
		{ "wef/reconstructed/end.utf16le.bin", true, SOAP_ACTION_END },
		{ "wef/reconstructed/enumerate-response.utf16le.bin", true,
		  SOAP_ACTION_ENUMERATE_RESPONSE },
		{ "wef/reconstructed/events.utf16le.bin", true,
		  SOAP_ACTION_EVENTS },
		{ "wef/reconstructed/subscription-end.utf16le.bin", true,
		  SOAP_ACTION_SUBSCRIPTION_END },
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct soap_msg *m = parse_body(all[i].file, all[i].sldc);
		ck_assert_msg(strcmp(m->action, all[i].action) == 0, "%s",
		    all[i].file);
		ck_assert(strncmp(m->message_id, "uuid:", 5) == 0);
		ck_assert_uint_eq(strlen(m->message_id), 41);
		soap_msg_free(m);
	}
}
END_TEST

/*
 * Differential tests: soap_parse() (the compacted envelope) against
 * soap_parse_careful() (libxml2 reads every CDATA character, as before).
 * Result code, error text and every member of the message must match.
 */
static void
str_same(const char *a, const char *b, const char *field, const char *what)
{
	ck_assert_msg((a == NULL) == (b == NULL) &&
	    (a == NULL || strcmp(a, b) == 0), "%s: %s differs: [%s] [%s]",
	    what, field, a ? a : "(null)", b ? b : "(null)");
}

static void
msg_same(const struct soap_msg *a, const struct soap_msg *b, const char *what)
{
	str_same(a->action, b->action, "action", what);
	str_same(a->message_id, b->message_id, "message_id", what);
	str_same(a->relates_to, b->relates_to, "relates_to", what);
	str_same(a->to, b->to, "to", what);
	str_same(a->machine_id, b->machine_id, "machine_id", what);
	str_same(a->resource_uri, b->resource_uri, "resource_uri", what);
	str_same(a->operation_id, b->operation_id, "operation_id", what);
	str_same(a->session_id, b->session_id, "session_id", what);
	str_same(a->identifier, b->identifier, "identifier", what);
	ck_assert_msg(a->max_envelope_size == b->max_envelope_size, "%s",
	    what);
	str_same(a->bookmark, b->bookmark, "bookmark", what);
	ck_assert_msg(a->ack_requested == b->ack_requested, "%s", what);
	ck_assert_msg(a->nheaders == b->nheaders, "%s: nheaders", what);
	for (size_t i = 0; i < a->nheaders; i++) {
		str_same(a->headers[i].ns, b->headers[i].ns, "header ns", what);
		str_same(a->headers[i].name, b->headers[i].name, "header name",
		    what);
		str_same(a->headers[i].value, b->headers[i].value,
		    "header value", what);
	}
	ck_assert_msg(a->has_events == b->has_events, "%s", what);
	ck_assert_msg(a->nevents == b->nevents, "%s: nevents %zu %zu", what,
	    a->nevents, b->nevents);
	for (size_t i = 0; i < a->nevents; i++) {
		ck_assert_msg(a->events[i].len == b->events[i].len,
		    "%s: event %zu length", what, i);
		ck_assert_msg(memcmp(a->events[i].xml, b->events[i].xml,
		    a->events[i].len + 1) == 0, "%s: event %zu", what, i);
	}
	str_same(a->end_status, b->end_status, "end_status", what);
	str_same(a->fault_code, b->fault_code, "fault_code", what);
	str_same(a->fault_text, b->fault_text, "fault_text", what);
}

/* Parse both ways and compare; true when soap_parse() took the fast path. */
static bool
diff_one(const char *xml, size_t len, const struct soap_limits *lim,
    const char *what, int *rcp)
{
	struct soap_msg *a = NULL, *b = NULL;
	char err[256];
	int rca, rcb;
	bool fast;

	rca = soap_parse_careful(xml, len, lim, &a);
	snprintf(err, sizeof(err), "%s", soap_last_error());
	ck_assert(!soap_last_parse_compacted());
	rcb = soap_parse(xml, len, lim, &b);
	fast = soap_last_parse_compacted();
	ck_assert_msg(rca == rcb, "%s: rc %d (%s), fast %d (%s)", what, rca,
	    err, rcb, soap_last_error());
	ck_assert_msg(strcmp(err, soap_last_error()) == 0,
	    "%s: error [%s] vs [%s]", what, err, soap_last_error());
	if (rca == CD_EOK)
		msg_same(a, b, what);
	else
		ck_assert(a == NULL && b == NULL);
	soap_msg_free(a);
	soap_msg_free(b);
	if (rcp != NULL)
		*rcp = rca;
	return fast;
}

START_TEST(test_diff_captures)
{
	static const struct {
		const char *file;
		int how;	/* 0 UTF-8 as stored, 1 UTF-16, 2 SLDC */
		bool cdata;	/* holds CDATA events: must go fast */
	} all[] = {
		{ "wef/enumerate.utf8.xml", 0, false },
		{ "wef/enumerate.utf16le.bin", 1, false },
		{ "wef/enumerate-response.xml", 0, false },
		{ "wef/end.xml", 0, false },
		{ "wef/end-after-subscription-end.xml", 0, false },
		{ "wef/heartbeat.utf8.xml", 0, false },
		{ "wef/heartbeat.sldc.bin", 2, false },
		{ "wef/ack-heartbeat.xml", 0, false },
		{ "wef/ack-events.xml", 0, false },
		{ "wef/events.xml", 0, true },
		{ "wef/events-u0005.xml", 0, false },
		{ "wef/subscription-end.xml", 0, false },
		{ "wef/reconstructed/ack-events.utf16le.bin", 2, false },
		{ "wef/reconstructed/ack-heartbeat.utf16le.bin", 2, false },
		{ "wef/reconstructed/end-after-subscription-end.utf16le.bin",
		  2, false },
		{ "wef/reconstructed/end.utf16le.bin", 2, false },
		{ "wef/reconstructed/enumerate-response.utf16le.bin", 2,
		  false },
		{ "wef/reconstructed/events.utf16le.bin", 1, true },
		{ "wef/reconstructed/subscription-end.utf16le.bin", 2, false },
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		size_t len;
		char *x = all[i].how == 0 ?
		    harness_read_data(all[i].file, &len) :
		    decode_body(all[i].file, all[i].how == 2, &len);
		bool fast = diff_one(x, len, NULL, all[i].file, NULL);
		if (all[i].cdata)
			ck_assert_msg(fast, "%s: not compacted", all[i].file);
		/* The raw U+0005 capture fails; sanitised it parses fast. */
		if (strcmp(all[i].file, "wef/events-u0005.xml") == 0) {
			struct buf clean;
			buf_init(&clean, 0);
			ck_assert_int_eq(utf16_sanitize_utf8((uint8_t *)x,
			    len, 0, &clean), CD_EOK);
			ck_assert(diff_one((char *)clean.data, clean.len,
			    NULL, "events-u0005 sanitised", NULL));
			buf_free(&clean);
		}
		free(x);
	}
}
END_TEST

/* Every Sysmon event of tests/data/sysmon in Events batches of 100. */
START_TEST(test_diff_sysmon)
{
	char *paths[HARNESS_NSYSMON_FILES];
	struct replay_set *set = NULL;
	const struct replay_hdr h = {
		.to = "http://collector:5985/wsman/subscriptions/X/1",
		.machine_id = "host.example", .message_id = EVENTS_MID,
		.session_id = "uuid:5", .operation_id = "uuid:6",
	};
	size_t total = 0;

	for (size_t i = 0; i < HARNESS_NSYSMON_FILES; i++)
		ck_assert_ptr_nonnull(paths[i] =
		    strdup(harness_data_path(harness_sysmon_files[i])));
	ck_assert_int_eq(replay_set_load(paths, HARNESS_NSYSMON_FILES, &set),
	    CD_EOK);
	ck_assert_uint_gt(set->n, 1000);
	for (size_t at = 0; at < set->n; at += 100) {
		size_t n = set->n - at < 100 ? set->n - at : 100;
		const struct replay_event *ev[100];
		struct buf env, u16, u8;
		char what[64];

		for (size_t k = 0; k < n; k++)
			ev[k] = &set->ev[at + k];
		buf_init(&env, 0);
		buf_init(&u16, 0);
		buf_init(&u8, 0);
		ck_assert_int_eq(replay_msg_events(&env, &h, "<BookmarkList/>",
		    ev, n, NULL), CD_EOK);
		/* Through the wire encoding and the daemon's decode. */
		ck_assert_int_eq(utf8_to_utf16le_bom((char *)env.data,
		    env.len, &u16), CD_EOK);
		ck_assert_int_eq(utf16_to_utf8(u16.data, u16.len, "UTF-16",
		    0, &u8), CD_EOK);
		snprintf(what, sizeof(what), "sysmon events %zu..", at);
		ck_assert_msg(diff_one((char *)u8.data, u8.len, NULL, what,
		    NULL), "%s: not compacted", what);
		struct soap_msg *m = NULL;
		ck_assert_int_eq(soap_parse((char *)u8.data, u8.len, NULL, &m),
		    CD_EOK);
		ck_assert_uint_eq(m->nevents, n);
		for (size_t k = 0; k < n; k++)
			ck_assert(m->events[k].len == ev[k]->len &&
			    memcmp(m->events[k].xml, ev[k]->xml,
			    ev[k]->len) == 0);
		total += n;
		soap_msg_free(m);
		buf_free(&env);
		buf_free(&u16);
		buf_free(&u8);
	}
	ck_assert_uint_eq(total, set->n);
	replay_set_free(set);
	for (size_t i = 0; i < HARNESS_NSYSMON_FILES; i++)
		free(paths[i]);
}
END_TEST

#define EV_NS	"http://schemas.microsoft.com/win/2004/08/events/event"

/* Hand-made corners: each must match the careful parse. */
static const struct {
	const char *xml;
	bool fast;	/* soap_parse() must take the compacted path */
	int rc;
} corners[] = {
	/* CR LF and a lone CR are normalised in CDATA as everywhere. */
	{ ENV_OPEN "<x:Header>" HDR_OK "</x:Header><x:Body><z:Events>"
	  "<z:Event><![CDATA[<Event>a\r\nb\rc\n\r\r\nd\r</Event>]]></z:Event>"
	  "</z:Events></x:Body></x:Envelope>", true, CD_EOK },
	/* Adjacent sections become one node; mixed text and CDATA. */
	{ ENV_OPEN "<x:Header>" HDR_OK "</x:Header><x:Body><z:Events>"
	  "<z:Event><![CDATA[<Ev]]><![CDATA[ent/>]]></z:Event>"
	  "<z:Event> x <![CDATA[<Event/>]]> y </z:Event>"
	  "<z:Event><![CDATA[a]]><!-- c --><![CDATA[b]]></z:Event>"
	  "<z:Event><![CDATA[]]></z:Event><z:Event><![CDATA[]]]]></z:Event>"
	  "<z:Event><![CDATA[]]]></z:Event><z:Event><![CDATA[>]]></z:Event>"
	  "</z:Events></x:Body></x:Envelope>", true, CD_EOK },
	/* CDATA in headers, in the bookmark and in an inline event. */
	{ ENV_OPEN "<x:Header><y:Action><![CDATA[" SOAP_ACTION_EVENTS
	  "]]></y:Action><y:MessageID> <![CDATA[uuid:1]]> </y:MessageID>"
	  "<Version><![CDATA[ <v&1> ]]></Version>"
	  "<z:Bookmark><BookmarkList><![CDATA[b<>]]></BookmarkList>"
	  "</z:Bookmark></x:Header><x:Body><z:Events><z:Event>"
	  "<Event xmlns='" EV_NS "'><Data><![CDATA[<&>]]></Data></Event>"
	  "</z:Event></z:Events></x:Body></x:Envelope>", true, CD_EOK },
	/* '>' and CDATA look-alikes in attribute values, comments, PIs. */
	{ "<?xml version='1.0' encoding='utf-16'?><!-- <![CDATA[ -->"
	  "<?pi <![CDATA[ ?>" ENV_OPEN "<x:Header a='>' b=\"<![CDATA[x]]>\">"
	  HDR_OK "</x:Header><x:Body><z:Events><z:Event c='>]]>'>"
	  "<![CDATA[<Event/>]]></z:Event></z:Events></x:Body></x:Envelope>",
	  false, CD_EPARSE },
	{ "<?xml version='1.0' encoding='utf-16'?><!-- <![CDATA[ -->"
	  "<?pi <![CDATA[ ?>" ENV_OPEN "<x:Header a='>' b=\"]]>\">"
	  HDR_OK "</x:Header><x:Body><z:Events><z:Event c='>]]>'>"
	  "<!--<![CDATA[x]]>--><?p <![CDATA[?><![CDATA[<Event/>]]></z:Event>"
	  "</z:Events></x:Body></x:Envelope>", true, CD_EOK },
	/* A UTF-8 BOM, non-ASCII text, and new lines before an error. */
	{ "\xef\xbb\xbf" ENV_OPEN "<x:Header>" HDR_OK "</x:Header><x:Body>"
	  "<z:Events><z:Event><![CDATA[<Event>\xc3\xa9\xe2\x82\xac"
	  "\xf0\x9f\x98\x80\xef\xbf\xbd</Event>]]></z:Event></z:Events>"
	  "</x:Body></x:Envelope>", true, CD_EOK },
	{ ENV_OPEN "<x:Header>" HDR_OK "</x:Header><x:Body><z:Events>\n"
	  "<z:Event><![CDATA[<Event>\n\n\n</Event>]]></z:Event>\n"
	  "<z:Event></z:Eve></z:Events></x:Body></x:Envelope>", false,
	  CD_EPARSE },
	/* Malformed: unterminated section, stray "]]>", bad characters. */
	{ ENV_OPEN "<x:Header>" HDR_OK "</x:Header><x:Body><z:Events>"
	  "<z:Event><![CDATA[<Event/>]></z:Event></z:Events></x:Body>"
	  "</x:Envelope>", false, CD_EPARSE },
	{ ENV_OPEN "<x:Header>" HDR_OK "</x:Header><x:Body><z:Events>"
	  "<z:Event>]]><![CDATA[<Event/>]]></z:Event></z:Events></x:Body>"
	  "</x:Envelope>", false, CD_EPARSE },
	{ ENV_OPEN "<x:Header>" HDR_OK "</x:Header><x:Body><z:Events>"
	  "<z:Event><![CDATA[<Event>\x05</Event>]]></z:Event></z:Events>"
	  "</x:Body></x:Envelope>", false, CD_EPARSE },
	{ ENV_OPEN "<x:Header>" HDR_OK "</x:Header><x:Body><z:Events>"
	  "<z:Event><![CDATA[<Event>\xef\xbf\xbe</Event>]]></z:Event>"
	  "</z:Events></x:Body></x:Envelope>", false, CD_EPARSE },
	{ ENV_OPEN "<x:Header>" HDR_OK "</x:Header><x:Body><z:Events>"
	  "<z:Event><![CDATA[<Event>\xc3(\xed\xa0\x80</Event>]]></z:Event>"
	  "</z:Events></x:Body></x:Envelope>", false, CD_EPARSE },
	{ ENV_OPEN "<x:Header>" HDR_OK "</x:Header><x:Body><z:Events>"
	  "<z:Event><![CDATA[<Event>\xe0\x80\xaf\xf4\x90\x80\x80</Event>]]>"
	  "</z:Event></z:Events></x:Body></x:Envelope>", false, CD_EPARSE },
	/* A section outside the root element, and an envelope cut inside. */
	{ "<![CDATA[x]]>" ENV_OPEN "<x:Header>" HDR_OK "</x:Header>"
	  "</x:Envelope>", false, CD_EPARSE },
	{ ENV_OPEN "<x:Header>" HDR_OK "</x:Header></x:Envelope>"
	  "<![CDATA[x]]>", false, CD_EPARSE },
	{ ENV_OPEN "<x:Header>" HDR_OK "</x:Header><x:Body><z:Events>"
	  "<z:Event><![CDATA[<Event/>]]></z:Event>", false, CD_EPARSE },
	/* No CDATA: nothing to copy, still the fast path. */
	{ ENV_OPEN "<x:Header>" HDR_OK "</x:Header><x:Body/></x:Envelope>",
	  true, CD_EOK },
};

START_TEST(test_diff_corners)
{
	for (size_t i = 0; i < sizeof(corners) / sizeof(corners[0]); i++) {
		char what[32];
		int rc;

		snprintf(what, sizeof(what), "corner %zu", i);
		bool fast = diff_one(corners[i].xml, strlen(corners[i].xml),
		    NULL, what, &rc);
		ck_assert_msg(rc == corners[i].rc, "%s: rc %d: %s", what, rc,
		    soap_last_error());
		ck_assert_msg(fast == corners[i].fast, "%s: fast %d", what,
		    fast);
	}

	/* Limits count the same nodes either way. */
	struct soap_limits lim = { .max_nodes = 12 };
	diff_one(corners[1].xml, strlen(corners[1].xml), &lim, "nodes", NULL);
	lim = (struct soap_limits){ .max_events = 3 };
	diff_one(corners[1].xml, strlen(corners[1].xml), &lim, "events", NULL);

	/* The fast path's text is the original, and a section's content. */
	struct soap_msg *m = NULL;
	ck_assert_int_eq(parse_str(corners[0].xml, NULL, &m), CD_EOK);
	ck_assert_str_eq(m->events[0].xml, "<Event>a\nb\nc\n\n\nd\n</Event>");
	soap_msg_free(m);
	ck_assert_int_eq(parse_str(corners[1].xml, NULL, &m), CD_EOK);
	ck_assert_uint_eq(m->nevents, 7);
	ck_assert_str_eq(m->events[0].xml, "<Event/>");
	ck_assert_str_eq(m->events[1].xml, "<Event/>");
	ck_assert_str_eq(m->events[2].xml, "ab");
	ck_assert_str_eq(m->events[3].xml, "");
	ck_assert_str_eq(m->events[4].xml, "]]");
	ck_assert_str_eq(m->events[5].xml, "]");
	ck_assert_str_eq(m->events[6].xml, ">");
	soap_msg_free(m);
	ck_assert_int_eq(parse_str(corners[2].xml, NULL, &m), CD_EOK);
	ck_assert_str_eq(m->action, SOAP_ACTION_EVENTS);
	ck_assert_str_eq(m->message_id, " uuid:1 ");
	ck_assert_str_eq(m->headers[0].value, "<v&1>");
	ck_assert_str_eq(m->bookmark,
	    "<BookmarkList><![CDATA[b<>]]></BookmarkList>");
	ck_assert(strstr(m->events[0].xml, "<![CDATA[<&>]]>") != NULL);
	soap_msg_free(m);
}
END_TEST

/* A small deterministic generator (xorshift64*), seeded per test. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/*
 * One mutation of seed (or two to four, a quarter of the time): a byte changed, a token from the syntax
 * the scanner must get right inserted, a range cut out or doubled, or the
 * end cut off.
 */
static void
mutate(struct buf *out, const char *seed, size_t len, uint64_t *s)
{
	static const char *tok[] = {
		"<![CDATA[", "]]>", "]]", "]", "<!--", "-->", "--", "<?",
		"?>", "\"", "'", ">", "<", "</", "/>", "<!", "<![CDATA",
		"\r", "\r\n", "\n", "\t", "\x01", "\x05", "\xef\xbf\xbe",
		"\xc3", "\xc3\xa9", "\xed\xa0\x80", "\xf0\x9f\x98\x80",
		"&amp;", "&#xD;", "<a>", "</a>", "<z:Event>", "</z:Event>",
		" a='>'", " b=\"<![CDATA[\"", "<!DOCTYPE x>",
	};
	int nmut = rnd(s) % 4 == 0 ? 2 + (int)(rnd(s) % 3) : 1;

	buf_reset(out);
	ck_assert_int_eq(buf_append(out, seed, len), CD_EOK);
	for (int i = 0; i < nmut; i++) {
		size_t n = out->len;
		size_t at = n ? (size_t)(rnd(s) % n) : 0;
		size_t span = 1 + (size_t)(rnd(s) % 64);
		struct buf t;

		if (span > n - at)
			span = n - at;
		buf_init(&t, 0);
		switch (rnd(s) % 6) {
		case 0:
			if (n > 0)
				out->data[at] = (uint8_t)rnd(s);
			break;
		case 1:
		case 2: {
			const char *k = tok[rnd(s) % (sizeof(tok) /
			    sizeof(tok[0]))];
			ck_assert_int_eq(buf_append(&t, out->data, at), CD_EOK);
			ck_assert_int_eq(buf_puts(&t, k), CD_EOK);
			ck_assert_int_eq(buf_append(&t, out->data + at, n - at),
			    CD_EOK);
			break;
		}
		case 3:
			ck_assert_int_eq(buf_append(&t, out->data, at), CD_EOK);
			ck_assert_int_eq(buf_append(&t, out->data + at + span,
			    n - at - span), CD_EOK);
			break;
		case 4:
			ck_assert_int_eq(buf_append(&t, out->data, at + span),
			    CD_EOK);
			ck_assert_int_eq(buf_append(&t, out->data + at,
			    n - at), CD_EOK);
			break;
		default:
			out->len = at;
			break;
		}
		if (t.data != NULL) {
			buf_reset(out);
			ck_assert_int_eq(buf_append(out, t.data, t.len),
			    CD_EOK);
		}
		buf_free(&t);
	}
}

START_TEST(test_diff_mutated)
{
	static const char *seeds[] = {
		"wef/events.xml", "wef/subscription-end.xml",
		"wef/heartbeat.utf8.xml", "wef/enumerate-response.xml",
	};
	struct {
		char *x;
		size_t len;
	} seed[sizeof(seeds) / sizeof(seeds[0]) + 4];
	size_t nseed = 0, ok = 0, fast = 0, runs = 0;
	uint64_t s = 0x9E3779B97F4A7C15ULL;
	struct buf b;

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		seed[nseed].x = harness_read_data(seeds[i], &seed[nseed].len);
		/* The events capture is big: its first three events do. */
		if (i == 0) {
			char *cut = seed[nseed].x;
			for (int k = 0; k < 4 && cut != NULL; k++)
				cut = strstr(cut + 1, "<w:Event ");
			char *tail = strstr(seed[nseed].x, "</w:Events>");
			ck_assert(cut != NULL && tail != NULL);
			memmove(cut, tail, strlen(tail) + 1);
			seed[nseed].len = strlen(seed[nseed].x);
		}
		nseed++;
	}
	for (size_t i = 0; i < 4; i++) {
		seed[nseed].x = strdup(corners[i].xml);
		seed[nseed].len = strlen(seed[nseed].x);
		nseed++;
	}
	for (size_t i = 0; i < nseed; i++) {
		int rc;
		ck_assert(diff_one(seed[i].x, seed[i].len, NULL, "seed", &rc) ||
		    rc != CD_EOK);
	}
	buf_init(&b, 0);
	for (; runs < 50000; runs++) {
		char what[48];
		int rc;
		size_t k = (size_t)(rnd(&s) % nseed);

		mutate(&b, seed[k].x, seed[k].len, &s);
		snprintf(what, sizeof(what), "mutation %zu of seed %zu", runs,
		    k);
		if (diff_one(b.data ? (char *)b.data : "", b.len, NULL, what,
		    &rc))
			fast++;
		if (rc == CD_EOK)
			ok++;
	}
	/* Both outcomes and both paths were exercised. */
	printf("soap: %zu mutated envelopes, %zu parsed, %zu compacted\n",
	    runs, ok, fast);
	ck_assert_uint_gt(ok, runs / 10);
	ck_assert_uint_gt(fast, runs / 10);
	ck_assert_uint_gt(runs - fast, runs / 10);
	buf_free(&b);
	for (size_t i = 0; i < nseed; i++)
		free(seed[i].x);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("soap");
	TCase *tc = tcase_create("core");

	soap_init();
	tcase_add_test(tc, test_enumerate);
	tcase_add_test(tc, test_heartbeat);
	tcase_add_test(tc, test_events_batch);
	tcase_add_test(tc, test_u0005_sanitised);
	tcase_add_test(tc, test_subscription_end_and_end);
	tcase_add_test(tc, test_ack_roundtrip);
	tcase_add_test(tc, test_fault);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_event_cap);
	tcase_add_test(tc, test_inline_events_and_extra_headers);
	tcase_add_test(tc, test_every_message);
	suite_add_tcase(s, tc);
	/* Tens of thousands of parses: slow under the sanitizers. */
	tc = tcase_create("diff");
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, test_diff_captures);
	tcase_add_test(tc, test_diff_sysmon);
	tcase_add_test(tc, test_diff_corners);
	tcase_add_test(tc, test_diff_mutated);
	suite_add_tcase(s, tc);
	int rc = harness_run(s);
	soap_cleanup();
	return rc;
}
