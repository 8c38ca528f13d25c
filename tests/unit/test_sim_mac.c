/* SPDX-License-Identifier: MIT */
/*
 * test_sim_mac.c - the simulated device's MAC layer
 * (packet_forwarder/sim/sim_mac.c): LinkADRReq blocks applied all or
 * nothing with one LinkADRAns per command (TS001-1.0.4 §5.2), --ignore-adr,
 * DevStatusAns (§5.5), the sticky RXParamSetupAns / RXTimingSetupAns
 * (§5.4, §5.7), NewChannelReq (§5.6), the 15-byte FOpts limit, the link
 * model (--snr-spread, 2 dB per TX power step); US915/AU915: the channels a
 * device sends on, joins across the sub-bands, a gateway's sub-band, the
 * LinkADRReq channel masks (RP002-1.0.4 §2.5.2, §2.5.5, §2.8.2). Commands are built with
 * maccmd_build() as the bridge builds them.
 */
#include <check.h>
#include <string.h>

#include "base/lb_err.h"
#include "lorawan/maccmd.h"
#include "lorawan/region.h"
#include "mac/macstate.h"
#include "../../packet_forwarder/sim/sim_devices.h"
#include "../../packet_forwarder/sim/sim_mac.h"
#include "testutil.h"

#define EU868_RX2_HZ 869525000U

static const struct region *eu(void)
{
	const struct region *r = region_find("EU868");
	ck_assert_ptr_nonnull(r);
	return r;
}

struct dev {
	struct sim_mac_dev m;
	struct sim_rx_params rx;
	struct sim_mac_conf c;
};

static void dev_init(struct dev *d, uint8_t sf)
{
	memset(d, 0, sizeof(*d));
	d->c = (struct sim_mac_conf){.region = eu(), .adr = true, .battery = 127};
	d->rx = (struct sim_rx_params){.rx1_delay_s = 1, .rx2_dr = 0};
	ck_assert_int_eq(sim_mac_reset(&d->m, eu(), sf), LB_OK);
}

static size_t put(const struct maccmd *c, uint8_t *out, size_t at)
{
	size_t n = 0;
	ck_assert_int_eq(maccmd_build(c, out + at, 64 - at, &n), LB_OK);
	return at + n;
}

static size_t link_adr(uint8_t *out, size_t at, uint8_t dr, uint8_t pw, uint16_t mask,
		       uint8_t cntl)
{
	struct maccmd c = {.cid = MACCMD_LINK_ADR, .dir = LW_DIR_DOWN};
	c.u.link_adr_req = (struct maccmd_link_adr_req){.data_rate = dr, .tx_power = pw,
							.ch_mask = mask, .ch_mask_cntl = cntl,
							.nb_trans = 1};
	return put(&c, out, at);
}

/* The uplink's FOpts parsed. */
static size_t answers(struct dev *d, struct maccmd *out, size_t cap)
{
	uint8_t fopts[SIM_MAC_ANS_MAX];
	size_t n = 0;
	size_t len = sim_mac_fopts(&d->m, fopts);

	ck_assert_uint_le(len, SIM_MAC_ANS_MAX);
	ck_assert_int_eq(maccmd_parse(fopts, len, LW_DIR_UP, out, cap, &n), LB_OK);
	sim_mac_uplink_sent(&d->m);
	return n;
}

START_TEST(reset_starts_at_the_sf_on_default_channels)
{
	struct dev d;
	dev_init(&d, 12);
	ck_assert_uint_eq(d.m.dr, 0);
	ck_assert_uint_eq(sim_mac_sf(&d.m, eu()), 12);
	ck_assert_uint_eq(d.m.ch_mask[0], 0x0007);
	ck_assert_uint_eq(sim_mac_freq_hz(&d.m, eu(), 0, 0), 868100000);
	ck_assert_uint_eq(sim_mac_freq_hz(&d.m, eu(), 0, 1), 868300000);
	ck_assert_uint_eq(sim_mac_freq_hz(&d.m, eu(), 0, 2), 868500000);
	ck_assert_int_eq(sim_mac_reset(&d.m, eu(), 6), LB_ERR_NOT_FOUND);
}
END_TEST

