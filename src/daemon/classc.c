/* SPDX-License-Identifier: MIT */
/* classc.c - class C downlinks. See classc.h. */
#include "daemon/classc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "io/loop.h"
#include "lorawan/airtime.h"

#define MS_PER_S 1000
#define US_PER_MS 1000

/* ------------------------------------------------------------ devices */

static int cmp_dev(const void *a, const void *b)
{
	uint64_t x = ((const struct classc_dev *)a)->dev_eui;
	uint64_t y = ((const struct classc_dev *)b)->dev_eui;
	return x < y ? -1 : x > y;
}

static struct classc_dev *find(const struct classc *cc, uint64_t dev_eui)
{
	struct classc_dev key = {.dev_eui = dev_eui};
	if (!cc->n)
		return NULL;
	return bsearch(&key, cc->dev, cc->n, sizeof(*cc->dev), cmp_dev);
}

const struct classc_dev *classc_find(const struct classc *cc, uint64_t dev_eui)
{
	return find(cc, dev_eui);
}

int classc_sync(struct classc *cc)
{
	struct devices *ds = cc->c.devices;
	size_t n = 0;

	for (size_t i = 0; i < ds->n; i++)
		n += ds->dev[i].dev_class == LB_CLASS_C;
	struct classc_dev *fresh = n ? calloc(n, sizeof(*fresh)) : NULL;
	if (n && !fresh) {
		log_error("classc", "no memory for %zu class C devices: the old list stays", n);
		return LB_ERR_NOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < ds->n; i++) {
		if (ds->dev[i].dev_class != LB_CLASS_C)
			continue;
		const struct classc_dev *old = find(cc, ds->dev[i].dev_eui);
		if (old)
			fresh[k] = *old;
		fresh[k].dev_eui = ds->dev[i].dev_eui;
		/* Whatever is queued may go now. */
		fresh[k].wanted = true;
		fresh[k].retry_at_ms = 0;
		k++;
	}
	if (k)
		qsort(fresh, k, sizeof(*fresh), cmp_dev);
	free(cc->dev);
	cc->dev = fresh;
	cc->n = k;
	cc->next_ms = 0;
	return LB_OK;
}

/* ------------------------------------------------------------ helpers */

static void due(struct classc *cc, struct classc_dev *cd, int64_t at_ms)
{
	cd->wanted = true;
	cd->retry_at_ms = at_ms;
	cc->next_ms = loop_earliest(cc->next_ms, at_ms);
}

static uint64_t txpk_airtime_us(const struct gwmp_txpk *t)
{
	uint64_t us = 0;
	(void)airtime_frame_us((enum airtime_modulation)t->modu, t->sf, t->bw_khz, t->cr,
			       t->bitrate, t->size, false, &us); /* unknown: 0 */
	return us;
}

/* Start of the uplink whose receptions are rx, on the monotonic clock: its
 * end (the first datagram's arrival) minus its time on air. */
static int64_t uplink_start_us(const struct lb_rx *rx, size_t n_rx)
{
	int64_t end = rx[0].received_mono_us;
	uint64_t us = 0;

	for (size_t i = 1; i < n_rx; i++)
		if (rx[i].received_mono_us < end)
			end = rx[i].received_mono_us;
	const struct gwmp_rxpk *pk = &rx[0].rxpk;
	(void)airtime_frame_us((enum airtime_modulation)pk->modu, pk->sf, pk->bw_khz, pk->cr,
			       pk->bitrate, pk->size, true, &us);
	return end - (int64_t)us;
}

/* Keep one entry per gateway, the oldest replaced. */
static void note_rx(struct classc_dev *cd, const struct lb_rx *rx, int64_t now_ms)
{
	size_t slot = 0;

	for (size_t i = 0; i < CLASSC_RX; i++) {
		if (cd->rx[i].gateway_eui == rx->gateway_eui) {
			slot = i;
			break;
		}
		if (cd->rx[i].at_ms < cd->rx[slot].at_ms)
			slot = i;
	}
	cd->rx[slot] = (struct classc_rx){
		.gateway_eui = rx->gateway_eui, .at_ms = now_ms,
		.margin_db = downlink_rx_margin_db(&rx->rxpk),
		.rssi = rx->rxpk.has_rssi ? rx->rxpk.rssi : INT_MIN};
}

