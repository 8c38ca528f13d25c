/* SPDX-License-Identifier: MIT */
/*
 * event_json_dl.c - device events of the downlink side: `join`, `ack` and
 * `txack`, in ChirpStack v4's integration JSON shape (integration.proto
 * JoinEvent, AckEvent, TxAckEvent; camelCase, defaults emitted). Pure, like
 * the rest of event_json (see event_json.h).
 */
#include "events/event_json.h"

#include <inttypes.h>
#include <stdio.h>

#include <json-c/json.h>

#include "events/event_json_int.h"
#include "base/b64.h"
#include "base/lb_err.h"

#define US_PER_S 1000000u

/* txInfo.context: the uplink's 4-byte big-endian tmst (event_json.c). */
#define LEN_CONTEXT 4

static void add_device(struct json_object *o, const struct ev_device *dev, int *err)
{
	struct json_object *sub = NULL;
	int rc = event_json_device_info(dev, &sub);
	event_json__add_built(o, "deviceInfo", rc, sub, err);
}

static struct json_object *hex32(uint32_t v)
{
	char s[9];
	static const char hexd[] = "0123456789abcdef";
	for (int i = 0; i < 8; i++)
		s[i] = hexd[(v >> (28 - 4 * i)) & 0x0f];
	s[8] = '\0';
	return json_object_new_string(s);
}

/* The object of a device event that starts with deduplicationId, time and
 * deviceInfo (join, ack, status); NULL when out of memory. */
static struct json_object *dedup_event(const uint8_t dedup_id[16], int64_t time_us,
				       const struct ev_device *dev, int *err)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	event_json__add(o, "deduplicationId", event_json__uuid(dedup_id), err);
	event_json__add_time(o, "time", time_us, err);
	add_device(o, dev, err);
	return o;
}

int event_json_join(const struct ev_join *ev, char *out, size_t cap, size_t *len)
{
	int err = LB_OK;

	if (!ev || !ev->dev || !out || !len)
		return LB_ERR_INVAL;
	struct json_object *o = dedup_event(ev->dedup_id, ev->time_us, ev->dev, &err);
	if (!o)
		return LB_ERR_NOMEM;
	event_json__add(o, "devAddr", hex32(ev->dev_addr), &err);
	event_json__add(o, "regionConfigId", event_json__string(ev->region_config_id), &err);
	return event_json__finish(o, err, out, cap, len);
}

int event_json_ack(const struct ev_ack *ev, char *out, size_t cap, size_t *len)
{
	int err = LB_OK;

	if (!ev || !ev->dev || !out || !len)
		return LB_ERR_INVAL;
	struct json_object *o = dedup_event(ev->dedup_id, ev->time_us, ev->dev, &err);
	if (!o)
		return LB_ERR_NOMEM;
	event_json__add(o, "queueItemId", event_json__string(ev->queue_item_id), &err);
	event_json__add(o, "acknowledged", json_object_new_boolean(ev->acknowledged), &err);
	event_json__add(o, "fCntDown", json_object_new_int64(ev->fcnt_down), &err);
	return event_json__finish(o, err, out, cap, len);
}

#define BATTERY_EXTERNAL 0            /* DevStatusAns Battery (TS001-1.0.4 §5.5) */
#define BATTERY_UNKNOWN 255
#define BATTERY_FULL 254.0f

float event_json_battery_percent(uint8_t battery)
{
	if (battery == BATTERY_EXTERNAL || battery == BATTERY_UNKNOWN)
		return 0.0f;
	return (float)battery / BATTERY_FULL * 100.0f;
}

int event_json_status(const struct ev_status *ev, char *out, size_t cap, size_t *len)
{
	int err = LB_OK;

	if (!ev || !ev->dev || !out || !len)
		return LB_ERR_INVAL;
	struct json_object *o = dedup_event(ev->dedup_id, ev->time_us, ev->dev, &err);
	if (!o)
		return LB_ERR_NOMEM;
	event_json__add(o, "margin", json_object_new_int(ev->margin), &err);
	event_json__add(o, "externalPowerSource",
			json_object_new_boolean(ev->battery == BATTERY_EXTERNAL), &err);
	event_json__add(o, "batteryLevelUnavailable",
			json_object_new_boolean(ev->battery == BATTERY_UNKNOWN), &err);
	event_json__add(o, "batteryLevel",
			event_json__number(event_json_battery_percent(ev->battery), true), &err);
	return event_json__finish(o, err, out, cap, len);
}

int event_json_mac_state(const struct ev_mac_state *st, char *out, size_t cap, size_t *len)
{
	int err = LB_OK;

	if (!st || !out || !len)
		return LB_ERR_INVAL;
	struct json_object *o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	event_json__add(o, "dr", st->dr >= 0 ? json_object_new_int(st->dr) : NULL, &err);
	event_json__add(o, "txPower", json_object_new_int(st->tx_power), &err);
	event_json__add(o, "nbTrans", json_object_new_int(st->nb_trans), &err);
	event_json__add(o, "adr", json_object_new_boolean(st->adr), &err);
	event_json__add(o, "networkAdr", json_object_new_boolean(st->network_adr), &err);
	event_json__add(o, "adrBackoff", json_object_new_boolean(st->adr_backoff), &err);
	return event_json__finish(o, err, out, cap, len);
}

