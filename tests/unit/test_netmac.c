/* SPDX-License-Identifier: MIT */
/*
 * test_netmac.c - the network's MAC requests per device (daemon/netmac.c)
 * with its edges faked: device events go to a recording publish_sink
 * (fakes.h), the store is a real SQLite database in a mkdtemp() directory,
 * the group commit and sessions are the real ones. The test plays the
 * scheduler: netmac_requests() is what a downlink would carry,
 * netmac_sent() says it went to the gateway, netmac_delivered() that the
 * gateway took it, netmac_uplink() brings the
 * device's answers (TS001-1.0.4 §5.2 LinkADRAns, §5.4 RXParamSetupAns,
 * §5.5 DevStatusAns).
 */
#include <check.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "base/hex.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "config/config.h"
#include "daemon/devevent.h"
#include "daemon/durable.h"
#include "daemon/ids.h"
#include "daemon/netmac.h"
#include "daemon/publish.h"
#include "daemon/session.h"
#include "daemon/stats.h"
#include "store/store_mac.h"
#include "events/event_json.h"
#include "io/loop.h"
#include "lorawan/maccmd.h"
#include "mac/join.h"
#include "store/store.h"
#include "tables/devices.h"
#include "rawdb.h"
#include "world.h"

#define DEV_EUI UINT64_C(0x70b3d57ed0000042)
#define DEV_ADDR UINT32_C(0x26014242)
#define STDERR_MAX 8192

/* Uplink MAC answers as the device writes them (TS001-1.0.4 §5). */
#define CID_LINK_ADR 0x03
#define CID_RX_PARAM 0x05
#define CID_DEV_STATUS 0x06
#define CID_NEW_CHANNEL 0x07
#define CID_RX_TIMING 0x08
#define NEW_CHANNEL_OK 0x03             /* DataRateRangeOk | ChannelFrequencyOk */
#define NEW_CHANNEL_NO_FREQ 0x02        /* ChannelFrequencyOk clear */
#define LINK_ADR_ALL_OK 0x07            /* PowerACK | DataRateACK | ChannelMaskACK */
#define LINK_ADR_NO_POWER 0x03          /* PowerACK clear */
#define RX_PARAM_ALL_OK 0x07

/* The modules (world.h) and what the test keeps of its own. */
static struct world w;
static struct {
	uint8_t dedup_id[16];
	int saved_stderr, err_fd;
} t;
/* The bridge's settings as netmac_setup() takes them, adjusted by the test. */
static struct netmac_opts default_opts(void)
{
	struct netmac_opts o = {
		.margin_db = 10, .max_unanswered = 3, .backoff_h = 24, .sub_band = 2,
		.rx1_dr_offset = 0, .rx_delay_s = 1,
	};
	return o;
}

/* One ABP device with ADR on and a daily status; the MAC requests with
 * the settings o, on the real sessions and group commit. */
static void world_open_with(const struct netmac_opts *o)
{
	static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

	memset(&t, 0, sizeof(t));
	t.saved_stderr = -1;
	world_base(&w, WORLD_HOLD_NONE);
	struct lb_device_conf conf = world_abp(&w, "meter", "default", DEV_EUI, DEV_ADDR, key, key);
	conf.adr = true;
	conf.status_interval_h = 24;
	world_open(&w, &conf, 1, &(struct world_opts){
		.modules = WORLD_STORE | WORLD_SESSIONS | WORLD_NETMAC, .netmac = o,
	});
	w.devices.dev[0].rt.last_dr = 0;        /* SF12 */
	for (int i = 0; i < 16; i++)
		t.dedup_id[i] = (uint8_t)(0xd0 + i);
}

static void setup(void)
{
	struct netmac_opts o = default_opts();
	world_open_with(&o);
}

static void teardown(void)
{
	if (t.saved_stderr >= 0) {
		dup2(t.saved_stderr, 2);
		close(t.saved_stderr);
	}
	if (t.err_fd > 0)
		close(t.err_fd);
	world_close(&w);
}

/* The device under test. Its settings (dev()->prof->...) are its profile's
 * (tables/devprofile.h), shared with every device configured alike: a test
 * that sets one changes the shared profile, here the one device's. */
static struct lb_device *dev(void)
{
	return &w.devices.dev[0];
}

/* Log lines go to a file from now on (log.c writes to stderr). */
static void capture_stderr(void)
{
	char path[FAKE_DIR_MAX + 16];

	snprintf(path, sizeof(path), "%s.stderr", w.dir);
	fflush(stderr);
	t.saved_stderr = dup(2);
	t.err_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(t.err_fd, 0);
	dup2(t.err_fd, 2);
}

/* Lines of the captured log that contain needle. */
static int count_logged(const char *needle)
{
	char buf[STDERR_MAX];
	int n = 0;

	fflush(stderr);
	ssize_t len = pread(t.err_fd, buf, sizeof(buf) - 1, 0);
	buf[len > 0 ? len : 0] = '\0';
	for (const char *p = buf; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* One uplink of the device heard at snr with the MAC answers in mac
 * (FOpts); ADR bit set, ADRACKReq as given. Returns what netmac_uplink()
 * returned. */
static bool uplink_ack_req(const uint8_t *mac, size_t mac_len, float snr, bool adr_ack_req)
{
	struct lw_frame f;
	struct lb_rx rx;

	memset(&f, 0, sizeof(f));
	f.mtype = LW_MTYPE_UNCONFIRMED_UP;
	f.u.data.dev_addr = DEV_ADDR;
	f.u.data.adr = true;
	f.u.data.adr_ack_req = adr_ack_req;
	memset(&rx, 0, sizeof(rx));
	rx.gateway_eui = UINT64_C(0xaa555a0000000001);
	rx.received_us = loop_wall_us();
	rx.rxpk.modu = GWMP_MOD_LORA;
	rx.rxpk.sf = 12;
	rx.rxpk.bw_khz = 125;
	rx.rxpk.freq_hz = 868100000;
	rx.rxpk.has_lsnr = true;
	rx.rxpk.lsnr = snr;
	return netmac_uplink(&w.mac, dev(), &f, mac, mac_len, &rx, 1, t.dedup_id);
}

static bool uplink(const uint8_t *mac, size_t mac_len, float snr)
{
	return uplink_ack_req(mac, mac_len, snr, false);
}

/* The world reopened with receive settings to push (rx_delay_s, rx2_freq:
 * 0 = the defaults) and no other request: no DevStatusReq, ADR off. */
static struct netmac_opts reopen_rx(uint8_t rx_delay_s, uint32_t rx2_freq)
{
	teardown();
	struct netmac_opts o = default_opts();
	if (rx_delay_s)
		o.rx_delay_s = rx_delay_s;
	if (rx2_freq)
		o.rx2_freq = rx2_freq;
	world_open_with(&o);
	dev()->prof->status_interval_h = 0;
	dev()->adr = false;
	return o;
}

/* What a downlink would carry now; the gateway takes it. */
static unsigned request_and_send(void)
{
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;

	size_t len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(len > 0, kinds != 0);
	netmac_sent(&w.mac, dev(), kinds);
	netmac_delivered(&w.mac, dev());
	return kinds;
}

static void device_topic(char *out, size_t cap, const char *event)
{
	char hex[17];
	hex_format_eui(DEV_EUI, hex);
	snprintf(out, cap, "application/default/device/%s/event/%s", hex, event);
}

static size_t count_topic(const char *event)
{
	char topic[PUBLISH_TOPIC_MAX];

	device_topic(topic, sizeof(topic), event);
	return rec_count(&w.sink, topic);
}

/* The device's last event of this kind, parsed (the caller puts it). */
static json_object *last_event(const char *event)
{
	char topic[PUBLISH_TOPIC_MAX];

	device_topic(topic, sizeof(topic), event);
	return rec_last_json(&w.sink, topic);
}

#define BIT(k) (1u << (k))

/* A restart of the bridge: what was committed is all the device has (a
 * new process: the table of RXParamSetupReq values asked is empty). */
static void restart(void)
{
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	w.mac.n_rx_asked = 0;
	devices_mac_drop(&w.devices, dev());
	ck_assert_ptr_null(dev()->rt.mac);
	ck_assert_int_eq(netmac_restore_device(&w.mac, dev()), LB_OK);
}

/* ------------------------------------------------------------ device status */

START_TEST(dev_status_ans_is_a_status_event)
{
	/* A device whose status is unknown is asked at the first chance. */
	ck_assert(uplink(NULL, 0, 5.0f) == false);
	unsigned kinds = request_and_send();
	ck_assert_uint_ne(kinds & BIT(MACSTATE_DEV_STATUS), 0);

	const uint8_t ans[] = {CID_DEV_STATUS, 127, 0x3e};   /* battery 127, margin -2 dB */
	uplink(ans, sizeof(ans), 5.0f);
	ck_assert_uint_eq(count_topic("status"), 1);
	ck_assert_uint_eq(w.mac.stats.status_events, 1);
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_DEV_STATUS], 1);

	json_object *o = last_event("status");
	ck_assert_int_eq(json_object_get_int(member(o, "margin")), -2);
	ck_assert(!json_object_get_boolean(member(o, "externalPowerSource")));
	ck_assert(!json_object_get_boolean(member(o, "batteryLevelUnavailable")));
	ck_assert_double_eq_tol(json_object_get_double(member(o, "batteryLevel")),
				event_json_battery_percent(127), 0.01);
	ck_assert_double_eq_tol(event_json_battery_percent(127), 50.0, 0.01);
	ck_assert_str_eq(json_object_get_string(member(member(o, "deviceInfo"), "devEui")),
			 "70b3d57ed0000042");
	ck_assert_str_eq(json_object_get_string(member(o, "deduplicationId")),
			 "d0d1d2d3-d4d5-d6d7-d8d9-dadbdcdddedf");
	json_object_put(o);

	/* Known now: not asked again before status_interval_h. */
	uint8_t out[NETMAC_REQ_MAX];
	unsigned again = 0;
	(void)netmac_requests(&w.mac, dev(), out, sizeof(out), &again);
	ck_assert_uint_eq(again & BIT(MACSTATE_DEV_STATUS), 0);
	ck_assert(dev()->rt.mac->has_status);
	ck_assert_uint_eq(dev()->rt.mac->battery, 127);
}
END_TEST

START_TEST(dev_status_external_power)
{
	uplink(NULL, 0, 5.0f);
	request_and_send();
	const uint8_t ans[] = {CID_DEV_STATUS, 0, 10};
	uplink(ans, sizeof(ans), 5.0f);
	json_object *o = last_event("status");
	ck_assert(json_object_get_boolean(member(o, "externalPowerSource")));
	ck_assert_int_eq(json_object_get_int(member(o, "margin")), 10);
	json_object_put(o);
}
END_TEST

/* DevStatusReq due now? (nothing else asked: ADR off) */
static bool status_asked(void)
{
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;

	(void)netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	return (kinds & BIT(MACSTATE_DEV_STATUS)) != 0;
}

/* The module reads the wall clock itself (loop_wall_us()): the time of the
 * last DevStatusAns is moved back instead of the clock forward. */
static void status_answered_ago(int64_t seconds)
{
	dev()->rt.mac->status_at = loop_wall_us() / 1000000 - seconds;
}

START_TEST(dev_status_asked_again_after_interval)
{
	dev()->adr = false;
	dev()->prof->status_interval_h = 6;
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_DEV_STATUS));
	const uint8_t ans[] = {CID_DEV_STATUS, 200, 5};
	uplink(ans, sizeof(ans), 5.0f);
	ck_assert(dev()->rt.mac->has_status);
	ck_assert_int_ge(dev()->rt.mac->status_at, loop_wall_us() / 1000000 - 1);
	ck_assert(!status_asked());
	status_answered_ago(6 * 3600 - 60);             /* a minute early */
	ck_assert(!status_asked());
	status_answered_ago(6 * 3600);
	ck_assert(status_asked());
	/* The shared profile set to 24 h (every device of it would change). */
	dev()->prof->status_interval_h = 24;
	ck_assert(!status_asked());
	status_answered_ago(24 * 3600 + 1);
	ck_assert(status_asked());
	/* 0 (the shared profile again): never, however old the status. */
	dev()->prof->status_interval_h = 0;
	ck_assert(!status_asked());
}
END_TEST

