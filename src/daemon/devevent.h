/*
 * devevent.h - device events the daemon publishes from several places
 * (uplink, join, downlink, command handling): deviceInfo filled from the
 * registry, and the `log` event a user must be able to see.
 */
#ifndef LB_DEVEVENT_H
#define LB_DEVEVENT_H

#include <stdint.h>

#include "events/event_json.h"

struct bridge;
struct lb_device;

void devevent_fill(struct ev_device *out, const struct lb_device *dev);

/* Publish a `log` event (level "INFO"/"WARNING"/"ERROR", a ChirpStack-style
 * code) on the device's topic; gateway_eui 0 = no gatewayId in context.
 * Failures are counted and logged, never returned: a log event is best
 * effort. */
void devevent_log(struct bridge *b, const struct lb_device *dev, const char *level,
		  const char *code, const char *description, uint64_t gateway_eui);

/* Publish the JSON in the bridge's scratch buffer (b->event, built just
 * before) on the device's `event` topic; LB_OK or the error (logged). */
int devevent_publish(struct bridge *b, const struct lb_device *dev, const char *event);

#endif
