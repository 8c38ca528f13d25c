/* SPDX-License-Identifier: MIT */
/*
 * test_hass_json.c - Home Assistant discovery, the pure part: flattening of
 * decoded objects, the device_class tables, value templates (evaluated here
 * by a reader of their documented form) and the discovery configs.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "base/lb_err.h"
#include "codec/cayennelpp.h"
#include "events/hass_json.h"
#include "testutil.h"

#define MAX_SEEN 96

/* What a flatten walk reported, copied out of the callback. */
struct seen {
	char name[MAX_SEEN][HASS_NAME_MAX];
	enum hass_kind kind[MAX_SEEN];
	struct hass_class cls[MAX_SEEN];
	char tpl[MAX_SEEN][HASS_TEMPLATE_MAX];
	char text[MAX_SEEN][HASS_VALUE_MAX];
	size_t depth[MAX_SEEN];
	size_t n;
	int stop_at;                     /* > 0: return LB_ERR_FULL at this leaf */
};

static int collect(void *arg, const struct hass_leaf *l)
{
	struct seen *s = arg;
	size_t len;

	ck_assert_uint_lt(s->n, MAX_SEEN);
	if (s->stop_at > 0 && (size_t)s->stop_at == s->n + 1)
		return LB_ERR_FULL;
	strcpy(s->name[s->n], l->name);
	s->kind[s->n] = l->kind;
	s->depth[s->n] = l->depth;
	hass_classify(l, &s->cls[s->n]);
	ck_assert_int_eq(hass_value_template(l, &s->cls[s->n], s->tpl[s->n], HASS_TEMPLATE_MAX),
			 LB_OK);
	ck_assert_int_eq(hass_value_text(l, s->text[s->n], HASS_VALUE_MAX, &len), LB_OK);
	ck_assert_uint_eq(len, strlen(s->text[s->n]));
	s->n++;
	return LB_OK;
}

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	ck_assert_msg(o != NULL, "bad test JSON: %s", text);
	return o;
}

static void flatten_ok(const char *json, struct seen *s, size_t *skipped)
{
	struct json_object *o = parse(json);

	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(hass_flatten(o, collect, s, skipped), LB_OK);
	json_object_put(o);
}

static int find(const struct seen *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return (int)i;
	ck_abort_msg("no field %s", name);
	return -1;
}

/* ---- a reader of the template form documented in hass_json.h ---------- */

