/* SPDX-License-Identifier: MIT */
/*
 * world.c - the handlers' test world (world.h): each module set up as its
 * *_setup() in bridge.c does, from the configuration, its I/O edge a
 * recorder of fakes.h.
 */
#include "world.h"

#include <arpa/inet.h>
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "base/netaddr.h"
#include "io/loop.h"

/* ------------------------------------------------------------ the edges */

/* Events held for the commit go out at once: the commit is not looked at. */
static int hold_now(void *arg, uint64_t batch, uint64_t dev_eui, const char *topic,
		    const void *payload, size_t len, int qos, bool up)
{
	struct world *w = arg;

	(void)batch;
	(void)dev_eui;
	(void)up;
	return rec_publish(&w->sink, topic, payload, len, qos, false);
}

/* Events held for the commit go to the outbox, as in bridge.c. */
static int hold_in_outbox(void *arg, uint64_t batch, uint64_t dev_eui, const char *topic,
			  const void *payload, size_t len, int qos, bool up)
{
	struct world *w = arg;

	ck_assert_msg(w->open & WORLD_OUTBOX, "an event held without WORLD_OUTBOX");
	return outbox_add(&w->outbox, batch, dev_eui, topic, payload, len, qos, up);
}

static int publish_now(void *arg, const char *topic, const void *payload, size_t len, int qos,
		       bool retain)
{
	struct world *w = arg;

	return rec_publish(&w->sink, topic, payload, len, qos, retain);
}

static size_t outbox_room(void *arg)
{
	(void)arg;
	return 64;
}

/* The recorder takes the event; the "broker" acknowledges it at once. A
 * refusal the recorder is told to make is LB_ERR_INVAL: never sendable. */
static int outbox_send(void *arg, const char *topic, const void *payload, size_t len, int qos,
		       uint64_t token)
{
	struct world *w = arg;

	int rc = rec_publish(&w->sink, topic, payload, len, qos, false);
	if (rc != LB_OK)
		return rc;
	outbox_acked(&w->outbox, token);
	return LB_OK;
}

/* ------------------------------------------------------------ the base */

/* The test case's base directory (each test program has its own). */
static char base_dir[FAKE_DIR_MAX / 2];

static void base_setup(void)
{
	testutil_tmp_make(base_dir);
}

static void base_teardown(void)
{
	testutil_tmp_remove(base_dir);
}

void world_fixtures(TCase *tc, const char *name, void (*setup)(void), void (*teardown)(void))
{
	int n = snprintf(base_dir, sizeof(base_dir), "/tmp/%s.XXXXXX", name);

	if (n <= 0 || (size_t)n >= sizeof(base_dir)) {     /* no test runs yet: no ck_assert */
		fprintf(stderr, "world_fixtures: name too long: %s\n", name);
		abort();
	}
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	if (setup || teardown)
		tcase_add_checked_fixture(tc, setup, teardown);
}

void world_base(struct world *w, enum world_hold hold)
{
	ck_assert_msg(base_dir[0] != '\0', "world_base() without world_fixtures()");
	memset(w, 0, sizeof(*w));
	struct publish_sink sink = {.publish = publish_now, .arg = w};
	if (hold == WORLD_HOLD_NOW)
		sink.hold = hold_now;
	else if (hold == WORLD_HOLD_OUTBOX)
		sink.hold = hold_in_outbox;
	ck_assert_int_lt(snprintf(w->dir, sizeof(w->dir), "%s/t.XXXXXX", base_dir),
			 (int)sizeof(w->dir));
	ck_assert_ptr_nonnull(mkdtemp(w->dir));
	ck_assert_int_eq(config_defaults(&w->cfg), LB_OK);
	w->region = region_find(w->cfg.region);
	ck_assert_ptr_nonnull(w->region);
	(void)idgen_init(&w->ids);   /* a failure is logged; ids stay unique in this run */
	ck_assert_int_eq(publish_init(&w->pub, &w->cfg, &sink), LB_OK);
	ck_assert_int_eq(devevent_init(&w->ev, &w->pub, &w->stats, w->region->name), LB_OK);
	devevent_use_devices(&w->ev, &w->devices);
}

