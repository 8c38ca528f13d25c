/* SPDX-License-Identifier: MIT */
/*
 * loop.h - the one event loop: epoll over every descriptor of the daemon.
 *
 * The loop only schedules. Descriptors (UDP socket, libmosquitto's socket,
 * signalfd, curl's sockets) are registered with a callback; timers are not
 * objects here: each module exposes `x_tick(now_ms)` returning its next
 * deadline, and the caller passes the earliest one to loop_run_once().
 */
#ifndef LB_LOOP_H
#define LB_LOOP_H

#include <stdbool.h>
#include <stdint.h>

/* The daemon's own descriptors (64) and two sockets for each of the most
 * HTTP connections (io/http.h HTTP_MAX_CONNECTIONS: 512): while it
 * connects, a connection can have an IPv6 and an IPv4 attempt open (Happy
 * Eyeballs, RFC 8305). 24 bytes a slot, in the one static struct loop. */
#define LOOP_MAX_FDS (64 + 2 * 512)

typedef void (*loop_io_cb)(void *arg, int fd, uint32_t events);

struct loop_slot {
	int fd;
	loop_io_cb cb;
	void *arg;
};

struct loop {
	int epfd;
	struct loop_slot slots[LOOP_MAX_FDS];
	/* Time spent waiting in epoll_wait, cumulative (us): the rest of the
	 * time the loop worked, or waited for a CPU. */
	int64_t idle_us;
};

/* The earlier of two deadlines, where -1 means none (every x_tick()
 * returns its next deadline that way). */
static inline int64_t loop_earliest(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* Monotonic milliseconds / microseconds (CLOCK_MONOTONIC). */
int64_t loop_now_ms(void);
int64_t loop_now_us(void);
/* Wall clock, microseconds since the Unix epoch. */
int64_t loop_wall_us(void);

int loop_init(struct loop *l);
void loop_close(struct loop *l);

/* events: EPOLLIN / EPOLLOUT. Errors: LB_ERR_FULL, LB_ERR_IO. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_io_cb cb, void *arg);
int loop_modify(struct loop *l, int fd, uint32_t events);
int loop_remove(struct loop *l, int fd);
/* Drop the registration of an fd its owner has already closed (the kernel
 * removed it from epoll then; its number may already belong to someone
 * else, so no epoll_ctl is made). Matches fd and arg. */
int loop_forget(struct loop *l, int fd, void *arg);

/* Wait until a descriptor is ready or `deadline_ms` (monotonic; < 0 means
 * no deadline) passes, and run the callbacks. Returns the number of events
 * handled or LB_ERR_IO. EINTR is not an error (returns 0). */
int loop_run_once(struct loop *l, int64_t deadline_ms);

#endif
