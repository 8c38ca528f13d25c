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
 *
 * Those `log` events are rate-limited: whoever may publish on the command
 * topics could otherwise send thousands of bad commands a second, and their
 * events, best-effort like `join` and `status` events and the gateways'
 * states, would push those out of the MQTT client's bounded queue
 * (mqtt.queue_limit). Two token buckets, kept as GCRA theoretical arrival
 * times (as tables/addrlimit.h): one per application, so that a flood of
 * one application's refusals leaves the others' reported, and one for all,
 * which bounds what the refusals add to the queue whatever the number of
 * applications. Each configured application has a bucket of its own, found
 * by its name (made at its first refusal, kept until commands_free(): as
 * many as the names the configuration ever had); should one not be made
 * (out of memory) the refusal is counted against the global bucket alone,
 * with a log line. UNKNOWN_DEVICE refusals, whose
 * application the publisher names freely, all share one bucket of their
 * own, so no name chosen by a publisher drains a configured application's.
 * A refusal beyond either limit is still refused and counted
 * (commands_refused), its event is not published (stats
 * refusal_events_dropped); the next event its bucket publishes says how
 * many it did not (description "...; N earlier refused commands not
 * reported", context `suppressed`), and a log line says the total.
 */
#ifndef LB_COMMAND_H
#define LB_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/devevent.h"
#include "daemon/ids.h"
#include "daemon/payload.h"
#include "daemon/publish.h"
#include "daemon/stats.h"
#include "base/uuid.h"
#include "lorawan/region.h"
#include "store/store.h"
#include "tables/devices.h"

#define COMMAND_LOG_APP_BURST 10         /* events an application may have at once, */
#define COMMAND_LOG_APP_MS 1000          /* then one more each of these */
#define COMMAND_LOG_ALL_BURST 30         /* for all applications together */
#define COMMAND_LOG_ALL_MS 200

/* A bucket: its GCRA theoretical arrival time (0: full), the refusals it
 * did not report since the last it did. */
struct command_bucket {
	int64_t tat_ms;
	uint64_t missed;
};

/* An application's bucket; app owned (a copy of its name). */
struct command_app_bucket {
	char *app;
	struct command_bucket b;
};

struct command_limit {
	struct command_app_bucket *apps; /* open addressing by name, app NULL = free */
	size_t mask;                     /* slots - 1 (a power of two), 0 = none yet */
	size_t n;                        /* buckets in use */
	struct command_bucket unknown;   /* UNKNOWN_DEVICE */
	struct command_bucket all;
};

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
	/* Owned: the rate limit of refusals' `log` events (zeroed: full). */
	struct command_limit limit;
	/* Its clock, monotonic ms; NULL: loop_now_ms() (a test sets its own). */
	int64_t (*now_ms)(void);
};

/* Release the rate limit's buckets (the rest is borrowed). Safe on a
 * zeroed or freed struct. */
void commands_free(struct commands *c);

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
