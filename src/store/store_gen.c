/* SPDX-License-Identifier: MIT */
/*
 * store_gen.c - the state generation: the marker file, the advance (the
 * database first, then the marker), the check at open and the WAL
 * checkpoints that keep a deleted -wal detectable. See store_gen.h.
 */
#include "store/store_gen.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_ckpt.h"
#include "store/store_db.h"
#include "store/store_sync.h"
#include "store/store_write.h"
#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG
#define MARKER_MAGIC "lorabridge-state-generation "
#define MARKER_MAX 128

static int64_t mono_ms(void)
{
	return store__mono_us() / 1000;
}

const struct store_gen *store_generation(const struct store *s)
{
	return &s->gen;
}

/* ---- the marker file -------------------------------------------------- */

/* "lorabridge-state-generation N\n", N > 0, nothing else. */
static int parse_marker(const char *buf, int64_t *gen)
{
	size_t n = strlen(MARKER_MAGIC);
	char *end;
	long long v;

	if (strncmp(buf, MARKER_MAGIC, n) != 0 || buf[n] < '1' || buf[n] > '9')
		return LB_ERR_MALFORMED;
	errno = 0;
	v = strtoll(buf + n, &end, 10);
	if (errno != 0 || strcmp(end, "\n") != 0)
		return LB_ERR_MALFORMED;
	*gen = v;
	return LB_OK;
}

/* *present false (LB_OK) when there is no marker; *bad when it is there but
 * does not read as one. */
