/* SPDX-License-Identifier: MIT */
/*
 * test_region.c - region tables against LoRaWAN Regional Parameters
 * RP002-1.0.4 (EU863-870, US902-928): RX1 tables cell by cell, RX2 defaults,
 * DR lookups in both directions, payload limits, EU868 sub-band boundaries (LoRaMac-node
 * VerifyRfFreq), US915 RX1 channel mapping, CFList encoding.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "lorawan/region.h"

static const struct region *eu(void)
{
	const struct region *r = region_find("EU868");
	ck_assert_ptr_nonnull(r);
	return r;
}

static const struct region *us(void)
{
	const struct region *r = region_find("US915");
	ck_assert_ptr_nonnull(r);
	return r;
}

START_TEST(test_find)
{
	ck_assert_str_eq(region_find("EU868")->name, "EU868");
	ck_assert_ptr_eq(region_find("eu868"), region_find("EU868"));
	ck_assert_ptr_eq(region_find("EU863-870"), region_find("EU868"));
	ck_assert_ptr_eq(region_find("us902-928"), region_find("US915"));
	ck_assert_str_eq(region_find("AU915")->name, "AU915");
	ck_assert_ptr_null(region_find("EU433"));
	ck_assert_ptr_null(region_find(""));
	ck_assert_ptr_null(region_find(NULL));
	size_t n = 0;
	const struct region *const *all = region_all(&n);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++)
		ck_assert_ptr_eq(region_find(all[i]->name), all[i]);
}
END_TEST

/* ---- RX1 ------------------------------------------------------------------ */

/* RP002-1.0.4 "EU863-870 Receive Windows", RX1 data rate table. */
static const uint8_t eu868_rx1[8][6] = {
	{ 0, 0, 0, 0, 0, 0 },
	{ 1, 0, 0, 0, 0, 0 },
	{ 2, 1, 0, 0, 0, 0 },
	{ 3, 2, 1, 0, 0, 0 },
	{ 4, 3, 2, 1, 0, 0 },
	{ 5, 4, 3, 2, 1, 0 },
	{ 6, 5, 4, 3, 2, 1 },
	{ 7, 6, 5, 4, 3, 2 },
};

START_TEST(test_eu868_rx1_table)
{
	for (uint8_t d = 0; d < 8; d++)
		for (uint8_t off = 0; off < 6; off++) {
			uint32_t f = 0;
			uint8_t dr = 0xEE;
			ck_assert_int_eq(region_rx1(eu(), 868300000, d, off, &f, &dr), LB_OK);
			ck_assert_uint_eq(f, 868300000);
			ck_assert_msg(dr == eu868_rx1[d][off], "DR%u off %u: %u", d, off, dr);
			/* "Equivalent to max(DR_up - offset, 0)" */
			ck_assert_int_eq(dr, d > off ? d - off : 0);
		}
}
END_TEST

START_TEST(test_eu868_rx1_misc)
{
	uint32_t f;
	uint8_t dr;
	/* same frequency on every uplink channel, also CFList ones */
	ck_assert_int_eq(region_rx1(eu(), 867100000, 5, 0, &f, &dr), LB_OK);
	ck_assert_uint_eq(f, 867100000);
	ck_assert_uint_eq(dr, 5);
	/* LR-FHSS DR8..11 rows (chirpstack eu868.rs) */
	ck_assert_int_eq(region_rx1(eu(), 868100000, 9, 1, &f, &dr), LB_OK);
	ck_assert_uint_eq(dr, 1);
	ck_assert_int_eq(region_rx1(eu(), 868100000, 11, 0, &f, &dr), LB_OK);
	ck_assert_uint_eq(dr, 2);
	/* RX1DROffset 6..7 are RFU */
	ck_assert_int_eq(region_rx1(eu(), 868100000, 5, 6, &f, &dr), LB_ERR_RANGE);
	ck_assert_int_eq(region_rx1(eu(), 868100000, 5, 7, &f, &dr), LB_ERR_RANGE);
	/* undefined DR, frequency outside the band */
	ck_assert_int_eq(region_rx1(eu(), 868100000, 12, 0, &f, &dr), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_rx1(eu(), 902300000, 5, 0, &f, &dr), LB_ERR_RANGE);
	ck_assert_int_eq(region_rx1(eu(), 862999999, 5, 0, &f, &dr), LB_ERR_RANGE);
	ck_assert_int_eq(region_rx1(NULL, 868100000, 5, 0, &f, &dr), LB_ERR_INVAL);
	ck_assert_int_eq(region_rx1(eu(), 868100000, 5, 0, NULL, &dr), LB_ERR_INVAL);
}
END_TEST

