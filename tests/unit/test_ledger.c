/* SPDX-License-Identifier: MIT */
/*
 * test_ledger.c - rolling-window ledger with a fake clock: retention
 * bounds, lazy expiry, clock steps, saturation, re-bucketing, the blob
 * format byte for byte and its rejection of malformed input.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "tables/ledger.h"

#define MIN_MS INT64_C(60000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define B24 (24 * MIN_MS)                       /* 60 buckets of 24 min = 24 h */
/* 2024-05-14T00:00:00Z: a bucket start for 24-min, 30-min and 1-h buckets. */
#define T0 INT64_C(1715644800000)
/* 2038-01-19T03:14:08Z, 2^31 s: where a 32-bit time_t (armhf) ends. */
#define T2038 INT64_C(2147483648000)
/* 2040-01-01T00:00:00Z, a bucket start for 24-min buckets. */
#define T2040 INT64_C(2208988800000)

static struct ledger day(void)
{
	struct ledger l;
	ck_assert_int_eq(ledger_init(&l, 60, (uint32_t)B24), LB_OK);
	return l;
}

START_TEST(test_init_ranges)
{
	struct ledger l;

	ck_assert_int_eq(ledger_init(&l, 0, 1000), LB_ERR_INVAL);
	ck_assert_uint_eq(l.bucket_ms, 0);
	ck_assert_int_eq(ledger_init(&l, LEDGER_MAX_BUCKETS + 1, 1000), LB_ERR_INVAL);
	ck_assert_int_eq(ledger_init(&l, 10, 0), LB_ERR_INVAL);
	ck_assert_int_eq(ledger_init(NULL, 10, 1000), LB_ERR_INVAL);
	ck_assert_int_eq(ledger_add(&l, T0, 1), LB_ERR_INVAL);   /* not initialised */
	ck_assert_uint_eq(ledger_sum(&l, T0), 0);
	ck_assert_int_eq(ledger_next_expiry(&l, T0), -1);
	ck_assert_int_eq(ledger_init(&l, LEDGER_MAX_BUCKETS, 1000), LB_OK);
	ck_assert_uint_eq(ledger_window_ms(&l), 60000);
	ck_assert_uint_eq(sizeof(struct ledger), LEDGER_STRUCT_SIZE);
	ck_assert_uint_eq(LEDGER_ENCODED_MAX, 319);
}
END_TEST

/* An amount is counted for at least the window and less than window + bucket. */
START_TEST(test_retention_bounds)
{
	struct ledger a = day(), b = day();

	/* Added at the first ms of a bucket: kept for window + bucket - 1 ms. */
	ck_assert_int_eq(ledger_add(&a, T0, 100), LB_OK);
	ck_assert_uint_eq(ledger_sum(&a, T0 + DAY_MS - 1), 100);
	ck_assert_uint_eq(ledger_sum(&a, T0 + DAY_MS), 100);
	ck_assert_uint_eq(ledger_sum(&a, T0 + DAY_MS + B24 - 1), 100);
	ck_assert_uint_eq(ledger_sum(&a, T0 + DAY_MS + B24), 0);
	/* Added at the last ms of a bucket: kept for exactly the window + 1 ms. */
	ck_assert_int_eq(ledger_add(&b, T0 + B24 - 1, 7), LB_OK);
	ck_assert_uint_eq(ledger_sum(&b, T0 + B24 - 1 + DAY_MS), 7);
	ck_assert_uint_eq(ledger_sum(&b, T0 + B24 + DAY_MS), 0);
}
END_TEST

START_TEST(test_sliding_sum)
{
	struct ledger l = day();

	/* 10 every hour for 30 hours: the add 24 h ago is still in (its bucket
	 * is exactly 60 old), the one 25 h ago is not (62 or 63 old). */
	for (int h = 0; h < 30; h++) {
		ck_assert_int_eq(ledger_add(&l, T0 + h * HOUR_MS, 10), LB_OK);
		ck_assert_uint_eq(ledger_sum(&l, T0 + h * HOUR_MS), 10 * (uint64_t)(h < 24 ? h + 1 : 25));
	}
	/* At T0+29h: adds at 5h..29h; 5h is in bucket (5*60)/24 = 12 (12.5),
	 * current bucket 72 (72.5): age 60 -> still counted; 4h is age 62. */
	ck_assert_uint_eq(ledger_sum(&l, T0 + 29 * HOUR_MS), 250);
	/* Reading later without adding expires lazily, without mutation. */
	ck_assert_uint_eq(ledger_sum(&l, T0 + 29 * HOUR_MS + DAY_MS + B24), 0);
	ck_assert_uint_eq(ledger_sum(&l, T0 + 29 * HOUR_MS), 250);
}
END_TEST

START_TEST(test_clock_steps)
{
	struct ledger l = day();

	ck_assert_int_eq(ledger_add(&l, T0 + 10 * HOUR_MS, 5), LB_OK);
	/* Clock stepped back 3 h: counted in the current bucket, nothing lost. */
	ck_assert_int_eq(ledger_add(&l, T0 + 7 * HOUR_MS, 6), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, T0 + 7 * HOUR_MS), 11);
	ck_assert_uint_eq(ledger_sum(&l, 0), 11);
	ck_assert_uint_eq(ledger_sum(&l, -5), 11);
	ck_assert_int_eq(ledger_add(&l, -1000, 1), LB_OK);        /* negative: taken as 0 */
	ck_assert_uint_eq(ledger_sum(&l, T0 + 10 * HOUR_MS), 12);
	/* Both expire with the current bucket's timeline. */
	ck_assert_uint_eq(ledger_sum(&l, T0 + 10 * HOUR_MS + DAY_MS + B24), 0);
	/* A step forward by years clears everything (one memset, not years of buckets). */
	ck_assert_int_eq(ledger_add(&l, T0 + 3650 * DAY_MS, 2), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, T0 + 3650 * DAY_MS), 2);
	/* Times near INT64_MAX are clamped, never overflow. */
	ck_assert_int_eq(ledger_add(&l, INT64_MAX, 3), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, INT64_MAX), 3);
	ck_assert_int_gt(ledger_next_expiry(&l, INT64_MAX), 0);
}
END_TEST

