/* SPDX-License-Identifier: MIT */
/*
 * store_sync.c - the store's own fdatasync of the WAL and of the database
 * file, at once or off the loop with io_uring. See store_sync.h.
 */
#include "store/store_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_db.h"
#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG
/* At most two syncs in flight, the WAL's and the database file's. */
#define RING_ENTRIES 4
/* What a completion is (its user_data). */
#define SYNC_WAL 1
#define SYNC_DB 2

/* FAILURE IS FINAL (store_sync.h). */
static int sync_failed(struct store *s, const char *file, int err)
{
	if (!s->sync.failed)
		log_error(TAG, "fdatasync of %s failed: %s. Batches from %llu on are not known to "
			  "be on the disk, and a failed sync cannot be retried (the kernel drops "
			  "the error): the state is read again from the disk at the next start",
			  file, strerror(err), (unsigned long long)s->sync.durable);
	s->sync.failed = true;
	return LB_ERR_IO;
}

static int fdatasync_retry(int fd)
{
	int rc;

	do
		rc = fdatasync(fd);
	while (rc != 0 && errno == EINTR);
	return rc == 0 ? 0 : errno;
}

/* Everything written so far is on the disk. */
static void covered(struct store *s, uint64_t writes, uint64_t batch)
{
	if (writes > s->sync.synced_writes)
		s->sync.synced_writes = writes;
	if (batch > s->sync.durable)
		s->sync.durable = batch;
	s->stats.syncs++;
}

int store__sync_wal_now(struct store *s)
{
	if (s->sync.failed)
		return LB_ERR_IO;
	if (s->sync.wal_fd < 0) {   /* not WAL mode: SQLite synced (FULL) */
		covered(s, s->sync.writes, s->batch);
		return LB_OK;
	}
	if (s->sync.synced_writes == s->sync.writes) {
		/* nothing written since the last completed sync began */
		if (s->batch > s->sync.durable)
			s->sync.durable = s->batch;
		return LB_OK;
	}
	uint64_t writes = s->sync.writes, batch = s->batch;
	int64_t t0 = store__mono_us();
	int err = fdatasync_retry(s->sync.wal_fd);
	if (err)
		return sync_failed(s, STORE_DB_NAME "-wal", err);
	int64_t us = store__mono_us() - t0;
	covered(s, writes, batch);
	s->stats.syncs_waited++;
	if (us > s->stats.max_sync_wait_us)
		s->stats.max_sync_wait_us = us;
	return LB_OK;
}

int store__sync_db_now(struct store *s)
{
	if (s->sync.failed)
		return LB_ERR_IO;
	if (s->sync.db_fd < 0)
		return LB_OK;
	int err = fdatasync_retry(s->sync.db_fd);
	if (err)
		return sync_failed(s, STORE_DB_NAME, err);
	s->stats.db_syncs++;
	return LB_OK;
}

/* ---- the checkpoint's sync off the loop (store_sync.h, GUARD) --------- */

/* Begin the guard's read transaction: it holds a read mark at the end of
 * the WAL, which lets a checkpoint copy every frame but keeps any writer
 * from starting the WAL over until it ends. */
