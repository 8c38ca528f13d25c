/* SPDX-License-Identifier: MIT */
/*
 * store.h - durable device state in SQLite (WAL), written in batches.
 *
 * What lives here (keyed by DevEUI; device definitions stay in the config
 * file): LoRaWAN sessions, the DevNonces each device used, the downlink
 * queue including confirmed downlinks awaiting their ACK, opaque ledgers
 * (per-device fair access, per-gateway duty cycle), the counters of the
 * ABP sessions each device had (store_abp.h), a few named
 * integers (meta, e.g. the DevAddr allocator) and the outbox (events
 * committed with their state, until the MQTT broker acknowledged them). The database is
 * `<dir>/lorabridge.db`, readable with the sqlite3 CLI (EUIs are INTEGER,
 * signed 64-bit: `SELECT printf('%016X', dev_eui), ... FROM session`).
 *
 * This module is an I/O edge: it logs (tag "store") what failed and why,
 * and translates SQLite result codes here and nowhere else:
 *   LB_ERR_IO         disk full, I/O error, corrupt or foreign file, busy
 *   LB_ERR_DUPLICATE  primary key exists (DevNonce used, downlink id)
 *   LB_ERR_NOT_FOUND  no such row
 *   LB_ERR_UNUSABLE   (store_open) not writable, corrupt, or a schema newer
 *                     than this program: an operator must act
 *   LB_ERR_STATE      the directory is locked by another lorabridge process
 *   LB_ERR_FULL       the staged batch exceeds STORE_LOG_MAX bytes
 *   LB_ERR_NOMEM, LB_ERR_INVAL, LB_ERR_RANGE, LB_ERR_TOO_LARGE (arguments)
 *
 * GROUP COMMIT. Writes (store_put_session(s), store_add_dev_nonce, the
 * downlink calls, store_ledger_put(_many), store_meta_put, the outbox calls)
 * are *staged*: the first
 * one opens a transaction (BEGIN IMMEDIATE) and the batch stays open until
 * store_commit(), which costs one fdatasync of the WAL (a committed batch
 * survives power loss), or store_commit_nowait(), whose fdatasync runs off
 * the caller's thread (store_sync.h). Reads on this handle see staged
 * rows; other connections see only committed ones. The daemon commits when
 * store_due_ms() passes (first staged write + commit_ms; store_tick() does
 * it) or at once before sending anything that depends on staged state (a
 * join-accept, a downlink whose counter is not durably reserved).
 * Batches are numbered: store_batch() is the number of the batch being
 * staged; store_committed(s, b) tells whether batch b is durable (synced,
 * not only committed). An event
 * derived from staged state (an uplink event) is tagged with store_batch()
 * and published only once store_committed() says so.
 * Staging many rows of a kind with one call (store_put_sessions,
 * store_ledger_put_many) writes them with one SQL statement per group of up
 * to STORE_MANY_ROWS (32, 16 ... 2 rows): a statement costs about what a
 * row does. Each group is one record of the redo log, applied whole or not
 * at all. store_outbox_add_many() goes further: it packs the events into
 * one row (store_outbox.h).
 *
 * FAILURES NEVER LOSE A BATCH SILENTLY. Every successful staging call is
 * also recorded in an in-memory redo log (one growing buffer, reused; no
 * allocation per frame once warm). A failed COMMIT is rolled back, logged,
 * counted and returns LB_ERR_IO; the batch is then re-staged from the redo
 * log (same batch number) and committed again by the next store_commit()
 * (store_tick() retries after STORE_RETRY_MS). A staging call that fails
 * returns its error and is not recorded: the caller keeps its in-memory
 * state (it is the truth; the store is write-behind) and must not act on
 * the write (e.g. drop the uplink whose counter could not be staged).
 * If even the re-staging fails, reads see only committed rows until a
 * later staging call or commit manages to replay the batch.
 *
 * COUNTER RULES (what survives `kill -9` at any moment):
 *  - NFCntDown is reserved ahead, as routers reserve sequence numbers:
 *    session.nfcnt_down holds a ceiling; every counter below it may have
 *    been used, none at or above it. After a restart the daemon resumes at
 *    the persisted ceiling, so no downlink counter is ever reused even if
 *    the last batch was lost. tables/fcntdown.h implements it:
 *    the ceiling is raised FCNTDOWN_BLOCK (64) past the counter in
 *    use, already when fewer than FCNTDOWN_LOW (32) are left, so the
 *    new ceiling normally rides along with a regular batch; a frame is sent
 *    only with a counter below a *committed* ceiling (otherwise commit
 *    first: after a restart and every 64th frame at worst).
 *  - FCntUp cannot be reserved (the device chooses it): fcnt_up_last is
 *    staged when an uplink is accepted, and the uplink's event is published
 *    only after the batch holding it is committed; the event itself is
 *    staged in the outbox of that same batch (store_outbox.h). A crash
 *    loses at most unpublished frames whose batch was not committed (the
 *    device's retransmission is then accepted once), never accepts one
 *    twice, and never loses the event of a committed one.
 *  - A join: stage the DevNonce, the new session (keys, DevAddr, JoinNonce)
 *    and commit before the join-accept is sent, so no DevNonce or JoinNonce
 *    is accepted/issued twice and no joined session is lost.
 *
 * Clock: the store reads CLOCK_MONOTONIC itself (milliseconds, the same
 * clock as loop_now_ms()) when a batch opens; store_due_ms() and
 * store_tick()'s now_ms are on that clock. Wall-clock columns (updated_at,
 * created_at) are Unix seconds (int64, whole past 2038), set by the store
 * from time() or the clock given to store_set_wall_clock().
 *
 * Callbacks (store_load_sessions, store_downlink_list, store_outbox_page)
 * receive a row valid
 * only during the call; they must not call any store function. A non-zero
 * return stops the iteration and is returned. An I/O error in the middle of
 * an iteration returns LB_ERR_IO after some rows were delivered.
 *
 * Concurrency: one process owns the directory (flock on
 * `<dir>/lorabridge.lock`); a second store_open() fails with LB_ERR_STATE
 * (stop the daemon before `lorabridge --purge`). Not thread-safe: one loop.
 * An open batch holds SQLite's write lock for up to commit_ms; sqlite3 CLI
 * readers are never blocked (WAL). One fdatasync per batch, whatever its
 * size: on the caller's thread for store_commit(), off it for
 * store_commit_nowait() once store_sync_start() succeeded (store_sync.h).
 *
 * Ownership: store_open() allocates the connection, statements and redo
 * log; store_close() commits what is staged and releases everything (safe
 * on a zeroed or closed struct). Structs passed in are copied. An open
 * struct store must not move (SQLite's WAL hook points at it).
 *
 * STATE LOSS: a database that lost committed state (truncated, deleted,
 * its -wal deleted after a crash, restored from an older copy) is refused
 * at open, from a generation counter kept both in the database and in a
 * marker file beside it; store_gen.h has the rules and their limits.
 *
 * Headers: this one declares store_open() and store_close() and includes
 * the rest of the API: store_batch.h (batches), store_ops.h (sessions,
 * DevNonces, ledgers, meta, purge), store_dl.h (the downlink queue),
 * store_mac.h (the network's MAC state of each device), store_abp.h (the
 * counters of the ABP sessions each device had), store_gen.h (the
 * state generation), store_sync.h (the syncs), store_outbox.h (the outbox) and
 * store_types.h (limits, rows, the handle).
 */
