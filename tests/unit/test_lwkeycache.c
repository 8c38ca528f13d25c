/* SPDX-License-Identifier: MIT */
/*
 * test_lwkeycache.c - the LRU of prepared session keys: hits, evictions,
 * stale hints, and that keys re-keyed into a reused slot give exactly the
 * MICs and payloads of keys prepared once (lwcrypto_key_init), on the
 * lora-packet vector V1 of test_lwcrypto.c and on derived keys.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "lorawan/lwkeycache.h"
#include "testutil.h"

/* V1, anthonykirby/lora-packet __tests__/decrypt_test.ts: "test" on FPort 1,
 * FCnt 2, DevAddr 49BE7DF1, MIC 2b11ff0d. */
#define V1_NWK "44024241ed4ce9a68c6a8bc055233fd3"
#define V1_APP "ec925802ae430ca77fd3dd73cb2cc588"
#define V1_FRAME "40F17DBE4900020001954378762B11FF0D"
#define V1_DEVADDR 0x49BE7DF1u

#define N_PAIRS 7

/* Pair i: distinct NwkSKey/AppSKey bytes (pair 0 is V1). */
static void pair(unsigned i, uint8_t nwk[LW_KEY_LEN], uint8_t app[LW_KEY_LEN])
{
	ck_assert_uint_eq(unhex(V1_NWK, nwk, LW_KEY_LEN), LW_KEY_LEN);
	ck_assert_uint_eq(unhex(V1_APP, app, LW_KEY_LEN), LW_KEY_LEN);
	nwk[0] ^= (uint8_t)i;
	app[15] ^= (uint8_t)(i * 3);
}

/* MIC and encrypted payload of a fixed frame under ks. */
static void outputs(struct lw_keys *ks, uint8_t mic[4], uint8_t enc[40])
{
	static const uint8_t msg[40] = "an uplink of exactly forty bytes, padded";

	ck_assert_int_eq(lwcrypto_data_mic(&ks->nwk_s_key, LW_DIR_UP, 0x26011234, 77, msg,
					   sizeof(msg), mic), LB_OK);
	ck_assert_int_eq(lwcrypto_payload_crypt(&ks->app_s_key, LW_DIR_UP, 0x26011234, 77, msg,
						sizeof(msg), enc), LB_OK);
}

/* What keys prepared once for pair i give. */
static void reference(unsigned i, uint8_t mic[4], uint8_t enc[40])
{
	uint8_t nwk[LW_KEY_LEN], app[LW_KEY_LEN];
	struct lw_keys ks;

	memset(&ks, 0, sizeof(ks));
	pair(i, nwk, app);
	ck_assert_int_eq(lwcrypto_keys_init(&ks, nwk, app), LB_OK);
	outputs(&ks, mic, enc);
	lwcrypto_keys_free(&ks);
}

static void check_pair(struct lwkeycache *c, uint32_t *hint, unsigned i)
{
	uint8_t nwk[LW_KEY_LEN], app[LW_KEY_LEN], mic[4], enc[40], rmic[4], renc[40];
	struct lw_keys *ks = NULL;

	pair(i, nwk, app);
	ck_assert_int_eq(lwkeycache_get(c, hint, nwk, app, &ks), LB_OK);
	ck_assert_ptr_nonnull(ks);
	ck_assert_uint_lt(*hint, c->cap);
	ck_assert_mem_eq(ks->nwk_s_key.raw, nwk, LW_KEY_LEN);
	ck_assert_mem_eq(ks->app_s_key.raw, app, LW_KEY_LEN);
	outputs(ks, mic, enc);
	reference(i, rmic, renc);
	ck_assert_mem_eq(mic, rmic, 4);
	ck_assert_mem_eq(enc, renc, 40);
}

