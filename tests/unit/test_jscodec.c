/* SPDX-License-Identifier: MIT */
/*
 * test_jscodec.c - JavaScript payload codecs (codec/jscodec.h): the six
 * signatures with small temperature/humidity/battery codecs written here in
 * the styles vendors use (LoRaWAN TS013-1.0.0 decodeUplink/encodeDownlink,
 * ChirpStack v3 Decode/Encode, The Things Network v2 Decoder/Encoder),
 * sloppy mode, console.log, prototype changes kept per codec, and every
 * limit: deadline (a loop, a loop that catches, a backtracking regular
 * expression, a finalizer at free), heap cap, result size, malformed
 * results, scripts that do not compile, loads whose allocations fail
 * (injected: no leak, no crash, LB_ERR_NOMEM). Timing is only bounded
 * generously (the suite runs under ASan on a loaded machine).
 */
#include <check.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/lb_err.h"
#include "codec/jscodec.h"
#include "codec/jscodec_duk.h"
#include <duktape.h>
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

/*
 * Allocation failures, injected: the program is linked with -Wl,--wrap for
 * malloc and realloc (Makefile.am), the two the codec's allocator calls for
 * the engine's every block (and jscodec for its copy of the script). While
 * alloc_armed, alloc_calls counts the calls; the alloc_fail_at-th fails
 * (none if 0), and with alloc_fail_on every one after it as well. Disarmed
 * before any ck_assert: a failing check allocates.
 */
static bool alloc_armed, alloc_fail_on;
static long alloc_fail_at, alloc_calls;

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);

static bool alloc_fails(void)
{
	if (!alloc_armed)
		return false;
	alloc_calls++;
	return alloc_fail_at > 0 &&
	       (alloc_calls == alloc_fail_at || (alloc_fail_on && alloc_calls > alloc_fail_at));
}

void *__wrap_malloc(size_t n)
{
	return alloc_fails() ? NULL : __real_malloc(n);
}

void *__wrap_realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : __real_realloc(p, n);
}

static char why[512];

/* Deadlines far beyond what a call needs, so a loaded machine never makes
 * a test time out; the limit tests set their own. */
static const struct jscodec_limits roomy = {.timeout_ms = 20000};

static struct jscodec *load_lim(const char *src, const struct jscodec_limits *lim)
{
	struct jscodec *c = NULL;
	why[0] = '\0';
	int err = jscodec_load_source("test.js", src, strlen(src), lim, &c, why, sizeof(why));
	ck_assert_msg(err == LB_OK, "load: %s (%s)", lb_errname(err), why);
	ck_assert_ptr_nonnull(c);
	return c;
}

static struct jscodec *load(const char *src)
{
	return load_lim(src, &roomy);
}

/* Loading src fails with err; why is left for the caller to check. */
static void load_fails(const char *src, int err)
{
	struct jscodec *c = (struct jscodec *)1;
	why[0] = '\0';
	int got = jscodec_load_source("vendor.js", src, strlen(src), &roomy, &c, why, sizeof(why));
	ck_assert_msg(got == err, "load: %s, want %s (%s)", lb_errname(got), lb_errname(err), why);
	ck_assert_ptr_null(c);
}

static int decode_vars(struct jscodec *c, uint8_t fport, const char *hex,
		       const struct jscodec_vars *vars, json_object **data, json_object **warn)
{
	uint8_t buf[256];
	struct jscodec_uplink up = {
		.fport = fport,
		.bytes = buf,
		.len = unhex(hex, buf, sizeof(buf)),
		.recv_time_us = 1700000000123456LL,
	};
	if (vars != NULL)
		up.vars = *vars;
	why[0] = '\0';
	return jscodec_decode(c, &up, data, warn, why, sizeof(why));
}

static int decode(struct jscodec *c, uint8_t fport, const char *hex, json_object **data,
		  json_object **warn)
{
	return decode_vars(c, fport, hex, NULL, data, warn);
}

/* Decoding succeeds and the data prints as want (json-c, plain). */
static void decode_ok(struct jscodec *c, uint8_t fport, const char *hex, const char *want)
{
	json_object *data = NULL;
	int err = decode(c, fport, hex, &data, NULL);
	ck_assert_msg(err == LB_OK, "decode: %s (%s)", lb_errname(err), why);
	ck_assert_str_eq(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN), want);
	json_object_put(data);
}

static void decode_fails(struct jscodec *c, const char *hex, int want)
{
	json_object *data = (json_object *)1, *warn = (json_object *)1;
	int err = decode(c, 1, hex, &data, &warn);
	ck_assert_msg(err == want, "decode: %s, want %s (%s)", lb_errname(err), lb_errname(want),
		      why);
	ck_assert_ptr_null(data);
	ck_assert_ptr_null(warn);
	ck_assert_msg(strncmp(why, "test.js", 7) == 0, "why: %s", why);
}

static const char *warning(json_object *warn, size_t i)
{
	ck_assert_ptr_nonnull(warn);
	ck_assert_uint_gt(json_object_array_length(warn), i);
	return json_object_get_string(json_object_array_get_idx(warn, i));
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* --- the six signatures ---------------------------------------------------- */

/* TS013: temperature (int16 BE, 0.01 degC), humidity (0.5 %), battery mV. */
static const char ts013_src[] =
	"function decodeUplink(input) {\n"
	"  var b = input.bytes, warnings = [];\n"
	"  if (input.fPort !== 2) return { errors: ['unknown fPort ' + input.fPort] };\n"
	"  if (b.length < 5) return { errors: ['too short', 'need 5 bytes'] };\n"
	"  var t = (b[0] << 8) | b[1];\n"
	"  if (t & 0x8000) t -= 0x10000;\n"
	"  var mv = (b[3] << 8) | b[4];\n"
	"  if (mv < 3000) warnings.push('battery low');\n"
	"  return { data: { temperature: t / 100, humidity: b[2] / 2, batteryMv: mv },\n"
	"           warnings: warnings };\n"
	"}\n"
	"function encodeDownlink(input) {\n"
	"  var s = input.data.interval;\n"
	"  if (typeof s !== 'number') return { errors: ['interval missing'] };\n"
	"  return { bytes: [0x01, (s >> 8) & 0xff, s & 0xff], fPort: 10,\n"
	"           warnings: s < 60 ? ['short interval'] : [] };\n"
	"}\n";

START_TEST(ts013_decode)
{
	struct jscodec *c = load(ts013_src);
	ck_assert(jscodec_can_decode(c));
	ck_assert(jscodec_can_encode(c));
	json_object *data = NULL, *warn = NULL;
	ck_assert_int_eq(decode(c, 2, "09 c4 8b 0e 10", &data, &warn), LB_OK);
	ck_assert_str_eq(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN),
			 "{\"temperature\":25.0,\"humidity\":69.5,\"batteryMv\":3600.0}");
	ck_assert_ptr_null(warn);
	json_object_put(data);

	ck_assert_int_eq(decode(c, 2, "ff 38 64 0b b7", &data, &warn), LB_OK);
	ck_assert_str_eq(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN),
			 "{\"temperature\":-2.0,\"humidity\":50.0,\"batteryMv\":2999.0}");
	ck_assert_uint_eq(json_object_array_length(warn), 1);
	ck_assert_str_eq(warning(warn, 0), "battery low");
	json_object_put(data);
	json_object_put(warn);

	decode_fails(c, "00", LB_ERR_SCRIPT);
	ck_assert_str_eq(why, "test.js: decodeUplink returned errors: unknown fPort 1");
	ck_assert_int_eq(decode(c, 2, "00", &data, &warn), LB_ERR_SCRIPT);
	ck_assert_str_eq(why, "test.js: decodeUplink returned errors: too short; need 5 bytes");
	jscodec_free(c);
}
END_TEST

