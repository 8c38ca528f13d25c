/* SPDX-License-Identifier: MIT */
/* web_json.c - the web API's JSON and SSE framing. See web_json.h. */
#include "events/web_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/hex.h"
#include "base/jsonw.h"
#include "base/lb_err.h"

/* json-c's add functions take ownership even of NULL; a NULL value from
 * an allocation that failed is caught by `ok`. */
static bool add(struct json_object *o, const char *key, struct json_object *v, bool nullable)
{
	if (!v && !nullable)
		return false;
	return json_object_object_add(o, key, v) == 0;
}

/* A double with at most `digits` decimals, trailing zeros cut but kept a
 * JSON float ("0.1", not json-c's "0.10000000000000001"; "1.0"). A value
 * too large for that within 48 bytes is written "%.17g" (as json-c
 * would). */
static void w_rounded(struct jsonw *w, double v, int digits)
{
	char text[48];
	size_t n;

	if (!isfinite(v))
		v = 0;
	n = jsonw_fmt_fixed(text, v, digits);
	if (n == 0) {
		int k = snprintf(text, sizeof(text), "%.*f", digits, v);
		if (k <= 0 || (size_t)k >= sizeof(text))
			k = snprintf(text, sizeof(text), "%.17g", v);
		n = (size_t)k;
	}
	if (memchr(text, '.', n) && !memchr(text, 'e', n)) {
		while (n > 1 && text[n - 1] == '0')
			n--;
		if (text[n - 1] == '.')
			text[n++] = '0';
	}
	jsonw_raw(w, text, n);
}

static void w_null(struct jsonw *w)
{
	jsonw_raw(w, "null", 4);
}

static void w_time_or_null(struct jsonw *w, int64_t unix_us)
{
	char t[EVENT_JSON_TIME_LEN];

	if (unix_us <= 0 || event_json_format_time(unix_us, t) != LB_OK)
		w_null(w);
	else
		jsonw_str(w, t);
}

void web_json_w_bridge(struct jsonw *w, const struct web_bridge_view *v)
{
	jsonw_open(w, '{');
	jsonw_key(w, "clientId");
	jsonw_str(w, v->client_id);
	jsonw_key(w, "version");
	jsonw_str(w, v->version);
	jsonw_key(w, "region");
	jsonw_str(w, v->region);
	jsonw_key(w, "uptimeS");
	jsonw_i64(w, v->uptime_s);
	jsonw_key(w, "mqttConnected");
	jsonw_bool(w, v->mqtt_connected);
	jsonw_key(w, "writable");
	jsonw_bool(w, v->writable);
	jsonw_close(w, '}');
}

/* Keys and numbers within 256 bytes; each string byte at most 6 escaped. */
size_t web_json_bridge_cap(const struct web_bridge_view *v)
{
	return 256 + 6 * ((v->client_id ? strlen(v->client_id) : 0) +
			  (v->version ? strlen(v->version) : 0) + (v->region ? strlen(v->region) : 0));
}

static void w_duty_cycle(struct jsonw *w, const struct ev_duty_cycle *dc, size_t n)
{
	jsonw_open(w, '[');
	for (size_t i = 0; i < n; i++) {
		jsonw_open(w, '{');
		jsonw_key(w, "subBand");
		jsonw_str(w, dc[i].name);
		jsonw_key(w, "usedPercent");
		w_rounded(w, dc[i].used_pct, 3);
		jsonw_key(w, "limitPercent");
		w_rounded(w, dc[i].limit_pct, 3);
		jsonw_close(w, '}');
	}
	jsonw_close(w, ']');
}

