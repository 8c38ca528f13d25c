/* SPDX-License-Identifier: MIT */
/*
 * store_sync.h - when a commit is on the disk: the fdatasync of the WAL
 * after a commit, which the store makes itself instead of SQLite.
 *
 * WHY. With `PRAGMA synchronous = FULL` SQLite syncs the WAL inside every
 * COMMIT, on the caller's thread: the daemon's one loop stood still for
 * the sync of every batch (an SD card takes milliseconds to hundreds of
 * them), and no gateway's datagram was read meanwhile. So, once open, the
 * store runs SQLite with `synchronous = NORMAL`, which is FULL without
 * that one sync (SQLite's "PRAGMA synchronous" and "Write-Ahead Logging"
 * documents): SQLite still syncs the WAL before a checkpoint, the database
 * file after it, and the WAL's header when the WAL starts over after a
 * checkpoint (without that sync, old frames left behind a new header could
 * be replayed over newer pages after a power cut: OFF would corrupt). The
 * store adds the sync NORMAL leaves out, one fdatasync of
 * `lorabridge.db-wal` through a descriptor of its own (Linux syncs a
 * file's data whichever descriptor asks):
 *  - after a batch's COMMIT: off the loop with io_uring when the caller
 *    asked for it (store_sync_start()) and the commit does not wait
 *    (store_commit_nowait()), else at once;
 *  - after a generation's own transaction, and after a commit that
 *    carried an advance (a commit ahead too): like a batch's, and the
 *    marker waits for it (store_gen.h, ADVANCING and UPKEEP); at once
 *    when the upkeep is not deferred or there is no ring.
 * The ring also takes the marker's two fsyncs (its file, then the
 * directory after the rename), one at a time beside the WAL's; those are
 * the marker's, and a failure of theirs is not final (store_gen.h). And
 * the poll of the checkpoint helper's end (store_ckpt.h), which wakes the
 * caller's loop like a sync's completion.
 *
 * DURABILITY OF BATCHES. store_committed(s, b) (store_batch.h) is true
 * only once batch b's frames are synced: an event derived from b is
 * published only then, as before. store_commit() returns once the batch is
 * durable (a reload and the shutdown wait for it; a join-accept, a reserved
 * NFCntDown and a txack wait for store_committed() instead);
 * store_commit_nowait() returns after the COMMIT and the batch becomes
 * durable when its sync completes (store_sync_reap()), and a batch that
 * carried a generation's advance once its marker is written too
 * (store__sync_hold(), store_gen.h UPKEEP). One sync is in
 * flight at a time; batches committed meanwhile go with the next one. A
 * sync made at once first waits for the one in flight: Linux reports a
 * write-back error once per open file, so two syncs at once on one
 * descriptor could let one of them succeed over a lost write.
 *
 * FAILURE IS FINAL. A failed fdatasync cannot be retried: Linux reports a
 * write-back error once and then treats the pages as clean, so a second
 * fdatasync "succeeds" without them (the PostgreSQL "fsyncgate" of 2018).
 * A failed sync therefore marks the store failed (store_sync_failed()): no
 * batch written since becomes durable, the store writes nothing more
 * (commits, staging and the upkeep fail with LB_ERR_IO), its close keeps
 * the WAL (no checkpoint into the database file), and the daemon stops
 * (exit status 3, restarted by systemd); the events of those batches stay
 * in the outbox rows of the database and are published at the next start
 * if the disk kept them. Logged at error level with the file and the
 * reason. A wait on the ring that fails while the WAL's sync is in flight
 * counts as that sync failing: it was submitted, its result is unknown.
 *
 * Errors: LB_ERR_IO (a sync failed, now or before; or no io_uring for
 * store_sync_start(): seccomp, an old kernel, qemu-user, and the store then
 * syncs at once, as before), LB_ERR_NOMEM, LB_ERR_STATE (store not open, or
 * not in WAL mode: SQLite then syncs its journal itself, FULL).
 * Ownership: the descriptor and the ring belong to the struct store;
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
/* Whether a sync is in flight (batches wait for store_sync_reap()). */
bool store_sync_pending(const struct store *s);
/* For how long (ms) the sync in flight has been (the WAL's, or the
 * marker's); 0 when none is. A disk that hangs no longer holds the loop
 * but every event: the caller must tell (the daemon stops feeding
 * systemd's watchdog). */
int64_t store_sync_stalled_ms(const struct store *s);

/* Internal to store/. */
/* At open, once the database is in WAL mode: the WAL's descriptor, and
 * the directory synced (its -wal entry). */
int store__sync_open(struct store *s, const char *db_path);
/* Before the connection closes: wait for the sync in flight (its result
 * counts for the close). After it closes, and after the drain: release
 * the ring and the descriptor. */
void store__sync_drain(struct store *s);
void store__sync_close(struct store *s);
/* A sync failed, the store's or SQLite's own (a checkpoint's): FAILURE IS
 * FINAL. `what` names it in the log. Returns LB_ERR_IO. */
int store__sync_failed(struct store *s, const char *what, int err);
/* A COMMIT wrote to the WAL: count it (what a sync must cover). */
void store__sync_wrote(struct store *s);
/* After a batch's COMMIT: sync now (wait) or start a sync (!wait, when
 * store_sync_start() succeeded; else now). */
int store__sync_batch(struct store *s, bool wait);
/* Sync the WAL now if anything was written since the last completed sync
 * began (after waiting for the one in flight): every batch committed so
 * far becomes durable. */
int store__sync_wal_now(struct store *s);
/* fdatasync(fd), again when interrupted: 0 or an errno. */
int store__fdatasync(int fd);
/* Whether the ring is in use (io_uring started, not given up, no failed
 * sync). */
bool store__sync_ring_ok(const struct store *s);
/* An fsync of fd (the marker's file or the state directory, store_gen.h)
 * in the ring, beside the WAL's: LB_OK, and its result (0 or an errno)
 * goes to done() from a reap or a wait; or LB_ERR_STATE when the ring is
 * not in use or one is in flight already (the caller syncs at once). Its
 * failure is the marker's, never the store's. */
int store__sync_aux_submit(struct store *s, int fd, store_sync_aux_fn done);
/* Wait until no such fsync is in flight (one that a completion submits
 * in turn included). A wait that fails fails the marker, and the store too
 * if the WAL's sync is in flight (FAILURE IS FINAL). */
void store__sync_aux_wait(struct store *s);
/* A poll of fd for POLLIN (the checkpoint helper's pidfd: its end,
 * store_ckpt.h) in the ring: LB_OK, and its result (the events, or
 * -errno, io_uring's own errors included) goes to done() from a reap or a
 * wait; or LB_ERR_STATE when the ring is not in use or a poll is in
 * flight (the caller waits at once). */
int store__sync_poll_submit(struct store *s, int fd, store_sync_poll_fn done);
/* Wait until no such poll is in flight. */
void store__sync_poll_wait(struct store *s);
/* Batch `batch` and later are not durable, synced or not, until
 * store__sync_release(): the marker of the advance that batch carries
 * comes first (store_gen.h, ADVANCING). */
void store__sync_hold(struct store *s, uint64_t batch);
void store__sync_release(struct store *s);

#endif
