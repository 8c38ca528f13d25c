/* SPDX-License-Identifier: MIT */
/*
 * test_dispatch.c - the GWMP dispatcher with its I/O edges faked: datagrams
 * go into dispatch_datagram() as udp_drain() hands them over; what it sends
 * lands in a recording udpout, what it publishes in a recording
 * publish_sink, and the de-duplicated groups in a counting emit callback
 * (in place of uplink_process). Gateway table, de-duplication, budgets and
 * scheduler are the real ones, wired as bridge.c wires them; the store is a
 * real SQLite database in a mkdtemp() directory under /tmp (removed by an
 * unchecked fixture, run in the parent even when a test fails).
 *
 * Datagrams are built like test_gwmp.c's examples (Semtech PROTOCOL.TXT §3-§6).
 */
#include <arpa/inet.h>
#include <check.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "config/config.h"
#include "daemon/budget.h"
#include "daemon/devevent.h"
#include "daemon/dispatch.h"
#include "daemon/durable.h"
#include "daemon/ids.h"
#include "daemon/publish.h"
#include "daemon/session.h"
#include "daemon/stats.h"
#include "daemon/txsched.h"
#include "daemon/udpout.h"
#include "gwmp/gwmp.h"
#include "io/loop.h"
#include "store/store.h"
#include "tables/dedup.h"
#include "tables/devices.h"
#include "tables/gateway.h"
#include "world.h"
#include "daemon/gwconn.h"

#define GW_1 UINT64_C(0xaa555a0000000101)
#define GW_2 UINT64_C(0xaa555a0000000202)
#define GW_1_HEX "aa555a0000000101"
#define GW_2_HEX "aa555a0000000202"
#define MAX_DGRAM 8192

/* The join-request of test_gwmp.c's PUSH_DATA example and its base64. */
static const uint8_t PHY[23] = {0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
				0x01, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
				0x02, 0x03, 0x03, 0x09, 0xb9, 0x7b, 0x32};
#define PHY_B64 "AAEBAQEBAQEBAgICAgICAgIDAwm5ezI="

/* One rxpk object with radio CRC status `stat`. */
#define RXPK(stat)                                                                      \
	"{\"tmst\":3512348611,\"chan\":0,\"rfch\":1,\"freq\":868.100000,\"stat\":" stat \
	",\"modu\":\"LORA\",\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"lsnr\":9.5,"     \
	"\"rssi\":-57,\"size\":23,\"data\":\"" PHY_B64 "\"}"
#define STAT                                                                            \
	"{\"time\":\"2024-05-14 09:12:47 GMT\",\"lati\":46.24000,\"long\":3.25230,"   \
	"\"alti\":145,\"rxnb\":2,\"rxok\":2,\"rxfw\":2,\"ackr\":100.0,\"dwnb\":0,\"txnb\":0}"

/* ------------------------------------------------------------ the fakes */

/* The groups de-duplication hands on (instead of uplink_process). */
struct rec_emit {
	size_t groups;
	size_t n_rx;                     /* of the last group */
	uint64_t gw[DEDUP_MAX_RX];
	uint8_t phy[GWMP_MAX_PHY];
	size_t phy_len;
};

static void rec_emit(void *arg, struct dedup_group *g)
{
	struct rec_emit *e = arg;

	e->groups++;
	e->n_rx = g->n_rx;
	for (size_t i = 0; i < g->n_rx; i++)
		e->gw[i] = g->rx[i].gateway_eui;
	memcpy(e->phy, g->phy, g->phy_len);
	e->phy_len = g->phy_len;
}

/* ------------------------------------------------------------ the world */

/* The modules (world.h) and, wired from them here, the dispatcher. */
static struct world w;
static struct {
	struct dispatch d;
	struct rec_emit emitted;
	struct udp_peer from;            /* the gateway's address */
} t;

static struct udp_peer peer(uint16_t port)
{
	struct udp_peer p;
	struct sockaddr_in sin;