struct lb_device_conf world_abp(const struct world *w, const char *name, const char *application,
				uint64_t dev_eui, uint32_t dev_addr, const uint8_t nwk_s_key[16],
				const uint8_t app_s_key[16])
{
	struct lb_device_conf c;

	memset(&c, 0, sizeof(c));
	c.name = (char *)name;
	c.application = (char *)application;
	c.dev_eui = dev_eui;
	c.activation = LB_ACT_ABP;
	c.dev_addr = dev_addr;
	memcpy(c.nwk_s_key, nwk_s_key, 16);
	memcpy(c.app_s_key, app_s_key, 16);
	c.lorawan_version = 3;
	c.fair_access = w->cfg.fair_access;
	return c;
}

void world_reap_sync(struct world *w)
{
	struct pollfd p = {.fd = store_sync_fd(&w->store), .events = POLLIN};

	ck_assert(store_sync_pending(&w->store));
	ck_assert_int_eq(poll(&p, 1, 5000), 1);
	ck_assert_int_eq(store_sync_reap(&w->store), LB_OK);
}

static int64_t timers_pass(struct world *w, unsigned ticks, int64_t t, bool *asked)
{
	int64_t next = -1;

	ck_assert_uint_eq(ticks & ~w->open, 0);
	if (ticks & WORLD_TXSCHED)
		next = loop_earliest(next, txsched_tick(&w->tx, t));
	if (ticks & WORLD_CLASSC)
		next = loop_earliest(next, classc_tick(&w->cc, t));
	*asked = w->durable.soon;
	if (*asked)
		(void)durable_tick(&w->durable, t);
	return next;
}

int64_t world_timers(struct world *w, unsigned ticks, int64_t t)
{
	bool asked = false;
	int64_t next = timers_pass(w, ticks, t, &asked);

	for (int i = 0; asked && i < 3; i++) {
		if (store_sync_pending(&w->store))
			world_reap_sync(w);
		t += TXSCHED_DISK_POLL_MS;
		next = timers_pass(w, ticks, t, &asked);
	}
	return next;
}

struct sockaddr_in world_route(struct world *w, uint64_t gw_eui, uint16_t port, bool *came_online)
{
	struct gateway *gw = NULL;
	struct gateway_admission adm;
	struct netaddr src;
	struct sockaddr_in sin;
	struct sockaddr_storage ss;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(netaddr_from_sockaddr((const struct sockaddr *)&sin, sizeof(sin), &src),
			 LB_OK);
	ck_assert_int_eq(gateways_admit(&w->gateways, gw_eui, &src, loop_now_us(), &gw, &adm),
			 LB_OK);
	if (came_online)
		*came_online = adm.came_online;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &sin, sizeof(sin));
	gateway_set_downlink_addr(gw, &ss, sizeof(sin), 2);
	return sin;
}

/* ------------------------------------------------------------ the modules */

/* A module's set-up reads these modules: they are open. */
static void need(const struct world *w, unsigned needed, const char *what)
{
	ck_assert_msg((w->open & needed) == needed, "world: %s needs modules 0x%x, open 0x%x",
		      what, needed, w->open);
}

/* As gateways_setup(), without a rate limit: the tests send bursts. */
static void open_gateways(struct world *w)
{
	struct gateways_opts o = {
		.keepalive_s = w->cfg.udp_keepalive_s, .offline_after = w->cfg.udp_offline_after,
		.max_gateways = 16,
	};
	ck_assert_int_eq(gateways_init(&w->gateways, &o), LB_OK);
}

static void open_store(struct world *w)
{
	ck_assert_int_eq(store_open(&w->store, w->dir, w->cfg.state_commit_ms), LB_OK);
	durable_init(&w->durable, &w->store);
}

/* As outbox_setup() (the first part of the group commit), its sink the recorder. */
static void open_outbox(struct world *w)
{
	struct outbox_ctx c = {
		.store = &w->store, .durable = &w->durable, .stats = &w->stats,
		.sink = {.room = outbox_room, .send = outbox_send, .arg = w},
	};
	struct outbox_opts o = {.cache_limit = 64, .limit_bytes = 1 << 20,
				.commit_ms = w->cfg.state_commit_ms};
	need(w, WORLD_STORE, "outbox");
	ck_assert_int_eq(outbox_init(&w->outbox, &c, &o), LB_OK);
}

