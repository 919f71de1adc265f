/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "be.h"
#include "err.h"
#include "store_key.h"

/* The text form of a name is at most 253 characters without the trailing
 * dot, and a label at most 63 octets (RFC 1035 sections 2.3.4 and 3.1). */
#define STORE_KEY_NAME_MAX	253
#define STORE_KEY_LABEL_MAX	63

_Static_assert(STORE_KEY_DOMAIN_MAX == STORE_KEY_NAME_MAX + 1,
    "domain buffer holds the longest name and its terminator");

static uint8_t	*store_key_reserve(struct store_key *, size_t);
static const uint8_t *store_key_take(struct store_key_reader *, size_t);
static void	 store_key_put_domain_common(struct store_key *,
		    const char *, bool);

void
store_key_init(struct store_key *k)
{
	k->len = 0;
	k->ret = CD_EOK;
}

int
store_key_err(const struct store_key *k)
{
	return k->ret;
}

/* Room for n more bytes, or NULL with the sticky error set. */
static uint8_t *
store_key_reserve(struct store_key *k, size_t n)
{
	uint8_t *p;

	if (k->ret != CD_EOK)
		return NULL;
	if (n > sizeof(k->buf) - k->len) {
		k->ret = CD_ETOOBIG;
		return NULL;
	}
	p = k->buf + k->len;
	k->len += n;
	return p;
}

void
store_key_put_u8(struct store_key *k, uint8_t v)
{
	uint8_t *p = store_key_reserve(k, 1);

	if (p != NULL)
		p[0] = v;
}

void
store_key_put_u16(struct store_key *k, uint16_t v)
{
	uint8_t *p = store_key_reserve(k, 2);

	if (p != NULL) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

void
store_key_put_u32(struct store_key *k, uint32_t v)
{
	uint8_t *p = store_key_reserve(k, 4);

	if (p != NULL)
		be32_put(p, v);
}

void
store_key_put_u64(struct store_key *k, uint64_t v)
{
	uint8_t *p = store_key_reserve(k, 8);

	if (p != NULL)
		be64_put(p, v);
}

void
store_key_put_i64(struct store_key *k, int64_t v)
{
	/* Two's complement with the sign bit flipped is an order-preserving
	 * map from int64 to uint64 (INT64_MIN -> 0, -1 -> 2^63 - 1). */
	store_key_put_u64(k, (uint64_t)v ^ UINT64_C(0x8000000000000000));
}

void
store_key_put_bytes(struct store_key *k, const void *src, size_t n)
{
	uint8_t *p = store_key_reserve(k, n);

	if (p != NULL && n > 0)
		memcpy(p, src, n);
}

void
store_key_put_strn(struct store_key *k, const char *s, size_t n)
{
	uint8_t *p;

	if (k->ret == CD_EOK && memchr(s, '\0', n) != NULL) {
		k->ret = -EINVAL;
		return;
	}
	p = store_key_reserve(k, n + 1);
	if (p == NULL)
		return;
	memcpy(p, s, n);
	p[n] = '\0';
}

void
store_key_put_str(struct store_key *k, const char *s)
{
	store_key_put_strn(k, s, strlen(s));
}

static void
store_key_put_domain_common(struct store_key *k, const char *name, bool prefix)
{
	char rev[STORE_KEY_DOMAIN_MAX];
	size_t n;
	int rc;

	if (k->ret != CD_EOK)
		return;
	rc = store_key_domain_reverse(name, strlen(name), rev, sizeof(rev), &n);
	if (rc != CD_EOK) {
		k->ret = rc;
		return;
	}
	if (prefix) {
		store_key_put_bytes(k, rev, n);
		store_key_put_u8(k, '.');
	} else
		store_key_put_strn(k, rev, n);
}

void
store_key_put_domain(struct store_key *k, const char *name)
{
	store_key_put_domain_common(k, name, false);
}

void
store_key_put_domain_prefix(struct store_key *k, const char *name)
{
	store_key_put_domain_common(k, name, true);
}

bool
store_key_successor(struct store_key *k)
{
	size_t i = k->len;

	while (i > 0 && k->buf[i - 1] == 0xff)
		i--;
	if (i == 0)
		return false;
	k->buf[i - 1]++;
	k->len = i;
	return true;
}

bool
store_key_has_prefix(const struct store_val *key, const void *prefix, size_t n)
{
	return key->len >= n && (n == 0 || memcmp(key->data, prefix, n) == 0);
}

int
store_key_domain_reverse(const char *name, size_t len, char *out,
    size_t outsz, size_t *outlen)
{
	size_t end, start, o = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || memchr(name, '\0', len) != NULL)
		return -EINVAL;
	if (len > STORE_KEY_NAME_MAX || len + 1 > outsz)
		return CD_ETOOBIG;
	/* Walk the labels from the right; each one is copied lowercased,
	 * separated by dots, so the top-level domain comes first. */
	end = len;
	for (;;) {
		start = end;
		while (start > 0 && name[start - 1] != '.')
			start--;
		if (start == end || end - start > STORE_KEY_LABEL_MAX)
			return -EINVAL;
		for (size_t i = start; i < end; i++) {
			char c = name[i];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			out[o++] = c;
		}
		if (start == 0)
			break;
		out[o++] = '.';
		end = start - 1;
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return CD_EOK;
}

void
store_key_reader_init(struct store_key_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->ret = CD_EOK;
}

int
store_key_reader_err(const struct store_key_reader *r)
{
	return r->ret;
}

bool
store_key_reader_done(const struct store_key_reader *r)
{
	return r->ret == CD_EOK && r->off == r->len;
}

/* The next n bytes, or NULL with the sticky error set. */
static const uint8_t *
store_key_take(struct store_key_reader *r, size_t n)
{
	const uint8_t *p;

	if (r->ret != CD_EOK)
		return NULL;
	if (n > r->len - r->off) {
		r->ret = CD_EPARSE;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t
store_key_get_u8(struct store_key_reader *r)
{
	const uint8_t *p = store_key_take(r, 1);

	return p != NULL ? p[0] : 0;
}

uint16_t
store_key_get_u16(struct store_key_reader *r)
{
	const uint8_t *p = store_key_take(r, 2);

	return p != NULL ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t
store_key_get_u32(struct store_key_reader *r)
{
	const uint8_t *p = store_key_take(r, 4);

	return p != NULL ? be32_get(p) : 0;
}

uint64_t
store_key_get_u64(struct store_key_reader *r)
{
	const uint8_t *p = store_key_take(r, 8);

	return p != NULL ? be64_get(p) : 0;
}

int64_t
store_key_get_i64(struct store_key_reader *r)
{
	uint64_t u = store_key_get_u64(r) ^ UINT64_C(0x8000000000000000);

	if (r->ret != CD_EOK)
		return 0;
	/* Back to two's complement without implementation-defined casts. */
	if (u <= (uint64_t)INT64_MAX)
		return (int64_t)u;
	return -(int64_t)(~u) - 1;
}

const void *
store_key_get_bytes(struct store_key_reader *r, size_t n)
{
	return store_key_take(r, n);
}

const char *
store_key_get_str(struct store_key_reader *r, size_t *len)
{
	const uint8_t *start, *nul;
	size_t n;

	if (r->ret != CD_EOK)
		return NULL;
	start = r->p + r->off;
	nul = memchr(start, '\0', r->len - r->off);
	if (nul == NULL) {
		r->ret = CD_EPARSE;
		return NULL;
	}
	n = (size_t)(nul - start);
	r->off += n + 1;
	if (len != NULL)
		*len = n;
	return (const char *)start;
}
