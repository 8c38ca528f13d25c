/* SPDX-License-Identifier: MIT */
/*
 * test_join.c - OTAA join logic against published vectors:
 *   V4 (join-request MIC: chirpstack/chirpstack lrwn/src/phy_payload.rs,
 *   TheThingsNetwork/lorawan-stack pkg/crypto/join_messages_test.go), V5
 *   (join-accept MIC/encryption: the same two files), V6 (session keys:
 *   lorawan-stack pkg/crypto/key_derivation_test.go, chirpstack
 *   lrwn/src/keys.rs, and one pair computed with OpenSSL, not published,
 *   that completes the V4 + V5 join);
 *   a real TTN EU868 join (request, 33-byte join-accept with CFList, session
 *   keys), published by Arjan van Bentem in the runkit notebook
 *   "deciphering-a-lorawan-otaa-join-accept" and anthonykirby/lora-packet
 *   issue #10;
 *   NetID/DevAddr examples of chirpstack/chirpstack lrwn/src/netid.rs
 *   (test_dev_addr_prefix), lrwn/src/devaddr.rs and
 *   TheThingsNetwork/lorawan-stack pkg/types/devaddr_test.go (TestDevAddr).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mac/join.h"
#include "base/lb_err.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "testutil.h"
#include "lorawan/region.h"

static void key_from_hex(struct lw_key *k, const char *hex)
{
	uint8_t raw[LW_KEY_LEN];

	ck_assert_uint_eq(unhex(hex, raw, sizeof(raw)), LW_KEY_LEN);
	memset(k, 0, sizeof(*k));
	ck_assert_int_eq(lwcrypto_key_init(k, raw), LB_OK);
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* Field by field: struct padding is indeterminate. */
static void params_eq(const struct join_accept_params *a, const struct join_accept_params *b)
{
	ck_assert_uint_eq(a->join_nonce, b->join_nonce);
	ck_assert_uint_eq(a->net_id, b->net_id);
	ck_assert_uint_eq(a->dev_addr, b->dev_addr);
	ck_assert_uint_eq(a->rx1_dr_offset, b->rx1_dr_offset);
	ck_assert_uint_eq(a->rx2_dr, b->rx2_dr);
	ck_assert_uint_eq(a->rx_delay, b->rx_delay);
	ck_assert_uint_eq(a->has_cflist, b->has_cflist);
	if (a->has_cflist)
		ck_assert_mem_eq(a->cflist, b->cflist, JOIN_LEN_CFLIST);
}

/* --- vectors: keys and frames ------------------------------------------- */

#define CS_KEY "0102030405060708090a0b0c0d0e0f10"       /* V4/V5 ChirpStack */
#define CS_JOIN_EUI 0x0101010101010101ull
#define CS_DEV_EUI 0x0202020202020202ull
#define CS_REQUEST "00 0101010101010101 0202020202020202 0303 09b97b32"
#define CS_ACCEPT "20 23cf335489aae3183c0be0baa8dee5f3"
#define TTN_KEY "01010101010101010101010101010101"        /* V4/V5 TTN */

/* The real TTN EU868 join (see the file comment). */
#define RW_KEY "B6B53F4A168A7A88BDF7EA135CE9CFCA"
#define RW_JOIN_EUI 0x70B3D57ED00000DCull
#define RW_DEV_EUI 0x00AFEE7CF5ED6F1Eull
#define RW_DEV_NONCE 0xCC85
#define RW_REQUEST "00DC0000D07ED5B3701E6FEDF57CEEAF0085CC587FE913"
#define RW_ACCEPT "204DD85AE608B87FC4889970B7D2042C9E72959B0057AED6094B16003DF12DE145"
#define RW_CFLIST "184F84E85684B85E84886684586E8400"
#define RW_NWK_S_KEY "2C96F7028184BB0BE8AA49275290D4FC"
#define RW_APP_S_KEY "F3A5C8F0232A38C144029C165865802C"

/* V5 ChirpStack accept parameters. */
static struct join_accept_params cs_accept_params(void)
{
	struct join_accept_params p = {
		.join_nonce = 0x010101, .net_id = 0x020202, .dev_addr = 0x01020304,
		.rx1_dr_offset = 0, .rx2_dr = 0, .rx_delay = 0, .has_cflist = false,
	};
	return p;
}

/* The real join's accept: DLSettings 0x03 (RX1 offset 0, RX2 DR3), RxDelay 1,
 * CFList 867.1 .. 867.9 MHz made by the EU868 region table. */
static struct join_accept_params rw_accept_params(void)
{
	static const uint32_t freqs[] = { 867100000, 867300000, 867500000, 867700000,
					  867900000 };
	struct join_accept_params p = {
		.join_nonce = 0xE5063A, .net_id = 0x000013, .dev_addr = 0x26012E43,
		.rx1_dr_offset = 0, .rx2_dr = 3, .rx_delay = 1, .has_cflist = true,
	};
	const struct region *eu = region_find("EU868");

	ck_assert_ptr_nonnull(eu);
	ck_assert_int_eq(region_cflist_freq(eu, freqs, 5, p.cflist), LB_OK);
	return p;
}

static struct join_policy cs_policy(void)
{
	struct join_policy pol = {
		.dev_eui = CS_DEV_EUI, .join_eui = CS_JOIN_EUI, .version = JOIN_V1_0_3,
	};
	pol.accept = cs_accept_params();
	return pol;
}

static void parse_hex_frame(const char *hex, uint8_t *buf, size_t cap, struct lw_frame *f)
{
	size_t n = unhex(hex, buf, cap);

	ck_assert_int_eq(lorawan_parse(buf, n, f), LB_OK);
}

/* --- V4: join-request ---------------------------------------------------- */

