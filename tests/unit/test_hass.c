/* SPDX-License-Identifier: MIT */
/*
 * test_hass.c - Home Assistant discovery and per-field topics, the daemon
 * part (daemon/hass.h) on a recording publisher: what is announced when,
 * announced again, cleared, and what the field topics carry.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/lb_err.h"
#include "daemon/hass.h"
#include "world.h"
#include "tables/devices.h"

#define EUI_A 0x0102030405060708ull
#define EUI_B 0x1112131415161718ull
#define UP_A "application/building/device/0102030405060708/event/up"
#define CFG_A "homeassistant/sensor/0102030405060708/"

static const uint8_t NWK[16] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
				0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
static const uint8_t APP[16] = {0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
				0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22};

/* The modules (world.h). */
static struct world w;
static struct lb_device_conf device_conf(const char *name, const char *app, uint64_t eui,
					 uint32_t addr)
{
	return world_abp(&w, name, app, eui, addr, NWK, APP);
}

/* Two devices: A (office-th) has a manufacturer tag, B (meter); Home
 * Assistant discovery and the field topics on or off, on the recorder. */
static void open_world(bool discovery, bool fields)
{
	struct lb_tag tag = {.key = (char *)"manufacturer", .value = (char *)"Acme"};

	world_base(&w, WORLD_HOLD_NONE);
	struct lb_device_conf conf[2] = {
		device_conf("office-th", "building", EUI_A, 0x26000001),
		device_conf("meter", "building", EUI_B, 0x26000002),
	};
	conf[0].tags = &tag;
	conf[0].n_tags = 1;
	struct hass_opts o = {.discovery = discovery, .prefix = w.cfg.hass_prefix,
			      .publish_fields = fields, .sw_version = "9.9"};
	world_open(&w, conf, 2, &(struct world_opts){.modules = WORLD_HASS, .hass = &o});
}

static void teardown(void)
{
	world_close(&w);
}

static struct lb_device *dev_a(void)
{
	return devices_find_eui(&w.devices, EUI_A);
}

/* hass_seen() with a JSON text (NULL = no object). */
static int seen(struct lb_device *dev, const char *json, int64_t now_ms)
{
	struct json_object *o = json ? json_tokener_parse(json) : NULL;
	if (json)
		ck_assert_ptr_nonnull(o);
	int rc = hass_seen(&w.hass, dev, o, now_ms);
	json_object_put(o);
	return rc;
}

static size_t count_topic(const char *prefix)
{
	size_t n = 0;
	for (size_t i = 0; i < w.sink.n; i++)
		n += strncmp(w.sink.m[i].topic, prefix, strlen(prefix)) == 0;
	return n;
}

/* The last message on exactly this topic, or NULL. */
static const struct rec_msg *last_on(const char *topic)
{
	for (size_t i = w.sink.n; i > 0; i--)
		if (strcmp(w.sink.m[i - 1].topic, topic) == 0)
			return &w.sink.m[i - 1];
	return NULL;
}

static struct json_object *config_of(const char *topic)
{
	const struct rec_msg *m = last_on(topic);
	ck_assert_msg(m != NULL, "nothing on %s", topic);
	ck_assert(m->retain);
	struct json_object *o = json_tokener_parse(m->payload);
	ck_assert_ptr_nonnull(o);
	return o;
}

