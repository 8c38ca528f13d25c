/* SPDX-License-Identifier: MIT */
/*
 * test_region.c - region tables against LoRaWAN Regional Parameters
 * RP002-1.0.4 (EU863-870, US902-928): RX1 tables cell by cell, RX2 defaults,
 * DR lookups in both directions, payload limits, EU868 sub-band boundaries (LoRaMac-node
 * VerifyRfFreq), US915 RX1 channel mapping, CFList encoding; and one table per
 * region of RP002-1.0.4 §2.10 AS923 (four groups, both dwell-time settings),
 * §2.11 KR920-923 and §2.12 IN865-867, checked cell by cell.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "lorawan/airtime.h"
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
	ck_assert_ptr_eq(region_find("AS923"), region_find("AS923-1"));
	ck_assert_ptr_eq(region_find("as923-4"), region_find("AS923-4"));
	ck_assert_ptr_eq(region_find("KR920-923"), region_find("KR920"));
	ck_assert_ptr_eq(region_find("IN865-867"), region_find("IN865"));
	ck_assert_ptr_null(region_find("AS923-5"));
	ck_assert_ptr_null(region_find("EU433"));
	ck_assert_ptr_null(region_find(""));
	ck_assert_ptr_null(region_find(NULL));
	size_t n = 0;
	const struct region *const *all = region_all(&n);
	ck_assert_uint_eq(n, 9);
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

/* RP002-1.0.4 §2.8.3 AU915 DR7 = LR-FHSS CR1/3, 1.523 MHz OCW, 162 bit/s
 * (uplink only, the 500 kHz channels 64..71); §2.8.6 M 58 / N 50; §2.8.7 RX1
 * row DR7 -> DR9, DR8, DR8, DR8, DR8, DR8. */
START_TEST(test_au915_lrfhss_dr7)
{
	const struct region *au = region_find("AU915");
	const struct region_dr *d = region_dr_info(au, 7);
	static const uint8_t rx1[6] = { 9, 8, 8, 8, 8, 8 };
	uint32_t f;
	uint8_t dr, m, n;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->mod, REGION_MOD_LRFHSS);
	ck_assert_uint_eq(d->bw_khz, 1523);
	ck_assert_uint_eq(d->lrfhss_cr, 1);
	ck_assert_uint_eq(d->bitrate, 162);
	ck_assert(d->uplink);
	ck_assert(!d->downlink);
	ck_assert_int_eq(region_max_payload(au, 7, &m, &n), LB_OK);
	ck_assert_uint_eq(m, 58);
	ck_assert_uint_eq(n, 50);
	for (uint8_t off = 0; off < 6; off++) {
		ck_assert_int_eq(region_rx1(au, 917500000, 7, off, &f, &dr), LB_OK); /* ch 65 */
		ck_assert_uint_eq(f, 923900000);
		ck_assert_msg(dr == rx1[off], "DR7 offset %u: DR%u, want DR%u", off, dr, rx1[off]);
	}
	ck_assert_ptr_null(region_dr_info(au, 14));
}
END_TEST

/* RP002-1.0.4 §2.8.3: AU915 end-devices implement TxParamSetupReq and start
 * with UplinkDwellTime = 1 (§2.8.2: join-requests at DR2, within 400 ms,
 * until TxParamSetupReq says otherwise); §2.8.6 M with UplinkDwellTime = 1:
 * DR0, DR1 N/A, DR2 19, DR3 61, DR4 133, DR5, DR6 250, DR7 58. The downlink
 * DRs (500 kHz, DR8..13) and the RX1 table do not depend on the dwell time. */
