/* SPDX-License-Identifier: MIT */
/*
 * event_json_w.h - the pieces event_json_w.c writes every event with,
 * shared with the other event files (event_json_dl.c, event_json_gw.c) so
 * each JSON shape (deviceInfo, a time, an EUI, base64, a context) has one
 * writer. Not part of the public API; only the event_json module includes
 * this header.
 *
 * Error handling: a field that cannot be written records the first error
 * in the sticky e->err (LB_OK until then) and writes nothing; jsonw keeps
 * its own sticky overflow; an event checks both once, with ew_finish().
 */
#ifndef LB_EVENT_JSON_W_H
#define LB_EVENT_JSON_W_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/jsonw.h"
#include "events/event_json.h"

struct ew {
	struct jsonw w;
	int err;              /* first failure, LB_OK while none */
};

/* Start an event over out (cap bytes). */
void ew_init(struct ew *e, char *out, size_t cap);

/* Record rc as the event's error unless one is recorded already. */
void ew_fail(struct ew *e, int rc);

/* LB_OK and *len, or the first error (e->err, else LB_ERR_TOO_LARGE);
 * on error *len = 0 and out[0] = '\0' when cap > 0. */
int ew_finish(struct ew *e, char *out, size_t cap, size_t *len);

/* key: an RFC 3339 time of Unix µs (event_json_format_time(); its
 * LB_ERR_RANGE recorded). */
void ew_time(struct ew *e, const char *key, int64_t unix_us);

/* key: 16 lowercase hex digits. */
void ew_eui(struct ew *e, const char *key, uint64_t eui);

/* key: padded base64 of n <= LW_MAX_PHY bytes (LB_ERR_NOMEM recorded
 * beyond). */
void ew_base64(struct ew *e, const char *key, const uint8_t *p, size_t n);

/* key: a concentrator `tmst` as base64 of its 4 bytes big endian (the
 * ChirpStack gateway bridge's rxInfo/txInfo context). */
void ew_context(struct ew *e, const char *key, uint32_t tmst);

/* key: 8 lowercase hex digits, MSB first (a DevAddr). */
void ew_hex32(struct ew *e, const char *key, uint32_t v);

/* key: a UUID "00112233-4455-6677-8899-aabbccddeeff". */
void ew_uuid(struct ew *e, const char *key, const uint8_t id[16]);

/* "lora": {bandwidth (Hz), spreadingFactor, codeRate (gw.proto CodeRate
 * name of gwmp's 1..4 = 4/5..4/8), left open for the caller's further
 * fields and its jsonw_close(w, '}'). */
void ew_lora_open(struct jsonw *w, uint16_t bw_khz, uint8_t sf, uint8_t cr);

/* dev is non-NULL with a key for each of its tags. */
bool ew_device_valid(const struct ev_device *dev);

/* "deviceInfo": {...} of a valid dev (ew_device_valid()). */
void ew_device_info(struct ew *e, const struct ev_device *dev);

#endif
