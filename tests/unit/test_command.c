/* SPDX-License-Identifier: MIT */
/*
 * test_command.c - downlink commands from MQTT with the I/O edges faked:
 * command_on_message() is called as the MQTT client's on_message callback
 * would; its refusals land in a recording publish_sink, and its queue is a
 * real SQLite store in a mkdtemp() directory under /tmp (removed by an
 * unchecked fixture, run in the parent even when a test fails). The
 * context is wired as bridge.c's handlers_setup() wires it.
 */
#include <check.h>
#include <ctype.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/b64.h"
#include "base/hex.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "config/config.h"
#include "daemon/command.h"
#include "daemon/payload.h"
#include "daemon/devevent.h"
#include "daemon/ids.h"
#include "daemon/publish.h"
#include "daemon/stats.h"
#include "store/store.h"
#include "tables/devices.h"
#include "world.h"

#define DEV_EUI UINT64_C(0x70b3d57ed0000001)
#define DEV_HEX "70b3d57ed0000001"
#define FARM_EUI UINT64_C(0x70b3d57ed0000002)
#define FARM_HEX "70b3d57ed0000002"
#define UNKNOWN_HEX "70b3d57ed00000ff"
#define LPP_EUI UINT64_C(0x70b3d57ed0000003)
#define LPP_HEX "70b3d57ed0000003"

#define CMD_TOPIC "application/default/device/" DEV_HEX "/command/down"
#define LOG_TOPIC "application/default/device/" DEV_HEX "/event/log"

static const uint8_t KEY_X[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
				  0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};
static const uint8_t KEY_Y[16] = {0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
				  0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};

/* ------------------------------------------------------------ the world */

/* The modules (world.h) and, wired from them here, the command handler. */
static struct world w;
static struct {
	struct commands c;
	char script[FAKE_DIR_MAX + 16];
} t;

/* Two devices in two applications, the second with a JavaScript codec;
 * the store holds the queue. */
static void setup(void)
{
	world_base(&w, WORLD_HOLD_NONE);
	struct lb_device_conf conf[3] = {
		world_abp(&w, "sensor", "default", DEV_EUI, 0x26011234, KEY_X, KEY_Y),
		world_abp(&w, "tractor", "farm", FARM_EUI, 0x26015678, KEY_X, KEY_Y),
		world_abp(&w, "display", "default", LPP_EUI, 0x2601abcd, KEY_X, KEY_Y),
	};
	conf[2].codec = LB_CODEC_CAYENNELPP;
	/* The tractor's codec encodes {"speed": n} as one byte on FPort 5,
	 * {"raw": n} as one byte without an fPort. */
	memset(&t, 0, sizeof(t));
	snprintf(t.script, sizeof(t.script), "%s/tractor.js", w.dir);
	testutil_write_file(t.script,
			    "function encodeDownlink(input) {\n"
			    "  if (input.data.raw !== undefined) return {bytes: [input.data.raw]};\n"
			    "  if (input.data.speed > 255) return {errors: ['speed too high']};\n"
			    "  return {bytes: [input.data.speed], fPort: 5};\n"
			    "}\n");
	conf[1].codec = LB_CODEC_JS;
	conf[1].codec_script = t.script;
	world_open(&w, conf, 3, &(struct world_opts){.modules = WORLD_STORE | WORLD_PAYLOADS});
	/* As handlers_setup(). */
	t.c = (struct commands){
		.devices = &w.devices, .region = w.region, .store = &w.store, .pub = &w.pub,
		.ids = &w.ids, .ev = &w.ev, .stats = &w.stats, .payloads = &w.payloads,
		.queue_limit = w.cfg.downlink_queue_limit,
	};
}

static void teardown(void)
{
	commands_free(&t.c);
	world_close(&w);
}

/* A queue item id as given (upper case) and as kept (lower case). */
#define JOB_1_UPPER "6BA7B811-9DAD-11D1-80B4-00C04FD430C8"
#define JOB_1 "6ba7b811-9dad-11d1-80b4-00c04fd430c8"

/* ------------------------------------------------------------ helpers */

static void command(const char *topic, const char *json)
{
	command_on_message(&t.c, topic, json, strlen(json));
}

static size_t queued(uint64_t eui)
{
	size_t n = 99;
	ck_assert_int_eq(store_downlink_count(&w.store, eui, &n), LB_OK);
	return n;
}

/* Exactly one message so far, a `log` event on topic with this code;
 * returns it parsed (the caller puts it). */
static json_object *only_log(const char *topic, const char *code)
{
	ck_assert_uint_eq(w.sink.n, 1);
	ck_assert_str_eq(w.sink.m[0].topic, topic);
	ck_assert(!w.sink.m[0].retain);
	json_object *o = json_tokener_parse(w.sink.m[0].payload);
	ck_assert_msg(o != NULL, "not JSON: %s", w.sink.m[0].payload);
	ck_assert_str_eq(str_of(o, "code"), code);
	ck_assert_str_eq(str_of(o, "level"), "ERROR");
	ck_assert_uint_eq(w.stats.log_events, 1);
	ck_assert_uint_eq(w.stats.commands_refused, 1);
	return o;
}

