/* SPDX-License-Identifier: MIT */
/*
 * store_sync.c - the store's own fdatasync of the WAL after a commit, at
 * once or off the loop with io_uring. See store_sync.h.
 */
#include "store/store_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_db.h"
#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG
/* One sync of the WAL, one fsync for the marker and one poll of the
 * checkpoint helper's end in flight at a time: four entries leave room
 * to spare. */
#define RING_ENTRIES 4
/* The marker's fsyncs' user_data: their own numbers, with this bit; the
 * polls', with the next one. */
#define AUX_TAG (UINT64_C(1) << 63)
#define POLL_TAG (UINT64_C(1) << 62)

int store__sync_failed(struct store *s, const char *what, int err)
{
	if (!s->sync.failed)
		log_error(TAG, "%s failed: %s. Batches from %llu on are not known to be on the disk, "
			  "and a failed sync cannot be retried (the kernel drops the error): the store "
			  "writes nothing more, and keeps the WAL for the next start", what,
			  strerror(err), (unsigned long long)s->sync.durable);
	s->sync.failed = true;
	return LB_ERR_IO;
}

/* FAILURE IS FINAL (store_sync.h). */
static int sync_failed(struct store *s, int err)
{
	return store__sync_failed(s, "fdatasync of " STORE_DB_NAME "-wal", err);
}

/* An error of io_uring itself, not of the sync (no worker thread, no
 * memory): no fdatasync ran and no write-back error was taken. The ring
 * is given up and every sync made at once from then on. */
static bool ring_error(int res)
{
	return res == -ECANCELED || res == -EAGAIN || res == -ENOMEM || res == -EINTR;
}

/* The ring is not used again; what is in flight in it still completes. */
static void ring_broken(struct store *s, const char *what, int res)
{
	if (!s->sync.ring_broken)
		log_error(TAG, "io_uring: %s (%s): each commit's sync waits on the loop from now on",
			  what, strerror(-res));
	s->sync.ring_broken = true;
}

/* ... and the WAL's sync in flight did not run (an error of io_uring in
 * its completion, or its submission refused). */
static void give_up_ring(struct store *s, const char *what, int res)
{
	s->sync.in_flight = false;
	ring_broken(s, what, res);
}

int store__fdatasync(int fd)
{
	int rc;

	do
		rc = fdatasync(fd);
	while (rc != 0 && errno == EINTR);
	return rc == 0 ? 0 : errno;
}

/* Batches below `batch` are on the disk: durable, those below the hold
 * (store__sync_hold()). */
static void synced_below(struct store *s, uint64_t batch)
{
	if (batch > s->sync.synced)
		s->sync.synced = batch;
	uint64_t d = s->sync.synced < s->sync.hold ? s->sync.synced : s->sync.hold;
	if (d > s->sync.durable)
		s->sync.durable = d;
}

/* A sync that began after `writes` COMMITs, while batches below `batch`
 * were committed, completed: those are on the disk. */
static void covered(struct store *s, uint64_t writes, uint64_t batch)
{
	if (writes > s->sync.synced_writes)
		s->sync.synced_writes = writes;
	synced_below(s, batch);
	s->stats.syncs++;
}

/* Nothing written since the last completed sync began: every batch
 * committed so far is on the disk already. */
static bool all_synced(struct store *s)
{
	if (s->sync.synced_writes != s->sync.writes)
		return false;
	synced_below(s, s->batch);
	return true;
}

void store__sync_hold(struct store *s, uint64_t batch)
{
	if (batch < s->sync.hold)
		s->sync.hold = batch;
}

void store__sync_release(struct store *s)
{
	s->sync.hold = UINT64_MAX;
	synced_below(s, 0);
}

/* io_uring's own error in the completion of the marker's fsync (res): it
 * did not run, so it runs now, on the caller's thread. Returns 0 or an
 * errno. */