static int marker_read(struct store *s, bool *present, bool *bad, int64_t *gen)
{
	char buf[MARKER_MAX];
	int fd = openat(s->dir_fd, STORE_GEN_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	*present = *bad = false;
	*gen = 0;
	if (fd < 0 && errno == ENOENT)
		return LB_OK;
	if (fd < 0) {
		log_error(TAG, "cannot open the state marker %s: %s", STORE_GEN_NAME,
			  strerror(errno));
		return LB_ERR_IO;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		log_error(TAG, "cannot read the state marker %s: %s", STORE_GEN_NAME,
			  strerror(errno));
		close(fd);
		return LB_ERR_IO;
	}
	close(fd);
	buf[n] = '\0';
	*present = true;
	*bad = parse_marker(buf, gen) != LB_OK;
	return LB_OK;
}

static int marker_fail(const char *what, int fd, int dir_fd)
{
	int e = errno;

	if (fd >= 0)
		close(fd);
	unlinkat(dir_fd, STORE_GEN_TMP_NAME, 0);
	LB_LOG_RL(LOG_LVL_ERROR, TAG, "state marker %s not written: %s: %s", STORE_GEN_NAME, what,
		  strerror(e));
	return LB_ERR_IO;
}

/* Run as root (`sudo lorabridge --purge`), give the marker the database's
 * owner, as SQLite does for its -wal and -shm, so the daemon's user can
 * still replace it. */
static void own_like_db(struct store *s, int fd)
{
	struct stat st;

	if (geteuid() != 0 || fstatat(s->dir_fd, STORE_DB_NAME, &st, 0) != 0 || st.st_uid == 0)
		return;
	if (fchown(fd, st.st_uid, st.st_gid) != 0)
		log_warn(TAG, "state marker not given the owner of %s: %s", STORE_DB_NAME,
			 strerror(errno));
}

/* The new marker's content in STORE_GEN_TMP_NAME (in the page cache):
 * its descriptor, or -1 (logged). */
static int marker_create(struct store *s, int64_t gen)
{
	char buf[MARKER_MAX];
	int len = snprintf(buf, sizeof(buf), MARKER_MAGIC "%" PRId64 "\n", gen);
	int fd = openat(s->dir_fd, STORE_GEN_TMP_NAME,
			O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		marker_fail("create " STORE_GEN_TMP_NAME, -1, s->dir_fd);
		return -1;
	}
	own_like_db(s, fd);
	for (int off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, (size_t)(len - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			marker_fail("write", fd, s->dir_fd);
			return -1;
		}
		off += (int)n;
	}
	return fd;
}

/* The file synced: close it and put it in the marker's place. */
static int marker_rename(struct store *s, int fd)
{
	if (close(fd) != 0)
		return marker_fail("close", -1, s->dir_fd);
	if (renameat(s->dir_fd, STORE_GEN_TMP_NAME, s->dir_fd, STORE_GEN_NAME) != 0)
		return marker_fail("rename", -1, s->dir_fd);
	return LB_OK;
}

/* Replace the marker atomically: a crash leaves the old one or the new one,
 * and once this returns LB_OK the new one survives a power cut. */
static int marker_write(struct store *s, int64_t gen)
{
	int fd = marker_create(s, gen);

	if (fd < 0)
		return LB_ERR_IO;
	if (fsync(fd) != 0)
		return marker_fail("fsync", fd, s->dir_fd);
	int rc = marker_rename(s, fd);
	if (rc != LB_OK)
		return rc;
	if (fsync(s->dir_fd) != 0)
		return marker_fail("fsync of the directory", -1, -1);
	s->gen.marked = gen;
	return LB_OK;
}

/* ---- the marker off the loop (store_gen.h, UPKEEP) ------------------- */

/* Deferred upkeep with io_uring: the advance's sync and the marker's two
 * fsyncs complete in the ring while the caller's loop goes on. */
static bool marker_off_loop(const struct store *s)
{
	return s->gen.deferred && store__sync_ring_ok(s);
}

static void advance_failed(struct store *s);
static void fsync_done(struct store *s, int err);

/* The marker of generation `committed` is due once a sync of the WAL
 * covered every COMMIT so far (the advance's among them). */
static void mark_due(struct store *s)
{
	s->gen.mark_step = STORE_MARK_DUE;
	s->gen.mark_writes = s->sync.writes;
	s->gen.mark_gen = s->gen.committed;
}

static bool mark_ready(const struct store *s)
{
	return s->gen.mark_step == STORE_MARK_DUE && s->sync.synced_writes >= s->gen.mark_writes;
}

static bool mark_in_ring(const struct store *s)
{
	return s->gen.mark_step == STORE_MARK_FILE || s->gen.mark_step == STORE_MARK_DIR;
}

/* The marker written, or not (logged): the batch that carried its advance
 * is durable either way now, as it was when a marker written at once
 * failed. */
static void mark_done(struct store *s, int rc)
{
	s->gen.mark_step = STORE_MARK_IDLE;
	s->gen.mark_fd = -1;
	store__sync_release(s);
	if (rc == LB_OK)
		s->gen.marked = s->gen.mark_gen;
	else
		advance_failed(s);
}

/* The marker now, whole, on the caller's thread. */
static void mark_at_once(struct store *s)
{
	mark_done(s, marker_write(s, s->gen.mark_gen));
}

/* The file written, its fsync in the ring (at once if the ring refuses). */
static void mark_start(struct store *s)
{
	if (!marker_off_loop(s)) {
		mark_at_once(s);
		return;
	}
	int fd = marker_create(s, s->gen.mark_gen);
	if (fd < 0) {
		mark_done(s, LB_ERR_IO);
		return;
	}
	s->gen.mark_fd = fd;
	s->gen.mark_step = STORE_MARK_FILE;
	if (store__sync_aux_submit(s, fd, fsync_done) != LB_OK)
		fsync_done(s, fsync(fd) == 0 ? 0 : errno);
}

/* The rename, then the directory's fsync in the ring (or at once). */
static void mark_rename(struct store *s)
{
	int rc = marker_rename(s, s->gen.mark_fd);

	s->gen.mark_fd = -1;
	if (rc != LB_OK) {
		mark_done(s, rc);
		return;
	}
	s->gen.mark_step = STORE_MARK_DIR;
	if (store__sync_aux_submit(s, s->dir_fd, fsync_done) != LB_OK)
		fsync_done(s, fsync(s->dir_fd) == 0 ? 0 : errno);
}

/* The fsync of the marker's file, or of the directory, completed. */
static void fsync_done(struct store *s, int err)
{
	if (s->gen.mark_step == STORE_MARK_FILE) {
		if (err) {
			errno = err;
			mark_done(s, marker_fail("fsync", s->gen.mark_fd, s->dir_fd));
			return;
		}
		mark_rename(s);
		return;
	}
	if (s->gen.mark_step != STORE_MARK_DIR)
		return;
	if (err) {
		errno = err;
		mark_done(s, marker_fail("fsync of the directory", -1, -1));
		return;
	}
	mark_done(s, LB_OK);
}

/* The marker of the last advance, finished now: the next commit must not
 * be outside it (ADVANCING). */
static void mark_finish(struct store *s)
{
	if (s->gen.mark_step == STORE_MARK_DUE) {
		/* its advance on the disk first; a failed sync is final and
		 * writes nothing more */
		if (store__sync_wal_now(s) != LB_OK) {
			s->gen.mark_step = STORE_MARK_IDLE;
			return;
		}
		mark_at_once(s);
		return;
	}
	while (mark_in_ring(s)) {
		store__sync_aux_wait(s);
		if (mark_in_ring(s) && !s->sync.aux_in_flight) {   /* cannot happen */
			errno = EIO;
			mark_done(s, marker_fail("fsync", s->gen.mark_fd, s->dir_fd));
		}
	}
}

/* A WAL sync completed (off the loop, or at once by a reap that gave the
 * ring up): the marker waiting for it starts now, not at the next upkeep
 * step (the batch that carried its advance is held until it is
 * written). */
static void reaped(struct store *s)
{
	if (mark_ready(s))
		mark_start(s);
}

/* ---- the database's copy ---------------------------------------------- */

static int step(struct store *s, enum store_stmt id, const char *what)
{
	sqlite3_stmt *st = store__stmt(s, id);

	if (!st)
		return LB_ERR_IO;   /* not prepared: said by store__prepare() */
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? LB_OK : store__fail(s, rc, what);
}

/* 0 when the database has none (new, or from a version without it). */
static int db_generation(struct store *s, int64_t *gen)
{
	sqlite3_stmt *st = store__stmt(s, STMT_META_GET);
	int rc;

	if (!st)
		return LB_ERR_IO;
	sqlite3_bind_text(st, 1, STORE_GEN_META_KEY, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*gen = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return LB_OK;
	return store__fail(s, rc, "read the state generation");
}

/* Right after the COMMIT, before any wait for its sync, in which a
 * checkpoint helper's result may come (store_ckpt.h): that result is then
 * measured against this advance's frame, and an advance it makes due
 * stays due. */
static void advance_committed(struct store *s)
{
	s->gen.advance_frame = s->wal_frames;   /* set by the hook at COMMIT */
	s->gen.adv_due = false;
}

/* A transaction of its own, outside the batches (no batch number, no
 * statistics): the batch machinery never sees it. wait: synced before
 * this returns, else its sync completes off the loop (the marker waits
 * for it). */
static int db_commit_generation(struct store *s, int64_t gen, bool wait)
{
	struct store__meta m;
	int rc;

	if (s->in_txn || s->n_ops > 0) {   /* a batch is open: it commits first */
		log_error(TAG, "state generation %" PRId64 " not committed: a batch is open", gen);
		return LB_ERR_STATE;
	}
	store__ckpt_before_begin(s);   /* a closing pass: the WAL starts over after it */
	if (s->sync.failed)   /* nothing more is written (store_sync.h) */
		return LB_ERR_IO;
	memset(&m, 0, sizeof(m));
	snprintf(m.key, sizeof(m.key), "%s", STORE_GEN_META_KEY);
	m.value = gen;
	rc = step(s, STMT_BEGIN, "begin (state generation)");
	if (rc != LB_OK)
		return rc;
	rc = store__apply(s, OP_META_PUT, &m, sizeof(m));
	if (rc == LB_OK)
		rc = step(s, STMT_COMMIT, "commit (state generation)");
	if (rc != LB_OK && !sqlite3_get_autocommit(s->db))
		step(s, STMT_ROLLBACK, "rollback (state generation)");
	if (rc == LB_OK) {
		store__sync_wrote(s);
		advance_committed(s);
		/* on the disk before a marker may name it (ADVANCING) */
		rc = store__sync_batch(s, wait);
	}
	if (rc == LB_OK)
		s->gen.committed = gen;
	return rc;
}

/* Generation from + 1: the database first, then the marker (store_gen.h,
 * ADVANCING). */
static int advance(struct store *s, int64_t from)
{
	int rc = db_commit_generation(s, from + 1, true);

	if (rc == LB_OK)
		rc = marker_write(s, from + 1);
	s->gen.advanced_ms = mono_ms();
	s->gen.adv_due = false;
	return rc;
}

/* An advance failed: retried with a commit STORE_RETRY_MS from now, and
 * after any checkpoint. */
static void advance_failed(struct store *s)
{
	s->gen.adv_due = false;
	s->gen.advanced_ms = mono_ms() - (STORE_GEN_PERIOD_MS - STORE_RETRY_MS);
	s->gen.advance_frame = 0;
	LB_LOG_RL(LOG_LVL_ERROR, TAG, "state generation %" PRId64 " not advanced (see above): a "
		  "loss of what was committed since may go unnoticed; retried", s->gen.committed);
}

/* ---- checkpoints ------------------------------------------------------ */

/* Replaces SQLite's automatic checkpoint: remember how long the WAL is. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *s = arg;

	(void)db;
	(void)name;
	/* Fewer frames: this commit started the WAL over, which SQLite does
	 * only once every frame of the old one is in the database file, the
	 * last advance's too, however that checkpoint's result went (a
	 * helper's may be lost): an advance is due. A commit that carries
	 * one, or the advance's own, takes it back right after its COMMIT
	 * (store__gen_carry_committed(), db_commit_generation()). */
	if (frames < s->wal_frames) {
		s->wal_restarts++;
		s->gen.adv_due = true;
	}
	s->wal_frames = frames;
	return SQLITE_OK;
}

/* Copy the WAL into the database file as far as readers allow. Returns
 * whether the last advance is now in the database file: a deleted -wal
 * would then go unnoticed until the next advance. */
static bool checkpoint(struct store *s)
{
	int n_log = 0, n_done = 0;
	/* SQLite syncs the WAL before and the database file after
	 * (synchronous = NORMAL, store_sync.h). */
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &n_log,
					   &n_done);

	s->stats.checkpoints_on_loop++;
	/* A sync of SQLite's own that failed cannot be retried either
	 * (store_sync.h, FAILURE IS FINAL): a retried checkpoint would copy
	 * pages the disk lost and start the WAL over. */
	if (rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_DIR_FSYNC) {
		store__sync_failed(s, "the WAL checkpoint's sync", EIO);
		return false;
	}
	if (rc != SQLITE_OK) {
		LB_LOG_RL(LOG_LVL_WARN, TAG, "WAL checkpoint failed: %s (retried after the next "
			  "commit)", sqlite3_errmsg(s->db));
		return false;
	}
	if (n_done < n_log)
		log_debug(TAG, "WAL checkpoint: %d of %d frames (a reader holds the rest)", n_done,
			  n_log);
	return n_done >= s->gen.advance_frame;
}

