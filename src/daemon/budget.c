/* SPDX-License-Identifier: MIT */
/* budget.c - airtime, fair access and duty cycle in the daemon. See budget.h. */
#include "daemon/budget.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "io/loop.h"
#include "lorawan/airtime.h"

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

/* Has the uplink airtime used crossed pct % of the budget between a and b? */
static bool crossed(uint64_t a_us, uint64_t b_us, uint32_t budget_ms, unsigned pct)
{
	uint64_t mark = (uint64_t)budget_ms * 10 * pct;   /* budget_ms * 1000 * pct / 100 */
	return (a_us >= mark) != (b_us >= mark);
}

/* Is st worth a new retained message (budget.h)? The `up` events carry the
 * exact figures: the retained one may lag by less than a step. */
static bool state_due(const struct budget *bg, const struct lb_device *dev,
		      const struct fa_status *st, int64_t now_ms)
{
	const struct fa_status *p = &dev->rt.fa_published;

	if (!dev->rt.fa_has_published)
		return true;
	if (!fa_status_changed(p, st))
		return false;
	if (bg->c.state_pct <= 0 || p->uplink_budget_ms != st->uplink_budget_ms ||
	    p->downlinks != st->downlinks || p->downlink_budget != st->downlink_budget ||
	    p->exceeded != st->exceeded)
		return true;
	uint64_t a = p->uplink_airtime_us, b = st->uplink_airtime_us;
	uint64_t step = (uint64_t)st->uplink_budget_ms * 10 * (unsigned)bg->c.state_pct;
	if ((a > b ? a - b : b - a) >= step || crossed(a, b, st->uplink_budget_ms, 80))
		return true;
	return now_ms - dev->rt.fa_published_ms >= BUDGET_STATE_REFRESH_MS;
}

/* The retained state/airtime message, when state_due(). */
static void publish_state(struct budget *bg, struct lb_device *dev, const struct fa_status *st)
{
	struct ev_fair_access fa;
	char json[512];
	size_t len;
	int64_t now = loop_now_ms();

	if (!state_due(bg, dev, st, now))
		return;
	to_event(st, &fa);
	int rc = event_json_fair_access(&fa, json, sizeof(json), &len);
	if (rc == LB_OK)
		rc = publish_device_state(bg->c.pub, dev->prof->application,
					  devevent_app_id(bg->c.ev, dev), dev->dev_eui,
					  STATE_AIRTIME, json, len);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "budget", "device %s: state/airtime not published: %s",
			  dev->name, lb_strerror(rc));
		return;
	}
	dev->rt.fa_published = *st;
	dev->rt.fa_has_published = true;
	dev->rt.fa_published_ms = now;
}

/* ------------------------------------------- a device's ledgers */

/* A device's fair-access ledgers exist from its first counted uplink or
 * downlink (or a stored ledger that is not idle); until then it is the empty
 * device its policy shapes, kept in no memory. They are kept packed
 * (tables/devices.h rt.fa, fairaccess.h "Packed form": a 24-byte allocation
 * for a device heard once, 40 for one heard a few times a day, where
 * struct fa_device takes 552), and unpacked on the stack for each use. A
 * device whose stored ledger was not read yet (budget_defer_restore) reads
 * it first. */
static void fa_fetch(struct budget *bg, struct lb_device *dev)
{
	if (!dev->rt.fa_unread)
		return;
	dev->rt.fa_unread = false;
	(void)budget_restore_device(bg, dev);   /* logged; a failure starts afresh */
}

/* The device's ledgers in *out: its own, else the empty device. */
static void fa_load(struct budget *bg, struct lb_device *dev, struct fa_device *out)
{
	fa_fetch(bg, dev);
	if (dev->rt.fa && fa_decode(out, dev->rt.fa->blob, dev->rt.fa->len) == LB_OK)
		return;
	if (dev->rt.fa)   /* its own packing: cannot happen, said if it does */
		LB_LOG_RL(LOG_LVL_ERROR, "budget", "device %s: fair-access ledger in memory "
			  "unreadable, starting afresh", dev->name);
	if (fa_device_init(out, &dev->prof->fa_policy) != LB_OK)
		memset(out, 0, sizeof(*out));   /* shaped at first use, as a zeroed device */
}

/* Keep blob[0..len) as the device's packed ledgers, allocated now if need
 * be; unchanged bytes are not rewritten. LB_OK or LB_ERR_NOMEM (the old
 * ones kept). */
