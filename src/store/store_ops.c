/* SPDX-License-Identifier: MIT */
/*
 * store_ops.c - the row operations of the store: sessions, DevNonces,
 * ledgers, meta, purge (the downlink queue is in store_dl.c). Every write
 * is staged as a record that store__apply() (store_write.c) applies both
 * when it is staged and when the redo log is replayed. See store.h.
 */
#include "store/store_ops.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "store/store_batch.h"
#include "store/store_db.h"
#include "store/store_write.h"
#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG

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
	/* store_put_session() writes 0..15 (RXTimingSetupReq's range); a row
	 * edited by hand or by another version must not reach the device
	 * table's 4-bit field cut to fit. */
	int delay = sqlite3_column_int(st, SC_RX_DELAY);
	if (delay < 0 || delay > 15) {
		log_warn(TAG, "session %016" PRIX64 ": stored RX1 delay %d out of range 0..15: "
			 "the default (1 s) is used", r->dev_eui, delay);
		r->rx_delay = 0;
	}
	return LB_OK;
}

/* Every row of a session-shaped table (stmt), to cb; what names it in the
 * failure's log line. */
static int load_rows(struct store *s, enum store_stmt stmt, const char *what,
		     store_session_cb cb, void *arg)
{
	struct store_session r;
	sqlite3_stmt *st;
	int rc, ret = LB_OK;

	if (!s || !s->db || !cb)
		return LB_ERR_INVAL;
	st = store__stmt(s, stmt);
	if (!st)
		return LB_ERR_IO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = read_session(st, &r);
		if (ret == LB_OK)
			ret = cb(arg, &r);
		if (ret != LB_OK)
			break;
	}
	if (ret == LB_OK && rc != SQLITE_DONE)
		ret = store__fail(s, rc, what);
	sqlite3_reset(st);
	return ret;
}

int store_load_sessions(struct store *s, store_session_cb cb, void *arg)
{
	return load_rows(s, STMT_SESSION_ALL, "load sessions", cb, arg);
}

/* The device's row of a session-shaped table (stmt, by DevEUI); what
 * names it in the failure's log line. */
static int get_row(struct store *s, enum store_stmt stmt, const char *what, uint64_t dev_eui,
		   struct store_session *out)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !out)
		return LB_ERR_INVAL;
	st = store__stmt(s, stmt);
	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, dev_eui);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_session(st, out);
	else
		rc = rc == SQLITE_DONE ? LB_ERR_NOT_FOUND : store__fail(s, rc, what);
	sqlite3_reset(st);
	return rc;
}

int store_get_session(struct store *s, uint64_t dev_eui, struct store_session *out)
{
	return get_row(s, STMT_SESSION_GET, "get session", dev_eui, out);
}

static bool session_ok(const struct store_session *row)
{
	return (row->activation == LB_ACT_ABP || row->activation == LB_ACT_OTAA) &&
	       row->rx1_dr_offset <= 7 && row->rx2_dr <= 15 && row->rx_delay <= 15 &&
	       (!row->has_join_nonce_last || row->join_nonce_last <= 0xffffff);
}

/* Layout guards for session_copy() and store_put_pending(), which copy
 * field by field: each listed field starts where the one before it ends
 * (aligned up for its type) and the struct ends with the last one, on
 * every ABI. A field added to struct store_session or store_pending, or
 * one moved, shifts that layout and breaks the build here until it is
 * copied below and listed. (One slipped into a padding hole shifts
 * nothing: add fields at the end.) */
