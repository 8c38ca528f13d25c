/* SPDX-License-Identifier: MIT */
/* txsched.c - class-A downlink scheduling. See txsched.h. */
#include "daemon/txsched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/hex.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "io/loop.h"
#include "lorawan/lorawan.h"
#include "lorawan/maccmd.h"
#include "tables/dutycycle.h"

#define JOIN_REF UINT64_MAX          /* pending entry of a join-accept */
#define QUEUE_REF 1                  /* pending entry of a queued item */
#define BRIDGE_REF 0                 /* ACK-only / MAC-answer frame */

/* Every slot free, the lowest index on top: slots are taken in order, so
 * only as many pages are touched as decisions were pending at once. */
static void reset_free_slots(struct txsched *t)
{
	for (size_t i = 0; i < TXSCHED_SLOTS; i++)
		t->free_slot[i] = (uint16_t)(TXSCHED_SLOTS - 1 - i);
	t->n_free = TXSCHED_SLOTS;
}

bool txsched_release(struct txsched *t, bool *table_freed)
{
	bool all = t->pending.n == 0;

	*table_freed = all && t->pending.slot != NULL;
	if (all)
		downlink_pending_free(&t->pending);
	if (!t->slot)
		return all;
	if (t->n_due != 0 || t->n_free != TXSCHED_SLOTS)
		return false;
	long page = sysconf(_SC_PAGESIZE);
	if (page > 0) {
		uintptr_t mask = (uintptr_t)page - 1;
		uintptr_t lo = ((uintptr_t)t->slot + mask) & ~mask;
		uintptr_t hi = (uintptr_t)(t->slot + TXSCHED_SLOTS) & ~mask;
		if (hi > lo)
			(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
	}
	reset_free_slots(t);
	return all;
}

int txsched_init(struct txsched *t, const struct txsched_ctx *ctx, const struct txsched_opts *o)
{
	memset(t, 0, sizeof(*t));
	if (!(t->slot = calloc(TXSCHED_SLOTS, sizeof(*t->slot))))
		return LB_ERR_NOMEM;
	t->c = *ctx;
	t->opts = *o;
	reset_free_slots(t);
	downlink_pending_init(&t->pending, o->tx_ack_timeout_ms);
	/* Tokens only need to differ between PULL_RESPs in flight; a random
	 * start keeps them from repeating across restarts. */
	if (getrandom(&t->token_seq, sizeof(t->token_seq), 0) != (ssize_t)sizeof(t->token_seq))
		t->token_seq = (uint32_t)loop_now_us();
	return LB_OK;
}

void txsched_free(struct txsched *t)
{
	free(t->slot);
	t->slot = NULL;
	t->n_due = t->n_free = 0;   /* no decision left, none can be planned */
	downlink_pending_free(&t->pending);
}

static int find_sent(void *arg, const struct store_downlink *row)
{
	struct lb_device *dev = arg;
	if (row->state != STORE_DL_SENT || dev->rt.confirmed)
		return 0;
	/* LB_ERR_NOMEM stops the read (txsched_restore_device logs it). */
	return devices_set_confirmed(dev, row->id, row->has_fcnt_down ? row->fcnt_down : 0);
}

int txsched_restore_device(struct txsched *t, struct lb_device *dev)
{
	/* No queue, nothing awaiting an ACK: no read per device at start-up. */
	if (!store_downlink_maybe(t->c.store, dev->dev_eui))
		return LB_OK;
	int rc = store_downlink_list(t->c.store, dev->dev_eui, find_sent, dev);
	if (rc != LB_OK)
		log_error("txsched", "device %s: downlink queue not read: %s", dev->name,
			  lb_strerror(rc));
	return rc;
}

/* ------------------------------------------------------------- slots */

/* Decisions wait in a binary min-heap (txsched.h struct txsched_due):
 * ordering one and taking the earliest cost O(log n), finding a device's
 * walks the decisions waiting (not the 256 slots), and a tick with nothing
 * due looks at the root alone. */

static bool due_before(const struct txsched_due *a, const struct txsched_due *b)
{
	return a->due_ms != b->due_ms ? a->due_ms < b->due_ms : a->seq < b->seq;
}

static void due_swap(struct txsched *t, size_t i, size_t j)
{
	struct txsched_due x = t->due[i];

	t->due[i] = t->due[j];
	t->due[j] = x;
}

/* Entry i moved (new, or its due time changed): restore the heap order. */
static void due_fix(struct txsched *t, size_t i)
{
	while (i > 0 && due_before(&t->due[i], &t->due[(i - 1) / 2])) {
		due_swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < t->n_due && due_before(&t->due[l], &t->due[m]))
			m = l;
		if (l + 1 < t->n_due && due_before(&t->due[l + 1], &t->due[m]))
			m = l + 1;
		if (m == i)
			return;
		due_swap(t, i, m);
		i = m;
	}
}

/* Heap index of the device's decision, or -1: a walk over the decisions
 * waiting (those of the last delay_ms), not over the table. */
static long due_find(const struct txsched *t, uint64_t dev_eui)
{
	for (size_t i = 0; i < t->n_due; i++)
		if (t->due[i].dev_eui == dev_eui)
			return (long)i;
	return -1;
}

/* The earliest decision leaves the heap; its slot index (still taken:
 * the caller frees it). */
static uint16_t due_pop(struct txsched *t)
{
	uint16_t slot = t->due[0].slot;

	t->due[0] = t->due[--t->n_due];
	if (t->n_due > 0)
		due_fix(t, 0);
	return slot;
}

/* Slot `slot`, taken, waits again for its decision at due_ms. */
static void due_push(struct txsched *t, uint16_t slot, uint64_t dev_eui, int64_t due_ms)
{
	size_t at = t->n_due++;

	t->due[at] = (struct txsched_due){.due_ms = due_ms, .seq = t->due_seq++,
					  .dev_eui = dev_eui, .slot = slot};
	due_fix(t, at);
}

/* The device's slot, due again at due_ms: its waiting decision's, else a
 * free one; NULL when every slot is taken. */
static struct txsched_slot *slot_plan(struct txsched *t, uint64_t dev_eui, int64_t due_ms)
{
	long at = due_find(t, dev_eui);

	if (at < 0) {
		if (t->n_free == 0)
			return NULL;
		at = (long)t->n_due++;
		t->due[at].slot = t->free_slot[--t->n_free];
		t->due[at].dev_eui = dev_eui;
	}
	t->due[at].due_ms = due_ms;
	t->due[at].seq = t->due_seq++;
	struct txsched_slot *s = &t->slot[t->due[at].slot];
	due_fix(t, (size_t)at);
	return s;
}

size_t txsched_best_rx(const struct lb_rx *rx, size_t n, struct lb_rx out[TXSCHED_RX])
{
	size_t k = 0;
	bool taken[DEDUP_MAX_RX] = {false};

	while (k < TXSCHED_RX && k < n) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < n && i < DEDUP_MAX_RX; i++) {
			if (taken[i])
				continue;
			if (best == SIZE_MAX || downlink_rx_margin_db(&rx[i].rxpk) >
						     downlink_rx_margin_db(&rx[best].rxpk))
				best = i;
		}
		if (best == SIZE_MAX)
			break;
		taken[best] = true;
		out[k++] = rx[best];
	}
	return k;
}

/* LinkCheckReq and DeviceTimeReq are answered by the network
 * (TS001-1.0.4 §5.1, §5.9). */
