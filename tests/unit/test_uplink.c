/* SPDX-License-Identifier: MIT */
/*
 * test_uplink.c - the daemon's uplink path with its I/O edges faked:
 * dedup -> uplink_process -> sessions -> durable commit -> publisher. The
 * handlers are the real ones, wired as bridge.c wires them (modules_setup,
 * handlers_setup, txsched_setup, otaa_setup, budget_setup); MQTT is a
 * recording publish_sink, UDP a recording udpout, and the store a real
 * SQLite database in a mkdtemp() directory under /tmp (removed by an
 * unchecked fixture, run in the parent even when a test fails).
 *
 * Clocks: the handlers read loop_now_ms()/loop_wall_us() as they are;
 * dedup gets a virtual "now" that starts at loop_now_ms() and jumps 10 s
 * per frame so every window closes without sleeping; txsched_tick() gets
 * the deadline it returned.
 */
#include <arpa/inet.h>
#include <check.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "config/config.h"
#include "daemon/budget.h"
#include "daemon/devevent.h"
#include "daemon/durable.h"
#include "daemon/ids.h"
#include "daemon/otaa.h"
#include "daemon/publish.h"
#include "daemon/session.h"
#include "daemon/stats.h"
#include "daemon/netmac.h"
#include "daemon/txsched.h"
#include "daemon/udpout.h"
#include "daemon/uplink.h"
#include "gwmp/gwmp.h"
#include "io/loop.h"
#include "lorawan/airtime.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "lorawan/maccmd.h"
#include "store/store.h"
#include "tables/dedup.h"
#include "tables/devices.h"
#include "tables/gateway.h"
#include "rawdb.h"
#include "world.h"
#include "daemon/outbox.h"
#include "daemon/payload.h"
#include "base/netaddr.h"
#include "mac/join.h"
#include "tables/fcntdown.h"
#include "tables/pending.h"

#define DEV_EUI UINT64_C(0x70b3d57ed0000001)
#define DEV_ADDR UINT32_C(0x26011234)
#define OTHER_ADDR UINT32_C(0x26019999)
#define GW_1 UINT64_C(0xaa555a0000000001)
#define GW_2 UINT64_C(0xaa555a0000000002)
#define TMST UINT32_C(3512348611)

static const uint8_t NWK[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
				0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};
static const uint8_t APP[16] = {0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
				0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};

/* ------------------------------------------------------------ the fakes */

/* A part of the durable state whose staging fails while told to. */
struct fake_part {
	int rc;
	unsigned calls;
};

static int fake_stage(void *arg)
{
	struct fake_part *p = arg;
	p->calls++;
	return p->rc;
}

static int64_t fake_due(void *arg)
{
	(void)arg;
	return -1;
}

/* explicit_bzero() as the code under test calls it (the linker binds its
 * calls to this program's definition): it wipes as the C library's does
 * and notes each wipe of a join's outcome (struct join_outcome, mac/join.h)
 * that still held session keys, with what it held. otaa_join()'s outcome
 * is on its stack: this is how a test sees it wiped before the return. */
#define WIPED_MAX 8
static struct {
	struct join_outcome o[WIPED_MAX];
	size_t n;
} wiped;

void explicit_bzero(void *p, size_t n)
{
	static const uint8_t zero[LW_KEY_LEN];
	const struct join_outcome *o;

	/* <string.h> declares explicit_bzero() write-only (an access
	 * attribute): GCC would take what is read through p for uninitialized.
	 * The same address, laundered. */
	__asm__("" : "=r"(o) : "0"(p));

	if (n == sizeof(*o) && wiped.n < WIPED_MAX &&
	    (memcmp(o->nwk_s_key, zero, LW_KEY_LEN) != 0 ||
	     memcmp(o->app_s_key, zero, LW_KEY_LEN) != 0))
		wiped.o[wiped.n++] = *o;
	memset(p, 0, n);
	__asm__ __volatile__("" : : "r"(p) : "memory");   /* not optimized away */
}

/* Whether an outcome of DevNonce nonce with these keys was wiped. */
static bool outcome_wiped(uint16_t nonce, const uint8_t nwk[16], const uint8_t app[16])
{
	for (size_t i = 0; i < wiped.n; i++)
		if (wiped.o[i].dev_nonce == nonce && memcmp(wiped.o[i].nwk_s_key, nwk, 16) == 0 &&
		    memcmp(wiped.o[i].app_s_key, app, 16) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------ the world */

/* The modules (world.h) and, wired from them here, the uplink handler. */
static struct world w;
static struct {
	struct uplink up;
	int64_t clk;                     /* dedup's virtual now */
	uint32_t uplink_id;
	uint32_t freq_hz;                /* of the uplinks heard; 0: 868.1 MHz */
	uint16_t bw_khz;                 /* their bandwidth (SF7); 0: 125 kHz */
} t;

/* One ABP device; every module of the uplink path, events held in the
 * outbox until their batch is committed, as bridge.c, in region (NULL:
 * the configuration's) and with the modules of `more`. */
static void open_world(const char *region, unsigned more)
{
	world_base(&w, WORLD_HOLD_OUTBOX);
	if (region) {
		w.region = region_find(region);
		ck_assert_ptr_nonnull(w.region);
	}
	struct lb_device_conf conf = world_abp(&w, "sensor", "default", DEV_EUI, DEV_ADDR, NWK, APP);
	world_open(&w, &conf, 1, &(struct world_opts){
		.modules = WORLD_GATEWAYS | WORLD_DEDUP | WORLD_STORE | WORLD_OUTBOX |
			   WORLD_SESSIONS | WORLD_BUDGET | WORLD_TXSCHED | WORLD_OTAA |
			   WORLD_HASS | WORLD_PAYLOADS | more,
	});
	/* As handlers_setup(). */
	memset(&t, 0, sizeof(t));
	t.up = (struct uplink){
		.devices = &w.devices, .region = w.region, .stats = &w.stats, .ids = &w.ids,
		.sessions = &w.sessions, .budget = &w.budget, .otaa = &w.otaa, .tx = &w.tx,
		.pub = &w.pub, .ev = &w.ev, .gateways = &w.gateways, .payloads = &w.payloads,
		.hass = &w.hass,
	};
	ck_assert_int_eq(uplink_check(&t.up), LB_OK);
	t.clk = loop_now_ms();
}

static void setup(void)
{
	open_world(NULL, 0);
}

static void teardown(void)
{
	world_close(&w);
}

/* ------------------------------------------------------------ helpers */


/* An uplink of the test device's session (or of another DevAddr). */
/* p's frame, sealed with the test device's keys, into phy: its length. */
static size_t seal_up(const struct lw_data_params *p, uint8_t *phy)
{
	struct lw_keys k;
	size_t len;

	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(lwcrypto_keys_init(&k, NWK, APP), LB_OK);
	ck_assert_int_eq(lorawan_build_data(p, &k, phy, LW_MAX_PHY, &len), LB_OK);
	lwcrypto_keys_free(&k);
	return len;
}

static size_t build_up(uint8_t *phy, enum lw_mtype mtype, uint32_t addr, uint32_t fcnt,
		       uint8_t fport, const char *payload)
{
	size_t len;
	struct lw_data_params p = {
		.mtype = mtype, .dev_addr = addr, .fcnt = fcnt, .has_fport = true, .fport = fport,
		.payload = (const uint8_t *)payload, .payload_len = strlen(payload),
	};

	len = seal_up(&p, phy);
	return len;
}

/* An unconfirmed uplink of the test device with the ACK bit (FCtrl 0x20,
 * TS001-1.0.4 §4.3.1): it acknowledges a confirmed downlink. */
static size_t build_ack_up(uint8_t *phy, uint32_t fcnt)
{
	size_t len;
	struct lw_data_params p = {.mtype = LW_MTYPE_UNCONFIRMED_UP, .dev_addr = DEV_ADDR,
				   .fctrl_flags = 0x20, .fcnt = fcnt, .has_fport = true, .fport = 10,
				   .payload = (const uint8_t *)"x", .payload_len = 1};

	len = seal_up(&p, phy);
	return len;
}

/* One reception of phy by gateway gw, as dispatch builds it (SF7BW125, 868.1 MHz). */
static struct lb_rx make_rx(uint64_t gw, const uint8_t *phy, size_t len, int rssi, float snr)
{
	struct lb_rx rx;

	memset(&rx, 0, sizeof(rx));
	rx.gateway_eui = gw;
	rx.uplink_id = ++t.uplink_id;
	rx.received_us = loop_wall_us();
	rx.version = 2;
	rx.rxpk.tmst = TMST;
	rx.rxpk.freq_hz = t.freq_hz ? t.freq_hz : 868100000;
	rx.rxpk.stat = 1;
	rx.rxpk.modu = GWMP_MOD_LORA;
	rx.rxpk.sf = 7;
	rx.rxpk.bw_khz = t.bw_khz ? t.bw_khz : 125;
	rx.rxpk.cr = 1;
	rx.rxpk.has_rssi = true;
	rx.rxpk.rssi = rssi;
	rx.rxpk.has_lsnr = true;
	rx.rxpk.lsnr = snr;
	rx.rxpk.size = (uint16_t)len;
	memcpy(rx.rxpk.data, phy, len);
	return rx;
}

/* phy heard by n gateways, then the de-duplication window closes. */
static void hear(const uint8_t *phy, size_t len, const uint64_t *gws, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct lb_rx rx = make_rx(gws[i], phy, len, -60 - (int)i, 9.0f - (float)i);
		enum dedup_result r = dedup_add(&w.dedup, &rx, t.clk, uplink_process, &t.up);
		ck_assert_int_eq(r, i == 0 ? DEDUP_NEW : DEDUP_MERGED);
	}
	t.clk += 10000;
	dedup_tick(&w.dedup, t.clk, uplink_process, &t.up);
	ck_assert_uint_eq(dedup_open_count(&w.dedup), 0);
}

static void hear_one(const uint8_t *phy, size_t len)
{
	const uint64_t gw = GW_1;
	hear(phy, len, &gw, 1);
}

/* Events whose batch is committed go out: how many reached "MQTT". */
static size_t release(void)
{
	size_t before = w.sink.n;
	outbox_tick(&w.outbox, loop_now_ms());
	return w.sink.n - before;
}

/* Events held or not yet acknowledged. */
static size_t held(void)
{
	return (size_t)outbox_pending(&w.outbox);
}

static void device_topic(char *out, size_t cap, uint64_t eui, const char *event)
{
	char hex[17];
	hex_format_eui(eui, hex);
	snprintf(out, cap, "application/default/device/%s/event/%s", hex, event);
}

static size_t count_topic(const char *topic)
{
	return rec_count(&w.sink, topic);
}

/* The last message on topic, parsed (the caller puts it). */
static json_object *last_on(const char *topic)
{
	return rec_last_json(&w.sink, topic);
}

/* The code of the last `log` event of the test device. */
static void assert_last_log(const char *code)
{
	char topic[PUBLISH_TOPIC_MAX];

	device_topic(topic, sizeof(topic), DEV_EUI, "log");
	json_object *o = last_on(topic);
	ck_assert_str_eq(str_of(o, "code"), code);
	json_object_put(o);
}

/* The last log event's context member key ("" when it has none). */
static void last_log_ctx(const char *key, char *out, size_t cap)
{
	char topic[PUBLISH_TOPIC_MAX];
	json_object *ctx, *v;

	device_topic(topic, sizeof(topic), DEV_EUI, "log");
	json_object *o = last_on(topic);
	out[0] = '\0';
	if (json_object_object_get_ex(o, "context", &ctx) && json_object_object_get_ex(ctx, key, &v))
		snprintf(out, cap, "%s", json_object_get_string(v));
	json_object_put(o);
}

/* The last log event's context has ChirpStack's deduplication_id (a UUID)
 * and lorabridge's gatewayId. */
static void assert_fcnt_log_ctx(void)
{
	char v[64];

	last_log_ctx("deduplication_id", v, sizeof(v));
	ck_assert_uint_eq(strlen(v), 36);
	ck_assert(v[8] == '-' && v[13] == '-' && v[18] == '-' && v[23] == '-');
	last_log_ctx("gatewayId", v, sizeof(v));
	ck_assert_uint_eq(strlen(v), 16);
}

/* fcnt_up_last as another connection sees it: committed rows only
 * (-1: no row, -2: NULL). */
static int64_t committed_fcnt_up(void)
{
	char path[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	snprintf(path, sizeof(path), "%s/%s", w.dir, STORE_DB_NAME);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT CASE WHEN c.dev_eui IS NULL THEN s.fcnt_up_last"
					    " ELSE c.fcnt_up_last END FROM session s LEFT JOIN"
					    " session_fcnt c ON c.dev_eui = s.dev_eui"
					    " WHERE s.dev_eui = ?",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)DEV_EUI);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -2 : sqlite3_column_int64(st, 0);
	else
		ck_assert_int_eq(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The first uplink (FCnt 1, "hello" on FPort 10) accepted, committed and
 * published. */
static size_t first_uplink(uint8_t *phy)
{
	size_t len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 1, 10, "hello");
	hear_one(phy, len);
	ck_assert_uint_eq(held(), 1);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_uint_eq(release(), 1);
	return len;
}

/* The class-A scheduler's tick as the bridge's loop runs it, with the
 * group commit a downlink counter's reservation asks for (world_timers()). */
static int64_t tx_tick(int64_t at)
{
	return world_timers(&w, WORLD_TXSCHED, at);
}

/* ------------------------------------------------------------ tests */

START_TEST(test_up_held_until_durable)
{
	uint8_t phy[LW_MAX_PHY];
	char up[PUBLISH_TOPIC_MAX], logt[PUBLISH_TOPIC_MAX];
	struct store_session row;

	device_topic(up, sizeof(up), DEV_EUI, "up");
	device_topic(logt, sizeof(logt), DEV_EUI, "log");
	ck_assert_str_eq(up, "application/default/device/70b3d57ed0000001/event/up");
	size_t len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 1, 10, "hello");

	/* Two gateways, one frame: nothing before the window closes. */
	struct lb_rx rx1 = make_rx(GW_1, phy, len, -57, 9.5f);
	struct lb_rx rx2 = make_rx(GW_2, phy, len, -90, 2.0f);
	ck_assert_int_eq(dedup_add(&w.dedup, &rx1, t.clk, uplink_process, &t.up), DEDUP_NEW);
	ck_assert_int_eq(dedup_add(&w.dedup, &rx2, t.clk + 1, uplink_process, &t.up),
			 DEDUP_MERGED);
	ck_assert_uint_eq(w.stats.uplinks_unique, 0);
	t.clk += 10000;
	dedup_tick(&w.dedup, t.clk, uplink_process, &t.up);
	ck_assert_uint_eq(w.stats.uplinks_unique, 1);

	/* Accepted, but held until its counter is durable. */
	ck_assert_uint_eq(count_topic(up), 0);
	ck_assert_uint_eq(count_topic(logt), 0);
	ck_assert_uint_eq(held(), 1);
	ck_assert_uint_eq(release(), 0);
	ck_assert_uint_eq(count_topic(up), 0);
	ck_assert_int_eq(committed_fcnt_up(), -1);

	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_uint_eq(release(), 1);
	ck_assert_uint_eq(held(), 0);
	ck_assert_uint_eq(count_topic(up), 1);
	ck_assert_uint_eq(count_topic(logt), 0);
	for (size_t i = 0; i < w.sink.n; i++)
		if (strcmp(w.sink.m[i].topic, up) == 0)
			ck_assert(!w.sink.m[i].retain);

	json_object *o = last_on(up);
	ck_assert_str_eq(str_of(member(o, "deviceInfo"), "devEui"), "70b3d57ed0000001");
	ck_assert_str_eq(str_of(member(o, "deviceInfo"), "applicationName"), "default");
	ck_assert_str_eq(str_of(o, "devAddr"), "26011234");
	ck_assert_int_eq(json_object_get_int64(member(o, "fCnt")), 1);
	ck_assert_int_eq(json_object_get_int(member(o, "fPort")), 10);
	ck_assert(!json_object_get_boolean(member(o, "confirmed")));
	ck_assert_str_eq(str_of(o, "data"), "aGVsbG8=");   /* base64("hello") */
	ck_assert_int_eq(json_object_get_int(member(o, "dr")), 5); /* SF7BW125 in EU868 */
	json_object *rxi = member(o, "rxInfo");
	ck_assert(json_object_is_type(rxi, json_type_array));
	ck_assert_uint_eq(json_object_array_length(rxi), 2);
	ck_assert_str_eq(str_of(json_object_array_get_idx(rxi, 0), "gatewayId"),
			 "aa555a0000000001");
	ck_assert_str_eq(str_of(json_object_array_get_idx(rxi, 1), "gatewayId"),
			 "aa555a0000000002");
	json_object_put(o);

	/* The session in the store, for this handle and for any other. */
	ck_assert_int_eq(store_get_session(&w.store, DEV_EUI, &row), LB_OK);
	ck_assert(row.has_fcnt_up_last);
	ck_assert_uint_eq(row.fcnt_up_last, 1);
	ck_assert_int_eq(committed_fcnt_up(), 1);
	ck_assert_uint_eq(w.devices.dev[0].last_fcnt_up, 1);
	for (int i = 0; i < DROP__COUNT; i++)
		ck_assert_uint_eq(w.stats.frame_drops[i], 0);
	/* Unconfirmed, no MAC command, nothing queued: no downlink. */
	tx_tick(loop_now_ms() + 60000);
	ck_assert_uint_eq(w.udp.n, 0);
}
END_TEST

START_TEST(test_retransmission_not_published_again)
{
	uint8_t phy[LW_MAX_PHY];
	char up[PUBLISH_TOPIC_MAX];

	device_topic(up, sizeof(up), DEV_EUI, "up");
	size_t len = first_uplink(phy);
	size_t logs = w.stats.log_events;

	hear_one(phy, len);   /* a new group: the dedup memory of it has expired */
	ck_assert_uint_eq(w.stats.uplinks_unique, 2);
	ck_assert_uint_eq(w.stats.frame_drops[DROP_RETRANSMISSION], 1);
	ck_assert_uint_eq(w.stats.log_events, logs + 1);
	assert_last_log("UPLINK_F_CNT_RETRANSMISSION");
	assert_fcnt_log_ctx();
	ck_assert_uint_eq(held(), 0);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_uint_eq(release(), 0);
	ck_assert_uint_eq(count_topic(up), 1);
}
END_TEST

START_TEST(test_replay_refused)
{
	uint8_t phy[LW_MAX_PHY];
	char up[PUBLISH_TOPIC_MAX];

	device_topic(up, sizeof(up), DEV_EUI, "up");
	size_t len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 5, 10, "five");
	hear_one(phy, len);
	len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 3, 10, "three");
	hear_one(phy, len);
	ck_assert_uint_eq(w.stats.frame_drops[DROP_REPLAY], 1);
	ck_assert_uint_eq(held(), 1);   /* only FCnt 5 */
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_uint_eq(release(), 1);
	ck_assert_uint_eq(count_topic(up), 1);
	json_object *o = last_on(up);
	ck_assert_int_eq(json_object_get_int64(member(o, "fCnt")), 5);
	json_object_put(o);
	/* Below 65536 a replayed old frame verifies with the plain 16-bit
	 * counter, so it is reported as a counter reset (devices.h). */
	assert_last_log("UPLINK_F_CNT_RESET");
	assert_fcnt_log_ctx();
	ck_assert_int_eq(committed_fcnt_up(), 5);
}
END_TEST

START_TEST(test_bad_mic)
{
	uint8_t phy[LW_MAX_PHY];
	char up[PUBLISH_TOPIC_MAX], logt[PUBLISH_TOPIC_MAX];

	device_topic(up, sizeof(up), DEV_EUI, "up");
	device_topic(logt, sizeof(logt), DEV_EUI, "log");
	size_t len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 1, 10, "hello");
	phy[len - 1] ^= 0x01;   /* last byte of the MIC */
	hear_one(phy, len);
	ck_assert_uint_eq(w.stats.frame_drops[DROP_MIC], 1);
	ck_assert_uint_eq(count_topic(logt), 1);
	json_object *o = last_on(logt);
	ck_assert_str_eq(str_of(o, "code"), "UPLINK_MIC");
	ck_assert_str_eq(str_of(o, "level"), "ERROR");
	ck_assert_str_eq(str_of(member(o, "deviceInfo"), "devEui"), "70b3d57ed0000001");
	ck_assert_str_eq(str_of(member(o, "context"), "gatewayId"), "aa555a0000000001");
	json_object_put(o);
	ck_assert_uint_eq(held(), 0);
	ck_assert(!w.devices.dev[0].has_last_fcnt);   /* the session did not move */
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_uint_eq(release(), 0);
	ck_assert_uint_eq(count_topic(up), 0);
	ck_assert_int_eq(committed_fcnt_up(), -1);
	ck_assert_uint_eq(count_topic("gateway/aa555a0000000001/event/up"), 0);
}
END_TEST

/* mqtt.airtime_state_pct = 1: state/airtime retained at the first uplink,
 * not again for a few tens of ms of airtime (1 % of 30 s is 300 ms); with
 * 0, again at each uplink. The `up` events carry the exact figures. */
START_TEST(test_airtime_state_step)
{
	uint8_t phy[LW_MAX_PHY];
	char st[PUBLISH_TOPIC_MAX], up[PUBLISH_TOPIC_MAX];

	snprintf(st, sizeof(st), "application/default/device/70b3d57ed0000001/state/airtime");
	device_topic(up, sizeof(up), DEV_EUI, "up");
	w.budget.c.state_pct = 1;
	for (uint32_t f = 1; f <= 3; f++) {
		size_t len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, f, 10, "hello");
		hear_one(phy, len);
	}
	ck_assert_uint_eq(count_topic(st), 1);
	w.budget.c.state_pct = 0;
	size_t len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 4, 10, "hello");
	hear_one(phy, len);
	ck_assert_uint_eq(count_topic(st), 2);
	json_object *o = last_on(st);
	ck_assert_int_eq(json_object_get_int64(member(o, "downlinks")), 0);
	double ms = json_object_get_double(member(o, "uplinkAirtimeMs"));
	json_object_put(o);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_uint_eq(release(), 4);
	o = last_on(up);
	ck_assert(json_object_get_double(member(member(o, "fairAccess"), "uplinkAirtimeMs")) == ms);
	json_object_put(o);
}
END_TEST

