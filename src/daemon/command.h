/* SPDX-License-Identifier: MIT */
/*
 * command.h - downlink commands from MQTT (ChirpStack's command topic):
 *
 *   application/{application}/device/{dev_eui}/command/down
 *   ({application}: the application's name or, as ChirpStack's topic has
 *   it, its applicationId; mqtt.topics.device_command may change it all)
 *   {"devEui": "...", "confirmed": false, "fPort": 10, "data": "<base64>", "id": "..."}
 *   or, for a device whose codec encodes downlinks (JavaScript, CayenneLPP),
 *   "object": {...}, which replaces "data" when both are given (payload.h; a
 *   failure is DOWNLINK_CODEC)
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
#include "base/uuid.h"
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
	struct devevents *ev;
	struct stats *stats;
	struct payloads *payloads;       /* `object` commands: the device's encoder */
	int queue_limit;                 /* downlink.queue_limit */
	/* Told after each item queued (class C devices send at once), may be NULL. */
	void (*queued)(void *arg, struct lb_device *dev);
	void *queued_arg;
};

/* The MQTT on_message callback; arg is a struct commands. */
void command_on_message(void *arg, const char *topic, const void *payload, size_t len);

/* What became of a command (command_submit()). */
struct command_result {
	int rc;                          /* LB_OK: queued */
	char id[UUID_STR_LEN + 1];       /* LB_OK: the queue item's id */
	const char *code;                /* refused: the log event's code (static) */
	const char *why;                 /* refused: its description (static) */
};

/*
 * The same path for a command that did not come over MQTT (the web API's
 * POST /api/devices/{devEui}/queue): the payload is the command topic's
 * JSON, the device is dev_eui. Validated, queued and refused exactly as a
 * command on the device's command topic, with the same `log` events; *r
 * says which. r->rc: LB_OK, LB_ERR_NOT_FOUND (UNKNOWN_DEVICE), or the
 * refusal's error (LB_ERR_JSON/RANGE/BASE64/TOO_LARGE/FULL/DUPLICATE/...).
 */
void command_submit(struct commands *c, uint64_t dev_eui, const void *payload, size_t len,
		    struct command_result *r);

#endif