START_TEST(ts013_encode)
{
	struct jscodec *c = load(ts013_src);
	json_object *data = json_tokener_parse("{\"interval\":30}");
	uint8_t out[16], fport = 1;
	size_t len = 0;
	json_object *warn = NULL;
	ck_assert_int_eq(jscodec_encode(c, data, NULL, &fport, out, sizeof(out), &len, &warn, why,
					sizeof(why)), LB_OK);
	ck_assert_hex(out, len, "01 00 1e");
	ck_assert_uint_eq(fport, 10);
	ck_assert_str_eq(warning(warn, 0), "short interval");
	json_object_put(warn);
	json_object_put(data);

	data = json_tokener_parse("{}");
	ck_assert_int_eq(jscodec_encode(c, data, NULL, &fport, out, sizeof(out), &len, &warn, why,
					sizeof(why)), LB_ERR_SCRIPT);
	ck_assert_str_eq(why, "test.js: encodeDownlink returned errors: interval missing");
	ck_assert_ptr_null(warn);
	json_object_put(data);
	jscodec_free(c);
}
END_TEST

/* encodeDownlink's input has the command's fPort beside data and variables,
 * as ChirpStack's encode() gives it; none when the command has none. */
START_TEST(ts013_encode_input_fport)
{
	struct jscodec *c = load("function encodeDownlink(input) {\n"
				 "  return { bytes: [input.fPort === undefined ? 0 : input.fPort,\n"
				 "    input.data.x, input.variables.k === 'v' ? 1 : 2] };\n"
				 "}\n");
	json_object *data = json_tokener_parse("{\"x\":7}");
	struct lb_tag tag = {.key = "k", .value = "v"};
	struct jscodec_vars vars = {.pairs = &tag, .n = 1};
	uint8_t out[16], fport = 42;
	size_t len = 0;
	ck_assert_int_eq(jscodec_encode(c, data, &vars, &fport, out, sizeof(out), &len, NULL, why,
					sizeof(why)), LB_OK);
	ck_assert_hex(out, len, "2a 07 01");
	ck_assert_uint_eq(fport, 42);
	fport = 0;
	ck_assert_int_eq(jscodec_encode(c, data, &vars, &fport, out, sizeof(out), &len, NULL, why,
					sizeof(why)), LB_OK);
	ck_assert_hex(out, len, "00 07 01");
	json_object_put(data);
	jscodec_free(c);
}
END_TEST

/* ChirpStack v3: sign extension by shifts, variables, a ternary chain. */
static const char v3_src[] =
	"// Decode decodes an array of bytes into an object.\n"
	"function Decode(fPort, bytes, variables) {\n"
	"  var decoded = {};\n"
	"  decoded.temperature = ((bytes[0] << 24 >> 16) | bytes[1]) / 10;\n"
	"  decoded.humidity = bytes[2];\n"
	"  decoded.battery = (bytes[3] & 0x7f) * 25;\n"
	"  decoded.charging = (bytes[3] & 0x80) ? true : false;\n"
	"  decoded.site = variables.site || 'none';\n"
	"  decoded.port = fPort;\n"
	"  return decoded;\n"
	"}\n"
	"function Encode(fPort, obj, variables) {\n"
	"  var bytes = [];\n"
	"  bytes[0] = obj.led ? 1 : 0;\n"
	"  bytes[1] = fPort;\n"
	"  bytes[2] = parseInt(variables.level || '7', 10);\n"
	"  return bytes;\n"
	"}\n";

START_TEST(v3_decode)
{
	struct jscodec *c = load(v3_src);
	struct lb_tag tags[] = {{"site", "north"}};
	struct jscodec_vars vars = {tags, 1};
	json_object *data = NULL;
	ck_assert_int_eq(decode_vars(c, 5, "ff 9c 41 84", &vars, &data, NULL), LB_OK);
	ck_assert_str_eq(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN),
			 "{\"temperature\":-10.0,\"humidity\":65.0,\"battery\":100.0,"
			 "\"charging\":true,"
			 "\"site\":\"north\",\"port\":5.0}");
	json_object_put(data);
	decode_ok(c, 6, "01 0f 32 04",
		  "{\"temperature\":27.1,\"humidity\":50.0,\"battery\":100.0,\"charging\":false,"
		  "\"site\":\"none\",\"port\":6.0}");
	jscodec_free(c);
}
END_TEST

START_TEST(v3_encode)
{
	struct jscodec *c = load(v3_src);
	struct lb_tag tags[] = {{"level", "200"}};
	struct jscodec_vars vars = {tags, 1};
	json_object *data = json_tokener_parse("{\"led\":true}");
	uint8_t out[8], fport = 3;
	size_t len = 0;
	ck_assert_int_eq(jscodec_encode(c, data, &vars, &fport, out, sizeof(out), &len, NULL, why,
					sizeof(why)), LB_OK);
	ck_assert_hex(out, len, "01 03 c8");
	ck_assert_uint_eq(fport, 3); /* the caller's default, which Encode received */
	ck_assert_int_eq(jscodec_encode(c, NULL, NULL, &fport, out, sizeof(out), &len, NULL, why,
					sizeof(why)), LB_ERR_SCRIPT);
	ck_assert_msg(strstr(why, "test.js:14: TypeError") == why, "why: %s", why);
	json_object_put(data);
	jscodec_free(c);
}
END_TEST

