/* test_gateway.c - gateway table: admission, rate limit, liveness, eviction. */
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "tables/gateway.h"
#include "base/lb_err.h"

#define EUI_A UINT64_C(0xaa555a0000000101)
#define EUI_B UINT64_C(0xaa555a0000000102)
#define EUI_C UINT64_C(0x0016c001ff10a235)
#define MS 1000      /* µs per ms */

static struct gateways_opts opts(void)
{
	return (struct gateways_opts){
		.keepalive_s = 10, .offline_after = 3,
		.rate_limit_count = 10, .rate_limit_window_ms = 10,
		.max_gateways = 8,
	};
}

static struct gateway *admit_ok(struct gateways *t, uint64_t eui, int64_t now_us, bool want_online)
{
	struct gateway *g = NULL;
	bool came = !want_online;

	ck_assert_int_eq(gateways_admit(t, eui, now_us, &g, &came), LB_OK);
	ck_assert_ptr_nonnull(g);
	ck_assert_msg(came == want_online, "came_online %d, want %d", came, want_online);
	ck_assert_uint_eq(g->eui, eui);
	return g;
}

/* Records of on_offline calls. */
struct offl {
	uint64_t eui[16];
	size_t n;
};

static void on_off(void *arg, struct gateway *g)
{
	struct offl *o = arg;
	ck_assert(!g->online);
	o->eui[o->n++] = g->eui;
}

START_TEST(test_create_and_find)
{
	struct gateways t;
	struct gateways_opts o = opts();
	struct gateway *g;

	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	ck_assert_ptr_null(gateways_find(&t, EUI_A));
	g = admit_ok(&t, EUI_A, 5000 * MS, true);
	ck_assert(g->online);
	ck_assert_int_eq(g->first_seen_ms, 5000);
	ck_assert_int_eq(g->last_seen_ms, 5000);
	ck_assert_uint_eq(g->datagrams, 1);
	ck_assert_ptr_eq(gateways_find(&t, EUI_A), g);
	/* Second datagram: same entry, no second ONLINE. */
	ck_assert_ptr_eq(admit_ok(&t, EUI_A, 6000 * MS, false), g);
	ck_assert_uint_eq(g->datagrams, 2);
	ck_assert_int_eq(g->last_seen_ms, 6000);
	admit_ok(&t, EUI_B, 6000 * MS, true);
	ck_assert_uint_eq(gateways_count(&t), 2);
	ck_assert_uint_eq(gateways_count_online(&t), 2);
	ck_assert_ptr_ne(gateways_find(&t, EUI_B), g);
	/* came_online and out may be NULL. */
	ck_assert_int_eq(gateways_admit(&t, EUI_C, 7000 * MS, NULL, NULL), LB_OK);
	ck_assert_uint_eq(gateways_count(&t), 3);
	gateways_free(&t);
	gateways_free(&t);   /* idempotent */
}
END_TEST

START_TEST(test_addresses)
{
	struct gateways t;
	struct gateways_opts o = opts();
	struct sockaddr_in up = {.sin_family = AF_INET, .sin_port = htons(40001)};
	struct sockaddr_in down = {.sin_family = AF_INET, .sin_port = htons(40002)};
	struct sockaddr_storage ss;
	struct gateway *g;

	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	g = admit_ok(&t, EUI_A, 1000 * MS, true);
	ck_assert(!g->has_downlink_addr);
	memcpy(&ss, &up, sizeof(up));
	gateway_set_push_addr(g, &ss, sizeof(up));
	ck_assert_int_eq(g->push_addr_len, sizeof(up));
	ck_assert_int_eq(g->last_push_ms, 1000);
	ck_assert(!g->has_downlink_addr);

	admit_ok(&t, EUI_A, 2500 * MS, false);
	memcpy(&ss, &down, sizeof(down));
	gateway_set_downlink_addr(g, &ss, sizeof(down), 2);
	ck_assert(g->has_downlink_addr);
	ck_assert_uint_eq(g->version, 2);
	ck_assert_int_eq(g->last_pull_ms, 2500);
	ck_assert_int_eq(g->last_push_ms, 1000);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&g->down_addr)->sin_port), 40002);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&g->push_addr)->sin_port), 40001);
	/* Bad lengths are ignored. */
	gateway_set_downlink_addr(g, &ss, 0, 1);
	gateway_set_downlink_addr(g, &ss, sizeof(ss) + 1, 1);
	ck_assert_uint_eq(g->version, 2);
	gateways_free(&t);
}
END_TEST

