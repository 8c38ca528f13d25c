/* SPDX-License-Identifier: MIT */
/* udp.c - non-blocking UDP socket with batched receive. See udp.h. */
#include "io/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/sock_diag.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "gwmp/gwmp.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "io/loop.h"

#define BUF_LEN (GWMP_MAX_DATAGRAM + 1)

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char portstr[8];

	snprintf(portstr, sizeof(portstr), "%u", port);
	int rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0 || !res) {
		log_error("udp", "bind address '%s' is not a numeric IPv4/IPv6 address: %s", host,
			  gai_strerror(rc));
		return LB_ERR_INVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return LB_OK;
}

static void read_bound_port(struct udp *u)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(u->fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET)
		u->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		u->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* What the receive buffer became. Linux doubles what is asked for its own
 * bookkeeping and first caps it at net.core.rmem_max, for every program
 * (socket(7) SO_RCVBUF; only SO_RCVBUFFORCE, with CAP_NET_ADMIN, goes
 * beyond, and the packaged service has no capability): a udp.rcvbuf above
 * that cap would otherwise hold silently less than the user planned for a
 * slow disk or a burst. */
static void rcvbuf_check(struct udp *u, int asked)
{
	int got = 0;
	socklen_t len = sizeof(got);

	if (getsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0) {
		log_warn("udp", "SO_RCVBUF not readable: %s (receive buffer unknown)",
			 strerror(errno));
		return;
	}
	u->rcvbuf = got;
	u->rcvbuf_capped = asked > 0 && (int64_t)got < 2 * (int64_t)asked;
	if (u->rcvbuf_capped)
		log_warn("udp", "udp.rcvbuf = %d, but the kernel gave %d bytes of accounting, "
			 "not twice as many: net.core.rmem_max caps it (raise it to at least %d, "
			 "e.g. in /etc/sysctl.d/, then restart the bridge)", asked, got, asked);
	else
		log_info("udp", "receive buffer: %d bytes of accounting (%s)", got,
			 asked > 0 ? "udp.rcvbuf, doubled by the kernel" :
				     "the system default, net.core.rmem_default");
}

static int socket_setup(struct udp *u, const struct sockaddr_storage *ss, socklen_t len, int rcvbuf)
{
	int one = 1, zero = 0;

	u->fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0) {
		log_error("udp", "socket: %s", strerror(errno));
		return LB_ERR_IO;
	}
	/* No SO_REUSEADDR: UDP has no TIME_WAIT to wait out, and on Linux two
	 * sockets that both set it may bind one port, each then getting a share
	 * of the datagrams. A second bridge (or any program) on our port must
	 * fail to start, not silently take some of the gateways' frames. */
	/* "::" means every address, IPv4 included. */
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0)
		log_warn("udp", "IPV6_V6ONLY off: %s (\"::\" takes IPv6 gateways only)",
			 strerror(errno));
	if (rcvbuf > 0 && setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0) {
		log_warn("udp", "SO_RCVBUF %d: %s (keeping the system default)", rcvbuf,
			 strerror(errno));
		rcvbuf = 0;
	}
	rcvbuf_check(u, rcvbuf);
	/* Ask the kernel to report datagrams it dropped for want of buffer
	 * space, so that loss before we read is counted, not silent. */
	if (setsockopt(u->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) != 0)
		log_warn("udp", "SO_RXQ_OVFL: %s (kernel drops will not be counted)",
			 strerror(errno));
	/* Arrival times, for rate limits measured when datagrams arrived, not
	 * when we read them. */
	if (setsockopt(u->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) != 0)
		log_warn("udp", "SO_TIMESTAMPNS: %s (datagrams are timed when read)",
			 strerror(errno));
	if (bind(u->fd, (const struct sockaddr *)ss, len) != 0) {
		log_error("udp", "bind: %s", strerror(errno));
		return LB_ERR_IO;
	}
	return LB_OK;
}

