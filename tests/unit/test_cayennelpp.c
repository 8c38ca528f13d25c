/* SPDX-License-Identifier: MIT */
/*
 * test_cayennelpp.c - Cayenne LPP decoder against published vectors:
 * chirpstack/chirpstack chirpstack/src/codec/cayenne_lpp.rs test_lpp
 * (commit 0a294e41, and its extended vector after PR #909) decoded to
 * exactly its expected object and encoded back to its bytes, the worked
 * examples of myDevices' "Cayenne Low Power Payload" documentation, a
 * hand-checked value for every type, number formatting against the shortest
 * round-trip form ChirpStack's JSON writer prints, truncation at every
 * length and refused type ids.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/lb_err.h"
#include "codec/cayennelpp.h"
#include "testutil.h"

/* chirpstack cayenne_lpp.rs test_lpp: its byte vector, in hex. */
#define CS_VECTOR \
	"03 00 64 05 00 d2" "03 01 64 05 01 d2" "03 02 00 0a 05 02 03 e8" \
	"03 03 00 0a 05 03 03 e8" "03 65 00 0a 05 65 03 e8" "03 66 05 05 66 03" \
	"03 67 01 10 05 67 00 ff" "03 68 29 05 68 96" \
	"03 71 00 01 00 02 00 03 05 71 03 ea 07 d3 0b bb" "03 73 04 1f 05 73 09 c4" \
	"03 86 00 01 00 02 00 03 05 86 03 e9 07 d2 0b bb" \
	"01 88 06 76 5f f2 96 0a 00 03 e8"

/* test_lpp's expected pbjson Struct, as serde_json prints it (member order
 * is ours: the order of first appearance). */
static const char cs_expected[] =
	"{\"digitalInput\":{\"3\":100.0,\"5\":210.0},"
	"\"digitalOutput\":{\"3\":100.0,\"5\":210.0},"
	"\"analogInput\":{\"3\":0.1,\"5\":10.0},"
	"\"analogOutput\":{\"3\":0.1,\"5\":10.0},"
	"\"illuminanceSensor\":{\"3\":10.0,\"5\":1000.0},"
	"\"presenceSensor\":{\"3\":5.0,\"5\":3.0},"
	"\"temperatureSensor\":{\"3\":27.2,\"5\":25.5},"
	"\"humiditySensor\":{\"3\":20.5,\"5\":75.0},"
	"\"accelerometer\":{\"3\":{\"x\":0.001,\"y\":0.002,\"z\":0.003},"
	"\"5\":{\"x\":1.002,\"y\":2.003,\"z\":3.003}},"
	"\"barometer\":{\"3\":105.5,\"5\":250.0},"
	"\"gyrometer\":{\"3\":{\"x\":0.01,\"y\":0.02,\"z\":0.03},"
	"\"5\":{\"x\":10.01,\"y\":20.02,\"z\":30.03}},"
	"\"gpsLocation\":{\"1\":{\"latitude\":42.3519,\"longitude\":-87.9094,"
	"\"altitude\":10.0}}}";

/* test_lpp after chirpstack PR #909 ("added missing cayenne-lpp parser"):
 * every type, the extended ones (100, 116-133, 135, 142) among them, in the
 * order ChirpStack's to_vec() writes them. */
#define CS909_VECTOR \
	"03 00 64 05 00 d2" "03 01 64 05 01 d2" "03 02 00 0a 05 02 03 e8" \
	"03 03 00 0a 05 03 03 e8" "03 64 00 00 00 01 05 64 ff fe fd fc" \
	"03 65 00 0a 05 65 03 e8" "03 66 05 05 66 03" "03 67 01 10 05 67 00 ff" \
	"03 68 29 05 68 96" "03 71 00 01 00 02 00 03 05 71 03 ea 07 d3 0b bb" \
	"03 73 04 1f 05 73 09 c4" "03 74 00 01 05 74 ff fe" "03 75 00 02 05 75 ff fd" \
	"03 76 00 00 00 01 05 76 ff fe fd fb" "03 78 00 05 78 64" \
	"03 79 00 01 05 79 ff fb" "03 7d 00 07 05 7d ff fe" "03 80 00 08 05 80 fe fd" \
	"03 82 00 00 01 10 05 82 01 02 03 04" "03 83 00 00 00 0c 05 83 ff fe fd fe" \
	"03 84 00 09 05 84 ff fc" "03 85 00 00 00 0d 05 85 ff fe fd fd" \
	"03 86 00 01 00 02 00 03 05 86 03 e9 07 d2 0b bb" \
	"03 87 64 96 c8 05 87 fa be 00" "01 88 06 76 5f f2 96 0a 00 03 e8" \
	"03 8e 00 05 8e 01"