	memset(&p, 0, sizeof(p));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1 */
	memcpy(&p.addr, &sin, sizeof(sin));
	p.len = sizeof(sin);
	return p;
}

/* No device; the gateway side of the daemon: table, de-duplication,
 * budgets, scheduler and gateway states. */
static void setup(void)
{
	world_base(&w, WORLD_HOLD_NONE);
	world_open(&w, NULL, 0, &(struct world_opts){
		.modules = WORLD_GATEWAYS | WORLD_DEDUP | WORLD_STORE | WORLD_SESSIONS |
			   WORLD_BUDGET | WORLD_TXSCHED | WORLD_GWCONN,
	});
	/* As handlers_setup(). */
	memset(&t, 0, sizeof(t));
	t.d.gateways = &w.gateways;
	t.d.dedup = &w.dedup;
	t.d.emit = rec_emit;
	t.d.emit_arg = &t.emitted;
	t.d.stats = &w.stats;
	t.d.pub = &w.pub;
	t.d.conn = &w.conn;
	t.d.budget = &w.budget;
	t.d.tx = &w.tx;
	t.d.out = (struct udpout){.send = rec_send, .arg = &w.udp};
	t.d.forward_crc_error = w.cfg.udp_forward_crc_error;
	t.d.offline_after = w.cfg.udp_offline_after;
	ck_assert_int_eq(dispatch_check(&t.d), LB_OK);
	t.from = peer(40001);
}

static void teardown(void)
{
	world_close(&w);
}

/* ------------------------------------------------------------ helpers */

/* Hand a gateway->server datagram to the dispatcher. */
static void deliver(enum gwmp_type type, uint64_t gw, uint8_t tok0, uint8_t tok1,
		    const char *json, const struct udp_peer *from)
{
	uint8_t buf[MAX_DGRAM];
	const uint8_t token[2] = {tok0, tok1};
	size_t len;

	ck_assert_int_eq(gwmp_build_up(2, token, type, gw, json, buf, sizeof(buf), &len), LB_OK);
	dispatch_datagram(&t.d, buf, len, false, from);
}

static void close_windows(void)
{
	dedup_tick(&w.dedup, loop_now_ms() + 10000, rec_emit, &t.emitted);
}

static size_t count_topic(const char *topic)
{
	return rec_count(&w.sink, topic);
}

static const struct rec_msg *last_msg(const char *topic)
{
	return rec_last(&w.sink, topic);
}

/* The retained gateway state is `state` (and retained). */
static void assert_conn(const char *state)
{
	const struct rec_msg *m = last_msg("gateway/" GW_1_HEX "/state/conn");
	ck_assert(m->retain);
	json_object *o = rec_json(m);
	ck_assert_str_eq(str_of(o, "gatewayId"), GW_1_HEX);
	ck_assert_str_eq(str_of(o, "state"), state);
	json_object_put(o);
}

/* The one datagram sent is the 4-byte ACK `ident` with token t0 t1, to `to`. */
static void assert_ack(size_t idx, uint8_t ident, uint8_t t0, uint8_t t1,
		       const struct udp_peer *to)
{
	const uint8_t want[4] = {2, t0, t1, ident};

	ck_assert_uint_gt(w.udp.n, idx);
	ck_assert_uint_eq(w.udp.d[idx].len, 4);
	ck_assert_mem_eq(w.udp.d[idx].buf, want, 4);
	ck_assert_uint_eq(w.udp.d[idx].to.len, to->len);
	ck_assert_mem_eq(&w.udp.d[idx].to.addr, &to->addr, to->len);
}

static uint64_t drops_total(void)
{
	uint64_t n = 0;
	for (int i = 0; i < LB_ERR__COUNT; i++)
		n += w.stats.dgram_drops[i];
	return n;
}

/* ------------------------------------------------------------ tests */