static size_t mac_answers(const char *name, const uint8_t *mac, size_t len,
			  const struct lb_rx *rx, size_t n_rx, uint8_t out[TXSCHED_MAC_MAX])
{
	struct maccmd cmds[MACCMD_MAX_FOPTS_CMDS];
	size_t n = 0, k = 0;

	if (!mac || !len)
		return 0;
	maccmd_parse(mac, len, LW_DIR_UP, cmds, MACCMD_MAX_FOPTS_CMDS, &n); /* partial is fine */
	for (size_t i = 0; i < n; i++) {
		if (cmds[i].cid != MACCMD_LINK_CHECK && cmds[i].cid != MACCMD_DEVICE_TIME &&
		    !netmac_handles(cmds[i].cid))
			LB_LOG_RL(LOG_LVL_INFO, "txsched", "device %s: MAC command %s published in "
				  "macCommands, not answered by the bridge", name,
				  maccmd_name(cmds[i].cid, LW_DIR_UP));
		if (cmds[i].cid == MACCMD_LINK_CHECK && k + DOWNLINK_LINK_CHECK_ANS_LEN <= TXSCHED_MAC_MAX &&
		    downlink_link_check_ans(rx, n_rx, out + k) == LB_OK)
			k += DOWNLINK_LINK_CHECK_ANS_LEN;
		else if (cmds[i].cid == MACCMD_DEVICE_TIME &&
			 k + DOWNLINK_DEVICE_TIME_ANS_LEN <= TXSCHED_MAC_MAX) {
			int64_t gps = downlink_gps_time_us(&rx[0].rxpk, rx[0].received_us);
			if (downlink_device_time_ans(gps, out + k) == LB_OK)
				k += DOWNLINK_DEVICE_TIME_ANS_LEN;
		}
	}
	return k;
}

/* The device's next uplink settles a confirmed downlink (TS001-1.0.4 §4.3.1.2,
 * the ACK bit). */
void txsched_settle_confirmed(struct txsched *t, struct lb_device *dev, bool acked,
			      const uint8_t dedup_id[16])
{
	static const uint8_t nil_id[16];
	struct ev_device d;
	size_t len;

	if (!dev->rt.confirmed)
		return;
	if (!dedup_id)
		dedup_id = nil_id;
	devevent_fill(&d, t->c.ev, dev);
	struct ev_ack ev = {.dev = &d, .time_us = loop_wall_us(),
			    .queue_item_id = dev->rt.confirmed->id, .acknowledged = acked,
			    .fcnt_down = dev->rt.confirmed->fcnt};
	memcpy(ev.dedup_id, dedup_id, sizeof(ev.dedup_id));
	char json[TXSCHED_EVENT_MAX];
	int rc = store_downlink_delete(t->c.store, dev->rt.confirmed->id);
	if (rc != LB_OK && rc != LB_ERR_NOT_FOUND)
		log_error("txsched", "device %s: settled item %s not removed from the store: %s",
			  dev->name, dev->rt.confirmed->id, lb_strerror(rc));
	/* Told once the item's removal is durable: after a crash before that,
	 * the restart would settle it again. */
	uint64_t batch = durable_batch(t->c.durable);
	rc = event_json_ack(&ev, json, sizeof(json), &len);
	(void)devevent_publish_held(t->c.ev, dev, "ack", rc, json, len, batch); /* logged */
	devices_clear_confirmed(dev);
}

/* A decision for dev at now + delay_ms, answering mac (the device's own
 * requests) heard in rx. */
static void plan_decision(struct txsched *t, struct lb_device *dev, const uint8_t *mac,
			  size_t mac_len, const struct lb_rx *rx, size_t n_rx, int64_t heard_ms,
			  bool wanted)
{
	struct txsched_slot *s = slot_plan(t, dev->dev_eui, loop_now_ms() + t->opts.delay_ms);
	if (!s) {
		t->stats.dropped_slots++;
		LB_LOG_RL(LOG_LVL_WARN, "txsched", "device %s: no free decision slot (%d in use)",
			  dev->name, TXSCHED_SLOTS);
		return;
	}
	/* Every field set below: no memset of the receptions' 1.5 KiB. */
	s->dev_eui = dev->dev_eui;
	s->heard_ms = heard_ms;
	s->waited = false;
	s->n_rx = txsched_best_rx(rx, n_rx, s->rx);
	s->mac_len = mac_answers(dev->name, mac, mac_len, rx, n_rx, s->mac);
	s->mac_wanted = wanted;
}

void txsched_after_uplink(struct txsched *t, struct lb_device *dev, const struct lw_frame *f,
			  const uint8_t *mac, size_t mac_len, const struct lb_rx *rx, size_t n_rx,
			  int64_t heard_ms, const uint8_t dedup_id[16])
{
	if (!t->hooks.uplink || !t->hooks.uplink(t->hooks.arg, dev, f, rx, n_rx))
		txsched_settle_confirmed(t, dev, f->u.data.ack, dedup_id);
	/* Only the uplink just received may be acknowledged (TS001-1.0.4 §4.3.1.2). */
	dev->rt.ack_due = f->mtype == LW_MTYPE_CONFIRMED_UP;
	dev->rt.retx_acks = 0;
	bool wanted = t->c.netmac &&
		      netmac_uplink(t->c.netmac, dev, f, mac, mac_len, rx, n_rx, dedup_id);
	plan_decision(t, dev, mac, mac_len, rx, n_rx, heard_ms, wanted);
}

bool txsched_retransmission_wanted(struct txsched *t, struct lb_device *dev,
				   const struct lw_frame *f, const struct lb_rx *rx, size_t n_rx)
{
	/* Any copy, confirmed or not, answered or not: class C holds off its
	 * receive windows as off any uplink's (its ACK bit was taken with the
	 * first copy: nothing is settled or retried). */
	if (t->hooks.retransmission)
		t->hooks.retransmission(t->hooks.arg, dev, rx, n_rx);
	if (f->mtype != LW_MTYPE_CONFIRMED_UP)
		return false;
	if (dev->rt.retx_acks < TXSCHED_RETX_ACKS)
		return true;
	LB_LOG_RL(LOG_LVL_WARN, "txsched", "device %s: FCnt %u heard again after %d "
		  "acknowledgements: not acknowledged again", dev->name, dev->last_fcnt_up,
		  TXSCHED_RETX_ACKS + 1);
	return false;
}

void txsched_after_retransmission(struct txsched *t, struct lb_device *dev,
				  const struct lw_frame *f, const uint8_t *mac, size_t mac_len,
				  const struct lb_rx *rx, size_t n_rx, int64_t heard_ms)
{
	if (f->mtype != LW_MTYPE_CONFIRMED_UP || dev->rt.retx_acks >= TXSCHED_RETX_ACKS)
		return;
	dev->rt.retx_acks++;
	dev->rt.ack_due = true;
	plan_decision(t, dev, mac, mac_len, rx, n_rx, heard_ms, false);
}

/* ---------------------------------------------------------- sending */

static void next_token(struct txsched *t, uint8_t token[GWMP_LEN_TOKEN])
{
	do {
		t->token_seq = t->token_seq * 1103515245u + 12345u;
		token[0] = (uint8_t)(t->token_seq >> 16);
		token[1] = (uint8_t)(t->token_seq >> 24);
	} while (downlink_pending_has(&t->pending, token));
}

