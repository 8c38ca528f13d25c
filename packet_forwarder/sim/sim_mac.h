/* SPDX-License-Identifier: MIT */
/*
 * sim_mac.h - a simulated end-device's MAC layer: what it does with the MAC
 * commands of the downlinks it receives and what it answers in its next
 * uplinks (pure: no I/O, no clock, no logging, no globals).
 *
 * Reference: LoRaWAN L2 1.0.4 specification (TS001-1.0.4) §5 (MAC
 * commands), §4.3.1.1 (ADR bit); RP002-1.0.4 "LinkAdrReq command" and "TX
 * power table" of each region.
 *
 *   LinkADRReq (§5.2)     a block of contiguous LinkADRReq commands: the
 *                         channel masks applied in order, DR, TXPower and
 *                         NbTrans from the last (15 = keep, §5.2; to a
 *                         device of 1.0.3 or earlier, --lorawan-version, 15
 *                         is RFU like any DR or TXPower its region does not
 *                         define: refused; NbTrans 0 = the default, 1, in
 *                         every 1.0.x); all or nothing: a DR that is
 *                         no uplink DR of the region, a TXPower beyond its
 *                         table or a mask that enables no defined channel
 *                         refuses the whole block. One
 *                         LinkADRAns per LinkADRReq (1.0.4), each with the
 *                         block's three status bits. --ignore-adr: neither
 *                         applied nor answered.
 *   DevStatusReq (§5.5)   DevStatusAns: the battery (--battery, 0..255) and
 *                         the demodulation margin of the downlink that asked
 *                         (the device's SNR less the SF's floor), 6-bit signed.
 *   RXParamSetupReq (§5.4), RXTimingSetupReq (§5.7)
 *                         applied when valid; the answer is repeated in
 *                         every uplink until the device receives a downlink
 *                         ("sticky").
 *                         Grid regions (US915 RP002-1.0.4 §2.5.5, AU915
 *                         §2.8.5): ChMaskCntl 0..3 channels 16i..16i+15,
 *                         4 channels 64..71, 5 sub-bands (bit i: 8i..8i+7
 *                         and 64+i), 6 all 125 kHz on + ChMask for 64..71,
 *                         7 all 125 kHz off + ChMask for 64..71. A DR that
 *                         no enabled channel carries (125 kHz DRs: 0..63,
 *                         the 500 kHz one: 64..71) is refused (DataRateACK
 *                         clear, TS001-1.0.4 §5.2).
 *   NewChannelReq (§5.6)  channel 3..15 (not a default one): frequency in
 *                         the band (or 0: channel off), MinDR <= MaxDR, MaxDR
 *                         an uplink DR. Grid regions (US915, AU915) refuse it.
 *   others                ignored.
 *
 * Answers wait in the device for its next uplink's FOpts (15 bytes, whole
 * commands; sticky ones first); what does not fit waits for the following
 * uplink.
 *
 * The link: a device has an SNR at TX power index 0 (--snr-spread gives
 * each its own, else the radio model's); each TXPower index lowers what the
 * gateway hears by ADR_TX_POWER_STEP_DB (2 dB).
 *
 * Ownership: plain data owned by the caller.
 */
#ifndef LB_SIM_MAC_H
#define LB_SIM_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lorawan/region.h"

#define SIM_MAC_ANS_MAX 15             /* FOpts (TS001-1.0.4 §4.3.1.6) */
#define SIM_MAC_QUEUE_MAX 48
#define SIM_MAC_CHANNELS 16            /* EU868-like regions: channels 0..15 */
#define SIM_MAC_MASK_WORDS REGION_CHMASK_WORDS
#define SIM_MAC_DEFAULT_BATTERY 200    /* 78.7 % */
#define SIM_MAC_KEEP 15                /* LinkADRReq DR / TXPower "keep" (1.0.4) */
#define SIM_GRID_125 64                /* US915/AU915: channels 0..63 are 125 kHz */
#define SIM_GRID_IF_125 8              /* 125 kHz IF channels of an 8-channel gateway */

struct sim_rx_params;

/* Settings of the run (lorabridge-sim options). */
struct sim_mac_conf {
	const struct region *region;
	bool adr;                      /* --adr: the ADR bit in every uplink */
	bool ignore_adr;               /* --ignore-adr: LinkADRReq is dropped */
	bool keep_rfu;                 /* --lorawan-version 1.0.3 or earlier: LinkADRReq
					* DataRate / TXPower 15 mean no "keep" */
	uint8_t rp;                    /* Regional Parameters, enum region_rp: the
					* last TXPower it takes (adr_max_tx_power) */
	uint8_t battery;               /* --battery */
};

struct sim_mac_counters {
	uint32_t link_adr_applied, link_adr_refused, link_adr_ignored;
	uint32_t link_adr_keep;        /* of applied, DataRate and TXPower 15 (keep) */
	uint32_t dev_status, rx_param, rx_timing, new_channel;
};

struct sim_mac_dev {
	uint8_t dr;                    /* uplink DR */
	uint8_t tx_power;              /* TXPower index, 0 = max EIRP */
	uint8_t nb_trans;              /* taken from LinkADRReq, 1 */
	uint16_t ch_mask[SIM_MAC_MASK_WORDS];
	uint32_t chan_hz[SIM_MAC_CHANNELS];   /* 0 = not defined (EU868-like) */
	float snr_db;                  /* at TX power index 0 */
	bool has_snr;                  /* else the radio model's */
	uint8_t sticky[SIM_MAC_ANS_MAX];      /* RXParamSetupAns, RXTimingSetupAns */
	size_t sticky_len;
	uint8_t queue[SIM_MAC_QUEUE_MAX];     /* other answers, for the next uplinks */
	size_t queue_len;
	size_t queue_sent;             /* bytes of queue in the last FOpts built */
	struct sim_mac_counters n;
};

