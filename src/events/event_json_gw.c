/* SPDX-License-Identifier: MIT */
/*
 * event_json_gw.c - gateway events, shaped as the ChirpStack gateway bridge
 * (Semtech UDP backend) publishes them: `event/stats` (GatewayStats) and
 * `state/conn` (ConnState); `event/up` (UplinkFrame) is written with the
 * other per-uplink events in event_json_w.c. See event_json.h. Inputs are the parsed PUSH_DATA objects of gwmp.h
 * (Semtech PROTOCOL.TXT §4: rxpk, stat).
 */
#include "events/event_json.h"
#include "events/event_json_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "base/lb_err.h"

/* A zone abbreviation after the time ("GMT", "UTC"): letters only. The
 * gateway bridge reads the time with Go's "2006-01-02 15:04:05 MST" layout,
 * which takes an unknown abbreviation as offset 0; so do we. */
static bool zone_ok(const char *z)
{
	size_t n = 0;

	if (z[0] == '\0' || strcmp(z, "Z") == 0)
		return true;
	if (z[0] != ' ')
		return false;
	for (z++; isalpha((unsigned char)*z) && n < 5; z++)
		n++;
	return n > 0 && *z == '\0';
}

/*
 * stat.time (PROTOCOL.TXT §4, ISO 8601 'expanded') is strftime("%F %T %Z"):
 * "2014-01-12 08:59:28 GMT".
 * Rewritten as RFC 3339 "2014-01-12T08:59:28+00:00", the form of every
 * lorabridge event time (event_json.h); LB_ERR_MALFORMED if it does
 * not read as such a time.
 */
static int stat_time(const char *s, char out[EVENT_JSON_TIME_LEN])
{
	int y, mo, d, h, mi, sec, end = -1;

	if (sscanf(s, "%4d-%2d-%2d%*1[ T]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &end) != 6 ||
	    end < 0 || !zone_ok(s + end))
		return LB_ERR_MALFORMED;
	if (y < 0 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return LB_ERR_MALFORMED;
	snprintf(out, EVENT_JSON_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d+00:00", y, mo, d, h, mi,
		 sec);
	return LB_OK;
}

/* A stat field the gateway sent outside its range (gwmp_json.h): left out. */
static bool dropped(const struct gwmp_stat *st, enum gwmp_stat_field f)
{
	return (st->dropped & GWMP_STAT_BIT(f)) != 0;
}

/* common.proto Location; the gateway reported it from its GPS. */
static struct json_object *location(const struct gwmp_stat *st, int *err)
{
	struct json_object *o = json_object_new_object();

	event_json__add(o, "latitude", event_json__number(st->lati, false), err);
	event_json__add(o, "longitude", event_json__number(st->lon, false), err);
	if (!dropped(st, GWMP_STAT_ALTI))
		event_json__add(o, "altitude", event_json__number(st->alti, false), err);
	event_json__add(o, "source", json_object_new_string("GPS"), err);
	return o;
}

/* metadata: the stat fields GatewayStats has no slot for, as strings. */
static struct json_object *metadata(const struct gwmp_stat *st, int *err)
{
	struct json_object *m = json_object_new_object();
	char buf[48];

	if (isfinite(st->ackr) && !dropped(st, GWMP_STAT_ACKR)) {
		snprintf(buf, sizeof(buf), "%.1f", st->ackr);
		event_json__add(m, "ackRate", json_object_new_string(buf), err);
	}
	if (!dropped(st, GWMP_STAT_RXFW)) {
		snprintf(buf, sizeof(buf), "%" PRIu32, st->rxfw);
		event_json__add(m, "rxForwarded", json_object_new_string(buf), err);
	}
	if (st->has_temp && isfinite(st->temp)) {
		snprintf(buf, sizeof(buf), "%.1f", st->temp);
		event_json__add(m, "temperature", json_object_new_string(buf), err);
	}
	return m;
}

int event_json_gateway_stats(uint64_t gateway_eui, const struct gwmp_stat *st,
			     char *out, size_t cap, size_t *len)
{
	return event_json_gateway_stats_dc(gateway_eui, st, NULL, 0, out, cap, len);
}

/* dutyCycle: [{"subBand":"869.400-869.650","usedPercent":0.12,"limitPercent":10}] */
static struct json_object *duty_cycle(const struct ev_duty_cycle *dc, size_t n, int *err)
{
	struct json_object *a = json_object_new_array();
	if (!a)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		if (!o) {
			*err = LB_ERR_NOMEM;
			break;
		}
		event_json__add(o, "subBand", event_json__string(dc[i].name), err);
		event_json__add(o, "usedPercent", event_json__fixed(dc[i].used_pct, 3), err);
		event_json__add(o, "limitPercent", event_json__number(dc[i].limit_pct, true), err);
		if (json_object_array_add(a, o) != 0) {
			json_object_put(o);
			*err = LB_ERR_NOMEM;
		}
	}
	return a;
}

static void counter(struct json_object *o, const struct gwmp_stat *st, enum gwmp_stat_field f,
		    const char *key, uint32_t v, int *err)
{
	if (!dropped(st, f))
		event_json__add(o, key, json_object_new_int64(v), err);
}

int event_json_gateway_stats_dc(uint64_t gateway_eui, const struct gwmp_stat *st,
				const struct ev_duty_cycle *dc, size_t n_dc, char *out, size_t cap,
				size_t *len)
{
	char t[EVENT_JSON_TIME_LEN];
	struct json_object *o;
	int err = LB_OK;

	if (!st || !out || !len)
		return LB_ERR_INVAL;
	o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	event_json__add(o, "gatewayId", event_json__eui(gateway_eui), &err);
	if (st->has_time && memchr(st->time, '\0', sizeof(st->time)) && stat_time(st->time, t) == LB_OK)
		event_json__add(o, "time", json_object_new_string(t), &err);
	if (st->has_location && isfinite(st->lati) && isfinite(st->lon))
		event_json__add(o, "location", location(st, &err), &err);
	counter(o, st, GWMP_STAT_RXNB, "rxPacketsReceived", st->rxnb, &err);
	counter(o, st, GWMP_STAT_RXOK, "rxPacketsReceivedOk", st->rxok, &err);
	counter(o, st, GWMP_STAT_DWNB, "txPacketsReceived", st->dwnb, &err);
	counter(o, st, GWMP_STAT_TXNB, "txPacketsEmitted", st->txnb, &err);
	event_json__add(o, "metadata", metadata(st, &err), &err);
	if (n_dc > 0)
		event_json__add(o, "dutyCycle", duty_cycle(dc, n_dc, &err), &err);
	return event_json__finish(o, err, out, cap, len);
}

int event_json_gateway_conn(uint64_t gateway_eui, bool online, char *out, size_t cap,
			    size_t *len)
{
	struct json_object *o;
	int err = LB_OK;

	if (!out || !len)
		return LB_ERR_INVAL;
	o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	event_json__add(o, "gatewayId", event_json__eui(gateway_eui), &err);
	event_json__add(o, "state", json_object_new_string(online ? "ONLINE" : "OFFLINE"), &err);
	return event_json__finish(o, err, out, cap, len);
}
