/* SPDX-License-Identifier: MIT */
/*
 * hass_json.c - flattening, classification, templates and discovery
 * configs for Home Assistant. See hass_json.h.
 *
 * Home Assistant's vocabulary (device classes and their units) is that of
 * its "Sensor" and "Binary sensor" integration pages; the discovery keys
 * those of its "MQTT Sensor" / "MQTT Binary sensor" pages.
 */
#include "events/hass_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "base/hex.h"
#include "base/lb_err.h"
#include "events/event_json.h"

/* --- a bounded string builder ------------------------------------------ */

struct sbuf {
	char *p;
	size_t cap;
	size_t len;
	bool over;
};

static void sb_put(struct sbuf *s, const char *t, size_t n)
{
	if (s->over || s->len + n >= s->cap) {
		s->over = true;
		return;
	}
	memcpy(s->p + s->len, t, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void sb_puts(struct sbuf *s, const char *t)
{
	sb_put(s, t, strlen(t));
}

static int sb_done(struct sbuf *s)
{
	if (!s->over)
		return LB_OK;
	if (s->cap > 0)
		s->p[0] = '\0';
	return LB_ERR_TOO_LARGE;
}

/* --- flattening --------------------------------------------------------- */

struct walk {
	hass_leaf_fn fn;
	void *arg;
	size_t skipped;
	struct hass_leaf leaf;
};

static bool name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Append segment seg to leaf.name at *len; false when it does not fit. */
static bool name_append(struct hass_leaf *l, size_t *len, const struct hass_seg *seg)
{
	char num[24];
	const char *t = seg->key;

	if (!t) {
		snprintf(num, sizeof(num), "%zu", seg->index);
		t = num;
	} else if (!*t) {
		t = "_";    /* an empty key still makes a level of the name */
	}
	size_t n = strlen(t) + (*len > 0);
	if (*len + n >= HASS_NAME_MAX)
		return false;
	if (*len > 0)
		l->name[(*len)++] = '_';
	for (; *t; t++)
		l->name[(*len)++] = name_char_ok((unsigned char)*t) ? *t : '_';
	l->name[*len] = '\0';
	return true;
}

static int visit(struct walk *w, struct json_object *v, size_t depth, size_t len, bool name_ok);

static int visit_seg(struct walk *w, struct json_object *v, size_t depth, size_t len,
		     bool name_ok, struct hass_seg seg)
{
	w->leaf.path[depth] = seg;
	if (name_ok)
		name_ok = name_append(&w->leaf, &len, &seg);
	return visit(w, v, depth + 1, len, name_ok);
}

static int visit_container(struct walk *w, struct json_object *v, size_t depth, size_t len,
			   bool name_ok)
{
	if (depth == HASS_DEPTH_MAX) {
		w->skipped++;
		return LB_OK;
	}
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++) {
			struct hass_seg seg = {.key = NULL, .index = i};
			int rc = visit_seg(w, json_object_array_get_idx(v, i), depth, len, name_ok, seg);
			if (rc != LB_OK)
				return rc;
		}
		return LB_OK;
	}
	json_object_object_foreach(v, key, member) {
		struct hass_seg seg = {.key = key, .index = 0};
		int rc = visit_seg(w, member, depth, len, name_ok, seg);
		if (rc != LB_OK)
			return rc;
	}
	return LB_OK;
}

static int visit(struct walk *w, struct json_object *v, size_t depth, size_t len, bool name_ok)
{
	struct hass_leaf *l = &w->leaf;

	switch (json_object_get_type(v)) {
	case json_type_object:
	case json_type_array:
		return visit_container(w, v, depth, len, name_ok);
	case json_type_boolean:
		l->kind = HASS_BOOL;
		break;
	case json_type_double:
		if (!isfinite(json_object_get_double(v)))
			return LB_OK;   /* no JSON text for it: no value */
		l->kind = HASS_NUMBER;
		break;
	case json_type_int:
		l->kind = HASS_NUMBER;
		break;
	case json_type_string:
		l->kind = HASS_STRING;
		break;
	default:
		return LB_OK;           /* null: no value */
	}
	if (!name_ok) {
		w->skipped++;
		return LB_OK;
	}
	l->name[len] = '\0';
	l->value = v;
	l->depth = depth;
	return w->fn(w->arg, l);
}