START_TEST(v1_through_cache)
{
	struct lwkeycache c;
	uint8_t nwk[LW_KEY_LEN], app[LW_KEY_LEN], phy[32], mic[4], plain[4];
	size_t n = unhex(V1_FRAME, phy, sizeof(phy));
	uint32_t hint = LWKEYCACHE_NONE, other = LWKEYCACHE_NONE;
	struct lw_keys *ks;

	ck_assert_int_eq(lwkeycache_init(&c, 1), LB_OK);
	/* Another pair first, so V1 lands in a re-keyed slot. */
	check_pair(&c, &other, 5);
	pair(0, nwk, app);
	ck_assert_int_eq(lwkeycache_get(&c, &hint, nwk, app, &ks), LB_OK);
	ck_assert_uint_eq(hint, other);   /* the one slot, re-keyed */
	ck_assert_int_eq(lwcrypto_data_mic(&ks->nwk_s_key, LW_DIR_UP, V1_DEVADDR, 2, phy, n - 4,
					   mic), LB_OK);
	ck_assert_hex(mic, 4, "2b11ff0d");
	ck_assert_int_eq(lwcrypto_payload_crypt(&ks->app_s_key, LW_DIR_UP, V1_DEVADDR, 2, phy + 9, 4,
						plain), LB_OK);
	ck_assert_mem_eq(plain, "test", 4);
	ck_assert_uint_eq(c.rekeys, 2);
	lwkeycache_free(&c);
}
END_TEST

START_TEST(hits_and_lru_eviction)
{
	struct lwkeycache c;
	uint32_t hint[N_PAIRS];

	for (unsigned i = 0; i < N_PAIRS; i++)
		hint[i] = LWKEYCACHE_NONE;
	ck_assert_int_eq(lwkeycache_init(&c, 3), LB_OK);
	check_pair(&c, &hint[0], 0);
	check_pair(&c, &hint[1], 1);
	check_pair(&c, &hint[2], 2);
	ck_assert_uint_eq(c.used, 3);
	ck_assert_uint_eq(c.rekeys, 3);
	/* 0 used again: a hit, now the most recent; 1 is the least recent. */
	check_pair(&c, &hint[0], 0);
	ck_assert_uint_eq(c.hits, 1);
	uint32_t slot1 = hint[1];
	check_pair(&c, &hint[3], 3);
	ck_assert_uint_eq(hint[3], slot1);          /* 1 was evicted */
	ck_assert_uint_eq(c.rekeys, 4);
	/* 1's hint is stale: a miss (evicting 2), and still the right keys. */
	check_pair(&c, &hint[1], 1);
	ck_assert_uint_eq(c.rekeys, 5);
	check_pair(&c, &hint[0], 0);
	check_pair(&c, &hint[3], 3);
	ck_assert_uint_eq(c.hits, 3);
	ck_assert_uint_eq(c.used, 3);
	lwkeycache_free(&c);
}
END_TEST

/* Released (a quiet bridge): every slot's contexts freed and its keys
 * wiped; the old hints miss, and the keys prepared again give the same
 * MICs and payloads. Released twice, or before any use: no harm. */
START_TEST(release_empties)
{
	struct lwkeycache c;
	uint32_t hint[3] = {LWKEYCACHE_NONE, LWKEYCACHE_NONE, LWKEYCACHE_NONE};

	ck_assert_int_eq(lwkeycache_init(&c, 4), LB_OK);
	ck_assert_uint_eq(lwkeycache_release(&c), 0);
	ck_assert_uint_eq(c.used, 0);
	for (unsigned i = 0; i < 3; i++)
		check_pair(&c, &hint[i], i);
	ck_assert_uint_eq(c.used, 3);
	ck_assert_uint_eq(lwkeycache_release(&c), 3);   /* the pairs freed */
	ck_assert_uint_eq(c.used, 0);
	ck_assert_uint_eq(c.head, LWKEYCACHE_NONE);
	ck_assert_uint_eq(c.tail, LWKEYCACHE_NONE);
	for (unsigned s = 0; s < 3; s++) {
		ck_assert(!c.slot[s].keys.nwk_s_key.ready && !c.slot[s].keys.app_s_key.ready);
		ck_assert_ptr_null(c.slot[s].keys.nwk_s_key.cmac);
		ck_assert_ptr_null(c.slot[s].keys.app_s_key.ecb);
	}
	/* In another order: each old hint now names another pair's slot. */
	check_pair(&c, &hint[2], 2);
	check_pair(&c, &hint[0], 0);
	check_pair(&c, &hint[1], 1);
	ck_assert_uint_eq(c.rekeys, 6);
	ck_assert_uint_eq(c.hits, 0);
	check_pair(&c, &hint[0], 0);
	ck_assert_uint_eq(c.hits, 1);
	ck_assert_uint_eq(lwkeycache_release(&c), 3);
	ck_assert_uint_eq(lwkeycache_release(&c), 0);   /* twice: nothing more */
	lwkeycache_free(&c);
	ck_assert_uint_eq(lwkeycache_release(&c), 0);   /* freed: nothing */
}
END_TEST

