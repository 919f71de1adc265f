/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "slab.h"

/* Objects of several sizes bump one chunk until it is full, aligned for
 * any type; a large one is a plain malloc(). */
START_TEST(test_chunking)
{
	struct slab s = { 0 };
	struct slab_chunk *first = NULL, *own;
	size_t in_first = 0;
	void *objs[200];
	struct slab_chunk *owners[200];

	for (size_t i = 0; i < 200; i++) {
		size_t n = 100 + (i * 37) % 900;
		objs[i] = slab_alloc(&s, n, &owners[i]);
		ck_assert_ptr_nonnull(objs[i]);
		ck_assert_uint_eq((uintptr_t)objs[i] % alignof(max_align_t), 0);
		memset(objs[i], (int)i, n);
		if (SLAB_PLAIN) {
			ck_assert_ptr_null(owners[i]);
			continue;
		}
		ck_assert_ptr_nonnull(owners[i]);
		if (i == 0)
			first = owners[i];
		if (owners[i] == first)
			in_first++;
	}
	if (!SLAB_PLAIN) {
		/* 200 objects of 100-1000 bytes do not fit one 64 KiB chunk. */
		ck_assert_uint_gt(in_first, 40);
		ck_assert_uint_lt(in_first, 200);
		ck_assert_ptr_ne(owners[199], first);
	}
	for (size_t i = 0; i < 200; i++) {
		size_t n = 100 + (i * 37) % 900;
		for (size_t k = 0; k < n; k++)
			ck_assert_int_eq(((unsigned char *)objs[i])[k], (unsigned char)i);
	}
	void *big = slab_alloc(&s, SLAB_OBJ_MAX + 1, &own);
	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_null(own);
	memset(big, 1, SLAB_OBJ_MAX + 1);
	slab_free(big, own);
	for (size_t i = 0; i < 200; i++)
		slab_free(objs[i], owners[i]);
	slab_drop(&s);
	ck_assert_ptr_null(s.cur);
}
END_TEST

/* A chunk whose objects are all released after its producer moved on goes
 * back to the pool, and the next producer reuses it. One object still held
 * keeps its chunk (and its bytes) alive. */
START_TEST(test_reuse)
{
	struct slab a = { 0 }, b = { 0 };
	struct slab_chunk *o1, *o2, *o3;
	char *p1, *p2, *p3;

	if (SLAB_PLAIN)
		return;
	p1 = slab_alloc(&a, 1000, &o1);
	p2 = slab_alloc(&a, 1000, &o2);
	ck_assert_ptr_eq(o1, o2);
	strcpy(p1, "still here");
	slab_drop(&a);		/* the producer moves on */
	slab_free(p2, o2);
	/* p1 keeps the chunk: it is not in the pool, p1 is intact. */
	p3 = slab_alloc(&b, 1000, &o3);
	ck_assert_ptr_ne(o3, o1);
	ck_assert_str_eq(p1, "still here");
	slab_free(p3, o3);
	slab_drop(&b);		/* o3's chunk is free now: pooled */
	slab_free(p1, o1);	/* and so is o1's */
	/* The last chunk pooled is handed out first. */
	p3 = slab_alloc(&b, 1000, &o3);
	ck_assert_ptr_nonnull(p3);
	ck_assert_ptr_eq(o3, o1);
	slab_free(p3, o3);
	slab_drop(&b);
}
END_TEST

/* Objects made by one thread and released by another, as the HTTP threads
 * make events that the outputs release: every byte stays the producer's
 * until released, and nothing is lost (LeakSanitizer, valgrind). */
#define XT_N	200000
#define XT_RING	1024

struct xt {
	pthread_mutex_t lock;
	pthread_cond_t	cond;
	struct { unsigned char *p; struct slab_chunk *o; size_t n; uint32_t tag; }
	    ring[XT_RING];
	size_t		head, tail;
	size_t		bad;
};

static void *
xt_consumer(void *arg)
{
	struct xt *x = arg;

	for (size_t got = 0; got < XT_N; got++) {
		pthread_mutex_lock(&x->lock);
		while (x->head == x->tail)
			pthread_cond_wait(&x->cond, &x->lock);
		unsigned char *p = x->ring[x->tail % XT_RING].p;
		struct slab_chunk *o = x->ring[x->tail % XT_RING].o;
		size_t n = x->ring[x->tail % XT_RING].n;
		uint32_t tag = x->ring[x->tail % XT_RING].tag;
		x->tail++;
		pthread_cond_broadcast(&x->cond);
		pthread_mutex_unlock(&x->lock);
		for (size_t k = 0; k < n; k++)
			if (p[k] != (unsigned char)(tag + k))
				x->bad++;
		slab_free(p, o);
	}
	return NULL;
}

START_TEST(test_cross_thread)
{
	static struct xt x = {
		.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
	};
	struct slab s = { 0 };
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, xt_consumer, &x), 0);
	for (uint32_t i = 0; i < XT_N; i++) {
		size_t n = 16 + (i * 131) % (SLAB_OBJ_MAX + 512);
		struct slab_chunk *o;
		unsigned char *p = slab_alloc(&s, n, &o);

		ck_assert_ptr_nonnull(p);
		for (size_t k = 0; k < n; k++)
			p[k] = (unsigned char)(i + k);
		pthread_mutex_lock(&x.lock);
		while (x.head - x.tail == XT_RING)
			pthread_cond_wait(&x.cond, &x.lock);
		x.ring[x.head % XT_RING].p = p;
		x.ring[x.head % XT_RING].o = o;
		x.ring[x.head % XT_RING].n = n;
		x.ring[x.head % XT_RING].tag = i;
		x.head++;
		pthread_cond_broadcast(&x.cond);
		pthread_mutex_unlock(&x.lock);
	}
	pthread_join(t, NULL);
	slab_drop(&s);
	ck_assert_uint_eq(x.bad, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("slab");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_chunking);
	tcase_add_test(tc, test_reuse);
	tcase_add_test(tc, test_cross_thread);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