START_TEST(test_push_data_one_rxpk)
{
	deliver(GWMP_PUSH_DATA, GW_1, 0x5e, 0x1c, "{\"rxpk\":[" RXPK("1") "]}", &t.from);

	/* PUSH_ACK, same version and token, to the source. */
	ck_assert_uint_eq(w.udp.n, 1);
	assert_ack(0, GWMP_PUSH_ACK, 0x5e, 0x1c, &t.from);
	ck_assert_uint_eq(w.stats.datagrams[GWMP_PUSH_DATA], 1);
	ck_assert_uint_eq(w.stats.frames_received, 1);
	ck_assert_uint_eq(drops_total(), 0);

	/* First heard: ONLINE, retained; the reception as a gateway `up` event. */
	ck_assert_uint_eq(count_topic("gateway/" GW_1_HEX "/state/conn"), 1);
	assert_conn("ONLINE");
	ck_assert_uint_eq(count_topic("gateway/" GW_1_HEX "/event/up"), 1);
	const struct rec_msg *m = last_msg("gateway/" GW_1_HEX "/event/up");
	ck_assert(!m->retain);
	json_object *o = rec_json(m);
	ck_assert_str_eq(str_of(o, "phyPayload"), PHY_B64);
	json_object *rxi = NULL;
	ck_assert(json_object_object_get_ex(o, "rxInfo", &rxi));
	ck_assert_str_eq(str_of(rxi, "gatewayId"), GW_1_HEX);
	json_object_put(o);
	ck_assert_uint_eq(w.stats.gateway_events, 1);
	ck_assert_uint_eq(w.sink.n, 2);

	/* The frame waits for its de-duplication window. */
	ck_assert_uint_eq(t.emitted.groups, 0);
	close_windows();
	ck_assert_uint_eq(t.emitted.groups, 1);
	ck_assert_uint_eq(t.emitted.n_rx, 1);
	ck_assert_uint_eq(t.emitted.gw[0], GW_1);
	ck_assert_uint_eq(t.emitted.phy_len, sizeof(PHY));
	ck_assert_mem_eq(t.emitted.phy, PHY, sizeof(PHY));

	/* The gateway table knows where it pushes from, no downlink route yet. */
	struct gateway *gw = gateways_find(&w.gateways, GW_1);
	ck_assert_ptr_nonnull(gw);
	ck_assert_uint_eq(gw->push_data, 1);
	ck_assert_uint_eq(gw->rxpk_ok, 1);
	ck_assert_uint_eq(gw->push_addr_len, t.from.len);
	ck_assert_mem_eq(&gw->push_addr, &t.from.addr, t.from.len);
	ck_assert(!gw->has_downlink_addr);
}
END_TEST

START_TEST(test_two_gateways_one_group)
{
	struct udp_peer from2 = peer(40002);

	deliver(GWMP_PUSH_DATA, GW_1, 1, 1, "{\"rxpk\":[" RXPK("1") "]}", &t.from);
	deliver(GWMP_PUSH_DATA, GW_2, 2, 2, "{\"rxpk\":[" RXPK("1") "]}", &from2);
	ck_assert_uint_eq(w.udp.n, 2);
	assert_ack(0, GWMP_PUSH_ACK, 1, 1, &t.from);
	assert_ack(1, GWMP_PUSH_ACK, 2, 2, &from2);
	ck_assert_uint_eq(w.stats.dedup_hits, 1);
	/* Just past the window, well within the retention of emitted frames
	 * (2 s from the first copy: dedup.h). */
	dedup_tick(&w.dedup, loop_now_ms() + w.cfg.dedup_window_ms, rec_emit, &t.emitted);
	ck_assert_uint_eq(t.emitted.groups, 1);
	ck_assert_uint_eq(t.emitted.n_rx, 2);
	ck_assert_uint_eq(t.emitted.gw[0], GW_1);
	ck_assert_uint_eq(t.emitted.gw[1], GW_2);
	/* A late copy is dropped and counted, not emitted again. */
	deliver(GWMP_PUSH_DATA, GW_2, 3, 3, "{\"rxpk\":[" RXPK("1") "]}", &from2);
	ck_assert_uint_eq(dedup_open_count(&w.dedup), 0);
	close_windows();
	ck_assert_uint_eq(t.emitted.groups, 1);
	ck_assert_uint_eq(w.stats.frame_drops[DROP_LATE_DUPLICATE], 1);
}
END_TEST

