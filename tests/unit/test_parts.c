/* SPDX-License-Identifier: MIT */
/*
 * test_parts.c - the session and fair-access parts of the group commit
 * (session.h, budget.h) with many devices marked: each marked device's row
 * is staged once however often it changed, in groups of up to
 * STORE_MANY_ROWS rows per statement (store_put_sessions,
 * store_ledger_put_many), and every row reaches the database as the device
 * holds it; a device whose stored row is whole and that only counted frames
 * has its counters written alone (session_fcnt), any other change, a stale
 * stored row or a new device a whole row. The store is a real SQLite
 * database in a mkdtemp() directory.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "config/config.h"
#include "daemon/budget.h"
#include "daemon/devevent.h"
#include "daemon/durable.h"
#include "daemon/ids.h"
#include "daemon/publish.h"
#include "daemon/session.h"
#include "daemon/stats.h"
#include "io/loop.h"
#include "store/store.h"
#include "tables/devices.h"
#include "tables/dirtyset.h"
#include "tables/fairaccess.h"
#include "rawdb.h"
#include "world.h"
#include "testutil.h"

#define N_DEV 70                         /* groups of 32, 32, 4 and 2 rows */
#define EUI0 UINT64_C(0x70b3d57ed0001000)

/* The modules (world.h). */
static struct world w;

/* N_DEV ABP devices; sessions and budgets, the two parts under test, on
 * the real group commit and store. */
static void setup(void)
{
	static struct lb_device_conf conf[N_DEV];
	static char names[N_DEV][16];

	world_base(&w, WORLD_HOLD_NONE);
	for (int i = 0; i < N_DEV; i++) {
		uint8_t nwk[16], app[16];

		snprintf(names[i], sizeof(names[i]), "dev%d", i);
		memset(nwk, 0x10 + i, 16);
		memset(app, 0x20 + i, 16);
		conf[i] = world_abp(&w, names[i], "default", EUI0 + (uint64_t)i,
				    0x26010000u + (uint32_t)i, nwk, app);
	}
	world_open(&w, conf, N_DEV, &(struct world_opts){
		.modules = WORLD_STORE | WORLD_SESSIONS | WORLD_BUDGET,
	});
}

static void teardown(void)
{
	world_close(&w);
}

/* Device i accepts an uplink with FCnt fcnt: its counter and its
 * fair-access ledger change, both are marked. */
static void uplink(int i, uint32_t fcnt, int64_t now_ms)
{
	struct lb_device *dev = &w.devices.dev[i];
	struct fa_verdict v;

	struct fa_device fa;
	uint8_t packed[FA_PACKED_MAX];
	size_t len;

	dev->has_last_fcnt = true;
	dev->last_fcnt_up = fcnt;
	/* The ledgers as budget.c keeps them: packed (fairaccess.h). */
	if (dev->rt.fa)
		ck_assert_int_eq(fa_decode(&fa, dev->rt.fa->blob, dev->rt.fa->len), LB_OK);
	else
		ck_assert_int_eq(fa_device_init(&fa, &dev->prof->fa_policy), LB_OK);
	ck_assert_int_eq(fa_uplink(&fa, &dev->prof->fa_policy, now_ms, 1000u * (uint64_t)(i + 1),
				   &v), LB_OK);
	ck_assert_int_eq(fa_pack(&fa, packed, sizeof(packed), &len), LB_OK);
	ck_assert_ptr_nonnull(devices_fa_resize(&w.devices, dev, len));
	memcpy(dev->rt.fa->blob, packed, len);
	sessions_touch(&w.sessions, dev);
	budget_touch(&w.budget, dev);
}

/* The stored rows are the devices' own. */
static void expect_stored(int i)
{
	struct lb_device *dev = &w.devices.dev[i];
	struct store_session row;
	uint8_t blob[FA_PACKED_MAX];
	size_t len;

	ck_assert_int_eq(store_get_session(&w.store, dev->dev_eui, &row), LB_OK);
	ck_assert(row.has_fcnt_up_last);
	ck_assert_uint_eq(row.fcnt_up_last, dev->last_fcnt_up);
	ck_assert_uint_eq(row.dev_addr, dev->dev_addr);
	ck_assert_int_eq(store_ledger_get(&w.store, dev->dev_eui, STORE_LEDGER_FAIR_ACCESS, blob,
					  sizeof(blob), &len), LB_OK);
	ck_assert_uint_eq(len, dev->rt.fa->len);
	ck_assert_mem_eq(blob, dev->rt.fa->blob, len);
}

