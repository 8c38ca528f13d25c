/* SPDX-License-Identifier: MIT */
/* test_dlcmd.c - MQTT downlink command parsing (dlcmd.h) and the per-DR
 * size check (RP002-1.0.4 "Maximum payload size" of EU863-870 and US902-928). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "events/dlcmd.h"
#include "base/lb_err.h"
#include "lorawan/region.h"

#define TOPIC_EUI 0x0102030405060708ULL

static int parse(const char *json, struct dlcmd *c, const char **reason)
{
	*reason = "unset";
	return dlcmd_parse(json, strlen(json), TOPIC_EUI, c, reason);
}

/* Assert that json is refused with exactly (err, reason). */
static void expect_refused(const char *json, int err, const char *reason)
{
	struct dlcmd c;
	const char *why;
	int rc = parse(json, &c, &why);

	ck_assert_msg(rc == err, "%s: rc %d (%s), want %d", json, rc, lb_errname(rc), err);
	ck_assert_msg(why != NULL && strcmp(why, reason) == 0, "%s: reason %s, want %s", json,
		      why ? why : "(null)", reason);
}

START_TEST(test_full_command)
{
	struct dlcmd c;
	const char *why;
	static const uint8_t want[] = { 0x01, 0x02, 0x03 };

	ck_assert_int_eq(parse("{\"devEui\":\"0102030405060708\",\"confirmed\":true,"
			       "\"fPort\":10,\"data\":\"AQID\","
			       "\"id\":\"F47AC10B-58CC-4372-A567-0E02B2C3D479\","
			       "\"expiresAt\":\"2024-05-14T09:12:47.318406Z\"}",
			       &c, &why),
			 LB_OK);
	ck_assert_ptr_null(why);
	ck_assert_uint_eq(c.dev_eui, TOPIC_EUI);
	ck_assert(c.confirmed);
	ck_assert_uint_eq(c.fport, 10);
	ck_assert_uint_eq(c.len, 3);
	ck_assert_mem_eq(c.data, want, 3);
	ck_assert(c.has_id);
	ck_assert_str_eq(c.id, "f47ac10b-58cc-4372-a567-0e02b2c3d479");   /* as ChirpStack prints it */
	ck_assert(c.has_expires_at);
	ck_assert_int_eq(c.expires_at_us, INT64_C(1715677967318406));
	ck_assert_ptr_null(c.object);
	dlcmd_release(&c);
}
END_TEST

/* ChirpStack reads the command with pbjson: fPort may be a string, data
 * URL-safe base64 with or without padding. */
START_TEST(test_pbjson_leniency)
{
	struct dlcmd c;
	const char *why;
	static const uint8_t fbff[] = {0xfb, 0xff};

	ck_assert_int_eq(parse("{\"fPort\":\"10\"}", &c, &why), LB_OK);
	ck_assert_uint_eq(c.fport, 10);
	ck_assert_int_eq(parse("{\"fPort\":\"223\"}", &c, &why), LB_OK);
	ck_assert_uint_eq(c.fport, 223);
	expect_refused("{\"fPort\":\"224\"}", LB_ERR_RANGE, "INVALID_FPORT");
	expect_refused("{\"fPort\":\"0\"}", LB_ERR_RANGE, "INVALID_FPORT");
	static const char *const data[] = {"+/8=", "+/8", "-_8=", "-_8"};
	for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		char json[64];
		snprintf(json, sizeof(json), "{\"fPort\":1,\"data\":\"%s\"}", data[i]);
		ck_assert_msg(parse(json, &c, &why) == LB_OK, "%s: %s", data[i], why);
		ck_assert_uint_eq(c.len, 2);
		ck_assert_mem_eq(c.data, fbff, 2);
	}
}
END_TEST

/* `object` (google.protobuf.Struct) is kept for the device's codec: one
 * reference, released by dlcmd_release(); nothing held after an error. */
/* pbjson also takes the proto field names (dev_eui, f_port, expires_at;
 * id, confirmed, data and object are the same in both); one field under
 * both names is given twice: INVALID_FIELD. */
