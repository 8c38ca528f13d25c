/* SPDX-License-Identifier: MIT */
/* test_dedup.c - uplink de-duplication with a fake clock. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tables/dedup.h"
#include "base/lb_err.h"

#define GW1 UINT64_C(0xaa555a0000000001)
#define GW2 UINT64_C(0xaa555a0000000002)
#define GW3 UINT64_C(0xaa555a0000000003)

/* anthonykirby/lora-packet __tests__/decrypt_test.ts:
 * 40F17DBE4900020001954378762B11FF0D */
static const uint8_t PHY_A[] = {0x40, 0xf1, 0x7d, 0xbe, 0x49, 0x00, 0x02, 0x00, 0x01,
				0x95, 0x43, 0x78, 0x76, 0x2b, 0x11, 0xff, 0x0d};
/* mic_test.ts frame: 40F17DBE49000300012A3518AF */
static const uint8_t PHY_B[] = {0x40, 0xf1, 0x7d, 0xbe, 0x49, 0x00, 0x03, 0x00, 0x01,
				0x2a, 0x35, 0x18, 0xaf};

/* Everything emitted, copied out of the callback (the group is reused). */
struct sink {
	struct dedup_group g[8];
	int64_t at[8];
	size_t n;
	int64_t now;          /* fake clock at the time of the call */
};

static void on_emit(void *arg, struct dedup_group *g)
{
	struct sink *s = arg;
	ck_assert_uint_lt(s->n, 8);
	s->at[s->n] = s->now;
	s->g[s->n++] = *g;
}

static struct lb_rx mkrx(uint64_t gw, const uint8_t *phy, size_t len, float snr, int rssi)
{
	static uint32_t id;
	struct lb_rx rx;

	memset(&rx, 0, sizeof(rx));
	rx.gateway_eui = gw;
	rx.uplink_id = ++id;
	rx.rxpk.size = (uint16_t)len;
	memcpy(rx.rxpk.data, phy, len);
	rx.rxpk.has_lsnr = true;
	rx.rxpk.lsnr = snr;
	rx.rxpk.has_rssi = true;
	rx.rxpk.rssi = rssi;
	rx.rxpk.stat = 1;
	return rx;
}

static enum dedup_result add(struct dedup *d, struct sink *s, uint64_t gw, const uint8_t *phy,
			     size_t len, int64_t now)
{
	struct lb_rx rx = mkrx(gw, phy, len, 5.0f, -80);
	s->now = now;
	return dedup_add(d, &rx, now, on_emit, s);
}

static int64_t tick(struct dedup *d, struct sink *s, int64_t now)
{
	s->now = now;
	return dedup_tick(d, now, on_emit, s);
}

/* n frames (ids first..first+n-1 in phy's first bytes, the rest of phy as
 * given) heard by GW1 at t and GW3 10 ms later, into an empty table: they
 * take the slots from 0 on, and at t + 200 the n groups reach s, two
 * receptions each. */
static void pairs_from_slot0(struct dedup *d, struct sink *s, uint8_t *phy, size_t len,
			     uint32_t first, uint32_t n, int64_t t)
{
	for (uint32_t i = first; i < first + n; i++) {
		memcpy(phy, &i, sizeof(i));
		ck_assert_int_eq(add(d, s, GW1, phy, len, t), DEDUP_NEW);
		ck_assert_int_eq(add(d, s, GW3, phy, len, t + 10), DEDUP_MERGED);
	}
	ck_assert_uint_eq(d->fresh, n);                    /* taken from slot 0 on */
	ck_assert_int_eq(tick(d, s, t + 200), -1);
	ck_assert_uint_eq(s->n, n);
	for (size_t k = 0; k < n; k++) {
		ck_assert_uint_eq(s->g[k].n_rx, 2);
		ck_assert_uint_eq(s->g[k].rx[1].gateway_eui, GW3);
	}
}


