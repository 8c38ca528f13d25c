/* SPDX-License-Identifier: MIT */
/* sim_dlcheck.c - downlinks as the simulated devices receive them, see sim_dlcheck.h. */
#include "sim_dlcheck.h"

#include <inttypes.h>
#include <stdarg.h>
#include <sys/time.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "sim_downlink.h"
#include "sim_otaa.h"

#define MOD "sim"
#define NO_POS UINT32_MAX
#define MAX_KEY_TRIES 4096          /* join-accept opened with other timings: diagnostics only */
#define HEX_PHY_LEN (2 * LW_MAX_PHY + 1)

/* One PULL_RESP being judged. */
struct dl_ctx {
	struct sim_dlcheck *c;
	struct sim_gateway *gw;
	const struct gwmp_txpk *tx;
	char why[SIM_DL_WHY_LEN];
};

/* --- DevAddr index ------------------------------------------------------- */

static size_t addr_hash(uint32_t a, size_t cap)
{
	return (size_t)((a * 0x9e3779b1U) & (uint32_t)(cap - 1));
}

/* Insert idx under addr (a device may appear under old addresses too: a
 * lookup re-checks the device's current DevAddr). */
static void addr_put(struct sim_dlcheck *c, uint32_t addr, size_t idx)
{
	size_t i = addr_hash(addr, c->addr_cap);

	while (c->addr_slot[i]) {
		if (c->addr_key[i] == addr && c->addr_slot[i] == idx + 1)
			return;
		i = (i + 1) & (c->addr_cap - 1);
	}
	c->addr_key[i] = addr;
	c->addr_slot[i] = (uint32_t)idx + 1;
	c->addr_used++;
}

/* Rebuild from the devices' current addresses once stale entries pile up. */
static void addr_rebuild(struct sim_dlcheck *c)
{
	memset(c->addr_slot, 0, c->addr_cap * sizeof(*c->addr_slot));
	c->addr_used = 0;
	for (size_t i = 0; i < c->devs->n; i++)
		if (c->devs->dev[i].state == SIM_DEV_ACTIVE)
			addr_put(c, c->devs->dev[i].dev_addr, i);
}

static void addr_add(struct sim_dlcheck *c, uint32_t addr, size_t idx)
{
	if (2 * (c->addr_used + 1) > c->addr_cap)
		addr_rebuild(c);
	addr_put(c, addr, idx);
}

/* --- set-up --------------------------------------------------------------- */

/* How many earlier uplinks of each device to keep: those of the last
 * SIM_DLCHECK_HORIZON_S at --rate (see sim_dlcheck.h), within the caps. */
static size_t earlier_depth(double rate, size_t n_devs)
{
	double per_dev = SIM_DLCHECK_HORIZON_S * rate / (double)n_devs;
	size_t depth = per_dev >= SIM_DLCHECK_EARLIER_MAX ? SIM_DLCHECK_EARLIER_MAX :
		       (size_t)per_dev + 1;
	size_t fits = SIM_DLCHECK_EARLIER_TOTAL / n_devs;

	if (depth > fits)
		depth = fits;
	return depth ? depth : 1;
}

static size_t pow2_above(size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n + 2)
		cap *= 2;
	return cap;
}