/* mqtt.gateway_frames = "unknown": a frame no device's keys verify goes out
 * as a gateway `up` event once verification failed; an accepted one does
 * not (it is the device's `up`). */
START_TEST(test_bad_mic_gateway_frame)
{
	uint8_t phy[LW_MAX_PHY];
	const char *gw_up = "gateway/aa555a0000000001/event/up";

	t.up.gateway_frames = LB_GWF_UNKNOWN;
	size_t len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 1, 10, "hello");
	hear_one(phy, len);
	ck_assert_uint_eq(count_topic(gw_up), 0);
	ck_assert_uint_eq(w.stats.gateway_events, 0);
	len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 2, 10, "hello");
	phy[len - 1] ^= 0x01;
	hear_one(phy, len);
	ck_assert_uint_eq(w.stats.frame_drops[DROP_MIC], 1);
	ck_assert_uint_eq(count_topic(gw_up), 1);
	ck_assert_uint_eq(w.stats.gateway_events, 1);
	json_object *o = last_on(gw_up);
	ck_assert_str_eq(str_of(member(o, "rxInfo"), "gatewayId"), "aa555a0000000001");
	json_object_put(o);
}
END_TEST

START_TEST(test_unknown_devaddr)
{
	uint8_t phy[LW_MAX_PHY];

	size_t len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, OTHER_ADDR, 1, 10, "hello");
	hear_one(phy, len);
	ck_assert_uint_eq(w.stats.uplinks_unique, 1);
	ck_assert_uint_eq(w.stats.frame_drops[DROP_UNKNOWN_DEVADDR], 1);
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_uint_eq(held(), 0);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_uint_eq(release(), 0);
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_uint_eq(w.stats.log_events, 0);
}
END_TEST

START_TEST(test_undecodable_phy)
{
	const uint8_t junk[5] = {0x40, 1, 2, 3, 4};

	hear_one(junk, sizeof(junk));
	ck_assert_uint_eq(w.stats.frame_drops[DROP_PHY_MALFORMED], 1);
	ck_assert_uint_eq(w.sink.n, 0);
}
END_TEST

/* A gateway known with a downlink route, as dispatch leaves it after a PULL_DATA. */
static struct sockaddr_in route_of(uint64_t gw_eui, uint16_t port)
{
	bool came_online = false;
	struct sockaddr_in sin = world_route(&w, gw_eui, port, &came_online);

	ck_assert(came_online);
	return sin;
}

START_TEST(test_confirmed_uplink_acked)
{
	uint8_t phy[LW_MAX_PHY];
	struct gwmp_txpk txpk;
	struct lw_frame f;
	char topic[PUBLISH_TOPIC_MAX];

	struct sockaddr_in route = route_of(GW_1, 1700);
	int64_t t0 = loop_now_ms();
	size_t len = build_up(phy, LW_MTYPE_CONFIRMED_UP, DEV_ADDR, 7, 2, "ping");
	hear_one(phy, len);
	ck_assert(w.devices.dev[0].rt.ack_due);
	ck_assert_uint_eq(w.udp.n, 0);

	/* Nothing before uplink + delay_ms ... */
	int64_t due = txsched_tick(&w.tx, t0);
	ck_assert_uint_eq(w.udp.n, 0);
	ck_assert_int_ge(due, t0 + w.cfg.downlink_delay_ms);
	/* ... then one PULL_RESP to the gateway's downlink route. */
	tx_tick(due);
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_uint_eq(w.tx.stats.scheduled, 1);
	const struct rec_dgram *d = &w.udp.d[0];
	ck_assert_uint_gt(d->len, GWMP_LEN_HDR);
	ck_assert_uint_eq(d->buf[0], 2);                 /* the gateway's GWMP version */
	ck_assert_uint_eq(d->buf[GWMP_OFF_IDENT], GWMP_PULL_RESP);
	ck_assert_uint_eq(d->to.len, sizeof(route));
	ck_assert_mem_eq(&d->to.addr, &route, sizeof(route));

	/* RX1: same frequency and DR, tmst + 1 s, an ACK for the device. */
	ck_assert_int_eq(gwmp_parse_pull_resp(d->buf + GWMP_OFF_JSON_DOWN,
					      d->len - GWMP_OFF_JSON_DOWN, &txpk), LB_OK);
	ck_assert(txpk.has_tmst);
	ck_assert_uint_eq(txpk.tmst, TMST + 1000000u);
	ck_assert_uint_eq(txpk.freq_hz, 868100000);
	ck_assert_uint_eq(txpk.sf, 7);
	ck_assert(txpk.ipol);
	ck_assert_int_eq(lorawan_parse(txpk.data, txpk.size, &f), LB_OK);
	ck_assert_int_eq(f.mtype, LW_MTYPE_UNCONFIRMED_DOWN);
	ck_assert_uint_eq(f.u.data.dev_addr, DEV_ADDR);
	ck_assert(f.u.data.ack);
	ck_assert(!f.u.data.has_fport);
	ck_assert(!w.devices.dev[0].rt.ack_due);

	/* The gateway's TX_ACK ends it: the bridge's own frame, counted, no
	 * txack event (ChirpStack sends txack only for a queue item's frame). */
	struct gwmp_txack ok;
	memset(&ok, 0, sizeof(ok));
	/* From anywhere but where the PULL_RESP went, it is refused. */
	struct udp_peer elsewhere = d->to;
	((struct sockaddr_in *)&elsewhere.addr)->sin_port ^= 1;
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d->buf + GWMP_OFF_TOKEN, &elsewhere, &ok),
			 LB_ERR_ADDRESS_MISMATCH);
	ck_assert_uint_eq(w.tx.stats.sent, 0);
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d->buf + GWMP_OFF_TOKEN, &d->to, &ok), LB_OK);
	ck_assert_uint_eq(w.tx.stats.sent, 1);
	ck_assert_uint_eq(w.tx.stats.sent_own, 1);
	device_topic(topic, sizeof(topic), DEV_EUI, "txack");
	ck_assert_uint_eq(count_topic(topic), 0);
	/* Only one answer per uplink. */
	tx_tick(due + 60000);
	ck_assert_uint_eq(w.udp.n, 1);
}
END_TEST

static void push_item(const char *id, bool confirmed, bool has_expiry, int64_t expires_at_us)
{
	struct store_downlink dl;

	memset(&dl, 0, sizeof(dl));
	snprintf(dl.id, sizeof(dl.id), "%s", id);
	dl.dev_eui = DEV_EUI;
	dl.fport = 3;
	dl.confirmed = confirmed;
	dl.len = 2;
	dl.data[0] = 0xbe;
	dl.data[1] = 0xef;
	dl.has_expires_at = has_expiry;
	dl.expires_at_us = expires_at_us;
	ck_assert_int_eq(store_downlink_push(&w.store, &dl, NULL), LB_OK);
}

/* Run the decision after an uplink: the PULL_RESP it sent, or NULL. */
static const struct rec_dgram *decide_now(void)
{
	size_t before = w.udp.n;
	tx_tick(loop_now_ms() + w.cfg.downlink_delay_ms + 1);
	return w.udp.n > before ? &w.udp.d[w.udp.n - 1] : NULL;
}

#define ITEM_A "6ba7b811-9dad-11d1-80b4-00c04fd430c8"
#define ITEM_B "6ba7b812-9dad-11d1-80b4-00c04fd430c8"

/* A refused downlink (TX_ACK error in RX1, then in RX2) is no txack but a
 * `log` event DOWNLINK_GATEWAY, level ERROR, naming the gateway and the
 * error, as ChirpStack reports it. */
START_TEST(test_refused_downlink_is_a_log)
{
	uint8_t phy[LW_MAX_PHY];
	char topic[PUBLISH_TOPIC_MAX];
	struct gwmp_txack err;

	(void)route_of(GW_1, 1701);
	push_item(ITEM_A, false, false, 0);
	first_uplink(phy);
	const struct rec_dgram *d = decide_now();
	ck_assert_ptr_nonnull(d);
	memset(&err, 0, sizeof(err));
	snprintf(err.error, sizeof(err.error), "TOO_LATE");
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d->buf + GWMP_OFF_TOKEN, &d->to, &err), LB_OK);
	ck_assert_uint_eq(w.udp.n, 2);                   /* RX2 tried */
	d = &w.udp.d[1];
	snprintf(err.error, sizeof(err.error), "COLLISION_PACKET");
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d->buf + GWMP_OFF_TOKEN, &d->to, &err), LB_OK);
	ck_assert_uint_eq(w.tx.stats.failed, 1);
	device_topic(topic, sizeof(topic), DEV_EUI, "txack");
	ck_assert_uint_eq(count_topic(topic), 0);
	device_topic(topic, sizeof(topic), DEV_EUI, "log");
	json_object *o = last_on(topic);
	ck_assert_str_eq(str_of(o, "code"), "DOWNLINK_GATEWAY");
	ck_assert_str_eq(str_of(o, "level"), "ERROR");
	json_object *ctx = member(o, "context");
	ck_assert_str_eq(str_of(ctx, "gatewayId"), "aa555a0000000001");
	ck_assert_str_eq(str_of(ctx, "error"), "COLLISION_PACKET");
	ck_assert_str_eq(str_of(ctx, "queueItemId"), ITEM_A);
	json_object_put(o);
}
END_TEST

/* An item whose expiresAt passed is dropped with a `log` EXPIRED and never
 * sent; the next one in the queue goes in its place. */
START_TEST(test_expired_item_dropped)
{
	uint8_t phy[LW_MAX_PHY];
	char topic[PUBLISH_TOPIC_MAX];
	struct store_downlink dl;
	struct gwmp_txpk txpk;
	struct lw_frame f;

	(void)route_of(GW_1, 1702);
	push_item(ITEM_A, false, true, loop_wall_us() - 1000);
	push_item(ITEM_B, false, true, loop_wall_us() + 3600 * INT64_C(1000000));
	first_uplink(phy);
	const struct rec_dgram *d = decide_now();
	ck_assert_ptr_nonnull(d);
	device_topic(topic, sizeof(topic), DEV_EUI, "log");
	json_object *o = last_on(topic);
	ck_assert_str_eq(str_of(o, "code"), "EXPIRED");
	ck_assert_str_eq(str_of(member(o, "context"), "queueItemId"), ITEM_A);
	json_object_put(o);
	ck_assert_int_eq(store_downlink_get(&w.store, ITEM_A, &dl), LB_ERR_NOT_FOUND);
	/* What went is B's payload, without FPending (nothing else is queued). */
	ck_assert_int_eq(gwmp_parse_pull_resp(d->buf + GWMP_OFF_JSON_DOWN,
					      d->len - GWMP_OFF_JSON_DOWN, &txpk), LB_OK);
	ck_assert_int_eq(lorawan_parse(txpk.data, txpk.size, &f), LB_OK);
	ck_assert(f.u.data.has_fport);
	ck_assert_uint_eq(f.u.data.fport, 3);
	ck_assert(!f.u.data.fpending);
	ck_assert_int_eq(store_downlink_get(&w.store, ITEM_B, &dl), LB_OK);
}
END_TEST

/* The `ack` of a confirmed downlink carries the deduplicationId of the
 * uplink whose ACK bit settled it (integration.proto AckEvent). */
START_TEST(test_ack_carries_uplink_dedup_id)
{
	uint8_t phy[LW_MAX_PHY];
	char topic[PUBLISH_TOPIC_MAX];
	struct gwmp_txack ok;

	(void)route_of(GW_1, 1703);
	push_item(ITEM_A, true, false, 0);
	first_uplink(phy);
	const struct rec_dgram *d = decide_now();
	ck_assert_ptr_nonnull(d);
	memset(&ok, 0, sizeof(ok));
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d->buf + GWMP_OFF_TOKEN, &d->to, &ok), LB_OK);
	ck_assert(w.devices.dev[0].rt.confirmed != NULL);
	/* The device's next uplink has the ACK bit. */
	hear_one(phy, build_ack_up(phy, 2));
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	release();
	/* integration.proto TxAckEvent: downlinkId a uint32, the queue item's
	 * id, txInfo of the window taken. */
	device_topic(topic, sizeof(topic), DEV_EUI, "txack");
	ck_assert_uint_eq(count_topic(topic), 1);
	json_object *o = last_on(topic);
	ck_assert_str_eq(str_of(o, "gatewayId"), "aa555a0000000001");
	ck_assert(json_object_is_type(member(o, "downlinkId"), json_type_int));
	ck_assert_str_eq(str_of(o, "queueItemId"), ITEM_A);
	json_object *tx = member(o, "txInfo");
	ck_assert_int_eq(json_object_get_int64(member(tx, "frequency")), 868100000);
	ck_assert_str_eq(str_of(member(member(tx, "timing"), "delay"), "delay"), "1s");
	ck_assert_str_eq(str_of(tx, "context"), "0Vovww==");   /* TMST, 4 bytes big endian */
	ck_assert(json_object_get_boolean(
		member(member(member(tx, "modulation"), "lora"), "polarizationInversion")));
	ck_assert(!json_object_object_get_ex(o, "sent", NULL));
	json_object_put(o);
	device_topic(topic, sizeof(topic), DEV_EUI, "up");
	json_object *up = last_on(topic);
	device_topic(topic, sizeof(topic), DEV_EUI, "ack");
	json_object *ack = last_on(topic);
	ck_assert_str_eq(str_of(ack, "deduplicationId"), str_of(up, "deduplicationId"));
	ck_assert(json_object_get_boolean(member(ack, "acknowledged")));
	ck_assert_str_eq(str_of(ack, "queueItemId"), ITEM_A);
	ck_assert_str_eq(str_of(up, "regionConfigId"), "eu868");
	json_object *info = member(up, "deviceInfo");
	ck_assert_str_eq(str_of(info, "tenantName"), "lorabridge");
	ck_assert_str_eq(str_of(info, "deviceClassEnabled"), "CLASS_A");
	ck_assert_uint_eq(strlen(str_of(info, "applicationId")), 36);
	json_object_put(up);
	json_object_put(ack);
}
END_TEST

START_TEST(test_confirmed_uplink_without_route)
{
	uint8_t phy[LW_MAX_PHY];

	/* The gateway never sent PULL_DATA: it is not in the table. */
	size_t len = build_up(phy, LW_MTYPE_CONFIRMED_UP, DEV_ADDR, 1, 2, "ping");
	hear_one(phy, len);
	tx_tick(loop_now_ms() + w.cfg.downlink_delay_ms + 1000);
	ck_assert_uint_eq(w.udp.n, 0);
	ck_assert_uint_eq(w.tx.stats.no_route, 1);
	ck_assert_uint_eq(w.tx.stats.failed, 1);
	assert_last_log("DOWNLINK_GATEWAY");
}
END_TEST

START_TEST(test_failing_part_holds_up)
{
	uint8_t phy[LW_MAX_PHY];
	char up[PUBLISH_TOPIC_MAX];
	struct fake_part part = {.rc = LB_ERR_IO};

	device_topic(up, sizeof(up), DEV_EUI, "up");
	ck_assert_int_eq(durable_add(&w.durable, fake_stage, fake_due, &part), LB_OK);
	size_t len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 1, 10, "hello");
	hear_one(phy, len);
	ck_assert_uint_eq(held(), 1);

	/* The batch does not commit without every part. */
	ck_assert_int_eq(durable_commit(&w.durable), LB_ERR_IO);
	ck_assert_uint_eq(part.calls, 1);
	ck_assert_uint_eq(w.durable.failures, 1);
	ck_assert_uint_eq(release(), 0);
	ck_assert_uint_eq(held(), 1);
	ck_assert_uint_eq(count_topic(up), 0);
	ck_assert_int_eq(committed_fcnt_up(), -1);
	/* Still failing: still held. */
	ck_assert_int_eq(durable_commit(&w.durable), LB_ERR_IO);
	ck_assert_uint_eq(release(), 0);
	ck_assert_uint_eq(count_topic(up), 0);

	part.rc = LB_OK;
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_uint_eq(part.calls, 3);
	ck_assert_int_eq(committed_fcnt_up(), 1);
	ck_assert_uint_eq(release(), 1);
	ck_assert_uint_eq(held(), 0);
	ck_assert_uint_eq(count_topic(up), 1);
	json_object *o = last_on(up);
	ck_assert_int_eq(json_object_get_int64(member(o, "fCnt")), 1);
	json_object_put(o);
}
END_TEST

#define OTAA_EUI UINT64_C(0x70b3d57ed0000009)
#define JOIN_EUI UINT64_C(0x70b3d57ed0000000)

static void join_with_nonce(struct lw_key *app_key, uint16_t nonce)
{
	uint8_t req[JOIN_LEN_REQUEST];

	ck_assert_int_eq(join_request_build(JOIN_EUI, OTAA_EUI, nonce, app_key, req), LB_OK);
	hear_one(req, sizeof(req));
}

/* The registry of a join test: the ABP device and one OTAA device, whose
 * AppKey *app_key is made ready. */
static struct lb_device *otaa_device(struct lw_key *app_key)
{
	struct lb_device_conf conf[2];

	memset(conf, 0, sizeof(conf));
	conf[0] = (struct lb_device_conf){.name = (char *)"sensor", .application = (char *)"default",
					  .dev_eui = DEV_EUI, .activation = LB_ACT_ABP,
					  .dev_addr = DEV_ADDR, .lorawan_version = 3,
					  .fair_access = w.cfg.fair_access};
	memcpy(conf[0].nwk_s_key, NWK, 16);
	memcpy(conf[0].app_s_key, APP, 16);
	conf[1] = (struct lb_device_conf){.name = (char *)"door", .application = (char *)"default",
					  .dev_eui = OTAA_EUI, .activation = LB_ACT_OTAA,
					  .join_eui = JOIN_EUI, .lorawan_version = 3,
					  .fair_access = w.cfg.fair_access};
	memcpy(conf[1].app_key, NWK, 16);
	ck_assert_int_eq(devices_reload(&w.devices, conf, 2), LB_OK);
	struct lb_device *dev = devices_find_eui(&w.devices, OTAA_EUI);
	ck_assert_ptr_nonnull(dev);
	memset(app_key, 0, sizeof(*app_key));
	ck_assert_int_eq(lwcrypto_key_init(app_key, NWK), LB_OK);
	return dev;
}

/* An uplink of OTAA_EUI under the session (addr, nwk, app), heard. */
static void uplink_under(uint32_t addr, const uint8_t nwk[16], const uint8_t app[16], uint32_t fcnt)
{
	struct lw_keys ks;
	uint8_t phy[LW_MAX_PHY];
	size_t len;
	struct lw_data_params p = {.mtype = LW_MTYPE_UNCONFIRMED_UP, .dev_addr = addr,
				   .fcnt = fcnt, .has_fport = true, .fport = 2,
				   .payload = (const uint8_t *)"x", .payload_len = 1};

	memset(&ks, 0, sizeof(ks));
	ck_assert_int_eq(lwcrypto_keys_init(&ks, nwk, app), LB_OK);
	ck_assert_int_eq(lorawan_build_data(&p, &ks, phy, LW_MAX_PHY, &len), LB_OK);
	lwcrypto_keys_free(&ks);
	hear_one(phy, len);
}

/* A session as the test keeps it, to build the device's frames with. */
struct test_session {
	uint32_t addr;
	uint8_t nwk[16];
	uint8_t app[16];
};

static struct test_session current_of(const struct lb_device *dev)
{
	struct test_session ts = {.addr = dev->dev_addr};
	memcpy(ts.nwk, dev->nwk_s_key, 16);
	memcpy(ts.app, dev->app_s_key, 16);
	return ts;
}

static struct test_session pending_of(uint64_t eui)
{
	struct pending_session *p = pending_find_eui(&w.sessions.pending, eui);
	ck_assert_ptr_nonnull(p);
	struct test_session ts = {.addr = p->dev_addr};
	memcpy(ts.nwk, p->nwk_s_key, 16);
	memcpy(ts.app, p->app_s_key, 16);
	return ts;
}

static void uplink_in(const struct test_session *ts, uint32_t fcnt)
{
	uplink_under(ts->addr, ts->nwk, ts->app, fcnt);
}

/* LoRaWAN 1.0.3 §6.2.4 / TS001-1.0.4 §6.2: an OTAA device joining again
 * keeps its session until its first uplink under the new one (session.h).
 * Meanwhile the old one works, a further join replaces the pending one,
 * and the first uplink under the pending session promotes it: the old
 * DevAddr is no longer accepted, the store keeps the new session alone. */
