/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Character encoding of WinRM bodies (docs/wef-protocol.md section 2):
 * Windows sends UTF-16LE with a BOM and expects the same back. Internally
 * everything is UTF-8 that libxml2 accepts: code points that XML 1.0 does not
 * allow as Char (e.g. U+0005, lone surrogates, U+FFFE) are replaced with
 * U+FFFD, so one bad character cannot make a whole batch unparseable.
 */
#ifndef CD_UTF16_H
#define CD_UTF16_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/** How utf16_detect() classified a body. */
enum utf16_encoding {
	UTF16_ENC_UTF8,
	UTF16_ENC_UTF16LE,
	UTF16_ENC_UTF16BE,
};

/**
 * Decide the encoding of a body and how many leading bytes are a BOM.
 * A BOM (FF FE, FE FF, EF BB BF) wins over the label; then "<\0" means
 * UTF-16LE, "\0<" UTF-16BE, '<' followed by a non-zero byte UTF-8; otherwise
 * the charset label decides ("UTF-16" without BOM is LE, "UTF-16BE" is BE,
 * quotes and case are ignored); with no usable label, UTF-8.
 * charset_label may be NULL. Pure function.
 */
enum utf16_encoding utf16_detect(const uint8_t *in, size_t len,
    const char *charset_label, size_t *bom_len);

/**
 * Convert a body in the encoding found by utf16_detect() to sanitised UTF-8
 * (no BOM) and append it to out. Surrogate pairs are combined; lone
 * surrogates, a dangling odd byte, invalid UTF-8 and XML-illegal characters
 * become U+FFFD. Returns CD_EOK, CD_ETOOBIG when more than max_out bytes
 * (0: unlimited) would be appended, or -ENOMEM. Thread-safe.
 */
int utf16_to_utf8(const uint8_t *in, size_t len, const char *charset_label,
    size_t max_out, struct buf *out);

/**
 * The same conversion, one character at a time through the generic sink,
 * without utf16_to_utf8()'s one-pass UTF-16LE decoder (which appends the
 * same bytes for every input, also when it stops with CD_ETOOBIG). Same
 * contract; the reference for the differential tests and for benchmarks
 * comparing the two paths.
 */
int utf16_to_utf8_careful(const uint8_t *in, size_t len,
    const char *charset_label, size_t max_out, struct buf *out);

/**
 * Sanitise text that is already UTF-8: invalid sequences (overlong forms,
 * encoded surrogates, values past U+10FFFF, truncated sequences; one U+FFFD
 * per maximal invalid subpart) and XML-illegal characters become U+FFFD.
 * A leading UTF-8 BOM is kept as is. Appends to out; returns as
 * utf16_to_utf8().
 */
int utf16_sanitize_utf8(const uint8_t *in, size_t len, size_t max_out,
    struct buf *out);

/**
 * Encode UTF-8 text as UTF-16LE preceded by the FF FE byte order mark, the
 * form Windows expects for replies, and append it to out. Invalid UTF-8 is
 * encoded as U+FFFD. Returns CD_EOK, CD_ETOOBIG past the buffer's cap, or
 * -ENOMEM.
 */
int utf8_to_utf16le_bom(const char *in, size_t len, struct buf *out);

#endif
