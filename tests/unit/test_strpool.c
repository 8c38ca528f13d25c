/* SPDX-License-Identifier: MIT */
/*
 * test_strpool.c - interned strings: one copy per distinct string, stable
 * pointers across set growth and new chunks, strings longer than a chunk.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tables/strpool.h"

#define MANY 20000

START_TEST(same_string_same_pointer)
{
	struct strpool p;
	char a[] = "application", b[] = "application";

	strpool_init(&p);
	const char *x = strpool_intern(&p, a);
	const char *y = strpool_intern(&p, b);
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_eq(x, y);
	ck_assert_ptr_ne(x, a);           /* a copy, not the caller's */
	a[0] = 'X';
	ck_assert_str_eq(x, "application");
	ck_assert_ptr_ne(strpool_intern(&p, "applicatio"), x);
	ck_assert_str_eq(strpool_intern(&p, ""), "");
	ck_assert_ptr_eq(strpool_intern(&p, ""), strpool_intern(&p, ""));
	ck_assert_ptr_null(strpool_intern(&p, NULL));
	ck_assert_uint_eq(p.n, 3);
	strpool_free(&p);
	strpool_free(&p);   /* twice: safe */
	strpool_free(NULL);
}
END_TEST

START_TEST(stable_across_growth)
{
	static const char *first[MANY];
	struct strpool p;
	char buf[32];

	strpool_init(&p);
	for (int i = 0; i < MANY; i++) {
		snprintf(buf, sizeof(buf), "sim-%d", i);
		first[i] = strpool_intern(&p, buf);
		ck_assert_ptr_nonnull(first[i]);
	}
	ck_assert_uint_eq(p.n, MANY);
	ck_assert_uint_ge(p.bytes, (size_t)MANY * 8);
	/* Every pointer still holds its string and is found again. */
	for (int i = 0; i < MANY; i++) {
		snprintf(buf, sizeof(buf), "sim-%d", i);
		ck_assert_str_eq(first[i], buf);
		ck_assert_ptr_eq(strpool_intern(&p, buf), first[i]);
	}
	ck_assert_uint_eq(p.n, MANY);
	strpool_free(&p);
}
END_TEST

START_TEST(longer_than_a_chunk)
{
	struct strpool p;
	size_t len = STRPOOL_CHUNK + 100;
	char *big = malloc(len + 1);

	ck_assert_ptr_nonnull(big);
	memset(big, 'z', len);
	big[len] = '\0';
	strpool_init(&p);
	const char *small = strpool_intern(&p, "before");
	const char *x = strpool_intern(&p, big);
	ck_assert_ptr_nonnull(x);
	ck_assert_uint_eq(strlen(x), len);
	ck_assert_ptr_eq(strpool_intern(&p, big), x);
	ck_assert_str_eq(small, "before");
	ck_assert_ptr_eq(strpool_intern(&p, "before"), small);
	ck_assert_str_eq(strpool_intern(&p, "after"), "after");
	free(big);
	strpool_free(&p);
}
END_TEST

START_TEST(sealed_keeps_strings)
{
	struct strpool p;

	strpool_init(&p);
	const char *a = strpool_intern(&p, "sim");
	const char *b = strpool_intern(&p, "sim-1");
	strpool_seal(&p);
	ck_assert_ptr_null(p.set);
	ck_assert_str_eq(a, "sim");
	ck_assert_str_eq(b, "sim-1");
	/* Interning again works; equal strings from now on share one copy. */
	const char *c = strpool_intern(&p, "sim");
	ck_assert_str_eq(c, "sim");
	ck_assert_ptr_eq(strpool_intern(&p, "sim"), c);
	strpool_seal(&p);
	strpool_seal(&p);   /* twice: safe */
	strpool_free(&p);
}
END_TEST

static Suite *strpool_suite(void)
{
	Suite *s = suite_create("strpool");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, same_string_same_pointer);
	tcase_add_test(tc, stable_across_growth);
	tcase_add_test(tc, longer_than_a_chunk);
	tcase_add_test(tc, sealed_keeps_strings);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(strpool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
