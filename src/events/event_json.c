/* SPDX-License-Identifier: MIT */
/*
 * event_json.c - the json-c pieces the other events share: times, rxInfo,
 * txInfo, deviceInfo, output. See event_json.h; the per-uplink events
 * (`up`, gateway `up`, fair access) and `log` are written without a tree in
 * event_json_w.c, byte for byte as these trees print; the other gateway
 * events are in event_json_gw.c.
 *
 * Built with json-c objects (never snprintf'd JSON), serialised with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE so base64 '/'
 * stays as is. Object keys print in insertion order, which is the order of
 * ChirpStack's protobuf definitions.
 *
 * Error handling: builders add fields through event_json__add(), which
 * records the first failure in a sticky `err` and frees what it could not
 * insert; each event checks `err` once at the end.
 */
#include "events/event_json.h"
#include "events/event_json_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "base/b64.h"
#include "base/hex.h"
#include "base/jsonw.h"
#include "base/lb_err.h"
#include "base/uuid.h"
#include "lorawan/maccmd.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

#define US_PER_S INT64_C(1000000)
#define MAX_YEAR 9999

/*
 * rxInfo.context (ChirpStack gateway bridge, Semtech UDP backend): the
 * rxpk `tmst` as 4 bytes big endian, so a class-A downlink can be timed
 * from it (txpk.tmst = rxpk.tmst + delay; Semtech PROTOCOL.TXT §4, §6).
 *
 *   0        1        2        3
 * +--------+--------+--------+--------+
 * | tmst 31..24     ...      7..0     |
 * +--------+--------+--------+--------+
 */
#define LEN_CONTEXT 4

/* --- shared helpers (event_json_int.h) ---------------------------------- */

static void add_ex(struct json_object *o, const char *key, struct json_object *v, unsigned opts,
		   int *err)
{
	if (!v) {
		if (*err == LB_OK)
			*err = LB_ERR_NOMEM;
		return;
	}
	if (!o || json_object_object_add_ex(o, key, v, opts) != 0) {
		json_object_put(v);
		if (*err == LB_OK)
			*err = LB_ERR_NOMEM;
	}
}

/* Literal keys, each added once: json-c neither copies nor looks them up. */
void event_json__add(struct json_object *o, const char *key, struct json_object *v, int *err)
{
	add_ex(o, key, v, JSON_C_OBJECT_ADD_CONSTANT_KEY | JSON_C_OBJECT_ADD_KEY_IS_NEW, err);
}

/* Caller-supplied keys (tags, log context): copied, a repeated key replaces. */
void event_json__add_copy(struct json_object *o, const char *key, struct json_object *v, int *err)
{
	add_ex(o, key, v, 0, err);
}

void event_json__add_built(struct json_object *o, const char *key, int rc,
			   struct json_object *v, int *err)
{
	if (rc != LB_OK) {
		json_object_put(v);
		if (*err == LB_OK)
			*err = rc;
		return;
	}
	event_json__add(o, key, v, err);
}

struct json_object *event_json__string(const char *s)
{
	return json_object_new_string(s ? s : "");
}

/*
 * A JSON number printed the way protobuf JSON prints it: the shortest text
 * that reads back as the same value (as a float when is_float, since
 * ChirpStack declares snr as float32), integers without ".0" or exponent.
 * Non-finite values have no JSON form: the caller must not pass them.
 */
struct json_object *event_json__number(double v, bool is_float)
{
	char buf[32];
	struct jsonw w;
	size_t n;

	jsonw_init(&w, buf, sizeof(buf));
	jsonw_number(&w, v, is_float);
	if (jsonw_finish(&w, &n) != LB_OK)
		return NULL;
	return json_object_new_double_s(v, buf);
}

/* A number with exactly `decimals` decimals (airtimeMs: 3). */
struct json_object *event_json__fixed(double v, int decimals)
{
	char buf[48];

	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	return json_object_new_double_s(v, buf);
}

