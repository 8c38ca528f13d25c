/* SPDX-License-Identifier: MIT */
/*
 * event_json_w.c - the events of every uplink (`up`, the gateway `up`, the
 * fair-access state) and `log`, written straight into the caller's buffer
 * with base/jsonw.h: no json-c tree, no allocation, no printf per number
 * (the text json-c would print for the same tree: same key order, escapes
 * and number rules, jsonw.h). The shared pieces (deviceInfo, times, EUIs,
 * base64) are those of event_json_w.h, which the other events
 * (event_json_dl.c, event_json_gw.c) are written with too. See
 * event_json.h.
 *
 * Error handling: see event_json_w.h (sticky e->err, checked once by
 * ew_finish()).
 */
#include "events/event_json_w.h"

#include <math.h>
#include <string.h>

#include <json-c/json.h>

#include "base/b64.h"
#include "base/hex.h"
#include "base/lb_err.h"
#include "base/uuid.h"
#include "lorawan/maccmd.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

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

void ew_init(struct ew *e, char *out, size_t cap)
{
	jsonw_init(&e->w, out, cap);
	e->err = LB_OK;
	event_json_time_memo_init(&e->time_memo);
}

void ew_fail(struct ew *e, int rc)
{
	if (e->err == LB_OK)
		e->err = rc;
}

int ew_finish(struct ew *e, char *out, size_t cap, size_t *len)
{
	int rc = jsonw_finish(&e->w, len);

	if (e->err != LB_OK) {
		*len = 0;
		if (cap > 0)
			out[0] = '\0';
		return e->err;
	}
	return rc;
}

bool ew__time_text(struct ew *e, int64_t unix_us, char t[EVENT_JSON_TIME_LEN], size_t *n)
{
	int rc = event_json_format_time_memo(unix_us, t, &e->time_memo);

	if (rc != LB_OK) {
		ew_fail(e, rc);
		return false;
	}
	*n = strlen(t);
	return true;
}

bool ew__base64_text(struct ew *e, const uint8_t *p, size_t n,
		     char s[B64_ENCODED_LEN(LW_MAX_PHY) + 1], size_t *k)
{
	const size_t cap = B64_ENCODED_LEN(LW_MAX_PHY) + 1;

	*k = 0;
	if (n > LW_MAX_PHY || (n > 0 && (*k = b64_encode(p, n, s, cap)) == 0)) {
		ew_fail(e, LB_ERR_NOMEM);   /* no text for it: the event is not written */
		return false;
	}
	return true;
}

void ew_context_q(struct ew *e, const char *qkey, size_t qn, uint32_t tmst)
{
	uint8_t be[LEN_CONTEXT] = {(uint8_t)(tmst >> 24), (uint8_t)(tmst >> 16),
				   (uint8_t)(tmst >> 8), (uint8_t)tmst};

	ew_base64_q(e, qkey, qn, be, sizeof(be));
}

/* A json-c value (a codec's object, macCommands) as json-c prints it;
 * where its text went into *at (NULL: not asked). */
static void w_tree(struct ew *e, const char *key, struct json_object *o, struct ev_span *at)
{
	size_t n = 0;
	const char *s = json_object_to_json_string_length(o, JSON_FLAGS, &n);

	if (!s) {
		ew_fail(e, LB_ERR_NOMEM);
		return;
	}
	jsonw_keyn(&e->w, key, strlen(key));
	if (at)
		*at = (struct ev_span){.off = e->w.len, .len = n};
	jsonw_raw(&e->w, s, n);
}

/* --- rxInfo / txInfo / deviceInfo ------------------------------------------ */

/* protobuf Duration JSON of GPS milliseconds: "1399713185.318s" / "12s". */
static void w_gps_duration(struct ew *e, uint64_t ms)
{
	char s[JSONW_NUM_MAX + 8];
	size_t n = jsonw_fmt_u64(s, ms / 1000);

	if (ms % 1000 != 0) {
		s[n++] = '.';
		jsonw_fmt_pad(s + n, (unsigned)(ms % 1000), 3);
		n += 3;
	}
	s[n++] = 's';
	jsonw_key(&e->w, "timeSinceGpsEpoch");
	jsonw_strn_plain(&e->w, s, n);
}

static const char *crc_status(int stat)
{
	if (stat == 1)
		return "CRC_OK";
	if (stat == -1)
		return "BAD_CRC";
	return "NO_CRC";
}

/* The members of a Location object as the gateway `stats` event writes
 * it, without its key. */
