/* SPDX-License-Identifier: MIT */
/* test_gateway.c - gateway table: admission, address binding, allow-list with
 * networks, rate limits (per gateway, per source address), liveness, eviction,
 * restored gateways. Pure: every time is explicit. */
#include <check.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "tables/addrlimit.h"
#include "tables/gateway.h"
#include "base/lb_err.h"
#include "base/netaddr.h"

#define EUI_A UINT64_C(0xaa555a0000000101)
#define EUI_B UINT64_C(0xaa555a0000000102)
#define EUI_C UINT64_C(0x0016c001ff10a235)
#define MS 1000      /* µs per ms */
#define S (1000 * MS) /* µs per s */

/* A parsed address, from a small ring so several can be in use at once. */
static const struct netaddr *at(const char *s)
{
	static struct netaddr ring[8];
	static unsigned next;
	struct netaddr *a = &ring[next++ % 8];

	ck_assert_msg(netaddr_parse(s, a) == LB_OK, "%s", s);
	return a;
}

#define HOME at("192.168.1.10")

static struct gateways_opts opts(void)
{
	return (struct gateways_opts){
		.keepalive_s = 10, .offline_after = 3,
		.rate_limit_count = 10, .rate_limit_window_ms = 10,
		.rebind_after_s = 30, .max_gateways = 8,
	};
}

static struct gateway *admit_from(struct gateways *t, uint64_t eui, const struct netaddr *a,
				  int64_t now_us, bool want_online)
{
	struct gateway *g = NULL;
	struct gateway_admission res;

	ck_assert_int_eq(gateways_admit(t, eui, a, now_us, &g, &res), LB_OK);
	ck_assert_ptr_nonnull(g);
	ck_assert_msg(res.came_online == want_online, "came_online %d, want %d", res.came_online,
		      want_online);
	ck_assert_uint_eq(g->eui, eui);
	ck_assert(netaddr_equal(&g->addr, a));
	return g;
}

static struct gateway *admit_ok(struct gateways *t, uint64_t eui, int64_t now_us, bool want_online)
{
	return admit_from(t, eui, HOME, now_us, want_online);
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
	ck_assert_int_eq(gateways_admit(&t, EUI_C, HOME, 7000 * MS, NULL, NULL), LB_OK);
	ck_assert_uint_eq(gateways_count(&t), 3);
	gateways_free(&t);
	gateways_free(&t);   /* idempotent */
}
END_TEST

/* The position: taken from a stat that has one, kept through one without,
 * altitude only when the stat sent a usable one. */
