/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Events request bodies of collectord-loadgen. Built the plain way (the
 * events as UTF-8 text, the envelope around them, then the whole envelope
 * encoded to UTF-16LE one character at a time), a 100-event body cost the
 * generator about as much CPU as the collector spends parsing it, on the
 * same cores. lg_body_events() instead encodes only the envelope's header
 * (a few hundred characters) per batch and lets lg_mix_events16() append
 * the events as pieces encoded once at start-up (loadgen_gather.c), so the
 * bytes sent are the same and the body is never copied together. lg_body_events_ref() keeps the
 * plain way as the reference the unit tests compare against.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "loadgen.h"
#include "soap.h"
#include "utf16.h"

int
lg_body_init(struct lg_body *b, size_t n)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->xml, 0);
	buf_init(&b->text, 0);
	buf_init(&b->bm, 0);
	b->cap = n;
	b->offs = calloc(n ? n : 1, sizeof(*b->offs));
	b->lens = calloc(n ? n : 1, sizeof(*b->lens));
	b->evs = calloc(n ? n : 1, sizeof(*b->evs));
	b->evp = calloc(n ? n : 1, sizeof(*b->evp));
	if (!b->offs || !b->lens || !b->evs || !b->evp) {
		lg_body_free(b);
		return -ENOMEM;
	}
	return CD_EOK;
}

void
lg_body_free(struct lg_body *b)
{
	if (b == NULL)
		return;
	buf_free(&b->xml);
	buf_free(&b->text);
	buf_free(&b->bm);
	free(b->offs);
	free(b->lens);
	free(b->evs);
	free(b->evp);
	memset(b, 0, sizeof(*b));
}

/* The rendered BookmarkList after n more events of mh: the last record ID
 * of the batch is known before its events are drawn. */
static int
lg_body_bookmark(struct lg_body *b, const struct lg_mix_host *mh, size_t n,
    struct replay_bookmark *bm)
{
	int rc;

	buf_reset(&b->bm);
	if ((rc = replay_bookmark_set(bm, LG_CHANNEL,
	    mh->record_id + n)) != CD_EOK)
		return rc;
	return replay_bookmark_render(bm, &b->bm);
}

/* Append n bytes of UTF-8 s to g as UTF-16LE, in its scratch. */
static int
lg_body_utf16(struct lg_gather *g, const char *s, size_t n)
{
	size_t off = g->scratch.len;
	int rc;

	if ((rc = lg_mix_utf16(s, n, &g->scratch)) != CD_EOK)
		return rc;
	return lg_gather_again(g, off, g->scratch.len - off);
}

int
lg_body_events(struct lg_body *b, struct lg_mix *m, struct lg_mix_host *mh,
    const char *computer, size_t n, struct replay_bookmark *bm,
    const struct replay_hdr *hd, struct lg_gather *out, uint64_t *ndns)
{
	const char *s, *ev;
	size_t head, comp_off;
	uint64_t rid0 = mh->record_id;
	int rc;

	/* The envelope without events, split where they go. */
	buf_reset(&b->xml);
	if ((rc = lg_body_bookmark(b, mh, n, bm)) != CD_EOK ||
	    (rc = replay_msg_events(&b->xml, hd, (const char *)b->bm.data,
	    NULL, 0, NULL)) != CD_EOK)
		return rc;
	s = (const char *)b->xml.data;
	if ((ev = strstr(s, LG_EVENTS_OPEN)) == NULL)
		return CD_EPARSE;
	head = (size_t)(ev - s) + strlen(LG_EVENTS_OPEN);
	if ((rc = lg_gather_copy(out, "\xff\xfe", 2)) != CD_EOK ||
	    (rc = lg_body_utf16(out, s, head)) != CD_EOK)
		return rc;
	/* The Computer once in the scratch; every event refers to it. */
	comp_off = out->scratch.len;
	if ((rc = lg_mix_utf16(computer, strlen(computer), &out->scratch)) != CD_EOK ||
	    (rc = lg_mix_events16(m, mh, comp_off, out->scratch.len - comp_off,
	    n, out, ndns)) != CD_EOK)
		return rc;
	if (mh->record_id != rid0 + n)
		return -EINVAL;	/* the bookmark would be wrong */
	return lg_body_utf16(out, s + head, b->xml.len - head);
}

int
lg_body_events_ref(struct lg_body *b, struct lg_mix *m,
    struct lg_mix_host *mh, const char *computer, size_t n,
    struct replay_bookmark *bm, const struct replay_hdr *hd,
    struct buf *out, uint64_t *ndns)
{
	int rc;

