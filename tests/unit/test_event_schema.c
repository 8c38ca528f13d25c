/* SPDX-License-Identifier: MIT */
/*
 * test_event_schema.c - every field of the `up`, `join`, `ack`, `txack`,
 * `status` and `log` events against ChirpStack v4's integration.proto as ChirpStack
 * renders it (pbjson with emit_fields, ChirpStack >= 4.1): the lowerCamelCase
 * name, the JSON type, and presence.
 *
 * The tables below are written from integration.proto (package
 * `integration`, messages DeviceInfo, UplinkEvent, JoinEvent, AckEvent,
 * TxAckEvent, StatusEvent, LogEvent). pbjson maps proto3 types to JSON as:
 *   string, enum (by name), bytes (base64), google.protobuf.Timestamp
 *                                  -> JSON string
 *   bool                           -> JSON boolean
 *   uint32, int32, float           -> JSON number (no 64-bit field in
 *                                     these messages, so nothing is quoted)
 *   map<string, string>, message   -> JSON object
 *   repeated                       -> JSON array
 * With emit_fields every scalar, string, bytes, enum, map and repeated
 * field is written even at its default (0, "", false, {}, []): REQUIRED
 * below. A message-typed field (object, txInfo, relayRxInfo,
 * joinServerContext, deviceInfo) is written only when set: OPTIONAL.
 * Fields lorabridge adds of its own are listed as EXTRA and allowed; any
 * other key fails the test.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/lb_err.h"
#include "events/event_json.h"
#include "testutil.h"

#define OUT_CAP 8192

enum presence { REQUIRED, OPTIONAL, EXTRA };

/* What a field's value must be. */
enum kind {
	K_STRING,       /* any string */
	K_UUID,         /* a string in 8-4-4-4-12 form (a "UUID" comment in the proto) */
	K_TIME,         /* google.protobuf.Timestamp as ChirpStack prints it */
	K_EUI,          /* dev_eui / gateway_id: 16 lowercase hex */
	K_DEVADDR,      /* dev_addr: 8 lowercase hex */
	K_BASE64,       /* bytes */
	K_ENUM,         /* a name out of `names` */
	K_BOOL,
	K_NUMBER,       /* uint32 / int32: an integer */
	K_FLOAT,        /* float: any JSON number */
	K_MAP,          /* map<string, string>: an object of strings */
	K_OBJECT,       /* a message (checked by its own table when it has one) */
	K_ARRAY,
};

struct field {
	const char *name;
	enum kind kind;
	enum presence presence;
	const char *const *names;        /* K_ENUM: allowed names, NULL-terminated */
	const struct field *sub;         /* K_OBJECT: its table, or NULL = not checked */
};

/* common.proto DeviceClass, integration.proto LogLevel and LogCode. */
static const char *const device_class[] = {"CLASS_A", "CLASS_B", "CLASS_C", NULL};
static const char *const log_level[] = {"INFO", "WARNING", "ERROR", NULL};
static const char *const log_code[] = {
	"UNKNOWN", "DOWNLINK_PAYLOAD_SIZE", "UPLINK_CODEC", "DOWNLINK_CODEC", "OTAA",
	"UPLINK_F_CNT_RESET", "UPLINK_MIC", "UPLINK_F_CNT_RETRANSMISSION", "DOWNLINK_GATEWAY",
	"RELAY_NEW_END_DEVICE", "F_CNT_DOWN", "EXPIRED", NULL,
};

#define END {NULL, K_STRING, REQUIRED, NULL, NULL}

/* message DeviceInfo */
static const struct field device_info[] = {
	{"tenantId", K_UUID, REQUIRED, NULL, NULL},            /* string tenant_id = 1 */
	{"tenantName", K_STRING, REQUIRED, NULL, NULL},        /* string tenant_name = 2 */
	{"applicationId", K_UUID, REQUIRED, NULL, NULL},       /* string application_id = 3 */
	{"applicationName", K_STRING, REQUIRED, NULL, NULL},   /* string application_name = 4 */
	{"deviceProfileId", K_UUID, REQUIRED, NULL, NULL},     /* string device_profile_id = 5 */
	{"deviceProfileName", K_STRING, REQUIRED, NULL, NULL}, /* string device_profile_name = 6 */
	{"deviceName", K_STRING, REQUIRED, NULL, NULL},        /* string device_name = 7 */
	{"devEui", K_EUI, REQUIRED, NULL, NULL},               /* string dev_eui = 8 */
	{"deviceClassEnabled", K_ENUM, REQUIRED, device_class, NULL}, /* DeviceClass = 10 */
	{"tags", K_MAP, REQUIRED, NULL, NULL},                 /* map<string, string> tags = 9 */
	END,
};