START_TEST(test_position)
{
	struct gateways t;
	struct gateways_opts o = opts();
	struct gwmp_stat st = {.has_location = true, .lati = 52.3676, .lon = 4.9041,
			       .has_alti = true, .alti = 12};

	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	struct gateway *g = admit_ok(&t, EUI_A, 5000 * MS, true);
	ck_assert(!g->has_position);
	gateway_take_position(g, &(struct gwmp_stat){.rxnb = 3});   /* no GPS fix */
	ck_assert(!g->has_position);
	g->position_text_len = 5;                          /* a cached text ... */
	gateway_take_position(g, &st);
	ck_assert_uint_eq(g->position_text_len, 0);        /* ... of the old position */
	ck_assert(g->has_position && g->has_altitude);
	ck_assert(g->lati == 52.3676 && g->lon == 4.9041 && g->alti == 12);
	g->position_text_len = 5;
	gateway_take_position(g, &(struct gwmp_stat){.rxnb = 3});
	ck_assert(g->has_position && g->lati == 52.3676);
	ck_assert_uint_eq(g->position_text_len, 5);        /* the same position: kept */
	st.lati = -1.5;
	st.has_alti = false;
	st.dropped = GWMP_STAT_BIT(GWMP_STAT_ALTI);
	gateway_take_position(g, &st);
	ck_assert(g->has_position && !g->has_altitude && g->lati == -1.5);
	st.dropped = 0;                                    /* lati and long, no alti */
	st.alti = 0;
	gateway_take_position(g, &st);
	ck_assert(g->has_position && !g->has_altitude);
	st.has_alti = true;                                /* an alti of 0 is one */
	gateway_take_position(g, &st);
	ck_assert(g->has_position && g->has_altitude && g->alti == 0);
	st.has_alti = false;
	st.lon = NAN;
	gateway_take_position(g, &st);
	ck_assert(g->lon == 4.9041);
	gateway_take_position(NULL, &st);
	gateway_take_position(g, NULL);
	gateways_free(&t);
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
	ck_assert_int_eq(gateways_admit(&t, EUI_A, HOME, t0 + 9999, &g, NULL), LB_ERR_RATE_LIMIT);
	ck_assert_ptr_eq(g, gateways_find(&t, EUI_A));
	ck_assert_uint_eq(g->dropped_rate_limit, 1);
	ck_assert_uint_eq(g->datagrams, 10);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, HOME, t0 + 9999, &g, NULL), LB_ERR_RATE_LIMIT);
	ck_assert_uint_eq(g->dropped_rate_limit, 2);
	/* Exactly one window after the first admitted datagram: allowed. */
	admit_ok(&t, EUI_A, t0 + 10000, false);
	/* Now the oldest in the window is t0 + 999: refused until t0 + 10999. */
	ck_assert_int_eq(gateways_admit(&t, EUI_A, HOME, t0 + 10998, &g, NULL), LB_ERR_RATE_LIMIT);
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
		int rc = gateways_admit(&t, EUI_A, HOME, 50000 * MS + i * 100, &g, NULL);
		refused += rc == LB_ERR_RATE_LIMIT;
	}
	ck_assert_uint_eq(g->datagrams, 100);
	ck_assert_int_eq(refused, 900);
	gateways_free(&t);

	/* window 0 or count 0: no limit. */
	o.rate_limit_window_ms = 0;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(gateways_admit(&t, EUI_A, HOME, 5, NULL, NULL), LB_OK);
	gateways_free(&t);
	o = opts();
	o.rate_limit_count = 0;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(gateways_admit(&t, EUI_A, HOME, 5, NULL, NULL), LB_OK);
	gateways_free(&t);

	/* count 1, window 1000 ms: one per second. */
	o = opts();
	o.rate_limit_count = 1;
	o.rate_limit_window_ms = 1000;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, HOME, 0, NULL, NULL), LB_OK);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, HOME, 999999, NULL, NULL), LB_ERR_RATE_LIMIT);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, HOME, 1000000, NULL, NULL), LB_OK);
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
	const struct lb_gw_allow allow[] = {{.eui = EUI_C}, {.eui = EUI_A}}; /* unsorted */
	struct gateway *g = (struct gateway *)&o;
	struct gateway_admission res = {.came_online = true};

	o.allow = allow;
	o.n_allow = 2;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	ck_assert_int_eq(gateways_admit(&t, EUI_B, HOME, 0, &g, &res), LB_ERR_DENIED);
	ck_assert_ptr_null(g);
	ck_assert(!res.came_online);
	ck_assert_uint_eq(t.denied, 1);
	ck_assert_uint_eq(gateways_count(&t), 0);
	admit_ok(&t, EUI_A, 0, true);
	admit_ok(&t, EUI_C, 0, true);
	gateways_free(&t);

	/* An empty but present list allows nobody. */
	o.n_allow = 0;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, HOME, 0, NULL, NULL), LB_ERR_DENIED);
	gateways_free(&t);
}
END_TEST

/* Full table: the least recently heard gateway that never delivered a valid
 * uplink goes first, then one that did but is offline; one that delivered
 * and is online never goes. */
