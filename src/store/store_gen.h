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
 *    STORE_CHECKPOINT_FRAMES or more frames in the WAL. Hence every
 *    committed transaction is either in the database file or after an
 *    advance whose marker is written: deleting the -wal always loses that
 *    advance too;
 *  - after a commit when STORE_GEN_PERIOD_MS have passed since the last one;
 *  - at store_close(), after the final commit (so that a copy of the
 *    database taken while the daemon ran is older than the marker).
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

#include "store/store_types.h"

/* Flags of store_open_flags() (store.h). */
#define STORE_ACCEPT_STATE_LOSS 1u   /* open a database older than its marker */

/* How the database was found at open, and the generations (read-only). */
const struct store_gen *store_generation(const struct store *s);

/* Internal to store/. After the database is open and prepared: install
 * the WAL hook, check the database against the marker, advance. */
int store__gen_open(struct store *s, const char *path, unsigned flags);
/* After a batch commit: checkpoint the WAL when it is long, advance when
 * due (failures logged, retried later). */
void store__gen_committed(struct store *s);
/* Before the connection closes, after the final commit succeeded. */
void store__gen_close(struct store *s);

#endif
