/* SPDX-License-Identifier: MIT */
/* otaa.c - join-request to session and join-accept. See otaa.h. */
#include "daemon/otaa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "daemon/session.h"
#include "mac/join.h"
#include "mac/macstate.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "io/loop.h"

#define META_JOIN_NONCE "join_nonce_next"
#define META_NWK_ADDR "nwk_addr_next"

int otaa_init(struct otaa *o, const struct otaa_ctx *ctx, const struct otaa_opts *opts)
{
	int64_t v;

	memset(o, 0, sizeof(*o));
	o->c = *ctx;
	o->opts = *opts;
	int rc = join_netid_parse(o->opts.net_id, &o->netid);

	if (rc != LB_OK) {
		log_error("otaa", "net_id %06x: %s", o->opts.net_id, lb_strerror(rc));
		return rc;
	}
	o->join_nonce_next = 0;
	o->nwk_addr_next = 0;
	/* Only "never stored" starts from 0: a JoinNonce must never repeat. */
	rc = store_meta_get(o->c.store, META_JOIN_NONCE, &v);
	if (rc == LB_OK)
		o->join_nonce_next = (uint32_t)v;
	else if (rc != LB_ERR_NOT_FOUND)
		goto fail;
	rc = store_meta_get(o->c.store, META_NWK_ADDR, &v);
	if (rc == LB_OK)
		o->nwk_addr_next = (uint32_t)v;
	else if (rc != LB_ERR_NOT_FOUND)
		goto fail;
	return LB_OK;
fail:
	log_error("otaa", "join counters cannot be read from the state: %s", lb_strerror(rc));
	return rc;
}

/* Next free DevAddr in the NetID's range: no live session uses it, current
 * or pending. */
static int alloc_dev_addr(struct otaa *o, uint32_t *dev_addr)
{
	struct lb_device *cand[1];
	uint64_t span = (uint64_t)o->netid.max_nwk_addr + 1;

	for (uint64_t tries = 0; tries < span; tries++) {
		uint32_t nwk = (uint32_t)((o->nwk_addr_next + tries) % span);
		uint32_t addr;
		if (join_devaddr(&o->netid, nwk, &addr) != LB_OK)
			continue;
		if (devices_find_addr(o->c.devices, addr, cand, 1) == 0 &&
		    !pending_find_addr(&o->c.sessions->pending, addr)) {
			*dev_addr = addr;
			o->nwk_addr_next = (uint32_t)((nwk + 1) % span);
			return LB_OK;
		}
	}
	return LB_ERR_FULL;
}

static void reject(struct otaa *o, const struct lb_device *dev, int rc,
		   const struct lw_frame *f, const struct dedup_group *g)
{
	char desc[160];
	const char *level = "ERROR";

	switch (rc) {
	case LB_ERR_MIC:
		o->c.stats->frame_drops[DROP_MIC]++;
		snprintf(desc, sizeof(desc), "join-request MIC does not verify with the AppKey");
		break;
	case LB_ERR_REPLAY:
		o->c.stats->frame_drops[DROP_REPLAY]++;
		level = "WARNING";
		snprintf(desc, sizeof(desc), "join-request DevNonce %u %s: refused as a replay",
			 f->u.join_req.dev_nonce,
			 dev->lorawan_version >= 4 ? "is not greater than the last one"
						   : "was already used");
		break;
	case LB_ERR_DENIED:
		o->c.stats->frame_drops[DROP_MIC]++;
		snprintf(desc, sizeof(desc), "join-request JoinEUI %016llx is not the configured one",
			 (unsigned long long)f->u.join_req.join_eui);
		break;
	default:
		o->c.stats->frame_drops[DROP_DECRYPT]++;
		snprintf(desc, sizeof(desc), "join not processed: %s", lb_strerror(rc));
		break;
	}
	LB_LOG_RL(LOG_LVL_WARN, "otaa", "device %s: %s", dev->name, desc);
	devevent_log(o->c.ev, dev, level, "OTAA", desc, g->rx[0].gateway_eui);
}

