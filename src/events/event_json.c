/* SPDX-License-Identifier: MIT */
/*
 * event_json.c - device events (`up`, `log`) and the pieces every event
 * shares: times, rxInfo, txInfo, deviceInfo, output. See event_json.h;
 * gateway events are in event_json_gw.c.
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

	if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
		snprintf(buf, sizeof(buf), "%.0f", v);
		return json_object_new_double_s(v, buf);
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		double back = strtod(buf, NULL);
		if (is_float ? (float)back == (float)v : back == v)
			break;
	}
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

int event_json_format_time(int64_t unix_us, char out[EVENT_JSON_TIME_LEN])
{
	int64_t sec = unix_us / US_PER_S, frac = unix_us % US_PER_S;
	time_t t;
	struct tm tm;
	int n;

	if (frac < 0) {
		frac += US_PER_S;
		sec--;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > MAX_YEAR)
		return LB_ERR_RANGE;
	n = snprintf(out, EVENT_JSON_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	/* As ChirpStack prints a google.protobuf.Timestamp (pbjson: chrono's
	 * to_rfc3339(), SecondsFormat::AutoSi): 0, 3, 6 (or 9) fraction digits
	 * and the offset "+00:00", never "Z" (which Python's
	 * datetime.fromisoformat() only reads from 3.11 on). */
	if (frac == 0)
		snprintf(out + n, (size_t)(EVENT_JSON_TIME_LEN - n), "+00:00");
	else if (frac % 1000 == 0)
		snprintf(out + n, (size_t)(EVENT_JSON_TIME_LEN - n), ".%03d+00:00",
			 (int)(frac / 1000));
	else
		snprintf(out + n, (size_t)(EVENT_JSON_TIME_LEN - n), ".%06d+00:00", (int)frac);
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

static struct json_object *devaddr(uint32_t a)
{
	char s[HEX_U32_LEN + 1];

	hex_format_u32(a, s);
	return json_object_new_string(s);
}

/* macCommands: parsed uplink MAC commands; a cut-short list still goes out,
 * ending with its {"error", "unparsed"} marker (maccmd.h). */
static void add_mac_commands(struct json_object *o, const uint8_t *mac, size_t n, int *err)
{
	struct json_object *arr = NULL;
	int rc = maccmd_json(mac, n, LW_DIR_UP, &arr);

	if (rc == LB_ERR_UNKNOWN_TYPE || rc == LB_ERR_TOO_SHORT)
		rc = LB_OK;
	event_json__add_built(o, "macCommands", rc, arr, err);
}

static void add_rx_infos(struct json_object *o, const struct lb_rx *rx, size_t n, int *err)
{
	struct json_object *arr = json_object_new_array(), *ri;

	for (size_t i = 0; i < n && arr; i++) {
		int rc = event_json_rx_info(&rx[i], &ri);
		if (rc != LB_OK) {
			json_object_put(arr);
			event_json__add_built(o, "rxInfo", rc, NULL, err);
			return;
		}
		if (json_object_array_add(arr, ri) != 0) {
			json_object_put(ri);
			json_object_put(arr);
			arr = NULL;
		}
	}
	event_json__add(o, "rxInfo", arr, err);
}

static struct json_object *fair_access(const struct ev_fair_access *fa, int *err)
{
	struct json_object *o = json_object_new_object();

	event_json__add(o, "uplinkAirtimeMs", event_json__fixed(fa->uplink_airtime_ms, 3), err);
	event_json__add(o, "uplinkBudgetMs", event_json__fixed(fa->uplink_budget_ms, 3), err);
	event_json__add(o, "downlinks", json_object_new_int64(fa->downlinks), err);
	event_json__add(o, "downlinkBudget", json_object_new_int64(fa->downlink_budget), err);
	event_json__add(o, "exceeded", json_object_new_boolean(fa->exceeded), err);
	return o;
}

static bool uplink_valid(const struct ev_uplink *ev)
{
	if (!ev->dev || !ev->rx || ev->n_rx == 0)
		return false;
	if ((ev->data_len > 0 && !ev->data) || ev->data_len > LW_MAX_PHY)
		return false;
	if (ev->mac_len > 0 && !ev->mac)
		return false;
	if (ev->has_airtime && !isfinite(ev->airtime_ms))
		return false;
	return !ev->fair_access || (isfinite(ev->fair_access->uplink_airtime_ms) &&
				    isfinite(ev->fair_access->uplink_budget_ms));
}