/* Its expected Struct, as serde_json prints it. */
static const char cs909_expected[] =
	"{\"digitalInput\":{\"3\":100.0,\"5\":210.0},"
	"\"digitalOutput\":{\"3\":100.0,\"5\":210.0},"
	"\"analogInput\":{\"3\":0.1,\"5\":10.0},"
	"\"analogOutput\":{\"3\":0.1,\"5\":10.0},"
	"\"genericSensor\":{\"3\":1.0,\"5\":4294901244.0},"
	"\"illuminanceSensor\":{\"3\":10.0,\"5\":1000.0},"
	"\"presenceSensor\":{\"3\":5.0,\"5\":3.0},"
	"\"temperatureSensor\":{\"3\":27.2,\"5\":25.5},"
	"\"humiditySensor\":{\"3\":20.5,\"5\":75.0},"
	"\"accelerometer\":{\"3\":{\"x\":0.001,\"y\":0.002,\"z\":0.003},"
	"\"5\":{\"x\":1.002,\"y\":2.003,\"z\":3.003}},"
	"\"barometer\":{\"3\":105.5,\"5\":250.0},"
	"\"voltage\":{\"3\":0.01,\"5\":655.34},"
	"\"current\":{\"3\":0.002,\"5\":65.533},"
	"\"frequency\":{\"3\":1.0,\"5\":4294901243.0},"
	"\"percentage\":{\"3\":0.0,\"5\":100.0},"
	"\"altitude\":{\"3\":1.0,\"5\":-5.0},"
	"\"concentration\":{\"3\":7.0,\"5\":65534.0},"
	"\"power\":{\"3\":8.0,\"5\":65277.0},"
	"\"distance\":{\"3\":0.272,\"5\":16909.06},"
	"\"energy\":{\"3\":0.012,\"5\":4294901.246},"
	"\"direction\":{\"3\":9.0,\"5\":65532.0},"
	"\"unixtime\":{\"3\":13.0,\"5\":4294901245.0},"
	"\"gyrometer\":{\"3\":{\"x\":0.01,\"y\":0.02,\"z\":0.03},"
	"\"5\":{\"x\":10.01,\"y\":20.02,\"z\":30.03}},"
	"\"colour\":{\"3\":{\"r\":100.0,\"g\":150.0,\"b\":200.0},"
	"\"5\":{\"r\":250.0,\"g\":190.0,\"b\":0.0}},"
	"\"gpsLocation\":{\"1\":{\"latitude\":42.3519,\"longitude\":-87.9094,"
	"\"altitude\":10.0}},"
	"\"switch\":{\"3\":0.0,\"5\":1.0}}";

/* Decodes hex from an exactly sized heap copy, so ASan sees any over-read. */
static int decode_hex(const char *hex, json_object **out)
{
	uint8_t tmp[256];
	size_t n = unhex(hex, tmp, sizeof(tmp));
	uint8_t *buf = malloc(n ? n : 1);
	int rc;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, tmp, n);
	rc = cayennelpp_decode(buf, n, out);
	free(buf);
	return rc;
}

/* hex decodes to exactly the JSON text `expect` (numbers as printed). */
static void check_decodes(const char *hex, const char *expect)
{
	json_object *got = NULL, *want = json_tokener_parse(expect);

	ck_assert_ptr_nonnull(want);
	ck_assert_int_eq(decode_hex(hex, &got), LB_OK);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN), expect);
	ck_assert_int_eq(json_object_equal(got, want), 1);
	json_object_put(got);
	json_object_put(want);
}

