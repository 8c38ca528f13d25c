/* SPDX-License-Identifier: MIT */
/* session.c - restore and stage device sessions. See session.h. */
#include "daemon/session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "io/loop.h"
#include "lorawan/lwcrypto.h"

_Static_assert(STORE_SESSION_ID_LEN == LW_SESSION_ID_LEN, "a session id is a SHA-256");
_Static_assert(STORE_KEY_LEN == LW_KEY_LEN, "session keys are AES-128 keys");

/* A stored row of another DevEUI, or a stored pending row of any,
 * holding a configured ABP device's session (DevAddr and keys): that device
 * goes on above its counters. */
struct foreign {
	uint32_t idx;                    /* the configured device */
	uint64_t dev_eui;                /* the row's */
	bool pending;                    /* a `pending_session` row */
	bool has_fcnt_up_last;
	uint32_t fcnt_up_last;
	uint32_t nfcnt_down;
};

/* The session ids abp_seen holds, sorted: a device whose id is not among
 * them needs no read. */
struct idset {
	uint8_t (*id)[STORE_SESSION_ID_LEN];
	size_t n, cap;
};

struct restore_ctx {
	struct sessions *s;
	struct idset ids;
	bool only_new;                   /* a reload: only the devices not kept */
	size_t restored;
	size_t orphans;
	size_t stale;
	size_t failed;
	uint32_t *changed;               /* indexes of the devices counted stale */
	size_t n_changed, cap_changed;
	struct foreign *foreign;
	size_t n_foreign, cap_foreign;
	uint8_t *mark;                   /* per device index: MARK_* */
	struct orphan_abp *orphan_abp;   /* ABP rows of DevEUIs not configured, */
	size_t n_orphan_abp, cap_orphan_abp;   /* by DevAddr once all are read */
};

enum { MARK_STALE = 1, MARK_RAISED = 2 };

static int restore_pending(struct restore_ctx *c);
static int void_pending(struct sessions *s, const struct idset *known, const struct foreign *f,
			const struct lb_device *dev);

