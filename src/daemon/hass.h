/* SPDX-License-Identifier: MIT */
/*
 * hass.h - Home Assistant for the devices' decoded values: MQTT discovery
 * (home_assistant.discovery) and one retained topic per field
 * (mqtt.publish_fields). The JSON and the field rules are events/hass_json.h;
 * this module remembers what was announced and decides when to publish.
 *
 * The uplink path calls hass_seen() for each up event it publishes (after
 * the fair-access check that may withhold it), with the event's decoded
 * `object` (NULL when there is none):
 *   - discovery: the device's link diagnostics (RSSI, SNR, last seen) are
 *     announced with its first up event, whether or not it carries an
 *     `object`: a device without a codec (or whose codec failed) still
 *     gets these three entities, as link quality is worth seeing on its
 *     own. Each field of `object` is announced the first time it appears:
 *     a retained config on
 *     {prefix}/{sensor|binary_sensor}/{dev_eui}/{field}/config whose state
 *     topic is the device's up event topic and whose value_template reads
 *     the field out of it. Nothing is published for an up event whose
 *     fields are all announced: it costs a flatten and one lookup per
 *     field, no allocation.
 *   - expire_after: 3 times the device's uplink interval, measured between
 *     its up events (a moving average, 1/4 weight to the newest interval),
 *     bounded to HASS_EXPIRE_MIN_S..HASS_EXPIRE_MAX_S; none until two up
 *     events were seen. When it moves by more than a quarter from the
 *     announced value, the device's field configs are announced again.
 *   - availability: the bridge's retained state topic ("online" /
 *     "offline", its Last Will): the entities go unavailable with it.
 *   - publish_fields: every field's value, retained, on
 *     mqtt.topics.device_field, at every up event with an object.
 *   - device status (discovery): hass_status_seen() after the device's
 *     first `status` event (DevStatusAns, daemon/netmac.h) announces its
 *     battery sensor and a diagnostic link margin sensor
 *     (events/hass_json.h hass_status_entity()) whose state topic is the
 *     device's status event; no expire_after (status comes every
 *     status_interval_h). They are announced again and cleared with the
 *     device's other entities.
 * At most HASS_FIELDS_MAX fields per device are remembered; more are
 * logged once per device and ignored.
 *
 * hass_on_message(): "online" on {prefix}/status (Home Assistant's birth
 * message) announces every remembered config again. hass_sync(), after a
 * SIGHUP reload: a device no longer configured, or moved to another
 * application, has its configs and field topics cleared (an empty retained
 * message, MQTT 3.1.1 §3.3.1.3) and is forgotten; a renamed one is
 * announced again.
 *
 * The sweep, for what earlier runs announced (a device removed while the
 * bridge was stopped, or removed by SIGHUP before its first uplink of this
 * run): the bridge subscribes to the filters of hass_sweep_filter() -
 * {prefix}/sensor/+/+/config and {prefix}/binary_sensor/+/+/config with
 * discovery, the field template with '+' for every placeholder with
 * publish_fields - and the broker sends the retained messages on them at
 * every subscription (MQTT 3.1.1 §3.3.1.3, §3.8.4: at each (re)connection,
 * and again when bridge.c subscribes anew after a SIGHUP reload).
 * With discovery off, the config filters are subscribed only after
 * hass_sweep_when_off(h, true) (bridge.c: at the first start with discovery
 * off after one with it on), so that an install that never had discovery
 * does not receive every other program's retained configs.
 * hass_on_message() clears (an empty retained message on the same topic):
 *   - a config whose node_id is the DevEUI of a device not configured (with
 *     discovery off: of any device, so that turning discovery off removes
 *     the entities an earlier run announced) and which is ours: origin name "lorabridge", unique_id
 *     "lorabridge_<dev_eui>_<object_id>" and availability_topic this
 *     bridge's state topic (hass_json_is_ours()). Other programs' configs,
 *     and other bridges' (another MQTT client id), are left alone;
 *   - a field topic of a DevEUI not configured, or of a configured device
 *     under another {application}. Field topics carry bare values: nothing
 *     in them says which bridge wrote them, so bridges sharing a broker
 *     must not share mqtt.topics.device_field (mqtt.topic_prefix).
 * Each retained message costs a topic parse and one hash lookup (the
 * device table); a config of an unknown DevEUI also one JSON parse of at
 * most HASS_CONFIG_MAX bytes; at most one publish. The MQTT client reads a
 * bounded number of messages per wake-up, so a flood of them does not stall
 * the loop. The subscriptions are kept (they are renewed at every
 * connection): the broker then also sends the bridge its own configs and
 * field values back, each dropped after the lookup (field values: one per
 * field per uplink, the price of the sweep with publish_fields on). They
 * are made with QoS 0: a retained message lost with the connection is sent
 * again at the next one.
 *
 * Context: the publisher (borrowed), the settings (copied; strings
 * borrowed from the configuration, which outlives this module).
 * Errors: every function returns LB_OK or an lb_err code and logs the
 * failure (rate-limited); a config or field that could not be published is
 * tried again at the device's next up event.
 * Ownership: hass_init() allocates nothing; hass_free() releases what
 * hass_seen() remembered.
 */
#ifndef LB_HASS_H
#define LB_HASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/publish.h"
#include "events/hass_json.h"
#include "tables/devices.h"

