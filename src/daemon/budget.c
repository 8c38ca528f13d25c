/* budget.c - airtime, fair access and duty cycle in the daemon. See budget.h. */
#include "daemon/budget.h"

#include <stdio.h>
#include <string.h>

#include "lorawan/airtime.h"
#include "daemon/bridge.h"
#include "daemon/devevent.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "daemon/session.h"

#define STATE_AIRTIME "airtime"

static int64_t wall_ms(void)
{
	return loop_wall_us() / 1000;
}

static void to_event(const struct fa_status *st, struct ev_fair_access *fa)
{
	fa->uplink_airtime_ms = (double)st->uplink_airtime_us / 1000.0;
	fa->uplink_budget_ms = st->uplink_budget_ms;
	fa->downlinks = st->downlinks;
	fa->downlink_budget = st->downlink_budget;
	fa->exceeded = st->exceeded;
}

/* The retained state/airtime message, only when its content changed. */
static void publish_state(struct bridge *b, struct lb_device *dev, const struct fa_status *st)
{
	struct ev_fair_access fa;
	size_t len;

	if (dev->rt.fa_has_published && !fa_status_changed(&dev->rt.fa_published, st))
		return;
	to_event(st, &fa);
	if (event_json_fair_access(&fa, b->event, sizeof(b->event), &len) != LB_OK)
		return;
	if (publish_device_state(&b->pub, dev->application, dev->dev_eui, STATE_AIRTIME, b->event,
				 len) != LB_OK)
		return;
	dev->rt.fa_published = *st;
	dev->rt.fa_has_published = true;
}

void budget_restore_device(struct bridge *b, struct lb_device *dev)
{
	uint8_t blob[FA_ENCODED_MAX];
	size_t len = 0;

	if (store_ledger_get(&b->store, dev->dev_eui, STORE_LEDGER_FAIR_ACCESS, blob, sizeof(blob),
			     &len) != LB_OK)
		return;
	if (fa_decode(&dev->rt.fa, blob, len) != LB_OK) {
		log_warn("budget", "device %s: stored fair-access ledger unreadable, starting afresh",
			 dev->name);
		fa_device_init(&dev->rt.fa, &dev->fa_policy);
	}
}

/* `log` events at 80 % and 100 % of either budget, once per crossing. */
static void report_crossings(struct bridge *b, struct lb_device *dev, unsigned crossed)
{
	static const struct {
		unsigned bit;
		const char *level;
		const char *text;
	} c[] = {
		{FA_CROSS_UPLINK_80, "WARNING", "80 % of the uplink airtime budget used"},
		{FA_CROSS_UPLINK_100, "ERROR", "uplink airtime budget used up"},
		{FA_CROSS_DOWNLINK_80, "WARNING", "80 % of the downlink budget used"},
		{FA_CROSS_DOWNLINK_100, "ERROR", "downlink budget used up"},
	};
	char desc[160];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (!(crossed & c[i].bit))
			continue;
		snprintf(desc, sizeof(desc), "%s (fair access: %u ms and %u downlinks per %u h, %s)",
			 c[i].text, dev->fa_policy.uplink_airtime_ms, dev->fa_policy.downlinks,
			 dev->fa_policy.window_hours,
			 dev->fa_policy.action == FA_ENFORCE ? "enforced" : "warn only");
		devevent_log(b, dev, c[i].level, "FAIR_ACCESS", desc, 0);
	}
}

/* Regions with a dwell-time limit (US915: 400 ms on 125 kHz uplink
 * channels, RP002 §2.5) - a longer frame breaks the rules: say so. */
static void check_dwell(struct bridge *b, struct lb_device *dev, const struct gwmp_rxpk *pk,
			uint64_t us, uint64_t gateway_eui)
{
	uint32_t dwell = region_max_dwell_ms(b->region, pk->bw_khz, true);
	char desc[160];

	if (pk->modu != GWMP_MOD_LORA || dwell == 0 || us <= (uint64_t)dwell * 1000)
		return;
	snprintf(desc, sizeof(desc), "uplink of %.3f ms exceeds the region's %u ms dwell time",
		 (double)us / 1000.0, dwell);
	devevent_log(b, dev, "WARNING", "DWELL_TIME", desc, gateway_eui);
}

bool budget_uplink(struct bridge *b, struct lb_device *dev, const struct lb_rx *rx,
		   double *airtime_ms, struct ev_fair_access *fa)
{
	const struct gwmp_rxpk *pk = &rx->rxpk;
	struct fa_verdict v = {.publish = true};
	struct fa_status st;
	uint64_t us = 0;

	/* LR-FHSS has no formula here: counted as 0 and said so in debug. */
	if (airtime_frame_us((enum airtime_modulation)pk->modu, pk->sf, pk->bw_khz, pk->cr,
			     pk->bitrate, pk->size, true, &us) != LB_OK)
		log_debug("budget", "device %s: no airtime for this modulation", dev->name);
	*airtime_ms = (double)us / 1000.0;
	check_dwell(b, dev, pk, us, rx->gateway_eui);
	int64_t now = wall_ms();
	if (fa_uplink(&dev->rt.fa, &dev->fa_policy, now, us, &v) != LB_OK)
		v.publish = true;
	report_crossings(b, dev, v.crossed);
	session_touch(b, dev);
	if (fa_status(&dev->rt.fa, &dev->fa_policy, now, &st) == LB_OK) {
		to_event(&st, fa);
		publish_state(b, dev, &st);
	}
	if (!v.publish) {
		b->stats.frame_drops[DROP_FAIR_ACCESS]++;
		devevent_log(b, dev, "INFO", "FAIR_ACCESS",
			     "uplink decoded and counted but not published: the device's airtime "
			     "budget is used up (fair_access.action = enforce)",
			     rx->gateway_eui);
	}
	return v.publish;
}

