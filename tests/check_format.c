/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Event formats. The json and ecs forms of real events are compared with
 * the golden files in tests/data/golden (member order ignored: JSON
 * objects are unordered). CD_GOLDEN_UPDATE=1 rewrites the golden files
 * from the current code; they must then be reviewed by hand against
 * docs/formats.md and ecs-sysmon.md before committing.
 */
#include "config.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "format.h"
#include "harness.h"
#include "spool.h"

#define T_RECEIVED	1700000000123LL	/* 2023-11-14T22:13:20.123Z */

static const char *const golden_cases[] = {
	"sysmon-eid1", "sysmon-eid3", "sysmon-eid22", "security-4688", "malformed-4798",
};

static void
rec_init(struct spool_rec *rec, const char *xml, size_t len)
{
	memset(rec, 0, sizeof(*rec));
	rec->seq = 42;
	rec->type = SPOOL_EVENT;
	rec->received_ms = T_RECEIVED;
	rec->source = "10.0.0.5";
	rec->host = "ws01.example.com";
	rec->subscription = "sysmon";
	rec->data = xml;
	rec->data_len = len;
}

/* Format one XML text; returns the malloc'd document. */
static char *
format_text(enum format_kind f, const char *xml, const struct format_meta *meta)
{
	struct spool_rec rec;
	struct event *ev = NULL;
	struct buf out;
	size_t len = strlen(xml);

	while (len > 0 && (xml[len - 1] == '\n' || xml[len - 1] == '\r'))
		len--;
	rec_init(&rec, xml, len);
	ck_assert_int_eq(event_parse(xml, len, &ev), CD_EOK);
	buf_init(&out, 0);
	ck_assert_int_eq(format_event(f, &rec, ev, meta, &out), CD_EOK);
	event_free(ev);
	ck_assert_ptr_nonnull(out.data);
	/* One record per line for every sink: never a raw newline. */
	if (f != FORMAT_RAW)
		ck_assert_ptr_null(memchr(out.data, '\n', out.len));
	return (char *)buf_steal(&out, &len);
}

static json_t *
format_json(enum format_kind f, const char *xml, const struct format_meta *meta)
{
	char *s = format_text(f, xml, meta);
	json_error_t err;
	json_t *j = json_loads(s, 0, &err);

	if (j == NULL)
		ck_abort_msg("invalid JSON (%s): %s", err.text, s);
	free(s);
	return j;
}

static void
golden_check(const char *name, enum format_kind f)
{
	char rel[128], path[4096];
	struct format_meta meta = { .received_ms = T_RECEIVED, .rule_name = NULL };
	char *xml;
	size_t len;

	snprintf(rel, sizeof(rel), "golden/%s.xml", name);
	xml = harness_read_data(rel, &len);
	json_t *got = format_json(f, xml, &meta);
	snprintf(rel, sizeof(rel), "golden/%s.%s.json", name, format_name(f));
	snprintf(path, sizeof(path), "%s", harness_data_path(rel));
	if (getenv("CD_GOLDEN_UPDATE") != NULL)
		ck_assert_int_eq(json_dump_file(got, path,
		    JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII), 0);
	json_error_t err;
	json_t *want = json_load_file(path, 0, &err);
	if (want == NULL)
		ck_abort_msg("%s: %s", path, err.text);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_INDENT(2) | JSON_SORT_KEYS);
		ck_abort_msg("%s differs from the golden file; got:\n%s", rel, g);
	}
	json_decref(got);
	json_decref(want);
	free(xml);
}

START_TEST(test_golden_json)
{
	golden_check(golden_cases[_i], FORMAT_JSON);
}
END_TEST

START_TEST(test_golden_ecs)
{
	golden_check(golden_cases[_i], FORMAT_ECS);
}
END_TEST