/* Refused on the test device's log topic, with its deviceInfo; nothing queued. */
static void assert_refused(const char *code)
{
	json_object *o = only_log(LOG_TOPIC, code);
	json_object *info = NULL;
	ck_assert(json_object_object_get_ex(o, "deviceInfo", &info));
	ck_assert_str_eq(str_of(info, "devEui"), DEV_HEX);
	ck_assert_str_eq(str_of(info, "deviceName"), "sensor");
	json_object_put(o);
	ck_assert_uint_eq(queued(DEV_EUI), 0);
	ck_assert_uint_eq(w.stats.commands, 0);
}

/* ------------------------------------------------------------ tests */

START_TEST(test_valid_command_queued)
{
	struct store_downlink dl;

	command(CMD_TOPIC, "{\"devEui\":\"" DEV_HEX "\",\"confirmed\":true,\"fPort\":10,"
			   "\"data\":\"AQID\"}");
	ck_assert_uint_eq(queued(DEV_EUI), 1);
	ck_assert_uint_eq(w.stats.commands, 1);
	ck_assert_uint_eq(w.stats.commands_refused, 0);
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_int_eq(store_downlink_first(&w.store, DEV_EUI, &dl), LB_OK);
	ck_assert_uint_eq(dl.fport, 10);
	ck_assert(dl.confirmed);
	ck_assert_int_eq(dl.state, STORE_DL_QUEUED);
	ck_assert_uint_eq(dl.len, 3);
	ck_assert_mem_eq(dl.data, "\x01\x02\x03", 3);
	/* No id given: the bridge assigns a UUID. */
	ck_assert_uint_eq(strlen(dl.id), 36);
	ck_assert_int_eq(dl.id[8], '-');
	ck_assert_int_eq(dl.id[14], '4');
	/* Other devices' queues are untouched. */
	ck_assert_uint_eq(queued(FARM_EUI), 0);
}
END_TEST

START_TEST(test_ids_kept_and_unique)
{
	struct store_downlink dl;

	command(CMD_TOPIC, "{\"fPort\":1,\"data\":\"AA==\",\"id\":\"" JOB_1_UPPER "\"}");
	ck_assert_uint_eq(queued(DEV_EUI), 1);
	ck_assert_int_eq(store_downlink_get(&w.store, JOB_1, &dl), LB_OK);
	ck_assert_uint_eq(dl.dev_eui, DEV_EUI);
	ck_assert(!dl.confirmed);
	ck_assert_uint_eq(w.sink.n, 0);
	command(CMD_TOPIC, "{\"fPort\":2,\"data\":\"AQ==\",\"id\":\"" JOB_1 "\"}");
	json_object *o = only_log(LOG_TOPIC, "DUPLICATE_ID");
	json_object_put(o);
	ck_assert_uint_eq(queued(DEV_EUI), 1);
	ck_assert_uint_eq(w.stats.commands, 1);
	/* The first one is unchanged. */
	ck_assert_int_eq(store_downlink_get(&w.store, JOB_1, &dl), LB_OK);
	ck_assert_uint_eq(dl.fport, 1);
}
END_TEST

/* An id that is not a UUID is refused, saying why; nothing is queued. */
START_TEST(test_id_not_uuid_refused)
{
	command(CMD_TOPIC, "{\"fPort\":1,\"data\":\"AA==\",\"id\":\"job-1\"}");
	json_object *o = only_log(LOG_TOPIC, "INVALID_ID");
	ck_assert_str_eq(str_of(o, "description"), "downlink command refused: id is not a UUID");
	json_object_put(o);
	ck_assert_uint_eq(queued(DEV_EUI), 0);
}
END_TEST

/* fPort as a string, URL-safe data and expiresAt, as ChirpStack takes them. */
START_TEST(test_fport_string_expires_at)
{
	struct store_downlink dl;

	command(CMD_TOPIC, "{\"fPort\":\"12\",\"data\":\"-_8\","
			   "\"expiresAt\":\"2024-05-14T11:12:47+02:00\"}");
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_int_eq(store_downlink_first(&w.store, DEV_EUI, &dl), LB_OK);
	ck_assert_uint_eq(dl.fport, 12);
	ck_assert_uint_eq(dl.len, 2);
	ck_assert_mem_eq(dl.data, "\xfb\xff", 2);
	ck_assert(dl.has_expires_at);
	ck_assert_int_eq(dl.expires_at_us, INT64_C(1715677967000000));
}
END_TEST

/* `object` needs the device's codec: without one, refused (never an empty
 * frame in its place). */
START_TEST(test_object_without_codec_refused)
{
	command(CMD_TOPIC, "{\"fPort\":1,\"object\":{\"on\":true}}");
	json_object *o = only_log(LOG_TOPIC, "DOWNLINK_CODEC");
	json_object_put(o);
	ck_assert_uint_eq(queued(DEV_EUI), 0);
}
END_TEST

#define FARM_CMD "application/farm/device/" FARM_HEX "/command/down"
#define FARM_LOG "application/farm/device/" FARM_HEX "/event/log"

/* `object` encoded by the device's encodeDownlink: its bytes and fPort are
 * queued, even beside `data` (ChirpStack encodes the object and sends that);
 * the codec's fPort wins over the command's, as in ChirpStack's encode(). */