/* One PULL_RESP to the gateway's downlink route: the source address of its latest
 * PULL_DATA (Semtech PROTOCOL.TXT §5.2). */
static int send_attempt(struct txsched *t, struct downlink_pending_entry *e,
			uint8_t token[GWMP_LEN_TOKEN])
{
	struct gateway *gw = gateways_find(t->c.gateways, e->gateway_eui);
	uint8_t dgram[GWMP_MAX_PULL_RESP + 1];
	size_t len;

	if (!gw || !gw->has_downlink_addr) {
		t->stats.no_route++;
		return LB_ERR_NOT_FOUND;
	}
	next_token(t, token);
	int rc = gwmp_build_pull_resp(gw->version ? gw->version : 2, token,
				      &e->plan.attempt[e->attempt].txpk, dgram, sizeof(dgram), &len);
	if (rc != LB_OK)
		return rc;
	struct udp_peer to;
	memcpy(&to.addr, &gw->down_addr, sizeof(to.addr));
	to.len = gw->down_addr_len;
	/* Only the address the PULL_RESP goes to may answer it. */
	e->dest = to.addr;
	e->dest_len = to.len;
	return udpout_send(&t->c.out, dgram, len, &to);
}

static const char *window_name(enum downlink_window w)
{
	return w == DOWNLINK_RX1 ? "RX1" : w == DOWNLINK_RXC ? "RXC" : "RX2";
}

/* txInfo of the attempt the gateway took: class A, so timing {delay} after
 * the uplink whose tmst the txpk's was computed from (Semtech
 * PROTOCOL.TXT §6: txpk.tmst = rxpk.tmst + delay). */
static struct ev_tx_info tx_info_of(const struct downlink_attempt *a)
{
	struct ev_tx_info tx = {.txpk = &a->txpk};

	if (a->txpk.has_tmst && !a->txpk.imme) {
		tx.delay_us = a->delay_us;
		tx.context_tmst = a->txpk.tmst - a->delay_us;
	}
	return tx;
}

/* The gateway accepted the frame of queue item e: `txack`, held until store
 * batch `batch` (the item's new state) is on the disk. */
static void publish_txack(struct txsched *t, const struct lb_device *dev,
			  const struct downlink_pending_entry *e, uint64_t batch)
{
	struct ev_txack_attempt at[DOWNLINK_MAX_ATTEMPTS];
	struct ev_device d;
	size_t len, n = 0;

	for (size_t i = 0; i < e->plan.n_attempts && i <= e->attempt; i++) {
		at[n].window = window_name(e->plan.attempt[i].window);
		at[n].status = e->status[i][0] ? e->status[i] : "OK";
		at[n].frequency = e->plan.attempt[i].txpk.freq_hz;
		at[n].dr = e->plan.attempt[i].dr;
		n++;
	}
	devevent_fill(&d, t->c.ev, dev);
	struct ev_txack ev = {.dev = &d, .time_us = loop_wall_us(),
			      .downlink_id = idgen_next_u32(t->c.ids),
			      .queue_item_id = e->id,
			      .fcnt_down = e->fcnt_down, .gateway_eui = e->gateway_eui,
			      .tx = tx_info_of(&e->plan.attempt[e->attempt]),
			      .attempts = at, .n_attempts = n};
	char json[TXSCHED_EVENT_MAX];
	int rc = event_json_txack(&ev, json, sizeof(json), &len);
	(void)devevent_publish_held(t->c.ev, dev, "txack", rc, json, len, batch); /* logged */
}

/* The gateway programmed the frame: the queue item is done (unconfirmed)
 * or waits for the device's ACK (confirmed). */
static void finish_sent(struct txsched *t, struct downlink_pending_entry *e)
{
	struct lb_device *dev = devices_find_eui(t->c.devices, e->dev_eui);

	t->stats.sent++;
	/* Counted once the gateway took it: a retry it refuses in turn fails. */
	if (e->plan.attempt[e->attempt].window == DOWNLINK_RX2)
		t->stats.sent_rx2++;
	if (!dev) {   /* gone in a reload: its airtime was still on the air */
		budget_charge_gateway(t->c.budget, e->gateway_eui, &e->plan.attempt[e->attempt]);
		return;
	}
	/* The airtime held since launch() becomes the charge. */
	budget_downlink_sent(t->c.budget, dev, e->gateway_eui, &e->plan.attempt[e->attempt]);
	if (e->ref == JOIN_REF) {
		log_info("txsched", "device %s: join-accept sent in %s", dev->name,
			 window_name(e->plan.attempt[e->attempt].window));
		return;
	}
	if (t->c.netmac && e->plan.attempt[e->attempt].window != DOWNLINK_RXC)
		netmac_delivered(t->c.netmac, dev);
	if (e->ref == QUEUE_REF) {
		log_debug("txsched", "device %s: queue item %s sent in %s, FCntDown %u", dev->name,
			  e->id, window_name(e->plan.attempt[e->attempt].window), e->fcnt_down);
		int rc = e->confirmed ? store_downlink_update(t->c.store, e->id, STORE_DL_SENT, true,
							      e->fcnt_down)
				      : store_downlink_delete(t->c.store, e->id);
		if (rc != LB_OK)
			log_error("txsched", "device %s: queue item %s sent but not marked in the "
				  "store (%s): it may be sent again", dev->name, e->id, lb_strerror(rc));
		if (e->confirmed && (rc = devices_set_confirmed(dev, e->id, e->fcnt_down)) != LB_OK)
			log_error("txsched", "device %s: queue item %s sent, but its ACK cannot be "
				  "awaited (%s): it stays in the store as sent", dev->name, e->id,
				  lb_strerror(rc));
		/* Durable before MQTT is told: after a crash the item is not
		 * sent again unseen. The batch is committed by the loop's next
		 * run of the timers, with the other TX_ACKs read before it,
		 * without waiting for the disk (durable_commit_soon()); the
		 * txack, held in the outbox, waits for its sync (integrations
		 * see it at once, as they see every `up` and `ack`), and keeps
		 * its place before a later `ack`. */
		uint64_t batch = durable_batch(t->c.durable);
		durable_commit_soon(t->c.durable);
		publish_txack(t, dev, e, batch);
	} else {
		/* The bridge's own frame (the ACK of a confirmed uplink, MAC
		 * answers; no FRMPayload of the application): counted, no
		 * txack, as ChirpStack publishes its txack integration event
		 * only for a frame that carried a queue item. */
		t->stats.sent_own++;
	}
	if (t->hooks.done)
		t->hooks.done(t->hooks.arg, dev, e, true);
}

static void finish_failed(struct txsched *t, struct downlink_pending_entry *e, const char *why)
{
	struct lb_device *dev = devices_find_eui(t->c.devices, e->dev_eui);

	t->stats.failed++;
	if (!dev)
		return;
	if (e->ref == JOIN_REF) {
		devevent_log(t->c.ev, dev, "ERROR", "OTAA", "join-accept not transmitted by the gateway",
			     e->gateway_eui);
		return;
	}
	/* As ChirpStack reports a TX_ACK error: a `log` event DOWNLINK_GATEWAY,
	 * level ERROR, no txack. */
	char desc[256], gw[HEX_EUI_LEN + 1];
	if (e->ref == QUEUE_REF)
		snprintf(desc, sizeof(desc), "downlink FCnt %u not transmitted (%s); queue item %s "
			 "stays queued for the next uplink", e->fcnt_down, why, e->id);
	else
		snprintf(desc, sizeof(desc), "downlink FCnt %u (acknowledgement or MAC answers) not "
			 "transmitted (%s)", e->fcnt_down, why);
	hex_format_eui(e->gateway_eui, gw);
	const char *keys[] = {"gatewayId", "error", "queueItemId"};
	const char *values[] = {gw, why, e->id};
	devevent_log_ctx(t->c.ev, dev, "ERROR", "DOWNLINK_GATEWAY", desc, keys, values,
			 e->ref == QUEUE_REF ? 3 : 2);
	if (t->hooks.done)
		t->hooks.done(t->hooks.arg, dev, e, false);
}

