/* SPDX-License-Identifier: MIT */
/* test_pending.c - the pending-session side table (tables/pending.h):
 * sorted by DevAddr, one entry per device, bounded, MIC check with the
 * counters of a fresh session. */
#include <check.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "tables/pending.h"

static struct pending_session mk(uint64_t eui, uint32_t addr, uint8_t key)
{
	struct pending_session s;

	memset(&s, 0, sizeof(s));
	s.dev_eui = eui;
	s.dev_addr = addr;
	memset(s.nwk_s_key, key, sizeof(s.nwk_s_key));
	memset(s.app_s_key, key ^ 0xff, sizeof(s.app_s_key));
	s.nfcnt_down = 64;
	return s;
}

START_TEST(test_put_find_drop)
{
	struct pendings p;
	struct pending_session a = mk(1, 0x30, 1), b = mk(2, 0x10, 2), c = mk(3, 0x20, 3);

	pending_init(&p);
	ck_assert_ptr_null(pending_find_addr(&p, 0x10));
	ck_assert_int_eq(pending_put(&p, &a), LB_OK);
	ck_assert_int_eq(pending_put(&p, &b), LB_OK);
	ck_assert_int_eq(pending_put(&p, &c), LB_OK);
	ck_assert_uint_eq(pending_count(&p), 3);
	/* sorted by DevAddr */
	ck_assert_uint_eq(p.e[0].dev_addr, 0x10);
	ck_assert_uint_eq(p.e[1].dev_addr, 0x20);
	ck_assert_uint_eq(p.e[2].dev_addr, 0x30);
	ck_assert_uint_eq(pending_find_addr(&p, 0x20)->dev_eui, 3);
	ck_assert_ptr_null(pending_find_addr(&p, 0x25));
	ck_assert_uint_eq(pending_find_eui(&p, 1)->dev_addr, 0x30);
	/* another device's DevAddr: refused, nothing changed */
	struct pending_session clash = mk(4, 0x20, 4);
	ck_assert_int_eq(pending_put(&p, &clash), LB_ERR_DUPLICATE);
	ck_assert_uint_eq(pending_count(&p), 3);
	/* a device's next join replaces its entry */
	struct pending_session a2 = mk(1, 0x05, 9);
	ck_assert_int_eq(pending_put(&p, &a2), LB_OK);
	ck_assert_uint_eq(pending_count(&p), 3);
	ck_assert_ptr_null(pending_find_addr(&p, 0x30));
	ck_assert_uint_eq(p.e[0].dev_addr, 0x05);
	ck_assert_uint_eq(pending_find_eui(&p, 1)->nwk_s_key[0], 9);
	ck_assert(pending_drop(&p, 3));
	ck_assert(!pending_drop(&p, 3));
	ck_assert_ptr_null(pending_find_addr(&p, 0x20));
	ck_assert_uint_eq(pending_count(&p), 2);
	ck_assert(pending_drop(&p, 1));
	ck_assert(pending_drop(&p, 2));
	ck_assert_uint_eq(pending_count(&p), 0);
	ck_assert_ptr_null(p.e);   /* nothing held when nothing is pending */
	pending_free(&p);
}
END_TEST

/* A full table (PENDING_MAX), filled as a restart's load fills it: rows in
 * DevAddr order (store_load_pending()), DevEUIs in any order. Each put
 * appends and each lookup by DevEUI is a hash probe: the whole test takes
 * milliseconds (a put that scanned the table by DevEUI made it quadratic:
 * 2^31 steps, seconds, past this case's time limit). */
START_TEST(test_bounded)
{
	struct pendings p;

	pending_init(&p);
	for (uint32_t i = 0; i < PENDING_MAX; i++) {
		struct pending_session s = mk(PENDING_MAX - i, 0x100 + i, 1);
		ck_assert_int_eq(pending_put(&p, &s), LB_OK);
	}
	ck_assert_uint_eq(pending_count(&p), PENDING_MAX);
	/* a class C device without a pending session, asked once per attempt */
	for (uint32_t i = 0; i < PENDING_MAX; i++)
		ck_assert_ptr_null(pending_find_eui(&p, UINT64_C(0x70b3d57e00000000) + i));
	for (uint32_t i = 0; i < PENDING_MAX; i += 97)
		ck_assert_uint_eq(pending_find_eui(&p, PENDING_MAX - i)->dev_addr, 0x100 + i);
	struct pending_session one_more = mk(PENDING_MAX + 1, 0x100 + PENDING_MAX, 1);
	ck_assert_int_eq(pending_put(&p, &one_more), LB_ERR_FULL);
	ck_assert_ptr_null(pending_find_eui(&p, PENDING_MAX + 1));
	/* replacing needs no room */
	struct pending_session again = mk(1, 0x50, 2);
	ck_assert_int_eq(pending_put(&p, &again), LB_OK);
	ck_assert_uint_eq(pending_count(&p), PENDING_MAX);
	ck_assert_uint_eq(pending_find_eui(&p, 1)->dev_addr, 0x50);
	ck_assert_uint_eq(p.e[0].dev_addr, 0x50);
	ck_assert_ptr_null(pending_find_addr(&p, 0x100 + PENDING_MAX - 1));
	pending_free(&p);
	ck_assert_uint_eq(pending_count(&p), 0);
}
END_TEST