struct json_object *event_json__eui(uint64_t eui)
{
	char s[HEX_EUI_LEN + 1];

	hex_format_eui(eui, s);
	return json_object_new_string(s);
}

struct json_object *event_json__base64(const uint8_t *p, size_t n)
{
	char s[B64_ENCODED_LEN(LW_MAX_PHY) + 1];

	if (n == 0)
		return json_object_new_string("");
	if (n > LW_MAX_PHY || b64_encode(p, n, s, sizeof(s)) == 0)
		return NULL;
	return json_object_new_string(s);
}

/* --- times --------------------------------------------------------------- */

/* Days since 1970-01-01 to the proleptic Gregorian date (the inverse of
 * days_from_civil, H. Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms"): no gmtime_r(), no locale, no allocation. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);                 /* 0..146096 */
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);      /* 0..365, from March */
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int event_json_format_time(int64_t unix_us, char out[EVENT_JSON_TIME_LEN])
{
	int64_t sec = unix_us / US_PER_S, frac = unix_us % US_PER_S, y;
	unsigned mo, d;

	if (frac < 0) {
		frac += US_PER_S;
		sec--;
	}
	int64_t days = sec / 86400, tod = sec % 86400;
	if (tod < 0) {
		tod += 86400;
		days--;
	}
	civil_from_days(days, &y, &mo, &d);
	if (y < 0 || y > MAX_YEAR)
		return LB_ERR_RANGE;
	/* "YYYY-MM-DDTHH:MM:SS" */
	jsonw_fmt_pad(out, (unsigned)y, 4);
	out[4] = '-';
	jsonw_fmt_pad(out + 5, mo, 2);
	out[7] = '-';
	jsonw_fmt_pad(out + 8, d, 2);
	out[10] = 'T';
	jsonw_fmt_pad(out + 11, (unsigned)(tod / 3600), 2);
	out[13] = ':';
	jsonw_fmt_pad(out + 14, (unsigned)(tod / 60 % 60), 2);
	out[16] = ':';
	jsonw_fmt_pad(out + 17, (unsigned)(tod % 60), 2);
	size_t n = 19;
	/* As ChirpStack prints a google.protobuf.Timestamp (pbjson: chrono's
	 * to_rfc3339(), SecondsFormat::AutoSi): 0, 3, 6 (or 9) fraction digits
	 * and the offset "+00:00", never "Z" (which Python's
	 * datetime.fromisoformat() only reads from 3.11 on). */
	if (frac != 0 && frac % 1000 == 0) {
		out[n++] = '.';
		jsonw_fmt_pad(out + n, (unsigned)(frac / 1000), 3);
		n += 3;
	} else if (frac != 0) {
		out[n++] = '.';
		jsonw_fmt_pad(out + n, (unsigned)frac, 6);
		n += 6;
	}
	memcpy(out + n, "+00:00", 7);
	return LB_OK;
}

void event_json__add_time(struct json_object *o, const char *key, int64_t unix_us, int *err)
{
	char t[EVENT_JSON_TIME_LEN];
	int rc = event_json_format_time(unix_us, t);

	event_json__add_built(o, key, rc, rc == LB_OK ? json_object_new_string(t) : NULL, err);
}

/* protobuf Duration JSON of GPS milliseconds: "1399713185.318s" / "12s". */
static struct json_object *gps_duration(uint64_t ms)
{
	char buf[32];

	if (ms % 1000 == 0)
		snprintf(buf, sizeof(buf), "%" PRIu64 "s", ms / 1000);
	else
		snprintf(buf, sizeof(buf), "%" PRIu64 ".%03us", ms / 1000, (unsigned)(ms % 1000));
	return json_object_new_string(buf);
}

/* --- rxInfo / txInfo ------------------------------------------------------ */

static const char *crc_status(int stat)
{
	if (stat == 1)
		return "CRC_OK";
	if (stat == -1)
		return "BAD_CRC";
	return "NO_CRC";
}

