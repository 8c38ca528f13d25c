/* SPDX-License-Identifier: MIT */
/*
 * store_batch.c - group commit: the batch transaction, its redo log, and
 * the replay that re-stages a batch after a failed commit. See store.h
 * ("GROUP COMMIT", "FAILURES NEVER LOSE A BATCH SILENTLY").
 */
#include "store/store_batch.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_ckpt.h"
#include "store/store_db.h"
#include "store/store_gen.h"
#include "store/store_sync.h"
#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG

/* Redo log record: u32 op, u32 len, payload padded to 8 bytes (so it can
 * be read in place as its struct: the buffer comes from malloc). */
static size_t record_size(size_t len)
{
	return 8 + ((len + 7u) & ~(size_t)7);
}

static int step_txn(struct store *s, enum store_stmt id, const char *what)
{
	sqlite3_stmt *st = store__stmt(s, id);

	if (!st)
		return LB_ERR_IO;   /* not prepared: said by store__prepare() */
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store__fail(s, rc, what);
	return LB_OK;
}

/* End a transaction SQLite may already have rolled back by itself (it does
 * for some I/O errors). */
static void rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		step_txn(s, STMT_ROLLBACK, "rollback");
	s->in_txn = false;
}

/*
 * Reopen the batch and apply the redo log again after a rollback. A write
 * that finds its row already there (DUPLICATE) or already gone (NOT_FOUND)
 * took effect before: a COMMIT can fail after its frames reached the WAL
 * (a write error, or the sync of the WAL's header when it starts over), and
 * nobody else writes (the directory is locked). Such a
 * write is skipped, so a half-failed commit never wedges the store.
 */
static int replay(struct store *s)
{
	int rc = step_txn(s, STMT_BEGIN, "begin (replay)");
	size_t off = 0;

	if (rc != LB_OK)
		return rc;
	s->in_txn = true;
	while (off < s->log_len) {
		uint32_t op, len;

		memcpy(&op, s->log + off, sizeof(op));
		memcpy(&len, s->log + off + sizeof(op), sizeof(len));
		rc = store__apply(s, (enum store_op)op, s->log + off + 8, len);
		if (rc == LB_ERR_DUPLICATE || rc == LB_ERR_NOT_FOUND) {
			log_debug(TAG, "replay: staged write %u was already applied", op);
		} else if (rc != LB_OK) {
			log_error(TAG, "replay of staged write %u failed: %s", op, lb_strerror(rc));
			rollback(s);
			return rc;
		}
		off += record_size(len);
	}
	s->broken = false;
	s->stats.replays++;
	return LB_OK;
}

static int ensure_batch(struct store *s)
{
	int rc;

	if (s->in_txn)
		return LB_OK;
	/* A closing checkpoint pass: the WAL starts over with this batch. */
	store__ckpt_before_begin(s);
	if (s->sync.failed)   /* found by that pass */
		return LB_ERR_IO;
	if (s->broken)
		return replay(s);
	rc = step_txn(s, STMT_BEGIN, "begin");
	if (rc == LB_OK)
		s->in_txn = true;
	return rc;
}

/* Make room first, so a write is never applied without being recorded. */
static int log_reserve(struct store *s, size_t len)
{
	size_t need = s->log_len + record_size(len);
	size_t cap = s->log_cap;
	uint8_t *p;

	/* Not an error here: the group commit (daemon/durable.h) commits the
	 * batch ahead and stages the rest; other callers log what failed. */
	if (need > STORE_LOG_MAX) {
		log_debug(TAG, "staged batch would exceed %d bytes (%zu writes)", STORE_LOG_MAX,
			  s->n_ops);
		return LB_ERR_FULL;
	}
	if (need <= cap)
		return LB_OK;
	while (cap < need)
		cap *= 2;
	p = realloc(s->log, cap);
	if (!p)
		return LB_ERR_NOMEM;
	s->log = p;
	s->log_cap = cap;
	return LB_OK;
}

