/* SPDX-License-Identifier: MIT */
/*
 * event_json.h - the JSON events lorabridge publishes (pure: structs in,
 * JSON text out; no I/O, no clock, no logging, no globals).
 *
 * Field names and value formats are those of ChirpStack v4 (protobuf JSON
 * mapping of chirpstack api integration.proto / gw.proto), so dashboards
 * written for ChirpStack work unchanged:
 *   - EUIs and DevAddr are lowercase hex, MSB first ("0102030405060708");
 *   - times are RFC 3339 UTC with 0, 3 or 6 fraction digits and "+00:00",
 *     as ChirpStack prints protobuf Timestamps
 *     ("2024-05-14T09:12:47.318406+00:00");
 *     durations as "1399713185.318s";
 *   - frequencies and bandwidths in Hz; enums as their names ("CRC_OK",
 *     "CR_4_5"); bytes as padded base64;
 *   - rxInfo `context` = base64 of the 4-byte big-endian concentrator `tmst`,
 *     as the ChirpStack gateway bridge sets it (Semtech UDP backend).
 *
 * Device events (topic application/{app}/device/{devEui}/event/{event}),
 * every field of integration.proto present with its default when unset
 * (ChirpStack >= 4.1), message-typed ones (object, txInfo) only when set;
 * lorabridge's own fields (marked +) last:
 *   deviceInfo {tenantId, tenantName, applicationId, applicationName,
 *         deviceProfileId, deviceProfileName, deviceName, devEui,
 *         deviceClassEnabled, tags}
 *   up   {deduplicationId, time, deviceInfo, devAddr, adr, dr, fCnt, fPort,
 *         confirmed, data, object?, rxInfo[], txInfo, regionConfigId,
 *         +macCommands?, +airtimeMs?, +fairAccess?}
 *   join {deduplicationId, time, deviceInfo, devAddr, regionConfigId}
 *   ack  {deduplicationId, time, deviceInfo, queueItemId, acknowledged,
 *         fCntDown}
 *   status {deduplicationId, time, deviceInfo, margin, externalPowerSource,
 *         batteryLevelUnavailable, batteryLevel}
 *   txack {downlinkId, time, deviceInfo, queueItemId, fCntDown, gatewayId,
 *         txInfo, +attempts}
 *   log  {time, deviceInfo?, level, code, description, context}
 * Gateway events, as the ChirpStack gateway bridge publishes them:
 *   gateway/{id}/event/up      {phyPayload, txInfo, rxInfo}
 *   gateway/{id}/event/stats   {gatewayId, time?, location?, rxPacketsReceived,
 *                               rxPacketsReceivedOk, txPacketsReceived,
 *                               txPacketsEmitted, metadata}
 *   gateway/{id}/state/conn    {gatewayId, state: "ONLINE" | "OFFLINE"}
 *
 * rxInfo (one per reception): gatewayId, uplinkId, gwTime? (the gateway's
 * `time`), nsTime (bridge arrival time), timeSinceGpsEpoch? (`tmms`),
 * rssi?, snr? (LoRa), channel, rfChain, location?, context, metadata?,
 * crcStatus (gw.proto UplinkRxInfo order). In the `up` event only:
 * location {latitude, longitude, altitude?} where the gateway's position is
 * known, as ChirpStack fills it in from the gateway's stored position
 * (no source, no accuracy: ChirpStack leaves them unset); metadata
 * {region_config_id, region_common_name}, the keys ChirpStack's MQTT
 * gateway backend adds to every reception ("eu868", "EU868").
 * txInfo: frequency, modulation {lora {bandwidth, spreadingFactor, codeRate}
 * | fsk {datarate} | lrFhss {}}.
 *
 * Output: every event_json_* function writes NUL-terminated JSON into the
 * caller's buffer `out` (cap bytes) and the length without the NUL into
 * *len. Errors: LB_ERR_TOO_LARGE (cap too small; out[0] = '\0' when cap > 0),
 * LB_ERR_NOMEM (json-c allocation failed: a codec's object or the
 * macCommands of an up event), LB_ERR_INVAL (NULL or inconsistent
 * input, e.g. an up event with no reception), LB_ERR_RANGE (a time outside
 * years 0..9999). Nothing is retained: the input structs only need to live
 * for the duration of the call.
 */
#ifndef LB_EVENT_JSON_H
#define LB_EVENT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/tag.h"
#include "gwmp/gwmp.h"
#include "gwmp/rx.h"

struct json_object;

/* "00112233-4455-6677-8899-aabbccddeeff" + NUL. */
#define EVENT_JSON_UUID_LEN 37