static int fa_keep_packed(struct budget *bg, struct lb_device *dev, const uint8_t *blob,
			  size_t len)
{
	struct fa_packed *p = dev->rt.fa;

	if (p && p->len == len && memcmp(p->blob, blob, len) == 0)
		return LB_OK;
	/* The size class follows p->len, which devices_fa_resize() alone
	 * sets (tables/devices.h): only the bytes are written here. */
	if (!(p = devices_fa_resize(bg->c.devices, dev, len)))
		return LB_ERR_NOMEM;
	memcpy(p->blob, blob, len);
	return LB_OK;
}

/* Keep fa as the device's ledgers (fa_keep_packed). LB_OK, LB_ERR_NOMEM
 * (the old ones kept) or the packing's error. */
static int fa_save(struct budget *bg, struct lb_device *dev, const struct fa_device *fa)
{
	uint8_t blob[FA_PACKED_MAX];
	size_t len;

	int rc = fa_pack(fa, blob, sizeof(blob), &len);
	return rc == LB_OK ? fa_keep_packed(bg, dev, blob, len) : rc;
}

/* Count an uplink on the device's packed ledgers as they are
 * (fa_packed_uplink: the same verdict, status and bytes as unpacking them)
 * and keep the result. LB_ERR_NOT_FOUND, nothing changed, when that way
 * does not take them (the caller unpacks: it also says what is wrong with
 * ledgers it cannot read); else LB_OK or LB_ERR_NOMEM (the old ones kept,
 * *v and *st not filled). */
static int fa_uplink_packed(struct budget *bg, struct lb_device *dev, int64_t now,
			    uint64_t us, struct fa_verdict *v, struct fa_status *st)
{
	const struct fa_packed *p = dev->rt.fa;
	uint8_t blob[FA_PACKED_MAX];
	struct fa_verdict pv;
	struct fa_status pst;
	size_t len;

	if (fa_packed_uplink(p ? p->blob : NULL, p ? p->len : 0, &dev->prof->fa_policy, now, us,
			     &pv, &pst, blob, sizeof(blob), &len) != LB_OK)
		return LB_ERR_NOT_FOUND;
	int rc = fa_keep_packed(bg, dev, blob, len);
	if (rc == LB_OK) {
		*v = pv;
		*st = pst;
	}
	return rc;
}

/* After a call that only reads (it may re-arm a threshold as the window
 * slid): kept if it changed and the device has ledgers; an empty device
 * stays empty. */
static void fa_keep(struct budget *bg, struct lb_device *dev, const struct fa_device *before,
		    const struct fa_device *fa)
{
	if (dev->rt.fa && memcmp(before, fa, sizeof(*fa)) != 0)
		(void)fa_save(bg, dev, fa);   /* no growth without a new amount: no allocation */
}

void budget_defer_restore(struct budget *bg, struct lb_device *dev)
{
	devices_fa_drop(bg->c.devices, dev);
	dev->rt.fa_unread = true;
}

/* ---------------------------------------------------- persistence */

/* Both ledgers are saved by this one function: encoded by their table,
 * staged under their owner's EUI and kind. */
static int save_ledger(struct budget *bg, uint64_t owner, enum store_ledger_kind kind,
		       const uint8_t *blob, size_t len, const char *what)
{
	int rc = store_ledger_put(bg->c.store, owner, kind, blob, len);
	if (rc != LB_OK && rc != LB_ERR_FULL)   /* full: committed ahead, durable.h */
		LB_LOG_RL(LOG_LVL_ERROR, "budget", "%s %016llx: ledger not staged: %s", what,
			  (unsigned long long)owner, lb_strerror(rc));
	return rc;
}

/* The device's packed ledgers: its own bytes (read first if they were
 * not yet: never an empty ledger over a stored one), else the empty
 * device's packed into buf. */
static int packed_of(struct budget *bg, struct lb_device *dev, uint8_t buf[FA_PACKED_MAX],
		     const uint8_t **blob, size_t *len)
{
	struct fa_device empty;

	fa_fetch(bg, dev);
	if (dev->rt.fa_unread)   /* its stored ledger could not be read: kept as stored */
		return LB_ERR_STATE;
	if (dev->rt.fa) {
		*blob = dev->rt.fa->blob;
		*len = dev->rt.fa->len;
		return LB_OK;
	}
	if (fa_device_init(&empty, &dev->prof->fa_policy) != LB_OK)
		memset(&empty, 0, sizeof(empty));
	*blob = buf;
	return fa_pack(&empty, buf, FA_PACKED_MAX, len);
}