START_TEST(link_adr_applied_and_answered)
{
	struct dev d;
	uint8_t buf[64];
	struct maccmd a[8];

	dev_init(&d, 12);
	size_t len = link_adr(buf, 0, 5, 2, 0x0007, 0);
	ck_assert_int_eq(sim_mac_on_downlink(&d.m, &d.c, &d.rx, buf, len, 12), LB_OK);
	ck_assert_uint_eq(d.m.dr, 5);
	ck_assert_uint_eq(d.m.tx_power, 2);
	ck_assert_uint_eq(sim_mac_sf(&d.m, eu()), 7);
	ck_assert_double_eq_tol(sim_mac_power_less_db(&d.m), 4.0, 1e-6);
	ck_assert_uint_eq(answers(&d, a, 8), 1);
	ck_assert_uint_eq(a[0].cid, MACCMD_LINK_ADR);
	ck_assert(a[0].u.link_adr_ans.power_ack && a[0].u.link_adr_ans.data_rate_ack &&
		  a[0].u.link_adr_ans.channel_mask_ack);
	ck_assert_uint_eq(answers(&d, a, 8), 0);   /* answered once */
	ck_assert_uint_eq(d.m.n.link_adr_applied, 1);
}
END_TEST

START_TEST(link_adr_refused_changes_nothing)
{
	struct dev d;
	uint8_t buf[64];
	struct maccmd a[8];

	dev_init(&d, 12);
	/* channel 5 is not defined: the mask is refused, and with it the DR */
	size_t len = link_adr(buf, 0, 5, 0, 0x0027, 0);
	sim_mac_on_downlink(&d.m, &d.c, &d.rx, buf, len, 12);
	ck_assert_uint_eq(d.m.dr, 0);
	ck_assert_uint_eq(answers(&d, a, 8), 1);
	ck_assert(!a[0].u.link_adr_ans.channel_mask_ack);
	ck_assert(a[0].u.link_adr_ans.data_rate_ack && a[0].u.link_adr_ans.power_ack);
	/* TX power 9 is beyond EU868's table (0..7) */
	len = link_adr(buf, 0, 3, 9, 0x0007, 0);
	sim_mac_on_downlink(&d.m, &d.c, &d.rx, buf, len, 12);
	ck_assert_uint_eq(d.m.dr, 0);
	ck_assert_uint_eq(answers(&d, a, 8), 1);
	ck_assert(!a[0].u.link_adr_ans.power_ack);
	ck_assert_uint_eq(d.m.n.link_adr_refused, 2);
}
END_TEST

START_TEST(link_adr_block_one_answer_each)
{
	struct dev d;
	uint8_t buf[64];
	struct maccmd a[8];

	dev_init(&d, 12);
	/* ChMaskCntl 6 (all defined on), then the last's DR/power: DR3, power 15 = keep */
	size_t len = link_adr(buf, 0, 1, 1, 0, 6);
	len = link_adr(buf, len, 3, SIM_MAC_KEEP, 0x0003, 0);
	sim_mac_on_downlink(&d.m, &d.c, &d.rx, buf, len, 12);
	ck_assert_uint_eq(d.m.dr, 3);
	ck_assert_uint_eq(d.m.tx_power, 0);
	ck_assert_uint_eq(d.m.ch_mask[0], 0x0003);
	ck_assert_uint_eq(answers(&d, a, 8), 2);
	ck_assert_uint_eq(d.m.n.link_adr_applied, 1);
}
END_TEST

/* DataRate and TXPower 15 keep the device's own (TS001-1.0.4 §5.2),
 * counted as link_adr_keep; to a device of 1.0.3 or earlier (keep_rfu) 15
 * is RFU: the block is refused (DataRateACK and PowerACK clear), nothing
 * changes. */
START_TEST(link_adr_keep_only_from_1_0_4)
{
	struct dev d;
	uint8_t buf[64];
	struct maccmd a[8];

	dev_init(&d, 9);                                 /* DR3 */
	d.m.tx_power = 2;
	size_t len = link_adr(buf, 0, SIM_MAC_KEEP, SIM_MAC_KEEP, 0x0003, 0);
	sim_mac_on_downlink(&d.m, &d.c, &d.rx, buf, len, 9);
	ck_assert_uint_eq(d.m.dr, 3);
	ck_assert_uint_eq(d.m.tx_power, 2);
	ck_assert_uint_eq(d.m.ch_mask[0], 0x0003);
	ck_assert_uint_eq(d.m.n.link_adr_applied, 1);
	ck_assert_uint_eq(d.m.n.link_adr_keep, 1);
	ck_assert_uint_eq(answers(&d, a, 8), 1);
	ck_assert(a[0].u.link_adr_ans.data_rate_ack && a[0].u.link_adr_ans.power_ack);

	dev_init(&d, 9);
	d.c.keep_rfu = true;
	len = link_adr(buf, 0, SIM_MAC_KEEP, SIM_MAC_KEEP, 0x0003, 0);
	sim_mac_on_downlink(&d.m, &d.c, &d.rx, buf, len, 9);
	ck_assert_uint_eq(d.m.dr, 3);
	ck_assert_uint_eq(d.m.ch_mask[0], 0x0007);
	ck_assert_uint_eq(d.m.n.link_adr_refused, 1);
	ck_assert_uint_eq(d.m.n.link_adr_keep, 0);
	ck_assert_uint_eq(answers(&d, a, 8), 1);
	ck_assert(!a[0].u.link_adr_ans.data_rate_ack && !a[0].u.link_adr_ans.power_ack);
	ck_assert(a[0].u.link_adr_ans.channel_mask_ack);
}
END_TEST

