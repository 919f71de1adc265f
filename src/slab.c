/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "slab.h"

/* Spare chunks kept for reuse (1 MiB); more are given back to malloc. */
#define SLAB_POOL_MAX	16

struct slab_chunk {
	/* Live objects, plus one while it is a producer's current chunk. */
	_Atomic size_t	 refs;
	size_t		 used;
	struct slab_chunk *next;	/* in the pool */
	alignas(max_align_t) unsigned char data[];
};

#define SLAB_DATA_SIZE	(SLAB_CHUNK_SIZE - offsetof(struct slab_chunk, data))

static pthread_mutex_t slab_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slab_chunk *slab_pool;
static size_t slab_pool_n;

static struct slab_chunk *
slab_chunk_get(void)
{
	struct slab_chunk *c;

	pthread_mutex_lock(&slab_pool_lock);
	if ((c = slab_pool) != NULL) {
		slab_pool = c->next;
		slab_pool_n--;
	}
	pthread_mutex_unlock(&slab_pool_lock);
	if (c == NULL && (c = malloc(SLAB_CHUNK_SIZE)) == NULL)
		return NULL;
	atomic_init(&c->refs, 1);
	c->used = 0;
	c->next = NULL;
	return c;
}

static void
slab_chunk_put(struct slab_chunk *c)
{
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	pthread_mutex_lock(&slab_pool_lock);
	if (slab_pool_n < SLAB_POOL_MAX) {
		c->next = slab_pool;
		slab_pool = c;
		slab_pool_n++;
		c = NULL;
	}
	pthread_mutex_unlock(&slab_pool_lock);
	free(c);
}

void *
slab_alloc(struct slab *s, size_t n, struct slab_chunk **owner)
{
	size_t need = (n + alignof(max_align_t) - 1) &
	    ~(alignof(max_align_t) - 1);
	struct slab_chunk *c = s->cur;
	void *p;

	*owner = NULL;
	if (SLAB_PLAIN || n == 0 || n > SLAB_OBJ_MAX)
		return malloc(n);
	if (c == NULL || SLAB_DATA_SIZE - c->used < need) {
		if (c != NULL)
			slab_chunk_put(c);
		if ((s->cur = c = slab_chunk_get()) == NULL)
			return malloc(n);
	}
	p = c->data + c->used;
	c->used += need;
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	*owner = c;
	return p;
}

void
slab_free(void *p, struct slab_chunk *owner)
{
	if (owner != NULL)
		slab_chunk_put(owner);
	else
		free(p);
}

void
slab_drop(struct slab *s)
{
	if (s->cur != NULL)
		slab_chunk_put(s->cur);
	s->cur = NULL;
}
