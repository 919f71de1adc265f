/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <sys/socket.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "err.h"
#include "event.h"
#include "harness.h"

START_TEST(test_normalise)
{
	char out[DNS_NAME_MAX];

	ck_assert_int_eq(dns_name_normalise("MORDORDC.THESHIRE.LOCAL.", out), CD_EOK);
	ck_assert_str_eq(out, "mordordc.theshire.local");
	ck_assert_int_eq(dns_name_normalise("_ldap._tcp.dc._msdcs.theshire.local.", out), CD_EOK);
	ck_assert_str_eq(out, "_ldap._tcp.dc._msdcs.theshire.local");
	ck_assert_int_eq(dns_name_normalise("WORKSTATION6", out), CD_EOK);
	ck_assert_str_eq(out, "workstation6");
	ck_assert_int_eq(dns_name_normalise("xn--bcher-kva.Example", out), CD_EOK);
	ck_assert_str_eq(out, "xn--bcher-kva.example");
	/* Only one trailing dot goes. */
	ck_assert_int_eq(dns_name_normalise("a.com..", out), CD_EPARSE);
	ck_assert_int_eq(dns_name_normalise(".", out), CD_EPARSE);
	ck_assert_int_eq(dns_name_normalise("", out), CD_EPARSE);
	ck_assert_int_eq(dns_name_normalise(".a.com", out), CD_EPARSE);
	ck_assert_int_eq(dns_name_normalise("a b.com", out), CD_EPARSE);
	ck_assert_int_eq(dns_name_normalise(NULL, out), CD_EPARSE);
}
END_TEST

START_TEST(test_normalise_length)
{
	char in[300], out[DNS_NAME_MAX];

	memset(in, 'a', sizeof(in));
	in[253] = '\0';
	ck_assert_int_eq(dns_name_normalise(in, out), CD_EOK);
	ck_assert_uint_eq(strlen(out), 253);
	in[253] = '.';
	in[254] = '\0';
	ck_assert_int_eq(dns_name_normalise(in, out), CD_EOK);
	in[253] = 'a';
	ck_assert_int_eq(dns_name_normalise(in, out), CD_EPARSE);
}
END_TEST

START_TEST(test_reverse)
{
	char out[DNS_NAME_MAX], back[DNS_NAME_MAX];

	dns_name_reverse("www.example.com", out);
	ck_assert_str_eq(out, "com.example.www");
	dns_name_reverse(out, back);
	ck_assert_str_eq(back, "www.example.com");
	dns_name_reverse("wpad", out);
	ck_assert_str_eq(out, "wpad");
}
END_TEST

START_TEST(test_registered_domain)
{
	char out[DNS_NAME_MAX];

	dns_registered_domain("www.bbc.co.uk", out);
	ck_assert_str_eq(out, "bbc.co.uk");
	dns_registered_domain("umwatson.events.data.microsoft.com", out);
	ck_assert_str_eq(out, "microsoft.com");
	dns_registered_domain("co.uk", out);
	ck_assert_str_eq(out, "co.uk");
	dns_registered_domain("wpad", out);
	ck_assert_str_eq(out, "wpad");
	dns_registered_domain("192.168.1.4", out);
	ck_assert_str_eq(out, "192.168.1.4");
	dns_registered_domain("hfdc01.shire.com", out);
	ck_assert_str_eq(out, "shire.com");
}
END_TEST

START_TEST(test_results_cname_chain)
{
	struct dns_answer *a;
	size_t n;
	char addr[DNS_ADDR_STRLEN];

	ck_assert_int_eq(dns_parse_results("type:  5 www-msn-com.a-0003.a-msedge.net;"
	    "type:  5 a-0003.a-msedge.net;::ffff:204.79.197.203;", &a, &n), CD_EOK);
	ck_assert_uint_eq(n, 3);
	ck_assert(!a[0].is_addr);
	ck_assert_uint_eq(a[0].rrtype, 5);
	ck_assert_str_eq(a[0].value, "www-msn-com.a-0003.a-msedge.net");
	ck_assert_str_eq(a[1].value, "a-0003.a-msedge.net");
	ck_assert(a[2].is_addr);
	ck_assert_int_eq(a[2].family, AF_INET);
	dns_addr_format(a[2].family, a[2].addr, addr);
	ck_assert_str_eq(addr, "204.79.197.203");
	dns_answers_free(a, n);
}
END_TEST

