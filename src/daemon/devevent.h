/* SPDX-License-Identifier: MIT */
/*
 * devevent.h - device events published from several handlers (uplink,
 * join, downlink, commands, budgets): deviceInfo filled from the registry,
 * and the `log` event a user must be able to see.
 *
 * Context: the publisher and the counter of `log` events, both borrowed.
 * Builders write into buffers their callers own; nothing is shared.
 */
#ifndef LB_DEVEVENT_H
#define LB_DEVEVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/publish.h"
#include "daemon/stats.h"
#include "events/devinfo.h"
#include "events/event_json.h"
#include "tables/devices.h"

/* A `log` event's JSON fits in this (description and context included). */
#define DEVEVENT_LOG_MAX 4096

/* LoRaWAN 1.0.0 .. 1.0.4, class A and C: one default device profile each. */
#define DEVEVENT_VERSIONS 5
#define DEVEVENT_CLASSES 2               /* enum lb_class */

/* The deviceInfo and regionConfigId values that are the same for many
 * devices (events/devinfo.h): regionConfigId and the rxInfo metadata
 * computed by devevent_init(), the ids (SHA-1 UUIDs) by the first
 * devevent_fill(), so a bridge that has published no device event has not
 * loaded OpenSSL's default provider (README "Memory and start-up"). */
struct devevent_names {
	char tenant_id[DEVINFO_ID_SIZE];
	char profile_name[DEVEVENT_CLASSES][DEVEVENT_VERSIONS][DEVINFO_PROFILE_NAME_SIZE];
	char profile_id[DEVEVENT_CLASSES][DEVEVENT_VERSIONS][DEVINFO_ID_SIZE];
	char region_config_id[DEVINFO_REGION_ID_SIZE];
	/* every rxInfo's metadata (event_json_rx_metadata()), by devevent_init() */
	char rx_metadata[EVENT_JSON_RX_METADATA_MAX];
	size_t rx_metadata_len;
};

/*
 * The deviceInfo heads (event_json_device_head(): tenant, application,
 * device profile) of the applications recently written, so an event copies
 * one instead of writing six members (~1,400 instructions). A slot serves
 * a device whose applicationId, applicationName, class and LoRaWAN version
 * are the slot's, the strings compared by content: a reload that renames
 * an application, or reuses a string's memory, shows in the next event.
 * Bounded: DEVEVENT_HEADS slots whatever the fleet; a longer string than a
 * slot keeps is not cached (its events write the members).
 */
#define DEVEVENT_HEADS 16
#define DEVEVENT_HEAD_KEY 72             /* an application's id or name, NUL included */
#define DEVEVENT_HEAD_MAX 384            /* the head's text, NUL included */

struct devevent_head {
	bool used;
	unsigned dev_class, version;
	char app_id[DEVEVENT_HEAD_KEY];
	char app[DEVEVENT_HEAD_KEY];
	size_t len;
	char text[DEVEVENT_HEAD_MAX];
};

struct devevent_heads {
	struct devevent_head slot[DEVEVENT_HEADS];
	uint64_t hits, misses;           /* for tests and benches */
};

struct devevents {
	struct publisher *pub;
	struct stats *stats;             /* log_events */
	struct devevent_names names;     /* all "" if devevent_init() was not called */
	const char *region;              /* borrowed: the names' region */
	bool names_done;                 /* the ids are computed (or failed: "") */
	int names_rc;                    /* how that went */
	struct devevent_heads *heads;    /* borrowed, NULL: none (devevent_use_heads()) */
	struct devices *devices;         /* borrowed, NULL: none (devevent_use_devices()) */
};

/* Borrow pub, stats and region (its name, "EU868", valid as long as e);
 * compute regionConfigId and the rxInfo metadata text. LB_OK, or devinfo's
 * error (logged; the names are then "", the metadata none). The ids are
 * computed at the first devevent_fill(); an error there is logged and
 * leaves them "". */