START_TEST(round_robin_rebuilds)
{
	struct lwkeycache c;
	uint32_t hint[N_PAIRS];

	for (unsigned i = 0; i < N_PAIRS; i++)
		hint[i] = LWKEYCACHE_NONE;
	ck_assert_int_eq(lwkeycache_init(&c, 2), LB_OK);
	/* More pairs than slots in turn: every lookup rebuilds, every
	 * result equals the prepared-once keys. */
	for (unsigned round = 0; round < 3; round++)
		for (unsigned i = 0; i < N_PAIRS; i++)
			check_pair(&c, &hint[i], i);
	ck_assert_uint_eq(c.hits, 0);
	ck_assert_uint_eq(c.rekeys, 3 * N_PAIRS);
	lwkeycache_free(&c);
}
END_TEST

START_TEST(hint_to_other_keys_misses)
{
	struct lwkeycache c;
	uint32_t a = LWKEYCACHE_NONE, b = LWKEYCACHE_NONE;

	ck_assert_int_eq(lwkeycache_init(&c, 4), LB_OK);
	check_pair(&c, &a, 1);
	/* A hint into a slot holding another pair, or out of range. */
	b = a;
	check_pair(&c, &b, 2);
	ck_assert_uint_ne(b, a);
	b = 1000;
	check_pair(&c, &b, 4);
	ck_assert_uint_eq(c.hits, 0);
	/* A hint is only a place to look: a slot holding the same keys is a
	 * hit whoever asks; with no hint the keys get a slot of their own. */
	uint32_t twin = a;
	check_pair(&c, &twin, 1);
	ck_assert_uint_eq(twin, a);
	ck_assert_uint_eq(c.hits, 1);
	twin = LWKEYCACHE_NONE;
	check_pair(&c, &twin, 1);
	ck_assert_uint_ne(twin, a);
	ck_assert_uint_eq(c.hits, 1);
	lwkeycache_free(&c);
}
END_TEST

