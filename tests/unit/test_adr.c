/* SPDX-License-Identifier: MIT */
/*
 * test_adr.c - the network's ADR rule (mac/adr.h), worked by hand from the
 * rule of Semtech's "LoRaWAN - simple rate adaptation recommended
 * algorithm"; the step table of ChirpStack's default algorithm
 * (chirpstack/src/adr/default.rs, test_get_ideal_tx_power_index_and_dr)
 * is replayed through margins that give the same number of steps.
 * Required SNR by SF: the demodulation floors of LinkCheckAns (SF7 -7.5 ...
 * SF12 -20 dB).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/lb_err.h"
#include "lorawan/region.h"
#include "mac/adr.h"
#include "testutil.h"

static struct adr_history hist;

static void fill(float snr, uint8_t power, int n)
{
	adr_history_clear(&hist);
	for (int i = 0; i < n; i++)
		adr_history_add(&hist, snr, power);
}

static struct adr_out run(const char *region, uint8_t dr, uint8_t power, double margin)
{
	struct adr_in in = {.region = region_find(region), .hist = &hist, .dr = dr,
			    .tx_power = power, .nb_trans = 1, .margin_db = margin};
	struct adr_out out;
	ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
	return out;
}

START_TEST(test_limits)
{
	const struct region *eu = region_find("EU868"), *us = region_find("US915"),
			    *au = region_find("AU915");
	double db;

	ck_assert_int_eq(adr_max_dr(eu), 5);
	ck_assert_int_eq(adr_max_dr(us), 3);   /* DR4 is SF8 BW500 */
	ck_assert_int_eq(adr_max_dr(au), 5);
	ck_assert_uint_eq(adr_max_tx_power(eu, REGION_RP002_1_0_4), 7);
	ck_assert_uint_eq(adr_max_tx_power(us, REGION_RP002_1_0_4), 14);
	ck_assert_int_eq(adr_required_snr_db(eu, 0, &db), LB_OK);
	ck_assert(db == -20.0);
	ck_assert_int_eq(adr_required_snr_db(eu, 5, &db), LB_OK);
	ck_assert(db == -7.5);
	ck_assert_int_eq(adr_required_snr_db(us, 3, &db), LB_OK);
	ck_assert(db == -7.5);                  /* US915 DR3 is SF7 */
	ck_assert_int_eq(adr_required_snr_db(eu, 7, &db), LB_ERR_NOT_FOUND); /* FSK */
	ck_assert_int_eq(adr_required_snr_db(us, 8, &db), LB_ERR_NOT_FOUND); /* downlink only */
}
END_TEST

/* EU868, margin 10: SF12 (-20 dB) heard at +5 dB has 15 dB to spare, 5
 * steps: DR0 -> DR5, power untouched. */
START_TEST(test_dr_first)
{
	fill(5.0f, 0, 1);
	struct adr_out o = run("EU868", 0, 0, 10);
	ck_assert_int_eq(o.steps, 5);
	ck_assert_uint_eq(o.dr, 5);
	ck_assert_uint_eq(o.tx_power, 0);
	ck_assert_uint_eq(o.nb_trans, 1);
}
END_TEST

/* +9 dB: 19 dB, 6 steps: DR5 and one TX power index. */
START_TEST(test_then_power)
{
	fill(9.0f, 0, 1);
	struct adr_out o = run("EU868", 0, 0, 10);
	ck_assert_int_eq(o.steps, 6);
	ck_assert_uint_eq(o.dr, 5);
	ck_assert_uint_eq(o.tx_power, 1);
	/* +40 dB: power stops at the region's last index (7). */
	fill(40.0f, 0, 1);
	o = run("EU868", 0, 0, 10);
	ck_assert_uint_eq(o.dr, 5);
	ck_assert_uint_eq(o.tx_power, 7);
}
END_TEST