START_TEST(dev_status_known_survives_restart)
{
	dev()->adr = false;
	uplink(NULL, 0, 5.0f);
	request_and_send();
	const uint8_t ans[] = {CID_DEV_STATUS, 100, 3};
	uplink(ans, sizeof(ans), 5.0f);
	restart();
	ck_assert(dev()->rt.mac->has_status);
	ck_assert_uint_eq(dev()->rt.mac->battery, 100);
	ck_assert_int_eq(dev()->rt.mac->margin, 3);
	uplink(NULL, 0, 5.0f);
	ck_assert(!status_asked());
}
END_TEST

START_TEST(dev_status_unknown_after_restart_asked_at_once)
{
	/* A stored MAC state without a status (the device's status was never
	 * asked: status_interval_h was 0), then a restart with the setting on:
	 * asked at the first opportunity, not status_interval_h later. */
	dev()->prof->status_interval_h = 0;
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_LINK_ADR));
	const uint8_t ok[] = {CID_LINK_ADR, LINK_ADR_ALL_OK};
	uplink(ok, sizeof(ok), 5.0f);
	restart();
	ck_assert(dev()->rt.mac->known);                 /* a row, with its ADR state */
	ck_assert_uint_eq(dev()->rt.mac->dr, 5);
	ck_assert(!dev()->rt.mac->has_status);
	dev()->prof->status_interval_h = 24;
	dev()->rt.last_dr = 5;
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_DEV_STATUS));
}
END_TEST

START_TEST(dev_status_no_row_after_restart_asked_at_once)
{
	/* Nothing stored for the device at all (new in this run). */
	restart();
	ck_assert_ptr_null(dev()->rt.mac);               /* nothing known: none kept */
	dev()->adr = false;
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_DEV_STATUS));
}
END_TEST

/* ------------------------------------------------------------ LinkADRReq */

START_TEST(link_adr_bit_clear_counts_as_unanswered)
{
	/* SF12 heard at +5 dB: margin 5 - (-20) - 10 = 15 dB, 5 steps: DR5. */
	uplink(NULL, 0, 5.0f);
	unsigned kinds = request_and_send();
	ck_assert_uint_ne(kinds & BIT(MACSTATE_LINK_ADR), 0);
	ck_assert_uint_eq(dev()->rt.mac->ask_dr, 5);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_LINK_ADR].tries, 1);

	const uint8_t refused[] = {CID_LINK_ADR, LINK_ADR_NO_POWER};
	uplink(refused, sizeof(refused), 5.0f);
	ck_assert_uint_eq(w.mac.stats.refused[MACSTATE_LINK_ADR], 1);
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_LINK_ADR], 0);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_LINK_ADR].tries, 1);   /* not reset */
	ck_assert_uint_eq(dev()->rt.mac->dr, 0);                               /* kept */
	ck_assert(!dev()->rt.mac->ch_mask_set);

	/* Asked again; all three bits: the session takes what was asked. */
	kinds = request_and_send();
	ck_assert_uint_ne(kinds & BIT(MACSTATE_LINK_ADR), 0);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_LINK_ADR].tries, 2);
	const uint8_t ok[] = {CID_LINK_ADR, LINK_ADR_ALL_OK};
	uplink(ok, sizeof(ok), 5.0f);
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_LINK_ADR], 1);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_LINK_ADR].tries, 0);
	ck_assert_uint_eq(dev()->rt.mac->dr, 5);
	ck_assert(dev()->rt.mac->ch_mask_set);
	ck_assert_uint_eq(dev()->rt.mac->ch_mask[0], 0x0007);  /* EU868: the 3 default channels */

	/* The retained state/mac says what the device now uses. */
	dev()->rt.last_dr = 5;
	uplink(NULL, 0, 5.0f);
	const struct rec_msg *st = NULL;
	for (size_t i = 0; i < w.sink.n; i++)
		if (strcmp(w.sink.m[i].topic,
			   "application/default/device/70b3d57ed0000042/state/mac") == 0)
			st = &w.sink.m[i];
	ck_assert_ptr_nonnull(st);
	ck_assert(st->retain);
	ck_assert_str_eq(st->payload, "{\"dr\":5,\"txPower\":0,\"nbTrans\":1,\"adr\":true,"
				      "\"networkAdr\":true,\"adrBackoff\":false}");
}
END_TEST

START_TEST(link_adr_exactly_max_unanswered_then_backoff)
{
	capture_stderr();
	dev()->prof->status_interval_h = 0;          /* LinkADRReq alone (shared profile) */
	uplink(NULL, 0, 5.0f);
	int sent = 0;
	for (int i = 0; i < 10; i++) {
		if (request_and_send() & BIT(MACSTATE_LINK_ADR))
			sent++;
		uplink(NULL, 0, 5.0f);   /* the device ignores it */
	}
	ck_assert_int_eq(sent, 3);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_LINK_ADR], 3);
	ck_assert_uint_eq(w.mac.stats.backoffs, 1);
	ck_assert_int_gt(dev()->rt.mac->track[MACSTATE_LINK_ADR].backoff_until,
			 loop_wall_us() / 1000000 + 23 * 3600);
	ck_assert_int_eq(count_logged("LinkADRReq left unanswered"), 1);
	ck_assert_uint_eq(count_topic("log"), 1);
	json_object *o = last_event("log");
	ck_assert_str_eq(json_object_get_string(member(o, "code")), "MAC_UNANSWERED");
	ck_assert_str_eq(json_object_get_string(member(o, "level")), "WARNING");
	json_object_put(o);
}
END_TEST

START_TEST(link_adr_max_unanswered_is_the_setting)
{
	teardown();
	struct netmac_opts o = default_opts();
	o.max_unanswered = 5;
	world_open_with(&o);
	dev()->prof->status_interval_h = 0;
	uplink(NULL, 0, 5.0f);
	int sent = 0;
	for (int i = 0; i < 12; i++) {
		if (request_and_send() & BIT(MACSTATE_LINK_ADR))
			sent++;
		uplink(NULL, 0, 5.0f);
	}
	ck_assert_int_eq(sent, 5);
	ck_assert_uint_eq(w.mac.stats.backoffs, 1);
}
END_TEST

/* Settings that make every kind of request due for the ABP device. */
static void open_all_kinds(void)
{
	teardown();
	struct netmac_opts o = default_opts();
	o.has_rx2_dr = true;
	o.rx2_dr = 3;                                   /* EU868 default: DR0 */
	o.rx_delay_s = 2;                               /* default: 1 s */
	netmac_cflist_channels(region_find("EU868"), "auto", &o);
	world_open_with(&o);
}

START_TEST(no_kind_sent_more_than_max_unanswered_without_uplink)
{
	/* Downlinks one after the other with no uplink between (nothing calls
	 * unanswered()): the limit holds by itself. */
	open_all_kinds();
	uplink(NULL, 0, 5.0f);
	for (int i = 0; i < 10; i++)
		(void)request_and_send();
	for (int k = 0; k < MACSTATE__N; k++) {
		ck_assert_msg(w.mac.stats.sent[k] == 3, "kind %d sent %llu times", k,
			      (unsigned long long)w.mac.stats.sent[k]);
		ck_assert_uint_eq(dev()->rt.mac->track[k].tries, 3);
	}
	ck_assert_uint_eq(w.mac.stats.backoffs, 0);
	/* The next uplink without answers starts the back-off of each kind. */
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(w.mac.stats.backoffs, MACSTATE__N);
	for (int i = 0; i < 5; i++) {
		ck_assert_uint_eq(request_and_send(), 0);
		uplink(NULL, 0, 5.0f);
	}
	for (int k = 0; k < MACSTATE__N; k++)
		ck_assert_uint_eq(w.mac.stats.sent[k], 3);
}
END_TEST

START_TEST(link_adr_at_max_tries_across_restart_backs_off)
{
	/* The bridge stopped after the last try, before the uplink that would
	 * have started the back-off: the first uplink after the restart does. */
	dev()->prof->status_interval_h = 0;
	uplink(NULL, 0, 5.0f);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_ne(request_and_send() & BIT(MACSTATE_LINK_ADR), 0);
	restart();
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_LINK_ADR].tries, 3);
	ck_assert_uint_eq(request_and_send() & BIT(MACSTATE_LINK_ADR), 0);
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(w.mac.stats.backoffs, 1);
	ck_assert_int_gt(dev()->rt.mac->track[MACSTATE_LINK_ADR].backoff_until,
			 loop_wall_us() / 1000000 + 23 * 3600);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_LINK_ADR], 3);
}
END_TEST

/* An answer to a LinkADRReq sent before a restart: its values were not
 * stored, so none is applied (not zeros), and it ends the tries. */
START_TEST(link_adr_answer_after_restart_applies_nothing)
{
	dev()->prof->status_interval_h = 0;
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_ne(request_and_send() & BIT(MACSTATE_LINK_ADR), 0);
	ck_assert_uint_eq(dev()->rt.mac->ask_dr, 5);
	restart();
	ck_assert(!dev()->rt.mac->ask_known);
	const uint8_t ok[] = {CID_LINK_ADR, LINK_ADR_ALL_OK};
	uplink(ok, sizeof(ok), 5.0f);
	ck_assert_uint_eq(dev()->rt.mac->dr, 0);           /* what was committed */
	ck_assert(!dev()->rt.mac->ch_mask_set);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_LINK_ADR].tries, 0);
	/* asked again, and this answer is applied */
	ck_assert_uint_ne(request_and_send() & BIT(MACSTATE_LINK_ADR), 0);
	uplink(ok, sizeof(ok), 5.0f);
	ck_assert_uint_eq(dev()->rt.mac->dr, 5);
	ck_assert(dev()->rt.mac->ch_mask_set);
}
END_TEST

/* After a restart, an answer that refuses DR and TX power from a device
 * with ADR on is a refusal, even with ChannelMaskACK set. */
START_TEST(link_adr_refusal_after_restart_counts)
{
	dev()->prof->status_interval_h = 0;
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_ne(request_and_send() & BIT(MACSTATE_LINK_ADR), 0);
	restart();
	const uint8_t mask_only[] = {CID_LINK_ADR, 0x01};
	uplink(mask_only, sizeof(mask_only), 5.0f);
	ck_assert_uint_eq(w.mac.stats.refused[MACSTATE_LINK_ADR], 1);
	ck_assert(!dev()->rt.mac->ch_mask_set);
}
END_TEST

START_TEST(adr_ack_req_gets_a_downlink)
{
	/* TS001-1.0.4 §4.3.1.1: the network answers ADRACKReq with a downlink
	 * within ADR_ACK_DELAY frames, whatever it has to say. */
	dev()->prof->status_interval_h = 0;
	ck_assert(!uplink(NULL, 0, 5.0f));
	ck_assert(uplink_ack_req(NULL, 0, 5.0f, true));
	/* With ADR something to say: the downlink carries LinkADRReq. */
	ck_assert_uint_ne(request_and_send() & BIT(MACSTATE_LINK_ADR), 0);
	const uint8_t ok[] = {CID_LINK_ADR, LINK_ADR_ALL_OK};
	uplink(ok, sizeof(ok), 5.0f);
	dev()->rt.last_dr = 5;
	/* Nothing left to ask: the ADRACKReq still gets its (empty) downlink. */
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;
	ck_assert(uplink_ack_req(NULL, 0, 5.0f, true));
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds), 0);
	ck_assert_uint_eq(kinds, 0);
	/* devices[].adr = false too: the device still counts ADR_ACK_LIMIT and
	 * lowers its data rate when no downlink comes (§4.3.1.1). */
	dev()->adr = false;
	ck_assert(uplink_ack_req(NULL, 0, 5.0f, true));
	ck_assert(!uplink(NULL, 0, 5.0f));
}
END_TEST

