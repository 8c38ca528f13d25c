/* SPDX-License-Identifier: MIT */
/* test_maccmd.c - MAC command codec (TS001-1.0.4 §5). V2: the FOpts of
 * chirpstack/chirpstack lrwn/src/phy_payload.rs "LoRaWAN 1.0.x confirmed
 * uplink". */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/lb_err.h"
#include "lorawan/maccmd.h"

#define JFLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Every uplink command once, in CID order (payloads chosen so that every
 * bit field is distinguishable from its neighbours). */
static const uint8_t up_all[] = {
	0x02,                   /* LinkCheckReq */
	0x03, 0x05,             /* LinkADRAns power+chmask ack, DR nack */
	0x04,                   /* DutyCycleAns */
	0x05, 0x06,             /* RXParamSetupAns */
	0x06, 0x73, 0x07,       /* DevStatusAns battery 115 margin 7 (V2) */
	0x07, 0x03,             /* NewChannelAns */
	0x08,                   /* RXTimingSetupAns */
	0x09,                   /* TXParamSetupAns */
	0x0a, 0x02,             /* DlChannelAns */
	0x0d,                   /* DeviceTimeReq */
	0x10, 0x05,             /* PingSlotInfoReq periodicity 5 */
	0x11, 0x01,             /* PingSlotChannelAns */
	0x12,                   /* BeaconTimingReq */
	0x13, 0x01,             /* BeaconFreqAns */
};

static const char up_all_json[] =
	"[{\"cid\":\"LinkCheckReq\"},"
	"{\"cid\":\"LinkADRAns\",\"powerAck\":true,\"dataRateAck\":false,\"channelMaskAck\":true},"
	"{\"cid\":\"DutyCycleAns\"},"
	"{\"cid\":\"RXParamSetupAns\",\"rx1DrOffsetAck\":true,\"rx2DataRateAck\":true,\"channelAck\":false},"
	"{\"cid\":\"DevStatusAns\",\"battery\":115,\"margin\":7},"
	"{\"cid\":\"NewChannelAns\",\"dataRateRangeOk\":true,\"channelFrequencyOk\":true},"
	"{\"cid\":\"RXTimingSetupAns\"},"
	"{\"cid\":\"TXParamSetupAns\"},"
	"{\"cid\":\"DlChannelAns\",\"uplinkFrequencyExists\":true,\"channelFrequencyOk\":false},"
	"{\"cid\":\"DeviceTimeReq\"},"
	"{\"cid\":\"PingSlotInfoReq\",\"periodicity\":5},"
	"{\"cid\":\"PingSlotChannelAns\",\"dataRateOk\":false,\"channelFrequencyOk\":true},"
	"{\"cid\":\"BeaconTimingReq\"},"
	"{\"cid\":\"BeaconFreqAns\",\"beaconFrequencyOk\":true}]";

/* Every downlink command once. Frequencies: d2ad84 = 869.525 MHz,
 * 184f84 = 867.1 MHz, 287684 = 868.1 MHz, 2b6484 = 867.6395 MHz. */
static const uint8_t down_all[] = {
	0x02, 0x14, 0x03,                   /* LinkCheckAns margin 20 gwCnt 3 */
	0x03, 0x53, 0xff, 0x00, 0x61,       /* LinkADRReq DR5 TXP3 mask 00ff cntl 6 nb 1 */
	0x04, 0x0a,                         /* DutyCycleReq 1/1024 */
	0x05, 0x12, 0xd2, 0xad, 0x84,       /* RXParamSetupReq off 1 DR2 869.525 */
	0x06,                               /* DevStatusReq */
	0x07, 0x03, 0x18, 0x4f, 0x84, 0x50, /* NewChannelReq ch3 867.1 DR0..5 */
	0x08, 0x05,                         /* RXTimingSetupReq 5 s */
	0x09, 0x25,                         /* TXParamSetupReq down dwell, EIRP idx 5 */
	0x0a, 0x00, 0x28, 0x76, 0x84,       /* DlChannelReq ch0 868.1 */
	0x0d, 0xa1, 0xed, 0x6d, 0x53, 0x51, /* DeviceTimeAns 1399713185 s + 81/256 */
	0x10,                               /* PingSlotInfoAns */
	0x11, 0xd2, 0xad, 0x84, 0x03,       /* PingSlotChannelReq 869.525 DR3 */
	0x12, 0xe8, 0x03, 0x05,             /* BeaconTimingAns delay 1000 ch 5 */
	0x13, 0x2b, 0x64, 0x84,             /* BeaconFreqReq 867.6395 */
};

