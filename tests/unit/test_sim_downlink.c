/* SPDX-License-Identifier: MIT */
/*
 * test_sim_downlink.c - unit tests of the simulator's device side of OTAA
 * and downlinks (packet_forwarder/sim/sim_otaa.c, sim_downlink.c,
 * sim_dlcheck.c): join-request and key derivation against the published
 * vectors V4, V5 (chirpstack/chirpstack lrwn/src/phy_payload.rs) and V6
 * (lrwn/src/keys.rs, plus a key pair computed with OpenSSL), the join-accept
 * rules, receive windows (EU868, RP002-1.0.4 "EU863-870 Receive Windows"),
 * opening data downlinks built with lorawan_build_data() and the V3
 * encryption vector (lorawan-stack pkg/crypto/data_messages_test.go),
 * and the PULL_RESP hook on gateways without sockets.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "mac/join.h"
#include "base/lb_err.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "lorawan/region.h"
#include "../../packet_forwarder/sim/sim_devices.h"
#include "../../packet_forwarder/sim/sim_dlcheck.h"
#include "../../packet_forwarder/sim/sim_downlink.h"
#include "../../packet_forwarder/sim/sim_gateway.h"
#include "../../packet_forwarder/sim/sim_opts.h"
#include "../../packet_forwarder/sim/sim_otaa.h"
#include "../../packet_forwarder/sim/sim_stats.h"

/* V4/V5/V6 (chirpstack lrwn phy_payload.rs, keys.rs; the V6 keys
 * computed with OpenSSL complete the V4 + V5 join). */
static const char APP_KEY[] = "0102030405060708090a0b0c0d0e0f10";
static const char V4_JOIN_REQUEST[] = "00010101010101010102020202020202020303" "09b97b32";
static const char V5_ACCEPT[] = "2023cf335489aae3183c0be0baa8dee5f3";
static const char V6_NWK_S_KEY[] = "2db833b894589ee855275f2db014889d";
static const char V6_APP_S_KEY[] = "aef1d12682d0df1d7bfddcf8cde4e6ee";

#define EU868_RX2_HZ 869525000U
#define S 1000000U

static void unhex(const char *s, uint8_t *out, size_t len)
{
	ck_assert_int_eq(hex_decode(s, out, len), LB_OK);
}

static void assert_hex(const uint8_t *b, size_t len, const char *want)
{
	char hex[2 * LW_MAX_PHY + 1];

	ck_assert_int_ge(hex_encode(b, len, hex, sizeof(hex)), 0);
	ck_assert_str_eq(hex, want);
}

/* An OTAA device with the vectors' AppKey, prepared. */
static void otaa_device(struct sim_device *d)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->name, "otaa");
	d->otaa = true;
	d->join_eui = 0x0101010101010101ULL;
	d->dev_eui = 0x0202020202020202ULL;
	unhex(APP_KEY, d->app_key, LW_KEY_LEN);
	ck_assert_int_eq(lwcrypto_key_init(&d->app_key_k, d->app_key), LB_OK);
	d->state = SIM_DEV_UNJOINED;
	d->rx.rx1_delay_s = 1;
}

static void free_device(struct sim_device *d)
{
	lwcrypto_keys_free(&d->keys);
	lwcrypto_key_free(&d->app_key_k);
}

START_TEST(test_join_request_v4)
{
	struct sim_device d;
	struct sim_uplink up;

	otaa_device(&d);
	ck_assert_int_eq(sim_otaa_build_join(&d, 7, 0x0303, &up), LB_OK);
	ck_assert_uint_eq(up.phy_len, LW_LEN_JOIN_REQUEST);
	ck_assert_uint_eq(up.dev_idx, 7);
	assert_hex(up.phy, up.phy_len, V4_JOIN_REQUEST);
	d.otaa = false;
	ck_assert_int_eq(sim_otaa_build_join(&d, 7, 0x0303, &up), LB_ERR_STATE);
	free_device(&d);
}
END_TEST

/* V5 accept opened by the device, then V6's keys for DevNonce 0x0303. */
START_TEST(test_accept_derives_v6_keys)
{
	struct sim_device d;
	struct join_accept_params a;
	uint8_t phy[17];

	otaa_device(&d);
	d.fcnt = 9;
	d.has_fcnt_down = true;
	unhex(V5_ACCEPT, phy, sizeof(phy));
	ck_assert_int_eq(join_accept_open(phy, sizeof(phy), &d.app_key_k, &a), LB_OK);
	ck_assert_uint_eq(a.join_nonce, 0x010101);
	ck_assert_uint_eq(a.net_id, 0x020202);
	ck_assert_uint_eq(a.dev_addr, 0x01020304);
	ck_assert_int_eq(sim_otaa_apply_accept(&d, &a, 0x0303), LB_OK);
	assert_hex(d.nwk_s_key, LW_KEY_LEN, V6_NWK_S_KEY);
	assert_hex(d.app_s_key, LW_KEY_LEN, V6_APP_S_KEY);
	ck_assert(d.keys.nwk_s_key.ready && d.keys.app_s_key.ready);
	ck_assert_int_eq(d.state, SIM_DEV_ACTIVE);
	ck_assert_uint_eq(d.dev_addr, 0x01020304);
	ck_assert_uint_eq(d.fcnt, 0);
	ck_assert(!d.has_fcnt_down);
	ck_assert_uint_eq(d.rx.rx1_delay_s, 1);   /* RxDelay 0 means 1 s */
	ck_assert(d.has_join_nonce);
	ck_assert_uint_eq(d.join_nonce, 0x010101);
	/* The vector's NetID 020202 has RFU bits set: a strict device check refuses it. */
	char why[SIM_DL_WHY_LEN];
	d.has_join_nonce = false;
	ck_assert_int_eq(sim_otaa_check_accept(region_find("EU868"), &d, JOIN_V1_0_3, &a, why,
					       sizeof(why)), LB_ERR_RANGE);
	ck_assert_ptr_nonnull(strstr(why, "NetID 020202"));
	free_device(&d);
}
END_TEST