START_TEST(link_adr_not_without_adr_bit_or_setting)
{
	dev()->adr = false;
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send() & BIT(MACSTATE_LINK_ADR), 0);
}
END_TEST

/* ------------------------------------------------------------ ABP receive settings */

START_TEST(rx_param_setup_sticky_answers)
{
	teardown();
	struct netmac_opts o = default_opts();
	o.has_rx2_dr = true;
	o.rx2_dr = 3;                                   /* EU868 default: DR0 */
	world_open_with(&o);

	/* Before the device confirms, its downlinks use the region's RX2. */
	struct downlink_plan_in in;
	memset(&in, 0, sizeof(in));
	netmac_windows(&w.mac, dev(), &in);
	ck_assert(!in.rx2_override);

	uplink(NULL, 0, 5.0f);
	unsigned kinds = request_and_send();
	ck_assert_uint_ne(kinds & BIT(MACSTATE_RX_PARAM), 0);

	/* The answer asks for a downlink (TS001-1.0.4 §5.4: repeated until one comes). */
	const uint8_t ans[] = {CID_RX_PARAM, RX_PARAM_ALL_OK};
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_RX_PARAM], 1);
	ck_assert_uint_eq(dev()->rt.rx2_dr, 3);
	ck_assert_uint_eq(dev()->rt.rx2_freq, 869525000);
	memset(&in, 0, sizeof(in));
	netmac_windows(&w.mac, dev(), &in);
	ck_assert(in.rx2_override);
	ck_assert_uint_eq(in.rx2_dr, 3);
	ck_assert_uint_eq(in.rx2_freq_hz, 869525000);

	/* Not asked again; the repeated answer still wants a downlink, counts once. */
	uint8_t out[NETMAC_REQ_MAX];
	unsigned again = 0;
	(void)netmac_requests(&w.mac, dev(), out, sizeof(out), &again);
	ck_assert_uint_eq(again & BIT(MACSTATE_RX_PARAM), 0);
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_RX_PARAM], 1);
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_RX_PARAM], 1);
	/* Once the device got its downlink it stops repeating: nothing wanted. */
	ck_assert(!uplink(NULL, 0, 5.0f));
}
END_TEST

START_TEST(rx_param_setup_refused_is_retried)
{
	teardown();
	struct netmac_opts o = default_opts();
	o.rx2_freq = 869000000;
	world_open_with(&o);
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_ne(request_and_send() & BIT(MACSTATE_RX_PARAM), 0);
	const uint8_t no_channel[] = {CID_RX_PARAM, 0x06};   /* Channel ACK clear */
	uplink(no_channel, sizeof(no_channel), 5.0f);
	ck_assert_uint_eq(w.mac.stats.refused[MACSTATE_RX_PARAM], 1);
	ck_assert_uint_eq(dev()->rt.mac->rx_done & MACSTATE_RX_PARAM_DONE, 0);
	struct downlink_plan_in in;
	memset(&in, 0, sizeof(in));
	netmac_windows(&w.mac, dev(), &in);
	ck_assert(!in.rx2_override);
	ck_assert_uint_ne(request_and_send() & BIT(MACSTATE_RX_PARAM), 0);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_PARAM].tries, 2);
}
END_TEST

/* The device applies RXParamSetupReq, but its answers are lost until the
 * tries ran out: the bridge backs off. The answer that finally comes (the
 * device repeats it in every uplink) still moves the bridge's windows;
 * a refusal then, or the answer once repeated, changes nothing. */
START_TEST(rx_param_late_answer_in_backoff)
{
	reopen_rx(0, 869000000);
	for (int i = 0; i < 3; i++) {
		uplink(NULL, 0, 5.0f);
		ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_PARAM));
	}
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(w.mac.stats.backoffs, 1);
	const uint8_t no[] = {CID_RX_PARAM, 0x06};
	uplink(no, sizeof(no), 5.0f);
	ck_assert_uint_eq(dev()->rt.mac->rx_done & MACSTATE_RX_PARAM_DONE, 0);
	const uint8_t ans[] = {CID_RX_PARAM, RX_PARAM_ALL_OK};
	uplink(ans, sizeof(ans), 5.0f);
	ck_assert_uint_ne(dev()->rt.mac->rx_done & MACSTATE_RX_PARAM_DONE, 0);
	struct downlink_plan_in in;
	memset(&in, 0, sizeof(in));
	netmac_windows(&w.mac, dev(), &in);
	ck_assert(in.rx2_override);
	ck_assert_uint_eq(in.rx2_freq_hz, 869000000);
	ck_assert_uint_eq(w.mac.stats.refused[MACSTATE_RX_PARAM], 0);
}
END_TEST

/* RXTimingSetupReq as RXParamSetupReq (rx_param_late_answer_in_backoff):
 * the device applies it, but its answers are lost until the tries ran
 * out and the bridge backs off. The answer that finally comes (repeated in
 * every uplink until a downlink, TS001-1.0.4 §5.7) answers what was asked:
 * the bridge's windows move to 3 s; the answer once repeated changes
 * nothing more. (Before, it was ignored: the downlinks of the back-off
 * went in the 1 s windows the device no longer used.) */
START_TEST(rx_timing_late_answer_in_backoff)
{
	const uint8_t ans[] = {CID_RX_TIMING};

	reopen_rx(3, 0);
	for (int i = 0; i < 3; i++) {
		uplink(NULL, 0, 5.0f);
		ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));
	}
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(w.mac.stats.backoffs, 1);
	ck_assert_uint_eq(request_and_send(), 0);
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 3);
	ck_assert_uint_ne(dev()->rt.mac->rx_done & MACSTATE_RX_TIMING_DONE, 0);
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_RX_TIMING], 1);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].backoff_until, 0);
	ck_assert(uplink(ans, sizeof(ans), 5.0f));     /* repeated: already taken */
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_RX_TIMING], 1);
	ck_assert_uint_eq(request_and_send(), 0);      /* nothing left to ask */
}
END_TEST

/* The late answer in the back-off is taken even when the device confirmed
 * other values before (the settings changed since): the back-off's tries
 * all carried the last request, so the answer is to it. (Before, an
 * RXParamSetupAns was then ignored, and RX2 stayed on the old frequency
 * the device no longer listened on.) Likewise RXTimingSetupAns. */
START_TEST(rx_late_answer_in_backoff_after_earlier_confirmation)
{
	const uint8_t ans[] = {CID_RX_PARAM, RX_PARAM_ALL_OK, CID_RX_TIMING};

	reopen_rx(3, 869000000);
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_PARAM) | BIT(MACSTATE_RX_TIMING));
	uplink(ans, sizeof(ans), 5.0f);
	ck_assert_uint_eq(dev()->rt.rx2_freq, 869000000);
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 3);
	ck_assert_uint_eq(request_and_send(), 0);      /* stops the repeats */
	uplink(NULL, 0, 5.0f);
	/* New settings (a restart in the daemon), asked three times, the
	 * answers lost. */
	w.mac.o.rx2_freq = 869200000;
	w.mac.o.rx_delay_s = 5;
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(request_and_send(),
				  BIT(MACSTATE_RX_PARAM) | BIT(MACSTATE_RX_TIMING));
		uplink(NULL, 0, 5.0f);
	}
	ck_assert_uint_eq(w.mac.stats.backoffs, 2);
	ck_assert_uint_eq(request_and_send(), 0);
	uplink(ans, sizeof(ans), 5.0f);
	ck_assert_uint_eq(dev()->rt.rx2_freq, 869200000);
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 5);
	struct downlink_plan_in in;
	memset(&in, 0, sizeof(in));
	netmac_windows(&w.mac, dev(), &in);
	ck_assert_uint_eq(in.rx2_freq_hz, 869200000);
}
END_TEST

/* The settings change between the RXParamSetupReq and its answer (in the
 * daemon only a restart changes them; here the test changes them in
 * place): the answer confirms what its request asked (TS001-1.0.4 §5.4),
 * late in the back-off or not, and the new settings are asked next. */
START_TEST(rx_param_answer_confirms_what_was_asked)
{
	struct maccmd cmds[4];
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;
	size_t n = 0;

	reopen_rx(0, 869000000);
	for (int i = 0; i < 3; i++) {
		uplink(NULL, 0, 5.0f);
		ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_PARAM));
	}
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(w.mac.stats.backoffs, 1);
	/* New settings, then the late answer to the request of the old ones. */
	w.mac.o.rx2_freq = 869200000;
	w.mac.o.rx1_dr_offset = 2;
	const uint8_t ans[] = {CID_RX_PARAM, RX_PARAM_ALL_OK};
	uplink(ans, sizeof(ans), 5.0f);
	ck_assert_uint_ne(dev()->rt.mac->rx_done & MACSTATE_RX_PARAM_DONE, 0);
	ck_assert_uint_eq(dev()->rt.rx2_freq, 869000000);
	ck_assert_uint_eq(dev()->rt.rx1_dr_offset, 0);
	struct downlink_plan_in in;
	memset(&in, 0, sizeof(in));
	netmac_windows(&w.mac, dev(), &in);
	ck_assert_uint_eq(in.rx2_freq_hz, 869000000);
	ck_assert_uint_eq(in.rx1_dr_offset, 0);

	/* The new settings are asked once the device got a downlink (an
	 * uplink without the answer, which it repeats until then: the answer
	 * ended the back-off); changed again before the answer, which still
	 * confirms them. */
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds), 0);
	uplink(NULL, 0, 5.0f);
	size_t len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_RX_PARAM));
	ck_assert_int_eq(maccmd_parse(out, len, LW_DIR_DOWN, cmds, 4, &n), LB_OK);
	ck_assert_uint_eq(cmds[0].u.rx_param_setup_req.frequency, 869200000);
	netmac_sent(&w.mac, dev(), kinds);
	netmac_delivered(&w.mac, dev());
	w.mac.o.rx2_freq = 869400000;
	uplink(ans, sizeof(ans), 5.0f);
	ck_assert_uint_eq(dev()->rt.rx2_freq, 869200000);
	ck_assert_uint_eq(dev()->rt.rx1_dr_offset, 2);
}
END_TEST

/* Review: with the table of asked values full (NETMAC_RX_ASKED_MAX), a
 * request whose values it cannot keep is not sent (its answer could not be
 * taken, and it went again at every uplink without end or back-off). (Only
 * reachable if the settings change while running.) */
START_TEST(review_rx_asked_table_full)
{
	const uint8_t ans[] = {CID_RX_PARAM, RX_PARAM_ALL_OK};

	reopen_rx(0, 869000000);
	for (unsigned i = 0; i < NETMAC_RX_ASKED_MAX; i++) {
		w.mac.o.rx2_freq = 869000000 + 100000 * i;
		uplink(NULL, 0, 5.0f);
		ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_PARAM));
		uplink(ans, sizeof(ans), 5.0f);
		ck_assert_uint_eq(dev()->rt.rx2_freq, 869000000 + 100000 * i);
	}
	w.mac.o.rx2_freq = 869000000 + 100000 * NETMAC_RX_ASKED_MAX;   /* one value more */
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), 0);
	ck_assert_uint_eq(dev()->rt.rx2_freq, 869000000 + 100000 * (NETMAC_RX_ASKED_MAX - 1));
}
END_TEST

/* RXTimingSetupAns is repeated in every uplink until the device gets a
 * downlink (TS001-1.0.4 §5.7). A request of 3 s in flight, then a restart
 * with rx_delay_s = 5: the answer after the restart confirms 3 s, what was
 * asked (the store kept it), and the downlink that answers it carries no
 * request of 5 s: the next uplink may repeat the answer to 3 s, which
 * could not be told from an answer to 5 s. Once an uplink comes without
 * it (the device got a downlink), 5 s is asked, in the 3 s windows, and its
 * answer confirms 5 s. (Before, the answer after the restart was ignored,
 * 5 s went out in the 1 s windows the device no longer used, and its
 * repeated answer to 3 s was taken for 5 s: every later downlink missed
 * its windows, and nothing asked again.) */
