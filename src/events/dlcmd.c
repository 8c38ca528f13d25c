/* SPDX-License-Identifier: MIT */
/*
 * dlcmd.c - parse the MQTT downlink command (see dlcmd.h for the format and
 * the reason codes).
 */
#include "events/dlcmd.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "base/b64.h"
#include "base/hex.h"
#include "base/jsonobj.h"
#include "base/lb_err.h"
#include "base/uuid.h"
#include "lorawan/lorawan.h"
#include "lorawan/region.h"

#define JSON_MAX_DEPTH 8

/* FHDR without FOpts (7) + FPort (1): N = M - 8 - FOptsLen. */
#define LEN_FHDR_FPORT 8

/* A decimal fPort string: "223" at most (and a few leading zeros). */
#define MAX_FPORT_TEXT 8

#define US_PER_S INT64_C(1000000)

static int fail(int err, const char *code, const char **reason)
{
	*reason = code;
	return err;
}

/* The whole text must be one JSON object, nothing after it. */
static int parse_root(const char *json, size_t len, json_object **out)
{
	return jsonobj_parse(json, len, JSON_MAX_DEPTH, out);
}

/* A member that is present and not null, or NULL. */
static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/*
 * A field by either of its names, as pbjson reads a message: the JSON name
 * (lowerCamelCase, "devEui") or the proto field's own ("dev_eui"). Both
 * present (even as null) is one field given twice, which pbjson refuses
 * ("duplicate field"): INVALID_FIELD. *v: the value, NULL if absent or null.
 */
static int field(json_object *root, const char *json_name, const char *proto_name,
		 json_object **v, const char **reason)
{
	json_object *a = NULL, *b = NULL;
	bool has_a = json_object_object_get_ex(root, json_name, &a);
	bool has_b = proto_name && json_object_object_get_ex(root, proto_name, &b);

	*v = NULL;
	if (has_a && has_b)
		return fail(LB_ERR_MALFORMED, "INVALID_FIELD", reason);
	*v = has_a ? a : b;
	return LB_OK;
}

static int read_dev_eui(json_object *root, uint64_t topic_dev_eui, const char **reason)
{
	json_object *v;
	uint64_t eui;

	if (field(root, "devEui", "dev_eui", &v, reason) != LB_OK)
		return LB_ERR_MALFORMED;
	if (v == NULL)
		return LB_OK;
	if (!json_object_is_type(v, json_type_string) ||
	    hex_parse_u64_eui(json_object_get_string(v), &eui) != LB_OK)
		return fail(LB_ERR_MALFORMED, "INVALID_FIELD", reason);
	if (eui != topic_dev_eui)
		return fail(LB_ERR_DENIED, "DEV_EUI_MISMATCH", reason);
	return LB_OK;
}

static int read_confirmed(json_object *root, struct dlcmd *out, const char **reason)
{
	json_object *v = member(root, "confirmed");

	if (v == NULL)
		return LB_OK;
	if (!json_object_is_type(v, json_type_boolean))
		return fail(LB_ERR_MALFORMED, "INVALID_FIELD", reason);
	out->confirmed = json_object_get_boolean(v);
	return LB_OK;
}

/* pbjson reads a uint32 from a JSON number or from a string holding one. */
static int fport_text(const char *s, size_t n, int64_t *port)
{
	int64_t v = 0;

	if (n == 0 || n > MAX_FPORT_TEXT)
		return LB_ERR_MALFORMED;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return LB_ERR_MALFORMED;
		v = v * 10 + (s[i] - '0');
	}
	*port = v;
	return LB_OK;
}

static int read_fport(json_object *root, struct dlcmd *out, const char **reason)
{
	json_object *v;
	int64_t port;

	if (field(root, "fPort", "f_port", &v, reason) != LB_OK)
		return LB_ERR_MALFORMED;
	if (v == NULL) {
		/* With an object the codec's encodeDownlink may give the fPort
		 * (LoRaWAN TS013-1.0.0): 0 until then. */
		json_object *o = member(root, "object");
		if (o && json_object_is_type(o, json_type_object)) {
			out->fport = 0;
			return LB_OK;
		}
		return fail(LB_ERR_RANGE, "INVALID_FPORT", reason);
	}
	if (json_object_is_type(v, json_type_string)) {
		if (fport_text(json_object_get_string(v), (size_t)json_object_get_string_len(v),
			       &port) != LB_OK)
			return fail(LB_ERR_MALFORMED, "INVALID_FIELD", reason);
	} else if (json_object_is_type(v, json_type_int)) {
		/* json-c saturates values beyond int64 at INT64_MIN/MAX: still out of range. */
		port = json_object_get_int64(v);
	} else {
		return fail(LB_ERR_MALFORMED, "INVALID_FIELD", reason);
	}
	if (port < DLCMD_FPORT_MIN || port > DLCMD_FPORT_MAX)
		return fail(LB_ERR_RANGE, "INVALID_FPORT", reason);
	out->fport = (uint8_t)port;
	return LB_OK;
}