/* The gateway that heard the device best recently and can send now. */
static const struct gateway *best_gateway(const struct classc *cc, const struct classc_dev *cd,
					  int64_t now_ms)
{
	const struct classc_rx *best = NULL;
	const struct gateway *best_gw = NULL;

	for (size_t i = 0; i < CLASSC_RX; i++) {
		const struct classc_rx *r = &cd->rx[i];
		if (!r->gateway_eui || now_ms - r->at_ms > CLASSC_RX_MAX_AGE_MS)
			continue;
		const struct gateway *gw = gateways_find(cc->c.gateways, r->gateway_eui);
		if (!gw || !gw->online || !gw->has_downlink_addr)
			continue;
		if (best && (r->margin_db < best->margin_db ||
			     (r->margin_db == best->margin_db && r->rssi <= best->rssi)))
			continue;
		best = r;
		best_gw = gw;
	}
	return best_gw;
}

/* The device's RX2 as class A uses it (txsched.c): the one the device
 * confirmed by RXParamSetupAns (netmac.h), else for a joined OTAA device
 * the join-accept's DR on the region's frequency, else the
 * configuration's, else the region's. */
static int rx2_of(const struct classc *cc, const struct lb_device *dev, uint32_t *freq,
		  uint8_t *dr)
{
	int rc = region_rx2(cc->c.region, freq, dr);
	if (rc != LB_OK)
		return rc;
	if (cc->o.has_rx2_freq)
		*freq = cc->o.rx2_freq;
	if (cc->o.has_rx2_dr)
		*dr = cc->o.rx2_dr;
	if (dev->activation == LB_ACT_OTAA && dev->rt.joined_at && dev->rt.rx2_freq) {
		*freq = dev->rt.rx2_freq;
		*dr = dev->rt.rx2_dr;
	}
	if (!cc->c.netmac)
		return LB_OK;
	struct downlink_plan_in in = {.rx2_override = true, .rx2_freq_hz = *freq, .rx2_dr = *dr};
	netmac_windows(cc->c.netmac, dev, &in);
	if (!in.rx2_override)
		return region_rx2(cc->c.region, freq, dr);
	*freq = in.rx2_freq_hz;
	*dr = in.rx2_dr;
	return LB_OK;
}

/* A reason to wait, said once per item. */
static void say_wait(struct classc *cc, struct classc_dev *cd, struct lb_device *dev,
		     const char *id, enum classc_wait why, uint64_t gateway_eui)
{
	if (cd->waited == why && !strcmp(cd->waited_id, id))
		return;
	cd->waited = why;
	snprintf(cd->waited_id, sizeof(cd->waited_id), "%s", id);
	cc->stats.waits++;
	char desc[256];
	if (why == CLASSC_WAIT_GATEWAY)
		snprintf(desc, sizeof(desc), "class C downlink %s waits: no gateway that heard the "
			 "device in the last %d min is online; it goes with the device's next "
			 "uplink", id, CLASSC_RX_MAX_AGE_MS / 60000);
	else if (why == CLASSC_WAIT_SESSION)
		snprintf(desc, sizeof(desc), "class C downlink %s waits: the device was sent a "
			 "join-accept and not heard since; it goes with the device's next uplink, "
			 "under the session that uplink uses", id);
	else
		snprintf(desc, sizeof(desc), "class C downlink %s waits: the gateway's duty cycle "
			 "leaves no room in the RX2 sub-band; tried again every %d s", id,
			 CLASSC_DC_RETRY_MS / MS_PER_S);
	log_info("classc", "device %s: %s", dev->name, desc);
	devevent_log(cc->c.ev, dev, "WARNING",
		     why == CLASSC_WAIT_GATEWAY ? "CLASS_C_NO_GATEWAY"
		     : why == CLASSC_WAIT_SESSION ? "CLASS_C_SESSION_PENDING"
						  : "DUTY_CYCLE",
		     desc, gateway_eui);
}

/* ------------------------------------------------------------ sending */

struct head {
	bool has_item;
	struct store_downlink item;
	size_t queued;
	int64_t now_us;
	bool has_expired;
	char expired[STORE_DL_ID_SIZE];
};