static void open_sessions(struct world *w)
{
	need(w, WORLD_STORE, "sessions");
	ck_assert_int_eq(sessions_init(&w->sessions, &w->devices, &w->store, &w->durable,
				       w->cfg.state_commit_ms), LB_OK);
}

static void open_budget(struct world *w)
{
	struct budget_ctx c = {
		.region = w->region, .devices = &w->devices, .store = &w->store,
		.durable = &w->durable, .pub = &w->pub, .ev = &w->ev, .stats = &w->stats,
		.commit_ms = w->cfg.state_commit_ms,
	};
	need(w, WORLD_STORE, "budget");
	ck_assert_int_eq(budget_init(&w->budget, &c), LB_OK);
}

/* As netmac_setup() without the join CFList channels (o == NULL); wired
 * into the scheduler as txsched_ctx.netmac. */
static void open_netmac(struct world *w, const struct netmac_opts *o)
{
	const struct lb_config *cfg = &w->cfg;
	struct netmac_ctx c = {.devices = &w->devices, .region = w->region, .store = &w->store,
			       .durable = &w->durable, .sessions = &w->sessions, .ev = &w->ev};
	struct netmac_opts from_cfg = {
		.margin_db = cfg->adr_installation_margin_db,
		.max_unanswered = cfg->adr_max_unanswered, .backoff_h = cfg->adr_backoff_h,
		.sub_band = cfg->downlink_sub_band,
		.rx1_dr_offset = (uint8_t)cfg->downlink_rx1_dr_offset,
		.rx_delay_s = (uint8_t)cfg->downlink_rx_delay_s,
	};
	need(w, WORLD_SESSIONS, "netmac");
	ck_assert_int_eq(netmac_init(&w->mac, &c, o ? o : &from_cfg, cfg->state_commit_ms), LB_OK);
	if (w->open & WORLD_TXSCHED)
		w->tx.c.netmac = &w->mac;
}

static void open_txsched(struct world *w)
{
	struct txsched_ctx c = {
		.devices = &w->devices, .region = w->region, .gateways = &w->gateways,
		.store = &w->store, .durable = &w->durable, .sessions = &w->sessions,
		.budget = &w->budget, .ev = &w->ev, .ids = &w->ids,
		.out = {.send = rec_send, .arg = &w->udp},
		.netmac = w->open & WORLD_NETMAC ? &w->mac : NULL,
	};
	struct txsched_opts o = {
		.delay_ms = w->cfg.downlink_delay_ms,
		.tx_ack_timeout_ms = (uint32_t)w->cfg.downlink_tx_ack_timeout_ms,
		.rx1_dr_offset = (uint8_t)w->cfg.downlink_rx1_dr_offset,
	};
	need(w, WORLD_GATEWAYS | WORLD_SESSIONS | WORLD_BUDGET, "txsched");
	ck_assert_int_eq(txsched_init(&w->tx, &c, &o), LB_OK);
}

static void open_classc(struct world *w)
{
	struct classc_ctx c = {
		.devices = &w->devices, .region = w->region, .gateways = &w->gateways,
		.store = &w->store, .budget = &w->budget, .ev = &w->ev, .tx = &w->tx,
		.sessions = &w->sessions,
	};
	struct classc_opts o = {.ack_timeout_s = w->cfg.downlink_class_c_ack_timeout_s,
				.retries = w->cfg.downlink_class_c_retries,
				.delay_ms = w->cfg.downlink_delay_ms};
	need(w, WORLD_TXSCHED, "classc");
	ck_assert_int_eq(classc_init(&w->cc, &c, &o), LB_OK);
}

static void open_otaa(struct world *w)
{
	const struct lb_config *cfg = &w->cfg;
	struct otaa_ctx c = {
		.devices = &w->devices, .region = w->region, .store = &w->store,
		.durable = &w->durable, .sessions = &w->sessions, .tx = &w->tx, .ev = &w->ev,
		.ids = &w->ids, .stats = &w->stats,
		.netmac = w->open & WORLD_NETMAC ? &w->mac : NULL,
	};
	struct otaa_opts o = {
		.net_id = cfg->net_id, .join_cflist = cfg->downlink_join_cflist,
		.sub_band = cfg->downlink_sub_band,
		.rx1_dr_offset = (uint8_t)cfg->downlink_rx1_dr_offset,
		.rx_delay_s = (uint8_t)cfg->downlink_rx_delay_s,
	};
	need(w, WORLD_TXSCHED, "otaa");
	ck_assert_int_eq(otaa_init(&w->otaa, &c, &o), LB_OK);
}

