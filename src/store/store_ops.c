/*
 * store_ops.c - the row operations of the store: sessions, DevNonces, the
 * downlink queue, ledgers, meta, purge; and the pure NFCntDown
 * reservation helper. Every write is a function applied both when it is
 * staged and when the redo log is replayed (store__apply). See store.h.
 */
#include "store/store_int.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG

#define SESSION_COLS                                                                 \
	"dev_eui, activation, dev_addr, nwk_s_key, app_s_key, fcnt_up_last, nfcnt_down," \
	" rx1_dr_offset, rx2_dr, rx2_freq, rx_delay, join_nonce_last, dev_nonce_last,"  \
	" joined_at, updated_at"
/* Column (0-based) / parameter (1-based) positions of SESSION_COLS. */
enum { SC_DEV_EUI, SC_ACTIVATION, SC_DEV_ADDR, SC_NWK_S_KEY, SC_APP_S_KEY, SC_FCNT_UP_LAST,
       SC_NFCNT_DOWN, SC_RX1_DR_OFFSET, SC_RX2_DR, SC_RX2_FREQ, SC_RX_DELAY,
       SC_JOIN_NONCE_LAST, SC_DEV_NONCE_LAST, SC_JOINED_AT, SC_UPDATED_AT };


const char *const store__sql[STMT__COUNT] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_SESSION_PUT] = "INSERT OR REPLACE INTO session (" SESSION_COLS
			     ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[STMT_SESSION_GET] = "SELECT " SESSION_COLS " FROM session WHERE dev_eui = ?",
	[STMT_SESSION_ALL] = "SELECT " SESSION_COLS " FROM session ORDER BY dev_eui",
	[STMT_NONCE_USED] = "SELECT 1 FROM dev_nonce WHERE dev_eui = ? AND dev_nonce = ?",
	[STMT_NONCE_ADD] = "INSERT INTO dev_nonce (dev_eui, dev_nonce) VALUES (?, ?)",
	[STMT_DL_MAXSEQ] = "SELECT COALESCE(MAX(seq), 0) FROM downlink WHERE dev_eui = ?",
	[STMT_DL_INSERT] = "INSERT INTO downlink (" DL_COLS ") VALUES (?,?,?,?,?,?,?,?,?)",
	[STMT_DL_LIST] = "SELECT " DL_COLS " FROM downlink WHERE dev_eui = ? ORDER BY seq",
	[STMT_DL_GET] = "SELECT " DL_COLS " FROM downlink WHERE id = ?",
	[STMT_DL_UPDATE] = "UPDATE downlink SET state = ?, fcnt_down = ? WHERE id = ?",
	[STMT_DL_DELETE] = "DELETE FROM downlink WHERE id = ?",
	[STMT_DL_FLUSH] = "DELETE FROM downlink WHERE dev_eui = ?",
	[STMT_DL_COUNT] = "SELECT COUNT(*) FROM downlink WHERE dev_eui = ?",
	[STMT_LEDGER_PUT] = "INSERT OR REPLACE INTO ledger (owner, kind, blob) VALUES (?, ?, ?)",
	[STMT_LEDGER_GET] = "SELECT blob FROM ledger WHERE owner = ? AND kind = ?",
	[STMT_META_PUT] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
	[STMT_META_GET] = "SELECT value FROM meta WHERE key = ?",
	[STMT_PURGE_SESSION] = "DELETE FROM session WHERE dev_eui = ?",
	[STMT_PURGE_NONCE] = "DELETE FROM dev_nonce WHERE dev_eui = ?",
	[STMT_PURGE_DL] = "DELETE FROM downlink WHERE dev_eui = ?",
	[STMT_PURGE_LEDGER] = "DELETE FROM ledger WHERE owner = ? AND kind < 256",
};

_Static_assert(STORE_LEDGER_GATEWAY_BASE == 256, "STMT_PURGE_LEDGER hard-codes the base");

/* Bind failures (out of memory) are not checked one by one: an unbound
 * parameter is NULL, which a NOT NULL column refuses at step time, so the
 * error surfaces from sqlite3_step(). Parameters are 1-based. */
static void bind_u64(sqlite3_stmt *st, int col, uint64_t v)
{
	sqlite3_bind_int64(st, col + 1, (sqlite3_int64)v);
}

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

