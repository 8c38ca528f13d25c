/* SPDX-License-Identifier: MIT */
/*
 * sim_dlcheck.h - what the simulated devices receive: every PULL_RESP is
 * checked as the device it is meant for would receive it, join-accepts
 * complete the joins, and the answer for the TX_ACK is decided here.
 *
 * For each PULL_RESP (in this order):
 *   1. --txack-error CODE:N: every N-th PULL_RESP of the run is refused with
 *      CODE and never reaches a device (the radio did not send it).
 *   2. A tmst already past on the receiving gateway's counter (less than
 *      SIM_DLCHECK_TX_MARGIN_US ahead) is refused with TOO_LATE, as the
 *      forwarder's JIT queue does; counted in downlinks_late.
 *   3. The frame is matched to a device: a join-accept to a device whose
 *      latest transmission is a join-request not yet answered (by timing,
 *      then by which AppKey opens it), a data downlink by DevAddr and MIC.
 *   4. The checks of sim_downlink.h (window, radio, MIC, FCntDown) and of
 *      sim_otaa.h (join-accept content) against the device's latest
 *      transmission (but see "Overtaken uplinks" below), plus: the gateway
 *      heard that transmission, at most one downlink per uplink, ACK bit
 *      exactly when the uplink was confirmed, DevAddr of a join not used by another
 *      device. A good downlink advances the device (session, FCntDown, ACK
 *      for its next uplink) and its MAC commands (FOpts or FPort 0) are
 *      applied and answered (sim_mac.h; a join-accept starts the device's
 *      MAC state afresh); a bad one is counted with its reason (stdout
 *      with --print, else stderr) and changes nothing.
 *
 * Overtaken uplinks: a class-A device does not transmit again before its
 * RX2 window has passed (TS001-1.0.4 §3.3), but the simulated ones follow
 * --rate and may: 5 devices at 20 uplinks/s send every 250 ms, so a bridge
 * that answers uplink N a little late (its dedup window, a loaded host)
 * sends a PULL_RESP timed on N's RX1 or RX2 after the device sent N+1. A
 * real device would have been listening then, so a data downlink that does
 * not fit the latest uplink is also tried against the device's earlier data
 * uplinks of the session (newest first, the last `earlier_depth` of them):
 * one it fits exactly (same timing, radio and gateway checks; not answered
 * yet) is the one it answers; its ACK bit must match that uplink's
 * confirmation, and it counts in downlinks_overtaken as well. A confirmed
 * uplink's missing ACK is settled when it leaves that history (or at the
 * end of the run). earlier_depth covers SIM_DLCHECK_HORIZON_S of the
 * device's uplinks at --rate (at least 1, at most SIM_DLCHECK_EARLIER_MAX,
 * and at most SIM_DLCHECK_EARLIER_TOTAL entries over all devices).
 *
 * Joins not answered within --join-timeout (wall clock) are retried by the
 * traffic at the device's next slot with a new DevNonce; an accept arriving
 * later still counts if the device has not sent anything since.
 *
 * Ownership: the caller owns the devices, gateways, stats and files given
 * to sim_dlcheck_init() and keeps them alive; sim_dlcheck_free() releases
 * the index and queues allocated here.
 */
#ifndef LB_SIM_DLCHECK_H
#define LB_SIM_DLCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mac/join.h"
#include "lorawan/region.h"
#include "sim_devices.h"
#include "sim_gateway.h"
#include "sim_opts.h"
#include "sim_stats.h"

/* Semtech jitqueue.c: a class-A packet needs TX_JIT_DELAY (30 ms) of lead. */
#define SIM_DLCHECK_TX_MARGIN_US 30000

/* RX2 opens at most RECEIVE_DELAY1 (15 s at most, RXTimingSetupReq,
 * TS001-1.0.4 §5.7) + 1 s after its uplink. */
#define SIM_DLCHECK_HORIZON_S 16
#define SIM_DLCHECK_EARLIER_MAX 16
#define SIM_DLCHECK_EARLIER_TOTAL (1U << 20)

/* A join-request waiting for its accept, in send order (same timeout for all). */
struct sim_join_wait {
	uint32_t dev_idx;
	uint32_t n_joins;           /* the device's n_joins when sent: stale if changed */
	int64_t deadline_us;
};

struct sim_dlcheck {
	const struct sim_opts *o;
	const struct region *region;        /* the --region (o->region), dwell applied */
	struct sim_mac_conf mac;            /* what the devices do with MAC commands */
	enum join_version version;
	struct sim_devices *devs;
	struct sim_gateway *gws;
	unsigned n_gws;
	struct sim_stats *st;
	FILE *expect_down;                  /* may be NULL */
	FILE *print;                        /* may be NULL */
	uint64_t rng;                       /* 1.0.0-1.0.3 DevNonce stream */
	int64_t join_timeout_us;
	uint64_t pull_resp_seen;            /* for --txack-error */
	/* DevAddr -> device: open addressing, value dev_idx + 1, 0 = free */
	uint32_t *addr_slot;
	uint32_t *addr_key;
	size_t addr_cap;
	size_t addr_used;
	/* devices whose latest transmission is an unanswered join-request */
	uint32_t *pending;
	uint32_t *pending_pos;              /* per device, UINT32_MAX = not pending */
	size_t n_pending;
	/* per device, its transmissions before dev->last: a ring of
	 * earlier_depth slots from earlier[idx * earlier_depth], the next one
	 * to write earlier_head[idx]; valid false = empty */
	struct sim_last_tx *earlier;
	uint8_t *earlier_head;
	size_t earlier_depth;
	/* join timeouts, FIFO */
	struct sim_join_wait *waits;
	size_t wait_cap, wait_head, n_waits;
};

/* Set up for the devices (ABP ones indexed by DevAddr now). rng_seed seeds
 * the DevNonce stream. Errors: LB_ERR_NOMEM, LB_ERR_VERSION (--lorawan-version). */
int sim_dlcheck_init(struct sim_dlcheck *c, const struct sim_opts *o, struct sim_devices *devs,
		     struct sim_gateway *gws, unsigned n_gws, struct sim_stats *st,
		     FILE *expect_down, FILE *print, uint64_t rng_seed);
void sim_dlcheck_free(struct sim_dlcheck *c);

/* The gateways' on_downlink hook (arg is the struct sim_dlcheck): returns
 * NULL if the radio sent the PULL_RESP, else the TX_ACK error code. */
const char *sim_dlcheck_on_downlink(void *arg, struct sim_gateway *gw, const uint8_t token[2],
				    const struct gwmp_txpk *tx, int64_t now_us);

/* Device idx transmitted tx (traffic): the previous one joins the earlier
 * transmissions, the oldest of which is settled (a confirmed uplink that
 * got no ACK counts in acks_missing) and, for a join-request, starts
 * waiting for the accept. */
void sim_dlcheck_on_tx(struct sim_dlcheck *c, size_t idx, const struct sim_last_tx *tx);

/* Expire join timeouts; *next_us gets the next one (unchanged if none). */
void sim_dlcheck_tick(struct sim_dlcheck *c, int64_t now_us, int64_t *next_us);

/* End of run: confirmed uplinks still without ACK (latest and earlier)
 * count as missing. */
void sim_dlcheck_finish(struct sim_dlcheck *c);

#endif