/* Never below the margin: 2.9 dB over is no step, 3 dB is one. */
START_TEST(test_margin_kept)
{
	fill(-7.1f, 0, 1);
	struct adr_out o = run("EU868", 0, 0, 10);
	ck_assert_int_eq(o.steps, 0);
	ck_assert_uint_eq(o.dr, 0);
	fill(-7.0f, 0, 1);
	o = run("EU868", 0, 0, 10);
	ck_assert_int_eq(o.steps, 1);
	ck_assert_uint_eq(o.dr, 1);
	/* The best frame of the window counts. */
	adr_history_clear(&hist);
	adr_history_add(&hist, -15.0f, 0);
	adr_history_add(&hist, -1.0f, 0);
	adr_history_add(&hist, -12.0f, 0);
	o = run("EU868", 0, 0, 10);
	ck_assert_int_eq(o.steps, 3);           /* -1 + 20 - 10 = 9 */
	ck_assert_uint_eq(o.dr, 3);
}
END_TEST

/* ChirpStack's table (max DR 5, max power index 5 there; here EU868 with
 * DR5 and power 7, the cases stay inside both). Margin 3n + 1 dB gives n
 * steps at DR d: SNR = required(d) + 10 + 3n + 1. */
START_TEST(test_chirpstack_table)
{
	static const struct {
		int steps;
		uint8_t power, dr, want_power, want_dr;
	} t[] = {
		{0, 1, 3, 1, 3}, {1, 1, 4, 1, 5}, {1, 1, 5, 2, 5}, {2, 1, 3, 1, 5},
		{2, 1, 4, 2, 5}, {2, 1, 5, 3, 5}, {-1, 1, 5, 0, 5},
	};
	static const double req[] = {-20, -17.5, -15, -12.5, -10, -7.5};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		float snr = (float)(req[t[i].dr] + 10 + 3 * t[i].steps + 1);
		fill(snr, t[i].power, ADR_HISTORY);
		struct adr_out o = run("EU868", t[i].dr, t[i].power, 10);
		ck_assert_int_eq(o.steps, t[i].steps);
		ck_assert_uint_eq(o.dr, t[i].want_dr);
		ck_assert_uint_eq(o.tx_power, t[i].want_power);
	}
}
END_TEST

/* The link degrades: DR5 at power 3, frames at -12 dB: -12 + 7.5 - 10 =
 * -14.5, floor(-4.83) = -5 steps: power 3 -> 0 (3), then DR5 -> DR3 (2).
 * ChirpStack would stop at power 0 (it never lowers the DR). */
START_TEST(test_back_down)
{
	fill(-12.0f, 3, ADR_HISTORY);
	struct adr_out o = run("EU868", 5, 3, 10);
	ck_assert_int_eq(o.steps, -5);
	ck_assert_uint_eq(o.tx_power, 0);
	ck_assert_uint_eq(o.dr, 3);
	/* Not before the window is full: one weak frame changes nothing. */
	fill(-12.0f, 3, ADR_HISTORY - 1);
	o = run("EU868", 5, 3, 10);
	ck_assert_uint_eq(o.tx_power, 3);
	ck_assert_uint_eq(o.dr, 5);
	/* Floor, not truncation: -2 dB (0.5 + 7.5 - 10) is one step back. */
	fill(0.5f, 1, ADR_HISTORY);
	o = run("EU868", 5, 1, 10);
	ck_assert_int_eq(o.steps, -1);
	ck_assert_uint_eq(o.tx_power, 0);
}
END_TEST

/* Frames sent louder than now count less: +10 dB at power 0, now power 2
 * (4 dB quieter): 6 + 7.5 - 10 = 3.5, one step: power 3. */
START_TEST(test_normalised)
{
	fill(10.0f, 0, 1);
	struct adr_out o = run("EU868", 5, 2, 10);
	ck_assert(o.snr_max_db == 6.0);
	ck_assert_int_eq(o.steps, 1);
	ck_assert_uint_eq(o.tx_power, 3);
}
END_TEST

