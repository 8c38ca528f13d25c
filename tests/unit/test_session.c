/* SPDX-License-Identifier: MIT */
/*
 * test_session.c - an ABP device's keys rotated and rolled back
 * (session.h, store_abp.h): under keys it had before, its frame counters
 * resume where they were, never below (an NFCntDown used again repeats
 * the FRMPayload keystream, an FCntUp accepted again replays an uplink:
 * TS001-1.0.4 §4.3.1.5, §4.3.3), whether the keys change by a restart
 * (sessions_restore) or by a reload (bridge_reload()'s steps:
 * devices_reload, sessions_forget, sessions_restore_new); a key set never
 * seen starts at 0. A session is its DevAddr and keys whatever DevEUI has
 * it: moved to another DevEUI (and back), swapped between two devices, or
 * purged and configured again, its counters go on. The store is a real SQLite database in a mkdtemp()
 * directory; downlink counters are reserved and used as txsched.c does
 * (fcntdown.h).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "daemon/durable.h"
#include "daemon/session.h"
#include "io/loop.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "store/store.h"
#include "tables/devices.h"
#include "tables/fcntdown.h"
#include "tables/pending.h"
#include "rawdb.h"
#include "world.h"
#include "testutil.h"

#define EUI UINT64_C(0x70b3d57ed0002001)
#define EUI_OTHER UINT64_C(0x70b3d57ed0002002)
#define ADDR 0x26012001u

static struct world w;
static unsigned digests;                 /* ABP session ids computed */

/* Linked with -Wl,--wrap=lwcrypto_abp_session_id (Makefile.am): every ABP
 * session id computed, each a SHA-256 through OpenSSL's default provider,
 * is counted. */
int __real_lwcrypto_abp_session_id(uint32_t dev_addr, const uint8_t nwk_s_key[LW_KEY_LEN],
				   const uint8_t app_s_key[LW_KEY_LEN],
				   uint8_t id[LW_SESSION_ID_LEN]);
int __wrap_lwcrypto_abp_session_id(uint32_t dev_addr, const uint8_t nwk_s_key[LW_KEY_LEN],
				   const uint8_t app_s_key[LW_KEY_LEN],
				   uint8_t id[LW_SESSION_ID_LEN]);

int __wrap_lwcrypto_abp_session_id(uint32_t dev_addr, const uint8_t nwk_s_key[LW_KEY_LEN],
				   const uint8_t app_s_key[LW_KEY_LEN],
				   uint8_t id[LW_SESSION_ID_LEN])
{
	digests++;
	return __real_lwcrypto_abp_session_id(dev_addr, nwk_s_key, app_s_key, id);
}
static uint32_t floor_next;              /* a configured fcnt_up; 0: none */
static uint64_t eui_rot = EUI;           /* the rotated device's DevEUI */
static bool swapped;                     /* the two devices' sessions swapped */
static bool rot_otaa;                    /* the rotated device configured for OTAA */

/* The device's configuration with key set k (1, 2, 3...: A, B, C...),
 * and a second device that never changes. */
static void conf_keys(struct lb_device_conf conf[2], int k)
{
	uint8_t nwk[16], app[16], nwk2[16], app2[16];

	memset(nwk, 0x10 + k, sizeof(nwk));
	memset(app, 0x40 + k, sizeof(app));
	memset(nwk2, 0x77, sizeof(nwk2));
	memset(app2, 0x78, sizeof(app2));
	if (swapped) {
		conf[0] = world_abp(&w, "rot", "default", eui_rot, ADDR + 1, nwk2, app2);
		conf[1] = world_abp(&w, "other", "default", EUI_OTHER, ADDR, nwk, app);
	} else {
		conf[0] = world_abp(&w, "rot", "default", eui_rot, ADDR, nwk, app);
		conf[1] = world_abp(&w, "other", "default", EUI_OTHER, ADDR + 1, nwk2, app2);
	}
	conf[0].has_fcnt_up = floor_next > 0;
	conf[0].fcnt_up = floor_next;
	if (rot_otaa) {
		conf[0].activation = LB_ACT_OTAA;
		conf[0].join_eui = UINT64_C(0x70b3d57ed0000000);
		memset(conf[0].app_key, 0x5a, 16);
	}
}

static void setup(void)
{
	struct lb_device_conf conf[2];

	world_base(&w, WORLD_HOLD_NONE);
	floor_next = 0;
	eui_rot = EUI;
	swapped = false;
	rot_otaa = false;
	conf_keys(conf, 1);
	world_open(&w, conf, 2, &(struct world_opts){.modules = WORLD_STORE | WORLD_SESSIONS});
}

static void teardown(void)
{
	world_close(&w);
}

static struct lb_device *dev(void)
{
	struct lb_device *d = devices_find_eui(&w.devices, eui_rot);
	ck_assert_ptr_nonnull(d);
	return d;
}

/* Uplinks accepted up to FCnt last (as uplink.c commits them). */
static void uplinks_to(uint32_t last)
{
	struct lb_device *d = dev();

	d->has_last_fcnt = true;
	d->last_fcnt_up = last;
	sessions_touch_fcnt(&w.sessions, d, loop_now_ms());
}

/* n downlinks, each counter reserved first and sent only below a
 * durable ceiling (fcntdown.h); returns the first counter used and sets
 * *last to the last. */