/*
 * bytes as pbjson reads them: the standard alphabet (RFC 4648 §4) or the
 * URL-safe one (§5), padding optional. URL-safe text is mapped to the
 * standard alphabet first; a text mixing both is refused.
 */
static int decode_data(const char *s, size_t n, struct dlcmd *out)
{
	char std[B64_ENCODED_LEN(DLCMD_MAX_DATA) + 4];
	bool url = strpbrk(s, "-_") != NULL, classic = strpbrk(s, "+/") != NULL;

	if (!url)
		return b64_decode(s, n, out->data, sizeof(out->data), &out->len);
	if (classic)
		return LB_ERR_BASE64;
	if (n > sizeof(std))
		return LB_ERR_TOO_LARGE;
	for (size_t i = 0; i < n; i++)
		std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	return b64_decode(std, n, out->data, sizeof(out->data), &out->len);
}

static int read_data(json_object *root, struct dlcmd *out, const char **reason)
{
	json_object *v = member(root, "data");
	int rc;

	if (v == NULL)
		return LB_OK;
	if (!json_object_is_type(v, json_type_string))
		return fail(LB_ERR_MALFORMED, "INVALID_FIELD", reason);
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (strlen(s) != n)
		return fail(LB_ERR_BASE64, "INVALID_DATA", reason);
	rc = decode_data(s, n, out);
	if (rc == LB_ERR_TOO_LARGE)
		return fail(rc, "PAYLOAD_TOO_LARGE", reason);
	if (rc != LB_OK)
		return fail(LB_ERR_BASE64, "INVALID_DATA", reason);
	return LB_OK;
}

/* ChirpStack's queue item ids are UUIDs: anything else is refused, so an
 * id means the same in both. Kept in lower case, as ChirpStack prints it. */
static int read_id(json_object *root, struct dlcmd *out, const char **reason)
{
	json_object *v = member(root, "id");
	const char *s;
	size_t n;

	if (v == NULL)
		return LB_OK;
	if (!json_object_is_type(v, json_type_string))
		return fail(LB_ERR_MALFORMED, "INVALID_FIELD", reason);
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n == 0)
		return LB_OK;
	if (strlen(s) != n || uuid_parse(s, n, NULL) != LB_OK)
		return fail(LB_ERR_MALFORMED, "INVALID_ID", reason);
	for (size_t i = 0; i <= n; i++)
		out->id[i] = (char)tolower((unsigned char)s[i]);
	out->has_id = true;
	return LB_OK;
}

static int read_expires(json_object *root, struct dlcmd *out, const char **reason)
{
	json_object *v;

	if (field(root, "expiresAt", "expires_at", &v, reason) != LB_OK)
		return LB_ERR_MALFORMED;
	if (v == NULL)
		return LB_OK;
	if (!json_object_is_type(v, json_type_string) ||
	    dlcmd_parse_time(json_object_get_string(v), (size_t)json_object_get_string_len(v),
			     &out->expires_at_us) != LB_OK)
		return fail(LB_ERR_MALFORMED, "INVALID_FIELD", reason);
	out->has_expires_at = true;
	return LB_OK;
}

/* google.protobuf.Struct: a JSON object; kept for the device's codec. */
static int read_object(json_object *root, struct dlcmd *out, const char **reason)
{
	json_object *v = member(root, "object");

	if (v == NULL)
		return LB_OK;
	if (!json_object_is_type(v, json_type_object))
		return fail(LB_ERR_MALFORMED, "INVALID_FIELD", reason);
	out->object = json_object_get(v);
	return LB_OK;
}

