/* SPDX-License-Identifier: MIT */
/* test_downlink.c - downlink frames (TS001-1.0.4 §4.3-§4.4; V3 vector of
 * TheThingsNetwork/lorawan-stack pkg/crypto/data_messages_test.go, V2 session
 * keys of chirpstack/chirpstack lrwn/src/phy_payload.rs), receive-window
 * planning (TS001-1.0.4 §3.3; RP002-1.0.4 "EU863-870 Receive Windows",
 * "US902-928 Receive Windows"), MAC answers (TS001-1.0.4 §5) and the TX_ACK
 * table (Semtech PROTOCOL.TXT §6).
 *
 * Expected frames other than the published V3 primitives were computed
 * independently with the OpenSSL command line (AES-128-ECB keystream and
 * `openssl mac -cipher AES-128-CBC CMAC` over B0 | msg), not with this code. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "mac/downlink.h"
#include "gwmp/gwmp.h"
#include "base/lb_err.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "lorawan/region.h"

static const uint8_t key01[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
/* V2 session keys. */
static const uint8_t nwk_v2[16] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
				    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10 };
static const uint8_t app_v2[16] = { 0x10, 0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09,
				    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01 };

/* ---- frame ------------------------------------------------------------------ */

START_TEST(test_v3_downlink_vector)
{
	/* V3: key 01..01, DevAddr 01020304, FCnt 1, plaintext 01020304:
	 * downlink ciphertext 4e75f440. The frame's MIC is CMAC(key, B0 | msg)
	 * with B0 = 49 00000000 01 04030201 01000000 00 0d. */
	static const uint8_t want[] = { 0x60, 0x04, 0x03, 0x02, 0x01, 0x00, 0x01, 0x00, 0x01,
					0x4e, 0x75, 0xf4, 0x40, 0xa4, 0xec, 0x4e, 0x68 };
	static const uint8_t plain[] = { 0x01, 0x02, 0x03, 0x04 };
	struct lw_keys keys;
	struct downlink_frame f;
	uint8_t out[LW_MAX_PHY];
	size_t len = 0;

	memset(&keys, 0, sizeof(keys));
	ck_assert_int_eq(lwcrypto_keys_init(&keys, key01, key01), LB_OK);
	memset(&f, 0, sizeof(f));
	f.dev_addr = 0x01020304;
	f.fcnt_down = 1;
	f.has_fport = true;
	f.fport = 1;
	f.payload = plain;
	f.payload_len = sizeof(plain);
	ck_assert_int_eq(downlink_build(&f, &keys, out, sizeof(out), &len), LB_OK);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_uint_eq(downlink_frame_len(&f), len);
	ck_assert_mem_eq(out, want, sizeof(want));
	lwcrypto_keys_free(&keys);
}
END_TEST

/* The V3 MIC primitive, Dir = down, through the same B0 the builder uses. */
START_TEST(test_v3_mic_primitive)
{
	static const uint8_t msg[] = { 0x40, 0x04, 0x03, 0x02, 0x01, 0x00, 0x01,
				       0x00, 0x01, 0x01, 0x02, 0x03, 0x04 };
	static const uint8_t want[] = { 0xa5, 0x60, 0x9f, 0xa9 };
	struct lw_key k;
	uint8_t mic[4];

	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(lwcrypto_key_init(&k, key01), LB_OK);
	ck_assert_int_eq(lwcrypto_data_mic(&k, LW_DIR_DOWN, 0x01020304, 1, msg, sizeof(msg), mic),
			 LB_OK);
	ck_assert_mem_eq(mic, want, 4);
	lwcrypto_key_free(&k);
}
END_TEST

START_TEST(test_confirmed_full_frame_roundtrip)
{
	/* ConfirmedDataDown, ADR+ACK+FPending, FCnt 0x00012345 (45 23 on air,
	 * all 32 bits in B0/A1), FOpts LinkCheckAns 02 0c 01, FPort 10, "hello". */
	static const uint8_t want[] = { 0xa0, 0x04, 0x03, 0x02, 0x01, 0xb3, 0x45, 0x23,
					0x02, 0x0c, 0x01, 0x0a, 0x9f, 0x3d, 0xf2, 0x24,
					0xe2, 0x4a, 0xb9, 0xc2, 0x57 };
	static const uint8_t fopts[] = { 0x02, 0x0c, 0x01 };
	struct lw_keys keys;
	struct downlink_frame f;
	struct lw_frame fr;
	uint8_t out[LW_MAX_PHY];
	uint8_t mic[4];
	uint8_t plain[8];
	size_t len = 0;

	memset(&keys, 0, sizeof(keys));
	ck_assert_int_eq(lwcrypto_keys_init(&keys, nwk_v2, app_v2), LB_OK);
	memset(&f, 0, sizeof(f));
	f.confirmed = true;
	f.dev_addr = 0x01020304;
	f.fcnt_down = 0x12345;
	f.adr = f.ack = f.fpending = true;
	f.fopts = fopts;
	f.fopts_len = sizeof(fopts);
	f.has_fport = true;
	f.fport = 10;
	f.payload = (const uint8_t *)"hello";
	f.payload_len = 5;
	ck_assert_int_eq(downlink_build(&f, &keys, out, sizeof(out), &len), LB_OK);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_uint_eq(downlink_frame_len(&f), len);   /* FOpts, FPort and payload */
	ck_assert_mem_eq(out, want, sizeof(want));

	/* Parse, verify and decrypt it as a device would. */
	ck_assert_int_eq(lorawan_parse(out, len, &fr), LB_OK);
	ck_assert_int_eq(fr.mtype, LW_MTYPE_CONFIRMED_DOWN);
	ck_assert(lorawan_is_data_down(fr.mtype));
	ck_assert_uint_eq(fr.u.data.dev_addr, 0x01020304);
	ck_assert(fr.u.data.adr && fr.u.data.ack && fr.u.data.fpending);
	ck_assert_uint_eq(fr.u.data.fcnt16, 0x2345);
	ck_assert_uint_eq(fr.u.data.fopts_len, 3);
	ck_assert_mem_eq(fr.u.data.fopts, fopts, 3);
	ck_assert(fr.u.data.has_fport);
	ck_assert_uint_eq(fr.u.data.fport, 10);
	ck_assert_uint_eq(fr.u.data.frm_len, 5);
	ck_assert_int_eq(lwcrypto_data_mic(&keys.nwk_s_key, LW_DIR_DOWN, 0x01020304, 0x12345,
					   fr.phy, fr.msg_len, mic), LB_OK);
	ck_assert(lwcrypto_mic_equal(mic, fr.mic));
	/* The 16-bit counter alone or the uplink direction do not verify. */
	ck_assert_int_eq(lwcrypto_data_mic(&keys.nwk_s_key, LW_DIR_DOWN, 0x01020304, 0x2345,
					   fr.phy, fr.msg_len, mic), LB_OK);
	ck_assert(!lwcrypto_mic_equal(mic, fr.mic));
	ck_assert_int_eq(lwcrypto_data_mic(&keys.nwk_s_key, LW_DIR_UP, 0x01020304, 0x12345,
					   fr.phy, fr.msg_len, mic), LB_OK);
	ck_assert(!lwcrypto_mic_equal(mic, fr.mic));
	ck_assert_int_eq(lwcrypto_payload_crypt(&keys.app_s_key, LW_DIR_DOWN, 0x01020304, 0x12345,
						fr.u.data.frm_payload, fr.u.data.frm_len, plain),
			 LB_OK);
	ck_assert_mem_eq(plain, "hello", 5);
	lwcrypto_keys_free(&keys);
}
END_TEST

START_TEST(test_fport0_uses_nwkskey)
{
	/* FPort 0, DevStatusReq (06) encrypted with NwkSKey, FCnt 7. */
	static const uint8_t want[] = { 0x60, 0x04, 0x03, 0x02, 0x01, 0x00, 0x07, 0x00,
					0x00, 0x8f, 0x3c, 0x2e, 0x1b, 0xc9 };
	static const uint8_t cmd[] = { 0x06 };
	struct lw_keys keys;
	struct downlink_frame f;
	uint8_t out[LW_MAX_PHY];
	size_t len = 0;

	memset(&keys, 0, sizeof(keys));
	ck_assert_int_eq(lwcrypto_keys_init(&keys, nwk_v2, app_v2), LB_OK);
	memset(&f, 0, sizeof(f));
	f.dev_addr = 0x01020304;
	f.fcnt_down = 7;
	f.has_fport = true;
	f.fport = 0;
	f.payload = cmd;
	f.payload_len = 1;
	ck_assert_int_eq(downlink_build(&f, &keys, out, sizeof(out), &len), LB_OK);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_uint_eq(downlink_frame_len(&f), len);   /* FPort 0 */
	ck_assert_mem_eq(out, want, sizeof(want));
	f.has_fport = false;                              /* and no FPort at all */
	f.payload = NULL;
	f.payload_len = 0;
	ck_assert_int_eq(downlink_build(&f, &keys, out, sizeof(out), &len), LB_OK);
	ck_assert_uint_eq(downlink_frame_len(&f), len);
	lwcrypto_keys_free(&keys);
}
END_TEST