static int head_item(void *arg, const struct store_downlink *row)
{
	struct head *h = arg;

	if (row->state != STORE_DL_QUEUED)
		return 0;
	if (row->has_expires_at && row->expires_at_us <= h->now_us) {
		if (!h->has_expired)
			snprintf(h->expired, sizeof(h->expired), "%s", row->id);
		h->has_expired = true;
		return 0;
	}
	if (!h->has_item) {
		h->item = *row;
		h->has_item = true;
	}
	h->queued++;
	return 0;
}

static int build_attempt(struct classc *cc, struct lb_device *dev, const struct head *h,
			 uint32_t fcnt, struct downlink_attempt *a)
{
	struct downlink_frame fr = {
		.dev_addr = dev->dev_addr, .adr = dev->adr,   /* TS001-1.0.4 §4.3.1.1 */
		.fcnt_down = fcnt, .confirmed = h->item.confirmed,
		.has_fport = true, .fport = h->item.fport, .payload = h->item.data,
		.payload_len = h->item.len, .fpending = h->queued > 1};
	uint8_t phy[LW_MAX_PHY];
	size_t len;
	uint32_t freq;
	uint8_t dr;
	struct lw_keys *ks;

	int rc = devices_keys(cc->c.devices, dev, &ks);
	if (rc == LB_OK)
		rc = downlink_build(&fr, ks, phy, sizeof(phy), &len);
	if (rc == LB_OK && cc->c.netmac)
		netmac_load(cc->c.netmac, dev);   /* the RX2 it confirmed */
	if (rc == LB_OK)
		rc = rx2_of(cc, dev, &freq, &dr);
	if (rc == LB_OK)
		rc = downlink_plan_class_c(cc->c.region, (enum region_rp)dev->regional_parameters,
					   freq, dr, phy, len, a);
	return rc;
}

/* The FRMPayload bytes (N, RP002-1.0.4 "Maximum payload size") of the
 * device's RX2 data rate in its Regional Parameters revision (the limit
 * downlink_plan_class_c() refused at), or -1 if unknown. */
static int rx2_max_payload(const struct classc *cc, const struct lb_device *dev)
{
	enum region_rp rp = (enum region_rp)dev->regional_parameters;
	uint32_t freq;
	uint8_t dr, n;

	if (rx2_of(cc, dev, &freq, &dr) != LB_OK ||
	    region_max_payload_rp(cc->c.region, rp, dr, NULL, &n) != LB_OK)
		return -1;
	return n;
}

/* Budgets, counter, frame, launch. A refusal that ends the item was told. */
static void send_head(struct classc *cc, struct classc_dev *cd, struct lb_device *dev,
		      const struct head *h, const struct gateway *gw, int64_t now_ms)
{
	struct downlink_pending_entry e;
	uint32_t fcnt;

	if (budget_downlink_allowed(cc->c.budget, dev, txsched_in_flight(cc->c.tx, dev->dev_eui)) !=
	    LB_OK) {
		txsched_drop_item(cc->c.tx, dev, h->item.id, "FAIR_ACCESS",
				  "the device's downlink budget is used up "
				  "(fair_access.action = enforce)", NULL);
		due(cc, cd, now_ms);
		return;
	}
	memset(&e, 0, sizeof(e));
	int rc = txsched_reserve_fcnt(cc->c.tx, dev, &fcnt);
	if (rc == LB_ERR_RANGE)
		return;         /* exhausted (told by txsched): only a rejoin helps */
	if (rc == LB_ERR_AGAIN) {   /* the counter's reservation waits for its sync */
		due(cc, cd, now_ms + TXSCHED_DISK_POLL_MS);
		return;
	}
	if (rc != LB_OK) {
		due(cc, cd, now_ms + CLASSC_FAIL_RETRY_MS);
		return;
	}
	rc = build_attempt(cc, dev, h, fcnt, &e.plan.attempt[0]);
	if (rc == LB_ERR_TOO_LARGE) {
		struct txsched_sizes sz = {.item_size = h->item.len,
					   .max_payload_size = rx2_max_payload(cc, dev)};
		txsched_drop_item(cc->c.tx, dev, h->item.id, "DOWNLINK_PAYLOAD_SIZE",
				  "the device's RX2 data rate cannot carry it", &sz);
		due(cc, cd, now_ms);
		return;
	}
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "classc", "device %s: class C downlink %s not built: %s",
			  dev->name, h->item.id, lb_strerror(rc));
		cd->wanted = false;   /* the next uplink gives class A its chance */
		return;
	}
	if (!budget_window_ok(cc->c.budget, gw->eui, &e.plan.attempt[0])) {
		say_wait(cc, cd, dev, h->item.id, CLASSC_WAIT_DUTY_CYCLE, gw->eui);
		due(cc, cd, now_ms + CLASSC_DC_RETRY_MS);
		return;
	}
	fcntdown_used(&dev->rt.fcnt_down);
	e.plan.n_attempts = 1;
	e.plan.gateway_eui = gw->eui;
	e.plan.version = gw->version;
	e.gateway_eui = gw->eui;
	e.dev_eui = dev->dev_eui;
	e.fcnt_down = fcnt;
	e.confirmed = h->item.confirmed;
	snprintf(e.id, sizeof(e.id), "%s", h->item.id);
	cd->in_flight = true;
	cd->wanted = false;
	cd->waited = CLASSC_WAIT_NONE;
	log_debug("classc", "device %s: downlink %s FCnt %u now, through gateway %016llx",
		  dev->name, e.id, fcnt, (unsigned long long)gw->eui);
	txsched_launch_item(cc->c.tx, &e);   /* done() tells how it ended */
}

