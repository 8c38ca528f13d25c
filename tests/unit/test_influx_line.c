/* SPDX-License-Identifier: MIT */
/*
 * test_influx_line.c - events/influx_line.h against the expected bodies of
 * ChirpStack's own InfluxDB integration tests (chirpstack
 * src/integration/influxdb.rs, test_v1: status, one level, several levels,
 * latitude and longitude), with the events in ChirpStack's JSON form.
 */
#include <check.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "events/influx_line.h"

#define DEVINFO(name, tags) \
	"\"deviceInfo\":{\"applicationName\":\"test-app\",\"deviceName\":\"" name "\"," \
	"\"devEui\":\"0102030405060708\",\"tags\":" tags "}"

#define UPLINK(object) \
	"{" DEVINFO("test-dev", "{\"fo o\":\"ba,r\"}") ",\"dr\":2,\"fCnt\":10,\"fPort\":20," \
	"\"txInfo\":{\"frequency\":868100000}," \
	"\"rxInfo\":[{\"rssi\":-60,\"snr\":1.0},{\"rssi\":-55,\"snr\":2.5},{\"rssi\":-70,\"snr\":1}]," \
	"\"object\":" object "}"

#define TAGS "application_name=test-app,dev_eui=0102030405060708,device_name=test-dev,f_port=20,fo\\ o=ba\\,r"
#define UPLINK_LINE "device_uplink,application_name=test-app,dev_eui=0102030405060708," \
	"device_name=test-dev,dr=2,fo\\ o=ba\\,r,frequency=868100000 f_cnt=10i,rssi=-55i," \
	"snr=2.500000,value=1i\n"

static void expect(const char *event, const char *json, int64_t ts, const char *want)
{
	char out[8192];
	size_t len = 99;
	json_object *ev = json_tokener_parse(json);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(influx_lines(event, ev, ts, out, sizeof(out), &len), LB_OK);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(len, strlen(want));
	json_object_put(ev);
}

START_TEST(test_status)
{
	expect("status",
	       "{" DEVINFO("test-device", "{\"foo\":\"bar\"}") ",\"margin\":10,"
	       "\"externalPowerSource\":false,\"batteryLevelUnavailable\":false,"
	       "\"batteryLevel\":48.43}", -1,
	       "device_status_battery_level,application_name=test-app,dev_eui=0102030405060708,"
	       "device_name=test-device,foo=bar value=48.430000\n"
	       "device_status_margin,application_name=test-app,dev_eui=0102030405060708,"
	       "device_name=test-device,foo=bar value=10i\n");
	/* externally powered: no battery level */
	expect("status",
	       "{" DEVINFO("d", "{}") ",\"margin\":-3,\"externalPowerSource\":true,"
	       "\"batteryLevelUnavailable\":false,\"batteryLevel\":0}", 7,
	       "device_status_margin,application_name=test-app,dev_eui=0102030405060708,"
	       "device_name=d value=-3i 7\n");
}
END_TEST

START_TEST(test_uplink_one_level)
{
	expect("up",
	       UPLINK("{\"temperature\":25.4,\"humidity\":20,\"active\":true,\"status\":\"on\"}"),
	       -1,
	       "device_frmpayload_data_active," TAGS " value=true\n"
	       "device_frmpayload_data_humidity," TAGS " value=20.000000\n"
	       "device_frmpayload_data_status," TAGS " value=\"on\"\n"
	       "device_frmpayload_data_temperature," TAGS " value=25.400000\n"
	       UPLINK_LINE);
}
END_TEST

START_TEST(test_uplink_levels)
{
	expect("up",
	       UPLINK("{\"temperature\":{\"a\":20.5,\"b\":33.3},\"humidity\":20.0,"
		      "\"active\":true,\"status\":\"on\"}"),
	       -1,
	       "device_frmpayload_data_active," TAGS " value=true\n"
	       "device_frmpayload_data_humidity," TAGS " value=20.000000\n"
	       "device_frmpayload_data_status," TAGS " value=\"on\"\n"
	       "device_frmpayload_data_temperature_a," TAGS " value=20.500000\n"
	       "device_frmpayload_data_temperature_b," TAGS " value=33.300000\n"
	       UPLINK_LINE);
}
END_TEST

START_TEST(test_uplink_location)
{
	expect("up",
	       UPLINK("{\"latitude\":1.123,\"longitude\":2.123,\"active\":true,\"status\":\"on\"}"),
	       -1,
	       "device_frmpayload_data_active," TAGS " value=true\n"
	       "device_frmpayload_data_location," TAGS
	       " geohash=\"s01w2k3vvqre\",latitude=1.123000,longitude=2.123000\n"
	       "device_frmpayload_data_status," TAGS " value=\"on\"\n"
	       UPLINK_LINE);
}
END_TEST