START_TEST(test_partial_expiry)
{
	struct ledger l;

	ck_assert_int_eq(ledger_init(&l, 4, 1000), LB_OK);
	for (int s = 0; s < 5; s++)
		ck_assert_int_eq(ledger_add(&l, 100000 + s * 1000, (uint32_t)(1u << s)), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, 104999), 31);
	ck_assert_uint_eq(ledger_sum(&l, 105000), 30);
	ck_assert_uint_eq(ledger_sum(&l, 106000), 28);
	ck_assert_uint_eq(ledger_sum(&l, 108000), 16);
	ck_assert_uint_eq(ledger_sum(&l, 109000), 0);
	/* Advancing two buckets by add clears exactly the two oldest. */
	ck_assert_int_eq(ledger_add(&l, 106500, 0), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, 106500), 28);
	ck_assert_int_eq(ledger_add(&l, 106600, 100), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, 106600), 128);
	ck_assert_uint_eq(ledger_sum(&l, 110999), 100);
	ck_assert_uint_eq(ledger_sum(&l, 111000), 0);
}
END_TEST

START_TEST(test_next_expiry)
{
	struct ledger l;

	ck_assert_int_eq(ledger_init(&l, 4, 1000), LB_OK);
	ck_assert_int_eq(ledger_next_expiry(&l, 5000), -1);
	ck_assert_int_eq(ledger_add(&l, 10500, 1), LB_OK);
	ck_assert_int_eq(ledger_add(&l, 12200, 1), LB_OK);
	/* Bucket 10 leaves when bucket 15 begins; bucket 12 when 17 begins. */
	ck_assert_int_eq(ledger_next_expiry(&l, 12200), 15000);
	ck_assert_int_eq(ledger_next_expiry(&l, 14999), 15000);
	ck_assert_int_eq(ledger_next_expiry(&l, 15000), 17000);
	ck_assert_int_eq(ledger_next_expiry(&l, 17000), -1);
}
END_TEST

START_TEST(test_saturation)
{
	struct ledger l;

	ck_assert_int_eq(ledger_init(&l, 2, 1000), LB_OK);
	ck_assert_int_eq(ledger_add(&l, 0, UINT32_MAX - 1), LB_OK);
	ck_assert_int_eq(ledger_add(&l, 1, 5), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, 1), UINT32_MAX);
	ck_assert_int_eq(ledger_add(&l, 1000, UINT32_MAX), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, 1000), 2 * (uint64_t)UINT32_MAX);
}
END_TEST

START_TEST(test_resample)
{
	struct ledger l = day();
	int64_t now = T0 + 30 * HOUR_MS;

	for (int h = 0; h <= 30; h++)
		ck_assert_int_eq(ledger_add(&l, T0 + h * HOUR_MS, 10), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, now), 250);
	/* Same geometry: untouched. */
	ck_assert_int_eq(ledger_resample(&l, 60, (uint32_t)B24, now), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, now), 250);
	/* 24 h in 48 half-hour buckets: the same 25 adds are in the window. */
	ck_assert_int_eq(ledger_resample(&l, 48, 30 * 60000u, now), LB_OK);
	ck_assert_uint_eq(l.n, 48);
	ck_assert_uint_eq(ledger_sum(&l, now), 250);
	/* Down to a 6 h window: the adds at 24h .. 30h = 7 (the 23h one sat in
	 * the half-hour bucket 46, 14 before the current one). */
	ck_assert_int_eq(ledger_resample(&l, 12, 30 * 60000u, now), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, now), 70);
	/* Nothing is counted for less time than before: the 30h add leaves at
	 * 36h + a bucket at the earliest. */
	ck_assert_uint_eq(ledger_sum(&l, T0 + 36 * HOUR_MS), 10);
	ck_assert_uint_eq(ledger_sum(&l, T0 + 36 * HOUR_MS + 30 * MIN_MS), 0);
	/* Bad geometry leaves the ledger alone. */
	ck_assert_int_eq(ledger_resample(&l, 0, 1000, now), LB_ERR_INVAL);
	ck_assert_int_eq(ledger_resample(&l, 61, 1000, now), LB_ERR_INVAL);
	ck_assert_uint_eq(ledger_sum(&l, now), 70);
}
END_TEST

/* Clock stepped back past a stored ledger: resampling keeps it all. */
START_TEST(test_resample_clock_back)
{
	struct ledger l = day();

	ck_assert_int_eq(ledger_add(&l, T0 + 5 * HOUR_MS, 9), LB_OK);
	ck_assert_int_eq(ledger_add(&l, T0 + 6 * HOUR_MS, 1), LB_OK);
	ck_assert_int_eq(ledger_resample(&l, 24, 3600000u, T0), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, T0), 10);
	ck_assert_uint_eq(ledger_sum(&l, T0 + DAY_MS), 10);
	ck_assert_uint_eq(ledger_sum(&l, T0 + DAY_MS + HOUR_MS), 0);
}
END_TEST