static struct json_object *context_b64(uint32_t tmst)
{
	uint8_t be[LEN_CONTEXT] = {(uint8_t)(tmst >> 24), (uint8_t)(tmst >> 16),
				   (uint8_t)(tmst >> 8), (uint8_t)tmst};
	char s[B64_ENCODED_LEN(LEN_CONTEXT) + 1];

	if (b64_encode(be, sizeof(be), s, sizeof(s)) == 0)
		return NULL;
	return json_object_new_string(s);
}

int event_json_rx_info(const struct lb_rx *rx, struct json_object **out)
{
	const struct gwmp_rxpk *pk;
	struct json_object *o;
	int err = LB_OK;

	if (!out)
		return LB_ERR_INVAL;
	*out = NULL;
	if (!rx)
		return LB_ERR_INVAL;
	pk = &rx->rxpk;
	o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	event_json__add(o, "gatewayId", event_json__eui(rx->gateway_eui), &err);
	event_json__add(o, "uplinkId", json_object_new_int64(rx->uplink_id), &err);
	/* `time` is the field of ChirpStack's v4 JSON integration before it was
	 * renamed `gwTime`; both are given so either kind of consumer works. */
	if (pk->has_time) {
		event_json__add_time(o, "time", pk->time_us, &err);
		event_json__add_time(o, "gwTime", pk->time_us, &err);
	}
	if (rx->received_us > 0)
		event_json__add_time(o, "nsTime", rx->received_us, &err);
	if (pk->has_tmms)
		event_json__add(o, "timeSinceGpsEpoch", gps_duration(pk->tmms), &err);
	if (pk->has_rssi)
		event_json__add(o, "rssi", json_object_new_int(pk->rssi), &err);
	if (pk->has_lsnr && isfinite(pk->lsnr))
		event_json__add(o, "snr", event_json__number(pk->lsnr, true), &err);
	event_json__add(o, "channel", json_object_new_int(pk->chan), &err);
	event_json__add(o, "rfChain", json_object_new_int(pk->rfch), &err);
	event_json__add(o, "context", context_b64(pk->tmst), &err);
	event_json__add(o, "crcStatus", json_object_new_string(crc_status(pk->stat)), &err);
	if (err != LB_OK) {
		json_object_put(o);
		return err;
	}
	*out = o;
	return LB_OK;
}

/* gw.proto CodeRate names; gwmp keeps 4/5..4/8 as 1..4, 0 for "OFF"/absent. */
static const char *code_rate_name(uint8_t cr)
{
	static const char *const names[] = {"CR_UNDEFINED", "CR_4_5", "CR_4_6", "CR_4_7", "CR_4_8"};
	return cr < sizeof(names) / sizeof(names[0]) ? names[cr] : "CR_UNDEFINED";
}

static struct json_object *modulation(const struct gwmp_rxpk *pk, int *err)
{
	struct json_object *m = json_object_new_object(), *p = json_object_new_object();

	switch (pk->modu) {
	case GWMP_MOD_LORA:
		event_json__add(p, "bandwidth", json_object_new_int64((int64_t)pk->bw_khz * 1000), err);
		event_json__add(p, "spreadingFactor", json_object_new_int(pk->sf), err);
		event_json__add(p, "codeRate", json_object_new_string(code_rate_name(pk->cr)), err);
		event_json__add(m, "lora", p, err);
		break;
	case GWMP_MOD_FSK:
		event_json__add(p, "datarate", json_object_new_int64(pk->bitrate), err);
		event_json__add(m, "fsk", p, err);
		break;
	case GWMP_MOD_LRFHSS:
		/* gwmp keeps no OCW / grid steps: the modulation is named, nothing more */
		event_json__add(m, "lrFhss", p, err);
		break;
	default:
		json_object_put(p);
		break;
	}
	return m;
}

