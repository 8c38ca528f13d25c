/* SPDX-License-Identifier: MIT */
/*
 * store_db.c - the SQL of the statements the store prepares at open, and
 * the helpers every store module runs them with: a statement ready for
 * binding, binding an unsigned value, translating SQLite result codes (and
 * logging what failed). See store_db.h.
 */
#include <string.h>
#include <time.h>

#include "store/store_db.h"

#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG

/* The VALUES of 2, 4 ... STORE_MANY_ROWS rows, from those of one row. */
#define V2(v1) v1 "," v1
#define V4(v1) V2(v1) "," V2(v1)
#define V8(v1) V4(v1) "," V4(v1)
#define V16(v1) V8(v1) "," V8(v1)
#define V32(v1) V16(v1) "," V16(v1)
#define SESSION_V1 "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define PENDING_V1 "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define SESSION_PUT "INSERT OR REPLACE INTO session (" SESSION_COLS ") VALUES "
#define FCNT_V1 "(?,?,?,?)"
#define FCNT_PUT "INSERT OR REPLACE INTO session_fcnt (" FCNT_COLS ") VALUES "
#define LEDGER_V1 "(?,?,?)"
#define LEDGER_PUT "INSERT OR REPLACE INTO ledger (owner, kind, blob) VALUES "
_Static_assert(STORE_MANY_ROWS == 32 && OC__COUNT == 5 && SC__COUNT == 15 && FC__COUNT == 4 &&
	       PC__COUNT == 17,
	       "the VALUES hard-code the rows and columns");
_Static_assert(STMT_SESSION_PUT_32 - STMT_SESSION_PUT == 5 &&
	       STMT_FCNT_PUT_32 - STMT_FCNT_PUT == 5 &&
	       STMT_LEDGER_PUT_32 - STMT_LEDGER_PUT == 5, "one statement per power of 2");