/* Send e's current attempt; a v1 gateway sends no TX_ACK (TX_ACK is new in
 * protocol version 2, Semtech PROTOCOL.TXT §5.5). */
static void launch(struct txsched *t, struct downlink_pending_entry *e)
{
	uint8_t token[GWMP_LEN_TOKEN];
	struct gateway *gw = gateways_find(t->c.gateways, e->gateway_eui);

	int rc = send_attempt(t, e, token);
	if (rc == LB_OK)   /* held until its outcome (budget.h): later decisions count it */
		budget_hold(t->c.budget, e->gateway_eui, &e->plan.attempt[e->attempt]);
	if (rc != LB_OK) {
		snprintf(e->status[e->attempt], DOWNLINK_STATUS_LEN, "%s",
			 rc == LB_ERR_NOT_FOUND ? "NO_ROUTE" : "SEND_ERROR");
		finish_failed(t, e, e->status[e->attempt]);
		return;
	}
	if (gw && gw->version == 1) {
		finish_sent(t, e);
		return;
	}
	int prc = downlink_pending_add(&t->pending, token, e, loop_now_ms());
	if (prc != LB_OK) {
		const char *why = prc == LB_ERR_NOMEM ? "out of memory"
				  : prc == LB_ERR_FULL ? "full" : lb_strerror(prc);
		LB_LOG_RL(LOG_LVL_WARN, "txsched", "TX_ACK table %s: downlink FCnt %u counted as sent",
			  why, e->fcnt_down);
		finish_sent(t, e);
	}
}

/* A `log` event F_CNT_DOWN: context gatewayId (lorabridge's; when
 * gateway_eui is not 0) and device_f_cnt_down, ChirpStack's key for the
 * device's next FCntDown. */
static void log_fcnt_down(struct txsched *t, const struct lb_device *dev, const char *level,
			  const char *why, uint64_t gateway_eui)
{
	char gw[HEX_EUI_LEN + 1], fcnt[12];
	const char *keys[] = {"device_f_cnt_down", "gatewayId"};
	const char *values[] = {fcnt, gw};

	snprintf(fcnt, sizeof(fcnt), "%u", (unsigned)dev->rt.fcnt_down.next);
	hex_format_eui(gateway_eui, gw);
	devevent_log_ctx(t->c.ev, dev, level, "F_CNT_DOWN", why, keys, values,
			 gateway_eui ? 2 : 1);
}

/* Reserve the next FCntDown durably (store.h COUNTER RULES). */
int txsched_reserve_fcnt(struct txsched *t, struct lb_device *dev, uint32_t *fcnt)
{
	unsigned f = fcntdown_reserve(&dev->rt.fcnt_down, durable_batch(t->c.durable),
				      durable_synced_below(t->c.durable));

	if (f & FCNTDOWN_EXHAUSTED) {
		log_fcnt_down(t, dev, "ERROR", "downlink counter exhausted: rejoin needed", 0);
		return LB_ERR_RANGE;
	}
	if ((f & FCNTDOWN_STAGE) && sessions_stage(t->c.sessions, dev) != LB_OK) {
		fcntdown_unstage(&dev->rt.fcnt_down);
		return LB_ERR_IO;
	}
	/* Committed at the end of this loop pass, with every other
	 * reservation of the pass, without waiting for the disk
	 * (durable_commit_soon(); not asked again once its batch is committed,
	 * its sync under way: that would only cut the group commit short): the
	 * caller asks again until the sync has completed; nothing is used
	 * meanwhile. While commits fail and its batch is still the open one
	 * (logged, retried by durable_tick()) it is LB_ERR_IO, so that the
	 * caller backs off instead of asking every TXSCHED_DISK_POLL_MS; a
	 * batch committed already only waits for its sync. */
	if (f & FCNTDOWN_COMMIT) {
		uint64_t b = dev->rt.fcnt_down.batch;
		bool open = b == durable_batch(t->c.durable);
		if (open)
			durable_commit_soon(t->c.durable);
		if (!durable_committed(t->c.durable, b))
			return open && durable_failing(t->c.durable) ? LB_ERR_IO : LB_ERR_AGAIN;
	}
	*fcnt = dev->rt.fcnt_down.next;
	return LB_OK;
}

/* Windows before `first` were refused by the duty cycle: say so in txack. */
static void skip_windows(struct downlink_pending_entry *e, int first)
{
	for (int i = 0; i < first; i++)
		snprintf(e->status[i], DOWNLINK_STATUS_LEN, "DUTY_CYCLE");
	e->attempt = (uint8_t)first;
}

#define EXPIRED_MAX 8                /* expired items dropped per decision */
#define PORT0_MAC_MAX 40             /* MAC commands in an FPort-0 frame: fits DR0's N = 51 */

struct decision {
	bool has_item;
	struct store_downlink item;
	size_t queued;
	int64_t now_us;                  /* wall clock, for expiresAt */
	int64_t now_ms;                  /* the tick's (monotonic), for the windows */
	size_t n_expired;                /* items found expired (the first EXPIRED_MAX kept) */
	char expired[EXPIRED_MAX][STORE_DL_ID_SIZE];
	uint8_t mac[PORT0_MAC_MAX];      /* the slot's answers, then netmac's requests */
	size_t mac_len;
	unsigned req_kinds;              /* netmac requests among them */
	bool more;                       /* without the item, more is queued (fit_frame) */
	bool said;                       /* nothing sent, and why was logged (fit_frame) */
};

void txsched_drop_item(struct txsched *t, struct lb_device *dev, const char *id, const char *code,
		       const char *why, const struct txsched_sizes *sizes)
{
	char desc[192], item[24], max[24];
	snprintf(desc, sizeof(desc), "queue item %s dropped: %s", id, why);
	const char *keys[] = {"queueItemId", "queue_item_id", "item_size", "max_payload_size"};
	const char *values[] = {id, id, item, max};
	size_t n = 2;
	if (sizes) {
		snprintf(item, sizeof(item), "%zu", sizes->item_size);
		n++;
		if (sizes->max_payload_size >= 0) {
			snprintf(max, sizeof(max), "%d", sizes->max_payload_size);
			n++;
		}
	}
	devevent_log_ctx(t->c.ev, dev, "ERROR", code, desc, keys, values, n);
	int rc = store_downlink_delete(t->c.store, id);
	if (rc != LB_OK)
		log_error("txsched", "device %s: dropped item %s not removed from the store: %s",
			  dev->name, id, lb_strerror(rc));
}

static void refuse_item(struct txsched *t, struct lb_device *dev, const struct store_downlink *it,
			const char *code, const char *why)
{
	txsched_drop_item(t, dev, it->id, code, why, NULL);
}

static void plan_input(const struct txsched *t, const struct lb_device *dev,
		       const struct txsched_slot *s, const uint8_t *phy, size_t len,
		       struct downlink_plan_in *in);