static int stage_device(struct budget *bg, struct lb_device *dev)
{
	uint8_t buf[FA_PACKED_MAX];
	const uint8_t *blob;
	size_t len;

	int rc = packed_of(bg, dev, buf, &blob, &len);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_ERROR, "budget", "device %s: fair-access ledger not encoded: %s",
			  dev->name, lb_strerror(rc));
		return rc;
	}
	return save_ledger(bg, dev->dev_eui, STORE_LEDGER_FAIR_ACCESS, blob, len, "device");
}

static int stage_gateway(struct budget *bg, struct budget_gateway *g)
{
	uint8_t blob[DC_ENCODED_MAX];
	size_t len;

	int rc = dc_encode(&g->dc, blob, sizeof(blob), &len);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_ERROR, "budget", "gateway %016llx: duty-cycle ledger not "
			  "encoded: %s", (unsigned long long)g->eui, lb_strerror(rc));
		return rc;
	}
	rc = save_ledger(bg, g->eui, STORE_LEDGER_DUTY_CYCLE, blob, len, "gateway");
	if (rc == LB_OK) {
		g->dirty = false;
		bg->n_gw_dirty--;
	}
	return rc;
}

/* After staging the device marked last failed with rc: the disk or memory
 * failed, it stays marked and the batch waits for it (rc returned).
 * Anything else would fail again every time and hold every commit back:
 * said and dropped (LB_OK). */
static int stage_failed(struct budget *bg, int rc)
{
	if (rc == LB_ERR_IO || rc == LB_ERR_NOMEM || rc == LB_ERR_FULL)
		return rc;
	if (rc == LB_ERR_STATE)   /* packed_of(): its stored ledger could not be read */
		LB_LOG_RL(LOG_LVL_ERROR, "budget", "device %s: ledger not written: its stored "
			  "ledger could not be read and is kept as stored",
			  bg->c.devices->dev[dirtyset_last(&bg->dirty)].name);
	else
		LB_LOG_RL(LOG_LVL_ERROR, "budget", "device %s: ledger not stageable (%s): left "
			  "out of the state", bg->c.devices->dev[dirtyset_last(&bg->dirty)].name,
			  lb_strerror(rc));
	dirtyset_pop(&bg->dirty);
	return LB_OK;
}

/* Stage the ledgers of the most recently marked devices, up to
 * STORE_MANY_ROWS, with one call (the store writes them with a few
 * statements) and unmark those staged. A device no longer configured is
 * unmarked; one whose ledger does not encode is staged alone (which says
 * why). */
/* A group of the largest ledgers fits the store's redo log many times over,
 * so a batch committed ahead (durable.h) always has room for the next. */
_Static_assert((uint64_t)STORE_MANY_ROWS * (FA_PACKED_MAX + 64) < STORE_LOG_MAX / 4,
	       "a group of ledgers fits the redo log");

static int stage_group(struct budget *bg)
{
	uint8_t bufs[STORE_MANY_ROWS][FA_PACKED_MAX];
	struct store_ledger_row rows[STORE_MANY_ROWS];
	size_t n = 0, staged = 0, count = dirtyset_count(&bg->dirty);
	uint32_t i;

	while (n < STORE_MANY_ROWS && n < count &&
	       (i = dirtyset_back(&bg->dirty, n)) < bg->c.devices->n) {
		struct lb_device *dev = &bg->c.devices->dev[i];
		const uint8_t *blob;
		rows[n] = (struct store_ledger_row){.owner = dev->dev_eui,
						   .kind = STORE_LEDGER_FAIR_ACCESS};
		if (packed_of(bg, dev, bufs[n], &blob, &rows[n].len) != LB_OK)
			break;
		rows[n].blob = blob;
		n++;
	}
	if (n == 0) {
		i = dirtyset_last(&bg->dirty);
		int rc = i < bg->c.devices->n ? stage_device(bg, &bg->c.devices->dev[i]) : LB_OK;
		if (rc != LB_OK)
			return stage_failed(bg, rc);
		dirtyset_pop(&bg->dirty);
		return LB_OK;
	}
	int rc = store_ledger_put_many(bg->c.store, rows, n, &staged);
	for (; staged > 0; staged--)
		dirtyset_pop(&bg->dirty);
	if (rc == LB_OK)
		return LB_OK;
	if (rc != LB_ERR_FULL)   /* full: committed ahead, durable.h */
		LB_LOG_RL(LOG_LVL_ERROR, "budget", "device %s: ledger not staged: %s",
			  bg->c.devices->dev[dirtyset_last(&bg->dirty)].name, lb_strerror(rc));
	return stage_failed(bg, rc);
}