static bool same_abp_session(const struct lb_device *dev, const struct store_session *row)
{
	return row->activation == LB_ACT_ABP && row->dev_addr == dev->dev_addr &&
	       memcmp(row->nwk_s_key, dev->nwk_s_key, STORE_KEY_LEN) == 0 &&
	       memcmp(row->app_s_key, dev->app_s_key, STORE_KEY_LEN) == 0;
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
	dev->rt.joined_at = macstate_joined_s(row->joined_at);
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

/* ---- which devices' stored rows are whole ------------------------------- */

static bool is_whole(const struct sessions *s, uint32_t i)
{
	return i / 8 < s->whole_bytes && (s->whole[i / 8] >> (i % 8) & 1);
}

/* Setting may fail (no memory): the bit stays clear, so the device's next
 * row is written whole, which is always right. */
static void set_whole(struct sessions *s, uint32_t i, bool whole)
{
	if (i / 8 >= s->whole_bytes) {
		if (!whole)
			return;
		size_t bytes = (size_t)i / 8 + 1 + s->devices->n / 8;
		uint8_t *w = realloc(s->whole, bytes);
		if (!w)
			return;
		memset(w + s->whole_bytes, 0, bytes - s->whole_bytes);
		s->whole = w;
		s->whole_bytes = bytes;
	}
	if (whole)
		s->whole[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		s->whole[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static uint32_t dev_index(const struct sessions *s, const struct lb_device *dev)
{
	return (uint32_t)(dev - s->devices->dev);
}

/* Whether two rows agree on everything but the counters (and updated_at). */
static bool same_but_counters(const struct store_session *a, const struct store_session *b)
{
	return a->activation == b->activation && a->dev_addr == b->dev_addr &&
	       memcmp(a->nwk_s_key, b->nwk_s_key, STORE_KEY_LEN) == 0 &&
	       memcmp(a->app_s_key, b->app_s_key, STORE_KEY_LEN) == 0 &&
	       a->rx1_dr_offset == b->rx1_dr_offset && a->rx2_dr == b->rx2_dr &&
	       a->rx2_freq == b->rx2_freq && a->rx_delay == b->rx_delay &&
	       a->has_join_nonce_last == b->has_join_nonce_last &&
	       a->join_nonce_last == b->join_nonce_last &&
	       a->has_dev_nonce_last == b->has_dev_nonce_last &&
	       a->dev_nonce_last == b->dev_nonce_last && a->joined_at == b->joined_at;
}

static void session_row(const struct lb_device *dev, struct store_session *row);

/* After a restore: the stored row is whole when the device, as restored,
 * would write the same row but for its counters. */
static void note_restored(struct sessions *s, const struct lb_device *dev,
			  const struct store_session *stored)
{
	struct store_session now;

	session_row(dev, &now);
	set_whole(s, dev_index(s, dev), same_but_counters(&now, stored));
}

enum restore_outcome { RESTORED, STALE, FAILED };

/* Apply one stored row to its configured device. */
static enum restore_outcome apply_row(struct sessions *s, struct lb_device *dev,
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
	int rc = devices_set_session(s->devices, dev, row->dev_addr, row->nwk_s_key,
				     row->app_s_key, row->has_fcnt_up_last, row->fcnt_up_last);
	if (rc != LB_OK) {
		log_error("session", "device %s: stored session not restored (%s): the device "
			  "must join again", dev->name, lb_strerror(rc));
		return FAILED;
	}
	restore_rt(dev, row);
	return RESTORED;
}

/* ---- sessions seen before (store_abp.h) --------------------------------- */

/* A stored row holds a session (DevAddr and keys) when it is ABP or a
 * joined OTAA one: an ABP device configured with a joined session's keys
 * must not reuse its counters either. */
static bool row_has_session(const struct store_session *row)
{
	return row->activation == LB_ACT_ABP ||
	       (row->activation == LB_ACT_OTAA && row->joined_at != 0);
}

/* The stored row's session is being left: its counters are kept among the
 * device's sessions seen (staged; merged with what was kept of it). name:
 * the device's, for the log. */
static int remember(struct store *store, const char *name, const struct store_session *row)
{
	struct store_abp_seen seen = {.dev_eui = row->dev_eui,
				      .has_fcnt_up_last = row->has_fcnt_up_last,
				      .fcnt_up_last = row->fcnt_up_last,
				      .nfcnt_down = row->nfcnt_down};

	if (!row_has_session(row))
		return LB_OK;
	int rc = lwcrypto_abp_session_id(row->dev_addr, row->nwk_s_key, row->app_s_key, seen.id);
	if (rc != LB_OK) {
		log_error("session", "device %s: previous session not identified (SHA-256: %s): "
			  "its counters are not kept", name, lb_strerror(rc));
		return rc;
	}
	rc = store_abp_seen_put(store, &seen);
	if (rc != LB_OK && rc != LB_ERR_FULL)   /* FULL: change_session() commits ahead */
		log_error("session", "device %s: counters of the previous session not staged: %s",
			  name, lb_strerror(rc));
	return rc;
}

static int remember_row(struct sessions *s, const struct lb_device *dev,
			const struct store_session *row)
{
	return remember(s->store, dev->name, row);
}

/* One stored row of the purged device (get: store_get_session or
 * get_pending_row; what: which, for the log) kept among the sessions
 * seen. */
static int keep_purged_row(struct store *store, uint64_t dev_eui, const char *name,
			   int (*get)(struct store *, uint64_t, struct store_session *),
			   const char *what)
{
	struct store_session row;
	int rc = get(store, dev_eui, &row);

	if (rc == LB_OK) {
		rc = remember(store, name, &row);
		if (rc == LB_ERR_FULL && (rc = store_commit_ahead(store)) == LB_OK)
			rc = remember(store, name, &row);
		if (rc == LB_ERR_FULL)
			log_error("session", "device %s: counters of its %s not staged: %s", name,
				  what, lb_strerror(rc));
	} else if (rc == LB_ERR_NOT_FOUND) {
		rc = LB_OK;
	} else {
		log_error("session", "device %s: stored %s unreadable: %s", name, what,
			  lb_strerror(rc));
	}
	explicit_bzero(&row, sizeof(row));   /* the keys, whatever the read left */
	return rc;
}

/* store_get_pending() as store_get_session() reads: the session alone. */
static int get_pending_row(struct store *store, uint64_t dev_eui, struct store_session *out)
{
	struct store_pending p;
	int rc = store_get_pending(store, dev_eui, &p);

	if (rc == LB_OK)
		*out = p.row;
	explicit_bzero(&p, sizeof(p));   /* the keys */
	return rc;
}

/* The pending row's counters too: a promotion that a crash lost may have
 * used the downlink counters below its ceiling (switch_to()). */
int sessions_keep_purged(struct store *store, uint64_t dev_eui)
{
	char name[17];

	snprintf(name, sizeof(name), "%016" PRIX64, dev_eui);
	int rc = keep_purged_row(store, dev_eui, name, store_get_session, "session");
	if (rc == LB_OK)
		rc = keep_purged_row(store, dev_eui, name, get_pending_row, "pending session");
	return rc;
}

/* dev's counters raised to a session's kept ones, never lowered (they
 * only move forward). The downlink counter resumes at the ceiling kept,
 * every counter below which may have been used: fcntdown_load() makes the
 * next downlink reserve and commit a new block above it before it uses
 * any (fcntdown.h). Whether anything rose. */
static bool raise_counters(struct lb_device *dev, bool has_up, uint32_t up, uint32_t down)
{
	bool raised = false;

	if (has_up && (!dev->has_last_fcnt || up > dev->last_fcnt_up)) {
		dev->has_last_fcnt = true;
		dev->last_fcnt_up = up;
		raised = true;
	}
	if (down > dev->rt.fcnt_down.ceiling) {
		fcntdown_load(&dev->rt.fcnt_down, down);
		raised = true;
	}
	return raised;
}

static void log_resumed(const struct lb_device *dev, const char *why, uint64_t eui)
{
	log_info("session", "device %s: ABP session seen before: counters resume at FCntUp %"
		 PRIu64 ", FCntDown %" PRIu32 " (%s %016" PRIX64 ")", dev->name,
		 dev->has_last_fcnt ? (uint64_t)dev->last_fcnt_up + 1 : 0,
		 dev->rt.fcnt_down.next, why, eui);
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, STORE_SESSION_ID_LEN);
}

static int idset_add(void *arg, const uint8_t id[STORE_SESSION_ID_LEN])
{
	struct idset *set = arg;

	if (lb_grow(&set->id, set->n, &set->cap, sizeof(*set->id), 64) != LB_OK) {
		log_error("session", "no memory for the ABP sessions seen");
		return LB_ERR_NOMEM;
	}
	memcpy(set->id[set->n++], id, STORE_SESSION_ID_LEN);
	return LB_OK;
}

/* The ids abp_seen holds now, sorted. */
static int idset_load(struct sessions *s, struct idset *set)
{
	int rc = store_abp_seen_ids(s->store, idset_add, set);

	if (rc != LB_OK) {
		log_error("session", "ABP sessions seen before unreadable: %s", lb_strerror(rc));
		return rc;
	}
	if (set->n > 1)
		qsort(set->id, set->n, sizeof(*set->id), id_cmp);
	return LB_OK;
}

/* dev's configured ABP session, if any device left it before (abp_seen,
 * whatever DevEUI kept it): its counters resume there. known: the ids
 * abp_seen holds (NULL: read it anyway). *raised: whether they rose. */
static int resume_seen(struct sessions *s, struct lb_device *dev, const struct idset *known,
		       bool *raised)
{
	struct store_abp_seen seen;
	uint8_t id[STORE_SESSION_ID_LEN];

	*raised = false;
	/* None seen (a site whose keys never changed): no digest either, so
	 * that the start does not load OpenSSL's default provider for nothing
	 * (1.3 MiB: README "Memory and start-up"). */
	if (known && known->n == 0)
		return LB_OK;
	int rc = lwcrypto_abp_session_id(dev->dev_addr, dev->nwk_s_key, dev->app_s_key, id);
	if (rc != LB_OK) {
		log_error("session", "device %s: ABP session not identified (SHA-256: %s)",
			  dev->name, lb_strerror(rc));
		return rc;
	}
	if (known && !bsearch(id, known->id, known->n, sizeof(*known->id), id_cmp))
		return LB_OK;
	rc = store_abp_seen_get(s->store, id, &seen);
	if (rc == LB_ERR_NOT_FOUND)
		return LB_OK;
	if (rc != LB_OK) {
		log_error("session", "device %s: ABP sessions seen before unreadable: %s",
			  dev->name, lb_strerror(rc));
		return rc;
	}
	*raised = raise_counters(dev, seen.has_fcnt_up_last, seen.fcnt_up_last, seen.nfcnt_down);
	if (*raised)
		log_resumed(dev, "left last by", seen.dev_eui);
	return LB_OK;
}

/* The device's stored row is not its configured session (its keys or
 * DevAddr changed, or its activation): the stored session's counters are
 * kept among those seen, a configured ABP session seen before resumes its
 * own, and its row is staged in the same batch (so the store never holds
 * the new row without the old session's counters kept). LB_OK or the
 * error (logged). */
static int change_session_once(struct sessions *s, struct lb_device *dev,
			       const struct store_session *row)
{
	int rc = remember_row(s, dev, row);
	bool raised;

	if (rc == LB_OK && (dev->activation != LB_ACT_ABP || !dev->has_session))
		return LB_OK;   /* OTAA: the row stays until the device joins */
	if (rc == LB_OK)
		rc = resume_seen(s, dev, NULL, &raised);
	return rc == LB_OK ? sessions_stage(s, dev) : rc;
}

static int change_session(struct sessions *s, struct lb_device *dev,
			  const struct store_session *row)
{
	int rc = change_session_once(s, dev, row);

	/* The batch outgrew the redo log (a start with a whole fleet's keys
	 * changed): what is staged is committed ahead (store_batch.h; each
	 * device's old counters before its new row), then this device again
	 * (its counters merge: staging it twice is harmless). */
	if (rc == LB_ERR_FULL) {
		rc = store_commit_ahead(s->store);
		if (rc == LB_OK)
			rc = change_session_once(s, dev, row);
	}
	if (rc != LB_OK && dev->activation == LB_ACT_ABP && dev->has_session) {
		/* Served with the configured counters, it could reuse those of
		 * keys it had, and its row would replace the stored session's
		 * before that one's counters are kept: not served until a
		 * reload or a restart reads them. */
		devices_drop_session(s->devices, dev);
		log_error("session", "device %s: not served until its counters can be read "
			  "(reload or restart): its ABP keys changed and the state directory "
			  "failed (see above)", dev->name);
	}
	return rc;
}

static bool taken(const struct restore_ctx *c, const struct lb_device *dev)
{
	return !c->only_new || !dev->state_kept;
}

static int push_changed(struct restore_ctx *c, uint32_t idx)
{
	if (lb_grow(&c->changed, c->n_changed, &c->cap_changed, sizeof(*c->changed), 16) != LB_OK) {
		log_error("session", "no memory for the list of changed sessions");
		return LB_ERR_NOMEM;
	}
	c->changed[c->n_changed++] = idx;
	return LB_OK;
}

/* A row of another DevEUI (no longer configured, or configured with other
 * keys now) holding the session of a configured ABP device being taken
 * in: noted, applied after the walk (its callback may not write). A
 * pending row (pending) counts whatever DevEUI it is of, the device's own
 * too: its NFCntDown ceiling is where a promotion that a crash lost may
 * have used downlink counters up to (switch_to()), as for a pending
 * session read back. */
static int note_foreign(struct restore_ctx *c, const struct store_session *row, bool pending)
{
	if (!row_has_session(row))
		return LB_OK;
	struct lb_device *dev = devices_find_abp(c->s->devices, row->dev_addr, row->nwk_s_key,
						 row->app_s_key);
	if (!dev || (!pending && dev->dev_eui == row->dev_eui) || !taken(c, dev))
		return LB_OK;
	if (lb_grow(&c->foreign, c->n_foreign, &c->cap_foreign, sizeof(*c->foreign), 8) != LB_OK) {
		log_error("session", "no memory for the list of sessions stored under other DevEUIs");
		return LB_ERR_NOMEM;
	}
	c->foreign[c->n_foreign++] = (struct foreign){
		.idx = dev_index(c->s, dev), .dev_eui = row->dev_eui, .pending = pending,
		.has_fcnt_up_last = row->has_fcnt_up_last, .fcnt_up_last = row->fcnt_up_last,
		.nfcnt_down = row->nfcnt_down};
	return LB_OK;
}

/* The session of an ABP row whose DevEUI is no longer configured. */
struct orphan_abp {
	uint64_t dev_eui;
	uint32_t dev_addr;
	uint8_t nwk_s_key[STORE_KEY_LEN], app_s_key[STORE_KEY_LEN];
};

/* An ABP row of a DevEUI no longer configured: its session served, its
 * counters moved on under it, so a pending row holding that session must
 * not be taken (orphan_abp_holds()). abp_seen does not hold it when the
 * device was removed before that table knew of pending rows (an upgrade).
 * Kept sorted by DevAddr once the rows are read (orphans_sort()): a site
 * may have left many. */
static int note_orphan_abp(struct restore_ctx *c, const struct store_session *row)
{
	if (row->activation != LB_ACT_ABP)
		return LB_OK;
	if (lb_grow(&c->orphan_abp, c->n_orphan_abp, &c->cap_orphan_abp,
		    sizeof(*c->orphan_abp), 8) != LB_OK) {
		log_error("session", "no memory for the ABP sessions of devices no longer "
			  "configured");
		return LB_ERR_NOMEM;
	}
	struct orphan_abp *o = &c->orphan_abp[c->n_orphan_abp++];
	o->dev_eui = row->dev_eui;
	o->dev_addr = row->dev_addr;
	memcpy(o->nwk_s_key, row->nwk_s_key, STORE_KEY_LEN);
	memcpy(o->app_s_key, row->app_s_key, STORE_KEY_LEN);
	return LB_OK;
}

static int orphan_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct orphan_abp *)a)->dev_addr;
	uint32_t y = ((const struct orphan_abp *)b)->dev_addr;

	return (x > y) - (x < y);
}