static void w_location_value(struct jsonw *w, const struct ev_location *loc, const char *source)
{
	jsonw_open(w, '{');
	jsonw_key(w, "latitude");
	jsonw_number(w, loc->latitude, false);
	jsonw_key(w, "longitude");
	jsonw_number(w, loc->longitude, false);
	if (loc->has_altitude) {
		jsonw_key(w, "altitude");
		jsonw_number(w, loc->altitude, false);
	}
	if (source) {
		jsonw_key(w, "source");
		jsonw_str(w, source);
	}
	jsonw_close(w, '}');
}

void ew_location(struct jsonw *w, const struct ev_location *loc, const char *source)
{
	jsonw_key(w, "location");
	w_location_value(w, loc, source);
}

/* One number of rxInfo `location` as ChirpStack writes it: its protobuf
 * JSON (pbjson) leaves out a field holding the proto3 default, 0, and
 * serde_json writes the f64 ("46.0", "0.00005"). */
static void w_rx_coordinate(struct jsonw *w, const char *quoted, size_t qn, double v)
{
	if (v == 0)
		return;
	jsonw_keyq(w, quoted, qn);
	jsonw_serde(w, v);
}

#define w_rx_coordinate_key(w, key, v) w_rx_coordinate((w), "\"" key "\":", sizeof(key) + 2, (v))

/* The value of rxInfo `location` (common.proto Location, source not set). */
static void w_rx_location_value(struct jsonw *w, const struct ev_location *loc)
{
	jsonw_open(w, '{');
	w_rx_coordinate_key(w, "latitude", loc->latitude);
	w_rx_coordinate_key(w, "longitude", loc->longitude);
	if (loc->has_altitude)
		w_rx_coordinate_key(w, "altitude", loc->altitude);
	jsonw_close(w, '}');
}

int event_json_rx_metadata(const char *config_id, const char *common_name, char *out,
			   size_t cap, size_t *len)
{
	struct jsonw w;

	if (!config_id || !common_name || !out || !len)
		return LB_ERR_INVAL;
	jsonw_init(&w, out, cap);
	jsonw_open(&w, '{');
	jsonw_key(&w, "region_config_id");
	jsonw_str(&w, config_id);
	jsonw_key(&w, "region_common_name");
	jsonw_str(&w, common_name);
	jsonw_close(&w, '}');
	return jsonw_finish(&w, len);
}

/* What an `up` event adds to a reception (event_json.h); the gateway `up`
 * event has neither. */
struct rx_extra {
	const struct ev_location *loc;  /* NULL or !known: no location */
	bool serde;                     /* floats as ChirpStack's serde_json writes them */
	bool metadata;                  /* write metadata: text (NULL = {}) */
	const char *text;
	size_t len;
};

/* A position to write: known, and numbers JSON can carry. */
static bool location_usable(const struct ev_location *loc)
{
	return loc->known && isfinite(loc->latitude) && isfinite(loc->longitude) &&
	       (!loc->has_altitude || isfinite(loc->altitude));
}

int event_json_location(const struct ev_location *loc, char *out, size_t cap, size_t *len)
{
	struct jsonw w;

	if (!loc || !out || !len || !location_usable(loc))
		return LB_ERR_INVAL;
	jsonw_init(&w, out, cap);
	w_rx_location_value(&w, loc);
	return jsonw_finish(&w, len);
}

/* rxInfo location: the cached text when there is one. */
static void w_rx_location(struct jsonw *w, const struct ev_location *loc)
{
	jsonw_key(w, "location");
	if (!loc->text)
		w_rx_location_value(w, loc);
	else
		jsonw_raw(w, loc->text, loc->text_len);
}

