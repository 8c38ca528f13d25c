/* SPDX-License-Identifier: MIT */
/*
 * bench_crypto.c - cost of the per-frame LoRaWAN crypto with cached key state.
 *
 * Prints nanoseconds per operation (CLOCK_MONOTONIC over N iterations,
 * default 1e6, first argument overrides). No pass/fail threshold: the
 * figures document that verify+decrypt stays far below the per-frame budget.
 *
 * The "key cache" lines are the device table's way (tables/devices.h): keys
 * prepared only for the DEVICES_KEY_CACHE most recently heard devices. One
 * uplink's crypto (get the keys, MIC, decrypt 4 bytes) when its device's
 * keys are still prepared (three quarters of the cache's devices in turn),
 * and when they are not and a slot is re-keyed (four times as many devices
 * in turn: every lookup misses), plus the re-key of one key alone.
 *
 * The last two lines compare the two ways of re-using a keyed CMAC context
 * in OpenSSL 3 (lwcrypto uses the first; it also allocates nothing):
 *   reinit: EVP_MAC_init(ctx, NULL, 0, NULL) on the keyed context;
 *   dup:    EVP_MAC_CTX_dup() of a keyed template, freed after use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "base/lb_err.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "lorawan/lwkeycache.h"
#include "tables/devices.h"

#define DEFAULT_ITERS 1000000L

static const uint8_t nwk_raw[LW_KEY_LEN] = {0x44, 0x02, 0x42, 0x41, 0xed, 0x4c, 0xe9, 0xa6,
					    0x8c, 0x6a, 0x8b, 0xc0, 0x55, 0x23, 0x3f, 0xd3};
static const uint8_t app_raw[LW_KEY_LEN] = {0xec, 0x92, 0x58, 0x02, 0xae, 0x43, 0x0c, 0xa7,
					    0x7f, 0xd3, 0xdd, 0x73, 0xcb, 0x2c, 0xc5, 0x88};
/* V1, anthonykirby/lora-packet __tests__/decrypt_test.ts: "test" on FPort 1,
 * FCnt 2. */
static const uint8_t v1_frame[17] = {0x40, 0xF1, 0x7D, 0xBE, 0x49, 0x00, 0x02, 0x00, 0x01,
				     0x95, 0x43, 0x78, 0x76, 0x2B, 0x11, 0xFF, 0x0D};

static volatile uint8_t sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void report(const char *what, double t0, long iters)
{
	printf("%-44s %9.1f ns/op\n", what, (now_ns() - t0) / (double)iters);
}

static void bench_mic(struct lw_key *nwk, size_t phy_len, long iters)
{
	uint8_t frame[LW_MAX_PHY], mic[4];
	char label[64];
	double t0;
	long i;

	memset(frame, 0x5a, sizeof(frame));
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		frame[6] = (uint8_t)i;  /* a different frame each time */
		if (lwcrypto_data_mic(nwk, LW_DIR_UP, 0x49BE7DF1, (uint32_t)i, frame,
				      phy_len - LW_LEN_MIC, mic) != LB_OK)
			exit(1);
		sink ^= mic[0];
	}
	snprintf(label, sizeof(label), "data MIC, %zu-byte frame", phy_len);
	report(label, t0, iters);
}

static void bench_decrypt(struct lw_key *app, size_t len, long iters)
{
	uint8_t in[LW_MAX_PHY], out[LW_MAX_PHY];
	char label[64];
	double t0;
	long i;

	memset(in, 0xa5, sizeof(in));
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		if (lwcrypto_payload_crypt(app, LW_DIR_UP, 0x49BE7DF1, (uint32_t)i, in, len,
					   out) != LB_OK)
			exit(1);
		sink ^= out[0];
	}
	snprintf(label, sizeof(label), "payload decrypt, %zu bytes", len);
	report(label, t0, iters);
}