int sim_dlcheck_init(struct sim_dlcheck *c, const struct sim_opts *o, struct sim_devices *devs,
		     struct sim_gateway *gws, unsigned n_gws, struct sim_stats *st,
		     FILE *expect_down, FILE *print, uint64_t rng_seed)
{
	memset(c, 0, sizeof(*c));
	c->o = o;
	c->devs = devs;
	c->gws = gws;
	c->n_gws = n_gws;
	c->st = st;
	c->expect_down = expect_down;
	c->print = print;
	c->rng = rng_seed;
	c->join_timeout_us = (int64_t)o->join_timeout_ms * 1000;
	c->region = &o->region;
	c->mac = (struct sim_mac_conf){.region = &o->region, .adr = o->adr,
				       .ignore_adr = o->ignore_adr, .battery = o->battery};
	int rc = join_version_parse(o->lorawan_version, &c->version);
	if (rc != LB_OK)
		return rc;
	c->mac.keep_rfu = c->version < JOIN_V1_0_4;
	c->mac.rp = (uint8_t)region_rp_default((unsigned)c->version);
	c->addr_cap = pow2_above(devs->n);
	c->wait_cap = devs->n;
	c->addr_slot = calloc(c->addr_cap, sizeof(*c->addr_slot));
	c->addr_key = calloc(c->addr_cap, sizeof(*c->addr_key));
	c->pending = calloc(devs->n, sizeof(*c->pending));
	c->pending_pos = malloc(devs->n * sizeof(*c->pending_pos));
	c->waits = calloc(c->wait_cap, sizeof(*c->waits));
	c->earlier_depth = earlier_depth(o->rate, devs->n);
	c->earlier = calloc(devs->n * c->earlier_depth, sizeof(*c->earlier));
	c->earlier_head = calloc(devs->n, sizeof(*c->earlier_head));
	if (!c->addr_slot || !c->addr_key || !c->pending || !c->pending_pos || !c->waits ||
	    !c->earlier || !c->earlier_head) {
		sim_dlcheck_free(c);
		return LB_ERR_NOMEM;
	}
	memset(c->pending_pos, 0xff, devs->n * sizeof(*c->pending_pos));
	addr_rebuild(c);
	return LB_OK;
}

void sim_dlcheck_free(struct sim_dlcheck *c)
{
	free(c->addr_slot);
	free(c->addr_key);
	free(c->pending);
	free(c->pending_pos);
	free(c->waits);
	free(c->earlier);
	free(c->earlier_head);
	c->addr_slot = c->addr_key = c->pending = c->pending_pos = NULL;
	c->waits = NULL;
	c->earlier = NULL;
	c->earlier_head = NULL;
}

/* --- pending joins and their timeouts ------------------------------------ */

static void pending_add(struct sim_dlcheck *c, size_t idx)
{
	if (c->pending_pos[idx] != NO_POS)
		return;
	c->pending_pos[idx] = (uint32_t)c->n_pending;
	c->pending[c->n_pending++] = (uint32_t)idx;
}

static void pending_remove(struct sim_dlcheck *c, size_t idx)
{
	uint32_t pos = c->pending_pos[idx];

	if (pos == NO_POS)
		return;
	uint32_t last = c->pending[--c->n_pending];
	c->pending[pos] = last;
	c->pending_pos[last] = pos;
	c->pending_pos[idx] = NO_POS;
}

static void wait_push(struct sim_dlcheck *c, size_t idx, const struct sim_last_tx *tx)
{
	if (c->n_waits == c->wait_cap) {   /* cannot happen: one live wait per device */
		c->wait_head = (c->wait_head + 1) % c->wait_cap;
		c->n_waits--;
	}
	struct sim_join_wait *w = &c->waits[(c->wait_head + c->n_waits) % c->wait_cap];
	w->dev_idx = (uint32_t)idx;
	w->n_joins = c->devs->dev[idx].n_joins;
	w->deadline_us = tx->mono_us + c->join_timeout_us;
	c->n_waits++;
}

void sim_dlcheck_tick(struct sim_dlcheck *c, int64_t now_us, int64_t *next_us)
{
	while (c->n_waits) {
		struct sim_join_wait *w = &c->waits[c->wait_head];
		if (w->deadline_us > now_us) {
			if (*next_us < 0 || w->deadline_us < *next_us)
				*next_us = w->deadline_us;
			return;
		}
		struct sim_device *d = &c->devs->dev[w->dev_idx];
		if (d->state == SIM_DEV_JOINING && d->n_joins == w->n_joins)
			d->join_timed_out = true;
		c->wait_head = (c->wait_head + 1) % c->wait_cap;
		c->n_waits--;
	}
}

