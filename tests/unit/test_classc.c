/* SPDX-License-Identifier: MIT */
/*
 * test_classc.c - class C downlinks (daemon/classc.h) with the real class-A
 * scheduler, budgets, device events and store, the I/O edges faked by the
 * recorders of fakes.h: what goes to which gateway, when, with which
 * counter, and the `ack` events of confirmed downlinks. Time is moved by
 * passing later instants to the ticks.
 */
#include <check.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <string.h>

#include "base/hex.h"
#include "base/lb_err.h"
#include "base/netaddr.h"
#include "daemon/budget.h"
#include "daemon/classc.h"
#include "daemon/durable.h"
#include "daemon/session.h"
#include "daemon/txsched.h"
#include "gwmp/gwmp.h"
#include "io/loop.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "store/store.h"
#include "tables/devices.h"
#include "tables/dutycycle.h"
#include "tables/gateway.h"
#include "testutil.h"
#include "tables/fcntdown.h"
#include "tables/pending.h"
#include "world.h"

#define DEV_C UINT64_C(0x70b3d57ed00000c1)
#define DEV_A UINT64_C(0x70b3d57ed00000a1)
#define ADDR_C UINT32_C(0x260110c1)
#define ADDR_A UINT32_C(0x260110a1)
#define GW_1 UINT64_C(0xaa555a0000000001)
#define GW_2 UINT64_C(0xaa555a0000000002)
#define LATER_MS 60000               /* past every hold and timeout */

static const uint8_t NWK[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
				0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};
static const uint8_t APP[16] = {0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
				0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};

/* The modules (world.h) and the uplink counter of the test's devices. */
static struct world w;
/* How far the wall clock was stepped back since the test began (NTP): the
 * receptions' wall stamps move, their monotonic ones do not. */
static int64_t wall_step_us;

static uint32_t fcnt_up;

static struct lb_device_conf device_conf(const char *name, uint64_t eui, uint32_t addr,
					 int dev_class)
{
	struct lb_device_conf c = world_abp(&w, name, "default", eui, addr, NWK, APP);
	c.dev_class = dev_class;
	return c;
}

/* A class C and a class A device; the class-A scheduler and class C on
 * it, acknowledgements awaited 3 s, and events held for the commit
 * published at once (the commit is not tested). */
static void setup(void)
{
	wall_step_us = 0;
	world_base(&w, WORLD_HOLD_NOW);
	struct lb_device_conf conf[2] = {
		device_conf("valve", DEV_C, ADDR_C, LB_CLASS_C),
		device_conf("meter", DEV_A, ADDR_A, LB_CLASS_A),
	};
	w.cfg.downlink_class_c_ack_timeout_s = 3;
	world_open(&w, conf, 2, &(struct world_opts){
		.modules = WORLD_GATEWAYS | WORLD_STORE | WORLD_SESSIONS | WORLD_BUDGET |
			   WORLD_TXSCHED | WORLD_CLASSC,
	});
	fcnt_up = 1;
}

static void teardown(void)
{
	world_close(&w);
}

/* ------------------------------------------------------------ helpers */

/* A gateway online with a downlink route, as dispatch leaves it after a PULL_DATA. */
static void route_of(uint64_t gw_eui, uint16_t port)
{
	(void)world_route(&w, gw_eui, port, NULL);
}

/* A reception at received_us, as the wall clock read before any step. */
static struct lb_rx make_rx(uint64_t gw, float snr, int64_t received_us)
{
	struct lb_rx rx;

	memset(&rx, 0, sizeof(rx));
	rx.gateway_eui = gw;
	rx.received_us = received_us - wall_step_us;
	rx.received_mono_us = loop_now_us() - (loop_wall_us() - received_us);
	rx.version = 2;
	rx.rxpk.tmst = 1000000;
	rx.rxpk.freq_hz = 868100000;
	rx.rxpk.modu = GWMP_MOD_LORA;
	rx.rxpk.sf = 7;
	rx.rxpk.bw_khz = 125;
	rx.rxpk.cr = 1;
	rx.rxpk.has_rssi = true;
	rx.rxpk.rssi = -70;
	rx.rxpk.has_lsnr = true;
	rx.rxpk.lsnr = snr;
	rx.rxpk.size = 20;
	return rx;
}

/* The ticks as the bridge's loop runs them, with the group commit a
 * downlink counter's reservation asks for (world_timers()). */
static int64_t cc_tick(int64_t t)
{
	return world_timers(&w, WORLD_CLASSC, t);
}

static int64_t tx_tick(int64_t t)
{
	return world_timers(&w, WORLD_TXSCHED, t);
}

/* The device's downlink counters reserved and on the disk, as after its
 * first downlink: a test of when decisions are taken does not wait for
 * that commit. */
static void counters_ready(struct lb_device *dev)
{
	uint32_t fcnt;
	int rc, tries = 0;

	while ((rc = txsched_reserve_fcnt(&w.tx, dev, &fcnt)) == LB_ERR_AGAIN) {
		ck_assert_int_lt(tries++, 2);
		ck_assert(w.durable.soon);
		(void)durable_tick(&w.durable, loop_now_ms());
		if (store_sync_pending(&w.store))
			world_reap_sync(&w);
	}
	ck_assert_int_eq(rc, LB_OK);
}

/* The class-A decision after an uplink (not so late that the TX_ACK of
 * what it sends would time out in the same tick). */
static void decide(void)
{
	tx_tick(loop_now_ms() + w.cfg.downlink_delay_ms + 1);
}

/* An accepted uplink of dev heard by the gateways given (SNR 9, 8, ...),
 * received at received_us, then its class-A decision. */
static void uplink_typed(uint64_t dev_eui, enum lw_mtype mtype, bool ack, const uint64_t *gws,
			 size_t n, int64_t received_us)
{
	struct lb_rx rx[4];
	struct lw_frame f;
	uint8_t dedup[16] = {0};
	struct lb_device *dev = devices_find_eui(&w.devices, dev_eui);

	ck_assert_ptr_nonnull(dev);
	for (size_t i = 0; i < n; i++)
		rx[i] = make_rx(gws[i], 9.0f - (float)i, received_us);
	memset(&f, 0, sizeof(f));
	f.mtype = mtype;
	f.u.data.ack = ack;
	f.u.data.dev_addr = dev->dev_addr;
	devices_accept_uplink(dev, fcnt_up++);
	/* Heard when received, on the loop's clock. */
	int64_t heard_ms = loop_now_ms() - (loop_wall_us() - received_us) / 1000;
	txsched_after_uplink(&w.tx, dev, &f, NULL, 0, rx, n, heard_ms, dedup);
	decide();
}

static void uplink_at(uint64_t dev_eui, bool ack, const uint64_t *gws, size_t n,
		      int64_t received_us)
{
	uplink_typed(dev_eui, LW_MTYPE_UNCONFIRMED_UP, ack, gws, n, received_us);
}

static void uplink(uint64_t dev_eui, bool ack, const uint64_t *gws, size_t n)
{
	uplink_at(dev_eui, ack, gws, n, loop_wall_us());
}

