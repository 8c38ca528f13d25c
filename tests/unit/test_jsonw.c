/* SPDX-License-Identifier: MIT */
/*
 * test_jsonw.c - the JSON writer against json-c (the same tree printed with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) and its number
 * formatters against printf, over the values events carry (SNRs, airtime
 * in ms, counters) and random ones.
 */
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/jsonw.h"
#include "base/lb_err.h"
#include "testutil.h"

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* A deterministic generator (xorshift64), so a failure repeats. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* What event_json printed before (snprintf): the reference. */
static void ref_number(double v, bool is_float, char *buf, size_t cap)
{
	if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
		snprintf(buf, cap, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, v);
		double back = strtod(buf, NULL);
		if (is_float ? (float)back == (float)v : back == v)
			break;
	}
}

static void check_number(double v, bool is_float)
{
	char want[64], got[64];
	struct jsonw w;
	size_t n;

	ref_number(v, is_float, want, sizeof(want));
	jsonw_init(&w, got, sizeof(got));
	jsonw_number(&w, v, is_float);
	int rc = jsonw_finish(&w, &n);
	LB_ASSERT_INT_EQ(rc, LB_OK);
	LB_ASSERT_MSG(strcmp(got, want) == 0, "%.17g (float %d): got %s, want %s", v, is_float, got,
		      want);
}

static void check_fixed(double v, int d)
{
	char want[512], got[512];
	struct jsonw w;
	size_t n;

	snprintf(want, sizeof(want), "%.*f", d, v);
	jsonw_init(&w, got, sizeof(got));
	jsonw_fixed(&w, v, d);
	int rc = jsonw_finish(&w, &n);
	LB_ASSERT_INT_EQ(rc, LB_OK);
	LB_ASSERT_MSG(strcmp(got, want) == 0, "%.17g %%.%df: got %s, want %s", v, d, got, want);
}

START_TEST(t_integers)
{
	char s[JSONW_NUM_MAX + 1], want[32];
	const int64_t v[] = {0, 1, -1, 9, 10, 99, 100, 12345, -987654321, INT64_MAX, INT64_MIN};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		s[jsonw_fmt_i64(s, v[i])] = '\0';
		snprintf(want, sizeof(want), "%" PRId64, v[i]);
		ck_assert_str_eq(s, want);
	}
	s[jsonw_fmt_u64(s, UINT64_MAX)] = '\0';
	ck_assert_str_eq(s, "18446744073709551615");
	for (int i = 0; i < 100000; i++) {
		uint64_t u = next() >> (next() % 64);
		s[jsonw_fmt_u64(s, u)] = '\0';
		snprintf(want, sizeof(want), "%" PRIu64, u);
		LB_ASSERT_STR_EQ(s, want);
	}
	for (uint64_t p = 1, k = 0; k < 20; k++, p *= 10) {   /* each length's edges */
		const uint64_t edge[] = {p - 1, p, p + 1, 2 * p - 1};
		for (size_t j = 0; j < 4; j++) {
			s[jsonw_fmt_u64(s, edge[j])] = '\0';
			snprintf(want, sizeof(want), "%" PRIu64, edge[j]);
			ck_assert_str_eq(s, want);
		}
	}
}
END_TEST

/* jsonw_fmt_pad as "%0*u", every width 1..9, small values and random ones. */
START_TEST(t_pad_as_printf)
{
	char got[16], want[16];

	for (int width = 1; width <= 9; width++) {
		unsigned lim = 1;
		for (int k = 0; k < width; k++)
			lim *= 10;
		for (unsigned i = 0; i < 3000; i++) {
			unsigned v = i < 1000 ? i % lim : (unsigned)(next() % lim);
			memset(got, 'Z', sizeof(got));
			jsonw_fmt_pad(got, v, width);
			LB_ASSERT_INT_EQ(got[width], 'Z');
			got[width] = '\0';
			snprintf(want, sizeof(want), "%0*u", width, v);
			LB_ASSERT_MSG(strcmp(got, want) == 0, "%u width %d: %s", v, width, got);
		}
	}
}
END_TEST