static void orphans_sort(struct restore_ctx *c)
{
	if (c->n_orphan_abp > 1)
		qsort(c->orphan_abp, c->n_orphan_abp, sizeof(*c->orphan_abp), orphan_cmp);
}

/* Whether another DevEUI's ABP row no longer configured has row's
 * session: the first of its DevAddr found by binary search, then those
 * of the same DevAddr compared. */
static bool orphan_abp_holds(const struct restore_ctx *c, const struct store_session *row)
{
	size_t lo = 0, hi = c->n_orphan_abp;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->orphan_abp[mid].dev_addr < row->dev_addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->n_orphan_abp && c->orphan_abp[lo].dev_addr == row->dev_addr; lo++) {
		const struct orphan_abp *o = &c->orphan_abp[lo];
		if (o->dev_eui != row->dev_eui &&
		    memcmp(o->nwk_s_key, row->nwk_s_key, STORE_KEY_LEN) == 0 &&
		    memcmp(o->app_s_key, row->app_s_key, STORE_KEY_LEN) == 0)
			return true;
	}
	return false;
}

static int restore_one(void *arg, const struct store_session *row)
{
	struct restore_ctx *c = arg;
	struct lb_device *dev = devices_find_eui(c->s->devices, row->dev_eui);
	int rc = note_foreign(c, row, false);

	if (rc != LB_OK)
		return rc;
	if (!dev) {
		c->orphans++;
		return note_orphan_abp(c, row);
	}
	if (!taken(c, dev))
		return 0;
	switch (apply_row(c->s, dev, row)) {
	case RESTORED:
		c->restored++;
		note_restored(c->s, dev, row);
		if (c->only_new)   /* a reload: said per device (a start counts them) */
			log_info("session", "device %s: stored session restored", dev->name);
		break;
	case FAILED: c->failed++; break;
	case STALE:
		/* Handled after the walk (its callback may not write). */
		c->stale++;
		c->mark[dev_index(c->s, dev)] |= MARK_STALE;
		return push_changed(c, dev_index(c->s, dev));
	}
	return 0;
}