/* RP002-1.0.4 "US902-928 Receive Windows", RX1 data rate table. */
static const uint8_t us915_rx1[5][4] = {
	{ 10, 9, 8, 8 },
	{ 11, 10, 9, 8 },
	{ 12, 11, 10, 9 },
	{ 13, 12, 11, 10 },
	{ 13, 13, 12, 11 },
};

START_TEST(test_us915_rx1_table)
{
	for (uint8_t d = 0; d < 5; d++)
		for (uint8_t off = 0; off < 4; off++) {
			/* DR4 uses the 500 kHz channels, DR0..3 the 125 kHz ones */
			uint32_t up = d == 4 ? 903000000 : 902300000;
			uint32_t f = 0;
			uint8_t dr = 0xEE;
			ck_assert_int_eq(region_rx1(us(), up, d, off, &f, &dr), LB_OK);
			ck_assert_uint_eq(f, 923300000);
			ck_assert_msg(dr == us915_rx1[d][off], "DR%u off %u: %u", d, off, dr);
		}
	uint32_t f;
	uint8_t dr;
	ck_assert_int_eq(region_rx1(us(), 902300000, 0, 4, &f, &dr), LB_ERR_RANGE);
	/* downlink-only DRs are not uplink DRs */
	ck_assert_int_eq(region_rx1(us(), 902300000, 8, 0, &f, &dr), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_rx1(us(), 902300000, 7, 0, &f, &dr), LB_ERR_NOT_FOUND);
}
END_TEST

struct freq_case {
	uint32_t up_hz;
	int channel;
	uint32_t rx1_hz;
};

/* RX1 channel = uplink channel mod 8 (RP002-1.0.4 "US902-928 Receive
 * Windows"), chirpstack us915.rs tests, and TTN FSB 2
 * (TheThingsNetwork/lorawan-frequency-plans US_902_928_FSB_2.yml). */
static const struct freq_case us915_freqs[] = {
	{ 902300000, 0, 923300000 },
	{ 903000000, 64, 923300000 },
	{ 914200000, 71, 927500000 },
	{ 914900000, 63, 927500000 },
	{ 903900000, 8, 923300000 },
	{ 904100000, 9, 923900000 },
	{ 904300000, 10, 924500000 },
	{ 904500000, 11, 925100000 },
	{ 904700000, 12, 925700000 },
	{ 904900000, 13, 926300000 },
	{ 905100000, 14, 926900000 },
	{ 905300000, 15, 927500000 },
	{ 904600000, 65, 923900000 },
};

START_TEST(test_us915_rx1_freq)
{
	const struct freq_case *c = &us915_freqs[_i];
	ck_assert_int_eq(region_uplink_channel(us(), c->up_hz), c->channel);
	uint8_t up_dr = c->channel >= 64 ? 4 : 2;
	uint32_t f = 0;
	uint8_t dr = 0;
	ck_assert_int_eq(region_rx1(us(), c->up_hz, up_dr, 0, &f, &dr), LB_OK);
	ck_assert_uint_eq(f, c->rx1_hz);
	ck_assert_uint_eq(dr, up_dr == 4 ? 13 : 12);
}
END_TEST

START_TEST(test_us915_rx1_bad_freq)
{
	uint32_t f;
	uint8_t dr;
	/* in band but not an uplink channel */
	ck_assert_int_eq(region_rx1(us(), 902400000, 0, 0, &f, &dr), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_rx1(us(), 923300000, 0, 0, &f, &dr), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_rx1(us(), 915100000, 0, 0, &f, &dr), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_rx1(us(), 902300001, 0, 0, &f, &dr), LB_ERR_NOT_FOUND);
	/* out of band */
	ck_assert_int_eq(region_rx1(us(), 868100000, 0, 0, &f, &dr), LB_ERR_RANGE);
	ck_assert_int_eq(region_uplink_channel(us(), 915700000), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_uplink_channel(eu(), 868100000), LB_ERR_NOT_FOUND);
}
END_TEST