static void queue(uint64_t dev_eui, const char *id, bool confirmed, const char *payload)
{
	struct store_downlink dl;

	memset(&dl, 0, sizeof(dl));
	snprintf(dl.id, sizeof(dl.id), "%s", id);
	dl.dev_eui = dev_eui;
	dl.fport = 5;
	dl.confirmed = confirmed;
	dl.len = strlen(payload);
	memcpy(dl.data, payload, dl.len);
	ck_assert_int_eq(store_downlink_push(&w.store, &dl, NULL), LB_OK);
	classc_queued(&w.cc, devices_find_eui(&w.devices, dev_eui));
}

/* The txpk and frame of datagram i. */
static void datagram(size_t i, struct gwmp_txpk *tx, struct lw_frame *f)
{
	const struct rec_dgram *d = &w.udp.d[i];

	ck_assert_uint_gt(w.udp.n, i);
	ck_assert_uint_eq(d->buf[GWMP_OFF_IDENT], GWMP_PULL_RESP);
	ck_assert_int_eq(gwmp_parse_pull_resp(d->buf + GWMP_OFF_JSON_DOWN,
					      d->len - GWMP_OFF_JSON_DOWN, tx), LB_OK);
	ck_assert_int_eq(lorawan_parse(tx->data, tx->size, f), LB_OK);
}

static uint16_t port_of(size_t i)
{
	return ntohs(((const struct sockaddr_in *)&w.udp.d[i].to.addr)->sin_port);
}

/* The gateway programmed datagram i. */
static void tx_ack_ok(size_t i)
{
	struct gwmp_txack ok;

	memset(&ok, 0, sizeof(ok));
	uint64_t gw = port_of(i) == 1701 ? GW_1 : GW_2;
	ck_assert_int_eq(txsched_tx_ack(&w.tx, gw, w.udp.d[i].buf + GWMP_OFF_TOKEN,
					&w.udp.d[i].to, &ok), LB_OK);
}

static size_t count_event(uint64_t dev_eui, const char *event, const char *needle)
{
	char hex[17], topic[PUBLISH_TOPIC_MAX];
	size_t n = 0;

	hex_format_eui(dev_eui, hex);
	snprintf(topic, sizeof(topic), "application/default/device/%s/event/%s", hex, event);
	for (size_t i = 0; i < w.sink.n; i++)
		n += !strcmp(w.sink.m[i].topic, topic) && (!needle || strstr(w.sink.m[i].payload,
									      needle));
	return n;
}

static size_t queued_items(uint64_t dev_eui)
{
	size_t n = 0;
	ck_assert_int_eq(store_downlink_count(&w.store, dev_eui, &n), LB_OK);
	return n;
}

static int64_t later(void)
{
	return loop_now_ms() + LATER_MS;
}

/* ------------------------------------------------------------ tests */

/* The device's first downlink since the start needs its counter's ceiling
 * on the disk: the tick stages it and asks for a commit, which the group
 * commit makes after the ticks of the pass, without waiting for the disk;
 * the downlink goes once that commit's sync has completed, not before
 * (without io_uring the commit syncs at once, and it goes at the next
 * look). */
START_TEST(test_waits_for_counter_sync)
{
	const uint64_t gws[] = {GW_1};

	route_of(GW_1, 1703);
	bool ring = store_sync_start(&w.store) >= 0;
	uplink(DEV_C, false, gws, 1);
	queue(DEV_C, "item-1", false, "open");
	int64_t t = later();
	uint64_t on_loop = w.store.stats.syncs_waited, commits = w.store.stats.commits;
	int64_t next = classc_tick(&w.cc, t);
	ck_assert_uint_eq(w.udp.n, 0);
	ck_assert_int_eq(next, t + TXSCHED_DISK_POLL_MS);
	ck_assert_uint_eq(w.store.stats.commits, commits);   /* asked for, not made */
	ck_assert(w.durable.soon);
	/* now, not t: no deadline of the store's has passed by then, so only
	 * the request makes this commit */
	(void)durable_tick(&w.durable, loop_now_ms());
	ck_assert_uint_eq(w.store.stats.commits, commits + 1);
	if (ring) {
		ck_assert(store_sync_pending(&w.store));
		next = classc_tick(&w.cc, next);
		ck_assert_uint_eq(w.udp.n, 0);               /* its sync is not reaped */
		ck_assert(!w.durable.soon);                  /* nor a commit asked again */
		world_reap_sync(&w);
		ck_assert_uint_eq(w.store.stats.syncs_waited, on_loop);
	}
	classc_tick(&w.cc, next);
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_uint_eq(w.store.stats.commits, commits + 1);
	struct gwmp_txpk tx;
	struct lw_frame f;
	datagram(0, &tx, &f);
	ck_assert(tx.imme);
	ck_assert_uint_eq(f.u.data.fcnt16, 0);
}
END_TEST

/* Queued after the class-A windows: at once, imme, RX2 frequency and DR,
 * through the gateway with the best margin; txack says RXC. */
START_TEST(test_sent_at_once)
{
	struct gwmp_txpk tx;
	struct lw_frame f;
	const uint64_t gws[] = {GW_2, GW_1};   /* GW_2 heard it best (SNR 9) */

	route_of(GW_1, 1701);
	route_of(GW_2, 1702);
	devices_find_eui(&w.devices, DEV_C)->adr = true;
	uplink(DEV_C, false, gws, 2);
	ck_assert_uint_eq(w.udp.n, 0);         /* nothing to say in RX1/RX2 */
	queue(DEV_C, "item-1", false, "open");
	/* Not during the device's RX1 ... */
	cc_tick(loop_now_ms());
	ck_assert_uint_eq(w.udp.n, 0);
	/* ... then at once. */
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);
	datagram(0, &tx, &f);
	ck_assert_uint_eq(port_of(0), 1702);
	ck_assert(tx.imme);
	ck_assert(!tx.has_tmst);
	ck_assert_uint_eq(tx.freq_hz, 869525000);   /* RP002-1.0.4 EU868 RX2: 869.525 MHz, DR0 */
	ck_assert_uint_eq(tx.sf, 12);
	ck_assert(tx.ipol);
	ck_assert_int_eq(f.mtype, LW_MTYPE_UNCONFIRMED_DOWN);
	ck_assert_uint_eq(f.u.data.dev_addr, ADDR_C);
	ck_assert(!f.u.data.ack);
	/* FCtrl.ADR: devices[].adr, the network controls its data rate
	 * (TS001-1.0.4 §4.3.1.1). */
	ck_assert(f.u.data.adr);
	ck_assert_uint_eq(f.u.data.fport, 5);
	tx_ack_ok(0);
	ck_assert_uint_eq(count_event(DEV_C, "txack", "\"window\":\"RXC\""), 1);
	ck_assert_uint_eq(count_event(DEV_C, "txack", "\"deviceClassEnabled\":\"CLASS_C\""), 1);
	ck_assert_uint_eq(count_event(DEV_C, "txack", "\"immediately\""), 1);
	ck_assert_uint_eq(queued_items(DEV_C), 0);
	ck_assert_uint_eq(w.cc.stats.sent, 1);
	/* Nothing more to send. */
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);
	/* devices[].adr false: the bit clear. */
	devices_find_eui(&w.devices, DEV_C)->adr = false;
	queue(DEV_C, "item-2", false, "open");
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 2);
	datagram(1, &tx, &f);
	ck_assert(!f.u.data.adr);
}
END_TEST

