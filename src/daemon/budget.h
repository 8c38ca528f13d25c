/*
 * budget.h - airtime accounting in the daemon (issue 4): every frame's time
 * on air, each device's fair-access budget (30 s of uplink airtime and 10
 * downlinks per 24 h by default, TTN's Fair Use Policy), and each gateway's
 * regional duty cycle per sub-band (EU868: ETSI EN 300 220 limits).
 *
 * The arithmetic lives in the pure modules airtime.h, fairaccess.h and
 * dutycycle.h; this file connects them to events, the store and the
 * downlink scheduler:
 *  - `up` events carry airtimeMs and a fairAccess object; a retained
 *    application/{application}/device/{dev_eui}/state/airtime message
 *    shows the same, republished when it changes;
 *  - crossing 80 % and 100 % of either budget is a `log` event, once per
 *    crossing; with action "enforce" uplinks beyond the budget are decoded
 *    and counted but not published, downlinks beyond it are refused
 *    (code FAIR_ACCESS);
 *  - a downlink goes in the first receive window whose sub-band has room
 *    on that gateway (RX1, else RX2); none: refused with code DUTY_CYCLE.
 * Ledgers are persisted with the device and gateway state, so a restart
 * resets nobody's budget.
 */
#ifndef LB_BUDGET_H
#define LB_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "mac/downlink.h"
#include "events/event_json.h"
#include "gwmp/rx.h"

struct bridge;
struct gateway;
struct lb_device;

/* Restore a device's fair-access ledgers from the store (start-up). */
void budget_restore_device(struct bridge *b, struct lb_device *dev);

/* Account an accepted uplink; fills the event's airtime and fairAccess and
 * returns whether the `up` event may be published. */
bool budget_uplink(struct bridge *b, struct lb_device *dev, const struct lb_rx *rx,
		   double *airtime_ms, struct ev_fair_access *fa);

/* May dev receive one more downlink? LB_OK or LB_ERR_RATE_LIMIT (the
 * caller reports it, knowing what was refused). */
int budget_downlink_allowed(struct bridge *b, struct lb_device *dev);

/* A downlink was transmitted: count it for the device and the gateway. */
void budget_downlink_sent(struct bridge *b, struct lb_device *dev, uint64_t gateway_eui,
			  const struct downlink_attempt *a);

/* First attempt of plan whose sub-band has room on the gateway, or
 * LB_ERR_FULL (all refused by the duty cycle). */
int budget_choose_window(struct bridge *b, uint64_t gateway_eui, const struct downlink_plan *plan);

/* Does the gateway's sub-band of attempt a still have room (RX2 retry)? */
bool budget_window_ok(struct bridge *b, uint64_t gateway_eui, const struct downlink_attempt *a);

/* The gateway's sub-band use for its `stats` event (n filled, <= max). */
size_t budget_gateway_report(struct bridge *b, struct gateway *gw, struct ev_duty_cycle *out,
			     char names[][24], size_t max);

/* Republish retained state/airtime whose value changed as windows slid. */
int64_t budget_tick(struct bridge *b, int64_t now_ms);

#endif