static int64_t due_ms(void *arg)
{
	struct sessions *s = arg;
	return dirtyset_count(&s->dirty) ? s->dirty.since_ms + s->commit_ms : -1;
}

/* Stage the rows of the most recently marked devices, up to
 * STORE_MANY_ROWS of one kind, with one call (the store writes them with a
 * few statements) and unmark those staged: the counters alone of devices
 * whose stored row is whole, else whole rows (which are whole then). A
 * failure concerns the device then marked last: the disk or memory failed,
 * it stays marked and the batch waits for it; anything else would fail
 * again every time and hold every commit back: said and dropped. */
static int stage_group(struct sessions *s)
{
	struct store_session rows[STORE_MANY_ROWS];
	size_t n = 0, staged = 0, count = dirtyset_count(&s->dirty);
	uint32_t i;
	bool whole = count > 0 && is_whole(s, dirtyset_last(&s->dirty));

	while (n < STORE_MANY_ROWS && n < count &&
	       (i = dirtyset_back(&s->dirty, n)) < s->devices->n && is_whole(s, i) == whole)
		session_row(&s->devices->dev[i], &rows[n++]);
	if (n == 0) {   /* a device no longer configured */
		dirtyset_pop(&s->dirty);
		return LB_OK;
	}
	int rc = whole ? store_put_fcnts(s->store, rows, n, &staged)
		       : store_put_sessions(s->store, rows, n, &staged);
	for (; staged > 0; staged--) {
		set_whole(s, dirtyset_last(&s->dirty), true);
		dirtyset_pop(&s->dirty);
	}
	if (rc == LB_OK)
		return LB_OK;
	const struct lb_device *dev = &s->devices->dev[dirtyset_last(&s->dirty)];
	if (rc == LB_ERR_FULL)   /* committed ahead, the rest staged then (durable.h) */
		return rc;
	if (rc == LB_ERR_IO || rc == LB_ERR_NOMEM) {
		LB_LOG_RL(LOG_LVL_ERROR, "session", "device %s: session not staged: %s", dev->name,
			  lb_strerror(rc));
		return rc;
	}
	log_error("session", "device %s: session not stageable (%s): left out of the state",
		  dev->name, lb_strerror(rc));
	dirtyset_pop(&s->dirty);
	return LB_OK;
}

/* The durable part: every marked device's row into the open batch. */
static int stage_all(void *arg)
{
	struct sessions *s = arg;

	while (dirtyset_count(&s->dirty) > 0) {
		int rc = stage_group(s);
		if (rc != LB_OK)
			return rc;
	}
	return LB_OK;
}

int sessions_init(struct sessions *s, struct devices *devices, struct store *store,
		  struct durable *durable, int commit_ms)
{
	memset(s, 0, sizeof(*s));
	s->devices = devices;
	s->store = store;
	s->durable = durable;
	s->commit_ms = commit_ms;
	pending_init(&s->pending);
	return durable_add(durable, stage_all, due_ms, s);
}

void sessions_free(struct sessions *s)
{
	dirtyset_free(&s->dirty);
	pending_free(&s->pending);
	free(s->whole);
	s->whole = NULL;
	s->whole_bytes = 0;
}

/* dev's stored session row, if any, applied (or its session changed). */
static int restore_row(struct sessions *s, struct lb_device *dev)
{
	struct store_session row;
	int rc = store_get_session(s->store, dev->dev_eui, &row);

	if (rc == LB_ERR_NOT_FOUND)
		return LB_OK;
	if (rc != LB_OK) {
		log_error("session", "device %s: stored session unreadable: %s", dev->name,
			  lb_strerror(rc));
		return rc;
	}
	switch (apply_row(s, dev, &row)) {
	case RESTORED:
		note_restored(s, dev, &row);
		log_info("session", "device %s: stored session restored", dev->name);
		break;
	case STALE:
		return change_session(s, dev, &row);
	case FAILED:
		break;
	}
	return LB_OK;
}

/* The devices whose stored row is another session than configured, one
 * by one (each row read again: a rare case). */
static int change_sessions(struct sessions *s, const struct restore_ctx *c)
{
	for (size_t i = 0; i < c->n_changed; i++) {
		int rc = restore_row(s, &s->devices->dev[c->changed[i]]);
		if (rc != LB_OK)
			return rc;
	}
	return LB_OK;
}

/* dev's row staged now, the batch committed ahead if it outgrew the redo
 * log (change_session(), switch_to()). */
static int stage_ahead(struct sessions *s, struct lb_device *dev)
{
	int rc = sessions_stage(s, dev);

	if (rc == LB_ERR_FULL && (rc = store_commit_ahead(s->store)) == LB_OK)
		rc = sessions_stage(s, dev);
	return rc;
}

/* Not served: see sessions_restore_new() in session.h. */
static void fail_closed(struct sessions *s, struct lb_device *dev)
{
	if (dev->activation != LB_ACT_ABP || !dev->has_session)
		return;
	devices_drop_session(s->devices, dev);
	log_error("session", "device %s: not served until its counters can be read (reload or "
		  "restart): the state directory failed (see above)", dev->name);
}

/* Every ABP device taken in goes on above the counters of its session
 * wherever they were kept: in a row of another DevEUI or a pending row
 * (c->foreign), or among the sessions left by any device (abp_seen; those
 * whose row was stale read them in change_session()). Raised ones are
 * staged. Another DevEUI's pending session holding it is never taken after
 * (void_pending()). A device whose counters cannot be read, or whose
 * pending session there cannot be kept as used, is not served; the first
 * error is returned. */