START_TEST(test_three_gateways_one_group)
{
	struct dedup d;
	struct sink s = {0};

	ck_assert_int_eq(dedup_init(&d, 200, 16), LB_OK);
	ck_assert_int_eq(tick(&d, &s, 0), -1);
	ck_assert_int_eq(add(&d, &s, GW1, PHY_A, sizeof(PHY_A), 1000), DEDUP_NEW);
	ck_assert_int_eq(add(&d, &s, GW2, PHY_A, sizeof(PHY_A), 1050), DEDUP_MERGED);
	ck_assert_int_eq(tick(&d, &s, 1100), 1200);
	ck_assert_int_eq(add(&d, &s, GW3, PHY_A, sizeof(PHY_A), 1199), DEDUP_MERGED);
	ck_assert_int_eq(tick(&d, &s, 1199), 1200);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_uint_eq(dedup_open_count(&d), 1);
	/* The window closes at first_ms + window exactly. */
	ck_assert_int_eq(tick(&d, &s, 1200), -1);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.g[0].n_rx, 3);
	ck_assert_uint_eq(s.g[0].rx[0].gateway_eui, GW1);
	ck_assert_uint_eq(s.g[0].rx[1].gateway_eui, GW2);
	ck_assert_uint_eq(s.g[0].rx[2].gateway_eui, GW3);
	ck_assert_uint_eq(s.g[0].phy_len, sizeof(PHY_A));
	ck_assert_mem_eq(s.g[0].phy, PHY_A, sizeof(PHY_A));
	ck_assert_int_eq(s.g[0].first_ms, 1000);
	ck_assert_int_eq(s.g[0].due_ms, 1200);
	ck_assert_uint_eq(dedup_open_count(&d), 0);
	ck_assert_uint_eq(d.groups, 1);
	ck_assert_uint_eq(d.merged, 2);
	ck_assert_uint_eq(d.emitted, 1);
	dedup_free(&d);
}
END_TEST

START_TEST(test_late_copy_dropped)
{
	struct dedup d;
	struct sink s = {0};

	ck_assert_int_eq(dedup_init(&d, 200, 16), LB_OK);
	add(&d, &s, GW1, PHY_A, sizeof(PHY_A), 1000);
	tick(&d, &s, 1200);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_int_eq(add(&d, &s, GW2, PHY_A, sizeof(PHY_A), 1201), DEDUP_LATE);
	ck_assert_int_eq(add(&d, &s, GW3, PHY_A, sizeof(PHY_A), 1500), DEDUP_LATE);
	ck_assert_uint_eq(d.late, 2);
	ck_assert_int_eq(tick(&d, &s, 5000), -1);
	ck_assert_uint_eq(s.n, 1);      /* not published again */
	ck_assert_uint_eq(dedup_open_count(&d), 0);
	/* A different frame is not affected by the memory of PHY_A. */
	ck_assert_int_eq(add(&d, &s, GW2, PHY_B, sizeof(PHY_B), 1300), DEDUP_NEW);
	dedup_free(&d);
}
END_TEST

START_TEST(test_window_zero)
{
	struct dedup d;
	struct sink s = {0};

	ck_assert_int_eq(dedup_init(&d, 0, 16), LB_OK);
	ck_assert_int_eq(d.retention_ms, 2000);
	/* Two copies in one UDP batch, then the tick that follows the batch. */
	ck_assert_int_eq(add(&d, &s, GW1, PHY_A, sizeof(PHY_A), 500), DEDUP_NEW);
	ck_assert_int_eq(add(&d, &s, GW1, PHY_A, sizeof(PHY_A), 500), DEDUP_MERGED);
	ck_assert_int_eq(tick(&d, &s, 500), -1);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.g[0].n_rx, 2);
	ck_assert_int_eq(s.at[0], 500);
	/* Next batch, same millisecond: already published. */
	ck_assert_int_eq(add(&d, &s, GW2, PHY_A, sizeof(PHY_A), 500), DEDUP_LATE);
	/* An open group reports its deadline = first_ms. */
	ck_assert_int_eq(add(&d, &s, GW2, PHY_B, sizeof(PHY_B), 600), DEDUP_NEW);
	ck_assert_int_eq(tick(&d, &s, 599), 600);
	ck_assert_int_eq(tick(&d, &s, 600), -1);
	ck_assert_uint_eq(s.n, 2);
	dedup_free(&d);
}
END_TEST