int hass_flatten(struct json_object *object, hass_leaf_fn fn, void *arg, size_t *skipped)
{
	struct walk w;

	if (skipped)
		*skipped = 0;
	if (!object || !fn || !json_object_is_type(object, json_type_object))
		return LB_ERR_INVAL;
	memset(&w, 0, sizeof(w));
	w.fn = fn;
	w.arg = arg;
	int rc = visit_container(&w, object, 0, 0, true);
	if (skipped)
		*skipped = w.skipped;
	return rc;
}

/* --- classification ------------------------------------------------------ */

#define MEAS "measurement"
#define SENSOR(dc, u, sc) {.component = "sensor", .device_class = (dc), .unit = (u), \
			   .state_class = (sc)}
#define BINARY(dc) {.component = "binary_sensor", .device_class = (dc), \
		    .payload_on = "true", .payload_off = "false"}
#define BINARY_NUM(dc) {.component = "binary_sensor", .device_class = (dc), \
			.payload_on = "true", .payload_off = "false", \
			.render = HASS_RENDER_NONZERO}
#define UNIXTIME {.component = "sensor", .device_class = "timestamp", \
		  .render = HASS_RENDER_UNIXTIME}

/*
 * CayenneLPP, every type codec/cayennelpp.c decodes (ChirpStack's keys;
 * the twelve original types, then the extended ones): the value sits at
 * {type}/{channel} (member NULL) or {type}/{channel}/{member}, in the unit
 * of the type's scale.
 */
struct lpp_row {
	const char *type;
	const char *member;
	struct hass_class cls;
};

static const struct lpp_row lpp_rows[] = {
	{"digitalInput", NULL, SENSOR(NULL, NULL, MEAS)},
	{"digitalOutput", NULL, SENSOR(NULL, NULL, MEAS)},
	{"analogInput", NULL, SENSOR(NULL, NULL, MEAS)},
	{"analogOutput", NULL, SENSOR(NULL, NULL, MEAS)},
	{"illuminanceSensor", NULL, SENSOR("illuminance", "lx", MEAS)},
	{"presenceSensor", NULL, BINARY_NUM("occupancy")},
	{"temperatureSensor", NULL, SENSOR("temperature", "°C", MEAS)},
	{"humiditySensor", NULL, SENSOR("humidity", "%", MEAS)},
	{"accelerometer", "x", SENSOR(NULL, "g", MEAS)},
	{"accelerometer", "y", SENSOR(NULL, "g", MEAS)},
	{"accelerometer", "z", SENSOR(NULL, "g", MEAS)},
	{"barometer", NULL, SENSOR("pressure", "hPa", MEAS)},
	{"gyrometer", "x", SENSOR(NULL, "°/s", MEAS)},
	{"gyrometer", "y", SENSOR(NULL, "°/s", MEAS)},
	{"gyrometer", "z", SENSOR(NULL, "°/s", MEAS)},
	{"gpsLocation", "latitude", SENSOR(NULL, "°", NULL)},
	{"gpsLocation", "longitude", SENSOR(NULL, "°", NULL)},
	{"gpsLocation", "altitude", SENSOR("distance", "m", MEAS)},
	{"genericSensor", NULL, SENSOR(NULL, NULL, MEAS)},
	{"voltage", NULL, SENSOR("voltage", "V", MEAS)},
	{"current", NULL, SENSOR("current", "A", MEAS)},
	{"frequency", NULL, SENSOR("frequency", "Hz", MEAS)},
	{"percentage", NULL, SENSOR(NULL, "%", MEAS)},
	{"altitude", NULL, SENSOR("distance", "m", MEAS)},
	{"concentration", NULL, SENSOR(NULL, "ppm", MEAS)},
	{"power", NULL, SENSOR("power", "W", MEAS)},
	{"distance", NULL, SENSOR("distance", "m", MEAS)},
	{"energy", NULL, SENSOR("energy", "kWh", "total_increasing")},
	{"direction", NULL, SENSOR(NULL, "°", NULL)},
	{"unixtime", NULL, UNIXTIME},
	{"colour", "r", SENSOR(NULL, NULL, NULL)},
	{"colour", "g", SENSOR(NULL, NULL, NULL)},
	{"colour", "b", SENSOR(NULL, NULL, NULL)},
	{"switch", NULL, BINARY_NUM(NULL)},
};