START_TEST(test_eviction_policy)
{
	struct gateways t;
	struct gateways_opts o = opts();
	struct offl off = {0};
	struct gateway_admission res;
	struct gateway *g = (struct gateway *)&o;

	o.max_gateways = 4;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	for (uint64_t e = 1; e <= 4; e++)
		admit_ok(&t, e, (int64_t)e * S, true);
	gateways_mark_valid(&t, 1, 1000);
	gateways_mark_valid(&t, 2, 2000);
	gateways_mark_valid(&t, 99, 2000);      /* unknown: nothing */
	ck_assert(gateways_find(&t, 1)->delivered);
	/* 3 heard again at 10 s: 4 is now the least recently heard of the
	 * two that never delivered. */
	admit_ok(&t, 3, 10 * S, false);
	ck_assert_int_eq(gateways_admit(&t, 100, HOME, 11 * S, &g, &res), LB_OK);
	ck_assert(res.evicted);
	ck_assert_uint_eq(res.evicted_eui, 4);
	ck_assert(res.came_online);
	ck_assert_ptr_null(gateways_find(&t, 4));
	ck_assert_uint_eq(t.evicted, 1);
	ck_assert_uint_eq(gateways_count_online(&t), 4);
	/* Then 3 (heard at 10 s) before 100 (11 s). */
	ck_assert_int_eq(gateways_admit(&t, 101, HOME, 12 * S, NULL, &res), LB_OK);
	ck_assert_uint_eq(res.evicted_eui, 3);
	ck_assert_int_eq(gateways_admit(&t, 102, HOME, 13 * S, NULL, &res), LB_OK);
	ck_assert_uint_eq(res.evicted_eui, 100);
	/* A gateway just created may go too, before any that delivered. */
	ck_assert_int_eq(gateways_admit(&t, 103, HOME, 14 * S, NULL, &res), LB_OK);
	ck_assert_uint_eq(res.evicted_eui, 101);
	/* 102 and 103 deliver: everyone is delivering and online. */
	gateways_mark_valid(&t, 102, 14000);
	gateways_mark_valid(&t, 103, 14000);
	g = (struct gateway *)&o;
	ck_assert_int_eq(gateways_admit(&t, 104, HOME, 15 * S, &g, &res), LB_ERR_FULL);
	ck_assert_ptr_null(g);
	ck_assert(!res.evicted);
	ck_assert_uint_eq(t.refused_full, 1);
	/* Known gateways still pass when the table is full. */
	admit_ok(&t, 2, 20 * S, false);
	admit_ok(&t, 102, 20 * S, false);
	admit_ok(&t, 103, 20 * S, false);
	/* 1 goes offline (heard at 1 s): the one to evict now. */
	gateways_tick(&t, 31000, on_off, &off);
	ck_assert_uint_eq(off.n, 1);
	ck_assert_uint_eq(off.eui[0], 1);
	ck_assert_int_eq(gateways_admit(&t, 104, HOME, 32 * S, NULL, &res), LB_OK);
	ck_assert_uint_eq(res.evicted_eui, 1);
	ck_assert_uint_eq(gateways_count(&t), 4);
	ck_assert_uint_eq(gateways_count_online(&t), 4);
	/* An evicted gateway comes back as new. */
	gateways_tick(&t, 60000, on_off, &off);   /* everyone offline */
	g = admit_ok(&t, 1, 61 * S, true);
	ck_assert_uint_eq(g->datagrams, 1);
	ck_assert_int_eq(g->first_seen_ms, 61000);
	ck_assert(!g->delivered);
	gateways_free(&t);
}
END_TEST

/* The EUI is bound to the address it first spoke from (any port); another
 * address is refused until the bound one has been silent rebind_after_s. */