static int resume_all(struct sessions *s, struct restore_ctx *c)
{
	int first = LB_OK;

	for (size_t i = 0; i < c->n_foreign; i++) {
		const struct foreign *f = &c->foreign[i];
		struct lb_device *dev = &s->devices->dev[f->idx];
		if (dev->has_session &&
		    raise_counters(dev, f->has_fcnt_up_last, f->fcnt_up_last, f->nfcnt_down)) {
			c->mark[f->idx] |= MARK_RAISED;
			log_resumed(dev, f->pending ? "pending for" : "stored for", f->dev_eui);
		}
		if (!f->pending || f->dev_eui == dev->dev_eui)
			continue;
		int rc = void_pending(s, &c->ids, f, dev);
		if (rc != LB_OK) {
			fail_closed(s, dev);
			if (first == LB_OK)
				first = rc;
		}
	}
	for (uint32_t i = 0; i < s->devices->n; i++) {
		struct lb_device *dev = &s->devices->dev[i];
		bool raised = false;
		int rc = LB_OK;
		if (!taken(c, dev) || dev->activation != LB_ACT_ABP || !dev->has_session)
			continue;
		if (!(c->mark[i] & MARK_STALE))
			rc = resume_seen(s, dev, &c->ids, &raised);
		if (rc == LB_OK && (raised || (c->mark[i] & MARK_RAISED)))
			rc = stage_ahead(s, dev);
		if (rc != LB_OK) {
			fail_closed(s, dev);
			if (first == LB_OK)
				first = rc;
		}
	}
	return first;
}

/* The stored sessions of the devices taken in (only_new: those a reload
 * did not keep; else all), then their pending sessions (the walk of the
 * pending rows notes those holding an ABP device's session), then every
 * ABP device's counters raised to its session's kept ones. */
static int restore_devices(struct sessions *s, bool only_new)
{
	struct restore_ctx c = {.s = s, .only_new = only_new};
	int rc = LB_OK;
	size_t n_taken = 0;

	for (uint32_t i = 0; i < s->devices->n; i++)
		n_taken += taken(&c, &s->devices->dev[i]);
	if (only_new && n_taken == 0)
		return LB_OK;   /* a reload that kept every device: nothing to read */
	c.mark = calloc(s->devices->n ? s->devices->n : 1, 1);
	if (!c.mark) {
		log_error("session", "no memory to restore the stored sessions");
		rc = LB_ERR_NOMEM;
	}
	if (rc == LB_OK)
		rc = store_load_sessions(s->store, restore_one, &c);
	orphans_sort(&c);
	if (rc == LB_OK)
		rc = change_sessions(s, &c);
	if (rc == LB_OK)   /* after: those left just now are among them */
		rc = idset_load(s, &c.ids);
	if (rc == LB_OK)
		rc = restore_pending(&c);
	if (rc == LB_OK)
		rc = resume_all(s, &c);
	if (rc != LB_OK) {
		log_error("session", "cannot load stored sessions: %s", lb_strerror(rc));
		/* Counters unchecked: no ABP device taken in is served. */
		for (uint32_t i = 0; i < s->devices->n; i++)
			if (taken(&c, &s->devices->dev[i]))
				fail_closed(s, &s->devices->dev[i]);
	}
	free(c.changed);
	free(c.foreign);
	if (c.orphan_abp)
		explicit_bzero(c.orphan_abp, c.cap_orphan_abp * sizeof(*c.orphan_abp));
	free(c.orphan_abp);
	free(c.mark);
	free(c.ids.id);
	if (rc != LB_OK)
		return rc;
	if (!only_new)
		log_notice("session", "%zu stored session(s) restored", c.restored);
	if (c.failed)
		log_error("session", "%zu stored session(s) could not be restored: those devices "
			  "must join again", c.failed);
	if (c.stale)
		log_notice("session", "%zu stored session(s) not taken: the configuration has "
			   "other keys, DevAddr or activation (their counters are kept for when "
			   "those keys come back)", c.stale);
	if (c.orphans && !only_new)
		log_notice("session", "%zu stored session(s) of devices no longer configured are "
			   "kept; remove them with `lorabridge --purge DEVEUI` (their counters "
			   "are kept still: see README \"Configuration and state\")", c.orphans);
	return LB_OK;
}

int sessions_restore(struct sessions *s)
{
	return restore_devices(s, false);
}

int sessions_restore_new(struct sessions *s)
{
	return restore_devices(s, true);
}

/* The device's row as the store keeps it. */
static void session_row(const struct lb_device *dev, struct store_session *row)
{
	memset(row, 0, sizeof(*row));
	row->dev_eui = dev->dev_eui;
	row->activation = dev->activation;
	row->dev_addr = dev->dev_addr;
	if (dev->has_session) {
		memcpy(row->nwk_s_key, dev->nwk_s_key, STORE_KEY_LEN);
		memcpy(row->app_s_key, dev->app_s_key, STORE_KEY_LEN);
	}
	row->has_fcnt_up_last = dev->has_last_fcnt;
	row->fcnt_up_last = dev->last_fcnt_up;
	row->nfcnt_down = dev->rt.fcnt_down.ceiling;
	row->rx1_dr_offset = dev->rt.rx1_dr_offset;
	row->rx_delay = dev->rt.rx_delay_s;
	row->rx2_dr = dev->rt.rx2_dr;
	row->rx2_freq = dev->rt.rx2_freq;
	row->has_join_nonce_last = dev->rt.has_join_nonce;
	row->join_nonce_last = dev->rt.join_nonce;
	row->has_dev_nonce_last = dev->rt.has_dev_nonce;
	row->dev_nonce_last = dev->rt.dev_nonce;
	row->joined_at = dev->rt.joined_at;
}

int sessions_stage(struct sessions *s, struct lb_device *dev)
{
	struct store_session row;

	session_row(dev, &row);
	int rc = store_put_session(s->store, &row);
	if (rc != LB_OK)
		LB_LOG_RL(LOG_LVL_ERROR, "session", "device %s: session not staged: %s", dev->name,
			  lb_strerror(rc));
	else
		set_whole(s, dev_index(s, dev), true);
	return rc;
}

/* List dev for the next commit, its change dated since_ms. An ABP device
 * without its session (change_session() failed) writes no row: it would
 * replace the stored session whose counters were not kept. */
