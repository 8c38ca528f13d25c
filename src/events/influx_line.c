/* SPDX-License-Identifier: MIT */
/* influx_line.c - InfluxDB line protocol from device events. See influx_line.h. */
#include "events/influx_line.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"

/* A growing string; nomem sticks. */
struct sb {
	char *p;
	size_t len, cap;
	bool nomem;
};

static void sb_add(struct sb *s, const char *d, size_t n)
{
	if (s->nomem)
		return;
	if (s->len + n + 1 > s->cap) {
		size_t cap = (s->len + n + 1) * 2;
		char *p = realloc(s->p, cap);
		if (!p) {
			s->nomem = true;
			return;
		}
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->len, d, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void sb_str(struct sb *s, const char *d)
{
	sb_add(s, d, strlen(d));
}

/* A measurement name, tag key or tag value: the special characters
 * backslash-escaped. A newline or carriage return would end the line, and a
 * backslash before a special character or at the end would escape what
 * follows (InfluxDB 1.x reads neither a doubled backslash as one): each
 * becomes `_`, as in Home Assistant's field names. */
static void sb_ident(struct sb *s, const char *d, const char *special)
{
	for (; *d; d++) {
		bool escapes = *d == '\\' && (!d[1] || strchr(special, d[1]));
		if (*d == '\n' || *d == '\r' || escapes) {
			sb_add(s, "_", 1);
			continue;
		}
		if (strchr(special, *d))
			sb_add(s, "\\", 1);
		sb_add(s, d, 1);
	}
}

static char *sb_take(struct sb *s)
{
	char *p = s->p;
	if (!p && !s->nomem)
		p = strdup("");
	s->p = NULL;
	return p;
}

/* --- sorted string lists --------------------------------------------- */

struct strs {
	char **v;
	size_t n, cap;
	bool nomem;
};

static void strs_push(struct strs *l, char *s)
{
	if (!s || l->nomem) {
		l->nomem = true;
		free(s);
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			l->nomem = true;
			free(s);
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strs_sort(struct strs *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_str);
}

static void strs_free(struct strs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* --- tags and fields ------------------------------------------------- */

/* Set tag k to v. As in ChirpStack's map of tags, a later value of a key
 * replaces an earlier one (the device's own tag "dev_eui" gives way to the
 * bridge's); an empty value leaves the tag out (the line protocol has
 * none), an earlier one included. */
static void tag_push(struct strs *tags, const char *k, const char *v)
{
	struct sb s = {0};
	sb_ident(&s, k, ", =");
	sb_add(&s, "=", 1);
	if (s.nomem) {
		tags->nomem = true;
		free(s.p);
		return;
	}
	size_t klen = s.len;
	for (size_t i = 0; i < tags->n; i++) {
		if (!strncmp(tags->v[i], s.p, klen)) {
			free(tags->v[i]);
			tags->v[i] = tags->v[--tags->n];
			break;
		}
	}
	if (!v || !*v) {
		free(s.p);
		return;
	}
	sb_ident(&s, v, ", =");
	if (s.nomem)
		tags->nomem = true;
	strs_push(tags, sb_take(&s));
}

/* ChirpStack's 6 decimals, for the values that fit them; larger ones
 * (1e15 and up: %.6f would print every digit of 1e300) with %.17g, the 17
 * significant digits that give the double back: plain digits below 1e17
 * (-2500000000000000), exponent notation from there (1.5e+300; the line
 * protocol takes both). A non-finite value (a codec's NaN) has no line
 * protocol form: left out. */
static void field_float(struct strs *f, const char *k, double v)
{
	char buf[96];

	if (!isfinite(v))
		return;
	int n = fabs(v) < 1e15 ? snprintf(buf, sizeof(buf), "%s=%.6f", k, v)
			       : snprintf(buf, sizeof(buf), "%s=%.17g", k, v);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		f->nomem = true; /* field names are ours and short: cannot happen */
		return;
	}
	strs_push(f, strdup(buf));
}

static void field_int(struct strs *f, const char *k, int64_t v)
{
	char buf[96];
	snprintf(buf, sizeof(buf), "%s=%" PRId64 "i", k, v);
	strs_push(f, strdup(buf));
}

static void field_raw(struct strs *f, const char *k, const char *v)
{
	char buf[96];
	snprintf(buf, sizeof(buf), "%s=%s", k, v);
	strs_push(f, strdup(buf));
}

/* A string field value: '"' and '\' backslash-escaped. The line protocol
 * does not support a newline in a field value (InfluxDB's line protocol
 * reference, "Special characters"): a newline or carriage return becomes a
 * space. */
static void sb_string_value(struct sb *s, const char *d)
{
	for (; *d; d++) {
		if (*d == '\n' || *d == '\r') {
			sb_add(s, " ", 1);
			continue;
		}
		if (*d == '"' || *d == '\\')
			sb_add(s, "\\", 1);
		sb_add(s, d, 1);
	}
}

static void field_string(struct strs *f, const char *k, const char *v)
{
	struct sb s = {0};
	sb_str(&s, k);
	sb_add(&s, "=\"", 2);
	sb_string_value(&s, v);
	sb_add(&s, "\"", 1);
	if (s.nomem)
		f->nomem = true;
	strs_push(f, sb_take(&s));
}

/* One line: name,tags fields (both lists sorted here), into lines. */
static void line_push(struct strs *lines, const char *name, struct strs *tags,
		      struct strs *fields)
{
	struct sb s = {0};

	if (fields->n == 0 && !fields->nomem)
		return; /* no point without a field (a non-finite value) */
	strs_sort(tags);
	strs_sort(fields);
	sb_ident(&s, name, ", ");
	for (size_t i = 0; i < tags->n; i++) {
		sb_add(&s, ",", 1);
		sb_str(&s, tags->v[i]);
	}
	for (size_t i = 0; i < fields->n; i++) {
		sb_add(&s, i ? "," : " ", 1);
		sb_str(&s, fields->v[i]);
	}
	if (s.nomem || tags->nomem || fields->nomem)
		lines->nomem = true;
	strs_push(lines, sb_take(&s));
}

static struct strs tags_copy(const struct strs *t)
{
	struct strs c = {0};
	for (size_t i = 0; i < t->n; i++)
		strs_push(&c, strdup(t->v[i]));
	c.nomem |= t->nomem;
	return c;
}

static void point1(struct strs *lines, const char *name, const struct strs *tags,
		   void (*add)(struct strs *, const char *, const void *), const void *v)
{
	struct strs t = tags_copy(tags), f = {0};
	add(&f, "value", v);
	line_push(lines, name, &t, &f);
	strs_free(&t);
	strs_free(&f);
}

/* --- geohash ------------------------------------------------------------ */

void influx_geohash(double lat, double lon, unsigned chars, char *out)
{
	static const char b32[] = "0123456789bcdefghjkmnpqrstuvwxyz";
	double la[2] = {-90, 90}, lo[2] = {-180, 180};
	bool even = true;
	unsigned bit = 0, ch = 0, n = 0;

	if (chars > 22)
		chars = 22;
	while (n < chars) {
		double *r = even ? lo : la;
		double v = even ? lon : lat;
		double mid = (r[0] + r[1]) / 2;
		ch <<= 1;
		if (v >= mid) {
			ch |= 1;
			r[0] = mid;
		} else {
			r[1] = mid;
		}
		even = !even;
		if (++bit == 5) {
			out[n++] = b32[ch];
			bit = 0;
			ch = 0;
		}
	}
	out[n] = '\0';
}

/* --- the decoded object --------------------------------------------- */

static bool is_number(json_object *v)
{
	return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
}

static void add_float(struct strs *f, const char *k, const void *v)
{
	field_float(f, k, json_object_get_double((json_object *)v));
}

static void add_string(struct strs *f, const char *k, const void *v)
{
	field_string(f, k, json_object_get_string((json_object *)v));
}

static void add_bool(struct strs *f, const char *k, const void *v)
{
	field_raw(f, k, json_object_get_boolean((json_object *)v) ? "true" : "false");
}

/* A latitude/longitude pair of numbers in o: <prefix>_location. */
static void location(struct strs *lines, const struct strs *tags, const char *prefix,
		     json_object *o)
{
	json_object *la, *lo;
	char name[512], gh[13];

	if (!json_object_object_get_ex(o, "latitude", &la) || !is_number(la) ||
	    !json_object_object_get_ex(o, "longitude", &lo) || !is_number(lo))
		return;
	double lat = json_object_get_double(la), lon = json_object_get_double(lo);
	struct strs t = tags_copy(tags), f = {0};
	influx_geohash(lat, lon, 12, gh);
	field_float(&f, "latitude", lat);
	field_float(&f, "longitude", lon);
	field_string(&f, "geohash", gh);
	snprintf(name, sizeof(name), "%s_location", prefix);
	line_push(lines, name, &t, &f);
	strs_free(&t);
	strs_free(&f);
}

static void value_points(struct strs *lines, const struct strs *tags, const char *prefix,
			 json_object *v, int depth);

static void object_points(struct strs *lines, const struct strs *tags, const char *prefix,
			  json_object *o, int depth)
{
	char name[512];

	location(lines, tags, prefix, o);
	json_object_object_foreach(o, k, v) {
		if (!strcmp(k, "latitude") || !strcmp(k, "longitude"))
			continue;
		snprintf(name, sizeof(name), "%s_%s", prefix, k);
		value_points(lines, tags, name, v, depth + 1);
	}
}

static void value_points(struct strs *lines, const struct strs *tags, const char *prefix,
			 json_object *v, int depth)
{
	char name[512];

	/* json-c's parser nests at most 64 deep; so do we. */
	if (!v || depth > 64)
		return;
	switch (json_object_get_type(v)) {
	case json_type_null:
		return;
	case json_type_int:
	case json_type_double:
		point1(lines, prefix, tags, add_float, v);
		return;
	case json_type_string:
		point1(lines, prefix, tags, add_string, v);
		return;
	case json_type_boolean:
		point1(lines, prefix, tags, add_bool, v);
		return;
	case json_type_object:
		object_points(lines, tags, prefix, v, depth);
		return;
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			snprintf(name, sizeof(name), "%s_%zu", prefix, i);
			value_points(lines, tags, name, json_object_array_get_idx(v, i), depth + 1);
		}
		return;
	}
}

/* --- events ------------------------------------------------------------ */

static const char *str_member(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static json_object *member(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* The tags every point of a device event has. */
static int device_tags(json_object *ev, struct strs *tags)
{
	json_object *di = member(ev, "deviceInfo");
	if (!di || !json_object_is_type(di, json_type_object))
		return LB_ERR_JSON;
	json_object *t = member(di, "tags");
	if (t && json_object_is_type(t, json_type_object)) {
		json_object_object_foreach(t, k, v) {
			if (json_object_is_type(v, json_type_string))
				tag_push(tags, k, json_object_get_string(v));
		}
	}
	tag_push(tags, "application_name", str_member(di, "applicationName"));
	tag_push(tags, "device_name", str_member(di, "deviceName"));
	tag_push(tags, "dev_eui", str_member(di, "devEui"));
	return LB_OK;
}

static void uplink_point(json_object *ev, const struct strs *tags, struct strs *lines)
{
	struct strs t = tags_copy(tags), f = {0};
	char num[32];
	json_object *tx = member(ev, "txInfo"), *rx = member(ev, "rxInfo");

	if (tx && member(tx, "frequency")) {
		snprintf(num, sizeof(num), "%" PRId64, json_object_get_int64(member(tx, "frequency")));
		tag_push(&t, "frequency", num);
	}
	snprintf(num, sizeof(num), "%" PRId64, json_object_get_int64(member(ev, "dr")));
	tag_push(&t, "dr", num);
	field_int(&f, "value", 1);
	field_int(&f, "f_cnt", json_object_get_int64(member(ev, "fCnt")));
	json_object *best_rssi = NULL, *best_snr = NULL;
	for (size_t i = 0; rx && json_object_is_type(rx, json_type_array) &&
			   i < json_object_array_length(rx); i++) {
		json_object *r = json_object_array_get_idx(rx, i), *v;
		if ((v = member(r, "rssi")) && (!best_rssi || json_object_get_int64(v) >
							      json_object_get_int64(best_rssi)))
			best_rssi = v;
		if ((v = member(r, "snr")) && (!best_snr || json_object_get_double(v) >
							     json_object_get_double(best_snr)))
			best_snr = v;
	}
	if (best_rssi)
		field_int(&f, "rssi", json_object_get_int64(best_rssi));
	if (best_snr)
		field_float(&f, "snr", json_object_get_double(best_snr));
	line_push(lines, "device_uplink", &t, &f);
	strs_free(&t);
	strs_free(&f);
}

static void uplink_points(json_object *ev, struct strs *tags, struct strs *lines)
{
	char num[32];

	uplink_point(ev, tags, lines);
	json_object *obj = member(ev, "object");
	if (!obj || !json_object_is_type(obj, json_type_object))
		return;
	snprintf(num, sizeof(num), "%" PRId64, json_object_get_int64(member(ev, "fPort")));
	tag_push(tags, "f_port", num);
	object_points(lines, tags, "device_frmpayload_data", obj, 0);
}

static void add_battery(struct strs *f, const char *k, const void *v)
{
	field_float(f, k, json_object_get_double((json_object *)v));
}

static void add_margin(struct strs *f, const char *k, const void *v)
{
	field_int(f, k, json_object_get_int64((json_object *)v));
}

static void status_points(json_object *ev, const struct strs *tags, struct strs *lines)
{
	json_object *ext = member(ev, "externalPowerSource");
	json_object *na = member(ev, "batteryLevelUnavailable");

	if (!json_object_get_boolean(ext) && !json_object_get_boolean(na))
		point1(lines, "device_status_battery_level", tags, add_battery,
		       member(ev, "batteryLevel"));
	point1(lines, "device_status_margin", tags, add_margin, member(ev, "margin"));
}

static int write_out(struct strs *lines, int64_t ts_ns, char *out, size_t cap, size_t *len)
{
	size_t n = 0;
	char ts[32] = "";

	if (ts_ns >= 0)
		snprintf(ts, sizeof(ts), " %" PRId64, ts_ns);
	strs_sort(lines);
	for (size_t i = 0; i < lines->n; i++) {
		int w = snprintf(out + n, cap - n, "%s%s\n", lines->v[i], ts);
		if (w < 0 || (size_t)w >= cap - n) {
			out[0] = '\0';
			return LB_ERR_TOO_LARGE;
		}
		n += (size_t)w;
	}
	*len = n;
	return LB_OK;
}

int influx_lines(const char *event, struct json_object *ev, int64_t ts_ns, char *out,
		 size_t cap, size_t *len)
{
	struct strs tags = {0}, lines = {0};
	bool up = !strcmp(event, "up"), status = !strcmp(event, "status");
	int rc = LB_OK;

	if (!out || cap == 0 || !len)
		return LB_ERR_INVAL;
	out[0] = '\0';
	*len = 0;
	if (!up && !status)
		return LB_OK;
	rc = device_tags(ev, &tags);
	if (rc == LB_OK && up)
		uplink_points(ev, &tags, &lines);
	else if (rc == LB_OK)
		status_points(ev, &tags, &lines);
	if (rc == LB_OK && (tags.nomem || lines.nomem))
		rc = LB_ERR_NOMEM;
	if (rc == LB_OK)
		rc = write_out(&lines, ts_ns, out, cap, len);
	strs_free(&tags);
	strs_free(&lines);
	return rc;
}