START_TEST(test_au915_rx1)
{
	const struct region *au = region_find("AU915");
	uint32_t f;
	uint8_t dr;
	ck_assert_int_eq(region_uplink_channel(au, 915200000), 0);
	ck_assert_int_eq(region_uplink_channel(au, 915900000), 64);
	ck_assert_int_eq(region_uplink_channel(au, 927800000), 63);
	ck_assert_int_eq(region_rx1(au, 916800000, 2, 0, &f, &dr), LB_OK); /* ch 8 */
	ck_assert_uint_eq(f, 923300000);
	ck_assert_uint_eq(dr, 10);
	ck_assert_int_eq(region_rx1(au, 917500000, 6, 5, &f, &dr), LB_OK); /* ch 65 */
	ck_assert_uint_eq(f, 923900000);
	ck_assert_uint_eq(dr, 9);
	ck_assert_int_eq(region_rx1(au, 915200000, 5, 0, &f, &dr), LB_OK);
	ck_assert_uint_eq(dr, 13);
	ck_assert_int_eq(region_rx1(au, 915200000, 0, 6, &f, &dr), LB_ERR_RANGE);
}
END_TEST

/* ---- RX2 ------------------------------------------------------------------ */

START_TEST(test_rx2)
{
	uint32_t f = 0;
	uint8_t dr = 0xEE;
	ck_assert_int_eq(region_rx2(eu(), &f, &dr), LB_OK);
	ck_assert_uint_eq(f, 869525000);
	ck_assert_uint_eq(dr, 0);
	ck_assert_int_eq(region_rx2(us(), &f, &dr), LB_OK);
	ck_assert_uint_eq(f, 923300000);
	ck_assert_uint_eq(dr, 8);
	ck_assert_int_eq(region_rx2(region_find("AU915"), &f, &dr), LB_OK);
	ck_assert_uint_eq(f, 923300000);
	ck_assert_uint_eq(dr, 8);
	ck_assert_int_eq(region_rx2(NULL, &f, &dr), LB_ERR_INVAL);
	/* RX2 DR0 is SF12BW125 in EU868, DR8 SF12BW500 in US915 */
	ck_assert_uint_eq(region_dr_info(eu(), 0)->sf, 12);
	ck_assert_uint_eq(region_dr_info(eu(), 0)->bw_khz, 125);
	ck_assert_uint_eq(region_dr_info(us(), 8)->sf, 12);
	ck_assert_uint_eq(region_dr_info(us(), 8)->bw_khz, 500);
	ck_assert_uint_eq(eu()->default_channels_hz[0], 868100000);
	ck_assert_uint_eq(eu()->default_channels_hz[2], 868500000);
}
END_TEST

/* ---- DR lookup -------------------------------------------------------------- */

START_TEST(test_dr_lookup_eu868)
{
	static const uint8_t sf_of[6] = { 12, 11, 10, 9, 8, 7 };
	for (int d = 0; d < 6; d++) {
		ck_assert_int_eq(region_dr_lora(eu(), sf_of[d], 125, true), d);
		ck_assert_int_eq(region_dr_lora(eu(), sf_of[d], 125, false), d);
	}
	ck_assert_int_eq(region_dr_lora(eu(), 7, 250, true), 6);
	ck_assert_int_eq(region_dr_lora(eu(), 7, 250, false), 6);
	ck_assert_int_eq(region_dr_lora(eu(), 8, 250, true), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_dr_lora(eu(), 7, 500, true), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_dr_fsk(eu(), 50000), 7);
	ck_assert_int_eq(region_dr_fsk(eu(), 10000), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_dr_lora(NULL, 7, 125, true), LB_ERR_INVAL);
	ck_assert_int_eq(region_dr_info(eu(), 8)->mod, REGION_MOD_LRFHSS);
	ck_assert(!region_dr_info(eu(), 8)->downlink);
	ck_assert_ptr_null(region_dr_info(eu(), 12));
	ck_assert_ptr_null(region_dr_info(eu(), 16));
}
END_TEST