/* TTN v2: a switch on the port, a helper function, hex in a string. */
static const char v2_src[] =
	"function u16(b, i) { return (b[i] << 8) + b[i + 1]; }\n"
	"function Decoder(bytes, port) {\n"
	"  switch (port) {\n"
	"  case 1:\n"
	"    return { temperature: u16(bytes, 0) / 100 - 40 };\n"
	"  case 2:\n"
	"    return { battery: bytes[0] + '%', raw: bytes.map(function (x) {\n"
	"      return ('0' + x.toString(16)).slice(-2); }).join('') };\n"
	"  default:\n"
	"    return { error: 'unknown port ' + port };\n"
	"  }\n"
	"}\n"
	"function Encoder(object, port) {\n"
	"  return port === 4 ? [object.mode & 0xff] : [];\n"
	"}\n";

START_TEST(v2_decoder)
{
	struct jscodec *c = load(v2_src);
	decode_ok(c, 1, "17 70", "{\"temperature\":20.0}");
	decode_ok(c, 2, "5a 0b", "{\"battery\":\"90%\",\"raw\":\"5a0b\"}");
	decode_ok(c, 9, "", "{\"error\":\"unknown port 9\"}");
	jscodec_free(c);
}
END_TEST

START_TEST(v2_encoder)
{
	struct jscodec *c = load(v2_src);
	json_object *data = json_tokener_parse("{\"mode\":258}");
	uint8_t out[8], fport = 4;
	size_t len = 99;
	ck_assert_int_eq(jscodec_encode(c, data, NULL, &fport, out, sizeof(out), &len, NULL, why,
					sizeof(why)), LB_OK);
	ck_assert_hex(out, len, "02");
	ck_assert_uint_eq(fport, 4);
	fport = 5;
	ck_assert_int_eq(jscodec_encode(c, data, NULL, &fport, out, sizeof(out), &len, NULL, why,
					sizeof(why)), LB_OK);
	ck_assert_uint_eq(len, 0);
	json_object_put(data);
	jscodec_free(c);
}
END_TEST

/* Preference order: decodeUplink over Decode over Decoder. */
START_TEST(signature_order)
{
	struct jscodec *c = load("function Decoder(b, p) { return { v: 2 }; }\n"
				 "function Decode(p, b, v) { return { v: 3 }; }\n"
				 "function decodeUplink(i) { return { data: { v: 13 } }; }\n");
	decode_ok(c, 1, "00", "{\"v\":13.0}");
	ck_assert(!jscodec_can_encode(c));
	uint8_t out[4], fport = 1;
	size_t len;
	ck_assert_int_eq(jscodec_encode(c, NULL, NULL, &fport, out, sizeof(out), &len, NULL, why,
					sizeof(why)), LB_ERR_SCRIPT);
	jscodec_free(c);
	c = load("function Decoder(b, p) { return { v: 2 }; }\n"
		 "function Decode(p, b, v) { return { v: 3 }; }\n");
	decode_ok(c, 1, "00", "{\"v\":3.0}");
	jscodec_free(c);
	load_fails("function decode(b) { return {}; }\n", LB_ERR_SCRIPT);
	ck_assert_msg(strstr(why, "defines none of") != NULL, "why: %s", why);
}
END_TEST

/* --- how vendors write ----------------------------------------------------- */

START_TEST(sloppy_globals)
{
	struct jscodec *c = load(
		"function Decoder(bytes, port) {\n"
		"  out = {};\n"                      /* undeclared: a global */
		"  for (i = 0; i < bytes.length; i++) total = (typeof total === 'number' ?\n"
		"    total : 0) + bytes[i];\n"
		"  out.sum = total; out.calls = ++calls;\n"
		"  return out;\n"
		"}\n"
		"calls = 0;\n");
	decode_ok(c, 1, "01 02 03", "{\"sum\":6.0,\"calls\":1.0}");
	decode_ok(c, 1, "01", "{\"sum\":7.0,\"calls\":2.0}"); /* globals stay between calls */
	jscodec_free(c);
}
END_TEST

START_TEST(console_log)
{
	struct jscodec *c = load(
		"function decodeUplink(input) {\n"
		"  console.log('fPort', input.fPort, 'bytes', input.bytes);\n"
		"  console.warn({ raw: input.bytes.length });\n"
		"  if (input.fPort === 9) for (var i = 0; i < 40; i++) console.log('line ' + i);\n"
		"  if (input.fPort === 8) console.log(new Array(1000).join('x'));\n"
		"  return { data: { n: input.bytes.length }, warnings: ['own'] };\n"
		"}\n");
	json_object *data = NULL, *warn = NULL;
	ck_assert_int_eq(decode(c, 1, "0a 0b", &data, &warn), LB_OK);
	ck_assert_uint_eq(json_object_array_length(warn), 3);
	ck_assert_str_eq(warning(warn, 0), "console.log: fPort 1 bytes [10,11]");
	ck_assert_str_eq(warning(warn, 1), "console.warn: {\"raw\":2}");
	ck_assert_str_eq(warning(warn, 2), "own");
	json_object_put(data);
	json_object_put(warn);

	/* Bounded: 16 lines, then a count of the rest; the script's own after. */
	ck_assert_int_eq(decode(c, 9, "", &data, &warn), LB_OK);
	ck_assert_uint_eq(json_object_array_length(warn), 18);
	ck_assert_str_eq(warning(warn, 15), "console.log: line 13");
	ck_assert_str_eq(warning(warn, 16), "console: 26 more lines not kept");
	ck_assert_str_eq(warning(warn, 17), "own");
	json_object_put(data);
	json_object_put(warn);

	ck_assert_int_eq(decode(c, 8, "", &data, &warn), LB_OK);
	ck_assert_uint_eq(strlen(warning(warn, 2)), 256 + 3);
	ck_assert_str_eq(warning(warn, 2) + 256, "...");
	json_object_put(data);
	json_object_put(warn);

	/* console.log at the top level does not leak into the first call. */
	jscodec_free(c);
	c = load("console.log('loading');\n"
		 "function Decoder(b) { return {}; }\n");
	ck_assert_int_eq(decode(c, 1, "", &data, &warn), LB_OK);
	ck_assert_ptr_null(warn);
	json_object_put(data);
	jscodec_free(c);
}
END_TEST