/* A transmission leaves the history: a confirmed uplink without ACK is missing one. */
static void settle(struct sim_dlcheck *c, struct sim_last_tx *t)
{
	if (t->valid && t->confirmed && !t->acked)
		c->st->acks_missing++;
	t->valid = false;
}

void sim_dlcheck_on_tx(struct sim_dlcheck *c, size_t idx, const struct sim_last_tx *tx)
{
	struct sim_device *d = &c->devs->dev[idx];

	if (d->last.valid) {
		struct sim_last_tx *slot = &c->earlier[idx * c->earlier_depth + c->earlier_head[idx]];
		settle(c, slot);
		*slot = d->last;
		c->earlier_head[idx] = (uint8_t)((c->earlier_head[idx] + 1) % c->earlier_depth);
	}
	d->last = *tx;
	if (!tx->join)
		return;
	pending_add(c, idx);
	wait_push(c, idx, tx);
}

void sim_dlcheck_finish(struct sim_dlcheck *c)
{
	for (size_t i = 0; i < c->devs->n; i++) {
		settle(c, &c->devs->dev[i].last);
		for (size_t j = 0; j < c->earlier_depth; j++)
			settle(c, &c->earlier[i * c->earlier_depth + j]);
	}
}

/* --- reporting ------------------------------------------------------------ */

__attribute__((format(printf, 2, 3)))
static void bad(struct dl_ctx *x, const char *fmt, ...)
{
	char msg[2 * SIM_DL_WHY_LEN], eui[17];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hex_format_eui(x->gw->c.eui, eui);
	x->c->st->downlinks_bad++;
	if (x->c->print)
		fprintf(x->c->print, "downlink bad gw=%s tmst=%" PRIu32 ": %s\n", eui, x->tx->tmst, msg);
	else
		log_warn(MOD, "bad downlink via gateway %s (tmst %" PRIu32 "): %s", eui, x->tx->tmst,
			 msg);
}

static void count_ok(struct sim_dlcheck *c, enum sim_dl_window w)
{
	c->st->downlinks_ok++;
	if (w == SIM_DL_RX1)
		c->st->downlinks_rx1++;
	else if (w == SIM_DL_RXC)
		c->st->downlinks_rxc++;
	else
		c->st->downlinks_rx2++;
}

/* Wall clock in µs: when a class C device got its downlink, for a test
 * to compare with when the command was published. */
static int64_t wall_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void print_raw(struct dl_ctx *x, const uint8_t token[2])
{
	char eui[17], data[2 * GWMP_MAX_PHY + 1];
	const struct gwmp_txpk *tx = x->tx;

	hex_format_eui(x->gw->c.eui, eui);
	hex_encode(tx->data, tx->size, data, sizeof(data));
	fprintf(x->c->print,
		"down gw=%s token=%02x%02x imme=%d tmst=%" PRIu32 " freq=%.4f datr=SF%uBW%u "
		"powe=%d ipol=%d size=%u data=%s\n",
		eui, token[0], token[1], tx->imme, tx->tmst, tx->freq_hz / 1e6, tx->sf, tx->bw_khz,
		tx->powe, tx->ipol, tx->size, data);
}

/* --- common checks -------------------------------------------------------- */

static bool heard_by(const struct sim_last_tx *t, const struct sim_gateway *gw)
{
	return t->all_gws || t->gw0 == gw->c.idx;
}

/* Does the PULL_RESP fit transmission t of d, as gw heard it (window
 * timing and radio)? LB_ERR_STATE: gw did not hear t; else as
 * sim_dl_check_radio(), the reason in x->why. */