int budget_downlink_allowed(struct bridge *b, struct lb_device *dev)
{
	(void)b;
	return fa_downlink_allowed(&dev->rt.fa, &dev->fa_policy, wall_ms());
}

static void gateway_restore(struct bridge *b, struct gateway *gw)
{
	uint8_t blob[DC_ENCODED_MAX];
	size_t len = 0;

	gw->dc_loaded = true;
	if (store_ledger_get(&b->store, gw->eui, STORE_LEDGER_DUTY_CYCLE, blob, sizeof(blob),
			     &len) != LB_OK)
		return;
	if (dc_decode(&gw->dc, b->region, blob, len) != LB_OK)
		dc_init(&gw->dc);
}

static struct gateway *gateway_dc(struct bridge *b, uint64_t eui)
{
	struct gateway *gw = gateways_find(&b->gateways, eui);
	if (gw && !gw->dc_loaded)
		gateway_restore(b, gw);
	return gw;
}

void budget_downlink_sent(struct bridge *b, struct lb_device *dev, uint64_t gateway_eui,
			  const struct downlink_attempt *a)
{
	struct fa_verdict v = {0};
	struct fa_status st;
	uint64_t us = 0;
	int64_t now = wall_ms();

	if (fa_downlink(&dev->rt.fa, &dev->fa_policy, now, &v) == LB_OK) {
		report_crossings(b, dev, v.crossed);
		session_touch(b, dev);
		if (fa_status(&dev->rt.fa, &dev->fa_policy, now, &st) == LB_OK)
			publish_state(b, dev, &st);
	}
	struct gateway *gw = gateway_dc(b, gateway_eui);
	if (!gw || airtime_frame_us((enum airtime_modulation)a->txpk.modu, a->txpk.sf,
				    a->txpk.bw_khz, a->txpk.cr, a->txpk.bitrate, a->txpk.size, false,
				    &us) != LB_OK)
		return;
	if (dc_record(&gw->dc, b->region, a->txpk.freq_hz, us, now) != LB_OK)
		return;
	uint8_t blob[DC_ENCODED_MAX];
	size_t len;
	if (dc_encode(&gw->dc, blob, sizeof(blob), &len) == LB_OK)
		store_ledger_put(&b->store, gw->eui, STORE_LEDGER_DUTY_CYCLE, blob, len);
}

int budget_choose_window(struct bridge *b, uint64_t gateway_eui, const struct downlink_plan *plan)
{
	struct dc_attempt at[DOWNLINK_MAX_ATTEMPTS];
	struct gateway *gw = gateway_dc(b, gateway_eui);

	if (!gw)
		return 0;
	for (size_t i = 0; i < plan->n_attempts; i++) {
		const struct gwmp_txpk *t = &plan->attempt[i].txpk;
		at[i].freq_hz = t->freq_hz;
		at[i].airtime_us = 0;
		airtime_frame_us((enum airtime_modulation)t->modu, t->sf, t->bw_khz, t->cr,
				 t->bitrate, t->size, false, &at[i].airtime_us);
	}
	int rc = dc_choose(&gw->dc, b->region, at, plan->n_attempts, wall_ms());
	/* A frequency outside every sub-band (no limit known): first window. */
	return rc == LB_ERR_NOT_FOUND ? 0 : rc;
}

bool budget_window_ok(struct bridge *b, uint64_t gateway_eui, const struct downlink_attempt *a)
{
	struct gateway *gw = gateway_dc(b, gateway_eui);
	uint64_t us = 0;

	if (!gw)
		return true;
	airtime_frame_us((enum airtime_modulation)a->txpk.modu, a->txpk.sf, a->txpk.bw_khz,
			 a->txpk.cr, a->txpk.bitrate, a->txpk.size, false, &us);
	return dc_check(&gw->dc, b->region, a->txpk.freq_hz, us, wall_ms()) != LB_ERR_FULL;
}

struct report_ctx {
	struct ev_duty_cycle *out;
	char (*names)[24];
	size_t n, max;
};

static void report_one(void *arg, const struct dc_usage *u)
{
	struct report_ctx *c = arg;
	if (c->n >= c->max)
		return;
	snprintf(c->names[c->n], 24, "%s", u->name);
	c->out[c->n].name = c->names[c->n];
	c->out[c->n].used_pct = u->used_pct;
	c->out[c->n].limit_pct = u->limit_pct;
	c->n++;
}

size_t budget_gateway_report(struct bridge *b, struct gateway *gw, struct ev_duty_cycle *out,
			     char names[][24], size_t max)
{
	struct report_ctx c = {.out = out, .names = names, .max = max};

	if (!gw->dc_loaded)
		gateway_restore(b, gw);
	dc_report(&gw->dc, b->region, wall_ms(), report_one, &c);
	return c.n;
}

int64_t budget_tick(struct bridge *b, int64_t now_ms)
{
	struct fa_status st;

	if (now_ms < b->next_budget_ms)
		return b->next_budget_ms;
	b->next_budget_ms = now_ms + BRIDGE_BUDGET_SCAN_MS;
	int64_t now = wall_ms();
	for (size_t i = 0; i < b->devices.n; i++) {
		struct lb_device *dev = &b->devices.dev[i];
		if (dev->rt.fa_has_published &&
		    fa_status(&dev->rt.fa, &dev->fa_policy, now, &st) == LB_OK)
			publish_state(b, dev, &st);
	}
	return b->next_budget_ms;
}
