/* SPDX-License-Identifier: MIT */
/*
 * world.h - the daemon's modules wired for a handler's unit test, as
 * bridge.c's modules_setup() wires them, the I/O edges being the recorders
 * of fakes.h: MQTT is w->sink, UDP w->udp, the store a real SQLite database
 * in a mkdtemp() directory under the test's base directory.
 *
 * A test case's fixtures come from world_fixtures(); a test builds its
 * world in two steps:
 *   world_base(&w, WORLD_HOLD_...);     config defaults, region, ids,
 *                                       publisher, device events
 *   ... device confs (world_abp()), changes to w.cfg ...
 *   world_open(&w, conf, n, &(struct world_opts){.modules = WORLD_...});
 * and may open more modules later with world_add(). Each module is set up
 * from w->cfg as its *_setup() in bridge.c, less what the tests do not
 * use (no RX2 overrides, no join CFList channels, no airtime state events:
 * a test turns those on itself); a module listed needs the ones it reads
 * to be open already or listed too (checked). world_close() frees what was opened, in reverse;
 * the directory stays (world_fixtures()' base directory is removed after
 * the test case).
 *
 * Errors: every set-up step is asserted (a failure fails the test).
 * The handler under test (uplink, dispatch, commands) is wired by the test
 * itself from these modules.
 */
#ifndef LB_TEST_WORLD_H
#define LB_TEST_WORLD_H

#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "daemon/budget.h"
#include "daemon/classc.h"
#include "daemon/devevent.h"
#include "daemon/durable.h"
#include "daemon/gwconn.h"
#include "daemon/hass.h"
#include "daemon/ids.h"
#include "daemon/netmac.h"
#include "daemon/otaa.h"
#include "daemon/outbox.h"
#include "daemon/payload.h"
#include "daemon/publish.h"
#include "daemon/session.h"
#include "daemon/stats.h"
#include "daemon/txsched.h"
#include "lorawan/region.h"
#include "store/store.h"
#include "tables/dedup.h"
#include "tables/devices.h"
#include "tables/gateway.h"
#include "fakes.h"

/* The modules beyond the base, in the order they are opened. */
enum world_module {
	WORLD_GATEWAYS = 1u << 0,        /* gateway table, no rate limit, 16 gateways */
	WORLD_DEDUP = 1u << 1,           /* de-duplication, 64 open groups */
	WORLD_STORE = 1u << 2,           /* store + group commit (durable) */
	WORLD_OUTBOX = 1u << 3,          /* needs STORE; sends to w->sink, acked at once */
	WORLD_SESSIONS = 1u << 4,        /* needs STORE */
	WORLD_BUDGET = 1u << 5,          /* needs STORE */
	WORLD_NETMAC = 1u << 6,          /* needs SESSIONS; wired into TXSCHED */
	WORLD_TXSCHED = 1u << 7,         /* needs GATEWAYS SESSIONS BUDGET; sends to w->udp */
	WORLD_CLASSC = 1u << 8,          /* needs TXSCHED */
	WORLD_OTAA = 1u << 9,            /* needs TXSCHED */
	WORLD_GWCONN = 1u << 10,         /* needs GATEWAYS STORE */
	WORLD_HASS = 1u << 11,
	WORLD_PAYLOADS = 1u << 12,       /* codecs of the devices (limits: codec_limits) */
};

/* Where the publisher's events held for the group commit go. */
enum world_hold {
	WORLD_HOLD_NONE,                 /* no hold callback: published as they come */
	WORLD_HOLD_NOW,                  /* handed to w->sink at once (no commit) */
	WORLD_HOLD_OUTBOX,               /* into w->outbox, as bridge.c (needs WORLD_OUTBOX) */
};

struct world_opts {
	unsigned modules;                     /* enum world_module bits */
	const struct netmac_opts *netmac;     /* NULL: from w->cfg */
	const struct hass_opts *hass;         /* NULL: from w->cfg, no sw_version */
	const struct jscodec_limits *codec_limits; /* NULL: none set */
};

struct world {
	char dir[FAKE_DIR_MAX];
	struct lb_config cfg;
	const struct region *region;
	struct stats stats;
	struct idgen ids;
	struct publisher pub;
	struct devevents ev;
	struct devices devices;
	struct gateways gateways;
	struct dedup dedup;
	struct store store;
	struct durable durable;
	struct outbox outbox;
	struct sessions sessions;
	struct budget budget;
	struct netmac mac;
	struct txsched tx;
	struct classc cc;
	struct otaa otaa;
	struct gwconn conn;
	struct hass hass;
	struct payloads payloads;
	struct rec_sink sink;            /* what was published */
	struct rec_udp udp;              /* what was sent to gateways */
	unsigned open;                   /* enum world_module bits opened */
};

/* The fixtures of a test case of the program `name` ("test_uplink"): a
 * base directory /tmp/<name>.XXXXXX for the whole case, made before its
 * first test and removed after the last (an unchecked fixture: run in the
 * parent, also when a test fails), and setup/teardown around each test
 * (both NULL: none). */
void world_fixtures(TCase *tc, const char *name, void (*setup)(void), void (*teardown)(void));

/* Zero *w, then a store directory under the base directory, the default
 * configuration, its region, ids, the publisher on w->sink (its held
 * events going as `hold` says) and device events counting into w->stats. */
void world_base(struct world *w, enum world_hold hold);

/* The device table from conf[0..n), then world_add(w, o). */
void world_open(struct world *w, const struct lb_device_conf *conf, size_t n,
		const struct world_opts *o);

/* Open the modules of o->modules not open yet. */
void world_add(struct world *w, const struct world_opts *o);

/* Free every module opened and what w->sink holds. */
void world_close(struct world *w);

/* Wait (up to 5 s) for the store's sync in flight (store_sync_start()
 * made it go off the caller's thread) and take it: its batches become
 * durable. Asserted: a sync was in flight and it completed. */
void world_reap_sync(struct world *w);

/* The bridge's timers at instant t, in run_timers()' order (bridge.c): the
 * ticks of the modules in `ticks` (WORLD_TXSCHED, WORLD_CLASSC), then the group
 * commit's when one was asked for in the pass (durable_commit_soon(): a
 * downlink counter's reservation, a sent queue item). Passes follow
 * TXSCHED_DISK_POLL_MS apart, the commit's sync reaped between, while a
 * pass asked for a commit (at most 4): what a test that is not about the
 * wait for the disk sees as one decision. Returns the last pass's next
 * deadline (-1: none). */
int64_t world_timers(struct world *w, unsigned ticks, int64_t t);

/* Gateway gw_eui admitted from 127.0.0.1:port with a downlink route (GWMP
 * version 2), as dispatch leaves it after a PULL_DATA; returns that
 * address, and in *came_online (if not NULL) whether it came online. */
struct sockaddr_in world_route(struct world *w, uint64_t gw_eui, uint16_t port, bool *came_online);

/* An ABP LoRaWAN 1.0.3 device with the configured fair-access policy (the
 * strings and keys are copied by devices_init()). */
struct lb_device_conf world_abp(const struct world *w, const char *name, const char *application,
				uint64_t dev_eui, uint32_t dev_addr, const uint8_t nwk_s_key[16],
				const uint8_t app_s_key[16]);

#endif
