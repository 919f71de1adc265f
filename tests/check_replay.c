/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "buf.h"
#include "err.h"
#include "event.h"
#include "harness.h"
#include "replay.h"
#include "utf16.h"

/* Values of the captured conversation (tests/data/wef). */
#define CAP_TO		"http://srv.windomain.local:5985/wsman/subscriptions/" \
			"B6BDBB59-FB07-4EE5-841F-EBEC9D67CDD4/1"
#define CAP_MACHINE	"win10.windomain.local"
#define CAP_IDENT	"219C5353-5F3D-4CD7-A644-F6B69E57C1C1"
#define NS_E		"http://schemas.xmlsoap.org/ws/2004/08/eventing"
#define SYSMON		"Microsoft-Windows-Sysmon/Operational"

/* Collapse the captures' pretty-printing: whitespace runs become one space
 * and whitespace between tags disappears. */
static char *
squeeze(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	ck_assert_ptr_nonnull(out);
	while (*s != '\0') {
		if (strchr(" \t\r\n", *s) != NULL) {
			while (*s != '\0' && strchr(" \t\r\n", *s) != NULL)
				s++;
			if (o > out && o[-1] != '>' && *s != '<' && *s != '\0')
				*o++ = ' ';
			continue;
		}
		*o++ = *s++;
	}
	*o = '\0';
	return out;
}

START_TEST(test_url)
{
	struct replay_url u;

	ck_assert_int_eq(replay_url_parse("HTTP://srv.windomain.local:5985/"
	    "wsman/subscriptions/B6BD/1", &u), CD_EOK);
	ck_assert_str_eq(u.host, "srv.windomain.local");
	ck_assert_str_eq(u.port, "5985");
	ck_assert_str_eq(u.path, "/wsman/subscriptions/B6BD/1");
	ck_assert_str_eq(u.hostport, "srv.windomain.local:5985");
	replay_url_free(&u);
	ck_assert_int_eq(replay_url_parse("http://[::1]:80", &u), CD_EOK);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_str_eq(u.port, "80");
	ck_assert_str_eq(u.path, "/");
	replay_url_free(&u);
	ck_assert_int_eq(replay_url_parse("http://wec/x", &u), CD_EOK);
	ck_assert_str_eq(u.port, "5985");
	replay_url_free(&u);
	ck_assert_int_eq(replay_url_parse("https://wec/x", &u),
	    CD_EUNSUPPORTED);
	ck_assert_int_eq(replay_url_parse("wec:5985/x", &u), CD_EPARSE);
	ck_assert_int_eq(replay_url_parse("http://wec:/x", &u), CD_EPARSE);
	ck_assert_int_eq(replay_url_parse("http://wec:12a/x", &u), CD_EPARSE);
}
END_TEST

