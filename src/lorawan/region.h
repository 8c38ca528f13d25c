/* SPDX-License-Identifier: MIT */
/*
 * region.h - LoRaWAN regional parameters as const tables (pure module).
 *
 * Reference: LoRaWAN Regional Parameters RP002-1.0.4 §2 (§2.3 default
 * settings and CFList types; the chapters §2.4 EU863-870, §2.5 US902-928,
 * §2.8 AU915-928, §2.10 AS923, §2.11 KR920-923, §2.12 IN865-867), LoRaWAN L2
 * 1.0.4 (TS001-1.0.4) §3.3 (receive windows), §5.8 (TxParamSetupReq).
 * AU915 follows brocaar/lorawan band/band_au915_928.go and RP002 §2.8.
 *
 * One `struct region` per region, defined in region_tables.c; everything
 * here is read-only data and lookups on it. No allocation, no I/O, no
 * globals with state: the returned pointers are to static const tables and
 * are valid for the life of the program (nothing to free).
 *
 * Payload limits: M = max MACPayload, N = max FRMPayload without FOpts
 * (M - 8); max PHYPayload = M + 5. The tables hold the NOT repeater-
 * compatible column (the larger values, which is what a device without a
 * repeater may send; a bridge must accept them). See region_tables.c.
 *
 * Dwell time (AS923, RP002-1.0.4 §2.10.3 and §2.10.6; AU915, §2.8.3 and
 * §2.8.6): UplinkDwellTime and DownlinkDwellTime (TS001-1.0.4 §5.8
 * TxParamSetupReq) switch the 400 ms limit on or off. With UplinkDwellTime = 1
 * the 125 kHz uplinks are limited (no DR0/DR1); with DownlinkDwellTime = 1
 * (AS923; AU915 downlinks are 500 kHz, unaffected) the downlink payload
 * limits are the dwell column (M/N below) and the RX1 data rate never goes
 * below DR2 (RP002-1.0.4 §2.10.7). The tables hold both; region_configure()
 * makes the copy the bridge works with, so every other lookup stays
 * dwell-agnostic.
 *
 * Regional Parameters revision (enum region_rp): the tables hold RP002-1.0.4.
 * A device built to an older revision differs where the network sees it in
 * two places, which the tables carry as exceptions and the *_rp() lookups
 * apply:
 *  - RX1 data rate of AS923 and IN865 devices of 1.0.2revB and 1.0.3revA
 *    (LoRaWAN Regional Parameters v1.0.3revA §2.8.7 AS923, §2.10.7 IN865; the
 *    AS923 rule since LoRaWAN Regional Parameters V1.0 §2.7.7): the same
 *    RX1DROffset 0..7 (6, 7 raise the DR) but the result is at most DR5, where
 *    RP002 allows up to DR7 (RP002-1.0.4 §2.10.7, §2.12.7): min(RP002 value,
 *    rx1_max_dr_rp1).
 *  - AS923 DR2 maximum payload with DwellTime = 0: M 59 before RP002-1.0.1,
 *    123 since (RP002-1.0.4 §2.10.6); the DwellTime = 1 column (M 19) is the
 *    same in every revision (max_m_rp002_1_0_0).
 * The last TXPower index (US915, AU915: 10 in 1.0.2revB) is ADR's (mac/adr.h).
 * One more difference is not followed per device: the DownlinkDwellTime an
 * AS923 device starts with, 0 in RP002 (RP002-1.0.4 §2.3) but 1 in devices
 * of 1.0.2revB and in LoRaMac-node's 1.0.3revA builds; the bridge sends no
 * TxParamSetupReq, so such devices keep 1, and the one global
 * region_dwell_time.downlink (region_configure()) must be set true for them.
 * Everything else the bridge uses is the same in these revisions, or already
 * follows the device's LoRaWAN version (the AU915 dwell limit and the
 * US915/AU915 CFList type 1 of 1.0.3 and later).
 *
 * Duty cycle: in parts per million (1 % = 10000 ppm). A sub-band without a
 * duty-cycle limit has REGION_DC_UNLIMITED (100 %), so the off-time formula
 * region_dc_off_us() gives 0 without special cases.
 */
