/* SPDX-License-Identifier: MIT */
/*
 * rawdb.h - a second SQLite connection on the state directory's database,
 * for tests that look at or change what the store wrote behind its back
 * (a row as stored, a table moved away for a moment). Each call opens and
 * closes its own connection; a failure fails the test.
 */
#ifndef LB_TEST_RAWDB_H
#define LB_TEST_RAWDB_H

#include <check.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store_types.h"

static inline sqlite3 *rawdb_open(const char *dir)
{
	char path[600];
	sqlite3 *db = NULL;

	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME),
			 (int)sizeof(path));
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	return db;
}

/* The first column of sql's first row as an integer; -999 without a row. */
static inline int64_t rawdb_int(const char *dir, const char *sql)
{
	sqlite3 *db = rawdb_open(dir);
	sqlite3_stmt *st = NULL;
	int64_t v = -999;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* SQL that takes a database back to schema v9: `mac_state` without the
 * columns of the receive-settings requests (v10), abp_seen without its
 * session index (v11); for a database set back to an older version that
 * keeps the table. */
#define RAWDB_MAC_STATE_V9                                                  \
	"ALTER TABLE mac_state DROP COLUMN rx_param_unanswered;"            \
	"ALTER TABLE mac_state DROP COLUMN rx_param_backoff_until;"         \
	"ALTER TABLE mac_state DROP COLUMN rx_param_ask_offset;"            \
	"ALTER TABLE mac_state DROP COLUMN rx_param_ask_dr;"                \
	"ALTER TABLE mac_state DROP COLUMN rx_param_ask_freq;"              \
	"ALTER TABLE mac_state DROP COLUMN rx_timing_unanswered;"           \
	"ALTER TABLE mac_state DROP COLUMN rx_timing_backoff_until;"        \
	"ALTER TABLE mac_state DROP COLUMN rx_timing_ask_delay;"            \
	"DROP INDEX IF EXISTS abp_seen_session;"

/* SQL that takes `pending_session` back to schema v11: without the note of
 * the current session (v12); for a database set back to v9..v11. */
#define RAWDB_PENDING_V11                                                   \
	"ALTER TABLE pending_session DROP COLUMN current_joined_at;"        \
	"ALTER TABLE pending_session DROP COLUMN current_fcnt_up;"

/* Run sql, which must succeed. */
static inline void rawdb_exec(const char *dir, const char *sql)
{
	sqlite3 *db = rawdb_open(dir);

	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

#endif