const char *const store__sql[STMT__COUNT] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_SESSION_PUT] = SESSION_PUT SESSION_V1,
	[STMT_SESSION_PUT_2] = SESSION_PUT V2(SESSION_V1),
	[STMT_SESSION_PUT_4] = SESSION_PUT V4(SESSION_V1),
	[STMT_SESSION_PUT_8] = SESSION_PUT V8(SESSION_V1),
	[STMT_SESSION_PUT_16] = SESSION_PUT V16(SESSION_V1),
	[STMT_SESSION_PUT_32] = SESSION_PUT V32(SESSION_V1),
	[STMT_SESSION_GET] = "SELECT " SESSION_COLS_READ " WHERE s.dev_eui = ?",
	[STMT_SESSION_ALL] = "SELECT " SESSION_COLS_READ " ORDER BY s.dev_eui",
	[STMT_NONCE_USED] = "SELECT 1 FROM dev_nonce WHERE dev_eui = ? AND dev_nonce = ?",
	[STMT_NONCE_ADD] = "INSERT INTO dev_nonce (dev_eui, dev_nonce) VALUES (?, ?)",
	[STMT_DL_MAXSEQ] = "SELECT COALESCE(MAX(seq), 0) FROM downlink WHERE dev_eui = ?",
	[STMT_DL_INSERT] = "INSERT INTO downlink (" DL_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?)",
	[STMT_DL_LIST] = "SELECT " DL_COLS " FROM downlink WHERE dev_eui = ? ORDER BY seq",
	[STMT_DL_GET] = "SELECT " DL_COLS " FROM downlink WHERE id = ?",
	[STMT_DL_UPDATE] = "UPDATE downlink SET state = ?, fcnt_down = ? WHERE id = ?",
	[STMT_DL_DELETE] = "DELETE FROM downlink WHERE id = ?",
	[STMT_DL_FLUSH] = "DELETE FROM downlink WHERE dev_eui = ?",
	[STMT_DL_COUNT] = "SELECT COUNT(*) FROM downlink WHERE dev_eui = ?",
	[STMT_DL_DEVICES] = "SELECT DISTINCT dev_eui FROM downlink",
	[STMT_LEDGER_PUT] = LEDGER_PUT LEDGER_V1,
	[STMT_LEDGER_PUT_2] = LEDGER_PUT V2(LEDGER_V1),
	[STMT_LEDGER_PUT_4] = LEDGER_PUT V4(LEDGER_V1),
	[STMT_LEDGER_PUT_8] = LEDGER_PUT V8(LEDGER_V1),
	[STMT_LEDGER_PUT_16] = LEDGER_PUT V16(LEDGER_V1),
	[STMT_LEDGER_PUT_32] = LEDGER_PUT V32(LEDGER_V1),
	[STMT_LEDGER_GET] = "SELECT blob FROM ledger WHERE owner = ? AND kind = ?",
	[STMT_META_PUT] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
	[STMT_META_GET] = "SELECT value FROM meta WHERE key = ?",
	[STMT_PURGE_SESSION] = "DELETE FROM session WHERE dev_eui = ?",
	[STMT_PURGE_NONCE] = "DELETE FROM dev_nonce WHERE dev_eui = ?",
	[STMT_PURGE_DL] = "DELETE FROM downlink WHERE dev_eui = ?",
	[STMT_PURGE_LEDGER] = "DELETE FROM ledger WHERE owner = ? AND kind < 256",
	[STMT_GW_ONLINE_PUT] = "INSERT OR REPLACE INTO gateway_online (gateway_eui, since) "
			       "VALUES (?, ?)",
	[STMT_GW_ONLINE_DELETE] = "DELETE FROM gateway_online WHERE gateway_eui = ?",
	[STMT_GW_ONLINE_ALL] = "SELECT gateway_eui FROM gateway_online ORDER BY gateway_eui",
	[STMT_OUTBOX_INSERT] = "INSERT INTO outbox (" OUTBOX_COLS ") VALUES (?,?,?,?,?)",
	/* A row's key is its last event's seq. */
	[STMT_OUTBOX_DELETE_ACKED] = "DELETE FROM outbox WHERE seq <= ?",
	/* The rows holding events after ?1 (the one holding ?1 + 1 first, if
	 * it holds older ones too) and up to ?2. */
	[STMT_OUTBOX_PAGE] = "SELECT body FROM outbox WHERE seq > ? AND first_seq <= ?"
			     " ORDER BY seq",
	/* Events and bytes (store_outbox_row_bytes() summed) of the rows after
	 * the mark; the row holding the mark is corrected in C. */
	[STMT_OUTBOX_USAGE] = "SELECT COALESCE(sum(events), 0), COALESCE(sum(bytes), 0),"
			      " COALESCE(min(first_seq), 0), COALESCE(max(seq), 0)"
			      " FROM outbox WHERE seq > ?",
	[STMT_MAC_PUT] = "INSERT OR REPLACE INTO mac_state (" MAC_COLS
			 ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[STMT_MAC_GET] = "SELECT " MAC_COLS " FROM mac_state WHERE dev_eui = ?",
	[STMT_MAC_ALL] = "SELECT " MAC_COLS " FROM mac_state ORDER BY dev_eui",
	[STMT_PURGE_MAC] = "DELETE FROM mac_state WHERE dev_eui = ?",
	[STMT_FCNT_PUT] = FCNT_PUT FCNT_V1,
	[STMT_FCNT_PUT_2] = FCNT_PUT V2(FCNT_V1),
	[STMT_FCNT_PUT_4] = FCNT_PUT V4(FCNT_V1),
	[STMT_FCNT_PUT_8] = FCNT_PUT V8(FCNT_V1),
	[STMT_FCNT_PUT_16] = FCNT_PUT V16(FCNT_V1),
	[STMT_FCNT_PUT_32] = FCNT_PUT V32(FCNT_V1),
	/* A whole session row written: its counters are current again. */
	[STMT_FCNT_DELETE] = "DELETE FROM session_fcnt WHERE dev_eui = ?",
	[STMT_PURGE_FCNT] = "DELETE FROM session_fcnt WHERE dev_eui = ?",
	/* A session left again: its counters are the higher of both (they only
	 * move forward), and it becomes the device's most recent (seen). */
	[STMT_ABP_SEEN_PUT] =
		"INSERT INTO abp_seen (" ABP_SEEN_COLS ", seen) VALUES (?1, ?2, ?3, ?4, ?5,"
		" (SELECT coalesce(max(seen), 0) + 1 FROM abp_seen WHERE dev_eui = ?1))"
		" ON CONFLICT (dev_eui, session_id) DO UPDATE SET"
		" fcnt_up_last = CASE WHEN fcnt_up_last IS NULL THEN excluded.fcnt_up_last"
		"  WHEN excluded.fcnt_up_last IS NULL THEN fcnt_up_last"
		"  ELSE max(fcnt_up_last, excluded.fcnt_up_last) END,"
		" nfcnt_down = max(nfcnt_down, excluded.nfcnt_down),"
		" seen = excluded.seen, updated_at = excluded.updated_at",
	/* Every row of the device older than its ?2-th most recent. */
	[STMT_ABP_SEEN_BOUND] =
		"DELETE FROM abp_seen WHERE dev_eui = ?1 AND seen < (SELECT seen FROM abp_seen"
		" WHERE dev_eui = ?1 ORDER BY seen DESC LIMIT 1 OFFSET ?2 - 1)",
	/* A session's rows of every device that left it, merged: a device
	 * that left it last (by updated_at), the highest counters (max() skips
	 * NULLs). */
	[STMT_ABP_SEEN_GET] = "SELECT (SELECT dev_eui FROM abp_seen WHERE session_id = ?1"
			      " ORDER BY updated_at DESC LIMIT 1),"
			      " ?1, max(fcnt_up_last), max(nfcnt_down), max(updated_at), count(*)"
			      " FROM abp_seen WHERE session_id = ?1",
	[STMT_ABP_SEEN_COUNT] = "SELECT count(*) FROM abp_seen WHERE dev_eui = ?",
	[STMT_ABP_SEEN_IDS] = "SELECT DISTINCT session_id FROM abp_seen",
	[STMT_PURGE_ABP_SEEN] = "DELETE FROM abp_seen WHERE dev_eui = ?",
	[STMT_PENDING_PUT] = "INSERT OR REPLACE INTO pending_session (" PENDING_COLS ") VALUES "
		PENDING_V1,
	[STMT_PENDING_ALL] = "SELECT " PENDING_COLS " FROM pending_session ORDER BY dev_addr",
	[STMT_PENDING_DELETE] = "DELETE FROM pending_session WHERE dev_eui = ?",
	[STMT_PENDING_GET] = "SELECT " PENDING_COLS " FROM pending_session WHERE dev_eui = ?",
};

