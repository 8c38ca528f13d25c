/* SPDX-License-Identifier: MIT */
/*
 * test_config.c - unit tests of the configuration module (config.c,
 * config_device.c, config_schema.c) against the fixture files in
 * TEST_DATA_DIR/config: defaults, a full valid file, one file per class of
 * error with the exact "FILE:LINE: error: ..." lines expected, the
 * print -> reload round trip, the reference output and etc/lorabridge.conf;
 * the downlink, fair-access and state settings, per-device
 * fair-access inheritance and the NetID RFU rule.
 */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_diff.h"
#include "config/config_integ.h"
#include "config/config_schema.h"
#include "lorawan/region.h"
#include "mac/join.h"
#include "base/lb_err.h"
#include "base/netaddr.h"
#include "testutil.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/unit/data"
#endif

static const char *data_dir(void)
{
	const char *env = getenv("TEST_DATA_DIR");
	return env && *env ? env : TEST_DATA_DIR;
}

/* etc/lorabridge.conf: TEST_ETC_DIR if defined, else found from the data dir. */
static const char *etc_conf(void)
{
	static char path[4096];
#ifdef TEST_ETC_DIR
	snprintf(path, sizeof(path), "%s/lorabridge.conf", TEST_ETC_DIR);
#else
	snprintf(path, sizeof(path), "%s/../../../etc/lorabridge.conf", data_dir());
#endif
	return path;
}

/* Path of a fixture; static buffer, valid until the next call. */
static const char *fixture(const char *name)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s/config/%s", data_dir(), name);
	return path;
}

static char *report_text(const struct config_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	config_report_print(r, f);
	fclose(f);
	return buf;
}

/*
 * Load the file at `path`, expect return code `rc` and exactly the problem
 * lines given (each "LINE: error: msg", the file prefix is added), in order.
 */
static void expect_problems_at(const char *path, int rc, const char *const *lines)
{
	struct lb_config cfg;
	struct config_report r = {0};
	char *want = NULL;
	size_t want_len = 0;
	FILE *w = open_memstream(&want, &want_len);

	for (size_t i = 0; lines[i]; i++)
		fprintf(w, "%s:%s\n", path, lines[i]);
	fclose(w);
	ck_assert_int_eq(config_load(path, &cfg, &r), rc);
	char *got = report_text(&r);
	ck_assert_str_eq(got, want);
	if (rc != LB_OK) {
		ck_assert_ptr_null(cfg.path);
		ck_assert_ptr_null(cfg.devices);
		ck_assert_ptr_null(cfg.mqtt_host);
	} else {
		config_free(&cfg);
	}
	free(got);
	free(want);
	config_report_free(&r);
}

static void expect_problems(const char *name, int rc, const char *const *lines)
{
	expect_problems_at(fixture(name), rc, lines);
}

