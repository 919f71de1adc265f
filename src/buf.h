/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A growable byte buffer with a hard cap. The struct is owned by whoever
 * declares it; buf_free() releases the storage. The data is always kept
 * NUL-terminated (the terminator is not counted in len) so text can be used
 * as a C string.
 */
#ifndef CD_BUF_H
#define CD_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t	*data;	/**< NULL until the first append */
	size_t	 len;	/**< bytes used, terminator excluded */
	size_t	 cap;	/**< bytes allocated */
	size_t	 max;	/**< hard cap on len; 0 means SIZE_MAX */
};

/** Initialise an empty buffer whose length may never pass max (0: none). */
void buf_init(struct buf *b, size_t max);
/** Release the storage; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);
/** Drop the contents, keep the storage. */
void buf_reset(struct buf *b);
/** Make room for n more bytes. CD_ETOOBIG past max, -ENOMEM. */
int buf_reserve(struct buf *b, size_t n);
/** Append n bytes. CD_ETOOBIG past max, -ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n);
/** Append a C string. */
int buf_puts(struct buf *b, const char *s);
/** Append formatted text. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/** Take the storage (caller frees it with free()); the buffer is emptied. */
uint8_t *buf_steal(struct buf *b, size_t *len);

#endif