/* 10 datagrams in 10 ms: the 11th is refused while it is less than 10 000
 * µs after the first admitted one, admitted at exactly 10 000 µs. */
START_TEST(test_rate_limit_boundary)
{
	struct gateways t;
	struct gateways_opts o = opts();
	struct gateway *g;
	const int64_t t0 = 1000000 * MS;

	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	for (int i = 0; i < 10; i++)   /* one every 999 µs: 0 .. 8991 */
		admit_ok(&t, EUI_A, t0 + i * 999, i == 0);
	g = gateways_find(&t, EUI_A);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, t0 + 9999, &g, NULL), LB_ERR_RATE_LIMIT);
	ck_assert_ptr_eq(g, gateways_find(&t, EUI_A));
	ck_assert_uint_eq(g->dropped_rate_limit, 1);
	ck_assert_uint_eq(g->datagrams, 10);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, t0 + 9999, &g, NULL), LB_ERR_RATE_LIMIT);
	ck_assert_uint_eq(g->dropped_rate_limit, 2);
	/* Exactly one window after the first admitted datagram: allowed. */
	admit_ok(&t, EUI_A, t0 + 10000, false);
	/* Now the oldest in the window is t0 + 999: refused until t0 + 10999. */
	ck_assert_int_eq(gateways_admit(&t, EUI_A, t0 + 10998, &g, NULL), LB_ERR_RATE_LIMIT);
	admit_ok(&t, EUI_A, t0 + 10999, false);
	ck_assert_uint_eq(g->datagrams, 12);
	ck_assert_uint_eq(g->dropped_rate_limit, 3);
	/* Per gateway: another EUI is not affected. */
	admit_ok(&t, EUI_B, t0 + 10999, true);
	gateways_free(&t);
}
END_TEST

START_TEST(test_rate_limit_steady_and_off)
{
	struct gateways t;
	struct gateways_opts o = opts();
	struct gateway *g = NULL;
	int refused = 0;

	/* A flood of one datagram per 100 µs: exactly 10 per 10 ms pass. */
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	for (int i = 0; i < 1000; i++) {   /* 100 ms */
		if (gateways_admit(&t, EUI_A, 50000 * MS + i * 100, &g, NULL) == LB_ERR_RATE_LIMIT)
			refused++;
	}
	ck_assert_uint_eq(g->datagrams, 100);
	ck_assert_int_eq(refused, 900);
	gateways_free(&t);

	/* window 0 or count 0: no limit. */
	o.rate_limit_window_ms = 0;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(gateways_admit(&t, EUI_A, 5, NULL, NULL), LB_OK);
	gateways_free(&t);
	o = opts();
	o.rate_limit_count = 0;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(gateways_admit(&t, EUI_A, 5, NULL, NULL), LB_OK);
	gateways_free(&t);

	/* count 1, window 1000 ms: one per second. */
	o = opts();
	o.rate_limit_count = 1;
	o.rate_limit_window_ms = 1000;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, 0, NULL, NULL), LB_OK);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, 999999, NULL, NULL), LB_ERR_RATE_LIMIT);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, 1000000, NULL, NULL), LB_OK);
	gateways_free(&t);
}
END_TEST