/* The join-accept CFList of a region of extra channels (RP002-1.0.4
 * §2.3.1: type 0, up to five extra channels; EU868, KR920, IN865 channels
 * 3..7, AS923 channels 2..6). "auto" gives EU868 devices the 867.1..867.9
 * MHz channels of Semtech's reference gateway configuration; AS923, KR920
 * and IN865 devices keep their default channels, as ChirpStack's shipped
 * region configurations do. */
static void cflist_freq(const struct otaa *o, const char *v, struct join_accept_params *a)
{
	static const uint32_t eu868_auto[] = {867100000, 867300000, 867500000, 867700000,
					      867900000};
	uint32_t f[CONFIG_CFLIST_MAX];
	int n;

	if (strcmp(v, "auto") == 0) {
		if (strcmp(o->c.region->name, "EU868") != 0)
			return;
		memcpy(f, eu868_auto, sizeof(eu868_auto));
		n = CONFIG_CFLIST_MAX;
	} else {
		n = config_cflist_parse(v, f, CONFIG_CFLIST_MAX);
	}
	if (n > 0 && region_cflist_freq(o->c.region, f, (size_t)n, a->cflist) == LB_OK)
		a->has_cflist = true;
}

/* The join-accept CFList of a region of fixed channels (US915, AU915):
 * type 1, the channel mask (RP002-1.0.4 §2.3.2; §2.5.4 US902-928, §2.8.4
 * AU915-928), with "auto" the sub-band mask netmac's LinkADRReq sets
 * (macstate_plan_mask(): downlink.sub_band's 8 channels and its 500 kHz
 * one), so the device transmits only where the gateways listen from its
 * first uplink on. Only to devices of LoRaWAN 1.0.3 and later
 * (join_cflist_chmask()): older ones get none. Either way netmac's
 * LinkADRReq confirms the mask at the first uplink: a device's LoRaWAN
 * version is a setting with a default, and a 1.0.2 device taken for 1.0.3
 * would ignore the CFList and stay on all 72 channels (netmac.h). */
static bool cflist_chmask(const struct otaa *o, const struct lb_device *dev,
			  struct join_accept_params *a)
{
	uint16_t mask[MACSTATE_CHMASK_WORDS];

	if (macstate_plan_mask(o->c.region, o->opts.sub_band, 0, mask) != LB_OK ||
	    join_cflist_chmask(o->c.region, (enum join_version)dev->lorawan_version, mask,
			       a->cflist) != LB_OK)
		return false;
	a->has_cflist = true;
	return true;
}

/* The join-accept's CFList (downlink.join_cflist; "none": none). True
 * when it carries the channel mask. */
static bool join_cflist(const struct otaa *o, const struct lb_device *dev,
			struct join_accept_params *a)
{
	const char *v = o->opts.join_cflist;

	if (!v || strcmp(v, "none") == 0)
		return false;
	switch (o->c.region->cflist_capable) {
	case REGION_CFLIST_FREQ:
		cflist_freq(o, v, a);
		return false;
	case REGION_CFLIST_CHMASK:
		/* An explicit list is refused there by the configuration
		 * (config.c check_cflist_region()). */
		return strcmp(v, "auto") == 0 && cflist_chmask(o, dev, a);
	default:
		return false;
	}
}

static int build_policy(struct otaa *o, struct lb_device *dev, const struct lw_frame *f,
			struct join_policy *pol, bool *mask_sent)
{
	bool seen = false;
	int rc = store_dev_nonce_used(o->c.store, dev->dev_eui, f->u.join_req.dev_nonce, &seen);

	if (rc != LB_OK)
		return rc;
	memset(pol, 0, sizeof(*pol));
	pol->dev_eui = dev->dev_eui;
	pol->join_eui = dev->otaa->join_eui;
	pol->version = (enum join_version)dev->lorawan_version;
	pol->dev_nonce_seen = seen;
	pol->has_last_dev_nonce = dev->rt.has_dev_nonce;
	pol->last_dev_nonce = dev->rt.dev_nonce;
	pol->accept.join_nonce = o->join_nonce_next & JOIN_MAX_NONCE;
	pol->accept.net_id = o->opts.net_id;
	pol->accept.rx1_dr_offset = o->opts.rx1_dr_offset;
	uint32_t rx2_freq;
	uint8_t rx2_dr;
	if (region_rx2(o->c.region, &rx2_freq, &rx2_dr) != LB_OK)
		rx2_dr = 0;
	pol->accept.rx2_dr = o->opts.has_rx2_dr ? o->opts.rx2_dr : rx2_dr;
	pol->accept.rx_delay = o->opts.rx_delay_s;
	*mask_sent = join_cflist(o, dev, &pol->accept);
	return alloc_dev_addr(o, &pol->accept.dev_addr);
}

