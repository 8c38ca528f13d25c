/* SPDX-License-Identifier: MIT */
/*
 * test_slab.c - objects of one size in blocks: zeroed, aligned, distinct
 * and stable across new blocks, released ones reused before a new block,
 * sizes rounded up, free safe twice.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tables/slab.h"

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
			ck_assert_uint_eq(p[i][k], 0);
		memset(p[i], (int)(i & 0xff), OBJ);
	}
	ck_assert_uint_eq(s.live, MANY);
	ck_assert_uint_eq(s.n_blocks, (MANY + s.per_block - 1) / s.per_block);
	/* Every object keeps what was written to it: none overlap. */
	for (size_t i = 0; i < MANY; i++)
		for (size_t k = 0; k < OBJ; k++)
			ck_assert_uint_eq(p[i][k], i & 0xff);
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

static Suite *slab_suite(void)
{
	Suite *s = suite_create("slab");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, alloc_zeroed_and_stable);
	tcase_add_test(tc, released_reused);
	tcase_add_test(tc, sizes_rounded);
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