/* A script that extends the built-in prototypes changes only its own heap. */
START_TEST(prototypes_isolated)
{
	struct jscodec *a = load(
		"Object.prototype.extra = function () { return 1; };\n"
		"Array.prototype.sum = function () {\n"
		"  var s = 0; for (var i = 0; i < this.length; i++) s += this[i]; return s; };\n"
		"String.prototype.trim = function () { return 'patched'; };\n"
		"function Decoder(bytes) { return { sum: bytes.sum(), t: ' x '.trim() }; }\n");
	struct jscodec *b = load(
		"function Decoder(bytes) {\n"
		"  return { extra: typeof ({}).extra, sum: typeof [].sum, t: ' x '.trim() };\n"
		"}\n");
	decode_ok(a, 1, "01 02 03", "{\"sum\":6.0,\"t\":\"patched\"}");
	decode_ok(b, 1, "01", "{\"extra\":\"undefined\",\"sum\":\"undefined\",\"t\":\"x\"}");
	decode_ok(a, 1, "05", "{\"sum\":5.0,\"t\":\"patched\"}");
	jscodec_free(a);
	jscodec_free(b);
}
END_TEST

START_TEST(input_shape)
{
	struct jscodec *c = load(
		"function decodeUplink(input) {\n"
		"  return { data: { isArray: Array.isArray(input.bytes),\n"
		"    date: input.recvTime instanceof Date, ms: input.recvTime.getTime(),\n"
		"    iso: input.recvTime, vars: input.variables, nan: 0 / 0, inf: 1 / 0,\n"
		"    gone: undefined } };\n"
		"}\n");
	struct lb_tag tags[] = {{"a", "1"}, {"b", "two"}};
	struct jscodec_vars vars = {tags, 2};
	json_object *data = NULL;
	ck_assert_int_eq(decode_vars(c, 1, "00", &vars, &data, NULL), LB_OK);
	ck_assert_str_eq(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN),
			 "{\"isArray\":true,\"date\":true,\"ms\":1700000000123.0,"
			 "\"iso\":\"2023-11-14T22:13:20.123Z\",\"vars\":{\"a\":\"1\",\"b\":\"two\"},"
			 "\"nan\":null,\"inf\":null}");
	json_object_put(data);
	jscodec_free(c);
}
END_TEST

/* Text beyond ASCII reaches json-c as UTF-8: the engine's surrogate pairs
 * (from the source's UTF-8 or from \u escapes) become 4-byte characters, a
 * lone surrogate becomes U+FFFD. */
START_TEST(text_is_utf8)
{
	struct jscodec *c = load(
		"function Decoder(b) {\n"
		"  return { unit: '\xc2\xb0" "C', face: '\xf0\x9f\x98\x80', esc: '\\ud83d\\ude00',\n"
		"           lone: 'a\\ud83db', low: '\\ude00', last: '\\ud83d',\n"
		"           byte: String.fromCharCode(b[0]) };\n"
		"}\n");
	decode_ok(c, 1, "e9", "{\"unit\":\"\xc2\xb0""C\",\"face\":\"\xf0\x9f\x98\x80\","
		  "\"esc\":\"\xf0\x9f\x98\x80\",\"lone\":\"a\xef\xbf\xbd""b\","
		  "\"low\":\"\xef\xbf\xbd\",\"last\":\"\xef\xbf\xbd\",\"byte\":\"\xc3\xa9\"}");
	jscodec_free(c);
}
END_TEST

/* --- limits ---------------------------------------------------------------- */

static const struct jscodec_limits quick = {.timeout_ms = 200};

/* fPort 1 loops as written, 2 loops and catches the timeout, 3 backtracks
 * in a regular expression; others decode. */
static const char loop_src[] =
	"function Decoder(bytes, port) {\n"
	"  if (port === 1) while (true) {}\n"
	"  if (port === 2) for (;;) { try { for (;;) {} } catch (e) {} }\n"
	"  if (port === 3) return { m: /^(a+)+$/.test('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!') };\n"
	"  return { ok: bytes.length };\n"
	"}\n";

START_TEST(timeout_then_works)
{
	struct jscodec *c = load_lim(loop_src, &quick);
	for (uint8_t port = 1; port <= 3; port++) {
		json_object *data = NULL;
		double t0 = now_ms();
		ck_assert_int_eq(decode(c, port, "", &data, NULL), LB_ERR_TIMEOUT);
		double took = now_ms() - t0;
		ck_assert_msg(took < 20 * quick.timeout_ms, "port %u: %.0f ms", port, took);
		ck_assert_str_eq(why, "test.js: ran past its deadline of 200 ms");
		ck_assert_ptr_null(data);
		decode_ok(c, 9, "01 02", "{\"ok\":2.0}");
	}
	jscodec_free(c);
}
END_TEST

/* --- the deadline is CPU time -------------------------------------------- */

/* A loop of bytes[0..3] (big-endian) iterations. */
static const char spin_src[] =
	"function Decoder(bytes, port) {\n"
	"  var n = bytes[0] * 16777216 + bytes[1] * 65536 + bytes[2] * 256 + bytes[3], x = 0;\n"
	"  for (var i = 0; i < n; i++) x = (x + i) % 1000003;\n"
	"  return { x: x };\n"
	"}\n";

static double thread_cpu_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* One spin of n iterations; its CPU time in ms through *cpu, its wall
 * time returned. */
static double spin(struct jscodec *c, unsigned n, int want, double *cpu)
{
	char hex[12];
	json_object *data = NULL;
	snprintf(hex, sizeof(hex), "%08x", n);
	double w0 = now_ms(), c0 = thread_cpu_ms();
	int got = decode(c, 1, hex, &data, NULL);
	*cpu = thread_cpu_ms() - c0;
	double wall = now_ms() - w0;
	ck_assert_msg(got == want, "spin %u: %s, want %s (%s)", n, lb_errname(got),
		      lb_errname(want), why);
	json_object_put(data);
	return wall;
}

#define HOGS 7