#ifndef LB_REGION_H
#define LB_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REGION_MAX_DR 16
#define REGION_MAX_RX1_OFFSET 8
#define REGION_DC_UNLIMITED 1000000u /* ppm: no duty-cycle limit */
#define REGION_CFLIST_LEN 16
#define REGION_CFLIST_MAX_FREQS 5    /* type 0: channels 3..7 (AS923: 2..6) */
#define REGION_MAX_DEFAULT_CHANNELS 3
#define REGION_DWELL_LIMIT_MS 400    /* RP002-1.0.4 §2.10.3, §2.8.3: AS923, AU915 dwell limit */
#define REGION_CHMASK_WORDS 5        /* type 1: ChMask0..4 (72 channels + RFU) */

enum region_mod {
	REGION_MOD_NONE = 0,  /* RFU / not defined in this region */
	REGION_MOD_LORA,
	REGION_MOD_FSK,
	REGION_MOD_LRFHSS
};

struct region_dr {
	enum region_mod mod;
	uint8_t sf;           /* LoRa */
	uint16_t bw_khz;      /* LoRa bandwidth; LR-FHSS occupied channel width */
	uint8_t lrfhss_cr;    /* LR-FHSS coding rate numerator: 1 = 1/3, 2 = 2/3 */
	uint32_t bitrate;     /* FSK: bit/s; others: indicative bit/s */
	bool uplink;          /* usable for uplinks */
	bool downlink;        /* usable for downlinks */
	uint8_t max_m;        /* max MACPayload (not repeater-compatible; DwellTime 0) */
	uint8_t max_n;        /* max FRMPayload without FOpts */
	uint8_t max_m_dwell;  /* AS923/AU915 DwellTime 1 (400 ms): max MACPayload, 0 = N/A */
	uint8_t max_n_dwell;
	uint8_t max_m_rp002_1_0_0;  /* M for devices of a revision before RP002-1.0.1 where it
				     * differs (AS923 DR2: 59), 0 = max_m; N = M - 8 */
};

/* One contiguous frequency range with one regulatory rule. Bounds are
 * inclusive, in Hz (exclusive bounds of the source are written as +-1 Hz). */
struct region_subband {
	uint32_t min_hz, max_hz;
	uint32_t dc_ppm;            /* duty cycle, REGION_DC_UNLIMITED if none */
	int8_t max_erp_dbm;         /* regulatory limit (ERP for EU868, conducted for US/AU) */
	int8_t dl_power_dbm;        /* default downlink TX power for txpk "powe" */
	char etsi;                  /* ETSI EN 300 220 band letter, '\0' if n/a */
	int8_t lmn_band;            /* LoRaMac-node band index, -1 if n/a */
};

/* Evenly spaced channels: base + step * i, i < count. */
struct region_grid {
	uint32_t base_hz, step_hz;
	uint8_t count;
};

enum region_rx1_freq {
	REGION_RX1_SAME_FREQ = 0,   /* EU868: RX1 on the uplink frequency */
	REGION_RX1_CHANNEL_MOD8     /* US915/AU915: downlink channel = uplink channel % 8 */
};

/* Channel access the regional rules ask of a transmitter besides (or
 * instead of) a duty cycle. lorabridge does not sense the channel itself:
 * the gateway's concentrator must (README "Duty cycle and listen before
 * talk"). */
enum region_lbt {
	REGION_LBT_NONE = 0,        /* EU868 (duty cycle), US915, AU915, IN865 */
	REGION_LBT_REQUIRED,        /* KR920: Korean rules, every transmission */
	REGION_LBT_BY_COUNTRY       /* AS923: required in some countries (Japan) */
};

enum region_cflist {
	REGION_CFLIST_NONE = 0,     /* no CFList in the join-accept */
	REGION_CFLIST_FREQ,         /* type 0: up to 5 extra frequencies */
	REGION_CFLIST_CHMASK        /* type 1: channel mask (RP 1.0.3+ / LoRaWAN 1.0.3+) */
};

