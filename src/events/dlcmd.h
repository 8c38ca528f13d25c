/* SPDX-License-Identifier: MIT */
/*
 * dlcmd.h - the downlink command an application publishes on
 * application/{application}/device/{dev_eui}/command/down (pure codec).
 *
 * The JSON is the one ChirpStack v4 takes (chirpstack `integration/mqtt.rs`,
 * api `DeviceQueueItem`):
 *
 *   {"devEui": "0102030405060708",   optional, must equal the topic's DevEUI
 *    "confirmed": false,             optional, default false
 *    "fPort": 10,                    required, 1..223 (TS001-1.0.4 §4.3.2)
 *    "data": "AQID",                 optional base64 FRMPayload, default empty
 *    "id": "..."}                    optional string <= 64 chars; when absent
 *                                    or "" the caller assigns a UUID
 *
 * JSON null counts as absent; unknown keys are ignored, except "object"
 * (a payload for a codec), which lorabridge does not have: it is refused
 * rather than silently sending an empty frame.
 *
 * Errors come with a stable reason code for the `log` event:
 *
 *   reason              lb_err               cause
 *   INVALID_JSON        LB_ERR_JSON          not one JSON object
 *   INVALID_FIELD       LB_ERR_MALFORMED     a field of the wrong type, a bad
 *                                            devEui string, an id too long,
 *                                            an "object" field
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
 * fixed buffers: nothing to free.
 */
#ifndef LB_DLCMD_H
#define LB_DLCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct region;

#define DLCMD_MAX_ID 64           /* characters of "id", without NUL */
#define DLCMD_MAX_DATA 242        /* bytes of FRMPayload, any region, any DR */
#define DLCMD_MAX_JSON 4096       /* bytes of the whole command */
#define DLCMD_FPORT_MIN 1
#define DLCMD_FPORT_MAX 223

struct dlcmd {
	uint64_t dev_eui;              /* the topic's DevEUI */
	bool confirmed;
	uint8_t fport;
	bool has_id;                   /* false: the caller assigns one */
	char id[DLCMD_MAX_ID + 1];     /* NUL-terminated, no embedded NUL */
	size_t len;                    /* FRMPayload bytes, 0..242 */
	uint8_t data[DLCMD_MAX_DATA];  /* plaintext FRMPayload */
};

/*
 * Parse json[0..len) (need not be NUL-terminated; surrounding whitespace is
 * allowed) received on the command topic of topic_dev_eui. Returns LB_OK
 * with *out filled, or an lb_err from the table above with *reason set to
 * its code (a static string). *out is zeroed first and unspecified on
 * error. LB_ERR_INVAL for NULL arguments (*reason "INVALID_JSON" unless
 * reason itself is NULL); LB_ERR_NOMEM ("INVALID_JSON") if json-c cannot
 * allocate.
 */
int dlcmd_parse(const char *json, size_t len, uint64_t topic_dev_eui, struct dlcmd *out,
		const char **reason);

/*
 * Does an FRMPayload of `len` bytes fit a downlink at data rate `dr` next to
 * `fopts_len` bytes of FOpts? The limit is N = M - 8 - FOptsLen
 * (MACPayload M = FHDR(7 + FOptsLen) + FPort(1) + FRMPayload;
 * RP002-1.0.4 "Maximum payload size" per region). Returns LB_OK, LB_ERR_TOO_LARGE (reason
 * "PAYLOAD_TOO_LARGE"), LB_ERR_INVAL (NULL region, dr < 0, fopts_len > 15)
 * or LB_ERR_NOT_FOUND (dr not defined in the region).
 */
int dlcmd_check_size(const struct region *r, int dr, size_t fopts_len, size_t len);

#endif
