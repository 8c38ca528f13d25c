/* SPDX-License-Identifier: MIT */
/*
 * otaa.h - over-the-air activation in the daemon (TS001-1.0.4 §6.2):
 * a join-request from a configured OTAA device becomes a new session and a
 * join-accept, with the rules that keep it safe across a crash:
 *
 *  - the DevNonce must not have been used by this device before (1.0.0 to
 *    1.0.3 random nonces, remembered in the store), and for devices marked
 *    lorawan_version = "1.0.4" it must be greater than the last one;
 *  - the JoinNonce comes from a counter that never repeats (persisted);
 *  - the DevAddr is allocated inside net_id's prefix, never two alike
 *    among live sessions;
 *  - the DevNonce, JoinNonce, allocator and the new session are committed
 *    to the store, and on the disk, before the join-accept is sent (at
 *    JOIN_ACCEPT_DELAY1, 5 s, in RX1; RX2 at 6 s if the gateway refuses
 *    RX1);
 *  - a device that has a session keeps it: the new one is its pending
 *    session (session.h) until its first uplink under it, since the device
 *    may have missed the join-accept (LoRaWAN 1.0.3 §6.2.4).
 * Rejections are `log` events with code "OTAA"; a `join` event reports a
 * success, published once its join-accept went to the gateway (a join
 * whose join-accept cannot be sent is no join: a `log` event says why).
 *
 * The join's commit does not wait for the disk on the loop: its batch is
 * committed at once and its sync runs off the loop (store_sync.h), and the
 * join-accept and the `join` event are held (up to OTAA_HELD_MAX joins)
 * until the batch is durable (durable_committed()); otaa_tick() sends them
 * then. A join whose state is not on the disk in time for its RX2 window
 * gets no join-accept (the device asks again): a warning, a `log` event,
 * counted in the scheduler's failed downlinks. A new join-request of a
 * device whose join is held replaces it. With the table full, or without
 * io_uring (every commit synced at once), the join waits for the disk as
 * before. At shutdown the last commit's sync releases them (bridge.c);
 * after a crash the device joins again.
 *
 * Context (borrowed): the registry, the region, the store (DevNonces, the
 * counters), the group commit, the scheduler (join-accepts), device events,
 * ids and counters. The module owns the JoinNonce counter and the DevAddr
 * allocator, persisted as named integers in the store.
 */
#ifndef LB_OTAA_H
#define LB_OTAA_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/devevent.h"
#include "daemon/durable.h"
#include "daemon/ids.h"
#include "daemon/netmac.h"
#include "daemon/session.h"
#include "daemon/stats.h"
#include "daemon/txsched.h"
#include "lorawan/lorawan.h"
#include "lorawan/region.h"
#include "mac/join.h"
#include "store/store.h"
#include "tables/dedup.h"
#include "tables/devices.h"

#define OTAA_EVENT_MAX 4096          /* a join event's JSON */
#define OTAA_HELD_MAX 64             /* joins waiting for their sync */

/* The join settings of the configuration. */
struct otaa_opts {
	uint32_t net_id;
	const char *join_cflist;         /* "auto", "none" or MHz list; borrowed */
	int sub_band;                    /* downlink.sub_band: US915/AU915's CFList mask */
	uint8_t rx1_dr_offset;
	uint8_t rx_delay_s;
	bool has_rx2_dr;                 /* else the region's default */
	uint8_t rx2_dr;
	/* No RX2 frequency: the join-accept cannot carry it (TS001-1.0.4
	 * §6.2.6); netmac pushes a configured one after the join. */
};

struct otaa_ctx {
	struct devices *devices;
	const struct region *region;
	struct store *store;
	struct durable *durable;
	struct sessions *sessions;
	struct txsched *tx;
	struct devevents *ev;
	struct idgen *ids;
	struct stats *stats;
	struct netmac *netmac;           /* told of each join (netmac_joined()); NULL: none */
};

/* A join committed, its join-accept and `join` event waiting until the
 * batch is on the disk. */
struct otaa_held {
	uint64_t dev_eui;
	uint64_t batch;                  /* the join's rows (durable_batch()) */
	int64_t heard_ms;                /* the request's first copy (monotonic) */
	int64_t time_us;                 /* the `join` event's time */
	uint32_t dev_addr;               /* the join's (the device's current one
					  * differs while the session is pending) */
	uint8_t phy[JOIN_LEN_ACCEPT_CFLIST];
	size_t phy_len;
	struct lb_rx rx[TXSCHED_RX];     /* the best receptions */
	size_t n_rx;
};

struct otaa {
	struct otaa_ctx c;       /* borrowed, as given to otaa_init() */
	struct otaa_opts opts;
	struct join_netid netid;
	uint32_t join_nonce_next;        /* JoinNonce counter (persisted in meta) */
	uint32_t nwk_addr_next;          /* DevAddr allocator (persisted in meta) */
	/* OTAA_HELD_MAX slots, allocated at the first join held and freed when
	 * the last one leaves: oldest first. */
	struct otaa_held *held;
	size_t n_held;
};

/* Parse the NetID and load the JoinNonce counter and DevAddr allocator
 * from the store. LB_OK or the error (logged). */
int otaa_init(struct otaa *o, const struct otaa_ctx *ctx, const struct otaa_opts *opts);

/* Handle one de-duplicated join-request. */
void otaa_join(struct otaa *o, const struct lw_frame *f, const struct dedup_group *g);

/* Send the held joins whose batch is durable, drop those too late for
 * their windows; returns the next deadline (monotonic ms) or -1. A
 * completed sync is seen at the next call: the bridge calls it every loop
 * pass, before txsched_tick(). */
int64_t otaa_tick(struct otaa *o, int64_t now_ms);

/* Joins held for the disk (not sent yet). */
size_t otaa_held(const struct otaa *o);

/* Free the held joins (not sent); safe on a zeroed or freed struct. */
void otaa_free(struct otaa *o);

#endif
