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
 * failed sync; "gate": waits for the file TEST_CKPT_GATE first;
 * "detached": its stderr /dev/null, "detached-none": and the database
 * none.db, which is not there). Where
 * the kernel refuses io_uring, checkpoints are made at once
 * (test_store.c) and these tests check only that no helper is used. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "store/store.h"
#include "rawdb.h"
#include "ringutil.h"
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

/* Ends a log capture: whether a line of the store's holds text. */
static bool store_logged(int saved, const char *path, const char *text)
{
	return testutil_log_end_has(saved, path, "[store] ", text);
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

/* The helper in "pause" mode (below) stopped before its first write to
 * the database file: it took its snapshot of the WAL, and what is
 * committed now comes after it. */
static void wait_reached(const char *g)
{
	char reached[620];
	struct stat st;
	struct timespec t = {0, 2 * 1000 * 1000};

	ck_assert_int_lt(snprintf(reached, sizeof(reached), "%s.reached", g), (int)sizeof(reached));
	for (int n = 0; n < WAIT_MS / 2 && stat(reached, &st) != 0; n++)
		nanosleep(&t, NULL);
	ck_assert_int_eq(stat(reached, &st), 0);
}

/* The gate of pass n, in dir; the helpers started from now on wait for it. */
static void set_gate(const char *dir, const char *mode, int n)
{
	ck_assert_int_lt(snprintf(gate, sizeof(gate), "%s/gate%d", dir, n), (int)sizeof(gate));
	setenv("TEST_CKPT_MODE", mode, 1);
	setenv("TEST_CKPT_GATE", gate, 1);
}

/* A commit after the pass took its snapshot: a closing pass, started when
 * no batch is open; no batch opens until it ends (a staging that cannot
 * wait waits for it), then the WAL starts over. */
START_TEST(test_commit_during_pass)
{
	char dir[512], g1[600];
	struct store s;
	struct store_session a = {.dev_eui = EUI_A, .activation = LB_ACT_ABP, .dev_addr = 1,
				  .has_fcnt_up_last = true, .fcnt_up_last = 7};

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	set_gate(dir, "pause", 1);
	snprintf(g1, sizeof(g1), "%s", gate);
	int i = until_checkpoint(&s, 0);
	unsetenv("TEST_CKPT_MODE");
	wait_reached(g1);
	commit_big(&s, i++);   /* fewer than STORE_CKPT_CLOSE_FRAMES frames */
	testutil_write_file(g1, "go\n");
	pass_result(&s);
	ck_assert_int_eq(s.ckpt.spawned, 1);
	ck_assert(!s.ckpt.running);
	ck_assert(store_checkpoint_due(&s));   /* a writer keeps its batch closed */
	ck_assert(store_upkeep_due(&s));
	(void)store_upkeep(&s);
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
	uint64_t restarts = s.wal_restarts;
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(s.wal_restarts, restarts + 1);
	ck_assert_int_lt(s.wal_frames, STORE_CKPT_CLOSE_FRAMES);
	ck_assert_int_eq(s.ckpt.spawned, 2);
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT fcnt_up_last FROM session"), 7);
}
END_TEST

/* Many frames committed during each pass: open passes again, at most
 * STORE_CKPT_OPEN_PASSES, then a closing one; the WAL starts over. */
START_TEST(test_open_passes_then_closing)
{
	char dir[512], g[600];
	struct store s;

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	set_gate(dir, "pause", 1);
	int i = until_checkpoint(&s, 0);
	for (int pass = 1; pass <= STORE_CKPT_OPEN_PASSES; pass++) {
		snprintf(g, sizeof(g), "%s", gate);
		wait_reached(g);
		int64_t seen = s.wal_frames;
		while (s.wal_frames - seen <= STORE_CKPT_CLOSE_FRAMES)
			commit_big(&s, i++);
		set_gate(dir, "pause", pass + 1);   /* the next pass's */
		testutil_write_file(g, "go\n");
		pass_result(&s);
		ck_assert_int_eq(s.ckpt.passes, pass);
		if (pass < STORE_CKPT_OPEN_PASSES) {   /* the reap that took it started the next */
			ck_assert_int_eq(s.ckpt.spawned, pass + 1);
			ck_assert(s.ckpt.running);
			ck_assert(!store_checkpoint_closing(&s));
			ck_assert(!store_checkpoint_due(&s));
		}
	}
	unsetenv("TEST_CKPT_MODE");
	ck_assert(!s.ckpt.running);
	ck_assert_int_eq(s.ckpt.spawned, STORE_CKPT_OPEN_PASSES);
	ck_assert(store_checkpoint_due(&s));
	(void)store_upkeep(&s);
	ck_assert(store_checkpoint_closing(&s));
	pass_result(&s);
	ck_assert_int_eq(s.ckpt.closings, 1);
	ck_assert(!store_checkpoint_due(&s));
	wal_started_over(&s, i);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* No commit during the pass, but a batch opened before it copied (its
 * snapshot is older: its commit cannot start the WAL over): a closing
 * pass follows, and the batch is due at once to let it start. */
START_TEST(test_batch_open_during_pass)
{
	char dir[512], g1[600];
	struct store s;
	struct store_session a = {.dev_eui = EUI_A, .activation = LB_ACT_ABP, .dev_addr = 1,
				  .has_fcnt_up_last = true, .fcnt_up_last = 9};

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	set_gate(dir, "gate", 1);
	snprintf(g1, sizeof(g1), "%s", gate);
	int i = until_checkpoint(&s, 0);
	unsetenv("TEST_CKPT_MODE");
	ck_assert(s.ckpt.running);
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);   /* BEGIN during the pass */
	ck_assert_int_gt(store_due_ms(&s), 0);
	testutil_write_file(g1, "go\n");
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

/* The pass ended before the next commit, which started the WAL over: no
 * closing pass, although the WAL's frames now differ from the pass's. */
START_TEST(test_restart_ends_passes)
{
	char dir[512];
	struct store s;

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	int i = until_checkpoint(&s, 0);
	helper_finished(&s);
	uint64_t restarts = s.wal_restarts;
	commit_big(&s, i++);
	ck_assert_int_eq(s.wal_restarts, restarts + 1);
	pass_result(&s);
	ck_assert(!store_checkpoint_due(&s));
	ck_assert_int_eq(s.ckpt.closings, 0);
	ck_assert_int_eq(s.ckpt.passes, 0);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* A commit that starts the WAL over makes an advance due, whatever the
 * checkpoint's result said (a helper's may be lost): the old WAL's last
 * advance is in the database file. */
START_TEST(test_restart_advances)
{
	char dir[512];
	struct store s;

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	int i = until_checkpoint(&s, 0);
	pass_result(&s);
	ck_assert(s.gen.adv_due);
	s.gen.adv_due = false;   /* as if the result had not said so */
	commit_big(&s, i);
	ck_assert_int_lt(s.wal_frames, STORE_CKPT_CLOSE_FRAMES);
	ck_assert(s.gen.adv_due);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* A closing pass holds every commit: it counts as a stalled sync (the
 * daemon's watchdog, store_sync_stalled_ms()). */
START_TEST(test_closing_pass_stalls)
{
	char dir[512], g1[600];
	struct store s;

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	set_gate(dir, "pause", 1);
	snprintf(g1, sizeof(g1), "%s", gate);
	int i = until_checkpoint(&s, 0);
	wait_reached(g1);
	commit_big(&s, i++);
	set_gate(dir, "gate", 2);
	testutil_write_file(g1, "go\n");
	pass_result(&s);
	(void)store_upkeep(&s);
	ck_assert(store_checkpoint_closing(&s));
	ck_assert_int_ge(store_checkpoint_running_ms(&s), 0);
	struct timespec t = {0, 5 * 1000 * 1000};
	for (int n = 0; n < WAIT_MS / 5 && store_sync_stalled_ms(&s) < 10; n++)
		nanosleep(&t, NULL);
	ck_assert_int_ge(store_sync_stalled_ms(&s), 10);
	ck_assert_int_ge(store_checkpoint_running_ms(&s), 10);
	testutil_write_file(gate, "go\n");
	pass_result(&s);
	ck_assert_int_eq(store_sync_stalled_ms(&s), 0);
	ck_assert_int_eq(store_checkpoint_running_ms(&s), 0);
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
	ck_assert(s.gen.adv_due);           /* what it copied is unknown */
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

/* A helper that reports an error of SQLite's other than a failed sync or
 * a lock: a failure as a helper's (the checkpoint at once, an advance),
 * not retried in helpers for ever while the WAL grows. */
START_TEST(test_helper_error_at_once)
{
	char dir[512];
	struct store s;

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	setenv("TEST_CKPT_MODE", "err", 1);
	int i = until_checkpoint(&s, 0);
	pass_result(&s);
	ck_assert_int_eq(s.ckpt.failures, 1);
	ck_assert(s.gen.adv_due);
	ck_assert(store_checkpoint_due(&s));
	(void)store_upkeep(&s);
	ck_assert(!store_checkpoint_due(&s));
	ck_assert_int_eq(s.stats.checkpoints_on_loop, 1);
	wal_started_over(&s, i);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* A helper that copied the whole WAL and was killed before its line:
 * the advance is due all the same (its copy may hold the last one). */
START_TEST(test_lost_result_advances)
{
	char dir[512];
	struct store s;

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	setenv("TEST_CKPT_MODE", "lost", 1);
	(void)until_checkpoint(&s, 0);
	s.gen.adv_due = false;   /* not due before the pass (the open's advance is done) */
	pass_result(&s);
	ck_assert_int_eq(s.ckpt.failures, 1);
	ck_assert(s.gen.adv_due);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* The close waits for the pass that runs and starts no other, even when
 * that pass's result would. */
START_TEST(test_close_starts_no_pass)
{
	char dir[512], g1[600], count[600];
	struct store s;

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	ck_assert_int_lt(snprintf(count, sizeof(count), "%s/helpers", dir), (int)sizeof(count));
	setenv("TEST_CKPT_COUNT", count, 1);
	set_gate(dir, "pause", 1);
	snprintf(g1, sizeof(g1), "%s", gate);
	int i = until_checkpoint(&s, 0);
	unsetenv("TEST_CKPT_MODE");
	wait_reached(g1);
	int64_t seen = s.wal_frames;
	while (s.wal_frames - seen <= STORE_CKPT_CLOSE_FRAMES)
		commit_big(&s, i++);
	testutil_write_file(g1, "go\n");
	ck_assert_int_eq(store_close(&s), LB_OK);
	FILE *f = fopen(count, "r");
	int n = 0, c;
	ck_assert_ptr_nonnull(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	ck_assert_int_eq(n, 1);
}
END_TEST

/* The helper's own work, in this process: one line for the daemon. */
START_TEST(test_helper_main)
{
	char dir[512], path[600], line[STORE_CKPT_LINE_MAX] = "";
	struct store s;
	int p[2], rc, n_log, n_done;

	(void)open_helper(&s, dir, sizeof(dir), NULL);
	commit_big(&s, 1);
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME),
			 (int)sizeof(path));
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(store_checkpoint_main(path, p[1], s.ckpt.wal_fd), 0);
	ck_assert_int_gt(read(p[0], line, sizeof(line) - 1), 0);
	ck_assert_int_eq(sscanf(line, "%d %d %d", &rc, &n_log, &n_done), 3);
	ck_assert_int_eq(rc, SQLITE_OK);
	ck_assert_int_eq(n_log, s.wal_frames);
	ck_assert_int_eq(n_done, n_log);
	/* The daemon's descriptor of the -wal reports an error (here: a
	 * pipe, which cannot be synced): a failed sync, no checkpoint. */
	commit_big(&s, 2);
	memset(line, 0, sizeof(line));
	ck_assert_int_eq(store_checkpoint_main(path, p[1], p[0]), 1);
	ck_assert_int_gt(read(p[0], line, sizeof(line) - 1), 0);
	ck_assert_int_eq(sscanf(line, "%d %d %d", &rc, &n_log, &n_done), 3);
	ck_assert_int_eq(rc, SQLITE_IOERR_FSYNC);
	ck_assert_int_eq(n_done, -1);
	/* what failed, in words, in the line (the daemon logs it) */
	ck_assert_ptr_nonnull(strstr(line, " fdatasync of the daemon's -wal descriptor: "));
	ck_assert_ptr_nonnull(strstr(line, strerror(EINVAL)));
	/* A database that is not there: not created, an error line. */
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/none.db", dir), (int)sizeof(path));
	ck_assert_int_eq(store_checkpoint_main(path, p[1], -1), 1);
	memset(line, 0, sizeof(line));
	ck_assert_int_gt(read(p[0], line, sizeof(line) - 1), 0);
	ck_assert_int_eq(sscanf(line, "%d", &rc), 1);
	ck_assert_int_eq(rc, SQLITE_CANTOPEN);
	ck_assert_ptr_nonnull(strstr(line, "none.db: unable to open database file\n"));
	struct stat st;
	ck_assert_int_ne(stat(path, &st), 0);
	ck_assert_int_eq(store_checkpoint_main(NULL, p[1], -1), 2);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* With the daemon gone (killed: its connection never closed), the helper
 * is the last connection, and its close checkpoints nothing and deletes
 * no WAL: after a failed sync that WAL is all the next start has. */
START_TEST(test_helper_keeps_wal_when_last)
{
	char dir[512], path[600], wal[620];
	struct store s;
	struct stat st;
	int p[2];

	ck_assert_int_lt(snprintf(dir, sizeof(dir), "%s/k.XXXXXX", base_dir), (int)sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {   /* a store that commits, then dies without closing */
		if (store_open(&s, dir, 200) != LB_OK)
			_exit(1);
		store_defer_upkeep(&s, true);
		commit_big(&s, 1);
		_exit(0);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	ck_assert_int_eq(stat(wal, &st), 0);
	ck_assert_int_gt(st.st_size, 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(store_checkpoint_main(path, p[1], -1), 0);
	ck_assert_int_eq(stat(wal, &st), 0);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* The helper gets the bridge's -wal descriptor as its descriptor 3 and
 * syncs it: here a pipe in its place, which cannot be synced: final. */
START_TEST(test_spawned_helper_syncs_fd3)
{
	char dir[512];
	struct store s;
	int p[2];

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	close(s.ckpt.wal_fd);
	s.ckpt.wal_fd = p[0];
	(void)until_checkpoint(&s, 0);
	pass_result(&s);
	ck_assert(store_sync_failed(&s));
	ck_assert_int_eq(store_close(&s), LB_ERR_IO);
	close(p[1]);
}
END_TEST

/* The helper's errors reach the caller's log, not only the helper's
 * stderr: that is /dev/null under a daemon that has detached (the
 * "detached" mode below). Its failed sync (its descriptor 3 a pipe,
 * which cannot be synced), then its SQLite error (a database that is not
 * there: "detached-none"). */
START_TEST(test_helper_error_in_log)
{
	char dir[512], log[600];
	struct store s;
	int p[2];

	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	ck_assert_int_lt(snprintf(log, sizeof(log), "%s/log", dir), (int)sizeof(log));
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	close(s.ckpt.wal_fd);
	s.ckpt.wal_fd = p[0];
	setenv("TEST_CKPT_MODE", "detached", 1);
	int saved = testutil_log_capture(log);
	(void)until_checkpoint(&s, 0);
	pass_result(&s);
	ck_assert(store_logged(saved, log, "the checkpoint helper's sync failed: fdatasync of the "
			  "daemon's -wal descriptor: Invalid argument"));
	ck_assert(store_sync_failed(&s));
	ck_assert_int_eq(store_close(&s), LB_ERR_IO);
	close(p[1]);

	ck_assert(open_ring(&s, dir, sizeof(dir)));
	setenv("TEST_CKPT_MODE", "detached-none", 1);
	saved = testutil_log_capture(log);
	int i = until_checkpoint(&s, 0);
	pass_result(&s);
	ck_assert(store_logged(saved, log, "the WAL checkpoint failed in the helper: none.db: unable "
			  "to open database file: made at once"));
	ck_assert_int_eq(s.ckpt.failures, 1);
	(void)store_upkeep(&s);   /* made at once */
	wal_started_over(&s, i);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* pidfd_open() refused (a kernel before 5.3, a seccomp filter): that
 * pass is waited for at once, and no helper is started again. The filter
 * stays on this process: only where each test runs in a process of its
 * own (Check's default). */
static void deny_pidfd_open(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_open, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog p = {.len = 4, .filter = f};

	ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p), 0);
}

START_TEST(test_no_pidfd_for_good)
{
	char dir[512];
	struct store s;
	const char *fork_mode = getenv("CK_FORK");

	if (fork_mode && strcmp(fork_mode, "no") == 0)
		return;
	if (!open_ring(&s, dir, sizeof(dir)))
		return;
	deny_pidfd_open();
	int i = until_checkpoint(&s, 0);
	ck_assert_int_eq(s.ckpt.spawned, 1);
	ck_assert(!s.ckpt.running);   /* waited for at once */
	ck_assert(s.gen.adv_due);      /* its good result taken */
	ck_assert(!store__ckpt_usable(&s));
	wal_started_over(&s, i++);
	i = until_checkpoint(&s, i);   /* the next one at once */
	ck_assert_int_eq(s.ckpt.spawned, 1);
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
	tcase_add_test(tc, test_spawned_helper_syncs_fd3);
	tcase_add_test(tc, test_no_pidfd_for_good);
	tcase_add_test(tc, test_helper_keeps_wal_when_last);
	tcase_add_test(tc, test_pass_in_helper);
	tcase_add_test(tc, test_commit_during_pass);
	tcase_add_test(tc, test_open_passes_then_closing);
	tcase_add_test(tc, test_batch_open_during_pass);
	tcase_add_test(tc, test_restart_ends_passes);
	tcase_add_test(tc, test_restart_advances);
	tcase_add_test(tc, test_closing_pass_stalls);
	tcase_add_test(tc, test_no_helper_checkpoint_at_once);
	tcase_add_test(tc, test_helper_killed);
	tcase_add_test(tc, test_helper_error_at_once);
	tcase_add_test(tc, test_lost_result_advances);
	tcase_add_test(tc, test_helper_sync_failure_is_final);
	tcase_add_test(tc, test_helper_error_in_log);
	tcase_add_test(tc, test_close_waits_for_pass);
	tcase_add_test(tc, test_close_starts_no_pass);
	suite_add_tcase(s, tc);
	return s;
}

/* This program as the helper (see the top). */
static void wait_gate(void)
{
	struct timespec t = {0, 2 * 1000 * 1000};
	struct stat st;

	for (int n = 0; n < 30000 && stat(getenv("TEST_CKPT_GATE"), &st) != 0; n++)
		nanosleep(&t, NULL);
}

/* "pause": the first write to the database file (the checkpoint's copy,
 * after its snapshot of the WAL and the WAL's sync) says GATE.reached and
 * waits for GATE. SQLite's unix VFS takes its system calls from a table
 * that xSetSystemCall() replaces. */
static void pause_once(int fd)
{
	static bool paused;
	char link[64], path[600], reached[620];

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	size_t l = strlen(STORE_DB_NAME);
	if (paused || n < (ssize_t)l)
		return;
	path[n] = 0;
	if (strcmp(path + n - (ssize_t)l, STORE_DB_NAME) != 0)
		return;
	paused = true;
	/* (no ck_assert here: this process is no test of Check's) */
	snprintf(reached, sizeof(reached), "%s.reached", getenv("TEST_CKPT_GATE"));
	int r = open(reached, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (r >= 0)
		close(r);
	wait_gate();
}

static ssize_t pause_pwrite64(int fd, const void *b, size_t n, off_t off)
{
	pause_once(fd);
	return pwrite64(fd, b, n, off);
}

static ssize_t pause_pwrite(int fd, const void *b, size_t n, off_t off)
{
	pause_once(fd);
	return pwrite(fd, b, n, off);
}

static ssize_t pause_write(int fd, const void *b, size_t n)
{
	pause_once(fd);
	return write(fd, b, n);
}

static void pause_install(void)
{
	sqlite3_vfs *v = sqlite3_vfs_find(NULL);

	(void)v->xSetSystemCall(v, "pwrite64", (sqlite3_syscall_ptr)pause_pwrite64);
	(void)v->xSetSystemCall(v, "pwrite", (sqlite3_syscall_ptr)pause_pwrite);
	(void)v->xSetSystemCall(v, "write", (sqlite3_syscall_ptr)pause_write);
}

static int helper(const char *db, int wal_fd)
{
	const char *mode = getenv("TEST_CKPT_MODE"), *count = getenv("TEST_CKPT_COUNT");

	if (count) {
		FILE *f = fopen(count, "a");
		if (f) {
			fputs("helper\n", f);
			fclose(f);
		}
	}
	if (mode && strcmp(mode, "kill") == 0)
		raise(SIGKILL);
	if (mode && strcmp(mode, "fsync") == 0) {
		printf("%d 1 1\n", SQLITE_IOERR_FSYNC);
		return 1;
	}
	if (mode && strcmp(mode, "err") == 0) {
		printf("%d -1 -1\n", SQLITE_CANTOPEN);
		return 1;
	}
	if (mode && strcmp(mode, "lost") == 0) {   /* the whole pass, then killed */
		int null = open("/dev/null", O_WRONLY);
		(void)store_checkpoint_main(db, null, wal_fd);
		raise(SIGKILL);
	}
	if (mode && strncmp(mode, "detached", 8) == 0) {   /* stderr: /dev/null */
		int null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, STDERR_FILENO) < 0)
			return 1;
		if (strcmp(mode, "detached-none") == 0)
			db = "none.db";
	}
	if (mode && strcmp(mode, "gate") == 0)
		wait_gate();
	if (mode && strcmp(mode, "pause") == 0)
		pause_install();
	return store_checkpoint_main(db, STDOUT_FILENO, wal_fd);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], STORE_CKPT_HELPER_ARG) == 0)
		return helper(argc >= 3 ? argv[2] : NULL, argc == 4 ? atoi(argv[3]) : -1);
	log_threshold = LOG_LVL_WARN;   /* errors under test still show */
	return testutil_run(suite());
}