/* 70 devices, some of them changed three times: every device staged once
 * (70 sessions + 70 ledgers written), all committed as they are now. */
START_TEST(test_many_devices_staged_once)
{
	int64_t now = loop_wall_us() / 1000;

	for (int i = 0; i < N_DEV; i++)
		uplink(i, 100 + (uint32_t)i, now);
	for (int i = 0; i < N_DEV; i += 7) {
		uplink(i, 200 + (uint32_t)i, now + 1);
		uplink(i, 300 + (uint32_t)i, now + 2);
	}
	ck_assert_uint_eq(dirtyset_count(&w.sessions.dirty), N_DEV);
	ck_assert_uint_eq(dirtyset_back(&w.sessions.dirty, 0), N_DEV - 1);
	ck_assert_uint_eq(dirtyset_back(&w.sessions.dirty, N_DEV - 1), 0);
	/* A commit writes the sessions; the fair-access ledgers wait for
	 * their delay (budget.h), a flush writes them. */
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_uint_eq(dirtyset_count(&w.sessions.dirty), 0);
	ck_assert_uint_eq(dirtyset_count(&w.budget.dirty), N_DEV);
	ck_assert_uint_eq(w.store.stats.rows_written, N_DEV);
	ck_assert_uint_eq(w.store.stats.commits, 1);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_uint_eq(dirtyset_count(&w.budget.dirty), 0);
	ck_assert_uint_eq(w.store.stats.rows_written, 2 * N_DEV);
	ck_assert_uint_eq(w.store.stats.commits, 2);
	for (int i = 0; i < N_DEV; i++)
		expect_stored(i);
	ck_assert_uint_eq(w.devices.dev[7].last_fcnt_up, 307);

	/* The next batch: only what changed since. */
	uplink(3, 1003, now + 3);
	uplink(40, 1040, now + 3);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_uint_eq(w.store.stats.rows_written, 2 * N_DEV + 4);
	expect_stored(3);
	expect_stored(40);
}
END_TEST

/* A device's changed fair-access ledger alone is due BUDGET_LEDGER_DELAY_MS
 * after its first change, and written then with the batch that is due. */
START_TEST(test_ledger_deferred)
{
	struct lb_device *dev = &w.devices.dev[5];

	uplink(5, 77, loop_wall_us() / 1000);
	/* The times the two parts took the marks at (the clock moves on). */
	int64_t session_due = w.sessions.dirty.since_ms + w.cfg.state_commit_ms;
	ck_assert_int_eq(durable_tick(&w.durable, session_due - 1), session_due);
	ck_assert_int_eq(durable_tick(&w.durable, session_due),
			 w.budget.dirty.since_ms + BUDGET_LEDGER_DELAY_MS);
	ck_assert_uint_eq(w.store.stats.rows_written, 1);             /* the session */
	ck_assert_uint_eq(dirtyset_count(&w.budget.dirty), 1);
	int64_t due = w.budget.dirty.since_ms + BUDGET_LEDGER_DELAY_MS;
	ck_assert_int_eq(durable_tick(&w.durable, due - 1), due);
	ck_assert_int_eq(durable_tick(&w.durable, due), -1);
	ck_assert_uint_eq(dirtyset_count(&w.budget.dirty), 0);
	ck_assert_uint_eq(w.store.stats.rows_written, 2);
	expect_stored(5);
	ck_assert_uint_eq(dev->last_fcnt_up, 77);
}
END_TEST

/* The commit is due commit_ms after the earliest moment a marked change
 * belongs to (the arrival of the frame behind it), never after: a later
 * mark does not postpone it, an earlier one brings it forward, a moment in
 * the future counts as now. */