START_TEST(test_build_errors)
{
	static const uint8_t fopts[16] = { 0x02 };
	static uint8_t big[250];
	struct lw_keys keys;
	struct downlink_frame f;
	uint8_t out[LW_MAX_PHY];
	size_t len = 0;

	memset(&keys, 0, sizeof(keys));
	ck_assert_int_eq(lwcrypto_keys_init(&keys, nwk_v2, app_v2), LB_OK);
	memset(&f, 0, sizeof(f));
	f.dev_addr = 1;
	/* An empty frame (ACK only, no FPort) is fine: 12 bytes. */
	f.ack = true;
	ck_assert_int_eq(downlink_build(&f, &keys, out, sizeof(out), &len), LB_OK);
	ck_assert_uint_eq(len, LW_MIN_DATA_FRAME);
	ck_assert_uint_eq(out[0], 0x60);
	ck_assert_uint_eq(out[5], 0x20);
	ck_assert_int_eq(downlink_build(&f, &keys, out, 11, &len), LB_ERR_TOO_LARGE);

	f.has_fport = true;
	f.fport = 225;
	ck_assert_int_eq(downlink_build(&f, &keys, out, sizeof(out), &len), LB_ERR_RANGE);
	f.fport = 224;
	ck_assert_int_eq(downlink_build(&f, &keys, out, sizeof(out), &len), LB_OK);
	f.fport = 0;
	f.fopts = fopts;
	f.fopts_len = 3;
	ck_assert_int_eq(downlink_build(&f, &keys, out, sizeof(out), &len), LB_ERR_INVAL);
	f.fport = 1;
	f.fopts_len = 16;
	ck_assert_int_eq(downlink_build(&f, &keys, out, sizeof(out), &len), LB_ERR_INVAL);
	f.fopts_len = 0;
	f.payload = big;
	f.payload_len = sizeof(big);   /* 9 + 250 + 4 > 255 */
	ck_assert_int_eq(downlink_build(&f, &keys, out, sizeof(out), &len), LB_ERR_TOO_LARGE);
	f.payload_len = 242;           /* 9 + 242 + 4 = 255 */
	ck_assert_int_eq(downlink_build(&f, &keys, out, sizeof(out), &len), LB_OK);
	ck_assert_uint_eq(len, 255);
	ck_assert_int_eq(downlink_build(NULL, &keys, out, sizeof(out), &len), LB_ERR_INVAL);
	ck_assert_int_eq(downlink_build(&f, NULL, out, sizeof(out), &len), LB_ERR_INVAL);
	lwcrypto_keys_free(&keys);
	/* Keys not initialised. */
	ck_assert_int_eq(downlink_build(&f, &keys, out, sizeof(out), &len), LB_ERR_INVAL);
}
END_TEST

/* ---- planning --------------------------------------------------------------- */

static struct lb_rx lora_rx(uint64_t gw, uint32_t tmst, uint32_t freq_hz, uint8_t sf,
			    uint16_t bw_khz, float lsnr, int rssi)
{
	struct lb_rx rx;

	memset(&rx, 0, sizeof(rx));
	rx.gateway_eui = gw;
	rx.version = 2;
	rx.rxpk.tmst = tmst;
	rx.rxpk.freq_hz = freq_hz;
	rx.rxpk.modu = GWMP_MOD_LORA;
	rx.rxpk.sf = sf;
	rx.rxpk.bw_khz = bw_khz;
	rx.rxpk.cr = 1;
	rx.rxpk.stat = 1;
	rx.rxpk.has_lsnr = true;
	rx.rxpk.lsnr = lsnr;
	rx.rxpk.has_rssi = true;
	rx.rxpk.rssi = rssi;
	return rx;
}

static struct downlink_plan_in plan_in(const char *region, const struct lb_rx *rx, size_t n)
{
	struct downlink_plan_in in;

	memset(&in, 0, sizeof(in));
	in.region = region_find(region);
	in.rx = rx;
	in.n_rx = n;
	in.phy_len = 12;
	return in;
}

static void check_lora_txpk(const struct gwmp_txpk *tx, uint32_t tmst, uint32_t freq_hz,
			    uint8_t sf, uint16_t bw_khz, int powe)
{
	ck_assert(!tx->imme);
	ck_assert(tx->has_tmst);
	ck_assert(!tx->has_tmms);
	ck_assert_uint_eq(tx->tmst, tmst);
	ck_assert_uint_eq(tx->freq_hz, freq_hz);
	ck_assert_int_eq(tx->rfch, 0);
	ck_assert_int_eq(tx->powe, powe);
	ck_assert_int_eq(tx->modu, GWMP_MOD_LORA);
	ck_assert_uint_eq(tx->sf, sf);
	ck_assert_uint_eq(tx->bw_khz, bw_khz);
	ck_assert_uint_eq(tx->cr, 1);
	ck_assert(tx->ipol);
	ck_assert(tx->ncrc);
}

/* AS923-2 with DownlinkDwellTime 1 (RP002-1.0.4 §2.10.6, §2.10.7): RX1 on
 * the uplink channel, never below DR2, the dwell payload limits (DR2: M 19,
 * 24-byte PHYPayload); RX2 921.4 MHz DR2 at 16 dBm. KR920: RX2 921.9 MHz
 * DR0, 23 dBm; IN865 RX1DROffset 6 raises DR4 to DR5. */
START_TEST(test_plan_new_regions)
{
	struct lb_rx rx = lora_rx(0xaa555a0000000101ULL, 1000000, 921600000, 9, 125, 9.5f, -57);
	struct downlink_plan_in in = plan_in("AS923-2", &rx, 1);
	struct region dwell;
	struct downlink_plan p;

	ck_assert_int_eq(region_configure(in.region, true, true, &dwell), LB_OK);
	in.region = &dwell;
	in.rx1_dr_offset = 2;   /* DR3 - 2 = DR1, raised to DR2 */
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_int_eq(p.uplink_dr, 3);
	ck_assert_uint_eq(p.attempt[0].dr, 2);
	ck_assert_uint_eq(p.attempt[0].max_phy, 24);
	check_lora_txpk(&p.attempt[0].txpk, 2000000, 921600000, 10, 125, 16);
	ck_assert_uint_eq(p.attempt[1].dr, 2);
	check_lora_txpk(&p.attempt[1].txpk, 3000000, 921400000, 10, 125, 16);
	/* 25 bytes break the 400 ms limit at DR2 in both windows */
	in.phy_len = 25;
	ck_assert_int_ne(downlink_plan(&in, &p), LB_OK);
	/* without the dwell time: DR1 (M 59) in RX1 */
	in.region = region_find("AS923-2");
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.attempt[0].dr, 1);
	ck_assert_uint_eq(p.attempt[0].max_phy, 64);

	rx = lora_rx(0xaa555a0000000101ULL, 1000000, 922300000, 8, 125, 9.5f, -57);
	in = plan_in("KR920", &rx, 1);
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	check_lora_txpk(&p.attempt[0].txpk, 2000000, 922300000, 8, 125, 23);
	check_lora_txpk(&p.attempt[1].txpk, 3000000, 921900000, 12, 125, 23);

	rx = lora_rx(0xaa555a0000000101ULL, 1000000, 865402500, 8, 125, 9.5f, -57);
	in = plan_in("IN865", &rx, 1);
	in.rx1_dr_offset = 6;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.attempt[0].dr, 5);
	check_lora_txpk(&p.attempt[0].txpk, 2000000, 865402500, 7, 125, 30);
	check_lora_txpk(&p.attempt[1].txpk, 3000000, 866550000, 10, 125, 30);
}
END_TEST

/* A device's Regional Parameters revision (in.rp): AS923 and IN865 devices of
 * 1.0.2revB and 1.0.3revA listen in RX1 at DR5 at most (LoRaWAN Regional
 * Parameters v1.0.3revA §2.8.7, §2.10.7) where RP002-1.0.4 goes to DR7
 * (§2.10.7, §2.12.7), and an AS923 device before RP002-1.0.1 takes M 59 at
 * DR2 (v1.0.3revA §2.8.6), not 123 (RP002-1.0.4 §2.10.6); class C downlinks
 * have the same limits. */