/* Write text to a temporary file (name in tmpl, to unlink). */
static void write_temp(char *tmpl, const char *text)
{
	int fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* expect_problems() for a configuration given as text. */
static void expect_text(const char *text, int rc, const char *const *lines)
{
	char tmpl[] = "/tmp/test_config_XXXXXX";

	write_temp(tmpl, text);
	expect_problems_at(tmpl, rc, lines);
	unlink(tmpl);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void assert_device_equal(const struct lb_device_conf *a, const struct lb_device_conf *b)
{
	ck_assert(str_eq(a->name, b->name));
	ck_assert(str_eq(a->application, b->application));
	ck_assert_uint_eq(a->dev_eui, b->dev_eui);
	ck_assert_int_eq(a->activation, b->activation);
	ck_assert_uint_eq(a->dev_addr, b->dev_addr);
	ck_assert_mem_eq(a->nwk_s_key, b->nwk_s_key, 16);
	ck_assert_mem_eq(a->app_s_key, b->app_s_key, 16);
	ck_assert_uint_eq(a->join_eui, b->join_eui);
	ck_assert_mem_eq(a->app_key, b->app_key, 16);
	ck_assert_int_eq(a->has_fcnt_up, b->has_fcnt_up);
	ck_assert_uint_eq(a->fcnt_up, b->fcnt_up);
	ck_assert_int_eq(a->lorawan_version, b->lorawan_version);
	ck_assert_int_eq(a->regional_parameters, b->regional_parameters);
	ck_assert_int_eq(a->fair_access.uplink_airtime_ms, b->fair_access.uplink_airtime_ms);
	ck_assert_int_eq(a->fair_access.downlinks, b->fair_access.downlinks);
	ck_assert_int_eq(a->fair_access.window_hours, b->fair_access.window_hours);
	ck_assert_int_eq(a->fair_access.action, b->fair_access.action);
	ck_assert_uint_eq(a->fa_set, b->fa_set);
	ck_assert_int_eq(a->codec, b->codec);
	ck_assert(str_eq(a->codec_script, b->codec_script));
	ck_assert_int_eq(a->dev_class, b->dev_class);
	ck_assert(str_eq(a->application_id, b->application_id));
	ck_assert_uint_eq(a->n_tags, b->n_tags);
	for (size_t i = 0; i < a->n_tags; i++) {
		ck_assert_str_eq(a->tags[i].key, b->tags[i].key);
		ck_assert_str_eq(a->tags[i].value, b->tags[i].value);
	}
}

/* Every setting equal (not the path nor the source lines). */
static void assert_config_equal(const struct lb_config *a, const struct lb_config *b)
{
	for (size_t i = 0; i < config__n_schema; i++) {
		const struct cs_entry *e = &config__schema[i];
		const char *fa = (const char *)a + e->offset, *fb = (const char *)b + e->offset;
		switch (e->type) {
		case CS_STRING:
			ck_assert_msg(str_eq(*(char *const *)fa, *(char *const *)fb), "%s differs", e->path);
			break;
		case CS_INT:
			if (e->flags & CS_F_OPTIONAL) {
				bool ha = *(const bool *)((const char *)a + e->has_offset);
				bool hb = *(const bool *)((const char *)b + e->has_offset);
				ck_assert_msg(ha == hb, "%s: set differs", e->path);
				if (!ha)
					break;
			}
			/* fall through */
		case CS_CHOICE:
			ck_assert_msg(*(const int *)fa == *(const int *)fb, "%s differs", e->path);
			break;
		case CS_HEX:
			ck_assert_msg(*(const uint32_t *)fa == *(const uint32_t *)fb, "%s differs", e->path);
			break;
		case CS_U16:
			ck_assert_msg(*(const uint16_t *)fa == *(const uint16_t *)fb, "%s differs", e->path);
			break;
		case CS_BOOL:
			ck_assert_msg(*(const bool *)fa == *(const bool *)fb, "%s differs", e->path);
			break;
		case CS_GW_ALLOW:
			break;
		}
	}
	ck_assert_uint_eq(a->n_udp_allow, b->n_udp_allow);
	for (size_t i = 0; i < a->n_udp_allow; i++) {
		ck_assert_uint_eq(a->udp_allow[i].eui, b->udp_allow[i].eui);
		ck_assert_int_eq(a->udp_allow[i].pinned, b->udp_allow[i].pinned);
		ck_assert_uint_eq(a->udp_allow[i].net.bits, b->udp_allow[i].net.bits);
		ck_assert(netaddr_equal(&a->udp_allow[i].net.addr, &b->udp_allow[i].net.addr));
	}
	ck_assert_uint_eq(a->n_apps, b->n_apps);
	for (size_t i = 0; i < a->n_apps; i++) {
		ck_assert(str_eq(a->apps[i].name, b->apps[i].name));
		ck_assert(str_eq(a->apps[i].id, b->apps[i].id));
		ck_assert_int_eq(a->apps[i].codec_set, b->apps[i].codec_set);
		ck_assert_int_eq(a->apps[i].codec, b->apps[i].codec);
		ck_assert(str_eq(a->apps[i].codec_script, b->apps[i].codec_script));
		ck_assert_int_eq(a->apps[i].class_set, b->apps[i].class_set);
		ck_assert_int_eq(a->apps[i].dev_class, b->apps[i].dev_class);
		ck_assert_int_eq(a->apps[i].rp_set, b->apps[i].rp_set);
		ck_assert_int_eq(a->apps[i].regional_parameters, b->apps[i].regional_parameters);
	}
	ck_assert_uint_eq(a->n_devices, b->n_devices);
	for (size_t i = 0; i < a->n_devices; i++)
		assert_device_equal(&a->devices[i], &b->devices[i]);
}

/* Print cfg, load the text back, compare. */
static void assert_round_trip(const struct lb_config *cfg)
{
	char tmpl[] = "/tmp/test_config_XXXXXX";
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	config_print(cfg, f, true);
	fclose(f);
	write_temp(tmpl, text);
	free(text);

	struct lb_config back;
	struct config_report r = {0};
	int rc = config_load(tmpl, &back, &r);
	char *problems = report_text(&r);
	ck_assert_msg(rc == LB_OK && r.n == 0, "reload failed: %s", problems);
	assert_config_equal(cfg, &back);
	free(problems);
	config_report_free(&r);
	config_free(&back);
	unlink(tmpl);
}

START_TEST(test_defaults)
{
	struct lb_config c;
	ck_assert_int_eq(config_defaults(&c), LB_OK);
	ck_assert_ptr_null(c.path);
	ck_assert_str_eq(c.udp_bind, "127.0.0.1");
	ck_assert_uint_eq(c.udp_port, 1700);
	ck_assert_int_eq(c.udp_rcvbuf, 0);
	ck_assert_ptr_null(c.udp_allow);
	ck_assert_uint_eq(c.n_udp_allow, 0);
	ck_assert_int_eq(c.udp_keepalive_s, 10);
	ck_assert_int_eq(c.udp_offline_after, 3);
	ck_assert_int_eq(c.udp_rate_limit_count, 10);
	ck_assert_int_eq(c.udp_rate_limit_window_ms, 10);
	ck_assert(!c.udp_forward_crc_error);
	ck_assert_str_eq(c.mqtt_host, "127.0.0.1");
	ck_assert_uint_eq(c.mqtt_port, 1883);
	ck_assert_str_eq(c.mqtt_client_id, "lorabridge");
	ck_assert_ptr_null(c.mqtt_username);
	ck_assert_ptr_null(c.mqtt_password);
	ck_assert_ptr_null(c.mqtt_ca_file);
	ck_assert_ptr_null(c.mqtt_cert_file);
	ck_assert_ptr_null(c.mqtt_key_file);
	ck_assert_int_eq(c.mqtt_qos, 1);
	ck_assert_int_eq(c.mqtt_keepalive_s, 60);
	ck_assert_str_eq(c.mqtt_topic_prefix, "");
	ck_assert_str_eq(c.mqtt_topic_device_event,
			 "application/{application}/device/{dev_eui}/event/{event}");
	ck_assert_str_eq(c.mqtt_topic_gateway_event, "gateway/{gateway_id}/event/{event}");
	ck_assert_str_eq(c.mqtt_topic_gateway_state, "gateway/{gateway_id}/state/{state}");
	ck_assert_str_eq(c.mqtt_topic_bridge, "lorabridge/{client_id}/{event}");
	ck_assert_str_eq(c.mqtt_topic_device_state,
			 "application/{application}/device/{dev_eui}/state/{state}");
	ck_assert_str_eq(c.mqtt_topic_device_command,
			 "application/{application}/device/{dev_eui}/command/{command}");
	ck_assert_str_eq(c.mqtt_topic_device_field,
			 "application/{application}/device/{dev_eui}/object/{field}");
	ck_assert(!c.mqtt_publish_fields);
	ck_assert(!c.hass_discovery);
	ck_assert_str_eq(c.hass_prefix, "homeassistant");
	ck_assert_int_eq(c.mqtt_queue_limit, 10000);
	ck_assert_int_eq(c.mqtt_outbox_limit_mb, 64);
	ck_assert_int_eq(c.mqtt_stats_interval_s, 60);
	ck_assert_str_eq(c.region, "EU868");
	ck_assert_uint_eq(c.net_id, 0);
	ck_assert_int_eq(c.dedup_window_ms, 200);
	ck_assert_int_eq(c.downlink_delay_ms, 100);
	ck_assert_int_eq(c.downlink_queue_limit, 16);
	ck_assert_int_eq(c.downlink_rx1_dr_offset, 0);
	ck_assert_int_eq(c.downlink_rx_delay_s, 1);
	ck_assert(!c.has_downlink_rx2_frequency);
	ck_assert(!c.has_downlink_rx2_dr);
	ck_assert_int_eq(c.downlink_tx_ack_timeout_ms, 3000);
	ck_assert_int_eq(c.fair_access.uplink_airtime_ms, 30000);
	ck_assert_int_eq(c.fair_access.downlinks, 10);
	ck_assert_int_eq(c.fair_access.window_hours, 24);
	ck_assert_int_eq(c.fair_access.action, LB_FA_WARN);
	ck_assert_str_eq(c.state_dir, "/var/lib/lorabridge");
	ck_assert_int_eq(c.state_commit_ms, 200);
	ck_assert_int_eq(c.state_sync_hang_ms, 20000);
	ck_assert_str_eq(c.log_level, "info");
	ck_assert_ptr_null(c.devices);
	ck_assert_uint_eq(c.n_devices, 0);
	config_free(&c);
	ck_assert_ptr_null(c.mqtt_host);
}
END_TEST

START_TEST(test_minimal_is_defaults)
{
	struct lb_config c, d;
	struct config_report r = {0};
	ck_assert_int_eq(config_load(fixture("minimal.conf"), &c, &r), LB_OK);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_str_eq(c.path, fixture("minimal.conf"));
	ck_assert_int_eq(config_defaults(&d), LB_OK);
	assert_config_equal(&c, &d);
	assert_round_trip(&c);
	config_free(&c);
	config_free(&d);
}
END_TEST

static void assert_key(const uint8_t *k, const char *hex)
{
	char s[33];
	for (int i = 0; i < 16; i++)
		snprintf(s + 2 * i, 3, "%02x", k[i]);
	ck_assert_str_eq(s, hex);
}

START_TEST(test_full)
{
	struct lb_config c;
	struct config_report r = {0};
	char want[4096];

	ck_assert_int_eq(config_load(fixture("full.conf"), &c, &r), LB_OK);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_str_eq(c.udp_bind, "0.0.0.0");
	ck_assert_uint_eq(c.udp_port, 1701);
	ck_assert_int_eq(c.udp_rcvbuf, 262144);
	ck_assert_uint_eq(c.n_udp_allow, 3);
	ck_assert_uint_eq(c.udp_allow[0].eui, 0x0016c001ff10a235ULL);
	ck_assert(!c.udp_allow[0].pinned);
	ck_assert_uint_eq(c.udp_allow[1].eui, 0xb827ebfffe6a1c4dULL);
	ck_assert(c.udp_allow[1].pinned);
	ck_assert_uint_eq(c.udp_allow[1].net.bits, 96 + 24);
	ck_assert_uint_eq(c.udp_allow[2].eui, 0xb827ebfffe6a1c4dULL);
	ck_assert_uint_eq(c.udp_allow[2].net.bits, 32);
	ck_assert_int_eq(c.udp_keepalive_s, 30);
	ck_assert_int_eq(c.udp_offline_after, 5);
	ck_assert_int_eq(c.udp_rebind_after_s, 45);
	ck_assert_int_eq(c.udp_rate_limit_count, 0);
	ck_assert_int_eq(c.udp_rate_limit_window_ms, 100);
	ck_assert_int_eq(c.udp_address_rate_limit_count, 20);
	ck_assert_int_eq(c.udp_max_gateways_per_address, 0);
	ck_assert(c.udp_forward_crc_error);
	ck_assert_str_eq(c.mqtt_host, "broker.example.net");
	ck_assert_uint_eq(c.mqtt_port, 8883);
	ck_assert_str_eq(c.mqtt_client_id, "bridge-7");
	ck_assert_str_eq(c.mqtt_username, "lb");
	ck_assert_str_eq(c.mqtt_password, "s3cr\"et\\");
	/* relative TLS files resolved against the config file's directory */
	ck_assert_ptr_nonnull(c.mqtt_ca_file);
	ck_assert_int_eq(c.mqtt_ca_file[0], '/');
	ck_assert_int_eq(access(c.mqtt_ca_file, R_OK), 0);
	size_t n = strlen(c.mqtt_ca_file);
	ck_assert_str_eq(c.mqtt_ca_file + n - strlen("/config/ca.pem"), "/config/ca.pem");
	snprintf(want, sizeof(want), "%.*sclient.crt", (int)(n - strlen("ca.pem")), c.mqtt_ca_file);
	ck_assert_str_eq(c.mqtt_cert_file, want);
	snprintf(want, sizeof(want), "%.*sclient.key", (int)(n - strlen("ca.pem")), c.mqtt_ca_file);
	ck_assert_str_eq(c.mqtt_key_file, want);
	ck_assert_int_eq(c.mqtt_qos, 2);
	ck_assert_int_eq(c.mqtt_keepalive_s, 30);
	ck_assert_str_eq(c.mqtt_topic_prefix, "eu868/");
	ck_assert_str_eq(c.mqtt_topic_device_event, "app/{application}/dev/{dev_eui}/{event}");
	ck_assert_str_eq(c.mqtt_topic_gateway_event, "gw/{gateway_id}/{event}");
	ck_assert_str_eq(c.mqtt_topic_gateway_state, "gw/{gateway_id}/state/{state}");
	ck_assert_str_eq(c.mqtt_topic_bridge, "bridge/{client_id}/{event}");
	ck_assert_str_eq(c.mqtt_topic_device_state, "app/{application}/dev/{dev_eui}/state/{state}");
	ck_assert_str_eq(c.mqtt_topic_device_command, "app/{application}/dev/{dev_eui}/cmd/{command}");
	ck_assert_int_eq(c.mqtt_queue_limit, 500);
	ck_assert_int_eq(c.mqtt_stats_interval_s, 0);
	ck_assert_str_eq(c.region, "US915");
	ck_assert_uint_eq(c.net_id, 0x60001a);
	ck_assert_int_eq(c.dedup_window_ms, 0);
	ck_assert_int_eq(c.downlink_delay_ms, 250);
	ck_assert_int_eq(c.downlink_queue_limit, 4);
	ck_assert_int_eq(c.downlink_rx1_dr_offset, 3);
	ck_assert_int_eq(c.downlink_rx_delay_s, 5);
	ck_assert(c.has_downlink_rx2_frequency);
	ck_assert_int_eq(c.downlink_rx2_frequency, 923300000);
	ck_assert(c.has_downlink_rx2_dr);
	ck_assert_int_eq(c.downlink_rx2_dr, 8);
	ck_assert_int_eq(c.downlink_tx_ack_timeout_ms, 500);
	ck_assert_int_eq(c.fair_access.uplink_airtime_ms, 60000);
	ck_assert_int_eq(c.fair_access.downlinks, 20);
	ck_assert_int_eq(c.fair_access.window_hours, 12);
	ck_assert_int_eq(c.fair_access.action, LB_FA_ENFORCE);
	ck_assert_str_eq(c.state_dir, "/tmp/lorabridge-state");
	ck_assert_int_eq(c.state_commit_ms, 1000);
	ck_assert_str_eq(c.log_level, "debug");

	ck_assert_uint_eq(c.n_devices, 2);
	const struct lb_device_conf *a = &c.devices[0], *o = &c.devices[1];
	ck_assert_str_eq(a->name, "abp-1");
	ck_assert_str_eq(a->application, "greenhouse");
	ck_assert_uint_eq(a->dev_eui, 0x70b3d57ed0001234ULL);
	ck_assert_int_eq(a->activation, LB_ACT_ABP);
	ck_assert_uint_eq(a->dev_addr, 0x26011bdaU);
	assert_key(a->nwk_s_key, "2b7e151628aed2a6abf7158809cf4f3c");
	assert_key(a->app_s_key, "3c4fcf098815f7aba6d2ae2816157e2b");
	/* 3000000000 does not fit an int: libconfig 1.5 would wrap it */
	ck_assert(a->has_fcnt_up);
	ck_assert_uint_eq(a->fcnt_up, 3000000000U);
	ck_assert_uint_eq(a->n_tags, 2);
	ck_assert_str_eq(a->tags[0].key, "room");
	ck_assert_str_eq(a->tags[0].value, "B12");
	ck_assert_str_eq(a->tags[1].key, "floor");
	ck_assert_str_eq(a->tags[1].value, "2");
	ck_assert_int_eq(a->lorawan_version, JOIN_V1_0_2);
	/* own downlinks, the other three inherited from the global group */
	ck_assert_uint_eq(a->fa_set, LB_FA_SET_DOWNLINKS);
	ck_assert_int_eq(a->fair_access.downlinks, 50);
	ck_assert_int_eq(a->fair_access.uplink_airtime_ms, 60000);
	ck_assert_int_eq(a->fair_access.window_hours, 12);
	ck_assert_int_eq(a->fair_access.action, LB_FA_ENFORCE);
	ck_assert_int_eq(a->line, 60);

	ck_assert_str_eq(o->name, "otaa-1");
	ck_assert_str_eq(o->application, "default");
	ck_assert_int_eq(o->activation, LB_ACT_OTAA);
	ck_assert_uint_eq(o->dev_eui, 0x0004a30b001c0530ULL);
	ck_assert_uint_eq(o->join_eui, 0x70b3d57ed00001a6ULL);
	assert_key(o->app_key, "000102030405060708090a0b0c0d0e0f");
	ck_assert(!o->has_fcnt_up);
	ck_assert_uint_eq(o->n_tags, 0);
	ck_assert_int_eq(o->lorawan_version, JOIN_V1_0_4);
	ck_assert_uint_eq(o->fa_set, 0);
	ck_assert_int_eq(o->fair_access.downlinks, 20);
	ck_assert_int_eq(o->line, 77);
	config_free(&c);
}
END_TEST

START_TEST(test_full_round_trip)
{
	struct lb_config c;
	ck_assert_int_eq(config_load(fixture("full.conf"), &c, NULL), LB_OK);
	assert_round_trip(&c);
	config_free(&c);
}
END_TEST

START_TEST(test_print_redacts_secrets)
{
	struct lb_config c;
	char *buf = NULL;
	size_t len = 0;

	ck_assert_int_eq(config_load(fixture("full.conf"), &c, NULL), LB_OK);
	FILE *f = open_memstream(&buf, &len);
	config_print(&c, f, false);
	fclose(f);
	ck_assert_ptr_null(strstr(buf, "s3cr"));
	ck_assert_ptr_null(strstr(buf, "2b7e151628aed2a6abf7158809cf4f3c"));
	ck_assert_ptr_null(strstr(buf, "000102030405060708090a0b0c0d0e0f"));
	ck_assert_ptr_nonnull(strstr(buf, "\tpassword = \"<redacted>\";\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\t\tapp_key = \"<redacted>\";\n"));
	/* identifiers are not secret */
	ck_assert_ptr_nonnull(strstr(buf, "\t\tdev_addr = \"26011bda\";\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\tusername = \"lb\";\n"));
	free(buf);
	config_free(&c);
}
END_TEST

START_TEST(test_print_defaults_text)
{
	struct lb_config c;
	char *buf = NULL;
	size_t len = 0;

	ck_assert_int_eq(config_defaults(&c), LB_OK);
	FILE *f = open_memstream(&buf, &len);
	config_print(&c, f, false);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "udp = {\n\tbind = \"127.0.0.1\";\n\tport = 1700;\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\tallow = [];\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\t# username is not set\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\ttopics = {\n\t\tdevice_event = "));
	ck_assert_ptr_nonnull(strstr(buf, "\t};\n\tqueue_limit = 10000;\n"));
	ck_assert_ptr_nonnull(strstr(buf, "};\nregion = \"EU868\";\nnet_id = \"000000\";\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\trx_delay_s = 1;\n\t# rx2_frequency is not set\n"
					  "\t# rx2_dr is not set\n\ttx_ack_timeout_ms = 3000;\n"
					  "\tclass_c_ack_timeout_s = 30;\n\tclass_c_retries = 2;\n"
					  "\tsub_band = 2;\n};\nadr = {\n\tinstallation_margin_db = 10;\n"
					  "\tmax_unanswered = 3;\n\tbackoff_h = 24;\n};\n"));
	ck_assert_ptr_nonnull(strstr(buf, "fair_access = {\n\tuplink_airtime_ms = 30000;\n"
					  "\tdownlinks = 10;\n\twindow_hours = 24;\n"
					  "\taction = \"warn\";\n};\n"));
	ck_assert_ptr_nonnull(strstr(buf, "state_dir = \"/var/lib/lorabridge\";\nstate = {\n"
					  "\tcommit_ms = 200;\n\tsync_hang_ms = 20000;\n};\n"
					  "quiet_release_ms = 5000;\nlog_level"));
	ck_assert_ptr_nonnull(strstr(buf, "\ndevices = ();\n"));
	free(buf);
	config_free(&c);
}
END_TEST

START_TEST(test_syntax_error)
{
	static const char *const want[] = {"3: error: syntax error", NULL};
	expect_problems("syntax.conf", LB_ERR_CONFIG, want);
}
END_TEST

START_TEST(test_missing_file)
{
	static const char *const want[] = {" error: cannot open: No such file or directory", NULL};
	expect_problems("does-not-exist.conf", LB_ERR_IO, want);
}
END_TEST

START_TEST(test_wrong_types)
{
	static const char *const want[] = {
		"2: error: udp.port: expected an integer, got a string",
		"3: error: udp.forward_crc_error: expected a boolean (true or false), got an integer",
		"4: error: udp.allow: expected an array of strings [ \"...\", ... ], got a string",
		"5: error: udp.rcvbuf: expected an integer, got a float",
		"8: error: mqtt.host: expected a string, got an integer",
		"9: error: mqtt.qos: expected an integer, got a boolean",
		"10: error: mqtt.topics: expected a group { ... }, got a string",
		"12: error: region: expected a string, got an array",
		NULL};
	expect_problems("types.conf", LB_ERR_CONFIG, want);
}
END_TEST

START_TEST(test_unknown_keys_warn)
{
	static const char *const want[] = {
		"2: warning: unknown setting 'udp.prot' (ignored)",
		"6: warning: unknown setting 'mqtt.topics.uplink' (ignored)",
		"9: warning: unknown setting 'colour' (ignored)",
		"17: warning: device 'd1': unknown setting 'devaddr' (ignored)",
		NULL};
	expect_problems("unknown.conf", LB_OK, want);

	struct lb_config c;
	struct config_report r = {0};
	ck_assert_int_eq(config_load(fixture("unknown.conf"), &c, &r), LB_OK);
	ck_assert_uint_eq(r.n, 4);
	ck_assert_uint_eq(r.n_errors, 0);
	ck_assert(!r.items[0].is_error);
	ck_assert_uint_eq(c.udp_port, 1700);
	ck_assert_uint_eq(c.n_devices, 1);
	ck_assert_uint_eq(c.devices[0].dev_addr, 1);
	config_free(&c);
	config_report_free(&r);
}
END_TEST