START_TEST(test_emit_order_and_deadlines)
{
	struct dedup d;
	struct sink s = {0};
	uint8_t phy[4][20];

	ck_assert_int_eq(dedup_init(&d, 100, 16), LB_OK);
	for (int i = 0; i < 4; i++) {
		memset(phy[i], 0x40, sizeof(phy[i]));
		phy[i][19] = (uint8_t)i;   /* differ in the last byte only */
	}
	add(&d, &s, GW1, phy[2], 20, 1000);
	add(&d, &s, GW1, phy[0], 20, 1010);
	add(&d, &s, GW1, phy[3], 20, 1020);
	add(&d, &s, GW2, phy[0], 20, 1030);
	add(&d, &s, GW1, phy[1], 20, 1090);
	ck_assert_uint_eq(d.groups, 4);
	ck_assert_int_eq(tick(&d, &s, 1099), 1100);
	ck_assert_int_eq(tick(&d, &s, 1115), 1120);   /* first two emitted */
	ck_assert_uint_eq(s.n, 2);
	ck_assert_int_eq(tick(&d, &s, 5000), -1);     /* the rest, in arrival order */
	ck_assert_uint_eq(s.n, 4);
	/* Emitted late (the tick came at 5000): each was due at first_ms + 100. */
	ck_assert_int_eq(s.g[2].due_ms, 1120);
	ck_assert_int_eq(s.g[3].due_ms, 1190);
	ck_assert_uint_eq(s.g[0].phy[19], 2);
	ck_assert_uint_eq(s.g[1].phy[19], 0);
	ck_assert_uint_eq(s.g[1].n_rx, 2);
	ck_assert_uint_eq(s.g[2].phy[19], 3);
	ck_assert_uint_eq(s.g[3].phy[19], 1);
	ck_assert_int_eq(s.g[3].first_ms, 1090);
	dedup_free(&d);
}
END_TEST

START_TEST(test_forced_early)
{
	struct dedup d;
	struct sink s = {0};
	uint8_t phy[3][12];

	ck_assert_int_eq(dedup_init(&d, 200, 2), LB_OK);
	for (int i = 0; i < 3; i++) {
		memset(phy[i], 0x80, sizeof(phy[i]));
		phy[i][0] = (uint8_t)i;
	}
	ck_assert_int_eq(add(&d, &s, GW1, phy[0], 12, 1000), DEDUP_NEW);
	ck_assert_int_eq(add(&d, &s, GW1, phy[1], 12, 1010), DEDUP_NEW);
	ck_assert_uint_eq(s.n, 0);
	/* Pool full: the oldest (phy[0]) is emitted early, never dropped. */
	ck_assert_int_eq(add(&d, &s, GW1, phy[2], 12, 1020), DEDUP_NEW);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.g[0].phy[0], 0);
	ck_assert_int_eq(s.at[0], 1020);
	ck_assert_uint_eq(d.forced_early, 1);
	ck_assert_uint_eq(dedup_open_count(&d), 2);
	/* Its later copy is recognised as late, not re-opened. */
	ck_assert_int_eq(add(&d, &s, GW2, phy[0], 12, 1030), DEDUP_LATE);
	/* Merging into open groups needs no slot. */
	ck_assert_int_eq(add(&d, &s, GW2, phy[1], 12, 1030), DEDUP_MERGED);
	ck_assert_int_eq(tick(&d, &s, 1210), 1220);
	ck_assert_int_eq(tick(&d, &s, 1220), -1);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(s.g[1].phy[0], 1);
	ck_assert_uint_eq(s.g[1].n_rx, 2);
	ck_assert_uint_eq(s.g[2].phy[0], 2);
	ck_assert_uint_eq(d.forced_early, 1);
	dedup_free(&d);
}
END_TEST

