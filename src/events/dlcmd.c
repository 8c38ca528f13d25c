/* SPDX-License-Identifier: MIT */
/*
 * dlcmd.c - parse the MQTT downlink command (see dlcmd.h for the format and
 * the reason codes).
 */
#include "events/dlcmd.h"

#include <string.h>

#include <json-c/json.h>

#include "base/b64.h"
#include "base/hex.h"
#include "base/jsonobj.h"
#include "base/lb_err.h"
#include "lorawan/lorawan.h"
#include "lorawan/region.h"

#define JSON_MAX_DEPTH 8

/* FHDR without FOpts (7) + FPort (1): N = M - 8 - FOptsLen. */
#define LEN_FHDR_FPORT 8

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

static int read_dev_eui(json_object *root, uint64_t topic_dev_eui, const char **reason)
{
	json_object *v = member(root, "devEui");
	uint64_t eui;

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

static int read_fport(json_object *root, struct dlcmd *out, const char **reason)
{
	json_object *v = member(root, "fPort");
	int64_t port;

	if (v == NULL)
		return fail(LB_ERR_RANGE, "INVALID_FPORT", reason);
	if (!json_object_is_type(v, json_type_int))
		return fail(LB_ERR_MALFORMED, "INVALID_FIELD", reason);
	/* json-c saturates values beyond int64 at INT64_MIN/MAX: still out of range. */
	port = json_object_get_int64(v);
	if (port < DLCMD_FPORT_MIN || port > DLCMD_FPORT_MAX)
		return fail(LB_ERR_RANGE, "INVALID_FPORT", reason);
	out->fport = (uint8_t)port;
	return LB_OK;
}

static int read_data(json_object *root, struct dlcmd *out, const char **reason)
{
	json_object *v = member(root, "data");
	int rc;

	if (v == NULL)
		return LB_OK;
	if (!json_object_is_type(v, json_type_string))
		return fail(LB_ERR_MALFORMED, "INVALID_FIELD", reason);
	rc = b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v),
			out->data, sizeof(out->data), &out->len);
	if (rc == LB_ERR_TOO_LARGE)
		return fail(rc, "PAYLOAD_TOO_LARGE", reason);
	if (rc != LB_OK)
		return fail(LB_ERR_BASE64, "INVALID_DATA", reason);
	return LB_OK;
}

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
	/* An embedded NUL ("\u0000") would cut the id short in every later use. */
	if (n > DLCMD_MAX_ID || strlen(s) != n)
		return fail(LB_ERR_MALFORMED, "INVALID_FIELD", reason);
	if (n == 0)
		return LB_OK;
	memcpy(out->id, s, n + 1);
	out->has_id = true;
	return LB_OK;
}

static int read_fields(json_object *root, uint64_t topic_dev_eui, struct dlcmd *out,
		       const char **reason)
{
	int rc;

	if (member(root, "object") != NULL)
		return fail(LB_ERR_MALFORMED, "INVALID_FIELD", reason);
	rc = read_dev_eui(root, topic_dev_eui, reason);
	if (rc == LB_OK)
		rc = read_confirmed(root, out, reason);
	if (rc == LB_OK)
		rc = read_fport(root, out, reason);
	if (rc == LB_OK)
		rc = read_data(root, out, reason);
	if (rc == LB_OK)
		rc = read_id(root, out, reason);
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
	return rc;
}

int dlcmd_check_size(const struct region *r, int dr, size_t fopts_len, size_t len)
{
	const struct region_dr *d;
	uint8_t m;
	int rc;

	if (r == NULL || dr < 0 || dr > UINT8_MAX || fopts_len > LW_MAX_FOPTS)
		return LB_ERR_INVAL;
	d = region_dr_info(r, (uint8_t)dr);
	if (d == NULL || !d->downlink)
		return LB_ERR_NOT_FOUND;
	rc = region_max_payload(r, (uint8_t)dr, &m, NULL);
	if (rc != LB_OK)
		return rc;
	if (len + fopts_len + LEN_FHDR_FPORT > m)
		return LB_ERR_TOO_LARGE;
	return LB_OK;
}
