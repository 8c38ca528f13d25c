/* SPDX-License-Identifier: MIT */
/*
 * test_web_json.c - the web API's JSON (bridge, gateway, device; nulls for
 * unknown values, RFC 3339 times, numbers without float noise), the event
 * wrapper and the Server-Sent Events framing (WHATWG HTML §9.2).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/lb_err.h"
#include "events/web_json.h"
#include "testutil.h"

static void assert_json(struct json_object *o, const char *want)
{
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), want);
	json_object_put(o);
}

START_TEST(t_bridge)
{
	struct web_bridge_view v = {.client_id = "lb", .version = "0.1.0", .region = "EU868",
				    .uptime_s = 12, .mqtt_connected = true, .writable = false};
	assert_json(web_json_bridge(&v),
		    "{\"clientId\":\"lb\",\"version\":\"0.1.0\",\"region\":\"EU868\",\"uptimeS\":12,"
		    "\"mqttConnected\":true,\"writable\":false}");
}
END_TEST

START_TEST(t_gateway)
{
	struct ev_duty_cycle dc[] = {{"868.000-868.600", 0.41, 1}, {"869.400-869.650", 0.0, 10}};
	struct web_gw_view v = {
		.eui = 0xaa555a0000000101ull, .online = true,
		.last_seen_us = 1700000000123000, .address = "127.0.0.1:40001",
		.rx_received = 12, .rx_ok = 11, .rx_forwarded = 12, .tx_emitted = 1,
		.dc = dc, .n_dc = 2,
	};
	assert_json(web_json_gateway(&v),
		    "{\"gatewayId\":\"aa555a0000000101\",\"online\":true,"
		    "\"lastSeen\":\"2023-11-14T22:13:20.123+00:00\",\"address\":\"127.0.0.1:40001\","
		    "\"rxPacketsReceived\":12,\"rxPacketsReceivedOk\":11,\"rxForwarded\":12,"
		    "\"txPacketsEmitted\":1,\"dutyCycle\":[{\"subBand\":\"868.000-868.600\","
		    "\"usedPercent\":0.41,\"limitPercent\":1.0},{\"subBand\":\"869.400-869.650\","
		    "\"usedPercent\":0.0,\"limitPercent\":10.0}]}");
	struct web_gw_view never = {.eui = 1};
	assert_json(web_json_gateway(&never),
		    "{\"gatewayId\":\"0000000000000001\",\"online\":false,\"lastSeen\":null,"
		    "\"address\":null,\"rxPacketsReceived\":0,\"rxPacketsReceivedOk\":0,"
		    "\"rxForwarded\":0,\"txPacketsEmitted\":0,\"dutyCycle\":[]}");
}
END_TEST

START_TEST(t_device_unknowns)
{
	struct web_dev_view v = {.dev_eui = 0x0101010101010101ull, .name = "sensor-1",
				 .application = "demo", .dev_class = 'A', .dr = -1, .battery = -1};
	assert_json(web_json_device(&v),
		    "{\"devEui\":\"0101010101010101\",\"name\":\"sensor-1\",\"application\":\"demo\","
		    "\"class\":\"A\",\"devAddr\":null,\"lastSeen\":null,\"fCntUp\":null,"
		    "\"fCntDown\":null,\"dr\":null,\"rssi\":[],\"snr\":[],\"battery\":null,"
		    "\"margin\":null,\"fairAccess\":null,\"object\":null,\"queue\":0}");
}
END_TEST

START_TEST(t_device_full)
{
	int16_t rssi[] = {-57, -60};
	float snr[] = {9.5f, 8.0f};
	struct web_dev_view v = {
		.dev_eui = 0x0101010101010101ull, .name = "s", .application = "a", .dev_class = 'C',
		.has_dev_addr = true, .dev_addr = 0x26011001, .last_seen_us = 1000000,
		.has_fcnt_up = true, .fcnt_up = 41, .has_fcnt_down = true, .fcnt_down = 3, .dr = 5,
		.rssi = rssi, .snr = snr, .n_radio = 2, .battery = 87, .has_margin = true,
		.margin = 12, .has_fair_access = true,
		.fa = {.uplink_airtime_ms = 123.4, .uplink_budget_ms = 30000, .downlinks = 1,
		       .downlink_budget = 10, .exceeded = false},
		.object_json = "{\"temperature\":21.5}", .queue = 2,
	};
	assert_json(web_json_device(&v),
		    "{\"devEui\":\"0101010101010101\",\"name\":\"s\",\"application\":\"a\","
		    "\"class\":\"C\",\"devAddr\":\"26011001\","
		    "\"lastSeen\":\"1970-01-01T00:00:01+00:00\",\"fCntUp\":41,\"fCntDown\":3,\"dr\":5,"
		    "\"rssi\":[-57,-60],\"snr\":[9.5,8.0],\"battery\":87,\"margin\":12,"
		    "\"fairAccess\":{\"uplinkAirtimeMs\":123.4,\"uplinkBudgetMs\":30000,"
		    "\"downlinks\":1,\"downlinkBudget\":10,\"exceeded\":false},"
		    "\"object\":{\"temperature\":21.5},\"queue\":2}");
}
END_TEST

/* The text the live `device` events carry is the tree's, byte for byte,
 * and within web_json_device_cap(). */
