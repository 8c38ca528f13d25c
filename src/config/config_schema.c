/* SPDX-License-Identifier: MIT */
/*
 * config_schema.c - the configuration schema (one row per setting) and the
 * table of the device entry fields. The two outputs generated from them,
 * config_print() (the effective configuration, re-loadable) and
 * config_schema_print_reference() (the documented reference for the README
 * and the man page), are in config_print.c. The parser that walks a file
 * against the same table is in config.c; the device entries are parsed and
 * printed by config_device.c.
 */
#include "config/config_schema.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config/config_cflist.h"
#include "base/hex.h"
#include "base/pwhash.h"
#include "events/topic.h"
#include "lorawan/region.h"
#include "mac/join.h"
#include "base/lb_err.h"

/* --- custom checks ------------------------------------------------------ */

static bool why_set(char *why, size_t cap, const char *text)
{
	snprintf(why, cap, "%s", text);
	return false;
}

static bool check_bind(const char *v, char *why, size_t cap)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1)
		return true;
	return why_set(why, cap, "not a numeric IPv4 or IPv6 address");
}

static bool check_nonempty(const char *v, char *why, size_t cap)
{
	return *v ? true : why_set(why, cap, "must not be empty");
}

/* Values substituted into one topic level must not add levels or
 * wildcards (MQTT 3.1.1 section 4.7.1). */
static bool check_topic_level(const char *v, char *why, size_t cap)
{
	if (!*v)
		return why_set(why, cap, "must not be empty");
	if (strpbrk(v, "+#/"))
		return why_set(why, cap, "must not contain '+', '#' or '/' (used in MQTT topics)");
	return true;
}

/* Alone, as the start of a topic (events/topic.h); with each template in
 * config.c check_topics(). */
static bool check_topic_prefix(const char *v, char *why, size_t cap)
{
	struct topic_tpl t;

	if (strpbrk(v, "+#"))
		return why_set(why, cap, "must not contain the MQTT wildcards '+' or '#'");
	return topic_compile(&t, v, "x", TOPIC_VAR__ALL, why, cap) == LB_OK;
}

/* Host names separated by commas or spaces: letters, digits, '-', '.'
 * (RFC 1123 §2.1 names; an address in brackets for IPv6). */
static bool check_hosts(const char *v, char *why, size_t cap)
{
	for (const char *p = v; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-.,[]: \t", *p))
			continue;
		return why_set(why, cap, "names letters, digits, '-' and '.' separated by commas");
	}
	return true;
}

static bool check_absolute(const char *v, char *why, size_t cap)
{
	return v[0] == '/' ? true : why_set(why, cap, "must be an absolute path");
}

/*
 * A topic template, checked by the code that compiles it at start-up
 * (events/topic.h topic_compile(): no wildcards, no empty level, known
 * placeholders allowed in this topic, ...), so that --check-config refuses
 * exactly what the daemon refuses. With mqtt.topic_prefix in front it is
 * checked again in config.c (check_topics()).
 */
static bool check_template(const char *v, unsigned allowed, char *why, size_t cap)
{
	struct topic_tpl t;

	return topic_compile(&t, NULL, v, allowed, why, cap) == LB_OK;
}

/* Subscribers tell devices and events apart by the topic alone. */
static bool check_topic_device(const char *v, char *why, size_t cap)
{
	if (!check_template(v, TOPIC_ALLOW_DEVICE_EVENT, why, cap))
		return false;
	if (!strstr(v, "{dev_eui}") || !strstr(v, "{event}"))
		return why_set(why, cap, "must contain {dev_eui} and {event} (they tell which "
			       "device an event is of, and which event it is)");
	return true;
}

static bool check_topic_dev_state(const char *v, char *why, size_t cap)
{
	return check_template(v, TOPIC_ALLOW_DEVICE_STATE, why, cap);
}

/* The body's devEui is optional (ChirpStack), so the topic names the device. */
static bool check_topic_command(const char *v, char *why, size_t cap)
{
	if (!check_template(v, TOPIC_ALLOW_DEVICE_COMMAND, why, cap))
		return false;
	if (!strstr(v, "{dev_eui}"))
		return why_set(why, cap,
			       "must contain {dev_eui} (it tells which device a command is for)");
	return true;
}

/* Each field of each device needs a topic of its own. */
static bool check_topic_field(const char *v, char *why, size_t cap)
{
	if (!check_template(v, TOPIC_ALLOW_DEVICE_FIELD, why, cap))
		return false;
	if (!strstr(v, "{dev_eui}") || !strstr(v, "{field}"))
		return why_set(why, cap, "must contain {dev_eui} and {field} (each field of each "
			       "device is a topic of its own)");
	return true;
}

/* Home Assistant subscribes to {prefix}/{component}/.../config: the prefix
 * is one or more whole topic levels, without wildcards (MQTT 3.1.1 section
 * 4.7.1). */
