/* SPDX-License-Identifier: MIT */
/* netmac.c - the network's MAC requests and their answers. See netmac.h. */
#include "daemon/netmac.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "config/config_cflist.h"
#include "events/event_json.h"
#include "daemon/publish.h"
#include "io/loop.h"
#include "lorawan/maccmd.h"
#include "mac/adr.h"
#include "mac/join.h"

#define TAG "netmac"
/* In a stored row's rx_done (store_mac.h), beside macstate_rx_done_to_row()'s
 * bits: the channels are numbered from the region's first extra one. */
#define ROW_CHANNELS_BY_REGION 0x10000u
#define S_PER_H 3600
#define US_PER_S 1000000
#define MAC_PARSE_MAX 64              /* commands read from one uplink */
#define STATUS_EVENT_MAX 2048
#define STATE_JSON_MAX 256
#define NEW_CHANNEL_MIN_DR 0          /* EU868 DR0..DR5 on the extra channels */
#define NEW_CHANNEL_MAX_DR 5
#define UNHEARD_MAX 15                /* macstate_track.unheard is 4 bits */
#define DEFAULT_RX_DELAY_S 1          /* RECEIVE_DELAY1, RP002-1.0.4 §2.3 */

static int64_t wall_s(void)
{
	return loop_wall_us() / US_PER_S;
}

static uint32_t dev_index(const struct netmac *m, const struct lb_device *dev)
{
	return (uint32_t)(dev - m->c.devices->dev);
}

/* A device's MAC state (tables/devices.h rt.mac) exists from its first
 * uplink or downlink opportunity, or a stored row; until then nothing is
 * known about it, which is the all-zero state. Readers see that through
 * mac_view(); the entry points that change it allocate it first
 * (ensure_session, apply_row), so the functions they call can write
 * through dev->rt.mac. */
static const struct macstate mac_none;

static const struct macstate *mac_view(const struct lb_device *dev)
{
	return dev->rt.mac ? dev->rt.mac : &mac_none;
}

/* A stored state not read yet (netmac_defer_restore) is read at the
 * device's first use, before anything reads or writes it. */
static int restore(struct netmac *m, struct lb_device *dev);

static void fetch(struct netmac *m, struct lb_device *dev)
{
	if (!dev->rt.mac_unread)
		return;
	dev->rt.mac_unread = false;
	(void)restore(m, dev);   /* logged; a failure starts afresh */
}

void netmac_load(struct netmac *m, struct lb_device *dev)
{
	fetch(m, dev);
}

void netmac_defer_restore(struct netmac *m, struct lb_device *dev)
{
	devices_mac_drop(m->c.devices, dev);
	dev->rt.mac_unread = true;
}

/* ------------------------------------------------------- durability */

/* The values of the request whose track says `asked`, or NULL (not known:
 * asked before the store kept it, or the table was full). */
static const struct maccmd_rx_param_setup_req *rx_asked(const struct netmac *m, uint8_t asked)
{
	return asked >= 1 && asked <= m->n_rx_asked ? &m->rx_asked[asked - 1] : NULL;
}

/* The number to remember for a request of values q (find or add), 0 when
 * the table is full. */
static uint8_t rx_asked_note(struct netmac *m, const struct maccmd_rx_param_setup_req *q)
{
	for (uint8_t i = 0; i < m->n_rx_asked; i++) {
		const struct maccmd_rx_param_setup_req *e = &m->rx_asked[i];
		if (e->rx1_dr_offset == q->rx1_dr_offset && e->rx2_data_rate == q->rx2_data_rate &&
		    e->frequency == q->frequency)
			return (uint8_t)(i + 1);
	}
	if (m->n_rx_asked == NETMAC_RX_ASKED_MAX)
		return 0;
	m->rx_asked[m->n_rx_asked++] = *q;
	return m->n_rx_asked;
}

static void row_of(const struct netmac *m, const struct lb_device *dev, struct store_mac *r)
{
	const struct macstate *s = mac_view(dev);

	memset(r, 0, sizeof(*r));
	r->dev_eui = dev->dev_eui;
	r->session_at = s->session_at;
	r->dr = s->dr;
	r->tx_power = s->tx_power;
	r->nb_trans = s->nb_trans ? s->nb_trans : 1;
	if (s->ch_mask_set)
		memcpy(r->ch_mask, s->ch_mask, sizeof(r->ch_mask));
	r->unanswered = s->track[MACSTATE_LINK_ADR].tries;
	r->backoff_until = s->track[MACSTATE_LINK_ADR].backoff_until;
	const struct macstate_track *tp = &s->track[MACSTATE_RX_PARAM];
	const struct macstate_track *tt = &s->track[MACSTATE_RX_TIMING];
	r->rx_param_unanswered = tp->tries;
	r->rx_param_backoff_until = tp->backoff_until;
	r->rx_timing_unanswered = tt->tries;
	r->rx_timing_backoff_until = tt->backoff_until;
	/* What the last request asked: its answer may come after a restart
	 * (tried and not answered yet, or late in the back-off, on_rx_param()),
	 * and once answered the device repeats the answer until it receives
	 * a downlink (other_answer_may_come()). */
	const struct maccmd_rx_param_setup_req *q = rx_asked(m, tp->asked);
	if (q) {
		r->has_rx_param_ask = true;
		r->rx_param_ask_rx1_dr_offset = q->rx1_dr_offset;
		r->rx_param_ask_rx2_dr = q->rx2_data_rate;
		r->rx_param_ask_rx2_freq = q->frequency;
	}
	r->rx_timing_ask_delay = tt->asked;
	r->has_status = s->has_status;
	r->status_at = s->status_at;
	r->battery = s->battery;
	r->margin = s->margin;
	/* The mark says the channels are numbered from the region's first
	 * extra channel (forget_old_channel_numbering()). */
	r->rx_done = macstate_rx_done_to_row(s->rx_done) | ROW_CHANNELS_BY_REGION;
}

/* A request of kind k tried before the restart: the next uplink without
 * its answer counts it, so a device left at max_unanswered tries backs off
 * instead of never being asked again (may_ask()). */
static void apply_track(struct macstate_track *t, uint8_t tries, int64_t backoff_until,
			uint8_t asked)
{
	t->tries = tries;
	t->outstanding = tries > 0;
	t->backoff_until = macstate_unix_s(backoff_until);
	t->asked = asked;
}

/* The number of the stored RXParamSetupReq values, 0 when none is stored
 * or the table is full (logged: its answer then confirms nothing). */
