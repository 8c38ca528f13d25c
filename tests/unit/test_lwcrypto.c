/* SPDX-License-Identifier: MIT */
/*
 * test_lwcrypto.c - lwcrypto against published LoRaWAN vectors and RFC 4493.
 *
 * Vectors (labels used below):
 *   V1  anthonykirby/lora-packet __tests__/decrypt_test.ts, mic_test.ts
 *       (unconfirmed up, DevAddr 49BE7DF1);
 *   V2  chirpstack/chirpstack lrwn/src/phy_payload.rs, "LoRaWAN 1.0.x confirmed
 *       uplink" (FOpts DevStatusAns, FPort 10);
 *   V3  TheThingsNetwork/lorawan-stack pkg/crypto/data_messages_test.go;
 *   V4  join-request MIC: chirpstack lrwn/src/phy_payload.rs and lorawan-stack
 *       pkg/crypto/join_messages_test.go;
 *   V5  join-accept MIC and encryption: the same two files;
 *   V6  session keys: lorawan-stack pkg/crypto/key_derivation_test.go,
 *       chirpstack lrwn/src/keys.rs (lorawan_1_0), and one pair computed
 *       with OpenSSL (not published) that completes the V4 + V5 join.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "testutil.h"

static void key_from_hex(struct lw_key *k, const char *hex)
{
	uint8_t raw[LW_KEY_LEN];

	ck_assert_uint_eq(unhex(hex, raw, sizeof(raw)), LW_KEY_LEN);
	memset(k, 0, sizeof(*k));
	ck_assert_int_eq(lwcrypto_key_init(k, raw), LB_OK);
	ck_assert(k->ready);
}

/* --- V1: lora-packet ---------------------------------------------------- */

#define V1_NWK "44024241ed4ce9a68c6a8bc055233fd3"
#define V1_APP "ec925802ae430ca77fd3dd73cb2cc588"
#define V1_DEVADDR 0x49BE7DF1u

START_TEST(v1_single_block)
{
	struct lw_key nwk, app;
	uint8_t phy[64], mic[4], plain[4];
	size_t n = unhex("40F17DBE4900020001954378762B11FF0D", phy, sizeof(phy));

	key_from_hex(&nwk, V1_NWK);
	key_from_hex(&app, V1_APP);
	ck_assert_int_eq(lwcrypto_data_mic(&nwk, LW_DIR_UP, V1_DEVADDR, 2, phy, n - 4, mic), LB_OK);
	ck_assert_hex(mic, 4, "2b11ff0d");
	ck_assert(lwcrypto_mic_equal(mic, phy + n - 4));
	ck_assert_int_eq(lwcrypto_payload_crypt(&app, LW_DIR_UP, V1_DEVADDR, 2, phy + 9, 4, plain),
			 LB_OK);
	ck_assert_mem_eq(plain, "test", 4);
	lwcrypto_key_free(&nwk);
	lwcrypto_key_free(&app);
}
END_TEST

/* S1 = AES(AppSKey, A1): the keystream is the crypt of zero bytes. */
START_TEST(v1_keystream_s1)
{
	struct lw_key app;
	uint8_t zero[16] = {0}, s[16];

	key_from_hex(&app, V1_APP);
	ck_assert_int_eq(lwcrypto_payload_crypt(&app, LW_DIR_UP, V1_DEVADDR, 2, zero, 16, s), LB_OK);
	ck_assert_hex(s, 16, "e1260b024bb2816d42b7593702fed706");
	lwcrypto_key_free(&app);
}
END_TEST

/* B0 (TS001-1.0.4 §4.4) of V1: CMAC over B0 | msg equals data_mic over msg. */
START_TEST(v1_b0_layout)
{
	struct lw_key nwk;
	uint8_t buf[64], mic[4];
	size_t b0 = unhex("490000000000f17dbe4902000000000d", buf, sizeof(buf));
	size_t n = unhex("40F17DBE490002000195437876", buf + b0, sizeof(buf) - b0);

	ck_assert_uint_eq(b0, 16);
	ck_assert_uint_eq(n, 13);
	key_from_hex(&nwk, V1_NWK);
	ck_assert_int_eq(lwcrypto_cmac4(&nwk, buf, b0 + n, mic), LB_OK);
	ck_assert_hex(mic, 4, "2b11ff0d");
	lwcrypto_key_free(&nwk);
}
END_TEST