START_TEST(test_plan_regional_parameters)
{
	struct lb_rx rx = lora_rx(0xaa555a0000000101ULL, 1000000, 923200000, 7, 250, 9.5f, -57);
	struct downlink_plan_in in = plan_in("AS923", &rx, 1);
	struct downlink_plan p;

	/* Uplink DR6 (SF7/250 kHz), RX1DROffset 0: DR6, or DR5 (SF7/125 kHz). */
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_int_eq(p.uplink_dr, 6);
	check_lora_txpk(&p.attempt[0].txpk, 2000000, 923200000, 7, 250, 16);
	in.rp = REGION_RP_1_0_3A;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.attempt[0].dr, 5);
	check_lora_txpk(&p.attempt[0].txpk, 2000000, 923200000, 7, 125, 16);
	/* Uplink DR5, RX1DROffset 7: DR7 (FSK), or DR5 for 1.0.2revB. */
	rx = lora_rx(0xaa555a0000000101ULL, 1000000, 923400000, 7, 125, 9.5f, -57);
	in.rx1_dr_offset = 7;
	in.rp = REGION_RP002_1_0_4;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.attempt[0].dr, 7);
	ck_assert_int_eq(p.attempt[0].txpk.modu, GWMP_MOD_FSK);
	in.rp = REGION_RP_1_0_2B;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.attempt[0].dr, 5);
	check_lora_txpk(&p.attempt[0].txpk, 2000000, 923400000, 7, 125, 16);

	/* Uplink DR4, RX1DROffset 2: RX1 and RX2 at DR2. 70 bytes (M 65) fit M 123,
	 * not the M 59 of a device before RP002-1.0.1. */
	rx = lora_rx(0xaa555a0000000101ULL, 1000000, 923200000, 8, 125, 9.5f, -57);
	in.rx1_dr_offset = 2;
	in.phy_len = 70;
	for (int rp = 0; rp < REGION_RP_COUNT; rp++) {
		in.rp = (uint8_t)rp;
		bool old = rp >= REGION_RP002_1_0_0;
		ck_assert_int_eq(downlink_plan(&in, &p), old ? LB_ERR_TOO_LARGE : LB_OK);
		if (old)
			continue;
		ck_assert_uint_eq(p.n_attempts, 2);
		ck_assert_uint_eq(p.attempt[0].dr, 2);
		ck_assert_uint_eq(p.attempt[0].max_phy, 128);
		ck_assert_uint_eq(p.attempt[1].dr, 2);
	}
	in.rp = REGION_RP_1_0_3A;
	in.phy_len = 64;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.attempt[0].max_phy, 64);

	/* IN865: an FSK uplink (DR7) gets RX1 at DR7, or at DR5 (SF7) for 1.0.3revA. */
	rx = lora_rx(0xaa555a0000000101ULL, 1000000, 865402500, 0, 0, 0, -57);
	rx.rxpk.modu = GWMP_MOD_FSK;
	rx.rxpk.bitrate = 50000;
	in = plan_in("IN865", &rx, 1);
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_int_eq(p.uplink_dr, 7);
	ck_assert_uint_eq(p.attempt[0].dr, 7);
	ck_assert_int_eq(p.attempt[0].txpk.modu, GWMP_MOD_FSK);
	in.rp = REGION_RP_1_0_3A;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.attempt[0].dr, 5);
	check_lora_txpk(&p.attempt[0].txpk, 2000000, 865402500, 7, 125, 30);

	/* Class C at AS923 DR2: 70 bytes for RP002-1.0.4, not for 1.0.3revA. */
	const struct region *as = region_find("AS923");
	struct downlink_attempt a;
	uint8_t phy[70] = {0};
	ck_assert_int_eq(downlink_plan_class_c(as, REGION_RP002_1_0_4, 923200000, 2, phy, 70, &a),
			 LB_OK);
	ck_assert_int_eq(downlink_plan_class_c(as, REGION_RP_1_0_3A, 923200000, 2, phy, 70, &a),
			 LB_ERR_TOO_LARGE);
	ck_assert_int_eq(downlink_plan_class_c(as, REGION_RP_1_0_3A, 923200000, 2, phy, 64, &a),
			 LB_OK);
}
END_TEST

START_TEST(test_plan_eu868)
{
	struct lb_rx rx = lora_rx(0xaa555a0000000101ULL, 1000000, 868100000, 7, 125, 9.5f, -57);
	struct downlink_plan_in in = plan_in("EU868", &rx, 1);
	struct downlink_plan p;

	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.rx_index, 0);
	ck_assert_uint_eq(p.gateway_eui, 0xaa555a0000000101ULL);
	ck_assert_uint_eq(p.version, 2);
	ck_assert_int_eq(p.uplink_dr, 5);
	ck_assert_uint_eq(p.n_attempts, 2);
	ck_assert_int_eq(p.window_err[DOWNLINK_RX1], LB_OK);
	ck_assert_int_eq(p.window_err[DOWNLINK_RX2], LB_OK);
	/* RX1: same frequency, DR5 (offset 0), 1 s; 14 dBm in the 868.0-868.6 band. */
	ck_assert_int_eq(p.attempt[0].window, DOWNLINK_RX1);
	ck_assert_uint_eq(p.attempt[0].dr, 5);
	ck_assert_uint_eq(p.attempt[0].delay_us, 1000000);
	ck_assert_uint_eq(p.attempt[0].max_phy, 255);
	check_lora_txpk(&p.attempt[0].txpk, 2000000, 868100000, 7, 125, 14);
	/* RX2: 869.525 MHz DR0, 2 s; 27 dBm in the 10 % band. */
	ck_assert_int_eq(p.attempt[1].window, DOWNLINK_RX2);
	ck_assert_uint_eq(p.attempt[1].dr, 0);
	ck_assert_uint_eq(p.attempt[1].max_phy, 64);
	check_lora_txpk(&p.attempt[1].txpk, 3000000, 869525000, 12, 125, 27);

	/* RX1DROffset 2: DR5 -> DR3 (SF9); RxDelay 3 s: 3 s / 4 s. */
	in.rx1_dr_offset = 2;
	in.rx_delay_s = 3;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	check_lora_txpk(&p.attempt[0].txpk, 4000000, 868100000, 9, 125, 14);
	check_lora_txpk(&p.attempt[1].txpk, 5000000, 869525000, 12, 125, 27);
	/* Offset 5 from DR5 -> DR0. */
	in.rx1_dr_offset = 5;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.attempt[0].dr, 0);
	/* Offset 6 is RFU in EU868: RX1 left out, RX2 remains. */
	in.rx1_dr_offset = 6;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.n_attempts, 1);
	ck_assert_int_eq(p.window_err[DOWNLINK_RX1], LB_ERR_RANGE);
	ck_assert_int_eq(p.attempt[0].window, DOWNLINK_RX2);

	/* RX2 from the device's settings (TTN: SF9). */
	in.rx1_dr_offset = 0;
	in.rx_delay_s = 0;
	in.rx2_override = true;
	in.rx2_freq_hz = 869525000;
	in.rx2_dr = 3;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	check_lora_txpk(&p.attempt[1].txpk, 3000000, 869525000, 9, 125, 27);
}
END_TEST

START_TEST(test_plan_eu868_join_semtech_example)
{
	/* The example join-request PUSH_DATA of test_gwmp.c -> its PULL_RESP,
	 * byte for byte. */
	static const uint8_t ja[] = { 0x20, 0x23, 0xcf, 0x33, 0x54, 0x89, 0xaa, 0xe3, 0x18,
				      0x3c, 0x0b, 0xe0, 0xba, 0xa8, 0xde, 0xe5, 0xf3 };
	static const char want[] =
		"{\"txpk\":{\"imme\":false,\"tmst\":3517348611,\"freq\":868.1,\"rfch\":0,"
		"\"powe\":14,\"modu\":\"LORA\",\"datr\":\"SF7BW125\",\"codr\":\"4/5\","
		"\"ipol\":true,\"size\":17,\"ncrc\":true,\"data\":\"ICPPM1SJquMYPAvguqje5fM=\"}}";
	static const uint8_t token[2] = { 0x31, 0x9d };
	struct lb_rx rx = lora_rx(0xaa555a0000000101ULL, 3512348611u, 868100000, 7, 125, 9.5f, -57);
	struct downlink_plan_in in = plan_in("EU868", &rx, 1);
	struct downlink_plan p;
	uint8_t dgram[GWMP_MAX_PULL_RESP];
	size_t len = 0;

	in.join_accept = true;
	/* The device's current settings do not apply to a join-accept. */
	in.rx1_dr_offset = 3;
	in.rx_delay_s = 2;
	in.rx2_override = true;
	in.rx2_freq_hz = 869525000;
	in.rx2_dr = 3;
	in.phy = ja;
	in.phy_len = sizeof(ja);
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.n_attempts, 2);
	check_lora_txpk(&p.attempt[0].txpk, 3517348611u, 868100000, 7, 125, 14);
	check_lora_txpk(&p.attempt[1].txpk, 3518348611u, 869525000, 12, 125, 27);
	ck_assert_uint_eq(p.attempt[1].txpk.size, sizeof(ja));
	ck_assert_mem_eq(p.attempt[1].txpk.data, ja, sizeof(ja));

	ck_assert_int_eq(gwmp_build_pull_resp(2, token, &p.attempt[0].txpk, dgram, sizeof(dgram),
					      &len), LB_OK);
	ck_assert_uint_eq(len, 4 + strlen(want));
	ck_assert_uint_eq(dgram[0], 2);
	ck_assert_uint_eq(dgram[3], GWMP_PULL_RESP);
	ck_assert_mem_eq(dgram + 4, want, strlen(want));
}
END_TEST

