/* SPDX-License-Identifier: MIT */
/*
 * test_intake.c - the back-pressure rule, with a fake clock and a fake
 * loop's idle time: a pause only after a whole window with the loop busy
 * at least INTAKE_BUSY_PERMILLE, the broker connected and acknowledging,
 * and `high` committed events waiting both at the last release and now;
 * its end at `low`, at a stalled or lost broker and after the longest
 * pause (none until `low` if the waiting events fell by less than
 * high - low: it did not help); the weight of a long bucket; the
 * deadlines to look again; the time paused; undoing a change;
 * and, with a real loop and socket, that a pause stops the reads and a
 * resume brings them back.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "daemon/intake.h"

#define HIGH 100
#define LOW 50
#define STALL 1000
#define MAXP 400
#define STEP (INTAKE_WINDOW_MS / INTAKE_BUCKETS)

/* The clock, the loop's idle time and the broker's acknowledgements. */
struct fx {
	struct intake in;
	int64_t now, idle_us;
	uint64_t acked;
	bool stalled, disconnected;
	uint64_t ack_rate;     /* acknowledgements per s (default 1000) */
};

static void setup(struct fx *f, int64_t max_pause)
{
	*f = (struct fx){.ack_rate = 1000};
	intake_init(&f->in, &(struct intake_opts){.high = HIGH, .low = LOW, .stall_ms = STALL,
						  .max_pause_ms = max_pause});
}

/* One tick `ms` later; the loop idle `idle_pct` % of that time. Unless
 * stalled, the broker acknowledged something meanwhile. */
static int64_t tick(struct fx *f, int64_t ms, int idle_pct, uint64_t backlog, uint64_t residue,
		    bool *ch)
{
	f->now += ms;
	f->idle_us += ms * 1000 * idle_pct / 100;
	if (!f->stalled) {
		uint64_t n = (uint64_t)ms * f->ack_rate / 1000;
		f->acked += n ? n : 1;
	}
	struct intake_view v = {.idle_us = f->idle_us, .connected = !f->disconnected,
				.backlog = backlog, .residue = residue, .acked = f->acked};
	return intake_tick(&f->in, f->now, &v, ch);
}

/* A whole window with the loop `idle_pct` % idle and nothing waiting. */
static void window(struct fx *f, int idle_pct)
{
	bool ch;

	for (int i = 0; i <= INTAKE_BUCKETS; i++) {
		tick(f, STEP, idle_pct, 0, 0, &ch);
		ck_assert(!ch);
	}
}

/* A whole busy window, then `backlog` waiting (as much at the last
 * release): still no pause (another condition is missing). */
static void no_pause_when_busy(struct fx *f, uint64_t backlog)
{
	bool ch;

	window(f, 0);
	tick(f, 1, 0, backlog, backlog, &ch);
	ck_assert(!ch && !intake_paused(&f->in));
}

/* Paused at f->now after a busy window. */
static void paused(struct fx *f, int64_t max_pause)
{
	bool ch;

	setup(f, max_pause);
	window(f, 0);
	ck_assert_int_eq(intake_busy_permille(&f->in), 1000);
	int64_t next = tick(f, 1, 0, HIGH, HIGH, &ch);
	ck_assert(ch && intake_paused(&f->in));
	/* looked at again at the longest pause, or when the last ack (now)
	 * is STALL old, whichever comes first */
	ck_assert_int_eq(next, f->now + (max_pause < STALL ? max_pause : STALL));
}

