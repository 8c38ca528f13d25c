/* SPDX-License-Identifier: MIT */
/*
 * test_event_json.c - JSON events against exact expected text.
 *
 * Frame: V2, chirpstack/chirpstack lrwn/src/phy_payload.rs "LoRaWAN 1.0.x
 * confirmed uplink" (DevAddr 01020304, FCnt 0, FOpts DevStatusAns battery
 * 115 margin 7, FPort 10, plaintext 01020304).
 * Reception metadata: the example PUSH_DATA of test_gwmp.c (gateway
 * aa555a0000000101,
 * tmst 3512348611, time 2024-05-14T09:12:47.318406Z, tmms 1399713185318,
 * chan 0, rfch 1, 868.1 MHz, SF7BW125 4/5, lsnr 9.5, rssi -57).
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "events/event_json.h"
#include "base/lb_err.h"

#define OUT_CAP 4096

/* V2 PHYPayload; FOpts are bytes 8..10. */
static const uint8_t v2_phy[] = {0x80, 0x04, 0x03, 0x02, 0x01, 0x03, 0x00, 0x00, 0x06, 0x73,
				 0x07, 0x0a, 0xe2, 0x64, 0xd4, 0xf7, 0xe1, 0x17, 0xd2, 0xc0};
#define V2_OFF_FOPTS 8
#define V2_LEN_FOPTS 3
static const uint8_t v2_plain[] = {0x01, 0x02, 0x03, 0x04};

/* The example PUSH_DATA's join-request PHYPayload (what the gateway event
 * carries). */
static const uint8_t join_phy[] = {0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
				   0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x03,
				   0x03, 0x09, 0xb9, 0x7b, 0x32};

#define T_8_1_US INT64_C(1715677967318406)  /* 2024-05-14T09:12:47.318406Z */

static const char dedup_txt[] = "00112233-4455-6677-8899-aabbccddeeff";
static const uint8_t dedup_bin[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

static struct lb_tag tags[] = {{(char *)"site", (char *)"roof"}, {(char *)"floor", (char *)"3"}};

static const struct ev_device dev = {
	.tenant_id = "5bfff35d-c946-5c21-bba0-5e9b0d52a2cb", .tenant_name = "lorabridge",
	.application_id = "7d06a9b0-0f4c-5a39-9d8e-2f1ac9c1c4a1", .application = "weather",
	.profile_id = "0e5d6c1c-3a57-5f2e-8b8d-4a2b6c8d9e01",
	.profile_name = "EU868 LoRaWAN 1.0.3 class A", .name = "station-1",
	.dev_eui = 0x0102030405060708ull, .device_class = "CLASS_A", .tags = tags, .n_tags = 2,
};

#define DEVICE_INFO_JSON                                                                  \
	"{\"tenantId\":\"5bfff35d-c946-5c21-bba0-5e9b0d52a2cb\",\"tenantName\":\"lorabridge\"," \
	"\"applicationId\":\"7d06a9b0-0f4c-5a39-9d8e-2f1ac9c1c4a1\","                     \
	"\"applicationName\":\"weather\","                                               \
	"\"deviceProfileId\":\"0e5d6c1c-3a57-5f2e-8b8d-4a2b6c8d9e01\","                   \
	"\"deviceProfileName\":\"EU868 LoRaWAN 1.0.3 class A\",\"deviceName\":\"station-1\"," \
	"\"devEui\":\"0102030405060708\",\"deviceClassEnabled\":\"CLASS_A\","            \
	"\"tags\":{\"site\":\"roof\",\"floor\":\"3\"}}"

/* The example PUSH_DATA's reception carrying `phy`. */
static struct lb_rx rx_8_1(const uint8_t *phy, size_t len)
{
	struct lb_rx rx;

	memset(&rx, 0, sizeof(rx));
	rx.gateway_eui = 0xaa555a0000000101ull;
	rx.uplink_id = 1;
	rx.received_us = INT64_C(1715677967325000);
	rx.version = 2;
	rx.rxpk.tmst = 3512348611u;
	rx.rxpk.has_time = true;
	rx.rxpk.time_us = T_8_1_US;
	rx.rxpk.has_tmms = true;
	rx.rxpk.tmms = UINT64_C(1399713185318);
	rx.rxpk.freq_hz = 868100000;
	rx.rxpk.chan = 0;
	rx.rxpk.rfch = 1;
	rx.rxpk.stat = 1;
	rx.rxpk.modu = GWMP_MOD_LORA;
	rx.rxpk.sf = 7;
	rx.rxpk.bw_khz = 125;
	rx.rxpk.cr = 1;
	rx.rxpk.has_rssi = true;
	rx.rxpk.rssi = -57;
	rx.rxpk.has_lsnr = true;
	rx.rxpk.lsnr = 9.5f;
	rx.rxpk.size = (uint16_t)len;
	memcpy(rx.rxpk.data, phy, len);
	return rx;
}

/* A second gateway without GPS: no gwTime / timeSinceGpsEpoch. */
static struct lb_rx rx_second(void)
{
	struct lb_rx rx = rx_8_1(v2_phy, sizeof(v2_phy));

	rx.gateway_eui = 2;
	rx.uplink_id = 2;
	rx.received_us = INT64_C(1715677967330000);
	rx.rxpk.tmst = 0x01020304;
	rx.rxpk.has_time = false;
	rx.rxpk.has_tmms = false;
	rx.rxpk.chan = 3;
	rx.rxpk.rfch = 0;
	rx.rxpk.rssi = -110;
	rx.rxpk.lsnr = -7.2f;
	return rx;
}

/* The example reception up to rfChain: what follows depends on the event. */
#define RX_8_1_HEAD                                                                        \
	"{\"gatewayId\":\"aa555a0000000101\",\"uplinkId\":1,"                              \
	"\"time\":\"2024-05-14T09:12:47.318406+00:00\","                               \
	"\"gwTime\":\"2024-05-14T09:12:47.318406+00:00\","                             \
	"\"nsTime\":\"2024-05-14T09:12:47.325+00:00\","                                \
	"\"timeSinceGpsEpoch\":\"1399713185.318s\",\"rssi\":-57,\"snr\":9.5,\"channel\":0,"  \
	"\"rfChain\":1,"

/* In a gateway `up` event: no location, no metadata. */
#define RX_8_1_JSON RX_8_1_HEAD "\"context\":\"0Vovww==\",\"crcStatus\":\"CRC_OK\"}"

/* The rxInfo metadata of EU868 (event_json_rx_metadata()). */
#define RX_METADATA_JSON "{\"region_config_id\":\"eu868\",\"region_common_name\":\"EU868\"}"

/* In an `up` event: its gateway's position (rx_locs[0]) and the metadata. */
#define RX_8_1_UP_JSON                                                                     \
	RX_8_1_HEAD "\"location\":{\"latitude\":52.3676,\"longitude\":4.9041,\"altitude\":12.0}," \
	"\"context\":\"0Vovww==\",\"metadata\":" RX_METADATA_JSON ",\"crcStatus\":\"CRC_OK\"}"

/* A gateway whose position is not known: no location, the metadata. */
#define RX_SECOND_JSON                                                                     \
	"{\"gatewayId\":\"0000000000000002\",\"uplinkId\":2,"                              \
	"\"nsTime\":\"2024-05-14T09:12:47.330+00:00\",\"rssi\":-110,\"snr\":-7.2,\"channel\":3,"  \
	"\"rfChain\":0,\"context\":\"AQIDBA==\",\"metadata\":" RX_METADATA_JSON ","         \
	"\"crcStatus\":\"CRC_OK\"}"

/* The positions of the gateways of rx_8_1() (from its stats) and
 * rx_second() (none). */
static const struct ev_location rx_locs[2] = {
	{.known = true, .has_altitude = true, .latitude = 52.3676, .longitude = 4.9041,
	 .altitude = 12},
	{.known = false},
};

#define TX_8_1_JSON                                                                        \
	"{\"frequency\":868100000,\"modulation\":{\"lora\":{\"bandwidth\":125000,"          \
	"\"spreadingFactor\":7,\"codeRate\":\"CR_4_5\"}}}"

static struct ev_uplink v2_uplink(const struct lb_rx *rx, size_t n_rx)
{
	struct ev_uplink ev;

	memset(&ev, 0, sizeof(ev));
	ev.dev = &dev;
	memcpy(ev.dedup_id, dedup_bin, sizeof(dedup_bin));
	ev.time_us = T_8_1_US;
	ev.dev_addr = 0x01020304;
	ev.adr = false;  /* FCtrl 0x03 */
	ev.dr = 5;
	ev.fcnt = 0;
	ev.has_fport = true;
	ev.fport = 10;
	ev.confirmed = true;  /* MHDR 0x80 */
	ev.data = v2_plain;
	ev.data_len = sizeof(v2_plain);
	ev.mac = v2_phy + V2_OFF_FOPTS;
	ev.mac_len = V2_LEN_FOPTS;
	ev.rx = rx;
	ev.n_rx = n_rx;
	ev.rx_location = rx_locs;
	ev.rx_metadata = RX_METADATA_JSON;
	ev.rx_metadata_len = strlen(RX_METADATA_JSON);
	ev.region_config_id = "eu868";
	return ev;
}

static const char v2_up_json[] =
	"{\"deduplicationId\":\"00112233-4455-6677-8899-aabbccddeeff\","
	"\"time\":\"2024-05-14T09:12:47.318406+00:00\","
	"\"deviceInfo\":" DEVICE_INFO_JSON ","
	"\"devAddr\":\"01020304\",\"adr\":false,\"dr\":5,\"fCnt\":0,\"fPort\":10,"
	"\"confirmed\":true,\"data\":\"AQIDBA==\","
	"\"rxInfo\":[" RX_8_1_UP_JSON "," RX_SECOND_JSON "],"
	"\"txInfo\":" TX_8_1_JSON ",\"regionConfigId\":\"eu868\","
	"\"macCommands\":[{\"cid\":\"DevStatusAns\",\"battery\":115,\"margin\":7}]}";

START_TEST(test_up_v2_exact)
{
	struct lb_rx rx[2] = {rx_8_1(v2_phy, sizeof(v2_phy)), rx_second()};
	struct ev_uplink ev = v2_uplink(rx, 2);
	char out[OUT_CAP];
	size_t len = 0;

	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, v2_up_json);
	ck_assert_uint_eq(len, strlen(v2_up_json));
	ck_assert_str_eq(dedup_txt, "00112233-4455-6677-8899-aabbccddeeff");
}
END_TEST

