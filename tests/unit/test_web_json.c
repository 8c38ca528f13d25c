/* SPDX-License-Identifier: MIT */
/*
 * test_web_json.c - the web API's JSON (bridge, gateway, device; nulls for
 * unknown values, RFC 3339 times, numbers without float noise), written as
 * text and compared with the json-c trees it was built as before (here
 * only), the event wrapper and the Server-Sent Events framing (WHATWG HTML
 * §9.2).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/hex.h"
#include "base/jsonw.h"
#include "base/lb_err.h"
#include "events/web_json.h"
#include "testutil.h"

/* ------------------------------------------------------- the previous shape */

/* The trees the API's JSON was built from before it was written as text
 * (json-c, here in the test only): the reference the text must equal. */
static struct json_object *ref_rounded(double v, int digits)
{
	char text[48];
	int n = snprintf(text, sizeof(text), "%.*f", digits, v);

	if (strchr(text, '.')) {
		while (n > 1 && text[n - 1] == '0')
			text[--n] = '\0';
		if (text[n - 1] == '.')
			text[n++] = '0';
		text[n] = '\0';
	}
	return json_object_new_double_s(v, text);
}

static struct json_object *ref_time(int64_t us)
{
	char t[EVENT_JSON_TIME_LEN];

	if (us <= 0 || event_json_format_time(us, t) != LB_OK)
		return NULL;
	return json_object_new_string(t);
}

static struct json_object *ref_bridge(const struct web_bridge_view *v)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "clientId", json_object_new_string(v->client_id));
	json_object_object_add(o, "version", json_object_new_string(v->version));
	json_object_object_add(o, "region", json_object_new_string(v->region));
	json_object_object_add(o, "uptimeS", json_object_new_int64(v->uptime_s));
	json_object_object_add(o, "mqttConnected", json_object_new_boolean(v->mqtt_connected));
	json_object_object_add(o, "writable", json_object_new_boolean(v->writable));
	return o;
}

static struct json_object *ref_gateway(const struct web_gw_view *v)
{
	struct json_object *o = json_object_new_object(), *dc = json_object_new_array();
	char eui[17];

	hex_format_eui(v->eui, eui);
	json_object_object_add(o, "gatewayId", json_object_new_string(eui));
	json_object_object_add(o, "online", json_object_new_boolean(v->online));
	json_object_object_add(o, "lastSeen", ref_time(v->last_seen_us));
	json_object_object_add(o, "address", v->address ? json_object_new_string(v->address) : NULL);
	json_object_object_add(o, "rxPacketsReceived", json_object_new_uint64(v->rx_received));
	json_object_object_add(o, "rxPacketsReceivedOk", json_object_new_uint64(v->rx_ok));
	json_object_object_add(o, "rxForwarded", json_object_new_uint64(v->rx_forwarded));
	json_object_object_add(o, "txPacketsEmitted", json_object_new_uint64(v->tx_emitted));
	for (size_t i = 0; i < v->n_dc; i++) {
		struct json_object *e = json_object_new_object();
		json_object_object_add(e, "subBand", json_object_new_string(v->dc[i].name));
		json_object_object_add(e, "usedPercent", ref_rounded(v->dc[i].used_pct, 3));
		json_object_object_add(e, "limitPercent", ref_rounded(v->dc[i].limit_pct, 3));
		json_object_array_add(dc, e);
	}
	json_object_object_add(o, "dutyCycle", dc);
	return o;
}

static struct json_object *ref_device(const struct web_dev_view *v)
{
	struct json_object *o = json_object_new_object();
	struct json_object *rssi = json_object_new_array(), *snr = json_object_new_array();
	char eui[17], addr[9], cls[2] = {v->dev_class ? v->dev_class : 'A', '\0'};

