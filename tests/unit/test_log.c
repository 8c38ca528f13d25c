/* SPDX-License-Identifier: MIT */
/*
 * test_log.c - LB_LOG_RL(): its window runs on CLOCK_MONOTONIC, so a step
 * of the wall clock neither silences its lines nor lets a flood through,
 * and the count of lines it left out reaches the log without a later line
 * (log_ratelimit_tick(), log_close()).
 *
 * The clocks are this program's own: clock_gettime() and time() below take
 * the place of the C library's (the linker binds log.c's calls to the
 * executable's definitions) and add the shifts a test sets to the real
 * clocks. Each test runs in its own process (Check's fork mode), so every
 * call site of LB_LOG_RL() starts unused.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "testutil.h"

#define PERIOD_MS ((int64_t)LOG_RL_PERIOD_S * 1000)
#define CAPTURE_MAX 16384

static int64_t mono_shift_ms;  /* added to CLOCK_MONOTONIC */
static time_t wall_shift_s;    /* added to CLOCK_REALTIME and time() */

/* The kernel's call for this struct timespec: on a 32-bit target built
 * with a 64-bit time_t (configure.ac's _TIME_BITS=64, where this function
 * is the C library's __clock_gettime64) the 64-bit one. */
#ifdef SYS_clock_gettime64
#define SYS_CLOCK_GETTIME (sizeof(time_t) == 8 ? SYS_clock_gettime64 : SYS_clock_gettime)
#else
#define SYS_CLOCK_GETTIME SYS_clock_gettime
#endif

int clock_gettime(clockid_t id, struct timespec *ts)
{
	if (syscall(SYS_CLOCK_GETTIME, id, ts) != 0)
		return -1;
	if (id == CLOCK_MONOTONIC) {
		int64_t ns = (int64_t)ts->tv_nsec + mono_shift_ms % 1000 * 1000000;
		ts->tv_sec += (time_t)(mono_shift_ms / 1000 + ns / 1000000000);
		ts->tv_nsec = (long)(ns % 1000000000);
	} else if (id == CLOCK_REALTIME) {
		ts->tv_sec += wall_shift_s;
	}
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

static int64_t mono_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The log's lines (stderr) go to a file from now on. */
static FILE *capture;

static void capture_start(void)
{
	capture = tmpfile();
	ck_assert_ptr_nonnull(capture);
	fflush(stderr);
	ck_assert_int_ge(dup2(fileno(capture), STDERR_FILENO), 0);
}

/* How many times needle is in what was logged so far. */
static int logged(const char *needle)
{
	static char buf[CAPTURE_MAX];
	int n = 0;

	fflush(stderr);
	ssize_t len = pread(fileno(capture), buf, sizeof(buf) - 1, 0);
	ck_assert_int_ge(len, 0);
	ck_assert_int_lt(len, (ssize_t)sizeof(buf) - 1);
	buf[len] = '\0';
	for (const char *p = buf; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* One call site per test: each has its own window. */
static void site_back(int i)
{
	LB_LOG_RL(LOG_LVL_WARN, "test", "back %d.", i);
}

static void site_fwd(int i)
{
	LB_LOG_RL(LOG_LVL_WARN, "test", "fwd %d.", i);
}

static void site_tick(int i)
{
	LB_LOG_RL(LOG_LVL_WARN, "test", "tick %d.", i);
}

static void site_close(int i)
{
	LB_LOG_RL(LOG_LVL_WARN, "test", "close %d.", i);
}

/* The wall clock set back an hour (NTP, an operator) once the window has
 * passed: the next line passes, with the count of the one left out. */
START_TEST(test_wall_step_back_does_not_silence)
{
	capture_start();
	for (int i = 0; i < LOG_RL_BURST; i++)
		site_back(i);
	site_back(LOG_RL_BURST);
	ck_assert_int_eq(logged("[test] back "), LOG_RL_BURST);

	wall_shift_s = -3600;
	mono_shift_ms = PERIOD_MS;
	site_back(99);
	ck_assert_int_eq(logged("[test] back 99. (1 similar suppressed)"), 1);
}
END_TEST

/* The wall clock set forward an hour within the window: the flood stays
 * limited. */
START_TEST(test_wall_step_forward_does_not_open_window)
{
	capture_start();
	for (int i = 0; i < LOG_RL_BURST; i++)
		site_fwd(i);
	wall_shift_s = 3600;
	site_fwd(99);
	ck_assert_int_eq(logged("[test] fwd "), LOG_RL_BURST);
}
END_TEST

/* A flood that stops: its count is written once its window has passed,
 * at the site's level, without a later line, and once only. */
START_TEST(test_count_written_after_window)
{
	capture_start();
	int64_t start = mono_now_ms();
	for (int i = 0; i < LOG_RL_BURST + 3; i++)
		site_tick(i);
	ck_assert_int_eq(logged("[test] tick "), LOG_RL_BURST);

	int64_t due = log_ratelimit_tick(mono_now_ms());
	ck_assert_int_ge(due, start + PERIOD_MS);
	ck_assert_int_le(due, mono_now_ms() + PERIOD_MS);
	ck_assert_int_eq(logged("suppressed"), 0);

	ck_assert_int_eq(log_ratelimit_tick(due), -1);
	ck_assert_int_eq(logged("warn   [test] 3 similar line(s) suppressed (\"tick %d.\")"), 1);
	ck_assert_int_eq(log_ratelimit_tick(due + PERIOD_MS), -1);
	ck_assert_int_eq(logged("suppressed"), 1);

	/* The next line, in a new window, does not count them again. */
	mono_shift_ms = due - start;
	site_tick(99);
	ck_assert_int_eq(logged("[test] tick 99.\n"), 1);
	ck_assert_int_eq(logged("suppressed"), 1);
}
END_TEST

/* A count a passing line took is not written again by the timer. */
START_TEST(test_count_taken_by_line_not_repeated)
{
	capture_start();
	int64_t start = mono_now_ms();
	for (int i = 0; i < LOG_RL_BURST + 2; i++)
		site_tick(i);
	mono_shift_ms = PERIOD_MS;
	site_tick(99);
	ck_assert_int_eq(logged("[test] tick 99. (2 similar suppressed)"), 1);
	ck_assert_int_eq(log_ratelimit_tick(start + 3 * PERIOD_MS), -1);
	ck_assert_int_eq(logged("suppressed"), 1);
}
END_TEST

/* At shutdown every pending count is written, window passed or not. */
START_TEST(test_count_written_at_close)
{
	capture_start();
	for (int i = 0; i < LOG_RL_BURST + 2; i++)
		site_close(i);
	ck_assert_int_eq(logged("suppressed"), 0);
	log_close();
	ck_assert_int_eq(logged("[test] 2 similar line(s) suppressed (\"close %d.\")"), 1);
	ck_assert_int_eq(log_ratelimit_tick(mono_now_ms() + PERIOD_MS), -1);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("ratelimit");
	tcase_add_test(tc, test_wall_step_back_does_not_silence);
	tcase_add_test(tc, test_wall_step_forward_does_not_open_window);
	tcase_add_test(tc, test_count_written_after_window);
	tcase_add_test(tc, test_count_taken_by_line_not_repeated);
	tcase_add_test(tc, test_count_written_at_close);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(log_suite());
}
