/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SLDC (ECMA-321) decoding of bodies labelled "Content-Encoding: SLDC":
 * the raw decoder and the tolerant body decoder, with a small output cap so
 * the cap logic is exercised too.
 */
#include "config.h"

#include <stdbool.h>

#include "buf.h"
#include "err.h"
#include "fuzz.h"
#include "sldc.h"

#define FUZZ_SLDC_MAX	(64u << 10)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out;
	bool compressed = false;
	int rc;

	buf_init(&out, 0);
	rc = sldc_decompress(data, size, FUZZ_SLDC_MAX, &out);
	if (rc == CD_EOK && out.len > FUZZ_SLDC_MAX)
		fuzz_fail("sldc_decompress passed its output cap");
	buf_reset(&out);
	rc = sldc_decode_body(data, size, FUZZ_SLDC_MAX, &out, &compressed);
	if (rc == CD_EOK && out.len > FUZZ_SLDC_MAX)
		fuzz_fail("sldc_decode_body passed its output cap");
	/* The raw fallback returns the input unchanged. */
	if (rc == CD_EOK && !compressed &&
	    (out.len != size || (size > 0 && memcmp(out.data, data, size) != 0)))
		fuzz_fail("sldc_decode_body fallback changed the bytes");
	buf_free(&out);
	return 0;
}