/* An @include that cannot be opened: the file named, and why (libconfig
 * 1.5 says neither). */
START_TEST(test_include_missing)
{
	static const char *const want[] = {
		"2: error: cannot open include file \"/nonexistent-lb-test/devices.conf\": No such "
		"file or directory", NULL};
	expect_text("udp = { port = 1700; };\n@include \"/nonexistent-lb-test/devices.conf\"\n",
		    LB_ERR_CONFIG, want);
}
END_TEST

START_TEST(test_bad_hex)
{
	static const char *const want[] = {
		"2: error: udp.allow[0]: expected 16 hex digits, got 15 characters",
		"2: error: udp.allow[1]: character 16 ('z') is not a hex digit",
		"7: error: device 'd1': dev_eui: expected 16 hex digits, got 15 characters",
		"8: error: device 'd1': dev_addr: expected 8 hex digits, got 9 characters",
		"9: error: device 'd1': nwk_s_key: character 32 ('g') is not a hex digit",
		"10: error: device 'd1': app_s_key: expected a string of 32 hex digits, got an integer",
		NULL};
	expect_problems("hex.conf", LB_ERR_CONFIG, want);
}
END_TEST

/* udp.allow pins: every malformed entry reported at its own line. */
START_TEST(test_allow_pinned_bad)
{
	static const char *const want[] = {
		"3: error: udp.allow[0]: 'aa555a000000001@10.0.0.0/8': expected 16 hex digits "
		"before '@'",
		"4: error: udp.allow[1]: 'aa555a0000000001@192.168.1.7/24': after '@': the address "
		"has bits set beyond the prefix (give the network address)",
		"5: error: udp.allow[2]: 'aa555a0000000001@192.168.1.0/33': after '@': the prefix "
		"is longer than the address (IPv4: 0..32, IPv6: 0..128)",
		"6: error: udp.allow[3]: 'aa555a0000000001@gateway.lan': after '@': expected a "
		"numeric IPv4 or IPv6 address, optionally /PREFIX",
		"7: error: udp.allow[4]: 'aa555a0000000001@': after '@': expected a numeric IPv4 "
		"or IPv6 address, optionally /PREFIX",
		"8: error: udp.allow[5]: 'zz555a0000000001@::1': expected 16 hex digits before '@'",
		"10: warning: udp.allow[7]: 'aa555a0000000001@10.0.0.0/8' is listed twice",
		"11: warning: udp.allow[8]: gateway aa555a0000000001 is listed with and without an "
		"address: it is admitted from any address",
		NULL};
	expect_text("udp = {\n"
		    "\tallow = [\n"
		    "\t\t\"aa555a000000001@10.0.0.0/8\",\n"
		    "\t\t\"aa555a0000000001@192.168.1.7/24\",\n"
		    "\t\t\"aa555a0000000001@192.168.1.0/33\",\n"
		    "\t\t\"aa555a0000000001@gateway.lan\",\n"
		    "\t\t\"aa555a0000000001@\",\n"
		    "\t\t\"zz555a0000000001@::1\",\n"
		    "\t\t\"aa555a0000000001@10.0.0.0/8\",\n"
		    "\t\t\"aa555a0000000001@10.0.0.0/8\",\n"
		    "\t\t\"aa555a0000000001\" ];\n"
		    "};\n",
		    LB_ERR_CONFIG, want);
}
END_TEST

/* A valid pinned list loads; the printed form reads back the same. */
START_TEST(test_allow_pinned_ok)
{
	char tmpl[] = "/tmp/test_config_XXXXXX";
	struct lb_config c;
	struct netaddr a;

	write_temp(tmpl, "udp = { allow = [ \"AA555A0000000001@192.168.1.0/24\",\n"
			 "  \"aa555a0000000002@fd00::/8\", \"aa555a0000000003@10.0.0.7\" ]; };\n");
	ck_assert_int_eq(config_load(tmpl, &c, NULL), LB_OK);
	unlink(tmpl);
	ck_assert_uint_eq(c.n_udp_allow, 3);
	ck_assert_uint_eq(c.udp_allow[0].eui, 0xaa555a0000000001ULL);
	ck_assert_int_eq(netaddr_parse("192.168.1.99", &a), LB_OK);
	ck_assert(netprefix_contains(&c.udp_allow[0].net, &a));
	ck_assert_int_eq(netaddr_parse("fd12::1", &a), LB_OK);
	ck_assert(netprefix_contains(&c.udp_allow[1].net, &a));
	ck_assert_uint_eq(c.udp_allow[2].net.bits, 128);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	config_print(&c, f, false);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\tallow = [ \"aa555a0000000001@192.168.1.0/24\", "
					  "\"aa555a0000000002@fd00::/8\", "
					  "\"aa555a0000000003@10.0.0.7\" ];\n"));
	free(buf);
	assert_round_trip(&c);
	config_free(&c);
}
END_TEST

START_TEST(test_duplicates)
{
	static const char *const want[] = {
		"8: error: device 'b': duplicate dev_eui 0000000000000001 (already used by device 'a' at line 2)",
		"14: error: device 'a': duplicate name (first defined at line 2)",
		NULL};
	expect_problems("duplicates.conf", LB_ERR_CONFIG, want);
}
END_TEST

START_TEST(test_ranges)
{
	static const char *const want[] = {
		"2: error: udp.port: 70000 is out of range 1..65535",
		"3: error: udp.rcvbuf: -1 is out of range 0..1073741824",
		"4: error: udp.keepalive_s: 0 is out of range 1..3600",
		"7: error: mqtt.port: 0 is out of range 1..65535",
		"8: error: mqtt.qos: 3 is out of range 0..2",
		"9: error: mqtt.queue_limit: -5 is out of range 1..10000000",
		"11: error: dedup_window_ms: 10001 is out of range 0..10000",
		NULL};
	expect_problems("ranges.conf", LB_ERR_CONFIG, want);
}
END_TEST

/* Literals beyond 32 bits are checked as written, not as libconfig 1.5
 * wraps them (4294968296 would read as 1000, 0x10000 fits an int anyway). */
START_TEST(test_wide_literals)
{
	static const char *const want[] = {
		"2: error: udp.rcvbuf: 4294968296 is out of range 0..1073741824",
		"3: error: udp.port: 65536 is out of range 1..65535",
		NULL};
	expect_problems("wrapped.conf", LB_ERR_CONFIG, want);
}
END_TEST

START_TEST(test_shared_devaddr_is_legal)
{
	struct lb_config c;
	struct config_report r = {0};
	ck_assert_int_eq(config_load(fixture("shared_devaddr.conf"), &c, &r), LB_OK);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_uint_eq(c.n_devices, 2);
	ck_assert_uint_eq(c.devices[0].dev_addr, 0x26011bdaU);
	ck_assert_uint_eq(c.devices[1].dev_addr, 0x26011bdaU);
	ck_assert_int_eq(c.devices[0].activation, LB_ACT_ABP);
	ck_assert_int_eq(c.devices[1].activation, LB_ACT_ABP);
	assert_round_trip(&c);
	config_free(&c);
}
END_TEST

/* ABP entry "name" for the clone tests: DevAddr 26011bda, NwkSKey nwk. */
#define CLONE_DEV(name, eui, nwk, app)                                             \
	"  { name = \"" name "\"; dev_eui = \"" eui "\"; dev_addr = \"26011bda\";\n" \
	"    nwk_s_key = \"" nwk "\";\n"                                                \
	"    app_s_key = \"" app "\"; }"
#define NWK_1 "2b7e151628aed2a6abf7158809cf4f3c"
#define NWK_2 "000102030405060708090a0b0c0d0e0f"
#define APP_1 "3c4fcf098815f7aba6d2ae2816157e2b"
#define APP_2 "0f0e0d0c0b0a09080706050403020100"

/* Same DevAddr and NwkSKey under another DevEUI: the clone would accept the
 * first device's frames again. The error is at the later entry, naming the
 * first, whichever comes first in the file; AppSKey does not matter. */
START_TEST(test_cloned_session)
{
	static const char *const want_ab[] = {
		"5: error: device 'clone': same dev_addr 26011bda and nwk_s_key as device 'orig' "
		"at line 2: it would accept that device's frames again as its own (replay); "
		"give each ABP device its own session keys",
		NULL};
	static const char *const want_ba[] = {
		"5: error: device 'orig': same dev_addr 26011bda and nwk_s_key as device 'clone' "
		"at line 2: it would accept that device's frames again as its own (replay); "
		"give each ABP device its own session keys",
		NULL};
	static const char *const want_three[] = {
		"8: error: device 'copy': same dev_addr 26011bda and nwk_s_key as device 'orig' "
		"at line 2: it would accept that device's frames again as its own (replay); "
		"give each ABP device its own session keys",
		NULL};

	expect_text("devices = (\n"
		    CLONE_DEV("orig", "0000000000000001", NWK_1, APP_1) ",\n"
		    CLONE_DEV("clone", "0000000000000002", NWK_1, APP_2) "\n);\n",
		    LB_ERR_CONFIG, want_ab);
	expect_text("devices = (\n"
		    CLONE_DEV("clone", "0000000000000002", NWK_1, APP_1) ",\n"
		    CLONE_DEV("orig", "0000000000000001", NWK_1, APP_1) "\n);\n",
		    LB_ERR_CONFIG, want_ba);
	/* Among three, the one with other keys is fine. */
	expect_text("devices = (\n"
		    CLONE_DEV("orig", "0000000000000001", NWK_1, APP_1) ",\n"
		    CLONE_DEV("other", "0000000000000002", NWK_2, APP_1) ",\n"
		    CLONE_DEV("copy", "0000000000000003", NWK_1, APP_2) "\n);\n",
		    LB_ERR_CONFIG, want_three);
}
END_TEST

/* A shared DevAddr with different NwkSKeys is legal, even with the same
 * AppSKey; so is the same NwkSKey under different DevAddrs. */
START_TEST(test_shared_devaddr_other_keys)
{
	static const char *const none[] = {NULL};

	expect_text("devices = (\n"
		    CLONE_DEV("a", "0000000000000001", NWK_1, APP_1) ",\n"
		    CLONE_DEV("b", "0000000000000002", NWK_2, APP_1) ",\n"
		    "  { name = \"c\"; dev_eui = \"0000000000000003\"; dev_addr = \"26011bdb\";"
		    " nwk_s_key = \"" NWK_1 "\"; app_s_key = \"" APP_1 "\"; }\n);\n",
		    LB_OK, none);
}
END_TEST

START_TEST(test_tls_rules)
{
	char line[4200];
	const char *want[4] = {
		"2: error: mqtt.cert_file: mutual TLS needs mqtt.key_file as well",
		"3: error: mqtt.password: needs mqtt.username as well", line, NULL};
	char *dir = realpath(fixture(""), NULL);
	ck_assert_ptr_nonnull(dir);
	snprintf(line, sizeof(line),
		 "4: error: mqtt.ca_file: cannot read '%s/missing-ca.pem': No such file or directory",
		 dir);
	expect_problems("tls_bad.conf", LB_ERR_CONFIG, want);
	free(dir);

	static const char *const want2[] = {
		"3: error: mqtt.key_file: mutual TLS needs mqtt.cert_file as well", NULL};
	expect_problems("tls_key_only.conf", LB_ERR_CONFIG, want2);
}
END_TEST

