/* SPDX-License-Identifier: MIT */
/*
 * store_batch.h - group commit: the batch transaction, its redo log and the
 * replay that re-stages a batch after a failed commit (the rules are
 * "GROUP COMMIT" and "FAILURES NEVER LOSE A BATCH SILENTLY" in store.h).
 * The store__ calls are internal to store/: the row operations stage their
 * writes (store_write.h) through them.
 *
 * Errors: LB_ERR_STATE (the store is not open), LB_ERR_IO (a failed commit,
 * kept for a retry), LB_ERR_FULL (the redo log would exceed STORE_LOG_MAX),
 * LB_ERR_NOMEM, and the error of a staged write itself. Ownership: the redo
 * log belongs to the struct store; staged payloads are copied into it.
 */
#ifndef LB_STORE_BATCH_H
#define LB_STORE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_types.h"
#include "store/store_write.h"

/* Batches. store_commit() returns once the batch is on the disk;
 * store_commit_nowait() once it is written, and it becomes durable
 * (store_committed()) when its sync completes, or for a batch that carried
 * the state generation's advance when its marker is written after that
 * (store_sync.h). A failed sync fails every later commit with LB_ERR_IO. */
int store_commit(struct store *s);
int store_commit_nowait(struct store *s);
/* Commit what is staged without ending the batch: its number stays, so the
 * events tagged with it still wait for store_commit(). For a batch that
 * outgrows the redo log (LB_ERR_FULL from a write): the group commit
 * (daemon/durable.h) commits ahead and stages the rest. A crash between
 * the two leaves the first part durable, so the writer stages first what
 * may be durable early (events before the counters that report them).
 * Errors as store_commit(). */
int store_commit_ahead(struct store *s);
bool store_dirty(const struct store *s);
/* Commits are failing (disk full, read-only, I/O errors): from the first
 * failed commit until one succeeds, which is logged (notice) with how long
 * and how many failed. For the health signals (/healthz, /metrics, the
 * STATUS line). */
bool store_commits_failing(const struct store *s);
/* When the batch is due (monotonic ms): its first staged write plus
 * commit_ms, or 0 (now) while a checkpoint waits for it to be closed; -1
 * when nothing is staged. */
int64_t store_due_ms(const struct store *s);
/* Commit when due; returns the next deadline (store_due_ms()). */
int64_t store_tick(struct store *s, int64_t now_ms);
uint64_t store_batch(const struct store *s);
bool store_committed(const struct store *s, uint64_t batch);
/* The first batch not known to be on the disk: store_committed(s, b) is
 * b < store_synced_below(s). */
uint64_t store_synced_below(const struct store *s);

/* Many reads in a row (the start-up restores every device's rows): open
 * the batch's transaction first, so they take the database lock once
 * instead of once each. store_commit() ends it as any batch (with nothing
 * staged it commits the empty transaction). Errors as store_commit(). */
int store_read_many(struct store *s);

/* Free SQLite's cached pages (sqlite3_db_release_memory): after the
 * start-up's reads filled the page cache (up to its bound, 2 MiB, with a
 * large fleet) that an idle bridge does not need; pages are read again
 * when used. No effect on a closed store. */
void store_release_cache(struct store *s);

/* A quiet store (nothing staged, no batch open): free SQLite's cached
 * pages as store_release_cache() (they grow again with the commits of
 * traffic, up to the cache's bound: 1.3 MiB after one uplink from each of
 * 1,000 devices) and give the redo log back to its initial size when a
 * burst grew it (usual batches grow it to a few hundred KiB). With a batch
 * open or staged writes, nothing is done and false is returned (try again
 * later); true otherwise, also on a closed store. */
bool store_release_idle(struct store *s);

/* Open the batch (replaying the redo log after a failure) so that reads
 * which prepare a write see every staged row. */
int store__begin(struct store *s);

/* Stage a write: open the batch if needed, record it in the redo log and
 * apply it from there (the record is dropped again if that fails). The
 * payload is head followed by tail (tail may be NULL with tail_len 0). */
int store__stage2(struct store *s, enum store_op op, const void *head, size_t head_len,
		  const void *tail, size_t tail_len);
int store__stage(struct store *s, enum store_op op, const void *payload, size_t len);

/* One piece of a record staged by store__stagev(). */
struct store__part {
	const void *p;
	size_t len;
};

/* Stage a record made of n pieces, laid end to end, counting as `rows`
 * staged writes (a multi-row record: one statement, so it is applied whole
 * or not at all). As store__stage2() otherwise. */
/* Rows of one kind staged in groups of several rows per record: `ok` says
 * whether a row, the i-th of its group, can be written (it may note in
 * scratch what `group` needs), `group` stages g > 1 valid rows as one
 * record, `one` a single row (a refused row goes alone, and its own call
 * says why). *staged gets the rows staged before an error. */
struct store__many_kind {
	size_t size;                    /* of one row */
	bool (*ok)(const void *row, size_t i, void *scratch);
	int (*group)(struct store *s, const void *rows, size_t g, const void *scratch);
	int (*one)(struct store *s, const void *row);
};
int store__stage_many(struct store *s, const struct store__many_kind *k, const void *rows,
		      size_t n, size_t *staged, void *scratch);

int store__stagev(struct store *s, enum store_op op, const struct store__part *parts, size_t n,
		  size_t rows);

#endif