void web_json_w_gateway(struct jsonw *w, const struct web_gw_view *v)
{
	char eui[17];

	hex_format_eui(v->eui, eui);
	jsonw_open(w, '{');
	jsonw_key(w, "gatewayId");
	jsonw_strn(w, eui, 16);
	jsonw_key(w, "online");
	jsonw_bool(w, v->online);
	jsonw_key(w, "lastSeen");
	w_time_or_null(w, v->last_seen_us);
	jsonw_key(w, "address");
	if (v->address)
		jsonw_str(w, v->address);
	else
		w_null(w);
	jsonw_key(w, "rxPacketsReceived");
	jsonw_u64(w, v->rx_received);
	jsonw_key(w, "rxPacketsReceivedOk");
	jsonw_u64(w, v->rx_ok);
	jsonw_key(w, "rxForwarded");
	jsonw_u64(w, v->rx_forwarded);
	jsonw_key(w, "txPacketsEmitted");
	jsonw_u64(w, v->tx_emitted);
	jsonw_key(w, "dutyCycle");
	w_duty_cycle(w, v->dc, v->n_dc);
	jsonw_close(w, '}');
}

/* Keys, EUI, time and counters within 512 bytes; a sub-band's keys and
 * two numbers within 160 (a percentage printed "%.3f" of a double up to
 * 1e300 is long: w_rounded() falls back on snprintf into 48 bytes), its
 * name escaped. */
size_t web_json_gateway_cap(const struct web_gw_view *v)
{
	size_t n = 512 + 6 * (v->address ? strlen(v->address) : 0);

	for (size_t i = 0; i < v->n_dc; i++)
		n += 160 + 6 * (v->dc[i].name ? strlen(v->dc[i].name) : 0);
	return n;
}

static void w_fair_access(struct jsonw *w, const struct web_fair_access *fa)
{
	jsonw_open(w, '{');
	jsonw_key(w, "uplinkAirtimeMs");
	w_rounded(w, fa->uplink_airtime_ms, 3);
	jsonw_key(w, "uplinkBudgetMs");
	jsonw_u64(w, fa->uplink_budget_ms);
	jsonw_key(w, "downlinks");
	jsonw_u64(w, fa->downlinks);
	jsonw_key(w, "downlinkBudget");
	jsonw_u64(w, fa->downlink_budget);
	jsonw_key(w, "exceeded");
	jsonw_bool(w, fa->exceeded);
	jsonw_close(w, '}');
}

static void w_device_radio(struct jsonw *w, const struct web_dev_view *v)
{
	jsonw_key(w, "dr");
	if (v->dr >= 0)
		jsonw_i64(w, v->dr);
	else
		w_null(w);
	jsonw_key(w, "rssi");
	jsonw_open(w, '[');
	for (size_t i = 0; i < v->n_radio; i++)
		jsonw_i64(w, v->rssi[i]);
	jsonw_close(w, ']');
	jsonw_key(w, "snr");
	jsonw_open(w, '[');
	for (size_t i = 0; i < v->n_radio; i++)
		w_rounded(w, (double)v->snr[i], 1);
	jsonw_close(w, ']');
	jsonw_key(w, "battery");
	if (v->battery >= 0)
		jsonw_i64(w, v->battery);
	else
		w_null(w);
	jsonw_key(w, "margin");
	if (v->has_margin)
		jsonw_i64(w, v->margin);
	else
		w_null(w);
	jsonw_key(w, "fairAccess");
	if (v->has_fair_access)
		w_fair_access(w, &v->fa);
	else
		w_null(w);
}

void web_json_w_device(struct jsonw *w, const struct web_dev_view *v)
{
	char eui[17], addr[9], cls = v->dev_class ? v->dev_class : 'A';

	hex_format_eui(v->dev_eui, eui);
	hex_format_u32(v->dev_addr, addr);
	jsonw_open(w, '{');
	jsonw_key(w, "devEui");
	jsonw_strn(w, eui, 16);
	jsonw_key(w, "name");
	jsonw_str(w, v->name);
	jsonw_key(w, "application");
	jsonw_str(w, v->application);
	jsonw_key(w, "class");
	jsonw_strn(w, &cls, 1);
	jsonw_key(w, "devAddr");
	if (v->has_dev_addr)
		jsonw_strn(w, addr, 8);
	else
		w_null(w);
	jsonw_key(w, "lastSeen");
	w_time_or_null(w, v->last_seen_us);
	jsonw_key(w, "fCntUp");
	if (v->has_fcnt_up)
		jsonw_u64(w, v->fcnt_up);
	else
		w_null(w);
	jsonw_key(w, "fCntDown");
	if (v->has_fcnt_down)
		jsonw_u64(w, v->fcnt_down);
	else
		w_null(w);
	w_device_radio(w, v);
	/* the stored text of the event's object, as published (JSON) */
	jsonw_key(w, "object");
	if (v->object_json)
		jsonw_raw(w, v->object_json, strlen(v->object_json));
	else
		w_null(w);
	jsonw_key(w, "queue");
	jsonw_u64(w, v->queue);
	jsonw_close(w, '}');
}