static uint8_t stored_rx_ask(struct netmac *m, const struct lb_device *dev,
			     const struct store_mac *r)
{
	if (!r->has_rx_param_ask)
		return 0;
	struct maccmd_rx_param_setup_req q = {.rx1_dr_offset = r->rx_param_ask_rx1_dr_offset,
					      .rx2_data_rate = r->rx_param_ask_rx2_dr,
					      .frequency = r->rx_param_ask_rx2_freq};
	uint8_t asked = rx_asked_note(m, &q);
	if (!asked)
		LB_LOG_RL(LOG_LVL_ERROR, TAG, "device %s: the values of its RXParamSetupReq in "
			  "flight not kept: more than %d different ones stored", dev->name,
			  NETMAC_RX_ASKED_MAX);
	return asked;
}

static int apply_row(struct netmac *m, struct lb_device *dev, const struct store_mac *r)
{
	struct macstate *s = devices_mac_new(m->c.devices, dev);

	if (!s)
		return LB_ERR_NOMEM;
	memset(s, 0, sizeof(*s));
	s->known = true;
	s->session_at = macstate_unix_s(r->session_at);
	s->dr = r->dr;
	s->tx_power = r->tx_power;
	s->nb_trans = r->nb_trans;
	memcpy(s->ch_mask, r->ch_mask, sizeof(s->ch_mask));
	for (size_t i = 0; i < MACSTATE_CHMASK_WORDS; i++)
		s->ch_mask_set |= r->ch_mask[i] != 0;
	/* LinkADRReq's values are not stored: its answer applies nothing
	 * (ask_known false, on_link_adr()). */
	apply_track(&s->track[MACSTATE_LINK_ADR], r->unanswered, r->backoff_until, 0);
	apply_track(&s->track[MACSTATE_RX_PARAM], r->rx_param_unanswered,
		    r->rx_param_backoff_until, stored_rx_ask(m, dev, r));
	apply_track(&s->track[MACSTATE_RX_TIMING], r->rx_timing_unanswered,
		    r->rx_timing_backoff_until, r->rx_timing_ask_delay);
	/* Whether the device still repeats an RXParamSetupAns or
	 * RXTimingSetupAns (§5.4, §5.7) is not stored: taken as yes until its
	 * next uplink shows (netmac_uplink()). A downlink before that (the
	 * answer to a confirmed uplink heard again, txsched.h) must not carry a
	 * request of other values, whose answer could not be told from the
	 * repeated one (other_answer_may_come()). */
	s->track[MACSTATE_RX_PARAM].answer_repeats = true;
	s->track[MACSTATE_RX_TIMING].answer_repeats = true;
	s->has_status = r->has_status;
	s->status_at = macstate_unix_s(r->status_at);
	s->battery = r->battery;
	s->margin = r->margin;
	s->rx_done = macstate_rx_done_from_row(r->rx_done);
	return LB_OK;
}

/* Builds before 2026-12-07 numbered the extra channels from 3 in every
 * non-grid region; AS923 has two default channels (RP002-1.0.4 §2.10.2), so
 * they are numbered from 2 now, and rows written since carry a mark. A row
 * without it and with channels confirmed would be read shifted by one: its
 * channels are forgotten, so NewChannelReq defines them again. */
static void forget_old_channel_numbering(const struct netmac *m, struct lb_device *dev,
					 uint32_t row_rx_done)
{
	struct macstate *s = dev->rt.mac;
	uint8_t chans = (uint8_t)(s->rx_done & ~(MACSTATE_RX_PARAM_DONE | MACSTATE_RX_TIMING_DONE));

	if (macstate_first_extra_channel(m->c.region) != 2 || chans == 0 ||
	    (row_rx_done & ROW_CHANNELS_BY_REGION))
		return;
	s->rx_done &= (uint8_t)(MACSTATE_RX_PARAM_DONE | MACSTATE_RX_TIMING_DONE);
	log_warn(TAG, "device %s: stored channels of the old AS923 numbering (from 3) forgotten: "
		 "they are defined again from channel 2", dev->name);
}

static void touch(struct netmac *m, struct lb_device *dev)
{
	struct store_mac r;

	if (dirtyset_add(&m->dirty, dev_index(m, dev), loop_now_ms()) == LB_OK)
		return;
	if (dev->rt.mac_unread)   /* its stored state could not be read: kept as stored */
		return;
	row_of(m, dev, &r);
	(void)store_mac_put(m->c.store, &r);   /* no room to list it: staged now */
}

void netmac_forget(struct netmac *m)
{
	dirtyset_clear(&m->dirty);
}

void netmac_touch(struct netmac *m, struct lb_device *dev)
{
	fetch(m, dev);
	touch(m, dev);
}

static int64_t due_ms(void *arg)
{
	struct netmac *m = arg;
	return dirtyset_count(&m->dirty) ? m->dirty.since_ms + m->commit_ms : -1;
}

static int stage_all(void *arg)
{
	struct netmac *m = arg;
	struct store_mac r;

	while (dirtyset_count(&m->dirty) > 0) {
		uint32_t i = dirtyset_last(&m->dirty);
		if (i < m->c.devices->n && m->c.devices->dev[i].rt.mac_unread) {
			LB_LOG_RL(LOG_LVL_ERROR, TAG, "device %s: MAC state not written: its stored "
				  "state could not be read, kept as stored", m->c.devices->dev[i].name);
		} else if (i < m->c.devices->n) {
			row_of(m, &m->c.devices->dev[i], &r);
			int rc = store_mac_put(m->c.store, &r);
			if (rc == LB_ERR_IO || rc == LB_ERR_NOMEM || rc == LB_ERR_FULL)
				return rc;   /* stays listed: the batch waits for it */
			if (rc != LB_OK)
				log_error(TAG, "device %s: MAC state not stageable (%s)",
					  m->c.devices->dev[i].name, lb_strerror(rc));
		}
		dirtyset_pop(&m->dirty);
	}
	return LB_OK;
}

int netmac_init(struct netmac *m, const struct netmac_ctx *c, const struct netmac_opts *o,
		int commit_ms)
{
	memset(m, 0, sizeof(*m));
	m->c = *c;
	m->o = *o;
	if (m->o.max_unanswered < 1)
		m->o.max_unanswered = 1;
	m->commit_ms = commit_ms;
	return durable_add(c->durable, stage_all, due_ms, m);
}

void netmac_free(struct netmac *m)
{
	dirtyset_free(&m->dirty);
}

int netmac_restore_device(struct netmac *m, struct lb_device *dev)
{
	return restore(m, dev);
}

