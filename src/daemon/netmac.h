/* SPDX-License-Identifier: MIT */
/*
 * netmac.h - the network side of the MAC layer, per device: ADR
 * (LinkADRReq), device status (DevStatusReq -> `status` events), and the
 * receive settings of ABP devices (RXParamSetupReq, RXTimingSetupReq,
 * NewChannelReq). txsched.h asks it, at each decision, which requests go
 * with the downlink (in FOpts of one already going out, else in a frame of
 * their own that the fair-access budget and the gateway's duty cycle count
 * and may refuse like any other).
 *
 * Rules (TS001-1.0.4 and RP002-1.0.4 sections):
 * - ADR (§4.3.1.1, §5.2; the rule in mac/adr.h): when the device sets the
 *   ADR bit and devices[].adr is true, from the best SNR of its last
 *   ADR_HISTORY uplinks. A LinkADRReq block carries the region plan's
 *   channel mask (mac/macstate.h); in US915/AU915 a device with ADR off
 *   gets the mask alone, with the DR and TX power it uses now (channel
 *   mask control is accepted with ADR off, §4.3.1.1; a device of
 *   lorawan_version 1.0.4: DataRate and TXPower 0xF, "keep the current
 *   value", §5.2, and its answer changes neither), also an OTAA device
 *   whose join-accept carried the mask (CFList type 1, otaa.c): only its
 *   LinkADRAns tells that it took the mask (a 1.0.2 device configured as
 *   1.0.3, the default, ignores that CFList). An ADRACKReq makes
 *   US915/AU915 send the mask again (the back-off re-enables the device's
 *   default channels). LinkADRAns with the three bits set
 *   (power, DR, channel mask) applies what was asked to the state; a bit
 *   clear means the device kept everything (§5.2): counted like no
 *   answer. ADRACKReq (§4.3.1.1) is answered with a downlink, with
 *   LinkADRReq when ADR has something to say, else empty.
 * - DevStatusReq (§5.5) every status_interval_h, at once when the status
 *   is unknown (new device, none stored); DevStatusAns is a `status` event
 *   (events/event_json.h) and the device's last status.
 * - ABP devices start with the region's receive settings (RP002-1.0.4 §2.x
 *   "Default Settings"), OTAA devices with their join-accept's RX1DROffset
 *   and RX2 DR and the region's RX2 frequency (§6.2.6): where
 *   downlink.rx1_dr_offset, rx2_frequency, rx2_dr differ, RXParamSetupReq
 *   (§5.4); ABP devices also: where downlink.rx_delay_s is not
 *   1, RXTimingSetupReq (§5.7); extra channels (downlink.join_cflist) by
 *   NewChannelReq (§5.6), numbered after the region's default channels
 *   (3..7; AS923 2..6, RP002-1.0.4 §2.10.2). Until the device confirms
 *   them its downlinks are planned with the region's defaults
 *   (netmac_windows). Their answers
 *   are repeated by the device in every uplink until it receives a
 *   downlink (§5.4, §5.7): such an uplink gets one.
 *   An answer confirms what its request asked (kept in the store: the
 *   answer may come after a restart with other settings), and the
 *   settings of the moment are asked next if they differ; a request of
 *   other values than the last one, or when what the last one asked is not
 *   known (a row of before schema v10), is not sent while the device may
 *   still answer the last one (sent since its last uplink, or that uplink
 *   carried the answer, which the device repeats until it receives a
 *   downlink): its answer could not be told from the old one.
 * - Each kind of request is tried at most adr.max_unanswered times without
 *   a (positive) answer, then not before adr.backoff_h hours: one log line
 *   and one `log` event when the back-off starts. A request counts as tried
 *   once the downlink that carries it is handed to a gateway. A positive
 *   RXParamSetupAns / RXTimingSetupAns that comes during the back-off is
 *   taken for the last request (the device applied it; its answers were
 *   lost) when what that request asked is known.
 *
 * Durable: each device's state (store/store_mac.h) is staged with the group
 * commit when it changes (like sessions.h); the link history is not kept,
 * nor the tries and back-off of DevStatusReq and NewChannelReq; those of
 * LinkADRReq, RXParamSetupReq and RXTimingSetupReq are, and what the last
 * RXParamSetupReq / RXTimingSetupReq asked (LinkADRReq's values are not:
 * its answer after a restart applies nothing).
 * An OTAA device that joins again starts afresh (the join resets its MAC
 * settings, §6.2.6): the state remembers the session it belongs to.
 *
 * Context (borrowed): the registry, the region, the store, the group
 * commit, the sessions (receive settings an ABP device confirmed), device
 * events, Home Assistant (told of each `status` event published).
 * netmac_free() releases the list of changed devices.
 */