static bool check_hass_prefix(const char *v, char *why, size_t cap)
{
	if (!*v)
		return why_set(why, cap, "must not be empty");
	if (strpbrk(v, "+#"))
		return why_set(why, cap, "must not contain the MQTT wildcards '+' or '#'");
	if (v[0] == '/' || v[strlen(v) - 1] == '/' || strstr(v, "//"))
		return why_set(why, cap, "must not start or end with '/' or contain an empty level");
	return true;
}

/*
 * TS002-1.1.0 section 13: the ID bits of a type 0..2 NetID above its 6, 6
 * or 9-bit NwkID are RFU and must be zero. Devices cannot tell, but another
 * network server would read such a NetID differently.
 */
static bool check_cflist(const char *v, char *why, size_t cap)
{
	uint32_t f[CONFIG_CFLIST_MAX];
	int n = config_cflist_parse(v, f, CONFIG_CFLIST_MAX);

	if (n >= 0)
		return true;
	snprintf(why, cap, "'%s' is not \"auto\", \"none\" or up to %d frequencies in MHz "
		 "(100..1000) separated by commas", v, CONFIG_CFLIST_MAX);
	return false;
}

static bool check_net_id(long long v, char *why, size_t cap)
{
	struct join_netid nid;

	if (join_netid_parse((uint32_t)v, &nid) != LB_OK)
		return why_set(why, cap, "not a 24-bit NetID");
	if (!nid.rfu_set)
		return true;
	snprintf(why, cap, "%06llx has RFU bits set: a type %u NetID has a %u-bit NwkID, "
		 "bits 20..%u must be 0", v, nid.type, nid.nwk_id_bits, nid.nwk_id_bits);
	return false;
}

static bool check_topic_gw_event(const char *v, char *why, size_t cap)
{
	return check_template(v, TOPIC_ALLOW_GATEWAY_EVENT, why, cap);
}

static bool check_topic_gw_state(const char *v, char *why, size_t cap)
{
	return check_template(v, TOPIC_ALLOW_GATEWAY_STATE, why, cap);
}

static bool check_topic_bridge(const char *v, char *why, size_t cap)
{
	return check_template(v, TOPIC_ALLOW_BRIDGE, why, cap);
}

static bool check_pwhash(const char *v, char *why, size_t cap)
{
	struct pwhash h;

	if (pwhash_parse(v, &h) == LB_OK)
		return true;
	return why_set(why, cap, "not a password hash (make one with `lorabridge passwd`: "
		       "pbkdf2-sha256$ITERATIONS$SALT$HASH)");
}

/* --- the schema --------------------------------------------------------- */

static const char *const regions[] = {"EU868", "US915", "AU915", "AS923", "AS923-1",
				      "AS923-2", "AS923-3", "AS923-4", "KR920", "IN865", NULL};
static const char *const log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};
/* Indexes are enum lb_fa_action. */
static const char *const fa_actions[] = {"warn", "enforce", NULL};
_Static_assert(LB_FA_WARN == 0 && LB_FA_ENFORCE == 1, "fa_actions[] order");
/* Indexes are enum lb_gateway_frames. */
static const char *const gateway_frames[] = {"all", "unknown", "none", NULL};
_Static_assert(LB_GWF_ALL == 0 && LB_GWF_UNKNOWN == 1 && LB_GWF_NONE == 2,
	       "gateway_frames[] order");

/*
 * Offset of field f of struct lb_config, with a compile-time check that the
 * field has type T (comparing pointers of distinct types is a diagnostic,
 * an error under -Werror; the sizeof operand is never evaluated).
 */
#define CFG_OFF(f, T) \
	(offsetof(struct lb_config, f) + 0 * sizeof(&((struct lb_config *)0)->f == (T *)0))

#define S_STR(p, f, def, chk, fl, h) \
	{.path = p, .type = CS_STRING, .offset = CFG_OFF(f, char *), .def_str = def, \
	 .check = chk, .flags = fl, .help = h}
#define S_ENUM(p, f, def, list, h) \
	{.path = p, .type = CS_STRING, .offset = CFG_OFF(f, char *), .def_str = def, \
	 .choices = list, .help = h}
#define S_INT(p, f, def, lo, hi, h) \
	{.path = p, .type = CS_INT, .offset = CFG_OFF(f, int), .def_int = def, \
	 .min = lo, .max = hi, .help = h}
#define S_U16(p, f, def, lo, hi, h) \
	{.path = p, .type = CS_U16, .offset = CFG_OFF(f, uint16_t), .def_int = def, \
	 .min = lo, .max = hi, .help = h}
#define S_BOOL(p, f, def, h) \
	{.path = p, .type = CS_BOOL, .offset = CFG_OFF(f, bool), .def_int = def, .help = h}
/* An integer that may be absent (no default); has_f says if it is set. */
#define S_OPT_INT(p, f, has_f, lo, hi, h) \
	{.path = p, .type = CS_INT, .offset = CFG_OFF(f, int), .has_offset = CFG_OFF(has_f, bool), \
	 .min = lo, .max = hi, .flags = CS_F_OPTIONAL, .help = h}