START_TEST(test_rejoin_pending_session)
{
	struct lw_key app_key;
	struct store_session row;
	char up[PUBLISH_TOPIC_MAX];
	struct lb_device *dev = otaa_device(&app_key);

	device_topic(up, sizeof(up), OTAA_EUI, "up");
	join_with_nonce(&app_key, 1);
	ck_assert(dev->has_session);   /* a first join: at once */
	ck_assert_ptr_null(pending_find_eui(&w.sessions.pending, OTAA_EUI));
	struct test_session first = current_of(dev);
	uplink_in(&first, 1);
	ck_assert_uint_eq(dev->last_fcnt_up, 1);

	/* The device joins again (its old session row waits for the commit). */
	join_with_nonce(&app_key, 2);
	ck_assert_uint_eq(dev->dev_addr, first.addr);
	ck_assert_uint_eq(pending_count(&w.sessions.pending), 1);
	struct test_session second = pending_of(OTAA_EUI);
	ck_assert_uint_ne(second.addr, first.addr);
	ck_assert_uint_eq(dev->rt.dev_nonce, 2);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(store_get_session(&w.store, OTAA_EUI, &row), LB_OK);
	ck_assert_uint_eq(row.dev_addr, first.addr);
	ck_assert_uint_eq(row.dev_nonce_last, 2);   /* the nonces are the device's */
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM pending_session"), 1);

	/* It missed the join-accept: its old session goes on. */
	uplink_in(&first, 2);
	ck_assert_uint_eq(dev->last_fcnt_up, 2);
	ck_assert_uint_eq(dev->dev_addr, first.addr);

	/* A third join replaces the pending session; the current one stays. */
	join_with_nonce(&app_key, 3);
	ck_assert_uint_eq(pending_count(&w.sessions.pending), 1);
	struct test_session third = pending_of(OTAA_EUI);
	ck_assert_uint_ne(third.addr, second.addr);
	ck_assert_uint_ne(third.addr, first.addr);
	ck_assert_uint_eq(dev->dev_addr, first.addr);
	uint64_t unknown = w.stats.frame_drops[DROP_UNKNOWN_DEVADDR];
	uplink_in(&second, 0);   /* the replaced one is no session */
	ck_assert_uint_eq(w.stats.frame_drops[DROP_UNKNOWN_DEVADDR], unknown + 1);
	ck_assert_uint_eq(dev->dev_addr, first.addr);

	/* The first uplink under the pending session promotes it and is
	 * processed under it. */
	uplink_in(&third, 0);
	ck_assert_uint_eq(dev->dev_addr, third.addr);
	ck_assert_int_eq(memcmp(dev->nwk_s_key, third.nwk, 16), 0);
	ck_assert(dev->has_last_fcnt);
	ck_assert_uint_eq(dev->last_fcnt_up, 0);
	ck_assert_uint_eq(pending_count(&w.sessions.pending), 0);

	/* The old DevAddr is released. */
	uplink_in(&first, 3);
	ck_assert_uint_eq(w.stats.frame_drops[DROP_UNKNOWN_DEVADDR], unknown + 2);
	uplink_in(&third, 1);
	ck_assert_uint_eq(dev->last_fcnt_up, 1);

	/* The promotion is written with the next commit: one session row. */
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(store_get_session(&w.store, OTAA_EUI, &row), LB_OK);
	ck_assert_uint_eq(row.dev_addr, third.addr);
	ck_assert_int_eq(memcmp(row.nwk_s_key, third.nwk, 16), 0);
	ck_assert_uint_eq(row.fcnt_up_last, 1);
	ck_assert_uint_eq(row.dev_nonce_last, 3);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM pending_session"), 0);
	/* Four uplinks published: two under the first session, two under the
	 * third, the last one's DevAddr the new one. */
	(void)release();
	ck_assert_uint_eq(count_topic(up), 4);
	json_object *o = last_on(up);
	ck_assert_int_eq(json_object_get_int64(member(o, "fCnt")), 1);
	char addr[9];
	snprintf(addr, sizeof(addr), "%08x", third.addr);
	ck_assert_str_eq(str_of(o, "devAddr"), addr);
	json_object_put(o);
	lwcrypto_key_free(&app_key);
}
END_TEST

/* A class C device heard under its current session while a join is
 * pending: the mark that lets class C send under it (classc.h). Class A
 * devices are not looked up. */
START_TEST(test_pending_current_heard)
{
	struct lw_key app_key;
	struct lb_device *dev = otaa_device(&app_key);

	join_with_nonce(&app_key, 1);
	struct test_session first = current_of(dev);
	join_with_nonce(&app_key, 2);
	uplink_in(&first, 1);
	ck_assert(!pending_find_eui(&w.sessions.pending, OTAA_EUI)->current_heard);
	dev->dev_class = LB_CLASS_C;
	ck_assert(!sessions_current_sure(&w.sessions, dev));
	uplink_in(&first, 2);
	ck_assert_uint_eq(dev->last_fcnt_up, 2);
	ck_assert(pending_find_eui(&w.sessions.pending, OTAA_EUI)->current_heard);
	ck_assert(sessions_current_sure(&w.sessions, dev));
	lwcrypto_key_free(&app_key);
}
END_TEST

/* A retransmission (the last accepted FCntUp again, its MIC verified
 * under the current session) marks the device heard under that session
 * while a join is pending only if the frame was first accepted after the
 * join: a repeat of an older frame may be anyone's replay (session.h
 * sessions_current_repeated()). The device is class A while the frame is
 * first heard (not looked up), class C when it repeats (a reload). */
START_TEST(test_pending_current_repeated)
{
	struct lw_key app_key;
	struct lb_device *dev = otaa_device(&app_key);

	join_with_nonce(&app_key, 1);
	struct test_session first = current_of(dev);
	uplink_in(&first, 1);
	join_with_nonce(&app_key, 2);
	lwcrypto_key_free(&app_key);
	dev->dev_class = LB_CLASS_C;
	uplink_in(&first, 1);   /* made before the join: a replay proves nothing */
	ck_assert_uint_eq(w.stats.frame_drops[DROP_RETRANSMISSION], 1);
	ck_assert(!sessions_current_sure(&w.sessions, dev));

	dev->dev_class = LB_CLASS_A;
	uplink_in(&first, 2);   /* made after it, heard as class A */
	ck_assert_uint_eq(dev->last_fcnt_up, 2);
	ck_assert(!sessions_current_sure(&w.sessions, dev));
	dev->dev_class = LB_CLASS_C;
	uplink_in(&first, 2);   /* its repeat */
	ck_assert_uint_eq(w.stats.frame_drops[DROP_RETRANSMISSION], 2);
	ck_assert_uint_eq(dev->last_fcnt_up, 2);
	ck_assert(sessions_current_sure(&w.sessions, dev));
}
END_TEST

static size_t queued_of(uint64_t dev_eui)
{
	size_t n = 0;
	ck_assert_int_eq(store_downlink_count(&w.store, dev_eui, &n), LB_OK);
	return n;
}

/* Every PULL_RESP so far acknowledged by its gateway (TX_ACK, no error). */
static void txack_all(void)
{
	struct gwmp_txack ok;

	memset(&ok, 0, sizeof(ok));
	for (size_t i = 0; i < w.udp.n; i++)
		(void)txsched_tx_ack(&w.tx, GW_1, w.udp.d[i].buf + GWMP_OFF_TOKEN, &w.udp.d[i].to,
				     &ok);
}

/* An OTAA device joined, heard once under that session (*first), then
 * rejoined: its new session pending, the first still current. */
static struct lb_device *rejoined_after_uplink(struct test_session *first)
{
	struct lw_key app_key;
	struct lb_device *dev = otaa_device(&app_key);

	(void)route_of(GW_1, 1740);
	join_with_nonce(&app_key, 1);
	*first = current_of(dev);
	uplink_in(first, 1);
	join_with_nonce(&app_key, 2);
	lwcrypto_key_free(&app_key);
	return dev;
}

/* A one-byte class C queue item for the OTAA device, told to class C. */
static void class_c_item(struct lb_device *dev, const char *id)
{
	struct store_downlink dl;

	memset(&dl, 0, sizeof(dl));
	snprintf(dl.id, sizeof(dl.id), "%s", id);
	dl.dev_eui = OTAA_EUI;
	dl.fport = 5;
	dl.len = 1;
	dl.data[0] = 'x';
	ck_assert_int_eq(store_downlink_push(&w.store, &dl, NULL), LB_OK);
	classc_queued(&w.cc, dev);
}

/* The DevAddr of the frame in the last PULL_RESP sent. */
static uint32_t last_downlink_addr(void)
{
	struct gwmp_txpk tx;
	struct lw_frame f;
	const struct rec_dgram *d = &w.udp.d[w.udp.n - 1];

	ck_assert_int_eq(gwmp_parse_pull_resp(d->buf + GWMP_OFF_JSON_DOWN,
					      d->len - GWMP_OFF_JSON_DOWN, &tx), LB_OK);
	ck_assert_int_eq(lorawan_parse(tx.data, tx.size, &f), LB_OK);
	return f.u.data.dev_addr;
}

/* The same through class C itself (classc.h), uplinks through the real
 * uplink path: a class C item queued while a session is pending waits
 * (CLASS_C_SESSION_PENDING, once) until an uplink verified under the
 * current session says the device still has it; then it goes under it. */
START_TEST(test_class_c_waits_for_uplink_while_pending)
{
	struct test_session first;
	struct lb_device *dev = rejoined_after_uplink(&first);
	char log_topic[PUBLISH_TOPIC_MAX];

	ck_assert_ptr_nonnull(pending_find_eui(&w.sessions.pending, OTAA_EUI));
	/* the join-accepts and class A decisions done with */
	(void)world_timers(&w, WORLD_TXSCHED, loop_now_ms() + 60000);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	dev->dev_class = LB_CLASS_C;
	world_add(&w, &(struct world_opts){.modules = WORLD_CLASSC});
	ck_assert_int_eq(classc_sync(&w.cc), LB_OK);

	class_c_item(dev, "after-join");
	size_t sent = w.udp.n;
	(void)world_timers(&w, WORLD_CLASSC, loop_now_ms() + 60000);
	(void)world_timers(&w, WORLD_CLASSC, loop_now_ms() + 60000);
	ck_assert_uint_eq(w.udp.n, sent);
	(void)release();
	device_topic(log_topic, sizeof(log_topic), OTAA_EUI, "log");
	size_t waits = 0;
	for (size_t i = 0; i < w.sink.n; i++)
		waits += !strcmp(w.sink.m[i].topic, log_topic) &&
			 strstr(w.sink.m[i].payload, "CLASS_C_SESSION_PENDING");
	ck_assert_uint_eq(waits, 1);

	/* Heard under its current session (uplink.c marks it): the item goes
	 * under it, and a class C item queued after it too. */
	uplink_in(&first, 2);
	ck_assert_uint_eq(dev->last_fcnt_up, 2);
	for (int i = 0; i < 4 && queued_of(OTAA_EUI) > 0; i++) {
		(void)world_timers(&w, WORLD_TXSCHED | WORLD_CLASSC, loop_now_ms() + 60000);
		ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
		txack_all();
	}
	ck_assert_uint_eq(queued_of(OTAA_EUI), 0);
	class_c_item(dev, "class-c");
	sent = w.udp.n;
	for (int i = 0; i < 4 && w.udp.n == sent; i++) {
		(void)world_timers(&w, WORLD_CLASSC, loop_now_ms() + 60000);
		ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	}
	ck_assert_uint_gt(w.udp.n, sent);
	ck_assert_uint_eq(last_downlink_addr(), first.addr);   /* under the current session */
}
END_TEST

/* The registry and the pending sessions as a restart finds them: the
 * devices rebuilt from the configuration, then restored from the store. */
static struct lb_device *restart_sessions(void)
{
	struct lw_key k;

	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	sessions_forget(&w.sessions);
	pending_free(&w.sessions.pending);
	pending_init(&w.sessions.pending);
	/* Another AppKey is another device (no session kept), then back. */
	struct lb_device_conf conf = {.name = (char *)"door", .application = (char *)"default",
				      .dev_eui = OTAA_EUI, .activation = LB_ACT_OTAA,
				      .join_eui = JOIN_EUI, .lorawan_version = 3,
				      .fair_access = w.cfg.fair_access};
	memcpy(conf.app_key, APP, 16);
	ck_assert_int_eq(devices_reload(&w.devices, &conf, 1), LB_OK);
	ck_assert(!devices_find_eui(&w.devices, OTAA_EUI)->has_session);
	struct lb_device *dev = otaa_device(&k);
	lwcrypto_key_free(&k);
	ck_assert(!dev->has_session);
	ck_assert_int_eq(sessions_restore(&w.sessions), LB_OK);
	return dev;
}

/* Crash safety: the pending session is on the disk with its join; after a
 * restart both sessions are back, and the pending one is still taken by
 * the device's first uplink under it. */
START_TEST(test_pending_session_restored)
{
	struct lw_key app_key;
	struct lb_device *dev = otaa_device(&app_key);

	join_with_nonce(&app_key, 1);
	struct test_session first = current_of(dev);
	uplink_in(&first, 5);
	join_with_nonce(&app_key, 2);
	lwcrypto_key_free(&app_key);
	struct test_session second = pending_of(OTAA_EUI);

	dev = restart_sessions();
	ck_assert(dev->has_session);
	ck_assert_uint_eq(dev->dev_addr, first.addr);
	ck_assert_uint_eq(dev->last_fcnt_up, 5);
	ck_assert_uint_eq(dev->rt.dev_nonce, 2);
	struct test_session back = pending_of(OTAA_EUI);
	ck_assert_uint_eq(back.addr, second.addr);
	ck_assert_int_eq(memcmp(back.nwk, second.nwk, 16), 0);
	ck_assert_int_eq(memcmp(back.app, second.app, 16), 0);

	uplink_in(&first, 6);   /* the old one still works */
	ck_assert_uint_eq(dev->last_fcnt_up, 6);
	uplink_in(&second, 0);
	ck_assert_uint_eq(dev->dev_addr, second.addr);
	ck_assert_uint_eq(dev->last_fcnt_up, 0);
	/* promoted before the restart's commit: still the new session after */
	dev = restart_sessions();
	ck_assert_uint_eq(dev->dev_addr, second.addr);
	ck_assert_ptr_null(pending_find_eui(&w.sessions.pending, OTAA_EUI));
}
END_TEST

/* After a restart, the FCntUp the pending row noted at the join (store
 * schema 12) tells the frames first accepted after it: the last accepted
 * before the restart came after the join (the device heard, at once), a
 * repeat of the noted one does not count, a new frame does. */
START_TEST(test_pending_repeat_after_restart)
{
	struct lw_key app_key;
	struct lb_device *dev = otaa_device(&app_key);

	join_with_nonce(&app_key, 1);
	struct test_session first = current_of(dev);
	uplink_in(&first, 1);
	join_with_nonce(&app_key, 2);
	lwcrypto_key_free(&app_key);

	dev = restart_sessions();
	dev->dev_class = LB_CLASS_C;
	ck_assert_uint_eq(dev->last_fcnt_up, 1);
	ck_assert(!sessions_current_sure(&w.sessions, dev));
	uplink_in(&first, 1);   /* made before the join: a replay proves nothing */
	ck_assert_uint_eq(w.stats.frame_drops[DROP_RETRANSMISSION], 1);
	ck_assert(!sessions_current_sure(&w.sessions, dev));
	dev->dev_class = LB_CLASS_A;
	uplink_in(&first, 2);   /* after the join, class A: not looked up */

	dev = restart_sessions();
	dev->dev_class = LB_CLASS_C;
	ck_assert_uint_eq(dev->last_fcnt_up, 2);
	ck_assert_ptr_nonnull(pending_find_eui(&w.sessions.pending, OTAA_EUI));
	ck_assert_msg(sessions_current_sure(&w.sessions, dev),
		      "FCnt 2, accepted after the join, not known as such after a restart");
	uplink_in(&first, 2);   /* its repeat: as itself */
	ck_assert(sessions_current_sure(&w.sessions, dev));
}
END_TEST

/* A pending row without the note of the current session (written before
 * store schema 12), or noted under another current session than the
 * device has now: whether the last accepted frame came before or after the
 * join is not known; its repeats do not count, a new frame does. */
START_TEST(test_pending_repeat_after_restart_unnoted)
{
	static const char *const unnote[] = {
		"UPDATE pending_session SET current_joined_at = NULL, current_fcnt_up = NULL",
		"UPDATE pending_session SET current_joined_at = current_joined_at - 1",
	};

	for (size_t i = 0; i < sizeof(unnote) / sizeof(unnote[0]); i++) {
		struct lw_key app_key;
		struct lb_device *dev = otaa_device(&app_key);
		uint32_t up = 10 * (uint32_t)i;

		join_with_nonce(&app_key, (uint16_t)(1 + 2 * i));
		struct test_session first = current_of(dev);
		uplink_in(&first, up + 1);
		join_with_nonce(&app_key, (uint16_t)(2 + 2 * i));
		lwcrypto_key_free(&app_key);
		uplink_in(&first, up + 2);   /* after the join, class A: not looked up */
		ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
		rawdb_exec(w.dir, unnote[i]);

		dev = restart_sessions();
		ck_assert_uint_eq(dev->last_fcnt_up, up + 2);
		ck_assert_ptr_nonnull(pending_find_eui(&w.sessions.pending, OTAA_EUI));
		dev->dev_class = LB_CLASS_C;
		ck_assert(!sessions_current_sure(&w.sessions, dev));
		uplink_in(&first, up + 2);
		ck_assert(!sessions_current_sure(&w.sessions, dev));
		uplink_in(&first, up + 3);
		ck_assert(sessions_current_sure(&w.sessions, dev));
	}
}
END_TEST

/* TS001-1.0.4 §6.2 with class C: a device heard under its current session
 * after its rejoin (so it kept that session) may be sent class C downlinks
 * under it; a restart between that uplink and the downlink keeps that
 * (the pending row's note, store schema 12). After the restart class C
 * knows no gateway until the device is heard: a repeat of its last frame
 * (NbTrans) gives one, and the item goes under the current session, with
 * no CLASS_C_SESSION_PENDING wait. */
START_TEST(test_class_c_heard_survives_restart)
{
	struct test_session first;
	struct lb_device *dev = rejoined_after_uplink(&first);
	char log_topic[PUBLISH_TOPIC_MAX];

	dev->dev_class = LB_CLASS_C;
	uplink_in(&first, 2);          /* heard under its current session since the join */
	ck_assert(sessions_current_sure(&w.sessions, dev));
	(void)world_timers(&w, WORLD_TXSCHED, loop_now_ms() + 60000);

	dev = restart_sessions();
	dev->dev_class = LB_CLASS_C;
	ck_assert_uint_eq(dev->last_fcnt_up, 2);
	ck_assert_ptr_nonnull(pending_find_eui(&w.sessions.pending, OTAA_EUI));
	world_add(&w, &(struct world_opts){.modules = WORLD_CLASSC});
	ck_assert_int_eq(classc_sync(&w.cc), LB_OK);
	class_c_item(dev, "after-restart");
	size_t sent = w.udp.n;
	uplink_in(&first, 2);          /* a repeat: class C learns a gateway */
	ck_assert_uint_eq(dev->last_fcnt_up, 2);
	for (int i = 0; i < 4 && queued_of(OTAA_EUI) > 0; i++) {
		(void)world_timers(&w, WORLD_TXSCHED | WORLD_CLASSC, loop_now_ms() + 60000);
		ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
		txack_all();
	}
	(void)release();
	device_topic(log_topic, sizeof(log_topic), OTAA_EUI, "log");
	for (size_t i = 0; i < w.sink.n; i++)
		ck_assert_msg(strcmp(w.sink.m[i].topic, log_topic) ||
			      !strstr(w.sink.m[i].payload, "CLASS_C_SESSION_PENDING"),
			      "class C waits after the restart: %s", w.sink.m[i].payload);
	ck_assert_uint_eq(queued_of(OTAA_EUI), 0);
	ck_assert_uint_gt(w.udp.n, sent);
	ck_assert_uint_eq(last_downlink_addr(), first.addr);   /* under the current session */
}
END_TEST

/* otaa_join() wipes its outcome (the session keys, on its stack) before it
 * returns: after a first join, after a rejoin whose session is pending, and
 * after a join whose commit failed. */
START_TEST(test_join_outcome_wiped)
{
	struct lw_key app_key;
	struct fake_part part = {.rc = LB_OK};
	struct lb_device *dev = otaa_device(&app_key);

	ck_assert_int_eq(durable_add(&w.durable, fake_stage, fake_due, &part), LB_OK);
	wiped.n = 0;
	join_with_nonce(&app_key, 1);
	ck_assert(dev->has_session);
	ck_assert_msg(outcome_wiped(1, dev->nwk_s_key, dev->app_s_key),
		      "a first join's outcome not wiped (%zu wipe(s) of its size with keys set)",
		      wiped.n);

	wiped.n = 0;
	join_with_nonce(&app_key, 2);
	struct test_session second = pending_of(OTAA_EUI);
	ck_assert_msg(outcome_wiped(2, second.nwk, second.app),
		      "a rejoin's outcome not wiped (%zu wipe(s) of its size with keys set)",
		      wiped.n);

	/* A join whose commit fails: its keys are those of its JoinNonce
	 * (TS001-1.0.4 §6.2.6), which the wiped outcome says. */
	part.rc = LB_ERR_IO;
	wiped.n = 0;
	join_with_nonce(&app_key, 3);
	ck_assert_uint_eq(pending_of(OTAA_EUI).addr, second.addr);   /* not taken */
	bool found = false;
	for (size_t i = 0; i < wiped.n && !found; i++) {
		uint8_t nwk[LW_KEY_LEN], app[LW_KEY_LEN];
		if (wiped.o[i].dev_nonce != 3)
			continue;
		ck_assert_int_eq(lwcrypto_derive_session_keys(&app_key, wiped.o[i].join_nonce,
							      w.cfg.net_id, 3, nwk, app), LB_OK);
		found = outcome_wiped(3, nwk, app);
	}
	lwcrypto_key_free(&app_key);
	ck_assert_msg(found, "the outcome of a join not made durable not wiped (%zu wipe(s) of "
		      "its size with keys set)", wiped.n);
}
END_TEST

/* The device of the join tests, joined twice: its second session pending
 * (*second) and committed. */
static struct lb_device *rejoined(struct test_session *first, struct test_session *second)
{
	struct lw_key app_key;
	struct lb_device *dev = otaa_device(&app_key);

	join_with_nonce(&app_key, 1);
	*first = current_of(dev);
	join_with_nonce(&app_key, 2);
	lwcrypto_key_free(&app_key);
	*second = pending_of(OTAA_EUI);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_uint_ne(second->addr, first->addr);
	return dev;
}