START_TEST(rekey_equals_init)
{
	uint8_t nwk[LW_KEY_LEN], app[LW_KEY_LEN], ja[16], ja_ref[16], out[16];
	struct lw_key k, ref;

	memset(&k, 0, sizeof(k));
	memset(&ref, 0, sizeof(ref));
	memset(ja, 0x3c, sizeof(ja));
	/* Re-key of a zeroed key initialises it. */
	pair(1, nwk, app);
	ck_assert_int_eq(lwcrypto_key_rekey(&k, nwk), LB_OK);
	ck_assert(k.ready);
	/* The decrypt context (join-accept) is made, then dropped by a re-key
	 * and made again with the new key. */
	ck_assert_int_eq(lwcrypto_join_accept_encrypt(&k, ja, sizeof(ja), out), LB_OK);
	ck_assert_ptr_nonnull(k.ecb_dec);
	pair(2, nwk, app);
	ck_assert_int_eq(lwcrypto_key_rekey(&k, nwk), LB_OK);
	ck_assert_ptr_null(k.ecb_dec);
	ck_assert_int_eq(lwcrypto_key_init(&ref, nwk), LB_OK);
	ck_assert_int_eq(lwcrypto_join_accept_encrypt(&k, ja, sizeof(ja), out), LB_OK);
	ck_assert_int_eq(lwcrypto_join_accept_encrypt(&ref, ja, sizeof(ja), ja_ref), LB_OK);
	ck_assert_mem_eq(out, ja_ref, sizeof(out));
	ck_assert_int_eq(lwcrypto_join_mic(&k, ja, sizeof(ja), out), LB_OK);
	ck_assert_int_eq(lwcrypto_join_mic(&ref, ja, sizeof(ja), ja_ref), LB_OK);
	ck_assert_mem_eq(out, ja_ref, 4);
	/* Each context made takes the new key at its first use, and keeps
	 * it; one never made (the ECB: no payload yet) is made with it. */
	pair(3, nwk, app);
	ck_assert_int_eq(lwcrypto_key_rekey(&k, app), LB_OK);
	ck_assert(!k.ecb_stale && k.cmac_stale);
	ck_assert_ptr_null(k.ecb);
	lwcrypto_key_free(&ref);
	ck_assert_int_eq(lwcrypto_key_init(&ref, app), LB_OK);
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(lwcrypto_payload_crypt(&k, 0, 0x26011bda, 7, ja, sizeof(ja), out),
				 LB_OK);
		ck_assert_int_eq(lwcrypto_payload_crypt(&ref, 0, 0x26011bda, 7, ja, sizeof(ja),
							ja_ref), LB_OK);
		ck_assert_mem_eq(out, ja_ref, sizeof(out));
		ck_assert(!k.ecb_stale && k.cmac_stale == (round == 0));
		ck_assert_int_eq(lwcrypto_data_mic(&k, 1, 0x26011bda, 7, ja, sizeof(ja), out),
				 LB_OK);
		ck_assert_int_eq(lwcrypto_data_mic(&ref, 1, 0x26011bda, 7, ja, sizeof(ja), ja_ref),
				 LB_OK);
		ck_assert_mem_eq(out, ja_ref, 4);
		ck_assert(!k.cmac_stale);
	}
	ck_assert_int_eq(lwcrypto_key_rekey(NULL, nwk), LB_ERR_INVAL);
	ck_assert_int_eq(lwcrypto_key_rekey(&k, NULL), LB_ERR_INVAL);
	lwcrypto_key_free(&k);
	lwcrypto_key_free(&ref);
}
END_TEST

START_TEST(bad_arguments)
{
	struct lwkeycache c, z;
	uint8_t nwk[LW_KEY_LEN], app[LW_KEY_LEN];
	uint32_t hint = LWKEYCACHE_NONE;
	struct lw_keys *ks;

	pair(0, nwk, app);
	ck_assert_int_eq(lwkeycache_init(&c, 0), LB_ERR_INVAL);
	ck_assert_ptr_null(c.slot);
	ck_assert_int_eq(lwkeycache_init(NULL, 4), LB_ERR_INVAL);
	ck_assert_int_eq(lwkeycache_init(&c, 2), LB_OK);
	ck_assert_int_eq(lwkeycache_get(&c, NULL, nwk, app, &ks), LB_ERR_INVAL);
	ck_assert_int_eq(lwkeycache_get(&c, &hint, NULL, app, &ks), LB_ERR_INVAL);
	ck_assert_int_eq(lwkeycache_get(&c, &hint, nwk, NULL, &ks), LB_ERR_INVAL);
	ck_assert_int_eq(lwkeycache_get(&c, &hint, nwk, app, NULL), LB_ERR_INVAL);
	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(lwkeycache_get(&z, &hint, nwk, app, &ks), LB_ERR_INVAL);
	lwkeycache_free(&c);
	lwkeycache_free(&c);   /* twice: safe */
	lwkeycache_free(NULL);
}
END_TEST

static Suite *lwkeycache_suite(void)
{
	Suite *s = suite_create("lwkeycache");
	TCase *tc = tcase_create("lru");

	tcase_add_test(tc, v1_through_cache);
	tcase_add_test(tc, hits_and_lru_eviction);
	tcase_add_test(tc, release_empties);
	tcase_add_test(tc, round_robin_rebuilds);
	tcase_add_test(tc, hint_to_other_keys_misses);
	tcase_add_test(tc, rekey_equals_init);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(lwkeycache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