	hex_format_eui(v->dev_eui, eui);
	hex_format_u32(v->dev_addr, addr);
	json_object_object_add(o, "devEui", json_object_new_string(eui));
	json_object_object_add(o, "name", json_object_new_string(v->name ? v->name : ""));
	json_object_object_add(o, "application",
			       json_object_new_string(v->application ? v->application : ""));
	json_object_object_add(o, "class", json_object_new_string(cls));
	json_object_object_add(o, "devAddr", v->has_dev_addr ? json_object_new_string(addr) : NULL);
	json_object_object_add(o, "lastSeen", ref_time(v->last_seen_us));
	json_object_object_add(o, "fCntUp", v->has_fcnt_up ? json_object_new_int64(v->fcnt_up) : NULL);
	json_object_object_add(o, "fCntDown",
			       v->has_fcnt_down ? json_object_new_int64(v->fcnt_down) : NULL);
	json_object_object_add(o, "dr", v->dr >= 0 ? json_object_new_int(v->dr) : NULL);
	for (size_t i = 0; i < v->n_radio; i++) {
		json_object_array_add(rssi, json_object_new_int(v->rssi[i]));
		json_object_array_add(snr, ref_rounded((double)v->snr[i], 1));
	}
	json_object_object_add(o, "rssi", rssi);
	json_object_object_add(o, "snr", snr);
	json_object_object_add(o, "battery", v->battery >= 0 ? json_object_new_int(v->battery) : NULL);
	json_object_object_add(o, "margin", v->has_margin ? json_object_new_int(v->margin) : NULL);
	struct json_object *fa = NULL;
	if (v->has_fair_access) {
		fa = json_object_new_object();
		json_object_object_add(fa, "uplinkAirtimeMs", ref_rounded(v->fa.uplink_airtime_ms, 3));
		json_object_object_add(fa, "uplinkBudgetMs", json_object_new_int64(v->fa.uplink_budget_ms));
		json_object_object_add(fa, "downlinks", json_object_new_int64(v->fa.downlinks));
		json_object_object_add(fa, "downlinkBudget", json_object_new_int64(v->fa.downlink_budget));
		json_object_object_add(fa, "exceeded", json_object_new_boolean(v->fa.exceeded));
	}
	json_object_object_add(o, "fairAccess", fa);
	json_object_object_add(o, "object", v->object_json ? json_tokener_parse(v->object_json) : NULL);
	json_object_object_add(o, "queue", json_object_new_uint64(v->queue));
	return o;
}

/* ------------------------------------------------------- text vs. tree */

enum shape { BRIDGE, GATEWAY, DEVICE };

static size_t cap_of(enum shape k, const void *v)
{
	return k == BRIDGE ? web_json_bridge_cap(v) : k == GATEWAY ? web_json_gateway_cap(v)
								   : web_json_device_cap(v);
}

/* v's text by its writer into out (at most cap bytes); LB_OK or the error. */
static int text_of(enum shape k, const void *v, char *out, size_t cap, size_t *len)
{
	struct jsonw w;

	jsonw_init(&w, out, cap);
	if (k == BRIDGE)
		web_json_w_bridge(&w, v);
	else if (k == GATEWAY)
		web_json_w_gateway(&w, v);
	else
		web_json_w_device(&w, v);
	return jsonw_finish(&w, len);
}

/* The writer's text within its _cap, and nothing with a byte less than
 * it needs; equal, byte for byte, to the previous tree's as json-c printed
 * it (PLAIN, '/' unescaped: jsonw.h), and valid JSON. */
static void assert_shape(enum shape k, const void *v, struct json_object *ref)
{
	char out[16384];
	size_t len, cap = cap_of(k, v);

	ck_assert_ptr_nonnull(ref);
	ck_assert_uint_le(cap, sizeof(out));
	ck_assert_int_eq(text_of(k, v, out, cap, &len), LB_OK);
	ck_assert_uint_eq(len, strlen(out));
	ck_assert_str_eq(out, json_object_to_json_string_ext(ref, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE));
	struct json_object *back = json_tokener_parse(out);
	ck_assert_ptr_nonnull(back);   /* one JSON value, whole */
	json_object_put(back);
	json_object_put(ref);
	ck_assert_int_eq(text_of(k, v, out, len, &len), LB_ERR_TOO_LARGE);
	ck_assert_str_eq(out, "");
}