START_TEST(test_plan_tmst_wraps)
{
	struct lb_rx rx = lora_rx(1, 0xFFFFFFFFu - 500000u, 868300000, 12, 125, -3.0f, -110);
	struct downlink_plan_in in = plan_in("EU868", &rx, 1);
	struct downlink_plan p;

	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	/* 0xFFFFFFFF - 500000 + 1000000 = 2^32 + 499999. */
	ck_assert_uint_eq(p.attempt[0].txpk.tmst, 499999);
	ck_assert_uint_eq(p.attempt[1].txpk.tmst, 1499999);
	in.join_accept = true;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.attempt[0].txpk.tmst, 4499999);
	ck_assert_uint_eq(p.attempt[1].txpk.tmst, 5499999);
	/* RxDelay 15 s, the maximum: RX2 at 16 s. */
	in.join_accept = false;
	in.rx_delay_s = 15;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.attempt[0].txpk.tmst, 14499999);
	ck_assert_uint_eq(p.attempt[1].txpk.tmst, 15499999);
	in.rx_delay_s = 16;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_ERR_RANGE);
}
END_TEST

START_TEST(test_plan_us915)
{
	/* uplink frequency, SF/BW (uplink DR), offset -> RX1 frequency, SF (BW500) */
	static const struct {
		uint32_t up_hz;
		uint8_t sf;
		uint16_t bw;
		uint8_t offset;
		uint32_t rx1_hz;
		uint8_t rx1_dr, rx1_sf;
	} cases[] = {
		{ 902300000, 10, 125, 0, 923300000, 10, 10 },  /* ch 0, DR0 */
		{ 903900000, 7, 125, 0, 923300000, 13, 7 },    /* ch 8 -> 0, DR3 */
		{ 904900000, 9, 125, 0, 926300000, 11, 9 },    /* ch 13 -> 5, DR1 */
		{ 905300000, 8, 125, 1, 927500000, 11, 9 },    /* ch 15 -> 7, DR2 off 1 */
		{ 903000000, 8, 500, 0, 923300000, 13, 7 },    /* ch 64 -> 0, DR4 */
		{ 914200000, 8, 500, 3, 927500000, 11, 9 },    /* ch 71 -> 7, DR4 off 3 */
		{ 914900000, 10, 125, 3, 927500000, 8, 12 },   /* ch 63 -> 7, DR0 off 3 */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lb_rx rx = lora_rx(7, 100, cases[i].up_hz, cases[i].sf, cases[i].bw, 1, -90);
		struct downlink_plan_in in = plan_in("US915", &rx, 1);
		struct downlink_plan p;

		in.rx1_dr_offset = cases[i].offset;
		ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
		ck_assert_uint_eq(p.n_attempts, 2);
		ck_assert_uint_eq(p.attempt[0].dr, cases[i].rx1_dr);
		check_lora_txpk(&p.attempt[0].txpk, 1000100, cases[i].rx1_hz, cases[i].rx1_sf, 500,
				20);
		/* RX2: 923.3 MHz DR8 = SF12BW500. */
		ck_assert_uint_eq(p.attempt[1].dr, 8);
		check_lora_txpk(&p.attempt[1].txpk, 2000100, 923300000, 12, 500, 20);
	}
}
END_TEST

START_TEST(test_plan_us915_join_and_bad_channel)
{
	struct lb_rx rx = lora_rx(7, 0, 903300000, 10, 125, 1, -90);  /* ch 5, DR0 */
	struct downlink_plan_in in = plan_in("US915", &rx, 1);
	struct downlink_plan p;

	in.join_accept = true;
	in.rx1_dr_offset = 3;   /* ignored for a join-accept */
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	check_lora_txpk(&p.attempt[0].txpk, 5000000, 926300000, 10, 500, 20);
	check_lora_txpk(&p.attempt[1].txpk, 6000000, 923300000, 12, 500, 20);

	/* 902.4 MHz is no uplink channel: RX1 cannot be derived, RX2 stays. */
	in.join_accept = false;
	rx.rxpk.freq_hz = 902400000;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.n_attempts, 1);
	ck_assert_int_eq(p.window_err[DOWNLINK_RX1], LB_ERR_NOT_FOUND);
	ck_assert_int_eq(p.attempt[0].window, DOWNLINK_RX2);
	/* RX1DROffset 4 is not defined in US915. */
	rx.rxpk.freq_hz = 902300000;
	in.rx1_dr_offset = 4;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_int_eq(p.window_err[DOWNLINK_RX1], LB_ERR_RANGE);
	/* An RX2 override to an uplink-only DR is refused too: nothing left. */
	in.rx2_override = true;
	in.rx2_freq_hz = 923300000;
	in.rx2_dr = 3;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_ERR_RANGE);
	ck_assert_uint_eq(p.n_attempts, 0);
	ck_assert_int_eq(p.window_err[DOWNLINK_RX2], LB_ERR_NOT_FOUND);
}
END_TEST