static void check_refused(const char *hex)
{
	json_object *got = (json_object *)&got;

	ck_assert_int_eq(decode_hex(hex, &got), LB_ERR_MALFORMED);
	ck_assert_ptr_null(got);
}

/* --- vectors ------------------------------------------------------------ */

START_TEST(chirpstack_test_lpp)
{
	check_decodes(CS_VECTOR, cs_expected);
}
END_TEST

/* The vector with every type ChirpStack decodes since PR #909: the same
 * keys and the same numbers. */
START_TEST(chirpstack_test_lpp_pr909)
{
	uint8_t buf[256];

	ck_assert_uint_eq(unhex(CS909_VECTOR, buf, sizeof(buf)), 237);
	check_decodes(CS909_VECTOR, cs909_expected);
}
END_TEST

/* myDevices "Cayenne Low Power Payload" documentation, section Examples. */
START_TEST(mydevices_examples)
{
	/* Device with 2 temperature sensors: 27.2 and 25.5 degC. */
	check_decodes("03 67 01 10 05 67 00 FF",
		      "{\"temperatureSensor\":{\"3\":27.2,\"5\":25.5}}");
	/* Temperature -4.1 degC and accelerometer 1.234, -1.234, 0 G. */
	check_decodes("01 67 FF D7 06 71 04 D2 FB 2E 00 00",
		      "{\"temperatureSensor\":{\"1\":-4.1},"
		      "\"accelerometer\":{\"6\":{\"x\":1.234,\"y\":-1.234,\"z\":0.0}}}");
	/* GPS 42.3519 N, 87.9094 W, 10 m. */
	check_decodes("01 88 06 76 5F F2 96 0A 00 03 E8",
		      "{\"gpsLocation\":{\"1\":{\"latitude\":42.3519,"
		      "\"longitude\":-87.9094,\"altitude\":10.0}}}");
}
END_TEST

/* One record per type at a limit of its range, worked by hand from the
 * table in cayennelpp.c (size, signedness, divisor). */
START_TEST(every_type)
{
	check_decodes("00 00 ff", "{\"digitalInput\":{\"0\":255.0}}");
	check_decodes("ff 01 01", "{\"digitalOutput\":{\"255\":1.0}}");
	check_decodes("01 02 80 00", "{\"analogInput\":{\"1\":-327.68}}");   /* -32768 */
	check_decodes("01 03 ff ff", "{\"analogOutput\":{\"1\":-0.01}}");    /* -1 */
	check_decodes("02 65 ff ff", "{\"illuminanceSensor\":{\"2\":65535.0}}");
	check_decodes("02 66 00", "{\"presenceSensor\":{\"2\":0.0}}");
	check_decodes("02 67 ff fb", "{\"temperatureSensor\":{\"2\":-0.5}}"); /* -5 */
	check_decodes("02 67 7f ff", "{\"temperatureSensor\":{\"2\":3276.7}}");
	check_decodes("02 68 ff", "{\"humiditySensor\":{\"2\":127.5}}");       /* 255/2 */
	check_decodes("02 68 01", "{\"humiditySensor\":{\"2\":0.5}}");
	check_decodes("04 71 80 00 7f ff ff ff",
		      "{\"accelerometer\":{\"4\":{\"x\":-32.768,\"y\":32.767,\"z\":-0.001}}}");
	check_decodes("04 73 ff ff", "{\"barometer\":{\"4\":6553.5}}");        /* unsigned */
	check_decodes("04 86 ff 9c 00 64 80 00",
		      "{\"gyrometer\":{\"4\":{\"x\":-1.0,\"y\":1.0,\"z\":-327.68}}}");
	check_decodes("07 88 80 00 00 7f ff ff ff ff ff",
		      "{\"gpsLocation\":{\"7\":{\"latitude\":-838.8608,"
		      "\"longitude\":838.8607,\"altitude\":-0.01}}}");
}
END_TEST

START_TEST(empty_and_repeated_channels)
{
	check_decodes("", "{}");
	/* A channel repeated in one type keeps its last value (ChirpStack's
	 * BTreeMap insert); the same channel in two types is two members. */
	check_decodes("03 67 01 10 03 67 00 ff 03 68 29",
		      "{\"temperatureSensor\":{\"3\":25.5},\"humiditySensor\":{\"3\":20.5}}");
}
END_TEST