/* HOGS processes spinning on the CPU this process is pinned to, each ending
 * with this process (PR_SET_PDEATHSIG) or after 30 s at the latest. */
static void start_hogs(pid_t *pids)
{
	for (int i = 0; i < HOGS; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] > 0)
			continue;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		time_t end = time(NULL) + 30;
		while (time(NULL) < end)
			;
		_exit(0);
	}
}

static void stop_hogs(pid_t *pids)
{
	for (int i = 0; i < HOGS; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
}

/* A call within its deadline in CPU time is not timed out when the
 * machine gives its time to others: pinned to one CPU with 7 processes
 * spinning there, a call of about a third of the deadline in CPU time
 * takes several deadlines of wall time, and succeeds. Eight times as much
 * work still times out. */
START_TEST(deadline_is_cpu_time)
{
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
	ck_assert_msg(sched_setaffinity(0, sizeof(one), &one) == 0, "sched_setaffinity failed");

	/* n iterations costing at least 30 ms of CPU (an ASan build, an
	 * emulated CPU: whatever this machine needs); 8 n fits the 4 bytes */
	struct jscodec *c = load(spin_src);
	unsigned n = 20000;
	double cpu = 0;
	for (spin(c, n, LB_OK, &cpu); cpu < 30 && n < 0x10000000; spin(c, n, LB_OK, &cpu))
		n *= 2;
	ck_assert_msg(cpu >= 30, "%u iterations cost only %.1f ms of CPU", n, cpu);
	jscodec_free(c);

	struct jscodec_limits lim = {.timeout_ms = (unsigned)(3 * cpu)};
	c = load_lim(spin_src, &lim);
	pid_t hogs[HOGS];
	start_hogs(hogs);
	double used = 0;
	double wall = spin(c, n, LB_OK, &used);
	stop_hogs(hogs);
	ck_assert_msg(wall > lim.timeout_ms, "the call got the CPU anyway: %.0f ms of wall time "
		      "for %.0f of CPU, deadline %u ms", wall, used, lim.timeout_ms);
	/* and eight such calls' worth (about 2.7 deadlines of CPU) is past it */
	spin(c, 8 * n, LB_ERR_TIMEOUT, &used);
	jscodec_free(c);
}
END_TEST

START_TEST(timeout_at_load_and_free)
{
	struct jscodec *c = (struct jscodec *)1;
	double t0 = now_ms();
	ck_assert_int_eq(jscodec_load_source("top.js", "while (1) {}", 12, &quick, &c, why,
					     sizeof(why)), LB_ERR_TIMEOUT);
	ck_assert_ptr_null(c);
	ck_assert_double_lt(now_ms() - t0, 20 * quick.timeout_ms);

	/* A finalizer that never ends runs when the heap is destroyed. */
	c = load_lim("var p = {}; Duktape.fin(p, function () { while (true) {} });\n"
		     "function Decoder(b) { return {}; }\n", &quick);
	t0 = now_ms();
	jscodec_free(c);
	ck_assert_double_lt(now_ms() - t0, 20 * quick.timeout_ms);
}
END_TEST

START_TEST(heap_cap_then_works)
{
	struct jscodec_limits lim = {.timeout_ms = 5000, .heap_max = 1024 * 1024};
	struct jscodec *c = load_lim(
		"function Decoder(bytes, port) {\n"
		"  if (port === 1) { var a = []; for (var i = 0; ; i++) a.push([i, i + 0.5]); }\n"
		"  if (port === 2) return { s: new Array(10000000).join('x') };\n"
		"  if (port === 3) { var k = []; for (;;) { try { k.push(new Array(1000)); }\n"
		"    catch (e) { k = null; return { caught: String(e) }; } } }\n"
		"  return { ok: 1 };\n"
		"}\n", &lim);
	size_t base = jscodec_heap_bytes(c);
	ck_assert_uint_gt(base, 0);
	ck_assert_uint_lt(base, lim.heap_max);
	for (uint8_t port = 1; port <= 3; port++) {
		json_object *data = NULL;
		ck_assert_int_eq(decode(c, port, "", &data, NULL), LB_ERR_NOMEM);
		ck_assert_str_eq(why, "test.js: reached its heap limit of 1048576 bytes");
		ck_assert_uint_le(jscodec_heap_bytes(c), base + base / 2); /* rebuilt */
		decode_ok(c, 9, "", "{\"ok\":1.0}");
	}
	jscodec_free(c);

	/* A heap limit below what an empty heap needs: the load says so. */
	struct jscodec_limits tiny = {.heap_max = 4096};
	ck_assert_int_eq(jscodec_load_source("t.js", "1", 1, &tiny, &c, why, sizeof(why)),
			 LB_ERR_NOMEM);
}
END_TEST

START_TEST(result_too_large)
{
	struct jscodec_limits lim = {.timeout_ms = 20000, .result_max = 1000};
	struct jscodec *c = load_lim(
		"function Decoder(bytes, port) {\n"
		"  return { s: new Array(port * 100).join('x') };\n"
		"}\n", &lim);
	char want[200] = "{\"s\":\"";
	memset(want + 6, 'x', 99);
	strcpy(want + 6 + 99, "\"}");
	decode_ok(c, 1, "", want);
	json_object *data = NULL;
	ck_assert_int_eq(decode(c, 20, "", &data, NULL), LB_ERR_TOO_LARGE);
	ck_assert_ptr_null(data);
	ck_assert_msg(strstr(why, "more than the 1000 allowed") != NULL, "why: %s", why);
	jscodec_free(c);

	c = load("function Decoder(b) { return { s: new Array(70000).join('y') }; }\n");
	ck_assert_int_eq(decode(c, 1, "", &data, NULL), LB_ERR_TOO_LARGE); /* 64 KiB default */
	ck_assert_msg(strstr(why, "more than the 65536 allowed") != NULL, "why: %s", why);
	jscodec_free(c);
}
END_TEST

/* --- failures -------------------------------------------------------------- */

START_TEST(throws)
{
	struct jscodec *c = load(
		"function Decoder(bytes, port) {\n"
		"  if (port === 1) throw new Error('bad payload');\n"
		"  if (port === 2) throw 'plain string';\n"
		"  if (port === 3) return bytes.nothing.here;\n"
		"  if (port === 4) { var f = function (n) { return [n].map(f); }; f(1); }\n"
		"  return { ok: true };\n"
		"}\n");
	json_object *data = NULL;
	ck_assert_int_eq(decode(c, 1, "", &data, NULL), LB_ERR_SCRIPT);
	ck_assert_str_eq(why, "test.js:2: Error: bad payload");
	ck_assert_int_eq(decode(c, 2, "", &data, NULL), LB_ERR_SCRIPT);
	ck_assert_str_eq(why, "test.js: plain string");
	ck_assert_int_eq(decode(c, 3, "", &data, NULL), LB_ERR_SCRIPT);
	ck_assert_str_eq(why, "test.js:4: TypeError: cannot read property 'here' of undefined");
	ck_assert_int_eq(decode(c, 4, "", &data, NULL), LB_ERR_SCRIPT); /* C recursion limit */
	ck_assert_msg(strstr(why, "RangeError") != NULL, "why: %s", why);
	decode_ok(c, 9, "", "{\"ok\":true}");
	jscodec_free(c);
}
END_TEST

START_TEST(bad_results)
{
	struct jscodec *c = load(
		"function Decoder(bytes, port) {\n"
		"  switch (port) {\n"
		"  case 1: return 42;\n"
		"  case 2: return;\n"
		"  case 3: return { f: function () {} };\n"
		"  case 4: var o = { a: 1 }; o.self = o; return o;\n"
		"  case 5: return [1, 2];\n"
		"  case 6: return { deep: { list: [1, Math.max] } };\n"
		"  case 7: return { toJSON: function () { return 5; } };\n"
		"  }\n"
		"}\n");
	static const struct { uint8_t port; const char *why; } cases[] = {
		{1, "test.js: Decoder returned data that is a number, not an object"},
		{2, "test.js: Decoder returned data that is undefined, not an object"},
		{3, "test.js: the result is not JSON: TypeError: 'f' is a function, which JSON "
		    "cannot express"},
		{4, NULL},
		{5, "test.js: Decoder returned data that is an array, not an object"},
		{6, "test.js: the result is not JSON: TypeError: '1' is a function, which JSON "
		    "cannot express"},
		{7, "test.js: Decoder returned data whose JSON is not an object"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *data = NULL;
		ck_assert_int_eq(decode(c, cases[i].port, "", &data, NULL), LB_ERR_JSON);
		if (cases[i].why != NULL)
			ck_assert_str_eq(why, cases[i].why);
		else
			ck_assert_msg(strstr(why, "cyclic") != NULL, "why: %s", why);
	}
	jscodec_free(c);

	c = load("function decodeUplink(input) { return input.fPort === 1 ? 7 : {}; }\n");
	decode_fails(c, "", LB_ERR_JSON);
	ck_assert_str_eq(why, "test.js: decodeUplink returned a number, not an object");
	json_object *data = NULL;
	ck_assert_int_eq(decode(c, 2, "", &data, NULL), LB_ERR_JSON); /* no data member */
	jscodec_free(c);
}
END_TEST

START_TEST(bad_bytes)
{
	struct jscodec *c = load(
		"function encodeDownlink(input) {\n"
		"  var d = input.data;\n"
		"  return { bytes: d.bytes, fPort: d.port };\n"
		"}\n");
	static const struct { const char *json; int err; const char *why; } cases[] = {
		{"{\"bytes\":[1,256]}", LB_ERR_JSON,
		 "test.js: encodeDownlink returned bytes[1] = 256, not an integer 0..255"},
		{"{\"bytes\":[-1]}", LB_ERR_JSON,
		 "test.js: encodeDownlink returned bytes[0] = -1, not an integer 0..255"},
		{"{\"bytes\":[1.5]}", LB_ERR_JSON,
		 "test.js: encodeDownlink returned bytes[0] = 1.5, not an integer 0..255"},
		{"{\"bytes\":[\"1\"]}", LB_ERR_JSON,
		 "test.js: encodeDownlink returned bytes[0] = 1, not an integer 0..255"},
		{"{\"bytes\":\"0102\"}", LB_ERR_JSON,
		 "test.js: encodeDownlink returned bytes that are a string, not an array"},
		{"{\"bytes\":[1],\"port\":0}", LB_ERR_JSON,
		 "test.js: encodeDownlink returned fPort 0, not 1..223"},
		{"{\"bytes\":[1],\"port\":224}", LB_ERR_JSON,
		 "test.js: encodeDownlink returned fPort 224, not 1..223"},
		{"{\"bytes\":[1,2,3,4,5]}", LB_ERR_TOO_LARGE,
		 "test.js: encodeDownlink returned 5 bytes, more than the 4 that fit"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *data = json_tokener_parse(cases[i].json);
		uint8_t out[4], fport = 7;
		size_t len = 99;
		ck_assert_int_eq(jscodec_encode(c, data, NULL, &fport, out, sizeof(out), &len, NULL,
						why, sizeof(why)), cases[i].err);
		ck_assert_str_eq(why, cases[i].why);
		ck_assert_uint_eq(len, 99);
		ck_assert_uint_eq(fport, 7);
		json_object_put(data);
	}
	jscodec_free(c);

	/* A typed array is accepted as the bytes. */
	c = load("function Encoder(o, p) { var u = new Uint8Array(2); u[0] = 9; u[1] = p;"
		 " return u; }\n");
	uint8_t out[4], fport = 3;
	size_t len = 0;
	ck_assert_int_eq(jscodec_encode(c, NULL, NULL, &fport, out, sizeof(out), &len, NULL, why,
					sizeof(why)), LB_OK);
	ck_assert_hex(out, len, "09 03");
	jscodec_free(c);
}
END_TEST

START_TEST(syntax_errors)
{
	load_fails("function Decoder(bytes) {\n"
		   "  var x = 1;\n"
		   "  return { x: x +; };\n"
		   "}\n", LB_ERR_SCRIPT);
	ck_assert_msg(strncmp(why, "vendor.js:3: SyntaxError", 24) == 0, "why: %s", why);

	load_fails("function Decoder(bytes) {\n"
		   "  var t = bytes.map((b) => b * 2);\n"
		   "  return { t: t };\n"
		   "}\n", LB_ERR_SCRIPT);
	ck_assert_msg(strncmp(why, "vendor.js:2: SyntaxError", 24) == 0, "why: %s", why);
	ck_assert_msg(strstr(why, "(arrow functions are ES2015; Duktape runs ECMAScript 5.1)"),
		      "why: %s", why);

	load_fails("function decodeUplink(input) {\n"
		   "  let t = input.bytes[0];\n"
		   "  return { data: { t: t } };\n"
		   "}\n", LB_ERR_SCRIPT);
	ck_assert_msg(strncmp(why, "vendor.js:2: SyntaxError", 24) == 0, "why: %s", why);
	ck_assert_msg(strstr(why, "let declarations are ES2015"), "why: %s", why);

	load_fails("var s = `t=${1}`;\n", LB_ERR_SCRIPT);
	ck_assert_msg(strstr(why, "template literals are ES2015"), "why: %s", why);

	/* Not every line gets a hint: an outlet is not a let. */
	load_fails("var outlet = 1 +;\n", LB_ERR_SCRIPT);
	ck_assert_msg(strstr(why, "ES2015") == NULL, "why: %s", why);

	/* A throw at the top level is a load failure too. */
	load_fails("var a = 1;\nthrow new Error('no');\n", LB_ERR_SCRIPT);
	ck_assert_str_eq(why, "vendor.js:2: Error: no");
}
END_TEST

/* Every number of a decoder's result prints as ChirpStack prints it: it
 * takes each JS number as a float (codec/convert.rs) and serde_json writes
 * a whole one with ".0" below 1e16. The values stay integers for json-c's
 * readers (Home Assistant, InfluxDB). */
START_TEST(numbers_as_chirpstack_prints_them)
{
	struct jscodec *c = load(
		"function decodeUplink(input) {\n"
		"  return { data: { a: 21, b: -3, c: 0, d: 21.5, e: 1e16, f: [1, [2]],\n"
		"    g: { h: 7 }, i: 9007199254740991, j: true, k: '5' } };\n"
		"}\n");
	json_object *data = NULL;

	decode_ok(c, 1, "00", "{\"a\":21.0,\"b\":-3.0,\"c\":0.0,\"d\":21.5,"
		  "\"e\":1e16,\"f\":[1.0,[2.0]],\"g\":{\"h\":7.0},"
		  "\"i\":9007199254740991.0,\"j\":true,\"k\":\"5\"}");
	ck_assert_int_eq(decode(c, 1, "00", &data, NULL), LB_OK);
	ck_assert(json_object_is_type(json_object_object_get(data, "a"), json_type_int));
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(data, "a")), 21);
	json_object_put(data);
	jscodec_free(c);
}
END_TEST

/* Numbers the engine writes otherwise than serde_json: whole ones from
 * 1e16 to 1e21 as plain digits (json-c would cap them at INT64_MIN or
 * UINT64_MAX), "1e+21", "0.000001". Each keeps its value and prints as
 * ChirpStack prints it; number-like text in strings and keys stays. */
START_TEST(large_and_small_numbers_as_serde)
{
	struct jscodec *c = load(
		"function decodeUplink(input) {\n"
		"  return { data: { a: 1e20, b: -1e20, c: 2e19, d: 123456789012345680000,\n"
		"    e: 1e21, f: 1.5e300, g: 0.000001, h: 1.5e-6, i: 1e16, j: 99999999999999980,\n"
		"    k: 0.1 + 0.2, l: 5e-324, m: 1e15, n: 0.00001, o: -1.5e-7,\n"
		"    p: [1e20, [-0.0000015, { q: 1e17 }]], r: { s: [2e16] },\n"
		"    t: '1e+21 \\\" 100000000000000000000', '100000000000000000000': 1 } };\n"
		"}\n");
	json_object *data = NULL;

	decode_ok(c, 1, "00", "{\"a\":1e20,\"b\":-1e20,\"c\":2e19,"
		  "\"d\":1.2345678901234568e20,\"e\":1e21,\"f\":1.5e300,\"g\":1e-6,"
		  "\"h\":1.5e-6,\"i\":1e16,\"j\":9.999999999999998e16,"
		  "\"k\":0.30000000000000004,\"l\":5e-324,\"m\":1000000000000000.0,"
		  "\"n\":0.00001,\"o\":-1.5e-7,\"p\":[1e20,[-1.5e-6,{\"q\":1e17}]],"
		  "\"r\":{\"s\":[2e16]},\"t\":\"1e+21 \\\" 100000000000000000000\","
		  "\"100000000000000000000\":1.0}");
	ck_assert_int_eq(decode(c, 1, "00", &data, NULL), LB_OK);
	ck_assert(json_object_get_double(json_object_object_get(data, "b")) == -1e20);
	ck_assert(json_object_get_double(json_object_object_get(data, "a")) == 1e20);
	json_object_put(data);
	jscodec_free(c);
}
END_TEST

START_TEST(files)
{
	char dir[] = "/tmp/test_jscodec.XXXXXX";
	testutil_tmp_make(dir);
	char path[256];
	snprintf(path, sizeof(path), "%s/codec.js", dir);
	testutil_write_file(path, v2_src);

	struct jscodec *c = NULL;
	ck_assert_int_eq(jscodec_load(path, &roomy, &c, why, sizeof(why)), LB_OK);
	decode_ok(c, 1, "0f a0", "{\"temperature\":0.0}");
	jscodec_free(c);

	char missing[300];
	snprintf(missing, sizeof(missing), "%s/none.js", dir);
	ck_assert_int_eq(jscodec_load(missing, NULL, &c, why, sizeof(why)), LB_ERR_IO);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(why, "none.js: No such file or directory") != NULL, "why: %s", why);
	ck_assert_int_eq(jscodec_load(dir, NULL, &c, why, sizeof(why)), LB_ERR_IO);

	testutil_write_file(path, "function Decoder(b) {\n  return {\n");
	ck_assert_int_eq(jscodec_load(path, &roomy, &c, why, sizeof(why)), LB_ERR_SCRIPT);
	ck_assert_msg(strncmp(why, path, strlen(path)) == 0 && why[strlen(path)] == ':',
		      "why: %s", why);
	testutil_tmp_remove(dir);
}
END_TEST

