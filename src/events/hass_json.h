/* SPDX-License-Identifier: MIT */
/*
 * hass_json.h - Home Assistant MQTT discovery, the pure part: a decoded
 * payload (an up event's `object`) flattened into fields, each field
 * classified (Home Assistant component, device_class, unit, state_class)
 * from a table, and the discovery config of a field built as JSON. No I/O,
 * no clock, no logging, no globals; daemon/hass.h decides when to publish.
 *
 * Discovery (Home Assistant, "MQTT Discovery"): a retained JSON config on
 *   {prefix}/{component}/{node_id}/{object_id}/config
 * creates an entity; an empty retained message removes it. node_id and
 * object_id may only hold [a-zA-Z0-9_-]. Here node_id is the DevEUI (16
 * lowercase hex digits) and object_id the field's flattened name, or one of
 * the link diagnostics "link-rssi", "link-snr", "last-seen" and the status
 * entities "status-battery", "status-margin" (the hyphen keeps them apart
 * from field names, which never hold one).
 *
 * Flattening: the members of `object` are walked depth first; a leaf is a
 * number, a boolean or a string (null is no value: skipped). Its name is
 * the keys and array indexes of its path joined by '_', every character
 * outside [A-Za-z0-9_] replaced by '_':
 *   {"temperatureSensor": {"1": 21.5}}     -> temperatureSensor_1
 *   {"accelerometer": {"3": {"x": 0.1}}}   -> accelerometer_3_x
 *   {"levels": [3, 4]}                     -> levels_0, levels_1
 *   {"door open": true}                    -> door_open
 * A name is at most HASS_NAME_MAX - 1 bytes and a path HASS_DEPTH_MAX
 * levels; a leaf beyond either is skipped and counted. Two paths that give
 * one name are one field (the first one seen defines it).
 *
 * value_template: the state topic of every field is the device's own up
 * event, so the template reads the field out of it. Its form (Jinja, as
 * Home Assistant renders it) is, for the path k1/k2/.../kn:
 *   E0     = value_json.object
 *   Ei     = (E(i-1) | default({}))[Si]       Si = "key" (a Jinja string
 *                                             literal) or an array index
 *   number, string: {{ En | default(N) }}
 *   boolean:        {{ En | default(N) | lower }}   ("true" / "false")
 *   a number shown as a binary_sensor (CayenneLPP presence, switch):
 *                   {{ N if En is not number else (En != 0) | lower }}
 *   seconds since 1970 shown as a timestamp (CayenneLPP unixtime):
 *                   {{ N if En is not number else En | timestamp_utc }}
 *                   (timestamp_utc: Home Assistant's filter, ISO 8601 UTC)
 * N is what an up event without the field (another FPort, no `object`)
 * renders, instead of failing on an undefined value: '' for a
 * binary_sensor and for a numeric sensor (one with a unit or a
 * state_class), which Home Assistant ignores; for any other sensor (text,
 * timestamp), which would show '', the entity's present state, unless that
 * is no value (expired: "unavailable"; never set: "unknown"), then 'None',
 * which Home Assistant takes as no value ("this": Home Assistant's MQTT
 * value templates, hass_json.c):
 *   N = this.state if this.state not in ['unavailable', 'unknown'] else 'None'
 * written (N) in the `N if` forms. In the key strings '"', '\', '{', '}',
 * '%', '#' and control characters are written \xNN.
 *
 * Errors: LB_ERR_INVAL (NULL or a non-object input), LB_ERR_TOO_LARGE (an
 * output does not fit cap; out[0] = '\0' when cap > 0), LB_ERR_NOMEM
 * (json-c). Ownership: leaves borrow from the object they were made from.
 */
#ifndef LB_HASS_JSON_H
#define LB_HASS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define HASS_NAME_MAX 64            /* flattened name + NUL */
#define HASS_DEPTH_MAX 8            /* levels of a path below `object` */
#define HASS_TEMPLATE_MAX 1024      /* a value_template + NUL */
#define HASS_CONFIG_MAX 4096        /* a discovery config with its device block */
#define HASS_VALUE_MAX 512          /* a field's value on its own (publish_fields) */

enum hass_kind { HASS_NUMBER = 0, HASS_BOOL = 1, HASS_STRING = 2 };

/* One level of a path: a key, or (key NULL) an array index. */
struct hass_seg {
	const char *key;
	size_t index;
};

struct hass_leaf {
	char name[HASS_NAME_MAX];
	enum hass_kind kind;
	struct json_object *value;       /* borrowed */
	struct hass_seg path[HASS_DEPTH_MAX];
	size_t depth;                    /* 1..HASS_DEPTH_MAX */
};

/* Called for each leaf in document order. A result other than LB_OK stops
 * the walk and is returned by hass_flatten(). The leaf lives for the call. */
typedef int (*hass_leaf_fn)(void *arg, const struct hass_leaf *leaf);

/*
 * Walk object (a JSON object) and call fn for each leaf. *skipped (may be
 * NULL) counts the leaves left out for depth or name length. No allocation.
 * Returns LB_OK, LB_ERR_INVAL (object NULL or not an object) or fn's result.
 */
int hass_flatten(struct json_object *object, hass_leaf_fn fn, void *arg, size_t *skipped);

/* The value as is (booleans as "true"/"false"), a number as on/off (!= 0),
 * or a Unix time in seconds as an ISO 8601 timestamp. */
enum hass_render { HASS_RENDER_VALUE = 0, HASS_RENDER_NONZERO, HASS_RENDER_UNIXTIME };

