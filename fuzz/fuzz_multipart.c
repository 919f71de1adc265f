/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The multipart/encrypted framing of Kerberos-encrypted WinRM bodies. The
 * first line of the input is the HTTP Content-Type, the rest the body.
 * Checked: decoded pointers stay inside the body, and encoding the decoded
 * message in the same form decodes back to the same message.
 */
#include "config.h"

#include "buf.h"
#include "err.h"
#include "fuzz.h"
#include "multipart.h"

static void
fuzz_multipart_inside(const uint8_t *body, size_t len, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (p < body || p + n > body + len)
		fuzz_fail("multipart_decode pointer outside the body");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	enum multipart_protocol proto = MULTIPART_KERBEROS;
	struct multipart_msg msg, back;
	struct buf enc;
	char *ctype;
	size_t clen;

	clen = nl != NULL ? (size_t)(nl - data) : 0;
	ctype = fuzz_strndup(data, clen);
	if (multipart_content_type_parse(ctype, &proto) != CD_EOK)
		proto = size > 0 && (data[0] & 1) ? MULTIPART_SPNEGO : MULTIPART_KERBEROS;
	free(ctype);
	if (nl != NULL) {
		data = nl + 1;
		size -= clen + 1;
	}
	/* An exact-size copy, so that any read past the end is caught. */
	uint8_t *body = malloc(size ? size : 1);
	if (body == NULL)
		abort();
	if (size > 0)
		memcpy(body, data, size);
	buf_init(&enc, 0);
	if (multipart_decode(proto, body, size, &msg) != CD_EOK)
		goto out;
	fuzz_multipart_inside(body, size, msg.header, msg.header_len);
	fuzz_multipart_inside(body, size, msg.data, msg.data_len);
	if (multipart_encode(&msg.form, msg.type, msg.charset, msg.length,
	    msg.header, msg.header_len, msg.data, msg.data_len, &enc) != CD_EOK)
		goto out;
	if (multipart_decode(proto, enc.data, enc.len, &back) != CD_EOK)
		fuzz_fail("our own encoding does not decode");
	if (back.length != msg.length || back.header_len != msg.header_len ||
	    back.data_len != msg.data_len || strcmp(back.type, msg.type) != 0 ||
	    back.form.tab != msg.form.tab ||
	    (msg.data_len > 0 && memcmp(back.data, msg.data, msg.data_len) != 0))
		fuzz_fail("encode/decode round trip changed the message");
out:
	buf_free(&enc);
	free(body);
	return 0;
}