/* A checkpoint (no batch open, none running): a pass in the helper when
 * it can be used (store_ckpt.h), else at once. */
static void ckpt_run(struct store *s, bool closing)
{
	if (store__ckpt_usable(s) && store__ckpt_start(s, closing) == LB_OK)
		return;
	s->ckpt.at_once = false;
	s->ckpt.passes = 0;
	s->ckpt.close_next = false;
	if (checkpoint(s))
		s->gen.adv_due = true;
}

/* A pass neither failed nor copied every frame it saw: tried again a
 * while later, as a checkpoint at once would be after the next commit. */
static void ckpt_later(struct store *s)
{
	s->ckpt.passes = 0;
	s->ckpt.close_next = false;
	s->ckpt.retry_ms = mono_ms() + STORE_RETRY_MS;
}

/* A helper's result (store_ckpt.h): rc is SQLite's, -1 when the helper
 * failed. Taken as checkpoint() takes its own, then the next pass. */
static void ckpt_done(struct store *s, int rc, int n_log, int n_done)
{
	if (rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_DIR_FSYNC) {   /* FAILURE IS FINAL */
		store__sync_failed(s, "the WAL checkpoint's sync (in the helper)", EIO);
		return;
	}
	if ((rc & 0xff) == SQLITE_BUSY) {   /* another process's checkpoint */
		LB_LOG_RL(LOG_LVL_WARN, TAG, "WAL checkpoint in the helper: %s (retried)",
			  sqlite3_errstr(rc));
		ckpt_later(s);
		return;
	}
	/* No result, or a failure of the helper's (logged by store_ckpt.c):
	 * at once instead, at the next upkeep or commit, so the WAL never
	 * grows unchecked; and an advance, since what the helper copied
	 * before is unknown (one more is harmless, one fewer is not). */
	if (rc != SQLITE_OK) {
		s->ckpt.at_once = true;
		s->gen.ckpt_due = true;
		s->gen.adv_due = true;
		return;
	}
	/* (A commit since the pass began may have started the WAL over, its
	 * advance counted in the new WAL's frames: an advance more, never
	 * one fewer.) */
	if (n_done >= s->gen.advance_frame)
		s->gen.adv_due = true;
	if (n_done < n_log) {
		log_debug(TAG, "WAL checkpoint: %d of %d frames (a reader holds the rest)", n_done,
			  n_log);
		ckpt_later(s);
		return;
	}
	/* The WAL started over since the pass began (a commit after it
	 * ended), or nothing was committed since it began and no batch is open
	 * (one may have begun before its end: its older snapshot cannot start
	 * the WAL over): done. */
	if (s->wal_restarts != s->ckpt.restarts ||
	    (!s->in_txn && s->wal_frames == n_log)) {
		s->ckpt.passes = 0;
		s->ckpt.close_next = false;
		return;
	}
	s->ckpt.passes++;
	if (s->ckpt.passes < STORE_CKPT_OPEN_PASSES &&
	    s->wal_frames - n_log > STORE_CKPT_CLOSE_FRAMES && store__ckpt_usable(s) &&
	    store__ckpt_start(s, false) == LB_OK)
		return;
	/* The closing pass, as soon as no batch is open (store_gen.h, UPKEEP:
	 * a writer that can wait keeps it closed meanwhile). */
	s->ckpt.close_next = true;
	s->gen.ckpt_due = true;
}