_Static_assert(STORE_LEDGER_GATEWAY_BASE == 256, "STMT_PURGE_LEDGER hard-codes the base");

int store__translate(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return LB_OK;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
			return LB_ERR_DUPLICATE;
		return LB_ERR_INVAL;
	case SQLITE_NOMEM:
		return LB_ERR_NOMEM;
	case SQLITE_TOOBIG:
		return LB_ERR_TOO_LARGE;
	case SQLITE_RANGE:
	case SQLITE_MISUSE:
		return LB_ERR_INVAL;
	default:        /* IOERR, FULL, CORRUPT, NOTADB, BUSY, CANTOPEN, ... */
		return LB_ERR_IO;
	}
}

int64_t store__wall_s(const struct store *s)
{
	return s->wall_s ? s->wall_s() : (int64_t)time(NULL);
}

int64_t store__mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int store__sys_errno(struct store *s, int rc)
{
	sqlite3_file *wal = NULL;
	int err;

	if (!s->db || ((rc & 0xff) != SQLITE_IOERR && (rc & 0xff) != SQLITE_FULL))
		return 0;
	if ((err = sqlite3_system_errno(s->db)) != 0)
		return err;
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) == SQLITE_OK &&
	    wal && wal->pMethods &&
	    wal->pMethods->xFileControl(wal, SQLITE_FCNTL_LAST_ERRNO, &err) == SQLITE_OK && err)
		return err;
	err = 0;
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_LAST_ERRNO, &err) != SQLITE_OK)
		return 0;
	return err;
}

int store__fail(struct store *s, int rc, const char *what)
{
	int err = store__translate(rc);
	const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
	/* The system's own error behind it (EROFS, EIO): SQLite's message
	 * alone says "disk I/O error" for a read-only disk. */
	int sys = store__sys_errno(s, rc);

	if (sys)
		s->fail_errno = sys;
	if (err == LB_OK)   /* an unexpected ROW/DONE: the statement misbehaved */
		err = LB_ERR_IO;
	if (err == LB_ERR_DUPLICATE || err == LB_ERR_INVAL)
		log_debug(TAG, "%s: %s", what, msg);
	else if (sys)
		LB_LOG_RL(LOG_LVL_ERROR, TAG, "%s: %s (sqlite %d; last OS error: %s)", what, msg,
			  rc, strerror(sys));
	else
		LB_LOG_RL(LOG_LVL_ERROR, TAG, "%s: %s (sqlite %d)", what, msg, rc);
	return err;
}

int store__many_stmt(enum store_stmt one, uint32_t n)
{
	int id = (int)one;

	if (n < 2 || n > STORE_MANY_ROWS || (n & (n - 1)) != 0)
		return -1;
	for (uint32_t k = 1; k < n; k *= 2)
		id++;
	return id;
}

size_t store__group(size_t k)
{
	size_t g = 1;

	while (g * 2 <= k && g * 2 <= STORE_MANY_ROWS)
		g *= 2;
	return g;
}

int store__prepare(struct store *s, enum store_stmt id)
{
	int rc = sqlite3_prepare_v3(s->db, store__sql[id], -1, SQLITE_PREPARE_PERSISTENT,
				    &s->stmt[id], NULL);

	if (rc == SQLITE_OK)
		return LB_OK;
	log_error(TAG, "prepare \"%.60s...\": %s", store__sql[id], sqlite3_errmsg(s->db));
	s->stmt[id] = NULL;
	return store__translate(rc) == LB_OK ? LB_ERR_IO : store__translate(rc);
}

sqlite3_stmt *store__stmt(struct store *s, enum store_stmt id)
{
	if (!s->stmt[id] && store__prepare(s, id) != LB_OK)
		return NULL;
	sqlite3_stmt *st = s->stmt[id];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Bind failures (out of memory) are not checked one by one: an unbound
 * parameter is NULL, which a NOT NULL column refuses at step time, so the
 * error surfaces from sqlite3_step(). Parameters are 1-based. */
void store__bind_u64(sqlite3_stmt *st, int col, uint64_t v)
{
	sqlite3_bind_int64(st, col + 1, (sqlite3_int64)v);
}