static const char down_all_json[] =
	"[{\"cid\":\"LinkCheckAns\",\"margin\":20,\"gwCnt\":3},"
	"{\"cid\":\"LinkADRReq\",\"dataRate\":5,\"txPower\":3,\"chMask\":255,\"chMaskCntl\":6,\"nbTrans\":1},"
	"{\"cid\":\"DutyCycleReq\",\"maxDutyCycle\":10},"
	"{\"cid\":\"RXParamSetupReq\",\"rx1DrOffset\":1,\"rx2DataRate\":2,\"frequency\":869525000},"
	"{\"cid\":\"DevStatusReq\"},"
	"{\"cid\":\"NewChannelReq\",\"chIndex\":3,\"frequency\":867100000,\"minDr\":0,\"maxDr\":5},"
	"{\"cid\":\"RXTimingSetupReq\",\"delay\":5},"
	"{\"cid\":\"TXParamSetupReq\",\"downlinkDwellTime\":true,\"uplinkDwellTime\":false,\"maxEirp\":5},"
	"{\"cid\":\"DlChannelReq\",\"chIndex\":0,\"frequency\":868100000},"
	"{\"cid\":\"DeviceTimeAns\",\"seconds\":1399713185,\"fraction\":81},"
	"{\"cid\":\"PingSlotInfoAns\"},"
	"{\"cid\":\"PingSlotChannelReq\",\"frequency\":869525000,\"dataRate\":3},"
	"{\"cid\":\"BeaconTimingAns\",\"delay\":1000,\"channel\":5},"
	"{\"cid\":\"BeaconFreqReq\",\"frequency\":867639500}]";

/* JSON of maccmd_json(buf) as text; checks the return code. */
static void check_json(const uint8_t *buf, size_t len, enum lw_dir dir, int want_rc,
		       const char *want)
{
	struct json_object *arr = NULL;

	ck_assert_int_eq(maccmd_json(buf, len, dir, &arr), want_rc);
	ck_assert_ptr_nonnull(arr);
	ck_assert_str_eq(json_object_to_json_string_ext(arr, JFLAGS), want);
	json_object_put(arr);
}

START_TEST(test_up_all_json)
{
	check_json(up_all, sizeof(up_all), LW_DIR_UP, LB_OK, up_all_json);
}
END_TEST

START_TEST(test_down_all_json)
{
	check_json(down_all, sizeof(down_all), LW_DIR_DOWN, LB_OK, down_all_json);
}
END_TEST