START_TEST(test_proto_names)
{
	struct dlcmd c;
	const char *why;

	ck_assert_int_eq(parse("{\"dev_eui\":\"0102030405060708\",\"f_port\":12,"
			       "\"confirmed\":true,\"data\":\"AQID\","
			       "\"expires_at\":\"2024-05-14T09:12:47Z\"}", &c, &why), LB_OK);
	ck_assert_uint_eq(c.fport, 12);
	ck_assert(c.confirmed);
	ck_assert_uint_eq(c.len, 3);
	ck_assert(c.has_expires_at);
	ck_assert_int_eq(c.expires_at_us, INT64_C(1715677967000000));
	dlcmd_release(&c);
	ck_assert_int_eq(parse("{\"f_port\":\"7\",\"object\":{\"a\":1}}", &c, &why), LB_OK);
	ck_assert_uint_eq(c.fport, 7);
	ck_assert_ptr_nonnull(c.object);
	dlcmd_release(&c);
	expect_refused("{\"dev_eui\":\"0807060504030201\",\"fPort\":1}", LB_ERR_DENIED,
		       "DEV_EUI_MISMATCH");
	expect_refused("{\"f_port\":0}", LB_ERR_RANGE, "INVALID_FPORT");
	expect_refused("{\"fPort\":1,\"f_port\":1}", LB_ERR_MALFORMED, "INVALID_FIELD");
	expect_refused("{\"fPort\":1,\"f_port\":null}", LB_ERR_MALFORMED, "INVALID_FIELD");
	expect_refused("{\"devEui\":\"0102030405060708\",\"dev_eui\":\"0102030405060708\","
		       "\"fPort\":1}", LB_ERR_MALFORMED, "INVALID_FIELD");
	expect_refused("{\"fPort\":1,\"expiresAt\":\"2024-05-14T09:12:47Z\","
		       "\"expires_at\":\"2024-05-14T09:12:47Z\"}", LB_ERR_MALFORMED,
		       "INVALID_FIELD");
}
END_TEST

START_TEST(test_object_kept)
{
	struct dlcmd c;
	const char *why;
	struct json_object *v;

	ck_assert_int_eq(parse("{\"fPort\":5,\"object\":{\"temp\":21,\"on\":true}}", &c, &why),
			 LB_OK);
	ck_assert_ptr_nonnull(c.object);
	ck_assert(json_object_is_type(c.object, json_type_object));
	ck_assert(json_object_object_get_ex(c.object, "temp", &v));
	ck_assert_int_eq(json_object_get_int(v), 21);
	ck_assert_uint_eq(c.len, 0);
	dlcmd_release(&c);
	ck_assert_ptr_null(c.object);
	dlcmd_release(&c);   /* twice: harmless */
	/* An error after the object was read releases it (ASan: no leak). */
	expect_refused("{\"object\":{\"a\":1},\"fPort\":1,\"expiresAt\":\"soon\"}",
		       LB_ERR_MALFORMED, "INVALID_FIELD");
	ck_assert_int_eq(parse("{\"fPort\":5,\"object\":null}", &c, &why), LB_OK);
	ck_assert_ptr_null(c.object);
}
END_TEST

START_TEST(test_expires_at)
{
	static const struct { const char *in; int64_t us; } ok[] = {
		{"2024-05-14T09:12:47Z", INT64_C(1715677967000000)},
		{"2024-05-14t09:12:47.318406z", INT64_C(1715677967318406)},
		{"2024-05-14T11:12:47.5+02:00", INT64_C(1715677967500000)},
		{"2024-05-14T08:42:47.123456789-00:30", INT64_C(1715677967123456)},
		{"1970-01-01T00:00:00+00:00", 0},
		/* past 2^31 s (where a 32-bit time_t, as on armhf, ends) */
		{"2038-01-19T03:14:08Z", INT64_C(2147483648000000)},
		{"2040-02-29T13:00:00.25+01:00", INT64_C(2214129600250000)},
	};
	static const char *const bad[] = {
		"2024-05-14 09:12:47Z", "2024-05-14T09:12:47", "2024-13-14T09:12:47Z",
		"2024-02-31T09:12:47Z", "2024-05-14T09:12:47.Z", "2024-05-14T09:12:47.1234567891Z",
		"2024-05-14T09:12:47+2:00", "2024-05-14T24:00:00Z", "x024-05-14T09:12:47Z", "",
	};
	int64_t us;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(dlcmd_parse_time(ok[i].in, strlen(ok[i].in), &us) == LB_OK, "%s",
			      ok[i].in);
		ck_assert_msg(us == ok[i].us, "%s: %lld", ok[i].in, (long long)us);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(dlcmd_parse_time(bad[i], strlen(bad[i]), &us) == LB_ERR_MALFORMED, "%s",
			      bad[i]);
	expect_refused("{\"fPort\":1,\"expiresAt\":1715677967}", LB_ERR_MALFORMED,
		       "INVALID_FIELD");
}
END_TEST