/* --- number formatting -------------------------------------------------- */

/* The shortest %g text that reads back as d, in fixed notation, with ".0"
 * when integral: what serde_json (ryu) prints for these magnitudes. */
static void shortest(double d, char *s, size_t cap)
{
	for (int p = 1; p <= 17; p++) {
		snprintf(s, cap, "%.*g", p, d);
		if (!strchr(s, 'e') && strtod(s, NULL) == d)
			break;
	}
	if (!strchr(s, '.'))
		strncat(s, ".0", cap - strlen(s) - 1);
}

static void check_number(const uint8_t *rec, size_t n, const char *key, double want)
{
	json_object *o = NULL, *g, *v;
	char ref[40];

	/* called 262,400 times: the LB_ASSERT forms (testutil.h) */
	int rc = cayennelpp_decode(rec, n, &o);
	LB_ASSERT_INT_EQ(rc, LB_OK);
	bool found = json_object_object_get_ex(o, key, &g) && json_object_object_get_ex(g, "1", &v);
	LB_ASSERT_MSG(found, "%s.1 missing", key);
	double got = json_object_get_double(v);
	LB_ASSERT_MSG(got == want, "%s: %.17g, want %.17g", key, got, want);
	shortest(want, ref, sizeof(ref));
	const char *text = json_object_to_json_string(v);
	LB_ASSERT_STR_EQ(text, ref);
	json_object_put(o);
}

