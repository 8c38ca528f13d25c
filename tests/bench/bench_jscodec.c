/* SPDX-License-Identifier: MIT */
/*
 * bench_jscodec.c - cost of JavaScript payload codecs (codec/jscodec.h).
 *
 * Prints, for a small TS013 decoder (temperature, humidity, battery) and
 * the same in the TTN v2 form: the cost of jscodec_load (heap creation,
 * compilation, the top level), of one decode and one encode on the kept
 * heap, and the bytes one codec's heap holds after loading and after the
 * calls. CLOCK_MONOTONIC over N iterations (default 20000, first argument
 * overrides). No pass/fail threshold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "base/lb_err.h"
#include "codec/jscodec.h"

#define DEFAULT_ITERS 20000L

static const char ts013[] =
	"function decodeUplink(input) {\n"
	"  var b = input.bytes, w = [];\n"
	"  var t = (b[0] << 8) | b[1]; if (t & 0x8000) t -= 0x10000;\n"
	"  var mv = (b[3] << 8) | b[4]; if (mv < 3000) w.push('battery low');\n"
	"  return { data: { temperature: t / 100, humidity: b[2] / 2, batteryMv: mv },\n"
	"           warnings: w };\n"
	"}\n"
	"function encodeDownlink(input) {\n"
	"  var s = input.data.interval;\n"
	"  return { bytes: [1, (s >> 8) & 0xff, s & 0xff], fPort: 10 };\n"
	"}\n";

static const char v2[] =
	"function Decoder(b, port) {\n"
	"  var t = (b[0] << 8) | b[1]; if (t & 0x8000) t -= 0x10000;\n"
	"  return { temperature: t / 100, humidity: b[2] / 2, batteryMv: (b[3] << 8) | b[4] };\n"
	"}\n";

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct jscodec *load(const char *name, const char *src, long iters)
{
	char why[256];
	struct jscodec *c = NULL;
	long n = iters / 100 > 0 ? iters / 100 : 1;
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		jscodec_free(c);
		if (jscodec_load_source(name, src, strlen(src), NULL, &c, why, sizeof(why)) != LB_OK) {
			fprintf(stderr, "load: %s\n", why);
			exit(1);
		}
	}
	printf("%-8s jscodec_load                 %9.1f us\n", name, (now_ns() - t0) / n / 1e3);
	printf("%-8s heap after load              %9zu bytes\n", name, jscodec_heap_bytes(c));
	return c;
}

static void bench_decode(struct jscodec *c, const char *name, long iters)
{
	static const uint8_t bytes[] = {0x09, 0xc4, 0x8b, 0x0e, 0x10};
	struct jscodec_uplink up = {.fport = 2, .bytes = bytes, .len = sizeof(bytes),
				    .recv_time_us = 1700000000000000LL};
	char why[256];
	double t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		json_object *data = NULL, *warn = NULL;
		if (jscodec_decode(c, &up, &data, &warn, why, sizeof(why)) != LB_OK) {
			fprintf(stderr, "decode: %s\n", why);
			exit(1);
		}
		json_object_put(data);
		json_object_put(warn);
	}
	printf("%-8s jscodec_decode               %9.1f us\n", name, (now_ns() - t0) / iters / 1e3);
	printf("%-8s heap after the decodes       %9zu bytes\n", name, jscodec_heap_bytes(c));
}

static void bench_encode(struct jscodec *c, const char *name, long iters)
{
	json_object *data = json_tokener_parse("{\"interval\":600}");
	uint8_t out[16], fport;
	size_t len;
	char why[256];
	double t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		fport = 1;
		if (jscodec_encode(c, data, NULL, &fport, out, sizeof(out), &len, NULL, why,
				   sizeof(why)) != LB_OK) {
			fprintf(stderr, "encode: %s\n", why);
			exit(1);
		}
	}
	printf("%-8s jscodec_encode               %9.1f us\n", name, (now_ns() - t0) / iters / 1e3);
	json_object_put(data);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : DEFAULT_ITERS;
	if (iters <= 0)
		iters = DEFAULT_ITERS;
	struct jscodec *c = load("ts013", ts013, iters);
	bench_decode(c, "ts013", iters);
	bench_encode(c, "ts013", iters);
	jscodec_free(c);
	c = load("ttn-v2", v2, iters);
	bench_decode(c, "ttn-v2", iters);
	jscodec_free(c);
	return 0;
}