static const char *str_at(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static void sink_reset(void)
{
	rec_sink_free(&w.sink);
}

#define LPP "{\"temperatureSensor\": {\"1\": 21.5}, \"humiditySensor\": {\"1\": 40.0}}"

/* A with three fields (two, then door_open at t_door), B with one. */
static void seen_a_and_b(int64_t t_door)
{
	ck_assert_int_eq(seen(dev_a(), LPP, 1000), LB_OK);
	ck_assert_int_eq(seen(dev_a(), "{\"door_open\": true}", t_door), LB_OK);
	ck_assert_int_eq(seen(devices_find_eui(&w.devices, EUI_B), "{\"energy\": 1}", 1000),
			 LB_OK);
}

/* The configuration now holds only B. */
static void reload_only_b(void)
{
	struct lb_device_conf only_b = device_conf("meter", "building", EUI_B, 0x26000002);

	ck_assert_int_eq(devices_reload(&w.devices, &only_b, 1), LB_OK);
}

/* The sink holds A's 3 configs, 3 field topics and 3 diagnostics, each
 * cleared (an empty retained message), and nothing else. */
static void assert_a_cleared(void)
{
	ck_assert_uint_eq(w.sink.n, 9);
	for (size_t i = 0; i < w.sink.n; i++) {
		ck_assert_uint_eq(w.sink.m[i].len, 0);
		ck_assert(w.sink.m[i].retain);
		ck_assert_ptr_nonnull(strstr(w.sink.m[i].topic, "0102030405060708"));
	}
	ck_assert_ptr_nonnull(last_on("homeassistant/binary_sensor/0102030405060708/door_open/config"));
	ck_assert_ptr_nonnull(last_on(CFG_A "temperatureSensor_1/config"));
	ck_assert_ptr_nonnull(last_on(CFG_A "link-rssi/config"));
	ck_assert_ptr_nonnull(
		last_on("application/building/device/0102030405060708/object/humiditySensor_1"));
}

START_TEST(test_announce_once)
{
	open_world(true, false);
	ck_assert_int_eq(seen(dev_a(), LPP, 1000), LB_OK);
	/* three link diagnostics and two fields, all retained */
	ck_assert_uint_eq(w.sink.n, 5);
	for (size_t i = 0; i < w.sink.n; i++)
		ck_assert(w.sink.m[i].retain);
	ck_assert_ptr_nonnull(last_on(CFG_A "link-rssi/config"));
	ck_assert_ptr_nonnull(last_on(CFG_A "link-snr/config"));
	ck_assert_ptr_nonnull(last_on(CFG_A "last-seen/config"));

	struct json_object *c = config_of(CFG_A "temperatureSensor_1/config");
	ck_assert_str_eq(str_at(c, "state_topic"), UP_A);
	ck_assert_str_eq(str_at(c, "availability_topic"), "lorabridge/lorabridge/state");
	ck_assert_str_eq(str_at(c, "device_class"), "temperature");
	ck_assert_str_eq(str_at(c, "unique_id"), "lorabridge_0102030405060708_temperatureSensor_1");
	ck_assert_ptr_null(str_at(c, "expire_after"));    /* one up event: no interval yet */
	struct json_object *d;
	ck_assert(json_object_object_get_ex(c, "device", &d));
	ck_assert_str_eq(str_at(d, "name"), "office-th");
	ck_assert_str_eq(str_at(d, "manufacturer"), "Acme");
	json_object_put(c);
	c = config_of(CFG_A "last-seen/config");
	ck_assert_str_eq(str_at(c, "entity_category"), "diagnostic");
	json_object_put(c);

	/* the second up event measures the interval (60 s: expire_after 180 s)
	 * and announces the fields again with it */
	sink_reset();
	ck_assert_int_eq(seen(dev_a(), LPP, 61000), LB_OK);
	ck_assert_uint_eq(w.sink.n, 2);
	c = config_of(CFG_A "humiditySensor_1/config");
	ck_assert_str_eq(str_at(c, "expire_after"), "180");
	json_object_put(c);

	/* then nothing while the interval stays */
	sink_reset();
	ck_assert_int_eq(seen(dev_a(), LPP, 121000), LB_OK);
	ck_assert_int_eq(seen(dev_a(), LPP, 185000), LB_OK);
	ck_assert_int_eq(seen(dev_a(), NULL, 240000), LB_OK);
	ck_assert_uint_eq(w.sink.n, 0);

	/* a field seen for the first time is announced alone */
	ck_assert_int_eq(seen(dev_a(), "{\"temperatureSensor\": {\"2\": 19.0}}", 300000), LB_OK);
	ck_assert_uint_eq(w.sink.n, 1);
	ck_assert_str_eq(w.sink.m[0].topic, CFG_A "temperatureSensor_2/config");
	ck_assert_uint_eq(w.hass.stats.configs, 8);
	teardown();
}
END_TEST

START_TEST(test_expire_after_follows_interval)
{
	open_world(true, false);
	/* 10 s apart: 3 x 10 s is below the floor */
	ck_assert_int_eq(seen(dev_a(), LPP, 1000), LB_OK);
	ck_assert_int_eq(seen(dev_a(), LPP, 11000), LB_OK);
	struct json_object *c = config_of(CFG_A "temperatureSensor_1/config");
	ck_assert_int_eq(atoi(str_at(c, "expire_after")), HASS_EXPIRE_MIN_S);
	json_object_put(c);

	/* the device slows down to every 20 min: the average climbs, and each
	 * move by more than a quarter is announced, then it settles */
	int64_t t = 11000;
	size_t announcements = 0;
	sink_reset();
	size_t before = 0;
	for (int i = 0; i < 40; i++) {
		t += 1200000;
		ck_assert_int_eq(seen(dev_a(), LPP, t), LB_OK);
		announcements += w.sink.n > before;
		before = w.sink.n;
	}
	ck_assert_uint_gt(announcements, 1);
	ck_assert_uint_lt(announcements, 15);
	ck_assert_uint_eq(w.sink.n, 2 * announcements);
	c = config_of(CFG_A "temperatureSensor_1/config");
	int e = atoi(str_at(c, "expire_after"));
	json_object_put(c);
	/* announced within a quarter of 3 x 20 min */
	ck_assert_int_ge(e * 5, 3600 * 4);
	ck_assert_int_le(e * 3, 3600 * 4);

	/* every other day: bounded */
	for (int i = 0; i < 40; i++) {
		t += 2 * 86400000LL;
		ck_assert_int_eq(seen(dev_a(), LPP, t), LB_OK);
	}
	c = config_of(CFG_A "temperatureSensor_1/config");
	e = atoi(str_at(c, "expire_after"));
	json_object_put(c);
	ck_assert_int_le(e, HASS_EXPIRE_MAX_S);
	ck_assert_int_ge(e * 4, HASS_EXPIRE_MAX_S * 3);
	/* a device heard twice, five days apart, gets the bound itself */
	struct lb_device *b = devices_find_eui(&w.devices, EUI_B);
	ck_assert_int_eq(seen(b, "{\"x\": 1}", 1000), LB_OK);
	ck_assert_int_eq(seen(b, "{\"x\": 1}", 1000 + 5 * 86400000LL), LB_OK);
	c = config_of("homeassistant/sensor/1112131415161718/x/config");
	ck_assert_int_eq(atoi(str_at(c, "expire_after")), HASS_EXPIRE_MAX_S);
	json_object_put(c);
	teardown();
}
END_TEST

START_TEST(test_status_online_announces_again)
{
	char status[PUBLISH_TOPIC_MAX];

	open_world(true, false);
	ck_assert_int_eq(hass_status_topic(&w.hass, status, sizeof(status)), LB_OK);
	ck_assert_str_eq(status, "homeassistant/status");
	ck_assert_int_eq(seen(dev_a(), LPP, 1000), LB_OK);
	ck_assert_int_eq(seen(devices_find_eui(&w.devices, EUI_B), "{\"energy\": 12.5}", 1000),
			 LB_OK);
	ck_assert_uint_eq(w.sink.n, 5 + 4);
	sink_reset();

	ck_assert(hass_on_message(&w.hass, &w.devices, status, "offline", 7));
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert(!hass_on_message(&w.hass, &w.devices, "application/x/device/y/command/down", "online", 6));
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert(hass_on_message(&w.hass, &w.devices, status, "online", 6));
	/* Announced as the MQTT queue has room (the bridge's timer): one device
	 * takes its whole turn even beyond the room; nothing while no room. */
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert(hass_announce_more(&w.hass, 0));
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert(hass_announce_more(&w.hass, 1));
	ck_assert_uint_eq(w.sink.n, 5);
	ck_assert(!hass_announce_more(&w.hass, 100));
	ck_assert_uint_eq(w.sink.n, 9);
	ck_assert(!hass_announce_more(&w.hass, 100));
	ck_assert_uint_eq(w.sink.n, 9);
	ck_assert_uint_eq(count_topic("homeassistant/sensor/1112131415161718/"), 4);
	struct json_object *c = config_of("homeassistant/sensor/1112131415161718/energy/config");
	ck_assert_str_eq(str_at(c, "state_class"), "total_increasing");
	json_object_put(c);
	teardown();
}
END_TEST

/* A reload during the paced re-announcement that removes a device already
 * announced: the one behind it, moved down, is still announced. */
START_TEST(test_sync_during_announce)
{
	char status[PUBLISH_TOPIC_MAX];

	open_world(true, false);
	ck_assert_int_eq(hass_status_topic(&w.hass, status, sizeof(status)), LB_OK);
	ck_assert_int_eq(seen(dev_a(), LPP, 1000), LB_OK);
	ck_assert_int_eq(seen(devices_find_eui(&w.devices, EUI_B), "{\"energy\": 12.5}", 1000),
			 LB_OK);
	sink_reset();
	ck_assert(hass_on_message(&w.hass, &w.devices, status, "online", 6));
	ck_assert(hass_announce_more(&w.hass, 1));     /* A announced, B waits */
	reload_only_b();
	ck_assert_int_eq(hass_sync(&w.hass, &w.devices), LB_OK);
	sink_reset();
	ck_assert(!hass_announce_more(&w.hass, 100));
	ck_assert_uint_eq(count_topic("homeassistant/sensor/1112131415161718/"), 4);
	teardown();
}
END_TEST

#define STATUS_A "application/building/device/0102030405060708/event/status"

/* The battery and margin entities come with the device's first status
 * event, read it (not the up event), have no expire_after, are announced
 * again with the others and cleared with the device. */
START_TEST(test_status_entities)
{
	char status[PUBLISH_TOPIC_MAX];

	open_world(true, false);
	ck_assert_int_eq(seen(dev_a(), LPP, 1000), LB_OK);
	sink_reset();
	ck_assert_int_eq(hass_status_seen(&w.hass, dev_a()), LB_OK);
	ck_assert_uint_eq(w.sink.n, 2);
	struct json_object *c = config_of(CFG_A "status-battery/config");
	ck_assert_str_eq(str_at(c, "state_topic"), STATUS_A);
	ck_assert_str_eq(str_at(c, "device_class"), "battery");
	ck_assert_str_eq(str_at(c, "unit_of_measurement"), "%");
	ck_assert_str_eq(str_at(c, "state_class"), "measurement");
	ck_assert_str_eq(str_at(c, "unique_id"), "lorabridge_0102030405060708_status-battery");
	ck_assert_ptr_nonnull(strstr(str_at(c, "value_template"), "value_json.batteryLevel"));
	ck_assert_ptr_nonnull(strstr(str_at(c, "value_template"), "batteryLevelUnavailable"));
	ck_assert_ptr_null(str_at(c, "entity_category"));
	ck_assert_ptr_null(str_at(c, "expire_after"));
	json_object_put(c);
	c = config_of(CFG_A "status-margin/config");
	ck_assert_str_eq(str_at(c, "state_topic"), STATUS_A);
	ck_assert_str_eq(str_at(c, "entity_category"), "diagnostic");
	ck_assert_str_eq(str_at(c, "unit_of_measurement"), "dB");
	ck_assert_ptr_nonnull(strstr(str_at(c, "value_template"), "value_json.margin"));
	json_object_put(c);

	/* once; a measured interval re-announces the fields only */
	sink_reset();
	ck_assert_int_eq(hass_status_seen(&w.hass, dev_a()), LB_OK);
	ck_assert_int_eq(seen(dev_a(), LPP, 61000), LB_OK);
	ck_assert_uint_eq(w.sink.n, 2);
	ck_assert_uint_eq(count_topic(CFG_A "status-"), 0);

	/* Home Assistant online: every entity, status ones included */
	sink_reset();
	ck_assert_int_eq(hass_status_topic(&w.hass, status, sizeof(status)), LB_OK);
	ck_assert(hass_on_message(&w.hass, &w.devices, status, "online", 6));
	ck_assert(!hass_announce_more(&w.hass, 100));
	ck_assert_uint_eq(w.sink.n, 3 + 2 + 2);
	c = config_of(CFG_A "status-battery/config");
	ck_assert_ptr_null(str_at(c, "expire_after"));
	json_object_put(c);

	/* a device whose status comes before any up event gets only those */
	sink_reset();
	ck_assert_int_eq(hass_status_seen(&w.hass, devices_find_eui(&w.devices, EUI_B)), LB_OK);
	ck_assert_uint_eq(w.sink.n, 2);
	ck_assert_uint_eq(count_topic("homeassistant/sensor/1112131415161718/status-"), 2);

	/* removed: cleared with its diagnostics and fields */
	sink_reset();
	reload_only_b();
	ck_assert_int_eq(hass_sync(&w.hass, &w.devices), LB_OK);
	ck_assert_uint_eq(w.sink.n, 3 + 2 + 2);
	const struct rec_msg *m = last_on(CFG_A "status-battery/config");
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->len, 0);
	ck_assert_ptr_nonnull(last_on(CFG_A "status-margin/config"));
	teardown();

	/* without discovery (fields only): nothing */
	open_world(false, true);
	ck_assert_int_eq(hass_status_seen(&w.hass, dev_a()), LB_OK);
	ck_assert_uint_eq(w.sink.n, 0);
	teardown();
}
END_TEST