START_TEST(null_arguments)
{
	struct jscodec *c = load(v2_src);
	json_object *data = NULL;
	struct jscodec_uplink up = {.fport = 1, .len = 3};
	ck_assert_int_eq(jscodec_decode(c, &up, &data, NULL, why, sizeof(why)), LB_ERR_INVAL);
	ck_assert_int_eq(jscodec_decode(NULL, &up, &data, NULL, NULL, 0), LB_ERR_INVAL);
	struct jscodec *none = c;
	ck_assert_int_eq(jscodec_load(NULL, NULL, &none, NULL, 0), LB_ERR_INVAL);
	ck_assert_ptr_null(none);
	jscodec_free(c);
	jscodec_free(NULL);
}
END_TEST

/* A script with some of everything the compiler handles: literals, a
 * regular expression, nested functions, labels, loops, try, switch. */
static const char oom_src[] =
	"var table = {a: 1, b: [1, 2, 3], c: 'text'};\n"
	"function helper(x, y) { var z = x * y; return /ab+c/.test('abbc') ? z : -z; }\n"
	"function decodeUplink(input) {\n"
	"  var out = {}, i;\n"
	"  outer: for (i = 0; i < input.bytes.length; i++) {\n"
	"    out['b' + i] = helper(input.bytes[i], 2);\n"
	"    if (i > 50) break outer;\n"
	"  }\n"
	"  try { JSON.parse('{\"q\": 1}'); } catch (e) { out.e = String(e); }\n"
	"  switch (input.fPort) { case 1: out.p = 'one'; break; default: out.p = 'other'; }\n"
	"  return {data: out, warnings: []};\n"
	"}\n"
	"function encodeDownlink(input) { return {bytes: [input.data.level & 255], fPort: 2}; }\n";