/* Every 16-bit value of every 16-bit type, every humidity byte. */
START_TEST(format_16bit_exhaustive)
{
	static const struct { uint8_t id; const char *key; double div; int is_signed; } t[] = {
		{2, "analogInput", 100.0, 1}, {101, "illuminanceSensor", 1.0, 0},
		{103, "temperatureSensor", 10.0, 1}, {115, "barometer", 10.0, 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (uint32_t r = 0; r <= 0xFFFF; r++) {
			uint8_t rec[4] = {1, t[i].id, (uint8_t)(r >> 8), (uint8_t)r};
			int32_t v = t[i].is_signed ? (int32_t)(int16_t)r : (int32_t)r;

			check_number(rec, sizeof(rec), t[i].key, (double)v / t[i].div);
		}
	for (uint32_t r = 0; r <= 0xFF; r++) {
		uint8_t rec[3] = {1, 104, (uint8_t)r};

		check_number(rec, sizeof(rec), "humiditySensor", (double)r / 2.0);
	}
}
END_TEST

/* The 24-bit GPS fields and the 0.001 G axis, sampled across their range. */
START_TEST(format_24bit_sampled)
{
	for (uint32_t r = 0; r <= 0xFFFFFF; r += 4099) {
		uint8_t rec[11] = {1, 136, (uint8_t)(r >> 16), (uint8_t)(r >> 8), (uint8_t)r,
				   0, 0, 0, (uint8_t)(r >> 16), (uint8_t)(r >> 8), (uint8_t)r};
		int32_t v = r >= 0x800000 ? (int32_t)r - 0x1000000 : (int32_t)r;
		json_object *o = NULL, *g, *e, *lat, *alt;
		char ref[40];

		ck_assert_int_eq(cayennelpp_decode(rec, sizeof(rec), &o), LB_OK);
		ck_assert(json_object_object_get_ex(o, "gpsLocation", &g));
		ck_assert(json_object_object_get_ex(g, "1", &e));
		ck_assert(json_object_object_get_ex(e, "latitude", &lat));
		ck_assert(json_object_object_get_ex(e, "altitude", &alt));
		shortest((double)v / 10000.0, ref, sizeof(ref));
		ck_assert_str_eq(json_object_to_json_string(lat), ref);
		shortest((double)v / 100.0, ref, sizeof(ref));
		ck_assert_str_eq(json_object_to_json_string(alt), ref);
		json_object_put(o);
	}
}
END_TEST

/* --- errors ------------------------------------------------------------- */

/* Record lengths of CS_VECTOR, in order, to know its record boundaries. */
static const size_t cs_records[] = {
	3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 3, 3, 4, 4, 3, 3, 8, 8, 4, 4, 8, 8, 11,
};

static int is_boundary(size_t n)
{
	size_t at = 0;

	for (size_t i = 0; i < sizeof(cs_records) / sizeof(cs_records[0]); i++) {
		if (at == n)
			return 1;
		at += cs_records[i];
	}
	return at == n;
}

/* Every prefix: a whole number of records decodes, any other is refused,
 * and nothing is read past the prefix (exact heap copies under ASan). */
START_TEST(truncated_every_length)
{
	uint8_t full[128];
	size_t n = unhex(CS_VECTOR, full, sizeof(full));

	ck_assert(is_boundary(n));
	for (size_t len = 0; len <= n; len++) {
		uint8_t *buf = malloc(len ? len : 1);
		json_object *o = (json_object *)&o;
		int rc;

		ck_assert_ptr_nonnull(buf);
		memcpy(buf, full, len);
		rc = cayennelpp_decode(buf, len, &o);
		free(buf);
		if (is_boundary(len)) {
			ck_assert_msg(rc == LB_OK, "len %zu: %d", len, rc);
			json_object_put(o);
		} else {
			ck_assert_msg(rc == LB_ERR_MALFORMED, "len %zu: %d", len, rc);
			ck_assert_ptr_null(o);
		}
	}
}
END_TEST

START_TEST(unknown_types_refused)
{
	static const uint8_t known[] = {0,   1,   2,   3,   101, 102, 103, 104, 113, 115, 134,
					136, 100, 116, 117, 118, 120, 121, 125, 128, 130, 131,
					132, 133, 135, 142};
	static const uint8_t size[] = {1, 1, 2, 2, 2, 1, 2, 1, 6, 2, 6,
				       9, 4, 2, 2, 4, 1, 2, 2, 2, 4, 4,
				       2, 4, 3, 1};

	for (unsigned id = 0; id < 256; id++) {
		uint8_t rec[11] = {1, (uint8_t)id};
		const uint8_t *k = memchr(known, (int)id, sizeof(known));
		size_t len = k ? 2u + size[k - known] : sizeof(rec);
		json_object *o = NULL;

		ck_assert_int_eq(cayennelpp_decode(rec, len, &o), k ? LB_OK : LB_ERR_MALFORMED);
		ck_assert(k ? o != NULL : o == NULL);
		json_object_put(o);
	}
	/* Ids between the known ones, after a valid record. */
	check_refused("03 67 01 10 02 77 00 00 00 01");
	check_refused("03 67 01 10 02 8f 01");
}
END_TEST

/* The extended types, worked by hand from the table in cayennelpp.c. */
START_TEST(extended_types)
{
	check_decodes("02 64 00 00 00 01", "{\"genericSensor\":{\"2\":1.0}}");
	check_decodes("02 64 ff ff ff ff", "{\"genericSensor\":{\"2\":4294967295.0}}");
	check_decodes("03 74 01 02", "{\"voltage\":{\"3\":2.58}}");
	check_decodes("03 75 03 e8", "{\"current\":{\"3\":1.0}}");
	check_decodes("03 76 00 00 03 e8", "{\"frequency\":{\"3\":1000.0}}");
	check_decodes("03 78 64", "{\"percentage\":{\"3\":100.0}}");
	check_decodes("03 79 ff 9c", "{\"altitude\":{\"3\":-100.0}}");
	check_decodes("03 7d 01 90", "{\"concentration\":{\"3\":400.0}}");
	check_decodes("03 80 00 64", "{\"power\":{\"3\":100.0}}");
	check_decodes("03 82 00 00 04 d2", "{\"distance\":{\"3\":1.234}}");
	check_decodes("03 83 00 01 e2 40", "{\"energy\":{\"3\":123.456}}");
	check_decodes("03 84 01 68", "{\"direction\":{\"3\":360.0}}");
	check_decodes("03 85 65 5f 1f 00", "{\"unixtime\":{\"3\":1700732672.0}}");
	check_decodes("03 87 ff 80 00", "{\"colour\":{\"3\":{\"r\":255.0,\"g\":128.0,\"b\":0.0}}}");
	check_decodes("03 8e 01", "{\"switch\":{\"3\":1.0}}");
	/* A device mixing both families in one payload. */
	check_decodes("01 67 00 e1 02 74 01 4a",
		      "{\"temperatureSensor\":{\"1\":22.5},\"voltage\":{\"2\":3.3}}");
}
END_TEST

START_TEST(bad_arguments)
{
	json_object *o = (json_object *)&o;
	uint8_t one = 0;

	ck_assert_int_eq(cayennelpp_decode(&one, 1, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(cayennelpp_decode(NULL, 1, &o), LB_ERR_INVAL);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(cayennelpp_decode(NULL, 0, &o), LB_OK);
	ck_assert_str_eq(json_object_to_json_string(o), "{ }");
	json_object_put(o);
}
END_TEST

/* --- encoder ------------------------------------------------------------ */

/* json encodes to exactly the bytes of hex. */
static void check_encodes(const char *json, const char *hex)
{
	uint8_t want[256], got[256];
	size_t n = unhex(hex, want, sizeof(want)), len = 999;
	char why[160];
	json_object *o = json_tokener_parse(json);

	ck_assert_ptr_nonnull(o);
	ck_assert_msg(cayennelpp_encode(o, got, sizeof(got), &len, why, sizeof(why)) == LB_OK,
		      "%s: %s", json, why);
	ck_assert_uint_eq(len, n);
	ck_assert_mem_eq(got, want, n);
	json_object_put(o);
}

/* hex decodes to an object that encodes back to hex. */
static void check_round_trip(const char *hex)
{
	uint8_t want[256], got[256];
	size_t n = unhex(hex, want, sizeof(want)), len = 999;
	json_object *o = NULL;

	ck_assert_int_eq(decode_hex(hex, &o), LB_OK);
	ck_assert_int_eq(cayennelpp_encode(o, got, sizeof(got), &len, NULL, 0), LB_OK);
	ck_assert_uint_eq(len, n);
	ck_assert_mem_eq(got, want, n);
	json_object_put(o);
}

static void check_encode_refused(const char *json, int rc, const char *why_has)
{
	uint8_t out[64];
	size_t len = 999;
	char why[160] = "";
	json_object *o = json_tokener_parse(json);

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(cayennelpp_encode(o, out, sizeof(out), &len, why, sizeof(why)), rc);
	ck_assert_uint_eq(len, 999);
	ck_assert_msg(strstr(why, why_has) != NULL, "%s: why '%s', want '%s'", json, why, why_has);
	json_object_put(o);
}

/* chirpstack cayenne_lpp.rs test_lpp encodes its Struct to its vector
 * (from_struct + to_vec): ours gives the same bytes from the same object. */
START_TEST(encode_chirpstack_test_lpp)
{
	check_encodes(cs_expected, CS_VECTOR);
	check_encodes(cs909_expected, CS909_VECTOR);
	check_encodes("{\"temperatureSensor\":{\"3\":27.2}}", "03 67 01 10");
	/* ChirpStack's order whatever the object's: types as in its to_vec(),
	 * channels ascending */
	check_encodes("{\"humiditySensor\":{\"5\":75,\"3\":20.5},"
		      "\"temperatureSensor\":{\"5\":25.5,\"3\":27.2}}",
		      "03 67 01 10 05 67 00 ff 03 68 29 05 68 96");
	check_encodes("{}", "");
	/* integers and doubles alike; the nearest integer */
	check_encodes("{\"analogOutput\":{\"0\":-1,\"255\":0.014}}", "00 03 ff 9c ff 03 00 01");
}
END_TEST

/* Downlink objects written for earlier lorabridge versions, with its old
 * keys for the extended types, encode as with ChirpStack's keys. */
START_TEST(encode_old_keys)
{
	static const char *const pairs[][2] = {
		{"voltageSensor", "voltage"}, {"currentSensor", "current"},
		{"frequencySensor", "frequency"}, {"percentageSensor", "percentage"},
		{"altitudeSensor", "altitude"}, {"concentrationSensor", "concentration"},
		{"powerSensor", "power"}, {"distanceSensor", "distance"},
		{"energySensor", "energy"}, {"directionSensor", "direction"},
		{"unixTime", "unixtime"},
	};
	char old_json[96], new_json[96];

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		uint8_t a[16], b[16];
		size_t na = 0, nb = 0;
		snprintf(old_json, sizeof(old_json), "{\"%s\":{\"3\":2}}", pairs[i][0]);
		snprintf(new_json, sizeof(new_json), "{\"%s\":{\"3\":2}}", pairs[i][1]);
		json_object *o = json_tokener_parse(old_json), *n = json_tokener_parse(new_json);
		ck_assert_int_eq(cayennelpp_encode(o, a, sizeof(a), &na, NULL, 0), LB_OK);
		ck_assert_int_eq(cayennelpp_encode(n, b, sizeof(b), &nb, NULL, 0), LB_OK);
		ck_assert_uint_eq(na, nb);
		ck_assert_uint_gt(na, 2);
		ck_assert_int_eq(memcmp(a, b, na), 0);
		json_object_put(o);
		json_object_put(n);
	}
	check_encodes("{\"voltageSensor\":{\"3\":3.3},\"temperatureSensor\":{\"1\":22.5}}",
		      "01 67 00 e1 03 74 01 4a");
	check_encode_refused("{\"voltage\":{\"3\":3.3},\"voltageSensor\":{\"4\":3.3}}",
			     LB_ERR_MALFORMED, "'voltage' and 'voltageSensor' are the same type");
	/* the decoder writes only ChirpStack's keys */
	check_decodes("03 85 00 00 00 0d", "{\"unixtime\":{\"3\":13.0}}");
}
END_TEST

/* Every vector the decoder is tested with goes back to its bytes. */
START_TEST(encode_round_trip)
{
	static const char *const vectors[] = {
		CS_VECTOR,
		CS909_VECTOR,
		"03 67 01 10 05 67 00 FF",
		"01 67 FF D7 06 71 04 D2 FB 2E 00 00",
		"01 88 06 76 5F F2 96 0A 00 03 E8",
		"00 00 ff", "ff 01 01", "01 02 80 00", "01 03 ff ff", "02 65 ff ff", "02 66 00",
		"02 67 ff fb", "02 67 7f ff", "02 68 ff", "02 68 01", "04 71 80 00 7f ff ff ff",
		"04 73 ff ff", "04 86 ff 9c 00 64 80 00", "07 88 80 00 00 7f ff ff ff ff ff",
		"02 64 00 00 00 01", "02 64 ff ff ff ff", "03 74 01 02", "03 75 03 e8",
		"03 76 00 00 03 e8", "03 78 64", "03 79 ff 9c", "03 7d 01 90", "03 80 00 64",
		"03 82 00 00 04 d2", "03 83 00 01 e2 40", "03 84 01 68", "03 85 65 5f 1f 00",
		"03 87 ff 80 00", "03 8e 01", "01 67 00 e1 02 74 01 4a",
	};
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		check_round_trip(vectors[i]);
}
END_TEST

START_TEST(encode_refused)
{
	check_encode_refused("{\"thermometer\":{\"1\":20}}", LB_ERR_MALFORMED,
			     "'thermometer' is not a Cayenne LPP type");
	check_encode_refused("{\"temperatureSensor\":20}", LB_ERR_MALFORMED,
			     "not an object of channels");
	check_encode_refused("{\"temperatureSensor\":{\"256\":20}}", LB_ERR_MALFORMED,
			     "'256' is not a channel");
	check_encode_refused("{\"temperatureSensor\":{\"x\":20}}", LB_ERR_MALFORMED,
			     "'x' is not a channel");
	check_encode_refused("{\"temperatureSensor\":{\"3\":20,\"03\":21}}", LB_ERR_MALFORMED,
			     "channel 3 given twice");
	check_encode_refused("{\"temperatureSensor\":{\"3\":\"20\"}}", LB_ERR_MALFORMED,
			     "temperatureSensor.3 is not a number");
	check_encode_refused("{\"temperatureSensor\":{\"3\":null}}", LB_ERR_MALFORMED,
			     "temperatureSensor.3 is null");
	check_encode_refused("{\"accelerometer\":{\"1\":{\"x\":1,\"y\":2}}}", LB_ERR_MALFORMED,
			     "accelerometer.1 lacks 'z'");
	check_encode_refused("{\"accelerometer\":{\"1\":{\"x\":1,\"y\":2,\"z\":3,\"w\":4}}}",
			     LB_ERR_MALFORMED, "accelerometer.1 has no member 'w'");
	check_encode_refused("{\"accelerometer\":{\"1\":5}}", LB_ERR_MALFORMED,
			     "accelerometer.1 is not an object");
	check_encode_refused("{\"gpsLocation\":{\"1\":{\"latitude\":1,\"longitude\":2,"
			     "\"altitude\":true}}}", LB_ERR_MALFORMED,
			     "gpsLocation.1.altitude is not a number");
	/* what ChirpStack would saturate is refused */
	check_encode_refused("{\"temperatureSensor\":{\"3\":3276.8}}", LB_ERR_RANGE,
			     "temperatureSensor.3 = 3276.8 does not fit");
	check_encode_refused("{\"humiditySensor\":{\"3\":-1}}", LB_ERR_RANGE,
			     "humiditySensor.3 = -1 does not fit");
	check_encode_refused("{\"digitalInput\":{\"3\":256}}", LB_ERR_RANGE, "does not fit");
	check_encodes("{\"temperatureSensor\":{\"3\":-3276.8}}", "03 67 80 00");
	/* 8 records of 4 bytes: 32 bytes; cap 31 is too small */
	json_object *o = json_tokener_parse("{\"temperatureSensor\":{\"0\":1,\"1\":1,\"2\":1,"
					    "\"3\":1,\"4\":1,\"5\":1,\"6\":1,\"7\":1}}");
	uint8_t out[32];
	size_t len = 999;
	ck_assert_int_eq(cayennelpp_encode(o, out, 31, &len, NULL, 0), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(cayennelpp_encode(o, out, 32, &len, NULL, 0), LB_OK);
	ck_assert_uint_eq(len, 32);
	ck_assert_int_eq(cayennelpp_encode(NULL, out, 32, &len, NULL, 0), LB_ERR_INVAL);
	ck_assert_int_eq(cayennelpp_encode(o, NULL, 32, &len, NULL, 0), LB_ERR_INVAL);
	ck_assert_int_eq(cayennelpp_encode(o, out, 32, NULL, NULL, 0), LB_ERR_INVAL);
	json_object_put(o);
	o = json_object_new_array();
	ck_assert_int_eq(cayennelpp_encode(o, out, 32, &len, NULL, 0), LB_ERR_INVAL);
	json_object_put(o);
}
END_TEST

static Suite *cayennelpp_suite(void)
{
	Suite *s = suite_create("cayennelpp");
	TCase *vec = tcase_create("vectors");
	TCase *fmt = tcase_create("format");
	TCase *err = tcase_create("errors");

	tcase_add_test(vec, chirpstack_test_lpp);
	tcase_add_test(vec, chirpstack_test_lpp_pr909);
	tcase_add_test(vec, mydevices_examples);
	tcase_add_test(vec, every_type);
	tcase_add_test(vec, empty_and_repeated_channels);
	suite_add_tcase(s, vec);

	tcase_set_timeout(fmt, 120);
	tcase_add_test(fmt, format_16bit_exhaustive);
	tcase_add_test(fmt, format_24bit_sampled);
	suite_add_tcase(s, fmt);

	tcase_add_test(err, truncated_every_length);
	tcase_add_test(err, unknown_types_refused);
	tcase_add_test(err, extended_types);
	tcase_add_test(err, bad_arguments);
	suite_add_tcase(s, err);

	TCase *enc = tcase_create("encoder");
	tcase_add_test(enc, encode_chirpstack_test_lpp);
	tcase_add_test(enc, encode_round_trip);
	tcase_add_test(enc, encode_old_keys);
	tcase_add_test(enc, encode_refused);
	suite_add_tcase(s, enc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cayennelpp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