/*
 * Common names of JavaScript codecs' fields, matched against the leaf's
 * last key with case and non-alphanumerics ignored. A row applies to one
 * kind of value, and to numbers only below `below` (battery: a value under
 * 5 is a voltage, otherwise a percentage).
 */
struct name_row {
	const char *name;               /* lowercase alphanumerics */
	enum hass_kind kind;
	double below;
	struct hass_class cls;
};

static const struct name_row name_rows[] = {
	{"temperature", HASS_NUMBER, INFINITY, SENSOR("temperature", "°C", MEAS)},
	{"temp", HASS_NUMBER, INFINITY, SENSOR("temperature", "°C", MEAS)},
	{"humidity", HASS_NUMBER, INFINITY, SENSOR("humidity", "%", MEAS)},
	{"battery", HASS_NUMBER, 5.0, SENSOR("voltage", "V", MEAS)},
	{"battery", HASS_NUMBER, INFINITY, SENSOR("battery", "%", MEAS)},
	{"batterylevel", HASS_NUMBER, INFINITY, SENSOR("battery", "%", MEAS)},
	{"batteryvoltage", HASS_NUMBER, INFINITY, SENSOR("voltage", "V", MEAS)},
	{"pressure", HASS_NUMBER, INFINITY, SENSOR("pressure", "hPa", MEAS)},
	{"co2", HASS_NUMBER, INFINITY, SENSOR("carbon_dioxide", "ppm", MEAS)},
	{"illuminance", HASS_NUMBER, INFINITY, SENSOR("illuminance", "lx", MEAS)},
	{"light", HASS_NUMBER, INFINITY, SENSOR("illuminance", "lx", MEAS)},
	{"lux", HASS_NUMBER, INFINITY, SENSOR("illuminance", "lx", MEAS)},
	{"voltage", HASS_NUMBER, INFINITY, SENSOR("voltage", "V", MEAS)},
	{"current", HASS_NUMBER, INFINITY, SENSOR("current", "A", MEAS)},
	{"power", HASS_NUMBER, INFINITY, SENSOR("power", "W", MEAS)},
	{"energy", HASS_NUMBER, INFINITY, SENSOR("energy", "kWh", "total_increasing")},
	/* U+00B5 MICRO SIGN: Home Assistant up to 2025.8 takes only it, and its
	 * MQTT sensors translate it to its U+03BC constant from 2025.9 on. */
	{"pm1", HASS_NUMBER, INFINITY, SENSOR("pm1", "µg/m³", MEAS)},
	{"pm25", HASS_NUMBER, INFINITY, SENSOR("pm25", "µg/m³", MEAS)},
	{"pm10", HASS_NUMBER, INFINITY, SENSOR("pm10", "µg/m³", MEAS)},
	{"distance", HASS_NUMBER, INFINITY, SENSOR("distance", "m", MEAS)},
	{"altitude", HASS_NUMBER, INFINITY, SENSOR("distance", "m", MEAS)},
	{"frequency", HASS_NUMBER, INFINITY, SENSOR("frequency", "Hz", MEAS)},
	{"moisture", HASS_NUMBER, INFINITY, SENSOR("moisture", "%", MEAS)},
	{"soilmoisture", HASS_NUMBER, INFINITY, SENSOR("moisture", "%", MEAS)},
	{"windspeed", HASS_NUMBER, INFINITY, SENSOR("wind_speed", "m/s", MEAS)},
	{"noise", HASS_NUMBER, INFINITY, SENSOR("sound_pressure", "dB", MEAS)},
	{"weight", HASS_NUMBER, INFINITY, SENSOR("weight", "kg", MEAS)},
	{"counter", HASS_NUMBER, INFINITY, SENSOR(NULL, NULL, "total_increasing")},
	{"count", HASS_NUMBER, INFINITY, SENSOR(NULL, NULL, "total_increasing")},
	{"door", HASS_BOOL, INFINITY, BINARY("door")},
	{"dooropen", HASS_BOOL, INFINITY, BINARY("door")},
	{"window", HASS_BOOL, INFINITY, BINARY("window")},
	{"windowopen", HASS_BOOL, INFINITY, BINARY("window")},
	{"motion", HASS_BOOL, INFINITY, BINARY("motion")},
	{"occupancy", HASS_BOOL, INFINITY, BINARY("occupancy")},
	{"occupied", HASS_BOOL, INFINITY, BINARY("occupancy")},
	{"presence", HASS_BOOL, INFINITY, BINARY("occupancy")},
	{"leak", HASS_BOOL, INFINITY, BINARY("moisture")},
	{"waterleak", HASS_BOOL, INFINITY, BINARY("moisture")},
	{"smoke", HASS_BOOL, INFINITY, BINARY("smoke")},
	{"tamper", HASS_BOOL, INFINITY, BINARY("tamper")},
	{"vibration", HASS_BOOL, INFINITY, BINARY("vibration")},
};