/* A redo log grown beyond keep bytes back to its initial size; the log
 * must be empty. After a commit keep is STORE_LOG_KEEP: a batch that grew
 * it beyond (the flush of a whole fleet's ledgers, megabytes, once) does
 * not leave it so; usual batches stay below, no reallocation per commit.
 * A quiet store gives back the rest (store_release_idle()). A failed
 * realloc keeps the larger log. */
static void log_shrink(struct store *s, size_t keep)
{
	if (s->log_cap <= keep)
		return;
	uint8_t *p = realloc(s->log, STORE_LOG_INITIAL);
	if (!p)
		return;
	s->log = p;
	s->log_cap = STORE_LOG_INITIAL;
}

/* Returns the payload address inside the log (8-aligned). */
static uint8_t *log_append(struct store *s, enum store_op op, const struct store__part *parts,
			   size_t n, size_t len)
{
	uint32_t op32 = (uint32_t)op, len32 = (uint32_t)len;
	uint8_t *rec = s->log + s->log_len;
	size_t size = record_size(len), off = 8;

	memcpy(rec, &op32, 4);
	memcpy(rec + 4, &len32, 4);
	for (size_t i = 0; i < n; i++) {
		if (parts[i].len)
			memcpy(rec + off, parts[i].p, parts[i].len);
		off += parts[i].len;
	}
	memset(rec + 8 + len, 0, size - 8 - len);
	s->log_len += size;
	return rec + 8;
}

int store__begin(struct store *s)
{
	int rc;

	if (!s || !s->db)
		return LB_ERR_STATE;
	if (s->sync.failed) {   /* nothing more is written (store_sync.h) */
		LB_LOG_RL(LOG_LVL_ERROR, TAG, "write to %s refused: a sync failed before",
			  STORE_DB_NAME);
		return LB_ERR_IO;
	}
	rc = ensure_batch(s);
	if (rc != LB_OK)
		s->stats.failures++;
	return rc;
}

int store_read_many(struct store *s)
{
	return store__begin(s);
}

void store_release_cache(struct store *s)
{
	if (s && s->db)
		(void)sqlite3_db_release_memory(s->db);   /* SQLITE_OK, nothing to report */
}

bool store_release_idle(struct store *s)
{
	if (!s || !s->db)
		return true;
	if (s->in_txn || s->log_len != 0)
		return false;
	store_release_cache(s);
	log_shrink(s, STORE_LOG_INITIAL);
	return true;
}

int store__stagev(struct store *s, enum store_op op, const struct store__part *parts, size_t n,
		  size_t rows)
{
	size_t mark, len = 0;
	uint8_t *payload;
	int rc = store__begin(s);

	for (size_t i = 0; i < n; i++)
		len += parts[i].len;
	if (rc == LB_OK)
		rc = log_reserve(s, len);
	if (rc != LB_OK)
		return rc;
	mark = s->log_len;
	payload = log_append(s, op, parts, n, len);
	rc = store__apply(s, op, payload, len);
	if (rc != LB_OK) {
		s->log_len = mark;
		if (rc != LB_ERR_DUPLICATE && rc != LB_ERR_NOT_FOUND)
			s->stats.failures++;
		if (sqlite3_get_autocommit(s->db)) {
			/* SQLite rolled the whole batch back (it may on FULL,
			 * IOERR, NOMEM): re-stage it so reads stay coherent. */
			s->in_txn = false;
			s->broken = s->n_ops > 0;
			if (s->broken)
				replay(s);
		}
		return rc;
	}
	if (s->n_ops == 0)
		s->due_ms = store__mono_us() / 1000 + s->commit_ms;
	/* A batch this large is due at once: its COMMIT (and its sync, for a
	 * commit that waits), and the checkpoint after it, hold the caller's
	 * loop for a time that grows with the batch, and the redo log stays
	 * within what it keeps. Not while a failed commit waits for its
	 * retry: a full or failing disk is not tried again sooner because more
	 * was staged. */
	if (s->log_len >= STORE_COMMIT_EARLY_BYTES && !s->retrying) {
		int64_t now_ms = store__mono_us() / 1000;
		if (s->due_ms > now_ms)
			s->due_ms = now_ms;
	}
	s->n_ops += rows;
	return LB_OK;
}