START_TEST(test_online_published_once)
{
	deliver(GWMP_PUSH_DATA, GW_1, 1, 1, "{\"rxpk\":[" RXPK("1") "]}", &t.from);
	deliver(GWMP_PULL_DATA, GW_1, 2, 2, NULL, &t.from);
	deliver(GWMP_PUSH_DATA, GW_1, 3, 3, "{\"stat\":" STAT "}", &t.from);
	ck_assert_uint_eq(count_topic("gateway/" GW_1_HEX "/state/conn"), 1);
	ck_assert_uint_eq(w.udp.n, 3);
}
END_TEST

START_TEST(test_pull_data)
{
	struct udp_peer down = peer(40100);

	deliver(GWMP_PULL_DATA, GW_1, 0xa7, 0x03, NULL, &down);
	ck_assert_uint_eq(w.udp.n, 1);
	assert_ack(0, GWMP_PULL_ACK, 0xa7, 0x03, &down);
	ck_assert_uint_eq(w.stats.datagrams[GWMP_PULL_DATA], 1);
	assert_conn("ONLINE");
	ck_assert_uint_eq(count_topic("gateway/" GW_1_HEX "/event/up"), 0);
	/* Its source is the gateway's downlink route. */
	struct gateway *gw = gateways_find(&w.gateways, GW_1);
	ck_assert_ptr_nonnull(gw);
	ck_assert(gw->has_downlink_addr);
	ck_assert_uint_eq(gw->version, 2);
	ck_assert_uint_eq(gw->down_addr_len, down.len);
	ck_assert_mem_eq(&gw->down_addr, &down.addr, down.len);
	ck_assert_uint_eq(drops_total(), 0);
}
END_TEST

/* A gateway's datagrams that arrived spread out but are read at once (the
 * bridge was busy) are rate-limited by when they arrived: none is refused.
 * Crowded into the same arrival time, the eleventh is. */
START_TEST(test_rate_limit_by_arrival)
{
	struct gateways_opts go = {
		.keepalive_s = w.cfg.udp_keepalive_s, .offline_after = w.cfg.udp_offline_after,
		.rate_limit_count = 10, .rate_limit_window_ms = 10, .max_gateways = 16,
	};
	struct udp_peer down = peer(40100);
	int64_t t0 = loop_now_us() - 1000000;

	gateways_free(&w.gateways);
	ck_assert_int_eq(gateways_init(&w.gateways, &go), LB_OK);
	for (int i = 0; i < 20; i++) {
		down.arrival_mono_us = t0 + i * 2000;       /* one every 2 ms */
		down.arrival_wall_us = loop_wall_us();
		deliver(GWMP_PULL_DATA, GW_1, (uint8_t)i, 0, NULL, &down);
	}
	ck_assert_uint_eq(w.stats.dgram_drops[-LB_ERR_RATE_LIMIT], 0);
	ck_assert_uint_eq(w.udp.n, 20);
	for (int i = 0; i < 11; i++) {
		down.arrival_mono_us = t0 + 100000;         /* all at once */
		deliver(GWMP_PULL_DATA, GW_1, (uint8_t)i, 1, NULL, &down);
	}
	ck_assert_uint_eq(w.stats.dgram_drops[-LB_ERR_RATE_LIMIT], 1);
}
END_TEST

