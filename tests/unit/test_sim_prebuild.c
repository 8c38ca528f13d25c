/* SPDX-License-Identifier: MIT */
/*
 * test_sim_prebuild.c - unit tests of lorabridge-sim --prebuild
 * (packet_forwarder/sim/sim_prebuild.c): the datagrams it builds are those a
 * live run sends (byte for byte but the rxpk `time`, when both run on the
 * same clock), the replay sends what is due and no more, a batch per tick,
 * and PUSH_ACKs are matched in order (missing, late, bad tokens), also when
 * the tick reads them from the sockets.
 *
 * Both runs send to one bound loopback socket, the test's "server".
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "gwmp/gwmp.h"
#include "../../packet_forwarder/sim/sim_devices.h"
#include "../../packet_forwarder/sim/sim_dlcheck.h"
#include "../../packet_forwarder/sim/sim_gateway.h"
#include "../../packet_forwarder/sim/sim_opts.h"
#include "../../packet_forwarder/sim/sim_prebuild.h"
#include "../../packet_forwarder/sim/sim_stats.h"
#include "../../packet_forwarder/sim/sim_traffic.h"
#include "testutil.h"

#define N_GWS 2
#define N_UPLINKS 20
#define RATE_US 1000                 /* --rate 1000: a slot a millisecond */
#define T0 1000000000LL              /* the virtual clock's start */
#define ACK_TIMEOUT_US 500000
#define DEADLINE_US 5000000LL
#define DGRAM_MAX 2048

static char *ARGV[] = {
	"lorabridge-sim", "--devices", "5", "--seed", "3", "--gateways", "2", "--all-gateways",
	"--count", "20", "--rate", "1000", "--keepalive", "0", "--stat-interval", "0", NULL,
};

/* What main() sets up for ABP devices, minus the epoll loop. */
struct world {
	struct sim_opts o;
	struct sim_devices devs;
	struct sim_gateway gws[N_GWS];
	struct sim_stats st;
	struct sim_dlcheck dl;
	struct sim_traffic t;
};

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int open_server(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	ck_assert_int_ge(fd, 0);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sa, &len), 0);
	return fd;
}

static void world_open(struct world *w, const struct sockaddr_in *srv, int64_t now)
{
	const struct sim_rx_params rx = {.rx1_delay_s = 1, .rx2_dr = 0};

	memset(w, 0, sizeof(*w));
	ck_assert_int_eq(sim_opts_parse(&w->o, (int)(sizeof(ARGV) / sizeof(ARGV[0])) - 1, ARGV),
			 LB_OK);
	ck_assert_int_eq(sim_devices_derive(&w->devs, w->o.devices, w->o.seed), LB_OK);
	ck_assert_int_eq(sim_devices_prepare_rx(&w->devs, 0, &rx, 0), LB_OK);
	for (unsigned i = 0; i < N_GWS; i++) {
		const struct sim_gateway_conf c = {
			.idx = i, .eui = w->o.gateway_eui + i, .version = 2,
			.ack_timeout_us = ACK_TIMEOUT_US, .seed = w->o.seed,
		};
		ck_assert_int_eq(sim_gateway_open(&w->gws[i], &c, (const struct sockaddr *)srv,
						  sizeof(*srv), &w->st, now),
				 LB_OK);
	}
	ck_assert_int_eq(sim_dlcheck_init(&w->dl, &w->o, &w->devs, w->gws, N_GWS, &w->st, NULL,
					  NULL, 1),
			 LB_OK);
	sim_traffic_init(&w->t, &w->o, &w->devs, w->gws, N_GWS, &w->st, &w->dl, NULL, NULL, now);
}

static void world_close(struct world *w)
{
	for (unsigned i = 0; i < N_GWS; i++)
		sim_gateway_close(&w->gws[i]);
	sim_dlcheck_free(&w->dl);
	sim_devices_free(&w->devs);
}

