/* SPDX-License-Identifier: MIT */
/* uplink.c - verify, decrypt and publish one de-duplicated uplink. See uplink.h. */
#include "daemon/uplink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "codec/jscodec.h"
#include "events/event_json.h"
#include "base/hex.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "base/uuid.h"
#include "lorawan/lorawan.h"
#include "io/loop.h"

#define MAX_CANDIDATES 16

/* A `log` event on the device's topic, timed at the frame's arrival. */
static void publish_log(struct uplink *u, const struct lb_device *dev, const char *level,
			const char *code, const char *description, const struct dedup_group *g)
{
	devevent_log_at(u->ev, dev, g->rx[0].received_us, level, code, description,
			g->rx[0].gateway_eui);
}

/* A counter problem's `log` event: context gatewayId (lorabridge's) and
 * deduplication_id, as ChirpStack's UPLINK_F_CNT_RETRANSMISSION and
 * UPLINK_F_CNT_RESET carry (the id of this reception, which publishes no
 * `up`; ChirpStack's uplink set id is as new). */
static void publish_fcnt_log(struct uplink *u, const struct lb_device *dev, const char *code,
			     const char *description, const struct dedup_group *g)
{
	static const char *const keys[] = {"gatewayId", "deduplication_id"};
	char gw[HEX_EUI_LEN + 1], id[UUID_STR_LEN + 1];
	const char *values[] = {gw, id};
	uint8_t dedup_id[UUID_LEN];

	hex_format_eui(g->rx[0].gateway_eui, gw);
	idgen_next(u->ids, dedup_id);
	uuid_format(dedup_id, id);
	devevent_log_ctx_at(u->ev, dev, g->rx[0].received_us, "WARNING", code, description, keys,
			    values, 2);
}

/* Each reception of a frame no device accepted, as a gateway `up` event
 * (mqtt.gateway_frames = "unknown": dispatch.c left it to this verdict). */
static void publish_unclaimed(struct uplink *u, const struct dedup_group *g)
{
	if (u->gateway_frames != LB_GWF_UNKNOWN)
		return;
	for (size_t i = 0; i < g->n_rx; i++)
		if (publish_gateway_up(u->pub, &g->rx[i]) == LB_OK)
			u->stats->gateway_events++;
}

static void report_mic_failure(struct uplink *u, const struct lw_frame *f,
			       const struct dedup_group *g)
{
	struct lb_device *cand[MAX_CANDIDATES];
	size_t n = devices_find_addr(u->devices, f->u.data.dev_addr, cand, MAX_CANDIDATES);
	char desc[128];

	u->stats->frame_drops[DROP_MIC]++;
	snprintf(desc, sizeof(desc), "MIC of uplink with DevAddr %08x FCnt16 %u does not verify",
		 f->u.data.dev_addr, f->u.data.fcnt16);
	LB_LOG_RL(LOG_LVL_WARN, "uplink", "%s (%zu candidate device(s))", desc, n);
	for (size_t i = 0; i < n; i++)
		publish_log(u, cand[i], "ERROR", "UPLINK_MIC", desc, g);
}

static void report_counter_problem(struct uplink *u, int rc, const struct lb_uplink_match *m,
				   const struct lw_frame *f, const struct dedup_group *g)
{
	char desc[160];
	const struct lb_device *dev = m->dev;

	if (rc == LB_ERR_DUPLICATE) {
		u->stats->frame_drops[DROP_RETRANSMISSION]++;
		snprintf(desc, sizeof(desc), "uplink FCnt %u repeated: retransmission not published",
			 m->fcnt);
		LB_LOG_RL(LOG_LVL_INFO, "uplink", "device %s: %s", dev->name, desc);
		publish_fcnt_log(u, dev, "UPLINK_F_CNT_RETRANSMISSION", desc, g);
		return;
	}
	u->stats->frame_drops[DROP_REPLAY]++;
	if (m->fcnt_reset) {
		snprintf(desc, sizeof(desc),
			 "uplink FCnt %u is below the last accepted %u: frame counter reset "
			 "(device rebooted?) or replay; frame dropped",
			 f->u.data.fcnt16, dev->last_fcnt_up);
		publish_fcnt_log(u, dev, "UPLINK_F_CNT_RESET", desc, g);
	} else {
		snprintf(desc, sizeof(desc),
			 "uplink FCnt %u is not above the last accepted %u: replay dropped",
			 m->fcnt, dev->last_fcnt_up);
		publish_log(u, dev, "ERROR", "UPLINK_F_CNT_REPLAY", desc, g);
	}
	LB_LOG_RL(LOG_LVL_WARN, "uplink", "device %s: %s", dev->name, desc);
}

/* MAC commands travel in FOpts or, encrypted, as the FPort-0 payload
 * (TS001-1.0.4 §4.3.1.6, §4.3.2). */