struct region {
	const char *name;                     /* "EU868" */
	const char *rp_name;                  /* "EU863-870" */
	uint32_t min_hz, max_hz;              /* band edges (inclusive) */
	struct region_dr dr[REGION_MAX_DR];
	uint8_t n_rx1_offsets;                /* RX1DROffset 0 .. n-1 are valid */
	uint8_t rx1_dr[REGION_MAX_DR][REGION_MAX_RX1_OFFSET]; /* [uplink DR][offset] */
	enum region_rx1_freq rx1_freq;
	struct region_grid up125;             /* CHANNEL_MOD8 regions: channels 0..63 */
	struct region_grid up500;             /*   channels 64..71 */
	struct region_grid down;              /*   downlink channels 0..7 */
	uint32_t rx2_freq_hz;
	uint8_t rx2_dr;
	uint8_t n_default_channels;           /* 3 (EU868, KR920, IN865), 2 (AS923), 0 grid */
	uint32_t default_channels_hz[REGION_MAX_DEFAULT_CHANNELS]; /* join channels */
	enum region_cflist cflist_capable;    /* which CFList type the region defines (what a
					       * join-accept carries: daemon/otaa.c) */
	uint16_t dwell_up125_ms;              /* max dwell on 125 kHz uplinks, 0 = none */
	uint8_t default_max_eirp_dbm;         /* end-device MaxEIRP default */
	enum region_lbt lbt;
	/* AS923, AU915: TxParamSetupReq exists (RP002-1.0.4 §2.10.3, §2.8.3); rx1_dr_dwell is
	 * the RX1 table for DownlinkDwellTime = 1, max_m_dwell the limits. Devices of a
	 * LoRaWAN 1.0.x older than 1.0.<tx_param_setup_since> have neither TxParamSetupReq
	 * nor a dwell limit (AU915: 3, region_device_uplink_dwell()). */
	bool tx_param_setup;
	uint8_t tx_param_setup_since;
	/* DownlinkDwellTime changes this region's downlinks (AS923, §2.10.6, §2.10.7); false
	 * in AU915, whose downlinks are 500 kHz, outside the 125 kHz dwell limit (§2.8.6). */
	bool downlink_dwell_applies;
	uint8_t rx1_dr_dwell[REGION_MAX_DR][REGION_MAX_RX1_OFFSET];
	/* Devices of Regional Parameters 1.0.2revB and 1.0.3revA: RX1 DR at most this
	 * (AS923, IN865: DR5); 0 = as RP002 (region_rx1_rp()). */
	uint8_t rx1_max_dr_rp1;
	/* What region_configure() applied to this copy (false in the tables). */
	bool uplink_dwell, downlink_dwell;
	const struct region_subband *subbands;
	size_t n_subbands;
};

/*
 * The Regional Parameters revision a device was built to, newest first so
 * that a zeroed value is the one the tables hold. The names are those of the
 * LoRa Alliance documents: "RP002-1.0.4" .. "RP002-1.0.0" (RP002, used by
 * LoRaWAN 1.0.4 devices), "1.0.3revA" and "1.0.2revB" (LoRaWAN Regional
 * Parameters v1.0.3revA, v1.0.2revB: LoRaWAN 1.0.3, 1.0.2 devices).
 */
enum region_rp {
	REGION_RP002_1_0_4 = 0,
	REGION_RP002_1_0_3,
	REGION_RP002_1_0_2,
	REGION_RP002_1_0_1,
	REGION_RP002_1_0_0,
	REGION_RP_1_0_3A,
	REGION_RP_1_0_2B,
	REGION_RP_COUNT
};

/* Names by enum region_rp, NULL-terminated (the configuration's values). */
extern const char *const region_rp_names[];

/*
 * The revision a device of LoRaWAN 1.0.<lorawan_minor> is built to when its
 * configuration names none: the latest revision written for that LoRaWAN version
 * (ChirpStack's device profiles offer 1.0.2revB with LoRaWAN 1.0.2 and
 * 1.0.3revA with 1.0.3; The Things Stack asks for it with every device):
 * 1.0.4 -> RP002-1.0.4, 1.0.3 -> 1.0.3revA, 1.0.0 .. 1.0.2 -> 1.0.2revB
 * (the oldest one the tables know; LoRaWAN 1.0.0 and 1.0.1 carried their
 * regional parameters themselves, the same as 1.0.2revB for what the bridge
 * uses). Above 4: RP002-1.0.4.
 */
enum region_rp region_rp_default(unsigned lorawan_minor);

/* By name, case-insensitive: "EU868"/"EU863-870", "US915"/"US902-928",
 * "AU915"/"AU915-928", "AS923-1"/"AS923", "AS923-2", "AS923-3", "AS923-4",
 * "KR920"/"KR920-923", "IN865"/"IN865-867". NULL if unknown. */
const struct region *region_find(const char *name);

