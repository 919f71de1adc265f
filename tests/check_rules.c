/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "harness.h"
#include "rules.h"

#define SYSMON "Microsoft-Windows-Sysmon"

/* A hand-built Sysmon event: up to 8 (name, value) pairs. */
struct tev {
	struct event		ev;
	struct event_field	f[8];
};

static void
tev_init(struct tev *t, uint32_t eid, ...)
{
	va_list ap;
	const char *n;

	memset(t, 0, sizeof(*t));
	t->ev.provider = (char *)SYSMON;
	t->ev.event_id = eid;
	t->ev.has_event_id = true;
	t->ev.data = t->f;
	va_start(ap, eid);
	while ((n = va_arg(ap, const char *)) != NULL && t->ev.ndata < 8) {
		t->f[t->ev.ndata].name = (char *)n;
		t->f[t->ev.ndata].value = va_arg(ap, char *);
		t->ev.ndata++;
	}
	va_end(ap);
}

static struct rules *
load(const char *fmt, ...)
{
	char xml[8192];
	struct rules *r = NULL;
	char *err = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(xml, sizeof(xml), fmt, ap);
	va_end(ap);
	rc = rules_load_mem(xml, strlen(xml), "test.xml", &r, &err);
	ck_assert_msg(rc == CD_EOK, "load failed: %s", err ? err : "?");
	free(err);
	return r;
}

/* Load error: return the message (caller frees). */
static char *
load_err(const char *xml, int want)
{
	struct rules *r = NULL;
	char *err = NULL;

	ck_assert_int_eq(rules_load_mem(xml, strlen(xml), "bad.xml", &r, &err), want);
	ck_assert_ptr_null(r);
	ck_assert_ptr_nonnull(err);
	return err;
}

/* Does a single include filter <field condition=cond>rv</field> on a
 * DnsQuery block match an event whose field has value ev? */
static bool
cond_on(const char *field, const char *cond, const char *rv, const char *evv)
{
	struct rules *r;
	struct tev t;
	enum rules_verdict v;

	r = load("<Sysmon schemaversion=\"4.90\"><EventFiltering><DnsQuery "
	    "onmatch=\"include\"><%s condition=\"%s\">%s</%s></DnsQuery>"
	    "</EventFiltering></Sysmon>", field, cond, rv, field);
	tev_init(&t, 22, field, evv, NULL);
	v = rules_eval(r, &t.ev, NULL);
	rules_free(r);
	/* One include block: match keeps, no match drops. */
	return v == RULES_KEEP;
}

static bool
cond(const char *c, const char *rv, const char *evv)
{
	return cond_on("QueryName", c, rv, evv);
}

START_TEST(test_is_family)
{
	ck_assert(cond("is", "Example.COM", "example.com"));
	ck_assert(cond("IS", "example.com", "EXAMPLE.com"));
	ck_assert(cond("", "example.com", "example.com"));	/* default is */
	ck_assert(!cond("is", "example.com", "example.co"));
	ck_assert(!cond("is", " example.com", "example.com"));	/* untrimmed */
	ck_assert(cond("is not", "a.com", "b.com"));
	ck_assert(!cond("is not", "A.com", "a.COM"));
	ck_assert(cond("is any", "a.com;B.com", "b.com"));
	ck_assert(!cond("is any", "a.com; b.com", "b.com"));	/* token " b.com" */
	ck_assert(cond("is any", "a.com; b.com", " B.com"));
	ck_assert(!cond("is any", "a.com;b.com", "a.co"));
}
END_TEST

START_TEST(test_contains_family)
{
	ck_assert(cond("contains", "MICRO", "www.microsoft.com"));
	ck_assert(!cond("contains", "macro", "www.microsoft.com"));
	ck_assert(cond("contains any", "xx;SOFT", "www.microsoft.com"));
	ck_assert(!cond("contains any", "xx;yy", "www.microsoft.com"));
	ck_assert(!cond("contains any", "xx; soft", "www.microsoft.com"));
	ck_assert(cond("contains all", "www;SOFT", "www.microsoft.com"));
	ck_assert(!cond("contains all", "www;hard", "www.microsoft.com"));
	/* An empty value contains nothing, not even the empty string. */
	ck_assert(!cond("contains", "", ""));
	ck_assert(cond("contains", "", "x"));
	ck_assert(!cond("contains any", "a;", ""));
	/* A trailing ';' is an empty token: every non-empty value has it. */
	ck_assert(cond("contains any", "zzz;", "anything"));
	/* An empty token stands for the rest of the list: "a;;b" has ";b". */
	ck_assert(cond("contains any", "qq;;b", "x;b"));
	ck_assert(!cond("contains all", "a;;b", "a b"));
	ck_assert(cond("contains all", "a;;b", "a;b"));
}
END_TEST