START_TEST(test_au915_dwell)
{
	static const uint8_t m_dwell[8] = { 0, 0, 19, 61, 133, 250, 250, 58 };
	static const uint8_t n_dwell[8] = { 0, 0, 11, 53, 125, 242, 242, 50 };
	static const uint8_t n_plain[8] = { 51, 51, 51, 115, 242, 242, 242, 50 };
	static const uint8_t m_down[6] = { 61, 137, 250, 250, 250, 250 };
	static const uint8_t n_down[6] = { 53, 129, 242, 242, 242, 242 };
	const struct region *au = region_find("AU915");
	struct region c;
	uint32_t f;
	uint8_t dr, m, n;

	ck_assert(au->tx_param_setup);
	ck_assert_int_eq(region_configure(au, true, true, &c), LB_OK);
	ck_assert(c.uplink_dwell);
	/* DownlinkDwellTime = 1 does not apply to AU915: not in force, and the
	 * uplink DRs keep their plain limits (what the start-up notice reports). */
	ck_assert(!au->downlink_dwell_applies);
	ck_assert(!c.downlink_dwell);
	for (uint8_t d = 0; d < 8; d++)
		ck_assert_msg(c.dr[d].max_m == au->dr[d].max_m && c.dr[d].max_n == au->dr[d].max_n,
			      "DR%u: M %u N %u, want the plain %u %u", d, c.dr[d].max_m,
			      c.dr[d].max_n, au->dr[d].max_m, au->dr[d].max_n);
	ck_assert_uint_eq(region_max_dwell_ms(&c, 125, true), 400);
	ck_assert_uint_eq(region_max_dwell_ms(&c, 500, true), 0);
	ck_assert_uint_eq(region_max_dwell_ms(au, 125, true), 0);
	for (uint8_t d = 0; d < 8; d++) {
		ck_assert_msg(au->dr[d].max_m_dwell == m_dwell[d], "DR%u: M %u with dwell, want %u",
			      d, au->dr[d].max_m_dwell, m_dwell[d]);
		ck_assert_msg(au->dr[d].max_n_dwell == n_dwell[d], "DR%u: N %u with dwell, want %u",
			      d, au->dr[d].max_n_dwell, n_dwell[d]);
		ck_assert_msg(au->dr[d].max_n == n_plain[d], "DR%u: N %u, want %u", d,
			      au->dr[d].max_n, n_plain[d]);
	}
	for (uint8_t d = 8; d <= 13; d++) {
		ck_assert_int_eq(region_max_payload(&c, d, &m, &n), LB_OK);
		ck_assert_uint_eq(m, m_down[d - 8]);
		ck_assert_uint_eq(n, n_down[d - 8]);
		ck_assert(c.dr[d].downlink);
		ck_assert_int_eq(region_max_payload(au, d, &m, &n), LB_OK);   /* dwell-agnostic */
		ck_assert_uint_eq(m, m_down[d - 8]);
		ck_assert_uint_eq(n, n_down[d - 8]);
	}
	for (uint8_t up = 0; up <= 7; up++) {
		for (uint8_t off = 0; off < 6; off++) {
			uint8_t want;
			ck_assert_int_eq(region_rx1(au, 915200000, up, off, &f, &want), LB_OK);
			ck_assert_int_eq(region_rx1(&c, 915200000, up, off, &f, &dr), LB_OK);
			ck_assert_uint_eq(dr, want);
		}
	}
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
	ck_assert_int_eq(eu()->cflist_capable, REGION_CFLIST_FREQ);
	ck_assert_int_eq(us()->cflist_capable, REGION_CFLIST_CHMASK);
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


/* ---- AS923, KR920, IN865: one table per region ---------------------------- */

#define X 0xFF  /* RFU cell / no such DR */

struct dr_want {
	enum region_mod mod;
	uint8_t sf;
	uint16_t bw_khz;
	uint8_t m, n;           /* not repeater-compatible; AS923: DwellTime = 0 */
	uint8_t m_dw, n_dw;     /* AS923 DwellTime = 1; 0 = N/A */
};

struct region_want {
	const char *name, *alias;
	uint32_t min_hz, max_hz;
	uint8_t n_default;
	uint32_t default_hz[3];
	uint32_t rx2_hz;
	uint8_t rx2_dr;
	enum region_lbt lbt;
	int dl_power_dbm;
	uint8_t max_eirp_dbm;
	bool tx_param_setup;
	const struct dr_want *drs;      /* [16] */
	uint8_t n_offsets;
	const uint8_t (*rx1)[8];        /* [16][8], DownlinkDwellTime = 0 */
	const uint8_t (*rx1_dwell)[8];  /* AS923 DownlinkDwellTime = 1, else NULL */
};

#define L125(sf_, m_, n_, md_, nd_) { REGION_MOD_LORA, sf_, 125, m_, n_, md_, nd_ }

/* RP002-1.0.4 §2.10.3 data rates, §2.10.6 maximum payload size (not
 * repeater-compatible; 1.0.5 Table 73). */
static const struct dr_want as923_drs[16] = {
	L125(12, 59, 51, 0, 0),
	L125(11, 59, 51, 0, 0),
	L125(10, 123, 115, 19, 11),
	L125(9, 123, 115, 61, 53),
	L125(8, 250, 242, 133, 125),
	L125(7, 250, 242, 250, 242),
	{ REGION_MOD_LORA, 7, 250, 250, 242, 250, 242 },
	{ REGION_MOD_FSK, 0, 0, 250, 242, 250, 242 },
};

/* RP002-1.0.4 §2.11.3, §2.11.6. */
static const struct dr_want kr920_drs[16] = {
	L125(12, 59, 51, 0, 0),
	L125(11, 59, 51, 0, 0),
	L125(10, 59, 51, 0, 0),
	L125(9, 123, 115, 0, 0),
	L125(8, 250, 242, 0, 0),
	L125(7, 250, 242, 0, 0),
};

/* RP002-1.0.4 §2.12.3 (DR6 RFU), §2.12.6. */
static const struct dr_want in865_drs[16] = {
	L125(12, 59, 51, 0, 0),
	L125(11, 59, 51, 0, 0),
	L125(10, 59, 51, 0, 0),
	L125(9, 123, 115, 0, 0),
	L125(8, 250, 242, 0, 0),
	L125(7, 250, 242, 0, 0),
	[7] = { REGION_MOD_FSK, 0, 0, 250, 242, 0, 0 },
};

/* RP002-1.0.4 §2.10.7, DownlinkDwellTime = 0 (1.0.5 Table 74). */
static const uint8_t as923_rx1[16][8] = {
	{ 0, 0, 0, 0, 0, 0, 1, 2 },
	{ 1, 0, 0, 0, 0, 0, 2, 3 },
	{ 2, 1, 0, 0, 0, 0, 3, 4 },
	{ 3, 2, 1, 0, 0, 0, 4, 5 },
	{ 4, 3, 2, 1, 0, 0, 5, 6 },
	{ 5, 4, 3, 2, 1, 0, 6, 7 },
	{ 6, 5, 4, 3, 2, 1, 7, 7 },
	{ 7, 6, 5, 4, 3, 2, 7, 7 },
};

/* RP002-1.0.4 §2.10.7, DownlinkDwellTime = 1 (1.0.5 Table 75). */
static const uint8_t as923_rx1_dwell[16][8] = {
	{ 2, 2, 2, 2, 2, 2, 2, 2 },
	{ 2, 2, 2, 2, 2, 2, 2, 3 },
	{ 2, 2, 2, 2, 2, 2, 3, 4 },
	{ 3, 2, 2, 2, 2, 2, 4, 5 },
	{ 4, 3, 2, 2, 2, 2, 5, 6 },
	{ 5, 4, 3, 2, 2, 2, 6, 7 },
	{ 6, 5, 4, 3, 2, 2, 7, 7 },
	{ 7, 6, 5, 4, 3, 2, 7, 7 },
};

/* RP002-1.0.4 §2.11.7: offsets 0..5. */
static const uint8_t kr920_rx1[16][8] = {
	{ 0, 0, 0, 0, 0, 0, X, X },
	{ 1, 0, 0, 0, 0, 0, X, X },
	{ 2, 1, 0, 0, 0, 0, X, X },
	{ 3, 2, 1, 0, 0, 0, X, X },
	{ 4, 3, 2, 1, 0, 0, X, X },
	{ 5, 4, 3, 2, 1, 0, X, X },
};

/* RP002-1.0.4 §2.12.7: offsets 0..7, no DR6 (RFU). */
static const uint8_t in865_rx1[16][8] = {
	{ 0, 0, 0, 0, 0, 0, 1, 2 },
	{ 1, 0, 0, 0, 0, 0, 2, 3 },
	{ 2, 1, 0, 0, 0, 0, 3, 4 },
	{ 3, 2, 1, 0, 0, 0, 4, 5 },
	{ 4, 3, 2, 1, 0, 0, 5, 5 },
	{ 5, 4, 3, 2, 1, 0, 5, 7 },
	{ X, X, X, X, X, X, X, X },
	{ 7, 5, 5, 4, 3, 2, 7, 7 },
};

#define AS923_WANT(name_, alias_, lo_, hi_, ch0_, ch1_)                                 \
	{ name_, alias_, lo_, hi_, 2, { ch0_, ch1_, 0 }, ch0_, 2, REGION_LBT_BY_COUNTRY, 16, \
	  16, true, as923_drs, 8, as923_rx1, as923_rx1_dwell }

/* RP002-1.0.4 §2.10.2: AS923-1 923.2 / 923.4 MHz, RX2 923.2 MHz DR2, the
 * groups shifted by -1.8, -6.6, -5.9 MHz. */
static const struct region_want new_regions[] = {
	AS923_WANT("AS923-1", "AS923", 915000000, 928000000, 923200000, 923400000),
	AS923_WANT("AS923-2", "as923-2", 920000000, 923000000, 921400000, 921600000),
	AS923_WANT("AS923-3", "As923-3", 915000000, 921000000, 916600000, 916800000),
	AS923_WANT("AS923-4", "as923-4", 917000000, 920000000, 917300000, 917500000),
	{ "KR920", "KR920-923", 920900000, 923300000, 3, { 922100000, 922300000, 922500000 },
	  921900000, 0, REGION_LBT_REQUIRED, 23, 14, false, kr920_drs, 6, kr920_rx1, NULL },
	{ "IN865", "IN865-867", 865000000, 867000000, 3, { 865062500, 865402500, 865985000 },
	  866550000, 2, REGION_LBT_NONE, 30, 30, false, in865_drs, 8, in865_rx1, NULL },
};
#define N_NEW_REGIONS ((int)(sizeof(new_regions) / sizeof(new_regions[0])))

static const struct region *want_region(const struct region_want *w)
{
	const struct region *r = region_find(w->name);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->name, w->name);
	ck_assert_ptr_eq(region_find(w->alias), r);
	return r;
}