START_TEST(v4_request_chirpstack)
{
	struct lw_key k;
	uint8_t out[JOIN_LEN_REQUEST];

	key_from_hex(&k, CS_KEY);
	ck_assert_int_eq(join_request_build(CS_JOIN_EUI, CS_DEV_EUI, 0x0303, &k, out), LB_OK);
	ck_assert_hex(out, sizeof(out), CS_REQUEST);
	lwcrypto_key_free(&k);
}
END_TEST

START_TEST(v4_request_ttn)
{
	struct lw_key k;
	uint8_t out[JOIN_LEN_REQUEST];

	key_from_hex(&k, TTN_KEY);
	ck_assert_int_eq(join_request_build(0x0102030405060708ull, 0x0102030405060708ull, 0x0102,
					    &k, out), LB_OK);
	ck_assert_hex(out, sizeof(out), "00 0807060504030201 0807060504030201 0201 e6e10c55");
	lwcrypto_key_free(&k);
}
END_TEST

/* The captured request: JoinEUI/DevEUI/DevNonce as lora-packet printed them. */
START_TEST(real_request_build)
{
	struct lw_key k;
	uint8_t out[JOIN_LEN_REQUEST];

	key_from_hex(&k, RW_KEY);
	ck_assert_int_eq(join_request_build(RW_JOIN_EUI, RW_DEV_EUI, RW_DEV_NONCE, &k, out), LB_OK);
	ck_assert_hex(out, sizeof(out), RW_REQUEST);
	lwcrypto_key_free(&k);
}
END_TEST

/* --- V5: join-accept ----------------------------------------------------- */

START_TEST(v5_accept_chirpstack_build)
{
	struct lw_key k;
	struct join_accept_params p = cs_accept_params();
	uint8_t out[JOIN_LEN_ACCEPT_CFLIST];
	size_t len = 0;

	key_from_hex(&k, CS_KEY);
	ck_assert_int_eq(join_accept_build(&p, &k, out, &len), LB_OK);
	ck_assert_uint_eq(len, JOIN_LEN_ACCEPT);
	ck_assert_hex(out, len, CS_ACCEPT);
	lwcrypto_key_free(&k);
}
END_TEST

START_TEST(v5_accept_chirpstack_open)
{
	struct lw_key k;
	struct join_accept_params p;
	uint8_t phy[64];
	size_t n = unhex(CS_ACCEPT, phy, sizeof(phy));

	key_from_hex(&k, CS_KEY);
	memset(&p, 0xAA, sizeof(p));
	ck_assert_int_eq(join_accept_open(phy, n, &k, &p), LB_OK);
	ck_assert_uint_eq(p.join_nonce, 0x010101);
	ck_assert_uint_eq(p.net_id, 0x020202);
	ck_assert_uint_eq(p.dev_addr, 0x01020304);
	ck_assert_uint_eq(p.rx1_dr_offset, 0);
	ck_assert_uint_eq(p.rx2_dr, 0);
	ck_assert_uint_eq(p.rx_delay, 0);
	ck_assert(!p.has_cflist);
	lwcrypto_key_free(&k);
}
END_TEST

/* TTN TestJoinAcceptEncryption: plaintext 030201 030201 04030201 00 01 | MIC
 * 32f54ab3 <-> c9fbb259e11649096a568a9e3b7117c3. */
START_TEST(v5_accept_ttn)
{
	struct lw_key k;
	struct join_accept_params p = {
		.join_nonce = 0x010203, .net_id = 0x010203, .dev_addr = 0x01020304,
		.rx1_dr_offset = 0, .rx2_dr = 0, .rx_delay = 1,
	};
	struct join_accept_params back;
	uint8_t out[JOIN_LEN_ACCEPT_CFLIST];
	size_t len = 0;

	key_from_hex(&k, TTN_KEY);
	ck_assert_int_eq(join_accept_build(&p, &k, out, &len), LB_OK);
	ck_assert_hex(out, len, "20 c9fbb259e11649096a568a9e3b7117c3");
	ck_assert_int_eq(join_accept_open(out, len, &k, &back), LB_OK);
	params_eq(&back, &p);
	lwcrypto_key_free(&k);
}
END_TEST

/* The captured 33-byte EU868 join-accept: build reproduces it bit for bit,
 * its CFList is what region_cflist_freq() makes for 867.1..867.9 MHz. */
START_TEST(real_accept_cflist_build)
{
	struct lw_key k;
	struct join_accept_params p = rw_accept_params();
	uint8_t out[JOIN_LEN_ACCEPT_CFLIST];
	size_t len = 0;

	ck_assert_hex(p.cflist, sizeof(p.cflist), RW_CFLIST);
	key_from_hex(&k, RW_KEY);
	ck_assert_int_eq(join_accept_build(&p, &k, out, &len), LB_OK);
	ck_assert_uint_eq(len, JOIN_LEN_ACCEPT_CFLIST);
	ck_assert_hex(out, len, RW_ACCEPT);
	lwcrypto_key_free(&k);
}
END_TEST

START_TEST(real_accept_cflist_open)
{
	struct lw_key k;
	struct join_accept_params exp = rw_accept_params(), p;
	uint8_t phy[64];
	size_t n = unhex(RW_ACCEPT, phy, sizeof(phy));

	ck_assert_uint_eq(n, 33);
	key_from_hex(&k, RW_KEY);
	ck_assert_int_eq(join_accept_open(phy, n, &k, &p), LB_OK);
	params_eq(&p, &exp);
	/* Tampering with the second (CFList) block breaks the MIC. */
	phy[20] ^= 0x01;
	ck_assert_int_eq(join_accept_open(phy, n, &k, &p), LB_ERR_MIC);
	ck_assert(all_zero(&p, sizeof(p)));
	lwcrypto_key_free(&k);
}
END_TEST

