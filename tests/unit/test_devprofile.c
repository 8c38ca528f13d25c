/* SPDX-License-Identifier: MIT */
/*
 * test_devprofile.c - shared device profiles: one copy per distinct
 * profile, every field telling profiles apart, pointers stable across the
 * index's growth, interning after a seal, and the device table giving the
 * devices of one application one profile across a reload.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "tables/devices.h"
#include "tables/devprofile.h"

#define MANY 5000

static const struct lb_devprofile base = {
	.application = "farm", .application_id = NULL, .codec_script = NULL,
	.app_uuid = "7d06a9b0-0f4c-5a39-9d8e-2f1ac9c1c4a1",
	.fa_policy = {.uplink_airtime_ms = 30000, .downlinks = 10, .window_hours = 24,
		      .action = FA_WARN},
	.status_interval_h = 24, .codec_slot = 0, .codec = 0,
};

START_TEST(equal_profiles_shared)
{
	struct devprofiles ps;
	struct lb_devprofile k = base;

	devprofiles_init(&ps);
	struct lb_devprofile *a = devprofiles_intern(&ps, &k);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_ne(a, &k);                 /* a copy, not the caller's */
	k.status_interval_h = 6;
	ck_assert_int_eq(a->status_interval_h, 24);
	k.status_interval_h = 24;
	ck_assert_ptr_eq(devprofiles_intern(&ps, &k), a);
	ck_assert_uint_eq(ps.n, 1);
	devprofiles_free(&ps);
	devprofiles_free(&ps);                   /* twice: safe */
	devprofiles_free(NULL);
}
END_TEST

/* Each field on its own makes another profile. */
START_TEST(every_field_counts)
{
	static const char other[] = "other";
	struct devprofiles ps;
	struct lb_devprofile v[12];

	for (size_t i = 0; i < 12; i++)
		v[i] = base;
	v[1].application = other;
	v[2].application_id = other;
	v[3].codec_script = other;
	v[4].app_uuid = other;
	v[5].fa_policy.uplink_airtime_ms++;
	v[6].fa_policy.downlinks++;
	v[7].fa_policy.window_hours++;
	v[8].fa_policy.action = FA_ENFORCE;
	v[9].status_interval_h = 0;
	v[10].codec = 2;
	v[11].codec_slot = base.codec_slot + 1;
	devprofiles_init(&ps);
	struct lb_devprofile *p[12];
	for (size_t i = 0; i < 12; i++)
		ck_assert_ptr_nonnull(p[i] = devprofiles_intern(&ps, &v[i]));
	for (size_t i = 0; i < 12; i++)
		for (size_t j = 0; j < i; j++)
			ck_assert_ptr_ne(p[i], p[j]);
	ck_assert_uint_eq(ps.n, 12);
	for (size_t i = 0; i < 12; i++)
		ck_assert_ptr_eq(devprofiles_intern(&ps, &v[i]), p[i]);
	ck_assert_uint_eq(ps.n, 12);
	devprofiles_free(&ps);
}
END_TEST

/* Many profiles: the index grows, the profiles stay where they are; after
 * a seal the profiles stay and are found again. */
START_TEST(stable_across_growth_and_seal)
{
	struct devprofiles ps;
	struct lb_devprofile **p = calloc(MANY, sizeof(*p));
	struct lb_devprofile k = base;

	ck_assert_ptr_nonnull(p);
	devprofiles_init(&ps);
	for (size_t i = 0; i < MANY; i++) {
		k.status_interval_h = (int)i;
		ck_assert_ptr_nonnull(p[i] = devprofiles_intern(&ps, &k));
	}
	ck_assert_uint_eq(ps.n, MANY);
	ck_assert_uint_ge(ps.set_mask + 1, 2 * MANY);
	devprofiles_seal(&ps);
	ck_assert_ptr_null(ps.set);
	for (size_t i = 0; i < MANY; i++)
		ck_assert_int_eq(p[i]->status_interval_h, (int)i);
	k.status_interval_h = 17;
	ck_assert_ptr_eq(devprofiles_intern(&ps, &k), p[17]);
	ck_assert_uint_eq(ps.n, MANY);
	devprofiles_free(&ps);
	free(p);
}
END_TEST

static struct lb_device_conf abp(const char *name, const char *app, uint64_t eui,
				 int status_h)
{
	struct lb_device_conf c;

	memset(&c, 0, sizeof(c));
	c.name = (char *)name;
	c.application = (char *)app;
	c.dev_eui = eui;
	c.activation = LB_ACT_ABP;
	c.dev_addr = (uint32_t)eui;
	c.nwk_s_key[0] = c.app_s_key[0] = (uint8_t)eui;
	c.lorawan_version = 3;
	c.adr = true;
	c.status_interval_h = status_h;
	c.fair_access.uplink_airtime_ms = 30000;
	c.fair_access.downlinks = 10;
	c.fair_access.window_hours = 24;
	return c;
}

/* The device table: one profile per distinct set of settings, each
 * device pointing to its own; a reload builds them anew with the new
 * settings, and the state kept across it is the device's, not the
 * profile's. */
START_TEST(table_profiles_and_reload)
{
	struct lb_device_conf c[4] = {
		abp("a", "farm", 1, 24), abp("b", "farm", 2, 24),
		abp("c", "farm", 3, 6), abp("d", "city", 4, 24),
	};
	struct devices d;

	ck_assert_int_eq(devices_init(&d, c, 4), LB_OK);
	ck_assert_uint_eq(d.profiles.n, 3);
	ck_assert_ptr_null(d.profiles.set);      /* sealed once built */
	struct lb_device *a = devices_find_eui(&d, 1), *b = devices_find_eui(&d, 2);
	struct lb_device *cc = devices_find_eui(&d, 3), *dd = devices_find_eui(&d, 4);
	ck_assert_ptr_eq(a->prof, b->prof);
	ck_assert_ptr_ne(a->prof, cc->prof);
	ck_assert_ptr_null(a->prof->app_uuid);   /* computed at the first event */
	ck_assert_int_eq(devices_app_ids(&d), LB_OK);
	ck_assert_ptr_nonnull(a->prof->app_uuid);
	ck_assert_ptr_eq(a->prof->app_uuid, cc->prof->app_uuid);   /* one application */
	ck_assert_ptr_ne(a->prof->app_uuid, dd->prof->app_uuid);
	ck_assert_str_eq(dd->prof->application, "city");
	ck_assert_int_eq(cc->prof->status_interval_h, 6);
	devices_set_seen(a, 5);

	c[1].status_interval_h = 6;              /* b now shares c's settings */
	c[3].application = (char *)"farm";
	ck_assert_int_eq(devices_reload(&d, c, 4), LB_OK);
	ck_assert_uint_eq(d.profiles.n, 2);
	a = devices_find_eui(&d, 1);
	b = devices_find_eui(&d, 2);
	cc = devices_find_eui(&d, 3);
	dd = devices_find_eui(&d, 4);
	ck_assert(a->state_kept && b->state_kept);
	ck_assert_int_eq(a->last_seen_ms, 5);
	ck_assert_ptr_eq(b->prof, cc->prof);
	ck_assert_ptr_eq(a->prof, dd->prof);
	ck_assert_str_eq(dd->prof->application, "farm");
	devices_free(&d);
}
END_TEST

static Suite *devprofile_suite(void)
{
	Suite *s = suite_create("devprofile");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, equal_profiles_shared);
	tcase_add_test(tc, every_field_counts);
	tcase_add_test(tc, stable_across_growth_and_seal);
	tcase_add_test(tc, table_profiles_and_reload);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(devprofile_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