START_TEST(test_push_data_stat)
{
	deliver(GWMP_PUSH_DATA, GW_1, 4, 4, "{\"stat\":" STAT "}", &t.from);
	ck_assert_uint_eq(w.udp.n, 1);
	assert_ack(0, GWMP_PUSH_ACK, 4, 4, &t.from);
	ck_assert_uint_eq(count_topic("gateway/" GW_1_HEX "/event/stats"), 1);
	json_object *o = rec_json(last_msg("gateway/" GW_1_HEX "/event/stats"));
	ck_assert_str_eq(str_of(o, "gatewayId"), GW_1_HEX);
	json_object *v = NULL;
	ck_assert(json_object_object_get_ex(o, "rxPacketsReceived", &v));
	ck_assert_int_eq(json_object_get_int(v), 2);
	json_object_put(o);
	ck_assert_uint_eq(gateways_find(&w.gateways, GW_1)->stats_received, 1);
	/* the gateway's own forwarded count adds up over its reports */
	uint64_t rxfw = gateways_find(&w.gateways, GW_1)->stat_rxfw;
	ck_assert_uint_gt(rxfw, 0);
	deliver(GWMP_PUSH_DATA, GW_1, 4, 5, "{\"stat\":" STAT "}", &t.from);
	ck_assert_uint_eq(gateways_find(&w.gateways, GW_1)->stat_rxfw, 2 * rxfw);
	close_windows();
	ck_assert_uint_eq(t.emitted.groups, 0);
}
END_TEST

START_TEST(test_too_short)
{
	const uint8_t three[3] = {0x02, 0x5e, 0x1c};

	dispatch_datagram(&t.d, three, sizeof(three), false, &t.from);
	ck_assert_uint_eq(w.stats.dgram_drops[-LB_ERR_TOO_SHORT], 1);
	ck_assert_uint_eq(drops_total(), 1);
	ck_assert_uint_eq(w.udp.n, 0);
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_uint_eq(gateways_count(&w.gateways), 0);
}
END_TEST

START_TEST(test_push_data_bad_json)
{
	deliver(GWMP_PUSH_DATA, GW_1, 5, 5, "{\"rxpk\":[{\"freq\":868.1,}]}", &t.from);
	ck_assert_uint_eq(w.stats.dgram_drops[-LB_ERR_JSON], 1);
	ck_assert_uint_eq(drops_total(), 1);
	ck_assert_uint_eq(w.udp.n, 0);   /* no PUSH_ACK: the gateway sees it in `ackr` */
	ck_assert_uint_eq(count_topic("gateway/" GW_1_HEX "/event/up"), 0);
	ck_assert_uint_eq(w.stats.frames_received, 0);
	close_windows();
	ck_assert_uint_eq(t.emitted.groups, 0);
}
END_TEST

START_TEST(test_truncated_and_unknown_type)
{
	uint8_t buf[MAX_DGRAM];
	const uint8_t token[2] = {6, 6};
	size_t len;

	ck_assert_int_eq(gwmp_build_up(2, token, GWMP_PUSH_DATA, GW_1, "{\"rxpk\":[" RXPK("1") "]}",
				       buf, sizeof(buf), &len), LB_OK);
	dispatch_datagram(&t.d, buf, len, true, &t.from);
	ck_assert_uint_eq(w.stats.dgram_drops[-LB_ERR_TOO_LARGE], 1);
	/* A server->gateway identifier (PULL_RESP) from a gateway. */
	buf[GWMP_OFF_IDENT] = GWMP_PULL_RESP;
	dispatch_datagram(&t.d, buf, len, false, &t.from);
	ck_assert_uint_eq(w.stats.dgram_drops[-LB_ERR_UNKNOWN_TYPE], 1);
	/* An unknown protocol version. */
	buf[GWMP_OFF_IDENT] = GWMP_PUSH_DATA;
	buf[GWMP_OFF_VERSION] = 9;
	dispatch_datagram(&t.d, buf, len, false, &t.from);
	ck_assert_uint_eq(w.stats.dgram_drops[-LB_ERR_VERSION], 1);
	ck_assert_uint_eq(drops_total(), 3);
	ck_assert_uint_eq(w.udp.n, 0);
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_uint_eq(gateways_count(&w.gateways), 0);
}
END_TEST