static bool eat(const char **p, const char *lit)
{
	size_t n = strlen(lit);
	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/* One subscript ["key"] (Python escapes \xNN, \\, \") or [index]. */
static struct json_object *subscript(const char **p, struct json_object *cur, bool *ok)
{
	char key[256];
	size_t n = 0;

	if (eat(p, "[\"")) {
		while (**p && **p != '"') {
			ck_assert_uint_lt(n, sizeof(key) - 1);
			if (**p == '\\') {
				ck_assert_int_eq((*p)[1], 'x');
				char hex[3] = {(*p)[2], (*p)[3], 0};
				key[n++] = (char)strtol(hex, NULL, 16);
				*p += 4;
			} else {
				key[n++] = *(*p)++;
			}
		}
		key[n] = '\0';
		*ok = *ok && eat(p, "\"]");
		struct json_object *v = NULL;
		if (cur && json_object_is_type(cur, json_type_object) &&
		    json_object_object_get_ex(cur, key, &v))
			return v;
		return NULL;
	}
	*ok = *ok && eat(p, "[");
	char *end;
	long idx = strtol(*p, &end, 10);
	*ok = *ok && end != *p;
	*p = end;
	*ok = *ok && eat(p, "]");
	if (cur && json_object_is_type(cur, json_type_array) &&
	    idx < (long)json_object_array_length(cur))
		return json_object_array_get_idx(cur, (size_t)idx);
	return NULL;
}

/* E_n: n opening parentheses, value_json.object, n guarded subscripts.
 * *found: the path exists (a Jinja value, not Undefined). */
static struct json_object *path_expr(const char **p, struct json_object *up, bool *found,
				     bool *ok)
{
	size_t n = 0;
	while (**p == '(' && (*p)[1] != '\'') {
		(*p)++;
		n++;
	}
	*ok = *ok && eat(p, "value_json.object");
	struct json_object *cur = NULL;
	*found = json_object_object_get_ex(up, "object", &cur) && cur;
	for (size_t i = 0; i < n && *ok; i++) {
		*ok = eat(p, " | default({}))");
		cur = subscript(p, *found ? cur : NULL, ok);
		*found = cur != NULL;
	}
	return cur;
}

/* Render as Jinja would: Python's str() of the value. */
static void render(struct json_object *v, bool lower, char *out, size_t cap)
{
	if (json_object_is_type(v, json_type_boolean))
		snprintf(out, cap, "%s", json_object_get_boolean(v) ? (lower ? "true" : "True")
								    : (lower ? "false" : "False"));
	else if (json_object_is_type(v, json_type_string))
		snprintf(out, cap, "%s", json_object_get_string(v));
	else
		snprintf(out, cap, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

/* Home Assistant's timestamp_utc: datetime.isoformat() of a UTC time. */
static void iso_utc(time_t t, char *out, size_t cap)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

/* What eval_template() takes `this.state`, the entity's present state, to
 * be (THIS_STATE: a value; "unavailable": expired; "unknown": never set). */
#define THIS_STATE "<this.state>"
static const char *this_state = THIS_STATE;

/* The entity's state kept when the field is absent (hass_json.h's N):
 * itself, or 'None' (no value to Home Assistant) for a state that is none. */
#define KEEP "this.state if this.state not in ['unavailable', 'unknown'] else 'None'"
static const char *kept(void)
{
	return strcmp(this_state, "unavailable") && strcmp(this_state, "unknown") ? this_state
										  : "None";
}

/* Does an entity of class c keep its state when the field is absent (a
 * sensor Home Assistant does not expect a number of: text, timestamp)? */
static bool keeps_state(const struct hass_class *c)
{
	if (strcmp(c->component, "sensor") != 0)
		return false;
	if (c->device_class && strcmp(c->device_class, "timestamp") == 0)
		return true;
	return !c->unit && !c->state_class;
}

/* The text Home Assistant gets from tpl applied to the up event `up`
 * (kept() where it renders the entity's present state). */
static void eval_template(const char *tpl, struct json_object *up, char *out, size_t cap)
{
	const char *p = tpl;
	bool ok = eat(&p, "{{ "), found;
	bool keep = false;

	out[0] = '\0';
	if (eat(&p, "'' if ") || (keep = eat(&p, "(" KEEP ") if "))) {
		struct json_object *v = path_expr(&p, up, &found, &ok);
		ok = ok && eat(&p, " is not number else ");
		const char *ts = " | timestamp_utc }}";
		size_t tl = strlen(tpl), sl = strlen(ts);
		bool nonzero = !(tl > sl && strcmp(tpl + tl - sl, ts) == 0), found2;
		ok = ok && (!nonzero || eat(&p, "("));
		(void)path_expr(&p, up, &found2, &ok);
		ok = ok && eat(&p, nonzero ? " != 0) | lower }}" : " | timestamp_utc }}") &&
		     *p == '\0' && found2 == found;
		ck_assert_msg(ok, "not of the documented form: %s", tpl);
		bool number = found && (json_object_is_type(v, json_type_double) ||
					json_object_is_type(v, json_type_int));
		if (!number && keep)
			snprintf(out, cap, "%s", kept());
		else if (number && nonzero)
			snprintf(out, cap, "%s", json_object_get_double(v) != 0 ? "true" : "false");
		else if (number)
			iso_utc((time_t)json_object_get_double(v), out, cap);
		return;
	}
	struct json_object *v = path_expr(&p, up, &found, &ok);
	bool lower = false;
	if (eat(&p, " | default('') | lower }}"))
		lower = true;
	else if (eat(&p, " | default(" KEEP ") | lower }}"))
		lower = keep = true;
	else if (eat(&p, " | default(" KEEP ") }}"))
		keep = true;
	else
		ok = ok && eat(&p, " | default('') }}");
	ck_assert_msg(ok && *p == '\0', "not of the documented form: %s", tpl);
	if (found)
		render(v, lower, out, cap);
	else if (keep)
		snprintf(out, cap, "%s", kept());
}

/* ---- flattening --------------------------------------------------------- */

START_TEST(test_flatten_cayennelpp)
{
	/* 01 67 00 D7: temperature 21.5 on channel 1; 01 68 50: humidity 40 %;
	 * 03 71 ...: accelerometer; 05 66 01: presence (CayenneLPP). */
	uint8_t buf[64];
	size_t n = unhex("0167 00d7 0168 50 0371 0064 ff38 03e8 0566 01", buf, sizeof(buf));
	struct json_object *o;
	struct seen s;

	ck_assert_int_eq(cayennelpp_decode(buf, n, &o), LB_OK);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(hass_flatten(o, collect, &s, NULL), LB_OK);
	json_object_put(o);
	ck_assert_uint_eq(s.n, 6);
	int t = find(&s, "temperatureSensor_1");
	ck_assert_str_eq(s.text[t], "21.5");
	ck_assert_uint_eq(s.depth[t], 2);
	ck_assert_str_eq(s.text[find(&s, "humiditySensor_1")], "40.0");
	ck_assert_str_eq(s.text[find(&s, "accelerometer_3_x")], "0.1");
	ck_assert_str_eq(s.text[find(&s, "accelerometer_3_y")], "-0.2");
	ck_assert_str_eq(s.text[find(&s, "accelerometer_3_z")], "1.0");
	ck_assert_uint_eq(s.depth[find(&s, "accelerometer_3_z")], 3);
	ck_assert_str_eq(s.text[find(&s, "presenceSensor_5")], "1.0");
}
END_TEST

START_TEST(test_flatten_nested_arrays_names)
{
	struct seen s;
	size_t skipped = 9;

	flatten_ok("{\"a\": {\"b\": [1, {\"c\": true}, null]}, \"s\": \"x y\", \"n\": null,"
		   " \"door open\": false, \"\": 7, \"t.°C\": -3, \"e\": {}, \"l\": []}", &s,
		   &skipped);
	ck_assert_uint_eq(skipped, 0);
	ck_assert_uint_eq(s.n, 6);
	/* document order, nulls and empty containers give nothing */
	ck_assert_str_eq(s.name[0], "a_b_0");
	ck_assert_int_eq(s.kind[0], HASS_NUMBER);
	ck_assert_str_eq(s.name[1], "a_b_1_c");
	ck_assert_int_eq(s.kind[1], HASS_BOOL);
	ck_assert_str_eq(s.text[1], "true");
	ck_assert_str_eq(s.name[2], "s");
	ck_assert_int_eq(s.kind[2], HASS_STRING);
	ck_assert_str_eq(s.text[2], "x y");
	ck_assert_str_eq(s.name[3], "door_open");
	ck_assert_str_eq(s.text[3], "false");
	ck_assert_str_eq(s.name[4], "_");
	/* "°" is two bytes outside [A-Za-z0-9_]: two '_' */
	ck_assert_str_eq(s.name[5], "t___C");
	ck_assert_str_eq(s.text[5], "-3");
}
END_TEST

START_TEST(test_flatten_limits)
{
	struct seen s;
	size_t skipped;
	char json[512];

	/* HASS_DEPTH_MAX levels is fine, one more is skipped */
	flatten_ok("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":1}}}}}}}, "
		   "\"z\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":1}}}}}}}}}", &s,
		   &skipped);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.name[0], "a_b_c_d_e_f_g_h");
	ck_assert_uint_eq(s.depth[0], HASS_DEPTH_MAX);
	ck_assert_uint_eq(skipped, 1);

	/* a name of HASS_NAME_MAX - 1 bytes fits, one more does not */
	char k63[64], k64[65];
	memset(k63, 'k', 63);
	k63[63] = '\0';
	memset(k64, 'k', 64);
	k64[64] = '\0';
	snprintf(json, sizeof(json), "{\"%s\": 1, \"%s\": 2, \"x\": {\"%s\": 3}}", k63, k64, k63);
	flatten_ok(json, &s, &skipped);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.name[0], k63);
	ck_assert_uint_eq(skipped, 2);
}
END_TEST