/* The batch filled with gateway ledgers (1 MiB blobs) until the redo log
 * has exactly room bytes left. A ledger record: 8 bytes, its header, the
 * blob (8-aligned). */
static void fill_log_leaving(size_t room)
{
	static uint8_t blob[STORE_LEDGER_MAX];
	size_t before = w.store.log_len;

	ck_assert_int_eq(store_ledger_put(&w.store, 0xfeed0000u, STORE_LEDGER_DUTY_CYCLE, blob,
					  sizeof(blob)), LB_OK);
	size_t head = w.store.log_len - before - sizeof(blob);
	for (uint64_t owner = 0xfeed0001u;; owner++) {
		size_t left = STORE_LOG_MAX - w.store.log_len - room;
		if (left == 0)
			break;
		ck_assert_uint_gt(left, head);
		size_t len = left - head < sizeof(blob) ? left - head : sizeof(blob);
		ck_assert_uint_eq(len % 8, 0);
		ck_assert_int_eq(store_ledger_put(&w.store, owner, STORE_LEDGER_DUTY_CYCLE, blob,
						  len), LB_OK);
	}
	ck_assert_uint_eq(STORE_LOG_MAX - w.store.log_len, room);
}

/* The DevAddr of OTAA_EUI's committed session row. */
static int64_t stored_session_addr(void)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT dev_addr FROM session WHERE dev_eui = %lld",
		 (long long)OTAA_EUI);
	return rawdb_int(w.dir, sql);
}

/* dev promoted to second by its first uplink, the batch cut right after
 * (the group commit's commit ahead): the part on the disk holds the new
 * session row or the pending row; the rest of the batch, the new session
 * alone. */
static void promote_in_parts(struct lb_device *dev, struct test_session *second)
{
	uplink_in(second, 0);   /* the promotion */
	ck_assert_uint_eq(dev->dev_addr, second->addr);
	ck_assert_int_eq(store_commit_ahead(&w.store), LB_OK);   /* the batch's first part */

	int64_t stored_addr = stored_session_addr();
	int64_t pending_rows = rawdb_int(w.dir, "SELECT count(*) FROM pending_session");
	ck_assert_msg(pending_rows == 1 || stored_addr == (int64_t)second->addr,
		      "the committed part holds the pending row's deletion without the new "
		      "session row (session row's DevAddr %08llx, the new one %08x)",
		      (unsigned long long)stored_addr, second->addr);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(stored_session_addr(), (int64_t)second->addr);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM pending_session"), 0);
}

/* A promotion's batch committed in parts: the group commit commits ahead
 * when a later write of the batch finds the redo log full (store_batch.h,
 * store_commit_ahead()), and a crash may come before the rest. Whatever
 * part is on the disk holds the new session row or the pending row: the
 * row is staged by the promotion itself, before the pending row's
 * deletion (a row only listed for the commit would follow the deletion
 * into a later part: neither the pending session nor the new one then).
 * A second connection sees what was committed, as a restart would. */
START_TEST(test_promotion_row_before_pending_deletion)
{
	struct test_session first, second;
	struct lb_device *dev = rejoined(&first, &second);

	promote_in_parts(dev, &second);
}
END_TEST

/* The same when the promotion finds the redo log too full for the new
 * session row (LB_ERR_FULL) but not for the pending row's deletion, a
 * smaller record: the row cannot wait for the commit behind the deletion.
 * 24 bytes left: room for the deletion's record (16), not for the row's. */
START_TEST(test_promotion_row_before_pending_deletion_log_full)
{
	struct test_session first, second;
	struct lb_device *dev = rejoined(&first, &second);

	fill_log_leaving(24);
	promote_in_parts(dev, &second);
}
END_TEST

/* The promotion finds room in the redo log for the new session row but not
 * for the pending row's deletion after it: the part committed ahead ends
 * with the row and the deletion is staged after it, not dropped (else a
 * restart reads the promoted session back as pending beside itself). The
 * batch is filled up to 8 bytes past the row's record, measured first:
 * the deletion's record is 16. */
START_TEST(test_promotion_pending_deletion_log_full)
{
	struct test_session first, second;
	struct lb_device *dev = rejoined(&first, &second);
	size_t before = w.store.log_len;

	ck_assert_int_eq(sessions_stage(&w.sessions, dev), LB_OK);
	size_t room = w.store.log_len - before + 8;
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	fill_log_leaving(room);

	uplink_in(&second, 0);   /* the promotion */
	ck_assert_uint_eq(dev->dev_addr, second.addr);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(stored_session_addr(), (int64_t)second.addr);
	ck_assert_msg(rawdb_int(w.dir, "SELECT count(*) FROM pending_session") == 0,
		      "the promoted session's pending row was not deleted");
}
END_TEST

/* A SIGHUP as bridge_reload() takes it: the ABP device and, if `door` is
 * not NULL, the join test's device as *door configures it; the devices
 * taken in afresh get their stored state back. Returns OTAA_EUI's device
 * (NULL if removed). */
static struct lb_device *reload_door(const struct lb_device_conf *door)
{
	struct lb_device_conf conf[2];

	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	memset(conf, 0, sizeof(conf));
	conf[0] = (struct lb_device_conf){.name = (char *)"sensor", .application = (char *)"default",
					  .dev_eui = DEV_EUI, .activation = LB_ACT_ABP,
					  .dev_addr = DEV_ADDR, .lorawan_version = 3,
					  .fair_access = w.cfg.fair_access};
	memcpy(conf[0].nwk_s_key, NWK, 16);
	memcpy(conf[0].app_s_key, APP, 16);
	if (door)
		conf[1] = *door;
	ck_assert_int_eq(devices_reload(&w.devices, conf, door ? 2 : 1), LB_OK);
	sessions_forget(&w.sessions);
	ck_assert_int_eq(sessions_restore_new(&w.sessions), LB_OK);
	return devices_find_eui(&w.devices, OTAA_EUI);
}

/* The join test's device as otaa_device() configures it, or as an ABP
 * class C device. */
static struct lb_device_conf door_conf(bool otaa)
{
	struct lb_device_conf c = {.name = (char *)"door", .application = (char *)"default",
				   .dev_eui = OTAA_EUI, .activation = LB_ACT_OTAA,
				   .join_eui = JOIN_EUI, .lorawan_version = 3,
				   .fair_access = w.cfg.fair_access};
	memcpy(c.app_key, NWK, 16);
	if (!otaa) {
		c.activation = LB_ACT_ABP;
		c.dev_class = LB_CLASS_C;
		c.dev_addr = DEV_ADDR + 0x100;
		memset(c.nwk_s_key, 0x61, 16);
		memset(c.app_s_key, 0x62, 16);
		memset(c.app_key, 0, 16);
	}
	return c;
}

/* A reload that takes a device with a pending session out of OTAA (now
 * ABP, or removed) sets that session aside: an ABP class C device is not
 * held back (CLASS_C_SESSION_PENDING) for a session it cannot have. Its
 * stored row stays (until --purge) and comes back with the device's OTAA
 * configuration. */
START_TEST(test_reload_sets_pending_aside)
{
	struct lw_key app_key;
	struct lb_device *dev = otaa_device(&app_key);

	join_with_nonce(&app_key, 1);
	join_with_nonce(&app_key, 2);
	lwcrypto_key_free(&app_key);
	struct test_session second = pending_of(OTAA_EUI);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM pending_session"), 1);

	struct lb_device_conf abp = door_conf(false), otaa = door_conf(true);
	dev = reload_door(&abp);
	ck_assert_ptr_nonnull(dev);
	ck_assert_ptr_null(pending_find_eui(&w.sessions.pending, OTAA_EUI));
	ck_assert_uint_eq(pending_count(&w.sessions.pending), 0);
	ck_assert(sessions_current_sure(&w.sessions, dev));
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM pending_session"), 1);
	/* its DevAddr no longer claims frames for it */
	uint64_t unknown = w.stats.frame_drops[DROP_UNKNOWN_DEVADDR];
	uplink_in(&second, 0);
	ck_assert_uint_eq(w.stats.frame_drops[DROP_UNKNOWN_DEVADDR], unknown + 1);

	/* OTAA again: the stored pending session is taken back */
	dev = reload_door(&otaa);
	ck_assert_ptr_nonnull(dev);
	ck_assert_uint_eq(pending_of(OTAA_EUI).addr, second.addr);

	/* removed from the configuration: set aside, its row kept */
	ck_assert_ptr_null(reload_door(NULL));
	ck_assert_uint_eq(pending_count(&w.sessions.pending), 0);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM pending_session"), 1);
}
END_TEST

/* A pending session found for a device no longer configured for OTAA
 * (none is held since a reload sets them aside: put here by hand) is not
 * taken, and its stored row is kept until --purge (session.h), as the
 * device's current session row is. */
START_TEST(test_pending_of_abp_device_not_taken)
{
	struct lw_key app_key;
	struct lb_device *dev = otaa_device(&app_key);

	join_with_nonce(&app_key, 1);
	join_with_nonce(&app_key, 2);
	lwcrypto_key_free(&app_key);
	struct pending_session held = *pending_find_eui(&w.sessions.pending, OTAA_EUI);
	struct test_session second = pending_of(OTAA_EUI);
	struct lb_device_conf abp = door_conf(false);
	dev = reload_door(&abp);
	ck_assert_int_eq(pending_put(&w.sessions.pending, &held), LB_OK);

	uplink_in(&second, 0);
	ck_assert_uint_eq(dev->activation, LB_ACT_ABP);
	ck_assert_uint_eq(dev->dev_addr, DEV_ADDR + 0x100);
	ck_assert_ptr_null(pending_find_eui(&w.sessions.pending, OTAA_EUI));
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM pending_session"), 1);
}
END_TEST

/* REVIEW: a confirmed uplink of OTAA_EUI under ts, heard; the ACK in RX1
 * sent; its NFCntDown returned. */
static uint32_t acked_fcnt_down(const struct test_session *ts, uint32_t fcnt)
{
	struct lw_keys ks;
	uint8_t phy[LW_MAX_PHY];
	size_t len, n0 = w.udp.n;
	struct lw_frame f;
	struct gwmp_txpk txpk;
	struct lw_data_params p = {.mtype = LW_MTYPE_CONFIRMED_UP, .dev_addr = ts->addr,
				   .fcnt = fcnt, .has_fport = true, .fport = 2,
				   .payload = (const uint8_t *)"x", .payload_len = 1};

	memset(&ks, 0, sizeof(ks));
	ck_assert_int_eq(lwcrypto_keys_init(&ks, ts->nwk, ts->app), LB_OK);
	ck_assert_int_eq(lorawan_build_data(&p, &ks, phy, LW_MAX_PHY, &len), LB_OK);
	lwcrypto_keys_free(&ks);
	hear_one(phy, len);
	txsched_tick(&w.tx, loop_now_ms() + w.cfg.downlink_delay_ms + 1);
	if (w.udp.n == n0) {   /* its counter waits for the disk */
		(void)durable_commit(&w.durable);
		if (store_sync_pending(&w.store))
			world_reap_sync(&w);
		txsched_tick(&w.tx, loop_now_ms() + w.cfg.downlink_delay_ms +
				    TXSCHED_DISK_POLL_MS + 1);
	}
	ck_assert_uint_eq(w.udp.n, n0 + 1);
	const struct rec_dgram *d = &w.udp.d[w.udp.n - 1];
	ck_assert_int_eq(gwmp_parse_pull_resp(d->buf + GWMP_OFF_JSON_DOWN,
					      d->len - GWMP_OFF_JSON_DOWN, &txpk), LB_OK);
	ck_assert_int_eq(lorawan_parse(txpk.data, txpk.size, &f), LB_OK);
	ck_assert_uint_eq(f.u.data.dev_addr, ts->addr);
	ck_assert(f.u.data.ack);
	return f.u.data.fcnt16;
}

/* REVIEW: kill -9 before the promotion's batch reached the disk (the
 * staged batch rolled back, the daemon's memory lost). The ACK of the
 * promoting uplink went out at once under the new session; after the
 * restart the same session is promoted again and must not reuse that
 * NFCntDown (store.h COUNTER RULES, TS001-1.0.4 §4.3.1.5, §4.3.3). */
START_TEST(test_review_promotion_lost_fcntdown)
{
	struct lw_key app_key;
	struct lb_device *dev = otaa_device(&app_key);

	(void)route_of(GW_1, 1710);
	join_with_nonce(&app_key, 1);
	struct test_session first = current_of(dev);
	uplink_in(&first, 5);
	join_with_nonce(&app_key, 2);
	lwcrypto_key_free(&app_key);
	struct test_session second = pending_of(OTAA_EUI);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);

	uint64_t commits = w.store.stats.commits;
	uint32_t fc1 = acked_fcnt_down(&second, 0);
	ck_assert_uint_eq(dev->dev_addr, second.addr);      /* promoted */
	ck_assert_uint_eq(w.store.stats.commits, commits);   /* sent before any commit */

	/* kill -9: the open batch never commits, memory is gone. */
	ck_assert_int_eq(sqlite3_exec(w.store.db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	w.store.in_txn = false;
	w.store.broken = false;
	w.store.log_len = 0;
	w.store.n_ops = 0;
	w.store.due_ms = -1;
	sessions_forget(&w.sessions);
	budget_forget(&w.budget);
	dev = restart_sessions();
	ck_assert_uint_eq(dev->dev_addr, first.addr);        /* the old session back */
	ck_assert_ptr_nonnull(pending_find_eui(&w.sessions.pending, OTAA_EUI));

	uint32_t fc2 = acked_fcnt_down(&second, 1);
	ck_assert_uint_eq(dev->dev_addr, second.addr);
	ck_assert_msg(fc2 > fc1, "NFCntDown %u reused under the same session keys (first %u)",
		      fc2, fc1);
}
END_TEST

/* REVIEW: a confirmed downlink sent under the current session while a join
 * is pending, then the device takes the new session: the item is neither
 * settled (no `ack` event) nor removed from the store, and after a restart
 * it is awaited again, under the new session. */
START_TEST(test_review_confirmed_across_promotion)
{
	struct lw_key app_key;
	struct store_downlink dl;
	struct gwmp_txack ok;
	char topic[PUBLISH_TOPIC_MAX];
	struct lb_device *dev = otaa_device(&app_key);

	(void)route_of(GW_1, 1711);
	join_with_nonce(&app_key, 1);
	struct test_session first = current_of(dev);
	join_with_nonce(&app_key, 2);
	lwcrypto_key_free(&app_key);
	struct test_session second = pending_of(OTAA_EUI);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);

	memset(&dl, 0, sizeof(dl));
	snprintf(dl.id, sizeof(dl.id), "%s", ITEM_A);
	dl.dev_eui = OTAA_EUI;
	dl.fport = 3;
	dl.confirmed = true;
	dl.len = 1;
	ck_assert_int_eq(store_downlink_push(&w.store, &dl, NULL), LB_OK);
	memset(&ok, 0, sizeof(ok));
	for (size_t i = 0; i < w.udp.n; i++)   /* the join-accepts went out */
		(void)txsched_tx_ack(&w.tx, GW_1, w.udp.d[i].buf + GWMP_OFF_TOKEN, &w.udp.d[i].to,
				     &ok);
	size_t n0 = w.udp.n;
	uplink_in(&first, 1);
	tx_tick(loop_now_ms() + w.cfg.downlink_delay_ms + 1);
	ck_assert_uint_eq(w.udp.n, n0 + 1);
	const struct rec_dgram *d = &w.udp.d[w.udp.n - 1];
	memset(&ok, 0, sizeof(ok));
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d->buf + GWMP_OFF_TOKEN, &d->to, &ok), LB_OK);
	ck_assert_ptr_nonnull(dev->rt.confirmed);

	uplink_in(&second, 0);   /* promotion */
	ck_assert_uint_eq(dev->dev_addr, second.addr);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	(void)release();
	device_topic(topic, sizeof(topic), OTAA_EUI, "ack");
	int64_t rows = rawdb_int(w.dir, "SELECT count(*) FROM downlink");
	size_t acks = count_topic(topic);
	dev = restart_sessions();
	ck_assert_int_eq(txsched_restore_device(&w.tx, dev), LB_OK);
	ck_assert_msg(acks == 1 && rows == 0 && !dev->rt.confirmed,
		      "after the promotion: %zu ack event(s), %lld downlink row(s) left; after a "
		      "restart the old session's item is %s", acks, (long long)rows,
		      dev->rt.confirmed ? "awaited under the new session" : "not awaited");
}
END_TEST

/* REVIEW: a device with a pending session but no current one (its stored
 * row another activation's, e.g. configured ABP then OTAA again) joins:
 * the join's session is its own at once, but the older pending session
 * stays, and a replayed frame of it takes the device back from its
 * session. */
START_TEST(test_review_first_join_leaves_pending)
{
	struct lw_key app_key;
	struct lb_device *dev = otaa_device(&app_key);
	struct pending_session old = {.dev_eui = OTAA_EUI, .dev_addr = 0x26ffff01,
				      .nfcnt_down = FCNTDOWN_BLOCK};

	memset(old.nwk_s_key, 0x11, 16);
	memset(old.app_s_key, 0x22, 16);
	ck_assert(!dev->has_session);
	ck_assert_int_eq(pending_put(&w.sessions.pending, &old), LB_OK);   /* as restored */
	struct test_session stale = pending_of(OTAA_EUI);
	join_with_nonce(&app_key, 1);
	lwcrypto_key_free(&app_key);
	ck_assert(dev->has_session);
	struct test_session now = current_of(dev);
	uplink_in(&now, 1);
	ck_assert_uint_eq(dev->dev_addr, now.addr);
	uplink_in(&stale, 3);   /* a frame recorded earlier, replayed */
	ck_assert_msg(dev->dev_addr == now.addr,
		      "the device's session was replaced by the stale pending one (%08x)",
		      dev->dev_addr);
}
END_TEST

/* A first join deletes the device's stored pending row also when that
 * row is not held in memory (not taken at its restore: its DevAddr taken
 * by another pending session, or its keys served as ABP meanwhile): else
 * a restart reads that older join's session back beside the new one
 * (class C held back, its DevAddr reserved, its nonces taken as the
 * device's last). */
START_TEST(test_first_join_deletes_pending_row_not_held)
{
	struct lw_key app_key;
	struct lb_device *dev = otaa_device(&app_key);

	join_with_nonce(&app_key, 1);
	join_with_nonce(&app_key, 2);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM pending_session"), 1);
	struct lb_device_conf abp = door_conf(false), otaa = door_conf(true);
	(void)reload_door(&abp);
	dev = reload_door(&otaa);
	ck_assert(!dev->has_session);
	/* as if the restore had not taken it */
	ck_assert(pending_drop(&w.sessions.pending, OTAA_EUI));
	join_with_nonce(&app_key, 3);
	lwcrypto_key_free(&app_key);
	ck_assert(dev->has_session);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(rawdb_int(w.dir, "SELECT count(*) FROM pending_session"), 0);
	dev = restart_sessions();
	ck_assert_ptr_null(pending_find_eui(&w.sessions.pending, OTAA_EUI));
	ck_assert_uint_eq(dev->rt.dev_nonce, 3);
}
END_TEST

/* The txpk of the last datagram sent, a PULL_RESP (else the test fails). */
static void last_txpk(struct gwmp_txpk *txpk)
{
	ck_assert_uint_gt(w.udp.n, 0);
	const struct rec_dgram *d = &w.udp.d[w.udp.n - 1];
	ck_assert_uint_eq(d->buf[GWMP_OFF_IDENT], GWMP_PULL_RESP);
	ck_assert_int_eq(gwmp_parse_pull_resp(d->buf + GWMP_OFF_JSON_DOWN,
					      d->len - GWMP_OFF_JSON_DOWN, txpk), LB_OK);
}

/* A confirmed uplink's ACK in RX1 for an AS923 device at DR5 with
 * RX1DROffset 7: DR7 (FSK) for an RP002-1.0.4 device (§2.10.7), DR5 (SF7) for
 * one of Regional Parameters 1.0.3revA (v1.0.3revA §2.8.7), which listens
 * there: the scheduler plans with the device's regional_parameters. */
START_TEST(test_rx1_follows_regional_parameters)
{
	uint8_t phy[LW_MAX_PHY];
	struct gwmp_txpk txpk;

	world_close(&w);
	open_world("AS923", 0);
	t.freq_hz = 923200000;
	w.tx.opts.rx1_dr_offset = 7;
	struct lb_device *dev = &w.devices.dev[0];
	ck_assert_uint_eq(dev->regional_parameters, REGION_RP002_1_0_4);
	(void)route_of(GW_1, 1700);
	for (uint32_t fcnt = 2; fcnt <= 3; fcnt++) {
		size_t n = w.udp.n;
		size_t len = build_up(phy, LW_MTYPE_CONFIRMED_UP, DEV_ADDR, fcnt, 2, "ping");
		hear_one(phy, len);
		ck_assert(dev->rt.ack_due);
		tx_tick(txsched_tick(&w.tx, loop_now_ms()));
		ck_assert_uint_eq(w.udp.n, n + 1);
		last_txpk(&txpk);
		ck_assert_uint_eq(txpk.tmst, TMST + 1000000u);
		ck_assert_uint_eq(txpk.freq_hz, 923200000);
		if (fcnt == 2) {
			ck_assert_int_eq(txpk.modu, GWMP_MOD_FSK);
			ck_assert_uint_eq(txpk.bitrate, 50000);
			dev->regional_parameters = REGION_RP_1_0_3A;
		} else {
			ck_assert_int_eq(txpk.modu, GWMP_MOD_LORA);
			ck_assert_uint_eq(txpk.sf, 7);
			ck_assert_uint_eq(txpk.bw_khz, 125);
		}
	}
}
END_TEST