static int fit_window(struct dl_ctx *x, const struct sim_device *d, const struct sim_last_tx *t,
		      enum sim_dl_window *win)
{
	if (!heard_by(t, x->gw))
		return LB_ERR_STATE;
	struct sim_dl_uplink up = {
		.tmst = sim_gateway_tmst(x->gw, t->mono_us),
		.freq_hz = t->freq_hz,
		.sf = t->sf,
		.bw_khz = t->bw_khz,
		.grid = t->grid,
		.ch = t->ch,
		.join = t->join,
		/* The bridge's default for a device of this lorawan_version (the
		 * emitted configuration names no regional_parameters). */
		.rp = (uint8_t)region_rp_default((unsigned)x->c->version),
	};
	return sim_dl_check_radio(x->c->region, &up, &d->rx, x->tx, win, x->why, sizeof(x->why));
}

/* Transmission t of d (its latest, or an overtaken earlier one) as gw
 * heard it, the radio check, and one downlink per transmission. */
static int check_window(struct dl_ctx *x, const struct sim_device *d, const struct sim_last_tx *t,
			enum sim_dl_window *win)
{
	int rc = fit_window(x, d, t, win);
	if (rc == LB_ERR_STATE) {
		bad(x, "%s: gateway %u did not hear its latest %s", d->name, x->gw->c.idx,
		    t->join ? "join-request" : "uplink");
		return rc;
	}
	if (rc != LB_OK) {
		bad(x, "%s: %s", d->name, x->why);
		return rc;
	}
	if (t->answered) {
		bad(x, "%s: second downlink (%s) for one %s", d->name, sim_dl_window_name(*win),
		    t->join ? "join-request" : "uplink");
		return LB_ERR_DUPLICATE;
	}
	return LB_OK;
}

/* The earlier data uplink of device idx's session (newest first) that the
 * PULL_RESP fits, if the latest does not: one the device's next uplink
 * overtook (see sim_dlcheck.h). NULL if none. */
static struct sim_last_tx *overtaken_uplink(struct dl_ctx *x, size_t idx)
{
	struct sim_dlcheck *c = x->c;
	const struct sim_device *d = &c->devs->dev[idx];
	enum sim_dl_window win;

	if (fit_window(x, d, &d->last, &win) == LB_OK)
		return NULL;
	for (size_t i = 1; i <= c->earlier_depth; i++) {
		size_t slot = (c->earlier_head[idx] + c->earlier_depth - i) % c->earlier_depth;
		struct sim_last_tx *t = &c->earlier[idx * c->earlier_depth + slot];
		if (!t->valid || t->join)
			return NULL;    /* nothing older, or an older session */
		if (fit_window(x, d, t, &win) == LB_OK)
			return t;
	}
	return NULL;
}

/* --- join-accept ------------------------------------------------------------ */

static bool accept_timing_fits(struct dl_ctx *x, const struct sim_device *d)
{
	uint32_t tmst = sim_gateway_tmst(x->gw, d->last.mono_us);
	uint32_t delta = x->tx->tmst - tmst;

	return delta == JOIN_ACCEPT_DELAY1_S * SIM_DL_US_PER_S ||
	       delta == JOIN_ACCEPT_DELAY2_S * SIM_DL_US_PER_S;
}

/* A pending device whose AppKey opens the accept; by timing first. */
static long find_joiner(struct dl_ctx *x, struct join_accept_params *a)
{
	struct sim_dlcheck *c = x->c;
	size_t tries = 0;

	for (int by_timing = 1; by_timing >= 0; by_timing--) {
		for (size_t i = 0; i < c->n_pending; i++) {
			struct sim_device *d = &c->devs->dev[c->pending[i]];
			if (!heard_by(&d->last, x->gw) || accept_timing_fits(x, d) != by_timing)
				continue;
			if (!by_timing && tries++ >= MAX_KEY_TRIES)
				return -1;
			if (join_accept_open(x->tx->data, x->tx->size, &d->app_key_k, a) == LB_OK)
				return (long)c->pending[i];
		}
	}
	return -1;
}

