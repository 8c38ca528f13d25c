/* SPDX-License-Identifier: MIT */
/*
 * dispatch.h - one handler per GWMP message family (PUSH_DATA, PULL_DATA,
 * TX_ACK), chosen by one switch; errors become counters and rate-limited log
 * lines in one place. Semtech packet forwarder rules followed (Semtech
 * PROTOCOL.TXT §3, §5): answer with the gateway's version and token to the
 * datagram's source; PUSH_DATA is acknowledged once its JSON parses (a
 * well-formed datagram), before its frames are processed; PULL_DATA's
 * source address is the gateway's downlink route.
 *
 * The gateway side of the daemon lives here: the gateway table's
 * admissions (address binding, limits, eviction: gateway.h), the gateway
 * events (`up` as mqtt.gateway_frames says, `stats`) and the changes of the retained gateway state
 * (gwconn.h: ONLINE when a gateway is first heard or comes back, OFFLINE
 * from dispatch_on_offline(), cleared when evicted). Every line these log
 * is caused by the network, so rate-limited.
 *
 * Context (borrowed): the gateway table, de-duplication and where its
 * groups go (emit: uplink.h), counters, the publisher, the gateway state,
 * budgets (the duty cycle in `stats`), the scheduler (TX_ACK), the UDP
 * sender and, for gateway_frames = LB_GWF_UNKNOWN, the device registry
 * (which frames a configured device may claim). The dispatcher owns its parse buffer for PUSH_DATA.
 */
#ifndef LB_DISPATCH_H
#define LB_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/budget.h"
#include "daemon/gwconn.h"
#include "daemon/publish.h"
#include "daemon/stats.h"
#include "daemon/txsched.h"
#include "daemon/udpout.h"
#include "gwmp/gwmp.h"
#include "io/udp.h"
#include "tables/dedup.h"
#include "tables/devices.h"
#include "tables/gateway.h"

/* A gateway `up` or `stats` event's JSON. */
#define DISPATCH_EVENT_MAX 8192

struct dispatch {
	struct gateways *gateways;
	struct dedup *dedup;
	dedup_emit_fn emit;              /* a group forced out of a full table;
					  * NULL: dropped (the shutdown's flush) */
	void *emit_arg;
	struct stats *stats;
	struct publisher *pub;
	struct gwconn *conn;
	struct budget *budget;
	struct txsched *tx;
	struct udpout out;
	struct devices *devices;         /* needed for LB_GWF_UNKNOWN only */
	int gateway_frames;              /* mqtt.gateway_frames: enum lb_gateway_frames */
	bool forward_crc_error;          /* udp.forward_crc_error */
	int offline_after;               /* udp.offline_after, for the log line */
	int rebind_after_s;              /* udp.rebind_after_s, for the log line */
	uint32_t next_uplink_id;
	struct gwmp_push push;           /* parse buffer (10 KiB) */
	struct gwmp_time_memo time_memo; /* the hour of the last rxpk `time` read */
};

/* Every context member set? LB_OK, or LB_ERR_INVAL naming the missing one
 * in the log. */
int dispatch_check(const struct dispatch *d);

/* The udp_drain callback: arg is a struct dispatch. */
void dispatch_datagram(void *arg, const uint8_t *buf, size_t len, bool truncated,
		       const struct udp_peer *from);

/* The gateways_tick callback: log the gateway offline and publish its
 * retained state OFFLINE (gwconn). arg is a struct dispatch. */
void dispatch_on_offline(void *arg, struct gateway *gw);

#endif