START_TEST(rx_timing_answer_after_restart_confirms_what_was_asked)
{
	const uint8_t ans[] = {CID_RX_TIMING};

	reopen_rx(3, 0);
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));   /* 3 s asked */
	restart();
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].tries, 1);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].asked, 3);
	w.mac.o.rx_delay_s = 5;                        /* the new configuration */
	ck_assert(uplink(ans, sizeof(ans), 5.0f));     /* the device now uses 3 s */
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 3);
	ck_assert_uint_ne(dev()->rt.mac->rx_done & MACSTATE_RX_TIMING_DONE, 0);
	ck_assert_uint_eq(request_and_send(), 0);      /* the downlink that stops the repeats */
	ck_assert(uplink(ans, sizeof(ans), 5.0f));     /* it was lost: the same answer, repeated */
	ck_assert_uint_ne(dev()->rt.rx_delay_s, 5);
	ck_assert_uint_eq(request_and_send(), 0);
	ck_assert(!uplink(NULL, 0, 5.0f));             /* the device got a downlink */
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));   /* 5 s, in 3 s windows */
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 3);
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 5);
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_RX_TIMING], 2);
	ck_assert_uint_eq(w.mac.stats.refused[MACSTATE_RX_TIMING], 0);
}
END_TEST

/* The same for RXParamSetupReq across a restart (the table of asked values
 * is empty again): the answer to the request of 869.0 MHz confirms 869.0
 * MHz; 869.2 MHz is asked only once an uplink comes without the answer,
 * and the repeated answer before that confirms nothing more. */
START_TEST(rx_param_answer_after_restart_confirms_what_was_asked)
{
	const uint8_t ans[] = {CID_RX_PARAM, RX_PARAM_ALL_OK};

	reopen_rx(0, 869000000);
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_PARAM));
	restart();
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_PARAM].tries, 1);
	ck_assert(netmac_rx2_changing(dev()));         /* class C waits for the answer */
	w.mac.o.rx2_freq = 869200000;
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(dev()->rt.rx2_freq, 869000000);
	ck_assert_uint_ne(dev()->rt.mac->rx_done & MACSTATE_RX_PARAM_DONE, 0);
	ck_assert_uint_eq(request_and_send(), 0);
	ck_assert(uplink(ans, sizeof(ans), 5.0f));     /* repeated */
	ck_assert_uint_ne(dev()->rt.rx2_freq, 869200000);
	ck_assert(!uplink(NULL, 0, 5.0f));
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_PARAM));
	struct downlink_plan_in in;
	memset(&in, 0, sizeof(in));
	netmac_windows(&w.mac, dev(), &in);
	ck_assert_uint_eq(in.rx2_freq_hz, 869000000);  /* where the device listens */
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(dev()->rt.rx2_freq, 869200000);
}
END_TEST

/* An answer after a restart with the settings unchanged still confirms
 * them, and nothing is asked again. */
START_TEST(rx_answers_after_restart_with_settings_unchanged)
{
	const uint8_t ans[] = {CID_RX_PARAM, RX_PARAM_ALL_OK, CID_RX_TIMING};

	reopen_rx(2, 869000000);
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_PARAM) | BIT(MACSTATE_RX_TIMING));
	restart();
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(dev()->rt.rx2_freq, 869000000);
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 2);
	const unsigned both = MACSTATE_RX_PARAM_DONE | MACSTATE_RX_TIMING_DONE;
	ck_assert_uint_eq(dev()->rt.mac->rx_done & both, both);
	ck_assert_uint_eq(request_and_send(), 0);
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert(!uplink(NULL, 0, 5.0f));
	ck_assert_uint_eq(request_and_send(), 0);
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_RX_PARAM], 1);
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_RX_TIMING], 1);
	/* Confirmed: after another restart nothing is asked either. */
	restart();
	ck_assert(!uplink(NULL, 0, 5.0f));
	ck_assert_uint_eq(request_and_send(), 0);
}
END_TEST

/* A restart after the answer was taken, before the device got a downlink
 * (it repeats the answer), with other settings: what the last request
 * asked is kept, so the request of the new settings waits for an uplink
 * without the repeated answer, as without the restart. */
START_TEST(rx_timing_repeated_answer_after_restart_holds_new_request)
{
	const uint8_t ans[] = {CID_RX_TIMING};

	reopen_rx(3, 0);
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 3);
	restart();
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].tries, 0);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].asked, 3);
	w.mac.o.rx_delay_s = 5;
	ck_assert(uplink(ans, sizeof(ans), 5.0f));     /* repeated: no downlink reached it */
	ck_assert_uint_eq(request_and_send(), 0);
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 3);
	ck_assert(!uplink(NULL, 0, 5.0f));
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 5);
}
END_TEST

/* After a restart the bridge does not know whether the device still
 * repeats the answer it took before (its reply downlink lost): a downlink
 * before the device's next uplink (the answer to a confirmed uplink heard
 * again, which netmac_uplink() does not see) carries no request of other
 * values. Sent, its downlink lost, the repeated 3 s answer would be taken
 * for 5 s, which the device does not use: its downlinks would miss its
 * windows for good. */
START_TEST(rx_timing_restart_holds_request_until_uplink)
{
	const uint8_t ans[] = {CID_RX_TIMING};

	reopen_rx(3, 0);
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));
	ck_assert(uplink(ans, sizeof(ans), 5.0f));          /* taken: 3 s */
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 3);
	restart();
	w.mac.o.rx_delay_s = 5;
	ck_assert_uint_eq(request_and_send(), 0);            /* no uplink seen since */
	ck_assert(uplink(ans, sizeof(ans), 5.0f));          /* the 3 s answer, repeated */
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 3);
	ck_assert_uint_eq(request_and_send(), 0);
	ck_assert(!uplink(NULL, 0, 5.0f));                   /* it got a downlink */
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 5);
}
END_TEST

/* A row written before schema v10 (the migration left what the last
 * requests asked NULL, and no tries): an answer that comes after the
 * upgrade answers requests whose values are not known. It is not taken,
 * and the requests of today's settings wait until an uplink without the
 * answer shows that the device got a downlink; sent at once, their
 * downlink lost, the repeated old answer would be taken for them. Here the
 * settings changed with the upgrade: 3 s and 869.0 MHz asked before, 5 s
 * and 869.2 MHz now. (Before, the new requests went at once and the
 * repeated answer confirmed 5 s and 869.2 MHz, which the device did not
 * use.) */
START_TEST(rx_unknown_last_request_held)
{
	const uint8_t ans[] = {CID_RX_PARAM, RX_PARAM_ALL_OK, CID_RX_TIMING};
	const unsigned both = BIT(MACSTATE_RX_PARAM) | BIT(MACSTATE_RX_TIMING);
	const uint8_t done = MACSTATE_RX_PARAM_DONE | MACSTATE_RX_TIMING_DONE;

	reopen_rx(3, 869000000);
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), both);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	rawdb_exec(w.dir, "UPDATE mac_state SET rx_timing_unanswered = 0,"
			  " rx_timing_ask_delay = NULL, rx_param_unanswered = 0,"
			  " rx_param_ask_offset = NULL, rx_param_ask_dr = NULL,"
			  " rx_param_ask_freq = NULL");
	restart();
	w.mac.o.rx_delay_s = 5;
	w.mac.o.rx2_freq = 869200000;
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].asked, 0);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_PARAM].asked, 0);
	ck_assert(uplink(ans, sizeof(ans), 5.0f));     /* ignored: no try known */
	ck_assert_uint_eq(dev()->rt.mac->rx_done & done, 0);
	ck_assert_uint_eq(request_and_send(), 0);      /* the downlink that stops the repeats */
	ck_assert(uplink(ans, sizeof(ans), 5.0f));     /* it was lost: repeated */
	ck_assert_uint_eq(dev()->rt.mac->rx_done & done, 0);
	ck_assert_uint_eq(request_and_send(), 0);
	ck_assert(!uplink(NULL, 0, 5.0f));             /* the device got a downlink */
	ck_assert_uint_eq(request_and_send(), both);
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 5);
	ck_assert_uint_eq(dev()->rt.rx2_freq, 869200000);
	ck_assert_uint_eq(dev()->rt.mac->rx_done & done, done);
}
END_TEST

/* A schema-9 row with requests in flight at the upgrade (tries 1, what
 * they asked not known), the settings unchanged (3 s; 869.0 MHz).
 * The device applied them and answers; the answer is not taken (values
 * unknown), so the bridge keeps the default windows, which the device no
 * longer listens in: it repeats the answer after every downlink, and no
 * uplink without it ever comes. After max_unanswered such uplinks in a
 * row (each after a downlink) the requests go, and the repeated answer is
 * taken for them. (Before, they were held forever.) Downlinks sent from
 * start: the first uplink after the restart follows none, so it does not
 * count. */
static void unknown_inflight_released(const uint8_t *ans, size_t ans_len, unsigned kinds)
{
	teardown();
	struct netmac_opts o = default_opts();
	o.rx_delay_s = 3;
	if (kinds & BIT(MACSTATE_RX_PARAM))
		o.rx2_freq = 869000000;
	world_open_with(&o);
	dev()->prof->status_interval_h = 0;
	dev()->adr = false;
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), kinds);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	rawdb_exec(w.dir, "UPDATE mac_state SET rx_timing_ask_delay = NULL,"
			  " rx_param_ask_offset = NULL, rx_param_ask_dr = NULL,"
			  " rx_param_ask_freq = NULL");
	restart();
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].tries, 1);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].asked, 0);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_PARAM].asked, 0);
	int sent_at = -1;
	for (int i = 0; i < 200 && sent_at < 0; i++) {
		ck_assert(uplink(ans, ans_len, 5.0f));   /* misses every downlink */
		ck_assert_uint_eq(dev()->rt.rx_delay_s, 0);
		unsigned got = request_and_send();
		if (got) {
			ck_assert_uint_eq(got, kinds);
			sent_at = i;
		}
	}
	ck_assert_int_eq(sent_at, o.max_unanswered);
	ck_assert(uplink(ans, ans_len, 5.0f));          /* taken for them */
	if (kinds & BIT(MACSTATE_RX_TIMING))
		ck_assert_uint_eq(dev()->rt.rx_delay_s, 3);
	if (kinds & BIT(MACSTATE_RX_PARAM))
		ck_assert_uint_eq(dev()->rt.rx2_freq, 869000000);
	ck_assert_uint_eq(request_and_send(), 0);
	ck_assert(!uplink(NULL, 0, 5.0f));              /* now it hears the bridge */
	ck_assert_uint_eq(request_and_send(), 0);
}

START_TEST(rx_unknown_inflight_timing_released)
{
	const uint8_t ans[] = {CID_RX_TIMING};

	unknown_inflight_released(ans, sizeof(ans), BIT(MACSTATE_RX_TIMING));
}
END_TEST

START_TEST(rx_unknown_inflight_both_released)
{
	const uint8_t ans[] = {CID_RX_PARAM, RX_PARAM_ALL_OK, CID_RX_TIMING};

	unknown_inflight_released(ans, sizeof(ans),
				  BIT(MACSTATE_RX_PARAM) | BIT(MACSTATE_RX_TIMING));
	ck_assert_uint_eq(dev()->rt.mac->rx_done & MACSTATE_RX_PARAM_DONE,
			  MACSTATE_RX_PARAM_DONE);
}
END_TEST

/* Only an uplink after a downlink counts, and a restart counts again:
 * repeats with no downlink between (the gateway's duty cycle, say) show
 * nothing, and the count is not stored, so a restart adds at most
 * max_unanswered uplinks to the wait. */
