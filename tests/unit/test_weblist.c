/* SPDX-License-Identifier: MIT */
/*
 * test_weblist.c - the web API's lists written piece by piece: pulled in
 * blocks of any size (one byte, a prime, 32 KiB) the text is the same and
 * is the whole list, compared with the list assembled from each item's
 * writer (and, parsed by json-c here, the items in order); hello is one
 * Server-Sent Event after `retry`, a line break in a decoded object's text
 * starting a new data line; a source with no items; an item larger than
 * the blocks.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "base/jsonw.h"
#include "base/lb_err.h"
#include "daemon/weblist.h"
#include "testutil.h"

/* A fake fleet: n_dev devices, gateways at the slots of gw_slots. */
struct fleet {
	size_t n_dev;
	const size_t *gw_slots;
	size_t n_gw;
	size_t slots;
	const char *object;               /* every device's object text */
};

static void f_bridge(void *arg, struct web_bridge_view *out)
{
	(void)arg;
	*out = (struct web_bridge_view){.client_id = "lb/1", .version = "1.2.3",
					.region = "EU868", .uptime_s = 7, .writable = true};
}

static bool f_gateway(void *arg, size_t *slot, struct web_gw_view *out,
		      struct weblist_gw_scratch *sc)
{
	const struct fleet *f = arg;

	for (size_t i = 0; i < f->n_gw; i++) {
		if (f->gw_slots[i] < *slot)
			continue;
		snprintf(sc->names[0], DC_NAME_LEN, "868.000-868.600");
		sc->dc[0] = (struct ev_duty_cycle){.name = sc->names[0], .used_pct = 0.25 * (double)i,
						   .limit_pct = 1};
		snprintf(sc->addr, sizeof(sc->addr), "127.0.0.1:%zu", 40000 + i);
		*out = (struct web_gw_view){.eui = 0xaa00 + f->gw_slots[i], .online = i % 2,
					    .address = sc->addr, .rx_received = i, .dc = sc->dc,
					    .n_dc = 1};
		*slot = f->gw_slots[i] + 1;
		return true;
	}
	*slot = f->slots;
	return false;
}

static bool f_device(void *arg, size_t i, struct web_dev_view *out,
		     struct weblist_dev_scratch *sc)
{
	const struct fleet *f = arg;

	if (i >= f->n_dev)
		return false;
	for (size_t k = 0; k < 3; k++) {
		sc->rssi[k] = (int16_t)(-100 - (int)k - (int)i % 7);
		sc->snr[k] = 7.5f - (float)k;
	}
	*out = (struct web_dev_view){
		.dev_eui = 0x0100000000000000ull + i, .name = "dev \"q\"/x", .application = "app",
		.dev_class = i % 3 ? 'A' : 'C', .dr = (int)(i % 6), .battery = -1,
		.rssi = sc->rssi, .snr = sc->snr, .n_radio = i % 4 ? 3 : 0,
		.object_json = i % 2 ? f->object : NULL, .queue = i,
	};
	return true;
}

static struct weblist *list_of(struct fleet *f, enum weblist_kind kind)
{
	const struct weblist_source src = {.arg = f, .bridge = f_bridge, .gateway = f_gateway,
					   .device = f_device};
	struct weblist *l = weblist_new(&src, kind);

	ck_assert_ptr_nonnull(l);
	return l;
}

/* The whole text, pulled `block` bytes at a time (freed by the caller). */
static char *pull_all(struct fleet *f, enum weblist_kind kind, size_t block, size_t *len)
{
	struct weblist *l = list_of(f, kind);
	size_t cap = 1 << 16, n = 0;
	char *out = malloc(cap);
	ssize_t k;

	ck_assert_ptr_nonnull(out);
	for (;;) {
		if (n + block + 1 > cap) {
			cap *= 2;
			out = realloc(out, cap);
			ck_assert_ptr_nonnull(out);
		}
		k = weblist_pull(l, out + n, block);
		ck_assert_int_ge(k, 0);
		ck_assert_uint_le((size_t)k, block);
		if (k == 0)
			break;
		n += (size_t)k;
	}
	ck_assert_int_eq(weblist_pull(l, out, block), 0);   /* it stays at its end */
	weblist_done(l);
	out[n] = '\0';
	*len = n;
	return out;
}

/* What the list must be: its items' writers, one after the other. */
static char *expected(struct fleet *f, enum weblist_kind kind)
{
	size_t cap = 1 << 22;
	char *buf = malloc(cap);
	struct jsonw w;
	struct weblist_gw_scratch gs;
	struct weblist_dev_scratch ds;
	struct web_gw_view g;
	struct web_dev_view d;
	struct web_bridge_view b;
	size_t len, slot = 0;

	ck_assert_ptr_nonnull(buf);
	jsonw_init(&w, buf, cap);
	jsonw_open(&w, '{');
	if (kind == WEBLIST_HELLO) {
		f_bridge(f, &b);
		jsonw_key(&w, "bridge");
		web_json_w_bridge(&w, &b);
	}
	if (kind != WEBLIST_DEVICES) {
		jsonw_key(&w, "gateways");
		jsonw_open(&w, '[');
		while (f_gateway(f, &slot, &g, &gs))
			web_json_w_gateway(&w, &g);
		jsonw_close(&w, ']');
	}
	if (kind != WEBLIST_GATEWAYS) {
		jsonw_key(&w, "devices");
		jsonw_open(&w, '[');
		for (size_t i = 0; f_device(f, i, &d, &ds); i++)
			web_json_w_device(&w, &d);
		jsonw_close(&w, ']');
	}
	jsonw_close(&w, '}');
	ck_assert_int_eq(jsonw_finish(&w, &len), LB_OK);
	return buf;
}