/* The largest FRMPayload any receive window of slot s carries for dev
 * (a frame without FOpts: M - FHDR - FPort, RP002-1.0.4 "Maximum payload
 * size"), or -1 when none is open. */
static int max_frm_payload(const struct txsched *t, const struct lb_device *dev,
			   const struct txsched_slot *s)
{
	static const uint8_t zeros[LW_MAX_PHY];
	const size_t over = LW_LEN_MHDR + LW_LEN_FHDR_MIN + 1 + LW_LEN_MIC;
	struct downlink_plan_in in;
	struct downlink_plan plan;
	int best = -1;

	plan_input(t, dev, s, zeros, over, &in);
	if (downlink_plan(&in, &plan) != LB_OK)
		return -1;
	for (size_t i = 0; i < plan.n_attempts; i++)
		if ((int)plan.attempt[i].max_phy - (int)over > best)
			best = (int)plan.attempt[i].max_phy - (int)over;
	return best;
}

/* The item no window can carry: DOWNLINK_PAYLOAD_SIZE, with the sizes. */
static void refuse_too_large(struct txsched *t, struct lb_device *dev,
			     const struct txsched_slot *s, const struct store_downlink *it)
{
	struct txsched_sizes sz = {.item_size = it->len,
				   .max_payload_size = max_frm_payload(t, dev, s)};

	txsched_drop_item(t, dev, it->id, "DOWNLINK_PAYLOAD_SIZE",
			  "no receive window can carry it at the device's data rate", &sz);
}

/* RX2 from the configuration, each of frequency and DR falling back to the
 * region's default on its own (the join-accept announced the same DR). */
static void rx2_settings(const struct txsched *t, struct downlink_plan_in *in)
{
	uint32_t freq;
	uint8_t dr;

	if (!t->opts.has_rx2_freq && !t->opts.has_rx2_dr)
		return;
	if (region_rx2(t->c.region, &freq, &dr) != LB_OK)
		return;
	in->rx2_override = true;
	in->rx2_freq_hz = t->opts.has_rx2_freq ? t->opts.rx2_freq : freq;
	in->rx2_dr = t->opts.has_rx2_dr ? t->opts.rx2_dr : dr;
}

/* A frame that would carry only the network's own MAC requests: no queued
 * item, no ACK, no answer to the device. */
static bool requests_only(const struct lb_device *dev, const struct txsched_slot *s,
			  const struct decision *d)
{
	return !d->has_item && !dev->rt.ack_due && s->mac_len == 0 && !s->mac_wanted;
}

/* Such a frame refused by the gateway's duty cycle waits until the
 * sub-band sheds airtime (dutycycle.h dc_next_room): asking at every
 * uplink before that is refused anyway, and logged once instead of per
 * uplink. Refused only for the airtime held by frames awaiting their
 * TX_ACK (budget_refused_by_holds()), it waits for nothing: each hold ends
 * within downlink.tx_ack_timeout_ms (a TX_ACK error in RX1 gives RX1's
 * hold back and retries in RX2, which takes a new hold there; one in RX2
 * gives it back; a TX_ACK OK, or none, makes it a charge), so the next
 * uplink asks again (and, if a charge leaves no room, backs off by the
 * ledger then). That episode is logged once too, at its first refusal
 * (rt.mac_hold_logged, cleared when the device's frame is sent, when the
 * ledger back-off starts, or when it has nothing to send). Its requests
 * are not counted as tried (netmac_sent not called). */
static int mac_backoff(struct txsched *t, struct lb_device *dev, const struct downlink_plan *plan,
		       int64_t now_ms)
{
	char desc[192];

	if (budget_refused_by_holds(t->c.budget, plan->gateway_eui, plan)) {
		dev->rt.mac_dc_retry_ms = 0;
		if (dev->rt.mac_hold_logged)
			return LB_ERR_FULL;
		dev->rt.mac_hold_logged = true;
		devevent_log(t->c.ev, dev, "WARNING", "DUTY_CYCLE",
			     "downlink not sent: the gateway's duty cycle leaves no room in RX1 or "
			     "RX2 beside the downlinks awaiting their TX_ACK; the network's MAC "
			     "requests are tried again at each uplink", plan->gateway_eui);
		return LB_ERR_FULL;
	}
	int64_t until = budget_next_room(t->c.budget, plan->gateway_eui, plan);
	if (until <= now_ms)
		until = now_ms + DC_BUCKET_MS;
	dev->rt.mac_dc_retry_ms = until;
	dev->rt.mac_hold_logged = false;
	snprintf(desc, sizeof(desc), "downlink not sent: the gateway's duty cycle leaves no room in "
		 "RX1 or RX2; the network's MAC requests wait %lld s for room",
		 (long long)((until - now_ms + 999) / 1000));
	devevent_log(t->c.ev, dev, "WARNING", "DUTY_CYCLE", desc, plan->gateway_eui);
	return LB_ERR_FULL;
}

/* What downlink_plan() needs for dev's frame phy[0..len) from slot s. */
static void plan_input(const struct txsched *t, const struct lb_device *dev,
		       const struct txsched_slot *s, const uint8_t *phy, size_t len,
		       struct downlink_plan_in *in)
{
	*in = (struct downlink_plan_in){
		.region = t->c.region, .rx = s->rx, .n_rx = s->n_rx,
		.rx1_dr_offset = t->opts.rx1_dr_offset, .rp = dev->regional_parameters,
		.rx_delay_s = dev->rt.rx_delay_s, .phy = phy, .phy_len = len};
	rx2_settings(t, in);
	/* An OTAA device keeps what its join-accept told it (its RX2
	 * frequency: the region's) until it confirms the RXParamSetupReq
	 * netmac sends where the configuration differs (netmac_windows()). */
	if (dev->activation == LB_ACT_OTAA && dev->rt.joined_at) {
		in->rx1_dr_offset = dev->rt.rx1_dr_offset;
		if (dev->rt.rx2_freq) {
			in->rx2_override = true;
			in->rx2_freq_hz = dev->rt.rx2_freq;
			in->rx2_dr = dev->rt.rx2_dr;
		}
	}
	if (t->c.netmac)
		netmac_windows(t->c.netmac, dev, in);
}

/* Leave out of the plan the windows less than TXSCHED_LEAD_MS away,
 * counted from heard_ms, when the first copy of the uplink arrived: the
 * uplink ended a little earlier, so the window is, if anything, nearer than
 * this says. Returns how many are left. */
static size_t drop_past_windows(struct downlink_plan *p, int64_t heard_ms, int64_t now_ms)
{
	size_t skip = 0;

	while (skip < p->n_attempts &&
	       heard_ms + p->attempt[skip].delay_us / 1000 - TXSCHED_LEAD_MS < now_ms)
		skip++;
	if (skip > 0 && skip < p->n_attempts)
		memmove(&p->attempt[0], &p->attempt[skip],
			(p->n_attempts - skip) * sizeof(p->attempt[0]));
	p->n_attempts -= skip;
	return p->n_attempts;
}

/* The frame of decision d: the item with the MAC commands in FOpts, else
 * the MAC commands alone, in FPort 0 (TS001-1.0.4 §4.3.2, encrypted under
 * NwkSKey) beyond what FOpts holds. */