/* CFList type 1 (RP002-1.0.4 §2.3.2; §2.5.4 US902-928), written out from
 * the spec's layout, not by the code under test: ChMask0..ChMask4 16-bit LE
 * (ChMask0 bit 0 = channel 0 ... ChMask4 bits 0..7 = channels 64..71, its
 * bits 8..15 RFU), 5 RFU bytes, CFListType = 1. Sub-band 2: channels 8..15
 * (ChMask0 = 0xFF00) and 65 (ChMask4 = 0x0002). The join-accept is the V5
 * ChirpStack one with it appended; MIC 8ea3bb91 and ciphertext computed here
 * with an independent AES/AES-CMAC (Python `cryptography`). */
#define US_SB2_CFLIST "00FF 0000 0000 0000 0200 0000000000 01"
#define US_SB2_ACCEPT "208DE5CB76BE69003433945A8207D721212EFD5DC45DB2396DFFD2FBC8CF4E198C"

START_TEST(chmask_cflist_accept)
{
	static const uint16_t sb2[REGION_CHMASK_WORDS] = { 0xFF00, 0, 0, 0, 0x0002 };
	const struct region *us = region_find("US915"), *au = region_find("AU915");
	struct join_accept_params p = cs_accept_params(), got;
	uint8_t out[JOIN_LEN_ACCEPT_CFLIST], want[JOIN_LEN_CFLIST];
	size_t len = 0;
	struct lw_key k;

	ck_assert_uint_eq(unhex(US_SB2_CFLIST, want, sizeof(want)), JOIN_LEN_CFLIST);
	ck_assert_int_eq(join_cflist_chmask(us, JOIN_V1_0_3, sb2, p.cflist), LB_OK);
	ck_assert_mem_eq(p.cflist, want, JOIN_LEN_CFLIST);
	p.has_cflist = true;
	key_from_hex(&k, CS_KEY);
	ck_assert_int_eq(join_accept_build(&p, &k, out, &len), LB_OK);
	ck_assert_uint_eq(len, JOIN_LEN_ACCEPT_CFLIST);
	ck_assert_hex(out, len, US_SB2_ACCEPT);
	/* The device's side: it opens to those bytes. */
	ck_assert_int_eq(join_accept_open(out, len, &k, &got), LB_OK);
	ck_assert(got.has_cflist);
	ck_assert_mem_eq(got.cflist, want, JOIN_LEN_CFLIST);
	lwcrypto_key_free(&k);
	/* AU915 has the same type 1; 1.0.4 too. */
	ck_assert_int_eq(join_cflist_chmask(au, JOIN_V1_0_4, sb2, p.cflist), LB_OK);
	ck_assert_mem_eq(p.cflist, want, JOIN_LEN_CFLIST);
	/* LoRaWAN 1.0.2 (RP 1.0.2revB: no CFList in US902-928) and earlier:
	 * none; EU868 has no type 1; ChMask4's RFU bits stay clear. */
	ck_assert_int_eq(join_cflist_chmask(us, JOIN_V1_0_2, sb2, p.cflist), LB_ERR_VERSION);
	ck_assert_int_eq(join_cflist_chmask(us, JOIN_V1_0_0, sb2, p.cflist), LB_ERR_VERSION);
	ck_assert_int_eq(join_cflist_chmask(region_find("EU868"), JOIN_V1_0_3, sb2, p.cflist),
			 LB_ERR_INVAL);
	static const uint16_t rfu[REGION_CHMASK_WORDS] = { 0xFF00, 0, 0, 0, 0x0102 };
	ck_assert_int_eq(join_cflist_chmask(us, JOIN_V1_0_3, rfu, p.cflist), LB_ERR_RANGE);
}
END_TEST

/* Every DLSettings/RxDelay/CFList combination survives build -> open. */
START_TEST(accept_round_trip_fields)
{
	struct lw_key k;
	struct join_accept_params p = rw_accept_params(), back;
	uint8_t out[JOIN_LEN_ACCEPT_CFLIST];
	size_t len;

	key_from_hex(&k, CS_KEY);
	p.join_nonce = JOIN_MAX_NONCE;
	p.net_id = 0xE1FFFF;
	p.dev_addr = 0xFEFFFFC2;
	for (unsigned off = 0; off <= JOIN_MAX_RX1_DR_OFFSET; off++) {
		for (unsigned dr = 0; dr <= JOIN_MAX_RX2_DR; dr += 5) {
			p.rx1_dr_offset = (uint8_t)off;
			p.rx2_dr = (uint8_t)dr;
			p.rx_delay = (uint8_t)(off * 2 + 1);
			p.has_cflist = off & 1;
			ck_assert_int_eq(join_accept_build(&p, &k, out, &len), LB_OK);
			ck_assert_uint_eq(len, p.has_cflist ? 33 : 17);
			ck_assert_int_eq(join_accept_open(out, len, &k, &back), LB_OK);
			ck_assert_uint_eq(back.rx1_dr_offset, off);
			ck_assert_uint_eq(back.rx2_dr, dr);
			ck_assert_uint_eq(back.rx_delay, off * 2 + 1);
			ck_assert_uint_eq(back.has_cflist, p.has_cflist);
			ck_assert_uint_eq(back.join_nonce, JOIN_MAX_NONCE);
			ck_assert_uint_eq(back.net_id, 0xE1FFFF);
			ck_assert_uint_eq(back.dev_addr, 0xFEFFFFC2);
		}
	}
	lwcrypto_key_free(&k);
}
END_TEST

