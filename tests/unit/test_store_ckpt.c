/* SPDX-License-Identifier: MIT */
/* test_store_ckpt.c - the WAL checkpoint in a helper process
 * (store/store_ckpt.h): a pass runs beside the commits and its result
 * comes through the ring; commits made meanwhile get another pass, open
 * or closing, and no batch opens during a closing one; the WAL then starts
 * over. A helper that cannot start, dies or writes no result leaves the
 * checkpoint to be made at once; a failed sync it reports is final.
 *
 * This program is its own helper: run with STORE_CKPT_HELPER_ARG, it
 * does what `lorabridge checkpoint-helper` does, unless TEST_CKPT_MODE
 * asks it to misbehave ("kill": killed by a signal; "fsync": reports a
 * failed sync; "gate": waits for the file TEST_CKPT_GATE first). Where
 * the kernel refuses io_uring, checkpoints are made at once
 * (test_store.c) and these tests check only that no helper is used. */
#include <check.h>
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "store/store.h"
#include "rawdb.h"
#include "testutil.h"

#define GW_1 UINT64_C(0xaa555a0000000001)
#define EUI_A UINT64_C(0x70b3d57ed0000001)
#define BLOB (512 * 1024)       /* 128 pages of the WAL and more a commit */
#define WAIT_MS 20000           /* a deadline for a helper, not a timing */
#define SELF "/proc/self/exe"

#define BASE_TEMPLATE "/tmp/test_store_ckpt.XXXXXX"
static char base_dir[] = BASE_TEMPLATE;
static char gate[600];

static void base_setup(void)
{
	memcpy(base_dir, BASE_TEMPLATE, sizeof(base_dir));
	testutil_tmp_make(base_dir);
}

static void base_teardown(void)
{
	testutil_tmp_remove(base_dir);
}

static void case_setup(void)
{
	unsetenv("TEST_CKPT_MODE");
	unsetenv("TEST_CKPT_GATE");
}

static bool kernel_has_io_uring(void)
{
	struct io_uring ring;

	if (io_uring_queue_init(2, &ring, 0) < 0)
		return false;
	io_uring_queue_exit(&ring);
	return true;
}

/* A store as the daemon runs it: deferred upkeep, the ring, checkpoints
 * in helpers of exe. False where there is no io_uring (the store open,
 * exe given, and no helper ever used: checked by the caller's end). */
static bool open_helper(struct store *s, char *dir, size_t cap, const char *exe)
{
	ck_assert_int_lt(snprintf(dir, cap, "%s/t.XXXXXX", base_dir), (int)cap);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(store_open(s, dir, 200), LB_OK);
	store_defer_upkeep(s, true);
	bool ring = store_sync_start(s) >= 0;
	ck_assert_int_eq(ring, kernel_has_io_uring());
	ck_assert_int_eq(store_checkpoint_helper(s, exe), LB_OK);
	ck_assert(!store__ckpt_usable(s) || ring);
	return ring;
}

/* open_helper() with this program as the helper; false (the store
 * closed) without io_uring. */
static bool open_ring(struct store *s, char *dir, size_t cap)
{
	if (open_helper(s, dir, cap, SELF))
		return true;
	ck_assert_int_eq(store_close(s), LB_OK);
	return false;
}

/* A batch of one large ledger, committed (its sync at once). */
static void commit_big(struct store *s, int i)
{
	static uint8_t blob[BLOB];

	memset(blob, i, sizeof(blob));
	ck_assert_int_eq(store_ledger_put(s, GW_1 + (uint64_t)i, STORE_LEDGER_DUTY_CYCLE, blob,
					  sizeof(blob)), LB_OK);
	ck_assert_int_eq(store_commit(s), LB_OK);
}

/* Commit until a pass starts or a checkpoint is due; the number of the
 * next ledger. */
static int until_checkpoint(struct store *s, int from)
{
	uint64_t spawned = s->ckpt.spawned;
	int failures = s->ckpt.failures, i = from;

	while (s->ckpt.spawned == spawned && s->ckpt.failures == failures &&
	       !store_checkpoint_due(s) && i < from + 64)
		commit_big(s, i++);
	ck_assert(s->ckpt.spawned > spawned || s->ckpt.failures != failures ||
		  store_checkpoint_due(s));
	ck_assert_int_ge(s->wal_frames, STORE_CHECKPOINT_FRAMES);
	return i;
}

/* The helper has written its result (the ring's descriptor is readable:
 * no sync of the WAL is in flight here); not taken yet. */