static void w_rx_info(struct ew *e, const struct lb_rx *rx, const struct rx_extra *x)
{
	const struct gwmp_rxpk *pk = &rx->rxpk;

	jsonw_open(&e->w, '{');
	ew_eui(e, "gatewayId", rx->gateway_eui);
	jsonw_member_i64(&e->w, "uplinkId", rx->uplink_id);
	/* `time` is the field of ChirpStack's v4 JSON integration before it was
	 * renamed `gwTime`; both are given so either kind of consumer works. */
	if (pk->has_time) {
		char t[EVENT_JSON_TIME_LEN];
		size_t n;
		if (ew__time_text(e, pk->time_us, t, &n)) {
			jsonw_member_plain(&e->w, "time", t, n);
			jsonw_member_plain(&e->w, "gwTime", t, n);
		}
	}
	if (rx->received_us > 0)
		ew_time(e, "nsTime", rx->received_us);
	if (pk->has_tmms)
		w_gps_duration(e, pk->tmms);
	if (pk->has_rssi)
		jsonw_member_i64(&e->w, "rssi", pk->rssi);
	if (pk->has_lsnr && isfinite(pk->lsnr)) {
		jsonw_key(&e->w, "snr");
		if (x->serde)
			jsonw_serde_f32(&e->w, pk->lsnr);  /* gw.proto float: "8.0" */
		else
			jsonw_number(&e->w, pk->lsnr, true);
	}
	jsonw_member_i64(&e->w, "channel", pk->chan);
	jsonw_member_i64(&e->w, "rfChain", pk->rfch);
	if (x->loc && location_usable(x->loc))
		w_rx_location(&e->w, x->loc);
	ew_context(e, "context", pk->tmst);
	if (x->metadata) {
		jsonw_key(&e->w, "metadata");
		if (x->text)
			jsonw_raw(&e->w, x->text, x->len);
		else
			jsonw_raw(&e->w, "{}", 2);
	}
	const char *crc = crc_status(pk->stat);
	jsonw_member_plain(&e->w, "crcStatus", crc, strlen(crc));
	jsonw_close(&e->w, '}');
}

/* gw.proto CodeRate names; gwmp keeps 4/5..4/8 as 1..4, 0 for "OFF"/absent. */
static const char *code_rate_name(uint8_t cr)
{
	static const char *const names[] = {"CR_UNDEFINED", "CR_4_5", "CR_4_6", "CR_4_7", "CR_4_8"};
	return cr < sizeof(names) / sizeof(names[0]) ? names[cr] : "CR_UNDEFINED";
}

void ew_lora_open(struct jsonw *w, uint16_t bw_khz, uint8_t sf, uint8_t cr)
{
	jsonw_key(w, "lora");
	jsonw_open(w, '{');
	jsonw_member_i64(w, "bandwidth", (int64_t)bw_khz * 1000);
	jsonw_member_i64(w, "spreadingFactor", sf);
	const char *name = code_rate_name(cr);
	jsonw_member_plain(w, "codeRate", name, strlen(name));
}

static void w_tx_info(struct ew *e, const struct gwmp_rxpk *pk)
{
	struct jsonw *w = &e->w;

	jsonw_open(w, '{');
	jsonw_member_i64(w, "frequency", pk->freq_hz);
	jsonw_key(w, "modulation");
	jsonw_open(w, '{');
	switch (pk->modu) {
	case GWMP_MOD_LORA:
		ew_lora_open(w, pk->bw_khz, pk->sf, pk->cr);
		jsonw_close(w, '}');
		break;
	case GWMP_MOD_FSK:
		jsonw_key(w, "fsk");
		jsonw_open(w, '{');
		jsonw_key(w, "datarate");
		jsonw_i64(w, pk->bitrate);
		jsonw_close(w, '}');
		break;
	case GWMP_MOD_LRFHSS:
		jsonw_key(w, "lrFhss");
		jsonw_open(w, '{');
		jsonw_close(w, '}');
		break;
	default:
		break;
	}
	jsonw_close(w, '}');
	jsonw_close(w, '}');
}

bool ew_device_valid(const struct ev_device *dev)
{
	if (!dev || (dev->n_tags > 0 && !dev->tags))
		return false;
	for (size_t i = 0; i < dev->n_tags; i++)
		if (!dev->tags[i].key)
			return false;
	return true;
}

/* tags: a key given twice keeps its first place and its last value, as
 * json-c's json_object_object_add() replacing a value does. */
static void w_tags(struct ew *e, const struct ev_device *dev)
{
	jsonw_key(&e->w, "tags");
	jsonw_open(&e->w, '{');
	for (size_t i = 0; i < dev->n_tags; i++) {
		const char *key = dev->tags[i].key;
		size_t j, last = i;
		for (j = 0; j < i && strcmp(dev->tags[j].key, key) != 0; j++)
			;
		if (j < i)
			continue;          /* printed at its first place */
		for (j = i + 1; j < dev->n_tags; j++)
			if (strcmp(dev->tags[j].key, key) == 0)
				last = j;
		jsonw_key_esc(&e->w, key);
		jsonw_str(&e->w, dev->tags[last].value);
	}
	jsonw_close(&e->w, '}');
}

/* DeviceInfo's members that many devices share: tenant, application,
 * device profile. */