START_TEST(test_parse_name)
{
	enum format_kind f = FORMAT_RAW;

	ck_assert_int_eq(format_parse("ecs", &f), CD_EOK);
	ck_assert_int_eq(f, FORMAT_ECS);
	ck_assert_int_eq(format_parse("json", &f), CD_EOK);
	ck_assert_int_eq(f, FORMAT_JSON);
	ck_assert_int_eq(format_parse("raw", &f), CD_EOK);
	ck_assert_int_eq(f, FORMAT_RAW);
	ck_assert_int_eq(format_parse("JSON", &f), CD_EPARSE);
	ck_assert_int_eq(format_parse("", &f), CD_EPARSE);
	ck_assert_str_eq(format_name(FORMAT_ECS), "ecs");
	ck_assert_str_eq(format_name(FORMAT_JSON), "json");
	ck_assert_str_eq(format_name(FORMAT_RAW), "raw");
}
END_TEST

/* raw is the bytes as received, malformed ones included. */
START_TEST(test_raw_exact)
{
	size_t len;
	char *xml = harness_read_data(_i ? "golden/malformed-4798.xml" : "golden/sysmon-eid22.xml",
	    &len);
	char *out = format_text(FORMAT_RAW, xml, NULL);

	while (len > 0 && xml[len - 1] == '\n')
		xml[--len] = '\0';
	ck_assert_str_eq(out, xml);
	free(out);
	free(xml);
}
END_TEST

/* Collector metadata the output passes in appears under "collector". */
START_TEST(test_json_meta)
{
	char *xml = harness_read_data("golden/sysmon-eid22.xml", NULL);
	struct format_meta meta = {
		.received_ms = T_RECEIVED, .rule_name = "dns-all", .dedup_first = true,
		.output = "siem",
	};
	json_t *j = format_json(FORMAT_JSON, xml, &meta);
	json_t *c = json_object_get(j, "collector");

	ck_assert_str_eq(json_string_value(json_object_get(c, "rule_name")), "dns-all");
	ck_assert_str_eq(json_string_value(json_object_get(c, "dedup")), "first");
	ck_assert_str_eq(json_string_value(json_object_get(c, "output")), "siem");
	ck_assert_str_eq(json_string_value(json_object_get(c, "received")),
	    "2023-11-14T22:13:20.123Z");
	json_decref(j);
	/* And in ECS the collector's rule fills rule.name when Sysmon's is "-". */
	j = format_json(FORMAT_ECS, xml, &meta);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "rule"),
	    "name")), "dns-all");
	json_decref(j);
	free(xml);
}
END_TEST

#define SYSMON_HEAD(id) "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>" \
	"<System><Provider Name='Microsoft-Windows-Sysmon'/><EventID>" id "</EventID>" \
	"<Version>5</Version><Level>4</Level><Task>" id "</Task><Opcode>0</Opcode>" \
	"<TimeCreated SystemTime='2024-03-05T10:15:31.1234567Z'/><EventRecordID>7</EventRecordID>" \
	"<Execution ProcessID='3164' ThreadID='4420'/>" \
	"<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>ws01</Computer>" \
	"<Security UserID='S-1-5-18'/></System><EventData>"
#define SYSMON_TAIL "</EventData></Event>"

static const char *
jpath(json_t *j, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k != NULL && j != NULL;
	    k = strtok_r(NULL, ".", &save))
		j = json_object_get(j, k);
	return j == NULL ? NULL : json_is_string(j) ? json_string_value(j) : "<non-string>";
}

