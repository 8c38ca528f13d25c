/*
 * config.h - lorabridge configuration (libconfig file), driven by one schema
 * table in config.c that is the single source for parsing, validation,
 * --check-config, --print-config and the documentation of every setting.
 *
 * Ownership: config_load() fills a struct lb_config whose strings and arrays
 * are heap-allocated; config_free() releases them and zeroes the struct.
 */
#ifndef LB_CONFIG_H
#define LB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH "/etc/lorabridge/lorabridge.conf"
#define CONFIG_MAX_TAGS 16

enum lb_activation { LB_ACT_ABP = 0, LB_ACT_OTAA = 1 };

struct lb_tag {
	char *key;
	char *value;
};

/* One entry of the `devices` list. Hex keys decoded to bytes. */
struct lb_device_conf {
	char *name;
	char *application;             /* default "default" */
	uint64_t dev_eui;
	enum lb_activation activation;  /* ABP when dev_addr + keys are given */
	uint32_t dev_addr;
	uint8_t nwk_s_key[16];
	uint8_t app_s_key[16];
	bool has_fcnt_up;
	uint32_t fcnt_up;               /* next uplink counter to accept from */
	struct lb_tag tags[CONFIG_MAX_TAGS];
	size_t n_tags;
	int line;                       /* source line, for messages */
};

struct lb_config {
	char *path;

	/* udp */
	char *udp_bind;                 /* "127.0.0.1" */
	uint16_t udp_port;              /* 1700 */
	int udp_rcvbuf;                 /* bytes, 0 = system default */
	uint64_t *udp_allow;            /* gateway EUI allow-list, NULL = all */
	size_t n_udp_allow;
	int udp_keepalive_s;            /* expected PULL_DATA period (10) */
	int udp_offline_after;          /* missed keepalive periods before offline (3) */
	int udp_rate_limit_count;       /* datagrams per window per gateway, 0 = off (10) */
	int udp_rate_limit_window_ms;   /* (10) */
	bool udp_forward_crc_error;     /* publish rxpk with stat != 1 as gateway events (false) */

	/* mqtt */
	char *mqtt_host;                /* "127.0.0.1" */
	uint16_t mqtt_port;             /* 1883 */
	char *mqtt_client_id;           /* "lorabridge" */
	char *mqtt_username, *mqtt_password;  /* NULL = none */
	char *mqtt_ca_file, *mqtt_cert_file, *mqtt_key_file;  /* NULL = no TLS */
	int mqtt_qos;                   /* 1 */
	int mqtt_keepalive_s;           /* 60 */
	char *mqtt_topic_prefix;        /* "" */
	char *mqtt_topic_device_event;  /* "application/{application}/device/{dev_eui}/event/{event}" */
	char *mqtt_topic_gateway_event; /* "gateway/{gateway_id}/event/{event}" */
	char *mqtt_topic_gateway_state; /* "gateway/{gateway_id}/state/conn" */
	char *mqtt_topic_bridge;        /* "lorabridge/{client_id}/{event}" */
	int mqtt_queue_limit;           /* 10000 messages */
	int mqtt_stats_interval_s;      /* 60 */

	/* top level */
	char *region;                   /* "EU868" */
	int dedup_window_ms;            /* 200 */
	char *state_dir;                /* "/var/lib/lorabridge" */
	char *log_level;                /* "info" */

	struct lb_device_conf *devices;
	size_t n_devices;
};

/* A problem found while loading: "FILE:LINE: message". */
struct config_problem {
	char *file;
	int line;
	bool is_error;                  /* false = warning (unknown key) */
	char *message;
};

struct config_report {
	struct config_problem *items;
	size_t n;
	size_t n_errors;
};

/* Fill cfg with every default (no file). */
void config_defaults(struct lb_config *cfg);

/*
 * Load and validate FILE. Every problem is appended to `report` (may be
 * NULL). Returns LB_OK, LB_ERR_IO (unreadable), LB_ERR_CONFIG (syntax or
 * validation errors; cfg is then freed and zeroed).
 */
int config_load(const char *path, struct lb_config *cfg, struct config_report *report);

/* Print problems as "FILE:LINE: error: message" / "warning: ...". */
void config_report_print(const struct config_report *r, FILE *out);
void config_report_free(struct config_report *r);

/* Print the effective configuration, every setting with its value, in
 * libconfig syntax that config_load() reads back. Keys are redacted unless
 * show_secrets. */
void config_print(const struct lb_config *cfg, FILE *out, bool show_secrets);

void config_free(struct lb_config *cfg);

#endif
