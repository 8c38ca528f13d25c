/* SPDX-License-Identifier: MIT */
/* test_euiset.c - the EUI set against a plain array model. */
#include <check.h>
#include <stdlib.h>

#include "tables/euiset.h"
#include "base/lb_err.h"

#define MODEL_N 3000

START_TEST(test_add_has_remove)
{
	struct euiset s = {0};

	ck_assert(!euiset_has(&s, 0));
	euiset_remove(&s, 7);   /* empty set: nothing to do */
	ck_assert_int_eq(euiset_add(&s, 0), LB_OK);
	ck_assert_int_eq(euiset_add(&s, UINT64_MAX), LB_OK);
	ck_assert_int_eq(euiset_add(&s, 0), LB_OK);
	ck_assert_uint_eq(euiset_count(&s), 2);
	ck_assert(euiset_has(&s, 0));
	ck_assert(euiset_has(&s, UINT64_MAX));
	ck_assert(!euiset_has(&s, 1));
	euiset_remove(&s, 0);
	ck_assert(!euiset_has(&s, 0));
	ck_assert(euiset_has(&s, UINT64_MAX));
	ck_assert_uint_eq(euiset_count(&s), 1);
	euiset_free(&s);
	ck_assert_uint_eq(euiset_count(&s), 0);
	euiset_free(&s);   /* twice is safe */
}
END_TEST

/* Random adds and removes over a small key range (so runs collide and
 * wrap), compared after every step with a membership array. */
START_TEST(test_matches_model)
{
	static bool in[MODEL_N];
	struct euiset s = {0};
	size_t n = 0;

	srandom(13);
	for (int step = 0; step < 200000; step++) {
		uint64_t k = (uint64_t)(random() % MODEL_N);
		uint64_t eui = UINT64_C(0x70b3d57ed0000000) + k;
		if (random() % 3) {
			ck_assert_int_eq(euiset_add(&s, eui), LB_OK);
			n += !in[k];
			in[k] = true;
		} else {
			euiset_remove(&s, eui);
			n -= in[k];
			in[k] = false;
		}
		ck_assert_uint_eq(euiset_count(&s), n);
		uint64_t probe = (uint64_t)(random() % MODEL_N);
		ck_assert(euiset_has(&s, UINT64_C(0x70b3d57ed0000000) + probe) == in[probe]);
	}
	for (uint64_t k = 0; k < MODEL_N; k++)
		ck_assert(euiset_has(&s, UINT64_C(0x70b3d57ed0000000) + k) == in[k]);
	ck_assert_uint_le(2 * euiset_count(&s), s.cap);
	euiset_free(&s);
}
END_TEST

static Suite *euiset_suite(void)
{
	Suite *s = suite_create("euiset");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_add_has_remove);
	tcase_add_test(tc, test_matches_model);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(euiset_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
