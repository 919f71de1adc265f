/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Key builders and parsers for the store. Keys are compared with memcmp, so
 * every integer is written big-endian (byte order is then numeric order) and
 * every variable-length string is followed by a NUL terminator (so "ab" sorts
 * before "abc" and a key made of several fields keeps field-by-field order).
 *
 * A builder is a plain struct on the caller's stack with a fixed buffer and a
 * sticky error: the put functions never fail individually; once one does not
 * fit, every later put is a no-op and store_key_err() reports CD_ETOOBIG.
 * Check it once, after the last put. The reader works the same way.
 *
 * Example, a (host, channel, record id) key:
 *
 *	struct store_key k;
 *	store_key_init(&k);
 *	store_key_put_str(&k, host);
 *	store_key_put_str(&k, channel);
 *	store_key_put_u64(&k, record_id);
 *	if (store_key_err(&k) != CD_EOK) ...
 *	store_put(txn, STORE_DBI_RECORDS, k.buf, k.len, ...);
 */
#ifndef CD_STORE_KEY_H
#define CD_STORE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/** LMDB's default maximum key size (MDB_MAXKEYSIZE in a stock build). */
#define STORE_KEY_MAX	511

/** Longest domain name in text form (RFC 1035 section 2.3.4, without the
 * trailing dot), plus room for the terminator. */
#define STORE_KEY_DOMAIN_MAX	254

/** A key under construction. All fields may be read; write only via the
 * functions below. */
struct store_key {
	uint8_t	 buf[STORE_KEY_MAX];
	size_t	 len;	/**< bytes used */
	int	 ret;	/**< sticky: CD_EOK, CD_ETOOBIG or -EINVAL */
};

/** Start an empty key. */
void store_key_init(struct store_key *k);
/** CD_EOK, or the first error: CD_ETOOBIG when a put did not fit, -EINVAL
 * for an invalid string or domain. The key is then unusable. */
int store_key_err(const struct store_key *k);

void store_key_put_u8(struct store_key *k, uint8_t v);
void store_key_put_u16(struct store_key *k, uint16_t v);
void store_key_put_u32(struct store_key *k, uint32_t v);
void store_key_put_u64(struct store_key *k, uint64_t v);
/** A signed value with its sign bit flipped, so negative values sort
 * before positive ones (times before 1970 included). */
void store_key_put_i64(struct store_key *k, int64_t v);
/** Raw bytes, no terminator: for fixed-width fields (hashes, addresses)
 * or as the last field of a key. */
void store_key_put_bytes(struct store_key *k, const void *p, size_t n);
/** A C string followed by its NUL terminator. */
void store_key_put_str(struct store_key *k, const char *s);
/** n bytes of a string followed by a NUL terminator. The bytes must not
 * contain NUL: that would break the ordering, so it sets -EINVAL. */
void store_key_put_strn(struct store_key *k, const char *s, size_t n);
/** A domain name in reversed-label form ("www.example.com" is stored as
 * "com.example.www"), lowercased, without a trailing dot, then a NUL
 * terminator. Invalid names (empty labels, too long) set -EINVAL. */
void store_key_put_domain(struct store_key *k, const char *name);
/** The reversed domain followed by "." and no terminator: the prefix of every
 * strict subdomain of name ("example.com" gives "com.example."). Together with
 * an exact lookup of store_key_put_domain() this answers "name and below". */
void store_key_put_domain_prefix(struct store_key *k, const char *name);

/**
 * Turn k into the smallest key greater than every key that starts with k
 * (the exclusive end of a prefix range: increment the last byte that is not
 * 0xff and drop what follows). Returns false when no such key exists (k is
 * empty or all 0xff); k is then unchanged.
 */
bool store_key_successor(struct store_key *k);

/** True when key starts with the n bytes at prefix. */
bool store_key_has_prefix(const struct store_val *key, const void *prefix,
    size_t n);

/**
 * Reverse the labels of a domain name: "www.Example.com." -> "com.example.www".
 * ASCII letters are lowercased and one trailing dot is dropped; the function
 * is its own inverse on its output. Writes a NUL-terminated string of at most
 * outsz - 1 bytes to out and its length to *outlen (may be NULL).
 * Returns CD_EOK, -EINVAL for an empty name or an empty label, or CD_ETOOBIG
 * when the name does not fit out or exceeds 253 characters.
 */
int store_key_domain_reverse(const char *name, size_t len, char *out,
    size_t outsz, size_t *outlen);

/** A parser over a borrowed key; the key must outlive the reader. */
struct store_key_reader {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;	/**< bytes consumed */
	int		 ret;	/**< sticky: CD_EOK or CD_EPARSE */
};

/** Start reading len bytes at p. */
void store_key_reader_init(struct store_key_reader *r, const void *p,
    size_t len);
/** CD_EOK, or CD_EPARSE once a get ran past the end or found no terminator
 * (the values returned since then are 0 / NULL). */
int store_key_reader_err(const struct store_key_reader *r);
/** True when every byte has been consumed and no error occurred. */
bool store_key_reader_done(const struct store_key_reader *r);

uint8_t store_key_get_u8(struct store_key_reader *r);
uint16_t store_key_get_u16(struct store_key_reader *r);
uint32_t store_key_get_u32(struct store_key_reader *r);
uint64_t store_key_get_u64(struct store_key_reader *r);
int64_t store_key_get_i64(struct store_key_reader *r);
/** n raw bytes, borrowed from the key; NULL on error. */
const void *store_key_get_bytes(struct store_key_reader *r, size_t n);
/** A NUL-terminated string, borrowed from the key (it is a valid C string
 * because the terminator is part of the key); *len gets its length (may be
 * NULL). NULL on error. */
const char *store_key_get_str(struct store_key_reader *r, size_t *len);

#endif
