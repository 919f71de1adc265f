/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A streaming JSON writer into a struct buf. The writer checks the nesting
 * (a value inside an object needs a key first, ends must match begins, one
 * value at the top level) and keeps the first error it meets: later calls
 * become no-ops and jsonw_finish() reports it, so callers may write a whole
 * document and check once. Strings are escaped per RFC 8259; control
 * characters become \u00XX (or the short forms), and bytes that are not
 * valid UTF-8 are replaced by U+FFFD so the output is always valid UTF-8.
 *
 * The prefix is jsonw_ (Knot's name for the same writer), not json_: that
 * one belongs to jansson, the JSON reader collectorctl and the tests use.
 *
 * The writer does not own the buffer. Not thread-safe; one writer per
 * document.
 */
#ifndef CD_JSON_H
#define CD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/** Deepest nesting of objects and arrays the writer accepts. */
#define JSONW_MAX_DEPTH 32

/** Bytes needed by jsonw_time_format(), terminator included. */
#define JSONW_TIME_LEN 32
/** Length of the text jsonw_time_format() writes ("...T19:08:12.455Z"). */
#define JSONW_TIME_STRLEN 24
/** Bytes needed by jsonw_uint_format(): 20 digits and the terminator. */
#define JSONW_UINT_LEN 21

struct jsonw {
	struct buf	*out;		/**< borrowed; appended to */
	int		 err;		/**< first error, sticky */
	unsigned	 depth;		/**< open containers */
	bool		 done;		/**< the top-level value is complete */
	bool		 have_key;	/**< a key was written, its value is due */
	char		 kind[JSONW_MAX_DEPTH];	/**< 'o' object, 'a' array */
	bool		 nonempty[JSONW_MAX_DEPTH]; /**< a member was written */
};

/** Start a document appended to out (which keeps its current contents). */
void jsonw_init(struct jsonw *j, struct buf *out);

/**
 * Check that the document is complete: returns the sticky error, -EINVAL
 * when containers are still open or nothing was written, else CD_EOK.
 */
int jsonw_finish(struct jsonw *j);

/*
 * Every writer call below returns the sticky error after the call (CD_EOK
 * while all is well): -EINVAL for a nesting mistake, CD_ETOOBIG past
 * JSONW_MAX_DEPTH or the buffer's cap, -ENOMEM.
 */

int jsonw_object_begin(struct jsonw *j);
int jsonw_object_end(struct jsonw *j);
int jsonw_array_begin(struct jsonw *j);
int jsonw_array_end(struct jsonw *j);
/** A member name inside an object; the next call must write its value. */
int jsonw_key(struct jsonw *j, const char *key);
/** A NUL-terminated string; NULL writes null. */
int jsonw_string(struct jsonw *j, const char *s);
/** A string of n bytes (may contain NUL, written as \u0000). */
int jsonw_string_n(struct jsonw *j, const char *s, size_t n);
int jsonw_int(struct jsonw *j, int64_t v);
int jsonw_uint(struct jsonw *j, uint64_t v);
/** A finite double (up to 17 significant digits); NaN or infinity write null. */
int jsonw_double(struct jsonw *j, double v);
int jsonw_bool(struct jsonw *j, bool v);
int jsonw_null(struct jsonw *j);
/** An RFC 3339 UTC time with milliseconds from ms since the epoch:
 * "2020-10-21T19:08:12.455Z". Years outside 0000..9999 give -ERANGE. */
int jsonw_time(struct jsonw *j, int64_t ms);

/* Key and value in one call, for object members. */
int jsonw_kstring(struct jsonw *j, const char *key, const char *s);
int jsonw_kint(struct jsonw *j, const char *key, int64_t v);
int jsonw_kuint(struct jsonw *j, const char *key, uint64_t v);
int jsonw_kbool(struct jsonw *j, const char *key, bool v);
int jsonw_knull(struct jsonw *j, const char *key);
int jsonw_ktime(struct jsonw *j, const char *key, int64_t ms);

/**
 * Format ms since the epoch as RFC 3339 UTC with milliseconds into out
 * (JSONW_TIME_LEN bytes). CD_EOK, or -ERANGE for years outside 0000..9999.
 */
int jsonw_time_format(int64_t ms, char out[JSONW_TIME_LEN]);

/**
 * Write v in decimal (what "%" PRIu64 prints) into out, NUL-terminated;
 * returns the number of digits. For callers that put numbers into strings.
 */
size_t jsonw_uint_format(uint64_t v, char out[JSONW_UINT_LEN]);

#endif