START_TEST(test_topic_templates)
{
	static const char *const want[] = {
		"2: error: mqtt.topic_prefix: must not contain the MQTT wildcards '+' or '#'",
		"4: error: mqtt.topics.device_event: '+' is an MQTT wildcard, not allowed in a topic name (template column 34)",
		"5: error: mqtt.topics.gateway_event: placeholder {dev_eui} is not available in this topic (template column 9)",
		"6: error: mqtt.topics.gateway_state: topic template is empty (template column 1)",
		"7: error: mqtt.topics.bridge: unclosed placeholder: '{' without a matching '}' before the next '/', '{' or the end (template column 12)",
		"8: error: mqtt.topics.device_command: placeholder {event} is not available in this topic (template column 34)",
		"9: error: mqtt.topics.device_state: placeholder {event} is not available in this topic (template column 50)",
		NULL};
	expect_problems("topics_bad.conf", LB_ERR_CONFIG, want);

	static const char *const want2[] = {
		"1: error: mqtt.topics.device_command: must contain {dev_eui} (it tells which device a command is for)",
		NULL};
	expect_text("mqtt = { topics = { device_command = \"app/{application}/{command}\"; }; };\n",
		    LB_ERR_CONFIG, want2);
	static const char *const none[] = {NULL};
	expect_text("mqtt = { topics = { device_command = \"down/{dev_eui}\"; }; };\n", LB_OK, none);

	static const char *const want3[] = {
		"1: error: mqtt.topics.device_field: must contain {dev_eui} and {field} (each field "
		"of each device is a topic of its own)",
		NULL};
	expect_text("mqtt = { topics = { device_field = \"a/{dev_eui}/value\"; }; };\n",
		    LB_ERR_CONFIG, want3);
	static const char *const want4[] = {
		"1: error: mqtt.topics.device_field: placeholder {event} is not available in this "
		"topic (template column 1)",
		NULL};
	expect_text("mqtt = { topics = { device_field = \"{event}/{dev_eui}/{field}\"; }; };\n",
		    LB_ERR_CONFIG, want4);
	expect_text("mqtt = { publish_fields = true; topics = { device_field = "
		    "\"v/{dev_eui}/{field}\"; }; };\n", LB_OK, none);
	/* The bridge subscribes to command topics, and to field topics with
	 * publish_fields, with '+' for the placeholders (but {command}, which
	 * is "down"): each must take a whole level, the prefix in front, or
	 * the subscription would fail at the connect. */
	static const char *const want_sub[] = {
		"1: error: mqtt.topics.device_command: a placeholder shares its level with other "
		"text, but the bridge subscribes with '+' there (a whole level)",
		NULL};
	expect_text("mqtt = { topics = { device_command = \"{application}/{dev_eui}-x/{command}\"; "
		    "}; };\n", LB_ERR_CONFIG, want_sub);
	static const char *const want_sub2[] = {
		"1: error: mqtt.topics.device_field: a placeholder shares its level with other "
		"text, but the bridge subscribes with '+' there (a whole level)",
		NULL};
	expect_text("mqtt = { publish_fields = true; topics = { device_field = "
		    "\"v/{dev_eui}/f-{field}\"; }; };\n", LB_ERR_CONFIG, want_sub2);
	expect_text("mqtt = { topics = { device_field = \"v/{dev_eui}/f-{field}\"; }; };\n",
		    LB_OK, none);   /* not subscribed without publish_fields */
	static const char *const want_sub3[] = {
		"2: error: mqtt.topics.device_command: a placeholder shares its level with other "
		"text (mqtt.topic_prefix in front), but the bridge subscribes with '+' there (a "
		"whole level)",
		NULL};
	expect_text("mqtt = { topic_prefix = \"site-\";\n topics = { device_command = "
		    "\"{application}/device/{dev_eui}/command/{command}\"; }; };\n", LB_ERR_CONFIG,
		    want_sub3);
	expect_text("mqtt = { topics = { device_command = \"{application}/{dev_eui}/cmd-{command}\"; "
		    "}; };\n", LB_OK, none);

	/* What the daemon refuses at start-up (events/topic.h), refused here
	 * too: empty levels, a trailing '/', and the prefix and a template
	 * that are fine alone but make an empty level together. */
	static const char *const want5[] = {
		"1: error: mqtt.topics.gateway_event: empty topic level ('//'); check that prefix "
		"and template do not both supply the '/' (template column 3)",
		NULL};
	expect_text("mqtt = { topics = { gateway_event = \"a//{gateway_id}/{event}\"; }; };\n",
		    LB_ERR_CONFIG, want5);
	static const char *const want6[] = {
		"1: error: mqtt.topics.bridge: topic ends with '/', which makes an empty last "
		"level (template column 22)",
		NULL};
	expect_text("mqtt = { topics = { bridge = \"b/{client_id}/{event}/\"; }; };\n",
		    LB_ERR_CONFIG, want6);
	static const char *const want7[] = {
		"2: error: mqtt.topics.device_state: with mqtt.topic_prefix \"eu868/\": empty topic "
		"level ('//'); check that prefix and template do not both supply the '/' "
		"(template column 1)",
		NULL};
	expect_text("mqtt = { topic_prefix = \"eu868/\";\n"
		    "topics = { device_state = \"/{dev_eui}/{state}\"; }; };\n", LB_ERR_CONFIG, want7);
	/* a single leading '/' is legal MQTT, and allowed without a prefix */
	expect_text("mqtt = { topics = { device_state = \"/{dev_eui}/{state}\"; }; };\n", LB_OK,
		    none);
	static const char *const want8[] = {
		"1: error: mqtt.topic_prefix: empty topic level ('//'); check that prefix and "
		"template do not both supply the '/' (prefix column 3)",
		NULL};
	expect_text("mqtt = { topic_prefix = \"x//\"; };\n", LB_ERR_CONFIG, want8);

	/* device events need {dev_eui} and {event}, as commands and fields
	 * need theirs */
	static const char *const want9[] = {
		"1: error: mqtt.topics.device_event: must contain {dev_eui} and {event} (they tell "
		"which device an event is of, and which event it is)",
		NULL};
	expect_text("mqtt = { topics = { device_event = \"app/{application}/{dev_eui}\"; }; };\n",
		    LB_ERR_CONFIG, want9);
	expect_text("mqtt = { topics = { device_event = \"ev/{event}\"; }; };\n", LB_ERR_CONFIG,
		    want9);
	expect_text("mqtt = { topics = { device_event = \"d/{dev_eui}/{event}\"; }; };\n", LB_OK,
		    none);
}
END_TEST

START_TEST(test_home_assistant)
{
	static const char *const none[] = {NULL};

	expect_text("home_assistant = { discovery = true; prefix = \"ha/disc\"; };\n", LB_OK,
		    none);
	static const char *const want[] = {
		"1: error: home_assistant.prefix: must not contain the MQTT wildcards '+' or '#'",
		NULL};
	expect_text("home_assistant = { prefix = \"ha/#\"; };\n", LB_ERR_CONFIG, want);
	static const char *const want2[] = {
		"1: error: home_assistant.prefix: must not start or end with '/' or contain an "
		"empty level",
		NULL};
	expect_text("home_assistant = { prefix = \"homeassistant/\"; };\n", LB_ERR_CONFIG, want2);
	static const char *const want3[] = {"1: error: home_assistant.prefix: must not be empty",
					    NULL};
	expect_text("home_assistant = { prefix = \"\"; };\n", LB_ERR_CONFIG, want3);
}
END_TEST

START_TEST(test_bad_values)
{
	static const char *const want[] = {
		"2: error: udp.bind: not a numeric IPv4 or IPv6 address",
		"5: error: mqtt.client_id: must not contain '+', '#' or '/' (used in MQTT topics)",
		"7: error: region: 'EU433' is not one of EU868, US915, AU915, AS923, AS923-1, "
		"AS923-2, AS923-3, AS923-4, KR920, IN865",
		"8: error: state_dir: must be an absolute path",
		"9: error: log_level: 'verbose' is not one of error, warn, notice, info, debug",
		NULL};
	expect_problems("values_bad.conf", LB_ERR_CONFIG, want);
}
END_TEST

START_TEST(test_bad_devices)
{
	static const char *const want[] = {
		"2: error: device 'abp-incomplete': ABP needs dev_addr, nwk_s_key and app_s_key (missing app_s_key)",
		"8: error: devices[1]: missing name",
		"13: error: device 'no-eui': missing dev_eui",
		"13: error: device 'no-eui': OTAA needs join_eui and app_key (missing join_eui)",
		"17: error: device 'no-keys': no keys: ABP needs dev_addr, nwk_s_key and app_s_key, OTAA needs join_eui and app_key",
		"20: error: device 'no-keys': fcnt_up: -1 is out of range 0..4294967295",
		"21: error: device 'no-keys': tags.a: expected a string, got an integer",
		"24: error: devices[4]: expected a group { ... }, got a string",
		NULL};
	expect_problems("devices_bad.conf", LB_ERR_CONFIG, want);
}
END_TEST

START_TEST(test_report_accumulates)
{
	struct lb_config c;
	struct config_report r = {0};
	ck_assert_int_eq(config_load(fixture("ranges.conf"), &c, &r), LB_ERR_CONFIG);
	ck_assert_int_eq(config_load(fixture("unknown.conf"), &c, &r), LB_OK);
	ck_assert_uint_eq(r.n, 7 + 4);
	ck_assert_uint_eq(r.n_errors, 7);
	ck_assert_str_eq(r.items[0].file, fixture("ranges.conf"));
	ck_assert_int_eq(r.items[0].line, 2);
	ck_assert_str_eq(r.items[0].message, "udp.port: 70000 is out of range 1..65535");
	ck_assert_str_eq(r.items[7].file, fixture("unknown.conf"));
	config_free(&c);
	config_report_free(&r);
	ck_assert_ptr_null(r.items);
	ck_assert_uint_eq(r.n, 0);
}
END_TEST

START_TEST(test_etc_default_file)
{
	struct lb_config c, d;
	struct config_report r = {0};
	const char *path = etc_conf();
	int rc = config_load(path, &c, &r);
	char *problems = report_text(&r);

	ck_assert_msg(rc == LB_OK && r.n == 0, "%s: rc %d: %s", path, rc, problems);
	/* the documented file states exactly the built-in defaults */
	ck_assert_int_eq(config_defaults(&d), LB_OK);
	assert_config_equal(&c, &d);
	/* ... and shows every setting, optional ones as a comment */
	char *text = NULL;
	size_t cap = 0;
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_gt(getdelim(&text, &cap, '\0', f), 0);
	fclose(f);
	for (size_t i = 0; i < config__n_schema; i++) {
		const char *dot = strrchr(config__schema[i].path, '.');
		char needle[96];
		snprintf(needle, sizeof(needle), "%s = ", dot ? dot + 1 : config__schema[i].path);
		const char *hit = text;
		/* a whole name: "rx2_dr = " must not count as "dr = " */
		while ((hit = strstr(hit, needle)) && hit > text &&
		       (isalnum((unsigned char)hit[-1]) || hit[-1] == '_'))
			hit++;
		ck_assert_msg(hit, "%s: %s is not documented", path, config__schema[i].path);
	}
	free(text);
	free(problems);
	config_report_free(&r);
	config_free(&c);
	config_free(&d);
}
END_TEST

START_TEST(test_reference)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	config_schema_print_reference(f, CONFIG_REF_MARKDOWN);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "| Setting | Type | Default | Description |\n"));
	ck_assert_ptr_nonnull(strstr(buf,
		"| `mqtt.qos` | integer | `1` | QoS of every published message. Range 0..2. |\n"));
	ck_assert_ptr_nonnull(strstr(buf, "| `mqtt.username` | string | (none) | MQTT user name. |\n"));
	ck_assert_ptr_nonnull(strstr(buf, "One of: EU868, US915, AU915, AS923, AS923-1, AS923-2, "
					  "AS923-3, AS923-4, KR920, IN865."));
	ck_assert_ptr_nonnull(strstr(buf, "| `devices[].dev_eui` | hex string (16) | (none) | Required."));
	ck_assert_ptr_nonnull(strstr(buf, "| `net_id` | hex string (6) | `\"000000\"` | NetID,"));
	ck_assert_ptr_nonnull(strstr(buf, "| `downlink.rx2_dr` | integer | (none) | RX2 data rate"));
	ck_assert_ptr_nonnull(strstr(buf, "absent = the region's default. Range 0..15. |\n"));
	ck_assert_ptr_nonnull(strstr(buf, "| `fair_access.action` | string | `\"warn\"` | Beyond a budget"));
	ck_assert_ptr_nonnull(strstr(buf, "One of: warn, enforce. |\n"));
	ck_assert_ptr_nonnull(strstr(buf, "| `devices[].lorawan_version` | string | `\"1.0.3\"` | "));
	ck_assert_ptr_nonnull(strstr(buf, "One of: 1.0.0, 1.0.1, 1.0.2, 1.0.3, 1.0.4. |\n"));
	ck_assert_ptr_nonnull(strstr(buf, "| `devices[].fair_access` | group | (none) | Optional: "));
	ck_assert_ptr_nonnull(strstr(buf, "Keys: uplink_airtime_ms, downlinks, window_hours, action. |\n"));
	for (size_t i = 0; i < config__n_schema; i++) {
		char row[128];
		snprintf(row, sizeof(row), "| `%s` |", config__schema[i].path);
		ck_assert_msg(strstr(buf, row), "%s missing from the reference", config__schema[i].path);
	}
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	config_schema_print_reference(f, CONFIG_REF_MAN);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, ".TP\n.B mqtt.qos\n(integer, default 1)\nQoS of every"));
	ck_assert_ptr_nonnull(strstr(buf, ".B udp.rate_limit_window_ms\n"));
	ck_assert_ptr_null(strstr(buf, "| `"));
	free(buf);
}
END_TEST

/* Every description is printed whole: the longest help text (longer than
 * the 511 characters a fixed buffer once kept) ends its row with the range
 * or choices the table adds. */
START_TEST(test_reference_whole)
{
	char *buf = NULL;
	size_t len = 0, longest = 0, at = 0;
	FILE *f = open_memstream(&buf, &len);

	config_schema_print_reference(f, CONFIG_REF_MARKDOWN);
	fclose(f);
	for (size_t i = 0; i < config__n_schema; i++) {
		const struct cs_entry *e = &config__schema[i];
		char head[160];
		snprintf(head, sizeof(head), "| `%s` |", e->path);
		const char *row = strstr(buf, head);
		ck_assert_ptr_nonnull(row);
		const char *eol = strchr(row, '\n');
		ck_assert_ptr_nonnull(eol);
		const char *help = strstr(row, e->help);
		ck_assert_msg(help && help < eol, "%s: help not printed whole", e->path);
		ck_assert_msg(eol - row >= 2 && !strncmp(eol - 2, " |", 2), "%s: row cut", e->path);
		if (strlen(e->help) > longest) {
			longest = strlen(e->help);
			at = i;
		}
	}
	ck_assert_uint_gt(longest, 511);
	ck_assert_msg(strstr(buf, config__schema[at].help), "longest help cut");
	free(buf);
}
END_TEST