/* message UplinkEvent */
static const struct field up_event[] = {
	{"deduplicationId", K_UUID, REQUIRED, NULL, NULL},     /* string = 1 */
	{"time", K_TIME, REQUIRED, NULL, NULL},                /* Timestamp = 2 (always set) */
	{"deviceInfo", K_OBJECT, REQUIRED, NULL, device_info}, /* DeviceInfo = 3 (always set) */
	{"devAddr", K_DEVADDR, REQUIRED, NULL, NULL},          /* string dev_addr = 4 */
	{"adr", K_BOOL, REQUIRED, NULL, NULL},                 /* bool = 5 */
	{"dr", K_NUMBER, REQUIRED, NULL, NULL},                /* uint32 = 6 */
	{"fCnt", K_NUMBER, REQUIRED, NULL, NULL},              /* uint32 f_cnt = 7 */
	{"fPort", K_NUMBER, REQUIRED, NULL, NULL},             /* uint32 f_port = 8 */
	{"confirmed", K_BOOL, REQUIRED, NULL, NULL},           /* bool = 9 */
	{"data", K_BASE64, REQUIRED, NULL, NULL},              /* bytes = 10 */
	{"object", K_OBJECT, OPTIONAL, NULL, NULL},            /* Struct = 11 */
	{"rxInfo", K_ARRAY, REQUIRED, NULL, NULL},             /* repeated gw.UplinkRxInfo = 12 */
	{"txInfo", K_OBJECT, OPTIONAL, NULL, NULL},            /* gw.UplinkTxInfo = 13 */
	{"relayRxInfo", K_OBJECT, OPTIONAL, NULL, NULL},       /* UplinkRelayRxInfo = 14 */
	{"joinServerContext", K_OBJECT, OPTIONAL, NULL, NULL}, /* JoinServerContext = 15 */
	{"regionConfigId", K_STRING, REQUIRED, NULL, NULL},    /* string = 16 */
	{"macCommands", K_ARRAY, EXTRA, NULL, NULL},
	{"airtimeMs", K_NUMBER, EXTRA, NULL, NULL},
	{"fairAccess", K_OBJECT, EXTRA, NULL, NULL},
	END,
};

/* message JoinEvent */
static const struct field join_event[] = {
	{"deduplicationId", K_UUID, REQUIRED, NULL, NULL},     /* string = 1 */
	{"time", K_TIME, REQUIRED, NULL, NULL},                /* Timestamp = 2 */
	{"deviceInfo", K_OBJECT, REQUIRED, NULL, device_info}, /* DeviceInfo = 3 */
	{"devAddr", K_DEVADDR, REQUIRED, NULL, NULL},          /* string = 4 */
	{"relayRxInfo", K_OBJECT, OPTIONAL, NULL, NULL},       /* UplinkRelayRxInfo = 5 */
	{"joinServerContext", K_OBJECT, OPTIONAL, NULL, NULL}, /* JoinServerContext = 6 */
	{"regionConfigId", K_STRING, REQUIRED, NULL, NULL},    /* string = 7 */
	END,
};

/* message AckEvent */
static const struct field ack_event[] = {
	{"deduplicationId", K_UUID, REQUIRED, NULL, NULL},     /* string = 1 */
	{"time", K_TIME, REQUIRED, NULL, NULL},                /* Timestamp = 2 */
	{"deviceInfo", K_OBJECT, REQUIRED, NULL, device_info}, /* DeviceInfo = 3 */
	{"queueItemId", K_UUID, REQUIRED, NULL, NULL},         /* string = 4 */
	{"acknowledged", K_BOOL, REQUIRED, NULL, NULL},        /* bool = 5 */
	{"fCntDown", K_NUMBER, REQUIRED, NULL, NULL},          /* uint32 = 6 */
	END,
};