START_TEST(test_dev_nonces)
{
	struct sim_device d;
	uint64_t rng = 42;
	uint16_t seen[SIM_NONCE_MEMORY];

	otaa_device(&d);
	d.dev_nonce_next = 10;
	ck_assert_uint_eq(sim_otaa_next_nonce(&d, JOIN_V1_0_4, &rng), 10);
	ck_assert_uint_eq(sim_otaa_next_nonce(&d, JOIN_V1_0_4, &rng), 11);
	ck_assert_uint_eq(d.n_joins, 2);
	ck_assert_uint_eq(rng, 42);   /* counters draw nothing */
	d.n_joins = 0;
	for (size_t i = 0; i < SIM_NONCE_MEMORY; i++) {
		seen[i] = sim_otaa_next_nonce(&d, JOIN_V1_0_3, &rng);
		for (size_t j = 0; j < i; j++)
			ck_assert_uint_ne(seen[i], seen[j]);
	}
	ck_assert_uint_ne(rng, 42);
	free_device(&d);
}
END_TEST

START_TEST(test_check_accept_rules)
{
	const struct region *eu = region_find("EU868");
	struct sim_device d;
	char why[SIM_DL_WHY_LEN];
	struct join_accept_params a = {
		.join_nonce = 5, .net_id = 0x000013, .dev_addr = 0x26000001, .rx1_dr_offset = 5,
		.rx2_dr = 3, .rx_delay = 2,
	};

	otaa_device(&d);
	ck_assert_int_eq(sim_otaa_check_accept(eu, &d, JOIN_V1_0_3, &a, why, sizeof(why)), LB_OK);
	a.dev_addr = 0x48000001;
	ck_assert_int_eq(sim_otaa_check_accept(eu, &d, JOIN_V1_0_3, &a, why, sizeof(why)),
			 LB_ERR_RANGE);
	a.dev_addr = 0x27ffffff;
	d.has_join_nonce = true;
	d.join_nonce = 5;
	ck_assert_int_eq(sim_otaa_check_accept(eu, &d, JOIN_V1_0_3, &a, why, sizeof(why)),
			 LB_ERR_RANGE);   /* repeated */
	d.join_nonce = 4;
	ck_assert_int_eq(sim_otaa_check_accept(eu, &d, JOIN_V1_0_4, &a, why, sizeof(why)), LB_OK);
	d.join_nonce = 6;
	ck_assert_int_eq(sim_otaa_check_accept(eu, &d, JOIN_V1_0_3, &a, why, sizeof(why)), LB_OK);
	ck_assert_int_eq(sim_otaa_check_accept(eu, &d, JOIN_V1_0_4, &a, why, sizeof(why)),
			 LB_ERR_RANGE);   /* 1.0.4: must grow */
	d.has_join_nonce = false;
	a.rx1_dr_offset = 6;
	ck_assert_int_eq(sim_otaa_check_accept(eu, &d, JOIN_V1_0_3, &a, why, sizeof(why)),
			 LB_ERR_RANGE);
	a.rx1_dr_offset = 0;
	a.rx2_dr = 8;
	ck_assert_int_eq(sim_otaa_check_accept(eu, &d, JOIN_V1_0_3, &a, why, sizeof(why)),
			 LB_ERR_RANGE);
	a.rx2_dr = 0;
	/* CFList type 0: 867.1 MHz is fine, 915 MHz is not, type 1 is not EU868's. */
	const uint32_t f_ok = 8671000, f_bad = 9150000;  /* units of 100 Hz */
	a.has_cflist = true;
	a.cflist[0] = (uint8_t)f_ok, a.cflist[1] = (uint8_t)(f_ok >> 8), a.cflist[2] = (uint8_t)(f_ok >> 16);
	ck_assert_int_eq(sim_otaa_check_accept(eu, &d, JOIN_V1_0_3, &a, why, sizeof(why)), LB_OK);
	a.cflist[3] = (uint8_t)f_bad, a.cflist[4] = (uint8_t)(f_bad >> 8), a.cflist[5] = (uint8_t)(f_bad >> 16);
	ck_assert_int_eq(sim_otaa_check_accept(eu, &d, JOIN_V1_0_3, &a, why, sizeof(why)),
			 LB_ERR_RANGE);
	ck_assert_ptr_nonnull(strstr(why, "channel 4"));
	memset(a.cflist + 3, 0, 3);
	a.cflist[15] = 1;
	ck_assert_int_eq(sim_otaa_check_accept(eu, &d, JOIN_V1_0_3, &a, why, sizeof(why)),
			 LB_ERR_RANGE);
	/* US915, CFList type 1 (RP002-1.0.4 §2.3.2): sub-band 2 is fine for a
	 * 1.0.3 device; not for a 1.0.2 one (RP 1.0.2revB has none), not as
	 * type 0, not with RFU bits, not with no channel on. */
	const struct region *us = region_find("US915");
	static const uint8_t sb2[JOIN_LEN_CFLIST] = {0x00, 0xff, 0, 0, 0, 0, 0, 0, 0x02, 0x00,
						     0, 0, 0, 0, 0, 0x01};
	a.rx2_dr = 8;
	memcpy(a.cflist, sb2, sizeof(sb2));
	ck_assert_int_eq(sim_otaa_check_accept(us, &d, JOIN_V1_0_3, &a, why, sizeof(why)), LB_OK);
	ck_assert_int_eq(sim_otaa_check_accept(us, &d, JOIN_V1_0_2, &a, why, sizeof(why)),
			 LB_ERR_RANGE);
	ck_assert_ptr_nonnull(strstr(why, "1.0.2"));
	a.cflist[15] = 0;
	ck_assert_int_eq(sim_otaa_check_accept(us, &d, JOIN_V1_0_3, &a, why, sizeof(why)),
			 LB_ERR_RANGE);
	a.cflist[15] = 1;
	a.cflist[9] = 0x01;                          /* channel 72 */
	ck_assert_int_eq(sim_otaa_check_accept(us, &d, JOIN_V1_0_3, &a, why, sizeof(why)),
			 LB_ERR_RANGE);
	a.cflist[9] = 0;
	a.cflist[12] = 0x01;
	ck_assert_int_eq(sim_otaa_check_accept(us, &d, JOIN_V1_0_3, &a, why, sizeof(why)),
			 LB_ERR_RANGE);
	memset(a.cflist, 0, 15);
	ck_assert_int_eq(sim_otaa_check_accept(us, &d, JOIN_V1_0_3, &a, why, sizeof(why)),
			 LB_ERR_RANGE);
	free_device(&d);
}
END_TEST

