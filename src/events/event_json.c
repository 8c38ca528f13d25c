/* SPDX-License-Identifier: MIT */
/*
 * event_json.c - what every event file shares that is not JSON writing:
 * RFC 3339 times, UUID text, and event_json_write() for callers that build
 * a json-c tree of their own. See event_json.h; the events are written
 * with base/jsonw.h in event_json_w.c (the per-uplink events, `log`, and
 * the pieces of event_json_w.h), event_json_dl.c (downlink-side device
 * events) and event_json_gw.c (gateway stats and conn).
 */
#include "events/event_json.h"

#include <string.h>

#include <json-c/json.h>

#include "base/jsonw.h"
#include "base/lb_err.h"
#include "base/uuid.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

#define US_PER_S INT64_C(1000000)
#define MAX_YEAR 9999

/* --- times --------------------------------------------------------------- */

/* Days since 1970-01-01 to the proleptic Gregorian date (the inverse of
 * days_from_civil, H. Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms"): no gmtime_r(), no locale, no allocation. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);                 /* 0..146096 */
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);      /* 0..365, from March */
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* v < 100 as two digits, inline: a time has six such fields. */
static void two_digits(char *out, unsigned v)
{
	out[0] = (char)('0' + v / 10);
	out[1] = (char)('0' + v % 10);
}

#define HOUR_PREFIX 14            /* "YYYY-MM-DDTHH:" */

/* "YYYY-MM-DDTHH:" of Unix hour `hour` into out: LB_OK, or LB_ERR_RANGE. */
static int hour_prefix(int64_t hour, char out[HOUR_PREFIX])
{
	int64_t days = hour / 24, h = hour % 24, y;
	unsigned mo, d;

	if (h < 0) {
		h += 24;
		days--;
	}
	civil_from_days(days, &y, &mo, &d);
	if (y < 0 || y > MAX_YEAR)
		return LB_ERR_RANGE;
	two_digits(out, (unsigned)y / 100);
	two_digits(out + 2, (unsigned)y % 100);
	out[4] = '-';
	two_digits(out + 5, mo);
	out[7] = '-';
	two_digits(out + 8, d);
	out[10] = 'T';
	two_digits(out + 11, (unsigned)h);
	out[13] = ':';
	return LB_OK;
}

void event_json_time_memo_init(struct event_json_time_memo *m)
{
	m->valid = false;
}

static int format_time(int64_t unix_us, char out[EVENT_JSON_TIME_LEN],
		       struct event_json_time_memo *m)
{
	int64_t sec = unix_us / US_PER_S, frac = unix_us % US_PER_S;

	if (frac < 0) {
		frac += US_PER_S;
		sec--;
	}
	int64_t hour = sec / 3600, in_hour = sec % 3600;
	if (in_hour < 0) {
		in_hour += 3600;
		hour--;
	}
	if (m && m->valid && m->hour == hour) {
		memcpy(out, m->text, HOUR_PREFIX);
	} else {
		int rc = hour_prefix(hour, out);
		if (rc != LB_OK)
			return rc;
		if (m) {
			memcpy(m->text, out, HOUR_PREFIX);
			m->hour = hour;
			m->valid = true;
		}
	}
	/* "MM:SS" after "YYYY-MM-DDTHH:" */
	unsigned t = (unsigned)in_hour;
	two_digits(out + 14, t / 60);
	out[16] = ':';
	two_digits(out + 17, t % 60);
	size_t n = 19;
	/* As ChirpStack prints a google.protobuf.Timestamp (pbjson: chrono's
	 * to_rfc3339(), SecondsFormat::AutoSi): 0, 3, 6 (or 9) fraction digits
	 * and the offset "+00:00", never "Z" (which Python's
	 * datetime.fromisoformat() only reads from 3.11 on). */
	if (frac != 0 && frac % 1000 == 0) {
		out[n++] = '.';
		jsonw_fmt_pad(out + n, (unsigned)(frac / 1000), 3);
		n += 3;
	} else if (frac != 0) {
		out[n++] = '.';
		jsonw_fmt_pad(out + n, (unsigned)frac, 6);
		n += 6;
	}
	memcpy(out + n, "+00:00", 7);
	return LB_OK;
}

int event_json_format_time(int64_t unix_us, char out[EVENT_JSON_TIME_LEN])
{
	return format_time(unix_us, out, NULL);
}

int event_json_format_time_memo(int64_t unix_us, char out[EVENT_JSON_TIME_LEN],
				struct event_json_time_memo *m)
{
	return format_time(unix_us, out, m);
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

/* --- ids ------------------------------------------------------------------------ */

void event_json_uuid_str(const uint8_t id[16], char out[EVENT_JSON_UUID_LEN])
{
	uuid_format(id, out);
}