START_TEST(ignore_adr_drops_link_adr)
{
	struct dev d;
	uint8_t buf[64];
	struct maccmd a[8];

	dev_init(&d, 12);
	d.c.ignore_adr = true;
	size_t len = link_adr(buf, 0, 5, 2, 0x0007, 0);
	sim_mac_on_downlink(&d.m, &d.c, &d.rx, buf, len, 12);
	ck_assert_uint_eq(d.m.dr, 0);
	ck_assert_uint_eq(answers(&d, a, 8), 0);
	ck_assert_uint_eq(d.m.n.link_adr_ignored, 1);
}
END_TEST

START_TEST(dev_status_battery_and_margin)
{
	struct dev d;
	uint8_t buf[64];
	struct maccmd a[8];

	dev_init(&d, 12);
	sim_mac_set_snr(&d.m, -8.0f, 10.0f, 0, 1);        /* -8 dB */
	struct maccmd q = {.cid = MACCMD_DEV_STATUS, .dir = LW_DIR_DOWN};
	size_t len = put(&q, buf, 0);
	sim_mac_on_downlink(&d.m, &d.c, &d.rx, buf, len, 12);
	ck_assert_uint_eq(answers(&d, a, 8), 1);
	ck_assert_uint_eq(a[0].cid, MACCMD_DEV_STATUS);
	ck_assert_uint_eq(a[0].u.dev_status_ans.battery, 127);
	ck_assert_int_eq(a[0].u.dev_status_ans.margin, 12);   /* -8 - (-20) at SF12 */
	sim_mac_on_downlink(&d.m, &d.c, &d.rx, buf, len, 7);
	ck_assert_uint_eq(answers(&d, a, 8), 1);
	ck_assert_int_eq(a[0].u.dev_status_ans.margin, -1);   /* -8 - (-7.5), half away from 0 */
}
END_TEST

START_TEST(rx_param_sticky_until_a_downlink)
{
	struct dev d;
	uint8_t buf[64];
	struct maccmd a[8];

	dev_init(&d, 12);
	struct maccmd q = {.cid = MACCMD_RX_PARAM_SETUP, .dir = LW_DIR_DOWN};
	q.u.rx_param_setup_req = (struct maccmd_rx_param_setup_req){
		.rx1_dr_offset = 1, .rx2_data_rate = 3, .frequency = EU868_RX2_HZ};
	size_t len = put(&q, buf, 0);
	struct maccmd t = {.cid = MACCMD_RX_TIMING_SETUP, .dir = LW_DIR_DOWN};
	t.u.rx_timing_setup_req.delay = 2;
	len = put(&t, buf, len);
	sim_mac_on_downlink(&d.m, &d.c, &d.rx, buf, len, 12);
	ck_assert_uint_eq(d.rx.rx2_dr, 3);
	ck_assert_uint_eq(d.rx.rx2_freq_hz, EU868_RX2_HZ);
	ck_assert_uint_eq(d.rx.rx1_dr_offset, 1);
	ck_assert_uint_eq(d.rx.rx1_delay_s, 2);
	for (int i = 0; i < 3; i++) {          /* every uplink until a downlink */
		ck_assert_uint_eq(answers(&d, a, 8), 2);
		ck_assert_uint_eq(a[0].cid, MACCMD_RX_PARAM_SETUP);
		ck_assert(a[0].u.rx_param_setup_ans.channel_ack &&
			  a[0].u.rx_param_setup_ans.rx2_data_rate_ack &&
			  a[0].u.rx_param_setup_ans.rx1_dr_offset_ack);
		ck_assert_uint_eq(a[1].cid, MACCMD_RX_TIMING_SETUP);
	}
	sim_mac_on_downlink(&d.m, &d.c, &d.rx, NULL, 0, 12);
	ck_assert_uint_eq(answers(&d, a, 8), 0);
}
END_TEST

