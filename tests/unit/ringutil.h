/* SPDX-License-Identifier: MIT */
/*
 * ringutil.h - for the store's tests of io_uring (store_sync.h,
 * store_ckpt.h): whether this kernel, or emulator, gives io_uring at all.
 * Where it does, the store must use it; where it does not (qemu-user, a
 * kernel that refuses it), the store must fall back to doing it at once.
 */
#ifndef LB_TEST_RINGUTIL_H
#define LB_TEST_RINGUTIL_H

#include <liburing.h>
#include <stdbool.h>

static inline bool kernel_has_io_uring(void)
{
	struct io_uring ring;

	if (io_uring_queue_init(2, &ring, 0) < 0)
		return false;
	io_uring_queue_exit(&ring);
	return true;
}

#endif
