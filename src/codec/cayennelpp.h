/* SPDX-License-Identifier: MIT */
/*
 * cayennelpp.h - Cayenne Low Power Payload decoder, pure codec.
 *
 * Decodes an application payload into the JSON object ChirpStack v4 builds
 * for the "Cayenne LPP" payload codec (chirpstack/chirpstack
 * chirpstack/src/codec/cayenne_lpp.rs, commit 0a294e41): one member per data
 * type present ("temperatureSensor", ...), each an object mapping the channel
 * number in decimal ("3") to the value, e.g. 03 67 01 10 gives
 * {"temperatureSensor": {"3": 27.2}}. A channel repeated within one type
 * keeps its last value, as ChirpStack's map does. The record format and the
 * type table are in cayennelpp.c.
 *
 * Types: ChirpStack's twelve (0-3, 101-104, 113, 115, 134, 136) with its
 * keys, and the fourteen extended types devices' LPP libraries send (100
 * generic, 116 voltage, ... 142 switch), which ChirpStack refuses, with keys
 * in ChirpStack's style ("voltageSensor"); the table is in cayennelpp.c.
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

#endif