START_TEST(accept_build_range)
{
	struct lw_key k;
	struct join_accept_params p;
	uint8_t out[JOIN_LEN_ACCEPT_CFLIST];
	size_t len = 99;

	key_from_hex(&k, CS_KEY);
	p = cs_accept_params();
	p.join_nonce = 0x1000000;
	ck_assert_int_eq(join_accept_build(&p, &k, out, &len), LB_ERR_RANGE);
	p = cs_accept_params();
	p.net_id = 0x1000000;
	ck_assert_int_eq(join_accept_build(&p, &k, out, &len), LB_ERR_RANGE);
	p = cs_accept_params();
	p.rx1_dr_offset = 8;
	ck_assert_int_eq(join_accept_build(&p, &k, out, &len), LB_ERR_RANGE);
	p = cs_accept_params();
	p.rx2_dr = 16;
	ck_assert_int_eq(join_accept_build(&p, &k, out, &len), LB_ERR_RANGE);
	p = cs_accept_params();
	p.rx_delay = 16;
	ck_assert_int_eq(join_accept_build(&p, &k, out, &len), LB_ERR_RANGE);
	ck_assert_uint_eq(len, 99);
	p = cs_accept_params();
	ck_assert_int_eq(join_accept_build(NULL, &k, out, &len), LB_ERR_INVAL);
	ck_assert_int_eq(join_accept_build(&p, NULL, out, &len), LB_ERR_INVAL);
	ck_assert_int_eq(join_accept_build(&p, &k, NULL, &len), LB_ERR_INVAL);
	ck_assert_int_eq(join_accept_build(&p, &k, out, NULL), LB_ERR_INVAL);
	lwcrypto_key_free(&k);
	/* a freed key is not ready */
	ck_assert_int_eq(join_accept_build(&p, &k, out, &len), LB_ERR_INVAL);
}
END_TEST

START_TEST(accept_open_errors)
{
	struct lw_key k, other;
	struct join_accept_params p;
	uint8_t phy[64];
	size_t n = unhex(CS_ACCEPT, phy, sizeof(phy));

	key_from_hex(&k, CS_KEY);
	key_from_hex(&other, TTN_KEY);
	ck_assert_int_eq(join_accept_open(phy, n, &other, &p), LB_ERR_MIC);
	ck_assert_int_eq(join_accept_open(phy, n - 1, &k, &p), LB_ERR_TOO_SHORT);
	ck_assert_int_eq(join_accept_open(phy, 5, &k, &p), LB_ERR_TOO_SHORT);
	ck_assert_int_eq(join_accept_open(NULL, n, &k, &p), LB_ERR_INVAL);
	ck_assert_int_eq(join_accept_open(phy, n, NULL, &p), LB_ERR_INVAL);
	ck_assert_int_eq(join_accept_open(phy, n, &k, NULL), LB_ERR_INVAL);
	/* The MIC covers the MHDR: a changed RFU bit (ignored by the parser)
	 * makes it fail. */
	phy[0] ^= 0x04;
	ck_assert_int_eq(join_accept_open(phy, n, &k, &p), LB_ERR_MIC);
	phy[0] ^= 0x04;
	/* Tampered ciphertext / MIC bytes. */
	phy[16] ^= 0x80;
	ck_assert_int_eq(join_accept_open(phy, n, &k, &p), LB_ERR_MIC);
	phy[16] ^= 0x80;
	ck_assert_int_eq(join_accept_open(phy, n, &k, &p), LB_OK);
	/* Not a join-accept: a join-request and a data frame of 17 bytes. */
	n = unhex(CS_REQUEST, phy, sizeof(phy));
	ck_assert_int_eq(join_accept_open(phy, n, &k, &p), LB_ERR_MALFORMED);
	n = unhex("40 04030201 00 0000 01 01020304 0a0b0c0d", phy, sizeof(phy));
	ck_assert_uint_eq(n, 17);
	ck_assert_int_eq(join_accept_open(phy, n, &k, &p), LB_ERR_MALFORMED);
	lwcrypto_key_free(&k);
	lwcrypto_key_free(&other);
}
END_TEST

START_TEST(rx1_delay)
{
	ck_assert_uint_eq(join_rx1_delay_s(0), 1);
	ck_assert_uint_eq(join_rx1_delay_s(1), 1);
	ck_assert_uint_eq(join_rx1_delay_s(5), 5);
	ck_assert_uint_eq(join_rx1_delay_s(15), 15);
	ck_assert_uint_eq(join_rx1_delay_s(0xF3), 3);   /* RFU bits 7..4 ignored */
}
END_TEST

/* --- V6 and the whole join (join_process) ------------------------------- */

/* V4 request + V5 parameters: the accept is V5's, the keys the V6 pair
 * computed with OpenSSL that completes that join. */
START_TEST(process_v4_v5_v6)
{
	struct lw_key k;
	struct lw_frame f;
	struct join_policy pol = cs_policy();
	struct join_outcome o;
	uint8_t buf[64];

	parse_hex_frame(CS_REQUEST, buf, sizeof(buf), &f);
	key_from_hex(&k, CS_KEY);
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_OK);
	ck_assert_hex(o.phy, o.phy_len, CS_ACCEPT);
	ck_assert_hex(o.nwk_s_key, LW_KEY_LEN, "2db833b894589ee855275f2db014889d");
	ck_assert_hex(o.app_s_key, LW_KEY_LEN, "aef1d12682d0df1d7bfddcf8cde4e6ee");
	ck_assert_uint_eq(o.dev_nonce, 0x0303);
	ck_assert_uint_eq(o.join_nonce, 0x010101);
	ck_assert_uint_eq(o.dev_addr, 0x01020304);
	lwcrypto_key_free(&k);
}
END_TEST

/* The captured TTN join end to end: request in, the captured accept and the
 * published session keys out. */
START_TEST(process_real_join)
{
	struct lw_key k;
	struct lw_frame f;
	struct join_policy pol = {
		.dev_eui = RW_DEV_EUI, .join_eui = RW_JOIN_EUI, .version = JOIN_V1_0_2,
	};
	struct join_outcome o;
	uint8_t buf[64];

	pol.accept = rw_accept_params();
	parse_hex_frame(RW_REQUEST, buf, sizeof(buf), &f);
	ck_assert_uint_eq(f.u.join_req.dev_nonce, RW_DEV_NONCE);
	key_from_hex(&k, RW_KEY);
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_OK);
	ck_assert_uint_eq(o.phy_len, 33);
	ck_assert_hex(o.phy, o.phy_len, RW_ACCEPT);
	ck_assert_hex(o.nwk_s_key, LW_KEY_LEN, RW_NWK_S_KEY);
	ck_assert_hex(o.app_s_key, LW_KEY_LEN, RW_APP_S_KEY);
	lwcrypto_key_free(&k);
}
END_TEST

