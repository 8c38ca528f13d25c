/* SPDX-License-Identifier: MIT */
/*
 * fuzz_jscodec.c - libFuzzer target for the JavaScript codecs
 * (codec/jscodec.h): the input's first byte is the fPort, the rest the
 * payload, decoded by one fixed TS013 codec (loaded once) that reads
 * type-length-value records the way vendors' scripts do: shifts, sign
 * extension, String.fromCharCode, console.log, `errors` for what it does
 * not know. Its encodeDownlink writes the records back.
 *
 * Invariants (abort on violation, so the fuzzer reports them):
 *   - decode returns LB_OK with an object, or LB_ERR_SCRIPT (the script's
 *     errors) with no data and no warnings: nothing else for this codec;
 *   - a decoded payload encodes back to exactly the same bytes (so the
 *     numbers and the text went through JSON and json-c unchanged), on the
 *     fPort the decoder saw.
 *
 * Seeds: tests/fuzz/corpus/jscodec/ (one record of each type, a text with
 * bytes above 0x7f, an unknown type, a truncated record).
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/lb_err.h"
#include "codec/jscodec.h"

static const char script[] =
	"function decodeUplink(input) {\n"
	"  var b = input.bytes, i = 0, recs = [];\n"
	"  if (input.fPort === 99) console.log('records', b.length);\n"
	"  while (i < b.length) {\n"
	"    var type = b[i++];\n"
	"    if (type === 1 && i + 2 <= b.length) {\n"
	"      recs.push({ temperature: (b[i] << 24 >> 16 | b[i + 1]) / 10 }); i += 2;\n"
	"    } else if (type === 2 && i + 1 <= b.length) {\n"
	"      recs.push({ humidity: b[i] / 2 }); i += 1;\n"
	"    } else if (type === 3 && i + 2 <= b.length) {\n"
	"      recs.push({ batteryMv: (b[i] << 8) + b[i + 1] }); i += 2;\n"
	"    } else if (type === 4 && i + 1 <= b.length && i + 1 + b[i] <= b.length) {\n"
	"      var s = '';\n"
	"      for (var k = 0; k < b[i]; k++) s += String.fromCharCode(b[i + 1 + k]);\n"
	"      recs.push({ text: s }); i += 1 + b[i];\n"
	"    } else {\n"
	"      return { errors: ['bad record 0x' + type.toString(16) + ' at ' + (i - 1)] };\n"
	"    }\n"
	"  }\n"
	"  return { data: { port: input.fPort, records: recs } };\n"
	"}\n"
	"function encodeDownlink(input) {\n"
	"  var out = [], r = input.data.records;\n"
	"  for (var n = 0; n < r.length; n++) {\n"
	"    var x = r[n];\n"
	"    if ('temperature' in x) { var t = Math.round(x.temperature * 10) & 0xffff;\n"
	"      out.push(1, t >> 8, t & 0xff); }\n"
	"    if ('humidity' in x) out.push(2, x.humidity * 2);\n"
	"    if ('batteryMv' in x) out.push(3, x.batteryMv >> 8, x.batteryMv & 0xff);\n"
	"    if ('text' in x) { out.push(4, x.text.length);\n"
	"      for (var k = 0; k < x.text.length; k++) out.push(x.text.charCodeAt(k)); }\n"
	"  }\n"
	"  return { bytes: out, fPort: input.data.port };\n"
	"}\n";

static struct jscodec *codec;

/* The codec's loops are bounded by the input: a generous deadline keeps a
 * loaded machine from failing a run on time alone. */
static const struct jscodec_limits limits = {.timeout_ms = 20000};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (codec == NULL && jscodec_load_source("fuzz.js", script, strlen(script), &limits, &codec,
						 NULL, 0) != LB_OK)
		abort();
	if (size == 0 || data[0] < 1 || data[0] > 223)
		return 0;
	struct jscodec_uplink up = {.fport = data[0], .bytes = data + 1, .len = size - 1};
	json_object *obj = (json_object *)&obj, *warn = (json_object *)&warn;
	char why[256];
	int rc = jscodec_decode(codec, &up, &obj, &warn, why, sizeof(why));
	if (rc != LB_OK) {
		if (rc != LB_ERR_SCRIPT || obj != NULL || warn != NULL)
			abort();
		return 0;
	}
	if (!json_object_is_type(obj, json_type_object) || (warn != NULL) != (data[0] == 99))
		abort();
	uint8_t out[1024], fport = 1;
	size_t len = 0;
	if (jscodec_encode(codec, obj, NULL, &fport, out, sizeof(out), &len, NULL, why,
			   sizeof(why)) != LB_OK)
		abort();
	if (fport != data[0] || len != size - 1 || memcmp(out, data + 1, len) != 0)
		abort();
	json_object_put(obj);
	json_object_put(warn);
	return 0;
}
