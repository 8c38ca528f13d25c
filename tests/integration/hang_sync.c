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
 *
 * A checkpoint that hangs: the checkpoint's helper process (`lorabridge
 * checkpoint-helper`, src/store/store_ckpt.h) inherits the bridge's
 * environment, this shim included, and syncs on its own thread: first
 * the daemon's descriptor of the -wal, then, through SQLite, the WAL and,
 * after the copy, the database file (only when it copied every frame of
 * the WAL: a closing pass, an open one no commit overtook). So the shim
 * also wraps fdatasync() and fsync(): in that helper only, while the file
 * named by $LB_TEST_HANG_CKPT_FLAG exists, the pass's first sync of the
 * file whose path ends with $LB_TEST_HANG_CKPT_FILE (by default
 * lorabridge.db-wal: the pass is held at its start; /lorabridge.db: after
 * its copy) first waits for one byte from the FIFO
 * $LB_TEST_HANG_CKPT_FIFO (the helper, not the bridge's loop, waits: the
 * pass runs on for as long), then syncs; once per pass, so that one byte
 * ends one pass's hold. Each hold adds a line to CKPT_FLAG.held. A
 * helper whose test died gives up the wait after HELPER_WAIT_MS, so that
 * none outlives it for long.
 *
 * A disk that refuses writes too: while the file named by
 * $LB_TEST_WRITE_FLAG exists, every pwrite() to lorabridge.db-wal fails,
 * with EROFS if the file says "EROFS" (a read-only disk: SQLite reports
 * SQLITE_IOERR_WRITE and keeps the errno), else ENOSPC (a full disk:
 * SQLITE_FULL); once it is gone they pass.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* RTLD_NEXT */
#endif
/* The shim defines both pwrite() and pwrite64(): with 64-bit file offsets
 * on a 32-bit target (armhf's build flags) the headers would rename the
 * first into the second. */
#undef _TIME_BITS
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define WAL_SUFFIX "lorabridge.db-wal"
#define HELPER_ARG "checkpoint-helper"   /* its argv[1] (STORE_CKPT_HELPER_ARG) */
#define HELPER_WAIT_MS 120000

static int fifo_fd = -1;
static char fifo_byte;

/* Whether descriptor fd is of a file whose path ends with suffix. */
static bool is_file(int fd, const char *suffix)
{
	char link[64], path[4096];
	size_t l = strlen(suffix);

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n < (ssize_t)l)
		return false;
	path[n] = 0;
	return strcmp(path + n - (ssize_t)l, suffix) == 0;
}

/* A line "held" added to FLAG.held. */
static void note_held(const char *flag)
{
	char held[4096];

	snprintf(held, sizeof(held), "%s.held", flag);
	FILE *f = fopen(held, "a");
	if (f) {
		fputs("held\n", f);
		fclose(f);
	}
}

/* The entry becomes the read of the FIFO; false when it cannot (the sync
 * then goes out as it is). */
static bool hold(struct io_uring_sqe *sqe, const char *flag, const char *fifo)
{
	__u64 tag = sqe->user_data;

	if (fifo_fd < 0)
		fifo_fd = open(fifo, O_RDWR | O_CLOEXEC);
	if (fifo_fd < 0)
		return false;
	io_uring_prep_read(sqe, fifo_fd, &fifo_byte, 1, (__u64)-1);
	sqe->user_data = tag;
	note_held(flag);
	return true;
}

/* Whether this process is the checkpoint's helper: its argv[1]. */
static bool is_helper(void)
{
	char args[256];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	ssize_t n = read(fd, args, sizeof(args) - 1);
	close(fd);
	if (n <= 0)
		return false;
	args[n] = 0;
	size_t first = strlen(args) + 1;   /* past argv[0] and its NUL */
	return first < (size_t)n && strcmp(args + first, HELPER_ARG) == 0;
}

/* Wait (this thread) for one byte from the FIFO, HELPER_WAIT_MS at most. */
static void wait_byte(const char *fifo)
{
	int fd = open(fifo, O_RDWR | O_CLOEXEC);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	if (fd < 0)
		return;
	if (poll(&p, 1, HELPER_WAIT_MS) == 1)
		(void)read(fd, &c, 1);
	close(fd);
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
			if (sqe->opcode == IORING_OP_FSYNC && is_file(sqe->fd, WAL_SUFFIX))
				(void)hold(sqe, flag, fifo);
		}
	}
	return real(ring);
}

/* In the helper, the pass's first sync of the file named, while the
 * flag exists: held until a byte comes. */
static void maybe_hold(int fd)
{
	static bool held_once;
	const char *flag = getenv("LB_TEST_HANG_CKPT_FLAG");
	const char *fifo = getenv("LB_TEST_HANG_CKPT_FIFO");
	const char *file = getenv("LB_TEST_HANG_CKPT_FILE");

	if (held_once || !flag || !fifo || access(flag, F_OK) != 0 ||
	    !is_file(fd, file ? file : WAL_SUFFIX) || !is_helper())
		return;
	held_once = true;
	note_held(flag);
	wait_byte(fifo);
}

int fdatasync(int fd)
{
	static int (*real)(int);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
	maybe_hold(fd);
	return real(fd);
}

int fsync(int fd)
{
	static int (*real)(int);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "fsync");
	maybe_hold(fd);
	return real(fd);
}

/* The errno a write to fd fails with, 0 none. */
static int write_fails(int fd)
{
	const char *flag = getenv("LB_TEST_WRITE_FLAG");
	char how[8] = "";

	if (!flag || !is_file(fd, WAL_SUFFIX))
		return 0;
	FILE *f = fopen(flag, "re");
	if (!f)
		return 0;
	if (!fgets(how, sizeof(how), f))
		how[0] = '\0';
	fclose(f);
	return strncmp(how, "EROFS", 5) ? ENOSPC : EROFS;
}

/* A write to fd that fails now: errno set, as the call's would be. */
static bool refused(int fd)
{
	int err = write_fails(fd);

	if (err)
		errno = err;
	return err != 0;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "pwrite");
	if (refused(fd))
		return -1;
	return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off64_t);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "pwrite64");
	if (refused(fd))
		return -1;
	return real(fd, buf, n, off);
}