START_TEST(test_object_encoded)
{
	struct store_downlink dl;

	command(FARM_CMD, "{\"object\":{\"speed\":42},\"id\":\"" JOB_1 "\"}");
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_int_eq(store_downlink_get(&w.store, JOB_1, &dl), LB_OK);
	ck_assert_uint_eq(dl.fport, 5);
	ck_assert_uint_eq(dl.len, 1);
	ck_assert_uint_eq(dl.data[0], 42);
	ck_assert_uint_eq(w.stats.codec_encoded, 1);
#define JOB_2 "6ba7b812-9dad-11d1-80b4-00c04fd430c8"
#define JOB_3 "6ba7b813-9dad-11d1-80b4-00c04fd430c8"
	command(FARM_CMD, "{\"fPort\":9,\"data\":\"AQI=\",\"object\":{\"speed\":1},"
		"\"id\":\"" JOB_2 "\"}");
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_int_eq(store_downlink_get(&w.store, JOB_2, &dl), LB_OK);
	ck_assert_uint_eq(dl.fport, 5);
	ck_assert_uint_eq(dl.len, 1);
	ck_assert_uint_eq(dl.data[0], 1);
	ck_assert_uint_eq(w.stats.codec_encoded, 2);
	/* the command's fPort when the codec gives none */
	command(FARM_CMD, "{\"fPort\":8,\"object\":{\"raw\":7},\"id\":\"" JOB_3 "\"}");
	ck_assert_int_eq(store_downlink_get(&w.store, JOB_3, &dl), LB_OK);
	ck_assert_uint_eq(dl.fport, 8);
	ck_assert_uint_eq(dl.data[0], 7);
	ck_assert_uint_eq(queued(FARM_EUI), 3);
}
END_TEST

/* A CayenneLPP device's object is encoded as ChirpStack's codec does
 * (cayenne_lpp.rs encode()), on the command's fPort. */
START_TEST(test_object_cayennelpp)
{
	struct store_downlink dl;
	static const uint8_t want[] = {0x03, 0x67, 0x01, 0x10};

	command("application/default/device/" LPP_HEX "/command/down",
		"{\"fPort\":2,\"object\":{\"temperatureSensor\":{\"3\":27.2}},"
		"\"id\":\"" JOB_1 "\"}");
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_int_eq(store_downlink_get(&w.store, JOB_1, &dl), LB_OK);
	ck_assert_uint_eq(dl.fport, 2);
	ck_assert_uint_eq(dl.len, sizeof(want));
	ck_assert_mem_eq(dl.data, want, sizeof(want));
	ck_assert_uint_eq(w.stats.codec_encoded, 1);
	/* not an LPP object: refused with the reason */
	command("application/default/device/" LPP_HEX "/command/down",
		"{\"fPort\":2,\"object\":{\"thermometer\":{\"3\":27.2}}}");
	ck_assert_uint_eq(w.sink.n, 1);
	json_object *o = json_tokener_parse(w.sink.m[0].payload);
	ck_assert_str_eq(str_of(o, "code"), "DOWNLINK_CODEC");
	ck_assert_ptr_nonnull(strstr(str_of(o, "description"), "'thermometer' is not a Cayenne"));
	json_object_put(o);
	/* no fPort: the codec gives none */
	command("application/default/device/" LPP_HEX "/command/down",
		"{\"object\":{\"temperatureSensor\":{\"3\":27.2}}}");
	ck_assert_uint_eq(w.sink.n, 2);
	ck_assert_uint_eq(queued(LPP_EUI), 1);
}
END_TEST

/* Start counting events afresh (only_log() expects exactly one). */
static void forget_events(void)
{
	rec_sink_free(&w.sink);
	w.stats.log_events = 0;
	w.stats.commands_refused = 0;
}

START_TEST(test_object_encode_failures)
{
	command(FARM_CMD, "{\"object\":{\"speed\":300}}");
	json_object *o = only_log(FARM_LOG, "DOWNLINK_CODEC");
	ck_assert_ptr_nonnull(strstr(str_of(o, "description"), "speed too high"));
	json_object_put(o);
	forget_events();
	command(FARM_CMD, "{\"object\":{\"raw\":7}}");
	o = only_log(FARM_LOG, "DOWNLINK_CODEC");
	ck_assert_ptr_nonnull(strstr(str_of(o, "description"), "no fPort"));
	json_object_put(o);
	forget_events();
	/* data beside the object does not stand in for a failed encoding */
	command(FARM_CMD, "{\"fPort\":3,\"data\":\"AQI=\",\"object\":{\"speed\":300}}");
	o = only_log(FARM_LOG, "DOWNLINK_CODEC");
	json_object_put(o);
	ck_assert_uint_eq(queued(FARM_EUI), 0);
}
END_TEST

START_TEST(test_invalid_json)
{
	command(CMD_TOPIC, "{\"fPort\":10,");
	assert_refused("INVALID_JSON");
}
END_TEST

START_TEST(test_not_an_object)
{
	command(CMD_TOPIC, "[1,2,3]");
	assert_refused("INVALID_JSON");
}
END_TEST

START_TEST(test_invalid_fport)
{
	command(CMD_TOPIC, "{\"fPort\":0,\"data\":\"AQID\"}");
	assert_refused("INVALID_FPORT");
}
END_TEST

START_TEST(test_invalid_data)
{
	command(CMD_TOPIC, "{\"fPort\":10,\"data\":\"not base64!\"}");
	assert_refused("INVALID_DATA");
}
END_TEST