/* The DevEUI index against a plain model through puts, replacements and
 * drops (deletions from the hash's probe runs) and a retain. */
static bool keep_odd(void *arg, const struct pending_session *s)
{
	(void)arg;
	return s->dev_eui & 1;
}

START_TEST(test_index_model)
{
	enum { N = 600 };
	struct pendings p;
	uint32_t addr[N + 1] = {0};      /* by DevEUI 1..N: 0 = none */
	uint32_t seed = 12345;

	pending_init(&p);
	for (int step = 0; step < 20000; step++) {
		seed = seed * 1103515245u + 12345u;
		uint64_t eui = 1 + (seed >> 8) % N;
		if ((seed >> 4) % 3 == 0) {
			ck_assert(pending_drop(&p, eui) == (addr[eui] != 0));
			addr[eui] = 0;
		} else {
			/* a DevAddr of its own: 1000 * eui + a fresh part */
			uint32_t a = (uint32_t)eui * 1000u + (uint32_t)step % 1000u;
			struct pending_session s = mk(eui, a, (uint8_t)eui);
			ck_assert_int_eq(pending_put(&p, &s), LB_OK);
			addr[eui] = a;
		}
		if (step % 1000 == 999) {
			size_t n = 0;
			for (uint64_t e = 1; e <= N; e++) {
				struct pending_session *f = pending_find_eui(&p, e);
				if (!addr[e]) {
					ck_assert_ptr_null(f);
					continue;
				}
				n++;
				ck_assert_ptr_nonnull(f);
				ck_assert_uint_eq(f->dev_addr, addr[e]);
				ck_assert_uint_eq(f->dev_eui, e);
			}
			ck_assert_uint_eq(pending_count(&p), n);
			for (size_t i = 1; i < p.n; i++)
				ck_assert_uint_lt(p.e[i - 1].dev_addr, p.e[i].dev_addr);
		}
	}
	size_t before = pending_count(&p), even = 0;
	for (uint64_t e = 2; e <= N; e += 2)
		even += addr[e] != 0;
	ck_assert_uint_eq(pending_retain(&p, keep_odd, NULL), even);
	ck_assert_uint_eq(pending_count(&p), before - even);
	for (uint64_t e = 1; e <= N; e++) {
		struct pending_session *f = pending_find_eui(&p, e);
		if (e % 2 == 0 || !addr[e])
			ck_assert_ptr_null(f);
		else
			ck_assert_uint_eq(f->dev_addr, addr[e]);
	}
	ck_assert_uint_eq(pending_retain(&p, keep_odd, NULL), 0);
	pending_free(&p);
}
END_TEST

/* A frame of the pending session (FCnt counted from 0) verifies; one with
 * another key or another DevAddr does not. */
START_TEST(test_verify)
{
	struct pendings p;
	struct pending_session s = mk(7, 0x26000007, 0x42), *got = NULL;
	struct lw_keys ks;
	struct lw_frame f;
	uint8_t phy[LW_MAX_PHY];
	size_t len;
	uint32_t fcnt = 99;
	struct lw_data_params d = {.mtype = LW_MTYPE_CONFIRMED_UP, .dev_addr = 0x26000007,
				   .fcnt = 3, .has_fport = true, .fport = 1,
				   .payload = (const uint8_t *)"hi", .payload_len = 2};

	pending_init(&p);
	ck_assert_int_eq(pending_put(&p, &s), LB_OK);
	memset(&ks, 0, sizeof(ks));
	ck_assert_int_eq(lwcrypto_keys_init(&ks, s.nwk_s_key, s.app_s_key), LB_OK);
	ck_assert_int_eq(lorawan_build_data(&d, &ks, phy, sizeof(phy), &len), LB_OK);
	ck_assert_int_eq(lorawan_parse(phy, len, &f), LB_OK);
	ck_assert_int_eq(pending_verify(&p, &f, &got, &fcnt), LB_OK);
	ck_assert_ptr_eq(got, pending_find_eui(&p, 7));
	ck_assert_uint_eq(fcnt, 3);
	/* a flipped MIC byte */
	phy[len - 1] ^= 1;
	ck_assert_int_eq(lorawan_parse(phy, len, &f), LB_OK);
	ck_assert_int_eq(pending_verify(&p, &f, &got, &fcnt), LB_ERR_MIC);
	/* another DevAddr */
	d.dev_addr = 0x26000008;
	ck_assert_int_eq(lorawan_build_data(&d, &ks, phy, sizeof(phy), &len), LB_OK);
	ck_assert_int_eq(lorawan_parse(phy, len, &f), LB_OK);
	ck_assert_int_eq(pending_verify(&p, &f, &got, &fcnt), LB_ERR_NOT_FOUND);
	lwcrypto_keys_free(&ks);
	pending_free(&p);
}
END_TEST