START_TEST(rx_unknown_repeats_counted_after_downlinks)
{
	const uint8_t ans[] = {CID_RX_TIMING};

	struct netmac_opts o = reopen_rx(3, 0);
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	rawdb_exec(w.dir, "UPDATE mac_state SET rx_timing_ask_delay = NULL");
	restart();
	for (int i = 0; i < 20; i++)
		ck_assert(uplink(ans, sizeof(ans), 5.0f));   /* no downlink between */
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].unheard, 0);
	for (int i = 0; i < o.max_unanswered - 1; i++) {
		ck_assert_uint_eq(request_and_send(), 0);
		ck_assert(uplink(ans, sizeof(ans), 5.0f));
	}
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].unheard,
			  o.max_unanswered - 1);
	restart();                                       /* counts again */
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].unheard, 0);
	ck_assert(uplink(ans, sizeof(ans), 5.0f));       /* after no downlink */
	for (int i = 0; i < o.max_unanswered; i++) {
		ck_assert_uint_eq(request_and_send(), 0);
		ck_assert(uplink(ans, sizeof(ans), 5.0f));
	}
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 3);
}
END_TEST

/* Downlinks the gateway did not take (a TX_ACK error, none at all) say
 * nothing about the device: repeats after them are not counted, and the
 * request stays held however many come; taken ones count. */
START_TEST(rx_unknown_repeats_after_downlinks_not_taken)
{
	const uint8_t ans[] = {CID_RX_TIMING};
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds;

	struct netmac_opts o = reopen_rx(3, 0);
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	rawdb_exec(w.dir, "UPDATE mac_state SET rx_timing_ask_delay = NULL");
	restart();
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	for (int i = 0; i < 4 * o.max_unanswered; i++) {
		kinds = 0;
		netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
		ck_assert_uint_eq(kinds, 0);
		netmac_sent(&w.mac, dev(), kinds);   /* handed over, never taken */
		ck_assert(uplink(ans, sizeof(ans), 5.0f));
	}
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].unheard, 0);
	for (int i = 0; i < o.max_unanswered; i++) {
		ck_assert_uint_eq(request_and_send(), 0);   /* taken */
		ck_assert(uplink(ans, sizeof(ans), 5.0f));
	}
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));
}
END_TEST

/* A request that never reached the device: no answer comes, the tries go
 * on across the restart and end in the back-off as without one (each try
 * counted once, the first uplink after the restart counts the last), and
 * the request of the new settings asked after it is what an answer
 * confirms. */
START_TEST(rx_timing_unanswered_across_restart)
{
	const uint8_t ans[] = {CID_RX_TIMING};

	reopen_rx(3, 0);
	for (int i = 0; i < 3; i++) {
		uplink(NULL, 0, 5.0f);
		ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));
	}
	restart();
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].tries, 3);
	w.mac.o.rx_delay_s = 5;
	ck_assert_uint_eq(request_and_send(), 0);      /* no fourth try */
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(w.mac.stats.backoffs, 1);
	ck_assert_uint_eq(request_and_send(), 0);
	restart();                                     /* the back-off is kept */
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), 0);
	/* After it, 5 s is asked; the answer confirms 5 s. */
	dev()->rt.mac->track[MACSTATE_RX_TIMING].backoff_until = 1;
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 5);
}
END_TEST

START_TEST(rx_timing_setup_pushed_and_confirmed)
{
	teardown();
	struct netmac_opts o = default_opts();
	o.rx_delay_s = 3;                               /* RECEIVE_DELAY1 default: 1 s */
	world_open_with(&o);
	dev()->prof->status_interval_h = 0;
	dev()->adr = false;

	uplink(NULL, 0, 5.0f);
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;
	size_t len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_RX_TIMING));
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(out[0], CID_RX_TIMING);
	ck_assert_uint_eq(out[1] & 0x0f, 3);            /* Del, TS001-1.0.4 §5.7 */
	netmac_sent(&w.mac, dev(), kinds);
	netmac_delivered(&w.mac, dev());

	/* No answer: tried again, at most max_unanswered times in all. */
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_TIMING));
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].tries, 2);

	/* RXTimingSetupAns (no payload): confirmed, the uplink wants a downlink
	 * (repeated until one comes, §5.7). */
	const uint8_t ans[] = {CID_RX_TIMING};
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_RX_TIMING], 1);
	ck_assert_uint_eq(dev()->rt.rx_delay_s, 3);
	ck_assert_uint_ne(dev()->rt.mac->rx_done & MACSTATE_RX_TIMING_DONE, 0);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_RX_TIMING].tries, 0);
	kinds = 0;
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds), 0);
	ck_assert(uplink(ans, sizeof(ans), 5.0f));
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_RX_TIMING], 1);
}
END_TEST

START_TEST(rx_timing_setup_unanswered_backs_off)
{
	reopen_rx(2, 0);
	uplink(NULL, 0, 5.0f);
	for (int i = 0; i < 8; i++) {
		(void)request_and_send();
		uplink(NULL, 0, 5.0f);
	}
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_RX_TIMING], 3);
	ck_assert_uint_eq(w.mac.stats.backoffs, 1);
	ck_assert_uint_eq(dev()->rt.mac->rx_done & MACSTATE_RX_TIMING_DONE, 0);
}
END_TEST

START_TEST(rx_timing_default_not_pushed)
{
	dev()->prof->status_interval_h = 0;
	dev()->adr = false;
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send(), 0);   /* rx_delay_s 1: the default */
}
END_TEST

/* ABP device, EU868, downlink.join_cflist "auto": 867.1..867.9 MHz as
 * channels 3..7, nothing else to ask. */
static void open_channels(void)
{
	teardown();
	struct netmac_opts o = default_opts();
	netmac_cflist_channels(region_find("EU868"), "auto", &o);
	ck_assert_uint_eq(o.n_channels, 5);
	world_open_with(&o);
	dev()->prof->status_interval_h = 0;
}

START_TEST(new_channel_pushed_confirmed_then_in_link_adr_mask)
{
	open_channels();
	dev()->adr = false;                          /* NewChannelReq first, alone */
	uplink(NULL, 0, 5.0f);
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;
	size_t len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_NEW_CHANNEL));
	ck_assert_uint_eq(len, 5 * 6);          /* CID + 5 bytes each (§5.6) */
	struct maccmd cmds[8];
	size_t n = 0;
	ck_assert_int_eq(maccmd_parse(out, len, LW_DIR_DOWN, cmds, 8, &n), LB_OK);
	ck_assert_uint_eq(n, 5);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(cmds[i].cid, CID_NEW_CHANNEL);
		ck_assert_uint_eq(cmds[i].u.new_channel_req.ch_index, 3 + i);
		ck_assert_uint_eq(cmds[i].u.new_channel_req.frequency, 867100000 + 200000 * i);
		ck_assert_uint_eq(cmds[i].u.new_channel_req.min_dr, 0);
		ck_assert_uint_eq(cmds[i].u.new_channel_req.max_dr, 5);
	}
	netmac_sent(&w.mac, dev(), kinds);
	netmac_delivered(&w.mac, dev());

	/* Channel 5 (the third answer) refused: the others are confirmed, the
	 * request counts as not answered and is tried again, for channel 5 only. */
	const uint8_t some[] = {CID_NEW_CHANNEL, NEW_CHANNEL_OK, CID_NEW_CHANNEL, NEW_CHANNEL_OK,
				CID_NEW_CHANNEL, NEW_CHANNEL_NO_FREQ, CID_NEW_CHANNEL, NEW_CHANNEL_OK,
				CID_NEW_CHANNEL, NEW_CHANNEL_OK};
	uplink(some, sizeof(some), 5.0f);
	ck_assert_uint_eq(w.mac.stats.refused[MACSTATE_NEW_CHANNEL], 1);
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_NEW_CHANNEL], 0);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_NEW_CHANNEL].tries, 1);
	ck_assert_uint_eq(dev()->rt.mac->rx_done & MACSTATE_CHANNEL_DONE(5), 0);
	for (unsigned ch = 3; ch <= 7; ch++)
		if (ch != 5)
			ck_assert_uint_ne(dev()->rt.mac->rx_done & MACSTATE_CHANNEL_DONE(ch), 0);
	kinds = 0;
	len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_NEW_CHANNEL));
	ck_assert_uint_eq(len, 6);
	ck_assert_int_eq(maccmd_parse(out, len, LW_DIR_DOWN, cmds, 8, &n), LB_OK);
	ck_assert_uint_eq(cmds[0].u.new_channel_req.ch_index, 5);
	netmac_sent(&w.mac, dev(), kinds);
	netmac_delivered(&w.mac, dev());
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_NEW_CHANNEL].tries, 2);
	const uint8_t ok[] = {CID_NEW_CHANNEL, NEW_CHANNEL_OK};
	uplink(ok, sizeof(ok), 5.0f);
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_NEW_CHANNEL], 1);
	ck_assert_uint_eq(dev()->rt.mac->track[MACSTATE_NEW_CHANNEL].tries, 0);
	kinds = 0;
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds), 0);

	/* ADR now: the EU868 channel mask has the 3 default channels and the 5
	 * confirmed ones (TS001-1.0.4 §5.2 ChMask, RP002-1.0.4 §2.3.5). */
	dev()->adr = true;
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_LINK_ADR));
	ck_assert_uint_eq(dev()->rt.mac->ask_mask[0], 0x00ff);
	const uint8_t adr_ok[] = {CID_LINK_ADR, LINK_ADR_ALL_OK};
	uplink(adr_ok, sizeof(adr_ok), 5.0f);
	ck_assert_uint_eq(dev()->rt.mac->ch_mask[0], 0x00ff);
}
END_TEST

START_TEST(new_channel_unconfirmed_not_in_link_adr_mask)
{
	/* Before any NewChannelAns the mask has the default channels only: a
	 * channel the device does not have cannot be enabled (§5.2). */
	open_channels();
	uplink(NULL, 0, 5.0f);
	unsigned kinds = request_and_send();
	ck_assert_uint_eq(kinds, BIT(MACSTATE_LINK_ADR) | BIT(MACSTATE_NEW_CHANNEL));
	ck_assert_uint_eq(dev()->rt.mac->ask_mask[0], 0x0007);
}
END_TEST

START_TEST(new_channel_refused_backs_off_after_max_unanswered)
{
	open_channels();
	dev()->adr = false;
	uplink(NULL, 0, 5.0f);
	uint8_t refused[5 * 2];
	for (int i = 0; i < 5; i++) {
		refused[2 * i] = CID_NEW_CHANNEL;
		refused[2 * i + 1] = NEW_CHANNEL_NO_FREQ;
	}
	for (int i = 0; i < 6; i++) {
		unsigned kinds = request_and_send();
		uplink(kinds ? refused : NULL, kinds ? sizeof(refused) : 0, 5.0f);
	}
	ck_assert_uint_eq(w.mac.stats.sent[MACSTATE_NEW_CHANNEL], 3);
	ck_assert_uint_eq(w.mac.stats.refused[MACSTATE_NEW_CHANNEL], 3);
	ck_assert_uint_eq(w.mac.stats.backoffs, 1);
	ck_assert_int_gt(dev()->rt.mac->track[MACSTATE_NEW_CHANNEL].backoff_until,
			 loop_wall_us() / 1000000 + 23 * 3600);
}
END_TEST

START_TEST(otaa_device_gets_no_rx_param)
{
	teardown();
	struct netmac_opts o = default_opts();
	o.has_rx2_dr = true;
	o.rx2_dr = 3;
	world_open_with(&o);
	dev()->activation = LB_ACT_OTAA;
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_eq(request_and_send() & BIT(MACSTATE_RX_PARAM), 0);
}
END_TEST

/* ------------------------------------------------------------ deferred restore */

