/* SPDX-License-Identifier: MIT */
/*
 * macstate.h - what the network has asked a device by MAC command and what
 * the device confirmed, as plain data, and the pure pieces of the requests:
 * the channel mask of the region's plan and the LinkADRReq block that sets
 * it (TS001-1.0.4 §5.2, RP002-1.0.4 "LinkAdrReq command" of each region).
 *
 * The daemon (daemon/netmac.h) owns the policy: when to ask, tries and
 * back-off, events. Nothing here does I/O, logs or keeps globals; every
 * buffer is the caller's.
 */
#ifndef LB_MACSTATE_H
#define LB_MACSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lorawan/region.h"
#include "mac/adr.h"

/* The requests the network sends. */
enum macstate_req {
	MACSTATE_LINK_ADR = 0,       /* LinkADRReq (TS001-1.0.4 §5.2) */
	MACSTATE_DEV_STATUS,         /* DevStatusReq (§5.5) */
	MACSTATE_RX_PARAM,           /* RXParamSetupReq (§5.4) */
	MACSTATE_RX_TIMING,          /* RXTimingSetupReq (§5.7) */
	MACSTATE_NEW_CHANNEL,        /* NewChannelReq (§5.6) */
	MACSTATE__N
};

/* rx_done: receive settings and channels the device confirmed. */
#define MACSTATE_RX_PARAM_DONE 0x1u
#define MACSTATE_RX_TIMING_DONE 0x2u
#define MACSTATE_CHANNEL_DONE(i) (1u << (i))   /* NewChannelReq of channel i (2..7) */

#define MACSTATE_CHMASK_WORDS REGION_CHMASK_WORDS  /* 16-bit words, 80 channels */
#define MACSTATE_MAX_NEW_CHANNELS 5                /* EU868 channels 3..7, AS923 2..6 */
/* LinkADRReq DataRate or TXPower 0xF: the device ignores the field and
 * keeps its current value (TS001-1.0.4 §5.2; RFU before 1.0.4). */
#define MACSTATE_LINK_ADR_KEEP 15

/* Times are Unix seconds in 32 bits, unsigned (they run to 2106): a
 * state is kept for every device heard, so its fields are narrowed to
 * their ranges (sizeof(struct macstate) = MACSTATE_SIZE, checked). */
struct macstate_track {
	uint32_t backoff_until;      /* Unix s; 0 = may ask */
	uint8_t tries;               /* sent without an answer so far (<= adr.max_unanswered) */
	uint8_t asked;               /* what the last request of this kind asked, in
				      * the daemon's numbering (RXParamSetupReq:
				      * netmac's table of the values it asks;
				      * RXTimingSetupReq: the delay in s); 0 = not
				      * known (asked before the store kept it) */
	bool outstanding : 1;        /* sent, the next uplink should answer */
	bool answer_repeats : 1;     /* the last uplink carried an answer of this
				      * kind: RXParamSetupAns and RXTimingSetupAns
				      * are repeated until the device receives a
				      * downlink, so the next uplink may carry the
				      * same one again (in memory only; true
				      * after a restart until the next uplink) */
	bool down_since : 1;         /* a class A downlink went to the device since
				      * its last uplink (in memory only) */
	uint8_t unheard : 4;         /* uplinks in a row that repeated the answer to
				      * a request of values not known (asked 0)
				      * after a downlink: the device does not
				      * receive the bridge's downlinks (saturates
				      * at 15; in memory only, daemon/netmac.c
				      * other_answer_may_come()) */
};

struct macstate {
	uint32_t session_at;         /* rt.joined_at of the session it belongs to
				      * (macstate_unix_s) */
	uint32_t status_at;          /* last DevStatusAns, Unix s */
	struct macstate_track track[MACSTATE__N];
	/* ADR as the device last confirmed it (LinkADRAns, all bits set):
	 * ch_mask, dr, tx_power, nb_trans; what the LinkADRReq in flight
	 * asked: ask_*. DataRate, TXPower and NbTrans are 4-bit fields
	 * (TS001-1.0.4 §5.2). */
	uint16_t ch_mask[MACSTATE_CHMASK_WORDS];
	uint16_t ask_mask[MACSTATE_CHMASK_WORDS];
	uint16_t published;          /* what state/mac said (daemon/netmac.c packs it) */
	uint8_t rx_done;             /* MACSTATE_*_DONE bits */
	uint8_t dr : 4, tx_power : 4;
	uint8_t nb_trans : 4, ask_nb_trans : 4;
	uint8_t ask_dr : 4, ask_tx_power : 4;
	uint8_t ask_channels;        /* bit i: channel i asked by the NewChannelReq
				      * block in flight, in increasing order
				      * (macstate_first_extra_channel()..7) */
	/* Last DevStatusAns (TS001-1.0.4 §5.5): Battery 0..255, Margin -32..31. */
	uint8_t battery;
	int8_t margin;
	bool known : 1;              /* read from the store or set since the start */
	bool ch_mask_set : 1;        /* the plan's mask was confirmed */
	bool ask_known : 1;          /* ask_* are the last LinkADRReq of this run
				      * (not restored: an answer to a request sent
				      * before a restart carries unknown values) */
	bool has_status : 1;
	bool adr_bit : 1;            /* the last uplink's ADR bit */
	bool has_published : 1;      /* state/mac published since the start */
	bool ask_mask_only : 1;      /* the LinkADRReq in flight was the channel mask
				      * alone, for a device with ADR off (DR, TX
				      * power and NbTrans its current ones) */
	bool ask_keep : 1;           /* and carried DataRate and TXPower
				      * MACSTATE_LINK_ADR_KEEP (a 1.0.4 device):
				      * ask_dr and ask_tx_power are what the bridge
				      * knew, not what the device confirms */
	struct adr_history hist;     /* in memory only */
};