static int guard_begin(struct store *s)
{
	if (!s->sync.guard &&
	    sqlite3_open_v2(s->sync.db_path, &s->sync.guard,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warn(TAG, "checkpoint guard not opened: %s; the checkpoint's sync waits on "
			 "the loop", s->sync.guard ? sqlite3_errmsg(s->sync.guard) : "no memory");
		sqlite3_close(s->sync.guard);
		s->sync.guard = NULL;
		return LB_ERR_IO;
	}
	int rc = sqlite3_exec(s->sync.guard, "BEGIN; SELECT count(*) FROM sqlite_master", NULL,
			      NULL, NULL);
	if (rc != SQLITE_OK) {
		log_warn(TAG, "checkpoint guard: %s; the checkpoint's sync waits on the loop",
			 sqlite3_errmsg(s->sync.guard));
		if (!sqlite3_get_autocommit(s->sync.guard))
			sqlite3_exec(s->sync.guard, "ROLLBACK", NULL, NULL, NULL);
		return LB_ERR_IO;
	}
	return LB_OK;
}

static void guard_end(struct store *s)
{
	if (!s->sync.guard || sqlite3_get_autocommit(s->sync.guard))
		return;
	if (sqlite3_exec(s->sync.guard, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		log_warn(TAG, "checkpoint guard not ended: %s", sqlite3_errmsg(s->sync.guard));
	(void)sqlite3_db_release_memory(s->sync.guard);   /* idle until the next one */
}

int store__sync_checkpoint_begin(struct store *s, bool *async)
{
	*async = false;
	if (s->sync.failed)
		return LB_ERR_IO;
	if (s->sync.db_in_flight)
		return LB_ERR_STATE;
	/* Its frames on the disk before they are copied (FULL's order). */
	int rc = store__sync_wal_now(s);
	if (rc != LB_OK || !s->sync.ring || s->sync.db_fd < 0)
		return rc;
	*async = guard_begin(s) == LB_OK;
	return LB_OK;
}

int store__sync_checkpoint_end(struct store *s, bool async, bool copied)
{
	if (!async)
		return copied ? store__sync_db_now(s) : LB_OK;
	struct io_uring_sqe *sqe = copied ? io_uring_get_sqe(s->sync.ring) : NULL;
	if (sqe) {
		io_uring_prep_fsync(sqe, s->sync.db_fd, IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_data64(sqe, SYNC_DB);
		if (io_uring_submit(s->sync.ring) == 1) {
			s->sync.db_in_flight = true;
			s->sync.db_since_us = store__mono_us();
			return LB_OK;
		}
		LB_LOG_RL(LOG_LVL_WARN, TAG, "io_uring: the checkpoint's sync of %s not "
			  "submitted; syncing at once", STORE_DB_NAME);
	}
	int rc = copied ? store__sync_db_now(s) : LB_OK;
	guard_end(s);
	return rc;
}

bool store_sync_holds_commits(const struct store *s)
{
	return s && s->sync.db_in_flight;
}

void store__sync_wrote(struct store *s)
{
	s->sync.writes++;
}

/* Submit one fdatasync of the WAL covering what is written now. */
static int submit(struct store *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(s->sync.ring);

	if (!sqe)   /* cannot happen with one in flight: sync at once */
		return store__sync_wal_now(s);
	io_uring_prep_fsync(sqe, s->sync.wal_fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data64(sqe, SYNC_WAL);
	int rc = io_uring_submit(s->sync.ring);
	if (rc != 1) {
		LB_LOG_RL(LOG_LVL_WARN, TAG, "io_uring: submitting a sync failed: %s; syncing at once",
			  strerror(rc < 0 ? -rc : EAGAIN));
		return store__sync_wal_now(s);
	}
	s->sync.in_flight = true;
	s->sync.flight_writes = s->sync.writes;
	s->sync.flight_batch = s->batch;
	s->sync.flight_since_us = store__mono_us();
	return LB_OK;
}

int store__sync_batch(struct store *s, bool wait)
{
	if (s->sync.failed)
		return LB_ERR_IO;
	if (wait || !s->sync.ring || s->sync.wal_fd < 0)
		return store__sync_wal_now(s);
	if (s->sync.in_flight)   /* store_sync_reap() starts the next one */
		return LB_OK;
	return submit(s);
}

static void took(struct store *s, int64_t since_us)
{
	int64_t us = store__mono_us() - since_us;

	if (us > s->stats.max_sync_us)
		s->stats.max_sync_us = us;
}

/* One completion: the WAL's (its batches become durable) or the database
 * file's after a checkpoint (the guard ends: the WAL may start over). */
static void completed(struct store *s, uint64_t what, int res)
{
	if (what == SYNC_DB && s->sync.db_in_flight) {
		s->sync.db_in_flight = false;
		if (res < 0) {
			sync_failed(s, STORE_DB_NAME, -res);
			return;   /* the guard stays: nothing may start the WAL over */
		}
		s->stats.db_syncs++;
		took(s, s->sync.db_since_us);
		guard_end(s);
	} else if (what == SYNC_WAL && s->sync.in_flight) {
		s->sync.in_flight = false;
		if (res < 0) {
			sync_failed(s, STORE_DB_NAME "-wal", -res);
			return;
		}
		covered(s, s->sync.flight_writes, s->sync.flight_batch);
		took(s, s->sync.flight_since_us);
	}
}

int store_sync_reap(struct store *s)
{
	struct io_uring_cqe *cqe;

	if (!s || !s->sync.ring)
		return s && s->sync.failed ? LB_ERR_IO : LB_OK;
	while (io_uring_peek_cqe(s->sync.ring, &cqe) == 0) {
		uint64_t what = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(s->sync.ring, cqe);
		completed(s, what, res);
	}
	if (s->sync.failed)
		return LB_ERR_IO;
	/* Batches committed while it was in flight: the next sync. */
	if (!s->sync.in_flight && s->sync.synced_writes < s->sync.writes &&
	    s->sync.durable < s->batch)
		return submit(s);
	return LB_OK;
}

int store_sync_start(struct store *s)
{
	if (!s || !s->db)
		return LB_ERR_STATE;
	if (s->sync.ring)
		return s->sync.ring->ring_fd;
	if (s->sync.wal_fd < 0) {
		log_notice(TAG, "not in WAL mode: SQLite syncs each commit on the loop");
		return LB_ERR_STATE;
	}
	struct io_uring *ring = calloc(1, sizeof(*ring));
	if (!ring)
		return LB_ERR_NOMEM;
	int rc = io_uring_queue_init(RING_ENTRIES, ring, 0);
	if (rc < 0) {
		free(ring);
		log_notice(TAG, "io_uring unavailable (%s): each commit's sync waits on the loop",
			   strerror(-rc));
		return LB_ERR_IO;
	}
	s->sync.ring = ring;
	log_info(TAG, "commits are synced off the loop (io_uring)");
	return ring->ring_fd;
}

int store_sync_fd(const struct store *s)
{
	return s && s->sync.ring ? s->sync.ring->ring_fd : -1;
}

bool store_sync_failed(const struct store *s)
{
	return s && s->sync.failed;
}

bool store_sync_pending(const struct store *s)
{
	return s && (s->sync.in_flight || s->sync.db_in_flight);
}

static int open_fd(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		log_error(TAG, "cannot open %s to sync it: %s", path, strerror(errno));
	return fd;
}

int store__sync_open(struct store *s, const char *db_path)
{
	char wal[PATH_MAX];

	s->sync.wal_fd = s->sync.db_fd = -1;
	if ((size_t)snprintf(wal, sizeof(wal), "%s-wal", db_path) >= sizeof(wal))
		return LB_ERR_INVAL;
	if (!(s->sync.db_path = strdup(db_path)))
		return LB_ERR_NOMEM;
	/* SQLite made the -wal when the database went into WAL mode; the
	 * marker's rename at open (store_gen.c) syncs the directory after. */
	if ((s->sync.db_fd = open_fd(db_path)) < 0 || (s->sync.wal_fd = open_fd(wal)) < 0)
		return LB_ERR_IO;
	return LB_OK;
}

void store__sync_close(struct store *s)
{
	/* The syncs in flight: their results still count. */
	while (store_sync_pending(s)) {
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe(s->sync.ring, &cqe) != 0) {
			s->sync.in_flight = s->sync.db_in_flight = false;
			break;
		}
		uint64_t what = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(s->sync.ring, cqe);
		completed(s, what, res);
	}
	/* Ended before the store's connection closes (a failed sync keeps it
	 * open until here: the WAL never started over). */
	if (s->sync.guard) {
		if (!sqlite3_get_autocommit(s->sync.guard))
			sqlite3_exec(s->sync.guard, "ROLLBACK", NULL, NULL, NULL);
		if (sqlite3_close(s->sync.guard) != SQLITE_OK)
			log_warn(TAG, "checkpoint guard not closed: %s", sqlite3_errmsg(s->sync.guard));
	}
	s->sync.guard = NULL;
	free(s->sync.db_path);
	s->sync.db_path = NULL;
	if (s->sync.ring) {
		io_uring_queue_exit(s->sync.ring);
		free(s->sync.ring);
	}
	if (s->sync.wal_fd >= 0)
		close(s->sync.wal_fd);
	if (s->sync.db_fd >= 0)
		close(s->sync.db_fd);
	s->sync.ring = NULL;
	s->sync.wal_fd = s->sync.db_fd = -1;
}
