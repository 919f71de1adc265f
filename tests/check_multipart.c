/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "harness.h"
#include "multipart.h"

/*
 * The first 16 bytes of the wrap token header published for capture frame
 * 3736 (tests/data/wef/headers.txt); the rest of the 60 bytes is filler here.
 */
static void
fake_header(uint8_t hdr[60])
{
	static const uint8_t start[16] = {
		0x05, 0x04, 0x06, 0xff, 0x00, 0x00, 0x00, 0x1c,
		0x00, 0x00, 0x00, 0x00, 0x0f, 0xec, 0xe2, 0xa8,
	};

	memset(hdr, 0xa5, 60);
	memcpy(hdr, start, sizeof(start));
}

/* Build a body exactly as headers.txt describes Windows' framing. */
static void
windows_body(struct buf *b, const char *tab, const char *proto,
    const uint8_t *data, size_t n, size_t declared)
{
	uint8_t hdr[60], le[4] = { 60, 0, 0, 0 };

	fake_header(hdr);
	buf_init(b, 0);
	buf_printf(b, "--Encrypted Boundary\r\n"
	    "%sContent-Type: %s\r\n"
	    "%sOriginalContent: type=application/soap+xml;charset=UTF-16;Length=%zu\r\n"
	    "--Encrypted Boundary\r\n"
	    "%sContent-Type: application/octet-stream\r\n", tab, proto, tab,
	    declared, tab);
	buf_append(b, le, 4);
	buf_append(b, hdr, 60);
	buf_append(b, data, n);
	buf_puts(b, "--Encrypted Boundary--\r\n");
}

START_TEST(test_content_type)
{
	enum multipart_protocol p;

	ck_assert_int_eq(multipart_content_type_parse("multipart/encrypted;"
	    "protocol=\"application/HTTP-Kerberos-session-encrypted\";"
	    "boundary=\"Encrypted Boundary\"", &p), CD_EOK);
	ck_assert_int_eq(p, MULTIPART_KERBEROS);
	ck_assert_int_eq(multipart_content_type_parse("Multipart/Encrypted; "
	    "boundary=\"Encrypted Boundary\"; "
	    "protocol=\"application/HTTP-SPNEGO-session-encrypted\"", &p), CD_EOK);
	ck_assert_int_eq(p, MULTIPART_SPNEGO);
	ck_assert_int_eq(multipart_content_type_parse(
	    "application/soap+xml;charset=UTF-16", &p), CD_EUNSUPPORTED);
	ck_assert_int_eq(multipart_content_type_parse("multipart/encrypted;"
	    "protocol=\"application/HTTP-CredSSP-session-encrypted\";"
	    "boundary=\"Encrypted Boundary\"", &p), CD_EUNSUPPORTED);
	ck_assert_int_eq(multipart_content_type_parse("multipart/encrypted;"
	    "protocol=\"application/HTTP-SPNEGO-session-encrypted\";"
	    "boundary=\"other\"", &p), CD_EPARSE);
	ck_assert_int_eq(multipart_content_type_parse("multipart/encrypted;"
	    "boundary=\"Encrypted Boundary\"", &p), CD_EPARSE);
	/* The reply Content-Type round-trips and has pywinrm's quoting. */
	ck_assert_str_eq(multipart_content_type(MULTIPART_SPNEGO),
	    "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";"
	    "boundary=\"Encrypted Boundary\"");
	ck_assert_int_eq(multipart_content_type_parse(
	    multipart_content_type(MULTIPART_KERBEROS), &p), CD_EOK);
	ck_assert_int_eq(p, MULTIPART_KERBEROS);
}
END_TEST

START_TEST(test_decode_windows_no_tab)
{
	size_t n;
	uint8_t *enumerate = (uint8_t *)harness_read_data("wef/enumerate.utf16le.bin", &n);
	struct multipart_msg m;
	struct buf b;

	ck_assert_uint_eq(n, 3240);
	windows_body(&b, "", "application/HTTP-Kerberos-session-encrypted",
	    enumerate, n, n);
	/* headers.txt, frame 3736: Length=3240, Content-Length=3542. */
	ck_assert_uint_eq(b.len, 3542);
	ck_assert_int_eq(multipart_decode(MULTIPART_KERBEROS, b.data, b.len, &m),
	    CD_EOK);
	ck_assert(!m.form.tab);
	ck_assert_int_eq(m.form.protocol, MULTIPART_KERBEROS);
	ck_assert_str_eq(m.type, "application/soap+xml");
	ck_assert_str_eq(m.charset, "UTF-16");
	ck_assert_uint_eq(m.length, 3240);
	ck_assert_uint_eq(m.header_len, 60);
	ck_assert_int_eq(m.header[0], 0x05);
	ck_assert_int_eq(m.header[7], 0x1c);
	ck_assert_uint_eq(m.data_len, 3240);
	ck_assert_mem_eq(m.data, enumerate, 3240);
	/* The protocol must match the HTTP Content-Type's. */
	ck_assert_int_eq(multipart_decode(MULTIPART_SPNEGO, b.data, b.len, &m),
	    CD_EPARSE);
	/* The final CRLF is optional. */
	ck_assert_int_eq(multipart_decode(MULTIPART_KERBEROS, b.data, b.len - 2,
	    &m), CD_EOK);
	buf_free(&b);
	free(enumerate);
}
END_TEST