static int read_fields(json_object *root, uint64_t topic_dev_eui, struct dlcmd *out,
		       const char **reason)
{
	int rc;

	rc = read_dev_eui(root, topic_dev_eui, reason);
	if (rc == LB_OK)
		rc = read_confirmed(root, out, reason);
	if (rc == LB_OK)
		rc = read_fport(root, out, reason);
	if (rc == LB_OK)
		rc = read_data(root, out, reason);
	if (rc == LB_OK)
		rc = read_id(root, out, reason);
	if (rc == LB_OK)
		rc = read_expires(root, out, reason);
	if (rc == LB_OK)
		rc = read_object(root, out, reason);
	return rc;
}

int dlcmd_parse(const char *json, size_t len, uint64_t topic_dev_eui, struct dlcmd *out,
		const char **reason)
{
	json_object *root;
	int rc;

	if (reason == NULL)
		return LB_ERR_INVAL;
	if (json == NULL || out == NULL)
		return fail(LB_ERR_INVAL, "INVALID_JSON", reason);
	memset(out, 0, sizeof(*out));
	*reason = NULL;
	if (len > DLCMD_MAX_JSON)
		return fail(LB_ERR_TOO_LARGE, "PAYLOAD_TOO_LARGE", reason);
	rc = parse_root(json, len, &root);
	if (rc != LB_OK)
		return fail(rc, "INVALID_JSON", reason);
	out->dev_eui = topic_dev_eui;
	rc = read_fields(root, topic_dev_eui, out, reason);
	json_object_put(root);
	if (rc != LB_OK)
		dlcmd_release(out);
	return rc;
}

void dlcmd_release(struct dlcmd *c)
{
	if (!c)
		return;
	json_object_put(c->object);
	c->object = NULL;
}

/* --- RFC 3339 §5.6 date-time ------------------------------------------------
 *
 *   2024-05-14T09:12:47.318406+02:00
 *   0    5  8  11 14 17 19           fraction optional, then Z or +-hh:mm
 */
#define RFC3339_MIN_LEN 20          /* "2024-05-14T09:12:47Z" */
#define MAX_FRACTION 9

static int digits(const char *s, size_t n, int *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return LB_ERR_MALFORMED;
		*v = *v * 10 + (s[i] - '0');
	}
	return LB_OK;
}

/* The offset after the seconds: "Z" or "+hh:mm" / "-hh:mm", in seconds. */
static int offset_s(const char *s, size_t n, int *off)
{
	int h, m;

	if (n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
		*off = 0;
		return LB_OK;
	}
	if (n != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || digits(s + 1, 2, &h) ||
	    digits(s + 4, 2, &m) || h > 23 || m > 59)
		return LB_ERR_MALFORMED;
	*off = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
	return LB_OK;
}

int dlcmd_parse_time(const char *s, size_t len, int64_t *unix_us)
{
	int y, mo, d, h, mi, sec, off, frac_us = 0;
	size_t i = 19;

	if (!s || !unix_us || len < RFC3339_MIN_LEN || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return LB_ERR_MALFORMED;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
		return LB_ERR_MALFORMED;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return LB_ERR_MALFORMED;
	if (s[i] == '.') {
		size_t k = 0;
		for (i++; i < len && isdigit((unsigned char)s[i]); i++, k++)
			if (k < 6)
				frac_us = frac_us * 10 + (s[i] - '0');
		if (k == 0 || k > MAX_FRACTION)
			return LB_ERR_MALFORMED;
		for (; k < 6; k++)
			frac_us *= 10;
	}
	if (offset_s(s + i, len - i, &off) != LB_OK)
		return LB_ERR_MALFORMED;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
			.tm_min = mi, .tm_sec = sec};
	time_t t = timegm(&tm);
	if (tm.tm_mday != d && sec != 60)   /* 2024-02-31 normalised: not a date */
		return LB_ERR_MALFORMED;
	*unix_us = ((int64_t)t - off) * US_PER_S + frac_us;
	return LB_OK;
}

int dlcmd_check_size(const struct region *r, enum region_rp rp, int dr, size_t fopts_len,
		     size_t len)
{
	const struct region_dr *d;
	uint8_t m;
	int rc;

	if (r == NULL || dr < 0 || dr > UINT8_MAX || fopts_len > LW_MAX_FOPTS)
		return LB_ERR_INVAL;
	d = region_dr_info(r, (uint8_t)dr);
	if (d == NULL || !d->downlink)
		return LB_ERR_NOT_FOUND;
	rc = region_max_payload_rp(r, rp, (uint8_t)dr, &m, NULL);
	if (rc != LB_OK)
		return rc;
	if (len + fopts_len + LEN_FHDR_FPORT > m)
		return LB_ERR_TOO_LARGE;
	return LB_OK;
}