/* SNRs as gateways send them (float, 0.1 dB steps and odd ones), integral
 * ones, -0, tiny and huge values (printf fallback), and random doubles. */
START_TEST(t_numbers_as_printf)
{
	for (int t = -300; t <= 300; t++) {
		check_number((double)(float)(t / 10.0), true);
		check_number((double)(float)(t / 4.0), true);
		check_number(t / 10.0, false);
	}
	const double odd[] = {0.0, -0.0, 1e-5, -3e-7, 0.0001, 0.00012345, 123456.789, 1e9 + 0.5,
			      1e15, 1e16, -2.5e20, 0.1, 1.0 / 3, 2.0 / 3, 0.125, 0.375, 1e-4,
			      9.999999, 99999999.5, 7.0000001};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		check_number(odd[i], true);
		check_number(odd[i], false);
	}
	for (int i = 0; i < 200000; i++) {
		double scale = pow(10, (int)(next() % 14) - 5);
		double v = ((double)(next() % 2000001) - 1000000.0) / 1000.0 * scale;
		check_number((double)(float)v, true);
		check_number(v, false);
	}
}
END_TEST

/* GPS coordinates as gateways send them (lora_pkt_fwd: 5 decimals): as
 * printf, without its fallback, a 5 after a half (46.245) too. */
START_TEST(t_coordinates_short)
{
	static const char *const texts[] = {"46.24500", "3.25730", "-33.86885", "151.20935",
					    "0.00015", "-179.99995", "89.99999", "52.3676"};
	char s[JSONW_NUM_MAX + 1], buf[32];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		double v = strtod(texts[i], NULL);
		size_t n = jsonw_fmt_short(s, v, false);
		LB_ASSERT_MSG(n > 0, "%s: no short text", texts[i]);
		check_number(v, false);
	}
	for (int i = 0; i < 200000; i++) {
		long q = (long)(next() % 36000001) - 18000000;   /* -180..180 degrees, 1e-5 steps */
		snprintf(buf, sizeof(buf), "%.5f", (double)q / 100000.0);
		double v = strtod(buf, NULL);
		if (v == floor(v) || fabs(v) < 1e-4)   /* outside jsonw_fmt_short()'s range */
			continue;
		s[0] = '\0';
		LB_ASSERT_MSG(jsonw_fmt_short(s, v, false) > 0, "%s: no short text", buf);
		check_number(v, false);
	}
}
END_TEST

/* serde_json's text of an f64 (ChirpStack's JSON), each pinned, and every
 * one reads back as its value. */
START_TEST(t_serde)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{0.0, "0.0"}, {-0.0, "-0.0"}, {21, "21.0"}, {-3, "-3.0"}, {46, "46.0"},
		{145, "145.0"}, {21.5, "21.5"}, {0.1 + 0.2, "0.30000000000000004"},
		{0.00005, "0.00005"}, {0.00001, "0.00001"}, {0.000001, "1e-6"}, {1.5e-6, "1.5e-6"},
		{-1.5e-7, "-1.5e-7"}, {5e-324, "5e-324"}, {1e15, "1000000000000000.0"},
		{9999999999999998.0, "9999999999999998.0"}, {1e16, "1e16"},
		{99999999999999980.0, "9.999999999999998e16"}, {2e19, "2e19"}, {-1e20, "-1e20"},
		{123456789012345680000.0, "1.2345678901234568e20"}, {1e21, "1e21"},
		{1.5e300, "1.5e300"}, {-1.7976931348623157e308, "-1.7976931348623157e308"},
		{46.245, "46.245"}, {-33.86885, "-33.86885"}, {2.2250738585072014e-308,
		"2.2250738585072014e-308"},
	};
	char s[JSONW_NUM_MAX + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = jsonw_fmt_serde(s, cases[i].v, false);
		ck_assert_uint_le(n, JSONW_NUM_MAX);
		s[n] = '\0';
		ck_assert_str_eq(s, cases[i].text);
		ck_assert(strtod(s, NULL) == cases[i].v);
	}
	ck_assert_uint_eq(jsonw_fmt_serde(s, NAN, false), 0);
	ck_assert_uint_eq(jsonw_fmt_serde(s, -INFINITY, false), 0);
}
END_TEST