START_TEST(rx_param_out_of_band_refused)
{
	struct dev d;
	uint8_t buf[64];
	struct maccmd a[8];

	dev_init(&d, 12);
	struct maccmd q = {.cid = MACCMD_RX_PARAM_SETUP, .dir = LW_DIR_DOWN};
	q.u.rx_param_setup_req = (struct maccmd_rx_param_setup_req){
		.rx1_dr_offset = 0, .rx2_data_rate = 3, .frequency = 915000000};
	size_t len = put(&q, buf, 0);
	sim_mac_on_downlink(&d.m, &d.c, &d.rx, buf, len, 12);
	ck_assert_uint_eq(d.rx.rx2_dr, 0);
	ck_assert_uint_eq(d.rx.rx2_freq_hz, 0);
	ck_assert_uint_eq(answers(&d, a, 8), 1);
	ck_assert(!a[0].u.rx_param_setup_ans.channel_ack);
	ck_assert(a[0].u.rx_param_setup_ans.rx2_data_rate_ack);
}
END_TEST

START_TEST(new_channels_and_fopts_limit)
{
	struct dev d;
	uint8_t buf[64];
	struct maccmd a[16];
	size_t len = 0;

	dev_init(&d, 12);
	for (uint8_t ch = 3; ch < 8; ch++) {
		struct maccmd q = {.cid = MACCMD_NEW_CHANNEL, .dir = LW_DIR_DOWN};
		q.u.new_channel_req = (struct maccmd_new_channel_req){
			.ch_index = ch, .frequency = 867100000u + 200000u * (ch - 3u), .max_dr = 5};
		len = put(&q, buf, len);
	}
	struct maccmd s = {.cid = MACCMD_DEV_STATUS, .dir = LW_DIR_DOWN};
	len = put(&s, buf, len);
	sim_mac_on_downlink(&d.m, &d.c, &d.rx, buf, len, 12);
	ck_assert_uint_eq(d.m.ch_mask[0], 0x00ff);
	ck_assert_uint_eq(sim_mac_freq_hz(&d.m, eu(), 0, 3), 867100000);
	/* 5 x 2 + 3 = 13 bytes fit one FOpts */
	ck_assert_uint_eq(answers(&d, a, 16), 6);
	for (int i = 0; i < 5; i++)
		ck_assert(a[i].u.new_channel_ans.channel_frequency_ok &&
			  a[i].u.new_channel_ans.data_rate_range_ok);
	/* a default channel cannot be changed */
	struct maccmd q = {.cid = MACCMD_NEW_CHANNEL, .dir = LW_DIR_DOWN};
	q.u.new_channel_req = (struct maccmd_new_channel_req){.ch_index = 1,
							      .frequency = 867100000, .max_dr = 5};
	len = put(&q, buf, 0);
	/* and 8 DevStatusReq make 24 bytes of answers: 15 now, the rest next */
	for (int i = 0; i < 8; i++)
		len = put(&s, buf, len);
	sim_mac_on_downlink(&d.m, &d.c, &d.rx, buf, len, 12);
	ck_assert_uint_eq(d.m.chan_hz[1], 868300000);
	size_t first = answers(&d, a, 16);
	ck_assert(!a[0].u.new_channel_ans.channel_frequency_ok);
	ck_assert_uint_eq(first, 5);                          /* 2 + 4 x 3 = 14 bytes */
	ck_assert_uint_eq(answers(&d, a, 16), 4);
	ck_assert_uint_eq(answers(&d, a, 16), 0);
}
END_TEST

START_TEST(snr_spread_per_device)
{
	struct sim_mac_dev m;

	memset(&m, 0, sizeof(m));
	sim_mac_set_snr(&m, -8.0f, 10.0f, 0, 10);
	ck_assert_double_eq_tol(m.snr_db, -8.0, 1e-6);
	sim_mac_set_snr(&m, -8.0f, 10.0f, 9, 10);
	ck_assert_double_eq_tol(m.snr_db, 10.0, 1e-6);
	sim_mac_set_snr(&m, -8.0f, 10.0f, 3, 10);
	ck_assert_double_eq_tol(m.snr_db, -2.0, 1e-6);
	ck_assert_int_eq(sim_mac_reset(&m, eu(), 7), LB_OK);   /* the SNR stays */
	ck_assert(m.has_snr);
	ck_assert_double_eq_tol(m.snr_db, -2.0, 1e-6);
	ck_assert_uint_eq(m.dr, 5);
}
END_TEST

