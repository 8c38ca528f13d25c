/* SPDX-License-Identifier: MIT */
/*
 * test_payload.c - the daemon's payload codecs (payload.c) with the real
 * CayenneLPP decoder and JavaScript engine and a recording publisher:
 * objects decoded, failures published as UPLINK_CODEC log events and
 * counted, a timed-out script suspended and its devices' uplinks reported,
 * scripts kept across a sync while unchanged and compiled again once
 * changed, object downlinks encoded, the encoding shares (per application
 * and in all, across a reload), a sync out of memory and a changed
 * script's compile out of memory (allocation failures injected, and the
 * heap limit), a script that does not load at start for want of memory:
 * what is logged, reported and counted, and the reload that loads it.
 */
#include <check.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "daemon/payload.h"
#include "world.h"
#include "io/loop.h"
#include "tables/devices.h"

/*
 * Allocation failures, injected: the program is linked with -Wl,--wrap for
 * these four (Makefile.am), so every call from the objects linked in
 * statically comes here: lorabridge's static libraries and the vendored
 * duktape, and Check's own (-lcheck_pic: its emalloc(), srunner_run()),
 * not the shared libraries' (libc's fopen, json-c). With alloc_fail_at at
 * k > 0, the k-th call from then on fails, once (alloc_fail_at is 0 again
 * when it has); alloc_calls counts the calls. A test disarms
 * (alloc_fail_at = 0) before any ck_assert: a failing check allocates.
 */
static long alloc_fail_at;
static long alloc_calls;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static bool alloc_fails(void)
{
	alloc_calls++;
	return alloc_fail_at > 0 && --alloc_fail_at == 0;
}

void *__wrap_malloc(size_t n)
{
	return alloc_fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return alloc_fails() ? NULL : __real_strdup(s);
}

/* The JavaScript devices' script (one world at a time). */
static char script[FAKE_DIR_MAX + 32];

/* Devices: 1 CayenneLPP, 2 and 3 the JavaScript codec js, all of
 * application a; 4, 5 and 6 the same script in applications b, c and d
 * (the encoding shares); the codecs (world.h) with this deadline per call. */
/* The codecs' deadline in these tests: one a script's load never misses,
 * even under qemu-user on a busy machine (at 50 ms a load once did, in
 * CI's arm64 cross test: the script was then refused as too slow). */
#define CODEC_MS 1000

static void open_codecs(struct world *w, const char *js, unsigned timeout_ms)
{
	world_base(w, WORLD_HOLD_NONE);
	snprintf(script, sizeof(script), "%s/codec.js", w->dir);
	testutil_write_file(script, js);
	struct lb_tag room = {.key = "room", .value = "B12"};
	struct lb_device_conf conf[] = {
		{.name = "lpp", .application = "a", .dev_eui = 1, .codec = LB_CODEC_CAYENNELPP},
		{.name = "js1", .application = "a", .dev_eui = 2, .codec = LB_CODEC_JS,
		 .codec_script = script, .tags = &room, .n_tags = 1},
		{.name = "js2", .application = "a", .dev_eui = 3, .codec = LB_CODEC_JS,
		 .codec_script = script},
		{.name = "b1", .application = "b", .dev_eui = 4, .codec = LB_CODEC_JS,
		 .codec_script = script},
		{.name = "c1", .application = "c", .dev_eui = 5, .codec = LB_CODEC_JS,
		 .codec_script = script},
		{.name = "d1", .application = "d", .dev_eui = 6, .codec = LB_CODEC_JS,
		 .codec_script = script},
	};
	size_t n = sizeof(conf) / sizeof(conf[0]);
	for (size_t i = 0; i < n; i++)
		conf[i].activation = LB_ACT_OTAA;
	world_open(w, conf, n, &(struct world_opts){
		.modules = WORLD_PAYLOADS,
		.codec_limits = &(struct jscodec_limits){.timeout_ms = timeout_ms},
	});
}

static struct lb_device *dev(struct world *w, uint64_t eui)
{
	struct lb_device *d = devices_find_eui(&w->devices, eui);
	ck_assert_ptr_nonnull(d);
	return d;
}

/* The up event's deduplicationId every decode() passes. */
static const uint8_t up_id[16] = {0x0f, 0xe2, 0xc3, 0x40, 0x70, 0xbd, 0x41, 0x21,
				  0x88, 0xd1, 0x82, 0xef, 0x32, 0x2c, 0x13, 0xd3};
#define UP_ID_TEXT "0fe2c340-70bd-4121-88d1-82ef322c13d3"

/* Decode hex for device eui: the object as plain JSON text ("" = none). */
static int decode(struct world *w, uint64_t eui, const char *hex, char *out, size_t cap)
{
	uint8_t b[64];
	size_t n = unhex(hex, b, sizeof(b));
	json_object *o = (json_object *)&o;
	int rc = payload_decode(&w->payloads, dev(w, eui), 1, b, n, 1700000000000000, up_id, &o);
	snprintf(out, cap, "%s", o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : "");
	json_object_put(o);
	return rc;
}

/* The last message recorded: a log event with this code for device eui. */
static void assert_last_log(struct world *w, const char *code, const char *needle)
{
	ck_assert_uint_gt(w->sink.n, 0);
	const struct rec_msg *m = &w->sink.m[w->sink.n - 1];
	ck_assert_msg(strstr(m->topic, "/event/log"), "topic %s", m->topic);
	json_object *o = json_tokener_parse(m->payload);
	ck_assert_ptr_nonnull(o);
	json_object *v;
	ck_assert(json_object_object_get_ex(o, "code", &v));
	ck_assert_str_eq(json_object_get_string(v), code);
	ck_assert(json_object_object_get_ex(o, "description", &v));
	ck_assert_msg(strstr(json_object_get_string(v), needle), "description: %s",
		      json_object_get_string(v));
	json_object_put(o);
}

static const char counter_js[] =
	"var n = 0;\n"
	"function decodeUplink(input) {\n"
	"  n++;\n"
	"  return {data: {n: n, first: input.bytes[0], room: input.variables.room || null}};\n"
	"}\n"
	"function encodeDownlink(input) {\n"
	"  return {bytes: [input.data.level & 0xff], fPort: 7};\n"
	"}\n";