START_TEST(test_dr_lookup_us915)
{
	static const uint8_t up_sf[4] = { 10, 9, 8, 7 };
	for (int d = 0; d < 4; d++) {
		ck_assert_int_eq(region_dr_lora(us(), up_sf[d], 125, true), d);
		ck_assert_int_eq(region_dr_lora(us(), up_sf[d], 125, false), LB_ERR_NOT_FOUND);
	}
	/* SF8BW500 is DR4 up but DR12 down */
	ck_assert_int_eq(region_dr_lora(us(), 8, 500, true), 4);
	ck_assert_int_eq(region_dr_lora(us(), 8, 500, false), 12);
	for (uint8_t sf = 12; sf >= 7; sf--)
		ck_assert_int_eq(region_dr_lora(us(), sf, 500, false), 8 + (12 - sf));
	ck_assert_int_eq(region_dr_lora(us(), 12, 500, true), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_dr_lora(us(), 7, 500, true), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_dr_lora(us(), 12, 125, true), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_dr_fsk(us(), 50000), LB_ERR_NOT_FOUND);
	ck_assert_ptr_null(region_dr_info(us(), 7));
	ck_assert_ptr_null(region_dr_info(us(), 14));
}
END_TEST

/* ---- payload limits ----------------------------------------------------------- */

START_TEST(test_max_payload)
{
	/* RP002-1.0.4 EU863-870 maximum payload size, not repeater-compatible */
	static const uint8_t eu_m[8] = { 59, 59, 59, 123, 250, 250, 250, 250 };
	static const uint8_t eu_n[8] = { 51, 51, 51, 115, 242, 242, 242, 242 };
	uint8_t m, n;
	for (uint8_t d = 0; d < 8; d++) {
		ck_assert_int_eq(region_max_payload(eu(), d, &m, &n), LB_OK);
		ck_assert_uint_eq(m, eu_m[d]);
		ck_assert_uint_eq(n, eu_n[d]);
	}
	ck_assert_int_eq(region_max_payload(eu(), 8, &m, &n), LB_OK);
	ck_assert_uint_eq(m, 58);
	ck_assert_int_eq(region_max_payload(eu(), 11, &m, &n), LB_OK);
	ck_assert_uint_eq(n, 115);
	ck_assert_int_eq(region_max_payload(eu(), 12, &m, &n), LB_ERR_NOT_FOUND);

	/* RP002-1.0.4 US902-928 maximum payload size, not repeater-compatible,
	 * DR0..4 and DR8..13 */
	static const struct { uint8_t dr, m, n; } usv[] = {
		{ 0, 19, 11 }, { 1, 61, 53 }, { 2, 133, 125 }, { 3, 250, 242 }, { 4, 250, 242 },
		{ 8, 61, 53 }, { 9, 137, 129 }, { 10, 250, 242 }, { 11, 250, 242 },
		{ 12, 250, 242 }, { 13, 250, 242 },
	};
	for (size_t i = 0; i < sizeof(usv) / sizeof(usv[0]); i++) {
		ck_assert_int_eq(region_max_payload(us(), usv[i].dr, &m, &n), LB_OK);
		ck_assert_uint_eq(m, usv[i].m);
		ck_assert_uint_eq(n, usv[i].n);
	}
	ck_assert_int_eq(region_max_payload(us(), 7, &m, &n), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_max_payload(us(), 15, &m, &n), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_max_payload(us(), 0, NULL, &n), LB_OK);
	ck_assert_uint_eq(n, 11);
	ck_assert_int_eq(region_max_payload(NULL, 0, &m, &n), LB_ERR_INVAL);
}
END_TEST

/* ---- sub-bands (ETSI EN 300 220-2, LoRaMac-node VerifyRfFreq boundaries) ---- */

struct sb_case {
	uint32_t hz;
	int index;         /* LB_ERR_NOT_FOUND for gaps */
	uint32_t dc_ppm;
	char etsi;
	int lmn_band;
	int power;
};

