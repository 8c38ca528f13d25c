/* SPDX-License-Identifier: MIT */
/*
 * store_sync.h - when a commit is on the disk: the fdatasync of the WAL and
 * of the database file, which the store does itself instead of SQLite.
 *
 * WHY. With `PRAGMA synchronous = FULL` SQLite syncs the WAL inside every
 * COMMIT, on the caller's thread: the daemon's one loop stood still for
 * the fsync of every batch (an SD card takes milliseconds to hundreds of
 * them), and no gateway's datagram was read meanwhile. So the store runs
 * SQLite with `synchronous = OFF` and gives each commit the syncs that
 * FULL would have done (SQLite's "PRAGMA synchronous" and "Write-Ahead
 * Logging" documents: a WAL commit is durable once the WAL is synced; a
 * checkpoint must sync the database file before the WAL is restarted):
 *  - the WAL after a batch's COMMIT: off the loop with io_uring when the
 *    caller asked for it (store_sync_start()), else at once;
 *  - the WAL before a checkpoint (at once; most of it was synced already),
 *    and the database file after it, before any later write may start the
 *    WAL over: off the loop too when the ring is there (GUARD below);
 *  - the WAL after a generation's transaction, before its marker names it
 *    (store_gen.h, ADVANCING, at once: rare);
 *  - at close SQLite syncs itself (synchronous is FULL again for the
 *    checkpoint that sqlite3_close() does before deleting the WAL).
 * Linux syncs a file's data whichever descriptor asks, so the store keeps
 * descriptors of its own on `lorabridge.db` and `lorabridge.db-wal`.
 *
 * DURABILITY OF BATCHES. store_committed(s, b) (store_batch.h) is true
 * only once batch b's frames are synced: an event derived from b is
 * published only then, as before. store_commit() returns once the batch is
 * durable (a join-accept, a reserved NFCntDown, a shutdown wait for it);
 * store_commit_nowait() returns after the COMMIT and the batch becomes
 * durable when its sync completes (store_sync_reap()). One sync is in
 * flight at a time; batches committed meanwhile go with the next one.
 *
 * GUARD. A checkpoint copies the WAL's frames into the database file; the
 * next write transaction that finds them all copied starts the WAL over,
 * writing over them. Until the database file's sync completed, that must
 * not happen. So, before the checkpoint, a second connection (the guard)
 * begins a read transaction: its read mark at the end of the WAL lets the
 * checkpoint copy every frame, and SQLite does not start a WAL over while
 * a reader uses it ("Write-Ahead Logging", WAL reset). The guard ends when
 * the sync completes. Meanwhile commits that do not wait are held
 * (store_sync_holds_commits(): the first one after it starts the WAL over,
 * instead of appending to a WAL that cannot be reset until the next
 * checkpoint), and a commit that waits, or a cache spill, only appends.
 *
 * FAILURE IS FINAL. A failed fdatasync cannot be retried: Linux reports a
 * write-back error once and then treats the pages as clean, so a second
 * fdatasync "succeeds" without them (the PostgreSQL "fsyncgate" of 2018).
 * A failed sync therefore marks the store failed (store_sync_failed()): no
 * batch written since becomes durable, every later commit fails with
 * LB_ERR_IO, and the daemon stops (exit status 3, restarted by systemd);
 * the events of those batches stay in the outbox rows of the database and
 * are published at the next start if the disk kept them. Logged at error
 * level with the file and the reason.
 *
 * Errors: LB_ERR_IO (a sync failed, now or before; or no io_uring for
 * store_sync_start(): seccomp, an old kernel, qemu-user, and the store then
 * syncs at once, as before), LB_ERR_NOMEM, LB_ERR_STATE (store not open, or
 * not in WAL mode: SQLite then syncs its journal itself).
 * Ownership: the descriptors and the ring belong to the struct store;
 * store_close() releases them.
 */
#ifndef LB_STORE_SYNC_H
#define LB_STORE_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store_types.h"

/* Sync the WAL of later store_commit_nowait() calls off the caller's
 * thread. Returns a descriptor that becomes readable when a sync
 * completes (the caller's loop watches it and calls store_sync_reap()),
 * or LB_ERR_IO / LB_ERR_NOMEM / LB_ERR_STATE (logged; the store keeps
 * syncing at once). Calling it again returns the same descriptor. */
int store_sync_start(struct store *s);
/* The descriptor of store_sync_start(), -1 when syncs are done at once. */
int store_sync_fd(const struct store *s);
/* Take the completed syncs (never waits): their batches become durable,
 * and a sync for batches committed since is started. LB_OK, or LB_ERR_IO
 * when a sync failed (FAILURE IS FINAL). */
int store_sync_reap(struct store *s);
/* Whether a sync has failed since the store was opened. */
bool store_sync_failed(const struct store *s);
/* Whether a sync is in flight (the WAL's or the database file's). */
bool store_sync_pending(const struct store *s);
/* Whether the caller should hold its commits that do not wait: the
 * database file's sync after a checkpoint is in flight (GUARD). */
bool store_sync_holds_commits(const struct store *s);

/* Internal to store/. */
/* At open, once the database is in WAL mode: the descriptors. */
int store__sync_open(struct store *s, const char *db_path);
void store__sync_close(struct store *s);
/* A COMMIT wrote to the WAL: count it (what a sync must cover). */
void store__sync_wrote(struct store *s);
/* After a batch's COMMIT: sync now (wait) or start a sync (!wait, when
 * store_sync_start() succeeded; else now). */
int store__sync_batch(struct store *s, bool wait);
/* Sync the WAL now if anything was written since the last sync began:
 * every batch committed so far becomes durable. */
int store__sync_wal_now(struct store *s);
/* Sync the database file now (after a checkpoint copied frames into it). */
int store__sync_db_now(struct store *s);
/* Around a checkpoint: before it, the WAL synced and, with the ring, the
 * guard begun (*async); LB_ERR_STATE while the last checkpoint's sync is
 * in flight (skip this one). After it (copied: frames were copied), the
 * database file's sync: started (async) or done at once. */
int store__sync_checkpoint_begin(struct store *s, bool *async);
int store__sync_checkpoint_end(struct store *s, bool async, bool copied);

#endif