/* Beyond ChirpStack's vectors: arrays by index, nulls left out, the
 * timestamp, escapes, no object, empty tag values left out. */
START_TEST(test_arrays_escapes_timestamp)
{
	expect("up",
	       "{" DEVINFO("d", "{\"room\":\"\"}") ",\"dr\":5,\"fCnt\":1,\"fPort\":3,"
	       "\"txInfo\":{\"frequency\":868300000},\"rxInfo\":[{\"rssi\":-1,\"snr\":-2}],"
	       "\"object\":{\"v\":[1,null,\"a\\\"b\\\\\"],\"n\":null}}",
	       1700000000123456789LL,
	       "device_frmpayload_data_v_0,application_name=test-app,dev_eui=0102030405060708,"
	       "device_name=d,f_port=3 value=1.000000 1700000000123456789\n"
	       "device_frmpayload_data_v_2,application_name=test-app,dev_eui=0102030405060708,"
	       "device_name=d,f_port=3 value=\"a\\\"b\\\\\" 1700000000123456789\n"
	       "device_uplink,application_name=test-app,dev_eui=0102030405060708,device_name=d,"
	       "dr=5,frequency=868300000 f_cnt=1i,rssi=-1i,snr=-2.000000,value=1i "
	       "1700000000123456789\n");
	expect("up",
	       "{" DEVINFO("d", "{}") ",\"dr\":0,\"fCnt\":0,\"fPort\":1,"
	       "\"txInfo\":{\"frequency\":868100000},\"rxInfo\":[{\"rssi\":-100,\"snr\":7.25}]}",
	       -1,
	       "device_uplink,application_name=test-app,dev_eui=0102030405060708,device_name=d,"
	       "dr=0,frequency=868100000 f_cnt=0i,rssi=-100i,snr=7.250000,value=1i\n");
}
END_TEST

START_TEST(test_other_events_and_errors)
{
	char out[64];
	size_t len = 5;
	json_object *ev = json_tokener_parse("{" DEVINFO("d", "{}") "}");
	ck_assert_int_eq(influx_lines("join", ev, -1, out, sizeof(out), &len), LB_OK);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(out, "");
	json_object_put(ev);
	ev = json_tokener_parse("{\"fCnt\":1}");
	ck_assert_int_eq(influx_lines("up", ev, -1, out, sizeof(out), &len), LB_ERR_JSON);
	json_object_put(ev);
	ev = json_tokener_parse(UPLINK("{\"x\":1}"));
	ck_assert_int_eq(influx_lines("up", ev, -1, out, sizeof(out), &len), LB_ERR_TOO_LARGE);
	ck_assert_str_eq(out, "");
	json_object_put(ev);
}
END_TEST

START_TEST(test_geohash)
{
	char gh[13];
	/* ChirpStack's vector above, and the Wikipedia example (ezs42) */
	influx_geohash(1.123, 2.123, 12, gh);
	ck_assert_str_eq(gh, "s01w2k3vvqre");
	influx_geohash(42.6, -5.6, 5, gh);
	ck_assert_str_eq(gh, "ezs42");
}
END_TEST

/* A device tag named like one of the bridge's: as in ChirpStack (a map
 * of tags, the device's first, then application_name, device_name and
 * dev_eui; device_uplink's copy gets frequency and dr, the data points'
 * f_port), the later value wins, so each key appears once: the device's
 * dr stays on the data points, its f_port on device_uplink. */
START_TEST(test_tag_keys_unique)
{
	expect("up",
	       "{" DEVINFO("test-dev", "{\"dev_eui\":\"mine\",\"device_name\":\"x\",\"dr\":\"9\","
			   "\"f_port\":\"1\",\"room\":\"B12\"}")
	       ",\"dr\":2,\"fCnt\":10,\"fPort\":20,\"txInfo\":{\"frequency\":868100000},"
	       "\"rxInfo\":[{\"rssi\":-60,\"snr\":1.0}],\"object\":{\"t\":1}}", -1,
	       "device_frmpayload_data_t,application_name=test-app,dev_eui=0102030405060708,"
	       "device_name=test-dev,dr=9,f_port=20,room=B12 value=1.000000\n"
	       "device_uplink,application_name=test-app,dev_eui=0102030405060708,"
	       "device_name=test-dev,dr=2,f_port=1,frequency=868100000,room=B12 f_cnt=10i,"
	       "rssi=-60i,snr=1.000000,value=1i\n");
	/* the bridge's empty value leaves the key out, the device's included */
	expect("status",
	       "{\"deviceInfo\":{\"applicationName\":\"a\",\"deviceName\":\"\","
	       "\"devEui\":\"0102030405060708\",\"tags\":{\"device_name\":\"x\"}},"
	       "\"margin\":1,\"externalPowerSource\":true}", 5,
	       "device_status_margin,application_name=a,dev_eui=0102030405060708 value=1i 5\n");
}
END_TEST

