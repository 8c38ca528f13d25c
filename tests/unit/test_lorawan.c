/* SPDX-License-Identifier: MIT */
/*
 * test_lorawan.c - PHYPayload codec: parsing of published LoRaWAN vectors
 * (anthonykirby/lora-packet __tests__, chirpstack/chirpstack
 * lrwn/src/phy_payload.rs, TheThingsNetwork/lorawan-stack pkg/crypto tests),
 * edge cases of every MType, frame counter reconstruction (TS001-1.0.4
 * §4.3.1.5) and build -> parse -> verify -> decrypt.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "testutil.h"

/* Parse a hex frame kept in a static buffer (the frame points into it). */
static uint8_t g_phy[300];
static size_t g_len;

static int parse_hex(const char *hex, struct lw_frame *f)
{
	g_len = unhex(hex, g_phy, sizeof(g_phy));
	return lorawan_parse(g_phy, g_len, f);
}

static void keys_from_hex(struct lw_keys *ks, const char *nwk, const char *app)
{
	uint8_t n[16], a[16];

	ck_assert_uint_eq(unhex(nwk, n, sizeof(n)), 16);
	ck_assert_uint_eq(unhex(app, a, sizeof(a)), 16);
	memset(ks, 0, sizeof(*ks));
	ck_assert_int_eq(lwcrypto_keys_init(ks, n, a), LB_OK);
}

#define V1_NWK "44024241ed4ce9a68c6a8bc055233fd3"
#define V1_APP "ec925802ae430ca77fd3dd73cb2cc588"
#define V1_FRAME "40F17DBE4900020001954378762B11FF0D"
#define V1_MULTI "40f17dbe490004000155332de41a11adc072553544429ce7787707d1c316e027" \
		 "e7e5e334263376affb8aa17ad30075293f28dea8a20af3c5e7"
#define V1_EMPTY "40F17DBE49000300012A3518AF"
#define V2_NWK "0102030405060708090a0b0c0d0e0f10"
#define V2_APP "100f0e0d0c0b0a090807060504030201"
#define V2_FRAME "80 04030201 03 0000 067307 0a e264d4f7 e117d2c0"

/* --- vectors ------------------------------------------------------------ */

START_TEST(parse_v1)
{
	struct lw_frame f;
	static const uint8_t frm[4] = {0x95, 0x43, 0x78, 0x76};
	static const uint8_t mic[4] = {0x2b, 0x11, 0xff, 0x0d};

	ck_assert_int_eq(parse_hex(V1_FRAME, &f), LB_OK);
	ck_assert_uint_eq(f.mhdr, 0x40);
	ck_assert_int_eq(f.mtype, LW_MTYPE_UNCONFIRMED_UP);
	ck_assert_uint_eq(f.major, 0);
	ck_assert_ptr_eq(f.phy, g_phy);
	ck_assert_uint_eq(f.phy_len, 17);
	ck_assert_uint_eq(f.msg_len, 13);
	ck_assert_mem_eq(f.mic, mic, 4);
	ck_assert_uint_eq(f.u.data.dev_addr, 0x49BE7DF1);
	ck_assert_uint_eq(f.u.data.fctrl, 0);
	ck_assert(!f.u.data.adr && !f.u.data.adr_ack_req && !f.u.data.ack && !f.u.data.fpending);
	ck_assert_uint_eq(f.u.data.fcnt16, 2);
	ck_assert_uint_eq(f.u.data.fopts_len, 0);
	ck_assert_ptr_null(f.u.data.fopts);
	ck_assert(f.u.data.has_fport);
	ck_assert_uint_eq(f.u.data.fport, 1);
	ck_assert_uint_eq(f.u.data.frm_len, 4);
	ck_assert_ptr_eq(f.u.data.frm_payload, g_phy + 9);
	ck_assert_mem_eq(f.u.data.frm_payload, frm, 4);
}
END_TEST

