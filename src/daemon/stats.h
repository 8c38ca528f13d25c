/* SPDX-License-Identifier: MIT */
/*
 * stats.h - the bridge's own counters and their JSON form, published every
 * mqtt.stats_interval_s on lorabridge/{client_id}/stats (like a broker's
 * $SYS tree).
 *
 * "Nothing is lost silently": every datagram that is not processed is counted
 * in dgram_drops[] by its lb_err reason, every frame that does not become an
 * `up` event is counted in frame_drops[] by enum stats_frame_drop, every
 * gateway `stat` value left out of a stats event (drops.statFields), and
 * every `up` event the full outbox refuses in outbox_dropped
 * (drops.outboxOverflow), every refused command's `log` event over the
 * rate limit in refusal_events_dropped (drops.refusalEvents).
 */
#ifndef LB_STATS_H
#define LB_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "base/lb_err.h"
#include "config/config_types.h"

enum stats_frame_drop {
	DROP_CRC = 0,            /* rxpk stat != 1 (radio CRC bad or absent) */
	DROP_PHY_MALFORMED,      /* lorawan_parse failed */
	DROP_UNKNOWN_DEVADDR,    /* no configured device has that DevAddr */
	DROP_UNKNOWN_DEVEUI,     /* join-request from a DevEUI not configured for OTAA */
	DROP_MIC,                /* known DevAddr, no candidate's MIC verifies */
	DROP_REPLAY,             /* FCnt not above the last accepted (or reset) */
	DROP_RETRANSMISSION,     /* same FCnt as the last accepted */
	DROP_LATE_DUPLICATE,     /* copy arrived after the de-duplication window */
	DROP_UNHANDLED_MTYPE,    /* downlink types, RFU, proprietary */
	DROP_DECRYPT,            /* crypto library failure */
	DROP_ENCODE,             /* event JSON or topic could not be built */
	DROP_FAIR_ACCESS,        /* enforce: the device's airtime budget is used up */
	DROP_PUBLISH,            /* an `up` the MQTT client refused for good (outbox) */
	DROP__COUNT
};

struct stats {
	int64_t started_ms;
	uint64_t datagrams[6];               /* by GWMP identifier 0..5 */
	uint64_t dgram_drops[LB_ERR__COUNT]; /* by -lb_err */
	uint64_t frames_received;            /* rxpk accepted from gateways (before dedup) */
	uint64_t uplinks_unique;             /* de-duplicated frames processed */
	uint64_t uplinks_published;          /* `up` events the broker acknowledged */
	uint64_t dedup_hits;                 /* copies merged into an open group */
	uint64_t frame_drops[DROP__COUNT];
	uint64_t stat_fields_dropped;        /* gateway stat values out of range, left out */
	uint64_t gateway_events;             /* gateway up/stats events published */
	uint64_t log_events;                 /* device `log` events published */
	uint64_t codec_decoded;              /* uplinks given an `object` by a codec */
	uint64_t codec_encoded;              /* downlink objects encoded */
	uint64_t codec_failed;               /* codec calls that failed or were skipped */
	uint64_t codec_load_failed;          /* script loads (start, reload) that failed */
	uint64_t codec_kept_old;             /* changed scripts not compiled for want of
					      * memory: their old version kept (payload.h) */
	uint64_t joins;                      /* OTAA joins accepted */
	uint64_t commands;                   /* downlink commands queued from MQTT */
	uint64_t commands_refused;
	uint64_t refusal_events_dropped;     /* refusals' `log` events over their rate limit
					      * (command.h), drops.refusalEvents */
	uint64_t quiet_releases;             /* caches given back by a quiet bridge (bridge.c) */
};

/* One HTTP integration's counters (integrations.h), in events. */
struct stats_integ {
	const char *name;
	const char *type;                    /* "http" or "influxdb" */
	uint64_t sent;                       /* delivered (2xx) */
	uint64_t retried;                    /* put back after a failed attempt */
	uint64_t failed;                     /* given up: refused (4xx, 3xx), or a
					      * request that cannot be made */
	uint64_t dropped;                    /* never sent: beyond queue_limit, or not
					      * built (points > 64 KiB, unparseable
					      * JSON, a URL > 2048 bytes, no memory) */
	uint64_t queued;                     /* waiting or in flight */
};

/* Every integration the configuration may hold. */
#define STATS_MAX_INTEGS LB_INTEGS_MAX

/* Snapshot of values owned by other modules, filled by the caller. */
struct stats_extra {
	int64_t now_ms;
	size_t gateways_known;
	size_t gateways_online;
	size_t devices;
	size_t pending_sessions;             /* OTAA sessions of rejoins not used yet (session.h) */
	uint64_t udp_kernel_drops;
	uint64_t intake_pauses;              /* the UDP socket left unread (intake.h) */
	uint64_t intake_paused_ms;
	uint64_t dedup_forced_early;         /* groups forced out of a full table (dedup.h) */
	size_t mqtt_queue_depth;
	uint64_t mqtt_published;
	uint64_t mqtt_dropped;
	uint64_t outbox_depth;               /* events waiting for the broker's ack */
	uint64_t outbox_bytes;
	uint64_t outbox_dropped;             /* beyond mqtt.outbox_limit_mb */
	uint64_t mqtt_reconnects;
	uint64_t downlinks_sent;
	uint64_t downlinks_failed;
	uint64_t downlinks_rx2;
	uint64_t downlinks_own;               /* of downlinks_sent: no queue item, no txack */
	uint64_t store_commits;
	uint64_t store_failures;
	uint64_t store_syncs;                /* the WAL's, completed (store_sync.h) */
	uint64_t store_syncs_on_loop;        /* of them, made at once on the loop */
	int64_t store_sync_max_us;           /* the longest off the loop */
	int64_t store_sync_on_loop_max_us;   /* the longest on it */
	uint64_t store_ckpt_passes;          /* WAL checkpoint passes in a helper (store_ckpt.h) */
	uint64_t store_ckpt_on_loop;         /* WAL checkpoints made at once on the loop */
	uint64_t store_ckpt_waits;           /* transactions that waited for a closing pass */
	const struct stats_integ *integs;    /* integrations (may be NULL) */
	size_t n_integs;
};

const char *stats_frame_drop_name(enum stats_frame_drop d);
void stats_count_dgram_drop(struct stats *s, int err);

/* Serialise into out (JSON object). LB_OK or LB_ERR_TOO_LARGE. */
int stats_json(const struct stats *s, const struct stats_extra *x, char *out, size_t cap,
	       size_t *len);

#endif