static struct gwmp_txpk txpk(uint32_t tmst, uint32_t freq_hz, uint8_t sf, uint16_t size)
{
	struct gwmp_txpk tx = {
		.has_tmst = true, .tmst = tmst, .freq_hz = freq_hz, .modu = GWMP_MOD_LORA,
		.sf = sf, .bw_khz = 125, .cr = 1, .ipol = true, .size = size,
	};
	return tx;
}

static int radio(const struct sim_dl_uplink *up, const struct sim_rx_params *rx,
		 const struct gwmp_txpk *tx, enum sim_dl_window *w)
{
	char why[SIM_DL_WHY_LEN];

	return sim_dl_check_radio(region_find("EU868"), up, rx, tx, w, why, sizeof(why));
}

START_TEST(test_windows)
{
	/* The uplink ends 0.5 s before the counter wraps: RX1/RX2 wrap. */
	struct sim_dl_uplink up = {.tmst = 0xfff85ee0, .freq_hz = 868300000, .sf = 7};
	struct sim_rx_params rx = {.rx1_delay_s = 1};
	enum sim_dl_window w;
	struct gwmp_txpk tx = txpk(up.tmst + S, 868300000, 7, 20);

	ck_assert_uint_lt(tx.tmst, up.tmst);
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_OK);
	ck_assert_int_eq(w, SIM_DL_RX1);
	tx = txpk(up.tmst + 2 * S, EU868_RX2_HZ, 12, 20);
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_OK);
	ck_assert_int_eq(w, SIM_DL_RX2);
	tx.tmst += 1;
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_ERR_RANGE);
	ck_assert_int_eq(w, SIM_DL_NO_WINDOW);
	tx = txpk(up.tmst + 2 * S, EU868_RX2_HZ, 9, 20);    /* RX2 DR0 expected */
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_ERR_MALFORMED);
	rx.rx2_dr = 3;                                      /* now SF9 is right */
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_OK);
	tx = txpk(up.tmst + S, 868100000, 7, 20);           /* wrong RX1 frequency */
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_ERR_MALFORMED);
	tx = txpk(up.tmst + S, 868300000, 7, 20);
	tx.ipol = false;
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_ERR_MALFORMED);
	tx = txpk(up.tmst + S, 868300000, 7, 20);
	tx.imme = true;
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_ERR_RANGE);
}
END_TEST

/* An AS923 device of Regional Parameters 1.0.3revA listens in RX1 at DR5 at
 * most (v1.0.3revA §2.8.7): after a DR6 (SF7BW250) uplink it takes SF7BW125,
 * an RP002-1.0.4 device SF7BW250 (§2.10.7); and at DR2 at most 64 bytes
 * (M 59, §2.8.6) where RP002-1.0.4 takes 128. */