START_TEST(test_enumerate_response)
{
	struct replay_sub *subs;
	size_t n, len;
	char *xml = harness_read_data("wef/enumerate-response.xml", &len);
	struct buf b;

	ck_assert_int_eq(replay_msg_parse_enumerate_response(xml, len,
	    "uuid:E9802257-6A7D-4C0D-BFA4-E81C7B1C447E", &subs, &n), CD_EOK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(subs[0].version, "uuid:" CAP_IDENT);
	ck_assert_str_eq(subs[0].name, "Toto");
	ck_assert_str_eq(subs[0].notify_to, "HTTP://srv.windomain.local:5985/"
	    "wsman/subscriptions/B6BDBB59-FB07-4EE5-841F-EBEC9D67CDD4/1");
	ck_assert_str_eq(subs[0].end_to, subs[0].notify_to);
	ck_assert_uint_eq(subs[0].nrefs, 1);
	ck_assert_str_eq(subs[0].refs[0].ns, NS_E);
	ck_assert_str_eq(subs[0].refs[0].name, "Identifier");
	ck_assert_str_eq(subs[0].refs[0].value, CAP_IDENT);
	ck_assert_uint_eq(subs[0].nend_refs, 1);
	ck_assert_uint_eq(subs[0].nchannels, 1);
	ck_assert_str_eq(subs[0].channels[0],
	    "Microsoft-Windows-WinRM/Operational");
	ck_assert(replay_sub_wants(&subs[0],
	    "microsoft-windows-winrm/operational"));
	ck_assert(!replay_sub_wants(&subs[0], SYSMON));
	ck_assert(subs[0].cdata);
	ck_assert_uint_eq(subs[0].max_elements, 0);
	ck_assert_uint_eq(subs[0].max_envelope, 512000);
	ck_assert_uint_eq(subs[0].max_time_ms, 30000);
	ck_assert_uint_eq(subs[0].heartbeat_ms, 3600000);
	ck_assert(subs[0].has_bookmark);
	buf_init(&b, 0);
	ck_assert_int_eq(replay_bookmark_summary(&subs[0].bookmark, &b), CD_EOK);
	ck_assert_str_eq((char *)b.data,
	    "Microsoft-Windows-WinRM/Operational=149140*");
	buf_free(&b);
	replay_subs_free(subs, n);

	/* An EnumerateResponse for another request is refused. */
	ck_assert_int_eq(replay_msg_parse_enumerate_response(xml, len,
	    "uuid:00000000-6A7D-4C0D-BFA4-E81C7B1C447E", &subs, &n), CD_EPARSE);
	ck_assert_ptr_null(subs);
	ck_assert_int_eq(replay_msg_parse_enumerate_response("<x/>", 4, NULL,
	    &subs, &n), CD_EPARSE);
	free(xml);
}
END_TEST

START_TEST(test_ack)
{
	size_t len;
	char *ack = harness_read_data("wef/ack-events.xml", &len);
	char *hb = NULL;

	ck_assert_int_eq(replay_msg_check_ack(ack, len,
	    "uuid:31652DEB-C9E8-45D6-B3E8-90AC64D48422"), CD_EOK);
	/* RelatesTo must match byte for byte, case included. */
	ck_assert_int_eq(replay_msg_check_ack(ack, len,
	    "uuid:31652deb-c9e8-45d6-b3e8-90ac64d48422"), CD_EPARSE);
	free(ack);
	hb = harness_read_data("wef/heartbeat.utf8.xml", &len);
	ck_assert_int_eq(replay_msg_check_ack(hb, len,
	    "uuid:EEC04F74-A27D-4C3A-AEF5-BC5BF54359BA"), CD_EPARSE);
	free(hb);
	ck_assert_int_eq(replay_msg_check_ack("not xml", 7, "x"), CD_EPARSE);
}
END_TEST

/* The builders reproduce the captured Windows messages byte for byte. */
START_TEST(test_build_like_windows)
{
	struct replay_ref ident = { NS_E, "Identifier", CAP_IDENT };
	struct replay_hdr h = {
		.to = "http://srv.windomain.local:5985/wsman/SubscriptionManager/WEC",
		.machine_id = CAP_MACHINE,
		.message_id = "uuid:E9802257-6A7D-4C0D-BFA4-E81C7B1C447E",
		.session_id = "uuid:D25DD033-C406-44AB-8443-85E1BC794F10",
		.operation_id = "uuid:03A3D1BB-9B16-4847-9F04-C9A8ED38E1E4",
	};
	struct buf b, w;
	size_t len;
	char *want, *sq;

	buf_init(&b, 0);
	buf_init(&w, 0);
	ck_assert_int_eq(replay_msg_enumerate(&b, &h), CD_EOK);
	want = harness_read_data("wef/enumerate.utf8.xml", &len);
	ck_assert_str_eq((char *)b.data, want);
	free(want);
	/* On the wire: UTF-16LE with BOM, exactly the decrypted capture. */
	ck_assert_int_eq(utf8_to_utf16le_bom((char *)b.data, b.len, &w), CD_EOK);
	want = harness_read_data("wef/enumerate.utf16le.bin", &len);
	ck_assert_uint_eq(w.len, len);
	ck_assert(memcmp(w.data, want, len) == 0);
	free(want);

	buf_reset(&b);
	h.message_id = "uuid:5A622A71-B73A-426E-B1CB-048A6079EB23";
	ck_assert_int_eq(replay_msg_end(&b, &h), CD_EOK);
	want = harness_read_data("wef/end.xml", &len);
	sq = squeeze(want);
	ck_assert_str_eq((char *)b.data, sq);
	free(sq);
	free(want);

	buf_reset(&b);
	h.to = CAP_TO;
	h.message_id = "uuid:EEC04F74-A27D-4C3A-AEF5-BC5BF54359BA";
	h.session_id = "uuid:981C530F-BE2A-4AAB-BACB-6FB4CD1A14AB";
	h.operation_id = "uuid:EA2EE566-2CC1-49A0-A726-BCE7DC356E22";
	h.refs = &ident;
	h.nrefs = 1;
	ck_assert_int_eq(replay_msg_heartbeat(&b, &h), CD_EOK);
	want = harness_read_data("wef/heartbeat.utf8.xml", &len);
	ck_assert_str_eq((char *)b.data, want);
	free(want);
	buf_free(&b);
	buf_free(&w);
}
END_TEST

START_TEST(test_bookmark)
{
	struct replay_bookmark bm = { 0 }, cp;
	struct buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(replay_bookmark_summary(&bm, &b), CD_EOK);
	ck_assert_str_eq((char *)b.data, "none");
	ck_assert_int_eq(replay_bookmark_set(&bm, SYSMON, 5), CD_EOK);
	ck_assert_int_eq(replay_bookmark_set(&bm, "System", 7), CD_EOK);
	ck_assert_int_eq(replay_bookmark_set(&bm, SYSMON, 9), CD_EOK);
	buf_reset(&b);
	ck_assert_int_eq(replay_bookmark_render(&bm, &b), CD_EOK);
	ck_assert_str_eq((char *)b.data, "<BookmarkList><Bookmark Channel=\""
	    SYSMON "\" RecordId=\"9\" IsCurrent=\"true\"/><Bookmark "
	    "Channel=\"System\" RecordId=\"7\"/></BookmarkList>");
	ck_assert_uint_eq(replay_bookmark_find(&bm, "system")->record_id, 7);
	ck_assert_ptr_null(replay_bookmark_find(&bm, "Security"));
	ck_assert_int_eq(replay_bookmark_copy(&cp, &bm), CD_EOK);
	ck_assert_int_eq(replay_bookmark_set(&bm, "System", 8), CD_EOK);
	buf_reset(&b);
	ck_assert_int_eq(replay_bookmark_summary(&cp, &b), CD_EOK);
	ck_assert_str_eq((char *)b.data, SYSMON "=9*,System=7");
	buf_reset(&b);
	ck_assert_int_eq(replay_bookmark_summary(&bm, &b), CD_EOK);
	ck_assert_str_eq((char *)b.data, SYSMON "=9,System=8*");
	replay_bookmark_free(&bm);
	replay_bookmark_free(&cp);
	buf_free(&b);
}
END_TEST

/* Real Sysmon events: one host per Computer, record order per host. */
START_TEST(test_set_by_computer)
{
	char *paths[2];
	char p0[4096], p1[4096];
	struct replay_set *set;
	struct replay_stream *s;
	size_t n;

	snprintf(p0, sizeof(p0), "%s",
	    harness_data_path("sysmon/covenant_dcom_iertutil_dll_hijack.xml"));
	snprintf(p1, sizeof(p1), "%s",
	    harness_data_path("sysmon/purplesharp_ad_playbook_i.xml"));
	paths[0] = p0;
	paths[1] = p1;
	ck_assert_int_eq(replay_set_load(paths, 2, &set), CD_EOK);
	ck_assert_uint_eq(set->n, 312 + 163);
	ck_assert_str_eq(set->ev[0].channel, SYSMON);
	ck_assert_int_eq(replay_set_by_computer(set, &s, &n), CD_EOK);
	/* mordordc, workstation5, 6 (both files) and workstation7. */
	ck_assert_uint_eq(n, 4);
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		total += s[i].n;
		for (size_t k = 1; k < s[i].n; k++) {
			ck_assert_str_eq(s[i].ev[k]->computer,
			    s[i].ev[0]->computer);
			ck_assert(s[i].ev[k - 1]->record_id <
			    s[i].ev[k]->record_id);
		}
	}
	ck_assert_uint_eq(total, set->n);
	/* seq ids count each channel's events in file order. */
	ck_assert_uint_eq(set->ev[0].seq_id, 1);
	ck_assert_uint_eq(set->ev[set->n - 1].seq_id, set->n);
	replay_streams_free(s, n);
	replay_set_free(set);
}
END_TEST