static const struct hass_class plain_number = SENSOR(NULL, NULL, MEAS);
static const struct hass_class plain_bool = BINARY(NULL);
static const struct hass_class plain_string = SENSOR(NULL, NULL, NULL);

static const struct lpp_row *lpp_match(const struct hass_leaf *l)
{
	if (l->kind != HASS_NUMBER || l->depth < 2 || l->depth > 3 || !l->path[1].key)
		return NULL;
	const char *member = l->depth == 3 ? l->path[2].key : NULL;
	if (l->depth == 3 && !member)
		return NULL;
	for (size_t i = 0; i < sizeof(lpp_rows) / sizeof(lpp_rows[0]); i++) {
		const struct lpp_row *r = &lpp_rows[i];
		if (strcmp(r->type, l->path[0].key) != 0)
			continue;
		if (!r->member ? !member : (member && strcmp(r->member, member) == 0))
			return r;
	}
	return NULL;
}

/* key equals row (lowercase alphanumerics) ignoring case and other characters. */
static bool loose_eq(const char *key, const char *row)
{
	for (;; key++) {
		unsigned char c = (unsigned char)*key;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		else if (c && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			continue;
		if (c != (unsigned char)*row)
			return false;
		if (!c)
			return true;
		row++;
	}
}

static const char *last_key(const struct hass_leaf *l)
{
	for (size_t i = l->depth; i > 0; i--)
		if (l->path[i - 1].key)
			return l->path[i - 1].key;
	return NULL;
}

static const struct name_row *name_match(const struct hass_leaf *l)
{
	const char *key = last_key(l);

	if (!key || l->kind == HASS_STRING)
		return NULL;
	double v = l->kind == HASS_NUMBER ? json_object_get_double(l->value) : 0;
	for (size_t i = 0; i < sizeof(name_rows) / sizeof(name_rows[0]); i++) {
		const struct name_row *r = &name_rows[i];
		if (r->kind == l->kind && v < r->below && loose_eq(key, r->name))
			return r;
	}
	return NULL;
}

void hass_classify(const struct hass_leaf *leaf, struct hass_class *out)
{
	const struct lpp_row *lpp = lpp_match(leaf);
	if (lpp) {
		*out = lpp->cls;
		return;
	}
	const struct name_row *nr = name_match(leaf);
	if (nr) {
		*out = nr->cls;
		return;
	}
	*out = leaf->kind == HASS_NUMBER ? plain_number
	       : leaf->kind == HASS_BOOL ? plain_bool : plain_string;
}

/* --- templates ------------------------------------------------------------ */

/* A Jinja string literal (Python escapes) that also holds no template
 * delimiters, so the expression reads the same to any tool. */
static void put_key(struct sbuf *s, const char *key)
{
	sb_puts(s, "[\"");
	for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
		if (*k < 0x20 || *k == 0x7f || strchr("\"\\{}%#", *k)) {
			char esc[5];
			snprintf(esc, sizeof(esc), "\\x%02x", *k);
			sb_put(s, esc, 4);
		} else {
			sb_put(s, (const char *)k, 1);
		}
	}
	sb_puts(s, "\"]");
}