/* A device's fair-access ledger changes at every uplink; it is written
 * once BUDGET_LEDGER_DELAY_MS after its first change (or at a flush), not
 * with every batch: losing at most that much of a device's airtime after a
 * crash weakens no rule (fair access is the network's own policy, its
 * window errs on the side of counting too much), and most of the writes
 * of a busy device are saved. The gateways' duty-cycle ledgers are the
 * regulator's rules: written with the batch of the downlink they count. */
static bool devices_due(const struct budget *bg)
{
	return dirtyset_count(&bg->dirty) > 0 &&
	       (durable_flushing(bg->c.durable) ||
		durable_commit_ms(bg->c.durable) >= bg->dirty.since_ms + BUDGET_LEDGER_DELAY_MS);
}

/* The durable part: every changed ledger that is due into the open batch. */
static int stage_all(void *arg)
{
	struct budget *bg = arg;

	while (devices_due(bg)) {
		int rc = stage_group(bg);
		if (rc != LB_OK)
			return rc;
	}
	for (size_t i = 0; i < bg->n_gw && bg->n_gw_dirty > 0; i++) {
		if (!bg->gw[i].dirty)
			continue;
		int rc = stage_gateway(bg, &bg->gw[i]);
		if (rc != LB_OK)
			return rc;
	}
	return LB_OK;
}

static int64_t due_ms(void *arg)
{
	struct budget *bg = arg;
	int64_t due = -1;

	if (dirtyset_count(&bg->dirty))
		due = bg->dirty.since_ms + BUDGET_LEDGER_DELAY_MS;
	if (bg->n_gw_dirty) {
		int64_t g = bg->gw_dirty_since_ms + bg->c.commit_ms;
		due = due < 0 || g < due ? g : due;
	}
	return due;
}

void budget_touch(struct budget *bg, struct lb_device *dev)
{
	uint32_t idx = (uint32_t)(dev - bg->c.devices->dev);

	if (dirtyset_add(&bg->dirty, idx, loop_now_ms()) != LB_OK)
		(void)stage_device(bg, dev); /* no room to list it: now (a failure is logged) */
}

static void gateway_touch(struct budget *bg, struct budget_gateway *g)
{
	if (g->dirty)
		return;
	if (bg->n_gw_dirty++ == 0)
		bg->gw_dirty_since_ms = loop_now_ms();
	g->dirty = true;
}

int budget_init(struct budget *bg, const struct budget_ctx *ctx)
{
	memset(bg, 0, sizeof(*bg));
	bg->c = *ctx;
	return durable_add(bg->c.durable, stage_all, due_ms, bg);
}

void budget_free(struct budget *bg)
{
	dirtyset_free(&bg->dirty);
	free(bg->gw);
	bg->gw = NULL;
	bg->n_gw = bg->cap_gw = 0;
}

void budget_forget(struct budget *bg)
{
	dirtyset_clear(&bg->dirty);
}

/* A stored blob of either version (fairaccess.h) fits. */
#define STORED_MAX (FA_ENCODED_MAX > FA_PACKED_MAX ? FA_ENCODED_MAX : FA_PACKED_MAX)

int budget_restore_device(struct budget *bg, struct lb_device *dev)
{
	uint8_t blob[STORED_MAX];
	size_t len = 0;

	int rc = store_ledger_get(bg->c.store, dev->dev_eui, STORE_LEDGER_FAIR_ACCESS, blob,
				  sizeof(blob), &len);
	/* A read that failed (the disk, memory) leaves it unread: the next use
	 * reads again, and nothing is written over the stored ledger meanwhile
	 * (packed_of()); decisions meanwhile count from the empty device. */
	dev->rt.fa_unread = rc != LB_OK && rc != LB_ERR_NOT_FOUND && rc != LB_ERR_TOO_LARGE;
	if (rc == LB_ERR_NOT_FOUND)
		return LB_OK;
	struct fa_device fa;
	if (rc == LB_OK && fa_decode(&fa, blob, len) == LB_OK) {
		/* An idle ledger (nothing left in the window) is the empty device:
		 * not kept in memory. */
		if (fa_device_idle(&fa, wall_ms())) {
			devices_fa_drop(bg->c.devices, dev);
			return LB_OK;
		}
		rc = fa_save(bg, dev, &fa);
		if (rc != LB_OK) {
			log_error("budget", "device %s: stored fair-access ledger not kept: %s",
				  dev->name, lb_strerror(rc));
			return rc;
		}
		return LB_OK;
	}
	if (rc != LB_OK && rc != LB_ERR_TOO_LARGE) {
		LB_LOG_RL(LOG_LVL_ERROR, "budget", "device %s: stored fair-access ledger not read "
			  "(read again at its next use, not written over meanwhile): %s", dev->name,
			  lb_strerror(rc));
		return rc;
	}
	log_warn("budget", "device %s: stored fair-access ledger unreadable, starting afresh",
		 dev->name);
	devices_fa_drop(bg->c.devices, dev);
	return LB_OK;
}