/* Ends a log capture: whether a line of the payload module's errors holds text. */
static bool payload_logged(int saved, const char *path, const char *text)
{
	return testutil_log_end_has(saved, path, "error  [payload] ", text);
}

START_TEST(cayennelpp_and_failures)
{
	struct world w;
	char got[512];

	open_codecs(&w, counter_js, CODEC_MS);
	ck_assert_int_eq(decode(&w, 1, "0367011005 6700ff", got, sizeof(got)), LB_OK);
	ck_assert_str_eq(got, "{\"temperatureSensor\":{\"3\":27.2,\"5\":25.5}}");
	ck_assert_uint_eq(w.stats.codec_decoded, 1);
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_int_eq(decode(&w, 1, "03ff01", got, sizeof(got)), LB_ERR_MALFORMED);
	ck_assert_str_eq(got, "");
	ck_assert_uint_eq(w.stats.codec_failed, 1);
	assert_last_log(&w, "UPLINK_CODEC", "CayenneLPP");
	/* ChirpStack's context key: the up event's deduplicationId */
	ck_assert_msg(strstr(w.sink.m[w.sink.n - 1].payload,
			     "\"context\":{\"deduplication_id\":\"" UP_ID_TEXT "\"}"),
		      "%s", w.sink.m[w.sink.n - 1].payload);
	world_close(&w);
}
END_TEST

START_TEST(js_kept_until_changed)
{
	struct world w;
	char got[512];

	open_codecs(&w, counter_js, CODEC_MS);
	ck_assert_int_eq(decode(&w, 2, "2a", got, sizeof(got)), LB_OK);
	ck_assert_str_eq(got, "{\"n\":1.0,\"first\":42.0,\"room\":\"B12\"}");
	/* js2 names the same file: the same heap, its counter goes on */
	ck_assert_int_eq(decode(&w, 3, "01", got, sizeof(got)), LB_OK);
	ck_assert_str_eq(got, "{\"n\":2.0,\"first\":1.0,\"room\":null}");
	/* a reload with the file unchanged keeps the heap */
	ck_assert_int_eq(payload_sync(&w.payloads, &w.devices), LB_OK);
	ck_assert_int_eq(decode(&w, 2, "00", got, sizeof(got)), LB_OK);
	ck_assert_str_eq(got, "{\"n\":3.0,\"first\":0.0,\"room\":\"B12\"}");
	/* changed on disk (another size and time): compiled again */
	testutil_write_file(script, "var n = 100;\n"
			     "function decodeUplink(input) { n++; return {data: {n: n}}; }\n");
	struct timespec t[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
	ck_assert_int_eq(utimensat(AT_FDCWD, script, t, 0), 0);
	ck_assert_int_eq(payload_sync(&w.payloads, &w.devices), LB_OK);
	ck_assert_int_eq(decode(&w, 2, "00", got, sizeof(got)), LB_OK);
	ck_assert_str_eq(got, "{\"n\":101.0}");
	ck_assert_uint_eq(w.sink.n, 0);
	world_close(&w);
}
END_TEST

START_TEST(js_failures_reported)
{
	struct world w;
	char got[512];

	open_codecs(&w, "function decodeUplink(input) {\n"
			"  if (input.bytes[0] === 1) throw new Error('bad frame');\n"
			"  if (input.bytes[0] === 2) return {errors: ['unknown port']};\n"
			"  return {data: 5};\n"
			"}\n", CODEC_MS);
	ck_assert_int_eq(decode(&w, 2, "01", got, sizeof(got)), LB_ERR_SCRIPT);
	assert_last_log(&w, "UPLINK_CODEC", "bad frame");
	ck_assert_int_eq(decode(&w, 2, "02", got, sizeof(got)), LB_ERR_SCRIPT);
	assert_last_log(&w, "UPLINK_CODEC", "unknown port");
	ck_assert_int_eq(decode(&w, 2, "03", got, sizeof(got)), LB_ERR_JSON);
	ck_assert_str_eq(got, "");
	ck_assert_uint_eq(w.stats.codec_failed, 3);
	ck_assert_uint_eq(w.stats.log_events, 3);
	world_close(&w);
}
END_TEST

START_TEST(script_that_does_not_load)
{
	struct world w;
	char got[512];

	open_codecs(&w, "function decodeUplink(input) {\n  return {data: {a: 1};\n}\n", CODEC_MS);
	ck_assert_int_eq(decode(&w, 2, "01", got, sizeof(got)), LB_ERR_STATE);
	assert_last_log(&w, "UPLINK_CODEC", "codec.js:");
	/* the CayenneLPP device is unaffected */
	ck_assert_int_eq(decode(&w, 1, "016700ff", got, sizeof(got)), LB_OK);
	world_close(&w);
}
END_TEST

/* This thread's CPU time, the clock of the codecs' deadline (jscodec.h). */
static int64_t thread_cpu_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* An endless loop costs its deadline once, then the script sits out its
 * back-off: the calls are skipped and reported, not run. */
START_TEST(timeout_suspends)
{
	struct world w;
	char got[512];

	open_codecs(&w, "function decodeUplink(input) { while (true) {} }\n", CODEC_MS);
	int64_t t0 = thread_cpu_ms();
	ck_assert_int_eq(decode(&w, 2, "01", got, sizeof(got)), LB_ERR_TIMEOUT);
	assert_last_log(&w, "UPLINK_CODEC", "");
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(decode(&w, 3, "01", got, sizeof(got)), LB_ERR_STATE);
		assert_last_log(&w, "UPLINK_CODEC", "suspended");
	}
	/* one deadline, not 21, in CPU time as the deadline counts it (the
	 * wall time is whatever a loaded machine gives): generous for ASan */
	ck_assert_int_lt(thread_cpu_ms() - t0, 5000);
	ck_assert_uint_eq(w.stats.codec_failed, 21);
	world_close(&w);
}
END_TEST