START_TEST(test_binding_and_rebind)
{
	struct gateways t;
	struct gateways_opts o = opts();   /* rebind after 30 s */
	struct gateway_admission res;
	struct gateway *g, *out;
	struct sockaddr_in down = {.sin_family = AF_INET, .sin_port = htons(40002)};
	struct sockaddr_storage ss;

	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	g = admit_from(&t, EUI_A, at("10.0.0.1"), 1 * S, true);
	memcpy(&ss, &down, sizeof(down));
	gateway_set_downlink_addr(g, &ss, sizeof(down), 2);
	gateways_mark_valid(&t, EUI_A, 1000);
	/* Another address: refused, counted, nothing refreshed. */
	out = g;
	ck_assert_int_eq(gateways_admit(&t, EUI_A, at("10.0.0.66"), 2 * S, &out, &res),
			 LB_ERR_ADDRESS_MISMATCH);
	ck_assert_ptr_null(out);
	ck_assert(!res.rebound && !res.came_online);
	ck_assert_uint_eq(g->dropped_address, 1);
	ck_assert_uint_eq(t.address_mismatch, 1);
	ck_assert_int_eq(g->last_seen_ms, 1000);
	ck_assert_uint_eq(g->datagrams, 1);
	/* The same address as an IPv4-mapped IPv6 source: the same gateway. */
	admit_from(&t, EUI_A, at("::ffff:10.0.0.1"), 20 * S, false);
	/* 30 s after 20 s: still bound (29.999 s of silence). */
	ck_assert_int_eq(gateways_admit(&t, EUI_A, at("10.0.0.66"), 49999 * MS, NULL, &res),
			 LB_ERR_ADDRESS_MISMATCH);
	/* A datagram refused by its own rate limit still counts as heard. */
	for (int i = 0; i < 10; i++)
		admit_from(&t, EUI_A, at("10.0.0.1"), 45 * S + i, false);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, at("10.0.0.1"), 45 * S + 10, NULL, NULL),
			 LB_ERR_RATE_LIMIT);
	ck_assert_int_eq(g->last_seen_ms, 45000);
	ck_assert_int_eq(g->last_heard_ms, 45000);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, at("10.0.0.66"), 74999 * MS, NULL, &res),
			 LB_ERR_ADDRESS_MISMATCH);
	/* Silent for 30 s: the EUI moves, its route and validity stay behind. */
	ck_assert_int_eq(gateways_tick(&t, 75000, NULL, NULL), -1);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, at("10.0.0.66"), 75 * S, &out, &res), LB_OK);
	ck_assert_ptr_eq(out, g);
	ck_assert(res.rebound);
	ck_assert(netaddr_equal(&res.old_addr, at("10.0.0.1")));
	ck_assert(res.came_online);               /* it had gone offline at 75 s */
	ck_assert(netaddr_equal(&g->addr, at("10.0.0.66")));
	ck_assert(!g->has_downlink_addr);
	ck_assert(!g->delivered);
	ck_assert_uint_eq(t.rebound, 1);
	/* Now the old address is the stranger. */
	ck_assert_int_eq(gateways_admit(&t, EUI_A, at("10.0.0.1"), 76 * S, NULL, NULL),
			 LB_ERR_ADDRESS_MISMATCH);
	/* Another EUI is independent. */
	admit_from(&t, EUI_B, at("10.0.0.1"), 76 * S, true);
	gateways_free(&t);
}
END_TEST

/* A flood claiming a bound gateway's EUI from elsewhere costs it nothing:
 * every one of its own datagrams still passes its own limit. */
START_TEST(test_flood_from_elsewhere_costs_nothing)
{
	struct gateways t;
	struct gateways_opts o = opts();
	int mismatches = 0, limited = 0;

	o.address_rate_limit_count = 10;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	admit_from(&t, EUI_A, at("127.0.0.1"), 0, true);
	for (int i = 1; i <= 4000; i++) {     /* 4000 per second from 127.0.0.2 */
		int rc = gateways_admit(&t, EUI_A, at("127.0.0.2"), i * 250, NULL, NULL);
		mismatches += rc == LB_ERR_ADDRESS_MISMATCH;
		limited += rc == LB_ERR_RATE_LIMIT;
		if (i % 20 == 0)                   /* the real one: 200 per second */
			admit_from(&t, EUI_A, at("127.0.0.1"), i * 250 + 1, false);
	}
	ck_assert_int_eq(mismatches + limited, 4000);
	/* 10 per 10 ms from 127.0.0.2: a burst of 10, then one per ms. */
	ck_assert_int_eq(mismatches, 1009);
	ck_assert_uint_eq(t.address_limited, 2991);
	ck_assert_uint_eq(gateways_find(&t, EUI_A)->datagrams, 201);
	ck_assert_uint_eq(gateways_find(&t, EUI_A)->dropped_rate_limit, 0);
	gateways_free(&t);
}
END_TEST

/* "EUI@NETWORK": admitted from inside (and bound there), refused with
 * ADDRESS_MISMATCH from outside; several entries for one EUI add up. */
