/* SPDX-License-Identifier: MIT */
/*
 * event_json_dl.c - device events of the downlink side: `join`, `ack`,
 * `txack`, `status` and the retained state/mac message, in ChirpStack v4's
 * integration JSON shape (integration.proto JoinEvent, AckEvent,
 * TxAckEvent, StatusEvent; camelCase, defaults emitted), written with the
 * pieces of event_json_w.h. Pure, like the rest of event_json (see
 * event_json.h).
 */
#include "events/event_json.h"

#include <string.h>

#include "events/event_json_w.h"
#include "base/jsonw.h"
#include "base/lb_err.h"

#define US_PER_S 1000000u

/* Opens a device event that starts with deduplicationId, time and
 * deviceInfo (join, ack, status); the caller closes it. */
static void dedup_event(struct ew *e, const uint8_t dedup_id[16], int64_t time_us,
			const struct ev_device *dev)
{
	jsonw_open(&e->w, '{');
	ew_uuid(e, "deduplicationId", dedup_id);
	ew_time(e, "time", time_us);
	ew_device_info(e, dev);
}

int event_json_join(const struct ev_join *ev, char *out, size_t cap, size_t *len)
{
	struct ew e;

	if (!ev || !ew_device_valid(ev->dev) || !out || !len)
		return LB_ERR_INVAL;
	ew_init(&e, out, cap);
	dedup_event(&e, ev->dedup_id, ev->time_us, ev->dev);
	ew_hex32(&e, "devAddr", ev->dev_addr);
	jsonw_key(&e.w, "regionConfigId");
	jsonw_str(&e.w, ev->region_config_id);
	jsonw_close(&e.w, '}');
	return ew_finish(&e, out, cap, len);
}

int event_json_ack(const struct ev_ack *ev, char *out, size_t cap, size_t *len)
{
	struct ew e;

	if (!ev || !ew_device_valid(ev->dev) || !out || !len)
		return LB_ERR_INVAL;
	ew_init(&e, out, cap);
	dedup_event(&e, ev->dedup_id, ev->time_us, ev->dev);
	jsonw_key(&e.w, "queueItemId");
	jsonw_str(&e.w, ev->queue_item_id);
	jsonw_key(&e.w, "acknowledged");
	jsonw_bool(&e.w, ev->acknowledged);
	jsonw_key(&e.w, "fCntDown");
	jsonw_u64(&e.w, ev->fcnt_down);
	jsonw_close(&e.w, '}');
	return ew_finish(&e, out, cap, len);
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
	struct ew e;

	if (!ev || !ew_device_valid(ev->dev) || !out || !len)
		return LB_ERR_INVAL;
	ew_init(&e, out, cap);
	dedup_event(&e, ev->dedup_id, ev->time_us, ev->dev);
	jsonw_key(&e.w, "margin");
	jsonw_i64(&e.w, ev->margin);
	jsonw_key(&e.w, "externalPowerSource");
	jsonw_bool(&e.w, ev->battery == BATTERY_EXTERNAL);
	jsonw_key(&e.w, "batteryLevelUnavailable");
	jsonw_bool(&e.w, ev->battery == BATTERY_UNKNOWN);
	/* a float32 in ChirpStack, as its serde_json writes it ("50.0") */
	jsonw_key(&e.w, "batteryLevel");
	jsonw_serde_f32(&e.w, event_json_battery_percent(ev->battery));
	jsonw_close(&e.w, '}');
	return ew_finish(&e, out, cap, len);
}

int event_json_mac_state(const struct ev_mac_state *st, char *out, size_t cap, size_t *len)
{
	struct ew e;

	if (!st || !out || !len)
		return LB_ERR_INVAL;
	ew_init(&e, out, cap);
	jsonw_open(&e.w, '{');
	jsonw_key(&e.w, "dr");
	if (st->dr >= 0)
		jsonw_i64(&e.w, st->dr);
	else
		jsonw_raw(&e.w, "null", 4);      /* unknown: no uplink's data rate yet */
	jsonw_key(&e.w, "txPower");
	jsonw_i64(&e.w, st->tx_power);
	jsonw_key(&e.w, "nbTrans");
	jsonw_i64(&e.w, st->nb_trans);
	jsonw_key(&e.w, "adr");
	jsonw_bool(&e.w, st->adr);
	jsonw_key(&e.w, "networkAdr");
	jsonw_bool(&e.w, st->network_adr);
	jsonw_key(&e.w, "adrBackoff");
	jsonw_bool(&e.w, st->adr_backoff);
	jsonw_close(&e.w, '}');
	return ew_finish(&e, out, cap, len);
}