/* Start-up defers the read (netmac_defer_restore): nothing in memory
 * until the device's first use; then the stored state is read before
 * anything uses or writes it, so it acts as an eager restore would. */
START_TEST(deferred_restore_read_at_first_use)
{
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_ne(request_and_send() & BIT(MACSTATE_LINK_ADR), 0);
	const uint8_t ok[] = {CID_LINK_ADR, LINK_ADR_ALL_OK};
	uplink(ok, sizeof(ok), 5.0f);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);

	netmac_defer_restore(&w.mac, dev());
	ck_assert_ptr_null(dev()->rt.mac);
	ck_assert(dev()->rt.mac_unread);
	/* Marked for the batch before it is read: what is staged is the
	 * stored state, not an empty one. */
	netmac_touch(&w.mac, dev());
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	netmac_defer_restore(&w.mac, dev());
	dev()->rt.last_dr = 5;
	uplink(NULL, 0, 5.0f);                           /* the first use reads it */
	ck_assert(!dev()->rt.mac_unread);
	ck_assert(dev()->rt.mac->known);
	ck_assert_uint_eq(dev()->rt.mac->dr, 5);
	ck_assert(dev()->rt.mac->ch_mask_set);
	ck_assert_uint_eq(dev()->rt.mac->ch_mask[0], 0x0007);
}
END_TEST

/* A downlink planned before any uplink of the run (class C) uses the
 * receive settings the device confirmed before the restart. */
START_TEST(deferred_restore_read_before_windows)
{
	teardown();
	struct netmac_opts o = default_opts();
	o.has_rx2_dr = true;
	o.rx2_dr = 3;
	world_open_with(&o);
	uplink(NULL, 0, 5.0f);
	ck_assert_uint_ne(request_and_send() & BIT(MACSTATE_RX_PARAM), 0);
	const uint8_t ans[] = {CID_RX_PARAM, RX_PARAM_ALL_OK};
	uplink(ans, sizeof(ans), 5.0f);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);

	netmac_defer_restore(&w.mac, dev());
	netmac_load(&w.mac, dev());
	struct downlink_plan_in in;
	memset(&in, 0, sizeof(in));
	netmac_windows(&w.mac, dev(), &in);
	ck_assert(in.rx2_override);
	ck_assert_uint_eq(in.rx2_dr, 3);
	/* Nothing stored (a device not heard before): nothing kept. */
	ck_assert_int_eq(store_purge_flags(&w.store, DEV_EUI, 0), LB_OK);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	netmac_defer_restore(&w.mac, dev());
	netmac_load(&w.mac, dev());
	ck_assert(!dev()->rt.mac_unread);
	ck_assert_ptr_null(dev()->rt.mac);
}
END_TEST

/* The deferred read fails (the table moved away for a moment): the state
 * stays unread, is not written over by the batch, and is read at the next
 * use once the table is back. */
START_TEST(deferred_restore_read_error_keeps_stored)
{
	struct store_mac stored, got;

	uplink(NULL, 0, 5.0f);
	ck_assert_uint_ne(request_and_send() & BIT(MACSTATE_LINK_ADR), 0);
	const uint8_t ok[] = {CID_LINK_ADR, LINK_ADR_ALL_OK};
	uplink(ok, sizeof(ok), 5.0f);
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	ck_assert_int_eq(store_mac_get(&w.store, DEV_EUI, &stored), LB_OK);

	netmac_defer_restore(&w.mac, dev());
	rawdb_exec(w.dir, "ALTER TABLE mac_state RENAME TO mac_state_away");
	netmac_load(&w.mac, dev());
	ck_assert(dev()->rt.mac_unread);
	ck_assert_ptr_null(dev()->rt.mac);
	/* Nothing asked of the device meanwhile (a fresh state would ask for
	 * LinkADR, as at the start of this test). */
	uint8_t cmds[64];
	unsigned kinds = 1;
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), cmds, sizeof(cmds), &kinds), 0);
	ck_assert_uint_eq(kinds, 0);
	netmac_touch(&w.mac, dev());
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	rawdb_exec(w.dir, "ALTER TABLE mac_state_away RENAME TO mac_state");
	ck_assert_int_eq(store_mac_get(&w.store, DEV_EUI, &got), LB_OK);
	ck_assert_mem_eq(&got, &stored, sizeof(got));     /* not written over */

	netmac_load(&w.mac, dev());
	ck_assert(!dev()->rt.mac_unread);
	ck_assert_ptr_nonnull(dev()->rt.mac);
	ck_assert(dev()->rt.mac->ch_mask_set);
	ck_assert_uint_eq(dev()->rt.mac->ch_mask[0], stored.ch_mask[0]);
}
END_TEST

/* ------------------------------------------------------------ regions */

/* One ABP device with ADR on and no status requests, in region r (kept by
 * the caller), with the settings o (NULL: default_opts()). */
static void open_region_at(const struct region *r, const struct netmac_opts *o)
{
	static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct netmac_opts d = default_opts();

	world_close(&w);
	memset(&t, 0, sizeof(t));
	t.saved_stderr = -1;
	world_base(&w, WORLD_HOLD_NONE);
	w.region = r;
	ck_assert_ptr_nonnull(w.region);
	struct lb_device_conf conf = world_abp(&w, "meter", "default", DEV_EUI, DEV_ADDR, key, key);
	conf.adr = true;
	conf.status_interval_h = 0;
	world_open(&w, &conf, 1, &(struct world_opts){
		.modules = WORLD_STORE | WORLD_SESSIONS | WORLD_NETMAC, .netmac = o ? o : &d,
	});
	w.devices.dev[0].rt.last_dr = 0;
}

/* open_region_at() the region's table as it is (no dwell time). */
static void open_region(const char *region, const struct netmac_opts *o)
{
	open_region_at(region_find(region), o);
}

/* An uplink heard at SF sf / 125 kHz on freq, with the ADR bit and
 * ADRACKReq as given and the MAC answers mac. */
static bool uplink_at(bool adr, bool adr_ack_req, uint8_t sf, uint32_t freq, float snr,
		      const uint8_t *mac, size_t mac_len)
{
	struct lw_frame f;
	struct lb_rx rx;

	memset(&f, 0, sizeof(f));
	f.mtype = LW_MTYPE_UNCONFIRMED_UP;
	f.u.data.dev_addr = DEV_ADDR;
	f.u.data.adr = adr;
	f.u.data.adr_ack_req = adr_ack_req;
	memset(&rx, 0, sizeof(rx));
	rx.gateway_eui = UINT64_C(0xaa555a0000000001);
	rx.received_us = loop_wall_us();
	rx.rxpk.modu = GWMP_MOD_LORA;
	rx.rxpk.sf = sf;
	rx.rxpk.bw_khz = 125;
	rx.rxpk.freq_hz = freq;
	rx.rxpk.has_lsnr = true;
	rx.rxpk.lsnr = snr;
	return netmac_uplink(&w.mac, dev(), &f, mac, mac_len, &rx, 1, t.dedup_id);
}

/* AS923 has two default channels (RP002-1.0.4 §2.10.2): ADR's ChMask
 * enables channels 0 and 1 only. Enabling channel 2, which the device does
 * not have, makes it refuse the whole LinkADRReq (TS001-1.0.4 §5.2). */
START_TEST(as923_chmask_default_channels_only)
{
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;

	open_region("AS923-1", NULL);
	uplink_at(true, false, 12, 923200000, 5.0f, NULL, 0);
	size_t len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_LINK_ADR));
	ck_assert_uint_eq(len, 5);
	ck_assert_uint_eq(out[0], CID_LINK_ADR);
	ck_assert_uint_eq((uint16_t)(out[2] | out[3] << 8), 0x0003);   /* ChMask */
	ck_assert_uint_eq(out[4] >> 4 & 7, 0);                         /* ChMaskCntl */
}
END_TEST

/* AS923 extra channels (downlink.join_cflist) are channels 2..6, as its
 * CFList numbers them (RP002-1.0.4 §2.10.4): NewChannelReq defines them
 * there, and once confirmed ADR's mask enables 0..6. */
START_TEST(as923_new_channels_from_2)
{
	struct netmac_opts o = default_opts();
	struct maccmd cmds[8];
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;
	size_t n = 0;

	netmac_cflist_channels(region_find("AS923-1"), "923.6,923.8,924.0,924.2,924.4", &o);
	ck_assert_uint_eq(o.n_channels, 5);
	open_region("AS923-1", &o);
	dev()->adr = false;                          /* NewChannelReq alone first */
	uplink_at(true, false, 12, 923200000, 5.0f, NULL, 0);
	size_t len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_NEW_CHANNEL));
	ck_assert_int_eq(maccmd_parse(out, len, LW_DIR_DOWN, cmds, 8, &n), LB_OK);
	ck_assert_uint_eq(n, 5);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(cmds[i].u.new_channel_req.ch_index, 2 + i);
		ck_assert_uint_eq(cmds[i].u.new_channel_req.frequency, 923600000 + 200000 * i);
	}
	netmac_sent(&w.mac, dev(), kinds);
	netmac_delivered(&w.mac, dev());
	uint8_t ok[5 * 2];
	for (int i = 0; i < 5; i++) {
		ok[2 * i] = CID_NEW_CHANNEL;
		ok[2 * i + 1] = NEW_CHANNEL_OK;
	}
	uplink_at(true, false, 12, 923200000, 5.0f, ok, sizeof(ok));
	for (unsigned ch = 2; ch <= 6; ch++)
		ck_assert_uint_ne(dev()->rt.mac->rx_done & MACSTATE_CHANNEL_DONE(ch), 0);
	dev()->adr = true;
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_LINK_ADR));
	ck_assert_uint_eq(dev()->rt.mac->ask_mask[0], 0x007f);
	/* Stored in this numbering: read back as it is. */
	restart();
	ck_assert_uint_eq(dev()->rt.mac->rx_done & 0xfc, 0x7c);
	/* Stored by an older build, which numbered them from 3 (bits 3..7):
	 * forgotten at the read, so NewChannelReq defines them again. */
	struct store_mac row;
	ck_assert_int_eq(store_mac_get(&w.store, DEV_EUI, &row), LB_OK);
	row.rx_done = macstate_rx_done_to_row(0xf8);
	ck_assert_int_eq(store_mac_put(&w.store, &row), LB_OK);
	restart();
	ck_assert_uint_eq(dev()->rt.mac->rx_done & 0xfc, 0);
	dev()->adr = false;
	uplink_at(true, false, 12, 923200000, 5.0f, NULL, 0);
	len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_NEW_CHANNEL));
}
END_TEST

/* AU915 with region_dwell_time.uplink (RP002-1.0.4 §2.8.2, §2.8.6): the
 * LinkADRReq after 20 weak uplinks at DR2 and full power keeps a device of
 * LoRaWAN 1.0.3 or 1.0.4 at DR2 (DR0/DR1 carry no frame within 400 ms) and
 * takes a 1.0.2 device, which has no dwell limit (Regional Parameters
 * 1.0.2revB), below it. */
static unsigned au915_weak_link_dr(uint8_t version)
{
	static struct region au;
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;

	ck_assert_int_eq(region_configure(region_find("AU915"), true, false, &au), LB_OK);
	open_region_at(&au, NULL);
	dev()->lorawan_version = version;
	dev()->rt.last_dr = 2;
	for (int i = 0; i < ADR_HISTORY; i++)
		uplink_at(true, false, 10, 916800000, -20.0f, NULL, 0);   /* ch 8, DR2 */
	size_t len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_LINK_ADR));
	ck_assert_uint_eq(len, 10);
	ck_assert_uint_eq(out[0], CID_LINK_ADR);
	ck_assert_uint_eq(out[1] & 0x0f, 0);                        /* TXPower 0: max */
	return out[1] >> 4;
}