static uint32_t downlinks(unsigned n, uint32_t *last)
{
	uint32_t first = 0;

	for (unsigned i = 0; i < n; i++) {
		struct lb_device *d = dev();
		unsigned f = fcntdown_reserve(&d->rt.fcnt_down, durable_batch(&w.durable),
					      durable_synced_below(&w.durable));
		ck_assert(!(f & FCNTDOWN_EXHAUSTED));
		if (f & FCNTDOWN_STAGE)
			ck_assert_int_eq(sessions_stage(&w.sessions, d), LB_OK);
		if (f & FCNTDOWN_COMMIT) {
			ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
			f = fcntdown_reserve(&d->rt.fcnt_down, durable_batch(&w.durable),
					     durable_synced_below(&w.durable));
			ck_assert(!(f & FCNTDOWN_COMMIT));   /* now durable */
		}
		if (i == 0)
			first = d->rt.fcnt_down.next;
		*last = d->rt.fcnt_down.next;
		fcntdown_used(&d->rt.fcnt_down);
	}
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	return first;
}

/* A restart with key set k: what is staged committed, the store closed
 * and opened again, the device table built afresh from the configuration
 * and the stored sessions restored. */
static void restart_conf(const struct lb_device_conf *conf, size_t n)
{
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	sessions_free(&w.sessions);
	ck_assert_int_eq(store_close(&w.store), LB_OK);
	ck_assert_int_eq(store_open(&w.store, w.dir, w.cfg.state_commit_ms), LB_OK);
	durable_init(&w.durable, &w.store);
	devices_free(&w.devices);
	ck_assert_int_eq(devices_init(&w.devices, conf, n), LB_OK);
	ck_assert_int_eq(sessions_init(&w.sessions, &w.devices, &w.store, &w.durable,
				       w.cfg.state_commit_ms), LB_OK);
	ck_assert_int_eq(sessions_restore(&w.sessions), LB_OK);
}

static void restart(int k)
{
	struct lb_device_conf conf[2];

	conf_keys(conf, k);
	restart_conf(conf, 2);
}

/* A SIGHUP with key set k, as bridge_reload() takes it; want: what
 * sessions_restore_new() returns. */
static void reload_conf(const struct lb_device_conf *conf, size_t n, int want)
{
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(devices_reload(&w.devices, conf, n), LB_OK);
	sessions_forget(&w.sessions);
	ck_assert_int_eq(sessions_restore_new(&w.sessions), want);
}

static void reload_rc(int k, int want)
{
	struct lb_device_conf conf[2];

	conf_keys(conf, k);
	reload_conf(conf, 2, want);
}

static void reload(int k)
{
	reload_rc(k, LB_OK);
}

typedef void (*change_fn)(int k);

/* Use keys A, then B, then A again: A's counters go on above where they
 * were (FCntUp floor at A's last accepted, NFCntDown at or above A's
 * ceiling, so above every counter A used), B's resume as well, and the
 * stored rows say so after each commit. */
static void rollback(change_fn change)
{
	uint32_t last_a, last_b, last;

	uplinks_to(50);
	(void)downlinks(70, &last_a);
	ck_assert_uint_eq(last_a, 69);
	uint32_t ceiling_a = dev()->rt.fcnt_down.ceiling;
	ck_assert_uint_gt(ceiling_a, last_a);

	change(2);                                   /* A -> B: a new session */
	ck_assert(!dev()->has_last_fcnt);
	ck_assert_uint_eq(dev()->rt.fcnt_down.next, 0);
	uplinks_to(9);
	ck_assert_uint_eq(downlinks(5, &last_b), 0);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);

	change(1);                                   /* B -> A: A resumes */
	ck_assert(dev()->has_last_fcnt);
	ck_assert_uint_eq(dev()->last_fcnt_up, 50);
	ck_assert_uint_ge(dev()->rt.fcnt_down.next, ceiling_a);
	uint32_t first = downlinks(3, &last);
	ck_assert_uint_gt(first, last_a);
	ck_assert_uint_ge(first, ceiling_a);
	/* The stored row is A's, with its counters (read as the daemon does). */
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	struct store_session row;
	ck_assert_int_eq(store_get_session(&w.store, EUI, &row), LB_OK);
	ck_assert_uint_eq(row.fcnt_up_last, 50);
	ck_assert_uint_gt(row.nfcnt_down, last);

	change(2);                                   /* A -> B again: B resumes too */
	ck_assert_uint_eq(dev()->last_fcnt_up, 9);
	ck_assert_uint_gt(downlinks(1, &last), last_b);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM abp_seen"), 2);   /* A and B */
	/* The other device was never touched. */
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM abp_seen WHERE dev_eui ="
					  " 0x70b3d57ed0002002"), 0);
}

START_TEST(test_rollback_by_restart)
{
	rollback(restart);
}
END_TEST

START_TEST(test_rollback_by_reload)
{
	rollback(reload);
}
END_TEST

/* A -> B -> C -> A, by reloads and restarts mixed, with a configured
 * fcnt_up floor: the higher of the floor and what A had wins. */
START_TEST(test_rollback_after_two_rotations)
{
	uint32_t last_a, last;

	uplinks_to(1000);
	(void)downlinks(200, &last_a);
	reload(2);
	uplinks_to(3);
	(void)downlinks(2, &last);
	restart(3);
	ck_assert(!dev()->has_last_fcnt);
	ck_assert_uint_eq(dev()->rt.fcnt_down.next, 0);
	uplinks_to(4);
	(void)downlinks(1, &last);
	floor_next = 500;                        /* below what A had: A's wins */
	reload(1);
	ck_assert_uint_eq(dev()->last_fcnt_up, 1000);
	ck_assert_uint_gt(downlinks(1, &last), last_a);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM abp_seen"), 3);
	/* Restarted on A: the stored row is A's own, restored as it is. */
	restart(1);
	ck_assert_uint_eq(dev()->last_fcnt_up, 1000);
	ck_assert_uint_gt(downlinks(1, &last), last_a);
	/* To C and back with a floor above what A had: the floor wins. */
	restart(3);
	ck_assert_uint_eq(dev()->last_fcnt_up, 499);   /* the floor applies to C too */
	floor_next = 2001;
	restart(1);
	ck_assert_uint_eq(dev()->last_fcnt_up, 2000);
	ck_assert_uint_gt(downlinks(1, &last), last_a);
}
END_TEST

