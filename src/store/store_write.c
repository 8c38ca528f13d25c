/* SPDX-License-Identifier: MIT */
/*
 * store_write.c - the writes of the store, one function per kind of staged
 * record: applied when the write is staged and again when the redo log of
 * a failed batch is replayed (store__apply). The calls that stage them are
 * in store_ops.c and store_dl.c. See store.h.
 */
#include "store/store_write.h"

#include <inttypes.h>
#include <string.h>

#include "store/store_db.h"
#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG

/* Bound like store__bind_u64() (store_db.h): failures surface at step time. */
static void bind_opt(sqlite3_stmt *st, int col, bool has, int64_t v)
{
	if (has)
		sqlite3_bind_int64(st, col + 1, v);
	else
		sqlite3_bind_null(st, col + 1);
}

static void bind_blob(sqlite3_stmt *st, int col, const void *p, size_t len)
{
	if (len == 0)
		sqlite3_bind_zeroblob(st, col + 1, 0);
	else
		sqlite3_bind_blob(st, col + 1, p, (int)len, SQLITE_STATIC);
}

/* Step a write statement to completion; reset it. */
static int run(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? LB_OK : store__fail(s, rc, what);
}

/* ---- writes (applied when staged and when replayed) ------------------ */

/* Bind a session as the row-th of the statement's VALUES. */
static void bind_session(sqlite3_stmt *st, int row, const struct store_session *r)
{
	int c = row * SC__COUNT;

	store__bind_u64(st, c + SC_DEV_EUI, r->dev_eui);
	store__bind_u64(st, c + SC_ACTIVATION, (uint64_t)r->activation);
	store__bind_u64(st, c + SC_DEV_ADDR, r->dev_addr);
	bind_blob(st, c + SC_NWK_S_KEY, r->nwk_s_key, STORE_KEY_LEN);
	bind_blob(st, c + SC_APP_S_KEY, r->app_s_key, STORE_KEY_LEN);
	bind_opt(st, c + SC_FCNT_UP_LAST, r->has_fcnt_up_last, r->fcnt_up_last);
	store__bind_u64(st, c + SC_NFCNT_DOWN, r->nfcnt_down);
	store__bind_u64(st, c + SC_RX1_DR_OFFSET, r->rx1_dr_offset);
	store__bind_u64(st, c + SC_RX2_DR, r->rx2_dr);
	store__bind_u64(st, c + SC_RX2_FREQ, r->rx2_freq);
	store__bind_u64(st, c + SC_RX_DELAY, r->rx_delay);
	bind_opt(st, c + SC_JOIN_NONCE_LAST, r->has_join_nonce_last, r->join_nonce_last);
	bind_opt(st, c + SC_DEV_NONCE_LAST, r->has_dev_nonce_last, r->dev_nonce_last);
	sqlite3_bind_int64(st, c + SC_JOINED_AT + 1, r->joined_at);
	sqlite3_bind_int64(st, c + SC_UPDATED_AT + 1, r->updated_at);
}

/* A whole session row holds the device's counters: a counters row of its
 * own (session_fcnt) would override them, it goes. */
static int drop_fcnt(struct store *s, uint64_t dev_eui)
{
	sqlite3_stmt *st = store__stmt(s, STMT_FCNT_DELETE);

	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, dev_eui);
	return run(s, st, "delete counters");
}

static int exec_put_session(struct store *s, const struct store_session *r)
{
	sqlite3_stmt *st = store__stmt(s, STMT_SESSION_PUT);

	if (!st)
		return LB_ERR_IO;
	bind_session(st, 0, r);
	int rc = run(s, st, "put session");
	return rc == LB_OK ? drop_fcnt(s, r->dev_eui) : rc;
}

static int exec_put_pending(struct store *s, const struct store_pending *p)
{
	sqlite3_stmt *st = store__stmt(s, STMT_PENDING_PUT);

	if (!st)
		return LB_ERR_IO;
	bind_session(st, 0, &p->row);
	bind_opt(st, PC_CURRENT_JOINED_AT, p->has_current, p->current_joined_at);
	bind_opt(st, PC_CURRENT_FCNT_UP, p->has_current && p->has_current_fcnt_up,
		 p->current_fcnt_up);
	return run(s, st, "put pending session");
}

