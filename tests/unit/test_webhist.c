/* SPDX-License-Identifier: MIT */
/*
 * test_webhist.c - the web page's per-device history: the best
 * reception's RSSI/SNR (ring of 20, oldest first) and the last decoded
 * object, taken from the values an `up` event is built from (no parse),
 * checked against what the event's JSON says (with and without an object,
 * receptions without RSSI or SNR); battery and margin of a `status`
 * event, also against its JSON; bad input refused; many devices.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/lb_err.h"
#include "daemon/webhist.h"
#include "events/event_json.h"
#include "testutil.h"

#define NO_RSSI 1000             /* rx(): no rssi field */

/* A reception by gateway gw; rssi NO_RSSI: none; snr NAN: none. */
static struct lb_rx rx(uint64_t gw, int rssi, float snr)
{
	struct lb_rx r;

	memset(&r, 0, sizeof(r));
	r.gateway_eui = gw;
	r.uplink_id = 7;
	r.received_us = INT64_C(1715677967325000);
	r.rxpk.freq_hz = 868100000;
	r.rxpk.stat = 1;
	r.rxpk.modu = GWMP_MOD_LORA;
	r.rxpk.sf = 7;
	r.rxpk.bw_khz = 125;
	r.rxpk.cr = 1;
	r.rxpk.has_rssi = rssi != NO_RSSI;
	r.rxpk.rssi = rssi;
	r.rxpk.has_lsnr = !isnan(snr);
	r.rxpk.lsnr = snr;
	return r;
}

/* Two receptions, the first's RSSI/SNR given, the second's -120 / 1.0. */
static int up(struct webhist *h, uint64_t eui, int rssi1, float snr1, int rssi2,
	      const char *object)
{
	struct lb_rx r[2] = {rx(0xa, rssi1, snr1), rx(0xb, rssi2, 1.0f)};
	return webhist_up(h, eui, r, 2, object, object ? strlen(object) : 0);
}

START_TEST(t_radio_ring)
{
	struct webhist h = {0};
	int16_t rssi[WEBHIST_RADIO];
	float snr[WEBHIST_RADIO];

	ck_assert_ptr_null(webhist_find(&h, 7));
	for (int i = 0; i < 25; i++)
		ck_assert_int_eq(up(&h, 7, -100 + i, (float)i / 2.0f, -120, NULL), LB_OK);
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

	ck_assert_int_eq(up(&h, 1, -90, 2.5f, -60, "{\"t\":21.5}"), LB_OK);
	const struct webhist_dev *d = webhist_find(&h, 1);
	ck_assert_uint_eq(webhist_radio(d, rssi, snr), 1);
	ck_assert_int_eq(rssi[0], -60);               /* gateway b heard it best */
	ck_assert_float_eq_tol(snr[0], 1.0, 0.01);
	ck_assert_str_eq(d->object, "{\"t\":21.5}");
	/* an uplink without object keeps the last one */
	ck_assert_int_eq(up(&h, 1, -90, 2.5f, -95, NULL), LB_OK);
	ck_assert_str_eq(webhist_find(&h, 1)->object, "{\"t\":21.5}");
	/* an object of the same size or smaller reuses the buffer */
	const char *buf = webhist_find(&h, 1)->object;
	size_t cap = webhist_find(&h, 1)->object_cap;
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(up(&h, 1, -90, 2.5f, -95, i % 2 ? "{\"t\":22.5}" : "{\"t\":1}"),
				 LB_OK);
	ck_assert_ptr_eq(webhist_find(&h, 1)->object, buf);
	ck_assert_uint_eq(webhist_find(&h, 1)->object_cap, cap);
	ck_assert_str_eq(webhist_find(&h, 1)->object, "{\"t\":22.5}");
	webhist_free(&h);
}
END_TEST

/* What the event's JSON says, read as the page's history read it before
 * it took the values directly: the rxInfo[] entry with the highest rssi
 * (the first of equals), its snr (0 when absent), the `object` as text. */
