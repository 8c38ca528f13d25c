/* SPDX-License-Identifier: MIT */
/*
 * rx.h - one reception of a LoRa frame by one gateway: the unit that moves
 * from the UDP side (gwmp) through de-duplication (dedup) into events
 * (event_json). Plain data, no functions.
 */
#ifndef LB_RX_H
#define LB_RX_H

#include <stdint.h>

#include "gwmp/gwmp.h"

struct lb_rx {
	uint64_t gateway_eui;
	uint32_t uplink_id;      /* bridge-assigned, unique per reception (rxInfo.uplinkId) */
	int64_t received_us;     /* bridge wall clock (Unix µs) when the datagram arrived */
	int64_t received_mono_us; /* the same arrival on the bridge's monotonic clock (µs, as
				   * loop_now_us()): for comparing times, a wall step apart */
	uint8_t version;         /* GWMP version the gateway speaks */
	struct gwmp_rxpk rxpk;   /* radio metadata and the PHYPayload */
};

#endif