#define S_CHOICE(p, f, def, list, h) \
	{.path = p, .type = CS_CHOICE, .offset = CFG_OFF(f, int), .def_int = def, \
	 .choices = list, .help = h}

/* Entries of one group must be contiguous: config_print() opens each group once. */
const struct cs_entry config__schema[] = {
	S_STR("udp.bind", udp_bind, "127.0.0.1", check_bind, 0,
	      "Local address of the GWMP (Semtech UDP) socket; \"0.0.0.0\" or \"::\" for all."),
	S_U16("udp.port", udp_port, 1700, 1, 65535, "UDP port the packet forwarders send to."),
	S_INT("udp.rcvbuf", udp_rcvbuf, 0, 0, 1 << 30,
	      "Socket receive buffer in bytes (SO_RCVBUF); 0 keeps the system default. The "
	      "kernel caps it at net.core.rmem_max (a capped buffer is logged as a warning: "
	      "raise that sysctl)."),
	{.path = "udp.allow", .type = CS_GW_ALLOW,
	 .offset = CFG_OFF(udp_allow, struct lb_gw_allow *),
	 .count_offset = CFG_OFF(n_udp_allow, size_t),
	 .help = "Gateways allowed to connect: \"EUI\" (16 hex digits) from any address, or "
		 "\"EUI@ADDRESS\" / \"EUI@NETWORK/PREFIX\" (IPv4 or IPv6) only from there, e.g. "
		 "\"aa555a0000000001@192.168.1.0/24\"; absent or empty accepts every gateway."},
	S_INT("udp.keepalive_s", udp_keepalive_s, 10, 1, 3600,
	      "Expected PULL_DATA keepalive period of the gateways, in seconds."),
	S_INT("udp.offline_after", udp_offline_after, 3, 1, 1000,
	      "Missed keepalive periods after which a gateway is reported offline."),
	S_INT("udp.rebind_after_s", udp_rebind_after_s, 30, 1, 86400,
	      "A gateway EUI is bound to the IP address it first spoke from; datagrams claiming it "
	      "from another address are dropped (ADDRESS_MISMATCH) until the bound address has "
	      "been silent this many seconds."),
	S_INT("udp.rate_limit_count", udp_rate_limit_count, 10, 0, 1000000,
	      "Datagrams accepted per gateway per window; 0 disables rate limiting."),
	S_INT("udp.rate_limit_window_ms", udp_rate_limit_window_ms, 10, 0, 60000,
	      "Rate-limit window in milliseconds; 0 disables rate limiting."),
	S_INT("udp.address_rate_limit_count", udp_address_rate_limit_count, 10, 0, 1000000,
	      "Datagrams accepted per source IP address (an IPv6 source: per /64) per window for "
	      "gateways not bound to it (new EUIs, EUIs bound elsewhere); a gateway speaking from "
	      "its own address counts only against its own limit. 0 disables it."),
	S_INT("udp.max_gateways_per_address", udp_max_gateways_per_address, 16, 0, 1048576,
	      "Gateways one source IP address (an IPv6 source: its /64) may speak for (raise it "
	      "for many gateways behind one NAT); 0 = no limit."),
	S_BOOL("udp.forward_crc_error", udp_forward_crc_error, false,
	       "Publish frames received with a bad CRC (rxpk stat != 1) as gateway events (not "
	       "with mqtt.gateway_frames = \"none\")."),

	S_STR("mqtt.host", mqtt_host, "127.0.0.1", check_nonempty, 0, "MQTT broker host name or address."),
	S_U16("mqtt.port", mqtt_port, 1883, 1, 65535, "MQTT broker port (usually 8883 with TLS)."),
	S_STR("mqtt.client_id", mqtt_client_id, "lorabridge", check_topic_level, 0,
	      "MQTT client identifier, also {client_id} in the bridge topic."),
	S_STR("mqtt.username", mqtt_username, NULL, NULL, CS_F_OPTIONAL, "MQTT user name."),
	S_STR("mqtt.password", mqtt_password, NULL, NULL, CS_F_OPTIONAL | CS_F_SECRET,
	      "MQTT password (needs mqtt.username)."),
	S_STR("mqtt.ca_file", mqtt_ca_file, NULL, NULL, CS_F_OPTIONAL | CS_F_FILE,
	      "CA certificate (PEM) to verify the broker; setting it enables TLS."),
	S_STR("mqtt.cert_file", mqtt_cert_file, NULL, NULL, CS_F_OPTIONAL | CS_F_FILE,
	      "Client certificate (PEM) for mutual TLS; needs mqtt.key_file and mqtt.ca_file."),
	S_STR("mqtt.key_file", mqtt_key_file, NULL, NULL, CS_F_OPTIONAL | CS_F_FILE,
	      "Client private key (PEM) for mutual TLS; needs mqtt.cert_file."),
	S_INT("mqtt.qos", mqtt_qos, 1, 0, 2, "QoS of every published message."),
	S_INT("mqtt.keepalive_s", mqtt_keepalive_s, 60, 5, 65535, "MQTT keepalive in seconds."),
	S_STR("mqtt.topic_prefix", mqtt_topic_prefix, "", check_topic_prefix, 0,
	      "Prepended to every topic, e.g. \"eu868/\"."),
	S_BOOL("mqtt.publish_fields", mqtt_publish_fields, false,
	       "On each uplink with decoded values (object), also publish each field's value "
	       "alone, retained, on mqtt.topics.device_field (for dashboards that show a topic's "
	       "raw value)."),
	S_CHOICE("mqtt.gateway_frames", mqtt_gateway_frames, LB_GWF_UNKNOWN, gateway_frames,
		 "Which received frames are published as gateway `up` events: \"all\"; "
		 "\"unknown\", only those no configured device accepts (unknown DevAddr or "
		 "DevEUI, MIC failure, undecodable: a device's accepted uplinks go out as its own "
		 "`up` event); \"none\". Bad-CRC frames: udp.forward_crc_error."),
	S_INT("mqtt.airtime_state_pct", mqtt_airtime_state_pct, 1, 0, 100,
	      "The retained state/airtime message is republished when the uplink airtime used "
	      "moved by this percentage of the budget, when the 80 % mark is crossed, another "
	      "field changed (budget, downlinks, exceeded), or 5 minutes after the last one if "
	      "anything changed; 0 republishes it on every change."),
	S_STR("mqtt.topics.device_event", mqtt_topic_device_event,
	      "application/{application}/device/{dev_eui}/event/{event}", check_topic_device, 0,
	      "Topic of device events (up, join, ack, txack, log, status); it must contain "
	      "{dev_eui} and {event}. {application} is the application's name, "
	      "{application_id} its applicationId (the UUID of the events' deviceInfo, which "
	      "ChirpStack's topics carry): "
	      "\"application/{application_id}/device/{dev_eui}/event/{event}\" is ChirpStack's "
	      "topic."),
	S_STR("mqtt.topics.device_state", mqtt_topic_device_state,
	      "application/{application}/device/{dev_eui}/state/{state}", check_topic_dev_state, 0,
	      "Topic of retained device state; {state} is \"airtime\" (fair-access budget); "
	      "{application_id} as in mqtt.topics.device_event."),
	S_STR("mqtt.topics.device_command", mqtt_topic_device_command,
	      "application/{application}/device/{dev_eui}/command/{command}", check_topic_command, 0,
	      "Topic the bridge subscribes to for commands, with {command} = \"down\" (downlinks). "
	      "Its {application} level takes the application's name or its applicationId "
	      "(ChirpStack's command topic carries the UUID), {application_id} only the UUID."),
	S_STR("mqtt.topics.gateway_event", mqtt_topic_gateway_event,
	      "gateway/{gateway_id}/event/{event}", check_topic_gw_event, 0,
	      "Topic of gateway events (stats, raw frames)."),
	S_STR("mqtt.topics.gateway_state", mqtt_topic_gateway_state,
	      "gateway/{gateway_id}/state/{state}", check_topic_gw_state, 0,
	      "Topic of the retained gateway state; {state} is \"conn\"."),
	S_STR("mqtt.topics.bridge", mqtt_topic_bridge, "lorabridge/{client_id}/{event}",
	      check_topic_bridge, 0, "Topic of the bridge's own events (state, stats)."),
	S_STR("mqtt.topics.device_field", mqtt_topic_device_field,
	      "application/{application}/device/{dev_eui}/object/{field}", check_topic_field, 0,
	      "Topic of one decoded field of a device when mqtt.publish_fields is on; {field} is "
	      "the flattened field name, e.g. \"temperatureSensor_1\"; {application_id} as in "
	      "mqtt.topics.device_event."),
	S_INT("mqtt.queue_limit", mqtt_queue_limit, 10000, 1, 10000000,
	      "Messages kept in memory while the broker is unreachable; the oldest are dropped "
	      "beyond. Uplink events are not: they wait in the outbox, of which this many are "
	      "kept in memory. An overloaded bridge (its loop busy 90 % of the last second) whose "
	      "broker, connected and acknowledging, is this many uplink events behind stops "
	      "reading the gateways until half as many wait, about 1 s at most at a time (README "
	      "\"Overload\"): the kernel drops the excess (drops.udpKernel) instead of the "
	      "outbox after all the work."),
	S_INT("mqtt.outbox_limit_mb", mqtt_outbox_limit_mb, 64, 1, 65536,
	      "Size of the outbox in MiB: uplink events waiting in the state directory for the "
	      "broker's acknowledgement; beyond it new uplink events are dropped and counted."),
	S_INT("mqtt.stats_interval_s", mqtt_stats_interval_s, 60, 0, 86400,
	      "Period of the bridge statistics event in seconds; 0 disables it."),

	S_BOOL("home_assistant.discovery", hass_discovery, false,
	       "Announce each device's decoded fields, RSSI, SNR and last-seen time to Home "
	       "Assistant by MQTT discovery (retained configs whose state topic is the device's "
	       "up event)."),
	S_STR("home_assistant.prefix", hass_prefix, "homeassistant", check_hass_prefix, 0,
	      "Home Assistant's discovery prefix: configs go to {prefix}/sensor/..., and "
	      "{prefix}/status \"online\" makes the bridge announce them again."),

	S_STR("http.bind", http_bind, "127.0.0.1", check_bind, 0,
	      "Local address of the web page and its API (the http group turns them on; absent, "
	      "no HTTP server runs). Another address than a loopback one needs http.password."),
	S_U16("http.port", http_port, 8080, 1, 65535, "TCP port of the web page and its API."),
	S_STR("http.password", http_password, NULL, check_pwhash, CS_F_OPTIONAL | CS_F_SECRET,
	      "Hash of the password that allows writes (queueing downlinks), made by `lorabridge "
	      "passwd`; clients send the password as \"Authorization: Bearer PASSWORD\". "
	      "Absent: the API is read-only."),
	S_STR("http.www_dir", http_www_dir, "/usr/share/lorabridge/www", check_absolute, 0,
	      "Directory of the web page's files."),
	S_STR("http.hosts", http_hosts, NULL, check_hosts, CS_F_OPTIONAL,
	      "Host names by which browsers reach the page, besides localhost and IP addresses "
	      "(e.g. \"gateway.lan, gw1\"): a request whose Host header is another name is "
	      "refused with 421 (DNS rebinding)."),
	S_INT("http.max_clients", http_max_clients, 32, 4, 1024,
	      "HTTP connections at once (live /events streams included; 2 are kept for other "
	      "requests, a quarter at most for one client address); more wait."),

	S_ENUM("region", region, "EU868", regions,
	       "LoRaWAN regional parameters (data rates, channels, receive windows, duty cycle): "
	       "RP002-1.0.4's EU868, US915, AU915, AS923-1 to AS923-4 (\"AS923\" is AS923-1), "
	       "KR920 or IN865."),
	{.path = "net_id", .type = CS_HEX, .offset = CFG_OFF(net_id, uint32_t), .hex_bytes = 3,
	 .icheck = check_net_id,
	 .help = "NetID, 6 hex digits (000000 and 000001 are for private networks); OTAA DevAddrs "
		 "are allocated in its address space. Its RFU bits must be 0."},
	S_INT("dedup_window_ms", dedup_window_ms, 200, 0, 10000,
	      "Time to collect copies of an uplink from several gateways before publishing."),
	S_INT("codec_timeout_ms", codec_timeout_ms, 100, 1, 5000,
	      "Longest run of one JavaScript codec call, in CPU time (time other processes take "
	      "does not count); a call that runs longer is stopped and its uplink published "
	      "without `object` (log event UPLINK_CODEC)."),
	S_INT("codec_memory_kb", codec_memory_kb, 8192, 256, 262144,
	      "Heap one JavaScript codec may use; a call that needs more fails like a timeout. A "
	      "script whose load needs more is not loaded (logged; a changed one keeps its old "
	      "version at a reload)."),

	S_BOOL("region_dwell_time.uplink", region_uplink_dwell, true,
	       "AS923, and AU915 (LoRaWAN 1.0.3 and later); ignored elsewhere and for older AU915 "
	       "devices, which have no dwell limit. The devices keep each 125 kHz uplink within "
	       "400 ms (UplinkDwellTime = 1: no DR0/DR1, smaller payloads at DR2-DR4); a longer "
	       "uplink is reported as DWELL_TIME. RP002-1.0.4 §2.3 leaves it to the country's "
	       "rules in AS923; AU915 devices start with it (§2.8.2). On by default, the safe "
	       "side. The bridge does not send TxParamSetupReq: set it to what the devices use."),
	S_BOOL("region_dwell_time.downlink", region_downlink_dwell, false,
	       "AS923 only (ignored elsewhere; AU915 downlinks are 500 kHz): keep each downlink "
	       "within 400 ms (DownlinkDwellTime = 1): the smaller payload limits, no downlink at "
	       "DR0/DR1, RX1 never below DR2. Off by default: RP002 devices start with "
	       "DownlinkDwellTime = 0 (RP002-1.0.4 §2.3). AS923 devices of Regional Parameters "
	       "1.0.2revB, and LoRaMac-node builds for 1.0.3revA, start with 1 and keep it (the "
	       "bridge sends no TxParamSetupReq): set it true for such devices."),

	S_STR("downlink.join_cflist", downlink_join_cflist, "auto", check_cflist, 0,
	      "Extra uplink channels given to OTAA devices in the join-accept CFList: \"auto\" "
	      "(EU868: 867.1, 867.3, 867.5, 867.7, 867.9 MHz, the channel plan of Semtech's "
	      "reference configuration; US915 and AU915: the channel mask of downlink.sub_band, "
	      "CFList type 1, to devices of lorawan_version 1.0.3 and later, so they use it from "
	      "their first uplink (a LinkADRReq confirms it then); other regions: none, devices keep the region's default "
	      "channels), \"none\" (no CFList: US915/AU915 devices get the mask by LinkADRReq "
	      "at their first uplink), or up to 5 frequencies in MHz separated by commas (EU868, "
	      "KR920 and IN865: channels 3-7; AS923: channels 2-6), each within the region's "
	      "band (not in US915 and AU915). ABP devices get the same channels with "
	      "NewChannelReq (netmac)."),
	S_INT("downlink.delay_ms", downlink_delay_ms, 100, 0, 900,
	      "Wait after an uplink before choosing what to send, so an application can answer "
	      "in RX1."),
	S_INT("downlink.queue_limit", downlink_queue_limit, 16, 1, 256,
	      "Downlinks queued per device; a command beyond is refused."),
	S_INT("downlink.rx1_dr_offset", downlink_rx1_dr_offset, 0, 0, 7,
	      "RX1 data-rate offset, sent to OTAA devices in the join-accept and pushed to ABP "
	      "devices with RXParamSetupReq (netmac; 0 until they confirm); must be valid in the "
	      "region (0-5; AS923 and IN865 0-7, where 6 and 7 raise the RX1 data rate above the "
	      "uplink's; US915 0-3)."),
	S_INT("downlink.rx_delay_s", downlink_rx_delay_s, 1, 1, 15,
	      "RX1 delay in seconds, sent to OTAA devices in the join-accept and pushed to ABP "
	      "devices with RXTimingSetupReq (netmac; 1 s until they confirm); RX2 opens one "
	      "second later."),
	S_OPT_INT("downlink.rx2_frequency", downlink_rx2_frequency, has_downlink_rx2_frequency,
		  137000000, 1020000000,
		  "RX2 frequency in Hz, inside the region's band; absent = the region's default. "
		  "Pushed to ABP and OTAA devices with RXParamSetupReq (netmac; the region's until "
		  "they confirm: the join-accept does not carry it)."),
	S_OPT_INT("downlink.rx2_dr", downlink_rx2_dr, has_downlink_rx2_dr, 0, 15,
		  "RX2 data rate (a downlink DR of the region), sent to OTAA devices in the "
		  "join-accept and pushed to ABP devices (and to joined OTAA devices when it changed "
		  "since their join) with RXParamSetupReq (netmac; the region's until they "
		  "confirm); absent = the region's default."),
	S_INT("downlink.tx_ack_timeout_ms", downlink_tx_ack_timeout_ms, 3000, 100, 60000,
	      "Time to wait for a gateway's TX_ACK before counting the downlink as lost."),
	S_INT("downlink.class_c_ack_timeout_s", downlink_class_c_ack_timeout_s, 30, 1, 86400,
	      "Class C: time to wait for the uplink that acknowledges a confirmed downlink before "
	      "it is sent again (or reported acknowledged:false)."),
	S_INT("downlink.class_c_retries", downlink_class_c_retries, 2, 0, 10,
	      "Class C: times an unacknowledged confirmed downlink is sent again, each with a new "
	      "FCntDown."),

	S_INT("downlink.sub_band", downlink_sub_band, 2, 1, 8,
	      "US915/AU915: the 8-channel sub-band the gateways listen on (2 = channels 8-15 and "
	      "65, as common 8-channel gateways); the channel mask of LinkADRReq (RP002-1.0.4 "
	      "\"US902-928 LinkAdrReq command\"). Other regions ignore it."),
	S_INT("adr.installation_margin_db", adr_installation_margin_db, 10, 0, 30,
	      "ADR: link margin in dB kept above the demodulation floor of the data rate "
	      "(devices whose adr is true and whose uplinks set the ADR bit)."),
	S_INT("adr.max_unanswered", adr_max_unanswered, 3, 1, 20,
	      "ADR and the other MAC requests: tries of a request the device does not answer "
	      "before the bridge stops asking for adr.backoff_h (logged once)."),
	S_INT("adr.backoff_h", adr_backoff_h, 24, 1, 168,
	      "Hours without a request to a device that left adr.max_unanswered of them "
	      "unanswered."),

	S_INT("fair_access.uplink_airtime_ms", fair_access.uplink_airtime_ms, 30000, 1, 604800000,
	      "Uplink airtime budget of each device per window, in ms (TTN: 30 s per 24 h)."),
	S_INT("fair_access.downlinks", fair_access.downlinks, 10, 1, 1000000,
	      "Downlinks per device per window, acknowledgements included."),
	S_INT("fair_access.window_hours", fair_access.window_hours, 24, 1, 168,
	      "Length of the rolling fair-access window in hours."),
	S_CHOICE("fair_access.action", fair_access.action, LB_FA_WARN, fa_actions,
		 "Beyond a budget: warn (everything flows, events say exceeded) or enforce "
		 "(uplinks not published, downlinks refused)."),

	S_STR("state_dir", state_dir, "/var/lib/lorabridge", check_absolute, 0,
	      "Directory of the durable state (SQLite: sessions, downlink queue, fair-access "
	      "ledgers, the outbox of uplink events); created if missing."),
	S_INT("state.commit_ms", state_commit_ms, 200, 10, 10000,
	      "Group-commit interval of the state in ms: changes are written in one transaction "
	      "per interval (sooner when a batch reaches 4 MiB)."),
	S_INT("state.sync_hang_ms", state_sync_hang_ms, 20000, 1000, 600000,
	      "A sync in the state directory (the WAL's, the state marker's or a closing "
	      "checkpoint pass's) still in flight after this many ms means that the disk hangs: "
	      "the bridge logs it (error, then again after doubling intervals, at most once a "
	      "minute) and stops notifying systemd's watchdog, so that systemd restarts it. "
	      "Events wait for their sync meanwhile. Raise it for a disk that is only slow (an "
	      "SD card under write-back pressure); it does not depend on WatchdogSec. An open "
	      "checkpoint pass still at work after three times this is logged (warning, with the "
	      "same back-off) and its end once."),
	S_INT("quiet_release_ms", quiet_release_ms, 5000, 0, 3600000,
	      "After this many ms with no frame and no downlink command, and nothing waiting to "
	      "be published or written, the bridge gives back what traffic grew: SQLite's page "
	      "cache and redo log, the prepared keys of the key cache, the receive buffers, the "
	      "de-duplication and downlink slots, the TX_ACK table, the pooled message blocks, "
	      "then the heap's free pages. It costs about 1 ms of the loop, and the next frames "
	      "prepare their device's keys again and read pages back. A sparse fleet with more "
	      "than this between frames releases between frames: raise it, or set 0 to never "
	      "release."),
	S_ENUM("log_level", log_level, "info", log_levels, "Least severe level that is logged."),
};