START_TEST(test_dev_eui_mismatch)
{
	command(CMD_TOPIC, "{\"devEui\":\"" FARM_HEX "\",\"fPort\":10,\"data\":\"AQID\"}");
	assert_refused("DEV_EUI_MISMATCH");
	ck_assert_uint_eq(queued(FARM_EUI), 0);
}
END_TEST

START_TEST(test_unknown_device)
{
	command("application/default/device/" UNKNOWN_HEX "/command/down",
		"{\"fPort\":10,\"data\":\"AQID\"}");
	/* Said on the unknown device's own topic, without deviceInfo. */
	json_object *o = only_log("application/default/device/" UNKNOWN_HEX "/event/log",
				  "UNKNOWN_DEVICE");
	json_object *info = NULL;
	ck_assert(!json_object_object_get_ex(o, "deviceInfo", &info));
	ck_assert_str_eq(str_of(o, "description"), "downlink command refused: no such device");
	json_object_put(o);
	ck_assert_uint_eq(queued(UINT64_C(0x70b3d57ed00000ff)), 0);
	ck_assert_uint_eq(w.stats.commands, 0);
}
END_TEST

START_TEST(test_device_of_another_application)
{
	/* FARM_EUI exists, but in application "farm", not "default". */
	command("application/default/device/" FARM_HEX "/command/down",
		"{\"fPort\":10,\"data\":\"AQID\"}");
	json_object *o = only_log("application/default/device/" FARM_HEX "/event/log",
				  "UNKNOWN_DEVICE");
	json_object_put(o);
	ck_assert_uint_eq(queued(FARM_EUI), 0);
	/* Its own application's topic works. */
	command("application/farm/device/" FARM_HEX "/command/down",
		"{\"fPort\":10,\"data\":\"AQID\"}");
	ck_assert_uint_eq(queued(FARM_EUI), 1);
	ck_assert_uint_eq(w.sink.n, 1);
}
END_TEST

/* ChirpStack's command topic names the application by its UUID
 * (application/{application_id}/...): {application} takes the
 * applicationId as well as the name, in either case. */
