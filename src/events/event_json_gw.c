/* SPDX-License-Identifier: MIT */
/*
 * event_json_gw.c - gateway events, shaped as the ChirpStack gateway bridge
 * (Semtech UDP backend) publishes them: `event/stats` (GatewayStats) and
 * `state/conn` (ConnState); `event/up` (UplinkFrame) is written with the
 * other per-uplink events in event_json_w.c. All are written with the
 * pieces of event_json_w.h. See event_json.h. Inputs are the parsed
 * PUSH_DATA objects of gwmp.h (Semtech PROTOCOL.TXT §4: rxpk, stat).
 */
#include "events/event_json.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "events/event_json_w.h"
#include "base/jsonw.h"
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
static void w_location(struct jsonw *w, const struct gwmp_stat *st)
{
	struct ev_location loc = {.known = true, .latitude = st->lati, .longitude = st->lon,
				  .has_altitude = !dropped(st, GWMP_STAT_ALTI),
				  .altitude = st->alti};

	ew_location(w, &loc, "GPS");
}

/* A number as the string "%.1f" prints (metadata values are strings). */
static void w_one_decimal(struct jsonw *w, double v)
{
	char buf[400];   /* "%.1f" of DBL_MAX: 311 */
	int n = snprintf(buf, sizeof(buf), "%.1f", v);

	jsonw_strn(w, buf, n > 0 && (size_t)n < sizeof(buf) ? (size_t)n : 0);
}

/* metadata: the stat fields GatewayStats has no slot for, as strings. */
static void w_metadata(struct jsonw *w, const struct gwmp_stat *st)
{
	jsonw_key(w, "metadata");
	jsonw_open(w, '{');
	if (isfinite(st->ackr) && !dropped(st, GWMP_STAT_ACKR)) {
		jsonw_key(w, "ackRate");
		w_one_decimal(w, st->ackr);
	}
	if (!dropped(st, GWMP_STAT_RXFW)) {
		char s[JSONW_NUM_MAX];
		jsonw_key(w, "rxForwarded");
		jsonw_strn(w, s, jsonw_fmt_u64(s, st->rxfw));
	}
	if (st->has_temp && isfinite(st->temp)) {
		jsonw_key(w, "temperature");
		w_one_decimal(w, st->temp);
	}
	jsonw_close(w, '}');
}

int event_json_gateway_stats(uint64_t gateway_eui, const struct gwmp_stat *st,
			     char *out, size_t cap, size_t *len)
{
	return event_json_gateway_stats_dc(gateway_eui, st, NULL, 0, out, cap, len);
}

/* dutyCycle: [{"subBand":"869.400-869.650","usedPercent":0.120,"limitPercent":10}] */
static void w_duty_cycle(struct jsonw *w, const struct ev_duty_cycle *dc, size_t n)
{
	jsonw_key(w, "dutyCycle");
	jsonw_open(w, '[');
	for (size_t i = 0; i < n; i++) {
		jsonw_open(w, '{');
		jsonw_key(w, "subBand");
		jsonw_str(w, dc[i].name);
		jsonw_key(w, "usedPercent");
		jsonw_fixed(w, dc[i].used_pct, 3);
		jsonw_key(w, "limitPercent");
		jsonw_number(w, dc[i].limit_pct, true);
		jsonw_close(w, '}');
	}
	jsonw_close(w, ']');
}

static void w_counter(struct jsonw *w, const struct gwmp_stat *st, enum gwmp_stat_field f,
		      const char *key, uint32_t v)
{
	if (dropped(st, f))
		return;
	jsonw_keyn(w, key, strlen(key));
	jsonw_u64(w, v);
}

int event_json_gateway_stats_dc(uint64_t gateway_eui, const struct gwmp_stat *st,
				const struct ev_duty_cycle *dc, size_t n_dc, char *out, size_t cap,
				size_t *len)
{
	char t[EVENT_JSON_TIME_LEN];
	struct ew e;

	if (!st || !out || !len || (n_dc > 0 && !dc))
		return LB_ERR_INVAL;
	ew_init(&e, out, cap);
	jsonw_open(&e.w, '{');
	ew_eui(&e, "gatewayId", gateway_eui);
	if (st->has_time && memchr(st->time, '\0', sizeof(st->time)) &&
	    stat_time(st->time, t) == LB_OK) {
		jsonw_key(&e.w, "time");
		jsonw_str(&e.w, t);
	}
	if (st->has_location && isfinite(st->lati) && isfinite(st->lon))
		w_location(&e.w, st);
	w_counter(&e.w, st, GWMP_STAT_RXNB, "rxPacketsReceived", st->rxnb);
	w_counter(&e.w, st, GWMP_STAT_RXOK, "rxPacketsReceivedOk", st->rxok);
	w_counter(&e.w, st, GWMP_STAT_DWNB, "txPacketsReceived", st->dwnb);
	w_counter(&e.w, st, GWMP_STAT_TXNB, "txPacketsEmitted", st->txnb);
	w_metadata(&e.w, st);
	if (n_dc > 0)
		w_duty_cycle(&e.w, dc, n_dc);
	jsonw_close(&e.w, '}');
	return ew_finish(&e, out, cap, len);
}

int event_json_gateway_conn(uint64_t gateway_eui, bool online, char *out, size_t cap,
			    size_t *len)
{
	struct ew e;

	if (!out || !len)
		return LB_ERR_INVAL;
	ew_init(&e, out, cap);
	jsonw_open(&e.w, '{');
	ew_eui(&e, "gatewayId", gateway_eui);
	jsonw_key(&e.w, "state");
	jsonw_str(&e.w, online ? "ONLINE" : "OFFLINE");
	jsonw_close(&e.w, '}');
	return ew_finish(&e, out, cap, len);
}
