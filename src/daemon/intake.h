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
 * The rule, looked at in every loop pass:
 *   - pause when the broker is connected and acknowledged an event within
 *     stall_ms, `high` (mqtt.queue_limit) committed events were still
 *     waiting for it when the last batch was released (what it did not
 *     take since the batch before: a batch released at once is not a lag)
 *     and still wait now, and the bridge is short of CPU: its loop worked
 *     (outside epoll_wait, which includes waiting for a CPU) at least
 *     INTAKE_BUSY_PERMILLE of the last INTAKE_WINDOW_MS. A pause's time
 *     is in that window as the idle time it mostly is, so after one the
 *     bridge reads for most of a window before the next;
 *   - resume once the waiting events are down to `low` (half of high), or
 *     the broker stopped acknowledging for stall_ms or disconnected (the
 *     outbox then keeps events on disk, as in any outage), or after
 *     max_pause_ms. A pause that lasted max_pause_ms while the broker
 *     acknowledged less than INTAKE_HELP_PERCENT of its rate over the
 *     window before it did not help (the broker is slow by itself, not for
 *     want of CPU): there is no pause again until the waiting events are
 *     down to `low`.
 * A bridge with idle moments never begins to pause: one below its
 * capacity, a loop held for a moment (a slow fsync), and one whose broker
 * is slow (a remote one over a thin link) while its CPU is not, whose
 * outbox buffers up to its limit as during an outage.
 * While paused, datagrams beyond the socket's buffer are dropped by the
 * kernel whatever they carry: PULL_DATA and TX_ACK too (gateways send
 * PULL_DATA again, and a TX_ACK not heard is a downlink counted as failed
 * after downlink.tx_ack_timeout_ms), and an uplink read up to a pause
 * late may miss its RX1 window (the gateway answers TOO_LATE in its
 * TX_ACK: the downlink goes in RX2 or counts as failed, as txsched.h
 * does for any refused window).
 *
 * No I/O but its log lines and intake_apply()'s epoll_ctl. Errors: as
 * listed. Ownership: plain values.
 */
#ifndef LB_INTAKE_H
#define LB_INTAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "io/loop.h"

#define INTAKE_WINDOW_MS 1000
#define INTAKE_BUCKETS 10             /* the window, in buckets of 100 ms */
#define INTAKE_BUSY_PERMILLE 900
/* A pause helped when the broker acknowledged this much faster during it. */
#define INTAKE_HELP_PERCENT 125

struct intake_opts {
	uint64_t high, low;       /* committed events waiting: pause at, resume at */
	int64_t stall_ms;         /* no acknowledgement for this long: no pause */
	int64_t max_pause_ms;     /* the longest pause */
};

/* What the loop saw at this pass. */
struct intake_view {
	int64_t idle_us;          /* the loop's time in epoll_wait, cumulative */
	bool connected;           /* the broker */
	uint64_t backlog;         /* committed events not yet acknowledged */
	uint64_t residue;         /* ... of them, when the last batch was released */
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
	uint64_t paused_acked;    /* acked when the pause began */
	uint64_t rate_before;     /* acknowledgements per s over the window before it */
	bool futile;              /* a pause that did not help: none until low */
	uint64_t acked_seen;
	int64_t acked_at_ms;      /* when acked last moved; INT64_MIN: never */
	/* the window: per bucket, ms elapsed, ms the loop worked and
	 * acknowledgements */
	int64_t span[INTAKE_BUCKETS], busy[INTAKE_BUCKETS];
	uint64_t acks[INTAKE_BUCKETS];
	unsigned n_buckets, next_bucket;
	int64_t bucket_at_ms;     /* the open bucket's start; INT64_MIN: none */
	int64_t bucket_idle_us;   /* idle_us at its start */
	uint64_t bucket_acked;    /* acked at its start */
	struct intake_stats stats;
};

void intake_init(struct intake *in, const struct intake_opts *o);

/* Apply the rule at `now_ms`. Sets *changed when the pause began or ended
 * at this call. Returns the next deadline at which the rule must be looked
 * at again with no other event (-1: none). */
int64_t intake_tick(struct intake *in, int64_t now_ms, const struct intake_view *v,
		    bool *changed);

/* The loop's share of the last window spent working, in per mille; -1
 * until a whole window was seen. */
int intake_busy_permille(const struct intake *in);

/* The caller could not apply the change intake_tick() just made: the
 * state goes back to what it was, and the rule decides again at the next
 * tick. */
void intake_undo(struct intake *in, int64_t now_ms);

/* Apply the state to the socket `fd` registered with `l`: EPOLLIN while
 * not paused, nothing while paused (an error on the socket is still
 * reported, and read). If the loop refuses (LB_ERR_NOT_FOUND, LB_ERR_IO:
 * logged), the change is undone and the code returned. */
int intake_apply(struct intake *in, struct loop *l, int fd, int64_t now_ms);

/* End a pause under way for good (the shutdown, which must read the
 * gateways' TX_ACKs) and apply it: LB_OK, or intake_apply()'s error (the
 * pause then stands). */
int intake_resume(struct intake *in, struct loop *l, int fd, int64_t now_ms);

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