static int restore(struct netmac *m, struct lb_device *dev)
{
	struct store_mac row;

	int rc = store_mac_get(m->c.store, dev->dev_eui, &row);

	/* A read that failed leaves it unread: read again at the next use, and
	 * not written over meanwhile (stage_all(), touch()). */
	dev->rt.mac_unread = rc != LB_OK && rc != LB_ERR_NOT_FOUND;
	if (rc == LB_ERR_NOT_FOUND)
		return LB_OK;
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_ERROR, TAG, "device %s: MAC state not read (read again at its next "
			  "use, not written over meanwhile): %s", dev->name, lb_strerror(rc));
		return rc;
	}
	if ((rc = apply_row(m, dev, &row)) != LB_OK) {
		log_error(TAG, "device %s: MAC state not kept: %s", dev->name, lb_strerror(rc));
		return rc;
	}
	forget_old_channel_numbering(m, dev, row.rx_done);
	return LB_OK;
}

void netmac_cflist_channels(const struct region *r, const char *join_cflist,
			    struct netmac_opts *o)
{
	/* The join-accept's "auto" list (daemon/otaa.c): Semtech's reference
	 * EU868 gateway channels. */
	static const uint32_t eu868_auto[] = {867100000, 867300000, 867500000, 867700000,
					      867900000};
	uint32_t f[CONFIG_CFLIST_MAX];
	int n = 0;

	o->n_channels = 0;
	if (!r || !join_cflist || r->cflist_capable != REGION_CFLIST_FREQ ||
	    strcmp(join_cflist, "none") == 0)
		return;
	if (strcmp(join_cflist, "auto") == 0) {
		if (strcmp(r->name, "EU868") != 0)
			return;
		memcpy(f, eu868_auto, sizeof(eu868_auto));
		n = CONFIG_CFLIST_MAX;
	} else {
		n = config_cflist_parse(join_cflist, f, CONFIG_CFLIST_MAX);
	}
	for (int i = 0; i < n && i < MACSTATE_MAX_NEW_CHANNELS; i++)
		o->channels[o->n_channels++] = f[i];
}

/* ------------------------------------------------------- the session */

/* A state that belongs to an older session (the device joined again, or
 * nothing is known): the join reset the device's MAC settings
 * (TS001-1.0.4 §6.2.6), so ADR and the receive settings start afresh; the
 * last status stays. */
static bool ensure_session(struct netmac *m, struct lb_device *dev)
{
	fetch(m, dev);
	struct macstate *s = dev->rt.mac;

	if (!s) {
		s = devices_mac_new(m->c.devices, dev);
		if (!s) {
			LB_LOG_RL(LOG_LVL_ERROR, TAG, "device %s: no MAC state (%s): no MAC "
				  "command handled", dev->name, lb_strerror(LB_ERR_NOMEM));
			return false;
		}
	}
	if (s->known && s->session_at == macstate_unix_s(dev->rt.joined_at))
		return true;
	bool had = s->has_status;
	uint32_t at = s->status_at;
	uint8_t battery = s->battery;
	int8_t margin = s->margin;
	memset(s, 0, sizeof(*s));
	s->known = true;
	s->session_at = macstate_unix_s(dev->rt.joined_at);
	s->nb_trans = 1;
	s->dr = dev->rt.last_dr > 0 ? (uint8_t)dev->rt.last_dr : 0;
	s->has_status = had;
	s->status_at = at;
	s->battery = battery;
	s->margin = margin;
	touch(m, dev);
	return true;
}

void netmac_joined(struct netmac *m, struct lb_device *dev)
{
	fetch(m, dev);
	if (dev->rt.mac)
		dev->rt.mac->known = false;
	(void)ensure_session(m, dev);
}

static bool backed_off(const struct macstate *s, enum macstate_req k, int64_t now)
{
	return s->track[k].backoff_until > now;
}

/* A request of kind k may go out: not backed off, and fewer than
 * max_unanswered tries without an answer. The second test makes the limit
 * hold by construction, even when downlinks follow each other with no
 * uplink between (the uplink is what starts the back-off, unanswered()). */
static bool may_ask(const struct netmac *m, const struct macstate *s, enum macstate_req k,
		    int64_t now)
{
	return !backed_off(s, k, now) && s->track[k].tries < m->o.max_unanswered;
}

static const char *const req_names[MACSTATE__N] = {
	[MACSTATE_LINK_ADR] = "LinkADRReq", [MACSTATE_DEV_STATUS] = "DevStatusReq",
	[MACSTATE_RX_PARAM] = "RXParamSetupReq", [MACSTATE_RX_TIMING] = "RXTimingSetupReq",
	[MACSTATE_NEW_CHANNEL] = "NewChannelReq",
};

/* A request sent and not (positively) answered: try again, or back off. */
static void unanswered(struct netmac *m, struct lb_device *dev, enum macstate_req k)
{
	struct macstate_track *t = &dev->rt.mac->track[k];

	t->outstanding = false;
	if (t->tries < m->o.max_unanswered)
		return;
	t->tries = 0;
	t->backoff_until = macstate_unix_s(wall_s() + (int64_t)m->o.backoff_h * S_PER_H);
	m->stats.backoffs++;
	log_warn(TAG, "device %s: %d %s left unanswered: none sent for %d h", dev->name,
		 m->o.max_unanswered, req_names[k], m->o.backoff_h);
	char why[128];
	snprintf(why, sizeof(why), "%d %s left unanswered: none sent for %d h",
		 m->o.max_unanswered, req_names[k], m->o.backoff_h);
	devevent_log(m->c.ev, dev, "WARNING", "MAC_UNANSWERED", why, 0);
	touch(m, dev);
}

static void answered(struct netmac *m, struct lb_device *dev, enum macstate_req k)
{
	struct macstate_track *t = &dev->rt.mac->track[k];

	t->tries = 0;
	t->outstanding = false;
	t->backoff_until = 0;
	m->stats.answered[k]++;
	touch(m, dev);
}

/* ------------------------------------------------------- answers */

static void status_event(struct netmac *m, struct lb_device *dev,
			 const struct maccmd_dev_status_ans *a, const struct lb_rx *rx,
			 const uint8_t dedup_id[16])
{
	struct ev_device d;
	char json[STATUS_EVENT_MAX];
	size_t len;

	devevent_fill(&d, m->c.ev, dev);
	struct ev_status ev = {.dev = &d, .margin = a->margin, .battery = a->battery,
			       .time_us = rx->rxpk.has_time ? rx->rxpk.time_us : rx->received_us};
	memcpy(ev.dedup_id, dedup_id, sizeof(ev.dedup_id));
	int rc = event_json_status(&ev, json, sizeof(json), &len);
	struct publish_facts facts = {.status = &ev};   /* the web page reads it, not the text */
	if (devevent_publish_facts(m->c.ev, dev, "status", rc, json, len, &facts) != LB_OK)
		return;
	m->stats.status_events++;
	if (m->c.hass)
		(void)hass_status_seen(m->c.hass, dev);   /* failures logged, retried */
}

