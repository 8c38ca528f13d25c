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
	struct event_json_time_memo time_memo;   /* the event's times share their hour */
};

/* Start an event over out (cap bytes). */
void ew_init(struct ew *e, char *out, size_t cap);

/* Record rc as the event's error unless one is recorded already. */
void ew_fail(struct ew *e, int rc);

/* LB_OK and *len, or the first error (e->err, else LB_ERR_TOO_LARGE);
 * on error *len = 0 and out[0] = '\0' when cap > 0. */
int ew_finish(struct ew *e, char *out, size_t cap, size_t *len);

/*
 * The members below take their key as a string literal (the macros quote
 * it, jsonw_key()), written with the value in one go
 * (jsonw_member_plainq()).
 */
#define EW_QKEY(key) "\"" key "\":", sizeof(key) + 2

/* key: an RFC 3339 time of Unix µs (event_json_format_time(); its
 * LB_ERR_RANGE recorded). */
#define ew_time(e, key, unix_us) ew_time_q((e), EW_QKEY(key), (unix_us))
void ew_time_q(struct ew *e, const char *qkey, size_t qn, int64_t unix_us);

/* key: 16 lowercase hex digits. */
#define ew_eui(e, key, eui) ew_eui_q((e), EW_QKEY(key), (eui))
void ew_eui_q(struct ew *e, const char *qkey, size_t qn, uint64_t eui);

/* key: padded base64 of n <= LW_MAX_PHY bytes (LB_ERR_NOMEM recorded
 * beyond). */
#define ew_base64(e, key, p, n) ew_base64_q((e), EW_QKEY(key), (p), (n))
void ew_base64_q(struct ew *e, const char *qkey, size_t qn, const uint8_t *p, size_t n);

/* key: a concentrator `tmst` as base64 of its 4 bytes big endian (the
 * ChirpStack gateway bridge's rxInfo/txInfo context). */
#define ew_context(e, key, tmst) ew_context_q((e), EW_QKEY(key), (tmst))
void ew_context_q(struct ew *e, const char *qkey, size_t qn, uint32_t tmst);

/* key: 8 lowercase hex digits, MSB first (a DevAddr). */
#define ew_hex32(e, key, v) ew_hex32_q((e), EW_QKEY(key), (v))
void ew_hex32_q(struct ew *e, const char *qkey, size_t qn, uint32_t v);

/* key: a UUID "00112233-4455-6677-8899-aabbccddeeff". */
#define ew_uuid(e, key, id) ew_uuid_q((e), EW_QKEY(key), (id))
void ew_uuid_q(struct ew *e, const char *qkey, size_t qn, const uint8_t id[16]);

/* "lora": {bandwidth (Hz), spreadingFactor, codeRate (gw.proto CodeRate
 * name of gwmp's 1..4 = 4/5..4/8), left open for the caller's further
 * fields and its jsonw_close(w, '}'). */
void ew_lora_open(struct jsonw *w, uint16_t bw_khz, uint8_t sf, uint8_t cr);

/* dev is non-NULL with a key for each of its tags. */
bool ew_device_valid(const struct ev_device *dev);

/* "deviceInfo": {...} of a valid dev (ew_device_valid()). */
void ew_device_info(struct ew *e, const struct ev_device *dev);

#endif
