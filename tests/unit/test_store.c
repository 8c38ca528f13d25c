/* SPDX-License-Identifier: MIT */
/* test_store.c - durable state in SQLite: schema, every API, group commit
 * (staged rows invisible to other connections until committed), a kill -9
 * between batches, a failing disk (a VFS shim returning SQLITE_FULL; the
 * outbox records are replayed after it too), corrupt and too-new database
 * files, purge, the NFCntDown reservation. All
 * databases live in one mkdtemp() directory under /tmp, removed by an
 * unchecked fixture (run in the parent, even when a test fails). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "store/store.h"
#include "store/store_db.h"
#include "tables/fcntdown.h"
#include "tables/ledger.h"
#include "rawdb.h"
#include "testutil.h"

#define EUI_A UINT64_C(0x70b3d57ed0000001)
#define EUI_B UINT64_C(0x70b3d57ed0000002)
#define EUI_MAX UINT64_C(0xffffffffffffffff)   /* a negative INTEGER in SQL */
#define GW_1 UINT64_C(0xaa555a0000000001)

static char base_dir[] = "/tmp/test_store.XXXXXX";

static void base_setup(void)
{
	testutil_tmp_make(base_dir);
}

static void base_teardown(void)
{
	testutil_tmp_remove(base_dir);
}

/* A fresh directory for one test (below the base, not yet created when
 * `sub` is given: store_open must create it). */
static void new_dir(char *out, size_t cap, const char *sub)
{
	char tmpl[256];

	snprintf(tmpl, sizeof(tmpl), "%s/t.XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_int_lt(snprintf(out, cap, "%s%s%s", tmpl, sub ? "/" : "", sub ? sub : ""),
			 (int)cap);
}

static void db_path(char *out, size_t cap, const char *dir)
{
	ck_assert_int_lt(snprintf(out, cap, "%s/%s", dir, STORE_DB_NAME), (int)cap);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void raw_text(const char *dir, const char *sql, char *out, size_t cap)
{
	char path[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	db_path(path, sizeof(path), dir);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, "unix"), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void raw_exec(const char *dir, const char *sql)
{
	char path[512];
	sqlite3 *db = NULL;

	db_path(path, sizeof(path), dir);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					 "unix"), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static struct store_session mk_session(uint64_t eui, uint32_t fcnt_up)
{
	struct store_session r;

	memset(&r, 0, sizeof(r));
	r.dev_eui = eui;
	r.activation = LB_ACT_OTAA;
	r.dev_addr = 0x26011000u | (uint32_t)(eui & 0xff);
	for (int i = 0; i < STORE_KEY_LEN; i++) {
		r.nwk_s_key[i] = (uint8_t)(0x10 + i);
		r.app_s_key[i] = (uint8_t)(0xa0 + i + (eui & 0x0f));
	}
	r.has_fcnt_up_last = true;
	r.fcnt_up_last = fcnt_up;
	r.nfcnt_down = 64;
	r.rx1_dr_offset = 1;
	r.rx2_dr = 0;
	r.rx2_freq = 869525000;
	r.rx_delay = 1;
	r.has_join_nonce_last = true;
	r.join_nonce_last = 0x123456;
	r.has_dev_nonce_last = true;
	r.dev_nonce_last = 0xbeef;
	r.joined_at = 1700000000;
	return r;
}

static void expect_session(const struct store_session *got, const struct store_session *want)
{
	ck_assert_uint_eq(got->dev_eui, want->dev_eui);
	ck_assert_int_eq(got->activation, want->activation);
	ck_assert_uint_eq(got->dev_addr, want->dev_addr);
	ck_assert_mem_eq(got->nwk_s_key, want->nwk_s_key, STORE_KEY_LEN);
	ck_assert_mem_eq(got->app_s_key, want->app_s_key, STORE_KEY_LEN);
	ck_assert(got->has_fcnt_up_last == want->has_fcnt_up_last);
	if (want->has_fcnt_up_last)
		ck_assert_uint_eq(got->fcnt_up_last, want->fcnt_up_last);
	ck_assert_uint_eq(got->nfcnt_down, want->nfcnt_down);
	ck_assert_uint_eq(got->rx1_dr_offset, want->rx1_dr_offset);
	ck_assert_uint_eq(got->rx2_dr, want->rx2_dr);
	ck_assert_uint_eq(got->rx2_freq, want->rx2_freq);
	ck_assert_uint_eq(got->rx_delay, want->rx_delay);
	ck_assert(got->has_join_nonce_last == want->has_join_nonce_last);
	if (want->has_join_nonce_last)
		ck_assert_uint_eq(got->join_nonce_last, want->join_nonce_last);
	ck_assert(got->has_dev_nonce_last == want->has_dev_nonce_last);
	if (want->has_dev_nonce_last)
		ck_assert_uint_eq(got->dev_nonce_last, want->dev_nonce_last);
	ck_assert_int_eq(got->joined_at, want->joined_at);
}

static struct store_downlink mk_downlink(const char *id, uint64_t eui, uint8_t fport,
					 const char *payload)
{
	struct store_downlink d;

	memset(&d, 0, sizeof(d));
	snprintf(d.id, sizeof(d.id), "%s", id);
	d.dev_eui = eui;
	d.fport = fport;
	d.confirmed = fport % 2 == 1;
	d.len = strlen(payload);
	memcpy(d.data, payload, d.len);
	return d;
}

/* ---- schema, reopen -------------------------------------------------- */

START_TEST(test_schema_created)
{
	char dir[512], path[600];
	struct store s;
	struct stat st;
	char mode[16];

	new_dir(dir, sizeof(dir), "state/nested");
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0750);
	db_path(path, sizeof(path), dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);    /* it holds session keys */
	ck_assert_int_eq(rawdb_int(dir, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
				      " AND name IN ('session', 'dev_nonce', 'downlink',"
				      " 'ledger', 'meta')"), 5);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
				      " AND name = 'downlink_dev_seq'"), 1);
	raw_text(dir, "PRAGMA journal_mode", mode, sizeof(mode));
	ck_assert_str_eq(mode, "wal");
	ck_assert(!store_dirty(&s));
	ck_assert_int_eq(store_due_ms(&s), -1);
	/* Statements are prepared at their first use, not by the open; each of
	 * them is valid SQL for this schema. */
	ck_assert_ptr_null(s.stmt[STMT_NONCE_ADD]);
	ck_assert_ptr_null(s.stmt[STMT_OUTBOX_INSERT]);
	for (int i = 0; i < STMT__COUNT; i++) {
		if (!s.stmt[i])
			ck_assert_int_eq(store__prepare(&s, (enum store_stmt)i), LB_OK);
		ck_assert_ptr_nonnull(s.stmt[i]);
	}
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(store_close(&s), LB_OK);      /* closed struct: no-op */
	/* Reopening an existing schema migrates nothing. */
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	store_close(&s);
}
END_TEST

START_TEST(test_open_args)
{
	struct store s;
	char dir[512];

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, NULL, 200), LB_ERR_INVAL);
	ck_assert_int_eq(store_open(&s, "", 200), LB_ERR_INVAL);
	ck_assert_int_eq(store_open(&s, dir, -1), LB_ERR_INVAL);
	ck_assert_int_eq(store_open(&s, dir, STORE_MAX_COMMIT_MS + 1), LB_ERR_INVAL);
	ck_assert_ptr_null(s.db);
	ck_assert_int_eq(store_close(&s), LB_OK);
	/* Not a directory. */
	ck_assert_int_eq(store_open(&s, "/dev/null/x", 200), LB_ERR_IO);
	ck_assert_int_eq(store_commit(&s), LB_ERR_STATE);
	ck_assert_int_eq(store_put_session(&s, &(struct store_session){.rx_delay = 1}),
			 LB_ERR_STATE);
}
END_TEST

START_TEST(test_reopen_keeps_data)
{
	char dir[512], hex[32];
	struct store s;
	struct store_session a = mk_session(EUI_A, 41), b = mk_session(EUI_MAX, 0), got;
	int64_t t0 = time(NULL);

	b.activation = LB_ACT_ABP;
	b.has_fcnt_up_last = false;     /* NULLs survive as NULLs */
	b.has_join_nonce_last = false;
	b.has_dev_nonce_last = false;
	b.joined_at = 0;
	b.nfcnt_down = UINT32_MAX;
	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	ck_assert_int_eq(store_put_session(&s, &b), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(store_close(&s), LB_OK);

	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	expect_session(&got, &a);
	ck_assert_int_ge(got.updated_at, t0);
	ck_assert_int_le(got.updated_at, time(NULL));
	ck_assert_int_eq(store_get_session(&s, EUI_MAX, &got), LB_OK);
	expect_session(&got, &b);
	store_close(&s);
	/* A stored RX1 delay beyond RXTimingSetupReq's 0..15 (a row edited by
	 * hand) comes back as the default, not cut to 4 bits. */
	rawdb_exec(dir, "UPDATE session SET rx_delay = 17 WHERE fcnt_up_last = 41");
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	ck_assert_uint_eq(got.rx_delay, 0);
	store_close(&s);
	/* Readable with the sqlite3 CLI as documented in store.h. */
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session WHERE fcnt_up_last IS NULL"), 1);
	raw_text(dir, "SELECT printf('%016X', dev_eui) FROM session WHERE fcnt_up_last = 41",
		 hex, sizeof(hex));
	ck_assert_str_eq(hex, "70B3D57ED0000001");
	raw_text(dir, "SELECT printf('%016X', dev_eui) FROM session WHERE activation = 0",
		 hex, sizeof(hex));
	ck_assert_str_eq(hex, "FFFFFFFFFFFFFFFF");
}
END_TEST

START_TEST(test_close_commits_staged)
{
	char dir[512];
	struct store s;
	struct store_session a = mk_session(EUI_A, 7), got;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 60000), LB_OK);
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	ck_assert_int_eq(store_meta_put(&s, "dev_addr_next", 5), LB_OK);
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	ck_assert_uint_eq(got.fcnt_up_last, 7);
	store_close(&s);
}
END_TEST

START_TEST(test_second_process_locked_out)
{
	char dir[512];
	struct store s1, s2;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s1, dir, 200), LB_OK);
	ck_assert_int_eq(store_open(&s2, dir, 200), LB_ERR_STATE);
	ck_assert_ptr_null(s2.db);
	store_close(&s1);
	ck_assert_int_eq(store_open(&s2, dir, 200), LB_OK);
	store_close(&s2);
}
END_TEST

/* ---- every API -------------------------------------------------------- */

struct collected {
	uint64_t eui[8];
	uint32_t fcnt[8];
	char id[8][STORE_DL_ID_SIZE];
	uint32_t seq[8];
	size_t n;
	int stop_after;   /* return 77 from the callback after this many rows */
};

static int collect_session(void *arg, const struct store_session *r)
{
	struct collected *c = arg;

	ck_assert_uint_lt(c->n, 8);
	c->eui[c->n] = r->dev_eui;
	c->fcnt[c->n++] = r->fcnt_up_last;
	return c->stop_after && c->n == (size_t)c->stop_after ? 77 : 0;
}

static int collect_downlink(void *arg, const struct store_downlink *d)
{
	struct collected *c = arg;

	ck_assert_uint_lt(c->n, 8);
	snprintf(c->id[c->n], STORE_DL_ID_SIZE, "%s", d->id);
	c->seq[c->n++] = d->seq;
	return c->stop_after && c->n == (size_t)c->stop_after ? 77 : 0;
}