int event_json_uplink(const struct ev_uplink *ev, char *out, size_t cap, size_t *len)
{
	struct json_object *o, *sub = NULL;
	int err = LB_OK, rc;

	if (!ev || !out || !len)
		return LB_ERR_INVAL;
	if (!uplink_valid(ev))
		return LB_ERR_INVAL;
	o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	/* integration.proto UplinkEvent in its declaration order, defaults
	 * emitted (dr, fPort 0, data ""), as ChirpStack >= 4.1 renders it;
	 * relayRxInfo and joinServerContext are never set, so never present.
	 * lorabridge's own fields come last. */
	event_json__add(o, "deduplicationId", event_json__uuid(ev->dedup_id), &err);
	event_json__add_time(o, "time", ev->time_us, &err);
	rc = event_json_device_info(ev->dev, &sub);
	event_json__add_built(o, "deviceInfo", rc, sub, &err);
	event_json__add(o, "devAddr", devaddr(ev->dev_addr), &err);
	event_json__add(o, "adr", json_object_new_boolean(ev->adr), &err);
	event_json__add(o, "dr", json_object_new_int(ev->dr >= 0 ? ev->dr : 0), &err);
	event_json__add(o, "fCnt", json_object_new_int64(ev->fcnt), &err);
	event_json__add(o, "fPort", json_object_new_int(ev->has_fport ? ev->fport : 0), &err);
	event_json__add(o, "confirmed", json_object_new_boolean(ev->confirmed), &err);
	event_json__add(o, "data", event_json__base64(ev->data, ev->data_len), &err);
	if (ev->object)
		event_json__add(o, "object", json_object_get(ev->object), &err);
	add_rx_infos(o, ev->rx, ev->n_rx, &err);
	rc = event_json_tx_info(&ev->rx[0].rxpk, &sub);
	event_json__add_built(o, "txInfo", rc, sub, &err);
	event_json__add(o, "regionConfigId", event_json__string(ev->region_config_id), &err);
	if (ev->mac_len > 0)
		add_mac_commands(o, ev->mac, ev->mac_len, &err);
	if (ev->has_airtime)
		event_json__add(o, "airtimeMs", event_json__fixed(ev->airtime_ms, 3), &err);
	if (ev->fair_access)
		event_json__add(o, "fairAccess", fair_access(ev->fair_access, &err), &err);
	return event_json__finish(o, err, out, cap, len);
}

static struct json_object *log_context(const struct ev_log *ev, int *err)
{
	struct json_object *c = json_object_new_object();

	for (size_t i = 0; i < ev->n_context && c; i++)
		event_json__add_copy(c, ev->context_keys[i], event_json__string(ev->context_values[i]),
				err);
	return c;
}

static bool log_valid(const struct ev_log *ev)
{
	if (!ev->level || !ev->code)
		return false;
	if (ev->n_context == 0)
		return true;
	if (!ev->context_keys || !ev->context_values)
		return false;
	for (size_t i = 0; i < ev->n_context; i++)
		if (!ev->context_keys[i])
			return false;
	return true;
}

int event_json_log(const struct ev_log *ev, char *out, size_t cap, size_t *len)
{
	struct json_object *o, *sub = NULL;
	int err = LB_OK, rc;

	if (!ev || !out || !len)
		return LB_ERR_INVAL;
	if (!log_valid(ev))
		return LB_ERR_INVAL;
	o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	event_json__add_time(o, "time", ev->time_us, &err);
	if (ev->dev) {
		rc = event_json_device_info(ev->dev, &sub);
		event_json__add_built(o, "deviceInfo", rc, sub, &err);
	}
	event_json__add(o, "level", json_object_new_string(ev->level), &err);
	event_json__add(o, "code", json_object_new_string(ev->code), &err);
	event_json__add(o, "description", event_json__string(ev->description), &err);
	/* a map: ChirpStack >= 4.1 writes it even when empty */
	event_json__add(o, "context", log_context(ev, &err), &err);
	return event_json__finish(o, err, out, cap, len);
}

int event_json_fair_access(const struct ev_fair_access *fa, char *out, size_t cap, size_t *len)
{
	int err = LB_OK;

	if (!fa || !out || !len || !isfinite(fa->uplink_airtime_ms) || !isfinite(fa->uplink_budget_ms))
		return LB_ERR_INVAL;
	struct json_object *o = fair_access(fa, &err);
	if (!o)
		return LB_ERR_NOMEM;
	return event_json__finish(o, err, out, cap, len);
}