START_TEST(test_crc_error_not_forwarded)
{
	deliver(GWMP_PUSH_DATA, GW_1, 7, 7, "{\"rxpk\":[" RXPK("-1") "]}", &t.from);
	ck_assert_uint_eq(w.udp.n, 1);   /* the datagram itself is well-formed */
	assert_ack(0, GWMP_PUSH_ACK, 7, 7, &t.from);
	ck_assert_uint_eq(w.stats.frame_drops[DROP_CRC], 1);
	ck_assert_uint_eq(w.stats.frames_received, 0);
	ck_assert_uint_eq(count_topic("gateway/" GW_1_HEX "/event/up"), 0);
	ck_assert_uint_eq(gateways_find(&w.gateways, GW_1)->rxpk_bad, 1);
	close_windows();
	ck_assert_uint_eq(t.emitted.groups, 0);
}
END_TEST

/* mqtt.gateway_frames = "unknown": the test frame is a join-request of
 * DevEUI 0202020202020202; published while no OTAA device has that EUI, not
 * once one does (it is that device's to report). Either way it goes on to
 * de-duplication. */
START_TEST(test_gateway_frames_unknown)
{
	t.d.gateway_frames = LB_GWF_UNKNOWN;
	t.d.devices = NULL;
	ck_assert_int_eq(dispatch_check(&t.d), LB_ERR_INVAL);   /* needs the registry */
	t.d.devices = &w.devices;
	ck_assert_int_eq(dispatch_check(&t.d), LB_OK);
	deliver(GWMP_PUSH_DATA, GW_1, 1, 1, "{\"rxpk\":[" RXPK("1") "]}", &t.from);
	ck_assert_uint_eq(count_topic("gateway/" GW_1_HEX "/event/up"), 1);
	ck_assert_uint_eq(w.stats.gateway_events, 1);

	struct lb_device_conf conf = {.name = (char *)"joiner", .application = (char *)"default",
				      .dev_eui = 0x0202020202020202ull,
				      .join_eui = 0x0101010101010101ull,
				      .activation = LB_ACT_OTAA, .lorawan_version = 3,
				      .fair_access = w.cfg.fair_access};
	ck_assert_int_eq(devices_reload(&w.devices, &conf, 1), LB_OK);
	deliver(GWMP_PUSH_DATA, GW_1, 2, 2, "{\"rxpk\":[" RXPK("1") "]}", &t.from);
	ck_assert_uint_eq(count_topic("gateway/" GW_1_HEX "/event/up"), 1);
	ck_assert_uint_eq(w.stats.gateway_events, 1);
	ck_assert_uint_eq(w.stats.frames_received, 2);
	close_windows();
	ck_assert_uint_eq(t.emitted.groups, 1);   /* the repeat was merged into the first */
	ck_assert_uint_eq(t.emitted.n_rx, 2);
}
END_TEST

/* "none": no gateway `up` event at all, bad CRC forwarded or not. */
START_TEST(test_gateway_frames_none)
{
	t.d.gateway_frames = LB_GWF_NONE;
	t.d.forward_crc_error = true;
	deliver(GWMP_PUSH_DATA, GW_1, 1, 1, "{\"rxpk\":[" RXPK("1") "," RXPK("-1") "]}", &t.from);
	ck_assert_uint_eq(count_topic("gateway/" GW_1_HEX "/event/up"), 0);
	ck_assert_uint_eq(w.stats.gateway_events, 0);
	ck_assert_uint_eq(w.stats.frames_received, 1);
	close_windows();
	ck_assert_uint_eq(t.emitted.groups, 1);
}
END_TEST

START_TEST(test_bad_rxpk_spares_neighbour)
{
	/* The second rxpk has no data: dropped alone, the first goes on. */
	deliver(GWMP_PUSH_DATA, GW_1, 8, 8,
		"{\"rxpk\":[" RXPK("1") ",{\"freq\":868.1,\"datr\":\"SF7BW125\",\"size\":1}]}",
		&t.from);
	ck_assert_uint_eq(w.udp.n, 1);
	assert_ack(0, GWMP_PUSH_ACK, 8, 8, &t.from);
	ck_assert_uint_eq(w.stats.dgram_drops[-LB_ERR_JSON], 1);
	ck_assert_uint_eq(w.stats.frames_received, 1);
	close_windows();
	ck_assert_uint_eq(t.emitted.groups, 1);
}
END_TEST