START_TEST(v1_multi_block)
{
	static const char text[] = "The quick brown fox jumps over the lazy dog.";
	struct lw_key nwk, app;
	uint8_t phy[128], mic[4], plain[64];
	size_t n = unhex("40f17dbe490004000155332de41a11adc072553544429ce7787707d1c316e027"
			 "e7e5e334263376affb8aa17ad30075293f28dea8a20af3c5e7",
			 phy, sizeof(phy));
	size_t plen = n - 9 - 4;

	ck_assert_uint_eq(plen, 44);
	key_from_hex(&nwk, V1_NWK);
	key_from_hex(&app, V1_APP);
	ck_assert_int_eq(lwcrypto_data_mic(&nwk, LW_DIR_UP, V1_DEVADDR, 4, phy, n - 4, mic), LB_OK);
	ck_assert_hex(mic, 4, "0af3c5e7");
	ck_assert_int_eq(lwcrypto_payload_crypt(&app, LW_DIR_UP, V1_DEVADDR, 4, phy + 9, plen,
						plain), LB_OK);
	ck_assert_mem_eq(plain, text, plen);
	/* In place, and back again. */
	ck_assert_int_eq(lwcrypto_payload_crypt(&app, LW_DIR_UP, V1_DEVADDR, 4, plain, plen, plain),
			 LB_OK);
	ck_assert_mem_eq(plain, phy + 9, plen);
	lwcrypto_key_free(&nwk);
	lwcrypto_key_free(&app);
}
END_TEST

START_TEST(v1_empty_payload_mic)
{
	struct lw_key nwk;
	uint8_t phy[32], mic[4];
	size_t n = unhex("40F17DBE49000300012A3518AF", phy, sizeof(phy));

	key_from_hex(&nwk, V1_NWK);
	ck_assert_int_eq(lwcrypto_data_mic(&nwk, LW_DIR_UP, V1_DEVADDR, 3, phy, n - 4, mic), LB_OK);
	ck_assert_hex(mic, 4, "2a3518af");
	lwcrypto_key_free(&nwk);
}
END_TEST

/* --- V2: ChirpStack confirmed uplink with FOpts ------------------------- */

START_TEST(v2_confirmed_up_fopts)
{
	struct lw_key nwk, app;
	uint8_t phy[64], mic[4], plain[4];
	size_t n = unhex("80 04030201 03 0000 067307 0a e264d4f7 e117d2c0", phy, sizeof(phy));
	static const uint8_t exp_plain[4] = {1, 2, 3, 4};

	key_from_hex(&nwk, "0102030405060708090a0b0c0d0e0f10");
	key_from_hex(&app, "100f0e0d0c0b0a090807060504030201");
	ck_assert_int_eq(lwcrypto_data_mic(&nwk, LW_DIR_UP, 0x01020304, 0, phy, n - 4, mic), LB_OK);
	ck_assert_hex(mic, 4, "e117d2c0");
	ck_assert_int_eq(lwcrypto_payload_crypt(&app, LW_DIR_UP, 0x01020304, 0, phy + 12, 4, plain),
			 LB_OK);
	ck_assert_mem_eq(plain, exp_plain, 4);
	lwcrypto_key_free(&nwk);
	lwcrypto_key_free(&app);
}
END_TEST

/* --- V3: TTN raw primitives --------------------------------------------- */

#define V3_KEY "01010101010101010101010101010101"

START_TEST(v3_encrypt_up_down)
{
	struct lw_key k;
	static const uint8_t pt[4] = {1, 2, 3, 4};
	uint8_t ct[4];

	key_from_hex(&k, V3_KEY);
	ck_assert_int_eq(lwcrypto_payload_crypt(&k, LW_DIR_UP, 0x01020304, 1, pt, 4, ct), LB_OK);
	ck_assert_hex(ct, 4, "cff30b4e");
	ck_assert_int_eq(lwcrypto_payload_crypt(&k, LW_DIR_DOWN, 0x01020304, 1, pt, 4, ct), LB_OK);
	ck_assert_hex(ct, 4, "4e75f440");
	lwcrypto_key_free(&k);
}
END_TEST