START_TEST(test_removal_clears)
{
	open_world(true, true);
	seen_a_and_b(2000);
	ck_assert_ptr_nonnull(last_on("homeassistant/binary_sensor/0102030405060708/door_open/config"));
	sink_reset();

	/* the reload drops A: its configs and field topics are cleared, B stays */
	reload_only_b();
	ck_assert_int_eq(hass_sync(&w.hass, &w.devices), LB_OK);
	assert_a_cleared();
	ck_assert_uint_eq(w.hass.n, 1);
	ck_assert_uint_eq(w.hass.stats.cleared, 9);

	/* B still known: no announcement at its next up event */
	sink_reset();
	ck_assert_int_eq(seen(devices_find_eui(&w.devices, EUI_B), "{\"energy\": 2}", 61000),
			 LB_OK);
	ck_assert_ptr_null(last_on("homeassistant/sensor/1112131415161718/link-rssi/config"));
	teardown();
}
END_TEST

START_TEST(test_rename_and_application_change)
{
	open_world(true, false);
	ck_assert_int_eq(seen(dev_a(), LPP, 1000), LB_OK);
	sink_reset();

	/* renamed: announced again under the new name */
	struct lb_device_conf c[2];
	c[0] = device_conf("office-east", "building", EUI_A, 0x26000001);
	c[1] = device_conf("meter", "building", EUI_B, 0x26000002);
	ck_assert_int_eq(devices_reload(&w.devices, c, 2), LB_OK);
	ck_assert_int_eq(hass_sync(&w.hass, &w.devices), LB_OK);
	ck_assert_uint_eq(w.sink.n, 5);
	struct json_object *cfg = config_of(CFG_A "temperatureSensor_1/config"), *d;
	ck_assert(json_object_object_get_ex(cfg, "device", &d));
	ck_assert_str_eq(str_at(d, "name"), "office-east");
	ck_assert_str_eq(str_at(d, "manufacturer"), "lorabridge");   /* the tag is gone */
	json_object_put(cfg);
	sink_reset();

	/* another application: its state topic changes, so it is cleared and
	 * announced afresh at its next up event */
	c[0] = device_conf("office-east", "campus", EUI_A, 0x26000001);
	ck_assert_int_eq(devices_reload(&w.devices, c, 2), LB_OK);
	ck_assert_int_eq(hass_sync(&w.hass, &w.devices), LB_OK);
	ck_assert_uint_eq(w.sink.n, 5);
	ck_assert_uint_eq(w.sink.m[0].len, 0);
	sink_reset();
	ck_assert_int_eq(seen(dev_a(), LPP, 2000), LB_OK);
	ck_assert_uint_eq(w.sink.n, 5);
	cfg = config_of(CFG_A "temperatureSensor_1/config");
	ck_assert_str_eq(str_at(cfg, "state_topic"),
			 "application/campus/device/0102030405060708/event/up");
	json_object_put(cfg);
	teardown();
}
END_TEST