/* "2024-05-14T09:12:47.318406+00:00" + NUL, years up to 9999. */
#define EVENT_JSON_TIME_LEN 40

/* deviceInfo: who sent the frame. A NULL string prints as "" (the
 * default), device_class NULL as "CLASS_A". events/devinfo.h gives the
 * values lorabridge uses where the configuration has none. */
struct ev_device {
	const char *tenant_id;          /* tenantId (UUID) */
	const char *tenant_name;        /* tenantName */
	const char *application_id;     /* applicationId (UUID) */
	const char *application;        /* applicationName */
	const char *profile_id;         /* deviceProfileId (UUID) */
	const char *profile_name;       /* deviceProfileName */
	const char *name;               /* deviceName */
	uint64_t dev_eui;               /* devEui */
	const char *device_class;       /* deviceClassEnabled */
	const struct lb_tag *tags;      /* tags {key: value}; may be NULL if n_tags == 0 */
	size_t n_tags;
	/* Optional: the text event_json_device_head() wrote for these same
	 * tenant, application and profile values, copied as is (a cache of
	 * it saves writing the six members per event); NULL: written from the
	 * fields. */
	const char *head;
	size_t head_len;
};

/* The members tenantId .. deviceProfileName of dev's deviceInfo, as every
 * event writes them (keys, values, commas; no braces), into out: LB_OK and
 * *len, or LB_ERR_TOO_LARGE (cap too small; out[0] = '\0' when cap > 0),
 * LB_ERR_INVAL (NULL). dev->head is not read. */
int event_json_device_head(const struct ev_device *dev, char *out, size_t cap, size_t *len);

/* Fair-access accounting of the device (added by a later issue). */
struct ev_fair_access {
	double uplink_airtime_ms;       /* uplinkAirtimeMs, printed with 3 decimals */
	double uplink_budget_ms;        /* uplinkBudgetMs */
	uint32_t downlinks;             /* downlinks */
	uint32_t downlink_budget;       /* downlinkBudget */
	bool exceeded;                  /* exceeded */
};

/* A gateway's position (common.proto Location): WGS 84 degrees; altitude
 * in metres, only if has_altitude. known false: no position, no
 * `location` written. */
struct ev_location {
	bool known;
	bool has_altitude;
	double latitude, longitude, altitude;
	/* Optional: the text event_json_location() wrote for these same
	 * values, copied as is (a position changes with a gateway's `stat`
	 * reports, not per uplink: a cache of it saves formatting the numbers
	 * per event); NULL: written from the numbers. */
	const char *text;
	size_t text_len;
};

/* The longest text event_json_location() writes, its NUL included. */
#define EVENT_JSON_LOCATION_MAX (3 * 16 + 3 * 32 + 2)

/* The value of rxInfo `location` for loc, {"latitude":..,"longitude":..,
 * "altitude":..?}, as the up event writes it, into out: as ChirpStack
 * writes it, each number as serde_json writes an f64 ("46.0", "0.00005")
 * and one that is 0 left out (protobuf JSON leaves out proto3 defaults).
 * It is formatted with printf (jsonw_fmt_serde()): cache it. LB_OK and
 * *len, LB_ERR_TOO_LARGE, or LB_ERR_INVAL (NULL, not known, not finite). */
int event_json_location(const struct ev_location *loc, char *out, size_t cap, size_t *len);

/* The longest rxInfo metadata text event_json_rx_metadata() writes: two
 * keys and two region names (events/devinfo.h, DEVINFO_REGION_ID_SIZE). */
#define EVENT_JSON_RX_METADATA_MAX 96

/* The rxInfo `metadata` object of a region, the same for every reception:
 * {"region_config_id":config_id,"region_common_name":common_name}, written
 * once (at start) into out and copied into each event (ev_uplink). LB_OK
 * and *len, or LB_ERR_TOO_LARGE, LB_ERR_INVAL (NULL). */
int event_json_rx_metadata(const char *config_id, const char *common_name, char *out,
			   size_t cap, size_t *len);