/* What the uplink path does per frame once the device is found. */
static void bench_verify_decrypt(struct lw_keys *ks, long iters)
{
	uint8_t mic[4], plain[LW_MAX_PHY];
	struct lw_frame f;
	double t0;
	long i;

	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		uint32_t fcnt;

		if (lorawan_parse(v1_frame, sizeof(v1_frame), &f) != LB_OK)
			exit(1);
		fcnt = lorawan_fcnt_full(1, true, f.u.data.fcnt16);
		if (lwcrypto_data_mic(&ks->nwk_s_key, LW_DIR_UP, f.u.data.dev_addr, fcnt, f.phy,
				      f.msg_len, mic) != LB_OK || !lwcrypto_mic_equal(mic, f.mic))
			exit(1);
		if (lwcrypto_payload_crypt(&ks->app_s_key, LW_DIR_UP, f.u.data.dev_addr, fcnt,
					   f.u.data.frm_payload, f.u.data.frm_len, plain) != LB_OK)
			exit(1);
		sink ^= plain[0];
	}
	report("parse+verify+decrypt, 17-byte frame (V1)", t0, iters);
	if (memcmp(plain, "test", 4) != 0)
		exit(1);
}

static void bench_key_init(long iters)
{
	struct lw_key k;
	double t0;
	long i;

	memset(&k, 0, sizeof(k));
	iters = iters / 10 > 0 ? iters / 10 : 1;
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		uint8_t mic[4], plain[4];

		/* the contexts are made at their first use */
		if (lwcrypto_key_init(&k, nwk_raw) != LB_OK ||
		    lwcrypto_data_mic(&k, LW_DIR_UP, 0x49BE7DF1, (uint32_t)i, v1_frame,
				      sizeof(v1_frame) - LW_LEN_MIC, mic) != LB_OK ||
		    lwcrypto_payload_crypt(&k, LW_DIR_UP, 0x49BE7DF1, (uint32_t)i, v1_frame + 9, 4,
					   plain) != LB_OK)
			exit(1);
		sink ^= mic[0] ^ plain[0];
		lwcrypto_key_free(&k);
	}
	report("key init, CMAC and ECB made at first use, free", t0, iters);
}

#define CACHE_SLOTS DEVICES_KEY_CACHE

static void cache_round(struct lwkeycache *c, uint32_t *hints, unsigned n_dev, long iters,
			const char *label)
{
	uint8_t nwk[LW_KEY_LEN], app[LW_KEY_LEN], mic[4], plain[4];
	struct lw_keys *ks;
	double t0 = 0;

	memcpy(nwk, nwk_raw, LW_KEY_LEN);
	memcpy(app, app_raw, LW_KEY_LEN);
	/* One untimed round first: the slots' first fills (contexts made) are
	 * neither hits nor re-keys of the steady state, nor counted as such. */
	for (long i = -(long)n_dev; i < iters; i++) {
		if (i == 0) {
			c->hits = c->rekeys = 0;
			t0 = now_ns();
		}
		unsigned dev = (unsigned)((i + (long)n_dev) % n_dev);

		nwk[0] = app[0] = (uint8_t)dev;
		nwk[1] = app[1] = (uint8_t)(dev >> 8);
		if (lwkeycache_get(c, &hints[dev], nwk, app, &ks) != LB_OK ||
		    lwcrypto_data_mic(&ks->nwk_s_key, LW_DIR_UP, 0x49BE7DF1, (uint32_t)i, v1_frame,
				      sizeof(v1_frame) - LW_LEN_MIC, mic) != LB_OK ||
		    lwcrypto_payload_crypt(&ks->app_s_key, LW_DIR_UP, 0x49BE7DF1, (uint32_t)i,
					   v1_frame + 9, 4, plain) != LB_OK)
			exit(1);
		sink ^= mic[0] ^ plain[0];
	}
	report(label, t0, iters);
	printf("  key cache: %llu hits, %llu re-keys\n", (unsigned long long)c->hits,
	       (unsigned long long)c->rekeys);
}