int store__stage_many(struct store *s, const struct store__many_kind *k, const void *rows,
		      size_t n, size_t *staged, void *scratch)
{
	const uint8_t *r = rows;
	size_t done = 0;
	int rc = LB_OK;

	if (staged)
		*staged = 0;
	if (!s || (!rows && n))
		return LB_ERR_INVAL;
	while (rc == LB_OK && done < n) {
		const void *first = r + done * k->size;
		size_t valid = 0;
		while (valid < n - done && valid < STORE_MANY_ROWS &&
		       k->ok(r + (done + valid) * k->size, valid, scratch))
			valid++;
		size_t g = store__group(valid);
		rc = g > 1 ? k->group(s, first, g, scratch) : k->one(s, first);
		if (rc == LB_OK)
			done += g;
	}
	if (staged)
		*staged = done;
	return rc;
}

int store__stage2(struct store *s, enum store_op op, const void *head, size_t head_len,
		  const void *tail, size_t tail_len)
{
	const struct store__part parts[2] = {{head, head_len}, {tail, tail_len}};

	return store__stagev(s, op, parts, tail_len ? 2 : 1, 1);
}

int store__stage(struct store *s, enum store_op op, const void *payload, size_t len)
{
	return store__stage2(s, op, payload, len, NULL, 0);
}

/* The end of a spell of failed commits, said: the errors were the last
 * lines about the disk, rate-limited ("N similar lines suppressed"). */
static void recovered(struct store *s)
{
	if (!s->failing_since_us)
		return;
	int64_t ms = (store__mono_us() - s->failing_since_us) / 1000;
	log_notice(TAG, "state commits succeed again, after %lld.%03lld s of %llu failed "
		   "commit(s)", (long long)(ms / 1000), (long long)(ms % 1000),
		   (unsigned long long)s->failing_commits);
	s->failing_since_us = 0;
	s->failing_commits = 0;
}

bool store_commits_failing(const struct store *s)
{
	return s && s->failing_since_us != 0;
}

/* end_batch: the batch's number moves on (store_committed() becomes true
 * for it); a commit ahead keeps it, so its events still wait. */
static void batch_done(struct store *s, int64_t t0, bool end_batch)
{
	int64_t us = store__mono_us() - t0;

	s->stats.commits++;
	s->stats.rows_written += s->n_ops;
	s->stats.last_commit_us = us;
	if (us > s->stats.max_commit_us)
		s->stats.max_commit_us = us;
	if (end_batch)
		s->batch++;
	s->ahead = !end_batch;
	s->n_ops = 0;
	s->log_len = 0;
	s->due_ms = -1;
	s->broken = false;
	s->retrying = false;
	log_shrink(s, STORE_LOG_KEEP);
	recovered(s);
}

/* How a commit reaches the disk (store_sync.h): a commit ahead is synced
 * with its batch's end. */
enum commit_kind { COMMIT_WAIT, COMMIT_NOWAIT, COMMIT_AHEAD };

