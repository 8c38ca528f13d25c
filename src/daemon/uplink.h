/* SPDX-License-Identifier: MIT */
/*
 * uplink.h - from a de-duplicated frame to a published `up` (or `log`)
 * event: parse the PHYPayload, find the device whose MIC verifies, check the
 * frame counter, decrypt, account its airtime, and publish once the new
 * counter is durable. Join-requests go to otaa.h, the answer to an uplink
 * to txsched.h. Every frame that is not published is counted in
 * stats.frame_drops with its reason (stats.h), or, when the outbox is full,
 * in the outbox's dropped_overflow (outbox.h).
 *
 * A data uplink accepted (MIC verified with a configured device's keys, its
 * counter new) is the bridge's definition of a *valid uplink*: every gateway
 * that heard it is marked so in the gateway table, which then never evicts
 * it while it is online (gateway.h). Anything weaker (a CRC-good frame, a
 * frame de-duplication accepted) can be made up by whoever sends datagrams.
 *
 * Context (borrowed): everything the handler reads or changes, and nothing
 * else: the registry, the region, counters, ids, sessions, budgets, the
 * join handler, the scheduler, the publisher, device events, the gateway
 * table (valid uplinks), the payload codecs (`object`) and Home Assistant
 * (hass.h: told of each up event with its decoded object).
 *
 * With mqtt.gateway_frames = "unknown", a frame whose DevAddr a device has
 * but whose MIC no device's keys verify is published here as a gateway
 * `up` event per reception (dispatch.h published the frames no device
 * could claim at once).
 */
#ifndef LB_UPLINK_H
#define LB_UPLINK_H

#include "daemon/budget.h"
#include "daemon/devevent.h"
#include "daemon/hass.h"
#include "daemon/ids.h"
#include "daemon/otaa.h"
#include "daemon/payload.h"
#include "daemon/publish.h"
#include "daemon/session.h"
#include "daemon/stats.h"
#include "daemon/txsched.h"
#include "lorawan/region.h"
#include "tables/dedup.h"
#include "tables/devices.h"
#include "tables/gateway.h"

/* An `up` event's JSON: sixteen receptions and a full payload fit. */
#define UPLINK_EVENT_MAX 16384

struct uplink {
	struct devices *devices;
	const struct region *region;
	struct stats *stats;
	struct idgen *ids;
	struct sessions *sessions;
	struct budget *budget;
	struct otaa *otaa;
	struct txsched *tx;
	struct publisher *pub;
	struct devevents *ev;
	struct gateways *gateways;
	struct payloads *payloads;
	struct hass *hass;
	int gateway_frames;      /* mqtt.gateway_frames (enum lb_gateway_frames) */
};

/* Every member set? LB_OK, or LB_ERR_INVAL naming the missing one in the
 * log: the wiring is checked once, not found out by a crash. */
int uplink_check(const struct uplink *u);

/* The dedup emit callback: arg is a struct uplink. */
void uplink_process(void *arg, struct dedup_group *g);

#endif