/* Bind a device's counters as the row-th of the statement's VALUES. */
static void bind_fcnt(sqlite3_stmt *st, int row, const struct store__fcnt *f)
{
	int c = row * FC__COUNT;

	store__bind_u64(st, c + FC_DEV_EUI, f->dev_eui);
	bind_opt(st, c + FC_FCNT_UP_LAST, f->has_fcnt_up_last, f->fcnt_up_last);
	store__bind_u64(st, c + FC_NFCNT_DOWN, f->nfcnt_down);
	sqlite3_bind_int64(st, c + FC_UPDATED_AT + 1, f->updated_at);
}

static int exec_put_fcnt(struct store *s, const struct store__fcnt *f)
{
	sqlite3_stmt *st = store__stmt(s, STMT_FCNT_PUT);

	if (!st)
		return LB_ERR_IO;
	bind_fcnt(st, 0, f);
	return run(s, st, "put counters");
}

static int exec_add_nonce(struct store *s, const struct store__nonce *n)
{
	sqlite3_stmt *st = store__stmt(s, STMT_NONCE_ADD);

	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, n->dev_eui);
	store__bind_u64(st, 1, n->nonce);
	return run(s, st, "add DevNonce");
}

static int exec_dl_push(struct store *s, const struct store_downlink *d)
{
	sqlite3_stmt *st = store__stmt(s, STMT_DL_INSERT);

	if (!st)
		return LB_ERR_IO;
	sqlite3_bind_text(st, DC_ID + 1, d->id, -1, SQLITE_STATIC);
	store__bind_u64(st, DC_DEV_EUI, d->dev_eui);
	store__bind_u64(st, DC_SEQ, d->seq);
	store__bind_u64(st, DC_FPORT, d->fport);
	store__bind_u64(st, DC_CONFIRMED, d->confirmed);
	bind_blob(st, DC_DATA, d->data, d->len);
	store__bind_u64(st, DC_STATE, (uint64_t)d->state);
	bind_opt(st, DC_FCNT_DOWN, d->has_fcnt_down, d->fcnt_down);
	sqlite3_bind_int64(st, DC_CREATED_AT + 1, d->created_at);
	bind_opt(st, DC_EXPIRES_AT, d->has_expires_at, d->expires_at_us);
	return run(s, st, "push downlink");
}

/* UPDATE/DELETE by key: no row changed is LB_ERR_NOT_FOUND. */
static int run_keyed(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = run(s, st, what);

	if (rc == LB_OK && sqlite3_changes(s->db) == 0)
		return LB_ERR_NOT_FOUND;
	return rc;
}

static int exec_dl_update(struct store *s, const struct store__dl_update *u)
{
	sqlite3_stmt *st = store__stmt(s, STMT_DL_UPDATE);

	if (!st)
		return LB_ERR_IO;
	sqlite3_bind_int64(st, 1, u->state);
	sqlite3_bind_int64(st, 2, u->fcnt_down);
	if (!u->has_fcnt_down)
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, u->id, -1, SQLITE_STATIC);
	return run_keyed(s, st, "update downlink");
}

static int exec_dl_delete(struct store *s, const struct store__dl_id *d)
{
	sqlite3_stmt *st = store__stmt(s, STMT_DL_DELETE);

	if (!st)
		return LB_ERR_IO;
	sqlite3_bind_text(st, 1, d->id, -1, SQLITE_STATIC);
	return run_keyed(s, st, "delete downlink");
}

static int exec_by_eui(struct store *s, enum store_stmt id, uint64_t dev_eui, const char *what)
{
	sqlite3_stmt *st = store__stmt(s, id);

	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, dev_eui);
	return run(s, st, what);
}

/* Bind a ledger (its blob follows it) as the row-th of the statement's VALUES. */
static void bind_ledger(sqlite3_stmt *st, int row, const struct store__ledger *l)
{
	store__bind_u64(st, 3 * row, l->owner);
	store__bind_u64(st, 3 * row + 1, l->kind);
	bind_blob(st, 3 * row + 2, l + 1, l->len);
}

static int exec_ledger_put(struct store *s, const struct store__ledger *l)
{
	sqlite3_stmt *st = store__stmt(s, STMT_LEDGER_PUT);

	if (!st)
		return LB_ERR_IO;
	bind_ledger(st, 0, l);
	return run(s, st, "put ledger");
}

static int exec_meta_put(struct store *s, const struct store__meta *m)
{
	sqlite3_stmt *st = store__stmt(s, STMT_META_PUT);

	if (!st)
		return LB_ERR_IO;
	sqlite3_bind_text(st, 1, m->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, m->value);
	return run(s, st, "put meta");
}

/* Everything of the device but the counters of the sessions it left
 * (abp_seen: OP_PURGE_SEEN). */