/* An Events batch parses back (libxml2 + the project's event parser) into
 * the same events, rewritten for a synthesised host. */
START_TEST(test_events_rewrite)
{
	char p0[4096], *paths[1] = { p0 };
	struct replay_set *set;
	const struct replay_event *ev[3];
	struct replay_ref ident = { NS_E, "Identifier", CAP_IDENT };
	struct replay_hdr h = { .to = CAP_TO, .machine_id = "win7.example.com",
	    .message_id = "uuid:31652DEB-C9E8-45D6-B3E8-90AC64D48422",
	    .session_id = "uuid:981C530F-BE2A-4AAB-BACB-6FB4CD1A14AB",
	    .operation_id = "uuid:C7F39CB2-8FFD-4DA3-A111-CDB303EEA098",
	    .refs = &ident, .nrefs = 1 };
	struct buf b;
	xmlDoc *doc;
	xmlNode *n;
	int count = 0;

	snprintf(p0, sizeof(p0), "%s",
	    harness_data_path("sysmon/covenant_psremoting_grunt.xml"));
	ck_assert_int_eq(replay_set_load(paths, 1, &set), CD_EOK);
	ck_assert_uint_eq(set->n, 313);
	for (int i = 0; i < 3; i++)
		ev[i] = &set->ev[10 + i];
	buf_init(&b, 0);
	ck_assert_int_eq(replay_msg_events(&b, &h, "<BookmarkList/>", ev, 3,
	    "win7.example.com"), CD_EOK);
	ck_assert_ptr_nonnull(strstr((char *)b.data, "<e:Identifier xmlns:e=\""
	    NS_E "\">" CAP_IDENT "</e:Identifier><w:Bookmark><BookmarkList/>"
	    "</w:Bookmark><w:AckRequested/></s:Header>"));
	doc = xmlReadMemory((char *)b.data, (int)b.len, NULL, "UTF-8",
	    XML_PARSE_NONET);
	ck_assert_ptr_nonnull(doc);
	n = xmlDocGetRootElement(doc)->children;	/* Header */
	n = n->next->children->children;		/* first w:Event */
	for (; n != NULL; n = n->next, count++) {
		xmlChar *t = xmlNodeGetContent(n);
		struct event *e;

		ck_assert_int_eq(event_parse((char *)t, strlen((char *)t), &e),
		    CD_EOK);
		ck_assert(!e->malformed);
		ck_assert_str_eq(e->computer, "win7.example.com");
		ck_assert(e->has_record_id);
		ck_assert_uint_eq(e->record_id, 11 + count);
		ck_assert_str_eq(e->channel, SYSMON);
		event_free(e);
		xmlFree(t);
	}
	ck_assert_int_eq(count, 3);
	xmlFreeDoc(doc);

	/* Without rewriting the events go out exactly as read. */
	buf_reset(&b);
	ck_assert_int_eq(replay_msg_events(&b, &h, NULL, ev, 1, NULL), CD_EOK);
	ck_assert_ptr_null(strstr((char *)b.data, "w:Bookmark"));
	ck_assert_ptr_nonnull(memmem(b.data, b.len, ev[0]->xml, ev[0]->len));
	buf_free(&b);
	replay_set_free(set);
}
END_TEST