START_TEST(test_session_api)
{
	char dir[512];
	struct store s;
	struct store_session a = mk_session(EUI_A, 1), b = mk_session(EUI_B, 2), got, bad;
	struct collected c = {0};

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	/* This handle reads its own staged rows. */
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	expect_session(&got, &a);
	a.fcnt_up_last = 99;
	a.nfcnt_down = 128;
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	ck_assert_int_eq(store_put_session(&s, &b), LB_OK);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	expect_session(&got, &a);

	ck_assert_int_eq(store_load_sessions(&s, collect_session, &c), LB_OK);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.eui[0], EUI_A);
	ck_assert_uint_eq(c.fcnt[0], 99);
	ck_assert_uint_eq(c.eui[1], EUI_B);
	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	ck_assert_int_eq(store_load_sessions(&s, collect_session, &c), 77);
	ck_assert_uint_eq(c.n, 1);

	/* Ranges. */
	bad = a;
	bad.rx_delay = 16;
	ck_assert_int_eq(store_put_session(&s, &bad), LB_ERR_RANGE);
	bad = a;
	bad.rx1_dr_offset = 8;
	ck_assert_int_eq(store_put_session(&s, &bad), LB_ERR_RANGE);
	bad = a;
	bad.join_nonce_last = 0x1000000;
	ck_assert_int_eq(store_put_session(&s, &bad), LB_ERR_RANGE);
	bad = a;
	bad.activation = (enum lb_activation)2;
	ck_assert_int_eq(store_put_session(&s, &bad), LB_ERR_RANGE);
	ck_assert_int_eq(store_put_session(&s, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(store_get_session(&s, EUI_A, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(store_load_sessions(&s, NULL, NULL), LB_ERR_INVAL);
	ck_assert_uint_eq(s.n_ops, 3);   /* refused writes are not staged */
	store_close(&s);
}
END_TEST

START_TEST(test_dev_nonces)
{
	char dir[512];
	struct store s;
	bool used = true;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_dev_nonce_used(&s, EUI_A, 0x1234, &used), LB_OK);
	ck_assert(!used);
	ck_assert_int_eq(store_add_dev_nonce(&s, EUI_A, 0x1234), LB_OK);
	ck_assert_int_eq(store_add_dev_nonce(&s, EUI_A, 0), LB_OK);
	ck_assert_int_eq(store_add_dev_nonce(&s, EUI_A, 0xffff), LB_OK);
	ck_assert_int_eq(store_dev_nonce_used(&s, EUI_A, 0x1234, &used), LB_OK);
	ck_assert(used);
	ck_assert_int_eq(store_add_dev_nonce(&s, EUI_A, 0x1234), LB_ERR_DUPLICATE);
	ck_assert_int_eq(store_dev_nonce_used(&s, EUI_B, 0x1234, &used), LB_OK);
	ck_assert(!used);                            /* per device */
	ck_assert_int_eq(store_add_dev_nonce(&s, EUI_B, 0x1234), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);   /* the duplicate did not break the batch */
	ck_assert_uint_eq(s.stats.rows_written, 4);
	ck_assert_uint_eq(s.stats.failures, 0);
	ck_assert_int_eq(store_dev_nonce_used(&s, EUI_A, 0xffff, &used), LB_OK);
	ck_assert(used);
	ck_assert_int_eq(store_dev_nonce_used(&s, EUI_A, 1, NULL), LB_ERR_INVAL);
	store_close(&s);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM dev_nonce"), 4);
}
END_TEST

START_TEST(test_downlink_queue)
{
	char dir[512];
	struct store s;
	struct store_downlink d, got;
	struct collected c = {0};
	uint32_t seq = 0;
	size_t n = 99;
	int64_t t0 = time(NULL);

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_downlink_count(&s, EUI_A, &n), LB_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_downlink_first(&s, EUI_A, &got), LB_ERR_NOT_FOUND);

	d = mk_downlink("a1", EUI_A, 10, "hello");
	ck_assert_int_eq(store_downlink_push(&s, &d, &seq), LB_OK);
	ck_assert_uint_eq(seq, 1);
	d = mk_downlink("b1", EUI_B, 11, "other device");
	ck_assert_int_eq(store_downlink_push(&s, &d, &seq), LB_OK);
	ck_assert_uint_eq(seq, 1);                   /* seq is per device */
	d = mk_downlink("a2", EUI_A, 11, "");         /* empty payload */
	ck_assert_int_eq(store_downlink_push(&s, &d, &seq), LB_OK);
	ck_assert_uint_eq(seq, 2);
	d = mk_downlink("a3", EUI_A, 223, "third");
	d.len = STORE_DL_MAX_DATA;
	memset(d.data, 0x5a, d.len);
	d.has_expires_at = true;
	d.expires_at_us = INT64_C(1715677967318406);
	ck_assert_int_eq(store_downlink_push(&s, &d, NULL), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);

	ck_assert_int_eq(store_downlink_count(&s, EUI_A, &n), LB_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(store_downlink_list(&s, EUI_A, collect_downlink, &c), LB_OK);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_str_eq(c.id[0], "a1");
	ck_assert_str_eq(c.id[1], "a2");
	ck_assert_str_eq(c.id[2], "a3");
	ck_assert_uint_eq(c.seq[2], 3);
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	ck_assert_int_eq(store_downlink_list(&s, EUI_A, collect_downlink, &c), 77);
	ck_assert_uint_eq(c.n, 2);

	ck_assert_int_eq(store_downlink_first(&s, EUI_A, &got), LB_OK);
	ck_assert_str_eq(got.id, "a1");
	ck_assert_uint_eq(got.dev_eui, EUI_A);
	ck_assert_uint_eq(got.fport, 10);
	ck_assert(!got.confirmed);
	ck_assert_uint_eq(got.len, 5);
	ck_assert_mem_eq(got.data, "hello", 5);
	ck_assert_int_eq(got.state, STORE_DL_QUEUED);
	ck_assert(!got.has_fcnt_down);
	ck_assert_int_ge(got.created_at, t0);
	ck_assert(!got.has_expires_at);
	ck_assert_int_eq(store_downlink_get(&s, "a3", &got), LB_OK);
	ck_assert(got.has_expires_at);
	ck_assert_int_eq(got.expires_at_us, INT64_C(1715677967318406));
	ck_assert_uint_eq(got.len, STORE_DL_MAX_DATA);
	ck_assert_uint_eq(got.data[STORE_DL_MAX_DATA - 1], 0x5a);
	ck_assert(got.confirmed);
	ck_assert_int_eq(store_downlink_get(&s, "a2", &got), LB_OK);
	ck_assert_uint_eq(got.len, 0);

	/* A confirmed downlink sent with NFCntDown 17, awaiting its ACK. */
	ck_assert_int_eq(store_downlink_update(&s, "a3", STORE_DL_SENT, true, 17), LB_OK);
	ck_assert_int_eq(store_downlink_get(&s, "a3", &got), LB_OK);
	ck_assert_int_eq(got.state, STORE_DL_SENT);
	ck_assert(got.has_fcnt_down);
	ck_assert_uint_eq(got.fcnt_down, 17);
	ck_assert_int_eq(store_downlink_update(&s, "a3", STORE_DL_QUEUED, false, 0), LB_OK);
	ck_assert_int_eq(store_downlink_get(&s, "a3", &got), LB_OK);
	ck_assert(!got.has_fcnt_down);

	ck_assert_int_eq(store_downlink_delete(&s, "a1"), LB_OK);
	ck_assert_int_eq(store_downlink_first(&s, EUI_A, &got), LB_OK);
	ck_assert_str_eq(got.id, "a2");
	d = mk_downlink("a4", EUI_A, 12, "four");
	ck_assert_int_eq(store_downlink_push(&s, &d, &seq), LB_OK);
	ck_assert_uint_eq(seq, 4);                   /* after the highest, not a gap */

	/* Refusals. */
	d = mk_downlink("a2", EUI_A, 12, "dup");
	ck_assert_int_eq(store_downlink_push(&s, &d, &seq), LB_ERR_DUPLICATE);
	d = mk_downlink("", EUI_A, 12, "x");
	ck_assert_int_eq(store_downlink_push(&s, &d, &seq), LB_ERR_INVAL);
	d = mk_downlink("big", EUI_A, 12, "x");
	d.len = STORE_DL_MAX_DATA + 1;
	ck_assert_int_eq(store_downlink_push(&s, &d, &seq), LB_ERR_TOO_LARGE);
	d = mk_downlink("x", EUI_A, 12, "x");
	memset(d.id, 'i', sizeof(d.id));              /* unterminated */
	ck_assert_int_eq(store_downlink_push(&s, &d, &seq), LB_ERR_INVAL);
	ck_assert_int_eq(store_downlink_update(&s, "nope", STORE_DL_SENT, true, 1),
			 LB_ERR_NOT_FOUND);
	ck_assert_int_eq(store_downlink_delete(&s, "nope"), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(store_downlink_get(&s, "nope", &got), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(store_downlink_get(&s, NULL, &got), LB_ERR_INVAL);

	/* Flush one device (a new join); the other keeps its queue. */
	ck_assert_int_eq(store_downlink_flush(&s, EUI_A), LB_OK);
	ck_assert_int_eq(store_downlink_count(&s, EUI_A, &n), LB_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_downlink_count(&s, EUI_B, &n), LB_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_uint_eq(s.stats.failures, 0);
	store_close(&s);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM downlink"), 1);
}
END_TEST

/* The set of devices that may have downlinks (store_downlink_maybe) stays
 * a superset of those with rows across pushes, deletes, flushes, commits
 * and reopens, and a read that finds none takes the device out. */
#define MAYBE_DEVS 4
#define MAYBE_IDS 64

static void check_maybe(struct store *s, const size_t *rows)
{
	for (uint64_t k = 0; k < MAYBE_DEVS; k++)
		if (rows[k])
			ck_assert(store_downlink_maybe(s, EUI_A + k));
}

START_TEST(test_downlink_maybe)
{
	char dir[512];
	struct store s;
	struct store_downlink d;
	size_t rows[MAYBE_DEVS] = {0}, n;
	int owner[MAYBE_IDS];   /* device of queue item "q<i>", -1: none */
	int next = 0;

	for (int i = 0; i < MAYBE_IDS; i++)
		owner[i] = -1;
	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert(!store_downlink_maybe(&s, EUI_A));
	ck_assert(store_downlink_maybe(NULL, EUI_A));
	srandom(13);
	for (int step = 0; step < 600; step++) {
		int k = (int)(random() % MAYBE_DEVS), i = (int)(random() % MAYBE_IDS);
		char id[16];
		switch (random() % 8) {
		case 0: case 1: case 2:   /* a downlink command */
			snprintf(id, sizeof(id), "q%d", next);
			d = mk_downlink(id, EUI_A + (uint64_t)k, 10, "x");
			ck_assert_int_eq(store_downlink_push(&s, &d, NULL), LB_OK);
			owner[next] = k;
			rows[k]++;
			next = (next + 1) % MAYBE_IDS;
			if (owner[next] >= 0) {   /* keep ids unique: drop the oldest */
				snprintf(id, sizeof(id), "q%d", next);
				ck_assert_int_eq(store_downlink_delete(&s, id), LB_OK);
				rows[owner[next]]--;
				owner[next] = -1;
			}
			break;
		case 3:   /* sent or expired */
			if (owner[i] < 0 || i == next)
				break;
			snprintf(id, sizeof(id), "q%d", i);
			ck_assert_int_eq(store_downlink_delete(&s, id), LB_OK);
			rows[owner[i]]--;
			owner[i] = -1;
			break;
		case 4:   /* a new join */
			if (random() % 4)
				break;
			ck_assert_int_eq(store_downlink_flush(&s, EUI_A + (uint64_t)k), LB_OK);
			for (int j = 0; j < MAYBE_IDS; j++)
				if (owner[j] == k)
					owner[j] = -1;
			rows[k] = 0;
			break;
		case 5:   /* an uplink reads the queue */
			ck_assert_int_eq(store_downlink_count(&s, EUI_A + (uint64_t)k, &n), LB_OK);
			ck_assert_uint_eq(n, rows[k]);
			ck_assert(store_downlink_maybe(&s, EUI_A + (uint64_t)k) == (n > 0));
			break;
		case 6:
			ck_assert_int_eq(store_commit(&s), LB_OK);
			break;
		default:   /* a restart: the set is read back exactly */
			if (random() % 4)
				break;
			ck_assert_int_eq(store_close(&s), LB_OK);
			ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
			for (uint64_t j = 0; j < MAYBE_DEVS; j++)
				ck_assert(store_downlink_maybe(&s, EUI_A + j) == (rows[j] > 0));
			break;
		}
		check_maybe(&s, rows);
	}
	/* list and first take an empty device out too. */
	ck_assert_int_eq(store_downlink_flush(&s, EUI_A), LB_OK);
	d = mk_downlink("z", EUI_A + 100, 10, "x");
	ck_assert_int_eq(store_downlink_push(&s, &d, NULL), LB_OK);
	ck_assert_int_eq(store_downlink_delete(&s, "z"), LB_OK);
	ck_assert(store_downlink_maybe(&s, EUI_A + 100));   /* not read since */
	struct collected c = {0};
	ck_assert_int_eq(store_downlink_list(&s, EUI_A, collect_downlink, &c), LB_OK);
	ck_assert(!store_downlink_maybe(&s, EUI_A));
	ck_assert_int_eq(store_downlink_first(&s, EUI_A + 100, &d), LB_ERR_NOT_FOUND);
	ck_assert(!store_downlink_maybe(&s, EUI_A + 100));
	store_close(&s);
}
END_TEST

START_TEST(test_ledgers)
{
	char dir[512];
	struct store s;
	uint8_t blob[300], out[300];
	size_t len = 0;

	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7);
	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_ledger_get(&s, EUI_A, STORE_LEDGER_FAIR_ACCESS, out, sizeof(out),
					  &len), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(store_ledger_put(&s, EUI_A, STORE_LEDGER_FAIR_ACCESS, blob, 300), LB_OK);
	ck_assert_int_eq(store_ledger_put(&s, GW_1, STORE_LEDGER_DUTY_CYCLE, blob + 1, 10), LB_OK);
	ck_assert_int_eq(store_ledger_get(&s, EUI_A, STORE_LEDGER_FAIR_ACCESS, out, sizeof(out),
					  &len), LB_OK);
	ck_assert_uint_eq(len, 300);
	ck_assert_mem_eq(out, blob, 300);
	/* Too small a buffer: the size is told, nothing copied. */
	memset(out, 0, sizeof(out));
	ck_assert_int_eq(store_ledger_get(&s, EUI_A, STORE_LEDGER_FAIR_ACCESS, out, 299, &len),
			 LB_ERR_TOO_LARGE);
	ck_assert_uint_eq(len, 300);
	ck_assert_uint_eq(out[1], 0);
	/* Overwrite, and an empty ledger. */
	ck_assert_int_eq(store_ledger_put(&s, EUI_A, STORE_LEDGER_FAIR_ACCESS, blob + 5, 3), LB_OK);
	ck_assert_int_eq(store_ledger_get(&s, EUI_A, STORE_LEDGER_FAIR_ACCESS, out, sizeof(out),
					  &len), LB_OK);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(out, blob + 5, 3);
	ck_assert_int_eq(store_ledger_put(&s, EUI_B, STORE_LEDGER_FAIR_ACCESS, NULL, 0), LB_OK);
	ck_assert_int_eq(store_ledger_get(&s, EUI_B, STORE_LEDGER_FAIR_ACCESS, NULL, 0, &len),
			 LB_OK);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(store_ledger_get(&s, GW_1, STORE_LEDGER_DUTY_CYCLE, out, sizeof(out),
					  &len), LB_OK);
	ck_assert_uint_eq(len, 10);
	ck_assert_mem_eq(out, blob + 1, 10);
	ck_assert_int_eq(store_ledger_put(&s, EUI_A, STORE_LEDGER_FAIR_ACCESS, NULL, 3),
			 LB_ERR_INVAL);
	ck_assert_int_eq(store_ledger_put(&s, EUI_A, STORE_LEDGER_FAIR_ACCESS, blob,
					  STORE_LEDGER_MAX + 1), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	store_close(&s);
	ck_assert_int_eq(rawdb_int(dir, "SELECT length(blob) FROM ledger WHERE kind = 256"), 10);
}
END_TEST

/* Sessions and ledgers written several per statement: batch sizes alone,
 * at and around the groups and with remainders of every group size; every
 * row read back as written, counted as a row. */
START_TEST(test_many_rows_sizes)
{
	static const size_t sizes[] = {1, 2, 3, 31, 32, 33, 60, 64, 97};
	static struct store_session rows[100];
	static struct store_ledger_row led[100];
	static uint8_t blobs[100][40];
	char dir[512];
	struct store s;
	struct store_session got;
	uint8_t out[64];
	size_t staged, len, total = 0;
	uint32_t fcnt = 1;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	/* Statements are prepared when first used: those of 2 ... 32 rows were
	 * not used by the open. */
	for (int i = STMT_SESSION_PUT_2; i <= STMT_SESSION_PUT_32; i++)
		ck_assert_ptr_null(s.stmt[i]);
	for (int i = STMT_LEDGER_PUT_2; i <= STMT_LEDGER_PUT_32; i++)
		ck_assert_ptr_null(s.stmt[i]);
	for (int i = STMT_FCNT_PUT_2; i <= STMT_FCNT_PUT_32; i++)
		ck_assert_ptr_null(s.stmt[i]);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		for (size_t i = 0; i < n; i++) {   /* device i, a new counter each time */
			rows[i] = mk_session(EUI_A + i, fcnt++);
			memset(blobs[i], (int)(fcnt & 0xff), sizeof(blobs[i]));
			led[i] = (struct store_ledger_row){.owner = EUI_A + i, .blob = blobs[i],
							   .kind = STORE_LEDGER_FAIR_ACCESS,
							   .len = 1 + (i + k) % sizeof(blobs[i])};
		}
		staged = 999;
		ck_assert_int_eq(store_put_sessions(&s, rows, n, &staged), LB_OK);
		ck_assert_uint_eq(staged, n);
		staged = 999;
		ck_assert_int_eq(store_ledger_put_many(&s, led, n, &staged), LB_OK);
		ck_assert_uint_eq(staged, n);
		ck_assert_uint_eq(s.n_ops, 2 * n);
		total += 2 * n;
		ck_assert_int_eq(store_commit(&s), LB_OK);
		for (size_t i = 0; i < n; i++) {
			ck_assert_int_eq(store_get_session(&s, EUI_A + i, &got), LB_OK);
			expect_session(&got, &rows[i]);
			ck_assert_int_eq(store_ledger_get(&s, EUI_A + i, STORE_LEDGER_FAIR_ACCESS, out,
							  sizeof(out), &len), LB_OK);
			ck_assert_uint_eq(len, led[i].len);
			ck_assert_mem_eq(out, blobs[i], len);
		}
	}
	ck_assert_uint_eq(s.stats.rows_written, total);
	for (int i = STMT_SESSION_PUT; i <= STMT_SESSION_PUT_32; i++)   /* every size was used */
		ck_assert_ptr_nonnull(s.stmt[i]);
	for (int i = STMT_LEDGER_PUT; i <= STMT_LEDGER_PUT_32; i++)
		ck_assert_ptr_nonnull(s.stmt[i]);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session"), 97);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM ledger"), 97);
	ck_assert_int_eq(store_put_sessions(&s, rows, 0, NULL), LB_OK);
	ck_assert_int_eq(store_ledger_put_many(&s, led, 0, NULL), LB_OK);
	ck_assert(!store_dirty(&s));
	ck_assert_int_eq(store_put_sessions(NULL, rows, 1, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(store_put_sessions(&s, NULL, 1, NULL), LB_ERR_INVAL);
	ck_assert_int_eq(store_ledger_put_many(&s, NULL, 1, NULL), LB_ERR_INVAL);
	store_close(&s);
}
END_TEST

/* A refused row stops the call there (the rows before it staged in groups,
 * none after it); the same device twice in one group: the later row stays. */
START_TEST(test_many_rows_refused_and_repeated)
{
	static struct store_session rows[40];
	static struct store_ledger_row led[40];
	uint8_t blob[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, out[16];
	char dir[512];
	struct store s;
	struct store_session got;
	size_t staged, len;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	for (size_t i = 0; i < 40; i++) {
		rows[i] = mk_session(EUI_A + i, (uint32_t)i + 1);
		led[i] = (struct store_ledger_row){.owner = EUI_A + i, .blob = blob, .len = 8,
						   .kind = STORE_LEDGER_FAIR_ACCESS};
	}
	rows[21].rx2_dr = 16;
	led[21].len = STORE_LEDGER_MAX + 1;
	ck_assert_int_eq(store_put_sessions(&s, rows, 40, &staged), LB_ERR_RANGE);
	ck_assert_uint_eq(staged, 21);
	ck_assert_int_eq(store_ledger_put_many(&s, led, 40, &staged), LB_ERR_TOO_LARGE);
	ck_assert_uint_eq(staged, 21);
	ck_assert_uint_eq(s.n_ops, 42);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session"), 21);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM ledger"), 21);

	/* Device A three times in a group of four: its last row is kept. */
	rows[0] = mk_session(EUI_A, 100);
	rows[1] = mk_session(EUI_A, 101);
	rows[2] = mk_session(EUI_B, 7);
	rows[3] = mk_session(EUI_A, 102);
	led[1].blob = blob + 1;
	led[1].owner = EUI_A;
	ck_assert_int_eq(store_put_sessions(&s, rows, 4, &staged), LB_OK);
	ck_assert_int_eq(store_ledger_put_many(&s, led, 2, &staged), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	ck_assert_uint_eq(got.fcnt_up_last, 102);
	ck_assert_int_eq(store_ledger_get(&s, EUI_A, STORE_LEDGER_FAIR_ACCESS, out, sizeof(out),
					  &len), LB_OK);
	ck_assert_mem_eq(out, blob + 1, 8);
	store_close(&s);
}
END_TEST

/* Times past 2038 (where a 32-bit time_t, as on armhf, ends) and counters
 * past INT32_MAX go through SQLite as 64-bit integers and come back whole,
 * after a reopen: a session joined in 2040, a downlink expiring in 2040, a
 * fair-access ledger of 2040. */
START_TEST(test_past_2038)
{
	const int64_t joined_2040 = INT64_C(2208988800);           /* 2040-01-01T00:00:00Z, s */
	const int64_t expires_2040 = INT64_C(2214129600250000);    /* 2040-02-29T12:00:00.25Z, µs */
	const int64_t t2040_ms = joined_2040 * 1000;
	char dir[512];
	struct store s;
	struct store_session a = mk_session(EUI_A, 0xfffffff0u), got;
	struct store_downlink d = mk_downlink("late", EUI_A, 10, "x"), dl;
	struct ledger l, back;
	uint8_t blob[LEDGER_ENCODED_MAX], out[LEDGER_ENCODED_MAX];
	size_t len = 0, out_len = 0;

	a.joined_at = joined_2040;
	d.has_expires_at = true;
	d.expires_at_us = expires_2040;
	ck_assert_int_eq(ledger_init(&l, 60, 24 * 60000), LB_OK);
	ck_assert_int_eq(ledger_add(&l, t2040_ms, 123456), LB_OK);
	ck_assert_int_eq(ledger_encode(&l, blob, sizeof(blob), &len), LB_OK);

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	ck_assert_int_eq(store_downlink_push(&s, &d, NULL), LB_OK);
	ck_assert_int_eq(store_ledger_put(&s, EUI_A, STORE_LEDGER_FAIR_ACCESS, blob, len), LB_OK);
	store_close(&s);
	ck_assert_int_eq(rawdb_int(dir, "SELECT joined_at FROM session"), joined_2040);
	ck_assert_int_eq(rawdb_int(dir, "SELECT fcnt_up_last FROM session"), 0xfffffff0);
	ck_assert_int_eq(rawdb_int(dir, "SELECT expires_at FROM downlink"), expires_2040);

	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	expect_session(&got, &a);
	ck_assert_int_eq(store_downlink_first(&s, EUI_A, &dl), LB_OK);
	ck_assert(dl.has_expires_at);
	ck_assert_int_eq(dl.expires_at_us, expires_2040);
	ck_assert_int_eq(store_ledger_get(&s, EUI_A, STORE_LEDGER_FAIR_ACCESS, out, sizeof(out),
					  &out_len), LB_OK);
	ck_assert_int_eq(ledger_decode(&back, out, out_len, NULL), LB_OK);
	ck_assert_uint_eq(ledger_sum(&back, t2040_ms + 60000), 123456);
	ck_assert_int_eq(back.epoch, l.epoch);
	store_close(&s);
}
END_TEST

START_TEST(test_meta)
{
	char dir[512], longkey[STORE_META_KEY_SIZE + 1];
	struct store s;
	int64_t v = 0;

	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_meta_get(&s, "dev_addr_next", &v), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(store_meta_put(&s, "dev_addr_next", 0x26000001), LB_OK);
	ck_assert_int_eq(store_meta_get(&s, "dev_addr_next", &v), LB_OK);
	ck_assert_int_eq(v, 0x26000001);
	ck_assert_int_eq(store_meta_put(&s, "dev_addr_next", INT64_MIN), LB_OK);
	ck_assert_int_eq(store_meta_get(&s, "dev_addr_next", &v), LB_OK);
	ck_assert_int_eq(v, INT64_MIN);
	ck_assert_int_eq(store_meta_put(&s, longkey, 1), LB_ERR_INVAL);
	ck_assert_int_eq(store_meta_put(&s, "", 1), LB_ERR_INVAL);
	ck_assert_int_eq(store_meta_get(&s, NULL, &v), LB_ERR_INVAL);
	store_close(&s);
	ck_assert_int_eq(rawdb_int(dir, "SELECT value FROM meta WHERE key = 'dev_addr_next'"),
			 INT64_MIN);
}
END_TEST

/* ---- group commit ----------------------------------------------------- */

START_TEST(test_batch_invisible_until_commit)
{
	char dir[512];
	struct store s;
	struct store_session a = mk_session(EUI_A, 1);
	struct store_downlink d = mk_downlink("q1", EUI_A, 3, "x");
	int64_t before, after, due;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 50), LB_OK);
	ck_assert_uint_eq(store_batch(&s), 1);
	ck_assert(store_committed(&s, 0));
	ck_assert(!store_committed(&s, 1));

	before = now_ms();
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	after = now_ms();
	ck_assert_int_eq(store_downlink_push(&s, &d, NULL), LB_OK);
	ck_assert_int_eq(store_add_dev_nonce(&s, EUI_A, 9), LB_OK);
	ck_assert(store_dirty(&s));
	due = store_due_ms(&s);
	ck_assert_int_ge(due, before + 50);   /* first staged write + commit_ms */
	ck_assert_int_le(due, after + 50);

	/* Another connection sees nothing of the open batch. */
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session"), 0);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM downlink"), 0);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM dev_nonce"), 0);

	/* Not yet due: the tick leaves it staged. */
	ck_assert_int_eq(store_tick(&s, due - 1), due);
	ck_assert(store_dirty(&s));
	ck_assert_uint_eq(s.stats.commits, 0);
	ck_assert_int_eq(store_tick(&s, due), -1);
	ck_assert(!store_dirty(&s));
	ck_assert_uint_eq(s.stats.commits, 1);
	ck_assert_uint_eq(s.stats.rows_written, 3);
	ck_assert_int_gt(s.stats.last_commit_us, 0);
	ck_assert_uint_eq(store_batch(&s), 2);
	ck_assert(store_committed(&s, 1));
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session"), 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM downlink"), 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM dev_nonce"), 1);

	/* Nothing staged: commit is a no-op, the batch number stays. */
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_uint_eq(s.stats.commits, 1);
	ck_assert_uint_eq(store_batch(&s), 2);
	/* A refused write alone leaves nothing to commit. */
	ck_assert_int_eq(store_add_dev_nonce(&s, EUI_A, 9), LB_ERR_DUPLICATE);
	ck_assert(!store_dirty(&s));
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_uint_eq(store_batch(&s), 2);
	store_close(&s);
}
END_TEST

