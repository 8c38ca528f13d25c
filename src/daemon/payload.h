/* SPDX-License-Identifier: MIT */
/*
 * payload.h - the payload codecs of the configured devices: an uplink's
 * bytes become the `object` of its `up` event, a downlink command's
 * `object` becomes bytes. "cayennelpp" is built in (codec/cayennelpp.h),
 * "js" runs the device's script (codec/jscodec.h); see README "Payload
 * codecs".
 *
 * Scripts: one engine heap per distinct script file, shared by the devices
 * that name it, loaded by payload_sync() at start and on every reload
 * (SIGHUP): a file whose identity or modification time changed is compiled
 * again, an unchanged one keeps its heap, one no device names any more is
 * freed. A script that does not load stays in the table with the reason,
 * so each uplink of its devices says why it has no `object`, and is
 * compiled again at the next sync; a changed one that does not compile for
 * want of memory (the host's or codec_memory_kb's) keeps its old version
 * instead. Either is logged (script, reason, applications) and counted
 * (stats codec_load_failed, codec_kept_old).
 *
 * Bounded work on the loop: one call runs at most codec_timeout_ms; a
 * script whose call timed out is suspended in that call's direction
 * (decoding or encoding: calls skipped, each skipped uplink or command
 * reported) for a back-off that doubles with each further timeout, 10 s up
 * to 10 min, and is given another chance after it; a call in that
 * direction that succeeds clears the count. An encoding timeout, which one
 * command's `object` may cause, never stops the uplinks' decoding, nor a
 * decoding timeout the commands' encoding. So an endless loop costs its
 * deadline a few times (once per back-off in each direction), never the
 * loop's throughput.
 *
 * ENCODING SHARE. Encoding, whose input whoever may publish a command
 * chooses, has a share of the loop's time besides, in two GCRAs over the
 * microseconds each call took: each application's encoding may take a
 * sixteenth of the loop in the long run (PAYLOAD_ENCODE_APP_SHARE) and run
 * PAYLOAD_ENCODE_APP_BURST_MS ahead of it (125 ms of encoding at once),
 * all applications' together a quarter (PAYLOAD_ENCODE_SHARE) and
 * PAYLOAD_ENCODE_BURST_MS ahead (500 ms at once). A call is taken if both
 * buckets have room and is charged to both; beyond either, a command's
 * object is refused ("encoding busy", saying which share) until it has
 * come back. So a flood of objects that each run just under the deadline
 * takes at most a quarter of the loop however many applications flood (the
 * global bucket alone bounds that, as it did before the split), never all
 * of it. The application's bucket keeps one application's flood from
 * using the global share up for the others: alone it charges the global
 * bucket at most 4/16 of the time it lasts, less than the refill, so the
 * global bucket runs ahead by at most the application's burst and one call
 * charged four times: 4 x (125 ms + the call) <= 2 s for calls up to
 * 375 ms of the loop's time (the shares count wall time; codec_timeout_ms,
 * 100 by default, bounds a call's CPU time, which only other processes
 * taking the CPU stretch in wall time). One application's flood
 * thus never gets another's object refused unless its calls run longer;
 * several flooding at once may use the global share up between them
 * (their bursts add up, and four at a sixteenth fill the quarter in the
 * long run), and then every application waits for it. A sixteenth is some
 * 60 ms of encoding a second for each application, hundreds of ordinary
 * objects: far more than LoRaWAN's downlink capacity asks for. A bucket is
 * held for each application whose devices use a script (payload_sync(),
 * carried across a reload by name), found by a binary search per object;
 * a device whose configuration names no application is in "default"
 * (devices[].application's default), and shares its bucket.
 *
 * Failures are never silent and never lose the uplink: the `up` is
 * published without `object` and a `log` event (code UPLINK_CODEC, level
 * ERROR, ChirpStack's LogCode) names the script, line and reason; encoding
 * failures are returned with the reason for the caller's DOWNLINK_CODEC.
 *
 * Context (borrowed): device events (log events) and counters. Ownership:
 * the script table and its heaps; the devices' profiles carry a slot index
 * into it (lb_devprofile.codec_slot), set by payload_sync(), which walks
 * the profiles (a few per application), not the devices.
 */