/* The gateway whose upstream socket has the source address of a datagram. */
static unsigned gateway_of(const struct world *w, const struct sockaddr_in *from)
{
	for (unsigned i = 0; i < N_GWS; i++) {
		struct sockaddr_in sa;
		socklen_t len = sizeof(sa);
		ck_assert_int_eq(getsockname(w->gws[i].fd_up, (struct sockaddr *)&sa, &len), 0);
		if (sa.sin_port == from->sin_port)
			return i;
	}
	ck_abort_msg("datagram from an unknown port");
	return 0;
}

/* The datagram without the value of "time":"..." (the wall clock's). */
static size_t without_time(const uint8_t *in, size_t len, char *out)
{
	static const char key[] = "\"time\":\"";
	const char *s = memmem(in, len, key, sizeof(key) - 1);

	ck_assert_ptr_nonnull(s);
	size_t head = (size_t)(s - (const char *)in) + sizeof(key) - 1;
	const char *end = memchr(s + sizeof(key) - 1, '"', len - head);
	ck_assert_ptr_nonnull(end);
	size_t tail = len - (size_t)(end - (const char *)in);
	memcpy(out, in, head);
	memcpy(out + head, end, tail);
	return head + tail;
}

/* Received datagram i of gateway g, for the comparison. */
struct got {
	uint8_t buf[DGRAM_MAX];
	size_t len;
};

/* The live run on the virtual clock (each tick at the next deadline), its
 * datagrams taken from the server socket into got[g][i]. */
static void run_live(struct world *w, int srv, struct got got[N_GWS][N_UPLINKS])
{
	size_t n[N_GWS] = {0};
	int64_t now = T0;

	while (!w->t.finished) {
		int64_t next = -1;
		ck_assert_int_eq(sim_traffic_tick(&w->t, now, &next), LB_OK);
		for (;;) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			uint8_t buf[DGRAM_MAX];
			ssize_t r = recvfrom(srv, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (r < 0)
				break;
			unsigned g = gateway_of(w, &from);
			ck_assert_uint_lt(n[g], N_UPLINKS);
			memcpy(got[g][n[g]].buf, buf, (size_t)r);
			got[g][n[g]++].len = (size_t)r;
		}
		if (next >= 0)
			now = next;
	}
	for (unsigned g = 0; g < N_GWS; g++)
		ck_assert_uint_eq(n[g], N_UPLINKS);
}

START_TEST(test_same_frames_as_live)
{
	static struct got got[N_GWS][N_UPLINKS];
	struct sockaddr_in sa;
	int srv = open_server(&sa);
	struct world live, pre;
	struct sim_prebuild pb;

	world_open(&live, &sa, T0);
	run_live(&live, srv, got);
	ck_assert_uint_eq(live.st.sent_uplinks, N_UPLINKS);

	world_open(&pre, &sa, T0);
	ck_assert_int_eq(sim_prebuild_init(&pb, pre.gws, N_GWS, &pre.st, ACK_TIMEOUT_US), LB_OK);
	ck_assert_int_eq(sim_prebuild_build(&pb, &pre.t, T0), LB_OK);
	ck_assert_uint_eq(pb.n_uplinks, N_UPLINKS);
	ck_assert_uint_eq(pre.st.sent_uplinks, 0);  /* counted when sent */
	ck_assert_ptr_null(pre.gws[0].capture);
	for (unsigned g = 0; g < N_GWS; g++) {
		const struct sim_pb_lane *lane = &pb.lanes[g];
		ck_assert_uint_eq(lane->n, N_UPLINKS);
		for (size_t i = 0; i < lane->n; i++) {
			const struct sim_pb_dgram *d = &lane->d[i];
			char a[DGRAM_MAX], b[DGRAM_MAX];
			size_t la = without_time(got[g][i].buf, got[g][i].len, a);
			size_t lb = without_time(lane->bytes + d->off, d->len, b);
			ck_assert_uint_eq(la, lb);
			ck_assert_mem_eq(a, b, la);
			ck_assert_uint_eq(d->uplink, i);
			ck_assert_int_eq(d->due_us, (int64_t)i * RATE_US);
			ck_assert_uint_eq(d->token, (uint16_t)(lane->bytes[d->off + GWMP_OFF_TOKEN] << 8 |
								lane->bytes[d->off + GWMP_OFF_TOKEN + 1]));
		}
	}
	sim_prebuild_free(&pb);
	world_close(&pre);
	world_close(&live);
	close(srv);
}
END_TEST

