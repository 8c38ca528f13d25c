/* SPDX-License-Identifier: MIT */
/* stats.c - bridge counters as JSON. See stats.h. */
#include "daemon/stats.h"

#include <json-c/json.h>
#include <string.h>

static const char *const frame_drop_names[DROP__COUNT] = {
	[DROP_CRC] = "crcError",
	[DROP_PHY_MALFORMED] = "phyMalformed",
	[DROP_UNKNOWN_DEVADDR] = "unknownDevAddr",
	[DROP_UNKNOWN_DEVEUI] = "unknownDevEui",
	[DROP_MIC] = "micFailure",
	[DROP_REPLAY] = "replay",
	[DROP_RETRANSMISSION] = "retransmission",
	[DROP_LATE_DUPLICATE] = "lateDuplicate",
	[DROP_UNHANDLED_MTYPE] = "unhandledMType",
	[DROP_DECRYPT] = "decryptError",
	[DROP_ENCODE] = "encodeError",
	[DROP_FAIR_ACCESS] = "fairAccess",
	[DROP_PUBLISH] = "publishError",
};

static const char *const dgram_names[6] = {"pushData", "pushAck", "pullData",
					   "pullResp", "pullAck", "txAck"};

const char *stats_frame_drop_name(enum stats_frame_drop d)
{
	return (unsigned)d < DROP__COUNT ? frame_drop_names[d] : "unknown";
}

void stats_count_dgram_drop(struct stats *s, int err)
{
	if (err < 0 && err > -LB_ERR__COUNT)
		s->dgram_drops[-err]++;
	else
		s->dgram_drops[-LB_ERR_MALFORMED]++;
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static json_object *datagrams_json(const struct stats *s)
{
	json_object *o = json_object_new_object();
	/* Only the identifiers a gateway sends; the rest are ours. */
	add_u64(o, dgram_names[0], s->datagrams[0]);
	add_u64(o, dgram_names[2], s->datagrams[2]);
	add_u64(o, dgram_names[5], s->datagrams[5]);
	return o;
}

static json_object *drops_json(const struct stats *s, const struct stats_extra *x)
{
	json_object *d = json_object_new_object();
	json_object *dg = json_object_new_object();
	json_object *fr = json_object_new_object();

	for (int i = 1; i < LB_ERR__COUNT; i++)
		if (s->dgram_drops[i])
			add_u64(dg, lb_errname(-i), s->dgram_drops[i]);
	for (int i = 0; i < DROP__COUNT; i++)
		add_u64(fr, frame_drop_names[i], s->frame_drops[i]);
	json_object_object_add(d, "datagrams", dg);
	json_object_object_add(d, "frames", fr);
	add_u64(d, "statFields", s->stat_fields_dropped);
	add_u64(d, "udpKernel", x->udp_kernel_drops);
	add_u64(d, "mqttQueueOverflow", x->mqtt_dropped);
	add_u64(d, "outboxOverflow", x->outbox_dropped);
	add_u64(d, "refusalEvents", s->refusal_events_dropped);
	return d;
}

int stats_json(const struct stats *s, const struct stats_extra *x, char *out, size_t cap,
	       size_t *len)
{
	json_object *o = json_object_new_object();
	json_object *m = json_object_new_object();

	add_u64(o, "uptimeS", (uint64_t)((x->now_ms - s->started_ms) / 1000));
	add_u64(o, "gatewaysKnown", x->gateways_known);
	add_u64(o, "gatewaysOnline", x->gateways_online);
	add_u64(o, "devices", x->devices);
	add_u64(o, "pendingSessions", x->pending_sessions);
	json_object_object_add(o, "datagrams", datagrams_json(s));
	add_u64(o, "framesReceived", s->frames_received);
	add_u64(o, "uplinksUnique", s->uplinks_unique);
	add_u64(o, "uplinksPublished", s->uplinks_published);
	add_u64(o, "dedupHits", s->dedup_hits);
	add_u64(o, "dedupForcedEarly", x->dedup_forced_early);
	add_u64(o, "logEvents", s->log_events);
	add_u64(o, "joins", s->joins);
	add_u64(o, "quietReleases", s->quiet_releases);
	json_object *in = json_object_new_object();
	add_u64(in, "pauses", x->intake_pauses);
	add_u64(in, "pausedMs", x->intake_paused_ms);
	json_object_object_add(o, "intake", in);
	json_object *cd = json_object_new_object();
	add_u64(cd, "decoded", s->codec_decoded);
	add_u64(cd, "encoded", s->codec_encoded);
	add_u64(cd, "failed", s->codec_failed);
	add_u64(cd, "loadFailed", s->codec_load_failed);
	add_u64(cd, "keptOld", s->codec_kept_old);
	json_object_object_add(o, "codecs", cd);
	json_object *dl = json_object_new_object();
	add_u64(dl, "commands", s->commands);
	add_u64(dl, "commandsRefused", s->commands_refused);
	add_u64(dl, "sent", x->downlinks_sent);
	add_u64(dl, "sentRx2", x->downlinks_rx2);
	add_u64(dl, "sentOwn", x->downlinks_own);
	add_u64(dl, "failed", x->downlinks_failed);
	json_object_object_add(o, "downlinks", dl);
	json_object *st = json_object_new_object();
	add_u64(st, "commits", x->store_commits);
	add_u64(st, "failures", x->store_failures);
	add_u64(st, "syncs", x->store_syncs);
	add_u64(st, "syncsOnLoop", x->store_syncs_on_loop);
	add_u64(st, "syncMaxMs", (uint64_t)(x->store_sync_max_us / 1000));
	add_u64(st, "syncOnLoopMaxMs", (uint64_t)(x->store_sync_on_loop_max_us / 1000));
	add_u64(st, "checkpointPasses", x->store_ckpt_passes);
	add_u64(st, "checkpointsOnLoop", x->store_ckpt_on_loop);
	add_u64(st, "checkpointWaits", x->store_ckpt_waits);
	json_object_object_add(o, "store", st);
	json_object_object_add(o, "drops", drops_json(s, x));
	add_u64(m, "queueDepth", x->mqtt_queue_depth);
	add_u64(m, "published", x->mqtt_published);
	add_u64(m, "reconnects", x->mqtt_reconnects);
	add_u64(m, "outboxDepth", x->outbox_depth);
	add_u64(m, "outboxBytes", x->outbox_bytes);
	json_object_object_add(o, "mqtt", m);
	json_object *ig = json_object_new_object();
	for (size_t i = 0; i < x->n_integs; i++) {
		const struct stats_integ *e = &x->integs[i];
		json_object *one = json_object_new_object();
		json_object_object_add(one, "type", json_object_new_string(e->type));
		add_u64(one, "sent", e->sent);
		add_u64(one, "retried", e->retried);
		add_u64(one, "failed", e->failed);
		add_u64(one, "dropped", e->dropped);
		add_u64(one, "queueLength", e->queued);
		json_object_object_add(ig, e->name, one);
	}
	json_object_object_add(o, "integrations", ig);

	size_t n;
	const char *txt = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
	int rc = LB_OK;
	if (!txt)
		rc = LB_ERR_NOMEM;
	else if (n + 1 > cap)
		rc = LB_ERR_TOO_LARGE;
	else {
		memcpy(out, txt, n + 1);
		*len = n;
	}
	json_object_put(o);
	return rc;
}