const size_t config__n_schema = sizeof(config__schema) / sizeof(config__schema[0]);

int config__schema_find(const char *path)
{
	for (size_t i = 0; i < config__n_schema; i++)
		if (!strcmp(config__schema[i].path, path))
			return (int)i;
	return -1;
}

bool config__schema_is_group(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < config__n_schema; i++)
		if (!strncmp(config__schema[i].path, path, n) && config__schema[i].path[n] == '.')
			return true;
	return false;
}

#define DEV_OFF(f, T) \
	(offsetof(struct lb_device_conf, f) + 0 * sizeof(&((struct lb_device_conf *)0)->f == (T *)0))
/* Same for an array field: its elements have type T. */
#define DEV_ARR(f, T) \
	(offsetof(struct lb_device_conf, f) + 0 * sizeof(((struct lb_device_conf *)0)->f == (T *)0))

/* Indexes are enum join_version (join.h). */
static const char *const lw_versions[] = {"1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", NULL};
_Static_assert(JOIN_V1_0_0 == 0 && JOIN_V1_0_3 == 3 && JOIN_V1_0_4 == 4, "lw_versions[] order");

const char *const config__codec_names[] = {"none", "cayennelpp", "js", NULL};
_Static_assert(LB_CODEC_NONE == 0 && LB_CODEC_CAYENNELPP == 1 && LB_CODEC_JS == 2,
	       "config__codec_names[] order");