/* A batch whose staged bytes reach STORE_COMMIT_EARLY_BYTES is due at once,
 * not commit_ms after its first write: its COMMIT, fsync and checkpoint
 * hold the daemon's loop for a time that grows with it. */
START_TEST(test_large_batch_due_now)
{
	static uint8_t payload[200 * 1000];
	char dir[512];
	struct store s;
	uint64_t seq = 0;
	int64_t first;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, STORE_MAX_COMMIT_MS), LB_OK);
	memset(payload, 'x', sizeof(payload));
	struct store_outbox_row r = {.dev_eui = EUI_A, .qos = 1, .topic = "t/up",
				     .payload = payload, .len = sizeof(payload)};
	r.seq = ++seq;
	first = now_ms();
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_OK);
	int64_t due = store_due_ms(&s);
	ck_assert_int_ge(due, first + STORE_MAX_COMMIT_MS);
	/* Below the limit the deadline stands. */
	while ((seq + 1) * sizeof(payload) < STORE_COMMIT_EARLY_BYTES) {
		r.seq = ++seq;
		ck_assert_int_eq(store_outbox_add(&s, &r), LB_OK);
		ck_assert_int_eq(store_due_ms(&s), due);
	}
	/* The write that takes the batch past it makes it due now. */
	for (int i = 0; i < 2; i++) {
		r.seq = ++seq;
		ck_assert_int_eq(store_outbox_add(&s, &r), LB_OK);
	}
	ck_assert_int_le(store_due_ms(&s), now_ms());
	ck_assert_int_eq(store_tick(&s, now_ms()), -1);
	ck_assert_uint_eq(s.stats.commits, 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), (int64_t)seq);
	store_close(&s);
}
END_TEST

static int cache_used(struct store *s)
{
	int cur = 0, hi = 0;

	ck_assert_int_eq(sqlite3_db_status(s->db, SQLITE_DBSTATUS_CACHE_USED, &cur, &hi, 0),
			 SQLITE_OK);
	return cur;
}

/* A quiet store gives back the pages SQLite cached and the redo log a
 * batch grew (below STORE_LOG_KEEP, where a commit keeps it); not while
 * a write is staged. What was written stays, and writes go on. */
START_TEST(test_release_idle)
{
	static uint8_t payload[40 * 1000];
	char dir[512];
	struct store s;
	uint64_t seq = 0;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, STORE_MAX_COMMIT_MS), LB_OK);
	memset(payload, 'x', sizeof(payload));
	struct store_outbox_row r = {.dev_eui = EUI_A, .qos = 1, .topic = "t/up",
				     .payload = payload, .len = sizeof(payload)};
	for (int i = 0; i < 10; i++) {
		r.seq = ++seq;
		ck_assert_int_eq(store_outbox_add(&s, &r), LB_OK);
	}
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_uint_gt(s.log_cap, STORE_LOG_INITIAL);   /* kept by the commit */
	size_t grown = s.log_cap;
	r.seq = ++seq;
	r.len = 10;
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_OK);
	int before = cache_used(&s);
	ck_assert(!store_release_idle(&s));                /* a write is staged: kept */
	ck_assert_uint_eq(s.log_cap, grown);
	ck_assert_int_eq(cache_used(&s), before);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	int full = cache_used(&s);
	ck_assert(store_release_idle(&s));
	ck_assert_uint_eq(s.log_cap, STORE_LOG_INITIAL);
	/* 500 KB -> 14 KB here: the cache's own bookkeeping stays. */
	ck_assert_int_lt(cache_used(&s), full / 4);
	r.seq = ++seq;
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), (int64_t)seq);
	store_close(&s);
	ck_assert(store_release_idle(&s));                 /* closed: nothing held */
}
END_TEST

/* Batch 1 committed, batch 2 staged, then SIGKILL: after a restart batch 1
 * is all there and batch 2 is absent; the downlink counters resume above
 * every one used before the crash. */
#define CRASH_DL_USED 40u

static void crash_child(const char *dir)
{
	struct store s;
	struct store_session a = mk_session(EUI_A, 10), b = mk_session(EUI_B, 5);
	struct store_downlink d1 = mk_downlink("d1", EUI_A, 1, "one");
	struct store_downlink d2 = mk_downlink("d2", EUI_A, 2, "two");
	struct fcntdown r;

	if (store_open(&s, dir, 200) != LB_OK)
		_exit(2);
	fcntdown_load(&r, 0);
	for (uint32_t i = 0; i < CRASH_DL_USED; i++) {
		unsigned f = fcntdown_reserve(&r, store_batch(&s), store_synced_below(&s));
		if (f & FCNTDOWN_STAGE) {
			a.nfcnt_down = r.ceiling;
			if (store_put_session(&s, &a) != LB_OK)
				_exit(3);
		}
		if ((f & FCNTDOWN_COMMIT) && store_commit(&s) != LB_OK)
			_exit(4);
		fcntdown_used(&r);       /* "sent" with r.next */
	}
	if (store_downlink_push(&s, &d1, NULL) != LB_OK || store_add_dev_nonce(&s, EUI_A, 1) ||
	    store_commit(&s) != LB_OK)
		_exit(5);
	/* Batch 2: a newer FCntUp, another device, another downlink. */
	a.fcnt_up_last = 11;
	if (store_put_session(&s, &a) != LB_OK || store_put_session(&s, &b) != LB_OK ||
	    store_downlink_push(&s, &d2, NULL) != LB_OK || store_add_dev_nonce(&s, EUI_A, 2))
		_exit(6);
	raise(SIGKILL);
	_exit(7);
}

START_TEST(test_crash_between_batches)
{
	char dir[512];
	struct store s;
	struct store_session got;
	struct fcntdown r;
	bool used;
	size_t n;
	int status = 0;
	pid_t pid;

	new_dir(dir, sizeof(dir), NULL);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		crash_child(dir);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "child status %d (exit %d)", status, WEXITSTATUS(status));

	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	ck_assert_uint_eq(got.fcnt_up_last, 10);      /* batch 2's 11 is gone */
	ck_assert_int_eq(store_get_session(&s, EUI_B, &got), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(store_downlink_count(&s, EUI_A, &n), LB_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_downlink_get(&s, "d1", &(struct store_downlink){0}), LB_OK);
	ck_assert_int_eq(store_dev_nonce_used(&s, EUI_A, 1, &used), LB_OK);
	ck_assert(used);
	ck_assert_int_eq(store_dev_nonce_used(&s, EUI_A, 2, &used), LB_OK);
	ck_assert(!used);
	/* Counters 0..39 were used; the second reservation (at 33, to 97) was
	 * in batch 1, so the committed ceiling is 97 and the daemon resumes
	 * there - never below 40. */
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	ck_assert_uint_eq(got.nfcnt_down, 33 + FCNTDOWN_BLOCK);
	fcntdown_load(&r, got.nfcnt_down);
	ck_assert_uint_ge(r.next, CRASH_DL_USED);
	ck_assert_uint_eq(fcntdown_reserve(&r, store_batch(&s), store_synced_below(&s)),
			  FCNTDOWN_STAGE | FCNTDOWN_COMMIT);
	store_close(&s);
}
END_TEST


/* ---- a failing disk ---------------------------------------------------- */

/*
 * A VFS shim registered as the default: it forwards everything to the real
 * "unix" VFS, but while `fault_full` is set every write to a WAL file fails
 * with SQLITE_FULL - a full SD card at commit time.
 */
struct fault_file {
	sqlite3_file base;
	sqlite3_file *real;       /* the real VFS's file, right after this struct */
	bool is_wal;
	char pad[7];
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs fault_vfs;
static sqlite3_io_methods fault_io;
static bool fault_full;
static int fault_syncs;      /* xSync calls SQLite made */
static bool fault_sync_fail; /* they fail (a disk's write-back error) */

#define REAL(f) (((struct fault_file *)(f))->real)
#define FWD(f, m, ...) REAL(f)->pMethods->m(REAL(f), __VA_ARGS__)

static int f_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
	return FWD(f, xRead, b, n, off);
}
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
	if (fault_full && ((struct fault_file *)f)->is_wal)
		return SQLITE_FULL;
	return FWD(f, xWrite, b, n, off);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return FWD(f, xTruncate, size);
}
static int f_sync(sqlite3_file *f, int flags)
{
	fault_syncs++;
	if (fault_sync_fail)
		return SQLITE_IOERR_FSYNC;
	return FWD(f, xSync, flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return FWD(f, xFileSize, size);
}
static int f_lock(sqlite3_file *f, int l)
{
	return FWD(f, xLock, l);
}
static int f_unlock(sqlite3_file *f, int l)
{
	return FWD(f, xUnlock, l);
}
static int f_reserved(sqlite3_file *f, int *out)
{
	return FWD(f, xCheckReservedLock, out);
}
static int f_fcntl(sqlite3_file *f, int op, void *arg)
{
	return FWD(f, xFileControl, op, arg);
}
static int f_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int f_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int f_shmmap(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp)
{
	return FWD(f, xShmMap, pg, sz, extend, pp);
}
static int f_shmlock(sqlite3_file *f, int off, int n, int flags)
{
	return FWD(f, xShmLock, off, n, flags);
}
static void f_shmbarrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int f_shmunmap(sqlite3_file *f, int del)
{
	return FWD(f, xShmUnmap, del);
}
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	return FWD(f, xFetch, off, n, pp);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return FWD(f, xUnfetch, off, p);
}

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
	struct fault_file *ff = (struct fault_file *)file;
	int rc;

	(void)vfs;
	ff->real = (sqlite3_file *)(ff + 1);
	ff->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
	rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out);
	ff->base.pMethods = ff->real->pMethods ? &fault_io : NULL;
	return rc;
}

static void fault_install(void)
{
	real_vfs = sqlite3_vfs_find("unix");
	ck_assert_ptr_nonnull(real_vfs);
	fault_vfs = *real_vfs;
	fault_vfs.zName = "fault";
	fault_vfs.szOsFile = (int)sizeof(struct fault_file) + real_vfs->szOsFile;
	fault_vfs.xOpen = f_open;
	fault_io = (sqlite3_io_methods){
		.iVersion = 3, .xClose = f_close, .xRead = f_read, .xWrite = f_write,
		.xTruncate = f_truncate, .xSync = f_sync, .xFileSize = f_size,
		.xLock = f_lock, .xUnlock = f_unlock, .xCheckReservedLock = f_reserved,
		.xFileControl = f_fcntl, .xSectorSize = f_sector,
		.xDeviceCharacteristics = f_devchar, .xShmMap = f_shmmap,
		.xShmLock = f_shmlock, .xShmBarrier = f_shmbarrier, .xShmUnmap = f_shmunmap,
		.xFetch = f_fetch, .xUnfetch = f_unfetch};
	ck_assert_int_eq(sqlite3_vfs_register(&fault_vfs, 1), SQLITE_OK);
}

/* For CK_FORK=no runs (valgrind): the next test gets the plain VFS. */
static void fault_remove(void)
{
	fault_full = false;
	fault_syncs = 0;
	fault_sync_fail = false;
	sqlite3_vfs_unregister(&fault_vfs);
}

/* A store on the fault VFS, in a new directory. */
static void open_faulty(struct store *s, char *dir, size_t cap)
{
	fault_install();
	new_dir(dir, cap, NULL);
	ck_assert_int_eq(store_open(s, dir, 200), LB_OK);
}