START_TEST(test_excludes_family)
{
	ck_assert(cond("excludes", "evil", "good.com"));
	ck_assert(!cond("excludes", "EVIL", "evil.com"));
	/* excludes any: none of the tokens occurs (the engine's reading). */
	ck_assert(cond("excludes any", "aa;bb", "xyz"));
	ck_assert(!cond("excludes any", "aa;bb", "xaax"));
	ck_assert(!cond("excludes any", "aa;bb", "xBBx"));
	/* excludes all: at least one token is missing. */
	ck_assert(cond("excludes all", "aa;bb", "xaax"));
	ck_assert(cond("excludes all", "aa;bb", "xyz"));
	ck_assert(!cond("excludes all", "aa;bb", "aa-BB"));
	/* Empty values: every excludes condition matches. */
	ck_assert(cond("excludes", "", ""));
	ck_assert(cond("excludes any", "a", ""));
	ck_assert(cond("excludes all", "a", ""));
}
END_TEST

START_TEST(test_begin_end)
{
	ck_assert(cond("begin with", "WWW.", "www.example.com"));
	ck_assert(!cond("begin with", "ww.", "www.example.com"));
	ck_assert(cond("not begin with", "ftp.", "www.example.com"));
	ck_assert(!cond("not begin with", "WWW", "www.example.com"));
	ck_assert(cond("end with", ".COM", "www.example.com"));
	ck_assert(!cond("end with", "www.example.com.x", "example.com.x"));
	ck_assert(!cond("end with", ".com ", "www.example.com"));
	ck_assert(cond("not end with", ".org", "www.example.com"));
	ck_assert(!cond("not end with", "Example.Com", "www.example.com"));
	ck_assert(cond("not end with", "longer.www.example.com", "example.com"));
}
END_TEST

START_TEST(test_less_more)
{
	/* String comparison, not numeric: "9" > "10". */
	ck_assert(cond_on("QueryStatus", "more than", "10", "9"));
	ck_assert(!cond_on("QueryStatus", "less than", "10", "9"));
	ck_assert(cond_on("QueryStatus", "less than", "9502", "9003"));
	ck_assert(!cond_on("QueryStatus", "less than", "9003", "9003"));
	ck_assert(!cond_on("QueryStatus", "more than", "9003", "9003"));
	/* Case-folded before comparing: "_" (0x5f) sorts below "a". */
	ck_assert(cond("less than", "a", "_x"));
	ck_assert(cond("more than", "_", "A"));
	ck_assert(cond("less than", "abc", "AB"));
}
END_TEST

START_TEST(test_image)
{
	const char *img = "C:\\Windows\\System32\\REGSVR32.exe";

	ck_assert(cond_on("Image", "image", "regsvr32.EXE", img));
	ck_assert(!cond_on("Image", "image", "svr32.exe", img));
	ck_assert(cond_on("Image", "image", "c:\\windows\\system32\\regsvr32.exe", img));
	ck_assert(!cond_on("Image", "image", "system32\\regsvr32.exe", img));
	ck_assert(cond_on("Image", "image", "regsvr32.exe", "regsvr32.exe"));
	/* Usable on any field. */
	ck_assert(cond_on("QueryName", "image", "x.com", "a\\x.com"));
}
END_TEST