/* The join-accept sent for OTAA_EUI, parsed. */
static void sent_join_accept(struct gwmp_txpk *txpk)
{
	last_txpk(txpk);
	ck_assert_uint_eq(txpk->data[0] >> 5, LW_MTYPE_JOIN_ACCEPT);
}

static void reap_sync(void)
{
	world_reap_sync(&w);
}

/* A join's commit does not wait for the disk on the loop: its join-accept
 * and `join` event wait until the batch's sync has completed (otaa.h).
 * Without io_uring (qemu-user) the commit syncs at once and both go at
 * once. */
START_TEST(test_join_accept_waits_for_sync)
{
	struct lw_key app_key;
	struct gwmp_txpk txpk;
	char topic[PUBLISH_TOPIC_MAX];
	struct lb_device *dev = otaa_device(&app_key);

	(void)route_of(GW_1, 1710);
	device_topic(topic, sizeof(topic), OTAA_EUI, "join");
	bool ring = store_sync_start(&w.store) >= 0;
	join_with_nonce(&app_key, 1);
	lwcrypto_key_free(&app_key);
	ck_assert(dev->has_session);
	if (ring) {
		ck_assert_uint_eq(otaa_held(&w.otaa), 1);
		ck_assert_uint_eq(w.udp.n, 0);
		ck_assert_uint_eq(count_topic(topic), 0);
		ck_assert_uint_eq(w.stats.joins, 0);
		/* The session's first counters came with the join: none is
		 * used before the join's batch is on the disk. */
		uint32_t fcnt;
		ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, dev, &fcnt), LB_ERR_AGAIN);
		/* Not durable yet: a tick sends nothing, and wakes before RX2. */
		int64_t next = otaa_tick(&w.otaa, loop_now_ms());
		ck_assert_uint_eq(w.udp.n, 0);
		ck_assert_int_gt(next, 0);
		ck_assert_int_le(next, t.clk + JOIN_ACCEPT_DELAY2_S * 1000);
		reap_sync();
		ck_assert_int_eq(otaa_tick(&w.otaa, loop_now_ms()), -1);
	}
	ck_assert_uint_eq(otaa_held(&w.otaa), 0);
	ck_assert_uint_eq(w.udp.n, 1);
	sent_join_accept(&txpk);
	ck_assert_uint_eq(txpk.tmst, TMST + JOIN_ACCEPT_DELAY1_S * 1000000u);
	ck_assert_uint_eq(count_topic(topic), 1);
	ck_assert_uint_eq(w.stats.joins, 1);
	/* What was sent is on the disk. */
	struct store_session row;
	ck_assert_int_eq(store_get_session(&w.store, OTAA_EUI, &row), LB_OK);
	ck_assert_uint_eq(row.dev_addr, dev->dev_addr);
	ck_assert(store_committed(&w.store, store_batch(&w.store) - 1));
	/* The join reserved the session's first downlink counters: the ACK
	 * of its first confirmed uplink commits nothing of its own. */
	ck_assert_uint_eq(row.nfcnt_down, FCNTDOWN_BLOCK);
	uint8_t phy[LW_MAX_PHY];
	size_t len;
	struct lw_keys *ks;
	struct lw_data_params p = {.mtype = LW_MTYPE_CONFIRMED_UP, .dev_addr = dev->dev_addr,
				   .fcnt = 1, .has_fport = true, .fport = 2,
				   .payload = (const uint8_t *)"x", .payload_len = 1};
	ck_assert_int_eq(devices_keys(&w.devices, dev, &ks), LB_OK);
	ck_assert_int_eq(lorawan_build_data(&p, ks, phy, LW_MAX_PHY, &len), LB_OK);
	hear_one(phy, len);
	uint64_t commits = w.store.stats.commits;
	txsched_tick(&w.tx, loop_now_ms() + w.cfg.downlink_delay_ms + 1);
	ck_assert_uint_eq(w.udp.n, 2);
	ck_assert_uint_eq(w.store.stats.commits, commits);
	ck_assert(!w.durable.soon);
}
END_TEST

/* A join-request at AS923 DR6 (SF7BW250): the join-accept's RX1 (offset
 * 0, TS001-1.0.4 §6.2.6) is at DR6 for an RP002-1.0.4 device (§2.10.7), at
 * DR5 (SF7BW125) for one of Regional Parameters 1.0.3revA, whose RX1 DR is
 * at most DR5 (v1.0.3revA §2.8.7): txsched_join_accept() plans with the
 * device's regional_parameters. */
START_TEST(test_join_accept_rx1_follows_regional_parameters)
{
	struct lw_key app_key;
	struct gwmp_txpk txpk;

	world_close(&w);
	open_world("AS923", 0);
	t.freq_hz = 923200000;
	t.bw_khz = 250;
	struct lb_device *dev = otaa_device(&app_key);
	ck_assert_uint_eq(dev->regional_parameters, REGION_RP002_1_0_4);
	(void)route_of(GW_1, 1721);
	join_with_nonce(&app_key, 1);
	ck_assert_uint_eq(w.udp.n, 1);
	sent_join_accept(&txpk);
	ck_assert_uint_eq(txpk.tmst, TMST + JOIN_ACCEPT_DELAY1_S * 1000000u);
	ck_assert_uint_eq(txpk.freq_hz, 923200000);
	ck_assert_uint_eq(txpk.sf, 7);
	ck_assert_uint_eq(txpk.bw_khz, 250);

	dev->regional_parameters = REGION_RP_1_0_3A;
	join_with_nonce(&app_key, 2);
	lwcrypto_key_free(&app_key);
	ck_assert_uint_eq(w.udp.n, 2);
	sent_join_accept(&txpk);
	ck_assert_uint_eq(txpk.tmst, TMST + JOIN_ACCEPT_DELAY1_S * 1000000u);
	ck_assert_uint_eq(txpk.freq_hz, 923200000);
	ck_assert_uint_eq(txpk.sf, 7);
	ck_assert_uint_eq(txpk.bw_khz, 125);
}
END_TEST

/* US915 (RP002-1.0.4 §2.3.2, §2.5.4): a LoRaWAN 1.0.3 device's join-accept
 * carries the channel mask of downlink.sub_band (2: channels 8..15 and 65)
 * as CFList type 1; netmac still sends the mask-only LinkADRReq, whose
 * answer alone tells the device took it (netmac.h). A 1.0.2 device (RP
 * 1.0.2revB: no CFList in US902-928), or any with downlink.join_cflist =
 * "none", gets the 17-byte join-accept. */
START_TEST(test_us915_join_cflist_mask)
{
	struct lw_key app_key;
	struct gwmp_txpk txpk;
	struct join_accept_params a;
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;

	world_close(&w);
	open_world("US915", WORLD_NETMAC);
	t.freq_hz = 903900000;                       /* channel 8, DR3 at SF7 */
	struct lb_device *dev = otaa_device(&app_key);
	(void)route_of(GW_1, 1720);
	join_with_nonce(&app_key, 1);
	ck_assert_uint_eq(w.udp.n, 1);
	sent_join_accept(&txpk);
	ck_assert_uint_eq(txpk.size, JOIN_LEN_ACCEPT_CFLIST);
	ck_assert_int_eq(join_accept_open(txpk.data, txpk.size, &app_key, &a), LB_OK);
	ck_assert(a.has_cflist);
	ck_assert_hex(a.cflist, sizeof(a.cflist), "00FF 0000 0000 0000 0200 0000000000 01");
	/* Not taken as confirmed (netmac.h): LinkADRReq confirms it. */
	dev->rt.last_dr = 3;
	(void)netmac_requests(&w.mac, dev, out, sizeof(out), &kinds);
	ck_assert_uint_ne(kinds & 1u << MACSTATE_LINK_ADR, 0);

	/* A 1.0.2 device: no CFList (RP 1.0.2revB defines none there). */
	dev->lorawan_version = 2;
	join_with_nonce(&app_key, 2);
	ck_assert_uint_eq(w.udp.n, 2);
	sent_join_accept(&txpk);
	ck_assert_uint_eq(txpk.size, JOIN_LEN_ACCEPT);

	/* "none": no CFList for a 1.0.3 device either. */
	dev->lorawan_version = 3;
	w.otaa.opts.join_cflist = "none";
	join_with_nonce(&app_key, 3);
	ck_assert_uint_eq(w.udp.n, 3);
	sent_join_accept(&txpk);
	ck_assert_uint_eq(txpk.size, JOIN_LEN_ACCEPT);
	lwcrypto_key_free(&app_key);
}
END_TEST

/* Review: a rejoin whose join-accept the device lost leaves its MAC state
 * alone (the device goes on with its session and its settings); the first
 * uplink under the pending session starts the new session's MAC state
 * afresh (TS001-1.0.4 §6.2.6: the join reset the device's channel mask),
 * so the mask-only LinkADRReq goes again. The rejoin here comes in the same
 * wall-clock second as the first join (as a stepped clock can make it). */
static void promotion_resets_mac(bool same_second)
{
	struct lw_key app_key;
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;

	world_close(&w);
	open_world("US915", WORLD_NETMAC);
	t.freq_hz = 903900000;
	struct lb_device *dev = otaa_device(&app_key);
	(void)route_of(GW_1, 1730);
	join_with_nonce(&app_key, 1);
	ck_assert(dev->has_session);
	struct test_session first = current_of(dev);
	uplink_in(&first, 1);
	dev->rt.last_dr = 3;
	(void)netmac_requests(&w.mac, dev, out, sizeof(out), &kinds);
	ck_assert_uint_ne(kinds & 1u << MACSTATE_LINK_ADR, 0);
	/* As a LinkADRAns would leave it: the sub-band mask confirmed. */
	struct macstate *s = dev->rt.mac;
	ck_assert_int_eq(macstate_plan_mask(w.region, w.otaa.opts.sub_band, 0, s->ch_mask), LB_OK);
	s->ch_mask_set = true;
	if (!same_second) {
		dev->rt.joined_at -= 10;
		s->session_at -= 10;
	}
	(void)netmac_requests(&w.mac, dev, out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds & 1u << MACSTATE_LINK_ADR, 0);

	/* Rejoin, join-accept lost: the state of the session in use stays. */
	join_with_nonce(&app_key, 2);
	ck_assert_uint_eq(pending_count(&w.sessions.pending), 1);
	struct test_session second = pending_of(OTAA_EUI);
	uplink_in(&first, 2);
	ck_assert_uint_eq(dev->dev_addr, first.addr);
	(void)netmac_requests(&w.mac, dev, out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds & 1u << MACSTATE_LINK_ADR, 0);
	ck_assert(dev->rt.mac->ch_mask_set);

	/* Its first uplink under the new session: MAC state afresh. */
	uplink_in(&second, 0);
	ck_assert_uint_eq(dev->dev_addr, second.addr);
	ck_assert(!dev->rt.mac->ch_mask_set);
	dev->rt.last_dr = 3;
	(void)netmac_requests(&w.mac, dev, out, sizeof(out), &kinds);
	ck_assert_uint_ne(kinds & 1u << MACSTATE_LINK_ADR, 0);
	lwcrypto_key_free(&app_key);
}

START_TEST(review_promotion_resets_mac)
{
	promotion_resets_mac(false);
}
END_TEST

START_TEST(review_promotion_resets_mac_same_second)
{
	promotion_resets_mac(true);
}
END_TEST

/* A join-accept goes only in a window still ahead (TXSCHED_LEAD_MS):
 * a join-request heard 5 s ago gets its accept in RX2, one heard 6 s ago
 * none (a `log` event, counted as failed); a join whose sync has not
 * completed by RX2 gets none either. */
START_TEST(test_join_accept_too_late)
{
	struct lw_key app_key;
	struct gwmp_txpk txpk;
	char topic[PUBLISH_TOPIC_MAX], joins[PUBLISH_TOPIC_MAX];

	(void)otaa_device(&app_key);
	(void)route_of(GW_1, 1711);
	device_topic(topic, sizeof(topic), OTAA_EUI, "log");
	device_topic(joins, sizeof(joins), OTAA_EUI, "join");
	/* RX1 passed (5 s), RX2 (6 s) still 1 s ahead: RX2 at once. */
	t.clk = loop_now_ms() - JOIN_ACCEPT_DELAY1_S * 1000;
	join_with_nonce(&app_key, 1);
	ck_assert_uint_eq(otaa_held(&w.otaa), 0);      /* no ring: synced at once */
	ck_assert_uint_eq(w.udp.n, 1);
	sent_join_accept(&txpk);
	ck_assert_uint_eq(txpk.tmst, TMST + JOIN_ACCEPT_DELAY2_S * 1000000u);
	ck_assert_uint_eq(txpk.freq_hz, 869525000);        /* EU868's RX2 */

	ck_assert_uint_eq(w.stats.joins, 1);

	/* Both windows passed by the time the join is sent: nothing is, and a
	 * join whose join-accept is not sent is no join. */
	t.clk = loop_now_ms() - JOIN_ACCEPT_DELAY2_S * 1000;
	join_with_nonce(&app_key, 2);
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_uint_eq(w.tx.stats.failed, 1);
	ck_assert_uint_eq(w.stats.joins, 1);
	ck_assert_uint_eq(count_topic(joins), 1);
	json_object *o = last_on(topic);
	ck_assert_str_eq(str_of(o, "code"), "OTAA");
	ck_assert_str_eq(str_of(o, "description"),
			 "join-accept not sent: too late for both receive windows");
	json_object_put(o);

	/* The sync still in flight at RX2's last moment: nothing is sent. */
	if (store_sync_start(&w.store) < 0) {
		lwcrypto_key_free(&app_key);
		return;   /* without io_uring every commit syncs at once */
	}
	size_t logs = count_topic(topic);
	t.clk = loop_now_ms();
	join_with_nonce(&app_key, 3);
	ck_assert_uint_eq(otaa_held(&w.otaa), 1);
	ck_assert_int_eq(otaa_tick(&w.otaa, t.clk + JOIN_ACCEPT_DELAY2_S * 1000), -1);
	ck_assert_uint_eq(otaa_held(&w.otaa), 0);
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_uint_eq(count_topic(topic), logs + 1);
	o = last_on(topic);
	ck_assert_str_eq(str_of(o, "description"), "join-accept not sent: the join's state was "
			 "not on the disk in time for its receive windows");
	json_object_put(o);
	ck_assert_uint_eq(w.tx.stats.failed, 2);
	reap_sync();
	otaa_tick(&w.otaa, loop_now_ms());
	ck_assert_uint_eq(w.udp.n, 1);                 /* and not after */

	/* A sync that completes after RX2's last moment, seen by a tick
	 * after it: too late all the same, no join event. */
	t.clk = loop_now_ms() - (JOIN_ACCEPT_DELAY2_S * 1000 - TXSCHED_LEAD_MS);
	join_with_nonce(&app_key, 4);
	lwcrypto_key_free(&app_key);
	ck_assert_uint_eq(otaa_held(&w.otaa), 1);
	reap_sync();
	otaa_tick(&w.otaa, loop_now_ms());
	ck_assert_uint_eq(otaa_held(&w.otaa), 0);
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_uint_eq(w.tx.stats.failed, 3);
	ck_assert_uint_eq(w.stats.joins, 1);
	ck_assert_uint_eq(count_topic(joins), 1);
	o = last_on(topic);
	ck_assert_str_eq(str_of(o, "description"), "join-accept not sent: the join's state was "
			 "not on the disk in time for its receive windows");
	json_object_put(o);
}
END_TEST

/* At shutdown the bridge's first commit releases the joins still held:
 * durable_flush() waits for the sync in flight and syncs its own batch at
 * once, so the otaa_tick() that follows it in shutdown_flush() (bridge.c)
 * sends their join-accepts and `join` events. */
START_TEST(test_held_join_released_by_flush)
{
	struct lw_key app_key;
	struct gwmp_txpk txpk;

	(void)otaa_device(&app_key);
	(void)route_of(GW_1, 1717);
	if (store_sync_start(&w.store) < 0) {
		lwcrypto_key_free(&app_key);
		return;   /* without io_uring nothing is held */
	}
	join_with_nonce(&app_key, 1);
	lwcrypto_key_free(&app_key);
	ck_assert_uint_eq(otaa_held(&w.otaa), 1);
	ck_assert(store_sync_pending(&w.store));
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert(!store_sync_pending(&w.store));
	ck_assert_int_eq(otaa_tick(&w.otaa, loop_now_ms()), -1);
	ck_assert_uint_eq(otaa_held(&w.otaa), 0);
	ck_assert_uint_eq(w.udp.n, 1);
	sent_join_accept(&txpk);
	ck_assert_uint_eq(w.stats.joins, 1);
}
END_TEST

/* A device joining again while its first join waits for the disk: only
 * the latest gets a join-accept and a `join` event, for its session. */
START_TEST(test_rejoin_while_held)
{
	struct lw_key app_key;
	struct gwmp_txpk txpk;
	char topic[PUBLISH_TOPIC_MAX];
	struct lb_device *dev = otaa_device(&app_key);

	(void)route_of(GW_1, 1716);
	device_topic(topic, sizeof(topic), OTAA_EUI, "join");
	if (store_sync_start(&w.store) < 0) {
		lwcrypto_key_free(&app_key);
		return;   /* without io_uring nothing is held */
	}
	join_with_nonce(&app_key, 1);
	uint32_t first_addr = dev->dev_addr;
	join_with_nonce(&app_key, 2);
	lwcrypto_key_free(&app_key);
	/* The first join made the device's session: the second is pending. */
	ck_assert_uint_eq(dev->dev_addr, first_addr);
	uint32_t second_addr = pending_of(OTAA_EUI).addr;
	ck_assert_uint_ne(second_addr, first_addr);
	ck_assert_uint_eq(otaa_held(&w.otaa), 1);
	while (store_sync_pending(&w.store))
		reap_sync();
	otaa_tick(&w.otaa, loop_now_ms());
	ck_assert_uint_eq(otaa_held(&w.otaa), 0);
	ck_assert_uint_eq(w.udp.n, 1);
	sent_join_accept(&txpk);
	ck_assert_uint_eq(count_topic(topic), 1);
	ck_assert_uint_eq(w.stats.joins, 1);
	json_object *o = last_on(topic);
	char addr[9];
	snprintf(addr, sizeof(addr), "%08x", second_addr);   /* the join's */
	ck_assert_str_eq(str_of(o, "devAddr"), addr);
	json_object_put(o);
}
END_TEST

/* A session's first downlink needs its counter's ceiling on the disk: the
 * decision stages it and asks for a commit, which the group commit makes
 * after the ticks of the loop pass without waiting for the disk; the
 * decision is taken again (TXSCHED_DISK_POLL_MS) until that commit's sync
 * has completed, instead of syncing on the loop. Without io_uring the
 * commit syncs at once and the next look sends. */
START_TEST(test_first_downlink_waits_for_sync)
{
	uint8_t phy[LW_MAX_PHY];
	struct gwmp_txpk txpk;
	struct lw_frame f;
	struct store_session row;

	(void)route_of(GW_1, 1712);
	bool ring = store_sync_start(&w.store) >= 0;
	hear_one(phy, build_up(phy, LW_MTYPE_CONFIRMED_UP, DEV_ADDR, 7, 2, "ping"));
	uint64_t on_loop = w.store.stats.syncs_waited, commits = w.store.stats.commits;
	int64_t now = loop_now_ms() + w.cfg.downlink_delay_ms + 1;
	int64_t next = txsched_tick(&w.tx, now);
	ck_assert_uint_eq(w.udp.n, 0);                 /* not before the disk */
	ck_assert_int_eq(next, now + TXSCHED_DISK_POLL_MS);
	ck_assert(txsched_busy(&w.tx, DEV_EUI));
	ck_assert_uint_eq(w.store.stats.commits, commits);   /* asked for, not made */
	ck_assert(w.durable.soon);
	(void)durable_tick(&w.durable, now);
	ck_assert_uint_eq(w.store.stats.commits, commits + 1);
	if (ring) {
		ck_assert(store_sync_pending(&w.store));
		/* Taken again while the sync is still in flight: still waits,
		 * and asks for no commit (the group commit keeps its pace). */
		ck_assert_int_eq(store_meta_put(&w.store, "poll", 1), LB_OK);
		next = txsched_tick(&w.tx, next);
		ck_assert_uint_eq(w.udp.n, 0);
		ck_assert(!w.durable.soon);
		reap_sync();
		ck_assert_uint_eq(w.store.stats.syncs_waited, on_loop);
	}
	txsched_tick(&w.tx, next);
	ck_assert_uint_eq(w.store.stats.commits, commits + 1);
	ck_assert_uint_eq(w.udp.n, 1);
	last_txpk(&txpk);
	ck_assert_uint_eq(txpk.tmst, TMST + 1000000u);  /* still RX1 */
	ck_assert_int_eq(lorawan_parse(txpk.data, txpk.size, &f), LB_OK);
	ck_assert(f.u.data.ack);
	ck_assert_uint_eq(f.u.data.fcnt16, 0);
	/* The counter used is below a ceiling on the disk. */
	ck_assert_int_eq(store_get_session(&w.store, DEV_EUI, &row), LB_OK);
	ck_assert_uint_gt(row.nfcnt_down, 0);
	ck_assert_uint_eq(w.tx.n_due, 0);               /* the decision is taken */
	ck_assert_uint_eq(w.tx.pending.n, 1);           /* its PULL_RESP awaits a TX_ACK */
}
END_TEST

/* With the store's io_uring (else -1: every commit syncs at once), a
 * confirmed uplink whose ACK's counter waits for its sync: the decision's
 * time, nothing sent yet. */
static int64_t ack_waits_for_sync(uint16_t port)
{
	uint8_t phy[LW_MAX_PHY];

	(void)route_of(GW_1, port);
	if (store_sync_start(&w.store) < 0)
		return -1;
	hear_one(phy, build_up(phy, LW_MTYPE_CONFIRMED_UP, DEV_ADDR, 7, 2, "ping"));
	int64_t now = loop_now_ms() + w.cfg.downlink_delay_ms + 1;
	ck_assert_int_eq(txsched_tick(&w.tx, now), now + TXSCHED_DISK_POLL_MS);
	(void)durable_tick(&w.durable, now);             /* the pass's end: committed */
	ck_assert_uint_eq(w.udp.n, 0);
	return now;
}