START_TEST(test_field_topics)
{
	open_world(false, true);
	ck_assert_int_eq(seen(dev_a(), "{\"temperature\": 21.5, \"door_open\": true,"
				       " \"label\": \"kitchen\", \"n\": null, \"v\": [1, 2]}", 1000),
			 LB_OK);
	ck_assert_uint_eq(w.sink.n, 5);
	const struct rec_msg *m =
		last_on("application/building/device/0102030405060708/object/temperature");
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->payload, "21.5");
	ck_assert(m->retain);
	ck_assert_str_eq(last_on("application/building/device/0102030405060708/object/door_open")
			 ->payload, "true");
	ck_assert_str_eq(last_on("application/building/device/0102030405060708/object/label")
			 ->payload, "kitchen");
	ck_assert_str_eq(last_on("application/building/device/0102030405060708/object/v_1")
			 ->payload, "2");
	/* no discovery: no config, and nothing without an object */
	ck_assert_uint_eq(count_topic("homeassistant/"), 0);
	sink_reset();
	ck_assert_int_eq(seen(dev_a(), NULL, 2000), LB_OK);
	ck_assert_uint_eq(w.sink.n, 0);
	/* every up event with an object publishes its values */
	ck_assert_int_eq(seen(dev_a(), "{\"temperature\": 22}", 3000), LB_OK);
	ck_assert_uint_eq(w.sink.n, 1);
	ck_assert_str_eq(w.sink.m[0].payload, "22");
	ck_assert_uint_eq(w.hass.stats.values, 6);
	teardown();
}
END_TEST