/* The ring keeps the last ADR_HISTORY frames: an old good frame leaves. */
START_TEST(test_window)
{
	adr_history_clear(&hist);
	adr_history_add(&hist, 20.0f, 0);
	for (int i = 0; i < ADR_HISTORY; i++)
		adr_history_add(&hist, -10.0f, 0);
	ck_assert_uint_eq(hist.n, ADR_HISTORY);
	struct adr_out o = run("EU868", 0, 0, 10);
	ck_assert(o.snr_max_db == -10.0);
	ck_assert_int_eq(o.steps, 0);
}
END_TEST

/* US915: ADR stays on the 125 kHz DRs (DR0 SF10 .. DR3 SF7); margin 0
 * here: 0 dB heard at SF10 (-15) is 5 steps, DR3 and power index 2. */
START_TEST(test_us915)
{
	fill(0.0f, 0, 1);
	struct adr_out o = run("US915", 0, 0, 0);
	ck_assert_int_eq(o.steps, 5);
	ck_assert_uint_eq(o.dr, 3);
	ck_assert_uint_eq(o.tx_power, 2);
}
END_TEST

START_TEST(test_errors)
{
	struct adr_out o;
	struct adr_in in = {.region = region_find("EU868"), .hist = &hist, .dr = 7};

	ck_assert_int_eq(adr_decide(NULL, &o), LB_ERR_INVAL);
	ck_assert_int_eq(adr_decide(&in, &o), LB_ERR_NOT_FOUND);  /* FSK: no ADR */
	adr_history_clear(&hist);
	in.dr = 2;
	ck_assert_int_eq(adr_decide(&in, &o), LB_OK);               /* nothing known yet */
	ck_assert_uint_eq(o.dr, 2);
	ck_assert_int_eq(o.steps, 0);
}
END_TEST

/* A frame takes 16 bits: an SNR a gateway reports (0.1 dB precision,
 * Semtech PROTOCOL.TXT) comes back as the very float it was given, so
 * every decision is what it was with floats kept whole. */
START_TEST(test_history_compact)
{
	struct adr_history h;
	char text[16];

	ck_assert_uint_le(sizeof(struct adr_history), 2 * ADR_HISTORY + 2);
	for (int ds = -2048; ds <= 2047; ds++) {
		snprintf(text, sizeof(text), "%.1f", ds / 10.0);
		float snr = (float)strtod(text, NULL);        /* as the GWMP parser gives it */
		uint8_t power = (uint8_t)(ds & 15);
		adr_history_clear(&h);
		adr_history_add(&h, snr, power);
		ck_assert_uint_eq(h.n, 1);
		ck_assert_msg(adr_history_snr(&h, 0) == snr, "%s", text);
		ck_assert_uint_eq(adr_history_tx_power(&h, 0), power);
	}
	/* Outside the range: clamped; NaN: the lowest. */
	adr_history_clear(&h);
	adr_history_add(&h, 300.0f, 3);
	adr_history_add(&h, -300.0f, 3);
	adr_history_add(&h, NAN, 3);
	adr_history_add(&h, 7.25f, 20);                   /* to the nearest 0.1 dB; index 15 */
	ck_assert(adr_history_snr(&h, 0) == 204.7f);
	ck_assert(adr_history_snr(&h, 1) == -204.8f);
	ck_assert(adr_history_snr(&h, 2) == -204.8f);
	ck_assert(adr_history_snr(&h, 3) == 7.3f);
	ck_assert_uint_eq(adr_history_tx_power(&h, 3), 15);
}
END_TEST

/* AS923 with UplinkDwellTime = 1 (region_dwell_time.uplink, the default)
 * has no uplink DR0/DR1 (RP002-1.0.4 §2.10.3, §2.10.6: M "N/A"): a weak
 * link at DR2 and full power stays at DR2, where the device would refuse
 * DR1 (DataRateACK = 0). Without dwell it goes down to DR1; the fastest DR
 * is DR5 either way. */
