/*
 * publish.h - where events go: topic templates expanded and handed to the
 * MQTT module. Owns the compiled templates and one topic buffer; no
 * allocation per event.
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

#include "config.h"
#include "mqtt.h"
#include "topic.h"

#define PUBLISH_TOPIC_MAX 512

struct publisher {
	struct mqtt *mqtt;
	int qos;
	const char *client_id;           /* borrowed from the config */
	struct topic_tpl device_event;
	struct topic_tpl gateway_event;
	struct topic_tpl gateway_state;
	struct topic_tpl bridge;
	char topic[PUBLISH_TOPIC_MAX];
};

/* Compile the templates of cfg. Errors: LB_ERR_CONFIG (logged with reason). */
int publish_init(struct publisher *p, const struct lb_config *cfg, struct mqtt *mqtt);
void publish_free(struct publisher *p);

int publish_device_event(struct publisher *p, const char *application, uint64_t dev_eui,
			 const char *event, const char *json, size_t len);
int publish_gateway_event(struct publisher *p, uint64_t gateway_eui, const char *event,
			  const char *json, size_t len);
int publish_gateway_state(struct publisher *p, uint64_t gateway_eui, const char *json, size_t len);
int publish_bridge(struct publisher *p, const char *event, const char *payload, size_t len,
		   bool retain);

/* The expanded bridge topic for `event` (for the Last Will). */
int publish_bridge_topic(struct publisher *p, const char *event, char *out, size_t cap);

#endif