static int commit(struct store *s, enum commit_kind kind)
{
	bool end_batch = kind != COMMIT_AHEAD;
	int64_t t0;
	int rc;

	if (!s || !s->db)
		return LB_ERR_STATE;
	if (s->sync.failed) {
		LB_LOG_RL(LOG_LVL_ERROR, TAG, "commit of batch %llu refused: a sync failed before",
			  (unsigned long long)s->batch);
		return LB_ERR_IO;
	}
	if (s->n_ops == 0) {   /* an empty transaction left by a failed write */
		if (s->in_txn && step_txn(s, STMT_COMMIT, "commit (empty)") != LB_OK)
			rollback(s);
		s->in_txn = false;
		/* What was committed ahead is the whole batch: it ends here. */
		if (end_batch && s->ahead) {
			s->batch++;
			s->ahead = false;
		}
		/* What it returns for is durable: a batch held for the marker of
		 * the advance it carried too (store_gen.h, UPKEEP). */
		if (kind == COMMIT_WAIT) {
			store__gen_before_commit(s);
			if (s->sync.failed)
				return LB_ERR_IO;
		}
		return end_batch ? store__sync_batch(s, kind == COMMIT_WAIT) : LB_OK;
	}
	t0 = store__mono_us();
	uint64_t batch = s->batch;
	bool carried = false;
	s->fail_errno = 0;
	store__gen_before_commit(s);
	if (s->sync.failed)   /* the advance's sync, waited for there */
		return LB_ERR_IO;
	rc = ensure_batch(s);
	if (rc == LB_OK)
		rc = store__gen_carry(s, &carried);
	if (rc == LB_OK)
		rc = step_txn(s, STMT_COMMIT, "commit");
	if (rc == LB_OK) {
		s->in_txn = false;
		store__sync_wrote(s);
		if (carried)
			store__gen_carry_committed(s);
		batch_done(s, t0, end_batch);
		/* A commit ahead is synced with its batch's end, but an advance it
		 * carried is on the disk before its marker names it: at once, or
		 * the marker, off the loop, waits for this sync, and the batch
		 * (not durable before the marker) for the marker. */
		bool later = carried && kind != COMMIT_WAIT && store__gen_marker_off_loop(s);
		if (later)
			store__sync_hold(s, batch);
		rc = !end_batch && !carried ? LB_OK
					    : store__sync_batch(s, kind == COMMIT_WAIT || (carried && !later));
		if (carried)   /* (a ring that broke in this sync: at once after all) */
			store__gen_carried(s, later && store__gen_marker_off_loop(s));
		store__gen_committed(s);
		return rc;
	}
	/* Disk full, I/O error: roll back, keep the redo log, re-stage it so
	 * reads stay coherent, retry later. The OS error (EROFS, EIO...) only
	 * if SQLite's I/O failed in this commit (not re-staging out of memory):
	 * taken before the rollback's own. */
	int sys = s->fail_errno;
	s->stats.failures++;
	if (!s->failing_since_us)
		s->failing_since_us = store__mono_us();
	s->failing_commits++;
	rollback(s);
	s->broken = true;
	s->retrying = true;
	s->due_ms = store__mono_us() / 1000 + STORE_RETRY_MS;
	LB_LOG_RL(LOG_LVL_ERROR, TAG, "commit of batch %llu (%zu writes) failed: %s%s%s%s; "
		  "kept in memory, retrying", (unsigned long long)s->batch, s->n_ops,
		  lb_strerror(rc), sys ? " (last OS error: " : "", sys ? strerror(sys) : "",
		  sys ? ")" : "");
	replay(s);
	return rc == LB_ERR_NOMEM ? rc : LB_ERR_IO;
}

int store_commit(struct store *s)
{
	return commit(s, COMMIT_WAIT);
}

int store_commit_nowait(struct store *s)
{
	return commit(s, COMMIT_NOWAIT);
}

int store_commit_ahead(struct store *s)
{
	return commit(s, COMMIT_AHEAD);
}

bool store_dirty(const struct store *s)
{
	return s && s->n_ops > 0;
}

int64_t store_due_ms(const struct store *s)
{
	if (!s || s->n_ops == 0)
		return -1;
	/* A checkpoint waits for the batch to be closed (store_gen.h, UPKEEP;
	 * a writer that can wait stages nothing meanwhile): due now, not at
	 * the end of its interval with all it gathered staged in one go. */
	if (s->gen.ckpt_due && !s->retrying)
		return 0;
	return s->due_ms;
}

int64_t store_tick(struct store *s, int64_t now_ms)
{
	int64_t due = store_due_ms(s);

	if (store_dirty(s) && due >= 0 && now_ms >= due)
		store_commit(s);
	return store_due_ms(s);
}

uint64_t store_batch(const struct store *s)
{
	return s->batch;
}

bool store_committed(const struct store *s, uint64_t batch)
{
	return batch < s->sync.durable;
}

uint64_t store_synced_below(const struct store *s)
{
	return s->sync.durable;
}