/* V6 vectors through join_process: a request built with join_request_build,
 * the accept parameters carrying the vector's AppNonce and NetID. */
static void process_derive(const char *key, uint32_t join_nonce, uint32_t net_id,
			   uint16_t dev_nonce, const char *nwk, const char *app)
{
	struct lw_key k;
	struct lw_frame f;
	struct join_policy pol = cs_policy();
	struct join_outcome o;
	uint8_t req[JOIN_LEN_REQUEST];

	key_from_hex(&k, key);
	ck_assert_int_eq(join_request_build(CS_JOIN_EUI, CS_DEV_EUI, dev_nonce, &k, req), LB_OK);
	ck_assert_int_eq(lorawan_parse(req, sizeof(req), &f), LB_OK);
	pol.accept.join_nonce = join_nonce;
	pol.accept.net_id = net_id;
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_OK);
	ck_assert_hex(o.nwk_s_key, LW_KEY_LEN, nwk);
	ck_assert_hex(o.app_s_key, LW_KEY_LEN, app);
	lwcrypto_key_free(&k);
}

START_TEST(v6_ttn)
{
	process_derive("BEC499C69E9C939E413B663961636C61", 0xAE3B1C, 0x020101, 0x7369,
		       "0DB924EE6AF90698E05FC7CE48303C01", "8C1E0543A229088DE6F84E74BB46BD62");
}
END_TEST

START_TEST(v6_chirpstack)
{
	process_derive("01020304050607080102030405060708", 65536, 0x010203, 258,
		       "df53c35f3034ccced0ff354c70de04df", "927b9c911183cffe4cb2ff4b75545f6d");
}
END_TEST

START_TEST(process_tampered_mic)
{
	struct lw_key k;
	struct lw_frame f;
	struct join_policy pol = cs_policy();
	struct join_outcome o;
	uint8_t buf[64];

	key_from_hex(&k, CS_KEY);
	for (size_t i = 0; i < JOIN_LEN_REQUEST; i++) {
		parse_hex_frame(CS_REQUEST, buf, sizeof(buf), &f);
		/* flip one bit anywhere but in the EUIs (checked before the MIC) */
		if (i >= 1 && i < 17)
			continue;
		buf[i] ^= 0x10;
		ck_assert_int_eq(lorawan_parse(buf, JOIN_LEN_REQUEST, &f), LB_OK);
		memset(&o, 0x5A, sizeof(o));
		ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_ERR_MIC);
		ck_assert(all_zero(&o, sizeof(o)));
	}
	/* The right frame with the wrong AppKey. */
	parse_hex_frame(CS_REQUEST, buf, sizeof(buf), &f);
	lwcrypto_key_free(&k);
	key_from_hex(&k, TTN_KEY);
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_ERR_MIC);
	lwcrypto_key_free(&k);
}
END_TEST

START_TEST(process_wrong_device)
{
	struct lw_key k;
	struct lw_frame f;
	struct join_policy pol = cs_policy();
	struct join_outcome o;
	uint8_t buf[64];

	parse_hex_frame(CS_REQUEST, buf, sizeof(buf), &f);
	key_from_hex(&k, CS_KEY);
	pol.dev_eui = CS_DEV_EUI + 1;
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_ERR_NOT_FOUND);
	ck_assert(all_zero(&o, sizeof(o)));
	pol = cs_policy();
	pol.join_eui = 0x0101010101010100ull;
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_ERR_DENIED);
	/* A request for another DevEUI, validly signed with the same key. */
	pol = cs_policy();
	ck_assert_int_eq(join_request_build(CS_JOIN_EUI, 0x0202020202020203ull, 0x0303, &k, buf),
			 LB_OK);
	ck_assert_int_eq(lorawan_parse(buf, JOIN_LEN_REQUEST, &f), LB_OK);
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_ERR_NOT_FOUND);
	lwcrypto_key_free(&k);
}
END_TEST

START_TEST(process_replay)
{
	struct lw_key k;
	struct lw_frame f;
	struct join_policy pol = cs_policy();
	struct join_outcome o;
	uint8_t buf[64];

	parse_hex_frame(CS_REQUEST, buf, sizeof(buf), &f);   /* DevNonce 0x0303 */
	key_from_hex(&k, CS_KEY);
	pol.dev_nonce_seen = true;
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_ERR_REPLAY);
	ck_assert(all_zero(&o, sizeof(o)));
	/* 1.0.4: the last nonce 0x0303 again, then a lower one, then higher. */
	pol = cs_policy();
	pol.version = JOIN_V1_0_4;
	pol.has_last_dev_nonce = true;
	pol.last_dev_nonce = 0x0303;
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_ERR_REPLAY);
	pol.last_dev_nonce = 0x0304;
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_ERR_REPLAY);
	pol.last_dev_nonce = 0x0302;
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_OK);
	/* 1.0.3 does not order nonces: a lower fresh one passes. */
	pol.version = JOIN_V1_0_3;
	pol.last_dev_nonce = 0x0304;
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_OK);
	lwcrypto_key_free(&k);
}
END_TEST