/* US915: a join-accept's CFList type 1 (RP002-1.0.4 §2.3.2) replaces the
 * 72 channels with its mask (ChMask0..4 = ChMaskCntl 0..4; ChMask4's RFU
 * bits 8..15 dropped); a mask with nothing on is refused; a type-0 CFList
 * and EU868 change nothing. */
START_TEST(cflist_chmask_applied)
{
	const struct region *us = region_find("US915");
	struct sim_mac_dev m;
	uint8_t cfl[REGION_CFLIST_LEN] = {0x00, 0xff, 0, 0, 0, 0, 0, 0, 0x02, 0xff,
					  0, 0, 0, 0, 0, 0x01};

	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(sim_mac_reset(&m, us, 7), LB_OK);
	ck_assert_uint_eq(m.ch_mask[0], 0xffff);
	ck_assert_uint_eq(m.ch_mask[4], 0x00ff);
	ck_assert_int_eq(sim_mac_apply_cflist(&m, us, cfl), LB_OK);
	ck_assert_uint_eq(m.ch_mask[0], 0xff00);
	ck_assert_uint_eq(m.ch_mask[1], 0);
	ck_assert_uint_eq(m.ch_mask[3], 0);
	ck_assert_uint_eq(m.ch_mask[4], 0x0002);
	uint8_t none[REGION_CFLIST_LEN] = {[15] = 0x01};
	ck_assert_int_eq(sim_mac_apply_cflist(&m, us, none), LB_ERR_RANGE);
	ck_assert_uint_eq(m.ch_mask[0], 0xff00);
	ck_assert_int_eq(sim_mac_reset(&m, us, 7), LB_OK);
	cfl[15] = 0x00;
	ck_assert_int_eq(sim_mac_apply_cflist(&m, us, cfl), LB_OK);
	ck_assert_uint_eq(m.ch_mask[0], 0xffff);
	cfl[15] = 0x01;
	ck_assert_int_eq(sim_mac_reset(&m, eu(), 7), LB_OK);
	ck_assert_int_eq(sim_mac_apply_cflist(&m, eu(), cfl), LB_OK);
	ck_assert_uint_eq(m.ch_mask[0], 0x0007);
}
END_TEST

/* A US915 device at first (all 72 channels on) sends on the channels that
 * carry its DR in turn (RP002-1.0.4 §2.5.2), as LoRaMac-node does: at DR3
 * (SF7) 0..63 (902.3 + 0.2 n MHz), never a 500 kHz one; after the sub-band
 * 2 mask only 8..15. Set to DR4 (SF8BW500) by LinkADRReq, only 64..71
 * (903.0 + 1.6 (n - 64) MHz), of the mask 65. AU915's 500 kHz DR is DR6. */
START_TEST(grid_uplink_channels)
{
	const struct region *us = region_find("US915"), *au = region_find("AU915");
	struct sim_mac_dev m;
	struct sim_mac_tx tx;
	uint8_t seen[72] = {0};
	uint8_t cfl[REGION_CFLIST_LEN] = {0x00, 0xff, 0, 0, 0, 0, 0, 0, 0x02, 0,
					  0, 0, 0, 0, 0, 0x01};

	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(sim_mac_reset(&m, us, 7), LB_OK);
	for (uint32_t f = 0; f < 128; f++) {
		ck_assert_int_eq(sim_mac_grid_tx(&m, us, 0, f, &tx), LB_OK);
		ck_assert_uint_eq(tx.ch, f % 64);
		seen[tx.ch]++;
	}
	for (unsigned ch = 0; ch < 72; ch++)
		ck_assert_uint_eq(seen[ch], ch < 64 ? 2 : 0);
	ck_assert_int_eq(sim_mac_grid_tx(&m, us, 0, 9, &tx), LB_OK);
	ck_assert_uint_eq(tx.freq_hz, 904100000);
	ck_assert_uint_eq(tx.dr, 3);
	ck_assert_uint_eq(tx.sf, 7);
	ck_assert_uint_eq(tx.bw_khz, 125);
	ck_assert_int_eq(sim_mac_apply_cflist(&m, us, cfl), LB_OK);
	for (uint32_t f = 0; f < 16; f++) {
		ck_assert_int_eq(sim_mac_grid_tx(&m, us, 3, f, &tx), LB_OK);
		ck_assert_msg(tx.ch >= 8 && tx.ch <= 15, "channel %u", tx.ch);
		ck_assert(sim_mac_sub_band_has(2, tx.ch));
	}
	m.dr = 4;                                    /* as a LinkADRReq leaves it */
	for (uint32_t f = 0; f < 4; f++) {
		ck_assert_int_eq(sim_mac_grid_tx(&m, us, 3, f, &tx), LB_OK);
		ck_assert_uint_eq(tx.ch, 65);
		ck_assert_uint_eq(tx.freq_hz, 904600000);
		ck_assert_uint_eq(tx.dr, 4);
		ck_assert_uint_eq(tx.sf, 8);
		ck_assert_uint_eq(tx.bw_khz, 500);
	}
	ck_assert_int_eq(sim_mac_reset(&m, au, 9), LB_OK);
	ck_assert_int_eq(sim_mac_grid_tx(&m, au, 0, 8, &tx), LB_OK);
	ck_assert_uint_eq(tx.freq_hz, 916800000);
	ck_assert_uint_eq(tx.dr, 3);
	m.dr = 6;
	ck_assert_int_eq(sim_mac_grid_tx(&m, au, 0, 0, &tx), LB_OK);
	ck_assert_uint_eq(tx.freq_hz, 915900000);
	ck_assert_uint_eq(tx.dr, 6);
	ck_assert_int_eq(sim_mac_grid_tx(&m, eu(), 0, 0, &tx), LB_ERR_INVAL);
}
END_TEST