START_TEST(encode_object)
{
	struct world w;
	uint8_t out[16];
	size_t len = 0;
	uint8_t fport = 1;
	char why[PAYLOAD_WHY_MAX];
	json_object *data = json_tokener_parse("{\"level\": 300}");

	open_codecs(&w, counter_js, CODEC_MS);
	ck_assert_int_eq(payload_encode(&w.payloads, dev(&w, 2), data, &fport, out, sizeof(out), &len, why,
					sizeof(why)), LB_OK);
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(out[0], 300 & 0xff);
	ck_assert_uint_eq(fport, 7);
	ck_assert_uint_eq(w.stats.codec_encoded, 1);
	/* the CayenneLPP device encodes with the LPP encoder: not an LPP object */
	ck_assert_int_eq(payload_encode(&w.payloads, dev(&w, 1), data, &fport, out, sizeof(out),
					&len, why, sizeof(why)), LB_ERR_MALFORMED);
	ck_assert_str_eq(why, "CayenneLPP: 'level' is not a Cayenne LPP type");
	ck_assert_uint_eq(w.stats.codec_failed, 1);
	json_object_put(data);
	data = json_tokener_parse("{\"temperatureSensor\": {\"3\": 27.2}}");
	fport = 9;
	ck_assert_int_eq(payload_encode(&w.payloads, dev(&w, 1), data, &fport, out, sizeof(out),
					&len, why, sizeof(why)), LB_OK);
	ck_assert_uint_eq(len, 4);
	ck_assert_uint_eq(out[0], 0x03);
	ck_assert_uint_eq(out[1], 0x67);
	ck_assert_uint_eq(out[3], 0x10);
	ck_assert_uint_eq(fport, 9);
	ck_assert_uint_eq(w.stats.codec_encoded, 2);
	json_object_put(data);
	world_close(&w);
}
END_TEST

/* A known device that cannot encode: never LB_ERR_NOT_FOUND, which the web
 * API and the command handler answer as "unknown device": LB_ERR_SCRIPT
 * for a script without an encoder, LB_ERR_STATE for no codec. */
START_TEST(encode_refusals)
{
	struct world w;
	uint8_t out[16];
	size_t len = 0;
	uint8_t fport = 1;
	char why[PAYLOAD_WHY_MAX];
	json_object *data = json_tokener_parse("{\"level\": 1}");

	open_codecs(&w, "function decodeUplink(input) { return {data: {}}; }\n", CODEC_MS);
	ck_assert_int_eq(payload_encode(&w.payloads, dev(&w, 2), data, &fport, out, sizeof(out),
					&len, why, sizeof(why)), LB_ERR_SCRIPT);
	ck_assert_ptr_nonnull(strstr(why, "no encoder"));
	struct lb_device *d = dev(&w, 3);
	enum lb_codec was = d->prof->codec;
	d->prof->codec = LB_CODEC_NONE;
	ck_assert_int_eq(payload_encode(&w.payloads, d, data, &fport, out, sizeof(out), &len, why,
					sizeof(why)), LB_ERR_STATE);
	ck_assert_ptr_nonnull(strstr(why, "has no codec"));
	d->prof->codec = was;
	json_object_put(data);
	world_close(&w);
}
END_TEST

/* A script that loops on an `object` with `loop`, or an uplink on FPort 9. */
static const char loop_js[] =
	"function decodeUplink(input) {\n"
	"  if (input.fPort === 9) while (true) {}\n"
	"  return {data: {first: input.bytes[0]}};\n"
	"}\n"
	"function encodeDownlink(input) {\n"
	"  if (input.data.loop) while (true) {}\n"
	"  var t = Date.now();\n"
	"  if (input.data.spin) while (Date.now() - t < input.data.spin) {}\n"
	"  return {bytes: [1], fPort: 7};\n"
	"}\n";

static int encode(struct world *w, uint64_t eui, const char *json, char *why, size_t cap)
{
	uint8_t out[16], fport = 1;
	size_t len = 0;
	json_object *data = json_tokener_parse(json);

	ck_assert_ptr_nonnull(data);
	int rc = payload_encode(&w->payloads, dev(w, eui), data, &fport, out, sizeof(out), &len,
				why, cap);
	json_object_put(data);
	return rc;
}

/* One command's object that makes encodeDownlink time out suspends the
 * script's encoding, not the decoding of every device's uplinks. */
START_TEST(encode_timeout_suspends_encoding_only)
{
	struct world w;
	char got[512], why[PAYLOAD_WHY_MAX];

	open_codecs(&w, loop_js, CODEC_MS);
	ck_assert_int_eq(encode(&w, 2, "{\"loop\": true}", why, sizeof(why)), LB_ERR_TIMEOUT);
	/* uplinks still decoded, for every device of the script */
	ck_assert_int_eq(decode(&w, 2, "05", got, sizeof(got)), LB_OK);
	ck_assert_str_eq(got, "{\"first\":5.0}");
	ck_assert_int_eq(decode(&w, 3, "06", got, sizeof(got)), LB_OK);
	ck_assert_str_eq(got, "{\"first\":6.0}");
	/* encoding sits out its back-off, even for a harmless object */
	ck_assert_int_eq(encode(&w, 3, "{\"level\": 1}", why, sizeof(why)), LB_ERR_STATE);
	ck_assert_msg(strstr(why, "encoding suspended"), "why: %s", why);
	ck_assert_uint_eq(w.stats.codec_decoded, 2);
	world_close(&w);
}
END_TEST

/* And the other way round: a decoding timeout leaves the commands'
 * encoding alone. */
START_TEST(decode_timeout_suspends_decoding_only)
{
	struct world w;
	char got[512], why[PAYLOAD_WHY_MAX];

	open_codecs(&w, loop_js, CODEC_MS);
	uint8_t b = 1;
	json_object *o = NULL;
	ck_assert_int_eq(payload_decode(&w.payloads, dev(&w, 2), 9, &b, 1, 1700000000000000, up_id,
					&o),
			 LB_ERR_TIMEOUT);
	ck_assert_int_eq(decode(&w, 3, "01", got, sizeof(got)), LB_ERR_STATE);
	assert_last_log(&w, "UPLINK_CODEC", "decoding suspended");
	ck_assert_int_eq(encode(&w, 2, "{\"level\": 1}", why, sizeof(why)), LB_OK);
	ck_assert_uint_eq(w.stats.codec_encoded, 1);
	world_close(&w);
}
END_TEST

