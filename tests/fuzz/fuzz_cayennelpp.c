/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cayennelpp.c - libFuzzer target for the Cayenne LPP decoder.
 *
 * Decodes the input. Invariants checked (abort on violation, so the fuzzer
 * reports them):
 *   - the result is LB_OK with an object, or an error with *out NULL;
 *   - every member is an object keyed by a channel number 0-255;
 *   - every number's text reads back as its double, in fixed notation with
 *     a decimal point (as ChirpStack prints it);
 *   - the serialized object parses back to an equal object;
 *   - the encoder takes the object back to bytes that decode to an equal
 *     object (the bytes may differ from the input: ChirpStack's record
 *     order, a repeated channel once).
 *
 * Seeds: tests/fuzz/corpus/cayennelpp/ (chirpstack/chirpstack
 * chirpstack/src/codec/cayenne_lpp.rs test_lpp, myDevices' Cayenne LPP
 * documentation examples, one record of every type, edge cases).
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/lb_err.h"
#include "codec/cayennelpp.h"

static void check_number(json_object *v)
{
	const char *s = json_object_to_json_string(v);
	char *end;

	if (!json_object_is_type(v, json_type_double) || strchr(s, 'e') || !strchr(s, '.'))
		abort();
	if (strtod(s, &end) != json_object_get_double(v) || *end != '\0')
		abort();
}

static void check_value(json_object *v)
{
	if (!json_object_is_type(v, json_type_object)) {
		check_number(v);
		return;
	}
	json_object_object_foreach(v, name, field) {
		(void)name;
		check_number(field);
	}
}

static void check_group(json_object *g)
{
	if (!json_object_is_type(g, json_type_object))
		abort();
	json_object_object_foreach(g, channel, v) {
		char *end;
		unsigned long c = strtoul(channel, &end, 10);

		if (*end != '\0' || c > 255)
			abort();
		check_value(v);
	}
}

/* Encoding what was decoded from size bytes fits in as many and decodes
 * to the same object. */
static void round_trip(json_object *obj, size_t size)
{
	uint8_t *bytes = malloc(size ? size : 1);
	json_object *again = NULL;
	size_t len = 0;

	if (!bytes)
		return;
	int rc = cayennelpp_encode(obj, bytes, size, &len, NULL, 0);
	if (rc == LB_ERR_NOMEM) {
		free(bytes);
		return;
	}
	if (rc != LB_OK || len > size)
		abort();
	rc = cayennelpp_decode(bytes, len, &again);
	if (rc == LB_OK && !json_object_equal(obj, again))
		abort();
	if (rc != LB_OK && rc != LB_ERR_NOMEM)
		abort();
	json_object_put(again);
	free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *out = (json_object *)&out, *back;
	int rc = cayennelpp_decode(data, size, &out);

	if (rc != LB_OK) {
		if ((rc != LB_ERR_MALFORMED && rc != LB_ERR_NOMEM) || out != NULL)
			abort();
		return 0;
	}
	if (!json_object_is_type(out, json_type_object))
		abort();
	json_object_object_foreach(out, key, g) {
		(void)key;
		check_group(g);
	}
	back = json_tokener_parse(json_object_to_json_string(out));
	if (!back || !json_object_equal(out, back))
		abort();
	json_object_put(back);
	round_trip(out, size);
	json_object_put(out);
	return 0;
}