/* A class C frame goes out at the device's RX2 DR with the payload limit of
 * its Regional Parameters revision: in AS923 (RX2 DR2) 60 bytes fit M 123
 * (RP002-1.0.4 §2.10.6), not M 59 (LoRaWAN Regional Parameters v1.0.3revA
 * §2.8.6): the item is dropped with DOWNLINK_PAYLOAD_SIZE. */
START_TEST(test_payload_limit_of_revision)
{
	char big[61];
	struct gwmp_txpk tx;
	struct lw_frame f;

	world_close(&w);
	world_base(&w, WORLD_HOLD_NOW);
	w.region = region_find("AS923");
	struct lb_device_conf conf = device_conf("valve", DEV_C, ADDR_C, LB_CLASS_C);
	w.cfg.downlink_class_c_ack_timeout_s = 3;
	world_open(&w, &conf, 1, &(struct world_opts){
		.modules = WORLD_GATEWAYS | WORLD_STORE | WORLD_SESSIONS | WORLD_BUDGET |
			   WORLD_TXSCHED | WORLD_CLASSC,
	});
	struct lb_device *dev = devices_find_eui(&w.devices, DEV_C);
	ck_assert_uint_eq(dev->regional_parameters, REGION_RP002_1_0_4);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	route_of(GW_1, 1701);
	uplink(DEV_C, false, (const uint64_t[]){GW_1}, 1);
	queue(DEV_C, "item-1", false, big);
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);
	datagram(0, &tx, &f);
	ck_assert_uint_eq(tx.freq_hz, 923200000);   /* AS923 RX2: 923.2 MHz, DR2 (SF10) */
	ck_assert_uint_eq(tx.sf, 10);
	ck_assert_uint_eq(tx.size, 60 + 13);
	tx_ack_ok(0);
	dev->regional_parameters = REGION_RP_1_0_3A;
	queue(DEV_C, "item-2", false, big);
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_uint_eq(count_event(DEV_C, "log", "DOWNLINK_PAYLOAD_SIZE"), 1);
	/* the limit it was refused at (1.0.3revA AS923 DR2: N 51), not RP002's 115 */
	ck_assert_uint_eq(count_event(DEV_C, "log", "\"max_payload_size\":\"51\""), 1);
	ck_assert_uint_eq(count_event(DEV_C, "log", "\"item_size\":\"60\""), 1);
	ck_assert_uint_eq(queued_items(DEV_C), 0);
}
END_TEST

/* One at a time, in order; counters shared with class A, never repeated. */
START_TEST(test_one_at_a_time)
{
	struct gwmp_txpk tx;
	struct lw_frame f1, f2, f3;
	const uint64_t gw = GW_1;

	route_of(GW_1, 1701);
	uplink(DEV_C, false, &gw, 1);
	queue(DEV_C, "first", false, "a");
	queue(DEV_C, "second", false, "b");
	cc_tick(later());
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);          /* the second waits for the TX_ACK */
	datagram(0, &tx, &f1);
	ck_assert(f1.u.data.fpending);
	tx_ack_ok(0);
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 2);
	datagram(1, &tx, &f2);
	ck_assert(!f2.u.data.fpending);
	ck_assert_uint_gt(f2.u.data.fcnt16, f1.u.data.fcnt16);
	tx_ack_ok(1);
	/* A class-A answer (a confirmed uplink's ACK) takes the next counter. */
	struct lb_device *dev = devices_find_eui(&w.devices, DEV_C);
	struct lw_frame up;
	struct lb_rx rx = make_rx(GW_1, 5.0f, loop_wall_us());
	uint8_t dedup[16] = {0};
	memset(&up, 0, sizeof(up));
	up.mtype = LW_MTYPE_CONFIRMED_UP;
	txsched_after_uplink(&w.tx, dev, &up, NULL, 0, &rx, 1, loop_now_ms(), dedup);
	/* While its decision is pending, class C does not start. */
	queue(DEV_C, "third", false, "c");
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 2);
	decide();
	ck_assert_uint_eq(w.udp.n, 3);
	datagram(2, &tx, &f3);
	ck_assert(!tx.imme);                    /* RX1: the ACK and the third item */
	ck_assert(f3.u.data.ack);
	ck_assert_msg(f3.u.data.has_fport, "RX1 frame without the third item");
	ck_assert_uint_gt(f3.u.data.fcnt16, f2.u.data.fcnt16);
	tx_ack_ok(2);
	ck_assert_uint_eq(queued_items(DEV_C), 0);
}
END_TEST

/* txack only for a frame that carried a queue item, as ChirpStack's
 * (downlink/tx_ack.rs): the ACK of a confirmed uplink, the bridge's own
 * frame, is counted in sent_own and has no txack event. */
START_TEST(test_txack_only_for_queue_items)
{
	struct gwmp_txpk tx;
	struct lw_frame f;
	const uint64_t gw = GW_1;

	route_of(GW_1, 1701);
	uplink_typed(DEV_A, LW_MTYPE_CONFIRMED_UP, false, &gw, 1, loop_wall_us());
	ck_assert_uint_eq(w.udp.n, 1);
	datagram(0, &tx, &f);
	ck_assert(f.u.data.ack);
	ck_assert(!f.u.data.has_fport);          /* ACK only */
	tx_ack_ok(0);
	ck_assert_uint_eq(w.tx.stats.sent, 1);
	ck_assert_uint_eq(w.tx.stats.sent_own, 1);
	ck_assert_uint_eq(count_event(DEV_A, "txack", NULL), 0);
	/* A queue item's frame: its txack, with its id. */
	queue(DEV_A, "item-a", false, "hello");
	uplink(DEV_A, false, &gw, 1);
	ck_assert_uint_eq(w.udp.n, 2);
	datagram(1, &tx, &f);
	ck_assert(f.u.data.has_fport);
	tx_ack_ok(1);
	ck_assert_uint_eq(w.tx.stats.sent, 2);
	ck_assert_uint_eq(w.tx.stats.sent_own, 1);
	ck_assert_uint_eq(count_event(DEV_A, "txack", NULL), 1);
	ck_assert_uint_eq(count_event(DEV_A, "txack", "\"queueItemId\":\"item-a\""), 1);
}
END_TEST

/* The monotonic clock's next millisecond, waited for (each uplink below
 * must be planned in a later one than the one before). */
static int64_t next_ms(void)
{
	int64_t t = loop_now_ms();

	while (loop_now_ms() == t)
		;
	return loop_now_ms();
}

/* The DevAddr of datagram i's frame. */
static uint32_t addr_of(size_t i)
{
	struct gwmp_txpk tx;
	struct lw_frame f;

	datagram(i, &tx, &f);
	return f.u.data.dev_addr;
}