static const struct sb_case eu_sb[] = {
	{ 862999999, LB_ERR_NOT_FOUND, 0, 0, 0, 0 },
	{ 863000000, 0, 1000, 'K', 2, 14 },
	{ 864999999, 0, 1000, 'K', 2, 14 },
	{ 865000000, 1, 10000, 'L', 0, 14 },     /* 865.0 edge belongs to band 0 (1 %) */
	{ 867100000, 1, 10000, 'L', 0, 14 },
	{ 868000000, 1, 10000, 'L', 0, 14 },     /* f <= 868000000 -> band 0 */
	{ 868000001, 2, 10000, 'M', 1, 14 },
	{ 868100000, 2, 10000, 'M', 1, 14 },     /* 1 % */
	{ 868500000, 2, 10000, 'M', 1, 14 },
	{ 868600000, 2, 10000, 'M', 1, 14 },
	{ 868600001, LB_ERR_NOT_FOUND, 0, 0, 0, 0 },
	{ 868650000, LB_ERR_NOT_FOUND, 0, 0, 0, 0 },
	{ 868700000, 3, 1000, 'N', 5, 14 },
	{ 868800000, 3, 1000, 'N', 5, 14 },      /* 0.1 % */
	{ 869200000, 3, 1000, 'N', 5, 14 },
	{ 869300000, LB_ERR_NOT_FOUND, 0, 0, 0, 0 },
	{ 869399999, LB_ERR_NOT_FOUND, 0, 0, 0, 0 },
	{ 869400000, 4, 100000, 'P', 3, 27 },
	{ 869525000, 4, 100000, 'P', 3, 27 },    /* RX2: 10 %, 27 dBm */
	{ 869650000, 4, 100000, 'P', 3, 27 },
	{ 869650001, LB_ERR_NOT_FOUND, 0, 0, 0, 0 },
	{ 869700000, 5, 10000, 'Q', 4, 14 },
	{ 869850000, 5, 10000, 'Q', 4, 14 },
	{ 870000000, 5, 10000, 'Q', 4, 14 },
	{ 870000001, LB_ERR_NOT_FOUND, 0, 0, 0, 0 },
};

START_TEST(test_eu868_subbands)
{
	const struct sb_case *c = &eu_sb[_i];
	const struct region_subband *sb = NULL;
	int idx = region_subband(eu(), c->hz, &sb);
	ck_assert_msg(idx == c->index, "%u Hz: index %d, want %d", c->hz, idx, c->index);
	int dbm = -99;
	int perr = region_tx_power(eu(), c->hz, &dbm);
	if (c->index < 0) {
		ck_assert_int_eq(perr, LB_ERR_NOT_FOUND);
		return;
	}
	ck_assert_ptr_eq(sb, &eu()->subbands[idx]);
	ck_assert_uint_eq(sb->dc_ppm, c->dc_ppm);
	ck_assert_int_eq(sb->etsi, c->etsi);
	ck_assert_int_eq(sb->lmn_band, c->lmn_band);
	ck_assert_int_eq(perr, LB_OK);
	ck_assert_int_eq(dbm, c->power);
}
END_TEST