static int aux_at_once(struct store *s, int res)
{
	LB_LOG_RL(LOG_LVL_WARN, TAG, "io_uring: the state marker's fsync did not run (%s): made "
		  "at once", strerror(-res));
	return fsync(s->sync.aux_fd) == 0 ? 0 : errno;
}

/* The marker's fsync completed: its result goes to its caller (the
 * generation), which may submit the next one from there. Not the WAL's:
 * a failure is the marker's (store_gen.h). */
static void aux_completed(struct store *s, uint64_t tag, int res)
{
	if (!s->sync.aux_in_flight || tag != (AUX_TAG | s->sync.aux_seq))
		return;
	s->sync.aux_in_flight = false;
	if (res < 0 && ring_error(res))
		res = -aux_at_once(s, res);
	s->sync.aux_done(s, res < 0 ? -res : 0);
}

/* The poll in flight completed: its events, or -errno (an error of
 * io_uring's own too: its caller waits at once). */
static void poll_completed(struct store *s, uint64_t tag, int res)
{
	if (!s->sync.poll_in_flight || tag != (POLL_TAG | s->sync.poll_seq))
		return;
	s->sync.poll_in_flight = false;
	s->sync.poll_done_fn(s, res);
}

/* A completion: the sync in flight's if its tag matches. Any failed
 * sync of the WAL is a write-back error of the WAL, whichever it was. */
static void completed(struct store *s, uint64_t tag, int res)
{
	if (tag & AUX_TAG) {
		aux_completed(s, tag, res);
		return;
	}
	if (tag & POLL_TAG) {
		poll_completed(s, tag, res);
		return;
	}
	bool ours = s->sync.in_flight && tag == s->sync.flight_seq;

	if (res < 0 && ring_error(res)) {
		if (ours)
			give_up_ring(s, "a sync did not run", res);
		return;
	}
	if (res < 0) {
		s->sync.in_flight = false;
		sync_failed(s, -res);
		return;
	}
	if (!ours)
		return;   /* not the one in flight (store_sync_reap()) */
	s->sync.in_flight = false;
	covered(s, s->sync.flight_writes, s->sync.flight_batch);
	int64_t us = store__mono_us() - s->sync.flight_since_us;
	if (us > s->stats.max_sync_us)
		s->stats.max_sync_us = us;
}

/* Waiting on the ring failed (io_uring itself, not a sync): what is in
 * flight was submitted, so it ran or runs, its result unknown, and a
 * sync made again now could report success over its error (FAILURE IS
 * FINAL): the WAL's sync in flight counts as failed, the marker's fsync
 * fails the marker; the ring is not used again. */
static void wait_failed(struct store *s, int rc)
{
	bool wal = s->sync.in_flight, aux = s->sync.aux_in_flight, rd = s->sync.poll_in_flight;

	s->sync.in_flight = s->sync.aux_in_flight = s->sync.poll_in_flight = false;
	if (wal)
		store__sync_failed(s, "waiting for the fdatasync of " STORE_DB_NAME "-wal", -rc);
	else
		ring_broken(s, "waiting for a sync failed", rc);
	s->sync.ring_broken = true;
	if (aux)
		s->sync.aux_done(s, -rc);
	if (rd)
		s->sync.poll_done_fn(s, rc);
}

/* Wait until *pending (the WAL's sync in flight, or the marker's fsync)
 * is over, taking every completion meanwhile. */
static void wait_ring(struct store *s, const bool *pending)
{
	struct io_uring_cqe *cqe;

	while (*pending) {
		int rc = io_uring_wait_cqe(s->sync.ring, &cqe);
		if (rc == -EINTR)
			continue;
		if (rc < 0) {   /* the ring itself failed (wait_failed()) */
			wait_failed(s, rc);
			return;
		}
		uint64_t tag = cqe->user_data;
		int res = cqe->res;
		io_uring_cqe_seen(s->sync.ring, cqe);
		completed(s, tag, res);
	}
}

/* Wait for the sync in flight, if any, and take its result. */
static void wait_flight(struct store *s)
{
	wait_ring(s, &s->sync.in_flight);
}