/* An f32 (a gateway's SNR), as serde_json writes it (ryu's format32): the
 * quick path and printf's agree. */
START_TEST(t_serde_f32)
{
	static const struct {
		float v;
		const char *text;
	} cases[] = {
		{8.0f, "8.0"}, {-12.0f, "-12.0"}, {5.6f, "5.6"}, {-7.25f, "-7.25"}, {9.8f, "9.8"},
		{0.5f, "0.5"}, {0.00001f, "0.00001"}, {0.000001f, "0.000001"}, {1e-7f, "1e-7"},
		{1e12f, "1000000000000.0"}, {1e13f, "1e13"}, {3.4028235e38f, "3.4028235e38"},
		{0.0f, "0.0"}, {-0.0f, "-0.0"},
	};
	char buf[64], s[JSONW_NUM_MAX + 1];
	struct jsonw w;
	size_t len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jsonw_init(&w, buf, sizeof(buf));
		jsonw_serde_f32(&w, cases[i].v);
		ck_assert_int_eq(jsonw_finish(&w, &len), LB_OK);
		ck_assert_str_eq(buf, cases[i].text);
		size_t n = jsonw_fmt_serde(s, cases[i].v, true);
		s[n] = '\0';
		ck_assert_str_eq(s, cases[i].text);
	}
	for (int i = -3000; i <= 3000; i++) {            /* SNRs, 0.1 dB steps */
		float v = (float)i / 10.0f;
		jsonw_init(&w, buf, sizeof(buf));
		jsonw_serde_f32(&w, v);
		ck_assert_int_eq(jsonw_finish(&w, &len), LB_OK);
		size_t n = jsonw_fmt_serde(s, v, true);
		s[n] = '\0';
		ck_assert_str_eq(buf, s);
	}
}
END_TEST

START_TEST(t_fixed_as_printf)
{
	for (uint64_t us = 0; us < 200000; us += 7) {
		check_fixed((double)us / 1000.0, 3);
		check_fixed((double)us / 1000.0, 1);
	}
	const double odd[] = {0.0, -0.0, -0.0001, 0.0005, 0.0015, 0.125, 2.675, 1.005, 604800000.0,
			      1e17, -1e300, 4503599627370495.5, 30000.0};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		for (int d = 0; d <= 8; d++)
			check_fixed(odd[i], d);
	for (int i = 0; i < 200000; i++) {
		double v = ((double)(next() % 20000001) - 10000000.0) / (double)(1 + next() % 100000);
		check_fixed(v, (int)(next() % 7));
	}
}
END_TEST