/* The first downlinks of two devices decided in one loop pass: their
 * counters' reservations make one commit, not one each
 * (durable_commit_soon()), and both go once it is on the disk. */
START_TEST(test_reservations_of_a_pass_commit_once)
{
	struct lb_rx rx1 = make_rx(GW_1, 5.0f, loop_wall_us());
	struct lb_rx rx2 = make_rx(GW_2, 5.0f, loop_wall_us());
	uint8_t dedup[16] = {0};
	struct lw_frame up, f;
	struct gwmp_txpk tx;

	route_of(GW_1, 1704);
	route_of(GW_2, 1705);
	(void)store_sync_start(&w.store);   /* without io_uring: syncs at once */
	memset(&up, 0, sizeof(up));
	up.mtype = LW_MTYPE_CONFIRMED_UP;   /* an ACK is due: a frame goes */
	txsched_after_uplink(&w.tx, devices_find_eui(&w.devices, DEV_A), &up, NULL, 0, &rx1, 1,
			     loop_now_ms(), dedup);
	txsched_after_uplink(&w.tx, devices_find_eui(&w.devices, DEV_C), &up, NULL, 0, &rx2, 1,
			     loop_now_ms(), dedup);
	int64_t t = loop_now_ms() + w.cfg.downlink_delay_ms + 1;   /* both due */
	uint64_t commits = w.store.stats.commits;
	int64_t next = txsched_tick(&w.tx, t);
	ck_assert_uint_eq(w.udp.n, 0);
	ck_assert_uint_eq(w.store.stats.commits, commits);
	ck_assert(w.durable.soon);
	(void)durable_tick(&w.durable, loop_now_ms());
	ck_assert_uint_eq(w.store.stats.commits, commits + 1);
	if (store_sync_pending(&w.store))
		world_reap_sync(&w);
	ck_assert_int_eq(next, t + TXSCHED_DISK_POLL_MS);
	txsched_tick(&w.tx, next);
	ck_assert_uint_eq(w.udp.n, 2);
	ck_assert_uint_eq(w.store.stats.commits, commits + 1);
	for (size_t i = 0; i < 2; i++) {
		datagram(i, &tx, &f);
		ck_assert(f.u.data.ack);
		ck_assert_uint_eq(f.u.data.fcnt16, 0);
	}
	ck_assert_uint_ne(addr_of(0), addr_of(1));
}
END_TEST

/* Class-A decisions are taken when due, earliest first; the tick tells the
 * earliest still waiting, and a device's later uplink moves its decision
 * (one frame, at the later time). */
START_TEST(test_decisions_when_due)
{
	struct lb_rx rx = make_rx(GW_1, 5.0f, loop_wall_us());
	uint8_t dedup[16] = {0};
	struct lw_frame up;
	struct lb_device *a = devices_find_eui(&w.devices, DEV_A);
	struct lb_device *c = devices_find_eui(&w.devices, DEV_C);
	const int64_t delay = w.cfg.downlink_delay_ms;

	route_of(GW_1, 1701);
	counters_ready(a);
	counters_ready(c);
	memset(&up, 0, sizeof(up));
	up.mtype = LW_MTYPE_CONFIRMED_UP;          /* an ACK is due: a frame goes */
	ck_assert_int_eq(txsched_tick(&w.tx, loop_now_ms()), -1);
	/* Each decision is due `delay` after the clock read inside the call,
	 * somewhere in [from, to] (a loaded machine, or qemu, can let a
	 * millisecond pass within it): each due time is taken from the tick
	 * and checked to lie there. */
	int64_t from_a = next_ms();
	txsched_after_uplink(&w.tx, a, &up, NULL, 0, &rx, 1, loop_now_ms(), dedup);
	int64_t to_a = loop_now_ms();
	int64_t from_c = next_ms();
	txsched_after_uplink(&w.tx, c, &up, NULL, 0, &rx, 1, loop_now_ms(), dedup);
	int64_t to_c = loop_now_ms();
	ck_assert(txsched_busy(&w.tx, DEV_A) && txsched_busy(&w.tx, DEV_C));
	int64_t due_a = txsched_tick(&w.tx, from_a + delay - 1);
	ck_assert_int_ge(due_a, from_a + delay);
	ck_assert_int_le(due_a, to_a + delay);
	ck_assert_uint_eq(w.udp.n, 0);
	/* A's next uplink: its decision now comes after C's. */
	int64_t from_a2 = next_ms();
	txsched_after_uplink(&w.tx, a, &up, NULL, 0, &rx, 1, loop_now_ms(), dedup);
	int64_t to_a2 = loop_now_ms();
	int64_t due_c = txsched_tick(&w.tx, due_a);
	ck_assert_int_ge(due_c, from_c + delay);
	ck_assert_int_le(due_c, to_c + delay);
	ck_assert_uint_eq(w.udp.n, 0);
	int64_t due_a2 = txsched_tick(&w.tx, due_c);
	ck_assert_int_ge(due_a2, from_a2 + delay);
	ck_assert_int_le(due_a2, to_a2 + delay);
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_uint_eq(addr_of(0), ADDR_C);
	ck_assert(txsched_busy(&w.tx, DEV_C));     /* awaiting its TX_ACK */
	/* Then the TX_ACK deadline of C's frame, once A's decision is taken. */
	int64_t next = txsched_tick(&w.tx, due_a2);
	ck_assert_uint_eq(w.udp.n, 2);
	ck_assert_uint_eq(addr_of(1), ADDR_A);
	ck_assert_int_gt(next, due_a2);
	tx_ack_ok(0);
	tx_ack_ok(1);
	ck_assert(!txsched_busy(&w.tx, DEV_A) && !txsched_busy(&w.tx, DEV_C));
	ck_assert_int_eq(txsched_tick(&w.tx, later()), -1);
	ck_assert_uint_eq(w.udp.n, 2);
}
END_TEST

/* No gateway that can send: it waits, says so once, and goes when one can. */
START_TEST(test_waits_for_a_gateway)
{
	const uint64_t gw = GW_1;

	uplink(DEV_C, false, &gw, 1);          /* GW_1 has no downlink route yet */
	queue(DEV_C, "waiting", false, "x");
	cc_tick(later());
	queue(DEV_C, "waiting-2", false, "y");
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 0);
	ck_assert_uint_eq(count_event(DEV_C, "log", "CLASS_C_NO_GATEWAY"), 1);
	ck_assert_uint_eq(queued_items(DEV_C), 2);
	route_of(GW_1, 1701);
	classc_queued(&w.cc, devices_find_eui(&w.devices, DEV_C));
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);
}
END_TEST

/* A device sent a join-accept may have its old session or the new one
 * (session.h): no class C downlink goes under the current session until
 * the device is heard under it (its next uplink tells; uplink.c marks it). */
