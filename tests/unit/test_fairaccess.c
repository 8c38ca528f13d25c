/* SPDX-License-Identifier: MIT */
/*
 * test_fairaccess.c - per-device fair-access budgets with a fake clock:
 * the window sliding, 80 %/100 % crossings once and re-armed, enforce vs
 * warn for uplinks and downlinks, persistence, and the README's worked
 * example (13-byte PHYPayload at SF7BW125 = 46.336 ms, lorawan-stack
 * pkg/toa/toa_test.go; TTN Fair Use Policy: 30 s / 46.336 ms = 647 uplinks a
 * day, the TTN forum topic "Fair Use Policy explained").
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tables/fairaccess.h"
#include "base/lb_err.h"

#define SEC_MS INT64_C(1000)
#define MIN_MS (60 * SEC_MS)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define BUCKET_MS (24 * MIN_MS)          /* 24 h / FA_BUCKETS */
#define T0 INT64_C(1715644800000)        /* 2024-05-14T00:00:00Z */
#define SF7_13B_US 46336u                /* lorawan-stack pkg/toa/toa_test.go */

static const struct fa_policy WARN = FA_POLICY_INIT;
static const struct fa_policy ENFORCE = {30000, 10, 24, FA_ENFORCE};

static struct fa_device fresh(const struct fa_policy *p)
{
	struct fa_device d;
	ck_assert_int_eq(fa_device_init(&d, p), LB_OK);
	return d;
}

static struct fa_verdict up(struct fa_device *d, const struct fa_policy *p, int64_t t,
			    uint64_t us)
{
	struct fa_verdict v = {false, 0xdead};
	ck_assert_int_eq(fa_uplink(d, p, t, us, &v), LB_OK);
	return v;
}

static struct fa_status status(struct fa_device *d, const struct fa_policy *p, int64_t t)
{
	struct fa_status st;
	ck_assert_int_eq(fa_status(d, p, t, &st), LB_OK);
	return st;
}

