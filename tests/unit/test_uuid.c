/* SPDX-License-Identifier: MIT */
/*
 * test_uuid.c - RFC 4122 UUIDs (base/uuid.h) and the deviceInfo defaults
 * built on them (events/devinfo.h).
 *
 * Vectors: version-5 UUIDs as Python's uuid.uuid5() computes them (its
 * documentation's example: uuid5(NAMESPACE_DNS, "python.org") =
 * 886313e1-3b8a-5372-9b90-0c9aee199e5d), and the documented lorabridge
 * namespaces and ids, each recomputed with
 *   python3 -c 'import uuid; print(uuid.uuid5(NS, NAME))'.
 */
#include <check.h>
#include <string.h>

#include "base/lb_err.h"
#include "base/uuid.h"
#include "events/devinfo.h"
#include "testutil.h"

/* NameSpace_DNS, RFC 4122 Appendix C. */
static const uint8_t ns_dns[UUID_LEN] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
					 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};

static void expect_v5(const uint8_t ns[UUID_LEN], const char *name, const char *want)
{
	uint8_t id[UUID_LEN];
	char s[UUID_STR_LEN + 1];

	ck_assert_int_eq(uuid_v5(ns, name, strlen(name), id), LB_OK);
	uuid_format(id, s);
	ck_assert_str_eq(s, want);
}

START_TEST(test_v5_vectors)
{
	expect_v5(ns_dns, "python.org", "886313e1-3b8a-5372-9b90-0c9aee199e5d");
	expect_v5(ns_dns, "www.example.com", "2ed6657d-e927-568b-95e1-2665a8aea6a2");
	expect_v5(uuid_ns_url, "urn:lorabridge:tenant", "f47ac8d3-7dd0-5aa9-8caa-567a8a011862");
	ck_assert_int_eq(uuid_v5(NULL, "x", 1, (uint8_t[UUID_LEN]){0}), LB_ERR_INVAL);
}
END_TEST

/* Each lorabridge namespace is the UUIDv5 its documentation says. */
START_TEST(test_namespaces_derived)
{
	static const struct { const uint8_t *ns; const char *urn; } v[] = {
		{devinfo_ns_tenant, "urn:lorabridge:tenant"},
		{devinfo_ns_application, "urn:lorabridge:application"},
		{devinfo_ns_device_profile, "urn:lorabridge:device-profile"},
	};
	uint8_t id[UUID_LEN];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_int_eq(uuid_v5(uuid_ns_url, v[i].urn, strlen(v[i].urn), id), LB_OK);
		ck_assert_mem_eq(id, v[i].ns, UUID_LEN);
	}
}
END_TEST

