/* SPDX-License-Identifier: MIT */
/*
 * test_sdnotify.c - the sd_notify protocol against a real AF_UNIX datagram
 * socket standing in for systemd's notify socket: exact datagrams, the
 * abstract '@' form, the sender's credentials that systemd checks, bad
 * addresses, a full queue that must not block, and $WATCHDOG_USEC/_PID.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "io/sdnotify.h"

/* The fake systemd end: a bound datagram socket and its address. */
struct receiver {
	int fd;
	char dir[64];
	char path[108];
	char env[112];          /* value for NOTIFY_SOCKET */
};

static struct receiver rx = {.fd = -1};

/* A file-system socket in a fresh temporary directory. */
static void rx_open_path(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	snprintf(rx.dir, sizeof(rx.dir), "/tmp/lb-sdnotify-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(rx.dir));
	snprintf(rx.path, sizeof(rx.path), "%s/notify", rx.dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", rx.path);
	rx.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(rx.fd, 0);
	ck_assert_int_eq(bind(rx.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(rx.env, sizeof(rx.env), "%s", rx.path);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", rx.env, 1), 0);
}

static void rx_close(void)
{
	if (rx.fd >= 0)
		close(rx.fd);
	if (rx.path[0])
		unlink(rx.path);
	if (rx.dir[0])
		rmdir(rx.dir);
	memset(&rx, 0, sizeof(rx));
	rx.fd = -1;
}

/* Next datagram as a string, "" if none is queued. */
static const char *rx_next(void)
{
	static char buf[1024];
	ssize_t n = recv(rx.fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n < 0) {
		ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s", strerror(errno));
		n = 0;
	}
	buf[n] = '\0';
	return buf;
}

START_TEST(unset_socket_is_not_an_error)
{
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(sdnotify_ready(), LB_OK);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "", 1), 0);
	ck_assert_int_eq(sdnotify_status("idle"), LB_OK);
	ck_assert_str_eq(rx_next(), "");
}
END_TEST

START_TEST(path_socket_gets_each_message)
{
	ck_assert_int_eq(sdnotify_ready(), LB_OK);
	ck_assert_int_eq(sdnotify_watchdog(), LB_OK);
	ck_assert_int_eq(sdnotify_reloading(), LB_OK);
	ck_assert_int_eq(sdnotify_stopping(), LB_OK);
	ck_assert_int_eq(sdnotify_status("%u gateway(s) online, MQTT %s", 2u, "connected"), LB_OK);
	ck_assert_int_eq(sdnotify_send("READY=1\nSTATUS=x"), LB_OK);
	ck_assert_str_eq(rx_next(), "READY=1");
	ck_assert_str_eq(rx_next(), "WATCHDOG=1");
	ck_assert_str_eq(rx_next(), "RELOADING=1");
	ck_assert_str_eq(rx_next(), "STOPPING=1");
	ck_assert_str_eq(rx_next(), "STATUS=2 gateway(s) online, MQTT connected");
	ck_assert_str_eq(rx_next(), "READY=1\nSTATUS=x");
	ck_assert_str_eq(rx_next(), "");
}
END_TEST

/* systemd accepts a message only from the service's processes: it reads
 * the sender's PID from SCM_CREDENTIALS, which the kernel must attach. */
START_TEST(sender_credentials_are_ours)
{
	int on = 1;
	char data[64], ctl[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			   .msg_controllen = sizeof(ctl)};

	ck_assert_int_eq(setsockopt(rx.fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
	ck_assert_int_eq(sdnotify_ready(), LB_OK);
	ck_assert_int_eq(recvmsg(rx.fd, &m, MSG_DONTWAIT), 7);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->cmsg_type, SCM_CREDENTIALS);
	struct ucred cred;
	memcpy(&cred, CMSG_DATA(c), sizeof(cred));
	ck_assert_int_eq(cred.pid, getpid());
	ck_assert_int_eq(cred.uid, getuid());
}
END_TEST

START_TEST(abstract_socket)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char name[64];
	int n = snprintf(name, sizeof(name), "lb-sdnotify-test-%ld", (long)getpid());
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char env[80], buf[64];

	ck_assert_int_ge(fd, 0);
	memcpy(a.sun_path + 1, name, (size_t)n); /* sun_path[0] = '\0': abstract */
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)), 0);
	snprintf(env, sizeof(env), "@%s", name);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", env, 1), 0);
	ck_assert_int_eq(sdnotify_stopping(), LB_OK);
	ssize_t got = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_eq(got, 10);
	buf[got] = '\0';
	ck_assert_str_eq(buf, "STOPPING=1");
	/* A different abstract name has no listener. */
	snprintf(env, sizeof(env), "@%s-other", name);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", env, 1), 0);
	ck_assert_int_eq(sdnotify_ready(), LB_ERR_IO);
	close(fd);
}
END_TEST