static bool json_best(const char *json, int *rssi, double *snr, const char **object)
{
	struct json_object *o = json_tokener_parse(json), *a, *e, *v, *obj;
	bool found = false;

	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "rxInfo", &a));
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_object_get_ex(e, "rssi", &v))
			continue;
		if (found && json_object_get_int(v) <= *rssi)
			continue;
		*rssi = json_object_get_int(v);
		*snr = json_object_object_get_ex(e, "snr", &v) ? json_object_get_double(v) : 0.0;
		found = true;
	}
	*object = NULL;
	if (json_object_object_get_ex(o, "object", &obj))
		*object = strdup(json_object_to_json_string_ext(
			obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return found;
}

/* Build the up event as uplink.c does (event_json_uplink_at()), hand the
 * history its values, and compare them with what the JSON says. */
static void check_against_json(const struct lb_rx *r, size_t n, const char *object_src,
			       bool expect_radio)
{
	static const struct ev_device dev = {.application = "app", .name = "d1",
					     .dev_eui = 0x0102030405060708ull};
	static const uint8_t data[] = {1, 2, 3};
	struct webhist h = {0};
	char json[16384];
	size_t len;
	struct ev_span span;
	int16_t rssi[WEBHIST_RADIO];
	float snr[WEBHIST_RADIO];
	int j_rssi = 0;
	double j_snr = 0;
	const char *j_object;

	struct ev_uplink ev = {.dev = &dev, .time_us = INT64_C(1715677967318406), .fcnt = 9,
			       .has_fport = true, .fport = 2, .data = data, .data_len = 3,
			       .rx = r, .n_rx = n, .region_config_id = "eu868"};
	if (object_src)
		ck_assert_ptr_nonnull(ev.object = json_tokener_parse(object_src));
	ck_assert_int_eq(event_json_uplink_at(&ev, json, sizeof(json), &len, &span), LB_OK);
	json_object_put(ev.object);
	ck_assert_uint_eq(span.len > 0, object_src != NULL);
	ck_assert_int_eq(webhist_up(&h, 5, r, n, span.len ? json + span.off : NULL, span.len),
			 LB_OK);

	const struct webhist_dev *d = webhist_find(&h, 5);
	ck_assert_ptr_nonnull(d);
	bool found = json_best(json, &j_rssi, &j_snr, &j_object);
	ck_assert(found == expect_radio);
	ck_assert_uint_eq(webhist_radio(d, rssi, snr), found ? 1 : 0);
	if (found) {
		ck_assert_int_eq(rssi[0], j_rssi);
		ck_assert(snr[0] == (float)j_snr);     /* the same float, not just close */
	}
	if (j_object)
		ck_assert_str_eq(d->object, j_object);
	else
		ck_assert_ptr_null(d->object);
	free((void *)j_object);
	webhist_free(&h);
}

START_TEST(t_equals_json_with_object)
{
	struct lb_rx r[3] = {rx(1, -101, -7.25f), rx(2, -64, 9.8f), rx(3, -64, 3.0f)};
	check_against_json(r, 3, "{\"temperature\":21.7,\"label\":\"a/b \\\"c\\\"\","
				 "\"n\":[1,2,{\"x\":null}]}", true);
}
END_TEST

START_TEST(t_equals_json_without_object)
{
	struct lb_rx r[2] = {rx(1, -90, 0.1f), rx(2, -91, 12.3f)};
	check_against_json(r, 2, NULL, true);
}
END_TEST

START_TEST(t_equals_json_missing_radio)
{
	/* the best has no SNR (FSK, or a NaN the event omits): 0 */
	struct lb_rx a[2] = {rx(1, -80, NAN), rx(2, -99, 4.5f)};
	check_against_json(a, 2, "{\"a\":1}", true);
	a[0].rxpk.has_lsnr = true;   /* present but not finite: omitted too */
	check_against_json(a, 2, NULL, true);
	/* a reception without RSSI is no candidate, even first */
	struct lb_rx b[2] = {rx(1, NO_RSSI, 11.0f), rx(2, -110, -3.5f)};
	check_against_json(b, 2, NULL, true);
	/* none has RSSI: no radio entry, the object still kept */
	struct lb_rx c[1] = {rx(1, NO_RSSI, NAN)};
	check_against_json(c, 1, "{\"b\":true}", false);
}
END_TEST

START_TEST(t_object_kept_only_if_object)
{
	struct webhist h = {0};
	struct lb_rx r[1] = {rx(1, -50, 1.0f)};
	char big[WEBHIST_OBJECT_MAX + 16];

	ck_assert_int_eq(webhist_up(&h, 9, r, 1, "[1,2]", 5), LB_OK);
	ck_assert_ptr_null(webhist_find(&h, 9)->object);
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[sizeof(big) - 1] = '}';
	ck_assert_int_eq(webhist_up(&h, 9, r, 1, big, sizeof(big)), LB_OK);
	ck_assert_ptr_null(webhist_find(&h, 9)->object);
	ck_assert_int_eq(webhist_up(&h, 9, r, 1, big, WEBHIST_OBJECT_MAX - 1), LB_OK);
	ck_assert_uint_eq(strlen(webhist_find(&h, 9)->object), WEBHIST_OBJECT_MAX - 1);
	ck_assert_uint_le(webhist_find(&h, 9)->object_cap, WEBHIST_OBJECT_MAX + 1);
	/* no reception: refused, nothing recorded */
	ck_assert_int_eq(webhist_up(&h, 10, r, 0, NULL, 0), LB_ERR_INVAL);
	ck_assert_ptr_null(webhist_find(&h, 10));
	webhist_free(&h);
}
END_TEST

/* A status event as netmac.c builds it; the history's battery and margin
 * against what its JSON says (batteryLevelUnavailable: -1, else
 * batteryLevel rounded), for every battery value and both margin ends. */
START_TEST(t_status_equals_json)
{
	static const struct ev_device dev = {.application = "app", .name = "d1", .dev_eui = 2};
	struct webhist h = {0};
	char json[2048];
	size_t len;
	struct json_object *o, *v;

	for (int b = 0; b <= 255; b++) {
		struct ev_status st = {.dev = &dev, .time_us = INT64_C(1715677967318406),
				       .margin = (int8_t)(b % 2 ? 31 : -32), .battery = (uint8_t)b};
		ck_assert_int_eq(event_json_status(&st, json, sizeof(json), &len), LB_OK);
		ck_assert_int_eq(webhist_status(&h, 2, &st), LB_OK);
		const struct webhist_dev *d = webhist_find(&h, 2);
		ck_assert_ptr_nonnull(o = json_tokener_parse(json));
		ck_assert(json_object_object_get_ex(o, "batteryLevelUnavailable", &v));
		if (json_object_get_boolean(v)) {
			ck_assert_int_eq(d->battery, -1);
		} else {
			ck_assert(json_object_object_get_ex(o, "batteryLevel", &v));
			ck_assert_int_eq(d->battery, (int)lround(json_object_get_double(v)));
			ck_assert_int_ge(d->battery, 0);
			ck_assert_int_le(d->battery, 100);
		}
		ck_assert(json_object_object_get_ex(o, "margin", &v));
		ck_assert(d->has_margin);
		ck_assert_int_eq(d->margin, json_object_get_int(v));
		json_object_put(o);
	}
	ck_assert_int_eq(webhist_find(&h, 2)->battery, -1);        /* 255: unknown */
	struct ev_status ext = {.dev = &dev, .battery = 0, .margin = 5};
	ck_assert_int_eq(webhist_status(&h, 2, &ext), LB_OK);
	ck_assert_int_eq(webhist_find(&h, 2)->battery, 0);          /* external power */
	ck_assert_int_eq(webhist_status(&h, 3, NULL), LB_ERR_INVAL);
	ck_assert_ptr_null(webhist_find(&h, 3));
	webhist_free(&h);
}
END_TEST

START_TEST(t_many_devices)
{
	struct webhist h = {0};

	for (uint64_t e = 1; e <= 5000; e++)
		ck_assert_int_eq(up(&h, e * 0x100000001ull, -50, 1.0f, -70, NULL), LB_OK);
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
	tcase_add_test(tc, t_equals_json_with_object);
	tcase_add_test(tc, t_equals_json_without_object);
	tcase_add_test(tc, t_equals_json_missing_radio);
	tcase_add_test(tc, t_object_kept_only_if_object);
	tcase_add_test(tc, t_status_equals_json);
	tcase_add_test(tc, t_many_devices);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