/* ------------------------------------------------------- uplinks */

/* `log` events at 80 % and 100 % of either budget, once per crossing. */
static void report_crossings(struct budget *bg, struct lb_device *dev, unsigned crossed)
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
			 c[i].text, dev->prof->fa_policy.uplink_airtime_ms,
			 dev->prof->fa_policy.downlinks, dev->prof->fa_policy.window_hours,
			 dev->prof->fa_policy.action == FA_ENFORCE ? "enforced" : "warn only");
		devevent_log(bg->c.ev, dev, c[i].level, "FAIR_ACCESS", desc, 0);
	}
}

/* Regions with a dwell-time limit (US915: 400 ms on 125 kHz uplink
 * channels, RP002-1.0.4 "US902-928"; AS923 and AU915 with UplinkDwellTime =
 * 1, AU915 for devices of LoRaWAN 1.0.3 and later only, §2.10.3, §2.8.2): a
 * longer frame breaks the rules, say so. */
static void check_dwell(struct budget *bg, struct lb_device *dev, const struct gwmp_rxpk *pk,
			uint64_t us, uint64_t gateway_eui)
{
	uint32_t dwell = region_device_up_dwell_ms(bg->c.region, pk->bw_khz, dev->lorawan_version);
	char desc[160];

	if (pk->modu != GWMP_MOD_LORA || dwell == 0 || us <= (uint64_t)dwell * 1000)
		return;
	snprintf(desc, sizeof(desc), "uplink of %.3f ms exceeds the region's %u ms dwell time",
		 (double)us / 1000.0, dwell);
	devevent_log(bg->c.ev, dev, "WARNING", "DWELL_TIME", desc, gateway_eui);
}

bool budget_uplink(struct budget *bg, struct lb_device *dev, const struct lb_rx *rx,
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
	check_dwell(bg, dev, pk, us, rx->gateway_eui);
	int64_t now = wall_ms();
	struct fa_device led;
	fa_fetch(bg, dev);
	/* The status at the time of the uplink comes with it. */
	int rc = fa_uplink_packed(bg, dev, now, us, &v, &st);
	if (rc == LB_ERR_NOT_FOUND) {
		fa_load(bg, dev, &led);
		rc = fa_uplink_status(&led, &dev->prof->fa_policy, now, us, &v, &st);
		if (rc == LB_OK)
			rc = fa_save(bg, dev, &led);
	}
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "budget", "device %s: uplink not counted in its fair-access "
			  "ledger (%s)", dev->name,
			  rc == LB_ERR_NOMEM ? "out of memory" : "invalid policy");
		v = (struct fa_verdict){.publish = true};
		fa_load(bg, dev, &led);   /* what is kept */
		/* re-arms nothing fa_uplink() would not, so nothing to keep */
		rc = fa_status(&led, &dev->prof->fa_policy, now, &st);
	}
	report_crossings(bg, dev, v.crossed);
	budget_touch(bg, dev);
	if (rc == LB_OK) {
		to_event(&st, fa);
		publish_state(bg, dev, &st);
	}
	if (!v.publish) {
		bg->c.stats->frame_drops[DROP_FAIR_ACCESS]++;
		devevent_log(bg->c.ev, dev, "INFO", "FAIR_ACCESS",
			     "uplink decoded and counted but not published: the device's airtime "
			     "budget is used up (fair_access.action = enforce)",
			     rx->gateway_eui);
	}
	return v.publish;
}

/* budget_downlink_allowed() for a device with downlinks awaiting their
 * TX_ACK: asked of a copy of its ledgers with those counted, so that two
 * frames in flight (a class C item, then a class-A ACK) cannot both take
 * its last downlink; the copy is not kept (nothing was sent yet). */
static int allowed_with_held(struct budget *bg, struct lb_device *dev, size_t in_flight,
			     int64_t now)
{
	struct fa_device led;

	fa_load(bg, dev, &led);
	for (size_t i = 0; i < in_flight; i++)
		if (fa_downlink(&led, &dev->prof->fa_policy, now, NULL) != LB_OK)
			break;
	return fa_downlink_allowed(&led, &dev->prof->fa_policy, now);
}