static void on_dev_status(struct netmac *m, struct lb_device *dev,
			  const struct maccmd_dev_status_ans *a, const struct lb_rx *rx,
			  const uint8_t dedup_id[16])
{
	struct macstate *s = dev->rt.mac;

	s->has_status = true;
	s->status_at = macstate_unix_s(wall_s());
	s->battery = a->battery;
	s->margin = a->margin;
	answered(m, dev, MACSTATE_DEV_STATUS);
	status_event(m, dev, a, rx, dedup_id);
}

/* A positive RXParamSetupAns / RXTimingSetupAns of kind k after the tries
 * ran out, during the back-off: the device applied the last request (it
 * repeats the answer in every uplink until it receives a downlink, §5.4,
 * §5.7, and the downlinks since the last answer carried that request: one
 * of other values waits, other_answer_may_come()); its windows moved to
 * what that request asked (track.asked), so the bridge's must too, whatever
 * it confirmed before. Not when what it asked is unknown (asked 0: a
 * request of before schema v10). A repeat of an answer already taken is
 * not one: answered() ended the back-off. */
static bool late_answer(const struct macstate *s, enum macstate_req k, bool ok)
{
	const struct macstate_track *t = &s->track[k];

	return t->tries == 0 && ok && t->asked != 0 && backed_off(s, k, wall_s());
}

/* RXParamSetupAns, all three bits: the device now uses what its request
 * asked (TS001-1.0.4 §5.4), which is what is recorded, whatever the
 * settings say now (rx_param_needed() then asks again if they differ). */
static void on_rx_param(struct netmac *m, struct lb_device *dev,
			const struct maccmd_rx_param_setup_ans *a)
{
	struct macstate *s = dev->rt.mac;
	const struct macstate_track *t = &s->track[MACSTATE_RX_PARAM];
	const struct maccmd_rx_param_setup_req *asked = rx_asked(m, t->asked);

	bool ok = a->rx1_dr_offset_ack && a->rx2_data_rate_ack && a->channel_ack;

	/* Repeated (sticky) or not asked: already handled; but a late
	 * answer is taken (late_answer()). */
	if (t->tries == 0 && !(late_answer(s, MACSTATE_RX_PARAM, ok) && asked))
		return;
	if (!ok) {
		m->stats.refused[MACSTATE_RX_PARAM]++;
		unanswered(m, dev, MACSTATE_RX_PARAM);
		return;
	}
	if (!asked) {
		/* What the request asked is not known: nothing is taken; the
		 * device answered (no back-off), rx_param_needed() asks again. */
		answered(m, dev, MACSTATE_RX_PARAM);
		return;
	}
	dev->rt.rx1_dr_offset = asked->rx1_dr_offset;
	dev->rt.rx2_freq = asked->frequency;
	dev->rt.rx2_dr = asked->rx2_data_rate;
	s->rx_done |= (uint8_t)MACSTATE_RX_PARAM_DONE;
	(void)sessions_touch(m->c.sessions, dev);
	answered(m, dev, MACSTATE_RX_PARAM);
}

/* RXTimingSetupAns: the device uses the delay its request asked
 * (TS001-1.0.4 §5.7), sent in this run or before a restart (the store
 * keeps it), whatever the settings say now (rx_timing_needed() then asks
 * again if they differ). Repeated (tries 0): already handled, but a late
 * answer is taken (late_answer(), as RXParamSetupAns). */
static void on_rx_timing(struct netmac *m, struct lb_device *dev)
{
	const struct macstate_track *t = &dev->rt.mac->track[MACSTATE_RX_TIMING];

	if (t->tries == 0 && !late_answer(dev->rt.mac, MACSTATE_RX_TIMING, true))
		return;
	if (t->asked == 0) {
		/* Asked before the store kept what: nothing is taken; the
		 * device answered (no back-off), rx_timing_needed() asks again. */
		answered(m, dev, MACSTATE_RX_TIMING);
		return;
	}
	dev->rt.rx_delay_s = t->asked;
	dev->rt.mac->rx_done |= (uint8_t)MACSTATE_RX_TIMING_DONE;
	(void)sessions_touch(m->c.sessions, dev);
	answered(m, dev, MACSTATE_RX_TIMING);
}

/* The k-th channel (from 0) of the NewChannelReq block in flight: they are
 * asked in increasing order. -1: fewer were asked. */
static int asked_channel(uint8_t asked, size_t k)
{
	for (int ch = 0; ch < 8; ch++) {
		if (!(asked & 1u << ch))
			continue;
		if (k-- == 0)
			return ch;
	}
	return -1;
}

/* The k-th NewChannelAns answers the k-th NewChannelReq (TS001-1.0.4 §5.6). */
static void on_new_channel(struct lb_device *dev, size_t k, const struct maccmd_new_channel_ans *a,
			   bool *all_ok)
{
	struct macstate *s = dev->rt.mac;

	int ch = asked_channel(s->ask_channels, k);

	if (ch < 0)
		return;
	if (a->channel_frequency_ok && a->data_rate_range_ok)
		s->rx_done |= (uint8_t)MACSTATE_CHANNEL_DONE(ch);
	else
		*all_ok = false;
}

/* LinkADRAns, one per LinkADRReq of the block (1.0.4) or one for the
 * block (earlier devices): accepted only when every bit of every answer is
 * set (TS001-1.0.4 §5.2). A device with ADR off (its uplink's ADR bit
 * clear, or devices[].adr false: adr_request() then sent the sub-band mask
 * alone) "MAY not comply" with the DR and TX power (§4.3.1.1) and answers
 * ChannelMaskACK alone when it applied the mask, as Semtech's stack does
 * and ChirpStack accepts: the mask is taken, the DR, TX power and NbTrans
 * kept. What the block asked is recorded when it is sent (ask_mask_only):
 * the answering uplink's ADR bit may differ. A block of DataRate and
 * TXPower 0xF (ask_keep, a 1.0.4 device) accepted whole changed neither
 * (§5.2): the mask and NbTrans are taken, the DR and TX power stay. It
 * leaves the device no DR or TX power to not comply with, so a bit clear
 * in its answer is a refusal: the device discarded the whole command and
 * kept its mask (§5.2 LinkADRAns status bits). */