START_TEST(test_application_by_id)
{
	char id[DEVINFO_ID_SIZE], topic[256];

	ck_assert_int_eq(devinfo_application_id("default", id), LB_OK);
	snprintf(topic, sizeof(topic), "application/%s/device/" DEV_HEX "/command/down", id);
	command(topic, "{\"fPort\":10,\"data\":\"AQID\"}");
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_uint_eq(queued(DEV_EUI), 1);
	for (char *p = id; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	snprintf(topic, sizeof(topic), "application/%s/device/" DEV_HEX "/command/down", id);
	command(topic, "{\"fPort\":10,\"data\":\"AQID\"}");
	ck_assert_uint_eq(queued(DEV_EUI), 2);
	ck_assert_uint_eq(w.sink.n, 0);

	/* Another application's UUID: refused, saying why. */
	ck_assert_int_eq(devinfo_application_id("farm", id), LB_OK);
	snprintf(topic, sizeof(topic), "application/%s/device/" DEV_HEX "/command/down", id);
	command(topic, "{\"fPort\":10,\"data\":\"AQID\"}");
	char log[256];
	snprintf(log, sizeof(log), "application/%s/device/" DEV_HEX "/event/log", id);
	json_object *o = only_log(log, "UNKNOWN_DEVICE");
	ck_assert_ptr_nonnull(strstr(str_of(o, "description"), "not in application"));
	json_object_put(o);
	ck_assert_uint_eq(queued(DEV_EUI), 2);
}
END_TEST

/* mqtt.topics.device_command with {application_id} takes the UUID only; a
 * template naming no application leaves it to the DevEUI. */
START_TEST(test_command_topic_templates)
{
	char id[DEVINFO_ID_SIZE], topic[256], err[160];

	ck_assert_int_eq(topic_compile(&w.pub.device_command, NULL, "application/{application_id}"
				       "/device/{dev_eui}/command/{command}",
				       TOPIC_ALLOW_DEVICE_COMMAND, err, sizeof(err)), LB_OK);
	ck_assert_int_eq(topic_compile(&w.pub.device_event, NULL, "application/{application_id}"
				       "/device/{dev_eui}/event/{event}",
				       TOPIC_ALLOW_DEVICE_EVENT, err, sizeof(err)), LB_OK);
	ck_assert_int_eq(devinfo_application_id("default", id), LB_OK);
	snprintf(topic, sizeof(topic), "application/%s/device/" DEV_HEX "/command/down", id);
	command(topic, "{\"fPort\":10,\"data\":\"AQID\"}");
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_uint_eq(queued(DEV_EUI), 1);
	/* the name is not a UUID: refused on the topic it gave */
	command(CMD_TOPIC, "{\"fPort\":10,\"data\":\"AQID\"}");
	json_object *o = only_log(LOG_TOPIC, "UNKNOWN_DEVICE");
	json_object_put(o);
	forget_events();
	/* a refusal of a known device goes to its UUID topic */
	command(topic, "{\"fPort\":0,\"data\":\"AQID\"}");
	char log[256];
	snprintf(log, sizeof(log), "application/%s/device/" DEV_HEX "/event/log", id);
	o = only_log(log, "INVALID_FPORT");
	json_object_put(o);
	forget_events();

	ck_assert_int_eq(topic_compile(&w.pub.device_command, NULL, "down/{dev_eui}",
				       TOPIC_ALLOW_DEVICE_COMMAND, err, sizeof(err)), LB_OK);
	command("down/" FARM_HEX, "{\"fPort\":10,\"data\":\"AQID\"}");
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_uint_eq(queued(FARM_EUI), 1);
}
END_TEST

START_TEST(test_queue_full)
{
	int limit = w.cfg.downlink_queue_limit;

	ck_assert_int_gt(limit, 0);
	for (int i = 0; i < limit; i++)
		command(CMD_TOPIC, "{\"fPort\":10,\"data\":\"AQID\"}");
	ck_assert_uint_eq(queued(DEV_EUI), (size_t)limit);
	ck_assert_uint_eq(w.stats.commands, (uint64_t)limit);
	ck_assert_uint_eq(w.sink.n, 0);
	command(CMD_TOPIC, "{\"fPort\":10,\"data\":\"AQID\"}");
	json_object *o = only_log(LOG_TOPIC, "QUEUE_FULL");
	json_object_put(o);
	ck_assert_uint_eq(queued(DEV_EUI), (size_t)limit);
	ck_assert_uint_eq(w.stats.commands, (uint64_t)limit);
}
END_TEST

START_TEST(test_payload_too_large_at_device_dr)
{
	uint8_t data[60];
	char b64[B64_ENCODED_LEN(sizeof(data)) + 1], json[256];

	memset(data, 0x5a, sizeof(data));
	ck_assert_uint_gt(b64_encode(data, sizeof(data), b64, sizeof(b64)), 0);
	snprintf(json, sizeof(json), "{\"fPort\":10,\"data\":\"%s\"}", b64);
	/* Fine while the device's data rate is unknown ... */
	command(CMD_TOPIC, json);
	ck_assert_uint_eq(queued(DEV_EUI), 1);
	ck_assert_uint_eq(w.sink.n, 0);
	/* ... too large once it was last heard at DR0 (EU868: 51 bytes). */
	w.devices.dev[0].rt.last_dr = 0;
	command(CMD_TOPIC, json);
	json_object *o = only_log(LOG_TOPIC, "PAYLOAD_TOO_LARGE");
	json_object_put(o);
	ck_assert_uint_eq(queued(DEV_EUI), 1);
}
END_TEST

/* The size check follows the device's Regional Parameters revision: AS923
 * DR2 carries 115 bytes for RP002-1.0.4 (§2.10.6), 51 before RP002-1.0.1
 * (LoRaWAN Regional Parameters v1.0.3revA §2.8.6). */
START_TEST(test_payload_too_large_by_revision)
{
	uint8_t data[60];
	char b64[B64_ENCODED_LEN(sizeof(data)) + 1], json[256];

	memset(data, 0x5a, sizeof(data));
	ck_assert_uint_gt(b64_encode(data, sizeof(data), b64, sizeof(b64)), 0);
	snprintf(json, sizeof(json), "{\"fPort\":10,\"data\":\"%s\"}", b64);
	t.c.region = region_find("AS923");
	w.devices.dev[0].rt.last_dr = 2;
	w.devices.dev[0].regional_parameters = REGION_RP002_1_0_4;
	command(CMD_TOPIC, json);
	ck_assert_uint_eq(queued(DEV_EUI), 1);
	ck_assert_uint_eq(w.sink.n, 0);
	w.devices.dev[0].regional_parameters = REGION_RP_1_0_3A;
	command(CMD_TOPIC, json);
	json_object *o = only_log(LOG_TOPIC, "PAYLOAD_TOO_LARGE");
	json_object_put(o);
	ck_assert_uint_eq(queued(DEV_EUI), 1);
}
END_TEST

/* A command whose JSON is over DLCMD_MAX_JSON bytes is refused as
 * PAYLOAD_TOO_LARGE, saying that its JSON is too large, not its data (2
 * bytes here, padded out with a long id-like field). */
START_TEST(test_command_json_too_large)
{
	static char json[DLCMD_MAX_JSON + 64];
	struct command_result r;
	int n = snprintf(json, sizeof(json), "{\"fPort\":10,\"data\":\"AQI=\",\"pad\":\"");

	memset(json + n, 'x', DLCMD_MAX_JSON - (size_t)n);
	snprintf(json + DLCMD_MAX_JSON, sizeof(json) - DLCMD_MAX_JSON, "\"}");
	command_submit(&t.c, DEV_EUI, json, strlen(json), &r);
	ck_assert_int_eq(r.rc, LB_ERR_TOO_LARGE);
	ck_assert_str_eq(r.code, "PAYLOAD_TOO_LARGE");
	ck_assert_str_eq(r.why,
			 "the command's JSON exceeds 4096 bytes (whatever the size of its data)");
	json_object *o = only_log(LOG_TOPIC, "PAYLOAD_TOO_LARGE");
	ck_assert_msg(strstr(str_of(o, "description"), "the command's JSON exceeds 4096 bytes"),
		      "%s", str_of(o, "description"));
	json_object_put(o);
	ck_assert_uint_eq(queued(DEV_EUI), 0);
}
END_TEST

START_TEST(test_other_topics_ignored)
{
	/* Not the command topic, another command, a DevEUI that is not one:
	 * nothing queued, nothing said, nothing counted. */
	command("application/default/device/" DEV_HEX "/event/up", "{\"fPort\":10}");
	command("application/default/device/" DEV_HEX "/command/flush", "{\"fPort\":10}");
	command("application/default/device/not-an-eui/command/down", "{\"fPort\":10}");
	command("something/else", "{\"fPort\":10}");
	ck_assert_uint_eq(w.sink.n, 0);
	ck_assert_uint_eq(queued(DEV_EUI), 0);
	ck_assert_uint_eq(w.stats.commands, 0);
	ck_assert_uint_eq(w.stats.commands_refused, 0);
}
END_TEST

START_TEST(test_queued_command_survives_commit)
{
	size_t n = 0;

	command(CMD_TOPIC, "{\"fPort\":10,\"data\":\"AQID\",\"id\":\"" JOB_1 "\"}");
	/* Queued in the store's open batch: durable with its next commit. */
	ck_assert(store_dirty(&w.store));
	ck_assert_int_eq(store_commit(&w.store), LB_OK);
	ck_assert_int_eq(store_close(&w.store), LB_OK);
	ck_assert_int_eq(store_open(&w.store, w.dir, w.cfg.state_commit_ms), LB_OK);
	ck_assert_int_eq(store_downlink_count(&w.store, DEV_EUI, &n), LB_OK);
	ck_assert_uint_eq(n, 1);
}
END_TEST

/* command_submit(): the web API's way in, the same checks and events. */
START_TEST(test_submit_queued)
{
	struct command_result r;
	const char *json = "{\"fPort\":10,\"data\":\"AQID\"}";

	command_submit(&t.c, DEV_EUI, json, strlen(json), &r);
	ck_assert_int_eq(r.rc, LB_OK);
	ck_assert_uint_eq(strlen(r.id), 36);
	ck_assert_uint_eq(queued(DEV_EUI), 1);
	ck_assert_uint_eq(w.stats.commands, 1);
	ck_assert_uint_eq(w.sink.n, 0);
	/* an object for the device's codec */
	json = "{\"object\":{\"speed\":7}}";
	command_submit(&t.c, FARM_EUI, json, strlen(json), &r);
	ck_assert_int_eq(r.rc, LB_OK);
	ck_assert_uint_eq(queued(FARM_EUI), 1);
}
END_TEST

START_TEST(test_submit_refused)
{
	struct command_result r;
	const char *json = "{\"fPort\":0,\"data\":\"AQID\"}";

	command_submit(&t.c, DEV_EUI, json, strlen(json), &r);
	ck_assert_int_eq(r.rc, LB_ERR_RANGE);
	ck_assert_str_eq(r.code, "INVALID_FPORT");
	ck_assert_ptr_nonnull(r.why);
	assert_refused("INVALID_FPORT");           /* the same log event as over MQTT */
}
END_TEST

START_TEST(test_submit_bad_json_and_unknown)
{
	struct command_result r;

	command_submit(&t.c, DEV_EUI, "{\"fPort\":", 9, &r);
	ck_assert_int_eq(r.rc, LB_ERR_JSON);
	ck_assert_str_eq(r.code, "INVALID_JSON");
	assert_refused("INVALID_JSON");
	rec_sink_free(&w.sink);
	memset(&w.sink, 0, sizeof(w.sink));
	command_submit(&t.c, UINT64_C(0x70b3d57ed00000ff), "{}", 2, &r);
	ck_assert_int_eq(r.rc, LB_ERR_NOT_FOUND);
	ck_assert_str_eq(r.code, "UNKNOWN_DEVICE");
	ck_assert_uint_eq(w.sink.n, 0);              /* no application to tell */
}
END_TEST

/* The refusals' clock (command.h's now_ms), moved by the test. */
static int64_t fake_ms;

static int64_t fake_now(void)
{
	return fake_ms;
}

/* A context member of a `log` event ("" when absent). */
static const char *context_of(json_object *o, const char *key)
{
	json_object *ctx = NULL, *v = NULL;

	if (!json_object_object_get_ex(o, "context", &ctx) ||
	    !json_object_object_get_ex(ctx, key, &v))
		return "";
	return json_object_get_string(v);
}

/*
 * A flood of refused commands publishes at most its application's burst
 * of `log` events; the rest are refused all the same, counted, and the
 * next event after the refill says how many were not reported. Another
 * application's refusals and the UNKNOWN_DEVICE ones have their own
 * buckets, so they are still reported during the flood.
 */
START_TEST(test_refusal_events_rate_limited)
{
	const int flood = 200;

	fake_ms = 1000;
	t.c.now_ms = fake_now;
	for (int i = 0; i < flood; i++)
		command(CMD_TOPIC, "{\"fPort\":0,\"data\":\"AQID\"}");
	ck_assert_uint_eq(w.stats.commands_refused, (uint64_t)flood);
	ck_assert_uint_eq(w.sink.n, COMMAND_LOG_APP_BURST);
	ck_assert_uint_eq(w.stats.log_events, COMMAND_LOG_APP_BURST);
	ck_assert_uint_eq(w.stats.refusal_events_dropped,
			  (uint64_t)(flood - COMMAND_LOG_APP_BURST));
	for (size_t i = 0; i < w.sink.n; i++)
		ck_assert_str_eq(w.sink.m[i].topic, LOG_TOPIC);

	/* another application, and a device no application has: reported */
	command(FARM_CMD, "{\"fPort\":0,\"data\":\"AQID\"}");
	command("application/default/device/" UNKNOWN_HEX "/command/down", "{\"fPort\":1}");
	ck_assert_uint_eq(w.sink.n, COMMAND_LOG_APP_BURST + 2);
	ck_assert_str_eq(w.sink.m[COMMAND_LOG_APP_BURST].topic, FARM_LOG);

	/* not yet refilled: still not reported */
	fake_ms += COMMAND_LOG_APP_MS - 1;
	command(CMD_TOPIC, "{\"fPort\":0,\"data\":\"AQID\"}");
	ck_assert_uint_eq(w.sink.n, COMMAND_LOG_APP_BURST + 2);
	uint64_t missed = (uint64_t)(flood - COMMAND_LOG_APP_BURST) + 1;
	ck_assert_uint_eq(w.stats.refusal_events_dropped, missed);

	/* one more after the refill, saying how many were not */
	fake_ms += 1;
	command(CMD_TOPIC, "{\"fPort\":0,\"data\":\"AQID\"}");
	ck_assert_uint_eq(w.sink.n, COMMAND_LOG_APP_BURST + 3);
	json_object *o = json_tokener_parse(w.sink.m[w.sink.n - 1].payload);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(str_of(o, "code"), "INVALID_FPORT");
	char want[160];
	snprintf(want, sizeof(want), "downlink command refused: fPort must be 1..223; %llu earlier "
		 "refused commands not reported", (unsigned long long)missed);
	ck_assert_str_eq(str_of(o, "description"), want);
	snprintf(want, sizeof(want), "%llu", (unsigned long long)missed);
	ck_assert_str_eq(context_of(o, "suppressed"), want);
	json_object_put(o);
	/* reported once: the next one says nothing more */
	fake_ms += COMMAND_LOG_APP_MS;
	command(CMD_TOPIC, "{\"fPort\":0,\"data\":\"AQID\"}");
	ck_assert_uint_eq(w.sink.n, COMMAND_LOG_APP_BURST + 4);
	o = json_tokener_parse(w.sink.m[w.sink.n - 1].payload);
	ck_assert_str_eq(str_of(o, "description"),
			 "downlink command refused: fPort must be 1..223");
	ck_assert_str_eq(context_of(o, "suppressed"), "");
	json_object_put(o);
	ck_assert_uint_eq(w.stats.commands_refused, (uint64_t)flood + 5);
}
END_TEST

/* The UNKNOWN_DEVICE refusals, whose application the publisher names,
 * share one bucket: a flood of them under any names leaves a configured
 * application's refusals reported. */
START_TEST(test_unknown_device_refusals_limited)
{
	char topic[128];

	fake_ms = 1000;
	t.c.now_ms = fake_now;
	for (int i = 0; i < 100; i++) {
		snprintf(topic, sizeof(topic), "application/app%d/device/" UNKNOWN_HEX
			 "/command/down", i);
		command(topic, "{\"fPort\":1}");
	}
	ck_assert_uint_eq(w.sink.n, COMMAND_LOG_APP_BURST);
	ck_assert_uint_eq(w.stats.refusal_events_dropped, 100 - COMMAND_LOG_APP_BURST);
	command(CMD_TOPIC, "{\"fPort\":0,\"data\":\"AQID\"}");
	ck_assert_uint_eq(w.sink.n, COMMAND_LOG_APP_BURST + 1);
	ck_assert_str_eq(w.sink.m[COMMAND_LOG_APP_BURST].topic, LOG_TOPIC);
	fake_ms += COMMAND_LOG_APP_MS;
	command("application/x/device/" UNKNOWN_HEX "/command/down", "{\"fPort\":1}");
	ck_assert_uint_eq(w.sink.n, COMMAND_LOG_APP_BURST + 2);
	json_object *o = json_tokener_parse(w.sink.m[w.sink.n - 1].payload);
	char want[128];
	snprintf(want, sizeof(want), "downlink command refused: no such device; %d earlier "
		 "refused commands not reported", 100 - COMMAND_LOG_APP_BURST);
	ck_assert_str_eq(str_of(o, "description"), want);
	json_object_put(o);
}
END_TEST

/* However many applications a flood spreads over, all of them together
 * publish at most the global burst. */
START_TEST(test_refusal_events_global_limit)
{
	struct command_result r;
	struct lb_devprofile *prof = (struct lb_devprofile *)w.devices.dev[0].prof;
	const char *json = "{\"fPort\":0,\"data\":\"AQID\"}";
	char apps[40][16];

	fake_ms = 1000;
	t.c.now_ms = fake_now;
	const char *name = prof->application;
	for (int i = 0; i < 40; i++) {
		snprintf(apps[i], sizeof(apps[i]), "app%d", i);
		prof->application = apps[i];
		for (int k = 0; k < 3; k++)
			command_submit(&t.c, DEV_EUI, json, strlen(json), &r);
	}
	prof->application = name;
	ck_assert_uint_eq(w.stats.commands_refused, 120);
	ck_assert_uint_eq(w.sink.n, COMMAND_LOG_ALL_BURST);
	ck_assert_uint_eq(w.stats.refusal_events_dropped, 120 - COMMAND_LOG_ALL_BURST);
}
END_TEST

/* Every application has a bucket of its own: "app51" hashed into the
 * same one of 64 as "default" once, and then a flood of one silenced the
 * other and told it the other's count. Over 100 names, with the global
 * bucket refilled between them, each name's first refusal is reported. */
START_TEST(test_refusal_buckets_never_shared)
{
	struct command_result r;
	struct lb_devprofile *prof = (struct lb_devprofile *)w.devices.dev[0].prof;
	const char *json = "{\"fPort\":0,\"data\":\"AQID\"}";
	const char *name = prof->application;
	char apps[100][16];

	fake_ms = 1000;
	t.c.now_ms = fake_now;
	ck_assert_str_eq(name, "default");
	for (int i = 0; i < COMMAND_LOG_APP_BURST + 5; i++)
		command_submit(&t.c, DEV_EUI, json, strlen(json), &r);
	ck_assert_uint_eq(w.sink.n, COMMAND_LOG_APP_BURST);
	prof->application = "app51";
	command_submit(&t.c, DEV_EUI, json, strlen(json), &r);
	prof->application = name;
	ck_assert_uint_eq(w.sink.n, COMMAND_LOG_APP_BURST + 1);
	json_object *o = json_tokener_parse(w.sink.m[w.sink.n - 1].payload);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(str_of(o, "description"),
			 "downlink command refused: fPort must be 1..223");
	json_object_put(o);
	for (int i = 0; i < 100; i++) {
		fake_ms += COMMAND_LOG_ALL_MS;
		snprintf(apps[i], sizeof(apps[i]), "app%d", 1000 + i);
		prof->application = apps[i];
		command_submit(&t.c, DEV_EUI, json, strlen(json), &r);
		ck_assert_uint_eq(w.sink.n, (size_t)COMMAND_LOG_APP_BURST + 2 + (size_t)i);
	}
	prof->application = name;
	ck_assert_uint_eq(t.c.limit.n, 102);
}
END_TEST

/* The refusals held back are said on the bridge's log too once an event
 * passes (the application's next event says its own on MQTT): a log line
 * with the total, then nothing more until there is more to say. */
START_TEST(test_refusals_not_reported_logged)
{
	char path[600], text[4096];
	int saved = dup(STDERR_FILENO);

	fake_ms = 1000;
	t.c.now_ms = fake_now;
	snprintf(path, sizeof(path), "%s/stderr.log", w.dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	fflush(stderr);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	log_threshold = LOG_LVL_WARN;   /* the suite's is ERROR; a forked test's own */
	for (int i = 0; i < COMMAND_LOG_APP_BURST + 7; i++)
		command(CMD_TOPIC, "{\"fPort\":0,\"data\":\"AQID\"}");
	fake_ms += COMMAND_LOG_APP_MS;
	command(CMD_TOPIC, "{\"fPort\":0,\"data\":\"AQID\"}");
	fake_ms += COMMAND_LOG_APP_MS;
	command(CMD_TOPIC, "{\"fPort\":0,\"data\":\"AQID\"}");
	fflush(stderr);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	close(fd);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	const char *line = "7 refused commands not reported by a log event";
	const char *at = strstr(text, line);
	ck_assert_msg(at != NULL, "no log line '%s' in:\n%s", line, text);
	ck_assert_ptr_null(strstr(at + strlen(line), "refused commands not reported by a log event"));
}
END_TEST

static Suite *command_suite(void)
{
	Suite *s = suite_create("command");
	TCase *tc = tcase_create("core");

	world_fixtures(tc, "test_command", setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_valid_command_queued);
	tcase_add_test(tc, test_ids_kept_and_unique);
	tcase_add_test(tc, test_id_not_uuid_refused);
	tcase_add_test(tc, test_fport_string_expires_at);
	tcase_add_test(tc, test_object_without_codec_refused);
	tcase_add_test(tc, test_object_encoded);
	tcase_add_test(tc, test_object_encode_failures);
	tcase_add_test(tc, test_object_cayennelpp);
	tcase_add_test(tc, test_invalid_json);
	tcase_add_test(tc, test_not_an_object);
	tcase_add_test(tc, test_invalid_fport);
	tcase_add_test(tc, test_invalid_data);
	tcase_add_test(tc, test_dev_eui_mismatch);
	tcase_add_test(tc, test_unknown_device);
	tcase_add_test(tc, test_device_of_another_application);
	tcase_add_test(tc, test_application_by_id);
	tcase_add_test(tc, test_command_topic_templates);
	tcase_add_test(tc, test_queue_full);
	tcase_add_test(tc, test_payload_too_large_at_device_dr);
	tcase_add_test(tc, test_payload_too_large_by_revision);
	tcase_add_test(tc, test_command_json_too_large);
	tcase_add_test(tc, test_other_topics_ignored);
	tcase_add_test(tc, test_queued_command_survives_commit);
	tcase_add_test(tc, test_submit_queued);
	tcase_add_test(tc, test_submit_refused);
	tcase_add_test(tc, test_submit_bad_json_and_unknown);
	tcase_add_test(tc, test_refusal_events_rate_limited);
	tcase_add_test(tc, test_unknown_device_refusals_limited);
	tcase_add_test(tc, test_refusal_events_global_limit);
	tcase_add_test(tc, test_refusal_buckets_never_shared);
	tcase_add_test(tc, test_refusals_not_reported_logged);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_threshold = LOG_LVL_ERROR;
	return testutil_run(command_suite());
}