static int exec_purge(struct store *s, uint64_t dev_eui)
{
	static const enum store_stmt del[] = {STMT_PURGE_SESSION, STMT_PURGE_NONCE,
					      STMT_PURGE_DL, STMT_PURGE_LEDGER,
					      STMT_PURGE_MAC, STMT_PURGE_FCNT,
					      STMT_PENDING_DELETE};
	int rc = LB_OK;

	for (size_t i = 0; i < sizeof(del) / sizeof(del[0]) && rc == LB_OK; i++)
		rc = exec_by_eui(s, del[i], dev_eui, "purge");
	return rc;
}

static int exec_mac_put(struct store *s, const struct store_mac *m)
{
	sqlite3_stmt *st = store__stmt(s, STMT_MAC_PUT);
	uint8_t mask[2 * STORE_MAC_CHMASK_WORDS];

	if (!st)
		return LB_ERR_IO;
	for (size_t i = 0; i < STORE_MAC_CHMASK_WORDS; i++) {
		mask[2 * i] = (uint8_t)m->ch_mask[i];
		mask[2 * i + 1] = (uint8_t)(m->ch_mask[i] >> 8);
	}
	store__bind_u64(st, MC_DEV_EUI, m->dev_eui);
	sqlite3_bind_int64(st, MC_SESSION_AT + 1, m->session_at);
	store__bind_u64(st, MC_DR, m->dr);
	store__bind_u64(st, MC_TX_POWER, m->tx_power);
	store__bind_u64(st, MC_NB_TRANS, m->nb_trans);
	bind_blob(st, MC_CH_MASK, mask, sizeof(mask));
	store__bind_u64(st, MC_UNANSWERED, m->unanswered);
	sqlite3_bind_int64(st, MC_BACKOFF_UNTIL + 1, m->backoff_until);
	bind_opt(st, MC_STATUS_AT, m->has_status, m->status_at);
	store__bind_u64(st, MC_BATTERY, m->battery);
	sqlite3_bind_int64(st, MC_MARGIN + 1, m->margin);
	store__bind_u64(st, MC_RX_DONE, m->rx_done);
	sqlite3_bind_int64(st, MC_UPDATED_AT + 1, m->updated_at);
	store__bind_u64(st, MC_RXP_UNANSWERED, m->rx_param_unanswered);
	sqlite3_bind_int64(st, MC_RXP_BACKOFF_UNTIL + 1, m->rx_param_backoff_until);
	bind_opt(st, MC_RXP_ASK_OFFSET, m->has_rx_param_ask, m->rx_param_ask_rx1_dr_offset);
	bind_opt(st, MC_RXP_ASK_DR, m->has_rx_param_ask, m->rx_param_ask_rx2_dr);
	bind_opt(st, MC_RXP_ASK_FREQ, m->has_rx_param_ask, m->rx_param_ask_rx2_freq);
	store__bind_u64(st, MC_RXT_UNANSWERED, m->rx_timing_unanswered);
	sqlite3_bind_int64(st, MC_RXT_BACKOFF_UNTIL + 1, m->rx_timing_backoff_until);
	bind_opt(st, MC_RXT_ASK_DELAY, m->rx_timing_ask_delay != 0, m->rx_timing_ask_delay);
	return run(s, st, "put MAC state");
}

/* The session's counters merged into its row, then the device's rows
 * beyond the STORE_ABP_SEEN_MAX most recent dropped (said). */
static int exec_abp_seen_put(struct store *s, const struct store_abp_seen *a)
{
	sqlite3_stmt *st = store__stmt(s, STMT_ABP_SEEN_PUT);

	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, AC_DEV_EUI, a->dev_eui);
	bind_blob(st, AC_SESSION_ID, a->id, STORE_SESSION_ID_LEN);
	bind_opt(st, AC_FCNT_UP_LAST, a->has_fcnt_up_last, a->fcnt_up_last);
	store__bind_u64(st, AC_NFCNT_DOWN, a->nfcnt_down);
	sqlite3_bind_int64(st, AC_UPDATED_AT + 1, a->updated_at);
	int rc = run(s, st, "put ABP session seen");
	if (rc != LB_OK)
		return rc;
	st = store__stmt(s, STMT_ABP_SEEN_BOUND);
	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, a->dev_eui);
	store__bind_u64(st, 1, STORE_ABP_SEEN_MAX);
	rc = run(s, st, "drop the oldest ABP sessions seen");
	int dropped = rc == LB_OK ? sqlite3_changes(s->db) : 0;
	if (dropped > 0)
		log_warn(TAG, "device %016" PRIX64 ": %d ABP session(s) it left forgotten, the "
			 "oldest (it keeps the counters of its %d most recent): if their keys come "
			 "back their counters restart at 0 (or fcnt_up): see README \"Configuration "
			 "and state\"", a->dev_eui, dropped, STORE_ABP_SEEN_MAX);
	return rc;
}