/* May something start for this device now? Else when to look again
 * (-1: when something happens: an uplink, a TX_ACK, a command). */
static bool may_start(struct classc *cc, struct classc_dev *cd, const struct lb_device *dev,
		      int64_t now_ms, int64_t *again)
{
	*again = -1;
	if (!dev->has_session || cd->in_flight || dev->rt.confirmed)
		return false;
	if (cc->c.netmac && netmac_rx2_changing(dev))
		return false;   /* the next uplink answers RXParamSetupReq (classc.h) */
	if (now_ms < cd->hold_until_ms) {
		*again = cd->hold_until_ms;
		return false;
	}
	if (txsched_busy(cc->c.tx, dev->dev_eui)) {
		*again = now_ms + CLASSC_BUSY_RETRY_MS;
		return false;
	}
	return true;
}

static void try_send(struct classc *cc, struct classc_dev *cd, int64_t now_ms)
{
	struct lb_device *dev = devices_find_eui(cc->c.devices, cd->dev_eui);
	struct head h = {.now_us = loop_wall_us()};
	int64_t again;

	cd->wanted = false;
	if (!dev)
		return;
	if (!may_start(cc, cd, dev, now_ms, &again)) {
		if (again >= 0)
			due(cc, cd, again);
		return;
	}
	if (store_downlink_list(cc->c.store, dev->dev_eui, head_item, &h) != LB_OK) {
		LB_LOG_RL(LOG_LVL_ERROR, "classc", "device %s: downlink queue not read", dev->name);
		due(cc, cd, now_ms + CLASSC_FAIL_RETRY_MS);
		return;
	}
	if (h.has_expired) {
		txsched_drop_item(cc->c.tx, dev, h.expired, "EXPIRED",
				  "its expiresAt passed before it could be sent", NULL);
		due(cc, cd, now_ms);
		return;
	}
	if (!h.has_item)
		return;
	if (cd->gw_failures >= CLASSC_GW_FAILURES)
		return;   /* the gateways refused it: the next uplink's windows */
	if (cc->c.sessions && !sessions_current_sure(cc->c.sessions, dev)) {
		say_wait(cc, cd, dev, h.item.id, CLASSC_WAIT_SESSION, 0);
		return;   /* the next uplink's windows, or class C after it */
	}
	const struct gateway *gw = best_gateway(cc, cd, now_ms);
	if (!gw) {
		say_wait(cc, cd, dev, h.item.id, CLASSC_WAIT_GATEWAY, 0);
		return;
	}
	send_head(cc, cd, dev, &h, gw, now_ms);
}

/* ------------------------------------------------------------ confirmed */

/* Back in the queue for another send (a new FCntDown, §4.3.1.5), or
 * settled as not acknowledged when the retries are used up. */