START_TEST(test_regional_parameters)
{
	const struct region *as = region_find("AS923");
	char why[SIM_DL_WHY_LEN];
	enum sim_dl_window w;
	struct sim_dl_uplink up = {.tmst = 1000, .freq_hz = 923200000, .sf = 7, .bw_khz = 250};
	struct sim_rx_params rx = {.rx1_delay_s = 1, .rx2_dr = 2};
	struct gwmp_txpk tx = txpk(up.tmst + S, 923200000, 7, 20);

	tx.bw_khz = 250;
	ck_assert_int_eq(sim_dl_check_radio(as, &up, &rx, &tx, &w, why, sizeof(why)), LB_OK);
	up.rp = REGION_RP_1_0_3A;
	ck_assert_int_eq(sim_dl_check_radio(as, &up, &rx, &tx, &w, why, sizeof(why)),
			 LB_ERR_MALFORMED);
	tx.bw_khz = 125;
	ck_assert_int_eq(sim_dl_check_radio(as, &up, &rx, &tx, &w, why, sizeof(why)), LB_OK);
	ck_assert_int_eq(w, SIM_DL_RX1);
	/* RX2 at DR2 (SF10): 70 bytes fit RP002-1.0.4, not 1.0.3revA */
	tx = txpk(up.tmst + 2 * S, 923200000, 10, 70);
	ck_assert_int_eq(sim_dl_check_radio(as, &up, &rx, &tx, &w, why, sizeof(why)),
			 LB_ERR_MALFORMED);
	up.rp = REGION_RP002_1_0_4;
	ck_assert_int_eq(sim_dl_check_radio(as, &up, &rx, &tx, &w, why, sizeof(why)), LB_OK);
	ck_assert_int_eq(w, SIM_DL_RX2);
	tx.imme = true;
	tx.has_tmst = false;
	ck_assert_int_eq(sim_dl_check_rxc(as, REGION_RP002_1_0_4, &rx, &tx, why, sizeof(why)),
			 LB_OK);
	ck_assert_int_eq(sim_dl_check_rxc(as, REGION_RP_1_0_3A, &rx, &tx, why, sizeof(why)),
			 LB_ERR_MALFORMED);
}
END_TEST

/* US915/AU915 RX1 (RP002-1.0.4 §2.5.7, §2.8.7): downlink channel = uplink
 * channel mod 8 at 923.3 + 0.6 n MHz, SF?BW500 per the RX1 table; RX2
 * 923.3 MHz DR8 (SF12BW500). */
START_TEST(test_grid_windows)
{
	const struct region *us = region_find("US915"), *au = region_find("AU915");
	char why[SIM_DL_WHY_LEN];
	enum sim_dl_window w;
	/* channel 9 (904.1 MHz) at DR3 (SF7BW125): RX1 923.9 MHz DR13 (SF7BW500) */
	struct sim_dl_uplink up = {.tmst = 1000, .freq_hz = 904100000, .sf = 7, .bw_khz = 125,
				   .grid = true, .ch = 9};
	struct sim_rx_params rx = {.rx1_delay_s = 1, .rx2_dr = 8};
	struct gwmp_txpk tx = txpk(up.tmst + S, 923900000, 7, 20);

	tx.bw_khz = 500;
	ck_assert_int_eq(sim_dl_check_radio(us, &up, &rx, &tx, &w, why, sizeof(why)), LB_OK);
	ck_assert_int_eq(w, SIM_DL_RX1);
	tx.freq_hz = 923300000;                             /* channel 0's */
	ck_assert_int_eq(sim_dl_check_radio(us, &up, &rx, &tx, &w, why, sizeof(why)),
			 LB_ERR_MALFORMED);
	tx.freq_hz = 904100000;                             /* the uplink's (EU868 rule) */
	ck_assert_int_eq(sim_dl_check_radio(us, &up, &rx, &tx, &w, why, sizeof(why)),
			 LB_ERR_MALFORMED);
	rx.rx1_dr_offset = 2;                               /* DR3 offset 2: DR11 = SF9 */
	tx = txpk(up.tmst + S, 923900000, 9, 20);
	tx.bw_khz = 500;
	ck_assert_int_eq(sim_dl_check_radio(us, &up, &rx, &tx, &w, why, sizeof(why)), LB_OK);
	tx = txpk(up.tmst + 2 * S, 923300000, 12, 20);      /* RX2 */
	tx.bw_khz = 500;
	ck_assert_int_eq(sim_dl_check_radio(us, &up, &rx, &tx, &w, why, sizeof(why)), LB_OK);
	ck_assert_int_eq(w, SIM_DL_RX2);
	/* channel 65 (904.6 MHz) at DR4 (SF8BW500), offset 0: 923.9 MHz DR13 */
	up = (struct sim_dl_uplink){.tmst = 1000, .freq_hz = 904600000, .sf = 8, .bw_khz = 500,
				    .grid = true, .ch = 65};
	rx.rx1_dr_offset = 0;
	tx = txpk(up.tmst + S, 923900000, 7, 20);
	tx.bw_khz = 500;
	ck_assert_int_eq(sim_dl_check_radio(us, &up, &rx, &tx, &w, why, sizeof(why)), LB_OK);
	tx.sf = 8;                                          /* DR12: the wrong row */
	ck_assert_int_eq(sim_dl_check_radio(us, &up, &rx, &tx, &w, why, sizeof(why)),
			 LB_ERR_MALFORMED);
	/* AU915 channel 71 (915.9 + 1.6 x 7 = 927.1 MHz) at DR6 (SF8BW500),
	 * offset 1: 927.5 MHz DR13; channel 8 at DR2 (SF10BW125): 923.3 MHz DR10 */
	up = (struct sim_dl_uplink){.tmst = 1000, .freq_hz = 927100000, .sf = 8, .bw_khz = 500,
				    .grid = true, .ch = 71};
	rx.rx1_dr_offset = 1;
	tx = txpk(up.tmst + S, 927500000, 7, 20);
	tx.bw_khz = 500;
	ck_assert_int_eq(sim_dl_check_radio(au, &up, &rx, &tx, &w, why, sizeof(why)), LB_OK);
	up = (struct sim_dl_uplink){.tmst = 1000, .freq_hz = 916800000, .sf = 10, .bw_khz = 125,
				    .grid = true, .ch = 8};
	rx.rx1_dr_offset = 0;
	tx = txpk(up.tmst + S, 923300000, 10, 20);
	tx.bw_khz = 500;
	ck_assert_int_eq(sim_dl_check_radio(au, &up, &rx, &tx, &w, why, sizeof(why)), LB_OK);
	rx.rx1_dr_offset = 6;                               /* AU915: offsets 0..5 */
	ck_assert_int_eq(sim_dl_check_radio(au, &up, &rx, &tx, &w, why, sizeof(why)),
			 LB_ERR_RANGE);
}
END_TEST

