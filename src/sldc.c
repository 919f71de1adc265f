/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "sldc.h"

/*
 * Written from the ECMA-321 summary in docs/wef-protocol.md section 4 and
 * its errata 5 and 14. The stream is read most significant bit first. At
 * every symbol boundary nine one-bits introduce a control symbol (four more
 * bits say which); neither a Scheme-1 match nor a Scheme-2 byte can start
 * with nine ones, so the test is unambiguous.
 */

#define SLDC_HISTORY	1024

enum {
	SLDC_CTL_FLUSH = 0x0,
	SLDC_CTL_SCHEME1 = 0x1,
	SLDC_CTL_SCHEME2 = 0x2,
	SLDC_CTL_FILEMARK = 0x3,
	SLDC_CTL_EOR = 0x4,
	SLDC_CTL_RESET1 = 0x5,
	SLDC_CTL_RESET2 = 0x6,
	SLDC_CTL_END = 0xf,
};

struct sldc_state {
	const uint8_t	*in;
	size_t		 nbits;		/* total bits of input */
	size_t		 pos;		/* next bit to read */
	uint8_t		 hist[SLDC_HISTORY];
	size_t		 hpos;		/* next history slot to write */
	size_t		 hfill;		/* valid history bytes, up to 1024 */
	size_t		 max_out;
	size_t		 produced;
	struct buf	*out;
};

static int	sldc_bits(struct sldc_state *, unsigned, uint32_t *);
static bool	sldc_at_control(const struct sldc_state *);
static int	sldc_emit(struct sldc_state *, uint8_t);
static int	sldc_match(struct sldc_state *);
static int	sldc_run(const uint8_t *, size_t, size_t, struct buf *,
		    size_t *);
static bool	sldc_looks_plain(const uint8_t *, size_t);
static bool	sldc_trailer_ok(const uint8_t *, size_t, size_t, size_t);

static int
sldc_bits(struct sldc_state *st, unsigned n, uint32_t *v)
{
	uint32_t r = 0;

	if (st->nbits - st->pos < n)
		return CD_EPARSE;
	for (unsigned i = 0; i < n; i++) {
		size_t p = st->pos++;
		r = (r << 1) | ((st->in[p >> 3] >> (7 - (p & 7))) & 1u);
	}
	*v = r;
	return CD_EOK;
}

static bool
sldc_at_control(const struct sldc_state *st)
{
	if (st->nbits - st->pos < 9)
		return false;
	for (size_t p = st->pos; p < st->pos + 9; p++)
		if (((st->in[p >> 3] >> (7 - (p & 7))) & 1u) == 0)
			return false;
	return true;
}

static int
sldc_emit(struct sldc_state *st, uint8_t c)
{
	if (st->max_out != 0 && st->produced >= st->max_out)
		return CD_ETOOBIG;
	int rc = buf_append(st->out, &c, 1);
	if (rc != CD_EOK)
		return rc;
	st->produced++;
	st->hist[st->hpos] = c;
	st->hpos = (st->hpos + 1) % SLDC_HISTORY;
	if (st->hfill < SLDC_HISTORY)
		st->hfill++;
	return CD_EOK;
}

/*
 * A Scheme-1 copy pointer (the leading 1 already read): a prefix-coded match
 * count of 2..271, then a 10-bit absolute position in the history buffer.
 */
static int
sldc_match(struct sldc_state *st)
{
	static const struct {
		unsigned base, bits;
	} classes[] = { { 2, 1 }, { 4, 2 }, { 8, 3 }, { 16, 4 }, { 32, 8 } };
	uint32_t bit, extra, disp;
	unsigned cls = 0;
	int rc;

	/* Up to four one-bits select the class; a zero ends the prefix. */
	while (cls < 4) {
		if ((rc = sldc_bits(st, 1, &bit)) != CD_EOK)
			return rc;
		if (bit == 0)
			break;
		cls++;
	}
	if ((rc = sldc_bits(st, classes[cls].bits, &extra)) != CD_EOK)
		return rc;
	if ((rc = sldc_bits(st, 10, &disp)) != CD_EOK)
		return rc;
	size_t count = classes[cls].base + extra;
	if (count > 271)
		return CD_EPARSE;
	for (size_t i = 0; i < count; i++) {
		size_t at = (disp + i) % SLDC_HISTORY;
		/* Referencing history that was never written means garbage. */
		if (st->hfill < SLDC_HISTORY && at >= st->hfill)
			return CD_EPARSE;
		if ((rc = sldc_emit(st, st->hist[at])) != CD_EOK)
			return rc;
	}
	return CD_EOK;
}

/*
 * Decode until End-of-Record; *end_byte gets the offset of the first byte
 * after the (byte-aligned) end of the record.
 */
