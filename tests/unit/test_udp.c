/* SPDX-License-Identifier: MIT */
/*
 * test_udp.c - queued replies (udp_queue/udp_flush): every one arrives, in
 * the order queued, across an automatic flush of a full queue and a
 * udp_send() that must not overtake them; a reply too long to queue goes
 * out at once; datagrams the kernel dropped counted even when no datagram
 * read afterwards carries their count. Real sockets on the loopback.
 */
#include <arpa/inet.h>
#include <check.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "io/loop.h"
#include "io/udp.h"
#include "testutil.h"

static struct udp u;
static int rx_fd;
static struct udp_peer to;

static void setup(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);

	ck_assert_int_eq(udp_open(&u, "127.0.0.1", 0, 0), LB_OK);
	rx_fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(rx_fd, 0);
	ck_assert_int_eq(bind(rx_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(rx_fd, (struct sockaddr *)&sa, &len), 0);
	memset(&to, 0, sizeof(to));
	memcpy(&to.addr, &sa, sizeof(sa));
	to.len = sizeof(sa);
}

static void teardown(void)
{
	udp_close(&u);
	close(rx_fd);
}

static void ignore_dgram(void *arg, const uint8_t *buf, size_t len, bool truncated,
			 const struct udp_peer *from)
{
	(void)arg, (void)buf, (void)len, (void)truncated, (void)from;
}

/* The next datagram waiting on rx_fd (none: -1). */
static ssize_t next_dgram(uint8_t *buf, size_t cap)
{
	return recv(rx_fd, buf, cap, MSG_DONTWAIT);
}

START_TEST(t_queue_order)
{
	const size_t n = UDP_BATCH + 5;
	uint8_t buf[64];

	for (size_t i = 0; i < n; i++) {
		uint8_t ack[4] = {2, (uint8_t)i, 0, 1};
		ck_assert_int_eq(udp_queue(&u, ack, sizeof(ack), &to), LB_OK);
	}
	/* a full queue went out by itself; the rest waits for the flush */
	for (size_t i = 0; i < UDP_BATCH; i++) {
		ck_assert_int_eq(next_dgram(buf, sizeof(buf)), 4);
		ck_assert_uint_eq(buf[1], i);
	}
	ck_assert_int_lt(next_dgram(buf, sizeof(buf)), 0);
	ck_assert_int_eq(udp_send(&u, "late", 4, &to), LB_OK);   /* flushes first */
	for (size_t i = UDP_BATCH; i < n; i++) {
		ck_assert_int_eq(next_dgram(buf, sizeof(buf)), 4);
		ck_assert_uint_eq(buf[1], i);
	}
	ck_assert_int_eq(next_dgram(buf, sizeof(buf)), 4);
	ck_assert_mem_eq(buf, "late", 4);
	ck_assert_uint_eq(udp_flush(&u), 0);
	ck_assert_int_lt(next_dgram(buf, sizeof(buf)), 0);

	uint8_t big[UDP_QUEUED_MAX + 1] = {7};
	ck_assert_int_eq(udp_queue(&u, big, sizeof(big), &to), LB_OK);   /* at once */
	ck_assert_int_eq(next_dgram(buf, sizeof(buf)), (ssize_t)sizeof(big));
	ck_assert_uint_eq(u.send_errors, 0);
}
END_TEST

/* A port in use is refused, even to a socket asking for SO_REUSEADDR: a
 * second program on the bridge's port would otherwise take a share of its
 * datagrams without anyone noticing. */
START_TEST(t_port_in_use_refused)
{
	struct udp second;
	ck_assert_int_eq(udp_open(&second, "127.0.0.1", u.port, 0), LB_ERR_IO);

	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(u.port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
}
END_TEST

static bool meminfo_known(int fd)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	return getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
	       len >= (SK_MEMINFO_DROPS + 1) * sizeof(mem[0]);
}

struct seen {
	int n;
	int64_t arrival_us;       /* the first datagram's, as the kernel timed it (0: not) */
};

static void count_cb(void *arg, const uint8_t *buf, size_t len, bool truncated,
		     const struct udp_peer *from)
{
	struct seen *c = arg;
	(void)buf, (void)len, (void)truncated;
	if (c->n++ == 0)
		c->arrival_us = from->arrival_mono_us;
}

static void spin_us(int64_t us)
{
	int64_t until = loop_now_us() + us;
	while (loop_now_us() < until)
		;
}

/* The read horizon: while datagrams wait, the arrival of the newest read
 * (not the loop's clock, which runs on while they wait; nor the read's
 * time, where the kernel timed the arrival); once none waits, the time of
 * the look. An empty datagram waiting counts as one (FIONREAD would say
 * 0 for it, as for none). */