START_TEST(test_retention_expiry)
{
	struct dedup d;
	struct sink s = {0};

	/* window 200 -> retention max(2000, 2000) = 2000 from the first copy */
	ck_assert_int_eq(dedup_init(&d, 200, 16), LB_OK);
	ck_assert_int_eq(d.retention_ms, 2000);
	add(&d, &s, GW1, PHY_A, sizeof(PHY_A), 10000);
	tick(&d, &s, 10200);
	ck_assert_int_eq(add(&d, &s, GW2, PHY_A, sizeof(PHY_A), 11999), DEDUP_LATE);
	ck_assert_int_eq(add(&d, &s, GW2, PHY_A, sizeof(PHY_A), 12000), DEDUP_NEW);
	ck_assert_uint_eq(d.late, 1);
	dedup_free(&d);

	/* window 500 -> still 2000: a confirmed uplink's retransmission (3 s
	 * after it at the earliest) is a new group, not a late copy */
	ck_assert_int_eq(dedup_init(&d, 500, 16), LB_OK);
	ck_assert_int_eq(d.retention_ms, 2000);
	add(&d, &s, GW1, PHY_A, sizeof(PHY_A), 0);
	tick(&d, &s, 500);
	ck_assert_int_eq(add(&d, &s, GW2, PHY_A, sizeof(PHY_A), 1999), DEDUP_LATE);
	tick(&d, &s, 3000);
	ck_assert_int_eq(add(&d, &s, GW1, PHY_A, sizeof(PHY_A), 3000), DEDUP_NEW);
	dedup_free(&d);

	/* window 2000 -> 2500 */
	ck_assert_int_eq(dedup_init(&d, 2000, 16), LB_OK);
	ck_assert_int_eq(d.retention_ms, 2500);
	add(&d, &s, GW1, PHY_A, sizeof(PHY_A), 0);
	tick(&d, &s, 2000);
	ck_assert_int_eq(add(&d, &s, GW2, PHY_A, sizeof(PHY_A), 2499), DEDUP_LATE);
	/* Expired entries are also dropped by tick. */
	tick(&d, &s, 2500);
	ck_assert_uint_eq(d.n_seen, 0);
	ck_assert_int_eq(add(&d, &s, GW2, PHY_A, sizeof(PHY_A), 2500), DEDUP_NEW);
	dedup_free(&d);

	/* window 100 -> minimum 2000 */
	ck_assert_int_eq(dedup_init(&d, 100, 16), LB_OK);
	ck_assert_int_eq(d.retention_ms, 2000);
	dedup_free(&d);
}
END_TEST

START_TEST(test_seen_memory_bounded)
{
	struct dedup d;
	struct sink s = {0};
	uint8_t phy[12];

	/* max_open 1 -> 4 emitted frames remembered. */
	ck_assert_int_eq(dedup_init(&d, 0, 1), LB_OK);
	ck_assert_uint_eq(d.seen_cap, DEDUP_SEEN_PER_OPEN);
	memset(phy, 0x40, sizeof(phy));
	for (int i = 0; i < 5; i++) {
		phy[11] = (uint8_t)i;
		ck_assert_int_eq(add(&d, &s, GW1, phy, 12, 100 + i), DEDUP_NEW);
		tick(&d, &s, 100 + i);
		s.n = 0;
	}
	ck_assert_uint_eq(d.seen_evicted, 1);
	phy[11] = 0;   /* forgotten early: opens a new group */
	ck_assert_int_eq(add(&d, &s, GW2, phy, 12, 110), DEDUP_NEW);
	tick(&d, &s, 110);
	phy[11] = 4;   /* still remembered */
	ck_assert_int_eq(add(&d, &s, GW2, phy, 12, 111), DEDUP_LATE);
	dedup_free(&d);
}
END_TEST

START_TEST(test_rx_overflow_keeps_best)
{
	struct dedup d;
	struct sink s = {0};
	struct lb_rx rx;

	ck_assert_int_eq(dedup_init(&d, 200, 4), LB_OK);
	/* 20 copies with SNR 0, 1, ... 19: keep the first and the 15 best. */
	for (int i = 0; i < 20; i++) {
		rx = mkrx(GW1 + (uint64_t)i, PHY_A, sizeof(PHY_A), (float)i, -100);
		ck_assert_int_eq(dedup_add(&d, &rx, 1000, on_emit, &s), i ? DEDUP_MERGED : DEDUP_NEW);
	}
	/* A weak copy of a full group is counted but not kept. */
	rx = mkrx(GW1 + 100, PHY_A, sizeof(PHY_A), -20.0f, -120);
	ck_assert_int_eq(dedup_add(&d, &rx, 1001, on_emit, &s), DEDUP_MERGED);
	ck_assert_uint_eq(d.rx_overflow, 5);
	tick(&d, &s, 1200);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.g[0].n_rx, DEDUP_MAX_RX);
	ck_assert_uint_eq(s.g[0].rx[0].gateway_eui, GW1);   /* first copy stays */
	for (size_t i = 1; i < DEDUP_MAX_RX; i++)
		ck_assert_msg(s.g[0].rx[i].rxpk.lsnr >= 5.0f, "weak copy %zu kept (snr %.1f)", i,
			      (double)s.g[0].rx[i].rxpk.lsnr);
	dedup_free(&d);
}
END_TEST