/* En of hass_json.h for the leaf's path. */
static void put_path(struct sbuf *s, const struct hass_leaf *l)
{
	for (size_t i = 0; i < l->depth; i++)
		sb_puts(s, "(");
	sb_puts(s, "value_json.object");
	for (size_t i = 0; i < l->depth; i++) {
		sb_puts(s, " | default({}))");
		if (l->path[i].key) {
			put_key(s, l->path[i].key);
		} else {
			char idx[32];
			int n = snprintf(idx, sizeof(idx), "[%zu]", l->path[i].index);
			sb_put(s, idx, (size_t)n);
		}
	}
}

/*
 * Does Home Assistant take '' as "no value" for this entity? Its MQTT
 * sensor drops an empty state only where it expects a number (a unit or a
 * state_class); a binary_sensor ignores a payload that is neither
 * payload_on nor payload_off. A text sensor would show '', and a timestamp
 * sensor '' is no date: those keep their state instead (HASS_KEEP below).
 */
static bool empty_ignored(const struct hass_class *cls)
{
	if (strcmp(cls->component, "sensor") != 0)
		return true;
	if (cls->device_class && strcmp(cls->device_class, "timestamp") == 0)
		return false;
	return cls->unit != NULL || cls->state_class != NULL;
}

/*
 * The entity's present state, for a template to render when the field is
 * absent: "In addition, the template variables entity_id, name and this are
 * available for MQTT entity value templates. The this attribute refers to
 * the entity state of the MQTT item." (Home Assistant, "Templating", Using
 * value templates with MQTT:
 * https://www.home-assistant.io/docs/configuration/templating/#using-value-templates-with-mqtt;
 * core: homeassistant/components/mqtt/models.py, ATTR_THIS = "this").
 * But not a state that is no value: an entity past its expire_after is
 * "unavailable", one that never had a value "unknown", and kept as they are
 * those would become the sensor's text. It gets 'None' instead, which the
 * MQTT sensor takes as no value (PAYLOAD_NONE: the state becomes
 * "unknown"; homeassistant/components/mqtt/sensor.py, for every device
 * class since home-assistant/core#127032, 2024.10; documented by
 * home-assistant.io#38485). An older Home Assistant shows a text sensor's
 * 'None' as that text, a timestamp's as "unknown" with a warning: still no
 * stale word taken for a value. A field that is there renders its own.
 */
#define HASS_KEEP "this.state if this.state not in ['unavailable', 'unknown'] else 'None'"