START_TEST(test_disabled_does_nothing)
{
	open_world(false, false);
	ck_assert(!hass_enabled(&w.hass));
	ck_assert_int_eq(seen(dev_a(), LPP, 1000), LB_OK);
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_uint_eq(w.hass.n, 0);
	char status[64];
	ck_assert_int_eq(hass_status_topic(&w.hass, status, sizeof(status)), LB_ERR_STATE);
	ck_assert(!hass_on_message(&w.hass, &w.devices, "homeassistant/status", "online", 6));
	teardown();
}
END_TEST

START_TEST(test_field_limit)
{
	char json[4096];
	int n = snprintf(json, sizeof(json), "{");

	for (int i = 0; i < HASS_FIELDS_MAX + 6; i++)
		n += snprintf(json + n, sizeof(json) - (size_t)n, "%s\"f%d\": %d", i ? ", " : "", i, i);
	snprintf(json + n, sizeof(json) - (size_t)n, "}");
	open_world(true, false);
	ck_assert_int_eq(seen(dev_a(), json, 1000), LB_OK);
	ck_assert_uint_eq(w.sink.n, HASS_N_DIAG + HASS_FIELDS_MAX);
	ck_assert_ptr_nonnull(last_on(CFG_A "f63/config"));
	ck_assert_ptr_null(last_on(CFG_A "f64/config"));
	ck_assert(w.hass.dev[0]->full_logged);
	sink_reset();
	ck_assert_int_eq(seen(dev_a(), json, 1000), LB_OK);
	ck_assert_uint_eq(w.sink.n, 0);
	teardown();
}
END_TEST

START_TEST(test_publish_failure_retried)
{
	open_world(true, true);
	w.sink.refuse = LB_ERR_NOMEM;
	ck_assert_int_eq(seen(dev_a(), LPP, 1000), LB_ERR_NOMEM);
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_uint_eq(w.hass.stats.errors, 3 + 2 + 2);
	/* the broker takes messages again: the next up event announces all */
	w.sink.refuse = LB_OK;
	ck_assert_int_eq(seen(dev_a(), LPP, 2000), LB_OK);
	ck_assert_ptr_nonnull(last_on(CFG_A "link-rssi/config"));
	ck_assert_ptr_nonnull(last_on(CFG_A "temperatureSensor_1/config"));
	ck_assert_ptr_nonnull(
		last_on("application/building/device/0102030405060708/object/temperatureSensor_1"));
	teardown();
}
END_TEST

START_TEST(test_not_an_object)
{
	open_world(true, false);
	ck_assert_int_eq(seen(dev_a(), "[1, 2]", 1000), LB_ERR_INVAL);
	/* the diagnostics still came */
	ck_assert_uint_eq(w.sink.n, HASS_N_DIAG);
	ck_assert_int_eq(hass_seen(&w.hass, NULL, NULL, 0), LB_ERR_INVAL);
	teardown();
}
END_TEST