/* A key set never seen starts at 0, as before (and a configured floor
 * still applies to it). */
START_TEST(test_new_keys_start_at_zero)
{
	uint32_t last;

	uplinks_to(300);
	(void)downlinks(10, &last);
	restart(4);
	ck_assert(!dev()->has_last_fcnt);
	ck_assert_uint_eq(dev()->rt.fcnt_down.next, 0);
	ck_assert_uint_eq(downlinks(1, &last), 0);
	reload(5);
	ck_assert(!dev()->has_last_fcnt);
	ck_assert_uint_eq(downlinks(1, &last), 0);
	/* Purged with its counters forgotten (--purge --forget-counters): A
	 * starts afresh. */
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(store_purge_flags(&w.store, EUI, STORE_PURGE_FORGET_SEEN), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM abp_seen"), 0);
	restart(1);
	ck_assert(!dev()->has_last_fcnt);
	ck_assert_uint_eq(dev()->rt.fcnt_down.next, 0);
}
END_TEST

/* A start with no session seen before (abp_seen empty, a site whose keys
 * never changed) computes no ABP session id: the idle bridge does not load
 * OpenSSL's default provider (README "Memory and start-up"). Once a session
 * was left, every ABP device's id is looked up at the start, as before. */
START_TEST(test_restart_unseen_digests_nothing)
{
	uplinks_to(20);
	digests = 0;
	restart(1);
	ck_assert_uint_eq(digests, 0);
	ck_assert_uint_eq(dev()->last_fcnt_up, 20);

	restart(2);                                  /* A left: kept in abp_seen */
	ck_assert_uint_gt(digests, 0);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM abp_seen"), 1);
	digests = 0;
	restart(2);
	ck_assert_uint_eq(digests, 2);               /* both devices looked up */
	restart(1);                                  /* and A found again */
	ck_assert_uint_eq(dev()->last_fcnt_up, 20);
}
END_TEST

/* A joined OTAA session whose keys are then configured as the device's
 * ABP session (a migration from OTAA to ABP): the same DevAddr and keys,
 * so its counters go on, not from 0. */
START_TEST(test_otaa_session_kept_as_abp)
{
	uint32_t last;

	uplinks_to(77);
	(void)downlinks(5, &last);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	/* The stored row made an OTAA one, as a join would have left it. */
	rawdb_exec(w.dir, "UPDATE session SET activation = 1, joined_at = 1700000000");
	restart(1);
	ck_assert(dev()->has_last_fcnt);
	ck_assert_uint_eq(dev()->last_fcnt_up, 77);
	ck_assert_uint_gt(downlinks(1, &last), 4);
}
END_TEST

/* The same ABP session (DevAddr, keys) configured under another DevEUI
 * (a typo in the DevEUI fixed, the entry moved): the old DevEUI's row is
 * left behind (no longer configured), and its counters go on under the new
 * one, not from 0. */
static void moved(change_fn change)
{
	uint32_t last_a, last;

	uplinks_to(50);
	(void)downlinks(70, &last_a);
	eui_rot = UINT64_C(0x70b3d57ed0002003);
	change(1);
	ck_assert_msg(dev()->has_last_fcnt && dev()->last_fcnt_up >= 50,
		      "FCntUp restarts below 50 under the same keys: replays accepted");
	ck_assert_msg(downlinks(1, &last) > last_a, "NFCntDown %u reused under the same keys",
		      last);
	/* The new DevEUI's row holds them now. */
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT coalesce(c.fcnt_up_last, s.fcnt_up_last) FROM"
				      " session s LEFT JOIN session_fcnt c USING (dev_eui)"
				      " WHERE s.dev_eui = 0x70b3d57ed0002003"), 50);
}

START_TEST(test_session_moved_by_restart)
{
	moved(restart);
}
END_TEST

START_TEST(test_session_moved_by_reload)
{
	moved(reload);
}
END_TEST

/* Moved to another DevEUI, used there, rotated there; then configured
 * again under the first DevEUI, whose own row still holds it with the old
 * counters: it goes on above those the other DevEUI left (abp_seen read by
 * session, not by device). */
START_TEST(test_session_moved_back)
{
	uint32_t last_x, last;

	uplinks_to(50);
	(void)downlinks(70, &last);
	eui_rot = UINT64_C(0x70b3d57ed0002003);
	restart(1);
	uplinks_to(80);
	(void)downlinks(300, &last_x);
	reload(2);                            /* the second DevEUI leaves A */
	eui_rot = EUI;
	restart(1);                           /* A under the first again */
	ck_assert_uint_eq(dev()->last_fcnt_up, 80);
	ck_assert_uint_gt(downlinks(1, &last), last_x);
}
END_TEST

/* Two devices' sessions swapped (their entries' DevEUIs exchanged): each
 * goes on above the counters the other DevEUI's row held, whichever row is
 * read first. */
static void swap(change_fn change)
{
	uint32_t last_a;
	struct lb_device *o = devices_find_eui(&w.devices, EUI_OTHER);

	uplinks_to(50);
	(void)downlinks(70, &last_a);
	o->has_last_fcnt = true;
	o->last_fcnt_up = 20;
	sessions_touch(&w.sessions, o);
	swapped = true;
	change(1);
	o = devices_find_eui(&w.devices, EUI_OTHER);
	ck_assert(o->has_last_fcnt);
	ck_assert_uint_eq(o->last_fcnt_up, 50);
	ck_assert_uint_ge(o->rt.fcnt_down.next, last_a + 1);
	ck_assert(dev()->has_last_fcnt);
	ck_assert_uint_eq(dev()->last_fcnt_up, 20);
}