START_TEST(test_devinfo_defaults)
{
	char id[DEVINFO_ID_SIZE], name[DEVINFO_PROFILE_NAME_SIZE], region[DEVINFO_REGION_ID_SIZE];

	ck_assert_int_eq(devinfo_tenant_id(id), LB_OK);
	ck_assert_str_eq(id, "5bfff35d-c946-5c21-bba0-5e9b0d52a2cb");
	ck_assert_int_eq(devinfo_application_id("sim", id), LB_OK);
	ck_assert_str_eq(id, "52801389-7162-52e6-b6a1-3593200b8903");
	ck_assert_int_eq(devinfo_application_id("demo", id), LB_OK);
	ck_assert_str_eq(id, "40734c74-7400-54df-bfd8-407b7d6a8198");
	ck_assert_int_eq(devinfo_profile("EU868", 3, name, id), LB_OK);
	ck_assert_str_eq(name, "EU868 LoRaWAN 1.0.3 class A");
	ck_assert_str_eq(id, "a063198c-333f-56f4-b39c-4fe07b1bd3d8");
	ck_assert_int_eq(devinfo_profile("EU868", 10, name, id), LB_ERR_INVAL);
	ck_assert_int_eq(devinfo_profile_class("EU868", 3, 'C', name, id), LB_OK);
	ck_assert_str_eq(name, "EU868 LoRaWAN 1.0.3 class C");
	ck_assert_str_eq(id, "ebf4ffb0-2b23-55dd-8699-5e16fac52a30");
	ck_assert_int_eq(devinfo_profile_class("EU868", 3, 'B', name, id), LB_ERR_INVAL);
	ck_assert_int_eq(devinfo_region_config_id("EU868", region), LB_OK);
	ck_assert_str_eq(region, "eu868");
	/* The ids of ChirpStack's chirpstack/configuration/region_*.toml. */
	static const char *const cs_ids[][2] = {
		{"US915", "us915"}, {"AU915", "au915"}, {"AS923-1", "as923"},
		{"AS923-2", "as923_2"}, {"AS923-3", "as923_3"}, {"AS923-4", "as923_4"},
		{"KR920", "kr920"}, {"IN865", "in865"},
	};
	for (size_t i = 0; i < sizeof(cs_ids) / sizeof(cs_ids[0]); i++) {
		ck_assert_int_eq(devinfo_region_config_id(cs_ids[i][0], region), LB_OK);
		ck_assert_str_eq(region, cs_ids[i][1]);
	}
	ck_assert_int_eq(devinfo_region_config_id("A_REGION_NAME_TOO_LONG", region),
			 LB_ERR_TOO_LARGE);
	/* ChirpStack's CommonName as printed (lrwn region CommonName). */
	static const char *const cs_names[][2] = {
		{"EU868", "EU868"}, {"US915", "US915"}, {"AS923-1", "AS923"},
		{"AS923-2", "AS923_2"}, {"AS923-4", "AS923_4"}, {"in865", "IN865"},
	};
	for (size_t i = 0; i < sizeof(cs_names) / sizeof(cs_names[0]); i++) {
		ck_assert_int_eq(devinfo_region_common_name(cs_names[i][0], region), LB_OK);
		ck_assert_str_eq(region, cs_names[i][1]);
	}
	ck_assert_int_eq(devinfo_region_common_name("A_REGION_NAME_TOO_LONG", region),
			 LB_ERR_TOO_LARGE);
	ck_assert_int_eq(devinfo_region_common_name(NULL, region), LB_ERR_INVAL);
	ck_assert_int_eq(devinfo_application_id(NULL, id), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_parse_format)
{
	uint8_t id[UUID_LEN];
	char s[UUID_STR_LEN + 1];
	static const char *const bad[] = {
		"", "6ba7b8109dad11d180b400c04fd430c8", "6ba7b810-9dad-11d1-80b4-00c04fd430c",
		"6ba7b810-9dad-11d1-80b4-00c04fd430c8a", "6ba7b810-9dad-11d1-80b4+00c04fd430c8",
		"6ba7b810-9dad-11d1-80b4-00c04fd430cg", "6ba7b8109-dad-11d1-80b4-00c04fd430c8",
	};

	ck_assert_int_eq(uuid_parse("6BA7B810-9DAD-11d1-80b4-00c04fd430c8", 36, id), LB_OK);
	ck_assert_mem_eq(id, ns_dns, UUID_LEN);
	uuid_format(id, s);
	ck_assert_str_eq(s, "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
	ck_assert_int_eq(uuid_parse(s, strlen(s), NULL), LB_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(uuid_parse(bad[i], strlen(bad[i]), id) == LB_ERR_MALFORMED, "%s", bad[i]);
	ck_assert_int_eq(uuid_parse(NULL, 36, id), LB_ERR_MALFORMED);
}
END_TEST

static Suite *uuid_suite(void)
{
	Suite *s = suite_create("uuid");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_v5_vectors);
	tcase_add_test(tc, test_namespaces_derived);
	tcase_add_test(tc, test_devinfo_defaults);
	tcase_add_test(tc, test_parse_format);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(uuid_suite());
}
