/* SPDX-License-Identifier: MIT */
/*
 * durable.h - when in-memory state reaches the disk: the group commit that
 * every change of the durable state goes through.
 *
 * Several modules keep state in memory and persist it write-behind in the
 * store (store/store.h): sessions (session.h), the fair-access and
 * duty-cycle ledgers (budget.h), the outbox of events and the deletions of
 * acknowledged ones (outbox.h). Each registers a *part*: a stage function
 * that writes everything it has changed into the store's open batch, and a
 * due function that says by when its changes must be committed. A commit
 * stages every part first, then commits the batch; if a part fails to
 * stage, nothing is committed (that part's changes stay listed and the
 * batch is retried), so a batch never becomes durable without all of its
 * state, and an event derived from it is released only after that
 * (outbox.h).
 *
 * A batch larger than the store's redo log (STORE_LOG_MAX: after a long
 * broker outage, or under overload, a commit interval can hold more events
 * than that) is committed in pieces: when a part's write finds the log
 * full, what is staged is committed ahead (store_commit_ahead(): the batch
 * keeps its number, so no event is released yet) and staging goes on.
 * Parts are staged in the order they were added, so a crash between the
 * pieces leaves only earlier parts durable: the outbox is added first
 * (bridge.c), so an event's row is never later than the counter it
 * reports — after such a crash the event is published and its frame, if
 * sent again, accepted again (a duplicate, as QoS 1 allows), never a
 * counter durable with its event lost.
 *
 * Batches are the store's (store_batch()/store_committed()); this module
 * adds only the parts. It owns no memory; parts are borrowed.
 */
#ifndef LB_DURABLE_H
#define LB_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define DURABLE_MAX_PARTS 8

/* Stage every change of the part into the store's batch: LB_OK, or the
 * first error (the part logs it and keeps what is not staged). */
typedef int (*durable_stage_fn)(void *arg);
/* By when (monotonic ms) the part's changes must commit, -1 if none. */
typedef int64_t (*durable_due_fn)(void *arg);

struct durable {
	struct store *store;
	struct {
		durable_stage_fn stage;
		durable_due_fn due;
		void *arg;
	} part[DURABLE_MAX_PARTS];
	size_t n_parts;
	uint64_t failures;               /* commits that did not happen */
	uint64_t split;                  /* commits ahead of a batch's end */
	bool flushing;                   /* inside durable_flush() */
	bool soon;                       /* durable_commit_soon() asked for a commit */
	bool failing;                    /* the last commit failed */
	int64_t at_ms;                   /* monotonic ms of the commit under way */
	int64_t retry_at_ms;             /* after a failure: not before; 0 = none */
	int64_t upkeep_since_ms;         /* the store's upkeep waits since; -1 */
	uint64_t upkeep_commits;         /* the store's commits when last looked */
};

void durable_init(struct durable *d, struct store *store);

/* Register a part. LB_OK or LB_ERR_FULL (more than DURABLE_MAX_PARTS). */
int durable_add(struct durable *d, durable_stage_fn stage, durable_due_fn due, void *arg);

/* Stage every part into the open batch without committing (a batch too
 * large for the redo log is committed ahead, see above): what a caller
 * writes next lands after it in the same batch (a join's new session must
 * not be overwritten by an older staged change of the same device). LB_OK
 * or the first error (logged by the part). */
int durable_stage(struct durable *d);

/* Stage every part, then commit the batch and wait until it is on the
 * disk (store_commit(): what comes next depends on it; a join falls back
 * to it when its table of what waits for the disk is full, otaa.h). LB_OK
 * or the first error (logged by whoever failed); retried by durable_tick(). */
int durable_commit(struct durable *d);
/* The same without waiting for the disk (store_commit_nowait()): for a
 * caller whose message waits for the batch itself (durable_committed():
 * a join-accept), or that only needs its changes in the store (a
 * gateway's state, gwconn.h). */
int durable_commit_nowait(struct durable *d);

/* Commit without waiting for the disk at the next durable_tick(): a
 * caller whose message waits for the batch it staged (durable_committed():
 * a reserved downlink counter, a sent queue item) asks for it instead of
 * committing itself. The loop's timers run durable_tick() after the
 * schedulers' ticks, and each pass, so all such requests of one pass make
 * one commit, not one each (a restart's first downlinks); so does the
 * shutdown's flush, for the TX_ACKs that come during it (bridge.c). */
void durable_commit_soon(struct durable *d);
/* Whether the last commit or staging, by whichever call, failed (and no
 * commit has succeeded since): a caller waiting for a batch tells a disk
 * that refuses commits from one that is slow. A sync that fails after its
 * commit does not set it: that failure is final and the daemon stops
 * (store_sync.h). */
bool durable_failing(const struct durable *d);
/* durable_commit(), with the parts that defer changes on purpose (the
 * devices' fair-access ledgers, budget.h) staging those too: before a
 * reload of the device table and at shutdown. */
int durable_flush(struct durable *d);
/* For a part's stage function: whether the commit under way is a
 * durable_flush(), and its time (monotonic ms: durable_tick()'s now, else
 * loop_now_ms()), against which the part's own deadlines are due. */
bool durable_flushing(const struct durable *d);
int64_t durable_commit_ms(const struct durable *d);

/* Commit when a part's or the store's deadline has passed, or a commit was
 * asked for (durable_commit_soon()), without waiting for the disk
 * (store_commit_nowait(): the batch's events are released when its sync
 * completes, durable_committed()); returns the next deadline (monotonic
 * ms) or -1. After a failure it retries every STORE_RETRY_MS, a commit
 * asked for included. */
int64_t durable_tick(struct durable *d, int64_t now_ms);

/* The store's upkeep after its commits (store_gen.h, UPKEEP: a WAL
 * checkpoint, the state generation's advance and its marker; the caller
 * deferred it with store_defer_upkeep()), one step a call, each in a loop
 * pass of its own: not in a pass that committed, and not while `busy` (the
 * caller has more input waiting: the last UDP read filled its budget)
 * unless a step has waited a quarter of state.commit_ms (meanwhile the outbox
 * stages nothing early when a checkpoint waits: it needs the batch
 * closed, outbox.c). So the loop reads its socket
 * between the commit, the checkpoint and the advance instead of being held
 * for all of them at once. Returns the next deadline (monotonic ms; now
 * when a step is to be done at once) or -1. */
int64_t durable_upkeep(struct durable *d, int64_t now_ms, bool busy);

/* The batch that holds changes staged from now on, and whether a batch is
 * committed: an event reporting state changed now is tagged with
 * durable_batch() and released when durable_committed() says so. */
uint64_t durable_batch(const struct durable *d);
/* Every batch below this one is durable (store_synced_below()). */
uint64_t durable_synced_below(const struct durable *d);
bool durable_committed(const struct durable *d, uint64_t batch);

#endif