/* The blob, byte for byte (layout in ledger.h). */
START_TEST(test_encode_vector)
{
	static const uint8_t want[] = {
		0x01,                                           /* version */
		0x02,                                           /* n */
		0xe8, 0x03, 0x00, 0x00,                         /* bucket_ms 1000 */
		0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* epoch 7 */
		0xac, 0x02,                                     /* current: 300 */
		0x00,                                           /* age 1: 0 */
		0xff, 0xff, 0xff, 0xff, 0x0f,                   /* age 2: UINT32_MAX */
	};
	struct ledger l, back;
	uint8_t out[64];
	size_t len = 0, used = 0;

	ck_assert_int_eq(ledger_init(&l, 2, 1000), LB_OK);
	ck_assert_int_eq(ledger_add(&l, 5000, UINT32_MAX), LB_OK);
	ck_assert_int_eq(ledger_add(&l, 7999, 300), LB_OK);
	ck_assert_int_eq(ledger_encode(&l, out, sizeof(out), &len), LB_OK);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_mem_eq(out, want, sizeof(want));
	/* Too small: the needed size is still reported, nothing overflows. */
	ck_assert_int_eq(ledger_encode(&l, out, sizeof(want) - 1, &len), LB_ERR_TOO_LARGE);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_int_eq(ledger_encode(&l, NULL, 0, &len), LB_ERR_TOO_LARGE);
	/* Trailing bytes are left to the caller. */
	out[sizeof(want)] = 0x55;
	ck_assert_int_eq(ledger_decode(&back, out, sizeof(want) + 1, &used), LB_OK);
	ck_assert_uint_eq(used, sizeof(want));
	ck_assert_uint_eq(ledger_sum(&back, 7000), 300 + (uint64_t)UINT32_MAX);
	ck_assert_uint_eq(ledger_sum(&back, 8000), 300);
}
END_TEST

START_TEST(test_round_trip)
{
	struct ledger l = day(), back;
	uint8_t a[LEDGER_ENCODED_MAX], b[LEDGER_ENCODED_MAX];
	size_t la, lb, used;

	/* Rotate the ring so head is not 0; 1-, 4- and 5-byte varints. */
	for (int k = 0; k < 150; k++)
		ck_assert_int_eq(ledger_add(&l, T0 + k * 11 * MIN_MS, (uint32_t)k * 46336u * 97u), LB_OK);
	ck_assert_uint_ne(l.head, 0);
	ck_assert_int_eq(ledger_encode(&l, a, sizeof(a), &la), LB_OK);
	ck_assert_int_eq(ledger_decode(&back, a, la, &used), LB_OK);
	ck_assert_uint_eq(used, la);
	ck_assert_int_eq(ledger_encode(&back, b, sizeof(b), &lb), LB_OK);
	ck_assert_uint_eq(la, lb);
	ck_assert_mem_eq(a, b, la);
	for (int64_t t = T0; t < T0 + 3 * DAY_MS; t += 7 * MIN_MS) {
		ck_assert_uint_eq(ledger_sum(&back, t), ledger_sum(&l, t));
		ck_assert_int_eq(ledger_next_expiry(&back, t), ledger_next_expiry(&l, t));
	}
	/* Adding to both keeps them equal (head position does not matter). */
	ck_assert_int_eq(ledger_add(&l, T0 + 40 * HOUR_MS, 5), LB_OK);
	ck_assert_int_eq(ledger_add(&back, T0 + 40 * HOUR_MS, 5), LB_OK);
	ck_assert_uint_eq(ledger_sum(&back, T0 + 40 * HOUR_MS), ledger_sum(&l, T0 + 40 * HOUR_MS));
	/* Largest blob fits LEDGER_ENCODED_MAX. */
	ck_assert_int_eq(ledger_init(&l, LEDGER_MAX_BUCKETS, 1), LB_OK);
	for (int k = 0; k <= LEDGER_MAX_BUCKETS; k++)
		ck_assert_int_eq(ledger_add(&l, k, UINT32_MAX), LB_OK);
	ck_assert_int_eq(ledger_encode(&l, a, sizeof(a), &la), LB_OK);
	ck_assert_uint_eq(la, LEDGER_ENCODED_MAX);
}
END_TEST

static int decode(const uint8_t *in, size_t len)
{
	struct ledger l;
	size_t used = 0;
	int err;

	memset(&l, 0xa5, sizeof(l));
	err = ledger_decode(&l, in, len, &used);
	if (err != LB_OK) {
		ck_assert_uint_eq(l.bucket_ms, 0);   /* zeroed on error */
		ck_assert_uint_eq(l.n, 0);
	}
	return err;
}

/* Times past 2038 are plain int64 ms: a window across 2^31 s slides as any
 * other, and a 2040 ledger survives its blob. */