static uint64_t mark(struct sessions *s, struct lb_device *dev, int64_t since_ms)
{
	uint32_t idx = dev_index(s, dev);
	int64_t now = loop_now_ms();

	if (dev->activation == LB_ACT_ABP && !dev->has_session)
		return durable_batch(s->durable);

	if (dirtyset_add(&s->dirty, idx, since_ms < now ? since_ms : now) != LB_OK) {
		/* No room to remember it: stage it now instead. A failure was
		 * logged; the row is staged again with the device's next change. */
		(void)sessions_stage(s, dev);
	}
	return durable_batch(s->durable);
}

uint64_t sessions_touch(struct sessions *s, struct lb_device *dev)
{
	set_whole(s, dev_index(s, dev), false);
	return mark(s, dev, loop_now_ms());
}

uint64_t sessions_touch_fcnt(struct sessions *s, struct lb_device *dev, int64_t since_ms)
{
	return mark(s, dev, since_ms);
}

/* A pending session is held only for a configured OTAA device. */
static bool held_for_configured(void *arg, const struct pending_session *p)
{
	struct sessions *s = arg;
	const struct lb_device *dev = devices_find_eui(s->devices, p->dev_eui);

	return dev && dev->activation == LB_ACT_OTAA;
}

static void set_aside_pending(struct sessions *s)
{
	size_t dropped = pending_retain(&s->pending, held_for_configured, s);

	if (dropped)
		log_notice("session", "%zu pending session(s) of devices no longer configured for "
			   "OTAA set aside: their stored rows are kept (until `lorabridge --purge "
			   "DEVEUI`) and taken back if the device is configured again", dropped);
}

void sessions_forget(struct sessions *s)
{
	dirtyset_clear(&s->dirty);
	if (s->whole)
		memset(s->whole, 0, s->whole_bytes);
	set_aside_pending(s);
}

/* ---- pending sessions ---------------------------------------------------- */

static void wipe(void *p, size_t len)
{
	explicit_bzero(p, len);
}

static void pending_of_row(const struct store_session *row, struct pending_session *p)
{
	memset(p, 0, sizeof(*p));
	p->dev_eui = row->dev_eui;
	p->joined_at = row->joined_at;
	p->dev_addr = row->dev_addr;
	p->nfcnt_down = row->nfcnt_down;
	p->rx2_freq = row->rx2_freq;
	memcpy(p->nwk_s_key, row->nwk_s_key, LW_KEY_LEN);
	memcpy(p->app_s_key, row->app_s_key, LW_KEY_LEN);
	p->rx1_dr_offset = row->rx1_dr_offset;
	p->rx2_dr = row->rx2_dr;
	p->rx_delay = row->rx_delay;
}

void sessions_pending_note(const struct lb_device *dev, struct store_pending *row)
{
	/* An OTAA session's join time tells it from the device's next one
	 * (otaa.c gives a join in the same second the next one). */
	row->has_current = dev->has_session && dev->rt.joined_at != 0;
	row->current_joined_at = dev->rt.joined_at;
	row->has_current_fcnt_up = row->has_current && dev->has_last_fcnt;
	row->current_fcnt_up = row->has_current_fcnt_up ? dev->last_fcnt_up : 0;
}

/* The current session's last accepted FCntUp when p's join was made, as
 * its row noted it: the repeats of it and of older frames do not say the
 * device kept that session (sessions_current_repeated()), a frame above it
 * accepted since (the device restored with a higher FCntUp, at a start)
 * does. A row without the note, or noted under another session than the
 * device has now (a promotion whose pending row stayed), counts from the
 * FCntUp the device has now. */
static void note_fcnt_up(struct pending_session *p, const struct store_pending *row,
			 const struct lb_device *dev)
{
	if (!row->has_current || !dev->has_session ||
	    row->current_joined_at != dev->rt.joined_at) {
		p->had_fcnt_up = dev->has_last_fcnt;
		p->fcnt_up = dev->last_fcnt_up;
		return;
	}
	p->had_fcnt_up = row->has_current_fcnt_up;
	p->fcnt_up = row->current_fcnt_up;
	p->current_heard = dev->has_last_fcnt &&
			   (!p->had_fcnt_up || dev->last_fcnt_up > p->fcnt_up);
}

/* dev's session becomes p (TS001-1.0.4 §6.2.6: counters at 0, the receive
 * settings of the join-accept), staged with the next commit, the pending
 * row deleted in the same batch. batch: the one that holds p's first
 * downlink counters, 0 if it is on the disk. */
static int switch_to(struct sessions *s, struct lb_device *dev, const struct pending_session *p,
		     uint64_t batch)
{
	int rc = devices_set_session(s->devices, dev, p->dev_addr, p->nwk_s_key, p->app_s_key,
				     false, 0);
	if (rc != LB_OK) {
		log_error("session", "device %s: the session of its last join not taken (%s)",
			  dev->name, lb_strerror(rc));
		return rc;
	}
	if (batch) {
		fcntdown_start(&dev->rt.fcnt_down, p->nfcnt_down, batch);
	} else {
		/* A pending session read back at a start may have been promoted
		 * before a crash lost that promotion, and its downlinks sent:
		 * it resumes at its ceiling, as a restored session does
		 * (store.h COUNTER RULES). */
		fcntdown_load(&dev->rt.fcnt_down, p->nfcnt_down);
		if (!p->from_store)
			dev->rt.fcnt_down.next = 0;
	}
	dev->rt.rx1_dr_offset = p->rx1_dr_offset;
	dev->rt.rx_delay_s = p->rx_delay & 0x0f;
	dev->rt.rx2_dr = p->rx2_dr;
	dev->rt.rx2_freq = p->rx2_freq;
	/* a new join time: the MAC state of the old session is not this one's
	 * (netmac.h) */
	dev->rt.joined_at = macstate_joined_s(p->joined_at);
	dev->rt.ack_due = false;
	dev->rt.retx_acks = 0;
	/* At a promotion the uplink settles an awaited confirmed downlink
	 * (uplink.c: its `ack` event, its row); at once, the join flushed the
	 * queue. */
	if (batch)
		devices_clear_confirmed(dev);
	/* The new row first, then the pending row's deletion: a batch
	 * committed in parts (store.h, LB_ERR_FULL) never holds the deletion
	 * without the row. A redo log too full for the row (but maybe not for
	 * the deletion, a smaller record) is committed ahead first. A row not
	 * staged now is staged with the commit. */
	bool row_staged = stage_ahead(s, dev) == LB_OK;
	if (!row_staged)
		(void)sessions_touch(s, dev);
	rc = store_delete_pending(s->store, dev->dev_eui);
	/* A redo log with room for the row and not for the deletion: the part
	 * committed ahead ends with the row, the deletion follows it. */
	if (rc == LB_ERR_FULL && row_staged && (rc = store_commit_ahead(s->store)) == LB_OK)
		rc = store_delete_pending(s->store, dev->dev_eui);
	if (rc != LB_OK)
		log_error("session", "device %s: its pending session row not deleted (%s): after a "
			  "restart that session is read back as pending beside itself, and class C "
			  "downlinks wait for the device's next uplink; the row stays until its next "
			  "join or `lorabridge --purge`", dev->name, lb_strerror(rc));
	return LB_OK;
}

