/* SPDX-License-Identifier: MIT */
/* loop.c - the epoll event loop. See loop.h. */
#include "io/loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"

#define LOOP_BATCH 16

int64_t loop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t loop_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t loop_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int loop_init(struct loop *l)
{
	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < LOOP_MAX_FDS; i++)
		l->slots[i].fd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		log_error("loop", "epoll_create1: %s", strerror(errno));
		return LB_ERR_IO;
	}
	return LB_OK;
}

void loop_close(struct loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

static struct loop_slot *slot_find(struct loop *l, int fd)
{
	for (size_t i = 0; i < LOOP_MAX_FDS; i++)
		if (l->slots[i].fd == fd)
			return &l->slots[i];
	return NULL;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_io_cb cb, void *arg)
{
	struct loop_slot *s = slot_find(l, -1);
	if (!s) {
		log_error("loop", "cannot watch fd %d: all %d slots in use", fd, LOOP_MAX_FDS);
		return LB_ERR_FULL;
	}
	struct epoll_event ev = {.events = events, .data.ptr = s};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_error("loop", "epoll_ctl(ADD, %d): %s", fd, strerror(errno));
		return LB_ERR_IO;
	}
	s->fd = fd;
	s->cb = cb;
	s->arg = arg;
	return LB_OK;
}

int loop_modify(struct loop *l, int fd, uint32_t events)
{
	struct loop_slot *s = slot_find(l, fd);
	if (!s || fd < 0)
		return LB_ERR_NOT_FOUND;
	struct epoll_event ev = {.events = events, .data.ptr = s};
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
		log_error("loop", "epoll_ctl(MOD, %d): %s", fd, strerror(errno));
		return LB_ERR_IO;
	}
	return LB_OK;
}

int loop_remove(struct loop *l, int fd)
{
	struct loop_slot *s = slot_find(l, fd);
	if (!s || fd < 0)
		return LB_ERR_NOT_FOUND;
	/* The fd may already be closed (libmosquitto closes its socket before
	 * telling us); epoll forgot it then, so ENOENT/EBADF are expected. */
	if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != ENOENT && errno != EBADF)
		log_warn("loop", "epoll_ctl(DEL, %d): %s", fd, strerror(errno));
	s->fd = -1;
	s->cb = NULL;
	s->arg = NULL;
	return LB_OK;
}

int loop_forget(struct loop *l, int fd, void *arg)
{
	for (size_t i = 0; i < LOOP_MAX_FDS; i++) {
		struct loop_slot *s = &l->slots[i];
		if (s->fd == fd && s->arg == arg && fd >= 0) {
			s->fd = -1;
			s->cb = NULL;
			s->arg = NULL;
			return LB_OK;
		}
	}
	return LB_ERR_NOT_FOUND;
}

static int timeout_until(int64_t deadline_ms)
{
	if (deadline_ms < 0)
		return -1;
	int64_t wait = deadline_ms - loop_now_ms();
	if (wait <= 0)
		return 0;
	return wait > 60000 ? 60000 : (int)wait;
}

int loop_run_once(struct loop *l, int64_t deadline_ms)
{
	struct epoll_event evs[LOOP_BATCH];
	int64_t t0 = loop_now_us();
	int n = epoll_wait(l->epfd, evs, LOOP_BATCH, timeout_until(deadline_ms));
	l->idle_us += loop_now_us() - t0;
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		log_error("loop", "epoll_wait: %s", strerror(errno));
		return LB_ERR_IO;
	}
	for (int i = 0; i < n; i++) {
		struct loop_slot *s = evs[i].data.ptr;
		/* A callback earlier in this batch may have removed this slot. */
		if (s->fd < 0 || !s->cb)
			continue;
		s->cb(s->arg, s->fd, evs[i].events);
	}
	return n;
}