static int
sldc_run(const uint8_t *in, size_t len, size_t max_out, struct buf *out,
    size_t *end_byte)
{
	static struct sldc_state zero;
	struct sldc_state st = zero;
	unsigned scheme = 0;	/* none until a Reset or Scheme symbol */
	uint32_t v;
	int rc;

	if (len > SIZE_MAX / 8)
		return CD_ETOOBIG;
	st.in = in;
	st.nbits = len * 8;
	st.max_out = max_out;
	st.out = out;
	for (;;) {
		if (st.pos >= st.nbits)
			return CD_EPARSE;	/* no End-of-Record */
		if (sldc_at_control(&st)) {
			st.pos += 9;
			if ((rc = sldc_bits(&st, 4, &v)) != CD_EOK)
				return rc;
			switch (v) {
			case SLDC_CTL_FLUSH:
				/*
				 * ECMA-321 pads with zero bits to a 32-bit
				 * boundary after Flush. Not seen in captures.
				 */
				st.pos = (st.pos + 31) & ~(size_t)31;
				if (st.pos > st.nbits)
					st.pos = st.nbits;
				break;
			case SLDC_CTL_SCHEME1:
			case SLDC_CTL_SCHEME2:
				scheme = v;
				break;
			case SLDC_CTL_FILEMARK:
				break;
			case SLDC_CTL_RESET1:
			case SLDC_CTL_RESET2:
				scheme = v == SLDC_CTL_RESET1 ? 1 : 2;
				st.hpos = 0;
				st.hfill = 0;
				break;
			case SLDC_CTL_EOR:
			case SLDC_CTL_END:
				*end_byte = (st.pos + 7) / 8;
				return CD_EOK;
			default:
				return CD_EPARSE;	/* reserved */
			}
			continue;
		}
		if (scheme == 0)
			return CD_EPARSE;	/* data before any Reset */
		if (scheme == 2) {
			if ((rc = sldc_bits(&st, 8, &v)) != CD_EOK)
				return rc;
			/* A 0xff data byte is followed by one 0 bit. */
			if (v == 0xff) {
				uint32_t z;
				if ((rc = sldc_bits(&st, 1, &z)) != CD_EOK)
					return rc;
			}
			if ((rc = sldc_emit(&st, (uint8_t)v)) != CD_EOK)
				return rc;
			continue;
		}
		if ((rc = sldc_bits(&st, 1, &v)) != CD_EOK)
			return rc;
		if (v == 0) {
			if ((rc = sldc_bits(&st, 8, &v)) != CD_EOK)
				return rc;
			rc = sldc_emit(&st, (uint8_t)v);
		} else
			rc = sldc_match(&st);
		if (rc != CD_EOK)
			return rc;
	}
}

int
sldc_decompress(const uint8_t *in, size_t len, size_t max_out,
    struct buf *out)
{
	size_t end;

	return sldc_run(in, len, max_out, out, &end);
}

/* Starts with a UTF-8/UTF-16 byte order mark or with '<'. */
static bool
sldc_looks_plain(const uint8_t *p, size_t n)
{
	if (n >= 2 && ((p[0] == 0xff && p[1] == 0xfe) ||
	    (p[0] == 0xfe && p[1] == 0xff)))
		return true;
	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		return true;
	return n >= 1 && p[0] == '<';
}

/*
 * After the record: nothing, zero padding, or (WinRM, MS-WSMV 2.2.9.2) the
 * uncompressed length as 4 little-endian bytes at the very end.
 */
static bool
sldc_trailer_ok(const uint8_t *in, size_t len, size_t end, size_t produced)
{
	size_t i;

	for (i = end; i < len && in[i] == 0; i++)
		;
	if (i == len)
		return true;
	if (len - end < 4)
		return false;
	for (i = end; i < len - 4; i++)
		if (in[i] != 0)
			return false;
	const uint8_t *t = in + len - 4;
	uint32_t want = (uint32_t)t[0] | (uint32_t)t[1] << 8 |
	    (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
	return want == produced;
}

int
sldc_decode_body(const uint8_t *in, size_t len, size_t max_out,
    struct buf *out, bool *was_compressed)
{
	size_t end = 0;
	bool used = false;
	int rc;

	buf_reset(out);
	rc = sldc_run(in, len, max_out, out, &end);
	if (rc == -ENOMEM)
		goto out;
	if (rc == CD_EOK && sldc_looks_plain(out->data, out->len) &&
	    sldc_trailer_ok(in, len, end, out->len)) {
		used = true;
		goto out;
	}
	/*
	 * A compressed body that inflates past max_out is refused; only a
	 * body that itself looks like plain text falls back to the raw bytes.
	 */
	if (rc == CD_ETOOBIG && !sldc_looks_plain(in, len))
		goto out;
	buf_reset(out);
	if (max_out != 0 && len > max_out) {
		rc = CD_ETOOBIG;
		goto out;
	}
	rc = buf_append(out, in, len);
out:
	if (was_compressed != NULL)
		*was_compressed = used;
	return rc;
}