static void w_attempts(struct ew *e, const struct ev_txack *ev)
{
	struct jsonw *w = &e->w;

	jsonw_key(w, "attempts");
	jsonw_open(w, '[');
	for (size_t i = 0; i < ev->n_attempts; i++) {
		const struct ev_txack_attempt *at = &ev->attempts[i];
		jsonw_open(w, '{');
		jsonw_key(w, "window");
		jsonw_str(w, at->window);
		jsonw_key(w, "status");
		jsonw_str(w, at->status);
		jsonw_key(w, "frequency");
		jsonw_u64(w, at->frequency);
		if (at->dr >= 0) {
			jsonw_key(w, "dr");
			jsonw_i64(w, at->dr);
		}
		jsonw_close(w, '}');
	}
	jsonw_close(w, ']');
}

/* protobuf Duration JSON as pbjson prints it: "1s", "1.500s", "0.000250s". */
static void w_duration(struct ew *e, const char *key, uint32_t us)
{
	char s[JSONW_NUM_MAX + 8];
	size_t n = jsonw_fmt_u64(s, us / US_PER_S);
	uint32_t frac = us % US_PER_S;

	if (frac != 0 && frac % 1000 == 0) {
		s[n++] = '.';
		jsonw_fmt_pad(s + n, frac / 1000, 3);
		n += 3;
	} else if (frac != 0) {
		s[n++] = '.';
		jsonw_fmt_pad(s + n, frac, 6);
		n += 6;
	}
	s[n++] = 's';
	jsonw_keyn(&e->w, key, strlen(key));
	jsonw_strn(&e->w, s, n);
}

/* gw.proto Modulation of a txpk. gw messages are rendered without
 * emit_fields: a false polarizationInversion is left out. */
static void w_tx_modulation(struct jsonw *w, const struct gwmp_txpk *pk)
{
	jsonw_key(w, "modulation");
	jsonw_open(w, '{');
	if (pk->modu == GWMP_MOD_FSK) {
		jsonw_key(w, "fsk");
		jsonw_open(w, '{');
		if (pk->fdev) {
			jsonw_key(w, "frequencyDeviation");
			jsonw_i64(w, pk->fdev);
		}
		jsonw_key(w, "datarate");
		jsonw_i64(w, pk->bitrate);
	} else {
		ew_lora_open(w, pk->bw_khz, pk->sf, pk->cr);
		if (pk->ipol) {
			jsonw_key(w, "polarizationInversion");
			jsonw_bool(w, true);
		}
	}
	jsonw_close(w, '}');
	jsonw_close(w, '}');
}

/* gw.proto DownlinkTxInfo: frequency, power, modulation, timing, context
 * (board and antenna 0: left out, as pbjson leaves defaults of gw
 * messages out). */
static void w_tx_info(struct ew *e, const struct ev_tx_info *tx)
{
	struct jsonw *w = &e->w;
	const struct gwmp_txpk *pk = tx->txpk;

	jsonw_key(w, "txInfo");
	jsonw_open(w, '{');
	jsonw_key(w, "frequency");
	jsonw_u64(w, pk->freq_hz);
	if (pk->powe != 0) {
		jsonw_key(w, "power");
		jsonw_i64(w, pk->powe);
	}
	w_tx_modulation(w, pk);
	jsonw_key(w, "timing");
	jsonw_open(w, '{');
	if (tx->delay_us == 0) {
		jsonw_key(w, "immediately");
		jsonw_open(w, '{');
	} else {
		jsonw_key(w, "delay");
		jsonw_open(w, '{');
		w_duration(e, "delay", tx->delay_us);
	}
	jsonw_close(w, '}');
	jsonw_close(w, '}');
	if (tx->delay_us > 0)
		ew_context(e, "context", tx->context_tmst);
	jsonw_close(w, '}');
}

int event_json_txack(const struct ev_txack *ev, char *out, size_t cap, size_t *len)
{
	struct ew e;

	if (!ev || !ew_device_valid(ev->dev) || !ev->tx.txpk || (ev->n_attempts && !ev->attempts) ||
	    !out || !len)
		return LB_ERR_INVAL;
	ew_init(&e, out, cap);
	jsonw_open(&e.w, '{');
	jsonw_key(&e.w, "downlinkId");
	jsonw_u64(&e.w, ev->downlink_id);
	ew_time(&e, "time", ev->time_us);
	ew_device_info(&e, ev->dev);
	jsonw_key(&e.w, "queueItemId");
	jsonw_str(&e.w, ev->queue_item_id);
	jsonw_key(&e.w, "fCntDown");
	jsonw_u64(&e.w, ev->fcnt_down);
	ew_eui(&e, "gatewayId", ev->gateway_eui);
	w_tx_info(&e, &ev->tx);
	w_attempts(&e, ev);
	jsonw_close(&e.w, '}');
	return ew_finish(&e, out, cap, len);
}