START_TEST(test_schema_paths_unique_and_grouped)
{
	/* config_print() opens each group once: a group's entries are contiguous */
	for (size_t i = 0; i < config__n_schema; i++) {
		ck_assert_int_eq(config__schema_find(config__schema[i].path), (int)i);
		const char *dot = strrchr(config__schema[i].path, '.');
		size_t g = dot ? (size_t)(dot - config__schema[i].path) : 0;
		for (size_t j = i + 2; g && j < config__n_schema; j++) {
			bool same = !strncmp(config__schema[j].path, config__schema[i].path, g) &&
				    config__schema[j].path[g] == '.';
			bool prev_same = !strncmp(config__schema[j - 1].path, config__schema[i].path, g) &&
					 config__schema[j - 1].path[g] == '.';
			ck_assert_msg(!same || prev_same, "%s is not next to its group", config__schema[j].path);
		}
	}
}
END_TEST

START_TEST(test_downlink_fa_state_ranges)
{
	static const char *const want[] = {
		"2: error: downlink.delay_ms: 901 is out of range 0..900",
		"3: error: downlink.queue_limit: 0 is out of range 1..256",
		"4: error: downlink.rx1_dr_offset: 8 is out of range 0..7",
		"5: error: downlink.rx_delay_s: 16 is out of range 1..15",
		"6: error: downlink.rx2_frequency: 100 is out of range 137000000..1020000000",
		"7: error: downlink.rx2_dr: 16 is out of range 0..15",
		"8: error: downlink.tx_ack_timeout_ms: 99 is out of range 100..60000",
		"11: error: fair_access.uplink_airtime_ms: 0 is out of range 1..604800000",
		"12: error: fair_access.downlinks: 1000001 is out of range 1..1000000",
		"13: error: fair_access.window_hours: 169 is out of range 1..168",
		"14: error: fair_access.action: 'block' is not one of warn, enforce",
		"17: error: state.commit_ms: 9 is out of range 10..10000",
		"18: error: state.sync_hang_ms: 999 is out of range 1000..600000",
		NULL};
	expect_problems("downlink_ranges.conf", LB_ERR_CONFIG, want);
}
END_TEST

START_TEST(test_new_wrong_types)
{
	static const char *const want[] = {
		"1: error: state: expected a group { ... }, got an integer",
		"2: error: fair_access.action: expected a string, got an integer",
		"3: error: downlink.rx2_dr: expected an integer, got a string",
		NULL};
	expect_text("state = 5;\nfair_access = { action = 1; };\ndownlink = { rx2_dr = \"3\"; };\n",
		    LB_ERR_CONFIG, want);
}
END_TEST

/* The largest values of each range are accepted (and the region agrees). */
START_TEST(test_range_bounds_accepted)
{
	static const char *const none[] = {NULL};
	expect_text("downlink = { delay_ms = 900; queue_limit = 256; rx1_dr_offset = 5; rx_delay_s = 15;\n"
		    "rx2_frequency = 869525000; rx2_dr = 7; tx_ack_timeout_ms = 60000; };\n"
		    "fair_access = { uplink_airtime_ms = 604800000; downlinks = 1000000;\n"
		    "window_hours = 168; action = \"enforce\"; };\n"
		    "state = { commit_ms = 10000; sync_hang_ms = 600000; };\n",
		    LB_OK, none);
	expect_text("downlink = { delay_ms = 0; queue_limit = 1; rx_delay_s = 1; rx2_dr = 0;\n"
		    "tx_ack_timeout_ms = 100; };\nfair_access = { uplink_airtime_ms = 1; downlinks = 1;\n"
		    "window_hours = 1; };\nstate = { commit_ms = 10; sync_hang_ms = 1000; };\n",
		    LB_OK, none);
}
END_TEST

START_TEST(test_region_rules)
{
	static const char *const want[] = {
		"3: error: downlink.rx1_dr_offset: 4 is not allowed in US915 (0..3)",
		"4: error: downlink.rx2_dr: DR3 is not a downlink data rate of US915",
		"5: error: downlink.rx2_frequency: 869525000 Hz is outside the US915 band (902000000..928000000)",
		NULL};
	expect_problems("region_bad.conf", LB_ERR_CONFIG, want);

	/* the same values are fine in EU868 */
	static const char *const none[] = {NULL};
	expect_text("downlink = { rx1_dr_offset = 4; rx2_dr = 3; rx2_frequency = 869525000; };\n",
		    LB_OK, none);
	/* EU868 DR8 (LR-FHSS) is uplink only */
	static const char *const lrfhss[] = {
		"1: error: downlink.rx2_dr: DR8 is not a downlink data rate of EU868", NULL};
	expect_text("downlink = { rx2_dr = 8; };\n", LB_ERR_CONFIG, lrfhss);
	/* a wrong region is reported once, not against every downlink value */
	static const char *const wrong_region[] = {
		"1: error: region: 'EU433' is not one of EU868, US915, AU915, AS923, AS923-1, "
		"AS923-2, AS923-3, AS923-4, KR920, IN865", NULL};
	expect_text("region = \"EU433\";\ndownlink = { rx2_frequency = 433175000; };\n", LB_ERR_CONFIG,
		    wrong_region);
	/* RX1DROffset 6 and 7 exist in AS923 and IN865 only (RP002-1.0.4
	 * §2.10.7, §2.12.7); KR920 stops at 5, its RX2 is DR0 at 921.9 MHz */
	static const char *const eu_off6[] = {
		"1: error: downlink.rx1_dr_offset: 6 is not allowed in EU868 (0..5)", NULL};
	expect_text("downlink = { rx1_dr_offset = 6; };\n", LB_ERR_CONFIG, eu_off6);
	expect_text("region = \"AS923-2\";\ndownlink = { rx1_dr_offset = 7; rx2_dr = 7; };\n",
		    LB_OK, none);
	expect_text("region = \"IN865\";\ndownlink = { rx1_dr_offset = 7; rx2_frequency = "
		    "866550000; };\n", LB_OK, none);
	static const char *const kr[] = {
		"2: error: downlink.rx1_dr_offset: 6 is not allowed in KR920 (0..5)",
		"2: error: downlink.rx2_dr: DR6 is not a downlink data rate of KR920",
		"2: error: downlink.rx2_frequency: 866550000 Hz is outside the KR920 band "
		"(920900000..923300000)", NULL};
	expect_text("region = \"KR920\";\ndownlink = { rx1_dr_offset = 6; rx2_dr = 6; "
		    "rx2_frequency = 866550000; };\n", LB_ERR_CONFIG, kr);
	/* IN865 DR6 is RFU */
	static const char *const in_dr6[] = {
		"2: error: downlink.rx2_dr: DR6 is not a downlink data rate of IN865", NULL};
	expect_text("region = \"IN865\";\ndownlink = { rx2_dr = 6; };\n", LB_ERR_CONFIG, in_dr6);
}
END_TEST

/* region_dwell_time (AS923): defaults UplinkDwellTime 1, DownlinkDwellTime 0
 * (RP002-1.0.4 §2.3), both settable, round-trip through --print-config. */
START_TEST(test_region_dwell_time)
{
	struct lb_config c;
	struct config_report r = {0};
	char tmpl[] = "/tmp/test_config_XXXXXX";

	ck_assert_int_eq(config_defaults(&c), LB_OK);
	ck_assert(c.region_uplink_dwell);
	ck_assert(!c.region_downlink_dwell);
	config_free(&c);
	write_temp(tmpl, "region = \"AS923\";\n"
			 "region_dwell_time = { uplink = false; downlink = true; };\n");
	ck_assert_int_eq(config_load(tmpl, &c, &r), LB_OK);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_str_eq(c.region, "AS923");
	ck_assert(!c.region_uplink_dwell);
	ck_assert(c.region_downlink_dwell);
	assert_round_trip(&c);
	config_free(&c);
	unlink(tmpl);
}
END_TEST

static void expect_net_id(const char *value, uint32_t want)
{
	char text[64];
	struct lb_config c;
	struct config_report r = {0};
	char tmpl[] = "/tmp/test_config_XXXXXX";

	snprintf(text, sizeof(text), "net_id = \"%s\";\n", value);
	write_temp(tmpl, text);
	ck_assert_int_eq(config_load(tmpl, &c, &r), LB_OK);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_uint_eq(c.net_id, want);
	assert_round_trip(&c);
	config_free(&c);
	unlink(tmpl);
}

START_TEST(test_net_id)
{
	expect_net_id("000013", 0x000013);     /* TTN: type 0, NwkID 0x13 */
	expect_net_id("00003F", 0x00003f);     /* type 0: 6-bit NwkID */
	expect_net_id("20003f", 0x20003f);     /* type 1: 6-bit NwkID */
	expect_net_id("4001ff", 0x4001ff);     /* type 2: 9-bit NwkID */
	expect_net_id("7fffff", 0x7fffff);     /* type 3: no RFU bits */
	expect_net_id("e00000", 0xe00000);     /* type 7 */

	static const char *const t0[] = {
		"1: error: net_id: 000040 has RFU bits set: a type 0 NetID has a 6-bit NwkID, bits 20..6 must be 0",
		NULL};
	expect_text("net_id = \"000040\";\n", LB_ERR_CONFIG, t0);
	static const char *const t1[] = {
		"1: error: net_id: 300000 has RFU bits set: a type 1 NetID has a 6-bit NwkID, bits 20..6 must be 0",
		NULL};
	expect_text("net_id = \"300000\";\n", LB_ERR_CONFIG, t1);
	static const char *const t2[] = {
		"1: error: net_id: 400200 has RFU bits set: a type 2 NetID has a 9-bit NwkID, bits 20..9 must be 0",
		NULL};
	expect_text("net_id = \"400200\";\n", LB_ERR_CONFIG, t2);
	static const char *const len[] = {"1: error: net_id: expected 6 hex digits, got 4 characters", NULL};
	expect_text("net_id = \"0013\";\n", LB_ERR_CONFIG, len);
	static const char *const digit[] = {"1: error: net_id: character 6 ('g') is not a hex digit", NULL};
	expect_text("net_id = \"00001g\";\n", LB_ERR_CONFIG, digit);
	static const char *const type[] = {
		"1: error: net_id: expected a string of 6 hex digits, got an integer", NULL};
	expect_text("net_id = 19;\n", LB_ERR_CONFIG, type);
}
END_TEST

static void assert_fa(const struct lb_fair_access *fa, int airtime, int downlinks, int hours, int action)
{
	ck_assert_int_eq(fa->uplink_airtime_ms, airtime);
	ck_assert_int_eq(fa->downlinks, downlinks);
	ck_assert_int_eq(fa->window_hours, hours);
	ck_assert_int_eq(fa->action, action);
}

START_TEST(test_fair_access_inheritance)
{
	struct lb_config c;
	struct config_report r = {0};
	char *buf = NULL;
	size_t len = 0;

	ck_assert_int_eq(config_load(fixture("fair_access.conf"), &c, &r), LB_OK);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_uint_eq(c.n_devices, 4);
	assert_fa(&c.fair_access, 30000, 5, 24, LB_FA_ENFORCE);
	assert_fa(&c.devices[0].fair_access, 30000, 5, 24, LB_FA_ENFORCE);
	ck_assert_uint_eq(c.devices[0].fa_set, 0);
	ck_assert_int_eq(c.devices[0].lorawan_version, JOIN_V1_0_3);
	assert_fa(&c.devices[1].fair_access, 60000, 5, 24, LB_FA_WARN);
	ck_assert_uint_eq(c.devices[1].fa_set, LB_FA_SET_UPLINK_AIRTIME_MS | LB_FA_SET_ACTION);
	ck_assert_int_eq(c.devices[1].lorawan_version, JOIN_V1_0_4);
	assert_fa(&c.devices[2].fair_access, 1000, 1, 1, LB_FA_ENFORCE);
	ck_assert_uint_eq(c.devices[2].fa_set, LB_FA_SET_UPLINK_AIRTIME_MS | LB_FA_SET_DOWNLINKS |
						   LB_FA_SET_WINDOW_HOURS | LB_FA_SET_ACTION);
	assert_fa(&c.devices[3].fair_access, 30000, 5, 24, LB_FA_ENFORCE);
	ck_assert_uint_eq(c.devices[3].fa_set, 0);

	/* only the device's own keys are printed: the rest keeps inheriting */
	FILE *f = open_memstream(&buf, &len);
	config_print(&c, f, false);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\t\tdev_eui = \"0000000000000002\";\n"
					  "\t\tlorawan_version = \"1.0.4\";\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\t\tfair_access = {\n\t\t\tuplink_airtime_ms = 60000;\n"
					  "\t\t\taction = \"warn\";\n\t\t};\n"
					  "\t\tcodec = \"none\";\n\t\tclass = \"A\";\n\t}"));
	const char *inh = strstr(buf, "\t\tname = \"inherits\";\n");
	const char *next = strstr(buf, "\t\tname = \"own-airtime\";\n");
	ck_assert_ptr_nonnull(inh);
	ck_assert_ptr_nonnull(next);
	/* the inheriting device has no fair_access group of its own */
	ck_assert(strstr(inh, "fair_access") > next);
	free(buf);
	assert_round_trip(&c);
	config_free(&c);
	config_report_free(&r);
}
END_TEST