#ifndef LB_NETMAC_H
#define LB_NETMAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/devevent.h"
#include "daemon/durable.h"
#include "daemon/hass.h"
#include "daemon/session.h"
#include "gwmp/rx.h"
#include "lorawan/lorawan.h"
#include "lorawan/maccmd.h"
#include "lorawan/region.h"
#include "mac/downlink.h"
#include "mac/macstate.h"
#include "store/store.h"
#include "tables/devices.h"
#include "tables/dirtyset.h"

#define NETMAC_REQ_MAX 64            /* bytes of requests in one downlink */

struct netmac_opts {
	double margin_db;                /* adr.installation_margin_db */
	int max_unanswered;              /* adr.max_unanswered */
	int backoff_h;                   /* adr.backoff_h */
	int sub_band;                    /* downlink.sub_band (grid regions) */
	/* Receive settings to push to ABP devices (from downlink.*). */
	uint8_t rx1_dr_offset;
	uint32_t rx2_freq;               /* 0: the region's */
	bool has_rx2_dr;
	uint8_t rx2_dr;
	uint8_t rx_delay_s;              /* 1..15 */
	uint32_t channels[MACSTATE_MAX_NEW_CHANNELS]; /* extra channels, numbered from
						       * macstate_first_extra_channel() */
	size_t n_channels;
};

struct netmac_ctx {
	struct devices *devices;
	const struct region *region;
	struct store *store;
	struct durable *durable;
	struct sessions *sessions;
	struct devevents *ev;
	struct hass *hass;               /* status entities (hass.h); NULL = none */
};

struct netmac_stats {
	uint64_t sent[MACSTATE__N];      /* requests handed to a gateway */
	uint64_t answered[MACSTATE__N];  /* positive answers */
	uint64_t refused[MACSTATE__N];   /* answers with a bit clear */
	uint64_t backoffs;
	uint64_t status_events;
};

/* The RXParamSetupReq values asked in this run or read from the store
 * (each device's last request, of a past run), so an answer confirms what
 * its request asked, not the settings of the moment (macstate_track.asked
 * is an index + 1). The settings only change with a restart: one entry per
 * setting of downlink.rx1_dr_offset / rx2_* some device was last asked.
 * Every index asked holds. */
#define NETMAC_RX_ASKED_MAX UINT8_MAX

struct netmac {
	struct netmac_ctx c;
	struct netmac_opts o;
	struct maccmd_rx_param_setup_req rx_asked[NETMAC_RX_ASKED_MAX];
	uint8_t n_rx_asked;
	int commit_ms;
	struct dirtyset dirty;
	struct netmac_stats stats;
};

/* Fill o->channels from downlink.join_cflist ("auto": EU868's 867.1 to
 * 867.9 MHz, as the join-accept gives them; "none"; a list). */
void netmac_cflist_channels(const struct region *r, const char *join_cflist,
			    struct netmac_opts *o);

/* An OTAA device joined (otaa.c, once the join is committed and the new
 * session set, dev->rt.joined_at its start): its MAC state starts afresh
 * for the new session, even when the previous one began in the same
 * second. (A pending session's starts at its promotion, its joined_at then
 * differing from the state's: session.h.) */