/* A fresh session: DR of the uplink SF (sf 7..12 at BW125), TX power 0,
 * NbTrans 1, the region's default channels on (grid regions: every
 * channel), no answers waiting. Errors: LB_ERR_INVAL (NULL, no region),
 * LB_ERR_NOT_FOUND (sf has no uplink DR). snr is kept. */
int sim_mac_reset(struct sim_mac_dev *m, const struct region *r, uint8_t sf);

/*
 * The join-accept's CFList as the device applies it after sim_mac_reset():
 * in grid regions (US915, AU915) CFList type 1 (RP002-1.0.4 §2.3.2) is the
 * channel mask, ChMask0..ChMask4 as ChMaskCntl 0..4 in turn (ChMask4's RFU
 * bits 8..15 dropped, as LoRaMac-node RegionUS915ApplyCFList does).
 * Anything else (type 0 of the other regions, which the simulated devices
 * do not use: they keep the default channels) changes nothing. Errors:
 * LB_ERR_INVAL (NULL), LB_ERR_RANGE (a type-1 mask with no channel on).
 */
int sim_mac_apply_cflist(struct sim_mac_dev *m, const struct region *r,
			 const uint8_t cflist[REGION_CFLIST_LEN]);

/* --snr-spread MIN:MAX: device idx of n gets MIN + (MAX - MIN) idx / (n - 1). */
void sim_mac_set_snr(struct sim_mac_dev *m, float min_db, float max_db, size_t idx, size_t n);

/*
 * The device received a downlink carrying MAC commands cmds (FOpts, or the
 * FPort-0 payload; may be empty): sticky answers stop, the commands are
 * applied and answered as above; rx is the device's receive settings
 * (updated by RXParamSetupReq/RXTimingSetupReq); dl_sf the SF of the
 * downlink (DevStatusAns margin). LB_OK, or LB_ERR_MALFORMED when the
 * commands do not parse (what parsed before is applied).
 */
int sim_mac_on_downlink(struct sim_mac_dev *m, const struct sim_mac_conf *c,
			struct sim_rx_params *rx, const uint8_t *cmds, size_t len, uint8_t dl_sf);

/* The answers for the next uplink's FOpts (at most SIM_MAC_ANS_MAX bytes
 * into out). sim_mac_uplink_sent() once it went on air. */
size_t sim_mac_fopts(struct sim_mac_dev *m, uint8_t out[SIM_MAC_ANS_MAX]);
void sim_mac_uplink_sent(struct sim_mac_dev *m);

/* The SF of the device's DR (LoRa BW125), 0 if none. */
uint8_t sim_mac_sf(const struct sim_mac_dev *m, const struct region *r);

/* The uplink frequency of counter fcnt: the enabled channels in turn
 * (by dev_idx + fcnt); 0 in grid regions (sim_mac_grid_tx() chooses). */
uint32_t sim_mac_freq_hz(const struct sim_mac_dev *m, const struct region *r, size_t dev_idx,
			 uint32_t fcnt);

/* One transmission of a device in a grid region (US915, AU915). */
struct sim_mac_tx {
	uint8_t ch;                    /* uplink channel 0..71 */
	uint32_t freq_hz;
	uint8_t dr;
	uint8_t sf;
	uint16_t bw_khz;
};

/*
 * The channel and DR of a data uplink in a grid region (RP002-1.0.4 §2.5.2
 * US902-928, §2.8.2 AU915-928): the enabled channels in turn (by dev_idx +
 * fcnt) that carry its DR: a device at a 125 kHz DR uses channels 0..63,
 * one at the region's 500 kHz uplink DR (US915 DR4, AU915 DR6, set by
 * LinkADRReq) only 64..71. Errors:
 * LB_ERR_INVAL (NULL, not a grid region), LB_ERR_NOT_FOUND (no enabled
 * channel carries the device's DR).
 */
int sim_mac_grid_tx(const struct sim_mac_dev *m, const struct region *r, size_t dev_idx,
		    uint32_t fcnt, struct sim_mac_tx *out);

/*
 * The channel of join attempt `attempt` (0, 1, ..) in a grid region, as
 * TR007-1.1 §4.2 (Developing LoRaWAN Devices) recommends: each attempt one
 * channel of the next of the 8 sub-bands, a channel of a sub-band not used
 * again before the others of it, so 72 attempts cover every channel; the
 * 125 kHz channels at US915 DR0 / AU915 DR2 (SF10BW125), the 500 kHz ones
 * at DR4 / DR6. Here the channel within the sub-band rotates by dev_idx and
 * round, the 500 kHz one every ninth round. Errors as sim_mac_grid_tx().
 */
int sim_mac_grid_join_tx(const struct sim_mac_dev *m, const struct region *r, size_t dev_idx,
			 uint32_t attempt, struct sim_mac_tx *out);

/* Whether a gateway listening on sub-band sub_band (1..8: channels
 * 8(sub_band-1)..+7 and 63+sub_band, the 9 channels of an 8-channel
 * concentrator) hears uplink channel ch. */
bool sim_mac_sub_band_has(unsigned sub_band, unsigned ch);

/* How far below full power the device transmits: 2 dB per TXPower index
 * (RP002-1.0.4 TX power tables). */
float sim_mac_power_less_db(const struct sim_mac_dev *m);

#endif
