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
 *    to the store before the join-accept is sent (at JOIN_ACCEPT_DELAY1,
 *    5 s, in RX1; RX2 at 6 s if the gateway refuses RX1).
 * Rejections are `log` events with code "OTAA"; a `join` event reports a
 * success.
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

/* The join settings of the configuration. */
struct otaa_opts {
	uint32_t net_id;
	const char *join_cflist;         /* "auto", "none" or MHz list; borrowed */
	uint8_t rx1_dr_offset;
	uint8_t rx_delay_s;
	bool has_rx2_dr, has_rx2_freq;   /* else the region's defaults */
	uint8_t rx2_dr;
	uint32_t rx2_freq;
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
};

struct otaa {
	struct otaa_ctx c;       /* borrowed, as given to otaa_init() */
	struct otaa_opts opts;
	struct join_netid netid;
	uint32_t join_nonce_next;        /* JoinNonce counter (persisted in meta) */
	uint32_t nwk_addr_next;          /* DevAddr allocator (persisted in meta) */
};

/* Parse the NetID and load the JoinNonce counter and DevAddr allocator
 * from the store. LB_OK or the error (logged). */
int otaa_init(struct otaa *o, const struct otaa_ctx *ctx, const struct otaa_opts *opts);

/* Handle one de-duplicated join-request. */
void otaa_join(struct otaa *o, const struct lw_frame *f, const struct dedup_group *g);

#endif