static void helper_finished(struct store *s)
{
	struct pollfd p = {.fd = store_sync_fd(s), .events = POLLIN};

	ck_assert(s->ckpt.running);
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
}

/* Take completions until the pass's result is in (it may start the
 * next pass). */
static void pass_result(struct store *s)
{
	uint64_t pass = s->ckpt.spawned;

	helper_finished(s);
	for (int i = 0; i < 100 && s->ckpt.running && s->ckpt.spawned == pass; i++) {
		struct pollfd p = {.fd = store_sync_fd(s), .events = POLLIN};
		(void)poll(&p, 1, WAIT_MS);
		(void)store_sync_reap(s);
	}
	ck_assert(!s->ckpt.running || s->ckpt.spawned > pass);
}

/* The WAL started over: the commit after the checkpoint wrote its
 * first frames again. */
static void wal_started_over(struct store *s, int i)
{
	commit_big(s, i);
	ck_assert_int_lt(s->wal_frames, STORE_CKPT_CLOSE_FRAMES);
}

/* A pass beside the commits; its result makes the advance due; the WAL
 * starts over at the next commit. */
START_TEST(test_pass_in_helper)
{
	char dir[512];
	struct store s;

	if (!open_helper(&s, dir, sizeof(dir), SELF)) {
		(void)until_checkpoint(&s, 0);
		ck_assert_int_eq(s.ckpt.spawned, 0);
		ck_assert_int_eq(store_close(&s), LB_OK);
		return;
	}
	int i = until_checkpoint(&s, 0);
	/* Started by the commit that made the WAL long, none due: a writer
	 * need not keep its batch closed for an open pass. */
	ck_assert_int_eq(s.ckpt.spawned, 1);
	ck_assert(s.ckpt.running);
	ck_assert(!store_checkpoint_due(&s));
	ck_assert(!store_checkpoint_closing(&s));
	ck_assert(!s.gen.adv_due);
	pass_result(&s);
	ck_assert_int_eq(s.ckpt.closings, 0);
	ck_assert_int_eq(s.ckpt.failures, 0);
	ck_assert(s.gen.adv_due);   /* the open's advance is in the database file now */
	ck_assert(!store_checkpoint_due(&s));
	wal_started_over(&s, i);
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_generation(&s)->outcome, STORE_GEN_CONTINUED);
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM ledger"), i + 1);
}
END_TEST

/* A commit after the pass took its snapshot: a closing pass, started when
 * no batch is open; no batch opens until it ends (a staging waits for
 * it), then the WAL starts over. */
START_TEST(test_closing_pass)
{
	char dir[512];
	struct store s;
	struct store_session a = {.dev_eui = EUI_A, .activation = LB_ACT_ABP, .dev_addr = 1,
				  .has_fcnt_up_last = true, .fcnt_up_last = 7};

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	int i = until_checkpoint(&s, 0);
	helper_finished(&s);
	commit_big(&s, i++);   /* fewer than STORE_CKPT_CLOSE_FRAMES frames */
	ck_assert(s.ckpt.running);
	pass_result(&s);
	ck_assert_int_eq(s.ckpt.spawned, 1);
	ck_assert(store_checkpoint_due(&s));   /* a writer keeps its batch closed */
	ck_assert(store_upkeep_due(&s));
	ck_assert(store_upkeep(&s) == false || s.ckpt.running);
	ck_assert(store_checkpoint_closing(&s));
	ck_assert_int_eq(s.ckpt.closings, 1);
	ck_assert(store_checkpoint_due(&s));
	ck_assert(!store_upkeep_due(&s));   /* not even the advance */
	/* A staging that cannot wait waits for the pass. */
	ck_assert_int_eq(s.ckpt.waits, 0);
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	ck_assert_int_eq(s.ckpt.waits, 1);
	ck_assert(!s.ckpt.running);
	ck_assert(!store_checkpoint_due(&s));
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_lt(s.wal_frames, STORE_CKPT_CLOSE_FRAMES);
	ck_assert_int_eq(s.ckpt.spawned, 2);
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT fcnt_up_last FROM session"), 7);
}
END_TEST

/* No commit during the pass, but a batch opened before its end: that
 * batch cannot start the WAL over (its snapshot is older), so a closing
 * pass follows, and the batch is due at once to let it start. */