/* The text as a literal: the shape the page (www/app.js) reads. */
static void assert_text(enum shape k, const void *v, const char *want)
{
	char out[16384];
	size_t len;

	ck_assert_int_eq(text_of(k, v, out, cap_of(k, v), &len), LB_OK);
	ck_assert_str_eq(out, want);
}

START_TEST(t_bridge)
{
	struct web_bridge_view v = {.client_id = "lb", .version = "0.1.0", .region = "EU868",
				    .uptime_s = 12, .mqtt_connected = true, .writable = false};
	assert_text(BRIDGE, &v,
		    "{\"clientId\":\"lb\",\"version\":\"0.1.0\",\"region\":\"EU868\",\"uptimeS\":12,"
		    "\"mqttConnected\":true,\"writable\":false}");
	assert_shape(BRIDGE, &v, ref_bridge(&v));
	struct web_bridge_view odd = {.client_id = "a/b\"\\\x01\xc3\xa9", .version = "",
				      .region = "\n", .uptime_s = INT64_MAX, .writable = true};
	assert_shape(BRIDGE, &odd, ref_bridge(&odd));
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
	assert_text(GATEWAY, &v,
		    "{\"gatewayId\":\"aa555a0000000101\",\"online\":true,"
		    "\"lastSeen\":\"2023-11-14T22:13:20.123+00:00\",\"address\":\"127.0.0.1:40001\","
		    "\"rxPacketsReceived\":12,\"rxPacketsReceivedOk\":11,\"rxForwarded\":12,"
		    "\"txPacketsEmitted\":1,\"dutyCycle\":[{\"subBand\":\"868.000-868.600\","
		    "\"usedPercent\":0.41,\"limitPercent\":1.0},{\"subBand\":\"869.400-869.650\","
		    "\"usedPercent\":0.0,\"limitPercent\":10.0}]}");
	assert_shape(GATEWAY, &v, ref_gateway(&v));
	struct web_gw_view never = {.eui = 1};
	assert_text(GATEWAY, &never,
		    "{\"gatewayId\":\"0000000000000001\",\"online\":false,\"lastSeen\":null,"
		    "\"address\":null,\"rxPacketsReceived\":0,\"rxPacketsReceivedOk\":0,"
		    "\"rxForwarded\":0,\"txPacketsEmitted\":0,\"dutyCycle\":[]}");
	assert_shape(GATEWAY, &never, ref_gateway(&never));
	/* every number's edge: counters at their maximum, percentages with
	 * noise to cut, tiny and large */
	struct ev_duty_cycle many[8] = {
		{"a", 0.1 + 0.2, 100}, {"b", 1e-9, 0.0005}, {"c", 99.9999, 33.3333333},
		{"d", 123456.789, 1e6}, {"e", 0.0004999, 0.0005001}, {"f", 2.5, 7.125},
		{"g", 1e12, 5e-4}, {"h\"/", 50, 100},
	};
	struct web_gw_view edge = {
		.eui = UINT64_MAX, .last_seen_us = INT64_C(253402300799000000),
		.address = "[2001:db8::1]:1700", .rx_received = UINT64_MAX, .rx_ok = 1,
		.rx_forwarded = UINT64_MAX - 1, .tx_emitted = 4294967296ull, .dc = many, .n_dc = 8,
	};
	assert_shape(GATEWAY, &edge, ref_gateway(&edge));
}
END_TEST