/* A tree with every kind of value, escapes included, printed both ways. */
START_TEST(t_same_as_json_c)
{
	static const char nasty[] = "a\"b\\c/d\be\ff\ng\rh\ti\x01j\x1fk\x7f\xc3\xa9";
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	json_object_object_add(o, "s", json_object_new_string(nasty));
	json_object_object_add(o, nasty, json_object_new_string(""));
	json_object_object_add(o, "i", json_object_new_int64(-42));
	json_object_object_add(o, "b", json_object_new_boolean(true));
	json_object_object_add(o, "e", json_object_new_object());
	json_object_array_add(a, json_object_new_int(1));
	json_object_array_add(a, json_object_new_object());
	json_object_array_add(a, json_object_new_array());
	json_object_array_add(a, json_object_new_string("x"));
	json_object_object_add(o, "a", a);
	json_object_object_add(o, "f", json_object_new_boolean(false));
	const char *want = json_object_to_json_string_ext(o, FLAGS);

	char buf[512];
	struct jsonw w;
	size_t n;
	jsonw_init(&w, buf, sizeof(buf));
	jsonw_open(&w, '{');
	jsonw_key(&w, "s");
	jsonw_str(&w, nasty);
	jsonw_key_esc(&w, nasty);
	jsonw_str(&w, NULL);
	jsonw_key(&w, "i");
	jsonw_i64(&w, -42);
	jsonw_key(&w, "b");
	jsonw_bool(&w, true);
	jsonw_key(&w, "e");
	jsonw_open(&w, '{');
	jsonw_close(&w, '}');
	jsonw_key(&w, "a");
	jsonw_open(&w, '[');
	jsonw_u64(&w, 1);
	jsonw_open(&w, '{');
	jsonw_close(&w, '}');
	jsonw_open(&w, '[');
	jsonw_close(&w, ']');
	jsonw_raw(&w, "\"x\"", 3);
	jsonw_close(&w, ']');
	jsonw_key(&w, "f");
	jsonw_bool(&w, false);
	jsonw_close(&w, '}');
	ck_assert_int_eq(jsonw_finish(&w, &n), LB_OK);
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(n, strlen(want));
	json_object_put(o);
}
END_TEST

/* Each byte value at each place of strings 1..40 long (the escape scan
 * reads eight bytes at a time): as json-c escapes it. */
START_TEST(t_escape_every_place)
{
	char in[41], buf[512];

	for (size_t len = 1; len <= 40; len++) {
		for (size_t at = 0; at < len; at++) {
			for (int c = 1; c < 256; c += (c < 0x80 ? 1 : 37)) {
				memset(in, 'a' + (int)(len % 26), len);
				in[len] = '\0';
				in[at] = (char)c;
				json_object *o = json_object_new_string(in);
				const char *want = json_object_to_json_string_ext(o, FLAGS);
				struct jsonw w;
				size_t n;
				jsonw_init(&w, buf, sizeof(buf));
				jsonw_str(&w, in);
				ck_assert_int_eq(jsonw_finish(&w, &n), LB_OK);
				ck_assert_str_eq(buf, want);
				json_object_put(o);
			}
		}
	}
}
END_TEST

/* The escape of one byte by the per-character rule jsonw used before its
 * table: control characters, '"' and '\\' (json-c's json_escape_str()). */
static size_t ref_escape(unsigned char c, char *e)
{
	switch (c) {
	case '\b': return (size_t)sprintf(e, "\\b");
	case '\n': return (size_t)sprintf(e, "\\n");
	case '\r': return (size_t)sprintf(e, "\\r");
	case '\t': return (size_t)sprintf(e, "\\t");
	case '\f': return (size_t)sprintf(e, "\\f");
	case '"': return (size_t)sprintf(e, "\\\"");
	case '\\': return (size_t)sprintf(e, "\\\\");
	default:
		if (c < ' ')
			return (size_t)sprintf(e, "\\u%04x", c);
		e[0] = (char)c;
		return 1;
	}
}

/* All 256 bytes, NUL included, at each place of strings 1..20 long and as
 * a run of themselves: the old per-character rule and json-c agree with
 * jsonw_strn(). */
START_TEST(t_escape_all_bytes)
{
	char in[24], buf[256], want[256];

	for (int c = 0; c < 256; c++) {
		for (size_t len = 1; len <= 20; len++) {
			for (size_t at = 0; at <= len; at++) {
				/* at == len: the whole string is the byte */
				for (size_t i = 0; i < len; i++)
					in[i] = at == len || i == at ? (char)c : 'q';
				size_t k = 0;
				want[k++] = '"';
				for (size_t i = 0; i < len; i++)
					k += ref_escape((unsigned char)in[i], want + k);
				want[k++] = '"';
				want[k] = '\0';
				struct jsonw w;
				size_t n;
				jsonw_init(&w, buf, sizeof(buf));
				jsonw_strn(&w, in, len);
				ck_assert_int_eq(jsonw_finish(&w, &n), LB_OK);
				ck_assert_msg(strcmp(buf, want) == 0, "byte %#x len %zu at %zu: %s", c,
					      len, at, buf);
				json_object *o = json_object_new_string_len(in, (int)len);
				ck_assert_str_eq(buf, json_object_to_json_string_ext(o, FLAGS));
				json_object_put(o);
			}
		}
	}
}
END_TEST