START_TEST(busy_share_of_a_window)
{
	struct fx f;
	bool ch;

	setup(&f, MAXP);
	ck_assert_int_eq(intake_busy_permille(&f.in), -1);
	for (int i = 0; i < INTAKE_BUCKETS; i++)
		tick(&f, STEP, 30, 0, 0, &ch);
	ck_assert_int_eq(intake_busy_permille(&f.in), -1);   /* not a whole window yet */
	tick(&f, STEP, 30, 0, 0, &ch);
	ck_assert_int_eq(intake_busy_permille(&f.in), 700);
	/* ticks closer than a bucket add to the open one */
	for (int i = 0; i < 4; i++)
		tick(&f, STEP / 4, 0, 0, 0, &ch);
	ck_assert_int_eq(intake_busy_permille(&f.in), 730);
	/* idle counted beyond a bucket's span (a clock read late) is no
	 * negative work */
	struct fx g;
	setup(&g, MAXP);
	window(&g, 0);
	tick(&g, STEP, 200, 0, 0, &ch);
	ck_assert_int_eq(intake_busy_permille(&g.in), 900);
	/* a long idle wait is one long bucket, weighed by its length: it
	 * replaces the oldest (70 of 100 ms busy) */
	tick(&f, 9 * STEP, 100, 0, 0, &ch);
	ck_assert_int_eq(intake_busy_permille(&f.in), (8 * 70 + 100 + 0) * 1000 / (9 * STEP + 9 * STEP));
}
END_TEST

START_TEST(no_pause_without_every_condition)
{
	struct fx f;
	bool ch;

	setup(&f, MAXP);
	/* not a whole window seen yet */
	tick(&f, STEP, 0, HIGH, HIGH, &ch);
	ck_assert(!ch);
	window(&f, 0);
	/* each condition missing in turn */
	tick(&f, 1, 0, HIGH, HIGH - 1, &ch);   /* a batch released at once: no lag */
	ck_assert(!ch);
	tick(&f, 1, 0, HIGH - 1, HIGH, &ch);   /* the broker caught up since */
	ck_assert(!ch);
	f.disconnected = true;
	tick(&f, 1, 0, HIGH, HIGH, &ch);
	ck_assert(!ch);
	f.disconnected = false;
	f.stalled = true;
	tick(&f, STALL, 0, HIGH, HIGH, &ch);   /* no ack for STALL ms */
	ck_assert(!ch);
	f.stalled = false;
	ck_assert_uint_eq(f.in.stats.pauses, 0);
	/* idle 20 % of the window: not overloaded */
	window(&f, 20);
	tick(&f, 1, 20, HIGH, HIGH, &ch);
	ck_assert(!ch && !intake_paused(&f.in));
	/* every condition: a pause */
	window(&f, 5);
	tick(&f, 1, 0, HIGH, HIGH, &ch);
	ck_assert(ch && intake_paused(&f.in));
	ck_assert_uint_eq(f.in.stats.pauses, 1);
}
END_TEST

START_TEST(no_pause_before_an_ack)
{
	struct fx f;

	setup(&f, MAXP);
	f.stalled = true;      /* nothing acknowledged since the start */
	no_pause_when_busy(&f, HIGH);
}
END_TEST

START_TEST(pause_ends_at_low)
{
	struct fx f;
	bool ch;

	paused(&f, MAXP);
	int64_t at = f.now;
	ck_assert_int_eq(tick(&f, 40, 50, LOW + 1, HIGH, &ch), at + MAXP);
	ck_assert(!ch && intake_paused(&f.in));
	ck_assert_int_eq(tick(&f, 10, 50, LOW, HIGH, &ch), -1);
	ck_assert(ch && !intake_paused(&f.in));
	ck_assert_uint_eq(f.in.stats.paused_ms, 50);
	ck_assert_uint_eq(intake_paused_ms(&f.in, f.now + 1000), 50);
	/* below HIGH again: no new pause, whatever the residue */
	tick(&f, 1, 0, HIGH - 1, 2 * HIGH, &ch);
	ck_assert(!ch && !intake_paused(&f.in));
}
END_TEST

START_TEST(pause_ends_when_broker_stalls)
{
	struct fx f;
	bool ch;

	paused(&f, 5 * STALL);
	int64_t acked_at = f.now;
	f.stalled = true;
	/* the rule looks again when the last ack is STALL old (before the
	 * longest pause) */
	ck_assert_int_eq(tick(&f, 10, 100, HIGH, HIGH, &ch), acked_at + STALL);
	ck_assert(!ch);
	ck_assert_int_eq(tick(&f, STALL - 11, 100, HIGH, HIGH, &ch), acked_at + STALL);
	ck_assert(!ch && intake_paused(&f.in));
	ck_assert_int_eq(tick(&f, 1, 100, HIGH, HIGH, &ch), -1);
	ck_assert(ch && !intake_paused(&f.in));
	ck_assert_uint_eq(intake_paused_ms(&f.in, f.now), STALL);
	/* no new pause while it does not acknowledge, busy as the loop is */
	no_pause_when_busy(&f, 2 * HIGH);
	/* it moves again: the rule applies again */
	f.stalled = false;
	tick(&f, 1, 0, 2 * HIGH, 2 * HIGH, &ch);
	ck_assert(ch && intake_paused(&f.in));
	ck_assert_uint_eq(f.in.stats.pauses, 2);
}
END_TEST