int devevent_init(struct devevents *e, struct publisher *pub, struct stats *stats,
		  const char *region);

/* Keep deviceInfo heads in h (emptied; the caller owns it, for as long
 * as e is used). devevent_init() starts without. */
void devevent_use_heads(struct devevents *e, struct devevent_heads *h);

/* The registry whose devices' default applicationIds the first device
 * event computes (devices_app_ids(); borrowed, for as long as e is used).
 * Without it a device with no app_uuid gets "". */
void devevent_use_devices(struct devevents *e, struct devices *d);

/* Compute now what the first device event would: the names' ids and the
 * registry's default applicationIds. LB_OK, or the first error
 * (LB_ERR_CRYPTO: no SHA-1; LB_ERR_NOMEM), logged by the names; a failed
 * part is not tried again for the names, again for the registry. */
int devevent_ids(struct devevents *e);

/* dev's applicationId (deviceInfo.applicationId, {application_id} in the
 * topics): the configured one, else the default, computed for the whole
 * registry the first time one is needed; "" if that failed (logged). */
const char *devevent_app_id(struct devevents *e, const struct lb_device *dev);

/* deviceInfo of dev; out points into e and dev (no copy, nothing to free),
 * its head into e's heads when they have it: valid until the next
 * devevent_fill() (another application's may take the slot), so an event
 * is built right after its fill. */
void devevent_fill(struct ev_device *out, struct devevents *e, const struct lb_device *dev);

/* Publish json (len bytes, built by the caller; built is the builder's
 * result) on the device's `event` topic. LB_OK, or the builder's or the
 * publisher's error (logged, rate-limited). */
int devevent_publish(struct devevents *e, const struct lb_device *dev, const char *event,
		     int built, const char *json, size_t len);

/* The same, with what the event was built from for the tap (publish.h). */
int devevent_publish_facts(struct devevents *e, const struct lb_device *dev,
			   const char *event, int built, const char *json, size_t len,
			   const struct publish_facts *facts);

/* The same, but held until store batch `batch` is committed (and then kept
 * in the outbox until the broker has it): for an event that reports a
 * change of the durable state (a queue item settled or sent). */
int devevent_publish_held(struct devevents *e, const struct lb_device *dev,
			  const char *event, int built, const char *json, size_t len,
			  uint64_t batch);

/*
 * Publish a `log` event (level "INFO"/"WARNING"/"ERROR", a ChirpStack
 * LogCode such as "UPLINK_MIC") on the device's topic, timed now or at
 * time_us; gateway_eui 0 = no gatewayId in its context. _unknown: a device
 * the bridge does not know, on the topic of application (its name, and its
 * applicationId if known, else NULL: a template using {application_id}
 * then has no topic for it) and dev_eui, without deviceInfo. Failures are
 * logged and not returned: a log event is the report of a problem, there is
 * no one further to report to.
 */
void devevent_log(struct devevents *e, const struct lb_device *dev, const char *level,
		  const char *code, const char *description, uint64_t gateway_eui);
void devevent_log_at(struct devevents *e, const struct lb_device *dev, int64_t time_us,
		     const char *level, const char *code, const char *description,
		     uint64_t gateway_eui);
void devevent_log_unknown(struct devevents *e, const char *application,
			  const char *application_id, uint64_t dev_eui, const char *level,
			  const char *code, const char *description);

/* As devevent_log_at, timed now (_ctx) or at time_us (_ctx_at), with a
 * context of n pairs keys[i] -> values[i] (the `log` event's context map). */
void devevent_log_ctx(struct devevents *e, const struct lb_device *dev, const char *level,
		      const char *code, const char *description, const char *const *keys,
		      const char *const *values, size_t n);
void devevent_log_ctx_at(struct devevents *e, const struct lb_device *dev, int64_t time_us,
			 const char *level, const char *code, const char *description,
			 const char *const *keys, const char *const *values, size_t n);

#endif