/* What a field is to Home Assistant. Strings are static. */
struct hass_class {
	const char *component;           /* "sensor" or "binary_sensor" */
	const char *device_class;        /* NULL = none */
	const char *unit;                /* unit_of_measurement, NULL = none */
	const char *state_class;         /* "measurement", "total_increasing", NULL */
	const char *payload_on;          /* binary_sensor: rendered values */
	const char *payload_off;
	enum hass_render render;         /* how the template turns the value into a state */
};

/*
 * Classify a leaf, first match wins:
 *   1. CayenneLPP (codec/cayennelpp.h: {"<type>": {"<channel>": value}} or
 *      {"<type>": {"<channel>": {"x": ..}}}): by type and member;
 *   2. by the leaf's last key, case, '_' and '-' ignored ("batteryLevel" =
 *      "battery_level"), for the kind of value (numbers, booleans);
 *   3. otherwise: a number is a plain "measurement" sensor, a boolean a
 *      binary_sensor, a string a sensor without class.
 * Both tables are in hass_json.c, one row per name.
 */
void hass_classify(const struct hass_leaf *leaf, struct hass_class *out);

/* The value_template of a leaf classified as cls (form above) into out. */
int hass_value_template(const struct hass_leaf *leaf, const struct hass_class *cls, char *out,
			size_t cap);

/* The leaf's value on its own: a number as in the up event ("21.5"), a
 * boolean "true"/"false", a string as is (no quotes). */
int hass_value_text(const struct hass_leaf *leaf, char *out, size_t cap, size_t *len);

/* The link diagnostics every device gets (entity_category "diagnostic"). */
enum hass_diag { HASS_DIAG_RSSI = 0, HASS_DIAG_SNR, HASS_DIAG_LAST_SEEN, HASS_N_DIAG };

struct hass_diag_def {
	const char *object_id;           /* "link-rssi" */
	const char *name;                /* "RSSI" */
	const char *value_template;      /* best of rxInfo; `time` */
	struct hass_class cls;
};

const struct hass_diag_def *hass_diag(enum hass_diag which);

/*
 * The device status entities, from the device's `status` events (DevStatusAns,
 * TS001-1.0.4 §5.5, as events/event_json.h writes it), their state topic:
 *   "status-battery": batteryLevel, device_class battery, %, measurement;
 *                     '' (no state) when batteryLevelUnavailable or
 *                     externalPowerSource is true;
 *   "status-margin":  margin (the SNR in dB of the DevStatusReq the device
 *                     answered), a diagnostic.
 */
enum hass_status_ent { HASS_STATUS_BATTERY = 0, HASS_STATUS_MARGIN, HASS_N_STATUS };

struct hass_status_def {
	const char *object_id;           /* "status-battery" */
	const char *name;                /* "Battery" */
	const char *value_template;
	struct hass_class cls;
	bool diagnostic;                 /* entity_category "diagnostic" */
};

const struct hass_status_def *hass_status_entity(enum hass_status_ent which);

/* The device block that groups a device's entities. */
struct hass_device_info {
	uint64_t dev_eui;                /* identifiers: ["<dev_eui>"] */
	const char *name;                /* the configured device name */
	const char *manufacturer;        /* NULL = "lorabridge" */
	const char *model;               /* NULL = omitted */
};

/* One entity's discovery config. */
struct hass_entity {
	const char *object_id;           /* field name or a diagnostic's id */
	const char *name;                /* entity name shown under the device */
	const char *state_topic;         /* the device's up event topic */
	const char *value_template;
	struct hass_class cls;
	bool diagnostic;                 /* entity_category "diagnostic" */
	int expire_after_s;              /* 0 = omitted */
	const char *availability_topic;  /* "online"/"offline"; NULL = omitted */
	const struct hass_device_info *dev;
	const char *sw_version;          /* origin.sw_version, NULL = omitted */
};

/*
 * The config JSON: name, unique_id ("lorabridge_<dev_eui>_<object_id>"),
 * state_topic, value_template, device_class, unit_of_measurement,
 * state_class, payload_on/off (binary), entity_category, expire_after,
 * availability_topic with payload_available "online" and
 * payload_not_available "offline", device {identifiers, name, manufacturer,
 * model}, origin {name "lorabridge", sw_version}. Absent values are omitted.
 */
int hass_json_config(const struct hass_entity *e, char *out, size_t cap, size_t *len);

/* {prefix}/{component}/{dev_eui}/{object_id}/config into out. */
int hass_json_topic(const char *prefix, const char *component, uint64_t dev_eui,
		    const char *object_id, char *out, size_t cap);

/*
 * The reverse of hass_json_topic(), for a retained config read back from
 * the broker: *dev_eui and object_id (HASS_NAME_MAX bytes) out of
 * {prefix}/{sensor|binary_sensor}/{dev_eui}/{object_id}/config. Errors:
 * LB_ERR_INVAL (NULL), LB_ERR_NOT_FOUND (another prefix or shape, a node_id
 * that is not 16 lowercase hex digits, an object_id longer than
 * HASS_NAME_MAX - 1 or holding a character outside [A-Za-z0-9_-]).
 */
int hass_json_parse_topic(const char *prefix, const char *topic, uint64_t *dev_eui,
			  char *object_id);

/*
 * Whether payload (len bytes, not NUL-terminated) is a config that
 * hass_json_config() wrote for this DevEUI and object_id, published by the
 * bridge whose state topic is `availability`: a JSON object with origin
 * name "lorabridge", unique_id "lorabridge_<dev_eui>_<object_id>" and that
 * availability_topic (each by its full key or Home Assistant's
 * abbreviation: "o", "uniq_id", "avty_t"). Another program's configs, and
 * another bridge's (another MQTT client id), are not ours. Anything not
 * JSON, or longer than HASS_CONFIG_MAX - 1 bytes, is not ours.
 */
bool hass_json_is_ours(const void *payload, size_t len, uint64_t dev_eui, const char *object_id,
		       const char *availability);

#endif