static void on_link_adr(struct netmac *m, struct lb_device *dev, bool ok, bool mask_ok)
{
	struct macstate *s = dev->rt.mac;

	if (s->track[MACSTATE_LINK_ADR].tries == 0)
		return;
	if (!ok && mask_ok && s->ask_known && s->ask_mask_only && !s->ask_keep) {
		memcpy(s->ch_mask, s->ask_mask, sizeof(s->ch_mask));
		s->ch_mask_set = true;
		answered(m, dev, MACSTATE_LINK_ADR);
		return;
	}
	/* What was asked is unknown (a request from before a restart): a
	 * device with ADR off may answer the mask alone (below). */
	ok = ok || (mask_ok && !s->ask_known && !(dev->adr && s->adr_bit));
	if (!ok) {
		m->stats.refused[MACSTATE_LINK_ADR]++;
		if (s->ask_keep)
			LB_LOG_RL(LOG_LVL_INFO, TAG, "device %s: LinkADRReq (channel mask; DR "
				  "and power kept) refused", dev->name);
		else
			LB_LOG_RL(LOG_LVL_INFO, TAG, "device %s: LinkADRReq DR%u power %u "
				  "refused", dev->name, s->ask_dr, s->ask_tx_power);
		unanswered(m, dev, MACSTATE_LINK_ADR);
		return;
	}
	if (!s->ask_known) {
		/* The answer to a LinkADRReq sent before the bridge restarted:
		 * what it asked is not stored, so nothing is applied; the device
		 * answered (no back-off) and ADR asks again from what it sees. */
		LB_LOG_RL(LOG_LVL_INFO, TAG, "device %s: LinkADRAns to a request from before the "
			  "restart: its values are not known, asked again", dev->name);
		answered(m, dev, MACSTATE_LINK_ADR);
		return;
	}
	if (!s->ask_keep) {
		s->dr = s->ask_dr;
		s->tx_power = s->ask_tx_power;
	}
	s->nb_trans = s->ask_nb_trans;
	memcpy(s->ch_mask, s->ask_mask, sizeof(s->ch_mask));
	s->ch_mask_set = true;
	answered(m, dev, MACSTATE_LINK_ADR);
}

static void add_history(struct lb_device *dev, const struct lb_rx *rx, size_t n_rx)
{
	bool any = false;
	float best = 0;

	for (size_t i = 0; i < n_rx; i++) {
		const struct gwmp_rxpk *pk = &rx[i].rxpk;
		if (pk->modu != GWMP_MOD_LORA || !pk->has_lsnr)
			continue;
		if (!any || pk->lsnr > best)
			best = (float)pk->lsnr;
		any = true;
	}
	if (any)
		adr_history_add(&dev->rt.mac->hist, best, dev->rt.mac->tx_power);
}

/* The retained state/mac message, when what it says changed. */
static void publish_state(struct netmac *m, struct lb_device *dev)
{
	struct macstate *s = dev->rt.mac;
	struct ev_mac_state st = {
		.dr = dev->rt.last_dr, .tx_power = s->tx_power,
		.nb_trans = s->nb_trans ? s->nb_trans : 1, .adr = s->adr_bit,
		.network_adr = dev->adr,
		.adr_backoff = backed_off(s, MACSTATE_LINK_ADR, wall_s()),
	};
	/* DR + 1 (-1..15: 5 bits), TXPower and NbTrans (4-bit fields,
	 * TS001-1.0.4 §5.2) and the three flags: 16 bits. */
	uint16_t key = (uint16_t)((unsigned)(st.dr + 1) & 0x1fu) |
		       (uint16_t)((unsigned)st.tx_power << 5 | (unsigned)st.nb_trans << 9 |
				  (unsigned)st.adr << 13 | (unsigned)st.network_adr << 14 |
				  (unsigned)st.adr_backoff << 15);
	char json[STATE_JSON_MAX];
	size_t len;

	if (s->has_published && s->published == key)
		return;
	int rc = event_json_mac_state(&st, json, sizeof(json), &len);
	if (rc == LB_OK)
		rc = publish_device_state(m->c.ev->pub, dev->prof->application,
					  devevent_app_id(m->c.ev, dev), dev->dev_eui, "mac", json,
					  len);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, TAG, "device %s: state/mac not published: %s", dev->name,
			  lb_strerror(rc));
		return;
	}
	s->has_published = true;
	s->published = key;
}

/* The uplinks in a row, each after a class A downlink, that repeat the
 * answer to a request of unknown values (track.asked 0) before the bridge
 * takes it that the device does not receive its downlinks: as many as a
 * request is tried, adr.max_unanswered (at most UNHEARD_MAX). */
static unsigned unheard_bound(const struct netmac *m)
{
	return m->o.max_unanswered < UNHEARD_MAX ? (unsigned)m->o.max_unanswered : UNHEARD_MAX;
}

/* An uplink of dev came; `repeats`: it carried an answer of kind k. */
static void note_repeats(const struct netmac *m, struct lb_device *dev, enum macstate_req k,
			 bool repeats)
{
	struct macstate_track *t = &dev->rt.mac->track[k];

	t->answer_repeats = repeats;
	if (!repeats || t->asked != 0) {
		t->unheard = 0;
	} else if (t->down_since && t->unheard < UNHEARD_MAX) {
		t->unheard++;
		if (t->unheard == unheard_bound(m))
			log_warn(TAG, "device %s: its answer to a %s of values not known (asked "
				 "before the store kept them) repeated after %u downlinks in a row: it "
				 "does not receive them; the next %s no longer waits for an uplink "
				 "without that answer", dev->name, req_names[k], t->unheard,
				 req_names[k]);
	}
	t->down_since = false;
}

bool netmac_handles(uint8_t cid)
{
	return cid == MACCMD_LINK_ADR || cid == MACCMD_DEV_STATUS || cid == MACCMD_RX_PARAM_SETUP ||
	       cid == MACCMD_RX_TIMING_SETUP || cid == MACCMD_NEW_CHANNEL;
}