START_TEST(test_and_or_same_field)
{
	struct rules *r;
	struct tev t;

	/* Bare block in a 4.x config: AND, same-field filters ORed. */
	r = load("<Sysmon schemaversion=\"4.50\"><EventFiltering>"
	    "<DnsQuery onmatch=\"include\">"
	    "<QueryName condition=\"end with\">.a.com</QueryName>"
	    "<Image condition=\"image\">x.exe</Image>"
	    "<QueryName condition=\"end with\">.b.com</QueryName>"
	    "</DnsQuery></EventFiltering></Sysmon>");
	tev_init(&t, 22, "QueryName", "q.b.com", "Image", "C:\\x.exe", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_KEEP);
	tev_init(&t, 22, "QueryName", "q.a.com", "Image", "C:\\x.exe", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_KEEP);
	tev_init(&t, 22, "QueryName", "q.b.com", "Image", "C:\\y.exe", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_DROP);
	tev_init(&t, 22, "QueryName", "q.c.com", "Image", "C:\\x.exe", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_DROP);
	rules_free(r);

	/* Schema 4.1 and older: a bare block is OR. */
	r = load("<Sysmon schemaversion=\"4.1\"><EventFiltering>"
	    "<DnsQuery onmatch=\"include\">"
	    "<QueryName condition=\"end with\">.a.com</QueryName>"
	    "<Image condition=\"image\">x.exe</Image>"
	    "</DnsQuery></EventFiltering></Sysmon>");
	tev_init(&t, 22, "QueryName", "q.z.com", "Image", "C:\\x.exe", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_KEEP);
	rules_free(r);

	/* RuleGroup and/or decides, and <Rule> is one unit with its own
	 * relation (free text: anything but "or" is AND). */
	r = load("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<RuleGroup name=\"g\" groupRelation=\"or\">"
	    "<DnsQuery onmatch=\"include\">"
	    "<Rule name=\"both\" groupRelation=\"AND\">"
	    "<QueryName condition=\"end with\">.a.com</QueryName>"
	    "<Image condition=\"image\">x.exe</Image></Rule>"
	    "<Rule name=\"either\" groupRelation=\"Or\">"
	    "<QueryName condition=\"is\">one</QueryName>"
	    "<QueryName condition=\"is\">two</QueryName></Rule>"
	    "</DnsQuery></RuleGroup></EventFiltering></Sysmon>");
	const char *name;
	tev_init(&t, 22, "QueryName", "q.a.com", "Image", "C:\\y.exe", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, &name), RULES_DROP);
	ck_assert_str_eq(name, "-");
	tev_init(&t, 22, "QueryName", "q.a.com", "Image", "C:\\X.exe", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, &name), RULES_KEEP);
	ck_assert_str_eq(name, "both");
	tev_init(&t, 22, "QueryName", "TWO", "Image", "C:\\y.exe", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, &name), RULES_KEEP);
	ck_assert_str_eq(name, "either");
	rules_free(r);

	/* In an AND group a <Rule> gets no same-field exception. */
	r = load("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<RuleGroup groupRelation=\"and\"><DnsQuery onmatch=\"include\">"
	    "<Rule groupRelation=\"and\"><QueryName>a</QueryName>"
	    "<QueryName>b</QueryName></Rule>"
	    "</DnsQuery></RuleGroup></EventFiltering></Sysmon>");
	tev_init(&t, 22, "QueryName", "a", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_DROP);
	rules_free(r);
}
END_TEST

START_TEST(test_precedence_defaults)
{
	struct rules *r;
	struct tev t;
	const char *name;

	/* Include and exclude both match: exclude wins, even though the
	 * include block comes first. No match with two blocks: drop. */
	r = load("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<RuleGroup groupRelation=\"or\"><NetworkConnect onmatch=\"include\">"
	    "<Image name=\"inc\" condition=\"image\">a.exe</Image>"
	    "</NetworkConnect></RuleGroup>"
	    "<RuleGroup groupRelation=\"or\"><NetworkConnect onmatch=\"exclude\">"
	    "<DestinationPort name=\"exc\">443</DestinationPort>"
	    "</NetworkConnect></RuleGroup></EventFiltering></Sysmon>");
	tev_init(&t, 3, "Image", "C:\\a.exe", "DestinationPort", "443", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, &name), RULES_DROP);
	ck_assert_str_eq(name, "exc");
	tev_init(&t, 3, "Image", "C:\\a.exe", "DestinationPort", "80", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, &name), RULES_KEEP);
	ck_assert_str_eq(name, "inc");
	tev_init(&t, 3, "Image", "C:\\b.exe", "DestinationPort", "80", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, &name), RULES_DROP);
	ck_assert_str_eq(name, "-");
	/* No block for the type: pass-through. Non-Sysmon: pass-through. */
	tev_init(&t, 22, "QueryName", "x", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_KEEP);
	tev_init(&t, 3, "Image", "C:\\b.exe", NULL);
	t.ev.provider = (char *)"Microsoft-Windows-Security-Auditing";
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_KEEP);
	rules_free(r);

	/* One exclude block, no match: keep. Two exclude blocks: drop. */
	r = load("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<DnsQuery onmatch=\"exclude\"><QueryName>a</QueryName></DnsQuery>"
	    "</EventFiltering></Sysmon>");
	tev_init(&t, 22, "QueryName", "b", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_KEEP);
	tev_init(&t, 22, "QueryName", "A", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_DROP);
	rules_free(r);
	r = load("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<DnsQuery onmatch=\"exclude\"><QueryName>a</QueryName></DnsQuery>"
	    "<DnsQuery onmatch=\"exclude\"><QueryName>c</QueryName></DnsQuery>"
	    "</EventFiltering></Sysmon>");
	tev_init(&t, 22, "QueryName", "b", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_DROP);
	rules_free(r);
	/* An empty block never matches; alone it only sets the default. */
	r = load("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<DnsQuery onmatch=\"exclude\"/><ProcessCreate onmatch=\"include\"/>"
	    "</EventFiltering></Sysmon>");
	tev_init(&t, 22, "QueryName", "b", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_KEEP);
	tev_init(&t, 1, "Image", "b", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_DROP);
	rules_free(r);
}
END_TEST