/* ecs-sysmon.md section 9: the worked EID 22 example, field by field. */
START_TEST(test_ecs_dns_example)
{
	const char *xml = SYSMON_HEAD("22")
	    "<Data Name='RuleName'>-</Data><Data Name='UtcTime'>2024-03-05 10:15:30.987</Data>"
	    "<Data Name='ProcessGuid'>{8f3b1c2a-5e6d-65e6-4a01-000000001a00}</Data>"
	    "<Data Name='ProcessId'>6120</Data>"
	    "<Data Name='QueryName'>cdn.assets.example.co.uk</Data>"
	    "<Data Name='QueryStatus'>0</Data>"
	    "<Data Name='QueryResults'>type:  5 edge.example.net;::ffff:192.0.2.10;"
	    "::ffff:192.0.2.11;2001:db8::10;</Data>"
	    "<Data Name='Image'>C:\\Program Files\\Mozilla Firefox\\firefox.exe</Data>"
	    "<Data Name='User'>CORP\\alice</Data>" SYSMON_TAIL;
	json_t *j = format_json(FORMAT_ECS, xml, NULL);
	json_t *want = json_loads("{"
	    "\"answers\":[{\"data\":\"edge.example.net\",\"type\":\"CNAME\"},"
	    "{\"data\":\"192.0.2.10\",\"type\":\"A\"},{\"data\":\"192.0.2.11\",\"type\":\"A\"},"
	    "{\"data\":\"2001:db8::10\",\"type\":\"AAAA\"}],"
	    "\"question\":{\"name\":\"cdn.assets.example.co.uk\","
	    "\"registered_domain\":\"example.co.uk\",\"subdomain\":\"cdn.assets\","
	    "\"top_level_domain\":\"co.uk\"},"
	    "\"resolved_ip\":[\"192.0.2.10\",\"192.0.2.11\",\"2001:db8::10\"]}", 0, NULL);
	json_t *rel = json_loads("{\"hosts\":[\"edge.example.net\",\"cdn.assets.example.co.uk\"],"
	    "\"ip\":[\"192.0.2.10\",\"192.0.2.11\",\"2001:db8::10\"],\"user\":[\"alice\"]}", 0, NULL);

	ck_assert(json_equal(json_object_get(j, "dns"), want));
	ck_assert(json_equal(json_object_get(j, "related"), rel));
	ck_assert_str_eq(jpath(j, "@timestamp"), "2024-03-05T10:15:30.987Z");
	ck_assert_str_eq(jpath(j, "event.action"), "DNSEvent (DNS query)");
	ck_assert_str_eq(jpath(j, "event.code"), "22");
	ck_assert_str_eq(jpath(j, "sysmon.dns.status"), "SUCCESS");
	ck_assert_str_eq(jpath(j, "network.protocol"), "dns");
	ck_assert_str_eq(jpath(j, "process.entity_id"), "{8f3b1c2a-5e6d-65e6-4a01-000000001a00}");
	ck_assert_str_eq(jpath(j, "process.name"), "firefox.exe");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "process"),
	    "pid")), 6120);
	ck_assert_str_eq(jpath(j, "user.domain"), "CORP");
	ck_assert_str_eq(jpath(j, "user.name"), "alice");
	ck_assert_str_eq(jpath(j, "user.id"), "S-1-5-18");
	ck_assert_str_eq(jpath(j, "host.os.type"), "windows");
	ck_assert_str_eq(jpath(j, "winlog.record_id"), "7");
	ck_assert_str_eq(jpath(j, "winlog.opcode"), "Info");
	ck_assert_str_eq(jpath(j, "log.level"), "information");
	/* Every field was consumed or "-": no event_data, no rule. */
	ck_assert_ptr_null(json_object_get(json_object_get(j, "winlog"), "event_data"));
	ck_assert_ptr_null(json_object_get(j, "rule"));
	json_decref(want);
	json_decref(rel);
	json_decref(j);
}
END_TEST