bool netmac_uplink(struct netmac *m, struct lb_device *dev, const struct lw_frame *f,
		   const uint8_t *mac, size_t mac_len, const struct lb_rx *rx, size_t n_rx,
		   const uint8_t dedup_id[16])
{
	struct maccmd cmds[MAC_PARSE_MAX];
	size_t n = 0, n_channel = 0;
	bool want = f->u.data.adr_ack_req, adr_seen = false, adr_ok = true, mask_ok = true;
	bool ch_ok = true;
	unsigned seen = 0;

	if (!ensure_session(m, dev))
		return want;
	dev->rt.mac->adr_bit = f->u.data.adr;
	/* ADRACKReq: without a downlink the device backs off and at the end
	 * re-enables its default channels (TS001-1.0.4 §4.3.1.1), in US915 and
	 * AU915 all 72, so the sub-band mask it confirmed may be gone: it is
	 * sent again (adr_request()), with the downlink ADRACKReq asks for.
	 * Elsewhere the plan's mask enables the default channels anyway. */
	if (f->u.data.adr_ack_req && dev->rt.mac->ch_mask_set &&
	    macstate_grid_region(m->c.region)) {
		dev->rt.mac->ch_mask_set = false;
		touch(m, dev);
	}
	if (mac && mac_len)
		(void)maccmd_parse(mac, mac_len, LW_DIR_UP, cmds, MAC_PARSE_MAX, &n); /* partial ok */
	for (size_t i = 0; i < n; i++) {
		switch (cmds[i].cid) {
		case MACCMD_LINK_ADR:
			adr_seen = true;
			adr_ok = adr_ok && cmds[i].u.link_adr_ans.power_ack &&
				 cmds[i].u.link_adr_ans.data_rate_ack &&
				 cmds[i].u.link_adr_ans.channel_mask_ack;
			mask_ok = mask_ok && cmds[i].u.link_adr_ans.channel_mask_ack;
			break;
		case MACCMD_DEV_STATUS:
			seen |= 1u << MACSTATE_DEV_STATUS;
			on_dev_status(m, dev, &cmds[i].u.dev_status_ans, &rx[0], dedup_id);
			break;
		case MACCMD_RX_PARAM_SETUP:
			want = true;   /* repeated until a downlink (TS001-1.0.4 §5.4) */
			seen |= 1u << MACSTATE_RX_PARAM;
			on_rx_param(m, dev, &cmds[i].u.rx_param_setup_ans);
			break;
		case MACCMD_RX_TIMING_SETUP:
			want = true;   /* repeated until a downlink (TS001-1.0.4 §5.7) */
			seen |= 1u << MACSTATE_RX_TIMING;
			on_rx_timing(m, dev);
			break;
		case MACCMD_NEW_CHANNEL:
			seen |= 1u << MACSTATE_NEW_CHANNEL;
			on_new_channel(dev, n_channel++, &cmds[i].u.new_channel_ans, &ch_ok);
			break;
		default:
			break;
		}
	}
	if (adr_seen) {
		seen |= 1u << MACSTATE_LINK_ADR;
		on_link_adr(m, dev, adr_ok, mask_ok);
	}
	if (n_channel && dev->rt.mac->track[MACSTATE_NEW_CHANNEL].tries) {
		if (ch_ok) {
			answered(m, dev, MACSTATE_NEW_CHANNEL);
		} else {
			m->stats.refused[MACSTATE_NEW_CHANNEL]++;
			unanswered(m, dev, MACSTATE_NEW_CHANNEL);
		}
	}
	for (int k = 0; k < MACSTATE__N; k++) {
		if (dev->rt.mac->track[k].outstanding && !(seen & 1u << k))
			unanswered(m, dev, (enum macstate_req)k);
	}
	/* Repeated until the device receives a downlink (§5.4, §5.7): the next
	 * uplink may carry the same answer (other_answer_may_come()). */
	note_repeats(m, dev, MACSTATE_RX_PARAM, (seen & 1u << MACSTATE_RX_PARAM) != 0);
	note_repeats(m, dev, MACSTATE_RX_TIMING, (seen & 1u << MACSTATE_RX_TIMING) != 0);
	/* After the answers: an uplink that carries LinkADRAns was sent with
	 * what it accepted (the device applies it on reception, §5.2). */
	add_history(dev, rx, n_rx);
	publish_state(m, dev);
	return want;
}

/* ------------------------------------------------------- requests */

/* Extra channels the device has: from its join-accept's CFList (OTAA),
 * or confirmed by NewChannelAns (ABP). Bit i = channel i. They follow the
 * region's default channels (RP002-1.0.4 §2.3.1): 3..7 in EU868, KR920 and
 * IN865, 2..6 in AS923 (two default channels, §2.10.2, §2.10.4). */
static uint8_t extra_channels(const struct netmac *m, const struct lb_device *dev)
{
	uint8_t bits = 0;
	unsigned first = macstate_first_extra_channel(m->c.region);

	for (size_t i = 0; i < m->o.n_channels; i++) {
		unsigned ch = first + (unsigned)i;
		if (dev->activation == LB_ACT_OTAA ||
		    (mac_view(dev)->rx_done & MACSTATE_CHANNEL_DONE(ch)))
			bits |= (uint8_t)(1u << ch);
	}
	return bits;
}

/* The LinkADRReq block due, if any: ADR's DR, TX power and NbTrans with
 * the plan's channel mask when the network controls the device's data
 * rate (devices[].adr and the uplink's ADR bit); else, in US915/AU915, the
 * sub-band mask alone. A device accepts channel-mask control with ADR off
 * (TS001-1.0.4 §4.3.1.1) but no other DR or TX power then, so the block
 * carries those the device uses now (its last uplink's DR, the TX power
 * and NbTrans it confirmed), as ChirpStack does; to a device configured as
 * LoRaWAN 1.0.4 it carries DataRate and TXPower 0xF instead, "keep the
 * current value" (TS001-1.0.4 §5.2; RFU to earlier devices), so a DR or
 * TX power the bridge does not know exactly is never asked. NbTrans has
 * no such value in 1.0.4: "If an NbTrans value of 0 is received, the
 * end-device SHALL use the default value" (TS001-1.0.4 §5.2; the default
 * is 1, and 1.0.3 §5.2 says the same with "should"; only LoRaWAN 1.1 §5.3
 * makes 0 "keep the current NbTrans value unchanged"), so a 0 would reset
 * a device's NbTrans to 1: the block carries, 1.0.4 or not, the NbTrans
 * the device confirmed (1 before any LinkADRAns). Its answer is handled
 * as ADR's (on_link_adr(): a refusal counts as unanswered, then
 * back-off). Elsewhere the plan's mask is what the device enables by
 * itself. */