START_TEST(test_minimal_and_defaults)
{
	struct dlcmd c;
	const char *why;

	/* Only fPort: unconfirmed, empty FRMPayload, id assigned by the caller. */
	ck_assert_int_eq(parse("{\"fPort\":1}", &c, &why), LB_OK);
	ck_assert(!c.confirmed);
	ck_assert_uint_eq(c.fport, 1);
	ck_assert_uint_eq(c.len, 0);
	ck_assert(!c.has_id);
	ck_assert_str_eq(c.id, "");
	ck_assert_uint_eq(c.dev_eui, TOPIC_EUI);

	/* JSON null is absent; "" id and "" data are absent/empty. */
	ck_assert_int_eq(parse("{\"fPort\":223,\"devEui\":null,\"confirmed\":null,\"data\":null,"
			       "\"id\":null}", &c, &why), LB_OK);
	ck_assert_uint_eq(c.fport, 223);
	ck_assert_int_eq(parse("{\"fPort\":2,\"data\":\"\",\"id\":\"\"}", &c, &why), LB_OK);
	ck_assert_uint_eq(c.len, 0);
	ck_assert(!c.has_id);

	/* Upper-case devEui, whitespace around the object, unknown keys. */
	ck_assert_int_eq(parse("\r\n {\"devEui\":\"0102030405060708\",\"fPort\":3,"
			       "\"extra\":[1,2]} \n", &c, &why), LB_OK);
	ck_assert_int_eq(dlcmd_parse("{\"devEui\":\"ABCDEF0102030405\",\"fPort\":3}", 40,
				     0xabcdef0102030405ULL, &c, &why), LB_OK);
	/* Not NUL-terminated: only len bytes are read. */
	ck_assert_int_eq(dlcmd_parse("{\"fPort\":7}garbage", 11, TOPIC_EUI, &c, &why), LB_OK);
	ck_assert_uint_eq(c.fport, 7);
}
END_TEST

START_TEST(test_invalid_json)
{
	static const char *const bad[] = {
		"", "   ", "{", "}", "[1]", "null", "42", "\"x\"", "{} x", "{\"fPort\":1}{}",
		"{\"fPort\":1,}", "{fPort:1}",
	};

	/* json-c accepts 'single-quoted' strings even in strict mode; that
	 * leniency is harmless here and not tested. */

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i], LB_ERR_JSON, "INVALID_JSON");
	/* Invalid UTF-8 inside a string. */
	expect_refused("{\"fPort\":1,\"id\":\"\xff\xfe\"}", LB_ERR_JSON, "INVALID_JSON");
}
END_TEST

START_TEST(test_dev_eui)
{
	expect_refused("{\"devEui\":\"0102030405060709\",\"fPort\":1}", LB_ERR_DENIED,
		       "DEV_EUI_MISMATCH");
	expect_refused("{\"devEui\":\"0807060504030201\",\"fPort\":1}", LB_ERR_DENIED,
		       "DEV_EUI_MISMATCH");
	/* Not an EUI at all is a field error, not a mismatch. */
	expect_refused("{\"devEui\":\"01020304050607\",\"fPort\":1}", LB_ERR_MALFORMED,
		       "INVALID_FIELD");
	expect_refused("{\"devEui\":\"01020304050607xx\",\"fPort\":1}", LB_ERR_MALFORMED,
		       "INVALID_FIELD");
	expect_refused("{\"devEui\":72623859790382856,\"fPort\":1}", LB_ERR_MALFORMED,
		       "INVALID_FIELD");
}
END_TEST