static void open_gwconn(struct world *w)
{
	struct gwconn_ctx c = {
		.gateways = &w->gateways, .pub = &w->pub, .store = &w->store,
		.durable = &w->durable, .commit_ms = w->cfg.state_commit_ms,
	};
	need(w, WORLD_GATEWAYS | WORLD_STORE, "gwconn");
	ck_assert_int_eq(gwconn_init(&w->conn, &c), LB_OK);
}

static void open_hass(struct world *w, const struct hass_opts *o)
{
	struct hass_opts from_cfg = {.discovery = w->cfg.hass_discovery,
				     .prefix = w->cfg.hass_prefix,
				     .publish_fields = w->cfg.mqtt_publish_fields};
	ck_assert_int_eq(hass_init(&w->hass, &w->pub, o ? o : &from_cfg), LB_OK);
}

static void open_payloads(struct world *w, const struct jscodec_limits *limits)
{
	w->payloads = (struct payloads){.ev = &w->ev, .stats = &w->stats};
	if (limits)
		w->payloads.limits = *limits;
	ck_assert_int_eq(payload_sync(&w->payloads, &w->devices), LB_OK);
}

void world_add(struct world *w, const struct world_opts *o)
{
	unsigned want = o->modules & ~w->open;

	/* In bridge.c's order; each marked open once it is, for world_close(). */
#define OPEN(bit, call) \
	do { if (want & (bit)) { call; w->open |= (bit); } } while (0)
	OPEN(WORLD_GATEWAYS, open_gateways(w));
	OPEN(WORLD_DEDUP,
	     ck_assert_int_eq(dedup_init(&w->dedup, w->cfg.dedup_window_ms, 64), LB_OK));
	OPEN(WORLD_STORE, open_store(w));
	OPEN(WORLD_OUTBOX, open_outbox(w));
	OPEN(WORLD_SESSIONS, open_sessions(w));
	OPEN(WORLD_BUDGET, open_budget(w));
	OPEN(WORLD_NETMAC, open_netmac(w, o->netmac));
	OPEN(WORLD_TXSCHED, open_txsched(w));
	OPEN(WORLD_CLASSC, open_classc(w));
	OPEN(WORLD_OTAA, open_otaa(w));
	OPEN(WORLD_GWCONN, open_gwconn(w));
	OPEN(WORLD_HASS, open_hass(w, o->hass));
	OPEN(WORLD_PAYLOADS, open_payloads(w, o->codec_limits));
#undef OPEN
}

void world_open(struct world *w, const struct lb_device_conf *conf, size_t n,
		const struct world_opts *o)
{
	ck_assert_int_eq(devices_init(&w->devices, conf, n), LB_OK);
	world_add(w, o);
}

void world_close(struct world *w)
{
	unsigned o = w->open;

	if (o & WORLD_PAYLOADS)
		payload_free(&w->payloads);
	if (o & WORLD_HASS)
		hass_free(&w->hass);
	if (o & WORLD_GWCONN)
		gwconn_free(&w->conn);
	if (o & WORLD_OTAA)
		otaa_free(&w->otaa);
	if (o & WORLD_CLASSC)
		classc_free(&w->cc);
	if (o & WORLD_TXSCHED)
		txsched_free(&w->tx);
	if (o & WORLD_NETMAC)
		netmac_free(&w->mac);
	if (o & WORLD_BUDGET)
		budget_free(&w->budget);
	if (o & WORLD_SESSIONS)
		sessions_free(&w->sessions);
	if (o & WORLD_OUTBOX)
		outbox_free(&w->outbox);
	if (o & WORLD_STORE)
		store_close(&w->store);
	if (o & WORLD_DEDUP)
		dedup_free(&w->dedup);
	if (o & WORLD_GATEWAYS)
		gateways_free(&w->gateways);
	devices_free(&w->devices);
	publish_free(&w->pub);
	config_free(&w->cfg);
	rec_sink_free(&w->sink);
	w->open = 0;
}
