/* SPDX-License-Identifier: MIT */
/*
 * region_tables.c - the const regional parameter tables behind region.h.
 *
 * Sources (LoRaWAN Regional Parameters RP002-1.0.4, EU863-870 and US902-928
 * chapters, checked against the implementations named):
 *  EU868  DR table and M/N (not repeater-compatible column, = chirpstack
 *         eu868.rs / LoRaMac-node MaxPayloadOfDatarateEU868), RX1 table
 *         ("EU863-870 Receive Windows"; + LR-FHSS rows DR8..11 from
 *         chirpstack eu868.rs), RX2 869.525 MHz DR0, sub-bands of ETSI EN
 *         300 220-2 V3.2.1 with the LoRaMac-node VerifyRfFreq boundaries.
 *  US915  DR table, M/N not repeater-compatible column (uplink from
 *         lorawan-stack, downlink from chirpstack us915.rs), RX1 table
 *         ("US902-928 Receive Windows")
 *         (+ LR-FHSS rows DR5/6 from chirpstack us915.rs), RX2 923.3 MHz DR8.
 *  AU915  brocaar/lorawan band/band_au915_928.go:
 *         DR0..6 uplink (SF12..SF7 BW125, SF8 BW500), DR8..13 as US915,
 *         RX1 offsets 0..5, RX2 923.3 MHz DR8; DR7 LR-FHSS, its RX1 row,
 *         TxParamSetupReq and the UplinkDwellTime column from RP002-1.0.4
 *         §2.8.2, §2.8.3, §2.8.6, §2.8.7 (= lorawan-stack
 *         au_915_928_rp2_v1_0_4.go, chirpstack au915.rs).
 *  AS923, KR920, IN865: RP002-1.0.4 §2.10, §2.11, §2.12, section by section
 *         at each table below. Table numbers are those of RP002-1.0.5
 *         (same tables, chapter 3 there) where given as "1.0.5 Table n".
 *
 * Default downlink TX power (txpk "powe", dBm, what the gateway's tx_lut is
 * indexed with): EU868 14 dBm (the 25 mW ERP limit) on 863-869.2 MHz and
 * 869.7-870 MHz, 27 dBm (500 mW ERP) on 869.4-869.65 MHz - ChirpStack v4
 * sends the EIRP equivalents 16/29 dBm; we send the ERP values the limits
 * are written in, which every Semtech reference tx_lut contains. US915 and
 * AU915: 20 dBm, ChirpStack v3 / brocaar/lorawan DefaultTXPower (ChirpStack
 * v4 uses 21 dBm EIRP).
 *
 * RX1 tables: rows of DRs that are not uplink DRs and columns at or beyond
 * n_rx1_offsets are never read (region_rx1 checks both first).
 */
#include "lorawan/region.h"

/* N = M - 8 in every table of the RP (FHDR without FOpts + FPort). */
#define LORA(sf_, bw_, bps_, up_, down_, m_)                                          \
	{ .mod = REGION_MOD_LORA, .sf = (sf_), .bw_khz = (bw_), .bitrate = (bps_),     \
	  .uplink = (up_), .downlink = (down_), .max_m = (m_), .max_n = (m_) - 8 }
#define FSK(bps_, m_)                                                                  \
	{ .mod = REGION_MOD_FSK, .bitrate = (bps_), .uplink = true, .downlink = true,  \
	  .max_m = (m_), .max_n = (m_) - 8 }
#define LRFHSS(ocw_, cr_, bps_, m_)                                                    \
	{ .mod = REGION_MOD_LRFHSS, .bw_khz = (ocw_), .lrfhss_cr = (cr_), .bitrate = (bps_), \
	  .uplink = true, .downlink = false, .max_m = (m_), .max_n = (m_) - 8 }

#define UP true
#define DOWN true
#define NO false

/* ---- EU863-870 ---------------------------------------------------------- */

/*
 *  863.0      865.0            868.0  868.6 868.7  869.2 869.4 869.65 869.7  870.0
 *    |  K 0.1% |     L 1%        | M 1% |     | N 0.1% |     | P 10% |     | Q 1% |
 *    [        )[                 ](     ]     [        ]     [       ]     [      ]
 */