static void frame_of(const struct lb_device *dev, const struct decision *d,
		     struct downlink_frame *fr)
{
	/* FCtrl.ADR: the network controls the device's data rate
	 * (TS001-1.0.4 §4.3.1.1), as ChirpStack sets it unless ADR is off. */
	*fr = (struct downlink_frame){.dev_addr = dev->dev_addr, .adr = dev->adr,
				      .ack = dev->rt.ack_due, .fpending = d->more,
				      .fopts = d->mac, .fopts_len = (uint8_t)d->mac_len};
	if (!d->has_item && d->mac_len > TXSCHED_MAC_MAX) {
		fr->fopts = NULL;
		fr->fopts_len = 0;
		fr->has_fport = true;
		fr->fport = 0;
		fr->payload = d->mac;
		fr->payload_len = d->mac_len;
	}
	if (d->has_item) {
		fr->confirmed = d->item.confirmed;
		fr->has_fport = true;
		fr->fport = d->item.fport;
		fr->payload = d->item.data;
		fr->payload_len = d->item.len;
		fr->fpending = d->queued > 1;
	}
}

/* Plan fr at its length, zero bytes standing in for it until it is built
 * (the windows, the airtime and the duty cycle need its size, not its
 * bytes): a frame refused here (most MAC-only frames while a gateway's
 * sub-bands are full) costs no counter and no encryption. LB_ERR_TOO_LARGE:
 * no window carries it. */
static int plan_frame(const struct txsched *t, const struct lb_device *dev,
		      const struct txsched_slot *s, const struct downlink_frame *fr,
		      struct downlink_plan *plan)
{
	static const uint8_t zeros[LW_MAX_PHY];
	struct downlink_plan_in in;
	size_t want = downlink_frame_len(fr);

	if (want > sizeof(zeros))
		return LB_ERR_TOO_LARGE;
	plan_input(t, dev, s, zeros, want, &in);
	int rc = downlink_plan(&in, plan);
	return rc == LB_OK && plan->n_attempts == 0 ? LB_ERR_TOO_LARGE : rc;
}

static void add_requests(struct txsched *t, struct lb_device *dev, const struct txsched_slot *s,
			 struct decision *d);

/* Shrink the network's own requests, whole commands, until fr fits; those
 * left out wait for a later frame (netmac_sent() is told only of those that
 * go). LB_ERR_TOO_LARGE: it does not fit even without them. */
static int shrink_requests(struct txsched *t, struct lb_device *dev,
			   const struct txsched_slot *s, struct decision *d,
			   struct downlink_frame *fr, struct downlink_plan *plan)
{
	int rc = LB_ERR_TOO_LARGE;

	while (d->mac_len > s->mac_len) {
		size_t cap = d->mac_len - s->mac_len - 1;
		d->mac_len = s->mac_len + netmac_requests(t->c.netmac, dev, d->mac + s->mac_len, cap,
							  &d->req_kinds);
		frame_of(dev, d, fr);
		rc = plan_frame(t, dev, s, fr, plan);
		if (rc != LB_ERR_TOO_LARGE)
			return rc;
	}
	return rc;
}

/* The frame did not fit any window. RP002-1.0.4's maximum payload M counts
 * FHDR's FOpts too, so a queued item must not be lost to the MAC commands
 * beside it: first the network's own requests shrink; then the item waits
 * in the queue (FPending set) and the device's answers and ACK go, as
 * ChirpStack puts MAC commands first. An item too large even alone is
 * dropped, and the answers and ACK still go. Without the item, the
 * network's requests have the room of a frame of their own again. */
static int fit_frame(struct txsched *t, struct lb_device *dev, const struct txsched_slot *s,
		     struct decision *d, struct downlink_frame *fr, struct downlink_plan *plan)
{
	int rc = shrink_requests(t, dev, s, d, fr, plan);

	if (rc != LB_ERR_TOO_LARGE || !d->has_item)
		return rc;
	size_t answers = d->mac_len;
	d->mac_len = 0;
	frame_of(dev, d, fr);
	rc = answers > 0 ? plan_frame(t, dev, s, fr, plan) : LB_ERR_TOO_LARGE;
	d->mac_len = answers;
	d->has_item = false;
	if (rc == LB_OK) {
		d->more = true;
		LB_LOG_RL(LOG_LVL_INFO, "txsched", "device %s: queue item %s waits for the next "
			  "window: it does not fit beside the MAC answers", dev->name, d->item.id);
	} else {
		refuse_too_large(t, dev, s, &d->item);
		d->more = d->queued > 1;
	}
	add_requests(t, dev, s, d);
	if (!dev->rt.ack_due && d->mac_len == 0 && !s->mac_wanted) {
		d->said = true;   /* the dropped item's `log` event says it */
		return LB_ERR_TOO_LARGE;
	}
	frame_of(dev, d, fr);
	rc = plan_frame(t, dev, s, fr, plan);
	return rc == LB_ERR_TOO_LARGE ? shrink_requests(t, dev, s, d, fr, plan) : rc;
}

/* Build, plan and launch the frame for dev from slot s. */
static int transmit(struct txsched *t, struct lb_device *dev, struct txsched_slot *s,
		    struct decision *d)
{
	struct downlink_pending_entry e;
	struct downlink_frame fr;
	uint8_t phy[LW_MAX_PHY];
	size_t len;

	memset(&e, 0, sizeof(e));
	int rc = budget_downlink_allowed(t->c.budget, dev, txsched_in_flight(t, dev->dev_eui));
	if (rc != LB_OK) {
		if (d->has_item)
			refuse_item(t, dev, &d->item, "FAIR_ACCESS",
				    "the device's downlink budget is used up "
				    "(fair_access.action = enforce)");
		else
			devevent_log(t->c.ev, dev, "ERROR", "FAIR_ACCESS",
				     "acknowledgement / MAC answer not sent: the device's downlink "
				     "budget is used up (fair_access.action = enforce)", 0);
		dev->rt.ack_due = false;
		return rc;
	}
	if (t->c.netmac)
		netmac_load(t->c.netmac, dev);   /* the receive windows it confirmed */
	frame_of(dev, d, &fr);
	rc = plan_frame(t, dev, s, &fr, &e.plan);
	if (rc == LB_ERR_TOO_LARGE)
		rc = fit_frame(t, dev, s, d, &fr, &e.plan);
	if (rc != LB_OK) {
		if (d->has_item)
			refuse_too_large(t, dev, s, &d->item);
		return rc;
	}
	/* Taken again after waiting for the disk: only windows still ahead. */
	if (s->waited && drop_past_windows(&e.plan, s->heard_ms, d->now_ms) == 0)
		return LB_ERR_TIMEOUT;
	/* The regional duty cycle of the gateway: RX1 if its sub-band has
	 * room, else RX2, else not at all (the item stays queued). */
	int first = budget_choose_window(t->c.budget, e.plan.gateway_eui, &e.plan);
	if (first < 0) {
		if (requests_only(dev, s, d))
			return mac_backoff(t, dev, &e.plan, d->now_us / 1000);
		devevent_log(t->c.ev, dev, "WARNING", "DUTY_CYCLE",
			     "downlink not sent: the gateway's duty cycle leaves no room in RX1 or "
			     "RX2", e.plan.gateway_eui);
		return LB_ERR_FULL;
	}
	rc = txsched_reserve_fcnt(t, dev, &e.fcnt_down);
	if (rc != LB_OK)
		return rc;
	fr.fcnt_down = e.fcnt_down;
	struct lw_keys *ks;
	rc = devices_keys(t->c.devices, dev, &ks);
	if (rc != LB_OK)
		return rc;
	rc = downlink_build(&fr, ks, phy, sizeof(phy), &len);
	if (rc == LB_OK)
		rc = downlink_plan_set_payload(&e.plan, phy, len);
	if (rc != LB_OK)
		return rc;
	skip_windows(&e, first);
	fcntdown_used(&dev->rt.fcnt_down);
	dev->rt.ack_due = false;
	dev->rt.mac_hold_logged = false;   /* mac_backoff(): its episode ends */
	e.gateway_eui = e.plan.gateway_eui;
	e.dev_eui = dev->dev_eui;
	e.confirmed = fr.confirmed;
	e.ref = d->has_item ? QUEUE_REF : BRIDGE_REF;
	if (d->has_item)
		snprintf(e.id, sizeof(e.id), "%s", d->item.id);
	t->stats.scheduled++;
	if (t->c.netmac)
		netmac_sent(t->c.netmac, dev, d->req_kinds);
	launch(t, &e);
	return LB_OK;
}