START_TEST(test_due_from_arrival)
{
	struct lb_device *dev = &w.devices.dev[0];
	int64_t now = loop_now_ms(), cm = w.cfg.state_commit_ms;

	ck_assert_int_eq(durable_tick(&w.durable, now), -1);
	sessions_touch_fcnt(&w.sessions, dev, now - 150);
	ck_assert_int_eq(durable_tick(&w.durable, now), now - 150 + cm);
	sessions_touch_fcnt(&w.sessions, &w.devices.dev[1], now - 100);
	sessions_touch(&w.sessions, &w.devices.dev[2]);
	ck_assert_int_eq(durable_tick(&w.durable, now), now - 150 + cm);
	sessions_touch_fcnt(&w.sessions, &w.devices.dev[1], now - 170);   /* listed already */
	ck_assert_int_eq(durable_tick(&w.durable, now), now - 170 + cm);
	ck_assert_uint_eq(w.store.stats.commits, 0);
	ck_assert_int_eq(durable_tick(&w.durable, now - 170 + cm), -1);   /* due: committed */
	ck_assert_uint_eq(w.store.stats.commits, 1);
	ck_assert_uint_eq(w.store.stats.rows_written, 3);
	now = loop_now_ms();
	sessions_touch_fcnt(&w.sessions, dev, now + 5000);
	ck_assert_int_le(durable_tick(&w.durable, now), loop_now_ms() + cm);
	ck_assert_int_ge(durable_tick(&w.durable, now), now + cm);
}
END_TEST

/* Device i counted a frame: its counter alone changed. */
static void counted(int i, uint32_t fcnt)
{
	struct lb_device *dev = &w.devices.dev[i];

	dev->has_last_fcnt = true;
	dev->last_fcnt_up = fcnt;
	sessions_touch_fcnt(&w.sessions, dev, loop_now_ms());
}

static void expect_counter(int i, uint32_t fcnt)
{
	struct store_session row;

	ck_assert_int_eq(store_get_session(&w.store, w.devices.dev[i].dev_eui, &row), LB_OK);
	ck_assert(row.has_fcnt_up_last);
	ck_assert_uint_eq(row.fcnt_up_last, fcnt);
}

START_TEST(test_counters_alone)
{
	/* New devices: whole rows first, whatever changed. */
	for (int i = 0; i < N_DEV; i++)
		counted(i, 10);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM session"), N_DEV);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM session_fcnt"), 0);
	/* Then their counters alone, read back as the devices' counters. */
	uint64_t rows = w.store.stats.rows_written;
	for (int i = 0; i < N_DEV; i++)
		counted(i, 20 + (uint32_t)i);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_uint_eq(w.store.stats.rows_written, rows + N_DEV);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM session_fcnt"), N_DEV);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT max(fcnt_up_last) FROM session"), 10);
	for (int i = 0; i < N_DEV; i++)
		expect_counter(i, 20 + (uint32_t)i);
	/* Another change of device 5: a whole row, its counters row gone. */
	w.devices.dev[5].rt.rx1_dr_offset = 2;
	w.devices.dev[5].last_fcnt_up = 99;
	sessions_touch(&w.sessions, &w.devices.dev[5]);
	counted(6, 98);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM session_fcnt"), N_DEV - 1);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT fcnt_up_last FROM session WHERE rx1_dr_offset = 2"), 99);
	expect_counter(5, 99);
	expect_counter(6, 98);

	/* A restart: restored rows are whole, but one whose keys differ from
	 * the configuration's (a stale session, not restored). */
	sessions_free(&w.sessions);
	ck_assert_int_eq(store_commit(&w.store), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "UPDATE session SET nwk_s_key = zeroblob(16) WHERE dev_addr ="
				 " 0x26010001 RETURNING 1"), 1);
	ck_assert_int_eq(sessions_init(&w.sessions, &w.devices, &w.store, &w.durable,
				       w.cfg.state_commit_ms), LB_OK);
	ck_assert_int_eq(sessions_restore(&w.sessions), LB_OK);
	counted(0, 200);
	counted(1, 201);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM session WHERE fcnt_up_last = 200"), 0);
	/* The stale row was written whole at the restore, with the session
	 * configured (the stale session's counters kept in abp_seen): its
	 * counters go alone since. */
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM session WHERE dev_addr = 0x26010001"
				 " AND nwk_s_key != zeroblob(16)"), 1);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM abp_seen"), 1);
	expect_counter(0, 200);
	expect_counter(1, 201);
	/* Purged: no counters row left behind. */
	ck_assert_int_eq(store_purge_flags(&w.store, w.devices.dev[0].dev_eui, 0), LB_OK);
	ck_assert_int_eq(store_commit(&w.store), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM session_fcnt WHERE fcnt_up_last = 200"), 0);
}
END_TEST

/* The stored row of device i, and its packed ledgers read back by
 * budget_restore_device() into a device that had none: the same bytes. */