static const struct region_subband eu868_subbands[] = {
	{ .min_hz = 863000000, .max_hz = 864999999, .dc_ppm = 1000, .max_erp_dbm = 14,
	  .dl_power_dbm = 14, .etsi = 'K', .lmn_band = 2 },
	{ .min_hz = 865000000, .max_hz = 868000000, .dc_ppm = 10000, .max_erp_dbm = 14,
	  .dl_power_dbm = 14, .etsi = 'L', .lmn_band = 0 },
	{ .min_hz = 868000001, .max_hz = 868600000, .dc_ppm = 10000, .max_erp_dbm = 14,
	  .dl_power_dbm = 14, .etsi = 'M', .lmn_band = 1 },
	{ .min_hz = 868700000, .max_hz = 869200000, .dc_ppm = 1000, .max_erp_dbm = 14,
	  .dl_power_dbm = 14, .etsi = 'N', .lmn_band = 5 },
	{ .min_hz = 869400000, .max_hz = 869650000, .dc_ppm = 100000, .max_erp_dbm = 27,
	  .dl_power_dbm = 27, .etsi = 'P', .lmn_band = 3 },
	{ .min_hz = 869700000, .max_hz = 870000000, .dc_ppm = 10000, .max_erp_dbm = 14,
	  .dl_power_dbm = 14, .etsi = 'Q', .lmn_band = 4 },
};

static const struct region region_eu868 = {
	.name = "EU868",
	.rp_name = "EU863-870",
	.min_hz = 863000000,
	.max_hz = 870000000,
	.dr = {
		[0] = LORA(12, 125, 250, UP, DOWN, 59),
		[1] = LORA(11, 125, 440, UP, DOWN, 59),
		[2] = LORA(10, 125, 980, UP, DOWN, 59),
		[3] = LORA(9, 125, 1760, UP, DOWN, 123),
		[4] = LORA(8, 125, 3125, UP, DOWN, 250),
		[5] = LORA(7, 125, 5470, UP, DOWN, 250),
		[6] = LORA(7, 250, 11000, UP, DOWN, 250),
		[7] = FSK(50000, 250),
		[8] = LRFHSS(137, 1, 162, 58),
		[9] = LRFHSS(137, 2, 325, 123),
		[10] = LRFHSS(336, 1, 162, 58),
		[11] = LRFHSS(336, 2, 325, 123),
	},
	.n_rx1_offsets = 6,
	.rx1_dr = {
		[0] = { 0, 0, 0, 0, 0, 0 },
		[1] = { 1, 0, 0, 0, 0, 0 },
		[2] = { 2, 1, 0, 0, 0, 0 },
		[3] = { 3, 2, 1, 0, 0, 0 },
		[4] = { 4, 3, 2, 1, 0, 0 },
		[5] = { 5, 4, 3, 2, 1, 0 },
		[6] = { 6, 5, 4, 3, 2, 1 },
		[7] = { 7, 6, 5, 4, 3, 2 },
		[8] = { 1, 0, 0, 0, 0, 0 },
		[9] = { 2, 1, 0, 0, 0, 0 },
		[10] = { 1, 0, 0, 0, 0, 0 },
		[11] = { 2, 1, 0, 0, 0, 0 },
	},
	.rx1_freq = REGION_RX1_SAME_FREQ,
	.rx2_freq_hz = 869525000,
	.rx2_dr = 0,
	.n_default_channels = 3,
	.default_channels_hz = { 868100000, 868300000, 868500000 },
	.cflist_capable = REGION_CFLIST_FREQ,
	.dwell_up125_ms = 0,
	.default_max_eirp_dbm = 16,
	.subbands = eu868_subbands,
	.n_subbands = sizeof(eu868_subbands) / sizeof(eu868_subbands[0]),
};

/* ---- US902-928 ---------------------------------------------------------- */

static const struct region_subband us915_subbands[] = {
	{ .min_hz = 902000000, .max_hz = 928000000, .dc_ppm = REGION_DC_UNLIMITED,
	  .max_erp_dbm = 30, .dl_power_dbm = 20, .etsi = '\0', .lmn_band = -1 },
};