static void assert_text_is_tree(const struct web_dev_view *v)
{
	char out[8192];
	size_t len, cap = web_json_device_cap(v);
	struct json_object *o = web_json_device(v);

	ck_assert_uint_le(cap, sizeof(out));
	ck_assert_int_eq(web_json_device_text(v, out, cap, &len), LB_OK);
	ck_assert_uint_eq(len, strlen(out));
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	ck_assert_int_eq(web_json_device_text(v, out, len, &len), LB_ERR_TOO_LARGE);
	ck_assert_str_eq(out, "");
}

START_TEST(t_device_text)
{
	int16_t rssi[20];
	float snr[20];
	char name[200];

	for (int i = 0; i < 20; i++) {
		rssi[i] = (int16_t)(-140 + i * 7);
		snr[i] = -20.04f + (float)i * 1.37f;
	}
	memset(name, 0x01, sizeof(name) - 1);   /* every byte escaped as \u0001 */
	name[sizeof(name) - 1] = '\0';
	struct web_dev_view unknown = {.dev_eui = 1, .name = "x", .dr = -1, .battery = -1};
	struct web_dev_view full = {
		.dev_eui = 0xfedcba9876543210ull, .name = name, .application = "a/b \"q\"",
		.dev_class = 'C', .has_dev_addr = true, .dev_addr = 0xffffffff,
		.last_seen_us = INT64_C(1715677967318406), .has_fcnt_up = true,
		.fcnt_up = 4294967295u, .has_fcnt_down = true, .fcnt_down = 0, .dr = 15,
		.rssi = rssi, .snr = snr, .n_radio = 20, .battery = 100, .has_margin = true,
		.margin = -20, .has_fair_access = true,
		.fa = {.uplink_airtime_ms = 0.0005, .uplink_budget_ms = 36000, .downlinks = 0,
		       .downlink_budget = 0, .exceeded = true},
		.object_json = "{\"t\":-1.5,\"s\":\"a/b\",\"l\":[1,{}]}", .queue = 12345678901ull,
	};
	assert_text_is_tree(&unknown);
	assert_text_is_tree(&full);
}
END_TEST

START_TEST(t_error_and_wrap)
{
	char out[256];
	size_t len;

	ck_assert_int_eq(web_json_error("bad \"x\"", out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "{\"error\":\"bad \\\"x\\\"\"}");
	ck_assert_int_eq(web_json_error("bad", out, 8, &len), LB_ERR_TOO_LARGE);
	const char *ev = "{\"fCnt\":1}";
	ck_assert_int_eq(web_json_wrap_event(0x5a00000700000001ull, "a\"b", ev, strlen(ev), out,
					     sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "{\"devEui\":\"5a00000700000001\",\"application\":\"a\\\"b\","
			      "\"event\":{\"fCnt\":1}}");
	ck_assert_uint_eq(len, strlen(out));
	struct json_object *o = json_tokener_parse(out);
	ck_assert_ptr_nonnull(o);
	json_object_put(o);
	ck_assert_int_eq(web_json_wrap_event(1, "a", ev, strlen(ev), out, 40, &len),
			 LB_ERR_TOO_LARGE);
}
END_TEST

START_TEST(t_sse_frame)
{
	char out[128];
	size_t len;

	ck_assert_int_eq(web_sse_frame("up", "{\"a\":1}", 7, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "event: up\ndata: {\"a\":1}\n\n");
	ck_assert_uint_eq(len, strlen(out));
	/* a line break in the data starts a new data line; CR is dropped */
	ck_assert_int_eq(web_sse_frame("log", "a\r\nb", 4, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, "event: log\ndata: a\ndata: b\n\n");
	ck_assert_int_eq(web_sse_frame("bad name", "x", 1, out, sizeof(out), &len), LB_ERR_INVAL);
	ck_assert_int_eq(web_sse_frame("x\n", "x", 1, out, sizeof(out), &len), LB_ERR_INVAL);
	ck_assert_int_eq(web_sse_frame("up", "0123456789", 10, out, 20, &len), LB_ERR_TOO_LARGE);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("web_json");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_bridge);
	tcase_add_test(tc, t_gateway);
	tcase_add_test(tc, t_device_unknowns);
	tcase_add_test(tc, t_device_full);
	tcase_add_test(tc, t_device_text);
	tcase_add_test(tc, t_error_and_wrap);
	tcase_add_test(tc, t_sse_frame);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