int hass_value_template(const struct hass_leaf *leaf, const struct hass_class *cls, char *out,
			size_t cap)
{
	struct sbuf s = {.p = out, .cap = cap};

	if (!leaf || !cls || !cls->component || !out || cap == 0 || leaf->depth == 0)
		return LB_ERR_INVAL;
	out[0] = '\0';
	bool keep = !empty_ignored(cls);
	if (cls->render != HASS_RENDER_VALUE) {
		/* Undefined (the field absent) is no number */
		bool nonzero = cls->render == HASS_RENDER_NONZERO;
		sb_puts(&s, "{{ ");
		sb_puts(&s, keep ? "(" HASS_KEEP ")" : "''");
		sb_puts(&s, " if ");
		put_path(&s, leaf);
		sb_puts(&s, nonzero ? " is not number else (" : " is not number else ");
		put_path(&s, leaf);
		sb_puts(&s, nonzero ? " != 0) | lower }}" : " | timestamp_utc }}");
		return sb_done(&s);
	}
	sb_puts(&s, "{{ ");
	put_path(&s, leaf);
	sb_puts(&s, " | default(");
	sb_puts(&s, keep ? HASS_KEEP : "''");
	sb_puts(&s, leaf->kind == HASS_BOOL ? ") | lower }}" : ") }}");
	return sb_done(&s);
}

int hass_value_text(const struct hass_leaf *leaf, char *out, size_t cap, size_t *len)
{
	struct sbuf s = {.p = out, .cap = cap};

	if (!leaf || !out || !len || cap == 0)
		return LB_ERR_INVAL;
	out[0] = '\0';
	switch (leaf->kind) {
	case HASS_BOOL:
		sb_puts(&s, json_object_get_boolean(leaf->value) ? "true" : "false");
		break;
	case HASS_STRING:
		sb_put(&s, json_object_get_string(leaf->value),
		       (size_t)json_object_get_string_len(leaf->value));
		break;
	default: {
		size_t n = 0;
		const char *t = json_object_to_json_string_length(leaf->value,
								   JSON_C_TO_STRING_PLAIN, &n);
		if (!t)
			return LB_ERR_NOMEM;
		sb_put(&s, t, n);
	}
	}
	*len = s.len;
	return sb_done(&s);
}

/* --- link diagnostics ------------------------------------------------------ */

/* The best reception of the uplink: the highest value among the rxInfo
 * entries that carry it (a FSK reception has no rssi/snr). */
#define BEST_OF(k) "{{ value_json.rxInfo | default([]) | selectattr('" k "', 'defined') " \
		   "| map(attribute='" k "') | max | default('') }}"

static const struct hass_diag_def diags[HASS_N_DIAG] = {
	[HASS_DIAG_RSSI] = {"link-rssi", "RSSI", BEST_OF("rssi"),
			    SENSOR("signal_strength", "dBm", MEAS)},
	[HASS_DIAG_SNR] = {"link-snr", "SNR", BEST_OF("snr"),
			   SENSOR("signal_strength", "dB", MEAS)},
	[HASS_DIAG_LAST_SEEN] = {"last-seen", "Last seen", "{{ value_json.time }}",
				 SENSOR("timestamp", NULL, NULL)},
};

const struct hass_diag_def *hass_diag(enum hass_diag which)
{
	return (unsigned)which < HASS_N_DIAG ? &diags[which] : NULL;
}

/* --- device status --------------------------------------------------------- */

static const struct hass_status_def status_ents[HASS_N_STATUS] = {
	[HASS_STATUS_BATTERY] = {"status-battery", "Battery",
				 "{{ '' if value_json.batteryLevelUnavailable or "
				 "value_json.externalPowerSource else value_json.batteryLevel "
				 "| default('') }}",
				 SENSOR("battery", "%", MEAS), false},
	[HASS_STATUS_MARGIN] = {"status-margin", "Link margin",
				"{{ value_json.margin | default('') }}",
				SENSOR("signal_strength", "dB", MEAS), true},
};

const struct hass_status_def *hass_status_entity(enum hass_status_ent which)
{
	return (unsigned)which < HASS_N_STATUS ? &status_ents[which] : NULL;
}

/* --- discovery config ------------------------------------------------------- */

