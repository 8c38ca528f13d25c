/* SPDX-License-Identifier: MIT */
/*
 * test_slab.c - objects of one size in blocks: zeroed, aligned, distinct
 * and stable across new blocks, released ones reused before a new block,
 * sizes rounded up, free safe twice; never one object handed out twice,
 * a double release aborts, and under ASan what is not handed out is
 * poisoned.
 */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tables/slab.h"
#include "testutil.h"

#ifdef SLAB_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define OBJ 120
#define MANY 5000

START_TEST(alloc_zeroed_and_stable)
{
	struct slab s;
	unsigned char **p = calloc(MANY, sizeof(*p));

	ck_assert_ptr_nonnull(p);
	slab_init(&s, OBJ);
	ck_assert_uint_eq(s.size, OBJ);
	for (size_t i = 0; i < MANY; i++) {
		p[i] = slab_alloc(&s);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_uint_eq((uintptr_t)p[i] % sizeof(void *), 0);
		for (size_t k = 0; k < OBJ; k++)
			LB_ASSERT_UINT_EQ(p[i][k], 0);
		memset(p[i], (int)(i & 0xff), OBJ);
	}
	ck_assert_uint_eq(s.live, MANY);
	ck_assert_uint_eq(s.n_blocks, (MANY + s.per_block - 1) / s.per_block);
	/* Every object keeps what was written to it: none overlap. */
	for (size_t i = 0; i < MANY; i++)
		for (size_t k = 0; k < OBJ; k++)
			LB_ASSERT_UINT_EQ(p[i][k], i & 0xff);
	slab_free(&s);
	slab_free(&s);                           /* twice: safe */
	slab_free(NULL);
	free(p);
}
END_TEST

/* Released objects come back (zeroed) before any new block. */
START_TEST(released_reused)
{
	struct slab s;
	void *p[3];

	slab_init(&s, OBJ);
	for (size_t i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(p[i] = slab_alloc(&s));
	memset(p[1], 0xab, OBJ);
	slab_release(&s, p[1]);
	slab_release(&s, NULL);                  /* nothing */
	ck_assert_uint_eq(s.live, 2);
	unsigned char *q = slab_alloc(&s);
	ck_assert_ptr_eq(q, p[1]);
	for (size_t k = 0; k < OBJ; k++)
		ck_assert_uint_eq(q[k], 0);
	/* Fill the block, empty it, fill it again: still one block. */
	size_t per = s.per_block;
	void **all = calloc(per, sizeof(*all));
	ck_assert_ptr_nonnull(all);
	slab_release(&s, p[0]);
	slab_release(&s, q);
	slab_release(&s, p[2]);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < per; i++)
			ck_assert_ptr_nonnull(all[i] = slab_alloc(&s));
		for (size_t i = 0; i < per; i++)
			slab_release(&s, all[i]);
	}
	ck_assert_uint_eq(s.n_blocks, 1);
	ck_assert_uint_eq(s.live, 0);
	free(all);
	slab_free(&s);
}
END_TEST

START_TEST(sizes_rounded)
{
	struct slab s;

	slab_init(&s, 1);
	ck_assert_uint_eq(s.size, sizeof(void *));
	ck_assert_ptr_nonnull(slab_alloc(&s));
	slab_free(&s);
	slab_init(&s, 121);
	ck_assert_uint_eq(s.size % sizeof(void *), 0);
	ck_assert_uint_ge(s.size, 121);
	ck_assert_uint_eq(s.per_block, SLAB_BLOCK_BYTES / s.size);
	slab_free(&s);
	memset(&s, 0, sizeof(s));                /* a zeroed slab hands out nothing */
	ck_assert_ptr_null(slab_alloc(&s));
}
END_TEST

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

/* Allocations and releases interleaved over several blocks: the objects
 * handed out at any time are all distinct, each one of the slab's. Under
 * ASan a released object and a block's unused tail are poisoned, an object
 * handed out is not. */
START_TEST(never_handed_out_twice)
{
	struct slab s;
	void **p = calloc(MANY, sizeof(*p)), **sorted = calloc(MANY, sizeof(*p));

	ck_assert(p && sorted);
	slab_init(&s, OBJ);
	for (size_t i = 0; i < MANY; i++)
		ck_assert_ptr_nonnull(p[i] = slab_alloc(&s));
	for (int round = 0; round < 3; round++) {
		for (size_t i = (size_t)round; i < MANY; i += 3) {
			slab_release(&s, p[i]);
#ifdef SLAB_ASAN
			ck_assert(__asan_address_is_poisoned(p[i]));
			ck_assert(__asan_address_is_poisoned((char *)p[i] + OBJ - 1));
#endif
			p[i] = NULL;
		}
		for (size_t i = (size_t)round; i < MANY; i += 3) {
			ck_assert_ptr_nonnull(p[i] = slab_alloc(&s));
#ifdef SLAB_ASAN
			ck_assert_ptr_null(__asan_region_is_poisoned(p[i], OBJ));
#endif
		}
		memcpy(sorted, p, MANY * sizeof(*p));
		qsort(sorted, MANY, sizeof(*sorted), cmp_ptr);
		for (size_t i = 0; i < MANY; i++) {
			ck_assert(slab_owns(&s, sorted[i]));
			if (i)
				ck_assert_ptr_ne(sorted[i], sorted[i - 1]);
		}
	}
	ck_assert_uint_eq(s.live, MANY);
	ck_assert_uint_eq(s.n_blocks, (MANY + s.per_block - 1) / s.per_block);
	ck_assert(!slab_owns(&s, (char *)p[0] + 1));   /* not an object's start */
	ck_assert(!slab_owns(&s, sorted));
#ifdef SLAB_ASAN
	/* The newest block's tail, never handed out. */
	if (s.next < s.per_block)
		ck_assert(__asan_address_is_poisoned((char *)s.blocks[s.n_blocks - 1] +
						     s.next * s.size));
#endif
	slab_free(&s);
	free(p);
	free(sorted);
}
END_TEST

/* Released twice in a row: caught in every build. */
START_TEST(double_release_aborts)
{
	struct slab s;

	slab_init(&s, OBJ);
	void *a = slab_alloc(&s);
	ck_assert_ptr_nonnull(slab_alloc(&s));
	slab_release(&s, a);
	slab_release(&s, a);
}
END_TEST

#ifdef SLAB_ASAN
/* Released twice with another release between: caught under ASan (the
 * object is poisoned). */
START_TEST(earlier_double_release_aborts)
{
	struct slab s;

	slab_init(&s, OBJ);
	void *a = slab_alloc(&s), *b = slab_alloc(&s);
	slab_release(&s, a);
	slab_release(&s, b);
	slab_release(&s, a);
}
END_TEST
#endif

static Suite *slab_suite(void)
{
	Suite *s = suite_create("slab");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, alloc_zeroed_and_stable);
	tcase_add_test(tc, released_reused);
	tcase_add_test(tc, sizes_rounded);
	tcase_add_test(tc, never_handed_out_twice);
	tcase_add_test_raise_signal(tc, double_release_aborts, SIGABRT);
#ifdef SLAB_ASAN
	tcase_add_test_raise_signal(tc, earlier_double_release_aborts, SIGABRT);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(slab_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