/*
 * *out = *base with the AS923 / AU915 dwell-time settings applied (RP002-1.0.4
 * §2.10.6, §2.10.7, §2.8.6; TS001-1.0.4 §5.8): uplink_dwell sets a 400 ms limit on
 * 125 kHz uplinks (dwell_up125_ms); downlink_dwell makes the dwell column the
 * payload limits (a DR with none is no downlink DR any more: DR0, DR1) and
 * rx1_dr_dwell the RX1 table, in a region where it applies
 * (downlink_dwell_applies: AS923); elsewhere (AU915) it changes nothing and
 * out->downlink_dwell stays false. Both false: a plain copy.
 * The copy is the caller's (no pointers into it but the const subbands).
 * Errors: LB_ERR_INVAL (NULL, or a dwell setting for a region without
 * TxParamSetupReq).
 */
int region_configure(const struct region *base, bool uplink_dwell, bool downlink_dwell,
		     struct region *out);

/* The DR entry, or NULL if dr is out of range or RFU in this region. */
const struct region_dr *region_dr_info(const struct region *r, uint8_t dr);

/*
 * DR index of a LoRa modulation in one direction, or LB_ERR_NOT_FOUND.
 * Direction matters: US915 SF8BW500 is DR4 uplink but DR12 downlink.
 * LB_ERR_INVAL if r is NULL.
 */
int region_dr_lora(const struct region *r, uint8_t sf, uint16_t bw_khz, bool uplink);

/* DR index of an FSK bitrate, or LB_ERR_NOT_FOUND (LB_ERR_INVAL if r is
 * NULL). No direction argument: FSK DRs (EU868 DR7) are used both ways in
 * every region that defines one. */
int region_dr_fsk(const struct region *r, uint32_t bitrate);

/* Max MACPayload (M) and FRMPayload (N) of a DR, RP002-1.0.4
 * (region_max_payload_rp()). Either pointer may be NULL.
 * Errors: LB_ERR_INVAL (r NULL), LB_ERR_NOT_FOUND (DR not defined). */
int region_max_payload(const struct region *r, uint8_t dr, uint8_t *m, uint8_t *n);

/*
 * RX1 parameters for an uplink (RP002-1.0.4 "EU863-870 Receive Windows",
 * "US902-928 Receive Windows"), for a device of RP002-1.0.4 (region_rx1_rp()).
 * Errors: LB_ERR_INVAL (NULL), LB_ERR_RANGE (offset not allowed in this
 * region, or uplink frequency outside the band), LB_ERR_NOT_FOUND (uplink
 * DR not an uplink DR, or a US915/AU915 frequency that is not an uplink
 * channel).
 */
int region_rx1(const struct region *r, uint32_t uplink_freq_hz, uint8_t uplink_dr,
	       uint8_t rx1_dr_offset, uint32_t *freq_hz, uint8_t *dr);

/*
 * region_rx1() for a device of Regional Parameters revision rp: the RX1 DR
 * of 1.0.2revB and 1.0.3revA devices is at most rx1_max_dr_rp1 (AS923,
 * IN865: DR5). One table look-up and a comparison. Errors as region_rx1(),
 * and LB_ERR_INVAL for an rp out of range.
 */
int region_rx1_rp(const struct region *r, enum region_rp rp, uint32_t uplink_freq_hz,
		  uint8_t uplink_dr, uint8_t rx1_dr_offset, uint32_t *freq_hz, uint8_t *dr);

/* region_max_payload() for a device of revision rp: before RP002-1.0.1 the
 * DR's max_m_rp002_1_0_0 where set (AS923 DR2, DwellTime 0: M 59, N 51).
 * Errors as region_max_payload(), and LB_ERR_INVAL for an rp out of range. */
int region_max_payload_rp(const struct region *r, enum region_rp rp, uint8_t dr, uint8_t *m,
			  uint8_t *n);

/* RX2 default frequency and DR. Errors: LB_ERR_INVAL (NULL). */
int region_rx2(const struct region *r, uint32_t *freq_hz, uint8_t *dr);

/*
 * Uplink channel index of a frequency for grid regions (US915/AU915:
 * 0..63 for 125 kHz, 64..71 for 500 kHz), LB_ERR_NOT_FOUND if it is not an
 * uplink channel or the region has no fixed grid.
 */
int region_uplink_channel(const struct region *r, uint32_t freq_hz);

/*
 * Sub-band of a frequency: returns its index in r->subbands (>= 0) and sets
 * *sb if sb is not NULL; LB_ERR_NOT_FOUND for a frequency in no sub-band
 * (EU868: the gaps 868.6-868.7 and 869.2-869.4 MHz, or outside the band);
 * LB_ERR_INVAL if r is NULL.
 */
