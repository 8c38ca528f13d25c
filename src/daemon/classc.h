/* SPDX-License-Identifier: MIT */
/*
 * classc.h - class C downlinks: devices configured `class = "C"` listen
 * whenever they are not transmitting (TS001-1.0.4 §17), so what is queued
 * for them leaves at once instead of waiting for their next uplink.
 *
 *   command queued ──classc_queued()──> due now
 *   tick: head of the device's queue ──> frame (next FCntDown, shared with
 *         txsched) ──> one txpk: RX2 frequency and DR of the device, imme
 *         (Semtech PROTOCOL.TXT §6) ──> the gateway that heard the device
 *         best recently ──> txsched_launch_item() (TX_ACK, txack / log
 *         DOWNLINK_GATEWAY, the item marked sent or deleted, as class A)
 *
 * One downlink at a time per device, in queue order: nothing starts while a
 * class-A decision is pending for the device or one of its PULL_RESPs
 * awaits its TX_ACK (txsched_busy()), while a confirmed downlink awaits
 * its ACK, nor before the class-A windows of its last uplink are over (RX1
 * + a guard when nothing was sent, the end of the class-A frame when one
 * was: the device closes its continuous window for RX1, §17). Both paths
 * take FCntDown from the same reservation (txsched_reserve_fcnt()), so no
 * counter is used twice. A reservation that must reach the disk first (a
 * device's first downlink since the start, then every 64th) does not hold
 * the loop: the device is looked at again every TXSCHED_DISK_POLL_MS until
 * its sync has completed.
 *
 * Gateway: of the device's last CLASSC_RX receptions (one per gateway:
 * time, SNR margin, RSSI), the best margin (then RSSI) among those heard
 * within CLASSC_RX_MAX_AGE_MS whose gateway is online and has a downlink
 * route. Budgets: the device's fair-access downlink budget (enforce:
 * refused and dropped with a `log` FAIR_ACCESS, as class A) and the
 * gateway's duty cycle in the RX2 sub-band (no room: the item stays
 * queued and is tried again every CLASSC_DC_RETRY_MS). No usable gateway:
 * it stays queued for the device's next uplink (which also gives class A
 * its windows). Each reason to wait is said once per item, as a `log`
 * event (WARNING, DUTY_CYCLE or CLASS_C_NO_GATEWAY). A frame the gateway
 * refuses (TX_ACK error) is tried again after CLASSC_FAIL_RETRY_MS, at
 * most CLASSC_GW_FAILURES times, then it waits for the next uplink.
 *
 * Confirmed downlinks (TS001-1.0.4 §4.3.1.2: the device acknowledges in
 * its next uplink, at its own discretion; §17: nothing else tells the
 * network a class C frame arrived). Whatever window carried it, a confirmed
 * downlink to a class C device is settled by the first uplink the device
 * started after the downlink ended (an earlier one could not carry the ACK):
 * ACK bit = `ack` acknowledged true. No ACK bit, or no uplink within
 * downlink.class_c_ack_timeout_s: sent again with a new FCntDown (a device
 * drops a repeated counter, §4.3.1.5), up to downlink.class_c_retries times;
 * then `ack` acknowledged false (after a timeout deduplicationId is the nil
 * UUID: no uplink) and the item leaves the queue. The count of sends is kept
 * in memory: after a restart a confirmed downlink still waiting starts a new
 * timeout with its retries.
 *
 * Expired items (expiresAt) met at the head of the queue are dropped with
 * `log` EXPIRED as class A drops them.
 *
 * MAC requests of the network (netmac.h) never ride in a class C frame:
 * they go in the class-A windows after the device's uplinks, whose answers
 * the next uplink brings. An RXParamSetupReq in a frame sent at any time
 * would move the device's RX2 while further class C frames still went to
 * the old one. The RX2 of an ABP device is the one it confirmed
 * (netmac_windows()); while its RXParamSetupReq awaits the answer
 * (netmac_rx2_changing()) nothing is sent at once: the item waits for the
 * next uplink, which carries the answer.
 *
 * Context (borrowed): the registry, region, gateway table, store, budgets,
 * device events and the class-A scheduler (its hooks are set here). The
 * module owns one small state per class C device (classc_sync() after each
 * load of the registry); classc_free() releases it.
 */
#ifndef LB_CLASSC_H
#define LB_CLASSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/budget.h"
#include "daemon/devevent.h"
#include "daemon/netmac.h"
#include "daemon/session.h"
#include "daemon/txsched.h"
#include "lorawan/region.h"
#include "store/store.h"
#include "tables/devices.h"
#include "tables/gateway.h"