/* NXDOMAIN: a status name, no answers; unknown codes stay numeric. */
START_TEST(test_ecs_dns_status)
{
#define NX_XML SYSMON_HEAD("22") \
	"<Data Name='UtcTime'>2024-03-05 10:15:30.987</Data>" \
	"<Data Name='QueryName'>wpad</Data><Data Name='QueryStatus'>%s</Data>" \
	"<Data Name='QueryResults'>-</Data>" SYSMON_TAIL
	char buf[2048];

	snprintf(buf, sizeof(buf), NX_XML, "9003");
	json_t *j = format_json(FORMAT_ECS, buf, NULL);
	ck_assert_str_eq(jpath(j, "sysmon.dns.status"), "DNS_ERROR_RCODE_NAME_ERROR");
	ck_assert_ptr_null(json_object_get(json_object_get(j, "dns"), "answers"));
	ck_assert_ptr_null(jpath(j, "dns.question.registered_domain"));
	ck_assert_str_eq(jpath(j, "dns.question.name"), "wpad");
	json_decref(j);
	snprintf(buf, sizeof(buf), NX_XML, "87");
	j = format_json(FORMAT_ECS, buf, NULL);
	ck_assert_str_eq(jpath(j, "sysmon.dns.status"), "87");
	json_decref(j);
	snprintf(buf, sizeof(buf), NX_XML, "9501");
	j = format_json(FORMAT_ECS, buf, NULL);
	ck_assert_str_eq(jpath(j, "sysmon.dns.status"), "DNS_INFO_NO_RECORDS");
	json_decref(j);
}
END_TEST