/* Objects that each run just under the deadline (200 ms of 1000) are
 * refused once encoding has used its share of the loop ("encoding busy",
 * payload.h), uplinks are decoded meanwhile, and objects are taken again
 * once the share has come back (waited for with a deadline). */
START_TEST(encode_share_bounds_slow_objects)
{
	struct world w;
	char got[512], why[PAYLOAD_WHY_MAX] = "";
	int ok = 0, rc = LB_OK;

	open_codecs(&w, loop_js, CODEC_MS);
	for (int i = 0; i < 12 && rc == LB_OK; i++) {
		rc = encode(&w, 2, "{\"spin\": 200}", why, sizeof(why));
		ok += rc == LB_OK;
	}
	ck_assert_int_eq(rc, LB_ERR_STATE);
	ck_assert_msg(strstr(why, "encoding busy"), "why: %s", why);
	ck_assert_msg(strstr(why, "application a"), "why: %s", why);
	ck_assert_int_ge(ok, 1);
	ck_assert_int_le(ok, 1 + PAYLOAD_ENCODE_APP_BURST_MS / (200 * PAYLOAD_ENCODE_APP_SHARE));
	ck_assert_int_eq(decode(&w, 3, "07", got, sizeof(got)), LB_OK);
	ck_assert_str_eq(got, "{\"first\":7.0}");
	int64_t deadline = loop_now_ms() + 30000;
	while (encode(&w, 3, "{\"level\": 1}", why, sizeof(why)) != LB_OK) {
		ck_assert_msg(loop_now_ms() < deadline, "encoding still refused: %s", why);
		usleep(50000);
	}
	world_close(&w);
}
END_TEST

/* Application a floods slow objects: a's are refused by a's share, and
 * application b's objects are taken meanwhile, also while a keeps
 * flooding until its share has let another of its objects through. */
START_TEST(encode_share_per_application)
{
	struct world w;
	char why[PAYLOAD_WHY_MAX] = "", why_b[PAYLOAD_WHY_MAX] = "";
	int a_ok = 0, rc = LB_OK;

	open_codecs(&w, loop_js, CODEC_MS);
	while (rc == LB_OK && a_ok < 12) {
		rc = encode(&w, 2, "{\"spin\": 200}", why, sizeof(why));
		a_ok += rc == LB_OK;
	}
	ck_assert_int_eq(rc, LB_ERR_STATE);
	ck_assert_msg(encode(&w, 4, "{\"level\": 1}", why_b, sizeof(why_b)) == LB_OK,
		      "b refused: %s", why_b);
	ck_assert_msg(strstr(why, "encoding busy: application a"), "why: %s", why);
	int64_t deadline = loop_now_ms() + 30000;
	int a_more = 0;
	while (a_more == 0) {
		ck_assert_msg(loop_now_ms() < deadline, "a never taken again: %s", why);
		a_more += encode(&w, 2, "{\"spin\": 200}", why, sizeof(why)) == LB_OK;
		ck_assert_msg(encode(&w, 4, "{\"level\": 1}", why_b, sizeof(why_b)) == LB_OK,
			      "b refused while a floods: %s", why_b);
		usleep(50000);
	}
	world_close(&w);
}
END_TEST

/* All applications' encoding together still has a quarter of the loop:
 * one slow object each of a, b, c and d, the global share refuses the
 * last (each application's own share had room). */
START_TEST(encode_share_global_bound)
{
	struct world w;
	char why[PAYLOAD_WHY_MAX] = "";
	const uint64_t devs[] = {2, 4, 5, 6};
	int rc = LB_OK;
	size_t i;

	open_codecs(&w, loop_js, CODEC_MS);
	for (i = 0; i < 4 && rc == LB_OK; i++)
		rc = encode(&w, devs[i], "{\"spin\": 300}", why, sizeof(why));
	ck_assert_int_eq(rc, LB_ERR_STATE);
	ck_assert_uint_ge(i, 1 + (PAYLOAD_ENCODE_BURST_MS / (300 * PAYLOAD_ENCODE_SHARE)));
	ck_assert_msg(strstr(why, "a quarter, all applications"), "why: %s", why);
	world_close(&w);
}
END_TEST

/* Encode json for device eui until it is taken (30 s deadline); no
 * refusal on the way may come from the share of application `app` (the
 * global share may refuse: the test's slow objects use it up for a while). */
static void taken_without_app_refusal(struct world *w, uint64_t eui, const char *app,
				      const char *json)
{
	char why[PAYLOAD_WHY_MAX], app_busy[64];
	int64_t deadline = loop_now_ms() + 30000;

	snprintf(app_busy, sizeof(app_busy), "encoding busy: application %s's", app);
	while (encode(w, eui, json, why, sizeof(why)) != LB_OK) {
		ck_assert_msg(!strstr(why, app_busy), "%s's own share refused: %s", app, why);
		ck_assert_msg(strstr(why, "a quarter, all applications"), "refused: %s", why);
		ck_assert_msg(loop_now_ms() < deadline, "still refused: %s", why);
		usleep(20000);
	}
}

/* The devices of open_codecs() less b1 (application b), plus e1 in a new
 * application e; with b1 again when `with_b`. */
static void reload_without_b(struct world *w, bool with_b)
{
	struct lb_device_conf conf[] = {
		{.name = "lpp", .application = "a", .dev_eui = 1, .codec = LB_CODEC_CAYENNELPP},
		{.name = "js1", .application = "a", .dev_eui = 2, .codec = LB_CODEC_JS,
		 .codec_script = script},
		{.name = "js2", .application = "a", .dev_eui = 3, .codec = LB_CODEC_JS,
		 .codec_script = script},
		{.name = "c1", .application = "c", .dev_eui = 5, .codec = LB_CODEC_JS,
		 .codec_script = script},
		{.name = "d1", .application = "d", .dev_eui = 6, .codec = LB_CODEC_JS,
		 .codec_script = script},
		{.name = "e1", .application = "e", .dev_eui = 7, .codec = LB_CODEC_JS,
		 .codec_script = script},
		{.name = "b1", .application = "b", .dev_eui = 4, .codec = LB_CODEC_JS,
		 .codec_script = script},
	};
	size_t n = sizeof(conf) / sizeof(conf[0]) - (with_b ? 0 : 1);
	for (size_t i = 0; i < n; i++)
		conf[i].activation = LB_ACT_OTAA;
	ck_assert_int_eq(devices_reload(&w->devices, conf, n), LB_OK);
	ck_assert_int_eq(payload_sync(&w->payloads, &w->devices), LB_OK);
}