int sessions_pending_add(struct sessions *s, struct lb_device *dev,
			 const struct store_pending *row, uint64_t batch)
{
	struct pending_session p;

	pending_of_row(&row->row, &p);
	note_fcnt_up(&p, row, dev);
	int rc = pending_put(&s->pending, &p);
	if (rc != LB_OK) {
		log_error("session", "device %s: the session of its join cannot be held pending "
			  "(%s): it replaces the current session at once", dev->name,
			  lb_strerror(rc));
		(void)pending_drop(&s->pending, dev->dev_eui);
		(void)switch_to(s, dev, &p, batch);
	}
	wipe(&p, sizeof(p));
	return rc;
}

int sessions_promote(struct sessions *s, const struct lw_frame *f)
{
	struct pending_session *p, copy;
	uint32_t fcnt;

	if (pending_count(&s->pending) == 0)
		return LB_ERR_NOT_FOUND;
	int rc = pending_verify(&s->pending, f, &p, &fcnt);
	if (rc == LB_ERR_NOT_FOUND || rc == LB_ERR_MIC || rc == LB_ERR_INVAL)
		return LB_ERR_NOT_FOUND;
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_ERROR, "session", "DevAddr %08x: pending session not checked: %s",
			  f->u.data.dev_addr, lb_strerror(rc));
		return rc;
	}
	copy = *p;
	struct lb_device *dev = devices_find_eui(s->devices, copy.dev_eui);
	if (!dev || dev->activation != LB_ACT_OTAA) {
		/* Not held for such a device (restore_pending_one(),
		 * sessions_forget()): never promoted; its stored row is
		 * kept until `lorabridge --purge`, as its current session's. */
		(void)pending_drop(&s->pending, copy.dev_eui);
		log_warn("session", "device %016llx: pending session not taken: the device is no "
			 "longer configured for OTAA (its stored row is kept)",
			 (unsigned long long)copy.dev_eui);
		wipe(&copy, sizeof(copy));
		return LB_ERR_NOT_FOUND;
	}
	uint32_t old_addr = dev->dev_addr;
	bool had = dev->has_session;
	rc = switch_to(s, dev, &copy, 0);
	if (rc == LB_OK)
		(void)pending_drop(&s->pending, copy.dev_eui);
	if (rc == LB_OK && had)
		log_info("session", "device %s: first uplink (FCnt %u) under the session of its last "
			 "join: DevAddr %08x replaces %08x", dev->name, fcnt, copy.dev_addr, old_addr);
	else if (rc == LB_OK)
		log_info("session", "device %s: first uplink (FCnt %u) under the session of its last "
			 "join: DevAddr %08x", dev->name, fcnt, copy.dev_addr);
	wipe(&copy, sizeof(copy));
	return rc;
}

/* Both O(1): a hash probe (tables/pending.h), a binary search if found. */
void sessions_current_heard(struct sessions *s, const struct lb_device *dev)
{
	struct pending_session *p = pending_find_eui(&s->pending, dev->dev_eui);

	if (p)
		p->current_heard = true;
}

/* The reasoning is in session.h: only a frame first accepted after the
 * pending session was held counts, its repeats as itself. */
void sessions_current_repeated(struct sessions *s, const struct lb_device *dev, uint32_t fcnt)
{
	struct pending_session *p = pending_find_eui(&s->pending, dev->dev_eui);

	if (p && (!p->had_fcnt_up || fcnt > p->fcnt_up))
		p->current_heard = true;
}

bool sessions_current_sure(struct sessions *s, const struct lb_device *dev)
{
	const struct pending_session *p = pending_find_eui(&s->pending, dev->dev_eui);

	return !p || p->current_heard;
}

/*
 * f: the stored pending row of another DevEUI holding the session of dev,
 * an ABP device taken in (note_foreign()). That session's counters move on
 * under dev from now on; the row's stay those of its join (FCntUp none,
 * its NFCntDown ceiling): taken at an uplink, it would accept dev's uplinks
 * again and use its downlink counters again (TS001-1.0.4 §4.3.1.5, §4.3.3),
 * also once dev is gone (removed from the configuration: its row is kept,
 * but not read for the pending sessions). So the session is never taken:
 * held in memory (a reload), it is dropped; and it is kept among the
 * sessions seen (abp_seen, under the row's DevEUI, with the row's
 * counters: dev's own are in dev's row) unless it is there already, so
 * that no later start or reload takes the row either (served_as_abp()).
 * The device of the row joins again. LB_OK or the store's error (logged).
 */
static int void_pending(struct sessions *s, const struct idset *known, const struct foreign *f,
			const struct lb_device *dev)
{
	struct store_abp_seen seen = {.dev_eui = f->dev_eui,
				      .has_fcnt_up_last = f->has_fcnt_up_last,
				      .fcnt_up_last = f->fcnt_up_last, .nfcnt_down = f->nfcnt_down};
	uint8_t held[STORE_SESSION_ID_LEN];
	struct pending_session *p = pending_find_eui(&s->pending, f->dev_eui);
	int rc = lwcrypto_abp_session_id(dev->dev_addr, dev->nwk_s_key, dev->app_s_key, seen.id);

	if (rc == LB_OK && p &&
	    (rc = lwcrypto_abp_session_id(p->dev_addr, p->nwk_s_key, p->app_s_key, held)) ==
		    LB_OK &&
	    memcmp(held, seen.id, sizeof(held)) == 0) {
		(void)pending_drop(&s->pending, f->dev_eui);
		log_warn("session", "device %016" PRIX64 ": pending session dropped: its DevAddr "
			 "and keys are configured as the ABP session of device %s; the device "
			 "must join again", f->dev_eui, dev->name);
	}
	explicit_bzero(held, sizeof(held));
	if (rc == LB_OK && known->n &&
	    bsearch(seen.id, known->id, known->n, sizeof(*known->id), id_cmp))
		return LB_OK;   /* kept already */
	if (rc == LB_OK && (rc = store_abp_seen_put(s->store, &seen)) == LB_ERR_FULL &&
	    (rc = store_commit_ahead(s->store)) == LB_OK)
		rc = store_abp_seen_put(s->store, &seen);
	if (rc != LB_OK)
		log_error("session", "device %s: the pending session of %016" PRIX64 " that holds "
			  "its DevAddr and keys not kept as used (%s)", dev->name, f->dev_eui,
			  lb_strerror(rc));
	return rc;
}

