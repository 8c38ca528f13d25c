/* SPDX-License-Identifier: MIT */
/*
 * command.h - downlink commands from MQTT (ChirpStack's command topic):
 *
 *   application/{application}/device/{dev_eui}/command/down
 *   {"devEui": "...", "confirmed": false, "fPort": 10, "data": "<base64>", "id": "..."}
 *   or, for a device whose JavaScript codec encodes downlinks, "object": {...}
 *   instead of "data" (payload.h; a failure is DOWNLINK_CODEC)
 *
 * A valid command is queued durably (store.h) for the device's next receive
 * window. An invalid one is refused with a `log` event on the device's
 * topic naming the reason (INVALID_JSON, DEV_EUI_MISMATCH, INVALID_FPORT,
 * INVALID_DATA, PAYLOAD_TOO_LARGE, UNKNOWN_DEVICE, QUEUE_FULL,
 * DUPLICATE_ID, ...), never crashes.
 */
#ifndef LB_COMMAND_H
#define LB_COMMAND_H

#include <stddef.h>

#include "daemon/devevent.h"
#include "daemon/ids.h"
#include "daemon/payload.h"
#include "daemon/publish.h"
#include "daemon/stats.h"
#include "lorawan/region.h"
#include "store/store.h"
#include "tables/devices.h"

/* Context (borrowed): what a command reads (registry, region, the command
 * topic template) and changes (the store's queue, counters, events). */
struct commands {
	struct devices *devices;
	const struct region *region;
	struct store *store;
	struct publisher *pub;
	struct idgen *ids;
	const struct devevents *ev;
	struct stats *stats;
	struct payloads *payloads;       /* `object` commands: the device's encoder */
	int queue_limit;                 /* downlink.queue_limit */
	/* Told after each item queued (class C devices send at once), may be NULL. */
	void (*queued)(void *arg, struct lb_device *dev);
	void *queued_arg;
};

/* The MQTT on_message callback; arg is a struct commands. */
void command_on_message(void *arg, const char *topic, const void *payload, size_t len);

#endif
