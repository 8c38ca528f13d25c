/* SPDX-License-Identifier: MIT */
/*
 * intake.h - when the bridge stops reading the gateways' socket: the
 * back-pressure of an overloaded bridge.
 *
 * Offered more uplinks than the machine can take, the bridge would read,
 * verify, decrypt, commit and queue each of them, while the broker (on
 * the same CPUs) falls behind; the committed events then no longer fit
 * the outbox's memory (they are read back from the disk, which costs more
 * CPU still) and at mqtt.outbox_limit_mb new ones are dropped after all
 * that work. Instead, the bridge stops reading its UDP socket for a
 * while: the kernel drops what does not fit the socket's buffer, which
 * costs the bridge nothing and is counted (drops.udpKernel), and the CPU
 * goes to publishing what was taken.
 *
 * The rule, checked at every loop pass:
 *   - pause when the last read of the socket filled its budget (the
 *     bridge is reading as fast as it can: it is the CPU that is short),
 *     the broker is connected and acknowledged a message within
 *     stall_ms, and the committed events waiting for the broker reached
 *     `high` (mqtt.queue_limit: what the outbox keeps in memory);
 *   - resume once they are down to `low` (half of it), or the broker
 *     stopped acknowledging for stall_ms or disconnected (the outbox then
 *     keeps events on disk, as in any outage), or after max_pause_ms (the
 *     socket also brings PULL_DATA and TX_ACK: a gateway is never left
 *     unanswered longer than that; one budget is read, then the rule
 *     applies again).
 * A bridge below its capacity never fills the budget of a read, and a
 * slow but idle-CPU broker (a remote one) never pauses it: the outbox
 * buffers up to its limit, as before.
 *
 * Pure logic, no I/O: the caller applies the decision to the loop. Errors:
 * none. Ownership: plain values.
 */
#ifndef LB_INTAKE_H
#define LB_INTAKE_H

#include <stdbool.h>
#include <stdint.h>

struct intake_opts {
	uint64_t high, low;       /* committed events waiting: pause at, resume at */
	int64_t stall_ms;         /* no acknowledgement for this long: no pause */
	int64_t max_pause_ms;     /* the longest pause */
};

/* What the loop saw at this pass. */
struct intake_view {
	bool busy;                /* the last read filled its budget */
	bool connected;           /* the broker */
	uint64_t backlog;         /* committed events not yet acknowledged */
	uint64_t acked;           /* acknowledgements so far (a counter) */
};

struct intake_stats {
	uint64_t pauses;
	uint64_t paused_ms;       /* time paused, ended pauses */
};

/* Fields private to intake.c except stats; read intake_paused(). */
struct intake {
	struct intake_opts o;
	bool paused;
	int64_t paused_at_ms;
	uint64_t acked_seen;
	int64_t acked_at_ms;      /* when acked last moved; INT64_MIN: never */
	struct intake_stats stats;
};

void intake_init(struct intake *in, const struct intake_opts *o);

/* Apply the rule at `now_ms` (monotonic). Sets *changed when the pause
 * began or ended at this call. Returns the next deadline at which the rule
 * must be looked at again with no other event (-1: none). */
int64_t intake_tick(struct intake *in, int64_t now_ms, const struct intake_view *v,
		    bool *changed);

/* The caller could not apply the change intake_tick() just made (the loop
 * refused it): the state goes back to what it was, and the rule decides
 * again at the next tick. */
void intake_undo(struct intake *in, int64_t now_ms);

/* Time paused so far, the pause under way included. */
static inline uint64_t intake_paused_ms(const struct intake *in, int64_t now_ms)
{
	return in->stats.paused_ms + (in->paused ? (uint64_t)(now_ms - in->paused_at_ms) : 0);
}

static inline bool intake_paused(const struct intake *in)
{
	return in->paused;
}

#endif