const char *const config__class_names[] = {"A", "C", NULL};
_Static_assert(LB_CLASS_A == 0 && LB_CLASS_C == 1, "config__class_names[] order");

const struct csd_field config__device_fields[] = {
	{.name = "name", .type = CSD_STRING, .offset = DEV_OFF(name, char *),
	 .check = check_nonempty, .flags = CSD_F_REQUIRED,
	 .help = "Device name, unique (deviceName in events)."},
	{.name = "application", .type = CSD_STRING, .offset = DEV_OFF(application, char *),
	 .def_str = "default", .check = check_topic_level,
	 .help = "Application name, {application} in the device topics."},
	{.name = "dev_eui", .type = CSD_EUI, .offset = DEV_OFF(dev_eui, uint64_t),
	 .flags = CSD_F_REQUIRED, .help = "DevEUI, 16 hex digits, unique."},
	{.name = "lorawan_version", .type = CSD_CHOICE, .offset = DEV_OFF(lorawan_version, int),
	 .def_str = "1.0.3", .choices = lw_versions,
	 .help = "LoRaWAN version of the device; a 1.0.4 device's join DevNonce must be greater "
		 "than its last one, older versions only need an unused one; a 1.0.4 device with "
		 "ADR off gets the US915/AU915 channel mask with DR and TX power 15 (keep)."},
	{.name = "regional_parameters", .type = CSD_CHOICE,
	 .offset = DEV_OFF(regional_parameters, int), .choices = region_rp_names,
	 .help = "Regional Parameters revision the device is built to: its RX1 data rate (AS923 "
		 "and IN865 devices of 1.0.2revB and 1.0.3revA listen at DR5 at most), its "
		 "downlink size limits (AS923 DR2 before RP002-1.0.1: 51 bytes) and the lowest TX "
		 "power ADR asks for (US915/AU915 1.0.2revB: TXPower 10); absent = its "
		 "application's, else from lorawan_version: 1.0.4 RP002-1.0.4, 1.0.3 1.0.3revA, "
		 "older 1.0.2revB."},
	{.name = "dev_addr", .type = CSD_ADDR, .offset = DEV_OFF(dev_addr, uint32_t),
	 .flags = CSD_F_ABP,
	 .help = "ABP device address, 8 hex digits (may be shared by several devices)."},
	{.name = "nwk_s_key", .type = CSD_KEY, .offset = DEV_ARR(nwk_s_key, uint8_t),
	 .flags = CSD_F_ABP | CSD_F_SECRET, .help = "ABP network session key, 32 hex digits."},
	{.name = "app_s_key", .type = CSD_KEY, .offset = DEV_ARR(app_s_key, uint8_t),
	 .flags = CSD_F_ABP | CSD_F_SECRET, .help = "ABP application session key, 32 hex digits."},
	{.name = "join_eui", .type = CSD_EUI, .offset = DEV_OFF(join_eui, uint64_t),
	 .flags = CSD_F_OTAA, .help = "OTAA JoinEUI (AppEUI), 16 hex digits."},
	{.name = "app_key", .type = CSD_KEY, .offset = DEV_ARR(app_key, uint8_t),
	 .flags = CSD_F_OTAA | CSD_F_SECRET, .help = "OTAA root key AppKey, 32 hex digits."},
	{.name = "fcnt_up", .type = CSD_U32, .offset = DEV_OFF(fcnt_up, uint32_t),
	 .has_offset = DEV_OFF(has_fcnt_up, bool),
	 .help = "Optional: first uplink frame counter to accept (0..4294967295)."},
	{.name = "fair_access", .type = CSD_OVERRIDE,
	 .offset = DEV_OFF(fair_access, struct lb_fair_access), .has_offset = DEV_OFF(fa_set, unsigned),
	 .cfg_offset = CFG_OFF(fair_access, struct lb_fair_access),
	 .help = "Optional: this device's own fair-access policy, e.g. { downlinks = 20; }; keys "
		 "not given keep the global fair_access values."},
	{.name = "tags", .type = CSD_TAGS, .offset = DEV_ARR(tags, struct lb_tag),
	 .help = "Optional group of string tags copied into events, e.g. { room = \"B12\"; }."},
	{.name = "codec", .type = CSD_CHOICE, .offset = DEV_OFF(codec, int), .def_str = "none",
	 .choices = config__codec_names,
	 .help = "Payload codec that decodes uplinks into the `object` of `up` events (and "
		 "encodes `object` downlinks); absent = its application's codec."},
	{.name = "codec_script", .type = CSD_FILE, .offset = DEV_OFF(codec_script, char *),
	 .help = "JavaScript file of the \"js\" codec, relative to the configuration file's "
		 "directory; absent = its application's."},
	{.name = "class", .type = CSD_CHOICE, .offset = DEV_OFF(dev_class, int), .def_str = "A",
	 .choices = config__class_names,
	 .help = "LoRaWAN device class: \"A\" (downlinks only after its uplinks) or \"C\" "
		 "(listens all the time: downlinks leave as soon as they are queued); absent = its "
		 "application's."},
	{.name = "adr", .type = CSD_BOOL, .offset = DEV_OFF(adr, bool), .def_str = "true",
	 .help = "Network-side ADR: when the device sets the ADR bit, LinkADRReq moves it to the "
		 "fastest data rate and lowest TX power its link allows (see adr.*); false = "
		 "leave its data rate alone (in US915/AU915 it still gets the sub-band's channel "
		 "mask)."},
	{.name = "status_interval_h", .type = CSD_INT, .offset = DEV_OFF(status_interval_h, int),
	 .def_int = 24, .min = 0, .max = 8760,
	 .help = "Hours between DevStatusReq (battery and margin, `status` events); a device "
		 "whose status is unknown is asked at its first uplink; 0 = never; absent = its "
		 "application's, else 24."},
};

const size_t config__n_device_fields = sizeof(config__device_fields) / sizeof(config__device_fields[0]);
_Static_assert(sizeof(config__device_fields) / sizeof(config__device_fields[0]) <= 32,
	       "device fields are tracked in an unsigned bit mask");

int config__device_field_find(const char *name)
{
	for (size_t i = 0; i < config__n_device_fields; i++)
		if (!strcmp(config__device_fields[i].name, name))
			return (int)i;
	return -1;
}