static void mac_source(const struct lw_frame *f, const uint8_t *plain, const uint8_t **mac,
		       size_t *mac_len)
{
	const struct lw_data *d = &f->u.data;
	*mac = d->fopts;
	*mac_len = d->fopts_len;
	if (d->has_fport && d->fport == 0) {
		*mac = plain;
		*mac_len = d->frm_len;
	}
}

static int uplink_dr(const struct uplink *u, const struct gwmp_rxpk *pk)
{
	int dr;
	if (!u->region)
		return -1;
	if (pk->modu == GWMP_MOD_LORA)
		dr = region_dr_lora(u->region, pk->sf, pk->bw_khz, true);
	else if (pk->modu == GWMP_MOD_FSK)
		dr = region_dr_fsk(u->region, pk->bitrate);
	else
		return -1;
	return dr < 0 ? -1 : dr;
}

_Static_assert(GATEWAY_POSITION_TEXT_MAX >= EVENT_JSON_LOCATION_MAX,
	       "a gateway's position text holds event_json_location()'s");

/* gw's position as the event takes it, with its text: written by the first
 * uplink after the position changed (gateway_take_position() emptied it),
 * copied by the others. A text not written (cannot happen: its size is
 * bounded) leaves the numbers to the event. */
static struct ev_location gateway_location(struct gateway *gw)
{
	struct ev_location loc = {.known = true, .latitude = gw->lati, .longitude = gw->lon,
				  .has_altitude = gw->has_altitude, .altitude = gw->alti};

	if (gw->position_text_len == 0 &&
	    event_json_location(&loc, gw->position_text, sizeof(gw->position_text),
				&gw->position_text_len) != LB_OK)
		gw->position_text_len = 0;
	if (gw->position_text_len > 0) {
		loc.text = gw->position_text;
		loc.text_len = gw->position_text_len;
	}
	return loc;
}

/* The position of each reception's gateway, as far as known (its `stat`
 * reports, gateway_take_position()), into loc; NULL when none is known. */
static const struct ev_location *rx_locations(const struct uplink *u,
					      const struct dedup_group *g,
					      struct ev_location loc[DEDUP_MAX_RX])
{
	bool any = false;

	for (size_t i = 0; i < g->n_rx; i++) {
		struct gateway *gw = gateways_find(u->gateways, g->rx[i].gateway_eui);
		if (!gw || !gw->has_position) {
			loc[i].known = false;
			continue;
		}
		loc[i] = gateway_location(gw);
		any = true;
	}
	return any ? loc : NULL;
}