START_TEST(t_read_horizon)
{
	struct udp r;
	int tx = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	uint8_t dgram[16] = {2};
	bool empty = false;
	struct seen got = {0};

	ck_assert_int_ge(tx, 0);
	ck_assert_int_eq(udp_open(&r, "127.0.0.1", 0, 0), LB_OK);
	a.sin_port = htons(r.port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int64_t before = loop_now_us();
	ck_assert_int_ge(udp_read_horizon_us(&r, &empty), before);
	ck_assert(empty);
	/* one datagram, an empty one, another */
	size_t lens[3] = {sizeof(dgram), 0, sizeof(dgram)};
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(sendto(tx, dgram, lens[i], 0, (struct sockaddr *)&a, sizeof(a)),
				 (ssize_t)lens[i]);
	int64_t sent = loop_now_us();
	spin_us(20000);           /* they wait: arrival and read 20 ms apart */
	ck_assert_int_eq(udp_drain(&r, 1, count_cb, &got), 1);
	spin_us(20000);           /* two still wait while time passes */
	int64_t h = udp_read_horizon_us(&r, &empty);
	ck_assert(!empty);        /* the empty datagram waits first: not "nothing" */
	ck_assert_int_ge(h, before);
	if (got.arrival_us)       /* the kernel's arrival, not the read */
		ck_assert_int_le(h, sent);
	else                      /* no arrival time (qemu's user mode): the read */
		ck_assert_int_le(h, loop_now_us() - 20000);
	ck_assert_int_eq(udp_drain(&r, 1, count_cb, &got), 1);
	ck_assert_int_eq(udp_read_horizon_us(&r, &empty), r.read_arrival_us);
	ck_assert(!empty);
	ck_assert_int_eq(udp_drain(&r, 16, count_cb, &got), 1);
	int64_t now = loop_now_us();
	h = udp_read_horizon_us(&r, &empty);
	ck_assert(empty);
	ck_assert_int_ge(h, now);
	ck_assert_int_eq(got.n, 3);
	udp_close(&r);
	close(tx);
}
END_TEST

/* The system's cap on SO_RCVBUF (net.core.rmem_max), -1 if unreadable. */
static long rmem_max(void)
{
	FILE *f = fopen("/proc/sys/net/core/rmem_max", "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* What the kernel gave for udp.rcvbuf is read back: doubled when granted,
 * capped at twice net.core.rmem_max (and flagged, with a warning) when
 * asked beyond it, the system default when not asked. */
START_TEST(t_rcvbuf_read_back)
{
	struct udp r;
	long cap = rmem_max();

	ck_assert_int_eq(udp_open(&r, "127.0.0.1", 0, 65536), LB_OK);
	if (cap < 0 || cap >= 65536) {
		ck_assert_int_eq(r.rcvbuf, 2 * 65536);
		ck_assert(!r.rcvbuf_capped);
	}
	udp_close(&r);

	ck_assert_int_eq(udp_open(&r, "127.0.0.1", 0, 0), LB_OK);
	ck_assert_int_gt(r.rcvbuf, 0);
	ck_assert(!r.rcvbuf_capped);
	udp_close(&r);

	ck_assert_int_eq(udp_open(&r, "127.0.0.1", 0, 1 << 30), LB_OK);
	ck_assert_int_gt(r.rcvbuf, 0);
	if (cap > 0 && cap < (1L << 30)) {
		ck_assert(r.rcvbuf_capped);
		ck_assert_int_eq(r.rcvbuf, 2 * cap);
	} else if (cap >= (1L << 30)) {
		ck_assert(!r.rcvbuf_capped);
	}
	udp_close(&r);
}
END_TEST

/* Datagrams the kernel dropped on a full buffer while none was read are
 * counted: no datagram carries their count (SO_RXQ_OVFL) until the next
 * arrives, udp_poll_drops() asks the socket. A later datagram carrying an
 * older count never lowers it. */
START_TEST(t_drops_polled)
{
	struct udp small;
	int tx = socket(AF_INET, SOCK_DGRAM, 0);
	uint8_t dgram[1200] = {2};
	struct sockaddr_in a = {.sin_family = AF_INET};
	size_t sent = 0;

	ck_assert_int_ge(tx, 0);
	ck_assert_int_eq(udp_open(&small, "127.0.0.1", 0, 4096), LB_OK);
	a.sin_port = htons(small.port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 400; i++)
		if (sendto(tx, dgram, sizeof(dgram), 0, (struct sockaddr *)&a, sizeof(a)) ==
		    (ssize_t)sizeof(dgram))
			sent++;
	ck_assert_uint_eq(sent, 400);
	ck_assert_uint_eq(small.kernel_drops, 0);
	if (!meminfo_known(small.fd)) {
		/* qemu's user mode (the cross tests) answers SO_MEMINFO with one
		 * int: refused, the count kept, and not asked again */
		ck_assert_int_eq(udp_poll_drops(&small), LB_ERR_IO);
		ck_assert(small.no_meminfo);
		ck_assert_uint_eq(small.kernel_drops, 0);
		ck_assert_int_eq(udp_poll_drops(&small), LB_ERR_IO);
		udp_close(&small);
		close(tx);
		return;
	}
	ck_assert_int_eq(udp_poll_drops(&small), LB_OK);
	uint64_t polled = small.kernel_drops;
	ck_assert_uint_gt(polled, 0);
	ck_assert_uint_lt(polled, 400);
	int n = udp_drain(&small, 400, ignore_dgram, NULL);
	ck_assert_int_eq((size_t)n + polled, 400);
	ck_assert_uint_eq(small.kernel_drops, polled);
	/* Again: the first of these is queued carrying the count so far
	 * (polled), the buffer overflows behind it; polled again, then read:
	 * the older counts the queued datagrams carry do not lower it. */
	for (int i = 0; i < 400; i++)
		ck_assert_int_eq(sendto(tx, dgram, sizeof(dgram), 0, (struct sockaddr *)&a,
					sizeof(a)), (ssize_t)sizeof(dgram));
	ck_assert_int_eq(udp_poll_drops(&small), LB_OK);
	uint64_t again = small.kernel_drops;
	ck_assert_uint_gt(again, polled);
	n = udp_drain(&small, 400, ignore_dgram, NULL);
	ck_assert_int_eq((size_t)n + (again - polled), 400);
	ck_assert_uint_eq(small.kernel_drops, again);
	udp_close(&small);
	ck_assert_int_eq(udp_poll_drops(&small), LB_ERR_INVAL);
	close(tx);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("udp");
	TCase *tc = tcase_create("queue");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_queue_order);
	tcase_add_test(tc, t_port_in_use_refused);
	tcase_add_test(tc, t_drops_polled);
	tcase_add_test(tc, t_rcvbuf_read_back);
	tcase_add_test(tc, t_read_horizon);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