/* Class C: sent at once (imme) on the RX2 frequency and DR, at any time. */
START_TEST(test_rxc)
{
	const struct region *r = region_find("EU868");
	const enum region_rp rp = REGION_RP002_1_0_4;
	struct sim_rx_params rx = {.rx1_delay_s = 1, .rx2_dr = 3};
	char why[SIM_DL_WHY_LEN];
	struct gwmp_txpk tx = txpk(0, EU868_RX2_HZ, 9, 20);

	tx.imme = true;
	tx.has_tmst = false;
	ck_assert_int_eq(sim_dl_check_rxc(r, rp, &rx, &tx, why, sizeof(why)), LB_OK);
	tx.sf = 12;                                         /* DR0, but the device is at DR3 */
	ck_assert_int_eq(sim_dl_check_rxc(r, rp, &rx, &tx, why, sizeof(why)), LB_ERR_MALFORMED);
	tx = txpk(0, 868100000, 9, 20);                     /* not the RX2 frequency */
	tx.imme = true;
	ck_assert_int_eq(sim_dl_check_rxc(r, rp, &rx, &tx, why, sizeof(why)), LB_ERR_MALFORMED);
	tx = txpk(123456, EU868_RX2_HZ, 9, 20);             /* timed: not class C */
	ck_assert_int_eq(sim_dl_check_rxc(r, rp, &rx, &tx, why, sizeof(why)), LB_ERR_RANGE);
	ck_assert_str_eq(sim_dl_window_name(SIM_DL_RXC), "rxc");
}
END_TEST

START_TEST(test_windows_offset_delay_join)
{
	struct sim_dl_uplink up = {.tmst = 1000, .freq_hz = 868500000, .sf = 7};
	struct sim_rx_params rx = {.rx1_delay_s = 3, .rx1_dr_offset = 2, .rx2_dr = 0};
	enum sim_dl_window w;
	struct gwmp_txpk tx = txpk(1000 + 3 * S, 868500000, 9, 20);  /* DR5 - 2 = DR3 = SF9 */

	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_OK);
	ck_assert_int_eq(w, SIM_DL_RX1);
	tx.sf = 7;
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_ERR_MALFORMED);
	tx = txpk(1000 + 4 * S, EU868_RX2_HZ, 12, 20);
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_OK);
	ck_assert_int_eq(w, SIM_DL_RX2);
	tx = txpk(1000 + 1 * S, 868500000, 9, 20);                  /* the default delay */
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_ERR_RANGE);
	/* A join-accept: 5 / 6 s, RX1 offset 0 whatever the session says. */
	up.join = true;
	tx = txpk(1000 + 5 * S, 868500000, 7, 17);
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_OK);
	ck_assert_int_eq(w, SIM_DL_RX1);
	tx = txpk(1000 + 6 * S, EU868_RX2_HZ, 12, 17);
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_OK);
	ck_assert_int_eq(w, SIM_DL_RX2);
	/* DR0 carries at most M = 59, PHYPayload 64 bytes. */
	tx.size = 65;
	ck_assert_int_eq(radio(&up, &rx, &tx, &w), LB_ERR_MALFORMED);
}
END_TEST

/* V2 session keys for the data downlinks. */
static void session_keys(struct lw_keys *k)
{
	uint8_t nwk[16], app[16];

	unhex("0102030405060708090a0b0c0d0e0f10", nwk, 16);
	unhex("100f0e0d0c0b0a090807060504030201", app, 16);
	memset(k, 0, sizeof(*k));
	ck_assert_int_eq(lwcrypto_keys_init(k, nwk, app), LB_OK);
}

static size_t build_down(struct lw_keys *k, enum lw_mtype t, uint32_t fcnt, uint8_t fport,
			 const char *text, uint8_t fctrl, uint8_t *out)
{
	struct lw_data_params p = {
		.mtype = t, .dev_addr = 0x01020304, .fctrl_flags = fctrl, .fcnt = fcnt,
		.has_fport = true, .fport = fport, .payload = (const uint8_t *)text,
		.payload_len = strlen(text),
	};
	size_t len;

	ck_assert_int_eq(lorawan_build_data(&p, k, out, LW_MAX_PHY, &len), LB_OK);
	return len;
}