START_TEST(test_past_2038)
{
	struct ledger l = day(), back;
	uint8_t blob[LEDGER_ENCODED_MAX];
	size_t len = 0, used = 0;
	int64_t before = T2038 - B24, after = T2038 + MIN_MS;   /* two buckets */
	int64_t expiry = (before / B24 + 61) * B24;   /* bucket of `before` + n + 1 */

	ck_assert_int_eq(ledger_add(&l, before, 100), LB_OK);
	ck_assert_int_eq(ledger_add(&l, after, 200), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, after), 300);
	ck_assert_int_eq(ledger_next_expiry(&l, after), expiry);
	ck_assert_uint_eq(ledger_sum(&l, expiry - 1), 300);
	ck_assert_uint_eq(ledger_sum(&l, expiry), 200);
	ck_assert_int_eq(ledger_add(&l, T2040, 7), LB_OK);      /* two years on: all expired */
	ck_assert_uint_eq(ledger_sum(&l, T2040), 7);
	ck_assert_int_eq(l.epoch, T2040 / B24);
	ck_assert_int_eq(ledger_next_expiry(&l, T2040), T2040 + 61 * B24);

	ck_assert_int_eq(ledger_encode(&l, blob, sizeof(blob), &len), LB_OK);
	/* epoch 1534020 = 0x0000000000176844, all 8 bytes little-endian at offset 6 */
	ck_assert_mem_eq(blob + 6, "\x44\x68\x17\x00\x00\x00\x00\x00", 8);
	ck_assert_int_eq(ledger_decode(&back, blob, len, &used), LB_OK);
	ck_assert_uint_eq(used, len);
	ck_assert_uint_eq(ledger_sum(&back, T2040 + HOUR_MS), 7);
	ck_assert_int_eq(ledger_next_expiry(&back, T2040), T2040 + 61 * B24);
}
END_TEST

/* An epoch above 2^32: with 1 ms buckets the epoch is the time in ms,
 * 2040 = 0x0000020251FE2400, whose upper 4 bytes a 32-bit epoch (or a
 * 32-bit time in ms) would lose; the blob holds all 8, and decoding gives
 * the same epoch and sums back. */
START_TEST(test_epoch_above_2_32)
{
	struct ledger l, back;
	uint8_t blob[LEDGER_ENCODED_MAX];
	size_t len = 0, used = 0;

	ck_assert_int_eq(ledger_init(&l, 2, 1), LB_OK);
	ck_assert_int_eq(ledger_add(&l, T2040, 5), LB_OK);
	ck_assert_int_eq(l.epoch, T2040);
	ck_assert_int_gt(l.epoch, INT64_C(0xffffffff));
	ck_assert_int_eq(ledger_encode(&l, blob, sizeof(blob), &len), LB_OK);
	ck_assert_mem_eq(blob + 6, "\x00\x24\xfe\x51\x02\x02\x00\x00", 8);
	ck_assert_int_eq(ledger_decode(&back, blob, len, &used), LB_OK);
	ck_assert_uint_eq(used, len);
	ck_assert_int_eq(back.epoch, T2040);
	ck_assert_uint_eq(ledger_sum(&back, T2040 + 1), 5);
	ck_assert_uint_eq(ledger_sum(&back, T2040 + 3), 0);   /* n + 1 = 3 buckets on */
}
END_TEST

START_TEST(test_decode_rejects)
{
	uint8_t blob[32] = {0x01, 0x02, 0xe8, 0x03, 0, 0, 0x07, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x02,
			    0x03};
	const size_t len = 17;
	uint8_t bad[32] = {0};

	ck_assert_int_eq(decode(blob, len), LB_OK);
	for (size_t k = 0; k < len; k++)
		ck_assert_int_eq(decode(blob, k), LB_ERR_MALFORMED);
	ck_assert_int_eq(ledger_decode(NULL, blob, len, NULL), LB_ERR_INVAL);

	memcpy(bad, blob, len);
	bad[0] = 2;
	ck_assert_int_eq(decode(bad, len), LB_ERR_VERSION);
	memcpy(bad, blob, len);
	bad[1] = 0;                                  /* n = 0 */
	ck_assert_int_eq(decode(bad, len), LB_ERR_MALFORMED);
	bad[1] = LEDGER_MAX_BUCKETS + 1;
	ck_assert_int_eq(decode(bad, sizeof(bad)), LB_ERR_MALFORMED);
	memcpy(bad, blob, len);
	memset(bad + 2, 0, 4);                       /* bucket_ms = 0 */
	ck_assert_int_eq(decode(bad, len), LB_ERR_MALFORMED);
	memcpy(bad, blob, len);
	bad[13] = 0x80;                              /* negative epoch */
	ck_assert_int_eq(decode(bad, len), LB_ERR_MALFORMED);
	memcpy(bad, blob, len);
	bad[13] = 0x7f;                              /* epoch * bucket_ms overflows */
	ck_assert_int_eq(decode(bad, len), LB_ERR_MALFORMED);
	memcpy(bad, blob, len);
	bad[15] = 0x80;                              /* non-canonical 0x80 0x00 */
	bad[16] = 0x00;
	bad[17] = 0x03;
	ck_assert_int_eq(decode(bad, len + 1), LB_ERR_MALFORMED);
	memcpy(bad, blob, 14);                       /* varint of 5 bytes > UINT32_MAX */
	memcpy(bad + 14, (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x10, 0, 0}, 7);
	ck_assert_int_eq(decode(bad, 21), LB_ERR_MALFORMED);
	memcpy(bad + 14, (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0}, 8);
	ck_assert_int_eq(decode(bad, 22), LB_ERR_MALFORMED);  /* 6-byte varint */
	memcpy(bad + 14, (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0}, 7);
	ck_assert_int_eq(decode(bad, 21), LB_OK);             /* UINT32_MAX is fine */
}
END_TEST