START_TEST(test_waits_while_session_pending)
{
	const uint64_t gw = GW_1;
	struct lb_device *dev = devices_find_eui(&w.devices, DEV_C);
	struct pending_session p = {.dev_eui = DEV_C, .dev_addr = ADDR_C + 1,
				    .nfcnt_down = FCNTDOWN_BLOCK};

	route_of(GW_1, 1701);
	uplink(DEV_C, false, &gw, 1);
	ck_assert_int_eq(pending_put(&w.sessions.pending, &p), LB_OK);   /* a join */
	queue(DEV_C, "after-join", false, "x");
	cc_tick(later());
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 0);
	ck_assert_uint_eq(count_event(DEV_C, "log", "CLASS_C_SESSION_PENDING"), 1);
	ck_assert_uint_eq(queued_items(DEV_C), 1);
	/* Heard under its current session: it did not take the new one. This
	 * world has no uplink handler: the mark uplink.c sets is set here
	 * (test_uplink's test_class_c_waits_for_uplink_while_pending takes
	 * the whole path). */
	sessions_current_heard(&w.sessions, dev);
	uplink(DEV_C, false, &gw, 1);
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);
	struct gwmp_txpk tx;
	struct lw_frame f;
	datagram(0, &tx, &f);
	ck_assert_uint_eq(f.u.data.dev_addr, ADDR_C);   /* under the current session */
	tx_ack_ok(0);
	ck_assert_uint_eq(queued_items(DEV_C), 0);
}
END_TEST

/* A class A device's queue is left to its uplinks. */
START_TEST(test_class_a_untouched)
{
	const uint64_t gw = GW_1;

	route_of(GW_1, 1701);
	uplink(DEV_A, false, &gw, 1);
	ck_assert_ptr_null(classc_find(&w.cc, DEV_A));
	ck_assert_ptr_nonnull(classc_find(&w.cc, DEV_C));
	queue(DEV_A, "for-a", false, "z");
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 0);
	ck_assert_uint_eq(queued_items(DEV_A), 1);
}
END_TEST

/* Confirmed, never acknowledged: 1 + retries sends with new counters, then
 * `ack` false and the item leaves the queue. */
START_TEST(test_confirmed_retries)
{
	struct gwmp_txpk tx;
	struct lw_frame f;
	const uint64_t gw = GW_1;
	uint32_t last = 0;

	route_of(GW_1, 1701);
	uplink(DEV_C, false, &gw, 1);
	queue(DEV_C, "conf", true, "close");
	for (size_t i = 0; i < 3; i++) {
		cc_tick(later());        /* sent, or sent again after the timeout */
		ck_assert_uint_eq(w.udp.n, i + 1);
		datagram(i, &tx, &f);
		ck_assert_int_eq(f.mtype, LW_MTYPE_CONFIRMED_DOWN);
		ck_assert(i == 0 || f.u.data.fcnt16 > last);
		last = f.u.data.fcnt16;
		tx_ack_ok(i);
		ck_assert(devices_find_eui(&w.devices, DEV_C)->rt.confirmed != NULL);
		ck_assert_uint_eq(count_event(DEV_C, "ack", NULL), 0);
	}
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 3);
	ck_assert_uint_eq(count_event(DEV_C, "ack", "\"acknowledged\":false"), 1);
	ck_assert_uint_eq(count_event(DEV_C, "ack", "00000000-0000-0000-0000-000000000000"), 1);
	ck_assert_uint_eq(w.cc.stats.retries, 2);
	ck_assert_uint_eq(queued_items(DEV_C), 0);
}
END_TEST

/* The first uplink started after the downlink ended settles it: an earlier
 * one cannot carry its ACK; ACK bit = acknowledged. */
START_TEST(test_confirmed_acked)
{
	const uint64_t gw = GW_1;

	route_of(GW_1, 1701);
	uplink(DEV_C, false, &gw, 1);
	queue(DEV_C, "conf", true, "close");
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);
	tx_ack_ok(0);
	/* started a second before: no answer, still waiting */
	uplink_at(DEV_C, false, &gw, 1, loop_wall_us() - 1000000);
	ck_assert(devices_find_eui(&w.devices, DEV_C)->rt.confirmed != NULL);
	ck_assert_uint_eq(count_event(DEV_C, "ack", NULL), 0);
	/* after its end (SF12, 18 bytes: about 1.2 s), with ACK */
	uplink_at(DEV_C, true, &gw, 1, loop_wall_us() + 3000000);
	ck_assert_uint_eq(count_event(DEV_C, "ack", "\"acknowledged\":true"), 1);
	ck_assert(devices_find_eui(&w.devices, DEV_C)->rt.confirmed == NULL);
	ck_assert_uint_eq(queued_items(DEV_C), 0);
	ck_assert_uint_eq(w.udp.n, 1);
}
END_TEST

/* The wall clock stepped back a minute between the send and the ACK (NTP):
 * the uplink, after the downlink's end on the monotonic clock, settles it;
 * by the wall clock it would seem to start before the send and be ignored,
 * a copy sent again. */
START_TEST(test_confirmed_acked_after_wall_step)
{
	const uint64_t gw = GW_1;

	route_of(GW_1, 1701);
	uplink(DEV_C, false, &gw, 1);
	queue(DEV_C, "conf", true, "close");
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);
	tx_ack_ok(0);
	wall_step_us = INT64_C(60000000);
	uplink_at(DEV_C, true, &gw, 1, loop_wall_us() + 3000000);
	ck_assert_uint_eq(count_event(DEV_C, "ack", "\"acknowledged\":true"), 1);
	ck_assert(devices_find_eui(&w.devices, DEV_C)->rt.confirmed == NULL);
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_uint_eq(w.cc.stats.retries, 0);
}
END_TEST

/* An uplink without the ACK bit: sent again at once (here in RX1 of that
 * uplink, the class-A decision taking the item back). */
START_TEST(test_confirmed_nack_retried)
{
	struct gwmp_txpk tx;
	struct lw_frame f;
	const uint64_t gw = GW_1;

	route_of(GW_1, 1701);
	uplink(DEV_C, false, &gw, 1);
	queue(DEV_C, "conf", true, "close");
	cc_tick(later());
	tx_ack_ok(0);
	uplink_at(DEV_C, false, &gw, 1, loop_wall_us() + 3000000);
	ck_assert_uint_eq(count_event(DEV_C, "ack", NULL), 0);
	ck_assert_uint_eq(w.udp.n, 2);
	datagram(1, &tx, &f);
	ck_assert(!tx.imme);
	ck_assert_int_eq(f.mtype, LW_MTYPE_CONFIRMED_DOWN);
	ck_assert_uint_eq(w.cc.stats.retries, 1);
}
END_TEST

/* A confirmed uplink heard again (its ACK lost) is acknowledged again in
 * class A, but it is the frame already taken: a class C confirmed downlink
 * waiting for its ACK is neither retried nor settled by it. (That class C
 * holds off the copy's RX1 is not tested: the hold runs on the real clock,
 * from the moment a copy is heard, as from the first.) */