START_TEST(test_us915_subband_power_dwell)
{
	const struct region_subband *sb = NULL;
	ck_assert_int_eq(region_subband(us(), 902300000, &sb), 0);
	ck_assert_uint_eq(sb->dc_ppm, REGION_DC_UNLIMITED);
	ck_assert_int_eq(region_subband(us(), 923300000, NULL), 0);
	ck_assert_int_eq(region_subband(us(), 868100000, NULL), LB_ERR_NOT_FOUND);
	int dbm = 0;
	ck_assert_int_eq(region_tx_power(us(), 923300000, &dbm), LB_OK);
	ck_assert_int_eq(dbm, 20);
	ck_assert_int_eq(region_tx_power(us(), 923300000, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(region_subband(NULL, 923300000, NULL), LB_ERR_INVAL);

	ck_assert_uint_eq(region_max_dwell_ms(us(), 125, true), 400);
	ck_assert_uint_eq(region_max_dwell_ms(us(), 500, true), 0);
	ck_assert_uint_eq(region_max_dwell_ms(us(), 500, false), 0);
	ck_assert_uint_eq(region_max_dwell_ms(us(), 125, false), 0);
	ck_assert_uint_eq(region_max_dwell_ms(eu(), 125, true), 0);
}
END_TEST

START_TEST(test_dc_off)
{
	/* 1 %: closed for 99 x ToA (TTN forum "Fair Use Policy explained":
	 * 99 x 46.336 ms) */
	ck_assert_uint_eq(region_dc_off_us(10000, 46336), 99 * 46336);
	ck_assert_uint_eq(region_dc_off_us(1000, 46336), 999 * 46336);
	ck_assert_uint_eq(region_dc_off_us(100000, 46336), 9 * 46336);
	ck_assert_uint_eq(region_dc_off_us(REGION_DC_UNLIMITED, 46336), 0);
	ck_assert_uint_eq(region_dc_off_us(0, 1), UINT64_MAX);
	/* rounded up: 3 % of 1 µs -> 1/0.03 - 1 = 32.33 -> 33 */
	ck_assert_uint_eq(region_dc_off_us(30000, 1), 33);
	ck_assert_uint_eq(region_dc_off_us(10000, UINT64_MAX / 2), UINT64_MAX);
}
END_TEST

/* ---- CFList ------------------------------------------------------------------ */

START_TEST(test_cflist_freq)
{
	/* TTN EU868 extra channels 867.1..867.9 MHz; the well-known CFList of
	 * TTN join-accepts, recomputed here (8671000 = 0x844F18 LE ...). */
	static const uint32_t ttn[5] = { 867100000, 867300000, 867500000, 867700000, 867900000 };
	static const uint8_t want[16] = { 0x18, 0x4F, 0x84, 0xE8, 0x56, 0x84, 0xB8, 0x5E,
					  0x84, 0x88, 0x66, 0x84, 0x58, 0x6E, 0x84, 0x00 };
	uint8_t out[REGION_CFLIST_LEN];
	ck_assert_int_eq(region_cflist_freq(eu(), ttn, 5, out), LB_OK);
	ck_assert_mem_eq(out, want, sizeof(want));

	/* fewer channels: the rest is zero */
	ck_assert_int_eq(region_cflist_freq(eu(), ttn, 2, out), LB_OK);
	ck_assert_mem_eq(out, want, 6);
	for (int i = 6; i < 16; i++)
		ck_assert_uint_eq(out[i], 0);

	static const uint32_t bad_unit[1] = { 867100050 };
	static const uint32_t bad_band[1] = { 902300000 };
	ck_assert_int_eq(region_cflist_freq(eu(), bad_unit, 1, out), LB_ERR_RANGE);
	ck_assert_int_eq(region_cflist_freq(eu(), bad_band, 1, out), LB_ERR_RANGE);
	static const uint32_t six[6] = { 0 };
	ck_assert_int_eq(region_cflist_freq(eu(), six, 6, out), LB_ERR_INVAL);
	ck_assert_int_eq(region_cflist_freq(us(), ttn, 1, out), LB_ERR_INVAL);
	ck_assert_int_eq(eu()->cflist, REGION_CFLIST_FREQ);
	ck_assert_int_eq(us()->cflist, REGION_CFLIST_NONE);
}
END_TEST

START_TEST(test_cflist_chmask)
{
	/* TTN FSB 2: channels 8..15 and 65 */
	const uint16_t mask[REGION_CHMASK_WORDS] = { 0xFF00, 0, 0, 0, 0x0002 };
	static const uint8_t want[16] = { 0x00, 0xFF, 0, 0, 0, 0, 0, 0,
					  0x02, 0x00, 0, 0, 0, 0, 0, 0x01 };
	uint8_t out[REGION_CFLIST_LEN];
	ck_assert_int_eq(region_cflist_chmask(us(), mask, out), LB_OK);
	ck_assert_mem_eq(out, want, sizeof(want));
	const uint16_t rfu[REGION_CHMASK_WORDS] = { 0, 0, 0, 0, 0x0100 };
	ck_assert_int_eq(region_cflist_chmask(us(), rfu, out), LB_ERR_RANGE);
	ck_assert_int_eq(region_cflist_chmask(eu(), mask, out), LB_ERR_INVAL);
}
END_TEST

static Suite *region_suite(void)
{
	Suite *s = suite_create("region");
	TCase *tc = tcase_create("region");
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_eu868_rx1_table);
	tcase_add_test(tc, test_eu868_rx1_misc);
	tcase_add_test(tc, test_us915_rx1_table);
	tcase_add_loop_test(tc, test_us915_rx1_freq, 0,
			    (int)(sizeof(us915_freqs) / sizeof(us915_freqs[0])));
	tcase_add_test(tc, test_us915_rx1_bad_freq);
	tcase_add_test(tc, test_au915_rx1);
	tcase_add_test(tc, test_rx2);
	tcase_add_test(tc, test_dr_lookup_eu868);
	tcase_add_test(tc, test_dr_lookup_us915);
	tcase_add_test(tc, test_max_payload);
	tcase_add_loop_test(tc, test_eu868_subbands, 0, (int)(sizeof(eu_sb) / sizeof(eu_sb[0])));
	tcase_add_test(tc, test_us915_subband_power_dwell);
	tcase_add_test(tc, test_dc_off);
	tcase_add_test(tc, test_cflist_freq);
	tcase_add_test(tc, test_cflist_chmask);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(region_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