/* The sync completes after RX1's moment: the downlink goes in RX2. The
 * windows count from the uplink's arrival (the de-duplication group's
 * first copy), not from its processing. */
START_TEST(test_downlink_after_wait_in_rx2)
{
	struct gwmp_txpk txpk;

	/* Arrived 0.9 s ago: RX1, 1 s after it, is less than the lead ahead. */
	t.clk = loop_now_ms() - 900;
	if (ack_waits_for_sync(1714) < 0)
		return;
	reap_sync();
	txsched_tick(&w.tx, loop_now_ms() + w.cfg.downlink_delay_ms + TXSCHED_DISK_POLL_MS + 1);
	ck_assert_uint_eq(w.udp.n, 1);
	last_txpk(&txpk);
	ck_assert_uint_eq(txpk.tmst, TMST + 2000000u);
	ck_assert_uint_eq(txpk.freq_hz, 869525000);
}
END_TEST

/* A decision still waiting for its counter's sync when its RX2 window
 * comes is given up: nothing sent, counted as failed, no ACK left due. */
START_TEST(test_downlink_wait_gives_up)
{
	int64_t now = ack_waits_for_sync(1713);

	if (now < 0)
		return;
	/* RX2 is 2 s after the uplink: 1.8 s on, less than the lead is left. */
	ck_assert_int_eq(txsched_tick(&w.tx, now + 1800), -1);
	ck_assert_uint_eq(w.udp.n, 0);
	ck_assert_uint_eq(w.tx.stats.failed, 1);
	ck_assert(!txsched_busy(&w.tx, DEV_EUI));
	ck_assert(!w.devices.dev[0].rt.ack_due);
	assert_last_log("F_CNT_DOWN");
	char v[32];   /* ChirpStack's key: the device's next FCntDown */
	last_log_ctx("device_f_cnt_down", v, sizeof(v));
	ck_assert_str_eq(v, "0");
	reap_sync();
	ck_assert_int_eq(txsched_tick(&w.tx, now + 1801), -1);
	ck_assert_uint_eq(w.udp.n, 0);
}
END_TEST

/* The sink's index of the first message on topic, or SIZE_MAX. */
static size_t first_index(const char *topic)
{
	for (size_t i = 0; i < w.sink.n; i++)
		if (!strcmp(w.sink.m[i].topic, topic))
			return i;
	return SIZE_MAX;
}

/* A confirmed queue item the gateway took is marked sent in a batch
 * committed at the loop pass's end (the group commit, after the ticks)
 * without waiting for the disk; its txack waits in the outbox
 * until that batch's sync has completed, and keeps its place before the
 * `ack` of the device's next uplink, however soon that comes. */
START_TEST(test_txack_waits_for_sync)
{
	uint8_t phy[LW_MAX_PHY];
	char txack[PUBLISH_TOPIC_MAX], ack[PUBLISH_TOPIC_MAX];
	struct gwmp_txack ok;

	(void)route_of(GW_1, 1715);
	push_item(ITEM_A, true, false, 0);
	first_uplink(phy);
	const struct rec_dgram *d = decide_now();
	ck_assert_ptr_nonnull(d);
	if (store_sync_start(&w.store) < 0)
		return;   /* without io_uring every commit syncs at once */
	memset(&ok, 0, sizeof(ok));
	uint64_t on_loop = w.store.stats.syncs_waited;
	uint64_t commits = w.store.stats.commits;
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d->buf + GWMP_OFF_TOKEN, &d->to, &ok), LB_OK);
	ck_assert_uint_eq(w.tx.stats.sent, 1);
	ck_assert_uint_eq(w.store.stats.commits, commits);
	ck_assert(w.durable.soon);
	(void)durable_tick(&w.durable, loop_now_ms());
	ck_assert_uint_eq(w.store.stats.commits, commits + 1);
	ck_assert(store_sync_pending(&w.store));
	ck_assert_uint_eq(w.store.stats.syncs_waited, on_loop);
	device_topic(txack, sizeof(txack), DEV_EUI, "txack");
	device_topic(ack, sizeof(ack), DEV_EUI, "ack");
	/* The device's next uplink acknowledges it before the sync is done. */
	hear_one(phy, build_ack_up(phy, 2));
	ck_assert_int_eq(durable_commit_nowait(&w.durable), LB_OK);
	release();
	ck_assert_uint_eq(count_topic(txack), 0);       /* not before the disk */
	ck_assert_uint_eq(count_topic(ack), 0);
	while (store_sync_pending(&w.store))
		reap_sync();
	release();
	ck_assert_uint_eq(count_topic(txack), 1);
	ck_assert_uint_eq(count_topic(ack), 1);
	ck_assert_uint_lt(first_index(txack), first_index(ack));
	json_object *o = last_on(txack);
	ck_assert_str_eq(str_of(o, "queueItemId"), ITEM_A);
	json_object_put(o);
}
END_TEST

/* A downlink counter is used only below a ceiling that is on the disk, not
 * only committed (tables/fcntdown.h): with the group commit's sync still
 * in flight, the reservation says LB_ERR_AGAIN until it has completed.
 * Without io_uring (qemu-user) every commit syncs at once and there is
 * nothing to wait for. */
START_TEST(test_fcnt_reserved_only_when_synced)
{
	struct lb_device *dev = devices_find_eui(&w.devices, DEV_EUI);
	uint32_t fcnt;

	if (store_sync_start(&w.store) < 0)
		return;
	/* The first since the start: the ceiling is staged and a commit asked
	 * for; committed, not yet synced. */
	ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, dev, &fcnt), LB_ERR_AGAIN);
	(void)durable_tick(&w.durable, loop_now_ms());
	ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, dev, &fcnt), LB_ERR_AGAIN);
	reap_sync();
	/* Use counters until the ceiling is raised again (staged, not committed). */
	ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, dev, &fcnt), LB_OK);
	uint32_t first_ceiling = dev->rt.fcnt_down.ceiling;
	while (dev->rt.fcnt_down.ceiling == first_ceiling) {
		fcntdown_used(&dev->rt.fcnt_down);
		ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, dev, &fcnt), LB_OK);
	}
	/* The group commit takes the new ceiling; its sync is in flight. */
	uint64_t b = dev->rt.fcnt_down.batch;
	ck_assert_uint_gt(b, 0);
	ck_assert_int_eq(durable_commit_nowait(&w.durable), LB_OK);
	ck_assert(store_sync_pending(&w.store));
	ck_assert(!store_committed(&w.store, b));
	/* At the old ceiling: the new one is not on the disk yet, so no
	 * counter until it is. */
	dev->rt.fcnt_down.next = first_ceiling;
	ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, dev, &fcnt), LB_ERR_AGAIN);
	reap_sync();
	ck_assert(store_committed(&w.store, b));
	ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, dev, &fcnt), LB_OK);
	ck_assert_uint_eq(fcnt, first_ceiling);
	ck_assert(!store_sync_pending(&w.store));
}
END_TEST

/* A join whose staging fails (another part of the batch cannot stage its
 * rows) is a failing commit like any other (durable_failing()): no session
 * switch, no join-accept and no `join`, and a downlink counter reserved in
 * the open batch meanwhile says LB_ERR_IO (its caller backs off) until a
 * commit succeeds; then the device joins. */
START_TEST(test_join_staging_fails)
{
	struct lw_key app_key;
	struct gwmp_txpk txpk;
	struct fake_part part = {.rc = LB_ERR_IO};
	struct lb_device *dev = otaa_device(&app_key);
	struct lb_device *abp = devices_find_eui(&w.devices, DEV_EUI);
	uint32_t fcnt;

	(void)route_of(GW_1, 1719);
	ck_assert_int_eq(durable_add(&w.durable, fake_stage, fake_due, &part), LB_OK);
	ck_assert(!durable_failing(&w.durable));
	join_with_nonce(&app_key, 1);
	ck_assert_uint_eq(part.calls, 1);
	ck_assert(durable_failing(&w.durable));
	ck_assert(!dev->has_session);
	ck_assert_uint_eq(otaa_held(&w.otaa), 0);
	ck_assert_uint_eq(w.udp.n, 0);
	ck_assert_uint_eq(w.stats.joins, 0);
	ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, abp, &fcnt), LB_ERR_IO);

	part.rc = LB_OK;
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert(!durable_failing(&w.durable));
	join_with_nonce(&app_key, 2);
	lwcrypto_key_free(&app_key);
	ck_assert(dev->has_session);
	/* with io_uring the join-accept waits for its sync */
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	(void)otaa_tick(&w.otaa, loop_now_ms());
	sent_join_accept(&txpk);
	ck_assert_uint_eq(w.stats.joins, 1);
}
END_TEST

/* A commit asked for that fails is retried every STORE_RETRY_MS, not at
 * every loop pass, and the request is kept; meanwhile the reservation
 * whose batch cannot commit says LB_ERR_IO (its caller backs off instead
 * of asking every TXSCHED_DISK_POLL_MS), and once a commit succeeds the
 * counter is there. */
START_TEST(test_reservation_while_commits_fail)
{
	struct lb_device *dev = devices_find_eui(&w.devices, DEV_EUI);
	struct fake_part part = {.rc = LB_ERR_IO};
	uint32_t fcnt;

	ck_assert_int_eq(durable_add(&w.durable, fake_stage, fake_due, &part), LB_OK);
	ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, dev, &fcnt), LB_ERR_AGAIN);
	int64_t now = loop_now_ms();
	uint64_t failures = w.durable.failures;
	ck_assert_int_eq(durable_tick(&w.durable, now), now + STORE_RETRY_MS);
	ck_assert_uint_eq(w.durable.failures, failures + 1);
	ck_assert(durable_failing(&w.durable));
	ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, dev, &fcnt), LB_ERR_IO);
	ck_assert_int_eq(durable_tick(&w.durable, now + 1), now + STORE_RETRY_MS);
	ck_assert_uint_eq(w.durable.failures, failures + 1);   /* not tried again */
	ck_assert(w.durable.soon);
	part.rc = LB_OK;
	(void)durable_tick(&w.durable, now + STORE_RETRY_MS);
	ck_assert(!durable_failing(&w.durable));
	ck_assert(!w.durable.soon);
	if (store_sync_pending(&w.store))
		reap_sync();
	ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, dev, &fcnt), LB_OK);
	ck_assert_uint_eq(fcnt, 0);
}
END_TEST

/* A reservation whose batch is committed, its sync in flight, only waits
 * for that sync, whatever a later commit does: one that fails meanwhile
 * is no reason to give it up. */
START_TEST(test_committed_reservation_outlives_a_later_failure)
{
	struct lb_device *dev = devices_find_eui(&w.devices, DEV_EUI);
	struct fake_part part = {.rc = LB_OK};
	uint32_t fcnt;

	if (store_sync_start(&w.store) < 0)
		return;   /* without io_uring a committed batch is on the disk */
	ck_assert_int_eq(durable_add(&w.durable, fake_stage, fake_due, &part), LB_OK);
	ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, dev, &fcnt), LB_ERR_AGAIN);
	(void)durable_tick(&w.durable, loop_now_ms());
	ck_assert(store_sync_pending(&w.store));
	part.rc = LB_ERR_IO;
	ck_assert_int_eq(durable_commit_nowait(&w.durable), LB_ERR_IO);
	ck_assert(durable_failing(&w.durable));
	ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, dev, &fcnt), LB_ERR_AGAIN);
	reap_sync();
	ck_assert_int_eq(txsched_reserve_fcnt(&w.tx, dev, &fcnt), LB_OK);
}
END_TEST

/* A class-A decision whose counter cannot be committed is given up as one
 * whose windows passed: nothing sent, counted as failed, a `log` event
 * F_CNT_DOWN, no ACK left due. */
START_TEST(test_downlink_given_up_while_commits_fail)
{
	uint8_t phy[LW_MAX_PHY];
	struct fake_part part = {.rc = LB_ERR_IO};

	(void)route_of(GW_1, 1718);
	hear_one(phy, build_up(phy, LW_MTYPE_CONFIRMED_UP, DEV_ADDR, 7, 2, "ping"));
	ck_assert_int_eq(durable_add(&w.durable, fake_stage, fake_due, &part), LB_OK);
	int64_t now = loop_now_ms() + w.cfg.downlink_delay_ms + 1;
	ck_assert_int_eq(txsched_tick(&w.tx, now), now + TXSCHED_DISK_POLL_MS);
	(void)durable_tick(&w.durable, now);             /* fails */
	ck_assert_int_eq(txsched_tick(&w.tx, now + TXSCHED_DISK_POLL_MS), -1);
	ck_assert_uint_eq(w.udp.n, 0);
	ck_assert_uint_eq(w.tx.stats.failed, 1);
	ck_assert(!txsched_busy(&w.tx, DEV_EUI));
	ck_assert(!w.devices.dev[0].rt.ack_due);
	assert_last_log("F_CNT_DOWN");
}
END_TEST

/* The client refuses an `up` for good: it is counted, never lost silently. */
START_TEST(test_refused_up_is_counted)
{
	uint8_t phy[LW_MAX_PHY];
	char up[PUBLISH_TOPIC_MAX];

	device_topic(up, sizeof(up), DEV_EUI, "up");
	hear_one(phy, build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 1, 10, "one"));
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	w.sink.refuse = LB_ERR_INVAL;
	ck_assert_uint_eq(release(), 0);
	ck_assert_uint_eq(w.stats.frame_drops[DROP_PUBLISH], 1);
	ck_assert_uint_eq(held(), 0);
	w.sink.refuse = LB_OK;
	ck_assert_uint_eq(count_topic(up), 0);
}
END_TEST

START_TEST(test_held_events_keep_order)
{
	uint8_t phy[LW_MAX_PHY];
	char up[PUBLISH_TOPIC_MAX];
	struct fake_part part = {.rc = LB_ERR_IO};

	device_topic(up, sizeof(up), DEV_EUI, "up");
	ck_assert_int_eq(durable_add(&w.durable, fake_stage, fake_due, &part), LB_OK);
	hear_one(phy, build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 1, 10, "one"));
	ck_assert_int_eq(durable_commit(&w.durable), LB_ERR_IO);
	hear_one(phy, build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 2, 10, "two"));
	ck_assert_uint_eq(held(), 2);
	part.rc = LB_OK;
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_uint_eq(release(), 2);
	int64_t seen[2];
	size_t k = 0;
	for (size_t i = 0; i < w.sink.n; i++) {
		if (strcmp(w.sink.m[i].topic, up) != 0)
			continue;
		json_object *o = json_tokener_parse(w.sink.m[i].payload);
		ck_assert_ptr_nonnull(o);
		ck_assert_uint_lt(k, 2);
		seen[k++] = json_object_get_int64(member(o, "fCnt"));
		json_object_put(o);
	}
	ck_assert_uint_eq(k, 2);
	ck_assert_int_eq(seen[0], 1);
	ck_assert_int_eq(seen[1], 2);
	ck_assert_int_eq(committed_fcnt_up(), 2);
}
END_TEST

/* With discovery on, a published up event brings the device's entities:
 * its link diagnostics, read from that same up topic. */
START_TEST(test_home_assistant_entities)
{
	uint8_t phy[LW_MAX_PHY];
	char up[PUBLISH_TOPIC_MAX];
	struct hass_opts ho = {.discovery = true, .prefix = "homeassistant"};

	hass_free(&w.hass);
	ck_assert_int_eq(hass_init(&w.hass, &w.pub, &ho), LB_OK);
	device_topic(up, sizeof(up), DEV_EUI, "up");
	first_uplink(phy);
	json_object *c = last_on("homeassistant/sensor/70b3d57ed0000001/link-rssi/config");
	ck_assert_str_eq(str_of(c, "state_topic"), up);
	ck_assert_str_eq(str_of(member(c, "device"), "name"), "sensor");
	json_object_put(c);
	ck_assert_uint_eq(count_topic("homeassistant/sensor/70b3d57ed0000001/last-seen/config"), 1);
	/* a retransmission is no up event: nothing more */
	hear_one(phy, build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 1, 10, "hello"));
	ck_assert_uint_eq(count_topic("homeassistant/sensor/70b3d57ed0000001/last-seen/config"), 1);
}
END_TEST

/* A device with a codec: its `up` carries the decoded object, and Home
 * Assistant hears of its fields (the codec runs before hass_seen()); a
 * payload the codec refuses goes out without object, with UPLINK_CODEC. */
START_TEST(test_codec_object)
{
	uint8_t phy[LW_MAX_PHY];
	char up[PUBLISH_TOPIC_MAX];
	struct hass_opts ho = {.discovery = true, .prefix = "homeassistant"};

	hass_free(&w.hass);
	ck_assert_int_eq(hass_init(&w.hass, &w.pub, &ho), LB_OK);
	/* The shared profile's codec (every device configured alike; one here). */
	w.devices.dev[0].prof->codec = LB_CODEC_CAYENNELPP;
	device_topic(up, sizeof(up), DEV_EUI, "up");
	hear_one(phy, build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 1, 10, "\x03\x67\x01\x10"));
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_uint_eq(release(), 1);
	json_object *e = last_on(up);
	ck_assert_str_eq(json_object_to_json_string_ext(member(e, "object"), JSON_C_TO_STRING_PLAIN),
			 "{\"temperatureSensor\":{\"3\":27.2}}");
	json_object_put(e);
	ck_assert_uint_eq(count_topic("homeassistant/sensor/70b3d57ed0000001/temperatureSensor_3/"
				      "config"), 1);
	ck_assert_uint_eq(w.stats.codec_decoded, 1);

	hear_one(phy, build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 2, 10, "\x03\x99\x01"));
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_uint_eq(release(), 1);
	e = last_on(up);
	ck_assert(!json_object_object_get_ex(e, "object", NULL));
	json_object_put(e);
	assert_last_log("UPLINK_CODEC");
	ck_assert_uint_eq(w.stats.codec_failed, 1);
}
END_TEST

/* The network's MAC requests wired into the scheduler as bridge.c does
 * (txsched_ctx.netmac), with the default settings: nothing to push to the
 * ABP device but what the test turns on. */
static void wire_netmac(void)
{
	world_add(&w, &(struct world_opts){.modules = WORLD_NETMAC});
}

/* A MAC-only downlink (DevStatusReq, nothing queued, no ACK due) counts
 * against the device's fair-access downlink budget and is refused by it
 * like any other (fair_access.action = "enforce"): a `log` FAIR_ACCESS, no
 * PULL_RESP, and the request is not counted as tried (netmac_sent() only
 * once a gateway has it), so it keeps its max_unanswered tries. */
START_TEST(test_mac_only_downlink_refused_by_fair_access)
{
	uint8_t phy[LW_MAX_PHY];
	struct lb_device *dev = &w.devices.dev[0];
	struct gwmp_txack ok;

	wire_netmac();
	/* What devices_init() makes of fair_access {downlinks = 1, action = "enforce"},
	 * set in the shared profile (every device configured alike; one here). */
	dev->prof->fa_policy.downlinks = 1;
	dev->prof->fa_policy.action = FA_ENFORCE;
	dev->prof->status_interval_h = 24;                 /* status unknown: asked at once */
	(void)route_of(GW_1, 1702);

	first_uplink(phy);
	const struct rec_dgram *d = decide_now();
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_DEV_STATUS], 1);
	memset(&ok, 0, sizeof(ok));
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d->buf + GWMP_OFF_TOKEN, &d->to, &ok), LB_OK);
	ck_assert_uint_eq(w.tx.stats.sent, 1);       /* the budget's one downlink */

	/* No DevStatusAns: asked again, but the budget is used up. */
	size_t len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 2, 10, "again");
	hear_one(phy, len);
	size_t sent_before = w.udp.n;
	ck_assert_ptr_null(decide_now());
	ck_assert_uint_eq(w.udp.n, sent_before);
	ck_assert_uint_eq(w.tx.stats.scheduled, 1);
	assert_last_log("FAIR_ACCESS");
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_DEV_STATUS], 1);
	ck_assert_uint_eq(dev->rt.mac->track[MACSTATE_DEV_STATUS].tries, 1);
	ck_assert_uint_eq(w.mac.stats.backoffs, 0);

	/* Refused again and again: never a try, never a back-off. */
	for (uint32_t fcnt = 3; fcnt < 10; fcnt++) {
		len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, fcnt, 10, "again");
		hear_one(phy, len);
		ck_assert_ptr_null(decide_now());
	}
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_DEV_STATUS], 1);
	ck_assert_uint_eq(dev->rt.mac->track[MACSTATE_DEV_STATUS].tries, 1);
	ck_assert_uint_eq(w.mac.stats.backoffs, 0);
}
END_TEST

/* `log` events of the test device with this code. */
static size_t count_logs(const char *code)
{
	char topic[PUBLISH_TOPIC_MAX], needle[64];
	size_t n = 0;

	device_topic(topic, sizeof(topic), DEV_EUI, "log");
	snprintf(needle, sizeof(needle), "\"code\":\"%s\"", code);
	for (size_t i = 0; i < w.sink.n; i++)
		n += strcmp(w.sink.m[i].topic, topic) == 0 && strstr(w.sink.m[i].payload, needle);
	return n;
}

/* A MAC-only downlink refused by the gateway's duty cycle is not asked
 * again at every uplink: one `log` DUTY_CYCLE, then nothing until the
 * sub-band sheds airtime (the duty-cycle ledger says when); its requests
 * are not counted as tried. A frame with more than requests (an ACK) is
 * still tried. */
