/* SPDX-License-Identifier: MIT */
/*
 * testutil.h - helpers shared by the Check suites: published test vectors
 * written as hex strings, running a suite, temporary directories and files
 * (header-only: each suite is its own program).
 */
#ifndef LB_TESTUTIL_H
#define LB_TESTUTIL_H

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* Assertions for loops of many thousand checks. Check records every
 * passing ck_assert (a message to the runner each, a system call), which
 * over a million checks costs seconds and, under load, a suite's timeout;
 * these record nothing when the check passes and fail with Check's message
 * (ck_abort_msg). Each argument is evaluated once; integers are compared as
 * intmax_t or uintmax_t, as Check's own forms do. A crash inside such a
 * loop is reported after the last plain ck_assert before it. */
#define LB_ASSERT(expr)                                                        \
	do {                                                                   \
		if (!(expr))                                                   \
			ck_abort_msg("Assertion '%s' failed", #expr);          \
	} while (0)
#define LB_ASSERT_MSG(expr, ...)                                               \
	do {                                                                   \
		if (!(expr))                                                   \
			ck_abort_msg(__VA_ARGS__);                             \
	} while (0)
#define LB_ASSERT_EQ_AS_(type, fmt, x, y)                                      \
	do {                                                                   \
		type lb_x_ = (x), lb_y_ = (y);                                 \
		if (lb_x_ != lb_y_)                                            \
			ck_abort_msg("Assertion '%s == %s' failed: %s == %" fmt ", %s == %" fmt, \
				     #x, #y, #x, lb_x_, #y, lb_y_);            \
	} while (0)
#define LB_ASSERT_INT_EQ(x, y) LB_ASSERT_EQ_AS_(intmax_t, "jd", x, y)
#define LB_ASSERT_UINT_EQ(x, y) LB_ASSERT_EQ_AS_(uintmax_t, "ju", x, y)
#define LB_ASSERT_STR_EQ(x, y)                                                 \
	do {                                                                   \
		const char *lb_x_ = (x), *lb_y_ = (y);                         \
		if (!lb_x_ || !lb_y_ || strcmp(lb_x_, lb_y_) != 0)             \
			ck_abort_msg("Assertion '%s == %s' failed: %s == \"%s\", %s == \"%s\"", \
				     #x, #y, #x, lb_x_ ? lb_x_ : "(null)", #y,   \
				     lb_y_ ? lb_y_ : "(null)");                \
	} while (0)

/* Decode a hex string (spaces allowed) into buf; returns the byte count. */
static inline size_t unhex(const char *s, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s == ' ')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			ck_abort_msg("bad hex char '%c'", *s);
		if (hi < 0) {
			hi = v;
			continue;
		}
		ck_assert_uint_lt(n, cap);
		buf[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	ck_assert_int_eq(hi, -1);
	return n;
}

/* got[0..len) equals the bytes of hex. */
#define ck_assert_hex(got, len, hex)                                   \
	do {                                                           \
		uint8_t exp_[256];                                     \
		size_t n_ = unhex((hex), exp_, sizeof(exp_));          \
		ck_assert_uint_eq((len), n_);                          \
		ck_assert_mem_eq((got), exp_, n_);                     \
	} while (0)

/* Run a suite, return the process's exit status. */
static inline int testutil_run(Suite *suite)
{
	SRunner *sr = srunner_create(suite);

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* A temporary directory tree for one suite's files: made once in the
 * parent process, removed by the unchecked teardown even when a test fails. */
static inline void testutil_tmp_make(char *tmpl)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
}

static inline int testutil__rm_entry(const char *path, const struct stat *st, int flag,
				     struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static inline void testutil_tmp_remove(const char *dir)
{
	nftw(dir, testutil__rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text to path (created, or truncated); the test fails if it cannot. */
static inline void testutil_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot open %s for writing", path);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* This process's stderr (the log) into path from now on; the descriptor
 * to put back (testutil_log_end_has()). */
static inline int testutil_log_capture(const char *path)
{
	int saved = dup(STDERR_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	return saved;
}

/* Ends the capture: whether a line of the log captured holds both prefix
 * (e.g. "[store] ") and text. */
static inline bool testutil_log_end_has(int saved, const char *path, const char *prefix,
					const char *text)
{
	char line[2048];
	bool found = false;

	fflush(stderr);
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, prefix) && strstr(line, text);
	fclose(f);
	return found;
}

#endif