static void publish_up(struct uplink *u, const struct lw_frame *f, const struct lb_uplink_match *m,
		       const uint8_t *plain, const struct dedup_group *g, uint64_t batch,
		       const uint8_t dedup_id[16])
{
	const struct lw_data *d = &f->u.data;
	struct ev_device dev;
	struct ev_uplink ev;
	size_t len;

	memset(&ev, 0, sizeof(ev));
	ev.dev = &dev;
	memcpy(ev.dedup_id, dedup_id, sizeof(ev.dedup_id));
	ev.region_config_id = u->ev->names.region_config_id;
	ev.time_us = g->rx[0].rxpk.has_time ? g->rx[0].rxpk.time_us : g->rx[0].received_us;
	ev.dev_addr = d->dev_addr;
	ev.adr = d->adr;
	ev.dr = uplink_dr(u, &g->rx[0].rxpk);
	ev.fcnt = m->fcnt;
	ev.has_fport = d->has_fport;
	ev.fport = d->fport;
	ev.confirmed = f->mtype == LW_MTYPE_CONFIRMED_UP;
	if (d->has_fport && d->fport != 0) {
		ev.data = plain;
		ev.data_len = d->frm_len;
	}
	mac_source(f, plain, &ev.mac, &ev.mac_len);
	ev.rx = g->rx;
	ev.n_rx = g->n_rx;
	struct ev_location loc[DEDUP_MAX_RX];
	ev.rx_location = rx_locations(u, g, loc);
	if (u->ev->names.rx_metadata_len > 0) {
		ev.rx_metadata = u->ev->names.rx_metadata;
		ev.rx_metadata_len = u->ev->names.rx_metadata_len;
	}
	struct ev_fair_access fa;
	ev.has_airtime = true;
	if (!budget_uplink(u->budget, m->dev, &g->rx[0], &ev.airtime_ms, &fa))
		return;
	ev.fair_access = &fa;
	/* A codec failure is reported by payload_decode(); the `up` goes out
	 * without `object` (nothing lost). */
	if (m->dev->prof->codec != LB_CODEC_NONE && d->has_fport && d->fport != 0)
		(void)payload_decode(u->payloads, m->dev, d->fport, plain, d->frm_len, ev.time_us,
				     dedup_id, &ev.object);
	/* Home Assistant entities and field topics for this event (its object
	 * once decoded); failures are logged there and do not concern the event. */
	(void)hass_seen(u->hass, m->dev, ev.object, loop_now_ms());

	char small[UPLINK_EVENT_MAX];
	char *json = small, *big = NULL;
	struct ev_span obj;
	/* Filled here, after the calls above that may publish events of their
	 * own: its deviceInfo head is valid until the next fill (devevent.h). */
	devevent_fill(&dev, u->ev, m->dev);
	int rc = event_json_uplink_at(&ev, json, sizeof(small), &len, &obj);
	if (rc == LB_ERR_TOO_LARGE && ev.object) {
		/* A codec's result may take up to its limit (JSCODEC_DEFAULT_RESULT_MAX,
		 * 64 KiB) beside the rest: a block of its own, for this event only. */
		big = malloc(UPLINK_EVENT_MAX + JSCODEC_DEFAULT_RESULT_MAX);
		rc = big ? event_json_uplink_at(&ev, big, UPLINK_EVENT_MAX + JSCODEC_DEFAULT_RESULT_MAX,
						&len, &obj)
			 : LB_ERR_NOMEM;
		json = big;
	}
	json_object_put(ev.object);
	ev.object = NULL;
	if (rc != LB_OK) {
		free(big);
		u->stats->frame_drops[DROP_ENCODE]++;
		LB_LOG_RL(LOG_LVL_ERROR, "uplink", "device %s: up event not built: %s", m->dev->name,
			  lb_strerror(rc));
		return;
	}
	/* The tap's consumers (the web page) take the values from ev and the
	 * object's text from the event: no second parse of the event. */
	struct publish_facts facts = {.up = &ev, .object = obj.len ? json + obj.off : NULL,
				      .object_len = obj.len};
	/* Published once the batch holding this frame's counter is durable
	 * (after a crash no accepted FCnt is accepted again: store.h), from the
	 * outbox committed in that same batch (never lost after it: outbox.h). */
	rc = publish_device_event_held(u->pub, batch, m->dev->prof->application,
				       ev.dev->application_id, m->dev->dev_eui, "up", json, len,
				       &facts);
	free(big);
	if (rc == LB_ERR_FULL)
		return;   /* the outbox is full: counted (outboxOverflow) and logged there */
	if (rc != LB_OK) {
		u->stats->frame_drops[DROP_ENCODE]++;
		LB_LOG_RL(LOG_LVL_ERROR, "uplink", "device %s: up event not queued: %s",
			  m->dev->name, lb_strerror(rc));
		return;
	}
	log_debug("uplink", "device %s FCnt %u FPort %u: %zu bytes from %zu gateway(s)", m->dev->name,
		  m->fcnt, d->fport, d->frm_len, g->n_rx);
}

/* A retransmission is not published again, but a confirmed one is
 * acknowledged again (txsched_after_retransmission()), with the answers to
 * the device's own requests it carries. */
static void ack_retransmission(struct uplink *u, const struct lw_frame *f,
			       const struct lb_uplink_match *m, const struct dedup_group *g)
{
	uint8_t plain[LW_MAX_PHY];
	const uint8_t *mac = NULL;
	size_t mac_len = 0;

	if (!txsched_retransmission_wanted(u->tx, m->dev, f, g->rx, g->n_rx))
		return;
	/* Only MAC commands in FPort 0 need the payload decrypted. */
	bool port0 = f->u.data.has_fport && f->u.data.fport == 0;
	int rc = port0 ? devices_decrypt(u->devices, m->dev, f, m->fcnt, plain) : LB_OK;
	if (rc == LB_OK)
		mac_source(f, plain, &mac, &mac_len);
	else
		LB_LOG_RL(LOG_LVL_ERROR, "uplink", "device %s: retransmission not decrypted (%s): "
			  "its ACK goes without MAC answers", m->dev->name, lb_strerror(rc));
	txsched_after_retransmission(u->tx, m->dev, f, mac, mac_len, g->rx, g->n_rx, g->first_ms);
}