/* Sub-band k of an 8-channel gateway: 8(k-1)..8(k-1)+7 and 63+k. */
START_TEST(gateway_sub_band)
{
	ck_assert(sim_mac_sub_band_has(2, 8));
	ck_assert(sim_mac_sub_band_has(2, 15));
	ck_assert(sim_mac_sub_band_has(2, 65));
	ck_assert(!sim_mac_sub_band_has(2, 7));
	ck_assert(!sim_mac_sub_band_has(2, 16));
	ck_assert(!sim_mac_sub_band_has(2, 64));
	ck_assert(sim_mac_sub_band_has(1, 0));
	ck_assert(sim_mac_sub_band_has(8, 63));
	ck_assert(sim_mac_sub_band_has(8, 71));
	ck_assert(!sim_mac_sub_band_has(0, 0));
	ck_assert(!sim_mac_sub_band_has(9, 71));
}
END_TEST

/* Joins try the sub-bands in turn: attempts 0..7 are on sub-bands 1..8 at
 * DR0, and within 9 rounds every channel of a sub-band, the 500 kHz one at
 * DR4 (TR007-1.1 §4.2); AU915 at DR2. */
START_TEST(grid_join_channels)
{
	const struct region *us = region_find("US915");
	struct sim_mac_dev m;
	struct sim_mac_tx tx;
	unsigned heard = 0;

	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(sim_mac_reset(&m, us, 7), LB_OK);
	for (uint32_t a = 0; a < 8; a++) {
		ck_assert_int_eq(sim_mac_grid_join_tx(&m, us, 0, a, &tx), LB_OK);
		ck_assert_uint_eq(tx.ch, a * 8);
		ck_assert_uint_eq(tx.dr, 0);                 /* SF10BW125, TR007-1.1 §4.2 */
	}
	for (uint32_t a = 1; a < 72; a += 8) {
		ck_assert_int_eq(sim_mac_grid_join_tx(&m, us, 0, a, &tx), LB_OK);
		ck_assert(sim_mac_sub_band_has(2, tx.ch));
		heard |= 1u << (tx.ch == 65 ? 8 : tx.ch - 8);
		if (tx.ch == 65)
			ck_assert_uint_eq(tx.dr, 4);
	}
	ck_assert_uint_eq(heard, 0x1ff);
	ck_assert_int_eq(sim_mac_grid_join_tx(&m, region_find("AU915"), 0, 1, &tx), LB_OK);
	ck_assert_uint_eq(tx.dr, 2);
	ck_assert_uint_eq(tx.freq_hz, 916800000);
}
END_TEST

/* LinkADRReq channel masks in US915 (RP002-1.0.4 §2.5.5): the bridge's
 * ChMaskCntl 7 + ChMaskCntl 0 block; ChMaskCntl 6 (all 125 kHz on), 5
 * (sub-bands), 4 (64..71), and a block leaving nothing on is refused. */
