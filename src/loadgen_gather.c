/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A request body as a list of pieces, sent with one sendmsg() per socket
 * buffer's worth instead of being copied together first. An Events body
 * of 100 events is about 260 KB; built in one buffer per host in flight,
 * that copy was a third of the load generator's CPU at full speed (cold
 * memory: one buffer per host), on the cores the collector under test
 * runs on. The templates' encoded text is referenced where it lies; what
 * varies per batch (the envelope's header, each event's EventRecordID and
 * Computer, new QueryNames) is copied into a small scratch buffer.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "err.h"
#include "loadgen.h"

void
lg_gather_init(struct lg_gather *g)
{
	memset(g, 0, sizeof(*g));
	buf_init(&g->scratch, 0);
}

void
lg_gather_reset(struct lg_gather *g)
{
	g->n = 0;
	g->len = 0;
	g->cur = 0;
	g->cur_at = 0;
	buf_reset(&g->scratch);
}

void
lg_gather_free(struct lg_gather *g)
{
	if (g == NULL)
		return;
	free(g->v);
	buf_free(&g->scratch);
	memset(g, 0, sizeof(*g));
}

static int
lg_gather_push(struct lg_gather *g, const uint8_t *p, size_t off, size_t len)
{
	struct lg_piece *last = g->n > 0 ? &g->v[g->n - 1] : NULL;

	if (len == 0)
		return CD_EOK;
	/* Adjacent scratch bytes make one piece. */
	if (last != NULL && p == NULL && last->p == NULL &&
	    last->off + last->len == off) {
		last->len += len;
		g->len += len;
		return CD_EOK;
	}
	if (g->n == g->cap) {
		size_t ncap = g->cap ? 2 * g->cap : 256;
		struct lg_piece *v = realloc(g->v, ncap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		g->v = v;
		g->cap = ncap;
	}
	g->v[g->n++] = (struct lg_piece){ p, off, len };
	g->len += len;
	return CD_EOK;
}

int
lg_gather_ref(struct lg_gather *g, const void *p, size_t len)
{
	return lg_gather_push(g, p, 0, len);
}

int
lg_gather_copy(struct lg_gather *g, const void *p, size_t len)
{
	size_t off = g->scratch.len;
	int rc;

	if ((rc = buf_append(&g->scratch, p, len)) != CD_EOK)
		return rc;
	return lg_gather_push(g, NULL, off, len);
}

int
lg_gather_ascii16(struct lg_gather *g, const char *s, size_t n)
{
	size_t off = g->scratch.len;
	uint8_t *d;
	int rc;

	if ((rc = buf_reserve(&g->scratch, 2 * n)) != CD_EOK)
		return rc;
	d = g->scratch.data + off;
	for (size_t i = 0; i < n; i++) {
		d[2 * i] = (uint8_t)s[i];
		d[2 * i + 1] = 0;
	}
	g->scratch.len += 2 * n;
	g->scratch.data[g->scratch.len] = '\0';
	return lg_gather_push(g, NULL, off, 2 * n);
}

int
lg_gather_again(struct lg_gather *g, size_t off, size_t len)
{
	if (off + len > g->scratch.len)
		return -EINVAL;
	return lg_gather_push(g, NULL, off, len);
}

static const uint8_t *
lg_gather_base(const struct lg_gather *g, const struct lg_piece *pc)
{
	return pc->p != NULL ? pc->p : g->scratch.data + pc->off;
}

int
lg_gather_flatten(const struct lg_gather *g, struct buf *out)
{
	int rc;

	if ((rc = buf_reserve(out, g->len)) != CD_EOK)
		return rc;
	for (size_t i = 0; i < g->n; i++) {
		memcpy(out->data + out->len, lg_gather_base(g, &g->v[i]), g->v[i].len);
		out->len += g->v[i].len;
	}
	out->data[out->len] = '\0';
	return CD_EOK;
}

size_t
lg_gather_iov(struct lg_gather *g, size_t off, struct iovec *iov, size_t max)
{
	size_t k = 0;

	/* Sends go forward: start from the piece the last call reached. */
	if (off < g->cur_at) {
		g->cur = 0;
		g->cur_at = 0;
	}
	while (g->cur < g->n && g->cur_at + g->v[g->cur].len <= off) {
		g->cur_at += g->v[g->cur].len;
		g->cur++;
	}
	for (size_t i = g->cur, at = g->cur_at; i < g->n && k < max; i++) {
		const struct lg_piece *pc = &g->v[i];
		size_t skip = off > at ? off - at : 0;

		iov[k].iov_base = (void *)(lg_gather_base(g, pc) + skip);
		iov[k++].iov_len = pc->len - skip;
		at += pc->len;
	}
	return k;
}