/* ---- the upkeep (store_gen.h, UPKEEP) ---------------------------------- */

void store_defer_upkeep(struct store *s, bool on)
{
	s->gen.deferred = on;
}

bool store_upkeep_due(const struct store *s)
{
	const struct store_gen *g = &s->gen;

	if (!s->db || !g->active || s->sync.failed)
		return false;
	/* The marker of the last advance first, and nothing else while it
	 * waits for its sync or is in the ring. A checkpoint cannot run while
	 * this connection has a transaction open (SQLite: "database table is
	 * locked"). */
	if (g->mark_step != STORE_MARK_IDLE)
		return mark_ready(s);
	/* Nothing begins a transaction during a closing pass (store_ckpt.h),
	 * and no checkpoint runs beside a pass. */
	if (store_checkpoint_closing(s))
		return false;
	return ((g->ckpt_due && !s->ckpt.running) || g->adv_due) && !s->in_txn && s->n_ops == 0;
}

bool store_checkpoint_due(const struct store *s)
{
	return s->db && s->gen.active && (s->gen.ckpt_due || store_checkpoint_closing(s));
}

bool store_upkeep(struct store *s)
{
	struct store_gen *g = &s->gen;

	if (!store_upkeep_due(s))
		return false;
	if (g->mark_step != STORE_MARK_IDLE) {
		mark_start(s);
	} else if (g->ckpt_due && !s->ckpt.running) {   /* first: writers wait for it */
		g->ckpt_due = false;
		ckpt_run(s, s->ckpt.close_next);
	} else if (db_commit_generation(s, g->committed + 1, !marker_off_loop(s)) == LB_OK) {
		g->advanced_ms = mono_ms();   /* (adv_due cleared at its COMMIT) */
		mark_due(s);
	} else {
		advance_failed(s);
	}
	return store_upkeep_due(s);
}