START_TEST(grid_link_adr_masks)
{
	const struct region *us = region_find("US915");
	struct dev d;
	struct maccmd a[4];
	uint8_t cmds[64];
	size_t len;

	memset(&d, 0, sizeof(d));
	d.c = (struct sim_mac_conf){.region = us, .battery = 1};
	d.rx = (struct sim_rx_params){.rx1_delay_s = 1, .rx2_dr = 8};
	ck_assert_int_eq(sim_mac_reset(&d.m, us, 7), LB_OK);
	len = link_adr(cmds, 0, SIM_MAC_KEEP, SIM_MAC_KEEP, 0x0002, 7);
	len = link_adr(cmds, len, SIM_MAC_KEEP, SIM_MAC_KEEP, 0xff00, 0);
	ck_assert_int_eq(sim_mac_on_downlink(&d.m, &d.c, &d.rx, cmds, len, 7), LB_OK);
	ck_assert_uint_eq(d.m.ch_mask[0], 0xff00);
	ck_assert_uint_eq(d.m.ch_mask[1] | d.m.ch_mask[2] | d.m.ch_mask[3], 0);
	ck_assert_uint_eq(d.m.ch_mask[4], 0x0002);
	ck_assert_uint_eq(d.m.dr, 3);
	ck_assert_uint_eq(answers(&d, a, 4), 2);
	ck_assert(a[0].u.link_adr_ans.channel_mask_ack && a[1].u.link_adr_ans.channel_mask_ack);

	len = link_adr(cmds, 0, SIM_MAC_KEEP, SIM_MAC_KEEP, 0x0000, 6);
	ck_assert_int_eq(sim_mac_on_downlink(&d.m, &d.c, &d.rx, cmds, len, 7), LB_OK);
	ck_assert_uint_eq(d.m.ch_mask[0] & d.m.ch_mask[1] & d.m.ch_mask[2] & d.m.ch_mask[3],
			  0xffff);
	ck_assert_uint_eq(d.m.ch_mask[4], 0);
	(void)answers(&d, a, 4);

	len = link_adr(cmds, 0, SIM_MAC_KEEP, SIM_MAC_KEEP, 0x0081, 5);   /* sub-bands 1, 8 */
	ck_assert_int_eq(sim_mac_on_downlink(&d.m, &d.c, &d.rx, cmds, len, 7), LB_OK);
	ck_assert_uint_eq(d.m.ch_mask[0], 0x00ff);
	ck_assert_uint_eq(d.m.ch_mask[1] | d.m.ch_mask[2], 0);
	ck_assert_uint_eq(d.m.ch_mask[3], 0xff00);
	ck_assert_uint_eq(d.m.ch_mask[4], 0x0081);
	(void)answers(&d, a, 4);

	len = link_adr(cmds, 0, SIM_MAC_KEEP, SIM_MAC_KEEP, 0x0000, 7);
	ck_assert_int_eq(sim_mac_on_downlink(&d.m, &d.c, &d.rx, cmds, len, 7), LB_OK);
	ck_assert_uint_eq(d.m.ch_mask[4], 0x0081);   /* refused: nothing on */
	ck_assert_uint_eq(answers(&d, a, 4), 1);
	ck_assert(!a[0].u.link_adr_ans.channel_mask_ack);

	/* DR3 (125 kHz) with only channel 65 on: no channel carries it */
	len = link_adr(cmds, 0, 3, SIM_MAC_KEEP, 0x0002, 7);
	ck_assert_int_eq(sim_mac_on_downlink(&d.m, &d.c, &d.rx, cmds, len, 7), LB_OK);
	ck_assert_uint_eq(answers(&d, a, 4), 1);
	ck_assert(a[0].u.link_adr_ans.channel_mask_ack);
	ck_assert(!a[0].u.link_adr_ans.data_rate_ack);
	ck_assert_uint_eq(d.m.ch_mask[4], 0x0081);
	/* DR4 (500 kHz) with it: applied; the device then sends on 65 only */
	len = link_adr(cmds, 0, 4, SIM_MAC_KEEP, 0x0002, 7);
	ck_assert_int_eq(sim_mac_on_downlink(&d.m, &d.c, &d.rx, cmds, len, 7), LB_OK);
	ck_assert_uint_eq(d.m.dr, 4);
	struct sim_mac_tx tx;
	ck_assert_int_eq(sim_mac_grid_tx(&d.m, us, 1, 5, &tx), LB_OK);
	ck_assert_uint_eq(tx.ch, 65);
	ck_assert_uint_eq(tx.bw_khz, 500);
}
END_TEST