/* Random blobs never crash; whatever decodes re-encodes to the same bytes. */
START_TEST(test_decode_random)
{
	uint8_t in[LEDGER_ENCODED_MAX + 8], out[LEDGER_ENCODED_MAX];
	unsigned seed = 12345;
	int accepted = 0;

	for (int iter = 0; iter < 200000; iter++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(in));
		struct ledger l;
		size_t used, olen;

		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)rand_r(&seed);
		/* Half the time, a plausible header so the body gets exercised. */
		if (len >= LEDGER_HEADER_LEN && (iter & 1)) {
			in[0] = 1;
			in[1] = (uint8_t)(in[1] % 8 + 1);
			in[5] = 0;                     /* bucket_ms < 2^24 */
			memset(in + 10, 0, 4);         /* epoch < 2^32 */
			for (size_t i = LEDGER_HEADER_LEN; i < len; i++)
				in[i] &= (rand_r(&seed) & 1) ? 0x7f : 0xff;
		}
		if (ledger_decode(&l, in, len, &used) != LB_OK)
			continue;
		accepted++;
		ck_assert_uint_le(used, len);
		ck_assert_int_eq(ledger_encode(&l, out, sizeof(out), &olen), LB_OK);
		ck_assert_uint_eq(olen, used);
		ck_assert_mem_eq(out, in, used);
		(void)ledger_sum(&l, T0);
		(void)ledger_next_expiry(&l, T0);
		ck_assert_int_eq(ledger_add(&l, T0, 1), LB_OK);
	}
	ck_assert_int_gt(accepted, 1000);
}
END_TEST

/* Idle: nothing in the window and the current bucket not ahead of now. */
/* ledger_sum() against a list of every amount added: an amount added when
 * the current bucket became e counts while the current bucket seen at now
 * (never before the ledger's own) is at most e + n. Random times moving
 * forward by up to 3 windows, with clock steps back, for several
 * geometries; sums read at random later times too. */
START_TEST(test_sum_against_model)
{
	static const unsigned geo[][2] = {{60, 24 * 60000}, {1, 1000}, {7, 333}, {60, 1}};
	unsigned seed = 7;

	for (size_t g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
		struct ledger l;
		int64_t bms = geo[g][1], n = geo[g][0], t = T0, cur = 0;
		int64_t ev_e[400];
		uint32_t ev_a[400];
		ck_assert_int_eq(ledger_init(&l, (unsigned)n, (uint32_t)bms), LB_OK);
		for (int k = 0; k < 400; k++) {
			int r = rand_r(&seed) % 10;
			t += r == 0 ? -(rand_r(&seed) % (2 * n * bms))
				    : rand_r(&seed) % (3 * n * bms / 8 + 2);
			int64_t e = t / bms > cur ? t / bms : cur;
			ev_e[k] = cur = e;
			ev_a[k] = (uint32_t)(rand_r(&seed) % 100000);
			ck_assert_int_eq(ledger_add(&l, t, ev_a[k]), LB_OK);
			for (int q = 0; q < 3; q++) {
				int64_t now = t + (q ? rand_r(&seed) % ((n + 2) * bms) : 0);
				int64_t en = now / bms > cur ? now / bms : cur;
				uint64_t want = 0;
				for (int j = 0; j <= k; j++)
					if (en - ev_e[j] <= n)
						want += ev_a[j];
				ck_assert_uint_eq(ledger_sum(&l, now), want);
			}
		}
	}
}
END_TEST

START_TEST(test_idle)
{
	struct ledger l, z;

	memset(&z, 0, sizeof(z));
	ck_assert(ledger_idle(NULL, T0));
	ck_assert(ledger_idle(&z, T0));
	l = day();
	ck_assert(ledger_idle(&l, T0));
	ck_assert_int_eq(ledger_add(&l, T0, 0), LB_OK);
	ck_assert(ledger_idle(&l, T0));
	ck_assert_int_eq(ledger_add(&l, T0, 7), LB_OK);
	ck_assert(!ledger_idle(&l, T0));
	ck_assert(!ledger_idle(&l, T0 + DAY_MS));
	/* Idle once the amount left the window, as late as ledger_sum says. */
	ck_assert(ledger_idle(&l, T0 + DAY_MS + B24));
	ck_assert_uint_eq(ledger_sum(&l, T0 + DAY_MS + B24), 0);
	/* Ahead of now (the clock stepped back): not idle, an amount added now
	 * would count from the ledger's own bucket. */
	l = day();
	ck_assert_int_eq(ledger_add(&l, T0 + 10 * HOUR_MS, 0), LB_OK);
	ck_assert(!ledger_idle(&l, T0));
	ck_assert(ledger_idle(&l, T0 + 10 * HOUR_MS));
}
END_TEST

/* ---- packed form ---------------------------------------------------------- */

/* Pack, unpack (with or without the geometry in the blob) and check the
 * ledger reads the same as the original: its v1 blob, which lists every
 * bucket by age, is byte for byte the same. Returns the packed length. */
static size_t pack_round_trip(const struct ledger *l, bool with_geometry)
{
	uint8_t p[LEDGER_PACKED_MAX + 1], a[LEDGER_ENCODED_MAX], b[LEDGER_ENCODED_MAX];
	struct ledger back;
	size_t len = 0, used = 0, la, lb;

	ck_assert_int_eq(ledger_pack(l, with_geometry, p, LEDGER_PACKED_MAX, &len), LB_OK);
	p[len] = 0x77;                                  /* a trailing byte is left alone */
	ck_assert_int_eq(ledger_unpack(&back, with_geometry ? NULL : l, p, len + 1, &used), LB_OK);
	ck_assert_uint_eq(used, len);
	ck_assert_int_eq(ledger_encode(l, a, sizeof(a), &la), LB_OK);
	ck_assert_int_eq(ledger_encode(&back, b, sizeof(b), &lb), LB_OK);
	ck_assert_uint_eq(la, lb);
	ck_assert_mem_eq(a, b, la);
	return len;
}