/* Class C (TS001-1.0.4 §17): one attempt at once on RX2's frequency and DR. */
START_TEST(test_plan_class_c)
{
	const struct region *eu = region_find("EU868");
	struct downlink_attempt a;
	uint8_t phy[64];
	const enum region_rp rp = REGION_RP002_1_0_4;

	memset(phy, 0x5a, sizeof(phy));
	ck_assert_int_eq(downlink_plan_class_c(eu, rp, 869525000, 3, phy, 20, &a), LB_OK);
	ck_assert_int_eq(a.window, DOWNLINK_RXC);
	ck_assert(a.txpk.imme);
	ck_assert(!a.txpk.has_tmst);
	ck_assert_uint_eq(a.txpk.freq_hz, 869525000);
	ck_assert_uint_eq(a.txpk.sf, 9);
	ck_assert_uint_eq(a.txpk.bw_khz, 125);
	ck_assert(a.txpk.ipol);
	ck_assert(a.txpk.ncrc);
	ck_assert_int_eq(a.txpk.powe, 27);      /* RP002-1.0.4 EU868: 869.4-869.65 MHz, 27 dBm */
	ck_assert_uint_eq(a.txpk.size, 20);
	ck_assert_mem_eq(a.txpk.data, phy, 20);
	/* DR0 carries M = 59 (64-byte PHYPayload): 65 bytes are too many. */
	ck_assert_int_eq(downlink_plan_class_c(eu, rp, 869525000, 0, phy, 64, &a), LB_OK);
	uint8_t big[65] = {0};
	ck_assert_int_eq(downlink_plan_class_c(eu, rp, 869525000, 0, big, 65, &a),
			 LB_ERR_TOO_LARGE);
	ck_assert_int_eq(downlink_plan_class_c(eu, rp, 869525000, 15, phy, 20, &a),
			 LB_ERR_NOT_FOUND);
	ck_assert_int_eq(downlink_plan_class_c(NULL, rp, 869525000, 0, phy, 20, &a), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_plan_best_gateway)
{
	/* Margins (SF7, floor -7.5): A 12.5, B 17, C 17, D unknown (no lsnr). B
	 * and C tie on margin; C has the stronger RSSI. Each gateway has its own
	 * counter: the plan must use C's tmst. */
	struct lb_rx rx[4] = {
		lora_rx(0xA, 111, 868500000, 7, 125, 5.0f, -60),
		lora_rx(0xB, 222, 868500000, 7, 125, 9.5f, -110),
		lora_rx(0xC, 333, 868500000, 7, 125, 9.5f, -90),
		lora_rx(0xD, 444, 868500000, 7, 125, 0, -20),
	};
	struct downlink_plan_in in = plan_in("EU868", rx, 4);
	struct downlink_plan p;
	size_t idx = 99;

	rx[3].rxpk.has_lsnr = false;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.rx_index, 2);
	ck_assert_uint_eq(p.gateway_eui, 0xC);
	ck_assert(p.margin_db == 17.0);
	ck_assert_uint_eq(p.attempt[0].txpk.tmst, 1000333);
	ck_assert_uint_eq(p.attempt[1].txpk.tmst, 2000333);

	/* A better SNR wins over RSSI; a full tie keeps the first. */
	rx[0].rxpk.lsnr = 10.0f;
	ck_assert_int_eq(downlink_best_rx(rx, 4, &idx), LB_OK);
	ck_assert_uint_eq(idx, 0);
	rx[2].rxpk.rssi = -110;
	rx[0].rxpk.lsnr = 1.0f;
	ck_assert_int_eq(downlink_best_rx(rx, 4, &idx), LB_OK);
	ck_assert_uint_eq(idx, 1);
	/* Margin is relative to the SF: SNR -15 at SF12 (margin 5) loses to SNR 0
	 * at SF7 (margin 7.5); SNR -10 at SF12 (margin 10) wins. */
	rx[0] = lora_rx(0xA, 1, 868500000, 12, 125, -15.0f, -120);
	rx[1] = lora_rx(0xB, 2, 868500000, 7, 125, 0.0f, -120);
	ck_assert_int_eq(downlink_best_rx(rx, 2, &idx), LB_OK);
	ck_assert_uint_eq(idx, 1);
	rx[0].rxpk.lsnr = -10.0f;
	ck_assert_int_eq(downlink_best_rx(rx, 2, &idx), LB_OK);
	ck_assert_uint_eq(idx, 0);
	/* Only unknown margins: RSSI decides. */
	rx[0].rxpk.has_lsnr = rx[1].rxpk.has_lsnr = false;
	rx[1].rxpk.rssi = -50;
	ck_assert_int_eq(downlink_best_rx(rx, 2, &idx), LB_OK);
	ck_assert_uint_eq(idx, 1);
	ck_assert_int_eq(downlink_best_rx(rx, 0, &idx), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_plan_oversize)
{
	uint8_t phy[100];
	struct lb_rx rx = lora_rx(1, 0, 868100000, 7, 125, 5, -80);   /* DR5 */
	struct downlink_plan_in in = plan_in("EU868", &rx, 1);
	struct downlink_plan p;

	memset(phy, 0x5a, sizeof(phy));
	/* 100 bytes: RX1 at DR5 (max 255) keeps, RX2 at DR0 (max 64) drops. */
	in.phy = phy;
	in.phy_len = sizeof(phy);
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.n_attempts, 1);
	ck_assert_int_eq(p.attempt[0].window, DOWNLINK_RX1);
	ck_assert_int_eq(p.window_err[DOWNLINK_RX2], LB_ERR_TOO_LARGE);
	ck_assert_uint_eq(p.attempt[0].txpk.size, 100);
	ck_assert_mem_eq(p.attempt[0].txpk.data, phy, 100);

	/* Exactly M + 5 = 64 fits DR0; 65 does not. */
	in.phy_len = 64;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.n_attempts, 2);
	in.phy_len = 65;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.n_attempts, 1);

	/* Vice versa: SF12 uplink -> RX1 DR0 too small, RX2 at DR5 carries it. */
	rx.rxpk.sf = 12;
	in.phy_len = sizeof(phy);
	in.rx2_override = true;
	in.rx2_freq_hz = 869525000;
	in.rx2_dr = 5;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.n_attempts, 1);
	ck_assert_int_eq(p.attempt[0].window, DOWNLINK_RX2);
	ck_assert_int_eq(p.window_err[DOWNLINK_RX1], LB_ERR_TOO_LARGE);
	check_lora_txpk(&p.attempt[0].txpk, 2000000, 869525000, 7, 125, 27);

	/* Neither. */
	in.rx2_override = false;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_ERR_TOO_LARGE);
	ck_assert_uint_eq(p.n_attempts, 0);
}
END_TEST

START_TEST(test_plan_set_payload_later)
{
	uint8_t phy[100];
	struct lb_rx rx = lora_rx(1, 0, 868100000, 7, 125, 5, -80);
	struct downlink_plan_in in = plan_in("EU868", &rx, 1);
	struct downlink_plan p;

	memset(phy, 0xa5, sizeof(phy));
	in.phy_len = 12;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_uint_eq(p.n_attempts, 2);
	ck_assert_uint_eq(p.attempt[0].txpk.size, 0);
	ck_assert_int_eq(downlink_attempt_set_payload(&p.attempt[1], phy, 65), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(downlink_attempt_set_payload(&p.attempt[1], phy, 64), LB_OK);
	ck_assert_uint_eq(p.attempt[1].txpk.size, 64);
	/* The whole plan: RX2 cannot carry 100 bytes and goes. */
	ck_assert_int_eq(downlink_plan_set_payload(&p, phy, sizeof(phy)), LB_OK);
	ck_assert_uint_eq(p.n_attempts, 1);
	ck_assert_int_eq(p.attempt[0].window, DOWNLINK_RX1);
	ck_assert_int_eq(p.window_err[DOWNLINK_RX2], LB_ERR_TOO_LARGE);
	ck_assert_uint_eq(p.attempt[0].txpk.size, 100);
	ck_assert_mem_eq(p.attempt[0].txpk.data, phy, 100);
	ck_assert_int_eq(downlink_plan_set_payload(&p, NULL, 1), LB_ERR_INVAL);
	ck_assert_int_eq(downlink_attempt_set_payload(NULL, phy, 1), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_plan_fsk_and_lrfhss)
{
	struct lb_rx rx = lora_rx(1, 0, 868800000, 0, 0, 0, -80);
	struct downlink_plan_in in = plan_in("EU868", &rx, 1);
	struct downlink_plan p;

	/* FSK 50 kbit/s uplink (DR7) -> RX1 FSK DR7 on 868.8 MHz (0.1 % band). */
	rx.rxpk.modu = GWMP_MOD_FSK;
	rx.rxpk.bitrate = 50000;
	rx.rxpk.has_lsnr = false;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_int_eq(p.uplink_dr, 7);
	ck_assert(p.margin_db == DOWNLINK_MARGIN_UNKNOWN);
	ck_assert_uint_eq(p.attempt[0].dr, 7);
	ck_assert_int_eq(p.attempt[0].txpk.modu, GWMP_MOD_FSK);
	ck_assert_uint_eq(p.attempt[0].txpk.bitrate, 50000);
	ck_assert_uint_eq(p.attempt[0].txpk.fdev, 25000);
	ck_assert(!p.attempt[0].txpk.ipol);
	ck_assert(!p.attempt[0].txpk.ncrc);
	ck_assert_uint_eq(p.attempt[0].txpk.freq_hz, 868800000);
	ck_assert_int_eq(p.attempt[0].txpk.powe, 14);

	/* LR-FHSS: rxpk carries no DR, so no RX1; RX2 does not need one. */
	rx.rxpk.modu = GWMP_MOD_LRFHSS;
	rx.rxpk.freq_hz = 868100000;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_int_eq(p.uplink_dr, LB_ERR_NOT_FOUND);
	ck_assert_int_eq(p.window_err[DOWNLINK_RX1], LB_ERR_NOT_FOUND);
	ck_assert_uint_eq(p.n_attempts, 1);
	ck_assert_int_eq(p.attempt[0].window, DOWNLINK_RX2);
}
END_TEST

START_TEST(test_plan_invalid)
{
	struct lb_rx rx = lora_rx(1, 0, 868100000, 7, 125, 5, -80);
	struct downlink_plan_in in = plan_in("EU868", &rx, 1);
	struct downlink_plan p;

	ck_assert_int_eq(downlink_plan(NULL, &p), LB_ERR_INVAL);
	ck_assert_int_eq(downlink_plan(&in, NULL), LB_ERR_INVAL);
	in.n_rx = 0;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_ERR_INVAL);
	in.n_rx = 1;
	in.phy_len = 256;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_ERR_INVAL);
	in.phy_len = 12;
	in.region = NULL;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_ERR_INVAL);
	/* An uplink frequency outside the band has no RX1. */
	in.region = region_find("EU868");
	rx.rxpk.freq_hz = 915000000;
	ck_assert_int_eq(downlink_plan(&in, &p), LB_OK);
	ck_assert_int_eq(p.window_err[DOWNLINK_RX1], LB_ERR_RANGE);
	ck_assert_uint_eq(p.n_attempts, 1);
}
END_TEST

/* ---- MAC answers ------------------------------------------------------------ */