START_TEST(test_open_data)
{
	struct lw_keys k;
	struct sim_dl_session s = {.dev_addr = 0x01020304, .keys = &k};
	struct sim_dl_frame f;
	uint8_t phy[LW_MAX_PHY];

	session_keys(&k);
	size_t len = build_down(&k, LW_MTYPE_CONFIRMED_DOWN, 5, 10, "hello", 0x20, phy);
	ck_assert_int_eq(sim_dl_open_data(&s, phy, len, &f), LB_OK);
	ck_assert(f.confirmed && f.ack && !f.fpending && f.has_fport);
	ck_assert_uint_eq(f.fcnt, 5);
	ck_assert_uint_eq(f.fport, 10);
	ck_assert_uint_eq(f.payload_len, 5);
	ck_assert_mem_eq(f.payload, "hello", 5);
	s.has_fcnt_down = true;
	s.fcnt_down = 4;
	ck_assert_int_eq(sim_dl_open_data(&s, phy, len, &f), LB_OK);
	s.fcnt_down = 5;
	ck_assert_int_eq(sim_dl_open_data(&s, phy, len, &f), LB_ERR_REPLAY);
	s.fcnt_down = 6;
	ck_assert_int_eq(sim_dl_open_data(&s, phy, len, &f), LB_ERR_REPLAY);
	ck_assert_uint_eq(f.fcnt, 5);
	s.dev_addr = 0x01020305;
	ck_assert_int_eq(sim_dl_open_data(&s, phy, len, &f), LB_ERR_NOT_FOUND);
	s.dev_addr = 0x01020304;
	s.has_fcnt_down = false;
	phy[len - 1] ^= 1;
	ck_assert_int_eq(sim_dl_open_data(&s, phy, len, &f), LB_ERR_MIC);
	/* FPort 0 is encrypted with NwkSKey; the counter crosses 16 bits. */
	len = build_down(&k, LW_MTYPE_UNCONFIRMED_DOWN, 0x20000, 0, "\x06", 0, phy);
	s.has_fcnt_down = true;
	s.fcnt_down = 0x1ffff;
	ck_assert_int_eq(sim_dl_open_data(&s, phy, len, &f), LB_OK);
	ck_assert_uint_eq(f.fcnt, 0x20000);
	ck_assert_mem_eq(f.payload, "\x06", 1);
	/* An uplink is no downlink. */
	len = build_down(&k, LW_MTYPE_UNCONFIRMED_UP, 1, 1, "x", 0, phy);
	ck_assert_int_eq(sim_dl_open_data(&s, phy, len, &f), LB_ERR_UNKNOWN_TYPE);
	lwcrypto_keys_free(&k);
}
END_TEST

/* V3 (lorawan-stack data_messages_test.go): key 01..01, DevAddr 01020304,
 * FCnt 1, downlink ciphertext 4e75f440 of 01020304. */
START_TEST(test_open_data_v3_vector)
{
	uint8_t key[16], phy[LW_MAX_PHY];
	struct lw_keys k;
	struct sim_dl_frame f;
	const char head[] = "6004030201000100014e75f440";
	size_t msg_len = sizeof(head) / 2;

	memset(key, 0x01, sizeof(key));
	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(lwcrypto_keys_init(&k, key, key), LB_OK);
	unhex(head, phy, msg_len);
	ck_assert_int_eq(lwcrypto_data_mic(&k.nwk_s_key, LW_DIR_DOWN, 0x01020304, 1, phy, msg_len,
					   phy + msg_len), LB_OK);
	struct sim_dl_session s = {.dev_addr = 0x01020304, .keys = &k};
	ck_assert_int_eq(sim_dl_open_data(&s, phy, msg_len + LW_LEN_MIC, &f), LB_OK);
	ck_assert_uint_eq(f.fcnt, 1);
	assert_hex(f.payload, f.payload_len, "01020304");
	lwcrypto_keys_free(&k);
}
END_TEST

/* --- the PULL_RESP hook, on gateways without sockets ------------------- */

struct hook_fixture {
	struct sim_opts o;
	struct sim_stats st;
	struct sim_devices ds;
	struct sim_gateway gws[2];
	struct sim_dlcheck c;
	FILE *expect;
	FILE *print;
};

static void hook_setup(struct hook_fixture *h)
{
	char *argv[] = {"sim", "--gateways", "2", "--txack-error", "TOO_LATE:4", NULL};

	memset(h, 0, sizeof(*h));
	ck_assert_int_eq(sim_opts_parse(&h->o, 5, argv), LB_OK);
	ck_assert_int_eq(sim_devices_derive(&h->ds, 2, 7), LB_OK);
	ck_assert_int_eq(sim_devices_prepare(&h->ds, 0), LB_OK);
	for (unsigned i = 0; i < 2; i++) {
		h->gws[i].c.idx = i;
		h->gws[i].c.eui = 0xaa555a0000000001ULL + i;
		h->gws[i].tmst_origin = 0xfff00000U + i * 12345U;
		h->gws[i].fd_up = h->gws[i].fd_down = -1;
	}
	h->expect = tmpfile();
	h->print = tmpfile();
	ck_assert_ptr_nonnull(h->expect);
	ck_assert_ptr_nonnull(h->print);
	ck_assert_int_eq(sim_dlcheck_init(&h->c, &h->o, &h->ds, h->gws, 2, &h->st, h->expect,
					  h->print, 1), LB_OK);
}

static void hook_teardown(struct hook_fixture *h)
{
	sim_dlcheck_free(&h->c);
	sim_devices_free(&h->ds);
	fclose(h->expect);
	fclose(h->print);
}

/* The next "downlink bad" line of --print contains `want`. */
static void assert_bad_reason(struct hook_fixture *h, long *pos, const char *want)
{
	char line[512];

	fseek(h->print, *pos, SEEK_SET);
	while (fgets(line, sizeof(line), h->print))
		if (strncmp(line, "downlink bad", 12) == 0)
			break;
	*pos = ftell(h->print);
	ck_assert_msg(strstr(line, want) != NULL, "'%s' not in '%s'", want, line);
}

/* Device 0 (ABP) sent a data uplink at monotonic mono_us, heard by gateway 0. */
static void uplink_at(struct hook_fixture *h, int64_t mono_us, bool confirmed)
{
	struct sim_last_tx tx = {
		.valid = true, .confirmed = confirmed, .mono_us = mono_us, .gw0 = 0,
		.freq_hz = 868100000, .sf = 7, .fcnt = h->ds.dev[0].fcnt,
	};
	sim_dlcheck_on_tx(&h->c, 0, &tx);
	h->ds.dev[0].fcnt++;
}