START_TEST(test_sessions_swapped_by_restart)
{
	swap(restart);
}
END_TEST

START_TEST(test_sessions_swapped_by_reload)
{
	swap(reload);
}
END_TEST

/* `lorabridge --purge` (main.c: sessions_keep_purged(), store_purge_flags()):
 * the device's state goes, its keys' counters stay; its keys configured
 * again, under its DevEUI or another, go on above them. */
START_TEST(test_purge_keeps_counters)
{
	uint32_t last_a, last;

	uplinks_to(50);
	(void)downlinks(70, &last_a);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(sessions_keep_purged(&w.store, EUI), LB_OK);
	ck_assert_int_eq(store_purge_flags(&w.store, EUI, 0), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM session WHERE dev_eui ="
					  " 0x70b3d57ed0002001"), 0);
	restart(1);
	ck_assert_uint_eq(dev()->last_fcnt_up, 50);
	ck_assert_uint_gt(downlinks(1, &last), last_a);
	/* Purged again, then under another DevEUI. */
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(sessions_keep_purged(&w.store, EUI), LB_OK);
	ck_assert_int_eq(store_purge_flags(&w.store, EUI, 0), LB_OK);
	eui_rot = UINT64_C(0x70b3d57ed0002003);
	reload(1);
	ck_assert_uint_eq(dev()->last_fcnt_up, 50);
	ck_assert_uint_gt(downlinks(1, &last), last_a);
	/* Nothing stored: nothing to keep. */
	ck_assert_int_eq(sessions_keep_purged(&w.store, UINT64_C(0x70b3d57ed000ffff)), LB_OK);
}
END_TEST

/* A reload A -> B whose state directory fails: B's counters cannot be
 * checked, nor A's kept. The device is not served (served from B's
 * configured counters, it could reuse those of a B it had before, and its
 * row would replace A's before A's counters are kept); nothing it does
 * writes its row; the next reload takes it in afresh, and once the store
 * works A's counters are there to resume. */
START_TEST(test_reload_store_error_fails_closed)
{
	struct lb_device_conf conf[2];
	struct store_session row;
	uint32_t last_a, last;

	uplinks_to(50);
	(void)downlinks(70, &last_a);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	rawdb_exec(w.dir, "ALTER TABLE abp_seen RENAME TO abp_seen_x");
	conf_keys(conf, 2);
	ck_assert_int_eq(devices_reload(&w.devices, conf, 2), LB_OK);
	sessions_forget(&w.sessions);
	ck_assert_int_ne(sessions_restore_new(&w.sessions), LB_OK);   /* bridge_reload() logs it */
	ck_assert(!dev()->has_session);
	struct lw_keys *ks;
	ck_assert_int_eq(devices_keys(&w.devices, dev(), &ks), LB_ERR_STATE);
	sessions_touch(&w.sessions, dev());   /* e.g. a reload's restage */
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(store_get_session(&w.store, eui_rot, &row), LB_OK);
	ck_assert_uint_eq(row.fcnt_up_last, 50);    /* still A's row */
	/* the same keys again, the store still failing: not served either */
	reload_rc(2, LB_ERR_IO);
	ck_assert(!dev()->has_session);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	rawdb_exec(w.dir, "ALTER TABLE abp_seen_x RENAME TO abp_seen");
	reload(2);                        /* the store works: B is taken */
	ck_assert(dev()->has_session);
	ck_assert(!dev()->has_last_fcnt);
	uplinks_to(3);
	(void)downlinks(1, &last);
	restart(1);                       /* back to A */
	ck_assert(dev()->has_last_fcnt);
	ck_assert_uint_eq(dev()->last_fcnt_up, 50);
	ck_assert_uint_gt(downlinks(1, &last), last_a);
}
END_TEST

/* A start where every device of a large fleet has other ABP keys: each
 * device's old counters and new row do not fit one redo log (STORE_LOG_MAX,
 * about 95,000 devices' worth): the batch is committed ahead, every device
 * is served and every old session's counters kept. About 8 s with the
 * sanitizers. */
#define FLEET 100000
static struct lb_device_conf *fleet;

static void fleet_conf(int k)
{
	static char names[FLEET][12];
	uint8_t nwk[16], app[16];

	memset(nwk, 0x10 + k, sizeof(nwk));
	memset(app, 0x40 + k, sizeof(app));
	for (int i = 0; i < FLEET; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d", i);
		nwk[0] = (uint8_t)i;
		nwk[1] = (uint8_t)(i >> 8);
		nwk[2] = (uint8_t)(i >> 16);
		fleet[i] = world_abp(&w, names[i], "default", UINT64_C(0x70b3d57e00000000) + (uint64_t)i,
				     0x26000000u + (uint32_t)i, nwk, app);
	}
}