START_TEST(process_bad_arguments)
{
	struct lw_key k;
	struct lw_frame f;
	struct join_policy pol = cs_policy();
	struct join_outcome o;
	uint8_t buf[64];

	key_from_hex(&k, CS_KEY);
	parse_hex_frame(CS_ACCEPT, buf, sizeof(buf), &f);
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_ERR_INVAL);   /* not a request */
	parse_hex_frame(CS_REQUEST, buf, sizeof(buf), &f);
	ck_assert_int_eq(join_process(NULL, &k, &pol, &o), LB_ERR_INVAL);
	ck_assert_int_eq(join_process(&f, NULL, &pol, &o), LB_ERR_INVAL);
	ck_assert_int_eq(join_process(&f, &k, NULL, &o), LB_ERR_INVAL);
	ck_assert_int_eq(join_process(&f, &k, &pol, NULL), LB_ERR_INVAL);
	/* Out-of-range accept fields: no accept, no keys. */
	pol.accept.rx2_dr = 16;
	ck_assert_int_eq(join_process(&f, &k, &pol, &o), LB_ERR_RANGE);
	ck_assert(all_zero(&o, sizeof(o)));
	lwcrypto_key_free(&k);
	ck_assert_int_eq(join_request_build(1, 2, 3, &k, buf), LB_ERR_INVAL);
	ck_assert_int_eq(join_request_build(1, 2, 3, NULL, buf), LB_ERR_INVAL);
}
END_TEST

/* --- DevNonce policy and versions ---------------------------------------- */

START_TEST(dev_nonce_random_versions)
{
	for (int v = JOIN_V1_0_0; v <= JOIN_V1_0_3; v++) {
		ck_assert_int_eq(join_check_dev_nonce(v, 5, false, 0, false), LB_OK);
		ck_assert_int_eq(join_check_dev_nonce(v, 5, false, 0, true), LB_ERR_REPLAY);
		/* no order: lower, equal-to-last-but-unseen and higher all pass */
		ck_assert_int_eq(join_check_dev_nonce(v, 4, true, 5, false), LB_OK);
		ck_assert_int_eq(join_check_dev_nonce(v, 0, true, 0xFFFF, false), LB_OK);
		ck_assert_int_eq(join_check_dev_nonce(v, 6, true, 5, true), LB_ERR_REPLAY);
	}
}
END_TEST

START_TEST(dev_nonce_counter_1_0_4)
{
	const enum join_version v = JOIN_V1_0_4;

	/* first join: any nonce, 0 included */
	ck_assert_int_eq(join_check_dev_nonce(v, 0, false, 0, false), LB_OK);
	ck_assert_int_eq(join_check_dev_nonce(v, 7, false, 0, false), LB_OK);
	/* strictly greater than the last */
	ck_assert_int_eq(join_check_dev_nonce(v, 1, true, 0, false), LB_OK);
	ck_assert_int_eq(join_check_dev_nonce(v, 0, true, 0, false), LB_ERR_REPLAY);
	ck_assert_int_eq(join_check_dev_nonce(v, 99, true, 100, false), LB_ERR_REPLAY);
	ck_assert_int_eq(join_check_dev_nonce(v, 100, true, 100, false), LB_ERR_REPLAY);
	ck_assert_int_eq(join_check_dev_nonce(v, 101, true, 100, false), LB_OK);
	ck_assert_int_eq(join_check_dev_nonce(v, 0xFFFF, true, 0xFFFE, false), LB_OK);
	/* no wrap-around: after 0xFFFF nothing is greater */
	ck_assert_int_eq(join_check_dev_nonce(v, 0, true, 0xFFFF, false), LB_ERR_REPLAY);
	ck_assert_int_eq(join_check_dev_nonce(v, 0xFFFF, true, 0xFFFF, false), LB_ERR_REPLAY);
	/* and never a nonce the store already holds */
	ck_assert_int_eq(join_check_dev_nonce(v, 200, true, 100, true), LB_ERR_REPLAY);
	ck_assert_int_eq(join_check_dev_nonce((enum join_version)9, 1, false, 0, false),
			 LB_ERR_INVAL);
}
END_TEST

START_TEST(version_parse)
{
	static const char *const names[] = { "1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4" };
	enum join_version v;

	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(join_version_parse(names[i], &v), LB_OK);
		ck_assert_int_eq(v, i);
		ck_assert_str_eq(join_version_name(v), names[i]);
	}
	ck_assert_int_eq(join_version_parse("1.1.0", &v), LB_ERR_VERSION);
	ck_assert_int_eq(join_version_parse("1.0.5", &v), LB_ERR_VERSION);
	ck_assert_int_eq(join_version_parse("1.0", &v), LB_ERR_VERSION);
	ck_assert_int_eq(join_version_parse("1.0.4 ", &v), LB_ERR_VERSION);
	ck_assert_int_eq(join_version_parse("", &v), LB_ERR_VERSION);
	ck_assert_int_eq(join_version_parse(NULL, &v), LB_ERR_INVAL);
	ck_assert_int_eq(join_version_parse("1.0.4", NULL), LB_ERR_INVAL);
	ck_assert_str_eq(join_version_name((enum join_version)5), "?");
}
END_TEST

/* --- NetID / DevAddr ------------------------------------------------------ */

/* ChirpStack lrwn/src/netid.rs test_dev_addr_prefix: NetID -> "prefix/len",
 * and the NwkID (its `id` field truncated to the NwkID width). Its type 0..2
 * examples (00006d, 20006d, 40036d) have RFU bits set (LoRa Alliance errata
 * "NwkId Length Fix for Type 3 and Type 4 NetIDs", Table 1: 15, 15, 12 RFU
 * bits, "set to zero"); ChirpStack ignores them, so do we, and flag them. */