static size_t drain(int srv)
{
	uint8_t buf[DGRAM_MAX];
	size_t n = 0;

	while (recv(srv, buf, sizeof(buf), 0) >= 0)
		n++;
	return n;
}

static void built(struct world *w, struct sim_prebuild *pb, int *srv)
{
	struct sockaddr_in sa;

	*srv = open_server(&sa);
	world_open(w, &sa, T0);
	ck_assert_int_eq(sim_prebuild_init(pb, w->gws, N_GWS, &w->st, ACK_TIMEOUT_US), LB_OK);
	ck_assert_int_eq(sim_prebuild_build(pb, &w->t, T0), LB_OK);
}

/* Due at start + k ms: a tick sends what is due, one batch, and asks to be
 * called at the next due time but not within SIM_PB_TICK_US. */
START_TEST(test_pacing)
{
	struct world w;
	struct sim_prebuild pb;
	int srv;
	const int64_t start = 5000000;
	int64_t next = -1;

	built(&w, &pb, &srv);
	sim_prebuild_start(&pb, start);
	ck_assert_int_eq(sim_prebuild_tick(&pb, start, &next), LB_OK);
	ck_assert_uint_eq(pb.lanes[0].next, 1);
	ck_assert_uint_eq(pb.lanes[1].next, 1);
	ck_assert_int_eq(next, start + RATE_US);
	ck_assert_uint_eq(drain(srv), 2);

	next = -1;  /* late by 5.5 ms: slots 1..5 at once, back in a tick */
	ck_assert_int_eq(sim_prebuild_tick(&pb, start + 5500, &next), LB_OK);
	ck_assert_uint_eq(pb.lanes[0].next, 6);
	ck_assert_uint_eq(pb.lanes[1].next, 6);
	ck_assert_int_eq(next, start + 5500 + SIM_PB_TICK_US);
	ck_assert_uint_eq(drain(srv), 10);
	ck_assert_uint_eq(w.st.sent_uplinks, 6);
	ck_assert_uint_eq(w.st.push_data, 12);
	ck_assert(!pb.finished);

	next = -1;
	ck_assert_int_eq(sim_prebuild_tick(&pb, start + 60000, &next), LB_OK);
	ck_assert(pb.finished);
	ck_assert_int_eq(next, start + 60000 + SIM_PB_TICK_US);  /* for the ACKs */
	ck_assert_uint_eq(w.st.sent_uplinks, N_UPLINKS);
	ck_assert_uint_eq(sim_prebuild_outstanding(&pb), 2 * N_UPLINKS);
	ck_assert_uint_eq(drain(srv), 2 * N_UPLINKS - 12);
	sim_prebuild_close(&pb);
	ck_assert_uint_eq(w.st.missing_acks, 2 * N_UPLINKS);
	ck_assert_uint_eq(sim_prebuild_outstanding(&pb), 0);
	sim_prebuild_free(&pb);
	world_close(&w);
	close(srv);
}
END_TEST

static uint16_t token_not_sent(const struct sim_pb_lane *lane)
{
	for (uint32_t t = 0;; t++) {
		bool used = false;
		for (size_t i = 0; i < lane->n && !used; i++)
			used = lane->d[i].token == t;
		if (!used)
			return (uint16_t)t;
	}
}

/* In order: an ACK passing unanswered datagrams makes them missing; theirs
 * arriving later is late; an unknown token is bad; one past the timeout is
 * missing and late; the rest is missing at the close. */