/* One accepted (verified, decrypted, de-duplicated) uplink. */
struct ev_uplink {
	const struct ev_device *dev;
	uint8_t dedup_id[16];           /* deduplicationId, printed as a UUID */
	int64_t time_us;                /* time: Unix µs */
	uint32_t dev_addr;
	bool adr;
	int dr;                         /* region data rate; < 0 = unknown, printed 0 */
	uint32_t fcnt;                  /* full 32-bit FCntUp */
	bool has_fport;                 /* false: fPort printed 0 */
	uint8_t fport;
	bool confirmed;
	const uint8_t *data;            /* decrypted FRMPayload; "" if data_len == 0 */
	size_t data_len;
	const uint8_t *mac;             /* MAC commands (FOpts or decrypted FPort-0 payload), */
	size_t mac_len;                 /* uplink direction; macCommands omitted if 0 */
	const struct lb_rx *rx;         /* receptions, n_rx >= 1; rx[0] also gives txInfo */
	size_t n_rx;
	const struct ev_location *rx_location;  /* n_rx: the position of rx[i]'s
						 * gateway; NULL = none known */
	const char *rx_metadata;        /* rxInfo metadata (event_json_rx_metadata()), */
	size_t rx_metadata_len;         /* copied as is; NULL = {} */
	bool has_airtime;
	double airtime_ms;              /* airtimeMs, 3 decimals */
	const struct ev_fair_access *fair_access;  /* NULL = omitted */
	struct json_object *object;     /* decoded payload (a codec's result),
					 * borrowed; NULL = omitted */
	const char *region_config_id;   /* regionConfigId ("eu868"); NULL = "" */
};

/* A `log` event. level: "INFO", "WARNING" or "ERROR"; code: a ChirpStack
 * LogCode name ("UPLINK_MIC", "UPLINK_F_CNT_RESET", "UPLINK_CODEC", ...).
 * context: n_context pairs context_keys[i] -> context_values[i] (strings),
 * {} when n_context == 0. dev may be NULL (no deviceInfo). */
struct ev_log {
	const struct ev_device *dev;
	int64_t time_us;
	const char *level;
	const char *code;
	const char *description;
	const char *const *context_keys;
	const char *const *context_values;
	size_t n_context;
};

/* OTAA join accepted (`join` event). */
struct ev_join {
	const struct ev_device *dev;
	uint8_t dedup_id[16];
	int64_t time_us;
	uint32_t dev_addr;
	const char *region_config_id;   /* regionConfigId; NULL = "" */
};

/* A confirmed downlink acknowledged, or not, by the device's next uplink;
 * dedup_id is the deduplicationId of that uplink. */
struct ev_ack {
	const struct ev_device *dev;
	uint8_t dedup_id[16];
	int64_t time_us;
	const char *queue_item_id;
	bool acknowledged;
	uint32_t fcnt_down;
};

/* One transmission attempt of a downlink: window "RX1"/"RX2" and the
 * gateway's answer ("OK", a TX_ACK error such as "TOO_LATE", "TIMEOUT"). */
struct ev_txack_attempt {
	const char *window;
	const char *status;
	uint32_t frequency;
	int dr;
};

/* What the gateway was asked to transmit (txInfo, gw.proto DownlinkTxInfo):
 * the txpk sent; delay_us > 0 = timing {delay} after the uplink whose
 * concentrator counter context_tmst is (class A), else timing
 * {immediately}. */
struct ev_tx_info {
	const struct gwmp_txpk *txpk;
	uint32_t delay_us;
	uint32_t context_tmst;
};

/* A downlink the gateway accepted (`txack` event; a refusal is a `log`
 * event DOWNLINK_GATEWAY instead, as in ChirpStack). queue_item_id NULL =
 * a frame the bridge made itself (ACK or MAC answer): queueItemId "". */
struct ev_txack {
	const struct ev_device *dev;
	int64_t time_us;
	uint32_t downlink_id;             /* downlinkId (uint32, as in gw.proto) */
	const char *queue_item_id;
	uint32_t fcnt_down;
	uint64_t gateway_eui;
	struct ev_tx_info tx;             /* txpk NULL: invalid */
	const struct ev_txack_attempt *attempts;
	size_t n_attempts;
};

/* A DevStatusAns (TS001-1.0.4 §5.5), as ChirpStack v4 reports it
 * (integration.proto StatusEvent; chirpstack/src/maccommand/dev_status.rs):
 * battery 0 = externalPowerSource, 255 = batteryLevelUnavailable, 1..254 =
 * batteryLevel battery / 254 * 100 (percent, a float; 0 otherwise);
 * margin in dB; time is the uplink's reception time, dedup_id its
 * deduplicationId. */
struct ev_status {
	const struct ev_device *dev;
	uint8_t dedup_id[16];
	int64_t time_us;
	int8_t margin;
	uint8_t battery;
};

/* The battery level in percent of a DevStatusAns battery value, as
 * ChirpStack computes it in f32; 0 for 0 and 255. */
float event_json_battery_percent(uint8_t battery);