int region_subband(const struct region *r, uint32_t freq_hz, const struct region_subband **sb);

/* Default downlink TX power (dBm, txpk "powe") on a frequency.
 * Errors as region_subband(). */
int region_tx_power(const struct region *r, uint32_t freq_hz, int *dbm);

/*
 * Off-time after a transmission of toa_us in a sub-band with duty cycle
 * dc_ppm: Toff = ToA / DC - ToA (the off-time that keeps the
 * frame within the sub-band's duty cycle), rounded up.
 * 0 for REGION_DC_UNLIMITED; UINT64_MAX for dc_ppm 0 (never allowed).
 */
uint64_t region_dc_off_us(uint32_t dc_ppm, uint64_t toa_us);

/* Max dwell time in ms of one transmission, 0 = no limit (US915: 400 ms on
 * the 125 kHz uplink channels, none on 500 kHz or downlinks). */
uint32_t region_max_dwell_ms(const struct region *r, uint16_t bw_khz, bool uplink);

/*
 * Whether a device of LoRaWAN 1.0.<lorawan_minor> keeps the uplink dwell
 * time this copy was configured with (region_configure()'s uplink_dwell).
 * AS923: every device (RP002-1.0.4 §2.10.3). AU915: devices of 1.0.3 and
 * later (Regional Parameters 1.0.3revA, RP002-1.0.4 §2.8.2, §2.8.3); the
 * AU915 of LoRaWAN 1.0.0 .. 1.0.2 (Regional Parameters 1.0.2revB) has no
 * TxParamSetupReq and no dwell limit, the same split as the CFList type 1
 * (join_cflist_chmask()). false for NULL and without uplink_dwell.
 */
bool region_device_uplink_dwell(const struct region *r, unsigned lorawan_minor);

/* region_max_dwell_ms(r, bw_khz, true) for an uplink of a device of LoRaWAN
 * 1.0.<lorawan_minor>: 0 (no limit) where the limit is the configured
 * UplinkDwellTime and region_device_uplink_dwell() says the device has none.
 * US915's fixed 400 ms applies to every device. */
uint32_t region_device_up_dwell_ms(const struct region *r, uint16_t bw_khz,
				   unsigned lorawan_minor);

/*
 * Join-accept CFList type 0 (frequency list, TS001-1.0.4 §6.2.6, RP002-1.0.4
 * §2.3.1; §2.4.4 EU868, §2.10.4 AS923, §2.11.4 KR920, §2.12.4 IN865):
 *
 *   | Freq Ch3 | Freq Ch4 | Freq Ch5 | Freq Ch6 | Freq Ch7 | CFListType |
 *   |    3     |    3     |    3     |    3     |    3     |   1 (= 0)  |
 *
 * each frequency 24-bit little-endian in units of 100 Hz, 0 = unused. The
 * first field is the channel after the defaults: Ch3 (EU868, KR920, IN865),
 * Ch2 (AS923, two default channels); the encoding is the same.
 * `n` is 0..5; frequencies must be multiples of 100 Hz inside the band.
 * Errors: LB_ERR_INVAL (NULL, region without type 0, n > 5),
 * LB_ERR_RANGE (a frequency outside the band or not a 100 Hz multiple).
 */
int region_cflist_freq(const struct region *r, const uint32_t *freq_hz, size_t n,
		       uint8_t out[REGION_CFLIST_LEN]);

/*
 * Join-accept CFList type 1 (channel mask, RP002-1.0.4 §2.3.2):
 *
 *   | ChMask0 | ChMask1 | ChMask2 | ChMask3 | ChMask4 | RFU | CFListType |
 *   |    2    |    2    |    2    |    2    |    2    |  5  |   1 (= 1)  |
 *
 * ChMask0 bit 0 = channel 0 ... ChMask4 bits 0..7 = channels 64..71, each
 * 16-bit little-endian. Only for US915/AU915 devices of LoRaWAN >= 1.0.3;
 * 1.0.2 devices get no CFList. Errors: LB_ERR_INVAL (NULL, region without
 * type 1), LB_ERR_RANGE (ChMask4 bits 8..15, which are RFU, set).
 */
int region_cflist_chmask(const struct region *r, const uint16_t mask[REGION_CHMASK_WORDS],
			 uint8_t out[REGION_CFLIST_LEN]);

/* The table of every supported region (for --print-config, tests). */
const struct region *const *region_all(size_t *n);

#endif