/* A newline or carriage return (an object key a codec made, a device tag)
 * would end the line; a backslash before a separator or at the end would
 * escape it (InfluxDB 1.6 refuses `site=C:\ value=1`, and reads no doubled
 * backslash as one): each becomes `_`. Other backslashes stay. */
START_TEST(test_newline_backslash)
{
	expect("up",
	       "{" DEVINFO("d", "{\"site\":\"C:\\\\\",\"pa\\\\th\":\"a\\\\b\\\\,c\",\"l\":\"x\\ny\\r\"}")
	       ",\"dr\":0,\"fCnt\":0,\"fPort\":1,\"txInfo\":{\"frequency\":868100000},"
	       "\"rxInfo\":[{\"rssi\":-1,\"snr\":0}],\"object\":{\"a\\nb\\\\\":1}}", 3,
	       "device_frmpayload_data_a_b_,application_name=test-app,dev_eui=0102030405060708,"
	       "device_name=d,f_port=1,l=x_y_,pa\\th=a\\b_\\,c,site=C:_ value=1.000000 3\n"
	       "device_uplink,application_name=test-app,dev_eui=0102030405060708,device_name=d,"
	       "dr=0,frequency=868100000,l=x_y_,pa\\th=a\\b_\\,c,site=C:_ f_cnt=0i,rssi=-1i,"
	       "snr=0.000000,value=1i 3\n");
	/* a string field: a newline or carriage return (not supported in a
	 * field value) becomes a space, the line stays one line */
	expect("up",
	       "{" DEVINFO("d", "{}") ",\"dr\":0,\"fCnt\":0,\"fPort\":1,"
	       "\"txInfo\":{\"frequency\":868100000},\"rxInfo\":[{\"rssi\":-1,\"snr\":0}],"
	       "\"object\":{\"s\":\"x\\ny\\r\\\"\"}}", 3,
	       "device_frmpayload_data_s,application_name=test-app,dev_eui=0102030405060708,"
	       "device_name=d,f_port=1 value=\"x y \\\"\" 3\n"
	       "device_uplink,application_name=test-app,dev_eui=0102030405060708,device_name=d,"
	       "dr=0,frequency=868100000 f_cnt=0i,rssi=-1i,snr=0.000000,value=1i 3\n");
}
END_TEST

/* Ordinary values keep ChirpStack's 6 decimals; from 1e15 up every digit
 * of %.6f would not fit (1e300 came out cut): 17 significant digits (%.17g:
 * plain below 1e17, exponent notation above), which the line protocol takes. NaN has no form: its
 * point is left out. */
START_TEST(test_large_floats)
{
	expect("up",
	       "{" DEVINFO("d", "{}") ",\"dr\":0,\"fCnt\":0,\"fPort\":1,"
	       "\"txInfo\":{\"frequency\":868100000},\"rxInfo\":[{\"rssi\":-1,\"snr\":0}],"
	       "\"object\":{\"a\":1e300,\"b\":-2.5e15,\"c\":999999999999999.5,\"d\":1.7976931348623157e308,"
	       "\"e\":NaN}}", 3,
	       "device_frmpayload_data_a,application_name=test-app,dev_eui=0102030405060708,"
	       "device_name=d,f_port=1 value=1.0000000000000001e+300 3\n"
	       "device_frmpayload_data_b,application_name=test-app,dev_eui=0102030405060708,"
	       "device_name=d,f_port=1 value=-2500000000000000 3\n"
	       "device_frmpayload_data_c,application_name=test-app,dev_eui=0102030405060708,"
	       "device_name=d,f_port=1 value=999999999999999.500000 3\n"
	       "device_frmpayload_data_d,application_name=test-app,dev_eui=0102030405060708,"
	       "device_name=d,f_port=1 value=1.7976931348623157e+308 3\n"
	       "device_uplink,application_name=test-app,dev_eui=0102030405060708,device_name=d,"
	       "dr=0,frequency=868100000 f_cnt=0i,rssi=-1i,snr=0.000000,value=1i 3\n");
}
END_TEST

static Suite *influx_suite(void)
{
	Suite *s = suite_create("influx_line");
	TCase *tc = tcase_create("chirpstack");
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_uplink_one_level);
	tcase_add_test(tc, test_uplink_levels);
	tcase_add_test(tc, test_uplink_location);
	tcase_add_test(tc, test_arrays_escapes_timestamp);
	tcase_add_test(tc, test_other_events_and_errors);
	tcase_add_test(tc, test_geohash);
	tcase_add_test(tc, test_tag_keys_unique);
	tcase_add_test(tc, test_newline_backslash);
	tcase_add_test(tc, test_large_floats);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(influx_suite());
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