static void uplink(struct hook_fixture *h, bool confirmed)
{
	uplink_at(h, 1000000, confirmed);
}

/* A downlink for device 0 through gateway g in RX1 (rx2 false: 868.1 MHz
 * SF7) or RX2 (869.525 MHz SF12) of an uplink at up_us, received at now_us. */
static const char *downlink_at(struct hook_fixture *h, unsigned g, uint32_t fcnt, uint8_t fctrl,
			       enum lw_mtype t, int64_t up_us, bool rx2, int64_t now_us)
{
	struct sim_device *d = &h->ds.dev[0];
	const uint8_t tok[2] = {1, 2};
	struct lw_data_params p = {
		.mtype = t, .dev_addr = d->dev_addr, .fctrl_flags = fctrl, .fcnt = fcnt,
		.has_fport = true, .fport = 3, .payload = (const uint8_t *)"hi", .payload_len = 2,
	};
	uint32_t tmst = sim_gateway_tmst(&h->gws[g], up_us) + (rx2 ? 2 * S : S);
	struct gwmp_txpk tx = rx2 ? txpk(tmst, 869525000, 12, 0) : txpk(tmst, 868100000, 7, 0);
	size_t len;

	ck_assert_int_eq(lorawan_build_data(&p, &d->keys, tx.data, sizeof(tx.data), &len), LB_OK);
	tx.size = (uint16_t)len;
	return sim_dlcheck_on_downlink(&h->c, &h->gws[g], tok, &tx, now_us);
}

/* A downlink for device 0 in RX1 of the uplink at 1 s, through gateway g. */
static const char *downlink(struct hook_fixture *h, unsigned g, uint32_t fcnt, uint8_t fctrl,
			    enum lw_mtype t)
{
	return downlink_at(h, g, fcnt, fctrl, t, 1000000, false, 1100000);
}

START_TEST(test_hook_data_downlinks)
{
	struct hook_fixture h;
	char line[128];
	long pos = 0;

	hook_setup(&h);
	uplink(&h, false);
	ck_assert_ptr_null(downlink(&h, 1, 0, 0, LW_MTYPE_UNCONFIRMED_DOWN));
	ck_assert_uint_eq(h.st.downlinks_bad, 1);
	assert_bad_reason(&h, &pos, "gateway 1 did not hear its latest uplink");
	ck_assert_ptr_null(downlink(&h, 0, 0, 0, LW_MTYPE_UNCONFIRMED_DOWN));
	ck_assert_uint_eq(h.st.downlinks_ok, 1);
	ck_assert_uint_eq(h.st.downlinks_rx1, 1);
	ck_assert_ptr_null(downlink(&h, 0, 1, 0, LW_MTYPE_UNCONFIRMED_DOWN));
	ck_assert_uint_eq(h.st.downlinks_bad, 2);
	assert_bad_reason(&h, &pos, "second downlink (rx1) for one uplink");
	ck_assert_str_eq(downlink(&h, 0, 1, 0, LW_MTYPE_UNCONFIRMED_DOWN), "TOO_LATE"); /* 4th */
	ck_assert_uint_eq(h.st.txack_errors_injected, 1);
	uplink(&h, true);
	ck_assert_ptr_null(downlink(&h, 0, 0, 0x20, LW_MTYPE_CONFIRMED_DOWN));
	ck_assert_uint_eq(h.st.downlinks_bad, 3);
	assert_bad_reason(&h, &pos, "FCntDown 0 repeated (last 0)");
	ck_assert_ptr_null(downlink(&h, 0, 7, 0, LW_MTYPE_CONFIRMED_DOWN));
	ck_assert_uint_eq(h.st.downlinks_bad, 4);
	assert_bad_reason(&h, &pos, "without the ACK bit");
	ck_assert_ptr_null(downlink(&h, 0, 7, 0x20, LW_MTYPE_CONFIRMED_DOWN));
	ck_assert_uint_eq(h.st.downlinks_ok, 2);
	ck_assert_uint_eq(h.st.acks_received, 1);
	ck_assert(h.ds.dev[0].ack_due);
	ck_assert_uint_eq(h.ds.dev[0].fcnt_down, 7);
	rewind(h.expect);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), h.expect));
	ck_assert_str_eq(line, "5a00000700000000 0 3 6869 0 rx1\n");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), h.expect));
	ck_assert_str_eq(line, "5a00000700000000 7 3 6869 1 rx1\n");
	ck_assert_ptr_null(fgets(line, sizeof(line), h.expect));
	hook_teardown(&h);
}
END_TEST

/* The device's --rate pacing overtook its uplinks' windows: uplinks at
 * 1.0, 1.25 and 1.5 s (FCnt 0, 1 confirmed, 2), the bridge answers the
 * earlier ones late. A downlink exactly on RX1/RX2 of an earlier,
 * unanswered uplink of the session is taken (downlinks_overtaken), its ACK
 * bit judged against that uplink; a second one for it, one on no uplink's
 * window, or one through a gateway that did not hear it stay bad. */