START_TEST(test_pack_vector)
{
	struct ledger l = day();
	uint8_t p[LEDGER_PACKED_MAX];
	size_t len = 0;
	/* n 60; bucket_ms 1,440,000 and epoch 1,191,422 (T0's bucket + 2) as
	 * LEB128; two non-empty buckets: age 0 holds 5, age 2 holds 61,696. */
	static const uint8_t want[] = {60, 0x80, 0xf2, 0x57, 0xfe, 0xdb, 0x48, 2,
				       0, 0x05, 2, 0x80, 0xe2, 0x03};

	ck_assert_int_eq(ledger_add(&l, T0, 61696), LB_OK);
	ck_assert_int_eq(ledger_add(&l, T0 + 2 * B24, 5), LB_OK);
	ck_assert_int_eq(ledger_pack(&l, true, p, sizeof(p), &len), LB_OK);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_mem_eq(p, want, len);
	/* Without the geometry: the same from the epoch on. */
	ck_assert_int_eq(ledger_pack(&l, false, p, sizeof(p), &len), LB_OK);
	ck_assert_uint_eq(len, sizeof(want) - 4);
	ck_assert_mem_eq(p, want + 4, len);
	ck_assert_int_eq(ledger_pack(&l, true, p, sizeof(want) - 1, &len), LB_ERR_TOO_LARGE);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_int_eq(ledger_pack(NULL, true, p, sizeof(p), &len), LB_ERR_INVAL);
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(ledger_pack(&l, true, p, sizeof(p), &len), LB_ERR_INVAL);
}
END_TEST

/* The packed form grows with the buckets used, not with the window: 6
 * bytes fresh (epoch 0), 8 idle in 2024, 4 more for each bucket holding a
 * frame's airtime, the full ring only when every bucket holds something. */
START_TEST(test_pack_growth)
{
	struct ledger l = day();

	ck_assert_uint_eq(pack_round_trip(&l, true), 6);
	ck_assert_int_eq(ledger_add(&l, T0, 0), LB_OK);
	ck_assert_uint_eq(pack_round_trip(&l, true), 8);
	ck_assert_uint_eq(pack_round_trip(&l, false), 4);
	ck_assert_int_eq(ledger_add(&l, T0, 46336), LB_OK);            /* 3-byte varint */
	ck_assert_uint_eq(pack_round_trip(&l, true), 12);
	ck_assert_int_eq(ledger_add(&l, T0 + MIN_MS, 46336), LB_OK);   /* same bucket */
	ck_assert_uint_eq(pack_round_trip(&l, true), 12);
	for (int k = 1; k <= 4; k++)                                     /* a few a day */
		ck_assert_int_eq(ledger_add(&l, T0 + k * 5 * HOUR_MS, 46336), LB_OK);
	ck_assert_uint_eq(pack_round_trip(&l, true), 8 + 5 * 4);
	for (int k = 0; k <= 60; k++)                                    /* every bucket */
		ck_assert_int_eq(ledger_add(&l, T0 + DAY_MS + k * B24, 100), LB_OK);
	ck_assert_uint_eq(pack_round_trip(&l, true), 8 + 61 * 2);
	for (int k = 0; k <= 60; k++)                                    /* the largest */
		ck_assert_int_eq(ledger_add(&l, T0 + DAY_MS + 60 * B24, UINT32_MAX), LB_OK);
	ck_assert_uint_le(pack_round_trip(&l, true), LEDGER_PACKED_MAX);
}
END_TEST

/* Buckets that left the window are not packed: the form shrinks back as
 * the window slides past them, and the unpacked ledger expires them at the
 * same times as the original. */
START_TEST(test_pack_window_expiry)
{
	struct ledger l = day(), back;
	uint8_t p[LEDGER_PACKED_MAX];
	size_t len;

	ck_assert_int_eq(ledger_add(&l, T0, 1000), LB_OK);
	ck_assert_int_eq(ledger_add(&l, T0 + 12 * HOUR_MS, 2000), LB_OK);
	ck_assert_uint_eq(pack_round_trip(&l, true), 8 + 2 * 3);
	ck_assert_int_eq(ledger_pack(&l, true, p, sizeof(p), &len), LB_OK);
	ck_assert_int_eq(ledger_unpack(&back, NULL, p, len, NULL), LB_OK);
	for (int64_t t = T0; t < T0 + 2 * DAY_MS; t += MIN_MS) {
		ck_assert_uint_eq(ledger_sum(&back, t), ledger_sum(&l, t));
		ck_assert_int_eq(ledger_next_expiry(&back, t), ledger_next_expiry(&l, t));
		ck_assert(ledger_idle(&back, t) == ledger_idle(&l, t));
	}
	/* A day on, the first amount is gone: one bucket left in the form. */
	ck_assert_int_eq(ledger_add(&l, T0 + DAY_MS + B24, 0), LB_OK);
	ck_assert_uint_eq(ledger_sum(&l, T0 + DAY_MS + B24), 2000);
	ck_assert_uint_eq(pack_round_trip(&l, true), 8 + 3);
	/* Two days on, nothing: idle again. */
	ck_assert_int_eq(ledger_add(&l, T0 + 2 * DAY_MS, 0), LB_OK);
	ck_assert_uint_eq(pack_round_trip(&l, true), 8);
}
END_TEST

/* Random use (clock steps included) against the full form: every packed
 * ledger unpacks to the same buckets; past 2038 and 1 ms buckets too. */