START_TEST(test_rule_names)
{
	struct rules *r;
	struct tev t;
	const char *name;

	/* Field name > Rule name > group name; empty name="" suppresses. */
	r = load("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<RuleGroup name=\"grp\" groupRelation=\"or\">"
	    "<DnsQuery onmatch=\"include\">"
	    "<QueryName name=\"own\">a</QueryName>"
	    "<QueryName>b</QueryName>"
	    "<QueryName name=\"\">c</QueryName>"
	    "<Rule name=\"rule\"><QueryName>d</QueryName>"
	    "<QueryName name=\"inner\">e</QueryName></Rule>"
	    "<Rule name=\"\"><QueryName>f</QueryName></Rule>"
	    "<Rule><QueryName>g</QueryName></Rule>"
	    "</DnsQuery></RuleGroup></EventFiltering></Sysmon>");
	static const char *const want[][2] = {
		{ "a", "own" }, { "b", "grp" }, { "c", "-" }, { "d", "rule" },
		{ "e", "inner" }, { "f", "-" }, { "g", "grp" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		tev_init(&t, 22, "QueryName", want[i][0], NULL);
		ck_assert_int_eq(rules_eval(r, &t.ev, &name), RULES_KEEP);
		ck_assert_str_eq(name, want[i][1]);
	}
	rules_free(r);

	/* Two include blocks match: the later block names the event (reverse
	 * document order). A name from a partly matching AND exclude block
	 * sticks when the deciding filter has none. */
	r = load("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<DnsQuery onmatch=\"include\"><QueryName name=\"first\">a</QueryName></DnsQuery>"
	    "<DnsQuery onmatch=\"include\"><QueryName name=\"second\">a</QueryName></DnsQuery>"
	    "<DnsQuery onmatch=\"include\"><QueryName name=\"\">z</QueryName></DnsQuery>"
	    "<DnsQuery onmatch=\"exclude\"><QueryName name=\"partial\">z</QueryName>"
	    "<Image>never</Image></DnsQuery>"
	    "</EventFiltering></Sysmon>");
	tev_init(&t, 22, "QueryName", "A", "Image", "x", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, &name), RULES_KEEP);
	ck_assert_str_eq(name, "second");
	tev_init(&t, 22, "QueryName", "z", "Image", "x", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, &name), RULES_KEEP);
	ck_assert_str_eq(name, "partial");
	rules_free(r);
}
END_TEST

START_TEST(test_shared_family_positions)
{
	struct rules *r;
	struct tev t;

	/* Name is the 7th field of EID 19 but the 6th of EID 20. */
	r = load("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<WmiEvent onmatch=\"include\"><Name condition=\"contains\">evil</Name>"
	    "</WmiEvent></EventFiltering></Sysmon>");
	tev_init(&t, 19, "Name", "EvilFilter", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_KEEP);
	tev_init(&t, 20, "Name", "EvilConsumer", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_DROP);
	rules_free(r);
	/* TargetObject sits at the same place in 12, 13 and 14. */
	r = load("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<RegistryEvent onmatch=\"include\"><TargetObject condition=\"contains\">"
	    "\\Run\\</TargetObject></RegistryEvent></EventFiltering></Sysmon>");
	for (uint32_t eid = 12; eid <= 14; eid++) {
		tev_init(&t, eid, "TargetObject", "HKLM\\x\\Run\\y", NULL);
		ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_KEEP);
	}
	rules_free(r);
	ck_assert_str_eq(rules_event_name(22), "DnsQuery");
	ck_assert_str_eq(rules_event_name(13), "RegistryEvent");
	ck_assert_str_eq(rules_event_name(1), "ProcessCreate");
	ck_assert_ptr_null(rules_event_name(4));
	ck_assert_ptr_null(rules_event_name(255));
}
END_TEST