#define FIELD_END(T, f) (offsetof(T, f) + sizeof(((T *)0)->f))
#define ALIGN_UP(n, a) (((n) + (a) - 1) / (a) * (a))
#define FOLLOWS(T, a, b, tb)                                                         \
	_Static_assert(offsetof(T, b) == ALIGN_UP(FIELD_END(T, a), _Alignof(tb)),     \
		       #T ": " #b " right after " #a " (copied field by field)")
#define ENDS_WITH(T, f)                                                              \
	_Static_assert(sizeof(T) == ALIGN_UP(FIELD_END(T, f), _Alignof(T)),          \
		       #T ": " #f " is its last field (copied field by field)")

_Static_assert(offsetof(struct store_session, dev_eui) == 0, "store_session starts with dev_eui");
FOLLOWS(struct store_session, dev_eui, activation, enum lb_activation);
FOLLOWS(struct store_session, activation, dev_addr, uint32_t);
FOLLOWS(struct store_session, dev_addr, nwk_s_key, uint8_t);
FOLLOWS(struct store_session, nwk_s_key, app_s_key, uint8_t);
FOLLOWS(struct store_session, app_s_key, has_fcnt_up_last, bool);
FOLLOWS(struct store_session, has_fcnt_up_last, fcnt_up_last, uint32_t);
FOLLOWS(struct store_session, fcnt_up_last, nfcnt_down, uint32_t);
FOLLOWS(struct store_session, nfcnt_down, rx1_dr_offset, uint8_t);
FOLLOWS(struct store_session, rx1_dr_offset, rx2_dr, uint8_t);
FOLLOWS(struct store_session, rx2_dr, rx2_freq, uint32_t);
FOLLOWS(struct store_session, rx2_freq, rx_delay, uint8_t);
FOLLOWS(struct store_session, rx_delay, has_join_nonce_last, bool);
FOLLOWS(struct store_session, has_join_nonce_last, join_nonce_last, uint32_t);
FOLLOWS(struct store_session, join_nonce_last, has_dev_nonce_last, bool);
FOLLOWS(struct store_session, has_dev_nonce_last, dev_nonce_last, uint16_t);
FOLLOWS(struct store_session, dev_nonce_last, joined_at, int64_t);
FOLLOWS(struct store_session, joined_at, updated_at, int64_t);
ENDS_WITH(struct store_session, updated_at);
_Static_assert(offsetof(struct store_pending, row) == 0, "store_pending starts with row");
FOLLOWS(struct store_pending, row, has_current, bool);
FOLLOWS(struct store_pending, has_current, current_joined_at, uint32_t);
FOLLOWS(struct store_pending, current_joined_at, has_current_fcnt_up, bool);
FOLLOWS(struct store_pending, has_current_fcnt_up, current_fcnt_up, uint32_t);
ENDS_WITH(struct store_pending, current_fcnt_up);
/* and the size measured on x86_64 (LP64) */
_Static_assert(sizeof(void *) != 8 || sizeof(struct store_session) == 96,
	       "struct store_session grew: copy its new field in session_copy()");

/* row's fields into *r, stamped now, its padding zero: no byte of the
 * caller's padding (uninitialised stack memory, as a whole-struct copy
 * would take it) goes into the redo log, so valgrind and MSan see none
 * (as store_abp_seen_put()). A field added to struct store_session is
 * added here too. */
static void session_copy(struct store_session *r, const struct store_session *row, int64_t now)
{
	memset(r, 0, sizeof(*r));
	r->dev_eui = row->dev_eui;
	r->activation = row->activation;
	r->dev_addr = row->dev_addr;
	memcpy(r->nwk_s_key, row->nwk_s_key, sizeof(r->nwk_s_key));
	memcpy(r->app_s_key, row->app_s_key, sizeof(r->app_s_key));
	r->has_fcnt_up_last = row->has_fcnt_up_last;
	r->fcnt_up_last = row->fcnt_up_last;
	r->nfcnt_down = row->nfcnt_down;
	r->rx1_dr_offset = row->rx1_dr_offset;
	r->rx2_dr = row->rx2_dr;
	r->rx2_freq = row->rx2_freq;
	r->rx_delay = row->rx_delay;
	r->has_join_nonce_last = row->has_join_nonce_last;
	r->join_nonce_last = row->join_nonce_last;
	r->has_dev_nonce_last = row->has_dev_nonce_last;
	r->dev_nonce_last = row->dev_nonce_last;
	r->joined_at = row->joined_at;
	r->updated_at = now;
}

int store_put_session(struct store *s, const struct store_session *row)
{
	struct store_session r;

	if (!s || !row)
		return LB_ERR_INVAL;
	if (!session_ok(row))
		return LB_ERR_RANGE;
	session_copy(&r, row, store__wall_s(s));
	int rc = store__stage(s, OP_PUT_SESSION, &r, sizeof(r));
	explicit_bzero(&r, sizeof(r));   /* the session keys */
	return rc;
}

/* n checked sessions (a power of 2 up to STORE_MANY_ROWS) as one record. */
static int put_session_group(struct store *s, const struct store_session *rows, size_t n)
{
	struct store__many h = {.n = (uint32_t)n};
	struct store_session r[STORE_MANY_ROWS];
	int64_t now = store__wall_s(s);
	const struct store__part parts[2] = {{&h, sizeof(h)}, {r, n * sizeof(r[0])}};

	for (size_t i = 0; i < n; i++)
		session_copy(&r[i], &rows[i], now);
	int rc = store__stagev(s, OP_PUT_SESSION_MANY, parts, 2, n);
	explicit_bzero(r, n * sizeof(r[0]));   /* the session keys */
	return rc;
}

static bool sessions_ok(const void *row, size_t i, void *scratch)
{
	(void)i;
	(void)scratch;
	return session_ok(row);
}

static int sessions_group(struct store *s, const void *rows, size_t g, const void *scratch)
{
	(void)scratch;
	return put_session_group(s, rows, g);
}

static int sessions_one(struct store *s, const void *row)
{
	return store_put_session(s, row);
}

int store_put_sessions(struct store *s, const struct store_session *rows, size_t n,
		       size_t *staged)
{
	static const struct store__many_kind kind = {
		.size = sizeof(struct store_session), .ok = sessions_ok,
		.group = sessions_group, .one = sessions_one,
	};
	return store__stage_many(s, &kind, rows, n, staged, NULL);
}

/* ---- pending sessions (schema v9, v12) --------------------------------- */

int store_put_pending(struct store *s, const struct store_pending *row)
{
	struct store_pending r;

	if (!s || !row)
		return LB_ERR_INVAL;
	if (!session_ok(&row->row))
		return LB_ERR_RANGE;
	memset(&r, 0, sizeof(r));   /* (session_copy()) */
	session_copy(&r.row, &row->row, store__wall_s(s));
	r.has_current = row->has_current;
	r.current_joined_at = row->current_joined_at;
	r.has_current_fcnt_up = row->has_current_fcnt_up;
	r.current_fcnt_up = row->current_fcnt_up;
	int rc = store__stage(s, OP_PENDING_PUT, &r, sizeof(r));
	explicit_bzero(&r, sizeof(r));   /* the session keys */
	return rc;
}

int store_delete_pending(struct store *s, uint64_t dev_eui)
{
	if (!s)
		return LB_ERR_INVAL;
	return store__stage(s, OP_PENDING_DELETE, &dev_eui, sizeof(dev_eui));
}

/* A `pending_session` row (PENDING_COLS): its session, then the note of
 * the current session (schema v12; NULL in rows written before). */
static int read_pending(sqlite3_stmt *st, struct store_pending *p)
{
	int rc = read_session(st, &p->row);

	p->has_current = col_opt(st, PC_CURRENT_JOINED_AT);
	p->current_joined_at = (uint32_t)sqlite3_column_int64(st, PC_CURRENT_JOINED_AT);
	p->has_current_fcnt_up = p->has_current && col_opt(st, PC_CURRENT_FCNT_UP);
	p->current_fcnt_up = (uint32_t)sqlite3_column_int64(st, PC_CURRENT_FCNT_UP);
	return rc;
}

int store_load_pending(struct store *s, store_pending_cb cb, void *arg)
{
	struct store_pending p;
	sqlite3_stmt *st;
	int rc, ret = LB_OK;

	if (!s || !s->db || !cb)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_PENDING_ALL);
	if (!st)
		return LB_ERR_IO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = read_pending(st, &p);
		if (ret == LB_OK)
			ret = cb(arg, &p);
		if (ret != LB_OK)
			break;
	}
	explicit_bzero(&p, sizeof(p));   /* the session keys */
	if (ret == LB_OK && rc != SQLITE_DONE)
		ret = store__fail(s, rc, "load pending sessions");
	sqlite3_reset(st);
	return ret;
}