static void bench_key_cache(long iters)
{
	static uint32_t hints[CACHE_SLOTS * 4];
	struct lwkeycache c;
	struct lw_key k;

	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		hints[i] = LWKEYCACHE_NONE;
	if (lwkeycache_init(&c, CACHE_SLOTS) != LB_OK)
		exit(1);
	iters = iters / 10 > 1000 ? iters / 10 : 1000;
	cache_round(&c, hints, CACHE_SLOTS * 3 / 4, iters, "uplink crypto, key cache hit");
	cache_round(&c, hints, CACHE_SLOTS * 4, iters, "uplink crypto, key cache miss (pair re-keyed)");
	lwkeycache_free(&c);
	memset(&k, 0, sizeof(k));
	if (lwcrypto_key_init(&k, nwk_raw) != LB_OK)
		exit(1);
	double t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		uint8_t raw[LW_KEY_LEN];

		memcpy(raw, nwk_raw, LW_KEY_LEN);
		raw[0] = (uint8_t)i;
		uint8_t mic[4];
		/* The CMAC takes the new key at its first use. */
		if (lwcrypto_key_rekey(&k, raw) != LB_OK ||
		    lwcrypto_data_mic(&k, LW_DIR_UP, 0x49BE7DF1, (uint32_t)i, v1_frame,
				      sizeof(v1_frame) - LW_LEN_MIC, mic) != LB_OK)
			exit(1);
		sink ^= mic[0];
	}
	report("re-key of one prepared key, then a MIC", t0, iters);
	lwcrypto_key_free(&k);
}

static EVP_MAC_CTX *cmac_keyed(void)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];

	EVP_MAC_free(mac);
	if (!c)
		exit(1);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
						     (char *)"AES-128-CBC", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(c, nwk_raw, LW_KEY_LEN, params) != 1)
		exit(1);
	return c;
}

static void cmac_once(EVP_MAC_CTX *c, const uint8_t *msg, size_t len)
{
	uint8_t out[16];
	size_t outl;

	if (EVP_MAC_update(c, msg, len) != 1 || EVP_MAC_final(c, out, &outl, sizeof(out)) != 1)
		exit(1);
	sink ^= out[0];
}

static void bench_cmac_strategies(long iters)
{
	EVP_MAC_CTX *tmpl = cmac_keyed();
	uint8_t msg[24];
	double t0;
	long i;

	memset(msg, 0x33, sizeof(msg));   /* B0 + an 8-byte message */
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		if (EVP_MAC_init(tmpl, NULL, 0, NULL) != 1)
			exit(1);
		cmac_once(tmpl, msg, sizeof(msg));
	}
	report("CMAC 24 B, reinit keyed ctx (used)", t0, iters);
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		EVP_MAC_CTX *c = EVP_MAC_CTX_dup(tmpl);

		if (!c)
			exit(1);
		cmac_once(c, msg, sizeof(msg));
		EVP_MAC_CTX_free(c);
	}
	report("CMAC 24 B, dup keyed template (not used)", t0, iters);
	EVP_MAC_CTX_free(tmpl);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? strtol(argv[1], NULL, 10) : DEFAULT_ITERS;
	struct lw_keys ks;

	if (iters <= 0) {
		fprintf(stderr, "usage: %s [iterations]\n", argv[0]);
		return 2;
	}
	memset(&ks, 0, sizeof(ks));
	if (lwcrypto_keys_init(&ks, nwk_raw, app_raw) != LB_OK) {
		fprintf(stderr, "key init failed\n");
		return 1;
	}
	printf("%ld iterations, %s\n", iters, OpenSSL_version(OPENSSL_VERSION));
	bench_mic(&ks.nwk_s_key, 12, iters);
	bench_mic(&ks.nwk_s_key, 51, iters);
	bench_decrypt(&ks.app_s_key, 4, iters);
	bench_decrypt(&ks.app_s_key, 51, iters);
	bench_verify_decrypt(&ks, iters);
	bench_key_init(iters);
	bench_key_cache(iters);
	bench_cmac_strategies(iters);
	lwcrypto_keys_free(&ks);
	return 0;
}