static bool devaddr_taken(struct sim_dlcheck *c, uint32_t addr, size_t self, size_t *other)
{
	for (size_t i = addr_hash(addr, c->addr_cap); c->addr_slot[i]; i = (i + 1) & (c->addr_cap - 1)) {
		size_t idx = c->addr_slot[i] - 1;
		const struct sim_device *d = &c->devs->dev[idx];
		if (c->addr_key[i] == addr && idx != self && d->state == SIM_DEV_ACTIVE &&
		    d->dev_addr == addr) {
			*other = idx;
			return true;
		}
	}
	return false;
}

/* The device's channel mask as printed: ChMask0 (EU868-like regions), or
 * ChMask0..ChMask4 comma-separated (US915/AU915: channels 0..71). */
#define CH_MASK_TEXT (SIM_MAC_MASK_WORDS * 5)
static void ch_mask_text(const struct region *r, const struct sim_device *d,
			 char out[CH_MASK_TEXT])
{
	size_t words = r->n_default_channels ? 1 : SIM_MAC_MASK_WORDS;
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < words; i++)
		len += (size_t)snprintf(out + len, CH_MASK_TEXT - len, "%s%04x", i ? "," : "",
					d->mac.ch_mask[i]);
}

static void on_join_accept(struct dl_ctx *x)
{
	struct sim_dlcheck *c = x->c;
	struct join_accept_params a;
	enum sim_dl_window win;
	size_t other;

	long found = find_joiner(x, &a);
	if (found < 0) {
		bad(x, "join-accept that no pending device's AppKey opens");
		return;
	}
	struct sim_device *d = &c->devs->dev[found];
	if (d->accept_lost) {
		/* --rejoin-lost: the device never got it (radio loss): it goes on
		 * with its session; the bridge must keep that one working. */
		d->accept_lost = false;
		pending_remove(c, (size_t)found);
		c->st->joins_lost++;
		if (c->print) {
			char eui[17];
			hex_format_eui(d->dev_eui, eui);
			fprintf(c->print, "join lost dev_eui=%s dev_addr=%08" PRIx32 " (kept %08" PRIx32
				")\n", eui, a.dev_addr, d->dev_addr);
		}
		return;
	}
	if (check_window(x, d, &d->last, &win) != LB_OK)
		return;
	if (sim_otaa_check_accept(c->region, d, c->version, &a, x->why, sizeof(x->why)) != LB_OK) {
		bad(x, "%s: join-accept: %s", d->name, x->why);
		return;
	}
	if (devaddr_taken(c, a.dev_addr, (size_t)found, &other)) {
		bad(x, "%s: join-accept DevAddr %08" PRIx32 " already belongs to %s", d->name,
		    a.dev_addr, c->devs->dev[other].name);
		return;
	}
	int rc = sim_otaa_apply_accept(d, &a, d->last.dev_nonce);
	if (rc != LB_OK) {
		bad(x, "%s: session keys: %s", d->name, lb_strerror(rc));
		return;
	}
	d->last.answered = true;
	/* A new session: default channels (US915/AU915: the CFList's mask, if
	 * any), DR of the join, full power (§6.2.6). */
	(void)sim_mac_reset(&d->mac, c->region, sim_mac_sf(&d->mac, c->region));
	if (a.has_cflist)   /* checked above: a valid one */
		(void)sim_mac_apply_cflist(&d->mac, c->region, a.cflist);
	pending_remove(c, (size_t)found);
	addr_add(c, d->dev_addr, (size_t)found);
	c->st->joins_ok++;
	c->st->joins_cflist += a.has_cflist;
	count_ok(c, win);
	if (c->print) {
		char eui[17], gw[17], mask[CH_MASK_TEXT];
		hex_format_eui(d->dev_eui, eui);
		hex_format_eui(x->gw->c.eui, gw);
		ch_mask_text(c->region, d, mask);
		fprintf(c->print,
			"join ok gw=%s dev_eui=%s dev_addr=%08" PRIx32 " net_id=%06" PRIx32
			" join_nonce=%" PRIu32 " dev_nonce=%u rx1_delay=%u rx1_dr_offset=%u rx2_dr=%u"
			" window=%s cflist=%s ch_mask=%s\n",
			gw, eui, d->dev_addr, a.net_id, a.join_nonce, d->last.dev_nonce,
			d->rx.rx1_delay_s, d->rx.rx1_dr_offset, d->rx.rx2_dr, sim_dl_window_name(win),
			!a.has_cflist ? "none" : a.cflist[REGION_CFLIST_LEN - 1] ? "type1" : "type0",
			mask);
	}
}