START_TEST(test_new_region_channels)
{
	const struct region_want *w = &new_regions[_i];
	const struct region *r = want_region(w);
	uint32_t f;
	uint8_t dr;
	int p;

	ck_assert_uint_eq(r->min_hz, w->min_hz);
	ck_assert_uint_eq(r->max_hz, w->max_hz);
	ck_assert_uint_eq(r->n_default_channels, w->n_default);
	for (int i = 0; i < REGION_MAX_DEFAULT_CHANNELS; i++)
		ck_assert_uint_eq(r->default_channels_hz[i], w->default_hz[i]);
	ck_assert_int_eq(region_rx2(r, &f, &dr), LB_OK);
	ck_assert_uint_eq(f, w->rx2_hz);
	ck_assert_uint_eq(dr, w->rx2_dr);
	ck_assert_int_eq(r->lbt, w->lbt);
	ck_assert_int_eq(r->tx_param_setup, w->tx_param_setup);
	ck_assert_uint_eq(r->default_max_eirp_dbm, w->max_eirp_dbm);
	ck_assert_int_eq(r->cflist_capable, REGION_CFLIST_FREQ);
	ck_assert_int_eq(r->rx1_freq, REGION_RX1_SAME_FREQ);
	ck_assert_uint_eq(region_max_dwell_ms(r, 125, true), 0);
	/* the band edges are one sub-band without duty cycle */
	const uint32_t edge[] = { w->min_hz, w->max_hz, w->rx2_hz };
	for (size_t i = 0; i < 3; i++) {
		const struct region_subband *sb = NULL;
		ck_assert_int_eq(region_subband(r, edge[i], &sb), 0);
		ck_assert_uint_eq(sb->dc_ppm, REGION_DC_UNLIMITED);
		ck_assert_int_eq(region_tx_power(r, edge[i], &p), LB_OK);
		ck_assert_int_eq(p, w->dl_power_dbm);
	}
	ck_assert_int_eq(region_subband(r, w->min_hz - 1, NULL), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_subband(r, w->max_hz + 1, NULL), LB_ERR_NOT_FOUND);
	/* RX1 on every default channel: same frequency, every LoRa 125 kHz DR */
	for (uint8_t c = 0; c < w->n_default; c++)
		for (uint8_t d = 0; d <= 5; d++) {
			ck_assert_int_eq(region_rx1(r, w->default_hz[c], d, 0, &f, &dr), LB_OK);
			ck_assert_uint_eq(f, w->default_hz[c]);
		}
	ck_assert_int_eq(region_rx1(r, w->min_hz - 100000, 5, 0, &f, &dr), LB_ERR_RANGE);
}
END_TEST