/* Parse the text back and look at every field through json-c. */
START_TEST(test_up_v2_parse_back)
{
	struct lb_rx rx[1] = {rx_8_1(v2_phy, sizeof(v2_phy))};
	struct ev_uplink ev = v2_uplink(rx, 1);
	char out[OUT_CAP];
	size_t len;
	struct json_object *o, *v, *di, *ri, *mc;

	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	o = json_tokener_parse(out);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "deduplicationId", &v));
	ck_assert_str_eq(json_object_get_string(v), dedup_txt);
	ck_assert(json_object_object_get_ex(o, "fCnt", &v));
	ck_assert_int_eq(json_object_get_int64(v), 0);
	ck_assert(json_object_object_get_ex(o, "deviceInfo", &di));
	ck_assert(json_object_object_get_ex(di, "tags", &v));
	ck_assert_int_eq(json_object_object_length(v), 2);
	ck_assert(json_object_object_get_ex(o, "rxInfo", &ri));
	ck_assert_int_eq(json_object_array_length(ri), 1);
	v = json_object_array_get_idx(ri, 0);
	ck_assert(json_object_object_get_ex(v, "snr", &v));
	ck_assert(json_object_get_double(v) == 9.5);
	ck_assert(json_object_object_get_ex(o, "macCommands", &mc));
	ck_assert_int_eq(json_object_array_length(mc), 1);
	ck_assert(!json_object_object_get_ex(o, "airtimeMs", NULL));
	ck_assert(!json_object_object_get_ex(o, "fairAccess", NULL));
	json_object_put(o);
}
END_TEST