START_TEST(netid_chirpstack_prefixes)
{
	static const struct {
		uint32_t net_id;
		uint8_t type;
		uint32_t nwk_id;
		uint32_t prefix;
		uint8_t bits;
	} t[] = {
		{ 0x00006d, 0, 0x2d, 0x5a000000, 7 },
		{ 0x20006d, 1, 0x2d, 0xad000000, 8 },
		{ 0x40036d, 2, 0x16d, 0xd6d00000, 12 },
		{ 0x76db6d, 3, 0x36d, 0xe6da0000, 15 },
		{ 0x96db6d, 4, 0xb6d, 0xf5b68000, 17 },
		{ 0xb6db6d, 5, 0x1b6d, 0xfb6da000, 19 },
		{ 0xd6db6d, 6, 0x5b6d, 0xfd6db400, 22 },
		{ 0xf6db6d, 7, 0x0db6d, 0xfe6db680, 25 },
	};
	static const uint8_t nwk_addr_bits[] = { 25, 24, 20, 17, 15, 13, 10, 7 };
	struct join_netid n;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_int_eq(join_netid_parse(t[i].net_id, &n), LB_OK);
		ck_assert_uint_eq(n.net_id, t[i].net_id);
		ck_assert_uint_eq(n.type, t[i].type);
		ck_assert_uint_eq(n.nwk_id, t[i].nwk_id);
		ck_assert_uint_eq(n.prefix, t[i].prefix);
		ck_assert_uint_eq(n.prefix_bits, t[i].bits);
		ck_assert_uint_eq(n.type_prefix_bits, t[i].type + 1);
		ck_assert_uint_eq(n.nwk_addr_bits, nwk_addr_bits[i]);
		ck_assert_uint_eq(n.max_nwk_addr, (1u << nwk_addr_bits[i]) - 1);
		ck_assert_uint_eq(n.nwk_id_bits + n.type_prefix_bits + n.nwk_addr_bits, 32);
		ck_assert_uint_eq(n.rfu_set, t[i].type <= 2);
	}
}
END_TEST

/* TTN pkg/types/devaddr_test.go TestDevAddr: (NetID, NwkAddr) -> DevAddr for
 * each type, and back. */
START_TEST(netid_ttn_devaddrs)
{
	static const struct {
		uint32_t dev_addr, net_id, nwk_addr;
		uint8_t type, nwk_addr_bits;
	} t[] = {
		{ 0x3effff42, 0x00001f, 0x00ffff42, 0, 25 },
		{ 0x9fffff42, 0x20001f, 0xffff42, 1, 24 },
		{ 0xcfffff42, 0x4000ff, 0x0fff42, 2, 20 },
		{ 0xe3fcff42, 0x6001fe, 0x00ff42, 3, 17 },
		{ 0xf0ffff42, 0x8001ff, 0x7f42, 4, 15 },
		{ 0xf81fff42, 0xa000ff, 0x1f42, 5, 13 },
		{ 0xfc03ff42, 0xc000ff, 0x0342, 6, 10 },
		{ 0xfeffffc2, 0xe1ffff, 0x42, 7, 7 },
	};
	struct join_netid n;
	uint32_t a, na;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_int_eq(join_netid_parse(t[i].net_id, &n), LB_OK);
		ck_assert_uint_eq(n.type, t[i].type);
		ck_assert_uint_eq(n.nwk_addr_bits, t[i].nwk_addr_bits);
		ck_assert_int_eq(join_devaddr(&n, t[i].nwk_addr, &a), LB_OK);
		ck_assert_uint_eq(a, t[i].dev_addr);
		ck_assert(join_devaddr_in_netid(&n, a));
		ck_assert_int_eq(join_devaddr_nwk_addr(&n, a, &na), LB_OK);
		ck_assert_uint_eq(na, t[i].nwk_addr);
	}
}
END_TEST

/* TTN NetID 0x000013 -> 26000000/7; NetID 0 -> 00000000/7 (ChirpStack
 * devaddr.rs set_dev_addr_prefix: ffffffff -> 01ffffff). Boundaries. */
START_TEST(netid_boundaries)
{
	struct join_netid n;
	uint32_t a = 0xDEADBEEF, na;

	ck_assert_int_eq(join_netid_parse(0x000013, &n), LB_OK);
	ck_assert_uint_eq(n.prefix, 0x26000000);
	ck_assert_uint_eq(n.prefix_bits, 7);
	ck_assert_int_eq(join_devaddr(&n, 0, &a), LB_OK);
	ck_assert_uint_eq(a, 0x26000000);
	ck_assert_int_eq(join_devaddr(&n, n.max_nwk_addr, &a), LB_OK);
	ck_assert_uint_eq(a, 0x27FFFFFF);
	ck_assert_int_eq(join_devaddr(&n, n.max_nwk_addr + 1, &a), LB_ERR_RANGE);
	ck_assert_uint_eq(a, 0x27FFFFFF);   /* untouched */
	ck_assert(join_devaddr_in_netid(&n, 0x260126B4));   /* TTN ExampleDevAddr_NetID */
	ck_assert(join_devaddr_in_netid(&n, 0x26012E43));   /* the captured join */
	ck_assert(!join_devaddr_in_netid(&n, 0x25FFFFFF));
	ck_assert(!join_devaddr_in_netid(&n, 0x28000000));
	ck_assert_int_eq(join_devaddr_nwk_addr(&n, 0x28000000, &na), LB_ERR_RANGE);

	ck_assert_int_eq(join_netid_parse(0x000000, &n), LB_OK);
	ck_assert_uint_eq(n.prefix, 0);
	ck_assert_uint_eq(n.prefix_bits, 7);
	ck_assert_uint_eq(n.max_nwk_addr, 0x01FFFFFF);
	ck_assert(join_devaddr_in_netid(&n, 0x01FFFFFF));
	ck_assert(!join_devaddr_in_netid(&n, 0x02000000));
	/* The V5 vector's NetID 020202 has RFU bits; NwkID 2 -> 04000000/7, so
	 * its DevAddr 01020304 is not in it (join_process does not check). */
	ck_assert_int_eq(join_netid_parse(0x020202, &n), LB_OK);
	ck_assert(n.rfu_set);
	ck_assert_uint_eq(n.prefix, 0x04000000);
	ck_assert(!join_devaddr_in_netid(&n, 0x01020304));

	/* Type 0 / 1: NwkID 0x3f fills the prefix; ChirpStack devaddr.rs:
	 * NetID 00003f sets ffffffff to 7fffffff. */
	ck_assert_int_eq(join_netid_parse(0x00003f, &n), LB_OK);
	ck_assert_uint_eq(n.prefix | n.max_nwk_addr, 0x7FFFFFFF);
	ck_assert_int_eq(join_netid_parse(0x20003f, &n), LB_OK);
	ck_assert_uint_eq(n.prefix | n.max_nwk_addr, 0xBFFFFFFF);
	/* Type 7, the smallest space: 128 addresses. */
	ck_assert_int_eq(join_netid_parse(0xFFFFFF, &n), LB_OK);
	ck_assert_uint_eq(n.type, 7);
	ck_assert_uint_eq(n.max_nwk_addr, 127);
	ck_assert_int_eq(join_devaddr(&n, 127, &a), LB_OK);
	ck_assert_uint_eq(a, 0xFEFFFFFF);
	ck_assert_int_eq(join_devaddr(&n, 128, &a), LB_ERR_RANGE);
	ck_assert(!join_devaddr_in_netid(&n, 0xFFFFFF7F));
	ck_assert(!join_devaddr_in_netid(&n, 0xFFFFFFFF));   /* '11111111' is no type */
}
END_TEST