static void process_data_up(struct uplink *u, const struct lw_frame *f, const struct dedup_group *g)
{
	struct lb_uplink_match m;
	uint8_t plain[LW_MAX_PHY];

	bool promoted = false;
	int rc = devices_verify_uplink(u->devices, f, &m);
	/* Only a frame no current session claims may be a pending session's
	 * first (session.h): the common case pays nothing. */
	if ((rc == LB_ERR_NOT_FOUND || rc == LB_ERR_MIC) &&
	    sessions_promote(u->sessions, f) == LB_OK) {
		rc = devices_verify_uplink(u->devices, f, &m);
		promoted = true;
	} else if (rc == LB_OK && m.dev->dev_class == LB_CLASS_C)
		sessions_current_heard(u->sessions, m.dev);
	switch (rc) {
	case LB_OK:
		break;
	case LB_ERR_NOT_FOUND:
		u->stats->frame_drops[DROP_UNKNOWN_DEVADDR]++;
		log_debug("uplink", "no device with DevAddr %08x", f->u.data.dev_addr);
		return;
	case LB_ERR_MIC:
		report_mic_failure(u, f, g);
		publish_unclaimed(u, g);
		return;
	case LB_ERR_DUPLICATE:
		/* Its MIC verified under the current session: a repeat of a
		 * frame first accepted after a pending join says the device
		 * kept that session, as the frame did; a repeat of an older
		 * one may be anyone's replay and counts for nothing
		 * (sessions_current_repeated()). */
		if (m.dev->dev_class == LB_CLASS_C)
			sessions_current_repeated(u->sessions, m.dev, m.fcnt);
		report_counter_problem(u, rc, &m, f, g);
		ack_retransmission(u, f, &m, g);
		return;
	case LB_ERR_REPLAY:
		report_counter_problem(u, rc, &m, f, g);
		return;
	default:
		u->stats->frame_drops[DROP_DECRYPT]++;
		LB_LOG_RL(LOG_LVL_ERROR, "uplink", "verification failed: %s", lb_strerror(rc));
		return;
	}
	rc = devices_decrypt(u->devices, m.dev, f, m.fcnt, plain);
	if (rc != LB_OK) {
		u->stats->frame_drops[DROP_DECRYPT]++;
		LB_LOG_RL(LOG_LVL_ERROR, "uplink", "device %s: decryption failed: %s", m.dev->name,
			  lb_strerror(rc));
		return;
	}
	/* The counter is committed once the frame is authentic, whatever MQTT
	 * does next: a replay of it must be refused even if publishing fails. */
	devices_accept_uplink(m.dev, m.fcnt);
	devices_set_seen(m.dev, loop_now_ms());
	for (size_t i = 0; i < g->n_rx; i++)
		gateways_mark_valid(u->gateways, g->rx[i].gateway_eui, loop_now_ms());
	m.dev->rt.last_dr = (int8_t)uplink_dr(u, &g->rx[0].rxpk);
	uint64_t batch = sessions_touch_fcnt(u->sessions, m.dev, g->due_ms);
	uint8_t dedup_id[16];   /* the up event's, and the ack event's it settles */
	idgen_next(u->ids, dedup_id);
	publish_up(u, f, &m, plain, g, batch, dedup_id);
	/* A confirmed downlink of the old session awaiting its ACK never gets
	 * one: settled as not acknowledged (its `ack` event, its row deleted),
	 * whatever this uplink's ACK bit says (it is the new session's). */
	if (promoted)
		txsched_settle_confirmed(u->tx, m.dev, false, dedup_id);
	const uint8_t *mac;
	size_t mac_len;
	mac_source(f, plain, &mac, &mac_len);
	txsched_after_uplink(u->tx, m.dev, f, mac, mac_len, g->rx, g->n_rx, g->first_ms, dedup_id);
}

void uplink_process(void *arg, struct dedup_group *g)
{
	struct uplink *u = arg;
	struct lw_frame f;

	u->stats->uplinks_unique++;
	int rc = lorawan_parse(g->phy, g->phy_len, &f);
	if (rc != LB_OK) {
		u->stats->frame_drops[DROP_PHY_MALFORMED]++;
		LB_LOG_RL(LOG_LVL_INFO, "uplink", "undecodable PHYPayload (%zu bytes) from gateway %016llx: %s",
			  g->phy_len, (unsigned long long)g->rx[0].gateway_eui, lb_strerror(rc));
		return;
	}
	if (f.mtype == LW_MTYPE_JOIN_REQUEST) {
		otaa_join(u->otaa, &f, g);
		return;
	}
	if (!lorawan_is_data_up(f.mtype)) {
		u->stats->frame_drops[DROP_UNHANDLED_MTYPE]++;
		log_debug("uplink", "%s frame not handled", lorawan_mtype_name(f.mtype));
		return;
	}
	process_data_up(u, &f, g);
}

int uplink_check(const struct uplink *u)
{
	const struct {
		const void *p;
		const char *name;
	} m[] = {
		{u->devices, "devices"}, {u->region, "region"}, {u->stats, "stats"},
		{u->ids, "ids"}, {u->sessions, "sessions"}, {u->budget, "budget"},
		{u->otaa, "otaa"}, {u->tx, "tx"}, {u->pub, "pub"}, {u->ev, "ev"},
		{u->gateways, "gateways"}, {u->payloads, "payloads"}, {u->hass, "hass"},
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (!m[i].p) {
			log_error("uplink", "context member %s not set", m[i].name);
			return LB_ERR_INVAL;
		}
	}
	return LB_OK;
}