static void w_device_head(struct jsonw *w, const struct ev_device *dev)
{
	jsonw_key(w, "tenantId");
	jsonw_str(w, dev->tenant_id);
	jsonw_key(w, "tenantName");
	jsonw_str(w, dev->tenant_name);
	jsonw_key(w, "applicationId");
	jsonw_str(w, dev->application_id);
	jsonw_key(w, "applicationName");
	jsonw_str(w, dev->application);
	jsonw_key(w, "deviceProfileId");
	jsonw_str(w, dev->profile_id);
	jsonw_key(w, "deviceProfileName");
	jsonw_str(w, dev->profile_name);
}

int event_json_device_head(const struct ev_device *dev, char *out, size_t cap, size_t *len)
{
	struct jsonw w;

	if (!dev || !out || !len)
		return LB_ERR_INVAL;
	jsonw_init(&w, out, cap);
	w_device_head(&w, dev);
	return jsonw_finish(&w, len);
}

/* integration.proto DeviceInfo, in its declaration order. */
void ew_device_info(struct ew *e, const struct ev_device *dev)
{
	struct jsonw *w = &e->w;

	jsonw_key(w, "deviceInfo");
	jsonw_open(w, '{');
	if (dev->head)
		jsonw_raw(w, dev->head, dev->head_len);
	else
		w_device_head(w, dev);
	jsonw_key(w, "deviceName");
	jsonw_str(w, dev->name);
	ew_eui(e, "devEui", dev->dev_eui);
	jsonw_key(w, "deviceClassEnabled");
	jsonw_str(w, dev->device_class ? dev->device_class : "CLASS_A");
	w_tags(e, dev);
	jsonw_close(w, '}');
}

static void w_fair_access(struct ew *e, const struct ev_fair_access *fa)
{
	struct jsonw *w = &e->w;

	jsonw_open(w, '{');
	jsonw_key(w, "uplinkAirtimeMs");
	jsonw_fixed(w, fa->uplink_airtime_ms, 3);
	jsonw_key(w, "uplinkBudgetMs");
	jsonw_fixed(w, fa->uplink_budget_ms, 3);
	jsonw_member_i64(w, "downlinks", fa->downlinks);
	jsonw_member_i64(w, "downlinkBudget", fa->downlink_budget);
	jsonw_key(w, "exceeded");
	jsonw_bool(w, fa->exceeded);
	jsonw_close(w, '}');
}

/* --- events ---------------------------------------------------------------- */

