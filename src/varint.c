/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "varint.h"

size_t
varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t
varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

size_t
varint_get(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t n = 0; n < VARINT_MAX && p + n < end; n++) {
		uint64_t b = p[n] & 0x7f;

		/* The tenth byte holds only the top bit of a u64. */
		if (n == VARINT_MAX - 1 && b > 1)
			return 0;
		v |= b << (7 * n);
		if ((p[n] & 0x80) == 0) {
			*out = v;
			return n + 1;
		}
	}
	return 0;
}