static int exec_gw_online(struct store *s, const struct store__gw_online *g)
{
	sqlite3_stmt *st = store__stmt(s, g->online ? STMT_GW_ONLINE_PUT : STMT_GW_ONLINE_DELETE);

	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, g->gateway_eui);
	if (g->online)
		sqlite3_bind_int64(st, 2, g->since);
	return run(s, st, g->online ? "put gateway state" : "delete gateway state");
}

/* A pack whose body was checked (store__outbox_body_ok()) as one row. */
static int exec_outbox_pack(struct store *s, const struct store__pack *p)
{
	sqlite3_stmt *st = store__stmt(s, STMT_OUTBOX_INSERT);

	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, OC_SEQ, p->last);
	store__bind_u64(st, OC_FIRST_SEQ, p->first);
	store__bind_u64(st, OC_EVENTS, p->n);
	store__bind_u64(st, OC_BYTES, p->bytes);
	bind_blob(st, OC_BODY, p + 1, p->body_len);
	return run(s, st, "add to outbox");
}

static int apply_outbox_pack(struct store *s, const void *rec, size_t len)
{
	const struct store__pack *p = rec;

	if (len < sizeof(*p) || len - sizeof(*p) != p->body_len ||
	    !store__outbox_body_ok(p, p + 1))
		return LB_ERR_INVAL;
	return exec_outbox_pack(s, p);
}

/* The mark, then the rows it covers whole (their key is their last seq). */
static int exec_outbox_ack(struct store *s, const struct store__outbox_ack *a)
{
	struct store__meta m = {.key = STORE_OUTBOX_ACKED_KEY, .value = (int64_t)a->upto};
	int rc = exec_meta_put(s, &m);

	if (rc != LB_OK)
		return rc;
	sqlite3_stmt *st = store__stmt(s, STMT_OUTBOX_DELETE_ACKED);
	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, a->upto);
	return run(s, st, "delete acknowledged outbox rows");
}

/* The head of a *_MANY record and the statement for its n rows:
 * LB_ERR_INVAL for a bad head, the error of preparing it. */
static int many_stmt(struct store *s, enum store_stmt one, const uint8_t *p, size_t len,
		     uint32_t *n, sqlite3_stmt **st)
{
	const struct store__many *h = (const void *)p;
	int id;

	if (len < sizeof(*h) || (id = store__many_stmt(one, h->n)) < 0)
		return LB_ERR_INVAL;
	*n = h->n;
	if (!s->stmt[id]) {
		int rc = store__prepare(s, (enum store_stmt)id);
		if (rc != LB_OK)
			return rc;
	}
	*st = store__stmt(s, (enum store_stmt)id);
	return *st ? LB_OK : LB_ERR_IO;
}

static int apply_session_many(struct store *s, const uint8_t *p, size_t len)
{
	const struct store_session *r = (const void *)(p + sizeof(struct store__many));
	uint32_t n;
	sqlite3_stmt *st;
	int rc = many_stmt(s, STMT_SESSION_PUT, p, len, &n, &st);

	if (rc != LB_OK)
		return rc;
	if (len != sizeof(struct store__many) + n * sizeof(*r))
		return LB_ERR_INVAL;
	for (uint32_t i = 0; i < n; i++)
		bind_session(st, (int)i, &r[i]);
	rc = run(s, st, "put session");
	for (uint32_t i = 0; i < n && rc == LB_OK; i++)
		rc = drop_fcnt(s, r[i].dev_eui);
	return rc;
}

static int apply_fcnt_many(struct store *s, const uint8_t *p, size_t len)
{
	const struct store__fcnt *f = (const void *)(p + sizeof(struct store__many));
	uint32_t n;
	sqlite3_stmt *st;
	int rc = many_stmt(s, STMT_FCNT_PUT, p, len, &n, &st);

	if (rc != LB_OK)
		return rc;
	if (len != sizeof(struct store__many) + n * sizeof(*f))
		return LB_ERR_INVAL;
	for (uint32_t i = 0; i < n; i++)
		bind_fcnt(st, (int)i, &f[i]);
	return run(s, st, "put counters");
}