/* The new session as a store row, before the device in memory changes. */
static void joined_row(struct otaa *o, const struct lb_device *dev, const struct join_outcome *out,
		       const struct join_policy *pol, struct store_session *row)
{
	uint32_t rx2_freq;
	uint8_t rx2_dr;

	memset(row, 0, sizeof(*row));
	row->dev_eui = dev->dev_eui;
	row->activation = LB_ACT_OTAA;
	row->dev_addr = out->dev_addr;
	memcpy(row->nwk_s_key, out->nwk_s_key, STORE_KEY_LEN);
	memcpy(row->app_s_key, out->app_s_key, STORE_KEY_LEN);
	/* The first block of downlink counters is reserved with the join
	 * (tables/fcntdown.h): the session's first downlinks commit nothing. */
	row->nfcnt_down = FCNTDOWN_BLOCK;
	row->rx1_dr_offset = pol->accept.rx1_dr_offset;
	row->rx2_dr = pol->accept.rx2_dr;
	/* The join-accept's DLSettings carry RX2's DR, not its frequency
	 * (TS001-1.0.4 §6.2.6): the device listens on the region's default
	 * until it acknowledges an RXParamSetupReq with downlink.rx2_frequency
	 * (daemon/netmac.h), which then sets rx2_freq. */
	if (region_rx2(o->c.region, &rx2_freq, &rx2_dr) != LB_OK)
		rx2_freq = 0;
	row->rx2_freq = rx2_freq;
	row->rx_delay = pol->accept.rx_delay;
	row->has_join_nonce_last = true;
	row->join_nonce_last = out->join_nonce;
	row->has_dev_nonce_last = true;
	row->dev_nonce_last = out->dev_nonce;
	/* 0 would mean never joined (store_types.h) */
	row->joined_at = macstate_join_stamp(loop_wall_us() / 1000000);
	/* netmac tells a new session by its join time (netmac.h), also at a
	 * pending session's promotion, which has no other hook: a join in the
	 * second of the device's current one (or a clock stepped back to it)
	 * takes the next second. */
	if (dev->has_session && macstate_joined_s(row->joined_at) == dev->rt.joined_at)
		row->joined_at++;
}

/*
 * Commit the join first (TS001-1.0.4 §6.2: the DevNonce is used, the
 * JoinNonce issued, the session exists), then switch the device over. With
 * `wait` the commit returns once the batch is on the disk; without, once it
 * is written, and *batch tells when it is durable (durable_committed()):
 * nothing is sent before. If the commit fails, the device keeps its current
 * session and no join-accept is sent. (A failed sync stops the daemon, so a
 * session switched in memory never outlives a batch that did not reach the
 * disk.) A (re)join empties the device's downlink queue, as ChirpStack
 * does: those frames were meant for the previous session.
 *
 * A device that has a session keeps it (LoRaWAN 1.0.3 §6.2.4): the new one
 * is stored as its pending session (session.h), replacing any pending
 * before, and taken at the device's first uplink under it; only the join's
 * nonces (device facts, whichever session wins) change in the current row.
 * A first join has nothing to keep: its session is the device's at once.
 */