static const size_t blocks[] = {1, 7, 4093, 32768};

START_TEST(t_devices)
{
	static const size_t slots[] = {0, 3, 9};
	struct fleet f = {.n_dev = 1500, .gw_slots = slots, .n_gw = 3, .slots = 16,
			  .object = "{\"t\":21.5,\"s\":\"a/b\"}"};
	char *want = expected(&f, WEBLIST_DEVICES);

	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		size_t len;
		char *got = pull_all(&f, WEBLIST_DEVICES, blocks[i], &len);
		ck_assert_uint_eq(len, strlen(want));
		ck_assert_str_eq(got, want);
		free(got);
	}
	struct json_object *o = json_tokener_parse(want);
	struct json_object *a = json_object_object_get(o, "devices");
	ck_assert_int_eq((int)json_object_array_length(a), 1500);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
				 json_object_array_get_idx(a, 1499), "devEui")), "01000000000005db");
	json_object_put(o);
	free(want);
}
END_TEST

START_TEST(t_gateways)
{
	static const size_t slots[] = {2, 5, 6, 15};
	struct fleet f = {.n_dev = 3, .gw_slots = slots, .n_gw = 4, .slots = 16};
	char *want = expected(&f, WEBLIST_GATEWAYS);
	size_t len;
	char *got = pull_all(&f, WEBLIST_GATEWAYS, 7, &len);

	ck_assert_str_eq(got, want);
	struct json_object *o = json_tokener_parse(got);
	ck_assert_int_eq((int)json_object_array_length(json_object_object_get(o, "gateways")), 4);
	json_object_put(o);
	free(got);
	free(want);
}
END_TEST

/* Nothing configured: empty arrays. */
START_TEST(t_empty)
{
	struct fleet f = {0};
	size_t len;
	char *got = pull_all(&f, WEBLIST_DEVICES, 3, &len);

	ck_assert_str_eq(got, "{\"devices\":[]}");
	free(got);
	got = pull_all(&f, WEBLIST_GATEWAYS, 3, &len);
	ck_assert_str_eq(got, "{\"gateways\":[]}");
	free(got);
	got = pull_all(&f, WEBLIST_HELLO, 5, &len);
	ck_assert_str_eq(got, "retry: 2000\n\nevent: hello\ndata: {\"bridge\":{\"clientId\":\"lb/1\","
			      "\"version\":\"1.2.3\",\"region\":\"EU868\",\"uptimeS\":7,"
			      "\"mqttConnected\":false,\"writable\":true},\"gateways\":[],"
			      "\"devices\":[]}\n\n");
	free(got);
}
END_TEST

/* hello: `retry`, then one event whose data is the snapshot, as
 * web_sse_frame() frames it, whatever the objects' texts hold. */
static void assert_hello(const char *object)
{
	static const size_t slots[] = {1};
	struct fleet f = {.n_dev = 40, .gw_slots = slots, .n_gw = 1, .slots = 4, .object = object};
	char *json = expected(&f, WEBLIST_HELLO);
	size_t cap = 8 * strlen(json) + 64, n;
	char *want = malloc(cap + 13);

	ck_assert_ptr_nonnull(want);
	memcpy(want, "retry: 2000\n\n", 13);
	ck_assert_int_eq(web_sse_frame("hello", json, strlen(json), want + 13, cap, &n), LB_OK);
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		size_t len;
		char *got = pull_all(&f, WEBLIST_HELLO, blocks[i], &len);
		ck_assert_uint_eq(len, n + 13);
		ck_assert_str_eq(got, want);
		free(got);
	}
	free(want);
	free(json);
}

START_TEST(t_hello)
{
	assert_hello("{\"t\":1}");
	/* JSON text may hold line breaks between its tokens */
	assert_hello("{\"t\":\n1,\r\n\"u\":[\n]}");
}
END_TEST

/* A large item (an object of 4 KiB) pulled a byte at a time. */
START_TEST(t_large_item)
{
	char object[4100];
	struct fleet f = {.n_dev = 5, .object = object};
	size_t len;

	memset(object, ' ', sizeof(object));
	object[0] = '{';
	memcpy(object + sizeof(object) - 8, "\"k\":1}", 7);
	char *want = expected(&f, WEBLIST_DEVICES);
	char *got = pull_all(&f, WEBLIST_DEVICES, 1, &len);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("weblist");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_devices);
	tcase_add_test(tc, t_gateways);
	tcase_add_test(tc, t_empty);
	tcase_add_test(tc, t_hello);
	tcase_add_test(tc, t_large_item);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