START_TEST(test_tx_ack_not_acknowledged)
{
	deliver(GWMP_TX_ACK, GW_1, 9, 9, "{\"txpk_ack\":{\"error\":\"NONE\"}}", &t.from);
	ck_assert_uint_eq(w.stats.datagrams[GWMP_TX_ACK], 1);
	ck_assert_uint_eq(w.udp.n, 0);   /* TX_ACK is not acknowledged (PROTOCOL.TXT §5.1) */
	ck_assert_uint_eq(drops_total(), 0);
	ck_assert_uint_eq(gateways_find(&w.gateways, GW_1)->tx_ack, 1);
	ck_assert_uint_eq(gateways_find(&w.gateways, GW_1)->tx_ok, 1);
	/* A refusal is a TX_ACK but no frame emitted. */
	deliver(GWMP_TX_ACK, GW_1, 9, 11, "{\"txpk_ack\":{\"error\":\"TOO_LATE\"}}", &t.from);
	ck_assert_uint_eq(gateways_find(&w.gateways, GW_1)->tx_ack, 2);
	ck_assert_uint_eq(gateways_find(&w.gateways, GW_1)->tx_ok, 1);
	/* Unparseable: counted. */
	deliver(GWMP_TX_ACK, GW_1, 9, 10, "{\"txpk_ack\":[]}", &t.from);
	ck_assert_uint_eq(w.stats.dgram_drops[-LB_ERR_JSON], 1);
	ck_assert_uint_eq(w.udp.n, 0);
}
END_TEST

START_TEST(test_offline_then_back)
{
	deliver(GWMP_PULL_DATA, GW_1, 1, 2, NULL, &t.from);
	assert_conn("ONLINE");
	/* Silence for longer than offline_after keepalive periods. */
	int64_t later = loop_now_ms() +
			(int64_t)w.cfg.udp_keepalive_s * w.cfg.udp_offline_after * 1000 + 1000;
	gateways_tick(&w.gateways, later, dispatch_on_offline, &t.d);
	ck_assert_uint_eq(count_topic("gateway/" GW_1_HEX "/state/conn"), 2);
	assert_conn("OFFLINE");
	ck_assert_uint_eq(gateways_count_online(&w.gateways), 0);
	/* Once only. */
	gateways_tick(&w.gateways, later + 60000, dispatch_on_offline, &t.d);
	ck_assert_uint_eq(count_topic("gateway/" GW_1_HEX "/state/conn"), 2);
	/* Heard again: ONLINE again. */
	deliver(GWMP_PULL_DATA, GW_1, 3, 4, NULL, &t.from);
	ck_assert_uint_eq(count_topic("gateway/" GW_1_HEX "/state/conn"), 3);
	assert_conn("ONLINE");
}
END_TEST

START_TEST(test_on_offline_direct)
{
	deliver(GWMP_PULL_DATA, GW_1, 1, 2, NULL, &t.from);
	size_t before = w.sink.n;
	dispatch_on_offline(&t.d, gateways_find(&w.gateways, GW_1));
	ck_assert_uint_eq(w.sink.n, before + 1);
	assert_conn("OFFLINE");
}
END_TEST

static int count_one(void *arg, uint64_t eui)
{
	(void)eui;
	(*(size_t *)arg)++;
	return 0;
}

/* Gateways remembered as ONLINE across restarts, once committed. */
static size_t remembered(void)
{
	size_t n = 0;

	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(store_gateway_online_list(&w.store, count_one, &n), LB_OK);
	return n;
}

/* A clean stop forgets only the gateways whose OFFLINE was queued; an
 * OFFLINE not queued at a timeout keeps the gateway remembered too. */