#ifndef LB_STORE_H
#define LB_STORE_H

#include "store/store_types.h"
#include "store/store_batch.h"     /* the rest of the store's API */
#include "store/store_ops.h"
#include "store/store_dl.h"
#include "store/store_mac.h"
#include "store/store_abp.h"
#include "store/store_gen.h"
#include "store/store_sync.h"
#include "store/store_ckpt.h"
#include "store/store_outbox.h"

/* Open (creating dir with mode 0750 and the database with 0600 if
 * missing), check integrity, migrate the schema, prepare statements,
 * check the database against the generation marker and advance it
 * (store_gen.h). commit_ms: 0..STORE_MAX_COMMIT_MS (0 = due at once). On
 * error *s is left closed: LB_ERR_UNUSABLE when waiting cannot help, an
 * operator must act (the reason logged: directory or database not writable
 * (EACCES, EPERM, EROFS, SQLITE_READONLY, SQLITE_CANTOPEN), corrupt or not
 * a database, schema newer than STORE_SCHEMA_VERSION), LB_ERR_IO (other
 * system errors, marker not written...), LB_ERR_STATE (locked),
 * LB_ERR_STATE_LOST (the database is older than its marker), LB_ERR_INVAL. */
int store_open(struct store *s, const char *dir, int commit_ms);
/* The same with flags: STORE_ACCEPT_STATE_LOSS opens a database older than
 * its marker all the same (store_generation() then says so). */
int store_open_flags(struct store *s, const char *dir, int commit_ms, unsigned flags);
/* The wall clock of the created_at/updated_at columns (and the generation's
 * `since`): Unix seconds from now_s(), NULL for time(). Call after
 * store_open() (which resets it to time()); tests set a clock past 2038. */
void store_set_wall_clock(struct store *s, int64_t (*now_s)(void));

/* Commit what is staged, close. Returns that commit's result (the batch is
 * lost on error, and logged), or LB_ERR_IO when a sync had failed, before
 * or during the close (the close's own advance; FAILURE IS FINAL,
 * store_sync.h). */
int store_close(struct store *s);

#endif