static void add(struct json_object *o, const char *key, struct json_object *v, int *err)
{
	if (!v || json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_CONSTANT_KEY) != 0) {
		json_object_put(v);
		*err = LB_ERR_NOMEM;
	}
}

static void add_str(struct json_object *o, const char *key, const char *v, int *err)
{
	if (v)
		add(o, key, json_object_new_string(v), err);
}

static struct json_object *device_block(const struct hass_device_info *d, int *err)
{
	char eui[17];

	snprintf(eui, sizeof(eui), "%016" PRIx64, d->dev_eui);
	struct json_object *o = json_object_new_object();
	struct json_object *ids = json_object_new_array();
	struct json_object *id = json_object_new_string(eui);
	bool ok = o && ids && id && json_object_array_add(ids, id) == 0;
	if (ok)
		id = NULL;              /* now owned by ids */
	if (!ok) {
		json_object_put(o);
		json_object_put(ids);
		json_object_put(id);
		*err = LB_ERR_NOMEM;
		return NULL;
	}
	add(o, "identifiers", ids, err);
	add_str(o, "name", d->name, err);
	add_str(o, "manufacturer", d->manufacturer ? d->manufacturer : "lorabridge", err);
	add_str(o, "model", d->model, err);
	return o;
}

static void add_class(struct json_object *o, const struct hass_class *c, int *err)
{
	add_str(o, "device_class", c->device_class, err);
	add_str(o, "unit_of_measurement", c->unit, err);
	add_str(o, "state_class", c->state_class, err);
	add_str(o, "payload_on", c->payload_on, err);
	add_str(o, "payload_off", c->payload_off, err);
}

int hass_json_config(const struct hass_entity *e, char *out, size_t cap, size_t *len)
{
	char uid[HASS_NAME_MAX + 32];
	int err = LB_OK;

	if (!e || !e->object_id || !e->name || !e->state_topic || !e->value_template || !e->dev ||
	    !e->dev->name || !out || !len)
		return LB_ERR_INVAL;
	struct json_object *o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	snprintf(uid, sizeof(uid), "lorabridge_%016" PRIx64 "_%s", e->dev->dev_eui, e->object_id);
	add_str(o, "name", e->name, &err);
	add_str(o, "unique_id", uid, &err);
	add_str(o, "state_topic", e->state_topic, &err);
	add_str(o, "value_template", e->value_template, &err);
	add_class(o, &e->cls, &err);
	if (e->diagnostic)
		add_str(o, "entity_category", "diagnostic", &err);
	if (e->expire_after_s > 0)
		add(o, "expire_after", json_object_new_int(e->expire_after_s), &err);
	if (e->availability_topic) {
		add_str(o, "availability_topic", e->availability_topic, &err);
		add_str(o, "payload_available", "online", &err);
		add_str(o, "payload_not_available", "offline", &err);
	}
	if (err == LB_OK)
		add(o, "device", device_block(e->dev, &err), &err);
	struct json_object *origin = json_object_new_object();
	if (origin) {
		add_str(origin, "name", "lorabridge", &err);
		add_str(origin, "sw_version", e->sw_version, &err);
	}
	add(o, "origin", origin, &err);
	int rc = err == LB_OK ? event_json_write(o, out, cap, len) : err;
	json_object_put(o);
	if (rc != LB_OK && cap > 0)
		out[0] = '\0';
	return rc;
}

int hass_json_topic(const char *prefix, const char *component, uint64_t dev_eui,
		    const char *object_id, char *out, size_t cap)
{
	if (!prefix || !component || !object_id || !out || cap == 0)
		return LB_ERR_INVAL;
	int n = snprintf(out, cap, "%s/%s/%016" PRIx64 "/%s/config", prefix, component, dev_eui,
			 object_id);
	if (n < 0 || (size_t)n >= cap) {
		out[0] = '\0';
		return LB_ERR_TOO_LARGE;
	}
	return LB_OK;
}

