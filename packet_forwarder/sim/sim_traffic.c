/* SPDX-License-Identifier: MIT */
/* sim_traffic.c - uplink schedule and fault injection, see sim_traffic.h. */
#include "sim_traffic.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "base/hex.h"
#include "base/lb_err.h"
#include "sim_otaa.h"
#include "sim_radio.h"

#define US_PER_S 1000000.0
#define HEX_PHY_LEN (2 * LW_MAX_PHY + 1)
#define FCTRL_ACK 0x20              /* TS001-1.0.4 §4.3.1, FCtrl bit 5 */
#define FCTRL_ADR 0x80              /* bit 7 */

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void earliest(int64_t *next, int64_t t)
{
	if (t >= 0 && (*next < 0 || t < *next))
		*next = t;
}

/* The time on air of a transmission starting at now_us: distinct from, and
 * after, every earlier one (see sim_traffic.h). */
static int64_t air_time(struct sim_traffic *t, int64_t now_us)
{
	if (t->last_air_us >= 0 && now_us <= t->last_air_us)
		now_us = t->last_air_us + 1;
	t->last_air_us = now_us;
	return now_us;
}

void sim_traffic_init(struct sim_traffic *t, const struct sim_opts *o, struct sim_devices *devs,
		      struct sim_gateway *gws, unsigned n_gws, struct sim_stats *st,
		      struct sim_dlcheck *dl, FILE *expect, FILE *print, int64_t now_us)
{
	memset(t, 0, sizeof(*t));
	t->o = o;
	t->dl = dl;
	t->devs = devs;
	t->gws = gws;
	t->n_gws = n_gws;
	t->st = st;
	t->expect = expect;
	t->print = print;
	t->up_conf.fport = o->fport;
	t->up_conf.confirmed = o->confirmed;
	t->up_conf.payload_size = o->payload_size;
	t->up_conf.lpp = o->payload_lpp;
	t->start_us = now_us;
	t->last_air_us = -1;
	t->wall_start_us = -1;
	t->end_us = o->duration_s > 0 ? now_us + (int64_t)(o->duration_s * US_PER_S) : -1;
	t->next_malformed_at = o->malformed_every;
	for (size_t i = 0; i < devs->n; i++) {
		struct sim_mac_dev *m = &devs->dev[i].mac;
		if (o->snr_spread)
			sim_mac_set_snr(m, (float)o->snr_min_db, (float)o->snr_max_db, i, devs->n);
		(void)sim_mac_reset(m, &o->region, sim_radio_device_sf(&o->region, o->sf, i));
	}
}

void sim_traffic_use_virtual_clock(struct sim_traffic *t)
{
	t->wall_start_us = wall_us();
}

/* The Unix time of a transmission at monotonic now_us. */
static int64_t wall_at(const struct sim_traffic *t, int64_t now_us)
{
	return t->wall_start_us < 0 ? wall_us() : t->wall_start_us + (now_us - t->start_us);
}

void sim_traffic_finish(struct sim_traffic *t)
{
	t->finished = true;
}

/*
 * The channel of one transmission in a grid region (US915, AU915): a data
 * frame's from the device's channel mask, a join-request's from the join
 * order (sim_mac.h); *grid false elsewhere (the radio model picks).
 * Errors: those of sim_mac_grid_tx(), said on stderr.
 */
static int grid_channel(struct sim_traffic *t, size_t dev_idx, uint32_t fcnt, bool join,
			struct sim_mac_tx *tx, bool *grid)
{
	const struct sim_device *d = &t->devs->dev[dev_idx];
	const struct region *r = &t->o->region;

	*grid = r->n_default_channels == 0;
	if (!*grid)
		return LB_OK;
	int rc = join ? sim_mac_grid_join_tx(&d->mac, r, dev_idx, d->n_joins ? d->n_joins - 1 : 0,
					     tx) :
		 sim_mac_grid_tx(&d->mac, r, dev_idx, fcnt, tx);
	if (rc != LB_OK)
		fprintf(stderr, "lorabridge-sim: %s: no enabled %s channel carries DR%u: %s\n",
			d->name, r->name, d->mac.dr, lb_strerror(rc));
	return rc;
}