START_TEST(t_device_unknowns)
{
	struct web_dev_view v = {.dev_eui = 0x0101010101010101ull, .name = "sensor-1",
				 .application = "demo", .dev_class = 'A', .dr = -1, .battery = -1};
	assert_text(DEVICE, &v,
		    "{\"devEui\":\"0101010101010101\",\"name\":\"sensor-1\",\"application\":\"demo\","
		    "\"class\":\"A\",\"devAddr\":null,\"lastSeen\":null,\"fCntUp\":null,"
		    "\"fCntDown\":null,\"dr\":null,\"rssi\":[],\"snr\":[],\"battery\":null,"
		    "\"margin\":null,\"fairAccess\":null,\"object\":null,\"queue\":0}");
	assert_shape(DEVICE, &v, ref_device(&v));
	struct web_dev_view bare = {.dev_eui = 1, .dr = -1, .battery = -1};
	assert_shape(DEVICE, &bare, ref_device(&bare));
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
	assert_text(DEVICE, &v,
		    "{\"devEui\":\"0101010101010101\",\"name\":\"s\",\"application\":\"a\","
		    "\"class\":\"C\",\"devAddr\":\"26011001\","
		    "\"lastSeen\":\"1970-01-01T00:00:01+00:00\",\"fCntUp\":41,\"fCntDown\":3,\"dr\":5,"
		    "\"rssi\":[-57,-60],\"snr\":[9.5,8.0],\"battery\":87,\"margin\":12,"
		    "\"fairAccess\":{\"uplinkAirtimeMs\":123.4,\"uplinkBudgetMs\":30000,"
		    "\"downlinks\":1,\"downlinkBudget\":10,\"exceeded\":false},"
		    "\"object\":{\"temperature\":21.5},\"queue\":2}");
	assert_shape(DEVICE, &v, ref_device(&v));
}
END_TEST

/* The extremes of every field; web_json_device_text() is the same writer. */
START_TEST(t_device_text)
{
	int16_t rssi[20];
	float snr[20];
	char name[200], out[16384];
	size_t len;

	for (int i = 0; i < 20; i++) {
		rssi[i] = (int16_t)(-140 + i * 7);
		snr[i] = -20.04f + (float)i * 1.37f;
	}
	memset(name, 0x01, sizeof(name) - 1);   /* every byte escaped as \u0001 */
	name[sizeof(name) - 1] = '\0';
	struct web_dev_view full = {
		.dev_eui = 0xfedcba9876543210ull, .name = name, .application = "a/b \"q\"",
		.dev_class = 'C', .has_dev_addr = true, .dev_addr = 0xffffffff,
		.last_seen_us = INT64_C(1715677967318406), .has_fcnt_up = true,
		.fcnt_up = 4294967295u, .has_fcnt_down = true, .fcnt_down = 0, .dr = 15,
		.rssi = rssi, .snr = snr, .n_radio = 20, .battery = 100, .has_margin = true,
		.margin = -20, .has_fair_access = true,
		.fa = {.uplink_airtime_ms = 0.0005, .uplink_budget_ms = 36000, .downlinks = 0,
		       .downlink_budget = 0, .exceeded = true},
		.object_json = "{\"t\":-1.5,\"s\":\"a/b\",\"l\":[1,{}]}", .queue = SIZE_MAX,
	};
	assert_shape(DEVICE, &full, ref_device(&full));
	ck_assert_int_eq(web_json_device_text(&full, out, web_json_device_cap(&full), &len), LB_OK);
	ck_assert_uint_eq(len, strlen(out));
	struct web_dev_view unknown = {.dev_eui = 1, .name = "x", .dr = -1, .battery = -1};
	assert_shape(DEVICE, &unknown, ref_device(&unknown));
	ck_assert_int_eq(web_json_device_text(&unknown, out, 20, &len), LB_ERR_TOO_LARGE);
}
END_TEST

/* A writer adds a comma before its value where jsonw expects one: the
 * lists (daemon/weblist.c) are assembled from them. */
START_TEST(t_in_a_list)
{
	char out[4096];
	size_t len;
	struct jsonw w;
	struct web_gw_view a = {.eui = 1}, b = {.eui = 2};

	jsonw_init(&w, out, sizeof(out));
	jsonw_open(&w, '{');
	jsonw_key(&w, "gateways");
	jsonw_open(&w, '[');
	web_json_w_gateway(&w, &a);
	web_json_w_gateway(&w, &b);
	jsonw_close(&w, ']');
	jsonw_close(&w, '}');
	ck_assert_int_eq(jsonw_finish(&w, &len), LB_OK);
	struct json_object *o = json_tokener_parse(out);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq((int)json_object_array_length(json_object_object_get(o, "gateways")), 2);
	json_object_put(o);
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
	tcase_add_test(tc, t_in_a_list);
	tcase_add_test(tc, t_error_and_wrap);
	tcase_add_test(tc, t_sse_frame);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
