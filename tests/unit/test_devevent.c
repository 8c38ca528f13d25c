/* SPDX-License-Identifier: MIT */
/*
 * test_devevent.c - the deviceInfo heads devevent_fill() keeps
 * (daemon/devevent.h): each one is the text event_json_device_head()
 * writes for the device's own fields, served again to a device of the same
 * application, class and version, written anew when the application's
 * strings changed (a reload), never for a string longer than a slot keeps,
 * and bounded whatever the number of applications; and the ids it
 * computes at the first fill, not before (a SHA-1 each: OpenSSL's first
 * digest loads its default provider, which an idle bridge does not need).
 */
#include <check.h>
#include <openssl/provider.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "config/config.h"
#include "daemon/devevent.h"
#include "daemon/publish.h"
#include "events/event_json.h"
#include "testutil.h"

static struct devevents ev;
static struct devevent_heads heads;

static void setup(void)
{
	ck_assert_int_eq(devevent_init(&ev, NULL, NULL, "EU868"), LB_OK);
	devevent_use_heads(&ev, &heads);
}

/* The devices' profiles (tables/devprofile.h), one per device built. */
static struct lb_devprofile profs[400];
static size_t n_profs;

static struct lb_device device(const char *name, const char *app, const char *app_uuid,
			       uint8_t dev_class, uint8_t version)
{
	struct lb_device d;

	ck_assert_uint_lt(n_profs, sizeof(profs) / sizeof(profs[0]));
	memset(&d, 0, sizeof(d));
	d.name = name;
	d.prof = &profs[n_profs++];
	d.prof->application = app;
	d.prof->app_uuid = app_uuid;
	d.dev_class = dev_class;
	d.lorawan_version = version;
	d.dev_eui = 0x70b3d57ed0000001ull;
	return d;
}

/* d's head as devevent_fill() gives it: set, and the text of the fields. */
static void check_head(const struct lb_device *d)
{
	struct ev_device out, bare;
	char want[1024];
	size_t n = 0;

	devevent_fill(&out, &ev, d);
	ck_assert_ptr_nonnull(out.head);
	bare = out;
	bare.head = NULL;
	ck_assert_int_eq(event_json_device_head(&bare, want, sizeof(want), &n), LB_OK);
	ck_assert_uint_eq(out.head_len, n);
	ck_assert(memcmp(out.head, want, n) == 0);
	ck_assert_ptr_nonnull(strstr(want, d->prof->application));
}

START_TEST(test_head_hit_and_miss)
{
	char app[16] = "weather";
	struct lb_device a = device("a", app, "7d06a9b0-0f4c-5a39-9d8e-2f1ac9c1c4a1", LB_CLASS_A, 3);
	/* another device of the application: its strings are the same ones
	 * (the registry keeps each string once, tables/strpool.h) */
	struct lb_device b = device("b", app, a.prof->app_uuid, LB_CLASS_A, 3);

	check_head(&a);
	ck_assert_uint_eq(heads.misses, 1);
	check_head(&a);
	check_head(&b);
	ck_assert_uint_eq(heads.misses, 1);
	ck_assert_uint_eq(heads.hits, 2);

	/* A reload renaming the application; its new string at the old one's
	 * address: the next event has the new name. */
	memcpy(app, "orchard", 8);
	check_head(&a);
	ck_assert_uint_eq(heads.misses, 2);

	/* Another class or version: another profile in the head. */
	struct lb_device c = device("c", app, a.prof->app_uuid, LB_CLASS_C, 3);
	struct lb_device v = device("v", app, a.prof->app_uuid, LB_CLASS_A, 4);
	check_head(&c);
	check_head(&v);
	ck_assert_uint_eq(heads.misses, 4);
	check_head(&a);
	check_head(&c);
	check_head(&v);
}
END_TEST

START_TEST(test_head_too_long_and_none)
{
	char longer[DEVEVENT_HEAD_KEY + 1];
	struct ev_device out;

	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	struct lb_device d = device("d", longer, "7d06a9b0-0f4c-5a39-9d8e-2f1ac9c1c4a1",
				    LB_CLASS_A, 3);
	devevent_fill(&out, &ev, &d);
	ck_assert_ptr_null(out.head);          /* written from the fields */
	ck_assert_str_eq(out.application, longer);

	struct lb_device e = device("e", "weather", NULL, LB_CLASS_A, 3);
	check_head(&e);                        /* a NULL id is "" */

	devevent_use_heads(&ev, NULL);
	devevent_fill(&out, &ev, &e);
	ck_assert_ptr_null(out.head);
}
END_TEST