/* Push one frame through gateway g; *sent becomes true if it left the host
 * (it is never reset here, so one flag covers several gateways). gtx: the
 * grid region's channel, or NULL; a gateway not listening on it (its
 * --gateway-sub-band) gets nothing. */
static int push_via(struct sim_traffic *t, unsigned g, size_t dev_idx, uint32_t fcnt,
		    const struct sim_mac_tx *gtx, const uint8_t *phy, size_t len, int64_t now_us,
		    int64_t wall, struct gwmp_rxpk *rxpk, bool *sent)
{
	struct sim_gateway *gw = &t->gws[g];
	const struct sim_mac_dev *m = &t->devs->dev[dev_idx].mac;
	struct sim_reception r = {
		.region = &t->o->region, .gw_idx = g, .dev_idx = dev_idx, .fcnt = fcnt,
		.sf = sim_mac_sf(m, &t->o->region),
		.freq_hz = sim_mac_freq_hz(m, &t->o->region, dev_idx, fcnt),
		.has_snr = m->has_snr, .snr_db = m->snr_db,
		.power_less_db = sim_mac_power_less_db(m),
		.tmst = sim_gateway_tmst(gw, now_us), .wall_us = wall, .phy = phy, .phy_len = len,
	};
	bool ok;

	if (gtx) {
		r.freq_hz = gtx->freq_hz;
		r.sf = gtx->sf;
		r.bw_khz = gtx->bw_khz;
		/* An 8-channel concentrator: IF 0..7 the 125 kHz ones, 8 the 500 kHz one. */
		r.chan = gtx->ch < SIM_GRID_125 ? gtx->ch % SIM_GRID_IF_125 : SIM_GRID_IF_125;
	}
	int rc = sim_radio_rxpk(&r, rxpk);
	if (rc != LB_OK)
		return rc;
	if (gtx && !sim_mac_sub_band_has(t->o->gateway_sub_band, gtx->ch))
		return LB_OK;   /* on air, but no gateway listens there */
	rc = sim_gateway_push_rxpk(gw, rxpk, 1, now_us, &ok);
	*sent = *sent || ok;
	return rc;
}

/* A frame outside the schedule (replay, bad MIC): one gateway. */
static int push_extra(struct sim_traffic *t, unsigned g, size_t dev_idx, uint32_t fcnt,
		      const uint8_t *phy, size_t len, int64_t now_us, bool *sent)
{
	struct gwmp_rxpk rxpk;
	struct sim_mac_tx gtx;
	bool grid;

	*sent = false;
	int64_t air = air_time(t, now_us);
	int rc = grid_channel(t, dev_idx, fcnt, false, &gtx, &grid);
	if (rc != LB_OK)
		return rc;
	return push_via(t, g, dev_idx, fcnt, grid ? &gtx : NULL, phy, len, air, wall_at(t, air),
			&rxpk, sent);
}

static void record(struct sim_traffic *t, const struct sim_uplink *up, unsigned g,
		   const struct gwmp_rxpk *rxpk)
{
	const struct sim_device *d = &t->devs->dev[up->dev_idx];
	char eui[17], addr[9], payload[2 * SIM_MAX_PAYLOAD + 1], phy[HEX_PHY_LEN];

	hex_format_eui(d->dev_eui, eui);
	hex_encode(up->payload, up->payload_len, payload, sizeof(payload));
	if (t->expect)
		fprintf(t->expect, "%s %" PRIu32 " %s\n", eui, up->fcnt, payload);
	if (!t->print)
		return;
	char gweui[17];
	hex_format_eui(t->gws[g].c.eui, gweui);
	hex_format_u32(d->dev_addr, addr);
	hex_encode(up->phy, up->phy_len, phy, sizeof(phy));
	fprintf(t->print,
		"up gw=%s%s dev_eui=%s dev_addr=%s fcnt=%" PRIu32 " fport=%u freq=%.4f "
		"datr=SF%uBW%u rssi=%d lsnr=%.1f payload=%s phy=%s tmst=%" PRIu32 "\n",
		gweui, t->o->all_gateways && t->n_gws > 1 ? "+" : "", eui, addr, up->fcnt,
		up->fport, rxpk->freq_hz / 1e6, rxpk->sf, rxpk->bw_khz, rxpk->rssi, rxpk->lsnr, payload,
		phy, rxpk->tmst);
}