/* Every DR 0..15: modulation, both directions, M and N, lookup back. */
START_TEST(test_new_region_drs)
{
	const struct region_want *w = &new_regions[_i];
	const struct region *r = want_region(w);
	struct region dl;
	uint8_t m, n;

	ck_assert_int_eq(region_configure(r, false, w->tx_param_setup, &dl), LB_OK);
	for (uint8_t d = 0; d < REGION_MAX_DR; d++) {
		const struct dr_want *e = &w->drs[d];
		const struct region_dr *info = region_dr_info(r, d);
		if (e->mod == REGION_MOD_NONE) {
			ck_assert_msg(info == NULL, "%s DR%u should be RFU", w->name, d);
			ck_assert_int_eq(region_max_payload(r, d, &m, &n), LB_ERR_NOT_FOUND);
			continue;
		}
		ck_assert_msg(info != NULL, "%s DR%u missing", w->name, d);
		ck_assert_int_eq(info->mod, e->mod);
		ck_assert(info->uplink && info->downlink);
		ck_assert_int_eq(region_max_payload(r, d, &m, &n), LB_OK);
		ck_assert_msg(m == e->m && n == e->n, "%s DR%u M/N %u/%u", w->name, d, m, n);
		if (e->mod == REGION_MOD_LORA) {
			ck_assert_uint_eq(info->sf, e->sf);
			ck_assert_uint_eq(info->bw_khz, e->bw_khz);
			ck_assert_int_eq(region_dr_lora(r, e->sf, e->bw_khz, true), d);
			ck_assert_int_eq(region_dr_lora(r, e->sf, e->bw_khz, false), d);
		} else {
			ck_assert_uint_eq(info->bitrate, 50000);
			ck_assert_int_eq(region_dr_fsk(r, 50000), d);
		}
		if (!w->tx_param_setup)
			continue;
		/* DownlinkDwellTime = 1: the dwell column; "N/A" = no downlink */
		int rc = region_max_payload(&dl, d, &m, &n);
		const struct region_dr *di = region_dr_info(&dl, d);
		if (e->m_dw == 0) {
			ck_assert_int_eq(rc, LB_ERR_NOT_FOUND);
			ck_assert(!di->downlink && di->uplink);
			continue;
		}
		ck_assert_int_eq(rc, LB_OK);
		ck_assert_msg(m == e->m_dw && n == e->n_dw, "%s dwell DR%u M/N %u/%u", w->name, d,
			      m, n);
		ck_assert(di->downlink);
	}
	ck_assert_int_eq(region_dr_lora(r, 12, 500, true), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_dr_lora(r, 8, 500, false), LB_ERR_NOT_FOUND);
}
END_TEST

static void check_rx1_cells(const struct region_want *w, const struct region *r,
			    const uint8_t (*tab)[8])
{
	uint32_t up = w->default_hz[1];

	for (uint8_t d = 0; d < REGION_MAX_DR; d++)
		for (uint8_t off = 0; off < 8; off++) {
			uint32_t f = 0;
			uint8_t dr = 0xEE;
			int rc = region_rx1(r, up, d, off, &f, &dr);
			if (off >= w->n_offsets) {
				ck_assert_int_eq(rc, LB_ERR_RANGE);
				continue;
			}
			if (w->drs[d].mod == REGION_MOD_NONE) {
				ck_assert_int_eq(rc, LB_ERR_NOT_FOUND);
				continue;
			}
			ck_assert_int_eq(rc, LB_OK);
			ck_assert_uint_eq(f, up);
			ck_assert_msg(dr == tab[d][off], "%s%s DR%u offset %u: DR%u, want DR%u",
				      w->name, r->downlink_dwell ? " dwell" : "", d, off, dr,
				      tab[d][off]);
			/* the RX1 DR is a downlink DR of the region */
			ck_assert_ptr_nonnull(region_dr_info(r, dr));
			ck_assert(region_dr_info(r, dr)->downlink);
		}
}

START_TEST(test_new_region_rx1)
{
	const struct region_want *w = &new_regions[_i];
	const struct region *r = want_region(w);
	struct region dl;

	ck_assert_uint_eq(r->n_rx1_offsets, w->n_offsets);
	check_rx1_cells(w, r, w->rx1);
	if (!w->rx1_dwell) {
		ck_assert_int_eq(region_configure(r, false, true, &dl), LB_ERR_INVAL);
		ck_assert_int_eq(region_configure(r, true, false, &dl), LB_ERR_INVAL);
		return;
	}
	ck_assert_int_eq(region_configure(r, false, true, &dl), LB_OK);
	check_rx1_cells(w, &dl, w->rx1_dwell);
	/* uplink dwell alone changes no downlink table */
	ck_assert_int_eq(region_configure(r, true, false, &dl), LB_OK);
	check_rx1_cells(w, &dl, w->rx1);
}
END_TEST

/* RP002-1.0.4 §2.10.6: the dwell column is the largest PHYPayload (M + 5)
 * within 400 ms at each DR (8-symbol preamble, explicit header, CRC on: the
 * uplink); checked with the airtime module. */
static void check_dwell_column_airtime(const struct region *r)
{
	for (uint8_t d = 0; d <= 5; d++) {
		const struct region_dr *info = region_dr_info(r, d);
		uint64_t us = 0;
		uint16_t phy = info->max_m_dwell ? (uint16_t)(info->max_m_dwell + 5) : 12;
		ck_assert_int_eq(airtime_frame_us(AIRTIME_MOD_LORA, info->sf, 125, 1, 0, phy, true,
						  &us), LB_OK);
		if (info->max_m_dwell == 0) {
			/* DR0, DR1: even the shortest frame (12 bytes) is too long */
			ck_assert_uint_gt(us, 400000);
			continue;
		}
		ck_assert_msg(us <= 400000, "DR%u %u bytes: %llu us", d, phy,
			      (unsigned long long)us);
		if (phy == 255)
			continue;
		ck_assert_int_eq(airtime_frame_us(AIRTIME_MOD_LORA, info->sf, 125, 1, 0, phy + 1,
						  true, &us), LB_OK);
		ck_assert_msg(us > 400000, "DR%u %u bytes: %llu us", d, phy + 1,
			      (unsigned long long)us);
	}
}

START_TEST(test_as923_dwell_airtime)
{
	const struct region *r = region_find("AS923-1");
	struct region up;

	ck_assert_int_eq(region_configure(r, true, false, &up), LB_OK);
	ck_assert_uint_eq(region_max_dwell_ms(&up, 125, true), REGION_DWELL_LIMIT_MS);
	ck_assert_uint_eq(region_max_dwell_ms(&up, 125, false), 0);
	ck_assert(up.uplink_dwell && !up.downlink_dwell);
	check_dwell_column_airtime(r);
	/* DR2: 24 bytes 370.688 ms, 25 bytes 411.648 ms */
	uint64_t us = 0;
	ck_assert_int_eq(airtime_frame_us(AIRTIME_MOD_LORA, 10, 125, 1, 0, 24, true, &us), LB_OK);
	ck_assert_uint_eq(us, 370688);
	ck_assert_int_eq(region_configure(region_find("EU868"), true, false, &up), LB_ERR_INVAL);
	ck_assert_int_eq(region_configure(NULL, false, false, &up), LB_ERR_INVAL);
	ck_assert_int_eq(region_configure(region_find("EU868"), false, false, &up), LB_OK);
	ck_assert_str_eq(up.name, "EU868");
	ck_assert_uint_eq(up.rx2_freq_hz, 869525000);
}
END_TEST