/* message StatusEvent */
static const struct field status_event[] = {
	{"deduplicationId", K_UUID, REQUIRED, NULL, NULL},     /* string = 1 */
	{"time", K_TIME, REQUIRED, NULL, NULL},                /* Timestamp = 2 */
	{"deviceInfo", K_OBJECT, REQUIRED, NULL, device_info}, /* DeviceInfo = 3 */
	{"margin", K_NUMBER, REQUIRED, NULL, NULL},            /* int32 = 5 */
	{"externalPowerSource", K_BOOL, REQUIRED, NULL, NULL}, /* bool = 6 */
	{"batteryLevelUnavailable", K_BOOL, REQUIRED, NULL, NULL}, /* bool = 7 */
	{"batteryLevel", K_FLOAT, REQUIRED, NULL, NULL},       /* float = 8 */
	END,
};

/* message TxAckEvent */
static const struct field txack_event[] = {
	{"downlinkId", K_NUMBER, REQUIRED, NULL, NULL},        /* uint32 = 1 */
	{"time", K_TIME, REQUIRED, NULL, NULL},                /* Timestamp = 2 */
	{"deviceInfo", K_OBJECT, REQUIRED, NULL, device_info}, /* DeviceInfo = 3 */
	{"queueItemId", K_STRING, REQUIRED, NULL, NULL},       /* string = 4 ("" for the
								* bridge's own frames) */
	{"fCntDown", K_NUMBER, REQUIRED, NULL, NULL},          /* uint32 = 5 */
	{"gatewayId", K_EUI, REQUIRED, NULL, NULL},            /* string = 6 */
	{"txInfo", K_OBJECT, REQUIRED, NULL, NULL},            /* gw.DownlinkTxInfo = 7 (set) */
	{"attempts", K_ARRAY, EXTRA, NULL, NULL},
	END,
};

/* message LogEvent */
static const struct field log_event[] = {
	{"time", K_TIME, REQUIRED, NULL, NULL},                /* Timestamp = 1 */
	{"deviceInfo", K_OBJECT, OPTIONAL, NULL, device_info}, /* DeviceInfo = 2 (an unknown
								* device has none) */
	{"level", K_ENUM, REQUIRED, log_level, NULL},          /* LogLevel = 3 */
	{"code", K_ENUM, REQUIRED, log_code, NULL},            /* LogCode = 4 */
	{"description", K_STRING, REQUIRED, NULL, NULL},       /* string = 5 */
	{"context", K_MAP, REQUIRED, NULL, NULL},              /* map<string, string> = 6 */
	END,
};

/* --- value checks --------------------------------------------------------- */

static bool hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return false;
	return hex_run(s, 8) && hex_run(s + 9, 4) && hex_run(s + 14, 4) && hex_run(s + 19, 4) &&
	       hex_run(s + 24, 12);
}