void store__gen_committed(struct store *s)
{
	if (!s->gen.active || s->sync.failed)   /* nothing more is written */
		return;
	/* Deferred, but a batch was open from one commit to the next: done
	 * now, while none is, so the WAL stays short (a closing pass too). */
	bool done = s->gen.deferred && s->gen.ckpt_due && !s->ckpt.running;
	if (done) {
		s->gen.ckpt_due = false;
		ckpt_run(s, s->ckpt.close_next);
	}
	/* (After a checkpoint the frame count is the old WAL's until the next
	 * transaction starts it again.) A pass in the helper starts at once:
	 * it needs no batch closed. */
	if (!done && !s->ckpt.running && s->wal_frames >= STORE_CHECKPOINT_FRAMES &&
	    mono_ms() >= s->ckpt.retry_ms) {
		if (s->gen.deferred && store__ckpt_usable(s))
			ckpt_run(s, false);
		else
			s->gen.ckpt_due = true;
	}
	if (mono_ms() - s->gen.advanced_ms >= STORE_GEN_PERIOD_MS)
		s->gen.adv_due = true;
	while (!s->gen.deferred && store_upkeep(s))
		;
}

int store__gen_carry(struct store *s, bool *carried)
{
	struct store__meta m;

	*carried = false;
	if (!s->gen.active || !s->gen.adv_due)
		return LB_OK;
	memset(&m, 0, sizeof(m));
	snprintf(m.key, sizeof(m.key), "%s", STORE_GEN_META_KEY);
	m.value = s->gen.committed + 1;
	int rc = store__apply(s, OP_META_PUT, &m, sizeof(m));
	*carried = rc == LB_OK;
	return rc;
}

