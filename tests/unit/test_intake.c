/* SPDX-License-Identifier: MIT */
/*
 * test_intake.c - the back-pressure rule, with a fake clock: a pause only
 * while the socket's reads fill their budget, the broker is connected and
 * acknowledging, and the committed events waiting reached `high`; its end
 * at `low`, at a stalled or lost broker and after the longest pause; the
 * deadlines to look again; the time paused; undoing a change the loop
 * refused.
 */
#include <check.h>
#include <stdlib.h>

#include "daemon/intake.h"

#define HIGH 100
#define LOW 50
#define STALL 1000
#define MAXP 400

static void setup(struct intake *in)
{
	intake_init(in, &(struct intake_opts){.high = HIGH, .low = LOW, .stall_ms = STALL,
					      .max_pause_ms = MAXP});
}

/* A view of an overloaded bridge: reading full budgets, the broker
 * connected, `backlog` waiting, `acked` acknowledgements so far. */
static struct intake_view over(uint64_t backlog, uint64_t acked)
{
	return (struct intake_view){.busy = true, .connected = true, .backlog = backlog,
				    .acked = acked};
}

static int64_t tick(struct intake *in, int64_t now, struct intake_view v, bool *changed)
{
	return intake_tick(in, now, &v, changed);
}

/* Starts paused at t=10 (acks seen moving at t=0). */
static void paused_at_10(struct intake *in)
{
	bool ch;

	setup(in);
	ck_assert_int_eq(tick(in, 0, over(0, 1), &ch), -1);
	ck_assert(!ch);
	ck_assert_int_eq(tick(in, 10, over(HIGH, 2), &ch), 10 + MAXP);
	ck_assert(ch);
	ck_assert(intake_paused(in));
}

START_TEST(no_pause_without_every_condition)
{
	struct intake in;
	bool ch;

	setup(&in);
	/* no acknowledgement seen yet: the broker is not known to be moving */
	ck_assert_int_eq(tick(&in, 0, over(HIGH, 0), &ch), -1);
	ck_assert(!ch && !intake_paused(&in));
	/* acks move from here on; each other condition missing in turn */
	struct intake_view v = over(HIGH, 1);
	v.busy = false;
	tick(&in, 1, v, &ch);
	ck_assert(!ch && !intake_paused(&in));
	v = over(HIGH - 1, 2);
	tick(&in, 2, v, &ch);
	ck_assert(!ch && !intake_paused(&in));
	v = over(HIGH, 3);
	v.connected = false;
	tick(&in, 3, v, &ch);
	ck_assert(!ch && !intake_paused(&in));
	/* acks last moved at 3: stalled from 3 + STALL on */
	tick(&in, 3 + STALL, over(HIGH, 3), &ch);
	ck_assert(!ch && !intake_paused(&in));
	ck_assert_uint_eq(in.stats.pauses, 0);
	/* all of them: a pause */
	tick(&in, 4 + STALL, over(HIGH, 4), &ch);
	ck_assert(ch && intake_paused(&in));
	ck_assert_uint_eq(in.stats.pauses, 1);
}
END_TEST

START_TEST(pause_ends_at_low)
{
	struct intake in;
	bool ch;

	paused_at_10(&in);
	/* acks keep moving, the backlog shrinks: paused until it is at LOW;
	 * busy no longer matters (the socket is not read) */
	struct intake_view v = over(LOW + 1, 3);
	v.busy = false;
	ck_assert_int_eq(tick(&in, 50, v, &ch), 10 + MAXP);
	ck_assert(!ch && intake_paused(&in));
	v = over(LOW, 4);
	v.busy = false;
	ck_assert_int_eq(tick(&in, 60, v, &ch), -1);
	ck_assert(ch && !intake_paused(&in));
	ck_assert_uint_eq(in.stats.paused_ms, 50);
	ck_assert_uint_eq(intake_paused_ms(&in, 1000), 50);
	/* above LOW but below HIGH again: no new pause */
	tick(&in, 70, over(HIGH - 1, 5), &ch);
	ck_assert(!ch && !intake_paused(&in));
}
END_TEST

