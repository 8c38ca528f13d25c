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
#include <sqlite3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "store/store.h"
#include "rawdb.h"
#include "ringutil.h"
#include "testutil.h"

#define EUI_A UINT64_C(0x70b3d57ed0000001)
#define EUI_B UINT64_C(0x70b3d57ed0000002)
#define SYNC_WAIT_MS 5000   /* a deadline for a sync to complete, not a timing */

#define BASE_TEMPLATE "/tmp/test_store_sync.XXXXXX"
static char base_dir[] = BASE_TEMPLATE;

static void base_setup(void)   /* once per test case */
{
	memcpy(base_dir, BASE_TEMPLATE, sizeof(base_dir));
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

static void stage(struct store *s, uint64_t eui, uint32_t fcnt)
{
	struct store_session r = {.dev_eui = eui, .activation = LB_ACT_ABP,
				  .dev_addr = (uint32_t)eui, .has_fcnt_up_last = true,
				  .fcnt_up_last = fcnt};

	ck_assert_int_eq(store_put_session(s, &r), LB_OK);
}

/* Close the store; the database then holds fcnt as the session's last
 * frame counter (what was committed reached the file). */
static void close_at_fcnt(struct store *s, const char *dir, long long fcnt)
{
	ck_assert_int_eq(store_close(s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT fcnt_up_last FROM session"), fcnt);
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

/* A store whose commits can sync off the caller's thread; false (the
 * store closed) where the kernel refuses io_uring, start_or_fallback()
 * having checked the fallback. */
static bool open_with_ring(struct store *s, char *dir, size_t cap)
{
	open_store(s, dir, cap);
	if (start_or_fallback(s) >= 0)
		return true;
	ck_assert_int_eq(store_close(s), LB_OK);
	return false;
}

/* A batch committed without waiting, its sync in flight: its number. */
static uint64_t commit_in_flight(struct store *s)
{
	stage(s, EUI_A, 1);
	uint64_t b = store_batch(s);
	ck_assert_int_eq(store_commit_nowait(s), LB_OK);
	ck_assert(store_sync_pending(s));
	return b;
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

	struct store_session r = {.dev_eui = EUI_B, .activation = LB_ACT_ABP, .dev_addr = 2};

	ck_assert(store_sync_failed(s));
	ck_assert(!store_committed(s, b));
	/* Nothing more is written: no staging, no commit, no upkeep. */
	ck_assert_int_eq(store_put_session(s, &r), LB_ERR_IO);
	ck_assert(!store_upkeep_due(s));
	ck_assert_int_eq(store_commit(s), LB_ERR_IO);
	ck_assert_int_eq(store_commit_nowait(s), LB_ERR_IO);
	ck_assert(!store_committed(s, b));
	ck_assert_int_eq(store_close(s), LB_ERR_IO);   /* the failure, said again */
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

	if (!open_with_ring(&s, dir, sizeof(dir)))
		return;
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

/* After a failed sync, a commit's checkpoint does not run either (the
 * daemon's upkeep is deferred, and a checkpoint due while a batch was open
 * is done by the next commit). */
START_TEST(test_no_checkpoint_after_failure)
{
	char dir[512];
	struct store s;

	open_store(&s, dir, sizeof(dir));
	store_defer_upkeep(&s, true);
	stage(&s, EUI_A, 5);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	s.gen.ckpt_due = true;
	break_wal_fd(&s);
	stage(&s, EUI_A, 6);
	ck_assert_int_eq(store_commit(&s), LB_ERR_IO);
	ck_assert(store_sync_failed(&s));
	ck_assert(s.gen.ckpt_due);   /* not done */
	ck_assert_int_eq(store_close(&s), LB_ERR_IO);
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

/* The state generation's marker file: the generation it names. */
static long long marker(const char *dir)
{
	char path[600], buf[128];
	long long v = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, STORE_GEN_NAME);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	ck_assert_int_eq(sscanf(buf, "lorabridge-state-generation %lld", &v), 1);
	return v;
}

/* A store with the ring and the deferred upkeep (the daemon's), and the
 * generation its marker names (*g); false where there is no io_uring. */
static bool open_deferred(struct store *s, char *dir, size_t cap, long long *g)
{
	if (!open_with_ring(s, dir, cap))
		return false;
	store_defer_upkeep(s, true);
	*g = marker(dir);
	return true;
}

/* A write staged with an advance due, which the next commit carries: the
 * batch's number. */
static uint64_t stage_carrying(struct store *s, uint32_t fcnt)
{
	s->gen.adv_due = true;
	stage(s, EUI_A, fcnt);
	return store_batch(s);
}

/* An advance of the state generation (store_gen.h) is on the disk before
 * its marker names it: in its own transaction (the upkeep), and carried by
 * a batch's commit, a commit ahead or one that does not wait included.
 * Without the ring (this store never starts it) each waits for its sync
 * and the marker is written at once. */
START_TEST(test_advance_synced_before_marker)
{
	char dir[512];
	struct store s;

	open_store(&s, dir, sizeof(dir));
	store_defer_upkeep(&s, true);
	long long g = marker(dir);
	ck_assert_int_eq(store_generation(&s)->committed, g);
	/* Its own transaction, then the marker: a step each. */
	s.gen.adv_due = true;
	uint64_t waited = s.stats.syncs_waited;
	ck_assert(store_upkeep(&s));
	ck_assert_int_eq(store_generation(&s)->committed, g + 1);
	ck_assert_uint_eq(s.stats.syncs_waited, waited + 1);
	ck_assert_int_eq(marker(dir), g);
	ck_assert(!store_upkeep(&s));
	ck_assert_int_eq(marker(dir), g + 1);
	/* Carried by a commit ahead. */
	s.gen.adv_due = true;
	stage(&s, EUI_A, 1);
	waited = s.stats.syncs_waited;
	ck_assert_int_eq(store_commit_ahead(&s), LB_OK);
	ck_assert_uint_eq(s.stats.syncs_waited, waited + 1);
	ck_assert_int_eq(marker(dir), g + 2);
	/* Carried by a commit that does not wait: it waits. */
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);   /* the batch's end */
	uint64_t b = stage_carrying(&s, 2);
	waited = s.stats.syncs_waited;
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert(store_committed(&s, b));
	ck_assert_uint_ge(s.stats.syncs_waited, waited + 1);
	ck_assert_int_eq(marker(dir), g + 3);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* Take completions, each within a deadline, until nothing is in the ring:
 * the WAL's sync, and the marker's steps that each completion starts. */
static void reap_all(struct store *s)
{
	for (int i = 0; i < 16 && (store_sync_pending(s) || s->sync.aux_in_flight); i++) {
		struct pollfd p = {.fd = store_sync_fd(s), .events = POLLIN};
		ck_assert_int_eq(poll(&p, 1, SYNC_WAIT_MS), 1);
		ck_assert_int_eq(store_sync_reap(s), LB_OK);
	}
	ck_assert(!store_sync_pending(s) && !s->sync.aux_in_flight);
}

/* The sync in flight completes (taken within a deadline) and the marker
 * waiting for it starts from that reap: its file's fsync in the ring. */
static void reap_to_marker_file(struct store *s)
{
	ck_assert_int_eq(s->gen.mark_step, STORE_MARK_DUE);
	ck_assert_int_eq(reap_one(s), LB_OK);
	ck_assert_int_eq(s->gen.mark_step, STORE_MARK_FILE);
	ck_assert(s->sync.aux_in_flight);
	/* a marker's fsync that hangs is a sync that hangs (the daemon's
	 * watchdog, store_sync.h); this one has just begun */
	ck_assert_int_lt(store_sync_stalled_ms(s), SYNC_WAIT_MS);
	int64_t since = s->sync.aux_since_us;
	s->sync.aux_since_us -= 30 * 1000 * 1000;
	ck_assert_int_ge(store_sync_stalled_ms(s), 30000);
	s->sync.aux_since_us = since;
}

/* An advance made in the upkeep, up to its marker's start. */
static void advance_to_marker_file(struct store *s, long long gen)
{
	s->gen.adv_due = true;
	ck_assert(!store_upkeep(s));            /* nothing due until the sync completes */
	ck_assert_int_eq(store_generation(s)->committed, gen);
	ck_assert(store_sync_pending(s));
	reap_to_marker_file(s);
}

/* The deferred upkeep with the ring (the daemon's): an advance's sync and
 * its marker's two fsyncs complete in the ring, none on the caller's
 * thread, and the marker still names only an advance already on the disk;
 * a batch that carried the advance is durable only once the marker is
 * written (nothing of it published before, as when the marker was written
 * at once); a commit that comes before the marker is done finishes it
 * first; a marker that cannot be written is the marker's failure, not the
 * store's; the close finishes the marker in the ring. */
START_TEST(test_marker_off_the_loop)
{
	char dir[512], path[600], inside[700];
	struct store s;
	long long g;

	if (!open_deferred(&s, dir, sizeof(dir), &g))
		return;
	uint64_t waited = s.stats.syncs_waited;

	/* Its own transaction, then the marker. */
	advance_to_marker_file(&s, g + 1);
	ck_assert_int_eq(marker(dir), g);
	reap_all(&s);
	ck_assert_int_eq(s.gen.mark_step, STORE_MARK_IDLE);
	ck_assert_int_eq(marker(dir), g + 1);
	ck_assert_int_eq(store_generation(&s)->marked, g + 1);

	/* Carried by a commit that does not wait: the marker after its
	 * batch's sync, the batch durable after the marker. */
	uint64_t b = stage_carrying(&s, 1);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert_int_eq(store_generation(&s)->committed, g + 2);
	reap_to_marker_file(&s);
	ck_assert(!store_committed(&s, b));
	ck_assert(store_committed(&s, b - 1));
	reap_all(&s);
	ck_assert_int_eq(marker(dir), g + 2);
	ck_assert(store_committed(&s, b));
	/* Carried by a commit ahead, the same way. */
	b = stage_carrying(&s, 2);
	ck_assert_int_eq(store_commit_ahead(&s), LB_OK);
	ck_assert_int_eq(store_generation(&s)->committed, g + 3);
	reap_to_marker_file(&s);
	reap_all(&s);
	ck_assert_int_eq(marker(dir), g + 3);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);   /* the batch's end */
	reap_all(&s);
	ck_assert(store_committed(&s, b));
	ck_assert_uint_eq(s.stats.syncs_waited, waited);   /* none of it waited */

	/* A commit while the marker waits for its advance's sync: the marker
	 * is written, at once, before that commit. */
	b = stage_carrying(&s, 3);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert_int_eq(s.gen.mark_step, STORE_MARK_DUE);
	stage(&s, EUI_A, 4);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert_int_eq(s.gen.mark_step, STORE_MARK_IDLE);
	ck_assert_int_eq(marker(dir), g + 4);
	ck_assert(store_committed(&s, b));
	reap_all(&s);
	/* A commit while the marker is in the ring: it waits for it. */
	advance_to_marker_file(&s, g + 5);
	stage(&s, EUI_A, 5);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert_int_eq(s.gen.mark_step, STORE_MARK_IDLE);
	ck_assert(!s.sync.aux_in_flight);
	ck_assert_int_eq(marker(dir), g + 5);
	reap_all(&s);
	/* A store_commit() that carries an advance waits for it all. */
	b = stage_carrying(&s, 6);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert(store_committed(&s, b));
	ck_assert_int_eq(s.gen.mark_step, STORE_MARK_IDLE);
	ck_assert_int_eq(marker(dir), g + 6);

	/* The rename refused (a directory where the marker goes): logged,
	 * the marker and the store as they were, the file written removed,
	 * the batch that carried the advance durable all the same. */
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_GEN_NAME);
	snprintf(inside, sizeof(inside), "%s/x", path);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(mkdir(inside, 0700), 0);
	b = stage_carrying(&s, 7);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	reap_all(&s);
	ck_assert_int_eq(s.gen.mark_step, STORE_MARK_IDLE);
	ck_assert(store_committed(&s, b));
	ck_assert_int_eq(store_generation(&s)->committed, g + 7);
	ck_assert_int_eq(store_generation(&s)->marked, g + 6);
	ck_assert(!store_sync_failed(&s));
	snprintf(inside, sizeof(inside), "%s/%s", dir, STORE_GEN_TMP_NAME);
	ck_assert_int_ne(access(inside, F_OK), 0);
	snprintf(inside, sizeof(inside), "%s/x", path);
	ck_assert_int_eq(rmdir(inside), 0);
	ck_assert_int_eq(rmdir(path), 0);

	/* Closed with the marker in the ring: finished, then the close's own
	 * advance; the next open finds them consistent. */
	advance_to_marker_file(&s, g + 8);
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(marker(dir), g + 9);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_generation(&s)->outcome, STORE_GEN_CONTINUED);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* With the ring but the upkeep not deferred (a tool's store): the
 * advance's sync and its marker at once, in the commit, as before. */
START_TEST(test_marker_at_once_not_deferred)
{
	char dir[512];
	struct store s;

	if (!open_with_ring(&s, dir, sizeof(dir)))
		return;
	long long g = marker(dir);
	uint64_t b = stage_carrying(&s, 1), waited = s.stats.syncs_waited;
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert(store_committed(&s, b));
	ck_assert_uint_eq(s.stats.syncs_waited, waited + 1);
	ck_assert_int_eq(marker(dir), g + 1);
	ck_assert(!s.sync.aux_in_flight);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* A sync at once first waits for the one in flight (store_sync.h: two on
 * one descriptor could hide a write-back error from one of them), and a
 * commit with nothing new to sync starts none. */
START_TEST(test_wait_takes_flight_first)
{
	char dir[512];
	struct store s;

	if (!open_with_ring(&s, dir, sizeof(dir)))
		return;
	(void)commit_in_flight(&s);
	uint64_t syncs = s.stats.syncs, waited = s.stats.syncs_waited;
	stage(&s, EUI_A, 2);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert(!store_sync_pending(&s));          /* taken, not left behind */
	ck_assert_uint_eq(s.stats.syncs, syncs + 2);   /* the one in flight, then ours */
	ck_assert_uint_eq(s.stats.syncs_waited, waited + 1);
	/* Nothing new: neither a sync at once nor one in flight. */
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert(!store_sync_pending(&s));
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_uint_eq(s.stats.syncs, syncs + 2);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* A completion counts only for the sync whose tag it carries (a failed
 * submission can leave an entry queued, to complete later), a ring that
 * failed a submission is no longer used, and the age of the sync in
 * flight is told (a disk that hangs). */
START_TEST(test_completion_by_tag)
{
	char dir[512];
	struct store s;

	if (!open_with_ring(&s, dir, sizeof(dir)))
		return;
	ck_assert_int_eq(store_sync_stalled_ms(&s), 0);
	uint64_t b = commit_in_flight(&s);
	s.sync.flight_since_us -= 30 * 1000000;   /* as if the disk hung 30 s */
	ck_assert_int_ge(store_sync_stalled_ms(&s), 30000);
	s.sync.flight_seq++;                      /* as if a later one were in flight */
	ck_assert_int_eq(reap_one(&s), LB_OK);
	ck_assert(!store_committed(&s, b));       /* not its completion */
	ck_assert(store_sync_pending(&s));
	s.sync.in_flight = false;                 /* nothing will complete it */
	s.sync.ring_broken = true;
	stage(&s, EUI_A, 2);
	b = store_batch(&s);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert(store_committed(&s, b));        /* synced at once */
	ck_assert(!store_sync_pending(&s));
	ck_assert_int_eq(store_sync_stalled_ms(&s), 0);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* Take the sync in flight's completion off the ring without the store
 * seeing it (with a deadline), as if it had not come. */
static void swallow_completion(struct store *s, uint64_t tag)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = {.tv_sec = SYNC_WAIT_MS / 1000};

	ck_assert_int_eq(io_uring_wait_cqe_timeout(s->sync.ring, &cqe, &ts), 0);
	ck_assert_uint_eq(cqe->user_data, tag);
	io_uring_cqe_seen(s->sync.ring, cqe);
}

/* A completion of io_uring's own error (-ECANCELED) under `tag`: a
 * timeout that carries it, cancelled. */
static void cancelled_under(struct store *s, uint64_t tag)
{
	struct __kernel_timespec ts = {.tv_sec = 60};
	struct io_uring_sqe *sqe = io_uring_get_sqe(s->sync.ring);

	io_uring_prep_timeout(sqe, &ts, 0, 0);
	sqe->user_data = tag;
	sqe = io_uring_get_sqe(s->sync.ring);
	io_uring_prep_timeout_remove(sqe, tag, 0);
	sqe->user_data = 0;                       /* no sync's tag: its 0 is ignored */
	ck_assert_int_eq(io_uring_submit(s->sync.ring), 2);
}

/* An error of io_uring itself under the sync's tag (-ECANCELED, as a ring
 * that lost its worker reports it; made here by a timeout that carries the
 * tag and is cancelled) is no failed sync: the ring is given up, the store
 * has not failed, and every sync is made at once from then on, the first
 * one, for the batch whose sync did not run, by the reap that gave it up. */
START_TEST(test_ring_error_gives_ring_up)
{
	char dir[512];
	struct store s;

	if (!open_with_ring(&s, dir, sizeof(dir)))
		return;
	uint64_t b = commit_in_flight(&s);
	swallow_completion(&s, s.sync.flight_seq);
	cancelled_under(&s, s.sync.flight_seq);
	uint64_t waited = s.stats.syncs_waited;
	for (int i = 0; i < 2 && !s.sync.ring_broken; i++)   /* two completions */
		ck_assert_int_eq(reap_one(&s), LB_OK);
	ck_assert(s.sync.ring_broken);
	ck_assert(!store_sync_failed(&s));
	ck_assert(!store_sync_pending(&s));
	/* Its sync did not run: the reap that gave the ring up made it. */
	ck_assert(store_committed(&s, b));
	ck_assert_uint_eq(s.stats.syncs_waited, waited + 1);
	stage(&s, EUI_A, 2);
	uint64_t b2 = store_batch(&s);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert(store_committed(&s, b2));
	ck_assert_uint_eq(s.stats.syncs_waited, waited + 2);
	close_at_fcnt(&s, dir, 2);
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
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(store_sync_start(&s), LB_ERR_STATE);
	ck_assert_int_eq(rawdb_int(dir, "SELECT fcnt_up_last FROM session"), 1);
}
END_TEST

/* io_uring's own error under the marker's fsync (store_gen.h): the fsync
 * is made at once instead and the marker written; no failed marker, no
 * ring given up, no failed store. */
START_TEST(test_marker_ring_error_fsyncs_at_once)
{
	char dir[512];
	struct store s;
	long long g;

	if (!open_deferred(&s, dir, sizeof(dir), &g))
		return;
	s.gen.adv_due = true;
	ck_assert(!store_upkeep(&s));
	ck_assert_int_eq(reap_one(&s), LB_OK);
	ck_assert_int_eq(s.gen.mark_step, STORE_MARK_FILE);
	uint64_t tag = (UINT64_C(1) << 63) | s.sync.aux_seq;
	swallow_completion(&s, tag);
	cancelled_under(&s, tag);
	reap_all(&s);
	ck_assert_int_eq(s.gen.mark_step, STORE_MARK_IDLE);
	ck_assert_int_eq(store_generation(&s)->marked, g + 1);
	ck_assert_int_eq(marker(dir), g + 1);
	ck_assert(!s.sync.ring_broken);
	ck_assert(!store_sync_failed(&s));
	/* Made at once, really: with a descriptor that cannot be synced the
	 * marker fails (not written, retried), not the store. */
	s.gen.adv_due = true;
	ck_assert(!store_upkeep(&s));
	ck_assert_int_eq(reap_one(&s), LB_OK);
	tag = (UINT64_C(1) << 63) | s.sync.aux_seq;
	swallow_completion(&s, tag);
	s.sync.aux_fd = -1;   /* the file's descriptor stays the marker's, closed by it */
	cancelled_under(&s, tag);
	reap_all(&s);
	ck_assert_int_eq(s.gen.mark_fd, -1);
	ck_assert_int_eq(s.gen.mark_step, STORE_MARK_IDLE);
	ck_assert_int_eq(store_generation(&s)->committed, g + 2);
	ck_assert_int_eq(store_generation(&s)->marked, g + 1);
	ck_assert_int_eq(marker(dir), g + 1);
	ck_assert(!store_sync_failed(&s));
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* The ring's descriptors, put aside so that io_uring_enter() fails
 * (EBADF): a submission or a wait refused by io_uring itself. */
struct ring_fds {
	int fd, enter_fd;
};

static struct ring_fds ring_refuse(struct store *s)
{
	struct ring_fds k = {s->sync.ring->ring_fd, s->sync.ring->enter_ring_fd};

	s->sync.ring->ring_fd = s->sync.ring->enter_ring_fd = -1;
	return k;
}

static void ring_restore(struct store *s, struct ring_fds k)
{
	s->sync.ring->ring_fd = k.fd;
	s->sync.ring->enter_ring_fd = k.enter_fd;
}

/* A batch that carried the advance stays held until its marker is
 * written whatever ends the batch: a commit ahead carrying it, then an
 * end with nothing new; and an empty store_commit() returns only once the
 * batch before it is durable, its marker written (the shutdown's commit). */
START_TEST(test_held_batch_ends)
{
	char dir[512];
	struct store s;
	long long g;

	if (!open_deferred(&s, dir, sizeof(dir), &g))
		return;
	uint64_t b = stage_carrying(&s, 1);
	ck_assert_int_eq(store_commit_ahead(&s), LB_OK);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);   /* the end: nothing new */
	ck_assert_uint_eq(store_batch(&s), b + 1);
	reap_to_marker_file(&s);
	ck_assert(!store_committed(&s, b));
	reap_all(&s);
	ck_assert_int_eq(marker(dir), g + 1);
	ck_assert(store_committed(&s, b));

	b = stage_carrying(&s, 2);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);         /* nothing staged */
	ck_assert(store_committed(&s, b));
	ck_assert_int_eq(marker(dir), g + 2);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* The ring breaks on the sync of the commit that carries the advance: that
 * sync is made at once, and so is the marker, in the commit; the batch is
 * not left held for a later upkeep. */
START_TEST(test_ring_breaks_on_carrying_commit)
{
	char dir[512];
	struct store s;
	long long g;

	if (!open_deferred(&s, dir, sizeof(dir), &g))
		return;
	uint64_t b = stage_carrying(&s, 1);
	struct ring_fds k = ring_refuse(&s);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ring_restore(&s, k);
	ck_assert(s.sync.ring_broken);
	ck_assert(store_committed(&s, b));
	ck_assert_int_eq(s.gen.mark_step, STORE_MARK_IDLE);
	ck_assert_int_eq(marker(dir), g + 1);
	ck_assert_int_eq(store_close(&s), LB_OK);
}
END_TEST

/* Not in WAL mode (a file system without shared memory: SQLite keeps its
 * rollback journal and syncs each commit itself, FULL): a commit's batch is
 * durable when it returns, none held. The VFS is the default one whose
 * files say they have no shared memory (version 1 methods); a checked
 * fixture puts SQLite's default back, whatever the test does. */
static sqlite3_io_methods nowal_io;
static sqlite3_vfs nowal_vfs;
static sqlite3_vfs *default_vfs;

static int nowal_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
	sqlite3_vfs *under = v->pAppData;
	int rc = under->xOpen(under, name, f, flags, out);

	if (rc == SQLITE_OK && f->pMethods) {
		nowal_io = *f->pMethods;
		nowal_io.iVersion = 1;
		f->pMethods = &nowal_io;
	}
	return rc;
}

static void nowal_setup(void)
{
	default_vfs = sqlite3_vfs_find(NULL);
	ck_assert_ptr_nonnull(default_vfs);
	nowal_vfs = *default_vfs;
	nowal_vfs.zName = "lorabridge-test-nowal";
	nowal_vfs.pAppData = default_vfs;
	nowal_vfs.xOpen = nowal_open;
	ck_assert_int_eq(sqlite3_vfs_register(&nowal_vfs, 1), SQLITE_OK);
}

static void nowal_teardown(void)
{
	sqlite3_vfs_unregister(&nowal_vfs);
	sqlite3_vfs_register(default_vfs, 1);
}

START_TEST(test_not_wal_mode_durable)
{
	char dir[512];
	struct store s;

	open_store(&s, dir, sizeof(dir));
	ck_assert_int_eq(s.sync.wal_fd, -1);
	stage(&s, EUI_A, 1);
	uint64_t b = store_batch(&s);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	ck_assert(store_committed(&s, b));
	stage(&s, EUI_A, 2);
	b = store_batch(&s);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert(store_committed(&s, b));
	close_at_fcnt(&s, dir, 2);
}
END_TEST

/* Waiting for the marker's fsync fails (io_uring itself: the ring's
 * descriptor refused): that fsync ran or runs, its result unknown, and
 * another one could report success over its error, so the marker fails
 * (not written, retried), the batch held for it is released, the ring is
 * given up, the store goes on. */
START_TEST(test_marker_wait_fails)
{
	char dir[512];
	struct store s;
	long long g;

	if (!open_deferred(&s, dir, sizeof(dir), &g))
		return;
	uint64_t b = stage_carrying(&s, 1);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);
	reap_to_marker_file(&s);
	swallow_completion(&s, (UINT64_C(1) << 63) | s.sync.aux_seq);
	struct ring_fds k = ring_refuse(&s);
	stage(&s, EUI_A, 2);
	uint64_t b2 = store_batch(&s);
	ck_assert_int_eq(store_commit_nowait(&s), LB_OK);   /* waits for the marker first */
	ring_restore(&s, k);
	ck_assert(s.sync.ring_broken);
	ck_assert_int_eq(s.gen.mark_step, STORE_MARK_IDLE);
	ck_assert_int_eq(s.gen.mark_fd, -1);
	ck_assert_int_eq(store_generation(&s)->marked, g);
	ck_assert_int_eq(marker(dir), g);
	ck_assert(!store_sync_failed(&s));
	ck_assert(store_committed(&s, b));
	ck_assert(store_committed(&s, b2));   /* at once, the ring given up */
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(marker(dir), g + 2);   /* the close's own advance */
}
END_TEST

/* Waiting on the ring for the WAL's sync fails (io_uring itself): that
 * sync was submitted, so it ran or runs, its result unknown, and one made
 * again could report success over its error: the store fails, as for a
 * failed sync (FAILURE IS FINAL), and the batch is never durable. */
START_TEST(test_wal_wait_fails_is_final)
{
	char dir[512];
	struct store s;

	if (!open_with_ring(&s, dir, sizeof(dir)))
		return;
	uint64_t b = commit_in_flight(&s);
	swallow_completion(&s, s.sync.flight_seq);
	struct ring_fds k = ring_refuse(&s);
	stage(&s, EUI_A, 2);
	ck_assert_int_eq(store_commit(&s), LB_ERR_IO);           /* waits for the one in flight */
	ring_restore(&s, k);
	ck_assert(store_sync_failed(&s));
	ck_assert(!store_committed(&s, b));
	ck_assert_int_eq(store_close(&s), LB_ERR_IO);
}
END_TEST

/* A failed sync found by the close itself (its own advance waits for the
 * sync in flight, and that wait fails) is reported by store_close(), so
 * the daemon's exit status says it (3), as for one found before. */
START_TEST(test_failure_found_at_close)
{
	char dir[512];
	struct store s;

	if (!open_with_ring(&s, dir, sizeof(dir)))
		return;
	(void)commit_in_flight(&s);
	swallow_completion(&s, s.sync.flight_seq);
	struct ring_fds k = ring_refuse(&s);
	ck_assert(!store_sync_failed(&s));
	ck_assert_int_eq(store_close(&s), LB_ERR_IO);
	ck_assert_int_eq(close(k.fd), 0);   /* the ring's, which the close could not know */
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("store_sync");
	TCase *tc = tcase_create("sync");

	tcase_set_timeout(tc, 30);   /* a sync's deadline is 5 s */
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_test(tc, test_commit_is_durable_at_return);
	tcase_add_test(tc, test_nowait_durable_when_reaped);
	tcase_add_test(tc, test_failed_sync_is_final);
	tcase_add_test(tc, test_failed_wait_is_final);
	tcase_add_test(tc, test_no_checkpoint_after_failure);
	tcase_add_test(tc, test_close_releases);
	tcase_add_test(tc, test_advance_synced_before_marker);
	tcase_add_test(tc, test_marker_off_the_loop);
	tcase_add_test(tc, test_marker_at_once_not_deferred);
	tcase_add_test(tc, test_held_batch_ends);
	tcase_add_test(tc, test_ring_breaks_on_carrying_commit);
	tcase_add_test(tc, test_marker_wait_fails);
	tcase_add_test(tc, test_wal_wait_fails_is_final);
	tcase_add_test(tc, test_failure_found_at_close);
	tcase_add_test(tc, test_wait_takes_flight_first);
	tcase_add_test(tc, test_completion_by_tag);
	tcase_add_test(tc, test_ring_error_gives_ring_up);
	tcase_add_test(tc, test_marker_ring_error_fsyncs_at_once);
	suite_add_tcase(s, tc);
	TCase *nowal = tcase_create("not-wal");
	tcase_add_unchecked_fixture(nowal, base_setup, base_teardown);
	tcase_add_checked_fixture(nowal, nowal_setup, nowal_teardown);
	tcase_add_test(nowal, test_not_wal_mode_durable);
	suite_add_tcase(s, nowal);
	return s;
}

int main(void)
{
	log_threshold = LOG_LVL_WARN;   /* errors under test still show */
	return testutil_run(suite());
}