/* The slot's answers, then the network's requests that fit: in FOpts
 * beside a queued item, else up to PORT0_MAC_MAX (FPort 0 beyond 15). */
static void add_requests(struct txsched *t, struct lb_device *dev, const struct txsched_slot *s,
			 struct decision *d)
{
	memcpy(d->mac, s->mac, s->mac_len);
	d->mac_len = s->mac_len;
	if (!t->c.netmac)
		return;
	size_t cap = (d->has_item ? TXSCHED_MAC_MAX : PORT0_MAC_MAX) - s->mac_len;
	d->mac_len += netmac_requests(t->c.netmac, dev, d->mac + s->mac_len, cap, &d->req_kinds);
}

/* The oldest queued item that has not expired; expired ones are noted to
 * be dropped (expiresAt of the downlink command: not sent after it). */
static int first_item(void *arg, const struct store_downlink *row)
{
	struct decision *d = arg;

	if (row->state != STORE_DL_QUEUED)
		return 0;
	if (row->has_expires_at && row->expires_at_us <= d->now_us) {
		if (d->n_expired < EXPIRED_MAX)
			snprintf(d->expired[d->n_expired], STORE_DL_ID_SIZE, "%s", row->id);
		d->n_expired++;
		return 0;
	}
	if (!d->has_item) {
		d->item = *row;
		d->has_item = true;
	}
	d->queued++;
	return 0;
}

static void drop_expired(struct txsched *t, struct lb_device *dev, const struct decision *d)
{
	for (size_t i = 0; i < d->n_expired && i < EXPIRED_MAX; i++)
		txsched_drop_item(t, dev, d->expired[i], "EXPIRED",
			  "its expiresAt passed before a receive window could carry it", NULL);
	/* more than EXPIRED_MAX: the rest go at the next decision (skipped until then) */
}

static bool in_flight(const struct txsched *t, uint64_t dev_eui)
{
	return downlink_pending_has_device(&t->pending, dev_eui);
}

size_t txsched_in_flight(const struct txsched *t, uint64_t dev_eui)
{
	return downlink_pending_count_device(&t->pending, dev_eui);
}

bool txsched_busy(const struct txsched *t, uint64_t dev_eui)
{
	return due_find(t, dev_eui) >= 0 || in_flight(t, dev_eui);
}

void txsched_set_hooks(struct txsched *t, const struct txsched_hooks *h)
{
	t->hooks = *h;
}

void txsched_launch_item(struct txsched *t, struct downlink_pending_entry *e)
{
	e->ref = QUEUE_REF;
	t->stats.scheduled++;
	launch(t, e);
}

/* Take the slot's decision. LB_ERR_AGAIN: its downlink counter waits for
 * the disk, take it again later (nothing was sent or used); LB_ERR_TIMEOUT:
 * taken again too late for its windows; LB_ERR_IO: its counter cannot be
 * committed (txsched_reserve_fcnt(), the only source of LB_ERR_IO in
 * transmit()). */
static int decide(struct txsched *t, struct txsched_slot *s, int64_t now_ms)
{
	struct lb_device *dev = devices_find_eui(t->c.devices, s->dev_eui);
	struct decision d = {.now_us = loop_wall_us(), .now_ms = now_ms};

	if (!dev || !dev->has_session || s->n_rx == 0)
		return LB_OK;
	/* One confirmed downlink at a time: the next waits for its ACK. A
	 * frame still awaiting its TX_ACK (class C) keeps the queue too. The
	 * store knows, without reading, which devices have no queue at all. */
	if (!dev->rt.confirmed && !in_flight(t, dev->dev_eui) &&
	    store_downlink_maybe(t->c.store, dev->dev_eui)) {
		int qrc = store_downlink_list(t->c.store, dev->dev_eui, first_item, &d);
		if (qrc != LB_OK) {
			LB_LOG_RL(LOG_LVL_ERROR, "txsched", "device %s: downlink queue not read (%s): "
				  "only an ACK or MAC answer can go in this window", dev->name,
				  lb_strerror(qrc));
			d.has_item = false;
			d.n_expired = 0;
		}
		drop_expired(t, dev, &d);
	}
	if (requests_only(dev, s, &d) && d.now_us / 1000 < dev->rt.mac_dc_retry_ms)
		return LB_OK;   /* mac_backoff(): no room before then */
	add_requests(t, dev, s, &d);
	if (!d.has_item && !dev->rt.ack_due && d.mac_len == 0 && !s->mac_wanted) {
		dev->rt.mac_hold_logged = false;   /* nothing waits (mac_backoff()) */
		return LB_OK;
	}
	int rc = transmit(t, dev, s, &d);
	if (rc == LB_ERR_AGAIN || rc == LB_ERR_TIMEOUT || rc == LB_ERR_IO)
		return rc;
	/* Budget and duty-cycle refusals were reported as `log` events. */
	if (rc != LB_OK && rc != LB_ERR_FULL && rc != LB_ERR_RATE_LIMIT && !d.said)
		LB_LOG_RL(LOG_LVL_WARN, "txsched", "device %s: downlink not sent: %s", dev->name,
			  lb_strerror(rc));
	return LB_OK;
}

void txsched_join_missed(struct txsched *t, struct lb_device *dev, const char *desc,
			 uint64_t gateway_eui)
{
	t->stats.failed++;
	devevent_log(t->c.ev, dev, "ERROR", "OTAA", desc, gateway_eui);
}

int txsched_join_accept(struct txsched *t, struct lb_device *dev, const uint8_t *phy, size_t len,
			const struct lb_rx *rx, size_t n_rx, int64_t heard_ms)
{
	struct downlink_pending_entry e;
	struct lb_rx best[TXSCHED_RX];

	memset(&e, 0, sizeof(e));
	size_t n = txsched_best_rx(rx, n_rx, best);
	struct downlink_plan_in in = {.region = t->c.region, .rx = best, .n_rx = n,
				      .rp = dev->regional_parameters, .join_accept = true,
				      .phy = phy, .phy_len = len};
	int rc = downlink_plan(&in, &e.plan);
	if (rc != LB_OK || e.plan.n_attempts == 0)
		return rc != LB_OK ? rc : LB_ERR_TOO_LARGE;
	int64_t now = loop_now_ms();
	if (drop_past_windows(&e.plan, heard_ms, now) == 0) {
		log_warn("txsched", "device %s: join-accept not sent: both receive windows passed "
			 "(the join-request arrived %lld ms ago)", dev->name,
			 (long long)(now - heard_ms));
		txsched_join_missed(t, dev, "join-accept not sent: too late for both receive windows",
				    e.plan.gateway_eui);
		return LB_ERR_TIMEOUT;
	}
	int first = budget_choose_window(t->c.budget, e.plan.gateway_eui, &e.plan);
	if (first < 0) {
		devevent_log(t->c.ev, dev, "WARNING", "DUTY_CYCLE",
			     "join-accept not sent: the gateway's duty cycle leaves no room",
			     e.plan.gateway_eui);
		return LB_ERR_FULL;
	}
	skip_windows(&e, first);
	e.gateway_eui = e.plan.gateway_eui;
	e.dev_eui = dev->dev_eui;
	e.ref = JOIN_REF;
	snprintf(e.id, sizeof(e.id), "join");
	t->stats.scheduled++;
	launch(t, &e);
	return LB_OK;
}