/* Device events. */
int event_json_status(const struct ev_status *ev, char *out, size_t cap, size_t *len);
int event_json_join(const struct ev_join *ev, char *out, size_t cap, size_t *len);
int event_json_ack(const struct ev_ack *ev, char *out, size_t cap, size_t *len);
int event_json_txack(const struct ev_txack *ev, char *out, size_t cap, size_t *len);
void event_json_uuid_str(const uint8_t id[16], char out[EVENT_JSON_UUID_LEN]);
/* The retained state/mac message: the device's radio settings as the
 * network knows them (names as ChirpStack's up event: dr, adr). */
struct ev_mac_state {
	int dr;                         /* dr: of the last uplink; < 0 unknown (null) */
	uint8_t tx_power;               /* txPower: TXPower index the device confirmed */
	uint8_t nb_trans;               /* nbTrans */
	bool adr;                       /* adr: the ADR bit of the last uplink */
	bool network_adr;               /* networkAdr: devices[].adr */
	bool adr_backoff;               /* adrBackoff: LinkADRReq paused (adr.backoff_h) */
};
int event_json_mac_state(const struct ev_mac_state *st, char *out, size_t cap, size_t *len);

/* The retained state/airtime message: the fairAccess object on its own. */
int event_json_fair_access(const struct ev_fair_access *fa, char *out, size_t cap, size_t *len);
int event_json_uplink(const struct ev_uplink *ev, char *out, size_t cap, size_t *len);

/* Where a value lies in an event's text: out[off .. off + len); len 0 =
 * the value is not there. */
struct ev_span {
	size_t off, len;
};

/* As event_json_uplink(), and where the `object` value was written into
 * *object (len 0 when the event has none; on error too), so that a
 * consumer of the event takes the decoded object's text as published
 * without parsing the event again. object may be NULL. */
int event_json_uplink_at(const struct ev_uplink *ev, char *out, size_t cap, size_t *len,
			 struct ev_span *object);
int event_json_log(const struct ev_log *ev, char *out, size_t cap, size_t *len);

/* gateway/{id}/event/up: one reception, published before de-duplication. */
int event_json_gateway_up(const struct lb_rx *rx, char *out, size_t cap, size_t *len);

/* gateway/{id}/event/stats from a PUSH_DATA `stat` object. `time` is the
 * gateway's own "2014-01-12 08:59:28 GMT" converted to RFC 3339 (omitted if
 * absent or unreadable); location only when the gateway sent one; metadata
 * {"rxForwarded": rxfw, "ackRate": "%.1f", "temperature": "%.1f" if sent}.
 * A field in st->dropped (sent outside its range, gwmp_json.h) is left out:
 * its counter, altitude, ackRate or rxForwarded key is absent. */
/* One sub-band's transmit duty cycle over the last hour. */
struct ev_duty_cycle {
	const char *name;                /* "869.400-869.650" (MHz) */
	double used_pct;
	double limit_pct;                /* 100 = unlimited */
};

/* As event_json_gateway_stats, with a `dutyCycle` array when n_dc > 0. */
int event_json_gateway_stats_dc(uint64_t gateway_eui, const struct gwmp_stat *st,
				const struct ev_duty_cycle *dc, size_t n_dc, char *out, size_t cap,
				size_t *len);
int event_json_gateway_stats(uint64_t gateway_eui, const struct gwmp_stat *st,
			     char *out, size_t cap, size_t *len);

/* gateway/{id}/state/conn. */
int event_json_gateway_conn(uint64_t gateway_eui, bool online, char *out, size_t cap,
			    size_t *len);

/* --- building blocks (for other events) ------------------------------------ */

/* Format Unix µs as an RFC 3339 UTC timestamp (0, 3 or 6 fraction digits,
 * "+00:00").
 * Returns LB_OK or LB_ERR_RANGE (year outside 0..9999). */
int event_json_format_time(int64_t unix_us, char out[EVENT_JSON_TIME_LEN]);

/* The date and hour of the last time formatted through it: the times of
 * one event mostly share them, so the next one in that hour copies them.
 * Start it with event_json_time_memo_init(). */
struct event_json_time_memo {
	bool valid;
	int64_t hour;                   /* Unix hours */
	char text[14];                  /* "YYYY-MM-DDTHH:" */
};

void event_json_time_memo_init(struct event_json_time_memo *m);

/* event_json_format_time() through m (not NULL): the same text. */
int event_json_format_time_memo(int64_t unix_us, char out[EVENT_JSON_TIME_LEN],
				struct event_json_time_memo *m);

/* Serialise o (not consumed) into out as described above. */
int event_json_write(struct json_object *o, char *out, size_t cap, size_t *len);

#endif
