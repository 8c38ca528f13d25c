/* SPDX-License-Identifier: MIT */
/*
 * test_ids.c - the ids the bridge generates (deduplicationId,
 * downlinkId, queue item ids) are RFC 4122 version-4 UUIDs that never
 * repeat within a run.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ids.h"

static int cmp16(const void *x, const void *y)
{
	return memcmp(x, y, 16);
}

START_TEST(test_ids_unique_and_v4)
{
	enum { N = 200000 };
	uint8_t (*ids)[16] = malloc(sizeof(*ids) * N);

	ck_assert_ptr_nonnull(ids);
	struct idgen g = {.counter = 0};

	memset(g.seed, 0xa5, sizeof(g.seed));
	for (size_t i = 0; i < N; i++) {
		idgen_next(&g, ids[i]);
		ck_assert_uint_eq(ids[i][6] >> 4, 4);          /* version 4 */
		ck_assert_uint_eq(ids[i][8] & 0xc0, 0x80);     /* RFC 4122 variant */
	}
	qsort(ids, N, 16, cmp16);
	for (size_t i = 1; i < N; i++)
		ck_assert_msg(memcmp(ids[i - 1], ids[i], 16) != 0, "id repeated after %zu", i);
	free(ids);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ids");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_ids_unique_and_v4);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