START_TEST(test_rx_quality_order)
{
	struct dedup d;
	struct sink s = {0};
	struct lb_rx rx;

	ck_assert_int_eq(dedup_init(&d, 200, 4), LB_OK);
	for (int i = 0; i < DEDUP_MAX_RX; i++) {
		rx = mkrx(GW1 + (uint64_t)i, PHY_A, sizeof(PHY_A), 3.0f, -90 - i);
		dedup_add(&d, &rx, 1000, on_emit, &s);
	}
	/* Equal SNR: RSSI decides; -90 - 15 = -105 is the weakest. */
	rx = mkrx(GW3 + 1000, PHY_A, sizeof(PHY_A), 3.0f, -95);
	dedup_add(&d, &rx, 1000, on_emit, &s);
	/* No SNR at all is worse than any SNR. */
	rx = mkrx(GW3 + 2000, PHY_A, sizeof(PHY_A), 0, -30);
	rx.rxpk.has_lsnr = false;
	dedup_add(&d, &rx, 1000, on_emit, &s);
	tick(&d, &s, 1200);
	ck_assert_uint_eq(s.g[0].rx[DEDUP_MAX_RX - 1].gateway_eui, GW3 + 1000);
	for (size_t i = 0; i < DEDUP_MAX_RX; i++)
		ck_assert_uint_ne(s.g[0].rx[i].gateway_eui, GW3 + 2000);
	dedup_free(&d);
}
END_TEST

START_TEST(test_same_gateway_two_chains)
{
	struct dedup d;
	struct sink s = {0};
	struct lb_rx a = mkrx(GW1, PHY_A, sizeof(PHY_A), 7.5f, -60);
	struct lb_rx b = mkrx(GW1, PHY_A, sizeof(PHY_A), 6.0f, -64);

	a.rxpk.rfch = 0;
	b.rxpk.rfch = 1;
	ck_assert_int_eq(dedup_init(&d, 200, 4), LB_OK);
	ck_assert_int_eq(dedup_add(&d, &a, 0, on_emit, &s), DEDUP_NEW);
	ck_assert_int_eq(dedup_add(&d, &b, 3, on_emit, &s), DEDUP_MERGED);
	tick(&d, &s, 200);
	ck_assert_uint_eq(s.g[0].n_rx, 2);
	ck_assert_int_eq(s.g[0].rx[0].rxpk.rfch, 0);
	ck_assert_int_eq(s.g[0].rx[1].rxpk.rfch, 1);
	ck_assert_uint_eq(s.g[0].rx[1].uplink_id, b.uplink_id);
	dedup_free(&d);
}
END_TEST

/* A prefix of a payload, or an empty one, is a different frame. */
START_TEST(test_length_is_part_of_key)
{
	struct dedup d;
	struct sink s = {0};

	ck_assert_int_eq(dedup_init(&d, 200, 8), LB_OK);
	ck_assert_int_eq(add(&d, &s, GW1, PHY_A, sizeof(PHY_A), 0), DEDUP_NEW);
	ck_assert_int_eq(add(&d, &s, GW1, PHY_A, sizeof(PHY_A) - 1, 0), DEDUP_NEW);
	ck_assert_int_eq(add(&d, &s, GW1, PHY_A, 0, 0), DEDUP_NEW);
	ck_assert_int_eq(add(&d, &s, GW2, PHY_A, 0, 0), DEDUP_MERGED);
	tick(&d, &s, 200);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_int_eq(add(&d, &s, GW3, PHY_A, sizeof(PHY_A) - 1, 300), DEDUP_LATE);
	dedup_free(&d);
}
END_TEST

static void count_emit(void *arg, struct dedup_group *g)
{
	size_t *n = arg;
	ck_assert_uint_eq(g->n_rx, 2);
	(*n)++;
}

/* Many open groups: every copy finds its group (hash chains). */
START_TEST(test_many_groups)
{
	struct dedup d;
	size_t n = 0;
	uint8_t phy[16];
	struct lb_rx rx;

	ck_assert_int_eq(dedup_init(&d, 200, 4096), LB_OK);
	memset(phy, 0, sizeof(phy));
	for (int copy = 0; copy < 2; copy++) {
		for (uint32_t i = 0; i < 4000; i++) {
			memcpy(phy, &i, sizeof(i));
			rx = mkrx(GW1 + (uint64_t)copy, phy, sizeof(phy), 1.0f, -90);
			ck_assert_int_eq(dedup_add(&d, &rx, 1000, count_emit, &n),
					 copy ? DEDUP_MERGED : DEDUP_NEW);
		}
	}
	ck_assert_uint_eq(dedup_open_count(&d), 4000);
	ck_assert_int_eq(dedup_tick(&d, 1200, count_emit, &n), -1);
	ck_assert_uint_eq(n, 4000);
	ck_assert_uint_eq(d.merged, 4000);
	dedup_free(&d);
}
END_TEST

