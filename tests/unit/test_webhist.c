/* SPDX-License-Identifier: MIT */
/*
 * test_webhist.c - the web page's per-device history, fed with ChirpStack
 * v4 JSON events: the best reception's RSSI/SNR (ring of 20, oldest
 * first), the last decoded object, battery and margin from `status`,
 * malformed events ignored, many devices.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "daemon/webhist.h"
#include "testutil.h"

static int up(struct webhist *h, uint64_t eui, int rssi1, double snr1, int rssi2,
	      const char *object)
{
	char json[512];
	int n = snprintf(json, sizeof(json),
			 "{\"fCnt\":1,\"rxInfo\":[{\"gatewayId\":\"a\",\"rssi\":%d,\"snr\":%.1f},"
			 "{\"gatewayId\":\"b\",\"rssi\":%d,\"snr\":1.0}]%s%s}",
			 rssi1, snr1, rssi2, object ? ",\"object\":" : "", object ? object : "");
	return webhist_up(h, eui, json, (size_t)n);
}

START_TEST(t_radio_ring)
{
	struct webhist h = {0};
	int16_t rssi[WEBHIST_RADIO];
	float snr[WEBHIST_RADIO];

	ck_assert_ptr_null(webhist_find(&h, 7));
	for (int i = 0; i < 25; i++)
		ck_assert_int_eq(up(&h, 7, -100 + i, i / 2.0, -120, NULL), LB_OK);
	const struct webhist_dev *d = webhist_find(&h, 7);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(webhist_radio(d, rssi, snr), WEBHIST_RADIO);
	ck_assert_int_eq(rssi[0], -95);               /* the 6th: the first 5 rolled out */
	ck_assert_int_eq(rssi[WEBHIST_RADIO - 1], -76);
	ck_assert_float_eq_tol(snr[WEBHIST_RADIO - 1], 12.0, 0.01);
	ck_assert_int_eq(d->battery, -1);
	ck_assert_ptr_null(d->object);
	webhist_free(&h);
}
END_TEST

START_TEST(t_best_gateway_and_object)
{
	struct webhist h = {0};
	int16_t rssi[WEBHIST_RADIO];
	float snr[WEBHIST_RADIO];

	ck_assert_int_eq(up(&h, 1, -90, 2.5, -60, "{\"t\":21.5}"), LB_OK);
	const struct webhist_dev *d = webhist_find(&h, 1);
	ck_assert_uint_eq(webhist_radio(d, rssi, snr), 1);
	ck_assert_int_eq(rssi[0], -60);               /* gateway b heard it best */
	ck_assert_float_eq_tol(snr[0], 1.0, 0.01);
	ck_assert_str_eq(d->object, "{\"t\":21.5}");
	/* an uplink without object keeps the last one */
	ck_assert_int_eq(up(&h, 1, -90, 2.5, -95, NULL), LB_OK);
	ck_assert_str_eq(webhist_find(&h, 1)->object, "{\"t\":21.5}");
	webhist_free(&h);
}
END_TEST

START_TEST(t_status)
{
	struct webhist h = {0};
	const char *st = "{\"margin\":12,\"externalPowerSource\":false,\"batteryLevel\":87.4}";
	const char *na = "{\"margin\":-3,\"batteryLevelUnavailable\":true}";

	ck_assert_int_eq(webhist_status(&h, 2, st, strlen(st)), LB_OK);
	ck_assert_int_eq(webhist_find(&h, 2)->battery, 87);
	ck_assert(webhist_find(&h, 2)->has_margin);
	ck_assert_int_eq(webhist_find(&h, 2)->margin, 12);
	ck_assert_int_eq(webhist_status(&h, 2, na, strlen(na)), LB_OK);
	ck_assert_int_eq(webhist_find(&h, 2)->battery, -1);
	ck_assert_int_eq(webhist_find(&h, 2)->margin, -3);
	webhist_free(&h);
}
END_TEST

START_TEST(t_malformed)
{
	struct webhist h = {0};
	static const char *const bad[] = {"", "[1]", "{\"rxInfo\":", "{} x"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(webhist_up(&h, 3, bad[i], strlen(bad[i])), LB_ERR_JSON);
		ck_assert_int_eq(webhist_status(&h, 3, bad[i], strlen(bad[i])), LB_ERR_JSON);
	}
	ck_assert_ptr_null(webhist_find(&h, 3));
	/* valid JSON of another shape: an entry, nothing recorded */
	ck_assert_int_eq(webhist_up(&h, 3, "{\"rxInfo\":7}", 12), LB_OK);
	ck_assert_uint_eq(webhist_find(&h, 3)->n, 0);
	webhist_free(&h);
}
END_TEST

START_TEST(t_many_devices)
{
	struct webhist h = {0};

	for (uint64_t e = 1; e <= 5000; e++)
		ck_assert_int_eq(up(&h, e * 0x100000001ull, -50, 1.0, -70, NULL), LB_OK);
	ck_assert_uint_eq(h.count, 5000);
	for (uint64_t e = 1; e <= 5000; e++)
		ck_assert_ptr_nonnull(webhist_find(&h, e * 0x100000001ull));
	ck_assert_ptr_null(webhist_find(&h, 5001 * 0x100000001ull));
	webhist_free(&h);
	ck_assert_uint_eq(h.count, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("webhist");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_radio_ring);
	tcase_add_test(tc, t_best_gateway_and_object);
	tcase_add_test(tc, t_status);
	tcase_add_test(tc, t_malformed);
	tcase_add_test(tc, t_many_devices);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