/* Whether a configured ABP device has the stored pending row's session
 * (DevAddr and keys) as its own, served or not: under it that session's
 * counters move on, not the row's (void_pending()). Such a row is not
 * taken: the device joins again. */
static bool configured_as_abp(struct sessions *s, const struct lb_device *dev,
			      const struct store_session *row)
{
	const struct lb_device *abp = devices_find_abp(s->devices, row->dev_addr,
						       row->nwk_s_key, row->app_s_key);
	if (!abp)
		return false;
	log_warn("session", "device %s: stored pending session not taken: its DevAddr and keys "
		 "are configured as the ABP session of device %s; the device must join again",
		 dev->name, abp->name);
	return true;
}

struct pending_restore {
	struct sessions *s;
	struct restore_ctx *ctx;         /* the ids abp_seen holds, the rows noted */
	bool only_new;                   /* only the devices a reload did not keep */
	size_t held, orphans, failed, used;
};

/* Whether a stored pending row's session (DevAddr and keys) was left as
 * an ABP one since (abp_seen holds it: the device, or another, was
 * configured with it, as a reload to ABP with the session a device has
 * does): its counters moved on, the row's are still those of the join, so
 * taken at an uplink it would accept replayed uplinks and use downlink
 * counters again. Such a row is not taken: the device joins again. */
static int served_as_abp(struct sessions *s, const struct idset *known,
			 const struct lb_device *dev, const struct store_session *row, bool *used)
{
	struct store_abp_seen seen;
	uint8_t id[STORE_SESSION_ID_LEN];

	*used = false;
	if (known->n == 0)
		return LB_OK;   /* none seen: no digest either (resume_seen()) */
	int rc = lwcrypto_abp_session_id(row->dev_addr, row->nwk_s_key, row->app_s_key, id);
	if (rc == LB_OK && !bsearch(id, known->id, known->n, sizeof(*known->id), id_cmp))
		rc = LB_ERR_NOT_FOUND;   /* the common case: no read */
	if (rc == LB_OK)
		rc = store_abp_seen_get(s->store, id, &seen);
	explicit_bzero(id, sizeof(id));
	if (rc == LB_ERR_NOT_FOUND)
		return LB_OK;
	if (rc != LB_OK) {
		log_error("session", "device %s: pending session not checked against the ABP "
			  "sessions seen: %s", dev->name, lb_strerror(rc));
		return rc;
	}
	*used = true;
	log_warn("session", "device %s: stored pending session not taken: its DevAddr and "
		 "keys were served as an ABP session since (counters kept for %016" PRIX64
		 "); the device must join again", dev->name, seen.dev_eui);
	return LB_OK;
}

static int restore_pending_one(void *arg, const struct store_pending *prow)
{
	struct pending_restore *c = arg;
	struct pending_session p;
	const struct store_session *row = &prow->row;
	struct lb_device *dev = devices_find_eui(c->s->devices, row->dev_eui);
	int rc = note_foreign(c->ctx, row, true);

	if (rc != LB_OK)
		return rc;
	if (c->only_new && dev && dev->state_kept)
		return 0;
	if (!dev || dev->activation != LB_ACT_OTAA) {
		c->orphans++;
		return 0;
	}
	bool used = configured_as_abp(c->s, dev, row);
	if (!used && orphan_abp_holds(c->ctx, row)) {
		log_warn("session", "device %s: stored pending session not taken: its DevAddr and "
			 "keys are the stored ABP session of a device no longer configured; the "
			 "device must join again", dev->name);
		used = true;
	}
	if (!used)
		rc = served_as_abp(c->s, &c->ctx->ids, dev, row, &used);
	if (rc != LB_OK)
		return rc;
	if (used) {
		c->used++;
		return 0;
	}
	pending_of_row(row, &p);
	p.from_store = true;
	note_fcnt_up(&p, prow, dev);   /* the counters restored just before (restore_devices()) */
	rc = pending_put(&c->s->pending, &p);
	wipe(&p, sizeof(p));
	if (rc != LB_OK) {
		log_error("session", "device %s: stored pending session not restored (%s): the "
			  "device keeps its current session", dev->name, lb_strerror(rc));
		c->failed++;
		return 0;
	}
	/* The join's nonces are the device's last, whichever session wins. */
	if (row->has_dev_nonce_last) {
		dev->rt.has_dev_nonce = true;
		dev->rt.dev_nonce = row->dev_nonce_last;
	}
	if (row->has_join_nonce_last) {
		dev->rt.has_join_nonce = true;
		dev->rt.join_nonce = row->join_nonce_last;
	}
	c->held++;
	return 0;
}

/* The stored pending sessions of the configured OTAA devices (only_new:
 * of those a reload did not keep) into the table; every pending row
 * holding the session of an ABP device taken in noted (note_foreign()). */
static int restore_pending(struct restore_ctx *ctx)
{
	struct sessions *s = ctx->s;
	bool only_new = ctx->only_new;
	struct pending_restore c = {.s = s, .ctx = ctx, .only_new = only_new};
	int rc = store_load_pending(s->store, restore_pending_one, &c);

	if (rc != LB_OK) {
		log_error("session", "cannot load stored pending sessions: %s", lb_strerror(rc));
		return rc;
	}
	if (c.held)
		log_notice("session", "%zu pending session(s) restored: each is taken at its "
			   "device's first uplink under it", c.held);
	if (c.failed)
		log_error("session", "%zu stored pending session(s) could not be held (see above): "
			  "those devices keep their current session", c.failed);
	if (c.orphans && !only_new)
		log_notice("session", "%zu stored pending session(s) of devices no longer "
			   "configured for OTAA are kept; remove them with `lorabridge --purge "
			   "DEVEUI`", c.orphans);
	return LB_OK;
}
