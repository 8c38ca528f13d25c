/* SPDX-License-Identifier: MIT */
/*
 * web_json.h - the JSON of the web API (README "Web page", the /api endpoints and the
 * data of /events) and the Server-Sent Events framing (WHATWG HTML
 * "Server-sent events" §9.2: "event: NAME", one "data: " line per line of
 * the data, a blank line). Pure functions from plain views, filled by the
 * daemon (daemon/web.c), to text written straight into a buffer
 * (base/jsonw.h: no tree, no allocation): no I/O, no clock, no logging.
 * One writer per shape; the lists (/api/devices, hello) are assembled from
 * them piece by piece by the daemon (daemon/weblist.h).
 *
 *   bridge  {"clientId","version","region","uptimeS","mqttConnected","writable"}
 *   gateway {"gatewayId","online","lastSeen","address","rxPacketsReceived",
 *            "rxPacketsReceivedOk","rxForwarded","txPacketsEmitted","dutyCycle":[...]}
 *   device  {"devEui","name","application","class","devAddr","lastSeen","fCntUp",
 *            "fCntDown","dr","rssi":[...],"snr":[...],"battery","margin",
 *            "fairAccess":{...}|null,"object","queue"}
 * Unknown values are JSON null. Times are RFC 3339 UTC ("+00:00").
 *
 * Strings are escaped as json-c does with JSON_C_TO_STRING_NOSLASHESCAPE
 * ('/' as is; base/jsonw.h), so a reader sees what json-c trees gave.
 *
 * Errors: LB_ERR_TOO_LARGE when an output buffer is too small (a jsonw's
 * sticky `full`); LB_ERR_NOMEM (web_json_error() only).
 */
#ifndef LB_WEB_JSON_H
#define LB_WEB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/event_json.h"

struct jsonw;

struct web_bridge_view {
	const char *client_id;
	const char *version;
	const char *region;
	int64_t uptime_s;
	bool mqtt_connected;
	bool writable;                   /* a password is configured */
};

struct web_gw_view {
	uint64_t eui;
	bool online;
	int64_t last_seen_us;            /* Unix µs, 0 = never */
	const char *address;             /* "127.0.0.1:40001" / "[::1]:40001", NULL = unknown */
	uint64_t rx_received, rx_ok, rx_forwarded, tx_emitted;
	const struct ev_duty_cycle *dc;  /* n_dc sub-bands */
	size_t n_dc;
};

struct web_fair_access {
	double uplink_airtime_ms;
	uint32_t uplink_budget_ms;
	uint32_t downlinks;
	uint32_t downlink_budget;
	bool exceeded;
};

struct web_dev_view {
	uint64_t dev_eui;
	const char *name;
	const char *application;
	char dev_class;                  /* 'A' or 'C' */
	bool has_dev_addr;
	uint32_t dev_addr;
	int64_t last_seen_us;            /* Unix µs, 0 = never */
	bool has_fcnt_up, has_fcnt_down;
	uint32_t fcnt_up, fcnt_down;
	int dr;                          /* -1 = unknown */
	const int16_t *rssi;             /* n_radio values, oldest first */
	const float *snr;
	size_t n_radio;
	int battery;                     /* percent, -1 = unknown */
	bool has_margin;
	int margin;                      /* dB */
	bool has_fair_access;
	struct web_fair_access fa;
	const char *object_json;         /* the last decoded object as JSON text, NULL = none */
	size_t queue;                    /* downlinks queued */
};

/* The writers: each writes its shape as one value into w (a comma first
 * when w's last byte asks for one, base/jsonw.h); a write that does not
 * fit sets w->full. The _cap functions give bytes that always suffice for
 * that value alone, the NUL included. */
void web_json_w_bridge(struct jsonw *w, const struct web_bridge_view *v);
size_t web_json_bridge_cap(const struct web_bridge_view *v);
void web_json_w_gateway(struct jsonw *w, const struct web_gw_view *v);
size_t web_json_gateway_cap(const struct web_gw_view *v);
void web_json_w_device(struct jsonw *w, const struct web_dev_view *v);
size_t web_json_device_cap(const struct web_dev_view *v);

/* A device's summary as JSON text into out (cap bytes, NUL-terminated),
 * for the live `device` events and GET /api/devices/{devEui}. LB_OK,
 * LB_ERR_TOO_LARGE (cap below web_json_device_cap(v): never above). */
int web_json_device_text(const struct web_dev_view *v, char *out, size_t cap, size_t *len);

/* {"error":"why"} as text into out. LB_OK or LB_ERR_TOO_LARGE. */
int web_json_error(const char *why, char *out, size_t cap, size_t *len);

/* {"devEui":"…","application":"…","event":EVENT} where EVENT is the event's
 * JSON text as published (inserted as is). LB_OK, LB_ERR_TOO_LARGE. */
int web_json_wrap_event(uint64_t dev_eui, const char *application, const char *event_json,
			size_t event_len, char *out, size_t cap, size_t *len);

/* One Server-Sent Event: "event: NAME\n", then "data: " + each line of
 * data (split at \n, a \r dropped), then "\n". name must be one token
 * without CR/LF. LB_OK, LB_ERR_TOO_LARGE, LB_ERR_INVAL (bad name). */
int web_sse_frame(const char *name, const char *data, size_t len, char *out, size_t cap,
		  size_t *out_len);

#endif