static void count_one(void *arg, struct dedup_group *g)
{
	(void)g;
	(*(size_t *)arg)++;
}

/* A burst's slots are taken fresh again once it is all out (their pages
 * given back); a trickle keeps its few slots; groups after either are
 * whole. */
START_TEST(test_burst_pages_released)
{
	struct dedup d;
	size_t n = 0;
	uint8_t phy[16];
	struct lb_rx rx;

	ck_assert_int_eq(dedup_init(&d, 200, 1024), LB_OK);
	memset(phy, 0, sizeof(phy));
	for (uint32_t i = 0; i < 10; i++) {                /* a trickle: kept */
		memcpy(phy, &i, sizeof(i));
		rx = mkrx(GW1, phy, sizeof(phy), 1.0f, -90);
		ck_assert_int_eq(dedup_add(&d, &rx, 1000, count_one, &n), DEDUP_NEW);
	}
	ck_assert_int_eq(dedup_tick(&d, 1200, count_one, &n), -1);
	ck_assert_uint_eq(d.fresh, 10);
	for (uint32_t i = 100; i < 900; i++) {             /* a burst */
		memcpy(phy, &i, sizeof(i));
		rx = mkrx(GW1, phy, sizeof(phy), 1.0f, -90);
		ck_assert_int_eq(dedup_add(&d, &rx, 2000, count_one, &n), DEDUP_NEW);
	}
	ck_assert_uint_eq(d.fresh, 800);
	ck_assert_int_eq(dedup_tick(&d, 2100, count_one, &n), 2200);   /* still open */
	ck_assert_uint_eq(d.fresh, 800);
	ck_assert_int_eq(dedup_tick(&d, 2200, count_one, &n), -1);
	ck_assert_uint_eq(n, 810);
	ck_assert_uint_eq(d.fresh, 0);
	/* Late copies of the burst are still known; new groups are whole. */
	uint32_t old = 500;
	memcpy(phy, &old, sizeof(old));
	rx = mkrx(GW2, phy, sizeof(phy), 1.0f, -90);
	ck_assert_int_eq(dedup_add(&d, &rx, 2300, count_one, &n), DEDUP_LATE);
	struct sink s = {0};
	phy[15] = 0x77;
	pairs_from_slot0(&d, &s, phy, sizeof(phy), 0, 3, 3000);
	for (size_t k = 0; k < 3; k++) {
		ck_assert_uint_eq(s.g[k].phy_len, sizeof(phy));
		ck_assert_uint_eq(s.g[k].phy[0], k);
		ck_assert_uint_eq(s.g[k].phy[15], 0x77);
	}
	dedup_free(&d);
}
END_TEST

/* Pages resident (mincore) among those wholly inside slots [from, to). */
static size_t resident_pages(const struct dedup *d, size_t from, size_t to)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), mask = page - 1;
	uintptr_t lo = ((uintptr_t)(d->pool + from) + mask) & ~mask;
	uintptr_t hi = (uintptr_t)(d->pool + to) & ~mask;
	unsigned char vec[256];
	size_t n = 0;

	ck_assert_uint_le((hi - lo) / page, sizeof(vec));
	if (hi <= lo)
		return 0;
	ck_assert_int_eq(mincore((void *)lo, hi - lo, vec), 0);
	for (size_t i = 0; i < (hi - lo) / page; i++)
		n += vec[i] & 1;
	return n;
}

/* A quiet bridge's release: nothing while a group is open; once all are
 * out, the slots a trickle used (the ones a burst keeps, too) are taken
 * fresh from slot 0, and late copies are still known. */