/* Load oom_src with allocation k failing (and, on, every one after it):
 * LB_OK or LB_ERR_NOMEM saying so, and no codec on failure. */
static void load_failing_at(long k, bool on)
{
	struct jscodec *c = NULL;
	alloc_calls = 0;
	alloc_fail_at = k;
	alloc_fail_on = on;
	alloc_armed = true;
	int err = jscodec_load_source("oom.js", oom_src, strlen(oom_src), &roomy, &c, why,
				      sizeof(why));
	alloc_armed = false;
	ck_assert_msg(err == LB_OK || err == LB_ERR_NOMEM, "allocation %ld%s failing: %s (%s)", k,
		      on ? " on" : "", lb_errname(err), why);
	if (err == LB_OK) {
		jscodec_free(c);
		return;
	}
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(why, "oom.js: ") == why && strstr(why, "out of memory"),
		      "allocation %ld: %s", k, why);
}

/*
 * Every allocation of a load failed in turn, once (the engine collects
 * garbage and retries, so most loads still succeed; while it builds its
 * heap only every 8th, to keep the test short), then every one from
 * each allocation after the engine's heap is built on (the setup, the
 * compile, the top level's run cannot complete): each load succeeds or
 * says "out of memory", nothing is left behind once its codec is freed
 * (LeakSanitizer checks after each sweep in the ASan build; without it the
 * test shows no crash only), and the process lives on. Not tried: every
 * allocation failing from one inside the creation of the heap on (its
 * built-in objects): the engine has no way back from that and ends the
 * process (Duktape issue 2378). The cap (codec_memory_kb, 256 KiB at least)
 * never refuses there: a new heap with its built-ins takes some 140 KB.
 */