int store_get_pending(struct store *s, uint64_t dev_eui, struct store_pending *out)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !out)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_PENDING_GET);
	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, dev_eui);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = read_pending(st, out);
	else
		rc = rc == SQLITE_DONE ? LB_ERR_NOT_FOUND
				       : store__fail(s, rc, "get pending session");
	sqlite3_reset(st);
	return rc;
}

/* ---- counters alone ----------------------------------------------------- */

static struct store__fcnt fcnt_of(const struct store_session *r, int64_t now)
{
	return (struct store__fcnt){.dev_eui = r->dev_eui, .updated_at = now,
				    .fcnt_up_last = r->fcnt_up_last,
				    .nfcnt_down = r->nfcnt_down,
				    .has_fcnt_up_last = r->has_fcnt_up_last};
}

static bool fcnt_ok(const void *row, size_t i, void *scratch)
{
	(void)row;
	(void)i;
	(void)scratch;
	return true;
}

/* n counters (a power of 2 up to STORE_MANY_ROWS) as one record. */
static int fcnt_group(struct store *s, const void *rows, size_t n, const void *scratch)
{
	const struct store_session *r = rows;
	struct store__many h = {.n = (uint32_t)n};
	struct store__fcnt f[STORE_MANY_ROWS];
	int64_t now = store__wall_s(s);
	const struct store__part parts[2] = {{&h, sizeof(h)}, {f, n * sizeof(f[0])}};

	(void)scratch;
	for (size_t i = 0; i < n; i++)
		f[i] = fcnt_of(&r[i], now);
	return store__stagev(s, OP_PUT_FCNT_MANY, parts, 2, n);
}

