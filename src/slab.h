/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Chunks for small objects that one thread makes together and that die at
 * about the same time, in about the order they were made: the parsed
 * events of the batches an HTTP thread reads. An object is a bump of the
 * thread's current chunk; the chunk counts its live objects and, once the
 * last is released (by any thread), goes back to a small shared pool for
 * the next producer. That replaces a malloc() and a cross-thread free() of
 * a few KB per event, which glibc serves from its sorted bins.
 *
 * The price is that one long-lived object keeps its whole chunk
 * (SLAB_CHUNK_SIZE) alive; objects bigger than SLAB_OBJ_MAX are plain
 * malloc() (owner NULL). Built with AddressSanitizer, every object is a
 * plain malloc(), so use-after-free of an object is still caught.
 */
#ifndef CD_SLAB_H
#define CD_SLAB_H

#include <stddef.h>

/* 1 where every object is a plain malloc(): under AddressSanitizer. */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_PLAIN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_PLAIN	1
#endif
#endif
#ifndef SLAB_PLAIN
#define SLAB_PLAIN	0
#endif

#define SLAB_CHUNK_SIZE	((size_t)64 * 1024)
#define SLAB_OBJ_MAX	(SLAB_CHUNK_SIZE / 8)

struct slab_chunk;

/** A producer's state: one thread's, zero-initialised. */
struct slab {
	struct slab_chunk *cur;
};

/**
 * n bytes (aligned for any object), or NULL (ENOMEM). *owner gets the
 * chunk to pass to slab_free(), or NULL for a plain malloc().
 */
void *slab_alloc(struct slab *s, size_t n, struct slab_chunk **owner);
/** Release an object from slab_alloc(); any thread. */
void slab_free(void *p, struct slab_chunk *owner);
/** The producer lets go of its current chunk (at thread exit). */
void slab_drop(struct slab *s);

#endif