static const struct region region_us915 = {
	.name = "US915",
	.rp_name = "US902-928",
	.min_hz = 902000000,
	.max_hz = 928000000,
	.dr = {
		[0] = LORA(10, 125, 980, UP, NO, 19),
		[1] = LORA(9, 125, 1760, UP, NO, 61),
		[2] = LORA(8, 125, 3125, UP, NO, 133),
		[3] = LORA(7, 125, 5470, UP, NO, 250),
		[4] = LORA(8, 500, 12500, UP, NO, 250),
		[5] = LRFHSS(1523, 1, 162, 58),
		[6] = LRFHSS(1523, 2, 325, 133),
		[8] = LORA(12, 500, 980, NO, DOWN, 61),
		[9] = LORA(11, 500, 1760, NO, DOWN, 137),
		[10] = LORA(10, 500, 3900, NO, DOWN, 250),
		[11] = LORA(9, 500, 7000, NO, DOWN, 250),
		[12] = LORA(8, 500, 12500, NO, DOWN, 250),
		[13] = LORA(7, 500, 21900, NO, DOWN, 250),
	},
	.n_rx1_offsets = 4,
	.rx1_dr = {
		[0] = { 10, 9, 8, 8 },
		[1] = { 11, 10, 9, 8 },
		[2] = { 12, 11, 10, 9 },
		[3] = { 13, 12, 11, 10 },
		[4] = { 13, 13, 12, 11 },
		[5] = { 10, 9, 8, 8 },
		[6] = { 11, 10, 9, 8 },
	},
	.rx1_freq = REGION_RX1_CHANNEL_MOD8,
	.up125 = { .base_hz = 902300000, .step_hz = 200000, .count = 64 },
	.up500 = { .base_hz = 903000000, .step_hz = 1600000, .count = 8 },
	.down = { .base_hz = 923300000, .step_hz = 600000, .count = 8 },
	.rx2_freq_hz = 923300000,
	.rx2_dr = 8,
	.cflist_capable = REGION_CFLIST_CHMASK,  /* LoRaWAN 1.0.3+ devices only (daemon/otaa.c) */
	.dwell_up125_ms = 400,
	.default_max_eirp_dbm = 30,
	.subbands = us915_subbands,
	.n_subbands = sizeof(us915_subbands) / sizeof(us915_subbands[0]),
};

/* ---- AU915-928 ---------------------------------------------------------- */

static const struct region_subband au915_subbands[] = {
	{ .min_hz = 915000000, .max_hz = 928000000, .dc_ppm = REGION_DC_UNLIMITED,
	  .max_erp_dbm = 30, .dl_power_dbm = 20, .etsi = '\0', .lmn_band = -1 },
};

/*
 * RP002-1.0.4 §2.8.3: AU915 end-devices implement TxParamSetupReq; they
 * start with UplinkDwellTime = 1 (§2.8.2: join-requests at DR2, within
 * 400 ms until TxParamSetupReq says otherwise). §2.8.6 maximum payload size
 * (not repeater-compatible), M with UplinkDwellTime = 0 / 1:
 *
 *   DR0 59 / N/A, DR1 59 / N/A, DR2 59 / 19, DR3 123 / 61, DR4 250 / 133,
 *   DR5 250 / 250, DR6 250 / 250, DR7 58 / 58, DR8..13 (500 kHz downlinks)
 *   61, 137, 250, 250, 250, 250 both ways.
 *
 * The downlinks are 500 kHz, outside the 125 kHz dwell limit: the
 * DownlinkDwellTime column and RX1 table (§2.8.7) are the plain ones.
 */
#define AU915_UP(sf_, bw_, bps_, m_, md_)                                              \
	{ .mod = REGION_MOD_LORA, .sf = (sf_), .bw_khz = (bw_), .bitrate = (bps_),     \
	  .uplink = true, .downlink = false, .max_m = (m_), .max_n = (m_) - 8,           \
	  .max_m_dwell = (md_), .max_n_dwell = (md_) ? (md_) - 8 : 0 }