static bool uplink_valid(const struct ev_uplink *ev)
{
	if (!ew_device_valid(ev->dev) || !ev->rx || ev->n_rx == 0)
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

/* macCommands: parsed uplink MAC commands; a cut-short list still goes out,
 * ending with its {"error", "unparsed"} marker (maccmd.h). */
static void w_mac_commands(struct ew *e, const uint8_t *mac, size_t n)
{
	struct json_object *arr = NULL;
	int rc = maccmd_json(mac, n, LW_DIR_UP, &arr);

	if (rc == LB_ERR_UNKNOWN_TYPE || rc == LB_ERR_TOO_SHORT)
		rc = LB_OK;
	if (rc == LB_OK)
		w_tree(e, "macCommands", arr, NULL);
	else
		ew_fail(e, rc);
	json_object_put(arr);
}

int event_json_uplink(const struct ev_uplink *ev, char *out, size_t cap, size_t *len)
{
	return event_json_uplink_at(ev, out, cap, len, NULL);
}

int event_json_uplink_at(const struct ev_uplink *ev, char *out, size_t cap, size_t *len,
			 struct ev_span *object)
{
	struct ew e;
	struct ev_span at = {0};

	if (object)
		*object = at;
	if (!ev || !out || !len)
		return LB_ERR_INVAL;
	if (!uplink_valid(ev))
		return LB_ERR_INVAL;
	ew_init(&e, out, cap);
	/* integration.proto UplinkEvent in its declaration order, defaults
	 * emitted (dr, fPort 0, data ""), as ChirpStack >= 4.1 renders it;
	 * relayRxInfo and joinServerContext are never set, so never present.
	 * lorabridge's own fields come last. */
	jsonw_open(&e.w, '{');
	ew_uuid(&e, "deduplicationId", ev->dedup_id);
	ew_time(&e, "time", ev->time_us);
	ew_device_info(&e, ev->dev);
	ew_hex32(&e, "devAddr", ev->dev_addr);
	jsonw_key(&e.w, "adr");
	jsonw_bool(&e.w, ev->adr);
	jsonw_member_i64(&e.w, "dr", ev->dr >= 0 ? ev->dr : 0);
	jsonw_member_i64(&e.w, "fCnt", ev->fcnt);
	jsonw_member_i64(&e.w, "fPort", ev->has_fport ? ev->fport : 0);
	jsonw_key(&e.w, "confirmed");
	jsonw_bool(&e.w, ev->confirmed);
	ew_base64(&e, "data", ev->data, ev->data_len);
	if (ev->object)
		w_tree(&e, "object", ev->object, &at);
	jsonw_key(&e.w, "rxInfo");
	jsonw_open(&e.w, '[');
	struct rx_extra x = {.serde = true, .metadata = true, .text = ev->rx_metadata,
			     .len = ev->rx_metadata_len};
	for (size_t i = 0; i < ev->n_rx; i++) {
		x.loc = ev->rx_location ? &ev->rx_location[i] : NULL;
		w_rx_info(&e, &ev->rx[i], &x);
	}
	jsonw_close(&e.w, ']');
	jsonw_key(&e.w, "txInfo");
	w_tx_info(&e, &ev->rx[0].rxpk);
	jsonw_key(&e.w, "regionConfigId");
	jsonw_str(&e.w, ev->region_config_id);
	if (ev->mac_len > 0)
		w_mac_commands(&e, ev->mac, ev->mac_len);
	if (ev->has_airtime) {
		jsonw_key(&e.w, "airtimeMs");
		jsonw_fixed(&e.w, ev->airtime_ms, 3);
	}
	if (ev->fair_access) {
		jsonw_key(&e.w, "fairAccess");
		w_fair_access(&e, ev->fair_access);
	}
	jsonw_close(&e.w, '}');
	int rc = ew_finish(&e, out, cap, len);
	if (rc == LB_OK && object)
		*object = at;
	return rc;
}

int event_json_gateway_up(const struct lb_rx *rx, char *out, size_t cap, size_t *len)
{
	struct ew e;

	if (!rx || !out || !len || rx->rxpk.size > GWMP_MAX_PHY)
		return LB_ERR_INVAL;
	ew_init(&e, out, cap);
	jsonw_open(&e.w, '{');
	ew_base64(&e, "phyPayload", rx->rxpk.data, rx->rxpk.size);
	jsonw_key(&e.w, "txInfo");
	w_tx_info(&e, &rx->rxpk);
	jsonw_key(&e.w, "rxInfo");
	w_rx_info(&e, rx, &(struct rx_extra){0});
	jsonw_close(&e.w, '}');
	return ew_finish(&e, out, cap, len);
}

int event_json_fair_access(const struct ev_fair_access *fa, char *out, size_t cap, size_t *len)
{
	struct ew e;

	if (!fa || !out || !len || !isfinite(fa->uplink_airtime_ms) || !isfinite(fa->uplink_budget_ms))
		return LB_ERR_INVAL;
	ew_init(&e, out, cap);
	w_fair_access(&e, fa);
	return ew_finish(&e, out, cap, len);
}

static bool log_valid(const struct ev_log *ev)
{
	if (!ev->level || !ev->code || (ev->dev && !ew_device_valid(ev->dev)))
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

/* context: a key given twice keeps its first place and its last value. */
static void w_log_context(struct ew *e, const struct ev_log *ev)
{
	jsonw_key(&e->w, "context");
	jsonw_open(&e->w, '{');
	for (size_t i = 0; i < ev->n_context; i++) {
		const char *key = ev->context_keys[i];
		size_t j, last = i;
		for (j = 0; j < i && strcmp(ev->context_keys[j], key) != 0; j++)
			;
		if (j < i)
			continue;
		for (j = i + 1; j < ev->n_context; j++)
			if (strcmp(ev->context_keys[j], key) == 0)
				last = j;
		jsonw_key_esc(&e->w, key);
		jsonw_str(&e->w, ev->context_values[last]);
	}
	jsonw_close(&e->w, '}');
}

int event_json_log(const struct ev_log *ev, char *out, size_t cap, size_t *len)
{
	struct ew e;

	if (!ev || !out || !len)
		return LB_ERR_INVAL;
	if (!log_valid(ev))
		return LB_ERR_INVAL;
	ew_init(&e, out, cap);
	jsonw_open(&e.w, '{');
	ew_time(&e, "time", ev->time_us);
	if (ev->dev)
		ew_device_info(&e, ev->dev);
	jsonw_key(&e.w, "level");
	jsonw_str(&e.w, ev->level);
	jsonw_key(&e.w, "code");
	jsonw_str(&e.w, ev->code);
	jsonw_key(&e.w, "description");
	jsonw_str(&e.w, ev->description);
	/* a map: ChirpStack >= 4.1 writes it even when empty */
	w_log_context(&e, ev);
	jsonw_close(&e.w, '}');
	return ew_finish(&e, out, cap, len);
}