/* --- configs read back ---------------------------------------------------- */

static const char *const components[] = {"sensor", "binary_sensor"};

/* The level at *p (up to '/' or the end) into out (cap bytes); *p moves past it. */
static bool take_level(const char **p, char *out, size_t cap)
{
	size_t n = strcspn(*p, "/");

	if (n == 0 || n >= cap)
		return false;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	if (**p == '/')
		(*p)++;
	return true;
}

static bool object_id_ok(const char *s)
{
	for (; *s; s++)
		if (!name_char_ok((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

int hass_json_parse_topic(const char *prefix, const char *topic, uint64_t *dev_eui,
			  char *object_id)
{
	char comp[16], node[17], eui_text[17], last[8];

	if (!prefix || !topic || !dev_eui || !object_id)
		return LB_ERR_INVAL;
	size_t plen = strlen(prefix);
	if (strncmp(topic, prefix, plen) != 0 || topic[plen] != '/')
		return LB_ERR_NOT_FOUND;
	const char *p = topic + plen + 1;
	if (!take_level(&p, comp, sizeof(comp)) || !take_level(&p, node, sizeof(node)) ||
	    !take_level(&p, object_id, HASS_NAME_MAX) || !take_level(&p, last, sizeof(last)) ||
	    *p || p[-1] == '/' || strcmp(last, "config") != 0 || !object_id_ok(object_id))
		return LB_ERR_NOT_FOUND;
	bool known = false;
	for (size_t i = 0; i < sizeof(components) / sizeof(components[0]); i++)
		known = known || strcmp(comp, components[i]) == 0;
	uint64_t eui = 0;
	if (!known || hex_parse_u64_eui(node, &eui) != LB_OK)
		return LB_ERR_NOT_FOUND;
	hex_format_eui(eui, eui_text);
	if (strcmp(eui_text, node) != 0)
		return LB_ERR_NOT_FOUND;  /* upper case: not a node_id we write */
	*dev_eui = eui;
	return LB_OK;
}

/* The string member `key`, or its abbreviation `abbr`; NULL if neither. */
static const char *member_str(struct json_object *o, const char *key, const char *abbr)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) && !json_object_object_get_ex(o, abbr, &v))
		return NULL;
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool config_is_ours(struct json_object *o, const char *uid, const char *availability)
{
	struct json_object *origin = NULL;

	if (!json_object_is_type(o, json_type_object) ||
	    (!json_object_object_get_ex(o, "origin", &origin) &&
	     !json_object_object_get_ex(o, "o", &origin)) ||
	    !json_object_is_type(origin, json_type_object))
		return false;
	const char *name = member_str(origin, "name", "name");
	const char *u = member_str(o, "unique_id", "uniq_id");
	const char *a = member_str(o, "availability_topic", "avty_t");
	return name && u && a && strcmp(name, "lorabridge") == 0 && strcmp(u, uid) == 0 &&
	       strcmp(a, availability) == 0;
}

bool hass_json_is_ours(const void *payload, size_t len, uint64_t dev_eui, const char *object_id,
		       const char *availability)
{
	char uid[HASS_NAME_MAX + 32];

	if (!payload || len == 0 || len >= HASS_CONFIG_MAX || !object_id || !availability)
		return false;
	snprintf(uid, sizeof(uid), "lorabridge_%016" PRIx64 "_%s", dev_eui, object_id);
	struct json_tokener *tok = json_tokener_new_ex(HASS_DEPTH_MAX);
	if (!tok)
		return false;
	struct json_object *o = json_tokener_parse_ex(tok, payload, (int)len);
	bool done = o && json_tokener_get_error(tok) == json_tokener_success &&
		    json_tokener_get_parse_end(tok) == len;
	bool ours = done && config_is_ours(o, uid, availability);
	json_object_put(o);
	json_tokener_free(tok);
	return ours;
}