START_TEST(test_up_absent_fields)
{
	struct lb_rx rx = rx_8_1(v2_phy, sizeof(v2_phy));
	struct ev_device bare = {.application = "default", .name = "d", .dev_eui = 0xfedcba9876543210ull};
	struct ev_uplink ev = v2_uplink(&rx, 1);
	char out[OUT_CAP];
	size_t len;

	rx.rxpk.has_time = false;
	rx.rxpk.has_tmms = false;
	rx.rxpk.has_rssi = false;
	rx.rxpk.has_lsnr = false;
	rx.received_us = 0;
	ev.dev = &bare;
	ev.dr = -1;
	ev.has_fport = false;
	ev.data = NULL;
	ev.data_len = 0;
	ev.mac = NULL;
	ev.mac_len = 0;
	ev.confirmed = false;
	ev.adr = true;
	ev.fcnt = 0xfffffffeu;
	ev.dev_addr = 0xfe00abcd;
	ev.time_us = T_8_1_US - 318406;  /* whole second: no fraction */
	ev.region_config_id = NULL;
	ev.rx_location = NULL;
	ev.rx_metadata = NULL;
	ev.rx_metadata_len = 0;
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out,
		"{\"deduplicationId\":\"00112233-4455-6677-8899-aabbccddeeff\","
		"\"time\":\"2024-05-14T09:12:47+00:00\","
		"\"deviceInfo\":{\"tenantId\":\"\",\"tenantName\":\"\",\"applicationId\":\"\","
		"\"applicationName\":\"default\",\"deviceProfileId\":\"\","
		"\"deviceProfileName\":\"\",\"deviceName\":\"d\","
		"\"devEui\":\"fedcba9876543210\",\"deviceClassEnabled\":\"CLASS_A\",\"tags\":{}},"
		"\"devAddr\":\"fe00abcd\",\"adr\":true,\"dr\":0,\"fCnt\":4294967294,"
		"\"fPort\":0,\"confirmed\":false,\"data\":\"\","
		"\"rxInfo\":[{\"gatewayId\":\"aa555a0000000101\",\"uplinkId\":1,\"channel\":0,"
		"\"rfChain\":1,\"context\":\"0Vovww==\",\"metadata\":{},"
		"\"crcStatus\":\"CRC_OK\"}],"
		"\"txInfo\":" TX_8_1_JSON ",\"regionConfigId\":\"\"}");
}
END_TEST