START_TEST(test_allow_pinned)
{
	struct gateways t;
	struct gateways_opts o = opts();
	struct lb_gw_allow allow[3] = {
		{.eui = EUI_A, .pinned = true}, {.eui = EUI_A, .pinned = true}, {.eui = EUI_B}};

	ck_assert_int_eq(netprefix_parse("192.168.1.0/24", &allow[0].net), LB_OK);
	ck_assert_int_eq(netprefix_parse("2001:db8::/32", &allow[1].net), LB_OK);
	o.allow = allow;
	o.n_allow = 3;
	o.rebind_after_s = 0;                   /* the pin alone */
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, at("192.168.2.1"), 0, NULL, NULL),
			 LB_ERR_ADDRESS_MISMATCH);
	ck_assert_uint_eq(t.address_mismatch, 1);
	ck_assert_uint_eq(gateways_count(&t), 0);
	admit_from(&t, EUI_A, at("192.168.1.77"), 1 * S, true);
	admit_from(&t, EUI_A, at("2001:db8::5"), 2 * S, false);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, at("2001:db9::5"), 3 * S, NULL, NULL),
			 LB_ERR_ADDRESS_MISMATCH);
	ck_assert_uint_eq(gateways_find(&t, EUI_A)->dropped_address, 1);
	/* A plain entry: anywhere. */
	admit_from(&t, EUI_B, at("203.0.113.9"), 3 * S, true);
	ck_assert_int_eq(gateways_admit(&t, EUI_C, at("192.168.1.77"), 3 * S, NULL, NULL),
			 LB_ERR_DENIED);
	ck_assert_uint_eq(t.denied, 1);
	gateways_free(&t);

	/* With binding: inside the network, the first address holds it. */
	o.rebind_after_s = 30;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	admit_from(&t, EUI_A, at("192.168.1.77"), 0, true);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, at("192.168.1.78"), 1 * S, NULL, NULL),
			 LB_ERR_ADDRESS_MISMATCH);
	admit_from(&t, EUI_A, at("192.168.1.78"), 31 * S, false);
	gateways_free(&t);
}
END_TEST

/* One source address speaks for at most max_per_address gateways. */
START_TEST(test_max_per_address)
{
	struct gateways t;
	struct gateways_opts o = opts();

	o.max_per_address = 2;
	o.max_gateways = 16;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	admit_from(&t, 1, at("10.9.0.1"), 0, true);
	admit_from(&t, 2, at("10.9.0.1"), 0, true);
	ck_assert_int_eq(gateways_admit(&t, 3, at("10.9.0.1"), 0, NULL, NULL), LB_ERR_FULL);
	ck_assert_uint_eq(t.refused_full, 1);
	ck_assert_uint_eq(gateways_count(&t), 2);
	/* Known ones still pass; other addresses are not affected. */
	admit_from(&t, 1, at("10.9.0.1"), 1, false);
	admit_from(&t, 3, at("10.9.0.2"), 1, true);
	/* Moving to a full address is refused as well. */
	ck_assert_int_eq(gateways_admit(&t, 3, at("10.9.0.1"), 40 * S, NULL, NULL), LB_ERR_FULL);
	gateways_free(&t);
}
END_TEST

START_TEST(test_addrlimit_table)
{
	struct addrlimit l;
	struct netaddr a, b;

	ck_assert_int_eq(netaddr_parse("10.0.0.1", &a), LB_OK);
	ck_assert_int_eq(netaddr_parse("10.0.0.2", &b), LB_OK);
	/* 10 per 10 ms: 10 back to back, then one per ms. */
	ck_assert_int_eq(addrlimit_init(&l, 2, 10, 10), LB_OK);
	for (int i = 0; i < 10; i++)
		ck_assert(addrlimit_admit(&l, &a, 0));
	ck_assert(!addrlimit_admit(&l, &a, 0));
	ck_assert(!addrlimit_admit(&l, &a, 999));
	ck_assert(addrlimit_admit(&l, &a, 1000));
	ck_assert(!addrlimit_admit(&l, &a, 1500));
	/* how long until the next would pass (Retry-After), counting nothing */
	ck_assert_int_eq(addrlimit_wait_us(&l, &a, 1500), 500);
	ck_assert_int_eq(addrlimit_wait_us(&l, &a, 2000), 0);
	ck_assert_int_eq(addrlimit_wait_us(&l, &b, 1500), 0);     /* never seen */
	ck_assert_uint_eq(l.refused, 3);
	/* Steady: exactly 100 of 1000 over 100 ms at one per 100 µs. */
	int pass = 0;
	for (int i = 0; i < 1000; i++)
		pass += addrlimit_admit(&l, &b, 1000000 + i * 100);
	ck_assert_int_eq(pass, 109);   /* the burst of 10, then 99 more */
	ck_assert_uint_eq(addrlimit_count(&l), 2);
	/* A third address evicts the least recently seen (a), which then
	 * comes back with a full bucket. */
	struct netaddr c;
	ck_assert_int_eq(netaddr_parse("10.0.0.3", &c), LB_OK);
	ck_assert(addrlimit_admit(&l, &c, 2000000));
	ck_assert_uint_eq(l.evicted, 1);
	for (int i = 0; i < 10; i++)
		ck_assert(addrlimit_admit(&l, &a, 2000000));
	ck_assert(!addrlimit_admit(&l, &a, 2000000));
	addrlimit_free(&l);
	addrlimit_free(&l);
	/* Off: everything passes, nothing allocated. */
	ck_assert_int_eq(addrlimit_init(&l, 0, 0, 10), LB_OK);
	for (int i = 0; i < 100; i++)
		ck_assert(addrlimit_admit(&l, &a, 0));
	ck_assert_ptr_null(l.e);
	addrlimit_free(&l);
	ck_assert_int_eq(addrlimit_init(&l, 0, -1, 10), LB_ERR_RANGE);
	ck_assert_int_eq(addrlimit_init(NULL, 0, 1, 10), LB_ERR_INVAL);
}
END_TEST

