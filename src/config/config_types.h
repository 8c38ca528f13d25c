/* SPDX-License-Identifier: MIT */
/*
 * config_types.h - the configuration as data: struct lb_config with its
 * device entries and fair-access policies, and the limits and enums they
 * use. No functions; config.h describes how the struct is filled (and
 * freed) and what the values mean.
 *
 * Ownership: the strings and arrays of a filled struct lb_config are
 * heap-allocated and released by config_free().
 */
#ifndef LB_CONFIG_TYPES_H
#define LB_CONFIG_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/netaddr.h"
#include "base/tag.h"

#define CONFIG_DEFAULT_PATH "/etc/lorabridge/lorabridge.conf"
#define CONFIG_MAX_TAGS 16

enum lb_activation { LB_ACT_ABP = 0, LB_ACT_OTAA = 1 };

/* fair_access.action; same values as enum fa_action (fairaccess.h). */
enum lb_fa_action { LB_FA_WARN = 0, LB_FA_ENFORCE = 1 };

/* mqtt.gateway_frames: which received frames go out as gateway `up` events. */
enum lb_gateway_frames { LB_GWF_ALL = 0, LB_GWF_UNKNOWN = 1, LB_GWF_NONE = 2 };

/*
 * A fair-access policy: the global `fair_access` group, and each
 * device's effective policy (its own keys, the global values for the rest).
 * Every member is an int, in this order: bit i of lb_device_conf.fa_set is
 * the i-th member (LB_FA_SET_*).
 */
struct lb_fair_access {
	int uplink_airtime_ms;          /* 30000 per window */
	int downlinks;                  /* 10 per window, acknowledgements included */
	int window_hours;               /* 24, 1..168 */
	int action;                     /* enum lb_fa_action, LB_FA_WARN */
};

#define LB_FA_SET_UPLINK_AIRTIME_MS 0x1u
#define LB_FA_SET_DOWNLINKS 0x2u
#define LB_FA_SET_WINDOW_HOURS 0x4u
#define LB_FA_SET_ACTION 0x8u

/* devices[].codec, applications[].codec: what turns an uplink's bytes
 * into the `object` of its `up` event. */
enum lb_codec { LB_CODEC_NONE = 0, LB_CODEC_CAYENNELPP = 1, LB_CODEC_JS = 2 };

/* devices[].class, applications[].class: class A (listens only after its
 * uplinks) or class C (listens continuously, TS001-1.0.4 §17). */
enum lb_class { LB_CLASS_A = 0, LB_CLASS_C = 1 };

/* One entry of the `applications` list: defaults its devices inherit. */
struct lb_app_conf {
	char *name;                     /* the devices' `application` */
	char *id;                       /* applicationId (a UUID), NULL = unset */
	int codec;                      /* enum lb_codec */
	bool codec_set;                 /* codec given in the entry */
	char *codec_script;             /* absolute path, NULL = unset */
	int dev_class;                  /* enum lb_class */
	bool class_set;                 /* class given in the entry */
	bool status_interval_set;
	int status_interval_h;          /* its devices' DevStatusReq period */
	bool rp_set;                    /* regional_parameters given in the entry */
	int regional_parameters;        /* enum region_rp of its devices that set none */
	int line;
};

/* One entry of the `devices` list. Hex keys decoded to bytes. */
struct lb_device_conf {
	char *name;
	char *application;             /* default "default" */
	char *application_id;          /* applications[].id (a UUID), NULL = unset */
	uint64_t dev_eui;
	enum lb_activation activation;  /* ABP when dev_addr + keys are given,
					 * OTAA when only join_eui + app_key */
	uint32_t dev_addr;
	uint8_t nwk_s_key[16];
	uint8_t app_s_key[16];
	uint64_t join_eui;              /* OTAA (activation LB_ACT_OTAA) */
	uint8_t app_key[16];            /* OTAA root key */
	int lorawan_version;            /* enum join_version (join.h): 0 = "1.0.0" ..
					 * 4 = "1.0.4"; default 3 ("1.0.3") */
	int regional_parameters;        /* enum region_rp (lorawan/region.h): own, else its
					 * application's, else region_rp_default(lorawan_version) */
	bool has_fcnt_up;
	uint32_t fcnt_up;               /* next uplink counter to accept from */
	struct lb_tag *tags;            /* n_tags entries (owned; up to CONFIG_MAX_TAGS) */
	size_t n_tags;
	int codec;                      /* enum lb_codec: own, else its application's */
	char *codec_script;             /* absolute path: own, else its application's */
	int dev_class;                  /* enum lb_class: own, else its application's */
	unsigned fields_set;            /* bit i: device field i written in the entry */
	struct lb_fair_access fair_access;  /* effective: own keys, else global */
	unsigned fa_set;                /* LB_FA_SET_* keys set in the device's own
					 * fair_access group (not inherited) */
	bool adr;                       /* honour the device's ADR bit (true) */
	int status_interval_h;          /* DevStatusReq period: own, else its
					 * application's, else 24; 0 = never */
	int line;                       /* source line, for messages */
};