void store__gen_carry_committed(struct store *s)
{
	advance_committed(s);
}

void store__gen_carried(struct store *s, bool later)
{
	if (s->sync.failed)   /* the batch is not known to be on the disk */
		return;
	s->gen.committed++;
	s->gen.advanced_ms = mono_ms();
	/* The marker right after the commit that carried the advance: until
	 * it names the new generation, the batch (a commit interval of
	 * counters, after the checkpoint) would be lost unnoticed with a
	 * deleted -wal. The window stays that of one marker write, in which
	 * nothing of the batch is published: at once, or (later) off the loop
	 * once the batch's sync completed, the batch held (the commit's
	 * caller set the hold, store__sync_hold()) and the next commit
	 * waiting for the marker. */
	mark_due(s);
	if (!later)
		mark_finish(s);
}

void store__gen_before_commit(struct store *s)
{
	mark_finish(s);
}

bool store__gen_marker_off_loop(const struct store *s)
{
	return marker_off_loop(s);
}

void store__gen_close(struct store *s)
{
	mark_finish(s);
	if (!s->gen.active || s->in_txn || s->n_ops > 0)
		return;
	if (advance(s, s->gen.committed) != LB_OK)
		log_warn(TAG, "state generation not advanced at close (see above)");
}

/* ---- the check at open ------------------------------------------------ */

static void log_adopted(const struct store *s, const char *path)
{
	if (s->gen.db_at_open == 0)
		log_info(TAG, "%s: no state marker yet: starting generation 1 (first start, or a "
			 "database from a lorabridge without one)", path);
	else
		log_warn(TAG, "state marker %s next to %s is missing although the database is at "
			 "generation %" PRId64 ": adopting the database as it is (was the marker "
			 "deleted?)", STORE_GEN_NAME, path, s->gen.db_at_open);
}

static void log_loss(const struct store *s, const char *path, bool accepted)
{
	enum log_level lvl = accepted ? LOG_LVL_WARN : LOG_LVL_ERROR;

	if (s->gen.marker_bad)
		LB_LOG(lvl, TAG, "state marker %s next to %s does not read as one: cannot tell "
		       "whether the database lost committed state", STORE_GEN_NAME, path);
	else
		LB_LOG(lvl, TAG, "%s has lost committed state: it is at generation %" PRId64 " but "
		       "the state marker %s says %" PRId64 " (database truncated, deleted or "
		       "restored from an older copy, or its -wal deleted after a crash)", path,
		       s->gen.db_at_open, STORE_GEN_NAME, s->gen.marker_at_open);
	if (accepted)
		LB_LOG(lvl, TAG, "state loss accepted: continuing with what %s holds", path);
}

int store__gen_open(struct store *s, const char *path, unsigned flags)
{
	bool present, bad;
	int64_t marker, db;
	int rc;

	sqlite3_wal_hook(s->db, wal_hook, s);
	if ((rc = marker_read(s, &present, &bad, &marker)) != LB_OK ||
	    (rc = db_generation(s, &db)) != LB_OK)
		return rc;
	s->gen = (struct store_gen){.had_marker = present, .marker_bad = bad,
				    .marker_at_open = marker, .db_at_open = db,
				    .committed = db, .marked = marker, .mark_fd = -1};
	s->sync.reaped = reaped;
	s->ckpt.done = ckpt_done;
	if (!present) {
		s->gen.outcome = STORE_GEN_STARTED;
		log_adopted(s, path);
	} else if (bad || db < marker) {
		bool accept = (flags & STORE_ACCEPT_STATE_LOSS) != 0;
		log_loss(s, path, accept);
		if (!accept)
			return LB_ERR_STATE_LOST;
		s->gen.outcome = STORE_GEN_LOSS_ACCEPTED;
	} else {
		s->gen.outcome = STORE_GEN_CONTINUED;
	}
	rc = advance(s, db > marker ? db : marker);
	if (rc != LB_OK)
		return rc;
	s->gen.active = true;
	log_info(TAG, "%s: state generation %" PRId64, path, s->gen.committed);
	return LB_OK;
}