START_TEST(pause_ends_when_broker_goes)
{
	struct fx f;
	bool ch;

	paused(&f, MAXP);
	f.disconnected = true;
	ck_assert_int_eq(tick(&f, 20, 0, HIGH, HIGH, &ch), -1);
	ck_assert(ch && !intake_paused(&f.in));
	/* the outbox keeps what comes meanwhile: no pause while away */
	no_pause_when_busy(&f, HIGH);
}
END_TEST

/* A pause that lasted max_pause_ms while the broker acknowledged no faster
 * than before it did not help (the broker is slow by itself): no new
 * pause, busy as the loop is, until the waiting events are down to `low`;
 * then the rule applies again. */
START_TEST(futile_pause_then_none_until_low)
{
	struct fx f;
	bool ch;

	paused(&f, MAXP);                                /* at HIGH waiting */
	int64_t at = f.now;
	for (int64_t t = STEP; t < MAXP; t += STEP) {
		ck_assert_int_eq(tick(&f, STEP, 70, HIGH, HIGH, &ch), at + MAXP);
		ck_assert(!ch && intake_paused(&f.in));
	}
	/* the same rate as before: no help, even with the backlog fallen */
	ck_assert_int_eq(tick(&f, STEP, 70, LOW + 1, HIGH, &ch), -1);
	ck_assert(ch && !intake_paused(&f.in));
	ck_assert_uint_eq(intake_paused_ms(&f.in, f.now), MAXP);
	/* a busy window, the broker still behind: no pause */
	for (int i = 0; i <= INTAKE_BUCKETS; i++) {
		tick(&f, STEP, 0, 2 * HIGH, 2 * HIGH, &ch);
		ck_assert(!ch && !intake_paused(&f.in));
	}
	ck_assert_int_ge(intake_busy_permille(&f.in), INTAKE_BUSY_PERMILLE);
	/* it caught up once: the rule applies again */
	tick(&f, 1, 0, LOW, 2 * HIGH, &ch);
	ck_assert(!ch);
	tick(&f, 1, 0, HIGH, HIGH, &ch);
	ck_assert(ch && intake_paused(&f.in));
	ck_assert_uint_eq(f.in.stats.pauses, 2);
	/* the pause under way counts in the time paused */
	ck_assert_uint_eq(intake_paused_ms(&f.in, f.now + 100), MAXP + 100);
}
END_TEST

/* A longest pause during which the broker acknowledged INTAKE_HELP_PERCENT
 * of its rate before helped (it was short of CPU), even with a backlog far
 * from `low` (e.g. after an outage): the rule applies again after a busy
 * window (the pause's idle time is in the window: not at once). Just
 * below that rate it did not help. */
static void longest_pause_at_rate(struct fx *f, uint64_t rate_during)
{
	bool ch;

	setup(f, MAXP);
	window(f, 0);                                   /* 1000/s before */
	tick(f, 1, 0, 10 * HIGH, 10 * HIGH, &ch);
	ck_assert(ch && intake_paused(&f->in));
	int64_t at = f->now;
	f->ack_rate = rate_during;
	while (f->now + STEP < at + MAXP)
		tick(f, STEP, 60, 10 * HIGH, 10 * HIGH, &ch);
	ck_assert(intake_paused(&f->in));
	tick(f, at + MAXP - f->now, 60, 10 * HIGH, 10 * HIGH, &ch);
	ck_assert(ch && !intake_paused(&f->in));
	f->ack_rate = 1000;
	tick(f, 1, 0, 10 * HIGH, 10 * HIGH, &ch);
	ck_assert(!ch);                                 /* the pause is in the window */
	ck_assert_int_lt(intake_busy_permille(&f->in), INTAKE_BUSY_PERMILLE);
	for (int i = 0; i <= INTAKE_BUCKETS && !ch; i++)
		tick(f, STEP, 0, 10 * HIGH, 10 * HIGH, &ch);
}