static struct json_object *attempts_json(const struct ev_txack *ev, int *err)
{
	struct json_object *a = json_object_new_array();
	if (!a)
		return NULL;
	for (size_t i = 0; i < ev->n_attempts; i++) {
		const struct ev_txack_attempt *at = &ev->attempts[i];
		struct json_object *o = json_object_new_object();
		if (!o) {
			*err = LB_ERR_NOMEM;
			break;
		}
		event_json__add(o, "window", event_json__string(at->window), err);
		event_json__add(o, "status", event_json__string(at->status), err);
		event_json__add(o, "frequency", json_object_new_int64(at->frequency), err);
		if (at->dr >= 0)
			event_json__add(o, "dr", json_object_new_int(at->dr), err);
		if (json_object_array_add(a, o) != 0) {
			json_object_put(o);
			*err = LB_ERR_NOMEM;
		}
	}
	return a;
}

/* protobuf Duration JSON as pbjson prints it: "1s", "1.500s". */
static struct json_object *duration(uint32_t us)
{
	char buf[32];

	if (us % US_PER_S == 0)
		snprintf(buf, sizeof(buf), "%" PRIu32 "s", us / US_PER_S);
	else if (us % 1000 == 0)
		snprintf(buf, sizeof(buf), "%" PRIu32 ".%03" PRIu32 "s", us / US_PER_S,
			 us % US_PER_S / 1000);
	else
		snprintf(buf, sizeof(buf), "%" PRIu32 ".%06" PRIu32 "s", us / US_PER_S,
			 us % US_PER_S);
	return json_object_new_string(buf);
}

static const char *code_rate(uint8_t cr)
{
	static const char *const names[] = {"CR_UNDEFINED", "CR_4_5", "CR_4_6", "CR_4_7", "CR_4_8"};
	return cr < sizeof(names) / sizeof(names[0]) ? names[cr] : "CR_UNDEFINED";
}

/* gw.proto Modulation of a txpk. gw messages are rendered without
 * emit_fields: a false polarizationInversion is left out. */
static struct json_object *tx_modulation(const struct gwmp_txpk *pk, int *err)
{
	struct json_object *m = json_object_new_object(), *p = json_object_new_object();

	if (pk->modu == GWMP_MOD_FSK) {
		if (pk->fdev)
			event_json__add(p, "frequencyDeviation", json_object_new_int64(pk->fdev), err);
		event_json__add(p, "datarate", json_object_new_int64(pk->bitrate), err);
		event_json__add(m, "fsk", p, err);
		return m;
	}
	event_json__add(p, "bandwidth", json_object_new_int64((int64_t)pk->bw_khz * 1000), err);
	event_json__add(p, "spreadingFactor", json_object_new_int(pk->sf), err);
	event_json__add(p, "codeRate", json_object_new_string(code_rate(pk->cr)), err);
	if (pk->ipol)
		event_json__add(p, "polarizationInversion", json_object_new_boolean(true), err);
	event_json__add(m, "lora", p, err);
	return m;
}

static struct json_object *tx_timing(const struct ev_tx_info *tx, int *err)
{
	struct json_object *t = json_object_new_object(), *p = json_object_new_object();

	if (tx->delay_us == 0) {
		event_json__add(t, "immediately", p, err);
		return t;
	}
	event_json__add(p, "delay", duration(tx->delay_us), err);
	event_json__add(t, "delay", p, err);
	return t;
}

static struct json_object *tx_context(uint32_t tmst)
{
	uint8_t be[LEN_CONTEXT] = {(uint8_t)(tmst >> 24), (uint8_t)(tmst >> 16),
				   (uint8_t)(tmst >> 8), (uint8_t)tmst};
	return event_json__base64(be, sizeof(be));
}

/* gw.proto DownlinkTxInfo: frequency, power, modulation, timing, context
 * (board and antenna 0: left out, as pbjson leaves defaults of gw
 * messages out). */
static struct json_object *tx_info(const struct ev_tx_info *tx, int *err)
{
	struct json_object *o = json_object_new_object();
	const struct gwmp_txpk *pk = tx->txpk;

	event_json__add(o, "frequency", json_object_new_int64(pk->freq_hz), err);
	if (pk->powe != 0)
		event_json__add(o, "power", json_object_new_int(pk->powe), err);
	event_json__add(o, "modulation", tx_modulation(pk, err), err);
	event_json__add(o, "timing", tx_timing(tx, err), err);
	if (tx->delay_us > 0)
		event_json__add(o, "context", tx_context(tx->context_tmst), err);
	return o;
}

int event_json_txack(const struct ev_txack *ev, char *out, size_t cap, size_t *len)
{
	int err = LB_OK;

	if (!ev || !ev->dev || !ev->tx.txpk || (ev->n_attempts && !ev->attempts) || !out || !len)
		return LB_ERR_INVAL;
	struct json_object *o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	event_json__add(o, "downlinkId", json_object_new_int64(ev->downlink_id), &err);
	event_json__add_time(o, "time", ev->time_us, &err);
	add_device(o, ev->dev, &err);
	event_json__add(o, "queueItemId", event_json__string(ev->queue_item_id), &err);
	event_json__add(o, "fCntDown", json_object_new_int64(ev->fcnt_down), &err);
	event_json__add(o, "gatewayId", event_json__eui(ev->gateway_eui), &err);
	event_json__add(o, "txInfo", tx_info(&ev->tx, &err), &err);
	event_json__add(o, "attempts", attempts_json(ev, &err), &err);
	return event_json__finish(o, err, out, cap, len);
}