START_TEST(test_v2_fopts_struct)
{
	static const uint8_t fopts[] = {0x06, 0x73, 0x07};
	struct maccmd c[MACCMD_MAX_FOPTS_CMDS];
	size_t n = 99;

	ck_assert_int_eq(maccmd_parse(fopts, sizeof(fopts), LW_DIR_UP, c, 15, &n), LB_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(c[0].cid, MACCMD_DEV_STATUS);
	ck_assert_int_eq(c[0].dir, LW_DIR_UP);
	ck_assert_uint_eq(c[0].len, 2);
	ck_assert_uint_eq(c[0].payload[0], 0x73);
	ck_assert_uint_eq(c[0].payload[1], 0x07);
	ck_assert_uint_eq(c[0].u.dev_status_ans.battery, 115);
	ck_assert_int_eq(c[0].u.dev_status_ans.margin, 7);
	ck_assert_uint_eq(maccmd_consumed(c, n), 3);
}
END_TEST

/* Margin is a signed 6-bit value; bits 7..6 are RFU and ignored. */
START_TEST(test_dev_status_margin_sign)
{
	static const struct { uint8_t raw; int margin; } v[] = {
		{0x00, 0}, {0x1f, 31}, {0x20, -32}, {0x3e, -2}, {0x3f, -1}, {0xc7, 7}, {0xe0, -32},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t b[] = {0x06, 0xff, v[i].raw};
		struct maccmd c;
		size_t n;

		ck_assert_int_eq(maccmd_parse(b, 3, LW_DIR_UP, &c, 1, &n), LB_OK);
		ck_assert_uint_eq(c.u.dev_status_ans.battery, 255);
		ck_assert_int_eq(c.u.dev_status_ans.margin, v[i].margin);
	}
}
END_TEST

START_TEST(test_link_adr_req_struct)
{
	static const uint8_t b[] = {0x03, 0x53, 0xff, 0x00, 0x61, 0x03, 0x21, 0x07, 0x80, 0x01};
	struct maccmd c[4];
	size_t n;

	ck_assert_int_eq(maccmd_parse(b, sizeof(b), LW_DIR_DOWN, c, 4, &n), LB_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(c[0].u.link_adr_req.data_rate, 5);
	ck_assert_uint_eq(c[0].u.link_adr_req.tx_power, 3);
	ck_assert_uint_eq(c[0].u.link_adr_req.ch_mask, 0x00ff);
	ck_assert_uint_eq(c[0].u.link_adr_req.ch_mask_cntl, 6);
	ck_assert_uint_eq(c[0].u.link_adr_req.nb_trans, 1);
	/* ChMask is little endian: 07 80 = channels 0-2 and 15 */
	ck_assert_uint_eq(c[1].u.link_adr_req.ch_mask, 0x8007);
	ck_assert_uint_eq(c[1].u.link_adr_req.data_rate, 2);
	ck_assert_uint_eq(c[1].u.link_adr_req.tx_power, 1);
}
END_TEST

START_TEST(test_direction_matters)
{
	/* 03 07: LinkADRAns (1 byte) up, a cut LinkADRReq (4 bytes) down */
	static const uint8_t b[] = {0x03, 0x07};
	struct maccmd c[2];
	size_t n;

	ck_assert_int_eq(maccmd_parse(b, 2, LW_DIR_UP, c, 2, &n), LB_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert(c[0].u.link_adr_ans.power_ack);
	ck_assert(c[0].u.link_adr_ans.data_rate_ack);
	ck_assert(c[0].u.link_adr_ans.channel_mask_ack);
	ck_assert_int_eq(maccmd_parse(b, 2, LW_DIR_DOWN, c, 2, &n), LB_ERR_TOO_SHORT);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(maccmd_name(0x0d, LW_DIR_UP), "DeviceTimeReq");
	ck_assert_str_eq(maccmd_name(0x0d, LW_DIR_DOWN), "DeviceTimeAns");
	ck_assert_int_eq(maccmd_payload_len(0x0d, LW_DIR_UP), 0);
	ck_assert_int_eq(maccmd_payload_len(0x0d, LW_DIR_DOWN), 5);
	ck_assert_ptr_null(maccmd_name(0x0b, LW_DIR_UP));
	ck_assert_int_eq(maccmd_payload_len(0x80, LW_DIR_DOWN), -1);
}
END_TEST

START_TEST(test_truncated_keeps_parsed)
{
	static const uint8_t b[] = {0x02, 0x06, 0x73};
	struct maccmd c[4];
	size_t n;

	ck_assert_int_eq(maccmd_parse(b, sizeof(b), LW_DIR_UP, c, 4, &n), LB_ERR_TOO_SHORT);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(c[0].cid, MACCMD_LINK_CHECK);
	ck_assert_uint_eq(maccmd_consumed(c, n), 1);
	check_json(b, sizeof(b), LW_DIR_UP, LB_ERR_TOO_SHORT,
		   "[{\"cid\":\"LinkCheckReq\"},{\"error\":\"TOO_SHORT\",\"unparsed\":\"0673\"}]");
}
END_TEST

START_TEST(test_unknown_cid_stops)
{
	static const uint8_t rfu[] = {0x02, 0x0b, 0x01, 0x06, 0x73, 0x07};
	static const uint8_t prop[] = {0x80, 0x02};
	static const uint8_t zero[] = {0x00};
	struct maccmd c[4];
	size_t n;

	ck_assert_int_eq(maccmd_parse(rfu, sizeof(rfu), LW_DIR_UP, c, 4, &n), LB_ERR_UNKNOWN_TYPE);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(maccmd_consumed(c, n), 1);
	check_json(rfu, sizeof(rfu), LW_DIR_UP, LB_ERR_UNKNOWN_TYPE,
		   "[{\"cid\":\"LinkCheckReq\"},"
		   "{\"error\":\"UNKNOWN_TYPE\",\"unparsed\":\"0b01067307\"}]");
	check_json(prop, sizeof(prop), LW_DIR_DOWN, LB_ERR_UNKNOWN_TYPE,
		   "[{\"error\":\"UNKNOWN_TYPE\",\"unparsed\":\"8002\"}]");
	check_json(zero, sizeof(zero), LW_DIR_UP, LB_ERR_UNKNOWN_TYPE,
		   "[{\"error\":\"UNKNOWN_TYPE\",\"unparsed\":\"00\"}]");
}
END_TEST

START_TEST(test_empty_and_args)
{
	struct maccmd c[2];
	struct json_object *arr;
	size_t n = 7;

	ck_assert_int_eq(maccmd_parse(NULL, 0, LW_DIR_UP, c, 2, &n), LB_OK);
	ck_assert_uint_eq(n, 0);
	check_json(NULL, 0, LW_DIR_UP, LB_OK, "[]");
	ck_assert_int_eq(maccmd_parse(up_all, 1, 2, c, 2, &n), LB_ERR_INVAL);
	ck_assert_int_eq(maccmd_parse(NULL, 3, LW_DIR_UP, c, 2, &n), LB_ERR_INVAL);
	ck_assert_int_eq(maccmd_json(NULL, 3, LW_DIR_UP, &arr), LB_ERR_INVAL);
	ck_assert_ptr_null(arr);
}
END_TEST

START_TEST(test_full)
{
	struct maccmd c[2];
	size_t n;

	ck_assert_int_eq(maccmd_parse(up_all, sizeof(up_all), LW_DIR_UP, c, 2, &n), LB_ERR_FULL);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(c[1].cid, MACCMD_LINK_ADR);
}
END_TEST

/* Parse a stream, build every command back: the bytes must come out equal
 * (the vectors carry no RFU bits). */
static void roundtrip(const uint8_t *b, size_t len, enum lw_dir dir)
{
	struct maccmd c[32];
	uint8_t out[64];
	size_t n, off = 0, w;

	ck_assert_int_eq(maccmd_parse(b, len, dir, c, 32, &n), LB_OK);
	ck_assert_uint_eq(maccmd_consumed(c, n), len);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(maccmd_build(&c[i], out + off, sizeof(out) - off, &w), LB_OK);
		ck_assert_uint_eq(w, 1u + c[i].len);
		off += w;
	}
	ck_assert_uint_eq(off, len);
	ck_assert_mem_eq(out, b, len);
}

START_TEST(test_roundtrip_all)
{
	roundtrip(up_all, sizeof(up_all), LW_DIR_UP);
	roundtrip(down_all, sizeof(down_all), LW_DIR_DOWN);
}
END_TEST

/* A later issue answers LinkCheckReq and DeviceTimeReq from struct fields. */
START_TEST(test_build_answers)
{
	struct maccmd c = {.cid = MACCMD_LINK_CHECK, .dir = LW_DIR_DOWN};
	uint8_t out[8];
	size_t w;
	static const uint8_t lca[] = {0x02, 0x14, 0x03};
	static const uint8_t dta[] = {0x0d, 0xa1, 0xed, 0x6d, 0x53, 0x51};

	c.u.link_check_ans.margin = 20;
	c.u.link_check_ans.gw_cnt = 3;
	ck_assert_int_eq(maccmd_build(&c, out, sizeof(out), &w), LB_OK);
	ck_assert_uint_eq(w, 3);
	ck_assert_mem_eq(out, lca, 3);

	memset(&c, 0, sizeof(c));
	c.cid = MACCMD_DEVICE_TIME;
	c.dir = LW_DIR_DOWN;
	c.u.device_time_ans.seconds = 1399713185u;
	c.u.device_time_ans.fraction = 81;
	ck_assert_int_eq(maccmd_build(&c, out, sizeof(out), &w), LB_OK);
	ck_assert_uint_eq(w, 6);
	ck_assert_mem_eq(out, dta, 6);
	ck_assert_int_eq(maccmd_build(&c, out, 5, &w), LB_ERR_TOO_LARGE);
	ck_assert_uint_eq(w, 0);

	memset(&c, 0, sizeof(c));
	c.cid = MACCMD_DEV_STATUS;
	c.dir = LW_DIR_UP;
	c.u.dev_status_ans.battery = 254;
	c.u.dev_status_ans.margin = -32;
	ck_assert_int_eq(maccmd_build(&c, out, sizeof(out), &w), LB_OK);
	ck_assert_uint_eq(w, 3);
	ck_assert_uint_eq(out[1], 0xfe);
	ck_assert_uint_eq(out[2], 0x20);

	c.cid = MACCMD_LINK_CHECK;  /* up: LinkCheckReq, CID only */
	ck_assert_int_eq(maccmd_build(&c, out, 1, &w), LB_OK);
	ck_assert_uint_eq(w, 1);
	ck_assert_uint_eq(out[0], 0x02);
}
END_TEST

START_TEST(test_build_range)
{
	struct maccmd c = {.cid = MACCMD_LINK_ADR, .dir = LW_DIR_DOWN};
	uint8_t out[8];
	size_t w;

	c.u.link_adr_req.data_rate = 16;
	ck_assert_int_eq(maccmd_build(&c, out, sizeof(out), &w), LB_ERR_RANGE);
	c.u.link_adr_req.data_rate = 15;
	c.u.link_adr_req.ch_mask_cntl = 8;  /* 3 bits */
	ck_assert_int_eq(maccmd_build(&c, out, sizeof(out), &w), LB_ERR_RANGE);

	memset(&c, 0, sizeof(c));
	c.cid = MACCMD_NEW_CHANNEL;
	c.dir = LW_DIR_DOWN;
	c.u.new_channel_req.frequency = 868100050;  /* not a multiple of 100 Hz */
	ck_assert_int_eq(maccmd_build(&c, out, sizeof(out), &w), LB_ERR_RANGE);
	c.u.new_channel_req.frequency = 1677721600;  /* 2^24 * 100 */
	ck_assert_int_eq(maccmd_build(&c, out, sizeof(out), &w), LB_ERR_RANGE);
	c.u.new_channel_req.frequency = 1677721500;
	ck_assert_int_eq(maccmd_build(&c, out, sizeof(out), &w), LB_OK);

	memset(&c, 0, sizeof(c));
	c.cid = MACCMD_DEV_STATUS;
	c.dir = LW_DIR_UP;
	c.u.dev_status_ans.margin = 32;
	ck_assert_int_eq(maccmd_build(&c, out, sizeof(out), &w), LB_ERR_RANGE);
	c.u.dev_status_ans.margin = -33;
	ck_assert_int_eq(maccmd_build(&c, out, sizeof(out), &w), LB_ERR_RANGE);

	c.cid = 0x0b;
	ck_assert_int_eq(maccmd_build(&c, out, sizeof(out), &w), LB_ERR_UNKNOWN_TYPE);
}
END_TEST

START_TEST(test_single_to_json)
{
	struct maccmd c = {.cid = MACCMD_LINK_ADR, .dir = LW_DIR_UP};
	struct json_object *o;

	c.u.link_adr_ans.power_ack = true;
	c.u.link_adr_ans.data_rate_ack = true;
	c.u.link_adr_ans.channel_mask_ack = true;
	ck_assert_int_eq(maccmd_to_json(&c, &o), LB_OK);
	ck_assert_str_eq(json_object_to_json_string_ext(o, JFLAGS),
			 "{\"cid\":\"LinkADRAns\",\"powerAck\":true,\"dataRateAck\":true,"
			 "\"channelMaskAck\":true}");
	json_object_put(o);
	c.cid = 0xff;
	ck_assert_int_eq(maccmd_to_json(&c, &o), LB_ERR_UNKNOWN_TYPE);
	ck_assert_ptr_null(o);
}
END_TEST

/* Every CID in both directions with every short length and random bytes:
 * no crash, and what parses builds back into bytes that re-parse equal. */
START_TEST(test_exhaustive_cids)
{
	uint32_t seed = 12345;

	for (int cid = 0; cid < 256; cid++)
		for (int dir = 0; dir < 2; dir++)
			for (size_t len = 1; len <= 7; len++) {
				uint8_t b[8], out[8];
				struct maccmd c, c2;
				size_t n, w, n2;
				int rc, want_len = maccmd_payload_len((uint8_t)cid, dir);

				b[0] = (uint8_t)cid;
				for (size_t i = 1; i < len; i++) {
					seed = seed * 1103515245u + 12345u;
					b[i] = (uint8_t)(seed >> 16);
				}
				rc = maccmd_parse(b, len, dir, &c, 1, &n);
				if (want_len < 0) {
					ck_assert_int_eq(rc, LB_ERR_UNKNOWN_TYPE);
					continue;
				}
				if (len < 1u + (size_t)want_len) {
					ck_assert_int_eq(rc, LB_ERR_TOO_SHORT);
					continue;
				}
				ck_assert(rc == LB_OK || rc == LB_ERR_FULL);
				ck_assert_uint_eq(n, 1);
				ck_assert_int_eq(maccmd_build(&c, out, sizeof(out), &w), LB_OK);
				ck_assert_int_eq(maccmd_parse(out, w, dir, &c2, 1, &n2), LB_OK);
				ck_assert_mem_eq(&c.u, &c2.u, sizeof(c.u));
			}
}
END_TEST

static Suite *maccmd_suite(void)
{
	Suite *s = suite_create("maccmd");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_up_all_json);
	tcase_add_test(tc, test_down_all_json);
	tcase_add_test(tc, test_v2_fopts_struct);
	tcase_add_test(tc, test_dev_status_margin_sign);
	tcase_add_test(tc, test_link_adr_req_struct);
	tcase_add_test(tc, test_direction_matters);
	tcase_add_test(tc, test_truncated_keeps_parsed);
	tcase_add_test(tc, test_unknown_cid_stops);
	tcase_add_test(tc, test_empty_and_args);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_roundtrip_all);
	tcase_add_test(tc, test_build_answers);
	tcase_add_test(tc, test_build_range);
	tcase_add_test(tc, test_single_to_json);
	tcase_add_test(tc, test_exhaustive_cids);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(maccmd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