START_TEST(test_quiet_release)
{
	struct dedup d;
	struct sink s = {0};
	size_t n = 0;
	uint8_t phy[16];
	struct lb_rx rx;

	ck_assert_int_eq(dedup_init(&d, 200, 1024), LB_OK);
	dedup_release(&d);                                 /* nothing used yet */
	ck_assert_uint_eq(d.fresh, 0);
	memset(phy, 0, sizeof(phy));
	for (uint32_t i = 0; i < 10; i++) {
		memcpy(phy, &i, sizeof(i));
		rx = mkrx(GW1, phy, sizeof(phy), 1.0f, -90);
		ck_assert_int_eq(dedup_add(&d, &rx, i < 9 ? 1000 : 1100, count_one, &n), DEDUP_NEW);
	}
	ck_assert_int_eq(dedup_tick(&d, 1200, count_one, &n), 1300);
	dedup_release(&d);                                 /* one still open */
	ck_assert_uint_eq(d.fresh, 10);
	ck_assert_int_eq(dedup_tick(&d, 1300, count_one, &n), -1);
	ck_assert_uint_eq(n, 10);
	ck_assert_uint_gt(resident_pages(&d, 0, 10), 0);
	dedup_release(&d);
	ck_assert_uint_eq(d.fresh, 0);
	ck_assert_uint_eq(resident_pages(&d, 0, 10), 0);
	/* A burst's release keeps its first 64 slots; the quiet one does not. */
	for (uint32_t i = 100; i < 300; i++) {
		memcpy(phy, &i, sizeof(i));
		rx = mkrx(GW1, phy, sizeof(phy), 1.0f, -90);
		ck_assert_int_eq(dedup_add(&d, &rx, 1300, count_one, &n), DEDUP_NEW);
	}
	ck_assert_int_eq(dedup_tick(&d, 1300, count_one, &n), 1500);
	ck_assert_int_eq(dedup_tick(&d, 1500, count_one, &n), -1);
	ck_assert_uint_eq(d.fresh, 0);
	ck_assert_uint_gt(resident_pages(&d, 0, 64), 0);
	dedup_release(&d);
	ck_assert_uint_eq(resident_pages(&d, 0, 64), 0);
	uint32_t old = 4;
	memcpy(phy, &old, sizeof(old));
	ck_assert_int_eq(add(&d, &s, GW2, phy, sizeof(phy), 1400), DEDUP_LATE);
	pairs_from_slot0(&d, &s, phy, sizeof(phy), 20, 2, 2000);
	for (size_t k = 0; k < 2; k++)
		ck_assert_uint_eq(s.g[k].phy[0], 20 + k);
	dedup_free(&d);
	dedup_release(&d);                                 /* freed: nothing */
}
END_TEST

START_TEST(test_init_ranges)
{
	struct dedup d;

	ck_assert_int_eq(dedup_init(&d, -1, 16), LB_ERR_RANGE);
	ck_assert_int_eq(dedup_init(&d, DEDUP_MAX_WINDOW_MS + 1, 16), LB_ERR_RANGE);
	ck_assert_int_eq(dedup_init(&d, 200, 0), LB_ERR_RANGE);
	ck_assert_int_eq(dedup_init(NULL, 200, 1), LB_ERR_INVAL);
	/* Freed / zeroed: tick is harmless. */
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(dedup_tick(&d, 0, NULL, NULL), -1);
	dedup_free(&d);
	ck_assert_int_eq(dedup_init(&d, DEDUP_MAX_WINDOW_MS, 1), LB_OK);
	ck_assert_int_eq(d.retention_ms, (int64_t)DEDUP_MAX_WINDOW_MS + 500);
	dedup_free(&d);
	dedup_free(&d);
}
END_TEST

static Suite *dedup_suite(void)
{
	Suite *s = suite_create("dedup");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_three_gateways_one_group);
	tcase_add_test(tc, test_late_copy_dropped);
	tcase_add_test(tc, test_window_zero);
	tcase_add_test(tc, test_emit_order_and_deadlines);
	tcase_add_test(tc, test_forced_early);
	tcase_add_test(tc, test_retention_expiry);
	tcase_add_test(tc, test_seen_memory_bounded);
	tcase_add_test(tc, test_rx_overflow_keeps_best);
	tcase_add_test(tc, test_rx_quality_order);
	tcase_add_test(tc, test_same_gateway_two_chains);
	tcase_add_test(tc, test_length_is_part_of_key);
	tcase_add_test(tc, test_many_groups);
	tcase_add_test(tc, test_init_ranges);
	tcase_add_test(tc, test_burst_pages_released);
	tcase_add_test(tc, test_quiet_release);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dedup_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