int udp_open(struct udp *u, const char *bind_addr, uint16_t port, int rcvbuf)
{
	struct sockaddr_storage ss;
	socklen_t len;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	int rc = resolve(bind_addr, port, &ss, &len);
	if (rc != LB_OK)
		return rc;
	u->bufs = malloc((size_t)UDP_BATCH * BUF_LEN);
	if (!u->bufs)
		return LB_ERR_NOMEM;
	rc = socket_setup(u, &ss, len, rcvbuf);
	if (rc != LB_OK) {
		log_error("udp", "cannot listen on %s port %u", bind_addr, port);
		udp_close(u);
		return rc;
	}
	read_bound_port(u);
	log_notice("udp", "listening on %s port %u", bind_addr, u->port);
	return LB_OK;
}

void udp_release_bufs(struct udp *u)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!u->bufs || page <= 0)
		return;
	uintptr_t mask = (uintptr_t)page - 1;
	uintptr_t lo = ((uintptr_t)u->bufs + mask) & ~mask;
	uintptr_t hi = ((uintptr_t)u->bufs + (size_t)UDP_BATCH * BUF_LEN) & ~mask;
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void udp_close(struct udp *u)
{
	if (u->fd >= 0) {
		(void)udp_flush(u);
		close(u->fd);
	}
	u->fd = -1;
	free(u->bufs);
	u->bufs = NULL;
}

#define UDP_MAX_ARRIVAL_AGE_US 5000000

/* SCM_TIMESTAMPNS: the kernel's receive time on the wall clock, placed on
 * the monotonic clock too (never later than now). */
static void note_arrival(struct udp_peer *p, const struct cmsghdr *c, int64_t wall_now,
			 int64_t mono_now)
{
	struct timespec ts;

	memcpy(&ts, CMSG_DATA(c), sizeof(ts));
	int64_t wall = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	int64_t age = wall_now - wall;
	/* A wall clock stepped between arrival and read (NTP) must not move
	 * the datagram hours away: a real backlog is seconds old at most, so
	 * the age is kept within 0..UDP_MAX_ARRIVAL_AGE_US (clamped, not
	 * reset: a datagram of a longer backlog, counted as arriving when read,
	 * would be later than the younger ones read after it). */
	if (wall <= 0 || age < 0)
		age = 0;
	else if (age > UDP_MAX_ARRIVAL_AGE_US)
		age = UDP_MAX_ARRIVAL_AGE_US;
	p->arrival_wall_us = wall_now - age;
	p->arrival_mono_us = mono_now - age;
}

/* The kernel's cumulative count of datagrams dropped on this socket, as a
 * datagram carried it when queued (SO_RXQ_OVFL) or as asked for now
 * (udp_poll_drops()): an older datagram read after a poll carries a lower
 * count, so only a count ahead of the last one seen (modulo 2^32, as the
 * kernel's wraps) adds to the 64-bit total. */
static void note_drops(struct udp *u, uint32_t dropped)
{
	int32_t ahead = (int32_t)(dropped - u->kernel_raw);
	if (ahead <= 0)
		return;
	u->kernel_raw = dropped;
	u->kernel_drops += (uint64_t)ahead;
	LB_LOG_RL(LOG_LVL_WARN, "udp", "kernel dropped %" PRIu64 " datagram(s) so far: receive "
		  "buffer full (raise udp.rcvbuf)", u->kernel_drops);
}

/* Per datagram: SO_RXQ_OVFL and the arrival time. */
static void note_control(struct udp *u, struct msghdr *mh, struct udp_peer *p, int64_t wall_now,
			 int64_t mono_now)
{
	p->arrival_wall_us = 0;
	p->arrival_mono_us = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			note_arrival(p, c, wall_now, mono_now);
			continue;
		}
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL)
			continue;
		uint32_t dropped;
		memcpy(&dropped, CMSG_DATA(c), sizeof(dropped));
		note_drops(u, dropped);
	}
}

