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

#include "base/b64.h"
#include "base/hex.h"
#include "base/jsonw.h"
#include "base/uuid.h"
#include "events/event_json.h"
#include "lorawan/lorawan.h"

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
 * it, jsonw_key()) and are inline: the value's text is made by a function
 * (ew__*_text()), then key and value are written with constant lengths
 * where they are constant (jsonw_member_plainq()).
 */
#define EW_QKEY(key) "\"" key "\":", sizeof(key) + 2

/* The texts of the values below: true and *n, or false with the error
 * recorded in e (the member is then not written). */
bool ew__time_text(struct ew *e, int64_t unix_us, char t[EVENT_JSON_TIME_LEN], size_t *n);
bool ew__base64_text(struct ew *e, const uint8_t *p, size_t n,
		     char s[B64_ENCODED_LEN(LW_MAX_PHY) + 1], size_t *k);

/* key: an RFC 3339 time of Unix µs (event_json_format_time(); its
 * LB_ERR_RANGE recorded). */
#define ew_time(e, key, unix_us) ew_time_q((e), EW_QKEY(key), (unix_us))
static inline void ew_time_q(struct ew *e, const char *qkey, size_t qn, int64_t unix_us)
{
	char t[EVENT_JSON_TIME_LEN];
	size_t n;

	if (ew__time_text(e, unix_us, t, &n))
		jsonw_member_plainq(&e->w, qkey, qn, t, n);
}

/* key: 16 lowercase hex digits. */
#define ew_eui(e, key, eui) ew_eui_q((e), EW_QKEY(key), (eui))
static inline void ew_eui_q(struct ew *e, const char *qkey, size_t qn, uint64_t eui)
{
	char s[HEX_EUI_LEN + 1];

	hex_format_eui(eui, s);
	jsonw_member_plainq(&e->w, qkey, qn, s, HEX_EUI_LEN);
}

/* key: padded base64 of n <= LW_MAX_PHY bytes (LB_ERR_NOMEM recorded
 * beyond). */
#define ew_base64(e, key, p, n) ew_base64_q((e), EW_QKEY(key), (p), (n))
static inline void ew_base64_q(struct ew *e, const char *qkey, size_t qn, const uint8_t *p,
			       size_t n)
{
	char s[B64_ENCODED_LEN(LW_MAX_PHY) + 1];
	size_t k;

	if (ew__base64_text(e, p, n, s, &k))
		jsonw_member_plainq(&e->w, qkey, qn, s, k);
}

/* key: a concentrator `tmst` as base64 of its 4 bytes big endian (the
 * ChirpStack gateway bridge's rxInfo/txInfo context). */
#define ew_context(e, key, tmst) ew_context_q((e), EW_QKEY(key), (tmst))
void ew_context_q(struct ew *e, const char *qkey, size_t qn, uint32_t tmst);

/* key: 8 lowercase hex digits, MSB first (a DevAddr). */
#define ew_hex32(e, key, v) ew_hex32_q((e), EW_QKEY(key), (v))
static inline void ew_hex32_q(struct ew *e, const char *qkey, size_t qn, uint32_t v)
{
	char s[HEX_U32_LEN + 1];

	hex_format_u32(v, s);
	jsonw_member_plainq(&e->w, qkey, qn, s, HEX_U32_LEN);
}

/* key: a UUID "00112233-4455-6677-8899-aabbccddeeff". */
#define ew_uuid(e, key, id) ew_uuid_q((e), EW_QKEY(key), (id))
static inline void ew_uuid_q(struct ew *e, const char *qkey, size_t qn, const uint8_t id[16])
{
	char s[EVENT_JSON_UUID_LEN];

	uuid_format(id, s);
	jsonw_member_plainq(&e->w, qkey, qn, s, EVENT_JSON_UUID_LEN - 1);
}

/* "location" of the gateway `stats` event: common.proto Location
 * {latitude, longitude, altitude? (if loc->has_altitude), source? (a
 * LocationSource name; NULL: not written)}, the numbers by jsonw_number().
 * loc->known and loc->text are not read. (rxInfo's is ChirpStack's form:
 * event_json_location().) */
void ew_location(struct jsonw *w, const struct ev_location *loc, const char *source);

/* "lora": {bandwidth (Hz), spreadingFactor, codeRate (gw.proto CodeRate
 * name of gwmp's 1..4 = 4/5..4/8), left open for the caller's further
 * fields and its jsonw_close(w, '}'). */
void ew_lora_open(struct jsonw *w, uint16_t bw_khz, uint8_t sf, uint8_t cr);

/* dev is non-NULL with a key for each of its tags. */
bool ew_device_valid(const struct ev_device *dev);

/* "deviceInfo": {...} of a valid dev (ew_device_valid()). */
void ew_device_info(struct ew *e, const struct ev_device *dev);

#endif