START_TEST(au915_dwell_floor_per_version)
{
	ck_assert_uint_eq(au915_weak_link_dr(JOIN_V1_0_3), 2);
	ck_assert_uint_eq(au915_weak_link_dr(JOIN_V1_0_4), 2);
	ck_assert_uint_lt(au915_weak_link_dr(JOIN_V1_0_2), 2);
	ck_assert_uint_lt(au915_weak_link_dr(JOIN_V1_0_0), 2);
}
END_TEST

/* US915: after its ADR back-off (TS001-1.0.4 §4.3.1.1: ADRACKReq, lower
 * DR, then "re-enable all default uplink channels") the device uses all
 * 72 channels again: the ADRACKReq gets the sub-band mask again, even
 * though the device confirmed it before. */
START_TEST(us915_mask_resent_on_adr_ack_req)
{
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;
	static const uint8_t ok2[] = {CID_LINK_ADR, LINK_ADR_ALL_OK, CID_LINK_ADR, LINK_ADR_ALL_OK};

	open_region("US915", NULL);
	uplink_at(true, false, 10, 903900000, -5.0f, NULL, 0);   /* DR0, margin 0: mask only */
	size_t len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(len, 10);
	netmac_sent(&w.mac, dev(), kinds);
	netmac_delivered(&w.mac, dev());
	uplink_at(true, false, 10, 903900000, -5.0f, ok2, sizeof(ok2));
	ck_assert(dev()->rt.mac->ch_mask_set);
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds), 0);
	/* Later: the device backs off and sends ADRACKReq on channel 34,
	 * outside sub-band 2. */
	ck_assert(uplink_at(true, true, 10, 909100000, -5.0f, NULL, 0));
	len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_LINK_ADR));
	ck_assert_uint_eq(len, 10);
	ck_assert_mem_eq(out, "\x03\x00\x02\x00\x71" "\x03\x00\x00\xff\x01", 10);
	/* EU868: the plan's mask already has the default channels: not sent again
	 * (SNR -15 dB at SF12: margin -5 dB, no DR or power step either). */
	open_region("EU868", NULL);
	uplink_at(true, false, 12, 868100000, -15.0f, NULL, 0);
	len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(len, 5);
	netmac_sent(&w.mac, dev(), kinds);
	netmac_delivered(&w.mac, dev());
	uplink_at(true, false, 12, 868100000, -15.0f, ok2, 2);
	ck_assert(dev()->rt.mac->ch_mask_set);
	uplink_at(true, true, 12, 868100000, -15.0f, NULL, 0);
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds), 0);
}
END_TEST

/* US915 with ADR off (the uplink's ADR bit clear, or devices[].adr
 * false): the sub-band mask still goes (TS001-1.0.4 §4.3.1.1: channel-mask
 * control is accepted with ADR off), in a LinkADRReq block with the DR and
 * TX power the device uses now, so nothing else changes. */
START_TEST(us915_chmask_without_adr)
{
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;
	static const uint8_t ok2[] = {CID_LINK_ADR, LINK_ADR_ALL_OK, CID_LINK_ADR, LINK_ADR_ALL_OK};

	open_region("US915", NULL);
	dev()->rt.last_dr = 1;
	uplink_at(false, false, 9, 903900000, 10.0f, NULL, 0);   /* ch 8, DR1, ADR bit clear */
	size_t len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_LINK_ADR));
	ck_assert_uint_eq(len, 10);
	/* DR1 TXPower 0 = 0x10; ChMaskCntl 7 (65 on), then block 0 (8..15). */
	ck_assert_mem_eq(out, "\x03\x10\x02\x00\x71" "\x03\x10\x00\xff\x01", 10);
	netmac_sent(&w.mac, dev(), kinds);
	netmac_delivered(&w.mac, dev());
	uplink_at(false, false, 9, 903900000, 10.0f, ok2, sizeof(ok2));
	ck_assert(dev()->rt.mac->ch_mask_set);
	ck_assert_uint_eq(dev()->rt.mac->dr, 1);
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_LINK_ADR], 1);
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds), 0);

	/* devices[].adr = false, the ADR bit set and a strong link: the mask
	 * only, at the DR the device is on (no ADR step). */
	open_region("US915", NULL);
	dev()->adr = false;
	uplink_at(true, false, 10, 903900000, 10.0f, NULL, 0);
	len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(len, 10);
	ck_assert_mem_eq(out, "\x03\x00\x02\x00\x71" "\x03\x00\x00\xff\x01", 10);

	/* EU868 with ADR off: the device enables the plan's channels by
	 * itself, nothing is sent. */
	open_region("EU868", NULL);
	dev()->adr = false;
	uplink_at(true, false, 12, 868100000, 10.0f, NULL, 0);
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds), 0);
}
END_TEST

/* The mask-only LinkADRReq refused (ChannelMaskACK clear): counted and
 * tried again like ADR's, then backed off after max_unanswered. */
START_TEST(us915_chmask_without_adr_refused)
{
	static const uint8_t no[] = {CID_LINK_ADR, 0x06, CID_LINK_ADR, 0x06};

	open_region("US915", NULL);
	uplink_at(false, false, 10, 903900000, 10.0f, NULL, 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_LINK_ADR));
		uplink_at(false, false, 10, 903900000, 10.0f, no, sizeof(no));
	}
	ck_assert_uint_eq(w.mac.stats.refused[MACSTATE_LINK_ADR], 3);
	ck_assert_uint_eq(w.mac.stats.backoffs, 1);
	ck_assert(!dev()->rt.mac->ch_mask_set);
	ck_assert_uint_eq(request_and_send(), 0);     /* backed off */
}
END_TEST

/* A device with ADR off that applies the sub-band mask answers
 * ChannelMaskACK alone (it keeps its own DR and TX power: TS001-1.0.4
 * §4.3.1.1): the mask counts as confirmed, nothing is asked again, no
 * refusal, no back-off; DR and TX power are not taken. A device with ADR
 * on answering so refuses the block. */
START_TEST(us915_chmask_without_adr_mask_ack_only)
{
	static const uint8_t mask_only[] = {CID_LINK_ADR, 0x01, CID_LINK_ADR, 0x01};

	open_region("US915", NULL);
	uplink_at(false, false, 10, 903900000, 10.0f, NULL, 0);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_LINK_ADR));
	uint8_t power = dev()->rt.mac->tx_power;
	uplink_at(false, false, 10, 903900000, 10.0f, mask_only, sizeof(mask_only));
	ck_assert(dev()->rt.mac->ch_mask_set);
	ck_assert_uint_eq(w.mac.stats.refused[MACSTATE_LINK_ADR], 0);
	ck_assert_uint_eq(w.mac.stats.backoffs, 0);
	ck_assert_uint_eq(dev()->rt.mac->tx_power, power);
	ck_assert_uint_eq(request_and_send(), 0);     /* nothing left to ask */
}
END_TEST

/* The mask-only block went while the device's ADR bit was clear; the
 * device sets its ADR bit in the uplink that answers ChannelMaskACK alone:
 * what the block asked (the mask alone) decides, not that uplink's bit. */
START_TEST(us915_mask_only_answered_with_adr_on)
{
	static const uint8_t mask_only[] = {CID_LINK_ADR, 0x01, CID_LINK_ADR, 0x01};

	open_region("US915", NULL);
	uplink_at(false, false, 10, 903900000, 10.0f, NULL, 0);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_LINK_ADR));
	uplink_at(true, false, 10, 903900000, 10.0f, mask_only, sizeof(mask_only));
	ck_assert(dev()->rt.mac->ch_mask_set);
	ck_assert_uint_eq(w.mac.stats.refused[MACSTATE_LINK_ADR], 0);
}
END_TEST

/* A device configured as LoRaWAN 1.0.4 with ADR off gets the US915
 * sub-band mask with DataRate and TXPower 0xF, "keep the current value"
 * (TS001-1.0.4 §5.2), not the DR and TX power the bridge last knew; its
 * answer (all three bits) takes the mask and leaves the DR and TX power as
 * they were (never 15). A 1.0.3 device gets today's block
 * (us915_chmask_without_adr); a 1.0.4 device with ADR on gets ADR's values. */
START_TEST(us915_chmask_keep_1_0_4)
{
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;
	static const uint8_t ok2[] = {CID_LINK_ADR, LINK_ADR_ALL_OK, CID_LINK_ADR, LINK_ADR_ALL_OK};

	open_region("US915", NULL);
	dev()->lorawan_version = JOIN_V1_0_4;
	dev()->rt.last_dr = 1;
	uplink_at(false, false, 9, 903900000, 10.0f, NULL, 0);   /* ch 8, DR1, ADR bit clear */
	dev()->rt.mac->dr = 2;                                    /* what it confirmed before */
	dev()->rt.mac->tx_power = 3;
	size_t len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_LINK_ADR));
	ck_assert_uint_eq(len, 10);
	/* DataRate 0xF, TXPower 0xF; ChMaskCntl 7 (65 on), then block 0 (8..15). */
	ck_assert_mem_eq(out, "\x03\xff\x02\x00\x71" "\x03\xff\x00\xff\x01", 10);
	netmac_sent(&w.mac, dev(), kinds);
	netmac_delivered(&w.mac, dev());
	uplink_at(false, false, 9, 903900000, 10.0f, ok2, sizeof(ok2));
	ck_assert(dev()->rt.mac->ch_mask_set);
	ck_assert_uint_eq(dev()->rt.mac->dr, 2);
	ck_assert_uint_eq(dev()->rt.mac->tx_power, 3);
	ck_assert_uint_eq(dev()->rt.mac->nb_trans, 1);
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_LINK_ADR], 1);
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds), 0);
	/* Stored as it is: the row holds DR2 and power 3. */
	ck_assert_int_eq(durable_commit(&w.durable), LB_OK);
	struct store_mac row;
	ck_assert_int_eq(store_mac_get(&w.store, DEV_EUI, &row), LB_OK);
	ck_assert_uint_eq(row.dr, 2);
	ck_assert_uint_eq(row.tx_power, 3);

	/* Refused (ChannelMaskACK clear): counted, nothing taken. */
	static const uint8_t no[] = {CID_LINK_ADR, 0x06, CID_LINK_ADR, 0x06};
	open_region("US915", NULL);
	dev()->lorawan_version = JOIN_V1_0_4;
	uplink_at(false, false, 10, 903900000, 10.0f, NULL, 0);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_LINK_ADR));
	uplink_at(false, false, 10, 903900000, 10.0f, no, sizeof(no));
	ck_assert_uint_eq(w.mac.stats.refused[MACSTATE_LINK_ADR], 1);
	ck_assert(!dev()->rt.mac->ch_mask_set);
	ck_assert_uint_eq(dev()->rt.mac->dr, 0);
	ck_assert_uint_eq(dev()->rt.mac->tx_power, 0);

	/* ADR on (DR0, margin 0): ADR's DR and TX power, not 0xF. */
	open_region("US915", NULL);
	dev()->lorawan_version = JOIN_V1_0_4;
	uplink_at(true, false, 10, 903900000, -5.0f, NULL, 0);
	len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(len, 10);
	ck_assert_mem_eq(out, "\x03\x00\x02\x00\x71" "\x03\x00\x00\xff\x01", 10);
}
END_TEST

/* The 1.0.4 block keeps DataRate and TXPower with 0xF but carries NbTrans
 * as the device confirmed it: 1.0.4 has no "keep" NbTrans, a 0 means "use
 * the default value" (1, TS001-1.0.4 §5.2), which would undo an NbTrans
 * of 3. */
START_TEST(us915_chmask_keep_1_0_4_nb_trans)
{
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;

	open_region("US915", NULL);
	dev()->lorawan_version = JOIN_V1_0_4;
	uplink_at(false, false, 9, 903900000, 10.0f, NULL, 0);
	dev()->rt.mac->nb_trans = 3;
	size_t len = netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(len, 10);
	/* Redundancy: ChMaskCntl 7, NbTrans 3; ChMaskCntl 0, NbTrans 3. */
	ck_assert_mem_eq(out, "\x03\xff\x02\x00\x73" "\x03\xff\x00\xff\x03", 10);
}
END_TEST