/* ------------------------------------------------------- TX_ACK */

int txsched_tx_ack(struct txsched *t, uint64_t gateway_eui, const uint8_t token[GWMP_LEN_TOKEN],
		   const struct udp_peer *from, const struct gwmp_txack *ack)
{
	struct downlink_pending_entry e;

	int rc = downlink_pending_take(&t->pending, gateway_eui, token,
				       (const struct sockaddr *)&from->addr, from->len, &e);
	if (rc == LB_ERR_ADDRESS_MISMATCH) {
		char peer[64];
		udp_peer_str(from, peer, sizeof(peer));
		LB_LOG_RL(LOG_LVL_WARN, "txsched", "TX_ACK %02x%02x of gateway %016llx from %s, "
			  "not from where its PULL_RESP went: ignored", token[0], token[1],
			  (unsigned long long)gateway_eui, peer);
		return rc;
	}
	if (rc != LB_OK) {
		log_debug("txsched", "TX_ACK %02x%02x from %016llx matches no downlink", token[0],
			  token[1], (unsigned long long)gateway_eui);
		return LB_OK;   /* late or duplicate: nothing to do */
	}
	switch (downlink_txack_apply(&e, ack)) {
	case DOWNLINK_TXACK_SENT:
		finish_sent(t, &e);
		break;
	case DOWNLINK_TXACK_RETRY:
		/* The refused window's hold is given back; the retry holds its own. */
		budget_release(t->c.budget, e.gateway_eui, &e.plan.attempt[e.attempt - 1]);
		if (!budget_window_ok(t->c.budget, e.gateway_eui, &e.plan.attempt[e.attempt])) {
			snprintf(e.status[e.attempt], DOWNLINK_STATUS_LEN, "DUTY_CYCLE");
			finish_failed(t, &e, "RX2's sub-band has no duty cycle left");
			break;
		}
		LB_LOG_RL(LOG_LVL_INFO, "txsched", "gateway %016llx refused %s (%s): trying %s",
			  (unsigned long long)gateway_eui,
			  window_name(e.plan.attempt[e.attempt - 1].window), ack->error,
			  window_name(e.plan.attempt[e.attempt].window));
		launch(t, &e);
		break;
	case DOWNLINK_TXACK_FAILED:
		budget_release(t->c.budget, e.gateway_eui, &e.plan.attempt[e.attempt]);
		finish_failed(t, &e, ack->error);
		break;
	}
	return LB_OK;
}

/* After decide() returned rc: true when the decision waits for the disk
 * (taken again, it plans only the windows still TXSCHED_LEAD_MS ahead, so
 * it ends by RX2). One whose windows passed meanwhile (LB_ERR_TIMEOUT), or
 * whose counter cannot be committed (LB_ERR_IO: a commit, or the staging
 * for it, failed), is given up: logged, counted as failed and a `log`
 * event F_CNT_DOWN (level WARNING); a queue item stays queued for the next
 * uplink. */
static bool wait_disk(struct txsched *t, struct txsched_slot *s, int rc)
{
	if (rc == LB_ERR_AGAIN) {
		s->waited = true;
		return true;
	}
	if (rc != LB_ERR_TIMEOUT && rc != LB_ERR_IO)
		return false;
	const char *why = rc == LB_ERR_IO
		? "downlink not sent: its frame counter could not be reserved on the disk (a "
		  "commit, or the staging for it, failed)"
		: "downlink not sent: its frame counter was not on the disk before its receive "
		  "windows passed";
	struct lb_device *dev = devices_find_eui(t->c.devices, s->dev_eui);
	t->stats.failed++;
	LB_LOG_RL(LOG_LVL_WARN, "txsched", "device %016llx: %s", (unsigned long long)s->dev_eui, why);
	if (!dev)
		return false;
	dev->rt.ack_due = false;
	log_fcnt_down(t, dev, "WARNING", why, s->rx[0].gateway_eui);
	return false;
}

static void on_expired(const uint8_t token[GWMP_LEN_TOKEN], struct downlink_pending_entry *e,
		       void *arg)
{
	struct txsched *t = arg;

	(void)token;
	/* The gateway may have transmitted it: charged to its duty cycle (the
	 * regulator's rule errs on the safe side), not to the device's fair
	 * access (a queue item is tried again, and counted when it goes). */
	budget_charge_gateway(t->c.budget, e->gateway_eui, &e->plan.attempt[e->attempt]);
	snprintf(e->status[e->attempt], DOWNLINK_STATUS_LEN, "TIMEOUT");
	finish_failed(arg, e, "no TX_ACK from the gateway");
}

/* The bridge stops before attempt e's TX_ACK came: as at its timeout, the
 * gateway may have transmitted it, so its airtime is charged (the
 * regulator's limit errs on the safe side, and the stored ledger keeps it
 * across the restart); no event: the flush has ended. */
static void on_stop(const uint8_t token[GWMP_LEN_TOKEN], struct downlink_pending_entry *e,
		    void *arg)
{
	struct txsched *t = arg;

	(void)token;
	budget_charge_gateway(t->c.budget, e->gateway_eui, &e->plan.attempt[e->attempt]);
}

size_t txsched_stop(struct txsched *t)
{
	return downlink_pending_expire(&t->pending, INT64_MAX, on_stop, t);
}

size_t txsched_awaiting(const struct txsched *t)
{
	return t->pending.n;
}

int64_t txsched_expire(struct txsched *t, int64_t now_ms)
{
	int64_t pd;

	downlink_pending_expire(&t->pending, now_ms, on_expired, t);
	return downlink_pending_next_deadline(&t->pending, &pd) == LB_OK ? pd : -1;
}

int64_t txsched_tick(struct txsched *t, int64_t now_ms)
{
	int64_t next = -1, pd;

	/* Earliest first; the slot is free again once its decision is taken,
	 * or waits again for the disk while its last window is ahead. */
	while (t->n_due > 0 && t->due[0].due_ms <= now_ms) {
		uint64_t dev_eui = t->due[0].dev_eui;
		uint16_t i = due_pop(t);
		struct txsched_slot *s = &t->slot[i];
		if (wait_disk(t, s, decide(t, s, now_ms))) {
			due_push(t, i, dev_eui, now_ms + TXSCHED_DISK_POLL_MS);
			continue;
		}
		t->free_slot[t->n_free++] = i;
	}
	if (t->n_due > 0)
		next = t->due[0].due_ms;
	pd = txsched_expire(t, now_ms);
	if (pd >= 0 && (next < 0 || pd < next))
		next = pd;
	return next;
}
