/* SPDX-License-Identifier: MIT */
/*
 * test_sim_gateway.c - unit tests of the simulated forwarder's accounting of
 * datagrams nobody received (packet_forwarder/sim/sim_gateway.c): a
 * connected UDP socket's send() takes a datagram for a loopback port that no
 * socket has bound, the kernel answers with ICMP port unreachable, and the
 * next recv() or send() on that socket fails with ECONNREFUSED. Each such
 * report is a lost datagram and must show in `refused`.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "../../packet_forwarder/sim/sim_gateway.h"
#include "../../packet_forwarder/sim/sim_stats.h"
#include "testutil.h"

#define US_PER_S 1000000LL
#define KEEPALIVE_US (10 * US_PER_S)   /* one PULL_DATA per test, at the start */
#define DEADLINE_US (5 * US_PER_S)     /* how long the ICMP report may take */
#define POLL_NS 1000000L

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * US_PER_S + ts.tv_nsec / 1000;
}

/* A loopback address whose port no socket holds: bound once, then closed. */
static void unbound_port(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sa, &len), 0);
	close(fd);
}

static void open_gateway(struct sim_gateway *gw, struct sim_stats *st, int64_t now)
{
	const struct sim_gateway_conf c = {
		.eui = 0xaa555a0000000001ULL, .version = 2, .keepalive_us = KEEPALIVE_US,
		.ack_timeout_us = US_PER_S, .seed = 1,
	};
	struct sockaddr_in sa;

	unbound_port(&sa);
	memset(st, 0, sizeof(*st));
	ck_assert_int_eq(sim_gateway_open(gw, &c, (struct sockaddr *)&sa, sizeof(sa), st, now),
			 LB_OK);
}

/* Read the downstream socket until `refused` moves (or the deadline). */
static void read_until_refused(struct sim_gateway *gw, const struct sim_stats *st)
{
	const struct timespec pause = {.tv_nsec = POLL_NS};
	int64_t end = mono_us() + DEADLINE_US;

	while (st->refused == 0 && mono_us() < end) {
		ck_assert_int_eq(sim_gateway_read(gw, gw->fd_down, mono_us()), LB_OK);
		nanosleep(&pause, NULL);
	}
}

/* The PULL_DATA went out (send() took it); recv() then reports it lost. */
START_TEST(test_refused_by_recv)
{
	struct sim_gateway gw;
	struct sim_stats st;
	int64_t now = mono_us(), next = -1;

	open_gateway(&gw, &st, now);
	ck_assert_int_eq(sim_gateway_tick(&gw, now, &next), LB_OK);
	ck_assert_uint_eq(st.pull_data, 1);
	ck_assert_uint_eq(st.send_errors, 0);
	read_until_refused(&gw, &st);
	ck_assert_uint_eq(st.refused, 1);
	/* its ACK is missing once the timeout passes */
	ck_assert_int_eq(sim_gateway_tick(&gw, now + US_PER_S, &next), LB_OK);
	ck_assert_uint_eq(st.missing_acks, 1);
	sim_gateway_close(&gw);
}
END_TEST

/* Nobody read the socket: the next send() fails with the earlier datagram's
 * report, and both are counted (the new one is not sent). */
START_TEST(test_refused_by_send)
{
	struct sim_gateway gw;
	struct sim_stats st;
	int64_t now = mono_us(), next = -1;

	open_gateway(&gw, &st, now);
	ck_assert_int_eq(sim_gateway_tick(&gw, now, &next), LB_OK);
	ck_assert_uint_eq(st.pull_data, 1);
	/* the report is pending on the socket (POLLERR), not read */
	struct pollfd p = {.fd = gw.fd_down};
	ck_assert_int_eq(poll(&p, 1, DEADLINE_US / 1000), 1);
	ck_assert(p.revents & POLLERR);
	ck_assert_int_eq(sim_gateway_tick(&gw, now + KEEPALIVE_US, &next), LB_OK);
	ck_assert_uint_eq(st.pull_data, 1);
	ck_assert_uint_eq(st.send_errors, 1);
	ck_assert_uint_eq(st.refused, 1);
	sim_gateway_close(&gw);
}
END_TEST

/* ackr within 0..100 even when acknowledgements of the window before
 * arrive in this one (the bridge leaves a stat's ackr above 100 out). */
START_TEST(test_ackr_in_range)
{
	ck_assert(sim_gateway_ackr(0, 0) == 0.0);
	ck_assert(sim_gateway_ackr(0, 3) == 0.0);
	ck_assert(sim_gateway_ackr(4, 2) == 50.0);
	ck_assert(sim_gateway_ackr(4, 4) == 100.0);
	ck_assert(sim_gateway_ackr(4, 5) == 100.0);
	ck_assert(sim_gateway_ackr(1, 2) == 100.0);
}
END_TEST

static Suite *sim_gateway_suite(void)
{
	Suite *s = suite_create("sim_gateway");
	TCase *tc = tcase_create("refused");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_refused_by_recv);
	tcase_add_test(tc, test_refused_by_send);
	tcase_add_test(tc, test_ackr_in_range);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(sim_gateway_suite());
}
