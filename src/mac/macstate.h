/* SPDX-License-Identifier: MIT */
/*
 * macstate.h - what the network has asked a device by MAC command and what
 * the device confirmed, as plain data, and the pure pieces of the requests:
 * the channel mask of the region's plan and the LinkADRReq block that sets
 * it (TS001-1.0.4 §5.3, RP002-1.0.4 "LinkAdrReq command" of each region).
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
	MACSTATE_LINK_ADR = 0,       /* LinkADRReq (TS001-1.0.4 §5.3) */
	MACSTATE_DEV_STATUS,         /* DevStatusReq (§5.5) */
	MACSTATE_RX_PARAM,           /* RXParamSetupReq (§5.4) */
	MACSTATE_RX_TIMING,          /* RXTimingSetupReq (§5.7) */
	MACSTATE_NEW_CHANNEL,        /* NewChannelReq (§5.6) */
	MACSTATE__N
};

/* rx_done: receive settings and channels the device confirmed. */
#define MACSTATE_RX_PARAM_DONE 0x1u
#define MACSTATE_RX_TIMING_DONE 0x2u
#define MACSTATE_CHANNEL_DONE(i) (0x100u << (i))   /* NewChannelReq of channel i */

#define MACSTATE_CHMASK_WORDS REGION_CHMASK_WORDS  /* 16-bit words, 80 channels */
#define MACSTATE_MAX_NEW_CHANNELS 5                /* EU868 channels 3..7 */
#define MACSTATE_FIRST_EXTRA_CHANNEL 3             /* after the 3 default channels */

struct macstate_track {
	uint8_t tries;               /* sent without an answer so far */
	bool outstanding;            /* sent, the next uplink should answer */
	int64_t backoff_until;       /* Unix s; 0 = may ask */
};

struct macstate {
	bool known;                  /* read from the store or set since the start */
	int64_t session_at;          /* rt.joined_at of the session it belongs to */
	/* ADR as the device last confirmed it (LinkADRAns, all bits set). */
	uint8_t dr, tx_power, nb_trans;
	uint16_t ch_mask[MACSTATE_CHMASK_WORDS];
	bool ch_mask_set;            /* the plan's mask was confirmed */
	/* What the requests in flight asked. */
	uint8_t ask_dr, ask_tx_power, ask_nb_trans;
	bool ask_known;              /* ask_* are the last LinkADRReq of this run
				      * (not restored: an answer to a request sent
				      * before a restart carries unknown values) */
	uint16_t ask_mask[MACSTATE_CHMASK_WORDS];
	uint8_t ask_channels[MACSTATE_MAX_NEW_CHANNELS];
	uint8_t n_ask_channels;
	struct macstate_track track[MACSTATE__N];
	/* Last DevStatusAns. */
	bool has_status;
	int64_t status_at;           /* Unix s */
	uint8_t battery;
	int8_t margin;
	uint32_t rx_done;
	bool adr_bit;                /* the last uplink's ADR bit */
	bool has_published;          /* state/mac published since the start */
	uint32_t published;          /* what it said (daemon/netmac.c packs it) */
	struct adr_history hist;     /* in memory only */
};

/*
 * The uplink channel mask of the region's plan. Regions with a grid of 64 +
 * 8 uplink channels (US915, AU915): the 8 channels of sub_band (1..8) and
 * its 500 kHz channel 64 + sub_band - 1 (sub-band 2: 8..15 and 65). Others
 * (EU868): the 3 default channels plus bit i for each i in extra (channels
 * 3..7 the device knows). Errors: LB_ERR_INVAL (NULL), LB_ERR_RANGE
 * (sub_band outside 1..8 in a grid region).
 */
int macstate_plan_mask(const struct region *r, int sub_band, uint8_t extra_channels,
		       uint16_t mask[MACSTATE_CHMASK_WORDS]);

/*
 * The LinkADRReq block that sets dr, tx_power, nb_trans and mask
 * (TS001-1.0.4 §5.3.1: contiguous LinkADRReq commands form one block, the
 * masks applied in order, DR/TXPower/NbTrans from the last one). Grid
 * regions: ChMaskCntl 7 (every 125 kHz channel off, ChMask = channels
 * 64..71) then ChMaskCntl b for each 16-channel block b that has channels
 * on (RP002-1.0.4 "US902-928 LinkAdrReq command"); others: one command,
 * ChMaskCntl 0. Errors: LB_ERR_INVAL (NULL), LB_ERR_TOO_LARGE (cap), the
 * codec's LB_ERR_RANGE.
 */
int macstate_link_adr_req(const struct region *r, uint8_t dr, uint8_t tx_power,
			  uint8_t nb_trans, const uint16_t mask[MACSTATE_CHMASK_WORDS],
			  uint8_t *out, size_t cap, size_t *len);

/* True when the grid regions' two-step mask is needed (US915, AU915). */
bool macstate_grid_region(const struct region *r);

#endif
