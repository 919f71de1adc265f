/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Big-endian 64-bit integers, as the store's keys and records hold them:
 * byte order makes LMDB's key order the numeric order.
 */
#ifndef CD_BE64_H
#define CD_BE64_H

#include <stdint.h>

static inline void
be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t
be64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

#endif