static int64_t wall_s(void)
{
	return (int64_t)time(NULL);
}

/* ---- writes (applied when staged and when replayed) ------------------ */

static int exec_put_session(struct store *s, const struct store_session *r)
{
	sqlite3_stmt *st = store__stmt(s, STMT_SESSION_PUT);

	bind_u64(st, SC_DEV_EUI, r->dev_eui);
	bind_u64(st, SC_ACTIVATION, (uint64_t)r->activation);
	bind_u64(st, SC_DEV_ADDR, r->dev_addr);
	bind_blob(st, SC_NWK_S_KEY, r->nwk_s_key, STORE_KEY_LEN);
	bind_blob(st, SC_APP_S_KEY, r->app_s_key, STORE_KEY_LEN);
	bind_opt(st, SC_FCNT_UP_LAST, r->has_fcnt_up_last, r->fcnt_up_last);
	bind_u64(st, SC_NFCNT_DOWN, r->nfcnt_down);
	bind_u64(st, SC_RX1_DR_OFFSET, r->rx1_dr_offset);
	bind_u64(st, SC_RX2_DR, r->rx2_dr);
	bind_u64(st, SC_RX2_FREQ, r->rx2_freq);
	bind_u64(st, SC_RX_DELAY, r->rx_delay);
	bind_opt(st, SC_JOIN_NONCE_LAST, r->has_join_nonce_last, r->join_nonce_last);
	bind_opt(st, SC_DEV_NONCE_LAST, r->has_dev_nonce_last, r->dev_nonce_last);
	sqlite3_bind_int64(st, SC_JOINED_AT + 1, r->joined_at);
	sqlite3_bind_int64(st, SC_UPDATED_AT + 1, r->updated_at);
	return run(s, st, "put session");
}

static int exec_add_nonce(struct store *s, const struct store__nonce *n)
{
	sqlite3_stmt *st = store__stmt(s, STMT_NONCE_ADD);

	bind_u64(st, 0, n->dev_eui);
	bind_u64(st, 1, n->nonce);
	return run(s, st, "add DevNonce");
}

static int exec_dl_push(struct store *s, const struct store_downlink *d)
{
	sqlite3_stmt *st = store__stmt(s, STMT_DL_INSERT);

	sqlite3_bind_text(st, DC_ID + 1, d->id, -1, SQLITE_STATIC);
	bind_u64(st, DC_DEV_EUI, d->dev_eui);
	bind_u64(st, DC_SEQ, d->seq);
	bind_u64(st, DC_FPORT, d->fport);
	bind_u64(st, DC_CONFIRMED, d->confirmed);
	bind_blob(st, DC_DATA, d->data, d->len);
	bind_u64(st, DC_STATE, (uint64_t)d->state);
	bind_opt(st, DC_FCNT_DOWN, d->has_fcnt_down, d->fcnt_down);
	sqlite3_bind_int64(st, DC_CREATED_AT + 1, d->created_at);
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

	sqlite3_bind_text(st, 1, d->id, -1, SQLITE_STATIC);
	return run_keyed(s, st, "delete downlink");
}

static int exec_by_eui(struct store *s, enum store_stmt id, uint64_t dev_eui, const char *what)
{
	sqlite3_stmt *st = store__stmt(s, id);

	bind_u64(st, 0, dev_eui);
	return run(s, st, what);
}

static int exec_ledger_put(struct store *s, const struct store__ledger *l)
{
	sqlite3_stmt *st = store__stmt(s, STMT_LEDGER_PUT);

	bind_u64(st, 0, l->owner);
	bind_u64(st, 1, l->kind);
	bind_blob(st, 2, l + 1, l->len);
	return run(s, st, "put ledger");
}

static int exec_meta_put(struct store *s, const struct store__meta *m)
{
	sqlite3_stmt *st = store__stmt(s, STMT_META_PUT);

	sqlite3_bind_text(st, 1, m->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, m->value);
	return run(s, st, "put meta");
}