START_TEST(v3_mic_up_down)
{
	struct lw_key k;
	uint8_t msg[32], mic[4];
	size_t n = unhex("40 04030201 00 0100 01 01020304", msg, sizeof(msg));

	key_from_hex(&k, V3_KEY);
	ck_assert_int_eq(lwcrypto_data_mic(&k, LW_DIR_UP, 0x01020304, 1, msg, n, mic), LB_OK);
	ck_assert_hex(mic, 4, "3b073182");
	ck_assert_int_eq(lwcrypto_data_mic(&k, LW_DIR_DOWN, 0x01020304, 1, msg, n, mic), LB_OK);
	ck_assert_hex(mic, 4, "a5609fa9");
	/* Back to up on the same context: the per-use re-init must reset state. */
	ck_assert_int_eq(lwcrypto_data_mic(&k, LW_DIR_UP, 0x01020304, 1, msg, n, mic), LB_OK);
	ck_assert_hex(mic, 4, "3b073182");
	lwcrypto_key_free(&k);
}
END_TEST

/* --- V4: join-request MIC ----------------------------------------------- */

START_TEST(v4_join_request_chirpstack)
{
	struct lw_key k;
	uint8_t phy[32], mic[4];
	size_t n = unhex("00 0101010101010101 0202020202020202 0303 09b97b32", phy, sizeof(phy));

	ck_assert_uint_eq(n, 23);
	key_from_hex(&k, "0102030405060708090a0b0c0d0e0f10");
	ck_assert_int_eq(lwcrypto_join_mic(&k, phy, 19, mic), LB_OK);
	ck_assert_hex(mic, 4, "09b97b32");
	lwcrypto_key_free(&k);
}
END_TEST

START_TEST(v4_join_request_ttn)
{
	struct lw_key k;
	uint8_t msg[32], mic[4];
	size_t n = unhex("00 0807060504030201 0807060504030201 0201", msg, sizeof(msg));

	ck_assert_uint_eq(n, 19);
	key_from_hex(&k, V3_KEY);
	ck_assert_int_eq(lwcrypto_join_mic(&k, msg, n, mic), LB_OK);
	ck_assert_hex(mic, 4, "e6e10c55");
	lwcrypto_key_free(&k);
}
END_TEST

/* --- V5: join-accept ---------------------------------------------------- */

START_TEST(v5_join_accept_chirpstack)
{
	struct lw_key k;
	uint8_t plain[32], air[32], buf[16], mic[4];
	size_t n = unhex("20 010101 020202 04030201 00 00", plain, sizeof(plain));
	size_t m = unhex("20 23cf335489aae3183c0be0baa8dee5f3", air, sizeof(air));

	ck_assert_uint_eq(n, 13);
	ck_assert_uint_eq(m, 17);
	key_from_hex(&k, "0102030405060708090a0b0c0d0e0f10");
	ck_assert_int_eq(lwcrypto_join_mic(&k, plain, n, mic), LB_OK);
	ck_assert_hex(mic, 4, "3449f212");
	/* Network side: body | MIC through AES-decrypt gives the air bytes. */
	memcpy(plain + n, mic, 4);
	ck_assert_int_eq(lwcrypto_join_accept_encrypt(&k, plain + 1, 16, buf), LB_OK);
	ck_assert_mem_eq(buf, air + 1, 16);
	/* Device side: AES-encrypt recovers the body and MIC. */
	ck_assert_int_eq(lwcrypto_join_accept_decrypt(&k, air + 1, 16, buf), LB_OK);
	ck_assert_mem_eq(buf, plain + 1, 16);
	lwcrypto_key_free(&k);
}
END_TEST

