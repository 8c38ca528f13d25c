/* SPDX-License-Identifier: MIT */
/* test_store_sync.c - the store's own syncs (store/store_sync.h): a batch
 * counts as durable only once its WAL sync completed, at once for
 * store_commit(), off the caller's thread with io_uring for
 * store_commit_nowait(); batches committed while a sync is in flight go
 * with the next one; a failed sync is final, and the WAL is then kept at
 * close so that the next start recovers from it. Where the kernel (or
 * qemu-user) refuses io_uring, the test checks that the store falls back to
 * syncing at once instead. */
#include <check.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "store/store.h"
#include "rawdb.h"
#include "testutil.h"

#define EUI_A UINT64_C(0x70b3d57ed0000001)
#define EUI_B UINT64_C(0x70b3d57ed0000002)
#define GW_1 UINT64_C(0xaa555a0000000001)
#define SYNC_WAIT_MS 5000   /* a deadline for a sync to complete, not a timing */

static char base_dir[] = "/tmp/test_store_sync.XXXXXX";

static void base_setup(void)
{
	testutil_tmp_make(base_dir);
}

static void base_teardown(void)
{
	testutil_tmp_remove(base_dir);
}

static void open_store(struct store *s, char *dir, size_t cap)
{
	ck_assert_int_lt(snprintf(dir, cap, "%s/t.XXXXXX", base_dir), (int)cap);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(store_open(s, dir, 200), LB_OK);
}

/* Whether this kernel (or emulator) gives io_uring at all: the store must
 * then use it, else fall back. */
static bool kernel_has_io_uring(void)
{
	struct io_uring ring;

	if (io_uring_queue_init(2, &ring, 0) < 0)
		return false;
	io_uring_queue_exit(&ring);
	return true;
}

static void stage(struct store *s, uint64_t eui, uint32_t fcnt)
{
	struct store_session r = {.dev_eui = eui, .activation = LB_ACT_ABP,
				  .dev_addr = (uint32_t)eui, .has_fcnt_up_last = true,
				  .fcnt_up_last = fcnt};

	ck_assert_int_eq(store_put_session(s, &r), LB_OK);
}

/* Wait (with a deadline) until the sync in flight completes, and take it. */
static int reap_one(struct store *s)
{
	struct pollfd p = {.fd = store_sync_fd(s), .events = POLLIN};

	ck_assert_int_ge(p.fd, 0);
	ck_assert(store_sync_pending(s));
	ck_assert_int_eq(poll(&p, 1, SYNC_WAIT_MS), 1);
	return store_sync_reap(s);
}

/* The sync descriptor of an open store, or the fallback checked. */
static int start_or_fallback(struct store *s)
{
	int fd = store_sync_start(s);

	if (!kernel_has_io_uring()) {
		ck_assert_int_eq(fd, LB_ERR_IO);
		ck_assert_int_eq(store_sync_fd(s), -1);
		return -1;
	}
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(store_sync_start(s), fd);   /* again: the same one */
	ck_assert_int_eq(store_sync_fd(s), fd);
	return fd;
}