START_TEST(test_results_forms)
{
	struct dns_answer *a;
	size_t n;
	char addr[DNS_ADDR_STRLEN];

	ck_assert_int_eq(dns_parse_results("-", &a, &n), CD_EOK);
	ck_assert_uint_eq(n, 0);
	dns_answers_free(a, n);
	ck_assert_int_eq(dns_parse_results("", &a, &n), CD_EOK);
	ck_assert_uint_eq(n, 0);
	dns_answers_free(a, n);
	ck_assert_int_eq(dns_parse_results(NULL, &a, &n), CD_EOK);
	ck_assert_uint_eq(n, 0);

	ck_assert_int_eq(dns_parse_results("fe80::8511:34e6:c256:c11;::ffff:172.18.39.6;",
	    &a, &n), CD_EOK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(a[0].family, AF_INET6);
	dns_addr_format(a[0].family, a[0].addr, addr);
	ck_assert_str_eq(addr, "fe80::8511:34e6:c256:c11");
	ck_assert_int_eq(a[1].family, AF_INET);
	dns_addr_format(a[1].family, a[1].addr, addr);
	ck_assert_str_eq(addr, "172.18.39.6");
	dns_answers_free(a, n);

	/* SRV with an empty value, then a plain IPv4 address. */
	ck_assert_int_eq(dns_parse_results("type:  33 ;172.18.38.5;", &a, &n), CD_EOK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(a[0].rrtype, 33);
	ck_assert_str_eq(a[0].value, "");
	ck_assert(a[1].is_addr);
	dns_answers_free(a, n);

	ck_assert_int_eq(dns_parse_results("type:  12 a104-100-30-229.deploy.static.akamaitechnologies.com;",
	    &a, &n), CD_EOK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(a[0].rrtype, 12);
	dns_answers_free(a, n);

	/* Garbage items are skipped, good ones kept. */
	ck_assert_int_eq(dns_parse_results("junk;::1;type: x;", &a, &n), CD_EOK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(a[0].family, AF_INET6);
	dns_answers_free(a, n);
}
END_TEST

START_TEST(test_utctime)
{
	int64_t ms;

	ck_assert_int_eq(dns_parse_utctime("2020-10-21 19:08:12.455", &ms), CD_EOK);
	ck_assert_int_eq(ms, 1603307292455LL);
	ck_assert_int_eq(dns_parse_utctime("1970-01-01 00:00:00.001", &ms), CD_EOK);
	ck_assert_int_eq(ms, 1);
	ck_assert_int_eq(dns_parse_utctime("2019-12-05T01:54:01.6Z", &ms), CD_EOK);
	ck_assert_int_eq(ms % 1000, 600);
	ck_assert_int_eq(dns_parse_utctime("2019-02-29 00:00:00.000", &ms), CD_EPARSE);
	ck_assert_int_eq(dns_parse_utctime("2019-12-05 25:00:00.000", &ms), CD_EPARSE);
	ck_assert_int_eq(dns_parse_utctime("2019-12-05", &ms), CD_EPARSE);
	ck_assert_int_eq(dns_parse_utctime("", &ms), CD_EPARSE);
}
END_TEST

static const char ev22[] =
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
    "<Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385f-c22a-43e0-bf4c-06f5698ffbd9}'/>"
    "<EventID>22</EventID><Version>5</Version><Level>4</Level><Task>22</Task><Opcode>0</Opcode>"
    "<Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='2019-12-05T01:54:02.0000000Z'/>"
    "<EventRecordID>144188</EventRecordID><Correlation/><Execution ProcessID='3148' ThreadID='2424'/>"
    "<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>ACCT001.shire.com</Computer>"
    "<Security UserID='S-1-5-18'/></System><EventData><Data Name='RuleName'></Data>"
    "<Data Name='UtcTime'>2019-12-05 01:54:01.622</Data>"
    "<Data Name='ProcessGuid'>{a158f72c-633a-5de8-0000-001034136200}</Data>"
    "<Data Name='ProcessId'>2140</Data><Data Name='QueryName'>HFDC01.shire.com.</Data>"
    "<Data Name='QueryStatus'>0</Data><Data Name='QueryResults'>::ffff:172.18.39.5;</Data>"
    "<Data Name='Image'>C:\\Windows\\system32\\svchost.exe</Data></EventData></Event>";

START_TEST(test_from_event)
{
	struct event *ev;
	struct dns_obs o;

	ck_assert_int_eq(event_parse(ev22, strlen(ev22), &ev), CD_EOK);
	ck_assert_int_eq(dns_from_event(ev, &o), CD_EOK);
	ck_assert_str_eq(o.name, "hfdc01.shire.com");
	ck_assert_str_eq(o.raw_name, "HFDC01.shire.com.");
	ck_assert_str_eq(o.regdom, "shire.com");
	ck_assert_int_eq(o.time_ms, 1575510841622LL);
	ck_assert_uint_eq(o.status, 0);
	ck_assert_uint_eq(o.pid, 2140);
	ck_assert_uint_eq(o.record_id, 144188);
	ck_assert_str_eq(o.image, "C:\\Windows\\system32\\svchost.exe");
	ck_assert_str_eq(o.process_guid, "{a158f72c-633a-5de8-0000-001034136200}");
	ck_assert_ptr_null(o.user);
	ck_assert_uint_eq(o.nanswers, 1);
	ck_assert_int_eq(o.answers[0].family, AF_INET);
	dns_obs_clear(&o);
	dns_obs_clear(NULL);
	event_free(ev);
}
END_TEST

/* A copy of s with the first from replaced by to. */
static char *
subst(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	size_t head = (size_t)(p - s);
	char *out = malloc(strlen(s) - strlen(from) + strlen(to) + 1);

	ck_assert_ptr_nonnull(p);
	memcpy(out, s, head);
	strcpy(out + head, to);
	strcat(out, p + strlen(from));
	return out;
}

START_TEST(test_from_event_other)
{
	struct event *ev;
	struct dns_obs o;
	char *xml;

	/* EID 3 is not a DNS event. */
	xml = subst(ev22, "<EventID>22<", "<EventID>3<");
	ck_assert_int_eq(event_parse(xml, strlen(xml), &ev), CD_EOK);
	ck_assert_int_eq(dns_from_event(ev, &o), CD_EUNSUPPORTED);
	event_free(ev);
	free(xml);

	/* A broken UtcTime is a parse error, not a crash or a zero time. */
	xml = subst(ev22, "2019-12-05 01:54:01.622", "2019-92-05 01:54:01.622");
	ck_assert_int_eq(event_parse(xml, strlen(xml), &ev), CD_EOK);
	ck_assert_int_eq(dns_from_event(ev, &o), CD_EPARSE);
	ck_assert_ptr_null(o.name);
	event_free(ev);
	free(xml);

	/* User is kept when the schema has it. */
	xml = subst(ev22, "</EventData>", "<Data Name='User'>NT AUTHORITY\\SYSTEM</Data></EventData>");
	ck_assert_int_eq(event_parse(xml, strlen(xml), &ev), CD_EOK);
	ck_assert_int_eq(dns_from_event(ev, &o), CD_EOK);
	ck_assert_str_eq(o.user, "NT AUTHORITY\\SYSTEM");
	dns_obs_clear(&o);
	event_free(ev);
	free(xml);
}
END_TEST

struct all_data_counts {
	size_t	n22, nodata, withaddr;
};

static void
all_data_event(struct event *ev, void *arg)
{
	struct all_data_counts *c = arg;
	struct dns_obs o;
	int rc = dns_from_event(ev, &o);

	if (ev->event_id == 22) {
		ck_assert_int_eq(rc, CD_EOK);
		c->n22++;
		if (o.nanswers == 0)
			c->nodata++;
		else if (o.answers[o.nanswers - 1].is_addr)
			c->withaddr++;
	} else {
		ck_assert_int_eq(rc, CD_EUNSUPPORTED);
	}
	dns_obs_clear(&o);
}

/* Every EID 22 of the shared data parses, with the README's figures. */
START_TEST(test_all_data)
{
	struct all_data_counts c = { 0 };

	for (size_t i = 0; i < HARNESS_NSYSMON_FILES; i++)
		harness_each_event(harness_sysmon_files[i], all_data_event, &c);
	ck_assert_uint_eq(c.n22, 380);
	/* 235 "-" and 2 empty QueryResults. */
	ck_assert_uint_eq(c.nodata, 237);
	ck_assert_uint_gt(c.withaddr, 100);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_normalise);
	tcase_add_test(tc, test_normalise_length);
	tcase_add_test(tc, test_reverse);
	tcase_add_test(tc, test_registered_domain);
	tcase_add_test(tc, test_results_cname_chain);
	tcase_add_test(tc, test_results_forms);
	tcase_add_test(tc, test_utctime);
	tcase_add_test(tc, test_from_event);
	tcase_add_test(tc, test_from_event_other);
	tcase_add_test(tc, test_all_data);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