static int commit_session(struct otaa *o, struct lb_device *dev, const struct join_outcome *out,
			  const struct join_policy *pol, bool wait, uint64_t *batch)
{
	struct store_pending jr;          /* the join's row, its note if pending */
	struct store_session *row = &jr.row;
	struct lb_device_rt rt_before = dev->rt;
	bool pend = dev->has_session;
	int rc;

	joined_row(o, dev, out, pol, row);
	sessions_pending_note(dev, &jr);   /* before the join changes the device */
	*batch = durable_batch(o->c.durable);
	uint32_t nonce_next = (out->join_nonce + 1) & JOIN_MAX_NONCE;
	if (pend) {
		dev->rt.has_join_nonce = true;
		dev->rt.join_nonce = out->join_nonce;
		dev->rt.has_dev_nonce = true;
		dev->rt.dev_nonce = out->dev_nonce;
	}
	/* Changes of the old session still waiting for the commit go first, so
	 * they cannot overwrite the new session row in the same batch. */
	if ((rc = durable_stage(o->c.durable)) != LB_OK ||
	    (rc = store_add_dev_nonce(o->c.store, dev->dev_eui, out->dev_nonce)) != LB_OK ||
	    (rc = store_meta_put(o->c.store, META_JOIN_NONCE, nonce_next)) != LB_OK ||
	    (rc = store_meta_put(o->c.store, META_NWK_ADDR, o->nwk_addr_next)) != LB_OK ||
	    (rc = pend ? store_put_pending(o->c.store, &jr) : store_put_session(o->c.store, row)) !=
		    LB_OK ||
	    (rc = pend ? sessions_stage(o->c.sessions, dev) : LB_OK) != LB_OK ||
	    /* a first join replaces a pending session left from before (its
	     * stored row another activation's): it is no session any more,
	     * held in memory or not (a row not taken at a restore, set aside
	     * by a reload): else a restart reads it back beside the new one */
	    (rc = !pend ? store_delete_pending(o->c.store, dev->dev_eui) : LB_OK) != LB_OK ||
	    (rc = store_downlink_flush(o->c.store, dev->dev_eui)) != LB_OK ||
	    (rc = wait ? durable_commit(o->c.durable) : durable_commit_nowait(o->c.durable)) !=
		    LB_OK) {
		/* The join rows may still be committed by a later retry of this
		 * batch: the device's current session goes in after them, so the
		 * store keeps what the device really has. (A pending row that
		 * stays is harmless: the device's next join replaces it.) */
		if (pend) {
			dev->rt.has_join_nonce = rt_before.has_join_nonce;
			dev->rt.join_nonce = rt_before.join_nonce;
			dev->rt.has_dev_nonce = rt_before.has_dev_nonce;
			dev->rt.dev_nonce = rt_before.dev_nonce;
		}
		if (sessions_stage(o->c.sessions, dev) != LB_OK)
			log_error("otaa", "device %s: current session not staged again after a "
				  "failed join: a restart may bring back a session the device "
				  "never got (it then joins again)", dev->name);
		explicit_bzero(&jr, sizeof(jr));   /* its session keys */
		return rc;
	}
	o->join_nonce_next = nonce_next;
	if (pend) {
		/* On failure (logged) the device switched at once: a join still. */
		(void)sessions_pending_add(o->c.sessions, dev, &jr, *batch);
		explicit_bzero(&jr, sizeof(jr));
		return LB_OK;
	}
	(void)pending_drop(&o->c.sessions->pending, dev->dev_eui);
	rc = devices_set_session(o->c.devices, dev, out->dev_addr, out->nwk_s_key, out->app_s_key,
				 false, 0);
	if (rc != LB_OK) {
		explicit_bzero(&jr, sizeof(jr));
		return rc;
	}
	fcntdown_start(&dev->rt.fcnt_down, row->nfcnt_down, *batch);
	dev->rt.rx1_dr_offset = row->rx1_dr_offset;
	dev->rt.rx_delay_s = row->rx_delay;
	dev->rt.rx2_dr = row->rx2_dr;
	dev->rt.rx2_freq = row->rx2_freq;
	dev->rt.has_join_nonce = true;
	dev->rt.join_nonce = out->join_nonce;
	dev->rt.has_dev_nonce = true;
	dev->rt.dev_nonce = out->dev_nonce;
	dev->rt.joined_at = macstate_joined_s(row->joined_at);
	dev->rt.ack_due = false;
	devices_clear_confirmed(dev);
	explicit_bzero(&jr, sizeof(jr));
	return LB_OK;
}