START_TEST(test_failed_commit_is_retried)
{
	char dir[512];
	struct store s;
	struct store_session a = mk_session(EUI_A, 1), b = mk_session(EUI_B, 2), got;
	struct store_downlink d = mk_downlink("f1", EUI_B, 4, "data");
	int64_t t0;

	fault_install();
	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);

	fault_full = true;
	ck_assert_int_eq(store_put_session(&s, &b), LB_OK);
	ck_assert_int_eq(store_downlink_push(&s, &d, NULL), LB_OK);
	a.fcnt_up_last = 50;
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	t0 = now_ms();
	ck_assert_int_eq(store_commit(&s), LB_ERR_IO);
	ck_assert_uint_eq(s.stats.failures, 1);
	ck_assert_uint_eq(s.stats.commits, 1);
	ck_assert(store_dirty(&s));                   /* nothing was lost */
	ck_assert_uint_eq(store_batch(&s), 2);        /* same batch, still open */
	ck_assert_int_ge(store_due_ms(&s), t0 + STORE_RETRY_MS);
	/* The batch was re-staged: this handle still reads it... */
	ck_assert_int_eq(store_get_session(&s, EUI_B, &got), LB_OK);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	ck_assert_uint_eq(got.fcnt_up_last, 50);
	/* ...nobody else does. */
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session"), 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT fcnt_up_last FROM session"), 1);
	/* A second failure, with more staged meanwhile. */
	ck_assert_int_eq(store_add_dev_nonce(&s, EUI_B, 77), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_ERR_IO);
	ck_assert_uint_eq(s.stats.failures, 2);

	fault_full = false;                           /* space freed */
	ck_assert_int_eq(store_tick(&s, store_due_ms(&s)), -1);
	ck_assert(!store_dirty(&s));
	ck_assert_uint_eq(s.stats.commits, 2);
	ck_assert_uint_eq(s.stats.rows_written, 1 + 4);
	ck_assert_uint_ge(s.stats.replays, 2);
	ck_assert(store_committed(&s, 2));
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session"), 2);
	ck_assert_int_eq(rawdb_int(dir, "SELECT fcnt_up_last FROM session WHERE dev_eui = "
				      "0x70b3d57ed0000001"), 50);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM downlink"), 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM dev_nonce WHERE dev_nonce = 77"), 1);
	store_close(&s);
	fault_remove();
}
END_TEST

/* Once open, SQLite syncs nothing in a commit (synchronous = NORMAL): the
 * store does (store_sync.h), so that a commit's sync can run off the loop.
 * At close SQLite syncs, for the checkpoint before it deletes the WAL. */
START_TEST(test_sqlite_no_sync_in_commits)
{
	char dir[512];
	struct store s;
	struct store_session a = mk_session(EUI_A, 1);

	open_faulty(&s, dir, sizeof(dir));
	fault_syncs = 0;
	uint64_t syncs = s.stats.syncs;
	for (uint32_t i = 0; i < 3; i++) {
		a.fcnt_up_last = 2 + i;
		ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
		ck_assert_int_eq(store_commit(&s), LB_OK);
	}
	ck_assert_int_eq(fault_syncs, 0);
	ck_assert_uint_eq(s.stats.syncs, syncs + 3);
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_gt(fault_syncs, 0);
	fault_remove();
}
END_TEST

/* The events a page hands on, as "seq topic payload" lines. */
struct outbox_text {
	char buf[4096];
	size_t len;
};

static int outbox_line(void *arg, const struct store_outbox_row *row)
{
	struct outbox_text *t = arg;
	int n = snprintf(t->buf + t->len, sizeof(t->buf) - t->len, "%llu %s %.*s\n",
			 (unsigned long long)row->seq, row->topic, (int)row->len,
			 (const char *)row->payload);

	ck_assert_int_lt(n, (int)(sizeof(t->buf) - t->len));
	t->len += (size_t)n;
	return LB_OK;
}

/* After a failed commit the batch waits for its retry, however much more
 * is staged meanwhile: a large batch is not due at once then. */
START_TEST(test_large_batch_keeps_retry_wait)
{
	static uint8_t payload[200 * 1000];
	char dir[512];
	struct store s;
	uint64_t seq = 0;

	fault_install();
	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	memset(payload, 'x', sizeof(payload));
	struct store_outbox_row r = {.dev_eui = EUI_A, .qos = 1, .topic = "t/up",
				     .payload = payload, .len = sizeof(payload)};
	r.seq = ++seq;
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_OK);
	fault_full = true;
	int64_t before = now_ms();
	ck_assert_int_eq(store_commit(&s), LB_ERR_IO);
	fault_full = false;
	int64_t retry = store_due_ms(&s);
	ck_assert_int_ge(retry, before + STORE_RETRY_MS);
	while (seq * sizeof(payload) < 2 * STORE_COMMIT_EARLY_BYTES) {
		r.seq = ++seq;
		ck_assert_int_eq(store_outbox_add(&s, &r), LB_OK);
	}
	ck_assert_int_eq(store_due_ms(&s), retry);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), (int64_t)seq);
	store_close(&s);
	fault_remove();
}
END_TEST

/* An outbox row (a packed record: its head, then the events) and an
 * acknowledged mark are replayed byte for byte after a failed commit. */
START_TEST(test_outbox_replayed_after_failed_commit)
{
	char dir[512];
	struct store s;
	struct outbox_text t = {.len = 0};
	struct store_outbox_row r = {.seq = 1, .dev_eui = EUI_A, .qos = 1,
				     .topic = "application/a/device/70b3d57ed0000001/event/up",
				     .payload = "{\"fCnt\":1}", .len = 10};

	fault_install();
	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_OK);
	r.seq = 2;
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);

	fault_full = true;
	r.seq = 3;
	r.payload = "{\"fCnt\":3}";
	ck_assert_int_eq(store_outbox_add(&s, &r), LB_OK);
	ck_assert_int_eq(store_outbox_ack(&s, 2), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_ERR_IO);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 2);
	fault_full = false;
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_uint_ge(s.stats.replays, 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT seq FROM outbox"), 3);
	ck_assert_int_eq(rawdb_int(dir, "SELECT value FROM meta WHERE key = 'outbox_acked'"), 2);
	ck_assert_int_eq(store_outbox_page(&s, 0, 10, 10, outbox_line, &t, NULL), LB_OK);
	ck_assert_str_eq(t.buf, "3 application/a/device/70b3d57ed0000001/event/up {\"fCnt\":3}\n");
	store_close(&s);
	fault_remove();
}
END_TEST

/* Events packed into one row (43 of them) and a mark inside a row are
 * replayed from the redo log after a failed commit and committed whole,
 * each event as written. */
START_TEST(test_outbox_many_replayed_after_failed_commit)
{
	static struct store_outbox_row r[45];
	static char payload[45][32];
	static struct outbox_text t, want;
	char dir[512];
	struct store s;
	size_t staged = 0, n = 0;

	for (size_t i = 0; i < 45; i++) {
		r[i] = (struct store_outbox_row){.seq = i + 1, .dev_eui = EUI_A + i % 3, .qos = 1,
						 .topic = "application/a/device/x/event/up",
						 .payload = payload[i]};
		r[i].len = (size_t)snprintf(payload[i], sizeof(payload[i]), "{\"n\":%zu}", i + 1);
		if (i >= 1)
			outbox_line(&want, &r[i]);
	}
	fault_install();
	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_outbox_add_many(&s, r, 2, &staged), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);

	fault_full = true;
	ck_assert_int_eq(store_outbox_add_many(&s, r + 2, 43, &staged), LB_OK);
	ck_assert_uint_eq(staged, 43);
	ck_assert_int_eq(store_outbox_ack(&s, 1), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_ERR_IO);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 1);
	fault_full = false;
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_uint_ge(s.stats.replays, 1);
	ck_assert_uint_eq(s.stats.rows_written, 1 + 1 + 1);   /* two rows and the mark */
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM outbox"), 2);
	ck_assert_int_eq(rawdb_int(dir, "SELECT sum(events) FROM outbox"), 45);
	ck_assert_int_eq(store_outbox_page(&s, 0, 100, 100, outbox_line, &t, &n), LB_OK);
	ck_assert_uint_eq(n, 44);
	ck_assert_str_eq(t.buf, want.buf);
	store_close(&s);
	fault_remove();
}
END_TEST

/* Sessions and ledgers staged several per statement are replayed from the
 * redo log after a failed commit and committed whole. */
START_TEST(test_many_rows_replayed_after_failed_commit)
{
	static struct store_session rows[45];
	static struct store_ledger_row led[45];
	uint8_t blob[20];
	char dir[512];
	struct store s;
	struct store_session got;
	size_t staged;

	for (size_t i = 0; i < 45; i++) {
		rows[i] = mk_session(EUI_A + i, 1000 + (uint32_t)i);
		led[i] = (struct store_ledger_row){.owner = EUI_A + i, .blob = blob,
						   .len = 1 + i % 20, .kind = STORE_LEDGER_FAIR_ACCESS};
	}
	memset(blob, 0x5a, sizeof(blob));
	fault_install();
	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	fault_full = true;
	ck_assert_int_eq(store_put_sessions(&s, rows, 45, &staged), LB_OK);
	ck_assert_int_eq(store_ledger_put_many(&s, led, 45, &staged), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_ERR_IO);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session"), 0);
	ck_assert_int_eq(store_get_session(&s, EUI_A + 44, &got), LB_OK);   /* re-staged */
	fault_full = false;
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_uint_ge(s.stats.replays, 1);
	ck_assert_uint_eq(s.stats.rows_written, 90);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session"), 45);
	ck_assert_int_eq(rawdb_int(dir, "SELECT sum(fcnt_up_last) FROM session"), 45 * 1000 + 44 * 45 / 2);
	ck_assert_int_eq(rawdb_int(dir, "SELECT sum(length(blob)) FROM ledger"),
			 2 * (20 * 21 / 2) + (5 * 6 / 2));

	/* Counters alone (45 = 32 + 8 + 4 + 1), then a whole row for one of
	 * them: replayed in that order, the whole row's counters win. */
	for (size_t i = 0; i < 45; i++)
		rows[i].fcnt_up_last = 5000 + (uint32_t)i;
	fault_full = true;
	ck_assert_int_eq(store_put_fcnts(&s, rows, 45, &staged), LB_OK);
	ck_assert_uint_eq(staged, 45);
	rows[3].fcnt_up_last = 7;
	ck_assert_int_eq(store_put_session(&s, &rows[3]), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_ERR_IO);
	fault_full = false;
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session_fcnt"), 44);
	ck_assert_int_eq(rawdb_int(dir, "SELECT sum(fcnt_up_last) FROM session"),
			 45 * 1000 + 44 * 45 / 2 - 1003 + 7);
	for (size_t i = 0; i < 45; i++) {
		ck_assert_int_eq(store_get_session(&s, EUI_A + i, &got), LB_OK);
		ck_assert_uint_eq(got.fcnt_up_last, i == 3 ? 7 : 5000 + (uint32_t)i);
		ck_assert_uint_eq(got.dev_addr, rows[i].dev_addr);
	}
	store_close(&s);
	fault_remove();
}
END_TEST

START_TEST(test_close_with_failing_disk)
{
	char dir[512];
	struct store s;
	struct store_session a = mk_session(EUI_A, 1);

	open_faulty(&s, dir, sizeof(dir));
	fault_full = true;
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	ck_assert_int_eq(store_close(&s), LB_ERR_IO);  /* reported, not a crash */
	ck_assert_ptr_null(s.db);
	fault_full = false;
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &(struct store_session){0}),
			 LB_ERR_NOT_FOUND);
	store_close(&s);
	fault_remove();
}
END_TEST

/* A COMMIT that failed after its frames reached the WAL (an fsync error)
 * leaves the batch committed although store_commit() reported failure: the
 * replay finds its rows already there and must not wedge. Simulated
 * white-box: the batch is committed behind the store's back. */
START_TEST(test_replay_after_half_failed_commit)
{
	char dir[512];
	struct store s;
	struct store_downlink d = mk_downlink("h1", EUI_A, 2, "x"), got;
	struct store_session a = mk_session(EUI_A, 3);
	size_t n;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_downlink_push(&s, &d, NULL), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(store_add_dev_nonce(&s, EUI_A, 5), LB_OK);
	d = mk_downlink("h2", EUI_A, 2, "y");
	ck_assert_int_eq(store_downlink_push(&s, &d, NULL), LB_OK);
	ck_assert_int_eq(store_downlink_delete(&s, "h1"), LB_OK);
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	ck_assert_int_eq(sqlite3_exec(s.db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	s.in_txn = false;
	s.broken = true;
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_uint_eq(s.stats.replays, 1);
	ck_assert_int_eq(store_downlink_count(&s, EUI_A, &n), LB_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_downlink_first(&s, EUI_A, &got), LB_OK);
	ck_assert_str_eq(got.id, "h2");
	ck_assert_uint_eq(got.seq, 2);
	ck_assert_int_eq(store_add_dev_nonce(&s, EUI_A, 6), LB_OK);   /* not wedged */
	ck_assert_int_eq(store_commit(&s), LB_OK);
	store_close(&s);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM dev_nonce"), 2);
}
END_TEST

/* A write refused while staging (the file may not grow: SQLITE_FULL at
 * step time) is reported and not recorded; the rest of the batch stays. */
START_TEST(test_staging_failure_keeps_batch)
{
	char dir[512];
	struct store s;
	struct store_session r;
	int64_t pages = 0;
	char sql[64];
	int rc = LB_OK;
	uint64_t ok = 0;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	pages = rawdb_int(dir, "PRAGMA page_count");
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)pages);
	ck_assert_int_eq(sqlite3_exec(s.db, sql, NULL, NULL, NULL), SQLITE_OK);
	for (ok = 0; ok < 1000; ok++) {
		r = mk_session(EUI_A + ok, 1);
		rc = store_put_session(&s, &r);
		if (rc != LB_OK)
			break;
	}
	ck_assert_int_eq(rc, LB_ERR_IO);
	ck_assert_uint_gt(ok, 0);
	ck_assert_uint_eq(s.stats.failures, 1);
	ck_assert_uint_eq(s.n_ops, ok);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &r), LB_OK);
	ck_assert_int_eq(store_get_session(&s, EUI_A + ok, &r), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(sqlite3_exec(s.db, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL),
			 SQLITE_OK);
	r = mk_session(EUI_A + ok, 1);                /* the caller tries again */
	ck_assert_int_eq(store_put_session(&s, &r), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session"), (int64_t)ok + 1);
	store_close(&s);
}
END_TEST

/* ---- damaged and foreign files ----------------------------------------- */

/* Run store_open with stderr captured into buf. */
static int open_capturing(struct store *s, const char *dir, char *buf, size_t cap)
{
	char path[600];
	int saved, fd, rc;
	ssize_t n;

	ck_assert_int_lt(snprintf(path, sizeof(path), "%s.stderr", dir), (int)sizeof(path));
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, 2);
	rc = store_open(s, dir, 200);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, cap - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return rc;
}

static void write_file(const char *path, const void *data, size_t len, off_t off)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, data, len, off), (ssize_t)len);
	close(fd);
}

START_TEST(test_not_a_database)
{
	char dir[512], path[600], log[4096];
	char junk[8192];
	struct store s;

	memset(junk, 'J', sizeof(junk));
	new_dir(dir, sizeof(dir), NULL);
	db_path(path, sizeof(path), dir);
	write_file(path, junk, sizeof(junk), 0);
	/* UNUSABLE, not IO: retrying cannot help (the unit does not restart). */
	ck_assert_int_eq(open_capturing(&s, dir, log, sizeof(log)), LB_ERR_UNUSABLE);
	ck_assert_ptr_null(s.db);
	ck_assert_ptr_nonnull(strstr(log, "not a database"));
	ck_assert_ptr_nonnull(strstr(log, "move it away"));
	ck_assert_int_eq(store_close(&s), LB_OK);
	/* The lock was released: a second try fails the same way, not LOCKED. */
	ck_assert_int_eq(store_open(&s, dir, 200), LB_ERR_UNUSABLE);
}
END_TEST

/* Out of file descriptors (EMFILE), store_open fails at whichever step
 * runs out first (SQLite's open of the file or its WAL: SQLITE_CANTOPEN
 * among them) with LB_ERR_IO, never LB_ERR_UNUSABLE: it may pass, and
 * the unit restarts. With more descriptors free it opens. */
START_TEST(test_out_of_fds_is_transient)
{
	char dir[512];
	struct store s;
	struct rlimit old, low;
	int fds[256], n = 0, rc = LB_ERR_IO;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 128;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < (int)(sizeof(fds) / sizeof(fds[0])) && (fds[n] = dup(0)) >= 0)
		n++;
	ck_assert_int_eq(errno, EMFILE);
	/* Free one descriptor more at each try until the open succeeds. */
	while (n > 0 && (rc = store_open(&s, dir, 200)) != LB_OK) {
		ck_assert_msg(rc == LB_ERR_IO, "%d fds held: rc %d, not LB_ERR_IO", n, rc);
		close(fds[--n]);
	}
	ck_assert_int_eq(rc, LB_OK);
	ck_assert_int_eq(store_close(&s), LB_OK);
	while (n > 0)
		close(fds[--n]);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
}
END_TEST