/* RP002-1.0.4 §2.8.6: the AU915 UplinkDwellTime = 1 column is the largest
 * frame (M + 5 bytes of MHDR and MIC, 8 symbols of preamble, explicit
 * header, CRC) within 400 ms at each 125 kHz DR, as in AS923; DR0 and DR1
 * carry none. */
START_TEST(test_au915_dwell_airtime)
{
	check_dwell_column_airtime(region_find("AU915"));
}
END_TEST

/* The uplink dwell time per device (region_device_uplink_dwell()): AS923
 * devices of every LoRaWAN 1.0.x keep it (RP002-1.0.4 §2.10.3); AU915
 * devices from 1.0.3 on (§2.8.2, §2.8.3), not those of 1.0.0 .. 1.0.2
 * (Regional Parameters 1.0.2revB: no TxParamSetupReq, no dwell limit).
 * US915's fixed 400 ms applies to every device; 500 kHz uplinks never. */
START_TEST(test_device_uplink_dwell)
{
	struct region au, as, au_off;

	ck_assert_int_eq(region_configure(region_find("AU915"), true, false, &au), LB_OK);
	ck_assert_int_eq(region_configure(region_find("AU915"), false, true, &au_off), LB_OK);
	ck_assert_int_eq(region_configure(region_find("AS923-1"), true, false, &as), LB_OK);
	for (unsigned v = 0; v <= 4; v++) {
		ck_assert_msg(region_device_uplink_dwell(&au, v) == (v >= 3), "AU915 1.0.%u", v);
		ck_assert_uint_eq(region_device_up_dwell_ms(&au, 125, v), v >= 3 ? 400 : 0);
		ck_assert_uint_eq(region_device_up_dwell_ms(&au, 500, v), 0);
		ck_assert(!region_device_uplink_dwell(&au_off, v));
		ck_assert_uint_eq(region_device_up_dwell_ms(&au_off, 125, v), 0);
		ck_assert(region_device_uplink_dwell(&as, v));
		ck_assert_uint_eq(region_device_up_dwell_ms(&as, 125, v), 400);
		ck_assert(!region_device_uplink_dwell(region_find("US915"), v));
		ck_assert_uint_eq(region_device_up_dwell_ms(region_find("US915"), 125, v), 400);
		ck_assert_uint_eq(region_device_up_dwell_ms(region_find("EU868"), 125, v), 0);
	}
	ck_assert(!region_device_uplink_dwell(NULL, 3));
	ck_assert_uint_eq(region_device_up_dwell_ms(NULL, 125, 3), 0);
}
END_TEST

/* Worked cases across groups (RP002-1.0.4 §2.10.2, §2.10.7, §2.11.7, §2.12.7). */
START_TEST(test_new_region_cases)
{
	struct region dl;
	uint32_t f;
	uint8_t dr;

	/* AS923-2, RX1DROffset 2, uplink DR5 on 921.6 MHz, DownlinkDwellTime 1 */
	ck_assert_int_eq(region_configure(region_find("AS923-2"), false, true, &dl), LB_OK);
	ck_assert(dl.downlink_dwell);
	ck_assert_int_eq(region_rx1(&dl, 921600000, 5, 2, &f, &dr), LB_OK);
	ck_assert_uint_eq(f, 921600000);
	ck_assert_uint_eq(dr, 3);
	/* AS923-1, offset 1, uplink DR2: DR2 with downlink dwell, DR1 without */
	ck_assert_int_eq(region_configure(region_find("AS923"), false, true, &dl), LB_OK);
	ck_assert_int_eq(region_rx1(&dl, 923200000, 2, 1, &f, &dr), LB_OK);
	ck_assert_uint_eq(dr, 2);
	ck_assert_int_eq(region_rx1(region_find("AS923"), 923200000, 2, 1, &f, &dr), LB_OK);
	ck_assert_uint_eq(dr, 1);
	/* AS923-3, offset 7 on DR5 and offset 6 on DR6 both give DR7 (FSK) */
	ck_assert_int_eq(region_rx1(region_find("AS923-3"), 916600000, 5, 7, &f, &dr), LB_OK);
	ck_assert_uint_eq(dr, 7);
	ck_assert_int_eq(region_rx1(region_find("AS923-3"), 916600000, 6, 6, &f, &dr), LB_OK);
	ck_assert_uint_eq(dr, 7);
	/* KR920: DR4 offset 3 -> DR1; DR3 offset 5 -> DR0 */
	ck_assert_int_eq(region_rx1(region_find("KR920"), 922300000, 4, 3, &f, &dr), LB_OK);
	ck_assert_uint_eq(dr, 1);
	ck_assert_int_eq(region_rx1(region_find("KR920"), 922300000, 3, 5, &f, &dr), LB_OK);
	ck_assert_uint_eq(dr, 0);
	/* IN865: DR3 +6 -> DR4, DR2 +7 -> DR4, never DR6 */
	const struct region *in = region_find("IN865");
	ck_assert_int_eq(region_rx1(in, 865062500, 3, 6, &f, &dr), LB_OK);
	ck_assert_uint_eq(dr, 4);
	ck_assert_int_eq(region_rx1(in, 865062500, 2, 7, &f, &dr), LB_OK);
	ck_assert_uint_eq(dr, 4);
	for (uint8_t d = 0; d < 8; d++)
		for (uint8_t off = 0; off < 8; off++)
			if (region_rx1(in, 865062500, d, off, &f, &dr) == LB_OK)
				ck_assert_uint_ne(dr, 6);
}
END_TEST

/* ---- Regional Parameters revisions ---------------------------------------- */

/* AS923 RX1 data rate of a device of Regional Parameters 1.0.2revB or 1.0.3revA
 * (LoRaWAN Regional Parameters v1.0.3revA §2.8.7, V1.0 §2.7.7):
 * Downstream DR = MIN(5, MAX(MinDR, Upstream DR - Effective_RX1DROffset)),
 * effective offsets 0,1,2,3,4,5,-1,-2; MinDR 0 with
 * DownlinkDwellTime 0, 2 with 1. Rows uplink DR0..DR7, columns RX1DROffset 0..7. */