START_TEST(test_offline_and_back)
{
	struct gateways t;
	struct gateways_opts o = opts();   /* 3 x 10 s = 30 s */
	struct offl off = {0};
	struct gateway *g;

	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	ck_assert_int_eq(gateways_tick(&t, 0, on_off, &off), -1);
	g = admit_ok(&t, EUI_A, 1000 * MS, true);
	admit_ok(&t, EUI_B, 5000 * MS, true);
	ck_assert_int_eq(gateways_tick(&t, 1000, on_off, &off), 31000);
	/* A's keepalive at 20 s moves its deadline to 50 s. */
	admit_ok(&t, EUI_A, 20000 * MS, false);
	ck_assert_int_eq(gateways_tick(&t, 30999, on_off, &off), 31000);  /* cached */
	ck_assert_uint_eq(off.n, 0);
	ck_assert_int_eq(gateways_tick(&t, 31000, on_off, &off), 35000);
	ck_assert_uint_eq(off.n, 0);
	ck_assert_int_eq(gateways_tick(&t, 34999, on_off, &off), 35000);
	ck_assert_int_eq(gateways_tick(&t, 35000, on_off, &off), 50000);
	ck_assert_uint_eq(off.n, 1);
	ck_assert_uint_eq(off.eui[0], EUI_B);
	ck_assert_uint_eq(gateways_count_online(&t), 1);
	ck_assert_uint_eq(gateways_count(&t), 2);
	/* Reported once only. */
	ck_assert_int_eq(gateways_tick(&t, 49999, on_off, &off), 50000);
	ck_assert_uint_eq(off.n, 1);
	ck_assert_int_eq(gateways_tick(&t, 60000, on_off, &off), -1);
	ck_assert_uint_eq(off.n, 2);
	ck_assert_uint_eq(off.eui[1], EUI_A);
	ck_assert(!g->online);
	ck_assert_int_eq(g->offline_since_ms, 60000);
	ck_assert_uint_eq(gateways_count_online(&t), 0);
	ck_assert_int_eq(gateways_tick(&t, 70000, on_off, &off), -1);
	/* Back online: came_online again, one new deadline. */
	ck_assert_ptr_eq(admit_ok(&t, EUI_A, 70000 * MS, true), g);
	ck_assert(g->online);
	ck_assert_uint_eq(gateways_count_online(&t), 1);
	ck_assert_int_eq(gateways_tick(&t, 70000, on_off, &off), 100000);
	ck_assert_uint_eq(off.n, 2);
	/* A NULL callback is allowed. */
	ck_assert_int_eq(gateways_tick(&t, 100000, NULL, NULL), -1);
	ck_assert(!g->online);
	gateways_free(&t);
}
END_TEST

START_TEST(test_offline_disabled)
{
	struct gateways t;
	struct gateways_opts o = opts();
	struct offl off = {0};

	o.offline_after = 0;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	admit_ok(&t, EUI_A, 0, true);
	ck_assert_int_eq(gateways_tick(&t, INT64_C(1) << 40, on_off, &off), -1);
	ck_assert_uint_eq(off.n, 0);
	ck_assert_uint_eq(gateways_count_online(&t), 1);
	gateways_free(&t);
}
END_TEST

START_TEST(test_allow_list)
{
	struct gateways t;
	struct gateways_opts o = opts();
	const uint64_t allow[] = {EUI_C, EUI_A};   /* unsorted on purpose */
	struct gateway *g = (struct gateway *)&o;
	bool came = true;

	o.allow = allow;
	o.n_allow = 2;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	ck_assert_int_eq(gateways_admit(&t, EUI_B, 0, &g, &came), LB_ERR_DENIED);
	ck_assert_ptr_null(g);
	ck_assert(!came);
	ck_assert_uint_eq(t.denied, 1);
	ck_assert_uint_eq(gateways_count(&t), 0);
	admit_ok(&t, EUI_A, 0, true);
	admit_ok(&t, EUI_C, 0, true);
	gateways_free(&t);

	/* An empty but present list allows nobody. */
	o.n_allow = 0;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, 0, NULL, NULL), LB_ERR_DENIED);
	gateways_free(&t);
}
END_TEST

START_TEST(test_full_and_eviction)
{
	struct gateways t;
	struct gateways_opts o = opts();
	struct offl off = {0};
	struct gateway *g = (struct gateway *)&o;

	o.max_gateways = 4;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	for (uint64_t e = 1; e <= 4; e++)
		admit_ok(&t, e, (int64_t)e * 1000 * MS, true);
	/* Full, everyone online: refused, nothing created or evicted. */
	ck_assert_int_eq(gateways_admit(&t, 99, 5000 * MS, &g, NULL), LB_ERR_FULL);
	ck_assert_ptr_null(g);
	ck_assert_uint_eq(t.refused_full, 1);
	ck_assert_uint_eq(gateways_count(&t), 4);
	/* Known gateways still pass when the table is full. */
	admit_ok(&t, 3, 20000 * MS, false);
	admit_ok(&t, 4, 20000 * MS, false);
	/* 1 and 2 go offline at 31 s and 32 s (ticked separately). */
	gateways_tick(&t, 31000, on_off, &off);
	gateways_tick(&t, 32000, on_off, &off);
	ck_assert_uint_eq(off.n, 2);
	ck_assert_uint_eq(off.eui[0], 1);
	ck_assert_uint_eq(off.eui[1], 2);
	/* The one offline longest (1) is evicted first, then 2. */
	admit_ok(&t, 100, 40000 * MS, true);
	ck_assert_ptr_null(gateways_find(&t, 1));
	ck_assert_ptr_nonnull(gateways_find(&t, 2));
	ck_assert_uint_eq(t.evicted, 1);
	admit_ok(&t, 101, 40000 * MS, true);
	ck_assert_ptr_null(gateways_find(&t, 2));
	ck_assert_uint_eq(gateways_count(&t), 4);
	ck_assert_uint_eq(gateways_count_online(&t), 4);
	ck_assert_int_eq(gateways_admit(&t, 102, 40000 * MS, NULL, NULL), LB_ERR_FULL);
	/* The evicted gateway comes back as new once there is room. */
	gateways_tick(&t, 50000, on_off, &off);   /* 3 and 4 offline */
	g = admit_ok(&t, 1, 60000 * MS, true);
	ck_assert_uint_eq(g->datagrams, 1);
	ck_assert_int_eq(g->first_seen_ms, 60000);
	ck_assert_ptr_nonnull(gateways_find(&t, 100));
	ck_assert_ptr_nonnull(gateways_find(&t, 101));
	gateways_free(&t);
}
END_TEST