	if (n > b->cap)
		return -EINVAL;
	buf_reset(&b->text);
	buf_reset(&b->xml);
	buf_reset(&b->bm);
	if ((rc = lg_mix_events(m, mh, computer, n, &b->text, b->offs,
	    b->lens, ndns)) != CD_EOK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		b->evs[i].xml = (const char *)b->text.data + b->offs[i];
		b->evs[i].len = b->lens[i];
		b->evp[i] = &b->evs[i];
	}
	if ((rc = replay_bookmark_set(bm, LG_CHANNEL, mh->record_id)) != CD_EOK ||
	    (rc = replay_bookmark_render(bm, &b->bm)) != CD_EOK ||
	    (rc = replay_msg_events(&b->xml, hd, (const char *)b->bm.data,
	    b->evp, n, NULL)) != CD_EOK)
		return rc;
	return utf8_to_utf16le_bom((const char *)b->xml.data, b->xml.len, out);
}

void
lg_ack_init(struct lg_ack *a)
{
	memset(a, 0, sizeof(*a));
	buf_init(&a->shape, 0);
}

void
lg_ack_free(struct lg_ack *a)
{
	if (a == NULL)
		return;
	buf_free(&a->shape);
	memset(a, 0, sizeof(*a));
}

/* Offset of the only occurrence of ASCII s as UTF-16LE text in body, at a
 * code unit boundary; false when it is not there exactly once. */
static bool
lg_ack_find16(const uint8_t *body, size_t len, const char *s, size_t *off)
{
	uint8_t pat[2 * 128];
	size_t n = strlen(s), found = 0;
	const uint8_t *p = body, *end = body + len;

	if (n == 0 || n > sizeof(pat) / 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		pat[2 * i] = (uint8_t)s[i];
		pat[2 * i + 1] = 0;
	}
	while ((p = memmem(p, (size_t)(end - p), pat, 2 * n)) != NULL) {
		if ((size_t)(p - body) % 2 == 0) {
			*off = (size_t)(p - body);
			found++;
		}
		p++;
	}
	return found == 1;
}

int
lg_ack_learn(struct lg_ack *a, const uint8_t *body, size_t len,
    const char *utf8, size_t len8, const char *message_id)
{
	struct soap_msg *m = NULL;
	size_t mo, ro;
	int rc;

	if ((rc = soap_parse(utf8, len8, NULL, &m)) != CD_EOK)
		return rc;
	rc = CD_ENOTFOUND;
	/* Both IDs must be unambiguous to stand for the positions of the
	 * elements' text, and distinct. */
	if (m->relates_to == NULL || strcmp(m->relates_to, message_id) != 0 ||
	    !lg_ack_find16(body, len, m->message_id, &mo) ||
	    !lg_ack_find16(body, len, message_id, &ro) ||
	    (mo < ro ? mo + 2 * strlen(m->message_id) > ro :
	    ro + 2 * strlen(message_id) > mo))
		goto out;
	a->ok = false;
	buf_reset(&a->shape);
	if ((rc = buf_append(&a->shape, body, len)) != CD_EOK)
		goto out;
	a->mid_off = mo;
	a->mid_len = 2 * strlen(m->message_id);
	a->rel_off = ro;
	a->rel_len = 2 * strlen(message_id);
	a->ok = true;
out:
	soap_msg_free(m);
	return rc;
}

/* The class of a MessageID character: hex digits are interchangeable,
 * anything else must stay what it was. */
static bool
lg_ack_same_class(uint8_t lo, uint8_t hi, uint8_t was)
{
	static const char hex[] = "0123456789abcdefABCDEF";

	if (hi != 0)
		return false;
	if (lo != 0 && strchr(hex, lo) != NULL)
		return was != 0 && strchr(hex, was) != NULL;
	return lo == was;
}

bool
lg_ack_match(const struct lg_ack *a, const uint8_t *body, size_t len,
    const char *message_id)
{
	const uint8_t *sh = a->shape.data;
	size_t lo, hi, n = strlen(message_id);

	if (!a->ok || len != a->shape.len || 2 * n != a->rel_len)
		return false;
	/* Everything but the two IDs, byte for byte. */
	lo = a->mid_off < a->rel_off ? a->mid_off : a->rel_off;
	hi = a->mid_off < a->rel_off ? a->rel_off : a->mid_off;
	size_t lo_len = lo == a->mid_off ? a->mid_len : a->rel_len;
	size_t hi_len = hi == a->mid_off ? a->mid_len : a->rel_len;
	if (memcmp(body, sh, lo) != 0 ||
	    memcmp(body + lo + lo_len, sh + lo + lo_len, hi - lo - lo_len) != 0 ||
	    memcmp(body + hi + hi_len, sh + hi + hi_len, len - hi - hi_len) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (body[a->rel_off + 2 * i] != (uint8_t)message_id[i] ||
		    body[a->rel_off + 2 * i + 1] != 0)
			return false;
	/* The reply's own MessageID: a new UUID of the same form. */
	for (size_t i = 0; i < a->mid_len; i += 2)
		if (!lg_ack_same_class(body[a->mid_off + i],
		    body[a->mid_off + i + 1], sh[a->mid_off + i]))
			return false;
	return true;
}
