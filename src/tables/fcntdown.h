/* SPDX-License-Identifier: MIT */
/*
 * fcntdown.h - the downlink frame counter reserved ahead (pure: no I/O).
 *
 * NFCntDown must never repeat for a session (TS001-1.0.4 §4.3.1.5): a
 * repeated counter lets a device reject the frame, or an attacker replay
 * one. Like a router's sequence numbers, a ceiling is persisted ahead of
 * the counter in use: every counter below the ceiling may have been used,
 * none at or above it. After a crash the daemon resumes at the persisted
 * ceiling. The ceiling is raised FCNTDOWN_BLOCK past the counter in use
 * already when fewer than FCNTDOWN_LOW are left, so the new value normally
 * rides along with a regular batch of the store (store/store.h, COUNTER
 * RULES); a frame is sent only with a counter below a *durable* ceiling:
 * committed and synced (store_committed(), which a commit that does not
 * wait for its sync makes true only when the sync completes, and the
 * state marker after it when the batch carried the generation's advance).
 *
 * Per session in the daemon:
 *   fcntdown_load(&r, row.nfcnt_down)       at start-up / join (0)
 *   f = fcntdown_reserve(&r, store_batch(s), store_synced_below(s))
 *                                           before each downlink
 *   f & FCNTDOWN_EXHAUSTED -> no counter left: the device must rejoin
 *   f & FCNTDOWN_STAGE     -> row.nfcnt_down = r.ceiling; put_session
 *   f & FCNTDOWN_COMMIT    -> send only once r.batch is on the disk
 *                             (committed, then store_committed(s, r.batch);
 *                             the daemon does not wait for it on its loop)
 *   send with r.next, then fcntdown_used(&r)
 * If that put_session fails, call fcntdown_unstage(&r) (the raised
 * ceiling was not staged) and do not send. Every put_session of the device
 * (also for an uplink) writes nfcnt_down = r.ceiling, never r.next. A new
 * join starts at 0 with its first block reserved by the join's own batch:
 * fcntdown_start(&r, FCNTDOWN_BLOCK, batch), the session row holding
 * nfcnt_down = FCNTDOWN_BLOCK (its join-accept waits for that batch anyway,
 * so its first downlinks need no commit of their own).
 */
#ifndef LB_FCNTDOWN_H
#define LB_FCNTDOWN_H

#include <stdbool.h>
#include <stdint.h>

#define FCNTDOWN_BLOCK 64u               /* reservation size */
#define FCNTDOWN_LOW 32u                 /* raise when fewer are left */

struct fcntdown {
	uint32_t next;                  /* next NFCntDown to use */
	uint32_t ceiling;               /* last staged reservation */
	uint32_t durable;               /* reservation known committed */
	uint64_t batch;                 /* batch holding ceiling; 0 = durable */
};

#define FCNTDOWN_STAGE 1u
#define FCNTDOWN_COMMIT 2u
#define FCNTDOWN_EXHAUSTED 4u

/* next + block, saturated at UINT32_MAX. */
static inline uint32_t fcntdown_reserve_ahead(uint32_t next, uint32_t block)
{
	return next > UINT32_MAX - block ? UINT32_MAX : next + block;
}

/* True when fewer than FCNTDOWN_LOW counters are left below ceiling. */
static inline bool fcntdown_reserve_due(uint32_t next, uint32_t ceiling)
{
	return next >= ceiling || ceiling - next < FCNTDOWN_LOW;
}

void fcntdown_load(struct fcntdown *r, uint32_t persisted);
/* A new session at counter 0 whose ceiling was staged in `batch`: durable
 * once that batch is (fcntdown_reserve()'s durable_below passes it). */
void fcntdown_start(struct fcntdown *r, uint32_t ceiling, uint64_t batch);
/* current_batch: the batch being staged (a raised ceiling goes in it);
 * durable_below: every batch below it is on the disk. */
unsigned fcntdown_reserve(struct fcntdown *r, uint64_t current_batch, uint64_t durable_below);
void fcntdown_used(struct fcntdown *r);
void fcntdown_unstage(struct fcntdown *r);

#endif