static size_t adr_request(struct netmac *m, struct lb_device *dev, int64_t now, uint8_t *out,
			  size_t cap)
{
	struct macstate *s = dev->rt.mac;
	uint16_t mask[MACSTATE_CHMASK_WORDS];
	struct adr_out a;
	size_t len = 0;
	bool grid = macstate_grid_region(m->c.region);

	if (dev->rt.last_dr < 0 || !may_ask(m, s, MACSTATE_LINK_ADR, now))
		return 0;
	struct adr_in in = {.region = m->c.region, .hist = &s->hist,
			    .dr = (uint8_t)dev->rt.last_dr, .tx_power = s->tx_power,
			    .nb_trans = s->nb_trans, .margin_db = m->o.margin_db,
			    .lorawan_minor = dev->lorawan_version,
			    .rp = dev->regional_parameters};
	bool adr = dev->adr && s->adr_bit && adr_decide(&in, &a) == LB_OK;
	if (!adr && !grid)
		return 0;
	if (!adr) {
		memset(&a, 0, sizeof(a));
		a.dr = in.dr;
		a.tx_power = in.tx_power;
		a.nb_trans = in.nb_trans ? in.nb_trans : 1;   /* never 0: see above */
	}
	if (macstate_plan_mask(m->c.region, m->o.sub_band, extra_channels(m, dev), mask) != LB_OK)
		return 0;
	bool same_mask = s->ch_mask_set && memcmp(mask, s->ch_mask, sizeof(mask)) == 0;
	if (same_mask && (!adr || (a.dr == in.dr && a.tx_power == s->tx_power &&
				   a.nb_trans == s->nb_trans)))
		return 0;
	bool keep = !adr && dev->lorawan_version >= JOIN_V1_0_4;
	if (macstate_link_adr_req(m->c.region, keep ? MACSTATE_LINK_ADR_KEEP : a.dr,
				  keep ? MACSTATE_LINK_ADR_KEEP : a.tx_power, a.nb_trans, mask, out,
				  cap, &len) != LB_OK)
		return 0;
	s->ask_dr = a.dr;
	s->ask_tx_power = a.tx_power;
	s->ask_nb_trans = a.nb_trans;
	s->ask_known = true;
	s->ask_mask_only = !adr;
	s->ask_keep = keep;
	memcpy(s->ask_mask, mask, sizeof(mask));
	return len;
}

static bool status_due(const struct netmac *m, const struct lb_device *dev, int64_t now)
{
	const struct macstate *s = mac_view(dev);

	if (dev->prof->status_interval_h <= 0 || !may_ask(m, s, MACSTATE_DEV_STATUS, now))
		return false;
	return !s->has_status ||
	       now - s->status_at >= (int64_t)dev->prof->status_interval_h * S_PER_H;
}

/* The device confirmed an RXParamSetupReq of its current session (a
 * state of an earlier session, which ensure_session() has not reset yet,
 * does not count: the join reset the device's settings, §6.2.6). */
static bool rx_param_done(const struct lb_device *dev)
{
	const struct macstate *s = mac_view(dev);

	return s->known && s->session_at == macstate_unix_s(dev->rt.joined_at) &&
	       (s->rx_done & MACSTATE_RX_PARAM_DONE);
}

/* The receive settings the device uses now: what it confirmed by
 * RXParamSetupAns; before that an ABP device the region's defaults
 * (RP002-1.0.4 "Default Settings"), a joined OTAA device its join-accept's
 * RX1DROffset and RX2 DR (DLSettings, TS001-1.0.4 §6.2.6) and the region's
 * default RX2 frequency, which DLSettings does not carry. false: an OTAA
 * device without a session (nothing to plan). */
static bool rx_current(const struct netmac *m, const struct lb_device *dev, uint8_t *offset,
		       uint32_t *freq, uint8_t *dr)
{
	if (region_rx2(m->c.region, freq, dr) != LB_OK)
		return false;
	*offset = 0;
	if (dev->activation == LB_ACT_OTAA) {
		if (!dev->has_session || !dev->rt.joined_at)
			return false;
		*offset = dev->rt.rx1_dr_offset;
		*dr = dev->rt.rx2_dr;
	}
	if (rx_param_done(dev)) {
		*offset = dev->rt.rx1_dr_offset;
		*freq = dev->rt.rx2_freq;
		*dr = dev->rt.rx2_dr;
	}
	return true;
}

/* The RX2 and RX1DROffset the configuration wants differ from those the
 * device uses (rx_current()): ABP and OTAA devices alike, so an OTAA
 * device learns downlink.rx2_frequency too. */
static bool rx_param_needed(const struct netmac *m, const struct lb_device *dev,
			    struct maccmd_rx_param_setup_req *want)
{
	uint32_t freq, cur_freq;
	uint8_t dr, cur_dr, cur_off;

	if (region_rx2(m->c.region, &freq, &dr) != LB_OK ||
	    !rx_current(m, dev, &cur_off, &cur_freq, &cur_dr))
		return false;
	want->rx1_dr_offset = m->o.rx1_dr_offset;
	want->frequency = m->o.rx2_freq ? m->o.rx2_freq : freq;
	want->rx2_data_rate = m->o.has_rx2_dr ? m->o.rx2_dr : dr;
	return want->rx1_dr_offset != cur_off || want->frequency != cur_freq ||
	       want->rx2_data_rate != cur_dr;
}

static bool rx_timing_needed(const struct netmac *m, const struct lb_device *dev)
{
	uint8_t cur = DEFAULT_RX_DELAY_S;

	if (dev->activation != LB_ACT_ABP)
		return false;
	if ((mac_view(dev)->rx_done & MACSTATE_RX_TIMING_DONE) && dev->rt.rx_delay_s)
		cur = dev->rt.rx_delay_s;
	return m->o.rx_delay_s && m->o.rx_delay_s != cur;
}

/* A request of kind k that asks `asked` must wait: the device may still
 * answer the last request of this kind, which asked other values or values
 * not known (track.asked 0: a row written before schema v10, whose asked
 * columns the migration left NULL, or the table was full): it went
 * out since the device's last uplink (or before a restart, and no uplink
 * came since), or that uplink carried its answer, which the device repeats
 * in every uplink until it receives a downlink (RXParamSetupAns,
 * RXTimingSetupAns: TS001-1.0.4 §5.4, §5.7). The answer to the new request
 * could not be told from that one, and taken for it would confirm values
 * the device does not use: its downlinks would miss its windows for good.
 * It goes once an uplink without the answer shows the device got a
 * downlink (the one that answered the repeated answer, netmac_uplink()). */
static bool other_answer_may_come(const struct netmac *m, const struct macstate *s,
				  enum macstate_req k, uint8_t asked)
{
	const struct macstate_track *t = &s->track[k];

	/* Not when the device repeated the answer to a request of unknown
	 * values after unheard_bound() downlinks in a row: it does not receive
	 * them (its windows are not the bridge's, as when it applied the
	 * unknown request and the bridge did not), so no uplink without the
	 * answer would ever come. The request goes; the repeated answer is
	 * then taken for it, whose values are known. */
	if (t->asked == 0 && t->unheard >= unheard_bound(m))
		return false;
	/* asked is never 0: unknown values count as other ones. */
	return (t->outstanding || t->answer_repeats) && t->asked != asked;
}

static size_t put_cmd(const struct maccmd *c, uint8_t *out, size_t cap)
{
	size_t n = 0;
	return maccmd_build(c, out, cap, &n) == LB_OK ? n : 0;
}