START_TEST(netid_errors)
{
	struct join_netid n, zero;
	uint32_t a;

	memset(&zero, 0, sizeof(zero));
	ck_assert_int_eq(join_netid_parse(0x1000000, &n), LB_ERR_RANGE);
	ck_assert_mem_eq(&n, &zero, sizeof(n));
	/* RFU bits: flagged, ignored for the prefix. */
	ck_assert_int_eq(join_netid_parse(0x00003F, &n), LB_OK);
	ck_assert(!n.rfu_set);
	ck_assert_int_eq(join_netid_parse(0x000040, &n), LB_OK);
	ck_assert(n.rfu_set);
	ck_assert_uint_eq(n.nwk_id, 0);
	ck_assert_uint_eq(n.prefix, 0);
	ck_assert_int_eq(join_netid_parse(0x100000, &n), LB_OK);
	ck_assert(n.rfu_set);
	ck_assert_int_eq(join_netid_parse(0x200040, &n), LB_OK);
	ck_assert(n.rfu_set);
	ck_assert_int_eq(join_netid_parse(0x4001FF, &n), LB_OK);
	ck_assert(!n.rfu_set);
	ck_assert_int_eq(join_netid_parse(0x400200, &n), LB_OK);
	ck_assert(n.rfu_set);
	ck_assert_uint_eq(n.prefix, 0xC0000000);
	ck_assert_int_eq(join_netid_parse(0x7FFFFF, &n), LB_OK);          /* type 3: no RFU */
	ck_assert(!n.rfu_set);
	ck_assert_int_eq(join_netid_parse(0x000000, NULL), LB_ERR_INVAL);
	/* A zeroed (never parsed) struct is refused. */
	ck_assert_int_eq(join_devaddr(&zero, 0, &a), LB_ERR_INVAL);
	ck_assert(!join_devaddr_in_netid(&zero, 0));
	ck_assert(!join_devaddr_in_netid(NULL, 0));
	ck_assert_int_eq(join_devaddr(NULL, 0, &a), LB_ERR_INVAL);
	ck_assert_int_eq(join_netid_parse(0x13, &n), LB_OK);
	ck_assert_int_eq(join_devaddr(&n, 0, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(join_devaddr_nwk_addr(&n, 0x26000000, NULL), LB_ERR_INVAL);
}
END_TEST

static Suite *join_suite(void)
{
	Suite *s = suite_create("join");
	TCase *vec = tcase_create("vectors");
	TCase *proc = tcase_create("process");
	TCase *nonce = tcase_create("dev_nonce");
	TCase *netid = tcase_create("netid");

	tcase_add_test(vec, v4_request_chirpstack);
	tcase_add_test(vec, v4_request_ttn);
	tcase_add_test(vec, real_request_build);
	tcase_add_test(vec, v5_accept_chirpstack_build);
	tcase_add_test(vec, v5_accept_chirpstack_open);
	tcase_add_test(vec, v5_accept_ttn);
	tcase_add_test(vec, real_accept_cflist_build);
	tcase_add_test(vec, real_accept_cflist_open);
	tcase_add_test(vec, chmask_cflist_accept);
	tcase_add_test(vec, accept_round_trip_fields);
	tcase_add_test(vec, accept_build_range);
	tcase_add_test(vec, accept_open_errors);
	tcase_add_test(vec, rx1_delay);
	suite_add_tcase(s, vec);

	tcase_add_test(proc, process_v4_v5_v6);
	tcase_add_test(proc, process_real_join);
	tcase_add_test(proc, v6_ttn);
	tcase_add_test(proc, v6_chirpstack);
	tcase_add_test(proc, process_tampered_mic);
	tcase_add_test(proc, process_wrong_device);
	tcase_add_test(proc, process_replay);
	tcase_add_test(proc, process_bad_arguments);
	suite_add_tcase(s, proc);

	tcase_add_test(nonce, dev_nonce_random_versions);
	tcase_add_test(nonce, dev_nonce_counter_1_0_4);
	tcase_add_test(nonce, version_parse);
	suite_add_tcase(s, nonce);

	tcase_add_test(netid, netid_chirpstack_prefixes);
	tcase_add_test(netid, netid_ttn_devaddrs);
	tcase_add_test(netid, netid_boundaries);
	tcase_add_test(netid, netid_errors);
	suite_add_tcase(s, netid);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(join_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