int store__sync_wal_now(struct store *s)
{
	if (s->sync.failed)
		return LB_ERR_IO;
	if (s->sync.wal_fd < 0) {   /* not WAL mode: SQLite synced (FULL), no sync of ours */
		s->sync.synced_writes = s->sync.writes;
		all_synced(s);
		return LB_OK;
	}
	wait_flight(s);
	if (s->sync.failed)
		return LB_ERR_IO;
	if (all_synced(s))
		return LB_OK;
	uint64_t writes = s->sync.writes, batch = s->batch;
	int64_t t0 = store__mono_us();
	int err = store__fdatasync(s->sync.wal_fd);
	if (err)
		return sync_failed(s, err);
	int64_t us = store__mono_us() - t0;
	covered(s, writes, batch);
	s->stats.syncs_waited++;
	if (us > s->stats.max_sync_wait_us)
		s->stats.max_sync_wait_us = us;
	return LB_OK;
}

void store__sync_wrote(struct store *s)
{
	s->sync.writes++;
}

/* Submit one fdatasync of the WAL covering what is written now, tagged
 * with its own number. A submission that failed may still leave its entry
 * queued in the ring, to go out with a later one: the ring is then no
 * longer used (its completion, if one comes, matches no tag; a failure in
 * it still counts), and every sync is made at once. */
