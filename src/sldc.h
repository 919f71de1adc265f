/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SLDC (ECMA-321) decompression for WinRM bodies sent with
 * "Content-Encoding: SLDC". Only decoding is needed: the collector never
 * compresses its replies.
 */
#ifndef CD_SLDC_H
#define CD_SLDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/**
 * Decompress one SLDC record from in[0..len) and append the output to out.
 * Decoding stops at the End-of-Record (or End-Marker) control symbol; any
 * bytes after it (padding, the WinRM length trailer) are ignored.
 * Returns CD_EOK, CD_EPARSE on a malformed or truncated stream, CD_ETOOBIG
 * when the output would exceed max_out bytes (0: no limit other than the
 * buffer's own cap), or -ENOMEM. On error out may hold partial output.
 * Pure function, thread-safe.
 */
int sldc_decompress(const uint8_t *in, size_t len, size_t max_out,
    struct buf *out);

/**
 * Decode a body labelled SLDC, tolerating senders that label a plain body
 * SLDC (wef-protocol.md errata 3 and 14). The body is decompressed; the
 * result is used only if decoding succeeded, the output is not empty, it
 * starts with a byte order mark or '<', and it matches the 4-byte
 * little-endian uncompressed length WinRM appends after the record (when
 * present). Otherwise the raw bytes are copied to out unchanged.
 * *was_compressed (may be NULL) tells which happened. out is reset first.
 * Returns CD_EOK, CD_ETOOBIG when the chosen output exceeds max_out, or
 * -ENOMEM; malformed SLDC is not an error here.
 */
int sldc_decode_body(const uint8_t *in, size_t len, size_t max_out,
    struct buf *out, bool *was_compressed);

#endif
