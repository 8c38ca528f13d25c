/* SPDX-License-Identifier: MIT */
/*
 * publish.h - where events go: topic templates expanded and handed through
 * a sink either to the MQTT client at once (best effort: bridge.c connects
 * io/mqtt.h) or, for an event whose state must be durable first, to the
 * outbox (outbox.h), which publishes it once that state is committed and
 * never loses it afterwards; a unit test would connect recorders. Owns the
 * compiled templates and one topic buffer; no allocation per event.
 *
 * Topic tree (defaults follow ChirpStack v4 so dashboards work unchanged;
 * an optional global prefix such as "eu868/" goes in front of every topic):
 *   application/{application}/device/{dev_eui}/event/{event}   up, log
 *   gateway/{gateway_id}/event/{event}                         up, stats
 *   gateway/{gateway_id}/state/conn                            retained ONLINE/OFFLINE
 *   lorabridge/{client_id}/{event}                             state (retained), stats
 *   application/{application}/device/{dev_eui}/object/{field}  retained field values
 *                                                               (mqtt.publish_fields)
 * and, outside the prefix, topics other programs define (Home Assistant's
 * discovery topics: hass.h), published as given with publish_raw().
 */
#ifndef LB_PUBLISH_H
#define LB_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "events/event_json.h"
#include "gwmp/rx.h"
#include "events/topic.h"

#define PUBLISH_TOPIC_MAX 512
/* A gateway `up` event's JSON. */
#define PUBLISH_GATEWAY_UP_MAX 8192

/* Where a message goes: LB_OK, or an lb_err code (the sink logs why).
 * publish: now, best effort. hold: once store batch `batch` is committed,
 * durably (outbox_add(): LB_ERR_FULL when the outbox is full, counted and
 * logged there). */
struct publish_sink {
	int (*publish)(void *arg, const char *topic, const void *payload, size_t len, int qos,
		       bool retain);
	int (*hold)(void *arg, uint64_t batch, uint64_t dev_eui, const char *topic,
		    const void *payload, size_t len, int qos, bool up);  /* up: an `up` event */
	void *arg;
};

/* What a device event was built from, handed beside its text to the tap
 * so that a consumer needing a few of its values (the web page's history,
 * webhist.h) takes them as they are instead of parsing the text again.
 * Borrowed for the duration of the call. */
struct publish_facts {
	const struct ev_uplink *up;      /* an `up` event's values (its tree `object`
					 * already released: NULL); NULL: not an `up` */
	const char *object;              /* up: its `object` value, object_len bytes of */
	size_t object_len;               /* the event's text; NULL: none */
	const struct ev_status *status;  /* a `status` event's values; NULL: not a status */
};

/* Who else sees each device event (the HTTP integrations): called with
 * every device event as it is published or held, whatever MQTT does with
 * it. A held `up` is shown at once, before its batch commits (README
 * "Integrations": after a crash an integration may have an uplink MQTT
 * never got). Must not publish from inside. facts: NULL, or what the
 * event was built from (an `up`'s, a `status`'s). */
struct publish_tap {
	void (*device_event)(void *arg, const char *application, uint64_t dev_eui,
			     const char *event, const char *json, size_t len,
			     const struct publish_facts *facts);
	/* Gateway events ("stats", ...) and the state/conn message (event
	 * "conn"; an empty json clears it), and the bridge's own events
	 * ("state", "stats"): for the web page. Either may be NULL. */
	void (*gateway_event)(void *arg, uint64_t gateway_eui, const char *event,
			      const char *json, size_t len);
	void (*bridge_event)(void *arg, const char *event, const char *json, size_t len);
	void *arg;
};

struct publisher {
	struct publish_sink sink;
	struct publish_tap tap;          /* .device_event NULL: none */
	int qos;
	const char *client_id;           /* borrowed from the config */
	struct topic_tpl device_event;
	struct topic_tpl gateway_event;
	struct topic_tpl gateway_state;
	struct topic_tpl bridge;
	struct topic_tpl device_command;
	struct topic_tpl device_state;
	struct topic_tpl device_field;
	char topic[PUBLISH_TOPIC_MAX];
};

/* Compile the templates of cfg. Errors: LB_ERR_CONFIG (logged with reason). */
int publish_init(struct publisher *p, const struct lb_config *cfg, const struct publish_sink *sink);
void publish_free(struct publisher *p);