#define AU915_DOWN(sf_, bps_, m_)                                                      \
	{ .mod = REGION_MOD_LORA, .sf = (sf_), .bw_khz = 500, .bitrate = (bps_),       \
	  .uplink = false, .downlink = true, .max_m = (m_), .max_n = (m_) - 8,           \
	  .max_m_dwell = (m_), .max_n_dwell = (m_) - 8 }
#define AU915_RX1                                                                      \
	{                                                                              \
		[0] = { 8, 8, 8, 8, 8, 8 },                                            \
		[1] = { 9, 8, 8, 8, 8, 8 },                                            \
		[2] = { 10, 9, 8, 8, 8, 8 },                                           \
		[3] = { 11, 10, 9, 8, 8, 8 },                                          \
		[4] = { 12, 11, 10, 9, 8, 8 },                                         \
		[5] = { 13, 12, 11, 10, 9, 8 },                                        \
		[6] = { 13, 13, 12, 11, 10, 9 },                                       \
		[7] = { 9, 8, 8, 8, 8, 8 },   /* LR-FHSS DR7 */                        \
	}

static const struct region region_au915 = {
	.name = "AU915",
	.rp_name = "AU915-928",
	.min_hz = 915000000,
	.max_hz = 928000000,
	.dr = {
		[0] = AU915_UP(12, 125, 250, 59, 0),
		[1] = AU915_UP(11, 125, 440, 59, 0),
		[2] = AU915_UP(10, 125, 980, 59, 19),
		[3] = AU915_UP(9, 125, 1760, 123, 61),
		[4] = AU915_UP(8, 125, 3125, 250, 133),
		[5] = AU915_UP(7, 125, 5470, 250, 250),
		[6] = AU915_UP(8, 500, 12500, 250, 250),
		/* RP002-1.0.4 §2.8.3: DR7 LR-FHSS CR1/3, 1.523 MHz OCW; §2.8.6 M 58 */
		[7] = { .mod = REGION_MOD_LRFHSS, .bw_khz = 1523, .lrfhss_cr = 1, .bitrate = 162,
			.uplink = true, .max_m = 58, .max_n = 50, .max_m_dwell = 58,
			.max_n_dwell = 50 },
		[8] = AU915_DOWN(12, 980, 61),
		[9] = AU915_DOWN(11, 1760, 137),
		[10] = AU915_DOWN(10, 3900, 250),
		[11] = AU915_DOWN(9, 7000, 250),
		[12] = AU915_DOWN(8, 12500, 250),
		[13] = AU915_DOWN(7, 21900, 250),
	},
	.n_rx1_offsets = 6,
	.rx1_dr = AU915_RX1,
	.rx1_dr_dwell = AU915_RX1,
	.rx1_freq = REGION_RX1_CHANNEL_MOD8,
	.up125 = { .base_hz = 915200000, .step_hz = 200000, .count = 64 },
	.up500 = { .base_hz = 915900000, .step_hz = 1600000, .count = 8 },
	.down = { .base_hz = 923300000, .step_hz = 600000, .count = 8 },
	.rx2_freq_hz = 923300000,
	.rx2_dr = 8,
	.cflist_capable = REGION_CFLIST_CHMASK,  /* LoRaWAN 1.0.3+ devices only (daemon/otaa.c) */
	.dwell_up125_ms = 0,                     /* region_configure(): 400 with UplinkDwellTime */
	.default_max_eirp_dbm = 30,
	.tx_param_setup = true,
	.tx_param_setup_since = 3,               /* 1.0.0-1.0.2: RP 1.0.2revB, no dwell limit */
	.downlink_dwell_applies = false,         /* 500 kHz downlinks (§2.8.6) */
	.subbands = au915_subbands,
	.n_subbands = sizeof(au915_subbands) / sizeof(au915_subbands[0]),
};

/* LoRa DR with the AS923 dwell column (RP002-1.0.4 §2.10.6): md_ = M with
 * DwellTime = 1, 0 for "N/A" (N = 0 then too). */