static size_t new_channels(struct netmac *m, struct lb_device *dev, uint8_t *out, size_t cap)
{
	struct macstate *s = dev->rt.mac;
	size_t len = 0;

	s->ask_channels = 0;
	if (dev->activation != LB_ACT_ABP)
		return 0;
	/* Numbered as the join-accept's CFList numbers them (extra_channels()). */
	for (size_t i = 0; i < m->o.n_channels; i++) {
		uint8_t ch = (uint8_t)(macstate_first_extra_channel(m->c.region) + i);
		if (s->rx_done & MACSTATE_CHANNEL_DONE(ch))
			continue;
		struct maccmd c = {.cid = MACCMD_NEW_CHANNEL, .dir = LW_DIR_DOWN};
		c.u.new_channel_req.ch_index = ch;
		c.u.new_channel_req.frequency = m->o.channels[i];
		c.u.new_channel_req.min_dr = NEW_CHANNEL_MIN_DR;
		c.u.new_channel_req.max_dr = NEW_CHANNEL_MAX_DR;
		size_t n = put_cmd(&c, out + len, cap - len);
		if (n == 0)
			break;
		len += n;
		s->ask_channels |= (uint8_t)(1u << ch);
	}
	return len;
}

size_t netmac_requests(struct netmac *m, struct lb_device *dev, uint8_t *out, size_t cap,
		       unsigned *kinds)
{
	struct maccmd_rx_param_setup_req rxp;
	int64_t now = wall_s();
	size_t len = 0, n;

	*kinds = 0;
	if (!ensure_session(m, dev))
		return 0;
	/* Its stored state could not be read (restore()): what the device
	 * agreed to before is unknown, so nothing is asked that it would
	 * agree to on top of it until the state is read. */
	if (dev->rt.mac_unread)
		return 0;
	if ((n = adr_request(m, dev, now, out, cap)) > 0) {
		len += n;
		*kinds |= 1u << MACSTATE_LINK_ADR;
	}
	if (status_due(m, dev, now)) {
		struct maccmd c = {.cid = MACCMD_DEV_STATUS, .dir = LW_DIR_DOWN};
		if ((n = put_cmd(&c, out + len, cap - len)) > 0) {
			len += n;
			*kinds |= 1u << MACSTATE_DEV_STATUS;
		}
	}
	if (may_ask(m, dev->rt.mac, MACSTATE_RX_PARAM, now) && rx_param_needed(m, dev, &rxp)) {
		struct maccmd c = {.cid = MACCMD_RX_PARAM_SETUP, .dir = LW_DIR_DOWN};
		c.u.rx_param_setup_req = rxp;
		/* What it asks, for its answer (on_rx_param()); not asked when
		 * that cannot be kept: its answer could not be taken, and the
		 * request would go again at every uplink. */
		uint8_t asked = rx_asked_note(m, &rxp);
		if (!asked) {
			LB_LOG_RL(LOG_LVL_ERROR, TAG, "device %s: RXParamSetupReq not sent: more "
				  "than %d different requests in this run", dev->name,
				  NETMAC_RX_ASKED_MAX);
		} else if (other_answer_may_come(m, dev->rt.mac, MACSTATE_RX_PARAM, asked)) {
			log_debug(TAG, "device %s: RXParamSetupReq waits for an uplink without "
				  "the answer to the last one", dev->name);
		} else if ((n = put_cmd(&c, out + len, cap - len)) > 0) {
			len += n;
			*kinds |= 1u << MACSTATE_RX_PARAM;
			dev->rt.mac->track[MACSTATE_RX_PARAM].asked = asked;
			dev->rt.mac->track[MACSTATE_RX_PARAM].unheard = 0;
		}
	}
	if (may_ask(m, dev->rt.mac, MACSTATE_RX_TIMING, now) && rx_timing_needed(m, dev) &&
	    !other_answer_may_come(m, dev->rt.mac, MACSTATE_RX_TIMING, m->o.rx_delay_s)) {
		struct maccmd c = {.cid = MACCMD_RX_TIMING_SETUP, .dir = LW_DIR_DOWN};
		c.u.rx_timing_setup_req.delay = m->o.rx_delay_s;
		if ((n = put_cmd(&c, out + len, cap - len)) > 0) {
			len += n;
			*kinds |= 1u << MACSTATE_RX_TIMING;
			/* What it asks, for its answer (on_rx_timing()). */
			dev->rt.mac->track[MACSTATE_RX_TIMING].asked = m->o.rx_delay_s;
			dev->rt.mac->track[MACSTATE_RX_TIMING].unheard = 0;
		}
	}
	if (may_ask(m, dev->rt.mac, MACSTATE_NEW_CHANNEL, now) &&
	    (n = new_channels(m, dev, out + len, cap - len)) > 0) {
		len += n;
		*kinds |= 1u << MACSTATE_NEW_CHANNEL;
	}
	return len;
}

void netmac_sent(struct netmac *m, struct lb_device *dev, unsigned kinds)
{
	/* kinds come from netmac_requests(), which made the state. */
	if (!dev->rt.mac)
		return;
	for (int k = 0; k < MACSTATE__N; k++) {
		if (!(kinds & 1u << k))
			continue;
		dev->rt.mac->track[k].tries++;
		dev->rt.mac->track[k].outstanding = true;
		m->stats.sent[k]++;
		log_debug(TAG, "device %s: %s sent (try %u)", dev->name, req_names[k],
			  dev->rt.mac->track[k].tries);
	}
	if (kinds)
		touch(m, dev);
}

void netmac_delivered(struct netmac *m, struct lb_device *dev)
{
	(void)m;
	if (!dev->rt.mac)
		return;
	/* Whether the device receives the bridge's downlinks (note_repeats()). */
	dev->rt.mac->track[MACSTATE_RX_PARAM].down_since = true;
	dev->rt.mac->track[MACSTATE_RX_TIMING].down_since = true;
}

void netmac_windows(const struct netmac *m, const struct lb_device *dev,
		    struct downlink_plan_in *in)
{
	struct maccmd_rx_param_setup_req want;
	uint32_t freq;
	uint8_t offset, dr;

	/* ABP with nothing to push: the configuration is what the device was
	 * set up with. */
	if (dev->activation == LB_ACT_ABP && !rx_param_needed(m, dev, &want) && !rx_param_done(dev))
		return;
	if (!rx_current(m, dev, &offset, &freq, &dr))
		return;
	in->rx1_dr_offset = offset;
	/* An ABP device before its answer: the region's RX2 (downlink_plan()'s own). */
	in->rx2_override = dev->activation != LB_ACT_ABP || rx_param_done(dev);
	in->rx2_freq_hz = freq;
	in->rx2_dr = dr;
}

bool netmac_rx2_changing(const struct lb_device *dev)
{
	const struct macstate *s = mac_view(dev);

	return s->track[MACSTATE_RX_PARAM].outstanding &&
	       s->session_at == macstate_unix_s(dev->rt.joined_at);
}