/* Is topic a device's `up` event topic: the device_event template with
 * {event} = "up" (any value of its other placeholders)? Tells apart the
 * outbox's events read back from the disk, which holds `ack` and `txack`
 * events too (those it was given say so: the sink's `up`). */
bool publish_is_device_up(const struct publisher *p, const char *topic);

/* Show every device event to tap as well (after publish_init()). */
void publish_set_tap(struct publisher *p, const struct publish_tap *tap);

/* The device functions take the application's name ({application}) and its
 * applicationId ({application_id}, the UUID of the events' deviceInfo): a
 * template reads only the ones it holds, and one it holds must not be NULL
 * or empty (topic_expand(): LB_ERR_INVAL). */

/* facts (NULL: none) go to the tap with the text. */
int publish_device_event(struct publisher *p, const char *application,
			 const char *application_id, uint64_t dev_eui, const char *event,
			 const char *json, size_t len, const struct publish_facts *facts);
int publish_gateway_event(struct publisher *p, uint64_t gateway_eui, const char *event,
			  const char *json, size_t len);
/* A received frame as the gateway `up` event (event_json_gateway_up()).
 * Errors: the builder's (logged here, rate-limited), the topic's, the sink's. */
int publish_gateway_up(struct publisher *p, const struct lb_rx *rx);
int publish_gateway_state(struct publisher *p, uint64_t gateway_eui, const char *json, size_t len);
/* The retained gateway/{id}/state/conn message, ONLINE or OFFLINE. */
int publish_gateway_conn(struct publisher *p, uint64_t gateway_eui, bool online);
/* Clear it (an empty retained message: MQTT 3.1.1 §3.3.1.3): the gateway
 * is forgotten. */
int publish_gateway_conn_clear(struct publisher *p, uint64_t gateway_eui);
int publish_bridge(struct publisher *p, const char *event, const char *payload, size_t len,
		   bool retain);

/* As publish_device_event(), but through the sink's hold: published once
 * store batch `batch` is committed, in order, and never lost after that.
 * facts (NULL: none) go to the tap with the text. Errors: the topic's (not
 * built), the hold's (LB_ERR_FULL: outbox full). */
int publish_device_event_held(struct publisher *p, uint64_t batch, const char *application,
			      const char *application_id, uint64_t dev_eui, const char *event,
			      const char *json, size_t len, const struct publish_facts *facts);

/* Retained device state, e.g. state/airtime. */
int publish_device_state(struct publisher *p, const char *application,
			 const char *application_id, uint64_t dev_eui, const char *state,
			 const char *json, size_t len);

/* A decoded field's value on its own, retained (mqtt.topics.device_field);
 * an empty payload clears it (MQTT 3.1.1 §3.3.1.3). Errors: the topic's
 * (not built: logged, rate-limited), the sink's. */
int publish_device_field(struct publisher *p, const char *application,
			 const char *application_id, uint64_t dev_eui, const char *field,
			 const char *payload, size_t len);

/* The expanded topic of a device event into out (for a consumer told where
 * to listen, e.g. a Home Assistant state_topic). Errors: topic_expand()'s. */
int publish_device_event_topic(const struct publisher *p, const char *application,
			       const char *application_id, uint64_t dev_eui, const char *event,
			       char *out, size_t cap);

/* Publish on a topic the caller built in full (no template, no prefix).
 * Errors: the sink's. */
int publish_raw(struct publisher *p, const char *topic, const char *payload, size_t len,
		bool retain);

/* The subscription filter of every field topic: mqtt.topics.device_field
 * with '+' for each placeholder. Errors: topic_filter()'s (LB_ERR_CONFIG:
 * a placeholder shares its level with other text). */
int publish_field_filter(const struct publisher *p, char *out, size_t cap);

/* Match a received topic against the field template: LB_OK and its
 * application (and/or application_id) and dev_eui in *m, or LB_ERR_NOT_FOUND. */
int publish_match_field(const struct publisher *p, const char *topic, struct topic_match *m);

/* The subscription filter of the command topic ({command} = "down"). */
int publish_command_filter(struct publisher *p, char *out, size_t cap);

/* Match a received topic against the command template: LB_OK and its
 * values in *m, or LB_ERR_NOT_FOUND. */
int publish_match_command(const struct publisher *p, const char *topic, struct topic_match *m);

/* The expanded bridge topic for `event` (for the Last Will). */
int publish_bridge_topic(struct publisher *p, const char *event, char *out, size_t cap);

#endif