int budget_downlink_allowed(struct budget *bg, struct lb_device *dev, size_t in_flight)
{
	struct fa_device led, before;
	int64_t now = wall_ms();
	uint8_t flags;

	if (in_flight > 0)
		return allowed_with_held(bg, dev, in_flight, now);
	/* On the packed ledgers as they are: only a re-armed level changes. */
	fa_fetch(bg, dev);
	struct fa_packed *pk = dev->rt.fa;
	int rc = fa_packed_downlink_allowed(pk ? pk->blob : NULL, pk ? pk->len : 0,
					    &dev->prof->fa_policy, now, &flags);
	if (rc == LB_OK || rc == LB_ERR_RATE_LIMIT) {
		if (pk)
			pk->blob[FA_PACKED_OFF_FLAGS] = flags;
		return rc;
	}
	fa_load(bg, dev, &led);
	before = led;
	rc = fa_downlink_allowed(&led, &dev->prof->fa_policy, now);
	fa_keep(bg, dev, &before, &led);
	return rc;
}

/* ------------------------------------------------------ gateways */

static void gateway_load(struct budget *bg, struct budget_gateway *g)
{
	uint8_t blob[DC_ENCODED_MAX];
	size_t len = 0;

	dc_init(&g->dc);
	int rc = store_ledger_get(bg->c.store, g->eui, STORE_LEDGER_DUTY_CYCLE, blob, sizeof(blob),
				  &len);
	if (rc == LB_ERR_NOT_FOUND)
		return;
	if (rc == LB_OK && dc_decode(&g->dc, bg->c.region, blob, len) == LB_OK)
		return;
	log_warn("budget", "gateway %016llx: stored duty-cycle ledger %s (%s), starting afresh",
		 (unsigned long long)g->eui, rc == LB_OK ? "unreadable" : "not read",
		 lb_strerror(rc == LB_OK ? LB_ERR_MALFORMED : rc));
	dc_init(&g->dc);
}

static bool holding(const struct budget_gateway *g)
{
	for (size_t i = 0; i < DC_MAX_SUBBANDS; i++)
		if (g->held_us[i])
			return true;
	return false;
}

/* The slot to (re)use when the table is full: the least recently used
 * gateway that holds no airtime (its holds would be forgotten), saved
 * first if it has unsaved changes. */
static struct budget_gateway *evict(struct budget *bg)
{
	struct budget_gateway *lru = NULL;

	for (size_t i = 0; i < bg->n_gw; i++)
		if (!holding(&bg->gw[i]) && (!lru || bg->gw[i].last_used_ms < lru->last_used_ms))
			lru = &bg->gw[i];
	if (!lru || (lru->dirty && stage_gateway(bg, lru) != LB_OK))
		return NULL;
	return lru;
}

static struct budget_gateway *new_slot(struct budget *bg)
{
	if (bg->n_gw < bg->cap_gw)
		return &bg->gw[bg->n_gw++];
	if (bg->cap_gw < BUDGET_MAX_GATEWAYS) {
		size_t cap = bg->cap_gw ? 2 * bg->cap_gw : 8;
		struct budget_gateway *gw = realloc(bg->gw, cap * sizeof(*gw));
		if (gw) {
			bg->gw = gw;
			bg->cap_gw = cap;
			return &bg->gw[bg->n_gw++];
		}
	}
	return bg->n_gw ? evict(bg) : NULL;
}

/* The gateway's ledger if it is in memory, else NULL. */
static struct budget_gateway *loaded(struct budget *bg, uint64_t eui)
{
	for (size_t i = 0; i < bg->n_gw; i++)
		if (bg->gw[i].eui == eui)
			return &bg->gw[i];
	return NULL;
}

/* The gateway's ledger, loaded from the store the first time. NULL when
 * no slot can be had (logged): the duty cycle is then not enforced for it. */
static struct budget_gateway *gateway(struct budget *bg, uint64_t eui)
{
	for (size_t i = 0; i < bg->n_gw; i++) {
		if (bg->gw[i].eui == eui) {
			bg->gw[i].last_used_ms = loop_now_ms();
			return &bg->gw[i];
		}
	}
	struct budget_gateway *g = new_slot(bg);
	if (!g) {
		LB_LOG_RL(LOG_LVL_ERROR, "budget", "gateway %016llx: no room for its duty-cycle "
			  "ledger: not enforced", (unsigned long long)eui);
		return NULL;
	}
	memset(g, 0, sizeof(*g));
	g->eui = eui;
	g->last_used_ms = loop_now_ms();
	gateway_load(bg, g);
	return g;
}