static int fcnt_one(struct store *s, const void *row)
{
	struct store__fcnt f = fcnt_of(row, store__wall_s(s));

	return store__stage(s, OP_PUT_FCNT, &f, sizeof(f));
}

int store_put_fcnts(struct store *s, const struct store_session *rows, size_t n,
		    size_t *staged)
{
	static const struct store__many_kind kind = {
		.size = sizeof(struct store_session), .ok = fcnt_ok,
		.group = fcnt_group, .one = fcnt_one,
	};
	return store__stage_many(s, &kind, rows, n, staged, NULL);
}

/* ---- DevNonces -------------------------------------------------------- */

int store_dev_nonce_used(struct store *s, uint64_t dev_eui, uint16_t nonce, bool *used)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !used)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_NONCE_USED);
	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, dev_eui);
	store__bind_u64(st, 1, nonce);
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

/* n checked ledgers (a power of 2 up to STORE_MANY_ROWS) as one record:
 * the head, then per ledger its numbers, blob and padding (store_write.h). */
static int ledger_group(struct store *s, const struct store_ledger_row *rows, size_t n)
{
	static const uint8_t zeros[8];
	struct store__many h = {.n = (uint32_t)n};
	struct store__ledger l[STORE_MANY_ROWS];
	struct store__part parts[1 + 3 * STORE_MANY_ROWS];
	size_t k = 0;

	parts[k++] = (struct store__part){&h, sizeof(h)};
	for (size_t i = 0; i < n; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].owner = rows[i].owner;
		l[i].kind = (uint32_t)rows[i].kind;
		l[i].len = (uint32_t)rows[i].len;
		parts[k++] = (struct store__part){&l[i], sizeof(l[i])};
		parts[k++] = (struct store__part){rows[i].blob, rows[i].len};
		parts[k++] = (struct store__part){zeros, store__entry_size(sizeof(l[i]), rows[i].len) -
						  sizeof(l[i]) - rows[i].len};
	}
	return store__stagev(s, OP_LEDGER_PUT_MANY, parts, k, n);
}

