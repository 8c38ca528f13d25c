/* SPDX-License-Identifier: MIT */
/*
 * store_gen.h - the state generation: knowing that the database has lost
 * state it once held.
 *
 * An empty database looks like a first start, and a database that lost its
 * last transactions looks like an older, valid one; either way every frame
 * counter, session and DevNonce it lost would be accepted afresh (replays).
 * So the store keeps a *generation*, a counter in two places:
 *  - the meta table of the database (key STORE_GEN_META_KEY);
 *  - the marker `<dir>/lorabridge.gen`, one line "lorabridge-state-generation
 *    N", replaced atomically: written to lorabridge.gen.tmp, fsync, rename,
 *    fsync of the directory.
 *
 * ADVANCING. Generation N+1 is first committed to the database (one small
 * transaction of its own, fsynced), and only then written to the marker.
 * So the marker never names a generation the database has not durably got:
 * after a kill -9 or a power cut at any moment, the database is at the
 * marker's generation or above it. It advances
 *  - at every store_open(), once the check below passed;
 *  - after every WAL checkpoint that copied the last advance into the
 *    database file. The store runs the checkpoints itself (SQLite's
 *    automatic one is replaced by a WAL hook), after a commit that leaves
 *    STORE_CHECKPOINT_FRAMES or more frames in the WAL; and after any
 *    commit that started the WAL over (SQLite does that only once every
 *    frame is in the database file), however the checkpoint's result
 *    went (a helper's may be lost, store_ckpt.h). Hence every
 *    committed transaction is either in the database file or after an
 *    advance whose marker is written: deleting the -wal always loses that
 *    advance too;
 *  - after a commit when STORE_GEN_PERIOD_MS have passed since the last one;
 *  - at store_close(), after the final commit (so that a copy of the
 *    database taken while the daemon ran is older than the marker).
 *
 * UPKEEP: the checkpoint and the advance after a commit take several
 * fsyncs (the checkpoint's two, the advance's transaction, the marker's
 * file and directory) and the copy of the WAL into the database: tens of
 * milliseconds under a heavy load. By default the commit does them before
 * it returns. A caller with other work waiting (the daemon's loop, whose
 * UDP socket overflows while it is held) calls store_defer_upkeep(): the
 * commit then only notes what is due, and store_upkeep() does one step a
 * call, when the caller has time (store_upkeep_due()): the checkpoint;
 * then the advance's transaction; then its marker. A checkpoint at once
 * runs only while no batch is open (SQLite cannot checkpoint inside a
 * transaction of the same connection), and so does a closing pass of a
 * helper's (store_ckpt.h; an open pass starts right after the commit that
 * made it due): a writer that can wait does not open one while
 * store_checkpoint_due(), and the batch open then is due at once
 * (store_due_ms()); a checkpoint still not done at the next commit is
 * started or done by that commit. The rules above stay:
 *  - an advance due while a batch is open is not a transaction of its own:
 *    it is written into that batch before its COMMIT (the batch is then
 *    the first transaction after the checkpoint, as the advance would have
 *    been), and its marker right after that COMMIT, in the same call: the
 *    batch's counters are outside the marker only for one marker write;
 *  - the marker of an advance made by store_upkeep() (a transaction of its
 *    own, holding nothing else) waits for the next step, and is written
 *    before the next commit at the latest, so only the advance's own
 *    transaction is ever outside the marker (the window of one marker
 *    write, as above).
 * With the ring too (store_sync_start()), none of it waits for the disk
 * (the checkpoint is a helper's, store_ckpt.h, when the caller named one;
 * else it runs at once): the advance's transaction, or the batch carrying it,
 * is synced like any batch (store_sync.h), the marker's step comes once
 * that sync has completed (from store_sync_reap(), or store_upkeep()),
 * and writes the file into the page cache; its fsync, the rename and the
 * directory's fsync then follow from the ring's completions. A batch that
 * carried the advance is not durable (store_committed()) before its
 * marker is written, so nothing of it is published before, as when the
 * marker was written at once. A commit that comes before the marker is
 * done finishes it first, waiting (the advance's sync and the marker at
 * once, or the fsync under way), so the rule above holds; so does the
 * close. A store_commit() that carries an advance waits for it all.
 *
 * CHECKING, in store_open(), before anything else reads the state:
 *  - no marker: first start (no database either), an upgrade from a version
 *    without a marker, or a deleted marker. The database is adopted as it
 *    is (logged; a warning when the database has a generation, i.e. the
 *    marker was deleted) and the generation advances;
 *  - database generation >= the marker's: normal (also after a kill -9);
 *  - database generation < the marker's, or a marker that does not read as
 *    one: the database lost committed state (truncated or deleted, its -wal
 *    deleted after a crash, restored from an older copy). Logged at error
 *    level with both generations; store_open() fails with
 *    LB_ERR_STATE_LOST and writes neither (a missing database file is
 *    created empty, as opening does, and stays at generation 0), unless
 *    STORE_ACCEPT_STATE_LOSS is given: then the generation continues above
 *    both (outcome STORE_GEN_LOSS_ACCEPTED) and the state is what is left.
 *
 * NOT DETECTED: the loss of transactions committed after the last advance
 * whose marker write had not finished (the window of one marker write); a
 * database and marker deleted or restored together; a database restored
 * from a copy taken after the last advance (the copy loses nothing the
 * marker knows of); a -wal deleted after another program checkpointed it.
 * The marker guards against accidents and tools, not against someone who
 * can write the state directory.
 *
 * Errors: marker I/O failures are logged; at open they fail store_open()
 * with LB_ERR_IO, later ones only delay the next advance. Ownership: the
 * generation lives in struct store (gen, read-only outside the store).
 */