static void retry_or_fail(struct classc *cc, struct classc_dev *cd, struct lb_device *dev,
			  const char *why, int64_t now_ms)
{
	cd->tracking = false;
	if (cd->sends > (unsigned)cc->o.retries) {
		log_info("classc", "device %s: confirmed downlink %s not acknowledged after %u "
			 "sends (%s)", dev->name, cd->conf_id, cd->sends, why);
		txsched_settle_confirmed(cc->c.tx, dev, false, NULL);
		due(cc, cd, now_ms);
		return;
	}
	int rc = store_downlink_update(cc->c.store, cd->conf_id, STORE_DL_QUEUED, false, 0);
	if (rc != LB_OK) {
		log_error("classc", "device %s: %s not queued again (%s): reported unacknowledged",
			  dev->name, cd->conf_id, lb_strerror(rc));
		txsched_settle_confirmed(cc->c.tx, dev, false, NULL);
		return;
	}
	cc->stats.retries++;
	log_info("classc", "device %s: confirmed downlink %s not acknowledged (%s): sent again "
		 "(%u of %d retries)", dev->name, cd->conf_id, why, cd->sends, cc->o.retries);
	devices_clear_confirmed(dev);
	cd->tracking = true;        /* keeps the count of sends for that id */
	cd->deadline_ms = -1;       /* no timeout until it is sent again */
	due(cc, cd, now_ms);
}

static bool waits_for(const struct classc_dev *cd, const struct lb_device *dev)
{
	return cd->tracking && cd->deadline_ms >= 0 && dev->rt.confirmed &&
	       !strcmp(dev->rt.confirmed->id, cd->conf_id);
}

/* dev was heard: its gateways, and its class A windows held free. NULL:
 * not a class C device. */
static struct classc_dev *heard(struct classc *cc, const struct lb_device *dev,
				const struct lb_rx *rx, size_t n_rx)
{
	struct classc_dev *cd = find(cc, dev->dev_eui);
	int64_t now = loop_now_ms();

	if (!cd)
		return NULL;
	for (size_t i = 0; i < n_rx; i++)
		note_rx(cd, &rx[i], now);
	cd->last_up_ms = now;
	cd->last_up_us = loop_now_us();
	cd->gw_failures = 0;
	/* RX1 opens rx_delay after the uplink; nothing before it closes
	 * (done() pushes this further when class A sends). */
	unsigned rx1_s = dev->rt.rx_delay_s ? dev->rt.rx_delay_s : DOWNLINK_RECEIVE_DELAY1_S;
	cd->hold_until_ms = now + (int64_t)rx1_s * MS_PER_S + CLASSC_RX1_GUARD_MS;
	due(cc, cd, now + cc->o.delay_ms + 1);
	return cd;
}

/* txsched hook: a retransmission, acknowledged again: its windows held,
 * nothing settled or retried (it carries the first copy's ACK bit). */
static void on_retransmission(void *arg, struct lb_device *dev, const struct lb_rx *rx,
			      size_t n_rx)
{
	(void)heard(arg, dev, rx, n_rx);
}

/* txsched hook: an uplink of dev, before a confirmed downlink is settled. */
static bool on_uplink(void *arg, struct lb_device *dev, const struct lw_frame *f,
		      const struct lb_rx *rx, size_t n_rx)
{
	struct classc *cc = arg;
	struct classc_dev *cd = heard(cc, dev, rx, n_rx);

	if (!cd)
		return false;
	if (!waits_for(cd, dev))
		return false;
	if (n_rx && uplink_start_us(rx, n_rx) < cd->sent_end_us)
		return true;    /* started before the downlink ended: cannot answer it */
	if (f->u.data.ack) {
		cd->tracking = false;
		return false;   /* acknowledged: txsched settles it */
	}
	if (cd->sends > (unsigned)cc->o.retries) {
		cd->tracking = false;
		return false;   /* no retry left: txsched settles it unacknowledged */
	}
	retry_or_fail(cc, cd, dev, "the next uplink has no ACK", cd->last_up_ms);
	return true;
}