START_TEST(test_corrupt_pages)
{
	char dir[512], path[600], log[4096];
	uint8_t junk[4096];
	struct store s;
	struct stat st;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	for (uint64_t i = 0; i < 200; i++) {
		struct store_session r = mk_session(EUI_A + i, (uint32_t)i);
		ck_assert_int_eq(store_put_session(&s, &r), LB_OK);
	}
	ck_assert_int_eq(store_close(&s), LB_OK);   /* checkpoints the WAL */
	db_path(path, sizeof(path), dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_gt(st.st_size, 4 * 4096);
	/* Scribble over the second page (a b-tree page). */
	memset(junk, 0xa5, sizeof(junk));
	write_file(path, junk, sizeof(junk), 4096);
	ck_assert_int_eq(open_capturing(&s, dir, log, sizeof(log)), LB_ERR_UNUSABLE);
	ck_assert_ptr_null(s.db);
	ck_assert_ptr_nonnull(strstr(log, "lorabridge.db is corrupt"));
}
END_TEST

/* A version-1 database (before gateway_online) is migrated in place, its
 * rows kept. */
START_TEST(test_migrate_from_v1)
{
	char dir[512];
	struct store s;
	struct store_session row;

	char log[4096], want[128];

	enum log_level saved = log_threshold;

	log_threshold = LOG_LVL_INFO;   /* the schema lines are info */
	new_dir(dir, sizeof(dir), NULL);
	/* A new database: one line for all the migrations. */
	ck_assert_int_eq(open_capturing(&s, dir, log, sizeof(log)), LB_OK);
	snprintf(want, sizeof(want), "lorabridge.db: created state schema %d\n",
		 STORE_SCHEMA_VERSION);
	ck_assert_msg(strstr(log, want) && !strstr(log, "upgraded") &&
		      !strstr(log, "schema version"), "log: %s", log);
	ck_assert_int_eq(store_meta_put(&s, "dev_addr_next", 7), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	store_close(&s);
	/* Back to what version 1 wrote: no tables of later versions. */
	raw_exec(dir, "DROP TABLE gateway_online");
	raw_exec(dir, "DROP TABLE outbox");
	raw_exec(dir, "DROP TABLE session_fcnt");
	raw_exec(dir, "DROP TABLE mac_state");
	raw_exec(dir, "DROP TABLE abp_seen");
	raw_exec(dir, "DROP TABLE pending_session");
	raw_exec(dir, "ALTER TABLE downlink DROP COLUMN expires_at");
	raw_exec(dir, "PRAGMA user_version = 1");
	ck_assert_int_eq(open_capturing(&s, dir, log, sizeof(log)), LB_OK);
	snprintf(want, sizeof(want), "lorabridge.db: upgraded state schema 1 to %d\n",
		 STORE_SCHEMA_VERSION);
	ck_assert_msg(strstr(log, want) && !strstr(log, "created"), "log: %s", log);
	log_threshold = saved;
	ck_assert_int_eq(rawdb_int(dir, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
				      " AND name = 'gateway_online'"), 1);
	int64_t v = 0;
	ck_assert_int_eq(store_meta_get(&s, "dev_addr_next", &v), LB_OK);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &row), LB_ERR_NOT_FOUND);
	store_close(&s);
}
END_TEST

/* The outbox as schemas 3 to 6 had it (one row per event), and no
 * session_fcnt or abp_seen, for a database set back to one of those
 * versions. */
#define OUTBOX_V3 \
	"DROP TABLE session_fcnt; DROP TABLE abp_seen;" \
	"DROP TABLE outbox; CREATE TABLE outbox (seq INTEGER PRIMARY KEY," \
	" dev_eui INTEGER NOT NULL, qos INTEGER NOT NULL CHECK (qos IN (0, 1, 2))," \
	" topic TEXT NOT NULL, payload BLOB NOT NULL, created_at INTEGER NOT NULL)"

/* Schema v3 -> v4: a queued item keeps its row and gets no expiry. */
START_TEST(test_migrate_from_v3)
{
	char dir[512];
	struct store s;
	struct store_downlink d = mk_downlink("q1", EUI_A, 5, "kept"), got;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	store_close(&s);
	raw_exec(dir, "DROP TABLE mac_state");
	raw_exec(dir, "DROP TABLE pending_session");
	raw_exec(dir, OUTBOX_V3);
	raw_exec(dir, "ALTER TABLE downlink DROP COLUMN expires_at");
	raw_exec(dir, "INSERT INTO downlink (id, dev_eui, seq, fport, confirmed, data, state,"
		      " fcnt_down, created_at) VALUES ('q1', 1, 1, 5, 0, x'6b657074', 0, NULL, 1)");
	raw_exec(dir, "PRAGMA user_version = 3");
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(store_downlink_get(&s, "q1", &got), LB_OK);
	ck_assert_uint_eq(got.len, 4);
	ck_assert_mem_eq(got.data, "kept", 4);
	ck_assert(!got.has_expires_at);
	ck_assert_int_eq(store_downlink_push(&s, &d, NULL), LB_ERR_DUPLICATE);
	store_close(&s);
}
END_TEST

static struct store_mac mk_mac(uint64_t eui)
{
	struct store_mac m = {.dev_eui = eui, .session_at = 1700000000, .dr = 5, .tx_power = 2,
			      .nb_trans = 1, .ch_mask = {0x00ff, 0, 0, 0, 0x0002},
			      .unanswered = 3, .backoff_until = 1700003600, .has_status = true,
			      .status_at = 1700000100, .battery = 127, .margin = -5,
			      .rx_done = 0x103};
	return m;
}

static int count_mac(void *arg, const struct store_mac *row)
{
	(void)row;
	(*(int *)arg)++;
	return 0;
}

/* ---- wall clock past 2038 ---------------------------------------------- */

/* The *_at columns are int64 Unix seconds end to end: a value above 2^32
 * (2106) reads back whole, where a 32-bit time_t or a 32-bit column
 * binding would wrap it (negative in 2038, small in 2106). */
static int64_t fake_wall;

static int64_t fake_wall_s(void)
{
	return fake_wall;
}

START_TEST(test_wall_clock_past_2038)
{
	const int64_t t2040 = INT64_C(2208988800);          /* 2040-01-01, > 2^31 */
	const int64_t t2106 = INT64_C(4294967296) + 86400;  /* > 2^32 */
	char dir[512];
	struct store s;
	struct store_session a = mk_session(EUI_A, 1), got;
	struct store_downlink d = mk_downlink("late", EUI_A, 10, "hi"), dgot;
	struct store_mac m = mk_mac(EUI_A), mgot;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	store_set_wall_clock(&s, fake_wall_s);
	fake_wall = t2040;
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	fake_wall = t2106;
	ck_assert_int_eq(store_downlink_push(&s, &d, NULL), LB_OK);
	ck_assert_int_eq(store_mac_put(&s, &m), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	store_close(&s);

	ck_assert_int_eq(rawdb_int(dir, "SELECT updated_at = 2208988800 FROM session"), 1);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	ck_assert_int_eq(got.updated_at, t2040);
	ck_assert_int_eq(store_downlink_get(&s, "late", &dgot), LB_OK);
	ck_assert_int_eq(dgot.created_at, t2106);
	ck_assert_int_eq(store_mac_get(&s, EUI_A, &mgot), LB_OK);
	ck_assert_int_eq(mgot.updated_at, t2106);
	/* Reopened: the clock is time() again (store_open resets it). */
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	ck_assert_int_lt(got.updated_at, t2040);
	store_close(&s);
}
END_TEST

/* Schema v4 -> v5 adds mac_state; a row is staged, read back as written
 * (ch_mask words little-endian), survives a reopen, is purged with its
 * device; out-of-range fields are refused. */
START_TEST(test_mac_state)
{
	char dir[512];
	struct store s;
	struct store_mac m = mk_mac(EUI_A), got;
	int n = 0;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	store_close(&s);
	raw_exec(dir, "DROP TABLE mac_state");
	raw_exec(dir, "DROP TABLE pending_session");
	raw_exec(dir, OUTBOX_V3);
	raw_exec(dir, "PRAGMA user_version = 4");
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(store_mac_get(&s, EUI_A, &got), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(store_mac_put(&s, &m), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	store_close(&s);
	ck_assert_int_eq(rawdb_int(dir, "SELECT hex(ch_mask) = 'FF000000000000000200' FROM mac_state"),
			 1);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_mac_get(&s, EUI_A, &got), LB_OK);
	ck_assert_uint_eq(got.dr, 5);
	ck_assert_uint_eq(got.tx_power, 2);
	ck_assert_uint_eq(got.ch_mask[0], 0x00ff);
	ck_assert_uint_eq(got.ch_mask[4], 0x0002);
	ck_assert_uint_eq(got.unanswered, 3);
	ck_assert_int_eq(got.backoff_until, 1700003600);
	ck_assert(got.has_status);
	ck_assert_uint_eq(got.battery, 127);
	ck_assert_int_eq(got.margin, -5);
	ck_assert_uint_eq(got.rx_done, 0x103);
	ck_assert_int_eq(store_mac_load(&s, count_mac, &n), LB_OK);
	ck_assert_int_eq(n, 1);
	m.nb_trans = 0;
	ck_assert_int_eq(store_mac_put(&s, &m), LB_ERR_RANGE);
	m.nb_trans = 1;
	m.margin = 32;
	ck_assert_int_eq(store_mac_put(&s, &m), LB_ERR_RANGE);
	ck_assert_int_eq(store_purge_flags(&s, EUI_A, 0), LB_OK);
	ck_assert_int_eq(store_mac_get(&s, EUI_A, &got), LB_ERR_NOT_FOUND);
	store_close(&s);
}
END_TEST

/* Schema v10: the tries, back-off and asked values of RXParamSetupReq and
 * RXTimingSetupReq read back as written (an ask absent is NULL, read as
 * none); out-of-range values are refused. */
START_TEST(test_mac_state_rx_requests)
{
	char dir[512];
	struct store s;
	struct store_mac m = mk_mac(EUI_A), got;

	m.rx_param_unanswered = 2;
	m.rx_param_backoff_until = 1700007200;
	m.has_rx_param_ask = true;
	m.rx_param_ask_rx1_dr_offset = 2;
	m.rx_param_ask_rx2_dr = 3;
	m.rx_param_ask_rx2_freq = 869525000;
	m.rx_timing_unanswered = 1;
	m.rx_timing_backoff_until = 1700010800;
	m.rx_timing_ask_delay = 3;
	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_mac_put(&s, &m), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	store_close(&s);
	ck_assert_int_eq(rawdb_int(dir, "SELECT rx_param_ask_freq FROM mac_state"), 869525000);
	ck_assert_int_eq(rawdb_int(dir, "SELECT rx_timing_ask_delay FROM mac_state"), 3);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_mac_get(&s, EUI_A, &got), LB_OK);
	ck_assert_uint_eq(got.rx_param_unanswered, 2);
	ck_assert_int_eq(got.rx_param_backoff_until, 1700007200);
	ck_assert(got.has_rx_param_ask);
	ck_assert_uint_eq(got.rx_param_ask_rx1_dr_offset, 2);
	ck_assert_uint_eq(got.rx_param_ask_rx2_dr, 3);
	ck_assert_uint_eq(got.rx_param_ask_rx2_freq, 869525000);
	ck_assert_uint_eq(got.rx_timing_unanswered, 1);
	ck_assert_int_eq(got.rx_timing_backoff_until, 1700010800);
	ck_assert_uint_eq(got.rx_timing_ask_delay, 3);
	ck_assert_uint_eq(got.unanswered, 3);                   /* LinkADRReq's own */

	/* Nothing asked whose answer may come: NULL, read back as none. */
	m.has_rx_param_ask = false;
	m.rx_timing_ask_delay = 0;
	ck_assert_int_eq(store_mac_put(&s, &m), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM mac_state WHERE rx_param_ask_offset"
				      " IS NULL AND rx_param_ask_dr IS NULL AND rx_param_ask_freq"
				      " IS NULL AND rx_timing_ask_delay IS NULL"), 1);
	ck_assert_int_eq(store_mac_get(&s, EUI_A, &got), LB_OK);
	ck_assert(!got.has_rx_param_ask);
	ck_assert_uint_eq(got.rx_timing_ask_delay, 0);

	/* The fields' ranges (TS001-1.0.4 §5.4, §5.7). */
	struct store_mac bad = m;
	bad.rx_timing_ask_delay = 16;
	ck_assert_int_eq(store_mac_put(&s, &bad), LB_ERR_RANGE);
	bad = m;
	bad.has_rx_param_ask = true;
	bad.rx_param_ask_rx2_freq = 869525000;
	bad.rx_param_ask_rx1_dr_offset = 8;
	ck_assert_int_eq(store_mac_put(&s, &bad), LB_ERR_RANGE);
	bad.rx_param_ask_rx1_dr_offset = 7;
	bad.rx_param_ask_rx2_dr = 16;
	ck_assert_int_eq(store_mac_put(&s, &bad), LB_ERR_RANGE);
	bad.rx_param_ask_rx2_dr = 15;
	bad.rx_param_ask_rx2_freq = 869525050;               /* not a multiple of 100 Hz */
	ck_assert_int_eq(store_mac_put(&s, &bad), LB_ERR_RANGE);
	bad.rx_param_ask_rx2_freq = UINT32_C(0xffffff) * 100 + 100;
	ck_assert_int_eq(store_mac_put(&s, &bad), LB_ERR_RANGE);
	bad.rx_param_ask_rx2_freq = UINT32_C(0xffffff) * 100;
	ck_assert_int_eq(store_mac_put(&s, &bad), LB_OK);
	store_close(&s);
}
END_TEST

/* Schema v9 -> v10: a row written before keeps its values and reads with
 * no tries, no back-off and nothing asked of the two requests. */
START_TEST(test_migrate_mac_state_from_v9)
{
	char dir[512];
	struct store s;
	struct store_mac m = mk_mac(EUI_A), got;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	store_close(&s);
	raw_exec(dir, RAWDB_MAC_STATE_V9 RAWDB_PENDING_V11);
	raw_exec(dir, "INSERT INTO mac_state (dev_eui, session_at, dr, tx_power, nb_trans, ch_mask,"
		      " unanswered, backoff_until, status_at, battery, margin, rx_done, updated_at)"
		      " VALUES (1, 1700000000, 5, 2, 1, x'FF000000000000000200', 3, 1700003600,"
		      " 1700000100, 127, -5, 259, 1700000200)");
	raw_exec(dir, "PRAGMA user_version = 9");
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
				      " AND name = 'abp_seen_session'"), 1);
	ck_assert_int_eq(store_mac_get(&s, 1, &got), LB_OK);
	ck_assert_uint_eq(got.dr, 5);
	ck_assert_uint_eq(got.unanswered, 3);
	ck_assert_int_eq(got.backoff_until, 1700003600);
	ck_assert_uint_eq(got.rx_done, 0x103);
	ck_assert_uint_eq(got.rx_param_unanswered, 0);
	ck_assert_int_eq(got.rx_param_backoff_until, 0);
	ck_assert(!got.has_rx_param_ask);
	ck_assert_uint_eq(got.rx_timing_unanswered, 0);
	ck_assert_int_eq(got.rx_timing_backoff_until, 0);
	ck_assert_uint_eq(got.rx_timing_ask_delay, 0);
	/* and the new columns take writes */
	m.dev_eui = 1;
	m.rx_timing_unanswered = 2;
	m.rx_timing_ask_delay = 5;
	ck_assert_int_eq(store_mac_put(&s, &m), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT rx_timing_ask_delay FROM mac_state"), 5);
	store_close(&s);
}
END_TEST

static int collect_gw(void *arg, uint64_t eui)
{
	uint64_t *got = arg;
	got[++got[0]] = eui;
	return got[0] == 9 ? 1 : 0;   /* a non-zero return stops */
}

/* The gateways reported online: staged with the batch, listed in the
 * order of their INTEGER column, removed; durable across a reopen. */