START_TEST(test_set_bad_line)
{
	char *dir = harness_mkdtemp(), path[4096], *paths[1] = { path };
	struct replay_set *set = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/bad.xml", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("<Event><System><Channel>c</Channel></System></Event>\n", f);
	fclose(f);
	ck_assert_int_eq(replay_set_load(paths, 1, &set), CD_EPARSE);
	ck_assert_ptr_null(set);
	snprintf(path, sizeof(path), "%s/missing.xml", dir);
	ck_assert_int_eq(replay_set_load(paths, 1, &set), -ENOENT);
	harness_rmdir_rf(dir);
	free(dir);
}
END_TEST

/* A scripted server for the HTTP client: answers each request with the
 * next canned response, closing the connection where the script says. */
struct script {
	int	 lfd;
	char	 heads[4][4096];
	int	 nreq;
};

static const char *const responses[] = {
	"HTTP/1.1 200 \r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 204 \r\nServer: Microsoft-HTTPAPI/2.0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Type: application/soap+xml;charset=UTF-16\r\n\r\n"
	    "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
	/* after this one the server closes the idle connection */
	"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
	    "Content-Length: 0\r\n\r\n",
};

static void *
script_main(void *arg)
{
	struct script *s = arg;
	int fd = -1;

	for (int i = 0; i < 4; i++) {
		char buf[4096];
		size_t got = 0;
		char *eoh;
		long clen;

		if (fd < 0)
			fd = accept(s->lfd, NULL, NULL);
		for (;;) {
			ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
			if (n <= 0)
				return NULL;
			got += (size_t)n;
			buf[got] = '\0';
			if ((eoh = strstr(buf, "\r\n\r\n")) != NULL)
				break;
		}
		clen = strtol(strstr(buf, "Content-Length: ") + 16, NULL, 10);
		while (got < (size_t)(eoh + 4 - buf) + (size_t)clen) {
			ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
			if (n <= 0)
				return NULL;
			got += (size_t)n;
		}
		*eoh = '\0';
		snprintf(s->heads[i], sizeof(s->heads[i]), "%s", buf);
		s->nreq++;
		send(fd, responses[i], strlen(responses[i]), MSG_NOSIGNAL);
		if (i == 2) {
			/* a server closing an idle keep-alive connection */
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

START_TEST(test_http)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct script s = { 0 };
	struct replay_http *c;
	struct replay_resp r;
	pthread_t t;
	char port[16];

	s.lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(s.lfd, 4), 0);
	getsockname(s.lfd, (struct sockaddr *)&sa, &sl);
	snprintf(port, sizeof(port), "%u", ntohs(sa.sin_port));
	pthread_create(&t, NULL, script_main, &s);

	buf_init(&r.body, 0);
	ck_assert_int_eq(replay_http_new(&c, "127.0.0.1", port, "wec:5985",
	    5000), CD_EOK);
	ck_assert_int_eq(replay_http_post(c, "/wsman/a", "\xff\xfe<\0", 4, &r),
	    CD_EOK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body.len, 5);
	ck_assert(memcmp(r.body.data, "hello", 5) == 0);
	ck_assert_int_eq(replay_http_post(c, "/wsman/a", "x", 1, &r), CD_EOK);
	ck_assert_int_eq(r.status, 204);
	ck_assert_uint_eq(r.body.len, 0);
	ck_assert_int_eq(replay_http_post(c, "/wsman/b", "y", 1, &r), CD_EOK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq((char *)r.body.data, "abcde");
	ck_assert_str_eq(r.ctype, "application/soap+xml;charset=UTF-16");
	/* The server closed the kept-alive connection: reopened once. */
	ck_assert_int_eq(replay_http_post(c, "/wsman/b", "z", 1, &r), CD_EOK);
	ck_assert_int_eq(r.status, 503);
	pthread_join(t, NULL);
	ck_assert_int_eq(s.nreq, 4);
	ck_assert_str_eq(s.heads[0], "POST /wsman/a HTTP/1.1\r\n"
	    "Connection: Keep-Alive\r\n"
	    "Content-Type: application/soap+xml;charset=UTF-16\r\n"
	    "User-Agent: Microsoft WinRM Client\r\n"
	    "Content-Length: 4\r\nHost: wec:5985");
	/* Nobody listens any more: a transport error, not a status. */
	close(s.lfd);
	ck_assert_int_lt(replay_http_post(c, "/wsman/b", "z", 1, &r), 0);
	replay_http_free(c);
	buf_free(&r.body);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("core");

	xmlInitParser();
	tcase_add_test(tc, test_url);
	tcase_add_test(tc, test_enumerate_response);
	tcase_add_test(tc, test_ack);
	tcase_add_test(tc, test_build_like_windows);
	tcase_add_test(tc, test_bookmark);
	tcase_add_test(tc, test_set_by_computer);
	tcase_add_test(tc, test_events_rewrite);
	tcase_add_test(tc, test_set_bad_line);
	tcase_add_test(tc, test_http);
	suite_add_tcase(s, tc);
	int rc = harness_run(s);
	xmlCleanupParser();
	return rc;
}