#ifndef LB_STORE_GEN_H
#define LB_STORE_GEN_H

#include <stdbool.h>

#include "store/store_types.h"

/* Flags of store_open_flags() (store.h). */
#define STORE_ACCEPT_STATE_LOSS 1u   /* open a database older than its marker */

/* How the database was found at open, and the generations (read-only). */
const struct store_gen *store_generation(const struct store *s);

/* Internal to store/. After the database is open and prepared: install
 * the WAL hook, check the database against the marker, advance. */
int store__gen_open(struct store *s, const char *path, unsigned flags);
/* Leave the checkpoint and the advance to store_upkeep() (on) or do them
 * in the commit that makes them due (off, the default). */
void store_defer_upkeep(struct store *s, bool on);
/* Whether store_upkeep() has a step to do now: the checkpoint and the
 * advance wait while a batch is open (SQLite checkpoints only outside a
 * transaction; the advance goes with that batch's commit instead). */
bool store_upkeep_due(const struct store *s);
/* Whether a checkpoint waits for the batch to be closed: a writer that can
 * stage later (daemon/outbox.h) leaves the batch closed meanwhile. */
bool store_checkpoint_due(const struct store *s);
/* Do one step of the upkeep (UPKEEP above); failures are logged and
 * retried later, as in a commit. Returns store_upkeep_due(). */
bool store_upkeep(struct store *s);

/* After a batch commit: note a checkpoint when the WAL is long and an
 * advance when due, and do them unless deferred (failures logged, retried
 * later). */
void store__gen_committed(struct store *s);
/* Inside a batch's transaction, before its COMMIT: write the advance that
 * is due into it (*carried); an error fails the commit. After the COMMIT
 * succeeded with it, store__gen_carried(). */
int store__gen_carry(struct store *s, bool *carried);
/* Right after that COMMIT, before its sync: the advance's frame, and
 * nothing due (a checkpoint's result during the sync may make it due). */
void store__gen_carry_committed(struct store *s);
/* later: the marker off the loop once the batch's sync completed, the
 * batch held back from durable meanwhile (store__sync_hold(), set by the
 * caller before that sync could complete); else at once (the batch synced
 * already). */
void store__gen_carried(struct store *s, bool later);
/* Before a commit: the marker of the last advance, if not yet written
 * (waiting for what is under way in the ring). */
void store__gen_before_commit(struct store *s);
/* Whether the marker is written off the loop (deferred upkeep, a ring):
 * the sync of a commit that carried an advance need not wait then. */
bool store__gen_marker_off_loop(const struct store *s);
/* Before the connection closes, after the final commit succeeded. */
void store__gen_close(struct store *s);

#endif
