/* SPDX-License-Identifier: MIT */
/*
 * dedup.h - uplink de-duplication (pure: no sockets, no clock, no logging;
 * time is a parameter).
 *
 * The same PHYPayload heard by several gateways within dedup_window_ms (or
 * by one gateway's two RF chains) becomes one uplink event listing every
 * reception. A group opens with the first copy (first_ms) and closes at
 * first_ms + window; dedup_tick() emits closed groups in arrival order.
 * With window 0 a group is emitted by the next tick (the caller ticks right
 * after each UDP batch, so copies within one batch still merge).
 *
 * One clock for both calls: the copies' arrival. dedup_add() is given a
 * copy's arrival time; dedup_tick() must not be given a time past the
 * arrival of a copy not yet added (a datagram still waiting to be read),
 * or that copy finds its group closed (late) or, past the retention,
 * forgotten (a new group). The bridge ticks on the UDP socket's read
 * horizon (io/udp.h udp_read_horizon_us(), daemon/bridge.c).
 *
 * Copies that arrive after their group was emitted are recognised for a
 * retention time of max(2000 ms, window + 500 ms), counted as `late` and not
 * published again. Retention is measured from the group's first copy. It
 * stays below the earliest retransmission of a confirmed uplink (RX2 ends
 * 2 s after the frame, RETRANSMIT_TIMEOUT adds 1 to 3 s: TS001-1.0.4
 * §4.3.1.2, RP002-1.0.4 default settings) while the window is at most 2 s,
 * so that a retransmission reaches the device layer, which acknowledges it
 * again; a copy later than that is taken for a retransmission too. The
 * memory of emitted frames is a bounded FIFO (4 x max_open entries, each a
 * 64-bit hash and a length); when it overflows, the oldest entry is
 * forgotten early (counted in seen_evicted) - a late copy of that frame then
 * opens a new group, and the device layer refuses it as a retransmission.
 *
 * Bounds: at most max_open groups are open. When all are in use, the
 * oldest open group is emitted early (counted in forced_early), never
 * dropped. A group keeps at most DEDUP_MAX_RX receptions: rx[0] is always
 * the first copy; beyond that the weakest copy (by SNR, then RSSI) is
 * replaced by a stronger one, and every copy not kept is counted in
 * rx_overflow.
 *
 * Keys: the PHYPayload bytes (64-bit hash, then length and full compare
 * for open groups). All pools are allocated by dedup_init(); dedup_add()
 * and dedup_tick() never allocate. Group slots are reused last-in first-out
 * so only as many slots are touched as were open at the busiest moment;
 * once a burst (more than 64 groups open at once) is all out, dedup_tick()
 * gives the pages of the slots beyond the first 64 back to the system.
 *
 * Callbacks: `emit` receives a group that is valid only during the call
 * (the slot is reused afterwards); it must not call dedup_add() or
 * dedup_tick(). It is called by dedup_tick() and, for a forced early
 * emission, by dedup_add().
 *
 * Ownership: dedup_init() allocates, dedup_free() releases (safe on a
 * zeroed or freed struct).
 */
#ifndef LB_DEDUP_H
#define LB_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "gwmp/rx.h"

#define DEDUP_MAX_RX 16
#define DEDUP_MIN_RETENTION_MS 2000
#define DEDUP_RETENTION_AFTER_WINDOW_MS 500
#define DEDUP_SEEN_PER_OPEN 4        /* emitted-frame memory = 4 x max_open */
#define DEDUP_MAX_WINDOW_MS 60000

enum dedup_result {
	DEDUP_NEW = 0,      /* first copy: a group was opened */
	DEDUP_MERGED = 1,   /* copy added to an open group (or counted in rx_overflow) */
	DEDUP_LATE = 2      /* group already emitted: copy dropped and counted */
};

struct dedup_group {
	uint8_t phy[GWMP_MAX_PHY];
	size_t phy_len;
	struct lb_rx rx[DEDUP_MAX_RX];   /* rx[0] is the first copy received */
	size_t n_rx;
	int64_t first_ms;
	int64_t due_ms;                  /* when it was due out: first_ms + window
					  * (set when emitted; later than now when a
					  * full table emitted it early) */
	/* internal */
	uint64_t hash;
	uint32_t hnext;                  /* open-group hash chain */
	uint32_t qnext;                  /* arrival queue, or free stack */
};

/* An emitted frame remembered to recognise late copies. */
struct dedup_seen {
	uint64_t hash;
	int64_t expires_ms;
	uint32_t hnext;
	uint16_t len;
};

typedef void (*dedup_emit_fn)(void *arg, struct dedup_group *g);

struct dedup {
	int window_ms;
	int64_t retention_ms;
	/* open groups: pool, arrival queue, free stack, hash index */
	struct dedup_group *pool;
	size_t max_open;
	size_t n_open;
	uint32_t q_head, q_tail;
	uint32_t free_top;
	uint32_t fresh;                  /* slots fresh..max_open-1 never used yet */
	uint32_t *open_buckets;
	unsigned open_bits;
	/* emitted frames: FIFO ring + hash index */
	struct dedup_seen *seen;
	size_t seen_cap, seen_head, n_seen;
	uint32_t *seen_buckets;
	unsigned seen_bits;
	/* counters */
	uint64_t groups;                 /* opened (DEDUP_NEW) */
	uint64_t merged;                 /* DEDUP_MERGED */
	uint64_t late;                   /* DEDUP_LATE */
	uint64_t forced_early;           /* emitted before the window closed (pool full) */
	uint64_t rx_overflow;            /* copies beyond DEDUP_MAX_RX not kept */
	uint64_t seen_evicted;           /* emitted frames forgotten before retention ended */
	uint64_t emitted;
};

/* window_ms 0..DEDUP_MAX_WINDOW_MS, max_open >= 1. Errors: LB_ERR_RANGE,
 * LB_ERR_INVAL, LB_ERR_NOMEM. */
int dedup_init(struct dedup *d, int window_ms, size_t max_open);
void dedup_free(struct dedup *d);

/* Offer one reception (rx->rxpk.data / size is the PHYPayload) at now_ms.
 * `emit` is only called if the pool is full (forced early emission of the
 * oldest group); pass the same callback as to dedup_tick() - a NULL emit
 * would lose that group. On a struct that was never initialised, returns
 * DEDUP_LATE (nothing kept). */
enum dedup_result dedup_add(struct dedup *d, const struct lb_rx *rx, int64_t now_ms,
			    dedup_emit_fn emit, void *arg);

/* Emit every group whose window has closed (first_ms + window <= now_ms),
 * in arrival order, and forget expired emitted frames. Returns the next
 * deadline (ms, same clock) or -1 if no group is open. */
int64_t dedup_tick(struct dedup *d, int64_t now_ms, dedup_emit_fn emit, void *arg);

/* A quiet bridge: with no group open, the pages of the slots go back to
 * the system as after a burst, the 64 that a burst keeps included (384
 * KiB once more than 64 groups were open at once); nothing when a group is
 * open. */
void dedup_release(struct dedup *d);

size_t dedup_open_count(const struct dedup *d);

#endif
