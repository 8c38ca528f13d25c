/* SPDX-License-Identifier: MIT */
/*
 * hang_sync.c - an LD_PRELOAD shim for test_disk_hang.sh: a disk whose
 * sync of the WAL hangs, on demand.
 *
 * The store syncs lorabridge.db-wal through io_uring (src/store/store_sync.h),
 * in the kernel, where no preloaded fdatasync() could stop it. So this
 * shim wraps liburing's io_uring_submit(): while the file named by
 * $LB_TEST_HANG_FLAG exists, each fsync entry of a descriptor of
 * lorabridge.db-wal about to be submitted becomes a read of one byte from
 * the FIFO $LB_TEST_HANG_FIFO (opened read-write here, so that the read
 * waits for a byte rather than ending at once), with the same tag: that
 * "sync" completes, with success, only when the test writes a byte to the
 * FIFO, and never holds the bridge's loop meanwhile, like a sync stuck in
 * a disk. The WAL is not synced then (the test cuts no power). Each held
 * sync adds a line to FLAG.held. Every other entry, and everything once
 * the flag is gone, passes untouched.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAL_SUFFIX "lorabridge.db-wal"

static int fifo_fd = -1;
static char fifo_byte;

static bool is_wal(int fd)
{
	char link[64], path[4096];
	size_t l = strlen(WAL_SUFFIX);

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n < (ssize_t)l)
		return false;
	path[n] = 0;
	return strcmp(path + n - (ssize_t)l, WAL_SUFFIX) == 0;
}

/* The entry becomes the read of the FIFO; false when it cannot (the sync
 * then goes out as it is). */
static bool hold(struct io_uring_sqe *sqe, const char *flag, const char *fifo)
{
	char held[4096];
	__u64 tag = sqe->user_data;

	if (fifo_fd < 0)
		fifo_fd = open(fifo, O_RDWR | O_CLOEXEC);
	if (fifo_fd < 0)
		return false;
	io_uring_prep_read(sqe, fifo_fd, &fifo_byte, 1, (__u64)-1);
	sqe->user_data = tag;
	snprintf(held, sizeof(held), "%s.held", flag);
	FILE *f = fopen(held, "a");
	if (f) {
		fputs("held\n", f);
		fclose(f);
	}
	return true;
}

int io_uring_submit(struct io_uring *ring)
{
	static int (*real)(struct io_uring *);
	const char *flag = getenv("LB_TEST_HANG_FLAG"), *fifo = getenv("LB_TEST_HANG_FIFO");

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "io_uring_submit");
	if (flag && fifo && access(flag, F_OK) == 0) {
		for (unsigned i = ring->sq.sqe_head; i != ring->sq.sqe_tail; i++) {
			/* kring_mask: in every liburing 2.x (ring_mask, its
			 * copy, came in 2.3) */
			struct io_uring_sqe *sqe = &ring->sq.sqes[i & *ring->sq.kring_mask];
			if (sqe->opcode == IORING_OP_FSYNC && is_wal(sqe->fd))
				(void)hold(sqe, flag, fifo);
		}
	}
	return real(ring);
}
