/* SPDX-License-Identifier: MIT */
/*
 * test_macstate.c - the region plan's channel mask and the LinkADRReq
 * block (TS001-1.0.4 §5.2; RP002-1.0.4 "EU863-870 LinkAdrReq command",
 * "US902-928 LinkAdrReq command"), byte by byte.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "lorawan/region.h"
#include "mac/macstate.h"
#include "testutil.h"

/* EU868: channels 0..2 and the extra ones the device knows (3..7). */
START_TEST(test_eu868)
{
	const struct region *r = region_find("EU868");
	uint16_t m[MACSTATE_CHMASK_WORDS];
	uint8_t out[16];
	size_t len;

	ck_assert_int_eq(macstate_plan_mask(r, 2, 0, m), LB_OK);
	ck_assert_uint_eq(m[0], 0x0007);
	ck_assert_int_eq(macstate_plan_mask(r, 2, 0xf8, m), LB_OK);
	ck_assert_uint_eq(m[0], 0x00ff);
	ck_assert_uint_eq(m[4], 0);
	/* 03 | DR5 TXPower2 = 0x52 | ChMask 00ff LE | ChMaskCntl 0, NbTrans 1 = 0x01 */
	ck_assert_int_eq(macstate_link_adr_req(r, 5, 2, 1, m, out, sizeof(out), &len), LB_OK);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(out, "\x03\x52\xff\x00\x01", 5);
}
END_TEST

/* AS923 has two default channels (RP002-1.0.4 §2.10.2) and its CFList
 * defines channels 2..6 (§2.10.4): the mask never enables channel 2 the
 * device does not have, which would make it refuse the whole LinkADRReq
 * (TS001-1.0.4 §5.2). EU868, KR920 and IN865 have three. */
START_TEST(test_default_channels_per_region)
{
	static const struct {
		const char *name;
		uint8_t first;
		uint16_t bare, all;
	} want[] = {
		{"AS923-1", 2, 0x0003, 0x007f}, {"AS923-2", 2, 0x0003, 0x007f},
		{"AS923-3", 2, 0x0003, 0x007f}, {"AS923-4", 2, 0x0003, 0x007f},
		{"EU868", 3, 0x0007, 0x00ff},   {"KR920", 3, 0x0007, 0x00ff},
		{"IN865", 3, 0x0007, 0x00ff},
	};
	uint16_t m[MACSTATE_CHMASK_WORDS];

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct region *r = region_find(want[i].name);
		ck_assert_ptr_nonnull(r);
		uint8_t first = macstate_first_extra_channel(r);
		ck_assert_uint_eq(first, want[i].first);
		ck_assert_int_eq(macstate_plan_mask(r, 2, 0, m), LB_OK);
		ck_assert_uint_eq(m[0], want[i].bare);
		/* Five extra channels, numbered from the first one. */
		ck_assert_int_eq(macstate_plan_mask(r, 2, (uint8_t)(0x1fu << first), m), LB_OK);
		ck_assert_uint_eq(m[0], want[i].all);
		ck_assert_uint_eq(m[4], 0);
	}
}
END_TEST

/* US915 sub-band 2: channels 8..15 and 65. ChMaskCntl 7 (125 kHz off,
 * 64..71 = 0x0002), then ChMaskCntl 0 with 0xff00. */