START_TEST(test_as923_dwell_floor)
{
	struct region as923, plain;

	ck_assert_int_eq(region_configure(region_find("AS923-1"), true, false, &as923), LB_OK);
	ck_assert_int_eq(region_configure(region_find("AS923-1"), false, false, &plain), LB_OK);
	for (unsigned v = 0; v <= 4; v++) {     /* every LoRaWAN 1.0.x in AS923 */
		ck_assert_int_eq(adr_min_dr(&as923, v), 2);
		ck_assert_int_eq(adr_min_dr(&plain, v), 0);
		ck_assert_int_eq(adr_min_dr(region_find("EU868"), v), 0);
	}
	ck_assert_int_eq(adr_max_dr(&as923), 5);
	ck_assert_int_eq(adr_max_dr(&plain), 5);
	ck_assert_int_eq(adr_min_dr(NULL, 3), LB_ERR_INVAL);

	fill(-20.0f, 0, ADR_HISTORY);           /* weak link */
	struct adr_in in = {.region = &as923, .hist = &hist, .dr = 2, .tx_power = 0,
			    .nb_trans = 1, .margin_db = 10};
	struct adr_out out;
	ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
	ck_assert_int_lt(out.steps, 0);
	ck_assert_uint_eq(out.dr, 2);
	ck_assert_uint_eq(out.tx_power, 0);
	in.dr = 4;                               /* down to DR2, not below */
	ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
	ck_assert_uint_eq(out.dr, 2);
	in.region = &plain;
	in.dr = 2;
	ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
	ck_assert_uint_lt(out.dr, 2);
}
END_TEST

/* AU915 (RP002-1.0.4 §2.8.2, §2.8.3, §2.8.6): devices of LoRaWAN 1.0.3 and
 * later start with UplinkDwellTime = 1, no DR0/DR1, so ADR holds a weak
 * link at DR2; those of 1.0.0 .. 1.0.2 (Regional Parameters 1.0.2revB) have
 * no dwell limit and go down to DR0/DR1. */
START_TEST(test_au915_dwell_floor)
{
	struct region au915;

	ck_assert_int_eq(region_configure(region_find("AU915"), true, false, &au915), LB_OK);
	for (unsigned v = 0; v <= 4; v++)
		ck_assert_int_eq(adr_min_dr(&au915, v), v >= 3 ? 2 : 0);
	ck_assert_int_eq(adr_min_dr(region_find("AU915"), 3), 0);   /* uplink dwell off */
	ck_assert_int_eq(adr_max_dr(&au915), 5);

	fill(-20.0f, 0, ADR_HISTORY);           /* weak link */
	struct adr_in in = {.region = &au915, .hist = &hist, .dr = 2, .tx_power = 0,
			    .nb_trans = 1, .margin_db = 10, .lorawan_minor = 3};
	struct adr_out out;
	ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
	ck_assert_int_lt(out.steps, 0);
	ck_assert_uint_eq(out.dr, 2);
	ck_assert_uint_eq(out.tx_power, 0);
	in.dr = 5;                               /* down to DR2, not below */
	ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
	ck_assert_uint_eq(out.dr, 2);
	in.lorawan_minor = 4;
	ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
	ck_assert_uint_eq(out.dr, 2);
	in.lorawan_minor = 2;                    /* 1.0.2: DR1 or DR0 */
	in.dr = 2;
	ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
	ck_assert_uint_lt(out.dr, 2);
	in.dr = 1;
	ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
	ck_assert_uint_eq(out.dr, 0);
}
END_TEST

/* A dwell-limited device found at DR0 (AS923; AU915 from LoRaWAN 1.0.3) with
 * a margin for one step is asked for DR2, not DR1: both are "N/A" in its
 * dwell column (RP002-1.0.4 §2.10.6, §2.8.6), and a DR it cannot use makes
 * it refuse the whole LinkADRReq block (TS001-1.0.4 §5.2). A device without
 * the dwell limit steps one DR. */