static int apply_ledger_many(struct store *s, const uint8_t *p, size_t len)
{
	size_t off = sizeof(struct store__many);
	uint32_t n;
	sqlite3_stmt *st;
	int rc = many_stmt(s, STMT_LEDGER_PUT, p, len, &n, &st);

	if (rc != LB_OK)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		const struct store__ledger *l = (const void *)(p + off);
		if (off > len || len - off < sizeof(*l) || len - off - sizeof(*l) < l->len)
			return LB_ERR_INVAL;
		bind_ledger(st, (int)i, l);
		off += store__entry_size(sizeof(*l), l->len);
	}
	return off == len ? run(s, st, "put ledger") : LB_ERR_INVAL;
}

int store__apply(struct store *s, enum store_op op, const void *p, size_t len)
{
	uint64_t eui;

	switch (op) {
	case OP_PUT_SESSION:
		return len == sizeof(struct store_session) ? exec_put_session(s, p) : LB_ERR_INVAL;
	case OP_ADD_NONCE:
		return len == sizeof(struct store__nonce) ? exec_add_nonce(s, p) : LB_ERR_INVAL;
	case OP_DL_PUSH:
		return len == sizeof(struct store_downlink) ? exec_dl_push(s, p) : LB_ERR_INVAL;
	case OP_DL_UPDATE:
		return len == sizeof(struct store__dl_update) ? exec_dl_update(s, p) : LB_ERR_INVAL;
	case OP_DL_DELETE:
		return len == sizeof(struct store__dl_id) ? exec_dl_delete(s, p) : LB_ERR_INVAL;
	case OP_LEDGER_PUT:
		if (len < sizeof(struct store__ledger) ||
		    len - sizeof(struct store__ledger) != ((const struct store__ledger *)p)->len)
			return LB_ERR_INVAL;
		return exec_ledger_put(s, p);
	case OP_META_PUT:
		return len == sizeof(struct store__meta) ? exec_meta_put(s, p) : LB_ERR_INVAL;
	case OP_GW_ONLINE:
		return len == sizeof(struct store__gw_online) ? exec_gw_online(s, p) : LB_ERR_INVAL;
	case OP_OUTBOX_PACK:
		return apply_outbox_pack(s, p, len);
	case OP_OUTBOX_ACK:
		return len == sizeof(struct store__outbox_ack) ? exec_outbox_ack(s, p)
								: LB_ERR_INVAL;
	case OP_PUT_SESSION_MANY:
		return apply_session_many(s, p, len);
	case OP_LEDGER_PUT_MANY:
		return apply_ledger_many(s, p, len);
	case OP_PUT_FCNT:
		return len == sizeof(struct store__fcnt) ? exec_put_fcnt(s, p) : LB_ERR_INVAL;
	case OP_PUT_FCNT_MANY:
		return apply_fcnt_many(s, p, len);
	case OP_MAC_PUT:
		return len == sizeof(struct store_mac) ? exec_mac_put(s, p) : LB_ERR_INVAL;
	case OP_ABP_SEEN_PUT:
		return len == sizeof(struct store_abp_seen) ? exec_abp_seen_put(s, p)
							    : LB_ERR_INVAL;
	case OP_PENDING_PUT:
		return len == sizeof(struct store_pending) ? exec_put_pending(s, p) : LB_ERR_INVAL;
	case OP_PENDING_DELETE:
		if (len != sizeof(eui))
			return LB_ERR_INVAL;
		memcpy(&eui, p, sizeof(eui));
		return exec_by_eui(s, STMT_PENDING_DELETE, eui, "delete pending session");
	case OP_PURGE_SEEN:
		if (len != sizeof(eui))
			return LB_ERR_INVAL;
		memcpy(&eui, p, sizeof(eui));
		return exec_by_eui(s, STMT_PURGE_ABP_SEEN, eui, "purge ABP sessions seen");
	case OP_DL_FLUSH:
	case OP_PURGE:
		if (len != sizeof(eui))
			return LB_ERR_INVAL;
		memcpy(&eui, p, sizeof(eui));
		return op == OP_PURGE ? exec_purge(s, eui)
				      : exec_by_eui(s, STMT_DL_FLUSH, eui, "flush downlinks");
	}
	return LB_ERR_INVAL;
}

int store__copy_str(char *dst, size_t size, const char *src)
{
	size_t n;

	if (!src || !src[0])
		return LB_ERR_INVAL;
	n = strnlen(src, size);
	if (n >= size)
		return LB_ERR_INVAL;
	memcpy(dst, src, n + 1);
	return LB_OK;
}