START_TEST(test_pack_random)
{
	unsigned seed = 4242;
	static const uint32_t geo[][2] = {{60, 1440000}, {1, 1}, {7, 1000}, {60, 1}};

	for (size_t g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
		struct ledger l;
		int64_t t = g == 3 ? T2040 : T0;
		ck_assert_int_eq(ledger_init(&l, geo[g][0], geo[g][1]), LB_OK);
		for (int k = 0; k < 2000; k++) {
			int64_t span = (int64_t)geo[g][0] * geo[g][1];
			t += rand_r(&seed) % 10 == 0 ? -(rand_r(&seed) % (span + 1))
						     : rand_r(&seed) % (span / 4 + 2);
			uint32_t a = (uint32_t)rand_r(&seed) >> (rand_r(&seed) % 32);
			ck_assert_int_eq(ledger_add(&l, t, a), LB_OK);
			pack_round_trip(&l, k & 1);
		}
	}
}
END_TEST

static int unpack(const uint8_t *in, size_t len)
{
	struct ledger l;
	size_t used = 0;
	int err;

	memset(&l, 0xa5, sizeof(l));
	err = ledger_unpack(&l, NULL, in, len, &used);
	if (err != LB_OK) {
		ck_assert_uint_eq(l.bucket_ms, 0);   /* zeroed on error */
		ck_assert_uint_eq(l.n, 0);
	} else {
		ck_assert_uint_eq(used, len);
	}
	return err;
}

START_TEST(test_unpack_rejects)
{
	/* n 2, bucket_ms 1000 (0xe8 0x07), epoch 7, two buckets: age 0 = 1, age 2 = 300. */
	const uint8_t good[] = {2, 0xe8, 0x07, 7, 2, 0, 1, 2, 0xac, 0x02};
	uint8_t bad[sizeof(good) + 12];
	struct ledger geom;

	ck_assert_int_eq(unpack(good, sizeof(good)), LB_OK);
	for (size_t k = 0; k < sizeof(good); k++)
		ck_assert_int_eq(unpack(good, k), LB_ERR_MALFORMED);
	ck_assert_int_eq(ledger_unpack(NULL, NULL, good, sizeof(good), NULL), LB_ERR_INVAL);
	memset(&geom, 0, sizeof(geom));
	ck_assert_int_eq(ledger_unpack(&geom, &geom, good + 3, sizeof(good) - 3, NULL), LB_ERR_INVAL);
#define BAD(i, v, why)                                                                     \
	do {                                                                               \
		memcpy(bad, good, sizeof(good));                                           \
		bad[i] = (v);                                                              \
		ck_assert_msg(unpack(bad, sizeof(good)) == LB_ERR_MALFORMED, why);         \
	} while (0)
	BAD(0, 0, "n = 0");
	BAD(0, LEDGER_MAX_BUCKETS + 1, "n too large");
	BAD(4, 4, "k above n + 1");
	BAD(5, 2, "an age not above the one before (2, 2)");
	BAD(7, 0, "an age not above the one before (0, 0)");
	BAD(7, 3, "age above n");
	BAD(6, 0, "a sum of 0");
	BAD(9, 0x00, "a varint ending in 0x00 (not canonical)");
#undef BAD
	/* bucket_ms = 0, as 0x00 */
	ck_assert_int_eq(unpack((const uint8_t[]){2, 0x00, 7, 0}, 4), LB_ERR_MALFORMED);
	/* bucket_ms above UINT32_MAX */
	ck_assert_int_eq(unpack((const uint8_t[]){2, 0x80, 0x80, 0x80, 0x80, 0x10, 7, 0}, 8),
			 LB_ERR_MALFORMED);
	/* an epoch whose times overflow: 2^62 with 1000 ms buckets */
	ck_assert_int_eq(unpack((const uint8_t[]){2, 0xe8, 0x07, 0x80, 0x80, 0x80, 0x80, 0x80,
						  0x80, 0x80, 0x80, 0x40, 0}, 13),
			 LB_ERR_MALFORMED);
	/* a varint of 11 bytes, and a 10th byte above 1 */
	ck_assert_int_eq(unpack((const uint8_t[]){1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
						  0x80, 0x80, 0x80, 0x01, 0}, 14),
			 LB_ERR_MALFORMED);
	ck_assert_int_eq(unpack((const uint8_t[]){1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
						  0x80, 0x80, 0x02, 0}, 13),
			 LB_ERR_MALFORMED);
	/* a sum above UINT32_MAX; UINT32_MAX itself is fine */
	ck_assert_int_eq(unpack((const uint8_t[]){1, 1, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x10}, 10),
			 LB_ERR_MALFORMED);
	ck_assert_int_eq(unpack((const uint8_t[]){1, 1, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, 10),
			 LB_OK);
}
END_TEST

/* Random bytes never crash; whatever unpacks packs to the same bytes. */
START_TEST(test_unpack_random)
{
	uint8_t in[64], out[LEDGER_PACKED_MAX];
	unsigned seed = 777;
	int accepted = 0;

	for (int iter = 0; iter < 200000; iter++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(in)), used, olen;
		struct ledger l;

		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)rand_r(&seed);
		if (len > 4 && (iter & 1)) {          /* plausible: small n, short varints */
			in[0] = (uint8_t)(in[0] % 8 + 1);
			in[1] &= 0x7f;
			in[2] &= 0x7f;
			in[3] = (uint8_t)(in[3] % 4);
			for (size_t i = 4; i < len; i++)
				in[i] = (uint8_t)(in[i] % 8);
		}
		if (ledger_unpack(&l, NULL, in, len, &used) != LB_OK)
			continue;
		accepted++;
		ck_assert_int_eq(ledger_pack(&l, true, out, sizeof(out), &olen), LB_OK);
		ck_assert_uint_eq(olen, used);
		ck_assert_mem_eq(out, in, used);
	}
	ck_assert_int_gt(accepted, 100);
}
END_TEST