START_TEST(parse_v1_multi_and_empty)
{
	struct lw_frame f;

	ck_assert_int_eq(parse_hex(V1_MULTI, &f), LB_OK);
	ck_assert_uint_eq(f.u.data.fcnt16, 4);
	ck_assert_uint_eq(f.u.data.fport, 1);
	ck_assert_uint_eq(f.u.data.frm_len, 44);

	ck_assert_int_eq(parse_hex(V1_EMPTY, &f), LB_OK);
	ck_assert_uint_eq(f.u.data.fcnt16, 3);
	ck_assert(f.u.data.has_fport);
	ck_assert_uint_eq(f.u.data.fport, 1);
	ck_assert_uint_eq(f.u.data.frm_len, 0);
	ck_assert_ptr_null(f.u.data.frm_payload);
	ck_assert_uint_eq(f.msg_len, 9);
}
END_TEST

START_TEST(parse_v2)
{
	struct lw_frame f;
	static const uint8_t fopts[3] = {0x06, 0x73, 0x07};
	static const uint8_t frm[4] = {0xe2, 0x64, 0xd4, 0xf7};

	ck_assert_int_eq(parse_hex(V2_FRAME, &f), LB_OK);
	ck_assert_int_eq(f.mtype, LW_MTYPE_CONFIRMED_UP);
	ck_assert_uint_eq(f.u.data.dev_addr, 0x01020304);
	ck_assert_uint_eq(f.u.data.fctrl, 0x03);
	ck_assert_uint_eq(f.u.data.fcnt16, 0);
	ck_assert_uint_eq(f.u.data.fopts_len, 3);
	ck_assert_mem_eq(f.u.data.fopts, fopts, 3);
	ck_assert_uint_eq(f.u.data.fport, 10);
	ck_assert_uint_eq(f.u.data.frm_len, 4);
	ck_assert_mem_eq(f.u.data.frm_payload, frm, 4);
}
END_TEST

START_TEST(parse_v3_frame)
{
	struct lw_frame f;

	ck_assert_int_eq(parse_hex("40 04030201 00 0100 01 01020304 3b073182", &f), LB_OK);
	ck_assert_uint_eq(f.u.data.dev_addr, 0x01020304);
	ck_assert_uint_eq(f.u.data.fcnt16, 1);
	ck_assert_uint_eq(f.u.data.fport, 1);
	ck_assert_uint_eq(f.u.data.frm_len, 4);
}
END_TEST

START_TEST(parse_v4_join_requests)
{
	struct lw_frame f;

	ck_assert_int_eq(parse_hex("00 0101010101010101 0202020202020202 0303 09b97b32", &f),
			 LB_OK);
	ck_assert_int_eq(f.mtype, LW_MTYPE_JOIN_REQUEST);
	ck_assert_uint_eq(f.msg_len, 19);
	ck_assert(f.u.join_req.join_eui == 0x0101010101010101ull);
	ck_assert(f.u.join_req.dev_eui == 0x0202020202020202ull);
	ck_assert_uint_eq(f.u.join_req.dev_nonce, 771);

	ck_assert_int_eq(parse_hex("00 0807060504030201 0807060504030201 0201 e6e10c55", &f),
			 LB_OK);
	ck_assert(f.u.join_req.join_eui == 0x0102030405060708ull);
	ck_assert(f.u.join_req.dev_eui == 0x0102030405060708ull);
	ck_assert_uint_eq(f.u.join_req.dev_nonce, 0x0102);
	ck_assert_uint_eq(f.mic[0], 0xe6);
	ck_assert_uint_eq(f.mic[3], 0x55);
}
END_TEST