/* One LinkADRReq to dev; its DataRateACK. */
static bool dr_acked(struct dev *d, uint8_t dr, uint16_t mask, uint8_t cntl)
{
	uint8_t cmds[64];
	struct maccmd a[4];
	size_t len = link_adr(cmds, 0, dr, SIM_MAC_KEEP, mask, cntl);

	ck_assert_int_eq(sim_mac_on_downlink(&d->m, &d->c, &d->rx, cmds, len, 10), LB_OK);
	ck_assert_uint_eq(answers(d, a, 4), 1);
	ck_assert(a[0].u.link_adr_ans.channel_mask_ack);
	return a[0].u.link_adr_ans.data_rate_ack;
}

static void dwell_dev(struct dev *d, const struct region *r)
{
	memset(d, 0, sizeof(*d));
	d->c = (struct sim_mac_conf){.region = r, .battery = 1};
	d->rx = (struct sim_rx_params){.rx1_delay_s = 1, .rx2_dr = 2};
	ck_assert_int_eq(sim_mac_reset(&d->m, r, 10), LB_OK);
	ck_assert_uint_eq(d->m.dr, 2);
}

/* A device with UplinkDwellTime = 1 (AS923; AU915 from LoRaWAN 1.0.3) refuses
 * DR0/DR1, "N/A" in its dwell column (RP002-1.0.4 §2.10.6, §2.8.6): DataRateACK
 * = 0 and nothing changes (TS001-1.0.4 §5.2). Without the dwell limit it
 * takes them. */
START_TEST(dwell_device_refuses_dr0_dr1)
{
	struct region as, as_plain, au, au_plain;
	struct dev d;

	ck_assert_int_eq(region_configure(region_find("AS923-1"), true, false, &as), LB_OK);
	ck_assert_int_eq(region_configure(region_find("AS923-1"), false, false, &as_plain),
			 LB_OK);
	ck_assert_int_eq(region_configure(region_find("AU915"), true, false, &au), LB_OK);
	ck_assert_int_eq(region_configure(region_find("AU915"), false, false, &au_plain),
			 LB_OK);
	dwell_dev(&d, &as);
	for (uint8_t dr = 0; dr <= 1; dr++) {
		ck_assert_msg(!dr_acked(&d, dr, 0x0003, 0), "AS923 dwell DR%u acked", dr);
		ck_assert_uint_eq(d.m.dr, 2);
	}
	ck_assert(dr_acked(&d, 3, 0x0003, 0));
	ck_assert_uint_eq(d.m.dr, 3);
	dwell_dev(&d, &as_plain);
	ck_assert(dr_acked(&d, 0, 0x0003, 0));
	ck_assert_uint_eq(d.m.dr, 0);

	dwell_dev(&d, &au);
	for (uint8_t dr = 0; dr <= 1; dr++) {
		ck_assert_msg(!dr_acked(&d, dr, 0x0000, 6), "AU915 dwell DR%u acked", dr);
		ck_assert_uint_eq(d.m.dr, 2);
	}
	ck_assert(dr_acked(&d, 3, 0x0000, 6));
	dwell_dev(&d, &au_plain);
	ck_assert(dr_acked(&d, 1, 0x0000, 6));
	ck_assert_uint_eq(d.m.dr, 1);
}
END_TEST

static Suite *sim_mac_suite(void)
{
	Suite *s = suite_create("sim_mac");
	TCase *tc = tcase_create("mac");

	tcase_add_test(tc, reset_starts_at_the_sf_on_default_channels);
	tcase_add_test(tc, link_adr_applied_and_answered);
	tcase_add_test(tc, link_adr_refused_changes_nothing);
	tcase_add_test(tc, link_adr_block_one_answer_each);
	tcase_add_test(tc, link_adr_keep_only_from_1_0_4);
	tcase_add_test(tc, ignore_adr_drops_link_adr);
	tcase_add_test(tc, dev_status_battery_and_margin);
	tcase_add_test(tc, rx_param_sticky_until_a_downlink);
	tcase_add_test(tc, rx_param_out_of_band_refused);
	tcase_add_test(tc, new_channels_and_fopts_limit);
	tcase_add_test(tc, snr_spread_per_device);
	tcase_add_test(tc, cflist_chmask_applied);
	tcase_add_test(tc, grid_uplink_channels);
	tcase_add_test(tc, gateway_sub_band);
	tcase_add_test(tc, grid_join_channels);
	tcase_add_test(tc, grid_link_adr_masks);
	tcase_add_test(tc, dwell_device_refuses_dr0_dr1);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(sim_mac_suite());
}
