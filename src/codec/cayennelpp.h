/* SPDX-License-Identifier: MIT */
/*
 * cayennelpp.h - Cayenne Low Power Payload decoder and encoder, pure codec.
 *
 * Decodes an application payload into the JSON object ChirpStack v4 builds
 * for the "Cayenne LPP" payload codec (chirpstack/chirpstack
 * chirpstack/src/codec/cayenne_lpp.rs, with PR #909): one member per data
 * type present ("temperatureSensor", ...), each an object mapping the channel
 * number in decimal ("3") to the value, e.g. 03 67 01 10 gives
 * {"temperatureSensor": {"3": 27.2}}. A channel repeated within one type
 * keeps its last value, as ChirpStack's map does. The record format and the
 * type table are in cayennelpp.c.
 *
 * Types: ChirpStack's twenty-six (0-3, 100-104, 113, 115-118, 120, 121, 125,
 * 128, 130-136, 142) with its keys ("voltage", "unixtime", ...); the table
 * is in cayennelpp.c.
 *
 * Numbers: every value is a double equal to ChirpStack's (raw integer divided
 * by the type's divisor) and is serialized as ChirpStack's JSON writer
 * (serde_json, shortest round trip) prints it: "27.2", "100.0", "-87.9094".
 *
 * Contract:
 *   - returns LB_OK and *out a new object ({} for an empty payload), owned by
 *     the caller (json_object_put);
 *   - LB_ERR_MALFORMED for an unknown type id, a value cut short, or a record
 *     header cut short (one byte left over: ChirpStack ignores such a byte,
 *     we refuse it), LB_ERR_NOMEM when json-c fails, LB_ERR_INVAL for NULL
 *     out or NULL buf with len > 0; *out is NULL on every error;
 *   - reads only buf[0..len); no I/O, no clock, no logging, no globals.
 */
#ifndef LB_CAYENNELPP_H
#define LB_CAYENNELPP_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

int cayennelpp_decode(const uint8_t *buf, size_t len, json_object **out);

/*
 * Encoder: obj, of the decoder's shape ({"temperatureSensor": {"3": 27.2}};
 * any of the types above; a multi-field value an object with every member
 * of its type; the eleven extended types may also be keyed by lorabridge's
 * earlier names, "voltageSensor" ... "unixTime", see cayennelpp.c), into
 * out[0..cap), as ChirpStack's encoder writes it
 * (cayenne_lpp.rs encode() / to_vec(): the types in the order of the table
 * in cayennelpp.c, which is ChirpStack's, channels ascending): 03 67 01 10
 * for that example. Each number times its divisor is rounded to the nearest
 * integer (ChirpStack truncates, the same bytes for its test vectors).
 *
 * Contract:
 *   - LB_OK, *len bytes in out ({} gives 0 bytes);
 *   - LB_ERR_MALFORMED: a key that is not a type, a type that is not an
 *     object of channels, a channel key not a decimal 0..255 or given twice
 *     ("3" and "03"), a type under both its key and its old key, a value
 *     not a number or null, a member missing or
 *     unknown; LB_ERR_RANGE: a value that does not fit its field (ChirpStack
 *     would saturate it); LB_ERR_TOO_LARGE: the records exceed cap;
 *     LB_ERR_INVAL: NULL obj or len, NULL out with cap > 0, obj not an
 *     object. The reason, naming the member, goes to why (why_cap bytes,
 *     may be NULL/0); out is unspecified and *len untouched on error;
 *   - obj is only read; no I/O, no clock, no logging, no globals.
 */
int cayennelpp_encode(json_object *obj, uint8_t *out, size_t cap, size_t *len, char *why,
		      size_t why_cap);

#endif