START_TEST(test_flatten_errors_and_stop)
{
	struct seen s;
	struct json_object *arr = parse("[1, 2]");
	struct json_object *o = parse("{\"a\": 1, \"b\": 2, \"c\": 3}");

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(hass_flatten(NULL, collect, &s, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(hass_flatten(arr, collect, &s, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(hass_flatten(o, NULL, &s, NULL), LB_ERR_INVAL);
	s.stop_at = 2;
	ck_assert_int_eq(hass_flatten(o, collect, &s, NULL), LB_ERR_FULL);
	ck_assert_uint_eq(s.n, 1);
	json_object_put(arr);
	json_object_put(o);
}
END_TEST

/* ---- classification ---------------------------------------------------- */

static void want_class(const struct seen *s, const char *name, const char *component,
		       const char *dc, const char *unit, const char *sc)
{
	const struct hass_class *c = &s->cls[find(s, name)];
	ck_assert_msg(strcmp(c->component, component) == 0, "%s: component %s", name,
		      c->component);
	ck_assert_msg(dc ? c->device_class && !strcmp(c->device_class, dc) : !c->device_class,
		      "%s: device_class %s", name, c->device_class ? c->device_class : "(none)");
	ck_assert_msg(unit ? c->unit && !strcmp(c->unit, unit) : !c->unit, "%s: unit %s", name,
		      c->unit ? c->unit : "(none)");
	ck_assert_msg(sc ? c->state_class && !strcmp(c->state_class, sc) : !c->state_class,
		      "%s: state_class %s", name, c->state_class ? c->state_class : "(none)");
}

START_TEST(test_classify_cayennelpp)
{
	struct seen s;

	flatten_ok("{\"digitalInput\": {\"1\": 1.0}, \"analogInput\": {\"2\": 3.3},"
		   " \"illuminanceSensor\": {\"3\": 120.0}, \"presenceSensor\": {\"4\": 1.0},"
		   " \"temperatureSensor\": {\"5\": 21.5}, \"humiditySensor\": {\"6\": 40.5},"
		   " \"accelerometer\": {\"7\": {\"x\": 0.1, \"y\": 0.2, \"z\": 1.0}},"
		   " \"barometer\": {\"8\": 1013.2}, \"gyrometer\": {\"9\": {\"x\": 1.5}},"
		   " \"gpsLocation\": {\"10\": {\"latitude\": 52.1, \"longitude\": 4.3,"
		   " \"altitude\": 12.5}}, \"fooSensor\": {\"1\": 2.0},"
		   " \"temperatureSensor2\": {\"1\": 2.0}}", &s, NULL);
	want_class(&s, "digitalInput_1", "sensor", NULL, NULL, "measurement");
	want_class(&s, "analogInput_2", "sensor", NULL, NULL, "measurement");
	want_class(&s, "illuminanceSensor_3", "sensor", "illuminance", "lx", "measurement");
	want_class(&s, "presenceSensor_4", "binary_sensor", "occupancy", NULL, NULL);
	ck_assert_int_eq(s.cls[find(&s, "presenceSensor_4")].render, HASS_RENDER_NONZERO);
	want_class(&s, "temperatureSensor_5", "sensor", "temperature", "°C", "measurement");
	want_class(&s, "humiditySensor_6", "sensor", "humidity", "%", "measurement");
	want_class(&s, "accelerometer_7_x", "sensor", NULL, "g", "measurement");
	want_class(&s, "accelerometer_7_z", "sensor", NULL, "g", "measurement");
	want_class(&s, "barometer_8", "sensor", "pressure", "hPa", "measurement");
	want_class(&s, "gyrometer_9_x", "sensor", NULL, "°/s", "measurement");
	want_class(&s, "gpsLocation_10_latitude", "sensor", NULL, "°", NULL);
	want_class(&s, "gpsLocation_10_longitude", "sensor", NULL, "°", NULL);
	want_class(&s, "gpsLocation_10_altitude", "sensor", "distance", "m", "measurement");
	/* not a CayenneLPP type: by name, then plain */
	want_class(&s, "fooSensor_1", "sensor", NULL, NULL, "measurement");
	want_class(&s, "temperatureSensor2_1", "sensor", NULL, NULL, "measurement");
}
END_TEST

/* The extended types, named as codec/cayennelpp.c names them. */
START_TEST(test_classify_cayennelpp_extended)
{
	/* 03 74 014a: voltage 3.30 V; 04 75 01f4: current 0.5 A; 05 76 ...:
	 * frequency 868 Hz; 06 78 32: 50 %; 07 79 0064: altitude 100 m;
	 * 08 7d 0190: 400 ppm; 09 80 0064: 100 W; 0a 82 000003e8: 1 m;
	 * 0b 83 00002710: 10 kWh; 0c 84 005a: 90 deg; 0d 85 6553f100: Unix time;
	 * 0e 87 ff8000: colour; 0f 8e 01: switch on; 10 64 00000007: generic. */
	uint8_t buf[96];
	size_t n = unhex("0374014a 047501f4 057600000364 067832 07790064 087d0190 09800064"
			 " 0a82000003e8 0b8300002710 0c84005a 0d856553f100 0e87ff8000 0f8e01"
			 " 106400000007", buf, sizeof(buf));
	struct json_object *o;
	struct seen s;

	ck_assert_int_eq(cayennelpp_decode(buf, n, &o), LB_OK);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(hass_flatten(o, collect, &s, NULL), LB_OK);
	json_object_put(o);
	ck_assert_uint_eq(s.n, 16);
	want_class(&s, "voltage_3", "sensor", "voltage", "V", "measurement");
	ck_assert_str_eq(s.text[find(&s, "voltage_3")], "3.3");
	want_class(&s, "current_4", "sensor", "current", "A", "measurement");
	want_class(&s, "frequency_5", "sensor", "frequency", "Hz", "measurement");
	want_class(&s, "percentage_6", "sensor", NULL, "%", "measurement");
	want_class(&s, "altitude_7", "sensor", "distance", "m", "measurement");
	want_class(&s, "concentration_8", "sensor", NULL, "ppm", "measurement");
	want_class(&s, "power_9", "sensor", "power", "W", "measurement");
	want_class(&s, "distance_10", "sensor", "distance", "m", "measurement");
	want_class(&s, "energy_11", "sensor", "energy", "kWh", "total_increasing");
	want_class(&s, "direction_12", "sensor", NULL, "°", NULL);
	want_class(&s, "unixtime_13", "sensor", "timestamp", NULL, NULL);
	ck_assert_int_eq(s.cls[find(&s, "unixtime_13")].render, HASS_RENDER_UNIXTIME);
	want_class(&s, "colour_14_r", "sensor", NULL, NULL, NULL);
	want_class(&s, "colour_14_b", "sensor", NULL, NULL, NULL);
	want_class(&s, "switch_15", "binary_sensor", NULL, NULL, NULL);
	ck_assert_int_eq(s.cls[find(&s, "switch_15")].render, HASS_RENDER_NONZERO);
	want_class(&s, "genericSensor_16", "sensor", NULL, NULL, "measurement");
	ck_assert_str_eq(s.tpl[find(&s, "unixtime_13")],
			 "{{ (" KEEP ") if ((value_json.object | default({}))[\"unixtime\"]"
			 " | default({}))[\"13\"] is not number else ((value_json.object"
			 " | default({}))[\"unixtime\"] | default({}))[\"13\"] | timestamp_utc }}");
}
END_TEST

START_TEST(test_classify_by_name)
{
	struct seen s;

	flatten_ok("{\"temperature\": 21.5, \"Temp\": 20, \"humidity\": 40, \"battery\": 3.1,"
		   " \"sub\": {\"battery\": 87}, \"batteryLevel\": 90, \"BATTERY_LEVEL\": 91,"
		   " \"pressure\": 1013, \"co2\": 600, \"lux\": 300, \"light\": 200,"
		   " \"voltage\": 3.6, \"current\": 0.2, \"power\": 12, \"energy\": 1.5,"
		   " \"pm2_5\": 8, \"pm10\": 12, \"counts\": [1, 2], \"door_open\": true,"
		   " \"door\": 1, \"Motion\": false, \"leak\": true, \"status\": \"ok\","
		   " \"mystery\": 5, \"flag\": true, \"temperature_text\": \"warm\"}", &s, NULL);
	want_class(&s, "temperature", "sensor", "temperature", "°C", "measurement");
	want_class(&s, "Temp", "sensor", "temperature", "°C", "measurement");
	want_class(&s, "humidity", "sensor", "humidity", "%", "measurement");
	want_class(&s, "battery", "sensor", "voltage", "V", "measurement");
	want_class(&s, "sub_battery", "sensor", "battery", "%", "measurement");
	want_class(&s, "batteryLevel", "sensor", "battery", "%", "measurement");
	want_class(&s, "BATTERY_LEVEL", "sensor", "battery", "%", "measurement");
	want_class(&s, "pressure", "sensor", "pressure", "hPa", "measurement");
	want_class(&s, "co2", "sensor", "carbon_dioxide", "ppm", "measurement");
	want_class(&s, "lux", "sensor", "illuminance", "lx", "measurement");
	want_class(&s, "light", "sensor", "illuminance", "lx", "measurement");
	want_class(&s, "voltage", "sensor", "voltage", "V", "measurement");
	want_class(&s, "current", "sensor", "current", "A", "measurement");
	want_class(&s, "power", "sensor", "power", "W", "measurement");
	want_class(&s, "energy", "sensor", "energy", "kWh", "total_increasing");
	want_class(&s, "pm2_5", "sensor", "pm25", "µg/m³", "measurement");
	want_class(&s, "pm10", "sensor", "pm10", "µg/m³", "measurement");
	/* array elements take the name of their key */
	want_class(&s, "counts_1", "sensor", NULL, NULL, "measurement");
	want_class(&s, "door_open", "binary_sensor", "door", NULL, NULL);
	ck_assert_int_eq(s.cls[find(&s, "door_open")].render, HASS_RENDER_VALUE);
	ck_assert_str_eq(s.cls[find(&s, "door_open")].payload_on, "true");
	ck_assert_str_eq(s.cls[find(&s, "door_open")].payload_off, "false");
	/* a boolean name given a number is a plain number */
	want_class(&s, "door", "sensor", NULL, NULL, "measurement");
	want_class(&s, "Motion", "binary_sensor", "motion", NULL, NULL);
	want_class(&s, "leak", "binary_sensor", "moisture", NULL, NULL);
	want_class(&s, "status", "sensor", NULL, NULL, NULL);
	want_class(&s, "mystery", "sensor", NULL, NULL, "measurement");
	want_class(&s, "flag", "binary_sensor", NULL, NULL, NULL);
	want_class(&s, "temperature_text", "sensor", NULL, NULL, NULL);
}
END_TEST

/* ---- templates ----------------------------------------------------------- */

START_TEST(test_template_text)
{
	struct seen s;

	flatten_ok("{\"temperatureSensor\": {\"1\": 21.5}, \"v\": [0, 5], \"ok\": true,"
		   " \"label\": \"x\","
		   " \"presenceSensor\": {\"2\": 1.0}, \"a\\\"b{%#}\\\\\": 1}", &s, NULL);
	ck_assert_str_eq(s.tpl[find(&s, "temperatureSensor_1")],
			 "{{ ((value_json.object | default({}))[\"temperatureSensor\"]"
			 " | default({}))[\"1\"] | default('') }}");
	ck_assert_str_eq(s.tpl[find(&s, "v_1")],
			 "{{ ((value_json.object | default({}))[\"v\"] | default({}))[1]"
			 " | default('') }}");
	ck_assert_str_eq(s.tpl[find(&s, "ok")],
			 "{{ (value_json.object | default({}))[\"ok\"] | default('') | lower }}");
	/* a text sensor keeps its state when the field is absent */
	ck_assert_str_eq(s.tpl[find(&s, "label")],
			 "{{ (value_json.object | default({}))[\"label\"]"
			 " | default(" KEEP ") }}");
	ck_assert_str_eq(s.tpl[find(&s, "presenceSensor_2")],
			 "{{ '' if ((value_json.object | default({}))[\"presenceSensor\"]"
			 " | default({}))[\"2\"] is not number else (((value_json.object"
			 " | default({}))[\"presenceSensor\"] | default({}))[\"2\"] != 0) | lower }}");
	/* quote, braces, percent, hash and backslash are escaped */
	ck_assert_str_eq(s.tpl[find(&s, "a_b_____")],
			 "{{ (value_json.object | default({}))[\"a\\x22b\\x7b\\x25\\x23\\x7d\\x5c\"]"
			 " | default('') }}");
}
END_TEST

/* Every template, read as documented, gives the field's value out of an up
 * event carrying the object; out of one without it, '' for a numeric or
 * binary sensor (Home Assistant ignores it) and the entity's present state
 * (this.state; 'None' if that is "unavailable" or "unknown") for a text or
 * timestamp sensor, which would show ''. */
START_TEST(test_template_reads_up_event)
{
	static const char *objects[] = {
		"{\"temperatureSensor\": {\"1\": 21.5, \"2\": -4.0},"
		" \"accelerometer\": {\"3\": {\"x\": 0.1, \"y\": -0.25, \"z\": 1.0}},"
		" \"presenceSensor\": {\"4\": 1.0, \"5\": 0.0},"
		" \"unixtime\": {\"6\": 1700000000.0}, \"switch\": {\"7\": 1.0}}",
		"{\"temperature\": 21.5, \"battery\": 3.1, \"door_open\": true, \"closed\": false,"
		" \"label\": \"kitchen\", \"nested\": {\"deep\": {\"list\": [1, [2, 3], {\"q\": 4}]}},"
		" \"odd key\\\"}}\": 5, \"é\": 6, \"items\": 7, \"keys\": {\"values\": 8}}",
	};
	char up_text[2048], got[HASS_VALUE_MAX];

	for (size_t k = 0; k < sizeof(objects) / sizeof(objects[0]); k++) {
		struct seen s;
		flatten_ok(objects[k], &s, NULL);
		ck_assert_uint_gt(s.n, 4);
		snprintf(up_text, sizeof(up_text), "{\"fCnt\": 7, \"object\": %s, \"rxInfo\": []}",
			 objects[k]);
		struct json_object *up = parse(up_text);
		struct json_object *bare = parse("{\"fCnt\": 8, \"rxInfo\": []}");
		struct json_object *reshaped = parse("{\"object\": {\"temperatureSensor\": 3,"
						     " \"nested\": [], \"accelerometer\": {}}}");
		for (size_t i = 0; i < s.n; i++) {
			eval_template(s.tpl[i], up, got, sizeof(got));
			if (s.cls[i].render == HASS_RENDER_NONZERO) {
				ck_assert_str_eq(got, strcmp(s.text[i], "0.0") ? "true" : "false");
			} else if (s.cls[i].render == HASS_RENDER_UNIXTIME) {
				char want[40];
				iso_utc((time_t)atof(s.text[i]), want, sizeof(want));
				ck_assert_str_eq(got, want);
			} else
				ck_assert_msg(strcmp(got, s.text[i]) == 0, "%s: %s gives '%s', want '%s'",
					      s.name[i], s.tpl[i], got, s.text[i]);
			/* without the field: '' where Home Assistant ignores it,
			 * else the entity's state, kept, unless it is no value
			 * (expired, never set): then 'None', never the words
			 * "unavailable" or "unknown" as the sensor's text */
			static const char *states[] = {THIS_STATE, "unavailable", "unknown"};
			for (size_t k2 = 0; k2 < 3; k2++) {
				this_state = states[k2];
				const char *none = !keeps_state(&s.cls[i]) ? ""
						   : k2 == 0 ? THIS_STATE : "None";
				eval_template(s.tpl[i], bare, got, sizeof(got));
				ck_assert_msg(strcmp(got, none) == 0,
					      "%s: %s gives '%s' without the field (state %s)",
					      s.name[i], s.tpl[i], got, this_state);
				eval_template(s.tpl[i], reshaped, got, sizeof(got));
				ck_assert_str_eq(got, none);
			}
			this_state = THIS_STATE;
		}
		json_object_put(up);
		json_object_put(bare);
		json_object_put(reshaped);
	}
}
END_TEST

START_TEST(test_template_capacity)
{
	struct json_object *o = parse("{\"temperature\": 1}");
	struct hass_leaf leaf = {.kind = HASS_NUMBER, .depth = 1};
	struct hass_class c;
	char out[16] = "x";

	strcpy(leaf.name, "temperature");
	leaf.path[0].key = "temperature";
	json_object_object_get_ex(o, "temperature", &leaf.value);
	hass_classify(&leaf, &c);
	ck_assert_int_eq(hass_value_template(&leaf, &c, out, sizeof(out)), LB_ERR_TOO_LARGE);
	ck_assert_str_eq(out, "");
	leaf.depth = 0;
	ck_assert_int_eq(hass_value_template(&leaf, &c, out, sizeof(out)), LB_ERR_INVAL);
	json_object_put(o);
}
END_TEST

START_TEST(test_value_text_capacity)
{
	struct json_object *o = parse("{\"s\": \"a long text\"}");
	struct hass_leaf leaf = {.kind = HASS_STRING, .depth = 1};
	char out[8];
	size_t len;

	json_object_object_get_ex(o, "s", &leaf.value);
	ck_assert_int_eq(hass_value_text(&leaf, out, sizeof(out), &len), LB_ERR_TOO_LARGE);
	ck_assert_str_eq(out, "");
	json_object_put(o);
}
END_TEST

START_TEST(test_diag_defs)
{
	const struct hass_diag_def *r = hass_diag(HASS_DIAG_RSSI);
	const struct hass_diag_def *t = hass_diag(HASS_DIAG_LAST_SEEN);

	ck_assert_str_eq(r->object_id, "link-rssi");
	ck_assert_str_eq(r->cls.device_class, "signal_strength");
	ck_assert_str_eq(r->cls.unit, "dBm");
	ck_assert_str_eq(r->value_template,
			 "{{ value_json.rxInfo | default([]) | selectattr('rssi', 'defined')"
			 " | map(attribute='rssi') | max | default('') }}");
	ck_assert_str_eq(hass_diag(HASS_DIAG_SNR)->cls.unit, "dB");
	ck_assert_str_eq(t->object_id, "last-seen");
	ck_assert_str_eq(t->cls.device_class, "timestamp");
	ck_assert_str_eq(t->value_template, "{{ value_json.time }}");
	ck_assert_ptr_null(hass_diag(HASS_N_DIAG));
	/* the diagnostics' ids cannot be field names ([A-Za-z0-9_] only) */
	for (int i = 0; i < HASS_N_DIAG; i++)
		ck_assert_ptr_nonnull(strchr(hass_diag((enum hass_diag)i)->object_id, '-'));
}
END_TEST

/* ---- discovery configs --------------------------------------------------- */

static const char *str_at(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

START_TEST(test_config_field)
{
	const struct hass_device_info dev = {.dev_eui = 0x0102030405060708ull, .name = "office-th",
					     .model = "LHT65"};
	const struct hass_entity e = {
		.object_id = "temperatureSensor_1", .name = "temperatureSensor_1",
		.state_topic = "application/building/device/0102030405060708/event/up",
		.value_template = "{{ x }}",
		.cls = {.component = "sensor", .device_class = "temperature", .unit = "°C",
			.state_class = "measurement"},
		.expire_after_s = 1800, .availability_topic = "lorabridge/lorabridge/state",
		.dev = &dev, .sw_version = "1.2.3",
	};
	char out[HASS_CONFIG_MAX];
	size_t len;

	ck_assert_int_eq(hass_json_config(&e, out, sizeof(out), &len), LB_OK);
	ck_assert_uint_eq(len, strlen(out));
	struct json_object *o = parse(out);
	ck_assert_str_eq(str_at(o, "name"), "temperatureSensor_1");
	ck_assert_str_eq(str_at(o, "unique_id"), "lorabridge_0102030405060708_temperatureSensor_1");
	ck_assert_str_eq(str_at(o, "state_topic"),
			 "application/building/device/0102030405060708/event/up");
	ck_assert_str_eq(str_at(o, "value_template"), "{{ x }}");
	ck_assert_str_eq(str_at(o, "device_class"), "temperature");
	ck_assert_str_eq(str_at(o, "unit_of_measurement"), "°C");
	ck_assert_str_eq(str_at(o, "state_class"), "measurement");
	ck_assert_str_eq(str_at(o, "expire_after"), "1800");
	ck_assert_str_eq(str_at(o, "availability_topic"), "lorabridge/lorabridge/state");
	ck_assert_str_eq(str_at(o, "payload_available"), "online");
	ck_assert_str_eq(str_at(o, "payload_not_available"), "offline");
	ck_assert_ptr_null(str_at(o, "entity_category"));
	ck_assert_ptr_null(str_at(o, "payload_on"));
	struct json_object *d, *ids, *origin;
	ck_assert(json_object_object_get_ex(o, "device", &d));
	ck_assert(json_object_object_get_ex(d, "identifiers", &ids));
	ck_assert_uint_eq(json_object_array_length(ids), 1);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(ids, 0)),
			 "0102030405060708");
	ck_assert_str_eq(str_at(d, "name"), "office-th");
	ck_assert_str_eq(str_at(d, "manufacturer"), "lorabridge");
	ck_assert_str_eq(str_at(d, "model"), "LHT65");
	ck_assert(json_object_object_get_ex(o, "origin", &origin));
	ck_assert_str_eq(str_at(origin, "name"), "lorabridge");
	ck_assert_str_eq(str_at(origin, "sw_version"), "1.2.3");
	/* topics keep their '/' unescaped, units their UTF-8 */
	ck_assert_ptr_nonnull(strstr(out, "\"application/building/device/"));
	ck_assert_ptr_nonnull(strstr(out, "\"°C\""));
	json_object_put(o);
}
END_TEST

START_TEST(test_config_diag_binary_and_errors)
{
	const struct hass_device_info dev = {.dev_eui = 1, .name = "d", .manufacturer = "Acme"};
	const struct hass_diag_def *x = hass_diag(HASS_DIAG_RSSI);
	struct hass_entity e = {
		.object_id = x->object_id, .name = x->name, .state_topic = "t",
		.value_template = x->value_template, .cls = x->cls, .diagnostic = true, .dev = &dev,
	};
	char out[HASS_CONFIG_MAX];
	size_t len;

	ck_assert_int_eq(hass_json_config(&e, out, sizeof(out), &len), LB_OK);
	struct json_object *o = parse(out), *d;
	ck_assert_str_eq(str_at(o, "unique_id"), "lorabridge_0000000000000001_link-rssi");
	ck_assert_str_eq(str_at(o, "entity_category"), "diagnostic");
	ck_assert_ptr_null(str_at(o, "expire_after"));
	ck_assert_ptr_null(str_at(o, "availability_topic"));
	ck_assert(json_object_object_get_ex(o, "device", &d));
	ck_assert_str_eq(str_at(d, "manufacturer"), "Acme");
	ck_assert_ptr_null(str_at(d, "model"));
	json_object_put(o);

	e.diagnostic = false;
	e.cls = (struct hass_class){.component = "binary_sensor", .device_class = "door",
				    .payload_on = "true", .payload_off = "false"};
	ck_assert_int_eq(hass_json_config(&e, out, sizeof(out), &len), LB_OK);
	o = parse(out);
	ck_assert_str_eq(str_at(o, "payload_on"), "true");
	ck_assert_str_eq(str_at(o, "payload_off"), "false");
	ck_assert_ptr_null(str_at(o, "unit_of_measurement"));
	json_object_put(o);

	ck_assert_int_eq(hass_json_config(&e, out, 64, &len), LB_ERR_TOO_LARGE);
	e.dev = NULL;
	ck_assert_int_eq(hass_json_config(&e, out, sizeof(out), &len), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_topic)
{
	char out[128];

	ck_assert_int_eq(hass_json_topic("homeassistant", "sensor", 0x0102030405060708ull,
					 "temperatureSensor_1", out, sizeof(out)), LB_OK);
	ck_assert_str_eq(out, "homeassistant/sensor/0102030405060708/temperatureSensor_1/config");
	ck_assert_int_eq(hass_json_topic("ha/disc", "binary_sensor", 0xa0, "door", out,
					 sizeof(out)), LB_OK);
	ck_assert_str_eq(out, "ha/disc/binary_sensor/00000000000000a0/door/config");
	ck_assert_int_eq(hass_json_topic("homeassistant", "sensor", 1, "x", out, 20),
			 LB_ERR_TOO_LARGE);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(hass_json_topic(NULL, "sensor", 1, "x", out, sizeof(out)), LB_ERR_INVAL);
}
END_TEST

/* Topics read back from the broker: only the shape hass_json_topic() writes. */
START_TEST(test_parse_topic)
{
	char topic[128], id[HASS_NAME_MAX];
	uint64_t eui = 0;

	ck_assert_int_eq(hass_json_topic("ha/disc", "binary_sensor", 0xa0, "door_open", topic,
					 sizeof(topic)), LB_OK);
	ck_assert_int_eq(hass_json_parse_topic("ha/disc", topic, &eui, id), LB_OK);
	ck_assert_uint_eq(eui, 0xa0);
	ck_assert_str_eq(id, "door_open");
	ck_assert_int_eq(hass_json_parse_topic("homeassistant",
					       "homeassistant/sensor/0102030405060708/link-rssi/config",
					       &eui, id), LB_OK);
	ck_assert_uint_eq(eui, 0x0102030405060708ull);
	ck_assert_str_eq(id, "link-rssi");

	static const char *const not_ours[] = {
		"homeassistant/sensor/0102030405060708/x/config/",      /* trailing level */
		"homeassistant/sensor/0102030405060708/x/state",
		"homeassistant/sensor/0102030405060708/config",          /* no node_id */
		"homeassistant/light/0102030405060708/x/config",         /* another component */
		"homeassistant/sensor/0102030405060708AB/x/config",      /* node_id length */
		"homeassistant/sensor/010203040506070g/x/config",
		"homeassistant/sensor/010203040506070A/x/config",        /* upper case */
		"homeassistant/sensor/0x0102030405060708/x/config",
		"homeassistant/sensor/0102030405060708/a.b/config",      /* object_id chars */
		"homeassistant/sensor/0102030405060708//config",
		"homeassistant2/sensor/0102030405060708/x/config",       /* another prefix */
		"other/sensor/0102030405060708/x/config",
		"homeassistant",
		"",
	};
	for (size_t i = 0; i < sizeof(not_ours) / sizeof(not_ours[0]); i++)
		ck_assert_msg(hass_json_parse_topic("homeassistant", not_ours[i], &eui, id) ==
			      LB_ERR_NOT_FOUND, "%s", not_ours[i]);
	/* object_id at most HASS_NAME_MAX - 1 characters */
	char longid[HASS_NAME_MAX + 1];
	memset(longid, 'a', HASS_NAME_MAX);
	longid[HASS_NAME_MAX] = '\0';
	snprintf(topic, sizeof(topic), "h/sensor/0102030405060708/%s/config", longid);
	ck_assert_int_eq(hass_json_parse_topic("h", topic, &eui, id), LB_ERR_NOT_FOUND);
	longid[HASS_NAME_MAX - 1] = '\0';
	snprintf(topic, sizeof(topic), "h/sensor/0102030405060708/%s/config", longid);
	ck_assert_int_eq(hass_json_parse_topic("h", topic, &eui, id), LB_OK);
	ck_assert_str_eq(id, longid);
	ck_assert_int_eq(hass_json_parse_topic(NULL, topic, &eui, id), LB_ERR_INVAL);
}
END_TEST

#define AVAIL "lorabridge/lb1/state"

static bool ours(const char *json, uint64_t eui, const char *id)
{
	return hass_json_is_ours(json, strlen(json), eui, id, AVAIL);
}

/* A config is ours when hass_json_config() wrote it for this DevEUI, field
 * and bridge; abbreviated keys count too. */
START_TEST(test_is_ours)
{
	const struct hass_device_info dev = {.dev_eui = 0x0102030405060708ull, .name = "th"};
	const struct hass_entity e = {
		.object_id = "temperatureSensor_1", .name = "temperatureSensor_1",
		.state_topic = "up", .value_template = "{{ x }}",
		.cls = {.component = "sensor"}, .availability_topic = AVAIL, .dev = &dev,
	};
	char out[HASS_CONFIG_MAX];
	size_t len;

	ck_assert_int_eq(hass_json_config(&e, out, sizeof(out), &len), LB_OK);
	ck_assert(hass_json_is_ours(out, len, dev.dev_eui, "temperatureSensor_1", AVAIL));
	/* another field, another device, another bridge */
	ck_assert(!hass_json_is_ours(out, len, dev.dev_eui, "humiditySensor_1", AVAIL));
	ck_assert(!hass_json_is_ours(out, len, 0x0102030405060709ull, "temperatureSensor_1",
				     AVAIL));
	ck_assert(!hass_json_is_ours(out, len, dev.dev_eui, "temperatureSensor_1",
				     "lorabridge/lb2/state"));
	/* cut short, not NUL-terminated: not JSON */
	ck_assert(!hass_json_is_ours(out, len - 1, dev.dev_eui, "temperatureSensor_1", AVAIL));
	ck_assert(!hass_json_is_ours(out, 0, dev.dev_eui, "temperatureSensor_1", AVAIL));

	ck_assert(ours("{\"uniq_id\":\"lorabridge_00000000000000a0_x\",\"avty_t\":\"" AVAIL "\","
		       "\"o\":{\"name\":\"lorabridge\"}}", 0xa0, "x"));
	/* another program with the same unique_id scheme, or no origin */
	ck_assert(!ours("{\"uniq_id\":\"lorabridge_00000000000000a0_x\",\"avty_t\":\"" AVAIL "\","
			"\"o\":{\"name\":\"zigbee2mqtt\"}}", 0xa0, "x"));
	ck_assert(!ours("{\"uniq_id\":\"lorabridge_00000000000000a0_x\",\"avty_t\":\"" AVAIL "\"}",
			0xa0, "x"));
	ck_assert(!ours("{\"uniq_id\":\"lorabridge_00000000000000a0_x\",\"avty_t\":\"" AVAIL "\","
			"\"o\":\"lorabridge\"}", 0xa0, "x"));
	/* no availability, a number for a string, not an object */
	ck_assert(!ours("{\"uniq_id\":\"lorabridge_00000000000000a0_x\","
			"\"o\":{\"name\":\"lorabridge\"}}", 0xa0, "x"));
	ck_assert(!ours("{\"uniq_id\":5,\"avty_t\":\"" AVAIL "\",\"o\":{\"name\":\"lorabridge\"}}",
			0xa0, "x"));
	ck_assert(!ours("[1,2]", 0xa0, "x"));
	ck_assert(!ours("online", 0xa0, "x"));
	ck_assert(!ours("{\"a\":1} trailing", 0xa0, "x"));
	/* larger than any config the bridge writes */
	static char big[HASS_CONFIG_MAX + 16];
	int n = snprintf(big, sizeof(big), "%s", out);
	memset(big + n - 1, ' ', sizeof(big) - (size_t)n);
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = '\0';
	ck_assert(!ours(big, dev.dev_eui, "temperatureSensor_1"));
}
END_TEST

static Suite *hass_json_suite(void)
{
	Suite *s = suite_create("hass_json");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_flatten_cayennelpp);
	tcase_add_test(tc, test_flatten_nested_arrays_names);
	tcase_add_test(tc, test_flatten_limits);
	tcase_add_test(tc, test_flatten_errors_and_stop);
	tcase_add_test(tc, test_classify_cayennelpp);
	tcase_add_test(tc, test_classify_cayennelpp_extended);
	tcase_add_test(tc, test_classify_by_name);
	tcase_add_test(tc, test_template_text);
	tcase_add_test(tc, test_template_reads_up_event);
	tcase_add_test(tc, test_template_capacity);
	tcase_add_test(tc, test_value_text_capacity);
	tcase_add_test(tc, test_diag_defs);
	tcase_add_test(tc, test_config_field);
	tcase_add_test(tc, test_config_diag_binary_and_errors);
	tcase_add_test(tc, test_topic);
	tcase_add_test(tc, test_parse_topic);
	tcase_add_test(tc, test_is_ours);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(hass_json_suite());
}
