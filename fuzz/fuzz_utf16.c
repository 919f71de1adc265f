/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Body decoding to sanitised UTF-8 (utf16.c). The first input byte picks
 * the charset label, the rest is the body. Checked: the output is a fixed
 * point of the sanitiser and holds no NUL (XML-illegal characters are
 * replaced), and UTF-8 -> UTF-16LE -> UTF-8 gives the same text back.
 */
#include "config.h"

#include "buf.h"
#include "err.h"
#include "fuzz.h"
#include "utf16.h"

static const char *const fuzz_labels[] = {
	NULL, "UTF-16", "utf-16", "\"UTF-16BE\"", "UTF-16LE", "UTF-8", "bogus", "",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out, again, wide;
	const char *label;
	int rc;

	if (size < 1)
		return 0;
	label = fuzz_labels[data[0] % (sizeof(fuzz_labels) / sizeof(fuzz_labels[0]))];
	data++;
	size--;
	buf_init(&out, 0);
	buf_init(&again, 0);
	buf_init(&wide, 0);
	rc = utf16_to_utf8(data, size, label, 1u << 20, &out);
	if (rc != CD_EOK)
		goto out;
	if (out.len > 0 && memchr(out.data, '\0', out.len) != NULL)
		fuzz_fail("utf16_to_utf8 let a NUL through");
	if (utf16_sanitize_utf8(out.data, out.len, 0, &again) != CD_EOK)
		fuzz_fail("utf16_sanitize_utf8 failed on sanitised text");
	/* A leading UTF-8 BOM is the only thing the sanitiser keeps that
	 * the converter may not produce; the converter never emits one. */
	if (again.len != out.len ||
	    (out.len > 0 && memcmp(again.data, out.data, out.len) != 0))
		fuzz_fail("sanitised UTF-8 is not a fixed point");
	if (utf8_to_utf16le_bom((const char *)out.data, out.len, &wide) != CD_EOK)
		fuzz_fail("utf8_to_utf16le_bom failed");
	buf_reset(&again);
	if (utf16_to_utf8(wide.data, wide.len, "UTF-16", 0, &again) != CD_EOK)
		fuzz_fail("utf16_to_utf8 failed on its own UTF-16");
	if (again.len != out.len ||
	    (out.len > 0 && memcmp(again.data, out.data, out.len) != 0))
		fuzz_fail("UTF-8 -> UTF-16LE -> UTF-8 is not the identity");
out:
	buf_free(&out);
	buf_free(&again);
	buf_free(&wide);
	return 0;
}