START_TEST(test_retransmission_not_a_next_uplink)
{
	struct gwmp_txpk tx;
	struct lw_frame f, up;
	const uint64_t gw = GW_1;
	uint8_t dedup[16] = {0};
	struct lb_device *dev = devices_find_eui(&w.devices, DEV_C);

	route_of(GW_1, 1701);
	uplink(DEV_C, false, &gw, 1);
	queue(DEV_C, "conf", true, "close");
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);
	tx_ack_ok(0);
	memset(&up, 0, sizeof(up));
	up.mtype = LW_MTYPE_CONFIRMED_UP;
	up.u.data.dev_addr = dev->dev_addr;
	devices_accept_uplink(dev, fcnt_up++);
	struct lb_rx rx = make_rx(GW_1, 9.0f, loop_wall_us() + 3000000);
	txsched_after_uplink(&w.tx, dev, &up, NULL, 0, &rx, 1, loop_now_ms(), dedup);
	decide();
	size_t sent = w.udp.n;
	ck_assert_uint_eq(w.cc.stats.retries, 1);      /* the uplink had no ACK: sent again */
	tx_ack_ok(sent - 1);
	ck_assert(dev->rt.confirmed != NULL);
	for (int i = 0; i < 3; i++) {
		rx = make_rx(GW_1, 9.0f, loop_wall_us() + 3000000);
		ck_assert(txsched_retransmission_wanted(&w.tx, dev, &up, &rx, 1));
		txsched_after_retransmission(&w.tx, dev, &up, NULL, 0, &rx, 1, loop_now_ms());
		decide();
	}
	ck_assert_uint_eq(w.cc.stats.retries, 1);
	ck_assert(dev->rt.confirmed != NULL);
	ck_assert_uint_eq(count_event(DEV_C, "ack", NULL), 0);
	for (size_t i = sent; i < w.udp.n; i++) {
		datagram(i, &tx, &f);
		ck_assert_int_ne(f.mtype, LW_MTYPE_CONFIRMED_DOWN);   /* ACKs only */
		ck_assert(!tx.imme);
	}
}
END_TEST

/* The RX2 sub-band of the only gateway is full: the item stays queued, said
 * once, and is tried again (RP002-1.0.4 EU868: 869.4-869.65 MHz, 10 %). */
START_TEST(test_duty_cycle_waits)
{
	const uint64_t gw = GW_1;
	struct downlink_attempt a;
	uint8_t phy[64] = {0};
	struct lb_device *meter = devices_find_eui(&w.devices, DEV_A);

	route_of(GW_1, 1701);
	uplink(DEV_C, false, &gw, 1);
	struct downlink_attempt small;
	const enum region_rp rp = REGION_RP002_1_0_4;

	ck_assert_int_eq(downlink_plan_class_c(w.region, rp, 869525000, 0, phy, sizeof(phy), &a),
			 LB_OK);
	ck_assert_int_eq(downlink_plan_class_c(w.region, rp, 869525000, 0, phy, 1, &small), LB_OK);
	for (size_t i = 0; i < 1000 && budget_window_ok(&w.budget, GW_1, &small); i++) {
		budget_downlink_sent(&w.budget, meter, GW_1,
				     budget_window_ok(&w.budget, GW_1, &a) ? &a : &small);
		rec_sink_free(&w.sink);   /* the meter's budget events: not looked at */
	}
	ck_assert(!budget_window_ok(&w.budget, GW_1, &small));
	queue(DEV_C, "later", false, "x");
	cc_tick(later());
	cc_tick(later() + CLASSC_DC_RETRY_MS);
	ck_assert_uint_eq(w.udp.n, 0);
	ck_assert_uint_eq(count_event(DEV_C, "log", "\"code\":\"DUTY_CYCLE\""), 1);
	ck_assert_uint_eq(queued_items(DEV_C), 1);
	ck_assert_int_ge(cc_tick(later()), 0);   /* it is looked at again */
}
END_TEST

/* The txpk of datagram i, a PULL_RESP (its frame not parsed). */
static void txpk_of(size_t i, struct gwmp_txpk *tx)
{
	const struct rec_dgram *d = &w.udp.d[i];

	ck_assert_uint_gt(w.udp.n, i);
	ck_assert_uint_eq(d->buf[GWMP_OFF_IDENT], GWMP_PULL_RESP);
	ck_assert_int_eq(gwmp_parse_pull_resp(d->buf + GWMP_OFF_JSON_DOWN,
					      d->len - GWMP_OFF_JSON_DOWN, tx), LB_OK);
}

/* The gateway refused datagram i with error. */
static void tx_ack_error(size_t i, const char *error)
{
	struct gwmp_txack ack;

	memset(&ack, 0, sizeof(ack));
	snprintf(ack.error, sizeof(ack.error), "%s", error);
	uint64_t gw = port_of(i) == 1701 ? GW_1 : GW_2;
	ck_assert_int_eq(txsched_tx_ack(&w.tx, gw, w.udp.d[i].buf + GWMP_OFF_TOKEN,
					&w.udp.d[i].to, &ack), LB_OK);
}

/* Charge gw with a, as the meter's, n times (its budget events dropped). */
static void charge(uint64_t gw, const struct downlink_attempt *a, size_t n)
{
	struct lb_device *meter = devices_find_eui(&w.devices, DEV_A);

	for (size_t i = 0; i < n; i++) {
		budget_downlink_sent(&w.budget, meter, gw, a);
		rec_sink_free(&w.sink);
	}
}

/* Charge gw with a until its sub-band has no room for it; returns how many. */
static size_t fill_until_full(uint64_t gw, const struct downlink_attempt *a)
{
	size_t n = 0;

	for (; n < 100000 && budget_window_ok(&w.budget, gw, a); n++)
		charge(gw, a, 1);
	return n;
}

/* The used percentage of the sub-band named name on gw (its `stats`). */
static double used_pct(uint64_t gw, const char *name)
{
	struct ev_duty_cycle dc[DC_MAX_SUBBANDS];
	char names[DC_MAX_SUBBANDS][DC_NAME_LEN];
	size_t n = budget_gateway_report(&w.budget, gw, true, dc, names, DC_MAX_SUBBANDS);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(dc[i].name, name))
			return dc[i].used_pct;
	ck_abort_msg("no sub-band %s", name);
	return -1;
}

static bool holds_nothing(uint64_t gw)
{
	for (size_t i = 0; i < w.budget.n_gw; i++)
		for (size_t k = 0; w.budget.gw[i].eui == gw && k < DC_MAX_SUBBANDS; k++)
			if (w.budget.gw[i].held_us[k])
				return false;
	return true;
}

/* The room a downlink takes is held from its PULL_RESP until its outcome
 * (budget.h): two join-accepts of two devices through one gateway, decided
 * before either TX_ACK, with room in RX1's sub-band (868.0-868.6 MHz, 1 %)
 * for one: the second goes in RX2 (RP002-1.0.4 EU868). A refused RX1 gives
 * its room back, a TX_ACK OK turns the hold into one charge, a TX_ACK that
 * never comes is charged. */