static int exec_purge(struct store *s, uint64_t dev_eui)
{
	static const enum store_stmt del[] = {STMT_PURGE_SESSION, STMT_PURGE_NONCE,
					      STMT_PURGE_DL, STMT_PURGE_LEDGER};
	int rc = LB_OK;

	for (size_t i = 0; i < sizeof(del) / sizeof(del[0]) && rc == LB_OK; i++)
		rc = exec_by_eui(s, del[i], dev_eui, "purge");
	return rc;
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

/* ---- sessions --------------------------------------------------------- */

/* Copy a fixed-size BLOB column; a wrong size (a hand-edited row) is
 * reported as an I/O-class problem of the file. */
static int col_fixed(sqlite3_stmt *st, int col, uint8_t *out, size_t len)
{
	if ((size_t)sqlite3_column_bytes(st, col) != len)
		return LB_ERR_IO;
	memcpy(out, sqlite3_column_blob(st, col), len);
	return LB_OK;
}

static bool col_opt(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) != SQLITE_NULL;
}

static int read_session(sqlite3_stmt *st, struct store_session *r)
{
	memset(r, 0, sizeof(*r));
	r->dev_eui = (uint64_t)sqlite3_column_int64(st, SC_DEV_EUI);
	r->activation = sqlite3_column_int(st, SC_ACTIVATION) ? LB_ACT_OTAA : LB_ACT_ABP;
	r->dev_addr = (uint32_t)sqlite3_column_int64(st, SC_DEV_ADDR);
	if (col_fixed(st, SC_NWK_S_KEY, r->nwk_s_key, STORE_KEY_LEN) != LB_OK ||
	    col_fixed(st, SC_APP_S_KEY, r->app_s_key, STORE_KEY_LEN) != LB_OK) {
		log_error(TAG, "session %016" PRIX64 ": key is not 16 bytes", r->dev_eui);
		return LB_ERR_IO;
	}
	r->has_fcnt_up_last = col_opt(st, SC_FCNT_UP_LAST);
	r->fcnt_up_last = (uint32_t)sqlite3_column_int64(st, SC_FCNT_UP_LAST);
	r->nfcnt_down = (uint32_t)sqlite3_column_int64(st, SC_NFCNT_DOWN);
	r->rx1_dr_offset = (uint8_t)sqlite3_column_int(st, SC_RX1_DR_OFFSET);
	r->rx2_dr = (uint8_t)sqlite3_column_int(st, SC_RX2_DR);
	r->rx2_freq = (uint32_t)sqlite3_column_int64(st, SC_RX2_FREQ);
	r->rx_delay = (uint8_t)sqlite3_column_int(st, SC_RX_DELAY);
	r->has_join_nonce_last = col_opt(st, SC_JOIN_NONCE_LAST);
	r->join_nonce_last = (uint32_t)sqlite3_column_int64(st, SC_JOIN_NONCE_LAST);
	r->has_dev_nonce_last = col_opt(st, SC_DEV_NONCE_LAST);
	r->dev_nonce_last = (uint16_t)sqlite3_column_int(st, SC_DEV_NONCE_LAST);
	r->joined_at = sqlite3_column_int64(st, SC_JOINED_AT);
	r->updated_at = sqlite3_column_int64(st, SC_UPDATED_AT);
	return LB_OK;
}

int store_load_sessions(struct store *s, store_session_cb cb, void *arg)
{
	struct store_session r;
	sqlite3_stmt *st;
	int rc, ret = LB_OK;

	if (!s || !s->db || !cb)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_SESSION_ALL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = read_session(st, &r);
		if (ret == LB_OK)
			ret = cb(arg, &r);
		if (ret != LB_OK)
			break;
	}
	if (ret == LB_OK && rc != SQLITE_DONE)
		ret = store__fail(s, rc, "load sessions");
	sqlite3_reset(st);
	return ret;
}

int store_get_session(struct store *s, uint64_t dev_eui, struct store_session *out)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !out)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_SESSION_GET);
	bind_u64(st, 0, dev_eui);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_session(st, out);
	else
		rc = rc == SQLITE_DONE ? LB_ERR_NOT_FOUND : store__fail(s, rc, "get session");
	sqlite3_reset(st);
	return rc;
}

int store_put_session(struct store *s, const struct store_session *row)
{
	struct store_session r;

	if (!s || !row)
		return LB_ERR_INVAL;
	if ((row->activation != LB_ACT_ABP && row->activation != LB_ACT_OTAA) ||
	    row->rx1_dr_offset > 7 || row->rx2_dr > 15 || row->rx_delay > 15 ||
	    (row->has_join_nonce_last && row->join_nonce_last > 0xffffff))
		return LB_ERR_RANGE;
	r = *row;
	r.updated_at = wall_s();
	return store__stage(s, OP_PUT_SESSION, &r, sizeof(r));
}