START_TEST(test_commit_is_durable_at_return)
{
	char dir[512];
	struct store s;

	open_store(&s, dir, sizeof(dir));
	uint64_t waited = s.stats.syncs_waited;
	stage(&s, EUI_A, 1);
	uint64_t b = store_batch(&s);
	ck_assert(!store_committed(&s, b));
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert(store_committed(&s, b));
	ck_assert_uint_eq(s.stats.syncs_waited, waited + 1);
	/* Without store_sync_start(), a commit that does not wait syncs at
	 * once all the same. */
	stage(&s, EUI_A, 2);
	b = store_batch(&s);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert(store_committed(&s, b));
	ck_assert(!store_sync_pending(&s));
	ck_assert_uint_eq(s.stats.syncs_waited, waited + 2);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

START_TEST(test_nowait_durable_when_reaped)
{
	char dir[512];
	struct store s;

	open_store(&s, dir, sizeof(dir));
	if (start_or_fallback(&s) < 0) {
		stage(&s, EUI_A, 1);
		uint64_t b = store_batch(&s);
		ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
		ck_assert(store_committed(&s, b));
		ck_assert_int_eq(store_close(&s), LB_OK);
		return;
	}
	uint64_t syncs = s.stats.syncs, waited = s.stats.syncs_waited;
	stage(&s, EUI_A, 1);
	uint64_t b1 = store_batch(&s);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	/* Written (another connection reads it), not yet durable: only the
	 * completion says so. */
	ck_assert_int_eq(rawdb_int(dir, "SELECT fcnt_up_last FROM session"), 1);
	ck_assert(!store_committed(&s, b1));
	ck_assert(store_sync_pending(&s));
	/* A batch committed while the sync is in flight goes with the next. */
	stage(&s, EUI_B, 7);
	uint64_t b2 = store_batch(&s);
	ck_assert_uint_eq(b2, b1 + 1);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert(!store_committed(&s, b1));
	ck_assert(!store_committed(&s, b2));
	ck_assert_int_eq(reap_one(&s), LB_OK);
	ck_assert(store_committed(&s, b1));
	ck_assert(!store_committed(&s, b2));
	ck_assert(store_sync_pending(&s));   /* started by the reap */
	ck_assert_int_eq(reap_one(&s), LB_OK);
	ck_assert(store_committed(&s, b2));
	ck_assert(!store_sync_pending(&s));
	ck_assert_uint_eq(s.stats.syncs, syncs + 2);
	ck_assert_uint_eq(s.stats.syncs_waited, waited);   /* none on this thread */
	ck_assert_int_ge(s.stats.max_sync_us, 0);
	/* Nothing new: a reap neither waits nor starts a sync. */
	ck_assert_int_eq(store_sync_reap(&s), LB_OK);
	ck_assert(!store_sync_pending(&s));
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* store_commit() while a sync is in flight: durable at return; the late
 * completion does not take anything back. */
START_TEST(test_wait_overtakes_flight)
{
	char dir[512];
	struct store s;

	open_store(&s, dir, sizeof(dir));
	if (start_or_fallback(&s) < 0) {
		ck_assert_int_eq(store_close(&s), LB_OK);
		return;
	}
	stage(&s, EUI_A, 1);
	uint64_t b1 = store_batch(&s);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	stage(&s, EUI_A, 2);
	uint64_t b2 = store_batch(&s);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert(store_committed(&s, b1));
	ck_assert(store_committed(&s, b2));
	ck_assert_int_eq(reap_one(&s), LB_OK);
	ck_assert(store_committed(&s, b2));
	ck_assert(!store_sync_pending(&s));   /* nothing left to sync */
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* Replace the store's WAL descriptor by a pipe: fdatasync() then fails
 * (EINVAL), as it would on a failing disk. */
static void break_wal_fd(struct store *s)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ge(dup2(p[0], s->sync.wal_fd), 0);
	close(p[0]);
	close(p[1]);
}

static void check_failed_for_good(struct store *s, const char *dir, uint64_t b)
{
	struct stat st;
	char wal[600];

	ck_assert(store_sync_failed(s));
	ck_assert(!store_committed(s, b));
	stage(s, EUI_B, 9);
	ck_assert_int_eq(store_commit(s), LB_ERR_IO);
	ck_assert_int_eq(store_commit_nowait(s), LB_ERR_IO);
	ck_assert(!store_committed(s, b));
	ck_assert_int_eq(store_close(s), LB_ERR_IO);   /* the staged write is lost */
	/* The WAL stays for the next start (SQLite would checkpoint it into
	 * the database unsynced and delete it), and that start reads the
	 * batch that was written from it. */
	snprintf(wal, sizeof(wal), "%s/%s-wal", dir, STORE_DB_NAME);
	ck_assert_int_eq(stat(wal, &st), 0);
	ck_assert_int_gt(st.st_size, 0);
	ck_assert_int_eq(rawdb_int(dir, "SELECT fcnt_up_last FROM session"), 5);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session"), 1);
}

START_TEST(test_failed_sync_is_final)
{
	char dir[512];
	struct store s;

	open_store(&s, dir, sizeof(dir));
	if (start_or_fallback(&s) < 0) {
		ck_assert_int_eq(store_close(&s), LB_OK);
		return;
	}
	break_wal_fd(&s);
	stage(&s, EUI_A, 5);
	uint64_t b = store_batch(&s);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);   /* written; the sync fails */
	ck_assert(!store_sync_failed(&s));
	ck_assert_int_eq(reap_one(&s), LB_ERR_IO);
	ck_assert_int_eq(store_sync_reap(&s), LB_ERR_IO);   /* and stays so */
	check_failed_for_good(&s, dir, b);
}
END_TEST

START_TEST(test_failed_wait_is_final)
{
	char dir[512];
	struct store s;

	open_store(&s, dir, sizeof(dir));
	break_wal_fd(&s);
	stage(&s, EUI_A, 5);
	uint64_t b = store_batch(&s);
	ck_assert_int_eq(store_commit(&s), LB_ERR_IO);
	check_failed_for_good(&s, dir, b);
}
END_TEST

/* Commit 1 MiB ledgers until the WAL is long enough for a checkpoint
 * (STORE_CHECKPOINT_FRAMES pages), with the upkeep deferred as the daemon
 * does; then do the checkpoint step. */
static void checkpoint_now(struct store *s)
{
	static uint8_t blob[STORE_LEDGER_MAX];

	store_defer_upkeep(s, true);
	for (int i = 0; i < 40 && !store_checkpoint_due(s); i++) {
		memset(blob, i, sizeof(blob));
		ck_assert_int_eq(store_ledger_put(s, GW_1 + (uint64_t)i, STORE_LEDGER_DUTY_CYCLE,
						  blob, sizeof(blob)), LB_OK);
		ck_assert_int_eq(store_commit(s), LB_OK);
	}
	ck_assert(store_checkpoint_due(s));
	ck_assert(store_upkeep_due(s));
	(void)store_upkeep(s);
	ck_assert(!store_checkpoint_due(s));
}

/* GUARD (store_sync.h): until the database file's sync after a checkpoint
 * completed, the WAL does not start over (a commit appends to it), commits
 * that do not wait are held and the advance waits; after it, the next
 * commit starts the WAL over. */
START_TEST(test_checkpoint_sync_guarded)
{
	char dir[512];
	struct store s;

	open_store(&s, dir, sizeof(dir));
	bool ring = start_or_fallback(&s) >= 0;
	uint64_t db_syncs = s.stats.db_syncs;
	checkpoint_now(&s);
	int64_t frames = s.wal_frames;
	ck_assert_int_ge(frames, STORE_CHECKPOINT_FRAMES);
	if (!ring) {   /* synced at once */
		ck_assert_uint_eq(s.stats.db_syncs, db_syncs + 1);
		ck_assert(!store_sync_holds_commits(&s));
		ck_assert_int_eq(store_close(&s), LB_OK);
		return;
	}
	ck_assert_uint_eq(s.stats.db_syncs, db_syncs);
	ck_assert(store_sync_holds_commits(&s));
	ck_assert(!store_upkeep_due(&s));   /* the advance waits for it */
	/* A commit meanwhile appends: every frame stays. */
	stage(&s, EUI_A, 1);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_gt(s.wal_frames, frames);
	ck_assert_int_eq(reap_one(&s), LB_OK);
	ck_assert_uint_eq(s.stats.db_syncs, db_syncs + 1);
	ck_assert(!store_sync_holds_commits(&s));
	ck_assert(store_upkeep_due(&s));
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT fcnt_up_last FROM session"), 1);
}
END_TEST

START_TEST(test_wal_starts_over_after_guard)
{
	char dir[512];
	struct store s;

	open_store(&s, dir, sizeof(dir));
	if (start_or_fallback(&s) < 0) {
		ck_assert_int_eq(store_close(&s), LB_OK);
		return;
	}
	checkpoint_now(&s);
	ck_assert(store_sync_holds_commits(&s));
	ck_assert_int_eq(reap_one(&s), LB_OK);
	/* the advance, its marker: the first write starts the WAL over */
	while (store_upkeep(&s))
		;
	ck_assert_int_lt(s.wal_frames, 16);
	stage(&s, EUI_A, 2);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert_int_lt(s.wal_frames, 16);
	ck_assert_int_eq(reap_one(&s), LB_OK);
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT fcnt_up_last FROM session"), 2);
	ck_assert_int_ge(rawdb_int(dir, "SELECT count(*) FROM ledger"), 16);
}
END_TEST

/* A store that could not open leaves no descriptor behind, and closing a
 * zeroed or closed store is safe. */
START_TEST(test_close_releases)
{
	char dir[512];
	struct store s;

	open_store(&s, dir, sizeof(dir));
	(void)start_or_fallback(&s);
	stage(&s, EUI_A, 1);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	/* close waits for the sync in flight and counts it */
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(store_sync_fd(&s), -1);
	ck_assert_int_eq(s.sync.wal_fd, -1);
	ck_assert_int_eq(s.sync.db_fd, -1);
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(store_sync_start(&s), LB_ERR_STATE);
	ck_assert_int_eq(rawdb_int(dir, "SELECT fcnt_up_last FROM session"), 1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("store_sync");
	TCase *tc = tcase_create("sync");

	tcase_set_timeout(tc, 60);   /* 16 MiB written for each checkpoint, under qemu too */
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_test(tc, test_commit_is_durable_at_return);
	tcase_add_test(tc, test_nowait_durable_when_reaped);
	tcase_add_test(tc, test_wait_overtakes_flight);
	tcase_add_test(tc, test_failed_sync_is_final);
	tcase_add_test(tc, test_failed_wait_is_final);
	tcase_add_test(tc, test_close_releases);
	tcase_add_test(tc, test_checkpoint_sync_guarded);
	tcase_add_test(tc, test_wal_starts_over_after_guard);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_threshold = LOG_LVL_WARN;   /* errors under test still show */
	return testutil_run(suite());
}