#define LORA_DW(sf_, bw_, bps_, m_, md_)                                               \
	{ .mod = REGION_MOD_LORA, .sf = (sf_), .bw_khz = (bw_), .bitrate = (bps_),     \
	  .uplink = true, .downlink = true, .max_m = (m_), .max_n = (m_) - 8,            \
	  .max_m_dwell = (md_), .max_n_dwell = (md_) ? (md_) - 8 : 0 }
/* The same with M for devices of a revision before RP002-1.0.1 (old_). */
#define LORA_DW_OLD(sf_, bw_, bps_, m_, md_, old_)                                     \
	{ .mod = REGION_MOD_LORA, .sf = (sf_), .bw_khz = (bw_), .bitrate = (bps_),     \
	  .uplink = true, .downlink = true, .max_m = (m_), .max_n = (m_) - 8,            \
	  .max_m_dwell = (md_), .max_n_dwell = (md_) - 8, .max_m_rp002_1_0_0 = (old_) }
#define FSK_DW(bps_, m_, md_)                                                          \
	{ .mod = REGION_MOD_FSK, .bitrate = (bps_), .uplink = true, .downlink = true,  \
	  .max_m = (m_), .max_n = (m_) - 8, .max_m_dwell = (md_), .max_n_dwell = (md_) - 8 }

/* ---- AS923 (groups AS923-1 .. AS923-4) ------------------------------------ */

/*
 * RP002-1.0.4 §2.10.3 data rates (DR0..5 LoRa SF12..SF7 / 125 kHz, DR6 SF7 /
 * 250 kHz, DR7 FSK 50 kbit/s, DR8..15 RFU) with §2.10.6 maximum payload size,
 * not repeater-compatible (1.0.5 Table 73):
 *
 *   DR | DwellTime = 0 M/N | DwellTime = 1 M/N
 *   0  |  59 / 51          |  N/A
 *   1  |  59 / 51          |  N/A
 *   2  | 123 / 115         |  19 / 11
 *   3  | 123 / 115         |  61 / 53
 *   4  | 250 / 242         | 133 / 125
 *   5  | 250 / 242         | 250 / 242
 *   6  | 250 / 242         | 250 / 242
 *   7  | 250 / 242         | 250 / 242
 *
 * DR2 with DwellTime = 0 was M 59 / N 51 before RP002-1.0.1 (LoRaWAN Regional
 * Parameters V1.0 §2.7.6, v1.0.2revB, v1.0.3revA §2.8.6, RP002-1.0.0 §2.10.6;
 * ChirpStack, The Things Stack and LoRaMac-node keep both):
 * region_max_payload_rp().
 */
#define AS923_DRS                                                                      \
	{                                                                              \
		[0] = LORA_DW(12, 125, 250, 59, 0),                                    \
		[1] = LORA_DW(11, 125, 440, 59, 0),                                    \
		[2] = LORA_DW_OLD(10, 125, 980, 123, 19, 59),                          \
		[3] = LORA_DW(9, 125, 1760, 123, 61),                                  \
		[4] = LORA_DW(8, 125, 3125, 250, 133),                                 \
		[5] = LORA_DW(7, 125, 5470, 250, 250),                                 \
		[6] = LORA_DW(7, 250, 11000, 250, 250),                                \
		[7] = FSK_DW(50000, 250, 250),                                         \
	}

/*
 * RP002-1.0.4 §2.10.7 AS923 Receive Windows: RX1 on the uplink channel,
 * RX1DROffset 0..7 (6 and 7 raise the DR: effective offsets 0,1,2,3,4,5,-1,-2),
 * result within DR0..DR7 with DownlinkDwellTime = 0 (1.0.5 Table 74) and
 * within DR2..DR7 with DownlinkDwellTime = 1 (1.0.5 Table 75).
 * LoRaWAN Regional Parameters V1.0 §2.7.7, v1.0.2revB and v1.0.3revA §2.8.7 give
 * the same offsets with the result at most DR5: MIN(5, MAX(MinDR, DR -
 * Effective_RX1DROffset)) (rx1_max_dr_rp1, region_rx1_rp()).
 */