#define CLASSC_RX 4                          /* receptions kept per device */
#define CLASSC_RX_MAX_AGE_MS (3600 * 1000)   /* older ones choose no gateway */
#define CLASSC_RX1_GUARD_MS 500              /* after RX1 opened, if nothing came */
#define CLASSC_DC_RETRY_MS 10000             /* duty cycle full: try again */
#define CLASSC_FAIL_RETRY_MS 2000            /* TX_ACK error or no TX_ACK */
#define CLASSC_GW_FAILURES 3                 /* then wait for an uplink */
#define CLASSC_BUSY_RETRY_MS 100             /* another downlink in progress */

/* One reception of the device by a gateway. */
struct classc_rx {
	uint64_t gateway_eui;            /* 0 = empty */
	int64_t at_ms;                   /* monotonic */
	double margin_db;                /* downlink_rx_margin_db() */
	int rssi;
};

enum classc_wait { CLASSC_WAIT_NONE = 0, CLASSC_WAIT_GATEWAY, CLASSC_WAIT_DUTY_CYCLE,
		   CLASSC_WAIT_SESSION };

/* The state of one class C device. */
struct classc_dev {
	uint64_t dev_eui;
	struct classc_rx rx[CLASSC_RX];
	int64_t last_up_ms;              /* monotonic, when its last uplink was taken */
	int64_t last_up_us;              /* the same, monotonic µs */
	int64_t hold_until_ms;           /* class-A windows of the last uplink */
	bool wanted;                     /* the queue may hold something to send */
	int64_t retry_at_ms;             /* when to look again (wanted) */
	bool in_flight;                  /* a class C PULL_RESP awaits its TX_ACK */
	unsigned gw_failures;            /* of the head item, in a row */
	/* the confirmed downlink awaiting the device's ACK */
	bool tracking;
	char conf_id[DLCMD_MAX_ID + 1];
	unsigned sends;                  /* times it was sent (first + retries) */
	int64_t sent_end_us;             /* end of its last transmission, monotonic µs (a wall
					  * clock step must not move it against an uplink's) */
	int64_t deadline_ms;             /* monotonic */
	/* a reason to wait, said once per item */
	enum classc_wait waited;
	char waited_id[DLCMD_MAX_ID + 1];
};

struct classc_opts {
	int ack_timeout_s;               /* downlink.class_c_ack_timeout_s */
	int retries;                     /* downlink.class_c_retries */
	int delay_ms;                    /* downlink.delay_ms (class-A decision) */
	bool has_rx2_freq, has_rx2_dr;   /* downlink.rx2_*: else the region's */
	uint32_t rx2_freq;
	uint8_t rx2_dr;
};

struct classc_ctx {
	struct devices *devices;
	const struct region *region;
	struct gateways *gateways;
	struct store *store;
	struct budget *budget;
	struct devevents *ev;
	struct txsched *tx;
	struct netmac *netmac;           /* ABP receive settings; NULL = none (reading a
					  * device's stored state adds to its table) */
	/* pending sessions (session.h); NULL = none. While a device's join is
	 * pending and it was not heard under its current session since, it
	 * may have either session: nothing is sent in class C (the frame
	 * waits for its next uplink, which tells). */
	struct sessions *sessions;
};

struct classc_stats {
	uint64_t sent;                   /* class C frames the gateways programmed */
	uint64_t retries;                /* confirmed ones sent again */
	uint64_t waits;                  /* reasons to wait reported */
};

struct classc {
	struct classc_ctx c;             /* borrowed */
	struct classc_opts o;
	struct classc_dev *dev;          /* sorted by dev_eui */
	size_t n;
	int64_t next_ms;                 /* earliest deadline, -1 none */
	struct classc_stats stats;
};

/* Set up and hook into c->tx (txsched_set_hooks()); then classc_sync().
 * LB_OK or LB_ERR_NOMEM (logged). */
int classc_init(struct classc *cc, const struct classc_ctx *ctx, const struct classc_opts *o);
void classc_free(struct classc *cc);

/* The registry was (re)loaded: follow its class C devices, keeping the
 * state of those that stay. LB_OK or LB_ERR_NOMEM (the old state stays). */
int classc_sync(struct classc *cc);

/* A downlink was queued for dev (command.h's `queued`; arg is the struct
 * classc): for a class C device, look at its queue at the next tick. */
void classc_queued(void *arg, struct lb_device *dev);

/* Send what is due, settle ACK timeouts; returns the next deadline
 * (monotonic ms) or -1. */
int64_t classc_tick(struct classc *cc, int64_t now_ms);

/* The state of a class C device, NULL for others (tests, stats). */
const struct classc_dev *classc_find(const struct classc *cc, uint64_t dev_eui);

#endif