START_TEST(test_bad_device_fair_access)
{
	static const char *const want[] = {
		"7: error: device 'd1': lorawan_version: '1.1' is not one of 1.0.0, 1.0.1, 1.0.2, 1.0.3, 1.0.4",
		"9: error: device 'd1': fair_access.downlinks: 0 is out of range 1..1000000",
		"10: error: device 'd1': fair_access.action: 'block' is not one of warn, enforce",
		"11: warning: device 'd1': unknown setting 'fair_access.colour' (ignored)",
		"12: error: device 'd1': fair_access.window_hours: expected an integer, got a string",
		"20: error: device 'd2': lorawan_version: expected a string, got an integer",
		"21: error: device 'd2': fair_access: expected a group { ... }, got an integer",
		NULL};
	expect_problems("devices_fa_bad.conf", LB_ERR_CONFIG, want);
}
END_TEST

/* lorawan_version is stored as enum join_version: the same names, in order. */
START_TEST(test_lorawan_version_matches_join)
{
	int fi = config__device_field_find("lorawan_version");
	ck_assert_int_ge(fi, 0);
	const struct csd_field *f = &config__device_fields[fi];
	size_t n = 0;
	for (; f->choices[n]; n++) {
		enum join_version v;
		ck_assert_int_eq(join_version_parse(f->choices[n], &v), LB_OK);
		ck_assert_int_eq((int)v, (int)n);
	}
	ck_assert_uint_eq(n, JOIN_V1_0_4 + 1);
}
END_TEST


/* downlink.join_cflist: "auto", "none" or a list of MHz values. */
START_TEST(test_cflist_parse)
{
	uint32_t f[CONFIG_CFLIST_MAX];

	ck_assert_int_eq(config_cflist_parse("auto", f, CONFIG_CFLIST_MAX), 0);
	ck_assert_int_eq(config_cflist_parse("none", f, CONFIG_CFLIST_MAX), 0);
	ck_assert_int_eq(config_cflist_parse("867.1, 867.3,867.5", f, CONFIG_CFLIST_MAX), 3);
	ck_assert_uint_eq(f[0], 867100000);
	ck_assert_uint_eq(f[1], 867300000);
	ck_assert_uint_eq(f[2], 867500000);
	ck_assert_int_eq(config_cflist_parse("867.1,867.3,867.5,867.7,867.9,868.1", f,
					     CONFIG_CFLIST_MAX), -1);
	ck_assert_int_eq(config_cflist_parse("867.1;867.3", f, CONFIG_CFLIST_MAX), -1);
	ck_assert_int_eq(config_cflist_parse("99", f, CONFIG_CFLIST_MAX), -1);
	ck_assert_int_eq(config_cflist_parse("x", f, CONFIG_CFLIST_MAX), -1);
}
END_TEST

/* An explicit list the region's join-accept cannot carry is refused at
 * the setting, not dropped from every join-accept. */
START_TEST(test_cflist_region)
{
	static const char *const none[] = {NULL};
	static const char *const eu[] = {
		"2: error: downlink.join_cflist: 915.1 MHz is outside the EU868 band (863..870 MHz)",
		NULL};
	expect_text("region = \"EU868\";\ndownlink = { join_cflist = \"867.1, 915.1\"; };\n",
		    LB_ERR_CONFIG, eu);
	static const char *const as[] = {
		"2: error: downlink.join_cflist: 867.1 MHz is outside the AS923-1 band "
		"(915..928 MHz)",
		NULL};
	expect_text("region = \"AS923\";\ndownlink = { join_cflist = \"867.1\"; };\n",
		    LB_ERR_CONFIG, as);
	static const char *const us[] = {
		"2: error: downlink.join_cflist: US915 has no CFList of frequencies (its channels "
		"are fixed): use \"auto\" or \"none\"",
		NULL};
	expect_text("region = \"US915\";\ndownlink = { join_cflist = \"903.1\"; };\n",
		    LB_ERR_CONFIG, us);
	expect_text("region = \"EU868\";\ndownlink = { join_cflist = \"867.1, 868.8\"; };\n",
		    LB_OK, none);
	expect_text("region = \"AS923\";\ndownlink = { join_cflist = \"923.6\"; };\n", LB_OK,
		    none);
}
END_TEST

/* An ABP device entry line for the application tests; extra = more fields. */
#define APP_DEV(n, app, extra) \
	"{ name = \"" n "\"; application = \"" app "\"; dev_eui = \"000000000000000" n "\"; " \
	"dev_addr = \"0102030" n "\"; nwk_s_key = \"0000000000000000000000000000000" n "\"; " \
	"app_s_key = \"00000000000000000000000000000001\"; " extra " }"

/* Write text as lorabridge.conf in a new directory with codecs/th.js next
 * to it; the directory's name in dir (to remove). */
static void write_app_dir(char *dir, const char *text, char *conf, size_t cap)
{
	char path[512];
	testutil_tmp_make(dir);
	snprintf(path, sizeof(path), "%s/codecs", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/codecs/th.js", dir);
	testutil_write_file(path,
			    "function decodeUplink(input) { return {data: {t: input.bytes[0]}}; }\n");
	snprintf(conf, cap, "%s/lorabridge.conf", dir);
	testutil_write_file(conf, text);
}

/* Devices take their application's id, codec and script unless they set
 * their own; relative script paths resolve from the file's directory. */
START_TEST(test_applications)
{
	static const char text[] =
		"applications = ( { name = \"building\"; id = \"6F1C1B4E-2f0a-4b8e-9d8b-0c2a7b1e5f10\";\n"
		"  codec = \"js\"; codec_script = \"codecs/th.js\"; },\n"
		"  { name = \"farm\"; codec = \"cayennelpp\"; class = \"C\"; } );\n"
		"devices = (\n" APP_DEV("1", "building", "") ",\n"
		APP_DEV("2", "farm", "") ",\n"
		APP_DEV("3", "farm", "codec = \"none\"; class = \"A\";") ",\n"
		APP_DEV("4", "other", "codec = \"js\"; codec_script = \"codecs/th.js\"; class = \"C\";")
		",\n" APP_DEV("5", "other", "") ");\n";
	char dir[] = "/tmp/test_config_apps_XXXXXX", conf[600], script[600];
	struct lb_config cfg;
	struct config_report r = {0};

	write_app_dir(dir, text, conf, sizeof(conf));
	int rc = config_load(conf, &cfg, &r);
	char *problems = report_text(&r);
	ck_assert_msg(rc == LB_OK && r.n == 0, "%s", problems);
	free(problems);
	char *real = realpath(dir, NULL);
	ck_assert_ptr_nonnull(real);
	snprintf(script, sizeof(script), "%s/codecs/th.js", real);
	free(real);
	ck_assert_uint_eq(cfg.n_apps, 2);
	ck_assert_str_eq(cfg.apps[0].id, "6f1c1b4e-2f0a-4b8e-9d8b-0c2a7b1e5f10");
	ck_assert_int_eq(cfg.devices[0].codec, LB_CODEC_JS);
	ck_assert_str_eq(cfg.devices[0].codec_script, script);
	ck_assert_str_eq(cfg.devices[0].application_id, "6f1c1b4e-2f0a-4b8e-9d8b-0c2a7b1e5f10");
	ck_assert_int_eq(cfg.devices[1].codec, LB_CODEC_CAYENNELPP);
	ck_assert_ptr_null(cfg.devices[1].codec_script);
	ck_assert_ptr_null(cfg.devices[1].application_id);
	ck_assert_int_eq(cfg.devices[2].codec, LB_CODEC_NONE);
	ck_assert_int_eq(cfg.devices[3].codec, LB_CODEC_JS);
	ck_assert_str_eq(cfg.devices[3].codec_script, script);
	ck_assert_int_eq(cfg.devices[4].codec, LB_CODEC_NONE);
	/* class: the application's ("farm": C) unless the device sets one */
	ck_assert_int_eq(cfg.devices[0].dev_class, LB_CLASS_A);
	ck_assert_int_eq(cfg.devices[1].dev_class, LB_CLASS_C);
	ck_assert_int_eq(cfg.devices[2].dev_class, LB_CLASS_A);
	ck_assert_int_eq(cfg.devices[3].dev_class, LB_CLASS_C);
	ck_assert_int_eq(cfg.devices[4].dev_class, LB_CLASS_A);
	ck_assert(cfg.apps[1].class_set && cfg.apps[1].dev_class == LB_CLASS_C);
	ck_assert(!cfg.apps[0].class_set);
	ck_assert_int_eq(cfg.downlink_class_c_ack_timeout_s, 30);
	ck_assert_int_eq(cfg.downlink_class_c_retries, 2);
	ck_assert_int_eq(cfg.codec_timeout_ms, 100);
	ck_assert_int_eq(cfg.codec_memory_kb, 8192);
	assert_round_trip(&cfg);
	config_free(&cfg);
	config_report_free(&r);
	testutil_tmp_remove(dir);
}
END_TEST

/* applications[].status_interval_h is what its devices ask DevStatusReq
 * by unless a device sets its own (even to the default); devices of no
 * listed application keep the default, 24 h. */
START_TEST(test_application_status_interval)
{
	static const char text[] =
		"applications = ( { name = \"farm\"; status_interval_h = 6; },\n"
		"  { name = \"quiet\"; status_interval_h = 0; } );\n"
		"devices = (\n" APP_DEV("1", "farm", "") ",\n"
		APP_DEV("2", "farm", "status_interval_h = 48;") ",\n"
		APP_DEV("3", "farm", "status_interval_h = 24;") ",\n"
		APP_DEV("4", "quiet", "") ",\n"
		APP_DEV("5", "other", "") ");\n";
	char dir[] = "/tmp/test_config_status_XXXXXX", conf[600];
	struct lb_config cfg;
	struct config_report r = {0};

	write_app_dir(dir, text, conf, sizeof(conf));
	int rc = config_load(conf, &cfg, &r);
	char *problems = report_text(&r);
	ck_assert_msg(rc == LB_OK && r.n == 0, "%s", problems);
	free(problems);
	ck_assert_uint_eq(cfg.n_devices, 5);
	ck_assert_int_eq(cfg.devices[0].status_interval_h, 6);
	ck_assert_int_eq(cfg.devices[1].status_interval_h, 48);
	ck_assert_int_eq(cfg.devices[2].status_interval_h, 24);
	ck_assert_int_eq(cfg.devices[3].status_interval_h, 0);
	ck_assert_int_eq(cfg.devices[4].status_interval_h, 24);
	assert_round_trip(&cfg);
	config_free(&cfg);
	config_report_free(&r);
	testutil_tmp_remove(dir);
}
END_TEST

START_TEST(test_application_problems)
{
	static const char text[] =
		"applications = ( { name = \"a\"; id = \"not-a-uuid\"; codec = \"lua\"; },\n"
		"  { name = \"a\"; codec_script = \"codecs/missing.js\"; },\n"
		"  { id = \"6f1c1b4e-2f0a-4b8e-9d8b-0c2a7b1e5f10\"; colour = \"red\"; } );\n"
		"devices = (\n" APP_DEV("1", "x", "codec = \"js\";") ",\n"
		APP_DEV("2", "x", "codec_script = \"codecs/th.js\";") ");\n";
	char dir[] = "/tmp/test_config_apps_XXXXXX", conf[600], want[1][1400];
	const char *lines[5];
	struct lb_config cfg;
	struct config_report r = {0};

	write_app_dir(dir, text, conf, sizeof(conf));
	char *real = realpath(dir, NULL);
	ck_assert_ptr_nonnull(real);
	/* a script that cannot be read is the daemon's to report (per uplink) */
	snprintf(want[0], sizeof(want[0]), "%s:2: warning: application 'a': codec_script: cannot "
		 "read '%s/codecs/missing.js' (No such file or directory): its devices' uplinks "
		 "are published without object until it can (SIGHUP reloads it)", conf, real);
	free(real);
	ck_assert_int_eq(config_load(conf, &cfg, &r), LB_ERR_CONFIG);
	char *got = report_text(&r);
	lines[0] = "1: error: application 'a': id: 'not-a-uuid' is not a UUID";
	lines[1] = "1: error: application 'a': codec: 'lua' is not one of none, cayennelpp, js";
	lines[2] = "2: error: application 'a': duplicate name (first defined at line 1)";
	lines[3] = "3: error: applications[2]: missing name";
	lines[4] = "3: warning: applications[2]: unknown setting 'colour' (ignored)";
	for (size_t i = 0; i < 5; i++)
		ck_assert_msg(strstr(got, lines[i]), "missing \"%s\" in:\n%s", lines[i], got);
	ck_assert_msg(strstr(got, want[0]), "missing \"%s\" in:\n%s", want[0], got);
	ck_assert_msg(strstr(got, ":5: error: device '1': codec \"js\" needs codec_script"),
		      "%s", got);
	ck_assert_msg(strstr(got, ":6: warning: device '2': codec_script is only used with codec "
				  "\"js\" (ignored)"), "%s", got);
	free(got);
	config_report_free(&r);
	testutil_tmp_remove(dir);
}
END_TEST


/* --- integrations ------------------------------------------------------ */

static const char integ_conf[] =
	"integrations = {\n"
	"  http = ( { url = \"https://hook:hk-s3cret@example.net/hook/{dev_eui}?token=q-s3cret\";\n"
	"             events = [\"up\", \"status\"];\n"
	"             headers = { Authorization = \"Bearer s3cret\"; X-Auth-Token = \"tok\"; };\n"
	"             body = \"object\"; timeout_ms = 2000; parallel = 2; } );\n"
	"  influxdb = ( { url = \"http://127.0.0.1:8086\"; database = \"lorawan\";\n"
	"                 username = \"u\"; password = \"pw-s3cret\"; batch_size = 50; },\n"
	"               { name = \"cloud\"; url = \"https://influx.example\"; org = \"o\";\n"
	"                 bucket = \"b\"; token = \"tk-s3cret\"; tls_verify = false; } );\n"
	"};\n";

static void load_text(const char *text, struct lb_config *c)
{
	char tmpl[] = "/tmp/test_config_XXXXXX";
	struct config_report r = {0};

	write_temp(tmpl, text);
	int rc = config_load(tmpl, c, &r);
	char *problems = report_text(&r);
	ck_assert_msg(rc == LB_OK && r.n == 0, "load failed: %s", problems);
	free(problems);
	config_report_free(&r);
	unlink(tmpl);
}

static char *printed(const struct lb_config *c, bool secrets)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	config_print(c, f, secrets);
	fclose(f);
	return buf;
}

