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
 *         RX1 offsets 0..5, RX2 923.3 MHz DR8, no dwell limit by default.
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
	.default_channels_hz = { 868100000, 868300000, 868500000 },
	.cflist = REGION_CFLIST_FREQ,
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
	.cflist = REGION_CFLIST_NONE,
	.cflist_capable = REGION_CFLIST_CHMASK,
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

static const struct region region_au915 = {
	.name = "AU915",
	.rp_name = "AU915-928",
	.min_hz = 915000000,
	.max_hz = 928000000,
	.dr = {
		[0] = LORA(12, 125, 250, UP, NO, 59),
		[1] = LORA(11, 125, 440, UP, NO, 59),
		[2] = LORA(10, 125, 980, UP, NO, 59),
		[3] = LORA(9, 125, 1760, UP, NO, 123),
		[4] = LORA(8, 125, 3125, UP, NO, 250),
		[5] = LORA(7, 125, 5470, UP, NO, 250),
		[6] = LORA(8, 500, 12500, UP, NO, 250),
		[8] = LORA(12, 500, 980, NO, DOWN, 61),
		[9] = LORA(11, 500, 1760, NO, DOWN, 137),
		[10] = LORA(10, 500, 3900, NO, DOWN, 250),
		[11] = LORA(9, 500, 7000, NO, DOWN, 250),
		[12] = LORA(8, 500, 12500, NO, DOWN, 250),
		[13] = LORA(7, 500, 21900, NO, DOWN, 250),
	},
	.n_rx1_offsets = 6,
	.rx1_dr = {
		[0] = { 8, 8, 8, 8, 8, 8 },
		[1] = { 9, 8, 8, 8, 8, 8 },
		[2] = { 10, 9, 8, 8, 8, 8 },
		[3] = { 11, 10, 9, 8, 8, 8 },
		[4] = { 12, 11, 10, 9, 8, 8 },
		[5] = { 13, 12, 11, 10, 9, 8 },
		[6] = { 13, 13, 12, 11, 10, 9 },
	},
	.rx1_freq = REGION_RX1_CHANNEL_MOD8,
	.up125 = { .base_hz = 915200000, .step_hz = 200000, .count = 64 },
	.up500 = { .base_hz = 915900000, .step_hz = 1600000, .count = 8 },
	.down = { .base_hz = 923300000, .step_hz = 600000, .count = 8 },
	.rx2_freq_hz = 923300000,
	.rx2_dr = 8,
	.cflist = REGION_CFLIST_NONE,
	.cflist_capable = REGION_CFLIST_CHMASK,
	.dwell_up125_ms = 0,
	.default_max_eirp_dbm = 30,
	.subbands = au915_subbands,
	.n_subbands = sizeof(au915_subbands) / sizeof(au915_subbands[0]),
};

const struct region *const region__table[] = { &region_eu868, &region_us915, &region_au915 };
const size_t region__count = sizeof(region__table) / sizeof(region__table[0]);