START_TEST(test_ledger_store_round_trip)
{
	struct lb_device *dev = &w.devices.dev[9];
	int64_t now = loop_wall_us() / 1000;
	uint8_t before[FA_PACKED_MAX];
	size_t len;

	for (int k = 0; k < 5; k++)
		uplink(9, 10 + (uint32_t)k, now - (4 - k) * 3 * 3600 * 1000);   /* 5 buckets */
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	expect_stored(9);
	len = dev->rt.fa->len;
	/* 5 sums of 10,000 µs (2-byte varints); a downlink ledger never used */
	ck_assert_uint_eq(len, 2 + 8 + 5 * 3 + 2);
	memcpy(before, dev->rt.fa->blob, len);
	devices_fa_drop(&w.devices, dev);
	ck_assert_int_eq(budget_restore_device(&w.budget, dev), LB_OK);
	ck_assert_ptr_nonnull(dev->rt.fa);
	ck_assert_uint_eq(dev->rt.fa->len, len);
	ck_assert_mem_eq(dev->rt.fa->blob, before, len);
	/* A device with nothing stored has nothing in memory. */
	ck_assert_int_eq(budget_restore_device(&w.budget, &w.devices.dev[10]), LB_OK);
	ck_assert_ptr_null(w.devices.dev[10].rt.fa);
}
END_TEST

/* Deferred (start-up): nothing in memory until the device's first use,
 * which reads the stored ledger; staging a device not read yet writes its
 * stored ledger back, never an empty one over it. */
START_TEST(test_ledger_deferred_restore)
{
	struct lb_device *dev = &w.devices.dev[4];
	uint8_t before[FA_PACKED_MAX], blob[FA_PACKED_MAX];
	size_t len, got;

	uplink(4, 40, loop_wall_us() / 1000);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	len = dev->rt.fa->len;
	memcpy(before, dev->rt.fa->blob, len);

	budget_defer_restore(&w.budget, dev);
	ck_assert_ptr_null(dev->rt.fa);
	ck_assert(dev->rt.fa_unread);
	budget_touch(&w.budget, dev);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(store_ledger_get(&w.store, dev->dev_eui, STORE_LEDGER_FAIR_ACCESS, blob,
					  sizeof(blob), &got), LB_OK);
	ck_assert_uint_eq(got, len);
	ck_assert_mem_eq(blob, before, len);

	budget_defer_restore(&w.budget, dev);
	ck_assert_int_eq(budget_downlink_allowed(&w.budget, dev, 0), LB_OK);   /* first use */
	ck_assert(!dev->rt.fa_unread);
	ck_assert_ptr_nonnull(dev->rt.fa);
	ck_assert_uint_eq(dev->rt.fa->len, len);
	ck_assert_mem_eq(dev->rt.fa->blob, before, len);
	/* Never stored: read at first use, and nothing kept. */
	budget_defer_restore(&w.budget, &w.devices.dev[11]);
	ck_assert_int_eq(budget_downlink_allowed(&w.budget, &w.devices.dev[11], 0), LB_OK);
	ck_assert_ptr_null(w.devices.dev[11].rt.fa);
	ck_assert(!w.devices.dev[11].rt.fa_unread);
}
END_TEST

/* A row of version 1 (written before the packed form) is read, kept
 * packed, and written back packed at the next change: the same ledgers. */
START_TEST(test_ledger_version_1_row)
{
	struct lb_device *dev = &w.devices.dev[6];
	struct fa_device fa, back;
	uint8_t v1[FA_ENCODED_MAX], blob[FA_PACKED_MAX], a[FA_ENCODED_MAX], b[FA_ENCODED_MAX];
	size_t l1, got, la, lb;
	int64_t now = loop_wall_us() / 1000;

	ck_assert_int_eq(fa_device_init(&fa, &dev->prof->fa_policy), LB_OK);
	for (int k = 0; k < 3; k++) {
		struct fa_verdict v;
		ck_assert_int_eq(fa_uplink(&fa, &dev->prof->fa_policy, now - (2 - k) * 3600 * 1000,
					   46336, &v), LB_OK);
	}
	ck_assert_int_eq(fa_encode(&fa, v1, sizeof(v1), &l1), LB_OK);
	ck_assert_int_eq(store_ledger_put(&w.store, dev->dev_eui, STORE_LEDGER_FAIR_ACCESS, v1, l1),
			 LB_OK);
	ck_assert_int_eq(store_commit(&w.store), LB_OK);

	ck_assert_int_eq(budget_restore_device(&w.budget, dev), LB_OK);
	ck_assert_ptr_nonnull(dev->rt.fa);
	ck_assert_uint_eq(dev->rt.fa->blob[0], FA_PACKED_VERSION);
	ck_assert_uint_lt(dev->rt.fa->len, l1);
	ck_assert_int_eq(fa_decode(&back, dev->rt.fa->blob, dev->rt.fa->len), LB_OK);
	ck_assert_int_eq(fa_encode(&back, a, sizeof(a), &la), LB_OK);
	ck_assert_uint_eq(la, l1);
	ck_assert_mem_eq(a, v1, l1);
	budget_touch(&w.budget, dev);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(store_ledger_get(&w.store, dev->dev_eui, STORE_LEDGER_FAIR_ACCESS, blob,
					  sizeof(blob), &got), LB_OK);
	ck_assert_uint_eq(blob[0], FA_PACKED_VERSION);
	ck_assert_int_eq(fa_decode(&back, blob, got), LB_OK);
	ck_assert_int_eq(fa_encode(&back, b, sizeof(b), &lb), LB_OK);
	ck_assert_uint_eq(lb, l1);
	ck_assert_mem_eq(b, v1, l1);
}
END_TEST