START_TEST(test_location_text)
{
	struct ev_location loc = {.known = true, .has_altitude = true, .latitude = 46.245,
				  .longitude = 3.2523, .altitude = 145};
	char out[EVENT_JSON_LOCATION_MAX];
	size_t len = 0;

	/* as ChirpStack writes it: serde_json's f64 text, a 0 left out */
	ck_assert_int_eq(event_json_location(&loc, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "{\"latitude\":46.245,\"longitude\":3.2523,\"altitude\":145.0}");
	ck_assert_uint_eq(len, strlen(out));
	loc.latitude = 46;
	ck_assert_int_eq(event_json_location(&loc, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "{\"latitude\":46.0,\"longitude\":3.2523,\"altitude\":145.0}");
	loc = (struct ev_location){.known = true, .has_altitude = true, .latitude = 0.00005,
				   .longitude = -0.00001, .altitude = 0};
	ck_assert_int_eq(event_json_location(&loc, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "{\"latitude\":0.00005,\"longitude\":-0.00001}");
	loc = (struct ev_location){.known = true, .latitude = 46.245, .longitude = 151.20935};
	ck_assert_int_eq(event_json_location(&loc, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "{\"latitude\":46.245,\"longitude\":151.20935}");
	loc = (struct ev_location){.known = true, .has_altitude = true, .latitude = -0.000001};
	ck_assert_int_eq(event_json_location(&loc, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "{\"latitude\":-1e-6}");
	/* the longest numbers fit */
	loc = (struct ev_location){.known = true, .has_altitude = true,
				   .latitude = -89.123456789012345,
				   .longitude = -179.12345678901234, .altitude = -1.2345678901234567e-300};
	ck_assert_int_eq(event_json_location(&loc, out, sizeof(out), &len), LB_OK);
	ck_assert_int_eq(event_json_location(&loc, out, 20, &len), LB_ERR_TOO_LARGE);
	loc.known = false;
	ck_assert_int_eq(event_json_location(&loc, out, sizeof(out), &len), LB_ERR_INVAL);
	loc.known = true;
	loc.longitude = INFINITY;
	ck_assert_int_eq(event_json_location(&loc, out, sizeof(out), &len), LB_ERR_INVAL);
	ck_assert_int_eq(event_json_location(NULL, out, sizeof(out), &len), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_rx_metadata)
{
	char out[EVENT_JSON_RX_METADATA_MAX];
	size_t len = 0;

	ck_assert_int_eq(event_json_rx_metadata("eu868", "EU868", out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, RX_METADATA_JSON);
	ck_assert_uint_eq(len, strlen(RX_METADATA_JSON));
	ck_assert_int_eq(event_json_rx_metadata("as923_2", "AS923_2", out, sizeof(out), &len),
			 LB_OK);
	ck_assert_str_eq(out, "{\"region_config_id\":\"as923_2\","
			      "\"region_common_name\":\"AS923_2\"}");
	/* the longest names devinfo makes fit */
	ck_assert_int_eq(event_json_rx_metadata("aaaaaaaaaaaaaaa", "AAAAAAAAAAAAAAA", out,
						sizeof(out), &len), LB_OK);
	ck_assert_int_eq(event_json_rx_metadata("eu868", "EU868", out, 10, &len),
			 LB_ERR_TOO_LARGE);
	ck_assert_int_eq(event_json_rx_metadata(NULL, "EU868", out, sizeof(out), &len),
			 LB_ERR_INVAL);
}
END_TEST

/* Where rxInfo[].location comes and where it does not: the numbers as
 * ChirpStack writes them, altitude only when known, a 0 left out, nothing
 * for a position unknown or not finite. */
START_TEST(test_up_rx_location)
{
	struct lb_rx rx[2] = {rx_8_1(v2_phy, sizeof(v2_phy)), rx_second()};
	struct ev_location locs[2] = {
		{.known = true, .latitude = -33.8688, .longitude = 151.2093},
		{.known = true, .has_altitude = true, .latitude = 0, .longitude = -0.5,
		 .altitude = -7},
	};
	struct ev_uplink ev = v2_uplink(rx, 2);
	char out[OUT_CAP];
	size_t len;

	ev.rx_location = locs;
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	ck_assert_ptr_nonnull(strstr(out, "\"rfChain\":1,\"location\":{\"latitude\":-33.8688,"
					  "\"longitude\":151.2093},\"context\":"));
	ck_assert_ptr_nonnull(strstr(out, "\"rfChain\":0,\"location\":{"
					  "\"longitude\":-0.5,\"altitude\":-7.0},\"context\":"));
	/* the positions' cached texts (event_json_location()) give the same event */
	char text[2][EVENT_JSON_LOCATION_MAX], again[OUT_CAP];
	size_t again_len;
	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(event_json_location(&locs[i], text[i], sizeof(text[i]),
						     &locs[i].text_len), LB_OK);
		locs[i].text = text[i];
	}
	ck_assert_str_eq(text[0], "{\"latitude\":-33.8688,\"longitude\":151.2093}");
	ck_assert_int_eq(event_json_uplink(&ev, again, sizeof(again), &again_len), LB_OK);
	ck_assert_str_eq(again, out);
	locs[0].text = locs[1].text = NULL;
	locs[0].latitude = NAN;
	locs[1].has_altitude = true;
	locs[1].altitude = INFINITY;
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	ck_assert_ptr_null(strstr(out, "\"location\""));
	ev.rx_location = NULL;
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	ck_assert_ptr_null(strstr(out, "\"location\""));
	ck_assert_ptr_nonnull(strstr(out, "\"context\":\"AQIDBA==\",\"metadata\":"
					  RX_METADATA_JSON ",\"crcStatus\""));
}
END_TEST

/* FPort present with an empty FRMPayload: fPort shown, data "" (the
 * default ChirpStack >= 4.1 writes). */
START_TEST(test_up_empty_payload_and_slash)
{
	static const uint8_t ff[] = {0xff, 0xff, 0xff, 0xfb};
	struct lb_rx rx = rx_8_1(v2_phy, sizeof(v2_phy));
	struct ev_uplink ev = v2_uplink(&rx, 1);
	char out[OUT_CAP];
	size_t len;
	struct json_object *o, *v;

	ev.data = v2_plain;
	ev.data_len = 0;
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	ck_assert_ptr_nonnull(strstr(out, "\"data\":\"\","));
	ck_assert_ptr_nonnull(strstr(out, "\"fPort\":10,"));

	ev.data = ff;  /* base64 "////+w==": '/' must not be escaped */
	ev.data_len = sizeof(ff);
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	ck_assert_ptr_nonnull(strstr(out, "\"data\":\"////+w==\","));
	o = json_tokener_parse(out);
	ck_assert(json_object_object_get_ex(o, "data", &v));
	ck_assert_str_eq(json_object_get_string(v), "////+w==");
	json_object_put(o);
}
END_TEST

START_TEST(test_up_airtime_fair_access)
{
	struct lb_rx rx = rx_8_1(v2_phy, sizeof(v2_phy));
	struct ev_uplink ev = v2_uplink(&rx, 1);
	struct ev_fair_access fa = {.uplink_airtime_ms = 1234.5, .uplink_budget_ms = 36000,
				    .downlinks = 2, .downlink_budget = 10, .exceeded = false};
	char out[OUT_CAP];
	size_t len;
	const char *tail;

	ev.has_airtime = true;
	ev.airtime_ms = 61.696;
	ev.fair_access = &fa;
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	tail = strstr(out, "\"airtimeMs\"");
	ck_assert_ptr_nonnull(tail);
	ck_assert_str_eq(tail, "\"airtimeMs\":61.696,\"fairAccess\":{\"uplinkAirtimeMs\":1234.500,"
			       "\"uplinkBudgetMs\":36000.000,\"downlinks\":2,\"downlinkBudget\":10,"
			       "\"exceeded\":false}}");
	fa.exceeded = true;
	ev.airtime_ms = 0.0;
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	ck_assert_ptr_nonnull(strstr(out, "\"airtimeMs\":0.000,"));
	ck_assert_ptr_nonnull(strstr(out, "\"exceeded\":true}}"));
}
END_TEST

START_TEST(test_up_mac_unknown_cid)
{
	static const uint8_t mac[] = {0x02, 0x0b, 0x01};
	struct lb_rx rx = rx_8_1(v2_phy, sizeof(v2_phy));
	struct ev_uplink ev = v2_uplink(&rx, 1);
	char out[OUT_CAP];
	size_t len;

	ev.mac = mac;
	ev.mac_len = sizeof(mac);
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	ck_assert_ptr_nonnull(strstr(out, "\"macCommands\":[{\"cid\":\"LinkCheckReq\"},"
					  "{\"error\":\"UNKNOWN_TYPE\",\"unparsed\":\"0b01\"}]}"));
}
END_TEST

/* A deviceInfo head from event_json_device_head() gives the same event
 * as the fields, and the same too-short-buffer answer; the head alone is
 * the six members. */
START_TEST(test_up_device_head)
{
	struct lb_rx rx[2] = {rx_8_1(v2_phy, sizeof(v2_phy)), rx_second()};
	struct ev_uplink ev = v2_uplink(rx, 2);
	struct ev_device d = dev;
	char head[512], out[OUT_CAP], small[8];
	size_t hn = 0, len = 0;

	ck_assert_int_eq(event_json_device_head(&d, head, sizeof(head), &hn), LB_OK);
	ck_assert_str_eq(head,
			 "\"tenantId\":\"5bfff35d-c946-5c21-bba0-5e9b0d52a2cb\",\"tenantName\":"
			 "\"lorabridge\",\"applicationId\":\"7d06a9b0-0f4c-5a39-9d8e-2f1ac9c1c4a1\","
			 "\"applicationName\":\"weather\",\"deviceProfileId\":"
			 "\"0e5d6c1c-3a57-5f2e-8b8d-4a2b6c8d9e01\",\"deviceProfileName\":"
			 "\"EU868 LoRaWAN 1.0.3 class A\"");
	ck_assert_uint_eq(hn, strlen(head));
	d.head = head;
	d.head_len = hn;
	ev.dev = &d;
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, v2_up_json);
	ck_assert_int_eq(event_json_uplink(&ev, out, strlen(v2_up_json), &len), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(event_json_device_head(&d, small, sizeof(small), &hn), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(small[0], '\0');
	ck_assert_int_eq(event_json_device_head(NULL, small, sizeof(small), &hn), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_up_too_large)
{
	struct lb_rx rx[2] = {rx_8_1(v2_phy, sizeof(v2_phy)), rx_second()};
	struct ev_uplink ev = v2_uplink(rx, 2);
	char out[OUT_CAP];
	size_t n = strlen(v2_up_json), len = 99;

	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(event_json_uplink(&ev, out, n, &len), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(out[0], '\0');
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(event_json_uplink(&ev, out, 0, &len), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(event_json_uplink(&ev, out, n + 1, &len), LB_OK);
	ck_assert_uint_eq(len, n);
	ck_assert_str_eq(out, v2_up_json);
}
END_TEST

START_TEST(test_up_invalid)
{
	struct lb_rx rx = rx_8_1(v2_phy, sizeof(v2_phy));
	struct ev_uplink ev = v2_uplink(&rx, 1);
	struct lb_tag bad_tags[] = {{NULL, (char *)"v"}};
	struct ev_device bad = dev;
	char out[OUT_CAP];
	size_t len;

	ev.n_rx = 0;
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_ERR_INVAL);
	ev.n_rx = 1;
	ev.dev = NULL;
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_ERR_INVAL);
	bad.tags = bad_tags;
	bad.n_tags = 1;
	ev.dev = &bad;
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_ERR_INVAL);
	ev.dev = &dev;
	ev.data = NULL;
	ev.data_len = 3;
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_ERR_INVAL);
	ck_assert_int_eq(event_json_uplink(NULL, out, sizeof(out), &len), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_log_exact)
{
	static const char *const keys[] = {"fCnt", "gatewayId"};
	static const char *const vals[] = {"12", "aa555a0000000101"};
	struct ev_log ev = {.dev = &dev, .time_us = T_8_1_US, .level = "ERROR", .code = "UPLINK_MIC",
			    .description = "MIC of uplink with DevAddr 01020304 does not verify",
			    .context_keys = keys, .context_values = vals, .n_context = 2};
	char out[OUT_CAP];
	size_t len;

	ck_assert_int_eq(event_json_log(&ev, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "{\"time\":\"2024-05-14T09:12:47.318406+00:00\","
			      "\"deviceInfo\":" DEVICE_INFO_JSON ","
			      "\"level\":\"ERROR\",\"code\":\"UPLINK_MIC\","
			      "\"description\":\"MIC of uplink with DevAddr 01020304 does not verify\","
			      "\"context\":{\"fCnt\":\"12\",\"gatewayId\":\"aa555a0000000101\"}}");
	ck_assert_uint_eq(len, strlen(out));
}
END_TEST

START_TEST(test_log_minimal_and_escapes)
{
	struct ev_log ev = {.time_us = 0, .level = "WARNING",
			    .code = "UPLINK_F_CNT_RETRANSMISSION",
			    .description = "a/b \"q\"\n\\"};
	char out[OUT_CAP];
	size_t len;

	ck_assert_int_eq(event_json_log(&ev, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "{\"time\":\"1970-01-01T00:00:00+00:00\",\"level\":\"WARNING\","
			      "\"code\":\"UPLINK_F_CNT_RETRANSMISSION\","
			      "\"description\":\"a/b \\\"q\\\"\\n\\\\\",\"context\":{}}");
	ev.level = NULL;
	ck_assert_int_eq(event_json_log(&ev, out, sizeof(out), &len), LB_ERR_INVAL);
	ev.level = "INFO";
	ev.n_context = 1;  /* no key array */
	ck_assert_int_eq(event_json_log(&ev, out, sizeof(out), &len), LB_ERR_INVAL);
	ev.n_context = 0;
	ck_assert_int_eq(event_json_log(&ev, out, 10, &len), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(out[0], '\0');
}
END_TEST

START_TEST(test_gateway_up_exact)
{
	struct lb_rx rx = rx_8_1(join_phy, sizeof(join_phy));
	char out[OUT_CAP];
	size_t len;

	ck_assert_int_eq(event_json_gateway_up(&rx, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "{\"phyPayload\":\"AAEBAQEBAQEBAgICAgICAgIDAwm5ezI=\","
			      "\"txInfo\":" TX_8_1_JSON ",\"rxInfo\":" RX_8_1_JSON "}");
	ck_assert_int_eq(event_json_gateway_up(&rx, out, len, &len), LB_ERR_TOO_LARGE);
	rx.rxpk.size = 0;
	ck_assert_int_eq(event_json_gateway_up(&rx, out, sizeof(out), &len), LB_OK);
	ck_assert_ptr_nonnull(strstr(out, "{\"phyPayload\":\"\",\"txInfo\":"));
	rx.rxpk.size = GWMP_MAX_PHY + 1;
	ck_assert_int_eq(event_json_gateway_up(&rx, out, sizeof(out), &len), LB_ERR_INVAL);
}
END_TEST

/* Modulations, code rates and CRC states other than the example's. */
START_TEST(test_tx_rx_variants)
{
	struct lb_rx rx = rx_8_1(join_phy, sizeof(join_phy));
	char out[OUT_CAP];
	size_t len;

	rx.rxpk.modu = GWMP_MOD_FSK;
	rx.rxpk.bitrate = 50000;
	rx.rxpk.freq_hz = 868800000;
	rx.rxpk.has_lsnr = false;
	rx.rxpk.stat = -1;
	rx.rxpk.tmms = 1399713185000ull;
	ck_assert_int_eq(event_json_gateway_up(&rx, out, sizeof(out), &len), LB_OK);
	ck_assert_ptr_nonnull(strstr(out, "\"txInfo\":{\"frequency\":868800000,"
					  "\"modulation\":{\"fsk\":{\"datarate\":50000}}}"));
	ck_assert_ptr_nonnull(strstr(out, "\"timeSinceGpsEpoch\":\"1399713185s\",\"rssi\":-57,"
					  "\"channel\":0,"));
	ck_assert_ptr_nonnull(strstr(out, "\"crcStatus\":\"BAD_CRC\"}"));

	rx.rxpk.modu = GWMP_MOD_LORA;
	rx.rxpk.sf = 12;
	rx.rxpk.bw_khz = 500;
	rx.rxpk.cr = 4;
	rx.rxpk.stat = 0;
	ck_assert_int_eq(event_json_gateway_up(&rx, out, sizeof(out), &len), LB_OK);
	ck_assert_ptr_nonnull(strstr(out, "{\"lora\":{\"bandwidth\":500000,\"spreadingFactor\":12,"
					  "\"codeRate\":\"CR_4_8\"}}"));
	ck_assert_ptr_nonnull(strstr(out, "\"crcStatus\":\"NO_CRC\"}"));
	rx.rxpk.cr = 0;
	ck_assert_int_eq(event_json_gateway_up(&rx, out, sizeof(out), &len), LB_OK);
	ck_assert_ptr_nonnull(strstr(out, "\"codeRate\":\"CR_UNDEFINED\""));

	rx.rxpk.modu = GWMP_MOD_LRFHSS;
	ck_assert_int_eq(event_json_gateway_up(&rx, out, sizeof(out), &len), LB_OK);
	ck_assert_ptr_nonnull(strstr(out, "\"modulation\":{\"lrFhss\":{}}"));
}
END_TEST

/* SNR is a float32 in ChirpStack: shortest text that reads back equal; in
 * the `up` event as its serde_json writes an f32 ("8.0"). */
START_TEST(test_snr_text)
{
	static const struct { float snr; const char *txt, *up; } v[] = {
		{9.5f, "\"snr\":9.5,", "\"snr\":9.5,"}, {-7.2f, "\"snr\":-7.2,", "\"snr\":-7.2,"},
		{0.0f, "\"snr\":0,", "\"snr\":0.0,"}, {-20.0f, "\"snr\":-20,", "\"snr\":-20.0,"},
		{8.0f, "\"snr\":8,", "\"snr\":8.0,"}, {13.8f, "\"snr\":13.8,", "\"snr\":13.8,"},
		{-0.1f, "\"snr\":-0.1,", "\"snr\":-0.1,"},
	};
	struct lb_rx rx = rx_8_1(join_phy, sizeof(join_phy));
	struct lb_rx up_rx[1] = {rx_8_1(v2_phy, sizeof(v2_phy))};
	struct ev_uplink ev = v2_uplink(up_rx, 1);
	char out[OUT_CAP];
	size_t len;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		rx.rxpk.lsnr = v[i].snr;
		ck_assert_int_eq(event_json_gateway_up(&rx, out, sizeof(out), &len), LB_OK);
		ck_assert_msg(strstr(out, v[i].txt), "%s not in %s", v[i].txt, out);
		up_rx[0].rxpk.lsnr = v[i].snr;
		ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
		ck_assert_msg(strstr(out, v[i].up), "%s not in %s", v[i].up, out);
	}
}
END_TEST

static struct gwmp_stat stat_8_1(void)
{
	struct gwmp_stat st;

	memset(&st, 0, sizeof(st));
	st.has_time = true;
	strcpy(st.time, "2024-05-14 09:12:47 GMT");
	st.has_location = true;
	st.lati = 46.24;
	st.lon = 3.2523;
	st.alti = 145;
	st.rxnb = 2;
	st.rxok = 2;
	st.rxfw = 2;
	st.ackr = 100.0;
	st.dwnb = 0;
	st.txnb = 0;
	return st;
}

START_TEST(test_gateway_stats_exact)
{
	struct gwmp_stat st = stat_8_1();
	char out[OUT_CAP];
	size_t len;

	ck_assert_int_eq(event_json_gateway_stats(0xaa555a0000000101ull, &st, out, sizeof(out), &len),
			 LB_OK);
	ck_assert_str_eq(out, "{\"gatewayId\":\"aa555a0000000101\",\"time\":\"2024-05-14T09:12:47+00:00\","
			      "\"location\":{\"latitude\":46.24,\"longitude\":3.2523,\"altitude\":145,"
			      "\"source\":\"GPS\"},"
			      "\"rxPacketsReceived\":2,\"rxPacketsReceivedOk\":2,"
			      "\"txPacketsReceived\":0,\"txPacketsEmitted\":0,"
			      "\"metadata\":{\"ackRate\":\"100.0\",\"rxForwarded\":\"2\"}}");

	st.has_location = false;
	st.has_time = false;
	st.has_temp = true;
	st.temp = 41.25;
	st.rxnb = 4000000000u;
	st.dwnb = 7;
	st.txnb = 6;
	st.ackr = 87.5;
	ck_assert_int_eq(event_json_gateway_stats(1, &st, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "{\"gatewayId\":\"0000000000000001\","
			      "\"rxPacketsReceived\":4000000000,\"rxPacketsReceivedOk\":2,"
			      "\"txPacketsReceived\":7,\"txPacketsEmitted\":6,"
			      "\"metadata\":{\"ackRate\":\"87.5\",\"rxForwarded\":\"2\","
			      "\"temperature\":\"41.2\"}}");
	ck_assert_int_eq(event_json_gateway_stats(1, &st, out, 20, &len), LB_ERR_TOO_LARGE);
}
END_TEST

/* Fields the gateway sent outside their range (gwmp_stat.dropped) are left
 * out of the event, the rest stays. */
START_TEST(test_gateway_stats_dropped_fields)
{
	struct gwmp_stat st = stat_8_1();
	char out[OUT_CAP];
	size_t len;

	st.dropped = GWMP_STAT_BIT(GWMP_STAT_ALTI) | GWMP_STAT_BIT(GWMP_STAT_RXNB) |
		     GWMP_STAT_BIT(GWMP_STAT_RXFW) | GWMP_STAT_BIT(GWMP_STAT_ACKR) |
		     GWMP_STAT_BIT(GWMP_STAT_TXNB) | GWMP_STAT_BIT(GWMP_STAT_TEMP);
	ck_assert_int_eq(event_json_gateway_stats(0xaa555a0000000101ull, &st, out, sizeof(out),
						  &len), LB_OK);
	ck_assert_str_eq(out, "{\"gatewayId\":\"aa555a0000000101\","
			      "\"time\":\"2024-05-14T09:12:47+00:00\","
			      "\"location\":{\"latitude\":46.24,\"longitude\":3.2523,"
			      "\"source\":\"GPS\"},"
			      "\"rxPacketsReceivedOk\":2,\"txPacketsReceived\":0,"
			      "\"metadata\":{}}");
	st.dropped = GWMP_STAT_BIT(GWMP_STAT_RXOK) | GWMP_STAT_BIT(GWMP_STAT_DWNB);
	ck_assert_int_eq(event_json_gateway_stats(1, &st, out, sizeof(out), &len), LB_OK);
	ck_assert_ptr_null(strstr(out, "rxPacketsReceivedOk"));
	ck_assert_ptr_null(strstr(out, "txPacketsReceived\""));
	ck_assert_ptr_nonnull(strstr(out, "\"altitude\":145"));
	ck_assert_ptr_nonnull(strstr(out, "\"txPacketsEmitted\":0"));
}
END_TEST

START_TEST(test_gateway_stats_time_forms)
{
	static const struct { const char *in; const char *want; } v[] = {
		{"2024-05-14 09:12:47 GMT", "\"time\":\"2024-05-14T09:12:47+00:00\""},
		{"2024-05-14 09:12:47 UTC", "\"time\":\"2024-05-14T09:12:47+00:00\""},
		{"2024-05-14T09:12:47Z", "\"time\":\"2024-05-14T09:12:47+00:00\""},
		{"2024-05-14 09:12:47", "\"time\":\"2024-05-14T09:12:47+00:00\""},
		{"2024-13-14 09:12:47 GMT", NULL},
		{"2024-05-14 09:12:47 +0200", NULL},
		{"yesterday", NULL},
		{"", NULL},
	};
	struct gwmp_stat st = stat_8_1();
	char out[OUT_CAP];
	size_t len;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		strcpy(st.time, v[i].in);
		ck_assert_int_eq(event_json_gateway_stats(1, &st, out, sizeof(out), &len), LB_OK);
		if (v[i].want)
			ck_assert_msg(strstr(out, v[i].want), "%s -> %s", v[i].in, out);
		else
			ck_assert_msg(!strstr(out, "\"time\""), "%s -> %s", v[i].in, out);
	}
}
END_TEST

START_TEST(test_gateway_conn)
{
	char out[OUT_CAP];
	size_t len;

	ck_assert_int_eq(event_json_gateway_conn(0xaa555a0000000101ull, true, out, sizeof(out), &len),
			 LB_OK);
	ck_assert_str_eq(out, "{\"gatewayId\":\"aa555a0000000101\",\"state\":\"ONLINE\"}");
	ck_assert_uint_eq(len, 49);
	ck_assert_int_eq(event_json_gateway_conn(0xaa555a0000000101ull, false, out, sizeof(out), &len),
			 LB_OK);
	ck_assert_str_eq(out, "{\"gatewayId\":\"aa555a0000000101\",\"state\":\"OFFLINE\"}");
	ck_assert_int_eq(event_json_gateway_conn(1, false, out, 50, &len), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(event_json_gateway_conn(1, false, out, 51, &len), LB_OK);
	ck_assert_uint_eq(len, 50);
}
END_TEST

/* dutyCycle: usedPercent as "%.3f", limitPercent the shortest float text.
 * A value too large for a short buffer (the json-c builder cut its text at
 * 47 characters, a different number) prints whole, as printf does; so
 * does a metadata "%.1f" string. */
START_TEST(test_gateway_stats_duty_cycle_numbers)
{
	struct gwmp_stat st = stat_8_1();
	struct ev_duty_cycle dc[2] = {{"869.400-869.650", 0.12, 10.0}, {"868.000-868.600", 1e50, 0.1}};
	char out[OUT_CAP], want[OUT_CAP], big3[400], big1[400];
	size_t len;

	st.has_time = false;
	st.has_location = false;
	st.ackr = -1e60;
	snprintf(big3, sizeof(big3), "%.3f", 1e50);
	snprintf(big1, sizeof(big1), "%.1f", -1e60);
	ck_assert_uint_gt(strlen(big3), 50);
	ck_assert_int_eq(event_json_gateway_stats_dc(1, &st, dc, 2, out, sizeof(out), &len), LB_OK);
	snprintf(want, sizeof(want),
		 "{\"gatewayId\":\"0000000000000001\","
		 "\"rxPacketsReceived\":2,\"rxPacketsReceivedOk\":2,"
		 "\"txPacketsReceived\":0,\"txPacketsEmitted\":0,"
		 "\"metadata\":{\"ackRate\":\"%s\",\"rxForwarded\":\"2\"},"
		 "\"dutyCycle\":[{\"subBand\":\"869.400-869.650\",\"usedPercent\":0.120,"
		 "\"limitPercent\":10},{\"subBand\":\"868.000-868.600\",\"usedPercent\":%s,"
		 "\"limitPercent\":0.1}]}",
		 big1, big3);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(len, strlen(want));
}
END_TEST

/* state/mac: dr null while unknown (no uplink's data rate yet). */
START_TEST(test_mac_state)
{
	struct ev_mac_state st = {.dr = 5, .tx_power = 2, .nb_trans = 1, .adr = true,
				  .network_adr = true, .adr_backoff = false};
	char out[OUT_CAP];
	size_t len;

	ck_assert_int_eq(event_json_mac_state(&st, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "{\"dr\":5,\"txPower\":2,\"nbTrans\":1,\"adr\":true,"
			      "\"networkAdr\":true,\"adrBackoff\":false}");
	st.dr = -1;
	st.adr_backoff = true;
	ck_assert_int_eq(event_json_mac_state(&st, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "{\"dr\":null,\"txPower\":2,\"nbTrans\":1,\"adr\":true,"
			      "\"networkAdr\":true,\"adrBackoff\":true}");
	ck_assert_int_eq(event_json_mac_state(&st, out, 20, &len), LB_ERR_TOO_LARGE);
	ck_assert_str_eq(out, "");
}
END_TEST

/* The downlink-side device events refuse a device with a NULL tag key,
 * as the up event does, and write nothing. */
START_TEST(test_device_events_invalid_dev)
{
	struct lb_tag bad_tags[1] = {{NULL, NULL}};
	struct ev_device bad = dev;
	struct gwmp_txpk pk = {.freq_hz = 869525000, .modu = GWMP_MOD_LORA, .sf = 12, .bw_khz = 125};
	struct ev_join j = {.dev = &bad};
	struct ev_ack a = {.dev = &bad};
	struct ev_status s = {.dev = &bad};
	struct ev_txack t = {.dev = &bad, .tx = {.txpk = &pk}};
	char out[OUT_CAP];
	size_t len;

	bad.tags = bad_tags;
	bad.n_tags = 1;
	ck_assert_int_eq(event_json_join(&j, out, sizeof(out), &len), LB_ERR_INVAL);
	ck_assert_int_eq(event_json_ack(&a, out, sizeof(out), &len), LB_ERR_INVAL);
	ck_assert_int_eq(event_json_status(&s, out, sizeof(out), &len), LB_ERR_INVAL);
	ck_assert_int_eq(event_json_txack(&t, out, sizeof(out), &len), LB_ERR_INVAL);
	bad.n_tags = 0;
	ck_assert_int_eq(event_json_join(&j, out, sizeof(out), &len), LB_OK);
	ck_assert_int_eq(event_json_txack(&t, out, sizeof(out), &len), LB_OK);
}
END_TEST

/* The old gmtime_r() + snprintf() formatting, as the reference. */
static int ref_time(int64_t us, char out[EVENT_JSON_TIME_LEN])
{
	int64_t sec = us / 1000000, frac = us % 1000000;
	struct tm tm;
	if (frac < 0) {
		frac += 1000000;
		sec--;
	}
	time_t t = (time_t)sec;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return LB_ERR_RANGE;
	int n = snprintf(out, EVENT_JSON_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (frac == 0)
		snprintf(out + n, (size_t)(EVENT_JSON_TIME_LEN - n), "+00:00");
	else if (frac % 1000 == 0)
		snprintf(out + n, (size_t)(EVENT_JSON_TIME_LEN - n), ".%03d+00:00", (int)(frac / 1000));
	else
		snprintf(out + n, (size_t)(EVENT_JSON_TIME_LEN - n), ".%06d+00:00", (int)frac);
	return LB_OK;
}

/* Every 13th day of years 0..9999 and their edges, random instants: as gmtime_r(). */
START_TEST(test_format_time_as_gmtime)
{
	const int64_t day = INT64_C(86400000000);
	const int64_t lo = INT64_C(-62167219200000000), hi = INT64_C(253402300800000000);
	char got[EVENT_JSON_TIME_LEN], want[EVENT_JSON_TIME_LEN];
	uint64_t r = 88172645463325252ull;

	for (int64_t us = lo - 2 * day; us < hi + 2 * day; us += 13 * day - 1) {
		int rc = event_json_format_time(us, got);
		ck_assert_int_eq(rc, ref_time(us, want));
		if (rc == LB_OK)
			ck_assert_str_eq(got, want);
	}
	for (int i = 0; i < 50000; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		int64_t us = lo + (int64_t)(r % (uint64_t)(hi - lo));
		if (i % 3 == 1)
			us -= us % 1000;
		if (i % 3 == 2)
			us -= us % 1000000;
		ck_assert_int_eq(event_json_format_time(us, got), LB_OK);
		ck_assert_int_eq(ref_time(us, want), LB_OK);
		ck_assert_str_eq(got, want);
	}
	ck_assert_int_eq(event_json_format_time(lo - 1, got), LB_ERR_RANGE);
	ck_assert_int_eq(event_json_format_time(lo, got), LB_OK);
	ck_assert_str_eq(got, "0000-01-01T00:00:00+00:00");
}
END_TEST

/* Through one memo: runs of times inside an hour and across hours, days,
 * the epoch and the range's ends, as gmtime_r() (an error leaves the memo
 * usable). */
START_TEST(test_format_time_memo)
{
	const int64_t lo = INT64_C(-62167219200000000), hi = INT64_C(253402300800000000);
	const int64_t starts[] = {lo - 7200000000, -7200000000, T_8_1_US, hi - 7200000000};
	struct event_json_time_memo m;
	char got[EVENT_JSON_TIME_LEN], want[EVENT_JSON_TIME_LEN];

	event_json_time_memo_init(&m);
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		for (int64_t us = starts[i]; us < starts[i] + 14400000000; us += 1234567891) {
			for (int k = 0; k < 3; k++) {
				int64_t t = us + k * 1000;   /* the same hour again */
				int rc = event_json_format_time_memo(t, got, &m);
				ck_assert_int_eq(rc, ref_time(t, want));
				if (rc == LB_OK)
					ck_assert_str_eq(got, want);
			}
		}
	}
	ck_assert_int_eq(event_json_format_time_memo(T_8_1_US, got, &m), LB_OK);
	ck_assert_str_eq(got, "2024-05-14T09:12:47.318406+00:00");
	ck_assert_int_eq(event_json_format_time_memo(INT64_MIN, got, &m), LB_ERR_RANGE);
	ck_assert_int_eq(event_json_format_time_memo(T_8_1_US + 1000000, got, &m), LB_OK);
	ck_assert_str_eq(got, "2024-05-14T09:12:48.318406+00:00");
}
END_TEST

START_TEST(test_format_time)
{
	static const struct { int64_t us; const char *txt; } v[] = {
		{0, "1970-01-01T00:00:00+00:00"},
		{1500000, "1970-01-01T00:00:01.500+00:00"},
		{1000001, "1970-01-01T00:00:01.000001+00:00"},
		{-1, "1969-12-31T23:59:59.999999+00:00"},
		{T_8_1_US, "2024-05-14T09:12:47.318406+00:00"},
		{INT64_C(253402300799999999), "9999-12-31T23:59:59.999999+00:00"},
		/* Past 2038 (where a 32-bit time_t, as on armhf, ends): the
		 * last µs before 2^31 s, 2^31 s, a 2040 leap day. */
		{INT64_C(2147483647999999), "2038-01-19T03:14:07.999999+00:00"},
		{INT64_C(2147483648000000), "2038-01-19T03:14:08+00:00"},
		{INT64_C(2214129600250000), "2040-02-29T12:00:00.250+00:00"},
	};
	char t[EVENT_JSON_TIME_LEN];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_int_eq(event_json_format_time(v[i].us, t), LB_OK);
		ck_assert_str_eq(t, v[i].txt);
	}
	ck_assert_int_eq(event_json_format_time(INT64_C(253402300800000000), t), LB_ERR_RANGE);
	ck_assert_int_eq(event_json_format_time(INT64_MAX, t), LB_ERR_RANGE);
	ck_assert_int_eq(event_json_format_time(INT64_MIN, t), LB_ERR_RANGE);
}
END_TEST

/* A time that cannot be printed fails the event instead of printing junk. */
START_TEST(test_bad_time_fails_event)
{
	struct lb_rx rx = rx_8_1(v2_phy, sizeof(v2_phy));
	struct ev_uplink ev = v2_uplink(&rx, 1);
	char out[OUT_CAP];
	size_t len;

	ev.time_us = INT64_MAX;
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_ERR_RANGE);
	ck_assert_int_eq(out[0], '\0');
}
END_TEST

static Suite *event_json_suite(void)
{
	Suite *s = suite_create("event_json");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);   /* the time formatting sweep, sanitizers, a busy machine */

	tcase_add_test(tc, test_up_v2_exact);
	tcase_add_test(tc, test_up_device_head);
	tcase_add_test(tc, test_format_time_memo);
	tcase_add_test(tc, test_up_v2_parse_back);
	tcase_add_test(tc, test_up_absent_fields);
	tcase_add_test(tc, test_rx_metadata);
	tcase_add_test(tc, test_location_text);
	tcase_add_test(tc, test_up_rx_location);
	tcase_add_test(tc, test_up_empty_payload_and_slash);
	tcase_add_test(tc, test_up_airtime_fair_access);
	tcase_add_test(tc, test_up_mac_unknown_cid);
	tcase_add_test(tc, test_up_too_large);
	tcase_add_test(tc, test_up_invalid);
	tcase_add_test(tc, test_log_exact);
	tcase_add_test(tc, test_log_minimal_and_escapes);
	tcase_add_test(tc, test_gateway_up_exact);
	tcase_add_test(tc, test_format_time_as_gmtime);
	tcase_add_test(tc, test_tx_rx_variants);
	tcase_add_test(tc, test_snr_text);
	tcase_add_test(tc, test_gateway_stats_exact);
	tcase_add_test(tc, test_gateway_stats_dropped_fields);
	tcase_add_test(tc, test_gateway_stats_time_forms);
	tcase_add_test(tc, test_gateway_conn);
	tcase_add_test(tc, test_gateway_stats_duty_cycle_numbers);
	tcase_add_test(tc, test_mac_state);
	tcase_add_test(tc, test_device_events_invalid_dev);
	tcase_add_test(tc, test_format_time);
	tcase_add_test(tc, test_bad_time_fails_event);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(event_json_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