#define HASS_FIELDS_MAX 64
#define HASS_EXPIRE_MIN_S 60
#define HASS_EXPIRE_MAX_S (3 * 86400)

struct hass_opts {
	bool discovery;                  /* home_assistant.discovery */
	const char *prefix;              /* home_assistant.prefix */
	bool publish_fields;             /* mqtt.publish_fields */
	const char *sw_version;          /* origin.sw_version of the configs, NULL = none */
};

/* One remembered field of a device. */
struct hass_field {
	uint32_t hash;                   /* of name */
	bool announced;                  /* its config reached the publisher */
	char *name;
	char *value_template;            /* NULL without discovery */
	struct hass_class cls;
};

/* What the module remembers of one device (private to hass.c). */
struct hass_dev {
	uint64_t dev_eui;
	char *application;               /* copies: its topics and device block */
	char *application_id;            /* its applicationId ({application_id}) */
	char *name;
	char *manufacturer;              /* tag "manufacturer", NULL = none */
	char *model;                     /* tag "model", NULL = none */
	struct hass_field *fields;
	size_t n_fields, cap_fields;
	bool full_logged;                /* HASS_FIELDS_MAX reached, said once */
	bool diag_announced;
	bool status_seen;                /* a status event was published */
	bool status_announced;
	int64_t last_up_ms;              /* 0 = no up event yet */
	double interval_ms;              /* moving average, 0 = unknown */
	int expire_s;                    /* in the announced configs, 0 = none */
};

struct hass_stats {
	uint64_t configs;                /* discovery configs published */
	uint64_t cleared;                /* retained messages cleared */
	uint64_t values;                 /* field values published */
	uint64_t errors;                 /* publishes that failed */
	uint64_t swept;                  /* earlier runs' retained messages cleared */
};

/* The sweep's subscriptions (see above). */
enum hass_sweep { HASS_SWEEP_SENSOR = 0, HASS_SWEEP_BINARY, HASS_SWEEP_FIELDS, HASS_N_SWEEP };

struct hass {
	struct publisher *pub;
	struct hass_opts o;
	char availability[PUBLISH_TOPIC_MAX];
	struct hass_dev **dev;
	size_t n, cap;
	uint32_t *slots;                 /* DevEUI -> index + 1, open addressing */
	size_t mask;
	size_t announce_next;            /* re-announce: the next device; SIZE_MAX = none */
	bool sweep_when_off;             /* discovery off: still sweep the configs */
	struct hass_stats stats;
};

/* Errors: LB_ERR_INVAL (NULL, discovery without prefix), the bridge
 * state topic's (not built). */
int hass_init(struct hass *h, struct publisher *pub, const struct hass_opts *o);
void hass_free(struct hass *h);

/* Whether hass_seen() does anything (discovery or publish_fields on). */
bool hass_enabled(const struct hass *h);

/*
 * An up event of dev was queued; object is its decoded payload (borrowed,
 * a JSON object, or NULL), now_ms the monotonic time (loop_now_ms()).
 * Errors: LB_ERR_NOMEM (the device or a field not remembered), the
 * publisher's; each is logged, and the rest of the event is still handled.
 */
int hass_seen(struct hass *h, const struct lb_device *dev, struct json_object *object,
	      int64_t now_ms);

/* A `status` event of dev was published: its status entities are
 * announced the first time (discovery on; else nothing). Errors as
 * hass_seen(). */
int hass_status_seen(struct hass *h, const struct lb_device *dev);

/* The topic to subscribe to for Home Assistant's birth message:
 * "{prefix}/status". Errors: LB_ERR_STATE (discovery off), LB_ERR_TOO_LARGE. */
int hass_status_topic(const struct hass *h, char *out, size_t cap);

/* With discovery off: sweep the configs too (on), clearing every config
 * of ours, or not (off, the default). No effect with discovery on. */
void hass_sweep_when_off(struct hass *h, bool on);

/* The subscription filter of a sweep into out. Errors: LB_ERR_STATE (not
 * in use: discovery off without hass_sweep_when_off(), or publish_fields
 * off), LB_ERR_TOO_LARGE,
 * publish_field_filter()'s. */
int hass_sweep_filter(const struct hass *h, enum hass_sweep which, char *out, size_t cap);

/*
 * A message from the broker: true when it was on one of this module's
 * subscriptions (consumed): Home Assistant's status topic ("online"
 * announces everything again) or a sweep's (cleared when stale, see above;
 * devices: the configured ones, borrowed). False otherwise, and for a
 * topic that is also a command topic (commands come first).
 */
bool hass_on_message(struct hass *h, struct devices *devices, const char *topic,
		     const void *payload, size_t len);

/* Publish every remembered config again. Returns LB_OK or the first error. */
int hass_announce_all(struct hass *h);

/*
 * Home Assistant's `online` (on the status topic) asks for every config
 * again: the devices are announced a few at a time, at most `room` messages'
 * worth a call (a device takes its whole turn: its diagnostic, field and
 * status configs, 5 to 69), so that a large fleet's announcement never
 * overflows the MQTT queue
 * (mqtt.queue_limit drops its oldest). The caller passes the queue's room
 * and calls again while this returns true (more devices wait).
 */
bool hass_announce_more(struct hass *h, size_t room);

/* After devices_reload(): clear and forget the devices that left (or
 * changed application), announce renamed ones again. */
int hass_sync(struct hass *h, struct devices *devices);

#endif