START_TEST(test_open_batch_not_done)
{
	char dir[512];
	struct store s;
	struct store_session a = {.dev_eui = EUI_A, .activation = LB_ACT_ABP, .dev_addr = 1,
				  .has_fcnt_up_last = true, .fcnt_up_last = 9};

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	int i = until_checkpoint(&s, 0);
	helper_finished(&s);
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	ck_assert_int_gt(store_due_ms(&s), 0);
	pass_result(&s);
	ck_assert(store_checkpoint_due(&s));
	ck_assert_int_eq(store_due_ms(&s), 0);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert(store_checkpoint_closing(&s));   /* started by that commit */
	pass_result(&s);
	ck_assert(!store_checkpoint_due(&s));
	ck_assert_int_eq(s.ckpt.waits, 0);
	wal_started_over(&s, i);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* Many frames committed during a pass: another open pass at once. */
START_TEST(test_open_pass_again)
{
	char dir[512];
	struct store s;

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	int i = until_checkpoint(&s, 0);
	helper_finished(&s);
	int64_t seen = s.wal_frames;
	while (s.wal_frames - seen <= STORE_CKPT_CLOSE_FRAMES)
		commit_big(&s, i++);
	pass_result(&s);
	/* the reap that took the result started the next pass */
	ck_assert_int_eq(s.ckpt.spawned, 2);
	ck_assert(s.ckpt.running);
	ck_assert_int_eq(s.ckpt.passes, 1);
	ck_assert(!store_checkpoint_closing(&s));
	ck_assert(!store_checkpoint_due(&s));
	pass_result(&s);
	ck_assert(!s.ckpt.running);
	ck_assert_int_eq(s.ckpt.closings, 0);
	ck_assert(!store_checkpoint_due(&s));
	wal_started_over(&s, i);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* A closing pass holds every commit: it counts as a stalled sync (the
 * daemon's watchdog, store_sync_stalled_ms()). */
START_TEST(test_closing_pass_stalls)
{
	char dir[512];
	struct store s;

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	int i = until_checkpoint(&s, 0);
	helper_finished(&s);
	commit_big(&s, i++);
	pass_result(&s);
	ck_assert_int_lt(snprintf(gate, sizeof(gate), "%s/gate", dir), (int)sizeof(gate));
	setenv("TEST_CKPT_MODE", "gate", 1);
	setenv("TEST_CKPT_GATE", gate, 1);
	(void)store_upkeep(&s);
	ck_assert(store_checkpoint_closing(&s));
	struct timespec t = {0, 5 * 1000 * 1000};
	for (int n = 0; n < WAIT_MS / 5 && store_sync_stalled_ms(&s) < 10; n++)
		nanosleep(&t, NULL);
	ck_assert_int_ge(store_sync_stalled_ms(&s), 10);
	testutil_write_file(gate, "go\n");
	pass_result(&s);
	ck_assert_int_eq(store_sync_stalled_ms(&s), 0);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* A helper that cannot start, or ends without a result: logged, and the
 * checkpoint is made at once (the WAL starts over all the same); after
 * STORE_CKPT_MAX_FAILURES in a row no helper is tried again. */
START_TEST(test_no_helper_checkpoint_at_once)
{
	char dir[512];
	struct store s;

	if (!open_helper(&s, dir, sizeof(dir), "/nonexistent/lorabridge")) {
		ck_assert_int_eq(store_close(&s), LB_OK);
		return;
	}
	int i = 0;
	for (int round = 1; round <= STORE_CKPT_MAX_FAILURES + 1; round++) {
		i = until_checkpoint(&s, i);
		while (store_upkeep_due(&s))   /* an at-once checkpoint due to it */
			(void)store_upkeep(&s);
		ck_assert_int_eq(s.ckpt.spawned, 0);
		ck_assert_int_eq(s.ckpt.failures, round <= STORE_CKPT_MAX_FAILURES
						  ? round : STORE_CKPT_MAX_FAILURES);
		wal_started_over(&s, i++);
	}
	ck_assert(!store__ckpt_usable(&s));
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

START_TEST(test_helper_killed)
{
	char dir[512];
	struct store s;

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	setenv("TEST_CKPT_MODE", "kill", 1);
	int i = until_checkpoint(&s, 0);
	pass_result(&s);
	ck_assert_int_eq(s.ckpt.failures, 1);
	ck_assert_int_eq(s.ckpt.pid, 0);   /* waited for */
	/* At once, in the next upkeep (no batch is open). */
	ck_assert(store_checkpoint_due(&s));
	ck_assert(store_upkeep_due(&s));
	(void)store_upkeep(&s);
	ck_assert_int_eq(s.ckpt.spawned, 1);
	ck_assert(!store_checkpoint_due(&s));
	wal_started_over(&s, i);
	unsetenv("TEST_CKPT_MODE");
	/* The next one in a helper again. */
	i = until_checkpoint(&s, i + 1);
	ck_assert_int_eq(s.ckpt.spawned, 2);
	pass_result(&s);
	ck_assert_int_eq(s.ckpt.failures, 0);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* A failed sync in the helper is the store's: final. */
START_TEST(test_helper_sync_failure_is_final)
{
	char dir[512];
	struct store s;

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	setenv("TEST_CKPT_MODE", "fsync", 1);
	int i = until_checkpoint(&s, 0);
	pass_result(&s);
	ck_assert(store_sync_failed(&s));
	ck_assert(!store_upkeep_due(&s));
	ck_assert_int_eq(store_ledger_put(&s, GW_1 + (uint64_t)i, STORE_LEDGER_DUTY_CYCLE,
					  (const uint8_t *)"x", 1), LB_ERR_IO);
	ck_assert_int_eq(store_close(&s), LB_ERR_IO);
}
END_TEST

/* The close waits for the pass and its process: no zombie, no result
 * lost (a failed sync it reports still fails the close). */
START_TEST(test_close_waits_for_pass)
{
	char dir[512];
	struct store s;

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	setenv("TEST_CKPT_MODE", "fsync", 1);
	(void)until_checkpoint(&s, 0);
	pid_t pid = s.ckpt.pid;
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(store_close(&s), LB_ERR_IO);
	errno = 0;
	ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}
END_TEST

/* The helper's own work, in this process: one line for the daemon. */
START_TEST(test_helper_main)
{
	char dir[512], path[600], line[64] = "";
	struct store s;
	int p[2], rc, n_log, n_done;

	(void)open_helper(&s, dir, sizeof(dir), NULL);
	commit_big(&s, 1);
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME),
			 (int)sizeof(path));
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(store_checkpoint_main(path, p[1]), 0);
	ck_assert_int_gt(read(p[0], line, sizeof(line) - 1), 0);
	ck_assert_int_eq(sscanf(line, "%d %d %d", &rc, &n_log, &n_done), 3);
	ck_assert_int_eq(rc, SQLITE_OK);
	ck_assert_int_eq(n_log, s.wal_frames);
	ck_assert_int_eq(n_done, n_log);
	/* A database that is not there: not created, an error line. */
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/none.db", dir), (int)sizeof(path));
	ck_assert_int_eq(store_checkpoint_main(path, p[1]), 1);
	memset(line, 0, sizeof(line));
	ck_assert_int_gt(read(p[0], line, sizeof(line) - 1), 0);
	ck_assert_int_eq(sscanf(line, "%d", &rc), 1);
	ck_assert_int_eq(rc, SQLITE_CANTOPEN);
	struct stat st;
	ck_assert_int_ne(stat(path, &st), 0);
	ck_assert_int_eq(store_checkpoint_main(NULL, p[1]), 2);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("store_ckpt");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, case_setup, NULL);
	tcase_add_test(tc, test_helper_main);
	tcase_add_test(tc, test_pass_in_helper);
	tcase_add_test(tc, test_closing_pass);
	tcase_add_test(tc, test_open_pass_again);
	tcase_add_test(tc, test_open_batch_not_done);
	tcase_add_test(tc, test_closing_pass_stalls);
	tcase_add_test(tc, test_no_helper_checkpoint_at_once);
	tcase_add_test(tc, test_helper_killed);
	tcase_add_test(tc, test_helper_sync_failure_is_final);
	tcase_add_test(tc, test_close_waits_for_pass);
	suite_add_tcase(s, tc);
	return s;
}

/* This program as the helper (see the top). */
static int helper(const char *db)
{
	const char *mode = getenv("TEST_CKPT_MODE");

	if (mode && strcmp(mode, "kill") == 0)
		raise(SIGKILL);
	if (mode && strcmp(mode, "fsync") == 0) {
		printf("%d 1 1\n", SQLITE_IOERR_FSYNC);
		return 1;
	}
	if (mode && strcmp(mode, "gate") == 0) {
		struct timespec t = {0, 2 * 1000 * 1000};
		struct stat st;
		for (int n = 0; n < 30000 && stat(getenv("TEST_CKPT_GATE"), &st) != 0; n++)
			nanosleep(&t, NULL);
	}
	return store_checkpoint_main(db, STDOUT_FILENO);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], STORE_CKPT_HELPER_ARG) == 0)
		return helper(argc == 3 ? argv[2] : NULL);
	log_threshold = LOG_LVL_WARN;   /* errors under test still show */
	return testutil_run(suite());
}