/* Many EUIs colliding in few buckets: every one stays findable. */
START_TEST(test_hash_many)
{
	struct gateways t;
	struct gateways_opts o = opts();

	o.max_gateways = 1000;
	o.rate_limit_count = 0;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	for (uint64_t i = 0; i < 1000; i++)
		ck_assert_int_eq(gateways_admit(&t, i << 40, 0, NULL, NULL), LB_OK);
	ck_assert_int_eq(gateways_admit(&t, 12345, 0, NULL, NULL), LB_ERR_FULL);
	for (uint64_t i = 0; i < 1000; i++) {
		struct gateway *g = gateways_find(&t, i << 40);
		ck_assert_ptr_nonnull(g);
		ck_assert_uint_eq(g->eui, i << 40);
	}
	ck_assert_uint_eq(gateways_count(&t), 1000);
	gateways_free(&t);
}
END_TEST

static void count_cb(void *arg, struct gateway *g)
{
	uint64_t *sum = arg;
	*sum += g->eui;
}

START_TEST(test_foreach_and_opts)
{
	struct gateways t;
	struct gateways_opts o = opts();
	uint64_t sum = 0;

	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	admit_ok(&t, 5, 0, true);
	admit_ok(&t, 7, 0, true);
	gateways_foreach(&t, count_cb, &sum);
	ck_assert_uint_eq(sum, 12);
	gateways_free(&t);

	o.rate_limit_count = GATEWAY_RL_MAX + 1;
	ck_assert_int_eq(gateways_init(&t, &o), LB_ERR_RANGE);
	o = opts();
	o.keepalive_s = -1;
	ck_assert_int_eq(gateways_init(&t, &o), LB_ERR_RANGE);
	o = opts();
	o.keepalive_s = 0;
	ck_assert_int_eq(gateways_init(&t, &o), LB_ERR_RANGE);
	o = opts();
	o.n_allow = 3;
	ck_assert_int_eq(gateways_init(&t, &o), LB_ERR_INVAL);
	ck_assert_int_eq(gateways_init(&t, NULL), LB_ERR_INVAL);
	/* max_gateways 0 = default; 1 works. */
	o = opts();
	o.max_gateways = 0;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	ck_assert_uint_eq(t.max, GATEWAY_DEFAULT_MAX);
	gateways_free(&t);
	o.max_gateways = 1;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	admit_ok(&t, EUI_A, 0, true);
	ck_assert_int_eq(gateways_admit(&t, EUI_B, 0, NULL, NULL), LB_ERR_FULL);
	gateways_free(&t);
}
END_TEST

static Suite *gateway_suite(void)
{
	Suite *s = suite_create("gateway");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_create_and_find);
	tcase_add_test(tc, test_addresses);
	tcase_add_test(tc, test_rate_limit_boundary);
	tcase_add_test(tc, test_rate_limit_steady_and_off);
	tcase_add_test(tc, test_offline_and_back);
	tcase_add_test(tc, test_offline_disabled);
	tcase_add_test(tc, test_allow_list);
	tcase_add_test(tc, test_full_and_eviction);
	tcase_add_test(tc, test_hash_many);
	tcase_add_test(tc, test_foreach_and_opts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(gateway_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