/* Replay two counters back on the device that just sent, if it has. */
static int inject_replay(struct sim_traffic *t, size_t dev_idx, unsigned g, int64_t now_us)
{
	const struct sim_device *d = &t->devs->dev[dev_idx];
	struct sim_uplink old;
	bool sent;

	if (d->sent < 2)
		return LB_OK;  /* stays due */
	int rc = sim_devices_build_replay(t->devs, dev_idx, d->fcnt - 2, &t->up_conf, &old);
	if (rc != LB_OK)
		return rc;
	rc = push_extra(t, g, dev_idx, old.fcnt, old.phy, old.phy_len, now_us, &sent);
	if (rc != LB_OK)
		return rc;
	t->replay_due = false;
	if (sent)
		t->st->injected_replays++;
	return LB_OK;
}

/* A frame at the device's next counter with a spoiled MIC; the counter is
 * not consumed, so the next genuine uplink still uses it. */
static int inject_bad_mic(struct sim_traffic *t, size_t dev_idx, unsigned g, int64_t now_us)
{
	struct sim_uplink bad;
	bool sent;

	int rc = sim_devices_build_uplink(t->devs, dev_idx, &t->up_conf, &bad);
	if (rc != LB_OK)
		return rc;
	sim_uplink_corrupt_mic(&bad);
	rc = push_extra(t, g, dev_idx, bad.fcnt, bad.phy, bad.phy_len, now_us, &sent);
	if (rc == LB_OK && sent)
		t->st->injected_bad_mic++;
	return rc;
}

static int inject_faults(struct sim_traffic *t, size_t dev_idx, unsigned g, int64_t now_us)
{
	int rc;

	if (t->o->bad_mic_every && t->n_data % t->o->bad_mic_every == 0 &&
	    (rc = inject_bad_mic(t, dev_idx, g, now_us)) != LB_OK)
		return rc;
	if (t->o->replay_every && t->n_data % t->o->replay_every == 0)
		t->replay_due = true;
	if (t->replay_due)
		return inject_replay(t, dev_idx, g, now_us);
	return LB_OK;
}

/* A frame no gateway listened to (grid regions, --gateway-sub-band). */
static void print_unheard(struct sim_traffic *t, const struct sim_uplink *up, bool join,
			  const struct sim_mac_tx *gtx)
{
	char eui[17];

	if (!t->print)
		return;
	hex_format_eui(t->devs->dev[up->dev_idx].dev_eui, eui);
	fprintf(t->print,
		"unheard %s dev_eui=%s %s=%" PRIu32 " ch=%u freq=%.4f datr=SF%uBW%u"
		" gateway_sub_band=%u\n",
		join ? "join-request" : "up", eui, join ? "dev_nonce" : "fcnt", up->fcnt, gtx->ch, gtx->freq_hz / 1e6, gtx->sf,
		gtx->bw_khz, t->o->gateway_sub_band);
}

/* Put one frame on air: every gateway that hears slot k gets an rxpk; in
 * the grid regions none does when the channel is off their sub-band (the
 * frame is counted unheard; rxpk0 still says where it went). */
static int transmit(struct sim_traffic *t, const struct sim_uplink *up, bool join, unsigned g0,
		    int64_t now_us, struct gwmp_rxpk *rxpk0, int *grid_ch, bool *sent)
{
	struct gwmp_rxpk rxpk;
	struct sim_mac_tx gtx;
	bool grid;
	int64_t wall = wall_at(t, now_us);
	unsigned n = t->o->all_gateways ? t->n_gws : 1;

	*sent = false;
	int rc = grid_channel(t, up->dev_idx, up->fcnt, join, &gtx, &grid);
	if (rc != LB_OK)
		return rc;
	*grid_ch = grid ? gtx.ch : -1;
	for (unsigned i = 0; i < n; i++) {
		unsigned g = (g0 + i) % t->n_gws;
		rc = push_via(t, g, up->dev_idx, up->fcnt, grid ? &gtx : NULL, up->phy, up->phy_len,
			      now_us, wall, i == 0 ? rxpk0 : &rxpk, sent);
		if (rc != LB_OK)
			return rc;
	}
	if (grid && !sim_mac_sub_band_has(t->o->gateway_sub_band, gtx.ch)) {
		if (join)
			t->st->unheard_joins++;
		else
			t->st->unheard_uplinks++;
		print_unheard(t, up, join, &gtx);
	}
	return LB_OK;
}