/*
 * A reload (SIGHUP: devices_reload(), then payload_sync() as bridge.c)
 * carries each kept application's encoding share over by name: a spent
 * share stays spent (a reload must not give a flood its burst again). An
 * application the reload removes loses its share (back later, it starts
 * afresh), a new one starts with all of its share.
 *
 * Timing: a 450 ms object spends its application's share for 16 x 450 -
 * PAYLOAD_ENCODE_APP_BURST_MS = 5.2 s (the refusals below come well
 * within it) and 1.8 s of the global share's 2 s burst; two of them fill
 * it for 1.6 s at most, which the objects after the first wait out (the
 * global share may refuse them meanwhile, never their own; a machine
 * that stretches a call's wall time makes that wait longer).
 */
START_TEST(reload_carries_app_shares)
{
	struct world w;
	char why[PAYLOAD_WHY_MAX];

	open_codecs(&w, loop_js, CODEC_MS);
	ck_assert_int_eq(encode(&w, 4, "{\"spin\": 450}", why, sizeof(why)), LB_OK);
	ck_assert_int_eq(encode(&w, 4, "{\"level\": 1}", why, sizeof(why)), LB_ERR_STATE);
	ck_assert_msg(strstr(why, "encoding busy: application b's"), "why: %s", why);
	taken_without_app_refusal(&w, 2, "a", "{\"spin\": 450}");
	ck_assert_int_eq(encode(&w, 2, "{\"level\": 1}", why, sizeof(why)), LB_ERR_STATE);
	ck_assert_msg(strstr(why, "encoding busy: application a's"), "why: %s", why);
	ck_assert_uint_eq(w.payloads.n_apps, 4);

	reload_without_b(&w, false);
	ck_assert_uint_eq(w.payloads.n_apps, 4);        /* a c d e */
	/* a kept: still spent, for every device of a */
	ck_assert_int_eq(encode(&w, 3, "{\"level\": 1}", why, sizeof(why)), LB_ERR_STATE);
	ck_assert_msg(strstr(why, "encoding busy: application a's"), "why: %s", why);
	/* c never spent, e new: their own shares have room */
	taken_without_app_refusal(&w, 5, "c", "{\"level\": 1}");
	taken_without_app_refusal(&w, 7, "e", "{\"level\": 1}");

	/* b back: a fresh share, not the one spent before it was removed */
	reload_without_b(&w, true);
	ck_assert_uint_eq(w.payloads.n_apps, 5);
	taken_without_app_refusal(&w, 4, "b", "{\"level\": 1}");
	/* and a's still spent */
	ck_assert_int_eq(encode(&w, 2, "{\"level\": 1}", why, sizeof(why)), LB_ERR_STATE);
	ck_assert_msg(strstr(why, "encoding busy: application a's"), "why: %s", why);
	world_close(&w);
}
END_TEST

/* A device configured without an application is in application
 * "default" (devices[].application's default): its encoding share is that
 * application's, and the refusal (the DOWNLINK_CODEC log event's
 * description, command.c) names it. */
START_TEST(encode_share_of_device_without_application)
{
	struct world w;
	char why[PAYLOAD_WHY_MAX];

	world_base(&w, WORLD_HOLD_NONE);
	snprintf(script, sizeof(script), "%s/codec.js", w.dir);
	testutil_write_file(script, loop_js);
	struct lb_device_conf conf = {.name = "lone", .dev_eui = 9, .codec = LB_CODEC_JS,
				      .codec_script = script, .activation = LB_ACT_OTAA};
	world_open(&w, &conf, 1, &(struct world_opts){
		.modules = WORLD_PAYLOADS,
		.codec_limits = &(struct jscodec_limits){.timeout_ms = CODEC_MS},
	});
	ck_assert_uint_eq(w.payloads.n_apps, 1);
	ck_assert_int_eq(encode(&w, 9, "{\"spin\": 450}", why, sizeof(why)), LB_OK);
	ck_assert_int_eq(encode(&w, 9, "{\"level\": 1}", why, sizeof(why)), LB_ERR_STATE);
	static const char said[] = "encoding busy: application default's encoding used its "
				   "share of the loop (a sixteenth); its objects are taken again in ";
	ck_assert_msg(!strncmp(why, said, sizeof(said) - 1), "why: %s", why);
	world_close(&w);
}
END_TEST

/* Decode for device eui with counter_js: the count its script's heap has
 * reached must be n. */
static void assert_count(struct world *w, uint64_t eui, int n)
{
	char got[512], want[64];

	ck_assert_msg(decode(w, eui, "01", got, sizeof(got)) == LB_OK, "device %llu: not decoded",
		      (unsigned long long)eui);
	snprintf(want, sizeof(want), "{\"n\":%d.0,\"first\":1.0,\"room\":null}", n);
	ck_assert_str_eq(got, want);
}

/*
 * A reload's payload_sync() that runs out of memory (each of its
 * allocations failed in turn, until one sync gets through): LB_ERR_NOMEM,
 * the tables unchanged, and every device whose script the old table holds
 * (kept devices, and a new one naming a script loaded already) still
 * decodes with that script's heap, though devices_reload() gave every
 * device a fresh profile. The scripts' order puts the second device's
 * script in the old table's second slot: a fresh profile's slot is 0.
 */