/* ---- DevNonces -------------------------------------------------------- */

int store_dev_nonce_used(struct store *s, uint64_t dev_eui, uint16_t nonce, bool *used)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !used)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_NONCE_USED);
	bind_u64(st, 0, dev_eui);
	bind_u64(st, 1, nonce);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store__fail(s, rc, "DevNonce lookup");
	*used = rc == SQLITE_ROW;
	return LB_OK;
}

int store_add_dev_nonce(struct store *s, uint64_t dev_eui, uint16_t nonce)
{
	struct store__nonce n;

	if (!s)
		return LB_ERR_INVAL;
	memset(&n, 0, sizeof(n));
	n.dev_eui = dev_eui;
	n.nonce = nonce;
	return store__stage(s, OP_ADD_NONCE, &n, sizeof(n));
}

/* ---- ledgers, meta ---------------------------------------------------- */

int store_ledger_put(struct store *s, uint64_t owner, enum store_ledger_kind kind,
		     const void *blob, size_t len)
{
	struct store__ledger h;

	if (!s || (!blob && len) || (int)kind <= 0)
		return LB_ERR_INVAL;
	if (len > STORE_LEDGER_MAX)
		return LB_ERR_TOO_LARGE;
	memset(&h, 0, sizeof(h));
	h.owner = owner;
	h.kind = (uint32_t)kind;
	h.len = (uint32_t)len;
	return store__stage2(s, OP_LEDGER_PUT, &h, sizeof(h), blob, len);
}

int store_ledger_get(struct store *s, uint64_t owner, enum store_ledger_kind kind, void *blob,
		     size_t cap, size_t *len)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !len || (!blob && cap))
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_LEDGER_GET);
	bind_u64(st, 0, owner);
	bind_u64(st, 1, (uint64_t)kind);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*len = (size_t)sqlite3_column_bytes(st, 0);
		rc = LB_ERR_TOO_LARGE;
		if (*len <= cap) {
			if (*len)
				memcpy(blob, sqlite3_column_blob(st, 0), *len);
			rc = LB_OK;
		}
	} else {
		rc = rc == SQLITE_DONE ? LB_ERR_NOT_FOUND : store__fail(s, rc, "get ledger");
	}
	sqlite3_reset(st);
	return rc;
}

int store_meta_get(struct store *s, const char *key, int64_t *value)
{
	struct store__meta m;
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !value || store__copy_str(m.key, sizeof(m.key), key) != LB_OK)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_META_GET);
	sqlite3_bind_text(st, 1, m.key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*value = sqlite3_column_int64(st, 0);
		rc = LB_OK;
	} else {
		rc = rc == SQLITE_DONE ? LB_ERR_NOT_FOUND : store__fail(s, rc, "get meta");
	}
	sqlite3_reset(st);
	return rc;
}

int store_meta_put(struct store *s, const char *key, int64_t value)
{
	struct store__meta m;

	memset(&m, 0, sizeof(m));
	if (!s || store__copy_str(m.key, sizeof(m.key), key) != LB_OK)
		return LB_ERR_INVAL;
	m.value = value;
	return store__stage(s, OP_META_PUT, &m, sizeof(m));
}

/* ---- purge ------------------------------------------------------------ */

int store_purge(struct store *s, uint64_t dev_eui)
{
	int before, changed, rc;

	if (!s)
		return LB_ERR_INVAL;
	rc = store__begin(s);   /* replay first: only the purge's changes count */
	if (rc != LB_OK)
		return rc;
	before = sqlite3_total_changes(s->db);
	rc = store__stage(s, OP_PURGE, &dev_eui, sizeof(dev_eui));
	if (rc != LB_OK)
		return rc;
	changed = sqlite3_total_changes(s->db) - before;
	rc = store_commit(s);
	if (rc != LB_OK)
		return rc;
	if (changed == 0)
		return LB_ERR_NOT_FOUND;
	log_notice(TAG, "purged the state of %016" PRIX64 " (%d rows)", dev_eui, changed);
	return LB_OK;
}