START_TEST(test_duty_cycle_held_until_tx_ack)
{
	struct lb_device *valve = devices_find_eui(&w.devices, DEV_C);
	struct lb_device *meter = devices_find_eui(&w.devices, DEV_A);
	uint8_t phy[17] = {0x20};
	struct gwmp_txpk tx;
	struct downlink_plan plan;

	route_of(GW_1, 1701);
	route_of(GW_2, 1702);
	struct lb_rx rx = make_rx(GW_1, 9.0f, loop_wall_us());
	struct downlink_plan_in in = {.region = w.region, .rx = &rx, .n_rx = 1,
				      .join_accept = true, .phy = phy, .phy_len = sizeof(phy)};
	ck_assert_int_eq(downlink_plan(&in, &plan), LB_OK);
	ck_assert_uint_eq(plan.attempt[0].txpk.freq_hz, 868100000);
	/* Room for exactly one join-accept in RX1's sub-band of GW_1. */
	size_t n = fill_until_full(GW_2, &plan.attempt[0]);
	ck_assert_uint_gt(n, 1);
	charge(GW_1, &plan.attempt[0], n - 1);
	ck_assert(budget_window_ok(&w.budget, GW_1, &plan.attempt[0]));

	int64_t heard = loop_now_ms();
	ck_assert_int_eq(txsched_join_accept(&w.tx, valve, phy, sizeof(phy), &rx, 1, heard), LB_OK);
	ck_assert_int_eq(txsched_join_accept(&w.tx, meter, phy, sizeof(phy), &rx, 1, heard), LB_OK);
	ck_assert_uint_eq(w.udp.n, 2);
	txpk_of(0, &tx);
	ck_assert_uint_eq(tx.freq_hz, 868100000);    /* RX1: the last room, held */
	txpk_of(1, &tx);
	ck_assert_uint_eq(tx.freq_hz, 869525000);    /* RX2: RX1's sub-band is full */
	ck_assert(!budget_window_ok(&w.budget, GW_1, &plan.attempt[0]));

	/* RX1 refused: its room is given back (the retry goes in RX2). */
	tx_ack_error(0, "TOO_LATE");
	ck_assert_uint_eq(w.udp.n, 3);
	txpk_of(2, &tx);
	ck_assert_uint_eq(tx.freq_hz, 869525000);
	ck_assert(budget_window_ok(&w.budget, GW_1, &plan.attempt[0]));
	ck_assert_int_eq(txsched_join_accept(&w.tx, valve, phy, sizeof(phy), &rx, 1, heard), LB_OK);
	ck_assert_uint_eq(w.udp.n, 4);
	txpk_of(3, &tx);
	ck_assert_uint_eq(tx.freq_hz, 868100000);

	/* Sent: charged once, as many join-accepts as GW_2's full sub-band. */
	tx_ack_ok(3);
	ck_assert(!budget_window_ok(&w.budget, GW_1, &plan.attempt[0]));
	ck_assert_double_eq_tol(used_pct(GW_1, "868.000-868.600"),
				used_pct(GW_2, "868.000-868.600"), 1e-9);

	/* The two RX2 frames get no TX_ACK: the gateway may have sent them,
	 * so they are charged when they time out, and nothing stays held. */
	double rx2_before = used_pct(GW_1, "869.400-869.650");
	tx_tick(later());
	ck_assert(holds_nothing(GW_1));
	ck_assert_double_gt(used_pct(GW_1, "869.400-869.650"), rx2_before);
	ck_assert_double_eq_tol(used_pct(GW_1, "868.000-868.600"),
				used_pct(GW_2, "868.000-868.600"), 1e-9);
}
END_TEST

/* DEV_C allowed one downlink by fair access, with enforce (set in its
 * profile, shared by every device configured alike), heard through GW_1,
 * and its class C item "one" sent: that downlink is in flight, no TX_ACK
 * yet. Returns the device. */
static struct lb_device *fa_one_downlink_sent(void)
{
	const uint64_t gw = GW_1;
	struct lb_device *dev = devices_find_eui(&w.devices, DEV_C);

	dev->prof->fa_policy.downlinks = 1;
	dev->prof->fa_policy.action = FA_ENFORCE;
	route_of(GW_1, 1701);
	uplink(DEV_C, false, &gw, 1);
	queue(DEV_C, "one", false, "1");
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);
	return dev;
}

/* Beyond the fair-access budget with enforce: refused and dropped as class A. */
START_TEST(test_fair_access_refused)
{
	(void)fa_one_downlink_sent();
	tx_ack_ok(0);
	queue(DEV_C, "two", false, "2");
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_uint_eq(count_event(DEV_C, "log", "queue item two dropped"), 1);
	ck_assert_uint_eq(count_event(DEV_C, "log", "\"level\":\"ERROR\",\"code\":\"FAIR_ACCESS\""),
			  2);                     /* the 100 % crossing, and the refusal */
	ck_assert_uint_eq(queued_items(DEV_C), 0);
}
END_TEST

/* A downlink awaiting its TX_ACK counts against the device's fair access:
 * a class C frame in flight takes the last downlink of the budget, and the
 * class-A ACK decided before its TX_ACK is refused, not sent as an extra. */
START_TEST(test_fair_access_counts_in_flight)
{
	const uint64_t gw = GW_1;
	struct lb_device *dev = fa_one_downlink_sent();   /* in flight, no TX_ACK yet */

	ck_assert_uint_eq(txsched_in_flight(&w.tx, DEV_C), 1);
	/* A confirmed uplink to answer. */
	uplink_typed(DEV_C, LW_MTYPE_CONFIRMED_UP, false, &gw, 1, loop_wall_us());
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_uint_eq(count_event(DEV_C, "log", "acknowledgement / MAC answer not sent"), 1);
	tx_ack_ok(0);
	ck_assert_uint_eq(txsched_in_flight(&w.tx, DEV_C), 0);
	ck_assert_int_eq(budget_downlink_allowed(&w.budget, dev, 0), LB_ERR_RATE_LIMIT);
}
END_TEST

/* Every way a class A downlink fails settles both of its holds (budget.h):
 * RX1 then RX2 refused by TX_ACK errors give back the airtime and the
 * device's downlink, nothing charged; a TX_ACK that never comes gives back
 * the device's downlink (its item stays queued) and charges the airtime. */
START_TEST(test_holds_settled_on_failure)
{
	const uint64_t gw = GW_1;

	route_of(GW_1, 1701);
	queue(DEV_A, "a-1", false, "x");
	uplink(DEV_A, false, &gw, 1);
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_uint_eq(txsched_in_flight(&w.tx, DEV_A), 1);
	ck_assert(!holds_nothing(GW_1));
	tx_ack_error(0, "TOO_LATE");
	tx_tick(loop_now_ms());
	ck_assert_uint_eq(w.udp.n, 2);           /* RX2, holding in turn */
	ck_assert_uint_eq(txsched_in_flight(&w.tx, DEV_A), 1);
	ck_assert(!holds_nothing(GW_1));
	tx_ack_error(1, "TOO_LATE");
	ck_assert_uint_eq(txsched_in_flight(&w.tx, DEV_A), 0);
	ck_assert(holds_nothing(GW_1));
	ck_assert_double_eq(used_pct(GW_1, "868.000-868.600"), 0);
	ck_assert_double_eq(used_pct(GW_1, "869.400-869.650"), 0);

	uplink(DEV_A, false, &gw, 1);
	ck_assert_uint_eq(w.udp.n, 3);
	ck_assert_uint_eq(txsched_in_flight(&w.tx, DEV_A), 1);
	tx_tick(later());
	ck_assert_uint_eq(txsched_in_flight(&w.tx, DEV_A), 0);
	ck_assert(holds_nothing(GW_1));
	ck_assert_double_gt(used_pct(GW_1, "868.000-868.600"), 0);
}
END_TEST