/* Many applications: every head right, the slots bounded. */
START_TEST(test_head_many_applications)
{
	static char apps[200][16];

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 200; i++) {
			snprintf(apps[i], sizeof(apps[i]), "app-%d", i);
			struct lb_device d = device("d", apps[i], "", (uint8_t)(i % 2), (uint8_t)(i % 5));
			check_head(&d);
		}
	}
	ck_assert_uint_eq(heads.hits + heads.misses, 400);
	ck_assert_uint_ge(heads.misses, 200);
	ck_assert_uint_le(sizeof(heads), 16 * 1024);
}
END_TEST

static struct lb_device_conf conf(const char *name, uint64_t eui, const char *app,
				  const char *app_id)
{
	struct lb_device_conf c;

	memset(&c, 0, sizeof(c));
	c.name = (char *)name;
	c.application = (char *)app;
	c.application_id = (char *)app_id;
	c.dev_eui = eui;
	c.activation = LB_ACT_OTAA;
	c.lorawan_version = 3;
	return c;
}

/* The default id of application app, as events/devinfo.h computes it. */
static void want_app_id(const char *app, const char *got)
{
	char want[DEVINFO_ID_SIZE];

	ck_assert_int_eq(devinfo_application_id(app, want), LB_OK);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
}

/* Nothing is hashed until a device event needs its ids; then the names'
 * ids and every device's default applicationId are there, devices of one
 * application in a row sharing theirs, a configured one kept; a reload's
 * registry computes its own at its first event. */
START_TEST(test_ids_at_first_fill)
{
	static const char configured[] = "4c9d4a36-2b1e-4f7e-9d1a-3e5b2c7a9f10";
	struct lb_device_conf c[4] = {
		conf("a", 1, "weather", NULL), conf("b", 2, "weather", NULL),
		conf("c", 3, "meters", configured), conf("d", 4, "weather", NULL),
	};
	struct devices d;
	struct ev_device out;
	char tenant[DEVINFO_ID_SIZE], profile[DEVINFO_ID_SIZE], name[DEVINFO_PROFILE_NAME_SIZE];

	c[1].status_interval_h = 6;   /* b: weather too, in a profile of its own */
	ck_assert_int_eq(devices_init(&d, c, 4), LB_OK);
	ck_assert_ptr_ne(d.dev[1].prof, d.dev[0].prof);
	ck_assert_ptr_eq(d.dev[3].prof, d.dev[0].prof);
	devevent_use_devices(&ev, &d);
	ck_assert_str_eq(ev.names.tenant_id, "");
	ck_assert_str_eq(ev.names.profile_id[LB_CLASS_A][3], "");
	ck_assert_str_eq(ev.names.region_config_id, "eu868");
	ck_assert_str_eq(ev.names.rx_metadata,
			 "{\"region_config_id\":\"eu868\",\"region_common_name\":\"EU868\"}");
	ck_assert_uint_eq(ev.names.rx_metadata_len, strlen(ev.names.rx_metadata));
	ck_assert_ptr_null(d.dev[0].prof->app_uuid);
	ck_assert_ptr_null(d.dev[3].prof->app_uuid);
	ck_assert_str_eq(d.dev[2].prof->app_uuid, configured);

	devevent_fill(&out, &ev, &d.dev[3]);
	ck_assert_int_eq(devinfo_tenant_id(tenant), LB_OK);
	ck_assert_int_eq(devinfo_profile_class("EU868", 3, 'A', name, profile), LB_OK);
	ck_assert_str_eq(out.tenant_id, tenant);
	ck_assert_str_eq(out.profile_id, profile);
	ck_assert_str_eq(out.profile_name, name);
	want_app_id("weather", out.application_id);
	want_app_id("weather", d.dev[0].prof->app_uuid);
	/* Two profiles of one application: one id, computed once, stored once. */
	want_app_id("weather", d.dev[1].prof->app_uuid);
	ck_assert_ptr_eq(d.dev[1].prof->app_uuid, d.dev[0].prof->app_uuid);
	ck_assert_str_eq(d.dev[2].prof->app_uuid, configured);
	devevent_fill(&out, &ev, &d.dev[2]);
	ck_assert_str_eq(out.application_id, configured);

	c[1].application = (char *)"meters";
	ck_assert_int_eq(devices_reload(&d, c, 4), LB_OK);
	ck_assert_ptr_null(d.dev[1].prof->app_uuid);
	devevent_fill(&out, &ev, &d.dev[1]);
	want_app_id("meters", out.application_id);
	want_app_id("weather", d.dev[3].prof->app_uuid);
	devices_free(&d);
}
END_TEST

/* devices_app_ids() failing (no SHA-1: OpenSSL loads its default
 * provider only when no other is loaded, and the null provider is): the
 * event goes out with an empty applicationId, nothing is marked done, and
 * the next event computes it. Check runs each test in a child of its own
 * (fork mode, the default), where no digest was fetched before. */