/* --- data downlink ------------------------------------------------------------ */

static struct sim_dl_session session_of(struct sim_device *d)
{
	struct sim_dl_session s = {
		.dev_addr = d->dev_addr,
		.keys = &d->keys,
		.has_fcnt_down = d->has_fcnt_down,
		.fcnt_down = d->fcnt_down,
	};
	return s;
}

/* The active device with this DevAddr whose NwkSKey verifies the MIC. */
static long find_data_device(struct dl_ctx *x, uint32_t addr, struct sim_dl_frame *f, int *res)
{
	struct sim_dlcheck *c = x->c;
	long candidate = -1;

	*res = LB_ERR_NOT_FOUND;
	for (size_t i = addr_hash(addr, c->addr_cap); c->addr_slot[i]; i = (i + 1) & (c->addr_cap - 1)) {
		size_t idx = c->addr_slot[i] - 1;
		struct sim_device *d = &c->devs->dev[idx];
		if (c->addr_key[i] != addr || d->dev_addr != addr || d->state != SIM_DEV_ACTIVE)
			continue;
		struct sim_dl_session s = session_of(d);
		int rc = sim_dl_open_data(&s, x->tx->data, x->tx->size, f);
		candidate = (long)idx;
		*res = rc;
		if (rc != LB_ERR_MIC)
			return (long)idx;
	}
	return *res == LB_ERR_MIC ? candidate : -1;
}

/* The ACK bit against the uplink t it answers. */
static bool check_ack(struct dl_ctx *x, const struct sim_device *d, const struct sim_last_tx *t,
		      const struct sim_dl_frame *f)
{
	if (f->ack && !t->confirmed) {
		bad(x, "%s: ACK bit set, but uplink FCnt %" PRIu32 " was unconfirmed", d->name,
		    t->fcnt);
		return false;
	}
	if (!f->ack && t->confirmed) {
		bad(x, "%s: answers confirmed uplink FCnt %" PRIu32 " without the ACK bit", d->name,
		    t->fcnt);
		return false;
	}
	return true;
}

/* A class C downlink (sent at once on RX2): any time after the device's
 * first uplink, any number; its ACK bit may only answer a confirmed uplink
 * not acknowledged yet (TS001-1.0.4 §4.3.1.2). */
static bool check_rxc(struct dl_ctx *x, const struct sim_device *d, const struct sim_dl_frame *f)
{
	enum region_rp rp = region_rp_default((unsigned)x->c->version);

	if (sim_dl_check_rxc(x->c->region, rp, &d->rx, x->tx, x->why, sizeof(x->why)) != LB_OK) {
		bad(x, "%s: %s", d->name, x->why);
		return false;
	}
	if (f->ack && (!d->last.confirmed || d->last.acked)) {
		bad(x, "%s: class C downlink with ACK, but no confirmed uplink awaits one", d->name);
		return false;
	}
	return true;
}

static void record_data(struct dl_ctx *x, const struct sim_device *d, const struct sim_dl_frame *f,
			enum sim_dl_window win)
{
	char eui[17], payload[2 * LW_MAX_PHY + 1] = "-", fport[4] = "-";