/* devices[].regional_parameters: absent, it follows lorawan_version (1.0.0 ..
 * 1.0.2 -> 1.0.2revB, 1.0.3 -> 1.0.3revA, 1.0.4 -> RP002-1.0.4); given, it wins
 * and is printed (an absent one is printed as a comment, so it keeps following
 * lorawan_version). */
START_TEST(test_regional_parameters)
{
	struct lb_config c;
	static const char *const versions[] = {"1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4"};
	static const int want[] = {REGION_RP_1_0_2B, REGION_RP_1_0_2B, REGION_RP_1_0_2B,
				   REGION_RP_1_0_3A, REGION_RP002_1_0_4};
	char text[4096];
	size_t n = (size_t)snprintf(text, sizeof(text), "region = \"AS923\";\ndevices = (\n");

	for (size_t i = 0; i < 5; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "{ name = \"v%zu\"; dev_eui = \"00000000000000%02zx\";\n"
				      "  lorawan_version = \"%s\"; "
				      "join_eui = \"0000000000000001\";\n"
				      "  app_key = \"000102030405060708090a0b0c0d0e0f\"; },\n",
				      i, i + 1, versions[i]);
	n += (size_t)snprintf(text + n, sizeof(text) - n,
			      "{ name = \"new\"; dev_eui = \"0000000000000010\"; "
			      "lorawan_version = \"1.0.3\";\n"
			      "  regional_parameters = \"RP002-1.0.4\"; "
			      "join_eui = \"0000000000000001\";\n"
			      "  app_key = \"000102030405060708090a0b0c0d0e0f\"; },\n"
			      "{ name = \"old\"; dev_eui = \"0000000000000011\"; "
			      "lorawan_version = \"1.0.4\";\n"
			      "  regional_parameters = \"RP002-1.0.0\"; "
			      "join_eui = \"0000000000000001\";\n"
			      "  app_key = \"000102030405060708090a0b0c0d0e0f\"; }\n);\n");
	ck_assert_uint_lt(n, sizeof(text));
	load_text(text, &c);
	ck_assert_uint_eq(c.n_devices, 7);
	for (size_t i = 0; i < 5; i++)
		ck_assert_int_eq(c.devices[i].regional_parameters, want[i]);
	ck_assert_int_eq(c.devices[5].regional_parameters, REGION_RP002_1_0_4);
	ck_assert_int_eq(c.devices[6].regional_parameters, REGION_RP002_1_0_0);
	char *out = printed(&c, false);
	ck_assert_ptr_nonnull(strstr(out, "\t\tlorawan_version = \"1.0.3\";\n"
					  "\t\tregional_parameters = \"RP002-1.0.4\";\n"));
	ck_assert_ptr_nonnull(strstr(out, "\t\tregional_parameters = \"RP002-1.0.0\";\n"));
	ck_assert_ptr_nonnull(strstr(out, "\t\tlorawan_version = \"1.0.3\";\n"
					  "\t\t# regional_parameters = \"1.0.3revA\"; "
					  "(from lorawan_version)\n"));
	ck_assert_ptr_nonnull(strstr(out, "\t\tlorawan_version = \"1.0.2\";\n"
					  "\t\t# regional_parameters = \"1.0.2revB\"; "
					  "(from lorawan_version)\n"));
	ck_assert_ptr_null(strstr(out, "\tregional_parameters = \"1.0.3revA\""));
	ck_assert_ptr_null(strstr(out, "\tregional_parameters = \"1.0.2revB\""));
	free(out);
	assert_round_trip(&c);
	config_free(&c);
}
END_TEST

START_TEST(test_bad_regional_parameters)
{
	static const char *const bad[] = {
		"3: error: device 'd': regional_parameters: "
		"'RP002-1.0.9' is not one of RP002-1.0.4, "
		"RP002-1.0.3, RP002-1.0.2, RP002-1.0.1, RP002-1.0.0, 1.0.3revA, 1.0.2revB",
		NULL};
	expect_text("region = \"AS923\";\ndevices = ( { name = \"d\"; "
		    "dev_eui = \"0000000000000001\";\n"
		    "  regional_parameters = \"RP002-1.0.9\"; join_eui = \"0000000000000001\";\n"
		    "  app_key = \"000102030405060708090a0b0c0d0e0f\"; } );\n",
		    LB_ERR_CONFIG, bad);
	static const char *const type[] = {
		"2: error: device 'd': regional_parameters: expected a string, "
		"got an integer", NULL};
	expect_text("devices = ( { name = \"d\"; dev_eui = \"0000000000000001\";\n"
		    "  regional_parameters = 3; join_eui = \"0000000000000001\";\n"
		    "  app_key = \"000102030405060708090a0b0c0d0e0f\"; } );\n",
		    LB_ERR_CONFIG, type);
}
END_TEST

/* applications[].regional_parameters: over the default its devices derive from
 * their lorawan_version, under a device's own; printed only when given (a
 * device's derived one as a comment saying where it came from). */
START_TEST(test_app_regional_parameters)
{
	struct lb_config c;

	load_text("region = \"AS923\";\n"
		  "applications = ( { name = \"old\"; regional_parameters = \"1.0.2revB\"; },\n"
		  "                 { name = \"plain\"; } );\n"
		  "devices = (\n"
		  "{ name = \"a\"; application = \"old\"; dev_eui = \"0000000000000001\";\n"
		  "  lorawan_version = \"1.0.4\"; join_eui = \"0000000000000001\";\n"
		  "  app_key = \"000102030405060708090a0b0c0d0e0f\"; },\n"
		  "{ name = \"b\"; application = \"old\"; dev_eui = \"0000000000000002\";\n"
		  "  regional_parameters = \"RP002-1.0.2\"; join_eui = \"0000000000000001\";\n"
		  "  app_key = \"000102030405060708090a0b0c0d0e0f\"; },\n"
		  "{ name = \"c\"; application = \"plain\"; dev_eui = \"0000000000000003\";\n"
		  "  join_eui = \"0000000000000001\";\n"
		  "  app_key = \"000102030405060708090a0b0c0d0e0f\"; } );\n",
		  &c);
	ck_assert(c.apps[0].rp_set);
	ck_assert_int_eq(c.apps[0].regional_parameters, REGION_RP_1_0_2B);
	ck_assert(!c.apps[1].rp_set);
	ck_assert_int_eq(c.devices[0].regional_parameters, REGION_RP_1_0_2B);
	ck_assert_int_eq(c.devices[1].regional_parameters, REGION_RP002_1_0_2);
	ck_assert_int_eq(c.devices[2].regional_parameters, REGION_RP_1_0_3A);  /* 1.0.3 default */
	char *out = printed(&c, false);
	ck_assert_ptr_nonnull(strstr(out, "\t\tname = \"old\";\n"));
	ck_assert_ptr_nonnull(strstr(out, "\t\tregional_parameters = \"1.0.2revB\";\n\t}"));
	ck_assert_ptr_nonnull(strstr(out, "\t\t# regional_parameters = \"1.0.2revB\"; "
					  "(from its application)\n"));
	ck_assert_ptr_nonnull(strstr(out, "\t\t# regional_parameters = \"1.0.3revA\"; "
					  "(from lorawan_version)\n"));
	ck_assert_ptr_null(strstr(out, "\tregional_parameters = \"1.0.3revA\""));
	free(out);
	assert_round_trip(&c);
	config_free(&c);

	static const char *const bad[] = {
		"1: error: application 'x': regional_parameters: "
		"'1.0.3' is not one of RP002-1.0.4, "
		"RP002-1.0.3, RP002-1.0.2, RP002-1.0.1, RP002-1.0.0, 1.0.3revA, 1.0.2revB",
		NULL};
	expect_text("applications = ( { name = \"x\"; regional_parameters = \"1.0.3\"; } );\n",
		    LB_ERR_CONFIG, bad);
}
END_TEST

/* regional_parameters takes region_rp_names, in enum region_rp order. */
START_TEST(test_regional_parameters_names)
{
	int fi = config__device_field_find("regional_parameters");
	ck_assert_int_ge(fi, 0);
	const struct csd_field *f = &config__device_fields[fi];
	ck_assert_ptr_eq(f->choices, region_rp_names);
	ck_assert_ptr_null(f->def_str);
}
END_TEST

/* http: off without the group, defaults with it, the password hash
 * checked, a non-loopback bind refused without a password, and printed
 * (and re-read) only when present. */
START_TEST(test_http)
{
	struct lb_config c;
	static const char *const hash =
		"pbkdf2-sha256$1000$c2FsdA==$YywoEuRtRgQQK6dhjp1tfS+BKPYma0oDJk0qBGC33LM=";
	char text[512];

	load_text("region = \"EU868\";\n", &c);
	ck_assert(!c.has_http);
	char *p = printed(&c, true);
	ck_assert_ptr_null(strstr(p, "http = {"));
	free(p);
	config_free(&c);

	load_text("http = { };\n", &c);
	ck_assert(c.has_http);
	ck_assert_str_eq(c.http_bind, "127.0.0.1");
	ck_assert_uint_eq(c.http_port, 8080);
	ck_assert_ptr_null(c.http_password);
	ck_assert_str_eq(c.http_www_dir, "/usr/share/lorabridge/www");
	ck_assert_int_eq(c.http_max_clients, 32);
	p = printed(&c, true);
	ck_assert_ptr_nonnull(strstr(p, "http = {"));
	free(p);
	config_free(&c);

	snprintf(text, sizeof(text), "http = { bind = \"::\"; port = 9000; password = \"%s\"; };\n",
		 hash);
	load_text(text, &c);
	ck_assert_str_eq(c.http_password, hash);
	assert_round_trip(&c);
	p = printed(&c, false);
	ck_assert_ptr_null(strstr(p, "YywoEuRt"));       /* a secret: redacted */
	free(p);
	config_free(&c);

	static const char *const open_bind[] = {
		"1: error: http.bind: \"0.0.0.0\" is not a loopback address: set http.password "
		"(`lorabridge passwd` makes one) or bind to 127.0.0.1 or ::1", NULL};
	expect_text("http = { bind = \"0.0.0.0\"; };\n", LB_ERR_CONFIG, open_bind);
	static const char *const none[] = {NULL};
	expect_text("http = { bind = \"::1\"; };\n", LB_OK, none);
	expect_text("http = { bind = \"127.0.0.2\"; };\n", LB_OK, none);
	static const char *const open_udp[] = {
		"1: warning: udp.bind: \"0.0.0.0\" is not a loopback address and udp.allow is "
		"empty: any host that reaches the port is taken as a gateway (list the gateways' "
		"EUIs in udp.allow)", NULL};
	expect_text("udp = { bind = \"0.0.0.0\"; };\n", LB_OK, open_udp);
	expect_text("udp = { bind = \"::\"; allow = [ \"aa555a0000000001\" ]; };\n", LB_OK, none);
	expect_text("udp = { bind = \"::1\"; };\n", LB_OK, none);
	static const char *const bad_hash[] = {
		"1: error: http.password: not a password hash (make one with `lorabridge passwd`: "
		"pbkdf2-sha256$ITERATIONS$SALT$HASH)", NULL};
	expect_text("http = { password = \"secret\"; };\n", LB_ERR_CONFIG, bad_hash);
}
END_TEST

static void assert_integs(const struct lb_config *c)
{
	ck_assert_uint_eq(c->n_integs, 3);
	const struct lb_integ_conf *h = &c->integs[0], *i1 = &c->integs[1], *i2 = &c->integs[2];
	ck_assert_int_eq(h->kind, LB_INTEG_HTTP);
	ck_assert_str_eq(h->name, "http1");
	ck_assert_str_eq(h->url, "https://hook:hk-s3cret@example.net/hook/{dev_eui}?token=q-s3cret");
	ck_assert_uint_eq(h->events, config_integ_event_bit("up") | config_integ_event_bit("status"));
	ck_assert_int_eq(h->body, LB_INTEG_BODY_OBJECT);
	ck_assert_uint_eq(h->n_headers, 2);
	ck_assert_str_eq(h->headers[1].key, "X-Auth-Token");
	ck_assert_str_eq(h->headers[1].value, "tok");
	ck_assert_int_eq(h->timeout_ms, 2000);
	ck_assert_int_eq(h->parallel, 2);
	ck_assert_int_eq(h->queue_limit, 10000);
	ck_assert(h->tls_verify);
	ck_assert_int_eq(i1->kind, LB_INTEG_INFLUXDB);
	ck_assert_str_eq(i1->name, "influxdb1");
	ck_assert_str_eq(i1->database, "lorawan");
	ck_assert_str_eq(i1->password, "pw-s3cret");
	ck_assert_int_eq(i1->batch_size, 50);
	ck_assert_str_eq(i2->name, "cloud");
	ck_assert_str_eq(i2->bucket, "b");
	ck_assert_str_eq(i2->token, "tk-s3cret");
	ck_assert(!i2->tls_verify);
}