void netmac_joined(struct netmac *m, struct lb_device *dev);

/* Set up and register with the group commit. LB_OK or durable_add()'s
 * error. */
int netmac_init(struct netmac *m, const struct netmac_ctx *c, const struct netmac_opts *o,
		int commit_ms);
void netmac_free(struct netmac *m);

/* Load a device's stored state (start-up, or a device new in a reload).
 * LB_OK (also when none is stored) or the store's error (logged). */
int netmac_restore_device(struct netmac *m, struct lb_device *dev);

/* Restore it at the device's first use instead (start-up): a fleet's
 * stored MAC states are held in memory only for the devices heard again. */
void netmac_defer_restore(struct netmac *m, struct lb_device *dev);

/* Read the device's deferred state now if it was not yet (the calls below
 * that change it do so themselves): before netmac_windows() plans a
 * downlink that no uplink of this run preceded. */
void netmac_load(struct netmac *m, struct lb_device *dev);

/*
 * After an accepted data uplink of dev (before the decision): check the
 * answers in its MAC commands (mac, mac_len: FOpts or the FPort-0 payload)
 * against what was asked, publish a `status` event for a DevStatusAns,
 * add the frame to the link history. Returns true when the uplink needs a
 * downlink even with nothing else to send (ADRACKReq, repeated
 * RXParamSetupAns / RXTimingSetupAns).
 */
bool netmac_uplink(struct netmac *m, struct lb_device *dev, const struct lw_frame *f,
		   const uint8_t *mac, size_t mac_len, const struct lb_rx *rx, size_t n_rx,
		   const uint8_t dedup_id[16]);

/* The requests due now, whole commands only, at most cap bytes into out;
 * *kinds gets bit (1 << enum macstate_req) of each included. Returns the
 * length (0: nothing due). */
size_t netmac_requests(struct netmac *m, struct lb_device *dev, uint8_t *out, size_t cap,
		       unsigned *kinds);

/* A class A downlink of dev was handed to a gateway, with those requests
 * (kinds 0: none, nothing to do). */
void netmac_sent(struct netmac *m, struct lb_device *dev, unsigned kinds);

/* A class A data downlink of dev was taken by its gateway (TX_ACK without
 * error, or a v1 gateway's PULL_RESP sent): the device could receive it.
 * One refused, failed or never acknowledged says nothing about the device.
 * A device that keeps repeating RXParamSetupAns or RXTimingSetupAns after
 * such downlinks does not receive them (netmac.c other_answer_may_come()). */
void netmac_delivered(struct netmac *m, struct lb_device *dev);

/* The receive windows the device uses: what it confirmed by
 * RXParamSetupAns, else for ABP the region's defaults (RX1 delay 1 s,
 * RX1DROffset 0, the region's RX2), for a joined OTAA device its
 * join-accept's RX1DROffset and RX2 DR with the region's RX2 frequency
 * (DLSettings carries none, TS001-1.0.4 §6.2.6). */
void netmac_windows(const struct netmac *m, const struct lb_device *dev,
		    struct downlink_plan_in *in);

/* An RXParamSetupReq went out and its answer has not come yet: the
 * device may already listen on the new RX2 (it applies the request when it
 * receives it, TS001-1.0.4 §5.4) while netmac_windows() still plans the
 * old one. Class C (classc.h) sends nothing on RX2 until the answer. */
bool netmac_rx2_changing(const struct lb_device *dev);

/* Reload: forget the list of changed devices (indexes change); the caller
 * commits first and touches every device again if that failed. */
void netmac_forget(struct netmac *m);
void netmac_touch(struct netmac *m, struct lb_device *dev);

/* True for an uplink MAC command this module handles (an answer). */
bool netmac_handles(uint8_t cid);

#endif