START_TEST(test_ack_matching)
{
	struct world w;
	struct sim_prebuild pb;
	int srv;
	const int64_t start = 5000000, end = start + 60000;
	int64_t next = -1;

	built(&w, &pb, &srv);
	sim_prebuild_start(&pb, start);
	ck_assert_int_eq(sim_prebuild_tick(&pb, end, &next), LB_OK);
	ck_assert(pb.finished);
	const struct sim_pb_lane *lane = &pb.lanes[0];

	sim_prebuild_ack(&pb, 0, lane->d[0].token, end);
	ck_assert_uint_eq(w.st.push_ack, 1);
	sim_prebuild_ack(&pb, 0, lane->d[3].token, end);
	ck_assert_uint_eq(w.st.push_ack, 2);
	ck_assert_uint_eq(w.st.missing_acks, 2);  /* 1 and 2 */
	sim_prebuild_ack(&pb, 0, lane->d[1].token, end);
	ck_assert_uint_eq(w.st.late_acks, 1);
	sim_prebuild_ack(&pb, 0, lane->d[3].token, end);  /* again */
	ck_assert_uint_eq(w.st.bad_tokens, 1);
	sim_prebuild_ack(&pb, 0, token_not_sent(lane), end);
	ck_assert_uint_eq(w.st.bad_tokens, 2);
	sim_prebuild_ack(&pb, 0, lane->d[4].token, end + ACK_TIMEOUT_US + 1);
	ck_assert_uint_eq(w.st.missing_acks, 3);
	ck_assert_uint_eq(w.st.late_acks, 2);
	ck_assert_uint_eq(w.st.push_ack, 2);
	ck_assert_uint_eq(sim_prebuild_outstanding(&pb), 2 * N_UPLINKS - 5);
	sim_prebuild_close(&pb);
	ck_assert_uint_eq(w.st.missing_acks, 3 + 2 * N_UPLINKS - 5);
	sim_prebuild_free(&pb);
	world_close(&w);
	close(srv);
}
END_TEST

/* The server answers every datagram: all matched from the sockets. */
START_TEST(test_acks_read)
{
	struct world w;
	struct sim_prebuild pb;
	int srv;
	int64_t next = -1;

	built(&w, &pb, &srv);
	sim_prebuild_start(&pb, mono_us() - 60000);
	ck_assert_int_eq(sim_prebuild_tick(&pb, mono_us(), &next), LB_OK);
	ck_assert(pb.finished);
	int64_t end = mono_us() + DEADLINE_US;
	while (w.st.push_ack < 2 * N_UPLINKS && mono_us() < end) {
		uint8_t buf[DGRAM_MAX];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t r;
		while ((r = recvfrom(srv, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) >= 0) {
			const uint8_t ack[GWMP_LEN_HDR] = {buf[0], buf[1], buf[2], GWMP_PUSH_ACK};
			ck_assert_int_eq(sendto(srv, ack, sizeof(ack), 0, (struct sockaddr *)&from, fl),
					 (ssize_t)sizeof(ack));
			fl = sizeof(from);
		}
		next = -1;
		ck_assert_int_eq(sim_prebuild_tick(&pb, mono_us(), &next), LB_OK);
		if (w.st.push_ack < 2 * N_UPLINKS)
			ck_assert_int_ge(next, 0);  /* back for the rest */
	}
	ck_assert_uint_eq(w.st.push_ack, 2 * N_UPLINKS);
	ck_assert_uint_eq(w.st.missing_acks + w.st.bad_tokens + w.st.bad_acks, 0);
	ck_assert_uint_eq(sim_prebuild_outstanding(&pb), 0);
	next = -1;
	ck_assert_int_eq(sim_prebuild_tick(&pb, mono_us(), &next), LB_OK);
	ck_assert_int_eq(next, -1);  /* nothing left to wait for */
	sim_prebuild_free(&pb);
	world_close(&w);
	close(srv);
}
END_TEST

static Suite *sim_prebuild_suite(void)
{
	Suite *s = suite_create("sim_prebuild");
	TCase *tc = tcase_create("prebuild");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_same_frames_as_live);
	tcase_add_test(tc, test_pacing);
	tcase_add_test(tc, test_ack_matching);
	tcase_add_test(tc, test_acks_read);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(sim_prebuild_suite());
}