/* What the downlink check needs to know about this transmission. */
static void report_tx(struct sim_traffic *t, size_t dev_idx, unsigned g0, bool join,
		      bool confirmed, uint32_t fcnt_or_nonce, const struct gwmp_rxpk *rxpk0,
		      int grid_ch, int64_t now_us)
{
	struct sim_last_tx tx = {
		.valid = true,
		.join = join,
		.confirmed = confirmed,
		.dev_nonce = join ? (uint16_t)fcnt_or_nonce : 0,
		.fcnt = join ? 0 : fcnt_or_nonce,
		.mono_us = now_us,
		.gw0 = g0,
		.all_gws = t->o->all_gateways,
		.freq_hz = rxpk0->freq_hz,
		.sf = rxpk0->sf,
		.bw_khz = rxpk0->bw_khz,
		.grid = grid_ch >= 0,
		.ch = grid_ch >= 0 ? (uint8_t)grid_ch : 0,
	};
	sim_dlcheck_on_tx(t->dl, dev_idx, &tx);
}

static void print_join(struct sim_traffic *t, const struct sim_device *d, const struct sim_uplink *up,
		       unsigned g, const struct gwmp_rxpk *rxpk)
{
	char eui[17], join_eui[17], gweui[17], phy[HEX_PHY_LEN];

	hex_format_eui(d->dev_eui, eui);
	hex_format_eui(d->join_eui, join_eui);
	hex_format_eui(t->gws[g].c.eui, gweui);
	hex_encode(up->phy, up->phy_len, phy, sizeof(phy));
	fprintf(t->print,
		"join-request gw=%s%s dev_eui=%s join_eui=%s dev_nonce=%" PRIu32 " attempt=%" PRIu32
		" tmst=%" PRIu32 " freq=%.4f datr=SF%uBW%u phy=%s\n",
		gweui, t->o->all_gateways && t->n_gws > 1 ? "+" : "", eui, join_eui, up->fcnt,
		d->n_joins, rxpk->tmst, rxpk->freq_hz / 1e6, rxpk->sf, rxpk->bw_khz, phy);
}

/* A join-request; lost: --rejoin-lost's, sent by an active device that
 * stays active (its join-accept is checked but not taken). */
static int send_join(struct sim_traffic *t, size_t dev_idx, unsigned g0, int64_t now_us,
		     bool lost)
{
	struct sim_device *d = &t->devs->dev[dev_idx];
	struct sim_uplink up;
	struct gwmp_rxpk rxpk0;
	int grid_ch = -1;
	bool sent;

	uint16_t nonce = sim_otaa_next_nonce(d, t->dl->version, &t->dl->rng);
	int rc = sim_otaa_build_join(d, dev_idx, nonce, &up);
	if (rc == LB_OK)
		rc = transmit(t, &up, true, g0, now_us, &rxpk0, &grid_ch, &sent);
	if (rc != LB_OK)
		return rc;
	d->state = lost ? SIM_DEV_ACTIVE : SIM_DEV_JOINING;
	d->join_timed_out = false;
	d->accept_lost = lost;
	d->rejoin_lost_sent |= lost;
	report_tx(t, dev_idx, g0, true, false, nonce, &rxpk0, grid_ch, now_us);
	if (sent) {
		t->st->joins_sent++;
		t->st->join_retries += d->n_joins > 1 && !lost;
		if (t->print)
			print_join(t, d, &up, g0, &rxpk0);
	}
	return LB_OK;
}