START_TEST(parse_v5_join_accepts)
{
	struct lw_frame f;

	ck_assert_int_eq(parse_hex("20 23cf335489aae3183c0be0baa8dee5f3", &f), LB_OK);
	ck_assert_int_eq(f.mtype, LW_MTYPE_JOIN_ACCEPT);
	ck_assert_uint_eq(f.phy_len, 17);
	ck_assert_uint_eq(f.msg_len, 13);
	ck_assert_uint_eq(f.mic[0], 0xa8);  /* still ciphertext */
	ck_assert_int_eq(parse_hex("20 c9fbb259e11649096a568a9e3b7117c3", &f), LB_OK);
	/* With a CFList: 33 bytes. */
	ck_assert_int_eq(parse_hex("20 c9fbb259e11649096a568a9e3b7117c3"
				   "c9fbb259e11649096a568a9e3b7117c3", &f), LB_OK);
	ck_assert_uint_eq(f.phy_len, 33);
}
END_TEST

/* --- edge cases --------------------------------------------------------- */

START_TEST(parse_every_mtype)
{
	struct lw_frame f;

	ck_assert_int_eq(parse_hex("60 04030201 b0 0500 aabbccdd", &f), LB_OK);
	ck_assert_int_eq(f.mtype, LW_MTYPE_UNCONFIRMED_DOWN);
	ck_assert_uint_eq(f.u.data.fcnt16, 5);
	ck_assert(!f.u.data.has_fport);
	ck_assert_int_eq(parse_hex("a0 04030201 00 0000 02 ff aabbccdd", &f), LB_OK);
	ck_assert_int_eq(f.mtype, LW_MTYPE_CONFIRMED_DOWN);
	ck_assert_uint_eq(f.u.data.fport, 2);
	ck_assert_int_eq(parse_hex("c0 0102 aabbccdd", &f), LB_OK);
	ck_assert_int_eq(f.mtype, LW_MTYPE_RFU);
	ck_assert_uint_eq(f.msg_len, 3);
	ck_assert_uint_eq(f.mic[0], 0xaa);
	ck_assert_int_eq(parse_hex("e0 aabbccdd", &f), LB_OK);
	ck_assert_int_eq(f.mtype, LW_MTYPE_PROPRIETARY);
	ck_assert_uint_eq(f.msg_len, 1);
	ck_assert_int_eq(parse_hex("e0 aabbcc", &f), LB_ERR_TOO_SHORT);
	ck_assert_int_eq(parse_hex("c0", &f), LB_ERR_TOO_SHORT);
	/* MHDR RFU bits are ignored. */
	ck_assert_int_eq(parse_hex("5c 04030201 00 0000 aabbccdd", &f), LB_OK);
	ck_assert_int_eq(f.mtype, LW_MTYPE_UNCONFIRMED_UP);
}
END_TEST

START_TEST(parse_major)
{
	struct lw_frame f;
	uint8_t mhdr;

	for (mhdr = 1; mhdr < 4; mhdr++) {
		uint8_t buf[17];

		unhex(V1_FRAME, buf, sizeof(buf));
		buf[0] = (uint8_t)(0x40 | mhdr);
		ck_assert_int_eq(lorawan_parse(buf, sizeof(buf), &f), LB_ERR_VERSION);
	}
	ck_assert_int_eq(parse_hex("e3 aabbccdd", &f), LB_ERR_VERSION);
	ck_assert_int_eq(parse_hex("01", &f), LB_ERR_VERSION);
}
END_TEST