START_TEST(v5_join_accept_ttn)
{
	struct lw_key k;
	uint8_t plain[32], ct[16], buf[16], mic[4];
	size_t n = unhex("20 030201 030201 04030201 00 01 32f54ab3", plain, sizeof(plain));

	ck_assert_uint_eq(n, 17);
	ck_assert_uint_eq(unhex("c9fbb259e11649096a568a9e3b7117c3", ct, sizeof(ct)), 16);
	key_from_hex(&k, V3_KEY);
	ck_assert_int_eq(lwcrypto_join_accept_encrypt(&k, plain + 1, 16, buf), LB_OK);
	ck_assert_mem_eq(buf, ct, 16);
	ck_assert_int_eq(lwcrypto_join_accept_decrypt(&k, ct, 16, buf), LB_OK);
	ck_assert_mem_eq(buf, plain + 1, 16);
	ck_assert_int_eq(lwcrypto_join_mic(&k, plain, 13, mic), LB_OK);
	ck_assert_hex(mic, 4, "32f54ab3");
	lwcrypto_key_free(&k);
}
END_TEST

/* 33-byte join-accept (with CFList): each 16-byte block independently. */
START_TEST(join_accept_cflist_round_trip)
{
	struct lw_key k;
	uint8_t body[32], enc[32], dec[32], blk[16];
	size_t i;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 7 + 3);
	key_from_hex(&k, V3_KEY);
	ck_assert_int_eq(lwcrypto_join_accept_encrypt(&k, body, 32, enc), LB_OK);
	ck_assert_int_eq(lwcrypto_join_accept_encrypt(&k, body + 16, 16, blk), LB_OK);
	ck_assert_mem_eq(enc + 16, blk, 16);
	ck_assert_int_eq(lwcrypto_join_accept_decrypt(&k, enc, 32, dec), LB_OK);
	ck_assert_mem_eq(dec, body, 32);
	/* In place. */
	ck_assert_int_eq(lwcrypto_join_accept_decrypt(&k, enc, 32, enc), LB_OK);
	ck_assert_mem_eq(enc, body, 32);
	ck_assert_int_eq(lwcrypto_join_accept_encrypt(&k, body, 17, enc), LB_ERR_INVAL);
	ck_assert_int_eq(lwcrypto_join_accept_decrypt(&k, body, 0, enc), LB_ERR_INVAL);
	ck_assert_int_eq(lwcrypto_join_accept_decrypt(&k, body, 48, enc), LB_ERR_INVAL);
	lwcrypto_key_free(&k);
}
END_TEST

/* --- V6: session keys --------------------------------------------------- */

static void check_derive(const char *appkey, uint32_t app_nonce, uint32_t net_id,
			 uint16_t dev_nonce, const char *exp_nwk, const char *exp_app)
{
	struct lw_key k;
	uint8_t nwk[16], app[16];

	key_from_hex(&k, appkey);
	ck_assert_int_eq(lwcrypto_derive_session_keys(&k, app_nonce, net_id, dev_nonce, nwk, app),
			 LB_OK);
	ck_assert_hex(nwk, 16, exp_nwk);
	ck_assert_hex(app, 16, exp_app);
	lwcrypto_key_free(&k);
}

START_TEST(v6_derive_ttn)
{
	check_derive("BEC499C69E9C939E413B663961636C61", 0xAE3B1C, 0x020101, 0x7369,
		     "0DB924EE6AF90698E05FC7CE48303C01", "8C1E0543A229088DE6F84E74BB46BD62");
}
END_TEST

START_TEST(v6_derive_chirpstack)
{
	check_derive("01020304050607080102030405060708", 65536, 0x010203, 258,
		     "df53c35f3034ccced0ff354c70de04df", "927b9c911183cffe4cb2ff4b75545f6d");
}
END_TEST

START_TEST(v6_derive_v4_v5_join)
{
	check_derive("0102030405060708090a0b0c0d0e0f10", 0x010101, 0x020202, 0x0303,
		     "2db833b894589ee855275f2db014889d", "aef1d12682d0df1d7bfddcf8cde4e6ee");
}
END_TEST