START_TEST(test_fleet_keys_changed_at_start)
{
	world_close(&w);
	fleet = calloc(FLEET, sizeof(*fleet));
	ck_assert_ptr_nonnull(fleet);
	world_base(&w, WORLD_HOLD_NONE);
	fleet_conf(1);
	world_open(&w, fleet, FLEET, &(struct world_opts){.modules = WORLD_STORE | WORLD_SESSIONS});
	for (int i = 0; i < FLEET; i++) {
		w.devices.dev[i].has_last_fcnt = true;
		w.devices.dev[i].last_fcnt_up = 7;
		sessions_touch(&w.sessions, &w.devices.dev[i]);
	}
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	sessions_free(&w.sessions);
	ck_assert_int_eq(store_close(&w.store), LB_OK);
	ck_assert_int_eq(store_open(&w.store, w.dir, w.cfg.state_commit_ms), LB_OK);
	durable_init(&w.durable, &w.store);
	devices_free(&w.devices);
	fleet_conf(2);
	ck_assert_int_eq(devices_init(&w.devices, fleet, FLEET), LB_OK);
	ck_assert_int_eq(sessions_init(&w.sessions, &w.devices, &w.store, &w.durable,
				       w.cfg.state_commit_ms), LB_OK);
	ck_assert_int_eq(store_read_many(&w.store), LB_OK);
	ck_assert_int_eq(sessions_restore(&w.sessions), LB_OK);
	for (int i = 0; i < FLEET; i++)
		ck_assert(w.devices.dev[i].has_session && !w.devices.dev[i].has_last_fcnt);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM abp_seen WHERE fcnt_up_last = 7"),
			 FLEET);
	sessions_free(&w.sessions);
	ck_assert_int_eq(store_close(&w.store), LB_OK);
	ck_assert_int_eq(store_open(&w.store, w.dir, w.cfg.state_commit_ms), LB_OK);
	durable_init(&w.durable, &w.store);
	devices_free(&w.devices);
	ck_assert_int_eq(devices_init(&w.devices, fleet, FLEET), LB_OK);
	ck_assert_int_eq(sessions_init(&w.sessions, &w.devices, &w.store, &w.durable,
				       w.cfg.state_commit_ms), LB_OK);
	/* Started again: restored as they are (abp_seen's sessions are not
	 * theirs: a digest each and a look-up in memory, no read per device). */
	ck_assert_int_eq(sessions_restore(&w.sessions), LB_OK);
	for (int i = 0; i < FLEET; i++)
		ck_assert(w.devices.dev[i].has_session && !w.devices.dev[i].has_last_fcnt);
	free(fleet);
}
END_TEST

/* A pending session (a rejoin's, kept in `pending_session`) whose DevAddr
 * and keys the device was then served under as ABP (a reload to ABP with
 * the session the device has, then back to OTAA, or a restart so): that
 * session's counters moved on as ABP and were kept among the sessions
 * left (abp_seen). Its pending row read back must not take the device back
 * to FCntUp 0 and the row's NFCntDown ceiling: an uplink replayed from the
 * ABP time would be accepted and the downlink counters used again. */
START_TEST(test_pending_row_served_as_abp)
{
	uint32_t last_a;
	uint8_t nwk[16], app[16];

	uplinks_to(500);
	(void)downlinks(70, &last_a);
	uint32_t ceiling_a = dev()->rt.fcnt_down.ceiling;
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	/* The pending row the device's rejoin left before it was made ABP
	 * with that session's DevAddr and keys (set aside, kept). */
	rawdb_exec(w.dir, "INSERT INTO pending_session SELECT *, NULL, NULL FROM session"
			  " WHERE dev_eui = 0x70b3d57ed0002001;"
			  " UPDATE pending_session SET activation = 1, joined_at = 1700000000,"
			  " fcnt_up_last = NULL, nfcnt_down = 16;");
	/* Restarted with the device configured for OTAA again. */
	rot_otaa = true;
	restart(1);
	/* An uplink of the ABP time (FCnt 10) replayed under those keys. */
	memset(nwk, 0x11, sizeof(nwk));
	memset(app, 0x41, sizeof(app));
	struct lw_keys ks;
	struct lw_frame f;
	uint8_t phy[LW_MAX_PHY];
	size_t len;
	struct lw_data_params d = {.mtype = LW_MTYPE_UNCONFIRMED_UP, .dev_addr = ADDR, .fcnt = 10,
				   .has_fport = true, .fport = 1,
				   .payload = (const uint8_t *)"hi", .payload_len = 2};
	memset(&ks, 0, sizeof(ks));
	ck_assert_int_eq(lwcrypto_keys_init(&ks, nwk, app), LB_OK);
	ck_assert_int_eq(lorawan_build_data(&d, &ks, phy, sizeof(phy), &len), LB_OK);
	lwcrypto_keys_free(&ks);
	ck_assert_int_eq(lorawan_parse(phy, len, &f), LB_OK);
	if (sessions_promote(&w.sessions, &f) == LB_OK) {
		/* Taken: then above the counters the session had as ABP. */
		ck_assert(dev()->has_last_fcnt);
		ck_assert_uint_ge(dev()->last_fcnt_up, 500);
		ck_assert_uint_ge(dev()->rt.fcnt_down.next, ceiling_a);
	}
}
END_TEST

/* A pending row (a rejoin's session, `pending_session`) of DevEUI eui
 * with key set k at ADDR, its NFCntDown ceiling down, an FCntUp up if
 * has_up, committed as otaa.c stores it. */
static void put_pending(uint64_t eui, int k, uint32_t down, bool has_up, uint32_t up)
{
	struct store_pending p;
	struct store_session *row = &p.row;

	memset(&p, 0, sizeof(p));
	row->dev_eui = eui;
	row->activation = LB_ACT_OTAA;
	row->dev_addr = ADDR;
	memset(row->nwk_s_key, 0x10 + k, sizeof(row->nwk_s_key));
	memset(row->app_s_key, 0x40 + k, sizeof(row->app_s_key));
	row->has_fcnt_up_last = has_up;
	row->fcnt_up_last = up;
	row->nfcnt_down = down;
	row->has_join_nonce_last = true;
	row->join_nonce_last = 7;
	row->has_dev_nonce_last = true;
	row->dev_nonce_last = 9;
	row->joined_at = 1700000000;
	ck_assert_int_eq(store_put_pending(&w.store, &p), LB_OK);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
}