/* A key three ways: one copy of the quoted literal, n bytes, escaped. */
START_TEST(t_key_forms)
{
	char a[64], b[64], c[64];
	struct jsonw w;
	size_t n;

	jsonw_init(&w, a, sizeof(a));
	jsonw_open(&w, '{');
	jsonw_key(&w, "gatewayId");
	jsonw_i64(&w, 1);
	jsonw_key(&w, "x");
	jsonw_open(&w, '[');
	jsonw_close(&w, ']');
	jsonw_close(&w, '}');
	ck_assert_int_eq(jsonw_finish(&w, &n), LB_OK);
	jsonw_init(&w, b, sizeof(b));
	jsonw_open(&w, '{');
	jsonw_keyn(&w, "gatewayIdXX", 9);
	jsonw_i64(&w, 1);
	jsonw_keyn(&w, "x", 1);
	jsonw_open(&w, '[');
	jsonw_close(&w, ']');
	jsonw_close(&w, '}');
	ck_assert_int_eq(jsonw_finish(&w, &n), LB_OK);
	jsonw_init(&w, c, sizeof(c));
	jsonw_open(&w, '{');
	jsonw_key_esc(&w, "gatewayId");
	jsonw_i64(&w, 1);
	jsonw_key_esc(&w, "x");
	jsonw_open(&w, '[');
	jsonw_close(&w, ']');
	jsonw_close(&w, '}');
	ck_assert_int_eq(jsonw_finish(&w, &n), LB_OK);
	ck_assert_str_eq(a, "{\"gatewayId\":1,\"x\":[]}");
	ck_assert_str_eq(b, a);
	ck_assert_str_eq(c, a);
}
END_TEST

/* Text of the writers' own alphabets (hex, base64, times, UUIDs, names):
 * jsonw_strn_plain() writes what jsonw_strn() does, without the scan. */
START_TEST(t_plain_as_escaped)
{
	static const char *const texts[] = {
		"", "0123456789abcdef", "AAEBAQEBAQEBAgICAgICAgIDAwm5ezI=", "+/=",
		"2026-12-06T09:17:26.528002+00:00", "6f1e1c9c-8d1f-4b7e-9c2a-0d3e5f7a9b1c",
		"1399713185.318s", "CRC_OK", "CR_4_5",
	};
	char a[128], b[128];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct jsonw w;
		size_t n, m;
		jsonw_init(&w, a, sizeof(a));
		jsonw_open(&w, '[');
		jsonw_strn_plain(&w, texts[i], strlen(texts[i]));
		jsonw_strn_plain(&w, texts[i], strlen(texts[i]));
		jsonw_close(&w, ']');
		ck_assert_int_eq(jsonw_finish(&w, &n), LB_OK);
		jsonw_init(&w, b, sizeof(b));
		jsonw_open(&w, '[');
		jsonw_str(&w, texts[i]);
		jsonw_str(&w, texts[i]);
		jsonw_close(&w, ']');
		ck_assert_int_eq(jsonw_finish(&w, &m), LB_OK);
		ck_assert_str_eq(a, b);
		ck_assert_uint_eq(n, m);
	}
}
END_TEST