START_TEST(test_app_ids_retried_after_failure)
{
	struct lb_device_conf c = conf("a", 1, "weather", NULL);
	struct devices d;
	struct ev_device out;

	OSSL_PROVIDER *none = OSSL_PROVIDER_load(NULL, "null");
	ck_assert_ptr_nonnull(none);
	ck_assert_int_eq(devices_init(&d, &c, 1), LB_OK);
	devevent_use_devices(&ev, &d);
	ck_assert_int_eq(devices_app_ids(&d), LB_ERR_CRYPTO);
	devevent_fill(&out, &ev, &d.dev[0]);
	ck_assert_str_eq(out.application_id, "");
	ck_assert(!d.app_ids_done);
	ck_assert_ptr_null(d.dev[0].prof->app_uuid);

	OSSL_PROVIDER *def = OSSL_PROVIDER_load(NULL, "default");
	ck_assert_ptr_nonnull(def);
	devevent_fill(&out, &ev, &d.dev[0]);
	want_app_id("weather", out.application_id);
	ck_assert(d.app_ids_done);
	want_app_id("weather", d.dev[0].prof->app_uuid);
	devices_free(&d);
	OSSL_PROVIDER_unload(def);
	OSSL_PROVIDER_unload(none);
}
END_TEST

/* The outbox counts an acknowledged event in uplinksPublished when its
 * topic is a device's `up` topic, whatever the template. */
START_TEST(test_publish_is_device_up)
{
	struct lb_config cfg;
	struct publisher p;
	struct publish_sink sink = {0};

	ck_assert_int_eq(config_defaults(&cfg), LB_OK);
	ck_assert_int_eq(publish_init(&p, &cfg, &sink), LB_OK);
	ck_assert(publish_is_device_up(&p, "application/app/device/0102030405060708/event/up"));
	ck_assert(!publish_is_device_up(&p, "application/app/device/0102030405060708/event/ack"));
	ck_assert(!publish_is_device_up(&p, "application/app/device/0102030405060708/event/txack"));
	ck_assert(!publish_is_device_up(&p, "application/app/device/0102030405060708/event/upx"));
	ck_assert(!publish_is_device_up(&p, "application/app/device/event/up"));
	publish_free(&p);
	free(cfg.mqtt_topic_device_event);
	cfg.mqtt_topic_device_event = strdup("ev-{event}/{dev_eui}-{application}");
	ck_assert_ptr_nonnull(cfg.mqtt_topic_device_event);
	ck_assert_int_eq(publish_init(&p, &cfg, &sink), LB_OK);
	ck_assert(publish_is_device_up(&p, "ev-up/0102030405060708-a-b"));
	ck_assert(!publish_is_device_up(&p, "ev-txack/0102030405060708-a"));
	ck_assert(!publish_is_device_up(&p, "ev-up/0102030405060708"));
	publish_free(&p);
	config_free(&cfg);
}
END_TEST

/* The hold sink is told which events are `up`s (the outbox counts them
 * as uplinksPublished once acknowledged): by the event, not the topic. */
static int held_up[4];
static size_t n_held_up;

static int hold_rec(void *arg, uint64_t batch, uint64_t dev_eui, const char *topic,
		    const void *payload, size_t len, int qos, bool up)
{
	(void)arg, (void)batch, (void)dev_eui, (void)topic, (void)payload, (void)len, (void)qos;
	if (n_held_up < sizeof(held_up) / sizeof(held_up[0]))
		held_up[n_held_up++] = up;
	return LB_OK;
}

START_TEST(test_held_events_say_up)
{
	struct lb_config cfg;
	struct publisher p;
	struct publish_sink sink = {.hold = hold_rec};

	ck_assert_int_eq(config_defaults(&cfg), LB_OK);
	ck_assert_int_eq(publish_init(&p, &cfg, &sink), LB_OK);
	n_held_up = 0;
	static const char *const events[] = {"up", "ack", "txack", "up"};
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(publish_device_event_held(&p, 1, "app", "", 0x0102030405060708,
							   events[i], "{}", 2, NULL), LB_OK);
	ck_assert_uint_eq(n_held_up, 4);
	ck_assert_int_eq(held_up[0], 1);
	ck_assert_int_eq(held_up[1], 0);
	ck_assert_int_eq(held_up[2], 0);
	ck_assert_int_eq(held_up[3], 1);
	publish_free(&p);
	config_free(&cfg);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("devevent");
	TCase *tc = tcase_create("heads");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_head_hit_and_miss);
	tcase_add_test(tc, test_head_too_long_and_none);
	tcase_add_test(tc, test_head_many_applications);
	tcase_add_test(tc, test_ids_at_first_fill);
	tcase_add_test(tc, test_publish_is_device_up);
	tcase_add_test(tc, test_held_events_say_up);
	tcase_add_test(tc, test_app_ids_retried_after_failure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