START_TEST(test_gateway_online)
{
	char dir[512];
	struct store s;
	uint64_t got[16] = {0};

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_gateway_online_set(&s, GW_1 + 1, true), LB_OK);
	ck_assert_int_eq(store_gateway_online_set(&s, GW_1, true), LB_OK);
	ck_assert_int_eq(store_gateway_online_set(&s, EUI_MAX, true), LB_OK);
	ck_assert_int_eq(store_gateway_online_set(&s, GW_1, true), LB_OK);   /* again: one row */
	ck_assert(store_dirty(&s));
	/* Staged: this connection sees them, another one does not yet. */
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM gateway_online"), 0);
	ck_assert_int_eq(store_gateway_online_list(&s, collect_gw, got), LB_OK);
	ck_assert_uint_eq(got[0], 3);
	/* In INTEGER order: aa55... is negative, below -1 (EUI_MAX). */
	ck_assert_uint_eq(got[1], GW_1);
	ck_assert_uint_eq(got[2], GW_1 + 1);
	ck_assert_uint_eq(got[3], EUI_MAX);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM gateway_online"), 3);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM gateway_online WHERE since > 0"), 3);
	ck_assert_int_eq(store_gateway_online_set(&s, GW_1 + 1, false), LB_OK);
	ck_assert_int_eq(store_gateway_online_set(&s, GW_1 + 7, false), LB_OK);  /* absent: fine */
	store_close(&s);                      /* commits what is staged */
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(store_gateway_online_list(&s, collect_gw, got), LB_OK);
	ck_assert_uint_eq(got[0], 2);
	ck_assert_uint_eq(got[1], GW_1);
	ck_assert_uint_eq(got[2], EUI_MAX);
	/* A callback's non-zero return stops the walk and is returned. */
	got[0] = 8;
	ck_assert_int_eq(store_gateway_online_list(&s, collect_gw, got), 1);
	ck_assert_uint_eq(got[0], 9);
	ck_assert_int_eq(store_gateway_online_list(&s, NULL, got), LB_ERR_INVAL);
	ck_assert_int_eq(store_gateway_online_set(NULL, GW_1, true), LB_ERR_INVAL);
	store_close(&s);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	char dir[512], log[4096];
	struct store s;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	store_close(&s);
	raw_exec(dir, "PRAGMA user_version = 99");
	ck_assert_int_eq(open_capturing(&s, dir, log, sizeof(log)), LB_ERR_UNUSABLE);
	ck_assert_ptr_null(s.db);
	char want[96];
	snprintf(want, sizeof(want), "state schema version 99 is newer than this lorabridge (%d)",
		 STORE_SCHEMA_VERSION);
	ck_assert_msg(strstr(log, want), "log: %s", log);
	ck_assert_int_eq(rawdb_int(dir, "PRAGMA user_version"), 99);   /* left untouched */
}
END_TEST

/* ---- purge ------------------------------------------------------------- */

static void stage_device(struct store *s, uint64_t eui, const char *dl_id)
{
	struct store_session r = mk_session(eui, 3);
	struct store_downlink d = mk_downlink(dl_id, eui, 5, "p");

	ck_assert_int_eq(store_put_session(s, &r), LB_OK);
	ck_assert_int_eq(store_add_dev_nonce(s, eui, 42), LB_OK);
	ck_assert_int_eq(store_downlink_push(s, &d, NULL), LB_OK);
	ck_assert_int_eq(store_ledger_put(s, eui, STORE_LEDGER_FAIR_ACCESS, "L", 1), LB_OK);
}

/* A pending row of eui (the join's counters: none accepted), noted with
 * the current session it was made beside (joined at 1700000000, FCntUp
 * up) when noted. */
static struct store_pending mk_pending(uint64_t eui, bool noted, uint32_t up)
{
	struct store_pending p;

	memset(&p, 0, sizeof(p));
	p.row = mk_session(eui, 0);
	p.row.has_fcnt_up_last = false;
	p.has_current = noted;
	p.current_joined_at = 1700000000;
	p.has_current_fcnt_up = noted;
	p.current_fcnt_up = up;
	return p;
}

/* Pending sessions (schema v9, v12): stored beside the current one, read
 * back after a reopen in DevAddr order (the in-memory table is built by
 * appending: tables/pending.h) with the note of the current session,
 * deleted alone, and by a purge (the only row of the device purged is a
 * pending one: it still counts). */
static int collect_pending(void *arg, const struct store_pending *row)
{
	struct store_pending *out = arg;
	size_t i = 0;

	while (out[i].row.dev_eui)
		i++;
	out[i] = *row;
	return 0;
}

START_TEST(test_pending_session)
{
	char dir[512];
	struct store s;
	struct store_session cur = mk_session(EUI_A, 9);
	struct store_pending pend = mk_pending(EUI_A, true, 9), got[4];
	struct store_pending other = mk_pending(EUI_B, false, 0);

	pend.row.dev_addr = 0x26012345u;
	pend.row.nwk_s_key[0] ^= 0xff;
	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_put_session(&s, &cur), LB_OK);
	ck_assert_int_eq(store_put_pending(&s, &pend), LB_OK);
	ck_assert_int_eq(store_put_pending(&s, &other), LB_OK);
	pend.row.rx_delay = 16;
	ck_assert_int_eq(store_put_pending(&s, &pend), LB_ERR_RANGE);
	pend.row.rx_delay = 1;
	ck_assert_int_eq(store_commit(&s), LB_OK);
	store_close(&s);

	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(store_load_pending(&s, collect_pending, got), LB_OK);
	/* by DevAddr: B's (0x26011002) before A's, whose DevEUI is lower */
	ck_assert_uint_eq(got[0].row.dev_eui, EUI_B);
	ck_assert_uint_eq(got[1].row.dev_eui, EUI_A);
	ck_assert_uint_eq(got[2].row.dev_eui, 0);
	ck_assert_uint_eq(got[1].row.dev_addr, 0x26012345u);
	ck_assert(!got[1].row.has_fcnt_up_last);
	ck_assert_int_eq(memcmp(got[1].row.nwk_s_key, pend.row.nwk_s_key, STORE_KEY_LEN), 0);
	ck_assert_uint_eq(got[1].row.nfcnt_down, 64);
	/* the current session as the join found it (schema v12); none noted
	 * for B */
	ck_assert(got[1].has_current);
	ck_assert_uint_eq(got[1].current_joined_at, 1700000000);
	ck_assert(got[1].has_current_fcnt_up);
	ck_assert_uint_eq(got[1].current_fcnt_up, 9);
	ck_assert(!got[0].has_current);
	ck_assert(!got[0].has_current_fcnt_up);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM pending_session WHERE"
				      " current_joined_at IS NULL AND current_fcnt_up IS NULL"), 1);
	/* the current session is its own row, untouched */
	struct store_session c;
	ck_assert_int_eq(store_get_session(&s, EUI_A, &c), LB_OK);
	ck_assert_uint_eq(c.dev_addr, cur.dev_addr);
	ck_assert_uint_eq(c.fcnt_up_last, 9);
	/* read by DevEUI (a purge keeps its counters: session.h) */
	struct store_pending p;
	ck_assert_int_eq(store_get_pending(&s, EUI_A, &p), LB_OK);
	ck_assert_uint_eq(p.row.dev_addr, 0x26012345u);
	ck_assert_int_eq(memcmp(p.row.nwk_s_key, pend.row.nwk_s_key, STORE_KEY_LEN), 0);
	ck_assert_uint_eq(p.row.nfcnt_down, 64);
	ck_assert(p.has_current && p.has_current_fcnt_up);
	ck_assert_uint_eq(p.current_fcnt_up, 9);
	ck_assert_int_eq(store_get_pending(&s, EUI_A + 100, &p), LB_ERR_NOT_FOUND);
	/* a current session that had accepted no uplink: NULL, read as none */
	pend.has_current_fcnt_up = false;
	ck_assert_int_eq(store_put_pending(&s, &pend), LB_OK);
	ck_assert_int_eq(store_get_pending(&s, EUI_A, &p), LB_OK);
	ck_assert(p.has_current && !p.has_current_fcnt_up);

	ck_assert_int_eq(store_delete_pending(&s, EUI_B), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM pending_session"), 1);
	ck_assert_int_eq(store_purge_flags(&s, EUI_A, 0), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM pending_session"), 0);
	ck_assert_int_eq(store_get_pending(&s, EUI_A, &p), LB_ERR_NOT_FOUND);
	/* a device whose only row is a pending one is found by the purge */
	ck_assert_int_eq(store_put_pending(&s, &other), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(store_purge_flags(&s, EUI_B, 0), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM pending_session"), 0);
	store_close(&s);
}
END_TEST

/* Schema v11 -> v12: a pending row written before reads with no note of
 * the current session (its device counts from the start that reads it,
 * daemon/session.h), its session intact; the new columns take writes. */
/* A session in memory first filled with `fill`: every field set, its
 * padding left `fill` (as a caller's stack memory would leave it). */
static void dirty_session(struct store_session *r, int fill)
{
	memset(r, fill, sizeof(*r));
	r->dev_eui = EUI_A;
	r->activation = LB_ACT_OTAA;
	r->dev_addr = 0x26010001u;
	memset(r->nwk_s_key, 0x11, sizeof(r->nwk_s_key));
	memset(r->app_s_key, 0x22, sizeof(r->app_s_key));
	r->has_fcnt_up_last = true;
	r->fcnt_up_last = 7;
	r->nfcnt_down = 16;
	r->rx1_dr_offset = 1;
	r->rx2_dr = 0;
	r->rx2_freq = 869525000;
	r->rx_delay = 1;
	r->has_join_nonce_last = true;
	r->join_nonce_last = 3;
	r->has_dev_nonce_last = true;
	r->dev_nonce_last = 9;
	r->joined_at = 1700000000;
	r->updated_at = 5;
}

/* The same pending session, its padding left `fill`. */
static void dirty_pending(struct store_pending *p, int fill)
{
	memset(p, fill, sizeof(*p));
	dirty_session(&p->row, fill);
	p->has_current = true;
	p->current_joined_at = 1600000000u;
	p->has_current_fcnt_up = true;
	p->current_fcnt_up = 40;
}

/* Whether the last two records of the redo log, from marks m0, m1 to its
 * end, are the same bytes. */
static bool same_records(const struct store *s, size_t m0, size_t m1)
{
	return m1 - m0 == s->log_len - m1 && memcmp(s->log + m0, s->log + m1, m1 - m0) == 0;
}

/* A put copies the row's fields, not its padding: the same rows built in
 * memory dirtied differently stage the same bytes (no uninitialised byte
 * of the caller's in the redo log: valgrind, MSan). */
START_TEST(test_put_no_caller_padding)
{
	char dir[512];
	struct store s;
	struct store_session a, b, pair_a[2], pair_b[2];
	struct store_pending pa, pb;
	size_t m0, m1, staged;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	fake_wall = 1800000000;
	store_set_wall_clock(&s, fake_wall_s);
	dirty_session(&a, 0xaa);
	dirty_session(&b, 0x55);
	m0 = s.log_len;
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	m1 = s.log_len;
	ck_assert_int_eq(store_put_session(&s, &b), LB_OK);
	ck_assert(same_records(&s, m0, m1));

	for (int i = 0; i < 2; i++) {
		dirty_session(&pair_a[i], 0xaa);
		dirty_session(&pair_b[i], 0x55);
	}
	m0 = s.log_len;
	ck_assert_int_eq(store_put_sessions(&s, pair_a, 2, &staged), LB_OK);
	m1 = s.log_len;
	ck_assert_int_eq(store_put_sessions(&s, pair_b, 2, &staged), LB_OK);
	ck_assert(same_records(&s, m0, m1));

	dirty_pending(&pa, 0xaa);
	dirty_pending(&pb, 0x55);
	m0 = s.log_len;
	ck_assert_int_eq(store_put_pending(&s, &pa), LB_OK);
	m1 = s.log_len;
	ck_assert_int_eq(store_put_pending(&s, &pb), LB_OK);
	ck_assert(same_records(&s, m0, m1));
	ck_assert_int_eq(store_commit(&s), LB_OK);
	store_close(&s);
}
END_TEST

START_TEST(test_migrate_pending_from_v11)
{
	char dir[512];
	struct store s;
	struct store_pending got, noted = mk_pending(EUI_B, true, 41);

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	store_close(&s);
	raw_exec(dir, RAWDB_PENDING_V11
		      "INSERT INTO pending_session (dev_eui, activation, dev_addr, nwk_s_key,"
		      " app_s_key, fcnt_up_last, nfcnt_down, rx1_dr_offset, rx2_dr, rx2_freq,"
		      " rx_delay, join_nonce_last, dev_nonce_last, joined_at, updated_at)"
		      " VALUES (1, 1, 638652417, x'11111111111111111111111111111111',"
		      " x'22222222222222222222222222222222', NULL, 64, 1, 0, 869525000, 1, 7, 9,"
		      " 1700000100, 1700000100)");
	raw_exec(dir, "PRAGMA user_version = 11");
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(store_get_pending(&s, 1, &got), LB_OK);
	ck_assert_uint_eq(got.row.dev_addr, 638652417);
	ck_assert_uint_eq(got.row.nwk_s_key[15], 0x11);
	ck_assert_uint_eq(got.row.nfcnt_down, 64);
	ck_assert_uint_eq(got.row.dev_nonce_last, 9);
	ck_assert(!got.has_current);
	ck_assert(!got.has_current_fcnt_up);
	ck_assert_int_eq(store_put_pending(&s, &noted), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT current_fcnt_up FROM pending_session"
				      " WHERE current_joined_at = 1700000000"), 41);
	store_close(&s);
}
END_TEST

/* REVIEW: pending rows staged in a batch whose commit fails are replayed
 * from the redo log: put, then delete of another, in order; the note of
 * the current session with the row. */
START_TEST(test_review_pending_replayed)
{
	char dir[512];
	struct store s;
	struct store_pending a = mk_pending(EUI_A, true, 17), b = mk_pending(EUI_B, false, 0);

	fault_install();
	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_put_pending(&s, &b), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	fault_full = true;
	ck_assert_int_eq(store_put_pending(&s, &a), LB_OK);
	ck_assert_int_eq(store_delete_pending(&s, EUI_B), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_ERR_IO);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM pending_session WHERE dev_eui = 8121069293711392770"), 1);
	fault_full = false;
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM pending_session"), 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM pending_session WHERE dev_eui = 8121069293711392769"), 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT current_fcnt_up FROM pending_session"), 17);
	store_close(&s);
	fault_remove();
}
END_TEST

START_TEST(test_purge)
{
	char dir[512];
	struct store s;
	bool used;
	size_t n, len;
	uint8_t buf[8];

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 60000), LB_OK);
	stage_device(&s, EUI_A, "pa");
	stage_device(&s, EUI_B, "pb");
	/* A gateway whose EUI happens to equal A's: its ledger is not A's. */
	ck_assert_int_eq(store_ledger_put(&s, EUI_A, STORE_LEDGER_DUTY_CYCLE, "G", 1), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(store_meta_put(&s, "staged_before", 1), LB_OK);

	ck_assert_int_eq(store_purge_flags(&s, EUI_A, 0), LB_OK);
	ck_assert(!store_dirty(&s));                   /* committed at once, with the meta */
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session"), 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM dev_nonce"), 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM downlink"), 1);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM ledger"), 2);
	ck_assert_int_eq(rawdb_int(dir, "SELECT value FROM meta WHERE key = 'staged_before'"), 1);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &(struct store_session){0}),
			 LB_ERR_NOT_FOUND);
	ck_assert_int_eq(store_dev_nonce_used(&s, EUI_A, 42, &used), LB_OK);
	ck_assert(!used);
	ck_assert_int_eq(store_downlink_count(&s, EUI_A, &n), LB_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_ledger_get(&s, EUI_A, STORE_LEDGER_FAIR_ACCESS, buf, sizeof(buf),
					  &len), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(store_ledger_get(&s, EUI_A, STORE_LEDGER_DUTY_CYCLE, buf, sizeof(buf),
					  &len), LB_OK);
	/* B untouched. */
	ck_assert_int_eq(store_get_session(&s, EUI_B, &(struct store_session){0}), LB_OK);
	ck_assert_int_eq(store_dev_nonce_used(&s, EUI_B, 42, &used), LB_OK);
	ck_assert(used);
	/* Nothing left to purge. */
	ck_assert_int_eq(store_purge_flags(&s, EUI_A, 0), LB_ERR_NOT_FOUND);
	/* A device with only a staged (uncommitted) session is purged too. */
	struct store_session c = mk_session(EUI_A + 100, 1);
	ck_assert_int_eq(store_put_session(&s, &c), LB_OK);
	ck_assert_int_eq(store_purge_flags(&s, EUI_A + 100, 0), LB_OK);
	store_close(&s);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM session"), 1);
}
END_TEST

/* ---- ABP sessions seen (store_abp.h, schema v8) ------------------------- */

/* A session id made of its tag (tags above 255 differ in their first two
 * bytes). */
static void mk_id(uint8_t id[STORE_SESSION_ID_LEN], unsigned tag)
{
	memset(id, (uint8_t)tag, STORE_SESSION_ID_LEN);
	id[0] = (uint8_t)(tag >> 8);
}

static struct store_abp_seen mk_seen(uint64_t eui, unsigned tag, bool has_up, uint32_t up,
				     uint32_t down)
{
	struct store_abp_seen a;

	memset(&a, 0, sizeof(a));
	a.dev_eui = eui;
	mk_id(a.id, tag);
	a.has_fcnt_up_last = has_up;
	a.fcnt_up_last = up;
	a.nfcnt_down = down;
	return a;
}