START_TEST(test_load_errors)
{
	char *e;

	e = load_err("<Sysmon schemaversion=\"4.90\"><EventFiltering>\n"
	    "<DnsQuery onmatch=\"Include\"/></EventFiltering></Sysmon>", CD_ECONFIG);
	ck_assert_msg(strncmp(e, "bad.xml:2: ", 11) == 0, "%s", e);
	free(e);
	e = load_err("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<RuleGroup><DnsQuery onmatch=\"include\"/></RuleGroup>"
	    "</EventFiltering></Sysmon>", CD_ECONFIG);
	free(e);
	e = load_err("<Sysmon schemaversion=\"4.90\"><EventFiltering>\n\n"
	    "<DnsQuery onmatch=\"include\"><CommandLine>x</CommandLine></DnsQuery>"
	    "</EventFiltering></Sysmon>", CD_ECONFIG);
	ck_assert_msg(strstr(e, "bad.xml:3: incorrect field CommandLine") != NULL, "%s", e);
	free(e);
	e = load_err("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<DnsQuery onmatch=\"include\"><QueryName condition=\"matches\">x"
	    "</QueryName></DnsQuery></EventFiltering></Sysmon>", CD_ECONFIG);
	ck_assert_msg(strstr(e, "unknown condition") != NULL, "%s", e);
	free(e);
	e = load_err("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<DnsQuery/></EventFiltering></Sysmon>", CD_ECONFIG);
	free(e);
	e = load_err("<Sysmon><EventFiltering/></Sysmon>", CD_ECONFIG);
	free(e);
	e = load_err("<Sysmon schemaversion=\"4.90\">\n<EventFiltering>", CD_EPARSE);
	ck_assert_msg(strncmp(e, "bad.xml:", 8) == 0, "%s", e);
	free(e);
	e = load_err("<!DOCTYPE Sysmon [<!ENTITY x \"y\">]><Sysmon schemaversion="
	    "\"4.90\"/>", CD_ECONFIG);
	free(e);

	/* Rule names are capped at 255 characters. */
	char xml[1024], longname[300];
	memset(longname, 'n', 256);
	longname[256] = '\0';
	snprintf(xml, sizeof(xml), "<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<DnsQuery onmatch=\"include\"><QueryName name=\"%s\">x</QueryName>"
	    "</DnsQuery></EventFiltering></Sysmon>", longname);
	e = load_err(xml, CD_ECONFIG);
	ck_assert_msg(strstr(e, "longer than 255") != NULL, "%s", e);
	free(e);

	/* The legacy default= attribute stands for onmatch=. */
	struct rules *r = load("<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<DnsQuery default=\"exclude\"><QueryName>a</QueryName></DnsQuery>"
	    "</EventFiltering></Sysmon>");
	struct tev t;
	tev_init(&t, 22, "QueryName", "a", NULL);
	ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_DROP);
	rules_free(r);
	r = NULL;

	char *err = NULL;
	ck_assert_int_eq(rules_load("/nonexistent/sysmon.xml", &r, &err), -ENOENT);
	ck_assert_ptr_nonnull(err);
	free(err);
	rules_free(NULL);
}
END_TEST

START_TEST(test_real_configs_load)
{
	static const char *const files[] = {
		"sysmon-configs/swiftonsecurity-sysmonconfig-export.xml",
		"sysmon-configs/sysmon-modular-sysmonconfig.xml",
	};

	for (size_t i = 0; i < 2; i++) {
		struct rules *r = NULL;
		char *err = NULL;
		int rc = rules_load(harness_data_path(files[i]), &r, &err);

		ck_assert_msg(rc == CD_EOK, "%s: %s", files[i], err ? err : "?");
		ck_assert_uint_gt(rules_block_count(r), 10);
		rules_free(r);
	}
}
END_TEST