int udp_poll_drops(struct udp *u)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (u->fd < 0)
		return LB_ERR_INVAL;
	if (u->no_meminfo)
		return LB_ERR_IO;
	int rc = getsockopt(u->fd, SOL_SOCKET, SO_MEMINFO, mem, &len);
	if (rc != 0 && errno != ENOPROTOOPT && errno != EINVAL) {
		LB_LOG_RL(LOG_LVL_WARN, "udp", "SO_MEMINFO: %s (drops at the end of a burst are "
			  "counted with the next datagram)", strerror(errno));
		return LB_ERR_IO;
	}
	/* Not known here (a kernel before 4.12; qemu's user mode answers with
	 * one int): said once, not asked again. */
	if (rc != 0 || len < (SK_MEMINFO_DROPS + 1) * sizeof(mem[0])) {
		u->no_meminfo = true;
		log_notice("udp", "SO_MEMINFO gives no drop count here (%s): drops at the end of "
			   "a burst are counted with the next datagram",
			   rc != 0 ? strerror(errno) : "too short");
		return LB_ERR_IO;
	}
	note_drops(u, mem[SK_MEMINFO_DROPS]);
	return LB_OK;
}

/* Arrivals never go back from one datagram read to the next: the socket's
 * queue is in arrival order, but the stamps may be a few microseconds out
 * of it, and an age at UDP_MAX_ARRIVAL_AGE_US or a stepped wall clock may
 * place one before the datagram read before it. Rate limits and
 * de-duplication take them as a clock. A datagram without a stamp keeps
 * none (it arrived when read). */
static void in_order(struct udp *u, struct udp_peer *p, int64_t mono_now)
{
	if (!p->arrival_mono_us) {
		if (mono_now > u->read_arrival_us)
			u->read_arrival_us = mono_now;
		return;
	}
	int64_t behind = u->read_arrival_us - p->arrival_mono_us;
	if (behind > 0) {
		p->arrival_mono_us += behind;
		p->arrival_wall_us += behind;
	}
	u->read_arrival_us = p->arrival_mono_us;
}