START_TEST(test_policy_check)
{
	struct fa_policy p = FA_POLICY_INIT;
	struct fa_device d;

	ck_assert_int_eq(fa_policy_check(&p), LB_OK);
	ck_assert_uint_eq(p.uplink_airtime_ms, 30000);
	ck_assert_uint_eq(p.downlinks, 10);
	ck_assert_uint_eq(p.window_hours, 24);
	ck_assert_int_eq(p.action, FA_WARN);
	ck_assert_int_eq(fa_policy_check(NULL), LB_ERR_INVAL);
	p.uplink_airtime_ms = 0;
	ck_assert_int_eq(fa_policy_check(&p), LB_ERR_INVAL);
	p = WARN;
	p.downlinks = 0;
	ck_assert_int_eq(fa_policy_check(&p), LB_ERR_INVAL);
	p = WARN;
	p.window_hours = 0;
	ck_assert_int_eq(fa_policy_check(&p), LB_ERR_INVAL);
	p.window_hours = FA_MAX_WINDOW_HOURS + 1;
	ck_assert_int_eq(fa_device_init(&d, &p), LB_ERR_INVAL);
	p.window_hours = FA_MAX_WINDOW_HOURS;
	ck_assert_int_eq(fa_device_init(&d, &p), LB_OK);
	p = WARN;
	p.action = (enum fa_action)7;
	ck_assert_int_eq(fa_policy_check(&p), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_invalid_args)
{
	struct fa_device d = fresh(&WARN);
	struct fa_verdict v;
	struct fa_status st;
	struct fa_policy bad = WARN;

	bad.window_hours = 0;
	ck_assert_int_eq(fa_uplink(NULL, &WARN, T0, 1, &v), LB_ERR_INVAL);
	ck_assert_int_eq(fa_uplink(&d, &WARN, T0, 1, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(fa_uplink(&d, &bad, T0, 1, &v), LB_ERR_INVAL);
	ck_assert_int_eq(fa_downlink(&d, NULL, T0, &v), LB_ERR_INVAL);
	ck_assert_int_eq(fa_downlink_allowed(&d, &bad, T0), LB_ERR_INVAL);
	ck_assert_int_eq(fa_status(&d, &WARN, T0, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(fa_next_change(&d, &bad, T0), -1);
	/* Nothing was counted by the failed calls. */
	st = status(&d, &WARN, T0);
	ck_assert_uint_eq(st.uplink_airtime_us, 0);
	ck_assert_uint_eq(st.downlinks, 0);
}
END_TEST

/* 30 s at t0: exceeded until the bucket of t0 leaves the 24 h window. */
START_TEST(test_window_slides)
{
	struct fa_device d = fresh(&WARN);
	struct fa_status st;

	up(&d, &WARN, T0, 30000000);
	st = status(&d, &WARN, T0);
	ck_assert_uint_eq(st.uplink_airtime_us, 30000000);
	ck_assert(st.exceeded);
	st = status(&d, &WARN, T0 + 23 * HOUR_MS + 59 * MIN_MS);
	ck_assert(st.exceeded);
	st = status(&d, &WARN, T0 + DAY_MS + BUCKET_MS - 1);
	ck_assert(st.exceeded);
	st = status(&d, &WARN, T0 + DAY_MS + BUCKET_MS);
	ck_assert(!st.exceeded);
	ck_assert_uint_eq(st.uplink_airtime_us, 0);
	/* 1 µs short of the budget is not exceeded. */
	up(&d, &WARN, T0 + 2 * DAY_MS, 29999999);
	ck_assert(!status(&d, &WARN, T0 + 2 * DAY_MS).exceeded);
	up(&d, &WARN, T0 + 2 * DAY_MS, 1);
	ck_assert(status(&d, &WARN, T0 + 2 * DAY_MS).exceeded);
}
END_TEST

/* One frame a minute for three days: 80 % at #518, 100 % at #648, once each. */
START_TEST(test_crossings_once)
{
	struct fa_device d = fresh(&WARN);
	int at80 = 0, at100 = 0, events = 0;

	for (int i = 1; i <= 3 * 1440; i++) {
		struct fa_verdict v = up(&d, &WARN, T0 + (i - 1) * MIN_MS, SF7_13B_US);

		ck_assert(v.publish);
		ck_assert_uint_eq(v.crossed & ~(unsigned)(FA_CROSS_UPLINK_80 | FA_CROSS_UPLINK_100), 0);
		if (v.crossed)
			events++;
		if (v.crossed & FA_CROSS_UPLINK_80)
			at80 = i;
		if (v.crossed & FA_CROSS_UPLINK_100)
			at100 = i;
	}
	ck_assert_int_eq(events, 2);
	ck_assert_int_eq(at80, 518);
	ck_assert_int_eq(at100, 648);
}
END_TEST

START_TEST(test_crossings_rearm)
{
	struct fa_device d = fresh(&WARN);
	struct fa_verdict v;

	/* 5 s, then 20 s (83 %: 80), then 6 s (103 %: 100). */
	ck_assert_uint_eq(up(&d, &WARN, T0, 5000000).crossed, 0);
	v = up(&d, &WARN, T0 + HOUR_MS, 20000000);
	ck_assert_uint_eq(v.crossed, FA_CROSS_UPLINK_80);
	v = up(&d, &WARN, T0 + 2 * HOUR_MS, 6000000);
	ck_assert_uint_eq(v.crossed, FA_CROSS_UPLINK_100);
	ck_assert_uint_eq(up(&d, &WARN, T0 + 3 * HOUR_MS, 1000).crossed, 0);
	/* The 5 s leave: 26.001 s = 86.7 %: 100 % re-armed, 80 % not. */
	v = up(&d, &WARN, T0 + DAY_MS + BUCKET_MS, 3999000);
	ck_assert_uint_eq(v.crossed, FA_CROSS_UPLINK_100);
	/* Everything leaves: both re-armed; one big frame reports both. */
	v = up(&d, &WARN, T0 + 3 * DAY_MS, 31000000);
	ck_assert_uint_eq(v.crossed, FA_CROSS_UPLINK_80 | FA_CROSS_UPLINK_100);
	ck_assert_uint_eq(up(&d, &WARN, T0 + 3 * DAY_MS, 1).crossed, 0);
}
END_TEST

START_TEST(test_enforce_uplinks)
{
	struct fa_device e = fresh(&ENFORCE), w = fresh(&WARN);

	for (int i = 1; i <= 700; i++) {
		int64_t t = T0 + (i - 1) * MIN_MS;
		struct fa_verdict ve = up(&e, &ENFORCE, t, SF7_13B_US);
		struct fa_verdict vw = up(&w, &WARN, t, SF7_13B_US);

		/* The frame that crosses 100 % is still published. */
		ck_assert_msg(ve.publish == (i <= 648), "enforce, uplink %d", i);
		ck_assert(vw.publish);
		ck_assert_uint_eq(ve.crossed, vw.crossed);
	}
	/* Withheld uplinks are counted all the same. */
	ck_assert_uint_eq(status(&e, &ENFORCE, T0 + 700 * MIN_MS).uplink_airtime_us,
			  700 * (uint64_t)SF7_13B_US);
	ck_assert(status(&w, &WARN, T0 + 700 * MIN_MS).exceeded);
	/* Published again once the window has freed the budget. */
	ck_assert(up(&e, &ENFORCE, T0 + 700 * MIN_MS + DAY_MS + BUCKET_MS, SF7_13B_US).publish);
}
END_TEST

START_TEST(test_downlinks)
{
	struct fa_device e = fresh(&ENFORCE), w = fresh(&WARN);
	struct fa_verdict v;
	struct fa_status st;
	int64_t t = T0 + 5 * HOUR_MS;

	for (unsigned i = 1; i <= 10; i++) {
		ck_assert_int_eq(fa_downlink_allowed(&e, &ENFORCE, t), LB_OK);
		ck_assert_int_eq(fa_downlink(&e, &ENFORCE, t, &v), LB_OK);
		ck_assert(v.publish);
		ck_assert_uint_eq(v.crossed, i == 8 ? FA_CROSS_DOWNLINK_80
					    : i == 10 ? FA_CROSS_DOWNLINK_100 : 0);
		ck_assert_int_eq(fa_downlink(&w, &WARN, t, NULL), LB_OK);
		t += 10 * MIN_MS;
	}
	st = status(&e, &ENFORCE, t);
	ck_assert_uint_eq(st.downlinks, 10);
	ck_assert_uint_eq(st.downlink_budget, 10);
	ck_assert(st.exceeded);
	ck_assert_uint_eq(st.uplink_airtime_us, 0);
	/* Enforce refuses the 11th, and a refusal is not counted. */
	for (int k = 0; k < 3; k++)
		ck_assert_int_eq(fa_downlink_allowed(&e, &ENFORCE, t), LB_ERR_RATE_LIMIT);
	ck_assert_uint_eq(status(&e, &ENFORCE, t).downlinks, 10);
	/* Warn lets it through and counts it. */
	ck_assert_int_eq(fa_downlink_allowed(&w, &WARN, t), LB_OK);
	ck_assert_int_eq(fa_downlink(&w, &WARN, t, &v), LB_OK);
	ck_assert_uint_eq(v.crossed, 0);
	ck_assert_uint_eq(status(&w, &WARN, t).downlinks, 11);
	/* Bucket [4 h 48, 5 h 12) holds the first two: they leave at 29 h 12. */
	ck_assert_int_eq(fa_downlink_allowed(&e, &ENFORCE, T0 + 29 * HOUR_MS + 11 * MIN_MS),
			 LB_ERR_RATE_LIMIT);
	t = T0 + 29 * HOUR_MS + 12 * MIN_MS;
	ck_assert_int_eq(fa_downlink_allowed(&e, &ENFORCE, t), LB_OK);
	ck_assert_int_eq(fa_downlink(&e, &ENFORCE, t, &v), LB_OK);
	ck_assert_uint_eq(v.crossed, 0);            /* 9: still above 80 %, not re-armed */
	/* [5 h 12, 5 h 36) leaves at 29 h 36: 7 left, both thresholds re-armed. */
	t = T0 + 29 * HOUR_MS + 36 * MIN_MS;
	ck_assert_uint_eq(status(&e, &ENFORCE, t).downlinks, 7);
	ck_assert(!status(&e, &ENFORCE, t).exceeded);
	for (unsigned i = 8; i <= 10; i++) {
		ck_assert_int_eq(fa_downlink_allowed(&e, &ENFORCE, t), LB_OK);
		ck_assert_int_eq(fa_downlink(&e, &ENFORCE, t, &v), LB_OK);
		ck_assert_uint_eq(v.crossed, i == 8 ? FA_CROSS_DOWNLINK_80
					    : i == 10 ? FA_CROSS_DOWNLINK_100 : 0);
	}
	st = status(&e, &ENFORCE, t);
	ck_assert_uint_eq(st.downlinks, 10);
	ck_assert(st.exceeded);
	ck_assert_int_eq(fa_downlink_allowed(&e, &ENFORCE, t), LB_ERR_RATE_LIMIT);
}
END_TEST

START_TEST(test_status_changes)
{
	struct fa_device d = fresh(&WARN);
	struct fa_status a, b;

	a = status(&d, &WARN, T0);
	ck_assert_int_eq(fa_next_change(&d, &WARN, T0), -1);
	b = status(&d, &WARN, T0 + HOUR_MS);
	ck_assert(!fa_status_changed(&a, &b));
	ck_assert(fa_status_changed(&a, NULL));
	ck_assert(!fa_status_changed(NULL, NULL));
	up(&d, &WARN, T0 + HOUR_MS, SF7_13B_US);
	b = status(&d, &WARN, T0 + HOUR_MS);
	ck_assert(fa_status_changed(&a, &b));
	ck_assert_uint_eq(b.uplink_airtime_us, SF7_13B_US);
	ck_assert_uint_eq(b.uplink_budget_ms, 30000);
	/* The 1 h frame is in bucket [48 min, 72 min): it leaves at 24 h 72 min. */
	ck_assert_int_eq(fa_next_change(&d, &WARN, T0 + HOUR_MS), T0 + DAY_MS + 72 * MIN_MS);
	a = status(&d, &WARN, T0 + DAY_MS + 72 * MIN_MS);
	ck_assert(fa_status_changed(&a, &b));
	ck_assert_uint_eq(a.uplink_airtime_us, 0);
	/* A budget change alone changes the published status. */
	b = a;
	b.downlink_budget = 11;
	ck_assert(fa_status_changed(&a, &b));
	b = a;
	b.exceeded = true;
	ck_assert(fa_status_changed(&a, &b));
}
END_TEST

START_TEST(test_zeroed_device)
{
	struct fa_device d;
	uint8_t blob[FA_ENCODED_MAX];
	size_t len;

	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(fa_encode(&d, blob, sizeof(blob), &len), LB_ERR_INVAL);
	ck_assert(up(&d, &WARN, T0, SF7_13B_US).publish);
	ck_assert_uint_eq(status(&d, &WARN, T0).uplink_airtime_us, SF7_13B_US);
	ck_assert_uint_eq(d.uplink_us.n, FA_BUCKETS);
	ck_assert_uint_eq(d.uplink_us.bucket_ms, BUCKET_MS);
	ck_assert_int_eq(fa_encode(&d, blob, sizeof(blob), &len), LB_OK);
}
END_TEST

/* A changed window re-buckets what the device already used. */
START_TEST(test_window_change)
{
	struct fa_policy half = WARN;
	struct fa_device d = fresh(&WARN);

	half.window_hours = 12;
	up(&d, &WARN, T0, 10000000);
	up(&d, &WARN, T0 + 10 * HOUR_MS, 15000000);
	ck_assert_uint_eq(status(&d, &WARN, T0 + 11 * HOUR_MS).uplink_airtime_us, 25000000);
	/* 12 h window at 11 h: both still in; the bucket is now 12 min. */
	ck_assert_uint_eq(status(&d, &half, T0 + 11 * HOUR_MS).uplink_airtime_us, 25000000);
	ck_assert_uint_eq(d.uplink_us.bucket_ms, 12 * MIN_MS);
	/* The T0 frame (its old bucket ended at 24 min) leaves at 12 h 24 min. */
	ck_assert_uint_eq(status(&d, &half, T0 + 12 * HOUR_MS + 23 * MIN_MS).uplink_airtime_us,
			  25000000);
	ck_assert_uint_eq(status(&d, &half, T0 + 12 * HOUR_MS + 24 * MIN_MS).uplink_airtime_us,
			  15000000);
}
END_TEST

START_TEST(test_round_trip)
{
	struct fa_device d = fresh(&ENFORCE), back;
	uint8_t a[FA_ENCODED_MAX], b[FA_ENCODED_MAX];
	size_t la, lb;
	int64_t t = T0;
	struct fa_status s1, s2;
	struct fa_verdict v;

	for (int i = 0; i < 600; i++, t += 2 * MIN_MS)
		up(&d, &ENFORCE, t, SF7_13B_US);                    /* past 80 % */
	for (int i = 0; i < 9; i++)
		ck_assert_int_eq(fa_downlink(&d, &ENFORCE, t, NULL), LB_OK);
	ck_assert_int_eq(fa_encode(&d, a, sizeof(a), &la), LB_OK);
	ck_assert_int_eq(fa_decode(&back, a, la), LB_OK);
	ck_assert_int_eq(fa_encode(&back, b, sizeof(b), &lb), LB_OK);
	ck_assert_uint_eq(la, lb);
	ck_assert_mem_eq(a, b, la);
	s1 = status(&d, &ENFORCE, t);
	s2 = status(&back, &ENFORCE, t);
	ck_assert(!fa_status_changed(&s1, &s2));
	ck_assert_uint_eq(s2.uplink_airtime_us, 600 * (uint64_t)SF7_13B_US);
	ck_assert_uint_eq(s2.downlinks, 9);
	/* After the "restart" the 80 % crossings are not reported again... */
	v = up(&back, &ENFORCE, t, SF7_13B_US);
	ck_assert_uint_eq(v.crossed, 0);
	ck_assert_int_eq(fa_downlink(&back, &ENFORCE, t, &v), LB_OK);
	ck_assert_uint_eq(v.crossed, FA_CROSS_DOWNLINK_100);
	/* ...and the budget survives: the 10 downlinks are still there. */
	ck_assert_int_eq(fa_downlink_allowed(&back, &ENFORCE, t), LB_ERR_RATE_LIMIT);
	/* cap too small: the needed length is reported. */
	ck_assert_int_eq(fa_encode(&d, a, la - 1, &lb), LB_ERR_TOO_LARGE);
	ck_assert_uint_eq(lb, la);
}
END_TEST

START_TEST(test_sizes)
{
	struct fa_device d = fresh(&WARN);
	uint8_t blob[FA_ENCODED_MAX];
	size_t len;

	ck_assert_uint_eq(sizeof(struct fa_device), FA_DEVICE_SIZE);
	ck_assert_uint_le(sizeof(struct fa_device), 600);
	ck_assert_uint_eq(FA_ENCODED_MAX, 641);
	ck_assert_int_eq(fa_encode(&d, blob, sizeof(blob), &len), LB_OK);
	ck_assert_uint_eq(len, 153);                          /* idle device */
	/* A frame every 5 min for a day and a downlink a day: every uplink
	 * bucket holds ~4-5 frames (~230 ms: a 3-byte varint). */
	for (int i = 0; i < 288; i++)
		up(&d, &WARN, T0 + i * 5 * MIN_MS, SF7_13B_US);
	ck_assert_int_eq(fa_downlink(&d, &WARN, T0 + DAY_MS, NULL), LB_OK);
	ck_assert_int_eq(fa_encode(&d, blob, sizeof(blob), &len), LB_OK);
	/* Uplink ledger: 60 buckets of 3 bytes and the empty one before T0. */
	ck_assert_uint_eq(len, 3 + (14 + 60 * 3 + 1) + (14 + 61));
	ck_assert_uint_le(len, 300);
	/* Worst case: every bucket of both ledgers saturated. */
	for (int i = 0; i <= FA_BUCKETS; i++) {
		up(&d, &WARN, T0 + 2 * DAY_MS + i * BUCKET_MS, UINT64_MAX);
		for (int k = 0; k < 2; k++)
			ck_assert_int_eq(ledger_add(&d.downlinks, T0 + 2 * DAY_MS + i * BUCKET_MS,
						    UINT32_MAX), LB_OK);
	}
	ck_assert_int_eq(fa_encode(&d, blob, sizeof(blob), &len), LB_OK);
	ck_assert_uint_eq(len, FA_ENCODED_MAX);
}
END_TEST

static int decode(const uint8_t *in, size_t len)
{
	struct fa_device d;
	int err;

	memset(&d, 0x5a, sizeof(d));
	err = fa_decode(&d, in, len);
	if (err != LB_OK) {
		ck_assert_uint_eq(d.uplink_us.bucket_ms, 0);
		ck_assert_uint_eq(d.uplink_level, 0);
	}
	return err;
}

START_TEST(test_decode_rejects)
{
	struct fa_device d = fresh(&WARN);
	uint8_t blob[FA_ENCODED_MAX + 1], bad[FA_ENCODED_MAX + 1];
	size_t len;

	up(&d, &WARN, T0, 25000000);
	ck_assert_int_eq(fa_downlink(&d, &WARN, T0, NULL), LB_OK);
	ck_assert_int_eq(fa_encode(&d, blob, sizeof(blob), &len), LB_OK);
	ck_assert_uint_eq(blob[1], 1);                        /* 80 % reported */
	ck_assert_int_eq(decode(blob, len), LB_OK);
	for (size_t k = 0; k < len; k++)
		ck_assert_int_eq(decode(blob, k), LB_ERR_MALFORMED);
	blob[len] = 0;
	ck_assert_int_eq(decode(blob, len + 1), LB_ERR_MALFORMED);   /* trailing byte */
	memcpy(bad, blob, len);
	bad[0] = 9;
	ck_assert_int_eq(decode(bad, len), LB_ERR_VERSION);
	memcpy(bad, blob, len);
	bad[1] = 3;
	ck_assert_int_eq(decode(bad, len), LB_ERR_MALFORMED);
	memcpy(bad, blob, len);
	bad[2] = 0xff;
	ck_assert_int_eq(decode(bad, len), LB_ERR_MALFORMED);
	memcpy(bad, blob, len);
	bad[3] = 0;                                           /* ledger version */
	ck_assert_int_eq(decode(bad, len), LB_ERR_VERSION);
	ck_assert_int_eq(fa_decode(NULL, blob, len), LB_ERR_INVAL);
	ck_assert_int_eq(fa_decode(&d, NULL, 0), LB_ERR_MALFORMED);
}
END_TEST

/* Flipped bytes and random blobs never crash; what decodes re-encodes identically. */
START_TEST(test_decode_random)
{
	struct fa_device d = fresh(&WARN);
	uint8_t blob[FA_ENCODED_MAX], in[FA_ENCODED_MAX + 4], out[FA_ENCODED_MAX];
	size_t len;
	unsigned seed = 4242;

	for (int i = 0; i < 300; i++)
		up(&d, &WARN, T0 + i * 3 * MIN_MS, SF7_13B_US * (unsigned)(i % 7));
	ck_assert_int_eq(fa_encode(&d, blob, sizeof(blob), &len), LB_OK);
	for (int iter = 0; iter < 100000; iter++) {
		size_t n = len, olen;
		struct fa_device x;

		memcpy(in, blob, len);
		if (iter % 3 == 0) {
			n = (size_t)(rand_r(&seed) % (int)sizeof(in));
			for (size_t i = 0; i < n; i++)
				in[i] = (uint8_t)rand_r(&seed);
		} else {
			for (int k = rand_r(&seed) % 3; k >= 0; k--)
				in[rand_r(&seed) % (int)len] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
		}
		if (fa_decode(&x, in, n) != LB_OK)
			continue;
		ck_assert_int_eq(fa_encode(&x, out, sizeof(out), &olen), LB_OK);
		ck_assert_uint_eq(olen, n);
		ck_assert_mem_eq(out, in, n);
		(void)status(&x, &WARN, T0 + DAY_MS);
	}
}
END_TEST

/*
 * The README's worked example: 13-byte frames at SF7BW125 every N minutes
 * from T0. Budget after 24 h (just before the frame at 24 h 00) and the
 * uplink numbers that cross 80 % and 100 % (0 = never, over three days).
 */
struct worked {
	int every_s;
	unsigned per_day;
	uint64_t day_us;
	int at80, at100;
};

static const struct worked WORKED[] = {
	{60, 1440, 66723840, 518, 648},
	{120, 720, 33361920, 518, 648},
	{180, 480, 22241280, 0, 0},
	{300, 288, 13344768, 0, 0},
	{600, 144, 6672384, 0, 0},
	{900, 96, 4448256, 0, 0},
	{136, 635, 29423360, 518, 0},     /* the closest safe spacing: 2 min 16 s */
	{134, 645, 29886720, 518, 648},   /* fine over exactly 24 h, not over 24 h 24 min */
};

START_TEST(test_worked_example)
{
	const struct worked *w = &WORKED[_i];
	struct fa_device d = fresh(&WARN);
	int n = 0, at80 = 0, at100 = 0;

	for (int64_t t = T0; t < T0 + 3 * DAY_MS; t += w->every_s * SEC_MS) {
		struct fa_verdict v;

		if (n == (int)w->per_day)
			ck_assert_uint_eq(status(&d, &WARN, t - 1).uplink_airtime_us, w->day_us);
		v = up(&d, &WARN, t, SF7_13B_US);
		n++;
		if ((v.crossed & FA_CROSS_UPLINK_80) && !at80)
			at80 = n;
		if ((v.crossed & FA_CROSS_UPLINK_100) && !at100)
			at100 = n;
	}
	ck_assert_uint_eq(w->day_us, w->per_day * (uint64_t)SF7_13B_US);
	ck_assert_int_eq(at80, w->at80);
	ck_assert_int_eq(at100, w->at100);
}
END_TEST

/* An idle device behaves as a fresh one from then on (the daemon drops it):
 * same status, same verdicts and crossings for the same traffic. */
START_TEST(test_idle_device)
{
	struct fa_device d = fresh(&ENFORCE), z, f;

	memset(&z, 0, sizeof(z));
	ck_assert(!fa_device_idle(NULL, T0));
	ck_assert(fa_device_idle(&z, T0));
	ck_assert(fa_device_idle(&d, T0));
	up(&d, &ENFORCE, T0, 30000000);
	ck_assert(!fa_device_idle(&d, T0));
	/* The amount expired but the 100 % level is still reported until
	 * refreshed: not idle before a status has re-armed it. */
	ck_assert(!fa_device_idle(&d, T0 + DAY_MS + BUCKET_MS));
	ck_assert(!status(&d, &ENFORCE, T0 + DAY_MS + BUCKET_MS).exceeded);
	ck_assert(fa_device_idle(&d, T0 + DAY_MS + BUCKET_MS));
	/* From here d and a fresh device answer alike. */
	f = fresh(&ENFORCE);
	int64_t t = T0 + 2 * DAY_MS;
	for (int i = 0; i < 700; i++, t += 2 * MIN_MS) {
		struct fa_verdict a = up(&d, &ENFORCE, t, SF7_13B_US);
		struct fa_verdict b = up(&f, &ENFORCE, t, SF7_13B_US);
		ck_assert_int_eq(a.publish, b.publish);
		ck_assert_uint_eq(a.crossed, b.crossed);
		struct fa_status sa = status(&d, &ENFORCE, t), sb = status(&f, &ENFORCE, t);
		ck_assert(!fa_status_changed(&sa, &sb));
	}
}
END_TEST

/* ---- packed form ---------------------------------------------------------- */

/* The device read back from its packed form: fa_encode (every bucket of
 * both ledgers, by age, and the levels) gives the same bytes. Returns the
 * packed length. */
static size_t packed_same(const struct fa_device *d, struct fa_device *back)
{
	uint8_t p[FA_PACKED_MAX], a[FA_ENCODED_MAX], b[FA_ENCODED_MAX];
	size_t len, la, lb;

	ck_assert_int_eq(fa_pack(d, p, sizeof(p), &len), LB_OK);
	ck_assert_uint_eq(p[0], FA_PACKED_VERSION);
	ck_assert_int_eq(fa_decode(back, p, len), LB_OK);
	ck_assert_int_eq(fa_encode(d, a, sizeof(a), &la), LB_OK);
	ck_assert_int_eq(fa_encode(back, b, sizeof(b), &lb), LB_OK);
	ck_assert_uint_eq(la, lb);
	ck_assert_mem_eq(a, b, la);
	return len;
}

/* Sized by what the ledgers hold: a device heard once takes 16 bytes, one
 * heard a few times a day with a downlink 28, against 536 in memory and a
 * version 1 blob of 153 or more. */
START_TEST(test_pack_sizes)
{
	struct fa_device d = fresh(&WARN), back;

	ck_assert_uint_eq(packed_same(&d, &back), 10);                   /* never used */
	up(&d, &WARN, T0, SF7_13B_US);
	ck_assert_uint_eq(packed_same(&d, &back), 16);                   /* heard once */
	ck_assert_int_eq(fa_downlink(&d, &WARN, T0, NULL), LB_OK);
	ck_assert_uint_eq(packed_same(&d, &back), 20);                   /* and answered */
	for (int k = 1; k <= 3; k++)
		up(&d, &WARN, T0 + k * 6 * HOUR_MS, SF7_13B_US);
	ck_assert_uint_eq(packed_same(&d, &back), 32);
	/* Grows to the full ring only with a frame in every bucket. */
	for (int k = 0; k <= FA_BUCKETS; k++)
		up(&d, &WARN, T0 + DAY_MS + k * BUCKET_MS, SF7_13B_US);
	/* 61 buckets of 4 bytes, and the downlink ledger as it was (packing
	 * is not told the time: a ledger expires its buckets when used). */
	ck_assert_uint_eq(packed_same(&d, &back), 2 + 8 + 61 * 4 + 6);
	ck_assert_uint_le(packed_same(&d, &back), FA_PACKED_MAX);
	ck_assert_uint_eq(fa_packed_alloc_size(20), 24);                 /* a 32-byte chunk */
	ck_assert_uint_eq(fa_packed_alloc_size(22), 24);
	ck_assert_uint_eq(fa_packed_alloc_size(23), 40);
}
END_TEST

/* Random traffic, clock steps and a policy change: a copy kept packed
 * between calls (as the daemon keeps it) decides exactly as the device
 * kept whole: verdicts, crossings, statuses and next changes. */
START_TEST(test_pack_same_decisions)
{
	struct fa_policy p = ENFORCE;
	struct fa_device whole = fresh(&p), kept = fresh(&p);
	uint8_t blob[FA_PACKED_MAX];
	unsigned seed = 99;
	int64_t t = T0;
	size_t len;

	for (int k = 0; k < 3000; k++) {
		struct fa_device cur;
		ck_assert_int_eq(fa_pack(&kept, blob, sizeof(blob), &len), LB_OK);
		ck_assert_int_eq(fa_decode(&cur, blob, len), LB_OK);
		t += rand_r(&seed) % 20 == 0 ? -(int64_t)(rand_r(&seed) % HOUR_MS)
					     : rand_r(&seed) % (40 * MIN_MS);
		if (k == 1500)
			p.window_hours = 12;                 /* re-bucketed in place */
		int op = rand_r(&seed) % 4;
		if (op < 2) {
			uint64_t us = (uint64_t)(rand_r(&seed) % 400000);
			struct fa_verdict a = up(&whole, &p, t, us), b = up(&cur, &p, t, us);
			ck_assert(a.publish == b.publish);
			ck_assert_uint_eq(a.crossed, b.crossed);
		} else if (op == 2) {
			struct fa_verdict a = {0}, b = {0};
			ck_assert_int_eq(fa_downlink_allowed(&whole, &p, t),
					 fa_downlink_allowed(&cur, &p, t));
			ck_assert_int_eq(fa_downlink(&whole, &p, t, &a), LB_OK);
			ck_assert_int_eq(fa_downlink(&cur, &p, t, &b), LB_OK);
			ck_assert_uint_eq(a.crossed, b.crossed);
		} else {
			struct fa_status a = status(&whole, &p, t), b = status(&cur, &p, t);
			ck_assert(!fa_status_changed(&a, &b));
			ck_assert_int_eq(fa_next_change(&whole, &p, t), fa_next_change(&cur, &p, t));
		}
		ck_assert(fa_device_idle(&whole, t) == fa_device_idle(&cur, t));
		kept = cur;
	}
	struct fa_device back;
	packed_same(&whole, &back);
	packed_same(&kept, &back);
}
END_TEST

/* Rows stored before the packed form (version 1) are read as they were,
 * and packed again they read the same. */
START_TEST(test_pack_reads_version_1)
{
	struct fa_device d = fresh(&ENFORCE), old, back;
	uint8_t v1[FA_ENCODED_MAX], again[FA_ENCODED_MAX];
	size_t l1, la;

	for (int k = 0; k < 700; k++)
		up(&d, &ENFORCE, T0 + k * MIN_MS, SF7_13B_US);   /* both crossings */
	ck_assert_int_eq(fa_downlink(&d, &ENFORCE, T0 + DAY_MS / 2, NULL), LB_OK);
	ck_assert_int_eq(fa_encode(&d, v1, sizeof(v1), &l1), LB_OK);
	ck_assert_uint_eq(v1[0], FA_BLOB_VERSION);
	ck_assert_int_eq(fa_decode(&old, v1, l1), LB_OK);
	ck_assert_uint_eq(old.uplink_level, 2);
	packed_same(&old, &back);
	ck_assert_int_eq(fa_encode(&back, again, sizeof(again), &la), LB_OK);
	ck_assert_uint_eq(la, l1);
	ck_assert_mem_eq(again, v1, l1);
	struct fa_verdict a = up(&d, &ENFORCE, T0 + DAY_MS, 1000), b = up(&back, &ENFORCE,
									 T0 + DAY_MS, 1000);
	ck_assert(!a.publish && !b.publish);
}
END_TEST

/* Ledgers of two windows (a version 1 blob can hold them): the downlink
 * ledger keeps its own geometry (bit 4). */
START_TEST(test_pack_own_geometry)
{
	struct fa_device d = fresh(&WARN), back;
	uint8_t p[FA_PACKED_MAX];
	size_t len;

	up(&d, &WARN, T0, SF7_13B_US);   /* (a call re-buckets both to its policy) */
	ck_assert_int_eq(ledger_init(&d.downlinks, 10, 1000), LB_OK);
	ck_assert_int_eq(ledger_add(&d.downlinks, T0, 3), LB_OK);
	ck_assert_int_eq(fa_pack(&d, p, sizeof(p), &len), LB_OK);
	ck_assert_uint_eq(p[1] & FA_PACKED_OWN_GEOMETRY, FA_PACKED_OWN_GEOMETRY);
	packed_same(&d, &back);
	ck_assert_uint_eq(back.downlinks.n, 10);
	ck_assert_uint_eq(back.downlinks.bucket_ms, 1000);
}
END_TEST

START_TEST(test_pack_rejects)
{
	struct fa_device d = fresh(&WARN), back;
	uint8_t p[FA_PACKED_MAX + 1], bad[FA_PACKED_MAX + 1];
	size_t len;

	for (int k = 0; k < 600; k++)
		up(&d, &WARN, T0 + k * MIN_MS, SF7_13B_US);       /* 80 % reported */
	ck_assert_int_eq(fa_downlink(&d, &WARN, T0, NULL), LB_OK);
	ck_assert_int_eq(fa_pack(&d, p, sizeof(p), &len), LB_OK);
	ck_assert_uint_eq(p[1], 1);
	ck_assert_int_eq(decode(p, len), LB_OK);
	for (size_t k = 1; k < len; k++)
		ck_assert_int_eq(decode(p, k), LB_ERR_MALFORMED);
	p[len] = 0;
	ck_assert_int_eq(decode(p, len + 1), LB_ERR_MALFORMED);      /* trailing byte */
	memcpy(bad, p, len);
	bad[1] = 3;                                                   /* level 3 */
	ck_assert_int_eq(decode(bad, len), LB_ERR_MALFORMED);
	bad[1] = 3 << 2;
	ck_assert_int_eq(decode(bad, len), LB_ERR_MALFORMED);
	bad[1] = 0x21;                                                /* a reserved bit */
	ck_assert_int_eq(decode(bad, len), LB_ERR_MALFORMED);
	ck_assert_int_eq(fa_pack(&d, p, len - 1, &len), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(fa_pack(NULL, p, sizeof(p), &len), LB_ERR_INVAL);
	memset(&back, 0, sizeof(back));
	ck_assert_int_eq(fa_pack(&back, p, sizeof(p), &len), LB_ERR_INVAL);
}
END_TEST

/* fa_uplink_status() decides as fa_uplink() and reports what fa_status()
 * reports after it, on the same random traffic (clock steps, downlinks,
 * a window change, enforce); neither device differs from the other. */
START_TEST(test_uplink_status)
{
	struct fa_policy p = ENFORCE;
	struct fa_device a = fresh(&p), b = fresh(&p);
	unsigned seed = 31;
	int64_t t = T0;

	for (int k = 0; k < 3000; k++) {
		t += rand_r(&seed) % 20 == 0 ? -(int64_t)(rand_r(&seed) % HOUR_MS)
					     : rand_r(&seed) % (20 * MIN_MS);
		if (k == 1500)
			p.window_hours = 6;
		if (rand_r(&seed) % 5 == 0) {
			ck_assert_int_eq(fa_downlink(&a, &p, t, NULL), LB_OK);
			ck_assert_int_eq(fa_downlink(&b, &p, t, NULL), LB_OK);
			continue;
		}
		uint64_t us = (uint64_t)(rand_r(&seed) % 400000);
		struct fa_verdict va = up(&a, &p, t, us), vb = {false, 0xdead};
		struct fa_status sa = status(&a, &p, t), sb;
		memset(&sb, 0xa5, sizeof(sb));
		ck_assert_int_eq(fa_uplink_status(&b, &p, t, us, &vb, &sb), LB_OK);
		ck_assert(va.publish == vb.publish);
		ck_assert_uint_eq(va.crossed, vb.crossed);
		ck_assert(!fa_status_changed(&sa, &sb));
		uint8_t ea[FA_ENCODED_MAX], eb[FA_ENCODED_MAX];
		size_t la, lb;
		ck_assert_int_eq(fa_encode(&a, ea, sizeof(ea), &la), LB_OK);
		ck_assert_int_eq(fa_encode(&b, eb, sizeof(eb), &lb), LB_OK);
		ck_assert_uint_eq(la, lb);
		ck_assert_mem_eq(ea, eb, la);
	}
	struct fa_verdict v;
	struct fa_status st;
	ck_assert_int_eq(fa_uplink_status(&b, &p, t, 1, &v, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(fa_uplink_status(&b, &p, t, 1, NULL, &st), LB_ERR_INVAL);
	p.downlinks = 0;
	ck_assert_int_eq(fa_uplink_status(&b, &p, t, 1, &v, &st), LB_ERR_INVAL);
}
END_TEST

/* The unpacked way for one uplink on a packed device: what the daemon did
 * before fa_packed_uplink(). in NULL is the empty device. */
static int uplink_unpacked(const uint8_t *in, size_t len, const struct fa_policy *p, int64_t t,
			   uint64_t us, struct fa_verdict *v, struct fa_status *st, uint8_t *out,
			   size_t *out_len)
{
	struct fa_device d;
	int rc = in ? fa_decode(&d, in, len) : fa_device_init(&d, p);
	if (rc == LB_OK)
		rc = fa_uplink_status(&d, p, t, us, v, st);
	if (rc == LB_OK)
		rc = fa_pack(&d, out, FA_PACKED_MAX, out_len);
	return rc;
}

/* Random traffic on a device kept packed: every uplink counted in place
 * gives the verdict, status and bytes of unpacking, counting and packing;
 * downlinks, clock steps, a window change (left to the unpacked way once,
 * then in place again), enforce, frames long enough to cross 80 % and
 * 100 % and the window sliding back under them. */
START_TEST(test_packed_uplink_same)
{
	struct fa_policy p = ENFORCE;
	uint8_t blob[FA_PACKED_MAX], a[FA_PACKED_MAX], b[FA_PACKED_MAX];
	size_t len = 0, la, lb;
	bool have = false;
	unsigned seed = 2024;
	int64_t t = T0;
	int in_place = 0, left = 0, allowed = 0, refused = 0;

	for (int k = 0; k < 6000; k++) {
		t += rand_r(&seed) % 20 == 0 ? -(int64_t)(rand_r(&seed) % (2 * HOUR_MS))
					     : rand_r(&seed) % (k % 1000 < 500 ? 5 * MIN_MS : 3 * HOUR_MS);
		if (k == 3000)
			p.window_hours = 12;
		if (k == 4500)
			p.action = FA_WARN;
		if (have && rand_r(&seed) % 6 == 0) {
			struct fa_device d;
			uint8_t flags = 0xff;
			ck_assert_int_eq(fa_decode(&d, blob, len), LB_OK);
			int want = fa_downlink_allowed(&d, &p, t);
			int got = fa_packed_downlink_allowed(blob, len, &p, t, &flags);
			if (got != LB_ERR_NOT_FOUND) {
				ck_assert_int_eq(got, want);
				ck_assert_int_eq(fa_pack(&d, a, sizeof(a), &la), LB_OK);
				ck_assert_uint_eq(la, len);
				ck_assert_uint_eq(a[FA_PACKED_OFF_FLAGS], flags);
				blob[FA_PACKED_OFF_FLAGS] = flags;
				ck_assert_mem_eq(a, blob, len);
				allowed++;
				refused += got == LB_ERR_RATE_LIMIT;
			}
			ck_assert_int_eq(fa_downlink(&d, &p, t, NULL), LB_OK);
			ck_assert_int_eq(fa_pack(&d, blob, sizeof(blob), &len), LB_OK);
			continue;
		}
		uint64_t us = rand_r(&seed) % 8 == 0 ? (uint64_t)(rand_r(&seed) % 3000000)
						      : (uint64_t)(rand_r(&seed) % 400000);
		struct fa_verdict va = {false, 0xdead}, vb = {true, 0xbeef};
		struct fa_status sa, sb;
		ck_assert_int_eq(uplink_unpacked(have ? blob : NULL, len, &p, t, us, &va, &sa, a, &la),
				 LB_OK);
		int rc = fa_packed_uplink(have ? blob : NULL, have ? len : 0, &p, t, us, &vb, &sb, b,
					  sizeof(b), &lb);
		if (rc == LB_ERR_NOT_FOUND) {
			left++;
		} else {
			ck_assert_int_eq(rc, LB_OK);
			ck_assert(va.publish == vb.publish);
			ck_assert_uint_eq(va.crossed, vb.crossed);
			ck_assert(!fa_status_changed(&sa, &sb));
			ck_assert_uint_eq(la, lb);
			ck_assert_mem_eq(a, b, la);
			in_place++;
		}
		memcpy(blob, a, la);
		len = la;
		have = true;
	}
	ck_assert_int_eq(left, 1);          /* the window change, then in place again */
	ck_assert_int_gt(in_place, 4000);
	ck_assert_int_gt(allowed, 500);
	ck_assert_int_gt(refused, 10);
	uint8_t flags;
	ck_assert_int_eq(fa_packed_downlink_allowed(NULL, 0, &p, t, &flags), LB_OK);
	ck_assert_uint_eq(flags, 0);
	ck_assert_int_eq(fa_packed_downlink_allowed(blob, len, &p, t, NULL), LB_ERR_INVAL);
}
END_TEST

/* What the packed way leaves to the unpacked one, and what it refuses. */
START_TEST(test_packed_uplink_rejects)
{
	struct fa_device d = fresh(&WARN);
	struct fa_verdict v;
	struct fa_status st;
	uint8_t blob[FA_PACKED_MAX], out[FA_PACKED_MAX], old[FA_ENCODED_MAX];
	size_t len, olen;

	up(&d, &WARN, T0, SF7_13B_US);
	ck_assert_int_eq(fa_pack(&d, blob, sizeof(blob), &len), LB_OK);
	ck_assert_int_eq(fa_packed_uplink(blob, len, &WARN, T0, 1, &v, &st, out, sizeof(out), &olen),
			 LB_OK);
	/* too small an output: said, with the length needed */
	ck_assert_int_eq(fa_packed_uplink(blob, len, &WARN, T0, 1, &v, &st, out, olen - 1, &olen),
			 LB_ERR_TOO_LARGE);
	/* version 1, another window, a downlink ledger of its own window */
	ck_assert_int_eq(fa_encode(&d, old, sizeof(old), &olen), LB_OK);
	ck_assert_int_eq(fa_packed_uplink(old, olen, &WARN, T0, 1, &v, &st, out, sizeof(out), &olen),
			 LB_ERR_NOT_FOUND);
	struct fa_policy twelve = WARN;
	twelve.window_hours = 12;
	ck_assert_int_eq(fa_packed_uplink(blob, len, &twelve, T0, 1, &v, &st, out, sizeof(out),
					  &olen), LB_ERR_NOT_FOUND);
	struct fa_device own = d;
	ck_assert_int_eq(ledger_resample(&own.downlinks, FA_BUCKETS, 1000, T0), LB_OK);
	ck_assert_int_eq(fa_pack(&own, out, sizeof(out), &olen), LB_OK);
	ck_assert_int_eq(fa_packed_uplink(out, olen, &WARN, T0, 1, &v, &st, blob + 0, sizeof(out),
					  &olen), LB_ERR_NOT_FOUND);
	/* NULL, a bad policy, an empty device with a length */
	ck_assert_int_eq(fa_pack(&d, blob, sizeof(blob), &len), LB_OK);
	ck_assert_int_eq(fa_packed_uplink(blob, len, NULL, T0, 1, &v, &st, out, sizeof(out), &olen),
			 LB_ERR_INVAL);
	ck_assert_int_eq(fa_packed_uplink(blob, len, &WARN, T0, 1, NULL, &st, out, sizeof(out),
					  &olen), LB_ERR_INVAL);
	ck_assert_int_eq(fa_packed_uplink(NULL, 3, &WARN, T0, 1, &v, &st, out, sizeof(out), &olen),
			 LB_ERR_INVAL);
	/* every truncation, every flipped byte: refused exactly when fa_decode()
	 * refuses (the version byte aside: another version is left over) */
	for (size_t k = 0; k < len; k++) {
		struct fa_device back;
		ck_assert_int_ne(fa_packed_uplink(blob, k, &WARN, T0, 1, &v, &st, out, sizeof(out),
						  &olen), LB_OK);
		for (unsigned x = 1; x < 256; x++) {
			uint8_t bad[FA_PACKED_MAX];
			memcpy(bad, blob, len);
			bad[k] ^= (uint8_t)x;
			int dec = fa_decode(&back, bad, len);
			int rc = fa_packed_uplink(bad, len, &WARN, T0, 1, &v, &st, out, sizeof(out),
						  &olen);
			if (dec != LB_OK) {
				ck_assert_int_ne(rc, LB_OK);
			} else if (rc == LB_OK) {
				struct fa_verdict uv;
				struct fa_status ust;
				size_t ulen;
				ck_assert_int_eq(uplink_unpacked(bad, len, &WARN, T0, 1, &uv, &ust, old,
								 &ulen), LB_OK);
				ck_assert(uv.publish == v.publish && uv.crossed == v.crossed);
				ck_assert(!fa_status_changed(&ust, &st));
				ck_assert_uint_eq(ulen, olen);
				ck_assert_mem_eq(old, out, olen);
			}
		}
	}
}
END_TEST

static Suite *fairaccess_suite(void)
{
	Suite *s = suite_create("fairaccess");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_idle_device);

	tcase_add_test(tc, test_policy_check);
	tcase_add_test(tc, test_invalid_args);
	tcase_add_test(tc, test_window_slides);
	tcase_add_test(tc, test_crossings_once);
	tcase_add_test(tc, test_crossings_rearm);
	tcase_add_test(tc, test_enforce_uplinks);
	tcase_add_test(tc, test_downlinks);
	tcase_add_test(tc, test_status_changes);
	tcase_add_test(tc, test_zeroed_device);
	tcase_add_test(tc, test_window_change);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_decode_rejects);
	tcase_add_test(tc, test_decode_random);
	tcase_add_test(tc, test_pack_sizes);
	tcase_add_test(tc, test_pack_same_decisions);
	tcase_add_test(tc, test_pack_reads_version_1);
	tcase_add_test(tc, test_pack_own_geometry);
	tcase_add_test(tc, test_pack_rejects);
	tcase_add_test(tc, test_uplink_status);
	tcase_add_test(tc, test_packed_uplink_same);
	tcase_add_test(tc, test_packed_uplink_rejects);
	tcase_add_loop_test(tc, test_worked_example, 0, (int)(sizeof(WORKED) / sizeof(WORKED[0])));
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fairaccess_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
