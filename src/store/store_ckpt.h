/* SPDX-License-Identifier: MIT */
/*
 * store_ckpt.h - the WAL checkpoint in a helper process, off the caller's
 * loop.
 *
 * WHY. A checkpoint copies the WAL's pages into the database file between
 * two syncs of SQLite's own, the WAL's and then the database file's
 * (SQLite's "Write-Ahead Logging", "Checkpointing"): every 4000 frames
 * (STORE_CHECKPOINT_FRAMES), 16 MiB copied and synced, tens of
 * milliseconds on an SSD and up to seconds on an SD card, on the daemon's
 * one loop while no datagram is read. SQLite has no asynchronous
 * interface, but its WAL is made for a writer, readers and a checkpointer
 * in several processes at once (ibid., "Concurrency", and "the checkpoint
 * ... can be run in a separate thread or process"): a PASSIVE checkpoint
 * in another process copies what was committed when it began while this
 * connection goes on committing, and never takes the write lock.
 *
 * HOW. store_checkpoint_helper() names the program; the daemon passes
 * /proc/self/exe, the very file it runs (the same SQLite, even after an
 * upgrade replaced the file). A pass spawns `PROGRAM checkpoint-helper
 * lorabridge.db` in the state directory (posix_spawn: no copy of the
 * caller's memory), its standard output a pipe, every other descriptor
 * closed, SIGINT, SIGTERM and SIGHUP blocked (a stop lets it finish). The
 * helper (store_checkpoint_main()) opens a connection of its own, runs
 * the checkpoint and writes one line, "RC N_LOG N_DONE [ERROR]" (SQLite's
 * result code, frames in the WAL, frames copied, and what failed, in
 * words, if anything did), then exits. Its errors travel in that line and
 * the caller logs them: the helper's standard error is the daemon's,
 * /dev/null once it has detached (its log then goes to syslog). Its end
 * is polled through the store's ring (store_sync.h) on a pidfd, readable
 * once the process can be waited for: it wakes the caller's loop as a
 * sync's completion does, and store_sync_reap() waits for the process (at
 * once: no zombie is left) and reads the line.
 *
 * PASSES. The WAL starts over, and stops growing, only at the first write
 * transaction that begins once every frame of it is copied. An *open* pass
 * lets commits go on, so frames committed meanwhile stay; another pass
 * copies them: open again while more than STORE_CKPT_CLOSE_FRAMES came
 * (at most STORE_CKPT_OPEN_PASSES passes), then a *closing* pass, started
 * when no batch is open: until it ends no batch opens.
 * store_checkpoint_due() tells a writer that can wait to keep its batch
 * closed (the daemon's group commit waits, its loop does not); a batch
 * that must open meanwhile (a commit that waits, a join beyond those
 * held) waits for the pass on the caller's thread. The generation
 * (store_gen.h) takes each result as it took the checkpoint's at once.
 *
 * FAILURES. A sync of the helper's that failed is the store's (store_sync.h
 * FAILURE IS FINAL). Linux reports a write-back error once to each open
 * file, and not to one opened after someone heard of it: a helper's own
 * descriptor of the WAL could miss an error the store's sync has taken
 * but the caller not yet reaped, and copy frames the disk lost into the
 * database file. So store_checkpoint_helper() opens a descriptor of the
 * -wal that the caller never syncs, and each helper gets it as its
 * descriptor 3 and syncs it before the checkpoint (after its own
 * connection opened the WAL): whatever error came since the store
 * opened, one helper hears of (the helpers share that one open file,
 * whose error is reported once). That is enough only because such a
 * helper checkpoints nothing and reports a failed sync, which is final;
 * a helper whose result is lost is followed by a checkpoint at once on
 * the caller's own connection, whose descriptors were opened before, and
 * never by another helper's pass that could miss it: keep it so. The
 * helper's connection never checkpoints at its
 * close (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE): with the caller gone (kill
 * -9), it would be the last and delete the WAL even after a failed sync.
 * A helper that could not start, died, wrote no result or reported
 * another error is logged, that checkpoint is made at once (the WAL never
 * grows unchecked) and the generation advances (what it copied is
 * unknown); after STORE_CKPT_MAX_FAILURES in a row, every checkpoint is
 * made at once. SQLITE_BUSY (another process's checkpoint) and frames a
 * reader's snapshot holds are retried after STORE_RETRY_MS.
 *
 * Without a program, with the upkeep not deferred (tools) or without the
 * ring, checkpoints are made at once, as before. Errors: LB_ERR_STATE
 * (store not open), LB_ERR_IO (a pipe or the spawn failed: logged).
 * Ownership: exe is the caller's and must outlive the store; the helper's
 * process and pipe belong to the store, whose close waits for them.
 */
#ifndef LB_STORE_CKPT_H
#define LB_STORE_CKPT_H

#include <stdbool.h>

#include "store/store_types.h"

#define STORE_CKPT_CLOSE_FRAMES 1000   /* left after an open pass: closing next */
#define STORE_CKPT_OPEN_PASSES 3       /* open passes before a closing one, at most */
#define STORE_CKPT_MAX_FAILURES 3      /* helpers failed in a row: at once from then on */
#define STORE_CKPT_HELPER_ARG "checkpoint-helper"

/* Run checkpoints in helper processes of program exe (HOW). LB_OK, or
 * LB_ERR_STATE when the store is not open. */
int store_checkpoint_helper(struct store *s, const char *exe);
/* Whether a closing pass runs: no batch opens until it ends. */
bool store_checkpoint_closing(const struct store *s);
/* For how long (ms) the pass that runs has run; 0 when none does. */
int64_t store_checkpoint_running_ms(const struct store *s);
/* The helper's work, in its own process: checkpoint db_path (PASSIVE) and
 * write the line of HOW to out_fd; wal_fd (-1: none) is the daemon's
 * unsynced descriptor of the -wal, synced first (FAILURES). Returns its
 * exit status: 0 when the checkpoint succeeded, 1 when it did not (said
 * in the line), 2 for a usage error (said on stderr: no daemon asked). */
int store_checkpoint_main(const char *db_path, int out_fd, int wal_fd);

/* Internal to store/. */
void store__ckpt_init(struct store *s);
/* Whether a pass can be started in a helper now (a program, deferred
 * upkeep, the ring, not too many failures, none running). */
bool store__ckpt_usable(const struct store *s);
/* Start a pass (closing: no batch may be open). LB_OK; else logged, and
 * the caller checkpoints at once. Its result goes to s->ckpt.done. */
int store__ckpt_start(struct store *s, bool closing);
/* Before a transaction begins: wait for a closing pass (PASSES). */
void store__ckpt_before_begin(struct store *s);
/* Wait for the pass that runs, if any, and its result. */
void store__ckpt_wait(struct store *s);
/* At close: no more passes; wait for the one that runs, if any. */
void store__ckpt_close(struct store *s);

#endif