/* Gateways reported online before a restart: online until heard (then
 * ONLINE again, bound to the first address) or timed out (reported). */
START_TEST(test_restore)
{
	struct gateways t;
	struct gateways_opts o = opts();   /* 30 s offline timeout */
	struct offl off = {0};
	struct gateway *g;

	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	ck_assert_int_eq(gateways_restore(&t, EUI_A, 1000), LB_OK);
	ck_assert_int_eq(gateways_restore(&t, EUI_B, 1000), LB_OK);
	ck_assert_int_eq(gateways_restore(&t, EUI_B, 1000), LB_OK);   /* once */
	ck_assert_uint_eq(gateways_count(&t), 2);
	ck_assert_uint_eq(gateways_count_online(&t), 0);
	g = gateways_find(&t, EUI_A);
	ck_assert(g->online && g->restored && !g->bound);
	/* A is heard: ONLINE again (came_online), bound, counted. */
	admit_from(&t, EUI_A, at("10.1.1.1"), 5 * S, true);
	ck_assert(!g->restored);
	ck_assert_uint_eq(gateways_count_online(&t), 1);
	admit_from(&t, EUI_A, at("10.1.1.1"), 6 * S, false);
	/* B never is: offline at its deadline, reported once as restored. */
	ck_assert_int_eq(gateways_tick(&t, 30999, on_off, &off), 31000);
	ck_assert_int_eq(gateways_tick(&t, 31000, on_off, &off), 36000);
	ck_assert_uint_eq(off.n, 1);
	ck_assert_uint_eq(off.eui[0], EUI_B);
	ck_assert(!gateways_find(&t, EUI_B)->restored);
	ck_assert_uint_eq(t.n_restored, 0);
	ck_assert_uint_eq(gateways_count_online(&t), 1);
	gateways_free(&t);

	/* Restoring never evicts; a restored one is evicted like one that never
	 * delivered. */
	o.max_gateways = 1;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	ck_assert_int_eq(gateways_restore(&t, EUI_A, 0), LB_OK);
	ck_assert_int_eq(gateways_restore(&t, EUI_B, 0), LB_ERR_FULL);
	struct gateway_admission res;
	ck_assert_int_eq(gateways_admit(&t, EUI_C, HOME, 1 * S, NULL, &res), LB_OK);
	ck_assert(res.evicted);
	ck_assert_uint_eq(res.evicted_eui, EUI_A);
	ck_assert_uint_eq(t.n_restored, 0);
	ck_assert_uint_eq(t.n_online, 1);
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
	for (uint64_t i = 0; i < 1000; i++) {
		ck_assert_int_eq(gateways_admit(&t, i << 40, HOME, 0, NULL, NULL), LB_OK);
		gateways_mark_valid(&t, i << 40, 0);
	}
	ck_assert_int_eq(gateways_admit(&t, 12345, HOME, 0, NULL, NULL), LB_ERR_FULL);
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
	gateways_mark_valid(&t, EUI_A, 0);
	ck_assert_int_eq(gateways_admit(&t, EUI_B, HOME, 0, NULL, NULL), LB_ERR_FULL);
	ck_assert_int_eq(gateways_admit(&t, EUI_B, NULL, 0, NULL, NULL), LB_ERR_INVAL);
	gateways_free(&t);
	o.rebind_after_s = -1;
	ck_assert_int_eq(gateways_init(&t, &o), LB_ERR_RANGE);
}
END_TEST

/* An evicted gateway's binding outlives it (TOMBSTONES): its EUI is refused
 * from another address until its own has been silent for rebind_after_s,
 * and re-admitted from its own address at once. */