static const uint8_t as923_rp1_rx1_dwell0[8][8] = {
	{ 0, 0, 0, 0, 0, 0, 1, 2 }, { 1, 0, 0, 0, 0, 0, 2, 3 }, { 2, 1, 0, 0, 0, 0, 3, 4 },
	{ 3, 2, 1, 0, 0, 0, 4, 5 }, { 4, 3, 2, 1, 0, 0, 5, 5 }, { 5, 4, 3, 2, 1, 0, 5, 5 },
	{ 5, 5, 4, 3, 2, 1, 5, 5 }, { 5, 5, 5, 4, 3, 2, 5, 5 },
};
static const uint8_t as923_rp1_rx1_dwell1[8][8] = {
	{ 2, 2, 2, 2, 2, 2, 2, 2 }, { 2, 2, 2, 2, 2, 2, 2, 3 }, { 2, 2, 2, 2, 2, 2, 3, 4 },
	{ 3, 2, 2, 2, 2, 2, 4, 5 }, { 4, 3, 2, 2, 2, 2, 5, 5 }, { 5, 4, 3, 2, 2, 2, 5, 5 },
	{ 5, 5, 4, 3, 2, 2, 5, 5 }, { 5, 5, 5, 4, 3, 2, 5, 5 },
};
/* The same for RP002-1.0.0 .. 1.0.4 (RP002-1.0.4 §2.10.7; 1.0.5 Tables 74, 75): up to DR7. */
static const uint8_t as923_rp2_rx1_dwell0[8][8] = {
	{ 0, 0, 0, 0, 0, 0, 1, 2 }, { 1, 0, 0, 0, 0, 0, 2, 3 }, { 2, 1, 0, 0, 0, 0, 3, 4 },
	{ 3, 2, 1, 0, 0, 0, 4, 5 }, { 4, 3, 2, 1, 0, 0, 5, 6 }, { 5, 4, 3, 2, 1, 0, 6, 7 },
	{ 6, 5, 4, 3, 2, 1, 7, 7 }, { 7, 6, 5, 4, 3, 2, 7, 7 },
};
static const uint8_t as923_rp2_rx1_dwell1[8][8] = {
	{ 2, 2, 2, 2, 2, 2, 2, 2 }, { 2, 2, 2, 2, 2, 2, 2, 3 }, { 2, 2, 2, 2, 2, 2, 3, 4 },
	{ 3, 2, 2, 2, 2, 2, 4, 5 }, { 4, 3, 2, 2, 2, 2, 5, 6 }, { 5, 4, 3, 2, 2, 2, 6, 7 },
	{ 6, 5, 4, 3, 2, 2, 7, 7 }, { 7, 6, 5, 4, 3, 2, 7, 7 },
};

static bool rp_is_rp002(enum region_rp rp)
{
	return rp <= REGION_RP002_1_0_0;
}

static void check_rx1_table(const struct region *r, uint32_t up_hz, enum region_rp rp,
			    const uint8_t want[8][8])
{
	uint32_t f;
	uint8_t dr;

	for (uint8_t up = 0; up < 8; up++) {
		if (region_dr_info(r, up) == NULL)
			continue;
		for (uint8_t off = 0; off < 8; off++) {
			ck_assert_int_eq(region_rx1_rp(r, rp, up_hz, up, off, &f, &dr), LB_OK);
			ck_assert_uint_eq(f, up_hz);
			if (dr != want[up][off])
				ck_abort_msg("%s %s: DR%u offset %u -> DR%u, want DR%u", r->name,
					     region_rp_names[rp], up, off, dr, want[up][off]);
		}
	}
}

START_TEST(test_rp_as923_rx1)
{
	static const char *const groups[] = { "AS923-1", "AS923-2", "AS923-3", "AS923-4" };
	static const uint32_t ch0[] = { 923200000, 921400000, 916600000, 917300000 };

	for (size_t g = 0; g < 4; g++) {
		const struct region *r = region_find(groups[g]);
		struct region dl;
		ck_assert_int_eq(region_configure(r, false, true, &dl), LB_OK);
		for (int rp = 0; rp < REGION_RP_COUNT; rp++) {
			bool rp2 = rp_is_rp002((enum region_rp)rp);
			check_rx1_table(r, ch0[g], (enum region_rp)rp,
					rp2 ? as923_rp2_rx1_dwell0 : as923_rp1_rx1_dwell0);
			check_rx1_table(&dl, ch0[g], (enum region_rp)rp,
					rp2 ? as923_rp2_rx1_dwell1 : as923_rp1_rx1_dwell1);
		}
	}
	/* The errors of region_rx1(), and an rp out of range. */
	uint32_t f;
	uint8_t dr;
	const struct region *as = region_find("AS923");
	ck_assert_int_eq(region_rx1_rp(as, REGION_RP_1_0_3A, 923200000, 8, 0, &f, &dr),
			 LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_rx1_rp(as, REGION_RP_1_0_3A, 902300000, 5, 0, &f, &dr),
			 LB_ERR_RANGE);
	ck_assert_int_eq(region_rx1_rp(as, REGION_RP_COUNT, 923200000, 5, 0, &f, &dr),
			 LB_ERR_INVAL);
	ck_assert_int_eq(region_rx1_rp(NULL, REGION_RP_1_0_3A, 923200000, 5, 0, &f, &dr),
			 LB_ERR_INVAL);
}
END_TEST

/* IN865 (DR6 RFU), devices of 1.0.2revB and 1.0.3revA (LoRaWAN Regional
 * Parameters v1.0.3revA §2.10.7): MIN(5, MAX(0, DR - Effective_RX1DROffset)), so even an FSK DR7
 * uplink gets its RX1 at DR5; RP002-1.0.4 §2.12.7 reaches DR7 (and never DR6). */