START_TEST(test_us915)
{
	const struct region *r = region_find("US915");
	uint16_t m[MACSTATE_CHMASK_WORDS];
	uint8_t out[16];
	size_t len;

	ck_assert_int_eq(macstate_plan_mask(r, 2, 0, m), LB_OK);
	ck_assert_uint_eq(m[0], 0xff00);
	ck_assert_uint_eq(m[1], 0);
	ck_assert_uint_eq(m[4], 0x0002);
	ck_assert_int_eq(macstate_link_adr_req(r, 3, 0, 1, m, out, sizeof(out), &len), LB_OK);
	ck_assert_uint_eq(len, 10);
	ck_assert_mem_eq(out, "\x03\x30\x02\x00\x71" "\x03\x30\x00\xff\x01", 10);
	/* Sub-band 8: channels 56..63 (block 3, high byte) and 71. */
	ck_assert_int_eq(macstate_plan_mask(r, 8, 0, m), LB_OK);
	ck_assert_uint_eq(m[3], 0xff00);
	ck_assert_uint_eq(m[4], 0x0080);
	ck_assert_int_eq(macstate_plan_mask(r, 9, 0, m), LB_ERR_RANGE);
	/* Not enough room: nothing written. */
	ck_assert_int_eq(macstate_plan_mask(r, 1, 0, m), LB_OK);
	ck_assert_int_ne(macstate_link_adr_req(r, 3, 0, 1, m, out, 7, &len), LB_OK);
	ck_assert_uint_eq(len, 0);
}
END_TEST

/* One per heard device: narrowed to the protocol's ranges. */
START_TEST(test_compact)
{
	ck_assert_uint_eq(sizeof(struct macstate), MACSTATE_SIZE);
	ck_assert_uint_le(sizeof(struct macstate), 120);    /* a 128-byte malloc chunk */
	ck_assert_uint_eq(macstate_unix_s(-5), 0);
	ck_assert_uint_eq(macstate_unix_s(INT64_C(1780000000)), 1780000000u);
	ck_assert_uint_eq(macstate_unix_s(INT64_C(1) << 40), UINT32_MAX);
	ck_assert_uint_eq(macstate_joined_s(0), 0);            /* never joined */
	ck_assert_uint_eq(macstate_joined_s(-5), 1);           /* joined, clock wrong */
	ck_assert_uint_eq(macstate_joined_s(INT64_C(1780000000)), 1780000000u);
	ck_assert_uint_eq(macstate_joined_s(INT64_C(1) << 40), UINT32_MAX);
	ck_assert_int_eq(macstate_join_stamp(0), 1);             /* a join is never "never" */
	ck_assert_int_eq(macstate_join_stamp(-7), 1);
	ck_assert_int_eq(macstate_join_stamp(INT64_C(1780000000)), INT64_C(1780000000));
	/* rx_done keeps the stored rows' layout there: channel i at bit 8 + i. */
	uint8_t all = (uint8_t)(MACSTATE_RX_PARAM_DONE | MACSTATE_RX_TIMING_DONE);
	for (int ch = 3; ch < 8; ch++)
		all |= (uint8_t)MACSTATE_CHANNEL_DONE(ch);
	ck_assert_uint_eq(macstate_rx_done_to_row(all), 0xf803u);
	ck_assert_uint_eq(macstate_rx_done_from_row(0xf803u), all);
	/* AS923's first extra channel is 2 (RP002-1.0.4 §2.10.2). */
	ck_assert_uint_eq(macstate_rx_done_to_row((uint8_t)MACSTATE_CHANNEL_DONE(2)), 0x0400u);
	ck_assert_uint_eq(macstate_rx_done_from_row(0x0400u), MACSTATE_CHANNEL_DONE(2));
	ck_assert_uint_eq(macstate_rx_done_to_row((uint8_t)MACSTATE_CHANNEL_DONE(5)), 0x2000u);
	ck_assert_uint_eq(macstate_rx_done_from_row(0x2001u),
			  MACSTATE_CHANNEL_DONE(5) | MACSTATE_RX_PARAM_DONE);
	ck_assert_uint_eq(macstate_rx_done_from_row(0xffff0304u), 0);   /* no such bits */
	struct macstate s;
	memset(&s, 0, sizeof(s));
	s.dr = 15;
	s.tx_power = 15;
	s.nb_trans = 15;
	s.margin = -32;
	ck_assert_uint_eq(s.dr + s.tx_power + s.nb_trans, 45);
	ck_assert_int_eq(s.margin, -32);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("macstate");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_eu868);
	tcase_add_test(tc, test_default_channels_per_region);
	tcase_add_test(tc, test_us915);
	tcase_add_test(tc, test_compact);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