/* The bridge stops before a TX_ACK came: the attempt's airtime is charged
 * to its gateway as at a timeout (it may have been transmitted), its holds
 * settled; the store keeps the charge across the restart. */
START_TEST(test_stop_charges_unacked)
{
	struct lb_device *valve = devices_find_eui(&w.devices, DEV_C);
	uint8_t phy[17] = {0x20};

	route_of(GW_1, 1701);
	struct lb_rx rx = make_rx(GW_1, 9.0f, loop_wall_us());
	ck_assert_int_eq(txsched_join_accept(&w.tx, valve, phy, sizeof(phy), &rx, 1,
					     loop_now_ms()), LB_OK);
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_uint_eq(txsched_awaiting(&w.tx), 1);
	ck_assert_double_eq(used_pct(GW_1, "868.000-868.600"), 0);
	ck_assert_uint_eq(txsched_stop(&w.tx), 1);
	ck_assert_uint_eq(txsched_awaiting(&w.tx), 0);
	ck_assert(holds_nothing(GW_1));
	ck_assert_uint_eq(txsched_in_flight(&w.tx, DEV_C), 0);
	ck_assert_double_gt(used_pct(GW_1, "868.000-868.600"), 0);
	ck_assert_uint_eq(txsched_stop(&w.tx), 0);
	/* The shutdown's last commit (bridge.c shutdown_flush()) stores it. */
	uint8_t blob[DC_ENCODED_MAX];
	size_t len = 0;
	ck_assert_int_eq(store_ledger_get(&w.store, GW_1, STORE_LEDGER_DUTY_CYCLE, blob,
					  sizeof(blob), &len), LB_ERR_NOT_FOUND);
	ck_assert_int_eq(durable_flush(&w.durable), LB_OK);
	ck_assert_int_eq(store_ledger_get(&w.store, GW_1, STORE_LEDGER_DUTY_CYCLE, blob,
					  sizeof(blob), &len), LB_OK);
	ck_assert_uint_gt(len, 0);
}
END_TEST

/* After a restart a confirmed downlink still waiting (restored from the
 * store) gets a timeout and is sent again. */
START_TEST(test_restored_confirmed_times_out)
{
	const uint64_t gw = GW_1;
	struct store_downlink dl;
	struct lw_frame f;
	struct gwmp_txpk tx;
	struct lb_device *dev = devices_find_eui(&w.devices, DEV_C);

	route_of(GW_1, 1701);
	uplink(DEV_C, false, &gw, 1);
	memset(&dl, 0, sizeof(dl));
	snprintf(dl.id, sizeof(dl.id), "before-restart");
	dl.dev_eui = DEV_C;
	dl.fport = 5;
	dl.confirmed = true;
	dl.state = STORE_DL_SENT;
	dl.has_fcnt_down = true;
	dl.fcnt_down = 0;
	dl.len = 1;
	ck_assert_int_eq(store_downlink_push(&w.store, &dl, NULL), LB_OK);
	ck_assert_int_eq(txsched_restore_device(&w.tx, dev), LB_OK);
	ck_assert(dev->rt.confirmed != NULL);
	cc_tick(loop_now_ms());
	ck_assert_uint_eq(w.udp.n, 0);
	cc_tick(later());
	ck_assert_uint_eq(w.udp.n, 1);
	datagram(0, &tx, &f);
	ck_assert_int_eq(f.mtype, LW_MTYPE_CONFIRMED_DOWN);
	ck_assert(tx.imme);
	ck_assert_uint_eq(w.cc.stats.retries, 1);
}
END_TEST

/* netmac hears of a class A data downlink once its gateway took it
 * (netmac_delivered(): down_since, what tells a device that does not
 * receive the bridge's downlinks): one refused in RX1 and RX2 tells it
 * nothing, one taken does. */
START_TEST(test_netmac_told_of_downlinks_taken)
{
	const uint64_t gw = GW_1;

	world_add(&w, &(struct world_opts){.modules = WORLD_NETMAC});
	struct lb_device *a = devices_find_eui(&w.devices, DEV_A);
	route_of(GW_1, 1701);
	queue(DEV_A, "a-1", false, "x");
	uplink(DEV_A, false, &gw, 1);
	ck_assert_uint_eq(w.udp.n, 1);
	ck_assert_ptr_nonnull(a->rt.mac);
	tx_ack_error(0, "TOO_LATE");
	tx_tick(loop_now_ms());
	ck_assert_uint_eq(w.udp.n, 2);   /* RX2 */
	tx_ack_error(1, "TOO_LATE");
	ck_assert(!a->rt.mac->track[MACSTATE_RX_TIMING].down_since);
	ck_assert(!a->rt.mac->track[MACSTATE_RX_PARAM].down_since);

	uplink(DEV_A, false, &gw, 1);
	ck_assert_uint_eq(w.udp.n, 3);
	tx_ack_ok(2);
	ck_assert(a->rt.mac->track[MACSTATE_RX_TIMING].down_since);
	ck_assert(a->rt.mac->track[MACSTATE_RX_PARAM].down_since);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("classc");
	TCase *tc = tcase_create("classc");

	world_fixtures(tc, "test_classc", setup, teardown);
	tcase_add_test(tc, test_sent_at_once);
	tcase_add_test(tc, test_payload_limit_of_revision);
	tcase_add_test(tc, test_waits_for_counter_sync);
	tcase_add_test(tc, test_reservations_of_a_pass_commit_once);
	tcase_add_test(tc, test_one_at_a_time);
	tcase_add_test(tc, test_decisions_when_due);
	tcase_add_test(tc, test_waits_for_a_gateway);
	tcase_add_test(tc, test_waits_while_session_pending);
	tcase_add_test(tc, test_class_a_untouched);
	tcase_add_test(tc, test_confirmed_retries);
	tcase_add_test(tc, test_confirmed_acked);
	tcase_add_test(tc, test_confirmed_acked_after_wall_step);
	tcase_add_test(tc, test_confirmed_nack_retried);
	tcase_add_test(tc, test_retransmission_not_a_next_uplink);
	tcase_add_test(tc, test_duty_cycle_waits);
	tcase_add_test(tc, test_duty_cycle_held_until_tx_ack);
	tcase_add_test(tc, test_fair_access_refused);
	tcase_add_test(tc, test_fair_access_counts_in_flight);
	tcase_add_test(tc, test_holds_settled_on_failure);
	tcase_add_test(tc, test_stop_charges_unacked);
	tcase_add_test(tc, test_restored_confirmed_times_out);
	tcase_add_test(tc, test_netmac_told_of_downlinks_taken);
	tcase_add_test(tc, test_txack_only_for_queue_items);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