START_TEST(test_decode_pywinrm_tab)
{
	static const uint8_t data[] = "0123456789abcdef";
	struct multipart_msg m;
	struct buf b;

	windows_body(&b, "\t", "application/HTTP-SPNEGO-session-encrypted",
	    data, 16, 16);
	ck_assert_int_eq(multipart_decode(MULTIPART_SPNEGO, b.data, b.len, &m),
	    CD_EOK);
	ck_assert(m.form.tab);
	ck_assert_int_eq(m.form.protocol, MULTIPART_SPNEGO);
	ck_assert_uint_eq(m.length, 16);
	ck_assert_mem_eq(m.data, data, 16);
	buf_free(&b);
}
END_TEST

START_TEST(test_decode_wrong_length)
{
	size_t n;
	uint8_t *enumerate = (uint8_t *)harness_read_data("wef/enumerate.utf16le.bin", &n);
	struct multipart_msg m;
	struct buf b;

	/* Declared longer and shorter than what is there: both refused. */
	windows_body(&b, "", "application/HTTP-Kerberos-session-encrypted",
	    enumerate, n, n + 1);
	ck_assert_int_eq(multipart_decode(MULTIPART_KERBEROS, b.data, b.len, &m),
	    CD_EPARSE);
	buf_free(&b);
	windows_body(&b, "", "application/HTTP-Kerberos-session-encrypted",
	    enumerate, n, n - 1);
	ck_assert_int_eq(multipart_decode(MULTIPART_KERBEROS, b.data, b.len, &m),
	    CD_EPARSE);
	buf_free(&b);
	free(enumerate);
}
END_TEST

START_TEST(test_decode_truncated)
{
	static const uint8_t data[100] = { 1, 2, 3 };
	struct multipart_msg m;
	struct buf b;

	windows_body(&b, "", "application/HTTP-Kerberos-session-encrypted",
	    data, sizeof(data), sizeof(data));
	ck_assert_int_eq(multipart_decode(MULTIPART_KERBEROS, b.data, b.len, &m),
	    CD_EOK);
	/* Every proper prefix that cuts into the closing boundary or earlier. */
	for (size_t cut = 0; cut < b.len - 2; cut++)
		ck_assert_msg(multipart_decode(MULTIPART_KERBEROS, b.data, cut,
		    &m) != CD_EOK, "prefix of %zu bytes accepted", cut);
	/* Trailing garbage after the closing boundary. */
	buf_puts(&b, "x");
	ck_assert_int_eq(multipart_decode(MULTIPART_KERBEROS, b.data, b.len, &m),
	    CD_EPARSE);
	buf_free(&b);
}
END_TEST

START_TEST(test_decode_bad_header_len)
{
	static const uint8_t data[8] = { 0 };
	struct multipart_msg m;
	struct buf b;
	uint8_t *le;

	windows_body(&b, "", "application/HTTP-Kerberos-session-encrypted",
	    data, sizeof(data), sizeof(data));
	le = b.data + b.len - 24 - 8 - 60 - 4;
	ck_assert_int_eq(le[0], 60);
	le[3] = 0x80;
	ck_assert_int_eq(multipart_decode(MULTIPART_KERBEROS, b.data, b.len, &m),
	    CD_ETOOBIG);
	le[3] = 0;
	le[0] = 61;
	ck_assert_int_eq(multipart_decode(MULTIPART_KERBEROS, b.data, b.len, &m),
	    CD_EPARSE);
	buf_free(&b);
}
END_TEST

START_TEST(test_encode_round_trip)
{
	static const uint8_t hdr[60] = { 0x05, 0x04, 0x07 };
	size_t n;
	uint8_t *enumerate = (uint8_t *)harness_read_data("wef/enumerate.utf16le.bin", &n);
	struct multipart_form forms[] = {
		{ MULTIPART_KERBEROS, false }, { MULTIPART_SPNEGO, true },
	};

	for (size_t i = 0; i < 2; i++) {
		struct multipart_msg m;
		struct buf b, ref;

		buf_init(&b, 0);
		ck_assert_int_eq(multipart_encode(&forms[i], "application/soap+xml",
		    "UTF-16", n, hdr, sizeof(hdr), enumerate, n, &b), CD_EOK);
		if (!forms[i].tab) {
			/* Byte-identical to Windows' own framing. */
			windows_body(&ref, "",
			    "application/HTTP-Kerberos-session-encrypted",
			    enumerate, n, n);
			ck_assert_uint_eq(b.len, ref.len);
			ck_assert_mem_eq(b.data, ref.data, 200);
			buf_free(&ref);
		} else {
			ck_assert(memmem(b.data, b.len,
			    "\tContent-Type: application/octet-stream\r\n", 41) != NULL);
		}
		ck_assert_int_eq(multipart_decode(forms[i].protocol, b.data, b.len,
		    &m), CD_EOK);
		ck_assert_int_eq(m.form.tab, forms[i].tab);
		ck_assert_int_eq(m.form.protocol, forms[i].protocol);
		ck_assert_uint_eq(m.header_len, 60);
		ck_assert_mem_eq(m.header, hdr, 60);
		ck_assert_uint_eq(m.data_len, n);
		ck_assert_mem_eq(m.data, enumerate, n);
		ck_assert_str_eq(m.charset, "UTF-16");
		/* pywinrm requires a CRLF after the closing boundary. */
		ck_assert_mem_eq(b.data + b.len - 24, "--Encrypted Boundary--\r\n", 24);
		buf_free(&b);
	}
	free(enumerate);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("multipart");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_content_type);
	tcase_add_test(tc, test_decode_windows_no_tab);
	tcase_add_test(tc, test_decode_pywinrm_tab);
	tcase_add_test(tc, test_decode_wrong_length);
	tcase_add_test(tc, test_decode_truncated);
	tcase_add_test(tc, test_decode_bad_header_len);
	tcase_add_test(tc, test_encode_round_trip);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