START_TEST(test_tombstone)
{
	struct gateways t;
	struct gateways_opts o = opts();
	struct gateway_admission res;

	o.max_gateways = 2;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	admit_from(&t, EUI_A, at("10.0.0.1"), 0, true);
	admit_from(&t, EUI_B, at("10.0.0.2"), 1 * S, true);
	ck_assert_int_eq(gateways_admit(&t, EUI_C, at("10.0.0.3"), 2 * S, NULL, &res), LB_OK);
	ck_assert(res.evicted);
	ck_assert_uint_eq(res.evicted_eui, EUI_A);
	/* The attacker who made room cannot take the evicted EUI. */
	ck_assert_int_eq(gateways_admit(&t, EUI_A, at("10.0.0.3"), 3 * S, NULL, &res),
			 LB_ERR_ADDRESS_MISMATCH);
	ck_assert(!res.evicted);
	ck_assert_int_eq(gateways_admit(&t, EUI_A, at("10.0.0.9"), 29999 * MS, NULL, NULL),
			 LB_ERR_ADDRESS_MISMATCH);
	ck_assert_uint_eq(t.address_mismatch, 2);
	ck_assert_uint_eq(gateways_count(&t), 2);
	ck_assert_ptr_null(gateways_find(&t, EUI_A));
	/* Its own address: admitted as a new gateway (B, heard at 1 s, goes). */
	ck_assert_int_eq(gateways_admit(&t, EUI_A, at("10.0.0.1"), 5 * S, NULL, &res), LB_OK);
	ck_assert(res.came_online);
	ck_assert_uint_eq(res.evicted_eui, EUI_B);
	/* B's binding holds until 31 s (heard at 1 s), then B may move. */
	ck_assert_int_eq(gateways_admit(&t, EUI_B, at("10.0.0.3"), 30 * S, NULL, NULL),
			 LB_ERR_ADDRESS_MISMATCH);
	ck_assert_int_eq(gateways_admit(&t, EUI_B, at("10.0.0.3"), 31 * S, NULL, &res), LB_OK);
	ck_assert_uint_eq(res.evicted_eui, EUI_C);
	/* C was silent for 29 s when evicted: its tombstone lasts 1 s more. */
	ck_assert_int_eq(gateways_admit(&t, EUI_C, at("10.0.0.7"), 31 * S, NULL, NULL),
			 LB_ERR_ADDRESS_MISMATCH);
	ck_assert_int_eq(gateways_admit(&t, EUI_C, at("10.0.0.7"), 32 * S, NULL, NULL), LB_OK);
	ck_assert_uint_eq(t.tombs_forgotten, 0);
	gateways_free(&t);
}
END_TEST

/* As many tombstones as gateways; one address group holds at most
 * max_per_address of them; the oldest is forgotten. */
START_TEST(test_tombstone_overflow)
{
	struct gateways t;
	struct gateways_opts o = opts();

	o.max_gateways = 2;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	admit_from(&t, EUI_A, at("10.0.0.1"), 0, true);
	admit_from(&t, EUI_B, at("10.0.0.2"), 1 * S, true);
	admit_from(&t, 3, at("10.0.0.3"), 2 * S, true);       /* evicts A */
	admit_from(&t, 4, at("10.0.0.4"), 3 * S, true);       /* evicts B */
	admit_from(&t, 5, at("10.0.0.5"), 4 * S, true);       /* evicts 3: A forgotten */
	ck_assert_uint_eq(t.tombs_forgotten, 1);
	ck_assert_int_eq(gateways_admit(&t, EUI_B, at("10.0.0.9"), 5 * S, NULL, NULL),
			 LB_ERR_ADDRESS_MISMATCH);
	admit_from(&t, EUI_A, at("10.0.0.9"), 5 * S, true);   /* evicts 4: B forgotten */
	ck_assert_uint_eq(t.tombs_forgotten, 2);
	gateways_free(&t);

	/* A group at its share loses its own oldest, not somebody else's. */
	o.max_gateways = 4;
	o.max_per_address = 1;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	admit_from(&t, EUI_A, at("10.0.0.1"), 0, true);
	admit_from(&t, EUI_B, at("10.0.0.2"), 1 * S, true);
	admit_from(&t, 3, at("10.0.0.3"), 2 * S, true);
	admit_from(&t, 4, at("10.0.0.4"), 3 * S, true);
	admit_from(&t, 5, at("10.0.0.5"), 4 * S, true);       /* evicts A */
	admit_from(&t, 6, at("10.0.0.1"), 5 * S, true);       /* evicts B */
	for (uint64_t e = 3; e <= 5; e++)
		gateways_mark_valid(&t, e, 5000);
	admit_from(&t, 7, at("10.0.0.7"), 6 * S, true);       /* evicts 6: A forgotten */
	ck_assert_uint_eq(t.tombs_forgotten, 1);
	ck_assert_int_eq(gateways_admit(&t, 6, at("10.0.0.9"), 7 * S, NULL, NULL),
			 LB_ERR_ADDRESS_MISMATCH);
	ck_assert_int_eq(gateways_admit(&t, EUI_B, at("10.0.0.9"), 7 * S, NULL, NULL),
			 LB_ERR_ADDRESS_MISMATCH);
	admit_from(&t, EUI_A, at("10.0.0.9"), 7 * S, true);
	gateways_free(&t);
}
END_TEST