START_TEST(test_dwell_step_up_from_dr0)
{
	struct region as923, au915;

	ck_assert_int_eq(region_configure(region_find("AS923-1"), true, false, &as923), LB_OK);
	ck_assert_int_eq(region_configure(region_find("AU915"), true, false, &au915), LB_OK);
	fill(-6.0f, 0, ADR_HISTORY);            /* SF12 needs -20 dB: 14 - 10 = 4 dB, 1 step */
	struct adr_in in = {.region = &as923, .hist = &hist, .dr = 0, .tx_power = 0,
			    .nb_trans = 1, .margin_db = 10, .lorawan_minor = 3};
	struct adr_out out;
	ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
	ck_assert_int_eq(out.steps, 1);
	ck_assert_uint_ge(out.dr, 2);
	ck_assert_uint_eq(out.tx_power, 0);
	in.region = &au915;
	ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
	ck_assert_uint_ge(out.dr, 2);
	in.lorawan_minor = 2;                    /* 1.0.2: no dwell limit, DR0 -> DR1 */
	in.dr = 0;
	ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
	ck_assert_uint_eq(out.dr, 1);
}
END_TEST

/* A device the bridge takes as dwell-limited (AU915 from LoRaWAN 1.0.3,
 * AS923) but heard at DR0/DR1 with a weak link: ADR's negative steps raise
 * its power (TXPower index down) and keep its DR: the bridge asks no DR
 * below its floor DR2 of such a device (so not DR0 from DR1), and DR2
 * would be a faster DR with less margin still. With one step to spare
 * it goes straight to DR2 (test_dwell_step_up_from_dr0). Without the dwell
 * limit (1.0.2) the same link from DR1 goes down to DR0 once the power is
 * at its maximum. Required SNR: SF11 (DR1) -17.5 dB, SF12 (DR0) -20 dB;
 * margin 10 dB. */
START_TEST(test_dwell_step_down_below_dr2_keeps_dr)
{
	struct region as923, au915;
	struct adr_out out;

	ck_assert_int_eq(region_configure(region_find("AS923-1"), true, false, &as923), LB_OK);
	ck_assert_int_eq(region_configure(region_find("AU915"), true, false, &au915), LB_OK);
	const struct region *dwell[] = {&au915, &as923};
	for (size_t i = 0; i < 2; i++) {
		struct adr_in in = {.region = dwell[i], .hist = &hist, .dr = 1, .tx_power = 3,
				    .nb_trans = 1, .margin_db = 10, .lorawan_minor = 3};
		fill(-12.0f, 3, ADR_HISTORY);       /* -12 + 17.5 - 10 = -4.5 dB: 2 steps */
		ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
		ck_assert_int_eq(out.steps, -2);
		ck_assert_uint_eq(out.dr, 1);
		ck_assert_uint_eq(out.tx_power, 1);
		fill(-25.0f, 3, ADR_HISTORY);       /* -17.5 dB: 6 steps, 3 of power */
		ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
		ck_assert_int_eq(out.steps, -6);
		ck_assert_uint_eq(out.dr, 1);
		ck_assert_uint_eq(out.tx_power, 0);
		in.dr = 0;                          /* -15 dB: 5 steps */
		ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
		ck_assert_int_eq(out.steps, -5);
		ck_assert_uint_eq(out.dr, 0);
		ck_assert_uint_eq(out.tx_power, 0);
		/* From there, one step up: DR2, the power kept. */
		in.dr = 1;
		in.tx_power = 0;
		fill(-4.0f, 0, ADR_HISTORY);        /* -4 + 17.5 - 10 = 3.5 dB: 1 step */
		ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
		ck_assert_int_eq(out.steps, 1);
		ck_assert_uint_eq(out.dr, 2);
		ck_assert_uint_eq(out.tx_power, 0);
		in.dr = 0;
		fill(-6.0f, 0, ADR_HISTORY);        /* -6 + 20 - 10 = 4 dB: 1 step */
		ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
		ck_assert_int_eq(out.steps, 1);
		ck_assert_uint_eq(out.dr, 2);
		ck_assert_uint_eq(out.tx_power, 0);
	}
	struct adr_in in = {.region = &au915, .hist = &hist, .dr = 1, .tx_power = 3,
			    .nb_trans = 1, .margin_db = 10, .lorawan_minor = 2};
	fill(-25.0f, 3, ADR_HISTORY);
	ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
	ck_assert_uint_eq(out.dr, 0);
	ck_assert_uint_eq(out.tx_power, 0);
}
END_TEST