START_TEST(sync_out_of_memory_at_reload)
{
	struct world w;
	char a_js[FAKE_DIR_MAX + 16], b_js[FAKE_DIR_MAX + 16], why[PAYLOAD_WHY_MAX];
	int n_a = 0, n_b = 0;

	world_base(&w, WORLD_HOLD_NONE);
	snprintf(a_js, sizeof(a_js), "%s/a.js", w.dir);
	snprintf(b_js, sizeof(b_js), "%s/b.js", w.dir);
	testutil_write_file(a_js, counter_js);
	testutil_write_file(b_js, counter_js);
	struct lb_device_conf conf[] = {
		{.name = "x", .application = "a", .dev_eui = 2, .codec = LB_CODEC_JS,
		 .codec_script = a_js},
		{.name = "y", .application = "b", .dev_eui = 3, .codec = LB_CODEC_JS,
		 .codec_script = b_js},
		{.name = "z", .application = "c", .dev_eui = 4, .codec = LB_CODEC_JS,
		 .codec_script = a_js},
	};
	for (size_t i = 0; i < 3; i++)
		conf[i].activation = LB_ACT_OTAA;
	world_open(&w, conf, 2, &(struct world_opts){
		.modules = WORLD_PAYLOADS,
		.codec_limits = &(struct jscodec_limits){.timeout_ms = CODEC_MS},
	});
	assert_count(&w, 2, ++n_a);
	assert_count(&w, 3, ++n_b);
	const void *scripts = w.payloads.scripts, *apps = w.payloads.apps;

	/* SIGHUP: x and y kept, z new (application c, x's script) */
	ck_assert_int_eq(devices_reload(&w.devices, conf, 3), LB_OK);
	long k, failed = 0;
	for (k = 1; k < 100; k++) {
		alloc_fail_at = k;
		int rc = payload_sync(&w.payloads, &w.devices);
		bool struck = alloc_fail_at == 0;
		alloc_fail_at = 0;
		if (rc == LB_OK) {
			ck_assert_msg(!struck, "allocation %ld failed, sync said LB_OK", k);
			break;
		}
		ck_assert_int_eq(rc, LB_ERR_NOMEM);
		failed++;
		ck_assert_ptr_eq(w.payloads.scripts, scripts);
		ck_assert_uint_eq(w.payloads.n_scripts, 2);
		ck_assert_ptr_eq(w.payloads.apps, apps);
		ck_assert_uint_eq(w.payloads.n_apps, 2);
		assert_count(&w, 2, ++n_a);
		assert_count(&w, 3, ++n_b);
		assert_count(&w, 4, ++n_a);
		/* z's application has no share until a sync gets through */
		ck_assert_int_eq(encode(&w, 4, "{\"level\": 1}", why, sizeof(why)), LB_ERR_STATE);
		ck_assert_msg(strstr(why, "application c has no encoding share"), "why: %s", why);
	}
	ck_assert_int_lt(k, 100);
	ck_assert_int_ge(failed, 4);     /* the scripts' list and the shares' */
	ck_assert_uint_eq(w.payloads.n_apps, 3);
	assert_count(&w, 3, ++n_b);      /* unchanged scripts kept their heaps */
	assert_count(&w, 4, ++n_a);
	ck_assert_int_eq(encode(&w, 4, "{\"level\": 1}", why, sizeof(why)), LB_OK);
	world_close(&w);
}
END_TEST

/* Sync for a reload (devices_reload() first) with the k-th allocation
 * failing (0: none): its result, and *struck if the failure happened.
 * Disarmed before it returns. */
static int sync_failing_at(struct world *w, long k, bool *struck)
{
	alloc_fail_at = k;
	int rc = payload_sync(&w->payloads, &w->devices);
	*struck = k > 0 && alloc_fail_at == 0;
	alloc_fail_at = 0;
	return rc;
}

/*
 * A reload whose compile of a script changed on disk runs out of memory:
 * the version loaded before stays in use (its heap: the count goes on),
 * and the next sync compiles the file again (the old version's identity
 * was kept), which then takes. The allocations failed are the four just
 * past the sync's own tables (as many as a sync with nothing to compile
 * makes): jscodec's copies of the script's name and text, then the first
 * blocks of the engine's heap. Failures deeper in the engine's compile are
 * test_jscodec's (load_out_of_memory): the load's result is the same.
 */
START_TEST(changed_script_out_of_memory_at_compile)
{
	struct world w;
	char why[PAYLOAD_WHY_MAX], got[512];
	int n = 0;
	bool struck;

	open_codecs(&w, counter_js, CODEC_MS);
	assert_count(&w, 3, ++n);
	alloc_calls = 0;
	ck_assert_int_eq(sync_failing_at(&w, 0, &struck), LB_OK);
	long own = alloc_calls;                 /* the sync's tables */
	assert_count(&w, 4, ++n);                /* unchanged: kept */
	testutil_write_file(script, "var n = 1000;\n"
			     "function decodeUplink(input) { n++; return {data: {n: n}}; }\n");
	for (long k = own + 1; k <= own + 4; k++) {
		int rc = sync_failing_at(&w, k, &struck);
		ck_assert_msg(struck, "allocation %ld not reached", k);
		ck_assert_int_eq(rc, LB_OK);
		ck_assert_uint_eq(w.payloads.n_scripts, 1);
		assert_count(&w, 3, ++n);
		assert_count(&w, 4, ++n);
		ck_assert_int_eq(encode(&w, 5, "{\"level\": 1}", why, sizeof(why)), LB_OK);
	}
	ck_assert_int_eq(sync_failing_at(&w, 0, &struck), LB_OK);
	ck_assert_int_eq(decode(&w, 2, "01", got, sizeof(got)), LB_OK);
	ck_assert_str_eq(got, "{\"n\":1001.0}");
	ck_assert_int_eq(decode(&w, 6, "01", got, sizeof(got)), LB_OK);
	ck_assert_str_eq(got, "{\"n\":1002.0}");
	world_close(&w);
}
END_TEST

/* The least heap codec_memory_kb allows (256 KiB), and a script whose
 * compile needs more: one array literal of 30,000 numbers. */
#define SMALL_HEAP (256u * 1024u)

static void write_big_script(const char *path)
{
	size_t cap = 300000, n = 0;
	char *js = malloc(cap);
	ck_assert_ptr_nonnull(js);
	n += (size_t)snprintf(js + n, cap - n, "function decodeUplink(input) {\n  var t = [");
	for (int i = 0; i < 30000; i++)
		n += (size_t)snprintf(js + n, cap - n, "%d,", i);
	snprintf(js + n, cap - n, "0];\n  return {data: {n: t.length}};\n}\n");
	testutil_write_file(path, js);
	free(js);
}

/* Devices js1 (application a) and b1 (b) with the script, lpp without;
 * the codecs' heap limited to SMALL_HEAP. The world's own sync (which
 * must return LB_OK) runs with the log captured into log_path. */