START_TEST(derive_range)
{
	struct lw_key k;
	uint8_t nwk[16], app[16];

	key_from_hex(&k, V3_KEY);
	ck_assert_int_eq(lwcrypto_derive_session_keys(&k, 0x1000000, 0, 0, nwk, app), LB_ERR_RANGE);
	ck_assert_int_eq(lwcrypto_derive_session_keys(&k, 0, 0x1000000, 0, nwk, app), LB_ERR_RANGE);
	lwcrypto_key_free(&k);
}
END_TEST

/* --- generic CMAC and key life cycle ------------------------------------ */

/* RFC 4493 §4 examples 1 and 2, truncated to 4 bytes, on one context. */
START_TEST(cmac_rfc4493)
{
	struct lw_key k;
	uint8_t msg[16], mic[4];

	unhex("6bc1bee22e409f96e93d7e117393172a", msg, sizeof(msg));
	key_from_hex(&k, "2b7e151628aed2a6abf7158809cf4f3c");
	ck_assert_int_eq(lwcrypto_cmac4(&k, NULL, 0, mic), LB_OK);
	ck_assert_hex(mic, 4, "bb1d6929");
	ck_assert_int_eq(lwcrypto_cmac4(&k, msg, 16, mic), LB_OK);
	ck_assert_hex(mic, 4, "070a16b4");
	ck_assert_int_eq(lwcrypto_cmac4(&k, NULL, 0, mic), LB_OK);
	ck_assert_hex(mic, 4, "bb1d6929");
	lwcrypto_key_free(&k);
}
END_TEST

START_TEST(key_free_safe)
{
	struct lw_key k;
	struct lw_keys ks;
	uint8_t raw[16] = {1}, mic[4];

	memset(&k, 0, sizeof(k));
	lwcrypto_key_free(&k);          /* zeroed */
	lwcrypto_key_free(NULL);
	ck_assert_int_eq(lwcrypto_key_init(&k, raw), LB_OK);
	ck_assert_int_eq(lwcrypto_key_init(&k, raw), LB_OK);  /* re-key: no leak */
	lwcrypto_key_free(&k);
	lwcrypto_key_free(&k);          /* already freed */
	ck_assert(!k.ready);
	ck_assert_ptr_null(k.ecb);
	ck_assert_ptr_null(k.cmac);
	ck_assert_int_eq(k.raw[0], 0);  /* wiped */
	ck_assert_int_eq(lwcrypto_cmac4(&k, raw, 16, mic), LB_ERR_INVAL);

	memset(&ks, 0, sizeof(ks));
	lwcrypto_keys_free(&ks);
	ck_assert_int_eq(lwcrypto_keys_init(&ks, raw, raw), LB_OK);
	lwcrypto_keys_free(&ks);
	lwcrypto_keys_free(&ks);
	lwcrypto_keys_free(NULL);
}
END_TEST