/* Community ID v1 test vector from the spec's README. */
START_TEST(test_ecs_community_id)
{
	const char *xml = SYSMON_HEAD("3")
	    "<Data Name='Protocol'>tcp</Data><Data Name='Initiated'>false</Data>"
	    "<Data Name='SourceIsIpv6'>false</Data><Data Name='SourceIp'>66.35.250.204</Data>"
	    "<Data Name='SourcePort'>80</Data><Data Name='DestinationIp'>128.232.110.120</Data>"
	    "<Data Name='DestinationPort'>34855</Data><Data Name='DestinationPortName'>http</Data>"
	    SYSMON_TAIL;
	json_t *j = format_json(FORMAT_ECS, xml, NULL);

	ck_assert_str_eq(jpath(j, "network.community_id"), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	ck_assert_str_eq(jpath(j, "network.direction"), "ingress");
	ck_assert_str_eq(jpath(j, "network.type"), "ipv4");
	ck_assert_str_eq(jpath(j, "network.protocol"), "http");
	/* Source and destination are never swapped. */
	ck_assert_str_eq(jpath(j, "source.ip"), "66.35.250.204");
	json_decref(j);
}
END_TEST

/* process.args: the pipeline's Windows command-line split. */
START_TEST(test_ecs_args)
{
	static const struct {
		const char *cmd;
		const char *args;	/* JSON array */
	} cases[] = {
		{ "\"C:\\Program Files\\a.exe\" -x  \"y z\"", "[\"C:\\\\Program Files\\\\a.exe\",\"-x\",\"y z\"]" },
		{ "a\\\\\\\"b c", "[\"a\\\\\\\"b\",\"c\"]" },	/* a\\\"b: 3 backslashes + quote */
		{ "a\\\\\"b c\"", "[\"a\\\\b c\"]" },		/* a\\"b c": 2n -> n, toggle */
		/* a doubled quote inside quotes is a literal one and ends the quoting
		 * ("prior to 2008" rule), so the last quote opens it again */
		{ "\"a\"\"b\" c", "[\"a\\\"b c\"]" },
		{ "C:\\dir\\x.exe\t/q", "[\"C:\\\\dir\\\\x.exe\",\"/q\"]" },
	};
	char xml[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		/* Quotes need no escaping in element text. */
		snprintf(xml, sizeof(xml), "%s<Data Name='CommandLine'>%s</Data>%s",
		    SYSMON_HEAD("1"), cases[i].cmd, SYSMON_TAIL);
		json_t *j = format_json(FORMAT_ECS, xml, NULL);
		json_t *want = json_loads(cases[i].args, 0, NULL);
		json_t *p = json_object_get(j, "process");
		ck_assert_ptr_nonnull(want);
		if (!json_equal(json_object_get(p, "args"), want))
			ck_abort_msg("case %zu: got %s", i, json_dumps(json_object_get(p, "args"), 0));
		ck_assert_int_eq(json_integer_value(json_object_get(p, "args_count")),
		    (json_int_t)json_array_size(want));
		json_decref(want);
		json_decref(j);
	}
}
END_TEST

/* The generic part: registry and file events, hashes, unknown fields kept. */
START_TEST(test_ecs_generic)
{
	const char *reg = SYSMON_HEAD("13")
	    "<Data Name='EventType'>SetValue</Data>"
	    "<Data Name='TargetObject'>HKLM\\System\\CurrentControlSet\\Services\\x\\Start</Data>"
	    "<Data Name='Details'>DWORD (0x00000004)</Data>"
	    "<Data Name='ProcessGuid'>{00000000-0000-0000-0000-000000000000}</Data>"
	    SYSMON_TAIL;
	json_t *j = format_json(FORMAT_ECS, reg, NULL);

	ck_assert_str_eq(jpath(j, "registry.hive"), "HKLM");
	ck_assert_str_eq(jpath(j, "registry.key"), "System\\CurrentControlSet\\Services\\x\\Start");
	ck_assert_str_eq(jpath(j, "registry.value"), "Start");
	ck_assert_str_eq(jpath(j, "registry.data.type"), "SZ_DWORD");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_object_get(
	    json_object_get(j, "registry"), "data"), "strings"), 0)), "4");
	ck_assert_str_eq(jpath(j, "winlog.event_data.EventType"), "SetValue");
	/* The all-zero GUID is an empty value: dropped, not mapped. */
	ck_assert_ptr_null(json_object_get(j, "process"));
	ck_assert_str_eq(jpath(j, "event.action"), "RegistryEvent (Value Set)");
	json_decref(j);

	const char *file = SYSMON_HEAD("7")
	    "<Data Name='Image'>C:\\w\\a.exe</Data>"
	    "<Data Name='ImageLoaded'>C:\\Windows\\System32\\b.dll</Data>"
	    "<Data Name='Hashes'>SHA1=AB12,MD5=00000000,IMPHASH=CD34</Data>"
	    "<Data Name='Company'>Acme</Data><Data Name='Signed'>true</Data>"
	    "<Data Name='SignatureStatus'>Valid</Data>" SYSMON_TAIL;
	j = format_json(FORMAT_ECS, file, NULL);
	ck_assert_str_eq(jpath(j, "file.path"), "C:\\Windows\\System32\\b.dll");
	ck_assert_str_eq(jpath(j, "file.name"), "b.dll");
	ck_assert_str_eq(jpath(j, "file.directory"), "C:\\Windows\\System32");
	ck_assert_str_eq(jpath(j, "file.extension"), "dll");
	ck_assert_str_eq(jpath(j, "file.hash.sha1"), "ab12");
	ck_assert_ptr_null(jpath(j, "file.hash.md5"));	/* all zero */
	ck_assert_str_eq(jpath(j, "file.pe.imphash"), "cd34");
	ck_assert_str_eq(jpath(j, "file.pe.company"), "Acme");
	ck_assert_str_eq(jpath(j, "file.code_signature.status"), "Valid");
	ck_assert_str_eq(jpath(j, "process.name"), "a.exe");
	ck_assert_str_eq(jpath(j, "winlog.event_data.Company"), "Acme");	/* a copy */
	ck_assert_ptr_null(jpath(j, "winlog.event_data.Hashes"));
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(j, "related"),
	    "hash")), 2);
	json_decref(j);
}
END_TEST

START_TEST(test_json_duplicate_names)
{
	const char *xml = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
	    "<System><Provider Name='P'/><EventID>5</EventID><Channel>Application</Channel>"
	    "<Computer>h</Computer></System><EventData><Data>x</Data><Data>y</Data>"
	    "<Data Name='A'>1</Data><Data Name='A'>2</Data></EventData></Event>";
	json_t *j = format_json(FORMAT_JSON, xml, NULL);
	json_t *d = json_object_get(j, "event_data");

	ck_assert_str_eq(json_string_value(json_object_get(d, "Data1")), "x");
	ck_assert_str_eq(json_string_value(json_object_get(d, "Data2")), "y");
	ck_assert_str_eq(json_string_value(json_object_get(d, "A")), "1");
	ck_assert_str_eq(json_string_value(json_object_get(d, "A_2")), "2");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "event_id")), 5);
	ck_assert_ptr_null(json_object_get(j, "record_id"));	/* absent: left out */
	json_decref(j);
}
END_TEST

