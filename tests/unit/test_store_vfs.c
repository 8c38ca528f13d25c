/* SPDX-License-Identifier: MIT */
/*
 * test_store_vfs.c - the VFS that gathers the WAL's writes (store_vfs.h):
 * a commit's frames reach the file in a few writes, and what is committed
 * is in the file for another connection (the default VFS) at once, with
 * or without a sync.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "store/store.h"
#include "store/store_vfs.h"
#include "rawdb.h"
#include "testutil.h"

#define GW_1 UINT64_C(0x0016c001ff100001)
#define BLOB_LEN (512 * 1024)

static char base_dir[] = "/tmp/test_store_vfs.XXXXXX";

static void base_setup(void)
{
	testutil_tmp_make(base_dir);
}

static void base_teardown(void)
{
	testutil_tmp_remove(base_dir);
}

static void new_dir(char *out, size_t cap)
{
	ck_assert_int_lt(snprintf(out, cap, "%s/t.XXXXXX", base_dir), (int)cap);
	ck_assert_ptr_nonnull(mkdtemp(out));
}

/* A commit of 128 pages and more: SQLite asks for two writes a frame, the
 * file gets one per STORE_VFS_WAL_BUF bytes or so, and the row is there
 * for another connection. */
START_TEST(test_commit_gathers_writes)
{
	static uint8_t blob[BLOB_LEN];
	struct store_vfs_stats a, b;
	char dir[512];
	struct store s;

	new_dir(dir, sizeof(dir));
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7 + i / 4096);
	store_vfs_stats(&a);
	ck_assert_int_eq(store_ledger_put(&s, GW_1, STORE_LEDGER_DUTY_CYCLE, blob, sizeof(blob)),
			 LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	store_vfs_stats(&b);
	uint64_t asked = b.wal_writes - a.wal_writes, out = b.wal_writes_out - a.wal_writes_out;
	ck_assert_uint_ge(asked, 2 * (BLOB_LEN / 4096));
	ck_assert_uint_le(out, 2 + 2 * (BLOB_LEN + BLOB_LEN / 8) / STORE_VFS_WAL_BUF);
	ck_assert_int_eq(rawdb_int(dir, "SELECT length(blob) FROM ledger"), BLOB_LEN);

	/* Read back whole after a reopen. */
	static uint8_t back[BLOB_LEN];
	size_t n = 0;
	store_close(&s);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_ledger_get(&s, GW_1, STORE_LEDGER_DUTY_CYCLE, back, sizeof(back),
					  &n), LB_OK);
	ck_assert_uint_eq(n, sizeof(back));
	ck_assert_mem_eq(back, blob, sizeof(back));
	store_close(&s);
}
END_TEST

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
}

/* Without a sync (synchronous = OFF) a commit's frames still reach the
 * file before SQLite publishes them in the wal-index: another connection
 * reads every row, and the database checks out. */
START_TEST(test_commit_visible_without_sync)
{
	char dir[512], path[600];
	sqlite3 *db = NULL;

	new_dir(dir, sizeof(dir));
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME),
			 (int)sizeof(path));
	ck_assert_int_eq(store_vfs_register(), LB_OK);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					 STORE_VFS_NAME), SQLITE_OK);
	exec_ok(db, "PRAGMA journal_mode = WAL");
	exec_ok(db, "PRAGMA synchronous = OFF");
	exec_ok(db, "CREATE TABLE t (x BLOB)");
	for (int round = 1; round <= 3; round++) {
		exec_ok(db, "BEGIN; INSERT INTO t SELECT zeroblob(1000) FROM "
			    "(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
			    "WHERE i < 50) SELECT i FROM c); COMMIT");
		ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM t"), 50 * round);
		ck_assert_int_eq(rawdb_int(dir, "SELECT sum(length(x)) FROM t"), 50000 * round);
	}
	sqlite3 *other = rawdb_open(dir);
	sqlite3_stmt *st = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(other, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(other);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}
END_TEST

static Suite *vfs_suite(void)
{
	Suite *s = suite_create("store_vfs");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_commit_gathers_writes);
	tcase_add_test(tc, test_commit_visible_without_sync);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_threshold = LOG_LVL_WARN;   /* errors under test still show */
	return testutil_run(vfs_suite());
}