static int open_small_heap(struct world *w, const char *js, const char *log_path,
			   struct lb_device_conf conf[3])
{
	snprintf(script, sizeof(script), "%s/codec.js", w->dir);
	if (js)
		testutil_write_file(script, js);
	else
		write_big_script(script);
	conf[0] = (struct lb_device_conf){.name = "lpp", .application = "a", .dev_eui = 1,
					  .codec = LB_CODEC_CAYENNELPP};
	conf[1] = (struct lb_device_conf){.name = "js1", .application = "a", .dev_eui = 2,
					  .codec = LB_CODEC_JS, .codec_script = script};
	conf[2] = (struct lb_device_conf){.name = "b1", .application = "b", .dev_eui = 4,
					  .codec = LB_CODEC_JS, .codec_script = script};
	for (size_t i = 0; i < 3; i++)
		conf[i].activation = LB_ACT_OTAA;
	int saved = testutil_log_capture(log_path);
	world_open(w, conf, 3, &(struct world_opts){
		.modules = WORLD_PAYLOADS,
		.codec_limits = &(struct jscodec_limits){.timeout_ms = CODEC_MS,
							 .heap_max = SMALL_HEAP},
	});
	return saved;
}

/*
 * At start, a script that cannot be compiled for want of memory (past the
 * heap limit, codec_memory_kb; then the host's malloc failing, the tables
 * empty again as at a start): the bridge starts all the same (LB_OK), logs
 * which script, why and which applications, counts codecs.loadFailed, and
 * publishes each uplink of its devices without object with an
 * UPLINK_CODEC log event saying why; the next reload compiles the script
 * again, changed or not, and its devices decode.
 */
START_TEST(startup_compile_out_of_memory)
{
	struct world w;
	struct lb_device_conf conf[3];
	char log_path[FAKE_DIR_MAX + 16], want[PAYLOAD_WHY_MAX + 200], got[512];
	bool struck;

	world_base(&w, WORLD_HOLD_NONE);
	snprintf(log_path, sizeof(log_path), "%s/log", w.dir);
	int saved = open_small_heap(&w, NULL, log_path, conf);
	snprintf(want, sizeof(want), "codec script not loaded: %s: reached its heap limit of "
		 "262144 bytes; application(s) a, b: their devices' uplinks are published without "
		 "object (compiled again at the next reload)", script);
	ck_assert_msg(payload_logged(saved, log_path, want), "not logged: %s", want);
	ck_assert_uint_eq(w.stats.codec_load_failed, 1);
	ck_assert_uint_eq(w.stats.codec_kept_old, 0);
	ck_assert_int_eq(decode(&w, 2, "01", got, sizeof(got)), LB_ERR_STATE);
	ck_assert_str_eq(got, "");
	snprintf(want, sizeof(want), "codec script did not load: %s: reached its heap limit of "
		 "262144 bytes", script);
	assert_last_log(&w, "UPLINK_CODEC", want);
	ck_assert_uint_eq(w.stats.codec_failed, 1);

	/* fixed on disk: the reload loads it */
	testutil_write_file(script, counter_js);
	ck_assert_int_eq(devices_reload(&w.devices, conf, 3), LB_OK);
	ck_assert_int_eq(payload_sync(&w.payloads, &w.devices), LB_OK);
	assert_count(&w, 2, 1);
	assert_count(&w, 4, 2);

	/* The host out of memory compiling it, the tables empty as at a start:
	 * the allocation after the sync's own tables is the file's buffer. */
	alloc_calls = 0;
	ck_assert_int_eq(sync_failing_at(&w, 0, &struck), LB_OK);
	long own = alloc_calls;
	payload_free(&w.payloads);
	saved = testutil_log_capture(log_path);
	ck_assert_int_eq(sync_failing_at(&w, own + 1, &struck), LB_OK);
	snprintf(want, sizeof(want), "codec script not loaded: %s: out of memory; application(s) "
		 "a, b: their devices' uplinks", script);
	ck_assert_msg(payload_logged(saved, log_path, want), "not logged: %s", want);
	ck_assert(struck);
	ck_assert_uint_eq(w.stats.codec_load_failed, 2);
	ck_assert_int_eq(decode(&w, 4, "01", got, sizeof(got)), LB_ERR_STATE);
	snprintf(want, sizeof(want), "codec script did not load: %s: out of memory", script);
	assert_last_log(&w, "UPLINK_CODEC", want);
	/* unchanged on disk: the next reload compiles it again all the same */
	ck_assert_int_eq(payload_sync(&w.payloads, &w.devices), LB_OK);
	assert_count(&w, 2, 1);
	world_close(&w);
}
END_TEST

/*
 * A reload whose changed script cannot be compiled within the heap limit
 * (codec_memory_kb): the version loaded before stays in use (its heap: the
 * count goes on), logged with the script, the reason, the applications and
 * that the old version stays, and counted (codecs.keptOld); each further
 * reload tries the file again; once it is fixed, a reload takes it.
 */
START_TEST(reload_changed_script_past_heap_limit)
{
	struct world w;
	struct lb_device_conf conf[3];
	char log_path[FAKE_DIR_MAX + 16], want[PAYLOAD_WHY_MAX + 200], got[512];
	int n = 0;

	world_base(&w, WORLD_HOLD_NONE);
	snprintf(log_path, sizeof(log_path), "%s/log", w.dir);
	int saved = open_small_heap(&w, counter_js, log_path, conf);
	(void)payload_logged(saved, log_path, "");         /* loaded */
	assert_count(&w, 2, ++n);

	write_big_script(script);
	snprintf(want, sizeof(want), "codec script changed but not compiled: %s: reached its heap "
		 "limit of 262144 bytes; the version loaded before stays in use for application(s) "
		 "a, b (compiled again at the next reload)", script);
	for (int reload = 1; reload <= 2; reload++) {
		ck_assert_int_eq(devices_reload(&w.devices, conf, 3), LB_OK);
		saved = testutil_log_capture(log_path);
		int rc = payload_sync(&w.payloads, &w.devices);
		ck_assert_msg(payload_logged(saved, log_path, want), "reload %d: not logged: %s",
			      reload, want);
		ck_assert_int_eq(rc, LB_OK);
		ck_assert_uint_eq(w.stats.codec_kept_old, (uint64_t)reload);
		ck_assert_uint_eq(w.stats.codec_load_failed, 0);
		assert_count(&w, 2, ++n);
		assert_count(&w, 4, ++n);
	}

	testutil_write_file(script, "var n = 1000;\n"
			     "function decodeUplink(input) { n++; return {data: {n: n}}; }\n");
	ck_assert_int_eq(devices_reload(&w.devices, conf, 3), LB_OK);
	ck_assert_int_eq(payload_sync(&w.payloads, &w.devices), LB_OK);
	ck_assert_int_eq(decode(&w, 4, "01", got, sizeof(got)), LB_OK);
	ck_assert_str_eq(got, "{\"n\":1001.0}");
	ck_assert_uint_eq(w.stats.codec_kept_old, 2);
	world_close(&w);
}
END_TEST