int udp_drain(struct udp *u, size_t budget, udp_datagram_cb cb, void *arg)
{
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct udp_peer peers[UDP_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctrl[UDP_BATCH];
	size_t total = 0;

	while (total < budget) {
		unsigned want = budget - total < UDP_BATCH ? (unsigned)(budget - total) : UDP_BATCH;
		memset(msgs, 0, sizeof(msgs[0]) * want);
		for (unsigned i = 0; i < want; i++) {
			iov[i].iov_base = u->bufs + (size_t)i * BUF_LEN;
			iov[i].iov_len = BUF_LEN;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &peers[i].addr;
			msgs[i].msg_hdr.msg_namelen = sizeof(peers[i].addr);
			msgs[i].msg_hdr.msg_control = ctrl[i].buf;
			msgs[i].msg_hdr.msg_controllen = sizeof(ctrl[i].buf);
		}
		int n = recvmmsg(u->fd, msgs, want, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			u->recv_errors++;
			LB_LOG_RL(LOG_LVL_WARN, "udp", "recvmmsg: %s", strerror(errno));
			return total ? (int)total : LB_ERR_IO;
		}
		int64_t wall_now = loop_wall_us(), mono_now = loop_now_us();
		for (int i = 0; i < n; i++) {
			size_t len = msgs[i].msg_len;
			/* A datagram that filled the whole buffer was bigger than the
			 * largest we accept: MSG_TRUNC cut it. */
			bool trunc = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || len > GWMP_MAX_DATAGRAM;
			peers[i].len = msgs[i].msg_hdr.msg_namelen;
			note_control(u, &msgs[i].msg_hdr, &peers[i], wall_now, mono_now);
			in_order(u, &peers[i], mono_now);
			cb(arg, u->bufs + (size_t)i * BUF_LEN, trunc ? GWMP_MAX_DATAGRAM : len, trunc,
			   &peers[i]);
		}
		(void)udp_flush(u);   /* the replies to this batch: one system call */
		total += (size_t)n;
		if ((unsigned)n < want)
			break;
	}
	return (int)total;
}

int64_t udp_read_horizon_us(struct udp *u, bool *now_empty)
{
	/* The time first: a datagram arriving after it, before the look,
	 * is one the look may miss, and it arrived after the horizon. (The
	 * kernel stamps a datagram a few microseconds before it queues it:
	 * one stamped just before the time taken here and queued just after
	 * the look can still find its group closed, a copy at the very end of
	 * a window.) */
	int64_t now = loop_now_us();

	/* A peek of no bytes: its length (MSG_TRUNC) for a waiting datagram,
	 * 0 for an empty one (FIONREAD says 0 for those, as for none), EAGAIN
	 * when none waits. A pending socket error is returned, and cleared, by
	 * the peek itself: counted, logged, and the peek made again. */
	ssize_t r = recv(u->fd, NULL, 0, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
	if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		u->recv_errors++;
		LB_LOG_RL(LOG_LVL_WARN, "udp", "socket error: %s", strerror(errno));
		r = recv(u->fd, NULL, 0, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
	}
	*now_empty = r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	return *now_empty ? now : u->read_arrival_us;
}

int udp_queue(struct udp *u, const void *buf, size_t len, const struct udp_peer *to)
{
	if (len > UDP_QUEUED_MAX)
		return udp_send(u, buf, len, to);
	if (u->n_queued == UDP_BATCH)
		(void)udp_flush(u);
	memcpy(u->queued[u->n_queued], buf, len);
	u->queued_len[u->n_queued] = len;
	u->queued_to[u->n_queued] = *to;
	u->n_queued++;
	return LB_OK;
}

static void send_failed(struct udp *u, const struct udp_peer *to, size_t len, const char *why)
{
	char peer[64];

	u->send_errors++;
	udp_peer_str(to, peer, sizeof(peer));
	LB_LOG_RL(LOG_LVL_WARN, "udp", "sendto %s (%zu bytes): %s", peer, len, why);
}

size_t udp_flush(struct udp *u)
{
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	size_t n = u->n_queued, done = 0, failed = 0;

	if (n == 0)
		return 0;
	memset(msgs, 0, sizeof(msgs[0]) * n);
	for (size_t i = 0; i < n; i++) {
		iov[i].iov_base = u->queued[i];
		iov[i].iov_len = u->queued_len[i];
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &u->queued_to[i].addr;
		msgs[i].msg_hdr.msg_namelen = u->queued_to[i].len;
	}
	/* sendmmsg stops at the first datagram the kernel refuses: that one
	 * is counted as failed, the rest are tried again. */
	while (done < n) {
		int k = sendmmsg(u->fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		send_failed(u, &u->queued_to[done], u->queued_len[done],
			    k < 0 ? strerror(errno) : "not sent");
		failed++;
		done++;
	}
	u->n_queued = 0;
	return failed;
}

int udp_send(struct udp *u, const void *buf, size_t len, const struct udp_peer *to)
{
	(void)udp_flush(u);   /* queued replies were made first */
	ssize_t n = sendto(u->fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&to->addr, to->len);
	if (n == (ssize_t)len)
		return LB_OK;
	send_failed(u, to, len, n < 0 ? strerror(errno) : "short write");
	return LB_ERR_IO;
}

void udp_peer_str(const struct udp_peer *p, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (p->addr.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&p->addr;
		inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
		port = ntohs(s->sin_port);
		snprintf(out, cap, "%s:%u", host, port);
		return;
	}
	if (p->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&p->addr;
		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
		port = ntohs(s->sin6_port);
	}
	snprintf(out, cap, "[%s]:%u", host, port);
}