START_TEST(test_integrations)
{
	struct lb_config c, back;

	load_text(integ_conf, &c);
	assert_integs(&c);
	/* --print-config --show-secrets loads back to the same entries */
	char *text = printed(&c, true);
	load_text(text, &back);
	assert_integs(&back);
	free(text);
	config_free(&back);
	/* without: passwords, tokens, header values and the URL's userinfo and
	 * query values are redacted */
	text = printed(&c, false);
	ck_assert_ptr_null(strstr(text, "s3cret"));
	ck_assert_ptr_null(strstr(text, "tok\""));
	ck_assert_ptr_nonnull(strstr(text, "\t\t\t\tAuthorization = \"<redacted>\";\n"));
	ck_assert_ptr_nonnull(strstr(text, "\t\t\tusername = \"u\";\n"));
	ck_assert_ptr_nonnull(strstr(text, "\t\t\turl = \"https://<redacted>@example.net/hook/"
				   "{dev_eui}?token=<redacted>\";\n"));
	free(text);
	ck_assert_uint_eq(config_integ_event_bit("join"), 2);
	ck_assert_uint_eq(config_integ_event_bit("uplink"), 0);
	config_free(&c);
}
END_TEST

/* What a SIGHUP does not take over, named by path; values never (secrets);
 * the same file twice: nothing. */
START_TEST(test_restart_changes)
{
	struct lb_config a, b;
	char out[512];
	char text[2048];

	load_text(integ_conf, &a);
	load_text(integ_conf, &b);
	ck_assert_uint_eq(config_restart_changes(&a, &b, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	config_free(&b);
	snprintf(text, sizeof(text), "mqtt = { client_id = \"other\"; username = \"u\"; password = \"pw2\"; };\n"
		 "udp = { allow = [ \"aa555a0000000001\" ]; };\nlog_level = \"debug\";\n"
		 "fair_access = { downlinks = 20; action = \"enforce\"; };\n%s",
		 integ_conf);
	char *tk = strstr(text, "tk-s3cret");
	ck_assert_ptr_nonnull(tk);
	memcpy(tk, "tk-chang", 8);
	load_text(text, &b);
	ck_assert_uint_eq(config_restart_changes(&a, &b, out, sizeof(out)), 6);
	ck_assert_msg(strstr(out, "udp.allow") && strstr(out, "mqtt.client_id") &&
		      strstr(out, "mqtt.username") &&
		      strstr(out, "mqtt.password") && strstr(out, "log_level") &&
		      strstr(out, "integrations.influxdb[1].token"), "%s", out);
	/* the devices inherit fair_access: a SIGHUP applies it */
	ck_assert_msg(!strstr(out, "fair_access"), "%s", out);
	ck_assert_ptr_null(strstr(out, "other"));
	ck_assert_ptr_null(strstr(out, "tk-"));
	/* a short buffer: cut, said */
	ck_assert_uint_eq(config_restart_changes(&a, &b, out, 24), 6);
	ck_assert_ptr_nonnull(strstr(out, "..."));
	ck_assert_uint_lt(strlen(out), 24);
	/* at every size: whole paths of the full list, then "..." at the end
	 * only, after ", " unless nothing fit (a later, shorter path that would
	 * fit is not written after the cut) */
	char full[512];
	ck_assert_uint_eq(config_restart_changes(&a, &b, full, sizeof(full)), 6);
	for (size_t cap = 1; cap <= strlen(full); cap++) {
		ck_assert_uint_eq(config_restart_changes(&a, &b, out, cap), 6);
		size_t len = strlen(out);
		ck_assert_uint_lt(len, cap);
		const char *dots = strstr(out, "...");
		if (len < 3) {
			ck_assert_str_eq(out, "");
			continue;
		}
		ck_assert_msg(dots == out + len - 3, "cap %zu: '%s'", cap, out);
		if (dots == out)
			continue;
		ck_assert_msg(len >= 5 && !strncmp(out + len - 5, ", ...", 5) &&
			      !strncmp(full, out, len - 5) &&
			      !strncmp(full + len - 5, ", ", 2), "cap %zu: '%s' of '%s'", cap, out,
			      full);
	}
	config_free(&b);
	load_text("integrations = { http = ( { url = \"http://x\"; } ); };\n", &b);
	ck_assert_uint_gt(config_restart_changes(&a, &b, out, sizeof(out)), 2);
	ck_assert_msg(strstr(out, "integrations.http[0].url, ") &&
		      strstr(out, ", integrations.influxdb") && !strstr(out, "influxdb["), "%s", out);
	config_free(&b);
	/* udp.allow is a set: its order means nothing */
	config_free(&a);
	load_text("udp = { allow = [ \"aa555a0000000001\", \"aa555a0000000002@10.0.0.1\", "
		  "\"aa555a0000000003\" ]; };\n", &a);
	load_text("udp = { allow = [ \"aa555a0000000003\", \"aa555a0000000001\", "
		  "\"aa555a0000000002@10.0.0.1\" ]; };\n", &b);
	ck_assert_uint_eq(config_restart_changes(&a, &b, out, sizeof(out)), 0);
	config_free(&b);
	load_text("udp = { allow = [ \"aa555a0000000003\", \"aa555a0000000001\", "
		  "\"aa555a0000000002@10.0.0.2\" ]; };\n", &b);
	ck_assert_uint_eq(config_restart_changes(&a, &b, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "udp.allow");
	config_free(&b);
	config_free(&a);
	load_text(integ_conf, &a);
	/* the http group added (its values the defaults) or removed */
	snprintf(text, sizeof(text), "http = { };\n%s", integ_conf);
	load_text(text, &b);
	ck_assert_uint_eq(config_restart_changes(&a, &b, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "http");
	ck_assert_uint_eq(config_restart_changes(&b, &a, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "http");
	config_free(&b);
	config_free(&a);
}
END_TEST

START_TEST(test_integration_problems)
{
	static const char *const want[] = {
		"2: warning: unknown setting 'integrations.mqtt' (ignored)",
		"3: error: integrations.http[0]: url: 'ftp://x' is not an http:// or https:// URL",
		"3: error: integrations.http[0]: events: 'uplink' is not one of up, join, ack, "
		"txack, log, status",
		"3: error: integrations.http[0]: missing url",
		"4: error: integrations.http[1]: timeout_ms: 5 is out of range 100..600000",
		"4: error: integrations.http[1]: body: 'json' is not one of event, object",
		"5: error: integrations.influxdb[0]: needs either database (InfluxDB 1.x) or bucket "
		"with org and token (2.x)",
		"6: error: integrations.influxdb[1]: bucket (InfluxDB 2.x) needs org and token as well",
		"7: warning: integrations.influxdb[2]: unknown setting 'events' (ignored)",
		"7: error: integrations.influxdb[2]: password needs username as well",
		NULL};
	expect_text("integrations = {\n"
		    "  mqtt = 1;\n"
		    "  http = ( { url = \"ftp://x\"; events = [\"uplink\"]; },\n"
		    "           { url = \"http://a\"; timeout_ms = 5; body = \"json\"; } );\n"
		    "  influxdb = ( { url = \"http://i\"; },\n"
		    "               { url = \"http://i\"; bucket = \"b\"; },\n"
		    "               { url = \"http://i\"; database = \"d\"; password = \"p\"; events = [\"up\"]; } );\n"
		    "};\n", LB_ERR_CONFIG, want);
}
END_TEST
/* URL placeholders are checked like those of MQTT topic templates. */
START_TEST(test_integration_url_placeholders)
{
	static const char *const want[] = {
		"2: error: integrations.http[0]: url: unknown placeholder '{devEui}' (known: "
		"{dev_eui}, {device_name}, {application})",
		"2: error: integrations.http[0]: missing url",
		"4: error: integrations.http[2]: url: unknown placeholder '{dev_eui' (known: "
		"{dev_eui}, {device_name}, {application})",
		"4: error: integrations.http[2]: missing url",
		"5: error: integrations.influxdb[0]: url: unknown placeholder '{db}' (an InfluxDB url "
		"has none)",
		"5: error: integrations.influxdb[0]: missing url",
		NULL};
	expect_text("integrations = {\n"
		    "  http = ( { url = \"http://h/{devEui}\"; },\n"
		    "           { url = \"http://h/{application}/{dev_eui}/{device_name}\"; },\n"
		    "           { url = \"http://h/{dev_eui\"; } );\n"
		    "  influxdb = ( { url = \"http://i/{db}\"; database = \"d\"; } );\n"
		    "};\n", LB_ERR_CONFIG, want);
}
END_TEST

/* At most LB_INTEGS_MAX entries (the stats event reports each); an
 * InfluxDB write URL must fit in URL_MAX once built. */
START_TEST(test_integration_limits)
{
	char text[8192], db[1400];
	size_t n = (size_t)snprintf(text, sizeof(text), "integrations = {\n  http = (\n");
	for (int i = 0; i <= LB_INTEGS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s{ url = \"http://h/%d\"; }\n",
				      i ? "," : "", i);
	snprintf(text + n, sizeof(text) - n, ");\n};\n");
	static const char *const many[] = {"1: error: integrations: 33 entries, at most 32", NULL};
	expect_text(text, LB_ERR_CONFIG, many);

	memset(db, 'd', sizeof(db) - 1);
	db[sizeof(db) - 1] = '\0';
	snprintf(text, sizeof(text), "integrations = {\n  influxdb = ( { url = \"http://i\"; "
		 "database = \"%s\"; } );\n};\n", db);
	static const char *const long_url[] = {
		"2: error: integrations.influxdb[0]: the write URL (url, /api/v2/write or /write and "
		"the percent-encoded database, retention_policy, org, bucket) would be longer than "
		"2048 bytes", NULL};
	expect_text(text, LB_ERR_CONFIG, long_url);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *ok = tcase_create("valid");
	tcase_add_test(ok, test_defaults);
	tcase_add_test(ok, test_cflist_parse);
	tcase_add_test(ok, test_cflist_region);
	tcase_add_test(ok, test_minimal_is_defaults);
	tcase_add_test(ok, test_full);
	tcase_add_test(ok, test_integration_url_placeholders);
	tcase_add_test(ok, test_integration_limits);
	tcase_add_test(ok, test_full_round_trip);
	tcase_add_test(ok, test_print_redacts_secrets);
	tcase_add_test(ok, test_print_defaults_text);
	tcase_add_test(ok, test_shared_devaddr_is_legal);
	tcase_add_test(ok, test_etc_default_file);
	tcase_add_test(ok, test_reference);
	tcase_add_test(ok, test_reference_whole);
	tcase_add_test(ok, test_schema_paths_unique_and_grouped);
	tcase_add_test(ok, test_range_bounds_accepted);
	tcase_add_test(ok, test_net_id);
	tcase_add_test(ok, test_fair_access_inheritance);
	tcase_add_test(ok, test_lorawan_version_matches_join);
	tcase_add_test(ok, test_regional_parameters);
	tcase_add_test(ok, test_bad_regional_parameters);
	tcase_add_test(ok, test_regional_parameters_names);
	tcase_add_test(ok, test_app_regional_parameters);
	tcase_add_test(ok, test_applications);
	tcase_add_test(ok, test_application_status_interval);
	suite_add_tcase(s, ok);

	TCase *bad = tcase_create("problems");
	tcase_add_test(bad, test_syntax_error);
	tcase_add_test(bad, test_missing_file);
	tcase_add_test(bad, test_wrong_types);
	tcase_add_test(bad, test_unknown_keys_warn);
	tcase_add_test(bad, test_bad_hex);
	tcase_add_test(bad, test_allow_pinned_bad);
	tcase_add_test(bad, test_allow_pinned_ok);
	tcase_add_test(bad, test_duplicates);
	tcase_add_test(bad, test_cloned_session);
	tcase_add_test(bad, test_shared_devaddr_other_keys);
	tcase_add_test(bad, test_ranges);
	tcase_add_test(bad, test_wide_literals);
	tcase_add_test(bad, test_tls_rules);
	tcase_add_test(bad, test_topic_templates);
	tcase_add_test(bad, test_home_assistant);
	tcase_add_test(bad, test_http);
	tcase_add_test(bad, test_bad_values);
	tcase_add_test(bad, test_bad_devices);
	tcase_add_test(bad, test_report_accumulates);
	tcase_add_test(bad, test_downlink_fa_state_ranges);
	tcase_add_test(bad, test_new_wrong_types);
	tcase_add_test(bad, test_region_rules);
	tcase_add_test(bad, test_region_dwell_time);
	tcase_add_test(bad, test_bad_device_fair_access);
	tcase_add_test(bad, test_application_problems);
	tcase_add_test(bad, test_integration_problems);
	tcase_add_test(bad, test_include_missing);
	tcase_add_test(ok, test_integrations);
	tcase_add_test(ok, test_restart_changes);
	suite_add_tcase(s, bad);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