static void publish_join(struct otaa *o, const struct lb_device *dev, int64_t time_us,
			 uint32_t dev_addr)
{
	struct ev_device d;
	size_t len;
	struct ev_join ev = {.dev = &d, .time_us = time_us, .dev_addr = dev_addr,
			     .region_config_id = o->c.ev->names.region_config_id};

	devevent_fill(&d, o->c.ev, dev);
	idgen_next(o->c.ids, ev.dedup_id);
	char json[OTAA_EVENT_MAX];
	int rc = event_json_join(&ev, json, sizeof(json), &len);
	(void)devevent_publish(o->c.ev, dev, "join", rc, json, len); /* a failure is logged */
}

/* The join is on the disk: send its join-accept, and tell once it went.
 * A join-accept not sent is no join (the device asks again): no `join`
 * event, not counted; why is told (duty cycle and too late by txsched). */
static void announce(struct otaa *o, struct lb_device *dev, const struct otaa_held *h)
{
	int rc = txsched_join_accept(o->c.tx, dev, h->phy, h->phy_len, h->rx, h->n_rx, h->heard_ms);
	if (rc == LB_OK) {
		o->c.stats->joins++;
		publish_join(o, dev, h->time_us, h->dev_addr);
		return;
	}
	if (rc != LB_ERR_TIMEOUT && rc != LB_ERR_FULL)
		devevent_log(o->c.ev, dev, "ERROR", "OTAA", "join-accept could not be scheduled",
			     h->rx[0].gateway_eui);
}

static void held_fill(struct otaa_held *h, const struct lb_device *dev,
		      const struct join_outcome *out, const struct dedup_group *g, uint64_t batch)
{
	const struct lb_rx *first = &g->rx[0];

	h->dev_eui = dev->dev_eui;
	h->batch = batch;
	h->heard_ms = g->first_ms;
	h->dev_addr = out->dev_addr;
	h->time_us = first->rxpk.has_time ? first->rxpk.time_us : first->received_us;
	memcpy(h->phy, out->phy, out->phy_len);
	h->phy_len = out->phy_len;
	h->n_rx = txsched_best_rx(g->rx, g->n_rx, h->rx);
}

/* A device joining again while its previous join is held: the device
 * listens for the accept of its latest request only, so the previous one is
 * dropped (said in the log; its session is replaced by the new one). */
static void held_superseded(struct otaa *o, const struct lb_device *dev)
{
	for (size_t i = 0; i < o->n_held; i++) {
		if (o->held[i].dev_eui != dev->dev_eui)
			continue;
		log_info("otaa", "device %s: a new join-request supersedes the join held for the "
			 "disk: its join-accept is not sent", dev->name);
		memmove(&o->held[i], &o->held[i + 1], (o->n_held - i - 1) * sizeof(o->held[0]));
		o->n_held--;
		return;
	}
}

/* A slot for a join to hold, or NULL (the join then waits for the disk):
 * none without io_uring, where every commit syncs at once anyway. */
static struct otaa_held *held_slot(struct otaa *o)
{
	if (o->n_held == OTAA_HELD_MAX || store_sync_fd(o->c.store) < 0)
		return NULL;
	if (!o->held && !(o->held = malloc(OTAA_HELD_MAX * sizeof(*o->held)))) {
		log_warn("otaa", "no memory to hold a join for the disk: it waits for it on the loop");
		return NULL;
	}
	return &o->held[o->n_held++];
}