#define AS923_RX1_DWELL0                                                               \
	{                                                                              \
		[0] = { 0, 0, 0, 0, 0, 0, 1, 2 },                                      \
		[1] = { 1, 0, 0, 0, 0, 0, 2, 3 },                                      \
		[2] = { 2, 1, 0, 0, 0, 0, 3, 4 },                                      \
		[3] = { 3, 2, 1, 0, 0, 0, 4, 5 },                                      \
		[4] = { 4, 3, 2, 1, 0, 0, 5, 6 },                                      \
		[5] = { 5, 4, 3, 2, 1, 0, 6, 7 },                                      \
		[6] = { 6, 5, 4, 3, 2, 1, 7, 7 },                                      \
		[7] = { 7, 6, 5, 4, 3, 2, 7, 7 },                                      \
	}
#define AS923_RX1_DWELL1                                                               \
	{                                                                              \
		[0] = { 2, 2, 2, 2, 2, 2, 2, 2 },                                      \
		[1] = { 2, 2, 2, 2, 2, 2, 2, 3 },                                      \
		[2] = { 2, 2, 2, 2, 2, 2, 3, 4 },                                      \
		[3] = { 3, 2, 2, 2, 2, 2, 4, 5 },                                      \
		[4] = { 4, 3, 2, 2, 2, 2, 5, 6 },                                      \
		[5] = { 5, 4, 3, 2, 2, 2, 6, 7 },                                      \
		[6] = { 6, 5, 4, 3, 2, 2, 7, 7 },                                      \
		[7] = { 7, 6, 5, 4, 3, 2, 7, 7 },                                      \
	}

/*
 * RP002-1.0.4 §2.10.2: every AS923-1 frequency (the two default channels
 * 923.2 and 923.4 MHz, §2.10.2; RX2 923.2 MHz DR2, §2.10.7) is shifted by the
 * group's AS923_FREQ_OFFSET: AS923-1 0, AS923-2 -1.8 MHz, AS923-3 -6.6 MHz,
 * AS923-4 -5.9 MHz. The group's band (§2.10.2 group definitions): AS923-1
 * 915-928 MHz, AS923-2 920-923 MHz, AS923-3 915-921 MHz, AS923-4 917-920 MHz.
 *
 * No duty cycle in RP002 (country rules; the gateway applies them), and LBT
 * where the country asks for it (Japan: ARIB STD-T108). Downlink power 16 dBm
 * = the §2.10.3 default MaxEIRP (ChirpStack's AS923 downlink power too);
 * RP002 sets no gateway power.
 */
#define AS923_DL_POWER_DBM 16
#define AS923_CH0_HZ 923200000
#define AS923_CH1_HZ 923400000

#define AS923_SUBBANDS(lo_, hi_)                                                       \
	{                                                                              \
		{ .min_hz = (lo_), .max_hz = (hi_), .dc_ppm = REGION_DC_UNLIMITED,     \
		  .max_erp_dbm = AS923_DL_POWER_DBM, .dl_power_dbm = AS923_DL_POWER_DBM, \
		  .etsi = '\0', .lmn_band = -1 },                                        \
	}

#define AS923_REGION(name_, alias_, off_, lo_, hi_, sb_)                               \
	{                                                                              \
		.name = (name_), .rp_name = (alias_), .min_hz = (lo_), .max_hz = (hi_),        \
		.dr = AS923_DRS, .n_rx1_offsets = 8, .rx1_dr = AS923_RX1_DWELL0,       \
		.rx1_dr_dwell = AS923_RX1_DWELL1, .rx1_freq = REGION_RX1_SAME_FREQ,    \
		.rx2_freq_hz = AS923_CH0_HZ + (off_), .rx2_dr = 2,                     \
		.n_default_channels = 2,                                               \
		.default_channels_hz = { AS923_CH0_HZ + (off_), AS923_CH1_HZ + (off_) },     \
		.cflist_capable = REGION_CFLIST_FREQ,                                  \
		.dwell_up125_ms = 0, .default_max_eirp_dbm = 16,                       \
		.lbt = REGION_LBT_BY_COUNTRY, .tx_param_setup = true,                  \
		.rx1_max_dr_rp1 = 5,                                                   \
		.downlink_dwell_applies = true,                                        \
		.subbands = (sb_), .n_subbands = 1,                                    \
	}