START_TEST(test_encodings_and_literal_values)
{
	static const char doc[] = "<Sysmon schemaversion=\"4.90\"><EventFiltering>"
	    "<DnsQuery onmatch=\"include\"><QueryName condition=\"begin with\">"
	    "%COMPUTERNAME%</QueryName><QueryName>\n  spaced\n</QueryName>"
	    "</DnsQuery></EventFiltering></Sysmon>";
	char u8[sizeof(doc) + 3], u16[2 * sizeof(doc) + 2];
	const char *bufs[2] = { u8, u16 };
	size_t lens[2], n = strlen(doc);
	struct tev t;

	/* UTF-8 with BOM, and UTF-16LE with BOM. */
	memcpy(u8, "\xef\xbb\xbf", 3);
	memcpy(u8 + 3, doc, n);
	lens[0] = n + 3;
	u16[0] = '\xff';
	u16[1] = '\xfe';
	for (size_t i = 0; i < n; i++) {
		u16[2 + 2 * i] = doc[i];
		u16[3 + 2 * i] = '\0';
	}
	lens[1] = 2 + 2 * n;
	for (int k = 0; k < 2; k++) {
		struct rules *r = NULL;
		char *err = NULL;

		ck_assert_msg(rules_load_mem(bufs[k], lens[k], "enc.xml", &r, &err)
		    == CD_EOK, "%d: %s", k, err ? err : "?");
		/* %VAR% is compared literally (no expansion on Linux). */
		tev_init(&t, 22, "QueryName", "%computername%.corp", NULL);
		ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_KEEP);
		tev_init(&t, 22, "QueryName", "WS01.corp", NULL);
		ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_DROP);
		/* Values keep their newlines and indentation. */
		tev_init(&t, 22, "QueryName", "spaced", NULL);
		ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_DROP);
		tev_init(&t, 22, "QueryName", "\n  SPACED\n", NULL);
		ck_assert_int_eq(rules_eval(r, &t.ev, NULL), RULES_KEEP);
		rules_free(r);
	}
}
END_TEST

/*
 * Expected kept/dropped per file and Event ID, copied from
 * tests/data/sysmon-configs/README.md ("SwiftOnSecurity, per file" and
 * "sysmon-modular, per file"; computed there by an independent reference
 * evaluator of Sysmon's engine). Columns: EID 1, 3, 22 as kept, dropped.
 */
static const char *const data_files[] = {
	"cmd_wevtutil_modify_security_eventlog_path.xml",
	"covenant_dcom_iertutil_dll_hijack.xml",
	"covenant_psremoting_grunt.xml",
	"lsass_campaign_01.xml",
	"lsass_campaign_02.xml",
	"lsass_campaign_03.xml",
	"lsass_campaign_04.xml",
	"purplesharp_ad_playbook_i.xml",
};

static const struct {
	const char	*config;
	unsigned	 counts[8][6];
} expected[] = {
	{ "sysmon-configs/swiftonsecurity-sysmonconfig-export.xml", {
		{ 17, 14, 2, 110, 10, 21 },
		{ 30, 48, 3, 181, 11, 39 },
		{ 9, 8, 4, 272, 10, 10 },
		{ 175, 94, 5, 135, 26, 25 },
		{ 79, 59, 2, 133, 8, 20 },
		{ 80, 47, 4, 155, 22, 36 },
		{ 64, 40, 8, 113, 29, 100 },
		{ 9, 15, 22, 104, 12, 1 },
	} },
	{ "sysmon-configs/sysmon-modular-sysmonconfig.xml", {
		{ 5, 26, 20, 92, 10, 21 },
		{ 11, 67, 7, 177, 12, 38 },
		{ 2, 15, 118, 158, 10, 10 },
		{ 148, 121, 13, 127, 26, 25 },
		{ 54, 84, 10, 125, 8, 20 },
		{ 55, 72, 12, 147, 22, 36 },
		{ 19, 85, 12, 109, 29, 100 },
		{ 10, 14, 31, 95, 12, 1 },
	} },
};

/* RuleName of kept events, also from that README ("RuleName of kept
 * events"): a sample that exercises name inheritance and reverse order. */
