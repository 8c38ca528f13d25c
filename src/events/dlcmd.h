/* SPDX-License-Identifier: MIT */
/*
 * dlcmd.h - the downlink command an application publishes on
 * application/{application}/device/{dev_eui}/command/down (pure codec).
 *
 * The JSON is ChirpStack v4's DownlinkCommand (integration.proto, read by
 * chirpstack `integration/mqtt.rs` with pbjson, so as leniently: numbers
 * may come as strings, bytes as URL-safe base64, unknown keys are ignored),
 * with the queue item's expiry of its api `DeviceQueueItem`:
 *
 *   {"id": "...",                    optional UUID; absent or "": the caller
 *                                    assigns one (ChirpStack: "if left blank,
 *                                    a random UUID will be generated")
 *    "devEui": "0102030405060708",   optional, must equal the topic's DevEUI
 *    "confirmed": false,             optional, default false
 *    "fPort": 10,                    required, 1..223 (TS001-1.0.4 §4.3.2);
 *                                    a number or a decimal string ("10");
 *                                    with an object it may be absent (0:
 *                                    the codec's encodeDownlink gives it)
 *    "data": "AQID",                 optional base64 FRMPayload (standard or
 *                                    URL-safe alphabet, padding optional),
 *                                    default empty
 *    "object": {...},                optional, for the device's codec to
 *                                    encode (kept, see `object` below)
 *    "expiresAt": "2024-05-14T09:12:47Z"}  optional RFC 3339 time: not sent
 *                                    after it
 *
 * JSON null counts as absent; unknown keys are ignored. As pbjson does, a
 * field may also be named as in the .proto: "dev_eui", "f_port",
 * "expires_at" (id, confirmed, data and object are spelt alike); a field
 * under both names is one given twice (pbjson: "duplicate field"), refused
 * as INVALID_FIELD.
 *
 * Errors come with a stable reason code for the `log` event:
 *
 *   reason              lb_err               cause
 *   INVALID_JSON        LB_ERR_JSON          not one JSON object
 *   INVALID_ID          LB_ERR_MALFORMED     id not a UUID (8-4-4-4-12 hex)
 *   INVALID_FIELD       LB_ERR_MALFORMED     a field of the wrong type, a bad
 *                                            devEui string, an expiresAt not
 *                                            an RFC 3339 time, an object
 *                                            not a JSON object, a field
 *                                            under both its names
 *   DEV_EUI_MISMATCH    LB_ERR_DENIED        body devEui differs from the topic
 *   INVALID_FPORT       LB_ERR_RANGE         fPort absent or outside 1..223
 *   INVALID_DATA        LB_ERR_BASE64        data is not strict base64
 *   PAYLOAD_TOO_LARGE   LB_ERR_TOO_LARGE     data > 242 bytes (the largest
 *                                            FRMPayload of any region, N at
 *                                            M = 250), or the JSON > 4096 bytes
 *
 * The per-data-rate limit is a separate check (dlcmd_check_size) because it
 * depends on the device's session, not on the command.
 *
 * No I/O, no clock, no logging, no globals. struct dlcmd is plain data with
 * fixed buffers, except `object`: a json-c reference the caller releases
 * with dlcmd_release() (nothing is held after an error).
 */
#ifndef LB_DLCMD_H
#define LB_DLCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lorawan/region.h"

#define DLCMD_MAX_ID 64           /* room for "id" (a UUID: 36), without NUL */
#define DLCMD_MAX_DATA 242        /* bytes of FRMPayload, any region, any DR */
#define DLCMD_MAX_JSON 4096       /* bytes of the whole command */
#define DLCMD_FPORT_MIN 1
#define DLCMD_FPORT_MAX 223

struct json_object;

struct dlcmd {
	uint64_t dev_eui;              /* the topic's DevEUI */
	bool confirmed;
	uint8_t fport;
	bool has_id;                   /* false: the caller assigns one */
	char id[DLCMD_MAX_ID + 1];     /* a UUID in lower case, NUL-terminated */
	size_t len;                    /* FRMPayload bytes, 0..242 */
	uint8_t data[DLCMD_MAX_DATA];  /* plaintext FRMPayload */
	bool has_expires_at;
	int64_t expires_at_us;         /* expiresAt, Unix µs */
	struct json_object *object;    /* "object" (a JSON object) or NULL: one
					* reference, owned by the struct until
					* dlcmd_release() */
};

/*
 * Parse json[0..len) (need not be NUL-terminated; surrounding whitespace is
 * allowed) received on the command topic of topic_dev_eui. Returns LB_OK
 * with *out filled (release it with dlcmd_release()), or an lb_err from
 * the table above with *reason set to its code (a static string). *out is
 * zeroed first; on error it holds nothing to release and is otherwise
 * unspecified. LB_ERR_INVAL for NULL arguments (*reason "INVALID_JSON" unless
 * reason itself is NULL); LB_ERR_NOMEM ("INVALID_JSON") if json-c cannot
 * allocate.
 */
int dlcmd_parse(const char *json, size_t len, uint64_t topic_dev_eui, struct dlcmd *out,
		const char **reason);

/* Drop the reference to `object`, if any (safe on a zeroed struct). */
void dlcmd_release(struct dlcmd *c);

/* Parse an RFC 3339 date-time ("2024-05-14T09:12:47.5+02:00"; 'T'/'Z' of
 * either case; up to 9 fraction digits, kept to the µs) into Unix µs.
 * s[0..len) need not be NUL-terminated. LB_OK or LB_ERR_MALFORMED. */
int dlcmd_parse_time(const char *s, size_t len, int64_t *unix_us);

/*
 * Does an FRMPayload of `len` bytes fit a downlink at data rate `dr` next to
 * `fopts_len` bytes of FOpts? The limit is N = M - 8 - FOptsLen
 * (MACPayload M = FHDR(7 + FOptsLen) + FPort(1) + FRMPayload;
 * RP002-1.0.4 "Maximum payload size" per region; for a device of an older
 * Regional Parameters revision rp that revision's, region_max_payload_rp()).
 * Returns LB_OK, LB_ERR_TOO_LARGE (reason "PAYLOAD_TOO_LARGE"), LB_ERR_INVAL
 * (NULL region, dr < 0, fopts_len > 15, rp out of range) or LB_ERR_NOT_FOUND
 * (dr not defined in the region).
 */
int dlcmd_check_size(const struct region *r, enum region_rp rp, int dr, size_t fopts_len,
		     size_t len);

#endif