START_TEST(test_many_devices)
{
	enum { N = 200 };
	struct lb_device_conf *c = calloc(N, sizeof(*c));
	char (*names)[16] = calloc(N, sizeof(*names));

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(names);
	open_world(false, true);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d", i);
		c[i] = device_conf(names[i], "building", 0x7000000000000000ull + (uint64_t)i,
				   0x27000000u + (uint32_t)i);
	}
	ck_assert_int_eq(devices_reload(&w.devices, c, N), LB_OK);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			struct lb_device *d = devices_find_eui(&w.devices, 0x7000000000000000ull + (uint64_t)i);
			ck_assert_int_eq(seen(d, "{\"x\": 1}", 1000 + round), LB_OK);
			ck_assert_uint_eq(w.sink.n, 1);
			sink_reset();
		}
	}
	ck_assert_uint_eq(w.hass.n, N);
	/* half leave */
	ck_assert_int_eq(devices_reload(&w.devices, c, N / 2), LB_OK);
	ck_assert_int_eq(hass_sync(&w.hass, &w.devices), LB_OK);
	ck_assert_uint_eq(w.sink.n, N / 2);
	ck_assert_uint_eq(w.hass.n, N / 2);
	sink_reset();
	for (int i = 0; i < N / 2; i++) {
		struct lb_device *d = devices_find_eui(&w.devices, 0x7000000000000000ull + (uint64_t)i);
		ck_assert_int_eq(seen(d, "{\"x\": 2}", 5000), LB_OK);
		sink_reset();
	}
	ck_assert_uint_eq(w.hass.n, N / 2);
	teardown();
	free(c);
	free(names);
}
END_TEST

/* Link diagnostics come with a device's first up event even without an
 * object (no codec): link quality is worth seeing on its own. */
START_TEST(test_diagnostics_without_object)
{
	open_world(true, true);
	ck_assert_int_eq(seen(dev_a(), NULL, 1000), LB_OK);
	ck_assert_uint_eq(w.sink.n, HASS_N_DIAG);
	ck_assert_ptr_nonnull(last_on(CFG_A "link-rssi/config"));
	ck_assert_ptr_nonnull(last_on(CFG_A "link-snr/config"));
	ck_assert_ptr_nonnull(last_on(CFG_A "last-seen/config"));
	/* and not again, nor a field topic, while no object comes */
	sink_reset();
	ck_assert_int_eq(seen(dev_a(), NULL, 61000), LB_OK);
	ck_assert_uint_eq(w.sink.n, 0);
	teardown();
}
END_TEST

/* What an earlier run left on the broker, replayed as the broker sends
 * retained messages to a new subscription. */
static struct rec_sink earlier;

static size_t replay(void)
{
	size_t consumed = 0;
	for (size_t i = 0; i < earlier.n; i++)
		consumed += hass_on_message(&w.hass, &w.devices, earlier.m[i].topic,
					    earlier.m[i].payload, earlier.m[i].len);
	return consumed;
}

/* A new run whose configuration holds only B (the bridge restarted). */
static void restart_with_b_only(bool discovery, bool fields)
{
	hass_free(&w.hass);
	reload_only_b();
	struct hass_opts o = {.discovery = discovery, .prefix = w.cfg.hass_prefix,
			      .publish_fields = fields, .sw_version = "9.9"};
	ck_assert_int_eq(hass_init(&w.hass, &w.pub, &o), LB_OK);
	sink_reset();
}