static uint64_t tx_airtime_us(const struct gwmp_txpk *t)
{
	uint64_t us = 0;
	if (airtime_frame_us((enum airtime_modulation)t->modu, t->sf, t->bw_khz, t->cr, t->bitrate,
			     t->size, false, &us) != LB_OK)
		LB_LOG_RL(LOG_LVL_WARN, "budget", "no airtime formula for downlink modulation %d: "
			  "counted as 0 in the duty cycle", (int)t->modu);
	return us;
}

/* The airtime held on the sub-band of freq_hz (0 outside every sub-band). */
static uint64_t held(const struct budget *bg, const struct budget_gateway *g, uint32_t freq_hz)
{
	const struct region_subband *sb;
	int i = region_subband(bg->c.region, freq_hz, &sb);

	return i >= 0 && i < DC_MAX_SUBBANDS ? g->held_us[i] : 0;
}

/* Add (or take back, saturating) the airtime of attempt a on its sub-band's
 * hold. A frequency in no sub-band has no limit to hold against. */
static void adjust_hold(struct budget *bg, struct budget_gateway *g,
			const struct downlink_attempt *a, bool add)
{
	const struct region_subband *sb;
	int i = region_subband(bg->c.region, a->txpk.freq_hz, &sb);

	if (i < 0 || i >= DC_MAX_SUBBANDS)
		return;
	uint64_t us = tx_airtime_us(&a->txpk);
	if (add)
		g->held_us[i] += us;
	else
		g->held_us[i] -= us < g->held_us[i] ? us : g->held_us[i];
}

void budget_hold(struct budget *bg, uint64_t gateway_eui, const struct downlink_attempt *a)
{
	struct budget_gateway *g = gateway(bg, gateway_eui);

	if (g)   /* no slot: not enforced for it, logged by gateway() */
		adjust_hold(bg, g, a, true);
}

void budget_release(struct budget *bg, uint64_t gateway_eui, const struct downlink_attempt *a)
{
	struct budget_gateway *g = loaded(bg, gateway_eui);   /* a hold keeps it loaded */

	if (g)
		adjust_hold(bg, g, a, false);
}

/* Charge the gateway's ledger with attempt a, its hold given back. */
static void charge_gateway(struct budget *bg, uint64_t gateway_eui,
			   const struct downlink_attempt *a, int64_t now)
{
	struct budget_gateway *g = gateway(bg, gateway_eui);
	if (!g)
		return;
	adjust_hold(bg, g, a, false);
	int rc = dc_record(&g->dc, bg->c.region, a->txpk.freq_hz, tx_airtime_us(&a->txpk), now);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "budget", "gateway %016llx: transmission at %u Hz not in its "
			  "duty-cycle ledger: %s", (unsigned long long)gateway_eui, a->txpk.freq_hz,
			  lb_strerror(rc));
		return;
	}
	gateway_touch(bg, g);
}

void budget_charge_gateway(struct budget *bg, uint64_t gateway_eui,
			   const struct downlink_attempt *a)
{
	charge_gateway(bg, gateway_eui, a, wall_ms());
}

void budget_downlink_sent(struct budget *bg, struct lb_device *dev, uint64_t gateway_eui,
			  const struct downlink_attempt *a)
{
	struct fa_verdict v = {0};
	struct fa_status st;
	int64_t now = wall_ms();
	struct fa_device led;

	fa_load(bg, dev, &led);
	if (fa_downlink(&led, &dev->prof->fa_policy, now, &v) == LB_OK) {
		if (fa_save(bg, dev, &led) != LB_OK) {
			LB_LOG_RL(LOG_LVL_WARN, "budget", "device %s: downlink not counted in its "
				  "fair-access ledger (out of memory)", dev->name);
		} else {
			report_crossings(bg, dev, v.crossed);
			budget_touch(bg, dev);
			if (fa_status(&led, &dev->prof->fa_policy, now, &st) == LB_OK)
				publish_state(bg, dev, &st);
		}
	}
	charge_gateway(bg, gateway_eui, a, now);
}

/* The plan's attempts as the duty cycle checks them: each one's airtime,
 * plus the airtime held on its sub-band when with_held. */
