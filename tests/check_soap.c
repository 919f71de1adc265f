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
#include "sldc.h"
#include "soap.h"
#include "utf16.h"

#define EVENTS_MID	"uuid:31652DEB-C9E8-45D6-B3E8-90AC64D48422"
#define WEC_ID		"219C5353-5F3D-4CD7-A644-F6B69E57C1C1"

/* Decode a captured body the way the listener does, then parse it. */
static struct soap_msg *
parse_body(const char *rel, bool sldc)
{
	size_t len;
	char *raw = harness_read_data(rel, &len);
	struct buf plain, xml;
	struct soap_msg *m = NULL;

	buf_init(&plain, 0);
	buf_init(&xml, 0);
	if (sldc)
		ck_assert_int_eq(sldc_decode_body((uint8_t *)raw, len, 0,
		    &plain, NULL), CD_EOK);
	else
		ck_assert_int_eq(buf_append(&plain, raw, len), CD_EOK);
	ck_assert_int_eq(utf16_to_utf8(plain.data, plain.len, "UTF-16", 0,
	    &xml), CD_EOK);
	int rc = soap_parse((char *)xml.data, xml.len, NULL, &m);
	ck_assert_msg(rc == CD_EOK, "%s: %s", rel, soap_last_error());
	buf_free(&plain);
	buf_free(&xml);
	free(raw);
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
	int rc = harness_run(s);
	soap_cleanup();
	return rc;
}
