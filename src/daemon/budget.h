/* SPDX-License-Identifier: MIT */
/*
 * budget.h - airtime accounting in the daemon: every frame's time on air,
 * each device's fair-access budget (30 s of uplink airtime and 10
 * downlinks per 24 h by default, The Things Network's Fair Use Policy), and
 * each gateway's regional duty cycle per sub-band (EU868: ETSI EN 300
 * 220-2 limits, RP002-1.0.4 "EU863-870").
 *
 * The arithmetic lives in the pure tables airtime.h, fairaccess.h and
 * dutycycle.h; this module connects them to events, downlinks and the
 * store, and is the one owner of both ledgers' persistence:
 *  - `up` events carry airtimeMs and a fairAccess object; a retained
 *    application/{application}/device/{dev_eui}/state/airtime message
 *    shows the same, republished when it changes meaningfully (ctx
 *    state_pct: the uplink airtime moved by that percentage of the budget,
 *    the 80 % mark crossed, or budget, downlinks or exceeded changed), else
 *    BUDGET_STATE_REFRESH_MS after the last one if anything changed (the
 *    `up` events always carry the exact figures);
 *  - crossing 80 % and 100 % of either budget is a `log` event, once per
 *    crossing; with action "enforce" uplinks beyond the budget are decoded
 *    and counted but not published, downlinks beyond it are refused
 *    (code FAIR_ACCESS);
 *  - a downlink goes in the first receive window whose sub-band has room
 *    on that gateway (RX1, else RX2); none: refused with code DUTY_CYCLE;
 *    "room" counts the airtime charged and the airtime held: a frame
 *    handed to the gateway (its PULL_RESP sent, budget_hold()) holds its
 *    airtime on that sub-band until its outcome, so that two downlinks
 *    decided before either's TX_ACK cannot both take the last room
 *    (RP002-1.0.4 "EU863-870" duty cycle). The outcome turns the hold into
 *    a charge (budget_downlink_sent(): TX_ACK OK; budget_charge_gateway():
 *    no TX_ACK, the gateway may have transmitted it) or gives it back
 *    (budget_release(): a TX_ACK error). Holds live in memory only:
 *    never stored, never shown in usedPercent (the airtime transmitted);
 *    a gateway holding airtime is not evicted;
 *  - a gateway's duty-cycle ledger (the regulator's rule) is marked when it
 *    changes and staged with the next group commit (a part of durable.h);
 *    a device's fair-access ledger (the network's own policy, changed at
 *    every uplink) is staged BUDGET_LEDGER_DELAY_MS after its first change,
 *    or at a flush (a reload, the shutdown): a restart resets nobody's
 *    budget, a crash forgets at most that much of a device's usage, and
 *    the hot path writes no SQL.
 *
 * Context (borrowed): the region, the registry, the store, the group
 * commit, the publisher (retained state), device events and the drop
 * counters. The module owns the duty-cycle ledgers of the gateways that
 * transmitted (at most BUDGET_MAX_GATEWAYS, least recently used evicted
 * after it is saved); budget_free() releases them.
 */
#ifndef LB_BUDGET_H
#define LB_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/devevent.h"
#include "daemon/durable.h"
#include "daemon/publish.h"
#include "daemon/stats.h"
#include "events/event_json.h"
#include "lorawan/region.h"
#include "mac/downlink.h"
#include "gwmp/rx.h"
#include "store/store.h"
#include "tables/devices.h"
#include "tables/dirtyset.h"
#include "tables/dutycycle.h"

#define BUDGET_MAX_GATEWAYS 1024
/* A changed state/airtime below the state_pct step waits at most this long. */
#define BUDGET_STATE_REFRESH_MS (5 * 60 * 1000)

/* A device's changed fair-access ledger is written at most this long after
 * its first change (durable_flush() writes it at once). */
#define BUDGET_LEDGER_DELAY_MS 60000

/* How often retained state/airtime is refreshed as budget windows slide. */
#define BUDGET_SCAN_MS 60000

/* One gateway's duty-cycle ledger, loaded from the store on first use. */
struct budget_gateway {
	uint64_t eui;
	struct dc_gateway dc;
	/* Airtime of the frames awaiting their outcome (budget_hold()), per
	 * sub-band of the region; not stored. */
	uint64_t held_us[DC_MAX_SUBBANDS];
	int64_t last_used_ms;
	bool dirty;                      /* changed since it was last staged */
};

struct budget_ctx {
	const struct region *region;
	struct devices *devices;
	struct store *store;
	struct durable *durable;
	struct publisher *pub;
	struct devevents *ev;
	struct stats *stats;
	int commit_ms;
	int state_pct;            /* mqtt.airtime_state_pct; 0: on every change */
};

struct budget {
	struct budget_ctx c;     /* borrowed, as given to budget_init() */
	struct dirtyset dirty;           /* devices whose fair-access ledger changed */
	struct budget_gateway *gw;       /* n_gw in use, cap allocated */
	size_t n_gw, cap_gw;
	size_t n_gw_dirty;
	int64_t gw_dirty_since_ms;
	int64_t next_scan_ms;
};