/* The per-address limit and cap count an IPv6 /64 as one address (one host
 * may use all of it), IPv4 addresses one by one; binding stays on the full
 * address. */
START_TEST(test_ipv6_slash64)
{
	struct addrlimit l;
	struct gateways t;
	struct gateways_opts o = opts();

	ck_assert_int_eq(addrlimit_init(&l, 0, 2, 10), LB_OK);
	ck_assert(addrlimit_admit(&l, at("2001:db8:1:2::1"), 0));
	ck_assert(addrlimit_admit(&l, at("2001:db8:1:2:aaaa::7"), 0));
	ck_assert(!addrlimit_admit(&l, at("2001:db8:1:2:ffff:ffff:ffff:ffff"), 0));
	ck_assert(addrlimit_admit(&l, at("2001:db8:1:3::1"), 0));
	for (int i = 0; i < 2; i++)
		ck_assert(addrlimit_admit(&l, at("10.0.0.1"), 0));
	ck_assert(!addrlimit_admit(&l, at("10.0.0.1"), 0));
	ck_assert(addrlimit_admit(&l, at("10.0.0.2"), 0));
	ck_assert(addrlimit_admit(&l, at("10.0.1.2"), 0));
	ck_assert_uint_eq(addrlimit_count(&l), 5);
	addrlimit_free(&l);

	o.max_per_address = 2;
	o.max_gateways = 16;
	ck_assert_int_eq(gateways_init(&t, &o), LB_OK);
	admit_from(&t, 1, at("2001:db8::1"), 0, true);
	admit_from(&t, 2, at("2001:db8::2"), 0, true);
	ck_assert_int_eq(gateways_admit(&t, 3, at("2001:db8::3"), 0, NULL, NULL), LB_ERR_FULL);
	admit_from(&t, 3, at("2001:db8:0:1::3"), 0, true);
	ck_assert_int_eq(gateways_admit(&t, 1, at("2001:db8::2"), 1 * S, NULL, NULL),
			 LB_ERR_ADDRESS_MISMATCH);
	for (uint64_t e = 4; e <= 6; e++)
		admit_from(&t, e, at(e == 4 ? "10.0.0.4" : e == 5 ? "10.0.0.5" : "10.0.0.6"), 0,
			   true);
	gateways_free(&t);
}
END_TEST


static Suite *gateway_suite(void)
{
	Suite *s = suite_create("gateway");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_create_and_find);
	tcase_add_test(tc, test_position);
	tcase_add_test(tc, test_addresses);
	tcase_add_test(tc, test_rate_limit_boundary);
	tcase_add_test(tc, test_rate_limit_steady_and_off);
	tcase_add_test(tc, test_offline_and_back);
	tcase_add_test(tc, test_offline_disabled);
	tcase_add_test(tc, test_allow_list);
	tcase_add_test(tc, test_eviction_policy);
	tcase_add_test(tc, test_binding_and_rebind);
	tcase_add_test(tc, test_flood_from_elsewhere_costs_nothing);
	tcase_add_test(tc, test_allow_pinned);
	tcase_add_test(tc, test_max_per_address);
	tcase_add_test(tc, test_tombstone);
	tcase_add_test(tc, test_tombstone_overflow);
	tcase_add_test(tc, test_ipv6_slash64);
	tcase_add_test(tc, test_addrlimit_table);
	tcase_add_test(tc, test_restore);
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
