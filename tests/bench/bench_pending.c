/* SPDX-License-Identifier: MIT */
/*
 * bench_pending.c - what the pending-session table (tables/pending.h) costs
 * on the paths that ask it.
 *
 * Prints nanoseconds per operation (CLOCK_MONOTONIC; N iterations, default
 * 1e6, first argument overrides) with PENDING_MAX - 1536 sessions pending:
 *   - a lookup by DevEUI of a device without one (what a class C uplink or
 *     send attempt pays: sessions_current_heard/_sure);
 *   - a frame with a pending DevAddr failing its MIC, always the same
 *     entry, and alternating between two entries;
 *   - the table filled as a restart loads it (rows in DevAddr order, the
 *     DevEUIs in another order), per entry and in all.
 * No pass/fail threshold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/lb_err.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "tables/pending.h"

#define DEFAULT_ITERS 1000000L
#define HELD (PENDING_MAX - 1536u)
#define ADDR0 0x26000000u

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void report(const char *what, double t0, long iters)
{
	printf("%-52s %11.1f ns/op\n", what, (now_ns() - t0) / (double)iters);
}

static struct pending_session entry(uint32_t i)
{
	struct pending_session s;

	memset(&s, 0, sizeof(s));
	/* DevEUIs in another order than the DevAddrs */
	s.dev_eui = UINT64_C(0x70b3d57ed0000000) + (uint64_t)((i * 40503u) % HELD);
	s.dev_addr = ADDR0 + i;
	memset(s.nwk_s_key, (int)(i & 0xff) | 1, LW_KEY_LEN);
	memset(s.app_s_key, 0x5a, LW_KEY_LEN);
	return s;
}

/* A frame of DevAddr addr under a key no entry has. */
static int bad_frame(uint32_t addr, uint8_t *phy, struct lw_frame *f)
{
	uint8_t wrong[LW_KEY_LEN];
	struct lw_keys ks;
	size_t len;
	struct lw_data_params d = {.mtype = LW_MTYPE_UNCONFIRMED_UP, .dev_addr = addr, .fcnt = 1,
				   .has_fport = true, .fport = 1,
				   .payload = (const uint8_t *)"ping", .payload_len = 4};

	memset(wrong, 0xee, sizeof(wrong));
	memset(&ks, 0, sizeof(ks));
	int rc = lwcrypto_keys_init(&ks, wrong, wrong);
	if (rc == LB_OK)
		rc = lorawan_build_data(&d, &ks, phy, LW_MAX_PHY, &len);
	lwcrypto_keys_free(&ks);
	return rc == LB_OK ? lorawan_parse(phy, len, f) : rc;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : DEFAULT_ITERS;
	struct pendings p;
	struct pending_session *got;
	uint8_t phy_a[LW_MAX_PHY], phy_b[LW_MAX_PHY];
	struct lw_frame fa, fb;
	uint32_t fcnt;
	size_t found = 0;

	if (iters <= 0)
		iters = DEFAULT_ITERS;
	pending_init(&p);
	double t0 = now_ns();
	for (uint32_t i = 0; i < HELD; i++) {
		struct pending_session s = entry(i);
		if (pending_put(&p, &s) != LB_OK) {
			fprintf(stderr, "bench_pending: put %u failed\n", i);
			return EXIT_FAILURE;
		}
	}
	double fill = now_ns() - t0;
	printf("%-52s %11.1f ns/op\n", "fill, rows in DevAddr order (per entry)",
	       fill / (double)HELD);
	printf("%-52s %11.1f ms\n", "fill, all entries", fill / 1e6);

	t0 = now_ns();
	for (long i = 0; i < iters; i++)
		found += pending_find_eui(&p, UINT64_C(0x1000000) + (uint64_t)i) != NULL;
	report("find by DevEUI, device without a pending session", t0, iters);

	if (bad_frame(ADDR0 + 7, phy_a, &fa) != LB_OK || bad_frame(ADDR0 + 9, phy_b, &fb) != LB_OK) {
		fprintf(stderr, "bench_pending: frames not built\n");
		return EXIT_FAILURE;
	}
	long n = iters / 10 > 0 ? iters / 10 : 1;
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		found += pending_verify(&p, &fa, &got, &fcnt) == LB_OK;
	report("pending DevAddr, MIC fails (same entry)", t0, n);
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		found += pending_verify(&p, i & 1 ? &fb : &fa, &got, &fcnt) == LB_OK;
	report("pending DevAddr, MIC fails (two entries in turn)", t0, n);
	pending_free(&p);
	return found == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