static bool digits_at(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* chrono's to_rfc3339() of a UTC time: "YYYY-MM-DDTHH:MM:SS", a fraction of
 * 3, 6 or 9 digits when not zero, then "+00:00". */
static bool is_time(const char *s)
{
	size_t n = strlen(s), frac;

	if (n < 25 || !digits_at(s, 4) || s[4] != '-' || !digits_at(s + 5, 2) || s[7] != '-' ||
	    !digits_at(s + 8, 2) || s[10] != 'T' || !digits_at(s + 11, 2) || s[13] != ':' ||
	    !digits_at(s + 14, 2) || s[16] != ':' || !digits_at(s + 17, 2))
		return false;
	if (strcmp(s + n - 6, "+00:00") != 0)
		return false;
	frac = n - 6 - 19;
	if (frac == 0)
		return true;
	return s[19] == '.' && (frac == 4 || frac == 7 || frac == 10) && digits_at(s + 20, frac - 1);
}

static bool is_base64(const char *s)
{
	size_t n = strlen(s);

	if (n % 4 != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", s[i]))
			return false;
	return true;
}

static bool in_names(const char *s, const char *const *names)
{
	for (size_t i = 0; names[i]; i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

static bool map_of_strings(json_object *v)
{
	json_object_object_foreach(v, key, val) {
		(void)key;
		if (!json_object_is_type(val, json_type_string))
			return false;
	}
	return true;
}

/* The checker returns what is wrong (why) instead of asserting, so that it
 * can itself be tested on events ChirpStack would not write. */
static bool object_ok(json_object *o, const struct field *table, const char *where, char *why,
		      size_t cap);

static bool value_ok(json_object *v, const struct field *f, const char *where, char *why,
		     size_t cap)
{
	const char *s = json_object_get_string(v);
	bool ok;

	switch (f->kind) {
	case K_STRING: ok = json_object_is_type(v, json_type_string); break;
	case K_UUID: ok = json_object_is_type(v, json_type_string) && is_uuid(s); break;
	case K_TIME: ok = json_object_is_type(v, json_type_string) && is_time(s); break;
	case K_EUI: ok = json_object_is_type(v, json_type_string) && strlen(s) == 16 &&
			 hex_run(s, 16); break;
	case K_DEVADDR: ok = json_object_is_type(v, json_type_string) && strlen(s) == 8 &&
			     hex_run(s, 8); break;
	case K_BASE64: ok = json_object_is_type(v, json_type_string) && is_base64(s); break;
	case K_ENUM: ok = json_object_is_type(v, json_type_string) && in_names(s, f->names); break;
	case K_BOOL: ok = json_object_is_type(v, json_type_boolean); break;
	case K_NUMBER: ok = json_object_is_type(v, json_type_int) ||
			    (f->presence == EXTRA && json_object_is_type(v, json_type_double));
		break;
	case K_FLOAT: ok = json_object_is_type(v, json_type_int) ||
			   json_object_is_type(v, json_type_double);
		break;
	case K_MAP: ok = json_object_is_type(v, json_type_object) && map_of_strings(v); break;
	case K_OBJECT: ok = json_object_is_type(v, json_type_object); break;
	case K_ARRAY: ok = json_object_is_type(v, json_type_array); break;
	default: ok = false; break;
	}
	if (!ok) {
		snprintf(why, cap, "%s.%s: %s is not of its proto type", where, f->name,
			 json_object_to_json_string(v));
		return false;
	}
	if (f->kind == K_OBJECT && f->sub)
		return object_ok(v, f->sub, f->name, why, cap);
	return true;
}

/* Every key of o is in table (with its type), every REQUIRED one present. */
static bool object_ok(json_object *o, const struct field *table, const char *where, char *why,
		      size_t cap)
{
	json_object_object_foreach(o, key, val) {
		const struct field *f = table;
		while (f->name && strcmp(f->name, key) != 0)
			f++;
		if (f->name == NULL) {
			snprintf(why, cap, "%s: \"%s\" is not a field of the proto (nor a "
				 "documented extra)", where, key);
			return false;
		}
		if (!value_ok(val, f, where, why, cap))
			return false;
	}
	for (const struct field *f = table; f->name; f++) {
		if (f->presence == REQUIRED && !json_object_object_get_ex(o, f->name, NULL)) {
			snprintf(why, cap, "%s: \"%s\" missing (ChirpStack writes it even at its "
				 "default)", where, f->name);
			return false;
		}
	}
	return true;
}

static bool json_ok(const char *json, const struct field *table, const char *event, char *why,
		    size_t cap)
{
	json_object *o = json_tokener_parse(json);

	if (o == NULL) {
		snprintf(why, cap, "%s: not JSON: %.200s", event, json);
		return false;
	}
	bool ok = object_ok(o, table, event, why, cap);
	json_object_put(o);
	return ok;
}

static void check_json(const char *json, const struct field *table, const char *event)
{
	char why[512] = "";
	ck_assert_msg(json_ok(json, table, event, why, sizeof(why)), "%s", why);
}

/* --- the events, at their defaults and filled ------------------------------ */

static const struct lb_tag tags[] = {{(char *)"site", (char *)"roof"}};

static const struct ev_device full_dev = {
	.tenant_id = "5bfff35d-c946-5c21-bba0-5e9b0d52a2cb", .tenant_name = "lorabridge",
	.application_id = "52801389-7162-52e6-b6a1-3593200b8903", .application = "sim",
	.profile_id = "0e5d6c1c-3a57-5f2e-8b8d-4a2b6c8d9e01",
	.profile_name = "EU868 LoRaWAN 1.0.3 class A", .name = "sim-1",
	.dev_eui = 0x70b3d57ed0000001ull, .device_class = "CLASS_A", .tags = tags, .n_tags = 1,
};

static const uint8_t dedup_id[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
				     0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

#define T_US INT64_C(1715677967318406)

static struct lb_rx reception(void)
{
	struct lb_rx rx;

	memset(&rx, 0, sizeof(rx));
	rx.gateway_eui = 0xaa555a0000000001ull;
	rx.uplink_id = 7;
	rx.received_us = T_US + 5000;
	rx.rxpk.tmst = 3512348611u;
	rx.rxpk.freq_hz = 868100000;
	rx.rxpk.stat = 1;
	rx.rxpk.modu = GWMP_MOD_LORA;
	rx.rxpk.sf = 7;
	rx.rxpk.bw_khz = 125;
	rx.rxpk.cr = 1;
	rx.rxpk.has_rssi = true;
	rx.rxpk.rssi = -57;
	rx.rxpk.has_lsnr = true;
	rx.rxpk.lsnr = 9.5f;
	return rx;
}

START_TEST(test_up_schema)
{
	static const uint8_t data[] = {1, 2, 3}, mac[] = {0x02};
	struct lb_rx rx = reception();
	struct ev_fair_access fa = {.uplink_airtime_ms = 1.5, .uplink_budget_ms = 100};
	struct ev_uplink ev = {.dev = &full_dev, .time_us = T_US, .dev_addr = 0x26011234,
			       .dr = -1, .rx = &rx, .n_rx = 1};
	char out[OUT_CAP];
	size_t len;

	memcpy(ev.dedup_id, dedup_id, 16);
	/* Defaults: no DR known, no FPort, no payload, no region. */
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	check_json(out, up_event, "up (defaults)");
	/* Everything set, lorabridge's extras included. */
	json_object *object = json_tokener_parse("{\"temperatureSensor\":{\"3\":27.2}}");
	ev.dr = 5;
	ev.has_fport = true;
	ev.fport = 10;
	ev.data = data;
	ev.data_len = sizeof(data);
	ev.object = object;
	ev.mac = mac;
	ev.mac_len = sizeof(mac);
	ev.has_airtime = true;
	ev.airtime_ms = 46.336;
	ev.fair_access = &fa;
	ev.region_config_id = "eu868";
	ck_assert_int_eq(event_json_uplink(&ev, out, sizeof(out), &len), LB_OK);
	check_json(out, up_event, "up");
	json_object_put(object);
}
END_TEST

START_TEST(test_join_schema)
{
	struct ev_join ev = {.dev = &full_dev, .time_us = T_US, .dev_addr = 0x26011234};
	char out[OUT_CAP];
	size_t len;

	memcpy(ev.dedup_id, dedup_id, 16);
	ck_assert_int_eq(event_json_join(&ev, out, sizeof(out), &len), LB_OK);
	check_json(out, join_event, "join (defaults)");
	ev.region_config_id = "eu868";
	ck_assert_int_eq(event_json_join(&ev, out, sizeof(out), &len), LB_OK);
	check_json(out, join_event, "join");
}
END_TEST

START_TEST(test_ack_schema)
{
	struct ev_ack ev = {.dev = &full_dev, .time_us = T_US + 1000,
			    .queue_item_id = "6ba7b811-9dad-11d1-80b4-00c04fd430c8",
			    .acknowledged = true, .fcnt_down = 4};
	char out[OUT_CAP];
	size_t len;

	memcpy(ev.dedup_id, dedup_id, 16);
	ck_assert_int_eq(event_json_ack(&ev, out, sizeof(out), &len), LB_OK);
	check_json(out, ack_event, "ack");
}
END_TEST

/* DevStatusAns battery 0..255 as ChirpStack's dev_status.rs maps it:
 * 0 external power, 255 unavailable, else battery / 254 * 100 in f32,
 * written as serde_json writes an f32. */
START_TEST(test_status_schema)
{
	static const struct {
		uint8_t battery;
		const char *level;
		bool external, unavailable;
	} t[] = {
		{0, "0.0", true, false}, {1, "0.39370078", false, false},
		{127, "50.0", false, false}, {200, "78.74016", false, false},
		{254, "100.0", false, false}, {255, "0.0", false, true},
	};
	char out[OUT_CAP];
	size_t len;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ev_status ev = {.dev = &full_dev, .time_us = T_US, .margin = -7,
				       .battery = t[i].battery};
		memcpy(ev.dedup_id, dedup_id, 16);
		ck_assert_int_eq(event_json_status(&ev, out, sizeof(out), &len), LB_OK);
		check_json(out, status_event, "status");
		struct json_object *o = json_tokener_parse(out), *v;
		ck_assert_ptr_nonnull(o);
		ck_assert(json_object_object_get_ex(o, "batteryLevel", &v));
		ck_assert_str_eq(json_object_to_json_string(v), t[i].level);
		ck_assert(json_object_object_get_ex(o, "externalPowerSource", &v));
		ck_assert(json_object_get_boolean(v) == t[i].external);
		ck_assert(json_object_object_get_ex(o, "batteryLevelUnavailable", &v));
		ck_assert(json_object_get_boolean(v) == t[i].unavailable);
		ck_assert(json_object_object_get_ex(o, "margin", &v));
		ck_assert_int_eq(json_object_get_int(v), -7);
		json_object_put(o);
	}
}
END_TEST

START_TEST(test_txack_schema)
{
	struct gwmp_txpk pk = {.has_tmst = true, .tmst = 3513348611u, .freq_hz = 868100000,
			       .powe = 14, .modu = GWMP_MOD_LORA, .sf = 7, .bw_khz = 125, .cr = 1,
			       .ipol = true};
	struct ev_txack_attempt at[] = {{"RX1", "TOO_LATE", 868100000, 5},
					 {"RX2", "OK", 869525000, 0}};
	struct ev_txack ev = {.dev = &full_dev, .time_us = T_US, .downlink_id = 4000000000u,
			      .fcnt_down = 3, .gateway_eui = 0xaa555a0000000001ull,
			      .tx = {.txpk = &pk, .delay_us = 1000000, .context_tmst = 3512348611u},
			      .attempts = at, .n_attempts = 2};
	char out[OUT_CAP];
	size_t len;

	/* The bridge's own frame (no queue item), then a queue item's. */
	ck_assert_int_eq(event_json_txack(&ev, out, sizeof(out), &len), LB_OK);
	check_json(out, txack_event, "txack (bridge frame)");
	ck_assert_ptr_nonnull(strstr(out, "\"downlinkId\":4000000000,"));
	ev.queue_item_id = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";
	ck_assert_int_eq(event_json_txack(&ev, out, sizeof(out), &len), LB_OK);
	check_json(out, txack_event, "txack");
	ck_assert_ptr_nonnull(strstr(out, "\"txInfo\":{\"frequency\":868100000,\"power\":14,"
					  "\"modulation\":{\"lora\":{\"bandwidth\":125000,"
					  "\"spreadingFactor\":7,\"codeRate\":\"CR_4_5\","
					  "\"polarizationInversion\":true}},"
					  "\"timing\":{\"delay\":{\"delay\":\"1s\"}},"
					  "\"context\":\"0Vovww==\"}"));
	ev.tx.txpk = NULL;
	ck_assert_int_eq(event_json_txack(&ev, out, sizeof(out), &len), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_log_schema)
{
	static const char *const keys[] = {"gatewayId", "error"};
	static const char *const values[] = {"aa555a0000000001", "TOO_LATE"};
	struct ev_log ev = {.time_us = 0, .level = "ERROR", .code = "DOWNLINK_GATEWAY"};
	char out[OUT_CAP];
	size_t len;

	/* A device the bridge does not know: no deviceInfo, an empty context. */
	ck_assert_int_eq(event_json_log(&ev, out, sizeof(out), &len), LB_OK);
	check_json(out, log_event, "log (defaults)");
	ck_assert_ptr_nonnull(strstr(out, "\"context\":{}"));
	ev.dev = &full_dev;
	ev.time_us = T_US;
	ev.description = "downlink not transmitted";
	ev.context_keys = keys;
	ev.context_values = values;
	ev.n_context = 2;
	ck_assert_int_eq(event_json_log(&ev, out, sizeof(out), &len), LB_OK);
	check_json(out, log_event, "log");
}
END_TEST

/* The checker itself refuses what ChirpStack would not write. */
START_TEST(test_checker_catches)
{
	ck_assert(is_time("2024-05-14T09:12:47+00:00"));
	ck_assert(is_time("2024-05-14T09:12:47.318+00:00"));
	ck_assert(is_time("2024-05-14T09:12:47.318406+00:00"));
	ck_assert(!is_time("2024-05-14T09:12:47Z"));
	ck_assert(!is_time("2024-05-14T09:12:47.31+00:00"));
	ck_assert(is_uuid("6ba7b811-9dad-11d1-80b4-00c04fd430c8"));
	ck_assert(!is_uuid("6BA7B811-9DAD-11D1-80B4-00C04FD430C8"));
	ck_assert(!is_uuid(""));
	ck_assert(is_base64(""));
	ck_assert(!is_base64("AQI"));
}
END_TEST

/* A log event as ChirpStack writes it passes; each way of breaking it is
 * caught, with the field named. */
START_TEST(test_checker_refuses_events)
{
	static const char dev[] =
		"\"deviceInfo\":{\"tenantId\":\"6ba7b811-9dad-11d1-80b4-00c04fd430c8\","
		"\"tenantName\":\"t\",\"applicationId\":\"6ba7b811-9dad-11d1-80b4-00c04fd430c8\","
		"\"applicationName\":\"a\",\"deviceProfileId\":\"6ba7b811-9dad-11d1-80b4-00c04fd430c8\","
		"\"deviceProfileName\":\"p\",\"deviceName\":\"d\",\"devEui\":\"0102030405060708\","
		"\"deviceClassEnabled\":\"CLASS_A\",\"tags\":{}}";
	char json[1024], why[512];
#define LOG_EV(time, level, code, extra) \
	snprintf(json, sizeof(json), "{\"time\":\"%s\",%s,\"level\":\"%s\",\"code\":\"%s\"," \
		 "\"description\":\"x\",\"context\":{}%s}", time, dev, level, code, extra)

	LOG_EV("2024-05-14T09:12:47+00:00", "ERROR", "UPLINK_MIC", "");
	ck_assert_msg(json_ok(json, log_event, "log", why, sizeof(why)), "%s", why);
	/* a wrong JSON type */
	LOG_EV("2024-05-14T09:12:47+00:00", "ERROR", "UPLINK_MIC", ",\"context\":[]");
	ck_assert(!json_ok(json, log_event, "log", why, sizeof(why)));
	/* a key that is no field of the proto */
	LOG_EV("2024-05-14T09:12:47+00:00", "ERROR", "UPLINK_MIC", ",\"severity\":1");
	ck_assert(!json_ok(json, log_event, "log", why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "severity"));
	/* an enum value outside the proto's */
	LOG_EV("2024-05-14T09:12:47+00:00", "FATAL", "UPLINK_MIC", "");
	ck_assert(!json_ok(json, log_event, "log", why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "level"));
	/* a time as RFC 3339 with Z, which ChirpStack does not write */
	LOG_EV("2024-05-14T09:12:47Z", "ERROR", "UPLINK_MIC", "");
	ck_assert(!json_ok(json, log_event, "log", why, sizeof(why)));
	/* a required field missing */
	snprintf(json, sizeof(json), "{\"time\":\"2024-05-14T09:12:47+00:00\",%s,"
		 "\"level\":\"ERROR\",\"code\":\"UPLINK_MIC\",\"description\":\"x\"}", dev);
	ck_assert(!json_ok(json, log_event, "log", why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "context"));
	/* and inside deviceInfo */
	LOG_EV("2024-05-14T09:12:47+00:00", "ERROR", "UPLINK_MIC", "");
	char *eui = strstr(json, "0102030405060708");
	ck_assert_ptr_nonnull(eui);
	eui[0] = 'X';
	ck_assert(!json_ok(json, log_event, "log", why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "devEui"));
#undef LOG_EV
}
END_TEST

static Suite *schema_suite(void)
{
	Suite *s = suite_create("event_schema");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_up_schema);
	tcase_add_test(tc, test_join_schema);
	tcase_add_test(tc, test_ack_schema);
	tcase_add_test(tc, test_txack_schema);
	tcase_add_test(tc, test_status_schema);
	tcase_add_test(tc, test_log_schema);
	tcase_add_test(tc, test_checker_catches);
	tcase_add_test(tc, test_checker_refuses_events);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(schema_suite());
}