/* OpenSSL's allocations, counted (CRYPTO_set_mem_functions in main). */
static size_t ossl_allocs;

static void *count_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	ossl_allocs++;
	return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	ossl_allocs++;
	return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

/* A frame of (addr, key) with FCnt fcnt. */
static void frame_of(uint32_t addr, uint8_t key, uint32_t fcnt, uint8_t *phy, struct lw_frame *f)
{
	struct pending_session s = mk(0, addr, key);
	struct lw_keys ks;
	size_t len;
	struct lw_data_params d = {.mtype = LW_MTYPE_UNCONFIRMED_UP, .dev_addr = addr,
				   .fcnt = fcnt, .has_fport = true, .fport = 1,
				   .payload = (const uint8_t *)"x", .payload_len = 1};

	memset(&ks, 0, sizeof(ks));
	ck_assert_int_eq(lwcrypto_keys_init(&ks, s.nwk_s_key, s.app_s_key), LB_OK);
	ck_assert_int_eq(lorawan_build_data(&d, &ks, phy, LW_MAX_PHY, &len), LB_OK);
	lwcrypto_keys_free(&ks);
	ck_assert_int_eq(lorawan_parse(phy, len, f), LB_OK);
}

/* Frames that target pending DevAddrs and fail their MIC (an attacker's:
 * DevAddrs are handed out in sequence) allocate nothing in OpenSSL once
 * the table's key was first used, whichever entries they alternate
 * between; a valid frame still verifies after them. The prepared key goes
 * with the entry it holds. */
START_TEST(test_verify_allocates_nothing)
{
	struct pendings p;
	struct pending_session a = mk(1, 0x26000001, 0x11), b = mk(2, 0x26000002, 0x22), *got;
	uint8_t phy_a[LW_MAX_PHY], phy_b[LW_MAX_PHY], phy_ok[LW_MAX_PHY];
	struct lw_frame fa, fb, ok;
	uint32_t fcnt;

	pending_init(&p);
	ck_assert_int_eq(pending_put(&p, &a), LB_OK);
	ck_assert_int_eq(pending_put(&p, &b), LB_OK);
	frame_of(a.dev_addr, 0x99, 1, phy_a, &fa);   /* wrong keys */
	frame_of(b.dev_addr, 0x98, 1, phy_b, &fb);
	frame_of(b.dev_addr, 0x22, 5, phy_ok, &ok);
	ck_assert_int_eq(pending_verify(&p, &fa, &got, &fcnt), LB_ERR_MIC);   /* first use */
	size_t before = ossl_allocs;
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(pending_verify(&p, &fa, &got, &fcnt), LB_ERR_MIC);
		ck_assert_int_eq(pending_verify(&p, &fb, &got, &fcnt), LB_ERR_MIC);
	}
	ck_assert_uint_eq(ossl_allocs - before, 0);
	ck_assert_int_eq(pending_verify(&p, &ok, &got, &fcnt), LB_OK);
	ck_assert_uint_eq(got->dev_eui, 2);
	ck_assert_uint_eq(fcnt, 5);
	ck_assert_uint_eq(ossl_allocs - before, 0);
	/* b's key is the one prepared: it goes with b (replaced or dropped) */
	struct pending_session b2 = mk(2, 0x26000003, 0x33);
	ck_assert_int_eq(pending_put(&p, &b2), LB_OK);
	ck_assert(!p.mic_key.ready);
	ck_assert_int_eq(pending_verify(&p, &fa, &got, &fcnt), LB_ERR_MIC);
	ck_assert(p.mic_key.ready);
	ck_assert(pending_drop(&p, 1));
	ck_assert(!p.mic_key.ready);
	pending_free(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pending");
	TCase *tc = tcase_create("table");
	SRunner *sr;
	int failed;

	/* before OpenSSL allocates anything */
	if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free))
		return EXIT_FAILURE;
	tcase_add_test(tc, test_put_find_drop);
	tcase_add_test(tc, test_bounded);
	tcase_add_test(tc, test_index_model);
	tcase_add_test(tc, test_verify);
	tcase_add_test(tc, test_verify_allocates_nothing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