/* Set up and register with the group commit. LB_OK or its error. */
int budget_init(struct budget *bg, const struct budget_ctx *ctx);
void budget_free(struct budget *bg);

/* Restore a device's fair-access ledger from the store now (a device new
 * in a reload; at start-up budget_defer_restore, below).
 * LB_OK (also when nothing is stored, or the blob is unreadable: logged,
 * started afresh) or the store's read error (logged). */
int budget_restore_device(struct budget *bg, struct lb_device *dev);

/* Restore the device's ledger at its first use instead (start-up):
 * a fleet's stored ledgers are not all held in memory because they exist,
 * only those of the devices heard again. */
void budget_defer_restore(struct budget *bg, struct lb_device *dev);

/* Account an accepted uplink; fills the event's airtime and fairAccess and
 * returns whether the `up` event may be published. */
bool budget_uplink(struct budget *bg, struct lb_device *dev, const struct lb_rx *rx,
		   double *airtime_ms, struct ev_fair_access *fa);

/* May dev receive one more downlink, its in_flight downlinks awaiting
 * their TX_ACK (txsched_in_flight()) counted as sent? LB_OK or
 * LB_ERR_RATE_LIMIT (the caller reports it, knowing what was refused). */
int budget_downlink_allowed(struct budget *bg, struct lb_device *dev, size_t in_flight);

/* Attempt a was handed to the gateway (its PULL_RESP sent): its airtime is
 * held on the gateway's sub-band until one of the three calls below gives
 * the outcome. (Against its device's fair access it counts while it awaits
 * its TX_ACK: the caller of budget_downlink_allowed() passes
 * txsched_in_flight().) */
void budget_hold(struct budget *bg, uint64_t gateway_eui, const struct downlink_attempt *a);

/* The held attempt a was not transmitted (a TX_ACK error; a PULL_RESP
 * not sent holds nothing): its hold is given back, nothing charged. */
void budget_release(struct budget *bg, uint64_t gateway_eui, const struct downlink_attempt *a);

/* A downlink was transmitted (TX_ACK OK, or a gateway that sends none):
 * count it for the device and the gateway, turning the hold into the
 * charge. */
void budget_downlink_sent(struct budget *bg, struct lb_device *dev, uint64_t gateway_eui,
			  const struct downlink_attempt *a);

/* The held attempt a is charged to the gateway alone, its hold turned into
 * the charge: no TX_ACK came before its timeout or the bridge's stop
 * (txsched_stop()) (the gateway may have transmitted it, so the
 * regulator's ledger errs on the safe side; the device's fair access, the
 * network's own policy, is not charged: its item is tried again), or it
 * was transmitted for a device no longer in the registry. */
void budget_charge_gateway(struct budget *bg, uint64_t gateway_eui,
			   const struct downlink_attempt *a);

/* Index of the first attempt of plan whose sub-band has room on the
 * gateway (airtime charged and held counted), or LB_ERR_FULL (all refused
 * by the duty cycle). */
int budget_choose_window(struct budget *bg, uint64_t gateway_eui,
			 const struct downlink_plan *plan);

/* After budget_choose_window() refused plan: the wall-clock time (Unix ms)
 * before which asking again is refused too (dutycycle.h dc_next_room), or
 * -1 when unknown. */
int64_t budget_next_room(struct budget *bg, uint64_t gateway_eui,
			 const struct downlink_plan *plan);

/* After budget_choose_window() refused plan: would one of its attempts
 * have room but for the airtime held (budget_hold(): frames awaiting their
 * TX_ACK)? Then room may come back at the next TX_ACK, long before
 * budget_next_room(): an error in RX1 gives RX1's hold back (the frame is
 * retried in RX2, which takes a new hold there), one in RX2 gives it back;
 * a TX_ACK OK (or none) turns the hold into a charge, and the plan is
 * refused by the ledger alone. */
bool budget_refused_by_holds(struct budget *bg, uint64_t gateway_eui,
			     const struct downlink_plan *plan);

/* Does the gateway's sub-band of attempt a still have room, airtime held
 * counted (RX2 retry, class C)? */
bool budget_window_ok(struct budget *bg, uint64_t gateway_eui, const struct downlink_attempt *a);

/* The gateway's sub-band use for its `stats` event: n filled (<= max);
 * names[i] holds out[i].name. Only a gateway that may be trusted (it
 * delivered a valid uplink) has its ledger loaded from the store for this;
 * for others only a ledger already in memory is reported, so made-up EUIs
 * cost no SQL and no slot. */
size_t budget_gateway_report(struct budget *bg, uint64_t gateway_eui, bool may_load,
			     struct ev_duty_cycle *out,
			     char names[][DC_NAME_LEN], size_t max);

/* Republish retained state/airtime whose value changed as windows slid;
 * returns the next deadline. */
int64_t budget_tick(struct budget *bg, int64_t now_ms);

/* The registry is about to be replaced (reload): forget device indexes.
 * budget_touch() marks a device's ledger for the next commit. */
void budget_forget(struct budget *bg);
void budget_touch(struct budget *bg, struct lb_device *dev);

#endif
