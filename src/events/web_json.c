/* SPDX-License-Identifier: MIT */
/* web_json.c - the web API's JSON and SSE framing. See web_json.h. */
#include "events/web_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "base/hex.h"
#include "base/lb_err.h"

/* json-c's add functions take ownership even of NULL; a NULL value from
 * an allocation that failed is caught by `ok`. */
static bool add(struct json_object *o, const char *key, struct json_object *v, bool nullable)
{
	if (!v && !nullable)
		return false;
	return json_object_object_add(o, key, v) == 0;
}

static struct json_object *time_or_null(int64_t unix_us)
{
	char t[EVENT_JSON_TIME_LEN];

	if (unix_us <= 0 || event_json_format_time(unix_us, t) != LB_OK)
		return NULL;
	return json_object_new_string(t);
}

/* A double written with at most `digits` decimals, trailing zeros cut
 * ("0.1", not json-c's "0.10000000000000001"). */
static struct json_object *rounded(double v, int digits)
{
	char text[48];

	if (!isfinite(v))
		v = 0;
	int n = snprintf(text, sizeof(text), "%.*f", digits, v);
	if (n <= 0 || (size_t)n >= sizeof(text))
		return json_object_new_double(v);
	if (strchr(text, '.')) {
		while (n > 1 && text[n - 1] == '0')
			text[--n] = '\0';
		if (text[n - 1] == '.')
			text[n++] = '0';   /* keep it a JSON float: "1.0" */
		text[n] = '\0';
	}
	return json_object_new_double_s(v, text);
}