START_TEST(longest_pause_that_helped)
{
	struct fx f;

	longest_pause_at_rate(&f, 1000 * INTAKE_HELP_PERCENT / 100);
	ck_assert(intake_paused(&f.in));
	ck_assert_uint_eq(f.in.stats.pauses, 2);
	longest_pause_at_rate(&f, 1000 * INTAKE_HELP_PERCENT / 100 - 20);
	ck_assert(!intake_paused(&f.in));
	ck_assert_uint_eq(f.in.stats.pauses, 1);
}
END_TEST

/* A bucket longer than the window (the loop held for seconds) weighs as
 * one window: a long busy hold followed by a lightly loaded second is not
 * a busy window. */
START_TEST(long_bucket_weighs_as_a_window)
{
	struct fx f;
	bool ch;

	setup(&f, MAXP);
	window(&f, 50);
	tick(&f, 10 * INTAKE_WINDOW_MS, 0, 0, 0, &ch);   /* held 10 s, busy */
	for (int i = 0; i < INTAKE_BUCKETS - 1; i++)
		tick(&f, STEP, 50, 0, 0, &ch);
	/* (1000 + 9 x 50) / 1900 */
	ck_assert_int_eq(intake_busy_permille(&f.in), (1000 + 9 * 50) * 1000 / 1900);
	tick(&f, 1, 50, HIGH, HIGH, &ch);
	ck_assert(!ch && !intake_paused(&f.in));
}
END_TEST

START_TEST(undo_restores)
{
	struct fx f;
	bool ch;

	paused(&f, MAXP);
	intake_undo(&f.in, f.now);                     /* the pause was refused */
	ck_assert(!intake_paused(&f.in));
	ck_assert_uint_eq(f.in.stats.pauses, 0);
	tick(&f, 10, 0, HIGH, HIGH, &ch);              /* decided again */
	ck_assert(ch && intake_paused(&f.in));
	tick(&f, 10, 0, LOW, HIGH, &ch);
	ck_assert(ch && !intake_paused(&f.in));
	ck_assert_uint_eq(f.in.stats.paused_ms, 10);
	intake_undo(&f.in, f.now);                     /* the resume was refused */
	ck_assert(intake_paused(&f.in));
	ck_assert_uint_eq(f.in.stats.paused_ms, 0);
	ck_assert_uint_eq(intake_paused_ms(&f.in, f.now + 10), 20);
	tick(&f, 10, 0, LOW, HIGH, &ch);               /* tried again */
	ck_assert(ch && !intake_paused(&f.in));
	ck_assert_uint_eq(f.in.stats.paused_ms, 20);
	ck_assert_uint_eq(f.in.stats.pauses, 1);
}
END_TEST

/* ---- applied to a real loop --------------------------------------------- */

static int reads;

static void on_read(void *arg, int fd, uint32_t events)
{
	char buf[16];

	(void)arg;
	(void)events;
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		reads++;
}

/* A loop reading a bound UDP socket (rx, at *a) that tx can send to. */
struct sockets {
	struct sockaddr_in a;
	struct loop l;
	int rx, tx;
};

static void sockets_open(struct sockets *k)
{
	socklen_t len = sizeof(k->a);

	k->a = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	k->rx = socket(AF_INET, SOCK_DGRAM, 0);
	k->tx = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(k->rx, 0);
	ck_assert_int_ge(k->tx, 0);
	ck_assert_int_eq(bind(k->rx, (struct sockaddr *)&k->a, sizeof(k->a)), 0);
	ck_assert_int_eq(getsockname(k->rx, (struct sockaddr *)&k->a, &len), 0);
	ck_assert_int_eq(loop_init(&k->l), LB_OK);
	ck_assert_int_eq(loop_add(&k->l, k->rx, EPOLLIN, on_read, NULL), LB_OK);
	reads = 0;
}

static void sockets_send(struct sockets *k)
{
	ck_assert_int_eq(sendto(k->tx, "x", 1, 0, (struct sockaddr *)&k->a, sizeof(k->a)), 1);
}