/* The device configured (change) with the ABP keys of a stored pending
 * row of DevEUI eui (its own, or another's): a promotion of that session
 * that a crash lost may have sent downlinks up to the row's ceiling, so
 * the device's NFCntDown resumes there (as the pending session read back
 * would: fcntdown_load()), and its FCntUp above the row's, never from 0;
 * staged, so they hold once the pending row is gone. */
static void pending_counts(change_fn change, uint64_t eui, bool has_up)
{
	uint32_t last;

	uplinks_to(5);
	(void)downlinks(3, &last);
	put_pending(eui, 2, 640, has_up, 30);
	change(2);
	ck_assert_msg(dev()->rt.fcnt_down.next >= 640,
		      "NFCntDown resumes at %u, below the pending row's ceiling 640: reused",
		      dev()->rt.fcnt_down.next);
	ck_assert_uint_ge(downlinks(1, &last), 640);
	if (has_up) {
		ck_assert(dev()->has_last_fcnt);
		ck_assert_uint_ge(dev()->last_fcnt_up, 30);
	} else {
		ck_assert(!dev()->has_last_fcnt);
	}
	ck_assert_int_eq(store_delete_pending(&w.store, eui), LB_OK);
	restart(2);
	ck_assert_uint_gt(downlinks(1, &last), 640);
	ck_assert(dev()->has_last_fcnt == has_up);
}

START_TEST(test_pending_row_counts_own_by_restart)
{
	pending_counts(restart, EUI, false);
}
END_TEST

START_TEST(test_pending_row_counts_own_by_reload)
{
	pending_counts(reload, EUI, true);
}
END_TEST

START_TEST(test_pending_row_counts_other_by_restart)
{
	pending_counts(restart, UINT64_C(0x70b3d57ed0002009), true);
}
END_TEST

START_TEST(test_pending_row_counts_other_by_reload)
{
	pending_counts(reload, UINT64_C(0x70b3d57ed0002009), false);
}
END_TEST

/* `lorabridge --purge` of a device with a pending row: that session's
 * counters are kept too (sessions_keep_purged()), so its keys configured
 * again as ABP go on above them; --forget-counters forgets them. */
START_TEST(test_purge_keeps_pending_counters)
{
	uint32_t last;

	put_pending(EUI, 2, 640, true, 30);
	ck_assert_int_eq(sessions_keep_purged(&w.store, EUI), LB_OK);
	ck_assert_int_eq(store_purge_flags(&w.store, EUI, 0), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM pending_session"), 0);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM abp_seen WHERE nfcnt_down = 640"), 1);
	restart(2);
	ck_assert_msg(dev()->rt.fcnt_down.next >= 640,
		      "NFCntDown resumes at %u after the purge, below the pending row's 640",
		      dev()->rt.fcnt_down.next);
	ck_assert_uint_eq(dev()->last_fcnt_up, 30);
	ck_assert_uint_ge(downlinks(1, &last), 640);
	/* With --forget-counters: forgotten, the keys start afresh. */
	restart(1);
	put_pending(EUI, 3, 640, true, 30);
	ck_assert_int_eq(store_purge_flags(&w.store, EUI, STORE_PURGE_FORGET_SEEN), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM abp_seen"), 0);
	restart(3);
	ck_assert(!dev()->has_last_fcnt);
	ck_assert_uint_eq(dev()->rt.fcnt_down.next, 0);
}
END_TEST

/* The other DevEUI configured for OTAA (the device of a rejoin), and the
 * rotated one for ABP with key set k, or not configured (k 0); the count. */
static size_t conf_beside_otaa(struct lb_device_conf conf[2], int k)
{
	conf_keys(conf, k ? k : 1);
	conf[1].activation = LB_ACT_OTAA;
	conf[1].join_eui = UINT64_C(0x70b3d57ed0000000);
	memset(conf[1].app_key, 0x5a, 16);
	if (k)
		return 2;
	conf[0] = conf[1];
	return 1;
}

typedef void (*conf_fn)(const struct lb_device_conf *conf, size_t n);

static void reload_ok(const struct lb_device_conf *conf, size_t n)
{
	reload_conf(conf, n, LB_OK);
}

/* Whether a data uplink at ADDR with key set k and this FCnt is taken by
 * a pending session (sessions_promote()). */
static bool promotes(int k, uint32_t fcnt)
{
	uint8_t nwk[16], app[16], phy[LW_MAX_PHY];
	struct lw_keys ks;
	struct lw_frame f;
	size_t len;
	struct lw_data_params d = {.mtype = LW_MTYPE_UNCONFIRMED_UP, .dev_addr = ADDR,
				   .fcnt = fcnt, .has_fport = true, .fport = 1,
				   .payload = (const uint8_t *)"hi", .payload_len = 2};

	memset(nwk, 0x10 + k, sizeof(nwk));
	memset(app, 0x40 + k, sizeof(app));
	memset(&ks, 0, sizeof(ks));
	ck_assert_int_eq(lwcrypto_keys_init(&ks, nwk, app), LB_OK);
	ck_assert_int_eq(lorawan_build_data(&d, &ks, phy, sizeof(phy), &len), LB_OK);
	lwcrypto_keys_free(&ks);
	ck_assert_int_eq(lorawan_parse(phy, len, &f), LB_OK);
	return sessions_promote(&w.sessions, &f) == LB_OK;
}