static bool ledger_ok(const struct store_ledger_row *r)
{
	return (r->blob || !r->len) && (int)r->kind > 0 && r->len <= STORE_LEDGER_MAX;
}

static bool ledgers_ok(const void *row, size_t i, void *scratch)
{
	(void)i;
	(void)scratch;
	return ledger_ok(row);
}

static int ledgers_group(struct store *s, const void *rows, size_t g, const void *scratch)
{
	(void)scratch;
	return ledger_group(s, rows, g);
}

static int ledgers_one(struct store *s, const void *row)
{
	const struct store_ledger_row *r = row;
	return store_ledger_put(s, r->owner, r->kind, r->blob, r->len);
}

int store_ledger_put_many(struct store *s, const struct store_ledger_row *rows, size_t n,
			  size_t *staged)
{
	static const struct store__many_kind kind = {
		.size = sizeof(struct store_ledger_row), .ok = ledgers_ok,
		.group = ledgers_group, .one = ledgers_one,
	};
	return store__stage_many(s, &kind, rows, n, staged, NULL);
}

int store_ledger_get(struct store *s, uint64_t owner, enum store_ledger_kind kind, void *blob,
		     size_t cap, size_t *len)
{
	sqlite3_stmt *st;
	int rc;

	if (!s || !s->db || !len || (!blob && cap))
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_LEDGER_GET);
	if (!st)
		return LB_ERR_IO;
	store__bind_u64(st, 0, owner);
	store__bind_u64(st, 1, (uint64_t)kind);
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
	if (!st)
		return LB_ERR_IO;
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
	if (!s || store__copy_str(m.key, sizeof(m.key), key) != LB_OK ||
	    strcmp(m.key, STORE_GEN_META_KEY) == 0 ||    /* the store's own (store_gen.h) */
	    strcmp(m.key, STORE_OUTBOX_ACKED_KEY) == 0)  /* and the outbox's */
		return LB_ERR_INVAL;
	m.value = value;
	return store__stage(s, OP_META_PUT, &m, sizeof(m));
}

/* ---- gateways reported online ----------------------------------------- */

int store_gateway_online_set(struct store *s, uint64_t gateway_eui, bool online)
{
	struct store__gw_online g;

	if (!s)
		return LB_ERR_INVAL;
	memset(&g, 0, sizeof(g));
	g.gateway_eui = gateway_eui;
	g.online = online;
	g.since = store__wall_s(s);
	return store__stage(s, OP_GW_ONLINE, &g, sizeof(g));
}

int store_gateway_online_list(struct store *s, store_gateway_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, ret = LB_OK;

	if (!s || !s->db || !cb)
		return LB_ERR_INVAL;
	st = store__stmt(s, STMT_GW_ONLINE_ALL);
	if (!st)
		return LB_ERR_IO;
	while (ret == LB_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		ret = cb(arg, (uint64_t)sqlite3_column_int64(st, 0));
	if (ret == LB_OK && rc != SQLITE_DONE)
		ret = store__fail(s, rc, "list gateway states");
	sqlite3_reset(st);
	return ret;
}

/* ---- purge ------------------------------------------------------------ */

int store_purge_flags(struct store *s, uint64_t dev_eui, unsigned flags)
{
	int before, changed, rc;

	if (!s)
		return LB_ERR_INVAL;
	rc = store__begin(s);   /* replay first: only the purge's changes count */
	if (rc != LB_OK)
		return rc;
	before = sqlite3_total_changes(s->db);
	rc = store__stage(s, OP_PURGE, &dev_eui, sizeof(dev_eui));
	if (rc == LB_OK && (flags & STORE_PURGE_FORGET_SEEN))
		rc = store__stage(s, OP_PURGE_SEEN, &dev_eui, sizeof(dev_eui));
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