static const struct region_subband as923_1_subbands[] = AS923_SUBBANDS(915000000, 928000000);
static const struct region_subband as923_2_subbands[] = AS923_SUBBANDS(920000000, 923000000);
static const struct region_subband as923_3_subbands[] = AS923_SUBBANDS(915000000, 921000000);
static const struct region_subband as923_4_subbands[] = AS923_SUBBANDS(917000000, 920000000);

static const struct region region_as923_1 =
	AS923_REGION("AS923-1", "AS923", 0, 915000000, 928000000, as923_1_subbands);
static const struct region region_as923_2 =
	AS923_REGION("AS923-2", "AS923-2", -1800000, 920000000, 923000000, as923_2_subbands);
static const struct region region_as923_3 =
	AS923_REGION("AS923-3", "AS923-3", -6600000, 915000000, 921000000, as923_3_subbands);
static const struct region region_as923_4 =
	AS923_REGION("AS923-4", "AS923-4", -5900000, 917000000, 920000000, as923_4_subbands);

/* ---- KR920-923 ------------------------------------------------------------ */

/*
 * RP002-1.0.4 §2.11: channels 920.9..923.3 MHz on a 200 kHz raster (§2.11.2);
 * no duty cycle but listen before talk on every transmission (Korean rules,
 * done by the gateway). Downlink power 23 dBm: ChirpStack's KR920 downlink
 * power (RP002 sets none for gateways; §2.11.3's 14 dBm MaxEIRP and the
 * 10 dBm cap below 922 MHz are end-device limits).
 */
static const struct region_subband kr920_subbands[] = {
	{ .min_hz = 920900000, .max_hz = 923300000, .dc_ppm = REGION_DC_UNLIMITED,
	  .max_erp_dbm = 23, .dl_power_dbm = 23, .etsi = '\0', .lmn_band = -1 },
};

static const struct region region_kr920 = {
	.name = "KR920",
	.rp_name = "KR920-923",
	.min_hz = 920900000,
	.max_hz = 923300000,
	/* §2.11.3 DR0..5 = SF12..SF7 / 125 kHz, DR6..15 RFU; §2.11.6 M (not
	 * repeater-compatible): DR0..2 59, DR3 123, DR4..5 250. */
	.dr = {
		[0] = LORA(12, 125, 250, UP, DOWN, 59),
		[1] = LORA(11, 125, 440, UP, DOWN, 59),
		[2] = LORA(10, 125, 980, UP, DOWN, 59),
		[3] = LORA(9, 125, 1760, UP, DOWN, 123),
		[4] = LORA(8, 125, 3125, UP, DOWN, 250),
		[5] = LORA(7, 125, 5470, UP, DOWN, 250),
	},
	/* §2.11.7: RX1 on the uplink channel, RX1DROffset 0..5 (6, 7 RFU). */
	.n_rx1_offsets = 6,
	.rx1_dr = {
		[0] = { 0, 0, 0, 0, 0, 0 },
		[1] = { 1, 0, 0, 0, 0, 0 },
		[2] = { 2, 1, 0, 0, 0, 0 },
		[3] = { 3, 2, 1, 0, 0, 0 },
		[4] = { 4, 3, 2, 1, 0, 0 },
		[5] = { 5, 4, 3, 2, 1, 0 },
	},
	.rx1_freq = REGION_RX1_SAME_FREQ,
	.rx2_freq_hz = 921900000,  /* §2.11.7: RX2 921.9 MHz, DR0 */
	.rx2_dr = 0,
	.n_default_channels = 3,   /* §2.11.2 */
	.default_channels_hz = { 922100000, 922300000, 922500000 },
	.cflist_capable = REGION_CFLIST_FREQ,  /* §2.11.4: type 0, channels 3..7 */
	.dwell_up125_ms = 0,
	.default_max_eirp_dbm = 14,    /* §2.11.3 */
	.lbt = REGION_LBT_REQUIRED,
	.subbands = kr920_subbands,
	.n_subbands = sizeof(kr920_subbands) / sizeof(kr920_subbands[0]),
};