/*
 * One udp.allow entry: "EUI" admits the gateway from any address,
 * "EUI@ADDRESS" or "EUI@NETWORK/PREFIX" only from that host or network.
 * Several entries may name one EUI (any of them admits it).
 */
struct lb_gw_allow {
	uint64_t eui;
	bool pinned;                    /* net is valid */
	struct netprefix net;
};

/* integrations.http / integrations.influxdb entries (config_integ.h). */
enum lb_integ_kind { LB_INTEG_HTTP = 0, LB_INTEG_INFLUXDB = 1 };
/* integrations.http[].body */
enum lb_integ_body { LB_INTEG_BODY_EVENT = 0, LB_INTEG_BODY_OBJECT = 1 };

/* Integration entries at most (http and influxdb together): the stats
 * event reports each. */
#define LB_INTEGS_MAX 32
/* A webhook's `parallel` at most: requests in flight at once. */
#define LB_INTEG_PARALLEL_MAX 16

/* One integration: where events go over HTTP, and how hard to try. The
 * strings are NULL when unset; headers are HTTP only, database ..
 * batch_size InfluxDB only. */
struct lb_integ_conf {
	int kind;                       /* enum lb_integ_kind */
	char *name;                     /* default "http1", "influxdb1", ... */
	char *url;
	unsigned events;                /* bit i: config_integ_event_names[i] (HTTP) */
	int body;                       /* enum lb_integ_body */
	struct lb_tag *headers;         /* "Name: value" pairs sent with each request */
	size_t n_headers;
	char *database;                 /* InfluxDB 1.x */
	char *username;
	char *password;
	char *retention_policy;
	char *org;                      /* InfluxDB 2.x */
	char *bucket;
	char *token;
	char *ca_file;                  /* absolute path */
	bool tls_verify;
	int timeout_ms;
	int queue_limit;
	int retry_max_ms;
	int parallel;                   /* HTTP: requests in flight */
	int batch_size;                 /* InfluxDB: events per write */
	int line;
};

struct lb_config {
	char *path;

	/* udp */
	char *udp_bind;                 /* "127.0.0.1" */
	uint16_t udp_port;              /* 1700 */
	int udp_rcvbuf;                 /* bytes, 0 = system default */
	struct lb_gw_allow *udp_allow;  /* gateway allow-list, NULL = all */
	size_t n_udp_allow;
	int udp_keepalive_s;            /* expected PULL_DATA period (10) */
	int udp_offline_after;          /* missed keepalive periods before offline (3) */
	int udp_rebind_after_s;         /* silence of a gateway's bound address before
					 * another address may take its EUI (30) */
	int udp_rate_limit_count;       /* datagrams per window per gateway, 0 = off (10) */
	int udp_rate_limit_window_ms;   /* (10), 0 = off */
	int udp_address_rate_limit_count; /* per window per source address, for EUIs not
					 * bound to it (10), 0 = off */
	int udp_max_gateways_per_address; /* EUIs one address may speak for (16), 0 = any */
	bool udp_forward_crc_error;     /* publish rxpk with stat != 1 as gateway events (false) */

	/* mqtt */
	char *mqtt_host;                /* "127.0.0.1" */
	uint16_t mqtt_port;             /* 1883 */
	char *mqtt_client_id;           /* "lorabridge" */
	char *mqtt_username, *mqtt_password;  /* NULL = none */
	char *mqtt_ca_file, *mqtt_cert_file, *mqtt_key_file;  /* NULL = no TLS */
	int mqtt_qos;                   /* 1 */
	int mqtt_keepalive_s;           /* 60 */
	char *mqtt_topic_prefix;        /* "" (prepended to every topic, e.g. "eu868/") */
	/* "application/{application}/device/{dev_eui}/event/{event}" */
	char *mqtt_topic_device_event;
	char *mqtt_topic_gateway_event; /* "gateway/{gateway_id}/event/{event}" */
	/* "gateway/{gateway_id}/state/{state}" ({state} = "conn") */
	char *mqtt_topic_gateway_state;
	char *mqtt_topic_bridge;        /* "lorabridge/{client_id}/{event}" */
	/* "application/{application}/device/{dev_eui}/state/{state}",
	 * {state} = "airtime" (retained) */
	char *mqtt_topic_device_state;
	/* "application/{application}/device/{dev_eui}/command/{command}",
	 * subscribed with {command} = "down"; always contains {dev_eui} */
	char *mqtt_topic_device_command;
	/* "application/{application}/device/{dev_eui}/object/{field}": one
	 * retained message per decoded field when mqtt_publish_fields */
	char *mqtt_topic_device_field;
	bool mqtt_publish_fields;       /* false */
	int mqtt_gateway_frames;        /* enum lb_gateway_frames, LB_GWF_UNKNOWN */
	int mqtt_airtime_state_pct;     /* state/airtime step, % of the budget (1; 0: any change) */
	int mqtt_queue_limit;           /* 10000 messages */
	int mqtt_outbox_limit_mb;       /* 64 MiB of uplink events in the outbox */
	int mqtt_stats_interval_s;      /* 60, 0 = no periodic stats */