#ifndef LB_PAYLOAD_H
#define LB_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "codec/jscodec.h"
#include "config/config.h"
#include "daemon/devevent.h"
#include "daemon/stats.h"
#include "tables/devices.h"

struct json_object;

/* A reason for a log event: "script.js:12: TypeError: ..." */
#define PAYLOAD_WHY_MAX 384

struct payload_script;
struct payload_app;
struct payload_name_slot;

/* Names to their places in a table (payload.c): a sync's lookups. */
struct payload_names {
	struct payload_name_slot *slot;  /* owned, mask + 1 of them */
	size_t mask;                     /* 0: none */
	size_t n;
};

struct payloads {
	struct devevents *ev;
	struct stats *stats;
	struct jscodec_limits limits;
	struct payload_script *scripts;  /* owned */
	size_t n_scripts;
	struct payload_names paths;      /* owned: the scripts' paths to their slots */
	struct payload_app *apps;        /* owned: the applications' encoding shares,
					  * n_apps, sorted by name */
	size_t n_apps;
	int64_t encode_tat_us;           /* all encoding's share: its GCRA time (0: all of it) */
};

#define PAYLOAD_ENCODE_SHARE 4           /* all encoding: at most 1/4 of the time, */
#define PAYLOAD_ENCODE_BURST_MS 2000     /* this far ahead at once (ENCODING SHARE) */
#define PAYLOAD_ENCODE_APP_SHARE 16      /* one application's: at most 1/16, */
#define PAYLOAD_ENCODE_APP_BURST_MS 2000 /* this far ahead at once */

/* Load the scripts the devices name (see above) and set each device's
 * slot; hold an encoding share for each application of theirs (those
 * kept carry their state). Scripts that fail are logged (and kept with
 * their reason), but a changed script whose compile ran out of memory
 * (jscodec's LB_ERR_NOMEM) keeps the version the tables held, compiled
 * again at the next sync. LB_OK, or LB_ERR_NOMEM (logged): the tables
 * unchanged, each device's slot set into them (a reload's
 * devices_reload() gave every device a fresh profile), so a device whose
 * script they hold keeps it and its application's share, if held; a script
 * or application new in the devices has none until a sync succeeds. */
int payload_sync(struct payloads *p, struct devices *devs);

/* Decode one uplink of dev: *object a new reference (the caller puts it),
 * or NULL when the device has no codec or decoding failed (then reported
 * as above, at time_us of the uplink, a `log` event UPLINK_CODEC whose
 * context has deduplication_id, the up event's dedup_id, as ChirpStack's).
 * LB_OK, LB_ERR_NOT_FOUND (no codec), or the codec's error. */
int payload_decode(struct payloads *p, const struct lb_device *dev, uint8_t fport,
		   const uint8_t *bytes, size_t len, int64_t time_us, const uint8_t dedup_id[16],
		   struct json_object **object);

/* Encode `data` for a downlink to dev into out (cap bytes): *len bytes,
 * *fport the script's (else left as given; CayenneLPP leaves it).
 * LB_ERR_STATE when the device has no codec that encodes, LB_ERR_SCRIPT
 * when its script has no encoder (never LB_ERR_NOT_FOUND: callers answer
 * that as "unknown device"); otherwise the codec's error. The reason is in
 * why. */
int payload_encode(struct payloads *p, const struct lb_device *dev, struct json_object *data,
		   uint8_t *fport, uint8_t *out, size_t cap, size_t *len, char *why,
		   size_t why_cap);

/* --check-config: compile every script the configuration names, once
 * each, printing "lorabridge: codec script FILE:LINE: reason" to err for
 * each one that does not load. Returns how many failed. */
size_t payload_check_scripts(const struct lb_config *cfg, FILE *err);

void payload_free(struct payloads *p);

#endif