START_TEST(status_is_one_line_and_bounded)
{
	char long_text[SDNOTIFY_STATUS_MAX + 50];

	ck_assert_int_eq(sdnotify_status("waiting\nfor a gateway\r"), LB_OK);
	ck_assert_str_eq(rx_next(), "STATUS=waiting for a gateway ");
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	ck_assert_int_eq(sdnotify_status("%s", long_text), LB_OK);
	const char *got = rx_next();
	ck_assert_uint_eq(strlen(got), strlen("STATUS=") + SDNOTIFY_STATUS_MAX);
	ck_assert_int_eq(strncmp(got, "STATUS=xxxx", 11), 0);
	ck_assert_int_eq(got[strlen(got) - 1], 'x');
}
END_TEST

START_TEST(bad_addresses_fail_without_harm)
{
	char too_long[200];

	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "run/systemd/notify", 1), 0);
	ck_assert_int_eq(sdnotify_ready(), LB_ERR_INVAL);
	memset(too_long, 'a', sizeof(too_long) - 1);
	too_long[0] = '/';
	too_long[sizeof(too_long) - 1] = '\0';
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", too_long, 1), 0);
	ck_assert_int_eq(sdnotify_ready(), LB_ERR_INVAL);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "/nonexistent/lorabridge/notify", 1), 0);
	ck_assert_int_eq(sdnotify_ready(), LB_ERR_IO);
	/* A path that is a socket nobody reads any more. */
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", rx.env, 1), 0);
	close(rx.fd);
	rx.fd = -1;
	ck_assert_int_eq(sdnotify_watchdog(), LB_ERR_IO);
}
END_TEST

/* A receiver that stops reading fills its queue; the sender must get an
 * error at once, never block the event loop (the test times out if it does). */
START_TEST(full_queue_does_not_block)
{
	int failed = 0;

	for (int i = 0; i < 5000; i++)
		if (sdnotify_watchdog() == LB_ERR_IO)
			failed++;
	ck_assert_int_gt(failed, 0);
	ck_assert_str_eq(rx_next(), "WATCHDOG=1");
}
END_TEST

START_TEST(watchdog_interval)
{
	char pid[32];

	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	ck_assert_int_eq(sdnotify_watchdog_interval_ms(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	ck_assert_int_eq(sdnotify_watchdog_interval_ms(), 30000);
	setenv("WATCHDOG_USEC", "1500", 1);
	ck_assert_int_eq(sdnotify_watchdog_interval_ms(), 1);
	setenv("WATCHDOG_USEC", "999", 1);
	ck_assert_int_eq(sdnotify_watchdog_interval_ms(), 1);
	setenv("WATCHDOG_USEC", "0", 1);
	ck_assert_int_eq(sdnotify_watchdog_interval_ms(), 0);
	setenv("WATCHDOG_USEC", "-5", 1);
	ck_assert_int_eq(sdnotify_watchdog_interval_ms(), 0);
	setenv("WATCHDOG_USEC", "20s", 1);
	ck_assert_int_eq(sdnotify_watchdog_interval_ms(), 0);
	setenv("WATCHDOG_USEC", "18446744073709551616", 1); /* 2^64 */
	ck_assert_int_eq(sdnotify_watchdog_interval_ms(), 0);

	setenv("WATCHDOG_USEC", "20000000", 1);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_int_eq(sdnotify_watchdog_interval_ms(), 20000);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_int_eq(sdnotify_watchdog_interval_ms(), 0);
	setenv("WATCHDOG_PID", "self", 1);
	ck_assert_int_eq(sdnotify_watchdog_interval_ms(), 0);
}
END_TEST

static Suite *sdnotify_suite(void)
{
	Suite *s = suite_create("sdnotify");
	TCase *plain = tcase_create("environment");
	TCase *sock = tcase_create("socket");

	tcase_add_test(plain, abstract_socket);
	tcase_add_test(plain, watchdog_interval);
	tcase_add_checked_fixture(sock, rx_open_path, rx_close);
	tcase_add_test(sock, unset_socket_is_not_an_error);
	tcase_add_test(sock, path_socket_gets_each_message);
	tcase_add_test(sock, sender_credentials_are_ours);
	tcase_add_test(sock, status_is_one_line_and_bounded);
	tcase_add_test(sock, bad_addresses_fail_without_harm);
	tcase_add_test(sock, full_queue_does_not_block);
	suite_add_tcase(s, plain);
	suite_add_tcase(s, sock);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sdnotify_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
