/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unsigned LEB128 varints (seven bits per byte, low bits first, the top bit
 * set on every byte but the last), as the DNS index aggregates and the
 * duplicate-detection ranges store their integers.
 */
#ifndef CD_VARINT_H
#define CD_VARINT_H

#include <stddef.h>
#include <stdint.h>

/** A u64 takes at most this many bytes. */
#define VARINT_MAX	10

/** Bytes varint_put() writes for v. */
size_t varint_len(uint64_t v);
/** Write v at p (room for varint_len(v) bytes); returns the bytes written. */
size_t varint_put(uint8_t *p, uint64_t v);
/**
 * Read one varint from [p, end) into *out. Returns the bytes read, or 0 for
 * a truncated varint or one past VARINT_MAX bytes or past 64 bits.
 */
size_t varint_get(const uint8_t *p, const uint8_t *end, uint64_t *out);

#endif