START_TEST(bad_arguments)
{
	struct lw_key k, unset;
	uint8_t buf[300] = {0}, mic[4], raw[16] = {0};

	memset(&unset, 0, sizeof(unset));
	key_from_hex(&k, V3_KEY);
	ck_assert_int_eq(lwcrypto_key_init(NULL, raw), LB_ERR_INVAL);
	ck_assert_int_eq(lwcrypto_data_mic(&unset, 0, 1, 1, buf, 12, mic), LB_ERR_INVAL);
	ck_assert_int_eq(lwcrypto_data_mic(&k, 0, 1, 1, NULL, 12, mic), LB_ERR_INVAL);
	ck_assert_int_eq(lwcrypto_data_mic(&k, 0, 1, 1, buf, 12, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(lwcrypto_data_mic(&k, 0, 1, 1, buf, 256, mic), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(lwcrypto_payload_crypt(&unset, 0, 1, 1, buf, 4, buf), LB_ERR_INVAL);
	ck_assert_int_eq(lwcrypto_payload_crypt(&k, 0, 1, 1, NULL, 4, buf), LB_ERR_INVAL);
	ck_assert_int_eq(lwcrypto_payload_crypt(&k, 0, 1, 1, NULL, 0, NULL), LB_OK);
	ck_assert_int_eq(lwcrypto_payload_crypt(&k, 0, 1, 1, buf, 255 * 16 + 1, buf),
			 LB_ERR_TOO_LARGE);
	ck_assert_int_eq(lwcrypto_join_mic(&unset, buf, 19, mic), LB_ERR_INVAL);
	ck_assert_int_eq(lwcrypto_join_accept_encrypt(&unset, buf, 16, buf), LB_ERR_INVAL);
	ck_assert_int_eq(lwcrypto_derive_session_keys(&unset, 0, 0, 0, buf, buf + 16),
			 LB_ERR_INVAL);
	lwcrypto_key_free(&k);
}
END_TEST

/* Blocks beyond the first 16-block chunk keep counting: i = 17, 18, ... */
START_TEST(crypt_long_chunks)
{
	struct lw_key k;
	uint8_t zero[300] = {0}, s_all[300], s_one[16], blk[16];
	uint8_t a[16];
	size_t i;

	key_from_hex(&k, V3_KEY);
	ck_assert_int_eq(lwcrypto_payload_crypt(&k, LW_DIR_UP, 0x01020304, 7, zero, 300, s_all),
			 LB_OK);
	/* Reference per block: Ai through the raw ECB primitive (join-accept
	 * decrypt = AES-encrypt of one block). */
	for (i = 0; i < 19; i++) {
		size_t len = i == 18 ? 300 - 18 * 16 : 16;

		memset(a, 0, sizeof(a));
		a[0] = 0x01;
		a[6] = 0x04; a[7] = 0x03; a[8] = 0x02; a[9] = 0x01;
		a[10] = 7;
		a[15] = (uint8_t)(i + 1);
		ck_assert_int_eq(lwcrypto_join_accept_decrypt(&k, a, 16, blk), LB_OK);
		memcpy(s_one, blk, 16);
		ck_assert_mem_eq(s_all + i * 16, s_one, len);
	}
	lwcrypto_key_free(&k);
}
END_TEST

START_TEST(mic_equal)
{
	static const uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4}, c[4] = {1, 2, 3, 5};
	static const uint8_t d[4] = {0x81, 2, 3, 4};

	ck_assert(lwcrypto_mic_equal(a, b));
	ck_assert(!lwcrypto_mic_equal(a, c));
	ck_assert(!lwcrypto_mic_equal(a, d));
}
END_TEST

/* A key makes each OpenSSL context at its first use only: a NwkSKey that
 * only checks MICs never has an ECB context, an AppSKey that only
 * decrypts never has a CMAC one (0.65 and 0.9 KB); results are those
 * of the RFC 4493 vector and of a key used both ways. */
START_TEST(contexts_made_at_first_use)
{
	static const uint8_t msg[16] = {0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96,
					0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a};
	struct lw_key k, both;
	uint8_t mic[4], out[16], ref[16];

	key_from_hex(&k, "2b7e151628aed2a6abf7158809cf4f3c");
	ck_assert_ptr_null(k.ecb);
	ck_assert_ptr_null(k.cmac);
	ck_assert_int_eq(lwcrypto_cmac4(&k, msg, sizeof(msg), mic), LB_OK);
	/* RFC 4493 example 2: 070a16b4 6b4d4144 f79bdd9d d04a287c */
	ck_assert_uint_eq(mic[0], 0x07);
	ck_assert_uint_eq(mic[3], 0xb4);
	ck_assert_ptr_nonnull(k.cmac);
	ck_assert_ptr_null(k.ecb);
	lwcrypto_key_free(&k);

	key_from_hex(&k, "2b7e151628aed2a6abf7158809cf4f3c");
	key_from_hex(&both, "2b7e151628aed2a6abf7158809cf4f3c");
	ck_assert_int_eq(lwcrypto_cmac4(&both, msg, sizeof(msg), mic), LB_OK);
	ck_assert_int_eq(lwcrypto_payload_crypt(&k, 0, 1, 2, msg, sizeof(msg), out), LB_OK);
	ck_assert_int_eq(lwcrypto_payload_crypt(&both, 0, 1, 2, msg, sizeof(msg), ref), LB_OK);
	ck_assert_mem_eq(out, ref, sizeof(out));
	ck_assert_ptr_nonnull(k.ecb);
	ck_assert_ptr_null(k.cmac);
	/* a re-key leaves a context never made unmade, and it is made with the
	 * new key */
	ck_assert_int_eq(lwcrypto_key_rekey(&both, msg), LB_OK);
	ck_assert_int_eq(lwcrypto_key_rekey(&k, msg), LB_OK);
	ck_assert_ptr_null(k.cmac);
	ck_assert_int_eq(lwcrypto_cmac4(&k, msg, sizeof(msg), mic), LB_OK);
	ck_assert_int_eq(lwcrypto_cmac4(&both, msg, sizeof(msg), ref), LB_OK);
	ck_assert_mem_eq(mic, ref, 4);
	lwcrypto_key_free(&k);
	lwcrypto_key_free(&both);
}
END_TEST

/* The ABP session id: SHA-256 of the label, DevAddr (LE) and both keys, as
 * computed independently (Python hashlib); any part changed changes it. */
START_TEST(abp_session_id)
{
	uint8_t k1[16], k2[16], id[LW_SESSION_ID_LEN], other[LW_SESSION_ID_LEN];
	uint8_t want[LW_SESSION_ID_LEN];

	for (int i = 0; i < 16; i++) {
		k1[i] = (uint8_t)i;
		k2[i] = (uint8_t)(16 + i);
	}
	ck_assert_uint_eq(unhex("fa3461efe7af0d83d2ed528550577bb60fad3a24e7da05f833fb98110aa47c53",
			        want, sizeof(want)), sizeof(want));
	ck_assert_int_eq(lwcrypto_abp_session_id(0x26011f2a, k1, k2, id), LB_OK);
	ck_assert_mem_eq(id, want, sizeof(id));
	ck_assert_int_eq(lwcrypto_abp_session_id(0x26011f2b, k1, k2, other), LB_OK);
	ck_assert(memcmp(id, other, sizeof(id)) != 0);
	ck_assert_int_eq(lwcrypto_abp_session_id(0x26011f2a, k2, k1, other), LB_OK);
	ck_assert(memcmp(id, other, sizeof(id)) != 0);
	ck_assert_int_eq(lwcrypto_abp_session_id(0x26011f2a, NULL, k2, other), LB_ERR_INVAL);
}
END_TEST

static Suite *lwcrypto_suite(void)
{
	Suite *s = suite_create("lwcrypto");
	TCase *vec = tcase_create("vectors");
	TCase *misc = tcase_create("misc");

	tcase_add_test(vec, v1_single_block);
	tcase_add_test(vec, v1_keystream_s1);
	tcase_add_test(vec, v1_b0_layout);
	tcase_add_test(vec, v1_multi_block);
	tcase_add_test(vec, v1_empty_payload_mic);
	tcase_add_test(vec, v2_confirmed_up_fopts);
	tcase_add_test(vec, v3_encrypt_up_down);
	tcase_add_test(vec, v3_mic_up_down);
	tcase_add_test(vec, v4_join_request_chirpstack);
	tcase_add_test(vec, v4_join_request_ttn);
	tcase_add_test(vec, v5_join_accept_chirpstack);
	tcase_add_test(vec, v5_join_accept_ttn);
	tcase_add_test(vec, v6_derive_ttn);
	tcase_add_test(vec, v6_derive_chirpstack);
	tcase_add_test(vec, v6_derive_v4_v5_join);
	tcase_add_test(vec, cmac_rfc4493);
	suite_add_tcase(s, vec);

	tcase_add_test(misc, join_accept_cflist_round_trip);
	tcase_add_test(misc, derive_range);
	tcase_add_test(misc, key_free_safe);
	tcase_add_test(misc, bad_arguments);
	tcase_add_test(misc, crypt_long_chunks);
	tcase_add_test(misc, mic_equal);
	tcase_add_test(misc, abp_session_id);
	tcase_add_test(misc, contexts_made_at_first_use);
	suite_add_tcase(s, misc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(lwcrypto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