/* The last TXPower index is the device's revision's: US902-928 and
 * AU915-928 end at 10 in Regional Parameters 1.0.2revB (v1.0.2revB §2.2.3,
 * §2.5.3), at 14 in 1.0.3revA and RP002-1.0.4 (§2.5.3, §2.8.3); a strong
 * link at the fastest DR steps the power down to that index, and an index
 * past it is brought back. Other regions' tables are the same in every
 * revision. */
START_TEST(test_tx_power_of_revision)
{
	static const char *const grid[] = {"US915", "AU915"};
	static const uint8_t fastest[] = {3, 5};

	for (size_t i = 0; i < 2; i++) {
		const struct region *r = region_find(grid[i]);
		ck_assert_uint_eq(adr_max_tx_power(r, REGION_RP002_1_0_4), 14);
		ck_assert_uint_eq(adr_max_tx_power(r, REGION_RP002_1_0_0), 14);
		ck_assert_uint_eq(adr_max_tx_power(r, REGION_RP_1_0_3A), 14);
		ck_assert_uint_eq(adr_max_tx_power(r, REGION_RP_1_0_2B), 10);
		fill(30.0f, 8, ADR_HISTORY);        /* SF7: 30 + 7.5 - 10 = 27.5 dB, 9 steps */
		struct adr_in in = {.region = r, .hist = &hist, .dr = fastest[i], .tx_power = 8,
				    .nb_trans = 1, .margin_db = 10, .lorawan_minor = 3,
				    .rp = REGION_RP_1_0_3A};
		struct adr_out out;
		ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
		ck_assert_int_eq(out.steps, 9);
		ck_assert_uint_eq(out.dr, fastest[i]);
		ck_assert_uint_eq(out.tx_power, 14);
		in.lorawan_minor = 2;
		in.rp = REGION_RP_1_0_2B;
		ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
		ck_assert_uint_eq(out.tx_power, 10);
		in.tx_power = 12;                   /* told 12 before: back into the table */
		fill(3.0f, 12, ADR_HISTORY);        /* 3 + 7.5 - 10 = 0.5 dB: 0 steps */
		ck_assert_int_eq(adr_decide(&in, &out), LB_OK);
		ck_assert_int_eq(out.steps, 0);
		ck_assert_uint_eq(out.tx_power, 10);
	}
	const char *same[] = {"EU868", "AS923", "KR920", "IN865"};
	for (size_t i = 0; i < 4; i++)
		ck_assert_uint_eq(adr_max_tx_power(region_find(same[i]), REGION_RP_1_0_2B),
				  adr_max_tx_power(region_find(same[i]), REGION_RP002_1_0_4));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("adr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_tx_power_of_revision);
	tcase_add_test(tc, test_as923_dwell_floor);
	tcase_add_test(tc, test_au915_dwell_floor);
	tcase_add_test(tc, test_dwell_step_up_from_dr0);
	tcase_add_test(tc, test_dwell_step_down_below_dr2_keeps_dr);
	tcase_add_test(tc, test_dr_first);
	tcase_add_test(tc, test_then_power);
	tcase_add_test(tc, test_margin_kept);
	tcase_add_test(tc, test_chirpstack_table);
	tcase_add_test(tc, test_back_down);
	tcase_add_test(tc, test_normalised);
	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_us915);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_history_compact);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