START_TEST(test_record)
{
	const char *alert = "{\"type\":\"first_seen\",\"host\":\"h\",\"x\":{\"type\":\"no\"}}";
	struct buf out;
	json_t *j;

	buf_init(&out, 0);
	ck_assert_int_eq(format_record(FORMAT_RAW, alert, strlen(alert), T_RECEIVED, true, &out),
	    CD_EUNSUPPORTED);
	ck_assert_int_eq(format_record(FORMAT_JSON, alert, strlen(alert), T_RECEIVED, true, &out),
	    CD_EOK);
	ck_assert_str_eq((char *)out.data, alert);
	buf_reset(&out);
	ck_assert_int_eq(format_record(FORMAT_ECS, alert, strlen(alert), T_RECEIVED, true, &out),
	    CD_EOK);
	j = json_loads((char *)out.data, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(jpath(j, "event.kind"), "alert");
	ck_assert_str_eq(jpath(j, "event.dataset"), "collectord.first_seen");
	ck_assert_str_eq(jpath(j, "@timestamp"), "2023-11-14T22:13:20.123Z");
	ck_assert_str_eq(jpath(j, "collectord.host"), "h");
	json_decref(j);
	buf_reset(&out);
	const char *sum = "{\"host\":\"h\",\"type\":\"dns_summary\",\"count\":3}";
	ck_assert_int_eq(format_record(FORMAT_ECS, sum, strlen(sum), T_RECEIVED, false, &out),
	    CD_EOK);
	j = json_loads((char *)out.data, 0, NULL);
	ck_assert_str_eq(jpath(j, "event.kind"), "metric");
	ck_assert_str_eq(jpath(j, "event.dataset"), "collectord.dns_summary");
	json_decref(j);
	buf_reset(&out);
	ck_assert_int_eq(format_record(FORMAT_ECS, "[1]", 3, T_RECEIVED, true, &out), CD_EPARSE);
	ck_assert_int_eq(format_record(FORMAT_JSON, "{\"x\":{\"type\":\"a\"}}", 18, T_RECEIVED,
	    true, &out), CD_EPARSE);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
}
END_TEST

/* A capped buffer: CD_ETOOBIG and nothing half-written. */
START_TEST(test_cap)
{
	char *xml = harness_read_data("golden/sysmon-eid1.xml", NULL);
	struct spool_rec rec;
	struct event *ev = NULL;
	struct buf out;

	rec_init(&rec, xml, strlen(xml) - 1);
	ck_assert_int_eq(event_parse(rec.data, rec.data_len, &ev), CD_EOK);
	for (int f = FORMAT_JSON; f <= FORMAT_ECS; f++) {
		buf_init(&out, 200);
		ck_assert_int_eq(format_event((enum format_kind)f, &rec, ev, NULL, &out),
		    CD_ETOOBIG);
		ck_assert_uint_eq(out.len, 0);
		buf_free(&out);
	}
	event_free(ev);
	free(xml);
}
END_TEST

/*
 * The formatters write straight into the caller's buffer and cut it back
 * on failure. For real events of both Sysmon and the golden set: appended
 * after existing text, the document is the one an empty buffer gets; under
 * every cap around its length, it either fits whole or fails and leaves
 * the earlier text exactly as it was.
 */
static void
append_check(struct event *ev, void *arg)
{
	const char *prefix = "previous record\n";
	size_t plen = strlen(prefix);
	struct format_meta meta = { .received_ms = T_RECEIVED, .output = "o" };
	struct spool_rec rec;
	struct buf alone, out;

	(void)arg;
	rec_init(&rec, ev->raw, ev->raw_len);
	for (int f = FORMAT_JSON; f <= FORMAT_ECS; f++) {
		buf_init(&alone, 0);
		ck_assert_int_eq(format_event((enum format_kind)f, &rec, ev, &meta, &alone),
		    CD_EOK);
		size_t caps[] = { 0, plen + alone.len, plen + alone.len - 1,
		    plen + alone.len / 2, plen + 1 };
		for (size_t c = 0; c < sizeof(caps) / sizeof(*caps); c++) {
			buf_init(&out, caps[c]);
			ck_assert_int_eq(buf_puts(&out, prefix), CD_EOK);
			int rc = format_event((enum format_kind)f, &rec, ev, &meta, &out);
			if (c < 2) {
				ck_assert_int_eq(rc, CD_EOK);
				ck_assert_uint_eq(out.len, plen + alone.len);
				ck_assert_int_eq(memcmp(out.data + plen, alone.data, alone.len), 0);
			} else {
				ck_assert_int_eq(rc, CD_ETOOBIG);
				ck_assert_uint_eq(out.len, plen);
				ck_assert_str_eq((char *)out.data, prefix);
			}
			ck_assert_int_eq(memcmp(out.data, prefix, plen), 0);
			buf_free(&out);
		}
		buf_free(&alone);
	}
}

START_TEST(test_append_in_place)
{
	harness_each_event("sysmon/covenant_psremoting_grunt.xml", append_check, NULL);
	harness_each_event("sysmon/lsass_campaign_01.xml", append_check, NULL);
}
END_TEST

/*
 * More EventData fields than the ECS document keeps inline (64): the
 * per-field state is then allocated; every field, a repeated name once
 * (the first wins), still reaches winlog.event_data.
 */
START_TEST(test_ecs_many_fields)
{
	struct buf xml;
	char *doc;
	struct format_meta meta = { .received_ms = T_RECEIVED };

	buf_init(&xml, 0);
	buf_puts(&xml, "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
	    "<System><Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID>"
	    "<Channel>Microsoft-Windows-Sysmon/Operational</Channel>"
	    "<Computer>ws01</Computer></System><EventData>"
	    "<Data Name='Image'>C:\\x\\a.exe</Data>");
	for (int i = 0; i < 80; i++)
		buf_printf(&xml, "<Data Name='Field%d'>v%d</Data>", i % 75, i);
	buf_puts(&xml, "</EventData></Event>");
	doc = format_text(FORMAT_ECS, (char *)xml.data, &meta);
	json_t *j = json_loads(doc, 0, NULL);
	ck_assert_ptr_nonnull(j);
	json_t *ed = json_object_get(json_object_get(j, "winlog"), "event_data");
	ck_assert_uint_eq(json_object_size(ed), 75);
	ck_assert_str_eq(json_string_value(json_object_get(ed, "Field3")), "v3");
	ck_assert_str_eq(json_string_value(json_object_get(ed, "Field74")), "v74");
	ck_assert_str_eq(jpath(j, "process.executable"), "C:\\x\\a.exe");
	json_decref(j);
	free(doc);
	buf_free(&xml);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("format");
	TCase *tc = tcase_create("core");
	int n = (int)(sizeof(golden_cases) / sizeof(*golden_cases));

	tcase_add_loop_test(tc, test_golden_json, 0, n);
	tcase_add_loop_test(tc, test_golden_ecs, 0, n);
	tcase_add_test(tc, test_parse_name);
	tcase_add_loop_test(tc, test_raw_exact, 0, 2);
	tcase_add_test(tc, test_json_meta);
	tcase_add_test(tc, test_ecs_dns_example);
	tcase_add_test(tc, test_ecs_dns_status);
	tcase_add_test(tc, test_ecs_community_id);
	tcase_add_test(tc, test_ecs_args);
	tcase_add_test(tc, test_ecs_generic);
	tcase_add_test(tc, test_json_duplicate_names);
	tcase_add_test(tc, test_record);
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_append_in_place);
	tcase_add_test(tc, test_ecs_many_fields);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