static const struct {
	int		 config;
	uint32_t	 eid;
	const char	*name;
	unsigned	 count;
} expected_names[] = {
	{ 0, 1, "-", 463 },
	{ 0, 3, "Usermode", 40 },
	{ 0, 3, "Proxy", 5 },
	{ 0, 3, "-", 5 },
	{ 0, 22, "-", 128 },
	{ 1, 1, "technique_id=T1202,technique_name=Indirect Command Execution", 112 },
	{ 1, 1, "technique_id=T1012,technique_name=Query Registry", 39 },
	{ 1, 1, "Event Log Access", 13 },
	{ 1, 1, "technique_id=T1218.011,technique_name=rundll32.exe", 7 },
	{ 1, 3, "technique_id=T1021,technique_name=Remote Services", 136 },
	{ 1, 3, "technique_id=T1571,technique_name=Non-Standard Port", 55 },
	{ 1, 3, "technique_id=T1036,technique_name=Masquerading", 27 },
	{ 1, 3, "technique_id=T1218,technique_name=Signed Binary Proxy Execution", 1 },
	{ 1, 22, "-", 129 },
};

START_TEST(test_real_data_counts)
{
	int ci = _i;
	struct rules *r = NULL;
	char *err = NULL;
	unsigned names[sizeof(expected_names) / sizeof(expected_names[0])] = { 0 };
	unsigned total = 0;

	ck_assert_msg(rules_load(harness_data_path(expected[ci].config), &r,
	    &err) == CD_EOK, "%s", err ? err : "?");
	for (size_t fi = 0; fi < 8; fi++) {
		char rel[128];
		size_t len;
		unsigned got[6] = { 0 };
		char *text, *line, *nl;

		snprintf(rel, sizeof(rel), "sysmon/%s", data_files[fi]);
		text = harness_read_data(rel, &len);
		for (line = text; line < text + len; line = nl + 1) {
			struct event *ev = NULL;
			enum rules_verdict v;
			int col;

			if ((nl = memchr(line, '\n', (size_t)(text + len - line))) == NULL)
				nl = text + len;
			if (nl == line)
				continue;
			ck_assert_int_eq(event_parse(line, (size_t)(nl - line), &ev), CD_EOK);
			ck_assert_msg(!ev->malformed, "%s: %s", rel, ev->error);
			ck_assert_int_eq(rules_apply(r, ev, &v), CD_EOK);
			ck_assert_ptr_nonnull(ev->rule_name);
			col = ev->event_id == 1 ? 0 : ev->event_id == 3 ? 2 :
			    ev->event_id == 22 ? 4 : -1;
			ck_assert_int_ge(col, 0);
			got[col + (v == RULES_DROP)]++;
			total++;
			for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
				if (v == RULES_KEEP && expected_names[k].config == ci &&
				    expected_names[k].eid == ev->event_id &&
				    strcmp(expected_names[k].name, ev->rule_name) == 0)
					names[k]++;
			event_free(ev);
		}
		free(text);
		for (int c = 0; c < 6; c++)
			ck_assert_msg(got[c] == expected[ci].counts[fi][c],
			    "%s on %s: EID %s %s: got %u, want %u",
			    expected[ci].config, data_files[fi],
			    c < 2 ? "1" : c < 4 ? "3" : "22",
			    c % 2 ? "dropped" : "kept", got[c],
			    expected[ci].counts[fi][c]);
	}
	/* 788 + 1253 + 380 events over the eight files (README totals). */
	ck_assert_uint_eq(total, 788 + 1253 + 380);
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (expected_names[k].config == ci)
			ck_assert_msg(names[k] == expected_names[k].count,
			    "RuleName %s EID %u: got %u, want %u",
			    expected_names[k].name, expected_names[k].eid,
			    names[k], expected_names[k].count);
	rules_free(r);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_is_family);
	tcase_add_test(tc, test_contains_family);
	tcase_add_test(tc, test_excludes_family);
	tcase_add_test(tc, test_begin_end);
	tcase_add_test(tc, test_less_more);
	tcase_add_test(tc, test_image);
	tcase_add_test(tc, test_and_or_same_field);
	tcase_add_test(tc, test_precedence_defaults);
	tcase_add_test(tc, test_rule_names);
	tcase_add_test(tc, test_shared_family_positions);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_real_configs_load);
	tcase_add_test(tc, test_encodings_and_literal_values);
	tcase_add_loop_test(tc, test_real_data_counts, 0, 2);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