int web_json_device_text(const struct web_dev_view *v, char *out, size_t cap, size_t *len)
{
	struct jsonw w;

	jsonw_init(&w, out, cap);
	web_json_w_device(&w, v);
	return jsonw_finish(&w, len);
}

/* Keys, EUI, DevAddr, time and numbers within 1 KiB; at most 64 bytes a
 * radio pair; a string byte escaped takes at most 6 ("\u00xx"); the
 * object's text as is. */
size_t web_json_device_cap(const struct web_dev_view *v)
{
	return 1024 + v->n_radio * 64 + 6 * (v->name ? strlen(v->name) : 0) +
	       6 * (v->application ? strlen(v->application) : 0) +
	       (v->object_json ? strlen(v->object_json) : 0);
}

int web_json_error(const char *why, char *out, size_t cap, size_t *len)
{
	struct json_object *o = json_object_new_object();
	int rc = LB_ERR_NOMEM;

	if (o && add(o, "error", json_object_new_string(why), false)) {
		size_t n;
		const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
		rc = LB_ERR_TOO_LARGE;
		if (s && n < cap) {
			memcpy(out, s, n + 1);
			*len = n;
			rc = LB_OK;
		}
	}
	json_object_put(o);
	return rc;
}

int web_json_wrap_event(uint64_t dev_eui, const char *application, const char *event_json,
			size_t event_len, char *out, size_t cap, size_t *len)
{
	struct jsonw w;
	char eui[17];

	/* Written in place (base/jsonw.h): no tree, no allocation per event. */
	hex_format_eui(dev_eui, eui);
	jsonw_init(&w, out, cap);
	jsonw_open(&w, '{');
	jsonw_key(&w, "devEui");
	jsonw_strn(&w, eui, 16);
	jsonw_key(&w, "application");
	jsonw_str(&w, application);
	jsonw_key(&w, "event");
	jsonw_raw(&w, event_json, event_len);
	jsonw_close(&w, '}');
	return jsonw_finish(&w, len);
}

static bool put(char *out, size_t cap, size_t *at, const char *s, size_t n)
{
	if (*at + n >= cap)
		return false;
	memcpy(out + *at, s, n);
	*at += n;
	return true;
}

/* Bytes of s[0 .. n) before its first CR or LF (n if none). */
static size_t strcspn_n(const char *s, size_t n)
{
	const char *lf = memchr(s, '\n', n);
	const char *cr = memchr(s, '\r', lf ? (size_t)(lf - s) : n);

	return cr ? (size_t)(cr - s) : lf ? (size_t)(lf - s) : n;
}

int web_sse_frame(const char *name, const char *data, size_t len, char *out, size_t cap,
		  size_t *out_len)
{
	size_t at = 0;

	if (!name || !*name || strpbrk(name, "\r\n: "))
		return LB_ERR_INVAL;
	if (!put(out, cap, &at, "event: ", 7) || !put(out, cap, &at, name, strlen(name)) ||
	    !put(out, cap, &at, "\ndata: ", 7))
		return LB_ERR_TOO_LARGE;
	/* Copied in runs between line breaks (an event's JSON has none: one
	 * run). */
	for (size_t i = 0; i < len;) {
		size_t run = strcspn_n(data + i, len - i);
		bool ok = put(out, cap, &at, data + i, run);
		i += run;
		if (ok && i < len && data[i] == '\n')
			ok = put(out, cap, &at, "\ndata: ", 7);
		if (!ok)
			return LB_ERR_TOO_LARGE;
		i += i < len;      /* the \n or \r */
	}
	if (!put(out, cap, &at, "\n\n", 2))
		return LB_ERR_TOO_LARGE;
	out[at] = '\0';
	*out_len = at;
	return LB_OK;
}