static void to_attempts(const struct budget *bg, const struct budget_gateway *g,
			const struct downlink_plan *plan, bool with_held, struct dc_attempt *at)
{
	for (size_t i = 0; i < plan->n_attempts; i++) {
		at[i].freq_hz = plan->attempt[i].txpk.freq_hz;
		at[i].airtime_us = tx_airtime_us(&plan->attempt[i].txpk);
		if (with_held)
			at[i].airtime_us += held(bg, g, at[i].freq_hz);
	}
}

int64_t budget_next_room(struct budget *bg, uint64_t gateway_eui,
			 const struct downlink_plan *plan)
{
	struct dc_attempt at[DOWNLINK_MAX_ATTEMPTS];
	struct budget_gateway *g = gateway(bg, gateway_eui);

	if (!g || plan->n_attempts == 0)
		return -1;
	to_attempts(bg, g, plan, true, at);
	int64_t t = dc_next_room(&g->dc, bg->c.region, at, plan->n_attempts, wall_ms());
	return t < 0 ? -1 : t;
}

int budget_choose_window(struct budget *bg, uint64_t gateway_eui,
			 const struct downlink_plan *plan)
{
	struct dc_attempt at[DOWNLINK_MAX_ATTEMPTS];
	struct budget_gateway *g = gateway(bg, gateway_eui);

	if (!g)
		return 0;
	to_attempts(bg, g, plan, true, at);
	int rc = dc_choose(&g->dc, bg->c.region, at, plan->n_attempts, wall_ms());
	/* A frequency outside every sub-band (no limit known): first window. */
	return rc == LB_ERR_NOT_FOUND ? 0 : rc;
}

bool budget_refused_by_holds(struct budget *bg, uint64_t gateway_eui,
			     const struct downlink_plan *plan)
{
	struct dc_attempt at[DOWNLINK_MAX_ATTEMPTS];
	struct budget_gateway *g = loaded(bg, gateway_eui);

	if (!g || plan->n_attempts == 0)
		return false;
	to_attempts(bg, g, plan, false, at);
	return dc_choose(&g->dc, bg->c.region, at, plan->n_attempts, wall_ms()) >= 0;
}

bool budget_window_ok(struct budget *bg, uint64_t gateway_eui, const struct downlink_attempt *a)
{
	struct budget_gateway *g = gateway(bg, gateway_eui);

	if (!g)
		return true;
	uint64_t us = tx_airtime_us(&a->txpk) + held(bg, g, a->txpk.freq_hz);
	return dc_check(&g->dc, bg->c.region, a->txpk.freq_hz, us, wall_ms()) != LB_ERR_FULL;
}

struct report_ctx {
	struct ev_duty_cycle *out;
	char (*names)[DC_NAME_LEN];
	size_t n, max;
};

static void report_one(void *arg, const struct dc_usage *u)
{
	struct report_ctx *c = arg;
	if (c->n >= c->max)
		return;
	snprintf(c->names[c->n], DC_NAME_LEN, "%s", u->name);
	c->out[c->n].name = c->names[c->n];
	c->out[c->n].used_pct = u->used_pct;
	c->out[c->n].limit_pct = u->limit_pct;
	c->n++;
}

size_t budget_gateway_report(struct budget *bg, uint64_t gateway_eui, bool may_load,
			     struct ev_duty_cycle *out, char names[][DC_NAME_LEN], size_t max)
{
	struct report_ctx c = {.out = out, .names = names, .max = max};
	struct budget_gateway *g = may_load ? gateway(bg, gateway_eui) : loaded(bg, gateway_eui);

	if (!g)
		return 0;
	int rc = dc_report(&g->dc, bg->c.region, wall_ms(), report_one, &c);
	if (rc != LB_OK)
		LB_LOG_RL(LOG_LVL_WARN, "budget", "gateway %016llx: duty cycle not reported: %s",
			  (unsigned long long)gateway_eui, lb_strerror(rc));
	return c.n;
}

int64_t budget_tick(struct budget *bg, int64_t now_ms)
{
	struct fa_status st;

	if (now_ms < bg->next_scan_ms)
		return bg->next_scan_ms;
	bg->next_scan_ms = now_ms + BUDGET_SCAN_MS;
	int64_t now = wall_ms();
	for (size_t i = 0; i < bg->c.devices->n; i++) {
		struct lb_device *dev = &bg->c.devices->dev[i];
		struct fa_device led, before;
		if (!dev->rt.fa_has_published)
			continue;
		fa_load(bg, dev, &led);
		before = led;
		if (fa_status(&led, &dev->prof->fa_policy, now, &st) == LB_OK) {
			fa_keep(bg, dev, &before, &led);
			publish_state(bg, dev, &st);
		}
	}
	return bg->next_scan_ms;
}