START_TEST(test_mac_only_downlink_backs_off_on_duty_cycle)
{
	uint8_t phy[LW_MAX_PHY];
	struct lb_device *dev = &w.devices.dev[0];
	struct downlink_attempt a;
	size_t len;

	wire_netmac();
	/* In the shared profile (every device configured alike; one here). */
	dev->prof->status_interval_h = 24;                 /* status unknown: asked at once */
	(void)route_of(GW_1, 1702);
	/* The gateway's RX1 (868.1 MHz, 1 %) and RX2 (869.525 MHz, 10 %)
	 * sub-bands full for the hour. */
	memset(&a, 0, sizeof(a));
	ck_assert(budget_window_ok(&w.budget, GW_1, &a));   /* its ledger exists */
	ck_assert_uint_eq(w.budget.n_gw, 1);
	int64_t now = loop_wall_us() / 1000;
	ck_assert_int_eq(dc_record(&w.budget.gw[0].dc, w.region, 868100000, 36000000, now), LB_OK);
	ck_assert_int_eq(dc_record(&w.budget.gw[0].dc, w.region, 869525000, 360000000, now), LB_OK);

	struct fcntdown before = dev->rt.fcnt_down;
	first_uplink(phy);
	ck_assert_ptr_null(decide_now());
	ck_assert_uint_eq(count_logs("DUTY_CYCLE"), 1);
	/* Refused before it was built: no downlink counter reserved for it. */
	ck_assert_uint_eq(dev->rt.fcnt_down.ceiling, before.ceiling);
	ck_assert_uint_eq(dev->rt.fcnt_down.next, before.next);
	ck_assert_int_gt(dev->rt.mac_dc_retry_ms, now + 59 * 60 * 1000);
	ck_assert_int_le(dev->rt.mac_dc_retry_ms, now + 62 * 60 * 1000);
	for (uint32_t fcnt = 2; fcnt < 8; fcnt++) {
		len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, fcnt, 10, "again");
		hear_one(phy, len);
		ck_assert_ptr_null(decide_now());
	}
	ck_assert_uint_eq(count_logs("DUTY_CYCLE"), 1);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_DEV_STATUS], 0);
	ck_assert_uint_eq(dev->rt.mac->track[MACSTATE_DEV_STATUS].tries, 0);
	ck_assert_uint_eq(w.tx.stats.scheduled, 0);

	/* A confirmed uplink's ACK is tried (and refused, logged) all the same. */
	len = build_up(phy, LW_MTYPE_CONFIRMED_UP, DEV_ADDR, 8, 10, "ack me");
	hear_one(phy, len);
	ck_assert_ptr_null(decide_now());
	ck_assert_uint_eq(count_logs("DUTY_CYCLE"), 2);

	/* Once the back-off is over, asked (and refused) again: logged once more. */
	dev->rt.mac_dc_retry_ms = now;
	len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 9, 10, "again");
	hear_one(phy, len);
	ck_assert_ptr_null(decide_now());
	ck_assert_uint_eq(count_logs("DUTY_CYCLE"), 3);
	ck_assert_int_gt(dev->rt.mac_dc_retry_ms, now);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_DEV_STATUS], 0);
}
END_TEST

/* The duty-cycle ledger of GW_1 (the test's only gateway with a route). */
static struct dc_gateway *gw1_ledger(void)
{
	for (size_t i = 0; i < w.budget.n_gw; i++)
		if (w.budget.gw[i].eui == GW_1)
			return &w.budget.gw[i].dc;
	ck_abort_msg("no ledger for GW_1");
	return NULL;
}

/* A MAC-only downlink of the test device refused only because another
 * frame's airtime is held on the sub-band (its PULL_RESP sent, its TX_ACK
 * awaited: budget_hold()). The frame holding it: a 150-byte item of a
 * second device in RX1 (868.1 MHz SF7, about 250 ms); the ledger leaves
 * 150 ms in RX1's sub-band (1 %, 36 s an hour) and nothing in RX2's.
 * Returns the index in w.udp of the second device's PULL_RESP. */
static size_t mac_only_refused_by_hold(void)
{
	static const uint8_t door_nwk[16] = {0x61, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61,
					     0x61, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61};
	static const uint8_t door_app[16] = {0x62, 0x62, 0x62, 0x62, 0x62, 0x62, 0x62, 0x62,
					     0x62, 0x62, 0x62, 0x62, 0x62, 0x62, 0x62, 0x62};
	uint8_t phy[LW_MAX_PHY];
	struct store_downlink dl;
	struct gwmp_txpk txpk;
	struct lw_frame f;
	struct lb_device_conf abp = door_conf(false);
	struct lb_device *door = reload_door(&abp);

	door->dev_class = LB_CLASS_A;
	struct lb_device *dev = devices_find_eui(&w.devices, DEV_EUI);
	ck_assert_ptr_nonnull(dev);
	wire_netmac();
	/* In the shared profile: the status of both devices unknown, asked at once. */
	dev->prof->status_interval_h = 24;
	(void)route_of(GW_1, 1703);

	memset(&dl, 0, sizeof(dl));
	snprintf(dl.id, sizeof(dl.id), "door-item");
	dl.dev_eui = OTAA_EUI;
	dl.fport = 4;
	dl.len = 150;
	memset(dl.data, 0x33, dl.len);
	ck_assert_int_eq(store_downlink_push(&w.store, &dl, NULL), LB_OK);
	uplink_under(DEV_ADDR + 0x100, door_nwk, door_app, 1);
	ck_assert_ptr_nonnull(decide_now());
	last_txpk(&txpk);
	ck_assert_int_eq(lorawan_parse(txpk.data, txpk.size, &f), LB_OK);
	ck_assert_uint_eq(f.u.data.dev_addr, DEV_ADDR + 0x100);
	ck_assert_uint_eq(txpk.freq_hz, 868100000);     /* RX1: held there */

	int64_t now = loop_wall_us() / 1000;
	ck_assert_int_eq(dc_record(gw1_ledger(), w.region, 868100000, 36000000 - 150000, now),
			 LB_OK);
	ck_assert_int_eq(dc_record(gw1_ledger(), w.region, 869525000, 360000000, now), LB_OK);

	size_t len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 1, 10, "hello");
	hear_one(phy, len);
	ck_assert_ptr_null(decide_now());
	ck_assert_uint_eq(count_logs("DUTY_CYCLE"), 1);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_DEV_STATUS], 1);   /* the door's */
	return w.udp.n - 1;
}

/* While the hold lasts, each uplink of the device tries again without a
 * back-off, and the episode is one `log` DUTY_CYCLE, not one per uplink.
 * The TX_ACK error that ends the hold (in RX1, with no room in RX2 to
 * retry it: given back) lets the device's next uplink (FCnt 5) have its
 * MAC requests, in RX1: the frame does not wait for the ledger to shed
 * airtime (an hour here). txpk: that frame, now holding its own airtime. */
static void mac_only_sent_after_hold(struct gwmp_txpk *txpk)
{
	uint8_t phy[LW_MAX_PHY];
	struct gwmp_txack err;
	struct lw_frame f;
	size_t door_frame = mac_only_refused_by_hold();
	const struct rec_dgram *d = &w.udp.d[door_frame];
	const struct lb_device *dev = devices_find_eui(&w.devices, DEV_EUI);
	size_t len;

	for (uint32_t fcnt = 2; fcnt <= 4; fcnt++) {
		len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, fcnt, 10, "held");
		hear_one(phy, len);
		ck_assert_ptr_null(decide_now());
		ck_assert_int_eq(dev->rt.mac_dc_retry_ms, 0);   /* no back-off */
	}
	ck_assert_uint_eq(count_logs("DUTY_CYCLE"), 1);
	ck_assert_uint_eq(w.udp.n, door_frame + 1);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_DEV_STATUS], 1);   /* the door's */

	/* The gateway could not send the door's item (TOO_LATE): its hold is
	 * given back; RX2 has no room for it, so it is not tried there. */
	memset(&err, 0, sizeof(err));
	snprintf(err.error, sizeof(err.error), "TOO_LATE");
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d->buf + GWMP_OFF_TOKEN, &d->to, &err), LB_OK);
	ck_assert_uint_eq(w.udp.n, door_frame + 1);

	len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 5, 10, "again");
	hear_one(phy, len);
	ck_assert_ptr_nonnull(decide_now());
	last_txpk(txpk);
	ck_assert_int_eq(lorawan_parse(txpk->data, txpk->size, &f), LB_OK);
	ck_assert_uint_eq(f.u.data.dev_addr, DEV_ADDR);
	ck_assert_uint_eq(txpk->freq_hz, 868100000);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_DEV_STATUS], 2);
	ck_assert_uint_eq(count_logs("DUTY_CYCLE"), 1);
	ck_assert(!dev->rt.mac_hold_logged);   /* sent: a later episode is logged again */
}

START_TEST(test_mac_only_downlink_retried_after_hold)
{
	struct gwmp_txpk txpk;

	mac_only_sent_after_hold(&txpk);
}
END_TEST

/* An unconfirmed uplink of the test device answering DevStatusReq
 * (DevStatusAns in FOpts: CID 0x06, Battery, Margin; TS001-1.0.4 §5.5). */
static size_t status_ans_up(uint8_t *phy, uint32_t fcnt)
{
	static const uint8_t ans[3] = {0x06, 200, 10};
	size_t len;
	struct lw_data_params p = {.mtype = LW_MTYPE_UNCONFIRMED_UP, .dev_addr = DEV_ADDR,
				   .fcnt = fcnt, .fopts = ans, .fopts_len = sizeof(ans),
				   .has_fport = true, .fport = 10,
				   .payload = (const uint8_t *)"x", .payload_len = 1};

	len = seal_up(&p, phy);
	return len;
}

/* Each hold episode is logged at its first refusal, including one after an
 * earlier episode ended: the device's frame sent at FCnt 5 ends the first
 * (the flag cleared by transmit()); its own airtime, held while its TX_ACK
 * is awaited, starts the second, once the ledger keeps 1.5 frames of room
 * in RX1's sub-band: one frame fits but for the hold, not beside it.
 * The DevStatusAns that leaves nothing to send ends that one too (decide()
 * clears the flag), and a third episode, its status due again, is logged. */
START_TEST(test_mac_only_hold_episodes_each_logged)
{
	uint8_t phy[LW_MAX_PHY];
	struct gwmp_txpk txpk;
	uint64_t frame_us = 0;
	size_t len;

	mac_only_sent_after_hold(&txpk);
	struct lb_device *dev = devices_find_eui(&w.devices, DEV_EUI);
	size_t sent = w.udp.n;
	ck_assert_int_eq(airtime_frame_us((enum airtime_modulation)txpk.modu, txpk.sf, txpk.bw_khz,
					  txpk.cr, txpk.bitrate, txpk.size, false, &frame_us), LB_OK);
	/* 150 ms of room was left; the frame of FCnt 5 holds frame_us of it. */
	ck_assert_uint_lt(frame_us * 3 / 2, 150000);
	int64_t now = loop_wall_us() / 1000;
	ck_assert_int_eq(dc_record(gw1_ledger(), w.region, 868100000, 150000 - frame_us * 3 / 2,
				   now), LB_OK);

	/* No DevStatusAns at FCnt 6: DevStatusReq asked again (the same frame),
	 * refused only for the hold: a second episode, logged. */
	for (uint32_t fcnt = 6; fcnt <= 7; fcnt++) {
		len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, fcnt, 10, "held");
		hear_one(phy, len);
		ck_assert_ptr_null(decide_now());
		ck_assert_int_eq(dev->rt.mac_dc_retry_ms, 0);   /* no back-off */
		ck_assert(dev->rt.mac_hold_logged);
		ck_assert_uint_eq(count_logs("DUTY_CYCLE"), 2);
	}
	ck_assert_uint_eq(w.udp.n, sent);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_DEV_STATUS], 2);

	/* The status answered, nothing is left to send: the episode ends. */
	len = status_ans_up(phy, 8);
	hear_one(phy, len);
	ck_assert_ptr_null(decide_now());
	ck_assert(!dev->rt.mac_hold_logged);
	ck_assert_uint_eq(count_logs("DUTY_CYCLE"), 2);

	/* Its status due again (an interval later) under the same hold: logged. */
	dev->rt.mac->status_at -= (uint32_t)dev->prof->status_interval_h * 3600u + 1u;
	len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 9, 10, "held");
	hear_one(phy, len);
	ck_assert_ptr_null(decide_now());
	ck_assert(dev->rt.mac_hold_logged);
	ck_assert_uint_eq(count_logs("DUTY_CYCLE"), 3);
	ck_assert_uint_eq(w.udp.n, sent);
}
END_TEST

/* A TX_ACK OK turns the hold into a charge: the sub-band is as full as the
 * hold made it, so the next uplink finds no room either, and the frame now
 * backs off by the ledger (until its airtime of an hour ago is shed). */
START_TEST(test_mac_only_downlink_backs_off_after_charge)
{
	uint8_t phy[LW_MAX_PHY];
	struct gwmp_txack ok;
	size_t door_frame = mac_only_refused_by_hold();
	const struct rec_dgram *d = &w.udp.d[door_frame];
	const struct lb_device *dev = devices_find_eui(&w.devices, DEV_EUI);
	int64_t now = loop_wall_us() / 1000;

	memset(&ok, 0, sizeof(ok));
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d->buf + GWMP_OFF_TOKEN, &d->to, &ok), LB_OK);
	size_t len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 2, 10, "again");
	hear_one(phy, len);
	ck_assert_ptr_null(decide_now());
	ck_assert_uint_eq(count_logs("DUTY_CYCLE"), 2);
	ck_assert_int_gt(dev->rt.mac_dc_retry_ms, now + 59 * 60 * 1000);
	len = build_up(phy, LW_MTYPE_UNCONFIRMED_UP, DEV_ADDR, 3, 10, "again");
	hear_one(phy, len);
	ck_assert_ptr_null(decide_now());
	ck_assert_uint_eq(count_logs("DUTY_CYCLE"), 2);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_DEV_STATUS], 1);
}
END_TEST

/* ------------------------------------------------------------ the frame's size */

/* A queued item of the largest size the window allows (EU868 DR0: N = 51,
 * RP002-1.0.4 §2.4.6) heard at SF12 through the given FOpts of the uplink. */
static size_t item_uplink(uint8_t *phy, size_t item_len, const uint8_t *fopts, uint8_t fopts_len)
{
	const struct lb_device *dev0 = &w.devices.dev[0];
	struct store_downlink dl;
	size_t len;

	memset(&dl, 0, sizeof(dl));
	snprintf(dl.id, sizeof(dl.id), "%s", ITEM_A);
	dl.dev_eui = DEV_EUI;
	dl.fport = 3;
	dl.len = item_len;
	memset(dl.data, 0x5a, dl.len);
	ck_assert_int_eq(store_downlink_push(&w.store, &dl, NULL), LB_OK);
	struct lw_data_params p = {.mtype = LW_MTYPE_UNCONFIRMED_UP, .dev_addr = DEV_ADDR,
				   .fcnt = dev0->has_last_fcnt ? dev0->last_fcnt_up + 1 : 1,
				   .fopts = fopts, .fopts_len = fopts_len, .has_fport = true, .fport = 10,
				   .payload = (const uint8_t *)"x", .payload_len = 1};
	len = seal_up(&p, phy);
	struct lb_rx rx = make_rx(GW_1, phy, len, -120, -15.0f);
	rx.rxpk.sf = 12;
	ck_assert_int_eq(dedup_add(&w.dedup, &rx, t.clk, uplink_process, &t.up), DEDUP_NEW);
	t.clk += 10000;
	dedup_tick(&w.dedup, t.clk, uplink_process, &t.up);
	return len;
}

static size_t max_item_uplink(uint8_t *phy, const uint8_t *fopts, uint8_t fopts_len)
{
	return item_uplink(phy, 51, fopts, fopts_len);
}

/* The last PULL_RESP's frame, parsed. */
static void last_frame(struct gwmp_txpk *txpk, struct lw_frame *f)
{
	last_txpk(txpk);
	ck_assert_int_eq(lorawan_parse(txpk->data, txpk->size, f), LB_OK);
}

/* RP002-1.0.4's M counts FOpts: the network's own request (DevStatusReq,
 * one byte) beside a 51-byte item at DR0 makes 60 > 59. The request waits
 * for a later frame; the item goes whole (a 64-byte PHYPayload), and is
 * not lost. */
START_TEST(test_max_item_not_lost_to_requests)
{
	uint8_t phy[LW_MAX_PHY];
	struct store_downlink dl;
	struct gwmp_txpk txpk;
	struct lw_frame f;

	wire_netmac();
	w.devices.dev[0].prof->status_interval_h = 24;   /* status unknown: asked at once */
	(void)route_of(GW_1, 1801);
	struct gwmp_txack ok;

	max_item_uplink(phy, NULL, 0);
	const struct rec_dgram *d = decide_now();
	ck_assert_ptr_nonnull(d);
	last_frame(&txpk, &f);
	ck_assert_uint_eq(txpk.size, 64);
	ck_assert_uint_eq(f.u.data.fopts_len, 0);
	ck_assert_uint_eq(f.u.data.fport, 3);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_DEV_STATUS], 0);   /* not tried yet */
	memset(&ok, 0, sizeof(ok));
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d->buf + GWMP_OFF_TOKEN, &d->to, &ok), LB_OK);
	ck_assert_int_eq(store_downlink_get(&w.store, ITEM_A, &dl), LB_ERR_NOT_FOUND);  /* sent */
	ck_assert_uint_eq(count_logs("DOWNLINK_PAYLOAD_SIZE"), 0);
}
END_TEST

/* Two of the network's requests (DevStatusReq, 1 byte, then
 * RXTimingSetupReq, 2) beside a 49-byte item make 52 > 51: the requests
 * shrink, whole commands, to what fits: DevStatusReq goes, RXTimingSetupReq
 * waits. */
START_TEST(test_requests_shrink_to_fit)
{
	uint8_t phy[LW_MAX_PHY];
	struct gwmp_txpk txpk;
	struct lw_frame f;

	wire_netmac();
	w.devices.dev[0].prof->status_interval_h = 24;
	w.mac.o.rx_delay_s = 2;                          /* RXTimingSetupReq due */
	(void)route_of(GW_1, 1804);
	item_uplink(phy, 49, NULL, 0);
	ck_assert_ptr_nonnull(decide_now());
	last_frame(&txpk, &f);
	ck_assert_uint_eq(f.u.data.fopts_len, 1);
	ck_assert_uint_eq(f.u.data.fopts[0], 0x06);                     /* DevStatusReq */
	ck_assert_uint_eq(f.u.data.fport, 3);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_DEV_STATUS], 1);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_RX_TIMING], 0);
}
END_TEST

/* The device's own request (LinkCheckReq) needs its answer in this window
 * (three bytes of FOpts): the 51-byte item does not fit beside it, so the
 * answer goes alone with FPending set and the item stays queued for the
 * next window; nothing is dropped. */
START_TEST(test_max_item_waits_for_answers)
{
	static const uint8_t link_check_req[] = {0x02};
	uint8_t phy[LW_MAX_PHY];
	struct store_downlink dl;
	struct gwmp_txpk txpk;
	struct lw_frame f;

	(void)route_of(GW_1, 1802);
	max_item_uplink(phy, link_check_req, sizeof(link_check_req));
	ck_assert_ptr_nonnull(decide_now());
	last_frame(&txpk, &f);
	ck_assert_uint_eq(f.u.data.fopts_len, 3);
	ck_assert_uint_eq(f.u.data.fopts[0], 0x02);                     /* LinkCheckAns */
	ck_assert(!f.u.data.has_fport);
	ck_assert_uint_ne(f.u.data.fctrl & 0x10, 0);                    /* FPending */
	ck_assert_int_eq(store_downlink_get(&w.store, ITEM_A, &dl), LB_OK);
	ck_assert_int_eq(dl.state, STORE_DL_QUEUED);
}
END_TEST

/* A confirmed uplink whose ACK the device missed comes again with the same
 * FCnt: not published again, but acknowledged again (TS001-1.0.4 §4.3.1.2),
 * each copy with the next FCntDown, with the answer to a LinkCheckReq it
 * carries; at most TXSCHED_RETX_ACKS times per FCnt; a new FCnt starts the
 * count again. An unconfirmed retransmission gets nothing. */
START_TEST(test_confirmed_retransmission_acked_again)
{
	static const uint8_t link_check_req[] = {0x02};
	uint8_t phy[LW_MAX_PHY];
	struct gwmp_txpk txpk;
	struct lw_frame f;
	struct lw_keys k;
	size_t len;

	(void)route_of(GW_1, 1805);
	struct lw_data_params p = {.mtype = LW_MTYPE_CONFIRMED_UP, .dev_addr = DEV_ADDR,
				   .fcnt = 7, .fopts = link_check_req, .fopts_len = 1,
				   .has_fport = true, .fport = 2,
				   .payload = (const uint8_t *)"ping", .payload_len = 4};
	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(lwcrypto_keys_init(&k, NWK, APP), LB_OK);
	ck_assert_int_eq(lorawan_build_data(&p, &k, phy, LW_MAX_PHY, &len), LB_OK);
	hear_one(phy, len);
	ck_assert_ptr_nonnull(decide_now());
	last_frame(&txpk, &f);
	ck_assert_uint_ne(f.u.data.fctrl & 0x20, 0);                    /* ACK */
	uint16_t first_down = f.u.data.fcnt16;
	for (int i = 1; i <= TXSCHED_RETX_ACKS; i++) {
		hear_one(phy, len);                    /* the same frame: a retransmission */
		ck_assert_uint_eq(w.stats.frame_drops[DROP_RETRANSMISSION], (uint64_t)i);
		ck_assert_ptr_nonnull(decide_now());
		last_frame(&txpk, &f);
		ck_assert_uint_ne(f.u.data.fctrl & 0x20, 0);
		ck_assert_uint_eq(f.u.data.fcnt16, (uint16_t)(first_down + i));
		ck_assert_uint_eq(f.u.data.fopts_len, 3);
		ck_assert_uint_eq(f.u.data.fopts[0], 0x02);             /* LinkCheckAns */
	}
	hear_one(phy, len);                            /* one copy too many */
	ck_assert_ptr_null(decide_now());
	ck_assert(!w.devices.dev[0].rt.ack_due);
	/* A new FCnt: acknowledged, and its retransmission too. */
	p.fcnt = 8;
	ck_assert_int_eq(lorawan_build_data(&p, &k, phy, LW_MAX_PHY, &len), LB_OK);
	hear_one(phy, len);
	ck_assert_ptr_nonnull(decide_now());
	hear_one(phy, len);
	ck_assert_ptr_nonnull(decide_now());
	/* Unconfirmed, heard twice: only the LinkCheckAns of the first copy. */
	p.mtype = LW_MTYPE_UNCONFIRMED_UP;
	p.fcnt = 9;
	ck_assert_int_eq(lorawan_build_data(&p, &k, phy, LW_MAX_PHY, &len), LB_OK);
	hear_one(phy, len);
	ck_assert_ptr_nonnull(decide_now());
	hear_one(phy, len);
	ck_assert_ptr_null(decide_now());
	lwcrypto_keys_free(&k);
}
END_TEST