/* Many scripts (the index of their paths grows past its first slots),
 * two devices each; a reload lists the devices the other way round, so
 * every script takes another slot: each device still decodes with its own
 * script's heap, kept across the reload (its count goes on). */
START_TEST(many_scripts_kept_across_reload)
{
	enum { SCRIPTS = 20, DEVS = 2 * SCRIPTS };
	struct world w;
	struct lb_device_conf conf[DEVS], back[DEVS];
	char paths[SCRIPTS][FAKE_DIR_MAX + 16], js[128], got[512], want[64];
	int count[SCRIPTS];

	world_base(&w, WORLD_HOLD_NONE);
	for (int k = 0; k < SCRIPTS; k++) {
		snprintf(paths[k], sizeof(paths[k]), "%s/s%d.js", w.dir, k);
		snprintf(js, sizeof(js), "var n = %d;\nfunction decodeUplink(input) "
			 "{ n++; return {data: {n: n}}; }\n", 1000 * k);
		testutil_write_file(paths[k], js);
		count[k] = 1000 * k;
	}
	memset(conf, 0, sizeof(conf));
	for (int i = 0; i < DEVS; i++) {
		conf[i] = (struct lb_device_conf){.name = "d", .application = "a",
						  .dev_eui = 100 + (uint64_t)i,
						  .codec = LB_CODEC_JS,
						  .codec_script = paths[(i * 7) % SCRIPTS],
						  .activation = LB_ACT_OTAA};
		back[DEVS - 1 - i] = conf[i];
	}
	world_open(&w, conf, DEVS, &(struct world_opts){
		.modules = WORLD_PAYLOADS,
		.codec_limits = &(struct jscodec_limits){.timeout_ms = CODEC_MS},
	});
	ck_assert_uint_eq(w.payloads.n_scripts, SCRIPTS);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < DEVS; i++) {
			int k = (i * 7) % SCRIPTS;
			ck_assert_int_eq(decode(&w, 100 + (uint64_t)i, "01", got, sizeof(got)), LB_OK);
			snprintf(want, sizeof(want), "{\"n\":%d.0}", ++count[k]);
			ck_assert_str_eq(got, want);
		}
		ck_assert_int_eq(devices_reload(&w.devices, back, DEVS), LB_OK);
		ck_assert_int_eq(payload_sync(&w.payloads, &w.devices), LB_OK);
		ck_assert_uint_eq(w.payloads.n_scripts, SCRIPTS);
	}
	world_close(&w);
}
END_TEST

/* Many applications (the index of collect_apps() grows past its first
 * slots several times), each device's listed twice and out of order: each
 * application holds one share of its own, which its devices find. */
START_TEST(encode_share_for_every_application)
{
	enum { APPS = 100, DEVS = 2 * APPS };
	struct world w;
	struct lb_device_conf conf[DEVS];
	char names[APPS][16], why[PAYLOAD_WHY_MAX];

	world_base(&w, WORLD_HOLD_NONE);
	snprintf(script, sizeof(script), "%s/codec.js", w.dir);
	testutil_write_file(script, counter_js);
	memset(conf, 0, sizeof(conf));
	for (size_t i = 0; i < DEVS; i++) {
		size_t app = (i * 37) % APPS;
		snprintf(names[app], sizeof(names[app]), "app-%zu", app);
		conf[i] = (struct lb_device_conf){.name = names[app], .application = names[app],
						  .dev_eui = 100 + i, .codec = LB_CODEC_JS,
						  .codec_script = script, .activation = LB_ACT_OTAA};
	}
	world_open(&w, conf, DEVS, &(struct world_opts){
		.modules = WORLD_PAYLOADS,
		.codec_limits = &(struct jscodec_limits){.timeout_ms = CODEC_MS},
	});
	ck_assert_uint_eq(w.payloads.n_apps, APPS);
	for (size_t i = 0; i < DEVS; i++)
		ck_assert_msg(encode(&w, 100 + i, "{\"level\": 1}", why, sizeof(why)) == LB_OK,
			      "device %zu: %s", i, why);
	world_close(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("payload");
	TCase *tc = tcase_create("payload");
	world_fixtures(tc, "test_payload", NULL, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, cayennelpp_and_failures);
	tcase_add_test(tc, js_kept_until_changed);
	tcase_add_test(tc, js_failures_reported);
	tcase_add_test(tc, script_that_does_not_load);
	tcase_add_test(tc, timeout_suspends);
	tcase_add_test(tc, encode_object);
	tcase_add_test(tc, encode_refusals);
	tcase_add_test(tc, encode_timeout_suspends_encoding_only);
	tcase_add_test(tc, decode_timeout_suspends_decoding_only);
	tcase_add_test(tc, encode_share_bounds_slow_objects);
	tcase_add_test(tc, encode_share_per_application);
	tcase_add_test(tc, encode_share_global_bound);
	tcase_add_test(tc, encode_share_for_every_application);
	tcase_add_test(tc, reload_carries_app_shares);
	tcase_add_test(tc, encode_share_of_device_without_application);
	tcase_add_test(tc, sync_out_of_memory_at_reload);
	tcase_add_test(tc, many_scripts_kept_across_reload);
	tcase_add_test(tc, changed_script_out_of_memory_at_compile);
	tcase_add_test(tc, startup_compile_out_of_memory);
	tcase_add_test(tc, reload_changed_script_past_heap_limit);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