START_TEST(test_rp_in865_rx1)
{
	static const uint8_t rp1[8][8] = {
		{ 0, 0, 0, 0, 0, 0, 1, 2 }, { 1, 0, 0, 0, 0, 0, 2, 3 }, { 2, 1, 0, 0, 0, 0, 3, 4 },
		{ 3, 2, 1, 0, 0, 0, 4, 5 }, { 4, 3, 2, 1, 0, 0, 5, 5 }, { 5, 4, 3, 2, 1, 0, 5, 5 },
		{ 0 },                      { 5, 5, 5, 4, 3, 2, 5, 5 },
	};
	static const uint8_t rp2[8][8] = {
		{ 0, 0, 0, 0, 0, 0, 1, 2 }, { 1, 0, 0, 0, 0, 0, 2, 3 }, { 2, 1, 0, 0, 0, 0, 3, 4 },
		{ 3, 2, 1, 0, 0, 0, 4, 5 }, { 4, 3, 2, 1, 0, 0, 5, 5 }, { 5, 4, 3, 2, 1, 0, 5, 7 },
		{ 0 },                      { 7, 5, 5, 4, 3, 2, 7, 7 },
	};
	const struct region *in = region_find("IN865");

	for (int rp = 0; rp < REGION_RP_COUNT; rp++)
		check_rx1_table(in, 865062500, (enum region_rp)rp,
				rp_is_rp002((enum region_rp)rp) ? rp2 : rp1);
}
END_TEST

/* Regions whose RX1 rule did not change: every revision gets the RP002 table. */
START_TEST(test_rp_other_regions_rx1)
{
	static const struct {
		const char *name;
		uint32_t up_hz;
	} rs[] = { { "EU868", 868100000 }, { "KR920", 922100000 }, { "US915", 902300000 },
		   { "AU915", 915200000 } };
	uint32_t f0, f;
	uint8_t want, dr;

	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		const struct region *r = region_find(rs[i].name);
		for (uint8_t up = 0; up < REGION_MAX_DR; up++) {
			for (uint8_t off = 0; off < r->n_rx1_offsets; off++) {
				if (region_rx1(r, rs[i].up_hz, up, off, &f0, &want) != LB_OK)
					continue;
				for (int rp = 0; rp < REGION_RP_COUNT; rp++) {
					enum region_rp v = (enum region_rp)rp;
					ck_assert_int_eq(region_rx1_rp(r, v, rs[i].up_hz, up,
								       off, &f, &dr), LB_OK);
					ck_assert_uint_eq(f, f0);
					ck_assert_uint_eq(dr, want);
				}
			}
		}
	}
}
END_TEST

/* AS923 maximum payload (not repeater compatible): DR2 with DwellTime 0 is
 * M 59 / N 51 for 1.0.2revB and 1.0.3revA devices (LoRaWAN Regional Parameters
 * v1.0.3revA §2.8.6, V1.0 §2.7.6) and RP002-1.0.0 §2.10.6, M 123 / N 115 from
 * RP002-1.0.1 on (RP002-1.0.4 §2.10.6); with DwellTime 1 it is M 19 / N 11 in
 * all of them. The other DRs
 * are the same in every revision. */