START_TEST(pause_ends_when_broker_stalls)
{
	struct intake in;
	bool ch;

	paused_at_10(&in);
	/* the last ack moved at 10: the rule looks again at 10 + STALL or at
	 * the longest pause, whichever comes first */
	in.o.max_pause_ms = 5 * STALL;
	ck_assert_int_eq(tick(&in, 20, over(HIGH, 2), &ch), 10 + STALL);
	ck_assert(!ch);
	ck_assert_int_eq(tick(&in, 10 + STALL - 1, over(HIGH, 2), &ch), 10 + STALL);
	ck_assert(!ch && intake_paused(&in));
	ck_assert_int_eq(tick(&in, 10 + STALL, over(HIGH, 2), &ch), -1);
	ck_assert(ch && !intake_paused(&in));
	ck_assert_uint_eq(intake_paused_ms(&in, 10 + STALL), STALL);
	/* no new pause while the broker does not acknowledge */
	tick(&in, 2 * STALL, over(2 * HIGH, 2), &ch);
	ck_assert(!ch && !intake_paused(&in));
	/* it moves again: the rule applies again */
	tick(&in, 2 * STALL + 1, over(2 * HIGH, 3), &ch);
	ck_assert(ch && intake_paused(&in));
	ck_assert_uint_eq(in.stats.pauses, 2);
}
END_TEST

START_TEST(pause_ends_when_broker_goes)
{
	struct intake in;
	bool ch;

	paused_at_10(&in);
	struct intake_view v = over(HIGH, 3);
	v.connected = false;
	ck_assert_int_eq(tick(&in, 30, v, &ch), -1);
	ck_assert(ch && !intake_paused(&in));
	/* the outbox keeps what comes meanwhile: no pause while away */
	tick(&in, 40, v, &ch);
	ck_assert(!ch && !intake_paused(&in));
}
END_TEST

/* The socket also brings PULL_DATA and TX_ACK: read at least every
 * max_pause_ms, then paused again while the rule holds. */
START_TEST(longest_pause_then_again)
{
	struct intake in;
	bool ch;

	paused_at_10(&in);
	ck_assert_int_eq(tick(&in, 10 + MAXP - 1, over(HIGH, 3), &ch), 10 + MAXP);
	ck_assert(!ch && intake_paused(&in));
	ck_assert_int_eq(tick(&in, 10 + MAXP, over(HIGH, 4), &ch), -1);
	ck_assert(ch && !intake_paused(&in));
	ck_assert_uint_eq(intake_paused_ms(&in, 10 + MAXP), MAXP);
	/* one read filled its budget: paused again */
	ck_assert_int_eq(tick(&in, 10 + MAXP + 1, over(HIGH, 5), &ch), 10 + MAXP + 1 + MAXP);
	ck_assert(ch && intake_paused(&in));
	ck_assert_uint_eq(in.stats.pauses, 2);
	/* the pause under way counts in the time paused */
	ck_assert_uint_eq(intake_paused_ms(&in, 10 + MAXP + 101), MAXP + 100);
}
END_TEST

START_TEST(undo_restores)
{
	struct intake in;
	bool ch;

	paused_at_10(&in);
	intake_undo(&in, 10);                          /* the pause was refused */
	ck_assert(!intake_paused(&in));
	ck_assert_uint_eq(in.stats.pauses, 0);
	tick(&in, 20, over(HIGH, 3), &ch);             /* decided again */
	ck_assert(ch && intake_paused(&in));
	tick(&in, 30, over(LOW, 4), &ch);
	ck_assert(ch && !intake_paused(&in));
	ck_assert_uint_eq(in.stats.paused_ms, 10);
	intake_undo(&in, 30);                          /* the resume was refused */
	ck_assert(intake_paused(&in));
	ck_assert_uint_eq(in.stats.paused_ms, 0);
	ck_assert_uint_eq(intake_paused_ms(&in, 40), 20);
	tick(&in, 40, over(LOW, 5), &ch);              /* tried again */
	ck_assert(ch && !intake_paused(&in));
	ck_assert_uint_eq(in.stats.paused_ms, 20);
	ck_assert_uint_eq(in.stats.pauses, 1);
}
END_TEST

static Suite *intake_suite(void)
{
	Suite *s = suite_create("intake");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, no_pause_without_every_condition);
	tcase_add_test(tc, pause_ends_at_low);
	tcase_add_test(tc, pause_ends_when_broker_stalls);
	tcase_add_test(tc, pause_ends_when_broker_goes);
	tcase_add_test(tc, longest_pause_then_again);
	tcase_add_test(tc, undo_restores);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(intake_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
