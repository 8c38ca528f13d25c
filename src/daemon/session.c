/* session.c - restore and stage device sessions. See session.h. */
#include "daemon/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/bridge.h"
#include "daemon/budget.h"
#include "base/lb_err.h"
#include "base/log.h"

struct restore_ctx {
	struct bridge *b;
	size_t restored;
	size_t orphans;
	size_t stale;
	int err;
};

static bool same_abp_session(const struct lb_device *dev, const struct store_session *row)
{
	return row->activation == LB_ACT_ABP && row->dev_addr == dev->dev_addr &&
	       memcmp(row->nwk_s_key, dev->keys.nwk_s_key.raw, STORE_KEY_LEN) == 0 &&
	       memcmp(row->app_s_key, dev->keys.app_s_key.raw, STORE_KEY_LEN) == 0;
}

static void restore_rt(struct lb_device *dev, const struct store_session *row)
{
	fcntdown_load(&dev->rt.fcnt_down, row->nfcnt_down);
	dev->rt.rx1_dr_offset = row->rx1_dr_offset;
	dev->rt.rx_delay_s = row->rx_delay;
	dev->rt.rx2_dr = row->rx2_dr;
	dev->rt.rx2_freq = row->rx2_freq;
	dev->rt.has_join_nonce = row->has_join_nonce_last;
	dev->rt.join_nonce = row->join_nonce_last;
	dev->rt.has_dev_nonce = row->has_dev_nonce_last;
	dev->rt.dev_nonce = row->dev_nonce_last;
	dev->rt.joined_at = row->joined_at;
}

/* ABP: the counter only moves forward, whichever of the configured floor
 * and the stored value is higher wins. */
static void restore_abp(struct lb_device *dev, const struct store_session *row)
{
	if (row->has_fcnt_up_last && (!dev->has_last_fcnt || row->fcnt_up_last > dev->last_fcnt_up)) {
		dev->has_last_fcnt = true;
		dev->last_fcnt_up = row->fcnt_up_last;
	}
	restore_rt(dev, row);
}

enum restore_outcome { RESTORED, STALE, FAILED };

/* Apply one stored row to its configured device. */
static enum restore_outcome apply_row(struct bridge *b, struct lb_device *dev,
				      const struct store_session *row)
{
	if (dev->activation == LB_ACT_ABP) {
		if (!same_abp_session(dev, row))
			return STALE;
		restore_abp(dev, row);
		return RESTORED;
	}
	if (row->activation != LB_ACT_OTAA || row->joined_at == 0)
		return STALE;
	if (devices_set_session(&b->devices, dev, row->dev_addr, row->nwk_s_key, row->app_s_key,
				row->has_fcnt_up_last, row->fcnt_up_last) != LB_OK)
		return FAILED;
	restore_rt(dev, row);
	return RESTORED;
}

static int restore_one(void *arg, const struct store_session *row)
{
	struct restore_ctx *c = arg;
	struct lb_device *dev = devices_find_eui(&c->b->devices, row->dev_eui);

	if (!dev) {
		c->orphans++;
		return 0;
	}
	switch (apply_row(c->b, dev, row)) {
	case RESTORED: c->restored++; break;
	case STALE: c->stale++; break;
	case FAILED: c->err = LB_ERR_CRYPTO; break;
	}
	return 0;
}

static int find_sent(void *arg, const struct store_downlink *row)
{
	struct lb_device *dev = arg;
	if (row->state != STORE_DL_SENT || dev->rt.confirmed_pending)
		return 0;
	dev->rt.confirmed_pending = true;
	snprintf(dev->rt.confirmed_id, sizeof(dev->rt.confirmed_id), "%s", row->id);
	dev->rt.confirmed_fcnt = row->has_fcnt_down ? row->fcnt_down : 0;
	return 0;
}
/* A confirmed downlink sent before the restart still waits for the ACK of
 * the device's next uplink. */
static void restore_confirmed(struct bridge *b, struct lb_device *dev)
{
	store_downlink_list(&b->store, dev->dev_eui, find_sent, dev);
}


int session_restore_device(struct bridge *b, struct lb_device *dev)
{
	struct store_session row;
	int rc = store_get_session(&b->store, dev->dev_eui, &row);

	if (rc == LB_ERR_NOT_FOUND)
		return LB_OK;
	if (rc != LB_OK) {
		log_error("session", "device %s: stored session unreadable: %s", dev->name,
			  lb_strerror(rc));
		return rc;
	}
	if (apply_row(b, dev, &row) == RESTORED)
		log_info("session", "device %s: stored session restored", dev->name);
	budget_restore_device(b, dev);
	restore_confirmed(b, dev);
	return LB_OK;
}