/* The 1.0.4 block of DataRate and TXPower 0xF answered with ChannelMaskACK
 * alone (DataRateACK, PowerACK clear: its current DR or TX power does not
 * go with the mask, or it does not know 0xF): the device discarded the
 * block and kept its mask (TS001-1.0.4 §5.2), so nothing is taken and
 * it counts as a refusal, unlike the answer to the block with DR and power
 * (us915_chmask_without_adr_mask_ack_only). */
START_TEST(us915_chmask_keep_mask_ack_only_refused)
{
	static const uint8_t m1[] = {CID_LINK_ADR, 0x01, CID_LINK_ADR, 0x01};

	open_region("US915", NULL);
	dev()->lorawan_version = JOIN_V1_0_4;
	uplink_at(false, false, 10, 903900000, 10.0f, NULL, 0);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_LINK_ADR));
	ck_assert(dev()->rt.mac->ask_keep);
	uplink_at(false, false, 10, 903900000, 10.0f, m1, sizeof(m1));
	ck_assert(!dev()->rt.mac->ch_mask_set);
	ck_assert_uint_eq(w.mac.stats.refused[MACSTATE_LINK_ADR], 1);
	ck_assert_uint_eq(w.mac.stats.answered[MACSTATE_LINK_ADR], 0);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_LINK_ADR));   /* asked again */
}
END_TEST

/* An AS923 device of the new numbering refuses channel 2 and confirms
 * 3..6: kept across a restart (not taken for the old numbering). */
START_TEST(as923_partial_channels_kept)
{
	struct netmac_opts o = default_opts();
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;

	netmac_cflist_channels(region_find("AS923-1"), "923.6,923.8,924.0,924.2,924.4", &o);
	open_region("AS923-1", &o);
	dev()->adr = false;
	uplink_at(true, false, 12, 923200000, 5.0f, NULL, 0);
	(void)netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_NEW_CHANNEL));
	netmac_sent(&w.mac, dev(), kinds);
	netmac_delivered(&w.mac, dev());
	uint8_t ans[5 * 2];
	for (int i = 0; i < 5; i++) {
		ans[2 * i] = CID_NEW_CHANNEL;
		ans[2 * i + 1] = i == 0 ? 0x00 : NEW_CHANNEL_OK;
	}
	uplink_at(true, false, 12, 923200000, 5.0f, ans, sizeof(ans));
	ck_assert_uint_eq(dev()->rt.mac->rx_done & 0xfc, 0x78);
	restart();
	ck_assert_uint_eq(dev()->rt.mac->rx_done & 0xfc, 0x78);
	/* ... and with a shorter channel list in the configuration */
	w.mac.o.n_channels = 4;
	restart();
	ck_assert_uint_eq(dev()->rt.mac->rx_done & 0xfc, 0x78);
}
END_TEST

/* A joined OTAA device and downlink.rx2_frequency: the join-accept does
 * not carry RX2's frequency (TS001-1.0.4 §6.2.6), so its RX2 is the
 * region's until it acknowledges RXParamSetupReq; rt.rx2_freq holding the
 * configured value (a session stored by an earlier version) changes
 * nothing. Class C waits while the request is out; a confirmation of an
 * earlier session does not count. */
START_TEST(otaa_rx2_frequency_pushed)
{
	struct netmac_opts o = default_opts();
	struct downlink_plan_in in;

	o.rx2_freq = 869100000;
	open_region("EU868", &o);
	dev()->adr = false;
	dev()->activation = LB_ACT_OTAA;             /* joined, as otaa.c leaves it */
	dev()->rt.joined_at = 1780000000;
	dev()->rt.rx1_dr_offset = 0;
	dev()->rt.rx2_dr = 0;
	dev()->rt.rx2_freq = 869100000;
	memset(&in, 0, sizeof(in));
	netmac_windows(&w.mac, dev(), &in);
	ck_assert(in.rx2_override);
	ck_assert_uint_eq(in.rx2_freq_hz, 869525000);
	ck_assert_uint_eq(in.rx2_dr, 0);

	uplink_at(false, false, 12, 868100000, 5.0f, NULL, 0);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_PARAM));
	ck_assert(netmac_rx2_changing(dev()));
	static const uint8_t ans[] = {CID_RX_PARAM, RX_PARAM_ALL_OK};
	ck_assert(uplink_at(false, false, 12, 868100000, 5.0f, ans, sizeof(ans)));
	ck_assert(!netmac_rx2_changing(dev()));
	memset(&in, 0, sizeof(in));
	netmac_windows(&w.mac, dev(), &in);
	ck_assert_uint_eq(in.rx2_freq_hz, 869100000);
	ck_assert_uint_eq(request_and_send(), 0);

	/* Joined again: the new session starts on the default RX2. */
	dev()->rt.joined_at = 1780000100;
	memset(&in, 0, sizeof(in));
	netmac_windows(&w.mac, dev(), &in);
	ck_assert_uint_eq(in.rx2_freq_hz, 869525000);
	uplink_at(false, false, 12, 868100000, 5.0f, NULL, 0);
	ck_assert_uint_eq(request_and_send(), BIT(MACSTATE_RX_PARAM));
	dev()->activation = LB_ACT_ABP;              /* as world_close() expects it */
}
END_TEST

/* US915 OTAA: a join-accept whose CFList carried the sub-band mask (type 1,
 * daemon/otaa.c) does not make the mask confirmed: a 1.0.2 device taken
 * for 1.0.3 (the default) ignores that CFList, so the mask-only LinkADRReq
 * still goes at the first uplink and only its LinkADRAns confirms the mask.
 * A join starts the session's MAC state afresh (netmac_joined()), even in
 * the same second as the join before. */
START_TEST(us915_join_mask_confirmed_by_link_adr)
{
	static const uint8_t ans[] = {CID_LINK_ADR, 0x07, CID_LINK_ADR, 0x07};
	uint8_t out[NETMAC_REQ_MAX];
	unsigned kinds = 0;

	open_region("US915", NULL);
	dev()->activation = LB_ACT_OTAA;             /* joined, as otaa.c leaves it */
	dev()->rt.joined_at = 1780000000;
	dev()->rt.rx2_dr = 8;                        /* the region's RX2: nothing to push */
	dev()->rt.rx2_freq = 923300000;
	netmac_joined(&w.mac, dev());
	uplink_at(false, false, 10, 903900000, 10.0f, NULL, 0);
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds), 10);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_LINK_ADR));
	netmac_sent(&w.mac, dev(), kinds);
	netmac_delivered(&w.mac, dev());
	uplink_at(false, false, 10, 903900000, 10.0f, ans, sizeof(ans));
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds), 0);
	restart();
	uplink_at(false, false, 10, 903900000, 10.0f, NULL, 0);
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds), 0);

	/* Joined again in the same second: the new session's state is new. */
	netmac_joined(&w.mac, dev());
	uplink_at(false, false, 10, 903900000, 10.0f, NULL, 0);
	ck_assert_uint_eq(netmac_requests(&w.mac, dev(), out, sizeof(out), &kinds), 10);
	ck_assert_uint_eq(kinds, BIT(MACSTATE_LINK_ADR));
	dev()->activation = LB_ACT_ABP;              /* as world_close() expects it */
}
END_TEST

static Suite *netmac_suite(void)
{
	Suite *s = suite_create("netmac");
	TCase *tc = tcase_create("requests");

	world_fixtures(tc, "test_netmac", setup, teardown);
	tcase_add_test(tc, dev_status_ans_is_a_status_event);
	tcase_add_test(tc, dev_status_external_power);
	tcase_add_test(tc, dev_status_asked_again_after_interval);
	tcase_add_test(tc, dev_status_known_survives_restart);
	tcase_add_test(tc, dev_status_unknown_after_restart_asked_at_once);
	tcase_add_test(tc, dev_status_no_row_after_restart_asked_at_once);
	tcase_add_test(tc, link_adr_bit_clear_counts_as_unanswered);
	tcase_add_test(tc, link_adr_exactly_max_unanswered_then_backoff);
	tcase_add_test(tc, link_adr_max_unanswered_is_the_setting);
	tcase_add_test(tc, link_adr_not_without_adr_bit_or_setting);
	tcase_add_test(tc, adr_ack_req_gets_a_downlink);
	tcase_add_test(tc, no_kind_sent_more_than_max_unanswered_without_uplink);
	tcase_add_test(tc, link_adr_at_max_tries_across_restart_backs_off);
	tcase_add_test(tc, link_adr_answer_after_restart_applies_nothing);
	tcase_add_test(tc, link_adr_refusal_after_restart_counts);
	tcase_add_test(tc, rx_param_setup_sticky_answers);
	tcase_add_test(tc, rx_param_setup_refused_is_retried);
	tcase_add_test(tc, rx_param_late_answer_in_backoff);
	tcase_add_test(tc, rx_timing_late_answer_in_backoff);
	tcase_add_test(tc, rx_late_answer_in_backoff_after_earlier_confirmation);
	tcase_add_test(tc, rx_param_answer_confirms_what_was_asked);
	tcase_add_test(tc, review_rx_asked_table_full);
	tcase_add_test(tc, rx_timing_answer_after_restart_confirms_what_was_asked);
	tcase_add_test(tc, rx_param_answer_after_restart_confirms_what_was_asked);
	tcase_add_test(tc, rx_answers_after_restart_with_settings_unchanged);
	tcase_add_test(tc, rx_timing_unanswered_across_restart);
	tcase_add_test(tc, rx_timing_repeated_answer_after_restart_holds_new_request);
	tcase_add_test(tc, rx_timing_restart_holds_request_until_uplink);
	tcase_add_test(tc, rx_unknown_last_request_held);
	tcase_add_test(tc, rx_unknown_inflight_timing_released);
	tcase_add_test(tc, rx_unknown_inflight_both_released);
	tcase_add_test(tc, rx_unknown_repeats_counted_after_downlinks);
	tcase_add_test(tc, rx_unknown_repeats_after_downlinks_not_taken);
	tcase_add_test(tc, otaa_device_gets_no_rx_param);
	tcase_add_test(tc, rx_timing_setup_pushed_and_confirmed);
	tcase_add_test(tc, rx_timing_setup_unanswered_backs_off);
	tcase_add_test(tc, rx_timing_default_not_pushed);
	tcase_add_test(tc, new_channel_pushed_confirmed_then_in_link_adr_mask);
	tcase_add_test(tc, new_channel_unconfirmed_not_in_link_adr_mask);
	tcase_add_test(tc, new_channel_refused_backs_off_after_max_unanswered);
	tcase_add_test(tc, deferred_restore_read_at_first_use);
	tcase_add_test(tc, deferred_restore_read_before_windows);
	tcase_add_test(tc, deferred_restore_read_error_keeps_stored);
	tcase_add_test(tc, as923_chmask_default_channels_only);
	tcase_add_test(tc, as923_new_channels_from_2);
	tcase_add_test(tc, us915_mask_resent_on_adr_ack_req);
	tcase_add_test(tc, au915_dwell_floor_per_version);
	tcase_add_test(tc, us915_chmask_without_adr);
	tcase_add_test(tc, us915_chmask_without_adr_refused);
	tcase_add_test(tc, us915_chmask_without_adr_mask_ack_only);
	tcase_add_test(tc, us915_mask_only_answered_with_adr_on);
	tcase_add_test(tc, us915_chmask_keep_1_0_4);
	tcase_add_test(tc, us915_chmask_keep_1_0_4_nb_trans);
	tcase_add_test(tc, us915_chmask_keep_mask_ack_only_refused);
	tcase_add_test(tc, as923_partial_channels_kept);
	tcase_add_test(tc, otaa_rx2_frequency_pushed);
	tcase_add_test(tc, us915_join_mask_confirmed_by_link_adr);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(netmac_suite());
}