/* The first read of a device's stored ledger fails (its table moved away
 * for a moment): the device stays unread, nothing is written over the
 * stored ledger meanwhile, and its next use reads it. */
START_TEST(test_ledger_read_error_keeps_stored)
{
	struct lb_device *dev = &w.devices.dev[4];
	uint8_t before[FA_PACKED_MAX], blob[FA_PACKED_MAX];
	int64_t now = loop_wall_us() / 1000;
	size_t len, got;

	for (int k = 0; k < 5; k++)
		uplink(4, 40 + (uint32_t)k, now - (4 - k) * 3 * 3600 * 1000);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	len = dev->rt.fa->len;
	memcpy(before, dev->rt.fa->blob, len);

	/* A restart: the store opened again, the ledger left for first use. */
	sessions_free(&w.sessions);
	budget_free(&w.budget);
	ck_assert_int_eq(store_close(&w.store), LB_OK);
	ck_assert_int_eq(store_open(&w.store, w.dir, w.cfg.state_commit_ms), LB_OK);
	durable_init(&w.durable, &w.store);
	ck_assert_int_eq(sessions_init(&w.sessions, &w.devices, &w.store, &w.durable,
				       w.cfg.state_commit_ms), LB_OK);
	struct budget_ctx bc = {
		.region = w.region, .devices = &w.devices, .store = &w.store,
		.durable = &w.durable, .pub = &w.pub, .ev = &w.ev, .stats = &w.stats,
		.commit_ms = w.cfg.state_commit_ms,
	};
	ck_assert_int_eq(budget_init(&w.budget, &bc), LB_OK);
	budget_defer_restore(&w.budget, dev);

	rawdb_exec(w.dir, "ALTER TABLE ledger RENAME TO ledger_away");
	ck_assert_int_eq(budget_downlink_allowed(&w.budget, dev, 0), LB_OK);   /* the read fails */
	ck_assert(dev->rt.fa_unread);
	ck_assert_ptr_null(dev->rt.fa);
	budget_touch(&w.budget, dev);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);                  /* left out */
	ck_assert_uint_eq(dirtyset_count(&w.budget.dirty), 0);
	rawdb_exec(w.dir, "ALTER TABLE ledger_away RENAME TO ledger");
	ck_assert_int_eq(store_ledger_get(&w.store, dev->dev_eui, STORE_LEDGER_FAIR_ACCESS, blob,
					  sizeof(blob), &got), LB_OK);
	ck_assert_uint_eq(got, len);
	ck_assert_mem_eq(blob, before, len);                                  /* not written over */

	ck_assert_int_eq(budget_downlink_allowed(&w.budget, dev, 0), LB_OK);   /* read now */
	ck_assert(!dev->rt.fa_unread);
	ck_assert_ptr_nonnull(dev->rt.fa);
	ck_assert_uint_eq(dev->rt.fa->len, len);
	ck_assert_mem_eq(dev->rt.fa->blob, before, len);
}
END_TEST

/* A list that held a burst (a whole fleet marked) is freed once staged;
 * a small one is kept for the next batch. */