START_TEST(load_out_of_memory)
{
	alloc_calls = 0;
	alloc_armed = true;
	struct jscodec *c = NULL;
	int err = jscodec_load_source("oom.js", oom_src, strlen(oom_src), &roomy, &c, why,
				      sizeof(why));
	alloc_armed = false;
	long total = alloc_calls;
	ck_assert_msg(err == LB_OK, "load: %s", why);
	jscodec_free(c);
	ck_assert_int_gt(total, 1000);
	/* The allocations of a new heap with its built-ins (and no script):
	 * from the first one after them on, all may fail. */
	alloc_calls = 0;
	alloc_armed = true;
	duk_context *bare = duk_create_heap_default();
	alloc_armed = false;
	long heap_allocs = alloc_calls;
	ck_assert_ptr_nonnull(bare);
	duk_destroy_heap(bare);
	ck_assert_int_lt(heap_allocs + 100, total);

	/* jscodec's copy of the script is the first, the heap's follow: inside
	 * its creation every 8th (the built-ins are made alike for every
	 * script), then each one. */
	long built = 1 + heap_allocs;
	for (long k = 1; k <= built; k += 8)
		load_failing_at(k, false);
	for (long k = built + 1; k <= total; k++)
		load_failing_at(k, false);
#if defined(__SANITIZE_ADDRESS__)
	ck_assert_msg(__lsan_do_recoverable_leak_check() == 0, "memory leaked (see above)");
#endif
	for (long k = built + 1; k <= total; k++)
		load_failing_at(k, true);
#if defined(__SANITIZE_ADDRESS__)
	ck_assert_msg(__lsan_do_recoverable_leak_check() == 0, "memory leaked (see above)");
#endif
}
END_TEST

static Suite *jscodec_suite(void)
{
	Suite *s = suite_create("jscodec");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ts013_decode);
	tcase_add_test(tc, ts013_encode);
	tcase_add_test(tc, ts013_encode_input_fport);
	tcase_add_test(tc, v3_decode);
	tcase_add_test(tc, v3_encode);
	tcase_add_test(tc, v2_decoder);
	tcase_add_test(tc, v2_encoder);
	tcase_add_test(tc, signature_order);
	tcase_add_test(tc, sloppy_globals);
	tcase_add_test(tc, console_log);
	tcase_add_test(tc, prototypes_isolated);
	tcase_add_test(tc, input_shape);
	tcase_add_test(tc, text_is_utf8);
	tcase_add_test(tc, timeout_then_works);
	tcase_add_test(tc, timeout_at_load_and_free);
	tcase_add_test(tc, deadline_is_cpu_time);
	tcase_add_test(tc, heap_cap_then_works);
	tcase_add_test(tc, result_too_large);
	tcase_add_test(tc, throws);
	tcase_add_test(tc, bad_results);
	tcase_add_test(tc, bad_bytes);
	tcase_add_test(tc, syntax_errors);
	tcase_add_test(tc, files);
	tcase_add_test(tc, numbers_as_chirpstack_prints_them);
	tcase_add_test(tc, large_and_small_numbers_as_serde);
	tcase_add_test(tc, null_arguments);
	suite_add_tcase(s, tc);
	/* Loads a script under every failing allocation: ~20 s under load. */
	tc = tcase_create("out_of_memory");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, load_out_of_memory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(jscodec_suite());
}