/*
 * A contrived key reuse: an OTAA device's pending session (a rejoin's,
 * held for it) whose DevAddr and keys another DevEUI is then configured
 * with as ABP (take). That device uses the session's counters (up to
 * FCntUp 500, 70 downlinks), then leaves it (leave: removed from the
 * configuration, leave_k 0, or given key set leave_k). The pending
 * session must never be taken after that with the join's counters (FCntUp
 * from 0, NFCntDown from its ceiling): an uplink of the ABP time would be
 * accepted again and downlink counters used again under the same keys
 * (TS001-1.0.4 §4.3.1.5, §4.3.3). The OTAA device joins again instead.
 */
static void pending_served_as_abp(conf_fn take, conf_fn leave, int leave_k)
{
	struct lb_device_conf conf[2];
	uint32_t last;
	size_t n;

	put_pending(EUI_OTHER, 2, 64, false, 0);
	n = conf_beside_otaa(conf, 1);
	restart_conf(conf, n);
	ck_assert_ptr_nonnull(pending_find_eui(&w.sessions.pending, EUI_OTHER));
	n = conf_beside_otaa(conf, 2);                /* the pending session's keys */
	take(conf, n);
	ck_assert_uint_ge(dev()->rt.fcnt_down.next, 64);
	uplinks_to(500);
	(void)downlinks(70, &last);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	n = conf_beside_otaa(conf, leave_k);
	leave(conf, n);
	ck_assert_msg(!promotes(2, 10),
		      "the pending session was taken after its keys served as ABP: FCntUp 10 "
		      "accepted again, NFCntDown restarts below %u", last);
	/* nor after a restart */
	restart_conf(conf, n);
	ck_assert_ptr_null(pending_find_eui(&w.sessions.pending, EUI_OTHER));
	ck_assert(!promotes(2, 11));
}

START_TEST(test_pending_served_as_abp_removed_by_reload)
{
	pending_served_as_abp(reload_ok, reload_ok, 0);
}
END_TEST

START_TEST(test_pending_served_as_abp_removed_by_restart)
{
	pending_served_as_abp(restart_conf, restart_conf, 0);
}
END_TEST

START_TEST(test_pending_served_as_abp_rekeyed_by_reload)
{
	pending_served_as_abp(reload_ok, reload_ok, 3);
}
END_TEST

START_TEST(test_pending_served_as_abp_rekeyed_by_restart)
{
	pending_served_as_abp(restart_conf, restart_conf, 3);
}
END_TEST

START_TEST(test_pending_served_as_abp_mixed)
{
	pending_served_as_abp(reload_ok, restart_conf, 0);
}
END_TEST

/* An installation upgraded from before void_pending(): an ABP device E
 * (EUI) served the pending session's DevAddr and keys (its row raised
 * above the pending row's and moved on: FCntUp 500, NFCntDown 200), and
 * was removed from the configuration before the upgrade, so abp_seen does
 * not hold the session. The first start of the new code must not take the
 * pending session either: E's row in `session` says its keys served. */
START_TEST(test_pending_abp_row_left_before_upgrade)
{
	struct lb_device_conf conf[2];
	struct store_session e;
	size_t n;

	put_pending(EUI_OTHER, 2, 64, false, 0);
	memset(&e, 0, sizeof(e));
	e.dev_eui = EUI;
	e.activation = LB_ACT_ABP;
	e.dev_addr = ADDR;
	memset(e.nwk_s_key, 0x10 + 2, sizeof(e.nwk_s_key));
	memset(e.app_s_key, 0x40 + 2, sizeof(e.app_s_key));
	e.has_fcnt_up_last = true;
	e.fcnt_up_last = 500;
	e.nfcnt_down = 200;
	e.rx_delay = 1;
	ck_assert_int_eq(store_put_session(&w.store, &e), LB_OK);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM abp_seen"), 0);
	n = conf_beside_otaa(conf, 0);                /* E not configured */
	restart_conf(conf, n);
	ck_assert_msg(!promotes(2, 10),
		      "the pending session was taken although E's stored ABP row served its "
		      "keys up to FCntUp 500, NFCntDown 200: FCntUp 10 accepted again");
}
END_TEST

/* Lines logged (stderr) from now on go to a file; returns its fd. */
static int capture_stderr(int *saved)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/stderr.log", w.dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	*saved = dup(STDERR_FILENO);
	ck_assert_int_ge(*saved, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	return fd;
}

/* stderr back; what was captured in fd. */
static const char *captured(int fd, int saved)
{
	static char buf[8192];

	fflush(stderr);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	ssize_t len = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	ck_assert_int_ge(len, 0);
	buf[len] = '\0';
	return buf;
}

/* Stored pending rows that cannot be held at a start (here two devices'
 * rows with one DevAddr: the table holds a DevAddr once) are said one by
 * one and counted in a line of their own, beside those restored. */
START_TEST(test_pending_rows_not_held_logged)
{
	struct lb_device_conf conf[2];
	int saved;

	uplinks_to(5);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	rawdb_exec(w.dir, "INSERT INTO pending_session SELECT *, NULL, NULL FROM session"
			  " WHERE dev_eui = 0x70b3d57ed0002001;"
			  " UPDATE pending_session SET activation = 1, joined_at = 1700000000,"
			  " dev_addr = 0x26015555, fcnt_up_last = NULL, nfcnt_down = 16;"
			  " CREATE TEMP TABLE other AS SELECT * FROM pending_session;"
			  " UPDATE other SET dev_eui = 0x70b3d57ed0002002;"
			  " INSERT INTO pending_session SELECT * FROM other;");
	/* Restarted with both devices configured for OTAA. */
	sessions_free(&w.sessions);
	ck_assert_int_eq(store_close(&w.store), LB_OK);
	ck_assert_int_eq(store_open(&w.store, w.dir, w.cfg.state_commit_ms), LB_OK);
	durable_init(&w.durable, &w.store);
	devices_free(&w.devices);
	conf_keys(conf, 1);
	for (int i = 0; i < 2; i++) {
		conf[i].activation = LB_ACT_OTAA;
		conf[i].join_eui = UINT64_C(0x70b3d57ed0000000);
		memset(conf[i].app_key, 0x5a + i, 16);
	}
	ck_assert_int_eq(devices_init(&w.devices, conf, 2), LB_OK);
	ck_assert_int_eq(sessions_init(&w.sessions, &w.devices, &w.store, &w.durable,
				       w.cfg.state_commit_ms), LB_OK);
	int fd = capture_stderr(&saved);
	ck_assert_int_eq(sessions_restore(&w.sessions), LB_OK);
	ck_assert_uint_eq(pending_count(&w.sessions.pending), 1);
	const char *log = captured(fd, saved);
	ck_assert_ptr_nonnull(strstr(log, "stored pending session not restored (duplicate"));
	ck_assert_msg(strstr(log, "[session] 1 stored pending session(s) could not be held (see "
			     "above): those devices keep their current session"),
		      "the start's log does not count the pending row not held:\n%s", log);
}
END_TEST