START_TEST(test_hook_overtaken)
{
	const enum lw_mtype un = LW_MTYPE_UNCONFIRMED_DOWN;
	struct hook_fixture h;
	long pos = 0;

	hook_setup(&h);
	h.o.n_txack_rules = 0;      /* no injected TOO_LATE */
	ck_assert_uint_ge(h.c.earlier_depth, 2);
	uplink_at(&h, 1000000, false);
	uplink_at(&h, 1250000, true);
	uplink_at(&h, 1500000, false);
	/* RX1 of FCnt 0, after FCnt 1 and 2 were sent */
	ck_assert_ptr_null(downlink_at(&h, 0, 1, 0, un, 1000000, false, 1600000));
	ck_assert_uint_eq(h.st.downlinks_ok, 1);
	ck_assert_uint_eq(h.st.downlinks_overtaken, 1);
	ck_assert_uint_eq(h.st.downlinks_rx1, 1);
	/* RX2 of FCnt 0 too: one downlink per uplink */
	ck_assert_ptr_null(downlink_at(&h, 0, 2, 0, un, 1000000, true, 1700000));
	ck_assert_uint_eq(h.st.downlinks_bad, 1);
	assert_bad_reason(&h, &pos, "second downlink (rx2) for one uplink");
	/* RX2 of the confirmed FCnt 1 without ACK, then with it */
	ck_assert_ptr_null(downlink_at(&h, 0, 2, 0, un, 1250000, true, 1800000));
	ck_assert_uint_eq(h.st.downlinks_bad, 2);
	assert_bad_reason(&h, &pos, "answers confirmed uplink FCnt 1 without the ACK bit");
	ck_assert_ptr_null(downlink_at(&h, 1, 2, 0x20, un, 1250000, true, 1800000));
	ck_assert_uint_eq(h.st.downlinks_bad, 3);
	assert_bad_reason(&h, &pos, "gateway 1 did not hear its latest uplink");
	ck_assert_ptr_null(downlink_at(&h, 0, 2, 0x20, un, 1250000, true, 1800000));
	ck_assert_uint_eq(h.st.downlinks_ok, 2);
	ck_assert_uint_eq(h.st.downlinks_overtaken, 2);
	ck_assert_uint_eq(h.st.acks_received, 1);
	/* a tmst on no uplink's window (10 ms off FCnt 2's RX1) */
	ck_assert_ptr_null(downlink_at(&h, 0, 3, 0, un, 1510000, false, 1600000));
	ck_assert_uint_eq(h.st.downlinks_bad, 4);
	assert_bad_reason(&h, &pos, "is uplink tmst");
	/* the latest is answered as before, not counted as overtaken */
	ck_assert_ptr_null(downlink_at(&h, 0, 3, 0, un, 1500000, false, 1600000));
	ck_assert_uint_eq(h.st.downlinks_ok, 3);
	ck_assert_uint_eq(h.st.downlinks_overtaken, 2);
	ck_assert_uint_eq(h.st.acks_missing, 0);
	hook_teardown(&h);
}
END_TEST

/* A confirmed uplink overtaken and never answered counts in acks_missing
 * once: when it leaves the history, or at the end of the run. */
START_TEST(test_hook_overtaken_ack_missing)
{
	struct hook_fixture h;

	hook_setup(&h);
	uplink_at(&h, 1000000, true);
	for (size_t i = 1; i <= h.c.earlier_depth; i++)
		uplink_at(&h, 1000000 + (int64_t)i * 250000, false);
	ck_assert_uint_eq(h.st.acks_missing, 0);
	uplink_at(&h, 1000000 + (int64_t)(h.c.earlier_depth + 1) * 250000, true);
	ck_assert_uint_eq(h.st.acks_missing, 1);
	sim_dlcheck_finish(&h.c);
	ck_assert_uint_eq(h.st.acks_missing, 2);
	sim_dlcheck_finish(&h.c);
	ck_assert_uint_eq(h.st.acks_missing, 2);
	hook_teardown(&h);
}
END_TEST

/* tmst already past on the gateway's counter: refused TOO_LATE, not delivered. */
START_TEST(test_hook_too_late)
{
	struct hook_fixture h;
	const uint8_t tok[2] = {0, 0};

	hook_setup(&h);
	uplink(&h, false);
	struct gwmp_txpk tx = txpk(sim_gateway_tmst(&h.gws[0], 1000000) + S, 868100000, 7, 12);
	ck_assert_str_eq(sim_dlcheck_on_downlink(&h.c, &h.gws[0], tok, &tx, 1990000), "TOO_LATE");
	ck_assert_uint_eq(h.st.downlinks_late, 1);
	ck_assert_uint_eq(h.st.downlinks_ok + h.st.downlinks_bad, 0);
	hook_teardown(&h);
}
END_TEST

static Suite *sim_downlink_suite(void)
{
	Suite *s = suite_create("sim_downlink");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_join_request_v4);
	tcase_add_test(tc, test_accept_derives_v6_keys);
	tcase_add_test(tc, test_dev_nonces);
	tcase_add_test(tc, test_check_accept_rules);
	tcase_add_test(tc, test_windows);
	tcase_add_test(tc, test_rxc);
	tcase_add_test(tc, test_windows_offset_delay_join);
	tcase_add_test(tc, test_open_data);
	tcase_add_test(tc, test_open_data_v3_vector);
	tcase_add_test(tc, test_hook_data_downlinks);
	tcase_add_test(tc, test_hook_too_late);
	tcase_add_test(tc, test_hook_overtaken);
	tcase_add_test(tc, test_hook_overtaken_ack_missing);
	tcase_add_test(tc, test_grid_windows);
	tcase_add_test(tc, test_regional_parameters);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sim_downlink_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
