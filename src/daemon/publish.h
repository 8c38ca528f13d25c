/*
 * publish.h - where events go: topic templates expanded and handed to the
 * MQTT client through a sink (bridge.c connects io/mqtt.h; a unit test, a
 * recorder). Owns the compiled templates, one topic buffer and the events
 * held until their state is durable; no allocation per event otherwise.
 *
 * Topic tree (defaults follow ChirpStack v4 so dashboards work unchanged;
 * an optional global prefix such as "eu868/" goes in front of every topic):
 *   application/{application}/device/{dev_eui}/event/{event}   up, log
 *   gateway/{gateway_id}/event/{event}                         up, stats
 *   gateway/{gateway_id}/state/conn                            retained ONLINE/OFFLINE
 *   lorabridge/{client_id}/{event}                             state (retained), stats
 */
#ifndef LB_PUBLISH_H
#define LB_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "tables/topic.h"

#define PUBLISH_TOPIC_MAX 512

/* An event held back until the state it reports is durable (group commit:
 * store.h). */
struct publish_held {
	struct publish_held *next;
	uint64_t batch;
	char *topic;
	char *payload;
	size_t len;
};

/* Where a message goes: LB_OK, or an lb_err code (the sink logs why). */
struct publish_sink {
	int (*publish)(void *arg, const char *topic, const void *payload, size_t len, int qos,
		       bool retain);
	void *arg;
};

struct publisher {
	struct publish_sink sink;
	int qos;
	const char *client_id;           /* borrowed from the config */
	struct topic_tpl device_event;
	struct topic_tpl gateway_event;
	struct topic_tpl gateway_state;
	struct topic_tpl bridge;
	struct topic_tpl device_command;
	struct topic_tpl device_state;
	char topic[PUBLISH_TOPIC_MAX];
	struct publish_held *held_head, *held_tail;
	size_t n_held;
	uint64_t held_refused;            /* held events the sink refused at release */
};

/* Compile the templates of cfg. Errors: LB_ERR_CONFIG (logged with reason). */
int publish_init(struct publisher *p, const struct lb_config *cfg, const struct publish_sink *sink);
void publish_free(struct publisher *p);

int publish_device_event(struct publisher *p, const char *application, uint64_t dev_eui,
			 const char *event, const char *json, size_t len);
int publish_gateway_event(struct publisher *p, uint64_t gateway_eui, const char *event,
			  const char *json, size_t len);
int publish_gateway_state(struct publisher *p, uint64_t gateway_eui, const char *json, size_t len);
/* The retained gateway/{id}/state/conn message, ONLINE or OFFLINE. */
int publish_gateway_conn(struct publisher *p, uint64_t gateway_eui, bool online);
/* Clear it (an empty retained message: MQTT 3.1.1 §3.3.1.3): the gateway
 * is forgotten. */
int publish_gateway_conn_clear(struct publisher *p, uint64_t gateway_eui);
int publish_bridge(struct publisher *p, const char *event, const char *payload, size_t len,
		   bool retain);

/* As publish_device_event(), but held until store batch `batch` is
 * committed: publish_release() hands it to MQTT then, in order. */
int publish_device_event_held(struct publisher *p, uint64_t batch, const char *application,
			      uint64_t dev_eui, const char *event, const char *json, size_t len);

/* Publish every held event whose batch is_committed() says is durable,
 * stopping at the first that is not (order is kept). Returns how many
 * were handed to MQTT; a refusal is logged and counted in held_refused. */
size_t publish_release(struct publisher *p, bool (*is_committed)(void *arg, uint64_t batch),
		       void *arg);

/* Retained device state, e.g. state/airtime. */
int publish_device_state(struct publisher *p, const char *application, uint64_t dev_eui,
			 const char *state, const char *json, size_t len);

/* The subscription filter of the command topic ({command} = "down"). */
int publish_command_filter(struct publisher *p, char *out, size_t cap);

/* Match a received topic against the command template: LB_OK and its
 * values in *m, or LB_ERR_NOT_FOUND. */
int publish_match_command(const struct publisher *p, const char *topic, struct topic_match *m);

/* The expanded bridge topic for `event` (for the Last Will). */
int publish_bridge_topic(struct publisher *p, const char *event, char *out, size_t cap);

#endif