START_TEST(test_rp_as923_payload)
{
	static const uint8_t m0_old[8] = { 59, 59, 59, 123, 250, 250, 250, 250 };
	static const uint8_t m0_new[8] = { 59, 59, 123, 123, 250, 250, 250, 250 };
	static const uint8_t m1[8] = { 0, 0, 19, 61, 133, 250, 250, 250 };
	struct region dl;
	uint8_t m, n;

	ck_assert_int_eq(region_configure(region_find("AS923-2"), false, true, &dl), LB_OK);
	for (size_t g = 0; g < 4; g++) {
		static const char *const groups[] = { "AS923-1", "AS923-2", "AS923-3", "AS923-4" };
		const struct region *r = region_find(groups[g]);
		for (int rp = 0; rp < REGION_RP_COUNT; rp++) {
			const uint8_t *want = rp <= REGION_RP002_1_0_1 ? m0_new : m0_old;
			for (uint8_t d = 0; d < 8; d++) {
				ck_assert_int_eq(region_max_payload_rp(r, (enum region_rp)rp, d, &m,
								       &n), LB_OK);
				if (m != want[d] || n != want[d] - 8)
					ck_abort_msg("%s %s DR%u: M %u N %u, want M %u", groups[g],
						     region_rp_names[rp], d, m, n, want[d]);
			}
		}
	}
	for (int rp = 0; rp < REGION_RP_COUNT; rp++) {
		for (uint8_t d = 0; d < 8; d++) {
			int rc = region_max_payload_rp(&dl, (enum region_rp)rp, d, &m, &n);
			if (m1[d] == 0) {
				ck_assert_int_eq(rc, LB_ERR_NOT_FOUND);
				continue;
			}
			ck_assert_int_eq(rc, LB_OK);
			ck_assert_uint_eq(m, m1[d]);
			ck_assert_uint_eq(n, m1[d] - 8);
		}
	}
	/* Either pointer may be NULL; errors as region_max_payload(). */
	const struct region *as = region_find("AS923");
	ck_assert_int_eq(region_max_payload_rp(as, REGION_RP_1_0_3A, 2, NULL, &n), LB_OK);
	ck_assert_uint_eq(n, 51);
	ck_assert_int_eq(region_max_payload_rp(as, REGION_RP_1_0_3A, 2, &m, NULL), LB_OK);
	ck_assert_uint_eq(m, 59);
	ck_assert_int_eq(region_max_payload_rp(as, REGION_RP_1_0_3A, 8, &m, &n), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(region_max_payload_rp(as, REGION_RP_COUNT, 2, &m, &n), LB_ERR_INVAL);
	ck_assert_int_eq(region_max_payload_rp(NULL, REGION_RP_1_0_3A, 2, &m, &n), LB_ERR_INVAL);
}
END_TEST

/* Every other region's limits are the same in every revision. */
START_TEST(test_rp_other_regions_payload)
{
	size_t nr;
	const struct region *const *all = region_all(&nr);
	uint8_t m0, n0, m, n;

	for (size_t i = 0; i < nr; i++) {
		if (!strncmp(all[i]->name, "AS923", 5))
			continue;
		for (uint8_t d = 0; d < REGION_MAX_DR; d++) {
			int rc0 = region_max_payload(all[i], d, &m0, &n0);
			for (int rp = 0; rp < REGION_RP_COUNT; rp++) {
				enum region_rp v = (enum region_rp)rp;
				ck_assert_int_eq(region_max_payload_rp(all[i], v, d, &m, &n), rc0);
				if (rc0 == LB_OK) {
					ck_assert_uint_eq(m, m0);
					ck_assert_uint_eq(n, n0);
				}
			}
		}
	}
}
END_TEST

/* The default for a device without regional_parameters, by LoRaWAN 1.0.x
 * (ChirpStack's and The Things Stack's pairing), and the names. */
START_TEST(test_rp_default_and_names)
{
	ck_assert_int_eq(region_rp_default(0), REGION_RP_1_0_2B);
	ck_assert_int_eq(region_rp_default(1), REGION_RP_1_0_2B);
	ck_assert_int_eq(region_rp_default(2), REGION_RP_1_0_2B);
	ck_assert_int_eq(region_rp_default(3), REGION_RP_1_0_3A);
	ck_assert_int_eq(region_rp_default(4), REGION_RP002_1_0_4);
	ck_assert_int_eq(region_rp_default(9), REGION_RP002_1_0_4);
	ck_assert_int_eq(REGION_RP002_1_0_4, 0);   /* a zeroed input is RP002-1.0.4 */
	ck_assert_str_eq(region_rp_names[REGION_RP002_1_0_4], "RP002-1.0.4");
	ck_assert_str_eq(region_rp_names[REGION_RP002_1_0_0], "RP002-1.0.0");
	ck_assert_str_eq(region_rp_names[REGION_RP_1_0_3A], "1.0.3revA");
	ck_assert_str_eq(region_rp_names[REGION_RP_1_0_2B], "1.0.2revB");
	ck_assert_ptr_null(region_rp_names[REGION_RP_COUNT]);
	for (int i = 0; i < REGION_RP_COUNT; i++)
		ck_assert_ptr_nonnull(region_rp_names[i]);
}
END_TEST

/* CFList type 0 in AS923 (channels 2..6), KR920 and IN865 (channels 3..7):
 * 24-bit little-endian 100 Hz units, CFListType 0 (RP002-1.0.4 §2.10.4,
 * §2.11.4, §2.12.4). */
START_TEST(test_new_region_cflist)
{
	static const uint32_t as[5] = { 922000000, 922200000, 922400000, 922600000, 922800000 };
	static const uint8_t as_want[16] = { 0xa0, 0xaf, 0x8c, 0x70, 0xb7, 0x8c, 0x40, 0xbf,
					     0x8c, 0x10, 0xc7, 0x8c, 0xe0, 0xce, 0x8c, 0x00 };
	/* 865.0625 MHz = 8650625 * 100 Hz = 0x83FF81 */
	static const uint32_t in[1] = { 865062500 };
	static const uint8_t in_want[16] = { 0x81, 0xff, 0x83, 0, 0, 0, 0, 0,
					     0, 0, 0, 0, 0, 0, 0, 0x00 };
	static const uint32_t kr[2] = { 922700000, 922900000 };
	uint8_t out[REGION_CFLIST_LEN];

	ck_assert_int_eq(region_cflist_freq(region_find("AS923-1"), as, 5, out), LB_OK);
	ck_assert_mem_eq(out, as_want, sizeof(as_want));
	ck_assert_int_eq(region_cflist_freq(region_find("IN865"), in, 1, out), LB_OK);
	ck_assert_mem_eq(out, in_want, sizeof(in_want));
	ck_assert_int_eq(region_cflist_freq(region_find("KR920"), kr, 2, out), LB_OK);
	ck_assert_uint_eq(out[0] | out[1] << 8 | out[2] << 16, 9227000);
	/* AS923-2's band ends at 923 MHz: AS923-1's channels are outside */
	ck_assert_int_eq(region_cflist_freq(region_find("AS923-2"), as, 5, out), LB_OK);
	static const uint32_t as1_ch1[1] = { 923400000 };
	ck_assert_int_eq(region_cflist_freq(region_find("AS923-2"), as1_ch1, 1, out),
			 LB_ERR_RANGE);
	ck_assert_int_eq(region_cflist_freq(region_find("KR920"), in, 1, out), LB_ERR_RANGE);
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
	tcase_add_test(tc, test_au915_lrfhss_dr7);
	tcase_add_test(tc, test_au915_dwell);
	tcase_add_test(tc, test_rx2);
	tcase_add_test(tc, test_dr_lookup_eu868);
	tcase_add_test(tc, test_dr_lookup_us915);
	tcase_add_test(tc, test_max_payload);
	tcase_add_loop_test(tc, test_eu868_subbands, 0, (int)(sizeof(eu_sb) / sizeof(eu_sb[0])));
	tcase_add_test(tc, test_us915_subband_power_dwell);
	tcase_add_test(tc, test_dc_off);
	tcase_add_test(tc, test_cflist_freq);
	tcase_add_test(tc, test_cflist_chmask);
	tcase_add_loop_test(tc, test_new_region_channels, 0, N_NEW_REGIONS);
	tcase_add_loop_test(tc, test_new_region_drs, 0, N_NEW_REGIONS);
	tcase_add_loop_test(tc, test_new_region_rx1, 0, N_NEW_REGIONS);
	tcase_add_test(tc, test_as923_dwell_airtime);
	tcase_add_test(tc, test_au915_dwell_airtime);
	tcase_add_test(tc, test_device_uplink_dwell);
	tcase_add_test(tc, test_new_region_cases);
	tcase_add_test(tc, test_new_region_cflist);
	tcase_add_test(tc, test_rp_as923_rx1);
	tcase_add_test(tc, test_rp_in865_rx1);
	tcase_add_test(tc, test_rp_other_regions_rx1);
	tcase_add_test(tc, test_rp_as923_payload);
	tcase_add_test(tc, test_rp_other_regions_payload);
	tcase_add_test(tc, test_rp_default_and_names);
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