static int submit(struct store *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(s->sync.ring);

	if (!sqe)   /* cannot happen with one in flight: sync at once */
		return store__sync_wal_now(s);
	io_uring_prep_fsync(sqe, s->sync.wal_fd, IORING_FSYNC_DATASYNC);
	sqe->user_data = ++s->sync.flight_seq;
	int rc = io_uring_submit(s->sync.ring);
	if (rc != 1) {
		give_up_ring(s, "submitting a sync failed", rc < 0 ? rc : -EAGAIN);
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
	if (wait || !s->sync.ring || s->sync.ring_broken || s->sync.wal_fd < 0)
		return store__sync_wal_now(s);
	if (s->sync.in_flight)   /* store_sync_reap() starts the next one */
		return LB_OK;
	if (all_synced(s))       /* an empty commit, or one a sync covered */
		return LB_OK;
	return submit(s);
}

bool store__sync_ring_ok(const struct store *s)
{
	return s->sync.ring && !s->sync.ring_broken && !s->sync.failed;
}

/* An entry for an operation beside the WAL's sync (the marker's fsync,
 * the helper's poll), or NULL when the ring is not in use or one of its
 * kind is in flight (busy). */
static struct io_uring_sqe *side_sqe(struct store *s, bool busy)
{
	if (!store__sync_ring_ok(s) || busy)
		return NULL;
	return io_uring_get_sqe(s->sync.ring);
}

/* Submit it; refused, the ring is given up, as for the WAL's (submit()),
 * whose sync may be in flight. */
static bool side_submit(struct store *s, const char *what)
{
	int rc = io_uring_submit(s->sync.ring);

	if (rc == 1)
		return true;
	ring_broken(s, what, rc < 0 ? rc : -EAGAIN);
	return false;
}

int store__sync_aux_submit(struct store *s, int fd, store_sync_aux_fn done)
{
	struct io_uring_sqe *sqe = side_sqe(s, s->sync.aux_in_flight);

	if (!sqe)
		return LB_ERR_STATE;
	io_uring_prep_fsync(sqe, fd, 0);
	sqe->user_data = AUX_TAG | ++s->sync.aux_seq;
	if (!side_submit(s, "submitting a sync failed"))
		return LB_ERR_STATE;
	s->sync.aux_in_flight = true;
	s->sync.aux_fd = fd;
	s->sync.aux_since_us = store__mono_us();
	s->sync.aux_done = done;
	return LB_OK;
}

void store__sync_aux_wait(struct store *s)
{
	if (s->sync.ring)
		wait_ring(s, &s->sync.aux_in_flight);
}

int store__sync_poll_submit(struct store *s, int fd, store_sync_poll_fn done)
{
	struct io_uring_sqe *sqe = side_sqe(s, s->sync.poll_in_flight);

	if (!sqe)
		return LB_ERR_STATE;
	io_uring_prep_poll_add(sqe, fd, POLLIN);
	sqe->user_data = POLL_TAG | ++s->sync.poll_seq;
	if (!side_submit(s, "submitting a poll failed"))
		return LB_ERR_STATE;
	s->sync.poll_in_flight = true;
	s->sync.poll_done_fn = done;
	return LB_OK;
}

void store__sync_poll_wait(struct store *s)
{
	if (s->sync.ring)
		wait_ring(s, &s->sync.poll_in_flight);
}

int store_sync_reap(struct store *s)
{
	struct io_uring_cqe *cqe;

	if (!s || !s->sync.ring)
		return s && s->sync.failed ? LB_ERR_IO : LB_OK;
	while (io_uring_peek_cqe(s->sync.ring, &cqe) == 0) {
		uint64_t tag = cqe->user_data;
		int res = cqe->res;
		io_uring_cqe_seen(s->sync.ring, cqe);
		completed(s, tag, res);
	}
	if (s->sync.failed)
		return LB_ERR_IO;
	/* Batches committed while it was in flight: the next sync (or none
	 * needed, when they wrote nothing a sync has not covered). */
	int rc = LB_OK;
	if (!s->sync.in_flight && !all_synced(s))
		rc = s->sync.ring_broken ? store__sync_wal_now(s) : submit(s);
	if (rc == LB_OK && s->sync.reaped)
		s->sync.reaped(s);
	return rc;
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
	if (!ring) {
		log_error(TAG, "no memory for io_uring: each commit's sync waits on the loop");
		return LB_ERR_NOMEM;
	}
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
	return s && s->sync.in_flight;
}

int64_t store_sync_stalled_ms(const struct store *s)
{
	if (!s)
		return 0;
	int64_t now = store__mono_us(), us = 0;
	if (s->sync.in_flight)
		us = now - s->sync.flight_since_us;
	if (s->sync.aux_in_flight && now - s->sync.aux_since_us > us)
		us = now - s->sync.aux_since_us;
	/* A closing checkpoint pass holds every commit (store_ckpt.h). */
	if (s->ckpt.running && s->ckpt.closing && now - s->ckpt.since_us > us)
		us = now - s->ckpt.since_us;
	return us / 1000;
}

int store__sync_open(struct store *s, const char *db_path)
{
	char wal[PATH_MAX];

	s->sync.wal_fd = -1;
	if ((size_t)snprintf(wal, sizeof(wal), "%s-wal", db_path) >= sizeof(wal)) {
		log_error(TAG, "%s-wal: path too long", db_path);
		return LB_ERR_INVAL;
	}
	/* SQLite made the -wal when the database went into WAL mode. Its
	 * directory entry is synced here (SQLite does it at the WAL's first
	 * sync, which may now be ours). */
	s->sync.wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (s->sync.wal_fd < 0) {
		log_error(TAG, "cannot open %s to sync it: %s", wal, strerror(errno));
		return LB_ERR_IO;
	}
	if (fsync(s->dir_fd) != 0) {
		log_error(TAG, "fsync of the state directory failed: %s", strerror(errno));
		return LB_ERR_IO;
	}
	return LB_OK;
}

void store__sync_drain(struct store *s)
{
	if (!s->sync.ring)
		return;
	wait_flight(s);
	store__sync_aux_wait(s);
	store__sync_poll_wait(s);
}

void store__sync_close(struct store *s)
{
	if (s->sync.ring) {   /* nothing in flight: store__sync_drain() came first */
		io_uring_queue_exit(s->sync.ring);
		free(s->sync.ring);
	}
	if (s->sync.wal_fd >= 0)
		close(s->sync.wal_fd);
	s->sync.ring = NULL;
	s->sync.wal_fd = -1;
}