START_TEST(test_sweep_filters)
{
	char f[PUBLISH_TOPIC_MAX];

	open_world(true, true);
	ck_assert_int_eq(hass_sweep_filter(&w.hass, HASS_SWEEP_SENSOR, f, sizeof(f)), LB_OK);
	ck_assert_str_eq(f, "homeassistant/sensor/+/+/config");
	ck_assert_int_eq(hass_sweep_filter(&w.hass, HASS_SWEEP_BINARY, f, sizeof(f)), LB_OK);
	ck_assert_str_eq(f, "homeassistant/binary_sensor/+/+/config");
	ck_assert_int_eq(hass_sweep_filter(&w.hass, HASS_SWEEP_FIELDS, f, sizeof(f)), LB_OK);
	ck_assert_str_eq(f, "application/+/device/+/object/+");
	ck_assert_int_eq(hass_sweep_filter(&w.hass, HASS_SWEEP_SENSOR, f, 20), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(hass_sweep_filter(&w.hass, HASS_N_SWEEP, f, sizeof(f)), LB_ERR_INVAL);
	teardown();
	/* the fields' only when publish_fields is on; the configs' with
	 * discovery off only when asked (an earlier run had it on): an install
	 * without discovery receives no other program's configs */
	open_world(false, true);
	ck_assert_int_eq(hass_sweep_filter(&w.hass, HASS_SWEEP_SENSOR, f, sizeof(f)),
			 LB_ERR_STATE);
	ck_assert_int_eq(hass_sweep_filter(&w.hass, HASS_SWEEP_BINARY, f, sizeof(f)),
			 LB_ERR_STATE);
	ck_assert_int_eq(hass_sweep_filter(&w.hass, HASS_SWEEP_FIELDS, f, sizeof(f)), LB_OK);
	hass_sweep_when_off(&w.hass, true);
	ck_assert_int_eq(hass_sweep_filter(&w.hass, HASS_SWEEP_SENSOR, f, sizeof(f)), LB_OK);
	ck_assert_str_eq(f, "homeassistant/sensor/+/+/config");
	teardown();
	open_world(true, false);
	ck_assert_int_eq(hass_sweep_filter(&w.hass, HASS_SWEEP_BINARY, f, sizeof(f)), LB_OK);
	ck_assert_int_eq(hass_sweep_filter(&w.hass, HASS_SWEEP_FIELDS, f, sizeof(f)), LB_ERR_STATE);
	teardown();
}
END_TEST

/* A device removed while the bridge was stopped: its retained configs and
 * field topics, read back at the next start, are cleared; B's stay. */
START_TEST(test_sweep_clears_earlier_run)
{
	open_world(true, true);
	seen_a_and_b(1000);
	/* each topic once (no interval measured yet): A 3 diagnostics, 3
	 * configs, 3 field topics; B 3 + 1 + 1 */
	ck_assert_uint_eq(w.sink.n, 9 + 5);
	earlier = w.sink;
	memset(&w.sink, 0, sizeof(w.sink));

	restart_with_b_only(true, true);
	ck_assert_uint_eq(replay(), earlier.n);
	assert_a_cleared();
	ck_assert_uint_eq(w.hass.stats.swept, 9);
	ck_assert_uint_eq(w.hass.n, 0);          /* nothing remembered by the sweep */

	/* the clears come back (empty): nothing more; a second sweep neither */
	struct rec_sink cleared = w.sink;
	memset(&w.sink, 0, sizeof(w.sink));
	for (size_t i = 0; i < cleared.n; i++)
		ck_assert(hass_on_message(&w.hass, &w.devices, cleared.m[i].topic, "", 0));
	ck_assert_uint_eq(w.sink.n, 0);
	rec_sink_free(&cleared);
	rec_sink_free(&earlier);
	teardown();
}
END_TEST

/* Discovery turned off: every config of ours from the earlier run is
 * cleared, the configured device's (B: 3 diagnostics, 1 field) too; B's
 * field topic stays (publish_fields still on), A's goes (not configured). */
START_TEST(test_sweep_discovery_off)
{
	open_world(true, true);
	seen_a_and_b(1000);
	ck_assert_uint_eq(w.sink.n, 9 + 5);
	earlier = w.sink;
	memset(&w.sink, 0, sizeof(w.sink));

	restart_with_b_only(false, true);
	hass_sweep_when_off(&w.hass, true); /* bridge.c: discovery was on */
	ck_assert_uint_eq(replay(), earlier.n);
	ck_assert_uint_eq(w.hass.stats.swept, 9 + 4);
	ck_assert_uint_eq(w.sink.n, 9 + 4);
	size_t of_b = 0;
	for (size_t i = 0; i < w.sink.n; i++) {
		const char *t = w.sink.m[i].topic;
		ck_assert_uint_eq(w.sink.m[i].len, 0);
		if (strstr(t, "1112131415161718")) {
			ck_assert_ptr_null(strstr(t, "/object/"));
			of_b++;
		}
	}
	ck_assert_uint_eq(of_b, 4);
	rec_sink_free(&earlier);
	teardown();
}
END_TEST

/* Only what this bridge wrote is cleared. */
START_TEST(test_sweep_leaves_others)
{
	static const char zigbee[] =
		"{\"name\":\"t\",\"uniq_id\":\"lorabridge_0102030405060708_t\","
		"\"avty_t\":\"lorabridge/lorabridge/state\",\"o\":{\"name\":\"zigbee2mqtt\"}}";
	static const char other_bridge[] =
		"{\"unique_id\":\"lorabridge_0102030405060708_t\","
		"\"availability_topic\":\"lorabridge/other/state\",\"origin\":{\"name\":\"lorabridge\"}}";
	static const char abbreviated[] =
		"{\"uniq_id\":\"lorabridge_0102030405060708_t\","
		"\"avty_t\":\"lorabridge/lorabridge/state\",\"o\":{\"name\":\"lorabridge\"}}";
	static const char of_b[] =
		"{\"uniq_id\":\"lorabridge_1112131415161718_t\","
		"\"avty_t\":\"lorabridge/lorabridge/state\",\"o\":{\"name\":\"lorabridge\"}}";

	open_world(true, true);
	restart_with_b_only(true, true);
	ck_assert(hass_on_message(&w.hass, &w.devices, CFG_A "t/config", zigbee, strlen(zigbee)));
	ck_assert(hass_on_message(&w.hass, &w.devices, CFG_A "t/config", other_bridge,
				  strlen(other_bridge)));
	ck_assert(hass_on_message(&w.hass, &w.devices, CFG_A "t/config", "not json", 8));
	/* B is configured: even a config of ours stays */
	ck_assert(hass_on_message(&w.hass, &w.devices, "homeassistant/sensor/1112131415161718/t/config",
				  of_b, strlen(of_b)));
	/* a B field topic under its application stays */
	ck_assert(hass_on_message(&w.hass, &w.devices,
				  "application/building/device/1112131415161718/object/x", "1", 1));
	/* not a sweep's shape: not consumed */
	ck_assert(!hass_on_message(&w.hass, &w.devices,
				   "homeassistant/sensor/0102030405060708/t/state", "1", 1));
	ck_assert(!hass_on_message(&w.hass, &w.devices,
				   "application/building/device/0102030405060708/command/down",
				   "{}", 2));
	ck_assert_uint_eq(w.sink.n, 0);

	/* abbreviated keys are ours; B's field topic under another application
	 * (it moved) goes, like A's under any */
	ck_assert(hass_on_message(&w.hass, &w.devices, CFG_A "t/config", abbreviated,
				  strlen(abbreviated)));
	ck_assert(hass_on_message(&w.hass, &w.devices,
				  "application/old/device/1112131415161718/object/x", "1", 1));
	ck_assert(hass_on_message(&w.hass, &w.devices,
				  "application/x/device/0102030405060708/object/x", "1", 1));
	ck_assert_uint_eq(w.sink.n, 3);
	ck_assert_str_eq(w.sink.m[0].topic, CFG_A "t/config");
	ck_assert_str_eq(w.sink.m[1].topic, "application/old/device/1112131415161718/object/x");
	ck_assert_uint_eq(w.hass.stats.swept, 3);

	/* a DevEUI not written as the bridge writes it is no device of ours */
	sink_reset();
	ck_assert(hass_on_message(&w.hass, &w.devices,
				  "application/x/device/010203040506070A/object/x", "1", 1));
	ck_assert(hass_on_message(&w.hass, &w.devices, "application/x/device/dev1/object/x", "1",
				  1));
	ck_assert_uint_eq(w.sink.n, 0);
	/* a refused clear is counted, not remembered */
	w.sink.refuse = LB_ERR_NOMEM;
	ck_assert(hass_on_message(&w.hass, &w.devices, CFG_A "t/config", abbreviated,
				  strlen(abbreviated)));
	ck_assert_uint_eq(w.hass.stats.errors, 1);
	ck_assert_uint_eq(w.hass.stats.swept, 3);
	teardown();
}
END_TEST

/* The sweeps follow the features: field topics are left alone without
 * publish_fields, configs without discovery unless hass_sweep_when_off(). */
START_TEST(test_sweep_follows_features)
{
	static const char cfg[] =
		"{\"uniq_id\":\"lorabridge_0102030405060708_t\","
		"\"avty_t\":\"lorabridge/lorabridge/state\",\"o\":{\"name\":\"lorabridge\"}}";

	open_world(true, false);
	restart_with_b_only(true, false);
	ck_assert(!hass_on_message(&w.hass, &w.devices,
				   "application/x/device/0102030405060708/object/x", "1", 1));
	ck_assert(hass_on_message(&w.hass, &w.devices, CFG_A "t/config", cfg, strlen(cfg)));
	ck_assert_uint_eq(w.sink.n, 1);
	/* discovery off: configs are not ours to read (never discovery)... */
	restart_with_b_only(false, true);
	ck_assert(!hass_on_message(&w.hass, &w.devices, CFG_A "t/config", cfg, strlen(cfg)));
	ck_assert_uint_eq(w.sink.n, 0);
	/* ... unless an earlier run had it on: a config of ours is cleared */
	hass_sweep_when_off(&w.hass, true);
	ck_assert(hass_on_message(&w.hass, &w.devices, CFG_A "t/config", cfg, strlen(cfg)));
	ck_assert_uint_eq(w.sink.n, 1);
	ck_assert(hass_on_message(&w.hass, &w.devices,
				  "application/x/device/0102030405060708/object/x", "1", 1));
	ck_assert_uint_eq(w.sink.n, 2);
	ck_assert(!hass_on_message(&w.hass, NULL, CFG_A "t/config", cfg, strlen(cfg)));
	teardown();
}
END_TEST

static Suite *hass_suite(void)
{
	Suite *s = suite_create("hass");
	TCase *tc = tcase_create("core");

	world_fixtures(tc, "test_hass", NULL, NULL);
	tcase_add_test(tc, test_announce_once);
	tcase_add_test(tc, test_expire_after_follows_interval);
	tcase_add_test(tc, test_status_online_announces_again);
	tcase_add_test(tc, test_sync_during_announce);
	tcase_add_test(tc, test_status_entities);
	tcase_add_test(tc, test_removal_clears);
	tcase_add_test(tc, test_rename_and_application_change);
	tcase_add_test(tc, test_field_topics);
	tcase_add_test(tc, test_disabled_does_nothing);
	tcase_add_test(tc, test_field_limit);
	tcase_add_test(tc, test_publish_failure_retried);
	tcase_add_test(tc, test_not_an_object);
	tcase_add_test(tc, test_many_devices);
	tcase_add_test(tc, test_diagnostics_without_object);
	tcase_add_test(tc, test_sweep_filters);
	tcase_add_test(tc, test_sweep_clears_earlier_run);
	tcase_add_test(tc, test_sweep_discovery_off);
	tcase_add_test(tc, test_sweep_leaves_others);
	tcase_add_test(tc, test_sweep_follows_features);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(hass_suite());
}