	hex_format_eui(d->dev_eui, eui);
	if (f->payload_len)
		hex_encode(f->payload, f->payload_len, payload, sizeof(payload));
	if (f->has_fport)
		snprintf(fport, sizeof(fport), "%u", f->fport);
	if (x->c->expect_down && win == SIM_DL_RXC)
		fprintf(x->c->expect_down, "%s %" PRIu32 " %s %s %d %s %" PRId64 "\n", eui, f->fcnt,
			fport, payload, f->ack, sim_dl_window_name(win), wall_us());
	else if (x->c->expect_down)
		fprintf(x->c->expect_down, "%s %" PRIu32 " %s %s %d %s\n", eui, f->fcnt, fport,
			payload, f->ack, sim_dl_window_name(win));
	if (x->c->expect_down)
		fflush(x->c->expect_down);   /* read while the run goes on */
	if (x->c->print) {
		char gw[17];
		hex_format_eui(x->gw->c.eui, gw);
		fprintf(x->c->print,
			"downlink ok gw=%s dev_eui=%s dev_addr=%08" PRIx32 " fcnt_down=%" PRIu32
			" fport=%s confirmed=%d ack=%d fpending=%d fopts=%u window=%s payload=%s\n",
			gw, eui, d->dev_addr, f->fcnt, fport, f->confirmed, f->ack, f->fpending,
			f->fopts_len, sim_dl_window_name(win), payload);
	}
}

/* The MAC commands of a good downlink (FOpts, or the FPort-0 payload). */
static void on_mac(struct dl_ctx *x, struct sim_device *d, const struct sim_dl_frame *f)
{
	struct sim_dlcheck *c = x->c;
	struct sim_mac_counters before = d->mac.n;
	const uint8_t *cmds = f->fopts;
	size_t len = f->fopts_len;

	if (f->has_fport && f->fport == 0) {
		cmds = f->payload;
		len = f->payload_len;
	}
	if (sim_mac_on_downlink(&d->mac, &c->mac, &d->rx, cmds, len, x->tx->sf) != LB_OK)
		bad(x, "%s: MAC commands do not parse", d->name);
	const struct sim_mac_counters *now = &d->mac.n;
	c->st->mac_link_adr_applied += now->link_adr_applied - before.link_adr_applied;
	c->st->mac_link_adr_refused += now->link_adr_refused - before.link_adr_refused;
	c->st->mac_link_adr_ignored += now->link_adr_ignored - before.link_adr_ignored;
	c->st->mac_link_adr_keep += now->link_adr_keep - before.link_adr_keep;
	c->st->mac_dev_status += now->dev_status - before.dev_status;
	c->st->mac_rx_param += now->rx_param - before.rx_param;
	c->st->mac_rx_timing += now->rx_timing - before.rx_timing;
	c->st->mac_new_channel += now->new_channel - before.new_channel;
	if (!c->print || len == 0)
		return;
	char eui[17], mask[CH_MASK_TEXT];
	hex_format_eui(d->dev_eui, eui);
	ch_mask_text(c->region, d, mask);
	fprintf(c->print,
		"mac dev_eui=%s dr=%u tx_power=%u nb_trans=%u ch_mask=%s rx1_delay=%u"
		" rx1_dr_offset=%u rx2_dr=%u rx2_freq=%" PRIu32 " answers=%zu\n",
		eui, d->mac.dr, d->mac.tx_power, d->mac.nb_trans, mask,
		d->rx.rx1_delay_s, d->rx.rx1_dr_offset, d->rx.rx2_dr, d->rx.rx2_freq_hz,
		d->mac.queue_len + d->mac.sticky_len);
}