static void sockets_close(struct sockets *k)
{
	loop_close(&k->l);
	close(k->rx);
	close(k->tx);
}

/* Paused and applied, a datagram sent: it waits in the socket, the loop
 * does not read it (a pass of wait_ms). */
static void paused_with_datagram(struct fx *f, struct sockets *k, int64_t wait_ms)
{
	paused(f, MAXP);
	ck_assert_int_eq(intake_apply(&f->in, &k->l, k->rx, f->now), LB_OK);
	sockets_send(k);
	ck_assert_int_eq(loop_run_once(&k->l, loop_now_ms() + wait_ms), 0);
	ck_assert_int_eq(reads, 0);
}

START_TEST(applied_to_the_loop)
{
	struct sockets k;
	struct fx f;

	sockets_open(&k);
	paused_with_datagram(&f, &k, 50);
	/* idle time was measured meanwhile */
	ck_assert_int_ge(k.l.idle_us, 40 * 1000);

	bool ch;
	tick(&f, 10, 0, LOW, HIGH, &ch);
	ck_assert(ch && !intake_paused(&f.in));
	ck_assert_int_eq(intake_apply(&f.in, &k.l, k.rx, f.now), LB_OK);
	ck_assert_int_eq(loop_run_once(&k.l, loop_now_ms() + 1000), 1);
	ck_assert_int_eq(reads, 1);

	/* a socket the loop does not know: refused, the change undone */
	tick(&f, 1, 0, HIGH, HIGH, &ch);
	ck_assert(ch && intake_paused(&f.in));
	ck_assert_int_eq(intake_apply(&f.in, &k.l, k.tx, f.now), LB_ERR_NOT_FOUND);
	ck_assert(!intake_paused(&f.in));
	ck_assert_uint_eq(f.in.stats.pauses, 1);
	sockets_close(&k);
}
END_TEST

/* The shutdown ends a pause under way for good (intake_resume()): the
 * socket is read again, the pause's time counted; the rule is not asked.
 * Refused by the loop, the pause stands and the error is returned. */
START_TEST(resumed_for_the_shutdown)
{
	struct sockets k;
	struct fx f;

	sockets_open(&k);
	/* not paused: nothing to do */
	setup(&f, MAXP);
	ck_assert_int_eq(intake_resume(&f.in, &k.l, k.tx, f.now), LB_OK);

	paused_with_datagram(&f, &k, 20);
	/* the loop refuses: the pause stands */
	ck_assert_int_eq(intake_resume(&f.in, &k.l, k.tx, f.now + 5), LB_ERR_NOT_FOUND);
	ck_assert(intake_paused(&f.in));
	ck_assert_uint_eq(f.in.stats.paused_ms, 0);
	/* with the backlog still high, the rule would go on pausing */
	ck_assert_int_eq(intake_resume(&f.in, &k.l, k.rx, f.now + 7), LB_OK);
	ck_assert(!intake_paused(&f.in));
	ck_assert_uint_eq(f.in.stats.paused_ms, 7);
	ck_assert_uint_eq(f.in.stats.pauses, 1);
	ck_assert_int_eq(loop_run_once(&k.l, loop_now_ms() + 1000), 1);
	ck_assert_int_eq(reads, 1);
	sockets_close(&k);
}
END_TEST

static Suite *intake_suite(void)
{
	Suite *s = suite_create("intake");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, busy_share_of_a_window);
	tcase_add_test(tc, no_pause_without_every_condition);
	tcase_add_test(tc, no_pause_before_an_ack);
	tcase_add_test(tc, pause_ends_at_low);
	tcase_add_test(tc, pause_ends_when_broker_stalls);
	tcase_add_test(tc, pause_ends_when_broker_goes);
	tcase_add_test(tc, futile_pause_then_none_until_low);
	tcase_add_test(tc, longest_pause_that_helped);
	tcase_add_test(tc, long_bucket_weighs_as_a_window);
	tcase_add_test(tc, undo_restores);
	tcase_add_test(tc, applied_to_the_loop);
	tcase_add_test(tc, resumed_for_the_shutdown);
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