START_TEST(parse_lengths)
{
	struct lw_frame f;
	uint8_t big[256];

	memset(big, 0, sizeof(big));
	big[0] = 0xe0;
	ck_assert_int_eq(lorawan_parse(big, 0, &f), LB_ERR_TOO_SHORT);
	ck_assert_int_eq(lorawan_parse(NULL, 0, &f), LB_ERR_TOO_SHORT);
	ck_assert_int_eq(lorawan_parse(NULL, 5, &f), LB_ERR_INVAL);
	ck_assert_int_eq(lorawan_parse(big, 5, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(lorawan_parse(big, 256, &f), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(lorawan_parse(big, 255, &f), LB_OK);
	big[0] = 0x40;
	ck_assert_int_eq(lorawan_parse(big, 255, &f), LB_OK);
	ck_assert_uint_eq(f.u.data.frm_len, 255 - 9 - 4);
	ck_assert_int_eq(lorawan_parse(big, 11, &f), LB_ERR_TOO_SHORT);
	ck_assert_int_eq(lorawan_parse(big, 12, &f), LB_OK);
	big[0] = 0x00;
	ck_assert_int_eq(lorawan_parse(big, 22, &f), LB_ERR_TOO_SHORT);
	ck_assert_int_eq(lorawan_parse(big, 24, &f), LB_ERR_MALFORMED);
	ck_assert_int_eq(lorawan_parse(big, 23, &f), LB_OK);
	big[0] = 0x20;
	ck_assert_int_eq(lorawan_parse(big, 16, &f), LB_ERR_TOO_SHORT);
	ck_assert_int_eq(lorawan_parse(big, 18, &f), LB_ERR_MALFORMED);
	ck_assert_int_eq(lorawan_parse(big, 32, &f), LB_ERR_MALFORMED);
	ck_assert_int_eq(lorawan_parse(big, 34, &f), LB_ERR_MALFORMED);
	ck_assert_int_eq(lorawan_parse(big, 33, &f), LB_OK);
}
END_TEST

START_TEST(parse_fopts_bounds)
{
	struct lw_frame f;

	/* FOptsLen 1 in a minimal frame: FOpts runs into the MIC. */
	ck_assert_int_eq(parse_hex("40 04030201 01 0000 aabbccdd", &f), LB_ERR_MALFORMED);
	/* FOptsLen 15 with only 10 bytes of room. */
	ck_assert_int_eq(parse_hex("40 04030201 0f 0000 00112233445566778899 aabbccdd", &f),
			 LB_ERR_MALFORMED);
	/* FOptsLen 15 exactly filling the frame: no FPort. */
	ck_assert_int_eq(parse_hex("40 04030201 0f 0000 00112233445566778899aabbccddee aabbccdd",
				   &f), LB_OK);
	ck_assert_uint_eq(f.u.data.fopts_len, 15);
	ck_assert_uint_eq(f.u.data.fopts[14], 0xee);
	ck_assert(!f.u.data.has_fport);
	ck_assert_uint_eq(f.u.data.frm_len, 0);
	/* FOpts plus FPort 5 and payload. */
	ck_assert_int_eq(parse_hex("40 04030201 02 0000 0203 05 99 aabbccdd", &f), LB_OK);
	ck_assert_uint_eq(f.u.data.fport, 5);
	ck_assert_uint_eq(f.u.data.frm_len, 1);
	ck_assert_uint_eq(f.u.data.frm_payload[0], 0x99);
}
END_TEST

START_TEST(parse_fport)
{
	struct lw_frame f;

	/* Absent. */
	ck_assert_int_eq(parse_hex("40 04030201 00 0000 aabbccdd", &f), LB_OK);
	ck_assert(!f.u.data.has_fport);
	ck_assert_ptr_null(f.u.data.frm_payload);
	/* 0: MAC commands in FRMPayload, FOpts empty. */
	ck_assert_int_eq(parse_hex("40 04030201 00 0000 00 0203 aabbccdd", &f), LB_OK);
	ck_assert(f.u.data.has_fport);
	ck_assert_uint_eq(f.u.data.fport, 0);
	ck_assert_uint_eq(f.u.data.frm_len, 2);
	/* 0 with FOpts: TS001-1.0.4 §4.3.1.6 violation. */
	ck_assert_int_eq(parse_hex("40 04030201 01 0000 02 00 0203 aabbccdd", &f), LB_ERR_MALFORMED);
	ck_assert_int_eq(parse_hex("60 04030201 01 0000 02 00 aabbccdd", &f), LB_ERR_MALFORMED);
	ck_assert_int_eq(parse_hex("40 04030201 00 0000 01 aabbccdd", &f), LB_OK);
	ck_assert_uint_eq(f.u.data.fport, 1);
	ck_assert_int_eq(parse_hex("40 04030201 00 0000 df 11 aabbccdd", &f), LB_OK);
	ck_assert_uint_eq(f.u.data.fport, 223);
	ck_assert_int_eq(parse_hex("40 04030201 00 0000 e0 11 aabbccdd", &f), LB_OK);
	ck_assert_uint_eq(f.u.data.fport, 224);
	/* RFU ports parse; the caller decides what to do with them. */
	ck_assert_int_eq(parse_hex("40 04030201 00 0000 ff 11 aabbccdd", &f), LB_OK);
	ck_assert_uint_eq(f.u.data.fport, 255);
}
END_TEST

START_TEST(parse_fctrl_bits)
{
	struct lw_frame f;

	ck_assert_int_eq(parse_hex("40 04030201 f0 0000 aabbccdd", &f), LB_OK);
	ck_assert(f.u.data.adr && f.u.data.adr_ack_req && f.u.data.ack && f.u.data.fpending);
	ck_assert_int_eq(parse_hex("40 04030201 80 0000 aabbccdd", &f), LB_OK);
	ck_assert(f.u.data.adr && !f.u.data.adr_ack_req && !f.u.data.ack && !f.u.data.fpending);
	ck_assert_int_eq(parse_hex("80 04030201 40 0000 aabbccdd", &f), LB_OK);
	ck_assert(!f.u.data.adr && f.u.data.adr_ack_req && !f.u.data.ack);
	ck_assert_int_eq(parse_hex("40 04030201 20 0000 aabbccdd", &f), LB_OK);
	ck_assert(f.u.data.ack && !f.u.data.fpending);
	ck_assert_int_eq(parse_hex("40 04030201 10 0000 aabbccdd", &f), LB_OK);
	ck_assert(f.u.data.fpending && !f.u.data.ack);  /* ClassB on uplink */
	/* Downlink: bit 6 is RFU, never reported as ADRACKReq. */
	ck_assert_int_eq(parse_hex("60 04030201 f0 ffff aabbccdd", &f), LB_OK);
	ck_assert(f.u.data.adr && !f.u.data.adr_ack_req && f.u.data.ack && f.u.data.fpending);
	ck_assert_uint_eq(f.u.data.fctrl, 0xf0);
	ck_assert_uint_eq(f.u.data.fcnt16, 0xffff);
}
END_TEST

START_TEST(mtype_helpers)
{
	static const char *const names[8] = {
		"JoinRequest", "JoinAccept", "UnconfirmedDataUp", "UnconfirmedDataDown",
		"ConfirmedDataUp", "ConfirmedDataDown", "RFU", "Proprietary"};
	int t;

	for (t = 0; t < 8; t++) {
		ck_assert_str_eq(lorawan_mtype_name((enum lw_mtype)t), names[t]);
		ck_assert(lorawan_is_data_up((enum lw_mtype)t) == (t == 2 || t == 4));
		ck_assert(lorawan_is_data_down((enum lw_mtype)t) == (t == 3 || t == 5));
	}
}
END_TEST

/* --- frame counter (TS001-1.0.4 §4.3.1.5) -------------------------------- */

START_TEST(fcnt_reconstruction)
{
	/* Fresh session: the 16 bits are the counter. */
	ck_assert_uint_eq(lorawan_fcnt_full(0, false, 0), 0);
	ck_assert_uint_eq(lorawan_fcnt_full(12345, false, 7), 7);
	/* Repeat (NbTrans) of the last accepted counter. */
	ck_assert_uint_eq(lorawan_fcnt_full(10, true, 10), 10);
	ck_assert_uint_eq(lorawan_fcnt_full(0, true, 0), 0);
	ck_assert_uint_eq(lorawan_fcnt_full(0x1234ABCD, true, 0xABCD), 0x1234ABCD);
	/* Increment and gap. */
	ck_assert_uint_eq(lorawan_fcnt_full(10, true, 11), 11);
	ck_assert_uint_eq(lorawan_fcnt_full(10, true, 100), 100);
	ck_assert_uint_eq(lorawan_fcnt_full(0x30005, true, 0x4000), 0x34000);
	/* Rollover of the 16 bits on air. */
	ck_assert_uint_eq(lorawan_fcnt_full(0xFFFF, true, 0x0000), 0x10000);
	ck_assert_uint_eq(lorawan_fcnt_full(0xFFFE, true, 0x0003), 0x10003);
	ck_assert_uint_eq(lorawan_fcnt_full(0x1FFFF, true, 0x0000), 0x20000);
	ck_assert_uint_eq(lorawan_fcnt_full(0x1FFFF, true, 0xFFFF), 0x1FFFF);
	/* An older counter is read as the next epoch (the MIC then fails). */
	ck_assert_uint_eq(lorawan_fcnt_full(10, true, 5), 0x10005);
	ck_assert_uint_eq(lorawan_fcnt_full(10, true, 9), 0x10009);
}
END_TEST

/* --- build -------------------------------------------------------------- */

static void build_expect(const struct lw_data_params *p, const char *nwk, const char *app,
			 const char *hex)
{
	struct lw_keys ks;
	uint8_t out[LW_MAX_PHY], exp[LW_MAX_PHY];
	size_t n = 0, en = unhex(hex, exp, sizeof(exp));

	keys_from_hex(&ks, nwk, app);
	ck_assert_int_eq(lorawan_build_data(p, &ks, out, sizeof(out), &n), LB_OK);
	ck_assert_uint_eq(n, en);
	ck_assert_mem_eq(out, exp, en);
	lwcrypto_keys_free(&ks);
}

START_TEST(build_v1)
{
	static const char fox[] = "The quick brown fox jumps over the lazy dog.";
	struct lw_data_params p = {
		.mtype = LW_MTYPE_UNCONFIRMED_UP, .dev_addr = 0x49BE7DF1, .fcnt = 2,
		.has_fport = true, .fport = 1, .payload = (const uint8_t *)"test", .payload_len = 4,
	};

	build_expect(&p, V1_NWK, V1_APP, V1_FRAME);
	p.fcnt = 4;
	p.payload = (const uint8_t *)fox;
	p.payload_len = 44;
	build_expect(&p, V1_NWK, V1_APP, V1_MULTI);
	p.fcnt = 3;
	p.payload = NULL;
	p.payload_len = 0;
	build_expect(&p, V1_NWK, V1_APP, V1_EMPTY);
}
END_TEST

START_TEST(build_v2)
{
	static const uint8_t fopts[3] = {0x06, 0x73, 0x07}, pl[4] = {1, 2, 3, 4};
	struct lw_data_params p = {
		.mtype = LW_MTYPE_CONFIRMED_UP, .dev_addr = 0x01020304, .fcnt = 0,
		.fopts = fopts, .fopts_len = 3, .has_fport = true, .fport = 10,
		.payload = pl, .payload_len = 4,
	};

	build_expect(&p, V2_NWK, V2_APP, V2_FRAME);
}
END_TEST

/* Build, parse, rebuild the counter, verify the MIC, decrypt. */
static void round_trip(const struct lw_data_params *p, struct lw_keys *ks, uint32_t last,
		       bool has_last)
{
	uint8_t out[LW_MAX_PHY], mic[4], plain[LW_MAX_PHY];
	size_t n = 0;
	struct lw_frame f;
	uint32_t full;
	int dir = lorawan_is_data_up(p->mtype) ? LW_DIR_UP : LW_DIR_DOWN;
	struct lw_key *k;

	ck_assert_int_eq(lorawan_build_data(p, ks, out, sizeof(out), &n), LB_OK);
	ck_assert_int_eq(lorawan_parse(out, n, &f), LB_OK);
	ck_assert_int_eq(f.mtype, p->mtype);
	ck_assert_uint_eq(f.u.data.dev_addr, p->dev_addr);
	ck_assert_uint_eq(f.u.data.fctrl & 0xF0, p->fctrl_flags);
	ck_assert_uint_eq(f.u.data.fopts_len, p->fopts_len);
	if (p->fopts_len)
		ck_assert_mem_eq(f.u.data.fopts, p->fopts, p->fopts_len);
	ck_assert(f.u.data.has_fport == p->has_fport);
	ck_assert_uint_eq(f.u.data.frm_len, p->payload_len);
	full = lorawan_fcnt_full(last, has_last, f.u.data.fcnt16);
	ck_assert_uint_eq(full, p->fcnt);
	ck_assert_int_eq(lwcrypto_data_mic(&ks->nwk_s_key, dir, f.u.data.dev_addr, full, f.phy,
					   f.msg_len, mic), LB_OK);
	ck_assert(lwcrypto_mic_equal(mic, f.mic));
	/* The wrong 32-bit counter (rollover missed) must not verify. */
	ck_assert_int_eq(lwcrypto_data_mic(&ks->nwk_s_key, dir, f.u.data.dev_addr,
					   full ^ 0x10000, f.phy, f.msg_len, mic), LB_OK);
	ck_assert(!lwcrypto_mic_equal(mic, f.mic));
	if (!p->has_fport)
		return;
	ck_assert_uint_eq(f.u.data.fport, p->fport);
	k = f.u.data.fport == 0 ? &ks->nwk_s_key : &ks->app_s_key;
	ck_assert_int_eq(lwcrypto_payload_crypt(k, dir, f.u.data.dev_addr, full,
						f.u.data.frm_payload, f.u.data.frm_len, plain),
			 LB_OK);
	if (p->payload_len)
		ck_assert_mem_eq(plain, p->payload, p->payload_len);
}

START_TEST(build_round_trips)
{
	static const uint8_t fopts[2] = {0x02, 0x03}, mac[3] = {0x06, 0xff, 0x20};
	uint8_t big[242];
	struct lw_keys ks;
	struct lw_data_params p = {
		.mtype = LW_MTYPE_UNCONFIRMED_UP, .dev_addr = 0x26011BDA, .fcnt = 0x20000,
		.has_fport = true, .fport = 2, .payload = (const uint8_t *)"hello", .payload_len = 5,
	};
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	keys_from_hex(&ks, V2_NWK, V2_APP);
	round_trip(&p, &ks, 0x1FFFF, true);            /* across the 0x1FFFF rollover */
	p.fcnt = 0x10000;
	round_trip(&p, &ks, 0xFFFF, true);
	p.fcnt = 0;
	round_trip(&p, &ks, 0, false);                 /* fresh session */
	/* Confirmed downlink with FOpts, ACK and FPending. */
	p.mtype = LW_MTYPE_CONFIRMED_DOWN;
	p.fctrl_flags = 0x80 | 0x20 | 0x10;
	p.fopts = fopts;
	p.fopts_len = 2;
	p.fcnt = 77;
	round_trip(&p, &ks, 76, true);
	/* FPort 0: MAC commands under NwkSKey. */
	p.mtype = LW_MTYPE_UNCONFIRMED_DOWN;
	p.fopts = NULL;
	p.fopts_len = 0;
	p.fport = 0;
	p.payload = mac;
	p.payload_len = sizeof(mac);
	round_trip(&p, &ks, 76, true);
	/* No FPort at all, ADRACKReq on a confirmed uplink. */
	p.mtype = LW_MTYPE_CONFIRMED_UP;
	p.fctrl_flags = 0x40;
	p.has_fport = false;
	p.payload = NULL;
	p.payload_len = 0;
	round_trip(&p, &ks, 76, true);
	/* Largest frame: 255 bytes, 16 Ai blocks; FPort 224. */
	p.has_fport = true;
	p.fport = 224;
	p.payload = big;
	p.payload_len = sizeof(big);
	round_trip(&p, &ks, 76, true);
	lwcrypto_keys_free(&ks);
}
END_TEST

START_TEST(build_errors)
{
	static const uint8_t fopts[1] = {0x02};
	uint8_t big[243] = {0}, out[LW_MAX_PHY];
	struct lw_keys ks, unset;
	size_t n = 0;
	struct lw_data_params p = {
		.mtype = LW_MTYPE_UNCONFIRMED_UP, .dev_addr = 1, .has_fport = true, .fport = 1,
		.payload = big, .payload_len = 243,
	};

	memset(&unset, 0, sizeof(unset));
	keys_from_hex(&ks, V2_NWK, V2_APP);
	ck_assert_int_eq(lorawan_build_data(&p, &ks, out, sizeof(out), &n), LB_ERR_TOO_LARGE);
	p.payload_len = 242;
	ck_assert_int_eq(lorawan_build_data(&p, &ks, out, 254, &n), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(lorawan_build_data(&p, &ks, out, 255, &n), LB_OK);
	ck_assert_uint_eq(n, 255);
	p.payload_len = 4;
	ck_assert_int_eq(lorawan_build_data(&p, &unset, out, sizeof(out), &n), LB_ERR_INVAL);
	ck_assert_int_eq(lorawan_build_data(NULL, &ks, out, sizeof(out), &n), LB_ERR_INVAL);
	ck_assert_int_eq(lorawan_build_data(&p, &ks, out, sizeof(out), NULL), LB_ERR_INVAL);
	p.mtype = LW_MTYPE_JOIN_REQUEST;
	ck_assert_int_eq(lorawan_build_data(&p, &ks, out, sizeof(out), &n), LB_ERR_INVAL);
	p.mtype = LW_MTYPE_PROPRIETARY;
	ck_assert_int_eq(lorawan_build_data(&p, &ks, out, sizeof(out), &n), LB_ERR_INVAL);
	p.mtype = LW_MTYPE_UNCONFIRMED_UP;
	p.fctrl_flags = 0x01;
	ck_assert_int_eq(lorawan_build_data(&p, &ks, out, sizeof(out), &n), LB_ERR_INVAL);
	p.fctrl_flags = 0;
	p.fopts_len = 16;
	p.fopts = big;
	ck_assert_int_eq(lorawan_build_data(&p, &ks, out, sizeof(out), &n), LB_ERR_INVAL);
	p.fopts = NULL;
	p.fopts_len = 1;
	ck_assert_int_eq(lorawan_build_data(&p, &ks, out, sizeof(out), &n), LB_ERR_INVAL);
	p.fopts = fopts;
	p.fport = 0;
	ck_assert_int_eq(lorawan_build_data(&p, &ks, out, sizeof(out), &n), LB_ERR_INVAL);
	p.fopts_len = 0;
	p.has_fport = false;
	ck_assert_int_eq(lorawan_build_data(&p, &ks, out, sizeof(out), &n), LB_ERR_INVAL);
	lwcrypto_keys_free(&ks);
}
END_TEST

static Suite *lorawan_suite(void)
{
	Suite *s = suite_create("lorawan");
	TCase *vec = tcase_create("vectors");
	TCase *edge = tcase_create("edges");
	TCase *build = tcase_create("build");

	tcase_add_test(vec, parse_v1);
	tcase_add_test(vec, parse_v1_multi_and_empty);
	tcase_add_test(vec, parse_v2);
	tcase_add_test(vec, parse_v3_frame);
	tcase_add_test(vec, parse_v4_join_requests);
	tcase_add_test(vec, parse_v5_join_accepts);
	suite_add_tcase(s, vec);

	tcase_add_test(edge, parse_every_mtype);
	tcase_add_test(edge, parse_major);
	tcase_add_test(edge, parse_lengths);
	tcase_add_test(edge, parse_fopts_bounds);
	tcase_add_test(edge, parse_fport);
	tcase_add_test(edge, parse_fctrl_bits);
	tcase_add_test(edge, mtype_helpers);
	tcase_add_test(edge, fcnt_reconstruction);
	suite_add_tcase(s, edge);

	tcase_add_test(build, build_v1);
	tcase_add_test(build, build_v2);
	tcase_add_test(build, build_round_trips);
	tcase_add_test(build, build_errors);
	suite_add_tcase(s, build);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(lorawan_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