int session_restore(struct bridge *b)
{
	struct restore_ctx c = {.b = b};
	int rc = store_load_sessions(&b->store, restore_one, &c);

	if (rc != LB_OK) {
		log_error("session", "cannot load stored sessions: %s", lb_strerror(rc));
		return rc;
	}
	if (c.err != LB_OK)
		log_error("session", "a stored session could not be restored: %s",
			  lb_strerror(c.err));
	for (size_t i = 0; i < b->devices.n; i++) {
		budget_restore_device(b, &b->devices.dev[i]);
		restore_confirmed(b, &b->devices.dev[i]);
	}
	log_notice("session", "%zu stored session(s) restored", c.restored);
	if (c.stale)
		log_notice("session", "%zu stored session(s) ignored: keys changed in the "
			   "configuration", c.stale);
	if (c.orphans)
		log_notice("session", "%zu stored session(s) of devices no longer configured are "
			   "kept; remove them with `lorabridge --purge DEVEUI`", c.orphans);
	return LB_OK;
}

int session_stage(struct bridge *b, struct lb_device *dev)
{
	struct store_session row;

	memset(&row, 0, sizeof(row));
	row.dev_eui = dev->dev_eui;
	row.activation = dev->activation;
	row.dev_addr = dev->dev_addr;
	if (dev->has_session) {
		memcpy(row.nwk_s_key, dev->keys.nwk_s_key.raw, STORE_KEY_LEN);
		memcpy(row.app_s_key, dev->keys.app_s_key.raw, STORE_KEY_LEN);
	}
	row.has_fcnt_up_last = dev->has_last_fcnt;
	row.fcnt_up_last = dev->last_fcnt_up;
	row.nfcnt_down = dev->rt.fcnt_down.ceiling;
	row.rx1_dr_offset = dev->rt.rx1_dr_offset;
	row.rx_delay = dev->rt.rx_delay_s;
	row.rx2_dr = dev->rt.rx2_dr;
	row.rx2_freq = dev->rt.rx2_freq;
	row.has_join_nonce_last = dev->rt.has_join_nonce;
	row.join_nonce_last = dev->rt.join_nonce;
	row.has_dev_nonce_last = dev->rt.has_dev_nonce;
	row.dev_nonce_last = dev->rt.dev_nonce;
	row.joined_at = dev->rt.joined_at;
	int rc = store_put_session(&b->store, &row);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_ERROR, "session", "device %s: session not staged: %s", dev->name,
			  lb_strerror(rc));
		return rc;
	}
	dev->rt.batch = store_batch(&b->store);
	return LB_OK;
}

void session_touch(struct bridge *b, struct lb_device *dev)
{
	dev->rt.batch = store_batch(&b->store);
	if (dev->rt.dirty)
		return;
	size_t idx = (size_t)(dev - b->devices.dev);
	if (b->n_dirty == b->dirty_cap) {
		size_t cap = b->dirty_cap ? 2 * b->dirty_cap : 64;
		uint32_t *d = realloc(b->dirty, cap * sizeof(*d));
		if (!d) {
			/* No room to remember it: stage it now instead. */
			session_stage(b, dev);
			return;
		}
		b->dirty = d;
		b->dirty_cap = cap;
	}
	if (b->n_dirty == 0)
		b->dirty_since_ms = loop_now_ms();
	b->dirty[b->n_dirty++] = (uint32_t)idx;
	dev->rt.dirty = true;
}

/* The device's fair-access ledger rides with its session row. */
static int stage_ledger(struct bridge *b, struct lb_device *dev)
{
	uint8_t blob[FA_ENCODED_MAX];
	size_t len;

	if (fa_encode(&dev->rt.fa, blob, sizeof(blob), &len) != LB_OK)
		return LB_OK;
	return store_ledger_put(&b->store, dev->dev_eui, STORE_LEDGER_FAIR_ACCESS, blob, len);
}

int session_flush(struct bridge *b)
{
	while (b->n_dirty > 0) {
		struct lb_device *dev = &b->devices.dev[b->dirty[b->n_dirty - 1]];
		int rc = session_stage(b, dev);
		if (rc == LB_OK)
			rc = stage_ledger(b, dev);
		if (rc != LB_OK)
			return rc; /* stays dirty: the batch must not commit without it */
		dev->rt.dirty = false;
		b->n_dirty--;
	}
	return LB_OK;
}

int session_commit(struct bridge *b)
{
	int rc = session_flush(b);
	if (rc != LB_OK)
		return rc;
	return store_commit(&b->store);
}

int64_t session_tick(struct bridge *b, int64_t now_ms)
{
	int64_t due = -1;

	if (b->n_dirty > 0)
		due = b->dirty_since_ms + b->cfg.state_commit_ms;
	int64_t sdue = store_due_ms(&b->store);
	if (sdue >= 0 && (due < 0 || sdue < due))
		due = sdue;
	if (due < 0 || now_ms < due)
		return due;
	/* Flushing opens or extends the store's batch: commit it now, not one
	 * more commit interval later. */
	if (session_commit(b) != LB_OK)
		return now_ms + STORE_RETRY_MS;
	return store_due_ms(&b->store);
}

void session_reset_dirty(struct bridge *b)
{
	b->n_dirty = 0;
}