/* txsched hook: a data downlink of dev was sent or failed. */
static void on_done(void *arg, struct lb_device *dev, const struct downlink_pending_entry *e,
		    bool sent)
{
	struct classc *cc = arg;
	struct classc_dev *cd = find(cc, dev->dev_eui);
	int64_t now = loop_now_ms();

	if (!cd)
		return;
	const struct downlink_attempt *a = &e->plan.attempt[e->attempt];
	bool class_c = a->window == DOWNLINK_RXC;
	if (class_c)
		cd->in_flight = false;
	if (!sent) {
		if (class_c)
			cd->gw_failures++;
		due(cc, cd, now + CLASSC_FAIL_RETRY_MS);
		return;
	}
	cd->gw_failures = 0;
	int64_t air_us = (int64_t)txpk_airtime_us(&a->txpk);
	int64_t end_us = class_c ? loop_now_us() + air_us : cd->last_up_us + a->delay_us + air_us;
	if (!class_c)   /* the class-A frame's window, then the device listens again */
		cd->hold_until_ms = cd->last_up_ms + (a->delay_us + air_us) / US_PER_MS + 1;
	else
		cc->stats.sent++;
	if (e->confirmed && dev->rt.confirmed) {
		if (!cd->tracking || strcmp(cd->conf_id, e->id)) {
			snprintf(cd->conf_id, sizeof(cd->conf_id), "%s", e->id);
			cd->sends = 0;
		}
		cd->tracking = true;
		cd->sends++;
		cd->sent_end_us = end_us;
		cd->deadline_ms = end_us / US_PER_MS +
				  (int64_t)cc->o.ack_timeout_s * MS_PER_S;
		cc->next_ms = loop_earliest(cc->next_ms, cd->deadline_ms);
		return;
	}
	due(cc, cd, cd->hold_until_ms > now ? cd->hold_until_ms : now);
}

/* ------------------------------------------------------------ tick */

static void check_confirmed(struct classc *cc, struct classc_dev *cd, int64_t now_ms)
{
	struct lb_device *dev = devices_find_eui(cc->c.devices, cd->dev_eui);

	if (!dev)
		return;
	/* One restored from the store after a restart: a new timeout. */
	if (dev->rt.confirmed && (!cd->tracking || strcmp(cd->conf_id, dev->rt.confirmed->id))) {
		cd->tracking = true;
		snprintf(cd->conf_id, sizeof(cd->conf_id), "%s", dev->rt.confirmed->id);
		cd->sends = 1;
		cd->sent_end_us = loop_now_us();
		cd->deadline_ms = now_ms + (int64_t)cc->o.ack_timeout_s * MS_PER_S;
	}
	if (!waits_for(cd, dev))
		return;
	if (cd->deadline_ms <= now_ms)
		retry_or_fail(cc, cd, dev, "no uplink within downlink.class_c_ack_timeout_s",
			      now_ms);
}

static int64_t tick_device(struct classc *cc, struct classc_dev *cd, int64_t now_ms)
{
	check_confirmed(cc, cd, now_ms);
	if (cd->wanted && cd->retry_at_ms <= now_ms)
		try_send(cc, cd, now_ms);
	int64_t next = -1;
	if (cd->wanted)
		next = cd->retry_at_ms;
	if (cd->tracking && cd->deadline_ms >= 0)
		next = loop_earliest(next, cd->deadline_ms);
	return next;
}

int64_t classc_tick(struct classc *cc, int64_t now_ms)
{
	if (cc->next_ms < 0 || cc->next_ms > now_ms)
		return cc->next_ms;
	int64_t next = -1;
	cc->next_ms = -1;       /* what the devices do now may set it again */
	for (size_t i = 0; i < cc->n; i++)
		next = loop_earliest(next, tick_device(cc, &cc->dev[i], now_ms));
	cc->next_ms = loop_earliest(cc->next_ms, next);
	return cc->next_ms;
}

void classc_queued(void *arg, struct lb_device *dev)
{
	struct classc *cc = arg;
	struct classc_dev *cd = find(cc, dev->dev_eui);

	if (cd)
		due(cc, cd, loop_now_ms());
}

int classc_init(struct classc *cc, const struct classc_ctx *ctx, const struct classc_opts *o)
{
	memset(cc, 0, sizeof(*cc));
	cc->c = *ctx;
	cc->o = *o;
	cc->next_ms = -1;
	struct txsched_hooks h = {.arg = cc, .uplink = on_uplink, .retransmission = on_retransmission,
				  .done = on_done};
	txsched_set_hooks(cc->c.tx, &h);
	return classc_sync(cc);
}

void classc_free(struct classc *cc)
{
	free(cc->dev);
	cc->dev = NULL;
	cc->n = 0;
}