static int send_data(struct sim_traffic *t, size_t dev_idx, unsigned g0, int64_t now_us)
{
	struct sim_device *d = &t->devs->dev[dev_idx];
	struct sim_uplink_conf conf = t->up_conf;
	struct sim_uplink up;
	struct gwmp_rxpk rxpk0;
	int grid_ch = -1;
	bool sent;

	uint8_t fopts[SIM_MAC_ANS_MAX];

	conf.fctrl = (uint8_t)((d->ack_due ? FCTRL_ACK : 0) | (t->o->adr ? FCTRL_ADR : 0));
	conf.fopts = fopts;
	conf.fopts_len = (uint8_t)sim_mac_fopts(&d->mac, fopts);
	int rc = sim_devices_build_uplink(t->devs, dev_idx, &conf, &up);
	if (rc == LB_OK)
		rc = transmit(t, &up, false, g0, now_us, &rxpk0, &grid_ch, &sent);
	if (rc != LB_OK)
		return rc;
	/* The device transmitted either way; the bridge can only get it if sent. */
	d->fcnt++;
	d->sent++;
	sim_mac_uplink_sent(&d->mac);
	t->n_data++;
	report_tx(t, dev_idx, g0, false, conf.confirmed, up.fcnt, &rxpk0, grid_ch, now_us);
	if (sent) {
		t->st->sent_uplinks++;
		t->st->acks_sent += d->ack_due;
		record(t, &up, g0, &rxpk0);
	}
	d->ack_due = false;
	return inject_faults(t, dev_idx, g0, now_us);
}

/* Slot k: data, a join-request, or silence while a join is pending. */
static int send_slot(struct sim_traffic *t, int64_t now_us)
{
	size_t dev_idx = (size_t)(t->k % t->devs->n);
	unsigned g0 = (unsigned)(t->k % t->n_gws);
	const struct sim_device *d = &t->devs->dev[dev_idx];

	t->k++;
	if (d->state == SIM_DEV_ACTIVE && d->otaa && t->o->rejoin_lost && !d->rejoin_lost_sent &&
	    d->sent >= t->o->rejoin_lost)
		return send_join(t, dev_idx, g0, air_time(t, now_us), true);
	if (d->state == SIM_DEV_ACTIVE)
		return send_data(t, dev_idx, g0, air_time(t, now_us));
	if (d->state == SIM_DEV_JOINING && !d->join_timed_out)
		return LB_OK;
	return send_join(t, dev_idx, g0, air_time(t, now_us), false);
}

static int inject_malformed(struct sim_traffic *t)
{
	int guard = SIM_TRAFFIC_BUDGET;

	while (t->o->malformed_every && guard-- > 0 &&
	       t->st->push_data + t->st->pull_data >= t->next_malformed_at) {
		unsigned g = (unsigned)(t->st->injected_malformed % t->n_gws);
		enum sim_malformed_kind k = (enum sim_malformed_kind)(t->malformed_kind++ %
								      SIM_MALFORMED__COUNT);
		int rc = sim_gateway_send_malformed(&t->gws[g], k);
		if (rc != LB_OK)
			return rc;
		t->next_malformed_at += t->o->malformed_every;
	}
	return LB_OK;
}

int sim_traffic_tick(struct sim_traffic *t, int64_t now_us, int64_t *next_us)
{
	const double us_per_uplink = US_PER_S / t->o->rate;
	int budget = SIM_TRAFFIC_BUDGET;
	int rc;

	if (t->finished)
		return LB_OK;
	if (t->end_us >= 0 && now_us >= t->end_us) {
		t->finished = true;
		return LB_OK;
	}
	while (t->o->count == 0 || t->n_data < t->o->count) {
		int64_t due = t->start_us + (int64_t)((double)t->k * us_per_uplink);
		if (due > now_us) {
			earliest(next_us, due);
			break;
		}
		if (budget-- == 0) {
			earliest(next_us, now_us);  /* more due: come back after reading */
			break;
		}
		if ((rc = send_slot(t, now_us)) != LB_OK)
			return rc;
	}
	if ((rc = inject_malformed(t)) != LB_OK)
		return rc;
	if (t->o->count && t->n_data >= t->o->count) {
		t->finished = true;
		return LB_OK;
	}
	earliest(next_us, t->end_us);
	return LB_OK;
}