/* A ledger kept packed and read as its pairs sums, adds and packs as the
 * ring does: random use with clock steps, amounts up to saturation, past
 * 2038, several geometries, with and without the geometry in the blob. */
START_TEST(test_sparse_same)
{
	unsigned seed = 5150;
	static const uint32_t geo[][2] = {{60, 1440000}, {1, 1}, {7, 1000}, {60, 1}};

	for (size_t g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
		struct ledger l;
		int64_t t = g == 3 ? T2040 : T0;
		int64_t span = (int64_t)geo[g][0] * geo[g][1];
		ck_assert_int_eq(ledger_init(&l, geo[g][0], geo[g][1]), LB_OK);
		for (int k = 0; k < 3000; k++) {
			bool with = k & 1;
			uint8_t a[LEDGER_PACKED_MAX], b[LEDGER_PACKED_MAX];
			size_t la, lb, used = 0;
			struct ledger_sparse sp, geom = {.n = l.n, .bucket_ms = l.bucket_ms};
			ck_assert_int_eq(ledger_pack(&l, with, a, sizeof(a), &la), LB_OK);
			ck_assert_int_eq(ledger_sparse_read(&sp, with ? NULL : &geom, a, la, &used),
					 LB_OK);
			ck_assert_uint_eq(used, la);
			t += rand_r(&seed) % 10 == 0 ? -(rand_r(&seed) % (span + 1))
						     : rand_r(&seed) % (span / 4 + 2);
			int64_t later = t + rand_r(&seed) % (2 * span + 2);
			ck_assert_uint_eq(ledger_sparse_sum(&sp, t), ledger_sum(&l, t));
			ck_assert_uint_eq(ledger_sparse_sum(&sp, later), ledger_sum(&l, later));
			uint32_t amount = rand_r(&seed) % 50 == 0 ? UINT32_MAX - 5
				: (uint32_t)rand_r(&seed) >> (rand_r(&seed) % 32);
			ck_assert_int_eq(ledger_add(&l, t, amount), LB_OK);
			ledger_sparse_add(&sp, t, amount);
			ck_assert_uint_eq(ledger_sparse_sum(&sp, t), ledger_sum(&l, t));
			ck_assert_int_eq(ledger_pack(&l, with, a, sizeof(a), &la), LB_OK);
			ck_assert_int_eq(ledger_sparse_write(&sp, with, b, sizeof(b), &lb), LB_OK);
			ck_assert_uint_eq(la, lb);
			ck_assert_mem_eq(a, b, la);
			ck_assert_int_eq(ledger_sparse_write(&sp, with, b, lb - 1, &lb),
					 LB_ERR_TOO_LARGE);
		}
	}
}
END_TEST

/* The pairs' reader refuses exactly what ledger_unpack() refuses. */
START_TEST(test_sparse_read_random)
{
	uint8_t in[64];
	unsigned seed = 778;
	int accepted = 0;

	for (int iter = 0; iter < 200000; iter++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(in)), u1 = 0, u2 = 0;
		struct ledger l;
		struct ledger_sparse sp;
		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)(rand_r(&seed) % 4 == 0 ? rand_r(&seed) % 8 : rand_r(&seed));
		if (len > 0 && iter % 2)
			in[0] = (uint8_t)(1 + rand_r(&seed) % LEDGER_MAX_BUCKETS);
		int e1 = ledger_unpack(&l, NULL, in, len, &u1);
		int e2 = ledger_sparse_read(&sp, NULL, in, len, &u2);
		ck_assert_int_eq(e1, e2);
		if (e1 == LB_OK) {
			accepted++;
			ck_assert_uint_eq(u1, u2);
			ck_assert_uint_eq(ledger_sparse_sum(&sp, l.epoch * (int64_t)l.bucket_ms),
					  ledger_sum(&l, l.epoch * (int64_t)l.bucket_ms));
		}
	}
	ck_assert_int_gt(accepted, 1000);
}
END_TEST

static Suite *ledger_suite(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_idle);

	tcase_add_test(tc, test_init_ranges);
	tcase_add_test(tc, test_retention_bounds);
	tcase_add_test(tc, test_sliding_sum);
	tcase_add_test(tc, test_clock_steps);
	tcase_add_test(tc, test_partial_expiry);
	tcase_add_test(tc, test_next_expiry);
	tcase_add_test(tc, test_saturation);
	tcase_add_test(tc, test_resample);
	tcase_add_test(tc, test_resample_clock_back);
	tcase_add_test(tc, test_encode_vector);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_past_2038);
	tcase_add_test(tc, test_epoch_above_2_32);
	tcase_add_test(tc, test_decode_rejects);
	tcase_add_test(tc, test_decode_random);
	tcase_add_test(tc, test_sum_against_model);
	tcase_add_test(tc, test_pack_vector);
	tcase_add_test(tc, test_pack_growth);
	tcase_add_test(tc, test_pack_window_expiry);
	tcase_add_test(tc, test_pack_random);
	tcase_add_test(tc, test_unpack_rejects);
	tcase_add_test(tc, test_unpack_random);
	tcase_add_test(tc, test_sparse_same);
	tcase_add_test(tc, test_sparse_read_random);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ledger_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