START_TEST(test_dirtyset_burst_freed)
{
	struct dirtyset d;

	memset(&d, 0, sizeof(d));
	for (uint32_t i = 0; i < 5000; i++)
		ck_assert_int_eq(dirtyset_add(&d, i, 1), LB_OK);
	ck_assert_uint_ge(d.cap, 5000);
	while (dirtyset_count(&d) > 1)
		dirtyset_pop(&d);
	ck_assert_ptr_nonnull(d.idx);
	dirtyset_pop(&d);
	ck_assert_ptr_null(d.idx);
	ck_assert_uint_eq(d.cap, 0);
	ck_assert(!dirtyset_has(&d, 4999));
	ck_assert_int_eq(dirtyset_add(&d, 7, 2), LB_OK);   /* listed again as new */
	ck_assert_uint_eq(dirtyset_last(&d), 7);
	dirtyset_pop(&d);
	ck_assert_ptr_nonnull(d.idx);                       /* 64 entries: kept */
	dirtyset_free(&d);
}
END_TEST

/* An OTAA session stored with a join time before 1970 (a clock that was
 * wrong at the join) is a joined session: restored as joined, written back
 * so, and restored again after another restart (0 would mean never joined
 * and lose it). */
#define OTAA_EUI (EUI0 + 500)
#define OTAA_ADDR 0x2601f00du
static struct lb_device *restart_with_otaa(const struct lb_device_conf *c)
{
	sessions_free(&w.sessions);
	devices_free(&w.devices);
	ck_assert_int_eq(devices_init(&w.devices, c, 1), LB_OK);
	ck_assert_int_eq(sessions_init(&w.sessions, &w.devices, &w.store, &w.durable,
				       w.cfg.state_commit_ms), LB_OK);
	ck_assert_int_eq(sessions_restore(&w.sessions), LB_OK);
	return devices_find_eui(&w.devices, OTAA_EUI);
}

START_TEST(test_joined_before_1970_kept)
{
	static const uint8_t key[16] = {0x55};
	struct lb_device_conf c = world_abp(&w, "otaa", "default", OTAA_EUI, 0, key, key);
	struct store_session row = {
		.dev_eui = OTAA_EUI, .activation = LB_ACT_OTAA, .dev_addr = OTAA_ADDR,
		.has_fcnt_up_last = true, .fcnt_up_last = 7, .joined_at = -5,
	};

	c.activation = LB_ACT_OTAA;
	c.join_eui = 0x1122;
	memcpy(c.app_key, key, 16);
	memset(row.nwk_s_key, 0x66, STORE_KEY_LEN);
	memset(row.app_s_key, 0x77, STORE_KEY_LEN);
	ck_assert_int_eq(store_put_session(&w.store, &row), LB_OK);
	ck_assert_int_eq(store_commit(&w.store), LB_OK);

	struct lb_device *dev = restart_with_otaa(&c);
	ck_assert_ptr_nonnull(dev);
	ck_assert(dev->has_session);
	ck_assert_uint_eq(dev->dev_addr, OTAA_ADDR);
	ck_assert_uint_eq(dev->rt.joined_at, 1);
	dev->last_fcnt_up = 8;
	sessions_touch(&w.sessions, dev);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT joined_at FROM session WHERE dev_addr = 0x2601f00d"),
			 1);

	dev = restart_with_otaa(&c);
	ck_assert_ptr_nonnull(dev);
	ck_assert(dev->has_session);
	ck_assert_uint_eq(dev->dev_addr, OTAA_ADDR);
	ck_assert_uint_eq(dev->last_fcnt_up, 8);
	ck_assert_uint_eq(dev->rt.joined_at, 1);
}
END_TEST

static Suite *parts_suite(void)
{
	Suite *s = suite_create("parts");
	TCase *tc = tcase_create("core");

	world_fixtures(tc, "test_parts", setup, teardown);
	tcase_add_test(tc, test_many_devices_staged_once);
	tcase_add_test(tc, test_ledger_deferred);
	tcase_add_test(tc, test_due_from_arrival);
	tcase_add_test(tc, test_counters_alone);
	tcase_add_test(tc, test_ledger_store_round_trip);
	tcase_add_test(tc, test_ledger_deferred_restore);
	tcase_add_test(tc, test_ledger_version_1_row);
	tcase_add_test(tc, test_dirtyset_burst_freed);
	tcase_add_test(tc, test_ledger_read_error_keeps_stored);
	tcase_add_test(tc, test_joined_before_1970_kept);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_threshold = LOG_LVL_ERROR;
	return testutil_run(parts_suite());
}