/* Every capacity short of the text: LB_ERR_TOO_LARGE, "" and no overrun. */
START_TEST(t_too_large)
{
	const char *want = "{\"key\":\"value\",\"n\":12345,\"ab\":\"a\\tb\",\"p\":\"0a\"}";
	for (size_t cap = 0; cap <= strlen(want) + 1; cap++) {
		char buf[64];
		struct jsonw w;
		size_t n = 99;
		memset(buf, 'Z', sizeof(buf));
		jsonw_init(&w, buf, cap);
		jsonw_open(&w, '{');
		jsonw_key(&w, "key");
		jsonw_str(&w, "value");
		jsonw_key(&w, "n");
		jsonw_i64(&w, 12345);
		jsonw_keyn(&w, "ab", 2);
		jsonw_str(&w, "a\tb");
		jsonw_key(&w, "p");
		jsonw_strn_plain(&w, "0a", 2);
		jsonw_close(&w, '}');
		int rc = jsonw_finish(&w, &n);
		for (size_t i = cap; i < sizeof(buf); i++)
			ck_assert_int_eq(buf[i], 'Z');
		if (cap == strlen(want) + 1) {
			ck_assert_int_eq(rc, LB_OK);
			ck_assert_str_eq(buf, want);
			continue;
		}
		ck_assert_int_eq(rc, LB_ERR_TOO_LARGE);
		ck_assert_uint_eq(n, 0);
		if (cap > 0)
			ck_assert_int_eq(buf[0], '\0');
	}
}
END_TEST

/* jsonw_member_i64() and jsonw_member_plain() write what jsonw_key()
 * with jsonw_i64() or jsonw_strn_plain() write, for integers at every
 * digit count and both ends, first in an object and after a member; a
 * buffer too short is the same error, nothing written beyond it. */
START_TEST(t_members_as_key_value)
{
	int64_t v[64];
	size_t nv = 0;
	v[nv++] = INT64_MIN;
	v[nv++] = INT64_MAX;
	for (int64_t p = 1; p <= INT64_MAX / 10; p *= 10) {
		v[nv++] = p - 1;
		v[nv++] = p;
		v[nv++] = -p;
	}
	for (size_t i = 0; i < nv; i++) {
		for (size_t cap = 0; cap <= 64; cap++) {
			char a[72], b[72];
			struct jsonw wa, wb;
			size_t na = 99, nb = 99;
			memset(a, 'Z', sizeof(a));
			memset(b, 'Z', sizeof(b));
			jsonw_init(&wa, a, cap);
			jsonw_open(&wa, '{');
			jsonw_key(&wa, "n");
			jsonw_i64(&wa, v[i]);
			jsonw_key(&wa, "s");
			jsonw_strn_plain(&wa, "0a", 2);
			jsonw_key(&wa, "m");
			jsonw_i64(&wa, v[i]);
			jsonw_close(&wa, '}');
			jsonw_init(&wb, b, cap);
			jsonw_open(&wb, '{');
			jsonw_member_i64(&wb, "n", v[i]);
			jsonw_member_plain(&wb, "s", "0a", 2);
			jsonw_member_i64(&wb, "m", v[i]);
			jsonw_close(&wb, '}');
			int ra = jsonw_finish(&wa, &na);
			ck_assert_int_eq(ra, jsonw_finish(&wb, &nb));
			ck_assert_uint_eq(na, nb);
			if (ra == LB_OK)
				ck_assert_str_eq(a, b);
			else if (cap > 0)
				ck_assert_int_eq(b[0], '\0');
			for (size_t k = cap; k < sizeof(b); k++)
				ck_assert_int_eq(b[k], 'Z');
		}
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("jsonw");
	TCase *tc = tcase_create("jsonw");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_integers);
	tcase_add_test(tc, t_members_as_key_value);
	tcase_add_test(tc, t_pad_as_printf);
	tcase_add_test(tc, t_escape_all_bytes);
	tcase_add_test(tc, t_key_forms);
	tcase_add_test(tc, t_plain_as_escaped);
	tcase_add_test(tc, t_numbers_as_printf);
	tcase_add_test(tc, t_coordinates_short);
	tcase_add_test(tc, t_fixed_as_printf);
	tcase_add_test(tc, t_serde);
	tcase_add_test(tc, t_serde_f32);
	tcase_add_test(tc, t_same_as_json_c);
	tcase_add_test(tc, t_escape_every_place);
	tcase_add_test(tc, t_too_large);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