static size_t seen_count(struct store *s, uint64_t eui)
{
	size_t n = 999;

	ck_assert_int_eq(store_abp_seen_count(s, eui, &n), LB_OK);
	return n;
}

static int count_id(void *arg, const uint8_t id[STORE_SESSION_ID_LEN])
{
	(void)id;
	(*(int *)arg)++;
	return 0;
}

/* store_abp_seen_put() with stderr captured into buf. */
static int put_seen_capturing(struct store *s, const struct store_abp_seen *a, char *buf,
			      size_t cap)
{
	char path[] = "/tmp/test_store_seen.XXXXXX";
	int saved, fd, rc;
	ssize_t n;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	rc = store_abp_seen_put(s, a);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, cap - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return rc;
}

/* Whether the session is kept (by any device; eui: the one expected,
 * when only one kept it). */
static bool seen_has(struct store *s, uint64_t eui, unsigned tag)
{
	uint8_t id[STORE_SESSION_ID_LEN];
	struct store_abp_seen got;

	mk_id(id, tag);
	int rc = store_abp_seen_get(s, id, &got);
	ck_assert(rc == LB_OK || rc == LB_ERR_NOT_FOUND);
	if (rc == LB_OK)
		ck_assert_uint_eq(got.dev_eui, eui);
	return rc == LB_OK;
}

/* A v7 database gets the table (its rows kept); counters put are merged,
 * only upwards (an FCntUp over none); a device keeps its
 * STORE_ABP_SEEN_MAX most recently put sessions (a put makes it the most
 * recent again), another device's are not touched; rows are staged (other
 * connections see them once committed), survive a reopen and a failed
 * commit (replayed). A session is read whatever device kept it: the
 * highest counters of all. A purge keeps them unless asked
 * (STORE_PURGE_FORGET_SEEN); a device with nothing but sessions seen has
 * something to purge then. */
START_TEST(test_abp_seen)
{
	char dir[512];
	struct store s;
	struct store_session row = mk_session(EUI_A, 9);
	struct store_abp_seen a = mk_seen(EUI_A, 0xa1, true, 100, 192), got;
	uint8_t id[STORE_SESSION_ID_LEN];

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_put_session(&s, &row), LB_OK);
	ck_assert_int_eq(store_close(&s), LB_OK);
	raw_exec(dir, "DROP TABLE abp_seen");
	raw_exec(dir, "DROP TABLE pending_session");
	raw_exec(dir, RAWDB_MAC_STATE_V9);
	raw_exec(dir, "PRAGMA user_version = 7");
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM abp_seen"), 0);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &(struct store_session){0}), LB_OK);
	mk_id(id, 0xa1);
	ck_assert_int_eq(store_abp_seen_get(&s, id, &got), LB_ERR_NOT_FOUND);
	ck_assert_uint_eq(seen_count(&s, EUI_A), 0);

	/* Put, read back on this handle; others see it once committed. */
	ck_assert_int_eq(store_abp_seen_put(&s, &a), LB_OK);
	ck_assert_int_eq(store_abp_seen_get(&s, id, &got), LB_OK);
	ck_assert_uint_eq(got.dev_eui, EUI_A);
	ck_assert_mem_eq(got.id, id, sizeof(id));
	ck_assert(got.has_fcnt_up_last);
	ck_assert_uint_eq(got.fcnt_up_last, 100);
	ck_assert_uint_eq(got.nfcnt_down, 192);
	ck_assert_int_gt(got.updated_at, 0);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM abp_seen"), 0);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM abp_seen"), 1);
	/* Lower counters, or none, do not lower the stored ones. */
	struct store_abp_seen lower = mk_seen(EUI_A, 0xa1, true, 7, 64);
	ck_assert_int_eq(store_abp_seen_put(&s, &lower), LB_OK);
	lower.has_fcnt_up_last = false;
	ck_assert_int_eq(store_abp_seen_put(&s, &lower), LB_OK);
	ck_assert_int_eq(store_abp_seen_get(&s, id, &got), LB_OK);
	ck_assert(got.has_fcnt_up_last);
	ck_assert_uint_eq(got.fcnt_up_last, 100);
	ck_assert_uint_eq(got.nfcnt_down, 192);
	/* Higher ones are taken; an FCntUp over none too. */
	struct store_abp_seen higher = mk_seen(EUI_A, 0xa1, true, 0xfffffff0u, 0xffffffffu);
	ck_assert_int_eq(store_abp_seen_put(&s, &higher), LB_OK);
	ck_assert_int_eq(store_abp_seen_get(&s, id, &got), LB_OK);
	ck_assert_uint_eq(got.fcnt_up_last, 0xfffffff0u);
	ck_assert_uint_eq(got.nfcnt_down, 0xffffffffu);
	struct store_abp_seen none = mk_seen(EUI_A, 0xa2, false, 0, 64);
	ck_assert_int_eq(store_abp_seen_put(&s, &none), LB_OK);
	mk_id(id, 0xa2);
	ck_assert_int_eq(store_abp_seen_get(&s, id, &got), LB_OK);
	ck_assert(!got.has_fcnt_up_last);
	none.has_fcnt_up_last = true;
	none.fcnt_up_last = 3;
	ck_assert_int_eq(store_abp_seen_put(&s, &none), LB_OK);
	ck_assert_int_eq(store_abp_seen_get(&s, id, &got), LB_OK);
	ck_assert(got.has_fcnt_up_last);
	ck_assert_uint_eq(got.fcnt_up_last, 3);
	ck_assert_uint_eq(seen_count(&s, EUI_A), 2);

	/* The same session left by another device: read whatever device left
	 * it, the highest counters of both. */
	struct store_abp_seen moved = mk_seen(EUI_B, 0xa2, true, 9, 32);
	ck_assert_int_eq(store_abp_seen_put(&s, &moved), LB_OK);
	ck_assert_int_eq(store_abp_seen_get(&s, id, &got), LB_OK);
	ck_assert(got.dev_eui == EUI_A || got.dev_eui == EUI_B);
	ck_assert_uint_eq(got.fcnt_up_last, 9);
	ck_assert_uint_eq(got.nfcnt_down, 64);     /* A's */
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
				      " AND name = 'abp_seen_session'"), 1);
	ck_assert_uint_eq(seen_count(&s, EUI_B), 1);   /* the oldest of B's below */
	int ids = 0;                                   /* 0xa1 and 0xa2, once each */
	ck_assert_int_eq(store_abp_seen_ids(&s, count_id, &ids), LB_OK);
	ck_assert_int_eq(ids, 2);

	/* The bound: sessions 1..MAX+2 of B; 0xa1 of A put again in between
	 * (the most recent of A: A's own bound is A's). */
	for (unsigned i = 1; i <= STORE_ABP_SEEN_MAX + 2; i++) {
		struct store_abp_seen b = mk_seen(EUI_B, 0x1000 + i, true, i, 64 * i);
		char said[1024];
		ck_assert_int_eq(put_seen_capturing(&s, &b, said, sizeof(said)), LB_OK);
		/* a row dropped is said, naming the device; none else */
		if (i >= STORE_ABP_SEEN_MAX)   /* 0xa2 of B, then 0x1002, 0x1003 */
			ck_assert_msg(strstr(said, "device 70B3D57ED0000002: 1 ABP session(s) it "
					     "left forgotten"), "not said: %s", said);
		else
			ck_assert_msg(!strstr(said, "forgotten"), "said at %u: %s", i, said);
		if (i == 3) {   /* session 1 of B left again: the most recent */
			b = mk_seen(EUI_B, 0x1001, true, 1, 64);
			ck_assert_int_eq(store_abp_seen_put(&s, &b), LB_OK);
		}
		ck_assert_uint_le(seen_count(&s, EUI_B), STORE_ABP_SEEN_MAX);
	}
	ck_assert_uint_eq(seen_count(&s, EUI_B), STORE_ABP_SEEN_MAX);
	ck_assert(seen_has(&s, EUI_B, 0x1001));         /* refreshed at 3 */
	ck_assert(seen_has(&s, EUI_A, 0xa2));           /* B's row of it dropped, A's kept */
	ck_assert_int_eq(store_abp_seen_get(&s, id, &got), LB_OK);
	ck_assert_uint_eq(got.fcnt_up_last, 3);         /* A's */
	ck_assert(!seen_has(&s, EUI_B, 0x1002));        /* the three oldest dropped */
	ck_assert(!seen_has(&s, EUI_B, 0x1003));
	ck_assert(seen_has(&s, EUI_B, 0x1004));
	ck_assert(seen_has(&s, EUI_B, 0x1000 + STORE_ABP_SEEN_MAX + 2));
	ck_assert_uint_eq(seen_count(&s, EUI_A), 2);     /* A's untouched */
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM abp_seen"), STORE_ABP_SEEN_MAX + 2);

	/* A failed commit: the batch's puts are replayed from the redo log. */
	fault_install();
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	fault_full = true;
	struct store_abp_seen c = mk_seen(EUI_A, 0xa3, true, 55, 128);
	ck_assert_int_eq(store_abp_seen_put(&s, &c), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_ERR_IO);
	ck_assert(seen_has(&s, EUI_A, 0xa3));
	fault_full = false;
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(store_close(&s), LB_OK);
	fault_remove();
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM abp_seen WHERE dev_eui ="
				      " 0x70b3d57ed0000001"), 3);

	/* A purge keeps them; asked, it deletes the device's (only). */
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_purge_flags(&s, EUI_A, 0), LB_OK);
	ck_assert_uint_eq(seen_count(&s, EUI_A), 3);
	ck_assert_int_eq(store_purge_flags(&s, EUI_B, 0), LB_ERR_NOT_FOUND);
	ck_assert_uint_eq(seen_count(&s, EUI_B), STORE_ABP_SEEN_MAX);
	ck_assert_int_eq(store_purge_flags(&s, EUI_A, STORE_PURGE_FORGET_SEEN), LB_OK);
	ck_assert_uint_eq(seen_count(&s, EUI_A), 0);
	ck_assert_uint_eq(seen_count(&s, EUI_B), STORE_ABP_SEEN_MAX);
	ck_assert_int_eq(store_purge_flags(&s, EUI_B, STORE_PURGE_FORGET_SEEN), LB_OK);
	ck_assert_uint_eq(seen_count(&s, EUI_B), 0);
	ck_assert_int_eq(store_purge_flags(&s, EUI_B, STORE_PURGE_FORGET_SEEN), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(store_abp_seen_put(&s, NULL), LB_ERR_INVAL);
	store_close(&s);
	ck_assert_int_eq(rawdb_int(dir, "SELECT count(*) FROM abp_seen"), 0);
}
END_TEST

/* ---- state generation (store_gen.h) ------------------------------------ */

static void dir_file(char *out, size_t cap, const char *dir, const char *name)
{
	ck_assert_int_lt(snprintf(out, cap, "%s/%s", dir, name), (int)cap);
}

/* The marker's generation; 0 if it is missing, -1 if it does not parse. */
static int64_t marker_gen(const char *dir)
{
	char path[600], buf[128];
	long long v = -1;
	FILE *f;
	size_t n;

	dir_file(path, sizeof(path), dir, STORE_GEN_NAME);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (sscanf(buf, "lorabridge-state-generation %lld", &v) != 1)
		return -1;
	return v;
}

static int64_t db_gen(const char *dir)
{
	return rawdb_int(dir, "SELECT value FROM meta WHERE key = 'state_generation'");
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[600];

	dir_file(path, sizeof(path), dir, name);
	testutil_write_file(path, text);
}

static void remove_file(const char *dir, const char *name)
{
	char path[600];

	dir_file(path, sizeof(path), dir, name);
	ck_assert_msg(unlink(path) == 0 || errno == ENOENT, "unlink %s", path);
}

static bool file_exists(const char *dir, const char *name)
{
	char path[600];
	struct stat st;

	dir_file(path, sizeof(path), dir, name);
	return stat(path, &st) == 0;
}

static void copy_file(const char *dir, const char *from, const char *to)
{
	char a[600], b[600], buf[4096];
	FILE *in, *out;
	size_t n;

	dir_file(a, sizeof(a), dir, from);
	dir_file(b, sizeof(b), dir, to);
	in = fopen(a, "rb");
	out = fopen(b, "wb");
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
}

/* A store holding A's session at fcnt, closed cleanly. */
static void commit_session(const char *dir, uint32_t fcnt)
{
	struct store s;
	struct store_session a = mk_session(EUI_A, fcnt);

	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_put_session(&s, &a), LB_OK);
	ck_assert_int_eq(store_close(&s), LB_OK);
}

/* The state is refused, and refused again: the refusal changes nothing. */
static void expect_lost(const char *dir, int64_t marker)
{
	struct store s;

	ck_assert_int_eq(store_open(&s, dir, 200), LB_ERR_STATE_LOST);
	ck_assert_ptr_null(s.db);
	ck_assert_int_eq(marker_gen(dir), marker);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_ERR_STATE_LOST);
	ck_assert_int_eq(marker_gen(dir), marker);
}

/* Accepting the loss opens what is left and continues above the marker;
 * the next open is normal again. */
static void accept_loss(const char *dir, int64_t marker, bool session_left)
{
	struct store s;
	const struct store_gen *g;

	ck_assert_int_eq(store_open_flags(&s, dir, 200, STORE_ACCEPT_STATE_LOSS), LB_OK);
	g = store_generation(&s);
	ck_assert_int_eq(g->outcome, STORE_GEN_LOSS_ACCEPTED);
	ck_assert_int_lt(g->db_at_open, marker);
	ck_assert_int_eq(g->committed, marker + 1);
	ck_assert_int_eq(marker_gen(dir), marker + 1);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &(struct store_session){0}),
			 session_left ? LB_OK : LB_ERR_NOT_FOUND);
	store_close(&s);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_generation(&s)->outcome, STORE_GEN_CONTINUED);
	store_close(&s);
}

START_TEST(test_gen_fresh_and_restart)
{
	char dir[512], bad[80];
	struct store s;
	const struct store_gen *g;

	new_dir(dir, sizeof(dir), "state");
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	g = store_generation(&s);
	ck_assert_int_eq(g->outcome, STORE_GEN_STARTED);
	ck_assert(!g->had_marker);
	ck_assert_int_eq(g->db_at_open, 0);
	ck_assert_int_eq(g->committed, 1);
	ck_assert_int_eq(marker_gen(dir), 1);
	ck_assert(!file_exists(dir, STORE_GEN_TMP_NAME));
	/* The generation is the store's own: batches do not see it. */
	ck_assert_uint_eq(store_batch(&s), 1);
	ck_assert_uint_eq(s.stats.commits, 0);
	ck_assert(!store_dirty(&s));
	ck_assert_int_eq(store_meta_put(&s, STORE_GEN_META_KEY, 99), LB_ERR_INVAL);
	store_close(&s);
	/* Advanced at close too: database first, then the marker. */
	ck_assert_int_eq(db_gen(dir), 2);
	ck_assert_int_eq(marker_gen(dir), 2);

	/* A normal restart, also with the database one step ahead of the
	 * marker (a crash between the two writes of an advance). */
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_generation(&s)->outcome, STORE_GEN_CONTINUED);
	ck_assert_int_eq(store_generation(&s)->marker_at_open, 2);
	ck_assert_int_eq(store_generation(&s)->db_at_open, 2);
	store_close(&s);
	put_file(dir, STORE_GEN_NAME, "lorabridge-state-generation 3\n");
	ck_assert_int_eq(db_gen(dir), 4);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_generation(&s)->outcome, STORE_GEN_CONTINUED);
	ck_assert_int_eq(marker_gen(dir), 5);
	store_close(&s);

	/* A marker that does not read as one cannot vouch for the database. */
	snprintf(bad, sizeof(bad), "lorabridge-state-generation 6\ngarbage");
	put_file(dir, STORE_GEN_NAME, bad);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_ERR_STATE_LOST);
	put_file(dir, STORE_GEN_NAME, "");
	ck_assert_int_eq(store_open(&s, dir, 200), LB_ERR_STATE_LOST);
	ck_assert_int_eq(store_open_flags(&s, dir, 200, STORE_ACCEPT_STATE_LOSS), LB_OK);
	ck_assert(store_generation(&s)->marker_bad);
	ck_assert_int_eq(store_generation(&s)->committed, 7);
	ck_assert_int_eq(marker_gen(dir), 7);
	store_close(&s);
	ck_assert_int_eq(store_open_flags(&s, dir, 200, 2), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_gen_truncated_or_deleted_db)
{
	char dir[512], path[600];
	int64_t m;

	new_dir(dir, sizeof(dir), NULL);
	commit_session(dir, 10);
	m = marker_gen(dir);
	ck_assert_int_eq(m, 2);
	db_path(path, sizeof(path), dir);
	ck_assert_int_eq(truncate(path, 0), 0);
	expect_lost(dir, m);
	accept_loss(dir, m, false);

	new_dir(dir, sizeof(dir), NULL);
	commit_session(dir, 10);
	m = marker_gen(dir);
	remove_file(dir, STORE_DB_NAME);
	remove_file(dir, STORE_DB_NAME "-wal");
	remove_file(dir, STORE_DB_NAME "-shm");
	expect_lost(dir, m);
	accept_loss(dir, m, false);
}
END_TEST