static void on_data(struct dl_ctx *x, const struct lw_frame *lf)
{
	struct sim_dlcheck *c = x->c;
	struct sim_dl_frame f;
	enum sim_dl_window win;
	int rc;

	long found = find_data_device(x, lf->u.data.dev_addr, &f, &rc);
	if (found < 0) {
		bad(x, "DevAddr %08" PRIx32 " belongs to no active device", lf->u.data.dev_addr);
		return;
	}
	struct sim_device *d = &c->devs->dev[found];
	if (rc == LB_ERR_MIC) {
		bad(x, "%s: MIC does not verify (FCntDown %u on air)", d->name, lf->u.data.fcnt16);
		return;
	}
	if (rc == LB_ERR_REPLAY) {
		bad(x, "%s: FCntDown %" PRIu32 " repeated (last %" PRIu32 ")", d->name, f.fcnt,
		    d->fcnt_down);
		return;
	}
	if (rc != LB_OK) {
		bad(x, "%s: cannot open: %s", d->name, lb_strerror(rc));
		return;
	}
	if (!d->last.valid || d->last.join) {
		bad(x, "%s: data downlink, but the device sent no data uplink yet", d->name);
		return;
	}
	struct sim_last_tx *up = &d->last;
	struct sim_last_tx *overtaken = NULL;
	if (d->class_c && x->tx->imme) {
		if (!check_rxc(x, d, &f))
			return;
		win = SIM_DL_RXC;
	} else {
		overtaken = overtaken_uplink(x, (size_t)found);
		if (overtaken)
			up = overtaken;
		if (check_window(x, d, up, &win) != LB_OK || !check_ack(x, d, up, &f))
			return;
		up->answered = true;
	}
	d->has_fcnt_down = true;
	d->fcnt_down = f.fcnt;
	if (f.ack) {
		up->acked = true;
		c->st->acks_received++;
	}
	c->st->downlinks_overtaken += overtaken != NULL;
	if (f.confirmed && !c->o->no_ack)
		d->ack_due = true;
	count_ok(c, win);
	record_data(x, d, &f, win);
	on_mac(x, d, &f);
}

/* --- the hook ----------------------------------------------------------------- */

static const char *injected_error(struct sim_dlcheck *c)
{
	c->pull_resp_seen++;
	for (size_t i = 0; i < c->o->n_txack_rules; i++)
		if (c->pull_resp_seen % c->o->txack_rules[i].every == 0)
			return c->o->txack_rules[i].code;
	return NULL;
}

static bool too_late(const struct dl_ctx *x, int64_t now_us)
{
	if (x->tx->imme || !x->tx->has_tmst)
		return false;
	uint32_t now_tmst = sim_gateway_tmst(x->gw, now_us);
	return sim_dl_tmst_diff(x->tx->tmst, now_tmst) < SIM_DLCHECK_TX_MARGIN_US;
}

const char *sim_dlcheck_on_downlink(void *arg, struct sim_gateway *gw, const uint8_t token[2],
				    const struct gwmp_txpk *tx, int64_t now_us)
{
	struct dl_ctx x = {.c = arg, .gw = gw, .tx = tx};
	struct lw_frame lf;

	if (x.c->print)
		print_raw(&x, token);
	const char *err = injected_error(x.c);
	if (err) {
		x.c->st->txack_errors_injected++;
		if (x.c->print)
			fprintf(x.c->print, "downlink refused: TX_ACK %s (injected)\n", err);
		return err;
	}
	if (too_late(&x, now_us)) {
		x.c->st->downlinks_late++;
		if (x.c->print)
			fprintf(x.c->print, "downlink refused: TX_ACK TOO_LATE (tmst already past)\n");
		return "TOO_LATE";
	}
	int rc = lorawan_parse(tx->data, tx->size, &lf);
	if (rc != LB_OK)
		bad(&x, "PHYPayload does not parse: %s", lb_strerror(rc));
	else if (lf.mtype == LW_MTYPE_JOIN_ACCEPT)
		on_join_accept(&x);
	else if (lorawan_is_data_down(lf.mtype))
		on_data(&x, &lf);
	else
		bad(&x, "%s is no downlink", lorawan_mtype_name(lf.mtype));
	return NULL;
}