/* An item too large even alone is dropped (DOWNLINK_PAYLOAD_SIZE) and the
 * device's answer still goes. */
START_TEST(test_too_large_item_dropped_answer_sent)
{
	static const uint8_t link_check_req[] = {0x02};
	uint8_t phy[LW_MAX_PHY];
	struct store_downlink dl;
	struct gwmp_txpk txpk;
	struct lw_frame f;

	(void)route_of(GW_1, 1803);
	max_item_uplink(phy, link_check_req, sizeof(link_check_req));
	ck_assert_int_eq(store_downlink_get(&w.store, ITEM_A, &dl), LB_OK);
	ck_assert_int_eq(store_downlink_delete(&w.store, ITEM_A), LB_OK);
	dl.len = 52;                                   /* N + 1 at DR0 */
	ck_assert_int_eq(store_downlink_push(&w.store, &dl, NULL), LB_OK);
	ck_assert_ptr_nonnull(decide_now());
	last_frame(&txpk, &f);
	ck_assert_uint_eq(f.u.data.fopts_len, 3);
	ck_assert_uint_eq(f.u.data.fctrl & 0x10, 0);
	ck_assert_int_eq(store_downlink_get(&w.store, ITEM_A, &dl), LB_ERR_NOT_FOUND);
	assert_last_log("DOWNLINK_PAYLOAD_SIZE");
	/* ChirpStack's context keys, beside lorabridge's queueItemId */
	char v[64];
	last_log_ctx("queueItemId", v, sizeof(v));
	ck_assert_str_eq(v, ITEM_A);
	last_log_ctx("queue_item_id", v, sizeof(v));
	ck_assert_str_eq(v, ITEM_A);
	last_log_ctx("item_size", v, sizeof(v));
	ck_assert_str_eq(v, "52");
	last_log_ctx("max_payload_size", v, sizeof(v));
	ck_assert_str_eq(v, "51");
}
END_TEST

/* A confirmed uplink of the test device with FOpts fopts. */
static size_t confirmed_up(uint8_t *phy, uint32_t fcnt, const uint8_t *fopts, uint8_t fopts_len)
{
	size_t len;
	struct lw_data_params p = {.mtype = LW_MTYPE_CONFIRMED_UP, .dev_addr = DEV_ADDR,
				   .fcnt = fcnt, .fopts = fopts, .fopts_len = fopts_len,
				   .has_fport = true, .fport = 2,
				   .payload = (const uint8_t *)"ping", .payload_len = 4};
	len = seal_up(&p, phy);
	return len;
}

/* A longer de-duplication window (500 ms) does not make a retransmission
 * 3.5 s after the first copy a late copy: it is acknowledged again. */
START_TEST(test_retransmission_after_longer_window)
{
	uint8_t phy[LW_MAX_PHY];

	dedup_free(&w.dedup);
	ck_assert_int_eq(dedup_init(&w.dedup, 500, 64), LB_OK);
	(void)route_of(GW_1, 1806);
	size_t len = confirmed_up(phy, 7, NULL, 0);
	struct lb_rx rx = make_rx(GW_1, phy, len, -60, 9.0f);
	ck_assert_int_eq(dedup_add(&w.dedup, &rx, t.clk, uplink_process, &t.up), DEDUP_NEW);
	t.clk += 600;
	dedup_tick(&w.dedup, t.clk, uplink_process, &t.up);
	ck_assert_ptr_nonnull(decide_now());
	t.clk += 2900;
	rx = make_rx(GW_1, phy, len, -60, 9.0f);
	ck_assert_int_eq(dedup_add(&w.dedup, &rx, t.clk, uplink_process, &t.up), DEDUP_NEW);
	t.clk += 600;
	dedup_tick(&w.dedup, t.clk, uplink_process, &t.up);
	ck_assert_uint_eq(w.stats.frame_drops[DROP_RETRANSMISSION], 1);
	ck_assert_ptr_nonnull(decide_now());
}
END_TEST

/* An item too large alone is dropped while a small one waits behind it:
 * the answer goes with FPending set, so the device asks again soon. With
 * nothing else to send, no empty frame goes. */
START_TEST(test_dropped_item_announces_the_next)
{
	static const uint8_t link_check_req[] = {0x02};
	uint8_t phy[LW_MAX_PHY];
	struct store_downlink dl;
	struct gwmp_txpk txpk;
	struct lw_frame f;

	(void)route_of(GW_1, 1807);
	/* A first downlink reserves the counters: the decision below is taken
	 * once, not again after a wait (which would read the queue again). */
	size_t len0 = confirmed_up(phy, 0, NULL, 0);
	hear_one(phy, len0);
	const struct rec_dgram *d0 = decide_now();
	ck_assert_ptr_nonnull(d0);
	struct gwmp_txack ok;
	memset(&ok, 0, sizeof(ok));
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d0->buf + GWMP_OFF_TOKEN, &d0->to, &ok), LB_OK);
	memset(&dl, 0, sizeof(dl));
	snprintf(dl.id, sizeof(dl.id), "%s", ITEM_B);
	dl.dev_eui = DEV_EUI;
	dl.fport = 3;
	dl.len = 2;
	item_uplink(phy, 52, link_check_req, sizeof(link_check_req));   /* queues ITEM_A first */
	ck_assert_int_eq(store_downlink_push(&w.store, &dl, NULL), LB_OK);
	d0 = decide_now();
	ck_assert_ptr_nonnull(d0);
	last_frame(&txpk, &f);
	ck_assert_uint_eq(f.u.data.fopts_len, 3);
	ck_assert_uint_ne(f.u.data.fctrl & 0x10, 0);                    /* FPending */
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d0->buf + GWMP_OFF_TOKEN, &d0->to, &ok), LB_OK);
	ck_assert_int_eq(store_downlink_get(&w.store, ITEM_A, &dl), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(store_downlink_get(&w.store, ITEM_B, &dl), LB_OK);
	ck_assert_int_eq(store_downlink_delete(&w.store, ITEM_B), LB_OK);
	/* Too large alone, nothing else due: dropped, and no frame at all. */
	size_t sent = w.udp.n;
	item_uplink(phy, 52, NULL, 0);
	ck_assert_ptr_null(decide_now());
	ck_assert_uint_eq(w.udp.n, sent);
	ck_assert_int_eq(store_downlink_get(&w.store, ITEM_A, &dl), LB_ERR_NOT_FOUND);
}
END_TEST

/* Once the item waits, the network's requests have the room of a frame
 * without it again: LinkCheckAns and DevStatusReq go together. */
START_TEST(test_requests_return_when_item_waits)
{
	static const uint8_t link_check_req[] = {0x02};
	uint8_t phy[LW_MAX_PHY];
	struct store_downlink dl;
	struct gwmp_txpk txpk;
	struct lw_frame f;

	wire_netmac();
	w.devices.dev[0].prof->status_interval_h = 24;
	(void)route_of(GW_1, 1808);
	max_item_uplink(phy, link_check_req, sizeof(link_check_req));
	ck_assert_ptr_nonnull(decide_now());
	last_frame(&txpk, &f);
	ck_assert_uint_eq(f.u.data.fopts_len, 4);
	ck_assert_uint_eq(f.u.data.fopts[0], 0x02);                     /* LinkCheckAns */
	ck_assert_uint_eq(f.u.data.fopts[3], 0x06);                     /* DevStatusReq */
	ck_assert_uint_ne(f.u.data.fctrl & 0x10, 0);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_DEV_STATUS], 1);
	ck_assert_int_eq(store_downlink_get(&w.store, ITEM_A, &dl), LB_OK);
}
END_TEST

/* ------------------------------------------------------------ FCtrl.ADR */

/* phy heard by GW_1 at a given SF (BW125, 868.1 MHz). */
static void hear_sf(const uint8_t *phy, size_t len, uint8_t sf, float snr)
{
	struct lb_rx rx = make_rx(GW_1, phy, len, -60, snr);
	rx.rxpk.sf = sf;
	enum dedup_result r = dedup_add(&w.dedup, &rx, t.clk, uplink_process, &t.up);
	ck_assert_int_eq(r, DEDUP_NEW);
	t.clk += 10000;
	dedup_tick(&w.dedup, t.clk, uplink_process, &t.up);
}

/* The FCtrl of the last PULL_RESP's frame (f points into *txpk). */
static uint8_t last_fctrl(struct gwmp_txpk *txpk, struct lw_frame *f)
{
	last_txpk(txpk);
	ck_assert_int_eq(lorawan_parse(txpk->data, txpk->size, f), LB_OK);
	return f->u.data.fctrl;
}

/* Downlink FCtrl.ADR (TS001-1.0.4 §4.3.1.1) says the network controls the
 * device's data rate: set for a device with devices[].adr, in the frame
 * that carries LinkADRReq as in any other. */
START_TEST(test_downlink_adr_bit_set)
{
	uint8_t phy[LW_MAX_PHY];
	struct gwmp_txpk txpk;
	struct lw_frame f;
	struct lw_keys *ks;
	size_t len;

	wire_netmac();
	w.devices.dev[0].adr = true;
	(void)route_of(GW_1, 1791);
	struct lw_data_params p = {.mtype = LW_MTYPE_UNCONFIRMED_UP, .dev_addr = DEV_ADDR,
				   .fctrl_flags = 0x80, .fcnt = 1, .has_fport = true, .fport = 10,
				   .payload = (const uint8_t *)"x", .payload_len = 1};
	ck_assert_int_eq(devices_keys(&w.devices, &w.devices.dev[0], &ks), LB_OK);
	ck_assert_int_eq(lorawan_build_data(&p, ks, phy, LW_MAX_PHY, &len), LB_OK);
	hear_sf(phy, len, 12, 5.0f);                 /* SF12, SNR +5: ADR raises the DR */
	(void)decide_now();
	ck_assert_uint_eq(w.udp.n, 1);
	uint8_t fctrl = last_fctrl(&txpk, &f);
	ck_assert_uint_gt(f.u.data.fopts_len, 0);
	ck_assert_uint_eq(f.u.data.fopts[0], 0x03);   /* LinkADRReq */
	ck_assert_uint_eq(fctrl & 0x80, 0x80);
}
END_TEST

/* The ACK of a confirmed uplink: ADR bit as devices[].adr says. */
START_TEST(test_downlink_adr_bit_follows_config)
{
	uint8_t phy[LW_MAX_PHY];
	struct gwmp_txpk txpk;
	struct lw_frame f;
	struct gwmp_txack ok;

	memset(&ok, 0, sizeof(ok));
	(void)route_of(GW_1, 1795);
	w.devices.dev[0].adr = false;
	size_t len = build_up(phy, LW_MTYPE_CONFIRMED_UP, DEV_ADDR, 7, 2, "ping");
	hear_one(phy, len);
	(void)decide_now();
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_uint_eq(last_fctrl(&txpk, &f) & 0xa0, 0x20);   /* ACK, no ADR */
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, w.udp.d[0].buf + GWMP_OFF_TOKEN,
					 &w.udp.d[0].to, &ok), LB_OK);
	w.devices.dev[0].adr = true;
	len = build_up(phy, LW_MTYPE_CONFIRMED_UP, DEV_ADDR, 8, 2, "ping");
	hear_one(phy, len);
	(void)decide_now();
	ck_assert_uint_eq(w.udp.n, 2);
	ck_assert_uint_eq(last_fctrl(&txpk, &f) & 0xa0, 0xa0);   /* ACK and ADR */
}
END_TEST

/* ------------------------------------------------------------ OTAA RX2 */

/* A confirmed uplink of dev with FOpts fopts; the decision sends its ACK,
 * whose RX1 attempt the gateway refuses (TOO_LATE): the RX2 txpk and the
 * frame's MAC commands come back. */
static void otaa_rx2_downlink(struct lb_device *dev, uint32_t fcnt, const uint8_t *fopts,
			      uint8_t fopts_len, struct gwmp_txpk *rx1, struct gwmp_txpk *rx2)
{
	uint8_t phy[LW_MAX_PHY];
	size_t len;
	struct lw_keys *ks;
	struct gwmp_txack err;
	struct lw_data_params p = {.mtype = LW_MTYPE_CONFIRMED_UP, .dev_addr = dev->dev_addr,
				   .fcnt = fcnt, .fopts = fopts, .fopts_len = fopts_len,
				   .has_fport = true, .fport = 2,
				   .payload = (const uint8_t *)"x", .payload_len = 1};

	ck_assert_int_eq(devices_keys(&w.devices, dev, &ks), LB_OK);
	ck_assert_int_eq(lorawan_build_data(&p, ks, phy, LW_MAX_PHY, &len), LB_OK);
	size_t before = w.udp.n;
	hear_one(phy, len);
	(void)decide_now();
	ck_assert_uint_eq(w.udp.n, before + 1);
	last_txpk(rx1);
	memset(&err, 0, sizeof(err));
	snprintf(err.error, sizeof(err.error), "TOO_LATE");
	const struct rec_dgram *d = &w.udp.d[w.udp.n - 1];
	ck_assert_int_eq(txsched_tx_ack(&w.tx, GW_1, d->buf + GWMP_OFF_TOKEN, &d->to, &err), LB_OK);
	ck_assert_uint_eq(w.udp.n, before + 2);
	last_txpk(rx2);
}

/* downlink.rx2_frequency set: an OTAA device learns only RX2's DR from its
 * join-accept (DLSettings, TS001-1.0.4 §6.2.6) and listens on the region's
 * default RX2 frequency (RP002-1.0.4 §2.4.7: 869.525 MHz) until it
 * acknowledges RXParamSetupReq (§5.4), which the bridge sends it: RX2 goes
 * on the default until then, on the configured frequency after. */
START_TEST(test_otaa_rx2_frequency_told)
{
	struct lw_key app_key;
	struct gwmp_txpk txpk, rx2;
	struct lw_frame f;
	struct maccmd cmds[8];
	size_t n = 0;
	struct lb_device *dev = otaa_device(&app_key);

	wire_netmac();
	w.mac.o.rx2_freq = 869100000;
	w.tx.opts.has_rx2_freq = true;
	w.tx.opts.rx2_freq = 869100000;
	(void)route_of(GW_1, 1794);
	bool ring = store_sync_start(&w.store) >= 0;
	join_with_nonce(&app_key, 1);
	if (ring) {
		reap_sync();
		(void)otaa_tick(&w.otaa, loop_now_ms());
	}
	sent_join_accept(&txpk);
	ck_assert_uint_eq(dev->rt.rx2_freq, 869525000);   /* what the device uses */

	otaa_rx2_downlink(dev, 1, NULL, 0, &txpk, &rx2);
	ck_assert_int_eq(lorawan_parse(txpk.data, txpk.size, &f), LB_OK);
	ck_assert_int_eq(maccmd_parse(f.u.data.fopts, f.u.data.fopts_len, LW_DIR_DOWN, cmds, 8, &n),
			 LB_OK);
	bool asked = false;
	for (size_t i = 0; i < n; i++) {
		if (cmds[i].cid != MACCMD_RX_PARAM_SETUP)
			continue;
		asked = true;
		ck_assert_uint_eq(cmds[i].u.rx_param_setup_req.frequency, 869100000);
		ck_assert_uint_eq(cmds[i].u.rx_param_setup_req.rx2_data_rate, 0);
	}
	ck_assert(asked);
	ck_assert_uint_eq(rx2.freq_hz, 869525000);         /* not yet acknowledged */

	/* RXParamSetupAns, all three bits: RX2 on the configured frequency. */
	static const uint8_t ans[] = {MACCMD_RX_PARAM_SETUP, 0x07};
	otaa_rx2_downlink(dev, 2, ans, sizeof(ans), &txpk, &rx2);
	ck_assert_uint_eq(dev->rt.rx2_freq, 869100000);
	ck_assert_uint_eq(rx2.freq_hz, 869100000);
	lwcrypto_key_free(&app_key);
}
END_TEST

static Suite *uplink_suite(void)
{
	Suite *s = suite_create("uplink");
	TCase *tc = tcase_create("core");

	world_fixtures(tc, "test_uplink", setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_up_held_until_durable);
	tcase_add_test(tc, test_retransmission_not_published_again);
	tcase_add_test(tc, test_confirmed_retransmission_acked_again);
	tcase_add_test(tc, test_replay_refused);
	tcase_add_test(tc, test_bad_mic);
	tcase_add_test(tc, test_bad_mic_gateway_frame);
	tcase_add_test(tc, test_airtime_state_step);
	tcase_add_test(tc, test_unknown_devaddr);
	tcase_add_test(tc, test_undecodable_phy);
	tcase_add_test(tc, test_confirmed_uplink_acked);
	tcase_add_test(tc, test_rx1_follows_regional_parameters);
	tcase_add_test(tc, test_confirmed_uplink_without_route);
	tcase_add_test(tc, test_refused_downlink_is_a_log);
	tcase_add_test(tc, test_expired_item_dropped);
	tcase_add_test(tc, test_ack_carries_uplink_dedup_id);
	tcase_add_test(tc, test_failing_part_holds_up);
	tcase_add_test(tc, test_refused_up_is_counted);
	tcase_add_test(tc, test_rejoin_pending_session);
	tcase_add_test(tc, test_pending_session_restored);
	tcase_add_test(tc, test_promotion_row_before_pending_deletion);
	tcase_add_test(tc, test_promotion_row_before_pending_deletion_log_full);
	tcase_add_test(tc, test_join_outcome_wiped);
	tcase_add_test(tc, test_promotion_pending_deletion_log_full);
	tcase_add_test(tc, test_pending_current_heard);
	tcase_add_test(tc, test_pending_current_repeated);
	tcase_add_test(tc, test_pending_repeat_after_restart);
	tcase_add_test(tc, test_pending_repeat_after_restart_unnoted);
	tcase_add_test(tc, test_class_c_heard_survives_restart);
	tcase_add_test(tc, test_class_c_waits_for_uplink_while_pending);
	tcase_add_test(tc, test_reload_sets_pending_aside);
	tcase_add_test(tc, test_pending_of_abp_device_not_taken);
	tcase_add_test(tc, test_review_promotion_lost_fcntdown);
	tcase_add_test(tc, test_review_confirmed_across_promotion);
	tcase_add_test(tc, test_review_first_join_leaves_pending);
	tcase_add_test(tc, test_first_join_deletes_pending_row_not_held);
	tcase_add_test(tc, test_join_accept_waits_for_sync);
	tcase_add_test(tc, test_join_accept_rx1_follows_regional_parameters);
	tcase_add_test(tc, test_us915_join_cflist_mask);
	tcase_add_test(tc, review_promotion_resets_mac);
	tcase_add_test(tc, review_promotion_resets_mac_same_second);
	tcase_add_test(tc, test_join_accept_too_late);
	tcase_add_test(tc, test_rejoin_while_held);
	tcase_add_test(tc, test_held_join_released_by_flush);
	tcase_add_test(tc, test_first_downlink_waits_for_sync);
	tcase_add_test(tc, test_downlink_after_wait_in_rx2);
	tcase_add_test(tc, test_downlink_wait_gives_up);
	tcase_add_test(tc, test_txack_waits_for_sync);
	tcase_add_test(tc, test_fcnt_reserved_only_when_synced);
	tcase_add_test(tc, test_join_staging_fails);
	tcase_add_test(tc, test_reservation_while_commits_fail);
	tcase_add_test(tc, test_committed_reservation_outlives_a_later_failure);
	tcase_add_test(tc, test_downlink_given_up_while_commits_fail);
	tcase_add_test(tc, test_held_events_keep_order);
	tcase_add_test(tc, test_home_assistant_entities);
	tcase_add_test(tc, test_codec_object);
	tcase_add_test(tc, test_mac_only_downlink_refused_by_fair_access);
	tcase_add_test(tc, test_mac_only_downlink_backs_off_on_duty_cycle);
	tcase_add_test(tc, test_mac_only_downlink_retried_after_hold);
	tcase_add_test(tc, test_mac_only_hold_episodes_each_logged);
	tcase_add_test(tc, test_mac_only_downlink_backs_off_after_charge);
	tcase_add_test(tc, test_max_item_not_lost_to_requests);
	tcase_add_test(tc, test_requests_shrink_to_fit);
	tcase_add_test(tc, test_max_item_waits_for_answers);
	tcase_add_test(tc, test_too_large_item_dropped_answer_sent);
	tcase_add_test(tc, test_retransmission_after_longer_window);
	tcase_add_test(tc, test_dropped_item_announces_the_next);
	tcase_add_test(tc, test_requests_return_when_item_waits);
	tcase_add_test(tc, test_downlink_adr_bit_set);
	tcase_add_test(tc, test_downlink_adr_bit_follows_config);
	tcase_add_test(tc, test_otaa_rx2_frequency_told);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_threshold = LOG_LVL_ERROR;
	return testutil_run(uplink_suite());
}