START_TEST(test_fport)
{
	static const char *const bad[] = {
		"{\"fPort\":0}", "{\"fPort\":224}", "{\"fPort\":255}", "{\"fPort\":256}",
		"{\"fPort\":-1}", "{\"fPort\":4294967306}", "{\"fPort\":99999999999999999999}",
		"{\"data\":\"AQID\"}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i], LB_ERR_RANGE, "INVALID_FPORT");
}
END_TEST

START_TEST(test_wrong_types)
{
	static const char *const bad[] = {
		"{\"fPort\":\"1x\"}",
		"{\"fPort\":\"-1\"}",
		"{\"fPort\":\"\"}",
		"{\"fPort\":10.0}",
		"{\"fPort\":true}",
		"{\"fPort\":1,\"confirmed\":\"true\"}",
		"{\"fPort\":1,\"confirmed\":1}",
		"{\"fPort\":1,\"data\":123}",
		"{\"fPort\":1,\"data\":[1,2]}",
		"{\"fPort\":1,\"id\":5}",
		"{\"fPort\":1,\"object\":[1]}",
		"{\"fPort\":1,\"object\":\"x\"}",
		"{\"fPort\":1,\"expiresAt\":\"tomorrow\"}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i], LB_ERR_MALFORMED, "INVALID_FIELD");
}
END_TEST

/* An id is a UUID (ChirpStack's queue item ids are): anything else is
 * refused, whatever its length. */
START_TEST(test_id_uuid)
{
	static const char *const bad[] = {
		"req-42",
		"f47ac10b58cc4372a5670e02b2c3d479",           /* no hyphens */
		"f47ac10b-58cc-4372-a567-0e02b2c3d47",        /* one digit short */
		"f47ac10b-58cc-4372-a567-0e02b2c3d4799",
		"f47ac10b-58cc-4372-a567_0e02b2c3d479",
		"g47ac10b-58cc-4372-a567-0e02b2c3d479",
		"{f47ac10b-58cc-4372-a567-0e02b2c3d479}",
		"f47ac10b-58cc-4372-a567-0e02b2c3\\u0000479",
	};
	char json[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(json, sizeof(json), "{\"fPort\":1,\"id\":\"%s\"}", bad[i]);
		expect_refused(json, LB_ERR_MALFORMED, "INVALID_ID");
	}
}
END_TEST

START_TEST(test_invalid_data)
{
	static const char *const bad[] = {
		"{\"fPort\":1,\"data\":\"AQI=A\"}",   /* text after padding */
		"{\"fPort\":1,\"data\":\"AQ I=\"}",   /* whitespace */
		"{\"fPort\":1,\"data\":\"@@@@\"}",
		"{\"fPort\":1,\"data\":\"A\"}",       /* length 1 mod 4 */
		"{\"fPort\":1,\"data\":\"AQ+-\"}",    /* both alphabets at once */
		"{\"fPort\":1,\"data\":\"AQ\\u0000D\"}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(bad[i], LB_ERR_BASE64, "INVALID_DATA");
}
END_TEST

/* base64 of n bytes 0, 1, 2, ... into json as a command. */
static void command_with(size_t n, char *json, size_t cap)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t pos = (size_t)snprintf(json, cap, "{\"fPort\":1,\"data\":\"");

	/* n is a multiple of 3 in the callers: 4 chars per 3 zero bytes. */
	for (size_t i = 0; i < n / 3; i++)
		pos += (size_t)snprintf(json + pos, cap - pos, "%c%c%c%c", b64[0], b64[0], b64[0],
					b64[0]);
	snprintf(json + pos, cap - pos, "\"}");
}

START_TEST(test_payload_too_large)
{
	char json[600];
	char big[DLCMD_MAX_JSON + 16];
	struct dlcmd c;
	const char *why;

	command_with(240, json, sizeof(json));
	ck_assert_int_eq(parse(json, &c, &why), LB_OK);
	ck_assert_uint_eq(c.len, 240);
	/* 242 bytes exactly ("AAA=" carries 2). */
	snprintf(json + strlen(json) - 2, 8, "AAA=\"}");
	ck_assert_int_eq(parse(json, &c, &why), LB_OK);
	ck_assert_uint_eq(c.len, DLCMD_MAX_DATA);
	command_with(243, json, sizeof(json));
	expect_refused(json, LB_ERR_TOO_LARGE, "PAYLOAD_TOO_LARGE");

	/* The whole command bounded too: a huge (valid) JSON is refused. */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "{\"fPort\":1}", 11);
	expect_refused(big, LB_ERR_TOO_LARGE, "PAYLOAD_TOO_LARGE");
}
END_TEST

START_TEST(test_null_args)
{
	struct dlcmd c;
	const char *why = "unset";

	ck_assert_int_eq(dlcmd_parse(NULL, 0, TOPIC_EUI, &c, &why), LB_ERR_INVAL);
	ck_assert_str_eq(why, "INVALID_JSON");
	ck_assert_int_eq(dlcmd_parse("{\"fPort\":1}", 11, TOPIC_EUI, NULL, &why), LB_ERR_INVAL);
	ck_assert_int_eq(dlcmd_parse("{\"fPort\":1}", 11, TOPIC_EUI, &c, NULL), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_check_size_eu868)
{
	const struct region *eu = region_find("EU868");

	ck_assert_ptr_nonnull(eu);
	/* DR0: M 59, N 51; FOpts come off N. */
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 0, 0, 51), LB_OK);
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 0, 0, 52), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 0, 3, 48), LB_OK);
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 0, 3, 49), LB_ERR_TOO_LARGE);
	/* DR3: N 115; DR5: N 242. */
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 3, 0, 115), LB_OK);
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 3, 0, 116), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 5, 0, 242), LB_OK);
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 5, 0, 243), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 5, 15, 227), LB_OK);
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 5, 15, 228), LB_ERR_TOO_LARGE);
	/* LR-FHSS DR8 is uplink-only; DR15 undefined. */
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 8, 0, 1), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 15, 0, 1), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, -1, 0, 1), LB_ERR_INVAL);
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 300, 0, 1), LB_ERR_INVAL);
	ck_assert_int_eq(dlcmd_check_size(eu, REGION_RP002_1_0_4, 0, 16, 0), LB_ERR_INVAL);
	ck_assert_int_eq(dlcmd_check_size(NULL, REGION_RP002_1_0_4, 0, 0, 0), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_check_size_us915)
{
	const struct region *us = region_find("US915");

	ck_assert_ptr_nonnull(us);
	/* DR8: M 61, N 53; DR9: N 129; DR13: N 242. */
	ck_assert_int_eq(dlcmd_check_size(us, REGION_RP002_1_0_4, 8, 0, 53), LB_OK);
	ck_assert_int_eq(dlcmd_check_size(us, REGION_RP002_1_0_4, 8, 0, 54), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(dlcmd_check_size(us, REGION_RP002_1_0_4, 9, 0, 129), LB_OK);
	ck_assert_int_eq(dlcmd_check_size(us, REGION_RP002_1_0_4, 9, 0, 130), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(dlcmd_check_size(us, REGION_RP002_1_0_4, 13, 0, 242), LB_OK);
	/* Uplink-only DRs cannot carry a downlink at all. */
	ck_assert_int_eq(dlcmd_check_size(us, REGION_RP002_1_0_4, 0, 0, 1), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(dlcmd_check_size(us, REGION_RP002_1_0_4, 4, 0, 1), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(dlcmd_check_size(us, REGION_RP002_1_0_4, 7, 0, 1), LB_ERR_NOT_FOUND);
}
END_TEST

START_TEST(test_check_size_as923_revision)
{
	/* AS923 DR2 before RP002-1.0.1 (LoRaWAN Regional Parameters v1.0.3revA
	 * §2.8.6, RP002-1.0.0 §2.10.6): N 51; from RP002-1.0.1 on N 115. */
	const struct region *as = region_find("AS923");
	for (int rp = 0; rp < REGION_RP_COUNT; rp++) {
		bool old = rp >= REGION_RP002_1_0_0;
		ck_assert_int_eq(dlcmd_check_size(as, (enum region_rp)rp, 2, 0, 51), LB_OK);
		ck_assert_int_eq(dlcmd_check_size(as, (enum region_rp)rp, 2, 0, 115),
				 old ? LB_ERR_TOO_LARGE : LB_OK);
		ck_assert_int_eq(dlcmd_check_size(as, (enum region_rp)rp, 2, 0, 116),
				 LB_ERR_TOO_LARGE);
		ck_assert_int_eq(dlcmd_check_size(as, (enum region_rp)rp, 3, 0, 115), LB_OK);
	}
	ck_assert_int_eq(dlcmd_check_size(as, REGION_RP_1_0_3A, 2, 3, 49), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(dlcmd_check_size(as, REGION_RP_COUNT, 2, 0, 1), LB_ERR_INVAL);
}
END_TEST

static Suite *dlcmd_suite(void)
{
	Suite *s = suite_create("dlcmd");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_full_command);
	tcase_add_test(tc, test_minimal_and_defaults);
	tcase_add_test(tc, test_invalid_json);
	tcase_add_test(tc, test_dev_eui);
	tcase_add_test(tc, test_fport);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_id_uuid);
	tcase_add_test(tc, test_pbjson_leniency);
	tcase_add_test(tc, test_proto_names);
	tcase_add_test(tc, test_object_kept);
	tcase_add_test(tc, test_expires_at);
	tcase_add_test(tc, test_invalid_data);
	tcase_add_test(tc, test_payload_too_large);
	tcase_add_test(tc, test_null_args);
	tcase_add_test(tc, test_check_size_eu868);
	tcase_add_test(tc, test_check_size_us915);
	tcase_add_test(tc, test_check_size_as923_revision);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dlcmd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