/* What configured_as_abp() decides at a start: another DevEUI's stored
 * pending row whose DevAddr and keys (key set 2 at ADDR) an ABP device is
 * configured with is not held, said as such for the OTAA device, before
 * void_pending() would drop it (its line does not come). The same keys at
 * another DevAddr are another session: the row is held, nothing said. */
static const char *start_beside_pending(uint32_t abp_addr)
{
	struct lb_device_conf conf[2];
	enum log_level threshold = log_threshold;
	int saved;

	size_t n = conf_beside_otaa(conf, 2);
	conf[0].dev_addr = abp_addr;
	log_threshold = LOG_LVL_WARN;
	int fd = capture_stderr(&saved);
	restart_conf(conf, n);
	log_threshold = threshold;
	return captured(fd, saved);
}

START_TEST(test_pending_row_configured_as_abp)
{
	put_pending(EUI_OTHER, 2, 64, false, 0);
	const char *log = start_beside_pending(ADDR + 2);
	ck_assert_ptr_nonnull(pending_find_eui(&w.sessions.pending, EUI_OTHER));
	ck_assert_msg(!strstr(log, "pending session"), "a pending line at a start:\n%s", log);

	log = start_beside_pending(ADDR);
	ck_assert_ptr_null(pending_find_eui(&w.sessions.pending, EUI_OTHER));
	ck_assert_msg(strstr(log, "[session] device other: stored pending session not taken: its "
			     "DevAddr and keys are configured as the ABP session of device rot; "
			     "the device must join again"),
		      "the start does not say why the pending row is not taken:\n%s", log);
	ck_assert_msg(!strstr(log, "pending session dropped"),
		      "the pending row was held, then dropped:\n%s", log);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM pending_session"), 1);
}
END_TEST

/* The same for an OTAA device's stored pending row: with no session seen
 * before, it is held without an id computed (served_as_abp()). */
START_TEST(test_pending_unseen_digests_nothing)
{
	rot_otaa = true;
	restart(1);
	put_pending(EUI, 9, 32, false, 0);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM abp_seen"), 0);
	digests = 0;
	restart(1);
	ck_assert_uint_eq(pending_count(&w.sessions.pending), 1);
	ck_assert_uint_eq(digests, 0);
}
END_TEST

static Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("abp_rollback");

	world_fixtures(tc, "test_session", setup, teardown);
	tcase_add_test(tc, test_rollback_by_restart);
	tcase_add_test(tc, test_rollback_by_reload);
	tcase_add_test(tc, test_rollback_after_two_rotations);
	tcase_add_test(tc, test_new_keys_start_at_zero);
	tcase_add_test(tc, test_restart_unseen_digests_nothing);
	tcase_add_test(tc, test_pending_unseen_digests_nothing);
	tcase_add_test(tc, test_otaa_session_kept_as_abp);
	tcase_add_test(tc, test_session_moved_by_restart);
	tcase_add_test(tc, test_session_moved_by_reload);
	tcase_add_test(tc, test_session_moved_back);
	tcase_add_test(tc, test_sessions_swapped_by_restart);
	tcase_add_test(tc, test_sessions_swapped_by_reload);
	tcase_add_test(tc, test_purge_keeps_counters);
	tcase_add_test(tc, test_reload_store_error_fails_closed);
	tcase_add_test(tc, test_pending_row_served_as_abp);
	tcase_add_test(tc, test_pending_row_counts_own_by_restart);
	tcase_add_test(tc, test_pending_row_counts_own_by_reload);
	tcase_add_test(tc, test_pending_row_counts_other_by_restart);
	tcase_add_test(tc, test_pending_row_counts_other_by_reload);
	tcase_add_test(tc, test_purge_keeps_pending_counters);
	tcase_add_test(tc, test_pending_rows_not_held_logged);
	tcase_add_test(tc, test_pending_row_configured_as_abp);
	tcase_add_test(tc, test_pending_served_as_abp_removed_by_reload);
	tcase_add_test(tc, test_pending_served_as_abp_removed_by_restart);
	tcase_add_test(tc, test_pending_served_as_abp_rekeyed_by_reload);
	tcase_add_test(tc, test_pending_served_as_abp_rekeyed_by_restart);
	tcase_add_test(tc, test_pending_served_as_abp_mixed);
	tcase_add_test(tc, test_pending_abp_row_left_before_upgrade);
	tcase_add_test(tc, test_fleet_keys_changed_at_start);
	tcase_set_timeout(tc, 120);   /* the fleet's: about 8 s with the sanitizers */
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_threshold = LOG_LVL_ERROR;
	return testutil_run(session_suite());
}