START_TEST(test_stop_forgets_only_queued)
{
	deliver(GWMP_PULL_DATA, GW_1, 1, 2, NULL, &t.from);
	deliver(GWMP_PULL_DATA, GW_2, 1, 2, NULL, &t.from);
	ck_assert_uint_eq(remembered(), 2);
	w.sink.refuse = LB_ERR_FULL;
	ck_assert_uint_eq(gwconn_stop(&w.conn), 0);
	gwconn_stopped(&w.conn);
	ck_assert_uint_eq(remembered(), 2);
	w.sink.refuse = LB_OK;
	ck_assert_uint_eq(gwconn_stop(&w.conn), 2);
	gwconn_stopped(&w.conn);
	ck_assert_uint_eq(remembered(), 0);
}
END_TEST

/* An ONLINE not queued is still remembered (a restart says OFFLINE at
 * worst); an OFFLINE or a clearing not queued keeps it remembered, so the
 * next start corrects the retained ONLINE. */
START_TEST(test_unqueued_changes_remembered)
{
	w.sink.refuse = LB_ERR_FULL;
	gwconn_online(&w.conn, GW_1);
	gwconn_offline(&w.conn, GW_1);
	gwconn_forgotten(&w.conn, GW_1);
	ck_assert_uint_eq(remembered(), 1);
	w.sink.refuse = LB_OK;
	gwconn_offline(&w.conn, GW_1);
	ck_assert_uint_eq(remembered(), 0);
}
END_TEST

/* A gateway first heard after the clean stop (the shutdown's flush still
 * reads the gateways) is not said ONLINE nor remembered: no OFFLINE would
 * follow. The stop's own OFFLINEs are what the broker keeps. */
START_TEST(test_no_online_after_stop)
{
	deliver(GWMP_PULL_DATA, GW_1, 1, 2, NULL, &t.from);
	ck_assert_uint_eq(remembered(), 1);
	ck_assert_uint_eq(gwconn_stop(&w.conn), 1);
	size_t before = w.sink.n;
	deliver(GWMP_PULL_DATA, GW_2, 1, 2, NULL, &t.from);
	ck_assert_ptr_nonnull(gateways_find(&w.gateways, GW_2));   /* still served its TX_ACKs */
	ck_assert_uint_eq(w.sink.n, before);
	ck_assert_uint_eq(count_topic("gateway/" GW_2_HEX "/state/conn"), 0);
	gwconn_stopped(&w.conn);
	ck_assert_uint_eq(remembered(), 0);
}
END_TEST

static Suite *dispatch_suite(void)
{
	Suite *s = suite_create("dispatch");
	TCase *tc = tcase_create("core");

	world_fixtures(tc, "test_dispatch", setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_push_data_one_rxpk);
	tcase_add_test(tc, test_two_gateways_one_group);
	tcase_add_test(tc, test_online_published_once);
	tcase_add_test(tc, test_pull_data);
	tcase_add_test(tc, test_rate_limit_by_arrival);
	tcase_add_test(tc, test_push_data_stat);
	tcase_add_test(tc, test_too_short);
	tcase_add_test(tc, test_push_data_bad_json);
	tcase_add_test(tc, test_truncated_and_unknown_type);
	tcase_add_test(tc, test_crc_error_not_forwarded);
	tcase_add_test(tc, test_gateway_frames_unknown);
	tcase_add_test(tc, test_gateway_frames_none);
	tcase_add_test(tc, test_bad_rxpk_spares_neighbour);
	tcase_add_test(tc, test_tx_ack_not_acknowledged);
	tcase_add_test(tc, test_offline_then_back);
	tcase_add_test(tc, test_on_offline_direct);
	tcase_add_test(tc, test_stop_forgets_only_queued);
	tcase_add_test(tc, test_unqueued_changes_remembered);
	tcase_add_test(tc, test_no_online_after_stop);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_threshold = LOG_LVL_ERROR;
	return testutil_run(dispatch_suite());
}