/* A copy of the database, put back later: everything committed since is
 * lost, and so is every advance since the copy. */
START_TEST(test_gen_rolled_back_db)
{
	char dir[512];
	int64_t m;

	new_dir(dir, sizeof(dir), NULL);
	commit_session(dir, 10);
	copy_file(dir, STORE_DB_NAME, "backup.db");
	commit_session(dir, 20);
	m = marker_gen(dir);
	copy_file(dir, "backup.db", STORE_DB_NAME);
	expect_lost(dir, m);
	ck_assert_int_eq(rawdb_int(dir, "SELECT fcnt_up_last FROM session"), 10);
	accept_loss(dir, m, true);
}
END_TEST

/* A child commits batches (and, with `big`, enough to make the store
 * checkpoint the WAL), stages one more and is killed. Exit codes other
 * than the SIGKILL name the step that failed. */
#define BIG_LEDGER (STORE_LEDGER_MAX)

static void gen_child(const char *dir, bool big)
{
	static uint8_t blob[BIG_LEDGER];
	struct store s;
	struct store_session a = mk_session(EUI_A, 10);

	if (store_open(&s, dir, 200) != LB_OK)
		_exit(2);
	for (int i = 0; big && i < 24 && store_generation(&s)->committed < 2; i++) {
		memset(blob, i, sizeof(blob));
		if (store_ledger_put(&s, GW_1 + (uint64_t)i, STORE_LEDGER_DUTY_CYCLE, blob,
				     sizeof(blob)) != LB_OK || store_commit(&s) != LB_OK)
			_exit(3);
	}
	/* The checkpoint moved the open's advance into the database file, so
	 * the store advanced again. */
	if (big && store_generation(&s)->committed < 2)
		_exit(4);
	if (store_put_session(&s, &a) != LB_OK || store_commit(&s) != LB_OK)
		_exit(5);
	a.fcnt_up_last = 11;
	if (store_put_session(&s, &a) != LB_OK)
		_exit(6);
	raise(SIGKILL);
	_exit(7);
}

static void run_killed_child(const char *dir, bool big)
{
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		gen_child(dir, big);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "child status %d (exit %d)", status, WEXITSTATUS(status));
	ck_assert(file_exists(dir, STORE_DB_NAME "-wal"));
}

static void check_kill9(bool big)
{
	char dir[512];
	struct store s;
	struct store_session got;
	int64_t m;

	/* kill -9 alone is not a loss: the committed batch is there. */
	new_dir(dir, sizeof(dir), NULL);
	run_killed_child(dir, big);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_generation(&s)->outcome, STORE_GEN_CONTINUED);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &got), LB_OK);
	ck_assert_uint_eq(got.fcnt_up_last, 10);
	store_close(&s);

	/* kill -9, then the -wal deleted: its committed batches are lost. */
	new_dir(dir, sizeof(dir), NULL);
	run_killed_child(dir, big);
	m = marker_gen(dir);
	ck_assert_int_ge(m, big ? 2 : 1);
	remove_file(dir, STORE_DB_NAME "-wal");
	expect_lost(dir, m);
	accept_loss(dir, m, false);
}

START_TEST(test_gen_wal_deleted_after_kill)
{
	check_kill9(false);
}
END_TEST

START_TEST(test_gen_wal_deleted_after_checkpoint)
{
	check_kill9(true);
}
END_TEST

/* Deferred upkeep (store_gen.h, UPKEEP): the commits only note the
 * checkpoint; store_upkeep() does it once no batch is open, then the
 * advance's transaction, then its marker, a step a call. An advance due
 * while a batch is open goes with that batch's commit, and its marker is
 * written before the next commit at the latest. A checkpoint still not
 * done at the next commit is done by that commit. */
static int commit_until_checkpoint(struct store *s)
{
	static uint8_t blob[BIG_LEDGER];
	int commits = 0;

	for (int i = 0; i < 24 && !store_checkpoint_due(s); i++) {
		memset(blob, i, sizeof(blob));
		ck_assert_int_eq(store_ledger_put(s, GW_1 + (uint64_t)i, STORE_LEDGER_DUTY_CYCLE,
						  blob, sizeof(blob)), LB_OK);
		ck_assert_int_eq(store_commit(s), LB_OK);
		commits++;
	}
	ck_assert(store_checkpoint_due(s));
	ck_assert(store_upkeep_due(s));
	return commits;
}

/* A sync of SQLite's own that fails (the checkpoint's, synchronous =
 * NORMAL) is final like the store's (store_sync.h): a retried checkpoint
 * would copy what the disk lost. Nothing is written after it. */
START_TEST(test_checkpoint_sync_failure_is_final)
{
	char dir[512];
	struct store s;
	struct store_session a = mk_session(EUI_A, 1);

	open_faulty(&s, dir, sizeof(dir));
	store_defer_upkeep(&s, true);
	(void)commit_until_checkpoint(&s);
	fault_sync_fail = true;
	(void)store_upkeep(&s);
	fault_sync_fail = false;
	ck_assert(store_sync_failed(&s));
	ck_assert(!store_upkeep_due(&s));
	ck_assert_int_eq(store_put_session(&s, &a), LB_ERR_IO);
	ck_assert_int_eq(store_commit(&s), LB_ERR_IO);
	ck_assert_int_eq(store_close(&s), LB_ERR_IO);
	fault_remove();
}
END_TEST

static void put_fcnt(struct store *s, struct store_session *a, uint32_t fcnt)
{
	a->fcnt_up_last = fcnt;
	ck_assert_int_eq(store_put_session(s, a), LB_OK);
}

START_TEST(test_gen_upkeep_deferred)
{
	char dir[512];
	struct store s;
	struct store_session a = mk_session(EUI_A, 10);

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	store_defer_upkeep(&s, true);
	int64_t g0 = store_generation(&s)->committed;
	/* Due once the WAL holds 16 MiB of pages (STORE_CHECKPOINT_FRAMES of
	 * 4 KiB), not before: 1 MiB and a few pages a commit. */
	int commits = commit_until_checkpoint(&s);
	ck_assert_int_ge(commits, 16 * 1024 * 1024 / (BIG_LEDGER + 8 * 4096));
	ck_assert_int_le(commits, 16 * 1024 * 1024 / BIG_LEDGER + 1);
	ck_assert_int_eq(store_generation(&s)->committed, g0);
	/* The checkpoint, the advance, its marker: three calls. */
	ck_assert(store_upkeep(&s));
	ck_assert(!store_checkpoint_due(&s));
	ck_assert_int_eq(store_generation(&s)->committed, g0);
	ck_assert(store_upkeep(&s));
	ck_assert_int_eq(store_generation(&s)->committed, g0 + 1);
	ck_assert_int_eq(marker_gen(dir), g0);
	ck_assert(!store_upkeep(&s));
	ck_assert_int_eq(marker_gen(dir), g0 + 1);

	/* Checkpointed while no batch was open, then a batch opens: the
	 * checkpoint waits no longer, the advance waits for the batch and
	 * goes with its commit, and its marker with it: the batch's counters
	 * (after the checkpoint) are never outside the marker beyond that
	 * call, so a -wal deleted after a crash later is detected. */
	commit_until_checkpoint(&s);
	ck_assert(store_upkeep(&s));                  /* the checkpoint */
	put_fcnt(&s, &a, 11);
	ck_assert(!store_upkeep_due(&s));
	ck_assert(!store_upkeep(&s));
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(store_generation(&s)->committed, g0 + 2);
	ck_assert_int_eq(rawdb_int(dir, "SELECT value FROM meta WHERE key = 'state_generation'"),
			 g0 + 2);
	ck_assert_int_eq(marker_gen(dir), g0 + 2);
	ck_assert(!store_upkeep_due(&s));
	put_fcnt(&s, &a, 12);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert_int_eq(marker_gen(dir), g0 + 2);
	ck_assert(!store_upkeep_due(&s));

	/* A checkpoint due while a batch is open until the next commit: that
	 * commit does it; the advance follows in the upkeep. */
	commit_until_checkpoint(&s);
	put_fcnt(&s, &a, 13);
	ck_assert(!store_upkeep_due(&s));
	ck_assert_int_eq(store_commit(&s), LB_OK);
	ck_assert(!store_checkpoint_due(&s));
	ck_assert(store_upkeep(&s));                  /* the advance */
	ck_assert_int_eq(store_generation(&s)->committed, g0 + 3);
	ck_assert(!store_upkeep(&s));                 /* its marker */
	ck_assert_int_eq(marker_gen(dir), g0 + 3);
	ck_assert_int_eq(store_close(&s), LB_OK);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_generation(&s)->outcome, STORE_GEN_CONTINUED);
	store_close(&s);
}
END_TEST

/* A database from a lorabridge without the marker is adopted, as is one
 * whose marker alone was deleted. */
START_TEST(test_gen_upgrade_without_marker)
{
	char dir[512];
	struct store s;
	const struct store_gen *g;

	new_dir(dir, sizeof(dir), NULL);
	commit_session(dir, 10);
	remove_file(dir, STORE_GEN_NAME);
	raw_exec(dir, "DELETE FROM meta WHERE key = 'state_generation'");
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	g = store_generation(&s);
	ck_assert_int_eq(g->outcome, STORE_GEN_STARTED);
	ck_assert_int_eq(g->db_at_open, 0);
	ck_assert_int_eq(store_get_session(&s, EUI_A, &(struct store_session){0}), LB_OK);
	ck_assert_int_eq(marker_gen(dir), 1);
	store_close(&s);

	remove_file(dir, STORE_GEN_NAME);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_generation(&s)->outcome, STORE_GEN_STARTED);
	ck_assert_int_eq(store_generation(&s)->db_at_open, 2);
	ck_assert_int_eq(marker_gen(dir), 3);
	store_close(&s);
}
END_TEST

/* `lorabridge --purge` opens, purges and closes: the marker follows, and
 * the next start is normal; on a lost database it is refused like the
 * daemon (purging must not make the loss look normal). */
START_TEST(test_gen_purge)
{
	char dir[512], path[600];
	struct store s;
	int64_t m;

	new_dir(dir, sizeof(dir), NULL);
	commit_session(dir, 10);
	ck_assert_int_eq(store_open(&s, dir, 0), LB_OK);
	ck_assert_int_eq(store_purge_flags(&s, EUI_A, 0), LB_OK);
	store_close(&s);
	ck_assert_int_eq(marker_gen(dir), db_gen(dir));
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	ck_assert_int_eq(store_generation(&s)->outcome, STORE_GEN_CONTINUED);
	store_close(&s);

	commit_session(dir, 20);
	m = marker_gen(dir);
	db_path(path, sizeof(path), dir);
	ck_assert_int_eq(truncate(path, 0), 0);
	ck_assert_int_eq(store_open(&s, dir, 0), LB_ERR_STATE_LOST);
	ck_assert_int_eq(marker_gen(dir), m);
}
END_TEST

/* Run as root on the daemon's directory (`sudo lorabridge --purge`), the
 * marker keeps the database's owner, so the daemon can still replace it.
 * Only testable as root. */
START_TEST(test_gen_marker_owner)
{
	char dir[512], path[600];
	struct store s;
	struct stat st;

	if (geteuid() != 0)
		return;
	new_dir(dir, sizeof(dir), NULL);
	commit_session(dir, 1);
	db_path(path, sizeof(path), dir);
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	ck_assert_int_eq(store_open(&s, dir, 0), LB_OK);
	store_close(&s);
	dir_file(path, sizeof(path), dir, STORE_GEN_NAME);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_uid, 65534);
	ck_assert_uint_eq(st.st_gid, 65534);
}
END_TEST

/* ---- cost of a batch ---------------------------------------------------- */

/* Measured on the development machine (ext4 on a virtual disk, /tmp):
 * see the printed line; synchronous=FULL costs one WAL fsync per batch
 * regardless of its size, which is the point of group commit. */
START_TEST(test_batch_of_100_timing)
{
	char dir[512];
	struct store s;
	int64_t one_us;

	new_dir(dir, sizeof(dir), NULL);
	ck_assert_int_eq(store_open(&s, dir, 200), LB_OK);
	for (uint64_t i = 0; i < 100; i++) {
		struct store_session r = mk_session(EUI_A + i, 0);
		ck_assert_int_eq(store_put_session(&s, &r), LB_OK);
	}
	ck_assert_int_eq(store_commit(&s), LB_OK);      /* first: inserts */
	for (uint32_t round = 1; round <= 3; round++) {
		for (uint64_t i = 0; i < 100; i++) {
			struct store_session r = mk_session(EUI_A + i, round);
			ck_assert_int_eq(store_put_session(&s, &r), LB_OK);
		}
		ck_assert_int_eq(store_commit(&s), LB_OK);
	}
	ck_assert_uint_eq(s.stats.rows_written, 400);
	int64_t hundred_us = s.stats.last_commit_us;
	struct store_session r = mk_session(EUI_A, 9);
	ck_assert_int_eq(store_put_session(&s, &r), LB_OK);
	ck_assert_int_eq(store_commit(&s), LB_OK);
	one_us = s.stats.last_commit_us;
	printf("store: commit of 100 session updates: %lld us (1 update: %lld us, max %lld us)\n",
	       (long long)hundred_us, (long long)one_us, (long long)s.stats.max_commit_us);
	ck_assert_int_gt(hundred_us, 0);
	store_close(&s);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_schema_created);
	tcase_add_test(tc, test_open_args);
	tcase_add_test(tc, test_reopen_keeps_data);
	tcase_add_test(tc, test_close_commits_staged);
	tcase_add_test(tc, test_second_process_locked_out);
	tcase_add_test(tc, test_session_api);
	tcase_add_test(tc, test_dev_nonces);
	tcase_add_test(tc, test_downlink_queue);
	tcase_add_test(tc, test_downlink_maybe);
	tcase_add_test(tc, test_ledgers);
	tcase_add_test(tc, test_past_2038);
	tcase_add_test(tc, test_meta);
	tcase_add_test(tc, test_batch_invisible_until_commit);
	tcase_add_test(tc, test_large_batch_due_now);
	tcase_add_test(tc, test_release_idle);
	tcase_add_test(tc, test_large_batch_keeps_retry_wait);
	tcase_add_test(tc, test_crash_between_batches);
	tcase_add_test(tc, test_failed_commit_is_retried);
	tcase_add_test(tc, test_outbox_replayed_after_failed_commit);
	tcase_add_test(tc, test_outbox_many_replayed_after_failed_commit);
	tcase_add_test(tc, test_many_rows_sizes);
	tcase_add_test(tc, test_many_rows_refused_and_repeated);
	tcase_add_test(tc, test_many_rows_replayed_after_failed_commit);
	tcase_add_test(tc, test_close_with_failing_disk);
	tcase_add_test(tc, test_sqlite_no_sync_in_commits);
	tcase_add_test(tc, test_staging_failure_keeps_batch);
	tcase_add_test(tc, test_replay_after_half_failed_commit);
	tcase_add_test(tc, test_not_a_database);
	tcase_add_test(tc, test_out_of_fds_is_transient);
	tcase_add_test(tc, test_corrupt_pages);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_migrate_from_v3);
	tcase_add_test(tc, test_mac_state);
	tcase_add_test(tc, test_mac_state_rx_requests);
	tcase_add_test(tc, test_migrate_mac_state_from_v9);
	tcase_add_test(tc, test_migrate_pending_from_v11);
	tcase_add_test(tc, test_pending_session);
	tcase_add_test(tc, test_put_no_caller_padding);
	tcase_add_test(tc, test_review_pending_replayed);
	tcase_add_test(tc, test_migrate_from_v1);
	tcase_add_test(tc, test_gateway_online);
	tcase_add_test(tc, test_purge);
	tcase_add_test(tc, test_abp_seen);
	tcase_add_test(tc, test_gen_fresh_and_restart);
	tcase_add_test(tc, test_gen_truncated_or_deleted_db);
	tcase_add_test(tc, test_gen_rolled_back_db);
	tcase_add_test(tc, test_gen_wal_deleted_after_kill);
	tcase_add_test(tc, test_gen_wal_deleted_after_checkpoint);
	tcase_add_test(tc, test_gen_upkeep_deferred);
	tcase_add_test(tc, test_checkpoint_sync_failure_is_final);
	tcase_add_test(tc, test_gen_upgrade_without_marker);
	tcase_add_test(tc, test_gen_purge);
	tcase_add_test(tc, test_gen_marker_owner);
	tcase_add_test(tc, test_batch_of_100_timing);
	tcase_add_test(tc, test_wall_clock_past_2038);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_threshold = LOG_LVL_WARN;   /* errors under test still show */
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