	/* home_assistant: MQTT discovery of the devices' decoded fields */
	bool hass_discovery;            /* false */
	char *hass_prefix;              /* "homeassistant" (Home Assistant's discovery_prefix) */

	/* http: the web page, its JSON API, /events, /metrics (web.h); only
	 * when the group is in the file (has_http) */
	bool has_http;
	char *http_bind;                /* "127.0.0.1" */
	uint16_t http_port;             /* 8080 */
	char *http_password;            /* pwhash.h hash, NULL = read-only */
	char *http_www_dir;             /* "/usr/share/lorabridge/www" */
	char *http_hosts;               /* names for Host, comma-separated; NULL = none */
	int http_max_clients;           /* 32 connections at once */

	/* top level */
	char *region;                   /* "EU868" */
	/* region_dwell_time (AS923, AU915): the 400 ms limits devices start with */
	bool region_uplink_dwell;       /* true: UplinkDwellTime = 1 */
	bool region_downlink_dwell;     /* false: DownlinkDwellTime = 0 (RP002-1.0.4 §2.3) */
	uint32_t net_id;                /* 24-bit NetID, 0x000000; RFU bits clear */
	int dedup_window_ms;            /* 200 */

	/* downlink (class A) */
	int downlink_delay_ms;          /* 100: wait after an uplink before choosing */
	int downlink_queue_limit;       /* 16 queued downlinks per device */
	int downlink_rx1_dr_offset;     /* 0 (join-accept DLSettings; ABP assumed) */
	int downlink_rx_delay_s;        /* 1 (join-accept RxDelay; ABP: always 1) */
	bool has_downlink_rx2_frequency;
	int downlink_rx2_frequency;     /* Hz; only if has_: else region default */
	bool has_downlink_rx2_dr;
	int downlink_rx2_dr;            /* only if has_: else region default */
	int downlink_tx_ack_timeout_ms; /* 3000 */
	int downlink_class_c_ack_timeout_s; /* 30: wait for a class C device's ACK */
	int downlink_class_c_retries;   /* 2: class C confirmed downlinks sent again */
	char *downlink_join_cflist;     /* "auto", "none" or "867.1,867.3,..." (MHz) */

	int downlink_sub_band;          /* US915/AU915: 8-channel sub-band 1..8 (2) */

	/* adr: the network side of ADR (daemon/netmac.h) */
	int adr_installation_margin_db; /* 10 */
	int adr_max_unanswered;         /* 3 LinkADRReq without an answer, then back off */
	int adr_backoff_h;              /* 24 */

	struct lb_fair_access fair_access;  /* global policy (defaults: TTN's) */

	char *state_dir;                /* "/var/lib/lorabridge" */
	int state_commit_ms;            /* 200: group-commit interval of the state */
	int state_sync_hang_ms;         /* 20000: a sync in flight this long: the disk hangs */
	int quiet_release_ms;           /* 5000: quiet this long, caches released; 0 never */
	char *log_level;                /* "info" */

	/* payload codecs */
	int codec_timeout_ms;           /* 100: longest run of one codec call */
	int codec_memory_kb;            /* 8192: heap of one JavaScript codec */

	struct lb_integ_conf *integs;   /* integrations.http, then integrations.influxdb */
	size_t n_integs;
	struct lb_app_conf *apps;       /* the `applications` list */
	size_t n_apps;
	struct lb_device_conf *devices;
	size_t n_devices;
};

/* The two forms of the settings reference (config_schema_print_reference()). */
enum config_ref_format {
	CONFIG_REF_MARKDOWN = 0,        /* README: | Setting | Type | Default | Description | */
	CONFIG_REF_MAN = 1              /* man page: troff .TP paragraphs */
};

#endif