int event_json_tx_info(const struct gwmp_rxpk *pk, struct json_object **out)
{
	struct json_object *o;
	int err = LB_OK;

	if (!out)
		return LB_ERR_INVAL;
	*out = NULL;
	if (!pk)
		return LB_ERR_INVAL;
	o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	event_json__add(o, "frequency", json_object_new_int64(pk->freq_hz), &err);
	event_json__add(o, "modulation", modulation(pk, &err), &err);
	if (err != LB_OK) {
		json_object_put(o);
		return err;
	}
	*out = o;
	return LB_OK;
}

/* --- deviceInfo ------------------------------------------------------------ */

int event_json_device_info(const struct ev_device *dev, struct json_object **out)
{
	struct json_object *o, *tags;
	int err = LB_OK;

	if (!out)
		return LB_ERR_INVAL;
	*out = NULL;
	if (!dev || (dev->n_tags > 0 && !dev->tags))
		return LB_ERR_INVAL;
	for (size_t i = 0; i < dev->n_tags; i++)
		if (!dev->tags[i].key)
			return LB_ERR_INVAL;
	o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	/* integration.proto DeviceInfo, in its declaration order. */
	event_json__add(o, "tenantId", event_json__string(dev->tenant_id), &err);
	event_json__add(o, "tenantName", event_json__string(dev->tenant_name), &err);
	event_json__add(o, "applicationId", event_json__string(dev->application_id), &err);
	event_json__add(o, "applicationName", event_json__string(dev->application), &err);
	event_json__add(o, "deviceProfileId", event_json__string(dev->profile_id), &err);
	event_json__add(o, "deviceProfileName", event_json__string(dev->profile_name), &err);
	event_json__add(o, "deviceName", event_json__string(dev->name), &err);
	event_json__add(o, "devEui", event_json__eui(dev->dev_eui), &err);
	event_json__add(o, "deviceClassEnabled",
			json_object_new_string(dev->device_class ? dev->device_class : "CLASS_A"),
			&err);
	tags = json_object_new_object();
	for (size_t i = 0; i < dev->n_tags && tags; i++)
		event_json__add_copy(tags, dev->tags[i].key, event_json__string(dev->tags[i].value), &err);
	event_json__add(o, "tags", tags, &err);
	if (err != LB_OK) {
		json_object_put(o);
		return err;
	}
	*out = o;
	return LB_OK;
}

/* --- output ------------------------------------------------------------------ */

/*
 * Known json-c limitation (found by fault injection, json-c 0.16): its
 * serialisers ignore printbuf allocation failures, so under memory
 * exhaustion json_object_to_json_string_length() can return truncated text
 * instead of NULL. Only a NULL return can be reported here.
 */
int event_json_write(struct json_object *o, char *out, size_t cap, size_t *len)
{
	const char *s;
	size_t n = 0;

	if (!o || !out || !len)
		return LB_ERR_INVAL;
	*len = 0;
	s = json_object_to_json_string_length(o, JSON_FLAGS, &n);
	if (!s)
		return LB_ERR_NOMEM;
	if (n + 1 > cap) {
		if (cap > 0)
			out[0] = '\0';
		return LB_ERR_TOO_LARGE;
	}
	memcpy(out, s, n + 1);
	*len = n;
	return LB_OK;
}

int event_json__finish(struct json_object *o, int err, char *out, size_t cap, size_t *len)
{
	if (err == LB_OK)
		err = event_json_write(o, out, cap, len);
	else if (cap > 0)
		out[0] = '\0';
	json_object_put(o);
	return err;
}

/* --- device events ------------------------------------------------------------ */

void event_json_uuid_str(const uint8_t id[16], char out[EVENT_JSON_UUID_LEN])
{
	uuid_format(id, out);
}

struct json_object *event_json__uuid(const uint8_t id[16])
{
	char s[EVENT_JSON_UUID_LEN];

	event_json_uuid_str(id, s);
	return json_object_new_string(s);
}
