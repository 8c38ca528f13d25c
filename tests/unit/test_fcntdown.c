/* SPDX-License-Identifier: MIT */
/*
 * test_fcntdown.c - NFCntDown reserved ahead: when a ceiling is raised,
 * when a frame must wait for a commit, and the end of the counter space.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "tables/fcntdown.h"

START_TEST(test_fcnt_down_reservation)
{
	struct fcntdown r;
	uint64_t batch = 5;

	ck_assert_uint_eq(fcntdown_reserve_ahead(10, 64), 74);
	ck_assert_uint_eq(fcntdown_reserve_ahead(UINT32_MAX - 10, 64), UINT32_MAX);
	ck_assert(fcntdown_reserve_due(10, 10));
	ck_assert(fcntdown_reserve_due(11, 10));
	ck_assert(fcntdown_reserve_due(10, 41));        /* 31 left */
	ck_assert(!fcntdown_reserve_due(10, 42));       /* 32 left */

	/* Restart with a persisted ceiling of 100: raise and commit first. */
	fcntdown_load(&r, 100);
	ck_assert_uint_eq(fcntdown_reserve(&r, batch, batch), FCNTDOWN_STAGE | FCNTDOWN_COMMIT);
	ck_assert_uint_eq(r.ceiling, 164);
	batch++;                                      /* the daemon committed */
	fcntdown_used(&r);
	/* 101..132: covered by the committed ceiling, nothing to do. */
	for (uint32_t n = 101; n <= 132; n++) {
		ck_assert_uint_eq(r.next, n);
		ck_assert_uint_eq(fcntdown_reserve(&r, batch, batch), 0);
		ck_assert_uint_eq(r.durable, 164);
		fcntdown_used(&r);
	}
	/* 133: 31 left: raise, riding along with the regular batch. */
	ck_assert_uint_eq(fcntdown_reserve(&r, batch, batch), FCNTDOWN_STAGE);
	ck_assert_uint_eq(r.ceiling, 197);
	ck_assert_uint_eq(r.durable, 164);
	fcntdown_used(&r);
	/* Not committed yet; at 164 the frame would have to wait for it. */
	r.next = 164;
	ck_assert_uint_eq(fcntdown_reserve(&r, batch, batch), FCNTDOWN_COMMIT);
	/* Committed but its sync not yet complete: still not durable. */
	ck_assert_uint_eq(fcntdown_reserve(&r, batch + 1, batch), FCNTDOWN_COMMIT);
	ck_assert_uint_eq(r.durable, 164);
	/* Once its batch is on the disk, the new ceiling counts. */
	ck_assert_uint_eq(fcntdown_reserve(&r, batch + 1, batch + 1), 0);
	ck_assert_uint_eq(r.durable, 197);

	/* A raised ceiling whose put_session failed is forgotten. */
	fcntdown_load(&r, 10);
	ck_assert_uint_eq(fcntdown_reserve(&r, 7, 7), FCNTDOWN_STAGE | FCNTDOWN_COMMIT);
	fcntdown_unstage(&r);
	ck_assert_uint_eq(fcntdown_reserve(&r, 8, 8), FCNTDOWN_STAGE | FCNTDOWN_COMMIT);
	ck_assert_uint_eq(r.durable, 10);
	ck_assert_uint_eq(r.batch, 8);

	/* The end of the counter space: UINT32_MAX itself is never used. */
	fcntdown_load(&r, UINT32_MAX - 1);
	ck_assert_uint_eq(fcntdown_reserve(&r, 1, 1), FCNTDOWN_STAGE | FCNTDOWN_COMMIT);
	ck_assert_uint_eq(r.ceiling, UINT32_MAX);
	fcntdown_used(&r);
	ck_assert_uint_eq(fcntdown_reserve(&r, 2, 2), FCNTDOWN_EXHAUSTED);
}
END_TEST

/* A join stages its session's first block with the join (fcntdown_start):
 * counters 0..63 need no commit of their own once that batch is on the
 * disk, and none is used before. */
START_TEST(test_fcnt_down_join_block)
{
	struct fcntdown r;

	fcntdown_start(&r, FCNTDOWN_BLOCK, 7);
	/* The join's batch 7 not on the disk yet (7 and above are not). */
	ck_assert_uint_eq(fcntdown_reserve(&r, 8, 7), FCNTDOWN_COMMIT);
	ck_assert_uint_eq(r.ceiling, FCNTDOWN_BLOCK);
	ck_assert_uint_eq(r.durable, 0);
	/* On the disk: 0..32 go without staging or committing anything. */
	for (uint32_t n = 0; n <= FCNTDOWN_BLOCK - FCNTDOWN_LOW; n++) {
		ck_assert_uint_eq(r.next, n);
		ck_assert_uint_eq(fcntdown_reserve(&r, 8, 8), 0);
		ck_assert_uint_eq(r.durable, FCNTDOWN_BLOCK);
		fcntdown_used(&r);
	}
	/* Then the next block rides along with a regular batch. */
	ck_assert_uint_eq(fcntdown_reserve(&r, 8, 8), FCNTDOWN_STAGE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fcntdown");
	TCase *tc = tcase_create("reserve");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_fcnt_down_reservation);
	tcase_add_test(tc, test_fcnt_down_join_block);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