/* ---- IN865-867 ------------------------------------------------------------ */

/*
 * RP002-1.0.4 §2.12: 865..867 MHz, no duty cycle and no LBT. Downlink power
 * 30 dBm = the §2.12.3 default MaxEIRP (ChirpStack's IN865 downlink power).
 */
static const struct region_subband in865_subbands[] = {
	{ .min_hz = 865000000, .max_hz = 867000000, .dc_ppm = REGION_DC_UNLIMITED,
	  .max_erp_dbm = 30, .dl_power_dbm = 30, .etsi = '\0', .lmn_band = -1 },
};

static const struct region region_in865 = {
	.name = "IN865",
	.rp_name = "IN865-867",
	.min_hz = 865000000,
	.max_hz = 867000000,
	/* §2.12.3 DR0..5 = SF12..SF7 / 125 kHz, DR6 RFU, DR7 FSK 50 kbit/s;
	 * §2.12.6 M (not repeater-compatible): DR0..2 59, DR3 123, DR4, 5, 7 250. */
	.dr = {
		[0] = LORA(12, 125, 250, UP, DOWN, 59),
		[1] = LORA(11, 125, 440, UP, DOWN, 59),
		[2] = LORA(10, 125, 980, UP, DOWN, 59),
		[3] = LORA(9, 125, 1760, UP, DOWN, 123),
		[4] = LORA(8, 125, 3125, UP, DOWN, 250),
		[5] = LORA(7, 125, 5470, UP, DOWN, 250),
		[7] = FSK(50000, 250),
	},
	/*
	 * §2.12.7: RX1 on the uplink channel, RX1DROffset 0..7 (effective
	 * 0,1,2,3,4,5,-1,-2); DR6 is RFU, so a result of DR6 is DR5 (DR4 +7,
	 * DR5 +6, DR7 -1) and DR5 +7 reaches DR7. Devices of 1.0.2revB and 1.0.3revA
	 * (LoRaWAN Regional Parameters v1.0.3revA §2.10.7): the same offsets, the
	 * result at most DR5 (so an FSK DR7 uplink gets its RX1 at DR5).
	 */
	.n_rx1_offsets = 8,
	.rx1_dr = {
		[0] = { 0, 0, 0, 0, 0, 0, 1, 2 },
		[1] = { 1, 0, 0, 0, 0, 0, 2, 3 },
		[2] = { 2, 1, 0, 0, 0, 0, 3, 4 },
		[3] = { 3, 2, 1, 0, 0, 0, 4, 5 },
		[4] = { 4, 3, 2, 1, 0, 0, 5, 5 },
		[5] = { 5, 4, 3, 2, 1, 0, 5, 7 },
		[7] = { 7, 5, 5, 4, 3, 2, 7, 7 },
	},
	.rx1_freq = REGION_RX1_SAME_FREQ,
	.rx2_freq_hz = 866550000,  /* §2.12.7: RX2 866.55 MHz, DR2 */
	.rx2_dr = 2,
	.n_default_channels = 3,   /* §2.12.2 */
	.default_channels_hz = { 865062500, 865402500, 865985000 },
	.cflist_capable = REGION_CFLIST_FREQ,  /* §2.12.4: type 0, channels 3..7 */
	.dwell_up125_ms = 0,
	.default_max_eirp_dbm = 30,    /* §2.12.3 */
	.lbt = REGION_LBT_NONE,
	.rx1_max_dr_rp1 = 5,
	.subbands = in865_subbands,
	.n_subbands = sizeof(in865_subbands) / sizeof(in865_subbands[0]),
};

const struct region *const region__table[] = {
	&region_eu868, &region_us915, &region_au915, &region_as923_1, &region_as923_2,
	&region_as923_3, &region_as923_4, &region_kr920, &region_in865,
};
const size_t region__count = sizeof(region__table) / sizeof(region__table[0]);