struct json_object *web_json_bridge(const struct web_bridge_view *v)
{
	struct json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	bool ok = add(o, "clientId", json_object_new_string(v->client_id ? v->client_id : ""), false) &&
		  add(o, "version", json_object_new_string(v->version ? v->version : ""), false) &&
		  add(o, "region", json_object_new_string(v->region ? v->region : ""), false) &&
		  add(o, "uptimeS", json_object_new_int64(v->uptime_s), false) &&
		  add(o, "mqttConnected", json_object_new_boolean(v->mqtt_connected), false) &&
		  add(o, "writable", json_object_new_boolean(v->writable), false);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *duty_cycle(const struct ev_duty_cycle *dc, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++) {
		struct json_object *e = json_object_new_object();
		bool ok = e && add(e, "subBand", json_object_new_string(dc[i].name), false) &&
			  add(e, "usedPercent", rounded(dc[i].used_pct, 3), false) &&
			  add(e, "limitPercent", rounded(dc[i].limit_pct, 3), false) &&
			  json_object_array_add(a, e) == 0;
		if (!ok) {
			json_object_put(e);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

struct json_object *web_json_gateway(const struct web_gw_view *v)
{
	struct json_object *o = json_object_new_object();
	char eui[17];

	if (!o)
		return NULL;
	hex_format_eui(v->eui, eui);
	bool ok = add(o, "gatewayId", json_object_new_string(eui), false) &&
		  add(o, "online", json_object_new_boolean(v->online), false) &&
		  add(o, "lastSeen", time_or_null(v->last_seen_us), v->last_seen_us <= 0) &&
		  add(o, "address", v->address ? json_object_new_string(v->address) : NULL,
		      !v->address) &&
		  add(o, "rxPacketsReceived", json_object_new_uint64(v->rx_received), false) &&
		  add(o, "rxPacketsReceivedOk", json_object_new_uint64(v->rx_ok), false) &&
		  add(o, "rxForwarded", json_object_new_uint64(v->rx_forwarded), false) &&
		  add(o, "txPacketsEmitted", json_object_new_uint64(v->tx_emitted), false) &&
		  add(o, "dutyCycle", duty_cycle(v->dc, v->n_dc), false);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *radio_array(const struct web_dev_view *v, bool rssi)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < v->n_radio; i++) {
		struct json_object *e = rssi ? json_object_new_int(v->rssi[i])
					     : rounded((double)v->snr[i], 1);
		if (!e || json_object_array_add(a, e) != 0) {
			json_object_put(e);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

static struct json_object *fair_access(const struct web_fair_access *fa)
{
	struct json_object *o = json_object_new_object();
	bool ok = o && add(o, "uplinkAirtimeMs", rounded(fa->uplink_airtime_ms, 3), false) &&
		  add(o, "uplinkBudgetMs", json_object_new_int64(fa->uplink_budget_ms), false) &&
		  add(o, "downlinks", json_object_new_int64(fa->downlinks), false) &&
		  add(o, "downlinkBudget", json_object_new_int64(fa->downlink_budget), false) &&
		  add(o, "exceeded", json_object_new_boolean(fa->exceeded), false);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The stored object text, parsed back; NULL (JSON null) if absent or not
 * JSON (it was produced by json-c: that does not happen). */
static struct json_object *object_or_null(const char *text)
{
	return text ? json_tokener_parse(text) : NULL;
}

static bool device_radio(struct json_object *o, const struct web_dev_view *v)
{
	return add(o, "dr", v->dr >= 0 ? json_object_new_int(v->dr) : NULL, v->dr < 0) &&
	       add(o, "rssi", radio_array(v, true), false) &&
	       add(o, "snr", radio_array(v, false), false) &&
	       add(o, "battery", v->battery >= 0 ? json_object_new_int(v->battery) : NULL,
		   v->battery < 0) &&
	       add(o, "margin", v->has_margin ? json_object_new_int(v->margin) : NULL,
		   !v->has_margin) &&
	       add(o, "fairAccess", v->has_fair_access ? fair_access(&v->fa) : NULL,
		   !v->has_fair_access);
}

struct json_object *web_json_device(const struct web_dev_view *v)
{
	struct json_object *o = json_object_new_object();
	char eui[17], addr[9], cls[2] = {v->dev_class ? v->dev_class : 'A', '\0'};

	if (!o)
		return NULL;
	hex_format_eui(v->dev_eui, eui);
	hex_format_u32(v->dev_addr, addr);
	bool ok = add(o, "devEui", json_object_new_string(eui), false) &&
		  add(o, "name", json_object_new_string(v->name ? v->name : ""), false) &&
		  add(o, "application",
		      json_object_new_string(v->application ? v->application : ""), false) &&
		  add(o, "class", json_object_new_string(cls), false) &&
		  add(o, "devAddr", v->has_dev_addr ? json_object_new_string(addr) : NULL,
		      !v->has_dev_addr) &&
		  add(o, "lastSeen", time_or_null(v->last_seen_us), v->last_seen_us <= 0) &&
		  add(o, "fCntUp", v->has_fcnt_up ? json_object_new_int64(v->fcnt_up) : NULL,
		      !v->has_fcnt_up) &&
		  add(o, "fCntDown", v->has_fcnt_down ? json_object_new_int64(v->fcnt_down) : NULL,
		      !v->has_fcnt_down) &&
		  device_radio(o, v) &&
		  add(o, "object", object_or_null(v->object_json), true) &&
		  add(o, "queue", json_object_new_uint64(v->queue), false);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
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
	struct json_object *app = json_object_new_string(application ? application : "");
	char eui[17];
	size_t app_len;

	if (!app)
		return LB_ERR_NOMEM;
	const char *app_text = json_object_to_json_string_length(app, JSON_C_TO_STRING_PLAIN,
								   &app_len);
	hex_format_eui(dev_eui, eui);
	int n = snprintf(out, cap, "{\"devEui\":\"%s\",\"application\":%s,\"event\":", eui,
			 app_text);
	json_object_put(app);
	if (n < 0 || (size_t)n + event_len + 2 > cap)
		return LB_ERR_TOO_LARGE;
	memcpy(out + n, event_json, event_len);
	out[(size_t)n + event_len] = '}';
	out[(size_t)n + event_len + 1] = '\0';
	*len = (size_t)n + event_len + 1;
	return LB_OK;
}

static bool put(char *out, size_t cap, size_t *at, const char *s, size_t n)
{
	if (*at + n >= cap)
		return false;
	memcpy(out + *at, s, n);
	*at += n;
	return true;
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
	for (size_t i = 0; i < len; i++) {
		bool ok = true;
		if (data[i] == '\n')
			ok = put(out, cap, &at, "\ndata: ", 7);
		else if (data[i] != '\r')
			ok = put(out, cap, &at, &data[i], 1);
		if (!ok)
			return LB_ERR_TOO_LARGE;
	}
	if (!put(out, cap, &at, "\n\n", 2))
		return LB_ERR_TOO_LARGE;
	out[at] = '\0';
	*out_len = at;
	return LB_OK;
}
