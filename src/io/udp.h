/* SPDX-License-Identifier: MIT */
/*
 * udp.h - the gateway-facing UDP socket (I/O edge).
 *
 * One non-blocking socket bound to the configured address (IPv4 or IPv6;
 * "::" is dual-stack). udp_drain() reads datagrams in batches with
 * recvmmsg(2) into buffers preallocated at open, up to a budget per call so
 * that one flooding gateway cannot starve the other descriptors of the loop:
 * epoll is level-triggered, so what is left is read on the next wake-up.
 *
 * Small replies (a GWMP PUSH_ACK / PULL_ACK: 4 bytes) are queued with
 * udp_queue() and sent together with one sendmmsg(2) when the receive batch
 * that caused them has been handed over (udp_drain() flushes after each
 * recvmmsg batch), when the queue is full, and before any udp_send(), so
 * they still leave in the order they were made.
 *
 * Ownership: struct udp owns its socket and buffers; udp_close() frees them.
 * The buffer handed to the callback is valid only during the callback.
 */
#ifndef LB_UDP_H
#define LB_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define UDP_BATCH 16

struct udp_peer {
	struct sockaddr_storage addr;
	socklen_t len;
	/* When the kernel received the datagram (SO_TIMESTAMPNS), 0 = unknown:
	 * on the wall clock and, converted, on the monotonic clock of
	 * loop_now_us(); at most 5 s before the read, and never before the
	 * datagram read before it. Rate limits and nsTime use the arrival, so
	 * a bridge that was busy for a moment does not see a gateway's queued
	 * datagrams as a burst. */
	int64_t arrival_wall_us;
	int64_t arrival_mono_us;
};

/* `truncated` is set when the datagram was larger than the buffer
 * (GWMP_MAX_DATAGRAM): the caller counts it as TOO_LARGE. */
typedef void (*udp_datagram_cb)(void *arg, const uint8_t *buf, size_t len, bool truncated,
				const struct udp_peer *from);

/* A queued reply is at most this long (a GWMP ACK is 4 bytes). */
#define UDP_QUEUED_MAX 16

struct udp {
	int fd;
	uint16_t port;               /* bound port (useful when 0 was asked) */
	uint8_t *bufs;               /* UDP_BATCH x (GWMP_MAX_DATAGRAM + 1) */
	int64_t read_arrival_us;     /* arrival of the newest datagram read (udp_read_horizon_us()) */
	int rcvbuf;                  /* the receive buffer as the kernel reports it (0: unknown) */
	bool rcvbuf_capped;          /* less than udp.rcvbuf asked (net.core.rmem_max), logged */
	uint64_t kernel_drops;       /* dropped before we read (SO_RXQ_OVFL, SO_MEMINFO) */
	uint32_t kernel_raw;         /* the kernel's own count (32 bits, wraps) last seen */
	bool no_meminfo;             /* SO_MEMINFO not known here: not asked again */
	uint64_t recv_errors;
	uint64_t send_errors;
	size_t n_queued;             /* replies waiting for udp_flush() */
	uint8_t queued[UDP_BATCH][UDP_QUEUED_MAX];
	size_t queued_len[UDP_BATCH];
	struct udp_peer queued_to[UDP_BATCH];
};

/* rcvbuf > 0 asks for that receive buffer (SO_RCVBUF); what the kernel
 * gave is in u->rcvbuf, and one capped by net.core.rmem_max is logged
 * (warning) and flagged in u->rcvbuf_capped: the bridge still runs.
 * Errors: LB_ERR_INVAL (bad address), LB_ERR_IO (socket/bind failed, logged). */
int udp_open(struct udp *u, const char *bind_addr, uint16_t port, int rcvbuf);
void udp_close(struct udp *u);

/* A quiet bridge: the whole pages of the receive buffers (16 x 64 KiB, as
 * many pages touched as the datagrams of a burst filled) go back to the
 * system (MADV_DONTNEED; they read as zeros when used again, and every
 * read writes its datagram first). A refused madvise changes nothing. */
void udp_release_bufs(struct udp *u);

/* Read up to `budget` datagrams. Returns how many were read (0 when none
 * was waiting) or LB_ERR_IO. */
int udp_drain(struct udp *u, size_t budget, udp_datagram_cb cb, void *arg);

/* The read horizon, monotonic microseconds as loop_now_us(): every datagram
 * that arrived before it has been read. When none waits (a peek finds
 * none), the time of that look; else the arrival of the newest datagram
 * read (a backlog read a budget at a time, a loop held by a slow disk, a
 * socket not read while paused). Arrivals as udp_drain() gives them: never
 * before the datagram read before; without the kernel's time, when read;
 * at most 5 s before the read by the wall clock (older, or a clock step).
 * A caller that groups datagrams by their arrival (de-duplication) closes
 * a group only when the horizon passed its end, never by the loop's clock
 * alone. *now_empty says which of the two it is;
 * a pending socket error (counted in recv_errors, logged) is looked past. */
int64_t udp_read_horizon_us(struct udp *u, bool *now_empty);

/* Bring kernel_drops up to date. A datagram carries the count of drops
 * before it was queued (SO_RXQ_OVFL), so drops after the last one queued
 * (a burst that ended on a full buffer, or one that arrived while the
 * socket was not read) would show only with the next datagram; this asks
 * the socket itself (SO_MEMINFO, Linux 4.12). Errors: LB_ERR_INVAL (not
 * open), LB_ERR_IO (refused: logged, rate-limited; the count stays; where
 * SO_MEMINFO is not known, said once and not asked again). */
int udp_poll_drops(struct udp *u);

/* Send one datagram. A full socket buffer or an unreachable peer is
 * counted and logged (rate-limited), never blocks. */
int udp_send(struct udp *u, const void *buf, size_t len, const struct udp_peer *to);

/* Queue a reply of at most UDP_QUEUED_MAX bytes (longer: sent at once, as
 * udp_send()). LB_OK; a reply the kernel later refuses is counted and
 * logged by udp_flush(). */
int udp_queue(struct udp *u, const void *buf, size_t len, const struct udp_peer *to);

/* Send every queued reply (sendmmsg). Returns how many were refused (each
 * counted in send_errors, logged rate-limited). */
size_t udp_flush(struct udp *u);

/* "1.2.3.4:1700" / "[::1]:1700" for logs. */
void udp_peer_str(const struct udp_peer *p, char *out, size_t cap);

#endif