#define MACSTATE_SIZE 120

/* A Unix time in seconds as struct macstate holds it: clamped to 0..UINT32_MAX. */
uint32_t macstate_unix_s(int64_t t);

/* A session's join time as a device holds it (tables/devices.h
 * rt.joined_at, where 0 means ABP or never joined): macstate_unix_s(), but
 * a joined session (t != 0) stays joined: a time before 1970 (a clock
 * that was wrong at the join) is 1. */
uint32_t macstate_joined_s(int64_t t);

/* The join time to store for a join made at wall time now_s (seconds):
 * now_s, but never 0 (= never joined) nor before 1970 (a wall clock at or
 * before 1970 still records a join): 1 then. */
int64_t macstate_join_stamp(int64_t now_s);

/* rx_done as the store's rows hold it (store_mac.h; channel i at bit
 * 8 + i, as it was kept in memory before), and back (bits outside
 * MACSTATE_*_DONE dropped). */
uint32_t macstate_rx_done_to_row(uint8_t rx_done);
uint8_t macstate_rx_done_from_row(uint32_t row);

/*
 * The first channel after the region's default channels: the channel the
 * first CFList type-0 frequency and the first NewChannelReq define
 * (RP002-1.0.4 §2.3.1): 3 in EU868, KR920 and IN865 (three default
 * channels, §2.4.2, §2.11.2, §2.12.2), 2 in AS923 (two, §2.10.2).
 */
uint8_t macstate_first_extra_channel(const struct region *r);

/*
 * The uplink channel mask of the region's plan. Regions with a grid of 64 +
 * 8 uplink channels (US915, AU915): the 8 channels of sub_band (1..8) and
 * its 500 kHz channel 64 + sub_band - 1 (sub-band 2: 8..15 and 65). Others:
 * the region's default channels (EU868 0..2, AS923 0..1) plus bit i for each
 * i in extra above them (the extra channels the device knows, from
 * macstate_first_extra_channel() to 7). A channel the device does not have
 * is never enabled: the device would refuse the whole LinkADRReq
 * (TS001-1.0.4 §5.2, Channel mask ACK). Errors: LB_ERR_INVAL (NULL),
 * LB_ERR_RANGE (sub_band outside 1..8 in a grid region).
 */
int macstate_plan_mask(const struct region *r, int sub_band, uint8_t extra_channels,
		       uint16_t mask[MACSTATE_CHMASK_WORDS]);

/*
 * The LinkADRReq block that sets dr, tx_power, nb_trans and mask
 * (TS001-1.0.4 §5.2: contiguous LinkADRReq commands form one block, the
 * masks applied in order, DR/TXPower/NbTrans from the last one). Grid
 * regions: ChMaskCntl 7 (every 125 kHz channel off, ChMask = channels
 * 64..71) then ChMaskCntl b for each 16-channel block b that has channels
 * on (RP002-1.0.4 "US902-928 LinkAdrReq command"); others: one command,
 * ChMaskCntl 0. dr and tx_power may be MACSTATE_LINK_ADR_KEEP. Errors:
 * LB_ERR_INVAL (NULL), LB_ERR_TOO_LARGE (cap), the codec's LB_ERR_RANGE.
 */
int macstate_link_adr_req(const struct region *r, uint8_t dr, uint8_t tx_power,
			  uint8_t nb_trans, const uint16_t mask[MACSTATE_CHMASK_WORDS],
			  uint8_t *out, size_t cap, size_t *len);

/* True when the grid regions' two-step mask is needed (US915, AU915). */
bool macstate_grid_region(const struct region *r);

#endif