void otaa_join(struct otaa *o, const struct lw_frame *f, const struct dedup_group *g)
{
	struct lb_device *dev = devices_find_eui(o->c.devices, f->u.join_req.dev_eui);
	struct join_policy pol;
	struct join_outcome out;
	bool mask_sent = false;
	struct lw_key app_key;
	uint64_t batch;

	if (!dev || dev->activation != LB_ACT_OTAA) {
		o->c.stats->frame_drops[DROP_UNKNOWN_DEVEUI]++;
		log_debug("otaa", "join-request from unconfigured DevEUI %016llx",
			  (unsigned long long)f->u.join_req.dev_eui);
		return;
	}
	/* Authenticity first: a forged request for a known DevEUI costs a MIC,
	 * no SQL and no DevAddr. */
	memset(&app_key, 0, sizeof(app_key));
	int rc = lwcrypto_key_init(&app_key, dev->otaa->app_key);
	if (rc == LB_OK)
		rc = join_request_verify(f, &app_key, dev->otaa->join_eui);
	if (rc == LB_OK)
		rc = build_policy(o, dev, f, &pol, &mask_sent);
	if (rc == LB_OK)
		rc = join_process(f, &app_key, &pol, &out);
	lwcrypto_key_free(&app_key);
	if (rc != LB_OK) {
		explicit_bzero(&out, sizeof(out));   /* join_process() wipes its keys; the rest */
		reject(o, dev, rc, f, g);
		return;
	}
	held_superseded(o, dev);
	struct otaa_held *h = held_slot(o);
	rc = commit_session(o, dev, &out, &pol, h == NULL, &batch);
	if (rc != LB_OK) {
		if (h)
			o->n_held--;   /* the slot just taken is the last one */
		log_error("otaa", "device %s: join not made durable (%s): no join-accept sent",
			  dev->name, lb_strerror(rc));
		devevent_log(o->c.ev, dev, "ERROR", "OTAA", "join state could not be stored", 0);
		explicit_bzero(&out, sizeof(out));   /* the session keys */
		return;
	}
	if (dev->dev_addr != out.dev_addr) {
		log_info("otaa", "device %s joined: DevAddr %08x, DevNonce %u%s; pending until "
			 "its first uplink under it, its current DevAddr %08x stays in use "
			 "meanwhile", dev->name, out.dev_addr, out.dev_nonce,
			 mask_sent ? ", channel mask in the CFList" : "", dev->dev_addr);
	} else {
		/* The new session's MAC state starts here (a pending one's at its
		 * promotion, by its join time: netmac.h). */
		if (o->c.netmac)
			netmac_joined(o->c.netmac, dev);
		log_info("otaa", "device %s joined: DevAddr %08x, DevNonce %u%s", dev->name,
			 out.dev_addr, out.dev_nonce, mask_sent ? ", channel mask in the CFList" : "");
	}
	struct otaa_held now;
	held_fill(h ? h : &now, dev, &out, g, batch);
	explicit_bzero(&out, sizeof(out));       /* the session keys */
	if (!h || durable_committed(o->c.durable, batch)) {
		announce(o, dev, h ? h : &now);
		if (h)
			o->n_held--;
	}
}

/* Its batch did not reach the disk before the RX2 window: nothing may be
 * sent, and the device will ask again. */
static void too_late(struct otaa *o, const struct otaa_held *h, int64_t now_ms)
{
	struct lb_device *dev = devices_find_eui(o->c.devices, h->dev_eui);

	log_warn("otaa", "device %016llx: join-accept not sent: its state was not on the disk "
		 "%lld ms after the join-request, too late for its receive windows",
		 (unsigned long long)h->dev_eui, (long long)(now_ms - h->heard_ms));
	if (dev)
		txsched_join_missed(o->c.tx, dev, "join-accept not sent: the join's state was not "
				    "on the disk in time for its receive windows",
				    h->rx[0].gateway_eui);
}

int64_t otaa_tick(struct otaa *o, int64_t now_ms)
{
	int64_t next = -1;
	size_t keep = 0;

	for (size_t i = 0; i < o->n_held; i++) {
		struct otaa_held *h = &o->held[i];
		int64_t last = h->heard_ms + JOIN_ACCEPT_DELAY2_S * 1000 - TXSCHED_LEAD_MS;
		/* The deadline first: a sync that completed after it is too late
		 * as well, however soon this tick sees it. */
		if (now_ms >= last) {
			too_late(o, h, now_ms);
			continue;
		}
		if (durable_committed(o->c.durable, h->batch)) {
			struct lb_device *dev = devices_find_eui(o->c.devices, h->dev_eui);
			if (dev)
				announce(o, dev, h);
			else
				log_warn("otaa", "device %016llx: removed by a reload while its join "
					 "waited for the disk: no join-accept sent",
					 (unsigned long long)h->dev_eui);
			continue;
		}
		if (next < 0 || last < next)
			next = last;
		if (keep != i)
			o->held[keep] = *h;
		keep++;
	}
	o->n_held = keep;
	if (keep == 0)
		otaa_free(o);
	return next;
}

size_t otaa_held(const struct otaa *o)
{
	return o->n_held;
}

void otaa_free(struct otaa *o)
{
	free(o->held);
	o->held = NULL;
	o->n_held = 0;
}