START_TEST(test_demod_floor)
{
	static const double want[] = { -2.5, -5, -7.5, -10, -12.5, -15, -17.5, -20 };
	double db = 0;

	for (uint8_t sf = 5; sf <= 12; sf++) {
		ck_assert_int_eq(downlink_demod_floor_db(sf, &db), LB_OK);
		ck_assert(db == want[sf - 5]);
	}
	ck_assert_int_eq(downlink_demod_floor_db(4, &db), LB_ERR_RANGE);
	ck_assert_int_eq(downlink_demod_floor_db(13, &db), LB_ERR_RANGE);
	ck_assert_int_eq(downlink_demod_floor_db(7, NULL), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_link_check_ans)
{
	struct lb_rx rx[3];
	uint8_t out[3];
	static const uint8_t sf7[] = { 0x02, 12, 1 };
	static const uint8_t sf12[] = { 0x02, 0, 1 };

	/* SNR 5 dB at SF7: 5 + 7.5 = 12.5 -> 12. */
	rx[0] = lora_rx(0xA, 0, 868100000, 7, 125, 5.0f, -80);
	ck_assert_int_eq(downlink_link_check_ans(rx, 1, out), LB_OK);
	ck_assert_mem_eq(out, sf7, 3);
	/* SNR -22 at SF12: -22 + 20 = -2 -> 0. */
	rx[0] = lora_rx(0xA, 0, 868100000, 12, 125, -22.0f, -125);
	ck_assert_int_eq(downlink_link_check_ans(rx, 1, out), LB_OK);
	ck_assert_mem_eq(out, sf12, 3);
	/* Rounded down: 2.4 + 7.5 = 9.9 -> 9; -7.4 + 7.5 = 0.1 -> 0. */
	rx[0] = lora_rx(0xA, 0, 868100000, 7, 125, 2.4f, -80);
	ck_assert_int_eq(downlink_link_check_ans(rx, 1, out), LB_OK);
	ck_assert_uint_eq(out[1], 9);
	rx[0].rxpk.lsnr = -7.4f;
	ck_assert_int_eq(downlink_link_check_ans(rx, 1, out), LB_OK);
	ck_assert_uint_eq(out[1], 0);
	/* Best of three receptions by two gateways (A twice, e.g. two antennas). */
	rx[0] = lora_rx(0xA, 0, 868100000, 9, 125, -3.0f, -100);
	rx[1] = lora_rx(0xB, 0, 868100000, 9, 125, 4.25f, -90);
	rx[2] = lora_rx(0xA, 0, 868100000, 9, 125, 1.0f, -95);
	ck_assert_int_eq(downlink_link_check_ans(rx, 3, out), LB_OK);
	ck_assert_uint_eq(out[0], 0x02);
	ck_assert_uint_eq(out[1], 16);    /* 4.25 + 12.5 = 16.75 */
	ck_assert_uint_eq(out[2], 2);
	/* Clamped to 254; no lsnr at all gives 0. */
	rx[0].rxpk.lsnr = 400.0f;
	ck_assert_int_eq(downlink_link_check_ans(rx, 1, out), LB_OK);
	ck_assert_uint_eq(out[1], 254);
	rx[0].rxpk.has_lsnr = false;
	ck_assert_int_eq(downlink_link_check_ans(rx, 1, out), LB_OK);
	ck_assert_uint_eq(out[1], 0);
	ck_assert_int_eq(downlink_link_check_ans(rx, 0, out), LB_ERR_INVAL);
	ck_assert_int_eq(downlink_link_check_ans(NULL, 1, out), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_link_check_gw_count_clamped)
{
	static struct lb_rx rx[300];
	uint8_t out[3];

	for (size_t i = 0; i < 300; i++)
		rx[i] = lora_rx(0x1000 + i, 0, 868100000, 7, 125, 1.0f, -80);
	ck_assert_int_eq(downlink_link_check_ans(rx, 300, out), LB_OK);
	ck_assert_uint_eq(out[2], 255);
	ck_assert_int_eq(downlink_link_check_ans(rx, 254, out), LB_OK);
	ck_assert_uint_eq(out[2], 254);
}
END_TEST

START_TEST(test_device_time_ans)
{
	/* The example PUSH_DATA of test_gwmp.c: tmms 1399713185318 -> 1399713185 s = 0x536DEDA1,
	 * 0.318 s * 256 = 81.4 -> 81 = 0x51. */
	static const uint8_t want[] = { 0x0d, 0xa1, 0xed, 0x6d, 0x53, 0x51 };
	struct gwmp_rxpk pk;
	uint8_t out[6];
	int64_t gps;

	memset(&pk, 0, sizeof(pk));
	pk.has_tmms = true;
	pk.tmms = 1399713185318ULL;
	gps = downlink_gps_time_us(&pk, 0);
	ck_assert_int_eq(gps, 1399713185318000LL);
	ck_assert_int_eq(downlink_device_time_ans(gps, out), LB_OK);
	ck_assert_mem_eq(out, want, 6);

	/* Fractions: .5 s -> 128, .999999 s -> 255, 0 -> 0. */
	ck_assert_int_eq(downlink_device_time_ans(1500000, out), LB_OK);
	ck_assert_uint_eq(out[1], 1);
	ck_assert_uint_eq(out[5], 128);
	ck_assert_int_eq(downlink_device_time_ans(999999, out), LB_OK);
	ck_assert_uint_eq(out[5], 255);
	ck_assert_int_eq(downlink_device_time_ans(0, out), LB_OK);
	ck_assert_uint_eq(out[5], 0);
	/* Seconds wrap modulo 2^32. */
	ck_assert_int_eq(downlink_device_time_ans((int64_t)0x100000005LL * 1000000, out), LB_OK);
	ck_assert_uint_eq(out[1], 5);
	ck_assert_uint_eq(out[4], 0);
	ck_assert_int_eq(downlink_device_time_ans(-1, out), LB_ERR_RANGE);
	ck_assert_int_eq(downlink_device_time_ans(0, NULL), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_gps_time)
{
	/* Same example: time 2024-05-14T09:12:47.318406Z = Unix 1715677967.318406 s;
	 * GPS = Unix - 315964800 + 18 = 1399713185.318406 s. */
	const int64_t unix_us = 1715677967318406LL;
	const int64_t gps_us = 1399713185318406LL;
	struct gwmp_rxpk pk;

	memset(&pk, 0, sizeof(pk));
	ck_assert_int_eq(downlink_gps_time_us(NULL, unix_us), gps_us);
	ck_assert_int_eq(downlink_gps_time_us(&pk, unix_us), gps_us);
	pk.has_time = true;
	pk.time_us = unix_us;
	ck_assert_int_eq(downlink_gps_time_us(&pk, 0), gps_us);
	/* tmms wins over time. */
	pk.has_tmms = true;
	pk.tmms = 1399713185318ULL;
	ck_assert_int_eq(downlink_gps_time_us(&pk, 0), 1399713185318000LL);
	/* A tmms that cannot be converted to µs is ignored. */
	pk.tmms = UINT64_MAX;
	ck_assert_int_eq(downlink_gps_time_us(&pk, 0), gps_us);
	/* The GPS epoch itself. */
	ck_assert_int_eq(downlink_gps_time_us(NULL, (315964800LL - 18) * 1000000), 0);
}
END_TEST

/* ---- TX_ACK ----------------------------------------------------------------- */

static struct downlink_pending_entry entry(uint64_t gw, uint32_t fcnt, size_t n_attempts)
{
	struct downlink_pending_entry e;

	memset(&e, 0, sizeof(e));
	e.gateway_eui = gw;
	e.dev_eui = 0x0102030405060708ULL;
	e.fcnt_down = fcnt;
	e.plan.n_attempts = n_attempts;
	return e;
}

struct expired {
	size_t n;
	uint32_t fcnt[8];
	uint8_t token[8][2];
	struct downlink_pending *t;
	bool readd;
};

static void on_expire(const uint8_t token[2], struct downlink_pending_entry *e, void *arg)
{
	struct expired *x = arg;
	static const uint8_t again[2] = { 0xee, 0xee };

	if (x->n < 8) {
		x->fcnt[x->n] = e->fcnt_down;
		memcpy(x->token[x->n], token, 2);
	}
	x->n++;
	if (x->readd)
		ck_assert_int_eq(downlink_pending_add(x->t, again, e, 10000), LB_OK);
}

START_TEST(test_pending_timeouts)
{
	static struct downlink_pending t;
	static const uint8_t tok_a[2] = { 0x31, 0x9d }, tok_b[2] = { 0x00, 0x01 };
	struct downlink_pending_entry e = entry(0xAA, 1, 2);
	struct expired x;
	int64_t deadline = 0;

	memset(&x, 0, sizeof(x));
	downlink_pending_init(&t, 0);
	ck_assert_uint_eq(t.timeout_ms, DOWNLINK_TXACK_TIMEOUT_MS);
	ck_assert_int_eq(downlink_pending_next_deadline(&t, &deadline), LB_ERR_NOT_FOUND);
	/* No slots until the first entry: a bridge without downlinks holds none. */
	ck_assert_ptr_null(t.slot);
	ck_assert(!downlink_pending_has(&t, tok_a));
	ck_assert_uint_eq(downlink_pending_expire(&t, 99999, on_expire, &x), 0);
	ck_assert_int_eq(downlink_pending_add(&t, tok_a, &e, 1000), LB_OK);
	ck_assert_ptr_nonnull(t.slot);
	e.fcnt_down = 2;
	ck_assert_int_eq(downlink_pending_add(&t, tok_b, &e, 1500), LB_OK);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_int_eq(downlink_pending_next_deadline(&t, &deadline), LB_OK);
	ck_assert_int_eq(deadline, 4000);

	/* Not yet at 3999 ms; A exactly at its 3 s deadline; B half a second later. */
	ck_assert_uint_eq(downlink_pending_expire(&t, 3999, on_expire, &x), 0);
	ck_assert_uint_eq(downlink_pending_expire(&t, 4000, on_expire, &x), 1);
	ck_assert_uint_eq(x.n, 1);
	ck_assert_uint_eq(x.fcnt[0], 1);
	ck_assert_mem_eq(x.token[0], tok_a, 2);
	ck_assert(!downlink_pending_has(&t, tok_a));
	ck_assert(downlink_pending_has(&t, tok_b));
	ck_assert_int_eq(downlink_pending_next_deadline(&t, &deadline), LB_OK);
	ck_assert_int_eq(deadline, 4500);
	/* The callback may add while expiring. */
	x.t = &t;
	x.readd = true;
	ck_assert_uint_eq(downlink_pending_expire(&t, 9999, on_expire, &x), 1);
	ck_assert_uint_eq(x.fcnt[1], 2);
	ck_assert_uint_eq(t.n, 1);
	ck_assert_int_eq(downlink_pending_next_deadline(&t, &deadline), LB_OK);
	ck_assert_int_eq(deadline, 13000);
	ck_assert_uint_eq(downlink_pending_expire(&t, 13000, NULL, NULL), 1);
	ck_assert_uint_eq(t.n, 0);

	/* Freed with an entry left: empty, and usable again. */
	ck_assert_int_eq(downlink_pending_add(&t, tok_a, &e, 0), LB_OK);
	downlink_pending_free(&t);
	ck_assert_ptr_null(t.slot);
	ck_assert_uint_eq(t.n, 0);
	ck_assert(!downlink_pending_has(&t, tok_a));
	downlink_pending_free(&t);
	downlink_pending_free(NULL);

	/* A custom timeout. */
	downlink_pending_init(&t, 500);
	ck_assert_int_eq(downlink_pending_add(&t, tok_a, &e, 0), LB_OK);
	ck_assert_uint_eq(downlink_pending_expire(&t, 499, NULL, NULL), 0);
	ck_assert_uint_eq(downlink_pending_expire(&t, 500, NULL, NULL), 1);
	downlink_pending_free(&t);
}
END_TEST

START_TEST(test_pending_take)
{
	static struct downlink_pending t;
	static const uint8_t tok[2] = { 0x12, 0x34 };
	struct downlink_pending_entry e = entry(0xAA, 77, 2), got;

	downlink_pending_init(&t, 0);
	strcpy(e.id, "req-1");
	ck_assert_int_eq(downlink_pending_add(&t, tok, &e, 0), LB_OK);
	ck_assert_int_eq(downlink_pending_add(&t, tok, &e, 0), LB_ERR_DUPLICATE);
	/* Same token from another gateway: not ours, left in place. */
	ck_assert_int_eq(downlink_pending_take(&t, 0xBB, tok, NULL, 0, &got), LB_ERR_NOT_FOUND);
	ck_assert(downlink_pending_has(&t, tok));
	ck_assert_int_eq(downlink_pending_take(&t, 0xAA, tok, NULL, 0, &got), LB_OK);
	ck_assert_uint_eq(got.fcnt_down, 77);
	ck_assert_uint_eq(got.gateway_eui, 0xAA);
	ck_assert_str_eq(got.id, "req-1");
	ck_assert_uint_eq(t.n, 0);
	ck_assert_int_eq(downlink_pending_take(&t, 0xAA, tok, NULL, 0, &got), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(downlink_pending_take(NULL, 0xAA, tok, NULL, 0, &got), LB_ERR_INVAL);
	ck_assert_int_eq(downlink_pending_add(&t, tok, NULL, 0), LB_ERR_INVAL);
	downlink_pending_free(&t);
}
END_TEST

/* The earliest deadline is kept as entries come and go (taken out of
 * order, a hole left below the others), and a device in flight is found. */
START_TEST(test_pending_deadline_kept)
{
	static struct downlink_pending t;
	static const uint8_t tok[4][2] = {{0, 1}, {0, 2}, {0, 3}, {0, 4}};
	struct downlink_pending_entry e = entry(0xAA, 1, 2);
	int64_t deadline = 0;

	downlink_pending_init(&t, 1000);
	ck_assert(!downlink_pending_has_device(&t, e.dev_eui));
	ck_assert(!downlink_pending_has_device(NULL, e.dev_eui));
	ck_assert_int_eq(downlink_pending_add(&t, tok[0], &e, 500), LB_OK);  /* 1500 */
	e.dev_eui = 0xD2;
	ck_assert_int_eq(downlink_pending_add(&t, tok[1], &e, 200), LB_OK);  /* 1200 */
	e.dev_eui = 0xD3;
	ck_assert_int_eq(downlink_pending_add(&t, tok[2], &e, 900), LB_OK);  /* 1900 */
	ck_assert_int_eq(downlink_pending_next_deadline(&t, &deadline), LB_OK);
	ck_assert_int_eq(deadline, 1200);
	ck_assert(downlink_pending_has_device(&t, 0xD2));
	ck_assert(!downlink_pending_has_device(&t, 0xD4));
	/* The earliest leaves: the next earliest, not a stale one. */
	ck_assert_int_eq(downlink_pending_take(&t, 0xAA, tok[1], NULL, 0, NULL), LB_OK);
	ck_assert(!downlink_pending_has_device(&t, 0xD2));
	ck_assert_int_eq(downlink_pending_next_deadline(&t, &deadline), LB_OK);
	ck_assert_int_eq(deadline, 1500);
	ck_assert_uint_eq(downlink_pending_expire(&t, 1499, NULL, NULL), 0);
	/* The first slot leaves: the one after the hole is still found. */
	ck_assert_int_eq(downlink_pending_take(&t, 0xAA, tok[0], NULL, 0, NULL), LB_OK);
	ck_assert(downlink_pending_has(&t, tok[2]));
	ck_assert(downlink_pending_has_device(&t, 0xD3));
	ck_assert_int_eq(downlink_pending_next_deadline(&t, &deadline), LB_OK);
	ck_assert_int_eq(deadline, 1900);
	/* A later entry leaving keeps the earliest; an earlier one added wins. */
	e.dev_eui = 0xD4;
	ck_assert_int_eq(downlink_pending_add(&t, tok[3], &e, 1000), LB_OK);  /* 2000 */
	ck_assert_int_eq(downlink_pending_take(&t, 0xAA, tok[3], NULL, 0, NULL), LB_OK);
	ck_assert_int_eq(downlink_pending_next_deadline(&t, &deadline), LB_OK);
	ck_assert_int_eq(deadline, 1900);
	ck_assert_int_eq(downlink_pending_add(&t, tok[0], &e, 100), LB_OK);  /* 1100 */
	ck_assert_int_eq(downlink_pending_next_deadline(&t, &deadline), LB_OK);
	ck_assert_int_eq(deadline, 1100);
	ck_assert_uint_eq(downlink_pending_expire(&t, 1100, NULL, NULL), 1);
	ck_assert_int_eq(downlink_pending_next_deadline(&t, &deadline), LB_OK);
	ck_assert_int_eq(deadline, 1900);
	ck_assert_uint_eq(downlink_pending_expire(&t, 5000, NULL, NULL), 1);
	ck_assert_int_eq(downlink_pending_next_deadline(&t, &deadline), LB_ERR_NOT_FOUND);
	ck_assert(!downlink_pending_has_device(&t, 0xD3));
	downlink_pending_free(&t);
}
END_TEST

/* A TX_ACK is the answer only if it comes from where the PULL_RESP went:
 * same address and port (an IPv4 source seen as IPv4-mapped IPv6 too). */
START_TEST(test_pending_take_source)
{
	static struct downlink_pending t;
	static const uint8_t tok[2] = {0x56, 0x78};
	struct downlink_pending_entry e = entry(0xAA, 5, 2), got;
	struct sockaddr_in dest = {.sin_family = AF_INET, .sin_port = htons(40002)};
	struct sockaddr_in other = dest;
	struct sockaddr_in6 mapped = {.sin6_family = AF_INET6, .sin6_port = htons(40002)};

	inet_pton(AF_INET, "127.0.0.1", &dest.sin_addr);
	memcpy(&e.dest, &dest, sizeof(dest));
	e.dest_len = sizeof(dest);
	downlink_pending_init(&t, 0);
	ck_assert_int_eq(downlink_pending_add(&t, tok, &e, 0), LB_OK);
	/* Another address, same port: refused, still pending. */
	inet_pton(AF_INET, "127.0.0.2", &other.sin_addr);
	ck_assert_int_eq(downlink_pending_take(&t, 0xAA, tok, (struct sockaddr *)&other,
					       sizeof(other), &got), LB_ERR_ADDRESS_MISMATCH);
	/* Same address, another port: refused as well. */
	other.sin_addr = dest.sin_addr;
	other.sin_port = htons(40001);
	ck_assert_int_eq(downlink_pending_take(&t, 0xAA, tok, (struct sockaddr *)&other,
					       sizeof(other), &got), LB_ERR_ADDRESS_MISMATCH);
	ck_assert_int_eq(downlink_pending_take(&t, 0xAA, tok, NULL, 0, &got),
			 LB_ERR_ADDRESS_MISMATCH);
	ck_assert(downlink_pending_has(&t, tok));
	/* The destination itself, as a dual-stack socket sees it. */
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr);
	ck_assert_int_eq(downlink_pending_take(&t, 0xAA, tok, (struct sockaddr *)&mapped,
					       sizeof(mapped), &got), LB_OK);
	ck_assert_uint_eq(got.fcnt_down, 5);
	ck_assert_uint_eq(t.n, 0);
	downlink_pending_free(&t);
}
END_TEST

START_TEST(test_pending_full)
{
	static struct downlink_pending t;
	struct downlink_pending_entry e = entry(0xAA, 0, 1);
	uint8_t tok[2];

	downlink_pending_init(&t, 0);
	for (unsigned i = 0; i < DOWNLINK_PENDING_MAX; i++) {
		tok[0] = (uint8_t)(i >> 8);
		tok[1] = (uint8_t)i;
		ck_assert_int_eq(downlink_pending_add(&t, tok, &e, i), LB_OK);
	}
	tok[0] = 0xff;
	ck_assert_int_eq(downlink_pending_add(&t, tok, &e, 0), LB_ERR_FULL);
	/* Entries added at 0..127 ms expire one by one. */
	ck_assert_uint_eq(downlink_pending_expire(&t, 3000 + 9, NULL, NULL), 10);
	ck_assert_int_eq(downlink_pending_add(&t, tok, &e, 0), LB_OK);
	ck_assert_uint_eq(t.n, DOWNLINK_PENDING_MAX - 9);
	downlink_pending_free(&t);
}
END_TEST

START_TEST(test_txack_classification)
{
	static const char *const retry[] = { "TOO_LATE", "TOO_EARLY", "COLLISION_PACKET",
					     "COLLISION_BEACON", "TX_FREQ", "TX_POWER",
					     "GPS_UNLOCKED" };
	static const char *const final[] = { "UNKNOWN", "", "NONE", "too_late", "TOO_LATE ",
					     "TX" };
	struct gwmp_txack ack;

	memset(&ack, 0, sizeof(ack));
	ck_assert(downlink_txack_ok(NULL));
	ck_assert(downlink_txack_ok(&ack));
	strcpy(ack.error, "NONE");
	ck_assert(downlink_txack_ok(&ack));
	/* sx1302_hal: TX_POWER as a warning is a success. */
	strcpy(ack.error, "");
	strcpy(ack.warn, "TX_POWER");
	ack.has_value = true;
	ack.value = 20;
	ck_assert(downlink_txack_ok(&ack));
	strcpy(ack.error, "TOO_LATE");
	ck_assert(!downlink_txack_ok(&ack));
	strcpy(ack.error, "UNKNOWN");
	ck_assert(!downlink_txack_ok(&ack));

	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		ck_assert_msg(downlink_txack_retryable(retry[i]), "%s", retry[i]);
	for (size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++)
		ck_assert_msg(!downlink_txack_retryable(final[i]), "%s", final[i]);
	ck_assert(!downlink_txack_retryable(NULL));
}
END_TEST

START_TEST(test_txack_apply)
{
	struct downlink_pending_entry e = entry(0xAA, 5, 2);
	struct gwmp_txack ack;

	/* RX1 TOO_LATE -> RX2; RX2 accepted. */
	memset(&ack, 0, sizeof(ack));
	strcpy(ack.error, "TOO_LATE");
	ck_assert_int_eq(downlink_txack_apply(&e, &ack), DOWNLINK_TXACK_RETRY);
	ck_assert_uint_eq(e.attempt, 1);
	ck_assert_str_eq(e.status[0], "TOO_LATE");
	ck_assert_str_eq(e.status[1], "");
	ck_assert_int_eq(downlink_txack_apply(&e, NULL), DOWNLINK_TXACK_SENT);
	ck_assert_str_eq(e.status[1], "OK");

	/* RX2 refused too: failed, nothing left. */
	e = entry(0xAA, 5, 2);
	ck_assert_int_eq(downlink_txack_apply(&e, &ack), DOWNLINK_TXACK_RETRY);
	strcpy(ack.error, "COLLISION_PACKET");
	ck_assert_int_eq(downlink_txack_apply(&e, &ack), DOWNLINK_TXACK_FAILED);
	ck_assert_uint_eq(e.attempt, 1);
	ck_assert_str_eq(e.status[1], "COLLISION_PACKET");

	/* A final error on RX1 does not try RX2; a plan with one window neither. */
	e = entry(0xAA, 5, 2);
	strcpy(ack.error, "UNKNOWN");
	ck_assert_int_eq(downlink_txack_apply(&e, &ack), DOWNLINK_TXACK_FAILED);
	ck_assert_uint_eq(e.attempt, 0);
	e = entry(0xAA, 5, 1);
	strcpy(ack.error, "TOO_LATE");
	ck_assert_int_eq(downlink_txack_apply(&e, &ack), DOWNLINK_TXACK_FAILED);
	/* "NONE" is a success (PROTOCOL.TXT). */
	e = entry(0xAA, 5, 2);
	strcpy(ack.error, "NONE");
	ck_assert_int_eq(downlink_txack_apply(&e, &ack), DOWNLINK_TXACK_SENT);
	ck_assert_str_eq(e.status[0], "OK");
	ck_assert_int_eq(downlink_txack_apply(NULL, &ack), DOWNLINK_TXACK_FAILED);
}
END_TEST

static Suite *downlink_suite(void)
{
	Suite *s = suite_create("downlink");
	TCase *frame = tcase_create("frame");
	TCase *plan = tcase_create("plan");
	TCase *mac = tcase_create("mac");
	TCase *txack = tcase_create("txack");

	tcase_add_test(frame, test_v3_downlink_vector);
	tcase_add_test(frame, test_v3_mic_primitive);
	tcase_add_test(frame, test_confirmed_full_frame_roundtrip);
	tcase_add_test(frame, test_fport0_uses_nwkskey);
	tcase_add_test(frame, test_build_errors);
	tcase_add_test(plan, test_plan_eu868);
	tcase_add_test(plan, test_plan_new_regions);
	tcase_add_test(plan, test_plan_regional_parameters);
	tcase_add_test(plan, test_plan_eu868_join_semtech_example);
	tcase_add_test(plan, test_plan_tmst_wraps);
	tcase_add_test(plan, test_plan_us915);
	tcase_add_test(plan, test_plan_us915_join_and_bad_channel);
	tcase_add_test(plan, test_plan_best_gateway);
	tcase_add_test(plan, test_plan_class_c);
	tcase_add_test(plan, test_plan_oversize);
	tcase_add_test(plan, test_plan_set_payload_later);
	tcase_add_test(plan, test_plan_fsk_and_lrfhss);
	tcase_add_test(plan, test_plan_invalid);
	tcase_add_test(mac, test_demod_floor);
	tcase_add_test(mac, test_link_check_ans);
	tcase_add_test(mac, test_link_check_gw_count_clamped);
	tcase_add_test(mac, test_device_time_ans);
	tcase_add_test(mac, test_gps_time);
	tcase_add_test(txack, test_pending_timeouts);
	tcase_add_test(txack, test_pending_take);
	tcase_add_test(txack, test_pending_deadline_kept);
	tcase_add_test(txack, test_pending_take_source);
	tcase_add_test(txack, test_pending_full);
	tcase_add_test(txack, test_txack_classification);
	tcase_add_test(txack, test_txack_apply);
	suite_add_tcase(s, frame);
	suite_add_tcase(s, plan);
	suite_add_tcase(s, mac);
	suite_add_tcase(s, txack);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(downlink_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
