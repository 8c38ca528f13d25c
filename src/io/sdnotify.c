/* SPDX-License-Identifier: MIT */
/* sdnotify.c - systemd notifications without libsystemd. See sdnotify.h. */
#include "io/sdnotify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/lb_err.h"

/*
 * Fill addr from $NOTIFY_SOCKET. A leading '@' names an abstract socket:
 * the kernel wants sun_path[0] = '\0' and the exact length, no terminator
 * (unix(7), "Abstract sockets"). Other values must be absolute paths.
 */
static int notify_addr(const char *env, struct sockaddr_un *addr, socklen_t *len)
{
	size_t n = strlen(env);

	if (env[0] != '/' && env[0] != '@')
		return LB_ERR_INVAL;
	if (n >= sizeof(addr->sun_path))
		return LB_ERR_INVAL;
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	memcpy(addr->sun_path, env, n);
	if (env[0] == '@') {
		addr->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	return LB_OK;
}

int sdnotify_send(const char *state)
{
	const char *env = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr;
	socklen_t addr_len;

	if (!env || !*env)
		return LB_OK;
	int rc = notify_addr(env, &addr, &addr_len);
	if (rc != LB_OK)
		return rc;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return LB_ERR_IO;
	size_t len = strlen(state);
	ssize_t sent = sendto(fd, state, len, MSG_NOSIGNAL | MSG_DONTWAIT,
			      (const struct sockaddr *)&addr, addr_len);
	int saved = errno;
	close(fd);
	errno = saved;
	return sent == (ssize_t)len ? LB_OK : LB_ERR_IO;
}

int sdnotify_ready(void)
{
	return sdnotify_send("READY=1");
}

int sdnotify_reloading(void)
{
	return sdnotify_send("RELOADING=1");
}

int sdnotify_stopping(void)
{
	return sdnotify_send("STOPPING=1");
}

int sdnotify_watchdog(void)
{
	return sdnotify_send("WATCHDOG=1");
}

int sdnotify_status(const char *fmt, ...)
{
	static const char key[] = "STATUS=";
	char msg[sizeof(key) - 1 + SDNOTIFY_STATUS_MAX + 1];
	va_list ap;

	memcpy(msg, key, sizeof(key) - 1);
	va_start(ap, fmt);
	vsnprintf(msg + sizeof(key) - 1, SDNOTIFY_STATUS_MAX + 1, fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return sdnotify_send(msg);
}

/* Strict unsigned decimal, no sign, no trailing characters. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return LB_ERR_INVAL;
	errno = 0;
	uintmax_t v = strtoumax(s, &end, 10);
	if (errno || *end || v > UINT64_MAX)
		return LB_ERR_INVAL;
	*out = (uint64_t)v;
	return LB_OK;
}

int64_t sdnotify_watchdog_interval_ms(void)
{
	uint64_t usec, pid;
	const char *pid_env = getenv("WATCHDOG_PID");

	if (parse_u64(getenv("WATCHDOG_USEC"), &usec) != LB_OK || usec == 0)
		return 0;
	/* Set for another process (e.g. our parent before a fork): not ours. */
	if (pid_env && (parse_u64(pid_env, &pid) != LB_OK || pid != (uint64_t)getpid()))
		return 0;
	if (usec > (uint64_t)INT64_MAX)
		usec = (uint64_t)INT64_MAX;
	return usec < 1000 ? 1 : (int64_t)(usec / 1000);
}
